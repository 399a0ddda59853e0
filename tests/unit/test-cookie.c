/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * MAC1, MAC2 and cookie replies: the maker (a peer) and the checker (a device) against each
 * other, and against the whitepaper's formulas (§5.4.4, §5.4.7) recomputed here: mac1 =
 * MAC(HASH("mac1----" || S_pub), msg), cookie = MAC(R_secret, ip || port), the reply is
 * XAEAD(HASH("cookie--" || S_pub), nonce, cookie, mac1), mac2 = MAC(cookie, msg).
 */

#define G_LOG_DOMAIN "WrCookieTest"

#include "config.h"

#include <glib.h>
#include <string.h>

#include "wr-cookie.h"
#include "wr-crypto.h"

#define T0  ((int64_t) 5000 * WR_USEC_PER_SEC)
#define SEC WR_USEC_PER_SEC

#define INITIATION_LEN sizeof(struct wr_message_handshake_initiation)
#define RESPONSE_LEN   sizeof(struct wr_message_handshake_response)

typedef struct {
	uint8_t private_key[WR_KEY_LEN];
	uint8_t public_key[WR_KEY_LEN];
	WrCookieChecker checker; /* the device owning the key */
	WrCookieMaker maker;	 /* a peer writing to it */
	WrEndpoint src;		 /* where the peer writes from */
} Fixture;

static void
endpoint(WrEndpoint *ep, const char *text)
{
	g_assert_true(wr_endpoint_parse(ep, text));
}

static void
fixture_init(Fixture *f)
{
	memset(f, 0, sizeof(*f));
	wr_x25519_generate(f->private_key, f->public_key);
	wr_cookie_checker_init(&f->checker, f->public_key);
	wr_cookie_maker_init(&f->maker, f->public_key);
	endpoint(&f->src, "198.51.100.1:51820");
	g_assert_true(f->checker.has_keys);
	g_assert_false(f->maker.is_valid);
	g_assert_false(f->maker.have_sent_mac1);
}

/* a handshake message of len bytes with random content (the MACs are only what they cover) */
static void
random_message(uint8_t *msg, size_t len, uint32_t type)
{
	wr_random_bytes(msg, len);
	msg[0] = (uint8_t) type;
	msg[1] = msg[2] = msg[3] = 0;
}

/* HASH(label || key) */
static void
label_key(uint8_t out[WR_HASH_LEN], const char *label, const uint8_t key[WR_KEY_LEN])
{
	uint8_t buf[8 + WR_KEY_LEN];

	g_assert_cmpuint(strlen(label), ==, 8);
	memcpy(buf, label, 8);
	memcpy(buf + 8, key, WR_KEY_LEN);
	wr_hash(out, buf, sizeof(buf));
}

static const uint8_t *
mac1_of(const uint8_t *msg, size_t len)
{
	return msg + len - 2 * WR_MAC_LEN;
}

static const uint8_t *
mac2_of(const uint8_t *msg, size_t len)
{
	return msg + len - WR_MAC_LEN;
}

