/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The tray icon's menu (wr-tray-menu.h).
 */

#include "config.h"

#define G_LOG_DOMAIN "WrTrayMenu"

#include <glib/gi18n.h>

#include "wr-tray-call.h"
#include "wr-tray-menu.h"

struct _WrTrayMenu {
	GtkApplication *app;
	WrDbusEngine1 *engine;
	GCancellable *cancellable;
	GtkWidget *menu;

	GtkWidget *status;
	GtkWidget *device;
	GtkWidget *connect;
	GtkWidget *disconnect;
	GtkWidget *devices;
	GtkWidget *devices_menu;
	GtkWidget *exit;
	GtkWidget *exit_menu;
	GtkWidget *exit_none;
	GtkWidget *allow_lan;
	GtkWidget *sign_in;
	GtkWidget *sign_out;
	GtkWidget *preferences;
	GtkWidget *devices_window;
	GtkWidget *activity;
	GtkWidget *about;

	GHashTable *device_items; /* key -> GtkMenuItem (owned by the menu) */
	GHashTable *exit_items;	  /* peer id -> GtkRadioMenuItem */

	/* what warrend said last, for putting the radio and check items back after a refusal */
	gchar *exit_node;
	gboolean allow_lan_value;
	/* set while the menu follows a view, so that its toggles call nobody */
	gboolean updating;
	gchar *device_address;
};

GtkMenu *
wr_tray_menu_get_menu(WrTrayMenu *self)
{
	return GTK_MENU(self->menu);
}

static GtkWidget *
append_item(GtkWidget *menu, const gchar *label)
{
	GtkWidget *item = gtk_menu_item_new_with_mnemonic(label);

	gtk_menu_shell_append(GTK_MENU_SHELL(menu), item);
	gtk_widget_show(item);
	return item;
}

static void
append_separator(GtkWidget *menu)
{
	GtkWidget *item = gtk_separator_menu_item_new();

	gtk_menu_shell_append(GTK_MENU_SHELL(menu), item);
	gtk_widget_show(item);
}

static void
copy_text(const gchar *text)
{
	if (text == NULL)
		return;
	gtk_clipboard_set_text(gtk_clipboard_get(GDK_SELECTION_CLIPBOARD), text, -1);
	g_debug("copied %s", text);
}

/* put the radio and check items back to what warrend said last */
static void
apply_choice(WrTrayMenu *self)
{
	GtkWidget *item = NULL;

	self->updating = TRUE;
	if (self->exit_node != NULL && self->exit_node[0] != '\0')
		item = g_hash_table_lookup(self->exit_items, self->exit_node);
	gtk_check_menu_item_set_active(GTK_CHECK_MENU_ITEM(item != NULL ? item : self->exit_none),
				       TRUE);
	gtk_check_menu_item_set_active(GTK_CHECK_MENU_ITEM(self->allow_lan), self->allow_lan_value);
	self->updating = FALSE;
}

static void
choice_done_cb(const GError *error, gpointer user_data)
{
	WrTrayMenu *self = user_data;

	/* on success warrend's PropertiesChanged brings the new state */
	if (error != NULL)
		apply_choice(self);
}

static void
call(WrTrayMenu *self, const gchar *method, GVariant *params, const gchar *title,
     WrTrayCallDone done)
{
	wr_tray_call(self->engine, method, params, title, self->cancellable, done, self);
}

static void
connect_cb(GtkMenuItem *item, gpointer user_data)
{
	call(user_data, "Up", NULL, _("Could not connect"), NULL);
}

static void
disconnect_cb(GtkMenuItem *item, gpointer user_data)
{
	call(user_data, "Down", NULL, _("Could not disconnect"), NULL);
}

static void
sign_out_cb(GtkMenuItem *item, gpointer user_data)
{
	call(user_data, "Logout", NULL, _("Could not sign out"), NULL);
}

