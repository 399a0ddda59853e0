/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The tray's view (wr-tray-view.h): state in, what to show out; nothing else.
 */

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "wr-tray-view.h"

static const struct {
	const gchar *name;
	const gchar *description;
} icons[] = {
	[WR_TRAY_ICON_SIGNED_OUT] = {"warren-signed-out-symbolic", N_("Not connected")},
	[WR_TRAY_ICON_CONNECTING] = {"warren-connecting-symbolic", N_("Connecting")},
	[WR_TRAY_ICON_CONNECTED] = {"warren-connected-symbolic", N_("Connected")},
	[WR_TRAY_ICON_EXIT_NODE] = {"warren-exit-node-symbolic",
				    N_("Connected through an exit node")},
	[WR_TRAY_ICON_DEGRADED] = {"warren-degraded-symbolic", N_("Connected, with problems")},
};

const gchar *
wr_tray_icon_name(WrTrayIcon icon)
{
	g_return_val_if_fail((guint) icon < G_N_ELEMENTS(icons), icons[0].name);
	return icons[icon].name;
}

const gchar *
wr_tray_icon_description(WrTrayIcon icon)
{
	g_return_val_if_fail((guint) icon < G_N_ELEMENTS(icons), _(icons[0].description));
	return _(icons[icon].description);
}

gchar *
wr_tray_view_escape(const gchar *label)
{
	GString *s = g_string_sized_new(strlen(label) + 4);

	for (const gchar *p = label; *p != '\0'; p++) {
		if (*p == '_')
			g_string_append_c(s, '_');
		g_string_append_c(s, *p);
	}
	return g_string_free(s, FALSE);
}

static void
device_free(gpointer data)
{
	WrTrayViewDevice *d = data;

	g_free(d->key);
	g_free(d->label);
	g_free(d->address);
	g_free(d);
}

static void
exit_free(gpointer data)
{
	WrTrayViewExit *e = data;

	g_free(e->id);
	g_free(e->label);
	g_free(e);
}

void
wr_tray_view_free(WrTrayView *view)
{
	if (view == NULL)
		return;
	g_free(view->tooltip);
	g_free(view->status);
	g_free(view->device);
	g_free(view->device_address);
	g_ptr_array_unref(view->devices);
	g_ptr_array_unref(view->exit_nodes);
	g_free(view);
}

/* a string member of an a{sv}, "" when absent or of another type (warrend's dictionaries
 * always carry their keys, but the view must not trust that) */
static const gchar *
dict_str(GVariant *dict, const gchar *key)
{
	const gchar *value = NULL;

	if (dict == NULL || !g_variant_lookup(dict, key, "&s", &value))
		return "";
	return value;
}

static gboolean
dict_bool(GVariant *dict, const gchar *key, gboolean fallback)
{
	gboolean value;

	if (dict == NULL || !g_variant_lookup(dict, key, "b", &value))
		return fallback;
	return value;
}

/* the first tailnet address, NULL when there is none */
static gchar *
dict_first_address(GVariant *dict)
{
	g_autofree const gchar **addresses = NULL;
	gchar *first = NULL;

	if (dict == NULL || !g_variant_lookup(dict, "addresses", "^a&s", &addresses))
		return NULL;
	if (addresses[0] != NULL && addresses[0][0] != '\0')
		first = g_strdup(addresses[0]);
	return first;
}

static gboolean
signed_in(const gchar *state)
{
	return g_strcmp0(state, "Running") == 0 || g_strcmp0(state, "Starting") == 0 ||
	       g_strcmp0(state, "Stopped") == 0;
}

/* a peer that carries traffic now: online and not idle */
static gboolean
peer_active(GVariant *peer)
{
	return dict_bool(peer, "online", FALSE) && g_strcmp0(dict_str(peer, "path"), "idle") != 0 &&
	       dict_str(peer, "path")[0] != '\0';
}

static WrTrayIcon
choose_icon(const WrTrayState *st)
{
	guint active = 0, relayed = 0;

	if (!st->present)
		return WR_TRAY_ICON_SIGNED_OUT;
	if (g_strcmp0(st->state, "Starting") == 0)
		return WR_TRAY_ICON_CONNECTING;
	if (g_strcmp0(st->state, "Running") != 0)
		return WR_TRAY_ICON_SIGNED_OUT;
	if (st->health != NULL && st->health[0] != NULL)
		return WR_TRAY_ICON_DEGRADED;
	for (guint i = 0; i < st->n_peers; i++) {
		if (!peer_active(st->peers[i]))
			continue;
		active++;
		if (g_strcmp0(dict_str(st->peers[i], "path"), "derp") == 0)
			relayed++;
	}
	/* relayed to one peer is normal (hard NAT); relayed to all of them means that no direct
	 * path works from here, which the user may want to look into */
	if (active > 0 && relayed == active)
		return WR_TRAY_ICON_DEGRADED;
	if (st->exit_node != NULL && st->exit_node[0] != '\0')
		return WR_TRAY_ICON_EXIT_NODE;
	return WR_TRAY_ICON_CONNECTED;
}

