/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * warren-tray's application (wr-tray-app.h).
 */

#include "config.h"

#define G_LOG_DOMAIN "WrTray"

#include <glib/gi18n.h>
#include <gtk/gtk.h>

#include "wr-dbus-error.h"
#include "wr-tray-app.h"
#include "wr-tray-call.h"
#include "wr-tray-indicator.h"
#include "wr-tray-menu.h"
#include "wr-tray-model.h"
#include "wr-tray-notify.h"
#include "wr-tray-signin.h"
#include "wr-tray-status.h"
#include "wr-tray-view.h"
#include "wr-tray-windows.h"

#define APP_ID	     "io.github.warrenvpn.Tray"
#define ENGINE_NAME  "io.github.warrenvpn.Engine1"
#define ENGINE_PATH  "/io/github/warrenvpn/Engine1"
#define WATCHER_NAME "org.kde.StatusNotifierWatcher"
#define WATCHER_PATH "/StatusNotifierWatcher"
/* how long without a StatusNotifier host before the status window is shown instead: a
 * desktop session may start its panel after the tray (ayatana itself waits 100 ms) */
#define NO_HOST_GRACE_MS 1500

typedef struct {
	GtkApplication *app;
	GSettings *settings;
	GDBusConnection *bus;
	WrDbusEngine1 *engine;
	WrNotifier *notifier;
	WrTrayModel *model;
	WrTrayMenu *menu;
	WrTrayIndicator *indicator;
	WrTrayStatus *status;
	WrTrayView *view;
	GCancellable *cancellable;
	guint watch_id;
	guint host_signal_id;
	guint no_host_source;
	gboolean no_host; /* the status window stands in for the icon */
	int exit_status;
} App;

static void
update_view(App *self)
{
	g_autoptr(WrTrayView) view = wr_tray_view_new(wr_tray_model_get_state(self->model));

	wr_tray_menu_update(self->menu, view);
	if (self->indicator != NULL)
		wr_tray_indicator_update(self->indicator, wr_tray_icon_name(view->icon),
					 wr_tray_icon_description(view->icon), view->tooltip);
	if (self->status != NULL)
		wr_tray_status_update(self->status, view);
	wr_tray_view_free(self->view);
	self->view = g_steal_pointer(&view);
}

static void
model_changed_cb(WrTrayModel *model, gpointer user_data)
{
	update_view(user_data);
}

/* the windows and sign-in may enable and disable their actions: the menu follows */
static void
actions_changed_cb(GActionGroup *group, const gchar *name, gpointer user_data)
{
	App *self = user_data;

	if (self->model != NULL)
		update_view(self);
}

static void
action_enabled_cb(GActionGroup *group, const gchar *name, gboolean enabled, gpointer user_data)
{
	actions_changed_cb(group, name, user_data);
}

static void
show_status_window(App *self)
{
	if (self->status == NULL) {
		self->status = wr_tray_status_new(self->app, self->engine);
		if (self->view != NULL)
			wr_tray_status_update(self->status, self->view);
	}
	wr_tray_status_present(self->status);
}

static void
warn_no_host(App *self)
{
	GtkWidget *dialog;

	if (g_settings_get_boolean(self->settings, "no-host-warned"))
		return;
	g_settings_set_boolean(self->settings, "no-host-warned", TRUE);
	dialog = gtk_message_dialog_new(wr_tray_status_get_window(self->status),
					GTK_DIALOG_DESTROY_WITH_PARENT, GTK_MESSAGE_INFO,
					GTK_BUTTONS_CLOSE, "%s",
					_("Your desktop does not show tray icons"));
	gtk_message_dialog_format_secondary_text(
		GTK_MESSAGE_DIALOG(dialog), "%s",
		_("Warren shows its status in this window instead. Closing it keeps Warren "
		  "running; start Warren again to see it. On GNOME, the AppIndicator extension "
		  "(gnome-shell-extension-appindicator) adds tray icons."));
	gtk_window_set_title(GTK_WINDOW(dialog), _("No tray icons"));
	g_signal_connect(dialog, "response", G_CALLBACK(gtk_widget_destroy), NULL);
	gtk_widget_show(dialog);
}

