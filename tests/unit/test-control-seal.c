/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The sealed machine bodies of warren-control (wr-control-seal): round trips with real keys both
 * ways, every refusal with its code, HTTP status and message (wrong keys, truncation, tampering,
 * the ts window, replays inside and after the window, the replay cache's bounds, the size limit,
 * JSON shape, missing and mistyped fields), and the machine path.
 */

#define G_LOG_DOMAIN "WrControlSealTest"

#include "config.h"

#include <glib.h>
#include <string.h>

#include "wr-control-seal.h"
#include "wr-crypto.h"
#include "wr-key.h"

#define NOW ((gint64) 1800000000)

typedef struct {
	uint8_t server_sk[32];
	uint8_t server_pk[32];
	uint8_t machine_sk[32];
	uint8_t machine_pk[32];
	uint8_t other_sk[32];
	uint8_t other_pk[32];
} Keys;

static void
keys_make(Keys *k)
{
	wr_x25519_generate(k->server_sk, k->server_pk);
	wr_x25519_generate(k->machine_sk, k->machine_pk);
	wr_x25519_generate(k->other_sk, k->other_pk);
}

/* a request sealed by the machine with the given nonce (NULL: random) */
static GBytes *
seal_request(const Keys *k, const char *json, const uint8_t *nonce)
{
	g_autoptr(GError) error = NULL;
	GBytes *b =
		wr_control_seal_box(json, strlen(json), nonce, k->server_pk, k->machine_sk, &error);

	g_assert_no_error(error);
	g_assert_nonnull(b);
	return b;
}

static GBytes *
seal_ts(const Keys *k, gint64 ts, const uint8_t *nonce)
{
	g_autofree char *json = g_strdup_printf("{\"version\":1,\"ts\":%" G_GINT64_FORMAT "}", ts);

	return seal_request(k, json, nonce);
}

/* opens as the server would and asserts the outcome */
static JsonObject *
open_ok(WrControlSeal *seal, const uint8_t *mkey, GBytes *b, gint64 now)
{
	g_autoptr(GError) error = NULL;
	gsize len;
	const void *data = g_bytes_get_data(b, &len);
	JsonObject *obj = wr_control_seal_open_request(seal, mkey, data, len, now, &error);

	g_assert_no_error(error);
	g_assert_nonnull(obj);
	return obj;
}

static void
open_fails(WrControlSeal *seal, const uint8_t *mkey, const void *data, gsize len, gint64 now,
	   int code, guint status, const char *message)
{
	g_autoptr(GError) error = NULL;
	JsonObject *obj = wr_control_seal_open_request(seal, mkey, data, len, now, &error);

	g_assert_null(obj);
	g_assert_error(error, WR_CONTROL_SEAL_ERROR, code);
	g_assert_cmpuint(wr_control_seal_http_status_for(error), ==, status);
	if (message != NULL)
		g_assert_cmpstr(error->message, ==, message);
}

static void
open_bytes_fails(WrControlSeal *seal, const uint8_t *mkey, GBytes *b, gint64 now, int code,
		 guint status, const char *message)
{
	gsize len;
	const void *data = g_bytes_get_data(b, &len);

	open_fails(seal, mkey, data, len, now, code, status, message);
}

