/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Input: one mode byte, then a DERP byte stream.  The stream goes through the incremental
 * decoder, fed in chunks whose size comes from the mode byte, as a reader that receives it
 * piecewise would; every whole frame goes through every typed parser (whatever its type),
 * and the frames its parser accepts are built again and must parse back to the same
 * values.  Mode bit 7 selects the greeting limit instead of the client's.
 */

#define G_LOG_DOMAIN "WrFuzzDerpFrame"

#include "config.h"

#include <errno.h>
#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "wr-derp-frame.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_errno(int r)
{
	g_assert(r == 0 || r == -EBADMSG || r == -EMSGSIZE || r == -EPROTO || r == -EILSEQ);
}

/* decodes the one frame that must be all of out, and returns its payload */
static WrDerpFrame
reframe(GByteArray *out, uint8_t type)
{
	WrDerpFrame f;

	g_assert(wr_derp_frame_decode(out->data, out->len, DERP_MAX_SERVER_WRITE_SIZE, &f) ==
		 (ssize_t) out->len);
	g_assert(f.type == type);
	return f;
}

static void
fuzz_body(const uint8_t *p, size_t len)
{
	g_autoptr(GByteArray) out = g_byte_array_new();
	uint8_t key[WR_KEY_LEN];
	uint8_t ping[DERP_PING_DATA_LEN];
	WrDerpClientInfo ci;
	WrDerpBox box;
	WrDerpPacket pkt;
	WrDerpForwardPacket fwd;
	WrDerpPeerGone gone;
	WrDerpPeerPresent present;
	WrDerpRestarting restarting;
	const char *text;
	size_t text_len;
	bool preferred;
	WrDerpFrame f;
	int r;

	r = wr_derp_parse_server_key(p, len, key);
	check_errno(r);
	if (r == 0) {
		uint8_t key2[WR_KEY_LEN];

		g_assert(wr_derp_append_server_key(out, key) == 0);
		f = reframe(out, DERP_FRAME_SERVER_KEY);
		g_assert(wr_derp_parse_server_key(f.payload, f.len, key2) == 0);
		g_assert(memcmp(key, key2, WR_KEY_LEN) == 0);
		g_byte_array_set_size(out, 0);
	}

	r = wr_derp_parse_client_info(p, len, &ci);
	check_errno(r);
	if (r == 0) {
		WrDerpClientInfo ci2;

		g_assert(ci.box.nonce + DERP_NONCE_LEN == ci.box.sealed);
		g_assert(ci.box.sealed + ci.box.sealed_len == p + len);
		g_assert(wr_derp_append_client_info(out, ci.key, ci.box.nonce, ci.box.sealed,
						    ci.box.sealed_len) == 0);
		f = reframe(out, DERP_FRAME_CLIENT_INFO);
		g_assert(f.len == len && memcmp(f.payload, p, len) == 0);
		g_assert(wr_derp_parse_client_info(f.payload, f.len, &ci2) == 0);
		g_byte_array_set_size(out, 0);
	}

	r = wr_derp_parse_server_info(p, len, &box);
	check_errno(r);
	if (r == 0) {
		g_assert(box.nonce == p && box.sealed_len == len - DERP_NONCE_LEN);
		g_assert(wr_derp_append_server_info(out, box.nonce, box.sealed, box.sealed_len) ==
			 0);
		f = reframe(out, DERP_FRAME_SERVER_INFO);
		g_assert(f.len == len && memcmp(f.payload, p, len) == 0);
		g_byte_array_set_size(out, 0);
	}

	r = wr_derp_parse_send_packet(p, len, &pkt);
	check_errno(r);
	if (r == 0) {
		g_assert(wr_derp_append_send_packet(out, pkt.key, pkt.data, pkt.len) == 0);
		f = reframe(out, DERP_FRAME_SEND_PACKET);
		g_assert(f.len == len && memcmp(f.payload, p, len) == 0);
		g_byte_array_set_size(out, 0);
	}

	r = wr_derp_parse_recv_packet(p, len, &pkt);
	check_errno(r);
	if (r == 0) {
		uint8_t *buf = g_malloc(DERP_FRAME_HEADER_LEN + len);

		g_assert(wr_derp_write_recv_packet(buf, DERP_FRAME_HEADER_LEN + len, pkt.key,
						   pkt.data, pkt.len) ==
			 (ssize_t) (DERP_FRAME_HEADER_LEN + len));
		g_assert(memcmp(buf + DERP_FRAME_HEADER_LEN, p, len) == 0);
		g_free(buf);
	}

	r = wr_derp_parse_forward_packet(p, len, &fwd);
	check_errno(r);
	if (r == 0) {
		g_assert(wr_derp_append_forward_packet(out, fwd.src_key, fwd.dst_key, fwd.data,
						       fwd.len) == 0);
		f = reframe(out, DERP_FRAME_FORWARD_PACKET);
		g_assert(f.len == len && memcmp(f.payload, p, len) == 0);
		g_byte_array_set_size(out, 0);
	}

	check_errno(wr_derp_parse_keep_alive(p, len));
	check_errno(wr_derp_parse_watch_conns(p, len));

	r = wr_derp_parse_note_preferred(p, len, &preferred);
	check_errno(r);
	if (r == 0) {
		g_assert(wr_derp_append_note_preferred(out, preferred) == 0);
		f = reframe(out, DERP_FRAME_NOTE_PREFERRED);
		g_assert(f.len == 1 && (f.payload[0] != 0) == (p[0] != 0));
		g_byte_array_set_size(out, 0);
	}

	r = wr_derp_parse_peer_gone(p, len, &gone);
	check_errno(r);
	if (r == 0 && gone.reason != DERP_PEER_GONE_MESH_CONN_BROKE) {
		WrDerpPeerGone gone2;

		g_assert(wr_derp_append_peer_gone(out, gone.key, gone.reason) == 0);
		f = reframe(out, DERP_FRAME_PEER_GONE);
		g_assert(wr_derp_parse_peer_gone(f.payload, f.len, &gone2) == 0);
		g_assert(memcmp(&gone, &gone2, sizeof(gone)) == 0);
		g_byte_array_set_size(out, 0);
	}

	r = wr_derp_parse_peer_present(p, len, &present);
	check_errno(r);
	if (r == 0) {
		WrDerpPeerPresent present2;

		g_assert(wr_derp_append_peer_present(out, &present) == 0);
		f = reframe(out, DERP_FRAME_PEER_PRESENT);
		g_assert(wr_derp_parse_peer_present(f.payload, f.len, &present2) == 0);
		g_assert(memcmp(present.key, present2.key, WR_KEY_LEN) == 0);
		g_assert(memcmp(present.ip, present2.ip, sizeof(present.ip)) == 0);
		g_assert(present.port == present2.port && present.flags == present2.flags);
		g_byte_array_set_size(out, 0);
	}

	r = wr_derp_parse_close_peer(p, len, key);
	check_errno(r);
	if (r == 0) {
		g_assert(wr_derp_append_close_peer(out, key) == 0);
		f = reframe(out, DERP_FRAME_CLOSE_PEER);
		g_assert(f.len == len && memcmp(f.payload, p, len) == 0);
		g_byte_array_set_size(out, 0);
	}

	r = wr_derp_parse_ping(p, len, ping);
	check_errno(r);
	if (r == 0) {
		uint8_t pong[DERP_PING_DATA_LEN];

		g_assert(wr_derp_append_pong(out, ping) == 0);
		f = reframe(out, DERP_FRAME_PONG);
		g_assert(wr_derp_parse_pong(f.payload, f.len, pong) == 0);
		g_assert(memcmp(ping, pong, sizeof(ping)) == 0);
		g_byte_array_set_size(out, 0);
	}
	check_errno(wr_derp_parse_pong(p, len, ping));

	r = wr_derp_parse_health(p, len, &text, &text_len);
	check_errno(r);
	if (r == 0) {
		g_assert(wr_derp_append_health(out, text, text_len) == 0);
		f = reframe(out, DERP_FRAME_HEALTH);
		g_assert(f.len == len && memcmp(f.payload, p, len) == 0);
		g_byte_array_set_size(out, 0);
	}

	r = wr_derp_parse_restarting(p, len, &restarting);
	check_errno(r);
	if (r == 0) {
		WrDerpRestarting restarting2;

		g_assert(wr_derp_append_restarting(out, restarting.reconnect_in_ms,
						   restarting.try_for_ms) == 0);
		f = reframe(out, DERP_FRAME_RESTARTING);
		g_assert(wr_derp_parse_restarting(f.payload, f.len, &restarting2) == 0);
		g_assert(restarting.reconnect_in_ms == restarting2.reconnect_in_ms);
		g_assert(restarting.try_for_ms == restarting2.try_for_ms);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t max_payload;
	size_t chunk;
	size_t avail;
	size_t off = 0;
	uint8_t mode;

	if (size < 1)
		return 0;
	mode = data[0];
	data++;
	size--;
	max_payload = (mode & 0x80) != 0 ? DERP_MAX_SERVER_KEY_FRAME_SIZE : DERP_MAX_FRAME_SIZE;
	chunk = (size_t) (mode & 0x7f) + 1;

	/* bytes arrive chunk by chunk; a frame is decoded as soon as it is whole */
	avail = MIN(chunk, size);
	while (off < size) {
		WrDerpFrame f = {.type = 0, .len = 0, .payload = NULL};
		ssize_t n = wr_derp_frame_decode(data + off, avail - off, max_payload, &f);

		if (n == -EMSGSIZE)
			break;
		g_assert(n >= 0);
		if (n == 0) {
			g_assert(f.payload == NULL);
			if (avail == size)
				break;
			avail = MIN(avail + chunk, size);
			continue;
		}
		g_assert((size_t) n == DERP_FRAME_HEADER_LEN + f.len);
		g_assert(f.len <= max_payload);
		g_assert(f.payload == data + off + DERP_FRAME_HEADER_LEN);
		g_assert((size_t) n <= avail - off);
		(void) wr_derp_frame_type_to_string(f.type);
		fuzz_body(f.payload, f.len);
		off += (size_t) n;
	}
	return 0;
}
