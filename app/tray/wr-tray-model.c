/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The tray's model (wr-tray-model.h).
 */

#include "config.h"

#define G_LOG_DOMAIN "WrTrayModel"

#include "wr-tray-model.h"

struct _WrTrayModel {
	WrDbusEngine1 *engine;
	WrNotifier *notifier; /* not owned */
	GCancellable *cancellable;
	gulong props_id;
	gulong peer_event_id;
	gulong owner_id;

	gboolean present;
	gchar *state;
	gchar *auth_url;
	gchar *control_url;
	gchar *exit_node;
	gboolean allow_lan;
	GVariant *self_dict;
	gchar **health;
	GPtrArray *peers; /* GVariant a{sv}, sorted by name */

	WrTrayModelChangedFunc func;
	gpointer func_data;
	WrTrayState snapshot;
};

static const gchar *
peer_str(GVariant *peer, const gchar *key)
{
	const gchar *value = NULL;

	if (!g_variant_lookup(peer, key, "&s", &value))
		return "";
	return value;
}

static gint
peer_index(WrTrayModel *self, const gchar *id)
{
	for (guint i = 0; i < self->peers->len; i++)
		if (g_strcmp0(peer_str(self->peers->pdata[i], "id"), id) == 0)
			return (gint) i;
	return -1;
}

GVariant *
wr_tray_model_find_peer(WrTrayModel *self, const gchar *id)
{
	gint i = peer_index(self, id);

	return i < 0 ? NULL : self->peers->pdata[i];
}

static void
emit_changed(WrTrayModel *self)
{
	if (self->func != NULL)
		self->func(self, self->func_data);
}

static void
tell_notifier_state(WrTrayModel *self)
{
	if (self->notifier == NULL || !self->present)
		return;
	wr_notifier_engine_state(self->notifier, self->state, self->self_dict,
				 (const gchar *const *) self->health, self->exit_node,
				 wr_tray_model_find_peer(self, self->exit_node));
}

/* a cached property's string, "" when warrend has none (or it is of another type) */
static gchar *
cached_str(WrTrayModel *self, const gchar *name)
{
	g_autoptr(GVariant) value =
		g_dbus_proxy_get_cached_property(G_DBUS_PROXY(self->engine), name);

	if (value == NULL || !g_variant_is_of_type(value, G_VARIANT_TYPE_STRING))
		return g_strdup("");
	return g_variant_dup_string(value, NULL);
}

/* GDBusProxy's cache holds the properties (it reloads them all when the owner changes), so
 * re-reading them is cheap and always whole.  Read it directly, not through the generated
 * getters: those keep a converted copy (strv) that is only dropped in the class handler of
 * g-properties-changed, after ours has run. */
static void
read_properties(WrTrayModel *self)
{
	GDBusProxy *proxy = G_DBUS_PROXY(self->engine);
	g_autoptr(GVariant) allow_lan = g_dbus_proxy_get_cached_property(proxy, "ExitNodeAllowLAN");
	g_autoptr(GVariant) health = g_dbus_proxy_get_cached_property(proxy, "Health");
	g_autoptr(GVariant) dict = g_dbus_proxy_get_cached_property(proxy, "Self");

	g_free(self->state);
	self->state = cached_str(self, "State");
	g_free(self->auth_url);
	self->auth_url = cached_str(self, "AuthURL");
	g_free(self->control_url);
	self->control_url = cached_str(self, "ControlURL");
	g_free(self->exit_node);
	self->exit_node = cached_str(self, "ExitNode");
	self->allow_lan = allow_lan != NULL &&
			  g_variant_is_of_type(allow_lan, G_VARIANT_TYPE_BOOLEAN) &&
			  g_variant_get_boolean(allow_lan);
	g_strfreev(self->health);
	self->health = health != NULL && g_variant_is_of_type(health, G_VARIANT_TYPE_STRING_ARRAY)
			       ? g_variant_dup_strv(health, NULL)
			       : NULL;
	g_clear_pointer(&self->self_dict, g_variant_unref);
	if (dict != NULL && g_variant_is_of_type(dict, G_VARIANT_TYPE_VARDICT))
		self->self_dict = g_steal_pointer(&dict);
}

static gint
compare_names(GVariant *a, GVariant *b)
{
	gint c = g_strcmp0(peer_str(a, "name"), peer_str(b, "name"));

	return c != 0 ? c : g_strcmp0(peer_str(a, "id"), peer_str(b, "id"));
}

static void
insert_sorted(WrTrayModel *self, GVariant *peer)
{
	guint i = 0;

	while (i < self->peers->len && compare_names(self->peers->pdata[i], peer) < 0)
		i++;
	g_ptr_array_insert(self->peers, (gint) i, g_variant_ref(peer));
}

