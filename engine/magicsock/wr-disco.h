/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Tailscale's disco messages (derp-disco-stun.md §3): the outer packet
 *   magic "TS💬"[6] | sender disco public key[32] | nonce[24] | NaCl box (tag[16] | inner)
 * and the inner message
 *   type[1] | version[1] | payload
 * Pure codec: no I/O, no clocks, no randomness (the caller brings the nonce and the TxID).
 * Functions return a length or 0 on success and a negative errno on bad input; out
 * parameters are untouched on failure.  Policy (is the sender a known peer, did a
 * CallMeMaybe come over DERP, duplicate TxIDs, link-local candidates) is the caller's.
 */

#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wr-addr.h"

#define WR_DISCO_MAGIC	      "TS\xf0\x9f\x92\xac"
#define WR_DISCO_MAGIC_LEN    6
#define WR_DISCO_KEY_LEN      32
#define WR_DISCO_NONCE_LEN    24
#define WR_DISCO_TAG_LEN      16
#define WR_DISCO_KEY_OFFSET   WR_DISCO_MAGIC_LEN
#define WR_DISCO_NONCE_OFFSET (WR_DISCO_KEY_OFFSET + WR_DISCO_KEY_LEN)
#define WR_DISCO_BOX_OFFSET   (WR_DISCO_NONCE_OFFSET + WR_DISCO_NONCE_LEN)
/* what wr_disco_is_disco needs: the magic and the sender key */
#define WR_DISCO_MIN_CLASSIFY (WR_DISCO_MAGIC_LEN + WR_DISCO_KEY_LEN)
/* magic + key + nonce + tag: a packet is this plus the inner message (78) */
#define WR_DISCO_OVERHEAD (WR_DISCO_BOX_OFFSET + WR_DISCO_TAG_LEN)

/*
 * The largest packet built: wireguard-go's MaxContentSize (65535 - 32) less IPv4 + UDP
 * headers, the largest useful padded ping (§3.3).  Receiving does not enforce it.
 */
#define WR_DISCO_MAX_PACKET_LEN	 (65535 - 32 - 28)
#define WR_DISCO_MAX_MESSAGE_LEN (WR_DISCO_MAX_PACKET_LEN - WR_DISCO_OVERHEAD)

#define WR_DISCO_HEADER_LEN   2 /* type, version */
#define WR_DISCO_VERSION      0
#define WR_DISCO_TXID_LEN     12
#define WR_DISCO_ENDPOINT_LEN 18 /* IPv6 or IPv4-mapped address[16], port[2] */

/*
 * inner message lengths, header included: a keyless ping 14, a ping with its node key 46,
 * a pong 32, a CallMeMaybe 2 + 18n; sealed (+ WR_DISCO_OVERHEAD) 124, 110 and 80 + 18n
 */
#define WR_DISCO_PING_MIN_LEN	      (WR_DISCO_HEADER_LEN + WR_DISCO_TXID_LEN)
#define WR_DISCO_PING_LEN	      (WR_DISCO_PING_MIN_LEN + WR_DISCO_KEY_LEN)
#define WR_DISCO_PONG_LEN	      (WR_DISCO_HEADER_LEN + WR_DISCO_TXID_LEN + WR_DISCO_ENDPOINT_LEN)
#define WR_DISCO_PING_PACKET_LEN      (WR_DISCO_OVERHEAD + WR_DISCO_PING_LEN)
#define WR_DISCO_PONG_PACKET_LEN      (WR_DISCO_OVERHEAD + WR_DISCO_PONG_LEN)
#define WR_DISCO_CALL_ME_MAYBE_LEN(n) (WR_DISCO_HEADER_LEN + WR_DISCO_ENDPOINT_LEN * (size_t) (n))

/*
 * How many CallMeMaybe endpoints are kept.  The wire has no limit (Tailscale takes any
 * multiple of 18); the parser keeps the first this many and ignores the rest, and the
 * builder refuses more with -EMSGSIZE.
 */
#define WR_DISCO_MAX_ENDPOINTS 64

/* "127.3.3.40:<region>", the source of a disco message that came over DERP (§0, §3.2) */
#define WR_DISCO_DERP_MAGIC_IP 0x7f030328u

typedef enum {
	WR_DISCO_PING = 0x01,
	WR_DISCO_PONG = 0x02,
	WR_DISCO_CALL_ME_MAYBE = 0x03,
	/* peer relays, recognised and ignored (-ENOMSG) */
	WR_DISCO_BIND_UDP_RELAY_ENDPOINT = 0x04,
	WR_DISCO_BIND_UDP_RELAY_ENDPOINT_CHALLENGE = 0x05,
	WR_DISCO_BIND_UDP_RELAY_ENDPOINT_ANSWER = 0x06,
	WR_DISCO_CALL_ME_MAYBE_VIA = 0x07,
	WR_DISCO_ALLOCATE_UDP_RELAY_ENDPOINT_REQUEST = 0x08,
	WR_DISCO_ALLOCATE_UDP_RELAY_ENDPOINT_RESPONSE = 0x09,
} WrDiscoType;

typedef struct {
	uint8_t tx_id[WR_DISCO_TXID_LEN];
	bool has_node_key; /* clients <= 1.16 send none */
	uint8_t node_key[WR_DISCO_KEY_LEN];
	size_t padding; /* bytes after the node key (path-MTU probes) */
} WrDiscoPing;

