/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The DERP frame codec against annotated frames written from the protocol notes
 * (docs/protocols/derp-disco-stun.md §2.5, §2.7): every builder must produce exactly these
 * bytes, the decoder and the typed parsers must read them back, and every truncation,
 * oversize length and malformed body must be refused with the errno the header promises.
 */

#define G_LOG_DOMAIN "WrDerpFrameTest"

#include "config.h"

#include <errno.h>
#include <glib.h>
#include <string.h>

#include "wr-crypto.h"
#include "wr-derp-frame.h"

#define REP4(x)	 x, x, x, x
#define REP8(x)	 REP4(x), REP4(x)
#define REP16(x) REP8(x), REP8(x)
#define REP24(x) REP16(x), REP8(x)
#define REP32(x) REP16(x), REP16(x)

static const uint8_t key_a[WR_KEY_LEN] = {REP32(0xA1)};
static const uint8_t key_b[WR_KEY_LEN] = {REP32(0xB2)};
static const uint8_t nonce_n[DERP_NONCE_LEN] = {REP24(0x4E)};
/* a tag and three bytes of ciphertext: opaque to the codec */
static const uint8_t sealed_s[] = {REP16(0x7A), 0x01, 0x02, 0x03};
static const uint8_t ping_data[DERP_PING_DATA_LEN] = {1, 2, 3, 4, 5, 6, 7, 8};
static const uint8_t payload_p[] = {0xde, 0xad, 0xbe, 0xef};

static const uint8_t f_server_key[] = {
	/* type */ 0x01,
	/* len */ 0x00,
	0x00,
	0x00,
	0x28,
	/* magic "DERP🔑" */ 0x44,
	0x45,
	0x52,
	0x50,
	0xF0,
	0x9F,
	0x94,
	0x91,
	/* server key */ REP32(0xA1),
};
static const uint8_t f_client_info[] = {
	/* type */ 0x02,
	/* len: 32 + 24 + 19 */ 0x00,
	0x00,
	0x00,
	0x4B,
	/* client key */ REP32(0xA1),
	/* nonce */ REP24(0x4E),
	/* tag */ REP16(0x7A),
	/* ciphertext */ 0x01,
	0x02,
	0x03,
};
static const uint8_t f_server_info[] = {
	/* type */ 0x03,
	/* len: 24 + 19 */ 0x00, 0x00, 0x00, 0x2B,
	/* nonce */ REP24(0x4E),
	/* tag */ REP16(0x7A),
	/* ciphertext */ 0x01,	 0x02, 0x03,
};
static const uint8_t f_send_packet[] = {
	/* type */ 0x04,
	/* len: 32 + 4 */ 0x00,
	0x00,
	0x00,
	0x24,
	/* destination key */ REP32(0xB2),
	/* packet */ 0xde,
	0xad,
	0xbe,
	0xef,
};
static const uint8_t f_recv_packet[] = {
	/* type */ 0x05,
	/* len: 32 + 4 */ 0x00,
	0x00,
	0x00,
	0x24,
	/* source key */ REP32(0xA1),
	/* packet */ 0xde,
	0xad,
	0xbe,
	0xef,
};
static const uint8_t f_keep_alive[] = {
	/* type */ 0x06,
	/* len */ 0x00,	 0x00, 0x00, 0x00,
};
static const uint8_t f_note_preferred[] = {
	/* type */ 0x07,
	/* len */ 0x00,	      0x00, 0x00, 0x01,
	/* preferred */ 0x01,
};
static const uint8_t f_peer_gone[] = {
	/* type */ 0x08,
	/* len */ 0x00,
	0x00,
	0x00,
	0x21,
	/* peer key */ REP32(0xB2),
	/* reason: NotHere */ 0x01,
};
static const uint8_t f_peer_present[] = {
	/* type */ 0x09,
	/* len: 32 + 16 + 2 + 1 */ 0x00,
	0x00,
	0x00,
	0x33,
	/* peer key */ REP32(0xB2),
	/* ip ::ffff:192.0.2.1 */ 0x00,
	0x00,
	0x00,
	0x00,
	0x00,
	0x00,
	0x00,
	0x00,
	0x00,
	0x00,
	0xff,
	0xff,
	0xc0,
	0x00,
	0x02,
	0x01,
	/* port 41641 */ 0xa2,
	0xa9,
	/* flags: regular client */ 0x01,
};
static const uint8_t f_forward_packet[] = {
	/* type */ 0x0A,
	/* len: 32 + 32 + 4 */ 0x00,
	0x00,
	0x00,
	0x44,
	/* source key */ REP32(0xA1),
	/* destination key */ REP32(0xB2),
	/* packet */ 0xde,
	0xad,
	0xbe,
	0xef,
};
static const uint8_t f_watch_conns[] = {
	/* type */ 0x10,
	/* len */ 0x00,	 0x00, 0x00, 0x00,
};
static const uint8_t f_close_peer[] = {
	/* type */ 0x11,
	/* len */ 0x00,
	0x00,
	0x00,
	0x20,
	/* peer key */ REP32(0xB2),
};
static const uint8_t f_ping[] = {
	/* type */ 0x12,
	/* len */ 0x00,	 0x00, 0x00, 0x08,
	/* data */ 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
};
static const uint8_t f_pong[] = {
	/* type */ 0x13,
	/* len */ 0x00,	 0x00, 0x00, 0x08,
	/* data */ 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
};
static const uint8_t f_health[] = {
	/* type */ 0x14,
	/* len */ 0x00,		0x00, 0x00, 0x0a,
	/* "dup client" */ 'd', 'u',  'p',  ' ',  'c', 'l', 'i', 'e', 'n', 't',
};
static const uint8_t f_restarting[] = {
	/* type */ 0x15,
	/* len */ 0x00,
	0x00,
	0x00,
	0x08,
	/* reconnect_in_ms 5000 */ 0x00,
	0x00,
	0x13,
	0x88,
	/* try_for_ms 300000 */ 0x00,
	0x04,
	0x93,
	0xe0,
};

static int
build_server_key(GByteArray *out)
{
	return wr_derp_append_server_key(out, key_a);
}

static int
build_client_info(GByteArray *out)
{
	return wr_derp_append_client_info(out, key_a, nonce_n, sealed_s, sizeof(sealed_s));
}

