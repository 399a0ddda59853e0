/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * warrend's control client (engine/control/wr-control-conn) against the real warren-control on
 * loopback, with a SQLite store in a temporary directory.  A second node is played by the
 * blocking test client (tests/lib/wr-control-client).  Register with a pre-auth key, the full
 * map, a peer appearing, its endpoint patch, online/offline and removal as netmap-changed
 * signals, our own endpoint update seen by the peer, node-key rotation, the server killed and
 * restarted (offline with the map kept, backoff, resume), the watchdog, a refused node, and
 * interactive register returning an auth URL with a held follow-up.
 */
#include "config.h"

#include <signal.h>
#include <string.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "wr-control-client.h"
#include "wr-control-conn.h"
#include "wr-crypto.h"
#include "wr-key.h"
#include "wr-store.h"
#include "wr-test-control.h"
#include "wr-test-proc.h"

#define WAIT_MS 10000

/* ---- the async client, driven from the test's main loop ---- */

typedef struct {
	WrControlConn *conn;
	GPtrArray
		*events; /* "added:5", "removed:5", "changed:5", "online:5", "offline:5", "self" */
	GAsyncResult *result;
} Node;

static void
netmap_changed_cb(WrControlConn *conn, const WrNetmapChanges *c, gpointer user_data)
{
	Node *n = user_data;

	for (guint i = 0; i < c->added->len; i++)
		g_ptr_array_add(n->events, g_strdup_printf("added:%" G_GINT64_FORMAT,
							   g_array_index(c->added, gint64, i)));
	for (guint i = 0; i < c->removed->len; i++)
		g_ptr_array_add(
			n->events,
			g_strdup_printf("removed:%" G_GINT64_FORMAT,
					((WrNetmapNode *) g_ptr_array_index(c->removed, i))->id));
	for (guint i = 0; i < c->changed->len; i++)
		g_ptr_array_add(n->events, g_strdup_printf("changed:%" G_GINT64_FORMAT,
							   g_array_index(c->changed, gint64, i)));
	for (guint i = 0; i < c->online->len; i++)
		g_ptr_array_add(n->events, g_strdup_printf("online:%" G_GINT64_FORMAT,
							   g_array_index(c->online, gint64, i)));
	for (guint i = 0; i < c->offline->len; i++)
		g_ptr_array_add(n->events, g_strdup_printf("offline:%" G_GINT64_FORMAT,
							   g_array_index(c->offline, gint64, i)));
	if (c->self_changed)
		g_ptr_array_add(n->events, g_strdup("self"));
}

static void
node_init(Node *n, Ctl *c)
{
	uint8_t machine[WR_CRYPTO_KEY_LEN], node[WR_CRYPTO_KEY_LEN], disco[WR_CRYPTO_KEY_LEN];
	uint8_t pub[WR_CRYPTO_KEY_LEN];
	g_autoptr(GError) error = NULL;
	WrControlTiming timing;

	memset(n, 0, sizeof(*n));
	wr_x25519_generate(machine, pub);
	wr_x25519_generate(node, pub);
	wr_x25519_generate(disco, pub);
	n->conn = wr_control_conn_new(c->url, machine, node, pub, &error);
	g_assert_no_error(error);
	wr_memzero(machine, sizeof(machine));
	wr_memzero(node, sizeof(node));
	wr_control_timing_defaults(&timing);
	timing.backoff_min_ms = 200;
	timing.backoff_max_ms = 1600;
	timing.request_timeout_ms = 5000;
	wr_control_conn_set_timing(n->conn, &timing);
	n->events = g_ptr_array_new_with_free_func(g_free);
	g_signal_connect(n->conn, "netmap-changed", G_CALLBACK(netmap_changed_cb), n);
}

static void
node_clear(Node *n)
{
	wr_control_conn_stop(n->conn);
	g_clear_object(&n->conn);
	g_ptr_array_unref(n->events);
	g_clear_object(&n->result);
	/* let cancelled operations finish */
	while (g_main_context_iteration(NULL, FALSE))
		;
}

typedef gboolean (*Pred)(Node *n, gconstpointer data);