static void
test_mac1(void)
{
	static const struct {
		size_t len;
		uint32_t type;
	} kinds[] = {
		{INITIATION_LEN, MESSAGE_HANDSHAKE_INITIATION},
		{RESPONSE_LEN, MESSAGE_HANDSHAKE_RESPONSE},
	};
	Fixture f;
	WrCookieChecker other;
	WrCookieChecker none;
	uint8_t other_private[WR_KEY_LEN], other_public[WR_KEY_LEN];

	fixture_init(&f);
	wr_x25519_generate(other_private, other_public);
	wr_cookie_checker_init(&other, other_public);
	wr_cookie_checker_init(&none, NULL);
	g_assert_false(none.has_keys);

	for (guint k = 0; k < G_N_ELEMENTS(kinds); k++) {
		uint8_t msg[INITIATION_LEN];
		size_t len = kinds[k].len;
		uint8_t key[WR_HASH_LEN];
		uint8_t expect[WR_MAC_LEN];

		random_message(msg, len, kinds[k].type);
		wr_cookie_add_macs(&f.maker, msg, len, T0);
		g_assert_true(f.maker.have_sent_mac1);
		g_assert_cmpmem(f.maker.last_mac1_sent, WR_MAC_LEN, mac1_of(msg, len), WR_MAC_LEN);
		/* no cookie held: mac2 is zeros */
		g_assert_true(wr_is_zero(mac2_of(msg, len), WR_MAC_LEN));

		/* mac1 = MAC(HASH("mac1----" || S_pub), everything before mac1) */
		label_key(key, "mac1----", f.public_key);
		wr_mac(expect, msg, len - 2 * WR_MAC_LEN, key, WR_HASH_LEN);
		g_assert_cmpmem(mac1_of(msg, len), WR_MAC_LEN, expect, WR_MAC_LEN);

		g_assert_cmpint(wr_cookie_validate(&f.checker, msg, len, false, &f.src, NULL, T0),
				==, COOKIE_VALID_MAC_BUT_NO_COOKIE);
		g_assert_cmpint(wr_cookie_validate(&other, msg, len, false, &f.src, NULL, T0), ==,
				COOKIE_INVALID_MAC);
		g_assert_cmpint(wr_cookie_validate(&none, msg, len, false, &f.src, NULL, T0), ==,
				COOKIE_INVALID_MAC);
		/* mac1 covers every byte before it, and mac2 is not covered */
		for (size_t i = 0; i < len - WR_MAC_LEN; i++) {
			msg[i] ^= 0x01;
			if (wr_cookie_validate(&f.checker, msg, len, false, &f.src, NULL, T0) !=
			    COOKIE_INVALID_MAC)
				g_error("byte %zu of a %zu-byte message is not covered", i, len);
			msg[i] ^= 0x01;
		}
		msg[len - 1] ^= 0xff;
		g_assert_cmpint(wr_cookie_validate(&f.checker, msg, len, false, &f.src, NULL, T0),
				==, COOKIE_VALID_MAC_BUT_NO_COOKIE);
	}

	/* too short to hold the MACs */
	{
		uint8_t tiny[2 * WR_MAC_LEN] = {0};

		g_assert_cmpint(wr_cookie_validate(&f.checker, tiny, sizeof(tiny) - 1, false,
						   &f.src, NULL, T0),
				==, COOKIE_INVALID_MAC);
	}
}

/* under load, mac2 is demanded: zeros or garbage there mean "no cookie" */
static void
test_no_cookie(void)
{
	Fixture f;
	uint8_t msg[INITIATION_LEN];

	fixture_init(&f);
	random_message(msg, sizeof(msg), MESSAGE_HANDSHAKE_INITIATION);
	wr_cookie_add_macs(&f.maker, msg, sizeof(msg), T0);
	g_assert_cmpint(wr_cookie_validate(&f.checker, msg, sizeof(msg), true, &f.src, NULL, T0),
			==, COOKIE_VALID_MAC_BUT_NO_COOKIE);
	wr_random_bytes(msg + sizeof(msg) - WR_MAC_LEN, WR_MAC_LEN);
	g_assert_cmpint(wr_cookie_validate(&f.checker, msg, sizeof(msg), true, &f.src, NULL, T0),
			==, COOKIE_VALID_MAC_BUT_NO_COOKIE);
	/* a bad mac1 is reported as such even when a cookie is asked for */
	msg[10] ^= 1;
	g_assert_cmpint(wr_cookie_validate(&f.checker, msg, sizeof(msg), true, &f.src, NULL, T0),
			==, COOKIE_INVALID_MAC);
}

