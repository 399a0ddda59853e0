/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * warrend's first milestone end to end, real parts only: a real warren-control on loopback
 * (SQLite, pre-auth keys made in its store), a private dbus-daemon, the real warrend on it
 * (--bus ADDRESS: polkit is not asked there), driven with the real warren CLI and read through
 * the generated proxy.  A second node is played by the blocking test client.
 *
 *   lifecycle     a refused auth key, in Health until the next sign-in; up with an auth key ->
 *                 Running; the other node in status --json; ip; down -> Stopped; restart with
 *                 want-running off and on, control down at the restart (the saved map
 *                 answers); logout -> NeedsLogin; PeerEvents added, online, offline
 *   interactive-login  Login: AuthURL from control, a second Login Busy, logout cancels it
 *   bad-arguments SetControlURL "ftp://x" (D-Bus and CLI), SetPrefs with an unknown key, a
 *                 wrong type, a bad value beside a good one, an empty auth key, Ping count 0:
 *                 InvalidArgument naming it, prefs.conf unchanged; not yet implemented methods
 *                 say so
 *   corrupt-prefs a prefs.conf that does not parse is set aside and reported in Health
 */
#include "config.h"

#include <signal.h>
#include <string.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "wr-dbus-engine.h"
#include "wr-dbus-error.h"
#include "wr-test-control.h"
#include "wr-test-proc.h"

#define WAIT_MS	   20000
#define BUS_NAME   "io.github.warrenvpn.Engine1"
#define OBJ_PATH   "/io/github/warrenvpn/Engine1"
#define IFACE_NAME "io.github.warrenvpn.Engine1"

typedef struct {
	char *dir;
	char *state_dir;
	char *bus_address;
	char *log_path;
	GSubprocess *bus_proc;
	GSubprocess *daemon;
	GDBusConnection *conn;
	WrDbusEngine1 *engine;
	GPtrArray *events; /* "added:NAME", ... */
} Fix;

static char *
daemon_log(Fix *f)
{
	char *text = NULL;

	(void) g_file_get_contents(f->log_path, &text, NULL, NULL);
	return text != NULL ? text : g_strdup("");
}

static void
fix_init(Fix *f)
{
	g_autoptr(GSubprocessLauncher) l =
		g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE);
	g_autoptr(GError) error = NULL;
	g_autoptr(GDataInputStream) in = NULL;

	memset(f, 0, sizeof(*f));
	f->dir = g_dir_make_tmp("wr-warrend-test-XXXXXX", &error);
	g_assert_no_error(error);
	f->state_dir = g_build_filename(f->dir, "state", NULL);
	f->log_path = g_build_filename(f->dir, "warrend.log", NULL);
	f->events = g_ptr_array_new_with_free_func(g_free);

	g_subprocess_launcher_set_child_setup(l, wr_test_die_with_parent_cb, NULL, NULL);
	f->bus_proc = g_subprocess_launcher_spawn(l, &error, "dbus-daemon", "--session", "--nofork",
						  "--print-address=1", NULL);
	g_assert_no_error(error);
	in = g_data_input_stream_new(g_subprocess_get_stdout_pipe(f->bus_proc));
	f->bus_address = g_data_input_stream_read_line_utf8(in, NULL, NULL, &error);
	g_assert_no_error(error);
	if (f->bus_address == NULL)
		g_error("dbus-daemon gave no address");
	f->conn = g_dbus_connection_new_for_address_sync(
		f->bus_address,
		G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
			G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
		NULL, NULL, &error);
	g_assert_no_error(error);
}

static void
name_appeared_cb(GDBusConnection *c, const char *name, const char *owner, gpointer user_data)
{
	*(gboolean *) user_data = TRUE;
}

static gboolean
timeout_cb(gpointer user_data)
{
	*(gboolean *) user_data = TRUE;
	return G_SOURCE_REMOVE;
}

static void
peer_event_cb(WrDbusEngine1 *engine, const char *kind, GVariant *peer, gpointer user_data)
{
	Fix *f = user_data;
	const char *name = "";

	(void) g_variant_lookup(peer, "name", "&s", &name);
	g_ptr_array_add(f->events, g_strdup_printf("%s:%s", kind, name));
}

