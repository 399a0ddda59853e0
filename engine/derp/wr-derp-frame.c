/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrDerpFrame"

#include "config.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "wr-derp-frame.h"

#define DERP_PEER_GONE_REASON_LEN   1
#define DERP_PEER_PRESENT_PORT_LEN  2
#define DERP_PEER_PRESENT_FLAGS_LEN 1

_Static_assert(sizeof(DERP_MAGIC) - 1 == DERP_MAGIC_LEN, "the magic is 8 bytes");
_Static_assert(DERP_PEER_PRESENT_LEN == 51, "the current server sends 51-byte PeerPresent");
_Static_assert(DERP_MAX_SERVER_WRITE_SIZE + DERP_FRAME_HEADER_LEN <= SSIZE_MAX,
	       "a frame's size fits the return value");

/*
 * A bounded reader over one buffer.  Every read either takes all it asks for and advances, or
 * takes nothing and leaves the cursor where it was; a parser that fails part-way rewinds to
 * its mark, so a failed parse never leaves the cursor inside a field.
 */
typedef struct {
	const uint8_t *p;
	size_t len;
	size_t off;
} Cursor;

static void
cursor_init(Cursor *c, const uint8_t *p, size_t len)
{
	c->p = p;
	c->len = len;
	c->off = 0;
}

static size_t
cursor_left(const Cursor *c)
{
	return c->len - c->off;
}

static bool
cursor_view(Cursor *c, size_t n, const uint8_t **out)
{
	if (cursor_left(c) < n)
		return false;
	*out = c->p + c->off;
	c->off += n;
	return true;
}

static bool
cursor_copy(Cursor *c, void *out, size_t n)
{
	const uint8_t *v;

	if (!cursor_view(c, n, &v))
		return false;
	memcpy(out, v, n);
	return true;
}

static bool
cursor_u8(Cursor *c, uint8_t *out)
{
	return cursor_copy(c, out, 1);
}

static bool
cursor_be16(Cursor *c, uint16_t *out)
{
	const uint8_t *v;

	if (!cursor_view(c, 2, &v))
		return false;
	*out = (uint16_t) ((v[0] << 8) | v[1]);
	return true;
}

static bool
cursor_be32(Cursor *c, uint32_t *out)
{
	const uint8_t *v;

	if (!cursor_view(c, 4, &v))
		return false;
	*out = ((uint32_t) v[0] << 24) | ((uint32_t) v[1] << 16) | ((uint32_t) v[2] << 8) |
	       (uint32_t) v[3];
	return true;
}

/* takes everything that is left, which may be nothing */
static size_t
cursor_rest(Cursor *c, const uint8_t **out)
{
	size_t n = cursor_left(c);

	*out = c->p + c->off;
	c->off = c->len;
	return n;
}

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) (v >> 24);
	p[1] = (uint8_t) (v >> 16);
	p[2] = (uint8_t) (v >> 8);
	p[3] = (uint8_t) v;
}

ssize_t
wr_derp_frame_decode(const uint8_t *buf, size_t len, uint32_t max_payload, WrDerpFrame *out_frame)
{
	Cursor c;
	WrDerpFrame frame;

	cursor_init(&c, buf, len);
	if (!cursor_u8(&c, &frame.type) || !cursor_be32(&c, &frame.len))
		return 0;
	if (frame.len > MIN(max_payload, (uint32_t) DERP_MAX_SERVER_WRITE_SIZE))
		return -EMSGSIZE;
	if (!cursor_view(&c, frame.len, &frame.payload))
		return 0;
	*out_frame = frame;
	return (ssize_t) c.off;
}

