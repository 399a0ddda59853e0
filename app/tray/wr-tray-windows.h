/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "wr-dbus-engine.h"

G_BEGIN_DECLS

/* The tray's windows (GtkBuilder files in ui/, embedded as GResource): Preferences, Devices,
 * Activity (flow log) and About.  Adds the application actions that open them:
 *   app.preferences, app.devices, app.activity, app.about  (no parameter)
 * engine: the proxy of warrend (may change owner: the windows follow its signals);
 * settings: the io.github.warrenvpn.Tray GSettings. */
void
wr_tray_windows_install(GtkApplication *app, WrDbusEngine1 *engine, GSettings *settings);

G_END_DECLS
