/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The status window for desktops without tray icons (wr-tray-status.h).
 */

#include "config.h"

#define G_LOG_DOMAIN "WrTrayStatus"

#include <glib/gi18n.h>

#include "wr-tray-call.h"
#include "wr-tray-status.h"

struct _WrTrayStatus {
	GtkApplication *app;
	WrDbusEngine1 *engine;
	GCancellable *cancellable;
	GtkWidget *window;
	GtkWidget *status;
	GtkWidget *device;
	GtkWidget *connect;
	GtkWidget *disconnect;
	GtkWidget *exit;
	GtkWidget *sign_in;
	GtkWidget *windows_box;
	gchar *exit_node; /* what warrend said last */
	gboolean updating;
};

/* the view's labels are for menus, with '_' doubled */
static gchar *
unescape(const gchar *label)
{
	GString *s = g_string_new(NULL);

	for (const gchar *p = label; *p != '\0'; p++) {
		if (p[0] == '_' && p[1] == '_')
			p++;
		g_string_append_c(s, *p);
	}
	return g_string_free(s, FALSE);
}

static void
set_label(GtkWidget *label, const gchar *escaped)
{
	g_autofree gchar *text = unescape(escaped);

	gtk_label_set_text(GTK_LABEL(label), text);
}

static void
restore_exit(WrTrayStatus *self)
{
	self->updating = TRUE;
	gtk_combo_box_set_active_id(GTK_COMBO_BOX(self->exit), self->exit_node);
	self->updating = FALSE;
}

static void
exit_done_cb(const GError *error, gpointer user_data)
{
	if (error != NULL)
		restore_exit(user_data);
}

static void
exit_changed_cb(GtkComboBox *combo, gpointer user_data)
{
	WrTrayStatus *self = user_data;
	const gchar *id = gtk_combo_box_get_active_id(combo);

	if (self->updating || id == NULL)
		return;
	wr_tray_call(self->engine, "SetExitNode", g_variant_new("(s)", id),
		     _("Could not change the exit node"), self->cancellable, exit_done_cb, self);
}

static void
connect_cb(GtkButton *button, gpointer user_data)
{
	WrTrayStatus *self = user_data;

	wr_tray_call(self->engine, "Up", NULL, _("Could not connect"), self->cancellable, NULL,
		     NULL);
}

static void
disconnect_cb(GtkButton *button, gpointer user_data)
{
	WrTrayStatus *self = user_data;

	wr_tray_call(self->engine, "Down", NULL, _("Could not disconnect"), self->cancellable, NULL,
		     NULL);
}

static GtkWidget *
action_button(GtkWidget *box, const gchar *label, const gchar *action)
{
	GtkWidget *button = gtk_button_new_with_mnemonic(label);

	gtk_actionable_set_action_name(GTK_ACTIONABLE(button), action);
	gtk_container_add(GTK_CONTAINER(box), button);
	return button;
}

static gboolean
delete_cb(GtkWidget *window, GdkEvent *event, gpointer user_data)
{
	/* hidden, not destroyed: the tray keeps running and shows it again when started again */
	gtk_widget_hide(window);
	return GDK_EVENT_STOP;
}

