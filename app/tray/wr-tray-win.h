/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The tray's windows, private to app/tray: one GtkWindow subclass per window, each built from
 * its GtkBuilder template in ui/ (GResource /io/github/warrenvpn/Tray/ui/), and what they
 * share.  wr-tray-windows.c makes them from the application actions; each window holds the
 * engine proxy, cancels its calls when it goes and follows the proxy's signals (no polling
 * but the Devices window's byte counters while it is shown).
 */
#pragma once

#include <gtk/gtk.h>

#include "wr-dbus-engine.h"

G_BEGIN_DECLS

#define WR_TRAY_TYPE_PREFS (wr_tray_prefs_get_type())
G_DECLARE_FINAL_TYPE(WrTrayPrefs, wr_tray_prefs, WR, TRAY_PREFS, GtkWindow)
GtkWidget *
wr_tray_prefs_new(GtkApplication *app, WrDbusEngine1 *engine, GSettings *settings);

#define WR_TRAY_TYPE_DEVICES (wr_tray_devices_get_type())
G_DECLARE_FINAL_TYPE(WrTrayDevices, wr_tray_devices, WR, TRAY_DEVICES, GtkWindow)
GtkWidget *
wr_tray_devices_new(GtkApplication *app, WrDbusEngine1 *engine);

#define WR_TRAY_TYPE_ACTIVITY (wr_tray_activity_get_type())
G_DECLARE_FINAL_TYPE(WrTrayActivity, wr_tray_activity, WR, TRAY_ACTIVITY, GtkWindow)
GtkWidget *
wr_tray_activity_new(GtkApplication *app, WrDbusEngine1 *engine);

/* the About dialog (ui/wr-about.ui with the program's version); closes on any response */
GtkWidget *
wr_tray_about_new(GtkApplication *app);

/* a method call on warrend that may ask for a password (polkit's interactive authorization):
 * the generated wr_dbus_engine1_call_*() cannot set the flag */
void
wr_tray_win_call(WrDbusEngine1 *engine, const gchar *method, GVariant *parameters,
		 GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data);

/* a sentence for a person from a failed call: the tray's words (wr_tray_error_text), but with
 * warrend's English detail for InvalidArgument and Failed, which the windows show beside the
 * control that caused them */
gchar *
wr_tray_win_error_text(const GError *error);

/* window conventions shared by all: Escape closes (unless a widget used the key) */
void
wr_tray_win_setup(GtkWindow *window);

G_END_DECLS
