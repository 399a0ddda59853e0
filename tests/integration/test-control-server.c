/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * warren-control end to end on loopback: the real binary, a SQLite store in a temporary
 * directory, and simulated machines over the sealed protocol (tests/lib/wr-control-client).
 * Register with pre-auth keys and their refusals, map streams with deltas, key rotation,
 * logout, ephemeral nodes, a policy's visible peers and filters, keep-alives, replay and size
 * refusals, rate limits, and a restart that loses nothing.  Under with-postgres.sh
 * (WARREN_TEST_PG_DIR set) every case runs on a fresh PostgreSQL database instead.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libpq-fe.h>

#include "wr-control-client.h"
#include "wr-control-http.h"
#include "wr-control-seal.h"
#include "wr-crypto.h"
#include "wr-key.h"
#include "wr-store.h"
#include "wr-test-control.h"
#include "wr-test-proc.h"

#define FRAME_WAIT_MS 5000

/* a fresh database on the test's PostgreSQL; its store URL */
static char *
new_pg_database(const char *pg_dir)
{
	static guint n;
	g_autofree char *admin = g_strdup_printf("host=%s user=postgres dbname=postgres", pg_dir);
	g_autofree char *create =
		g_strdup_printf("CREATE DATABASE wr_control_%u_%u", getpid(), ++n);
	PGconn *conn = PQconnectdb(admin);
	PGresult *res;

	g_assert_cmpint(PQstatus(conn), ==, CONNECTION_OK);
	res = PQexec(conn, create);
	g_assert_cmpint(PQresultStatus(res), ==, PGRES_COMMAND_OK);
	PQclear(res);
	PQfinish(conn);
	return g_strdup_printf("postgres:host=%s user=postgres dbname=wr_control_%u_%u", pg_dir,
			       getpid(), n);
}

/*
 * The shared server (tests/lib/wr-test-control) on this test's backend: ephemeral nodes go
 * after a second, limits replaces the [limits] lines (NULL: register-burst = 1000), and the
 * server must stop cleanly at the end of every case.
 */
static void
ctl_init_limits(Ctl *c, const char *server, const char *limits)
{
	const char *pg_dir = g_getenv("WARREN_TEST_PG_DIR");
	g_autofree char *db_url = pg_dir != NULL ? new_pg_database(pg_dir) : NULL;
	CtlOptions opts = {
		.server = server,
		.network = "ephemeral-timeout = 1s\n",
		.limits = limits,
		.db_url = db_url,
	};

	ctl_init_opts(c, &opts);
	c->clean_stop = TRUE;
}

static void
ctl_init_plain(Ctl *c, const char *limits)
{
	ctl_init_limits(c, NULL, limits);
}

/* the same server on HTTPS; server names the certificate and key */
static void
ctl_init_tls(Ctl *c, const char *server)
{
	ctl_init_limits(c, server, NULL);
	c->tls = TRUE;
}

static WrControlStream *
open_stream(WrControlClient *client, const char *const *endpoints, JsonObject **out_full)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) req = wr_control_client_map_request(client, endpoints, TRUE, NULL);
	WrControlStream *s = wr_control_client_map_stream(client, req, &error);

	g_assert_no_error(error);
	*out_full = wr_control_stream_next(s, FRAME_WAIT_MS, &error);
	g_assert_no_error(error);
	g_assert_true(json_object_has_member(*out_full, "peers"));
	return s;
}

static char *
node_key_text(WrControlClient *client)
{
	return wr_key_to_text(WR_KEY_KIND_NODE, wr_control_client_node_public(client));
}

/* the peer in a list with this node key, or NULL */
static JsonObject *
find_peer(JsonArray *peers, const char *node_key)
{
	for (guint i = 0; peers != NULL && i < json_array_get_length(peers); i++) {
		JsonObject *p = json_array_get_object_element(peers, i);

		if (g_strcmp0(json_object_get_string_member(p, "node_key"), node_key) == 0)
			return p;
	}
	return NULL;
}

/* a map request from this machine is refused: not (or no longer) registered */
static void
assert_map_refused(WrControlClient *client)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) req = wr_control_client_map_request(client, NULL, FALSE, NULL);
	g_autoptr(JsonObject) resp = wr_control_client_call(client, "map", req, &error);

	g_assert_null(resp);
	g_assert_error(error, WR_CONTROL_CLIENT_HTTP_ERROR, 403);
}

typedef gboolean (*FramePred)(JsonObject *frame, gconstpointer data);

/* reads frames until one matches; fails the test after FRAME_WAIT_MS */
static JsonObject *
wait_frame(WrControlStream *s, FramePred pred, gconstpointer data)
{
	gint64 deadline = g_get_monotonic_time() + FRAME_WAIT_MS * 1000;

	while (g_get_monotonic_time() < deadline) {
		g_autoptr(GError) error = NULL;
		JsonObject *frame = wr_control_stream_next(
			s, (guint) MAX((deadline - g_get_monotonic_time()) / 1000, 1), &error);

		if (frame == NULL) {
			if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
				break;
			g_error("stream: %s", error->message);
		}
		{
			g_autoptr(JsonNode) n = json_node_new(JSON_NODE_OBJECT);
			g_autofree char *text = NULL;
			g_autofree char *esc = NULL;

			json_node_set_object(n, frame);
			text = json_to_string(n, FALSE);
			esc = g_strescape(text, NULL);
			g_test_message("frame: %.300s", esc);
		}
		if (pred(frame, data))
			return frame;
		json_object_unref(frame);
	}
	g_error("no matching frame within %d ms", FRAME_WAIT_MS);
	return NULL;
}

/* what a frame says of peer id: its patch, or the whole node when it changed more */
static JsonObject *
patch_for(JsonObject *frame, gint64 id)
{
	const char *const lists[] = {"peers_patch", "peers_changed"};

	for (guint l = 0; l < G_N_ELEMENTS(lists); l++) {
		JsonArray *arr = json_object_has_member(frame, lists[l])
					 ? json_object_get_array_member(frame, lists[l])
					 : NULL;

		for (guint i = 0; arr != NULL && i < json_array_get_length(arr); i++) {
			JsonObject *p = json_array_get_object_element(arr, i);

			if (json_object_get_int_member(p, "id") == id)
				return p;
		}
	}
	return NULL;
}

static gboolean
has_removed(JsonObject *frame, gconstpointer data)
{
	gint64 id = *(const gint64 *) data;
	JsonArray *removed = json_object_has_member(frame, "peers_removed")
				     ? json_object_get_array_member(frame, "peers_removed")
				     : NULL;

	for (guint i = 0; removed != NULL && i < json_array_get_length(removed); i++)
		if (json_array_get_int_element(removed, i) == id)
			return TRUE;
	return FALSE;
}