static gchar *
status_text(const WrTrayState *st)
{
	const gchar *user = dict_str(st->self, "user");

	if (!st->present)
		return g_strdup(_("Warren is not running"));
	if (g_strcmp0(st->state, "NeedsLogin") == 0)
		return g_strdup(_("Signed out"));
	if (g_strcmp0(st->state, "NeedsMachineAuth") == 0)
		return g_strdup(_("Waiting for an administrator to approve this device"));
	if (g_strcmp0(st->state, "Starting") == 0)
		return g_strdup(_("Connecting…"));
	if (g_strcmp0(st->state, "Stopped") == 0)
		return g_strdup(_("Disconnected"));
	if (g_strcmp0(st->state, "Running") == 0) {
		if (user[0] != '\0')
			return g_strdup_printf(_("Connected as %s"), user);
		return g_strdup(_("Connected"));
	}
	return g_strdup(_("Starting…"));
}

static const gchar *
path_text(GVariant *peer)
{
	const gchar *path = dict_str(peer, "path");

	if (!dict_bool(peer, "online", FALSE))
		return _("offline");
	if (g_strcmp0(path, "direct") == 0)
		return _("direct");
	if (g_strcmp0(path, "derp") == 0)
		return _("relayed");
	return _("idle");
}

static GVariant *
find_peer(const WrTrayState *st, const gchar *id)
{
	for (guint i = 0; i < st->n_peers; i++)
		if (g_strcmp0(dict_str(st->peers[i], "id"), id) == 0)
			return st->peers[i];
	return NULL;
}

static gboolean
peer_is_mine(GVariant *peer, const gchar *my_user)
{
	gboolean mine;

	/* warrend says so when it knows; else compare the owners */
	if (g_variant_lookup(peer, "is-self-user", "b", &mine))
		return mine;
	return my_user[0] != '\0' && g_strcmp0(dict_str(peer, "user"), my_user) == 0;
}

static void
add_device(GPtrArray *devices, GVariant *peer)
{
	WrTrayViewDevice *d = g_new0(WrTrayViewDevice, 1);
	g_autofree gchar *label = NULL;

	d->key = g_strdup_printf("peer:%s", dict_str(peer, "id"));
	/* TRANSLATORS: a device in the menu: its name and how it is reached ("direct") */
	label = g_strdup_printf(_("%s — %s"), dict_str(peer, "name"), path_text(peer));
	d->label = wr_tray_view_escape(label);
	d->address = dict_first_address(peer);
	d->online = dict_bool(peer, "online", FALSE);
	g_ptr_array_add(devices, d);
}

static void
add_header(GPtrArray *devices, const gchar *key, const gchar *label)
{
	WrTrayViewDevice *d = g_new0(WrTrayViewDevice, 1);

	d->key = g_strdup_printf("user:%s", key);
	d->label = wr_tray_view_escape(label);
	d->header = TRUE;
	g_ptr_array_add(devices, d);
}

static gint
compare_by_user(gconstpointer a, gconstpointer b)
{
	GVariant *pa = *(GVariant *const *) a, *pb = *(GVariant *const *) b;
	gint c = g_strcmp0(dict_str(pa, "user"), dict_str(pb, "user"));

	return c != 0 ? c : g_strcmp0(dict_str(pa, "name"), dict_str(pb, "name"));
}

static void
fill_devices(WrTrayView *view, const WrTrayState *st)
{
	const gchar *my_user = dict_str(st->self, "user");
	g_autoptr(GPtrArray) others = g_ptr_array_new();
	gboolean any_mine = FALSE;
	const gchar *last_user = NULL;

	for (guint i = 0; i < st->n_peers; i++) {
		if (!peer_is_mine(st->peers[i], my_user)) {
			g_ptr_array_add(others, st->peers[i]);
			continue;
		}
		if (!any_mine)
			add_header(view->devices, "", _("My devices"));
		any_mine = TRUE;
		add_device(view->devices, st->peers[i]);
	}
	/* g_ptr_array_sort is not stable: compare the names too */
	g_ptr_array_sort(others, compare_by_user);
	for (guint i = 0; i < others->len; i++) {
		GVariant *peer = others->pdata[i];
		const gchar *user = dict_str(peer, "user");

		if (last_user == NULL || g_strcmp0(user, last_user) != 0)
			add_header(view->devices, user,
				   user[0] != '\0' ? user : _("Unknown owner"));
		last_user = user;
		add_device(view->devices, peer);
	}
}