static void
wait_for(Node *n, Pred pred, gconstpointer data, const char *what)
{
	gint64 deadline = g_get_monotonic_time() + WAIT_MS * 1000;

	while (!pred(n, data)) {
		if (g_get_monotonic_time() > deadline)
			g_error("timed out waiting for %s (state %s, last error %s)", what,
				wr_control_state_to_string(wr_control_conn_get_state(n->conn)),
				wr_control_conn_get_last_error(n->conn));
		g_main_context_iteration(NULL, FALSE);
		g_usleep(1000);
	}
}

static gboolean
in_state(Node *n, gconstpointer data)
{
	return (gint) wr_control_conn_get_state(n->conn) == GPOINTER_TO_INT(data);
}

static void
wait_state(Node *n, WrControlState state)
{
	wait_for(n, in_state, GINT_TO_POINTER(state), wr_control_state_to_string(state));
}

/* an event was seen; it and everything before it are consumed */
static gboolean
saw_event(Node *n, gconstpointer data)
{
	for (guint i = 0; i < n->events->len; i++)
		if (g_str_equal(g_ptr_array_index(n->events, i), data)) {
			g_ptr_array_remove_range(n->events, 0, i + 1);
			return TRUE;
		}
	return FALSE;
}

static void
wait_event(Node *n, const char *kind, gint64 id)
{
	g_autofree char *ev = g_strdup_printf("%s:%" G_GINT64_FORMAT, kind, id);

	wait_for(n, saw_event, ev, ev);
}

static void
result_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Node *n = user_data;

	n->result = g_object_ref(res);
}

static gboolean
has_result(Node *n, gconstpointer data)
{
	return n->result != NULL;
}

static GAsyncResult *
wait_result(Node *n)
{
	GAsyncResult *res;

	wait_for(n, has_result, NULL, "an async result");
	res = n->result;
	n->result = NULL;
	return res;
}

static void
node_register(Node *n, const char *key)
{
	g_autoptr(GAsyncResult) res = NULL;
	g_autoptr(WrControlRegister) reg = NULL;
	g_autoptr(GError) error = NULL;

	wr_control_conn_register_async(n->conn, key, NULL, result_cb, n);
	res = wait_result(n);
	reg = wr_control_conn_register_finish(n->conn, res, &error);
	g_assert_no_error(error);
	g_assert_true(reg->machine_authorized);
	g_assert_cmpstr(reg->auth_url, ==, "");
	g_assert_cmpint(reg->node_key_expiry, >, g_get_real_time() / G_USEC_PER_SEC);
}

/* ---- the blocking test client as the other node ---- */

/* the id of the peer with this node key in the netmap, or 0 */
static gint64
peer_id_by_key(WrNetmap *nm, const uint8_t *node_key)
{
	g_autoptr(GPtrArray) peers = wr_netmap_get_peers(nm);

	for (guint i = 0; i < peers->len; i++) {
		const WrNetmapNode *p = g_ptr_array_index(peers, i);

		if (memcmp(p->node_key, node_key, WR_CRYPTO_KEY_LEN) == 0)
			return p->id;
	}
	return 0;
}

static gboolean
has_peer_key(Node *n, gconstpointer key)
{
	return peer_id_by_key(wr_control_conn_get_netmap(n->conn), key) != 0;
}

static char *
first_endpoint(const WrNetmapNode *p)
{
	char text[WR_ENDPOINT_STRLEN];

	if (p == NULL || p->endpoints->len == 0)
		return g_strdup("");
	wr_endpoint_format(&g_array_index(p->endpoints, WrEndpoint, 0), text);
	return g_strdup(text);
}

/* a frame from the blocking client's stream that patches or changes peer id's member */
static gboolean
frame_mentions(JsonObject *frame, gint64 id, const char *member, const char *text)
{
	const char *const lists[] = {"peers_patch", "peers_changed"};

	for (guint l = 0; l < G_N_ELEMENTS(lists); l++) {
		JsonArray *arr = json_object_has_member(frame, lists[l])
					 ? json_object_get_array_member(frame, lists[l])
					 : NULL;

		for (guint i = 0; arr != NULL && i < json_array_get_length(arr); i++) {
			JsonObject *p = json_array_get_object_element(arr, i);
			JsonNode *m = json_object_get_member(p, member);
			g_autofree char *s = NULL;

			if (json_object_get_int_member(p, "id") != id || m == NULL)
				continue;
			s = json_to_string(m, FALSE);
			if (strstr(s, text) != NULL)
				return TRUE;
		}
	}
	return FALSE;
}

