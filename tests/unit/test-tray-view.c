/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The tray's view (app/tray/wr-tray-view.[ch]): from states shaped as
 * data/io.github.warrenvpn.Engine1.xml documents them to icon, tooltip, menu lines and
 * sensitivity, in the C locale.
 */

#include "config.h"

#include <locale.h>
#include <string.h>

#include "wr-tray-view.h"

typedef struct {
	GPtrArray *peers;
	GVariant *self;
	WrTrayState st;
} Fixture;

static GVariant *
peer(const gchar *id, const gchar *name, const gchar *user, gboolean online, const gchar *path,
     gboolean exit_option, const gchar *address)
{
	g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE_VARDICT);
	const gchar *addresses[] = {address, "fd7a:115c:a1e0::9", NULL};

	g_variant_builder_add(&b, "{sv}", "id", g_variant_new_string(id));
	g_variant_builder_add(&b, "{sv}", "name", g_variant_new_string(name));
	g_variant_builder_add(&b, "{sv}", "user", g_variant_new_string(user));
	g_variant_builder_add(&b, "{sv}", "online", g_variant_new_boolean(online));
	g_variant_builder_add(&b, "{sv}", "path", g_variant_new_string(path));
	g_variant_builder_add(&b, "{sv}", "exit-node-option", g_variant_new_boolean(exit_option));
	g_variant_builder_add(&b, "{sv}", "addresses",
			      g_variant_new_strv(addresses, address != NULL ? -1 : 0));
	return g_variant_ref_sink(g_variant_builder_end(&b));
}

static void
fixture_init(Fixture *f, const gchar *state)
{
	memset(f, 0, sizeof(*f));
	f->peers = g_ptr_array_new_with_free_func((GDestroyNotify) g_variant_unref);
	f->st.present = TRUE;
	f->st.state = state;
	f->st.auth_url = "";
	f->st.control_url = "https://ctl.example.com";
	f->st.exit_node = "";
}

static void
fixture_self(Fixture *f, const gchar *name, const gchar *user, const gchar *address)
{
	f->self = peer("self", name, user, TRUE, "", FALSE, address);
	f->st.self = f->self;
}

static void
fixture_add(Fixture *f, GVariant *p)
{
	g_ptr_array_add(f->peers, p);
	f->st.peers = (GVariant *const *) f->peers->pdata;
	f->st.n_peers = f->peers->len;
}

static void
fixture_clear(Fixture *f)
{
	g_ptr_array_unref(f->peers);
	g_clear_pointer(&f->self, g_variant_unref);
}

/* the labels of the devices list joined with '|', headers in brackets */
static gchar *
devices_text(const WrTrayView *view)
{
	GString *s = g_string_new(NULL);

	for (guint i = 0; i < view->devices->len; i++) {
		const WrTrayViewDevice *d = view->devices->pdata[i];

		if (i > 0)
			g_string_append_c(s, '|');
		g_string_append_printf(s, d->header ? "[%s]" : "%s", d->label);
	}
	return g_string_free(s, FALSE);
}

/* the exit node list: label, '*' when active, '-' when insensitive */
static gchar *
exits_text(const WrTrayView *view)
{
	GString *s = g_string_new(view->exit_none_active ? "None*" : "None");

	for (guint i = 0; i < view->exit_nodes->len; i++) {
		const WrTrayViewExit *e = view->exit_nodes->pdata[i];

		g_string_append_printf(s, "|%s%s%s", e->label, e->active ? "*" : "",
				       e->sensitive ? "" : "-");
	}
	return g_string_free(s, FALSE);
}

