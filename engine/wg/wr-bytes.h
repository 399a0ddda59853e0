/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Big-endian (network order) 16- and 32-bit fields read from and written to byte buffers, as
 * every wire codec here needs them (STUN, DNS, PCP/NAT-PMP, IP headers in the packet filter
 * and the TUN offloads).  Byte by byte, so that no alignment is assumed; compilers turn each
 * into one load or store and a byte swap.  The caller checks the bounds.
 */
#pragma once

#include <stdint.h>

static inline uint16_t
wr_get_be16(const uint8_t *p)
{
	return (uint16_t) ((p[0] << 8) | p[1]);
}

static inline uint32_t
wr_get_be32(const uint8_t *p)
{
	return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) | ((uint32_t) p[2] << 8) | p[3];
}

static inline void
wr_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t) (v >> 8);
	p[1] = (uint8_t) v;
}

static inline void
wr_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) (v >> 24);
	p[1] = (uint8_t) (v >> 16);
	p[2] = (uint8_t) (v >> 8);
	p[3] = (uint8_t) v;
}
