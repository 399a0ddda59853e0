/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The Preferences window (ui/wr-prefs.ui): the control server (ControlURL; SetControlURL, which
 * signs the node out of the old server and needs an administrator), start at login (XDG
 * autostart, wr-tray-autostart), allow LAN access (ExitNodeAllowLAN; SetPrefs
 * exit-node-allow-lan) and the notification choices (the io.github.warrenvpn.Tray GSettings,
 * bound).  The engine's settings follow PropertiesChanged; a refused change is shown and the
 * control goes back to what warrend says.
 */

#define G_LOG_DOMAIN "WrTrayPrefs"

#include "config.h"

#include <glib/gi18n.h>

#include "wr-tray-autostart.h"
#include "wr-tray-win.h"

struct _WrTrayPrefs {
	GtkWindow parent_instance;

	WrDbusEngine1 *engine;
	GSettings *settings;
	GCancellable *cancellable;
	gboolean syncing; /* setting the controls from the engine, not the person */
	gboolean url_busy;
	gboolean url_edited; /* the entry holds the person's text, not ControlURL */

	GtkEntry *url_entry;
	GtkButton *url_button;
	GtkLabel *url_message;
	GtkToggleButton *autostart_check;
	GtkToggleButton *allow_lan_check;
	GtkLabel *general_message;
	GtkWidget *notify_own_check;
	GtkWidget *notify_other_check;
	GtkWidget *notify_new_check;
	GtkWidget *notify_exit_check;
	GtkWidget *notify_connection_check;
	GtkWidget *notify_account_check;
};

G_DEFINE_FINAL_TYPE(WrTrayPrefs, wr_tray_prefs, GTK_TYPE_WINDOW)

static void
show_message(GtkLabel *label, const gchar *text)
{
	gtk_label_set_text(label, text != NULL ? text : "");
	gtk_widget_set_visible(GTK_WIDGET(label), text != NULL);
}

static const gchar *
engine_url(WrTrayPrefs *self)
{
	const gchar *url = wr_dbus_engine1_get_control_url(self->engine);
	return url != NULL ? url : "";
}

static void
update_url_button(WrTrayPrefs *self)
{
	g_autofree gchar *text = g_strstrip(g_strdup(gtk_entry_get_text(self->url_entry)));

	gtk_widget_set_sensitive(GTK_WIDGET(self->url_button),
				 !self->url_busy && text[0] != '\0' &&
					 g_strcmp0(text, engine_url(self)) != 0);
}

/* the controls from warrend's properties */
static void
sync_from_engine(WrTrayPrefs *self)
{
	gboolean present = g_dbus_proxy_get_name_owner(G_DBUS_PROXY(self->engine)) != NULL;

	self->syncing = TRUE;
	/* a refused URL stays to be corrected */
	if (!self->url_busy && !self->url_edited)
		gtk_entry_set_text(self->url_entry, engine_url(self));
	gtk_toggle_button_set_active(self->allow_lan_check,
				     wr_dbus_engine1_get_exit_node_allow_lan(self->engine));
	self->syncing = FALSE;
	gtk_widget_set_sensitive(GTK_WIDGET(self->url_entry), present);
	gtk_widget_set_sensitive(GTK_WIDGET(self->allow_lan_check), present);
	update_url_button(self);
	if (!present)
		show_message(self->general_message,
			     _("Warren's service (warrend) is not running."));
}

static void
properties_changed_cb(GDBusProxy *proxy, GVariant *changed, GStrv invalidated, gpointer user_data)
{
	sync_from_engine(WR_TRAY_PREFS(user_data));
}

static void
name_owner_cb(GObject *object, GParamSpec *pspec, gpointer user_data)
{
	WrTrayPrefs *self = WR_TRAY_PREFS(user_data);

	show_message(self->general_message, NULL);
	sync_from_engine(self);
}

static void
url_changed_cb(WrTrayPrefs *self)
{
	if (!self->syncing) {
		self->url_edited = TRUE;
		show_message(self->url_message, NULL);
	}
	update_url_button(self);
}

