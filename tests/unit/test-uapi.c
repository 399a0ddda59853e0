/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrUapiTest"

#include "config.h"

#include <errno.h>
#include <glib.h>
#include <net/if.h>
#include <string.h>

#include "wr-crypto.h"
#include "wr-key.h"
#include "wr-uapi.h"

/*
 * The keys of tests/data/uapi/: the device, four peers and a preshared key.  The
 * wg-*.request files there are what the real `wg` (wireguard-tools 1.0.20210914) wrote to a
 * fake UAPI socket, and get-reply.txt is the reply `wg show`/`showconf` accepted; see
 * tests/data/uapi/capture-wg.py.
 */
#define HEX_DEVICE  "78b4ba32b70b69c200e288797b8768b8bf1e5d5d06df9d7c1000aa28a7721b5a"
#define HEX_DEVICE2 "d85857d6ac8b1d69abbd98c73cce14828cb00a56af1823639a41da4e8458f45c"
#define HEX_PSK	    "df82dfad62e4a36a89e976d3606eed16cc8aa43ac0bc70d0c4f512d888eed947"
#define HEX_PEER_A  "3b06ac2fd1fd4ab51c5aa289bae09a05eea88e498f163518fac9cea6871d2d4e"
#define HEX_PEER_B  "b6369fd05f83527fdc9705edbc2682788641ab73d0a38349f0beb4112856e953"
#define HEX_PEER_C  "48605378c6c0f6d3935ac9620fb738a6b8c7b594f3d6984df5d60da0e24ce86d"
#define HEX_PEER_D  "8269ccda1fadcf84087a66a8d170c6ef72eaf4f1d33916712fd2494248a7ad4e"
#define HEX_PEER_E  "4242424242424242424242424242424242424242424242424242424242424242"
#define HEX_ZERO    "0000000000000000000000000000000000000000000000000000000000000000"

#define PEER_A "public_key=" HEX_PEER_A "\n"
#define PEER_B "public_key=" HEX_PEER_B "\n"

static void
key(uint8_t out[WR_KEY_BYTES], const char *hex)
{
	g_assert_true(wr_key_from_hex(out, hex));
}

static void
assert_key(const uint8_t actual[WR_KEY_BYTES], const char *hex)
{
	char text[WR_KEY_HEX_LEN + 1];

	wr_key_to_hex(text, actual);
	g_assert_cmpstr(text, ==, hex);
}

static void
assert_endpoint(const WrEndpoint *ep, const char *expected)
{
	char text[WR_ENDPOINT_STRLEN];

	wr_endpoint_format(ep, text);
	g_assert_cmpstr(text, ==, expected);
}

/* the allowed IPs of a peer, comma-separated */
static char *
cidrs_text(GArray *cidrs)
{
	g_autoptr(GString) out = g_string_new(NULL);

	for (guint i = 0; i < cidrs->len; i++) {
		char text[WR_CIDR_STRLEN];

		wr_cidr_format(&g_array_index(cidrs, WrCidr, i), text);
		if (i > 0)
			g_string_append_c(out, ',');
		g_string_append(out, text);
	}
	return g_string_free(g_steal_pointer(&out), FALSE);
}

static void
assert_cidrs(GArray *cidrs, const char *expected)
{
	g_autofree char *text = cidrs_text(cidrs);

	g_assert_cmpstr(text, ==, expected);
}

static WrUapiPeer *
peer_at(WrUapiSet *set, guint i)
{
	g_assert_cmpuint(i, <, set->peers->len);
	return g_ptr_array_index(set->peers, i);
}

static WrUapiSet *
parse_ok(const char *body)
{
	WrUapiSet *set = NULL;
	g_autofree char *message = NULL;
	int err = wr_uapi_parse_set(body, strlen(body), &set, &message);

	if (err != 0)
		g_test_message("unexpected failure: %s", message);
	g_assert_cmpint(err, ==, 0);
	g_assert_null(message);
	g_assert_nonnull(set);
	g_assert_nonnull(set->peers);
	return set;
}

static char *
read_data(const char *name, size_t *out_len)
{
	g_autofree char *path = g_test_build_filename(G_TEST_DIST, "data", "uapi", name, NULL);
	g_autoptr(GError) error = NULL;
	char *contents = NULL;

	g_assert_true(g_file_get_contents(path, &contents, out_len, &error));
	g_assert_no_error(error);
	return contents;
}

/* frames a captured request and parses what the framer found */
static int
parse_data(const char *name, WrUapiSet **out_set, char **out_message)
{
	size_t len = 0;
	g_autofree char *request = read_data(name, &len);
	WrUapiOp op = WR_UAPI_OP_GET;

	g_assert_cmpint(wr_uapi_frame(request, len, &op), ==, (gssize) len);
	g_assert_cmpint(op, ==, WR_UAPI_OP_SET);
	return wr_uapi_parse_set(request, len, out_set, out_message);
}

static WrUapiSet *
parse_data_ok(const char *name)
{
	WrUapiSet *set = NULL;
	g_autofree char *message = NULL;
	int err = parse_data(name, &set, &message);

	if (err != 0)
		g_test_message("%s: %s", name, message);
	g_assert_cmpint(err, ==, 0);
	return set;
}

/* --- framing --- */

typedef struct {
	const char *buf;
	gssize result;
	WrUapiOp op;
} FrameCase;

static const FrameCase frame_cases[] = {
	{"", 0, 0},
	{"g", 0, 0},
	{"s", 0, 0},
	{"get=1", 0, 0},
	{"get=1\n", 0, 0},
	{"get=1\n\n", 7, WR_UAPI_OP_GET},
	{"get=1\n\nset=1\n\n", 7, WR_UAPI_OP_GET},
	{"get=1\n\nxxx", 7, WR_UAPI_OP_GET},
	{"get=1\nx", -EINVAL, 0},
	{"get=1\nprivate_key=0\n\n", -EINVAL, 0},
	{"set=1", 0, 0},
	{"set=1\n", 0, 0},
	{"set=1\n\n", 7, WR_UAPI_OP_SET},
	{"set=1\nlisten_port=1\n", 0, 0},
	{"set=1\nlisten_port=1", 0, 0},
	{"set=1\nlisten_port=1\n\n", 21, WR_UAPI_OP_SET},
	{"set=1\nlisten_port=1\n\nget=1\n\n", 21, WR_UAPI_OP_SET},
	{"set=1\nfoo\n\n", 11, WR_UAPI_OP_SET}, /* framing does not judge the lines */
	{"x", -EINVAL, 0},
	{"gex", -EINVAL, 0},
	{"\n", -EINVAL, 0},
	{"GET=1\n\n", -EINVAL, 0},
	{"get=2\n\n", -EINVAL, 0},
	{"get=1 \n\n", -EINVAL, 0},
	{"get=1\r\n\r\n", -EINVAL, 0},
	{"set=1\r\n\n", -EINVAL, 0},
	{"set=10\n\n", -EINVAL, 0},
	{"sat=1\n\n", -EINVAL, 0},
};

