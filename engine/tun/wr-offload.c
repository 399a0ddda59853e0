/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrOffload"

#include "config.h"

#include <endian.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "wr-bytes.h"
#include "wr-offload.h"

_Static_assert(sizeof(struct virtio_net_hdr) == 10, "the TUN vnet header is 10 bytes");
_Static_assert(WR_PACKET_HEADROOM >= WR_OFFLOAD_VNET_HDR_LEN,
	       "the vnet header must fit in front of a packet");

#define IPV4_HLEN_MIN	 20
#define IPV6_HLEN	 40
#define TCP_HLEN_MIN	 20
#define TCP_CSUM_OFFSET	 16
#define TCP_FLAGS_OFFSET 13
#define TCP_FIN		 0x01
#define TCP_SYN		 0x02
#define TCP_RST		 0x04
#define TCP_PSH		 0x08
#define TCP_ACK		 0x10
#define TCP_CWR		 0x80
/* IPv4 flags and fragment offset: MF and the 13-bit offset */
#define IPV4_MF		 0x2000
#define IPV4_FRAG_OFFSET 0x1fff

/* one's complement addition of 64-bit words: the carry out of the top goes back in */
static inline uint64_t
add64(uint64_t a, uint64_t b)
{
	uint64_t r = a + b;

	return r + (r < a);
}

/*
 * RFC 1071 section 2 (B): the sum is independent of byte order, so native 64-bit words are
 * added with end-around carry (arithmetic mod 2^64 - 1, which 2^16 - 1 divides) and only
 * the folded result is turned into network order.  Four independent chains keep the adds
 * in flight; a short tail is padded with zeros, which is how RFC 1071 treats an odd byte.
 */
uint64_t
wr_offload_csum_add(uint64_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t s0 = sum, s1 = 0, s2 = 0, s3 = 0;

	while (len >= 32) {
		uint64_t w[4];

		memcpy(w, p, sizeof(w));
		s0 = add64(s0, w[0]);
		s1 = add64(s1, w[1]);
		s2 = add64(s2, w[2]);
		s3 = add64(s3, w[3]);
		p += 32;
		len -= 32;
	}
	while (len >= 8) {
		uint64_t w;

		memcpy(&w, p, sizeof(w));
		s0 = add64(s0, w);
		p += 8;
		len -= 8;
	}
	if (len > 0) {
		uint64_t w = 0;

		memcpy(&w, p, len);
		s1 = add64(s1, w);
	}
	return add64(add64(s0, s1), add64(s2, s3));
}

uint16_t
wr_offload_csum_fold(uint64_t sum)
{
	uint64_t s = (sum & 0xffffffffU) + (sum >> 32);

	s = (s & 0xffffffffU) + (s >> 32);
	s = (s & 0xffffU) + (s >> 16);
	s = (s & 0xffffU) + (s >> 16);
	s = (s & 0xffffU) + (s >> 16);
	return be16toh((uint16_t) s);
}

uint64_t
wr_offload_csum_pseudo(uint64_t sum, const uint8_t *src, const uint8_t *dst, size_t addr_len,
		       uint8_t proto, uint32_t l4_len)
{
	sum = wr_offload_csum_add(sum, src, addr_len);
	sum = wr_offload_csum_add(sum, dst, addr_len);
	if (addr_len == 4) {
		/* RFC 793: zero, protocol, TCP length (16 bits) */
		const uint8_t tail[4] = {0, proto, (uint8_t) (l4_len >> 8), (uint8_t) l4_len};

		return wr_offload_csum_add(sum, tail, sizeof(tail));
	} else {
		/* RFC 8200 section 8.1: upper-layer length (32 bits), 3 zero bytes, next header */
		uint8_t tail[8] = {0};

		wr_put_be32(tail, l4_len);
		tail[7] = proto;
		return wr_offload_csum_add(sum, tail, sizeof(tail));
	}
}

uint16_t
wr_offload_ipv4_header_csum(const uint8_t *iph, size_t ihl_bytes)
{
	return (uint16_t) ~wr_offload_csum_fold(wr_offload_csum_add(0, iph, ihl_bytes));
}

