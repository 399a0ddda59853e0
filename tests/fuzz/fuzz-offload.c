/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Input: one mode byte, then
 *  - mode bit 0 clear: a struct virtio_net_hdr and a frame, as a TUN read returns them; the
 *    frame is segmented all at once, in parts (bits 2-4 give the part size) and in place,
 *    which must agree, and every segment must carry valid checksums;
 *  - mode bit 0 set: packets, each a big-endian 16-bit length and the bytes, fed to the
 *    coalescer (with their IPv4 and TCP checksums fixed first when bit 1 is set, so that
 *    runs can form); every coalesced write must be a frame the segmenter accepts and cuts
 *    back into the packets it was made of.
 */

#define G_LOG_DOMAIN "WrFuzzOffload"

#include "config.h"

#include <glib.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "wr-offload.h"

#define N_PACKETS (WR_OFFLOAD_MAX_SEGMENTS + 1)
/* the longest frame a reader can hold: what fits behind the headroom of one buffer */
#define FRAME_MAX  (WR_PACKET_CAPACITY - WR_PACKET_HEADROOM)
#define ARENA_SIZE (2 * WR_PACKET_CAPACITY)
#define ROUND_MAX  128

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* scratch kept across runs: allocating 8 MiB per input would dominate the run time */
typedef struct {
	WrPacket all[N_PACKETS];
	WrPacket part[N_PACKETS];
	uint8_t *arena;
	WrOffloadCoalescer *coalescer;
} Scratch;

static Scratch *
scratch_get(void)
{
	static Scratch *scratch = NULL;

	if (scratch == NULL) {
		scratch = g_new0(Scratch, 1);
		for (unsigned int i = 0; i < N_PACKETS; i++) {
			scratch->all[i].buf = g_malloc0(WR_PACKET_CAPACITY);
			scratch->part[i].buf = g_malloc0(WR_PACKET_CAPACITY);
		}
		scratch->arena = g_malloc0(ARENA_SIZE);
		scratch->coalescer = wr_offload_coalescer_new(ROUND_MAX);
	}
	return scratch;
}

static uint16_t
be16(const uint8_t *p)
{
	return (uint16_t) ((p[0] << 8) | p[1]);
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t) (v >> 8);
	p[1] = (uint8_t) v;
}

static bool
tcp_csum_ok(const uint8_t *pkt, size_t len, size_t l4_off)
{
	bool v6 = (pkt[0] >> 4) == 6;
	size_t src = v6 ? 8 : 12;
	size_t alen = v6 ? 16 : 4;
	uint64_t sum;

	sum = wr_offload_csum_pseudo(0, pkt + src, pkt + src + alen, alen, IPPROTO_TCP,
				     (uint32_t) (len - l4_off));
	sum = wr_offload_csum_add(sum, pkt + l4_off, len - l4_off);
	return wr_offload_csum_fold(sum) == 0xffff;
}

static void
fuzz_segment(Scratch *s, uint8_t mode, const uint8_t *data, size_t size)
{
	struct virtio_net_hdr hdr;
	WrOffloadTso tso;
	unsigned int step = ((mode >> 2) & 7) + 1;
	uint8_t *pkt = s->arena;
	size_t len;
	int n;

	if (size < sizeof(hdr))
		return;
	memcpy(&hdr, data, sizeof(hdr));
	len = MIN(size - sizeof(hdr), (size_t) FRAME_MAX);
	memcpy(pkt, data + sizeof(hdr), len);

	n = wr_offload_tcp_segment(&hdr, pkt, len, s->all, N_PACKETS);
	if (n < 0) {
		uint8_t *copy = s->arena + FRAME_MAX;

		/* a frame that is not GSO may still want its checksum finished */
		memcpy(copy, pkt, len);
		(void) wr_offload_complete_csum(&hdr, copy, len);
		return;
	}
	g_assert(wr_offload_tso_parse(&hdr, pkt, len, &tso) == 0);
	g_assert((unsigned int) n == tso.n_segments);
	for (int i = 0; i < n; i++) {
		const WrPacket *p = &s->all[i];

		g_assert(p->data == p->buf + WR_PACKET_HEADROOM);
		g_assert(p->len > tso.hdr_len && p->len <= WR_PACKET_MAX_IP);
		g_assert(p->len - tso.hdr_len <= tso.gso_size);
		g_assert(tcp_csum_ok(p->data, p->len, tso.ip_hlen));
		if (tso.version == 4)
			g_assert(wr_offload_csum_fold(
					 wr_offload_csum_add(0, p->data, tso.ip_hlen)) == 0xffff);
	}

	/* in parts, as a reader with a small batch takes it */
	for (unsigned int done = 0; done < tso.n_segments;) {
		unsigned int got = wr_offload_tso_segment(&tso, pkt, done, s->part, step);

		g_assert(got == MIN(step, tso.n_segments - done));
		for (unsigned int i = 0; i < got; i++) {
			g_assert(s->part[i].len == s->all[done + i].len);
			g_assert(memcmp(s->part[i].data, s->all[done + i].data, s->part[i].len) ==
				 0);
		}
		done += got;
	}

	/* in place, as the reader cuts up what it read into the first buffer */
	memcpy(s->part[0].buf + WR_PACKET_HEADROOM, pkt, len);
	g_assert(wr_offload_tcp_segment(&hdr, s->part[0].buf + WR_PACKET_HEADROOM, len, s->part,
					N_PACKETS) == n);
	for (int i = 0; i < n; i++) {
		g_assert(s->part[i].len == s->all[i].len);
		g_assert(memcmp(s->part[i].data, s->all[i].data, s->part[i].len) == 0);
	}
}