static gboolean
has_changed_key(JsonObject *frame, gconstpointer data)
{
	return json_object_has_member(frame, "peers_changed") &&
	       find_peer(json_object_get_array_member(frame, "peers_changed"), data) != NULL;
}

typedef struct {
	gint64 id;
	const char *member;
	const char *text; /* a string member's value, or the first element of an array member */
	gboolean boolean;
} PatchWant;

static gboolean
has_patch(JsonObject *frame, gconstpointer data)
{
	const PatchWant *want = data;
	JsonObject *p = patch_for(frame, want->id);
	JsonNode *m;

	if (p == NULL || !json_object_has_member(p, want->member))
		return FALSE;
	m = json_object_get_member(p, want->member);
	if (JSON_NODE_HOLDS_ARRAY(m)) {
		JsonArray *a = json_node_get_array(m);

		return json_array_get_length(a) > 0 &&
		       g_strcmp0(json_array_get_string_element(a, 0), want->text) == 0;
	}
	if (json_node_get_value_type(m) == G_TYPE_BOOLEAN)
		return json_node_get_boolean(m) == want->boolean;
	return g_strcmp0(json_node_get_string(m), want->text) == 0;
}

static gint64
self_id(JsonObject *full)
{
	return json_object_get_int_member(json_object_get_object_member(full, "node"), "id");
}

/* ---- cases -------------------------------------------------------------------------------------
 */

static void
test_register_and_stream(void)
{
	Ctl c;
	g_autofree char *key = NULL;
	g_autoptr(WrControlClient) a = NULL;
	g_autoptr(WrControlClient) b = NULL;
	g_autoptr(WrControlStream) sa = NULL;
	g_autoptr(WrControlStream) sb = NULL;
	g_autoptr(JsonObject) fa = NULL;
	g_autoptr(JsonObject) fb = NULL;
	g_autoptr(JsonObject) f = NULL;
	g_autofree char *kb = NULL;
	const char *const eps_a[] = {"192.0.2.1:41641", NULL};
	const char *const eps_b[] = {"198.51.100.7:41641", NULL};
	const char *const eps_b2[] = {"203.0.113.9:1234", NULL};
	JsonObject *node, *peer;
	gint64 id_b;

	ctl_init_plain(&c, NULL);
	ctl_start(&c);
	key = ctl_make_key(&c, TRUE, FALSE, NULL, 0);
	a = ctl_join(&c, key, "Alpha Laptop");
	b = ctl_join(&c, key, "alpha-laptop");

	sa = open_stream(a, eps_a, &fa);
	node = json_object_get_object_member(fa, "node");
	g_assert_cmpstr(json_object_get_string_member(node, "name"), ==, "alpha-laptop");
	g_assert_cmpstr(json_object_get_string_member(node, "dns_name"), ==,
			"alpha-laptop.tailnet.test.");
	g_assert_cmpstr(
		json_array_get_string_element(json_object_get_array_member(node, "addresses"), 0),
		==, "100.64.0.1/32");
	g_assert_true(json_object_has_member(fa, "derp_map"));
	g_assert_true(json_object_has_member(fa, "packet_filter"));
	g_assert_cmpstr(
		json_object_get_string_member(json_object_get_object_member(fa, "dns"), "domain"),
		==, "tailnet.test");
	kb = node_key_text(b);
	peer = find_peer(json_object_get_array_member(fa, "peers"), kb);
	g_assert_nonnull(peer);
	/* the second machine with the same host name gets a suffix, and the next address */
	g_assert_cmpstr(json_object_get_string_member(peer, "name"), ==, "alpha-laptop-2");
	g_assert_cmpstr(
		json_array_get_string_element(json_object_get_array_member(peer, "addresses"), 0),
		==, "100.64.0.2/32");
	g_assert_false(json_object_get_boolean_member(peer, "online"));
	id_b = json_object_get_int_member(peer, "id");

	/* b comes online: a hears it as a patch */
	sb = open_stream(b, eps_b, &fb);
	g_assert_cmpint(self_id(fb), ==, id_b);
	{
		PatchWant want = {id_b, "online", NULL, TRUE};

		f = wait_frame(sa, has_patch, &want);
		g_clear_pointer(&f, json_object_unref);
	}
	/* b's endpoints change: one patch with them */
	{
		g_autoptr(GError) error = NULL;
		g_autoptr(JsonObject) req = wr_control_client_map_request(b, eps_b2, FALSE, NULL);
		g_autoptr(JsonObject) resp = wr_control_client_call(b, "map", req, &error);
		PatchWant want = {id_b, "endpoints", "203.0.113.9:1234", FALSE};

		g_assert_no_error(error);
		g_assert_true(json_object_has_member(resp, "peers"));
		f = wait_frame(sa, has_patch, &want);
		g_clear_pointer(&f, json_object_unref);
	}
	/* warren-derp's admission check knows b's key, and not a stranger's */
	{
		g_autofree char *yes =
			g_strdup_printf("{\"NodePublic\":\"%s\",\"Source\":\"192.0.2.1\"}", kb);
		const char *no =
			"{\"NodePublic\":\"nodekey:"
			"0101010101010101010101010101010101010101010101010101010101010101\"}";
		g_autoptr(GBytes) r1 = NULL;
		g_autoptr(GBytes) r2 = NULL;
		g_autoptr(GBytes) r3 = NULL;
		g_autoptr(GError) error = NULL;
		guint status = 0;

		g_assert_true(wr_control_client_post_raw(a, "/verify", yes, strlen(yes), &status,
							 &r1, &error));
		g_assert_cmpuint(status, ==, 200);
		{
			g_autofree char *t =
				g_strndup(g_bytes_get_data(r1, NULL), g_bytes_get_size(r1));

			g_assert_cmpstr(t, ==, "{\"Allow\":true}");
		}
		g_assert_true(wr_control_client_post_raw(a, "/verify", no, strlen(no), &status, &r2,
							 &error));
		g_assert_cmpuint(status, ==, 200);
		{
			g_autofree char *t =
				g_strndup(g_bytes_get_data(r2, NULL), g_bytes_get_size(r2));

			g_assert_cmpstr(t, ==, "{\"Allow\":false}");
		}
		g_assert_true(
			wr_control_client_post_raw(a, "/verify", "{}", 2, &status, &r3, &error));
		g_assert_cmpuint(status, ==, 400);
	}
	/* b goes away: a sees it offline */
	g_clear_pointer(&sb, wr_control_stream_free);
	{
		PatchWant want = {id_b, "online", NULL, FALSE};

		f = wait_frame(sa, has_patch, &want);
		g_clear_pointer(&f, json_object_unref);
	}
	ctl_clear(&c);
}