const char *
wr_derp_frame_type_to_string(uint8_t type)
{
	switch (type) {
	case DERP_FRAME_SERVER_KEY:
		return "ServerKey";
	case DERP_FRAME_CLIENT_INFO:
		return "ClientInfo";
	case DERP_FRAME_SERVER_INFO:
		return "ServerInfo";
	case DERP_FRAME_SEND_PACKET:
		return "SendPacket";
	case DERP_FRAME_RECV_PACKET:
		return "RecvPacket";
	case DERP_FRAME_KEEP_ALIVE:
		return "KeepAlive";
	case DERP_FRAME_NOTE_PREFERRED:
		return "NotePreferred";
	case DERP_FRAME_PEER_GONE:
		return "PeerGone";
	case DERP_FRAME_PEER_PRESENT:
		return "PeerPresent";
	case DERP_FRAME_FORWARD_PACKET:
		return "ForwardPacket";
	case DERP_FRAME_WATCH_CONNS:
		return "WatchConns";
	case DERP_FRAME_CLOSE_PEER:
		return "ClosePeer";
	case DERP_FRAME_PING:
		return "Ping";
	case DERP_FRAME_PONG:
		return "Pong";
	case DERP_FRAME_HEALTH:
		return "Health";
	case DERP_FRAME_RESTARTING:
		return "Restarting";
	default:
		return NULL;
	}
}

bool
wr_derp_frame_type_is_known(uint8_t type)
{
	return wr_derp_frame_type_to_string(type) != NULL;
}

int
wr_derp_parse_server_key(const uint8_t *payload, size_t len, uint8_t out_key[WR_KEY_LEN])
{
	const uint8_t *magic;
	uint8_t key[WR_KEY_LEN];
	Cursor c;

	cursor_init(&c, payload, len);
	if (len < DERP_SERVER_KEY_MIN_LEN)
		return -EBADMSG;
	if (!cursor_view(&c, DERP_MAGIC_LEN, &magic) || !cursor_copy(&c, key, sizeof(key)))
		return -EBADMSG;
	/* the magic is public: no need for a constant-time compare */
	if (memcmp(magic, DERP_MAGIC, DERP_MAGIC_LEN) != 0)
		return -EPROTO;
	/* newer servers may append bytes */
	memcpy(out_key, key, sizeof(key));
	return 0;
}

/* a box of nonce || sealed, taking all that is left in c */
static bool
parse_box(Cursor *c, WrDerpBox *box)
{
	size_t mark = c->off;

	if (!cursor_view(c, DERP_NONCE_LEN, &box->nonce)) {
		c->off = mark;
		return false;
	}
	box->sealed_len = cursor_rest(c, &box->sealed);
	return true;
}

int
wr_derp_parse_client_info(const uint8_t *payload, size_t len, WrDerpClientInfo *out_info)
{
	WrDerpClientInfo info;
	Cursor c;

	if (len > DERP_MAX_CLIENT_INFO_LEN)
		return -EMSGSIZE;
	cursor_init(&c, payload, len);
	if (!cursor_copy(&c, info.key, sizeof(info.key)) || !parse_box(&c, &info.box))
		return -EBADMSG;
	*out_info = info;
	return 0;
}

int
wr_derp_parse_server_info(const uint8_t *payload, size_t len, WrDerpBox *out_box)
{
	WrDerpBox box;
	Cursor c;

	if (len > DERP_MAX_SERVER_INFO_LEN)
		return -EMSGSIZE;
	cursor_init(&c, payload, len);
	if (!parse_box(&c, &box))
		return -EBADMSG;
	*out_box = box;
	return 0;
}

static int
parse_packet(const uint8_t *payload, size_t len, WrDerpPacket *out_packet)
{
	WrDerpPacket packet;
	Cursor c;

	cursor_init(&c, payload, len);
	if (!cursor_copy(&c, packet.key, sizeof(packet.key)))
		return -EBADMSG;
	if (cursor_left(&c) > DERP_MAX_PACKET_SIZE)
		return -EMSGSIZE;
	packet.len = cursor_rest(&c, &packet.data);
	*out_packet = packet;
	return 0;
}

int
wr_derp_parse_send_packet(const uint8_t *payload, size_t len, WrDerpPacket *out_packet)
{
	return parse_packet(payload, len, out_packet);
}

int
wr_derp_parse_recv_packet(const uint8_t *payload, size_t len, WrDerpPacket *out_packet)
{
	return parse_packet(payload, len, out_packet);
}

