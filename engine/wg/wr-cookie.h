/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * MAC1, MAC2 and cookie replies (whitepaper §5.4.4 and §5.4.7): the defence against
 * handshake floods.  Every handshake message carries mac1, keyed by the receiver's public
 * key, so only someone who knows it can make the receiver spend a DH.  Under load the
 * receiver also demands mac2, keyed by a cookie that it hands out (encrypted, in a cookie
 * reply) to the sender's IP address and port; a sender with a valid cookie proves it can
 * receive at its address, and is then rate limited per address.
 *
 * Pure: time comes in as `now`; the cookie secret is drawn from the CSPRNG every
 * COOKIE_SECRET_MAX_AGE.  Not thread-safe: the device serialises.
 */

#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wr-addr.h"
#include "wr-messages.h"
#include "wr-ratelimiter.h"

/* the receiving side: one per device */
typedef struct {
	uint8_t secret[WR_HASH_LEN];
	int64_t secret_birthdate; /* INT64_MIN: never made */
	uint8_t message_mac1_key[WR_HASH_LEN];
	uint8_t message_cookie_key[WR_HASH_LEN];
	bool has_keys;
} WrCookieChecker;

/* the sending side: one per peer */
typedef struct {
	uint8_t cookie[WR_COOKIE_LEN];
	int64_t cookie_birthdate;
	bool is_valid;
	bool have_sent_mac1;
	uint8_t last_mac1_sent[WR_MAC_LEN];
	uint8_t message_mac1_key[WR_HASH_LEN];
	uint8_t message_cookie_key[WR_HASH_LEN];
} WrCookieMaker;

typedef enum {
	COOKIE_INVALID_MAC,
	COOKIE_VALID_MAC_BUT_NO_COOKIE,
	COOKIE_VALID_MAC_WITH_COOKIE_BUT_RATELIMITED,
	COOKIE_VALID_MAC_WITH_COOKIE,
} WrCookieMacState;

/* derives the MAC1 and cookie keys from the device's public key; NULL clears them */
void
wr_cookie_checker_init(WrCookieChecker *self, const uint8_t *public_key);

/*
 * Checks mac1 of a handshake message of msg_len bytes (an initiation or response), then,
 * when check_cookie, mac2 against the cookie for src, then the per-address rate limit.
 */
WrCookieMacState
wr_cookie_validate(WrCookieChecker *self, const uint8_t *msg, size_t msg_len, bool check_cookie,
		   const WrEndpoint *src, WrRatelimiter *ratelimiter, int64_t now);

/* a cookie reply for the message msg (whose mac1 is the reply's associated data) from src */
void
wr_cookie_create_reply(WrCookieChecker *self, struct wr_message_handshake_cookie *dst,
		       const uint8_t *msg, size_t msg_len, uint32_t receiver_index,
		       const WrEndpoint *src, int64_t now);

void
wr_cookie_maker_init(WrCookieMaker *self, const uint8_t remote_public[WR_KEY_LEN]);
/* sets mac1 and, when a fresh cookie is held, mac2 on an outgoing handshake message */
void
wr_cookie_add_macs(WrCookieMaker *self, uint8_t *msg, size_t msg_len, int64_t now);
/* takes the cookie from a reply to the last message we sent; false when it does not decrypt */
bool
wr_cookie_consume_reply(WrCookieMaker *self, const struct wr_message_handshake_cookie *msg,
			int64_t now);