static void
test_frame_table(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(frame_cases); i++) {
		const FrameCase *t = &frame_cases[i];
		WrUapiOp op = (WrUapiOp) 42;
		g_autofree char *escaped = g_strescape(t->buf, NULL);
		gssize result = wr_uapi_frame(t->buf, strlen(t->buf), &op);

		g_test_message("\"%s\"", escaped);
		g_assert_cmpint(result, ==, t->result);
		/* out_op is set on success only */
		g_assert_cmpint(op, ==, result > 0 ? t->op : (WrUapiOp) 42);
	}
	g_assert_cmpint(wr_uapi_frame(NULL, 0, NULL), ==, 0);
}

static void
test_frame_lines(void)
{
	g_autoptr(GString) buf = g_string_new("set=1\n");
	WrUapiOp op;

	/* a line of exactly WR_UAPI_MAX_LINE bytes is fine, even before its newline */
	g_string_append_len(buf, "allowed_ip=", 11);
	while (buf->len < 6 + WR_UAPI_MAX_LINE)
		g_string_append_c(buf, 'x');
	g_assert_cmpint(wr_uapi_frame(buf->str, buf->len, &op), ==, 0);
	g_string_append(buf, "\n");
	g_assert_cmpint(wr_uapi_frame(buf->str, buf->len, &op), ==, 0);
	g_string_append(buf, "\n");
	g_assert_cmpint(wr_uapi_frame(buf->str, buf->len, &op), ==, (gssize) buf->len);
	g_assert_cmpint(op, ==, WR_UAPI_OP_SET);

	/* one more byte and it is refused as soon as it is seen, newline or not */
	g_string_truncate(buf, 6 + WR_UAPI_MAX_LINE);
	g_string_append_c(buf, 'x');
	g_assert_cmpint(wr_uapi_frame(buf->str, buf->len, &op), ==, -E2BIG);
	g_string_append(buf, "\n\n");
	g_assert_cmpint(wr_uapi_frame(buf->str, buf->len, &op), ==, -E2BIG);

	/* an overlong line after a good one */
	g_string_assign(buf, "set=1\nlisten_port=1\n");
	for (guint i = 0; i <= WR_UAPI_MAX_LINE; i++)
		g_string_append_c(buf, 'y');
	g_assert_cmpint(wr_uapi_frame(buf->str, buf->len, &op), ==, -E2BIG);

	/* a first line that never ends */
	g_string_assign(buf, "set=1");
	for (guint i = 0; i <= WR_UAPI_MAX_LINE; i++)
		g_string_append_c(buf, '1');
	g_assert_cmpint(wr_uapi_frame(buf->str, buf->len, &op), ==, -EINVAL);
}

static void
test_frame_max_request(void)
{
	g_autoptr(GString) buf = g_string_sized_new(WR_UAPI_MAX_REQUEST + 16);
	WrUapiOp op;

	/* "set=1\n" + "ab\n" + "x\n" * k + "\n" is exactly WR_UAPI_MAX_REQUEST bytes */
	g_string_append(buf, "set=1\nab\n");
	while (buf->len < WR_UAPI_MAX_REQUEST - 1)
		g_string_append(buf, "x\n");
	g_string_append_c(buf, '\n');
	g_assert_cmpuint(buf->len, ==, WR_UAPI_MAX_REQUEST);
	g_assert_cmpint(wr_uapi_frame(buf->str, buf->len, &op), ==, WR_UAPI_MAX_REQUEST);
	g_assert_cmpint(op, ==, WR_UAPI_OP_SET);
	g_string_append(buf, "get=1\n\n");
	g_assert_cmpint(wr_uapi_frame(buf->str, buf->len, &op), ==, WR_UAPI_MAX_REQUEST);

	/* the same without the blank line: one more byte could still end it, then nothing can */
	g_string_truncate(buf, WR_UAPI_MAX_REQUEST - 1);
	g_assert_cmpint(wr_uapi_frame(buf->str, buf->len, &op), ==, 0);
	g_string_append_c(buf, 'y');
	g_assert_cmpint(wr_uapi_frame(buf->str, buf->len, &op), ==, -E2BIG);
	g_string_append(buf, "\n\n");
	g_assert_cmpint(wr_uapi_frame(buf->str, buf->len, &op), ==, -E2BIG);
}

/* bytes arrive one at a time: no request until the last one */
static void
test_frame_incremental(void)
{
	size_t len = 0;
	g_autofree char *request = read_data("wg-set-full.request", &len);
	g_autoptr(GString) pipelined = g_string_new_len(request, (gssize) len);
	WrUapiOp op = WR_UAPI_OP_GET;

	for (size_t i = 0; i < len; i++)
		g_assert_cmpint(wr_uapi_frame(request, i, &op), ==, 0);
	g_assert_cmpint(wr_uapi_frame(request, len, &op), ==, (gssize) len);
	g_assert_cmpint(op, ==, WR_UAPI_OP_SET);

	/* the framer consumes one request at a time from a pipelined buffer */
	g_string_append(pipelined, "get=1\n\n");
	g_string_append_len(pipelined, request, (gssize) len);
	g_assert_cmpint(wr_uapi_frame(pipelined->str, pipelined->len, &op), ==, (gssize) len);
	g_assert_cmpint(op, ==, WR_UAPI_OP_SET);
	g_assert_cmpint(wr_uapi_frame(pipelined->str + len, pipelined->len - len, &op), ==, 7);
	g_assert_cmpint(op, ==, WR_UAPI_OP_GET);
	g_assert_cmpint(wr_uapi_frame(pipelined->str + len + 7, pipelined->len - len - 7, &op), ==,
			(gssize) len);
	g_assert_cmpint(op, ==, WR_UAPI_OP_SET);
}

/* --- parsing: good input --- */

static void
test_parse_empty(void)
{
	static const char *const bodies[] = {"", "set=1", "set=1\n", "set=1\n\n", "\n"};

	for (size_t i = 0; i < G_N_ELEMENTS(bodies); i++) {
		g_autoptr(WrUapiSet) set = parse_ok(bodies[i]);

		g_assert_false(set->has_private_key);
		g_assert_false(set->has_listen_port);
		g_assert_false(set->has_fwmark);
		g_assert_false(set->replace_peers);
		g_assert_cmpuint(set->peers->len, ==, 0);
	}
}