uint16_t
wr_offload_l4_csum(const uint8_t *pkt, size_t len, size_t l4_off, uint8_t proto)
{
	bool v6 = (pkt[0] >> 4) == 6;
	size_t src_off = v6 ? 8 : 12;
	size_t addr_len = v6 ? 16 : 4;
	uint64_t sum;
	uint16_t csum;

	sum = wr_offload_csum_pseudo(0, pkt + src_off, pkt + src_off + addr_len, addr_len, proto,
				     (uint32_t) (len - l4_off));
	sum = wr_offload_csum_add(sum, pkt + l4_off, len - l4_off);
	csum = (uint16_t) ~wr_offload_csum_fold(sum);
	/* 0 means "no checksum" to UDP; 0xffff is the same value in one's complement */
	return csum == 0 && proto == IPPROTO_UDP ? 0xffff : csum;
}

/* the sum of a valid segment, checksum field included, folds to all ones */
static bool
tcp_csum_ok(const uint8_t *pkt, size_t len, size_t l4_off)
{
	bool v6 = (pkt[0] >> 4) == 6;
	size_t src_off = v6 ? 8 : 12;
	size_t addr_len = v6 ? 16 : 4;
	uint64_t sum;

	sum = wr_offload_csum_pseudo(0, pkt + src_off, pkt + src_off + addr_len, addr_len,
				     IPPROTO_TCP, (uint32_t) (len - l4_off));
	sum = wr_offload_csum_add(sum, pkt + l4_off, len - l4_off);
	return wr_offload_csum_fold(sum) == 0xffff;
}

int
wr_offload_tso_parse(const struct virtio_net_hdr *hdr, const uint8_t *pkt, size_t len,
		     WrOffloadTso *out_tso)
{
	uint8_t version;
	size_t ip_hlen;
	size_t tcp_hlen;
	size_t payload;
	size_t first_len;
	const uint8_t *tcp;

	switch (hdr->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return hdr->gso_type == VIRTIO_NET_HDR_GSO_NONE ? -ENOMSG : -EINVAL;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		version = 4;
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		version = 6;
		break;
	case VIRTIO_NET_HDR_GSO_UDP:
	case VIRTIO_NET_HDR_GSO_UDP_L4:
		return -EPROTONOSUPPORT;
	default:
		return -EINVAL;
	}
	if (hdr->gso_size == 0 || len < IPV4_HLEN_MIN || (pkt[0] >> 4) != version)
		return -EINVAL;

	if (version == 4) {
		ip_hlen = (size_t) (pkt[0] & 0x0f) * 4;
		if (ip_hlen < IPV4_HLEN_MIN || ip_hlen > len)
			return -EINVAL;
		if (wr_get_be16(pkt + 2) != len || pkt[9] != IPPROTO_TCP)
			return -EINVAL;
		if ((wr_get_be16(pkt + 6) & (IPV4_MF | IPV4_FRAG_OFFSET)) != 0)
			return -EINVAL;
	} else {
		ip_hlen = IPV6_HLEN;
		if (len < IPV6_HLEN || (size_t) wr_get_be16(pkt + 4) + IPV6_HLEN != len ||
		    pkt[6] != IPPROTO_TCP)
			return -EINVAL;
	}
	if (len - ip_hlen < TCP_HLEN_MIN)
		return -EINVAL;
	tcp = pkt + ip_hlen;
	tcp_hlen = (size_t) (tcp[12] >> 4) * 4;
	if (tcp_hlen < TCP_HLEN_MIN || tcp_hlen > len - ip_hlen)
		return -EINVAL;
	if ((tcp[TCP_FLAGS_OFFSET] & (TCP_SYN | TCP_RST)) != 0)
		return -EINVAL;
	payload = len - ip_hlen - tcp_hlen;
	if (payload == 0)
		return -EINVAL;
	if ((hdr->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) != 0 &&
	    (hdr->csum_start != ip_hlen || hdr->csum_offset != TCP_CSUM_OFFSET))
		return -EINVAL;
	first_len = ip_hlen + tcp_hlen + MIN(payload, (size_t) hdr->gso_size);
	if (first_len > WR_PACKET_MAX_IP)
		return -EINVAL;

	out_tso->len = (uint32_t) len;
	out_tso->ip_hlen = (uint16_t) ip_hlen;
	out_tso->hdr_len = (uint16_t) (ip_hlen + tcp_hlen);
	out_tso->gso_size = hdr->gso_size;
	out_tso->version = version;
	out_tso->n_segments = (uint32_t) ((payload + hdr->gso_size - 1) / hdr->gso_size);
	return 0;
}

