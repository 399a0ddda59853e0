/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The flow table (wr-flowtable): real IPv4/IPv6 packets built byte by byte, counted both ways
 * into one flow per 5-tuple; the ends (FIN both ways after the linger, RST, idle timeouts per
 * protocol, a new SYN on a closed 5-tuple, flush), the bound with its LRU eviction, the path,
 * the monotonic-to-Unix conversion, and packets the table must ignore.
 */

#define G_LOG_DOMAIN "WrFlowTableTest"

#include "config.h"

#include <arpa/inet.h>
#include <glib.h>
#include <netinet/in.h>
#include <string.h>

#include "wr-flowtable.h"

#define T0 (1000 * G_TIME_SPAN_SECOND)
/* the wall clock at T0 */
#define R0 G_GINT64_CONSTANT(1800000000000000)

#define N4 "100.64.0.7" /* this node */
#define B4 "100.64.0.2" /* a peer */
#define N6 "fd7a::7"
#define B6 "fd7a::2"

typedef struct {
	const char *src;
	const char *dst;
	uint8_t proto;
	uint16_t sport; /* or the echo identifier */
	uint16_t dport;
	uint8_t tcp_flags;
	uint8_t icmp_type;
	size_t payload;
	size_t pad; /* zeros behind the packet, as WireGuard pads */
} Spec;

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t) (v >> 8);
	p[1] = (uint8_t) v;
}

/* a packet of spec into out; returns its length (with padding) */
static size_t
build(uint8_t *out, const Spec *s)
{
	bool v6 = strchr(s->src, ':') != NULL;
	size_t ip = v6 ? 40 : 20, l4 = 0;
	uint8_t *t = out + ip;

	memset(out, 0, 2048);
	if (s->proto == IPPROTO_TCP) {
		put16(t, s->sport);
		put16(t + 2, s->dport);
		t[12] = 5 << 4;
		t[13] = s->tcp_flags;
		l4 = 20;
	} else if (s->proto == IPPROTO_UDP) {
		put16(t, s->sport);
		put16(t + 2, s->dport);
		put16(t + 4, (uint16_t) (8 + s->payload));
		l4 = 8;
	} else if (s->proto == IPPROTO_ICMP || s->proto == IPPROTO_ICMPV6) {
		t[0] = s->icmp_type;
		put16(t + 4, s->sport);
		l4 = 8;
	}
	memset(t + l4, 'x', s->payload);
	if (v6) {
		out[0] = 0x60;
		put16(out + 4, (uint16_t) (l4 + s->payload));
		out[6] = s->proto;
		out[7] = 64;
		g_assert_cmpint(inet_pton(AF_INET6, s->src, out + 8), ==, 1);
		g_assert_cmpint(inet_pton(AF_INET6, s->dst, out + 24), ==, 1);
	} else {
		out[0] = 0x45;
		put16(out + 2, (uint16_t) (ip + l4 + s->payload));
		out[8] = 64;
		out[9] = s->proto;
		g_assert_cmpint(inet_pton(AF_INET, s->src, out + 12), ==, 1);
		g_assert_cmpint(inet_pton(AF_INET, s->dst, out + 16), ==, 1);
	}
	return ip + l4 + s->payload + s->pad;
}

static void
feed(WrFlowTable *t, WrFlowDir dir, const Spec *s, WrFlowPath path, gint64 now)
{
	uint8_t buf[2048];
	size_t len = build(buf, s);

	g_assert_true(wr_flow_table_record(t, dir, buf, len, path, now));
}

static GArray *
collect(WrFlowTable *t, gint64 now, bool flush)
{
	GArray *out = g_array_new(FALSE, FALSE, sizeof(WrFlowRecord));

	(void) wr_flow_table_collect(t, now, R0 + (now - T0), flush, out);
	return out;
}

static void
assert_addr(const uint8_t *addr, int family, const char *text)
{
	uint8_t want[16] = {0};

	g_assert_cmpint(inet_pton(family, text, want), ==, 1);
	g_assert_cmpmem(addr, 16, want, 16);
}

#define TCP(src_, dst_, sport_, dport_, flags_, payload_) \
	(&(Spec){.src = (src_),                           \
		 .dst = (dst_),                           \
		 .proto = IPPROTO_TCP,                    \
		 .sport = (sport_),                       \
		 .dport = (dport_),                       \
		 .tcp_flags = (flags_),                   \
		 .payload = (payload_)})