static gboolean
no_host_cb(gpointer user_data)
{
	App *self = user_data;

	self->no_host_source = 0;
	g_message("no StatusNotifier host: showing the status window");
	self->no_host = TRUE;
	show_status_window(self);
	warn_no_host(self);
	return G_SOURCE_REMOVE;
}

static void
set_host(App *self, gboolean host)
{
	g_debug("StatusNotifier host %s", host ? "present" : "absent");
	if (host) {
		g_clear_handle_id(&self->no_host_source, g_source_remove);
		if (self->no_host && self->status != NULL)
			wr_tray_status_hide(self->status);
		self->no_host = FALSE;
		return;
	}
	if (!self->no_host && self->no_host_source == 0)
		self->no_host_source = g_timeout_add(NO_HOST_GRACE_MS, no_host_cb, self);
}

static void
host_registered_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GVariant) value = NULL;
	g_autoptr(GError) error = NULL;

	reply = g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), result, &error);
	if (reply == NULL && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return;
	if (reply == NULL) {
		g_message("StatusNotifierWatcher: %s", error->message);
		set_host(user_data, FALSE);
		return;
	}
	g_variant_get(reply, "(v)", &value);
	set_host(user_data, g_variant_is_of_type(value, G_VARIANT_TYPE_BOOLEAN) &&
				    g_variant_get_boolean(value));
}

static void
watcher_appeared_cb(GDBusConnection *connection, const gchar *name, const gchar *owner,
		    gpointer user_data)
{
	App *self = user_data;

	g_dbus_connection_call(
		connection, owner, WATCHER_PATH, "org.freedesktop.DBus.Properties", "Get",
		g_variant_new("(ss)", WATCHER_NAME, "IsStatusNotifierHostRegistered"),
		G_VARIANT_TYPE("(v)"), G_DBUS_CALL_FLAGS_NONE, -1, self->cancellable,
		host_registered_cb, self);
}

static void
watcher_vanished_cb(GDBusConnection *connection, const gchar *name, gpointer user_data)
{
	set_host(user_data, FALSE);
}

static void
host_signal_cb(GDBusConnection *connection, const gchar *sender, const gchar *path,
	       const gchar *interface, const gchar *signal, GVariant *params, gpointer user_data)
{
	set_host(user_data, TRUE);
}

static void
watch_host(App *self)
{
	GDBusConnection *session = g_application_get_dbus_connection(G_APPLICATION(self->app));

	if (session == NULL) {
		set_host(self, FALSE);
		return;
	}
	self->host_signal_id = g_dbus_connection_signal_subscribe(
		session, NULL, WATCHER_NAME, "StatusNotifierHostRegistered", WATCHER_PATH, NULL,
		G_DBUS_SIGNAL_FLAGS_NONE, host_signal_cb, self, NULL);
	self->watch_id = g_bus_watch_name_on_connection(
		session, WATCHER_NAME, G_BUS_NAME_WATCHER_FLAGS_NONE, watcher_appeared_cb,
		watcher_vanished_cb, self, NULL);
}

static GDBusConnection *
connect_bus(GError **error)
{
	const gchar *address = g_getenv("WARREN_BUS_ADDRESS");

	if (address != NULL && address[0] != '\0')
		return g_dbus_connection_new_for_address_sync(
			address,
			G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
				G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
			NULL, NULL, error);
	return g_bus_get_sync(G_BUS_TYPE_SYSTEM, NULL, error);
}

static void
fatal(App *self, const gchar *title, const gchar *detail)
{
	GtkWidget *dialog;

	g_printerr("warren-tray: %s: %s\n", title, detail);
	dialog = gtk_message_dialog_new(NULL, 0, GTK_MESSAGE_ERROR, GTK_BUTTONS_CLOSE, "%s", title);
	gtk_message_dialog_format_secondary_text(GTK_MESSAGE_DIALOG(dialog), "%s", detail);
	gtk_window_set_title(GTK_WINDOW(dialog), title);
	gtk_dialog_run(GTK_DIALOG(dialog));
	gtk_widget_destroy(dialog);
	self->exit_status = 1;
}

static const gchar *
icon_dir(void)
{
	const gchar *dir = g_getenv("WARREN_ICON_DIR");

	return dir != NULL && dir[0] != '\0' ? dir : NULL;
}