static void
exit_toggled_cb(GtkCheckMenuItem *item, gpointer user_data)
{
	WrTrayMenu *self = user_data;
	const gchar *id = g_object_get_data(G_OBJECT(item), "wr-id");

	if (self->updating || !gtk_check_menu_item_get_active(item))
		return;
	call(self, "SetExitNode", g_variant_new("(s)", id != NULL ? id : ""),
	     _("Could not change the exit node"), choice_done_cb);
}

static void
allow_lan_toggled_cb(GtkCheckMenuItem *item, gpointer user_data)
{
	WrTrayMenu *self = user_data;
	GVariantBuilder prefs;

	if (self->updating)
		return;
	g_variant_builder_init(&prefs, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&prefs, "{sv}", "exit-node-allow-lan",
			      g_variant_new_boolean(gtk_check_menu_item_get_active(item)));
	call(self, "SetPrefs", g_variant_new("(a{sv})", &prefs),
	     _("Could not change local network access"), choice_done_cb);
}

static void
device_cb(GtkMenuItem *item, gpointer user_data)
{
	WrTrayMenu *self = user_data;

	copy_text(self->device_address);
}

static void
peer_cb(GtkMenuItem *item, gpointer user_data)
{
	copy_text(g_object_get_data(G_OBJECT(item), "wr-address"));
}

static void
action_cb(GtkMenuItem *item, gpointer user_data)
{
	WrTrayMenu *self = user_data;
	const gchar *action = g_object_get_data(G_OBJECT(item), "wr-action");

	g_action_group_activate_action(G_ACTION_GROUP(self->app), action, NULL);
}

static GtkWidget *
append_action(WrTrayMenu *self, const gchar *label, const gchar *action)
{
	GtkWidget *item = append_item(self->menu, label);

	g_object_set_data(G_OBJECT(item), "wr-action", (gpointer) action);
	g_signal_connect(item, "activate", G_CALLBACK(action_cb), self);
	return item;
}

static void
quit_cb(GtkMenuItem *item, gpointer user_data)
{
	WrTrayMenu *self = user_data;

	g_application_quit(G_APPLICATION(self->app));
}

WrTrayMenu *
wr_tray_menu_new(GtkApplication *app, WrDbusEngine1 *engine)
{
	WrTrayMenu *self = g_new0(WrTrayMenu, 1);
	GtkWidget *item;

	self->app = app;
	self->engine = g_object_ref(engine);
	self->cancellable = g_cancellable_new();
	self->device_items = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	self->exit_items = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	self->exit_node = g_strdup("");
	self->menu = g_object_ref_sink(gtk_menu_new());

	self->status = append_item(self->menu, "");
	gtk_widget_set_sensitive(self->status, FALSE);
	self->device = append_item(self->menu, "");
	g_signal_connect(self->device, "activate", G_CALLBACK(device_cb), self);
	append_separator(self->menu);

	self->connect = append_item(self->menu, _("Connect"));
	g_signal_connect(self->connect, "activate", G_CALLBACK(connect_cb), self);
	self->disconnect = append_item(self->menu, _("Disconnect"));
	g_signal_connect(self->disconnect, "activate", G_CALLBACK(disconnect_cb), self);
	append_separator(self->menu);

	self->devices = append_item(self->menu, _("Network devices"));
	self->devices_menu = gtk_menu_new();
	gtk_menu_item_set_submenu(GTK_MENU_ITEM(self->devices), self->devices_menu);

	self->exit = append_item(self->menu, _("Exit node"));
	self->exit_menu = gtk_menu_new();
	gtk_menu_item_set_submenu(GTK_MENU_ITEM(self->exit), self->exit_menu);
	self->exit_none = gtk_radio_menu_item_new_with_mnemonic(NULL, _("None"));
	gtk_menu_shell_append(GTK_MENU_SHELL(self->exit_menu), self->exit_none);
	gtk_widget_show(self->exit_none);
	g_signal_connect(self->exit_none, "toggled", G_CALLBACK(exit_toggled_cb), self);
	append_separator(self->exit_menu);
	self->allow_lan = gtk_check_menu_item_new_with_mnemonic(_("Allow local network access"));
	gtk_menu_shell_append(GTK_MENU_SHELL(self->exit_menu), self->allow_lan);
	gtk_widget_show(self->allow_lan);
	g_signal_connect(self->allow_lan, "toggled", G_CALLBACK(allow_lan_toggled_cb), self);
	append_separator(self->menu);

	self->sign_in = append_action(self, _("Sign in…"), "sign-in");
	self->sign_out = append_item(self->menu, _("Sign out"));
	g_signal_connect(self->sign_out, "activate", G_CALLBACK(sign_out_cb), self);
	append_separator(self->menu);
	self->preferences = append_action(self, _("Preferences…"), "preferences");
	self->devices_window = append_action(self, _("Devices"), "devices");
	self->activity = append_action(self, _("Activity"), "activity");
	self->about = append_action(self, _("About Warren"), "about");
	append_separator(self->menu);
	item = append_item(self->menu, _("Quit"));
	g_signal_connect(item, "activate", G_CALLBACK(quit_cb), self);
	return self;
}

