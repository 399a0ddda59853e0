/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The packet filter (wr-filter): real IPv4/IPv6 packets built byte by byte (options, extension
 * headers, fragments, ICMP errors, truncations) through the parser and through a table of
 * filters; connection tracking of replies with its timeouts, its bound and rule set swaps; the
 * bad filter texts and the exact message each is refused with; and the filter the control
 * server's own policy compiler emits, end to end.
 */

#define G_LOG_DOMAIN "WrFilterTest"

#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <gio/gio.h>

#include "wr-bytes.h"
#include "wr-filter.h"
#include "wr-policy.h"

#define T0 (1000 * G_TIME_SPAN_SECOND)

/* packets */

enum {
	EXT_HOP = IPPROTO_HOPOPTS,
	EXT_ROUTING = IPPROTO_ROUTING,
	EXT_DST = IPPROTO_DSTOPTS,
	EXT_FRAG = IPPROTO_FRAGMENT,
};

typedef struct {
	const char *src;
	const char *dst;
	uint8_t proto;
	uint16_t sport; /* or the ICMP echo identifier */
	uint16_t dport;
	uint8_t icmp_type;
	uint8_t tcp_flags;
	uint16_t frag_offset; /* 8-byte units; non-zero: no transport header */
	bool more_fragments;
	uint32_t frag_id;
	uint8_t v4_options;   /* bytes of IPv4 options, a multiple of 4 */
	uint8_t ext[10];      /* IPv6 extension headers in order, 0-terminated (hop-by-hop is 0,
			       * so it is given as 255 here) */
	size_t payload;	      /* bytes behind the transport header */
	const uint8_t *inner; /* ICMP error: the quoted packet */
	size_t inner_len;
	size_t l4_cut; /* bytes cut off the transport header before the lengths are written */
	size_t cut;    /* bytes cut off the end after the lengths were written */
	size_t pad;    /* zero bytes added behind the packet, as WireGuard pads */
} Spec;

#define EXT_HOP_MARK 255

static bool
is_v6(const Spec *s)
{
	return strchr(s->src, ':') != NULL;
}

/* the transport header and payload */
static size_t
build_l4(uint8_t *out, const Spec *s, bool v6)
{
	size_t n = 0;
	uint8_t icmp = v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;

	if (s->frag_offset == 0) {
		if (s->proto == IPPROTO_TCP) {
			wr_put_be16(out, s->sport);
			wr_put_be16(out + 2, s->dport);
			wr_put_be32(out + 4, 1000);
			out[12] = 5 << 4;
			out[13] = s->tcp_flags;
			wr_put_be16(out + 14, 65535);
			n = 20;
		} else if (s->proto == IPPROTO_UDP) {
			wr_put_be16(out, s->sport);
			wr_put_be16(out + 2, s->dport);
			wr_put_be16(out + 4, (uint16_t) (8 + s->payload));
			n = 8;
		} else if (s->proto == IPPROTO_SCTP) {
			wr_put_be16(out, s->sport);
			wr_put_be16(out + 2, s->dport);
			wr_put_be32(out + 4, 0x12345678);
			n = 12;
		} else if (s->proto == icmp) {
			out[0] = s->icmp_type;
			wr_put_be16(out + 4, s->sport);
			wr_put_be16(out + 6, 1);
			n = 8;
			if (s->inner != NULL) {
				memcpy(out + n, s->inner, s->inner_len);
				n += s->inner_len;
			}
		}
	}
	memset(out + n, 'x', s->payload);
	g_assert_cmpuint(s->l4_cut, <=, n + s->payload);
	return n + s->payload - s->l4_cut;
}

static size_t
build(uint8_t *out, size_t cap, const Spec *s)
{
	bool v6 = is_v6(s);
	size_t n;

	memset(out, 0, cap);
	if (!v6) {
		size_t ihl = 20 + s->v4_options;
		uint16_t frag = (uint16_t) (s->frag_offset | (s->more_fragments ? 0x2000 : 0));

		out[0] = (uint8_t) (0x40 | (ihl / 4));
		wr_put_be16(out + 4, (uint16_t) s->frag_id);
		wr_put_be16(out + 6, frag);
		out[8] = 64;
		out[9] = s->proto;
		g_assert_cmpint(inet_pton(AF_INET, s->src, out + 12), ==, 1);
		g_assert_cmpint(inet_pton(AF_INET, s->dst, out + 16), ==, 1);
		/* options: NOPs, then an end-of-list */
		memset(out + 20, 1, s->v4_options);
		if (s->v4_options > 0)
			out[ihl - 1] = 0;
		n = ihl + build_l4(out + ihl, s, false);
		wr_put_be16(out + 2, (uint16_t) n);
	} else {
		uint8_t *next = out + 6;
		size_t off = 40;

		out[0] = 0x60;
		out[7] = 64;
		g_assert_cmpint(inet_pton(AF_INET6, s->src, out + 8), ==, 1);
		g_assert_cmpint(inet_pton(AF_INET6, s->dst, out + 24), ==, 1);
		for (guint i = 0; i < G_N_ELEMENTS(s->ext) && s->ext[i] != 0; i++) {
			uint8_t type = s->ext[i] == EXT_HOP_MARK ? IPPROTO_HOPOPTS : s->ext[i];

			*next = type;
			next = out + off;
			if (type == IPPROTO_FRAGMENT) {
				wr_put_be16(out + off + 2,
					    (uint16_t) ((s->frag_offset << 3) |
							(s->more_fragments ? 1 : 0)));
				wr_put_be32(out + off + 4, s->frag_id);
				off += 8;
			} else {
				/* 16 bytes: length field 1, padded with a PadN option */
				out[off + 1] = 1;
				out[off + 2] = 1;
				out[off + 3] = 12;
				off += 16;
			}
		}
		*next = s->proto;
		n = off + build_l4(out + off, s, true);
		wr_put_be16(out + 4, (uint16_t) (n - 40));
	}
	g_assert_cmpuint(n + s->pad, <=, cap);
	n += s->pad;
	g_assert_cmpuint(s->cut, <=, n);
	return n - s->cut;
}

/* addresses: B and C are peers, N the node the filter runs on */
#define B4 "100.64.0.2"
#define C4 "100.64.0.3"
#define D4 "100.64.0.4"
#define E4 "100.64.0.5"
#define N4 "100.64.0.7"
#define X4 "192.0.2.1" /* outside the tailnet */
#define B6 "fd7a::2"
#define C6 "fd7a::3"
#define N6 "fd7a::7"

/* filters */

#define ALLOW_ALL                                                                                  \
	"[{\"src\":[\"0.0.0.0/0\",\"::/0\"],\"dst\":[{\"net\":\"0.0.0.0/0\",\"ports\":[0,65535]}," \
	"{\"net\":\"::/0\",\"ports\":[0,65535]}],\"proto\":[\"tcp\",\"udp\",\"icmp\",\"ipv6-"      \
	"icmp\"]}]"

static const char filter_mixed[] =
	"["
	/* 0: B may reach N's web ports over TCP and UDP */
	"{\"src\":[\"100.64.0.2/32\",\"fd7a::2/128\"],\"dst\":[{\"net\":\"100.64.0.0/24\","
	"\"ports\":[80,90]},{\"net\":\"fd7a::/"
	"64\",\"ports\":[80,90]}],\"proto\":[\"tcp\",\"udp\"]},"
	/* 1: C may ping N */
	"{\"src\":[\"100.64.0.3/32\",\"fd7a::3/128\"],\"dst\":[{\"net\":\"100.64.0.7/32\","
	"\"ports\":[0,65535]},{\"net\":\"fd7a::7/128\",\"ports\":[0,65535]}],"
	"\"proto\":[\"icmp\",\"ipv6-icmp\"]},"
	/* 2: the whole tailnet may ask N's DNS; proto left out: the default set */
	"{\"src\":[\"100.64.0.0/10\"],\"dst\":[{\"net\":\"100.64.0.7/32\",\"ports\":[53,53]}]},"
	/* 3: D may send GRE, E SCTP to one port */
	"{\"src\":[\"100.64.0.4/32\"],\"dst\":[{\"net\":\"100.64.0.7/32\",\"ports\":[0,65535]}],"
	"\"proto\":[\"gre\"]},"
	"{\"src\":[\"100.64.0.5/32\"],\"dst\":[{\"net\":\"100.64.0.7/32\",\"ports\":[9999,9999]}],"
	"\"proto\":[\"sctp\"]}"
	"]";

typedef enum {
	F_NONE, /* no rule set at all */
	F_EMPTY,
	F_ALL,
	F_MIXED,
	N_FILTERS,
} FilterId;

static WrFilterRuleset *
load(const char *text)
{
	g_autoptr(GError) error = NULL;
	WrFilterRuleset *rules = wr_filter_ruleset_new_from_data(text, strlen(text), &error);

	g_assert_no_error(error);
	g_assert_nonnull(rules);
	return rules;
}

static WrFilterRuleset *
load_filter(FilterId id)
{
	switch (id) {
	case F_EMPTY:
		return load("[]");
	case F_ALL:
		return load(ALLOW_ALL);
	case F_MIXED:
		return load(filter_mixed);
	default:
		return NULL;
	}
}

/* the parser alone */