static int
build_server_info(GByteArray *out)
{
	return wr_derp_append_server_info(out, nonce_n, sealed_s, sizeof(sealed_s));
}

static int
build_send_packet(GByteArray *out)
{
	return wr_derp_append_send_packet(out, key_b, payload_p, sizeof(payload_p));
}

static int
build_recv_packet(GByteArray *out)
{
	return wr_derp_append_recv_packet(out, key_a, payload_p, sizeof(payload_p));
}

static int
build_note_preferred(GByteArray *out)
{
	return wr_derp_append_note_preferred(out, true);
}

static int
build_peer_gone(GByteArray *out)
{
	return wr_derp_append_peer_gone(out, key_b, DERP_PEER_GONE_NOT_HERE);
}

static int
build_peer_present(GByteArray *out)
{
	WrDerpPeerPresent p = {
		.has_addr = true,
		.ip = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1},
		.port = 41641,
		.flags = DERP_PEER_PRESENT_IS_REGULAR,
	};

	memcpy(p.key, key_b, WR_KEY_LEN);
	return wr_derp_append_peer_present(out, &p);
}

static int
build_forward_packet(GByteArray *out)
{
	return wr_derp_append_forward_packet(out, key_a, key_b, payload_p, sizeof(payload_p));
}

static int
build_close_peer(GByteArray *out)
{
	return wr_derp_append_close_peer(out, key_b);
}

static int
build_ping(GByteArray *out)
{
	return wr_derp_append_ping(out, ping_data);
}

static int
build_pong(GByteArray *out)
{
	return wr_derp_append_pong(out, ping_data);
}

static int
build_health(GByteArray *out)
{
	return wr_derp_append_health(out, "dup client", 10);
}

static int
build_restarting(GByteArray *out)
{
	return wr_derp_append_restarting(out, 5000, 300000);
}

/* checks the typed parse of the frame's body against the values the builder was given */
static void
check_server_key(const WrDerpFrame *f)
{
	uint8_t key[WR_KEY_LEN];

	g_assert_cmpint(wr_derp_parse_server_key(f->payload, f->len, key), ==, 0);
	g_assert_cmpmem(key, sizeof(key), key_a, sizeof(key_a));
}

static void
check_client_info(const WrDerpFrame *f)
{
	WrDerpClientInfo info;

	g_assert_cmpint(wr_derp_parse_client_info(f->payload, f->len, &info), ==, 0);
	g_assert_cmpmem(info.key, sizeof(info.key), key_a, sizeof(key_a));
	g_assert_true(info.box.nonce == f->payload + WR_KEY_LEN);
	g_assert_cmpmem(info.box.nonce, DERP_NONCE_LEN, nonce_n, sizeof(nonce_n));
	g_assert_cmpmem(info.box.sealed, info.box.sealed_len, sealed_s, sizeof(sealed_s));
}

static void
check_server_info(const WrDerpFrame *f)
{
	WrDerpBox box;

	g_assert_cmpint(wr_derp_parse_server_info(f->payload, f->len, &box), ==, 0);
	g_assert_true(box.nonce == f->payload);
	g_assert_cmpmem(box.nonce, DERP_NONCE_LEN, nonce_n, sizeof(nonce_n));
	g_assert_cmpmem(box.sealed, box.sealed_len, sealed_s, sizeof(sealed_s));
}

static void
check_send_packet(const WrDerpFrame *f)
{
	WrDerpPacket p;

	g_assert_cmpint(wr_derp_parse_send_packet(f->payload, f->len, &p), ==, 0);
	g_assert_cmpmem(p.key, sizeof(p.key), key_b, sizeof(key_b));
	g_assert_true(p.data == f->payload + WR_KEY_LEN);
	g_assert_cmpmem(p.data, p.len, payload_p, sizeof(payload_p));
}

static void
check_recv_packet(const WrDerpFrame *f)
{
	WrDerpPacket p;

	g_assert_cmpint(wr_derp_parse_recv_packet(f->payload, f->len, &p), ==, 0);
	g_assert_cmpmem(p.key, sizeof(p.key), key_a, sizeof(key_a));
	g_assert_cmpmem(p.data, p.len, payload_p, sizeof(payload_p));
}

static void
check_keep_alive(const WrDerpFrame *f)
{
	g_assert_cmpint(wr_derp_parse_keep_alive(f->payload, f->len), ==, 0);
}

static void
check_note_preferred(const WrDerpFrame *f)
{
	bool preferred = false;

	g_assert_cmpint(wr_derp_parse_note_preferred(f->payload, f->len, &preferred), ==, 0);
	g_assert_true(preferred);
}

static void
check_peer_gone(const WrDerpFrame *f)
{
	WrDerpPeerGone g;

	g_assert_cmpint(wr_derp_parse_peer_gone(f->payload, f->len, &g), ==, 0);
	g_assert_cmpmem(g.key, sizeof(g.key), key_b, sizeof(key_b));
	g_assert_cmpuint(g.reason, ==, DERP_PEER_GONE_NOT_HERE);
}

static void
check_peer_present(const WrDerpFrame *f)
{
	static const uint8_t ip[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1};
	WrDerpPeerPresent p;

	g_assert_cmpint(wr_derp_parse_peer_present(f->payload, f->len, &p), ==, 0);
	g_assert_cmpmem(p.key, sizeof(p.key), key_b, sizeof(key_b));
	g_assert_true(p.has_addr);
	g_assert_cmpmem(p.ip, sizeof(p.ip), ip, sizeof(ip));
	g_assert_cmpuint(p.port, ==, 41641);
	g_assert_cmpuint(p.flags, ==, DERP_PEER_PRESENT_IS_REGULAR);
}

static void
check_forward_packet(const WrDerpFrame *f)
{
	WrDerpForwardPacket p;

	g_assert_cmpint(wr_derp_parse_forward_packet(f->payload, f->len, &p), ==, 0);
	g_assert_cmpmem(p.src_key, sizeof(p.src_key), key_a, sizeof(key_a));
	g_assert_cmpmem(p.dst_key, sizeof(p.dst_key), key_b, sizeof(key_b));
	g_assert_cmpmem(p.data, p.len, payload_p, sizeof(payload_p));
}

