/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "wr-flowrec.h"
#include "wr-stun.h"

/* offsets in a record */
enum {
	REC_MAGIC = 0,
	REC_LEN = 4,
	REC_VERSION = 6,
	REC_FAMILY = 7,
	REC_SEQ = 8,
	REC_PROTO = 16,
	REC_PATH = 17,
	REC_END = 18,
	REC_FLAGS = 19,
	REC_LPORT = 20,
	REC_RPORT = 22,
	REC_LOCAL = 24,
	REC_REMOTE = 40,
	REC_START = 56,
	REC_END_TIME = 64,
	REC_TX_PACKETS = 72,
	REC_TX_BYTES = 80,
	REC_RX_PACKETS = 88,
	REC_RX_BYTES = 96,
	REC_PEER_ID = 104,
	REC_NAME_LEN = 112,
	REC_NAME = WR_FLOW_REC_FIXED,
};

/* offsets in the file header */
enum {
	HDR_MAGIC = 0,
	HDR_VERSION = 8,
	HDR_SIZE = 16,
	HDR_CRC = 28,
};

#define KNOWN_FLAGS WR_FLOW_F_OUTBOUND

static void
put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t) v;
	p[1] = (uint8_t) (v >> 8);
}

static void
put_u32(uint8_t *p, uint32_t v)
{
	for (guint i = 0; i < 4; i++)
		p[i] = (uint8_t) (v >> (8 * i));
}

static void
put_u64(uint8_t *p, uint64_t v)
{
	for (guint i = 0; i < 8; i++)
		p[i] = (uint8_t) (v >> (8 * i));
}

static uint16_t
get_u16(const uint8_t *p)
{
	return (uint16_t) (p[0] | (p[1] << 8));
}

static uint32_t
get_u32(const uint8_t *p)
{
	uint32_t v = 0;

	for (guint i = 0; i < 4; i++)
		v |= (uint32_t) p[i] << (8 * i);
	return v;
}

static uint64_t
get_u64(const uint8_t *p)
{
	uint64_t v = 0;

	for (guint i = 0; i < 8; i++)
		v |= (uint64_t) p[i] << (8 * i);
	return v;
}

size_t
wr_flow_record_encode(const WrFlowRecord *r, uint64_t seq, uint8_t out[WR_FLOW_REC_MAX])
{
	size_t name_len = strnlen(r->peer, sizeof(r->peer));
	const char *end = NULL;
	size_t len;

	/* cut at a character boundary: the reader refuses invalid UTF-8 */
	if (name_len > WR_FLOW_PEER_MAX)
		name_len = WR_FLOW_PEER_MAX;
	if (!g_utf8_validate(r->peer, (gssize) name_len, &end))
		name_len = (size_t) (end - r->peer);
	len = WR_FLOW_REC_FIXED + name_len + 4;

	memset(out, 0, WR_FLOW_REC_MAX);
	put_u32(out + REC_MAGIC, WR_FLOW_REC_MAGIC);
	put_u16(out + REC_LEN, (uint16_t) len);
	out[REC_VERSION] = WR_FLOW_REC_VERSION;
	out[REC_FAMILY] = r->family == AF_INET6 ? 6 : 4;
	put_u64(out + REC_SEQ, seq);
	out[REC_PROTO] = r->proto;
	out[REC_PATH] = r->path;
	out[REC_END] = r->end;
	out[REC_FLAGS] = r->flags;
	put_u16(out + REC_LPORT, r->lport);
	put_u16(out + REC_RPORT, r->rport);
	memcpy(out + REC_LOCAL, r->local, r->family == AF_INET6 ? 16 : 4);
	memcpy(out + REC_REMOTE, r->remote, r->family == AF_INET6 ? 16 : 4);
	put_u64(out + REC_START, (uint64_t) r->start);
	put_u64(out + REC_END_TIME, (uint64_t) r->end_time);
	put_u64(out + REC_TX_PACKETS, r->tx_packets);
	put_u64(out + REC_TX_BYTES, r->tx_bytes);
	put_u64(out + REC_RX_PACKETS, r->rx_packets);
	put_u64(out + REC_RX_BYTES, r->rx_bytes);
	put_u64(out + REC_PEER_ID, (uint64_t) r->peer_id);
	out[REC_NAME_LEN] = (uint8_t) name_len;
	memcpy(out + REC_NAME, r->peer, name_len);
	put_u32(out + len - 4, wr_stun_crc32(out, len - 4));
	return len;
}

static bool
zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] != 0)
			return false;
	}
	return true;
}