static void
test_rotation_and_logout(void)
{
	Ctl c;
	g_autofree char *key = NULL;
	g_autoptr(WrControlClient) a = NULL;
	g_autoptr(WrControlClient) b = NULL;
	g_autoptr(WrControlStream) sa = NULL;
	g_autoptr(JsonObject) fa = NULL;
	g_autoptr(JsonObject) f = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *old_key = NULL;
	g_autofree char *new_key = NULL;
	gint64 id_b;

	ctl_init_plain(&c, NULL);
	ctl_start(&c);
	key = ctl_make_key(&c, TRUE, FALSE, NULL, 0);
	a = ctl_join(&c, key, "a");
	b = ctl_join(&c, key, "b");
	sa = open_stream(a, NULL, &fa);
	old_key = node_key_text(b);
	id_b = json_object_get_int_member(
		find_peer(json_object_get_array_member(fa, "peers"), old_key), "id");

	/* rotation: signed by the machine key, no auth key, no sign-in */
	wr_control_client_new_node_key(b);
	new_key = node_key_text(b);
	{
		g_autoptr(JsonObject) req = wr_control_client_register_request(b, NULL, "b");
		g_autoptr(JsonObject) resp = NULL;
		PatchWant want = {id_b, "node_key", new_key, FALSE};

		json_object_set_string_member(req, "old_node_key", old_key);
		resp = wr_control_client_call(b, "register", req, &error);
		g_assert_no_error(error);
		g_assert_true(json_object_get_boolean_member(resp, "machine_authorized"));
		f = wait_frame(sa, has_patch, &want);
		g_clear_pointer(&f, json_object_unref);
	}
	/* a rotation from a key that is not the current one is refused */
	{
		g_autofree char *wrong_new = NULL;
		g_autoptr(JsonObject) req = wr_control_client_register_request(b, NULL, "b");
		g_autoptr(JsonObject) resp = NULL;

		json_object_set_string_member(req, "old_node_key", old_key);
		wr_control_client_new_node_key(b);
		wrong_new = node_key_text(b);
		json_object_set_string_member(req, "node_key", wrong_new);
		resp = wr_control_client_call(b, "register", req, &error);
		g_assert_no_error(error);
		g_assert_false(json_object_get_boolean_member(resp, "machine_authorized"));
		g_assert_nonnull(
			strstr(json_object_get_string_member(resp, "error"), "old_node_key"));
	}
	/* the old node key no longer maps */
	{
		g_autoptr(JsonObject) req = wr_control_client_map_request(b, NULL, FALSE, NULL);
		g_autoptr(JsonObject) resp = NULL;

		json_object_set_string_member(req, "node_key", old_key);
		resp = wr_control_client_call(b, "map", req, &error);
		g_assert_null(resp);
		g_assert_error(error, WR_CONTROL_CLIENT_HTTP_ERROR, 403);
		g_clear_error(&error);
	}
	/* logout with the current key: b leaves a's map */
	{
		g_autoptr(JsonObject) req = wr_control_client_register_request(b, NULL, "b");
		g_autoptr(JsonObject) resp = NULL;

		json_object_set_string_member(req, "node_key", new_key);
		json_object_set_boolean_member(req, "logout", TRUE);
		resp = wr_control_client_call(b, "register", req, &error);
		g_assert_no_error(error);
		g_assert_false(json_object_get_boolean_member(resp, "machine_authorized"));
		g_assert_true(json_object_get_boolean_member(resp, "node_key_expired"));
		f = wait_frame(sa, has_removed, &id_b);
		g_clear_pointer(&f, json_object_unref);
	}
	ctl_clear(&c);
}

static void
test_authkey_refusals(void)
{
	Ctl c;
	g_autofree char *one_off = NULL;
	g_autofree char *expired = NULL;
	g_autoptr(WrControlClient) a = NULL;
	g_autoptr(WrControlClient) b = NULL;
	g_autoptr(WrControlClient) d = NULL;
	g_autoptr(WrControlClient) e = NULL;
	g_autoptr(JsonObject) r1 = NULL;
	g_autoptr(JsonObject) r2 = NULL;
	g_autoptr(JsonObject) r3 = NULL;
	g_autoptr(JsonObject) r4 = NULL;

	ctl_init_plain(&c, NULL);
	ctl_start(&c);
	one_off = ctl_make_key(&c, FALSE, FALSE, NULL, 0);
	expired = ctl_make_key(&c, TRUE, FALSE, NULL, g_get_real_time() / G_USEC_PER_SEC - 10);
	a = ctl_join(&c, one_off, "first");
	b = ctl_client_new(&c);
	r1 = ctl_register(b, one_off, "second");
	g_assert_false(json_object_get_boolean_member(r1, "machine_authorized"));
	g_assert_cmpstr(json_object_get_string_member(r1, "error"), ==, "auth key already used");
	d = ctl_client_new(&c);
	r2 = ctl_register(d, expired, "third");
	g_assert_cmpstr(json_object_get_string_member(r2, "error"), ==, "auth key expired");
	e = ctl_client_new(&c);
	r3 = ctl_register(e,
			  "wrkey-0000000000000000-000000000000000000000000000000000000000000000000",
			  "fourth");
	g_assert_cmpstr(json_object_get_string_member(r3, "error"), ==, "unknown auth key");
	/* no key and no sign-in configured */
	r4 = ctl_register(e, NULL, "fourth");
	g_assert_false(json_object_get_boolean_member(r4, "machine_authorized"));
	g_assert_nonnull(strstr(json_object_get_string_member(r4, "error"), "auth key"));
	/* a machine that never registered cannot map */
	assert_map_refused(e);
	ctl_clear(&c);
}