static void
check_watch_conns(const WrDerpFrame *f)
{
	g_assert_cmpint(wr_derp_parse_watch_conns(f->payload, f->len), ==, 0);
}

static void
check_close_peer(const WrDerpFrame *f)
{
	uint8_t key[WR_KEY_LEN];

	g_assert_cmpint(wr_derp_parse_close_peer(f->payload, f->len, key), ==, 0);
	g_assert_cmpmem(key, sizeof(key), key_b, sizeof(key_b));
}

static void
check_ping(const WrDerpFrame *f)
{
	uint8_t data[DERP_PING_DATA_LEN];

	g_assert_cmpint(wr_derp_parse_ping(f->payload, f->len, data), ==, 0);
	g_assert_cmpmem(data, sizeof(data), ping_data, sizeof(ping_data));
}

static void
check_pong(const WrDerpFrame *f)
{
	uint8_t data[DERP_PING_DATA_LEN];

	g_assert_cmpint(wr_derp_parse_pong(f->payload, f->len, data), ==, 0);
	g_assert_cmpmem(data, sizeof(data), ping_data, sizeof(ping_data));
}

static void
check_health(const WrDerpFrame *f)
{
	const char *text = NULL;
	size_t len = 0;

	g_assert_cmpint(wr_derp_parse_health(f->payload, f->len, &text, &len), ==, 0);
	g_assert_cmpmem(text, len, "dup client", 10);
}

static void
check_restarting(const WrDerpFrame *f)
{
	WrDerpRestarting r;

	g_assert_cmpint(wr_derp_parse_restarting(f->payload, f->len, &r), ==, 0);
	g_assert_cmpuint(r.reconnect_in_ms, ==, 5000);
	g_assert_cmpuint(r.try_for_ms, ==, 300000);
}

typedef struct {
	uint8_t type;
	const uint8_t *bytes;
	size_t len;
	int (*build)(GByteArray *out);
	void (*check)(const WrDerpFrame *f);
} Vector;

#define V(t, arr, b, c)                   \
	{                                 \
		t, arr, sizeof(arr), b, c \
	}

static const Vector vectors[] = {
	V(DERP_FRAME_SERVER_KEY, f_server_key, build_server_key, check_server_key),
	V(DERP_FRAME_CLIENT_INFO, f_client_info, build_client_info, check_client_info),
	V(DERP_FRAME_SERVER_INFO, f_server_info, build_server_info, check_server_info),
	V(DERP_FRAME_SEND_PACKET, f_send_packet, build_send_packet, check_send_packet),
	V(DERP_FRAME_RECV_PACKET, f_recv_packet, build_recv_packet, check_recv_packet),
	V(DERP_FRAME_KEEP_ALIVE, f_keep_alive, wr_derp_append_keep_alive, check_keep_alive),
	V(DERP_FRAME_NOTE_PREFERRED, f_note_preferred, build_note_preferred, check_note_preferred),
	V(DERP_FRAME_PEER_GONE, f_peer_gone, build_peer_gone, check_peer_gone),
	V(DERP_FRAME_PEER_PRESENT, f_peer_present, build_peer_present, check_peer_present),
	V(DERP_FRAME_FORWARD_PACKET, f_forward_packet, build_forward_packet, check_forward_packet),
	V(DERP_FRAME_WATCH_CONNS, f_watch_conns, wr_derp_append_watch_conns, check_watch_conns),
	V(DERP_FRAME_CLOSE_PEER, f_close_peer, build_close_peer, check_close_peer),
	V(DERP_FRAME_PING, f_ping, build_ping, check_ping),
	V(DERP_FRAME_PONG, f_pong, build_pong, check_pong),
	V(DERP_FRAME_HEALTH, f_health, build_health, check_health),
	V(DERP_FRAME_RESTARTING, f_restarting, build_restarting, check_restarting),
};

/* every builder writes exactly the annotated bytes, after whatever the array held */
static void
test_build(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(vectors); i++) {
		const Vector *v = &vectors[i];
		g_autoptr(GByteArray) out = g_byte_array_new();
		static const uint8_t prefix[] = {0x99, 0x98};

		g_test_message("vector %zu: %s", i, wr_derp_frame_type_to_string(v->type));
		g_byte_array_append(out, prefix, sizeof(prefix));
		g_assert_cmpint(v->build(out), ==, 0);
		g_assert_cmpmem(out->data, sizeof(prefix), prefix, sizeof(prefix));
		g_assert_cmpmem(out->data + sizeof(prefix), out->len - sizeof(prefix), v->bytes,
				v->len);
	}
}

/* the decoder finds each frame whole and the typed parser reads the builder's values back */
static void
test_parse(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(vectors); i++) {
		const Vector *v = &vectors[i];
		WrDerpFrame f;

		g_test_message("vector %zu: %s", i, wr_derp_frame_type_to_string(v->type));
		g_assert_cmpint(wr_derp_frame_decode(v->bytes, v->len, DERP_MAX_FRAME_SIZE, &f), ==,
				(ssize_t) v->len);
		g_assert_cmpuint(f.type, ==, v->type);
		g_assert_true(wr_derp_frame_type_is_known(f.type));
		g_assert_cmpuint(f.len, ==, v->len - DERP_FRAME_HEADER_LEN);
		g_assert_true(f.payload == v->bytes + DERP_FRAME_HEADER_LEN);
		v->check(&f);
	}
}

/* every strict prefix of every frame is "need more", and out_frame is left alone */
static void
test_truncated(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(vectors); i++) {
		const Vector *v = &vectors[i];

		for (size_t n = 0; n < v->len; n++) {
			WrDerpFrame f = {.type = 0xEE, .len = 0xEEEEEEEE, .payload = NULL};
			/* a copy of exactly n bytes, so ASan sees any read past the prefix */
			g_autofree uint8_t *copy = g_memdup2(v->bytes, n);

			g_assert_cmpint(wr_derp_frame_decode(copy, n, DERP_MAX_FRAME_SIZE, &f), ==,
					0);
			g_assert_cmpuint(f.type, ==, 0xEE);
			g_assert_cmpuint(f.len, ==, 0xEEEEEEEE);
			g_assert_null(f.payload);
		}
	}
}

