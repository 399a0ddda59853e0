/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * warrend's D-Bus API (data/io.github.warrenvpn.Engine1.xml) and the code generated from it in
 * app/common: the generated interface is the XML's, member for member; the XML carries the
 * contract of docs/design.md; every error name documented in the XML is registered in
 * WR_DBUS_ERROR and the other way round; and the generated skeleton and proxy talk to each
 * other over a real (private) bus: properties, PropertiesChanged, a method, a D-Bus error
 * that arrives as its WrDbusError code, and the PeerEvent signal.
 */

#define G_LOG_DOMAIN "WrTestDbusApi"

#include "config.h"

#include <string.h>

#include <gio/gio.h>

#include "wr-dbus-engine.h"
#include "wr-dbus-error.h"

#define OBJECT_PATH    "/io/github/warrenvpn/Engine1"
#define INTERFACE_NAME "io.github.warrenvpn.Engine1"

static char *
xml_path(void)
{
	return g_test_build_filename(G_TEST_DIST, "..", "data", "io.github.warrenvpn.Engine1.xml",
				     NULL);
}

static GDBusInterfaceInfo *
parse_xml_interface(GDBusNodeInfo **out_node)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *path = xml_path();
	g_autofree char *text = NULL;
	GDBusNodeInfo *node;
	GDBusInterfaceInfo *iface;

	g_assert_true(g_file_get_contents(path, &text, NULL, &error));
	g_assert_no_error(error);
	node = g_dbus_node_info_new_for_xml(text, &error);
	g_assert_no_error(error);
	g_assert_nonnull(node);
	iface = g_dbus_node_info_lookup_interface(node, INTERFACE_NAME);
	g_assert_nonnull(iface);
	*out_node = node;
	return iface;
}

static char *
args_signature(GDBusArgInfo **args)
{
	GString *s = g_string_new(NULL);

	for (guint i = 0; args != NULL && args[i] != NULL; i++)
		g_string_append(s, args[i]->signature);
	return g_string_free(s, FALSE);
}

static guint
count(gpointer *v)
{
	guint n = 0;

	while (v != NULL && v[n] != NULL)
		n++;
	return n;
}

/* the generated interface info is the XML's: same members, same names and types */
static void
test_dbus_api_generated_matches_xml(void)
{
	GDBusNodeInfo *node = NULL;
	GDBusInterfaceInfo *want = parse_xml_interface(&node);
	GDBusInterfaceInfo *got = wr_dbus_engine1_interface_info();

	g_assert_cmpstr(got->name, ==, want->name);
	g_assert_cmpuint(count((gpointer *) got->methods), ==, count((gpointer *) want->methods));
	for (guint i = 0; want->methods[i] != NULL; i++) {
		GDBusMethodInfo *w = want->methods[i];
		GDBusMethodInfo *g = g_dbus_interface_info_lookup_method(got, w->name);
		g_autofree char *win = args_signature(w->in_args);
		g_autofree char *wout = args_signature(w->out_args);
		g_autofree char *gin = NULL;
		g_autofree char *gout = NULL;

		g_assert_nonnull(g);
		gin = args_signature(g->in_args);
		gout = args_signature(g->out_args);
		g_assert_cmpstr(gin, ==, win);
		g_assert_cmpstr(gout, ==, wout);
	}
	g_assert_cmpuint(count((gpointer *) got->properties), ==,
			 count((gpointer *) want->properties));
	for (guint i = 0; want->properties[i] != NULL; i++) {
		GDBusPropertyInfo *w = want->properties[i];
		GDBusPropertyInfo *g = g_dbus_interface_info_lookup_property(got, w->name);

		g_assert_nonnull(g);
		g_assert_cmpstr(g->signature, ==, w->signature);
		g_assert_cmpint(g->flags, ==, w->flags);
	}
	g_assert_cmpuint(count((gpointer *) got->signals), ==, count((gpointer *) want->signals));
	for (guint i = 0; want->signals[i] != NULL; i++) {
		GDBusSignalInfo *w = want->signals[i];
		GDBusSignalInfo *g = g_dbus_interface_info_lookup_signal(got, w->name);
		g_autofree char *ws = args_signature(w->args);
		g_autofree char *gs = NULL;

		g_assert_nonnull(g);
		gs = args_signature(g->args);
		g_assert_cmpstr(gs, ==, ws);
	}
	g_dbus_node_info_unref(node);
}

