/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * warren-control's admin socket and CLI end to end: the real binary (WARREN_CONTROL) serves a
 * temporary tailnet (SQLite and the admin socket in a temporary directory, the public listener
 * on loopback); nodes register with pre-auth keys through the test client library
 * (tests/lib/wr-control-client), and everything else goes through the CLI, as an administrator
 * would type it: its exit status, its output and its messages are what is checked.
 */

#define G_LOG_DOMAIN "WrTestControlAdmin"

#include "config.h"

#include <grp.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "wr-control-client.h"
#include "wr-crypto.h"
#include "wr-store.h"
#include "wr-test-proc.h"

#define START_WAIT_MS 15000

static const char derp_map[] =
	"{\"Regions\":{\"900\":{\"RegionID\":900,\"RegionCode\":\"test\",\"RegionName\":\"Test\","
	"\"Nodes\":[{\"Name\":\"900a\",\"RegionID\":900,\"HostName\":\"127.0.0.1\",\"IPv4\":"
	"\"127.0.0.1\",\"IPv6\":\"none\",\"STUNPort\":3478,\"DERPPort\":443}]}}}";

static const char good_policy[] =
	"// everyone reaches everyone; HuJSON comments and commas\n"
	"{\n"
	"  \"tagOwners\": {\"tag:web\": [], \"tag:ci\": [], \"tag:db\": []},\n"
	"  \"acls\": [\n"
	"    {\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"*:*\"]},\n"
	"  ],\n"
	"}\n";

/* line 4, column 16: a second comma */
static const char bad_policy[] =
	"{\n"
	"  \"acls\": [\n"
	"    {\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"*:*\"]},\n"
	"    {\"action\":,,}\n"
	"  ]\n"
	"}\n";

typedef struct {
	char *dir;
	char *config;
	char *socket;
	char *url;
	char *log;
	GSubprocess *proc;
} Srv;

static const char *
binary(void)
{
	const char *path = g_getenv("WARREN_CONTROL");

	g_assert_nonnull(path);
	return path;
}

/* runs the CLI with --socket sock and the arguments; its exit status, output and messages */
static int
cli_v(const char *sock, char **out, char **err, const char *const *args)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autoptr(GError) error = NULL;
	g_autofree char *o = NULL;
	g_autofree char *e = NULL;
	int status = 0;

	g_ptr_array_add(argv, (gpointer) binary());
	if (sock != NULL) {
		g_ptr_array_add(argv, (gpointer) "--socket");
		g_ptr_array_add(argv, (gpointer) sock);
	}
	for (guint i = 0; args[i] != NULL; i++)
		g_ptr_array_add(argv, (gpointer) args[i]);
	g_ptr_array_add(argv, NULL);
	if (!g_spawn_sync(NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &o, &e,
			  &status, &error))
		g_error("cannot run %s: %s", binary(), error->message);
	g_test_message("warren-control %s -> %d\n%s%s", args[0], WEXITSTATUS(status), o, e);
	if (out != NULL)
		*out = g_steal_pointer(&o);
	if (err != NULL)
		*err = g_steal_pointer(&e);
	g_assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

#define CLI(srv, out, err, ...) \
	cli_v((srv)->socket, out, err, (const char *const[]){__VA_ARGS__, NULL})

/* the CLI's --json answer, parsed; asserts exit 0 */
static JsonNode *
cli_json_v(Srv *srv, const char *const *args)
{
	g_autoptr(GPtrArray) full = g_ptr_array_new();
	g_autofree char *out = NULL;
	g_autoptr(GError) error = NULL;
	JsonNode *root;

	g_ptr_array_add(full, (gpointer) "--json");
	for (guint i = 0; args[i] != NULL; i++)
		g_ptr_array_add(full, (gpointer) args[i]);
	g_ptr_array_add(full, NULL);
	g_assert_cmpint(cli_v(srv->socket, &out, NULL, (const char *const *) full->pdata), ==, 0);
	root = json_from_string(out, &error);
	g_assert_no_error(error);
	g_assert_true(root != NULL && JSON_NODE_HOLDS_OBJECT(root));
	return root;
}

#define CLI_JSON(srv, ...) cli_json_v(srv, (const char *const[]){__VA_ARGS__, NULL})

/* ready once the admin socket answers (it is bound after the public listener) */
static gboolean
srv_ready(gpointer data)
{
	Srv *srv = data;
	g_autoptr(GSocketClient) client = g_socket_client_new();
	g_autoptr(GSocketAddress) addr = g_unix_socket_address_new(srv->socket);
	g_autoptr(GSocketConnection) conn =
		g_socket_client_connect(client, G_SOCKET_CONNECTABLE(addr), NULL, NULL);

	return conn != NULL;
}

