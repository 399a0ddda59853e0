/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The DERP frame codec (docs/protocols/derp-disco-stun.md §2.5-§2.8, §2.11).  Every frame
 * is a 5-byte header, `type:1 | length:4 (big-endian)`, and `length` bytes of payload; the
 * length excludes the header.  All integers are big-endian.
 *
 * Pure: no I/O, no allocation except when appending to a caller's GByteArray, no logging.
 * Everything returns 0 (or a byte count) on success and a negative errno on failure:
 *   -EBADMSG   a body shorter than its type allows (or the wrong exact length),
 *   -EMSGSIZE  a length above the limit for its field or frame,
 *   -EPROTO    a ServerKey frame without the DERP magic,
 *   -EILSEQ    a Health text that is not UTF-8,
 *   -ENOBUFS   a caller buffer too small for the frame being written.
 * Output parameters are written only on success.  Parsed bodies hold views (pointers into
 * the frame's payload, no copy) for variable-length data; keys and short fields are copied.
 * The sealed boxes of ClientInfo and ServerInfo are opaque here: the codec carries the nonce
 * and the sealed bytes (tag || ciphertext); opening and sealing happen elsewhere.
 */

#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "wr-messages.h"

/* "DERP🔑", at the start of every ServerKey frame */
#define DERP_MAGIC     "DERP\xF0\x9F\x94\x91"
#define DERP_MAGIC_LEN 8

#define DERP_FRAME_HEADER_LEN 5
#define DERP_PROTOCOL_VERSION 2
#define DERP_NONCE_LEN	      24 /* NaCl box nonce; the box is nonce || tag || ciphertext */

/* the largest relayed payload, not counting the key(s) in front of it */
#define DERP_MAX_PACKET_SIZE 65536
/* the client refuses any frame above this */
#define DERP_MAX_FRAME_SIZE (1024 * 1024)
/* while reading the greeting, the client refuses a ServerKey frame above this */
#define DERP_MAX_SERVER_KEY_FRAME_SIZE 1024
/* the server's sanity limit on the frames it writes */
#define DERP_MAX_SERVER_WRITE_SIZE (10 * 1024 * 1024)
/* the server accepts a ClientInfo body of up to this */
#define DERP_MAX_CLIENT_INFO_LEN (256 * 1024)
/* the client accepts a ServerInfo body of up to this */
#define DERP_MAX_SERVER_INFO_LEN (DERP_NONCE_LEN + DERP_MAX_FRAME_SIZE)
/* ping data is 8 bytes; the server accepts a Ping body of up to 1000 and echoes the first 8 */
#define DERP_PING_DATA_LEN 8
#define DERP_MAX_PING_LEN  1000

#define DERP_SERVER_KEY_MIN_LEN	    (DERP_MAGIC_LEN + WR_KEY_LEN)
#define DERP_CLIENT_INFO_MIN_LEN    (WR_KEY_LEN + DERP_NONCE_LEN)
#define DERP_SERVER_INFO_MIN_LEN    DERP_NONCE_LEN
#define DERP_NOTE_PREFERRED_LEN	    1
#define DERP_PEER_GONE_MIN_LEN	    WR_KEY_LEN
#define DERP_PEER_GONE_LEN	    (WR_KEY_LEN + 1)
#define DERP_PEER_PRESENT_MIN_LEN   WR_KEY_LEN
#define DERP_PEER_PRESENT_IP_LEN    16 /* IPv4-mapped for IPv4 */
#define DERP_PEER_PRESENT_ADDR_LEN  (WR_KEY_LEN + DERP_PEER_PRESENT_IP_LEN + 2)
#define DERP_PEER_PRESENT_LEN	    (DERP_PEER_PRESENT_ADDR_LEN + 1)
#define DERP_FORWARD_PACKET_MIN_LEN (2 * WR_KEY_LEN)
#define DERP_CLOSE_PEER_LEN	    WR_KEY_LEN
#define DERP_RESTARTING_LEN	    8

typedef enum {
	DERP_FRAME_SERVER_KEY = 0x01,
	DERP_FRAME_CLIENT_INFO = 0x02,
	DERP_FRAME_SERVER_INFO = 0x03,
	DERP_FRAME_SEND_PACKET = 0x04,
	DERP_FRAME_RECV_PACKET = 0x05,
	DERP_FRAME_KEEP_ALIVE = 0x06,
	DERP_FRAME_NOTE_PREFERRED = 0x07,
	DERP_FRAME_PEER_GONE = 0x08,
	DERP_FRAME_PEER_PRESENT = 0x09,
	DERP_FRAME_FORWARD_PACKET = 0x0A,
	DERP_FRAME_WATCH_CONNS = 0x10,
	DERP_FRAME_CLOSE_PEER = 0x11,
	DERP_FRAME_PING = 0x12,
	DERP_FRAME_PONG = 0x13,
	DERP_FRAME_HEALTH = 0x14,
	DERP_FRAME_RESTARTING = 0x15,
} WrDerpFrameType;

typedef enum {
	DERP_PEER_GONE_DISCONNECTED = 0x00,
	DERP_PEER_GONE_NOT_HERE = 0x01,
	/* made up locally by a mesh watcher when a link breaks; never on the wire */
	DERP_PEER_GONE_MESH_CONN_BROKE = 0xF0,
} WrDerpPeerGoneReason;

typedef enum {
	DERP_PEER_PRESENT_IS_REGULAR = 0x01,
	DERP_PEER_PRESENT_IS_MESH_PEER = 0x02,
	DERP_PEER_PRESENT_IS_PROBER = 0x04,
	DERP_PEER_PRESENT_NOT_IDEAL = 0x08,
} WrDerpPeerPresentFlags;

/* one frame as the decoder found it; payload points into the caller's buffer */
typedef struct {
	uint8_t type; /* any value: unknown types are not an error at this level */
	uint32_t len;
	const uint8_t *payload;
} WrDerpFrame;

/* a NaCl box: nonce, then sealed = tag || ciphertext (possibly empty; opening checks it) */
typedef struct {
	const uint8_t *nonce; /* DERP_NONCE_LEN bytes */
	const uint8_t *sealed;
	size_t sealed_len;
} WrDerpBox;

typedef struct {
	uint8_t key[WR_KEY_LEN]; /* the client's node public key, in clear */
	WrDerpBox box;
} WrDerpClientInfo;

/* SendPacket (key = destination) and RecvPacket (key = source) */
typedef struct {
	uint8_t key[WR_KEY_LEN];
	const uint8_t *data;
	size_t len;
} WrDerpPacket;

typedef struct {
	uint8_t src_key[WR_KEY_LEN];
	uint8_t dst_key[WR_KEY_LEN];
	const uint8_t *data;
	size_t len;
} WrDerpForwardPacket;

typedef struct {
	uint8_t key[WR_KEY_LEN];
	uint8_t reason; /* WrDerpPeerGoneReason; 0x00 when an older server left it out */
} WrDerpPeerGone;

typedef struct {
	uint8_t key[WR_KEY_LEN];
	bool has_addr;			      /* the ip and port were present */
	uint8_t ip[DERP_PEER_PRESENT_IP_LEN]; /* IPv4-mapped for IPv4; zero if absent */
	uint16_t port;			      /* zero if absent */
	uint8_t flags; /* WrDerpPeerPresentFlags; 0: absent, or the server lacks the field */
} WrDerpPeerPresent;

typedef struct {
	uint32_t reconnect_in_ms;
	uint32_t try_for_ms;
} WrDerpRestarting;

/*
 * Decoding.
 *
 * wr_derp_frame_decode looks at the start of buf (len bytes read so far from the stream) and:
 *  - returns 0 when buf does not hold a whole frame yet (out_frame untouched; read more and
 *    call again with the longer buffer);
 *  - returns -EMSGSIZE as soon as the header announces a payload above max_payload (the
 *    connection should be closed: the stream cannot be resynchronised);
 *  - otherwise fills out_frame and returns the number of bytes the frame took (header plus
 *    payload, always > 0), which the caller drops from its buffer once done with the view.
 * Unknown types are returned like known ones: the spec (§2.5, §7.5) has readers skip them
 * by their length, which consuming the returned count does.  max_payload is the caller's
 * limit: DERP_MAX_FRAME_SIZE for a client, DERP_MAX_SERVER_KEY_FRAME_SIZE while a client
 * reads the greeting.  A max_payload above DERP_MAX_SERVER_WRITE_SIZE is treated as that.
 */
ssize_t
wr_derp_frame_decode(const uint8_t *buf, size_t len, uint32_t max_payload, WrDerpFrame *out_frame);

/* true for the types of §2.7 */
bool
wr_derp_frame_type_is_known(uint8_t type);
/* the spec's name for a type ("ServerKey", ...), or NULL for an unknown type */
const char *
wr_derp_frame_type_to_string(uint8_t type);

/*
 * Typed body parsers: each takes the payload of a frame of that type.  Lengths follow §2.7:
 * where the spec allows newer peers to append bytes, the extra bytes are ignored; where it
 * says the length is exact, anything else is -EBADMSG.
 */

/* length >= 40 (extra ignored); the first 8 bytes must be DERP_MAGIC (-EPROTO) */
int
wr_derp_parse_server_key(const uint8_t *payload, size_t len, uint8_t out_key[WR_KEY_LEN]);
/* 32 key + 24 nonce + sealed; 56 to DERP_MAX_CLIENT_INFO_LEN */
int
wr_derp_parse_client_info(const uint8_t *payload, size_t len, WrDerpClientInfo *out_info);
/* 24 nonce + sealed; 24 to DERP_MAX_SERVER_INFO_LEN */
int
wr_derp_parse_server_info(const uint8_t *payload, size_t len, WrDerpBox *out_box);
/* 32 destination key + 0 to DERP_MAX_PACKET_SIZE bytes */
int
wr_derp_parse_send_packet(const uint8_t *payload, size_t len, WrDerpPacket *out_packet);
/* 32 source key + 0 to DERP_MAX_PACKET_SIZE bytes */
int
wr_derp_parse_recv_packet(const uint8_t *payload, size_t len, WrDerpPacket *out_packet);
/* any length: a keepalive carries nothing and needs no reply, so bytes in it are ignored */
int
wr_derp_parse_keep_alive(const uint8_t *payload, size_t len);
/* exactly 1 byte; any non-zero value means preferred */
int
wr_derp_parse_note_preferred(const uint8_t *payload, size_t len, bool *out_preferred);
/* 32 key, then an optional reason byte (extra ignored) */
int
wr_derp_parse_peer_gone(const uint8_t *payload, size_t len, WrDerpPeerGone *out_gone);
/* 32 key, then optionally 16 ip + 2 port, then optionally 1 flags byte (extra ignored);
 * a length of 33 to 49 carries a partial address, which is ignored */
int
wr_derp_parse_peer_present(const uint8_t *payload, size_t len, WrDerpPeerPresent *out_present);
/* 32 source key + 32 destination key + 0 to DERP_MAX_PACKET_SIZE bytes */
int
wr_derp_parse_forward_packet(const uint8_t *payload, size_t len, WrDerpForwardPacket *out_fwd);
/* exactly 0 bytes */
int
wr_derp_parse_watch_conns(const uint8_t *payload, size_t len);
/* exactly 32 bytes */
int
wr_derp_parse_close_peer(const uint8_t *payload, size_t len, uint8_t out_key[WR_KEY_LEN]);
/* 8 to DERP_MAX_PING_LEN bytes; out_data gets the first 8 (what a Pong echoes) */
int
wr_derp_parse_ping(const uint8_t *payload, size_t len, uint8_t out_data[DERP_PING_DATA_LEN]);
/* as a Ping: 8 to DERP_MAX_PING_LEN bytes, the first 8 are the data */
int
wr_derp_parse_pong(const uint8_t *payload, size_t len, uint8_t out_data[DERP_PING_DATA_LEN]);
/* UTF-8 text, possibly empty (healthy again); the view is not NUL-terminated */
int
wr_derp_parse_health(const uint8_t *payload, size_t len, const char **out_text, size_t *out_len);
/* two u32: reconnect_in_ms, try_for_ms (extra ignored) */
int
wr_derp_parse_restarting(const uint8_t *payload, size_t len, WrDerpRestarting *out_restarting);

/*
 * Building, into a GByteArray: each appends one whole frame (header and payload) and returns
 * 0, or returns a negative errno and leaves out unchanged when a field is over its limit
 * (-EMSGSIZE).  The frames are written as the current Tailscale server and client write them.
 */

/* any type and payload of up to DERP_MAX_SERVER_WRITE_SIZE bytes (payload may be NULL if 0) */
int
wr_derp_append_frame(GByteArray *out, uint8_t type, const uint8_t *payload, size_t len);
/* magic + key (40 bytes) */
int
wr_derp_append_server_key(GByteArray *out, const uint8_t key[WR_KEY_LEN]);
/* sealed is tag || ciphertext; 32 + 24 + sealed_len <= DERP_MAX_CLIENT_INFO_LEN */
int
wr_derp_append_client_info(GByteArray *out, const uint8_t key[WR_KEY_LEN],
			   const uint8_t nonce[DERP_NONCE_LEN], const uint8_t *sealed,
			   size_t sealed_len);
/* 24 + sealed_len <= DERP_MAX_SERVER_INFO_LEN */
int
wr_derp_append_server_info(GByteArray *out, const uint8_t nonce[DERP_NONCE_LEN],
			   const uint8_t *sealed, size_t sealed_len);
/* len <= DERP_MAX_PACKET_SIZE */
int
wr_derp_append_send_packet(GByteArray *out, const uint8_t dst_key[WR_KEY_LEN], const uint8_t *data,
			   size_t len);
int
wr_derp_append_recv_packet(GByteArray *out, const uint8_t src_key[WR_KEY_LEN], const uint8_t *data,
			   size_t len);
int
wr_derp_append_forward_packet(GByteArray *out, const uint8_t src_key[WR_KEY_LEN],
			      const uint8_t dst_key[WR_KEY_LEN], const uint8_t *data, size_t len);
int
wr_derp_append_keep_alive(GByteArray *out);
int
wr_derp_append_note_preferred(GByteArray *out, bool preferred);
/* 33 bytes: key + reason (DERP_PEER_GONE_MESH_CONN_BROKE is local only: -EINVAL) */
int
wr_derp_append_peer_gone(GByteArray *out, const uint8_t key[WR_KEY_LEN], uint8_t reason);
/* 51 bytes, as the current server sends it; a present without has_addr writes a zero
 * address, so it parses back with has_addr set and a zero ip and port */
int
wr_derp_append_peer_present(GByteArray *out, const WrDerpPeerPresent *present);
int
wr_derp_append_watch_conns(GByteArray *out);
int
wr_derp_append_close_peer(GByteArray *out, const uint8_t key[WR_KEY_LEN]);
int
wr_derp_append_ping(GByteArray *out, const uint8_t data[DERP_PING_DATA_LEN]);
int
wr_derp_append_pong(GByteArray *out, const uint8_t data[DERP_PING_DATA_LEN]);
/* text need not be NUL-terminated; it must be UTF-8 (-EILSEQ) and at most DERP_MAX_FRAME_SIZE */
int
wr_derp_append_health(GByteArray *out, const char *text, size_t len);
int
wr_derp_append_restarting(GByteArray *out, uint32_t reconnect_in_ms, uint32_t try_for_ms);

/*
 * Building into a caller buffer, for the packet hot path: each writes one whole frame at buf
 * and returns its size, -ENOBUFS when buf_len is too small, or -EMSGSIZE when len is above
 * DERP_MAX_PACKET_SIZE; buf is not touched on failure.  data may overlap buf only if it
 * already sits where the frame puts it (buf + DERP_FRAME_HEADER_LEN + the key(s)).
 */
ssize_t
wr_derp_write_send_packet(uint8_t *buf, size_t buf_len, const uint8_t dst_key[WR_KEY_LEN],
			  const uint8_t *data, size_t len);
ssize_t
wr_derp_write_recv_packet(uint8_t *buf, size_t buf_len, const uint8_t src_key[WR_KEY_LEN],
			  const uint8_t *data, size_t len);
ssize_t
wr_derp_write_forward_packet(uint8_t *buf, size_t buf_len, const uint8_t src_key[WR_KEY_LEN],
			     const uint8_t dst_key[WR_KEY_LEN], const uint8_t *data, size_t len);
/* the 5-byte header alone, for a payload the caller writes itself: 0 or -EMSGSIZE (len above
 * DERP_MAX_SERVER_WRITE_SIZE) */
int
wr_derp_write_header(uint8_t out[DERP_FRAME_HEADER_LEN], uint8_t type, size_t len);
