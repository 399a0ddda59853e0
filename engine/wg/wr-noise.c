/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s, as WireGuard runs it (whitepaper §5.4):
 *
 *   IKpsk2:
 *     <- s
 *     ...
 *     -> e, es, s, ss, {t}
 *     <- e, ee, se, psk, {}
 *
 * Each step below is tagged with its token.  Every temporary key, hash and chaining key is
 * wiped at the single `out:` label of its function.
 */

#define G_LOG_DOMAIN "WrNoise"

#include "config.h"

#include <glib.h>
#include <string.h>

#include "wr-crypto.h"
#include "wr-noise.h"
#include "wr-tai64n.h"

static void
mix_hash(uint8_t hash[WR_HASH_LEN], const uint8_t *src, size_t src_len)
{
	uint8_t buf[WR_HASH_LEN + WR_NOISE_PUBLIC_LEN + WR_AUTHTAG_LEN];

	/* every input mixed in the handshake is at most a public key plus a tag */
	g_assert(src_len <= sizeof(buf) - WR_HASH_LEN);
	memcpy(buf, hash, WR_HASH_LEN);
	memcpy(buf + WR_HASH_LEN, src, src_len);
	wr_hash(hash, buf, WR_HASH_LEN + src_len);
	wr_memzero(buf, sizeof(buf));
}

/* C = HASH(CONSTRUCTION); H = HASH(C || IDENTIFIER); H = HASH(H || responder's static) */
static void
handshake_start(uint8_t chaining_key[WR_HASH_LEN], uint8_t hash[WR_HASH_LEN],
		const uint8_t responder_static[WR_KEY_LEN])
{
	static const char construction[] = WR_NOISE_CONSTRUCTION;
	static const char identifier[] = WR_NOISE_IDENTIFIER;
	uint8_t buf[WR_HASH_LEN + sizeof(identifier) - 1];

	wr_hash(chaining_key, construction, sizeof(construction) - 1);
	memcpy(buf, chaining_key, WR_HASH_LEN);
	memcpy(buf + WR_HASH_LEN, identifier, sizeof(identifier) - 1);
	wr_hash(hash, buf, sizeof(buf));
	mix_hash(hash, responder_static, WR_KEY_LEN);
}

/* C = KDF1(C, e); H = HASH(H || e) */
static void
message_ephemeral(uint8_t chaining_key[WR_HASH_LEN], uint8_t hash[WR_HASH_LEN],
		  const uint8_t ephemeral[WR_NOISE_PUBLIC_LEN])
{
	wr_kdf(chaining_key, NULL, NULL, ephemeral, WR_HASH_LEN, 0, 0, WR_NOISE_PUBLIC_LEN,
	       chaining_key);
	mix_hash(hash, ephemeral, WR_NOISE_PUBLIC_LEN);
}

/* C, k = KDF2(C, DH(private, public)); key may be NULL when only C moves on */
static bool
mix_dh(uint8_t chaining_key[WR_HASH_LEN], uint8_t key[WR_SYMMETRIC_KEY_LEN],
       const uint8_t private_key[WR_KEY_LEN], const uint8_t public_key[WR_KEY_LEN])
{
	uint8_t dh[WR_KEY_LEN];

	if (!wr_x25519(dh, private_key, public_key)) {
		wr_memzero(dh, sizeof(dh));
		return false;
	}
	wr_kdf(chaining_key, key, NULL, dh, WR_HASH_LEN, key != NULL ? WR_SYMMETRIC_KEY_LEN : 0, 0,
	       WR_KEY_LEN, chaining_key);
	wr_memzero(dh, sizeof(dh));
	return true;
}