static void
test_ephemeral(void)
{
	Ctl c;
	g_autofree char *key = NULL;
	g_autofree char *eph_key = NULL;
	g_autoptr(WrControlClient) a = NULL;
	g_autoptr(WrControlClient) b = NULL;
	g_autoptr(WrControlStream) sa = NULL;
	g_autoptr(WrControlStream) sb = NULL;
	g_autoptr(JsonObject) fa = NULL;
	g_autoptr(JsonObject) fb = NULL;
	g_autoptr(JsonObject) f = NULL;
	g_autofree char *kb = NULL;
	gint64 id_b;

	ctl_init_plain(&c, NULL);
	ctl_start(&c);
	key = ctl_make_key(&c, TRUE, FALSE, NULL, 0);
	eph_key = ctl_make_key(&c, TRUE, TRUE, NULL, 0);
	a = ctl_join(&c, key, "a");
	sa = open_stream(a, NULL, &fa);
	b = ctl_join(&c, eph_key, "ci-runner");
	kb = node_key_text(b);
	f = wait_frame(sa, has_changed_key, kb);
	id_b = json_object_get_int_member(
		find_peer(json_object_get_array_member(f, "peers_changed"), kb), "id");
	g_clear_pointer(&f, json_object_unref);
	sb = open_stream(b, NULL, &fb);
	g_clear_pointer(&sb, wr_control_stream_free);
	/* offline for ephemeral-timeout (1 s): deleted */
	f = wait_frame(sa, has_removed, &id_b);
	g_clear_pointer(&f, json_object_unref);
	assert_map_refused(b);
	ctl_clear(&c);
}

/* an ephemeral node stays ephemeral across a restart, and goes without ever streaming */
static void
test_ephemeral_restart(void)
{
	Ctl c;
	g_autofree char *eph_key = NULL;
	g_autoptr(WrControlClient) b = NULL;
	g_autoptr(GError) error = NULL;

	ctl_init_plain(&c, "register-burst = 1000\n");
	/* long enough that the restart comes first */
	{
		g_autofree char *text = NULL;
		g_autofree char *slow = NULL;
		g_auto(GStrv) parts = NULL;

		g_assert_true(g_file_get_contents(c.conf, &text, NULL, NULL));
		parts = g_strsplit(text, "ephemeral-timeout = 1s", -1);
		slow = g_strjoinv("ephemeral-timeout = 3s", parts);
		g_assert_true(g_file_set_contents(c.conf, slow, -1, NULL));
	}
	ctl_start(&c);
	eph_key = ctl_make_key(&c, TRUE, TRUE, NULL, 0);
	b = ctl_join(&c, eph_key, "ci-runner");
	ctl_stop(&c);
	ctl_start(&c);
	{
		g_autoptr(JsonObject) req = wr_control_client_map_request(b, NULL, FALSE, NULL);
		g_autoptr(JsonObject) resp = wr_control_client_call(b, "map", req, &error);

		/* still there right after the restart */
		g_assert_no_error(error);
		g_assert_nonnull(resp);
	}
	g_usleep(4500 * 1000);
	assert_map_refused(b);
	ctl_clear(&c);
}

static void
test_policy(void)
{
	/* servers see nothing but each other on 22; laptops reach servers */
	static const char policy[] = "// who may reach whom\n"
				     "{\n"
				     "  \"tagOwners\": {\"tag:server\": [], \"tag:laptop\": []},\n"
				     "  \"acls\": [\n"
				     "    {\"action\": \"accept\", \"src\": [\"tag:laptop\"], "
				     "\"dst\": [\"tag:server:22\"]},\n"
				     "  ],\n"
				     "}\n";
	const char *const server_tags[] = {"tag:server", NULL};
	const char *const laptop_tags[] = {"tag:laptop", NULL};
	Ctl c;
	g_autofree char *skey = NULL;
	g_autofree char *lkey = NULL;
	g_autoptr(WrControlClient) s1 = NULL;
	g_autoptr(WrControlClient) s2 = NULL;
	g_autoptr(WrControlClient) l1 = NULL;
	g_autoptr(WrControlStream) ss = NULL;
	g_autoptr(WrControlStream) ls = NULL;
	g_autoptr(JsonObject) fs = NULL;
	g_autoptr(JsonObject) fl = NULL;
	g_autofree char *k_s2 = NULL;
	g_autofree char *k_l1 = NULL;
	g_autofree char *k_s1 = NULL;
	JsonArray *filter;

	ctl_init_plain(&c, NULL);
	{
		g_autoptr(GError) error = NULL;
		g_autoptr(WrStore) store = wr_store_open(c.db_url, &error);
		g_autoptr(WrStorePolicy) p = NULL;

		g_assert_no_error(error);
		p = wr_store_policy_set(store, policy, "test", 1, &error);
		g_assert_no_error(error);
	}
	ctl_start(&c);
	skey = ctl_make_key(&c, TRUE, FALSE, server_tags, 0);
	lkey = ctl_make_key(&c, TRUE, FALSE, laptop_tags, 0);
	s1 = ctl_join(&c, skey, "s1");
	s2 = ctl_join(&c, skey, "s2");
	l1 = ctl_join(&c, lkey, "l1");
	k_s1 = node_key_text(s1);
	k_s2 = node_key_text(s2);
	k_l1 = node_key_text(l1);

	/* a server sees the laptop (it may be reached by it), not the other server */
	ss = open_stream(s1, NULL, &fs);
	g_assert_nonnull(find_peer(json_object_get_array_member(fs, "peers"), k_l1));
	g_assert_null(find_peer(json_object_get_array_member(fs, "peers"), k_s2));
	/* and its filter lets the laptop's address in on port 22 only */
	filter = json_object_get_array_member(fs, "packet_filter");
	g_assert_cmpuint(json_array_get_length(filter), ==, 1);
	{
		JsonObject *rule = json_array_get_object_element(filter, 0);
		JsonArray *src = json_object_get_array_member(rule, "src");
		JsonArray *dst = json_object_get_array_member(rule, "dst");
		JsonArray *ports;

		g_assert_cmpstr(json_array_get_string_element(src, 0), ==, "100.64.0.3/32");
		ports = json_object_get_array_member(json_array_get_object_element(dst, 0),
						     "ports");
		g_assert_cmpint(json_array_get_int_element(ports, 0), ==, 22);
		g_assert_cmpint(json_array_get_int_element(ports, 1), ==, 22);
	}
	/* the laptop sees both servers, and accepts nothing (no rule targets it) */
	ls = open_stream(l1, NULL, &fl);
	g_assert_nonnull(find_peer(json_object_get_array_member(fl, "peers"), k_s1));
	g_assert_nonnull(find_peer(json_object_get_array_member(fl, "peers"), k_s2));
	g_assert_cmpuint(json_array_get_length(json_object_get_array_member(fl, "packet_filter")),
			 ==, 0);
	ctl_clear(&c);
}

static gboolean
is_keep_alive(JsonObject *frame, gconstpointer data)
{
	return json_object_has_member(frame, "keep_alive") &&
	       json_object_get_boolean_member(frame, "keep_alive");
}