static void
srv_start(Srv *srv)
{
	g_autoptr(GSubprocessLauncher) launcher =
		g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_NONE);
	g_autoptr(GError) error = NULL;

	g_subprocess_launcher_set_stdout_file_path(launcher, srv->log);
	g_subprocess_launcher_set_stderr_file_path(launcher, srv->log);
	g_subprocess_launcher_set_child_setup(launcher, wr_test_die_with_parent_cb, NULL, NULL);
	srv->proc = g_subprocess_launcher_spawn(launcher, &error, binary(), "serve", "--config",
						srv->config, NULL);
	g_assert_no_error(error);
	if (!wr_test_wait_ready(srv->proc, START_WAIT_MS, srv_ready, srv)) {
		g_autofree char *log = NULL;

		(void) g_file_get_contents(srv->log, &log, NULL, NULL);
		g_error("warren-control did not start: %s", log != NULL ? log : "");
	}
}

static void
srv_stop(Srv *srv)
{
	g_autoptr(GError) error = NULL;

	if (srv->proc == NULL)
		return;
	g_subprocess_send_signal(srv->proc, SIGTERM);
	g_assert_true(g_subprocess_wait(srv->proc, NULL, &error));
	g_assert_no_error(error);
	/* a clean exit (under the sanitizers: no leak, no error) */
	if (!g_subprocess_get_if_exited(srv->proc) ||
	    g_subprocess_get_exit_status(srv->proc) != 0) {
		g_autofree char *log = NULL;

		(void) g_file_get_contents(srv->log, &log, NULL, NULL);
		g_error("warren-control did not stop cleanly: %s", log != NULL ? log : "");
	}
	g_clear_object(&srv->proc);
}

static void
srv_kill(Srv *srv)
{
	g_subprocess_force_exit(srv->proc);
	(void) g_subprocess_wait(srv->proc, NULL, NULL);
	g_clear_object(&srv->proc);
}

/* a tailnet in a new temporary directory; its admin socket there unless socket is given */
static void
srv_setup(Srv *srv, const char *socket)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *derp = NULL;
	g_autofree char *state = NULL;
	g_autofree char *text = NULL;
	guint16 port = wr_test_free_port(SOCK_STREAM);

	srv->dir = g_dir_make_tmp("warren-control-admin-XXXXXX", &error);
	g_assert_no_error(error);
	state = g_build_filename(srv->dir, "state", NULL);
	g_assert_cmpint(g_mkdir(state, 0700), ==, 0);
	derp = g_build_filename(srv->dir, "derp.json", NULL);
	g_assert_true(g_file_set_contents(derp, derp_map, -1, &error));
	srv->socket = socket != NULL ? g_strdup(socket)
				     : g_build_filename(srv->dir, "run", "admin.sock", NULL);
	srv->url = g_strdup_printf("http://127.0.0.1:%u", port);
	srv->log = g_build_filename(srv->dir, "serve.log", NULL);
	srv->config = g_build_filename(srv->dir, "control.conf", NULL);
	text = g_strdup_printf("[server]\nlisten = 127.0.0.1:%u\nserver-url = %s\n"
			       "state-dir = %s\nadmin-socket = %s\n"
			       "[database]\nurl = sqlite:%s/control.sqlite\n"
			       "[network]\ndns-domain = tailnet.test\nderp-map = %s\n"
			       "[limits]\nregister-per-minute = 6000\nregister-burst = 1000\n",
			       port, srv->url, state, srv->socket, state, derp);
	g_assert_true(g_file_set_contents(srv->config, text, -1, &error));
}

static void
srv_teardown(Srv *srv)
{
	if (srv->proc != NULL)
		srv_kill(srv);
	wr_test_rm_rf(srv->dir);
	g_free(srv->dir);
	g_free(srv->config);
	g_free(srv->socket);
	g_free(srv->url);
	g_free(srv->log);
}

/* ---- helpers over the JSON answers ---------------------------------------------------------- */

static JsonObject *
node_named(JsonNode *list, const char *name)
{
	JsonArray *arr = json_object_get_array_member(json_node_get_object(list), "nodes");

	for (guint i = 0; i < json_array_get_length(arr); i++) {
		JsonObject *n = json_array_get_object_element(arr, i);

		if (g_strcmp0(json_object_get_string_member(n, "name"), name) == 0)
			return n;
	}
	return NULL;
}

static char *
node_id(Srv *srv, const char *name)
{
	g_autoptr(JsonNode) list = CLI_JSON(srv, "nodes", "list");
	JsonObject *n = node_named(list, name);

	g_assert_nonnull(n);
	return g_strdup_printf("%" G_GINT64_FORMAT, json_object_get_int_member(n, "id"));
}

static char *
strv_member(JsonObject *o, const char *name)
{
	JsonArray *arr = json_object_get_array_member(o, name);
	g_autoptr(GString) out = g_string_new(NULL);

	for (guint i = 0; i < json_array_get_length(arr); i++)
		g_string_append_printf(out, "%s%s", i > 0 ? "," : "",
				       json_array_get_string_element(arr, i));
	return g_string_free(g_steal_pointer(&out), FALSE);
}

static guint
array_len(JsonNode *root, const char *name)
{
	return json_array_get_length(
		json_object_get_array_member(json_node_get_object(root), name));
}

