/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * PCP (RFC 6887) and NAT-PMP (RFC 6886) codec: byte-exact vectors laid out from the RFCs'
 * message figures (PCP §7.1, §7.2, §11.1, §14.1; NAT-PMP §3.2, §3.3, §3.5), one NAT-PMP answer
 * captured from miniupnpd 2.3.1, the §8.5 epoch rule, and the client's argument checks and
 * give-up budget against a port on loopback where nothing listens.
 */

#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <gio/gio.h>

#include "wr-portmap-proto.h"
#include "wr-portmap.h"

#define POISON 0xA5

static WrEndpoint
ep(const char *text)
{
	WrEndpoint e;

	g_assert_true(wr_endpoint_parse(&e, text));
	return e;
}

static WrEndpoint
ip4(const char *addr)
{
	WrEndpoint e;

	memset(&e, 0, sizeof(e));
	e.in4.sin_family = AF_INET;
	g_assert_cmpint(inet_pton(AF_INET, addr, &e.in4.sin_addr), ==, 1);
	return e;
}

static void
assert_poisoned(const WrPortmapResponse *r)
{
	const guint8 *p = (const guint8 *) r;

	for (gsize i = 0; i < sizeof(*r); i++)
		g_assert_cmphex(p[i], ==, POISON);
}

/* parse must fail with err and leave the output alone */
static void
assert_parse_fails(const guint8 *buf, gsize len, int err)
{
	WrPortmapResponse r;

	memset(&r, POISON, sizeof(r));
	g_assert_cmpint(wr_portmap_parse_response(buf, len, &r), ==, err);
	assert_poisoned(&r);
}

static void
assert_external(const WrPortmapResponse *r, const char *text)
{
	char got[WR_ENDPOINT_STRLEN];

	wr_endpoint_format(&r->external, got);
	g_assert_cmpstr(got, ==, text);
}

static const guint8 nonce[WR_PCP_NONCE_LEN] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
					       0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c};

/* ---- NAT-PMP ---- */

