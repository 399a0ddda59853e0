/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrDisco"

#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <string.h>

#include "wr-crypto.h"
#include "wr-disco.h"

#define IPV6_LEN	 16
#define PORT_LEN	 2
#define TYPE_OFF	 0
#define VERS_OFF	 1
#define TXID_OFF	 WR_DISCO_HEADER_LEN
#define PONG_PAYLOAD_LEN (WR_DISCO_TXID_LEN + WR_DISCO_ENDPOINT_LEN)

/* STUN (RFC 5389 §6): two zero bits, the method/class low byte 0x01 for binding request and
 * success response, and the magic cookie at 4..7 */
#define STUN_HEADER_LEN	   20
#define STUN_TOP_BITS_MASK 0xc0
#define STUN_BINDING_BYTE1 0x01
#define STUN_COOKIE_OFF	   4
#define STUN_COOKIE	   "\x21\x12\xa4\x42"
#define STUN_COOKIE_LEN	   4

G_STATIC_ASSERT(sizeof(WR_DISCO_MAGIC) - 1 == WR_DISCO_MAGIC_LEN);
G_STATIC_ASSERT(WR_DISCO_NONCE_LEN == WR_BOX_NONCE_LEN);
G_STATIC_ASSERT(WR_DISCO_TAG_LEN == WR_BOX_TAG_LEN);
G_STATIC_ASSERT(WR_DISCO_KEY_LEN == WR_CRYPTO_KEY_LEN);
G_STATIC_ASSERT(WR_DISCO_ENDPOINT_LEN == IPV6_LEN + PORT_LEN);
G_STATIC_ASSERT(WR_DISCO_OVERHEAD == 78);
G_STATIC_ASSERT(WR_DISCO_PING_PACKET_LEN == 124);
G_STATIC_ASSERT(WR_DISCO_PONG_PACKET_LEN == 110);
G_STATIC_ASSERT(WR_DISCO_OVERHEAD + WR_DISCO_CALL_ME_MAYBE_LEN(0) == 80);
G_STATIC_ASSERT(WR_DISCO_MAX_PACKET_LEN <= INT32_MAX);

bool
wr_disco_is_disco(const uint8_t *pkt, size_t len)
{
	return len >= WR_DISCO_MIN_CLASSIFY && memcmp(pkt, WR_DISCO_MAGIC, WR_DISCO_MAGIC_LEN) == 0;
}

static bool
is_stun_binding(const uint8_t *pkt, size_t len)
{
	return len >= STUN_HEADER_LEN && (pkt[0] & STUN_TOP_BITS_MASK) == 0 &&
	       pkt[1] == STUN_BINDING_BYTE1 &&
	       memcmp(pkt + STUN_COOKIE_OFF, STUN_COOKIE, STUN_COOKIE_LEN) == 0;
}

WrPacketKind
wr_disco_classify(const uint8_t *pkt, size_t len)
{
	if (is_stun_binding(pkt, len))
		return WR_PACKET_STUN;
	if (wr_disco_is_disco(pkt, len))
		return WR_PACKET_DISCO;
	return WR_PACKET_WIREGUARD;
}

int
wr_disco_sender_key(const uint8_t *pkt, size_t len, uint8_t out_key[WR_DISCO_KEY_LEN])
{
	if (!wr_disco_is_disco(pkt, len))
		return -EINVAL;
	memcpy(out_key, pkt + WR_DISCO_KEY_OFFSET, WR_DISCO_KEY_LEN);
	return 0;
}

int
wr_disco_shared_key(uint8_t out_shared[WR_DISCO_KEY_LEN],
		    const uint8_t their_public[WR_DISCO_KEY_LEN],
		    const uint8_t my_private[WR_DISCO_KEY_LEN])
{
	uint8_t shared[WR_DISCO_KEY_LEN];

	if (!wr_box_beforenm(shared, their_public, my_private))
		return -EINVAL;
	memcpy(out_shared, shared, sizeof(shared));
	wr_memzero(shared, sizeof(shared));
	return 0;
}

int
wr_disco_seal(uint8_t *dst, size_t dst_size, const uint8_t *msg, size_t msg_len,
	      const uint8_t my_public[WR_DISCO_KEY_LEN], const uint8_t shared[WR_DISCO_KEY_LEN],
	      const uint8_t nonce[WR_DISCO_NONCE_LEN])
{
	if (msg_len > WR_DISCO_MAX_MESSAGE_LEN)
		return -EMSGSIZE;
	if (dst_size < WR_DISCO_OVERHEAD + msg_len)
		return -ENOBUFS;
	memcpy(dst, WR_DISCO_MAGIC, WR_DISCO_MAGIC_LEN);
	memcpy(dst + WR_DISCO_KEY_OFFSET, my_public, WR_DISCO_KEY_LEN);
	memcpy(dst + WR_DISCO_NONCE_OFFSET, nonce, WR_DISCO_NONCE_LEN);
	wr_box_seal_afternm(dst + WR_DISCO_BOX_OFFSET, msg, msg_len, nonce, shared);
	return (int) (WR_DISCO_OVERHEAD + msg_len);
}