static void
test_parse_device(void)
{
	g_autoptr(WrUapiSet) set = NULL;

	set = parse_ok("set=1\nprivate_key=" HEX_DEVICE "\nlisten_port=51820\nfwmark=4660\n"
		       "replace_peers=true\n");
	g_assert_true(set->has_private_key);
	assert_key(set->private_key, HEX_DEVICE);
	g_assert_true(set->has_listen_port);
	g_assert_cmpuint(set->listen_port, ==, 51820);
	g_assert_true(set->has_fwmark);
	g_assert_cmpuint(set->fwmark, ==, 4660);
	g_assert_true(set->replace_peers);
	g_assert_cmpuint(set->peers->len, ==, 0);
	g_clear_pointer(&set, wr_uapi_set_free);

	/* without the set=1 line, without the last newline, hex in upper case */
	set = parse_ok(
		"private_key=78B4BA32B70B69C200E288797B8768B8BF1E5D5D06DF9D7C1000AA28A7721B5A\n"
		"listen_port=0\nfwmark=0");
	assert_key(set->private_key, HEX_DEVICE);
	g_assert_true(set->has_listen_port);
	g_assert_cmpuint(set->listen_port, ==, 0);
	g_assert_true(set->has_fwmark);
	g_assert_cmpuint(set->fwmark, ==, 0);
	g_assert_false(set->replace_peers);
	g_clear_pointer(&set, wr_uapi_set_free);

	/* the largest values; an all-zero private key (removes it) */
	set = parse_ok("private_key=" HEX_ZERO "\nlisten_port=65535\nfwmark=4294967295\n\n");
	g_assert_true(set->has_private_key);
	assert_key(set->private_key, HEX_ZERO);
	g_assert_cmpuint(set->listen_port, ==, 65535);
	g_assert_cmpuint(set->fwmark, ==, G_MAXUINT32);
}

static void
test_parse_peer(void)
{
	g_autoptr(WrUapiSet) set = NULL;
	WrUapiPeer *peer;

	set = parse_ok(
		"set=1\n" PEER_A "protocol_version=1\npreshared_key=" HEX_PSK "\n"
		"endpoint=[2001:db8::1]:51820\npersistent_keepalive_interval=65535\n"
		"replace_allowed_ips=true\nallowed_ip=10.1.2.3/8\nallowed_ip=10.0.0.1/32\n"
		"allowed_ip=2001:db8:ffff::1/32\nallowed_ip=0.0.0.0/0\nallowed_ip=::/0\n" PEER_B
		"update_only=true\nendpoint=[fe80::1%3]:1\npersistent_keepalive_interval=0\n"
		"preshared_key=" HEX_ZERO "\n" PEER_A "remove=true\n\n");
	g_assert_false(set->has_private_key);
	g_assert_cmpuint(set->peers->len, ==, 3);

	peer = peer_at(set, 0);
	assert_key(peer->public_key, HEX_PEER_A);
	g_assert_false(peer->remove);
	g_assert_false(peer->update_only);
	g_assert_true(peer->replace_allowed_ips);
	g_assert_true(peer->has_preshared_key);
	assert_key(peer->preshared_key, HEX_PSK);
	g_assert_true(peer->has_endpoint);
	assert_endpoint(&peer->endpoint, "[2001:db8::1]:51820");
	g_assert_true(peer->has_persistent_keepalive);
	g_assert_cmpuint(peer->persistent_keepalive, ==, 65535);
	/* masked on the way in */
	assert_cidrs(peer->allowed_ips, "10.0.0.0/8,10.0.0.1/32,2001:db8::/32,0.0.0.0/0,::/0");

	peer = peer_at(set, 1);
	assert_key(peer->public_key, HEX_PEER_B);
	g_assert_true(peer->update_only);
	g_assert_false(peer->remove);
	g_assert_false(peer->replace_allowed_ips);
	g_assert_true(peer->has_endpoint);
	assert_endpoint(&peer->endpoint, "[fe80::1%3]:1");
	g_assert_true(peer->has_persistent_keepalive);
	g_assert_cmpuint(peer->persistent_keepalive, ==, 0);
	g_assert_true(peer->has_preshared_key);
	assert_key(peer->preshared_key, HEX_ZERO);
	g_assert_cmpuint(peer->allowed_ips->len, ==, 0);

	/* the same key again is a new section, applied in order */
	peer = peer_at(set, 2);
	assert_key(peer->public_key, HEX_PEER_A);
	g_assert_true(peer->remove);
	g_assert_false(peer->has_endpoint);
	g_assert_false(peer->has_preshared_key);
	g_assert_false(peer->has_persistent_keepalive);
	g_assert_cmpuint(peer->allowed_ips->len, ==, 0);
}

/* replace_allowed_ips=true removes what the section added before it, as wireguard-go does */
static void
test_parse_replace_allowed_ips(void)
{
	g_autoptr(WrUapiSet) set =
		parse_ok(PEER_A "allowed_ip=10.0.0.0/8\nallowed_ip=10.1.0.0/16\n"
				"replace_allowed_ips=true\nallowed_ip=192.0.2.0/24\n");
	WrUapiPeer *peer = peer_at(set, 0);

	g_assert_true(peer->replace_allowed_ips);
	assert_cidrs(peer->allowed_ips, "192.0.2.0/24");
}

/* --- parsing: bad input --- */

typedef struct {
	const char *body;
	int err;
	const char *message; /* the start of the message */
} BadCase;

#define LONG_VALUE                                                                                 \
	"0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567" \
	"89"

