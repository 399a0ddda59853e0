/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The tray icon's menu: built once, then updated in place from each WrTrayView, so that a
 * change moves no item that did not change (libdbusmenu keeps the ids of the items it
 * exports, and a host's open menu does not flicker).  Its items call warrend
 * (wr-tray-call.h) or activate the application's actions (app.sign-in, app.preferences,
 * app.devices, app.activity, app.about).  After a refused call the radio and check items
 * return to what warrend says.
 */
#pragma once

#include <gtk/gtk.h>

#include "wr-dbus-engine.h"
#include "wr-tray-view.h"

G_BEGIN_DECLS

typedef struct _WrTrayMenu WrTrayMenu;

WrTrayMenu *
wr_tray_menu_new(GtkApplication *app, WrDbusEngine1 *engine);
void
wr_tray_menu_free(WrTrayMenu *self);

/* the GtkMenu (owned by the WrTrayMenu) */
GtkMenu *
wr_tray_menu_get_menu(WrTrayMenu *self);

void
wr_tray_menu_update(WrTrayMenu *self, const WrTrayView *view);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrTrayMenu, wr_tray_menu_free)

G_END_DECLS