static void
test_keep_alive(void)
{
	Ctl c;
	g_autofree char *key = NULL;
	g_autoptr(WrControlClient) a = NULL;
	g_autoptr(WrControlStream) sa = NULL;
	g_autoptr(JsonObject) fa = NULL;
	g_autoptr(JsonObject) f = NULL;

	ctl_init_plain(&c, "keepalive-interval = 1s\n");
	ctl_start(&c);
	key = ctl_make_key(&c, TRUE, FALSE, NULL, 0);
	a = ctl_join(&c, key, "a");
	sa = open_stream(a, NULL, &fa);
	/* the tick runs every 5 s: within two of them */
	{
		gint64 t0 = g_get_monotonic_time();
		g_autoptr(GError) error = NULL;

		f = wr_control_stream_next(sa, 12000, &error);
		g_assert_no_error(error);
		g_assert_true(is_keep_alive(f, NULL));
		g_assert_cmpint(g_get_monotonic_time() - t0, <, 11 * G_USEC_PER_SEC);
	}
	ctl_clear(&c);
}

static void
test_replay_and_limits(void)
{
	Ctl c;
	g_autofree char *key = NULL;
	g_autoptr(WrControlClient) a = NULL;
	g_autoptr(JsonObject) req = NULL;
	g_autoptr(GBytes) sealed = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *path = NULL;
	guint status = 0;

	ctl_init_plain(&c, "register-per-minute = 1\nregister-burst = 3\n");
	ctl_start(&c);
	key = ctl_make_key(&c, TRUE, FALSE, NULL, 0);
	a = ctl_client_new(&c);
	req = wr_control_client_register_request(a, key, "a");
	sealed = wr_control_client_seal(a, req, &error);
	g_assert_no_error(error);
	path = wr_control_client_machine_path(a, "register");
	/* the same sealed body twice: the second is a replay */
	for (guint i = 0; i < 2; i++) {
		g_autoptr(GBytes) body = NULL;

		g_assert_true(wr_control_client_post_raw(a, path, g_bytes_get_data(sealed, NULL),
							 g_bytes_get_size(sealed), &status, &body,
							 &error));
		g_assert_no_error(error);
		if (i == 0) {
			g_assert_cmpuint(status, ==, 200);
		} else {
			g_assert_cmpuint(status, ==, 400);
			g_assert_nonnull(g_strstr_len(g_bytes_get_data(body, NULL),
						      g_bytes_get_size(body), "replayed"));
		}
	}
	/* a body over 1 MiB is refused before it is read */
	{
		gsize big = WR_CONTROL_SEAL_MAX_BODY + 1;
		g_autofree guint8 *junk = g_malloc0(big);
		g_autoptr(GBytes) body = NULL;
		g_autoptr(WrControlClient) b = ctl_client_new(&c);
		g_autofree char *map_path = wr_control_client_machine_path(b, "map");

		/* the connection may be cut while the body is still going out */
		if (wr_control_client_post_raw(b, map_path, junk, big, &status, &body, NULL))
			g_assert_cmpuint(status, ==, 413);
	}
	/* the third register call from this address is within the burst; the fourth is not */
	{
		g_autoptr(WrControlClient) d = ctl_client_new(&c);
		g_autofree char *p2 = wr_control_client_machine_path(d, "register");
		guint refused = 0;

		g_assert_no_error(error);
		for (guint i = 0; i < 3; i++) {
			g_autoptr(GBytes) b2 = NULL;
			g_autoptr(JsonObject) rr = wr_control_client_register_request(d, key, "d");
			g_autoptr(GBytes) sx = wr_control_client_seal(d, rr, &error);

			g_assert_true(wr_control_client_post_raw(d, p2, g_bytes_get_data(sx, NULL),
								 g_bytes_get_size(sx), &status, &b2,
								 &error));
			if (status == 429)
				refused++;
		}
		/* 2 earlier calls + 3 now against a burst of 3 */
		g_assert_cmpuint(refused, ==, 2);
	}
	ctl_clear(&c);
}

static void
test_restart_keeps_everything(void)
{
	Ctl c;
	g_autofree char *key = NULL;
	g_autoptr(WrControlClient) a = NULL;
	g_autoptr(WrControlClient) b = NULL;
	g_autoptr(JsonObject) before = NULL;
	g_autoptr(JsonObject) after = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *server_key = NULL;

	ctl_init_plain(&c, NULL);
	ctl_start(&c);
	key = ctl_make_key(&c, FALSE, FALSE, NULL, 0);
	a = ctl_join(&c, key, "a");
	{
		g_autofree char *k2 = ctl_make_key(&c, FALSE, FALSE, NULL, 0);

		b = ctl_join(&c, k2, "b");
	}
	{
		g_autoptr(JsonObject) req = wr_control_client_map_request(a, NULL, FALSE, NULL);

		before = wr_control_client_call(a, "map", req, &error);
		g_assert_no_error(error);
	}
	server_key = g_memdup2(wr_control_client_server_key(a), WR_CRYPTO_KEY_LEN);
	ctl_stop(&c);
	ctl_start(&c);
	{
		g_autoptr(WrControlClient) probe = ctl_client_new(&c);
		g_autoptr(JsonObject) req = wr_control_client_map_request(a, NULL, FALSE, NULL);
		g_autoptr(JsonObject) r = NULL;

		/* the same server key: clients need not learn it again */
		g_assert_cmpmem(wr_control_client_server_key(probe), WR_CRYPTO_KEY_LEN, server_key,
				WR_CRYPTO_KEY_LEN);
		after = wr_control_client_call(a, "map", req, &error);
		g_assert_no_error(error);
		/* still registered: register again answers authorized without a key */
		r = ctl_register(b, NULL, "b");
		g_assert_true(json_object_get_boolean_member(r, "machine_authorized"));
	}
	{
		JsonObject *n0 = json_object_get_object_member(before, "node");
		JsonObject *n1 = json_object_get_object_member(after, "node");
		JsonArray *p0 = json_object_get_array_member(before, "peers");
		JsonArray *p1 = json_object_get_array_member(after, "peers");

		g_assert_cmpint(json_object_get_int_member(n0, "id"), ==,
				json_object_get_int_member(n1, "id"));
		g_assert_cmpstr(json_array_get_string_element(
					json_object_get_array_member(n0, "addresses"), 1),
				==,
				json_array_get_string_element(
					json_object_get_array_member(n1, "addresses"), 1));
		g_assert_cmpuint(json_array_get_length(p0), ==, 1);
		g_assert_cmpuint(json_array_get_length(p1), ==, 1);
		g_assert_cmpstr(
			json_object_get_string_member(json_array_get_object_element(p0, 0), "name"),
			==,
			json_object_get_string_member(json_array_get_object_element(p1, 0),
						      "name"));
	}
	ctl_clear(&c);
}

