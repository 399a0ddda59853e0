/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * warren: the command line of Warren.  It talks only to warrend, over D-Bus (the system bus, or
 * the bus named by --bus / WARREN_BUS_ADDRESS for tests), through the proxy generated from
 * data/io.github.warrenvpn.Engine1.xml.  What it prints comes from wr-cli-format.[ch].
 *
 * Exit codes (scripts may rely on them; docs/cli.md):
 *   0  done (status: the tunnel is running)
 *   1  warrend refused or failed (the message says why); status: not running; ping: no answer
 *   2  bad usage
 *   3  warrend is not running or cannot be reached
 *   4  not signed in (State "NeedsLogin") where the command needs it
 */

#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gio/gio.h>
#include <glib/gi18n.h>

#include "wr-cli-flows.h"
#include "wr-cli-format.h"
#include "wr-dbus-engine.h"
#include "wr-dbus-error.h"
#include "wr-i18n.h"

#define BUS_NAME    "io.github.warrenvpn.Engine1"
#define OBJECT_PATH "/io/github/warrenvpn/Engine1"

enum {
	EXIT_OK = 0,
	EXIT_FAILED = 1,
	EXIT_USAGE = 2,
	EXIT_NO_DAEMON = 3,
	EXIT_NEEDS_LOGIN = 4,
};

/* how long `up` and `login` wait for warrend to get there (seconds) */
#define DEFAULT_WAIT_SECONDS 120
#define PING_MAX_COUNT	     100
/* a call: long enough for a password dialog or a slow control server */
#define CALL_TIMEOUT_MS (180 * 1000)

typedef struct {
	WrDbusEngine1 *engine;
	gboolean json;
} Cli;

typedef int (*CommandFunc)(Cli *cli, int argc, char **argv);

static void
print_error(const gchar *format, ...) G_GNUC_PRINTF(1, 2);

static void
print_error(const gchar *format, ...)
{
	va_list args;
	g_autofree gchar *text = NULL;

	va_start(args, format);
	text = g_strdup_vprintf(format, args);
	va_end(args);
	g_printerr("warren: %s\n", text);
}

/* a refusal from warrend in words, and the exit code it means */
static int
report_error(const GError *error)
{
	g_autofree gchar *remote = NULL;
	const gchar *detail = error->message;

	if (g_dbus_error_is_remote_error(error)) {
		remote = g_dbus_error_get_remote_error(error);
		/* the message without the "GDBus.Error:name: " prefix */
		if (g_str_has_prefix(detail, "GDBus.Error:") && strstr(detail, ": ") != NULL)
			detail = strstr(detail, ": ") + 2;
	}
	if (error->domain == WR_DBUS_ERROR) {
		switch (error->code) {
		case WR_DBUS_ERROR_NOT_AUTHORIZED:
			print_error(_("not authorized: %s"), detail);
			return EXIT_FAILED;
		case WR_DBUS_ERROR_NEEDS_LOGIN:
			print_error(_("not signed in: run “warren login” first"));
			return EXIT_NEEDS_LOGIN;
		case WR_DBUS_ERROR_NO_SUCH_PEER:
			print_error(_("no such peer: %s"), detail);
			return EXIT_FAILED;
		case WR_DBUS_ERROR_NOT_RUNNING:
			print_error(_("Warren is not running: start it with “warren up”"));
			return EXIT_FAILED;
		case WR_DBUS_ERROR_INVALID_ARGUMENT:
			print_error(_("invalid argument: %s"), detail);
			return EXIT_USAGE;
		case WR_DBUS_ERROR_CONTROL_ERROR:
			print_error(_("the control server refused: %s"), detail);
			return EXIT_FAILED;
		case WR_DBUS_ERROR_TIMEOUT:
			print_error(_("no answer in time: %s"), detail);
			return EXIT_FAILED;
		case WR_DBUS_ERROR_NOT_AN_EXIT_NODE:
			print_error(_("not an exit node: %s"), detail);
			return EXIT_FAILED;
		case WR_DBUS_ERROR_BUSY:
			print_error(_("warrend is doing this already: %s"), detail);
			return EXIT_FAILED;
		case WR_DBUS_ERROR_LIMIT_EXCEEDED:
			print_error(_("too many requests, try again in a moment: %s"), detail);
			return EXIT_FAILED;
		default:
			/* TRANSLATORS: %s is warrend's own explanation, in English */
			print_error(_("warrend failed: %s"), detail);
			return EXIT_FAILED;
		}
	}
	if (g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
	    g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER) ||
	    g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_NO_REPLY)) {
		print_error(_("cannot reach warrend: %s"), detail);
		return EXIT_NO_DAEMON;
	}
	/* TRANSLATORS: %s is the D-Bus error, in English */
	print_error(_("the call to warrend failed: %s"), detail);
	return EXIT_FAILED;
}

