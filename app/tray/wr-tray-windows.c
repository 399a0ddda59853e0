/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The tray's windows: the application actions that open them (one instance of each, presented
 * again when it is already open) and what the windows share (wr-tray-win.h).
 */

#define G_LOG_DOMAIN "WrTrayWindows"

#include "config.h"

#include <glib/gi18n.h>

#include "wr-dbus-error.h"
#include "wr-tray-call.h"
#include "wr-tray-resources.h"
#include "wr-tray-win.h"
#include "wr-tray-windows.h"

/* a D-Bus call that waits for a password dialog must not time out under the person typing */
#define INTERACTIVE_TIMEOUT_MS (5 * 60 * 1000)

typedef struct {
	GtkApplication *app; /* not owned: the data hangs off it */
	WrDbusEngine1 *engine;
	GSettings *settings;
	GtkWidget *prefs;
	GtkWidget *devices;
	GtkWidget *activity;
	GtkWidget *about;
} WrTrayWindows;

static void
windows_free(gpointer data)
{
	WrTrayWindows *self = data;
	GtkWidget **slots[] = {&self->prefs, &self->devices, &self->activity, &self->about};

	for (gsize i = 0; i < G_N_ELEMENTS(slots); i++) {
		if (*slots[i] != NULL)
			g_object_remove_weak_pointer(G_OBJECT(*slots[i]), (gpointer *) slots[i]);
	}
	g_clear_object(&self->engine);
	g_clear_object(&self->settings);
	g_free(self);
}

/* show the window in *slot, making it first; the weak pointer clears the slot when it closes */
static void
present(GtkWidget **slot, GtkWidget *(*make)(WrTrayWindows *self), WrTrayWindows *self)
{
	if (*slot == NULL) {
		*slot = make(self);
		g_object_add_weak_pointer(G_OBJECT(*slot), (gpointer *) slot);
	}
	gtk_window_present(GTK_WINDOW(*slot));
}

static GtkWidget *
make_prefs(WrTrayWindows *self)
{
	return wr_tray_prefs_new(self->app, self->engine, self->settings);
}

static GtkWidget *
make_devices(WrTrayWindows *self)
{
	return wr_tray_devices_new(self->app, self->engine);
}

static GtkWidget *
make_activity(WrTrayWindows *self)
{
	return wr_tray_activity_new(self->app, self->engine);
}

static GtkWidget *
make_about(WrTrayWindows *self)
{
	return wr_tray_about_new(self->app);
}

static void
preferences_activated_cb(GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
	WrTrayWindows *self = user_data;
	present(&self->prefs, make_prefs, self);
}

static void
devices_activated_cb(GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
	WrTrayWindows *self = user_data;
	present(&self->devices, make_devices, self);
}

static void
activity_activated_cb(GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
	WrTrayWindows *self = user_data;
	present(&self->activity, make_activity, self);
}

static void
about_activated_cb(GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
	WrTrayWindows *self = user_data;
	present(&self->about, make_about, self);
}

void
wr_tray_windows_install(GtkApplication *app, WrDbusEngine1 *engine, GSettings *settings)
{
	const GActionEntry entries[] = {
		{.name = "preferences", .activate = preferences_activated_cb},
		{.name = "devices", .activate = devices_activated_cb},
		{.name = "activity", .activate = activity_activated_cb},
		{.name = "about", .activate = about_activated_cb},
	};
	WrTrayWindows *self;

	g_return_if_fail(GTK_IS_APPLICATION(app));
	g_return_if_fail(WR_DBUS_IS_ENGINE1(engine));
	g_return_if_fail(G_IS_SETTINGS(settings));

	/* the GResource registers itself from a constructor in its object file, which the linker
	 * leaves out of a program unless something in it is used: this is the use */
	(void) wr_tray_get_resource();

	self = g_new0(WrTrayWindows, 1);
	self->app = app;
	self->engine = g_object_ref(engine);
	self->settings = g_object_ref(settings);
	/* lives as long as the application, which owns the actions that point to it */
	g_object_set_data_full(G_OBJECT(app), "wr-tray-windows", self, windows_free);
	g_action_map_add_action_entries(G_ACTION_MAP(app), entries, G_N_ELEMENTS(entries), self);
}

void
wr_tray_win_call(WrDbusEngine1 *engine, const gchar *method, GVariant *parameters,
		 GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
	g_dbus_proxy_call(G_DBUS_PROXY(engine), method, parameters,
			  G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION, INTERACTIVE_TIMEOUT_MS,
			  cancellable, callback, user_data);
}

gchar *
wr_tray_win_error_text(const GError *error)
{
	g_autoptr(GError) copy = g_error_copy(error);

	(void) g_dbus_error_strip_remote_error(copy);
	/* the windows show warrend's detail for these two: which field of a form was refused,
	 * why the flow log cannot be read; the rest in the tray's words (wr-tray-call.h) */
	if (g_error_matches(copy, WR_DBUS_ERROR, WR_DBUS_ERROR_INVALID_ARGUMENT))
		/* TRANSLATORS: %s is the engine's explanation, in English */
		return g_strdup_printf(_("That is not valid: %s"), copy->message);
	if (g_error_matches(copy, WR_DBUS_ERROR, WR_DBUS_ERROR_FAILED))
		/* TRANSLATORS: %s is the engine's explanation, in English */
		return g_strdup_printf(_("Warren could not do this: %s"), copy->message);
	return wr_tray_error_text(error);
}

static gboolean
key_press_cb(GtkWidget *widget, GdkEventKey *event, gpointer user_data)
{
	if (event->keyval == GDK_KEY_Escape &&
	    (event->state & gtk_accelerator_get_default_mod_mask()) == 0) {
		gtk_window_close(GTK_WINDOW(widget));
		return GDK_EVENT_STOP;
	}
	return GDK_EVENT_PROPAGATE;
}

void
wr_tray_win_setup(GtkWindow *window)
{
	/* after the window's own handler: a search entry clears itself on Escape first */
	g_signal_connect_after(window, "key-press-event", G_CALLBACK(key_press_cb), NULL);
}