/* the same with DH(s, S), computed once per peer */
static bool
mix_precomputed_dh(uint8_t chaining_key[WR_HASH_LEN], uint8_t key[WR_SYMMETRIC_KEY_LEN],
		   const uint8_t precomputed[WR_KEY_LEN])
{
	if (wr_is_zero(precomputed, WR_KEY_LEN))
		return false;
	wr_kdf(chaining_key, key, NULL, precomputed, WR_HASH_LEN, WR_SYMMETRIC_KEY_LEN, 0,
	       WR_KEY_LEN, chaining_key);
	return true;
}

/* C, τ, k = KDF3(C, Q); H = HASH(H || τ) */
static void
mix_psk(uint8_t chaining_key[WR_HASH_LEN], uint8_t hash[WR_HASH_LEN],
	uint8_t key[WR_SYMMETRIC_KEY_LEN], const uint8_t psk[WR_SYMMETRIC_KEY_LEN])
{
	uint8_t temp_hash[WR_HASH_LEN];

	wr_kdf(chaining_key, temp_hash, key, psk, WR_HASH_LEN, WR_HASH_LEN, WR_SYMMETRIC_KEY_LEN,
	       WR_SYMMETRIC_KEY_LEN, chaining_key);
	mix_hash(hash, temp_hash, WR_HASH_LEN);
	wr_memzero(temp_hash, sizeof(temp_hash));
}

/* AEAD(k, 0, plain, H); H = HASH(H || cipher) */
static void
message_encrypt(uint8_t *dst, const uint8_t *src, size_t src_len, const uint8_t key[WR_KEY_LEN],
		uint8_t hash[WR_HASH_LEN])
{
	wr_aead_encrypt(dst, src, src_len, hash, WR_HASH_LEN, 0, key);
	mix_hash(hash, dst, src_len + WR_AUTHTAG_LEN);
}

static bool
message_decrypt(uint8_t *dst, const uint8_t *src, size_t src_len, const uint8_t key[WR_KEY_LEN],
		uint8_t hash[WR_HASH_LEN])
{
	if (!wr_aead_decrypt(dst, src, src_len, hash, WR_HASH_LEN, 0, key))
		return false;
	mix_hash(hash, src, src_len);
	return true;
}

void
wr_noise_static_set_private(WrNoiseStatic *self, const uint8_t private_key[WR_KEY_LEN])
{
	memcpy(self->private_key, private_key, WR_KEY_LEN);
	wr_x25519_clamp(self->private_key);
	/* the all-zero key removes the identity: test it before clamping sets bit 254 */
	self->has_identity = !wr_is_zero(private_key, WR_KEY_LEN) &&
			     wr_x25519_public(self->public_key, self->private_key);
	if (!self->has_identity)
		wr_noise_static_clear(self);
}

void
wr_noise_static_clear(WrNoiseStatic *self)
{
	wr_memzero(self, sizeof(*self));
}

static void
precompute_static_static(WrNoiseHandshake *hs, const WrNoiseStatic *local)
{
	if (local == NULL || !local->has_identity ||
	    !wr_x25519(hs->precomputed_static_static, local->private_key, hs->remote_static))
		wr_memzero(hs->precomputed_static_static, WR_KEY_LEN);
}

void
wr_noise_handshake_clear(WrNoiseHandshake *hs)
{
	hs->state = HANDSHAKE_ZEROED;
	hs->remote_index = 0;
	wr_memzero(hs->remote_ephemeral, WR_KEY_LEN);
	wr_memzero(hs->ephemeral_private, WR_KEY_LEN);
	wr_memzero(hs->hash, WR_HASH_LEN);
	wr_memzero(hs->chaining_key, WR_HASH_LEN);
}

void
wr_noise_handshake_init(WrNoiseHandshake *hs, const WrNoiseStatic *local,
			const uint8_t remote_static[WR_KEY_LEN], const uint8_t *preshared_key)
{
	wr_memzero(hs, sizeof(*hs));
	memcpy(hs->remote_static, remote_static, WR_KEY_LEN);
	wr_noise_handshake_set_preshared_key(hs, preshared_key);
	hs->last_initiation_consumption = INT64_MIN;
	precompute_static_static(hs, local);
}