static gboolean
parse_options(GOptionEntry *entries, const gchar *params, const gchar *summary, int *argc,
	      char ***argv)
{
	g_autoptr(GOptionContext) ctx = g_option_context_new(params);
	g_autoptr(GError) error = NULL;

	g_option_context_add_main_entries(ctx, entries, GETTEXT_PACKAGE);
	g_option_context_set_summary(ctx, summary);
	if (!g_option_context_parse(ctx, argc, argv, &error)) {
		print_error("%s", error->message);
		return FALSE;
	}
	return TRUE;
}

static gboolean
no_more_args(int argc)
{
	if (argc > 1) {
		print_error(_("too many arguments"));
		return FALSE;
	}
	return TRUE;
}

/* calls a method of warrend; polkit may ask the user for a password (interactive
 * authorization), so the call may take as long as they need */
static GVariant *
call(Cli *cli, const gchar *method, GVariant *params, GError **error)
{
	return g_dbus_proxy_call_sync(G_DBUS_PROXY(cli->engine), method, params,
				      G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION,
				      CALL_TIMEOUT_MS, NULL, error);
}

static gboolean
call_void(Cli *cli, const gchar *method, GVariant *params, GError **error)
{
	g_autoptr(GVariant) ret = call(cli, method, params, error);

	return ret != NULL;
}

/* waits until State is one of want[] (or timeout seconds pass); prints AuthURL once when
 * print_auth_url and one appears */
typedef struct {
	GMainLoop *loop;
	const gchar *const *want;
	gboolean print_auth_url;
	gboolean printed;
	gboolean timed_out;
} Wait;

static gboolean
wait_check(WrDbusEngine1 *engine, Wait *w)
{
	const gchar *url = wr_dbus_engine1_get_auth_url(engine);

	if (w->print_auth_url && !w->printed && url != NULL && url[0] != '\0') {
		g_print(_("To sign in, open this page in your browser:\n\n\t%s\n\n"), url);
		w->printed = TRUE;
	}
	return g_strv_contains(w->want, wr_dbus_engine1_get_state(engine) != NULL
						? wr_dbus_engine1_get_state(engine)
						: "");
}

static void
wait_notify_cb(GObject *object, GParamSpec *pspec, gpointer user_data)
{
	Wait *w = user_data;

	if (wait_check(WR_DBUS_ENGINE1(object), w))
		g_main_loop_quit(w->loop);
}

static gboolean
wait_timeout_cb(gpointer user_data)
{
	Wait *w = user_data;

	w->timed_out = TRUE;
	g_main_loop_quit(w->loop);
	return G_SOURCE_REMOVE;
}

static gboolean
wait_for_state(Cli *cli, const gchar *const *want, gboolean print_auth_url, guint seconds)
{
	Wait w = {.want = want, .print_auth_url = print_auth_url};
	gulong a, b;
	guint timer;

	if (wait_check(cli->engine, &w))
		return TRUE;
	w.loop = g_main_loop_new(NULL, FALSE);
	a = g_signal_connect(cli->engine, "notify::state", G_CALLBACK(wait_notify_cb), &w);
	b = g_signal_connect(cli->engine, "notify::auth-url", G_CALLBACK(wait_notify_cb), &w);
	timer = g_timeout_add_seconds(seconds, wait_timeout_cb, &w);
	g_main_loop_run(w.loop);
	g_signal_handler_disconnect(cli->engine, a);
	g_signal_handler_disconnect(cli->engine, b);
	if (!w.timed_out)
		g_source_remove(timer);
	g_main_loop_unref(w.loop);
	return !w.timed_out;
}

/* --auth-key K, or file:PATH to keep the key out of the process list */
static gchar *
read_auth_key(const gchar *arg, GError **error)
{
	g_autofree gchar *text = NULL;

	if (!g_str_has_prefix(arg, "file:"))
		return g_strdup(arg);
	if (!g_file_get_contents(arg + 5, &text, NULL, error))
		return NULL;
	return g_strdup(g_strstrip(text));
}

/* signs in when needed: with an auth key, or in the browser; waits until signed in */
static int
ensure_login(Cli *cli, const gchar *auth_key_arg, guint wait_seconds, gboolean force)
{
	static const gchar *const signed_in[] = {"Stopped", "Starting", "Running",
						 "NeedsMachineAuth", NULL};
	g_autoptr(GError) error = NULL;

	if (!force && g_strcmp0(wr_dbus_engine1_get_state(cli->engine), "NeedsLogin") != 0)
		return EXIT_OK;
	if (auth_key_arg != NULL) {
		g_autofree gchar *key = read_auth_key(auth_key_arg, &error);

		if (key == NULL) {
			print_error(_("reading the auth key: %s"), error->message);
			return EXIT_USAGE;
		}
		gboolean ok = call_void(cli, "LoginWithAuthKey", g_variant_new("(s)", key), &error);

		if (key[0] != '\0')
			memset(key, 0,
			       strlen(key)); /* not a secret of ours, but no need to keep it */
		if (!ok)
			return report_error(error);
	} else if (!call_void(cli, "Login", NULL, &error)) {
		if (!g_error_matches(error, WR_DBUS_ERROR, WR_DBUS_ERROR_BUSY))
			return report_error(error);
		/* a sign-in already waits: show its page too */
	}
	if (!wait_for_state(cli, signed_in, auth_key_arg == NULL, wait_seconds)) {
		print_error(_("not signed in after %u seconds"), wait_seconds);
		return EXIT_NEEDS_LOGIN;
	}
	if (g_strcmp0(wr_dbus_engine1_get_state(cli->engine), "NeedsMachineAuth") == 0)
		g_print(_("Signed in. An administrator must now approve this machine.\n"));
	return EXIT_OK;
}