/* all frames back to back, with an unknown type between them, are read in order */
static void
test_stream(void)
{
	static const uint8_t unknown[] = {
		/* type: unused */ 0x0B,
		/* len */ 0x00,		 0x00, 0x00, 0x03,
		/* whatever */ 0x01,	 0x02, 0x03,
	};
	g_autoptr(GByteArray) stream = g_byte_array_new();
	size_t off = 0;

	for (size_t i = 0; i < G_N_ELEMENTS(vectors); i++) {
		g_byte_array_append(stream, vectors[i].bytes, (guint) vectors[i].len);
		g_byte_array_append(stream, unknown, sizeof(unknown));
	}
	for (size_t i = 0; i < G_N_ELEMENTS(vectors); i++) {
		WrDerpFrame f;
		ssize_t n;

		n = wr_derp_frame_decode(stream->data + off, stream->len - off, DERP_MAX_FRAME_SIZE,
					 &f);
		g_assert_cmpint(n, ==, (ssize_t) vectors[i].len);
		g_assert_cmpuint(f.type, ==, vectors[i].type);
		vectors[i].check(&f);
		off += (size_t) n;

		/* not an error: skipped by its length */
		n = wr_derp_frame_decode(stream->data + off, stream->len - off, DERP_MAX_FRAME_SIZE,
					 &f);
		g_assert_cmpint(n, ==, (ssize_t) sizeof(unknown));
		g_assert_cmpuint(f.type, ==, 0x0B);
		g_assert_false(wr_derp_frame_type_is_known(f.type));
		g_assert_null(wr_derp_frame_type_to_string(f.type));
		g_assert_cmpuint(f.len, ==, 3);
		off += (size_t) n;
	}
	g_assert_cmpuint(off, ==, stream->len);
	for (unsigned int t = 0; t <= 0xff; t++) {
		bool known = (t >= 0x01 && t <= 0x0A) || (t >= 0x10 && t <= 0x15);

		g_assert_cmpint(wr_derp_frame_type_is_known((uint8_t) t), ==, known);
	}
}

/* the header alone is enough to refuse a frame above the caller's limit */
static void
test_oversize(void)
{
	struct {
		uint8_t hdr[DERP_FRAME_HEADER_LEN];
		uint32_t max;
		ssize_t expect;
	} rows[] = {
		/* 1 MiB + 1, client limit */
		{{0x05, 0x00, 0x10, 0x00, 0x01}, DERP_MAX_FRAME_SIZE, -EMSGSIZE},
		/* exactly 1 MiB, but only the header is here yet */
		{{0x05, 0x00, 0x10, 0x00, 0x00}, DERP_MAX_FRAME_SIZE, 0},
		/* the greeting: a ServerKey frame above 1 KiB */
		{{0x01, 0x00, 0x00, 0x04, 0x01}, DERP_MAX_SERVER_KEY_FRAME_SIZE, -EMSGSIZE},
		{{0x01, 0x00, 0x00, 0x04, 0x00}, DERP_MAX_SERVER_KEY_FRAME_SIZE, 0},
		/* a length that would wrap a 32-bit sum, with no caller limit: clamped to 10 MiB */
		{{0x04, 0xff, 0xff, 0xff, 0xff}, UINT32_MAX, -EMSGSIZE},
		{{0x04, 0x00, 0xa0, 0x00, 0x01}, UINT32_MAX, -EMSGSIZE},
		{{0x04, 0x00, 0xa0, 0x00, 0x00}, UINT32_MAX, 0},
		/* an unknown type is held to the same limit */
		{{0xff, 0x00, 0x10, 0x00, 0x01}, DERP_MAX_FRAME_SIZE, -EMSGSIZE},
		/* a zero limit still passes empty frames */
		{{0x06, 0x00, 0x00, 0x00, 0x01}, 0, -EMSGSIZE},
		{{0x06, 0x00, 0x00, 0x00, 0x00}, 0, DERP_FRAME_HEADER_LEN},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
		WrDerpFrame f = {.type = 0xEE};

		g_test_message("row %zu", i);
		g_assert_cmpint(
			wr_derp_frame_decode(rows[i].hdr, sizeof(rows[i].hdr), rows[i].max, &f), ==,
			rows[i].expect);
		if (rows[i].expect <= 0)
			g_assert_cmpuint(f.type, ==, 0xEE);
	}

	/* exactly at the limit, whole: accepted */
	{
		g_autofree uint8_t *buf = g_malloc0(DERP_FRAME_HEADER_LEN + 1024);
		WrDerpFrame f;

		g_assert_cmpint(wr_derp_write_header(buf, DERP_FRAME_SERVER_KEY, 1024), ==, 0);
		g_assert_cmpint(wr_derp_frame_decode(buf, DERP_FRAME_HEADER_LEN + 1024,
						     DERP_MAX_SERVER_KEY_FRAME_SIZE, &f),
				==, DERP_FRAME_HEADER_LEN + 1024);
		g_assert_cmpuint(f.len, ==, 1024);
	}
}

static void
test_server_key_magic(void)
{
	uint8_t body[DERP_SERVER_KEY_MIN_LEN + 3];
	uint8_t key[WR_KEY_LEN];
	uint8_t sentinel[WR_KEY_LEN];

	memcpy(body, f_server_key + DERP_FRAME_HEADER_LEN, DERP_SERVER_KEY_MIN_LEN);
	memset(body + DERP_SERVER_KEY_MIN_LEN, 0x33, 3);

	/* each magic byte matters */
	for (size_t i = 0; i < DERP_MAGIC_LEN; i++) {
		body[i] ^= 0x20;
		memset(key, 0x5C, sizeof(key));
		memset(sentinel, 0x5C, sizeof(sentinel));
		g_assert_cmpint(wr_derp_parse_server_key(body, DERP_SERVER_KEY_MIN_LEN, key), ==,
				-EPROTO);
		g_assert_cmpmem(key, sizeof(key), sentinel, sizeof(sentinel));
		body[i] ^= 0x20;
	}
	/* too short, even by one */
	g_assert_cmpint(wr_derp_parse_server_key(body, DERP_SERVER_KEY_MIN_LEN - 1, key), ==,
			-EBADMSG);
	g_assert_cmpint(wr_derp_parse_server_key(body, DERP_MAGIC_LEN, key), ==, -EBADMSG);
	g_assert_cmpint(wr_derp_parse_server_key(body, 0, key), ==, -EBADMSG);
	/* a newer server's extra bytes are ignored */
	g_assert_cmpint(wr_derp_parse_server_key(body, sizeof(body), key), ==, 0);
	g_assert_cmpmem(key, sizeof(key), key_a, sizeof(key_a));
}