/* gives TCP-looking packets valid checksums, so that the fuzzer reaches the runs */
static void
fix_checksums(uint8_t *pkt, size_t len)
{
	size_t l4_off;

	if (len >= 40 && (pkt[0] >> 4) == 4 && pkt[9] == IPPROTO_TCP) {
		l4_off = (size_t) (pkt[0] & 0x0f) * 4;
		if (l4_off < 20 || l4_off + 20 > len)
			return;
		put16(pkt + 10, 0);
		put16(pkt + 10, wr_offload_ipv4_header_csum(pkt, l4_off));
	} else if (len >= 60 && (pkt[0] >> 4) == 6 && pkt[6] == IPPROTO_TCP) {
		l4_off = 40;
	} else {
		return;
	}
	put16(pkt + l4_off + 16, 0);
	put16(pkt + l4_off + 16, wr_offload_l4_csum(pkt, len, l4_off, IPPROTO_TCP));
}

/* returns how many packets write w carries, adding their bytes to *bytes */
static unsigned int
check_write(Scratch *s, unsigned int w, size_t *bytes)
{
	uint8_t head[WR_OFFLOAD_HEAD_MAX];
	struct iovec iov[WR_OFFLOAD_MAX_IOV];
	struct virtio_net_hdr hdr;
	unsigned int n_packets = 0;
	unsigned int iovcnt;
	uint8_t *frame = s->part[0].buf;
	size_t len = 0;
	int n;

	iovcnt = wr_offload_coalescer_build(s->coalescer, w, head, iov, &n_packets);
	g_assert(iovcnt >= 2 && iovcnt <= WR_OFFLOAD_MAX_IOV);
	g_assert(iov[0].iov_base == head && iov[0].iov_len >= WR_OFFLOAD_VNET_HDR_LEN);
	memcpy(&hdr, head, sizeof(hdr));
	for (unsigned int i = 1; i < iovcnt; i++) {
		g_assert(len + iov[i].iov_len <= WR_PACKET_CAPACITY);
		memcpy(frame + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	if (n_packets == 1) {
		static const struct virtio_net_hdr zero = {0};

		g_assert(iovcnt == 2 && iov[0].iov_len == sizeof(hdr));
		g_assert(memcmp(&hdr, &zero, sizeof(hdr)) == 0);
		*bytes += len;
		return 1;
	}

	/* a run: headers, then the payloads; the segmenter must give back the segments */
	g_assert(iovcnt == n_packets + 1);
	g_assert(iov[0].iov_len == sizeof(hdr) + hdr.hdr_len);
	memmove(frame + hdr.hdr_len, frame, len);
	memcpy(frame, head + sizeof(hdr), hdr.hdr_len);
	len += hdr.hdr_len;
	g_assert(len <= WR_OFFLOAD_MAX_COALESCED);
	n = wr_offload_tcp_segment(&hdr, frame, len, s->all, N_PACKETS);
	g_assert(n == (int) n_packets);
	for (unsigned int i = 0; i < n_packets; i++) {
		const uint8_t *member = (const uint8_t *) iov[i + 1].iov_base - hdr.hdr_len;
		const uint8_t *seg = s->all[i].data;
		size_t tcp = hdr.csum_start;

		g_assert(s->all[i].len == hdr.hdr_len + iov[i + 1].iov_len);
		/* sequence number, ACK number, flags */
		g_assert(memcmp(seg + tcp + 4, member + tcp + 4, 8) == 0);
		g_assert(seg[tcp + 13] == member[tcp + 13]);
		g_assert(memcmp(seg + hdr.hdr_len, iov[i + 1].iov_base, iov[i + 1].iov_len) == 0);
		*bytes += s->all[i].len;
	}
	return n_packets;
}

static void
fuzz_coalesce(Scratch *s, uint8_t mode, const uint8_t *data, size_t size)
{
	size_t used = 0;
	size_t in_bytes = 0;
	size_t out_bytes = 0;
	unsigned int n_in = 0;
	unsigned int n_out = 0;
	unsigned int n_writes;

	wr_offload_coalescer_reset(s->coalescer);
	while (size >= 2 && n_in < ROUND_MAX) {
		size_t len = MIN((size_t) be16(data), size - 2);
		uint8_t *pkt = s->arena + used;

		if (used + len > ARENA_SIZE)
			break;
		memcpy(pkt, data + 2, len);
		if ((mode & 2) != 0)
			fix_checksums(pkt, len);
		g_assert(wr_offload_coalescer_add(s->coalescer, pkt, len) >= 0);
		used += len;
		in_bytes += len;
		n_in++;
		data += 2 + len;
		size -= 2 + len;
	}
	n_writes = wr_offload_coalescer_get_n_writes(s->coalescer);
	g_assert(n_writes <= n_in);
	for (unsigned int w = 0; w < n_writes; w++)
		n_out += check_write(s, w, &out_bytes);
	/* every packet went out exactly once, whole */
	g_assert(n_out == n_in);
	g_assert(out_bytes == in_bytes);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Scratch *s = scratch_get();

	if (size < 1)
		return 0;
	if ((data[0] & 1) == 0)
		fuzz_segment(s, data[0], data + 1, size - 1);
	else
		fuzz_coalesce(s, data[0], data + 1, size - 1);
	return 0;
}