static GVariant *
get_peers(Cli *cli, GError **error);
static GVariant *
find_peer(GVariant *peers, const gchar *arg);

/* ---- routing options: what `up` and `set` share (SetPrefs keys, SetExitNode) ---- */

typedef struct {
	GVariantDict prefs; /* the SetPrefs dictionary */
	gboolean any_pref;
	gchar *exit_node; /* NULL: not given */
} RouteArgs;

/* --flag, --flag=true, --flag=false: the bool SetPrefs key of each flag */
static gboolean
bool_option_cb(const gchar *option_name, const gchar *value, gpointer data, GError **error)
{
	static const struct {
		const gchar *option, *key;
	} keys[] = {
		{"--advertise-exit-node", "advertise-exit-node"},
		{"--accept-routes", "accept-routes"},
		{"--exit-node-allow-lan-access", "exit-node-allow-lan"},
	};
	RouteArgs *args = data;
	gboolean on;

	if (value == NULL || g_ascii_strcasecmp(value, "true") == 0 || g_str_equal(value, "1") ||
	    g_ascii_strcasecmp(value, "yes") == 0) {
		on = TRUE;
	} else if (g_ascii_strcasecmp(value, "false") == 0 || g_str_equal(value, "0") ||
		   g_ascii_strcasecmp(value, "no") == 0) {
		on = FALSE;
	} else {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    _("%s: '%s' is neither true nor false"), option_name, value);
		return FALSE;
	}
	for (gsize i = 0; i < G_N_ELEMENTS(keys); i++) {
		if (g_str_equal(option_name, keys[i].option)) {
			g_variant_dict_insert(&args->prefs, keys[i].key, "b", on);
			args->any_pref = TRUE;
			return TRUE;
		}
	}
	g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED, _("%s: unknown option"),
		    option_name);
	return FALSE;
}

/* a comma separated list; "" advertises none.  warrend checks each prefix and names a bad one */
static gboolean
routes_option_cb(const gchar *option_name, const gchar *value, gpointer data, GError **error)
{
	RouteArgs *args = data;
	g_auto(GStrv) parts = g_strsplit(value, ",", -1);
	g_autoptr(GPtrArray) routes = g_ptr_array_new();

	for (guint i = 0; parts[i] != NULL; i++) {
		g_strstrip(parts[i]);
		if (*parts[i] == '\0') {
			if (parts[1] == NULL)
				break; /* "": none */
			g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
				    _("%s: an empty prefix in '%s'"), option_name, value);
			return FALSE;
		}
		g_ptr_array_add(routes, parts[i]);
	}
	g_variant_dict_insert_value(
		&args->prefs, "advertise-routes",
		g_variant_new_strv((const gchar *const *) routes->pdata, routes->len));
	args->any_pref = TRUE;
	return TRUE;
}

static gboolean
exit_node_option_cb(const gchar *option_name, const gchar *value, gpointer data, GError **error)
{
	RouteArgs *args = data;

	g_free(args->exit_node);
	args->exit_node = g_strdup(value);
	return TRUE;
}

static GOptionGroup *
route_group(RouteArgs *args, gboolean with_exit_node)
{
	GOptionEntry entries[] = {
		{"advertise-exit-node", 0, G_OPTION_FLAG_OPTIONAL_ARG, G_OPTION_ARG_CALLBACK,
		 bool_option_cb, N_("Offer this node as an exit node (=false: stop)"), NULL},
		{"advertise-routes", 0, 0, G_OPTION_ARG_CALLBACK, routes_option_cb,
		 N_("Offer routes to these subnets, comma separated (\"\": none)"), "PREFIXES"},
		{"accept-routes", 0, G_OPTION_FLAG_OPTIONAL_ARG, G_OPTION_ARG_CALLBACK,
		 bool_option_cb, N_("Use the subnet routes other nodes offer (=false: stop)"),
		 NULL},
		/* set only: */
		{"exit-node", 0, 0, G_OPTION_ARG_CALLBACK, exit_node_option_cb,
		 N_("Send all traffic through this peer (name, DNS name, id or address; \"\": "
		    "none)"),
		 "PEER"},
		{"exit-node-allow-lan-access", 0, G_OPTION_FLAG_OPTIONAL_ARG, G_OPTION_ARG_CALLBACK,
		 bool_option_cb,
		 N_("With an exit node, reach the local LAN directly (=false: "
		    "through the exit node)"),
		 NULL},
		{NULL},
	};
	GOptionGroup *group = g_option_group_new("routing", _("Routing options"),
						 _("Show the routing options"), args, NULL);

	if (!with_exit_node)
		entries[3] = entries[5];
	g_option_group_add_entries(group, entries);
	g_option_group_set_translation_domain(group, GETTEXT_PACKAGE);
	return group;
}