static void
test_parse(void)
{
	static const uint8_t quoted_udp[] = {
		0x45, 0, 0,   36, 0, 0, 0,    0,    64, IPPROTO_UDP, 0, 0,  100, 64,
		0,    7, 100, 64, 0, 2, 0x13, 0x88, 0,	53,	     0, 16, 0,	 0,
	};
	static const struct {
		Spec spec;
		int result;
		WrFilterL4 l4;
		uint8_t proto;
		uint16_t sport;
		uint16_t dport;
		bool first_fragment;
		size_t inner_len;
	} cases[] = {
		{{B4, N4, IPPROTO_TCP, 40000, 22, .tcp_flags = 0x02},
		 0,
		 WR_FILTER_L4_PORTS,
		 IPPROTO_TCP,
		 40000,
		 22,
		 false,
		 0},
		{{B4, N4, IPPROTO_UDP, 5353, 53, .payload = 30},
		 0,
		 WR_FILTER_L4_PORTS,
		 IPPROTO_UDP,
		 5353,
		 53,
		 false,
		 0},
		/* options shift the transport header */
		{{B4, N4, IPPROTO_UDP, 1, 2, .v4_options = 40},
		 0,
		 WR_FILTER_L4_PORTS,
		 IPPROTO_UDP,
		 1,
		 2,
		 false,
		 0},
		{{B4, N4, IPPROTO_SCTP, 7, 9999},
		 0,
		 WR_FILTER_L4_PORTS,
		 IPPROTO_SCTP,
		 7,
		 9999,
		 false,
		 0},
		{{B4, N4, IPPROTO_ICMP, 77, .icmp_type = 8},
		 0,
		 WR_FILTER_L4_ECHO_REQUEST,
		 IPPROTO_ICMP,
		 77,
		 77,
		 false,
		 0},
		{{B4, N4, IPPROTO_ICMP, 77, .icmp_type = 0},
		 0,
		 WR_FILTER_L4_ECHO_REPLY,
		 IPPROTO_ICMP,
		 77,
		 77,
		 false,
		 0},
		{{B4, N4, IPPROTO_ICMP, .icmp_type = 3, .inner = quoted_udp,
		  .inner_len = sizeof(quoted_udp)},
		 0,
		 WR_FILTER_L4_ICMP_ERROR,
		 IPPROTO_ICMP,
		 0,
		 0,
		 false,
		 sizeof(quoted_udp)},
		{{B4, N4, IPPROTO_ICMP, .icmp_type = 13},
		 0,
		 WR_FILTER_L4_ICMP_OTHER,
		 IPPROTO_ICMP,
		 0,
		 0,
		 false,
		 0},
		{{B4, N4, IPPROTO_GRE, .payload = 4},
		 0,
		 WR_FILTER_L4_PORTLESS,
		 IPPROTO_GRE,
		 0,
		 0,
		 false,
		 0},
		/* WireGuard's padding behind the packet is not part of it */
		{{B4, N4, IPPROTO_UDP, 1, 2, .pad = 13},
		 0,
		 WR_FILTER_L4_PORTS,
		 IPPROTO_UDP,
		 1,
		 2,
		 false,
		 0},
		/* fragments */
		{{B4, N4, IPPROTO_UDP, 1, 2, .more_fragments = true, .payload = 100},
		 0,
		 WR_FILTER_L4_PORTS,
		 IPPROTO_UDP,
		 1,
		 2,
		 true,
		 0},
		{{B4, N4, IPPROTO_UDP, 1, 2, .frag_offset = 14, .payload = 100},
		 0,
		 WR_FILTER_L4_FRAGMENT,
		 IPPROTO_UDP,
		 0,
		 0,
		 false,
		 0},
		/* a later fragment needs no transport header, even a tiny one */
		{{B4, N4, IPPROTO_TCP, .frag_offset = 1, .payload = 1},
		 0,
		 WR_FILTER_L4_FRAGMENT,
		 IPPROTO_TCP,
		 0,
		 0,
		 false,
		 0},
		/* IPv6 */
		{{B6, N6, IPPROTO_TCP, 40000, 22},
		 0,
		 WR_FILTER_L4_PORTS,
		 IPPROTO_TCP,
		 40000,
		 22,
		 false,
		 0},
		{{B6, N6, IPPROTO_UDP, 9, 53, .ext = {EXT_HOP_MARK, EXT_ROUTING, EXT_DST}},
		 0,
		 WR_FILTER_L4_PORTS,
		 IPPROTO_UDP,
		 9,
		 53,
		 false,
		 0},
		{{B6, N6, IPPROTO_ICMPV6, 5, .icmp_type = 128},
		 0,
		 WR_FILTER_L4_ECHO_REQUEST,
		 IPPROTO_ICMPV6,
		 5,
		 5,
		 false,
		 0},
		{{B6, N6, IPPROTO_ICMPV6, 5, .icmp_type = 129},
		 0,
		 WR_FILTER_L4_ECHO_REPLY,
		 IPPROTO_ICMPV6,
		 5,
		 5,
		 false,
		 0},
		{{B6, N6, IPPROTO_ICMPV6, .icmp_type = 135},
		 0,
		 WR_FILTER_L4_ICMP_OTHER,
		 IPPROTO_ICMPV6,
		 0,
		 0,
		 false,
		 0},
		{{B6, N6, IPPROTO_UDP, 1, 2, .ext = {EXT_FRAG}, .more_fragments = true,
		  .frag_id = 0xdeadbeef, .payload = 64},
		 0,
		 WR_FILTER_L4_PORTS,
		 IPPROTO_UDP,
		 1,
		 2,
		 true,
		 0},
		{{B6, N6, IPPROTO_UDP, .ext = {EXT_DST, EXT_FRAG}, .frag_offset = 9, .payload = 64},
		 0,
		 WR_FILTER_L4_FRAGMENT,
		 IPPROTO_UDP,
		 0,
		 0,
		 false,
		 0},
		/* an atomic fragment is a whole packet */
		{{B6, N6, IPPROTO_UDP, 1, 2, .ext = {EXT_FRAG}},
		 0,
		 WR_FILTER_L4_PORTS,
		 IPPROTO_UDP,
		 1,
		 2,
		 false,
		 0},
		{{B6, N6, IPPROTO_ESP, .payload = 20},
		 0,
		 WR_FILTER_L4_PORTLESS,
		 IPPROTO_ESP,
		 0,
		 0,
		 false,
		 0},
		/* malformed: truncated headers and lengths that lie */
		{{B4, N4, IPPROTO_TCP, 1, 2, .cut = 1}, -EBADMSG},
		{{B4, N4, IPPROTO_UDP, 1, 2, .cut = 9}, -EBADMSG},
		{{B4, N4, IPPROTO_UDP, 1, 2, .v4_options = 8, .cut = 12}, -EBADMSG},
		{{B6, N6, IPPROTO_UDP, 1, 2, .cut = 1}, -EBADMSG},
		{{B6, N6, IPPROTO_UDP, 1, 2, .ext = {EXT_HOP_MARK}, .cut = 12}, -EBADMSG},
		{{B4, N4, IPPROTO_ICMP, 1, .icmp_type = 8, .cut = 1}, -EBADMSG},
		/* a first fragment too short for the TCP header (RFC 1858's tiny fragment) */
		{{B4, N4, IPPROTO_TCP, 1, 2, .more_fragments = true, .l4_cut = 12}, -EBADMSG},
		{{B6, N6, IPPROTO_TCP, 1, 2, .ext = {EXT_FRAG}, .more_fragments = true,
		  .l4_cut = 4},
		 -EBADMSG},
		{{B4, N4, IPPROTO_TCP, 1, 2, .l4_cut = 1}, -EBADMSG},
		{{B4, N4, IPPROTO_UDP, 1, 2, .l4_cut = 1}, -EBADMSG},
		{{B4, N4, IPPROTO_SCTP, 1, 2, .l4_cut = 1}, -EBADMSG},
		{{B6, N6, IPPROTO_ICMPV6, 1, .icmp_type = 128, .l4_cut = 1}, -EBADMSG},
		{{B4, N4, IPPROTO_UDP, 1, 2, .l4_cut = 8}, -EBADMSG},
		/* two fragment headers; one extension header too many */
		{{B6, N6, IPPROTO_UDP, 1, 2, .ext = {EXT_FRAG, EXT_FRAG}}, -EBADMSG},
		{{B6, N6, IPPROTO_UDP, 1, 2,
		  .ext = {EXT_DST, EXT_DST, EXT_DST, EXT_DST, EXT_DST, EXT_DST, EXT_DST, EXT_DST}},
		 0,
		 WR_FILTER_L4_PORTS,
		 IPPROTO_UDP,
		 1,
		 2,
		 false,
		 0},
		{{B6, N6, IPPROTO_UDP, 1, 2,
		  .ext = {EXT_DST, EXT_DST, EXT_DST, EXT_DST, EXT_DST, EXT_DST, EXT_DST, EXT_DST,
			  EXT_DST}},
		 -EBADMSG},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		uint8_t buf[512];
		size_t len = build(buf, sizeof(buf), &cases[i].spec);
		WrFilterPacket p;
		int r;

		memset(&p, 0xA5, sizeof(p));
		g_test_message("case %u", i);
		r = wr_filter_packet_parse(&p, buf, len);
		g_assert_cmpint(r, ==, cases[i].result);
		if (r < 0) {
			/* untouched */
			for (size_t k = 0; k < sizeof(p); k++)
				g_assert_cmphex(((uint8_t *) &p)[k], ==, 0xA5);
			continue;
		}
		g_assert_cmpuint(p.family, ==, is_v6(&cases[i].spec) ? AF_INET6 : AF_INET);
		g_assert_cmpuint(p.l4, ==, cases[i].l4);
		g_assert_cmpuint(p.proto, ==, cases[i].proto);
		g_assert_cmpuint(p.sport, ==, cases[i].sport);
		g_assert_cmpuint(p.dport, ==, cases[i].dport);
		g_assert_cmpint(p.first_fragment, ==, cases[i].first_fragment);
		g_assert_cmpuint(p.inner_len, ==, cases[i].inner_len);
		g_assert_cmpuint(p.len, ==, len - cases[i].spec.pad);
		if (cases[i].inner_len > 0)
			g_assert_cmpmem(p.inner, p.inner_len, quoted_udp, sizeof(quoted_udp));
	}

	/* not IP at all, and nothing */
	{
		static const uint8_t v5[40] = {0x50};
		/* payload length 0: a jumbogram would need a hop-by-hop header */
		static const uint8_t jumbo[48] = {0x60, [6] = IPPROTO_UDP};
		static const uint8_t hop_jumbo[48] = {0x60, [6] = IPPROTO_HOPOPTS};
		static const uint8_t no_next[40] = {0x60, [6] = IPPROTO_NONE};
		WrFilterPacket p;

		g_assert_cmpint(wr_filter_packet_parse(&p, v5, sizeof(v5)), ==, -EBADMSG);
		g_assert_cmpint(wr_filter_packet_parse(&p, v5, 0), ==, -EBADMSG);
		g_assert_cmpint(wr_filter_packet_parse(&p, NULL, 0), ==, -EBADMSG);
		g_assert_cmpint(wr_filter_packet_parse(&p, jumbo, sizeof(jumbo)), ==, -EBADMSG);
		g_assert_cmpint(wr_filter_packet_parse(&p, hop_jumbo, sizeof(hop_jumbo)), ==,
				-EBADMSG);
		/* an empty payload is fine for a protocol that needs none */
		g_assert_cmpint(wr_filter_packet_parse(&p, no_next, sizeof(no_next)), ==, 0);
		g_assert_cmpuint(p.l4, ==, WR_FILTER_L4_PORTLESS);
		g_assert_cmpuint(p.proto, ==, IPPROTO_NONE);
		g_assert_cmpuint(p.len, ==, 40);
	}
	/* a header length shorter than the header, or longer than the packet; a total length
	 * shorter than the header */
	{
		uint8_t buf[128];
		Spec spec = {B4, N4, IPPROTO_UDP, 1, 2};
		size_t len = build(buf, sizeof(buf), &spec);
		WrFilterPacket p;

		g_assert_cmpint(wr_filter_packet_parse(&p, buf, len), ==, 0);
		buf[0] = 0x44;
		g_assert_cmpint(wr_filter_packet_parse(&p, buf, len), ==, -EBADMSG);
		buf[0] = 0x48;
		g_assert_cmpint(wr_filter_packet_parse(&p, buf, len), ==, -EBADMSG);
		buf[0] = 0x45;
		buf[3] = 19;
		g_assert_cmpint(wr_filter_packet_parse(&p, buf, len), ==, -EBADMSG);
	}
}