static void
test_no_daemon(void)
{
	Fixture f;
	g_autoptr(WrTrayView) view = NULL;

	fixture_init(&f, "Running");
	f.st.present = FALSE;
	/* a stale Self from before must not show */
	fixture_self(&f, "laptop", "alice@example.com", "100.64.0.1");
	view = wr_tray_view_new(&f.st);
	g_assert_cmpint(view->icon, ==, WR_TRAY_ICON_SIGNED_OUT);
	g_assert_cmpstr(view->status, ==, "Warren is not running");
	g_assert_cmpstr(view->tooltip, ==, "Warren: Warren is not running");
	g_assert_null(view->device_address);
	g_assert_true(view->show_connect);
	g_assert_false(view->connect_sensitive);
	g_assert_true(view->show_sign_in);
	g_assert_false(view->sign_in_sensitive);
	g_assert_false(view->windows_sensitive);
	g_assert_false(view->exit_sensitive);
	g_assert_false(view->devices_sensitive);
	g_assert_true(view->exit_none_active);
	fixture_clear(&f);
}

static void
test_needs_login(void)
{
	Fixture f;
	g_autoptr(WrTrayView) view = NULL;

	fixture_init(&f, "NeedsLogin");
	view = wr_tray_view_new(&f.st);
	g_assert_cmpint(view->icon, ==, WR_TRAY_ICON_SIGNED_OUT);
	g_assert_cmpstr(view->status, ==, "Signed out");
	g_assert_cmpstr(view->device, ==, "This device: not yet in the network");
	g_assert_true(view->show_connect);
	g_assert_false(view->connect_sensitive);
	g_assert_true(view->show_sign_in);
	g_assert_true(view->sign_in_sensitive);
	g_assert_false(view->sign_out_sensitive);
	g_assert_false(view->exit_sensitive);
	g_assert_false(view->allow_lan_sensitive);
	g_assert_true(view->windows_sensitive);
	fixture_clear(&f);
}

static void
test_needs_machine_auth(void)
{
	Fixture f;
	g_autoptr(WrTrayView) view = NULL;

	fixture_init(&f, "NeedsMachineAuth");
	fixture_self(&f, "laptop", "alice@example.com", "100.64.0.1");
	view = wr_tray_view_new(&f.st);
	g_assert_cmpint(view->icon, ==, WR_TRAY_ICON_SIGNED_OUT);
	g_assert_cmpstr(view->status, ==, "Waiting for an administrator to approve this device");
	/* signed in: Disconnect and Sign out, not Sign in */
	g_assert_false(view->show_connect);
	g_assert_true(view->disconnect_sensitive);
	g_assert_false(view->show_sign_in);
	g_assert_true(view->sign_out_sensitive);
	g_assert_false(view->exit_sensitive);
	fixture_clear(&f);
}

static void
test_starting_without_self(void)
{
	Fixture f;
	g_autoptr(WrTrayView) view = NULL;

	fixture_init(&f, "Starting");
	view = wr_tray_view_new(&f.st);
	g_assert_cmpint(view->icon, ==, WR_TRAY_ICON_CONNECTING);
	g_assert_cmpstr(view->status, ==, "Connecting…");
	g_assert_cmpstr(view->device, ==, "This device: not yet in the network");
	g_assert_null(view->device_address);
	g_assert_false(view->show_connect);
	g_assert_true(view->disconnect_sensitive);
	g_assert_false(view->show_sign_in);
	fixture_clear(&f);
}

static void
test_running_without_self(void)
{
	Fixture f;
	g_autoptr(WrTrayView) view = NULL;

	/* Self is empty before the first network map */
	fixture_init(&f, "Running");
	f.self = g_variant_ref_sink(g_variant_new("a{sv}", NULL));
	f.st.self = f.self;
	view = wr_tray_view_new(&f.st);
	g_assert_cmpint(view->icon, ==, WR_TRAY_ICON_CONNECTED);
	g_assert_cmpstr(view->status, ==, "Connected");
	g_assert_null(view->device_address);
	g_assert_cmpuint(view->devices->len, ==, 0);
	g_assert_false(view->devices_sensitive);
	fixture_clear(&f);
}