int
wr_derp_parse_keep_alive(const uint8_t *payload, size_t len)
{
	(void) payload;
	(void) len;
	return 0;
}

int
wr_derp_parse_note_preferred(const uint8_t *payload, size_t len, bool *out_preferred)
{
	if (len != DERP_NOTE_PREFERRED_LEN)
		return -EBADMSG;
	*out_preferred = payload[0] != 0;
	return 0;
}

int
wr_derp_parse_peer_gone(const uint8_t *payload, size_t len, WrDerpPeerGone *out_gone)
{
	WrDerpPeerGone gone;
	Cursor c;

	cursor_init(&c, payload, len);
	if (!cursor_copy(&c, gone.key, sizeof(gone.key)))
		return -EBADMSG;
	/* older servers leave the reason out */
	if (!cursor_u8(&c, &gone.reason))
		gone.reason = DERP_PEER_GONE_DISCONNECTED;
	*out_gone = gone;
	return 0;
}

int
wr_derp_parse_peer_present(const uint8_t *payload, size_t len, WrDerpPeerPresent *out_present)
{
	WrDerpPeerPresent present = {0};
	size_t mark;
	Cursor c;

	cursor_init(&c, payload, len);
	if (!cursor_copy(&c, present.key, sizeof(present.key)))
		return -EBADMSG;
	/* by the bytes present: 32, 50 or 51 (or more, from a newer server) */
	mark = c.off;
	if (cursor_copy(&c, present.ip, sizeof(present.ip)) && cursor_be16(&c, &present.port)) {
		present.has_addr = true;
		if (!cursor_u8(&c, &present.flags))
			present.flags = 0;
	} else {
		c.off = mark;
		memset(present.ip, 0, sizeof(present.ip));
		present.port = 0;
	}
	*out_present = present;
	return 0;
}

int
wr_derp_parse_forward_packet(const uint8_t *payload, size_t len, WrDerpForwardPacket *out_fwd)
{
	WrDerpForwardPacket fwd;
	Cursor c;

	cursor_init(&c, payload, len);
	if (!cursor_copy(&c, fwd.src_key, sizeof(fwd.src_key)) ||
	    !cursor_copy(&c, fwd.dst_key, sizeof(fwd.dst_key)))
		return -EBADMSG;
	if (cursor_left(&c) > DERP_MAX_PACKET_SIZE)
		return -EMSGSIZE;
	fwd.len = cursor_rest(&c, &fwd.data);
	*out_fwd = fwd;
	return 0;
}

int
wr_derp_parse_watch_conns(const uint8_t *payload, size_t len)
{
	(void) payload;
	return len == 0 ? 0 : -EBADMSG;
}

int
wr_derp_parse_close_peer(const uint8_t *payload, size_t len, uint8_t out_key[WR_KEY_LEN])
{
	if (len != DERP_CLOSE_PEER_LEN)
		return -EBADMSG;
	memcpy(out_key, payload, WR_KEY_LEN);
	return 0;
}

static int
parse_ping_data(const uint8_t *payload, size_t len, uint8_t out_data[DERP_PING_DATA_LEN])
{
	if (len < DERP_PING_DATA_LEN)
		return -EBADMSG;
	if (len > DERP_MAX_PING_LEN)
		return -EMSGSIZE;
	memcpy(out_data, payload, DERP_PING_DATA_LEN);
	return 0;
}

int
wr_derp_parse_ping(const uint8_t *payload, size_t len, uint8_t out_data[DERP_PING_DATA_LEN])
{
	return parse_ping_data(payload, len, out_data);
}

int
wr_derp_parse_pong(const uint8_t *payload, size_t len, uint8_t out_data[DERP_PING_DATA_LEN])
{
	return parse_ping_data(payload, len, out_data);
}

