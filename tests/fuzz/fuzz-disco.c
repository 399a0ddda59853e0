/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer target for the disco codec (wr-disco): the input is taken both as a packet off
 * the shared socket (classifier, sender key, open with a fixed key pair, then the inner
 * parsers) and as an inner message (every parser directly).  Besides the sanitizers it checks
 * the contracts: the classifier agrees with wr_disco_is_disco, an opened message is exactly
 * len - 78 bytes, whatever parses rebuilds into something that parses to the same fields,
 * and any input sealed as an inner message opens back to itself.
 *
 * The receiver is B and the sender A, both with fixed private keys, so that the committed
 * seeds hold packets that open.
 */

#define G_LOG_DOMAIN "WrFuzzDisco"

#include "config.h"

#include <errno.h>
#include <glib.h>
#include <string.h>

#include "wr-crypto.h"
#include "wr-disco.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* keeps each run fast; the codec has no length-dependent paths beyond this */
#define MAX_FUZZ_INPUT 4096

static const uint8_t a_private[WR_DISCO_KEY_LEN] = {
	0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a,
	0x4b, 0x4c, 0x4d, 0x4e, 0x4f, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55,
	0x56, 0x57, 0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f,
};
static const uint8_t b_private[WR_DISCO_KEY_LEN] = {
	0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a,
	0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75,
	0x76, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f,
};

typedef struct {
	uint8_t a_public[WR_DISCO_KEY_LEN];
	uint8_t shared[WR_DISCO_KEY_LEN];
} Keys;

static const Keys *
keys_get(void)
{
	static Keys keys;
	static bool initialized;

	if (!initialized) {
		uint8_t other[WR_DISCO_KEY_LEN];
		uint8_t b_public[WR_DISCO_KEY_LEN];

		g_assert_true(wr_crypto_init());
		g_assert_true(wr_x25519_public(keys.a_public, a_private));
		g_assert_true(wr_x25519_public(b_public, b_private));
		g_assert_cmpint(wr_disco_shared_key(keys.shared, keys.a_public, b_private), ==, 0);
		g_assert_cmpint(wr_disco_shared_key(other, b_public, a_private), ==, 0);
		g_assert_true(memcmp(other, keys.shared, sizeof(other)) == 0);
		initialized = true;
	}
	return &keys;
}

static void
check_ping(const WrDiscoPing *ping)
{
	g_autofree uint8_t *buf = g_malloc(WR_DISCO_PING_LEN + ping->padding);
	WrDiscoPing again;
	int n;

	n = wr_disco_build_ping(buf, WR_DISCO_PING_LEN + ping->padding, ping->tx_id,
				ping->has_node_key ? ping->node_key : NULL, ping->padding);
	g_assert_cmpint(n, >, 0);
	g_assert_cmpint(wr_disco_parse_ping(buf, (size_t) n, &again), ==, 0);
	g_assert_true(memcmp(again.tx_id, ping->tx_id, WR_DISCO_TXID_LEN) == 0);
	g_assert_true(again.has_node_key == ping->has_node_key);
	if (ping->has_node_key)
		g_assert_true(memcmp(again.node_key, ping->node_key, WR_DISCO_KEY_LEN) == 0);
	g_assert_cmpuint(again.padding, ==, ping->padding);
}

static void
check_pong(const WrDiscoPong *pong)
{
	uint8_t buf[WR_DISCO_PONG_LEN];
	WrDiscoPong again;

	g_assert_cmpint(wr_disco_build_pong(buf, sizeof(buf), pong->tx_id, &pong->src), ==,
			WR_DISCO_PONG_LEN);
	g_assert_cmpint(wr_disco_parse_pong(buf, sizeof(buf), &again), ==, 0);
	g_assert_true(memcmp(again.tx_id, pong->tx_id, WR_DISCO_TXID_LEN) == 0);
	g_assert_true(wr_endpoint_equal(&again.src, &pong->src));
	g_assert_true(wr_disco_endpoint_is_derp(&again.src) ==
		      wr_disco_endpoint_is_derp(&pong->src));
}

