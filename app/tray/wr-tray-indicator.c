/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The tray icon through libayatana-appindicator (wr-tray-indicator.h).
 *
 * libayatana-appindicator (0.5.92 in Debian 12, and 0.5.94) has a start-up race: it asks for
 * the session bus asynchronously and watches the StatusNotifierWatcher's name at the same
 * time, and when the watcher's name is reported first it calls g_dbus_proxy_new() with no
 * connection ("g_dbus_proxy_new: assertion 'G_IS_DBUS_CONNECTION (connection)' failed").
 * The indicator then never registers, and nothing tries again until the watcher goes away:
 * the icon is simply missing, now and then.  So the indicator is watched: when it has not
 * registered a few seconds after a watcher is there, it is made again (a few times at most;
 * a watcher that refuses every item is a panel's problem, and the app's no-host fallback
 * handles a panel that shows nothing).
 */

#include "config.h"

#include <libayatana-appindicator/app-indicator.h>

#include "wr-tray-indicator.h"
#include "wr-tray-view.h"

#define WATCHER_NAME "org.kde.StatusNotifierWatcher"
/* how long a registration may take before the indicator is made again, and how often */
#define REGISTER_GRACE_MS 3000
#define REGISTER_TRIES	  4

struct _WrTrayIndicator {
	AppIndicator *indicator;
	GtkMenu *menu; /* a reference of our own, given to every indicator made */
	gchar *icon_theme_path;
	gchar *icon_name;
	gchar *description;
	gchar *title;
	gboolean registered; /* with the watcher (AppIndicator::connection-changed) */
	guint watch_id;
	guint retry_source;
	guint tries;
};

static void
connection_changed_cb(AppIndicator *indicator, gboolean connected, gpointer user_data)
{
	WrTrayIndicator *self = user_data;

	self->registered = connected;
	if (connected) {
		g_clear_handle_id(&self->retry_source, g_source_remove);
		self->tries = 0;
	}
}

static void
make_indicator(WrTrayIndicator *self)
{
	/* the id names the D-Bus object: /org/ayatana/NotificationItem/warren_tray */
	self->indicator = app_indicator_new("warren-tray",
					    self->icon_name != NULL
						    ? self->icon_name
						    : wr_tray_icon_name(WR_TRAY_ICON_SIGNED_OUT),
					    APP_INDICATOR_CATEGORY_COMMUNICATIONS);
	g_signal_connect(self->indicator, APP_INDICATOR_SIGNAL_CONNECTION_CHANGED,
			 G_CALLBACK(connection_changed_cb), self);
	if (self->icon_theme_path != NULL)
		app_indicator_set_icon_theme_path(self->indicator, self->icon_theme_path);
	if (self->icon_name != NULL)
		app_indicator_set_icon_full(self->indicator, self->icon_name, self->description);
	app_indicator_set_title(self->indicator, self->title != NULL ? self->title : "Warren");
	app_indicator_set_menu(self->indicator, self->menu);
	app_indicator_set_status(self->indicator, APP_INDICATOR_STATUS_ACTIVE);
}

static void
drop_indicator(WrTrayIndicator *self)
{
	if (self->indicator == NULL)
		return;
	g_signal_handlers_disconnect_by_data(self->indicator, self);
	g_clear_object(&self->indicator);
	self->registered = FALSE;
}

static gboolean
retry_cb(gpointer user_data)
{
	WrTrayIndicator *self = user_data;

	self->retry_source = 0;
	if (self->registered || self->tries >= REGISTER_TRIES)
		return G_SOURCE_REMOVE;
	self->tries++;
	g_message("the tray icon is not registered with the StatusNotifierWatcher %u ms after "
		  "the watcher appeared: making it again (%u of %u)",
		  REGISTER_GRACE_MS, self->tries, REGISTER_TRIES);
	drop_indicator(self);
	make_indicator(self);
	self->retry_source = g_timeout_add(REGISTER_GRACE_MS, retry_cb, self);
	return G_SOURCE_REMOVE;
}

static void
watcher_appeared_cb(GDBusConnection *connection, const gchar *name, const gchar *owner,
		    gpointer user_data)
{
	WrTrayIndicator *self = user_data;

	/* a new watcher: the indicator registers by itself; check that it did */
	self->tries = 0;
	if (!self->registered && self->retry_source == 0)
		self->retry_source = g_timeout_add(REGISTER_GRACE_MS, retry_cb, self);
}

static void
watcher_vanished_cb(GDBusConnection *connection, const gchar *name, gpointer user_data)
{
	WrTrayIndicator *self = user_data;

	g_clear_handle_id(&self->retry_source, g_source_remove);
}

WrTrayIndicator *
wr_tray_indicator_new(GtkMenu *menu, const gchar *icon_theme_path)
{
	WrTrayIndicator *self = g_new0(WrTrayIndicator, 1);

	self->menu = g_object_ref(menu);
	self->icon_theme_path = g_strdup(icon_theme_path);
	make_indicator(self);
	self->watch_id =
		g_bus_watch_name(G_BUS_TYPE_SESSION, WATCHER_NAME, G_BUS_NAME_WATCHER_FLAGS_NONE,
				 watcher_appeared_cb, watcher_vanished_cb, self, NULL);
	return self;
}

void
wr_tray_indicator_free(WrTrayIndicator *self)
{
	if (self == NULL)
		return;
	g_clear_handle_id(&self->retry_source, g_source_remove);
	if (self->watch_id != 0)
		g_bus_unwatch_name(self->watch_id);
	drop_indicator(self);
	g_clear_object(&self->menu);
	g_free(self->icon_theme_path);
	g_free(self->icon_name);
	g_free(self->description);
	g_free(self->title);
	g_free(self);
}

void
wr_tray_indicator_update(WrTrayIndicator *self, const gchar *icon_name, const gchar *description,
			 const gchar *title)
{
	/* every set emits a signal on the bus: only what changed */
	if (g_strcmp0(self->icon_name, icon_name) != 0 ||
	    g_strcmp0(self->description, description) != 0) {
		g_free(self->icon_name);
		self->icon_name = g_strdup(icon_name);
		g_free(self->description);
		self->description = g_strdup(description);
		app_indicator_set_icon_full(self->indicator, icon_name, description);
	}
	if (g_strcmp0(self->title, title) != 0) {
		g_free(self->title);
		self->title = g_strdup(title);
		app_indicator_set_title(self->indicator, title);
	}
}
