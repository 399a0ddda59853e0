/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The status window, shown instead of the tray icon when the desktop shows no tray icons (no
 * StatusNotifier host): the state, this device, Connect/Disconnect, the exit node, and
 * buttons to the other windows.  It follows the same WrTrayView as the menu.  Closing it
 * hides it; starting warren-tray again shows it again.
 */
#pragma once

#include <gtk/gtk.h>

#include "wr-dbus-engine.h"
#include "wr-tray-view.h"

G_BEGIN_DECLS

typedef struct _WrTrayStatus WrTrayStatus;

WrTrayStatus *
wr_tray_status_new(GtkApplication *app, WrDbusEngine1 *engine);
void
wr_tray_status_free(WrTrayStatus *self);

void
wr_tray_status_update(WrTrayStatus *self, const WrTrayView *view);
void
wr_tray_status_present(WrTrayStatus *self);
void
wr_tray_status_hide(WrTrayStatus *self);
GtkWindow *
wr_tray_status_get_window(WrTrayStatus *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrTrayStatus, wr_tray_status_free)

G_END_DECLS
