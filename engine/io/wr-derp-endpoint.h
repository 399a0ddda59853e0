/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * DERP endpoints: how the WireGuard device names "peer P, reached through DERP region R".
 *
 * The device only knows socket addresses, so a peer that is reached over DERP gets an
 * endpoint no real peer can have, and the UDP writer tells it apart with one comparison:
 *
 *   [fd7a:115c:a1e0:ffff:RRRR:RRRR:PPPP:PPPP]:0
 *
 * The first 64 bits are a fixed block inside Warren's default tailnet ULA prefix
 * (fd7a:115c:a1e0::/48, subnet ffff, which node addresses never use: they sit in subnet 0).
 * No peer's underlay address is ever there: the socket's traffic is never routed into the
 * tunnel, and a ULA is not reachable from outside its site.  R is the DERP region (32 bits, big
 * endian), P a peer number the caller chooses (32 bits; warrend's path state maps it to the
 * peer's public key, which is what DERP routes on).  The port is 0, so that the address can
 * never be confused with a socket, and is ignored when decoding.
 *
 * Datagrams that arrive over DERP enter the device with the same endpoint as their source
 * (wr_wg_io_inject), so that replies take the same way until a direct path is set.
 *
 * This is not the disco "DERP source" of the path state (wr_path_derp_source,
 * 127.3.3.40:<region>): that one is on the wire (a Pong's Src, derp-disco-stun.md §3.5) and
 * names a region only; this one never leaves the host and names a peer too.
 */

#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "wr-addr.h"

/* the first 64 bits of every DERP endpoint, as they are in memory (network order) */
#define WR_DERP_ENDPOINT_PREFIX ((const uint8_t[8]){0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0, 0xff, 0xff})

void
wr_derp_endpoint_encode(uint32_t region, uint32_t peer, WrEndpoint *out);
/* false (outputs untouched) when ep is not a DERP endpoint */
bool
wr_derp_endpoint_decode(const WrEndpoint *ep, uint32_t *out_region, uint32_t *out_peer);

/* the hot-path test: the family and one 64-bit comparison */
static inline bool
wr_derp_endpoint_is_derp(const WrEndpoint *ep)
{
	uint64_t head, prefix;

	if (ep->sa.sa_family != AF_INET6)
		return false;
	memcpy(&head, ep->in6.sin6_addr.s6_addr, sizeof(head));
	memcpy(&prefix, WR_DERP_ENDPOINT_PREFIX, sizeof(prefix));
	return head == prefix;
}