static const BadCase bad_cases[] = {
	/* unknown keys and malformed lines */
	{"set=1\nfoo=1\n", EINVAL, "line 2: unknown key \"foo\""},
	{"set=1\nget=1\n", EINVAL, "line 2: unknown key \"get\""},
	{"set=1\nset=1\n", EINVAL, "line 2: unknown key \"set\""},
	{"listen_port=1\nset=1\n", EINVAL, "line 2: unknown key \"set\""},
	{"set=1\n=1\n", EINVAL, "line 2: unknown key \"\""},
	{"set=1\nListen_port=1\n", EINVAL, "line 2: unknown key \"Listen_port\""},
	{"set=1\n listen_port=1\n", EINVAL, "line 2: unknown key \" listen_port\""},
	{"set=1\nlisten_port =1\n", EINVAL, "line 2: unknown key \"listen_port \""},
	{"set=1\nlast_handshake_time_sec=0\n", EINVAL, "line 2: unknown key"},
	{"set=1\n" PEER_A "tx_bytes=0\n", EINVAL, "line 3: unknown key \"tx_bytes\""},
	{"set=1\n" PEER_A "errno=0\n", EINVAL, "line 3: unknown key \"errno\""},
	{"set=1\nlisten_port\n", EPROTO, "line 2: not a key=value line"},
	{"set=1\nlisten_port=1\n\nfwmark=1\n", EPROTO, "line 3: text after the terminating"},
	{"set=1\n\n\n", EPROTO, "line 2: text after the terminating"},
	{"set=1\nlisten_port=1\r\n", EINVAL, "line 2: invalid value for listen_port: \"1\\r\""},
	{"\xff\xfe=1\n", EINVAL, "line 1: unknown key \"\\377\\376\""},
	/* device keys */
	{"private_key=" HEX_ZERO "0\n", EINVAL, "line 1: invalid value for private_key: not 64"},
	{"private_key=000000000000000000000000000000000000000000000000000000000000000\n", EINVAL,
	 "line 1: invalid value for private_key: not 64 hex digits"},
	{"private_key=g000000000000000000000000000000000000000000000000000000000000000\n", EINVAL,
	 "line 1: invalid value for private_key: not 64 hex digits"},
	{"private_key=\n", EINVAL, "line 1: invalid value for private_key"},
	{"private_key= " HEX_DEVICE "\n", EINVAL, "line 1: invalid value for private_key"},
	{"listen_port=\n", EINVAL, "line 1: invalid value for listen_port: \"\""},
	{"listen_port=65536\n", EINVAL, "line 1: invalid value for listen_port: \"65536\""},
	{"listen_port=-1\n", EINVAL, "line 1: invalid value for listen_port"},
	{"listen_port=+1\n", EINVAL, "line 1: invalid value for listen_port"},
	{"listen_port=01\n", EINVAL, "line 1: invalid value for listen_port"},
	{"listen_port=1 \n", EINVAL, "line 1: invalid value for listen_port"},
	{"listen_port= 1\n", EINVAL, "line 1: invalid value for listen_port"},
	{"listen_port=0x10\n", EINVAL, "line 1: invalid value for listen_port"},
	{"listen_port=1e3\n", EINVAL, "line 1: invalid value for listen_port"},
	{"listen_port=99999999999999999999\n", EINVAL, "line 1: invalid value for listen_port"},
	{"fwmark=4294967296\n", EINVAL, "line 1: invalid value for fwmark: \"4294967296\""},
	{"fwmark=0x1234\n", EINVAL, "line 1: invalid value for fwmark"},
	{"fwmark=off\n", EINVAL, "line 1: invalid value for fwmark"},
	{"fwmark=-1\n", EINVAL, "line 1: invalid value for fwmark"},
	{"replace_peers=false\n", EINVAL, "line 1: invalid value for replace_peers: \"false\""},
	{"replace_peers=TRUE\n", EINVAL, "line 1: invalid value for replace_peers"},
	{"replace_peers=1\n", EINVAL, "line 1: invalid value for replace_peers"},
	{"replace_peers=\n", EINVAL, "line 1: invalid value for replace_peers"},
	{"replace_peers=true \n", EINVAL, "line 1: invalid value for replace_peers"},
	{"replace_peers=truex\n", EINVAL, "line 1: invalid value for replace_peers"},
	/* peer keys before any public_key */
	{"set=1\nremove=true\n", EINVAL, "line 2: remove before any public_key"},
	{"update_only=true\n", EINVAL, "line 1: update_only before any public_key"},
	{"preshared_key=" HEX_PSK "\n", EINVAL, "line 1: preshared_key before any public_key"},
	{"endpoint=1.2.3.4:1\n", EINVAL, "line 1: endpoint before any public_key"},
	{"persistent_keepalive_interval=1\n", EINVAL,
	 "line 1: persistent_keepalive_interval before any public_key"},
	{"replace_allowed_ips=true\n", EINVAL, "line 1: replace_allowed_ips before any public_key"},
	{"allowed_ip=10.0.0.0/8\n", EINVAL, "line 1: allowed_ip before any public_key"},
	{"protocol_version=1\n", EINVAL, "line 1: protocol_version before any public_key"},
	/* device keys after it */
	{PEER_A "private_key=" HEX_DEVICE "\n", EINVAL, "line 2: device key private_key after"},
	{PEER_A "listen_port=1\n", EINVAL, "line 2: device key listen_port after a public_key"},
	{PEER_A "fwmark=1\n", EINVAL, "line 2: device key fwmark after a public_key"},
	{PEER_A "replace_peers=true\n", EINVAL, "line 2: device key replace_peers after"},
	/* duplicates in one section */
	{"listen_port=1\nlisten_port=2\n", EINVAL, "line 2: duplicate listen_port"},
	{"private_key=" HEX_DEVICE "\nprivate_key=" HEX_DEVICE "\n", EINVAL,
	 "line 2: duplicate private_key"},
	{"fwmark=1\nfwmark=1\n", EINVAL, "line 2: duplicate fwmark"},
	{"replace_peers=true\nreplace_peers=true\n", EINVAL, "line 2: duplicate replace_peers"},
	{PEER_A "remove=true\nremove=true\n", EINVAL, "line 3: duplicate remove"},
	{PEER_A "update_only=true\nupdate_only=true\n", EINVAL, "line 3: duplicate update_only"},
	{PEER_A "preshared_key=" HEX_PSK "\npreshared_key=" HEX_PSK "\n", EINVAL,
	 "line 3: duplicate preshared_key"},
	{PEER_A "endpoint=1.2.3.4:1\nendpoint=1.2.3.4:2\n", EINVAL, "line 3: duplicate endpoint"},
	{PEER_A "persistent_keepalive_interval=1\npersistent_keepalive_interval=1\n", EINVAL,
	 "line 3: duplicate persistent_keepalive_interval"},
	{PEER_A "replace_allowed_ips=true\nreplace_allowed_ips=true\n", EINVAL,
	 "line 3: duplicate replace_allowed_ips"},
	{PEER_A "protocol_version=1\nprotocol_version=1\n", EINVAL,
	 "line 3: duplicate protocol_version"},
	{PEER_A PEER_B "remove=true\nremove=true\n", EINVAL, "line 4: duplicate remove"},
	/* peer values */
	{"public_key=\n", EINVAL, "line 1: invalid value for public_key: \"\""},
	{"public_key=" HEX_PEER_A "0\n", EINVAL, "line 1: invalid value for public_key"},
	{"public_key=xyz\n", EINVAL, "line 1: invalid value for public_key: \"xyz\""},
	{PEER_A "remove=false\n", EINVAL, "line 2: invalid value for remove: \"false\""},
	{PEER_A "remove=\n", EINVAL, "line 2: invalid value for remove"},
	{PEER_A "update_only=yes\n", EINVAL, "line 2: invalid value for update_only: \"yes\""},
	{PEER_A "preshared_key=" HEX_PSK "00\n", EINVAL,
	 "line 2: invalid value for preshared_key: not 64 hex digits"},
	{PEER_A "preshared_key=\n", EINVAL, "line 2: invalid value for preshared_key"},
	{PEER_A "endpoint=\n", EINVAL, "line 2: invalid value for endpoint: \"\""},
	{PEER_A "endpoint=1.2.3.4\n", EINVAL, "line 2: invalid value for endpoint: \"1.2.3.4\""},
	{PEER_A "endpoint=1.2.3.4:0\n", EINVAL, "line 2: invalid value for endpoint"},
	{PEER_A "endpoint=example.com:51820\n", EINVAL, "line 2: invalid value for endpoint"},
	{PEER_A "endpoint=2001:db8::1:51820\n", EINVAL, "line 2: invalid value for endpoint"},
	{PEER_A "endpoint=[fe80::1%nosuchif0]:51820\n", EINVAL,
	 "line 2: invalid value for endpoint"},
	{PEER_A "endpoint=" LONG_VALUE "\n", EINVAL,
	 "line 2: invalid value for endpoint: "
	 "\"0123456789012345678901234567890123456789012345678901234567890123\"..."},
	{PEER_A "persistent_keepalive_interval=65536\n", EINVAL,
	 "line 2: invalid value for persistent_keepalive_interval: \"65536\""},
	{PEER_A "persistent_keepalive_interval=off\n", EINVAL,
	 "line 2: invalid value for persistent_keepalive_interval"},
	{PEER_A "persistent_keepalive_interval=-1\n", EINVAL,
	 "line 2: invalid value for persistent_keepalive_interval"},
	{PEER_A "replace_allowed_ips=false\n", EINVAL,
	 "line 2: invalid value for replace_allowed_ips"},
	{PEER_A "allowed_ip=\n", EINVAL, "line 2: invalid value for allowed_ip: \"\""},
	{PEER_A "allowed_ip=10.0.0.1\n", EINVAL, "line 2: invalid value for allowed_ip"},
	{PEER_A "allowed_ip=10.0.0.0/33\n", EINVAL, "line 2: invalid value for allowed_ip"},
	{PEER_A "allowed_ip=::/129\n", EINVAL, "line 2: invalid value for allowed_ip"},
	{PEER_A "allowed_ip=10.0.0.0/8,10.1.0.0/16\n", EINVAL,
	 "line 2: invalid value for allowed_ip"},
	{PEER_A "allowed_ip=10.0.0.0/08\n", EINVAL, "line 2: invalid value for allowed_ip"},
	{PEER_A "allowed_ip=-10.0.0.0/8\n", EINVAL,
	 "line 2: removing an allowed_ip is not supported"},
	{PEER_A "allowed_ip=" LONG_VALUE "/8\n", EINVAL, "line 2: invalid value for allowed_ip"},
	/* protocol versions */
	{PEER_A "protocol_version=2\n", EPROTO, "line 2: unsupported protocol_version \"2\""},
	{PEER_A "protocol_version=0\n", EPROTO, "line 2: unsupported protocol_version \"0\""},
	{PEER_A "protocol_version=\n", EPROTO, "line 2: unsupported protocol_version \"\""},
	{PEER_A "protocol_version=01\n", EPROTO, "line 2: unsupported protocol_version"},
	{PEER_A "protocol_version=1 \n", EPROTO, "line 2: unsupported protocol_version"},
	/* an error late in a long request is reported at its line, nothing is returned */
	{"set=1\nprivate_key=" HEX_DEVICE "\nlisten_port=1\n" PEER_A
	 "allowed_ip=10.0.0.0/8\n" PEER_B "endpoint=1.2.3.4:1\nallowed_ip=10.0.0.0/40\n",
	 EINVAL, "line 8: invalid value for allowed_ip: \"10.0.0.0/40\""},
};