typedef enum {
	P_SERVER_KEY,
	P_CLIENT_INFO,
	P_SERVER_INFO,
	P_SEND_PACKET,
	P_RECV_PACKET,
	P_NOTE_PREFERRED,
	P_PEER_GONE,
	P_PEER_PRESENT,
	P_FORWARD_PACKET,
	P_WATCH_CONNS,
	P_CLOSE_PEER,
	P_PING,
	P_PONG,
	P_RESTARTING,
	P_KEEP_ALIVE,
	P_HEALTH,
} Parser;

/* runs one typed parser over len bytes of buf */
static int
run_parser(Parser p, const uint8_t *buf, size_t len)
{
	union {
		uint8_t key[WR_KEY_LEN];
		WrDerpClientInfo ci;
		WrDerpBox box;
		WrDerpPacket pkt;
		WrDerpForwardPacket fwd;
		WrDerpPeerGone gone;
		WrDerpPeerPresent present;
		WrDerpRestarting restarting;
		uint8_t ping[DERP_PING_DATA_LEN];
		bool b;
	} out;
	const char *text;
	size_t text_len;

	switch (p) {
	case P_SERVER_KEY:
		return wr_derp_parse_server_key(buf, len, out.key);
	case P_CLIENT_INFO:
		return wr_derp_parse_client_info(buf, len, &out.ci);
	case P_SERVER_INFO:
		return wr_derp_parse_server_info(buf, len, &out.box);
	case P_SEND_PACKET:
		return wr_derp_parse_send_packet(buf, len, &out.pkt);
	case P_RECV_PACKET:
		return wr_derp_parse_recv_packet(buf, len, &out.pkt);
	case P_NOTE_PREFERRED:
		return wr_derp_parse_note_preferred(buf, len, &out.b);
	case P_PEER_GONE:
		return wr_derp_parse_peer_gone(buf, len, &out.gone);
	case P_PEER_PRESENT:
		return wr_derp_parse_peer_present(buf, len, &out.present);
	case P_FORWARD_PACKET:
		return wr_derp_parse_forward_packet(buf, len, &out.fwd);
	case P_WATCH_CONNS:
		return wr_derp_parse_watch_conns(buf, len);
	case P_CLOSE_PEER:
		return wr_derp_parse_close_peer(buf, len, out.key);
	case P_PING:
		return wr_derp_parse_ping(buf, len, out.ping);
	case P_PONG:
		return wr_derp_parse_pong(buf, len, out.ping);
	case P_RESTARTING:
		return wr_derp_parse_restarting(buf, len, &out.restarting);
	case P_KEEP_ALIVE:
		return wr_derp_parse_keep_alive(buf, len);
	case P_HEALTH:
		return wr_derp_parse_health(buf, len, &text, &text_len);
	}
	g_assert_not_reached();
}

/* lengths at and around each limit of §2.7 */
static void
test_body_lengths(void)
{
	static const struct {
		Parser p;
		size_t len;
		int expect;
	} rows[] = {
		{P_SERVER_KEY, 39, -EBADMSG},
		{P_CLIENT_INFO, 0, -EBADMSG},
		{P_CLIENT_INFO, 55, -EBADMSG},
		{P_CLIENT_INFO, 56, 0},
		{P_CLIENT_INFO, 256 * 1024, 0},
		{P_CLIENT_INFO, 256 * 1024 + 1, -EMSGSIZE},
		{P_SERVER_INFO, 23, -EBADMSG},
		{P_SERVER_INFO, 24, 0},
		{P_SERVER_INFO, 24 + 1024 * 1024, 0},
		{P_SERVER_INFO, 24 + 1024 * 1024 + 1, -EMSGSIZE},
		{P_SEND_PACKET, 0, -EBADMSG},
		{P_SEND_PACKET, 31, -EBADMSG},
		{P_SEND_PACKET, 32, 0},
		{P_SEND_PACKET, 32 + 65536, 0},
		{P_SEND_PACKET, 32 + 65537, -EMSGSIZE},
		{P_RECV_PACKET, 31, -EBADMSG},
		{P_RECV_PACKET, 32, 0},
		{P_RECV_PACKET, 32 + 65536, 0},
		{P_RECV_PACKET, 32 + 65537, -EMSGSIZE},
		{P_NOTE_PREFERRED, 0, -EBADMSG},
		{P_NOTE_PREFERRED, 1, 0},
		{P_NOTE_PREFERRED, 2, -EBADMSG},
		{P_PEER_GONE, 31, -EBADMSG},
		{P_PEER_GONE, 32, 0},
		{P_PEER_GONE, 33, 0},
		{P_PEER_GONE, 40, 0},
		{P_PEER_PRESENT, 0, -EBADMSG},
		{P_PEER_PRESENT, 31, -EBADMSG},
		{P_PEER_PRESENT, 32, 0},
		{P_PEER_PRESENT, 41, 0},
		{P_PEER_PRESENT, 50, 0},
		{P_PEER_PRESENT, 51, 0},
		{P_PEER_PRESENT, 80, 0},
		{P_FORWARD_PACKET, 32, -EBADMSG},
		{P_FORWARD_PACKET, 63, -EBADMSG},
		{P_FORWARD_PACKET, 64, 0},
		{P_FORWARD_PACKET, 64 + 65536, 0},
		{P_FORWARD_PACKET, 64 + 65537, -EMSGSIZE},
		{P_WATCH_CONNS, 0, 0},
		{P_WATCH_CONNS, 1, -EBADMSG},
		{P_CLOSE_PEER, 0, -EBADMSG},
		{P_CLOSE_PEER, 31, -EBADMSG},
		{P_CLOSE_PEER, 32, 0},
		{P_CLOSE_PEER, 33, -EBADMSG},
		{P_PING, 0, -EBADMSG},
		{P_PING, 7, -EBADMSG},
		{P_PING, 8, 0},
		{P_PING, 1000, 0},
		{P_PING, 1001, -EMSGSIZE},
		{P_PONG, 7, -EBADMSG},
		{P_PONG, 8, 0},
		{P_PONG, 1001, -EMSGSIZE},
		{P_RESTARTING, 0, -EBADMSG},
		{P_RESTARTING, 4, -EBADMSG},
		{P_RESTARTING, 7, -EBADMSG},
		{P_RESTARTING, 8, 0},
		{P_RESTARTING, 12, 0},
		{P_KEEP_ALIVE, 0, 0},
		{P_KEEP_ALIVE, 3, 0},
		{P_HEALTH, 0, 0},
		{P_HEALTH, 1024 * 1024, 0},
		{P_HEALTH, 1024 * 1024 + 1, -EMSGSIZE},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
		/* exactly len bytes on the heap, so ASan catches a read past the body */
		g_autofree uint8_t *buf = g_malloc(MAX(rows[i].len, 1));

		/* printable, so that the Health rows are valid UTF-8 */
		memset(buf, 'a', MAX(rows[i].len, 1));

		g_test_message("row %zu: parser %d, len %zu", i, rows[i].p, rows[i].len);
		g_assert_cmpint(run_parser(rows[i].p, buf, rows[i].len), ==, rows[i].expect);
	}
}

