/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The tray's model (app/tray/wr-tray-model.[ch]) against the generated skeleton of warrend's
 * API on a private bus (GTestDBus): properties from PropertiesChanged, peers from GetPeers and
 * PeerEvent, and everything read again when the bus name changes owner (warrend restarted).
 */

#include "config.h"

#include <locale.h>

#include "wr-dbus-engine.h"
#include "wr-tray-model.h"

#define BUS_NAME    "io.github.warrenvpn.Engine1"
#define OBJECT_PATH "/io/github/warrenvpn/Engine1"

/* one warrend: a connection owning the name, a skeleton, the peers GetPeers answers */
typedef struct {
	GDBusConnection *conn;
	WrDbusEngine1 *skeleton;
	GPtrArray *peers; /* GVariant a{sv} */
	guint own_id;
	gboolean owned;
	guint get_peers_calls;
} Service;

typedef struct {
	GTestDBus *bus;
	GDBusConnection *client;
	Service *service;
	WrDbusEngine1 *proxy;
	WrTrayModel *model;
	guint changes;
} Fixture;

static GVariant *
peer(const gchar *id, const gchar *name, gboolean online)
{
	g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE_VARDICT);

	g_variant_builder_add(&b, "{sv}", "id", g_variant_new_string(id));
	g_variant_builder_add(&b, "{sv}", "name", g_variant_new_string(name));
	g_variant_builder_add(&b, "{sv}", "online", g_variant_new_boolean(online));
	return g_variant_ref_sink(g_variant_builder_end(&b));
}

static GDBusConnection *
connect_bus(Fixture *f)
{
	g_autoptr(GError) error = NULL;
	GDBusConnection *conn = g_dbus_connection_new_for_address_sync(
		g_test_dbus_get_bus_address(f->bus),
		G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
			G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
		NULL, NULL, &error);

	g_assert_no_error(error);
	return conn;
}

static gboolean
handle_get_peers_cb(WrDbusEngine1 *object, GDBusMethodInvocation *invocation, gpointer data)
{
	Service *s = data;
	g_auto(GVariantBuilder) peers = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE("aa{sv}"));

	s->get_peers_calls++;
	for (guint i = 0; i < s->peers->len; i++)
		g_variant_builder_add_value(&peers, s->peers->pdata[i]);
	wr_dbus_engine1_complete_get_peers(object, invocation, g_variant_builder_end(&peers));
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
name_acquired_cb(GDBusConnection *conn, const gchar *name, gpointer data)
{
	((Service *) data)->owned = TRUE;
}

static gboolean
iterate_until(gboolean (*cond)(gpointer), gpointer data)
{
	gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;

	while (!cond(data)) {
		if (g_get_monotonic_time() > deadline)
			return FALSE;
		g_main_context_iteration(NULL, FALSE);
		g_usleep(1000);
	}
	return TRUE;
}

static gboolean
service_owned(gpointer data)
{
	return ((Service *) data)->owned;
}

static Service *
service_new(Fixture *f, const gchar *state)
{
	Service *s = g_new0(Service, 1);
	g_autoptr(GError) error = NULL;

	s->conn = connect_bus(f);
	s->peers = g_ptr_array_new_with_free_func((GDestroyNotify) g_variant_unref);
	s->skeleton = wr_dbus_engine1_skeleton_new();
	wr_dbus_engine1_set_state(s->skeleton, state);
	wr_dbus_engine1_set_control_url(s->skeleton, "https://ctl.example.com");
	g_signal_connect(s->skeleton, "handle-get-peers", G_CALLBACK(handle_get_peers_cb), s);
	g_assert_true(g_dbus_interface_skeleton_export(G_DBUS_INTERFACE_SKELETON(s->skeleton),
						       s->conn, OBJECT_PATH, &error));
	g_assert_no_error(error);
	s->own_id = g_bus_own_name_on_connection(s->conn, BUS_NAME, G_BUS_NAME_OWNER_FLAGS_NONE,
						 name_acquired_cb, NULL, s, NULL);
	g_assert_true(iterate_until(service_owned, s));
	return s;
}