/* an auth key from `authkeys create`: the one line on stdout */
static char *
create_key(Srv *srv, const char *const *args)
{
	g_autoptr(GPtrArray) full = g_ptr_array_new();
	g_autofree char *out = NULL;
	g_autofree char *err = NULL;

	g_ptr_array_add(full, (gpointer) "authkeys");
	g_ptr_array_add(full, (gpointer) "create");
	for (guint i = 0; args[i] != NULL; i++)
		g_ptr_array_add(full, (gpointer) args[i]);
	g_ptr_array_add(full, NULL);
	g_assert_cmpint(cli_v(srv->socket, &out, &err, (const char *const *) full->pdata), ==, 0);
	g_strstrip(out);
	g_assert_true(g_str_has_prefix(out, "wrkey-"));
	g_assert_cmpuint(strlen(out), ==, 71);
	g_assert_nonnull(strstr(err, "shown only this once"));
	return g_steal_pointer(&out);
}

#define CREATE_KEY(srv, ...) create_key(srv, (const char *const[]){__VA_ARGS__, NULL})

/* registers a new machine with an auth key; routes are its advertised routable_ips */
static JsonObject *
register_node(Srv *srv, const char *key, const char *hostname, const char *const *routes)
{
	g_autoptr(WrControlClient) c = NULL;
	g_autoptr(JsonObject) req = NULL;
	g_autoptr(GError) error = NULL;
	JsonObject *answer;

	c = wr_control_client_new(srv->url, &error);
	g_assert_no_error(error);
	g_assert_true(wr_control_client_fetch_key(c, &error));
	g_assert_no_error(error);
	req = wr_control_client_register_request(c, key, hostname);
	if (routes != NULL) {
		JsonObject *hostinfo = json_object_get_object_member(req, "hostinfo");
		JsonArray *arr = json_array_new();

		for (guint i = 0; routes[i] != NULL; i++)
			json_array_add_string_element(arr, routes[i]);
		json_object_set_array_member(hostinfo, "routable_ips", arr);
	}
	answer = wr_control_client_call(c, "register", req, &error);
	g_assert_no_error(error);
	return answer;
}

static void
assert_registered(JsonObject *answer)
{
	g_assert_nonnull(answer);
	g_assert_cmpstr(json_object_get_string_member_with_default(answer, "error", ""), ==, "");
	g_assert_true(
		json_object_get_boolean_member_with_default(answer, "machine_authorized", FALSE));
	json_object_unref(answer);
}

/* the server said no, for this reason */
static void
assert_register_refused(JsonObject *answer, const char *why)
{
	g_assert_nonnull(answer);
	g_assert_cmpstr(json_object_get_string_member_with_default(answer, "error", ""), ==, why);
	g_assert_false(
		json_object_get_boolean_member_with_default(answer, "machine_authorized", FALSE));
	json_object_unref(answer);
}

/* users as sign-in would have made them, in the store before the server starts */
static void
add_users(Srv *srv)
{
	g_autofree char *url = g_strdup_printf("sqlite:%s/state/control.sqlite", srv->dir);
	g_autoptr(GError) error = NULL;
	g_autoptr(WrStore) store = wr_store_open(url, &error);
	g_autoptr(WrStoreUser) alice = NULL;
	g_autoptr(WrStoreUser) bob = NULL;

	g_assert_no_error(error);
	alice = wr_store_user_upsert(store, "https://idp.test", "a-1", "alice@example.com", "Alice",
				     NULL, 1700000000, &error);
	g_assert_no_error(error);
	bob = wr_store_user_upsert(store, "https://idp.test", "b-2", "bob@example.com", "Bob", NULL,
				   1700000000, &error);
	g_assert_no_error(error);
	g_assert_cmpint(alice->id, ==, 1);
	g_assert_cmpint(bob->id, ==, 2);
}

/* ---- cases ---------------------------------------------------------------------------------- */

static void
test_usage(void)
{
	g_autofree char *err = NULL;
	g_autofree char *missing =
		g_build_filename(g_get_tmp_dir(), "no-such-warren", "a.sock", NULL);
	Srv none = {.socket = missing};

	/* no server: 3, naming the socket */
	g_assert_cmpint(CLI(&none, NULL, &err, "nodes", "list"), ==, 3);
	g_assert_nonnull(strstr(err, missing));
	/* usage errors are found before any request: 2 */
	g_assert_cmpint(CLI(&none, NULL, NULL, "nodes"), ==, 2);
	g_assert_cmpint(CLI(&none, NULL, NULL, "nodes", "rename", "1"), ==, 2);
	g_assert_cmpint(CLI(&none, NULL, NULL, "nodes", "delete", "abc"), ==, 2);
	g_assert_cmpint(CLI(&none, NULL, NULL, "frobnicate"), ==, 2);
	g_assert_cmpint(CLI(&none, NULL, NULL, "nodes", "list", "--reusable"), ==, 2);
	g_assert_cmpint(CLI(&none, NULL, NULL, "audit", "--limit", "x"), ==, 2);
	g_assert_cmpint(CLI(&none, NULL, NULL, "audit", "--since", "soon"), ==, 2);
	g_assert_cmpint(CLI(&none, NULL, NULL, "authkeys", "create", "--expiry", "later"), ==, 2);
	g_assert_cmpint(CLI(&none, NULL, NULL, "policy", "set", "/no/such/policy.hujson"), ==, 2);
	g_assert_cmpint(
		cli_v(NULL, NULL, NULL,
		      (const char *const[]){"--config", "/no/such.conf", "nodes", "list", NULL}),
		==, 2);
}