void
wr_noise_handshake_set_local(WrNoiseHandshake *hs, const WrNoiseStatic *local)
{
	wr_noise_handshake_clear(hs);
	precompute_static_static(hs, local);
}

void
wr_noise_handshake_set_preshared_key(WrNoiseHandshake *hs, const uint8_t *preshared_key)
{
	if (preshared_key != NULL)
		memcpy(hs->preshared_key, preshared_key, WR_SYMMETRIC_KEY_LEN);
	else
		wr_memzero(hs->preshared_key, WR_SYMMETRIC_KEY_LEN);
}

bool
wr_noise_create_initiation(WrNoiseHandshake *hs, const WrNoiseStatic *local,
			   const uint8_t tai64n[WR_TIMESTAMP_LEN],
			   uint8_t out_unencrypted_ephemeral[WR_NOISE_PUBLIC_LEN],
			   uint8_t out_encrypted_static[WR_NOISE_PUBLIC_LEN + WR_AUTHTAG_LEN],
			   uint8_t out_encrypted_timestamp[WR_TIMESTAMP_LEN + WR_AUTHTAG_LEN])
{
	uint8_t key[WR_SYMMETRIC_KEY_LEN];
	uint8_t hash[WR_HASH_LEN];
	uint8_t chaining_key[WR_HASH_LEN];
	uint8_t ephemeral_private[WR_KEY_LEN];
	bool ret = false;

	if (!local->has_identity)
		goto out;

	handshake_start(chaining_key, hash, hs->remote_static);

	/* e */
	wr_x25519_generate(ephemeral_private, out_unencrypted_ephemeral);
	message_ephemeral(chaining_key, hash, out_unencrypted_ephemeral);

	/* es */
	if (!mix_dh(chaining_key, key, ephemeral_private, hs->remote_static))
		goto out;

	/* s */
	message_encrypt(out_encrypted_static, local->public_key, WR_NOISE_PUBLIC_LEN, key, hash);

	/* ss */
	if (!mix_precomputed_dh(chaining_key, key, hs->precomputed_static_static))
		goto out;

	/* {t} */
	message_encrypt(out_encrypted_timestamp, tai64n, WR_TIMESTAMP_LEN, key, hash);

	memcpy(hs->ephemeral_private, ephemeral_private, WR_KEY_LEN);
	memcpy(hs->hash, hash, WR_HASH_LEN);
	memcpy(hs->chaining_key, chaining_key, WR_HASH_LEN);
	hs->remote_index = 0;
	hs->state = HANDSHAKE_CREATED_INITIATION;
	ret = true;
out:
	wr_memzero(key, sizeof(key));
	wr_memzero(hash, sizeof(hash));
	wr_memzero(chaining_key, sizeof(chaining_key));
	wr_memzero(ephemeral_private, sizeof(ephemeral_private));
	return ret;
}