static void
test_roundtrip(void)
{
	Keys k;
	g_autoptr(WrControlSeal) seal = NULL;
	g_autoptr(GBytes) req = NULL;
	g_autoptr(GBytes) resp1 = NULL;
	g_autoptr(GBytes) resp2 = NULL;
	g_autoptr(GError) error = NULL;
	JsonObject *obj;
	const char *node_key = NULL;
	gint64 version = 0;
	gint64 ts = 0;
	uint8_t pk[32];
	g_autofree char *text = NULL;
	g_autofree char *expect = NULL;
	guint8 *plain;
	gsize plain_len = 0;
	uint8_t nonce1[24];
	uint8_t nonce2[24];
	const char *answer = "{\"machine_authorized\":true}";

	keys_make(&k);
	seal = wr_control_seal_new(k.server_sk, 0, 0);
	g_assert_nonnull(seal);
	wr_control_seal_get_public(seal, pk);
	g_assert_cmpmem(pk, 32, k.server_pk, 32);
	text = wr_control_seal_public_text(seal);
	expect = wr_key_to_text(WR_KEY_KIND_MACHINE, k.server_pk);
	g_assert_cmpstr(text, ==, expect);
	g_assert_true(g_str_has_prefix(text, "mkey:"));

	req = seal_request(&k, "{\"version\":1,\"ts\":1800000000,\"node_key\":\"x\",\"new\":[1]}",
			   NULL);
	g_assert_cmpuint(
		g_bytes_get_size(req), ==,
		strlen("{\"version\":1,\"ts\":1800000000,\"node_key\":\"x\",\"new\":[1]}") +
			WR_CONTROL_SEAL_OVERHEAD);
	obj = open_ok(seal, k.machine_pk, req, NOW);
	g_assert_true(wr_control_field_int(obj, "version", TRUE, &version, &error));
	g_assert_true(wr_control_field_int(obj, "ts", TRUE, &ts, &error));
	g_assert_true(wr_control_field_string(obj, "node_key", TRUE, &node_key, &error));
	g_assert_no_error(error);
	g_assert_cmpint(version, ==, 1);
	g_assert_cmpint(ts, ==, NOW);
	g_assert_cmpstr(node_key, ==, "x");
	json_object_unref(obj);
	g_assert_cmpuint(wr_control_seal_replay_size(seal, NOW), ==, 1);
	g_assert_cmpuint(wr_control_seal_replay_size_for(seal, k.machine_pk, NOW), ==, 1);
	g_assert_cmpuint(wr_control_seal_replay_size_for(seal, k.other_pk, NOW), ==, 0);

	/* the answer opens on the machine, with a fresh nonce each time */
	resp1 = wr_control_seal_response(seal, k.machine_pk, answer, strlen(answer), &error);
	g_assert_no_error(error);
	resp2 = wr_control_seal_response(seal, k.machine_pk, answer, strlen(answer), &error);
	g_assert_no_error(error);
	plain = wr_control_open_box(g_bytes_get_data(resp1, NULL), g_bytes_get_size(resp1),
				    WR_CONTROL_SEAL_MAX_BODY, k.server_pk, k.machine_sk, nonce1,
				    &plain_len, &error);
	g_assert_no_error(error);
	g_assert_cmpmem(plain, plain_len, answer, strlen(answer));
	g_assert_cmpint(plain[plain_len], ==, '\0');
	wr_memzero(plain, plain_len);
	g_free(plain);
	plain = wr_control_open_box(g_bytes_get_data(resp2, NULL), g_bytes_get_size(resp2),
				    WR_CONTROL_SEAL_MAX_BODY, k.server_pk, k.machine_sk, nonce2,
				    &plain_len, &error);
	g_assert_no_error(error);
	g_free(plain);
	g_assert_false(memcmp(nonce1, nonce2, 24) == 0);
	g_assert_cmpmem(g_bytes_get_data(resp1, NULL), 24, nonce1, 24);
}

static void
test_response_node(void)
{
	Keys k;
	g_autoptr(WrControlSeal) seal = NULL;
	g_autoptr(GBytes) resp = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonBuilder) builder = json_builder_new();
	JsonNode *node;
	guint8 *plain;
	gsize plain_len = 0;

	keys_make(&k);
	seal = wr_control_seal_new(k.server_sk, 0, 0);
	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "keep_alive");
	json_builder_add_boolean_value(builder, TRUE);
	json_builder_end_object(builder);
	node = json_builder_get_root(builder);
	resp = wr_control_seal_response_node(seal, k.machine_pk, node, &error);
	json_node_unref(node);
	g_assert_no_error(error);
	plain = wr_control_open_box(g_bytes_get_data(resp, NULL), g_bytes_get_size(resp), G_MAXSIZE,
				    k.server_pk, k.machine_sk, NULL, &plain_len, &error);
	g_assert_no_error(error);
	g_assert_cmpstr((char *) plain, ==, "{\"keep_alive\":true}");
	g_free(plain);
}

static void
test_known_layout(void)
{
	Keys k;
	g_autoptr(WrControlSeal) seal = NULL;
	const char *json = "{\"ts\":1800000000}";
	gsize len = strlen(json);
	g_autofree guint8 *body = g_malloc(len + 40);
	JsonObject *obj;

	/* nonce || crypto_box_easy, built by hand from the crypto wrapper */
	keys_make(&k);
	seal = wr_control_seal_new(k.server_sk, 0, 0);
	memset(body, 0x42, 24);
	g_assert_true(wr_box_seal(body + 24, (const guint8 *) json, len, body, k.server_pk,
				  k.machine_sk));
	obj = wr_control_seal_open_request(seal, k.machine_pk, body, len + 40, NOW, NULL);
	g_assert_nonnull(obj);
	json_object_unref(obj);
}

