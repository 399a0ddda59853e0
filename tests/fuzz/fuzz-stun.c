/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer target for the STUN Binding codec (wr-stun): arbitrary datagrams through the
 * classifier, the server's request parser and the client's response parser.  Besides the
 * sanitizers it checks the contracts: anything either parser takes is STUN by the classifier,
 * no datagram is both a request and a response, out parameters are untouched on failure, and
 * a parsed transaction id and address survive a response built from them.
 *
 * Input: the datagram, as is.
 */

#define G_LOG_DOMAIN "WrFuzzStun"

#include "config.h"

#include <errno.h>
#include <glib.h>
#include <string.h>

#include "wr-stun.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define POISON 0xA5

static void
assert_all(const void *p, size_t len, uint8_t value)
{
	for (size_t i = 0; i < len; i++)
		g_assert_cmphex(((const uint8_t *) p)[i], ==, value);
}

/* a response from (txid, ep) parses back to the same */
static void
check_echo(const uint8_t txid[WR_STUN_TXID_LEN], const WrEndpoint *ep)
{
	uint8_t out[WR_STUN_RESPONSE_MAX_LEN];
	uint8_t got_txid[WR_STUN_TXID_LEN];
	WrEndpoint got;
	int n;

	for (int fp = 0; fp <= 1; fp++) {
		n = wr_stun_build_response(out, sizeof(out), txid, ep, fp != 0);
		g_assert_cmpint(n, >, 0);
		g_assert_true(wr_stun_is_stun(out, (size_t) n));
		g_assert_cmpint(wr_stun_parse_response(out, (size_t) n, got_txid, &got), ==, 0);
		g_assert_cmpmem(got_txid, sizeof(got_txid), txid, WR_STUN_TXID_LEN);
		g_assert_true(wr_endpoint_equal(&got, ep));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *pkt = g_memdup2(data, size);
	uint8_t req_txid[WR_STUN_TXID_LEN];
	uint8_t resp_txid[WR_STUN_TXID_LEN];
	WrEndpoint ep;
	bool is_stun;
	int rq = 0;
	int r;
	int rs;

	is_stun = wr_stun_is_stun(pkt, size);

	for (int accept = WR_STUN_ACCEPT_TAILNODE; accept <= WR_STUN_ACCEPT_ANY; accept++) {
		memset(req_txid, POISON, sizeof(req_txid));
		r = wr_stun_parse_request(pkt, size, (WrStunAccept) accept, req_txid);
		g_assert_true(r == 0 || r == -EINVAL || r == -EBADMSG || r == -ENOMSG);
		if (r == 0) {
			g_assert_true(is_stun);
			g_assert_cmpmem(req_txid, sizeof(req_txid), pkt + 8, WR_STUN_TXID_LEN);
			g_assert_cmpuint(size % 4, ==, 0);
		} else {
			assert_all(req_txid, sizeof(req_txid), POISON);
		}
		/* the lenient rule differs from the strict one only by missing attributes */
		if (accept == WR_STUN_ACCEPT_TAILNODE)
			rq = r;
		else
			g_assert_cmpint(r, ==, rq == -ENOMSG ? 0 : rq);
	}

	memset(resp_txid, POISON, sizeof(resp_txid));
	memset(&ep, POISON, sizeof(ep));
	rs = wr_stun_parse_response(pkt, size, resp_txid, &ep);
	g_assert_true(rs == 0 || rs == -EINVAL || rs == -EBADMSG || rs == -ENOMSG);
	if (rs == 0) {
		g_assert_true(is_stun);
		g_assert_cmpmem(resp_txid, sizeof(resp_txid), pkt + 8, WR_STUN_TXID_LEN);
		g_assert_true(ep.sa.sa_family == AF_INET || ep.sa.sa_family == AF_INET6);
		g_assert_cmpuint(ep.in4.sin_port, !=, 0);
		check_echo(resp_txid, &ep);
	} else {
		assert_all(resp_txid, sizeof(resp_txid), POISON);
		assert_all(&ep, sizeof(ep), POISON);
	}
	g_assert_false((rq == 0 || rq == -ENOMSG) && rs == 0);
	/* the classifier's negative answer is final for both parsers */
	if (!is_stun)
		g_assert_true(rq == -EINVAL && rs == -EINVAL);

	/* a request built with the first 12 bytes as its id is always accepted */
	if (size >= WR_STUN_TXID_LEN) {
		uint8_t req[WR_STUN_REQUEST_LEN];
		uint8_t got[WR_STUN_TXID_LEN];

		wr_stun_build_request(req, data);
		g_assert_cmpint(
			wr_stun_parse_request(req, sizeof(req), WR_STUN_ACCEPT_TAILNODE, got), ==,
			0);
		g_assert_cmpmem(got, sizeof(got), data, WR_STUN_TXID_LEN);
	}

	g_free(pkt);
	return 0;
}