#define SYN 0x02
#define ACK 0x10
#define FIN 0x01
#define RST 0x04

/* a TCP connection from this node, both ways, ended by FIN both ways: one record with every
 * byte and packet, after the linger and not before */
static void
test_tcp_fin(void)
{
	g_autoptr(WrFlowTable) t = wr_flow_table_new(0, 42);
	g_autoptr(GArray) early = NULL;
	g_autoptr(GArray) out = NULL;
	const WrFlowRecord *r;
	gint64 now = T0;

	feed(t, WR_FLOW_OUT, TCP(N4, B4, 40000, 22, SYN, 0), WR_FLOW_PATH_UNKNOWN, now);
	feed(t, WR_FLOW_IN, TCP(B4, N4, 22, 40000, SYN | ACK, 0), WR_FLOW_PATH_DERP, now + 10);
	feed(t, WR_FLOW_OUT, TCP(N4, B4, 40000, 22, ACK, 1000), WR_FLOW_PATH_UNKNOWN, now + 20);
	feed(t, WR_FLOW_IN, TCP(B4, N4, 22, 40000, ACK, 300), WR_FLOW_PATH_DIRECT, now + 30);
	feed(t, WR_FLOW_OUT, TCP(N4, B4, 40000, 22, FIN | ACK, 0), WR_FLOW_PATH_UNKNOWN, now + 40);
	feed(t, WR_FLOW_IN, TCP(B4, N4, 22, 40000, FIN | ACK, 0), WR_FLOW_PATH_DIRECT, now + 50);
	/* the last ACK comes after both FINs and still counts */
	feed(t, WR_FLOW_OUT, TCP(N4, B4, 40000, 22, ACK, 0), WR_FLOW_PATH_UNKNOWN, now + 60);

	early = collect(t, now + 60 + WR_FLOW_LINGER - 1, false);
	g_assert_cmpuint(early->len, ==, 0);
	out = collect(t, now + 60 + WR_FLOW_LINGER, false);
	g_assert_cmpuint(out->len, ==, 1);
	r = &g_array_index(out, WrFlowRecord, 0);
	g_assert_cmpuint(r->family, ==, AF_INET);
	g_assert_cmpuint(r->proto, ==, IPPROTO_TCP);
	g_assert_cmpuint(r->lport, ==, 40000);
	g_assert_cmpuint(r->rport, ==, 22);
	assert_addr(r->local, AF_INET, N4);
	assert_addr(r->remote, AF_INET, B4);
	g_assert_cmpuint(r->tx_packets, ==, 4);
	g_assert_cmpuint(r->tx_bytes, ==, 4 * 40 + 1000);
	g_assert_cmpuint(r->rx_packets, ==, 3);
	g_assert_cmpuint(r->rx_bytes, ==, 3 * 40 + 300);
	g_assert_cmpuint(r->end, ==, WR_FLOW_END_FIN);
	g_assert_cmpuint(r->flags, ==, WR_FLOW_F_OUTBOUND);
	/* the path last seen */
	g_assert_cmpuint(r->path, ==, WR_FLOW_PATH_DIRECT);
	g_assert_cmpint(r->start, ==, R0);
	g_assert_cmpint(r->end_time, ==, R0 + 60);
	g_assert_cmpint(r->peer_id, ==, 0);
	g_assert_cmpstr(r->peer, ==, "");
}

/* a connection a peer opened: inbound first, not OUTBOUND; RST ends it */
static void
test_tcp_rst(void)
{
	g_autoptr(WrFlowTable) t = wr_flow_table_new(0, 1);
	g_autoptr(GArray) out = NULL;
	const WrFlowRecord *r;

	feed(t, WR_FLOW_IN, TCP(B6, N6, 5555, 443, SYN, 0), WR_FLOW_PATH_DERP, T0);
	feed(t, WR_FLOW_OUT, TCP(N6, B6, 443, 5555, RST | ACK, 0), WR_FLOW_PATH_UNKNOWN, T0 + 5);
	out = collect(t, T0 + 5 + WR_FLOW_LINGER, false);
	g_assert_cmpuint(out->len, ==, 1);
	r = &g_array_index(out, WrFlowRecord, 0);
	g_assert_cmpuint(r->family, ==, AF_INET6);
	g_assert_cmpuint(r->lport, ==, 443);
	g_assert_cmpuint(r->rport, ==, 5555);
	assert_addr(r->local, AF_INET6, N6);
	assert_addr(r->remote, AF_INET6, B6);
	g_assert_cmpuint(r->flags, ==, 0);
	g_assert_cmpuint(r->end, ==, WR_FLOW_END_RST);
	g_assert_cmpuint(r->path, ==, WR_FLOW_PATH_DERP);
	g_assert_cmpuint(r->rx_packets, ==, 1);
	g_assert_cmpuint(r->rx_bytes, ==, 60);
	g_assert_cmpuint(r->tx_packets, ==, 1);
	g_assert_cmpuint(r->tx_bytes, ==, 60);
}