/* warrend exits: its connection closes, the name is free */
static void
service_free(Service *s)
{
	if (s == NULL)
		return;
	g_bus_unown_name(s->own_id);
	g_dbus_interface_skeleton_unexport(G_DBUS_INTERFACE_SKELETON(s->skeleton));
	(void) g_dbus_connection_close_sync(s->conn, NULL, NULL);
	g_clear_object(&s->skeleton);
	g_clear_object(&s->conn);
	g_ptr_array_unref(s->peers);
	g_free(s);
}

static void
changed_cb(WrTrayModel *model, gpointer data)
{
	((Fixture *) data)->changes++;
}

static void
fixture_setup(Fixture *f, gconstpointer data)
{
	f->bus = g_test_dbus_new(G_TEST_DBUS_NONE);
	g_test_dbus_up(f->bus);
	f->client = connect_bus(f);
}

static void
proxy_cb(GObject *source, GAsyncResult *result, gpointer data)
{
	Fixture *f = data;
	g_autoptr(GError) error = NULL;

	f->proxy = wr_dbus_engine1_proxy_new_finish(result, &error);
	g_assert_no_error(error);
}

static gboolean
have_proxy(gpointer data)
{
	return ((Fixture *) data)->proxy != NULL;
}

/* the tray's start: the proxy on the well-known name, the model on it (asynchronously: the
 * service answers GetAll from this thread's main context) */
static void
fixture_start(Fixture *f)
{
	wr_dbus_engine1_proxy_new(f->client, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START, BUS_NAME,
				  OBJECT_PATH, NULL, proxy_cb, f);
	g_assert_true(iterate_until(have_proxy, f));
	f->model = wr_tray_model_new(f->proxy, NULL);
	wr_tray_model_set_changed_func(f->model, changed_cb, f);
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
	g_clear_pointer(&f->model, wr_tray_model_free);
	g_clear_object(&f->proxy);
	g_clear_pointer(&f->service, service_free);
	(void) g_dbus_connection_close_sync(f->client, NULL, NULL);
	g_clear_object(&f->client);
	g_test_dbus_down(f->bus);
	g_clear_object(&f->bus);
}

/* the model's peer names, joined with ',' */
static gchar *
peer_names(Fixture *f)
{
	const WrTrayState *st = wr_tray_model_get_state(f->model);
	GString *s = g_string_new(NULL);

	for (guint i = 0; i < st->n_peers; i++) {
		const gchar *name = "";

		g_variant_lookup(st->peers[i], "name", "&s", &name);
		g_string_append_printf(s, "%s%s", i > 0 ? "," : "", name);
	}
	return g_string_free(s, FALSE);
}

static const gchar *want_names;

static gboolean
names_are(gpointer data)
{
	g_autofree gchar *names = peer_names(data);

	return g_strcmp0(names, want_names) == 0;
}

static void
expect_names(Fixture *f, const gchar *want)
{
	g_autofree gchar *names = NULL;

	want_names = want;
	if (iterate_until(names_are, f))
		return;
	names = peer_names(f);
	g_assert_cmpstr(names, ==, want);
}

static const gchar *want_state;

static gboolean
state_is(gpointer data)
{
	const WrTrayState *st = wr_tray_model_get_state(((Fixture *) data)->model);

	return g_strcmp0(st->state, want_state) == 0;
}

static void
expect_state(Fixture *f, const gchar *want)
{
	want_state = want;
	if (!iterate_until(state_is, f))
		g_assert_cmpstr(wr_tray_model_get_state(f->model)->state, ==, want);
}