void
wr_tray_menu_free(WrTrayMenu *self)
{
	if (self == NULL)
		return;
	g_cancellable_cancel(self->cancellable);
	g_clear_object(&self->cancellable);
	gtk_widget_destroy(self->menu);
	g_clear_object(&self->menu);
	g_hash_table_unref(self->device_items);
	g_hash_table_unref(self->exit_items);
	g_clear_object(&self->engine);
	g_free(self->exit_node);
	g_free(self->device_address);
	g_free(self);
}

static gint
child_position(GtkWidget *shell, GtkWidget *child)
{
	g_autoptr(GList) children = gtk_container_get_children(GTK_CONTAINER(shell));

	return g_list_index(children, child);
}

/* make items[key] the item at offset + i for each entry, creating what is new and destroying
 * what is gone, moving nothing that stays in place */
typedef const gchar *(*KeyFunc)(gconstpointer entry);
typedef GtkWidget *(*CreateFunc)(WrTrayMenu *self, gconstpointer entry);
typedef void (*UpdateFunc)(WrTrayMenu *self, GtkWidget *item, gconstpointer entry);

static void
sync_items(WrTrayMenu *self, GtkWidget *shell, GHashTable *items, gint offset, GPtrArray *entries,
	   KeyFunc key, CreateFunc create, UpdateFunc update)
{
	g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
	GHashTableIter iter;
	gpointer k, v;

	for (guint i = 0; i < entries->len; i++) {
		gconstpointer entry = entries->pdata[i];
		GtkWidget *item = g_hash_table_lookup(items, key(entry));
		gint want = offset + (gint) i;

		if (item == NULL) {
			item = create(self, entry);
			g_hash_table_insert(items, g_strdup(key(entry)), item);
			gtk_menu_shell_insert(GTK_MENU_SHELL(shell), item, want);
			gtk_widget_show(item);
		} else if (child_position(shell, item) != want) {
			gtk_menu_reorder_child(GTK_MENU(shell), item, want);
		}
		update(self, item, entry);
		g_hash_table_add(seen, (gpointer) key(entry));
	}
	g_hash_table_iter_init(&iter, items);
	while (g_hash_table_iter_next(&iter, &k, &v)) {
		if (g_hash_table_contains(seen, k))
			continue;
		gtk_widget_destroy(v);
		g_hash_table_iter_remove(&iter);
	}
}

static void
set_label(GtkWidget *item, const gchar *label)
{
	if (g_strcmp0(gtk_menu_item_get_label(GTK_MENU_ITEM(item)), label) != 0)
		gtk_menu_item_set_label(GTK_MENU_ITEM(item), label);
}

static const gchar *
device_key(gconstpointer entry)
{
	return ((const WrTrayViewDevice *) entry)->key;
}

static GtkWidget *
device_create(WrTrayMenu *self, gconstpointer entry)
{
	GtkWidget *item = gtk_menu_item_new_with_mnemonic("");

	g_signal_connect(item, "activate", G_CALLBACK(peer_cb), self);
	return item;
}