static void
set_url_done_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) ret = g_dbus_proxy_call_finish(G_DBUS_PROXY(source), res, &error);
	WrTrayPrefs *self;

	if (ret == NULL && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return;
	self = WR_TRAY_PREFS(user_data);
	self->url_busy = FALSE;
	if (ret == NULL) {
		g_autofree gchar *text = wr_tray_win_error_text(error);
		g_debug("SetControlURL: %s", error->message);
		show_message(self->url_message, text);
	} else {
		self->url_edited = FALSE;
		show_message(self->url_message,
			     _("Changed. Sign in to the new server from the tray menu."));
	}
	sync_from_engine(self);
}

static void
url_apply_cb(WrTrayPrefs *self)
{
	g_autofree gchar *url = g_strstrip(g_strdup(gtk_entry_get_text(self->url_entry)));

	if (url[0] == '\0' || g_strcmp0(url, engine_url(self)) == 0)
		return;
	self->url_busy = TRUE;
	update_url_button(self);
	show_message(self->url_message, _("Changing the control server…"));
	wr_tray_win_call(self->engine, "SetControlURL", g_variant_new("(s)", url),
			 self->cancellable, set_url_done_cb, self);
}

static void
set_prefs_done_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) ret = g_dbus_proxy_call_finish(G_DBUS_PROXY(source), res, &error);
	WrTrayPrefs *self;

	if (ret == NULL && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return;
	self = WR_TRAY_PREFS(user_data);
	gtk_widget_set_sensitive(GTK_WIDGET(self->allow_lan_check), TRUE);
	if (ret == NULL) {
		g_autofree gchar *text = wr_tray_win_error_text(error);
		g_debug("SetPrefs: %s", error->message);
		show_message(self->general_message, text);
	}
	/* the check box shows what warrend has, whatever happened */
	sync_from_engine(self);
}

static void
allow_lan_toggled_cb(WrTrayPrefs *self)
{
	g_auto(GVariantBuilder) prefs = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE_VARDICT);
	gboolean want = gtk_toggle_button_get_active(self->allow_lan_check);

	if (self->syncing || want == wr_dbus_engine1_get_exit_node_allow_lan(self->engine))
		return;
	show_message(self->general_message, NULL);
	gtk_widget_set_sensitive(GTK_WIDGET(self->allow_lan_check), FALSE);
	g_variant_builder_add(&prefs, "{sv}", "exit-node-allow-lan", g_variant_new_boolean(want));
	wr_tray_win_call(self->engine, "SetPrefs", g_variant_new("(a{sv})", &prefs),
			 self->cancellable, set_prefs_done_cb, self);
}

static void
autostart_toggled_cb(WrTrayPrefs *self)
{
	g_autoptr(GError) error = NULL;
	gboolean want = gtk_toggle_button_get_active(self->autostart_check);
	const gchar *const *system_dirs = g_get_system_config_dirs();
	const gchar *user_dir = g_get_user_config_dir();

	if (self->syncing)
		return;
	show_message(self->general_message, NULL);
	if (!wr_tray_autostart_set(user_dir, system_dirs, want, &error)) {
		g_autofree gchar *text = NULL;
		g_warning("start at login: %s", error->message);
		/* TRANSLATORS: %s is a system error message (a file could not be written) */
		text = g_strdup_printf(_("Could not change starting at login: %s"), error->message);
		show_message(self->general_message, text);
	}
	self->syncing = TRUE;
	gtk_toggle_button_set_active(self->autostart_check,
				     wr_tray_autostart_enabled(user_dir, system_dirs));
	self->syncing = FALSE;
}

static void
close_clicked_cb(WrTrayPrefs *self)
{
	gtk_window_close(GTK_WINDOW(self));
}