static void
check_bad(const char *body, size_t len, int expected_err, const char *expected_message)
{
	WrUapiSet *sentinel = (WrUapiSet *) (gintptr) 0x1;
	WrUapiSet *set = sentinel;
	g_autofree char *message = NULL;
	g_autofree char *head = g_strndup(body, MIN(len, 200));
	g_autofree char *escaped = g_strescape(head, NULL);
	int err;

	g_test_message("\"%s\"%s", escaped, len > 200 ? "..." : "");
	err = wr_uapi_parse_set(body, len, &set, &message);
	g_test_message("-> %d %s", err, message);
	g_assert_cmpint(err, ==, expected_err);
	g_assert_true(set == sentinel);
	g_assert_nonnull(message);
	g_assert_true(g_str_has_prefix(message, expected_message));

	/* and without a message */
	g_assert_cmpint(wr_uapi_parse_set(body, len, &set, NULL), ==, expected_err);
	g_assert_true(set == sentinel);
}

static void
test_parse_bad(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
		const BadCase *t = &bad_cases[i];

		check_bad(t->body, strlen(t->body), t->err, t->message);
	}
}

/* a private or preshared key with one wrong digit must not end up in a log */
static void
test_parse_bad_secret_not_quoted(void)
{
	static const char *const bodies[] = {
		"private_key=" HEX_DEVICE "x\n",
		"private_key=" HEX_DEVICE "\x01\n",
		PEER_A "preshared_key=" HEX_PSK "0\n",
	};

	for (size_t i = 0; i < G_N_ELEMENTS(bodies); i++) {
		WrUapiSet *set = NULL;
		g_autofree char *message = NULL;

		g_assert_cmpint(wr_uapi_parse_set(bodies[i], strlen(bodies[i]), &set, &message), ==,
				EINVAL);
		g_assert_null(set);
		g_assert_null(strstr(message, "78b4ba32"));
		g_assert_null(strstr(message, "df82dfad"));
		g_assert_null(strstr(message, "\\001"));
	}
}

static void
test_parse_bad_bytes(void)
{
	static const char nul_in_value[] = "set=1\nlisten_port=1\0002\n";
	static const char nul_in_key[] = "set=1\nlisten\000_port=1\n";
	static const char nul_in_endpoint[] = PEER_A "endpoint=1.2.3.4:1\000\n";

	check_bad(nul_in_value, sizeof(nul_in_value) - 1, EINVAL, "line 2: NUL byte in line");
	check_bad(nul_in_key, sizeof(nul_in_key) - 1, EINVAL, "line 2: NUL byte in line");
	check_bad(nul_in_endpoint, sizeof(nul_in_endpoint) - 1, EINVAL, "line 2: NUL byte in line");
}

static void
test_parse_long_lines(void)
{
	g_autoptr(GString) body = g_string_new("set=1\n" PEER_A "allowed_ip=");
	g_autoptr(WrUapiSet) set = NULL;
	char *message = NULL;

	/* WR_UAPI_MAX_LINE bytes: judged on its value */
	while (body->len < 6 + 76 + WR_UAPI_MAX_LINE)
		g_string_append_c(body, '1');
	check_bad(body->str, body->len, EINVAL, "line 3: invalid value for allowed_ip: \"111");

	/* one more: too long */
	g_string_append_c(body, '1');
	check_bad(body->str, body->len, E2BIG, "line 3: line longer than 1024 bytes");
	g_string_append_c(body, '\n');
	check_bad(body->str, body->len, E2BIG, "line 3: line longer than 1024 bytes");

	/* many lines are fine: the limit is on each line, not on their number */
	g_string_assign(body, PEER_A);
	for (guint i = 0; i < 1000; i++)
		g_string_append_printf(body, "allowed_ip=10.%u.%u.0/24\n", i / 256, i % 256);
	g_assert_cmpint(wr_uapi_parse_set(body->str, body->len, &set, &message), ==, 0);
	g_assert_null(message);
	g_assert_cmpuint(peer_at(set, 0)->allowed_ips->len, ==, 1000);
}

