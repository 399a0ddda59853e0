/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The Noise_IKpsk2 handshake of WireGuard and the keypairs it yields.
 *
 * Pure: the functions take message fields (not packets, not sockets), the caller's
 * wall-clock TAI64N stamp and `now`, and return whether the step worked.  Randomness for the
 * ephemeral keys comes from the kernel's CSPRNG through wr-crypto.  Nothing here locks; the
 * device serialises calls on a handshake.
 */

#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "wr-messages.h"
#include "wr-replay.h"

typedef struct {
	bool has_identity;
	uint8_t private_key[WR_KEY_LEN];
	uint8_t public_key[WR_KEY_LEN];
} WrNoiseStatic;

typedef enum {
	HANDSHAKE_ZEROED,
	HANDSHAKE_CREATED_INITIATION,
	HANDSHAKE_CONSUMED_INITIATION,
	HANDSHAKE_CREATED_RESPONSE,
	HANDSHAKE_CONSUMED_RESPONSE,
} WrHandshakeState;

/* the handshake state a peer keeps with one remote static key */
typedef struct {
	WrHandshakeState state;
	uint32_t local_index; /* owned by the device's index table */
	uint32_t remote_index;
	uint8_t remote_static[WR_KEY_LEN];
	uint8_t remote_ephemeral[WR_KEY_LEN];
	uint8_t ephemeral_private[WR_KEY_LEN];
	uint8_t precomputed_static_static[WR_KEY_LEN]; /* all zeros when DH(s, S) failed */
	uint8_t preshared_key[WR_SYMMETRIC_KEY_LEN];
	uint8_t hash[WR_HASH_LEN];
	uint8_t chaining_key[WR_HASH_LEN];
	uint8_t latest_timestamp[WR_TIMESTAMP_LEN];
	int64_t last_initiation_consumption; /* µs, INT64_MIN when never */
} WrNoiseHandshake;

/* one session's transport keys; shared between threads, so it is reference counted */
typedef struct {
	int refcount; /* atomic */
	uint8_t sending_key[WR_SYMMETRIC_KEY_LEN];
	uint8_t receiving_key[WR_SYMMETRIC_KEY_LEN];
	uint64_t sending_counter; /* next counter to use; guarded by the device lock */
	WrReplay replay;	  /* guarded by the device lock */
	int64_t birthdate;	  /* µs */
	bool i_am_the_initiator;
	bool sending_valid;
	bool receiving_valid;
	uint32_t local_index;
	uint32_t remote_index;
	void *peer; /* the owning peer; NULL once the peer is gone (under the device lock) */
} WrKeypair;

/* sets (or, with an all-zero key, removes) the local static identity */
void
wr_noise_static_set_private(WrNoiseStatic *self, const uint8_t private_key[WR_KEY_LEN]);
void
wr_noise_static_clear(WrNoiseStatic *self);

/* sets up a handshake for a remote static key with an optional preshared key (NULL = none) */
void
wr_noise_handshake_init(WrNoiseHandshake *hs, const WrNoiseStatic *local,
			const uint8_t remote_static[WR_KEY_LEN], const uint8_t *preshared_key);
/* recomputes DH(s, S) after the local private key changed; clears the handshake */
void
wr_noise_handshake_set_local(WrNoiseHandshake *hs, const WrNoiseStatic *local);
void
wr_noise_handshake_set_preshared_key(WrNoiseHandshake *hs, const uint8_t *preshared_key);
/* forgets the session under construction, keeping the identity and the replay timestamp */
void
wr_noise_handshake_clear(WrNoiseHandshake *hs);

/*
 * The initiator's message: fills the unencrypted ephemeral, encrypted static and encrypted
 * timestamp fields.  tai64n is the wall-clock stamp.  The device then sets sender_index and
 * the MACs.  Returns false when there is no local identity or a DH fails.
 */
bool
wr_noise_create_initiation(WrNoiseHandshake *hs, const WrNoiseStatic *local,
			   const uint8_t tai64n[WR_TIMESTAMP_LEN],
			   uint8_t out_unencrypted_ephemeral[WR_NOISE_PUBLIC_LEN],
			   uint8_t out_encrypted_static[WR_NOISE_PUBLIC_LEN + WR_AUTHTAG_LEN],
			   uint8_t out_encrypted_timestamp[WR_TIMESTAMP_LEN + WR_AUTHTAG_LEN]);

/* finds the handshake of the peer with this static key, NULL when unknown */
typedef WrNoiseHandshake *(*WrNoiseLookupFunc)(const uint8_t remote_static[WR_KEY_LEN],
					       void *user_data);

/*
 * The responder's side of an initiation.  Decrypts the initiator's static key, asks lookup
 * for its handshake, decrypts the timestamp and accepts it only when it is newer than the
 * last one seen and the previous initiation was consumed at least 1/INITIATIONS_PER_SECOND
 * ago.  On success the handshake is CONSUMED_INITIATION with sender_index recorded, and it
 * is returned; NULL on any failure, with no handshake changed.
 */
WrNoiseHandshake *
wr_noise_consume_initiation(const WrNoiseStatic *local, uint32_t sender_index,
			    const uint8_t unencrypted_ephemeral[WR_NOISE_PUBLIC_LEN],
			    const uint8_t encrypted_static[WR_NOISE_PUBLIC_LEN + WR_AUTHTAG_LEN],
			    const uint8_t encrypted_timestamp[WR_TIMESTAMP_LEN + WR_AUTHTAG_LEN],
			    WrNoiseLookupFunc lookup, void *user_data, int64_t now);

/* the responder's message, from a CONSUMED_INITIATION handshake; the device sets the
 * indices and MACs.  The handshake becomes CREATED_RESPONSE. */
bool
wr_noise_create_response(WrNoiseHandshake *hs, const WrNoiseStatic *local,
			 uint8_t out_unencrypted_ephemeral[WR_NOISE_PUBLIC_LEN],
			 uint8_t out_encrypted_nothing[WR_AUTHTAG_LEN]);

/* the initiator's side of a response, for a CREATED_INITIATION handshake: on success it is
 * CONSUMED_RESPONSE with sender_index recorded; on failure nothing changes */
bool
wr_noise_consume_response(WrNoiseHandshake *hs, const WrNoiseStatic *local, uint32_t sender_index,
			  const uint8_t unencrypted_ephemeral[WR_NOISE_PUBLIC_LEN],
			  const uint8_t encrypted_nothing[WR_AUTHTAG_LEN]);

/*
 * Derives the transport keys from a CREATED_RESPONSE (responder) or CONSUMED_RESPONSE
 * (initiator) handshake into a new keypair with refcount 1, and zeroes the handshake's
 * session state.  The keypair takes over the handshake's local index.  NULL when the
 * handshake is in any other state.
 */
WrKeypair *
wr_noise_derive_keypair(WrNoiseHandshake *hs, int64_t now);

WrKeypair *
wr_keypair_ref(WrKeypair *kp);
/* wipes and frees on the last reference; accepts NULL */
void
wr_keypair_unref(WrKeypair *kp);