static void
test_stopped(void)
{
	Fixture f;
	g_autoptr(WrTrayView) view = NULL;

	fixture_init(&f, "Stopped");
	fixture_self(&f, "laptop", "alice@example.com", "100.64.0.1");
	view = wr_tray_view_new(&f.st);
	g_assert_cmpint(view->icon, ==, WR_TRAY_ICON_SIGNED_OUT);
	g_assert_cmpstr(view->status, ==, "Disconnected");
	g_assert_true(view->show_connect);
	g_assert_true(view->connect_sensitive);
	g_assert_false(view->show_sign_in);
	/* an exit node can be chosen for the next Connect */
	g_assert_true(view->exit_sensitive);
	fixture_clear(&f);
}

static void
test_running_devices(void)
{
	Fixture f;
	g_autoptr(WrTrayView) view = NULL;
	g_autofree gchar *devices = NULL;

	fixture_init(&f, "Running");
	fixture_self(&f, "laptop", "alice@example.com", "100.64.0.1");
	/* sorted by name, as GetPeers gives them */
	fixture_add(&f, peer("4", "build", "carol@example.com", TRUE, "idle", FALSE, "100.64.0.5"));
	fixture_add(&f,
		    peer("2", "desktop", "alice@example.com", TRUE, "direct", FALSE, "100.64.0.2"));
	fixture_add(&f, peer("3", "phone", "bob@example.com", FALSE, "idle", FALSE, "100.64.0.3"));
	fixture_add(&f, peer("5", "server", "alice@example.com", TRUE, "derp", FALSE, NULL));
	fixture_add(&f,
		    peer("6", "tablet", "bob@example.com", TRUE, "direct", FALSE, "100.64.0.6"));
	view = wr_tray_view_new(&f.st);
	g_assert_cmpint(view->icon, ==, WR_TRAY_ICON_CONNECTED);
	g_assert_cmpstr(view->status, ==, "Connected as alice@example.com");
	g_assert_cmpstr(view->device, ==, "This device: laptop (100.64.0.1)");
	g_assert_cmpstr(view->device_address, ==, "100.64.0.1");
	g_assert_cmpstr(view->tooltip, ==, "Warren: Connected as alice@example.com");
	devices = devices_text(view);
	g_assert_cmpstr(devices, ==,
			"[My devices]|desktop — direct|server — relayed|"
			"[bob@example.com]|phone — offline|tablet — direct|"
			"[carol@example.com]|build — idle");
	/* the address that a click copies; none for a peer without one */
	g_assert_cmpstr(((WrTrayViewDevice *) view->devices->pdata[1])->address, ==, "100.64.0.2");
	g_assert_null(((WrTrayViewDevice *) view->devices->pdata[2])->address);
	g_assert_cmpstr(((WrTrayViewDevice *) view->devices->pdata[1])->key, ==, "peer:2");
	g_assert_true(((WrTrayViewDevice *) view->devices->pdata[3])->header);
	g_assert_false(view->show_connect);
	g_assert_true(view->disconnect_sensitive);
	g_assert_true(view->devices_sensitive);
	g_assert_true(view->exit_sensitive);
	fixture_clear(&f);
}

static void
test_is_self_user(void)
{
	Fixture f;
	g_autoptr(WrTrayView) view = NULL;
	g_autofree gchar *devices = NULL;
	g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE_VARDICT);

	/* warrend's is-self-user wins over comparing owners (a tagged node has another user) */
	fixture_init(&f, "Running");
	fixture_self(&f, "laptop", "alice@example.com", "100.64.0.1");
	g_variant_builder_add(&b, "{sv}", "id", g_variant_new_string("7"));
	g_variant_builder_add(&b, "{sv}", "name", g_variant_new_string("router"));
	g_variant_builder_add(&b, "{sv}", "user", g_variant_new_string("tagged-devices"));
	g_variant_builder_add(&b, "{sv}", "online", g_variant_new_boolean(TRUE));
	g_variant_builder_add(&b, "{sv}", "path", g_variant_new_string("direct"));
	g_variant_builder_add(&b, "{sv}", "is-self-user", g_variant_new_boolean(TRUE));
	fixture_add(&f, g_variant_ref_sink(g_variant_builder_end(&b)));
	view = wr_tray_view_new(&f.st);
	devices = devices_text(view);
	g_assert_cmpstr(devices, ==, "[My devices]|router — direct");
	fixture_clear(&f);
}