/* reads the blocking stream (running our main loop in between) until a frame matches */
static void
wait_stream_frame(Node *n, WrControlStream *s, gint64 id, const char *member, const char *text)
{
	gint64 deadline = g_get_monotonic_time() + WAIT_MS * 1000;

	while (g_get_monotonic_time() < deadline) {
		g_autoptr(GError) error = NULL;
		g_autoptr(JsonObject) f = wr_control_stream_next(s, 50, &error);

		if (f == NULL) {
			g_assert_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
			while (g_main_context_iteration(NULL, FALSE))
				;
			continue;
		}
		if (frame_mentions(f, id, member, text))
			return;
	}
	g_error("the peer's stream never showed %s %s of node %" G_GINT64_FORMAT, member, text, id);
}

static void
test_register_and_stream(void)
{
	Ctl c;
	Node n;
	g_autofree char *key = NULL;
	g_autoptr(WrControlClient) b = NULL;
	g_autoptr(WrControlStream) sb = NULL;
	g_autoptr(JsonObject) fb = NULL;
	g_autoptr(GError) error = NULL;
	const WrNetmapNode *self, *peer;
	gint64 bid, self_id;

	ctl_init(&c, NULL);
	ctl_start(&c);
	key = ctl_make_key(&c, TRUE, FALSE, NULL, 0);
	node_init(&n, &c);
	g_assert_cmpint(wr_control_conn_get_state(n.conn), ==, WR_CONTROL_STATE_STOPPED);
	node_register(&n, key);
	{
		const char *const addrs[] = {"192.0.2.7:41641", NULL};
		const char *const types[] = {"local", NULL};

		wr_control_conn_set_endpoints(n.conn, addrs, types);
	}
	wr_control_conn_start(n.conn);
	wait_state(&n, WR_CONTROL_STATE_CONNECTED);
	g_assert_null(wr_control_conn_dup_health(n.conn));
	g_assert_null(wr_control_conn_get_last_error(n.conn));
	self = wr_netmap_get_self(wr_control_conn_get_netmap(n.conn));
	g_assert_nonnull(self);
	self_id = self->id;
	g_assert_cmpmem(self->node_key, WR_CRYPTO_KEY_LEN, wr_control_conn_get_node_public(n.conn),
			WR_CRYPTO_KEY_LEN);
	g_assert_cmpuint(self->addresses->len, ==, 2);
	{
		g_autofree char *ep = first_endpoint(self);

		g_assert_cmpstr(ep, ==, "192.0.2.7:41641");
	}
	g_assert_true(self->online);
	g_assert_cmpuint(wr_netmap_get_n_peers(wr_control_conn_get_netmap(n.conn)), ==, 0);
	g_assert_nonnull(wr_netmap_get_derp_map(wr_control_conn_get_netmap(n.conn)));
	g_assert_cmpstr(wr_netmap_get_dns(wr_control_conn_get_netmap(n.conn))->domain, ==,
			"tailnet.test");
	g_assert_nonnull(wr_netmap_get_packet_filter(wr_control_conn_get_netmap(n.conn)));

	/* a second node registers: it appears as a delta */
	b = ctl_join(&c, key, "bee");
	wait_for(&n, has_peer_key, wr_control_client_node_public(b), "the second node");
	bid = peer_id_by_key(wr_control_conn_get_netmap(n.conn), wr_control_client_node_public(b));
	wait_event(&n, "added", bid);
	peer = wr_netmap_lookup_peer(wr_control_conn_get_netmap(n.conn), bid);
	g_assert_cmpstr(peer->hostname, ==, "bee");
	g_assert_false(peer->online);

	/* it opens its stream with an endpoint: online, then endpoints */
	{
		const char *const eps[] = {"198.51.100.9:41641", NULL};
		g_autoptr(JsonObject) req = wr_control_client_map_request(b, eps, TRUE, NULL);

		sb = wr_control_client_map_stream(b, req, &error);
		g_assert_no_error(error);
		fb = wr_control_stream_next(sb, WAIT_MS, &error);
		g_assert_no_error(error);
	}
	wait_event(&n, "online", bid);
	peer = wr_netmap_lookup_peer(wr_control_conn_get_netmap(n.conn), bid);
	{
		g_autofree char *ep = first_endpoint(peer);

		g_assert_cmpstr(ep, ==, "198.51.100.9:41641");
	}
	/* an endpoint patch */
	{
		const char *const eps[] = {"203.0.113.5:5555", NULL};
		g_autoptr(JsonObject) req = wr_control_client_map_request(b, eps, FALSE, NULL);
		g_autoptr(JsonObject) resp = wr_control_client_call(b, "map", req, &error);

		g_assert_no_error(error);
		g_assert_nonnull(resp);
	}
	wait_event(&n, "changed", bid);
	peer = wr_netmap_lookup_peer(wr_control_conn_get_netmap(n.conn), bid);
	{
		g_autofree char *ep = first_endpoint(peer);

		g_assert_cmpstr(ep, ==, "203.0.113.5:5555");
	}
	/* our own endpoint update reaches the peer */
	{
		const char *const addrs[] = {"203.0.113.77:41641", NULL};

		wr_control_conn_set_endpoints(n.conn, addrs, NULL);
	}
	wait_stream_frame(&n, sb, self_id, "endpoints", "203.0.113.77:41641");
	/* a burst of updates, each with the home region changing too: the peer ends on the last
	 * endpoints, never on an older set that happened to reach the server after it */
	for (guint i = 1; i <= 12; i++) {
		g_autofree char *addr = g_strdup_printf("203.0.113.%u:41641", 100 + i);
		const char *const addrs[] = {addr, NULL};

		wr_control_conn_set_home_region(n.conn, 900 + i % 2);
		wr_control_conn_set_endpoints(n.conn, addrs, NULL);
	}
	wait_stream_frame(&n, sb, self_id, "endpoints", "203.0.113.112:41641");
	{
		gint64 until = g_get_monotonic_time() + 700 * 1000;

		while (g_get_monotonic_time() < until) {
			g_autoptr(GError) e = NULL;
			g_autoptr(JsonObject) f = wr_control_stream_next(sb, 50, &e);

			if (f == NULL) {
				g_assert_error(e, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
				while (g_main_context_iteration(NULL, FALSE))
					;
				continue;
			}
			if (frame_mentions(f, self_id, "endpoints", "203.0.113.1") &&
			    !frame_mentions(f, self_id, "endpoints", "203.0.113.112:41641"))
				g_error("an older endpoint update arrived after the last one");
		}
	}

	/* the peer's stream ends: offline */
	g_clear_pointer(&sb, wr_control_stream_free);
	wait_event(&n, "offline", bid);

	/* it logs out: removed */
	{
		g_autoptr(JsonObject) req = wr_control_client_register_request(b, NULL, "bee");
		g_autoptr(JsonObject) resp = NULL;

		json_object_set_boolean_member(req, "logout", TRUE);
		resp = wr_control_client_call(b, "register", req, &error);
		g_assert_no_error(error);
	}
	wait_event(&n, "removed", bid);
	g_assert_null(wr_netmap_lookup_peer(wr_control_conn_get_netmap(n.conn), bid));
	g_assert_cmpint(wr_control_conn_get_state(n.conn), ==, WR_CONTROL_STATE_CONNECTED);
	g_assert_cmpuint(wr_control_conn_get_streams(n.conn), ==, 1);

	node_clear(&n);
	ctl_clear(&c);
}

/* the peer sees our rotated key; our stream comes back with it */
static void
test_rotation(void)
{
	Ctl c;
	Node n;
	g_autofree char *key = NULL;
	g_autoptr(WrControlClient) b = NULL;
	g_autoptr(WrControlStream) sb = NULL;
	g_autoptr(JsonObject) fb = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GAsyncResult) res = NULL;
	g_autoptr(WrControlRegister) reg = NULL;
	uint8_t new_priv[WR_CRYPTO_KEY_LEN], new_pub[WR_CRYPTO_KEY_LEN];
	g_autofree char *new_text = NULL;
	gint64 self_id;

	ctl_init(&c, NULL);
	ctl_start(&c);
	key = ctl_make_key(&c, TRUE, FALSE, NULL, 0);
	node_init(&n, &c);
	node_register(&n, key);
	wr_control_conn_start(n.conn);
	wait_state(&n, WR_CONTROL_STATE_CONNECTED);
	self_id = wr_netmap_get_self(wr_control_conn_get_netmap(n.conn))->id;
	b = ctl_join(&c, key, "bee");
	{
		g_autoptr(JsonObject) req = wr_control_client_map_request(b, NULL, TRUE, NULL);

		sb = wr_control_client_map_stream(b, req, &error);
		g_assert_no_error(error);
		fb = wr_control_stream_next(sb, WAIT_MS, &error);
		g_assert_no_error(error);
	}
	wr_x25519_generate(new_priv, new_pub);
	new_text = wr_key_to_text(WR_KEY_KIND_NODE, new_pub);
	wr_control_conn_rotate_node_key_async(n.conn, new_priv, NULL, result_cb, &n);
	wr_memzero(new_priv, sizeof(new_priv));
	res = wait_result(&n);
	reg = wr_control_conn_rotate_node_key_finish(n.conn, res, &error);
	g_assert_no_error(error);
	g_assert_true(reg->machine_authorized);
	g_assert_cmpmem(wr_control_conn_get_node_public(n.conn), WR_CRYPTO_KEY_LEN, new_pub,
			WR_CRYPTO_KEY_LEN);
	wait_stream_frame(&n, sb, self_id, "node_key", new_text);
	wait_state(&n, WR_CONTROL_STATE_CONNECTED);
	{
		gint64 deadline = g_get_monotonic_time() + WAIT_MS * 1000;

		while (wr_control_conn_get_streams(n.conn) < 2 && g_get_monotonic_time() < deadline)
			g_main_context_iteration(NULL, TRUE);
		g_assert_cmpuint(wr_control_conn_get_streams(n.conn), ==, 2);
	}
	wait_state(&n, WR_CONTROL_STATE_CONNECTED);
	g_assert_cmpmem(wr_netmap_get_self(wr_control_conn_get_netmap(n.conn))->node_key,
			WR_CRYPTO_KEY_LEN, new_pub, WR_CRYPTO_KEY_LEN);
	g_assert_cmpuint(wr_control_conn_get_failures(n.conn), ==, 0);
	node_clear(&n);
	ctl_clear(&c);
}