static void
test_flow(void)
{
	Srv srv = {0};
	g_autofree char *k_once = NULL;
	g_autofree char *k_reuse = NULL;
	g_autofree char *k_eph = NULL;
	g_autofree char *k_exp = NULL;
	g_autofree char *k_user = NULL;
	g_autofree char *out = NULL;
	g_autofree char *err = NULL;
	g_autofree char *id_alpha = NULL;
	g_autofree char *id_beta = NULL;
	g_autofree char *id_alpha2 = NULL;
	g_autofree char *good = NULL;
	g_autofree char *bad = NULL;
	g_autofree char *actor = g_strdup_printf("admin:uid=%u", (guint) getuid());
	const char *const routes[] = {"10.1.0.0/24", "0.0.0.0/0", "::/0", NULL};

	srv_setup(&srv, NULL);
	add_users(&srv);
	srv_start(&srv);

	/* the socket's directory was made; the socket is 0660 */
	{
		GStatBuf st;

		g_assert_cmpint(g_stat(srv.socket, &st), ==, 0);
		g_assert_cmpint(st.st_mode & 0777, ==, 0660);
	}

	/* auth keys: one-off, reusable, ephemeral, tagged, expiring */
	k_once = CREATE_KEY(&srv, "--tags", "tag:web");
	k_reuse = CREATE_KEY(&srv, "--reusable", "--tags", "tag:ci,tag:db");
	k_eph = CREATE_KEY(&srv, "--ephemeral", "--tags", "tag:ci");
	k_exp = CREATE_KEY(&srv, "--reusable", "--tags", "tag:ci", "--expiry", "2h");
	g_assert_cmpstr(k_once, !=, k_reuse);
	/* no user and no tags, a bad tag, an unknown user: refused */
	g_assert_cmpint(CLI(&srv, NULL, &err, "authkeys", "create"), ==, 1);
	g_assert_nonnull(strstr(err, "a user or at least one tag"));
	g_clear_pointer(&err, g_free);
	g_assert_cmpint(CLI(&srv, NULL, &err, "authkeys", "create", "--tags", "web"), ==, 1);
	g_assert_nonnull(strstr(err, "\"web\" is not a tag"));
	g_clear_pointer(&err, g_free);
	g_assert_cmpint(CLI(&srv, NULL, &err, "authkeys", "create", "--user", "42"), ==, 1);
	g_assert_nonnull(strstr(err, "no user 42"));
	g_clear_pointer(&err, g_free);

	/* listed by prefix, never with the secret */
	g_assert_cmpint(CLI(&srv, &out, NULL, "authkeys", "list"), ==, 0);
	g_assert_null(strstr(out, k_once + 23));
	g_assert_null(strstr(out, k_reuse + 23));
	g_assert_nonnull(strstr(out, "PREFIX"));
	{
		g_autofree char *prefix = g_strndup(k_once, 22);

		g_assert_nonnull(strstr(out, prefix));
	}
	g_clear_pointer(&out, g_free);
	{
		g_autoptr(JsonNode) keys = CLI_JSON(&srv, "authkeys", "list");
		JsonArray *arr =
			json_object_get_array_member(json_node_get_object(keys), "authkeys");
		g_autofree char *text = json_to_string(keys, FALSE);

		g_assert_cmpuint(json_array_get_length(arr), ==, 4);
		g_assert_null(strstr(text, k_eph + 23));
		g_assert_true(json_object_get_boolean_member(json_array_get_object_element(arr, 1),
							     "reusable"));
		g_assert_true(json_object_get_boolean_member(json_array_get_object_element(arr, 2),
							     "ephemeral"));
		g_assert_cmpint(
			json_object_get_int_member(json_array_get_object_element(arr, 0), "expiry"),
			==, 0);
		g_assert_cmpint(
			json_object_get_int_member(json_array_get_object_element(arr, 3), "expiry"),
			>, g_get_real_time() / G_USEC_PER_SEC + 3600);
	}

	/* nodes register with the keys */
	assert_registered(register_node(&srv, k_once, "alpha", routes));
	assert_registered(register_node(&srv, k_reuse, "beta", NULL));
	assert_registered(register_node(&srv, k_reuse, "alpha", NULL));
	assert_registered(register_node(&srv, k_eph, "gone", NULL));
	/* the one-off key was used */
	assert_register_refused(register_node(&srv, k_once, "again", NULL),
				"auth key already used");
	{
		g_autoptr(JsonNode) list = CLI_JSON(&srv, "nodes", "list");
		g_autofree char *tags = NULL;

		g_assert_cmpuint(array_len(list, "nodes"), ==, 4);
		g_assert_nonnull(node_named(list, "alpha"));
		g_assert_nonnull(node_named(list, "beta"));
		g_assert_nonnull(node_named(list, "alpha-2"));
		tags = strv_member(node_named(list, "beta"), "tags");
		g_assert_cmpstr(tags, ==, "tag:ci,tag:db");
		g_assert_true(
			json_object_get_boolean_member(node_named(list, "gone"), "ephemeral"));
	}
	g_assert_cmpint(CLI(&srv, &out, NULL, "nodes", "list"), ==, 0);
	g_assert_nonnull(strstr(out, "alpha-2"));
	g_assert_nonnull(strstr(out, "tag:web"));
	g_clear_pointer(&out, g_free);
	id_alpha = node_id(&srv, "alpha");
	id_beta = node_id(&srv, "beta");
	id_alpha2 = node_id(&srv, "alpha-2");

	/* rename: unique DNS labels only */
	g_assert_cmpint(CLI(&srv, NULL, &err, "nodes", "rename", id_beta, "alpha"), ==, 1);
	g_assert_nonnull(strstr(err, "taken"));
	g_clear_pointer(&err, g_free);
	g_assert_cmpint(CLI(&srv, NULL, &err, "nodes", "rename", id_beta, "bad_name!"), ==, 1);
	g_assert_nonnull(strstr(err, "not a valid node name"));
	g_clear_pointer(&err, g_free);
	g_assert_cmpint(CLI(&srv, NULL, &err, "nodes", "rename", id_beta, "-x"), ==, 2);
	g_clear_pointer(&err, g_free);
	g_assert_cmpint(CLI(&srv, NULL, NULL, "nodes", "rename", id_beta, "gamma"), ==, 0);
	g_assert_cmpint(CLI(&srv, NULL, &err, "nodes", "rename", "9999", "delta"), ==, 1);
	g_assert_nonnull(strstr(err, "no node 9999"));
	g_clear_pointer(&err, g_free);
	/* the old name is free again */
	g_assert_cmpint(CLI(&srv, NULL, NULL, "nodes", "rename", id_alpha2, "beta"), ==, 0);

	/* tags: tag:<name> only; an unowned node keeps one */
	g_assert_cmpint(CLI(&srv, NULL, &err, "nodes", "tag", id_beta, "db"), ==, 1);
	g_assert_nonnull(strstr(err, "\"db\" is not a tag"));
	g_clear_pointer(&err, g_free);
	g_assert_cmpint(CLI(&srv, NULL, &err, "nodes", "tag", id_beta), ==, 1);
	g_assert_nonnull(strstr(err, "at least one tag"));
	g_clear_pointer(&err, g_free);
	g_assert_cmpint(CLI(&srv, NULL, NULL, "nodes", "tag", id_beta, "tag:db", "tag:web"), ==, 0);

	/* routes: only advertised ones may be approved */
	g_assert_cmpint(CLI(&srv, &out, NULL, "routes", "list"), ==, 0);
	g_assert_nonnull(strstr(out, "10.1.0.0/24"));
	g_assert_nonnull(strstr(out, "::/0"));
	g_clear_pointer(&out, g_free);
	g_assert_cmpint(CLI(&srv, NULL, &err, "routes", "approve", id_alpha, "192.168.0.0/16"), ==,
			1);
	g_assert_nonnull(strstr(err, "does not advertise 192.168.0.0/16"));
	g_clear_pointer(&err, g_free);
	g_assert_cmpint(CLI(&srv, NULL, &err, "routes", "approve", id_alpha, "10.1.0.7"), ==, 1);
	g_assert_nonnull(strstr(err, "not a CIDR"));
	g_clear_pointer(&err, g_free);
	g_assert_cmpint(CLI(&srv, NULL, NULL, "routes", "approve", id_alpha, "10.1.0.9/24",
			    "0.0.0.0/0", "::/0"),
			==, 0);
	{
		g_autoptr(JsonNode) list = CLI_JSON(&srv, "routes", "list");
		JsonArray *arr = json_object_get_array_member(json_node_get_object(list), "routes");

		g_assert_cmpuint(json_array_get_length(arr), ==, 3);
		for (guint i = 0; i < 3; i++)
			g_assert_true(json_object_get_boolean_member(
				json_array_get_object_element(arr, i), "approved"));
	}

	/* expire and delete */
	g_assert_cmpint(CLI(&srv, NULL, NULL, "nodes", "expire", id_alpha2), ==, 0);
	{
		g_autoptr(JsonNode) list = CLI_JSON(&srv, "nodes", "list");

		g_assert_true(json_object_get_boolean_member(node_named(list, "beta"), "expired"));
		g_assert_false(
			json_object_get_boolean_member(node_named(list, "gamma"), "expired"));
	}
	g_assert_cmpint(CLI(&srv, NULL, NULL, "nodes", "delete", id_alpha2), ==, 0);
	g_assert_cmpint(CLI(&srv, NULL, &err, "nodes", "delete", id_alpha2), ==, 1);
	{
		g_autofree char *want = g_strdup_printf("no node %s", id_alpha2);

		g_assert_nonnull(strstr(err, want));
	}
	g_clear_pointer(&err, g_free);
	g_assert_cmpint(CLI(&srv, NULL, &err, "nodes", "expire", id_alpha2), ==, 1);
	g_clear_pointer(&err, g_free);

	/* the policy: a bad one names line:col and the good one stays */
	good = g_build_filename(srv.dir, "good.hujson", NULL);
	bad = g_build_filename(srv.dir, "bad.hujson", NULL);
	g_assert_true(g_file_set_contents(good, good_policy, -1, NULL));
	g_assert_true(g_file_set_contents(bad, bad_policy, -1, NULL));
	g_assert_cmpint(CLI(&srv, &out, &err, "policy", "get"), ==, 0);
	g_assert_cmpstr(out, ==, "");
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&err, g_free);
	g_assert_cmpint(CLI(&srv, NULL, NULL, "policy", "check", good), ==, 0);
	g_assert_cmpint(CLI(&srv, NULL, NULL, "policy", "set", good), ==, 0);
	g_assert_cmpint(CLI(&srv, NULL, &err, "policy", "check", bad), ==, 1);
	g_assert_true(g_regex_match_simple("policy: 4:\\d+: ", err, 0, 0));
	g_clear_pointer(&err, g_free);
	g_assert_cmpint(CLI(&srv, NULL, &err, "policy", "set", bad), ==, 1);
	g_assert_true(g_regex_match_simple("policy: 4:\\d+: ", err, 0, 0));
	g_clear_pointer(&err, g_free);
	g_assert_cmpint(CLI(&srv, &out, NULL, "policy", "get"), ==, 0);
	g_assert_cmpstr(out, ==, good_policy);
	g_clear_pointer(&out, g_free);

	/* users: a key for one, by login name; one with a node stays, one without goes */
	k_user = CREATE_KEY(&srv, "--user", "alice@example.com");
	assert_registered(register_node(&srv, k_user, "laptop", NULL));
	{
		g_autoptr(JsonNode) users = CLI_JSON(&srv, "users", "list");
		g_autoptr(JsonNode) list = CLI_JSON(&srv, "nodes", "list");
		JsonArray *arr = json_object_get_array_member(json_node_get_object(users), "users");
		JsonObject *laptop = node_named(list, "laptop");

		g_assert_cmpuint(json_array_get_length(arr), ==, 2);
		g_assert_cmpstr(json_object_get_string_member(json_array_get_object_element(arr, 0),
							      "login_name"),
				==, "alice@example.com");
		g_assert_cmpint(
			json_object_get_int_member(json_array_get_object_element(arr, 0), "nodes"),
			==, 1);
		g_assert_cmpstr(json_object_get_string_member(laptop, "user"), ==,
				"alice@example.com");
	}
	g_assert_cmpint(CLI(&srv, &out, NULL, "users", "list"), ==, 0);
	g_assert_nonnull(strstr(out, "bob@example.com"));
	g_clear_pointer(&out, g_free);
	g_assert_cmpint(CLI(&srv, NULL, &err, "users", "delete", "1"), ==, 1);
	g_assert_nonnull(strstr(err, "still has 1 node(s)"));
	g_clear_pointer(&err, g_free);
	g_assert_cmpint(CLI(&srv, NULL, NULL, "users", "delete", "2"), ==, 0);
	g_assert_cmpint(CLI(&srv, NULL, &err, "users", "delete", "2"), ==, 1);
	g_assert_nonnull(strstr(err, "no user 2"));
	g_clear_pointer(&err, g_free);
	g_assert_cmpint(CLI(&srv, NULL, &err, "authkeys", "create", "--user", "bob@example.com"),
			==, 1);
	g_assert_nonnull(strstr(err, "no user bob@example.com"));
	g_clear_pointer(&err, g_free);
	/* a user's node may drop its tags */
	{
		g_autofree char *id = node_id(&srv, "laptop");

		g_assert_cmpint(CLI(&srv, NULL, NULL, "nodes", "tag", id, "tag:web"), ==, 0);
		g_assert_cmpint(CLI(&srv, NULL, NULL, "nodes", "tag", id), ==, 0);
	}

	/* auth key expiry; an expired key registers nothing */
	g_assert_cmpint(CLI(&srv, NULL, NULL, "authkeys", "expire", "2"), ==, 0);
	assert_register_refused(register_node(&srv, k_reuse, "late", NULL), "auth key expired");
	assert_registered(register_node(&srv, k_exp, "on-time", NULL));
	{
		g_autofree char *id = node_id(&srv, "on-time");

		g_assert_cmpint(CLI(&srv, NULL, NULL, "nodes", "delete", id), ==, 0);
	}
	g_assert_cmpint(CLI(&srv, NULL, &err, "authkeys", "expire", "99"), ==, 1);
	g_assert_nonnull(strstr(err, "no auth key 99"));
	g_clear_pointer(&err, g_free);
	{
		g_autoptr(JsonNode) keys = CLI_JSON(&srv, "authkeys", "list");
		JsonArray *arr =
			json_object_get_array_member(json_node_get_object(keys), "authkeys");

		g_assert_true(json_object_get_boolean_member(json_array_get_object_element(arr, 1),
							     "expired"));
		g_assert_false(json_object_get_boolean_member(json_array_get_object_element(arr, 3),
							      "expired"));
	}

	/* the audit log: every change, in order, with its actor */
	{
		g_autoptr(JsonNode) audit = CLI_JSON(&srv, "audit");
		JsonArray *arr =
			json_object_get_array_member(json_node_get_object(audit), "events");
		const char *const want[] = {"authkey.create",
					    "authkey.create",
					    "authkey.create",
					    "authkey.create",
					    "node.rename",
					    "node.rename",
					    "node.tags",
					    "routes.approve",
					    "node.expire",
					    "node.delete",
					    "policy.set",
					    "authkey.create",
					    "user.delete",
					    "node.tags",
					    "authkey.expire",
					    "node.delete",
					    NULL};
		guint w = 0;

		for (guint i = 0; i < json_array_get_length(arr) && want[w] != NULL; i++) {
			JsonObject *e = json_array_get_object_element(arr, i);

			if (!g_str_equal(json_object_get_string_member(e, "action"), want[w]))
				continue;
			g_assert_cmpstr(json_object_get_string_member(e, "actor"), ==, actor);
			w++;
		}
		g_assert_null(want[w]);
	}
	g_assert_cmpint(CLI(&srv, &out, NULL, "audit", "--since", "1h"), ==, 0);
	g_assert_nonnull(strstr(out, "node.rename"));
	g_assert_nonnull(strstr(out, actor));
	g_clear_pointer(&out, g_free);
	{
		g_autoptr(JsonNode) two = CLI_JSON(&srv, "audit", "--limit", "2");
		g_autofree char *future = g_strdup_printf(
			"%" G_GINT64_FORMAT, g_get_real_time() / G_USEC_PER_SEC + 3600);
		g_autoptr(JsonNode) none = CLI_JSON(&srv, "audit", "--since", future);

		g_assert_cmpuint(array_len(two, "events"), ==, 2);
		g_assert_cmpuint(array_len(none, "events"), ==, 0);
	}

	/* a restart keeps everything */
	srv_stop(&srv);
	g_assert_cmpint(CLI(&srv, NULL, NULL, "nodes", "list"), ==, 3);
	srv_start(&srv);
	{
		g_autoptr(JsonNode) list = CLI_JSON(&srv, "nodes", "list");
		g_autoptr(JsonNode) keys = CLI_JSON(&srv, "authkeys", "list");
		g_autoptr(JsonNode) audit = CLI_JSON(&srv, "audit");
		g_autofree char *tags = NULL;
		g_autofree char *approved = NULL;

		g_assert_cmpuint(array_len(list, "nodes"), ==, 4);
		g_assert_null(node_named(list, "beta"));
		tags = strv_member(node_named(list, "gamma"), "tags");
		g_assert_cmpstr(tags, ==, "tag:db,tag:web");
		approved = strv_member(node_named(list, "alpha"), "approved_routes");
		g_assert_cmpstr(approved, ==, "10.1.0.0/24,0.0.0.0/0,::/0");
		g_assert_cmpuint(array_len(keys, "authkeys"), ==, 5);
		g_assert_cmpuint(array_len(audit, "events"), >=, 17);
	}
	g_assert_cmpint(CLI(&srv, &out, NULL, "policy", "get"), ==, 0);
	g_assert_cmpstr(out, ==, good_policy);
	g_clear_pointer(&out, g_free);

	srv_stop(&srv);
	/* a clean stop removes the socket */
	g_assert_false(g_file_test(srv.socket, G_FILE_TEST_EXISTS));
	srv_teardown(&srv);
}