int
wr_derp_parse_health(const uint8_t *payload, size_t len, const char **out_text, size_t *out_len)
{
	if (len > DERP_MAX_FRAME_SIZE)
		return -EMSGSIZE;
	if (len > 0 && !g_utf8_validate((const char *) payload, (gssize) len, NULL))
		return -EILSEQ;
	*out_text = (const char *) payload;
	*out_len = len;
	return 0;
}

int
wr_derp_parse_restarting(const uint8_t *payload, size_t len, WrDerpRestarting *out_restarting)
{
	WrDerpRestarting restarting;
	Cursor c;

	cursor_init(&c, payload, len);
	if (!cursor_be32(&c, &restarting.reconnect_in_ms) ||
	    !cursor_be32(&c, &restarting.try_for_ms))
		return -EBADMSG;
	*out_restarting = restarting;
	return 0;
}

/* building */

int
wr_derp_write_header(uint8_t out[DERP_FRAME_HEADER_LEN], uint8_t type, size_t len)
{
	if (len > DERP_MAX_SERVER_WRITE_SIZE)
		return -EMSGSIZE;
	out[0] = type;
	put_be32(out + 1, (uint32_t) len);
	return 0;
}

/* grows out by one frame of payload_len and returns where the payload goes */
static uint8_t *
append_header(GByteArray *out, uint8_t type, size_t payload_len)
{
	size_t at = out->len;

	g_byte_array_set_size(out, (guint) (at + DERP_FRAME_HEADER_LEN + payload_len));
	(void) wr_derp_write_header(out->data + at, type, payload_len);
	return out->data + at + DERP_FRAME_HEADER_LEN;
}

/* the pieces of a payload, written one after the other; NULL pieces are skipped */
typedef struct {
	const uint8_t *p;
	size_t len;
} Piece;

static int
append_pieces(GByteArray *out, uint8_t type, const Piece *pieces, size_t n_pieces, size_t max_len)
{
	size_t total = 0;
	uint8_t *w;

	for (size_t i = 0; i < n_pieces; i++) {
		if (pieces[i].len > max_len - total)
			return -EMSGSIZE;
		total += pieces[i].len;
	}
	if (out->len > G_MAXUINT - DERP_FRAME_HEADER_LEN - total)
		return -ENOBUFS;
	w = append_header(out, type, total);
	for (size_t i = 0; i < n_pieces; i++) {
		if (pieces[i].len > 0)
			memcpy(w, pieces[i].p, pieces[i].len);
		w += pieces[i].len;
	}
	return 0;
}

int
wr_derp_append_frame(GByteArray *out, uint8_t type, const uint8_t *payload, size_t len)
{
	Piece pieces[] = {{payload, len}};

	return append_pieces(out, type, pieces, G_N_ELEMENTS(pieces), DERP_MAX_SERVER_WRITE_SIZE);
}

int
wr_derp_append_server_key(GByteArray *out, const uint8_t key[WR_KEY_LEN])
{
	Piece pieces[] = {{(const uint8_t *) DERP_MAGIC, DERP_MAGIC_LEN}, {key, WR_KEY_LEN}};

	return append_pieces(out, DERP_FRAME_SERVER_KEY, pieces, G_N_ELEMENTS(pieces),
			     DERP_SERVER_KEY_MIN_LEN);
}

int
wr_derp_append_client_info(GByteArray *out, const uint8_t key[WR_KEY_LEN],
			   const uint8_t nonce[DERP_NONCE_LEN], const uint8_t *sealed,
			   size_t sealed_len)
{
	Piece pieces[] = {{key, WR_KEY_LEN}, {nonce, DERP_NONCE_LEN}, {sealed, sealed_len}};

	return append_pieces(out, DERP_FRAME_CLIENT_INFO, pieces, G_N_ELEMENTS(pieces),
			     DERP_MAX_CLIENT_INFO_LEN);
}

int
wr_derp_append_server_info(GByteArray *out, const uint8_t nonce[DERP_NONCE_LEN],
			   const uint8_t *sealed, size_t sealed_len)
{
	Piece pieces[] = {{nonce, DERP_NONCE_LEN}, {sealed, sealed_len}};

	return append_pieces(out, DERP_FRAME_SERVER_INFO, pieces, G_N_ELEMENTS(pieces),
			     DERP_MAX_SERVER_INFO_LEN);
}