static void
startup_cb(GApplication *application, gpointer user_data)
{
	App *self = user_data;
	g_autoptr(GSettingsSchema) schema = NULL;
	g_autoptr(GError) error = NULL;

	self->cancellable = g_cancellable_new();
	if (icon_dir() != NULL)
		gtk_icon_theme_append_search_path(gtk_icon_theme_get_default(), icon_dir());
	gtk_window_set_default_icon_name(APP_ID);

	schema = g_settings_schema_source_lookup(g_settings_schema_source_get_default(), APP_ID,
						 TRUE);
	if (schema == NULL) {
		fatal(self, _("Warren cannot start"),
		      _("Its settings schema io.github.warrenvpn.Tray is not installed."));
		return;
	}
	self->settings = g_settings_new(APP_ID);

	/* the error names first, so that refusals arrive as WR_DBUS_ERROR */
	(void) wr_dbus_error_quark();
	self->bus = connect_bus(&error);
	if (self->bus == NULL) {
		fatal(self, _("Warren cannot reach its service"), error->message);
		return;
	}
	/* no object manager: one object; the proxy follows the name's owner (warrend may start
	 * after the tray, restart, or stop) and reloads the properties on each new owner */
	self->engine =
		wr_dbus_engine1_proxy_new_sync(self->bus, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
					       ENGINE_NAME, ENGINE_PATH, NULL, &error);
	if (self->engine == NULL) {
		fatal(self, _("Warren cannot reach its service"), error->message);
		return;
	}

	self->notifier = wr_notifier_new(application, self->settings);
	self->model = wr_tray_model_new(self->engine, self->notifier);
	self->menu = wr_tray_menu_new(self->app, self->engine);
	wr_tray_windows_install(self->app, self->engine, self->settings);
	wr_tray_signin_install(self->app, self->engine);
	self->indicator = wr_tray_indicator_new(wr_tray_menu_get_menu(self->menu), icon_dir());
	wr_tray_model_set_changed_func(self->model, model_changed_cb, self);
	g_signal_connect(self->app, "action-added", G_CALLBACK(actions_changed_cb), self);
	g_signal_connect(self->app, "action-removed", G_CALLBACK(actions_changed_cb), self);
	g_signal_connect(self->app, "action-enabled-changed", G_CALLBACK(action_enabled_cb), self);
	update_view(self);
	watch_host(self);
	/* no window needs to be open for the tray to run */
	g_application_hold(application);
}

static void
activate_cb(GApplication *application, gpointer user_data)
{
	App *self = user_data;

	/* started again while running: show the status window when it stands in for the icon */
	if (self->no_host)
		show_status_window(self);
}

static void
shutdown_cb(GApplication *application, gpointer user_data)
{
	App *self = user_data;
	GDBusConnection *session = g_application_get_dbus_connection(application);

	g_cancellable_cancel(self->cancellable);
	g_clear_handle_id(&self->no_host_source, g_source_remove);
	if (self->watch_id != 0)
		g_bus_unwatch_name(self->watch_id);
	if (self->host_signal_id != 0 && session != NULL)
		g_dbus_connection_signal_unsubscribe(session, self->host_signal_id);
	g_clear_pointer(&self->status, wr_tray_status_free);
	g_clear_pointer(&self->indicator, wr_tray_indicator_free);
	g_clear_pointer(&self->model, wr_tray_model_free);
	g_clear_pointer(&self->menu, wr_tray_menu_free);
	g_clear_pointer(&self->notifier, wr_notifier_free);
	g_clear_pointer(&self->view, wr_tray_view_free);
	g_clear_object(&self->engine);
	g_clear_object(&self->bus);
	g_clear_object(&self->settings);
	g_clear_object(&self->cancellable);
}

int
wr_tray_app_run(int argc, char **argv)
{
	App self = {0};
	int status;

	g_set_prgname("warren-tray");
	g_set_application_name(_("Warren"));
	self.app = gtk_application_new(APP_ID, G_APPLICATION_DEFAULT_FLAGS);
	g_signal_connect(self.app, "startup", G_CALLBACK(startup_cb), &self);
	g_signal_connect(self.app, "activate", G_CALLBACK(activate_cb), &self);
	g_signal_connect(self.app, "shutdown", G_CALLBACK(shutdown_cb), &self);
	status = g_application_run(G_APPLICATION(self.app), argc, argv);
	g_object_unref(self.app);
	return status != 0 ? status : self.exit_status;
}
