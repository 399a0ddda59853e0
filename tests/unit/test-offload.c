/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrOffloadTest"

#include "config.h"

#include <errno.h>
#include <glib.h>
#include <string.h>

#include "wr-crypto.h"
#include "wr-offload.h"
#include "wr-test-util.h"

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20
#define TCP_ECE 0x40
#define TCP_CWR 0x80

#define IPV4_DF 0x4000
#define IPV4_MF 0x2000

#define SUPER_MAX 70000

static uint64_t
ref_pseudo(const uint8_t *pkt, uint8_t proto, size_t l4_len)
{
	uint8_t ph[40] = {0};

	if ((pkt[0] >> 4) == 4) {
		memcpy(ph, pkt + 12, 8);
		ph[9] = proto;
		ph[10] = (uint8_t) (l4_len >> 8);
		ph[11] = (uint8_t) l4_len;
		return ref_sum(ph, 12, 0);
	}
	memcpy(ph, pkt + 8, 32);
	ph[32] = (uint8_t) (l4_len >> 24);
	ph[33] = (uint8_t) (l4_len >> 16);
	ph[34] = (uint8_t) (l4_len >> 8);
	ph[35] = (uint8_t) l4_len;
	ph[39] = proto;
	ph[36] = ph[37] = ph[38] = 0;
	return ref_sum(ph + 32, 8, ref_sum(ph, 32, 0));
}

static bool
ref_l4_ok(const uint8_t *pkt, size_t len, size_t l4_off, uint8_t proto)
{
	return ref_fold(ref_sum(pkt + l4_off, len - l4_off,
				ref_pseudo(pkt, proto, len - l4_off))) == 0xffff;
}

static bool
ref_ipv4_header_ok(const uint8_t *pkt)
{
	return ref_fold(ref_sum(pkt, (size_t) (pkt[0] & 0x0f) * 4, 0)) == 0xffff;
}

/* a TCP packet to build; addresses are 192.0.2.1 -> 192.0.2.<dst> or 2001:db8::1 -> ::<dst> */
typedef struct {
	uint8_t version;
	uint16_t sport;
	uint16_t dport;
	uint32_t seq;
	uint32_t ack;
	uint16_t window;
	uint16_t urg;
	uint8_t flags;
	uint8_t opts_len; /* TCP options, a multiple of 4 */
	uint8_t opts[40];
	uint8_t ttl;
	uint8_t tos;
	uint16_t frag; /* IPv4 flags and fragment offset */
	uint16_t ip_id;
	uint8_t ip_opts_len; /* IPv4 options, a multiple of 4 */
	uint32_t flow;	     /* IPv6 flow label */
	uint8_t dst;
	bool pseudo_csum; /* leave the pseudo-header sum in the checksum field, as TSO does */
	bool bad_csum;
} Spec;

static Spec
spec_default(uint8_t version)
{
	Spec s = {
		.version = version,
		.sport = 40000,
		.dport = 5201,
		.seq = 0xfffff000U, /* wraps around inside a long super-packet */
		.ack = 0x01020304,
		.window = 501,
		.flags = TCP_ACK,
		.ttl = 64,
		.frag = IPV4_DF,
		.ip_id = 0xfffe,
		.dst = 2,
	};

	return s;
}

/* NOP, NOP, timestamps (kind 8, length 10) */
static void
spec_timestamps(Spec *s, uint32_t tsval)
{
	s->opts_len = 12;
	s->opts[0] = 1;
	s->opts[1] = 1;
	s->opts[2] = 8;
	s->opts[3] = 10;
	put32(s->opts + 4, tsval);
	put32(s->opts + 8, 0x11223344);
}

static size_t
spec_ip_hlen(const Spec *s)
{
	return s->version == 4 ? 20U + s->ip_opts_len : 40U;
}

static size_t
build(const Spec *s, const uint8_t *payload, size_t plen, uint8_t *out)
{
	size_t ip_hlen = spec_ip_hlen(s);
	size_t tcp_hlen = 20U + s->opts_len;
	size_t len = ip_hlen + tcp_hlen + plen;
	uint8_t *tcp = out + ip_hlen;
	uint16_t csum;

	memset(out, 0, ip_hlen + tcp_hlen);
	if (s->version == 4) {
		out[0] = (uint8_t) (0x40 | (ip_hlen / 4));
		out[1] = s->tos;
		put16(out + 2, (uint16_t) len);
		put16(out + 4, s->ip_id);
		put16(out + 6, s->frag);
		out[8] = s->ttl;
		out[9] = 6;
		out[12] = 192, out[13] = 0, out[14] = 2, out[15] = 1;
		out[16] = 192, out[17] = 0, out[18] = 2, out[19] = s->dst;
		memset(out + 20, 1, s->ip_opts_len); /* NOPs */
		put16(out + 10, (uint16_t) ~ref_fold(ref_sum(out, ip_hlen, 0)));
	} else {
		out[0] = (uint8_t) (0x60 | (s->tos >> 4));
		out[1] = (uint8_t) ((s->tos << 4) | ((s->flow >> 16) & 0x0f));
		out[2] = (uint8_t) (s->flow >> 8);
		out[3] = (uint8_t) s->flow;
		put16(out + 4, (uint16_t) (len - 40));
		out[6] = 6;
		out[7] = s->ttl;
		out[8] = 0x20, out[9] = 0x01, out[10] = 0x0d, out[11] = 0xb8, out[23] = 1;
		out[24] = 0x20, out[25] = 0x01, out[26] = 0x0d, out[27] = 0xb8, out[39] = s->dst;
	}
	put16(tcp, s->sport);
	put16(tcp + 2, s->dport);
	put32(tcp + 4, s->seq);
	put32(tcp + 8, s->ack);
	tcp[12] = (uint8_t) ((tcp_hlen / 4) << 4);
	tcp[13] = s->flags;
	put16(tcp + 14, s->window);
	put16(tcp + 18, s->urg);
	memcpy(tcp + 20, s->opts, s->opts_len);
	memcpy(tcp + tcp_hlen, payload, plen);
	if (s->pseudo_csum) {
		csum = ref_fold(ref_pseudo(out, 6, len - ip_hlen));
	} else {
		csum = (uint16_t) ~ref_fold(
			ref_sum(tcp, len - ip_hlen, ref_pseudo(out, 6, len - ip_hlen)));
	}
	if (s->bad_csum)
		csum ^= 0x0101;
	put16(tcp + 16, csum);
	return len;
}

