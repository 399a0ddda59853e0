/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * BLAKE2s (RFC 7693), written for Warren because libsodium only ships BLAKE2b.
 * Plain, portable C; no I/O, no allocation.
 */

#pragma once

#include <stddef.h>
#include <stdint.h>

#define WR_BLAKE2S_BLOCK_SIZE 64
#define WR_BLAKE2S_HASH_SIZE  32
#define WR_BLAKE2S_KEY_SIZE   32

typedef struct {
	uint32_t h[8];
	uint32_t t[2];
	uint32_t f[2];
	uint8_t buf[WR_BLAKE2S_BLOCK_SIZE];
	size_t buflen;
	size_t outlen;
} WrBlake2s;

/* outlen is 1..32; key may be NULL when keylen is 0; keylen is 0..32 */
void
wr_blake2s_init(WrBlake2s *state, size_t outlen);
void
wr_blake2s_init_key(WrBlake2s *state, size_t outlen, const void *key, size_t keylen);
void
wr_blake2s_update(WrBlake2s *state, const void *in, size_t inlen);
/* writes state->outlen bytes and wipes the state */
void
wr_blake2s_final(WrBlake2s *state, uint8_t *out);

/* one-shot hash, keyed when keylen > 0 */
void
wr_blake2s(uint8_t *out, size_t outlen, const void *in, size_t inlen, const void *key,
	   size_t keylen);

/* HMAC (RFC 2104) over BLAKE2s-256 with its 64-byte block, as WireGuard's KDF uses it */
void
wr_blake2s_hmac(uint8_t out[WR_BLAKE2S_HASH_SIZE], const void *in, size_t inlen, const void *key,
		size_t keylen);