/* the contract as docs/design.md ("The D-Bus API") states it */
static const struct {
	const char *name;
	const char *in;
	const char *out;
} contract_methods[] = {
	{"Up", "", ""},
	{"Down", "", ""},
	{"Login", "", ""},
	{"LoginWithAuthKey", "s", ""},
	{"Logout", "", ""},
	{"SetControlURL", "s", ""},
	{"SetExitNode", "s", ""},
	{"SetPrefs", "a{sv}", ""},
	{"GetPeers", "", "aa{sv}"},
	{"Ping", "su", "aa{sv}"},
	{"Netcheck", "", "a{sv}"},
	{"GetFlows", "x", "aa{sv}"},
};

static const struct {
	const char *name;
	const char *signature;
} contract_properties[] = {
	{"State", "s"},	   {"AuthURL", "s"},	      {"ControlURL", "s"}, {"Self", "a{sv}"},
	{"ExitNode", "s"}, {"ExitNodeAllowLAN", "b"}, {"Health", "as"},
};

/* the peer dictionary keys docs/design.md requires, each documented in the XML */
static const char *const peer_keys[] = {
	"id",	    "name",	   "dns-name",	"addresses",	    "user",
	"os",	    "online",	   "last-seen", "exit-node-option", "path",
	"endpoint", "derp-region", "rx-bytes",	"tx-bytes",	    "last-handshake",
};

static void
test_dbus_api_contract(void)
{
	GDBusNodeInfo *node = NULL;
	GDBusInterfaceInfo *iface = parse_xml_interface(&node);
	g_autofree char *path = xml_path();
	g_autofree char *text = NULL;
	GDBusSignalInfo *sig;
	g_autofree char *sig_args = NULL;

	g_assert_cmpuint(count((gpointer *) iface->methods), ==, G_N_ELEMENTS(contract_methods));
	for (gsize i = 0; i < G_N_ELEMENTS(contract_methods); i++) {
		GDBusMethodInfo *m =
			g_dbus_interface_info_lookup_method(iface, contract_methods[i].name);
		g_autofree char *in = NULL;
		g_autofree char *out = NULL;

		g_assert_nonnull(m);
		in = args_signature(m->in_args);
		out = args_signature(m->out_args);
		g_assert_cmpstr(in, ==, contract_methods[i].in);
		g_assert_cmpstr(out, ==, contract_methods[i].out);
	}
	g_assert_cmpuint(count((gpointer *) iface->properties), ==,
			 G_N_ELEMENTS(contract_properties));
	for (gsize i = 0; i < G_N_ELEMENTS(contract_properties); i++) {
		GDBusPropertyInfo *p =
			g_dbus_interface_info_lookup_property(iface, contract_properties[i].name);

		g_assert_nonnull(p);
		g_assert_cmpstr(p->signature, ==, contract_properties[i].signature);
		/* clients never write a property: every change is a method, checked by polkit */
		g_assert_cmpint(p->flags, ==, G_DBUS_PROPERTY_INFO_FLAGS_READABLE);
	}
	g_assert_cmpuint(count((gpointer *) iface->signals), ==, 1);
	sig = g_dbus_interface_info_lookup_signal(iface, "PeerEvent");
	g_assert_nonnull(sig);
	sig_args = args_signature(sig->args);
	g_assert_cmpstr(sig_args, ==, "sa{sv}");

	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	for (gsize i = 0; i < G_N_ELEMENTS(peer_keys); i++) {
		/* documented as a row "    KEY   TYPE  meaning" of the peer dictionary */
		g_autofree char *row = g_strdup_printf("\n    %s ", peer_keys[i]);

		if (strstr(text, row) == NULL)
			g_error("peer key %s is not documented in the interface XML", peer_keys[i]);
	}
	g_dbus_node_info_unref(node);
}