static void
test_model_start(Fixture *f, gconstpointer data)
{
	const WrTrayState *st;
	const gchar *user = NULL;
	g_auto(GVariantBuilder) self_dict = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE_VARDICT);
	const gchar *health[] = {"no DERP region reachable", NULL};

	f->service = service_new(f, "Running");
	g_variant_builder_add(&self_dict, "{sv}", "user",
			      g_variant_new_string("alice@example.com"));
	wr_dbus_engine1_set_self(f->service->skeleton, g_variant_builder_end(&self_dict));
	wr_dbus_engine1_set_health(f->service->skeleton, health);
	wr_dbus_engine1_set_exit_node_allow_lan(f->service->skeleton, TRUE);
	g_ptr_array_add(f->service->peers, peer("2", "phone", TRUE));
	g_ptr_array_add(f->service->peers, peer("1", "desktop", FALSE));
	g_dbus_interface_skeleton_flush(G_DBUS_INTERFACE_SKELETON(f->service->skeleton));
	fixture_start(f);
	/* sorted by name whatever order they come in */
	expect_names(f, "desktop,phone");
	st = wr_tray_model_get_state(f->model);
	g_assert_true(st->present);
	g_assert_cmpstr(st->state, ==, "Running");
	g_assert_cmpstr(st->control_url, ==, "https://ctl.example.com");
	g_assert_cmpstr(st->exit_node, ==, "");
	g_assert_cmpstr(st->auth_url, ==, "");
	g_assert_true(st->exit_node_allow_lan);
	g_assert_nonnull(st->health);
	g_assert_cmpstr(st->health[0], ==, "no DERP region reachable");
	g_assert_null(st->health[1]);
	g_assert_nonnull(st->self);
	g_assert_true(g_variant_lookup(st->self, "user", "&s", &user));
	g_assert_cmpstr(user, ==, "alice@example.com");
	g_assert_cmpuint(f->service->get_peers_calls, ==, 1);
	g_assert_cmpuint(f->changes, >=, 1);
}

static gboolean
exit_node_is_7(gpointer data)
{
	return g_strcmp0(wr_tray_model_get_state(((Fixture *) data)->model)->exit_node, "7") == 0;
}

static gboolean
health_is_empty(gpointer data)
{
	const WrTrayState *st = wr_tray_model_get_state(((Fixture *) data)->model);

	return st->health == NULL || st->health[0] == NULL;
}

static void
test_model_properties(Fixture *f, gconstpointer data)
{
	const gchar *health1[] = {"cannot reach the control server", NULL};
	const gchar *none[] = {NULL};
	guint changes;

	f->service = service_new(f, "Starting");
	fixture_start(f);
	expect_state(f, "Starting");
	changes = f->changes;
	wr_dbus_engine1_set_state(f->service->skeleton, "Running");
	expect_state(f, "Running");
	g_assert_cmpuint(f->changes, >, changes);
	wr_dbus_engine1_set_exit_node(f->service->skeleton, "7");
	g_assert_true(iterate_until(exit_node_is_7, f));
	/* Health twice: the model never keeps a pointer into a replaced cache */
	wr_dbus_engine1_set_health(f->service->skeleton, health1);
	g_dbus_interface_skeleton_flush(G_DBUS_INTERFACE_SKELETON(f->service->skeleton));
	wr_dbus_engine1_set_health(f->service->skeleton, none);
	g_assert_true(iterate_until(health_is_empty, f));
	/* no GetPeers for property changes: they come from PeerEvent */
	g_assert_cmpuint(f->service->get_peers_calls, ==, 1);
}

static gboolean
alpha_offline(gpointer data)
{
	GVariant *alpha = wr_tray_model_find_peer(((Fixture *) data)->model, "1");
	gboolean online = TRUE;

	return alpha != NULL && g_variant_lookup(alpha, "online", "b", &online) && !online;
}

