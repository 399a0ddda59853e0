/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrBlake2s"

#include "config.h"

#include <glib.h>
#include <string.h>

#include "wr-blake2s.h"
#include "wr-crypto.h"

/* RFC 7693 §2.6: the SHA-256 initial values */
static const uint32_t blake2s_iv[8] = {
	0x6a09e667U, 0xbb67ae85U, 0x3c6ef372U, 0xa54ff53aU,
	0x510e527fU, 0x9b05688cU, 0x1f83d9abU, 0x5be0cd19U,
};

/* RFC 7693 §2.7: message word schedule, one row per round */
static const uint8_t blake2s_sigma[10][16] = {
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
	{14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
	{11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
	{7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
	{9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
	{2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
	{12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
	{13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
	{6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
	{10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
};

/* RFC 2104 inner and outer pads */
#define HMAC_IPAD 0x36
#define HMAC_OPAD 0x5c

/* parameter block word 0: digest length, key length << 8, fanout 1, depth 1 (sequential mode) */
#define BLAKE2S_PARAM_SEQUENTIAL 0x01010000U

static inline uint32_t
load32_le(const uint8_t *p)
{
	return (uint32_t) p[0] | ((uint32_t) p[1] << 8) | ((uint32_t) p[2] << 16) |
	       ((uint32_t) p[3] << 24);
}

static inline void
store32_le(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) v;
	p[1] = (uint8_t) (v >> 8);
	p[2] = (uint8_t) (v >> 16);
	p[3] = (uint8_t) (v >> 24);
}

static inline uint32_t
ror32(uint32_t v, unsigned int n)
{
	return (v >> n) | (v << (32 - n));
}

/* RFC 7693 §3.1, with BLAKE2s's rotations 16, 12, 8, 7 */
#define G(a, b, c, d, x, y)           \
	do {                          \
		a = a + b + (x);      \
		d = ror32(d ^ a, 16); \
		c = c + d;            \
		b = ror32(b ^ c, 12); \
		a = a + b + (y);      \
		d = ror32(d ^ a, 8);  \
		c = c + d;            \
		b = ror32(b ^ c, 7);  \
	} while (0)

/* RFC 7693 §3.2: advances the byte counter by inc, then mixes one block into h */
static void
compress(WrBlake2s *state, const uint8_t block[WR_BLAKE2S_BLOCK_SIZE], uint32_t inc)
{
	uint32_t m[16];
	uint32_t v[16];

	state->t[0] += inc;
	state->t[1] += (state->t[0] < inc);

	for (size_t i = 0; i < 16; i++)
		m[i] = load32_le(block + 4 * i);
	for (size_t i = 0; i < 8; i++) {
		v[i] = state->h[i];
		v[i + 8] = blake2s_iv[i];
	}
	v[12] ^= state->t[0];
	v[13] ^= state->t[1];
	v[14] ^= state->f[0];
	v[15] ^= state->f[1];

	for (size_t r = 0; r < 10; r++) {
		const uint8_t *s = blake2s_sigma[r];

		G(v[0], v[4], v[8], v[12], m[s[0]], m[s[1]]);
		G(v[1], v[5], v[9], v[13], m[s[2]], m[s[3]]);
		G(v[2], v[6], v[10], v[14], m[s[4]], m[s[5]]);
		G(v[3], v[7], v[11], v[15], m[s[6]], m[s[7]]);
		G(v[0], v[5], v[10], v[15], m[s[8]], m[s[9]]);
		G(v[1], v[6], v[11], v[12], m[s[10]], m[s[11]]);
		G(v[2], v[7], v[8], v[13], m[s[12]], m[s[13]]);
		G(v[3], v[4], v[9], v[14], m[s[14]], m[s[15]]);
	}

	for (size_t i = 0; i < 8; i++)
		state->h[i] ^= v[i] ^ v[i + 8];
}

void
wr_blake2s_init_key(WrBlake2s *state, size_t outlen, const void *key, size_t keylen)
{
	g_assert(outlen >= 1 && outlen <= WR_BLAKE2S_HASH_SIZE);
	g_assert(keylen <= WR_BLAKE2S_KEY_SIZE);
	g_assert(key != NULL || keylen == 0);

	for (size_t i = 0; i < 8; i++)
		state->h[i] = blake2s_iv[i];
	state->h[0] ^= BLAKE2S_PARAM_SEQUENTIAL | ((uint32_t) keylen << 8) | (uint32_t) outlen;
	state->t[0] = state->t[1] = 0;
	state->f[0] = state->f[1] = 0;
	state->buflen = 0;
	state->outlen = outlen;

	/* a key is absorbed as a first block of its own, zero-padded */
	if (keylen > 0) {
		uint8_t block[WR_BLAKE2S_BLOCK_SIZE] = {0};

		memcpy(block, key, keylen);
		wr_blake2s_update(state, block, sizeof(block));
		wr_memzero(block, sizeof(block));
	}
}

void
wr_blake2s_init(WrBlake2s *state, size_t outlen)
{
	wr_blake2s_init_key(state, outlen, NULL, 0);
}

void
wr_blake2s_update(WrBlake2s *state, const void *in, size_t inlen)
{
	const uint8_t *p = in;
	size_t fill;

	if (inlen == 0)
		return;

	/*
	 * the last block must be compressed by final() with the finalization flag, so a full
	 * buffer is only compressed once more input is known to follow it
	 */
	fill = WR_BLAKE2S_BLOCK_SIZE - state->buflen;
	if (inlen > fill) {
		memcpy(state->buf + state->buflen, p, fill);
		compress(state, state->buf, WR_BLAKE2S_BLOCK_SIZE);
		state->buflen = 0;
		p += fill;
		inlen -= fill;
		while (inlen > WR_BLAKE2S_BLOCK_SIZE) {
			compress(state, p, WR_BLAKE2S_BLOCK_SIZE);
			p += WR_BLAKE2S_BLOCK_SIZE;
			inlen -= WR_BLAKE2S_BLOCK_SIZE;
		}
	}
	memcpy(state->buf + state->buflen, p, inlen);
	state->buflen += inlen;
}

void
wr_blake2s_final(WrBlake2s *state, uint8_t *out)
{
	uint8_t digest[WR_BLAKE2S_HASH_SIZE];

	memset(state->buf + state->buflen, 0, WR_BLAKE2S_BLOCK_SIZE - state->buflen);
	state->f[0] = UINT32_MAX;
	compress(state, state->buf, (uint32_t) state->buflen);

	for (size_t i = 0; i < 8; i++)
		store32_le(digest + 4 * i, state->h[i]);
	memcpy(out, digest, state->outlen);

	wr_memzero(digest, sizeof(digest));
	wr_memzero(state, sizeof(*state));
}

void
wr_blake2s(uint8_t *out, size_t outlen, const void *in, size_t inlen, const void *key,
	   size_t keylen)
{
	WrBlake2s state;

	wr_blake2s_init_key(&state, outlen, key, keylen);
	wr_blake2s_update(&state, in, inlen);
	wr_blake2s_final(&state, out);
}

/* out may alias in or key: both are consumed before out is written */
void
wr_blake2s_hmac(uint8_t out[WR_BLAKE2S_HASH_SIZE], const void *in, size_t inlen, const void *key,
		size_t keylen)
{
	WrBlake2s state;
	uint8_t pad[WR_BLAKE2S_BLOCK_SIZE] = {0};
	uint8_t inner[WR_BLAKE2S_HASH_SIZE];

	g_assert(key != NULL || keylen == 0);

	/* RFC 2104 §2: keys longer than the block are hashed first */
	if (keylen > WR_BLAKE2S_BLOCK_SIZE)
		wr_blake2s(pad, WR_BLAKE2S_HASH_SIZE, key, keylen, NULL, 0);
	else if (keylen > 0)
		memcpy(pad, key, keylen);

	for (size_t i = 0; i < sizeof(pad); i++)
		pad[i] ^= HMAC_IPAD;
	wr_blake2s_init(&state, WR_BLAKE2S_HASH_SIZE);
	wr_blake2s_update(&state, pad, sizeof(pad));
	wr_blake2s_update(&state, in, inlen);
	wr_blake2s_final(&state, inner);

	for (size_t i = 0; i < sizeof(pad); i++)
		pad[i] ^= HMAC_IPAD ^ HMAC_OPAD;
	wr_blake2s_init(&state, WR_BLAKE2S_HASH_SIZE);
	wr_blake2s_update(&state, pad, sizeof(pad));
	wr_blake2s_update(&state, inner, sizeof(inner));
	wr_blake2s_final(&state, out);

	wr_memzero(pad, sizeof(pad));
	wr_memzero(inner, sizeof(inner));
}