/* the reply the checker makes for msg, checked against the formulas */
static void
make_reply(Fixture *f, struct wr_message_handshake_cookie *reply, const uint8_t *msg, size_t len,
	   const WrEndpoint *src, int64_t now)
{
	uint8_t key[WR_HASH_LEN];
	uint8_t cookie[WR_COOKIE_LEN];
	uint8_t expect[WR_COOKIE_LEN];
	uint8_t addr[16 + 2];
	uint16_t port_be;
	size_t addr_len;

	wr_cookie_create_reply(&f->checker, reply, msg, len, 0xdeadbeef, src, now);
	g_assert_cmpuint(GUINT32_FROM_LE(reply->header.type), ==, MESSAGE_HANDSHAKE_COOKIE);
	g_assert_cmpuint(reply->receiver_index, ==, 0xdeadbeef);

	/* XAEAD(HASH("cookie--" || S_pub), nonce, τ, mac1) with τ = MAC(R_secret, ip || port) */
	label_key(key, "cookie--", f->public_key);
	g_assert_true(wr_xaead_decrypt(cookie, reply->encrypted_cookie,
				       sizeof(reply->encrypted_cookie), mac1_of(msg, len),
				       WR_MAC_LEN, reply->nonce, key));
	addr_len = wr_endpoint_addr_bytes(src, addr, &port_be);
	memcpy(addr + addr_len, &port_be, 2);
	wr_mac(expect, addr, addr_len + 2, f->checker.secret, sizeof(f->checker.secret));
	g_assert_cmpmem(cookie, sizeof(cookie), expect, sizeof(expect));
}

static void
test_round_trip(void)
{
	static const char *const sources[] = {"198.51.100.1:51820", "[2001:db8::1]:51820"};

	for (guint s = 0; s < G_N_ELEMENTS(sources); s++) {
		Fixture f;
		struct wr_message_handshake_cookie reply;
		uint8_t msg[INITIATION_LEN];
		uint8_t cookie_key[WR_MAC_LEN];
		uint8_t expect[WR_MAC_LEN];
		WrEndpoint other_addr, other_port;

		g_test_message("from %s", sources[s]);
		fixture_init(&f);
		endpoint(&f.src, sources[s]);
		if (s == 0) {
			endpoint(&other_addr, "198.51.100.2:51820");
			endpoint(&other_port, "198.51.100.1:51821");
		} else {
			endpoint(&other_addr, "[2001:db8::2]:51820");
			endpoint(&other_port, "[2001:db8::1]:51821");
		}

		random_message(msg, sizeof(msg), MESSAGE_HANDSHAKE_INITIATION);
		wr_cookie_add_macs(&f.maker, msg, sizeof(msg), T0);
		make_reply(&f, &reply, msg, sizeof(msg), &f.src, T0);
		g_assert_cmpint(f.checker.secret_birthdate, ==, T0);
		g_assert_true(wr_cookie_consume_reply(&f.maker, &reply, T0 + 1));
		g_assert_true(f.maker.is_valid);
		g_assert_cmpint(f.maker.cookie_birthdate, ==, T0 + 1);
		/* one reply per message sent */
		g_assert_false(f.maker.have_sent_mac1);
		g_assert_false(wr_cookie_consume_reply(&f.maker, &reply, T0 + 1));

		/* the next message carries mac2 = MAC(cookie, everything before mac2) */
		random_message(msg, sizeof(msg), MESSAGE_HANDSHAKE_INITIATION);
		wr_cookie_add_macs(&f.maker, msg, sizeof(msg), T0 + 2);
		memcpy(cookie_key, f.maker.cookie, WR_MAC_LEN);
		wr_mac(expect, msg, sizeof(msg) - WR_MAC_LEN, cookie_key, WR_COOKIE_LEN);
		g_assert_cmpmem(mac2_of(msg, sizeof(msg)), WR_MAC_LEN, expect, WR_MAC_LEN);

		g_assert_cmpint(wr_cookie_validate(&f.checker, msg, sizeof(msg), true, &f.src, NULL,
						   T0 + 3),
				==, COOKIE_VALID_MAC_WITH_COOKIE);
		/* the cookie is bound to the address and the port it was given to */
		g_assert_cmpint(wr_cookie_validate(&f.checker, msg, sizeof(msg), true, &other_addr,
						   NULL, T0 + 3),
				==, COOKIE_VALID_MAC_BUT_NO_COOKIE);
		g_assert_cmpint(wr_cookie_validate(&f.checker, msg, sizeof(msg), true, &other_port,
						   NULL, T0 + 3),
				==, COOKIE_VALID_MAC_BUT_NO_COOKIE);
		/* a damaged mac1 fails before mac2 is looked at */
		msg[sizeof(msg) - WR_MAC_LEN - 1] ^= 1;
		g_assert_cmpint(wr_cookie_validate(&f.checker, msg, sizeof(msg), true, &f.src, NULL,
						   T0 + 3),
				==, COOKIE_INVALID_MAC);
		/* when no cookie is asked for, a message with one is as good as any */
		msg[sizeof(msg) - WR_MAC_LEN - 1] ^= 1;
		g_assert_cmpint(wr_cookie_validate(&f.checker, msg, sizeof(msg), false, &f.src,
						   NULL, T0 + 3),
				==, COOKIE_VALID_MAC_BUT_NO_COOKIE);
	}
}