/* filters x packets, without tracking */

static void
test_decisions(void)
{
	static const struct {
		FilterId filter;
		Spec spec;
		WrFilterReason reason;
	} cases[] = {
		/* no rule set, an empty one: nothing */
		{F_NONE, {B4, N4, IPPROTO_TCP, 1000, 80}, WR_FILTER_REASON_NO_RULE},
		{F_EMPTY, {B4, N4, IPPROTO_TCP, 1000, 80}, WR_FILTER_REASON_NO_RULE},
		{F_EMPTY, {B6, N6, IPPROTO_ICMPV6, 1, .icmp_type = 128}, WR_FILTER_REASON_NO_RULE},
		/* allow-all: the fast path, for its four protocols only */
		{F_ALL, {X4, N4, IPPROTO_TCP, 1000, 22}, WR_FILTER_REASON_ALLOW_ALL},
		{F_ALL, {B6, N6, IPPROTO_UDP, 1000, 65535}, WR_FILTER_REASON_ALLOW_ALL},
		{F_ALL, {B4, N4, IPPROTO_ICMP, 3, .icmp_type = 8}, WR_FILTER_REASON_ALLOW_ALL},
		{F_ALL, {B6, N6, IPPROTO_ICMPV6, 3, .icmp_type = 128}, WR_FILTER_REASON_ALLOW_ALL},
		{F_ALL, {B4, N4, IPPROTO_GRE}, WR_FILTER_REASON_NO_RULE},
		{F_ALL, {B4, N4, IPPROTO_SCTP, 1, 2}, WR_FILTER_REASON_NO_RULE},
		{F_ALL,
		 {B4, N4, IPPROTO_UDP, .frag_offset = 100, .payload = 8},
		 WR_FILTER_REASON_ALLOW_ALL},
		{F_ALL, {B4, N4, IPPROTO_UDP, 1, 2, .cut = 3}, WR_FILTER_REASON_MALFORMED},
		/* rule 0: source, destination prefix, port range, protocol */
		{F_MIXED, {B4, N4, IPPROTO_TCP, 1000, 80}, WR_FILTER_REASON_RULE},
		{F_MIXED, {B4, "100.64.0.200", IPPROTO_UDP, 1000, 90}, WR_FILTER_REASON_RULE},
		{F_MIXED, {B4, N4, IPPROTO_TCP, 1000, 79}, WR_FILTER_REASON_NO_RULE},
		{F_MIXED, {B4, N4, IPPROTO_TCP, 1000, 91}, WR_FILTER_REASON_NO_RULE},
		{F_MIXED, {B4, "100.64.1.7", IPPROTO_TCP, 1000, 80}, WR_FILTER_REASON_NO_RULE},
		{F_MIXED, {C4, N4, IPPROTO_TCP, 1000, 80}, WR_FILTER_REASON_NO_RULE},
		{F_MIXED, {B4, N4, IPPROTO_SCTP, 1000, 80}, WR_FILTER_REASON_NO_RULE},
		{F_MIXED, {B4, N4, IPPROTO_TCP, 1000, 80, .v4_options = 12}, WR_FILTER_REASON_RULE},
		{F_MIXED, {B6, N6, IPPROTO_TCP, 1000, 85}, WR_FILTER_REASON_RULE},
		{F_MIXED,
		 {B6, N6, IPPROTO_TCP, 1000, 85, .ext = {EXT_HOP_MARK, EXT_DST}},
		 WR_FILTER_REASON_RULE},
		{F_MIXED, {B6, "fd7a:0:0:1::7", IPPROTO_TCP, 1000, 85}, WR_FILTER_REASON_NO_RULE},
		{F_MIXED, {C6, N6, IPPROTO_TCP, 1000, 85}, WR_FILTER_REASON_NO_RULE},
		/* rule 1: ICMP matches on addresses alone, any type */
		{F_MIXED, {C4, N4, IPPROTO_ICMP, 9, .icmp_type = 8}, WR_FILTER_REASON_RULE},
		{F_MIXED, {C4, N4, IPPROTO_ICMP, .icmp_type = 13}, WR_FILTER_REASON_RULE},
		{F_MIXED, {C6, N6, IPPROTO_ICMPV6, 9, .icmp_type = 128}, WR_FILTER_REASON_RULE},
		{F_MIXED, {X4, N4, IPPROTO_ICMP, 9, .icmp_type = 8}, WR_FILTER_REASON_NO_RULE},
		/* any port of a destination lets ICMP in (rule 2 names port 53 only) */
		{F_MIXED, {B4, N4, IPPROTO_ICMP, 9, .icmp_type = 8}, WR_FILTER_REASON_RULE},
		{F_MIXED, {C4, B4, IPPROTO_ICMP, 9, .icmp_type = 8}, WR_FILTER_REASON_NO_RULE},
		/* "icmp" is ICMP for IPv4 only */
		{F_MIXED, {C4, N4, IPPROTO_ICMPV6, 9, .icmp_type = 128}, WR_FILTER_REASON_RULE},
		/* rule 2: the default protocols */
		{F_MIXED, {X4, N4, IPPROTO_UDP, 999, 53}, WR_FILTER_REASON_NO_RULE},
		{F_MIXED, {"100.127.255.254", N4, IPPROTO_UDP, 999, 53}, WR_FILTER_REASON_RULE},
		{F_MIXED, {D4, N4, IPPROTO_TCP, 999, 53}, WR_FILTER_REASON_RULE},
		{F_MIXED, {D4, N4, IPPROTO_TCP, 999, 54}, WR_FILTER_REASON_NO_RULE},
		/* rules 3 and 4: GRE and SCTP */
		{F_MIXED, {D4, N4, IPPROTO_GRE, .payload = 4}, WR_FILTER_REASON_RULE},
		{F_MIXED, {E4, N4, IPPROTO_GRE, .payload = 4}, WR_FILTER_REASON_NO_RULE},
		{F_MIXED, {E4, N4, IPPROTO_SCTP, 1, 9999}, WR_FILTER_REASON_RULE},
		{F_MIXED, {E4, N4, IPPROTO_SCTP, 1, 9998}, WR_FILTER_REASON_NO_RULE},
		{F_MIXED, {E4, N4, IPPROTO_ESP, .payload = 8}, WR_FILTER_REASON_NO_RULE},
		/* fragments: the first is judged by its ports, a later one never by a rule */
		{F_MIXED,
		 {B4, N4, IPPROTO_UDP, 1, 80, .more_fragments = true, .payload = 64},
		 WR_FILTER_REASON_RULE},
		{F_MIXED,
		 {B4, N4, IPPROTO_UDP, .frag_offset = 9, .payload = 64},
		 WR_FILTER_REASON_FRAGMENT},
		{F_MIXED,
		 {B6, N6, IPPROTO_UDP, .ext = {EXT_FRAG}, .frag_offset = 9, .payload = 64},
		 WR_FILTER_REASON_FRAGMENT},
		/* malformed */
		{F_MIXED, {B4, N4, IPPROTO_TCP, 1000, 80, .cut = 5}, WR_FILTER_REASON_MALFORMED},
		{F_MIXED,
		 {B6, N6, IPPROTO_TCP, 1000, 80, .ext = {EXT_FRAG, EXT_FRAG}},
		 WR_FILTER_REASON_MALFORMED},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(WrPacketFilter) filter = wr_packet_filter_new(64, 1);
		g_autoptr(WrFilterRuleset) rules = load_filter(cases[i].filter);
		WrPacketFilterStats stats;
		uint8_t buf[512];
		size_t len = build(buf, sizeof(buf), &cases[i].spec);
		WrFilterReason reason = WR_FILTER_N_REASONS;
		WrFilterVerdict verdict;
		bool accept = cases[i].reason <= WR_FILTER_REASON_FRAGMENT_CONT;

		g_test_message("case %u: %s", i, wr_filter_reason_name(cases[i].reason));
		wr_packet_filter_set_ruleset(filter, rules);
		verdict = wr_packet_filter_inbound(filter, buf, len, T0, &reason);
		g_assert_cmpstr(wr_filter_reason_name(reason), ==,
				wr_filter_reason_name(cases[i].reason));
		g_assert_cmpint(verdict, ==, accept ? WR_FILTER_ACCEPT : WR_FILTER_DROP);
		wr_packet_filter_get_stats(filter, &stats);
		for (guint k = 0; k < WR_FILTER_N_REASONS; k++)
			g_assert_cmpuint(stats.reasons[k], ==, k == cases[i].reason ? 1 : 0);
	}
}