static void
test_parse_limit_allowed_ips(void)
{
	g_autoptr(GString) body = g_string_new(PEER_A);
	g_autoptr(WrUapiSet) set = NULL;
	g_autofree char *expected = NULL;
	char *message = NULL;

	for (guint i = 0; i < WR_UAPI_MAX_ALLOWED_IPS_PER_PEER; i++)
		g_string_append(body, "allowed_ip=::/0\n");
	g_assert_cmpint(wr_uapi_parse_set(body->str, body->len, &set, &message), ==, 0);
	g_assert_cmpuint(peer_at(set, 0)->allowed_ips->len, ==, WR_UAPI_MAX_ALLOWED_IPS_PER_PEER);
	g_clear_pointer(&set, wr_uapi_set_free);

	g_string_append(body, "allowed_ip=::/0\n");
	expected = g_strdup_printf("line %u: more than %u allowed_ip lines for one peer",
				   WR_UAPI_MAX_ALLOWED_IPS_PER_PEER + 2,
				   WR_UAPI_MAX_ALLOWED_IPS_PER_PEER);
	check_bad(body->str, body->len, E2BIG, expected);

	/* the limit is per peer */
	g_string_truncate(body, body->len - strlen("allowed_ip=::/0\n"));
	g_string_append(body, PEER_B "allowed_ip=::/0\n");
	g_assert_cmpint(wr_uapi_parse_set(body->str, body->len, &set, &message), ==, 0);
	g_assert_cmpuint(set->peers->len, ==, 2);
}

static void
test_parse_limit_peers(void)
{
	g_autoptr(GString) body = g_string_new(NULL);
	g_autoptr(WrUapiSet) set = NULL;
	g_autofree char *expected = NULL;
	char *message = NULL;

	for (guint i = 0; i < WR_UAPI_MAX_PEERS; i++)
		g_string_append_printf(body, "public_key=%064x\n", i);
	g_assert_cmpint(wr_uapi_parse_set(body->str, body->len, &set, &message), ==, 0);
	g_assert_cmpuint(set->peers->len, ==, WR_UAPI_MAX_PEERS);
	g_clear_pointer(&set, wr_uapi_set_free);

	g_string_append(body, PEER_A);
	expected = g_strdup_printf("line %u: more than %u peers in one request",
				   WR_UAPI_MAX_PEERS + 1, WR_UAPI_MAX_PEERS);
	check_bad(body->str, body->len, E2BIG, expected);
}

/* --- what the real wg sends --- */

static void
test_wg_set_full(void)
{
	g_autoptr(WrUapiSet) set = parse_data_ok("wg-set-full.request");
	WrUapiPeer *peer;

	g_assert_true(set->has_private_key);
	assert_key(set->private_key, HEX_DEVICE);
	g_assert_true(set->has_listen_port);
	g_assert_cmpuint(set->listen_port, ==, 51820);
	g_assert_true(set->has_fwmark);
	g_assert_cmpuint(set->fwmark, ==, 0x1234);
	g_assert_false(set->replace_peers);
	g_assert_cmpuint(set->peers->len, ==, 2);

	peer = peer_at(set, 0);
	assert_key(peer->public_key, HEX_PEER_A);
	g_assert_true(peer->has_preshared_key);
	assert_key(peer->preshared_key, HEX_PSK);
	g_assert_true(peer->has_endpoint);
	assert_endpoint(&peer->endpoint, "192.0.2.1:51820");
	g_assert_true(peer->has_persistent_keepalive);
	g_assert_cmpuint(peer->persistent_keepalive, ==, 25);
	g_assert_true(peer->replace_allowed_ips);
	assert_cidrs(peer->allowed_ips, "10.0.0.0/24,fd00::/64");
	g_assert_false(peer->remove);
	g_assert_false(peer->update_only);

	peer = peer_at(set, 1);
	assert_key(peer->public_key, HEX_PEER_B);
	g_assert_false(peer->has_preshared_key);
	g_assert_true(peer->has_endpoint);
	assert_endpoint(&peer->endpoint, "[2001:db8::1]:51821");
	g_assert_false(peer->has_persistent_keepalive);
	g_assert_true(peer->replace_allowed_ips);
	assert_cidrs(peer->allowed_ips, "0.0.0.0/0");
}

static void
test_wg_set_clear(void)
{
	g_autoptr(WrUapiSet) set = parse_data_ok("wg-set-clear.request");
	WrUapiPeer *peer;

	/* "private-key /dev/null", "listen-port 0", "fwmark off" */
	g_assert_true(set->has_private_key);
	assert_key(set->private_key, HEX_ZERO);
	g_assert_true(set->has_listen_port);
	g_assert_cmpuint(set->listen_port, ==, 0);
	g_assert_true(set->has_fwmark);
	g_assert_cmpuint(set->fwmark, ==, 0);
	g_assert_cmpuint(set->peers->len, ==, 1);

	/* "preshared-key /dev/null", "persistent-keepalive off", "allowed-ips ''" */
	peer = peer_at(set, 0);
	assert_key(peer->public_key, HEX_PEER_A);
	g_assert_true(peer->has_preshared_key);
	assert_key(peer->preshared_key, HEX_ZERO);
	g_assert_true(peer->has_persistent_keepalive);
	g_assert_cmpuint(peer->persistent_keepalive, ==, 0);
	g_assert_true(peer->replace_allowed_ips);
	g_assert_cmpuint(peer->allowed_ips->len, ==, 0);
	g_assert_false(peer->has_endpoint);
}

static void
test_wg_set_remove(void)
{
	g_autoptr(WrUapiSet) set = parse_data_ok("wg-set-remove.request");
	WrUapiPeer *peer;

	g_assert_false(set->has_private_key);
	g_assert_false(set->has_listen_port);
	g_assert_false(set->has_fwmark);
	g_assert_cmpuint(set->peers->len, ==, 1);
	peer = peer_at(set, 0);
	assert_key(peer->public_key, HEX_PEER_B);
	g_assert_true(peer->remove);
	g_assert_false(peer->replace_allowed_ips);
}

/* wg turns the scope of a link-local endpoint into an interface name, resolved to its index */
static void
test_wg_set_linklocal(void)
{
	g_autoptr(WrUapiSet) set = parse_data_ok("wg-set-linklocal.request");
	const WrUapiPeer *peer;

	g_assert_cmpuint(set->peers->len, ==, 1);
	peer = g_ptr_array_index(set->peers, 0);
	g_assert_true(peer->has_endpoint);
	g_assert_cmpint(peer->endpoint.sa.sa_family, ==, AF_INET6);
	g_assert_cmpuint(peer->endpoint.in6.sin6_scope_id, ==, if_nametoindex("lo"));
}