static gboolean
parse_route_options(RouteArgs *args, gboolean with_exit_node, GOptionEntry *entries,
		    const gchar *summary, int *argc, char ***argv)
{
	g_autoptr(GOptionContext) ctx = g_option_context_new(NULL);
	g_autoptr(GError) error = NULL;

	g_option_context_set_main_group(ctx, route_group(args, with_exit_node));
	if (entries != NULL)
		g_option_context_add_main_entries(ctx, entries, GETTEXT_PACKAGE);
	g_option_context_set_summary(ctx, summary);
	if (!g_option_context_parse(ctx, argc, argv, &error)) {
		print_error("%s", error->message);
		return FALSE;
	}
	return TRUE;
}

/*
 * Applies what was given, so that a bad value changes nothing: the exit node is looked up
 * first (no such peer, not an exit node), then SetPrefs checks every key at once, then the
 * exit node is set by its id.
 */
static int
apply_route_args(Cli *cli, RouteArgs *args)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *exit_id = NULL;

	if (args->exit_node != NULL && *args->exit_node != '\0') {
		g_autoptr(GVariant) peers = get_peers(cli, &error);
		g_autoptr(GVariant) peer = NULL;
		gboolean option = FALSE;

		if (peers == NULL)
			return report_error(error);
		peer = find_peer(peers, args->exit_node);
		if (peer == NULL) {
			print_error(_("--exit-node: no peer is named '%s'"), args->exit_node);
			return EXIT_FAILED;
		}
		if (!g_variant_lookup(peer, "exit-node-option", "b", &option) || !option) {
			print_error(_("--exit-node: %s is not an approved exit node"),
				    args->exit_node);
			return EXIT_FAILED;
		}
		if (!g_variant_lookup(peer, "id", "s", &exit_id))
			exit_id = g_strdup(args->exit_node);
	}
	if (args->any_pref &&
	    !call_void(cli, "SetPrefs", g_variant_new("(@a{sv})", g_variant_dict_end(&args->prefs)),
		       &error))
		return report_error(error);
	if (args->exit_node != NULL &&
	    !call_void(cli, "SetExitNode",
		       g_variant_new("(s)", exit_id != NULL ? exit_id : args->exit_node), &error))
		return report_error(error);
	return EXIT_OK;
}

static void
route_args_clear(RouteArgs *args)
{
	g_variant_dict_clear(&args->prefs);
	g_free(args->exit_node);
}

static int
cmd_set(Cli *cli, int argc, char **argv)
{
	RouteArgs args = {0};
	int r;

	g_variant_dict_init(&args.prefs, NULL);
	if (!parse_route_options(
		    &args, TRUE, NULL,
		    _("Change the exit node, LAN access and routes.  A bad value is an "
		      "error and changes nothing."),
		    &argc, &argv) ||
	    !no_more_args(argc)) {
		route_args_clear(&args);
		return EXIT_USAGE;
	}
	if (!args.any_pref && args.exit_node == NULL) {
		print_error(_("nothing to set: see “warren set --help”"));
		route_args_clear(&args);
		return EXIT_USAGE;
	}
	r = apply_route_args(cli, &args);
	route_args_clear(&args);
	return r;
}

static int
cmd_up(Cli *cli, int argc, char **argv)
{
	static const gchar *const running[] = {"Running", NULL};
	g_autofree gchar *server = NULL;
	g_autofree gchar *auth_key = NULL;
	gint wait_seconds = DEFAULT_WAIT_SECONDS;
	GOptionEntry entries[] = {
		{"login-server", 0, 0, G_OPTION_ARG_STRING, &server,
		 N_("The control server to use"), "URL"},
		{"auth-key", 0, 0, G_OPTION_ARG_STRING, &auth_key,
		 N_("Sign in with this pre-authorized key (or file:PATH)"), "KEY"},
		{"timeout", 0, 0, G_OPTION_ARG_INT, &wait_seconds,
		 N_("Seconds to wait for the tunnel (default 120)"), "SECONDS"},
		{NULL},
	};
	g_autoptr(GError) error = NULL;
	RouteArgs args = {0};
	int r;

	g_variant_dict_init(&args.prefs, NULL);
	if (!parse_route_options(&args, FALSE, entries,
				 _("Connect to the tailnet, signing in first if needed."), &argc,
				 &argv) ||
	    !no_more_args(argc)) {
		route_args_clear(&args);
		return EXIT_USAGE;
	}
	if (wait_seconds <= 0) {
		print_error(_("--timeout must be positive"));
		route_args_clear(&args);
		return EXIT_USAGE;
	}
	/* what to advertise before Up, so that the first register carries it */
	r = args.any_pref ? apply_route_args(cli, &args) : EXIT_OK;
	route_args_clear(&args);
	if (r != EXIT_OK)
		return r;
	if (server != NULL &&
	    g_strcmp0(server, wr_dbus_engine1_get_control_url(cli->engine)) != 0 &&
	    !call_void(cli, "SetControlURL", g_variant_new("(s)", server), &error))
		return report_error(error);
	r = ensure_login(cli, auth_key, (guint) wait_seconds, FALSE);
	if (r != EXIT_OK)
		return r;
	if (!call_void(cli, "Up", NULL, &error))
		return report_error(error);
	if (!wait_for_state(cli, running, FALSE, (guint) wait_seconds)) {
		print_error(_("the tunnel is not up after %d seconds (state %s)"), wait_seconds,
			    wr_dbus_engine1_get_state(cli->engine));
		return EXIT_FAILED;
	}
	return EXIT_OK;
}