/* connection tracking */

static WrFilterReason
inbound(WrPacketFilter *filter, const Spec *spec, gint64 now)
{
	uint8_t buf[512];
	size_t len = build(buf, sizeof(buf), spec);
	WrFilterReason reason = WR_FILTER_N_REASONS;
	WrFilterVerdict verdict = wr_packet_filter_inbound(filter, buf, len, now, &reason);

	g_assert_cmpint(verdict, ==,
			reason <= WR_FILTER_REASON_FRAGMENT_CONT ? WR_FILTER_ACCEPT
								 : WR_FILTER_DROP);
	return reason;
}

static bool
outbound(WrPacketFilter *filter, const Spec *spec, gint64 now)
{
	uint8_t buf[512];
	size_t len = build(buf, sizeof(buf), spec);

	return wr_packet_filter_outbound(filter, buf, len, now);
}

#define REPLY	WR_FILTER_REASON_REPLY
#define NO_RULE WR_FILTER_REASON_NO_RULE
#define SEC	G_TIME_SPAN_SECOND

static void
test_conntrack_udp(void)
{
	g_autoptr(WrPacketFilter) filter = wr_packet_filter_new(64, 2);
	g_autoptr(WrFilterRuleset) rules = load("[]");
	const Spec out = {N4, B4, IPPROTO_UDP, 5000, 53};
	const Spec reply = {B4, N4, IPPROTO_UDP, 53, 5000};
	const Spec other_port = {B4, N4, IPPROTO_UDP, 53, 5001};
	const Spec other_peer = {C4, N4, IPPROTO_UDP, 53, 5000};
	const Spec as_tcp = {B4, N4, IPPROTO_TCP, 53, 5000};
	WrPacketFilterStats stats;

	wr_packet_filter_set_ruleset(filter, rules);
	g_assert_cmpint(inbound(filter, &reply, T0), ==, NO_RULE);
	g_assert_true(outbound(filter, &out, T0));
	g_assert_cmpint(inbound(filter, &reply, T0 + 1), ==, REPLY);
	g_assert_cmpint(inbound(filter, &other_port, T0 + 1), ==, NO_RULE);
	g_assert_cmpint(inbound(filter, &other_peer, T0 + 1), ==, NO_RULE);
	g_assert_cmpint(inbound(filter, &as_tcp, T0 + 1), ==, NO_RULE);
	/* the packet we sent is not a reply to itself */
	g_assert_cmpint(inbound(filter, &out, T0 + 1), ==, NO_RULE);

	/* a reply refreshes the flow: alive until 120 s after the last one */
	g_assert_cmpint(inbound(filter, &reply, T0 + 100 * SEC), ==, REPLY);
	g_assert_cmpint(inbound(filter, &reply, T0 + 219 * SEC), ==, REPLY);
	g_assert_cmpint(inbound(filter, &reply, T0 + 339 * SEC - 1), ==, REPLY);
	g_assert_cmpint(inbound(filter, &reply, T0 + 339 * SEC + 1 + WR_FILTER_UDP_TIMEOUT), ==,
			NO_RULE);
	/* the lookup that met it expired removed it */
	wr_packet_filter_get_stats(filter, &stats);
	g_assert_cmpuint(stats.flows, ==, 0);
	g_assert_cmpuint(stats.tracked, ==, 1);
	g_assert_cmpuint(stats.reasons[WR_FILTER_REASON_REPLY], ==, 4);
	g_assert_cmpuint(stats.reasons[WR_FILTER_REASON_NO_RULE], ==, 6);

	/* IPv6, with padding behind the reply */
	{
		const Spec out6 = {N6, B6, IPPROTO_UDP, 5000, 443};
		const Spec reply6 = {B6, N6, IPPROTO_UDP, 443, 5000, .pad = 7};

		g_assert_true(outbound(filter, &out6, T0));
		g_assert_cmpint(inbound(filter, &reply6, T0 + WR_FILTER_UDP_TIMEOUT - 1), ==,
				REPLY);
	}
}

static void
test_conntrack_tcp(void)
{
	g_autoptr(WrPacketFilter) filter = wr_packet_filter_new(64, 3);
	g_autoptr(WrFilterRuleset) rules = load("[]");
	const Spec syn = {N4, B4, IPPROTO_TCP, 40000, 22, .tcp_flags = WR_FILTER_TCP_SYN};
	const Spec synack = {B4, N4, IPPROTO_TCP, 22, 40000, .tcp_flags = 0x12};
	const Spec ack = {N4, B4, IPPROTO_TCP, 40000, 22, .tcp_flags = WR_FILTER_TCP_ACK};
	const Spec fin = {N4, B4, IPPROTO_TCP, 40000, 22, .tcp_flags = 0x11};
	gint64 t;

	wr_packet_filter_set_ruleset(filter, rules);
	g_assert_true(outbound(filter, &syn, T0));
	/* unanswered, a SYN is kept two minutes; its retransmission starts again */
	g_assert_cmpint(inbound(filter, &synack, T0 + WR_FILTER_TCP_UNREPLIED_TIMEOUT), ==,
			NO_RULE);
	t = T0 + WR_FILTER_TCP_UNREPLIED_TIMEOUT;
	g_assert_true(outbound(filter, &syn, t));
	g_assert_true(outbound(filter, &syn, t + WR_FILTER_TCP_UNREPLIED_TIMEOUT - 1));
	t += 2 * WR_FILTER_TCP_UNREPLIED_TIMEOUT - 2;
	g_assert_cmpint(inbound(filter, &synack, t), ==, REPLY);
	/* answered, TCP outlives UDP by far */
	t += WR_FILTER_TCP_TIMEOUT - 1;
	g_assert_cmpint(inbound(filter, &synack, t), ==, REPLY);
	g_assert_true(outbound(filter, &ack, t));
	/* after our FIN, two minutes */
	g_assert_true(outbound(filter, &fin, t));
	g_assert_cmpint(inbound(filter, &synack, t + WR_FILTER_TCP_CLOSING_TIMEOUT - 1), ==, REPLY);
	/* a reply does not reopen it: still closing */
	t += 2 * WR_FILTER_TCP_CLOSING_TIMEOUT - 2;
	g_assert_cmpint(inbound(filter, &synack, t), ==, REPLY);
	g_assert_cmpint(inbound(filter, &synack, t + WR_FILTER_TCP_CLOSING_TIMEOUT), ==, NO_RULE);
	/* a new SYN on the same ports starts a new flow: unanswered, then long-lived */
	g_assert_true(outbound(filter, &fin, t));
	g_assert_true(outbound(filter, &syn, t + 1));
	t += 1 + WR_FILTER_TCP_UNREPLIED_TIMEOUT - 1;
	g_assert_cmpint(inbound(filter, &synack, t), ==, REPLY);
	g_assert_cmpint(inbound(filter, &synack, t + WR_FILTER_TCP_TIMEOUT - 1), ==, REPLY);
	g_assert_cmpint(inbound(filter, &synack, t + 3 * WR_FILTER_TCP_TIMEOUT), ==, NO_RULE);
	/* an ACK of ours while closing does not reopen it */
	g_assert_true(outbound(filter, &fin, t));
	g_assert_true(outbound(filter, &ack, t + 1));
	g_assert_cmpint(inbound(filter, &synack, t + 1 + WR_FILTER_TCP_CLOSING_TIMEOUT), ==,
			NO_RULE);
}