typedef struct {
	guint failures;
	guint delay_ms;
} Retry;

static void
state_cb(GObject *obj, GParamSpec *pspec, gpointer user_data)
{
	WrControlConn *conn = WR_CONTROL_CONN(obj);
	GArray *retries = user_data;

	if (wr_control_conn_get_state(conn) == WR_CONTROL_STATE_OFFLINE) {
		Retry r = {wr_control_conn_get_failures(conn),
			   wr_control_conn_get_retry_delay(conn)};

		g_array_append_val(retries, r);
	}
}

static gboolean
enough_retries(Node *n, gconstpointer data)
{
	return ((const GArray *) data)->len >= 4;
}

/* the server dies: offline with the map kept and a growing backoff; it returns: resumed */
static void
test_restart(void)
{
	Ctl c;
	Node n;
	g_autofree char *key = NULL;
	g_autoptr(WrControlClient) b = NULL;
	g_autoptr(GArray) retries = g_array_new(FALSE, FALSE, sizeof(Retry));
	g_autofree char *health = NULL;
	gint64 bid, self_id;
	gulong id;

	ctl_init(&c, NULL);
	ctl_start(&c);
	key = ctl_make_key(&c, TRUE, FALSE, NULL, 0);
	node_init(&n, &c);
	node_register(&n, key);
	b = ctl_join(&c, key, "bee");
	wr_control_conn_start(n.conn);
	wait_state(&n, WR_CONTROL_STATE_CONNECTED);
	self_id = wr_netmap_get_self(wr_control_conn_get_netmap(n.conn))->id;
	bid = peer_id_by_key(wr_control_conn_get_netmap(n.conn), wr_control_client_node_public(b));
	g_assert_cmpint(bid, >, 0);
	g_ptr_array_set_size(n.events, 0);
	id = g_signal_connect(n.conn, "notify::state", G_CALLBACK(state_cb), retries);

	ctl_kill(&c);
	wait_state(&n, WR_CONTROL_STATE_OFFLINE);
	/* the map is kept, and the state says why */
	g_assert_true(wr_netmap_has_state(wr_control_conn_get_netmap(n.conn)));
	g_assert_cmpint(wr_netmap_get_self(wr_control_conn_get_netmap(n.conn))->id, ==, self_id);
	g_assert_nonnull(wr_netmap_lookup_peer(wr_control_conn_get_netmap(n.conn), bid));
	health = wr_control_conn_dup_health(n.conn);
	g_assert_nonnull(health);
	g_test_message("health: %s", health);
	g_assert_true(g_str_has_prefix(health, "control unreachable ("));
	g_assert_true(g_str_has_suffix(health, "; using the last network map"));
	/* failures 1, 2, 3, 4: each delay within [base/2, base], base = 200 ms doubling */
	wait_for(&n, enough_retries, retries, "four retries");
	for (guint i = 0; i < retries->len; i++) {
		Retry *r = &g_array_index(retries, Retry, i);
		guint base = MIN(200u << (r->failures - 1), 1600u);

		g_test_message("retry %u: failure %u, delay %u ms", i, r->failures, r->delay_ms);
		g_assert_cmpuint(r->failures, ==, i + 1);
		g_assert_cmpuint(r->delay_ms, >=, base / 2);
		g_assert_cmpuint(r->delay_ms, <=, base);
	}
	g_assert_cmpuint(n.events->len, ==, 0);
	/* an endpoint learnt while offline goes with the next stream request */
	{
		const char *const addrs[] = {"198.51.100.44:41641", NULL};

		wr_control_conn_set_endpoints(n.conn, addrs, NULL);
	}

	ctl_start(&c);
	wait_state(&n, WR_CONTROL_STATE_CONNECTED);
	g_signal_handler_disconnect(n.conn, id);
	g_assert_cmpuint(wr_control_conn_get_streams(n.conn), ==, 2);
	g_assert_null(wr_control_conn_dup_health(n.conn));
	g_assert_cmpint(wr_netmap_get_self(wr_control_conn_get_netmap(n.conn))->id, ==, self_id);
	g_assert_nonnull(wr_netmap_lookup_peer(wr_control_conn_get_netmap(n.conn), bid));
	{
		g_autofree char *ep =
			first_endpoint(wr_netmap_get_self(wr_control_conn_get_netmap(n.conn)));

		g_assert_cmpstr(ep, ==, "198.51.100.44:41641");
	}
	/* the peer was kept, so the full map after the restart does not add it again */
	{
		g_autofree char *added = g_strdup_printf("added:%" G_GINT64_FORMAT, bid);

		for (guint i = 0; i < n.events->len; i++)
			g_assert_cmpstr(g_ptr_array_index(n.events, i), !=, added);
	}
	/* and the resumed stream carries deltas again */
	{
		g_autoptr(WrControlClient) d = ctl_join(&c, key, "dee");

		wait_for(&n, has_peer_key, wr_control_client_node_public(d),
			 "a node after restart");
	}
	node_clear(&n);
	ctl_clear(&c);
}

