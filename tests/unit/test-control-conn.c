/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The pure parts of wr-control-conn: the backoff numbers, the map stream's framing, and what
 * wr_control_conn_new accepts.  The client itself is tested against the real server in
 * tests/integration/test-control-conn.c.
 */

#define G_LOG_DOMAIN "WrControlConnTest"

#include "config.h"

#include <string.h>

#include "wr-control-conn.h"
#include "wr-crypto.h"

static void
test_backoff(void)
{
	static const struct {
		guint failures;
		guint32 random;
		guint want;
	} cases[] = {
		/* base 1000: [500, 1000] */
		{1, 0, 500},
		{1, 500, 1000},
		{1, 501, 500},
		{1, 0xffffffff, 500 + 0xffffffffu % 501},
		/* doubling */
		{2, 0, 1000},
		{2, 1000, 2000},
		{3, 0, 2000},
		{6, 0, 16000},
		{6, 16000, 32000},
		/* capped at 60 s from the 7th failure on, however many */
		{7, 0, 30000},
		{7, 30000, 60000},
		{40, 30000, 60000},
		{G_MAXUINT, 0, 30000},
		/* 0 failures is treated as the first */
		{0, 0, 500},
	};
	WrControlTiming t;

	wr_control_timing_defaults(&t);
	g_assert_cmpuint(t.backoff_min_ms, ==, 1000);
	g_assert_cmpuint(t.backoff_max_ms, ==, 60000);
	g_assert_cmpuint(t.watchdog_ms, ==, 120000);
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_test_message("case %u", i);
		g_assert_cmpuint(wr_control_backoff_ms(&t, cases[i].failures, cases[i].random), ==,
				 cases[i].want);
	}
	/* a random spread over the whole interval */
	{
		guint lo = G_MAXUINT, hi = 0;

		for (guint i = 0; i < 2000; i++) {
			guint d = wr_control_backoff_ms(&t, 3, wr_random_u32());

			lo = MIN(lo, d);
			hi = MAX(hi, d);
		}
		g_assert_cmpuint(lo, >=, 2000);
		g_assert_cmpuint(hi, <=, 4000);
		g_assert_cmpuint(hi - lo, >, 1500);
	}
	/* odd numbers: a max below the min caps at the max */
	t.backoff_min_ms = 300;
	t.backoff_max_ms = 100;
	g_assert_cmpuint(wr_control_backoff_ms(&t, 5, 0), ==, 50);
}

static GByteArray *
frames_text(const char *const *payloads)
{
	GByteArray *out = g_byte_array_new();

	for (guint i = 0; payloads[i] != NULL; i++) {
		guint32 n = (guint32) strlen(payloads[i]);
		guint8 len[4] = {n >> 24, n >> 16, n >> 8, n};

		g_byte_array_append(out, len, 4);
		g_byte_array_append(out, (const guint8 *) payloads[i], n);
	}
	return out;
}

static void
test_frames(void)
{
	const char *const payloads[] = {"a", "hello", "0123456789abcdef", "x", NULL};
	g_autoptr(GByteArray) wire = frames_text(payloads);

	/* split at every byte, and fed one byte at a time */
	for (guint cut = 0; cut <= wire->len + 1; cut++) {
		g_autoptr(WrControlFrames) fr = wr_control_frames_new(100);
		g_autoptr(GError) error = NULL;
		guint got = 0;
		gsize at = 0;

		while (at < wire->len) {
			gsize step = cut == wire->len + 1 ? 1
				     : at < cut		  ? cut - at
							  : wire->len - at;

			if (step == 0)
				step = wire->len - at;
			g_assert_true(wr_control_frames_feed(fr, wire->data + at, step, &error));
			g_assert_no_error(error);
			at += step;
			for (;;) {
				g_autoptr(GBytes) f = wr_control_frames_pop(fr);

				if (f == NULL)
					break;
				g_assert_cmpmem(g_bytes_get_data(f, NULL), g_bytes_get_size(f),
						payloads[got], strlen(payloads[got]));
				got++;
			}
		}
		g_assert_cmpuint(got, ==, 4);
		g_assert_cmpuint(wr_control_frames_pending(fr), ==, 0);
	}
}