/* starts warrend and waits until it owns its name; a new proxy for it */
static void
daemon_start(Fix *f, const char *extra_arg)
{
	const char *bin = g_getenv("WARREND");
	g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_NONE);
	g_autoptr(GError) error = NULL;
	gboolean appeared = FALSE, timed_out = FALSE;
	guint watch, timer;

	g_assert_nonnull(bin);
	g_subprocess_launcher_set_child_setup(l, wr_test_die_with_parent_cb, NULL, NULL);
	g_subprocess_launcher_set_stderr_file_path(l, f->log_path);
	g_subprocess_launcher_setenv(l, "G_MESSAGES_DEBUG", "all", TRUE);
	/* no TUN here (this test runs outside any namespace): the data plane has system tests */
	f->daemon = g_subprocess_launcher_spawn(l, &error, bin, "--no-data-plane", "--bus",
						f->bus_address, "--state-dir", f->state_dir,
						extra_arg, NULL);
	g_assert_no_error(error);
	watch = g_bus_watch_name_on_connection(f->conn, BUS_NAME, G_BUS_NAME_WATCHER_FLAGS_NONE,
					       name_appeared_cb, NULL, &appeared, NULL);
	timer = g_timeout_add(WAIT_MS, timeout_cb, &timed_out);
	while (!appeared && !timed_out && g_subprocess_get_identifier(f->daemon) != NULL)
		g_main_context_iteration(NULL, TRUE);
	g_bus_unwatch_name(watch);
	if (!timed_out)
		g_source_remove(timer);
	if (!appeared) {
		g_autofree char *log = daemon_log(f);

		g_error("warrend did not take its bus name:\n%s", log);
	}
	f->engine = wr_dbus_engine1_proxy_new_sync(f->conn, G_DBUS_PROXY_FLAGS_NONE, BUS_NAME,
						   OBJ_PATH, NULL, &error);
	g_assert_no_error(error);
	g_signal_connect(f->engine, "peer-event", G_CALLBACK(peer_event_cb), f);
}

/* SIGTERM: a clean stop with status 0 */
static void
daemon_stop(Fix *f)
{
	g_autoptr(GError) error = NULL;

	if (f->daemon == NULL)
		return;
	g_clear_object(&f->engine);
	g_subprocess_send_signal(f->daemon, SIGTERM);
	g_assert_true(g_subprocess_wait(f->daemon, NULL, &error));
	g_assert_no_error(error);
	if (!g_subprocess_get_if_exited(f->daemon) ||
	    g_subprocess_get_exit_status(f->daemon) != 0) {
		g_autofree char *log = daemon_log(f);

		g_error("warrend did not stop cleanly on SIGTERM:\n%s", log);
	}
	g_clear_object(&f->daemon);
}

static void
fix_clear(Fix *f)
{
	daemon_stop(f);
	g_clear_object(&f->conn);
	if (f->bus_proc != NULL) {
		g_subprocess_force_exit(f->bus_proc);
		(void) g_subprocess_wait(f->bus_proc, NULL, NULL);
		g_clear_object(&f->bus_proc);
	}
	wr_test_rm_rf(f->dir);
	g_free(f->dir);
	g_free(f->state_dir);
	g_free(f->bus_address);
	g_free(f->log_path);
	g_ptr_array_unref(f->events);
}

typedef gboolean (*Pred)(Fix *f, gconstpointer data);

static void
wait_for(Fix *f, Pred pred, gconstpointer data, const char *what)
{
	gboolean timed_out = FALSE;
	guint timer = g_timeout_add(WAIT_MS, timeout_cb, &timed_out);

	while (!pred(f, data) && !timed_out)
		g_main_context_iteration(NULL, TRUE);
	if (!timed_out)
		g_source_remove(timer);
	if (!pred(f, data)) {
		g_autofree char *log = daemon_log(f);

		g_error("waited %d ms for %s (State %s); warrend's log:\n%s", WAIT_MS, what,
			wr_dbus_engine1_get_state(f->engine), log);
	}
}