WrNoiseHandshake *
wr_noise_consume_initiation(const WrNoiseStatic *local, uint32_t sender_index,
			    const uint8_t unencrypted_ephemeral[WR_NOISE_PUBLIC_LEN],
			    const uint8_t encrypted_static[WR_NOISE_PUBLIC_LEN + WR_AUTHTAG_LEN],
			    const uint8_t encrypted_timestamp[WR_TIMESTAMP_LEN + WR_AUTHTAG_LEN],
			    WrNoiseLookupFunc lookup, void *user_data, int64_t now)
{
	WrNoiseHandshake *hs = NULL;
	WrNoiseHandshake *ret = NULL;
	uint8_t key[WR_SYMMETRIC_KEY_LEN];
	uint8_t hash[WR_HASH_LEN];
	uint8_t chaining_key[WR_HASH_LEN];
	uint8_t s[WR_NOISE_PUBLIC_LEN];
	uint8_t t[WR_TIMESTAMP_LEN];
	bool replay_attack, flood_attack;

	if (!local->has_identity)
		goto out;

	handshake_start(chaining_key, hash, local->public_key);

	/* e */
	message_ephemeral(chaining_key, hash, unencrypted_ephemeral);

	/* es */
	if (!mix_dh(chaining_key, key, local->private_key, unencrypted_ephemeral))
		goto out;

	/* s */
	if (!message_decrypt(s, encrypted_static, sizeof(s) + WR_AUTHTAG_LEN, key, hash))
		goto out;

	hs = lookup(s, user_data);
	if (hs == NULL)
		goto out;

	/* ss */
	if (!mix_precomputed_dh(chaining_key, key, hs->precomputed_static_static))
		goto out;

	/* {t} */
	if (!message_decrypt(t, encrypted_timestamp, sizeof(t) + WR_AUTHTAG_LEN, key, hash))
		goto out;

	replay_attack = !wr_tai64n_after(t, hs->latest_timestamp);
	flood_attack =
		hs->last_initiation_consumption != INT64_MIN &&
		now - hs->last_initiation_consumption < WR_USEC_PER_SEC / INITIATIONS_PER_SECOND;
	if (replay_attack || flood_attack)
		goto out;

	memcpy(hs->remote_ephemeral, unencrypted_ephemeral, WR_NOISE_PUBLIC_LEN);
	memcpy(hs->latest_timestamp, t, WR_TIMESTAMP_LEN);
	memcpy(hs->hash, hash, WR_HASH_LEN);
	memcpy(hs->chaining_key, chaining_key, WR_HASH_LEN);
	wr_memzero(hs->ephemeral_private, WR_KEY_LEN);
	hs->remote_index = sender_index;
	hs->last_initiation_consumption = now;
	hs->state = HANDSHAKE_CONSUMED_INITIATION;
	ret = hs;
out:
	wr_memzero(key, sizeof(key));
	wr_memzero(hash, sizeof(hash));
	wr_memzero(chaining_key, sizeof(chaining_key));
	wr_memzero(s, sizeof(s));
	wr_memzero(t, sizeof(t));
	return ret;
}

bool
wr_noise_create_response(WrNoiseHandshake *hs, const WrNoiseStatic *local,
			 uint8_t out_unencrypted_ephemeral[WR_NOISE_PUBLIC_LEN],
			 uint8_t out_encrypted_nothing[WR_AUTHTAG_LEN])
{
	uint8_t key[WR_SYMMETRIC_KEY_LEN];
	uint8_t hash[WR_HASH_LEN];
	uint8_t chaining_key[WR_HASH_LEN];
	uint8_t ephemeral_private[WR_KEY_LEN];
	bool ret = false;

	if (hs->state != HANDSHAKE_CONSUMED_INITIATION || !local->has_identity)
		goto out;

	memcpy(hash, hs->hash, WR_HASH_LEN);
	memcpy(chaining_key, hs->chaining_key, WR_HASH_LEN);

	/* e */
	wr_x25519_generate(ephemeral_private, out_unencrypted_ephemeral);
	message_ephemeral(chaining_key, hash, out_unencrypted_ephemeral);

	/* ee */
	if (!mix_dh(chaining_key, NULL, ephemeral_private, hs->remote_ephemeral))
		goto out;

	/* se */
	if (!mix_dh(chaining_key, NULL, ephemeral_private, hs->remote_static))
		goto out;

	/* psk */
	mix_psk(chaining_key, hash, key, hs->preshared_key);

	/* {} */
	message_encrypt(out_encrypted_nothing, NULL, 0, key, hash);

	memcpy(hs->ephemeral_private, ephemeral_private, WR_KEY_LEN);
	memcpy(hs->hash, hash, WR_HASH_LEN);
	memcpy(hs->chaining_key, chaining_key, WR_HASH_LEN);
	hs->state = HANDSHAKE_CREATED_RESPONSE;
	ret = true;
out:
	wr_memzero(key, sizeof(key));
	wr_memzero(hash, sizeof(hash));
	wr_memzero(chaining_key, sizeof(chaining_key));
	wr_memzero(ephemeral_private, sizeof(ephemeral_private));
	return ret;
}