static int
cmd_down(Cli *cli, int argc, char **argv)
{
	GOptionEntry entries[] = {{NULL}};
	g_autoptr(GError) error = NULL;

	if (!parse_options(entries, NULL, _("Disconnect, and stay disconnected after a restart."),
			   &argc, &argv) ||
	    !no_more_args(argc))
		return EXIT_USAGE;
	if (!call_void(cli, "Down", NULL, &error))
		return report_error(error);
	return EXIT_OK;
}

static int
cmd_login(Cli *cli, int argc, char **argv)
{
	g_autofree gchar *auth_key = NULL;
	gint wait_seconds = DEFAULT_WAIT_SECONDS;
	GOptionEntry entries[] = {
		{"auth-key", 0, 0, G_OPTION_ARG_STRING, &auth_key,
		 N_("Sign in with this pre-authorized key (or file:PATH)"), "KEY"},
		{"timeout", 0, 0, G_OPTION_ARG_INT, &wait_seconds,
		 N_("Seconds to wait for the sign-in (default 120)"), "SECONDS"},
		{NULL},
	};

	if (!parse_options(entries, NULL, _("Sign in, in the browser or with an auth key."), &argc,
			   &argv) ||
	    !no_more_args(argc))
		return EXIT_USAGE;
	if (wait_seconds <= 0) {
		print_error(_("--timeout must be positive"));
		return EXIT_USAGE;
	}
	return ensure_login(cli, auth_key, (guint) wait_seconds, TRUE);
}

static int
cmd_logout(Cli *cli, int argc, char **argv)
{
	GOptionEntry entries[] = {{NULL}};
	g_autoptr(GError) error = NULL;

	if (!parse_options(entries, NULL, _("Sign out: this node leaves the tailnet."), &argc,
			   &argv) ||
	    !no_more_args(argc))
		return EXIT_USAGE;
	if (!call_void(cli, "Logout", NULL, &error))
		return report_error(error);
	return EXIT_OK;
}

static GVariant *
get_peers(Cli *cli, GError **error)
{
	g_autoptr(GVariant) ret = call(cli, "GetPeers", NULL, error);

	return ret != NULL ? g_variant_get_child_value(ret, 0) : NULL;
}

static int
state_exit_code(const gchar *state)
{
	if (g_strcmp0(state, "Running") == 0)
		return EXIT_OK;
	if (g_strcmp0(state, "NeedsLogin") == 0)
		return EXIT_NEEDS_LOGIN;
	return EXIT_FAILED;
}

static int
cmd_status(Cli *cli, int argc, char **argv)
{
	GOptionEntry entries[] = {
		{"json", 0, 0, G_OPTION_ARG_NONE, &cli->json, N_("Print JSON"), NULL},
		{NULL},
	};
	const gchar *state;
	g_autoptr(GVariant) peers = NULL;
	g_autoptr(GError) error = NULL;
	GVariant *self;
	const gchar *const *health;
	const gchar *none[] = {NULL};
	const gchar *exit_node;

	if (!parse_options(entries, NULL, _("Show this node, its peers and how they are reached."),
			   &argc, &argv) ||
	    !no_more_args(argc))
		return EXIT_USAGE;
	state = wr_dbus_engine1_get_state(cli->engine);
	self = wr_dbus_engine1_get_self(cli->engine);
	health = wr_dbus_engine1_get_health(cli->engine);
	exit_node = wr_dbus_engine1_get_exit_node(cli->engine);
	peers = get_peers(cli, &error);
	if (peers == NULL)
		return report_error(error);
	if (cli->json) {
		g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE_VARDICT);
		g_autofree gchar *json = NULL;

		g_variant_builder_add(&b, "{sv}", "state",
				      g_variant_new_string(state ? state : ""));
		g_variant_builder_add(&b, "{sv}", "health",
				      g_variant_new_strv(health ? health : none, -1));
		g_variant_builder_add(&b, "{sv}", "self",
				      self != NULL ? self : g_variant_new("a{sv}", NULL));
		g_variant_builder_add(&b, "{sv}", "exit-node",
				      g_variant_new_string(exit_node != NULL ? exit_node : ""));
		g_variant_builder_add(&b, "{sv}", "peers", peers);
		json = wr_cli_to_json(g_variant_builder_end(&b));
		g_print("%s\n", json);
	} else {
		g_autofree gchar *text = wr_cli_format_status(state, health, self, peers, exit_node,
							      g_get_real_time() / G_USEC_PER_SEC);

		g_print("%s", text);
	}
	return state_exit_code(state);
}

