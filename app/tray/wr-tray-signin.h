/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "wr-dbus-engine.h"
#include "wr-dbus-error.h"

G_BEGIN_DECLS

/* Browser sign-in: adds the application action app.sign-in (no parameter), which calls
 * Login, opens AuthURL in the user's browser when it arrives and shows a dialog (waiting for
 * the browser, Open again, Copy link, Cancel) until State leaves NeedsLogin or the user
 * cancels.  Errors are shown in words a person understands. */
void
wr_tray_signin_install(GtkApplication *app, WrDbusEngine1 *engine);

/* The pure parts, for the unit tests (docs/tray-signin.md):
 *
 * wr_tray_signin_error_text: what a failed sign-in means, one translated sentence for the
 * user, for an error of the Login call (after g_dbus_error_strip_remote_error(): the caller
 * knows it came off the bus) or one read back from Health; *out_detail (may be NULL) gets the
 * daemon's or control's own English message as it is, or NULL when it is empty. */
gchar *
wr_tray_signin_error_text(const GError *error, gchar **out_detail);

/* wr_tray_signin_find_failure: the Health entry "sign-in failed (<Name>): <message>" of a
 * sign-in that failed after Login returned, as a WR_DBUS_ERROR with <Name>'s code (FAILED for
 * a name it does not know) and <message>; NULL when health has none. */
GError *
wr_tray_signin_find_failure(const gchar *const *health);

G_END_DECLS