typedef struct {
	uint8_t tx_id[WR_DISCO_TXID_LEN];
	WrEndpoint src; /* where the ping was seen from; IPv4-mapped addresses are unmapped */
} WrDiscoPong;

typedef struct {
	size_t n_endpoints;
	WrEndpoint endpoints[WR_DISCO_MAX_ENDPOINTS]; /* unmapped; link-local not filtered */
} WrDiscoCallMeMaybe;

typedef struct {
	WrDiscoType type;
	uint8_t version;
	union {
		WrDiscoPing ping;
		WrDiscoPong pong;
		WrDiscoCallMeMaybe call_me_maybe;
	};
} WrDiscoMessage;

typedef enum {
	WR_PACKET_WIREGUARD, /* anything else: the WireGuard device validates it */
	WR_PACKET_STUN,	     /* binding request or success response */
	WR_PACKET_DISCO,
} WrPacketKind;

/* §3.4 step 3: at least 38 bytes starting with the magic */
bool
wr_disco_is_disco(const uint8_t *pkt, size_t len);
/* §3.4 in order (the optional Geneve step is not done): STUN, then disco, else WireGuard;
 * also for DERP payloads, which are never STUN in practice */
WrPacketKind
wr_disco_classify(const uint8_t *pkt, size_t len);

/* the cleartext sender key, to look the peer up before opening (§3.6 step 2); -EINVAL when
 * wr_disco_is_disco is false */
int
wr_disco_sender_key(const uint8_t *pkt, size_t len, uint8_t out_key[WR_DISCO_KEY_LEN]);

/* the box key of a pair, either direction (crypto_box_beforenm); -EINVAL for a low-order key */
int
wr_disco_shared_key(uint8_t out_shared[WR_DISCO_KEY_LEN],
		    const uint8_t their_public[WR_DISCO_KEY_LEN],
		    const uint8_t my_private[WR_DISCO_KEY_LEN]);

/*
 * Frames and seals an inner message: writes WR_DISCO_OVERHEAD + msg_len bytes to dst and
 * returns that.  -EMSGSIZE beyond WR_DISCO_MAX_PACKET_LEN, -ENOBUFS when dst is too small.
 * nonce must be fresh random bytes for every packet.
 */
int
wr_disco_seal(uint8_t *dst, size_t dst_size, const uint8_t *msg, size_t msg_len,
	      const uint8_t my_public[WR_DISCO_KEY_LEN], const uint8_t shared[WR_DISCO_KEY_LEN],
	      const uint8_t nonce[WR_DISCO_NONCE_LEN]);
/*
 * Opens a packet with the shared key of its sender (the caller checked the sender key):
 * writes the inner message (len - WR_DISCO_OVERHEAD bytes) and returns its length.
 * -EINVAL when not disco or shorter than WR_DISCO_OVERHEAD, -ENOBUFS when dst is too
 * small, -EBADMSG when the box does not open (normal after a peer restarts).
 */
int
wr_disco_open(uint8_t *dst, size_t dst_size, const uint8_t *pkt, size_t len,
	      const uint8_t shared[WR_DISCO_KEY_LEN]);

/*
 * Inner message parsers.  Ping and Pong ignore the version and trailing bytes; a Pong needs
 * its 30 payload bytes.  A CallMeMaybe whose payload is empty, not a multiple of 18 or whose
 * version is not 0 parses as one with no endpoints (not an error).  -EBADMSG when shorter
 * than the header or the fixed part, or of another type.
 */
int
wr_disco_parse_ping(const uint8_t *msg, size_t len, WrDiscoPing *out);
int
wr_disco_parse_pong(const uint8_t *msg, size_t len, WrDiscoPong *out);
int
wr_disco_parse_call_me_maybe(const uint8_t *msg, size_t len, WrDiscoCallMeMaybe *out);
/* any inner message: 0, or -EBADMSG as above, or -ENOMSG for a type this codec does not
 * handle (the peer-relay ones and unknown ones), which the spec says to ignore silently */
int
wr_disco_parse(const uint8_t *msg, size_t len, WrDiscoMessage *out);

/*
 * Inner message builders, version 0: return the length written.  -ENOBUFS when dst is too
 * small, -EMSGSIZE beyond WR_DISCO_MAX_MESSAGE_LEN or WR_DISCO_MAX_ENDPOINTS,
 * -EAFNOSUPPORT for an endpoint that is neither IPv4 nor IPv6.  A ping without a node key
 * cannot be padded (-EINVAL): the padding would read as a key.
 */
int
wr_disco_build_ping(uint8_t *dst, size_t dst_size, const uint8_t tx_id[WR_DISCO_TXID_LEN],
		    const uint8_t *node_key, size_t padding);
int
wr_disco_build_pong(uint8_t *dst, size_t dst_size, const uint8_t tx_id[WR_DISCO_TXID_LEN],
		    const WrEndpoint *src);
int
wr_disco_build_call_me_maybe(uint8_t *dst, size_t dst_size, const WrEndpoint *endpoints,
			     size_t n_endpoints);

/* whether ep is 127.3.3.40 (a Pong src for a ping that came over DERP); the port is the
 * region id */
bool
wr_disco_endpoint_is_derp(const WrEndpoint *ep);