bool
wr_noise_consume_response(WrNoiseHandshake *hs, const WrNoiseStatic *local, uint32_t sender_index,
			  const uint8_t unencrypted_ephemeral[WR_NOISE_PUBLIC_LEN],
			  const uint8_t encrypted_nothing[WR_AUTHTAG_LEN])
{
	uint8_t key[WR_SYMMETRIC_KEY_LEN];
	uint8_t hash[WR_HASH_LEN];
	uint8_t chaining_key[WR_HASH_LEN];
	bool ret = false;

	if (hs->state != HANDSHAKE_CREATED_INITIATION || !local->has_identity)
		goto out;

	memcpy(hash, hs->hash, WR_HASH_LEN);
	memcpy(chaining_key, hs->chaining_key, WR_HASH_LEN);

	/* e */
	message_ephemeral(chaining_key, hash, unencrypted_ephemeral);

	/* ee */
	if (!mix_dh(chaining_key, NULL, hs->ephemeral_private, unencrypted_ephemeral))
		goto out;

	/* se */
	if (!mix_dh(chaining_key, NULL, local->private_key, unencrypted_ephemeral))
		goto out;

	/* psk */
	mix_psk(chaining_key, hash, key, hs->preshared_key);

	/* {} */
	if (!message_decrypt(NULL, encrypted_nothing, WR_AUTHTAG_LEN, key, hash))
		goto out;

	memcpy(hs->remote_ephemeral, unencrypted_ephemeral, WR_NOISE_PUBLIC_LEN);
	memcpy(hs->hash, hash, WR_HASH_LEN);
	memcpy(hs->chaining_key, chaining_key, WR_HASH_LEN);
	hs->remote_index = sender_index;
	hs->state = HANDSHAKE_CONSUMED_RESPONSE;
	ret = true;
out:
	wr_memzero(key, sizeof(key));
	wr_memzero(hash, sizeof(hash));
	wr_memzero(chaining_key, sizeof(chaining_key));
	return ret;
}

WrKeypair *
wr_noise_derive_keypair(WrNoiseHandshake *hs, int64_t now)
{
	WrKeypair *kp;
	bool initiator;

	if (hs->state == HANDSHAKE_CONSUMED_RESPONSE)
		initiator = true;
	else if (hs->state == HANDSHAKE_CREATED_RESPONSE)
		initiator = false;
	else
		return NULL;

	kp = wr_secure_alloc(sizeof(*kp));
	memset(kp, 0, sizeof(*kp));
	kp->refcount = 1;
	kp->i_am_the_initiator = initiator;
	/* T_send, T_recv = KDF2(C, ε): the initiator sends with the first */
	wr_kdf(initiator ? kp->sending_key : kp->receiving_key,
	       initiator ? kp->receiving_key : kp->sending_key, NULL, NULL, WR_SYMMETRIC_KEY_LEN,
	       WR_SYMMETRIC_KEY_LEN, 0, 0, hs->chaining_key);
	wr_replay_init(&kp->replay);
	kp->birthdate = now;
	kp->sending_valid = true;
	kp->receiving_valid = true;
	kp->local_index = hs->local_index;
	kp->remote_index = hs->remote_index;
	wr_noise_handshake_clear(hs);
	return kp;
}

WrKeypair *
wr_keypair_ref(WrKeypair *kp)
{
	g_atomic_int_inc(&kp->refcount);
	return kp;
}

void
wr_keypair_unref(WrKeypair *kp)
{
	if (kp == NULL)
		return;
	if (g_atomic_int_dec_and_test(&kp->refcount))
		wr_secure_free(kp);
}