static void
test_frames_bad(void)
{
	static const guint8 empty[] = {0, 0, 0, 0};
	static const guint8 big[] = {0, 0, 0, 101};
	static const guint8 ok_then_big[] = {0, 0, 0, 1, 'z', 0, 0, 1, 0};
	g_autoptr(GError) error = NULL;

	{
		g_autoptr(WrControlFrames) fr = wr_control_frames_new(100);

		g_assert_false(wr_control_frames_feed(fr, empty, sizeof(empty), &error));
		g_assert_error(error, WR_CONTROL_CONN_ERROR, WR_CONTROL_CONN_ERROR_PROTOCOL);
		g_assert_cmpstr(error->message, ==,
				"a map stream frame of 0 bytes (at least 1, at most 100)");
		g_clear_error(&error);
		/* failed for good */
		g_assert_false(wr_control_frames_feed(fr, "x", 1, &error));
		g_assert_cmpstr(error->message, ==, "the map stream already failed");
		g_clear_error(&error);
		g_assert_null(wr_control_frames_pop(fr));
	}
	{
		g_autoptr(WrControlFrames) fr = wr_control_frames_new(100);

		/* the length is judged as soon as its 4 bytes are in, before the data */
		g_assert_true(wr_control_frames_feed(fr, big, 3, &error));
		g_assert_false(wr_control_frames_feed(fr, big + 3, 1, &error));
		g_assert_cmpstr(error->message, ==,
				"a map stream frame of 101 bytes (at least 1, at most 100)");
		g_clear_error(&error);
	}
	{
		g_autoptr(WrControlFrames) fr = wr_control_frames_new(100);
		g_autoptr(GBytes) first = NULL;

		g_assert_true(wr_control_frames_feed(fr, ok_then_big, sizeof(ok_then_big), &error));
		first = wr_control_frames_pop(fr);
		g_assert_nonnull(first);
		g_assert_cmpuint(g_bytes_get_size(first), ==, 1);
		/* the next head is over the limit: nothing more comes out */
		g_assert_null(wr_control_frames_pop(fr));
		g_assert_false(wr_control_frames_feed(fr, "", 0, &error));
		g_clear_error(&error);
	}
}

static void
test_new(void)
{
	static const struct {
		const char *url;
		const char *error; /* NULL: accepted */
	} cases[] = {
		{"https://control.example.com", NULL},
		{"https://control.example.com:8443/", NULL},
		{"http://127.0.0.1:8080", NULL},
		{"http://[::1]:8080", NULL},
		{"http://localhost:1", NULL},
		{"http://control.example.com",
		 "control URL http://control.example.com: https:// is "
		 "required (http:// only to a loopback host)"},
		{"http://192.0.2.1", "control URL http://192.0.2.1: https:// is required (http:// "
				     "only to a loopback host)"},
		{"https://control.example.com/path",
		 "control URL https://control.example.com/path must be scheme://host[:port] only"},
		{"https://control.example.com?x=1",
		 "control URL https://control.example.com?x=1 must be scheme://host[:port] only"},
		{"https://user@control.example.com",
		 "control URL https://user@control.example.com must be scheme://host[:port] only"},
		{"ftp://control.example.com", "control URL ftp://control.example.com: https:// is "
					      "required (http:// only to a loopback host)"},
		{"not a url", "control URL not a url is not a URL"},
	};
	uint8_t machine[WR_CRYPTO_KEY_LEN], node[WR_CRYPTO_KEY_LEN], pub[WR_CRYPTO_KEY_LEN];
	uint8_t zero[WR_CRYPTO_KEY_LEN] = {0};

	wr_x25519_generate(machine, pub);
	wr_x25519_generate(node, pub);
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(WrControlConn) conn =
			wr_control_conn_new(cases[i].url, machine, node, pub, &error);

		g_test_message("case %u: %s", i, cases[i].url);
		if (cases[i].error == NULL) {
			g_assert_no_error(error);
			g_assert_nonnull(conn);
			g_assert_cmpint(wr_control_conn_get_state(conn), ==,
					WR_CONTROL_STATE_STOPPED);
			g_assert_null(wr_control_conn_dup_health(conn));
			g_assert_false(wr_netmap_has_state(wr_control_conn_get_netmap(conn)));
		} else {
			g_assert_null(conn);
			g_assert_error(error, WR_CONTROL_CONN_ERROR, WR_CONTROL_CONN_ERROR_INVALID);
			g_assert_cmpstr(error->message, ==, cases[i].error);
		}
	}
	/* the node public key is derived from the private one */
	{
		g_autoptr(GError) error = NULL;
		g_autoptr(WrControlConn) conn =
			wr_control_conn_new("https://c.example", machine, node, pub, &error);
		uint8_t want[WR_CRYPTO_KEY_LEN];

		g_assert_true(wr_x25519_public(want, node));
		g_assert_cmpmem(wr_control_conn_get_node_public(conn), WR_CRYPTO_KEY_LEN, want,
				WR_CRYPTO_KEY_LEN);
	}
	/* all-zero keys */
	for (guint which = 0; which < 3; which++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(WrControlConn) conn = wr_control_conn_new(
			"https://c.example", which == 0 ? zero : machine, which == 1 ? zero : node,
			which == 2 ? zero : pub, &error);

		g_assert_null(conn);
		g_assert_error(error, WR_CONTROL_CONN_ERROR, WR_CONTROL_CONN_ERROR_INVALID);
	}
	g_assert_cmpstr(wr_control_state_to_string(WR_CONTROL_STATE_OFFLINE), ==, "offline");
	wr_memzero(machine, sizeof(machine));
	wr_memzero(node, sizeof(node));
}