static void
test_exit_nodes(void)
{
	Fixture f;
	g_autoptr(WrTrayView) view = NULL;
	g_autoptr(WrTrayView) none = NULL;
	g_autofree gchar *exits = NULL;
	g_autofree gchar *exits_none = NULL;

	fixture_init(&f, "Running");
	fixture_self(&f, "laptop", "alice@example.com", "100.64.0.1");
	fixture_add(&f,
		    peer("10", "exit-a", "ops@example.com", TRUE, "direct", TRUE, "100.64.0.10"));
	fixture_add(&f,
		    peer("11", "exit-b", "ops@example.com", FALSE, "idle", TRUE, "100.64.0.11"));
	fixture_add(&f,
		    peer("12", "plain", "ops@example.com", TRUE, "direct", FALSE, "100.64.0.12"));
	none = wr_tray_view_new(&f.st);
	exits_none = exits_text(none);
	/* offline exit nodes are listed but cannot be chosen; plain peers are not listed */
	g_assert_cmpstr(exits_none, ==, "None*|exit-a|exit-b (offline)-");
	g_assert_cmpint(none->icon, ==, WR_TRAY_ICON_CONNECTED);
	g_assert_false(none->allow_lan);

	f.st.exit_node = "10";
	f.st.exit_node_allow_lan = TRUE;
	view = wr_tray_view_new(&f.st);
	exits = exits_text(view);
	g_assert_cmpstr(exits, ==, "None|exit-a*|exit-b (offline)-");
	g_assert_cmpint(view->icon, ==, WR_TRAY_ICON_EXIT_NODE);
	g_assert_cmpstr(view->tooltip, ==,
			"Warren: Connected as alice@example.com\nExit node: exit-a");
	g_assert_true(view->allow_lan);
	g_assert_true(view->allow_lan_sensitive);
	fixture_clear(&f);
}

static void
test_exit_node_offline_chosen(void)
{
	Fixture f;
	g_autoptr(WrTrayView) view = NULL;
	g_autofree gchar *exits = NULL;

	/* the chosen one went offline: it stays chosen and sensitive (the radio group needs an
	 * active item) and says offline */
	fixture_init(&f, "Running");
	fixture_add(&f,
		    peer("10", "exit-a", "ops@example.com", FALSE, "idle", TRUE, "100.64.0.10"));
	f.st.exit_node = "10";
	view = wr_tray_view_new(&f.st);
	exits = exits_text(view);
	g_assert_cmpstr(exits, ==, "None|exit-a (offline)*");
	fixture_clear(&f);
}

static void
test_exit_node_vanished(void)
{
	Fixture f;
	g_autoptr(WrTrayView) view = NULL;
	g_autoptr(WrTrayView) withdrawn = NULL;
	g_autofree gchar *exits = NULL;
	g_autofree gchar *exits_withdrawn = NULL;

	/* chosen, then removed from the network map: still shown as chosen, by id */
	fixture_init(&f, "Running");
	fixture_self(&f, "laptop", "alice@example.com", "100.64.0.1");
	fixture_add(&f,
		    peer("10", "exit-a", "ops@example.com", TRUE, "direct", TRUE, "100.64.0.10"));
	fixture_add(&f,
		    peer("12", "plain", "ops@example.com", TRUE, "direct", FALSE, "100.64.0.12"));
	f.st.exit_node = "99";
	view = wr_tray_view_new(&f.st);
	exits = exits_text(view);
	g_assert_cmpstr(exits, ==, "None|exit-a|99 (unavailable)*-");
	g_assert_false(view->exit_none_active);
	g_assert_cmpstr(view->tooltip, ==, "Warren: Connected as alice@example.com\nExit node: 99");

	/* in the map but no longer offering: named */
	f.st.exit_node = "12";
	withdrawn = wr_tray_view_new(&f.st);
	exits_withdrawn = exits_text(withdrawn);
	g_assert_cmpstr(exits_withdrawn, ==, "None|exit-a|plain (unavailable)*-");
	fixture_clear(&f);
}