WrTrayStatus *
wr_tray_status_new(GtkApplication *app, WrDbusEngine1 *engine)
{
	WrTrayStatus *self = g_new0(WrTrayStatus, 1);
	GtkWidget *grid, *label, *box;

	self->app = app;
	self->engine = g_object_ref(engine);
	self->cancellable = g_cancellable_new();
	self->exit_node = g_strdup("");
	self->window = gtk_application_window_new(app);
	g_object_ref_sink(self->window);
	gtk_window_set_title(GTK_WINDOW(self->window), _("Warren"));
	gtk_window_set_icon_name(GTK_WINDOW(self->window), "io.github.warrenvpn.Tray");
	gtk_window_set_resizable(GTK_WINDOW(self->window), FALSE);
	g_signal_connect(self->window, "delete-event", G_CALLBACK(delete_cb), self);

	grid = gtk_grid_new();
	gtk_grid_set_row_spacing(GTK_GRID(grid), 8);
	gtk_grid_set_column_spacing(GTK_GRID(grid), 12);
	gtk_container_set_border_width(GTK_CONTAINER(grid), 18);
	gtk_container_add(GTK_CONTAINER(self->window), grid);

	self->status = gtk_label_new("");
	gtk_label_set_xalign(GTK_LABEL(self->status), 0);
	gtk_style_context_add_class(gtk_widget_get_style_context(self->status), "title");
	gtk_grid_attach(GTK_GRID(grid), self->status, 0, 0, 2, 1);
	self->device = gtk_label_new("");
	gtk_label_set_xalign(GTK_LABEL(self->device), 0);
	gtk_grid_attach(GTK_GRID(grid), self->device, 0, 1, 2, 1);

	label = gtk_label_new_with_mnemonic(_("_Exit node"));
	gtk_label_set_xalign(GTK_LABEL(label), 0);
	gtk_grid_attach(GTK_GRID(grid), label, 0, 2, 1, 1);
	self->exit = gtk_combo_box_text_new();
	gtk_label_set_mnemonic_widget(GTK_LABEL(label), self->exit);
	gtk_grid_attach(GTK_GRID(grid), self->exit, 1, 2, 1, 1);
	g_signal_connect(self->exit, "changed", G_CALLBACK(exit_changed_cb), self);

	box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
	gtk_grid_attach(GTK_GRID(grid), box, 0, 3, 2, 1);
	self->connect = gtk_button_new_with_mnemonic(_("_Connect"));
	g_signal_connect(self->connect, "clicked", G_CALLBACK(connect_cb), self);
	gtk_container_add(GTK_CONTAINER(box), self->connect);
	self->disconnect = gtk_button_new_with_mnemonic(_("_Disconnect"));
	g_signal_connect(self->disconnect, "clicked", G_CALLBACK(disconnect_cb), self);
	gtk_container_add(GTK_CONTAINER(box), self->disconnect);
	self->sign_in = action_button(box, _("_Sign in…"), "app.sign-in");

	self->windows_box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
	gtk_grid_attach(GTK_GRID(grid), self->windows_box, 0, 4, 2, 1);
	action_button(self->windows_box, _("_Preferences"), "app.preferences");
	action_button(self->windows_box, _("De_vices"), "app.devices");
	action_button(self->windows_box, _("_Activity"), "app.activity");
	action_button(self->windows_box, _("A_bout"), "app.about");
	gtk_widget_show_all(grid);
	return self;
}

void
wr_tray_status_free(WrTrayStatus *self)
{
	if (self == NULL)
		return;
	g_cancellable_cancel(self->cancellable);
	g_clear_object(&self->cancellable);
	gtk_widget_destroy(self->window);
	g_clear_object(&self->window);
	g_clear_object(&self->engine);
	g_free(self->exit_node);
	g_free(self);
}

void
wr_tray_status_update(WrTrayStatus *self, const WrTrayView *view)
{
	const gchar *active = "";

	self->updating = TRUE;
	set_label(self->status, view->status);
	set_label(self->device, view->device);
	gtk_widget_set_visible(self->connect, view->show_connect);
	gtk_widget_set_sensitive(self->connect, view->connect_sensitive);
	gtk_widget_set_visible(self->disconnect, !view->show_connect);
	gtk_widget_set_sensitive(self->disconnect, view->disconnect_sensitive);
	gtk_widget_set_visible(self->sign_in, view->show_sign_in);
	gtk_widget_set_sensitive(self->sign_in, view->sign_in_sensitive);
	gtk_widget_set_sensitive(self->windows_box, view->windows_sensitive);

	/* a combo box cannot grey out one row: offline exit nodes are left out */
	gtk_combo_box_text_remove_all(GTK_COMBO_BOX_TEXT(self->exit));
	gtk_combo_box_text_append(GTK_COMBO_BOX_TEXT(self->exit), "", _("None"));
	for (guint i = 0; i < view->exit_nodes->len; i++) {
		const WrTrayViewExit *e = view->exit_nodes->pdata[i];
		g_autofree gchar *label = unescape(e->label);

		if (e->active)
			active = e->id;
		if (e->sensitive)
			gtk_combo_box_text_append(GTK_COMBO_BOX_TEXT(self->exit), e->id, label);
	}
	gtk_widget_set_sensitive(self->exit, view->exit_sensitive);
	g_free(self->exit_node);
	self->exit_node = g_strdup(active);
	gtk_combo_box_set_active_id(GTK_COMBO_BOX(self->exit), active);
	self->updating = FALSE;
}

void
wr_tray_status_present(WrTrayStatus *self)
{
	gtk_window_present(GTK_WINDOW(self->window));
}

void
wr_tray_status_hide(WrTrayStatus *self)
{
	gtk_widget_hide(self->window);
}

GtkWindow *
wr_tray_status_get_window(WrTrayStatus *self)
{
	return GTK_WINDOW(self->window);
}