int
wr_disco_open(uint8_t *dst, size_t dst_size, const uint8_t *pkt, size_t len,
	      const uint8_t shared[WR_DISCO_KEY_LEN])
{
	size_t inner_len;

	if (!wr_disco_is_disco(pkt, len) || len < WR_DISCO_OVERHEAD)
		return -EINVAL;
	/* the receive path never sees more than a datagram or a DERP frame; keep int safe */
	if (len - WR_DISCO_OVERHEAD > INT32_MAX)
		return -EMSGSIZE;
	inner_len = len - WR_DISCO_OVERHEAD;
	if (dst_size < inner_len)
		return -ENOBUFS;
	/* the tag is verified before anything is written, so dst is untouched on failure */
	if (!wr_box_open_afternm(dst, pkt + WR_DISCO_BOX_OFFSET, len - WR_DISCO_BOX_OFFSET,
				 pkt + WR_DISCO_NONCE_OFFSET, shared))
		return -EBADMSG;
	return (int) inner_len;
}

/* 16-byte address (IPv4 as ::ffff:a.b.c.d) then the port, both in network order */
static int
put_endpoint(uint8_t out[WR_DISCO_ENDPOINT_LEN], const WrEndpoint *ep)
{
	WrEndpoint mapped;

	if (ep->sa.sa_family != AF_INET && ep->sa.sa_family != AF_INET6)
		return -EAFNOSUPPORT;
	wr_endpoint_to_v6_mapped(ep, &mapped);
	memcpy(out, &mapped.in6.sin6_addr, IPV6_LEN);
	memcpy(out + IPV6_LEN, &mapped.in6.sin6_port, PORT_LEN);
	return 0;
}

static void
get_endpoint(WrEndpoint *out, const uint8_t in[WR_DISCO_ENDPOINT_LEN])
{
	WrEndpoint ep;

	memset(&ep, 0, sizeof(ep));
	ep.in6.sin6_family = AF_INET6;
	memcpy(&ep.in6.sin6_addr, in, IPV6_LEN);
	memcpy(&ep.in6.sin6_port, in + IPV6_LEN, PORT_LEN);
	/* Tailscale compares unmapped addresses (pitfall 9) */
	wr_endpoint_unmap(&ep);
	*out = ep;
}

static bool
header_is(const uint8_t *msg, size_t len, WrDiscoType type)
{
	return len >= WR_DISCO_HEADER_LEN && msg[TYPE_OFF] == type;
}

int
wr_disco_parse_ping(const uint8_t *msg, size_t len, WrDiscoPing *out)
{
	WrDiscoPing ping;
	size_t rest;

	if (!header_is(msg, len, WR_DISCO_PING) || len < WR_DISCO_PING_MIN_LEN)
		return -EBADMSG;
	memset(&ping, 0, sizeof(ping));
	memcpy(ping.tx_id, msg + TXID_OFF, WR_DISCO_TXID_LEN);
	rest = len - WR_DISCO_PING_MIN_LEN;
	if (rest >= WR_DISCO_KEY_LEN) {
		ping.has_node_key = true;
		memcpy(ping.node_key, msg + WR_DISCO_PING_MIN_LEN, WR_DISCO_KEY_LEN);
		ping.padding = rest - WR_DISCO_KEY_LEN;
	}
	/* fewer than 32 bytes after the TxID: an old client's ping with a stray tail, which
	 * Tailscale takes as keyless */
	*out = ping;
	return 0;
}

int
wr_disco_parse_pong(const uint8_t *msg, size_t len, WrDiscoPong *out)
{
	WrDiscoPong pong;

	if (!header_is(msg, len, WR_DISCO_PONG) || len < WR_DISCO_PONG_LEN)
		return -EBADMSG;
	memset(&pong, 0, sizeof(pong));
	memcpy(pong.tx_id, msg + TXID_OFF, WR_DISCO_TXID_LEN);
	get_endpoint(&pong.src, msg + TXID_OFF + WR_DISCO_TXID_LEN);
	*out = pong;
	return 0;
}

int
wr_disco_parse_call_me_maybe(const uint8_t *msg, size_t len, WrDiscoCallMeMaybe *out)
{
	size_t payload;
	size_t n;

	if (!header_is(msg, len, WR_DISCO_CALL_ME_MAYBE))
		return -EBADMSG;
	payload = len - WR_DISCO_HEADER_LEN;
	/* written straight into out: nothing below can fail any more */
	out->n_endpoints = 0;
	if (msg[VERS_OFF] != WR_DISCO_VERSION || payload == 0 ||
	    payload % WR_DISCO_ENDPOINT_LEN != 0)
		return 0;
	n = MIN(payload / WR_DISCO_ENDPOINT_LEN, (size_t) WR_DISCO_MAX_ENDPOINTS);
	for (size_t i = 0; i < n; i++) {
		get_endpoint(&out->endpoints[i],
			     msg + WR_DISCO_HEADER_LEN + i * WR_DISCO_ENDPOINT_LEN);
	}
	out->n_endpoints = n;
	return 0;
}