/* a v4-mapped source is the same client as its IPv4 address */
static void
test_v4_mapped(void)
{
	Fixture f;
	struct wr_message_handshake_cookie reply;
	uint8_t msg[RESPONSE_LEN];
	WrEndpoint mapped;

	fixture_init(&f);
	endpoint(&mapped, "[::ffff:198.51.100.1]:51820");
	random_message(msg, sizeof(msg), MESSAGE_HANDSHAKE_RESPONSE);
	wr_cookie_add_macs(&f.maker, msg, sizeof(msg), T0);
	make_reply(&f, &reply, msg, sizeof(msg), &mapped, T0);
	g_assert_true(wr_cookie_consume_reply(&f.maker, &reply, T0));
	wr_cookie_add_macs(&f.maker, msg, sizeof(msg), T0);
	g_assert_cmpint(wr_cookie_validate(&f.checker, msg, sizeof(msg), true, &f.src, NULL, T0),
			==, COOKIE_VALID_MAC_WITH_COOKIE);
}

/* the maker uses a cookie for COOKIE_SECRET_MAX_AGE - COOKIE_SECRET_LATENCY seconds */
static void
test_maker_expiry(void)
{
	static const struct {
		int64_t at; /* after the cookie arrived */
		bool mac2;
	} rows[] = {
		{0, true},
		{(COOKIE_SECRET_MAX_AGE - COOKIE_SECRET_LATENCY) * SEC - 1, true},
		{(COOKIE_SECRET_MAX_AGE - COOKIE_SECRET_LATENCY) * SEC, false},
		{COOKIE_SECRET_MAX_AGE * SEC, false},
	};
	Fixture f;
	struct wr_message_handshake_cookie reply;
	uint8_t msg[INITIATION_LEN];

	fixture_init(&f);
	random_message(msg, sizeof(msg), MESSAGE_HANDSHAKE_INITIATION);
	wr_cookie_add_macs(&f.maker, msg, sizeof(msg), T0);
	make_reply(&f, &reply, msg, sizeof(msg), &f.src, T0);
	g_assert_true(wr_cookie_consume_reply(&f.maker, &reply, T0));
	for (guint i = 0; i < G_N_ELEMENTS(rows); i++) {
		g_test_message("row %u", i);
		random_message(msg, sizeof(msg), MESSAGE_HANDSHAKE_INITIATION);
		wr_cookie_add_macs(&f.maker, msg, sizeof(msg), T0 + rows[i].at);
		g_assert_cmpint(!wr_is_zero(mac2_of(msg, sizeof(msg)), WR_MAC_LEN), ==,
				rows[i].mac2);
	}
}