static gboolean
in_state(Fix *f, gconstpointer data)
{
	return g_strcmp0(wr_dbus_engine1_get_state(f->engine), data) == 0;
}

static void
wait_state(Fix *f, const char *state)
{
	g_autofree char *what = g_strdup_printf("State %s", state);

	wait_for(f, in_state, state, what);
}

/* an entry of Health starts with data */
static gboolean
health_has(Fix *f, gconstpointer data)
{
	const char *const *health = wr_dbus_engine1_get_health(f->engine);

	for (guint i = 0; health != NULL && health[i] != NULL; i++)
		if (g_str_has_prefix(health[i], data))
			return TRUE;
	return FALSE;
}

static gboolean
health_lacks(Fix *f, gconstpointer data)
{
	return !health_has(f, data);
}

static gboolean
saw_event(Fix *f, gconstpointer data)
{
	for (guint i = 0; i < f->events->len; i++)
		if (g_strcmp0(f->events->pdata[i], data) == 0)
			return TRUE;
	return FALSE;
}

/* runs the warren CLI on the test bus; its exit status, stdout and stderr */
static int
cli(Fix *f, char **out, char **err, ...)
{
	const char *bin = g_getenv("WARREN_CLI");
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autoptr(GError) error = NULL;
	char *o = NULL, *e = NULL;
	int status = 0;
	const char *arg;
	va_list ap;

	g_assert_nonnull(bin);
	g_ptr_array_add(argv, (gpointer) bin);
	g_ptr_array_add(argv, (gpointer) "--bus");
	g_ptr_array_add(argv, f->bus_address);
	va_start(ap, err);
	while ((arg = va_arg(ap, const char *)) != NULL)
		g_ptr_array_add(argv, (gpointer) arg);
	va_end(ap);
	g_ptr_array_add(argv, NULL);
	g_assert_true(g_spawn_sync(NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
				   &o, &e, &status, &error));
	g_assert_no_error(error);
	g_test_message("warren %s: exit %d", (const char *) argv->pdata[3], WEXITSTATUS(status));
	{
		g_autofree char *both = g_strconcat(o, e, NULL);
		g_auto(GStrv) lines = g_strsplit(both, "\n", -1);

		for (guint i = 0; lines[i] != NULL; i++)
			if (*lines[i] != '\0')
				g_test_message("  %s", lines[i]);
	}
	if (out != NULL)
		*out = o;
	else
		g_free(o);
	if (err != NULL)
		*err = e;
	else
		g_free(e);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static GVariant *
get_peers(Fix *f)
{
	g_autoptr(GError) error = NULL;
	GVariant *peers = NULL;

	g_assert_true(wr_dbus_engine1_call_get_peers_sync(f->engine, &peers, NULL, &error));
	g_assert_no_error(error);
	return peers;
}

static gboolean
has_peer(GVariant *peers, const char *name)
{
	for (gsize i = 0; i < g_variant_n_children(peers); i++) {
		g_autoptr(GVariant) p = g_variant_get_child_value(peers, i);
		const char *n = NULL;

		if (g_variant_lookup(p, "name", "&s", &n) && g_strcmp0(n, name) == 0)
			return TRUE;
	}
	return FALSE;
}

static char *
read_state_file(Fix *f, const char *name)
{
	g_autofree char *path = g_build_filename(f->state_dir, name, NULL);
	char *text = NULL;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return NULL;
	return text;
}

/* the first address of Self */
static char *
self_address(Fix *f)
{
	GVariant *self = wr_dbus_engine1_get_self(f->engine);
	g_autofree const char **addrs = NULL;

	if (self == NULL || !g_variant_lookup(self, "addresses", "^a&s", &addrs) ||
	    addrs[0] == NULL)
		return NULL;
	return g_strdup(addrs[0]);
}

static void
test_lifecycle(void)
{
	Ctl c;
	Fix f;
	g_autofree char *key = NULL;
	g_autofree char *key2 = NULL;
	g_autofree char *out = NULL;
	g_autofree char *addr = NULL;
	g_autofree char *node_key = NULL;
	g_autofree char *node_key2 = NULL;
	g_autoptr(WrControlClient) other = NULL;
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) peers = NULL;
	JsonObject *root;
	JsonArray *jpeers;
	gboolean found = FALSE;

	(void) wr_dbus_error_quark();
	ctl_init(&c, NULL);
	ctl_start(&c);
	key = ctl_make_key(&c, TRUE, FALSE, NULL, 0);
	key2 = ctl_make_key(&c, TRUE, FALSE, NULL, 0);
	fix_init(&f);
	daemon_start(&f, NULL);
	g_assert_cmpstr(wr_dbus_engine1_get_state(f.engine), ==, "NeedsLogin");
	g_assert_cmpstr(wr_dbus_engine1_get_control_url(f.engine), ==, "");
	g_assert_cmpint(cli(&f, NULL, NULL, "status", NULL), ==, 4);

	/* a key control does not know: refused (ControlError, exit 1), no node key kept */
	g_assert_cmpint(cli(&f, NULL, NULL, "up", "--login-server", c.url, "--auth-key",
			    "no-such-key", "--timeout", "30", NULL),
			==, 1);
	g_assert_cmpstr(wr_dbus_engine1_get_state(f.engine), ==, "NeedsLogin");
	g_assert_null(read_state_file(&f, "node.key"));
	{
		g_autoptr(GVariant) ret = g_dbus_connection_call_sync(
			f.conn, BUS_NAME, OBJ_PATH, IFACE_NAME, "LoginWithAuthKey",
			g_variant_new("(s)", "no-such-key"), NULL, G_DBUS_CALL_FLAGS_NONE, 10000,
			NULL, &error);

		g_assert_null(ret);
		g_assert_error(error, WR_DBUS_ERROR, WR_DBUS_ERROR_CONTROL_ERROR);
		g_clear_error(&error);
	}
	/* the failure stays in Health, in the form clients read back (docs/tray-signin.md) */
	wait_for(&f, health_has, "sign-in failed (ControlError): control refused",
		 "Health naming the refused sign-in");

	/* up with an auth key: signed in, Running */
	g_assert_cmpint(cli(&f, NULL, NULL, "up", "--login-server", c.url, "--auth-key", key,
			    "--timeout", "30", NULL),
			==, 0);
	wait_state(&f, "Running");
	wait_for(&f, health_lacks, "sign-in failed", "the refused sign-in gone from Health");
	g_assert_cmpstr(wr_dbus_engine1_get_control_url(f.engine), ==, c.url);
	addr = self_address(&f);
	g_assert_nonnull(addr);
	g_assert_true(g_str_has_prefix(addr, "100.64."));
	node_key = read_state_file(&f, "node.key");
	g_assert_nonnull(node_key);
	{
		GVariant *self = wr_dbus_engine1_get_self(f.engine);
		const char *nk = NULL, *mk = NULL;

		g_assert_true(g_variant_lookup(self, "node-key", "&s", &nk));
		g_assert_true(g_str_has_prefix(nk, "nodekey:"));
		g_assert_true(g_variant_lookup(self, "machine-key", "&s", &mk));
		g_assert_true(g_str_has_prefix(mk, "mkey:"));
	}

	/* a second node joins: a PeerEvent, GetPeers, status --json */
	other = ctl_join(&c, key2, "otter");
	wait_for(&f, saw_event, "added:otter", "PeerEvent added otter");
	peers = get_peers(&f);
	g_assert_true(has_peer(peers, "otter"));
	g_assert_cmpint(cli(&f, &out, NULL, "status", "--json", NULL), ==, 0);
	g_assert_true(json_parser_load_from_data(parser, out, -1, &error));
	g_assert_no_error(error);
	root = json_node_get_object(json_parser_get_root(parser));
	g_assert_cmpstr(json_object_get_string_member(root, "state"), ==, "Running");
	jpeers = json_object_get_array_member(root, "peers");
	for (guint i = 0; i < json_array_get_length(jpeers); i++) {
		JsonObject *p = json_array_get_object_element(jpeers, i);

		if (g_strcmp0(json_object_get_string_member(p, "name"), "otter") == 0) {
			found = TRUE;
			g_assert_cmpstr(json_object_get_string_member(p, "path"), ==, "idle");
		}
	}
	g_assert_true(found);
	g_clear_pointer(&out, g_free);

	/* the other node connects and goes away: online and offline PeerEvents */
	{
		g_autoptr(JsonObject) req = wr_control_client_map_request(other, NULL, TRUE, NULL);
		g_autoptr(WrControlStream) stream =
			wr_control_client_map_stream(other, req, &error);

		g_assert_no_error(error);
		g_assert_nonnull(stream);
		wait_for(&f, saw_event, "online:otter", "PeerEvent online otter");
	}
	wait_for(&f, saw_event, "offline:otter", "PeerEvent offline otter");

	/* ip: this node's address */
	g_assert_cmpint(cli(&f, &out, NULL, "ip", "-4", NULL), ==, 0);
	g_assert_cmpstr(g_strstrip(out), ==, addr);
	g_clear_pointer(&out, g_free);

	/* down: Stopped, status says not running */
	g_assert_cmpint(cli(&f, NULL, NULL, "down", NULL), ==, 0);
	wait_state(&f, "Stopped");
	g_assert_cmpint(cli(&f, NULL, NULL, "status", NULL), ==, 1);

	/* restart, want-running off: signed in, Stopped */
	daemon_stop(&f);
	daemon_start(&f, NULL);
	g_assert_cmpstr(wr_dbus_engine1_get_state(f.engine), ==, "Stopped");

	/* up again without a key, then restart with control down: the saved map answers */
	g_assert_cmpint(cli(&f, NULL, NULL, "up", NULL), ==, 0);
	wait_state(&f, "Running");
	ctl_kill(&c);
	daemon_stop(&f);
	daemon_start(&f, NULL);
	wait_state(&f, "Running");
	g_clear_pointer(&peers, g_variant_unref);
	peers = get_peers(&f);
	g_assert_true(has_peer(peers, "otter"));
	node_key2 = read_state_file(&f, "node.key");
	g_assert_cmpstr(node_key2, ==, node_key);
	g_clear_pointer(&addr, g_free);
	addr = self_address(&f);
	g_assert_nonnull(addr);

	/* control back; the administrator expires this node: NeedsLogin, and signing in again
	 * registers a new node key */
	ctl_start(&c);
	{
		GVariant *self = wr_dbus_engine1_get_self(f.engine);
		const char *id = NULL;
		const char *bin = g_getenv("WARREN_CONTROL");
		const char *argv[] = {bin, "--config", c.conf, "nodes", "expire", NULL, NULL};
		g_autofree char *node_key3 = NULL;
		int status = 0;

		g_assert_true(g_variant_lookup(self, "id", "&s", &id));
		argv[5] = id;
		g_assert_true(g_spawn_sync(NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL,
					   NULL, NULL, NULL, NULL, &status, &error));
		g_assert_no_error(error);
		g_assert_true(g_spawn_check_wait_status(status, &error));
		g_assert_no_error(error);
		wait_state(&f, "NeedsLogin");
		g_assert_cmpint(
			cli(&f, NULL, NULL, "up", "--auth-key", key, "--timeout", "30", NULL), ==,
			0);
		wait_state(&f, "Running");
		node_key3 = read_state_file(&f, "node.key");
		g_assert_nonnull(node_key3);
		g_assert_cmpstr(node_key3, !=, node_key);
	}

	/* logout: NeedsLogin, the node key gone */
	g_assert_cmpint(cli(&f, NULL, NULL, "logout", NULL), ==, 0);
	wait_state(&f, "NeedsLogin");
	g_assert_cmpint(cli(&f, NULL, NULL, "status", NULL), ==, 4);
	g_assert_null(read_state_file(&f, "node.key"));
	g_assert_null(read_state_file(&f, "netmap.json"));
	g_clear_pointer(&peers, g_variant_unref);
	peers = get_peers(&f);
	g_assert_cmpuint(g_variant_n_children(peers), ==, 0);
	g_assert_cmpuint(g_variant_n_children(wr_dbus_engine1_get_self(f.engine)), ==, 0);

	fix_clear(&f);
	ctl_clear(&c);
}