/* the peer dictionary that arg names (id, name, dns-name or an address), or NULL */
static GVariant *
find_peer(GVariant *peers, const gchar *arg)
{
	for (gsize i = 0; peers != NULL && i < g_variant_n_children(peers); i++) {
		g_autoptr(GVariant) peer = g_variant_get_child_value(peers, i);
		g_autoptr(GVariant) addresses = NULL;
		const gchar *value;

		for (guint k = 0; k < 3; k++) {
			static const gchar *const keys[] = {"id", "name", "dns-name"};

			if (g_variant_lookup(peer, keys[k], "&s", &value) &&
			    (g_ascii_strcasecmp(value, arg) == 0 ||
			     (k == 2 && g_str_has_suffix(value, ".") &&
			      strlen(value) == strlen(arg) + 1 &&
			      g_ascii_strncasecmp(value, arg, strlen(arg)) == 0)))
				return g_steal_pointer(&peer);
		}
		addresses = g_variant_lookup_value(peer, "addresses", G_VARIANT_TYPE_STRING_ARRAY);
		for (gsize a = 0; addresses != NULL && a < g_variant_n_children(addresses); a++) {
			g_autofree gchar *text = NULL;
			gchar *slash;

			g_variant_get_child(addresses, a, "s", &text);
			slash = strchr(text, '/');
			if (slash != NULL)
				*slash = '\0';
			if (g_strcmp0(text, arg) == 0)
				return g_steal_pointer(&peer);
		}
	}
	return NULL;
}

static int
cmd_ip(Cli *cli, int argc, char **argv)
{
	gboolean v4 = FALSE, v6 = FALSE;
	GOptionEntry entries[] = {
		{"4", '4', 0, G_OPTION_ARG_NONE, &v4, N_("Only the IPv4 address"), NULL},
		{"6", '6', 0, G_OPTION_ARG_NONE, &v6, N_("Only the IPv6 address"), NULL},
		{"json", 0, 0, G_OPTION_ARG_NONE, &cli->json, N_("Print JSON"), NULL},
		{NULL},
	};
	g_autoptr(GVariant) peers = NULL;
	g_autoptr(GVariant) peer = NULL;
	g_autoptr(GVariant) addresses = NULL;
	g_autoptr(GError) error = NULL;
	GVariant *dict;
	gboolean any = FALSE;

	if (!parse_options(entries, _("[PEER]"),
			   _("Show this node's tailnet addresses, or a peer's."), &argc, &argv))
		return EXIT_USAGE;
	if (argc > 2) {
		print_error(_("too many arguments"));
		return EXIT_USAGE;
	}
	if (v4 && v6) {
		print_error(_("-4 and -6 exclude each other"));
		return EXIT_USAGE;
	}
	if (argc == 2) {
		peers = get_peers(cli, &error);
		if (peers == NULL)
			return report_error(error);
		peer = find_peer(peers, argv[1]);
		if (peer == NULL) {
			print_error(_("no such peer: %s"), argv[1]);
			return EXIT_FAILED;
		}
		dict = peer;
	} else {
		dict = wr_dbus_engine1_get_self(cli->engine);
		if (dict == NULL || g_variant_n_children(dict) == 0) {
			print_error(_("no addresses yet (state %s)"),
				    wr_dbus_engine1_get_state(cli->engine));
			return g_strcmp0(wr_dbus_engine1_get_state(cli->engine), "NeedsLogin") == 0
				       ? EXIT_NEEDS_LOGIN
				       : EXIT_FAILED;
		}
	}
	addresses = g_variant_lookup_value(dict, "addresses", G_VARIANT_TYPE_STRING_ARRAY);
	if (cli->json) {
		g_autofree gchar *json =
			wr_cli_to_json(addresses != NULL ? addresses : g_variant_new_strv(NULL, 0));

		g_print("%s\n", json);
		return EXIT_OK;
	}
	for (gsize a = 0; addresses != NULL && a < g_variant_n_children(addresses); a++) {
		g_autofree gchar *text = NULL;
		gchar *slash;

		g_variant_get_child(addresses, a, "s", &text);
		slash = strchr(text, '/');
		if (slash != NULL)
			*slash = '\0';
		if ((v4 && strchr(text, ':') != NULL) || (v6 && strchr(text, ':') == NULL))
			continue;
		g_print("%s\n", text);
		any = TRUE;
	}
	return any ? EXIT_OK : EXIT_FAILED;
}

