/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * warren-tray's application (io.github.warrenvpn.Tray): connects to warrend (on
 * $WARREN_BUS_ADDRESS when set, for tests, else the system bus) through the generated proxy,
 * keeps the model, and shows it through the tray icon and its menu, or through the status
 * window when the desktop shows no tray icons.  The windows (wr-tray-windows.h), sign-in
 * (wr-tray-signin.h) and notifications (wr-tray-notify.h) plug in through their interfaces.
 *
 * The flow is one way: warrend's signals -> WrTrayModel -> wr_tray_view_new() -> the menu,
 * the indicator and the status window; user actions go to warrend, whose signals bring the
 * result back along the same way.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* runs the application; returns main()'s exit status */
int
wr_tray_app_run(int argc, char **argv);

G_END_DECLS