static void
test_conntrack_icmp(void)
{
	g_autoptr(WrPacketFilter) filter = wr_packet_filter_new(64, 4);
	g_autoptr(WrFilterRuleset) rules = load("[]");
	const Spec ping = {N4, B4, IPPROTO_ICMP, 0x4242, .icmp_type = 8};
	const Spec pong = {B4, N4, IPPROTO_ICMP, 0x4242, .icmp_type = 0};
	const Spec pong_other_id = {B4, N4, IPPROTO_ICMP, 0x4243, .icmp_type = 0};
	const Spec their_ping = {B4, N4, IPPROTO_ICMP, 0x4242, .icmp_type = 8};
	const Spec ping6 = {N6, B6, IPPROTO_ICMPV6, 7, .icmp_type = 128};
	const Spec pong6 = {B6, N6, IPPROTO_ICMPV6, 7, .icmp_type = 129};
	const Spec our_pong = {N4, B4, IPPROTO_ICMP, 0x4242, .icmp_type = 0};
	const Spec udp_out = {N4, B4, IPPROTO_UDP, 5000, 53};
	const Spec udp_untracked = {N4, B4, IPPROTO_UDP, 5001, 53};
	const Spec udp6_out = {N6, B6, IPPROTO_UDP, 5000, 53, .ext = {EXT_DST}};
	uint8_t quoted[512];
	size_t quoted_len;
	uint8_t quoted_other[512];
	size_t quoted_other_len;
	uint8_t quoted6[512];
	size_t quoted6_len;

	wr_packet_filter_set_ruleset(filter, rules);
	/* replies of ours are not flows; neither are errors */
	g_assert_false(outbound(filter, &our_pong, T0));
	g_assert_true(outbound(filter, &ping, T0));
	g_assert_cmpint(inbound(filter, &pong, T0 + SEC), ==, REPLY);
	g_assert_cmpint(inbound(filter, &pong_other_id, T0 + SEC), ==, NO_RULE);
	/* an echo request from them is not the reply to ours */
	g_assert_cmpint(inbound(filter, &their_ping, T0 + SEC), ==, NO_RULE);
	g_assert_cmpint(inbound(filter, &pong, T0 + SEC + WR_FILTER_ICMP_TIMEOUT), ==, NO_RULE);
	g_assert_true(outbound(filter, &ping6, T0));
	g_assert_cmpint(inbound(filter, &pong6, T0 + SEC), ==, REPLY);

	/* errors about a packet we sent, quoting its first 28 bytes (or all of it) */
	g_assert_true(outbound(filter, &udp_out, T0));
	quoted_len = build(quoted, sizeof(quoted), &udp_out);
	quoted_other_len = build(quoted_other, sizeof(quoted_other), &udp_untracked);
	{
		const Spec unreach = {B4,
				      N4,
				      IPPROTO_ICMP,
				      .icmp_type = 3,
				      .inner = quoted,
				      .inner_len = quoted_len};
		const Spec ttl = {
			X4, N4, IPPROTO_ICMP, .icmp_type = 11, .inner = quoted, .inner_len = 28};
		const Spec short_quote = {
			B4, N4, IPPROTO_ICMP, .icmp_type = 3, .inner = quoted, .inner_len = 27};
		const Spec untracked = {B4,
					N4,
					IPPROTO_ICMP,
					.icmp_type = 3,
					.inner = quoted_other,
					.inner_len = quoted_other_len};
		const Spec not_error = {B4,
					N4,
					IPPROTO_ICMP,
					.icmp_type = 13,
					.inner = quoted,
					.inner_len = quoted_len};

		g_assert_cmpint(inbound(filter, &unreach, T0 + SEC), ==, REPLY);
		g_assert_cmpint(inbound(filter, &ttl, T0 + SEC), ==, REPLY);
		g_assert_cmpint(inbound(filter, &short_quote, T0 + SEC), ==, NO_RULE);
		g_assert_cmpint(inbound(filter, &untracked, T0 + SEC), ==, NO_RULE);
		g_assert_cmpint(inbound(filter, &not_error, T0 + SEC), ==, NO_RULE);
		/* errors do not keep a flow alive */
		g_assert_cmpint(inbound(filter, &unreach, T0 + WR_FILTER_UDP_TIMEOUT), ==, NO_RULE);
	}
	g_assert_true(outbound(filter, &udp6_out, T0));
	quoted6_len = build(quoted6, sizeof(quoted6), &udp6_out);
	{
		const Spec unreach6 = {B6,
				       N6,
				       IPPROTO_ICMPV6,
				       .icmp_type = 1,
				       .inner = quoted6,
				       .inner_len = quoted6_len};
		/* an IPv4 packet quoted in ICMPv6 is nobody's flow */
		const Spec mixed = {B6,
				    N6,
				    IPPROTO_ICMPV6,
				    .icmp_type = 1,
				    .inner = quoted,
				    .inner_len = quoted_len};

		g_assert_cmpint(inbound(filter, &unreach6, T0 + SEC), ==, REPLY);
		g_assert_cmpint(inbound(filter, &mixed, T0 + SEC), ==, NO_RULE);
	}
}

static void
test_conntrack_portless(void)
{
	g_autoptr(WrPacketFilter) filter = wr_packet_filter_new(64, 5);
	g_autoptr(WrFilterRuleset) rules = load("[]");
	const Spec gre_out = {N4, D4, IPPROTO_GRE, .payload = 4};
	const Spec gre_in = {D4, N4, IPPROTO_GRE, .payload = 4};
	const Spec esp_in = {D4, N4, IPPROTO_ESP, .payload = 4};

	wr_packet_filter_set_ruleset(filter, rules);
	g_assert_cmpint(inbound(filter, &gre_in, T0), ==, NO_RULE);
	g_assert_true(outbound(filter, &gre_out, T0));
	g_assert_cmpint(inbound(filter, &gre_in, T0 + 1), ==, REPLY);
	g_assert_cmpint(inbound(filter, &esp_in, T0 + 1), ==, NO_RULE);
	g_assert_cmpint(inbound(filter, &gre_in, T0 + 2 + WR_FILTER_OTHER_TIMEOUT), ==, NO_RULE);
	/* a later fragment or a malformed packet makes no flow */
	{
		const Spec frag = {N4, B4, IPPROTO_UDP, .frag_offset = 3, .payload = 8};
		const Spec bad = {N4, B4, IPPROTO_UDP, 1, 2, .cut = 1};

		g_assert_false(outbound(filter, &frag, T0));
		g_assert_false(outbound(filter, &bad, T0));
	}
}

/* the table's bound: the least recently used flow goes */
static void
test_eviction(void)
{
	g_autoptr(WrPacketFilter) filter = wr_packet_filter_new(4, 6);
	g_autoptr(WrFilterRuleset) rules = load("[]");
	WrPacketFilterStats stats;
	Spec out[6];
	Spec reply[6];

	wr_packet_filter_set_ruleset(filter, rules);
	for (guint i = 0; i < 6; i++) {
		out[i] = (Spec){N4, B4, IPPROTO_UDP, (uint16_t) (6000 + i), 53};
		reply[i] = (Spec){B4, N4, IPPROTO_UDP, 53, (uint16_t) (6000 + i)};
	}
	for (guint i = 0; i < 4; i++)
		g_assert_true(outbound(filter, &out[i], T0 + i));
	/* 0 was used last now, so 1 is the oldest */
	g_assert_cmpint(inbound(filter, &reply[0], T0 + 10), ==, REPLY);
	g_assert_true(outbound(filter, &out[4], T0 + 11));
	g_assert_cmpint(inbound(filter, &reply[1], T0 + 12), ==, NO_RULE);
	for (guint i = 0; i < 5; i++) {
		if (i != 1)
			g_assert_cmpint(inbound(filter, &reply[i], T0 + 13), ==, REPLY);
	}
	wr_packet_filter_get_stats(filter, &stats);
	g_assert_cmpuint(stats.flows, ==, 4);
	g_assert_cmpuint(stats.evicted, ==, 1);

	/* an expired flow making room is not an eviction */
	g_assert_true(outbound(filter, &out[5], T0 + WR_FILTER_UDP_TIMEOUT + 100));
	wr_packet_filter_get_stats(filter, &stats);
	g_assert_cmpuint(stats.evicted, ==, 1);
	g_assert_cmpuint(wr_packet_filter_expire(filter, T0 + WR_FILTER_UDP_TIMEOUT + 100), ==, 3);
	wr_packet_filter_get_stats(filter, &stats);
	g_assert_cmpuint(stats.flows, ==, 1);
	g_assert_cmpint(inbound(filter, &reply[5], T0 + WR_FILTER_UDP_TIMEOUT + 101), ==, REPLY);

	/* a big sharded table never holds more than its bound (rounded up to whole shards) */
	{
		g_autoptr(WrPacketFilter) big = wr_packet_filter_new(2000, 7);
		guint live = 0;

		for (guint i = 0; i < 5000; i++) {
			Spec o = {N4, B4, IPPROTO_UDP, (uint16_t) (10000 + i), 53};

			g_assert_true(outbound(big, &o, T0));
		}
		wr_packet_filter_get_stats(big, &stats);
		g_assert_cmpuint(stats.flows, <=, 2000 + WR_FILTER_SHARDS);
		g_assert_cmpuint(stats.flows, >=, 1900);
		g_assert_cmpuint(stats.evicted, ==, 5000 - stats.flows);
		wr_packet_filter_set_ruleset(big, rules);
		for (guint i = 0; i < 5000; i++) {
			Spec r = {B4, N4, IPPROTO_UDP, 53, (uint16_t) (10000 + i)};

			if (inbound(big, &r, T0) == REPLY)
				live++;
		}
		g_assert_cmpuint(live, ==, stats.flows);
	}
}

/* a new rule set applies at once and keeps the flows */
static void
test_swap(void)
{
	g_autoptr(WrPacketFilter) filter = wr_packet_filter_new(0, 8);
	g_autoptr(WrFilterRuleset) mixed = load(filter_mixed);
	g_autoptr(WrFilterRuleset) empty = load("[]");
	g_autoptr(WrFilterRuleset) current = NULL;
	const Spec web = {B4, N4, IPPROTO_TCP, 1000, 80};
	const Spec out = {N4, C4, IPPROTO_UDP, 5000, 53};
	const Spec reply = {C4, N4, IPPROTO_UDP, 53, 5000};

	g_assert_null(wr_packet_filter_dup_ruleset(filter));
	g_assert_true(outbound(filter, &out, T0));
	g_assert_cmpint(inbound(filter, &web, T0), ==, NO_RULE);
	g_assert_cmpint(inbound(filter, &reply, T0), ==, REPLY);
	wr_packet_filter_set_ruleset(filter, mixed);
	g_assert_cmpint(inbound(filter, &web, T0), ==, WR_FILTER_REASON_RULE);
	g_assert_cmpint(inbound(filter, &reply, T0), ==, REPLY);
	current = wr_packet_filter_dup_ruleset(filter);
	g_assert_true(current == mixed);
	wr_packet_filter_set_ruleset(filter, empty);
	g_assert_cmpint(inbound(filter, &web, T0), ==, NO_RULE);
	g_assert_cmpint(inbound(filter, &reply, T0), ==, REPLY);
	/* the set taken before the swap still works (a packet in flight) */
	{
		WrFilterPacket p;
		uint8_t buf[128];
		size_t len = build(buf, sizeof(buf), &web);

		g_assert_cmpint(wr_filter_packet_parse(&p, buf, len), ==, 0);
		g_assert_cmpint(wr_filter_ruleset_match(current, &p), ==, WR_FILTER_REASON_RULE);
		g_assert_cmpint(wr_filter_ruleset_match(empty, &p), ==, NO_RULE);
	}
	wr_packet_filter_set_ruleset(filter, NULL);
	g_assert_cmpint(inbound(filter, &web, T0), ==, NO_RULE);
	g_assert_cmpint(inbound(filter, &reply, T0), ==, REPLY);
}