static void
test_bad_config_refused(void)
{
	Ctl c;
	g_autoptr(GError) error = NULL;
	g_autofree char *err = NULL;
	int status = 0;
	const char *bin = g_getenv("WARREN_CONTROL");

	ctl_init_plain(&c, "register-burst = lots\n");
	g_assert_true(g_spawn_sync(
		NULL, (char *[]){(char *) bin, (char *) "serve", (char *) "--config", c.conf, NULL},
		NULL, 0, NULL, NULL, NULL, &err, &status, &error));
	g_assert_no_error(error);
	g_assert_false(g_spawn_check_wait_status(status, NULL));
	g_assert_nonnull(strstr(err, "register-burst"));
	g_assert_nonnull(strstr(err, "control.conf:13: [limits] register-burst"));
	ctl_clear(&c);
}

/* ---- flow records (docs/flow-logs.md) ----------------------------------------------------- */

static JsonObject *
flow_record(gint64 start, gint64 end, const char *remote, gint64 tx_bytes)
{
	JsonObject *o = json_object_new();

	json_object_set_int_member(o, "start", start);
	json_object_set_int_member(o, "end", end);
	json_object_set_string_member(o, "proto", "tcp");
	json_object_set_string_member(o, "local", "100.64.0.1:40000");
	json_object_set_string_member(o, "remote", remote);
	json_object_set_boolean_member(o, "outbound", TRUE);
	json_object_set_string_member(o, "peer", "b");
	json_object_set_int_member(o, "peer-id", 2);
	json_object_set_string_member(o, "path", "direct");
	json_object_set_string_member(o, "end-reason", "fin");
	json_object_set_int_member(o, "tx-packets", 820);
	json_object_set_int_member(o, "tx-bytes", tx_bytes);
	json_object_set_int_member(o, "rx-packets", 33);
	json_object_set_int_member(o, "rx-bytes", 1724);
	return o;
}

static JsonObject *
flows_request(WrControlClient *client, JsonObject *const *records, guint n)
{
	JsonObject *req = json_object_new();
	JsonArray *arr = json_array_new();
	g_autofree char *nk = node_key_text(client);

	json_object_set_int_member(req, "version", 1);
	json_object_set_string_member(req, "node_key", nk);
	for (guint i = 0; i < n; i++)
		json_array_add_object_element(arr, records[i]);
	json_object_set_array_member(req, "flows", arr);
	return req;
}

/* warren-control --config CONF --json audit flows ARGS...: its exit status, stdout, stderr */
static int
audit_flows(Ctl *c, const char *const *args, char **out, char **err)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autoptr(GError) error = NULL;
	int status = 0;

	g_ptr_array_add(argv, (char *) g_getenv("WARREN_CONTROL"));
	g_ptr_array_add(argv, (char *) "--config");
	g_ptr_array_add(argv, c->conf);
	g_ptr_array_add(argv, (char *) "--json");
	g_ptr_array_add(argv, (char *) "audit");
	g_ptr_array_add(argv, (char *) "flows");
	for (guint i = 0; args != NULL && args[i] != NULL; i++)
		g_ptr_array_add(argv, (char *) args[i]);
	g_ptr_array_add(argv, NULL);
	g_assert_true(g_spawn_sync(NULL, (char **) argv->pdata, NULL, 0, NULL, NULL, out, err,
				   &status, &error));
	g_assert_no_error(error);
	return g_spawn_check_wait_status(status, NULL) ? 0 : 1;
}

static JsonArray *
flows_of(const char *json, JsonNode **out_root)
{
	g_autoptr(GError) error = NULL;

	*out_root = json_from_string(json, &error);
	g_assert_no_error(error);
	return json_object_get_array_member(json_node_get_object(*out_root), "flows");
}

/* a node posts its flow records, the server keeps them, `audit flows` lists them by node and
 * time; bad records refuse the whole batch; with collect-flows off the server takes none */
