/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "config.h"

#include "wr-derp-endpoint.h"

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) (v >> 24);
	p[1] = (uint8_t) (v >> 16);
	p[2] = (uint8_t) (v >> 8);
	p[3] = (uint8_t) v;
}

static uint32_t
get_be32(const uint8_t *p)
{
	return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

void
wr_derp_endpoint_encode(uint32_t region, uint32_t peer, WrEndpoint *out)
{
	memset(out, 0, sizeof(*out));
	out->in6.sin6_family = AF_INET6;
	memcpy(out->in6.sin6_addr.s6_addr, WR_DERP_ENDPOINT_PREFIX, 8);
	put_be32(out->in6.sin6_addr.s6_addr + 8, region);
	put_be32(out->in6.sin6_addr.s6_addr + 12, peer);
}

bool
wr_derp_endpoint_decode(const WrEndpoint *ep, uint32_t *out_region, uint32_t *out_peer)
{
	if (!wr_derp_endpoint_is_derp(ep))
		return false;
	*out_region = get_be32(ep->in6.sin6_addr.s6_addr + 8);
	*out_peer = get_be32(ep->in6.sin6_addr.s6_addr + 12);
	return true;
}
