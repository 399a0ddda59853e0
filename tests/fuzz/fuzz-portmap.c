/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer target for the port-mapping codec (wr-portmap-proto): arbitrary datagrams, as a
 * router's answer on UDP 5351 would arrive, through the PCP parser, the NAT-PMP parser and the
 * dispatcher.  Besides the sanitizers it checks the contracts: the dispatcher agrees with the
 * parser the version byte picks, the two parsers never both accept one datagram, out
 * parameters are untouched on failure, a success carries a usable external endpoint, and a PCP
 * MAP answer parsed leads to a request that carries the same nonce, port and address.
 *
 * Input: the datagram, as is.
 */

#define G_LOG_DOMAIN "WrFuzzPortmap"

#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <string.h>

#include "wr-portmap-proto.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define POISON 0xA5

static void
assert_all(const void *p, size_t len, uint8_t value)
{
	for (size_t i = 0; i < len; i++)
		g_assert_cmphex(((const uint8_t *) p)[i], ==, value);
}

static uint16_t
port_of(const WrEndpoint *ep)
{
	if (ep->sa.sa_family == AF_INET)
		return ntohs(ep->in4.sin_port);
	return ntohs(ep->in6.sin6_port);
}

static void
check_map_echo(const WrPortmapResponse *r)
{
	static const WrEndpoint client = {.in4 = {.sin_family = AF_INET}};
	uint8_t req[WR_PCP_MAP_LEN];

	g_assert_cmpint(wr_pcp_build_map(req, &client, r->nonce, r->internal_port, &r->external,
					 r->lifetime),
			==, WR_PCP_MAP_LEN);
	g_assert_cmpmem(req + WR_PCP_HEADER_LEN, WR_PCP_NONCE_LEN, r->nonce, WR_PCP_NONCE_LEN);
	g_assert_cmpuint((uint16_t) ((req[40] << 8) | req[41]), ==, r->internal_port);
	g_assert_cmpuint((uint16_t) ((req[42] << 8) | req[43]), ==, port_of(&r->external));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	WrPortmapResponse pcp, pmp, any;
	int e_pcp, e_pmp, e_any;

	memset(&pcp, POISON, sizeof(pcp));
	memset(&pmp, POISON, sizeof(pmp));
	memset(&any, POISON, sizeof(any));
	e_pcp = wr_pcp_parse_response(data, size, &pcp);
	e_pmp = wr_natpmp_parse_response(data, size, &pmp);
	e_any = wr_portmap_parse_response(data, size, &any);

	g_assert_true(e_pcp == 0 || e_pcp == -EINVAL || e_pcp == -EBADMSG);
	g_assert_true(e_pmp == 0 || e_pmp == -EINVAL || e_pmp == -EBADMSG);
	g_assert_false(e_pcp == 0 && e_pmp == 0);
	if (e_pcp < 0)
		assert_all(&pcp, sizeof(pcp), POISON);
	if (e_pmp < 0)
		assert_all(&pmp, sizeof(pmp), POISON);
	if (e_any < 0)
		assert_all(&any, sizeof(any), POISON);

	/* the dispatcher is the parser of the version byte */
	if (size >= 1 && data[0] == WR_PCP_VERSION) {
		g_assert_cmpint(e_any, ==, e_pcp);
		if (e_any == 0)
			g_assert_cmpmem(&any, sizeof(any), &pcp, sizeof(pcp));
	} else if (size >= 1 && data[0] == WR_NATPMP_VERSION) {
		g_assert_cmpint(e_any, ==, e_pmp);
		if (e_any == 0)
			g_assert_cmpmem(&any, sizeof(any), &pmp, sizeof(pmp));
	} else {
		g_assert_cmpint(e_any, ==, -EINVAL);
	}

	if (e_pcp == 0) {
		g_assert_cmpuint(pcp.version, ==, WR_PCP_VERSION);
		g_assert_true(size >= WR_PCP_HEADER_LEN && size <= WR_PCP_MAX_LEN && size % 4 == 0);
		if (pcp.result == WR_PCP_SUCCESS && pcp.opcode == WR_PCP_OP_MAP) {
			g_assert_true(pcp.external.sa.sa_family == AF_INET ||
				      pcp.external.sa.sa_family == AF_INET6);
			g_assert_cmpuint(port_of(&pcp.external), !=, 0);
			check_map_echo(&pcp);
		} else {
			g_assert_cmpint(pcp.external.sa.sa_family, ==, AF_UNSPEC);
		}
		(void) wr_pcp_result_str(pcp.result);
	}
	if (e_pmp == 0) {
		g_assert_cmpuint(pmp.version, ==, WR_NATPMP_VERSION);
		if (pmp.result == WR_NATPMP_SUCCESS) {
			g_assert_cmpint(pmp.external.sa.sa_family, ==, AF_INET);
			g_assert_true(size == WR_NATPMP_EXTERNAL_RESP_LEN ||
				      size == WR_NATPMP_MAP_RESP_LEN);
		} else {
			g_assert_cmpint(pmp.external.sa.sa_family, ==, AF_UNSPEC);
		}
		(void) wr_natpmp_result_str(pmp.result);
	}
	return 0;
}
