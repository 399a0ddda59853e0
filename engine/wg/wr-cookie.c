/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrCookie"

#include "config.h"

#include <glib.h>
#include <string.h>

#include "wr-cookie.h"
#include "wr-crypto.h"

/* HASH(label || public key) */
static void
precompute_key(uint8_t key[WR_HASH_LEN], const uint8_t public_key[WR_KEY_LEN], const char label[8])
{
	uint8_t buf[8 + WR_KEY_LEN];

	memcpy(buf, label, 8);
	memcpy(buf + 8, public_key, WR_KEY_LEN);
	wr_hash(key, buf, sizeof(buf));
}

static void
compute_mac1(uint8_t mac1[WR_MAC_LEN], const uint8_t *msg, size_t msg_len,
	     const uint8_t key[WR_HASH_LEN])
{
	wr_mac(mac1, msg, WR_MAC1_OFFSET(msg_len), key, WR_HASH_LEN);
}

static void
compute_mac2(uint8_t mac2[WR_MAC_LEN], const uint8_t *msg, size_t msg_len,
	     const uint8_t cookie[WR_COOKIE_LEN])
{
	wr_mac(mac2, msg, WR_MAC2_OFFSET(msg_len), cookie, WR_COOKIE_LEN);
}

/* τ = MAC(R_secret, address || port), with the secret renewed every two minutes */
static void
make_cookie(WrCookieChecker *self, uint8_t cookie[WR_COOKIE_LEN], const WrEndpoint *src,
	    int64_t now)
{
	uint8_t buf[16 + 2];
	uint16_t port_be;
	size_t addr_len;

	if (self->secret_birthdate == INT64_MIN ||
	    now - self->secret_birthdate >= COOKIE_SECRET_MAX_AGE * WR_USEC_PER_SEC) {
		wr_random_bytes(self->secret, sizeof(self->secret));
		self->secret_birthdate = now;
	}
	addr_len = wr_endpoint_addr_bytes(src, buf, &port_be);
	memcpy(buf + addr_len, &port_be, sizeof(port_be));
	wr_mac(cookie, buf, addr_len + sizeof(port_be), self->secret, sizeof(self->secret));
	wr_memzero(buf, sizeof(buf));
}

void
wr_cookie_checker_init(WrCookieChecker *self, const uint8_t *public_key)
{
	wr_memzero(self, sizeof(*self));
	self->secret_birthdate = INT64_MIN;
	if (public_key == NULL)
		return;
	precompute_key(self->message_mac1_key, public_key, WR_COOKIE_LABEL_MAC1);
	precompute_key(self->message_cookie_key, public_key, WR_COOKIE_LABEL_COOKIE);
	self->has_keys = true;
}

WrCookieMacState
wr_cookie_validate(WrCookieChecker *self, const uint8_t *msg, size_t msg_len, bool check_cookie,
		   const WrEndpoint *src, WrRatelimiter *ratelimiter, int64_t now)
{
	const struct wr_message_macs *macs;
	uint8_t computed[WR_MAC_LEN];
	uint8_t cookie[WR_COOKIE_LEN];
	uint8_t addr[16];
	uint16_t port_be;
	WrCookieMacState ret = COOKIE_INVALID_MAC;
	size_t addr_len;

	/* the length first: pointing before msg would already be undefined */
	if (!self->has_keys || msg_len < sizeof(*macs))
		goto out;
	macs = (const struct wr_message_macs *) (msg + msg_len - sizeof(*macs));

	compute_mac1(computed, msg, msg_len, self->message_mac1_key);
	if (!wr_memeq(computed, macs->mac1, WR_MAC_LEN))
		goto out;

	ret = COOKIE_VALID_MAC_BUT_NO_COOKIE;
	if (!check_cookie)
		goto out;

	make_cookie(self, cookie, src, now);
	compute_mac2(computed, msg, msg_len, cookie);
	if (!wr_memeq(computed, macs->mac2, WR_MAC_LEN))
		goto out;

	ret = COOKIE_VALID_MAC_WITH_COOKIE_BUT_RATELIMITED;
	addr_len = wr_endpoint_addr_bytes(src, addr, &port_be);
	/* a message with no source address cannot be rate limited, so it is not let through */
	if (addr_len == 0)
		goto out;
	if (ratelimiter != NULL &&
	    !wr_ratelimiter_allow(ratelimiter, addr_len == 4 ? AF_INET : AF_INET6, addr, now))
		goto out;

	ret = COOKIE_VALID_MAC_WITH_COOKIE;
out:
	wr_memzero(computed, sizeof(computed));
	wr_memzero(cookie, sizeof(cookie));
	return ret;
}

void
wr_cookie_create_reply(WrCookieChecker *self, struct wr_message_handshake_cookie *dst,
		       const uint8_t *msg, size_t msg_len, uint32_t receiver_index,
		       const WrEndpoint *src, int64_t now)
{
	const struct wr_message_macs *macs =
		(const struct wr_message_macs *) (msg + msg_len - sizeof(*macs));
	uint8_t cookie[WR_COOKIE_LEN];

	dst->header.type = GUINT32_TO_LE(MESSAGE_HANDSHAKE_COOKIE);
	dst->receiver_index = receiver_index;
	wr_random_bytes(dst->nonce, sizeof(dst->nonce));
	make_cookie(self, cookie, src, now);
	wr_xaead_encrypt(dst->encrypted_cookie, cookie, sizeof(cookie), macs->mac1, WR_MAC_LEN,
			 dst->nonce, self->message_cookie_key);
	wr_memzero(cookie, sizeof(cookie));
}

void
wr_cookie_maker_init(WrCookieMaker *self, const uint8_t remote_public[WR_KEY_LEN])
{
	wr_memzero(self, sizeof(*self));
	precompute_key(self->message_mac1_key, remote_public, WR_COOKIE_LABEL_MAC1);
	precompute_key(self->message_cookie_key, remote_public, WR_COOKIE_LABEL_COOKIE);
}

void
wr_cookie_add_macs(WrCookieMaker *self, uint8_t *msg, size_t msg_len, int64_t now)
{
	struct wr_message_macs *macs = (struct wr_message_macs *) (msg + msg_len - sizeof(*macs));

	compute_mac1(macs->mac1, msg, msg_len, self->message_mac1_key);
	memcpy(self->last_mac1_sent, macs->mac1, WR_MAC_LEN);
	self->have_sent_mac1 = true;

	/* a cookie is good for two minutes less the time it may have spent in flight */
	if (self->is_valid &&
	    now - self->cookie_birthdate <
		    (COOKIE_SECRET_MAX_AGE - COOKIE_SECRET_LATENCY) * WR_USEC_PER_SEC)
		compute_mac2(macs->mac2, msg, msg_len, self->cookie);
	else
		memset(macs->mac2, 0, WR_MAC_LEN);
}

bool
wr_cookie_consume_reply(WrCookieMaker *self, const struct wr_message_handshake_cookie *msg,
			int64_t now)
{
	uint8_t cookie[WR_COOKIE_LEN];

	if (!self->have_sent_mac1)
		return false;
	if (!wr_xaead_decrypt(cookie, msg->encrypted_cookie, sizeof(msg->encrypted_cookie),
			      self->last_mac1_sent, WR_MAC_LEN, msg->nonce,
			      self->message_cookie_key)) {
		wr_memzero(cookie, sizeof(cookie));
		return false;
	}
	memcpy(self->cookie, cookie, WR_COOKIE_LEN);
	self->cookie_birthdate = now;
	self->is_valid = true;
	self->have_sent_mac1 = false;
	wr_memzero(cookie, sizeof(cookie));
	return true;
}