/* the next frame whose JSON text holds want; fails after 10 s */
static void
wait_frame_with(WrControlStream *s, const char *want)
{
	gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

	while (g_get_monotonic_time() < deadline) {
		g_autoptr(GError) error = NULL;
		g_autoptr(JsonObject) frame = wr_control_stream_next(
			s, (guint) MAX((deadline - g_get_monotonic_time()) / 1000, 1), &error);
		g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
		g_autofree char *text = NULL;

		if (frame == NULL && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
			break;
		g_assert_no_error(error);
		json_node_set_object(node, frame);
		text = json_to_string(node, FALSE);
		g_test_message("frame: %.2000s", text);
		if (strstr(text, want) != NULL)
			return;
	}
	g_error("no frame with %s", want);
}

/* a peer's map stream sees what the admin changes */
static void
test_streams(void)
{
	Srv srv = {0};
	g_autoptr(WrControlClient) watcher = NULL;
	g_autoptr(WrControlStream) stream = NULL;
	g_autoptr(JsonObject) req = NULL;
	g_autoptr(JsonObject) full = NULL;
	g_autoptr(JsonObject) answer = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *key = NULL;
	g_autofree char *id = NULL;
	g_autofree char *removed = NULL;
	const char *const routes[] = {"10.9.0.0/16", NULL};

	srv_setup(&srv, NULL);
	srv_start(&srv);
	key = CREATE_KEY(&srv, "--reusable", "--tags", "tag:ci");
	watcher = wr_control_client_new(srv.url, &error);
	g_assert_no_error(error);
	g_assert_true(wr_control_client_fetch_key(watcher, &error));
	req = wr_control_client_register_request(watcher, key, "watcher");
	answer = wr_control_client_call(watcher, "register", req, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(json_object_get_string_member(answer, "error"), ==, "");
	assert_registered(register_node(&srv, key, "peer", routes));
	g_clear_pointer(&req, json_object_unref);
	req = wr_control_client_map_request(watcher, NULL, TRUE, "watcher");
	stream = wr_control_client_map_stream(watcher, req, &error);
	g_assert_no_error(error);
	full = wr_control_stream_next(stream, 10000, &error);
	g_assert_no_error(error);
	g_assert_true(json_object_has_member(full, "peers"));
	id = node_id(&srv, "peer");

	g_assert_cmpint(CLI(&srv, NULL, NULL, "nodes", "rename", id, "renamed"), ==, 0);
	wait_frame_with(stream, "\"name\":\"renamed\"");
	g_assert_cmpint(CLI(&srv, NULL, NULL, "nodes", "tag", id, "tag:ci", "tag:edge"), ==, 0);
	wait_frame_with(stream, "\"tags\":[\"tag:ci\",\"tag:edge\"]");
	g_assert_cmpint(CLI(&srv, NULL, NULL, "routes", "approve", id, "10.9.0.0/16"), ==, 0);
	/* not only in hostinfo: peers route to it now */
	wait_frame_with(stream, "\"primary_routes\":[\"10.9.0.0/16\"]");
	g_assert_cmpint(CLI(&srv, NULL, NULL, "nodes", "delete", id), ==, 0);
	removed = g_strdup_printf("\"peers_removed\":[%s]", id);
	wait_frame_with(stream, removed);
	g_clear_pointer(&stream, wr_control_stream_free);
	srv_stop(&srv);
	srv_teardown(&srv);
}

static void
become_nobody_cb(gpointer user_data)
{
	if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
		_exit(99);
}

/* the CLI run by uid/gid 65534 (nobody); its exit status */
static int
cli_as_nobody(const char *sock, char **err)
{
	const char *argv[] = {binary(), "--socket", sock, "nodes", "list", NULL};
	g_autoptr(GError) error = NULL;
	int status = 0;

	if (!g_spawn_sync(NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, become_nobody_cb, NULL, NULL,
			  err, &status, &error))
		g_error("cannot run %s: %s", binary(), error->message);
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), !=, 99);
	return WEXITSTATUS(status);
}