static void
test_degraded_health(void)
{
	Fixture f;
	g_autoptr(WrTrayView) view = NULL;
	const gchar *health[] = {"cannot reach the control server", "no DERP region reachable",
				 NULL};

	fixture_init(&f, "Running");
	fixture_self(&f, "laptop", "alice@example.com", "100.64.0.1");
	f.st.exit_node = "10";
	fixture_add(&f,
		    peer("10", "exit-a", "ops@example.com", TRUE, "direct", TRUE, "100.64.0.10"));
	f.st.health = health;
	view = wr_tray_view_new(&f.st);
	/* a problem wins over the exit node icon */
	g_assert_cmpint(view->icon, ==, WR_TRAY_ICON_DEGRADED);
	g_assert_cmpstr(view->tooltip, ==,
			"Warren: Connected as alice@example.com\nExit node: exit-a\n"
			"cannot reach the control server\nno DERP region reachable");
	fixture_clear(&f);
}

static void
test_degraded_relay(void)
{
	static const struct {
		const gchar *path_a, *path_b;
		gboolean online_b;
		WrTrayIcon want;
	} cases[] = {
		{"derp", "derp", TRUE, WR_TRAY_ICON_DEGRADED},
		{"derp", "direct", TRUE, WR_TRAY_ICON_CONNECTED},
		/* idle and offline peers are not active: relayed to the only active one */
		{"derp", "idle", TRUE, WR_TRAY_ICON_DEGRADED},
		{"derp", "direct", FALSE, WR_TRAY_ICON_DEGRADED},
		/* no active peer at all: nothing to judge */
		{"idle", "idle", TRUE, WR_TRAY_ICON_CONNECTED},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		Fixture f;
		g_autoptr(WrTrayView) view = NULL;

		fixture_init(&f, "Running");
		fixture_add(&f, peer("1", "a", "bob@example.com", TRUE, cases[i].path_a, FALSE,
				     "100.64.0.2"));
		fixture_add(&f, peer("2", "b", "bob@example.com", cases[i].online_b,
				     cases[i].path_b, FALSE, "100.64.0.3"));
		view = wr_tray_view_new(&f.st);
		g_test_message("case %" G_GSIZE_FORMAT, i);
		g_assert_cmpint(view->icon, ==, cases[i].want);
		fixture_clear(&f);
	}
}

static void
test_escape(void)
{
	Fixture f;
	g_autoptr(WrTrayView) view = NULL;
	g_autofree gchar *devices = NULL;
	g_autofree gchar *exits = NULL;
	g_autofree gchar *plain = wr_tray_view_escape("a_b__c");
	g_autofree gchar *empty = wr_tray_view_escape("");

	g_assert_cmpstr(plain, ==, "a__b____c");
	g_assert_cmpstr(empty, ==, "");
	/* names with '_' must not turn into mnemonics anywhere in the menu */
	fixture_init(&f, "Running");
	fixture_self(&f, "my_laptop", "al_ice@example.com", "100.64.0.1");
	fixture_add(&f,
		    peer("1", "exit_1", "o_ps@example.com", TRUE, "direct", TRUE, "100.64.0.2"));
	view = wr_tray_view_new(&f.st);
	g_assert_cmpstr(view->status, ==, "Connected as al__ice@example.com");
	g_assert_cmpstr(view->device, ==, "This device: my__laptop (100.64.0.1)");
	/* the tooltip is no menu label: unescaped */
	g_assert_cmpstr(view->tooltip, ==, "Warren: Connected as al_ice@example.com");
	devices = devices_text(view);
	g_assert_cmpstr(devices, ==, "[o__ps@example.com]|exit__1 — direct");
	exits = exits_text(view);
	g_assert_cmpstr(exits, ==, "None*|exit__1");
	fixture_clear(&f);
}