static void
test_wg_setconf(void)
{
	g_autoptr(WrUapiSet) set = parse_data_ok("wg-setconf.request");
	WrUapiPeer *peer;

	g_assert_true(set->has_private_key);
	assert_key(set->private_key, HEX_DEVICE2);
	g_assert_true(set->has_listen_port);
	g_assert_cmpuint(set->listen_port, ==, 4500);
	g_assert_true(set->has_fwmark);
	g_assert_cmpuint(set->fwmark, ==, 0);
	g_assert_true(set->replace_peers);
	g_assert_cmpuint(set->peers->len, ==, 2);

	peer = peer_at(set, 0);
	assert_key(peer->public_key, HEX_PEER_A);
	assert_key(peer->preshared_key, HEX_PSK);
	assert_endpoint(&peer->endpoint, "203.0.113.5:41641");
	g_assert_cmpuint(peer->persistent_keepalive, ==, 25);
	g_assert_true(peer->replace_allowed_ips);
	assert_cidrs(peer->allowed_ips, "100.64.0.2/32,fd7a:115c:a1e0::2/128");

	peer = peer_at(set, 1);
	assert_key(peer->public_key, HEX_PEER_C);
	g_assert_false(peer->has_preshared_key);
	g_assert_false(peer->has_endpoint);
	g_assert_false(peer->has_persistent_keepalive);
	g_assert_true(peer->replace_allowed_ips);
	assert_cidrs(peer->allowed_ips, "100.64.0.3/32");
}

static void
test_wg_addconf(void)
{
	g_autoptr(WrUapiSet) set = parse_data_ok("wg-addconf.request");
	WrUapiPeer *peer;

	g_assert_false(set->has_private_key);
	g_assert_false(set->replace_peers);
	g_assert_cmpuint(set->peers->len, ==, 1);
	peer = peer_at(set, 0);
	assert_key(peer->public_key, HEX_PEER_D);
	assert_endpoint(&peer->endpoint, "[2001:db8::7]:51820");
	g_assert_true(peer->replace_allowed_ips);
	assert_cidrs(peer->allowed_ips, "198.51.100.0/26");
}

/* wg syncconf read get-reply.txt first, then removed the peers the file does not list */
static void
test_wg_syncconf(void)
{
	static const char *const removed[] = {HEX_PEER_B, HEX_PEER_D, HEX_PEER_C, HEX_PEER_E};
	g_autoptr(WrUapiSet) set = parse_data_ok("wg-syncconf.request");
	WrUapiPeer *peer;

	assert_key(set->private_key, HEX_DEVICE);
	g_assert_cmpuint(set->listen_port, ==, 51820);
	g_assert_true(set->has_fwmark);
	g_assert_cmpuint(set->fwmark, ==, 0);
	g_assert_false(set->replace_peers);
	g_assert_cmpuint(set->peers->len, ==, 5);
	for (guint i = 0; i < G_N_ELEMENTS(removed); i++) {
		peer = peer_at(set, i);
		assert_key(peer->public_key, removed[i]);
		g_assert_true(peer->remove);
	}
	peer = peer_at(set, 4);
	assert_key(peer->public_key, HEX_PEER_A);
	g_assert_false(peer->remove);
	g_assert_true(peer->replace_allowed_ips);
	assert_cidrs(peer->allowed_ips, "10.0.0.0/24");
}

/* --- the get reply --- */

static void
add_cidr(GArray *cidrs, const char *text)
{
	WrCidr cidr;

	g_assert_true(wr_cidr_parse(&cidr, text));
	g_array_append_val(cidrs, cidr);
}

/* the device behind get-reply.txt */
static WrUapiDeviceInfo *
fixture_info(void)
{
	WrUapiDeviceInfo *info = wr_uapi_device_info_new();
	WrUapiPeerInfo *peer;

	info->has_private_key = true;
	key(info->private_key, HEX_DEVICE);
	info->listen_port = 51820;
	info->fwmark = 0x1234;

	peer = wr_uapi_device_info_add_peer(info);
	key(peer->public_key, HEX_PEER_A);
	peer->has_preshared_key = true;
	key(peer->preshared_key, HEX_PSK);
	g_assert_true(wr_endpoint_parse(&peer->endpoint, "192.0.2.1:51820"));
	peer->last_handshake_sec = 1700000000;
	peer->last_handshake_nsec = 123456789;
	peer->tx_bytes = 3145728;
	peer->rx_bytes = 1536;
	peer->persistent_keepalive = 25;
	add_cidr(peer->allowed_ips, "10.0.0.0/24");
	add_cidr(peer->allowed_ips, "fd00::/64");

	peer = wr_uapi_device_info_add_peer(info);
	key(peer->public_key, HEX_PEER_B);
	g_assert_true(wr_endpoint_parse(&peer->endpoint, "[2001:db8::1]:51821"));
	add_cidr(peer->allowed_ips, "0.0.0.0/0");

	/* a v4-mapped endpoint, as a dual-stack socket reports it */
	peer = wr_uapi_device_info_add_peer(info);
	key(peer->public_key, HEX_PEER_C);
	g_assert_true(wr_endpoint_parse(&peer->endpoint, "198.51.100.7:4242"));
	wr_endpoint_to_v6_mapped(&peer->endpoint, &peer->endpoint);
	peer->last_handshake_sec = 1700000100;
	peer->tx_bytes = G_MAXUINT64;
	peer->rx_bytes = 200;
	peer->persistent_keepalive = G_MAXUINT16;
	add_cidr(peer->allowed_ips, "::/0");
	add_cidr(peer->allowed_ips, "fd7a:115c:a1e0::/48");

	peer = wr_uapi_device_info_add_peer(info);
	key(peer->public_key, HEX_PEER_D);
	g_assert_true(wr_endpoint_parse(&peer->endpoint, "[fe80::1%1]:51820"));

	/* no endpoint, no allowed IPs */
	peer = wr_uapi_device_info_add_peer(info);
	key(peer->public_key, HEX_PEER_E);
	g_assert_cmpint(peer->endpoint.sa.sa_family, ==, AF_UNSPEC);
	return info;
}

static void
test_format_get_golden(void)
{
	g_autoptr(WrUapiDeviceInfo) info = fixture_info();
	g_autoptr(GString) out = g_string_new(NULL);
	size_t len = 0;
	g_autofree char *golden = read_data("get-reply.txt", &len);

	wr_uapi_format_get(info, out);
	g_assert_cmpstr(out->str, ==, golden);
	g_assert_cmpuint(out->len, ==, len);
}

