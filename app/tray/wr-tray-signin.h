/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "wr-dbus-engine.h"

G_BEGIN_DECLS

/* Browser sign-in: adds the application action app.sign-in (no parameter), which calls
 * Login, opens AuthURL in the user's browser when it arrives and shows a dialog (waiting for
 * the browser, Open again, Copy link, Cancel) until State leaves NeedsLogin or the user
 * cancels.  Errors are shown in words a person understands. */
void wr_tray_signin_install(GtkApplication *app, WrDbusEngine1 *engine);

G_END_DECLS