int
wr_disco_parse(const uint8_t *msg, size_t len, WrDiscoMessage *out)
{
	WrDiscoMessage m;
	int rc;

	if (len < WR_DISCO_HEADER_LEN)
		return -EBADMSG;
	memset(&m, 0, sizeof(m));
	m.version = msg[VERS_OFF];
	switch (msg[TYPE_OFF]) {
	case WR_DISCO_PING:
		rc = wr_disco_parse_ping(msg, len, &m.ping);
		break;
	case WR_DISCO_PONG:
		rc = wr_disco_parse_pong(msg, len, &m.pong);
		break;
	case WR_DISCO_CALL_ME_MAYBE:
		rc = wr_disco_parse_call_me_maybe(msg, len, &m.call_me_maybe);
		break;
	default:
		return -ENOMSG;
	}
	if (rc < 0)
		return rc;
	m.type = (WrDiscoType) msg[TYPE_OFF];
	*out = m;
	return 0;
}

static void
put_header(uint8_t *dst, WrDiscoType type)
{
	dst[TYPE_OFF] = (uint8_t) type;
	dst[VERS_OFF] = WR_DISCO_VERSION;
}

int
wr_disco_build_ping(uint8_t *dst, size_t dst_size, const uint8_t tx_id[WR_DISCO_TXID_LEN],
		    const uint8_t *node_key, size_t padding)
{
	size_t len;

	if (node_key == NULL && padding > 0)
		return -EINVAL;
	if (padding > WR_DISCO_MAX_MESSAGE_LEN - WR_DISCO_PING_LEN)
		return -EMSGSIZE;
	len = node_key != NULL ? WR_DISCO_PING_LEN + padding : WR_DISCO_PING_MIN_LEN;
	if (dst_size < len)
		return -ENOBUFS;
	put_header(dst, WR_DISCO_PING);
	memcpy(dst + TXID_OFF, tx_id, WR_DISCO_TXID_LEN);
	if (node_key != NULL) {
		memcpy(dst + WR_DISCO_PING_MIN_LEN, node_key, WR_DISCO_KEY_LEN);
		memset(dst + WR_DISCO_PING_LEN, 0, padding);
	}
	return (int) len;
}

int
wr_disco_build_pong(uint8_t *dst, size_t dst_size, const uint8_t tx_id[WR_DISCO_TXID_LEN],
		    const WrEndpoint *src)
{
	uint8_t ep[WR_DISCO_ENDPOINT_LEN];
	int rc;

	rc = put_endpoint(ep, src);
	if (rc < 0)
		return rc;
	if (dst_size < WR_DISCO_PONG_LEN)
		return -ENOBUFS;
	put_header(dst, WR_DISCO_PONG);
	memcpy(dst + TXID_OFF, tx_id, WR_DISCO_TXID_LEN);
	memcpy(dst + TXID_OFF + WR_DISCO_TXID_LEN, ep, sizeof(ep));
	return WR_DISCO_PONG_LEN;
}

int
wr_disco_build_call_me_maybe(uint8_t *dst, size_t dst_size, const WrEndpoint *endpoints,
			     size_t n_endpoints)
{
	size_t len;

	if (n_endpoints > WR_DISCO_MAX_ENDPOINTS)
		return -EMSGSIZE;
	/* validate all first so that dst is untouched on failure */
	for (size_t i = 0; i < n_endpoints; i++) {
		if (endpoints[i].sa.sa_family != AF_INET && endpoints[i].sa.sa_family != AF_INET6)
			return -EAFNOSUPPORT;
	}
	len = WR_DISCO_CALL_ME_MAYBE_LEN(n_endpoints);
	if (dst_size < len)
		return -ENOBUFS;
	put_header(dst, WR_DISCO_CALL_ME_MAYBE);
	for (size_t i = 0; i < n_endpoints; i++)
		(void) put_endpoint(dst + WR_DISCO_HEADER_LEN + i * WR_DISCO_ENDPOINT_LEN,
				    &endpoints[i]);
	return (int) len;
}

bool
wr_disco_endpoint_is_derp(const WrEndpoint *ep)
{
	WrEndpoint plain = *ep;

	wr_endpoint_unmap(&plain);
	return plain.sa.sa_family == AF_INET &&
	       plain.in4.sin_addr.s_addr == htonl(WR_DISCO_DERP_MAGIC_IP);
}