unsigned int
wr_offload_tso_segment(const WrOffloadTso *tso, const uint8_t *pkt, unsigned int first,
		       WrPacket *out, unsigned int max)
{
	bool v6 = tso->version == 6;
	size_t src_off = v6 ? 8 : 12;
	size_t addr_len = v6 ? 16 : 4;
	const uint8_t *tcp_in = pkt + tso->ip_hlen;
	uint32_t seq = wr_get_be32(tcp_in + 4);
	uint16_t ip_id = v6 ? 0 : wr_get_be16(pkt + 4);
	uint32_t last = tso->n_segments - 1;
	unsigned int n;

	if (first >= tso->n_segments)
		return 0;
	n = MIN(max, tso->n_segments - first);

	/* last to first: out[0] may be pkt itself, and then it must be cut last */
	for (unsigned int i = n; i-- > 0;) {
		uint32_t k = first + i;
		size_t off = tso->hdr_len + (size_t) k * tso->gso_size;
		size_t plen = MIN((size_t) tso->gso_size, tso->len - off);
		size_t seg_len = tso->hdr_len + plen;
		uint8_t *dst = out[i].buf + WR_PACKET_HEADROOM;
		uint8_t *tcp = dst + tso->ip_hlen;
		uint8_t flags;
		uint64_t sum;

		memmove(dst, pkt, tso->hdr_len);
		memmove(dst + tso->hdr_len, pkt + off, plen);
		if (v6) {
			wr_put_be16(dst + 4, (uint16_t) (seg_len - IPV6_HLEN));
		} else {
			wr_put_be16(dst + 2, (uint16_t) seg_len);
			wr_put_be16(dst + 4, (uint16_t) (ip_id + k));
			wr_put_be16(dst + 10, 0);
			wr_put_be16(dst + 10, wr_offload_ipv4_header_csum(dst, tso->ip_hlen));
		}
		wr_put_be32(tcp + 4, seq + k * (uint32_t) tso->gso_size);
		flags = tcp[TCP_FLAGS_OFFSET];
		if (k != last)
			flags &= (uint8_t) ~(TCP_FIN | TCP_PSH);
		if (k != 0)
			flags &= (uint8_t) ~TCP_CWR;
		tcp[TCP_FLAGS_OFFSET] = flags;
		wr_put_be16(tcp + TCP_CSUM_OFFSET, 0);
		sum = wr_offload_csum_pseudo(0, dst + src_off, dst + src_off + addr_len, addr_len,
					     IPPROTO_TCP, (uint32_t) (seg_len - tso->ip_hlen));
		sum = wr_offload_csum_add(sum, tcp, seg_len - tso->ip_hlen);
		wr_put_be16(tcp + TCP_CSUM_OFFSET, (uint16_t) ~wr_offload_csum_fold(sum));

		out[i].data = dst;
		out[i].len = (uint32_t) seg_len;
	}
	return n;
}

int
wr_offload_tcp_segment(const struct virtio_net_hdr *hdr, const uint8_t *pkt, size_t len,
		       WrPacket *out, unsigned int max)
{
	WrOffloadTso tso;
	int r;

	r = wr_offload_tso_parse(hdr, pkt, len, &tso);
	if (r < 0)
		return r;
	if (tso.n_segments > max)
		return -ENOSPC;
	return (int) wr_offload_tso_segment(&tso, pkt, 0, out, max);
}

int
wr_offload_complete_csum(const struct virtio_net_hdr *hdr, uint8_t *pkt, size_t len)
{
	size_t start = hdr->csum_start;
	size_t field = start + hdr->csum_offset;
	uint16_t csum;

	if (hdr->gso_type != VIRTIO_NET_HDR_GSO_NONE)
		return -EINVAL;
	if ((hdr->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) == 0)
		return 0;
	/* an odd offset would put the field across two 16-bit words of the sum */
	if ((hdr->csum_offset & 1) != 0 || start >= len || field + 2 > len)
		return -EINVAL;
	csum = (uint16_t) ~wr_offload_csum_fold(wr_offload_csum_add(0, pkt + start, len - start));
	/* 0 means "no checksum" to UDP; 0xffff is the same value in one's complement */
	wr_put_be16(pkt + field, csum != 0 ? csum : 0xffff);
	return 0;
}