static int
append_packet(GByteArray *out, uint8_t type, const uint8_t *key1, const uint8_t *key2,
	      const uint8_t *data, size_t len)
{
	Piece pieces[] = {{key1, WR_KEY_LEN}, {key2, key2 != NULL ? WR_KEY_LEN : 0}, {data, len}};
	size_t keys_len = key2 != NULL ? 2 * WR_KEY_LEN : WR_KEY_LEN;

	return append_pieces(out, type, pieces, G_N_ELEMENTS(pieces),
			     keys_len + DERP_MAX_PACKET_SIZE);
}

int
wr_derp_append_send_packet(GByteArray *out, const uint8_t dst_key[WR_KEY_LEN], const uint8_t *data,
			   size_t len)
{
	return append_packet(out, DERP_FRAME_SEND_PACKET, dst_key, NULL, data, len);
}

int
wr_derp_append_recv_packet(GByteArray *out, const uint8_t src_key[WR_KEY_LEN], const uint8_t *data,
			   size_t len)
{
	return append_packet(out, DERP_FRAME_RECV_PACKET, src_key, NULL, data, len);
}

int
wr_derp_append_forward_packet(GByteArray *out, const uint8_t src_key[WR_KEY_LEN],
			      const uint8_t dst_key[WR_KEY_LEN], const uint8_t *data, size_t len)
{
	return append_packet(out, DERP_FRAME_FORWARD_PACKET, src_key, dst_key, data, len);
}

int
wr_derp_append_keep_alive(GByteArray *out)
{
	return append_pieces(out, DERP_FRAME_KEEP_ALIVE, NULL, 0, 0);
}

int
wr_derp_append_note_preferred(GByteArray *out, bool preferred)
{
	const uint8_t b = preferred ? 0x01 : 0x00;
	Piece pieces[] = {{&b, 1}};

	return append_pieces(out, DERP_FRAME_NOTE_PREFERRED, pieces, G_N_ELEMENTS(pieces),
			     DERP_NOTE_PREFERRED_LEN);
}

int
wr_derp_append_peer_gone(GByteArray *out, const uint8_t key[WR_KEY_LEN], uint8_t reason)
{
	Piece pieces[] = {{key, WR_KEY_LEN}, {&reason, DERP_PEER_GONE_REASON_LEN}};

	if (reason == DERP_PEER_GONE_MESH_CONN_BROKE)
		return -EINVAL;
	return append_pieces(out, DERP_FRAME_PEER_GONE, pieces, G_N_ELEMENTS(pieces),
			     DERP_PEER_GONE_LEN);
}

int
wr_derp_append_peer_present(GByteArray *out, const WrDerpPeerPresent *present)
{
	static const uint8_t zero_ip[DERP_PEER_PRESENT_IP_LEN] = {0};
	uint8_t port[DERP_PEER_PRESENT_PORT_LEN] = {0};
	Piece pieces[] = {
		{present->key, WR_KEY_LEN},
		{present->has_addr ? present->ip : zero_ip, DERP_PEER_PRESENT_IP_LEN},
		{port, sizeof(port)},
		{&present->flags, DERP_PEER_PRESENT_FLAGS_LEN},
	};

	if (present->has_addr) {
		port[0] = (uint8_t) (present->port >> 8);
		port[1] = (uint8_t) present->port;
	}
	return append_pieces(out, DERP_FRAME_PEER_PRESENT, pieces, G_N_ELEMENTS(pieces),
			     DERP_PEER_PRESENT_LEN);
}

int
wr_derp_append_watch_conns(GByteArray *out)
{
	return append_pieces(out, DERP_FRAME_WATCH_CONNS, NULL, 0, 0);
}

int
wr_derp_append_close_peer(GByteArray *out, const uint8_t key[WR_KEY_LEN])
{
	Piece pieces[] = {{key, WR_KEY_LEN}};

	return append_pieces(out, DERP_FRAME_CLOSE_PEER, pieces, G_N_ELEMENTS(pieces),
			     DERP_CLOSE_PEER_LEN);
}