int
wr_flow_record_decode(const uint8_t *buf, size_t len, WrFlowRecord *out, uint64_t *out_seq,
		      size_t *out_len)
{
	WrFlowRecord r;
	size_t rec_len, name_len;

	if (len < 4 || get_u32(buf + REC_MAGIC) != WR_FLOW_REC_MAGIC)
		return -ENOMSG;
	if (len < WR_FLOW_REC_MIN)
		return -EBADMSG;
	rec_len = get_u16(buf + REC_LEN);
	name_len = buf[REC_NAME_LEN];
	if (name_len > WR_FLOW_PEER_MAX || rec_len != WR_FLOW_REC_FIXED + name_len + 4 ||
	    rec_len > len)
		return -EBADMSG;
	if (get_u32(buf + rec_len - 4) != wr_stun_crc32(buf, rec_len - 4))
		return -EBADMSG;
	if (buf[REC_VERSION] != WR_FLOW_REC_VERSION)
		return -EBADMSG;

	memset(&r, 0, sizeof(r));
	switch (buf[REC_FAMILY]) {
	case 4:
		r.family = AF_INET;
		/* an IPv4 address is 4 bytes and 12 zeros: one spelling per flow */
		if (!zero(buf + REC_LOCAL + 4, 12) || !zero(buf + REC_REMOTE + 4, 12))
			return -EBADMSG;
		break;
	case 6:
		r.family = AF_INET6;
		break;
	default:
		return -EBADMSG;
	}
	r.proto = buf[REC_PROTO];
	r.path = buf[REC_PATH];
	r.end = buf[REC_END];
	r.flags = buf[REC_FLAGS];
	if (r.path >= WR_FLOW_N_PATHS || r.end >= WR_FLOW_N_ENDS || (r.flags & ~KNOWN_FLAGS) != 0)
		return -EBADMSG;
	r.lport = get_u16(buf + REC_LPORT);
	r.rport = get_u16(buf + REC_RPORT);
	memcpy(r.local, buf + REC_LOCAL, 16);
	memcpy(r.remote, buf + REC_REMOTE, 16);
	r.start = (int64_t) get_u64(buf + REC_START);
	r.end_time = (int64_t) get_u64(buf + REC_END_TIME);
	if (r.start < 0 || r.end_time < r.start)
		return -EBADMSG;
	r.tx_packets = get_u64(buf + REC_TX_PACKETS);
	r.tx_bytes = get_u64(buf + REC_TX_BYTES);
	r.rx_packets = get_u64(buf + REC_RX_PACKETS);
	r.rx_bytes = get_u64(buf + REC_RX_BYTES);
	r.peer_id = (int64_t) get_u64(buf + REC_PEER_ID);
	if (r.peer_id < 0)
		return -EBADMSG;
	if (memchr(buf + REC_NAME, '\0', name_len) != NULL ||
	    !g_utf8_validate((const char *) buf + REC_NAME, (gssize) name_len, NULL))
		return -EBADMSG;
	memcpy(r.peer, buf + REC_NAME, name_len);
	r.peer[name_len] = '\0';

	*out = r;
	*out_seq = get_u64(buf + REC_SEQ);
	*out_len = rec_len;
	return 0;
}

guint
wr_flow_ring_scan(const uint8_t *data, size_t len, WrFlowRingScanFunc func, gpointer user_data,
		  guint *out_damaged)
{
	guint found = 0, damaged = 0;
	size_t pos = 0;

	while (pos + 4 <= len) {
		WrFlowRecord r;
		uint64_t seq;
		size_t rec_len;
		int res = wr_flow_record_decode(data + pos, len - pos, &r, &seq, &rec_len);

		if (res == 0) {
			func(&r, seq, pos, rec_len, user_data);
			found++;
			pos += rec_len;
			continue;
		}
		if (res == -EBADMSG)
			damaged++;
		pos++;
	}
	if (out_damaged != NULL)
		*out_damaged = damaged;
	return found;
}

void
wr_flow_ring_header_encode(uint64_t size, uint8_t out[WR_FLOW_RING_HEADER_LEN])
{
	memset(out, 0, WR_FLOW_RING_HEADER_LEN);
	memcpy(out + HDR_MAGIC, WR_FLOW_RING_MAGIC, 8);
	put_u32(out + HDR_VERSION, WR_FLOW_RING_VERSION);
	put_u64(out + HDR_SIZE, size);
	put_u32(out + HDR_CRC, wr_stun_crc32(out, HDR_CRC));
}

int
wr_flow_ring_header_decode(const uint8_t *buf, size_t len, uint64_t *out_size)
{
	uint64_t size;

	if (len < WR_FLOW_RING_HEADER_LEN || memcmp(buf + HDR_MAGIC, WR_FLOW_RING_MAGIC, 8) != 0 ||
	    get_u32(buf + HDR_CRC) != wr_stun_crc32(buf, HDR_CRC))
		return -EBADMSG;
	if (get_u32(buf + HDR_VERSION) != WR_FLOW_RING_VERSION)
		return -EPROTONOSUPPORT;
	size = get_u64(buf + HDR_SIZE);
	if (size < WR_FLOW_RING_MIN_SIZE || size > WR_FLOW_RING_MAX_SIZE)
		return -ERANGE;
	*out_size = size;
	return 0;
}