/* the checker's secret lives COOKIE_SECRET_MAX_AGE seconds; its cookies die with it */
static void
test_checker_rotation(void)
{
	Fixture f;
	struct wr_message_handshake_cookie reply;
	uint8_t msg[INITIATION_LEN];
	uint8_t old_secret[WR_HASH_LEN];

	fixture_init(&f);
	g_assert_cmpint(f.checker.secret_birthdate, ==, INT64_MIN);
	random_message(msg, sizeof(msg), MESSAGE_HANDSHAKE_INITIATION);
	wr_cookie_add_macs(&f.maker, msg, sizeof(msg), T0);
	make_reply(&f, &reply, msg, sizeof(msg), &f.src, T0);
	memcpy(old_secret, f.checker.secret, sizeof(old_secret));
	g_assert_true(wr_cookie_consume_reply(&f.maker, &reply, T0));

	/* made late in the cookie's life at the maker, checked late at the checker */
	random_message(msg, sizeof(msg), MESSAGE_HANDSHAKE_INITIATION);
	wr_cookie_add_macs(&f.maker, msg, sizeof(msg), T0 + 100 * SEC);
	g_assert_false(wr_is_zero(mac2_of(msg, sizeof(msg)), WR_MAC_LEN));
	g_assert_cmpint(wr_cookie_validate(&f.checker, msg, sizeof(msg), true, &f.src, NULL,
					   T0 + COOKIE_SECRET_MAX_AGE * SEC - 1),
			==, COOKIE_VALID_MAC_WITH_COOKIE);
	g_assert_cmpmem(f.checker.secret, WR_HASH_LEN, old_secret, WR_HASH_LEN);
	g_assert_cmpint(wr_cookie_validate(&f.checker, msg, sizeof(msg), true, &f.src, NULL,
					   T0 + COOKIE_SECRET_MAX_AGE * SEC),
			==, COOKIE_VALID_MAC_BUT_NO_COOKIE);
	g_assert_cmpint(f.checker.secret_birthdate, ==, T0 + COOKIE_SECRET_MAX_AGE * SEC);
	g_assert_false(memcmp(f.checker.secret, old_secret, WR_HASH_LEN) == 0);

	/* a fresh reply under the new secret works again */
	wr_cookie_add_macs(&f.maker, msg, sizeof(msg), T0 + 121 * SEC);
	make_reply(&f, &reply, msg, sizeof(msg), &f.src, T0 + 121 * SEC);
	g_assert_true(wr_cookie_consume_reply(&f.maker, &reply, T0 + 121 * SEC));
	wr_cookie_add_macs(&f.maker, msg, sizeof(msg), T0 + 122 * SEC);
	g_assert_cmpint(wr_cookie_validate(&f.checker, msg, sizeof(msg), true, &f.src, NULL,
					   T0 + 122 * SEC),
			==, COOKIE_VALID_MAC_WITH_COOKIE);
}

/* a reply is only taken for the last message sent, intact, and from the right checker */
static void
test_reply_rejected(void)
{
	Fixture f;
	struct wr_message_handshake_cookie reply;
	struct wr_message_handshake_cookie good;
	uint8_t first[INITIATION_LEN];
	uint8_t second[INITIATION_LEN];
	WrCookieMaker before;

	fixture_init(&f);
	random_message(first, sizeof(first), MESSAGE_HANDSHAKE_INITIATION);
	random_message(second, sizeof(second), MESSAGE_HANDSHAKE_INITIATION);

	/* nothing sent yet */
	wr_cookie_create_reply(&f.checker, &reply, first, sizeof(first), 1, &f.src, T0);
	g_assert_false(wr_cookie_consume_reply(&f.maker, &reply, T0));

	/* a reply to an earlier message than the last one sent */
	wr_cookie_add_macs(&f.maker, first, sizeof(first), T0);
	make_reply(&f, &reply, first, sizeof(first), &f.src, T0);
	wr_cookie_add_macs(&f.maker, second, sizeof(second), T0);
	before = f.maker;
	g_assert_false(wr_cookie_consume_reply(&f.maker, &reply, T0));
	g_assert_cmpmem(&f.maker, sizeof(f.maker), &before, sizeof(before));

	/* a bit flipped in the nonce or the encrypted cookie */
	make_reply(&f, &good, second, sizeof(second), &f.src, T0);
	for (size_t i = G_STRUCT_OFFSET(struct wr_message_handshake_cookie, nonce);
	     i < sizeof(good); i++) {
		reply = good;
		((uint8_t *) &reply)[i] ^= 0x80;
		if (wr_cookie_consume_reply(&f.maker, &reply, T0))
			g_error("byte %zu of the reply is not authenticated", i);
		g_assert_cmpmem(&f.maker, sizeof(f.maker), &before, sizeof(before));
	}

	/* a reply made by another device's checker */
	{
		Fixture g;

		fixture_init(&g);
		wr_cookie_create_reply(&g.checker, &reply, second, sizeof(second), 1, &f.src, T0);
		g_assert_false(wr_cookie_consume_reply(&f.maker, &reply, T0));
	}

	g_assert_true(wr_cookie_consume_reply(&f.maker, &good, T0));
}