static void
test_flows(void)
{
	Ctl c;
	g_autofree char *key = NULL;
	g_autoptr(WrControlClient) a = NULL;
	g_autoptr(WrControlClient) b = NULL;
	g_autoptr(JsonObject) req = NULL;
	g_autoptr(JsonObject) reply = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) root = NULL;
	g_autofree char *out = NULL;
	g_autofree char *err = NULL;
	gint64 now = g_get_real_time();
	JsonObject *recs[2];
	JsonArray *flows;
	JsonObject *f;
	const CtlOptions opts = {
		.network = "ephemeral-timeout = 1s\ncollect-flows = true\n",
		.db_url = NULL,
	};
	const char *pg_dir = g_getenv("WARREN_TEST_PG_DIR");
	g_autofree char *db_url = pg_dir != NULL ? new_pg_database(pg_dir) : NULL;
	CtlOptions o = opts;

	o.db_url = db_url;
	ctl_init_opts(&c, &o);
	c.clean_stop = TRUE;
	ctl_start(&c);
	key = ctl_make_key(&c, TRUE, FALSE, NULL, 0);
	a = ctl_join(&c, key, "a");
	b = ctl_join(&c, key, "b");

	recs[0] = flow_record(now - 2000000, now - 1000000, "100.64.0.2:22", 1042648);
	recs[1] = flow_record(now - 500000, now, "[fd7a:115c:a1e0::2]:443", 5);
	req = flows_request(a, recs, 2);
	reply = wr_control_client_call(a, "flows", req, &error);
	g_assert_no_error(error);
	g_assert_cmpint(json_object_get_int_member(reply, "stored"), ==, 2);
	g_clear_pointer(&req, json_object_unref);
	g_clear_pointer(&reply, json_object_unref);

	/* one bad record: the batch is refused, naming it */
	recs[0] = flow_record(now, now, "100.64.0.2:22", 1);
	recs[1] = flow_record(now, now - 1, "100.64.0.2:22", 1);
	req = flows_request(b, recs, 2);
	reply = wr_control_client_call(b, "flows", req, &error);
	g_assert_null(reply);
	g_assert_error(error, WR_CONTROL_CLIENT_HTTP_ERROR, 400);
	g_assert_nonnull(strstr(error->message, "flows[1]: field end is before start"));
	g_clear_error(&error);
	g_clear_pointer(&req, json_object_unref);
	recs[0] = flow_record(now, now, "not an address", 1);
	req = flows_request(b, recs, 1);
	reply = wr_control_client_call(b, "flows", req, &error);
	g_assert_error(error, WR_CONTROL_CLIENT_HTTP_ERROR, 400);
	g_assert_nonnull(strstr(error->message, "flows[0]: field remote is not ip:port"));
	g_clear_error(&error);
	g_clear_pointer(&req, json_object_unref);
	/* another machine's node key: refused */
	recs[0] = flow_record(now, now, "100.64.0.2:22", 1);
	req = flows_request(a, recs, 1);
	reply = wr_control_client_call(b, "flows", req, &error);
	g_assert_error(error, WR_CONTROL_CLIENT_HTTP_ERROR, 403);
	g_clear_error(&error);
	g_clear_pointer(&req, json_object_unref);

	/* audit flows: a's two records, oldest first, with the node's name */
	g_assert_cmpint(audit_flows(&c, NULL, &out, &err), ==, 0);
	flows = flows_of(out, &root);
	g_assert_cmpuint(json_array_get_length(flows), ==, 2);
	f = json_array_get_object_element(flows, 0);
	g_assert_cmpstr(json_object_get_string_member(f, "node"), ==, "a");
	g_assert_cmpint(json_object_get_int_member(f, "start"), ==, now - 2000000);
	g_assert_cmpint(json_object_get_int_member(f, "end"), ==, now - 1000000);
	g_assert_cmpstr(json_object_get_string_member(f, "remote"), ==, "100.64.0.2:22");
	g_assert_cmpint(json_object_get_int_member(f, "tx_bytes"), ==, 1042648);
	g_assert_cmpint(json_object_get_int_member(f, "rx_packets"), ==, 33);
	g_assert_cmpstr(json_object_get_string_member(f, "peer"), ==, "b");
	g_assert_cmpstr(json_object_get_string_member(f, "end_reason"), ==, "fin");
	g_assert_true(json_object_get_boolean_member(f, "outbound"));
	g_assert_cmpstr(
		json_object_get_string_member(json_array_get_object_element(flows, 1), "remote"),
		==, "[fd7a:115c:a1e0::2]:443");
	g_clear_pointer(&root, json_node_unref);
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&err, g_free);

	/* by node: b has none; since: only the newer one */
	g_assert_cmpint(audit_flows(&c, (const char *[]){"--node", "b", NULL}, &out, &err), ==, 0);
	flows = flows_of(out, &root);
	g_assert_cmpuint(json_array_get_length(flows), ==, 0);
	g_clear_pointer(&root, json_node_unref);
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&err, g_free);
	{
		g_autofree char *since = g_strdup_printf("%" G_GINT64_FORMAT, now / G_USEC_PER_SEC);

		g_assert_cmpint(audit_flows(&c,
					    (const char *[]){"--node", "a", "--since", since, NULL},
					    &out, &err),
				==, 0);
	}
	flows = flows_of(out, &root);
	g_assert_cmpuint(json_array_get_length(flows), ==, 1);
	g_clear_pointer(&root, json_node_unref);
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&err, g_free);
	/* an unknown node or user is an error, not an empty list */
	g_assert_cmpint(audit_flows(&c, (const char *[]){"--node", "nosuch", NULL}, &out, &err), ==,
			1);
	g_assert_nonnull(strstr(err, "there is no node nosuch"));
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&err, g_free);
	g_assert_cmpint(
		audit_flows(&c, (const char *[]){"--user", "nobody@example.com", NULL}, &out, &err),
		==, 1);
	g_assert_nonnull(strstr(err, "there is no user nobody@example.com"));
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&err, g_free);
	ctl_clear(&c);

	/* collect-flows off (the default): nothing is taken */
	ctl_init_plain(&c, NULL);
	ctl_start(&c);
	g_clear_pointer(&key, g_free);
	g_clear_pointer(&a, wr_control_client_free);
	key = ctl_make_key(&c, TRUE, FALSE, NULL, 0);
	a = ctl_join(&c, key, "a");
	recs[0] = flow_record(now, now, "100.64.0.2:22", 1);
	req = flows_request(a, recs, 1);
	reply = wr_control_client_call(a, "flows", req, &error);
	g_assert_null(reply);
	g_assert_error(error, WR_CONTROL_CLIENT_HTTP_ERROR, 403);
	g_assert_nonnull(strstr(error->message, "collect-flows is off"));
	ctl_clear(&c);
}

/* ---- TLS
 * ----------------------------------------------------------------------------------------- */

static gboolean
accept_test_cert_cb(GTlsConnection *conn, GTlsCertificate *peer, GTlsCertificateFlags errors,
		    gpointer user_data)
{
	/* the test's self-signed certificate, and no other */
	return g_tls_certificate_is_same(peer, user_data);
}

/* one HTTP/1.1 exchange over a fresh TLS connection; the reader has the answer (and, for
 * frames, the connection stays open in *out_tls for more) */
static WrControlHttpReader *
tls_exchange(guint16 port, GTlsCertificate *cert, const char *head, GBytes *body,
	     WrControlHttpBodyMode mode, GIOStream **out_tls)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GSocketClient) sc = g_socket_client_new();
	g_autoptr(GSocketConnection) tcp = NULL;
	g_autoptr(GIOStream) tls = NULL;
	g_autoptr(GSocketConnectable) id = g_network_address_new("127.0.0.1", port);
	WrControlHttpReader *reader = wr_control_http_reader_new(mode, 16 * 1024 * 1024, 0);
	gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

	tcp = g_socket_client_connect_to_host(sc, "127.0.0.1", port, NULL, &error);
	g_assert_no_error(error);
	tls = g_tls_client_connection_new(G_IO_STREAM(tcp), id, &error);
	g_assert_no_error(error);
	g_signal_connect(tls, "accept-certificate", G_CALLBACK(accept_test_cert_cb), cert);
	g_assert_true(g_tls_connection_handshake(G_TLS_CONNECTION(tls), NULL, &error));
	g_assert_no_error(error);
	g_assert_true(g_output_stream_write_all(g_io_stream_get_output_stream(tls), head,
						strlen(head), NULL, NULL, &error));
	if (body != NULL)
		g_assert_true(g_output_stream_write_all(
			g_io_stream_get_output_stream(tls), g_bytes_get_data(body, NULL),
			g_bytes_get_size(body), NULL, NULL, &error));
	g_assert_no_error(error);
	while (g_get_monotonic_time() < deadline) {
		guint8 buf[16384];
		gssize n;

		if (mode == WR_CONTROL_HTTP_BODY_WHOLE && wr_control_http_reader_body_done(reader))
			break;
		if (mode == WR_CONTROL_HTTP_BODY_FRAMES &&
		    wr_control_http_reader_frames_ready(reader) > 0)
			break;
		n = g_input_stream_read(g_io_stream_get_input_stream(tls), buf, sizeof(buf), NULL,
					&error);
		g_assert_no_error(error);
		if (n == 0) {
			g_assert_true(wr_control_http_reader_eof(reader, &error));
			break;
		}
		g_assert_true(wr_control_http_reader_feed(reader, buf, (gsize) n, &error));
		g_assert_no_error(error);
	}
	if (out_tls != NULL)
		*out_tls = g_steal_pointer(&tls);
	return reader;
}