int
wr_derp_append_ping(GByteArray *out, const uint8_t data[DERP_PING_DATA_LEN])
{
	Piece pieces[] = {{data, DERP_PING_DATA_LEN}};

	return append_pieces(out, DERP_FRAME_PING, pieces, G_N_ELEMENTS(pieces),
			     DERP_PING_DATA_LEN);
}

int
wr_derp_append_pong(GByteArray *out, const uint8_t data[DERP_PING_DATA_LEN])
{
	Piece pieces[] = {{data, DERP_PING_DATA_LEN}};

	return append_pieces(out, DERP_FRAME_PONG, pieces, G_N_ELEMENTS(pieces),
			     DERP_PING_DATA_LEN);
}

int
wr_derp_append_health(GByteArray *out, const char *text, size_t len)
{
	Piece pieces[] = {{(const uint8_t *) text, len}};

	if (len > DERP_MAX_FRAME_SIZE)
		return -EMSGSIZE;
	if (len > 0 && !g_utf8_validate(text, (gssize) len, NULL))
		return -EILSEQ;
	return append_pieces(out, DERP_FRAME_HEALTH, pieces, G_N_ELEMENTS(pieces),
			     DERP_MAX_FRAME_SIZE);
}

int
wr_derp_append_restarting(GByteArray *out, uint32_t reconnect_in_ms, uint32_t try_for_ms)
{
	uint8_t body[DERP_RESTARTING_LEN];
	Piece pieces[] = {{body, sizeof(body)}};

	put_be32(body, reconnect_in_ms);
	put_be32(body + 4, try_for_ms);
	return append_pieces(out, DERP_FRAME_RESTARTING, pieces, G_N_ELEMENTS(pieces),
			     DERP_RESTARTING_LEN);
}

static ssize_t
write_packet(uint8_t *buf, size_t buf_len, uint8_t type, const uint8_t *key1, const uint8_t *key2,
	     const uint8_t *data, size_t len)
{
	size_t keys_len = key2 != NULL ? 2 * WR_KEY_LEN : WR_KEY_LEN;
	size_t total;

	if (len > DERP_MAX_PACKET_SIZE)
		return -EMSGSIZE;
	total = DERP_FRAME_HEADER_LEN + keys_len + len;
	if (buf_len < total)
		return -ENOBUFS;
	/* the data first: it may already sit in buf, where the frame puts it */
	if (len > 0)
		memmove(buf + DERP_FRAME_HEADER_LEN + keys_len, data, len);
	(void) wr_derp_write_header(buf, type, keys_len + len);
	memcpy(buf + DERP_FRAME_HEADER_LEN, key1, WR_KEY_LEN);
	if (key2 != NULL)
		memcpy(buf + DERP_FRAME_HEADER_LEN + WR_KEY_LEN, key2, WR_KEY_LEN);
	return (ssize_t) total;
}

ssize_t
wr_derp_write_send_packet(uint8_t *buf, size_t buf_len, const uint8_t dst_key[WR_KEY_LEN],
			  const uint8_t *data, size_t len)
{
	return write_packet(buf, buf_len, DERP_FRAME_SEND_PACKET, dst_key, NULL, data, len);
}

ssize_t
wr_derp_write_recv_packet(uint8_t *buf, size_t buf_len, const uint8_t src_key[WR_KEY_LEN],
			  const uint8_t *data, size_t len)
{
	return write_packet(buf, buf_len, DERP_FRAME_RECV_PACKET, src_key, NULL, data, len);
}

ssize_t
wr_derp_write_forward_packet(uint8_t *buf, size_t buf_len, const uint8_t src_key[WR_KEY_LEN],
			     const uint8_t dst_key[WR_KEY_LEN], const uint8_t *data, size_t len)
{
	return write_packet(buf, buf_len, DERP_FRAME_FORWARD_PACKET, src_key, dst_key, data, len);
}