/* a method called directly (as gdbus call would) must fail with InvalidArgument naming what */
static void
expect_invalid(Fix *f, const char *method, GVariant *args, const char *names)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) ret =
		g_dbus_connection_call_sync(f->conn, BUS_NAME, OBJ_PATH, IFACE_NAME, method, args,
					    NULL, G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &error);

	g_assert_null(ret);
	g_assert_error(error, WR_DBUS_ERROR, WR_DBUS_ERROR_INVALID_ARGUMENT);
	if (strstr(error->message, names) == NULL)
		g_error("%s: the error \"%s\" does not name %s", method, error->message, names);
}

static gboolean
allow_lan(Fix *f, gconstpointer data)
{
	return wr_dbus_engine1_get_exit_node_allow_lan(f->engine);
}

static void
test_bad_arguments(void)
{
	Fix f;
	g_autofree char *prefs = NULL;
	g_autofree char *prefs2 = NULL;
	g_autofree char *err = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) ret = NULL;
	GVariantBuilder b;

	(void) wr_dbus_error_quark();
	fix_init(&f);
	daemon_start(&f, "--control-url=http://127.0.0.1:9/");
	g_assert_cmpstr(wr_dbus_engine1_get_control_url(f.engine), ==, "http://127.0.0.1:9");
	prefs = read_state_file(&f, "prefs.conf");
	g_assert_nonnull(prefs);
	{
		g_autofree char *log = daemon_log(&f);

		/* on a private bus polkit is skipped, and the log says so */
		g_assert_nonnull(strstr(log, "polkit is not asked"));
	}

	expect_invalid(&f, "SetControlURL", g_variant_new("(s)", "ftp://x"), "url");
	expect_invalid(&f, "SetControlURL", g_variant_new("(s)", "https://h/?q=1"), "url");
	expect_invalid(&f, "LoginWithAuthKey", g_variant_new("(s)", ""), "auth_key");
	expect_invalid(&f, "LoginWithAuthKey", g_variant_new("(s)", "tskey with space"),
		       "auth_key");
	expect_invalid(&f, "Ping", g_variant_new("(su)", "x", 0u), "count");
	expect_invalid(&f, "GetFlows", g_variant_new("(x)", (gint64) -1), "since");

	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&b, "{sv}", "accept-routes", g_variant_new_boolean(TRUE));
	g_variant_builder_add(&b, "{sv}", "no-such-pref", g_variant_new_boolean(TRUE));
	expect_invalid(&f, "SetPrefs", g_variant_new("(a{sv})", &b), "no-such-pref");
	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&b, "{sv}", "accept-routes", g_variant_new_string("yes"));
	expect_invalid(&f, "SetPrefs", g_variant_new("(a{sv})", &b), "accept-routes");
	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&b, "{sv}", "hostname", g_variant_new_string("good"));
	g_variant_builder_add(&b, "{sv}", "advertise-routes",
			      g_variant_new_strv((const char *[]){"192.0.2.1/24", NULL}, -1));
	expect_invalid(&f, "SetPrefs", g_variant_new("(a{sv})", &b), "advertise-routes");

	/* the CLI reports InvalidArgument as bad usage (2) */
	g_assert_cmpint(cli(&f, NULL, &err, "up", "--login-server", "ftp://x", NULL), ==, 2);

	/* exit nodes (issue 7): a malformed peer is InvalidArgument, an unknown one NoSuchPeer */
	expect_invalid(&f, "SetExitNode", g_variant_new("(s)", "two words"), "peer");
	{
		g_autoptr(GError) error2 = NULL;
		g_autoptr(GVariant) r2 = g_dbus_connection_call_sync(
			f.conn, BUS_NAME, OBJ_PATH, IFACE_NAME, "SetExitNode",
			g_variant_new("(s)", "nosuchpeer"), NULL, G_DBUS_CALL_FLAGS_NONE, 10000,
			NULL, &error2);

		g_assert_null(r2);
		g_assert_error(error2, WR_DBUS_ERROR, WR_DBUS_ERROR_NO_SUCH_PEER);
	}
	/* warren set: nothing to set and a bad boolean are bad usage; an unknown exit node is
	 * refused before any pref is touched */
	g_clear_pointer(&err, g_free);
	g_assert_cmpint(cli(&f, NULL, &err, "set", NULL), ==, 2);
	g_clear_pointer(&err, g_free);
	g_assert_cmpint(cli(&f, NULL, &err, "set", "--accept-routes=maybe", NULL), ==, 2);
	g_assert_nonnull(strstr(err, "maybe"));
	g_clear_pointer(&err, g_free);
	g_assert_cmpint(
		cli(&f, NULL, &err, "set", "--accept-routes", "--exit-node", "nosuchpeer", NULL),
		==, 1);
	g_assert_nonnull(strstr(err, "nosuchpeer"));
	g_clear_pointer(&err, g_free);
	g_assert_cmpint(cli(&f, NULL, &err, "set", "--advertise-routes", "192.0.2.1/24", NULL), ==,
			2);
	g_assert_nonnull(strstr(err, "advertise-routes"));

	/* nothing changed */
	prefs2 = read_state_file(&f, "prefs.conf");
	g_assert_cmpstr(prefs2, ==, prefs);
	g_assert_cmpstr(wr_dbus_engine1_get_control_url(f.engine), ==, "http://127.0.0.1:9");
	g_assert_cmpstr(wr_dbus_engine1_get_state(f.engine), ==, "NeedsLogin");

	/* a good SetPrefs is applied and saved */
	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&b, "{sv}", "hostname", g_variant_new_string("good"));
	g_variant_builder_add(&b, "{sv}", "exit-node-allow-lan", g_variant_new_boolean(TRUE));
	ret = g_dbus_connection_call_sync(f.conn, BUS_NAME, OBJ_PATH, IFACE_NAME, "SetPrefs",
					  g_variant_new("(a{sv})", &b), NULL,
					  G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &error);
	g_assert_no_error(error);
	g_clear_pointer(&prefs2, g_free);
	prefs2 = read_state_file(&f, "prefs.conf");
	g_assert_nonnull(strstr(prefs2, "hostname=good"));
	g_assert_nonnull(strstr(prefs2, "exit-node-allow-lan=true"));
	wait_for(&f, allow_lan, NULL, "ExitNodeAllowLAN true");

	/* what needs the tunnel says that it is not running instead of faking an answer */
	g_clear_pointer(&ret, g_variant_unref);
	ret = g_dbus_connection_call_sync(f.conn, BUS_NAME, OBJ_PATH, IFACE_NAME, "Netcheck", NULL,
					  NULL, G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &error);
	g_assert_null(ret);
	g_assert_error(error, WR_DBUS_ERROR, WR_DBUS_ERROR_NOT_RUNNING);
	g_clear_error(&error);
	ret = g_dbus_connection_call_sync(f.conn, BUS_NAME, OBJ_PATH, IFACE_NAME, "Ping",
					  g_variant_new("(su)", "laptop", 1u), NULL,
					  G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &error);
	g_assert_null(ret);
	g_assert_error(error, WR_DBUS_ERROR, WR_DBUS_ERROR_NOT_RUNNING);
	g_clear_error(&error);

	/* Up before signing in */
	ret = g_dbus_connection_call_sync(f.conn, BUS_NAME, OBJ_PATH, IFACE_NAME, "Up", NULL, NULL,
					  G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &error);
	g_assert_null(ret);
	g_assert_error(error, WR_DBUS_ERROR, WR_DBUS_ERROR_NEEDS_LOGIN);

	fix_clear(&f);
}

