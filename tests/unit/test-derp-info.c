/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The sealed ClientInfo and ServerInfo bodies (docs/protocols/derp-disco-stun.md §2.8): the
 * exact JSON written, the JSON accepted (case-insensitive keys, unknown members, nulls) and
 * refused (wrong types, oversize, nesting), and the boxes both ways.  Boxes built here by hand
 * (cleartext key, nonce, wr_box_seal of a known JSON text: the NaCl layout the crypto tests pin
 * to the paper's vector) must open through the module, and the module's frames must open by
 * hand to the exact JSON expected; wrong keys and every flipped bit must be refused.
 */

#define G_LOG_DOMAIN "WrDerpInfoTest"

#include "config.h"

#include <errno.h>
#include <glib.h>
#include <limits.h>
#include <string.h>

#include "wr-crypto.h"
#include "wr-derp-frame.h"
#include "wr-derp-info.h"
#include "wr-test-util.h"

/* the keys of the NaCl paper's box example (RFC 7748's X25519 keys): Alice is the client, Bob
 * the server */
#define ALICE_SK "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"
#define ALICE_PK "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
#define BOB_SK	 "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"
#define BOB_PK	 "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"
#define NONCE	 "69696ee955b62b73cd62bda875fc73d68219e0036b7a0b37"
#define MESH_HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

typedef struct {
	guint8 alice_sk[32];
	guint8 alice_pk[32];
	guint8 bob_sk[32];
	guint8 bob_pk[32];
	guint8 nonce[DERP_NONCE_LEN];
} Keys;

static void
keys_load(Keys *k)
{
	unhex(ALICE_SK, k->alice_sk, 32);
	unhex(ALICE_PK, k->alice_pk, 32);
	unhex(BOB_SK, k->bob_sk, 32);
	unhex(BOB_PK, k->bob_pk, 32);
	unhex(NONCE, k->nonce, sizeof(k->nonce));
}

static void
assert_body_eq(const WrDerpClientInfoBody *a, const WrDerpClientInfoBody *b)
{
	g_assert_cmpint(a->version, ==, b->version);
	g_assert_cmpint(a->has_mesh_key, ==, b->has_mesh_key);
	if (a->has_mesh_key)
		g_assert_cmpmem(a->mesh_key, sizeof(a->mesh_key), b->mesh_key, sizeof(b->mesh_key));
	g_assert_cmpint(a->can_ack_pings, ==, b->can_ack_pings);
	g_assert_cmpint(a->is_prober, ==, b->is_prober);
	g_assert_cmpstr(a->app_name, ==, b->app_name);
}

static void
assert_json(int r, const char *buf, const char *expected)
{
	g_assert_cmpint(r, ==, (int) strlen(expected));
	g_assert_cmpmem(buf, (gsize) r, expected, strlen(expected));
}

static void
test_format_client_info(void)
{
	char buf[WR_DERP_INFO_MAX_OUT_LEN];
	WrDerpClientInfoBody body;
	int r;

	/* what a node sends: Tailscale's typical body */
	memset(&body, 0, sizeof(body));
	body.version = 2;
	body.can_ack_pings = true;
	r = wr_derp_info_format_client_info(&body, buf, sizeof(buf));
	assert_json(r, buf, "{\"version\":2,\"CanAckPings\":true}");

	/* nothing set: CanAckPings is always written */
	memset(&body, 0, sizeof(body));
	r = wr_derp_info_format_client_info(&body, buf, sizeof(buf));
	assert_json(r, buf, "{\"CanAckPings\":false}");

	/* everything, and an AppName that needs escaping */
	memset(&body, 0, sizeof(body));
	body.version = 2;
	body.has_mesh_key = true;
	unhex(MESH_HEX, body.mesh_key, sizeof(body.mesh_key));
	body.can_ack_pings = true;
	body.is_prober = true;
	g_strlcpy(body.app_name, "warren \"mesh\"\\\n\x01 é", sizeof(body.app_name));
	r = wr_derp_info_format_client_info(&body, buf, sizeof(buf));
	assert_json(r, buf,
		    "{\"meshKey\":\"" MESH_HEX "\",\"version\":2,\"CanAckPings\":true,"
		    "\"IsProber\":true,\"AppName\":\"warren \\\"mesh\\\"\\\\\\u000a\\u0001 é\"}");
}

static void
test_format_limits(void)
{
	char buf[WR_DERP_INFO_MAX_OUT_LEN];
	char small[8];
	WrDerpClientInfoBody body;
	WrDerpClientInfoBody parsed;
	int r;

	/* the worst case fits WR_DERP_INFO_MAX_OUT_LEN and parses back */
	memset(&body, 0, sizeof(body));
	body.version = INT_MIN;
	body.has_mesh_key = true;
	memset(body.mesh_key, 0xff, sizeof(body.mesh_key));
	body.is_prober = true;
	memset(body.app_name, 0x01, sizeof(body.app_name) - 1);
	r = wr_derp_info_format_client_info(&body, buf, sizeof(buf));
	g_assert_cmpint(r, >, 0);
	g_assert_cmpint(r, <=, WR_DERP_INFO_MAX_OUT_LEN);
	g_assert_cmpint(wr_derp_info_parse_client_info(buf, (size_t) r, &parsed), ==, 0);
	assert_body_eq(&parsed, &body);

	/* a buffer too small */
	g_assert_cmpint(wr_derp_info_format_client_info(&body, small, sizeof(small)), ==,
			-EMSGSIZE);
	/* an AppName without its NUL within the field */
	memset(body.app_name, 'a', sizeof(body.app_name));
	g_assert_cmpint(wr_derp_info_format_client_info(&body, buf, sizeof(buf)), ==, -EMSGSIZE);
	/* an AppName that is not UTF-8 */
	g_strlcpy(body.app_name, "bad \xff", sizeof(body.app_name));
	g_assert_cmpint(wr_derp_info_format_client_info(&body, buf, sizeof(buf)), ==, -EILSEQ);
}

static void
test_format_server_info(void)
{
	char buf[WR_DERP_INFO_MAX_OUT_LEN];
	WrDerpServerInfoBody body = {.version = 2};
	int r;

	r = wr_derp_info_format_server_info(&body, buf, sizeof(buf));
	assert_json(r, buf, "{\"version\":2}");
	body.token_bucket_bytes_per_second = 1000000;
	body.token_bucket_bytes_burst = UINT32_MAX;
	r = wr_derp_info_format_server_info(&body, buf, sizeof(buf));
	assert_json(r, buf,
		    "{\"version\":2,\"TokenBucketBytesPerSecond\":1000000,"
		    "\"TokenBucketBytesBurst\":4294967295}");
	memset(&body, 0, sizeof(body));
	r = wr_derp_info_format_server_info(&body, buf, sizeof(buf));
	assert_json(r, buf, "{}");
}

typedef struct {
	const char *json;
	int r;
	int version;
	bool has_mesh_key;
	bool can_ack_pings;
	bool is_prober;
	const char *app_name;
} ClientRow;

static void
test_parse_client_info(void)
{
	static const ClientRow rows[] = {
		{"{\"version\":2,\"CanAckPings\":true}", 0, 2, false, true, false, ""},
		{"{}", 0, 0, false, false, false, ""},
		/* keys in any case, as Go's decoder matches them */
		{"{\"VERSION\":2,\"canackpings\":true,\"isPROBER\":true,\"appname\":\"x\"}", 0, 2,
		 false, true, true, "x"},
		{"{\"MeshKey\":\"" MESH_HEX "\"}", 0, 0, true, false, false, ""},
		{"{\"meshKey\":\"000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F"
		 "\"}",
		 0, 0, true, false, false, ""},
		/* unknown members of any shape are ignored */
		{"{\"version\":2,\"Extra\":{\"a\":[1,2,{\"b\":null}]},\"n\":1.5e3,\"s\":"
		 "\"\\u0000\"}",
		 0, 2, false, false, false, ""},
		/* null is absent; an empty meshKey is what omitempty leaves out */
		{"{\"version\":null,\"CanAckPings\":null,\"meshKey\":\"\",\"AppName\":null}", 0, 0,
		 false, false, false, ""},
		/* the later of two spellings wins, as in Go */
		{"{\"version\":1,\"Version\":3}", 0, 3, false, false, false, ""},
		{"{\"version\":-1}", 0, -1, false, false, false, ""},
		{"{\"AppName\":\"\\u00e9t\\u00e9 \\\"q\\\"\"}", 0, 0, false, false, false,
		 "été \"q\""},
		{"{\"AppName\":"
		 "\"123456789012345678901234567890123456789012345678901234567890123\"}",
		 0, 0, false, false, false,
		 "123456789012345678901234567890123456789012345678901234567890123"},
		{" \n{ \"version\" : 2 }\t", 0, 2, false, false, false, ""},
		/* refused */
		{"{\"AppName\":"
		 "\"1234567890123456789012345678901234567890123456789012345678901234\"}",
		 -EMSGSIZE},
		{"{\"version\":\"2\"}", -EINVAL},
		{"{\"version\":2.0}", -EINVAL},
		{"{\"version\":1e2}", -EINVAL},
		{"{\"version\":true}", -EINVAL},
		{"{\"version\":2147483648}", -EINVAL},
		{"{\"version\":-2147483649}", -EINVAL},
		{"{\"CanAckPings\":1}", -EINVAL},
		{"{\"IsProber\":\"true\"}", -EINVAL},
		{"{\"AppName\":7}", -EINVAL},
		{"{\"AppName\":[]}", -EINVAL},
		{"{\"meshKey\":\"0001\"}", -EINVAL},
		{"{\"meshKey\":"
		 "\"zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\"}",
		 -EINVAL},
		{"{\"meshKey\":true}", -EINVAL},
		{"{\"meshKey\":\"" MESH_HEX "00\"}", -EINVAL},
		/* an error in one member, then a mesh key: still refused */
		{"{\"version\":\"x\",\"meshKey\":\"" MESH_HEX "\"}", -EINVAL},
		{"[]", -EINVAL},
		{"[{\"version\":2}]", -EINVAL},
		{"\"version\"", -EINVAL},
		{"2", -EINVAL},
		{"null", -EINVAL},
		{"", -EINVAL},
		{"{", -EINVAL},
		{"{\"version\":2", -EINVAL},
		{"{\"version\":2}}", -EINVAL},
		{"{version:2}", -EINVAL},
		{"{\"AppName\":\"\xff\"}", -EINVAL},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(rows); i++) {
		const ClientRow *row = &rows[i];
		WrDerpClientInfoBody out;
		WrDerpClientInfoBody canary;
		g_autofree gchar *escaped = g_strescape(row->json, NULL);
		int r;

		g_test_message("row %zu: %s", i, escaped);
		memset(&out, 0x5a, sizeof(out));
		memcpy(&canary, &out, sizeof(out));
		r = wr_derp_info_parse_client_info(row->json, strlen(row->json), &out);
		g_assert_cmpint(r, ==, row->r);
		if (r < 0) {
			g_assert_cmpmem(&out, sizeof(out), &canary, sizeof(canary));
			continue;
		}
		g_assert_cmpint(out.version, ==, row->version);
		g_assert_cmpint(out.has_mesh_key, ==, row->has_mesh_key);
		if (row->has_mesh_key)
			assert_hex_eq(out.mesh_key, sizeof(out.mesh_key), MESH_HEX);
		g_assert_cmpint(out.can_ack_pings, ==, row->can_ack_pings);
		g_assert_cmpint(out.is_prober, ==, row->is_prober);
		g_assert_cmpstr(out.app_name, ==, row->app_name);
	}
}

typedef struct {
	const char *json;
	int r;
	int version;
	uint32_t rate;
	uint32_t burst;
} ServerRow;

static void
test_parse_server_info(void)
{
	static const ServerRow rows[] = {
		{"{\"version\":2}", 0, 2, 0, 0},
		{"{\"version\":2,\"TokenBucketBytesPerSecond\":100,\"TokenBucketBytesBurst\":200}",
		 0, 2, 100, 200},
		{"{\"tokenbucketbytespersecond\":4294967295,\"TOKENBUCKETBYTESBURST\":0}", 0, 0,
		 UINT32_MAX, 0},
		{"{\"version\":2,\"Other\":[1,2,3],\"TokenBucketBytesBurst\":null}", 0, 2, 0, 0},
		{"{}", 0, 0, 0, 0},
		{"{\"TokenBucketBytesPerSecond\":-1}", -EINVAL},
		{"{\"TokenBucketBytesPerSecond\":4294967296}", -EINVAL},
		{"{\"TokenBucketBytesBurst\":1.5}", -EINVAL},
		{"{\"TokenBucketBytesBurst\":\"1\"}", -EINVAL},
		{"{\"version\":[2]}", -EINVAL},
		{"[2]", -EINVAL},
		{"{\"version\":2,}", -EINVAL},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(rows); i++) {
		const ServerRow *row = &rows[i];
		WrDerpServerInfoBody out = {.version = 77, .token_bucket_bytes_per_second = 77};
		int r;

		g_test_message("row %zu: %s", i, row->json);
		r = wr_derp_info_parse_server_info(row->json, strlen(row->json), &out);
		g_assert_cmpint(r, ==, row->r);
		if (r < 0) {
			g_assert_cmpint(out.version, ==, 77);
			g_assert_cmpuint(out.token_bucket_bytes_per_second, ==, 77);
			continue;
		}
		g_assert_cmpint(out.version, ==, row->version);
		g_assert_cmpuint(out.token_bucket_bytes_per_second, ==, row->rate);
		g_assert_cmpuint(out.token_bucket_bytes_burst, ==, row->burst);
	}
}

/* nesting up to WR_DERP_INFO_MAX_JSON_DEPTH, bodies up to WR_DERP_INFO_MAX_JSON_LEN */
static void
test_parse_limits(void)
{
	g_autoptr(GString) json = g_string_new(NULL);
	WrDerpClientInfoBody out;
	WrDerpServerInfoBody sout;

	/* the root object and 15 arrays inside it: accepted */
	g_string_append(json, "{\"x\":");
	for (int i = 1; i < WR_DERP_INFO_MAX_JSON_DEPTH; i++)
		g_string_append_c(json, '[');
	for (int i = 1; i < WR_DERP_INFO_MAX_JSON_DEPTH; i++)
		g_string_append_c(json, ']');
	g_string_append(json, ",\"version\":2}");
	g_assert_cmpint(wr_derp_info_parse_client_info(json->str, json->len, &out), ==, 0);
	g_assert_cmpint(out.version, ==, 2);

	/* one more: refused, and brackets inside strings do not count */
	g_string_assign(json, "{\"x\":");
	for (int i = 0; i < WR_DERP_INFO_MAX_JSON_DEPTH; i++)
		g_string_append_c(json, '[');
	for (int i = 0; i < WR_DERP_INFO_MAX_JSON_DEPTH; i++)
		g_string_append_c(json, ']');
	g_string_append(json, "}");
	g_assert_cmpint(wr_derp_info_parse_client_info(json->str, json->len, &out), ==, -EINVAL);
	g_assert_cmpint(wr_derp_info_parse_server_info(json->str, json->len, &sout), ==, -EINVAL);
	g_string_assign(json, "{\"x\":\"[[[[[[[[[[[[[[[[[[[[[[[[\\\"[[[[\",\"version\":2}");
	g_assert_cmpint(wr_derp_info_parse_client_info(json->str, json->len, &out), ==, 0);

	/* a megabyte of brackets is refused on length before anything else */
	g_string_assign(json, "");
	for (int i = 0; i < 1024 * 1024; i++)
		g_string_append_c(json, '[');
	g_assert_cmpint(wr_derp_info_parse_client_info(json->str, json->len, &out), ==, -EMSGSIZE);

	/* exactly the limit, padded with whitespace: accepted; one more byte: refused */
	g_string_assign(json, "{\"version\":2}");
	while (json->len < WR_DERP_INFO_MAX_JSON_LEN)
		g_string_append_c(json, ' ');
	g_assert_cmpint(wr_derp_info_parse_server_info(json->str, json->len, &sout), ==, 0);
	g_string_append_c(json, ' ');
	g_assert_cmpint(wr_derp_info_parse_server_info(json->str, json->len, &sout), ==, -EMSGSIZE);
}

/* one ClientInfo frame from the keys, the nonce and a JSON text, by hand */
static GByteArray *
hand_client_info(const Keys *k, const char *json)
{
	GByteArray *frame = g_byte_array_new();
	gsize len = strlen(json);
	g_autofree guint8 *sealed = g_malloc(len + WR_BOX_TAG_LEN);
	guint8 hdr[DERP_FRAME_HEADER_LEN] = {DERP_FRAME_CLIENT_INFO};

	g_assert_true(
		wr_box_seal(sealed, (const guint8 *) json, len, k->nonce, k->bob_pk, k->alice_sk));
	put32(hdr + 1, (uint32_t) (WR_KEY_LEN + DERP_NONCE_LEN + len + WR_BOX_TAG_LEN));
	g_byte_array_append(frame, hdr, sizeof(hdr));
	g_byte_array_append(frame, k->alice_pk, WR_KEY_LEN);
	g_byte_array_append(frame, k->nonce, DERP_NONCE_LEN);
	g_byte_array_append(frame, sealed, (guint) (len + WR_BOX_TAG_LEN));
	return frame;
}

static void
decode_one(GByteArray *frame, uint8_t type, WrDerpFrame *f)
{
	g_assert_cmpint(wr_derp_frame_decode(frame->data, frame->len, DERP_MAX_FRAME_SIZE, f), ==,
			(gssize) frame->len);
	g_assert_cmpuint(f->type, ==, type);
}

static void
test_client_info_known(void)
{
	Keys k;
	g_autoptr(GByteArray) frame = NULL;
	WrDerpFrame f;
	WrDerpClientInfo ci;
	WrDerpClientInfoBody body;

	keys_load(&k);
	frame = hand_client_info(&k, "{\"meshKey\":\"" MESH_HEX "\",\"version\":2,"
				     "\"CanAckPings\":true,\"AppName\":\"warren-derp\"}");
	decode_one(frame, DERP_FRAME_CLIENT_INFO, &f);
	g_assert_cmpint(wr_derp_parse_client_info(f.payload, f.len, &ci), ==, 0);
	assert_hex_eq(ci.key, WR_KEY_LEN, ALICE_PK);
	memset(&body, 0, sizeof(body));
	g_assert_cmpint(wr_derp_info_open_client_info(&ci, k.bob_sk, &body), ==, 0);
	g_assert_cmpint(body.version, ==, 2);
	g_assert_true(body.has_mesh_key);
	assert_hex_eq(body.mesh_key, sizeof(body.mesh_key), MESH_HEX);
	g_assert_true(body.can_ack_pings);
	g_assert_false(body.is_prober);
	g_assert_cmpstr(body.app_name, ==, "warren-derp");
	wr_memzero(&body, sizeof(body));

	/* the wrong server key, and the client's key, cannot open it */
	g_assert_cmpint(wr_derp_info_open_client_info(&ci, k.alice_sk, &body), ==, -EBADMSG);
	/* a sender key that is not the sealer's */
	ci.key[0] ^= 1;
	g_assert_cmpint(wr_derp_info_open_client_info(&ci, k.bob_sk, &body), ==, -EBADMSG);
}

/* the module's frames open by hand to exactly the JSON promised */
static void
test_client_info_append(void)
{
	Keys k;
	g_autoptr(GByteArray) out = g_byte_array_new();
	WrDerpClientInfoBody body;
	WrDerpClientInfoBody back;
	WrDerpFrame f;
	WrDerpClientInfo ci;
	guint8 plain[256];
	const char *expected = "{\"version\":2,\"CanAckPings\":true,\"AppName\":\"warrend\"}";

	keys_load(&k);
	memset(&body, 0, sizeof(body));
	body.version = DERP_PROTOCOL_VERSION;
	body.can_ack_pings = true;
	g_strlcpy(body.app_name, "warrend", sizeof(body.app_name));
	g_byte_array_append(out, (const guint8 *) "xy", 2);
	g_assert_cmpint(wr_derp_info_append_client_info(out, &body, k.alice_sk, k.bob_pk), ==, 0);
	/* appended after what was there */
	g_assert_cmpmem(out->data, 2, "xy", 2);
	g_byte_array_remove_range(out, 0, 2);
	decode_one(out, DERP_FRAME_CLIENT_INFO, &f);
	g_assert_cmpuint(f.len, ==,
			 WR_KEY_LEN + DERP_NONCE_LEN + WR_BOX_TAG_LEN + strlen(expected));
	g_assert_cmpint(wr_derp_parse_client_info(f.payload, f.len, &ci), ==, 0);
	/* the cleartext key is the client's public key */
	assert_hex_eq(ci.key, WR_KEY_LEN, ALICE_PK);
	g_assert_true(wr_box_open(plain, ci.box.sealed, ci.box.sealed_len, ci.box.nonce, k.alice_pk,
				  k.bob_sk));
	g_assert_cmpmem(plain, ci.box.sealed_len - WR_BOX_TAG_LEN, expected, strlen(expected));
	/* and through the module */
	g_assert_cmpint(wr_derp_info_open_client_info(&ci, k.bob_sk, &back), ==, 0);
	assert_body_eq(&back, &body);

	/* every flipped bit of the box is refused, body untouched */
	for (gsize i = WR_KEY_LEN; i < f.len; i++) {
		guint8 *p = (guint8 *) f.payload + i;

		for (int bit = 0; bit < 8; bit++) {
			WrDerpClientInfoBody canary = {.version = 99};

			*p ^= (guint8) (1u << bit);
			g_assert_cmpint(wr_derp_parse_client_info(f.payload, f.len, &ci), ==, 0);
			g_assert_cmpint(wr_derp_info_open_client_info(&ci, k.bob_sk, &canary), ==,
					-EBADMSG);
			g_assert_cmpint(canary.version, ==, 99);
			*p ^= (guint8) (1u << bit);
		}
	}
	/* nonces are fresh: two frames of the same body differ */
	{
		g_autoptr(GByteArray) again = g_byte_array_new();

		g_assert_cmpint(wr_derp_info_append_client_info(again, &body, k.alice_sk, k.bob_pk),
				==, 0);
		g_assert_cmpuint(again->len, ==, out->len);
		g_assert_cmpint(memcmp(again->data, out->data, out->len), !=, 0);
	}
}

static void
test_client_info_refused(void)
{
	Keys k;
	g_autoptr(GByteArray) out = g_byte_array_new();
	g_autoptr(GByteArray) frame = NULL;
	WrDerpClientInfoBody body;
	WrDerpFrame f;
	WrDerpClientInfo ci;
	guint8 zero[32] = {0};

	keys_load(&k);
	memset(&body, 0, sizeof(body));
	/* an all-zero private key, a low-order server key (zero): out unchanged */
	g_assert_cmpint(wr_derp_info_append_client_info(out, &body, zero, k.bob_pk), ==, -EINVAL);
	g_assert_cmpint(wr_derp_info_append_client_info(out, &body, k.alice_sk, zero), ==, -EINVAL);
	memset(body.app_name, 'n', sizeof(body.app_name));
	g_assert_cmpint(wr_derp_info_append_client_info(out, &body, k.alice_sk, k.bob_pk), ==,
			-EMSGSIZE);
	g_assert_cmpuint(out->len, ==, 0);

	/* a box that opens to JSON of the wrong shape */
	frame = hand_client_info(&k, "[\"version\",2]");
	decode_one(frame, DERP_FRAME_CLIENT_INFO, &f);
	g_assert_cmpint(wr_derp_parse_client_info(f.payload, f.len, &ci), ==, 0);
	g_assert_cmpint(wr_derp_info_open_client_info(&ci, k.bob_sk, &body), ==, -EINVAL);
	g_byte_array_unref(frame);
	frame = hand_client_info(&k, "{\"version\":2,\"AppName\":"
				     "\"0123456789012345678901234567890123456789012345678901234567"
				     "89abcdef\"}");
	decode_one(frame, DERP_FRAME_CLIENT_INFO, &f);
	g_assert_cmpint(wr_derp_parse_client_info(f.payload, f.len, &ci), ==, 0);
	g_assert_cmpint(wr_derp_info_open_client_info(&ci, k.bob_sk, &body), ==, -EMSGSIZE);
	g_byte_array_unref(frame);
	frame = hand_client_info(&k, "not json");
	decode_one(frame, DERP_FRAME_CLIENT_INFO, &f);
	g_assert_cmpint(wr_derp_parse_client_info(f.payload, f.len, &ci), ==, 0);
	g_assert_cmpint(wr_derp_info_open_client_info(&ci, k.bob_sk, &body), ==, -EINVAL);

	/* a box of nothing but part of a tag */
	ci.box.sealed_len = WR_BOX_TAG_LEN - 1;
	g_assert_cmpint(wr_derp_info_open_client_info(&ci, k.bob_sk, &body), ==, -EBADMSG);
	/* a box bigger than any JSON accepted: refused before opening */
	{
		g_autofree guint8 *big = g_malloc0(WR_DERP_INFO_MAX_JSON_LEN + WR_BOX_TAG_LEN + 1);

		ci.box.sealed = big;
		ci.box.sealed_len = WR_DERP_INFO_MAX_JSON_LEN + WR_BOX_TAG_LEN + 1;
		g_assert_cmpint(wr_derp_info_open_client_info(&ci, k.bob_sk, &body), ==, -EMSGSIZE);
	}
}

static void
test_server_info(void)
{
	Keys k;
	g_autoptr(GByteArray) out = g_byte_array_new();
	WrDerpServerInfoBody body = {.version = 2, .token_bucket_bytes_per_second = 5000};
	WrDerpServerInfoBody back;
	WrDerpFrame f;
	WrDerpBox box;
	guint8 plain[128];
	guint8 zero[32] = {0};
	const char *expected = "{\"version\":2,\"TokenBucketBytesPerSecond\":5000}";

	keys_load(&k);
	/* Bob the server to Alice the client */
	g_assert_cmpint(wr_derp_info_append_server_info(out, &body, k.bob_sk, k.alice_pk), ==, 0);
	decode_one(out, DERP_FRAME_SERVER_INFO, &f);
	g_assert_cmpuint(f.len, ==, DERP_NONCE_LEN + WR_BOX_TAG_LEN + strlen(expected));
	g_assert_cmpint(wr_derp_parse_server_info(f.payload, f.len, &box), ==, 0);
	g_assert_true(
		wr_box_open(plain, box.sealed, box.sealed_len, box.nonce, k.bob_pk, k.alice_sk));
	g_assert_cmpmem(plain, box.sealed_len - WR_BOX_TAG_LEN, expected, strlen(expected));
	memset(&back, 0, sizeof(back));
	g_assert_cmpint(wr_derp_info_open_server_info(&box, k.alice_sk, k.bob_pk, &back), ==, 0);
	g_assert_cmpint(back.version, ==, 2);
	g_assert_cmpuint(back.token_bucket_bytes_per_second, ==, 5000);
	g_assert_cmpuint(back.token_bucket_bytes_burst, ==, 0);

	/* the wrong server key (the client's own), the wrong client key */
	back.version = 42;
	g_assert_cmpint(wr_derp_info_open_server_info(&box, k.alice_sk, k.alice_pk, &back), ==,
			-EBADMSG);
	g_assert_cmpint(wr_derp_info_open_server_info(&box, k.bob_sk, k.bob_pk, &back), ==,
			-EBADMSG);
	g_assert_cmpint(back.version, ==, 42);
	/* every flipped bit */
	for (gsize i = 0; i < f.len; i++) {
		guint8 *p = (guint8 *) f.payload + i;

		for (int bit = 0; bit < 8; bit++) {
			*p ^= (guint8) (1u << bit);
			g_assert_cmpint(wr_derp_parse_server_info(f.payload, f.len, &box), ==, 0);
			g_assert_cmpint(
				wr_derp_info_open_server_info(&box, k.alice_sk, k.bob_pk, &back),
				==, -EBADMSG);
			*p ^= (guint8) (1u << bit);
		}
	}
	g_assert_cmpint(back.version, ==, 42);

	/* a known box by hand: the NaCl nonce, Bob to Alice */
	{
		const char *json = "{\"version\":2,\"TokenBucketBytesBurst\":-5}";
		guint8 sealed[64];

		g_assert_true(wr_box_seal(sealed, (const guint8 *) json, strlen(json), k.nonce,
					  k.alice_pk, k.bob_sk));
		box.nonce = k.nonce;
		box.sealed = sealed;
		box.sealed_len = strlen(json) + WR_BOX_TAG_LEN;
		g_assert_cmpint(wr_derp_info_open_server_info(&box, k.alice_sk, k.bob_pk, &back),
				==, -EINVAL);
		json = "{\"version\":2,\"TokenBucketBytesBurst\":65568}";
		g_assert_true(wr_box_seal(sealed, (const guint8 *) json, strlen(json), k.nonce,
					  k.alice_pk, k.bob_sk));
		box.sealed_len = strlen(json) + WR_BOX_TAG_LEN;
		g_assert_cmpint(wr_derp_info_open_server_info(&box, k.alice_sk, k.bob_pk, &back),
				==, 0);
		g_assert_cmpuint(back.token_bucket_bytes_burst, ==, 65568);
	}

	/* refused to seal: zero private key, low-order client key */
	g_byte_array_set_size(out, 0);
	g_assert_cmpint(wr_derp_info_append_server_info(out, &body, zero, k.alice_pk), ==, -EINVAL);
	g_assert_cmpint(wr_derp_info_append_server_info(out, &body, k.bob_sk, zero), ==, -EINVAL);
	g_assert_cmpuint(out->len, ==, 0);
}

/* fresh keys both ways, every combination of the fields */
static void
test_roundtrip(void)
{
	guint8 c_sk[32], c_pk[32], s_sk[32], s_pk[32];

	wr_x25519_generate(c_sk, c_pk);
	wr_x25519_generate(s_sk, s_pk);
	for (guint mask = 0; mask < 32; mask++) {
		g_autoptr(GByteArray) out = g_byte_array_new();
		WrDerpClientInfoBody body;
		WrDerpClientInfoBody back;
		WrDerpServerInfoBody sbody = {0};
		WrDerpServerInfoBody sback;
		WrDerpFrame f;
		WrDerpClientInfo ci;
		WrDerpBox box;

		memset(&body, 0, sizeof(body));
		body.version = (mask & 1) ? 2 : 0;
		body.has_mesh_key = (mask & 2) != 0;
		if (body.has_mesh_key)
			pattern(body.mesh_key, sizeof(body.mesh_key), 7, mask);
		body.can_ack_pings = (mask & 4) != 0;
		body.is_prober = (mask & 8) != 0;
		if (mask & 16)
			g_strlcpy(body.app_name, "app\t\"name\"", sizeof(body.app_name));
		g_assert_cmpint(wr_derp_info_append_client_info(out, &body, c_sk, s_pk), ==, 0);
		decode_one(out, DERP_FRAME_CLIENT_INFO, &f);
		g_assert_cmpint(wr_derp_parse_client_info(f.payload, f.len, &ci), ==, 0);
		g_assert_cmpmem(ci.key, WR_KEY_LEN, c_pk, WR_KEY_LEN);
		g_assert_cmpint(wr_derp_info_open_client_info(&ci, s_sk, &back), ==, 0);
		assert_body_eq(&back, &body);

		g_byte_array_set_size(out, 0);
		sbody.version = (int) mask;
		sbody.token_bucket_bytes_per_second = (mask & 1) ? mask * 1000u : 0;
		sbody.token_bucket_bytes_burst = (mask & 2) ? UINT32_MAX - mask : 0;
		g_assert_cmpint(wr_derp_info_append_server_info(out, &sbody, s_sk, c_pk), ==, 0);
		decode_one(out, DERP_FRAME_SERVER_INFO, &f);
		g_assert_cmpint(wr_derp_parse_server_info(f.payload, f.len, &box), ==, 0);
		g_assert_cmpint(wr_derp_info_open_server_info(&box, c_sk, s_pk, &sback), ==, 0);
		g_assert_cmpint(memcmp(&sback, &sbody, sizeof(sbody)), ==, 0);
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_assert_true(wr_crypto_init());

	g_test_add_func("/warren/derp-info/format-client-info", test_format_client_info);
	g_test_add_func("/warren/derp-info/format-limits", test_format_limits);
	g_test_add_func("/warren/derp-info/format-server-info", test_format_server_info);
	g_test_add_func("/warren/derp-info/parse-client-info", test_parse_client_info);
	g_test_add_func("/warren/derp-info/parse-server-info", test_parse_server_info);
	g_test_add_func("/warren/derp-info/parse-limits", test_parse_limits);
	g_test_add_func("/warren/derp-info/client-info-known", test_client_info_known);
	g_test_add_func("/warren/derp-info/client-info-append", test_client_info_append);
	g_test_add_func("/warren/derp-info/client-info-refused", test_client_info_refused);
	g_test_add_func("/warren/derp-info/server-info", test_server_info);
	g_test_add_func("/warren/derp-info/roundtrip", test_roundtrip);
	return g_test_run();
}