static void
get_peers_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
	WrTrayModel *self;
	g_autoptr(GVariant) peers = NULL;
	g_autoptr(GError) error = NULL;
	GVariantIter iter;
	GVariant *peer;

	if (!wr_dbus_engine1_call_get_peers_finish(WR_DBUS_ENGINE1(source), &peers, result,
						   &error)) {
		if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
			return;
		self = user_data;
		/* warrend left meanwhile: the owner change reads them again */
		g_dbus_error_strip_remote_error(error);
		g_warning("GetPeers: %s", error->message);
		return;
	}
	self = user_data;
	g_ptr_array_set_size(self->peers, 0);
	g_variant_iter_init(&iter, peers);
	while ((peer = g_variant_iter_next_value(&iter)) != NULL) {
		insert_sorted(self, peer);
		g_variant_unref(peer);
	}
	g_debug("%u peers", self->peers->len);
	tell_notifier_state(self);
	emit_changed(self);
}

static void
read_peers(WrTrayModel *self)
{
	/* a reply of an earlier call is older than this one: drop it */
	g_cancellable_cancel(self->cancellable);
	g_clear_object(&self->cancellable);
	self->cancellable = g_cancellable_new();
	wr_dbus_engine1_call_get_peers(self->engine, self->cancellable, get_peers_cb, self);
}

static void
properties_changed_cb(GDBusProxy *proxy, GVariant *changed, const gchar *const *invalidated,
		      gpointer user_data)
{
	WrTrayModel *self = user_data;

	read_properties(self);
	tell_notifier_state(self);
	emit_changed(self);
}

static void
peer_event_cb(WrDbusEngine1 *engine, const gchar *kind, GVariant *peer, gpointer user_data)
{
	WrTrayModel *self = user_data;
	gint i;

	if (!g_variant_is_of_type(peer, G_VARIANT_TYPE_VARDICT))
		return;
	i = peer_index(self, peer_str(peer, "id"));
	if (i >= 0)
		g_ptr_array_remove_index(self->peers, (guint) i);
	if (g_strcmp0(kind, "removed") != 0)
		insert_sorted(self, peer);
	if (self->notifier != NULL)
		wr_notifier_peer_event(self->notifier, kind, peer);
	emit_changed(self);
}

static void
owner_changed_cb(GObject *object, GParamSpec *pspec, gpointer user_data)
{
	WrTrayModel *self = user_data;
	g_autofree gchar *owner = g_dbus_proxy_get_name_owner(G_DBUS_PROXY(self->engine));
	gboolean present = owner != NULL;

	g_debug("warrend %s (%s)", present ? "present" : "gone", owner != NULL ? owner : "-");
	self->present = present;
	read_properties(self);
	g_ptr_array_set_size(self->peers, 0);
	if (present)
		read_peers(self);
	else
		g_cancellable_cancel(self->cancellable);
	if (self->notifier != NULL)
		wr_notifier_engine_present(self->notifier, present);
	tell_notifier_state(self);
	emit_changed(self);
}

WrTrayModel *
wr_tray_model_new(WrDbusEngine1 *engine, WrNotifier *notifier)
{
	WrTrayModel *self = g_new0(WrTrayModel, 1);
	g_autofree gchar *owner = NULL;

	self->engine = g_object_ref(engine);
	self->notifier = notifier;
	self->cancellable = g_cancellable_new();
	self->peers = g_ptr_array_new_with_free_func((GDestroyNotify) g_variant_unref);
	self->props_id = g_signal_connect(engine, "g-properties-changed",
					  G_CALLBACK(properties_changed_cb), self);
	self->peer_event_id =
		g_signal_connect(engine, "peer-event", G_CALLBACK(peer_event_cb), self);
	self->owner_id = g_signal_connect(engine, "notify::g-name-owner",
					  G_CALLBACK(owner_changed_cb), self);
	owner = g_dbus_proxy_get_name_owner(G_DBUS_PROXY(engine));
	self->present = owner != NULL;
	read_properties(self);
	if (self->present)
		read_peers(self);
	if (notifier != NULL)
		wr_notifier_engine_present(notifier, self->present);
	tell_notifier_state(self);
	return self;
}

void
wr_tray_model_free(WrTrayModel *self)
{
	if (self == NULL)
		return;
	g_cancellable_cancel(self->cancellable);
	g_clear_object(&self->cancellable);
	g_signal_handler_disconnect(self->engine, self->props_id);
	g_signal_handler_disconnect(self->engine, self->peer_event_id);
	g_signal_handler_disconnect(self->engine, self->owner_id);
	g_clear_object(&self->engine);
	g_free(self->state);
	g_free(self->auth_url);
	g_free(self->control_url);
	g_free(self->exit_node);
	g_clear_pointer(&self->self_dict, g_variant_unref);
	g_strfreev(self->health);
	g_ptr_array_unref(self->peers);
	g_free(self);
}

void
wr_tray_model_set_changed_func(WrTrayModel *self, WrTrayModelChangedFunc func, gpointer user_data)
{
	self->func = func;
	self->func_data = user_data;
}

const WrTrayState *
wr_tray_model_get_state(WrTrayModel *self)
{
	WrTrayState *st = &self->snapshot;

	st->present = self->present;
	st->state = self->state;
	st->auth_url = self->auth_url;
	st->control_url = self->control_url;
	st->exit_node = self->exit_node;
	st->exit_node_allow_lan = self->allow_lan;
	st->self = self->self_dict;
	st->health = (const gchar *const *) self->health;
	st->peers = (GVariant *const *) self->peers->pdata;
	st->n_peers = self->peers->len;
	return st;
}