static void
test_wrong_key(void)
{
	Keys k;
	g_autoptr(WrControlSeal) seal = NULL;
	g_autoptr(WrControlSeal) other = NULL;
	g_autoptr(GBytes) req = NULL;
	uint8_t low_order[32] = {0};
	uint8_t zero[32] = {0};
	g_autoptr(GError) error = NULL;
	const char *msg = "sealed body does not open with this machine key";

	keys_make(&k);
	seal = wr_control_seal_new(k.server_sk, 0, 0);
	other = wr_control_seal_new(k.other_sk, 0, 0);
	req = seal_ts(&k, NOW, NULL);
	/* the path names another machine */
	open_bytes_fails(seal, k.other_pk, req, NOW, WR_CONTROL_SEAL_ERROR_BAD_SEAL, 400, msg);
	/* another server */
	open_bytes_fails(other, k.machine_pk, req, NOW, WR_CONTROL_SEAL_ERROR_BAD_SEAL, 400, msg);
	/* a low-order machine key */
	open_bytes_fails(seal, low_order, req, NOW, WR_CONTROL_SEAL_ERROR_BAD_SEAL, 400, msg);
	/* nothing was recorded, and it still opens with the right keys */
	g_assert_cmpuint(wr_control_seal_replay_size(seal, NOW), ==, 0);
	json_object_unref(open_ok(seal, k.machine_pk, req, NOW));

	/* sealing to a low-order key, and an all-zero server key, are refused */
	g_assert_null(wr_control_seal_box("{}", 2, NULL, low_order, k.machine_sk, &error));
	g_assert_error(error, WR_CONTROL_SEAL_ERROR, WR_CONTROL_SEAL_ERROR_BAD_SEAL);
	g_assert_null(wr_control_seal_new(zero, 0, 0));
}

static void
test_truncated(void)
{
	Keys k;
	g_autoptr(WrControlSeal) seal = NULL;
	g_autoptr(GBytes) req = NULL;
	gsize len;
	const guint8 *data;

	keys_make(&k);
	seal = wr_control_seal_new(k.server_sk, 0, 0);
	req = seal_ts(&k, NOW, NULL);
	data = g_bytes_get_data(req, &len);
	for (gsize n = 0; n < len; n++)
		open_fails(seal, k.machine_pk, data, n, NOW, WR_CONTROL_SEAL_ERROR_BAD_SEAL, 400,
			   NULL);
	open_fails(seal, k.machine_pk, NULL, 0, NOW, WR_CONTROL_SEAL_ERROR_BAD_SEAL, 400,
		   "sealed body of 0 bytes is shorter than nonce and tag (40 bytes)");
	open_fails(seal, k.machine_pk, data, 39, NOW, WR_CONTROL_SEAL_ERROR_BAD_SEAL, 400,
		   "sealed body of 39 bytes is shorter than nonce and tag (40 bytes)");
	g_assert_cmpuint(wr_control_seal_replay_size(seal, NOW), ==, 0);
}

static void
test_tampered(void)
{
	Keys k;
	g_autoptr(WrControlSeal) seal = NULL;
	g_autoptr(GBytes) req = NULL;
	gsize len;
	g_autofree guint8 *copy = NULL;

	keys_make(&k);
	seal = wr_control_seal_new(k.server_sk, 0, 0);
	req = seal_ts(&k, NOW, NULL);
	copy = g_bytes_unref_to_data(g_steal_pointer(&req), &len);
	for (gsize i = 0; i < len; i++) {
		for (guint bit = 0; bit < 8; bit += 3) {
			copy[i] ^= (guint8) (1u << bit);
			open_fails(seal, k.machine_pk, copy, len, NOW,
				   WR_CONTROL_SEAL_ERROR_BAD_SEAL, 400, NULL);
			copy[i] ^= (guint8) (1u << bit);
		}
	}
	/* one more byte is a tampered box too */
	copy = g_realloc(copy, len + 1);
	copy[len] = 0;
	open_fails(seal, k.machine_pk, copy, len + 1, NOW, WR_CONTROL_SEAL_ERROR_BAD_SEAL, 400,
		   NULL);
}

static void
test_ts_window(void)
{
	Keys k;
	g_autoptr(WrControlSeal) seal = NULL;
	struct {
		gint64 ts;
		gboolean ok;
		const char *message;
	} cases[] = {
		{NOW, TRUE, NULL},
		{NOW - 120, TRUE, NULL},
		{NOW + 120, TRUE, NULL},
		{NOW - 121, FALSE, "ts is 121 s behind the server clock (at most 120 s allowed)"},
		{NOW + 121, FALSE, "ts is 121 s ahead of the server clock (at most 120 s allowed)"},
		{NOW - 300, FALSE, "ts is 300 s behind the server clock (at most 120 s allowed)"},
		{0, FALSE, "ts is 1800000000 s behind the server clock (at most 120 s allowed)"},
		{G_MININT64, FALSE, NULL},
		{G_MAXINT64, FALSE, NULL},
	};

	keys_make(&k);
	seal = wr_control_seal_new(k.server_sk, 0, 0);
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GBytes) req = seal_ts(&k, cases[i].ts, NULL);

		if (cases[i].ok)
			json_object_unref(open_ok(seal, k.machine_pk, req, NOW));
		else
			open_bytes_fails(seal, k.machine_pk, req, NOW, WR_CONTROL_SEAL_ERROR_STALE,
					 400, cases[i].message);
	}
	g_assert_cmpuint(wr_control_seal_replay_size(seal, NOW), ==, 3);
}