static void
fill_exit_nodes(WrTrayView *view, const WrTrayState *st)
{
	const gchar *chosen = st->exit_node != NULL ? st->exit_node : "";
	gboolean found = FALSE;

	for (guint i = 0; i < st->n_peers; i++) {
		GVariant *peer = st->peers[i];
		WrTrayViewExit *e;
		g_autofree gchar *label = NULL;

		if (!dict_bool(peer, "exit-node-option", FALSE))
			continue;
		e = g_new0(WrTrayViewExit, 1);
		e->id = g_strdup(dict_str(peer, "id"));
		if (dict_bool(peer, "online", FALSE))
			label = g_strdup(dict_str(peer, "name"));
		else
			/* TRANSLATORS: an exit node that is offline */
			label = g_strdup_printf(_("%s (offline)"), dict_str(peer, "name"));
		e->label = wr_tray_view_escape(label);
		e->active = chosen[0] != '\0' && g_strcmp0(e->id, chosen) == 0;
		/* the chosen one stays sensitive: the radio group needs it, and choosing it again
		 * does nothing */
		e->sensitive = dict_bool(peer, "online", FALSE) || e->active;
		found = found || e->active;
		g_ptr_array_add(view->exit_nodes, e);
	}
	view->exit_none_active = chosen[0] == '\0';
	if (chosen[0] != '\0' && !found) {
		/* chosen, but no longer in the network map (or no longer offering): warrend blocks
		 * the traffic meanwhile, so the menu must say which exit node is still chosen */
		WrTrayViewExit *e = g_new0(WrTrayViewExit, 1);
		GVariant *peer = find_peer(st, chosen);
		g_autofree gchar *label = NULL;

		e->id = g_strdup(chosen);
		label = g_strdup_printf(_("%s (unavailable)"),
					peer != NULL ? dict_str(peer, "name") : chosen);
		e->label = wr_tray_view_escape(label);
		e->active = TRUE;
		e->sensitive = FALSE;
		g_ptr_array_add(view->exit_nodes, e);
	}
}

static gchar *
make_tooltip(const WrTrayView *view, const WrTrayState *st, const gchar *status)
{
	GString *s = g_string_new(NULL);

	/* TRANSLATORS: the tray icon's tooltip: the program's name and its status */
	g_string_append_printf(s, _("Warren: %s"), status);
	if (st->present && st->exit_node != NULL && st->exit_node[0] != '\0') {
		GVariant *peer = find_peer(st, st->exit_node);

		g_string_append_c(s, '\n');
		g_string_append_printf(s, _("Exit node: %s"),
				       peer != NULL ? dict_str(peer, "name") : st->exit_node);
	}
	for (guint i = 0; st->present && st->health != NULL && st->health[i] != NULL; i++) {
		g_string_append_c(s, '\n');
		g_string_append(s, st->health[i]);
	}
	return g_string_free(s, FALSE);
}

WrTrayView *
wr_tray_view_new(const WrTrayState *st)
{
	WrTrayView *view = g_new0(WrTrayView, 1);
	g_autofree gchar *status = status_text(st);
	const gchar *name = dict_str(st->self, "name");
	gboolean in = st->present && signed_in(st->state);
	const gchar *state = st->present ? st->state : "";

	view->devices = g_ptr_array_new_with_free_func(device_free);
	view->exit_nodes = g_ptr_array_new_with_free_func(exit_free);
	view->icon = choose_icon(st);
	view->status = wr_tray_view_escape(status);
	view->tooltip = make_tooltip(view, st, status);

	view->device_address = st->present ? dict_first_address(st->self) : NULL;
	if (st->present && name[0] != '\0') {
		g_autofree gchar *line = NULL;

		if (view->device_address != NULL)
			/* TRANSLATORS: this device's name and tailnet address */
			line = g_strdup_printf(_("This device: %s (%s)"), name,
					       view->device_address);
		else
			line = g_strdup_printf(_("This device: %s"), name);
		view->device = wr_tray_view_escape(line);
	} else {
		view->device = g_strdup(_("This device: not yet in the network"));
	}

	/* Up refuses NeedsLogin: Connect is shown but cannot be used until signed in */
	view->show_connect = !in || g_strcmp0(state, "Stopped") == 0;
	view->connect_sensitive = g_strcmp0(state, "Stopped") == 0;
	view->disconnect_sensitive = !view->show_connect;
	if (g_strcmp0(state, "NeedsMachineAuth") == 0) {
		/* signed in, waiting for approval: Disconnect (Down) and Sign out work */
		view->show_connect = FALSE;
		view->disconnect_sensitive = TRUE;
	}
	view->show_sign_in =
		!st->present || g_strcmp0(state, "NeedsLogin") == 0 || state[0] == '\0';
	view->sign_in_sensitive = st->present && g_strcmp0(state, "NeedsLogin") == 0;
	view->sign_out_sensitive = st->present && !view->show_sign_in;

	if (st->present) {
		fill_devices(view, st);
		fill_exit_nodes(view, st);
	} else {
		view->exit_none_active = TRUE;
	}
	view->devices_sensitive = view->devices->len > 0;
	view->exit_sensitive = in;
	view->allow_lan = st->present && st->exit_node_allow_lan;
	view->allow_lan_sensitive = in;
	view->windows_sensitive = st->present;
	return view;
}