/* outputs are untouched on failure */
static void
test_untouched_on_failure(void)
{
	uint8_t zero[64] = {0};
	WrDerpPacket pkt;
	WrDerpPeerGone gone;
	WrDerpClientInfo ci;
	WrDerpRestarting r = {.reconnect_in_ms = 7, .try_for_ms = 9};
	bool preferred = true;

	memset(&pkt, 0x5C, sizeof(pkt));
	g_assert_cmpint(wr_derp_parse_send_packet(zero, 31, &pkt), ==, -EBADMSG);
	g_assert_cmpuint(pkt.key[0], ==, 0x5C);
	memset(&gone, 0x5C, sizeof(gone));
	g_assert_cmpint(wr_derp_parse_peer_gone(zero, 31, &gone), ==, -EBADMSG);
	g_assert_cmpuint(gone.key[0], ==, 0x5C);
	memset(&ci, 0x5C, sizeof(ci));
	g_assert_cmpint(wr_derp_parse_client_info(zero, 55, &ci), ==, -EBADMSG);
	g_assert_cmpuint(ci.key[0], ==, 0x5C);
	g_assert_cmpint(wr_derp_parse_restarting(zero, 7, &r), ==, -EBADMSG);
	g_assert_cmpuint(r.reconnect_in_ms, ==, 7);
	g_assert_cmpuint(r.try_for_ms, ==, 9);
	g_assert_cmpint(wr_derp_parse_note_preferred(zero, 2, &preferred), ==, -EBADMSG);
	g_assert_true(preferred);
}

static void
test_note_preferred_values(void)
{
	static const uint8_t zero = 0x00, one = 0x01, other = 0x02;
	bool preferred = true;

	g_assert_cmpint(wr_derp_parse_note_preferred(&zero, 1, &preferred), ==, 0);
	g_assert_false(preferred);
	g_assert_cmpint(wr_derp_parse_note_preferred(&one, 1, &preferred), ==, 0);
	g_assert_true(preferred);
	g_assert_cmpint(wr_derp_parse_note_preferred(&other, 1, &preferred), ==, 0);
	g_assert_true(preferred);
	{
		g_autoptr(GByteArray) out = g_byte_array_new();
		static const uint8_t expect[] = {
			/* type */ 0x07,	 /* len */ 0x00, 0x00, 0x00, 0x01,
			/* not preferred */ 0x00};

		g_assert_cmpint(wr_derp_append_note_preferred(out, false), ==, 0);
		g_assert_cmpmem(out->data, out->len, expect, sizeof(expect));
	}
}

/* PeerGone and PeerPresent are parsed by the bytes present (§7.8) */
static void
test_peer_variants(void)
{
	uint8_t body[64];
	WrDerpPeerGone gone;
	WrDerpPeerPresent p;

	memcpy(body, f_peer_present + DERP_FRAME_HEADER_LEN, DERP_PEER_PRESENT_LEN);
	memset(body + DERP_PEER_PRESENT_LEN, 0x77, sizeof(body) - DERP_PEER_PRESENT_LEN);

	/* an older server: no reason byte means Disconnected */
	g_assert_cmpint(wr_derp_parse_peer_gone(body, 32, &gone), ==, 0);
	g_assert_cmpuint(gone.reason, ==, DERP_PEER_GONE_DISCONNECTED);
	g_assert_cmpmem(gone.key, sizeof(gone.key), key_b, sizeof(key_b));

	/* key only */
	g_assert_cmpint(wr_derp_parse_peer_present(body, 32, &p), ==, 0);
	g_assert_false(p.has_addr);
	g_assert_cmpuint(p.port, ==, 0);
	g_assert_cmpuint(p.flags, ==, 0);
	g_assert_cmpuint(p.ip[15], ==, 0);
	/* a partial address is ignored */
	g_assert_cmpint(wr_derp_parse_peer_present(body, 49, &p), ==, 0);
	g_assert_false(p.has_addr);
	g_assert_cmpuint(p.ip[15], ==, 0);
	/* address, no flags */
	g_assert_cmpint(wr_derp_parse_peer_present(body, 50, &p), ==, 0);
	g_assert_true(p.has_addr);
	g_assert_cmpuint(p.ip[15], ==, 1);
	g_assert_cmpuint(p.port, ==, 41641);
	g_assert_cmpuint(p.flags, ==, 0);
	/* a newer server's extra bytes */
	g_assert_cmpint(wr_derp_parse_peer_present(body, sizeof(body), &p), ==, 0);
	g_assert_true(p.has_addr);
	g_assert_cmpuint(p.flags, ==, DERP_PEER_PRESENT_IS_REGULAR);

	/* a builder given no address writes a zero one, flags kept */
	{
		g_autoptr(GByteArray) out = g_byte_array_new();
		WrDerpPeerPresent in = {
			.has_addr = false, .port = 1234, .flags = DERP_PEER_PRESENT_IS_MESH_PEER};
		WrDerpFrame f;

		memcpy(in.key, key_a, WR_KEY_LEN);
		memset(in.ip, 0xff, sizeof(in.ip));
		g_assert_cmpint(wr_derp_append_peer_present(out, &in), ==, 0);
		g_assert_cmpuint(out->len, ==, DERP_FRAME_HEADER_LEN + DERP_PEER_PRESENT_LEN);
		g_assert_cmpint(wr_derp_frame_decode(out->data, out->len, DERP_MAX_FRAME_SIZE, &f),
				==, (ssize_t) out->len);
		g_assert_cmpint(wr_derp_parse_peer_present(f.payload, f.len, &p), ==, 0);
		g_assert_cmpmem(p.key, sizeof(p.key), key_a, sizeof(key_a));
		g_assert_cmpuint(p.port, ==, 0);
		g_assert_cmpuint(p.ip[0], ==, 0);
		g_assert_cmpuint(p.flags, ==, DERP_PEER_PRESENT_IS_MESH_PEER);
	}
	/* the local-only reason never goes on the wire */
	{
		g_autoptr(GByteArray) out = g_byte_array_new();

		g_assert_cmpint(
			wr_derp_append_peer_gone(out, key_a, DERP_PEER_GONE_MESH_CONN_BROKE), ==,
			-EINVAL);
		g_assert_cmpuint(out->len, ==, 0);
		g_assert_cmpint(wr_derp_append_peer_gone(out, key_a, DERP_PEER_GONE_DISCONNECTED),
				==, 0);
		g_assert_cmpuint(out->len, ==, DERP_FRAME_HEADER_LEN + DERP_PEER_GONE_LEN);
		g_assert_cmpuint(out->data[out->len - 1], ==, 0x00);
	}
}