static char *
post_head(const char *path, GBytes *body)
{
	return g_strdup_printf("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
			       "Content-Type: application/octet-stream\r\n"
			       "Content-Length: %" G_GSIZE_FORMAT "\r\nConnection: close\r\n\r\n",
			       path, g_bytes_get_size(body));
}

static void
test_tls(void)
{
	const char *data = g_getenv("WARREN_TEST_DATA");
	g_autofree char *cert_path = g_build_filename(data, "derp-tls", "cert.pem", NULL);
	g_autofree char *key_path = g_build_filename(data, "derp-tls", "key.pem", NULL);
	g_autofree char *extra =
		g_strdup_printf("tls-cert = %s\ntls-key = %s\n", cert_path, key_path);
	g_autoptr(GTlsCertificate) cert = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(WrControlClient) a = NULL;
	g_autofree char *key = NULL;
	uint8_t server_key[WR_CRYPTO_KEY_LEN];
	Ctl c;

	g_assert_nonnull(data);
	cert = g_tls_certificate_new_from_file(cert_path, &error);
	g_assert_no_error(error);
	ctl_init_tls(&c, extra);
	ctl_start(&c);
	key = ctl_make_key(&c, TRUE, FALSE, NULL, 0);

	/* the server key over TLS */
	{
		g_autoptr(WrControlHttpReader) r = tls_exchange(
			c.port, cert,
			"GET /key?v=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
			NULL, WR_CONTROL_HTTP_BODY_WHOLE, NULL);
		g_autoptr(GBytes) body = wr_control_http_reader_body(r);
		g_autofree char *text =
			g_strndup(g_bytes_get_data(body, NULL), g_bytes_get_size(body));
		g_autoptr(JsonObject) obj = wr_control_parse_object(text, strlen(text), &error);

		g_assert_cmpuint(wr_control_http_reader_status(r), ==, 200);
		g_assert_no_error(error);
		g_assert_true(wr_key_from_text(server_key, WR_KEY_KIND_MACHINE,
					       json_object_get_string_member(obj, "server_key")));
	}
	a = wr_control_client_new("http://127.0.0.1:1", &error);
	g_assert_no_error(error);
	wr_control_client_set_server_key(a, server_key);
	/* register and a map stream, both over TLS */
	{
		g_autoptr(JsonObject) req = wr_control_client_register_request(a, key, "secure");
		g_autoptr(GBytes) sealed = wr_control_client_seal(a, req, &error);
		g_autofree char *path = wr_control_client_machine_path(a, "register");
		g_autofree char *head = post_head(path, sealed);
		g_autoptr(WrControlHttpReader) r =
			tls_exchange(c.port, cert, head, sealed, WR_CONTROL_HTTP_BODY_WHOLE, NULL);
		g_autoptr(GBytes) body = wr_control_http_reader_body(r);
		g_autoptr(JsonObject) resp = NULL;

		g_assert_cmpuint(wr_control_http_reader_status(r), ==, 200);
		resp = wr_control_client_open(a, g_bytes_get_data(body, NULL),
					      g_bytes_get_size(body), &error);
		g_assert_no_error(error);
		g_assert_true(json_object_get_boolean_member(resp, "machine_authorized"));
	}
	{
		g_autoptr(JsonObject) req = wr_control_client_map_request(a, NULL, TRUE, NULL);
		g_autoptr(GBytes) sealed = wr_control_client_seal(a, req, &error);
		g_autofree char *path = wr_control_client_machine_path(a, "map");
		g_autofree char *head = post_head(path, sealed);
		g_autoptr(GIOStream) tls = NULL;
		g_autoptr(WrControlHttpReader) r =
			tls_exchange(c.port, cert, head, sealed, WR_CONTROL_HTTP_BODY_FRAMES, &tls);
		g_autoptr(GBytes) frame = NULL;
		g_autoptr(JsonObject) full = NULL;
		gsize len = 0;

		g_assert_cmpuint(wr_control_http_reader_status(r), ==, 200);
		g_assert_true(wr_control_http_reader_chunked(r));
		g_assert_true(wr_control_http_reader_pop_frame(r, &frame, &len));
		full = wr_control_client_open(a, g_bytes_get_data(frame, NULL),
					      g_bytes_get_size(frame), &error);
		g_assert_no_error(error);
		g_assert_cmpstr(json_object_get_string_member(
					json_object_get_object_member(full, "node"), "name"),
				==, "secure");
		g_io_stream_close(tls, NULL, NULL);
	}
	/* plain HTTP to the TLS port gets nowhere */
	{
		g_autoptr(WrControlClient) plain = wr_control_client_new(c.url, &error);

		wr_control_client_set_timeout(plain, 3000);
		g_assert_false(wr_control_client_fetch_key(plain, NULL));
	}
	ctl_clear(&c);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_assert_true(wr_crypto_init());
	signal(SIGPIPE, SIG_IGN);
	g_test_add_func("/warren/control-server/register-and-stream", test_register_and_stream);
	g_test_add_func("/warren/control-server/rotation-and-logout", test_rotation_and_logout);
	g_test_add_func("/warren/control-server/authkey-refusals", test_authkey_refusals);
	g_test_add_func("/warren/control-server/ephemeral", test_ephemeral);
	g_test_add_func("/warren/control-server/ephemeral-restart", test_ephemeral_restart);
	g_test_add_func("/warren/control-server/policy", test_policy);
	g_test_add_func("/warren/control-server/keep-alive", test_keep_alive);
	g_test_add_func("/warren/control-server/replay-and-limits", test_replay_and_limits);
	g_test_add_func("/warren/control-server/restart", test_restart_keeps_everything);
	g_test_add_func("/warren/control-server/bad-config", test_bad_config_refused);
	g_test_add_func("/warren/control-server/tls", test_tls);
	g_test_add_func("/warren/control-server/flows", test_flows);
	return g_test_run();
}
