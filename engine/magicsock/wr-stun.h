/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * STUN Binding (RFC 5389 subset, as Tailscale speaks it): the 40-byte request with
 * SOFTWARE="tailnode" and FINGERPRINT, the success response with XOR-MAPPED-ADDRESS, and the
 * classifier for the shared UDP socket.  Pure codec: bytes in, bytes or an endpoint out; no
 * sockets, no clocks.  Functions returning int give 0 (or a length) on success and a negative
 * errno on failure, and leave their out parameters untouched on failure:
 *   -EINVAL   not a STUN Binding message of the expected type (wrong class/method/cookie)
 *   -EBADMSG  malformed: bad length, attribute overrun, bad attribute body, bad FINGERPRINT
 *   -ENOMSG   well formed but a required attribute is missing (SOFTWARE, FINGERPRINT, address)
 */

#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wr-addr.h"

#define WR_STUN_MAGIC_COOKIE	0x2112A442u
#define WR_STUN_FINGERPRINT_XOR 0x5354554Eu
#define WR_STUN_HEADER_LEN	20
#define WR_STUN_ATTR_HEADER_LEN 4
#define WR_STUN_TXID_LEN	12
/* the value Tailscale's STUN servers insist on (§5.4) */
#define WR_STUN_SOFTWARE	"tailnode"
#define WR_STUN_SOFTWARE_LEN	8
#define WR_STUN_FINGERPRINT_LEN 4
/* header + SOFTWARE(8) + FINGERPRINT */
#define WR_STUN_REQUEST_LEN 40
/* header + XOR-MAPPED-ADDRESS for IPv6 (20) + FINGERPRINT: enough for any response we build */
#define WR_STUN_RESPONSE_MAX_LEN 52
/* family codes inside (XOR-)MAPPED-ADDRESS */
#define WR_STUN_FAMILY_IPV4 0x01
#define WR_STUN_FAMILY_IPV6 0x02

/* message types (class and method folded together) */
typedef enum {
	WR_STUN_BINDING_REQUEST = 0x0001,
	WR_STUN_BINDING_SUCCESS = 0x0101,
} WrStunType;

typedef enum {
	WR_STUN_ATTR_MAPPED_ADDRESS = 0x0001,
	WR_STUN_ATTR_XOR_MAPPED_ADDRESS = 0x0020,
	/* non-standard code some servers use for XOR-MAPPED-ADDRESS (§5.3) */
	WR_STUN_ATTR_XOR_MAPPED_ADDRESS_ALT = 0x8020,
	WR_STUN_ATTR_SOFTWARE = 0x8022,
	WR_STUN_ATTR_FINGERPRINT = 0x8028,
} WrStunAttr;

/* CRC-32 (IEEE 802.3, as zlib's crc32()) of len bytes */
uint32_t
wr_stun_crc32(const uint8_t *data, size_t len);

/* the §3.4 step 1 demux test: at least a header, top two bits zero, the magic cookie, and
 * byte 1 == 0x01 (a Binding request or success response) */
bool
wr_stun_is_stun(const uint8_t *pkt, size_t len);

/* the exact 40-byte request of §5.1 with the caller's (random) transaction id */
void
wr_stun_build_request(uint8_t out[WR_STUN_REQUEST_LEN], const uint8_t txid[WR_STUN_TXID_LEN]);

/* what a server asks of a Binding request beyond being well formed */
typedef enum {
	/* Tailscale's stunserver (§5.4): SOFTWARE="tailnode" anywhere and a valid FINGERPRINT
	 * last; plain RFC 5389 requests are dropped */
	WR_STUN_ACCEPT_TAILNODE,
	/* any Binding request (as turnutils_stunclient sends: a bare 20-byte header); a
	 * FINGERPRINT, when present, must still be last and correct */
	WR_STUN_ACCEPT_ANY,
} WrStunAccept;

/* server side: accepts a Binding request if the header length matches the datagram, the
 * attributes walk cleanly and the accept rule holds.  On success copies the transaction id to
 * echo. */
int
wr_stun_parse_request(const uint8_t *pkt, size_t len, WrStunAccept accept,
		      uint8_t out_txid[WR_STUN_TXID_LEN]);

/* server side: a Binding success response carrying XOR-MAPPED-ADDRESS for mapped (AF_INET or
 * AF_INET6; a v4-mapped IPv6 address is sent as IPv4).  With fingerprint false the bytes are
 * exactly Tailscale's (§5.2); with true a FINGERPRINT follows, as RFC 5389 recommends.
 * Returns the length written (32/44, or 40/52 with FINGERPRINT), -EAFNOSUPPORT for another
 * family, -ENOBUFS if out_size is too small (WR_STUN_RESPONSE_MAX_LEN always suffices). */
int
wr_stun_build_response(uint8_t *out, size_t out_size, const uint8_t txid[WR_STUN_TXID_LEN],
		       const WrEndpoint *mapped, bool fingerprint);

/* client side (§5.3): a Binding success response; bytes past the header length are ignored,
 * unknown attributes are skipped, XOR-MAPPED-ADDRESS (0x0020, then 0x8020) is preferred over
 * MAPPED-ADDRESS, and a FINGERPRINT, when present, must be last and correct.  Returns the
 * transaction id for the caller to match against its probes in flight, and the reflexive
 * address (v4-mapped IPv6 unmapped). */
int
wr_stun_parse_response(const uint8_t *pkt, size_t len, uint8_t out_txid[WR_STUN_TXID_LEN],
		       WrEndpoint *out_mapped);