static void
test_model_peer_events(Fixture *f, gconstpointer data)
{
	g_autoptr(GVariant) a = peer("1", "alpha", TRUE);
	g_autoptr(GVariant) c = peer("3", "charlie", TRUE);
	g_autoptr(GVariant) a_offline = peer("1", "alpha", FALSE);
	g_autoptr(GVariant) renamed = peer("1", "zulu", FALSE);

	f->service = service_new(f, "Running");
	g_ptr_array_add(f->service->peers, peer("2", "bravo", TRUE));
	fixture_start(f);
	expect_names(f, "bravo");
	wr_dbus_engine1_emit_peer_event(f->service->skeleton, "added", c);
	expect_names(f, "bravo,charlie");
	wr_dbus_engine1_emit_peer_event(f->service->skeleton, "added", a);
	expect_names(f, "alpha,bravo,charlie");
	wr_dbus_engine1_emit_peer_event(f->service->skeleton, "offline", a_offline);
	g_assert_true(iterate_until(alpha_offline, f));
	/* replaced in place, not added twice */
	expect_names(f, "alpha,bravo,charlie");
	/* a changed name moves it */
	wr_dbus_engine1_emit_peer_event(f->service->skeleton, "path", renamed);
	expect_names(f, "bravo,charlie,zulu");
	wr_dbus_engine1_emit_peer_event(f->service->skeleton, "removed", c);
	expect_names(f, "bravo,zulu");
	g_assert_null(wr_tray_model_find_peer(f->model, "3"));
	/* never polled */
	g_assert_cmpuint(f->service->get_peers_calls, ==, 1);
}

static gboolean
absent(gpointer data)
{
	return !wr_tray_model_get_state(((Fixture *) data)->model)->present;
}

static gboolean
present(gpointer data)
{
	return wr_tray_model_get_state(((Fixture *) data)->model)->present;
}

static void
test_model_owner_change(Fixture *f, gconstpointer data)
{
	const WrTrayState *st;

	/* the tray starts before warrend */
	fixture_start(f);
	st = wr_tray_model_get_state(f->model);
	g_assert_false(st->present);
	g_assert_cmpstr(st->state, ==, "");
	g_assert_cmpuint(st->n_peers, ==, 0);

	f->service = service_new(f, "Running");
	g_ptr_array_add(f->service->peers, peer("1", "alpha", TRUE));
	g_assert_true(iterate_until(present, f));
	expect_state(f, "Running");
	expect_names(f, "alpha");

	/* warrend stops: nothing of it stays */
	g_clear_pointer(&f->service, service_free);
	g_assert_true(iterate_until(absent, f));
	st = wr_tray_model_get_state(f->model);
	g_assert_cmpuint(st->n_peers, ==, 0);
	g_assert_cmpstr(st->state, ==, "");

	/* and starts again with another state and map: all read again */
	f->service = service_new(f, "Stopped");
	g_ptr_array_add(f->service->peers, peer("4", "delta", TRUE));
	g_ptr_array_add(f->service->peers, peer("5", "echo", FALSE));
	g_assert_true(iterate_until(present, f));
	expect_state(f, "Stopped");
	expect_names(f, "delta,echo");
	g_assert_cmpuint(f->service->get_peers_calls, ==, 1);
}

int
main(int argc, char **argv)
{
	setlocale(LC_ALL, "C.UTF-8");
	g_test_init(&argc, &argv, NULL);
	/* GTestDBus's watcher is forked while the process has one thread (test-dbus-api.c) */
	{
		g_autoptr(GTestDBus) warm = g_test_dbus_new(G_TEST_DBUS_NONE);

		g_test_dbus_up(warm);
		g_test_dbus_down(warm);
	}
	g_test_add("/warren/tray-model/start", Fixture, NULL, fixture_setup, test_model_start,
		   fixture_teardown);
	g_test_add("/warren/tray-model/properties", Fixture, NULL, fixture_setup,
		   test_model_properties, fixture_teardown);
	g_test_add("/warren/tray-model/peer-events", Fixture, NULL, fixture_setup,
		   test_model_peer_events, fixture_teardown);
	g_test_add("/warren/tray-model/owner-change", Fixture, NULL, fixture_setup,
		   test_model_owner_change, fixture_teardown);
	return g_test_run();
}