static void
test_strangers(void)
{
	Srv srv = {0};
	g_autofree char *run = NULL;
	g_autofree char *err = NULL;

	if (getuid() != 0) {
		g_test_skip("needs root to run the CLI as another user");
		return;
	}
	srv_setup(&srv, NULL);
	srv_start(&srv);
	run = g_path_get_dirname(srv.socket);
	g_assert_cmpint(g_chmod(srv.dir, 0755), ==, 0);
	g_assert_cmpint(g_chmod(run, 0755), ==, 0);
	/* the socket's mode keeps others out */
	g_assert_cmpint(cli_as_nobody(srv.socket, &err), ==, 3);
	g_clear_pointer(&err, g_free);
	/* and were it open, the server checks the peer's uid itself */
	g_assert_cmpint(g_chmod(srv.socket, 0666), ==, 0);
	g_assert_cmpint(cli_as_nobody(srv.socket, &err), ==, 1);
	g_assert_nonnull(strstr(err, "only root, the server's user and the socket's group"));
	g_assert_cmpint(CLI(&srv, NULL, NULL, "nodes", "list"), ==, 0);
	srv_stop(&srv);
	srv_teardown(&srv);
}

static void
test_socket(void)
{
	Srv a = {0};
	Srv b = {0};
	g_autoptr(GSubprocess) second = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *log = NULL;

	srv_setup(&a, NULL);
	srv_start(&a);
	/* a second server on the same socket (its own port and database) is refused */
	srv_setup(&b, a.socket);
	second =
		g_subprocess_new(G_SUBPROCESS_FLAGS_STDERR_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE,
				 &error, binary(), "serve", "--config", b.config, NULL);
	g_assert_no_error(error);
	g_assert_true(g_subprocess_communicate_utf8(second, NULL, NULL, NULL, &log, &error));
	g_assert_no_error(error);
	g_assert_cmpint(g_subprocess_get_exit_status(second), ==, 1);
	g_assert_nonnull(strstr(log, "another server is answering"));
	g_assert_cmpint(CLI(&a, NULL, NULL, "nodes", "list"), ==, 0);

	/* killed, the first leaves its socket behind: a stale one, replaced on start */
	srv_kill(&a);
	g_assert_true(g_file_test(a.socket, G_FILE_TEST_EXISTS));
	g_assert_cmpint(CLI(&a, NULL, NULL, "nodes", "list"), ==, 3);
	srv_start(&a);
	g_assert_cmpint(CLI(&a, NULL, NULL, "nodes", "list"), ==, 0);
	srv_stop(&a);
	srv_teardown(&a);
	srv_teardown(&b);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_assert_true(wr_crypto_init());
	g_test_add_func("/control-admin/usage", test_usage);
	g_test_add_func("/control-admin/flow", test_flow);
	g_test_add_func("/control-admin/streams", test_streams);
	g_test_add_func("/control-admin/socket", test_socket);
	g_test_add_func("/control-admin/strangers", test_strangers);
	return g_test_run();
}