/* a later fragment passes when its first did */
static void
test_fragments(void)
{
	g_autoptr(WrPacketFilter) filter = wr_packet_filter_new(64, 9);
	g_autoptr(WrFilterRuleset) rules = load(filter_mixed);
	const Spec first = {
		B4,	      N4, IPPROTO_UDP, 1000, 80, .more_fragments = true, .frag_id = 0x1234,
		.payload = 64};
	const Spec second = {B4,
			     N4,
			     IPPROTO_UDP,
			     .frag_offset = 9,
			     .more_fragments = true,
			     .frag_id = 0x1234,
			     .payload = 64};
	const Spec last = {B4, N4, IPPROTO_UDP, .frag_offset = 18, .frag_id = 0x1234, .payload = 3};
	const Spec other_id = {B4,	     N4, IPPROTO_UDP, .frag_offset = 9, .frag_id = 0x1235,
			       .payload = 64};
	const Spec other_src = {C4,	      N4, IPPROTO_UDP, .frag_offset = 9, .frag_id = 0x1234,
				.payload = 64};
	const Spec other_proto = {
		B4, N4, IPPROTO_TCP, .frag_offset = 9, .frag_id = 0x1234, .payload = 64};
	const Spec denied_first = {
		B4,	      N4, IPPROTO_UDP, 1000, 22, .more_fragments = true, .frag_id = 0x99,
		.payload = 64};
	const Spec denied_second = {
		B4, N4, IPPROTO_UDP, .frag_offset = 9, .frag_id = 0x99, .payload = 64};
	const Spec first6 = {B6,
			     N6,
			     IPPROTO_UDP,
			     1000,
			     80,
			     .ext = {EXT_HOP_MARK, EXT_FRAG},
			     .more_fragments = true,
			     .frag_id = 0xabcdef01,
			     .payload = 64};
	const Spec second6 = {B6,
			      N6,
			      IPPROTO_UDP,
			      .ext = {EXT_HOP_MARK, EXT_FRAG},
			      .frag_offset = 10,
			      .frag_id = 0xabcdef01,
			      .payload = 8};
	const Spec second6_other = {B6,
				    N6,
				    IPPROTO_UDP,
				    .ext = {EXT_FRAG},
				    .frag_offset = 10,
				    .frag_id = 0xabcdef02,
				    .payload = 8};

	wr_packet_filter_set_ruleset(filter, rules);
	/* before its first: dropped (reordering costs the datagram) */
	g_assert_cmpint(inbound(filter, &second, T0), ==, WR_FILTER_REASON_FRAGMENT);
	g_assert_cmpint(inbound(filter, &first, T0), ==, WR_FILTER_REASON_RULE);
	g_assert_cmpint(inbound(filter, &second, T0 + 1), ==, WR_FILTER_REASON_FRAGMENT_CONT);
	g_assert_cmpint(inbound(filter, &last, T0 + 2), ==, WR_FILTER_REASON_FRAGMENT_CONT);
	g_assert_cmpint(inbound(filter, &other_id, T0 + 2), ==, WR_FILTER_REASON_FRAGMENT);
	g_assert_cmpint(inbound(filter, &other_src, T0 + 2), ==, WR_FILTER_REASON_FRAGMENT);
	g_assert_cmpint(inbound(filter, &other_proto, T0 + 2), ==, WR_FILTER_REASON_FRAGMENT);
	g_assert_cmpint(inbound(filter, &last, T0 + WR_FILTER_FRAGMENT_TIMEOUT), ==,
			WR_FILTER_REASON_FRAGMENT);
	g_assert_cmpint(inbound(filter, &denied_first, T0), ==, NO_RULE);
	g_assert_cmpint(inbound(filter, &denied_second, T0), ==, WR_FILTER_REASON_FRAGMENT);
	g_assert_cmpint(inbound(filter, &first6, T0), ==, WR_FILTER_REASON_RULE);
	g_assert_cmpint(inbound(filter, &second6, T0 + 1), ==, WR_FILTER_REASON_FRAGMENT_CONT);
	g_assert_cmpint(inbound(filter, &second6_other, T0 + 1), ==, WR_FILTER_REASON_FRAGMENT);

	/* the first fragment of a reply counts too */
	{
		const Spec out = {N4, C4, IPPROTO_UDP, 5000, 53};
		const Spec reply_first = {C4,		N4,	      IPPROTO_UDP,
					  53,		5000,	      .more_fragments = true,
					  .frag_id = 7, .payload = 64};
		const Spec reply_second = {C4,		 N4,	      IPPROTO_UDP, .frag_offset = 9,
					   .frag_id = 7, .payload = 8};

		g_assert_true(outbound(filter, &out, T0));
		g_assert_cmpint(inbound(filter, &reply_first, T0), ==, REPLY);
		g_assert_cmpint(inbound(filter, &reply_second, T0), ==,
				WR_FILTER_REASON_FRAGMENT_CONT);
	}
}

/* bad filters and the message each gets */

static void
test_bad_json(void)
{
	static const struct {
		const char *text;
		const char *message;
	} cases[] = {
		{"", "packet_filter: empty text"},
		{"{}", "packet_filter: want an array, not an object"},
		{"[1]", "rule 0: want an object, not an integer"},
		{"[{\"src\":[],\"dst\":[]}, {\"dst\":[]}]", "rule 1: missing \"src\""},
		{"[{\"src\":[]}]", "rule 0: missing \"dst\""},
		{"[{\"src\":{},\"dst\":[]}]", "rule 0: src: want an array, not an object"},
		{"[{\"src\":[],\"dst\":\"x\"}]", "rule 0: dst: want an array, not a string"},
		{"[{\"src\":[],\"dst\":[],\"srcs\":[]}]", "rule 0: unknown field \"srcs\""},
		{"[{\"src\":[7],\"dst\":[]}]", "rule 0: src[0]: want a string, not an integer"},
		{"[{\"src\":[\"10.0.0.0/8\",\"10.0.0.1\"],\"dst\":[]}]",
		 "rule 0: src[1]: bad prefix \"10.0.0.1\""},
		{"[{\"src\":[\"10.0.0.0/33\"],\"dst\":[]}]",
		 "rule 0: src[0]: bad prefix \"10.0.0.0/33\""},
		{"[{\"src\":[\"*\"],\"dst\":[]}]", "rule 0: src[0]: bad prefix \"*\""},
		{"[{\"src\":[\"fd7a::/129\"],\"dst\":[]}]",
		 "rule 0: src[0]: bad prefix \"fd7a::/129\""},
		{"[{\"src\":[],\"dst\":[null]}]", "rule 0: dst[0]: want an object, not null"},
		{"[{\"src\":[],\"dst\":[{\"ports\":[1,2]}]}]", "rule 0: dst[0]: missing \"net\""},
		{"[{\"src\":[],\"dst\":[{\"net\":\"1.2.3.0/24\"}]}]",
		 "rule 0: dst[0]: missing \"ports\""},
		{"[{\"src\":[],\"dst\":[{\"net\":\"1.2.3.0/24\",\"ports\":[1,2],\"port\":3}]}]",
		 "rule 0: dst[0]: unknown field \"port\""},
		{"[{\"src\":[],\"dst\":[{\"net\":true,\"ports\":[1,2]}]}]",
		 "rule 0: dst[0].net: want a string, not a boolean"},
		{"[{\"src\":[],\"dst\":[{\"net\":\"1.2.3/24\",\"ports\":[1,2]}]}]",
		 "rule 0: dst[0].net: bad prefix \"1.2.3/24\""},
		{"[{\"src\":[],\"dst\":[{\"net\":\"1.2.3.0/24\",\"ports\":[1]}]}]",
		 "rule 0: dst[0].ports: want [first, last]"},
		{"[{\"src\":[],\"dst\":[{\"net\":\"1.2.3.0/24\",\"ports\":22}]}]",
		 "rule 0: dst[0].ports: want [first, last]"},
		{"[{\"src\":[],\"dst\":[{\"net\":\"1.2.3.0/24\",\"ports\":[1,\"2\"]}]}]",
		 "rule 0: dst[0].ports[1]: want an integer, not a string"},
		{"[{\"src\":[],\"dst\":[{\"net\":\"1.2.3.0/24\",\"ports\":[22.0,23]}]}]",
		 "rule 0: dst[0].ports[0]: want an integer, not a number"},
		{"[{\"src\":[],\"dst\":[{\"net\":\"1.2.3.0/24\",\"ports\":[-1,23]}]}]",
		 "rule 0: dst[0].ports[0]: -1 is not a port"},
		{"[{\"src\":[],\"dst\":[{\"net\":\"1.2.3.0/24\",\"ports\":[1,65536]}]}]",
		 "rule 0: dst[0].ports[1]: 65536 is not a port"},
		{"[{\"src\":[],\"dst\":[]},{\"src\":[],\"dst\":[]},{\"src\":[],\"dst\":[]},"
		 "{\"src\":[\"1.2.3.4/32\"],\"dst\":[{\"net\":\"1.2.3.4/32\",\"ports\":[22,22]},"
		 "{\"net\":\"1.2.3.4/32\",\"ports\":[80,22]}]}]",
		 "rule 3: dst[1].ports: first 80 > last 22"},
		{"[{\"src\":[],\"dst\":[],\"proto\":\"tcp\"}]",
		 "rule 0: proto: want an array, not a string"},
		{"[{\"src\":[],\"dst\":[],\"proto\":[]}]",
		 "rule 0: proto: empty (leave it out for the default)"},
		{"[{\"src\":[],\"dst\":[],\"proto\":[\"tcp\",\"icmpv6\"]}]",
		 "rule 0: proto[1]: unknown protocol \"icmpv6\""},
		{"[{\"src\":[],\"dst\":[],\"proto\":[\"TCP\"]}]",
		 "rule 0: proto[0]: unknown protocol \"TCP\""},
		{"[{\"src\":[],\"dst\":[],\"proto\":[6]}]",
		 "rule 0: proto[0]: want a string, not an integer"},
		{"[[[[[[[[[1]]]]]]]]]", "packet_filter: nested deeper than 8"},
		{"[{\"src\":[\"[[[[[[[[[[\"],\"dst\":[]}]",
		 "rule 0: src[0]: bad prefix \"[[[[[[[[[[\""},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(WrFilterRuleset) rules = NULL;

		g_test_message("case %u: %s", i, cases[i].text);
		rules = wr_filter_ruleset_new_from_data(cases[i].text, strlen(cases[i].text),
							&error);
		g_assert_null(rules);
		g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
		g_assert_cmpstr(error->message, ==, cases[i].message);
	}

	/* syntax errors come from json-glib, behind our prefix; NUL bytes are refused */
	{
		g_autoptr(GError) error = NULL;

		g_assert_null(wr_filter_ruleset_new_from_data("[{]", 4, &error));
		g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
		g_assert_true(g_str_has_prefix(error->message, "packet_filter: "));
		g_clear_error(&error);
		g_assert_null(wr_filter_ruleset_new_from_data("[]\0", 3, &error));
		g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
		g_assert_cmpstr(error->message, ==, "packet_filter: NUL byte in the text");
	}

	/* the bounds */
	{
		g_autoptr(GError) error = NULL;
		g_autoptr(GString) text = g_string_new("[");

		for (guint i = 0; i <= WR_FILTER_MAX_RULES; i++)
			g_string_append(text, i == 0 ? "{\"src\":[],\"dst\":[]}"
						     : ",{\"src\":[],\"dst\":[]}");
		g_string_append_c(text, ']');
		g_assert_null(wr_filter_ruleset_new_from_data(text->str, text->len, &error));
		g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE);
		g_assert_cmpstr(error->message, ==, "packet_filter: more than 16384 rules");
		g_clear_error(&error);

		g_string_assign(text, "[{\"src\":[],\"dst\":[]},{\"src\":[");
		for (guint i = 0; i <= WR_FILTER_MAX_ENTRIES; i++)
			g_string_append(text, i == 0 ? "\"10.0.0.0/8\"" : ",\"10.0.0.0/8\"");
		g_string_append(text, "],\"dst\":[]}]");
		g_assert_null(wr_filter_ruleset_new_from_data(text->str, text->len, &error));
		g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE);
		g_assert_cmpstr(error->message, ==,
				"rule 1: more than 1048576 src and dst entries in the filter");
	}
}