static gboolean
has_auth_url(Fix *f, gconstpointer data)
{
	return g_str_has_prefix(wr_dbus_engine1_get_auth_url(f->engine), data);
}

static gboolean
no_auth_url(Fix *f, gconstpointer data)
{
	return g_strcmp0(wr_dbus_engine1_get_auth_url(f->engine), "") == 0;
}

/* Login: AuthURL from control while the follow-up waits; a second Login is Busy; Logout
 * cancels it */
static void
test_interactive_login(void)
{
	Ctl c;
	Fix f;
	g_autofree char *oidc = NULL;
	g_autofree char *url_arg = NULL;
	g_autofree char *prefix = NULL;
	g_autoptr(GError) error = NULL;

	(void) wr_dbus_error_quark();
	/* discovery is lazy: nothing needs to listen on the issuer until a browser comes */
	oidc = g_strdup_printf("[oidc]\nissuer = http://127.0.0.1:%u\nclient-id = warren\n"
			       "client-secret = s\n",
			       wr_test_free_port(SOCK_STREAM));
	ctl_init(&c, oidc);
	ctl_start(&c);
	fix_init(&f);
	url_arg = g_strdup_printf("--control-url=%s", c.url);
	daemon_start(&f, url_arg);
	g_assert_true(wr_dbus_engine1_call_login_sync(f.engine, NULL, &error));
	g_assert_no_error(error);
	prefix = g_strdup_printf("%s/a/", c.url);
	wait_for(&f, has_auth_url, prefix, "AuthURL");
	g_assert_cmpstr(wr_dbus_engine1_get_state(f.engine), ==, "NeedsLogin");
	g_assert_false(wr_dbus_engine1_call_login_sync(f.engine, NULL, &error));
	g_assert_error(error, WR_DBUS_ERROR, WR_DBUS_ERROR_BUSY);
	g_clear_error(&error);
	g_assert_cmpint(cli(&f, NULL, NULL, "logout", NULL), ==, 0);
	wait_for(&f, no_auth_url, NULL, "AuthURL cleared");
	g_assert_cmpstr(wr_dbus_engine1_get_state(f.engine), ==, "NeedsLogin");
	g_assert_null(read_state_file(&f, "node.key"));
	fix_clear(&f);
	ctl_clear(&c);
}