static void
test_malformed(void)
{
	Fixture f;
	g_autoptr(WrTrayView) view = NULL;
	g_autofree gchar *devices = NULL;
	g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE_VARDICT);

	/* keys missing or of the wrong type: treated as absent, no crash */
	fixture_init(&f, "Running");
	g_variant_builder_add(&b, "{sv}", "id", g_variant_new_uint32(3));
	g_variant_builder_add(&b, "{sv}", "name", g_variant_new_string("odd"));
	g_variant_builder_add(&b, "{sv}", "online", g_variant_new_string("yes"));
	g_variant_builder_add(&b, "{sv}", "addresses", g_variant_new_string("100.64.0.3"));
	fixture_add(&f, g_variant_ref_sink(g_variant_builder_end(&b)));
	view = wr_tray_view_new(&f.st);
	devices = devices_text(view);
	g_assert_cmpstr(devices, ==, "[Unknown owner]|odd — offline");
	g_assert_null(((WrTrayViewDevice *) view->devices->pdata[1])->address);
	g_assert_cmpuint(view->exit_nodes->len, ==, 0);
	fixture_clear(&f);
}

static void
test_icons(void)
{
	g_autoptr(GHashTable) names = g_hash_table_new(g_str_hash, g_str_equal);

	for (WrTrayIcon icon = WR_TRAY_ICON_SIGNED_OUT; icon <= WR_TRAY_ICON_DEGRADED; icon++) {
		const gchar *name = wr_tray_icon_name(icon);
		g_autofree gchar *file = g_strdup_printf("%s.svg", name);
		g_autofree gchar *path = g_test_build_filename(
			G_TEST_DIST, "..", "icons", "hicolor", "scalable", "status", file, NULL);

		g_assert_true(g_str_has_suffix(name, "-symbolic"));
		g_assert_false(g_hash_table_contains(names, name));
		g_hash_table_add(names, (gpointer) name);
		g_assert_nonnull(wr_tray_icon_description(icon));
		/* every icon the view names is one we ship */
		g_assert_true(g_file_test(path, G_FILE_TEST_IS_REGULAR));
	}
}

int
main(int argc, char **argv)
{
	setlocale(LC_ALL, "C.UTF-8");
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/warren/tray-view/no-daemon", test_no_daemon);
	g_test_add_func("/warren/tray-view/needs-login", test_needs_login);
	g_test_add_func("/warren/tray-view/needs-machine-auth", test_needs_machine_auth);
	g_test_add_func("/warren/tray-view/starting-without-self", test_starting_without_self);
	g_test_add_func("/warren/tray-view/running-without-self", test_running_without_self);
	g_test_add_func("/warren/tray-view/stopped", test_stopped);
	g_test_add_func("/warren/tray-view/running-devices", test_running_devices);
	g_test_add_func("/warren/tray-view/is-self-user", test_is_self_user);
	g_test_add_func("/warren/tray-view/exit-nodes", test_exit_nodes);
	g_test_add_func("/warren/tray-view/exit-node-offline-chosen",
			test_exit_node_offline_chosen);
	g_test_add_func("/warren/tray-view/exit-node-vanished", test_exit_node_vanished);
	g_test_add_func("/warren/tray-view/degraded-health", test_degraded_health);
	g_test_add_func("/warren/tray-view/degraded-relay", test_degraded_relay);
	g_test_add_func("/warren/tray-view/escape", test_escape);
	g_test_add_func("/warren/tray-view/malformed", test_malformed);
	g_test_add_func("/warren/tray-view/icons", test_icons);
	return g_test_run();
}