static void
offline_error_cb(GObject *obj, GParamSpec *pspec, gpointer user_data)
{
	WrControlConn *conn = WR_CONTROL_CONN(obj);

	if (wr_control_conn_get_state(conn) == WR_CONTROL_STATE_OFFLINE)
		g_ptr_array_add(user_data, g_strdup(wr_control_conn_get_last_error(conn)));
}

/* no frame for longer than the watchdog allows: a new stream */
static void
test_watchdog(void)
{
	g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
	Ctl c;
	Node n;
	g_autofree char *key = NULL;
	WrControlTiming timing;
	gint64 deadline;

	ctl_init(&c, NULL);
	ctl_start(&c);
	key = ctl_make_key(&c, TRUE, FALSE, NULL, 0);
	node_init(&n, &c);
	wr_control_timing_defaults(&timing);
	timing.watchdog_ms = 700;
	timing.backoff_min_ms = 100;
	timing.backoff_max_ms = 200;
	wr_control_conn_set_timing(n.conn, &timing);
	node_register(&n, key);
	wr_control_conn_start(n.conn);
	wait_state(&n, WR_CONTROL_STATE_CONNECTED);
	/* the server's keep-alives come every 60 s: the watchdog fires first, more than once */
	g_signal_connect(n.conn, "notify::state", G_CALLBACK(offline_error_cb), errors);
	deadline = g_get_monotonic_time() + WAIT_MS * 1000;
	while (wr_control_conn_get_streams(n.conn) < 3 && g_get_monotonic_time() < deadline)
		g_main_context_iteration(NULL, TRUE);
	g_assert_cmpuint(wr_control_conn_get_streams(n.conn), >=, 3);
	g_assert_cmpuint(errors->len, >=, 2);
	for (guint i = 0; i < errors->len; i++)
		g_assert_cmpstr(g_ptr_array_index(errors, i), ==, "no map frame for 700 ms");
	g_assert_true(wr_netmap_has_state(wr_control_conn_get_netmap(n.conn)));
	node_clear(&n);
	ctl_clear(&c);
}