static int
cmd_ping(Cli *cli, int argc, char **argv)
{
	gint count = 10;
	gboolean keep_going = FALSE;
	GOptionEntry entries[] = {
		{"count", 'c', 0, G_OPTION_ARG_INT, &count,
		 N_("At most this many pings (default 10)"), "N"},
		{"no-stop", 0, 0, G_OPTION_ARG_NONE, &keep_going,
		 N_("Keep pinging after a direct path answered"), NULL},
		{"json", 0, 0, G_OPTION_ARG_NONE, &cli->json, N_("Print JSON, one reply per line"),
		 NULL},
		{NULL},
	};
	g_autoptr(GVariant) peers = NULL;
	g_autoptr(GVariant) peer = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *address = NULL;
	const gchar *name;
	gboolean answered = FALSE;
	gint64 last_sent = 0;

	if (!parse_options(entries, _("PEER"),
			   _("Ping a peer through the tunnel's own path (DERP or direct)."), &argc,
			   &argv))
		return EXIT_USAGE;
	if (argc != 2) {
		print_error(_("which peer? (warren ping PEER)"));
		return EXIT_USAGE;
	}
	if (count < 1 || count > PING_MAX_COUNT) {
		print_error(_("--count must be 1 to %d"), PING_MAX_COUNT);
		return EXIT_USAGE;
	}
	peers = get_peers(cli, &error);
	if (peers == NULL)
		return report_error(error);
	peer = find_peer(peers, argv[1]);
	name = argv[1];
	if (peer != NULL) {
		g_variant_lookup(peer, "name", "&s", &name);
		address = wr_cli_first_address(peer, 0);
	}
	if (address == NULL)
		address = g_strdup(argv[1]);
	for (gint i = 0; i < count; i++) {
		g_autoptr(GVariant) ret = NULL;
		g_autoptr(GVariant) replies = NULL;
		gint64 wait = last_sent + G_USEC_PER_SEC - g_get_monotonic_time();

		/* one a second, however fast the answer came */
		if (i > 0 && wait > 0)
			g_usleep((gulong) wait);
		last_sent = g_get_monotonic_time();
		ret = call(cli, "Ping", g_variant_new("(su)", argv[1], 1), &error);

		if (ret == NULL)
			return report_error(error);
		replies = g_variant_get_child_value(ret, 0);
		for (gsize r = 0; r < g_variant_n_children(replies); r++) {
			g_autoptr(GVariant) reply = g_variant_get_child_value(replies, r);
			gint64 latency = -1;

			g_variant_lookup(reply, "latency-us", "x", &latency);
			answered = answered || latency >= 0;
			if (cli->json) {
				g_autofree gchar *json = wr_cli_to_json(reply);
				gchar *nl;

				/* one object per line */
				while ((nl = strchr(json, '\n')) != NULL)
					*nl = ' ';
				g_print("%s\n", json);
			} else {
				g_autofree gchar *line =
					wr_cli_format_ping_reply(name, address, reply);

				g_print("%s\n", line);
			}
			if (!keep_going && wr_cli_ping_reply_is_direct(reply))
				return EXIT_OK;
		}
	}
	return answered ? EXIT_OK : EXIT_FAILED;
}

static int
cmd_netcheck(Cli *cli, int argc, char **argv)
{
	GOptionEntry entries[] = {
		{"json", 0, 0, G_OPTION_ARG_NONE, &cli->json, N_("Print JSON"), NULL},
		{NULL},
	};
	g_autoptr(GVariant) ret = NULL;
	g_autoptr(GVariant) report = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *text = NULL;

	if (!parse_options(entries, NULL,
			   _("Measure this network: UDP, public address, NAT, DERP latency."),
			   &argc, &argv) ||
	    !no_more_args(argc))
		return EXIT_USAGE;
	ret = call(cli, "Netcheck", NULL, &error);
	if (ret == NULL)
		return report_error(error);
	report = g_variant_get_child_value(ret, 0);
	text = cli->json ? wr_cli_to_json(report) : wr_cli_format_netcheck(report);
	g_print("%s%s", text, cli->json ? "\n" : "");
	return EXIT_OK;
}

static int
cmd_log(Cli *cli, int argc, char **argv)
{
	g_autofree gchar *since_text = NULL;
	GOptionEntry entries[] = {
		{"since", 0, 0, G_OPTION_ARG_STRING, &since_text,
		 N_("Only flows that ended since then: a duration back (30m, 2h, 1d) or a time "
		    "(2026-12-05T07:00:00)"),
		 N_("DURATION|TIME")},
		{"json", 0, 0, G_OPTION_ARG_NONE, &cli->json, N_("Print JSON"), NULL},
		{NULL},
	};
	g_autoptr(GVariant) ret = NULL;
	g_autoptr(GVariant) flows = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GTimeZone) tz = g_time_zone_new_local();
	g_autofree gchar *text = NULL;
	gint64 since = 0;

	if (!parse_options(entries, NULL,
			   _("Show the connections this machine carried through the tunnel "
			     "(its flow log)."),
			   &argc, &argv) ||
	    !no_more_args(argc))
		return EXIT_USAGE;
	if (since_text != NULL &&
	    !wr_cli_flows_parse_since(since_text, g_get_real_time(), tz, &since, &error)) {
		print_error("%s", error->message);
		return EXIT_USAGE;
	}
	ret = call(cli, "GetFlows", g_variant_new("(x)", since), &error);
	if (ret == NULL)
		return report_error(error);
	flows = g_variant_get_child_value(ret, 0);
	text = cli->json ? wr_cli_to_json(flows) : wr_cli_flows_format(flows, tz);
	g_print("%s%s", text, cli->json ? "\n" : "");
	return EXIT_OK;
}