static void
test_ts_field(void)
{
	Keys k;
	g_autoptr(WrControlSeal) seal = NULL;
	struct {
		const char *json;
		int code;
		const char *message;
	} cases[] = {
		{"{}", WR_CONTROL_SEAL_ERROR_MISSING_FIELD, "missing required field ts"},
		{"{\"ts\":null}", WR_CONTROL_SEAL_ERROR_MISSING_FIELD, "missing required field ts"},
		{"{\"ts\":\"1800000000\"}", WR_CONTROL_SEAL_ERROR_BAD_FIELD,
		 "field ts must be an integer"},
		{"{\"ts\":1800000000.5}", WR_CONTROL_SEAL_ERROR_BAD_FIELD,
		 "field ts must be an integer"},
		{"{\"ts\":true}", WR_CONTROL_SEAL_ERROR_BAD_FIELD, "field ts must be an integer"},
		{"{\"ts\":{}}", WR_CONTROL_SEAL_ERROR_BAD_FIELD, "field ts must be an integer"},
		{"", WR_CONTROL_SEAL_ERROR_BAD_JSON, NULL},
		{"not json", WR_CONTROL_SEAL_ERROR_BAD_JSON, NULL},
		{"[1800000000]", WR_CONTROL_SEAL_ERROR_BAD_JSON, "body is not a JSON object"},
		{"1800000000", WR_CONTROL_SEAL_ERROR_BAD_JSON, "body is not a JSON object"},
		{"{\"ts\":1800000000", WR_CONTROL_SEAL_ERROR_BAD_JSON, NULL},
	};

	keys_make(&k);
	seal = wr_control_seal_new(k.server_sk, 0, 0);
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GBytes) req = seal_request(&k, cases[i].json, NULL);

		open_bytes_fails(seal, k.machine_pk, req, NOW, cases[i].code, 400,
				 cases[i].message);
	}
	g_assert_cmpuint(wr_control_seal_replay_size(seal, NOW), ==, 0);
}