/* every error name the XML documents is registered, and every registered one documented */
static void
test_dbus_api_error_names(void)
{
	g_autofree char *path = xml_path();
	g_autofree char *text = NULL;
	g_autoptr(GHashTable) documented =
		g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	const char *p;

	/* registers the names */
	(void) wr_dbus_error_quark();
	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	for (p = strstr(text, WR_DBUS_ERROR_PREFIX); p != NULL;
	     p = strstr(p + 1, WR_DBUS_ERROR_PREFIX)) {
		const char *end = p + strlen(WR_DBUS_ERROR_PREFIX);
		g_autofree char *name = NULL;
		g_autoptr(GError) e = NULL;

		while (g_ascii_isalnum(*end))
			end++;
		name = g_strndup(p, (gsize) (end - p));
		e = g_dbus_error_new_for_dbus_error(name, "detail");
		if (e->domain != WR_DBUS_ERROR)
			g_error("%s is documented but not registered in WR_DBUS_ERROR", name);
		g_assert_cmpstr(wr_dbus_error_name(e->code), ==, name);
		g_hash_table_add(documented, g_steal_pointer(&name));
	}
	g_assert_cmpuint(g_hash_table_size(documented), ==, WR_DBUS_ERROR_LAST);
	for (int code = 0; code < WR_DBUS_ERROR_LAST; code++) {
		g_autoptr(GError) e = g_error_new_literal(WR_DBUS_ERROR, code, "x");
		g_autofree char *wire = g_dbus_error_encode_gerror(e);

		g_assert_cmpstr(wire, ==, wr_dbus_error_name(code));
		g_assert_true(g_hash_table_contains(documented, wire));
	}
	g_assert_null(wr_dbus_error_name(WR_DBUS_ERROR_LAST));
	g_assert_null(wr_dbus_error_name((WrDbusError) -1));
}

/* the generated skeleton and proxy over a private bus */
typedef struct {
	GTestDBus *bus;
	GDBusConnection *service;
	GDBusConnection *client;
	WrDbusEngine1 *skeleton;
	WrDbusEngine1 *proxy;
	GAsyncResult *result;
	guint notified_state;
	char *event_kind;
	char *event_name;
} Fixture;

static void
result_cb(GObject *source, GAsyncResult *result, gpointer data)
{
	Fixture *f = data;

	f->result = g_object_ref(result);
}

static void
wait_result(Fixture *f)
{
	while (f->result == NULL)
		g_main_context_iteration(NULL, TRUE);
}