static int
cmd_version(Cli *cli, int argc, char **argv)
{
	GOptionEntry entries[] = {
		{"json", 0, 0, G_OPTION_ARG_NONE, &cli->json, N_("Print JSON"), NULL},
		{NULL},
	};

	if (!parse_options(entries, NULL, _("Show the version."), &argc, &argv) ||
	    !no_more_args(argc))
		return EXIT_USAGE;
	if (cli->json)
		g_print("{\n  \"version\" : \"%s\"\n}\n", PACKAGE_VERSION);
	else
		g_print("%s\n", PACKAGE_VERSION);
	return EXIT_OK;
}

static const struct {
	const gchar *name;
	CommandFunc func;
	gboolean needs_daemon;
	const gchar *summary;
} commands[] = {
	{"up", cmd_up, TRUE, N_("Connect (signing in first if needed)")},
	{"down", cmd_down, TRUE, N_("Disconnect")},
	{"login", cmd_login, TRUE, N_("Sign in")},
	{"logout", cmd_logout, TRUE, N_("Sign out")},
	{"status", cmd_status, TRUE, N_("Show this node and its peers")},
	{"ip", cmd_ip, TRUE, N_("Show tailnet addresses")},
	{"ping", cmd_ping, TRUE, N_("Ping a peer, saying which path answered")},
	{"netcheck", cmd_netcheck, TRUE, N_("Measure this network")},
	{"log", cmd_log, TRUE, N_("Show the connections carried (flow log)")},
	{"set", cmd_set, TRUE, N_("Change the exit node, LAN access and routes")},
	{"version", cmd_version, FALSE, N_("Show the version")},
};

static void
usage(void)
{
	g_printerr(_("Usage: warren [--bus ADDRESS] COMMAND [OPTIONS]\n\nCommands:\n"));
	for (guint i = 0; i < G_N_ELEMENTS(commands); i++)
		g_printerr("  %-10s %s\n", commands[i].name, _(commands[i].summary));
	g_printerr(_("\n“warren COMMAND --help” tells more.\n"));
}

static gboolean
asks_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (g_strcmp0(argv[i], "--") == 0)
			break;
		if (g_strcmp0(argv[i], "--help") == 0 || g_strcmp0(argv[i], "-h") == 0 ||
		    g_strcmp0(argv[i], "-?") == 0 || g_str_has_prefix(argv[i], "--help-"))
			return TRUE;
	}
	return FALSE;
}

static WrDbusEngine1 *
connect_engine(const gchar *address, int *out_code)
{
	g_autoptr(GDBusConnection) bus = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(WrDbusEngine1) engine = NULL;
	g_autofree gchar *owner = NULL;

	/* registers the error names, so refusals arrive as WR_DBUS_ERROR codes */
	(void) wr_dbus_error_quark();
	if (address != NULL)
		bus = g_dbus_connection_new_for_address_sync(
			address,
			G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
				G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
			NULL, NULL, &error);
	else
		bus = g_bus_get_sync(G_BUS_TYPE_SYSTEM, NULL, &error);
	if (bus == NULL) {
		print_error(_("cannot connect to the bus: %s"), error->message);
		*out_code = EXIT_NO_DAEMON;
		return NULL;
	}
	engine = wr_dbus_engine1_proxy_new_sync(bus, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START, BUS_NAME,
						OBJECT_PATH, NULL, &error);
	if (engine == NULL) {
		*out_code = report_error(error);
		return NULL;
	}
	owner = g_dbus_proxy_get_name_owner(G_DBUS_PROXY(engine));
	if (owner == NULL) {
		print_error(_("warrend is not running (nobody owns %s on this bus)"), BUS_NAME);
		*out_code = EXIT_NO_DAEMON;
		return NULL;
	}
	return g_steal_pointer(&engine);
}

int
main(int argc, char **argv)
{
	const gchar *address = g_getenv("WARREN_BUS_ADDRESS");
	Cli cli = {0};
	int first = 1;
	int code = EXIT_OK;

	wr_i18n_init();

	if (argc > 2 && g_strcmp0(argv[1], "--bus") == 0) {
		address = argv[2];
		first = 3;
	}
	if (argc <= first || g_strcmp0(argv[first], "--help") == 0 ||
	    g_strcmp0(argv[first], "-h") == 0 || g_strcmp0(argv[first], "help") == 0) {
		usage();
		return argc <= first ? EXIT_USAGE : EXIT_OK;
	}
	for (guint i = 0; i < G_N_ELEMENTS(commands); i++) {
		g_autofree gchar *prgname = NULL;

		if (g_strcmp0(argv[first], commands[i].name) != 0)
			continue;
		prgname = g_strdup_printf("warren %s", commands[i].name);
		g_set_prgname(prgname);
		/* help needs no daemon: the command's option parser prints it and exits */
		if (commands[i].needs_daemon && !asks_help(argc - first, argv + first)) {
			cli.engine = connect_engine(address, &code);
			if (cli.engine == NULL)
				return code;
		}
		code = commands[i].func(&cli, argc - first, argv + first);
		g_clear_object(&cli.engine);
		return code;
	}
	print_error(_("unknown command “%s”"), argv[first]);
	usage();
	return EXIT_USAGE;
}