/* a new SYN on a 5-tuple whose connection closed (port reuse inside the linger) ends the old
 * flow and starts a new one */
static void
test_tcp_reuse(void)
{
	g_autoptr(WrFlowTable) t = wr_flow_table_new(0, 7);
	g_autoptr(GArray) out = NULL;

	feed(t, WR_FLOW_OUT, TCP(N4, B4, 1234, 80, SYN, 0), 0, T0);
	feed(t, WR_FLOW_IN, TCP(B4, N4, 80, 1234, RST | ACK, 0), 0, T0 + 1);
	feed(t, WR_FLOW_OUT, TCP(N4, B4, 1234, 80, SYN, 0), 0, T0 + 2);
	feed(t, WR_FLOW_IN, TCP(B4, N4, 80, 1234, SYN | ACK, 0), 0, T0 + 3);
	out = collect(t, T0 + 4, false);
	g_assert_cmpuint(out->len, ==, 1);
	g_assert_cmpuint(g_array_index(out, WrFlowRecord, 0).end, ==, WR_FLOW_END_RST);
	g_assert_cmpuint(g_array_index(out, WrFlowRecord, 0).tx_packets, ==, 1);
	g_assert_cmpuint(g_array_index(out, WrFlowRecord, 0).rx_packets, ==, 1);
	g_array_set_size(out, 0);
	(void) wr_flow_table_collect(t, T0 + 5, R0, true, out);
	g_assert_cmpuint(out->len, ==, 1);
	g_assert_cmpuint(g_array_index(out, WrFlowRecord, 0).end, ==, WR_FLOW_END_FLUSH);
	g_assert_cmpuint(g_array_index(out, WrFlowRecord, 0).tx_packets, ==, 1);
	g_assert_cmpuint(g_array_index(out, WrFlowRecord, 0).rx_packets, ==, 1);
}

/* UDP, ICMP echo and TCP end after their own idle timeouts; padding is not counted */
static void
test_idle(void)
{
	g_autoptr(WrFlowTable) t = wr_flow_table_new(0, 9);
	g_autoptr(GArray) a = NULL;
	g_autoptr(GArray) b = NULL;
	g_autoptr(GArray) c = NULL;
	g_autoptr(GArray) d = NULL;
	Spec udp = {.src = N4,
		    .dst = B4,
		    .proto = IPPROTO_UDP,
		    .sport = 53000,
		    .dport = 53,
		    .payload = 30,
		    .pad = 14};
	Spec udp_reply = {.src = B4,
			  .dst = N4,
			  .proto = IPPROTO_UDP,
			  .sport = 53,
			  .dport = 53000,
			  .payload = 100};
	Spec echo = {.src = N4,
		     .dst = B4,
		     .proto = IPPROTO_ICMP,
		     .sport = 77,
		     .icmp_type = 8,
		     .payload = 56};
	Spec echo_reply = {.src = B4,
			   .dst = N4,
			   .proto = IPPROTO_ICMP,
			   .sport = 77,
			   .icmp_type = 0,
			   .payload = 56};
	const WrFlowRecord *r;

	feed(t, WR_FLOW_OUT, &udp, 0, T0);
	feed(t, WR_FLOW_IN, &udp_reply, WR_FLOW_PATH_DIRECT, T0 + 1);
	feed(t, WR_FLOW_OUT, &echo, 0, T0);
	feed(t, WR_FLOW_IN, &echo_reply, WR_FLOW_PATH_DIRECT, T0 + 1);
	feed(t, WR_FLOW_OUT, TCP(N4, B4, 40000, 22, ACK, 10), 0, T0);

	a = collect(t, T0 + WR_FLOW_ICMP_IDLE, false);
	g_assert_cmpuint(a->len, ==, 0);
	b = collect(t, T0 + 1 + WR_FLOW_ICMP_IDLE, false);
	g_assert_cmpuint(b->len, ==, 1);
	r = &g_array_index(b, WrFlowRecord, 0);
	g_assert_cmpuint(r->proto, ==, IPPROTO_ICMP);
	g_assert_cmpuint(r->lport, ==, 77);
	g_assert_cmpuint(r->rport, ==, 77);
	g_assert_cmpuint(r->tx_bytes, ==, 20 + 8 + 56);
	g_assert_cmpuint(r->rx_bytes, ==, 20 + 8 + 56);
	g_assert_cmpuint(r->end, ==, WR_FLOW_END_IDLE);

	c = collect(t, T0 + 1 + WR_FLOW_UDP_IDLE, false);
	g_assert_cmpuint(c->len, ==, 1);
	r = &g_array_index(c, WrFlowRecord, 0);
	g_assert_cmpuint(r->proto, ==, IPPROTO_UDP);
	/* the IP packet's own length, not the 14 bytes of padding behind it */
	g_assert_cmpuint(r->tx_bytes, ==, 20 + 8 + 30);
	g_assert_cmpuint(r->rx_bytes, ==, 20 + 8 + 100);

	d = collect(t, T0 + WR_FLOW_TCP_IDLE, false);
	g_assert_cmpuint(d->len, ==, 1);
	g_assert_cmpuint(g_array_index(d, WrFlowRecord, 0).proto, ==, IPPROTO_TCP);
	g_assert_cmpuint(g_array_index(d, WrFlowRecord, 0).end, ==, WR_FLOW_END_IDLE);
}