static void
test_natpmp_build(void)
{
	/* §3.2: version 0, opcode 0 */
	static const guint8 external[] = {0x00, 0x00};
	/* §3.3: version 0, opcode 1 (UDP), reserved, internal 41641, suggested 41641, 7200 s */
	static const guint8 map[] = {0x00, 0x01, 0x00, 0x00, 0xa2, 0xa9,
				     0xa2, 0xa9, 0x00, 0x00, 0x1c, 0x20};
	/* §3.4: deletion, lifetime 0 and suggested port 0 */
	static const guint8 del[] = {0x00, 0x01, 0x00, 0x00, 0xa2, 0xa9,
				     0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
	guint8 out[WR_NATPMP_MAP_REQ_LEN];

	g_assert_cmpint(wr_natpmp_build_external(out), ==, sizeof(external));
	g_assert_cmpmem(out, sizeof(external), external, sizeof(external));
	g_assert_cmpint(wr_natpmp_build_map(out, 41641, 41641, 7200), ==, sizeof(map));
	g_assert_cmpmem(out, sizeof(out), map, sizeof(map));
	g_assert_cmpint(wr_natpmp_build_map(out, 41641, 0, 0), ==, sizeof(del));
	g_assert_cmpmem(out, sizeof(out), del, sizeof(del));
}

static void
test_natpmp_external(void)
{
	/* §3.2: version 0, opcode 128, result 0, epoch 0x00012345, 203.0.113.7 */
	static const guint8 resp[] = {0x00, 0x80, 0x00, 0x00, 0x00, 0x01,
				      0x23, 0x45, 0xcb, 0x00, 0x71, 0x07};
	/* what miniupnpd 2.3.1 answered in the NAT lab (WAN 198.20.0.100, epoch 1) */
	static const guint8 miniupnpd[] = {0x00, 0x80, 0x00, 0x00, 0x00, 0x00,
					   0x00, 0x01, 0xc6, 0x14, 0x00, 0x64};
	WrPortmapResponse r;

	g_assert_cmpint(wr_portmap_parse_response(resp, sizeof(resp), &r), ==, 0);
	g_assert_cmpuint(r.version, ==, WR_NATPMP_VERSION);
	g_assert_cmpuint(r.opcode, ==, WR_NATPMP_OP_EXTERNAL);
	g_assert_cmpuint(r.result, ==, WR_NATPMP_SUCCESS);
	g_assert_cmpuint(r.epoch, ==, 0x12345);
	assert_external(&r, "203.0.113.7:0");

	g_assert_cmpint(wr_natpmp_parse_response(miniupnpd, sizeof(miniupnpd), &r), ==, 0);
	g_assert_cmpuint(r.epoch, ==, 1);
	assert_external(&r, "198.20.0.100:0");

	/* one byte short or long */
	assert_parse_fails(resp, sizeof(resp) - 1, -EBADMSG);
	{
		guint8 longer[sizeof(resp) + 1] = {0};

		memcpy(longer, resp, sizeof(resp));
		assert_parse_fails(longer, sizeof(longer), -EBADMSG);
	}
}

static void
test_natpmp_map(void)
{
	/* §3.3: opcode 129, result 0, epoch 0x00000e10, internal 41641, mapped 41642, 7200 s;
	 * the last one captured from miniupnpd 2.3.1 */
	static const guint8 resp[] = {0x00, 0x81, 0x00, 0x00, 0x00, 0x00, 0x0e, 0x10,
				      0xa2, 0xa9, 0xa2, 0xaa, 0x00, 0x00, 0x1c, 0x20};
	static const guint8 miniupnpd[] = {0x00, 0x81, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
					   0xa2, 0xa9, 0xa2, 0xa9, 0x00, 0x00, 0x1c, 0x20};
	WrPortmapResponse r;

	g_assert_cmpint(wr_portmap_parse_response(resp, sizeof(resp), &r), ==, 0);
	g_assert_cmpuint(r.opcode, ==, WR_NATPMP_OP_MAP_UDP);
	g_assert_cmpuint(r.result, ==, 0);
	g_assert_cmpuint(r.epoch, ==, 3600);
	g_assert_cmpuint(r.internal_port, ==, 41641);
	g_assert_cmpuint(r.protocol, ==, WR_PCP_PROTO_UDP);
	g_assert_cmpuint(r.lifetime, ==, 7200);
	assert_external(&r, "0.0.0.0:41642");

	g_assert_cmpint(wr_portmap_parse_response(miniupnpd, sizeof(miniupnpd), &r), ==, 0);
	assert_external(&r, "0.0.0.0:41641");

	for (gsize len = 0; len < sizeof(resp); len++)
		assert_parse_fails(resp, len, len < 2 ? -EINVAL : -EBADMSG);
}

static void
test_natpmp_errors(void)
{
	/* §3.5: a bare 8-byte error: not authorized, to a UDP map request */
	static const guint8 refused[] = {0x00, 0x81, 0x00, 0x02, 0x00, 0x00, 0x00, 0x07};
	/* RFC 6887 §9: a NAT-PMP server's "unsupported version" answer to a PCP request */
	static const guint8 unsupp[] = {0x00, 0x80, 0x00, 0x01, 0x00, 0x00, 0x00, 0x07};
	/* a success may not be cut to the header */
	static const guint8 short_ok[] = {0x00, 0x81, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07};
	/* a request (no response bit), another version, a result beyond 8 bits */
	static const guint8 request[] = {0x00, 0x01, 0x00, 0x00, 0xa2, 0xa9,
					 0xa2, 0xa9, 0x00, 0x00, 0x1c, 0x20};
	static const guint8 v1[] = {0x01, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07};
	static const guint8 wide[] = {0x00, 0x81, 0x01, 0x02, 0x00, 0x00, 0x00, 0x07};
	WrPortmapResponse r;

	g_assert_cmpint(wr_portmap_parse_response(refused, sizeof(refused), &r), ==, 0);
	g_assert_cmpuint(r.opcode, ==, WR_NATPMP_OP_MAP_UDP);
	g_assert_cmpuint(r.result, ==, WR_NATPMP_NOT_AUTHORIZED);
	g_assert_cmpuint(r.epoch, ==, 7);
	g_assert_cmpint(r.external.sa.sa_family, ==, AF_UNSPEC);
	g_assert_cmpstr(wr_natpmp_result_str(r.result), ==, "NOT_AUTHORIZED");

	g_assert_cmpint(wr_portmap_parse_response(unsupp, sizeof(unsupp), &r), ==, 0);
	g_assert_cmpuint(r.result, ==, WR_NATPMP_UNSUPP_VERSION);

	assert_parse_fails(short_ok, sizeof(short_ok), -EBADMSG);
	assert_parse_fails(request, sizeof(request), -EINVAL);
	assert_parse_fails(v1, sizeof(v1), -EINVAL);
	assert_parse_fails(wide, sizeof(wide), -EBADMSG);
	assert_parse_fails(NULL, 0, -EINVAL);
	g_assert_cmpstr(wr_natpmp_result_str(200), ==, "UNKNOWN");
}

/* ---- PCP ---- */

/* §11.1 MAP request from 198.51.100.2 for UDP 41641, suggesting ::ffff:0.0.0.0:41641, 7200 s */
static const guint8 pcp_map_request[WR_PCP_MAP_LEN] = {
	/* §7.1: version 2, R=0 opcode 1, reserved (2), lifetime 7200 */
	0x02, 0x01, 0x00, 0x00, 0x00, 0x00, 0x1c, 0x20,
	/* client IP ::ffff:198.51.100.2 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xc6, 0x33, 0x64,
	0x02,
	/* MAP: nonce */
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c,
	/* protocol 17, reserved (3) */
	0x11, 0x00, 0x00, 0x00,
	/* internal port 41641, suggested external port 41641 */
	0xa2, 0xa9, 0xa2, 0xa9,
	/* suggested external IP ::ffff:0.0.0.0 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00,
	0x00};

/* §11.1 MAP response: R=1, result 0, lifetime 7200, epoch 0x00000e10, 96 reserved bits, the
 * nonce, UDP, internal 41641, assigned 41642 on 203.0.113.7 */
static const guint8 pcp_map_response[WR_PCP_MAP_LEN] = {
	0x02, 0x81, 0x00, 0x00, 0x00, 0x00, 0x1c, 0x20, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
	0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x11, 0x00, 0x00, 0x00, 0xa2, 0xa9, 0xa2, 0xaa, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xcb, 0x00, 0x71, 0x07};

static void
test_pcp_build(void)
{
	WrEndpoint client = ip4("198.51.100.2");
	WrEndpoint suggested = ep("0.0.0.0:41641");
	WrEndpoint none = {.sa.sa_family = AF_UNSPEC};
	/* §14.1 ANNOUNCE: a header with opcode 0 and lifetime 0 */
	static const guint8 announce[WR_PCP_HEADER_LEN] = {
		0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xc6, 0x33, 0x64, 0x02};
	guint8 out[WR_PCP_MAP_LEN];

	g_assert_cmpint(wr_pcp_build_map(out, &client, nonce, 41641, &suggested, 7200), ==,
			WR_PCP_MAP_LEN);
	g_assert_cmpmem(out, sizeof(out), pcp_map_request, sizeof(pcp_map_request));
	/* no suggestion: port 0 on ::ffff:0.0.0.0 */
	g_assert_cmpint(wr_pcp_build_map(out, &client, nonce, 41641, &none, 7200), ==,
			WR_PCP_MAP_LEN);
	g_assert_cmpmem(out, 42, pcp_map_request, 42);
	g_assert_cmpuint(out[42], ==, 0);
	g_assert_cmpuint(out[43], ==, 0);
	g_assert_cmpmem(out + 44, 16, pcp_map_request + 44, 16);

	g_assert_cmpint(wr_pcp_build_announce(out, &client), ==, WR_PCP_HEADER_LEN);
	g_assert_cmpmem(out, WR_PCP_HEADER_LEN, announce, sizeof(announce));

	/* an IPv6 client address goes in as is */
	{
		WrEndpoint c6 = ep("[2001:db8::2]:1");

		g_assert_cmpint(wr_pcp_build_announce(out, &c6), ==, WR_PCP_HEADER_LEN);
		g_assert_cmphex(out[8], ==, 0x20);
		g_assert_cmphex(out[9], ==, 0x01);
		g_assert_cmphex(out[23], ==, 0x02);
	}
	g_assert_cmpint(wr_pcp_build_announce(out, &none), ==, -EAFNOSUPPORT);
	g_assert_cmpint(wr_pcp_build_map(out, &none, nonce, 1, NULL, 1), ==, -EAFNOSUPPORT);
}

static void
test_pcp_map_response(void)
{
	WrPortmapResponse r;

	g_assert_cmpint(wr_portmap_parse_response(pcp_map_response, sizeof(pcp_map_response), &r),
			==, 0);
	g_assert_cmpuint(r.version, ==, WR_PCP_VERSION);
	g_assert_cmpuint(r.opcode, ==, WR_PCP_OP_MAP);
	g_assert_cmpuint(r.result, ==, WR_PCP_SUCCESS);
	g_assert_cmpuint(r.lifetime, ==, 7200);
	g_assert_cmpuint(r.epoch, ==, 3600);
	g_assert_cmpmem(r.nonce, sizeof(r.nonce), nonce, sizeof(nonce));
	g_assert_cmpuint(r.protocol, ==, WR_PCP_PROTO_UDP);
	g_assert_cmpuint(r.internal_port, ==, 41641);
	/* the IPv4-mapped address comes back as plain IPv4 */
	g_assert_cmpint(r.external.sa.sa_family, ==, AF_INET);
	assert_external(&r, "203.0.113.7:41642");

	/* an IPv6 external address stays IPv6 */
	{
		guint8 v6[WR_PCP_MAP_LEN];
		static const guint8 addr[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
						0,    0,    0,	  0,	0, 0, 0, 0x07};

		memcpy(v6, pcp_map_response, sizeof(v6));
		memcpy(v6 + 44, addr, sizeof(addr));
		g_assert_cmpint(wr_pcp_parse_response(v6, sizeof(v6), &r), ==, 0);
		assert_external(&r, "[2001:db8::7]:41642");
	}
	/* a success with external port 0 names nothing usable */
	{
		guint8 port0[WR_PCP_MAP_LEN];

		memcpy(port0, pcp_map_response, sizeof(port0));
		port0[42] = 0;
		port0[43] = 0;
		assert_parse_fails(port0, sizeof(port0), -EBADMSG);
	}
	/* every shorter length fails (the multiples of 4 because a success needs the body) */
	for (gsize len = 0; len < sizeof(pcp_map_response); len++)
		assert_parse_fails(pcp_map_response, len, len < 2 ? -EINVAL : -EBADMSG);
	/* the request is not a response */
	assert_parse_fails(pcp_map_request, sizeof(pcp_map_request), -EINVAL);
}

static void
test_pcp_options(void)
{
	guint8 buf[WR_PCP_MAP_LEN + 12];
	WrPortmapResponse r;

	memcpy(buf, pcp_map_response, WR_PCP_MAP_LEN);
	/* §7.3: a THIRD_PARTY-like option: code 1, reserved, length 5, padded to 8 */
	memset(buf + WR_PCP_MAP_LEN, 0, 12);
	buf[WR_PCP_MAP_LEN] = 1;
	buf[WR_PCP_MAP_LEN + 3] = 5;
	g_assert_cmpint(wr_pcp_parse_response(buf, WR_PCP_MAP_LEN + 12, &r), ==, 0);
	assert_external(&r, "203.0.113.7:41642");
	/* length 9 pads to 12, which overruns the 8 bytes left */
	buf[WR_PCP_MAP_LEN + 3] = 9;
	assert_parse_fails(buf, WR_PCP_MAP_LEN + 12, -EBADMSG);
	/* two options, the second a bare header */
	buf[WR_PCP_MAP_LEN + 3] = 4;
	buf[WR_PCP_MAP_LEN + 8] = 2;
	buf[WR_PCP_MAP_LEN + 11] = 0;
	g_assert_cmpint(wr_pcp_parse_response(buf, WR_PCP_MAP_LEN + 12, &r), ==, 0);
	/* too long for PCP */
	{
		guint8 big[WR_PCP_MAX_LEN + 4] = {0};

		memcpy(big, pcp_map_response, WR_PCP_MAP_LEN);
		assert_parse_fails(big, sizeof(big), -EBADMSG);
	}
}

static void
test_pcp_errors(void)
{
	/* §7.2: an error answer to a MAP may end after the header (§8.3); NOT_AUTHORIZED with an
	 * error lifetime of 30 s */
	static const guint8 refused[WR_PCP_HEADER_LEN] = {
		0x02, 0x81, 0x00, 0x02, 0x00, 0x00, 0x00, 0x1e, 0x00, 0x00, 0x00, 0x05,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
	/* the ANNOUNCE answer of §14.1 */
	static const guint8 announce[WR_PCP_HEADER_LEN] = {
		0x02, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
	guint8 buf[WR_PCP_MAP_LEN];
	WrPortmapResponse r;

	g_assert_cmpint(wr_portmap_parse_response(refused, sizeof(refused), &r), ==, 0);
	g_assert_cmpuint(r.opcode, ==, WR_PCP_OP_MAP);
	g_assert_cmpuint(r.result, ==, WR_PCP_NOT_AUTHORIZED);
	g_assert_cmpuint(r.lifetime, ==, 30);
	g_assert_cmpint(r.external.sa.sa_family, ==, AF_UNSPEC);
	g_assert_cmpstr(wr_pcp_result_str(r.result), ==, "NOT_AUTHORIZED");
	g_assert_cmpstr(wr_pcp_result_str(WR_PCP_ADDRESS_MISMATCH), ==, "ADDRESS_MISMATCH");
	g_assert_cmpstr(wr_pcp_result_str(14), ==, "UNKNOWN");

	g_assert_cmpint(wr_portmap_parse_response(announce, sizeof(announce), &r), ==, 0);
	g_assert_cmpuint(r.opcode, ==, WR_PCP_OP_ANNOUNCE);
	g_assert_cmpuint(r.epoch, ==, 9);

	/* a full-size error keeps the echoed nonce and ports but no external address */
	memcpy(buf, pcp_map_response, sizeof(buf));
	buf[3] = WR_PCP_NO_RESOURCES;
	g_assert_cmpint(wr_pcp_parse_response(buf, sizeof(buf), &r), ==, 0);
	g_assert_cmpuint(r.result, ==, WR_PCP_NO_RESOURCES);
	g_assert_cmpmem(r.nonce, sizeof(r.nonce), nonce, sizeof(nonce));
	g_assert_cmpint(r.external.sa.sa_family, ==, AF_UNSPEC);

	/* PEER and unknown opcodes are not ours; version 1 is not PCP v2 */
	memcpy(buf, pcp_map_response, sizeof(buf));
	buf[1] = 0x82;
	assert_parse_fails(buf, sizeof(buf), -EINVAL);
	buf[1] = 0x81;
	buf[0] = 1;
	assert_parse_fails(buf, sizeof(buf), -EINVAL);
	/* not a multiple of 4 */
	assert_parse_fails(announce, sizeof(announce) - 2, -EBADMSG);
}

static void
test_epoch(void)
{
	/* in step: 100 s later by both clocks */
	g_assert_true(wr_portmap_epoch_ok(1000, 50, 1100, 150));
	/* the same second twice, and a second backwards (allowed) */
	g_assert_true(wr_portmap_epoch_ok(1000, 50, 1000, 50));
	g_assert_true(wr_portmap_epoch_ok(1000, 50, 999, 50));
	/* the server restarted: its clock went back */
	g_assert_false(wr_portmap_epoch_ok(1000, 50, 5, 3650));
	g_assert_false(wr_portmap_epoch_ok(1000, 50, 998, 50));
	/* the server's clock ran far slower than ours (it restarted a while ago) */
	g_assert_false(wr_portmap_epoch_ok(1000, 50, 1100, 3650));
	/* or far faster */
	g_assert_false(wr_portmap_epoch_ok(1000, 50, 5000, 150));
	/* within 1/16 plus 2 s of drift */
	g_assert_true(wr_portmap_epoch_ok(0, 0, 3600 - 3600 / 16 + 2, 3600));
	g_assert_false(wr_portmap_epoch_ok(0, 0, 3600 - 3600 / 16 - 3, 3600));
}

/* ---- the client ---- */

static void
test_client_args(void)
{
	WrEndpoint v6 = ep("[2001:db8::1]:5351");
	g_autoptr(GError) error = NULL;
	WrPortmap *pm;

	pm = wr_portmap_new(0, NULL, NULL, NULL);
	g_assert_false(wr_portmap_start(pm, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
	g_assert_nonnull(strstr(error->message, "internal port"));
	wr_portmap_free(pm);
	g_clear_error(&error);

	pm = wr_portmap_new(41641, &v6, NULL, NULL);
	g_assert_false(wr_portmap_start(pm, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
	g_assert_false(wr_portmap_get_mapping(pm, NULL, NULL));
	g_assert_cmpstr(wr_portmap_get_reason(pm), ==, "not started");
	wr_portmap_free(pm);
	g_clear_error(&error);

	pm = wr_portmap_new(41641, NULL, NULL, NULL);
	wr_portmap_set_lifetime(pm, 0);
	g_assert_false(wr_portmap_start(pm, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
	wr_portmap_free(pm);
	wr_portmap_free(NULL);
}

typedef struct {
	GMainLoop *loop;
	guint calls;
	WrEndpoint external;
	gchar *reason;
} Changes;

static void
changed_cb(WrPortmap *pm, const WrEndpoint *external, const char *reason, gpointer user_data)
{
	Changes *c = user_data;

	(void) pm;
	c->calls++;
	c->external = *external;
	g_free(c->reason);
	c->reason = g_strdup(reason);
	g_main_loop_quit(c->loop);
}

static gboolean
timeout_cb(gpointer user_data)
{
	g_main_loop_quit(user_data);
	return G_SOURCE_REMOVE;
}

/* a UDP port on loopback that nothing listens on: "none" when the 3 s budget is spent */
static void
test_client_no_server(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GSocket) hole = NULL;
	g_autoptr(GInetAddress) lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
	g_autoptr(GSocketAddress) any = g_inet_socket_address_new(lo, 0);
	g_autoptr(GSocketAddress) bound = NULL;
	Changes c = {0};
	WrEndpoint gw;
	WrPortmap *pm;
	gint64 t0, elapsed;
	guint timeout;

	/* bind a port and close it, so that the port is almost surely free and silent */
	hole = g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP,
			    &error);
	g_assert_no_error(error);
	g_assert_true(g_socket_bind(hole, any, FALSE, &error));
	bound = g_socket_get_local_address(hole, &error);
	g_assert_no_error(error);
	g_assert_true(g_socket_address_to_native(bound, &gw, sizeof(gw), &error));
	g_assert_true(g_socket_close(hole, &error));

	c.loop = g_main_loop_new(NULL, FALSE);
	pm = wr_portmap_new(41641, &gw, changed_cb, &c);
	t0 = g_get_monotonic_time();
	g_assert_true(wr_portmap_start(pm, &error));
	g_assert_no_error(error);
	timeout = g_timeout_add_seconds(10, timeout_cb, c.loop);
	g_main_loop_run(c.loop);
	elapsed = g_get_monotonic_time() - t0;
	g_source_remove(timeout);

	g_assert_cmpuint(c.calls, ==, 1);
	g_assert_cmpint(c.external.sa.sa_family, ==, AF_UNSPEC);
	g_assert_cmpstr(c.reason, ==, "no PCP or NAT-PMP answer from 127.0.0.1");
	g_assert_false(wr_portmap_get_mapping(pm, NULL, NULL));
	g_assert_cmpstr(wr_portmap_get_reason(pm), ==, c.reason);
	g_assert_cmpint(elapsed, >=, (gint64) (WR_PORTMAP_BUDGET_MS - 50) * 1000);
	g_assert_cmpint(elapsed, <, (gint64) (WR_PORTMAP_BUDGET_MS + 1000) * 1000);
	wr_portmap_free(pm);
	g_main_loop_unref(c.loop);
	g_free(c.reason);
}

/* A scripted PCP-only router on loopback, for what a well-behaved server never sends: answers
 * that must be ignored (cut short, another nonce, another internal port), and an epoch that
 * goes back to 0 at the first renewal, as after a restart.  NAT-PMP requests get no answer. */
typedef struct {
	GSocket *socket;
	gint64 t0_us;
	gint64 epoch_base_us; /* the "server start" its epoch counts from */
	guint announces;
	guint maps;
	guint deletes;
	guint natpmp;
	guint8 nonce[WR_PCP_NONCE_LEN];
	guint32 lifetime;
	gboolean refuse; /* answer every MAP with NOT_AUTHORIZED */
} Router;

static void
router_send(Router *rt, GSocketAddress *to, const guint8 *buf, gsize len)
{
	g_autoptr(GError) error = NULL;

	g_assert_cmpint(g_socket_send_to(rt->socket, to, (const gchar *) buf, len, NULL, &error),
			==, (gssize) len);
}

/* a PCP response: header with the server's epoch, then (MAP) the body */
static gsize
router_response(Router *rt, guint8 *out, guint8 opcode, const guint8 req_nonce[12],
		guint16 internal_port, guint16 ext_port, guint8 ext_last)
{
	guint32 epoch = (guint32) ((g_get_monotonic_time() - rt->epoch_base_us) / G_USEC_PER_SEC);

	memset(out, 0, WR_PCP_MAP_LEN);
	out[0] = WR_PCP_VERSION;
	out[1] = WR_PCP_RESPONSE_BIT | opcode;
	out[4] = (guint8) (rt->lifetime >> 24);
	out[5] = (guint8) (rt->lifetime >> 16);
	out[6] = (guint8) (rt->lifetime >> 8);
	out[7] = (guint8) rt->lifetime;
	out[8] = (guint8) (epoch >> 24);
	out[9] = (guint8) (epoch >> 16);
	out[10] = (guint8) (epoch >> 8);
	out[11] = (guint8) epoch;
	if (opcode == WR_PCP_OP_ANNOUNCE)
		return WR_PCP_HEADER_LEN;
	memcpy(out + 24, req_nonce, WR_PCP_NONCE_LEN);
	out[36] = WR_PCP_PROTO_UDP;
	out[40] = (guint8) (internal_port >> 8);
	out[41] = (guint8) internal_port;
	out[42] = (guint8) (ext_port >> 8);
	out[43] = (guint8) ext_port;
	out[54] = 0xff;
	out[55] = 0xff;
	out[56] = 203;
	out[57] = 0;
	out[58] = 113;
	out[59] = ext_last;
	return WR_PCP_MAP_LEN;
}

static gboolean
router_cb(GSocket *socket, GIOCondition condition, gpointer user_data)
{
	Router *rt = user_data;
	g_autoptr(GSocketAddress) from = NULL;
	guint8 buf[1500], out[WR_PCP_MAP_LEN], wrong[WR_PCP_NONCE_LEN];
	gssize n;

	(void) condition;
	n = g_socket_receive_from(socket, &from, (gchar *) buf, sizeof(buf), NULL, NULL);
	if (n < 2)
		return G_SOURCE_CONTINUE;
	if (buf[0] == WR_NATPMP_VERSION) {
		rt->natpmp++;
		return G_SOURCE_CONTINUE;
	}
	g_assert_cmpuint(buf[0], ==, WR_PCP_VERSION);
	if (buf[1] == WR_PCP_OP_ANNOUNCE) {
		g_assert_cmpint(n, ==, WR_PCP_HEADER_LEN);
		rt->announces++;
		/* cut short: ignored */
		router_send(rt, from, (const guint8 *) "\x02\x80\x00\x00", 4);
		rt->lifetime = 0;
		router_send(rt, from, out,
			    router_response(rt, out, WR_PCP_OP_ANNOUNCE, NULL, 0, 0, 0));
		return G_SOURCE_CONTINUE;
	}
	g_assert_cmpuint(buf[1], ==, WR_PCP_OP_MAP);
	g_assert_cmpint(n, ==, WR_PCP_MAP_LEN);
	rt->lifetime = ((guint32) buf[4] << 24) | ((guint32) buf[5] << 16) |
		       ((guint32) buf[6] << 8) | buf[7];
	if (rt->lifetime == 0) {
		g_assert_cmpmem(buf + 24, WR_PCP_NONCE_LEN, rt->nonce, WR_PCP_NONCE_LEN);
		rt->deletes++;
		return G_SOURCE_CONTINUE;
	}
	rt->maps++;
	memcpy(rt->nonce, buf + 24, WR_PCP_NONCE_LEN);
	if (rt->refuse) {
		/* a bare header cannot show the nonce: ignored; then the error with the request's
		 * MAP fields copied, as RFC 6887 §7.2 has servers answer */
		rt->lifetime = 30;
		(void) router_response(rt, out, WR_PCP_OP_MAP, rt->nonce, 41641, 0, 0);
		out[3] = WR_PCP_NOT_AUTHORIZED;
		router_send(rt, from, out, WR_PCP_HEADER_LEN);
		router_send(rt, from, out, WR_PCP_MAP_LEN);
		return G_SOURCE_CONTINUE;
	}
	/* the first renewal finds a restarted server: its epoch starts again */
	if (rt->maps == 2)
		rt->epoch_base_us = g_get_monotonic_time();
	/* another nonce, another internal port: both ignored */
	memcpy(wrong, rt->nonce, sizeof(wrong));
	wrong[0] ^= 1;
	router_send(rt, from, out, router_response(rt, out, WR_PCP_OP_MAP, wrong, 41641, 9, 9));
	router_send(rt, from, out, router_response(rt, out, WR_PCP_OP_MAP, rt->nonce, 41642, 9, 9));
	router_send(rt, from, out,
		    router_response(rt, out, WR_PCP_OP_MAP, rt->nonce, 41641, 41642, 7));
	return G_SOURCE_CONTINUE;
}

/* the router on a free loopback port; its address in *out_gw */
static GSource *
router_start(Router *rt, WrEndpoint *out_gw)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GInetAddress) lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
	g_autoptr(GSocketAddress) any = g_inet_socket_address_new(lo, 0);
	g_autoptr(GSocketAddress) bound = NULL;
	GSource *src;

	rt->t0_us = g_get_monotonic_time();
	/* a server up for 1000 s */
	rt->epoch_base_us = rt->t0_us - 1000 * G_USEC_PER_SEC;
	rt->socket = g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
				  G_SOCKET_PROTOCOL_UDP, &error);
	g_assert_no_error(error);
	g_assert_true(g_socket_bind(rt->socket, any, FALSE, &error));
	g_socket_set_blocking(rt->socket, FALSE);
	bound = g_socket_get_local_address(rt->socket, &error);
	g_assert_true(g_socket_address_to_native(bound, out_gw, sizeof(*out_gw), &error));
	src = g_socket_create_source(rt->socket, G_IO_IN, NULL);
	g_source_set_callback(src, G_SOURCE_FUNC(router_cb), rt, NULL);
	(void) g_source_attach(src, NULL);
	return src;
}

static void
test_client_scripted(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GSource) src = NULL;
	Router rt = {0};
	Changes c = {0};
	WrEndpoint gw, got;
	const char *proto = NULL;
	char text[WR_ENDPOINT_STRLEN];
	WrPortmap *pm;
	gint64 deadline;

	src = router_start(&rt, &gw);

	c.loop = g_main_loop_new(NULL, FALSE);
	pm = wr_portmap_new(41641, &gw, changed_cb, &c);
	/* renewed after 1 s */
	wr_portmap_set_lifetime(pm, 2);
	g_assert_true(wr_portmap_start(pm, &error));
	/* the mapping, past the ignored answers */
	deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
	while (c.calls == 0 && g_get_monotonic_time() < deadline)
		g_main_context_iteration(NULL, TRUE);
	g_assert_cmpuint(c.calls, ==, 1);
	wr_endpoint_format(&c.external, text);
	g_assert_cmpstr(text, ==, "203.0.113.7:41642");
	g_assert_cmpstr(c.reason, ==, "pcp");
	g_assert_cmpuint(rt.announces, ==, 1);
	g_assert_cmpuint(rt.maps, ==, 1);
	/* both protocols were asked */
	g_assert_cmpuint(rt.natpmp, >=, 1);

	/* the renewal sees the epoch go back: probe (a second ANNOUNCE) and map again */
	deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
	while (rt.maps < 3 && g_get_monotonic_time() < deadline)
		g_main_context_iteration(NULL, TRUE);
	g_assert_cmpuint(rt.maps, ==, 3);
	g_assert_cmpuint(rt.announces, ==, 2);
	/* let the client read the answer */
	deadline = g_get_monotonic_time() + G_USEC_PER_SEC / 5;
	while (g_get_monotonic_time() < deadline)
		g_main_context_iteration(NULL, FALSE);
	/* the same endpoint again: nothing new to report */
	g_assert_cmpuint(c.calls, ==, 1);
	g_assert_true(wr_portmap_get_mapping(pm, &got, &proto));
	g_assert_true(wr_endpoint_equal(&got, &c.external));
	g_assert_cmpstr(proto, ==, "pcp");

	/* freeing deletes the mapping with the same nonce */
	wr_portmap_free(pm);
	deadline = g_get_monotonic_time() + G_USEC_PER_SEC;
	while (rt.deletes == 0 && g_get_monotonic_time() < deadline)
		g_main_context_iteration(NULL, FALSE);
	g_assert_cmpuint(rt.deletes, ==, 1);

	g_source_destroy(src);
	g_object_unref(rt.socket);
	g_main_loop_unref(c.loop);
	g_free(c.reason);
}

/* a PCP server that refuses the mapping (and no NAT-PMP to fall back on): "none", naming why */
static void
test_client_refused(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GSource) src = NULL;
	Router rt = {.refuse = TRUE};
	Changes c = {0};
	WrEndpoint gw;
	WrPortmap *pm;
	gint64 deadline;

	src = router_start(&rt, &gw);
	c.loop = g_main_loop_new(NULL, FALSE);
	pm = wr_portmap_new(41641, &gw, changed_cb, &c);
	g_assert_true(wr_portmap_start(pm, &error));
	deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
	while (c.calls == 0 && g_get_monotonic_time() < deadline)
		g_main_context_iteration(NULL, TRUE);
	g_assert_cmpuint(c.calls, ==, 1);
	g_assert_cmpint(c.external.sa.sa_family, ==, AF_UNSPEC);
	g_assert_cmpstr(c.reason, ==, "PCP: NOT_AUTHORIZED from 127.0.0.1");
	g_assert_cmpuint(rt.maps, ==, 1);
	g_assert_false(wr_portmap_get_mapping(pm, NULL, NULL));
	/* nothing held, nothing to delete */
	wr_portmap_free(pm);
	deadline = g_get_monotonic_time() + G_USEC_PER_SEC / 5;
	while (g_get_monotonic_time() < deadline)
		g_main_context_iteration(NULL, FALSE);
	g_assert_cmpuint(rt.deletes, ==, 0);

	g_source_destroy(src);
	g_object_unref(rt.socket);
	g_main_loop_unref(c.loop);
	g_free(c.reason);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/warren/portmap/natpmp-build", test_natpmp_build);
	g_test_add_func("/warren/portmap/natpmp-external", test_natpmp_external);
	g_test_add_func("/warren/portmap/natpmp-map", test_natpmp_map);
	g_test_add_func("/warren/portmap/natpmp-errors", test_natpmp_errors);
	g_test_add_func("/warren/portmap/pcp-build", test_pcp_build);
	g_test_add_func("/warren/portmap/pcp-map-response", test_pcp_map_response);
	g_test_add_func("/warren/portmap/pcp-options", test_pcp_options);
	g_test_add_func("/warren/portmap/pcp-errors", test_pcp_errors);
	g_test_add_func("/warren/portmap/epoch", test_epoch);
	g_test_add_func("/warren/portmap/client-args", test_client_args);
	g_test_add_func("/warren/portmap/client-no-server", test_client_no_server);
	g_test_add_func("/warren/portmap/client-scripted", test_client_scripted);
	g_test_add_func("/warren/portmap/client-refused", test_client_refused);
	return g_test_run();
}