/* an unknown node: the stream is refused for good until it registers */
static void
test_needs_auth(void)
{
	Ctl c;
	Node n;
	g_autoptr(GAsyncResult) res = NULL;
	g_autoptr(WrControlRegister) reg = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *health = NULL;

	ctl_init(&c, NULL);
	ctl_start(&c);
	node_init(&n, &c);
	wr_control_conn_start(n.conn);
	wait_state(&n, WR_CONTROL_STATE_NEEDS_AUTH);
	g_assert_true(g_str_has_prefix(wr_control_conn_get_last_error(n.conn), "HTTP 403: "));
	health = wr_control_conn_dup_health(n.conn);
	g_assert_true(g_str_has_prefix(health, "control refused this node"));
	g_assert_cmpuint(wr_control_conn_get_failures(n.conn), ==, 0);

	/* a wrong auth key: refused with the server's reason */
	wr_control_conn_register_async(n.conn, "wrkey-nonsense", NULL, result_cb, &n);
	res = wait_result(&n);
	reg = wr_control_conn_register_finish(n.conn, res, &error);
	g_assert_null(reg);
	g_assert_error(error, WR_CONTROL_CONN_ERROR, WR_CONTROL_CONN_ERROR_REFUSED);
	g_test_message("refusal: %s", error->message);
	g_assert_true(g_str_has_prefix(error->message, "control refused the registration: "));
	g_clear_error(&error);

	/* then the right one, and the stream */
	{
		g_autofree char *key = ctl_make_key(&c, TRUE, FALSE, NULL, 0);

		node_register(&n, key);
	}
	wr_control_conn_start(n.conn);
	wait_state(&n, WR_CONTROL_STATE_CONNECTED);

	/* logout: the map is gone and the state says so */
	g_clear_object(&res);
	wr_control_conn_logout_async(n.conn, NULL, result_cb, &n);
	res = wait_result(&n);
	g_assert_true(wr_control_conn_logout_finish(n.conn, res, &error));
	g_assert_no_error(error);
	g_assert_cmpint(wr_control_conn_get_state(n.conn), ==, WR_CONTROL_STATE_NEEDS_AUTH);
	g_assert_false(wr_netmap_has_state(wr_control_conn_get_netmap(n.conn)));
	node_clear(&n);
	ctl_clear(&c);
}

