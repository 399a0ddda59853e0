/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The tray's notifications: reads what warrend said out of its D-Bus values, hands it with the
 * time to the pure core (wr-tray-notify-core.c, which decides), and turns the core's decisions
 * into GNotifications and one timer.  Settings come from GSettings and follow its changes.
 */
#define G_LOG_DOMAIN "WrTrayNotify"

#include "config.h"

#include "wr-tray-notify-core.h"
#include "wr-tray-notify.h"

struct _WrNotifier {
	GApplication *app;
	GSettings *settings;
	gulong settings_changed_id;
	WrNotifyCore *core;
	GSource *timer;
};

static WrNotifyTime
now_time(void)
{
	WrNotifyTime t = {g_get_monotonic_time(), g_get_real_time()};

	return t;
}

static void
read_config(WrNotifier *self, WrNotifyConfig *out)
{
	out->own_devices = g_settings_get_boolean(self->settings, "notify-own-devices");
	out->other_devices = g_settings_get_boolean(self->settings, "notify-other-devices");
	out->new_devices = g_settings_get_boolean(self->settings, "notify-new-devices");
	out->exit_node = g_settings_get_boolean(self->settings, "notify-exit-node");
	out->connection = g_settings_get_boolean(self->settings, "notify-connection");
	out->account = g_settings_get_boolean(self->settings, "notify-account");
	out->coalesce_us =
		(gint64) g_settings_get_uint(self->settings, "coalesce-seconds") * G_USEC_PER_SEC;
}

static gboolean
timer_dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
	return callback(user_data);
}

static GSourceFuncs timer_funcs = {
	.dispatch = timer_dispatch,
};

static void
apply(WrNotifier *self);

static gboolean
timer_cb(gpointer user_data)
{
	WrNotifier *self = user_data;

	wr_notify_core_tick(self->core, now_time());
	apply(self);
	return G_SOURCE_CONTINUE;
}

/* carries out the core's decisions, and sets the one timer to its next deadline */
static void
apply(WrNotifier *self)
{
	g_autoptr(GPtrArray) actions = wr_notify_core_take_actions(self->core);
	gint64 deadline = wr_notify_core_next_deadline(self->core);

	for (guint i = 0; i < actions->len; i++) {
		const WrNotifyAction *a = actions->pdata[i];
		g_autoptr(GNotification) n = NULL;

		if (a->verb == WR_NOTIFY_WITHDRAW) {
			g_debug("withdraw %s", a->id);
			g_application_withdraw_notification(self->app, a->id);
			continue;
		}
		g_debug("send %s: %s: %s", a->id, a->title, a->body);
		n = g_notification_new(a->title);
		g_notification_set_body(n, a->body);
		g_notification_set_priority(n, a->high ? G_NOTIFICATION_PRIORITY_HIGH
						       : G_NOTIFICATION_PRIORITY_NORMAL);
		if (a->action != NULL)
			g_notification_set_default_action(n, a->action);
		g_application_send_notification(self->app, a->id, n);
	}
	/* the source's ready time is monotonic µs, as the core's deadlines: -1 disarms it */
	g_source_set_ready_time(self->timer, deadline == G_MAXINT64 ? -1 : MAX(deadline, 0));
}

static void
settings_changed_cb(GSettings *settings, const gchar *key, gpointer user_data)
{
	WrNotifier *self = user_data;
	WrNotifyConfig config;

	read_config(self, &config);
	wr_notify_core_set_config(self->core, now_time(), &config);
	apply(self);
}

WrNotifier *
wr_notifier_new(GApplication *app, GSettings *settings)
{
	WrNotifier *self = g_new0(WrNotifier, 1);
	WrNotifyConfig config;

	self->app = app;
	self->settings = g_object_ref(settings);
	read_config(self, &config);
	self->core = wr_notify_core_new(&config);
	self->timer = g_source_new(&timer_funcs, sizeof(GSource));
	g_source_set_name(self->timer, "WrNotifier timer");
	g_source_set_callback(self->timer, timer_cb, self, NULL);
	g_source_set_ready_time(self->timer, -1);
	g_source_attach(self->timer, NULL);
	self->settings_changed_id =
		g_signal_connect(settings, "changed", G_CALLBACK(settings_changed_cb), self);
	return self;
}

void
wr_notifier_free(WrNotifier *self)
{
	if (self == NULL)
		return;
	g_clear_signal_handler(&self->settings_changed_id, self->settings);
	g_source_destroy(self->timer);
	g_source_unref(self->timer);
	g_object_unref(self->settings);
	wr_notify_core_free(self->core);
	g_free(self);
}

/* the fields of a peer dictionary; strings are borrowed from it, absent or mistyped ones
 * (g_variant_lookup checks the type) read as empty */
static gboolean
read_peer(GVariant *dict, WrNotifyPeer *out)
{
	gboolean is_self_user = FALSE;

	if (dict == NULL || !g_variant_is_of_type(dict, G_VARIANT_TYPE_VARDICT))
		return FALSE;
	*out = (WrNotifyPeer){.id = "", .name = "", .user = "", .is_self_user = -1};
	(void) g_variant_lookup(dict, "id", "&s", &out->id);
	(void) g_variant_lookup(dict, "name", "&s", &out->name);
	(void) g_variant_lookup(dict, "user", "&s", &out->user);
	(void) g_variant_lookup(dict, "online", "b", &out->online);
	if (g_variant_lookup(dict, "is-self-user", "b", &is_self_user))
		out->is_self_user = is_self_user ? 1 : 0;
	return *out->id != '\0';
}

void
wr_notifier_peer_event(WrNotifier *self, const gchar *kind, GVariant *peer)
{
	WrNotifyPeer p;

	if (kind == NULL || !read_peer(peer, &p)) {
		g_debug("PeerEvent without a peer id, ignoring");
		return;
	}
	g_debug("peer %s %s", p.name, kind);
	wr_notify_core_peer_event(self->core, now_time(), kind, &p);
	apply(self);
}

void
wr_notifier_engine_state(WrNotifier *self, const gchar *state, GVariant *self_dict,
			 const gchar *const *health, const gchar *exit_node_id,
			 GVariant *exit_node_peer)
{
	WrNotifyEngine e = {
		.state = state != NULL ? state : "",
		.user = "",
		.exit_node_id = exit_node_id != NULL ? exit_node_id : "",
	};
	WrNotifyPeer exit_peer;

	if (self_dict != NULL && g_variant_is_of_type(self_dict, G_VARIANT_TYPE_VARDICT)) {
		(void) g_variant_lookup(self_dict, "user", "&s", &e.user);
		(void) g_variant_lookup(self_dict, "key-expiry", "x", &e.key_expiry);
	}
	for (guint i = 0; health != NULL && health[i] != NULL; i++)
		if (wr_notify_health_control_unreachable(health[i]))
			e.control_unreachable = TRUE;
	if (read_peer(exit_node_peer, &exit_peer))
		e.exit_node = &exit_peer;
	wr_notify_core_engine_state(self->core, now_time(), &e);
	apply(self);
}

void
wr_notifier_engine_present(WrNotifier *self, gboolean present)
{
	wr_notify_core_engine_present(self->core, now_time(), present);
	apply(self);
}