/* coalescing */

typedef struct {
	const uint8_t *data;
	uint32_t len;
	int32_t next; /* the next packet of the same write, or -1 */
} Entry;

typedef struct {
	int32_t first;
	int32_t last;
	uint32_t next_seq;  /* what the next segment's sequence number must be */
	uint32_t total_len; /* of the IP packet the run makes */
	uint32_t hash;	    /* of the flow, to skip most comparisons */
	uint16_t n_segments;
	uint16_t gso_size;
	uint16_t ip_hlen;
	uint16_t hdr_len;
	uint8_t version; /* 0 when the packet is not TCP */
	bool open;	 /* more segments may join */
	bool psh;	 /* the last segment carries PSH */
	bool verified;	 /* the first segment's checksum was checked */
} Write;

struct WrOffloadCoalescer {
	unsigned int capacity;
	unsigned int n_entries;
	unsigned int n_writes;
	Entry *entries;
	Write *writes;
};

/* what one TCP packet looks like, as far as coalescing cares */
typedef struct {
	uint8_t version;
	uint16_t ip_hlen;
	uint16_t hdr_len;
	uint32_t payload;
	uint32_t seq;
	uint32_t hash;
	bool candidate; /* may be part of a run */
	bool psh;
} TcpView;

static uint32_t
flow_hash(const uint8_t *addrs, size_t addrs_len, const uint8_t *ports)
{
	/* FNV-1a; only a filter in front of memcmp, so no keying is needed */
	uint32_t h = 2166136261U;

	for (size_t i = 0; i < addrs_len; i++)
		h = (h ^ addrs[i]) * 16777619U;
	for (size_t i = 0; i < 4; i++)
		h = (h ^ ports[i]) * 16777619U;
	return h;
}

static bool
tcp_view(const uint8_t *pkt, size_t len, TcpView *v)
{
	size_t tcp_hlen;
	const uint8_t *tcp;
	uint8_t flags;

	if (len < IPV4_HLEN_MIN + TCP_HLEN_MIN)
		return false;
	v->version = pkt[0] >> 4;
	if (v->version == 4) {
		uint16_t frag = wr_get_be16(pkt + 6);

		v->ip_hlen = (uint16_t) ((pkt[0] & 0x0f) * 4);
		/* later fragments carry no TCP header */
		if (v->ip_hlen < IPV4_HLEN_MIN || pkt[9] != IPPROTO_TCP ||
		    (frag & IPV4_FRAG_OFFSET) != 0)
			return false;
		v->candidate = v->ip_hlen == IPV4_HLEN_MIN && (frag & IPV4_MF) == 0 &&
			       wr_get_be16(pkt + 2) == len;
	} else if (v->version == 6) {
		v->ip_hlen = IPV6_HLEN;
		if (pkt[6] != IPPROTO_TCP)
			return false;
		v->candidate = (size_t) wr_get_be16(pkt + 4) + IPV6_HLEN == len;
	} else {
		return false;
	}
	if (len < (size_t) v->ip_hlen + TCP_HLEN_MIN)
		return false;
	tcp = pkt + v->ip_hlen;
	tcp_hlen = (size_t) (tcp[12] >> 4) * 4;
	if (tcp_hlen < TCP_HLEN_MIN || tcp_hlen > len - v->ip_hlen)
		return false;
	v->hdr_len = (uint16_t) (v->ip_hlen + tcp_hlen);
	v->payload = (uint32_t) (len - v->hdr_len);
	v->seq = wr_get_be32(tcp + 4);
	flags = tcp[TCP_FLAGS_OFFSET];
	v->psh = (flags & TCP_PSH) != 0;
	if ((flags & ~TCP_PSH) != TCP_ACK || v->payload == 0)
		v->candidate = false;
	if (v->version == 4)
		v->hash = flow_hash(pkt + 12, 8, tcp) ^ 4;
	else
		v->hash = flow_hash(pkt + 8, 32, tcp) ^ 6;
	return true;
}