/* interactive sign-in: an auth URL, and a follow-up that the server holds */
static void
test_interactive(void)
{
	Ctl c;
	Node n;
	g_autoptr(GAsyncResult) res = NULL;
	g_autoptr(WrControlRegister) reg = NULL;
	g_autoptr(WrControlRegister) again = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GCancellable) cancel = g_cancellable_new();
	g_autofree char *oidc = NULL;
	g_autofree char *prefix = NULL;
	gint64 t0;

	/* discovery is lazy: nothing needs to listen on the issuer until a browser comes */
	oidc = g_strdup_printf("[oidc]\nissuer = http://127.0.0.1:%u\nclient-id = warren\n"
			       "client-secret = s\n",
			       wr_test_free_port(SOCK_STREAM));
	ctl_init(&c, oidc);
	ctl_start(&c);
	node_init(&n, &c);
	wr_control_conn_register_async(n.conn, NULL, NULL, result_cb, &n);
	res = wait_result(&n);
	reg = wr_control_conn_register_finish(n.conn, res, &error);
	g_assert_no_error(error);
	g_assert_false(reg->machine_authorized);
	prefix = g_strdup_printf("%s/a/", c.url);
	g_test_message("auth URL: %s", reg->auth_url);
	g_assert_true(g_str_has_prefix(reg->auth_url, prefix));
	g_assert_cmpuint(strlen(reg->auth_url), ==, strlen(prefix) + 32);

	/* the same machine and key get the same URL back */
	g_clear_object(&res);
	wr_control_conn_register_async(n.conn, NULL, NULL, result_cb, &n);
	res = wait_result(&n);
	again = wr_control_conn_register_finish(n.conn, res, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(again->auth_url, ==, reg->auth_url);

	/* the follow-up is held while nobody signs in; a second one is refused as busy */
	g_clear_object(&res);
	t0 = g_get_monotonic_time();
	wr_control_conn_wait_login_async(n.conn, reg->auth_url, cancel, result_cb, &n);
	{
		gint64 until = t0 + 1500 * 1000;

		while (g_get_monotonic_time() < until) {
			g_main_context_iteration(NULL, FALSE);
			g_usleep(1000);
		}
	}
	g_assert_null(n.result);
	{
		g_autoptr(GAsyncResult) busy = NULL;
		g_autoptr(WrControlRegister) none = NULL;

		wr_control_conn_register_async(n.conn, NULL, NULL, result_cb, &n);
		busy = wait_result(&n);
		none = wr_control_conn_register_finish(n.conn, busy, &error);
		g_assert_null(none);
		g_assert_error(error, WR_CONTROL_CONN_ERROR, WR_CONTROL_CONN_ERROR_BUSY);
		g_clear_error(&error);
	}
	g_cancellable_cancel(cancel);
	res = wait_result(&n);
	g_assert_null(wr_control_conn_wait_login_finish(n.conn, res, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
	node_clear(&n);
	ctl_clear(&c);
}

/* https:// with a private CA: trusted through set_ca_file, refused without it */
static void
test_tls(void)
{
	const char *data = g_getenv("WARREN_TEST_DATA");
	g_autofree char *cert_path = g_build_filename(data, "derp-tls", "cert.pem", NULL);
	g_autofree char *key_path = g_build_filename(data, "derp-tls", "key.pem", NULL);
	g_autofree char *server_extra =
		g_strdup_printf("tls-cert = %s\ntls-key = %s\n", cert_path, key_path);
	g_autofree char *key = NULL;
	g_autofree char *https = NULL;
	g_autoptr(GError) error = NULL;
	CtlOptions opts = {.server = server_extra};
	Ctl c;
	Node n, untrusting;

	g_assert_nonnull(data);
	ctl_init_opts(&c, &opts);
	c.tls = TRUE;
	ctl_start(&c);
	key = ctl_make_key(&c, TRUE, FALSE, NULL, 0);
	https = g_strdup_printf("https://127.0.0.1:%u", c.port);
	g_free(c.url);
	c.url = g_strdup(https);

	node_init(&n, &c);
	g_assert_false(wr_control_conn_set_ca_file(n.conn, "/nonexistent/ca.pem", &error));
	g_assert_nonnull(error);
	g_assert_true(g_str_has_prefix(error->message, "control CA file /nonexistent/ca.pem: "));
	g_clear_error(&error);
	g_assert_true(wr_control_conn_set_ca_file(n.conn, cert_path, &error));
	g_assert_no_error(error);
	node_register(&n, key);
	wr_control_conn_start(n.conn);
	wait_state(&n, WR_CONTROL_STATE_CONNECTED);
	g_assert_nonnull(wr_netmap_get_self(wr_control_conn_get_netmap(n.conn)));

	/* the system trust store does not know the test certificate */
	node_init(&untrusting, &c);
	wr_control_conn_start(untrusting.conn);
	wait_state(&untrusting, WR_CONTROL_STATE_OFFLINE);
	g_test_message("untrusted: %s", wr_control_conn_get_last_error(untrusting.conn));
	g_assert_true(
		g_str_has_prefix(wr_control_conn_get_last_error(untrusting.conn), "GET /key: "));
	node_clear(&untrusting);
	node_clear(&n);
	ctl_clear(&c);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_assert_true(wr_crypto_init());
	signal(SIGPIPE, SIG_IGN);
	g_test_add_func("/warren/control-conn/register-and-stream", test_register_and_stream);
	g_test_add_func("/warren/control-conn/rotation", test_rotation);
	g_test_add_func("/warren/control-conn/restart", test_restart);
	g_test_add_func("/warren/control-conn/watchdog", test_watchdog);
	g_test_add_func("/warren/control-conn/needs-auth", test_needs_auth);
	g_test_add_func("/warren/control-conn/interactive", test_interactive);
	g_test_add_func("/warren/control-conn/tls", test_tls);
	return g_test_run();
}