/* a packet that comes after the idle timeout but before a collect starts a new flow: the old
 * one is reported with its own counts */
static void
test_idle_then_again(void)
{
	g_autoptr(WrFlowTable) t = wr_flow_table_new(0, 3);
	g_autoptr(GArray) out = NULL;
	Spec udp = {.src = N4, .dst = B4, .proto = IPPROTO_UDP, .sport = 1, .dport = 2};

	feed(t, WR_FLOW_OUT, &udp, 0, T0);
	feed(t, WR_FLOW_OUT, &udp, 0, T0 + WR_FLOW_UDP_IDLE + 1);
	out = collect(t, T0 + WR_FLOW_UDP_IDLE + 2, true);
	g_assert_cmpuint(out->len, ==, 2);
	g_assert_cmpuint(g_array_index(out, WrFlowRecord, 0).end, ==, WR_FLOW_END_IDLE);
	g_assert_cmpint(g_array_index(out, WrFlowRecord, 0).start, ==, R0);
	g_assert_cmpuint(g_array_index(out, WrFlowRecord, 1).end, ==, WR_FLOW_END_FLUSH);
	g_assert_cmpint(g_array_index(out, WrFlowRecord, 1).start, ==, R0 + WR_FLOW_UDP_IDLE + 1);
	g_assert_cmpuint(g_array_index(out, WrFlowRecord, 1).tx_packets, ==, 1);
}

/* the table never holds more than max_flows; the least recently used flow ends (and is
 * reported) to make room */
static void
test_bound(void)
{
	g_autoptr(WrFlowTable) t = wr_flow_table_new(8, 5);
	g_autoptr(GArray) out = NULL;
	WrFlowTableStats st;

	for (guint i = 0; i < 8; i++)
		feed(t, WR_FLOW_OUT, TCP(N4, B4, (uint16_t) (1000 + i), 80, SYN, 0), 0, T0 + i);
	/* touch the first: now the second is the least recently used */
	feed(t, WR_FLOW_OUT, TCP(N4, B4, 1000, 80, ACK, 0), 0, T0 + 10);
	feed(t, WR_FLOW_OUT, TCP(N4, B4, 2000, 80, SYN, 0), 0, T0 + 11);
	wr_flow_table_get_stats(t, &st);
	g_assert_cmpuint(st.live, ==, 8);
	g_assert_cmpuint(st.evicted, ==, 1);
	g_assert_cmpuint(st.started, ==, 9);
	g_assert_cmpuint(st.packets, ==, 10);
	out = collect(t, T0 + 12, false);
	g_assert_cmpuint(out->len, ==, 1);
	g_assert_cmpuint(g_array_index(out, WrFlowRecord, 0).lport, ==, 1001);
	g_assert_cmpuint(g_array_index(out, WrFlowRecord, 0).end, ==, WR_FLOW_END_EVICTED);

	/* a large table is sharded: the bound holds all the same */
	{
		g_autoptr(WrFlowTable) big = wr_flow_table_new(4096, 11);
		g_autoptr(GArray) all = NULL;

		for (guint i = 0; i < 20000; i++) {
			Spec s = {.src = N4,
				  .dst = B4,
				  .proto = IPPROTO_UDP,
				  .sport = (uint16_t) (i % 60000 + 1),
				  .dport = (uint16_t) (i / 60000 + 1)};

			feed(big, WR_FLOW_OUT, &s, 0, T0 + i);
		}
		wr_flow_table_get_stats(big, &st);
		g_assert_cmpuint(st.live, <=, 4096);
		g_assert_cmpuint(st.started, ==, 20000);
		all = collect(big, T0 + 30000, true);
		/* every flow is reported once: ended by eviction or by the flush, or lost (and
		 * counted) when too many were evicted between two collects */
		g_assert_cmpuint(all->len + st.lost, ==, 20000);
		g_assert_cmpuint(st.evicted, ==, 20000 - st.live);
	}
}