static void
test_ping_long(void)
{
	/* the server accepts up to 1000 bytes and echoes the first 8 */
	g_autofree uint8_t *body = g_malloc(DERP_MAX_PING_LEN);
	uint8_t data[DERP_PING_DATA_LEN];

	for (size_t i = 0; i < DERP_MAX_PING_LEN; i++)
		body[i] = (uint8_t) (i + 1);
	g_assert_cmpint(wr_derp_parse_ping(body, DERP_MAX_PING_LEN, data), ==, 0);
	g_assert_cmpmem(data, sizeof(data), ping_data, sizeof(ping_data));
}

static void
test_health(void)
{
	static const uint8_t bad[] = {'o', 'k', 0xC3, 0x28};
	g_autoptr(GByteArray) out = g_byte_array_new();
	const char *text = (const char *) bad;
	size_t len = 99;
	WrDerpFrame f;

	/* not UTF-8: refused both ways */
	g_assert_cmpint(wr_derp_parse_health(bad, sizeof(bad), &text, &len), ==, -EILSEQ);
	g_assert_cmpuint(len, ==, 99);
	g_assert_cmpint(wr_derp_append_health(out, (const char *) bad, sizeof(bad)), ==, -EILSEQ);
	g_assert_cmpuint(out->len, ==, 0);
	/* an empty Health means healthy again */
	g_assert_cmpint(wr_derp_append_health(out, NULL, 0), ==, 0);
	g_assert_cmpint(wr_derp_frame_decode(out->data, out->len, DERP_MAX_FRAME_SIZE, &f), ==,
			DERP_FRAME_HEADER_LEN);
	g_assert_cmpuint(f.type, ==, DERP_FRAME_HEALTH);
	g_assert_cmpint(wr_derp_parse_health(f.payload, f.len, &text, &len), ==, 0);
	g_assert_cmpuint(len, ==, 0);
	/* multi-byte UTF-8 passes */
	g_byte_array_set_size(out, 0);
	g_assert_cmpint(wr_derp_append_health(out, "d\xC3\xA9j\xC3\xA0", 6), ==, 0);
	g_assert_cmpuint(out->len, ==, DERP_FRAME_HEADER_LEN + 6);
}

/* builders refuse fields over their limits and leave the array as it was */
static void
test_build_limits(void)
{
	g_autoptr(GByteArray) out = g_byte_array_new();
	g_autofree uint8_t *big = g_malloc0(DERP_MAX_SERVER_INFO_LEN + 1);
	static const uint8_t prefix[] = {0x42};
	WrDerpFrame f;
	WrDerpPacket pkt;
	WrDerpForwardPacket fwd;

	g_byte_array_append(out, prefix, sizeof(prefix));
	g_assert_cmpint(wr_derp_append_send_packet(out, key_b, big, DERP_MAX_PACKET_SIZE + 1), ==,
			-EMSGSIZE);
	g_assert_cmpint(wr_derp_append_recv_packet(out, key_b, big, DERP_MAX_PACKET_SIZE + 1), ==,
			-EMSGSIZE);
	g_assert_cmpint(
		wr_derp_append_forward_packet(out, key_a, key_b, big, DERP_MAX_PACKET_SIZE + 1), ==,
		-EMSGSIZE);
	g_assert_cmpint(wr_derp_append_client_info(out, key_a, nonce_n, big,
						   DERP_MAX_CLIENT_INFO_LEN - 56 + 1),
			==, -EMSGSIZE);
	g_assert_cmpint(wr_derp_append_server_info(out, nonce_n, big,
						   DERP_MAX_SERVER_INFO_LEN - DERP_NONCE_LEN + 1),
			==, -EMSGSIZE);
	g_assert_cmpint(wr_derp_append_health(out, (const char *) big, DERP_MAX_FRAME_SIZE + 1), ==,
			-EMSGSIZE);
	g_assert_cmpint(wr_derp_append_frame(out, 0x42, big, DERP_MAX_SERVER_WRITE_SIZE + 1), ==,
			-EMSGSIZE);
	g_assert_cmpuint(out->len, ==, sizeof(prefix));

	/* at the limits: accepted, and parse back */
	g_byte_array_set_size(out, 0);
	g_assert_cmpint(wr_derp_append_send_packet(out, key_b, big, DERP_MAX_PACKET_SIZE), ==, 0);
	g_assert_cmpint(wr_derp_append_forward_packet(out, key_a, key_b, big, DERP_MAX_PACKET_SIZE),
			==, 0);
	g_assert_cmpint(wr_derp_frame_decode(out->data, out->len, DERP_MAX_FRAME_SIZE, &f), ==,
			DERP_FRAME_HEADER_LEN + WR_KEY_LEN + DERP_MAX_PACKET_SIZE);
	g_assert_cmpint(wr_derp_parse_send_packet(f.payload, f.len, &pkt), ==, 0);
	g_assert_cmpuint(pkt.len, ==, DERP_MAX_PACKET_SIZE);
	g_assert_cmpint(
		wr_derp_frame_decode(
			out->data + DERP_FRAME_HEADER_LEN + WR_KEY_LEN + DERP_MAX_PACKET_SIZE,
			out->len - (DERP_FRAME_HEADER_LEN + WR_KEY_LEN + DERP_MAX_PACKET_SIZE),
			DERP_MAX_FRAME_SIZE, &f),
		==, DERP_FRAME_HEADER_LEN + 2 * WR_KEY_LEN + DERP_MAX_PACKET_SIZE);
	g_assert_cmpint(wr_derp_parse_forward_packet(f.payload, f.len, &fwd), ==, 0);
	g_assert_cmpuint(fwd.len, ==, DERP_MAX_PACKET_SIZE);

	/* the generic builder writes any type, unknown ones included */
	g_byte_array_set_size(out, 0);
	g_assert_cmpint(wr_derp_append_frame(out, 0x0C, payload_p, sizeof(payload_p)), ==, 0);
	{
		static const uint8_t expect[] = {
			/* type */ 0x0C,    /* len */ 0x00, 0x00, 0x00, 0x04,
			/* payload */ 0xde, 0xad,	    0xbe, 0xef};

		g_assert_cmpmem(out->data, out->len, expect, sizeof(expect));
	}
	g_assert_cmpint(wr_derp_write_header(out->data, 0x01, DERP_MAX_SERVER_WRITE_SIZE + 1), ==,
			-EMSGSIZE);
	g_assert_cmpuint(out->data[0], ==, 0x0C);
}