/* with a valid cookie, an address gets WR_RATELIMITER_PACKETS_BURST handshakes at once */
static void
test_ratelimited(void)
{
	Fixture f;
	struct wr_message_handshake_cookie reply;
	uint8_t msg[INITIATION_LEN];
	WrRatelimiter *rl = wr_ratelimiter_new();
	WrEndpoint other;
	guint i;

	fixture_init(&f);
	random_message(msg, sizeof(msg), MESSAGE_HANDSHAKE_INITIATION);
	wr_cookie_add_macs(&f.maker, msg, sizeof(msg), T0);
	make_reply(&f, &reply, msg, sizeof(msg), &f.src, T0);
	g_assert_true(wr_cookie_consume_reply(&f.maker, &reply, T0));
	wr_cookie_add_macs(&f.maker, msg, sizeof(msg), T0);

	for (i = 0; i < WR_RATELIMITER_PACKETS_BURST; i++)
		g_assert_cmpint(
			wr_cookie_validate(&f.checker, msg, sizeof(msg), true, &f.src, rl, T0), ==,
			COOKIE_VALID_MAC_WITH_COOKIE);
	g_assert_cmpint(wr_cookie_validate(&f.checker, msg, sizeof(msg), true, &f.src, rl, T0), ==,
			COOKIE_VALID_MAC_WITH_COOKIE_BUT_RATELIMITED);
	/* a message without the cookie does not reach the limiter at all */
	g_assert_cmpint(wr_cookie_validate(&f.checker, msg, sizeof(msg), false, &f.src, rl, T0), ==,
			COOKIE_VALID_MAC_BUT_NO_COOKIE);
	/* one token comes back after 1/PACKETS_PER_SECOND */
	g_assert_cmpint(wr_cookie_validate(&f.checker, msg, sizeof(msg), true, &f.src, rl,
					   T0 + SEC / WR_RATELIMITER_PACKETS_PER_SECOND),
			==, COOKIE_VALID_MAC_WITH_COOKIE);
	g_assert_cmpint(wr_cookie_validate(&f.checker, msg, sizeof(msg), true, &f.src, rl,
					   T0 + SEC / WR_RATELIMITER_PACKETS_PER_SECOND),
			==, COOKIE_VALID_MAC_WITH_COOKIE_BUT_RATELIMITED);

	/* another address has its own bucket (and needs its own cookie) */
	endpoint(&other, "198.51.100.7:4000");
	random_message(msg, sizeof(msg), MESSAGE_HANDSHAKE_INITIATION);
	wr_cookie_add_macs(&f.maker, msg, sizeof(msg), T0);
	make_reply(&f, &reply, msg, sizeof(msg), &other, T0);
	g_assert_true(wr_cookie_consume_reply(&f.maker, &reply, T0));
	wr_cookie_add_macs(&f.maker, msg, sizeof(msg), T0);
	g_assert_cmpint(wr_cookie_validate(&f.checker, msg, sizeof(msg), true, &other, rl, T0), ==,
			COOKIE_VALID_MAC_WITH_COOKIE);
	wr_ratelimiter_free(rl);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_assert_true(wr_crypto_init());

	g_test_add_func("/warren/cookie/mac1", test_mac1);
	g_test_add_func("/warren/cookie/no-cookie", test_no_cookie);
	g_test_add_func("/warren/cookie/round-trip", test_round_trip);
	g_test_add_func("/warren/cookie/v4-mapped", test_v4_mapped);
	g_test_add_func("/warren/cookie/maker-expiry", test_maker_expiry);
	g_test_add_func("/warren/cookie/checker-rotation", test_checker_rotation);
	g_test_add_func("/warren/cookie/reply-rejected", test_reply_rejected);
	g_test_add_func("/warren/cookie/ratelimited", test_ratelimited);
	return g_test_run();
}