/* runs: the same counts as packet by packet, whatever the mix; FIN and RST still end flows */
static void
test_runs(void)
{
	g_autoptr(WrFlowTable) a = wr_flow_table_new(0, 21);
	g_autoptr(WrFlowTable) b = wr_flow_table_new(0, 21);
	g_autoptr(GArray) ra = NULL;
	g_autoptr(GArray) rb = NULL;
	WrFlowCursor out = {0}, in = {0};
	WrFlowTableStats st;
	/* two connections interleaved in runs, with their handshakes and closes */
	struct {
		WrFlowDir dir;
		Spec *spec;
		WrFlowPath path;
	} seq[] = {
		{WR_FLOW_OUT, TCP(N4, B4, 1000, 80, SYN, 0), 0},
		{WR_FLOW_IN, TCP(B4, N4, 80, 1000, SYN | ACK, 0), WR_FLOW_PATH_DERP},
		{WR_FLOW_OUT, TCP(N4, B4, 1000, 80, ACK, 1000), 0},
		{WR_FLOW_OUT, TCP(N4, B4, 1000, 80, ACK, 1000), 0},
		{WR_FLOW_OUT, TCP(N4, B4, 1000, 80, ACK, 1000), 0},
		{WR_FLOW_OUT, TCP(N4, B4, 2000, 80, ACK, 500), 0},
		{WR_FLOW_OUT, TCP(N4, B4, 2000, 80, ACK, 500), 0},
		{WR_FLOW_OUT, TCP(N4, B4, 1000, 80, ACK, 7), 0},
		{WR_FLOW_IN, TCP(B4, N4, 80, 1000, ACK, 0), WR_FLOW_PATH_DERP},
		/* the path changes inside a run: a new run */
		{WR_FLOW_IN, TCP(B4, N4, 80, 1000, ACK, 0), WR_FLOW_PATH_DIRECT},
		{WR_FLOW_OUT, TCP(N4, B4, 1000, 80, FIN | ACK, 0), 0},
		{WR_FLOW_IN, TCP(B4, N4, 80, 1000, FIN | ACK, 0), WR_FLOW_PATH_DIRECT},
		{WR_FLOW_OUT, TCP(N4, B4, 1000, 80, ACK, 0), 0},
		{WR_FLOW_OUT, TCP(N4, B4, 1000, 80, ACK, 0), 0},
	};

	for (guint i = 0; i < G_N_ELEMENTS(seq); i++) {
		uint8_t buf[2048];
		size_t len = build(buf, seq[i].spec);

		g_assert_true(wr_flow_table_record(a, seq[i].dir, buf, len, seq[i].path, T0 + i));
		g_assert_true(wr_flow_table_record_run(b, seq[i].dir == WR_FLOW_OUT ? &out : &in,
						       seq[i].dir, buf, len, seq[i].path, T0 + i));
	}
	/* not flushed yet: the last run is still in the cursor */
	wr_flow_table_get_stats(b, &st);
	g_assert_cmpuint(st.packets, ==, G_N_ELEMENTS(seq) - 2);
	wr_flow_table_flush_run(b, &out);
	wr_flow_table_flush_run(b, &in);
	wr_flow_table_flush_run(b, &in); /* nothing left: no-op */
	wr_flow_table_get_stats(b, &st);
	g_assert_cmpuint(st.packets, ==, G_N_ELEMENTS(seq));

	ra = collect(a, T0 + 100 + WR_FLOW_LINGER, true);
	rb = collect(b, T0 + 100 + WR_FLOW_LINGER, true);
	g_assert_cmpuint(ra->len, ==, 2);
	g_assert_cmpuint(rb->len, ==, 2);
	for (guint i = 0; i < 2; i++) {
		const WrFlowRecord *x = &g_array_index(ra, WrFlowRecord, i);
		const WrFlowRecord *y = NULL;

		for (guint j = 0; j < 2; j++) {
			if (g_array_index(rb, WrFlowRecord, j).lport == x->lport)
				y = &g_array_index(rb, WrFlowRecord, j);
		}
		g_assert_nonnull(y);
		g_assert_cmpmem(x, sizeof(*x), y, sizeof(*y));
	}
	/* and they are right */
	for (guint i = 0; i < 2; i++) {
		const WrFlowRecord *x = &g_array_index(ra, WrFlowRecord, i);

		if (x->lport == 1000) {
			g_assert_cmpuint(x->tx_packets, ==, 8);
			g_assert_cmpuint(x->tx_bytes, ==, 8 * 40 + 3007);
			g_assert_cmpuint(x->rx_packets, ==, 4);
			g_assert_cmpuint(x->end, ==, WR_FLOW_END_FIN);
			g_assert_cmpuint(x->path, ==, WR_FLOW_PATH_DIRECT);
			g_assert_cmpint(x->end_time, ==, R0 + 13);
		} else {
			g_assert_cmpuint(x->tx_packets, ==, 2);
			g_assert_cmpuint(x->tx_bytes, ==, 2 * 540);
			g_assert_cmpuint(x->end, ==, WR_FLOW_END_FLUSH);
		}
	}
}