static void
test_good_json(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(WrFilterRuleset) rules = NULL;
	g_autoptr(JsonNode) node = NULL;
	WrFilterPacket p;
	uint8_t buf[128];
	size_t len;
	/* host bits are cleared; proto left out is the default set */
	const char text[] = "[{\"src\":[\"100.64.0.3/24\"],"
			    "\"dst\":[{\"net\":\"100.64.0.7/16\",\"ports\":[22,22]}]}]";
	const Spec allowed = {"100.64.0.200", "100.64.9.9", IPPROTO_TCP, 1, 22};
	const Spec denied = {"100.64.1.3", "100.64.9.9", IPPROTO_TCP, 1, 22};

	rules = wr_filter_ruleset_new_from_data(text, strlen(text), &error);
	g_assert_no_error(error);
	g_assert_cmpuint(wr_filter_ruleset_n_rules(rules), ==, 1);
	len = build(buf, sizeof(buf), &allowed);
	g_assert_cmpint(wr_filter_packet_parse(&p, buf, len), ==, 0);
	g_assert_cmpint(wr_filter_ruleset_match(rules, &p), ==, WR_FILTER_REASON_RULE);
	len = build(buf, sizeof(buf), &denied);
	g_assert_cmpint(wr_filter_packet_parse(&p, buf, len), ==, 0);
	g_assert_cmpint(wr_filter_ruleset_match(rules, &p), ==, NO_RULE);

	/* from a JsonNode, as the control client has it */
	node = json_from_string(filter_mixed, &error);
	g_assert_no_error(error);
	g_clear_pointer(&rules, wr_filter_ruleset_unref);
	rules = wr_filter_ruleset_new_from_json(node, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(wr_filter_ruleset_n_rules(rules), ==, 5);

	/* every name the server writes */
	for (guint bit = 0; bit < 9; bit++) {
		const char *name = wr_proto_name((WrProto) (1u << bit));

		g_assert_cmpstr(wr_filter_proto_name((WrFilterProto) (1u << bit)), ==, name);
	}
	g_assert_null(wr_filter_proto_name((WrFilterProto) (1u << 9)));
	g_assert_cmpuint(WR_FILTER_PROTO_DEFAULT, ==, WR_PROTO_DEFAULT);
}

/* the source index against a plain scan of random rules with prefixes of every length */

typedef struct {
	WrCidr src[6];
	guint n_src;
	WrCidr dst[3];
	uint16_t first[3];
	uint16_t last[3];
	guint n_dst;
	guint protos;
} RefRule;

static bool
ref_contains(const WrCidr *net, uint8_t family, const uint8_t *addr)
{
	guint full = net->cidr / 8;
	guint rest = net->cidr % 8;

	if (net->family != family || memcmp(net->addr, addr, full) != 0)
		return false;
	return rest == 0 || ((net->addr[full] ^ addr[full]) & (0xff << (8 - rest))) == 0;
}

static bool
ref_allows(const RefRule *rules, guint n, const WrFilterPacket *p)
{
	for (guint r = 0; r < n; r++) {
		bool src_ok = false;

		if ((rules[r].protos & wr_filter_proto_flag(p->proto)) == 0)
			continue;
		for (guint i = 0; i < rules[r].n_src; i++)
			src_ok = src_ok || ref_contains(&rules[r].src[i], p->family, p->src);
		if (!src_ok)
			continue;
		for (guint i = 0; i < rules[r].n_dst; i++) {
			if (ref_contains(&rules[r].dst[i], p->family, p->dst) &&
			    (p->l4 != WR_FILTER_L4_PORTS ||
			     (p->dport >= rules[r].first[i] && p->dport <= rules[r].last[i])))
				return true;
		}
	}
	return false;
}

/* an address near a few bases, so that prefixes overlap often */
static void
random_addr(GRand *rand, uint8_t family, uint8_t out[16])
{
	memset(out, 0, 16);
	if (family == AF_INET) {
		out[0] = 10;
		out[1] = (uint8_t) g_rand_int_range(rand, 0, 2);
		out[2] = (uint8_t) g_rand_int_range(rand, 0, 4);
		out[3] = (uint8_t) g_rand_int_range(rand, 0, 256);
	} else {
		out[0] = 0xfd;
		out[1] = (uint8_t) g_rand_int_range(rand, 0, 2);
		out[8] = (uint8_t) g_rand_int_range(rand, 0, 4);
		out[15] = (uint8_t) g_rand_int_range(rand, 0, 256);
	}
}

static void
random_cidr(GRand *rand, WrCidr *out)
{
	out->family = g_rand_int_range(rand, 0, 4) == 0 ? AF_INET6 : AF_INET;
	random_addr(rand, out->family, out->addr);
	out->cidr = (uint8_t) g_rand_int_range(rand, 0, out->family == AF_INET ? 33 : 129);
	/* mostly long prefixes, as a policy's node addresses are */
	if (g_rand_boolean(rand))
		out->cidr = out->family == AF_INET ? 32 : 128;
	wr_cidr_mask(out);
}

static void
test_index(void)
{
	static const guint protos[] = {WR_FILTER_PROTO_TCP, WR_FILTER_PROTO_UDP,
				       WR_FILTER_PROTO_ICMP, WR_FILTER_PROTO_ICMPV6};
	static const uint8_t numbers[] = {IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_ICMPV6};

	for (guint round = 0; round < 20; round++) {
		g_autoptr(GRand) rand = g_rand_new_with_seed(round);
		g_autoptr(GString) text = g_string_new("[");
		g_autoptr(GError) error = NULL;
		g_autoptr(WrFilterRuleset) rules = NULL;
		RefRule ref[40];
		guint n_rules = (guint) g_rand_int_range(rand, 0, G_N_ELEMENTS(ref) + 1);
		guint accepted = 0;

		for (guint r = 0; r < n_rules; r++) {
			RefRule *rule = &ref[r];

			rule->n_src =
				(guint) g_rand_int_range(rand, 0, G_N_ELEMENTS(rule->src) + 1);
			rule->n_dst =
				(guint) g_rand_int_range(rand, 1, G_N_ELEMENTS(rule->dst) + 1);
			rule->protos = 0;
			g_string_append(text, r == 0 ? "{\"src\":[" : ",{\"src\":[");
			for (guint i = 0; i < rule->n_src; i++) {
				char buf[WR_CIDR_STRLEN];

				/* sometimes the same prefix twice */
				if (i > 0 && g_rand_int_range(rand, 0, 8) == 0)
					rule->src[i] = rule->src[i - 1];
				else
					random_cidr(rand, &rule->src[i]);
				wr_cidr_format(&rule->src[i], buf);
				g_string_append_printf(text, "%s\"%s\"", i == 0 ? "" : ",", buf);
			}
			g_string_append(text, "],\"dst\":[");
			for (guint i = 0; i < rule->n_dst; i++) {
				char buf[WR_CIDR_STRLEN];

				random_cidr(rand, &rule->dst[i]);
				rule->first[i] = (uint16_t) g_rand_int_range(rand, 0, 100);
				rule->last[i] =
					(uint16_t) (rule->first[i] + g_rand_int_range(rand, 0, 30));
				wr_cidr_format(&rule->dst[i], buf);
				g_string_append_printf(text, "%s{\"net\":\"%s\",\"ports\":[%u,%u]}",
						       i == 0 ? "" : ",", buf, rule->first[i],
						       rule->last[i]);
			}
			g_string_append(text, "],\"proto\":[");
			for (guint i = 0; i < G_N_ELEMENTS(protos); i++) {
				if (rule->protos == 0
					    ? i == G_N_ELEMENTS(protos) - 1 || g_rand_boolean(rand)
					    : g_rand_boolean(rand)) {
					g_string_append_printf(
						text, "%s\"%s\"", rule->protos == 0 ? "" : ",",
						wr_filter_proto_name((WrFilterProto) protos[i]));
					rule->protos |= protos[i];
				}
			}
			g_string_append(text, "]}");
		}
		g_string_append_c(text, ']');
		rules = wr_filter_ruleset_new_from_data(text->str, text->len, &error);
		g_assert_no_error(error);

		for (guint i = 0; i < 20000; i++) {
			WrFilterPacket p;
			guint k = (guint) g_rand_int_range(rand, 0, G_N_ELEMENTS(numbers));
			WrFilterReason reason;

			memset(&p, 0, sizeof(p));
			p.family = g_rand_int_range(rand, 0, 4) == 0 ? AF_INET6 : AF_INET;
			p.proto = numbers[k];
			p.l4 = k < 2 ? WR_FILTER_L4_PORTS : WR_FILTER_L4_ECHO_REQUEST;
			p.dport = (uint16_t) g_rand_int_range(rand, 0, 140);
			random_addr(rand, p.family, p.src);
			random_addr(rand, p.family, p.dst);
			reason = wr_filter_ruleset_match(rules, &p);
			g_assert_cmpint(reason != WR_FILTER_REASON_NO_RULE, ==,
					ref_allows(ref, n_rules, &p));
			accepted += reason != WR_FILTER_REASON_NO_RULE;
		}
		g_test_message("round %u: %u rules, %u of 20000 accepted", round, n_rules,
			       accepted);
	}
}

/* end to end: the control server's compiler writes the filter, the node loads it */

enum {
	NODE_B,
	NODE_C,
	N_NODES,
};

static WrFilterRuleset *
compile_for(const WrPolicy *policy, const WrPolicyNode *nodes, guint self)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(WrFilter) filter = wr_policy_compile_filter(policy, nodes, N_NODES, self, &error);
	g_autoptr(JsonNode) json = NULL;
	g_autofree gchar *text = NULL;
	WrFilterRuleset *rules;

	g_assert_no_error(error);
	json = wr_filter_to_json_node(filter);
	rules = wr_filter_ruleset_new_from_json(json, &error);
	g_assert_no_error(error);
	/* the text form loads the same */
	text = wr_filter_to_json(filter, NULL);
	g_test_message("node %u: %s", self, text);
	wr_filter_ruleset_unref(wr_filter_ruleset_new_from_data(text, strlen(text), &error));
	g_assert_no_error(error);
	return rules;
}