static void
test_json_shape(void)
{
	Keys k;
	g_autoptr(WrControlSeal) seal = NULL;
	g_autoptr(GString) deep = g_string_new("{\"ts\":1800000000,\"x\":");
	g_autoptr(GString) wide = g_string_new("{\"ts\":1800000000");
	g_autoptr(GString) ok = g_string_new("{\"ts\":1800000000,\"x\":");
	g_autoptr(GBytes) req_deep = NULL;
	g_autoptr(GBytes) req_wide = NULL;
	g_autoptr(GBytes) req_ok = NULL;

	keys_make(&k);
	seal = wr_control_seal_new(k.server_sk, 0, 0);
	/* depth 32 (the object plus 31 arrays) is fine, 33 is not; brackets in strings do not count
	 */
	for (guint i = 0; i < 31; i++)
		g_string_append_c(ok, '[');
	for (guint i = 0; i < 31; i++)
		g_string_append_c(ok, ']');
	g_string_append(ok, ",\"s\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"[[[[[\"}");
	req_ok = seal_request(&k, ok->str, NULL);
	json_object_unref(open_ok(seal, k.machine_pk, req_ok, NOW));
	for (guint i = 0; i < 32; i++)
		g_string_append_c(deep, '[');
	for (guint i = 0; i < 32; i++)
		g_string_append_c(deep, ']');
	g_string_append_c(deep, '}');
	req_deep = seal_request(&k, deep->str, NULL);
	open_bytes_fails(seal, k.machine_pk, req_deep, NOW, WR_CONTROL_SEAL_ERROR_BAD_JSON, 400,
			 "JSON nested deeper than 32 levels");
	/* ts is member 1, so 8192 more are one too many */
	for (guint i = 0; i < WR_CONTROL_SEAL_MAX_JSON_MEMBERS; i++)
		g_string_append_printf(wide, ",\"m%u\":0", i);
	g_string_append_c(wide, '}');
	req_wide = seal_request(&k, wide->str, NULL);
	open_bytes_fails(seal, k.machine_pk, req_wide, NOW, WR_CONTROL_SEAL_ERROR_BAD_JSON, 400,
			 "JSON has more than 8192 object members");
}

static void
test_replay(void)
{
	Keys k;
	g_autoptr(WrControlSeal) seal = NULL;
	uint8_t nonce[24];
	g_autoptr(GBytes) first = NULL;
	g_autoptr(GBytes) stale = NULL;
	g_autoptr(GBytes) again_ts = NULL;
	g_autoptr(GBytes) late = NULL;
	g_autoptr(GBytes) other = NULL;
	Keys k2;

	keys_make(&k);
	seal = wr_control_seal_new(k.server_sk, 0, 0);
	memset(nonce, 7, sizeof(nonce));

	/* a refused body records nothing: a stale body, then a good one with its nonce */
	stale = seal_ts(&k, NOW - 500, nonce);
	open_bytes_fails(seal, k.machine_pk, stale, NOW, WR_CONTROL_SEAL_ERROR_STALE, 400, NULL);
	first = seal_ts(&k, NOW, nonce);
	json_object_unref(open_ok(seal, k.machine_pk, first, NOW));

	/* the same body, and another body with the same nonce, inside the window */
	open_bytes_fails(seal, k.machine_pk, first, NOW, WR_CONTROL_SEAL_ERROR_REPLAYED, 400,
			 "nonce replayed");
	open_bytes_fails(seal, k.machine_pk, first, NOW + 120, WR_CONTROL_SEAL_ERROR_REPLAYED, 400,
			 "nonce replayed");
	again_ts = seal_ts(&k, NOW + 60, nonce);
	open_bytes_fails(seal, k.machine_pk, again_ts, NOW + 60, WR_CONTROL_SEAL_ERROR_REPLAYED,
			 400, "nonce replayed");
	/* a clock stepping back does not forget it */
	open_bytes_fails(seal, k.machine_pk, first, NOW - 100, WR_CONTROL_SEAL_ERROR_REPLAYED, 400,
			 "nonce replayed");

	/* the same nonce from another machine is another nonce */
	keys_make(&k2);
	memcpy(k2.server_sk, k.server_sk, 32);
	memcpy(k2.server_pk, k.server_pk, 32);
	other = seal_ts(&k2, NOW, nonce);
	json_object_unref(open_ok(seal, k2.machine_pk, other, NOW));

	/* past the window the old body is stale, and the nonce is free again */
	open_bytes_fails(seal, k.machine_pk, first, NOW + 121, WR_CONTROL_SEAL_ERROR_STALE, 400,
			 NULL);
	g_assert_cmpuint(wr_control_seal_replay_size(seal, NOW + 120), ==, 2);
	g_assert_cmpuint(wr_control_seal_replay_size(seal, NOW + 121), ==, 0);
	late = seal_ts(&k, NOW + 121, nonce);
	json_object_unref(open_ok(seal, k.machine_pk, late, NOW + 121));
	g_assert_cmpuint(wr_control_seal_replay_size_for(seal, k.machine_pk, NOW + 121), ==, 1);
	/* a body with ts ahead is remembered until ts + 120 */
	g_assert_cmpuint(wr_control_seal_replay_size(seal, NOW + 241), ==, 1);
	g_assert_cmpuint(wr_control_seal_replay_size(seal, NOW + 242), ==, 0);
	/* a long jump empties the wheel */
	g_assert_cmpuint(wr_control_seal_replay_size(seal, NOW + 100000), ==, 0);
}

static void
test_cache_bounds(void)
{
	Keys k[4];
	g_autoptr(WrControlSeal) seal = NULL;

	for (guint i = 0; i < G_N_ELEMENTS(k); i++) {
		keys_make(&k[i]);
		if (i > 0) {
			memcpy(k[i].server_sk, k[0].server_sk, 32);
			memcpy(k[i].server_pk, k[0].server_pk, 32);
		}
	}
	/* 4 nonces in all, 2 per machine */
	seal = wr_control_seal_new(k[0].server_sk, 4, 2);
	for (guint i = 0; i < 2; i++) {
		g_autoptr(GBytes) req = seal_ts(&k[0], NOW, NULL);

		json_object_unref(open_ok(seal, k[0].machine_pk, req, NOW));
	}
	{
		g_autoptr(GBytes) req = seal_ts(&k[0], NOW, NULL);

		open_bytes_fails(seal, k[0].machine_pk, req, NOW,
				 WR_CONTROL_SEAL_ERROR_RATE_LIMITED, 429,
				 "too many requests from this machine key (2 in 240 s), try again "
				 "later");
	}
	for (guint i = 1; i < 3; i++) {
		g_autoptr(GBytes) req = seal_ts(&k[i], NOW + 1, NULL);

		json_object_unref(open_ok(seal, k[i].machine_pk, req, NOW + 1));
	}
	g_assert_cmpuint(wr_control_seal_replay_size(seal, NOW + 1), ==, 4);
	/* full: refused, and nothing forgotten */
	{
		g_autoptr(GBytes) req = seal_ts(&k[3], NOW + 1, NULL);

		open_bytes_fails(seal, k[3].machine_pk, req, NOW + 1, WR_CONTROL_SEAL_ERROR_BUSY,
				 503, "replay cache full (4 nonces), try again later");
		g_assert_cmpuint(wr_control_seal_replay_size(seal, NOW + 1), ==, 4);
		/* once machine 0's nonces expire (ts NOW + 120), there is room */
		g_assert_cmpuint(wr_control_seal_replay_size(seal, NOW + 121), ==, 2);
		g_assert_cmpuint(wr_control_seal_replay_size_for(seal, k[0].machine_pk, NOW + 121),
				 ==, 0);
	}
	{
		g_autoptr(GBytes) req = seal_ts(&k[3], NOW + 121, NULL);

		json_object_unref(open_ok(seal, k[3].machine_pk, req, NOW + 121));
	}
	/* 0 means the defaults */
	{
		g_autoptr(WrControlSeal) dflt = wr_control_seal_new(k[0].server_sk, 0, 0);
		g_assert_nonnull(dflt);
	}
}

static void
test_size_limit(void)
{
	Keys k;
	g_autoptr(WrControlSeal) seal = NULL;
	gsize plain_len = WR_CONTROL_SEAL_MAX_BODY - WR_CONTROL_SEAL_OVERHEAD;
	g_autoptr(GString) json = g_string_new("{\"ts\":1800000000,\"pad\":\"");
	g_autoptr(GBytes) max = NULL;
	g_autoptr(GBytes) over = NULL;
	g_autofree guint8 *big = g_malloc0(WR_CONTROL_SEAL_MAX_BODY + 1);

	keys_make(&k);
	seal = wr_control_seal_new(k.server_sk, 0, 0);
	while (json->len < plain_len - 2)
		g_string_append_c(json, 'x');
	g_string_append(json, "\"}");
	g_assert_cmpuint(json->len, ==, plain_len);
	max = seal_request(&k, json->str, NULL);
	g_assert_cmpuint(g_bytes_get_size(max), ==, WR_CONTROL_SEAL_MAX_BODY);
	json_object_unref(open_ok(seal, k.machine_pk, max, NOW));

	g_string_insert_c(json, 20, 'x');
	over = seal_request(&k, json->str, NULL);
	open_bytes_fails(seal, k.machine_pk, over, NOW, WR_CONTROL_SEAL_ERROR_TOO_LARGE, 413,
			 "sealed body of 1048577 bytes is over the limit of 1048576 bytes");
	/* checked before anything else: junk over the limit is 413, not 400 */
	open_fails(seal, k.machine_pk, big, WR_CONTROL_SEAL_MAX_BODY + 1, NOW,
		   WR_CONTROL_SEAL_ERROR_TOO_LARGE, 413, NULL);
}

static void
test_fields(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) obj = NULL;
	g_autofree char *nk = NULL;
	g_autofree char *json = NULL;
	uint8_t key[32];
	uint8_t got[32];
	const char *s = "default";
	gint64 i = -7;
	gboolean b = TRUE;
	JsonObject *o = NULL;
	JsonArray *a = NULL;

	memset(key, 0xab, sizeof(key));
	nk = wr_key_to_text(WR_KEY_KIND_NODE, key);
	json = g_strdup_printf("{\"ts\":1,\"node_key\":\"%s\",\"old_node_key\":\"\",\"s\":\"x\","
			       "\"n\":null,\"b\":false,\"i\":-5,\"f\":1.5,\"o\":{},\"a\":[],"
			       "\"bad_key\":\"mkey:%s\"}",
			       nk, nk + strlen("nodekey:"));
	obj = wr_control_parse_object(json, strlen(json), &error);
	g_assert_no_error(error);

	/* present */
	g_assert_true(wr_control_field_key(obj, "node_key", WR_KEY_KIND_NODE, TRUE, got, &error));
	g_assert_cmpmem(got, 32, key, 32);
	g_assert_true(wr_control_field_string(obj, "s", TRUE, &s, &error));
	g_assert_cmpstr(s, ==, "x");
	g_assert_true(wr_control_field_bool(obj, "b", TRUE, &b, &error));
	g_assert_false(b);
	g_assert_true(wr_control_field_int(obj, "i", TRUE, &i, &error));
	g_assert_cmpint(i, ==, -5);
	g_assert_true(wr_control_field_object(obj, "o", TRUE, &o, &error));
	g_assert_nonnull(o);
	g_assert_true(wr_control_field_array(obj, "a", TRUE, &a, &error));
	g_assert_nonnull(a);
	g_assert_no_error(error);

	/* optional and absent, null or "" for a key: untouched */
	memset(got, 0, sizeof(got));
	s = "default";
	i = 42;
	g_assert_true(
		wr_control_field_key(obj, "old_node_key", WR_KEY_KIND_NODE, FALSE, got, &error));
	g_assert_true(wr_key_is_zero(got));
	g_assert_true(wr_control_field_string(obj, "absent", FALSE, &s, &error));
	g_assert_true(wr_control_field_string(obj, "n", FALSE, &s, &error));
	g_assert_cmpstr(s, ==, "default");
	g_assert_true(wr_control_field_int(obj, "absent", FALSE, &i, &error));
	g_assert_cmpint(i, ==, 42);
	g_assert_no_error(error);

	/* missing and mistyped, named */
#define FAILS(call, code, expect)                                                  \
	do {                                                                       \
		g_assert_false(call);                                              \
		g_assert_error(error, WR_CONTROL_SEAL_ERROR, code);                \
		g_assert_cmpstr(error->message, ==, expect);                       \
		g_assert_cmpuint(wr_control_seal_http_status_for(error), ==, 400); \
		g_clear_error(&error);                                             \
	} while (0)
	FAILS(wr_control_field_key(obj, "machine_key", WR_KEY_KIND_NODE, TRUE, got, &error),
	      WR_CONTROL_SEAL_ERROR_MISSING_FIELD, "missing required field machine_key");
	FAILS(wr_control_field_key(obj, "old_node_key", WR_KEY_KIND_NODE, TRUE, got, &error),
	      WR_CONTROL_SEAL_ERROR_BAD_FIELD,
	      "field old_node_key must be nodekey: followed by 64 lowercase hex digits");
	FAILS(wr_control_field_key(obj, "bad_key", WR_KEY_KIND_NODE, FALSE, got, &error),
	      WR_CONTROL_SEAL_ERROR_BAD_FIELD,
	      "field bad_key must be nodekey: followed by 64 lowercase hex digits");
	FAILS(wr_control_field_key(obj, "i", WR_KEY_KIND_NODE, FALSE, got, &error),
	      WR_CONTROL_SEAL_ERROR_BAD_FIELD, "field i must be a string");
	FAILS(wr_control_field_string(obj, "node_key_x", TRUE, &s, &error),
	      WR_CONTROL_SEAL_ERROR_MISSING_FIELD, "missing required field node_key_x");
	FAILS(wr_control_field_string(obj, "n", TRUE, &s, &error),
	      WR_CONTROL_SEAL_ERROR_MISSING_FIELD, "missing required field n");
	FAILS(wr_control_field_string(obj, "i", FALSE, &s, &error), WR_CONTROL_SEAL_ERROR_BAD_FIELD,
	      "field i must be a string");
	FAILS(wr_control_field_int(obj, "f", TRUE, &i, &error), WR_CONTROL_SEAL_ERROR_BAD_FIELD,
	      "field f must be an integer");
	FAILS(wr_control_field_int(obj, "s", TRUE, &i, &error), WR_CONTROL_SEAL_ERROR_BAD_FIELD,
	      "field s must be an integer");
	FAILS(wr_control_field_int_range(obj, "i", TRUE, 0, 10, &i, &error),
	      WR_CONTROL_SEAL_ERROR_BAD_FIELD, "field i is -5, outside [0, 10]");
	FAILS(wr_control_field_bool(obj, "i", TRUE, &b, &error), WR_CONTROL_SEAL_ERROR_BAD_FIELD,
	      "field i must be true or false");
	FAILS(wr_control_field_object(obj, "a", TRUE, &o, &error), WR_CONTROL_SEAL_ERROR_BAD_FIELD,
	      "field a must be an object");
	FAILS(wr_control_field_array(obj, "o", TRUE, &a, &error), WR_CONTROL_SEAL_ERROR_BAD_FIELD,
	      "field o must be an array");
#undef FAILS
	/* failures left the outputs alone */
	g_assert_cmpint(i, ==, 42);
	g_assert_cmpstr(s, ==, "default");
	g_assert_true(wr_key_is_zero(got));
}

static void
test_path(void)
{
	uint8_t key[32];
	uint8_t got[32];
	char hex[65];
	g_autofree char *verb = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *path = NULL;
	g_autofree char *upper = NULL;
	const char *bad[] = {
		"/machine/",
		"/machine//register",
		"/machines/00/register",
		"/machine/abc/register",
		"/key",
		"",
	};

	memset(key, 0x5c, sizeof(key));
	wr_key_to_hex(hex, key);
	path = g_strdup_printf("/machine/%s/register", hex);
	g_assert_true(wr_control_parse_machine_path(path, got, &verb, &error));
	g_assert_no_error(error);
	g_assert_cmpmem(got, 32, key, 32);
	g_assert_cmpstr(verb, ==, "register");
	g_assert_true(wr_control_parse_mkey_segment(hex, 64, got, &error));
	upper = g_ascii_strup(hex, -1);
	g_assert_true(wr_control_parse_mkey_segment(upper, 64, got, &error));
	g_assert_cmpmem(got, 32, key, 32);
	g_assert_false(wr_control_parse_mkey_segment(hex, 63, got, &error));
	g_assert_error(error, WR_CONTROL_SEAL_ERROR, WR_CONTROL_SEAL_ERROR_BAD_PATH);
	g_assert_cmpstr(error->message, ==, "machine key in the path is not 64 hex digits");
	g_clear_error(&error);

	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		char *v = NULL;

		g_assert_false(wr_control_parse_machine_path(bad[i], got, &v, &error));
		g_assert_error(error, WR_CONTROL_SEAL_ERROR, WR_CONTROL_SEAL_ERROR_BAD_PATH);
		g_assert_null(v);
		g_clear_error(&error);
	}
	{
		const char *verbs[] = {"", "map/extra", "Map", "map?x=1",
				       "mapmapmapmapmapmapmapmapmapmapmap"};

		for (gsize i = 0; i < G_N_ELEMENTS(verbs); i++) {
			g_autofree char *p = g_strdup_printf("/machine/%s/%s", hex, verbs[i]);
			char *v = NULL;

			g_assert_false(wr_control_parse_machine_path(p, got, &v, &error));
			g_assert_error(error, WR_CONTROL_SEAL_ERROR,
				       WR_CONTROL_SEAL_ERROR_BAD_PATH);
			g_assert_null(v);
			g_clear_error(&error);
		}
	}
	g_assert_false(wr_control_parse_machine_path(NULL, got, &verb, &error));
	g_clear_error(&error);
}

static void
test_http_status(void)
{
	struct {
		int code;
		guint status;
	} cases[] = {
		{WR_CONTROL_SEAL_ERROR_BAD_PATH, 400},
		{WR_CONTROL_SEAL_ERROR_BAD_SEAL, 400},
		{WR_CONTROL_SEAL_ERROR_BAD_JSON, 400},
		{WR_CONTROL_SEAL_ERROR_MISSING_FIELD, 400},
		{WR_CONTROL_SEAL_ERROR_BAD_FIELD, 400},
		{WR_CONTROL_SEAL_ERROR_STALE, 400},
		{WR_CONTROL_SEAL_ERROR_REPLAYED, 400},
		{WR_CONTROL_SEAL_ERROR_TOO_LARGE, 413},
		{WR_CONTROL_SEAL_ERROR_RATE_LIMITED, 429},
		{WR_CONTROL_SEAL_ERROR_BUSY, 503},
		{999, 500},
	};
	g_autoptr(GError) other = g_error_new_literal(g_quark_from_static_string("other"), 1, "x");

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++)
		g_assert_cmpuint(wr_control_seal_error_http_status(cases[i].code), ==,
				 cases[i].status);
	g_assert_cmpuint(wr_control_seal_http_status_for(other), ==, 500);
	g_assert_cmpuint(wr_control_seal_http_status_for(NULL), ==, 500);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_assert_true(wr_crypto_init());
	g_test_add_func("/warren/control-seal/roundtrip", test_roundtrip);
	g_test_add_func("/warren/control-seal/response-node", test_response_node);
	g_test_add_func("/warren/control-seal/known-layout", test_known_layout);
	g_test_add_func("/warren/control-seal/wrong-key", test_wrong_key);
	g_test_add_func("/warren/control-seal/truncated", test_truncated);
	g_test_add_func("/warren/control-seal/tampered", test_tampered);
	g_test_add_func("/warren/control-seal/ts-window", test_ts_window);
	g_test_add_func("/warren/control-seal/ts-field", test_ts_field);
	g_test_add_func("/warren/control-seal/json-shape", test_json_shape);
	g_test_add_func("/warren/control-seal/replay", test_replay);
	g_test_add_func("/warren/control-seal/cache-bounds", test_cache_bounds);
	g_test_add_func("/warren/control-seal/size-limit", test_size_limit);
	g_test_add_func("/warren/control-seal/fields", test_fields);
	g_test_add_func("/warren/control-seal/path", test_path);
	g_test_add_func("/warren/control-seal/http-status", test_http_status);
	return g_test_run();
}