static void
test_format_get_minimal(void)
{
	g_autoptr(WrUapiDeviceInfo) info = wr_uapi_device_info_new();
	g_autoptr(GString) out = g_string_new("x");
	WrUapiPeerInfo *peer;

	/* nothing set: only the status; out is appended to */
	wr_uapi_format_get(info, out);
	g_assert_cmpstr(out->str, ==, "xerrno=0\n\n");

	/* a negative handshake time is not sent: wg would refuse the whole reply */
	peer = wr_uapi_device_info_add_peer(info);
	peer->last_handshake_sec = -5;
	peer->last_handshake_nsec = -1;
	g_string_truncate(out, 0);
	wr_uapi_format_get(info, out);
	g_assert_cmpstr(out->str, ==,
			"public_key=" HEX_ZERO "\npreshared_key=" HEX_ZERO "\nprotocol_version=1\n"
			"last_handshake_time_sec=0\nlast_handshake_time_nsec=0\ntx_bytes=0\n"
			"rx_bytes=0\npersistent_keepalive_interval=0\nerrno=0\n\n");
}

/* the keys of a get reply that a set request cannot carry */
static bool
is_get_only_line(const char *line)
{
	static const char *const keys[] = {"last_handshake_time_sec=", "last_handshake_time_nsec=",
					   "tx_bytes=", "rx_bytes=", "errno="};

	for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
		if (g_str_has_prefix(line, keys[i]))
			return true;
	}
	return false;
}

/*
 * The reply to get, with its counters dropped, is a valid set request for the same
 * configuration: parse it back and compare with what was formatted.
 */
static void
test_format_get_round_trip(void)
{
	g_autoptr(WrUapiDeviceInfo) info = fixture_info();
	g_autoptr(GString) out = g_string_new(NULL);
	g_autoptr(GString) body = g_string_new("set=1\n");
	g_auto(GStrv) lines = NULL;
	g_autoptr(WrUapiSet) set = NULL;

	wr_uapi_format_get(info, out);
	g_assert_true(g_str_has_suffix(out->str, "\nerrno=0\n\n"));
	lines = g_strsplit(out->str, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		if (lines[i][0] == '\0' || is_get_only_line(lines[i]))
			continue;
		g_assert_nonnull(strchr(lines[i], '='));
		g_string_append_printf(body, "%s\n", lines[i]);
	}
	set = parse_ok(body->str);

	g_assert_true(set->has_private_key);
	g_assert_cmpmem(set->private_key, 32, info->private_key, 32);
	g_assert_true(set->has_listen_port);
	g_assert_cmpuint(set->listen_port, ==, info->listen_port);
	g_assert_true(set->has_fwmark);
	g_assert_cmpuint(set->fwmark, ==, info->fwmark);
	g_assert_cmpuint(set->peers->len, ==, info->peers->len);
	for (guint i = 0; i < info->peers->len; i++) {
		const WrUapiPeerInfo *want = g_ptr_array_index(info->peers, i);
		const WrUapiPeer *got = g_ptr_array_index(set->peers, i);
		static const uint8_t zero[32] = {0};
		g_autofree char *want_cidrs = cidrs_text(want->allowed_ips);
		g_autofree char *got_cidrs = cidrs_text(got->allowed_ips);

		g_assert_cmpmem(got->public_key, 32, want->public_key, 32);
		g_assert_true(got->has_preshared_key);
		g_assert_cmpmem(got->preshared_key, 32,
				want->has_preshared_key ? want->preshared_key : zero, 32);
		g_assert_cmpint(got->has_endpoint, ==, want->endpoint.sa.sa_family != AF_UNSPEC);
		if (got->has_endpoint)
			g_assert_true(wr_endpoint_equal(&got->endpoint, &want->endpoint));
		g_assert_true(got->has_persistent_keepalive);
		g_assert_cmpuint(got->persistent_keepalive, ==, want->persistent_keepalive);
		g_assert_cmpstr(got_cidrs, ==, want_cidrs);
		g_assert_false(got->remove);
		g_assert_false(got->update_only);
		g_assert_false(got->replace_allowed_ips);
	}
}

static void
test_format_errno(void)
{
	g_autoptr(GString) out = g_string_new(NULL);

	wr_uapi_format_errno(0, out);
	wr_uapi_format_errno(EINVAL, out);
	wr_uapi_format_errno(EPROTO, out);
	wr_uapi_format_errno(-EADDRINUSE, out);
	wr_uapi_format_errno(G_MININT, out);
	g_assert_cmpstr(out->str, ==,
			"errno=0\n\nerrno=22\n\nerrno=71\n\nerrno=-98\n\nerrno=-2147483648\n\n");
}

static void
test_free_null(void)
{
	wr_uapi_set_free(NULL);
	wr_uapi_device_info_free(NULL);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_assert_true(wr_crypto_init());

	g_test_add_func("/warren/uapi/frame-table", test_frame_table);
	g_test_add_func("/warren/uapi/frame-lines", test_frame_lines);
	g_test_add_func("/warren/uapi/frame-max-request", test_frame_max_request);
	g_test_add_func("/warren/uapi/frame-incremental", test_frame_incremental);
	g_test_add_func("/warren/uapi/parse-empty", test_parse_empty);
	g_test_add_func("/warren/uapi/parse-device", test_parse_device);
	g_test_add_func("/warren/uapi/parse-peer", test_parse_peer);
	g_test_add_func("/warren/uapi/parse-replace-allowed-ips", test_parse_replace_allowed_ips);
	g_test_add_func("/warren/uapi/parse-bad", test_parse_bad);
	g_test_add_func("/warren/uapi/parse-bad-secret-not-quoted",
			test_parse_bad_secret_not_quoted);
	g_test_add_func("/warren/uapi/parse-bad-bytes", test_parse_bad_bytes);
	g_test_add_func("/warren/uapi/parse-long-lines", test_parse_long_lines);
	g_test_add_func("/warren/uapi/parse-limit-allowed-ips", test_parse_limit_allowed_ips);
	g_test_add_func("/warren/uapi/parse-limit-peers", test_parse_limit_peers);
	g_test_add_func("/warren/uapi/wg-set-full", test_wg_set_full);
	g_test_add_func("/warren/uapi/wg-set-clear", test_wg_set_clear);
	g_test_add_func("/warren/uapi/wg-set-remove", test_wg_set_remove);
	g_test_add_func("/warren/uapi/wg-set-linklocal", test_wg_set_linklocal);
	g_test_add_func("/warren/uapi/wg-setconf", test_wg_setconf);
	g_test_add_func("/warren/uapi/wg-addconf", test_wg_addconf);
	g_test_add_func("/warren/uapi/wg-syncconf", test_wg_syncconf);
	g_test_add_func("/warren/uapi/format-get-golden", test_format_get_golden);
	g_test_add_func("/warren/uapi/format-get-minimal", test_format_get_minimal);
	g_test_add_func("/warren/uapi/format-get-round-trip", test_format_get_round_trip);
	g_test_add_func("/warren/uapi/format-errno", test_format_errno);
	g_test_add_func("/warren/uapi/free-null", test_free_null);
	return g_test_run();
}
