/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The engine's cryptographic primitives.  wr-crypto.c is the only file that includes
 * <sodium.h>: AEADs, X25519, randomness, constant-time helpers and guarded memory come
 * from libsodium; BLAKE2s and its HMAC come from wr-blake2s.c; the Noise KDF is here.
 */

#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WR_CRYPTO_KEY_LEN    32
#define WR_CRYPTO_TAG_LEN    16
#define WR_CRYPTO_XNONCE_LEN 24

/* call once from each main() and each test main(); false if libsodium cannot start */
bool
wr_crypto_init(void);

/*
 * ChaCha20-Poly1305 (RFC 8439) with WireGuard's nonce: 4 zero bytes then the 64-bit
 * little-endian counter.  dst may equal src.  Encrypt writes src_len + 16 bytes.
 * Decrypt takes src_len including the tag, writes src_len - 16 bytes, and returns false
 * (dst undefined) when the tag does not verify or src_len < 16.
 */
void
wr_aead_encrypt(uint8_t *dst, const uint8_t *src, size_t src_len, const uint8_t *ad, size_t ad_len,
		uint64_t nonce, const uint8_t key[WR_CRYPTO_KEY_LEN]);
bool
wr_aead_decrypt(uint8_t *dst, const uint8_t *src, size_t src_len, const uint8_t *ad, size_t ad_len,
		uint64_t nonce, const uint8_t key[WR_CRYPTO_KEY_LEN]);

/* XChaCha20-Poly1305 with a 24-byte nonce, for cookie replies; same conventions */
void
wr_xaead_encrypt(uint8_t *dst, const uint8_t *src, size_t src_len, const uint8_t *ad, size_t ad_len,
		 const uint8_t nonce[WR_CRYPTO_XNONCE_LEN], const uint8_t key[WR_CRYPTO_KEY_LEN]);
bool
wr_xaead_decrypt(uint8_t *dst, const uint8_t *src, size_t src_len, const uint8_t *ad, size_t ad_len,
		 const uint8_t nonce[WR_CRYPTO_XNONCE_LEN], const uint8_t key[WR_CRYPTO_KEY_LEN]);

/*
 * NaCl box (crypto_box: X25519, HSalsa20, XSalsa20-Poly1305) in libsodium's "easy" layout:
 * the sealed form is the 16-byte Poly1305 tag then the ciphertext, len + 16 bytes; the nonce
 * travels separately.  dst must not overlap the input.  Seal fails (dst untouched) when
 * their_public is a low-order point.  Open takes box_len including the tag, writes
 * box_len - 16 bytes, and returns false when box_len < 16, the key is low-order or the tag
 * does not verify; dst is untouched then, as the tag is checked before anything is written.
 */
#define WR_BOX_NONCE_LEN 24
#define WR_BOX_TAG_LEN	 16

bool
wr_box_seal(uint8_t *dst, const uint8_t *msg, size_t len, const uint8_t nonce[WR_BOX_NONCE_LEN],
	    const uint8_t their_public[WR_CRYPTO_KEY_LEN],
	    const uint8_t my_private[WR_CRYPTO_KEY_LEN]);
bool
wr_box_open(uint8_t *dst, const uint8_t *box, size_t box_len, const uint8_t nonce[WR_BOX_NONCE_LEN],
	    const uint8_t their_public[WR_CRYPTO_KEY_LEN],
	    const uint8_t my_private[WR_CRYPTO_KEY_LEN]);
/*
 * the shared key of a pair (crypto_box_beforenm), the same from either side, so that a peer's
 * boxes cost no X25519 each; false and out_shared zeroed for a low-order public key.  Wipe
 * it with wr_memzero when the peer goes.
 */
bool
wr_box_beforenm(uint8_t out_shared[WR_CRYPTO_KEY_LEN],
		const uint8_t their_public[WR_CRYPTO_KEY_LEN],
		const uint8_t my_private[WR_CRYPTO_KEY_LEN]);
void
wr_box_seal_afternm(uint8_t *dst, const uint8_t *msg, size_t len,
		    const uint8_t nonce[WR_BOX_NONCE_LEN], const uint8_t shared[WR_CRYPTO_KEY_LEN]);
bool
wr_box_open_afternm(uint8_t *dst, const uint8_t *box, size_t box_len,
		    const uint8_t nonce[WR_BOX_NONCE_LEN], const uint8_t shared[WR_CRYPTO_KEY_LEN]);

/* X25519 (RFC 7748): false when the shared point is all zeros (a low-order public key) */
bool
wr_x25519(uint8_t out[WR_CRYPTO_KEY_LEN], const uint8_t scalar[WR_CRYPTO_KEY_LEN],
	  const uint8_t point[WR_CRYPTO_KEY_LEN]);
/* a new clamped private key and its public key */
void
wr_x25519_generate(uint8_t out_private[WR_CRYPTO_KEY_LEN], uint8_t out_public[WR_CRYPTO_KEY_LEN]);
/* the public key of a private key; false for an all-zero private key */
bool
wr_x25519_public(uint8_t out_public[WR_CRYPTO_KEY_LEN],
		 const uint8_t private_key[WR_CRYPTO_KEY_LEN]);
/* clamps a private key in place as X25519 does */
void
wr_x25519_clamp(uint8_t key[WR_CRYPTO_KEY_LEN]);

/* Noise hashes: BLAKE2s-256 */
void
wr_hash(uint8_t out[32], const void *in, size_t inlen);
/* WireGuard's MAC: keyed BLAKE2s with a 16-byte output */
void
wr_mac(uint8_t out[16], const void *in, size_t inlen, const uint8_t *key, size_t keylen);

/*
 * The Noise KDF of WireGuard (HKDF over HMAC-BLAKE2s, whitepaper §5.4):
 * τ0 = HMAC(chaining_key, data); τ1 = HMAC(τ0, 0x01); τi = HMAC(τ0, τ(i-1) || i).
 * Writes first_len bytes of τ1 to first_dst, and likewise τ2 and τ3 when their
 * destinations are non-NULL.  Lengths are at most 32.  Intermediates are wiped.
 */
void
wr_kdf(uint8_t *first_dst, uint8_t *second_dst, uint8_t *third_dst, const uint8_t *data,
       size_t first_len, size_t second_len, size_t third_len, size_t data_len,
       const uint8_t chaining_key[32]);

/* randomness from the kernel's CSPRNG */
void
wr_random_bytes(void *buf, size_t len);
uint32_t
wr_random_u32(void);
/* uniform in [0, upper) without modulo bias; upper > 0 */
uint32_t
wr_random_uniform(uint32_t upper);

/* wipes memory in a way the compiler cannot elide */
void
wr_memzero(void *p, size_t len);
/* constant-time equality of two buffers of the same length */
bool
wr_memeq(const void *a, const void *b, size_t len);
/* constant-time test for all zeros */
bool
wr_is_zero(const void *p, size_t len);

/* guarded, mlocked memory for long-lived secrets; wr_secure_free wipes and accepts NULL */
void *
wr_secure_alloc(size_t len);
void
wr_secure_free(void *p);

/* SipHash-2-4 with a 16-byte key: for hash tables fed by the network, so they cannot be flooded */
uint64_t
wr_siphash(const uint8_t key[16], const void *in, size_t len);
