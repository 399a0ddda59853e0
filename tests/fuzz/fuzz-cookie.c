/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer target for MAC1/MAC2 and cookie replies (wr-cookie): arbitrary 64-byte cookie
 * replies into wr_cookie_consume_reply, and arbitrary messages of any length into
 * wr_cookie_validate, wr_cookie_create_reply and wr_cookie_add_macs.  Besides the
 * sanitizers it checks the contracts: a message whose MACs the maker just set validates
 * (with the cookie, from the address it was given to, until the rate limit), a reply the
 * checker made for the last message is taken, and one for an older message is not.
 *
 * Input: [flags u8][cookie reply, 64 bytes, zero padded][message, the rest].
 *   flags bit 0      check_cookie for the raw message
 *   flags bits 1-2   source address of the raw message
 *   flags bits 3-7   time step (x 7 s), so cookies and secrets age
 * The maker's key is fixed and its last message is a fixed initiation, so that a committed
 * seed holds a reply that decrypts.
 */

#define G_LOG_DOMAIN "WrFuzzCookie"

#include "config.h"

#include <glib.h>
#include <string.h>

#include "wr-cookie.h"
#include "wr-crypto.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define T0	    ((int64_t) 1000 * WR_USEC_PER_SEC)
#define REPLY_LEN   sizeof(struct wr_message_handshake_cookie)
#define INIT_LEN    sizeof(struct wr_message_handshake_initiation)
#define MACS_LEN    sizeof(struct wr_message_macs)
#define MAX_MESSAGE 4096

static const uint8_t checker_private[WR_KEY_LEN] = {
	0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a,
	0x4b, 0x4c, 0x4d, 0x4e, 0x4f, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55,
	0x56, 0x57, 0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f,
};
static const char *const sources[] = {
	"198.51.100.2:51820",
	"198.51.100.2:51821",
	"[2001:db8::2]:51820",
	"[::ffff:198.51.100.2]:51820",
};

typedef struct {
	uint8_t public_key[WR_KEY_LEN];
	WrEndpoint src[G_N_ELEMENTS(sources)];
} Keys;

static const Keys *
keys_get(void)
{
	static Keys keys;
	static bool initialized;

	if (!initialized) {
		g_assert_true(wr_crypto_init());
		g_assert_true(wr_x25519_public(keys.public_key, checker_private));
		for (guint i = 0; i < G_N_ELEMENTS(sources); i++)
			g_assert_true(wr_endpoint_parse(&keys.src[i], sources[i]));
		initialized = true;
	}
	return &keys;
}

/* the fixed initiation the maker sends first: its mac1 is the AD of the seed replies */
static void
fixed_initiation(uint8_t msg[INIT_LEN])
{
	for (size_t i = 0; i < INIT_LEN; i++)
		msg[i] = (uint8_t) (i * 13 + 1);
	msg[0] = MESSAGE_HANDSHAKE_INITIATION;
	msg[1] = msg[2] = msg[3] = 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const Keys *keys = keys_get();
	WrCookieChecker checker;
	WrCookieMaker maker;
	WrRatelimiter *rl = wr_ratelimiter_new();
	struct wr_message_handshake_cookie reply;
	struct wr_message_handshake_cookie ours;
	uint8_t first[INIT_LEN];
	uint8_t *msg;
	size_t msg_len;
	int64_t now = T0;
	uint8_t flags;
	const WrEndpoint *src;
	WrCookieMacState state;
	bool took;

	if (size < 1) {
		wr_ratelimiter_free(rl);
		return 0;
	}
	flags = data[0];
	data++;
	size--;
	src = &keys->src[(flags >> 1) & 3];

	wr_cookie_checker_init(&checker, keys->public_key);
	wr_cookie_maker_init(&maker, keys->public_key);

	/* a reply before anything was sent is never taken */
	memset(&reply, 0, sizeof(reply));
	memcpy(&reply, data, MIN(size, REPLY_LEN));
	g_assert_false(wr_cookie_consume_reply(&maker, &reply, now));

	/* the arbitrary reply, to the fixed first message */
	fixed_initiation(first);
	wr_cookie_add_macs(&maker, first, INIT_LEN, now);
	took = wr_cookie_consume_reply(&maker, &reply, now);
	g_assert_true(maker.is_valid == took);
	g_assert_true(maker.have_sent_mac1 == !took);
	data += MIN(size, REPLY_LEN);
	size -= MIN(size, REPLY_LEN);

	/* the arbitrary message as it came */
	msg_len = MIN(size, (size_t) MAX_MESSAGE);
	msg = g_malloc(msg_len + 1);
	memcpy(msg, data, msg_len);
	state = wr_cookie_validate(&checker, msg, msg_len, (flags & 1) != 0, src, rl, now);
	g_assert_true(state == COOKIE_INVALID_MAC || state == COOKIE_VALID_MAC_BUT_NO_COOKIE ||
		      state == COOKIE_VALID_MAC_WITH_COOKIE ||
		      state == COOKIE_VALID_MAC_WITH_COOKIE_BUT_RATELIMITED);
	if (msg_len < MACS_LEN)
		g_assert_cmpint(state, ==, COOKIE_INVALID_MAC);

	if (msg_len >= MACS_LEN) {
		/* the same message with the maker's MACs: mac1 always passes */
		now += (int64_t) (flags >> 3) * 7 * WR_USEC_PER_SEC;
		wr_cookie_add_macs(&maker, msg, msg_len, now);
		g_assert_cmpint(wr_cookie_validate(&checker, msg, msg_len, false, src, rl, now), ==,
				COOKIE_VALID_MAC_BUT_NO_COOKIE);
		/* the checker's reply to it is taken; then mac2 passes from that source */
		wr_cookie_create_reply(&checker, &ours, msg, msg_len, 42, src, now);
		g_assert_true(wr_cookie_consume_reply(&maker, &ours, now));
		wr_cookie_add_macs(&maker, msg, msg_len, now);
		state = wr_cookie_validate(&checker, msg, msg_len, true, src, rl, now);
		g_assert_true(state == COOKIE_VALID_MAC_WITH_COOKIE ||
			      state == COOKIE_VALID_MAC_WITH_COOKIE_BUT_RATELIMITED);
		/* and not from another port */
		g_assert_cmpint(wr_cookie_validate(&checker, msg, msg_len, true,
						   &keys->src[src == &keys->src[1] ? 0 : 1], rl,
						   now),
				==, COOKIE_VALID_MAC_BUT_NO_COOKIE);
		/* a reply to an earlier message than the last one is refused (unless the two
		 * messages have the same mac1, that is the same bytes) */
		wr_cookie_create_reply(&checker, &ours, first, INIT_LEN, 42, src, now);
		if (memcmp(first + INIT_LEN - MACS_LEN, msg + msg_len - MACS_LEN, WR_MAC_LEN) != 0)
			g_assert_false(wr_cookie_consume_reply(&maker, &ours, now));
	}

	wr_memzero(&checker, sizeof(checker));
	wr_memzero(&maker, sizeof(maker));
	g_free(msg);
	wr_ratelimiter_free(rl);
	return 0;
}
