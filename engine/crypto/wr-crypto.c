/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrCrypto"

#include "config.h"

#include <glib.h>
#include <sodium.h>
#include <string.h>

#include "wr-blake2s.h"
#include "wr-crypto.h"

/* WireGuard's nonce: 4 zero bytes, then the 64-bit counter in little endian */
#define WG_NONCE_LEN		12
#define WG_NONCE_COUNTER_OFFSET 4
#define WR_MAC_LEN		16
#define SIPHASH_KEY_LEN		16
#define SIPHASH_OUT_LEN		8

G_STATIC_ASSERT(WR_CRYPTO_KEY_LEN == crypto_aead_chacha20poly1305_ietf_KEYBYTES);
G_STATIC_ASSERT(WR_CRYPTO_TAG_LEN == crypto_aead_chacha20poly1305_ietf_ABYTES);
G_STATIC_ASSERT(WG_NONCE_LEN == crypto_aead_chacha20poly1305_ietf_NPUBBYTES);
G_STATIC_ASSERT(WR_CRYPTO_KEY_LEN == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
G_STATIC_ASSERT(WR_CRYPTO_TAG_LEN == crypto_aead_xchacha20poly1305_ietf_ABYTES);
G_STATIC_ASSERT(WR_CRYPTO_XNONCE_LEN == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
G_STATIC_ASSERT(WR_CRYPTO_KEY_LEN == crypto_scalarmult_curve25519_BYTES);
G_STATIC_ASSERT(WR_CRYPTO_KEY_LEN == crypto_scalarmult_curve25519_SCALARBYTES);
G_STATIC_ASSERT(WR_BLAKE2S_HASH_SIZE == 32);
G_STATIC_ASSERT(SIPHASH_KEY_LEN == crypto_shorthash_siphash24_KEYBYTES);
G_STATIC_ASSERT(SIPHASH_OUT_LEN == crypto_shorthash_siphash24_BYTES);
G_STATIC_ASSERT(WR_BOX_NONCE_LEN == crypto_box_NONCEBYTES);
G_STATIC_ASSERT(WR_BOX_TAG_LEN == crypto_box_MACBYTES);
G_STATIC_ASSERT(WR_CRYPTO_KEY_LEN == crypto_box_PUBLICKEYBYTES);
G_STATIC_ASSERT(WR_CRYPTO_KEY_LEN == crypto_box_SECRETKEYBYTES);
G_STATIC_ASSERT(WR_CRYPTO_KEY_LEN == crypto_box_BEFORENMBYTES);

bool
wr_crypto_init(void)
{
	/* 0 on first success, 1 when already initialised */
	return sodium_init() >= 0;
}

static inline void
wg_nonce(uint8_t out[WG_NONCE_LEN], uint64_t counter)
{
	memset(out, 0, WG_NONCE_COUNTER_OFFSET);
	for (size_t i = 0; i < sizeof(counter); i++)
		out[WG_NONCE_COUNTER_OFFSET + i] = (uint8_t) (counter >> (8 * i));
}

/*
 * dst == src works, as libsodium documents: the stream cipher XORs in place, the tag is
 * computed over the finished ciphertext when encrypting and verified before anything is
 * written when decrypting (a failed decrypt leaves zeros in dst)
 */
void
wr_aead_encrypt(uint8_t *dst, const uint8_t *src, size_t src_len, const uint8_t *ad, size_t ad_len,
		uint64_t nonce, const uint8_t key[WR_CRYPTO_KEY_LEN])
{
	uint8_t n[WG_NONCE_LEN];

	wg_nonce(n, nonce);
	(void) crypto_aead_chacha20poly1305_ietf_encrypt_detached(
		dst, dst + src_len, NULL, src, src_len, ad, ad_len, NULL, n, key);
}

bool
wr_aead_decrypt(uint8_t *dst, const uint8_t *src, size_t src_len, const uint8_t *ad, size_t ad_len,
		uint64_t nonce, const uint8_t key[WR_CRYPTO_KEY_LEN])
{
	uint8_t n[WG_NONCE_LEN];

	if (src_len < WR_CRYPTO_TAG_LEN)
		return false;
	wg_nonce(n, nonce);
	return crypto_aead_chacha20poly1305_ietf_decrypt_detached(
		       dst, NULL, src, src_len - WR_CRYPTO_TAG_LEN,
		       src + src_len - WR_CRYPTO_TAG_LEN, ad, ad_len, n, key) == 0;
}

void
wr_xaead_encrypt(uint8_t *dst, const uint8_t *src, size_t src_len, const uint8_t *ad, size_t ad_len,
		 const uint8_t nonce[WR_CRYPTO_XNONCE_LEN], const uint8_t key[WR_CRYPTO_KEY_LEN])
{
	(void) crypto_aead_xchacha20poly1305_ietf_encrypt_detached(
		dst, dst + src_len, NULL, src, src_len, ad, ad_len, NULL, nonce, key);
}

bool
wr_xaead_decrypt(uint8_t *dst, const uint8_t *src, size_t src_len, const uint8_t *ad, size_t ad_len,
		 const uint8_t nonce[WR_CRYPTO_XNONCE_LEN], const uint8_t key[WR_CRYPTO_KEY_LEN])
{
	if (src_len < WR_CRYPTO_TAG_LEN)
		return false;
	return crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
		       dst, NULL, src, src_len - WR_CRYPTO_TAG_LEN,
		       src + src_len - WR_CRYPTO_TAG_LEN, ad, ad_len, nonce, key) == 0;
}

bool
wr_box_beforenm(uint8_t out_shared[WR_CRYPTO_KEY_LEN],
		const uint8_t their_public[WR_CRYPTO_KEY_LEN],
		const uint8_t my_private[WR_CRYPTO_KEY_LEN])
{
	/* libsodium refuses an all-zero X25519 result, i.e. a low-order public key */
	if (crypto_box_beforenm(out_shared, their_public, my_private) != 0) {
		sodium_memzero(out_shared, WR_CRYPTO_KEY_LEN);
		return false;
	}
	return true;
}

void
wr_box_seal_afternm(uint8_t *dst, const uint8_t *msg, size_t len,
		    const uint8_t nonce[WR_BOX_NONCE_LEN], const uint8_t shared[WR_CRYPTO_KEY_LEN])
{
	/* fails only for len > crypto_box_MESSAGEBYTES_MAX, far beyond any datagram */
	(void) crypto_box_easy_afternm(dst, msg, len, nonce, shared);
}

bool
wr_box_open_afternm(uint8_t *dst, const uint8_t *box, size_t box_len,
		    const uint8_t nonce[WR_BOX_NONCE_LEN], const uint8_t shared[WR_CRYPTO_KEY_LEN])
{
	if (box_len < WR_BOX_TAG_LEN)
		return false;
	return crypto_box_open_easy_afternm(dst, box, box_len, nonce, shared) == 0;
}

bool
wr_box_seal(uint8_t *dst, const uint8_t *msg, size_t len, const uint8_t nonce[WR_BOX_NONCE_LEN],
	    const uint8_t their_public[WR_CRYPTO_KEY_LEN],
	    const uint8_t my_private[WR_CRYPTO_KEY_LEN])
{
	uint8_t shared[WR_CRYPTO_KEY_LEN];

	if (!wr_box_beforenm(shared, their_public, my_private))
		return false;
	wr_box_seal_afternm(dst, msg, len, nonce, shared);
	sodium_memzero(shared, sizeof(shared));
	return true;
}

bool
wr_box_open(uint8_t *dst, const uint8_t *box, size_t box_len, const uint8_t nonce[WR_BOX_NONCE_LEN],
	    const uint8_t their_public[WR_CRYPTO_KEY_LEN],
	    const uint8_t my_private[WR_CRYPTO_KEY_LEN])
{
	uint8_t shared[WR_CRYPTO_KEY_LEN];
	bool ok;

	if (!wr_box_beforenm(shared, their_public, my_private))
		return false;
	ok = wr_box_open_afternm(dst, box, box_len, nonce, shared);
	sodium_memzero(shared, sizeof(shared));
	return ok;
}

/*
 * libsodium fails for the small-order points it knows and for any all-zero result; out is
 * then set to zeros, so a caller that ignores the result still never uses a stale secret
 */
bool
wr_x25519(uint8_t out[WR_CRYPTO_KEY_LEN], const uint8_t scalar[WR_CRYPTO_KEY_LEN],
	  const uint8_t point[WR_CRYPTO_KEY_LEN])
{
	if (crypto_scalarmult_curve25519(out, scalar, point) != 0) {
		sodium_memzero(out, WR_CRYPTO_KEY_LEN);
		return false;
	}
	return true;
}

void
wr_x25519_clamp(uint8_t key[WR_CRYPTO_KEY_LEN])
{
	/* RFC 7748 §5: clear the cofactor bits, clear bit 255, set bit 254 */
	key[0] &= 248;
	key[31] &= 127;
	key[31] |= 64;
}

void
wr_x25519_generate(uint8_t out_private[WR_CRYPTO_KEY_LEN], uint8_t out_public[WR_CRYPTO_KEY_LEN])
{
	randombytes_buf(out_private, WR_CRYPTO_KEY_LEN);
	wr_x25519_clamp(out_private);
	/* cannot fail: the clamped scalar is non-zero modulo the group order */
	(void) crypto_scalarmult_curve25519_base(out_public, out_private);
}

bool
wr_x25519_public(uint8_t out_public[WR_CRYPTO_KEY_LEN],
		 const uint8_t private_key[WR_CRYPTO_KEY_LEN])
{
	uint8_t pub[WR_CRYPTO_KEY_LEN];

	if (sodium_is_zero(private_key, WR_CRYPTO_KEY_LEN))
		return false;
	if (crypto_scalarmult_curve25519_base(pub, private_key) != 0)
		return false;
	memcpy(out_public, pub, sizeof(pub));
	return true;
}

void
wr_hash(uint8_t out[32], const void *in, size_t inlen)
{
	wr_blake2s(out, WR_BLAKE2S_HASH_SIZE, in, inlen, NULL, 0);
}

void
wr_mac(uint8_t out[16], const void *in, size_t inlen, const uint8_t *key, size_t keylen)
{
	wr_blake2s(out, WR_MAC_LEN, in, inlen, key, keylen);
}

/*
 * every output goes through a local buffer, so destinations may alias data or
 * chaining_key (the handshake writes the new chaining key over the old one)
 */
void
wr_kdf(uint8_t *first_dst, uint8_t *second_dst, uint8_t *third_dst, const uint8_t *data,
       size_t first_len, size_t second_len, size_t third_len, size_t data_len,
       const uint8_t chaining_key[32])
{
	uint8_t secret[WR_BLAKE2S_HASH_SIZE];
	uint8_t output[WR_BLAKE2S_HASH_SIZE + 1];

	g_assert(first_len <= WR_BLAKE2S_HASH_SIZE && second_len <= WR_BLAKE2S_HASH_SIZE &&
		 third_len <= WR_BLAKE2S_HASH_SIZE);
	g_assert(first_dst != NULL || first_len == 0);

	/* τ0 = HMAC(chaining_key, data) */
	wr_blake2s_hmac(secret, data, data_len, chaining_key, WR_BLAKE2S_HASH_SIZE);

	/* τ1 = HMAC(τ0, 0x1) */
	output[0] = 1;
	wr_blake2s_hmac(output, output, 1, secret, sizeof(secret));
	if (first_len > 0)
		memcpy(first_dst, output, first_len);
	if (second_dst == NULL)
		goto out;

	/* τ2 = HMAC(τ0, τ1 || 0x2) */
	output[WR_BLAKE2S_HASH_SIZE] = 2;
	wr_blake2s_hmac(output, output, sizeof(output), secret, sizeof(secret));
	if (second_len > 0)
		memcpy(second_dst, output, second_len);
	if (third_dst == NULL)
		goto out;

	/* τ3 = HMAC(τ0, τ2 || 0x3) */
	output[WR_BLAKE2S_HASH_SIZE] = 3;
	wr_blake2s_hmac(output, output, sizeof(output), secret, sizeof(secret));
	if (third_len > 0)
		memcpy(third_dst, output, third_len);

out:
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(output, sizeof(output));
}

void
wr_random_bytes(void *buf, size_t len)
{
	randombytes_buf(buf, len);
}

uint32_t
wr_random_u32(void)
{
	return randombytes_random();
}

uint32_t
wr_random_uniform(uint32_t upper)
{
	return randombytes_uniform(upper);
}

void
wr_memzero(void *p, size_t len)
{
	sodium_memzero(p, len);
}

bool
wr_memeq(const void *a, const void *b, size_t len)
{
	return sodium_memcmp(a, b, len) == 0;
}

bool
wr_is_zero(const void *p, size_t len)
{
	return sodium_is_zero(p, len) == 1;
}

void *
wr_secure_alloc(size_t len)
{
	return sodium_malloc(len);
}

void
wr_secure_free(void *p)
{
	/* sodium_free accepts NULL and wipes before unmapping */
	sodium_free(p);
}

uint64_t
wr_siphash(const uint8_t key[16], const void *in, size_t len)
{
	uint8_t out[SIPHASH_OUT_LEN];
	uint64_t v = 0;

	(void) crypto_shorthash_siphash24(out, in, len, key);
	for (size_t i = 0; i < sizeof(out); i++)
		v |= (uint64_t) out[i] << (8 * i);
	return v;
}