typedef ssize_t (*WriteFunc)(uint8_t *buf, size_t buf_len, const uint8_t *data, size_t len);

static ssize_t
write_send(uint8_t *buf, size_t buf_len, const uint8_t *data, size_t len)
{
	return wr_derp_write_send_packet(buf, buf_len, key_b, data, len);
}

static ssize_t
write_recv(uint8_t *buf, size_t buf_len, const uint8_t *data, size_t len)
{
	return wr_derp_write_recv_packet(buf, buf_len, key_a, data, len);
}

static ssize_t
write_forward(uint8_t *buf, size_t buf_len, const uint8_t *data, size_t len)
{
	return wr_derp_write_forward_packet(buf, buf_len, key_a, key_b, data, len);
}

/* the caller-buffer writers produce the same bytes as the builders, and check their room */
static void
test_write_buffer(void)
{
	static const struct {
		WriteFunc write;
		const uint8_t *expect;
		size_t expect_len;
	} rows[] = {
		{write_send, f_send_packet, sizeof(f_send_packet)},
		{write_recv, f_recv_packet, sizeof(f_recv_packet)},
		{write_forward, f_forward_packet, sizeof(f_forward_packet)},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
		uint8_t buf[128];
		uint8_t untouched[128];
		size_t head = rows[i].expect_len - sizeof(payload_p);

		g_test_message("row %zu", i);
		memset(buf, 0x5C, sizeof(buf));
		memcpy(untouched, buf, sizeof(buf));
		/* one byte short */
		g_assert_cmpint(
			rows[i].write(buf, rows[i].expect_len - 1, payload_p, sizeof(payload_p)),
			==, -ENOBUFS);
		g_assert_cmpmem(buf, sizeof(buf), untouched, sizeof(untouched));
		/* too big a packet, whatever the room */
		g_assert_cmpint(
			rows[i].write(buf, sizeof(buf), payload_p, DERP_MAX_PACKET_SIZE + 1), ==,
			-EMSGSIZE);
		g_assert_cmpmem(buf, sizeof(buf), untouched, sizeof(untouched));
		/* exact fit */
		g_assert_cmpint(
			rows[i].write(buf, rows[i].expect_len, payload_p, sizeof(payload_p)), ==,
			(ssize_t) rows[i].expect_len);
		g_assert_cmpmem(buf, rows[i].expect_len, rows[i].expect, rows[i].expect_len);
		g_assert_cmpuint(buf[rows[i].expect_len], ==, 0x5C);
		/* in place: the packet already sits behind the room for the header and keys */
		memset(buf, 0x5C, sizeof(buf));
		memcpy(buf + head, payload_p, sizeof(payload_p));
		g_assert_cmpint(rows[i].write(buf, sizeof(buf), buf + head, sizeof(payload_p)), ==,
				(ssize_t) rows[i].expect_len);
		g_assert_cmpmem(buf, rows[i].expect_len, rows[i].expect, rows[i].expect_len);
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	wr_crypto_init();

	g_test_add_func("/warren/derp-frame/build", test_build);
	g_test_add_func("/warren/derp-frame/parse", test_parse);
	g_test_add_func("/warren/derp-frame/truncated", test_truncated);
	g_test_add_func("/warren/derp-frame/stream", test_stream);
	g_test_add_func("/warren/derp-frame/oversize", test_oversize);
	g_test_add_func("/warren/derp-frame/server-key-magic", test_server_key_magic);
	g_test_add_func("/warren/derp-frame/body-lengths", test_body_lengths);
	g_test_add_func("/warren/derp-frame/untouched-on-failure", test_untouched_on_failure);
	g_test_add_func("/warren/derp-frame/note-preferred", test_note_preferred_values);
	g_test_add_func("/warren/derp-frame/peer-variants", test_peer_variants);
	g_test_add_func("/warren/derp-frame/ping-long", test_ping_long);
	g_test_add_func("/warren/derp-frame/health", test_health);
	g_test_add_func("/warren/derp-frame/build-limits", test_build_limits);
	g_test_add_func("/warren/derp-frame/write-buffer", test_write_buffer);
	return g_test_run();
}