/* not IP: ignored and counted */
static void
test_ignored(void)
{
	g_autoptr(WrFlowTable) t = wr_flow_table_new(0, 5);
	const uint8_t junk[] = {0x00, 0x01, 0x02};
	uint8_t buf[2048];
	size_t len = build(buf, TCP(N4, B4, 1, 2, SYN, 0));
	WrFlowTableStats st;

	g_assert_false(wr_flow_table_record(t, WR_FLOW_OUT, junk, sizeof(junk), 0, T0));
	/* cut short: the IP length says more than there is */
	g_assert_false(wr_flow_table_record(t, WR_FLOW_OUT, buf, len - 1, 0, T0));
	wr_flow_table_get_stats(t, &st);
	g_assert_cmpuint(st.ignored, ==, 2);
	g_assert_cmpuint(st.packets, ==, 0);
	g_assert_cmpuint(st.live, ==, 0);
}

static void
test_names(void)
{
	char buf[16];

	g_assert_cmpstr(wr_flow_proto_name(IPPROTO_TCP, buf), ==, "tcp");
	g_assert_cmpstr(wr_flow_proto_name(IPPROTO_ICMPV6, buf), ==, "ipv6-icmp");
	g_assert_cmpstr(wr_flow_proto_name(200, buf), ==, "proto-200");
	g_assert_cmpstr(wr_flow_path_name(WR_FLOW_PATH_DERP), ==, "derp");
	g_assert_cmpstr(wr_flow_path_name(WR_FLOW_PATH_UNKNOWN), ==, "");
	g_assert_cmpstr(wr_flow_end_name(WR_FLOW_END_EVICTED), ==, "evicted");
	g_assert_cmpstr(wr_flow_end_name(99), ==, "");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/warren/flowtable/tcp-fin", test_tcp_fin);
	g_test_add_func("/warren/flowtable/tcp-rst", test_tcp_rst);
	g_test_add_func("/warren/flowtable/tcp-reuse", test_tcp_reuse);
	g_test_add_func("/warren/flowtable/idle", test_idle);
	g_test_add_func("/warren/flowtable/idle-then-again", test_idle_then_again);
	g_test_add_func("/warren/flowtable/bound", test_bound);
	g_test_add_func("/warren/flowtable/runs", test_runs);
	g_test_add_func("/warren/flowtable/ignored", test_ignored);
	g_test_add_func("/warren/flowtable/names", test_names);
	return g_test_run();
}