static void
fill_random(uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t) g_test_rand_int();
}

static WrPacket *
packets_new(unsigned int n)
{
	WrPacket *pkts = g_new0(WrPacket, n);

	for (unsigned int i = 0; i < n; i++)
		pkts[i].buf = g_malloc0(WR_PACKET_CAPACITY);
	return pkts;
}

static void
packets_free(WrPacket *pkts, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		g_free(pkts[i].buf);
	g_free(pkts);
}

static struct virtio_net_hdr
tso_hdr(uint8_t version, size_t ip_hlen, uint16_t gso_size)
{
	struct virtio_net_hdr h = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = version == 4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6,
		.hdr_len = 54, /* ignored: the kernel's value is not trusted */
		.gso_size = gso_size,
		.csum_start = (uint16_t) ip_hlen,
		.csum_offset = 16,
	};

	return h;
}

/* concatenates a write's iovecs */
static size_t
flatten(const struct iovec *iov, unsigned int n, uint8_t *out)
{
	size_t len = 0;

	for (unsigned int i = 0; i < n; i++) {
		memcpy(out + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	return len;
}

static void
test_csum_vectors(void)
{
	/* RFC 1071 section 3: the sum of these words is ddf2 */
	const uint8_t rfc1071[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
	/* a captured IPv4 header whose checksum is b861 */
	uint8_t iph[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
			 0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
	uint64_t sum;

	g_assert_cmphex(wr_offload_csum_fold(wr_offload_csum_add(0, rfc1071, sizeof(rfc1071))), ==,
			0xddf2);
	/* in pieces at even offsets, and an odd tail: 00 01 f2 03 f4 f5 f6 | f7 00 */
	sum = wr_offload_csum_add(0, rfc1071, 2);
	sum = wr_offload_csum_add(sum, rfc1071 + 2, 4);
	sum = wr_offload_csum_add(sum, rfc1071 + 6, 2);
	g_assert_cmphex(wr_offload_csum_fold(sum), ==, 0xddf2);
	g_assert_cmphex(wr_offload_csum_fold(wr_offload_csum_add(0, rfc1071, 7)), ==, 0xdcfb);
	g_assert_cmphex(wr_offload_csum_fold(0), ==, 0);
	g_assert_cmphex(wr_offload_ipv4_header_csum(iph, sizeof(iph)), ==, 0xb861);
	iph[10] = 0xb8, iph[11] = 0x61;
	g_assert_true(ref_ipv4_header_ok(iph));
}

static void
test_csum_random(void)
{
	g_autofree uint8_t *buf = g_malloc(65536 + 16);

	fill_random(buf, 65536 + 16);
	for (size_t len = 0; len <= 300; len++) {
		for (size_t off = 0; off < 8; off++) {
			uint16_t want = ref_fold(ref_sum(buf + off, len, 0));
			uint16_t got = wr_offload_csum_fold(wr_offload_csum_add(0, buf + off, len));
			size_t cut = (len / 3) & ~(size_t) 1;
			uint64_t sum;

			g_assert_cmphex(got, ==, want);
			sum = wr_offload_csum_add(0, buf + off, cut);
			sum = wr_offload_csum_add(sum, buf + off + cut, len - cut);
			g_assert_cmphex(wr_offload_csum_fold(sum), ==, want);
		}
	}
	/* long runs exercise the carries */
	memset(buf, 0xff, 65536);
	g_assert_cmphex(wr_offload_csum_fold(wr_offload_csum_add(0, buf, 65536)), ==,
			ref_fold(ref_sum(buf, 65536, 0)));
	fill_random(buf, 65536);
	g_assert_cmphex(wr_offload_csum_fold(wr_offload_csum_add(0, buf + 1, 65535)), ==,
			ref_fold(ref_sum(buf + 1, 65535, 0)));
}

static void
test_csum_l4(void)
{
	uint8_t pkt[128];
	Spec s = spec_default(6);
	size_t len;

	fill_random(pkt, sizeof(pkt));
	len = build(&s, pkt + 100, 20, pkt);
	put16(pkt + 40 + 16, 0);
	put16(pkt + 40 + 16, wr_offload_l4_csum(pkt, len, 40, 6));
	g_assert_true(ref_l4_ok(pkt, len, 40, 6));

	s = spec_default(4);
	s.ip_opts_len = 8;
	len = build(&s, pkt + 100, 21, pkt);
	put16(pkt + 28 + 16, 0);
	put16(pkt + 28 + 16, wr_offload_l4_csum(pkt, len, 28, 6));
	g_assert_true(ref_l4_ok(pkt, len, 28, 6));
}

typedef struct {
	const char *name;
	uint8_t version;
	uint8_t flags;
	bool timestamps;
	uint8_t ip_opts_len;
	uint32_t payload;
	uint16_t gso_size;
} SegmentCase;

static const SegmentCase segment_cases[] = {
	{"v4-bulk", 4, TCP_ACK | TCP_PSH, false, 0, 64000, 1448},
	{"v4-timestamps", 4, TCP_ACK | TCP_PSH, true, 0, 30000, 1368},
	{"v4-exact", 4, TCP_ACK, false, 0, 1380 * 7, 1380},
	{"v4-one-segment", 4, TCP_ACK | TCP_PSH, false, 0, 1000, 1380},
	{"v4-fin-cwr", 4, TCP_ACK | TCP_PSH | TCP_FIN | TCP_CWR | TCP_ECE, false, 0, 5000, 1000},
	{"v4-ip-options", 4, TCP_ACK | TCP_PSH, true, 8, 9000, 1400},
	{"v4-tiny-mss", 4, TCP_ACK | TCP_PSH, false, 0, 700, 7},
	{"v6-bulk", 6, TCP_ACK | TCP_PSH, false, 0, 65000, 1428},
	{"v6-timestamps", 6, TCP_ACK | TCP_PSH, true, 0, 20001, 1336},
	{"v6-fin-cwr", 6, TCP_ACK | TCP_FIN | TCP_CWR, true, 0, 4500, 1500},
};

static void
check_segments(const SegmentCase *c, const Spec *s, const uint8_t *super, const uint8_t *payload,
	       const WrPacket *out, unsigned int n)
{
	size_t ip_hlen = spec_ip_hlen(s);
	size_t hdr_len = ip_hlen + 20 + s->opts_len;
	unsigned int want_n = (c->payload + c->gso_size - 1) / c->gso_size;

	g_assert_cmpuint(n, ==, want_n);
	for (unsigned int i = 0; i < n; i++) {
		const uint8_t *p = out[i].data;
		const uint8_t *tcp = p + ip_hlen;
		size_t plen = MIN((size_t) c->gso_size, c->payload - (size_t) i * c->gso_size);
		uint8_t want_flags = c->flags;

		g_assert_true(p == out[i].buf + WR_PACKET_HEADROOM);
		g_assert_cmpuint(out[i].len, ==, hdr_len + plen);
		g_assert_cmpuint(p[0] >> 4, ==, c->version);
		if (c->version == 4) {
			g_assert_cmpuint(be16(p + 2), ==, out[i].len);
			g_assert_cmpuint(be16(p + 4), ==, (uint16_t) (s->ip_id + i));
			g_assert_cmpmem(p + 6, 4, super + 6, 4); /* frag, ttl, proto */
			g_assert_cmpmem(p + 12, ip_hlen - 12, super + 12, ip_hlen - 12);
			g_assert_true(ref_ipv4_header_ok(p));
		} else {
			g_assert_cmpuint(be16(p + 4), ==, out[i].len - 40);
			g_assert_cmpmem(p, 4, super, 4);
			g_assert_cmpmem(p + 6, 34, super + 6, 34);
		}
		g_assert_cmpmem(tcp, 4, super + ip_hlen, 4);
		g_assert_cmphex(be32(tcp + 4), ==, s->seq + i * (uint32_t) c->gso_size);
		g_assert_cmpmem(tcp + 8, 5, super + ip_hlen + 8, 5); /* ack, data offset */
		if (i != n - 1)
			want_flags &= (uint8_t) ~(TCP_FIN | TCP_PSH);
		if (i != 0)
			want_flags &= (uint8_t) ~TCP_CWR;
		g_assert_cmphex(tcp[13], ==, want_flags);
		g_assert_cmpmem(tcp + 14, 2, super + ip_hlen + 14, 2);
		g_assert_cmpmem(tcp + 18, 2 + s->opts_len, super + ip_hlen + 18, 2 + s->opts_len);
		g_assert_cmpmem(p + hdr_len, plen, payload + (size_t) i * c->gso_size, plen);
		g_assert_true(ref_l4_ok(p, out[i].len, ip_hlen, 6));
	}
}

static void
test_segment_case(gconstpointer data)
{
	const SegmentCase *c = data;
	g_autofree uint8_t *payload = g_malloc(c->payload);
	g_autofree uint8_t *super = g_malloc(SUPER_MAX);
	g_autofree uint8_t *flat = g_malloc(SUPER_MAX);
	g_autoptr(WrOffloadCoalescer) co = wr_offload_coalescer_new(128);
	unsigned int max = 128;
	WrPacket *out = packets_new(max);
	Spec s = spec_default(c->version);
	struct virtio_net_hdr h;
	size_t len;
	int n;

	fill_random(payload, c->payload);
	s.flags = c->flags;
	s.ip_opts_len = c->ip_opts_len;
	s.pseudo_csum = true;
	if (c->timestamps)
		spec_timestamps(&s, 777);
	len = build(&s, payload, c->payload, super);
	h = tso_hdr(c->version, spec_ip_hlen(&s), c->gso_size);
	if ((c->flags & TCP_CWR) != 0)
		h.gso_type |= VIRTIO_NET_HDR_GSO_ECN;

	n = wr_offload_tcp_segment(&h, super, len, out, max);
	g_assert_cmpint(n, >, 0);
	check_segments(c, &s, super, payload, out, (unsigned int) n);

	/* coalescing gives back the super-packet, when the segments may be coalesced at all */
	for (int i = 0; i < n; i++)
		g_assert_cmpint(wr_offload_coalescer_add(co, out[i].data, out[i].len), >=, 0);
	if ((c->flags & (TCP_FIN | TCP_CWR)) != 0 || c->ip_opts_len != 0) {
		g_assert_cmpuint(wr_offload_coalescer_get_n_writes(co), >, 1);
	} else if (n > WR_OFFLOAD_MAX_SEGMENTS) {
		g_assert_cmpuint(wr_offload_coalescer_get_n_writes(co), ==,
				 (n + WR_OFFLOAD_MAX_SEGMENTS - 1) / WR_OFFLOAD_MAX_SEGMENTS);
	} else {
		uint8_t head[WR_OFFLOAD_HEAD_MAX];
		struct iovec iov[WR_OFFLOAD_MAX_IOV];
		unsigned int n_packets = 0;
		unsigned int iovcnt;
		struct virtio_net_hdr want = {0};
		size_t flat_len;

		g_assert_cmpuint(wr_offload_coalescer_get_n_writes(co), ==, 1);
		iovcnt = wr_offload_coalescer_build(co, 0, head, iov, &n_packets);
		g_assert_cmpuint(n_packets, ==, (unsigned int) n);
		g_assert_cmpuint(iovcnt, ==, n_packets + 1);
		flat_len = flatten(iov, iovcnt, flat);
		g_assert_cmpuint(flat_len, ==, WR_OFFLOAD_VNET_HDR_LEN + len);
		if (n > 1) {
			want.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
			want.gso_type = h.gso_type;
			want.hdr_len = (uint16_t) (spec_ip_hlen(&s) + 20 + s.opts_len);
			want.gso_size = c->gso_size;
			want.csum_start = (uint16_t) spec_ip_hlen(&s);
			want.csum_offset = 16;
			g_assert_cmpmem(flat + WR_OFFLOAD_VNET_HDR_LEN, len, super, len);
		} else {
			/* one segment stays an ordinary packet with its full checksum */
			g_assert_cmpmem(flat + WR_OFFLOAD_VNET_HDR_LEN, len, out[0].data, len);
		}
		g_assert_cmpmem(flat, WR_OFFLOAD_VNET_HDR_LEN, &want, sizeof(want));
	}
	packets_free(out, max);
}

/* the reader cuts a super-packet up inside the buffer it was read into */
static void
test_segment_in_place(void)
{
	g_autofree uint8_t *payload = g_malloc(20000);
	WrPacket *ref = packets_new(16);
	WrPacket *out = packets_new(16);
	Spec s = spec_default(4);
	struct virtio_net_hdr h;
	uint8_t *pkt = out[0].buf + WR_PACKET_HEADROOM;
	size_t len;
	int n;

	fill_random(payload, 20000);
	s.flags = TCP_ACK | TCP_PSH;
	s.pseudo_csum = true;
	spec_timestamps(&s, 9);
	len = build(&s, payload, 20000, ref[0].buf);
	memcpy(pkt, ref[0].buf, len);
	h = tso_hdr(4, 20, 1388);
	n = wr_offload_tcp_segment(&h, ref[0].buf, len, ref + 1, 15);
	g_assert_cmpint(n, ==, 15);
	g_assert_cmpint(wr_offload_tcp_segment(&h, pkt, len, out, 16), ==, 15);
	for (int i = 0; i < n; i++) {
		g_assert_cmpuint(out[i].len, ==, ref[i + 1].len);
		g_assert_cmpmem(out[i].data, out[i].len, ref[i + 1].data, ref[i + 1].len);
	}
	packets_free(ref, 16);
	packets_free(out, 16);
}

/* a super-packet with more segments than the batch has room for comes out in parts */
static void
test_segment_resume(void)
{
	g_autofree uint8_t *payload = g_malloc(10000);
	g_autofree uint8_t *super = g_malloc(SUPER_MAX);
	WrPacket *all = packets_new(8);
	WrPacket *part = packets_new(3);
	Spec s = spec_default(6);
	struct virtio_net_hdr h;
	WrOffloadTso tso;
	unsigned int done = 0;
	size_t len;

	fill_random(payload, 10000);
	s.pseudo_csum = true;
	len = build(&s, payload, 10000, super);
	h = tso_hdr(6, 40, 1440);
	g_assert_cmpint(wr_offload_tcp_segment(&h, super, len, all, 6), ==, -ENOSPC);
	g_assert_cmpint(wr_offload_tcp_segment(&h, super, len, all, 8), ==, 7);
	g_assert_cmpint(wr_offload_tso_parse(&h, super, len, &tso), ==, 0);
	g_assert_cmpuint(tso.n_segments, ==, 7);
	g_assert_cmpuint(tso.hdr_len, ==, 60);
	while (done < tso.n_segments) {
		unsigned int n = wr_offload_tso_segment(&tso, super, done, part, 3);

		g_assert_cmpuint(n, ==, MIN(3U, tso.n_segments - done));
		for (unsigned int i = 0; i < n; i++)
			g_assert_cmpmem(part[i].data, part[i].len, all[done + i].data,
					all[done + i].len);
		done += n;
	}
	g_assert_cmpuint(wr_offload_tso_segment(&tso, super, 7, part, 3), ==, 0);
	packets_free(all, 8);
	packets_free(part, 3);
}

typedef enum {
	MUT_NONE,
	MUT_GSO_SIZE_0,
	MUT_GSO_UDP_L4,
	MUT_GSO_UFO,
	MUT_GSO_UNKNOWN,
	MUT_GSO_NONE,
	MUT_GSO_NONE_ECN,
	MUT_GSO_ECN,
	MUT_WRONG_VERSION,
	MUT_SHORT,
	MUT_TRUNCATED,
	MUT_IHL_4,
	MUT_IHL_TOO_LONG,
	MUT_NOT_TCP,
	MUT_MF,
	MUT_FRAG_OFFSET,
	MUT_DOFF_4,
	MUT_DOFF_BEYOND,
	MUT_SYN,
	MUT_RST,
	MUT_NO_PAYLOAD,
	MUT_CSUM_START,
	MUT_CSUM_OFFSET,
	MUT_NO_NEEDS_CSUM,
	MUT_HDR_LEN_HUGE,
	MUT_V6_PAYLOAD_LEN,
	MUT_V6_EXT_HEADER,
	MUT_V6_SHORT,
} Mutation;

typedef struct {
	const char *name;
	uint8_t version;
	Mutation mutation;
	int result;
} MalformedCase;

static const MalformedCase malformed_cases[] = {
	{"ok-v4", 4, MUT_NONE, 0},
	{"ok-v6", 6, MUT_NONE, 0},
	{"gso-size-0", 4, MUT_GSO_SIZE_0, -EINVAL},
	{"udp-l4", 4, MUT_GSO_UDP_L4, -EPROTONOSUPPORT},
	{"ufo", 4, MUT_GSO_UFO, -EPROTONOSUPPORT},
	{"unknown-type", 4, MUT_GSO_UNKNOWN, -EINVAL},
	{"gso-none", 4, MUT_GSO_NONE, -ENOMSG},
	{"gso-none-ecn", 4, MUT_GSO_NONE_ECN, -EINVAL},
	{"ecn", 4, MUT_GSO_ECN, 0},
	{"tcpv6-on-v4", 4, MUT_WRONG_VERSION, -EINVAL},
	{"tcpv4-on-v6", 6, MUT_WRONG_VERSION, -EINVAL},
	{"short", 4, MUT_SHORT, -EINVAL},
	{"truncated-v4", 4, MUT_TRUNCATED, -EINVAL},
	{"truncated-v6", 6, MUT_TRUNCATED, -EINVAL},
	{"ihl-4", 4, MUT_IHL_4, -EINVAL},
	{"ihl-too-long", 4, MUT_IHL_TOO_LONG, -EINVAL},
	{"not-tcp-v4", 4, MUT_NOT_TCP, -EINVAL},
	{"more-fragments", 4, MUT_MF, -EINVAL},
	{"fragment-offset", 4, MUT_FRAG_OFFSET, -EINVAL},
	{"doff-4", 4, MUT_DOFF_4, -EINVAL},
	{"doff-beyond", 6, MUT_DOFF_BEYOND, -EINVAL},
	{"syn", 4, MUT_SYN, -EINVAL},
	{"rst", 6, MUT_RST, -EINVAL},
	{"no-payload", 4, MUT_NO_PAYLOAD, -EINVAL},
	{"csum-start", 4, MUT_CSUM_START, -EINVAL},
	{"csum-offset", 6, MUT_CSUM_OFFSET, -EINVAL},
	{"no-needs-csum", 4, MUT_NO_NEEDS_CSUM, 0},
	{"hdr-len-huge", 6, MUT_HDR_LEN_HUGE, 0},
	{"v6-payload-len", 6, MUT_V6_PAYLOAD_LEN, -EINVAL},
	{"v6-extension-header", 6, MUT_V6_EXT_HEADER, -EINVAL},
	{"v6-short", 6, MUT_V6_SHORT, -EINVAL},
};

static void
test_segment_malformed(gconstpointer data)
{
	const MalformedCase *c = data;
	g_autofree uint8_t *super = g_malloc(SUPER_MAX);
	uint8_t payload[4000];
	WrPacket *out = packets_new(8);
	Spec s = spec_default(c->version);
	size_t ip_hlen = spec_ip_hlen(&s);
	uint8_t *tcp = super + ip_hlen;
	struct virtio_net_hdr h;
	WrOffloadTso tso;
	size_t len;
	int r;

	fill_random(payload, sizeof(payload));
	s.pseudo_csum = true;
	len = build(&s, payload, sizeof(payload), super);
	h = tso_hdr(c->version, ip_hlen, 1000);
	switch (c->mutation) {
	case MUT_NONE:
		break;
	case MUT_GSO_SIZE_0:
		h.gso_size = 0;
		break;
	case MUT_GSO_UDP_L4:
		h.gso_type = VIRTIO_NET_HDR_GSO_UDP_L4;
		break;
	case MUT_GSO_UFO:
		h.gso_type = VIRTIO_NET_HDR_GSO_UDP;
		break;
	case MUT_GSO_UNKNOWN:
		h.gso_type = 2;
		break;
	case MUT_GSO_NONE:
		h.gso_type = VIRTIO_NET_HDR_GSO_NONE;
		break;
	case MUT_GSO_NONE_ECN:
		h.gso_type = VIRTIO_NET_HDR_GSO_NONE | VIRTIO_NET_HDR_GSO_ECN;
		break;
	case MUT_GSO_ECN:
		h.gso_type |= VIRTIO_NET_HDR_GSO_ECN;
		break;
	case MUT_WRONG_VERSION:
		h.gso_type = c->version == 4 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
		break;
	case MUT_SHORT:
		len = 19;
		break;
	case MUT_TRUNCATED:
		len -= 1;
		break;
	case MUT_IHL_4:
		super[0] = 0x44;
		break;
	case MUT_IHL_TOO_LONG:
		super[0] = 0x4f;
		len = 50;
		put16(super + 2, 50);
		break;
	case MUT_NOT_TCP:
		super[9] = 17;
		break;
	case MUT_MF:
		put16(super + 6, IPV4_MF);
		break;
	case MUT_FRAG_OFFSET:
		put16(super + 6, 1);
		break;
	case MUT_DOFF_4:
		tcp[12] = 0x40;
		break;
	case MUT_DOFF_BEYOND:
		tcp[12] = 0xf0;
		len = ip_hlen + 40;
		put16(super + 4, 40);
		break;
	case MUT_SYN:
		tcp[13] |= TCP_SYN;
		break;
	case MUT_RST:
		tcp[13] |= TCP_RST;
		break;
	case MUT_NO_PAYLOAD:
		len = ip_hlen + 20;
		put16(super + 2, (uint16_t) len);
		break;
	case MUT_CSUM_START:
		h.csum_start = 0;
		break;
	case MUT_CSUM_OFFSET:
		h.csum_offset = 6;
		break;
	case MUT_NO_NEEDS_CSUM:
		/* forwarded GRO traffic: DATA_VALID, csum_start 0; we recompute anyway */
		h.flags = VIRTIO_NET_HDR_F_DATA_VALID;
		h.csum_start = 0;
		h.csum_offset = 0;
		break;
	case MUT_HDR_LEN_HUGE:
		h.hdr_len = 65535;
		break;
	case MUT_V6_PAYLOAD_LEN:
		put16(super + 4, 100);
		break;
	case MUT_V6_EXT_HEADER:
		super[6] = 0; /* hop-by-hop */
		break;
	case MUT_V6_SHORT:
		len = 39;
		break;
	default:
		g_assert_not_reached();
	}

	r = wr_offload_tcp_segment(&h, super, len, out, 8);
	if (c->result == 0) {
		g_assert_cmpint(r, ==, 4);
		for (int i = 0; i < r; i++)
			g_assert_true(ref_l4_ok(out[i].data, out[i].len, ip_hlen, 6));
	} else {
		memset(&tso, 0xa5, sizeof(tso));
		g_assert_cmpint(r, ==, c->result);
		g_assert_cmpint(wr_offload_tso_parse(&h, super, len, &tso), ==, c->result);
		/* out parameters are untouched on failure */
		for (size_t i = 0; i < sizeof(tso); i++)
			g_assert_cmphex(((uint8_t *) &tso)[i], ==, 0xa5);
	}
	packets_free(out, 8);
}

/* a UDP datagram as the kernel hands it over with CHECKSUM_PARTIAL */
static size_t
build_udp_partial(uint8_t *pkt, const uint8_t *payload, size_t plen)
{
	size_t len = 20 + 8 + plen;

	memset(pkt, 0, 28);
	pkt[0] = 0x45;
	put16(pkt + 2, (uint16_t) len);
	pkt[8] = 64;
	pkt[9] = 17;
	pkt[12] = 192, pkt[13] = 0, pkt[14] = 2, pkt[15] = 1;
	pkt[16] = 192, pkt[17] = 0, pkt[18] = 2, pkt[19] = 2;
	put16(pkt + 10, (uint16_t) ~ref_fold(ref_sum(pkt, 20, 0)));
	put16(pkt + 20, 1234);
	put16(pkt + 22, 9);
	put16(pkt + 24, (uint16_t) (8 + plen));
	memcpy(pkt + 28, payload, plen);
	put16(pkt + 26, ref_fold(ref_pseudo(pkt, 17, 8 + plen)));
	return len;
}

static void
test_complete_csum(void)
{
	uint8_t payload[301];
	uint8_t pkt[400];
	uint8_t copy[400];
	struct virtio_net_hdr h = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.csum_start = 20,
		.csum_offset = 6,
	};
	struct virtio_net_hdr bad;
	size_t len;
	uint64_t sum;

	fill_random(payload, sizeof(payload));
	len = build_udp_partial(pkt, payload, sizeof(payload));
	memcpy(copy, pkt, len);

	/* offsets that do not fit: refused, packet untouched */
	bad = h;
	bad.csum_start = (uint16_t) len;
	g_assert_cmpint(wr_offload_complete_csum(&bad, pkt, len), ==, -EINVAL);
	bad = h;
	bad.csum_offset = (uint16_t) (len - 20 - 1);
	g_assert_cmpint(wr_offload_complete_csum(&bad, pkt, len), ==, -EINVAL);
	bad = h;
	bad.csum_offset = 7;
	g_assert_cmpint(wr_offload_complete_csum(&bad, pkt, len), ==, -EINVAL);
	bad = h;
	bad.csum_start = 65535;
	bad.csum_offset = 65534;
	g_assert_cmpint(wr_offload_complete_csum(&bad, pkt, len), ==, -EINVAL);
	bad = h;
	bad.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	g_assert_cmpint(wr_offload_complete_csum(&bad, pkt, len), ==, -EINVAL);
	/* nothing asked: nothing done */
	bad = h;
	bad.flags = VIRTIO_NET_HDR_F_DATA_VALID;
	g_assert_cmpint(wr_offload_complete_csum(&bad, pkt, len), ==, 0);
	g_assert_cmpmem(pkt, len, copy, len);

	g_assert_cmpint(wr_offload_complete_csum(&h, pkt, len), ==, 0);
	g_assert_true(ref_l4_ok(pkt, len, 20, 17));
	g_assert_cmpmem(pkt, 26, copy, 26);
	g_assert_cmpmem(pkt + 28, len - 28, copy + 28, len - 28);

	/* a sum that comes out as zero is sent as 0xffff: UDP reads 0 as "no checksum" */
	len = build_udp_partial(pkt, payload, 2);
	put16(pkt + 28, 0);
	sum = ref_sum(pkt + 20, len - 20, 0);
	put16(pkt + 28, (uint16_t) ~ref_fold(sum));
	g_assert_cmpint(wr_offload_complete_csum(&h, pkt, len), ==, 0);
	g_assert_cmphex(be16(pkt + 26), ==, 0xffff);
	g_assert_true(ref_l4_ok(pkt, len, 20, 17));
	put16(pkt + 26, 0);
	g_assert_cmphex(wr_offload_l4_csum(pkt, len, 20, 17), ==, 0xffff);
}

/* three segments of one flow; a mutation of the second (or first) one must split them */
typedef enum {
	REF_NONE,
	REF_SEQ_GAP,
	REF_SEQ_OVERLAP,
	REF_OTHER_PORT,
	REF_OTHER_ADDR,
	REF_OTHER_ACK,
	REF_OTHER_WINDOW,
	REF_OTHER_URG,
	REF_FIN,
	REF_URG_FLAG,
	REF_ECE,
	REF_SYN,
	REF_PSH_ON_FIRST,
	REF_LARGER_SECOND,
	REF_OTHER_TSVAL,
	REF_OPTIONS_LEN,
	REF_OTHER_TTL,
	REF_OTHER_TOS,
	REF_NO_DF,
	REF_IP_OPTIONS,
	REF_MF,
	REF_BAD_CSUM_SECOND,
	REF_BAD_CSUM_FIRST,
	REF_NO_PAYLOAD,
	REF_OTHER_VERSION,
	REF_OTHER_FLOW_LABEL,
	REF_OTHER_HOP_LIMIT,
	REF_IPV4_PADDED,
} Refusal;

typedef struct {
	const char *name;
	uint8_t version;
	Refusal refusal;
	bool joins; /* the second segment joins the first */
} RefuseCase;

static const RefuseCase refuse_cases[] = {
	{"control-v4", 4, REF_NONE, true},
	{"control-v6", 6, REF_NONE, true},
	{"seq-gap", 4, REF_SEQ_GAP, false},
	{"seq-overlap", 6, REF_SEQ_OVERLAP, false},
	{"other-port", 4, REF_OTHER_PORT, false},
	{"other-addr", 6, REF_OTHER_ADDR, false},
	{"other-ack", 4, REF_OTHER_ACK, false},
	{"other-window", 6, REF_OTHER_WINDOW, false},
	{"other-urgent-pointer", 4, REF_OTHER_URG, false},
	{"fin", 4, REF_FIN, false},
	{"urg", 6, REF_URG_FLAG, false},
	{"ece", 4, REF_ECE, false},
	{"syn", 4, REF_SYN, false},
	{"psh-on-first", 4, REF_PSH_ON_FIRST, false},
	{"larger-second", 6, REF_LARGER_SECOND, false},
	{"other-tsval", 4, REF_OTHER_TSVAL, false},
	{"options-len", 6, REF_OPTIONS_LEN, false},
	{"other-ttl", 4, REF_OTHER_TTL, false},
	{"other-tos", 4, REF_OTHER_TOS, false},
	{"no-df", 4, REF_NO_DF, false},
	{"ip-options", 4, REF_IP_OPTIONS, false},
	{"more-fragments", 4, REF_MF, false},
	{"bad-csum-second", 4, REF_BAD_CSUM_SECOND, false},
	{"bad-csum-first", 6, REF_BAD_CSUM_FIRST, false},
	{"no-payload", 4, REF_NO_PAYLOAD, false},
	{"other-version", 4, REF_OTHER_VERSION, false},
	{"other-flow-label", 6, REF_OTHER_FLOW_LABEL, false},
	{"other-hop-limit", 6, REF_OTHER_HOP_LIMIT, false},
	{"ipv4-padded", 4, REF_IPV4_PADDED, false},
};

static void
test_coalesce_refuse(gconstpointer data)
{
	const RefuseCase *c = data;
	g_autoptr(WrOffloadCoalescer) co = wr_offload_coalescer_new(8);
	uint8_t payload[1200];
	uint8_t pkt[3][1400] = {{0}};
	size_t len[3];
	Spec s[3];
	size_t plen[3] = {1000, 1000, 1000};
	int w[3];

	fill_random(payload, sizeof(payload));
	for (int i = 0; i < 3; i++) {
		s[i] = spec_default(c->version);
		spec_timestamps(&s[i], 5);
		s[i].ip_id = (uint16_t) (100 + i);
	}
	switch (c->refusal) {
	case REF_NONE:
		break;
	case REF_SEQ_GAP:
		s[1].seq += 1;
		break;
	case REF_SEQ_OVERLAP:
		s[1].seq -= 1;
		break;
	case REF_OTHER_PORT:
		s[1].sport++;
		break;
	case REF_OTHER_ADDR:
		s[1].dst = 3;
		break;
	case REF_OTHER_ACK:
		s[1].ack++;
		break;
	case REF_OTHER_WINDOW:
		s[1].window++;
		break;
	case REF_OTHER_URG:
		s[1].urg = 1;
		break;
	case REF_FIN:
		s[1].flags |= TCP_FIN;
		break;
	case REF_URG_FLAG:
		s[1].flags |= TCP_URG;
		break;
	case REF_ECE:
		s[1].flags |= TCP_ECE;
		break;
	case REF_SYN:
		s[1].flags |= TCP_SYN;
		break;
	case REF_PSH_ON_FIRST:
		s[0].flags |= TCP_PSH;
		break;
	case REF_LARGER_SECOND:
		plen[0] = 900;
		break;
	case REF_OTHER_TSVAL:
		spec_timestamps(&s[1], 6);
		break;
	case REF_OPTIONS_LEN:
		s[1].opts_len = 0;
		break;
	case REF_OTHER_TTL:
		s[1].ttl--;
		break;
	case REF_OTHER_TOS:
		s[1].tos = 0x02; /* ECT(0) -> CE is a TOS change too */
		break;
	case REF_NO_DF:
		s[1].frag = 0;
		break;
	case REF_IP_OPTIONS:
		for (int i = 0; i < 3; i++)
			s[i].ip_opts_len = 4;
		break;
	case REF_MF:
		s[1].frag |= IPV4_MF;
		break;
	case REF_BAD_CSUM_SECOND:
		s[1].bad_csum = true;
		break;
	case REF_BAD_CSUM_FIRST:
		s[0].bad_csum = true;
		break;
	case REF_NO_PAYLOAD:
		plen[1] = 0;
		break;
	case REF_OTHER_VERSION:
		s[1] = spec_default(6);
		spec_timestamps(&s[1], 5);
		break;
	case REF_OTHER_FLOW_LABEL:
		s[1].flow = 0x12345;
		break;
	case REF_OTHER_HOP_LIMIT:
		s[1].ttl = 1;
		break;
	case REF_IPV4_PADDED:
		break;
	default:
		g_assert_not_reached();
	}
	s[1].seq += (uint32_t) plen[0];
	s[2].seq = s[1].seq + (uint32_t) plen[1];
	for (int i = 0; i < 3; i++)
		len[i] = build(&s[i], payload, plen[i], pkt[i]);
	if (c->refusal == REF_IPV4_PADDED)
		len[1] += 2; /* bytes after the IP total length, as from a padded frame */

	for (int i = 0; i < 3; i++)
		w[i] = wr_offload_coalescer_add(co, pkt[i], len[i]);
	g_assert_cmpint(w[0], ==, 0);
	if (c->joins) {
		g_assert_cmpint(w[1], ==, 0);
		g_assert_cmpint(w[2], ==, 0);
		g_assert_cmpuint(wr_offload_coalescer_get_n_writes(co), ==, 1);
	} else {
		g_assert_cmpint(w[1], ==, 1);
		/* the third follows the second; it must never go back to the first */
		g_assert_cmpint(w[2], >=, 1);
	}
}

/* a run ends at PSH or after a short segment */
static void
test_coalesce_run_end(void)
{
	g_autoptr(WrOffloadCoalescer) co = wr_offload_coalescer_new(8);
	uint8_t payload[1000];
	uint8_t pkt[4][1200];
	size_t plen[2][4] = {{1000, 500, 500, 500}, {1000, 1000, 1000, 1000}};
	int want[2][4] = {{0, 0, 1, 1}, {0, 0, 1, 1}};

	fill_random(payload, sizeof(payload));
	for (int round = 0; round < 2; round++) {
		Spec s = spec_default(4);

		wr_offload_coalescer_reset(co);
		for (int i = 0; i < 4; i++) {
			size_t len;

			s.flags = (round == 1 && i == 1) ? (TCP_ACK | TCP_PSH) : TCP_ACK;
			len = build(&s, payload, plen[round][i], pkt[i]);
			g_assert_cmpint(wr_offload_coalescer_add(co, pkt[i], len), ==,
					want[round][i]);
			s.seq += (uint32_t) plen[round][i];
		}
		g_assert_cmpuint(wr_offload_coalescer_get_n_writes(co), ==, 2);
	}
}

/* runs stop below 64 KiB and at WR_OFFLOAD_MAX_SEGMENTS */
static void
test_coalesce_limits(void)
{
	g_autoptr(WrOffloadCoalescer) co = wr_offload_coalescer_new(128);
	g_autofree uint8_t *pkts = g_malloc((size_t) 100 * 1500);
	uint8_t payload[1400];
	uint8_t head[WR_OFFLOAD_HEAD_MAX];
	struct iovec iov[WR_OFFLOAD_MAX_IOV];
	unsigned int n_packets;
	Spec s = spec_default(4);

	fill_random(payload, sizeof(payload));
	/* 20 + 20 + 46 * 1400 = 64440; one more would pass 65535 */
	for (int i = 0; i < 50; i++) {
		size_t len = build(&s, payload, 1400, pkts + (size_t) i * 1500);

		g_assert_cmpint(wr_offload_coalescer_add(co, pkts + (size_t) i * 1500, len), ==,
				i < 46 ? 0 : 1);
		s.seq += 1400;
	}
	g_assert_cmpuint(wr_offload_coalescer_build(co, 0, head, iov, &n_packets), ==, 47);
	g_assert_cmpuint(n_packets, ==, 46);
	g_assert_cmpuint(be16(head + WR_OFFLOAD_VNET_HDR_LEN + 2), ==, 64440);

	wr_offload_coalescer_reset(co);
	s = spec_default(6);
	for (int i = 0; i < 100; i++) {
		size_t len = build(&s, payload, 100, pkts + (size_t) i * 1500);

		g_assert_cmpint(wr_offload_coalescer_add(co, pkts + (size_t) i * 1500, len), ==,
				i < WR_OFFLOAD_MAX_SEGMENTS ? 0 : 1);
		s.seq += 100;
	}
	g_assert_cmpuint(wr_offload_coalescer_get_n_writes(co), ==, 2);
	g_assert_cmpuint(wr_offload_coalescer_build(co, 0, head, iov, &n_packets), ==,
			 WR_OFFLOAD_MAX_IOV);
	g_assert_cmpuint(n_packets, ==, WR_OFFLOAD_MAX_SEGMENTS);
	g_assert_cmpuint(wr_offload_coalescer_build(co, 1, head, iov, &n_packets), ==,
			 100 - WR_OFFLOAD_MAX_SEGMENTS + 1);

	/* the round is bounded */
	wr_offload_coalescer_reset(co);
	for (int i = 0; i < 128; i++)
		g_assert_cmpint(wr_offload_coalescer_add(co, payload, 1), ==, i);
	g_assert_cmpint(wr_offload_coalescer_add(co, payload, 1), ==, -ENOSPC);
}

/* flows interleave; writes keep the order of their first packets, flows keep theirs */
static void
test_coalesce_order(void)
{
	g_autoptr(WrOffloadCoalescer) co = wr_offload_coalescer_new(16);
	uint8_t payload[800];
	uint8_t pkt[10][1000];
	uint8_t udp[64] = {0x45};
	Spec a = spec_default(4);
	Spec b = spec_default(6);
	size_t len;
	uint8_t head[WR_OFFLOAD_HEAD_MAX];
	struct iovec iov[WR_OFFLOAD_MAX_IOV];
	unsigned int n_packets;
	unsigned int iovcnt;

	fill_random(payload, sizeof(payload));
	udp[9] = 17;
	put16(udp + 2, sizeof(udp));

	/* A1 B1 A2 U B2 A3 */
	len = build(&a, payload, 800, pkt[0]);
	g_assert_cmpint(wr_offload_coalescer_add(co, pkt[0], len), ==, 0);
	len = build(&b, payload, 800, pkt[1]);
	g_assert_cmpint(wr_offload_coalescer_add(co, pkt[1], len), ==, 1);
	a.seq += 800;
	len = build(&a, payload, 800, pkt[2]);
	g_assert_cmpint(wr_offload_coalescer_add(co, pkt[2], len), ==, 0);
	g_assert_cmpint(wr_offload_coalescer_add(co, udp, sizeof(udp)), ==, 2);
	b.seq += 800;
	len = build(&b, payload, 800, pkt[3]);
	g_assert_cmpint(wr_offload_coalescer_add(co, pkt[3], len), ==, 1);
	a.seq += 800;
	len = build(&a, payload, 800, pkt[4]);
	g_assert_cmpint(wr_offload_coalescer_add(co, pkt[4], len), ==, 0);

	/* a pure ACK of flow A ends A's run: A4 after it starts a new write */
	a.seq += 800;
	len = build(&a, payload, 0, pkt[5]);
	g_assert_cmpint(wr_offload_coalescer_add(co, pkt[5], len), ==, 3);
	len = build(&a, payload, 800, pkt[6]);
	g_assert_cmpint(wr_offload_coalescer_add(co, pkt[6], len), ==, 4);
	a.seq += 800;
	len = build(&a, payload, 800, pkt[7]);
	g_assert_cmpint(wr_offload_coalescer_add(co, pkt[7], len), ==, 4);
	g_assert_cmpuint(wr_offload_coalescer_get_n_writes(co), ==, 5);

	iovcnt = wr_offload_coalescer_build(co, 0, head, iov, &n_packets);
	g_assert_cmpuint(n_packets, ==, 3);
	g_assert_cmpuint(iovcnt, ==, 4);
	g_assert_true(iov[1].iov_base == pkt[0] + 40);
	g_assert_true(iov[2].iov_base == pkt[2] + 40);
	g_assert_true(iov[3].iov_base == pkt[4] + 40);
	iovcnt = wr_offload_coalescer_build(co, 2, head, iov, &n_packets);
	g_assert_cmpuint(n_packets, ==, 1);
	g_assert_cmpuint(iovcnt, ==, 2);
	g_assert_true(iov[1].iov_base == udp);
	g_assert_cmpuint(iov[1].iov_len, ==, sizeof(udp));
	for (size_t i = 0; i < WR_OFFLOAD_VNET_HDR_LEN; i++)
		g_assert_cmpuint(head[i], ==, 0);
}

/* a run of one segment is written as it is; tiny and odd packets pass through */
static void
test_coalesce_passthrough(void)
{
	g_autoptr(WrOffloadCoalescer) co = wr_offload_coalescer_new(16);
	const uint8_t junk[][4] = {{0}, {0x45}, {0x60, 1, 2, 3}, {0xff, 0xff, 0xff, 0xff}};
	uint8_t head[WR_OFFLOAD_HEAD_MAX];
	struct iovec iov[WR_OFFLOAD_MAX_IOV];
	unsigned int n_packets;

	for (unsigned int i = 0; i < G_N_ELEMENTS(junk); i++) {
		g_assert_cmpint(wr_offload_coalescer_add(co, junk[i], i), ==, (int) i);
		g_assert_cmpuint(wr_offload_coalescer_build(co, i, head, iov, &n_packets), ==, 2);
		g_assert_cmpuint(n_packets, ==, 1);
		g_assert_true(iov[1].iov_base == junk[i]);
		g_assert_cmpuint(iov[1].iov_len, ==, i);
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_assert_true(wr_crypto_init());

	g_test_add_func("/warren/offload/csum-vectors", test_csum_vectors);
	g_test_add_func("/warren/offload/csum-random", test_csum_random);
	g_test_add_func("/warren/offload/csum-l4", test_csum_l4);
	for (guint i = 0; i < G_N_ELEMENTS(segment_cases); i++) {
		g_autofree char *path =
			g_strdup_printf("/warren/offload/segment/%s", segment_cases[i].name);

		g_test_add_data_func(path, &segment_cases[i], test_segment_case);
	}
	g_test_add_func("/warren/offload/segment-in-place", test_segment_in_place);
	g_test_add_func("/warren/offload/segment-resume", test_segment_resume);
	for (guint i = 0; i < G_N_ELEMENTS(malformed_cases); i++) {
		g_autofree char *path =
			g_strdup_printf("/warren/offload/malformed/%s", malformed_cases[i].name);

		g_test_add_data_func(path, &malformed_cases[i], test_segment_malformed);
	}
	g_test_add_func("/warren/offload/complete-csum", test_complete_csum);
	for (guint i = 0; i < G_N_ELEMENTS(refuse_cases); i++) {
		g_autofree char *path =
			g_strdup_printf("/warren/offload/coalesce/%s", refuse_cases[i].name);

		g_test_add_data_func(path, &refuse_cases[i], test_coalesce_refuse);
	}
	g_test_add_func("/warren/offload/coalesce-run-end", test_coalesce_run_end);
	g_test_add_func("/warren/offload/coalesce-limits", test_coalesce_limits);
	g_test_add_func("/warren/offload/coalesce-order", test_coalesce_order);
	g_test_add_func("/warren/offload/coalesce-passthrough", test_coalesce_passthrough);
	return g_test_run();
}