static void
test_policy(void)
{
	static const gchar *const server_tags[] = {"tag:server", NULL};
	/* the server (C) may reach bob's (B) ssh and ping him; nobody may reach the server */
	static const gchar policy_text[] =
		"{\"tagOwners\": {\"tag:server\": []},\n"
		" \"acls\": [{\"action\": \"accept\", \"src\": [\"tag:server\"],\n"
		"            \"dst\": [\"bob@example.com:22\"]}]}";
	WrCidr addresses[N_NODES][2];
	WrPolicyNode nodes[N_NODES];
	g_autoptr(GError) error = NULL;
	g_autoptr(WrPolicy) policy = NULL;
	g_autoptr(WrFilterRuleset) rules_b = NULL;
	g_autoptr(WrFilterRuleset) rules_c = NULL;
	g_autoptr(WrPacketFilter) filter_b = wr_packet_filter_new(0, 10);
	g_autoptr(WrPacketFilter) filter_c = wr_packet_filter_new(0, 11);
	const Spec c_to_b_ssh = {C4, B4, IPPROTO_TCP, 40000, 22, .tcp_flags = WR_FILTER_TCP_SYN};
	const Spec c_to_b_web = {C4, B4, IPPROTO_TCP, 40000, 80, .tcp_flags = WR_FILTER_TCP_SYN};
	const Spec c_to_b_ssh6 = {C6, B6, IPPROTO_TCP, 40000, 22};
	const Spec c_to_b_ping = {C4, B4, IPPROTO_ICMP, 1, .icmp_type = 8};
	const Spec b_to_c_reply = {B4, C4, IPPROTO_TCP, 22, 40000, .tcp_flags = 0x12};
	const Spec b_to_c_ssh = {B4, C4, IPPROTO_TCP, 40001, 22, .tcp_flags = WR_FILTER_TCP_SYN};

	memset(nodes, 0, sizeof(nodes));
	for (guint i = 0; i < N_NODES; i++) {
		g_assert_true(wr_cidr_parse(&addresses[i][0], i == NODE_B ? B4 : C4));
		g_assert_true(wr_cidr_parse(&addresses[i][1], i == NODE_B ? B6 : C6));
		nodes[i].id = 1 + i;
		nodes[i].addresses = addresses[i];
		nodes[i].n_addresses = 2;
	}
	nodes[NODE_B].user = "bob@example.com";
	nodes[NODE_C].user = "alice@example.com";
	nodes[NODE_C].tags = server_tags;

	policy = wr_policy_new_from_data(policy_text, strlen(policy_text), &error);
	g_assert_no_error(error);
	rules_b = compile_for(policy, nodes, NODE_B);
	rules_c = compile_for(policy, nodes, NODE_C);
	g_assert_cmpuint(wr_filter_ruleset_n_rules(rules_b), ==, 1);
	g_assert_cmpuint(wr_filter_ruleset_n_rules(rules_c), ==, 0);
	wr_packet_filter_set_ruleset(filter_b, rules_b);
	wr_packet_filter_set_ruleset(filter_c, rules_c);

	/* B's side: C may open ssh and ping, nothing else */
	g_assert_cmpint(inbound(filter_b, &c_to_b_ssh, T0), ==, WR_FILTER_REASON_RULE);
	g_assert_cmpint(inbound(filter_b, &c_to_b_ssh6, T0), ==, WR_FILTER_REASON_RULE);
	g_assert_cmpint(inbound(filter_b, &c_to_b_ping, T0), ==, WR_FILTER_REASON_RULE);
	g_assert_cmpint(inbound(filter_b, &c_to_b_web, T0), ==, NO_RULE);
	/* C's side: B may not open anything, but B's answer to C's ssh comes back */
	g_assert_cmpint(inbound(filter_c, &b_to_c_ssh, T0), ==, NO_RULE);
	g_assert_cmpint(inbound(filter_c, &b_to_c_reply, T0), ==, NO_RULE);
	g_assert_true(outbound(filter_c, &c_to_b_ssh, T0));
	g_assert_cmpint(inbound(filter_c, &b_to_c_reply, T0 + SEC), ==, REPLY);
	g_assert_cmpint(inbound(filter_c, &b_to_c_ssh, T0 + SEC), ==, NO_RULE);

	/* no policy at all: the allow-all filter, on the fast path */
	{
		g_autoptr(WrFilterRuleset) all = compile_for(NULL, nodes, NODE_C);

		wr_packet_filter_set_ruleset(filter_c, all);
		g_assert_cmpint(inbound(filter_c, &b_to_c_ssh, T0), ==, WR_FILTER_REASON_ALLOW_ALL);
	}
}

/* many threads deciding while the rule set changes under them: no lost counts, no races
 * (ASan/TSan-visible) */

typedef struct {
	WrPacketFilter *filter;
	guint thread;
	guint accepted;
} Worker;

#define WORKER_ROUNDS 2000

static gpointer
worker_cb(gpointer data)
{
	Worker *w = data;

	for (guint i = 0; i < WORKER_ROUNDS; i++) {
		uint16_t port = (uint16_t) (20000 + w->thread * WORKER_ROUNDS + i);
		Spec out = {N4, B4, IPPROTO_UDP, port, 53};
		Spec reply = {B4, N4, IPPROTO_UDP, 53, port};
		WrFilterReason reason;

		g_assert_true(outbound(w->filter, &out, T0));
		reason = inbound(w->filter, &reply, T0);
		if (reason == REPLY || reason == WR_FILTER_REASON_ALLOW_ALL)
			w->accepted++;
	}
	return NULL;
}

static void
test_threads(void)
{
	g_autoptr(WrPacketFilter) filter = wr_packet_filter_new(65536, 12);
	g_autoptr(WrFilterRuleset) a = load(filter_mixed);
	g_autoptr(WrFilterRuleset) b = load(ALLOW_ALL);
	WrPacketFilterStats stats;
	Worker workers[4];
	GThread *threads[4];
	guint64 total = 0;

	for (guint i = 0; i < G_N_ELEMENTS(workers); i++) {
		workers[i] = (Worker){filter, i, 0};
		threads[i] = g_thread_new("filter-worker", worker_cb, &workers[i]);
	}
	for (guint i = 0; i < 500; i++)
		wr_packet_filter_set_ruleset(filter, i % 2 == 0 ? a : b);
	for (guint i = 0; i < G_N_ELEMENTS(workers); i++) {
		g_thread_join(threads[i]);
		/* every reply passes, by its flow or by allow-all */
		g_assert_cmpuint(workers[i].accepted, ==, WORKER_ROUNDS);
	}
	wr_packet_filter_get_stats(filter, &stats);
	for (guint k = 0; k < WR_FILTER_N_REASONS; k++)
		total += stats.reasons[k];
	g_assert_cmpuint(total, ==, 4 * WORKER_ROUNDS);
	g_assert_cmpuint(stats.tracked, ==, 4 * WORKER_ROUNDS);
	g_assert_cmpuint(stats.flows, ==, 4 * WORKER_ROUNDS);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/warren/filter/parse", test_parse);
	g_test_add_func("/warren/filter/decisions", test_decisions);
	g_test_add_func("/warren/filter/conntrack-udp", test_conntrack_udp);
	g_test_add_func("/warren/filter/conntrack-tcp", test_conntrack_tcp);
	g_test_add_func("/warren/filter/conntrack-icmp", test_conntrack_icmp);
	g_test_add_func("/warren/filter/conntrack-portless", test_conntrack_portless);
	g_test_add_func("/warren/filter/eviction", test_eviction);
	g_test_add_func("/warren/filter/swap", test_swap);
	g_test_add_func("/warren/filter/fragments", test_fragments);
	g_test_add_func("/warren/filter/bad-json", test_bad_json);
	g_test_add_func("/warren/filter/good-json", test_good_json);
	g_test_add_func("/warren/filter/index", test_index);
	g_test_add_func("/warren/filter/policy", test_policy);
	g_test_add_func("/warren/filter/threads", test_threads);
	return g_test_run();
}