static bool
same_flow(const Write *w, const uint8_t *f, const uint8_t *p, const TcpView *v)
{
	if (w->version != v->version || w->hash != v->hash)
		return false;
	if (memcmp(f + w->ip_hlen, p + v->ip_hlen, 4) != 0)
		return false;
	if (v->version == 4)
		return memcmp(f + 12, p + 12, 8) == 0;
	return memcmp(f + 8, p + 8, 32) == 0;
}

/* everything but the checksums; f is the run's first segment */
static bool
can_join(const Write *w, const uint8_t *f, const uint8_t *p, const TcpView *v)
{
	const uint8_t *ft = f + w->ip_hlen;
	const uint8_t *pt = p + v->ip_hlen;

	if (!w->open || !v->candidate || v->hdr_len != w->hdr_len)
		return false;
	if (v->seq != w->next_seq || v->payload > w->gso_size)
		return false;
	if (w->total_len + v->payload > WR_OFFLOAD_MAX_COALESCED ||
	    w->n_segments >= WR_OFFLOAD_MAX_SEGMENTS)
		return false;
	if (v->version == 4) {
		/* TOS, then flags (DF) and fragment offset, then TTL */
		if (p[1] != f[1] || p[6] != f[6] || p[8] != f[8])
			return false;
	} else {
		/* version, traffic class and flow label; hop limit */
		if (memcmp(p, f, 4) != 0 || p[7] != f[7])
			return false;
	}
	/* ACK number, then window; urgent pointer; options */
	if (memcmp(pt + 8, ft + 8, 4) != 0 || memcmp(pt + 14, ft + 14, 2) != 0 ||
	    memcmp(pt + 18, ft + 18, 2) != 0)
		return false;
	return memcmp(pt + TCP_HLEN_MIN, ft + TCP_HLEN_MIN,
		      v->hdr_len - v->ip_hlen - TCP_HLEN_MIN) == 0;
}

WrOffloadCoalescer *
wr_offload_coalescer_new(unsigned int capacity)
{
	WrOffloadCoalescer *self = g_new0(WrOffloadCoalescer, 1);

	self->capacity = MAX(capacity, 1U);
	self->entries = g_new0(Entry, self->capacity);
	self->writes = g_new0(Write, self->capacity);
	return self;
}

void
wr_offload_coalescer_free(WrOffloadCoalescer *self)
{
	if (self == NULL)
		return;
	g_free(self->entries);
	g_free(self->writes);
	g_free(self);
}

void
wr_offload_coalescer_reset(WrOffloadCoalescer *self)
{
	self->n_entries = 0;
	self->n_writes = 0;
}

int
wr_offload_coalescer_add(WrOffloadCoalescer *self, const uint8_t *pkt, size_t len)
{
	Entry *e;
	Write *w;
	TcpView v = {0};
	bool known_bad = false;
	int32_t idx;

	if (self->n_entries == self->capacity)
		return -ENOSPC;
	idx = (int32_t) self->n_entries++;
	e = &self->entries[idx];
	e->data = pkt;
	e->len = (uint32_t) MIN(len, (size_t) UINT32_MAX);
	e->next = -1;

	if (len <= WR_PACKET_MAX_IP && tcp_view(pkt, len, &v)) {
		unsigned int stop = self->n_writes > WR_OFFLOAD_FLOW_SCAN
					    ? self->n_writes - WR_OFFLOAD_FLOW_SCAN
					    : 0;

		/* only the newest write of the flow may grow, which keeps the flow in order */
		for (unsigned int i = self->n_writes; i-- > stop;) {
			const uint8_t *f;

			w = &self->writes[i];
			f = self->entries[w->first].data;
			if (!same_flow(w, f, pkt, &v))
				continue;
			if (!can_join(w, f, pkt, &v))
				break;
			if (!tcp_csum_ok(pkt, len, v.ip_hlen)) {
				known_bad = true;
				break;
			}
			if (!w->verified) {
				w->verified = true;
				if (!tcp_csum_ok(f, self->entries[w->first].len, w->ip_hlen)) {
					w->open = false;
					break;
				}
			}
			self->entries[w->last].next = idx;
			w->last = idx;
			w->n_segments++;
			w->next_seq += v.payload;
			w->total_len += v.payload;
			if (v.psh) {
				w->psh = true;
				w->open = false;
			} else if (v.payload < w->gso_size) {
				w->open = false;
			}
			return (int) i;
		}
	} else {
		v.version = 0;
	}

	/* a packet of its own: not TCP, or the flow's newest write could not take it */
	w = &self->writes[self->n_writes];
	memset(w, 0, sizeof(*w));
	w->first = idx;
	w->last = idx;
	w->n_segments = 1;
	w->version = v.version;
	if (v.version != 0) {
		w->hash = v.hash;
		w->ip_hlen = v.ip_hlen;
		w->hdr_len = v.hdr_len;
		w->gso_size = (uint16_t) MIN(v.payload, (uint32_t) UINT16_MAX);
		w->next_seq = v.seq + v.payload;
		w->total_len = (uint32_t) len;
		w->open = v.candidate && !v.psh && !known_bad;
	}
	return (int) self->n_writes++;
}