static void
count_cb(WrControlConn *conn, const WrNetmapChanges *c, gpointer user_data)
{
	*(guint *) user_data += c->added->len;
}

/* a saved map brings the peers back before control answers */
static void
test_restore(void)
{
	static const char saved[] =
		"{\"node\":{\"id\":1,\"node_key\":\"nodekey:"
		"0101010101010101010101010101010101010101010101010101010101010101\"},"
		"\"peers\":[{\"id\":2,\"name\":\"two\",\"node_key\":\"nodekey:"
		"0202020202020202020202020202020202020202020202020202020202020202\","
		"\"endpoints\":[\"192.0.2.2:41641\"]}],\"packet_filter\":[],\"control_time\":5}";
	uint8_t machine[WR_CRYPTO_KEY_LEN], node[WR_CRYPTO_KEY_LEN], pub[WR_CRYPTO_KEY_LEN];
	g_autoptr(GError) error = NULL;
	g_autoptr(WrControlConn) conn = NULL;
	g_autoptr(GBytes) json = g_bytes_new_static(saved, sizeof(saved) - 1);
	g_autoptr(GBytes) delta = g_bytes_new_static("{\"keep_alive\":true}", 19);
	g_autoptr(GBytes) again = NULL;
	guint added = 0;

	wr_x25519_generate(machine, pub);
	wr_x25519_generate(node, pub);
	conn = wr_control_conn_new("https://c.example", machine, node, pub, &error);
	g_assert_no_error(error);
	g_signal_connect(conn, "netmap-changed", G_CALLBACK(count_cb), &added);

	/* a delta is no saved map, and changes nothing */
	g_assert_false(wr_control_conn_restore_netmap(conn, delta, &error));
	g_assert_error(error, WR_NETMAP_ERROR, WR_NETMAP_ERROR_INVALID);
	g_clear_error(&error);
	g_assert_false(wr_netmap_has_state(wr_control_conn_get_netmap(conn)));

	g_assert_true(wr_control_conn_restore_netmap(conn, json, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(added, ==, 1);
	g_assert_nonnull(wr_netmap_lookup_peer(wr_control_conn_get_netmap(conn), 2));
	g_assert_cmpint(wr_netmap_get_control_time(wr_control_conn_get_netmap(conn)), ==, 5);
	/* the saved form of the restored map restores to the same */
	again = wr_netmap_to_json(wr_control_conn_get_netmap(conn));
	{
		g_autoptr(WrControlConn) other =
			wr_control_conn_new("https://c.example", machine, node, pub, &error);
		g_assert_true(wr_control_conn_restore_netmap(other, again, &error));
		g_assert_true(wr_netmap_equal(wr_control_conn_get_netmap(conn),
					      wr_control_conn_get_netmap(other)));
	}
	/* only while no map is held */
	g_assert_false(wr_control_conn_restore_netmap(conn, json, &error));
	g_assert_error(error, WR_CONTROL_CONN_ERROR, WR_CONTROL_CONN_ERROR_BUSY);
	g_assert_cmpint(wr_control_conn_get_state(conn), ==, WR_CONTROL_STATE_STOPPED);
	wr_memzero(machine, sizeof(machine));
	wr_memzero(node, sizeof(node));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_assert_true(wr_crypto_init());

	g_test_add_func("/warren/control-conn/backoff", test_backoff);
	g_test_add_func("/warren/control-conn/frames", test_frames);
	g_test_add_func("/warren/control-conn/frames-bad", test_frames_bad);
	g_test_add_func("/warren/control-conn/new", test_new);
	g_test_add_func("/warren/control-conn/restore", test_restore);
	return g_test_run();
}