static gboolean
health_mentions_prefs(Fix *f, gconstpointer data)
{
	const char *const *health = wr_dbus_engine1_get_health(f->engine);

	for (guint i = 0; health != NULL && health[i] != NULL; i++)
		if (strstr(health[i], "prefs.conf") != NULL &&
		    strstr(health[i], "set aside") != NULL)
			return TRUE;
	return FALSE;
}

static void
test_corrupt_prefs(void)
{
	Fix f;
	g_autofree char *path = NULL;
	g_autoptr(GDir) dir = NULL;
	const char *name;
	gboolean set_aside = FALSE;

	fix_init(&f);
	g_assert_cmpint(g_mkdir(f.state_dir, 0700), ==, 0);
	path = g_build_filename(f.state_dir, "prefs.conf", NULL);
	g_assert_true(g_file_set_contents(path, "[prefs]\nwant-running=perhaps\n", -1, NULL));
	g_assert_cmpint(g_chmod(path, 0600), ==, 0);
	daemon_start(&f, NULL);
	wait_for(&f, health_mentions_prefs, NULL, "Health naming prefs.conf");
	dir = g_dir_open(f.state_dir, 0, NULL);
	g_assert_nonnull(dir);
	while ((name = g_dir_read_name(dir)) != NULL)
		if (g_str_has_prefix(name, "prefs.conf.corrupt-"))
			set_aside = TRUE;
	g_assert_true(set_aside);
	g_assert_cmpstr(wr_dbus_engine1_get_state(f.engine), ==, "NeedsLogin");
	fix_clear(&f);
}

int
main(int argc, char **argv)
{
	g_autofree char *dbus_daemon = NULL;

	g_test_init(&argc, &argv, NULL);
	dbus_daemon = g_find_program_in_path("dbus-daemon");
	if (dbus_daemon == NULL) {
		g_test_skip("dbus-daemon is missing");
		return 77;
	}
	g_test_add_func("/warren/warrend/lifecycle", test_lifecycle);
	g_test_add_func("/warren/warrend/interactive-login", test_interactive_login);
	g_test_add_func("/warren/warrend/bad-arguments", test_bad_arguments);
	g_test_add_func("/warren/warrend/corrupt-prefs", test_corrupt_prefs);
	return g_test_run();
}