unsigned int
wr_offload_coalescer_get_n_writes(WrOffloadCoalescer *self)
{
	return self->n_writes;
}

unsigned int
wr_offload_coalescer_build(WrOffloadCoalescer *self, unsigned int i,
			   uint8_t head[WR_OFFLOAD_HEAD_MAX], struct iovec iov[WR_OFFLOAD_MAX_IOV],
			   unsigned int *out_n_packets)
{
	const Write *w;
	const Entry *e;
	struct virtio_net_hdr hdr = {0};
	uint8_t *h = head + WR_OFFLOAD_VNET_HDR_LEN;
	uint8_t *tcp;
	size_t src_off;
	size_t addr_len;
	unsigned int n = 0;
	uint64_t sum;

	g_return_val_if_fail(i < self->n_writes, 0);
	w = &self->writes[i];
	e = &self->entries[w->first];
	tcp = h + w->ip_hlen;
	src_off = w->version == 6 ? 8 : 12;
	addr_len = w->version == 6 ? 16 : 4;

	if (w->n_segments == 1) {
		memset(head, 0, WR_OFFLOAD_VNET_HDR_LEN);
		iov[0].iov_base = head;
		iov[0].iov_len = WR_OFFLOAD_VNET_HDR_LEN;
		iov[1].iov_base = (void *) e->data;
		iov[1].iov_len = e->len;
		*out_n_packets = 1;
		return 2;
	}

	hdr.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	hdr.gso_type = w->version == 6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
	hdr.hdr_len = w->hdr_len;
	hdr.gso_size = w->gso_size;
	hdr.csum_start = w->ip_hlen;
	hdr.csum_offset = TCP_CSUM_OFFSET;
	memcpy(head, &hdr, WR_OFFLOAD_VNET_HDR_LEN);

	memcpy(h, e->data, w->hdr_len);
	if (w->version == 6) {
		wr_put_be16(h + 4, (uint16_t) (w->total_len - IPV6_HLEN));
	} else {
		wr_put_be16(h + 2, (uint16_t) w->total_len);
		wr_put_be16(h + 10, 0);
		wr_put_be16(h + 10, wr_offload_ipv4_header_csum(h, w->ip_hlen));
	}
	if (w->psh)
		tcp[TCP_FLAGS_OFFSET] |= TCP_PSH;
	/* CHECKSUM_PARTIAL: the kernel adds the rest to the pseudo-header sum left here */
	sum = wr_offload_csum_pseudo(0, h + src_off, h + src_off + addr_len, addr_len, IPPROTO_TCP,
				     w->total_len - w->ip_hlen);
	wr_put_be16(tcp + TCP_CSUM_OFFSET, wr_offload_csum_fold(sum));
	iov[0].iov_base = head;
	iov[0].iov_len = WR_OFFLOAD_VNET_HDR_LEN + w->hdr_len;

	for (int32_t k = w->first; k >= 0; k = self->entries[k].next) {
		e = &self->entries[k];
		n++;
		iov[n].iov_base = (void *) (e->data + w->hdr_len);
		iov[n].iov_len = e->len - w->hdr_len;
	}
	*out_n_packets = n;
	return n + 1;
}
