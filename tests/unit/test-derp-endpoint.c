/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrDerpEndpointTest"

#include "config.h"

#include <arpa/inet.h>
#include <glib.h>
#include <string.h>

#include "wr-derp-endpoint.h"
#include "wr-disco.h"
#include "wr-path.h"

static void
parse(const char *text, WrEndpoint *out)
{
	g_assert_true(wr_endpoint_parse(out, text));
}

/* the documented layout, byte for byte, through the UAPI's own formatter */
static void
test_layout(void)
{
	static const struct {
		uint32_t region, peer;
		const char *text;
	} cases[] = {
		{1, 2, "[fd7a:115c:a1e0:ffff:0:1:0:2]:0"},
		{900, 65536, "[fd7a:115c:a1e0:ffff:0:384:1:0]:0"},
		{0xffffffffu, 0xfffffffeu, "[fd7a:115c:a1e0:ffff:ffff:ffff:ffff:fffe]:0"},
		{0, 0, "[fd7a:115c:a1e0:ffff::]:0"},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		WrEndpoint ep;
		char text[WR_ENDPOINT_STRLEN];
		uint32_t region = 12345, peer = 12345;

		wr_derp_endpoint_encode(cases[i].region, cases[i].peer, &ep);
		wr_endpoint_format(&ep, text);
		g_assert_cmpstr(text, ==, cases[i].text);
		g_assert_true(wr_derp_endpoint_is_derp(&ep));
		g_assert_true(wr_derp_endpoint_decode(&ep, &region, &peer));
		g_assert_cmpuint(region, ==, cases[i].region);
		g_assert_cmpuint(peer, ==, cases[i].peer);
	}
}

/* a parsed address in the block is a DERP endpoint whatever its port; decoding ignores it */
static void
test_parsed(void)
{
	WrEndpoint ep;
	uint32_t region, peer;

	parse("[fd7a:115c:a1e0:ffff:0:7:0:9]:41641", &ep);
	g_assert_true(wr_derp_endpoint_is_derp(&ep));
	g_assert_true(wr_derp_endpoint_decode(&ep, &region, &peer));
	g_assert_cmpuint(region, ==, 7);
	g_assert_cmpuint(peer, ==, 9);
}

/* real endpoints, and addresses next to the block, are not */
static void
test_not_derp(void)
{
	static const char *const cases[] = {
		"192.0.2.1:41641",
		"[2001:db8::1]:41641",
		"[fd7a:115c:a1e0::1]:41641",	       /* a node address: subnet 0 */
		"[fd7a:115c:a1e0:fffe:0:1:0:2]:41641", /* the subnet below */
		"[fd7a:115c:a1e1:ffff:0:1:0:2]:41641", /* another /48 */
		"[fc7a:115c:a1e0:ffff:0:1:0:2]:41641",
		"[::ffff:127.3.3.40]:1", /* a v4-mapped DERP magic address */
		"127.3.3.40:1",
	};
	uint32_t region = 77, peer = 88;
	WrEndpoint ep;

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		parse(cases[i], &ep);
		g_assert_false(wr_derp_endpoint_is_derp(&ep));
		g_assert_false(wr_derp_endpoint_decode(&ep, &region, &peer));
		g_assert_cmpuint(region, ==, 77);
		g_assert_cmpuint(peer, ==, 88);
	}
	memset(&ep, 0, sizeof(ep));
	ep.sa.sa_family = AF_UNSPEC;
	g_assert_false(wr_derp_endpoint_is_derp(&ep));
	/* an AF_INET endpoint whose bytes past the sockaddr_in happen to hold the prefix */
	memset(&ep, 0, sizeof(ep));
	ep.in4.sin_family = AF_INET;
	memcpy(ep.in6.sin6_addr.s6_addr, WR_DERP_ENDPOINT_PREFIX, 8);
	g_assert_false(wr_derp_endpoint_is_derp(&ep));
}

/* the disco source of a DERP message (on the wire, region only) is a different thing: it must
 * never be taken for a WireGuard DERP endpoint, and the reverse */
static void
test_path_source_distinct(void)
{
	WrEndpoint src, ep;

	for (uint32_t region = 1; region < 1000; region += 37) {
		wr_path_derp_source(region, &src);
		g_assert_false(wr_derp_endpoint_is_derp(&src));
		wr_derp_endpoint_encode(region, 1, &ep);
		g_assert_false(wr_endpoint_equal(&src, &ep));
		g_assert_cmpuint(ntohl(src.in4.sin_addr.s_addr), ==, WR_DISCO_DERP_MAGIC_IP);
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/warren/derp-endpoint/layout", test_layout);
	g_test_add_func("/warren/derp-endpoint/parsed", test_parsed);
	g_test_add_func("/warren/derp-endpoint/not-derp", test_not_derp);
	g_test_add_func("/warren/derp-endpoint/path-source-distinct", test_path_source_distinct);
	return g_test_run();
}