static void
device_update(WrTrayMenu *self, GtkWidget *item, gconstpointer entry)
{
	const WrTrayViewDevice *d = entry;

	set_label(item, d->label);
	gtk_widget_set_sensitive(item, !d->header && d->address != NULL);
	g_object_set_data_full(G_OBJECT(item), "wr-address", g_strdup(d->address), g_free);
}

static const gchar *
exit_key(gconstpointer entry)
{
	return ((const WrTrayViewExit *) entry)->id;
}

static GtkWidget *
exit_create(WrTrayMenu *self, gconstpointer entry)
{
	const WrTrayViewExit *e = entry;
	GtkWidget *item = gtk_radio_menu_item_new_with_mnemonic_from_widget(
		GTK_RADIO_MENU_ITEM(self->exit_none), "");

	g_object_set_data_full(G_OBJECT(item), "wr-id", g_strdup(e->id), g_free);
	g_signal_connect(item, "toggled", G_CALLBACK(exit_toggled_cb), self);
	return item;
}

static void
exit_update(WrTrayMenu *self, GtkWidget *item, gconstpointer entry)
{
	const WrTrayViewExit *e = entry;

	set_label(item, e->label);
	gtk_widget_set_sensitive(item, e->sensitive);
}

/* an item that activates app.NAME: usable only when the action is there and enabled (the
 * windows and sign-in install theirs; a click on a missing one would do nothing) */
static void
set_action_sensitive(WrTrayMenu *self, GtkWidget *item, gboolean sensitive)
{
	const gchar *action = g_object_get_data(G_OBJECT(item), "wr-action");
	GActionGroup *group = G_ACTION_GROUP(self->app);

	gtk_widget_set_sensitive(item, sensitive && g_action_group_has_action(group, action) &&
					       g_action_group_get_action_enabled(group, action));
}

void
wr_tray_menu_update(WrTrayMenu *self, const WrTrayView *view)
{
	const gchar *exit_node = "";

	self->updating = TRUE;
	set_label(self->status, view->status);
	set_label(self->device, view->device);
	gtk_widget_set_sensitive(self->device, view->device_address != NULL);
	g_free(self->device_address);
	self->device_address = g_strdup(view->device_address);

	gtk_widget_set_visible(self->connect, view->show_connect);
	gtk_widget_set_sensitive(self->connect, view->connect_sensitive);
	gtk_widget_set_visible(self->disconnect, !view->show_connect);
	gtk_widget_set_sensitive(self->disconnect, view->disconnect_sensitive);

	sync_items(self, self->devices_menu, self->device_items, 0, view->devices, device_key,
		   device_create, device_update);
	gtk_widget_set_sensitive(self->devices, view->devices_sensitive);

	/* None is the first item of the exit node submenu */
	sync_items(self, self->exit_menu, self->exit_items, 1, view->exit_nodes, exit_key,
		   exit_create, exit_update);
	gtk_widget_set_sensitive(self->exit, view->exit_sensitive);
	gtk_widget_set_sensitive(self->allow_lan, view->allow_lan_sensitive);
	for (guint i = 0; i < view->exit_nodes->len; i++) {
		const WrTrayViewExit *e = view->exit_nodes->pdata[i];

		if (e->active)
			exit_node = e->id;
	}
	g_free(self->exit_node);
	self->exit_node = g_strdup(exit_node);
	self->allow_lan_value = view->allow_lan;

	gtk_widget_set_visible(self->sign_in, view->show_sign_in);
	set_action_sensitive(self, self->sign_in, view->sign_in_sensitive);
	gtk_widget_set_visible(self->sign_out, !view->show_sign_in);
	gtk_widget_set_sensitive(self->sign_out, view->sign_out_sensitive);
	set_action_sensitive(self, self->preferences, view->windows_sensitive);
	set_action_sensitive(self, self->devices_window, view->windows_sensitive);
	set_action_sensitive(self, self->activity, view->windows_sensitive);
	set_action_sensitive(self, self->about, TRUE);
	self->updating = FALSE;
	apply_choice(self);
}