static void
check_call_me_maybe(const WrDiscoCallMeMaybe *cmm)
{
	uint8_t buf[WR_DISCO_CALL_ME_MAYBE_LEN(WR_DISCO_MAX_ENDPOINTS)];
	WrDiscoCallMeMaybe again;
	int n;

	g_assert_cmpuint(cmm->n_endpoints, <=, WR_DISCO_MAX_ENDPOINTS);
	n = wr_disco_build_call_me_maybe(buf, sizeof(buf), cmm->endpoints, cmm->n_endpoints);
	g_assert_cmpint(n, ==, (int) WR_DISCO_CALL_ME_MAYBE_LEN(cmm->n_endpoints));
	g_assert_cmpint(wr_disco_parse_call_me_maybe(buf, (size_t) n, &again), ==, 0);
	g_assert_cmpuint(again.n_endpoints, ==, cmm->n_endpoints);
	for (size_t i = 0; i < cmm->n_endpoints; i++)
		g_assert_true(wr_endpoint_equal(&again.endpoints[i], &cmm->endpoints[i]));
}

/* every parser on msg; the dispatcher must agree with the one for its type */
static void
parse_inner(const uint8_t *msg, size_t len)
{
	WrDiscoMessage m;
	WrDiscoPing ping;
	WrDiscoPong pong;
	WrDiscoCallMeMaybe cmm;
	int rc_ping = wr_disco_parse_ping(msg, len, &ping);
	int rc_pong = wr_disco_parse_pong(msg, len, &pong);
	int rc_cmm = wr_disco_parse_call_me_maybe(msg, len, &cmm);
	int rc = wr_disco_parse(msg, len, &m);

	g_assert_true(rc == 0 || rc == -EBADMSG || rc == -ENOMSG);
	if (rc_ping == 0)
		check_ping(&ping);
	if (rc_pong == 0)
		check_pong(&pong);
	if (rc_cmm == 0)
		check_call_me_maybe(&cmm);
	if (len < WR_DISCO_HEADER_LEN) {
		g_assert_cmpint(rc, ==, -EBADMSG);
		return;
	}
	switch (msg[0]) {
	case WR_DISCO_PING:
		g_assert_cmpint(rc, ==, rc_ping);
		if (rc == 0)
			g_assert_true(m.ping.padding == ping.padding);
		break;
	case WR_DISCO_PONG:
		g_assert_cmpint(rc, ==, rc_pong);
		break;
	case WR_DISCO_CALL_ME_MAYBE:
		/* a CallMeMaybe with a header always parses, possibly with no endpoints */
		g_assert_cmpint(rc, ==, 0);
		g_assert_cmpuint(m.call_me_maybe.n_endpoints, ==, cmm.n_endpoints);
		break;
	default:
		g_assert_cmpint(rc, ==, -ENOMSG);
		break;
	}
	if (rc == 0)
		g_assert_cmpint(m.type, ==, msg[0]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const Keys *keys = keys_get();
	uint8_t sender[WR_DISCO_KEY_LEN];
	uint8_t nonce[WR_DISCO_NONCE_LEN] = {0};
	g_autofree uint8_t *inner = NULL;
	g_autofree uint8_t *sealed = NULL;
	bool disco;
	int rc;

	if (size > MAX_FUZZ_INPUT)
		return 0;

	/* as a packet off the socket */
	disco = wr_disco_is_disco(data, size);
	g_assert_true(disco == (wr_disco_classify(data, size) == WR_PACKET_DISCO));
	g_assert_cmpint(wr_disco_sender_key(data, size, sender), ==, disco ? 0 : -EINVAL);
	inner = g_malloc(size + 1);
	rc = wr_disco_open(inner, size, data, size, keys->shared);
	if (!disco || size < WR_DISCO_OVERHEAD)
		g_assert_cmpint(rc, ==, -EINVAL);
	else
		g_assert_true(rc == -EBADMSG || rc == (int) (size - WR_DISCO_OVERHEAD));
	if (rc >= 0)
		parse_inner(inner, (size_t) rc);

	/* as an inner message */
	parse_inner(data, size);

	/* sealed by A, it opens at B to itself */
	memcpy(nonce, data, MIN(size, sizeof(nonce)));
	sealed = g_malloc(size + WR_DISCO_OVERHEAD);
	g_assert_cmpint(wr_disco_seal(sealed, size + WR_DISCO_OVERHEAD, data, size, keys->a_public,
				      keys->shared, nonce),
			==, (int) (size + WR_DISCO_OVERHEAD));
	g_assert_cmpint(wr_disco_classify(sealed, size + WR_DISCO_OVERHEAD), ==, WR_PACKET_DISCO);
	g_assert_cmpint(wr_disco_open(inner, size, sealed, size + WR_DISCO_OVERHEAD, keys->shared),
			==, (int) size);
	g_assert_true(size == 0 || memcmp(inner, data, size) == 0);
	return 0;
}