static gboolean
handle_get_peers_cb(WrDbusEngine1 *object, GDBusMethodInvocation *invocation, gpointer data)
{
	g_auto(GVariantBuilder) peers = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE("aa{sv}"));
	const char *const addresses[] = {"100.64.0.2", "fd7a:115c:a1e0::2", NULL};

	g_variant_builder_open(&peers, G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&peers, "{sv}", "name", g_variant_new_string("laptop"));
	g_variant_builder_add(&peers, "{sv}", "addresses", g_variant_new_strv(addresses, -1));
	g_variant_builder_add(&peers, "{sv}", "rx-bytes", g_variant_new_uint64(G_MAXUINT64));
	g_variant_builder_close(&peers);
	wr_dbus_engine1_complete_get_peers(object, invocation, g_variant_builder_end(&peers));
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_set_exit_node_cb(WrDbusEngine1 *object, GDBusMethodInvocation *invocation, const char *peer,
			gpointer data)
{
	g_dbus_method_invocation_return_error(invocation, WR_DBUS_ERROR, WR_DBUS_ERROR_NO_SUCH_PEER,
					      "no peer \"%s\"", peer);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
fixture_setup(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	const char *address;

	/* the domain registers its names on first use, which must come before a reply is
	 * decoded */
	(void) wr_dbus_error_quark();
	f->bus = g_test_dbus_new(G_TEST_DBUS_NONE);
	g_test_dbus_up(f->bus);
	address = g_test_dbus_get_bus_address(f->bus);
	f->service = g_dbus_connection_new_for_address_sync(
		address,
		G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
			G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
		NULL, NULL, &error);
	g_assert_no_error(error);
	f->client = g_dbus_connection_new_for_address_sync(
		address,
		G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
			G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
		NULL, NULL, &error);
	g_assert_no_error(error);

	f->skeleton = wr_dbus_engine1_skeleton_new();
	wr_dbus_engine1_set_state(f->skeleton, "NeedsLogin");
	wr_dbus_engine1_set_control_url(f->skeleton, "https://ctl.example.com");
	g_signal_connect(f->skeleton, "handle-get-peers", G_CALLBACK(handle_get_peers_cb), NULL);
	g_signal_connect(f->skeleton, "handle-set-exit-node", G_CALLBACK(handle_set_exit_node_cb),
			 NULL);
	g_assert_true(g_dbus_interface_skeleton_export(G_DBUS_INTERFACE_SKELETON(f->skeleton),
						       f->service, OBJECT_PATH, &error));
	g_assert_no_error(error);
	/* asynchronously: the service answers GetAll from this thread's main context */
	wr_dbus_engine1_proxy_new(f->client, G_DBUS_PROXY_FLAGS_NONE,
				  g_dbus_connection_get_unique_name(f->service), OBJECT_PATH, NULL,
				  result_cb, f);
	wait_result(f);
	f->proxy = wr_dbus_engine1_proxy_new_finish(f->result, &error);
	g_assert_no_error(error);
	g_assert_nonnull(f->proxy);
	g_clear_object(&f->result);
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
	g_dbus_interface_skeleton_unexport(G_DBUS_INTERFACE_SKELETON(f->skeleton));
	g_clear_object(&f->proxy);
	g_clear_object(&f->skeleton);
	g_clear_object(&f->result);
	(void) g_dbus_connection_close_sync(f->client, NULL, NULL);
	(void) g_dbus_connection_close_sync(f->service, NULL, NULL);
	g_clear_object(&f->client);
	g_clear_object(&f->service);
	g_free(f->event_kind);
	g_free(f->event_name);
	g_test_dbus_down(f->bus);
	g_clear_object(&f->bus);
}

static void
state_notify_cb(GObject *object, GParamSpec *pspec, gpointer data)
{
	Fixture *f = data;

	f->notified_state++;
}

static void
peer_event_cb(WrDbusEngine1 *object, const char *kind, GVariant *peer, gpointer data)
{
	Fixture *f = data;

	g_free(f->event_kind);
	f->event_kind = g_strdup(kind);
	g_free(f->event_name);
	f->event_name = NULL;
	(void) g_variant_lookup(peer, "name", "s", &f->event_name);
}

static void
test_dbus_api_properties(Fixture *f, gconstpointer data)
{
	/* read from the proxy's cache, filled by GetAll when it was made */
	g_assert_cmpstr(wr_dbus_engine1_get_state(f->proxy), ==, "NeedsLogin");
	g_assert_cmpstr(wr_dbus_engine1_get_control_url(f->proxy), ==, "https://ctl.example.com");

	/* PropertiesChanged reaches the proxy */
	g_signal_connect(f->proxy, "notify::state", G_CALLBACK(state_notify_cb), f);
	wr_dbus_engine1_set_state(f->skeleton, "Running");
	while (f->notified_state == 0)
		g_main_context_iteration(NULL, TRUE);
	g_assert_cmpstr(wr_dbus_engine1_get_state(f->proxy), ==, "Running");
}

static void
test_dbus_api_method(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) peers = NULL;
	g_autoptr(GVariant) first = NULL;
	g_autofree const char **addresses = NULL;
	const char *name = NULL;
	guint64 rx = 0;

	wr_dbus_engine1_call_get_peers(f->proxy, NULL, result_cb, f);
	wait_result(f);
	g_assert_true(wr_dbus_engine1_call_get_peers_finish(f->proxy, &peers, f->result, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(g_variant_n_children(peers), ==, 1);
	first = g_variant_get_child_value(peers, 0);
	g_assert_true(g_variant_lookup(first, "name", "&s", &name));
	g_assert_cmpstr(name, ==, "laptop");
	g_assert_true(g_variant_lookup(first, "addresses", "^a&s", &addresses));
	g_assert_cmpuint(g_strv_length((char **) addresses), ==, 2);
	g_assert_cmpstr(addresses[1], ==, "fd7a:115c:a1e0::2");
	g_assert_true(g_variant_lookup(first, "rx-bytes", "t", &rx));
	g_assert_cmpuint(rx, ==, G_MAXUINT64);
}

static void
test_dbus_api_error(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;

	wr_dbus_engine1_call_set_exit_node(f->proxy, "nowhere", NULL, result_cb, f);
	wait_result(f);
	g_assert_false(wr_dbus_engine1_call_set_exit_node_finish(f->proxy, f->result, &error));
	/* the daemon's code arrives as the client's: a client switches on it */
	g_assert_error(error, WR_DBUS_ERROR, WR_DBUS_ERROR_NO_SUCH_PEER);
	g_assert_true(g_dbus_error_is_remote_error(error));
	{
		g_autofree char *remote = g_dbus_error_get_remote_error(error);

		g_assert_cmpstr(remote, ==, WR_DBUS_ERROR_PREFIX "NoSuchPeer");
	}
	g_assert_true(g_dbus_error_strip_remote_error(error));
	g_assert_cmpstr(error->message, ==, "no peer \"nowhere\"");
}

static void
test_dbus_api_signal(Fixture *f, gconstpointer data)
{
	g_auto(GVariantBuilder) peer = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE("a{sv}"));

	g_signal_connect(f->proxy, "peer-event", G_CALLBACK(peer_event_cb), f);
	g_variant_builder_add(&peer, "{sv}", "name", g_variant_new_string("phone"));
	g_variant_builder_add(&peer, "{sv}", "online", g_variant_new_boolean(FALSE));
	wr_dbus_engine1_emit_peer_event(f->skeleton, "offline", g_variant_builder_end(&peer));
	while (f->event_kind == NULL)
		g_main_context_iteration(NULL, TRUE);
	g_assert_cmpstr(f->event_kind, ==, "offline");
	g_assert_cmpstr(f->event_name, ==, "phone");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	/*
	 * GTestDBus forks a watcher process at its first g_test_dbus_up(); the watcher keeps our
	 * stdout and stderr, and meson waits for those to close.  Forked later, from a process
	 * with threads (GDBus's worker, ASan's allocator locks), the child can deadlock before it
	 * exits: CI once saw every test pass and meson time out at 120 s.  So it is forked here,
	 * while the process has one thread.
	 */
	{
		g_autoptr(GTestDBus) warm = g_test_dbus_new(G_TEST_DBUS_NONE);

		g_test_dbus_up(warm);
		g_test_dbus_down(warm);
	}
	g_test_add_func("/warren/dbus-api/generated-matches-xml",
			test_dbus_api_generated_matches_xml);
	g_test_add_func("/warren/dbus-api/contract", test_dbus_api_contract);
	g_test_add_func("/warren/dbus-api/error-names", test_dbus_api_error_names);
	g_test_add("/warren/dbus-api/properties", Fixture, NULL, fixture_setup,
		   test_dbus_api_properties, fixture_teardown);
	g_test_add("/warren/dbus-api/method", Fixture, NULL, fixture_setup, test_dbus_api_method,
		   fixture_teardown);
	g_test_add("/warren/dbus-api/error", Fixture, NULL, fixture_setup, test_dbus_api_error,
		   fixture_teardown);
	g_test_add("/warren/dbus-api/signal", Fixture, NULL, fixture_setup, test_dbus_api_signal,
		   fixture_teardown);
	return g_test_run();
}