static void
wr_tray_prefs_dispose(GObject *object)
{
	WrTrayPrefs *self = WR_TRAY_PREFS(object);

	g_cancellable_cancel(self->cancellable);
	g_clear_object(&self->cancellable);
	if (self->engine != NULL)
		g_signal_handlers_disconnect_by_data(self->engine, self);
	g_clear_object(&self->engine);
	g_clear_object(&self->settings);
	G_OBJECT_CLASS(wr_tray_prefs_parent_class)->dispose(object);
}

static void
wr_tray_prefs_class_init(WrTrayPrefsClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);
	GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

	object_class->dispose = wr_tray_prefs_dispose;
	gtk_widget_class_set_template_from_resource(widget_class,
						    "/io/github/warrenvpn/Tray/ui/wr-prefs.ui");
	gtk_widget_class_bind_template_child(widget_class, WrTrayPrefs, url_entry);
	gtk_widget_class_bind_template_child(widget_class, WrTrayPrefs, url_button);
	gtk_widget_class_bind_template_child(widget_class, WrTrayPrefs, url_message);
	gtk_widget_class_bind_template_child(widget_class, WrTrayPrefs, autostart_check);
	gtk_widget_class_bind_template_child(widget_class, WrTrayPrefs, allow_lan_check);
	gtk_widget_class_bind_template_child(widget_class, WrTrayPrefs, general_message);
	gtk_widget_class_bind_template_child(widget_class, WrTrayPrefs, notify_own_check);
	gtk_widget_class_bind_template_child(widget_class, WrTrayPrefs, notify_other_check);
	gtk_widget_class_bind_template_child(widget_class, WrTrayPrefs, notify_new_check);
	gtk_widget_class_bind_template_child(widget_class, WrTrayPrefs, notify_exit_check);
	gtk_widget_class_bind_template_child(widget_class, WrTrayPrefs, notify_connection_check);
	gtk_widget_class_bind_template_child(widget_class, WrTrayPrefs, notify_account_check);
	gtk_widget_class_bind_template_callback(widget_class, url_changed_cb);
	gtk_widget_class_bind_template_callback(widget_class, url_apply_cb);
	gtk_widget_class_bind_template_callback(widget_class, autostart_toggled_cb);
	gtk_widget_class_bind_template_callback(widget_class, allow_lan_toggled_cb);
	gtk_widget_class_bind_template_callback(widget_class, close_clicked_cb);
}

static void
wr_tray_prefs_init(WrTrayPrefs *self)
{
	gtk_widget_init_template(GTK_WIDGET(self));
	self->cancellable = g_cancellable_new();
	wr_tray_win_setup(GTK_WINDOW(self));
}

GtkWidget *
wr_tray_prefs_new(GtkApplication *app, WrDbusEngine1 *engine, GSettings *settings)
{
	WrTrayPrefs *self = g_object_new(WR_TRAY_TYPE_PREFS, "application", app, NULL);
	const struct {
		const gchar *key;
		GtkWidget *check;
	} binds[] = {
		{"notify-own-devices", self->notify_own_check},
		{"notify-other-devices", self->notify_other_check},
		{"notify-new-devices", self->notify_new_check},
		{"notify-exit-node", self->notify_exit_check},
		{"notify-connection", self->notify_connection_check},
		{"notify-account", self->notify_account_check},
	};

	self->engine = g_object_ref(engine);
	self->settings = g_object_ref(settings);
	for (gsize i = 0; i < G_N_ELEMENTS(binds); i++)
		g_settings_bind(settings, binds[i].key, binds[i].check, "active",
				G_SETTINGS_BIND_DEFAULT);

	self->syncing = TRUE;
	gtk_toggle_button_set_active(
		self->autostart_check,
		wr_tray_autostart_enabled(g_get_user_config_dir(), g_get_system_config_dirs()));
	self->syncing = FALSE;
	g_signal_connect(engine, "g-properties-changed", G_CALLBACK(properties_changed_cb), self);
	g_signal_connect(engine, "notify::g-name-owner", G_CALLBACK(name_owner_cb), self);
	sync_from_engine(self);
	gtk_widget_grab_default(GTK_WIDGET(self->url_button));
	return GTK_WIDGET(self);
}
