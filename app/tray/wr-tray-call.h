/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A method call to warrend on the user's behalf, from the menu or the status window: async,
 * with ALLOW_INTERACTIVE_AUTHORIZATION (polkit may ask for a password), and on failure a
 * dialog that says in words what went wrong (translated from the error name; warrend's own
 * message is English detail and only logged).
 */
#pragma once

#include <gtk/gtk.h>

#include "wr-dbus-engine.h"

G_BEGIN_DECLS

/* called with NULL on success, else the error (already shown to the user) */
typedef void (*WrTrayCallDone)(const GError *error, gpointer user_data);

/* method of io.github.warrenvpn.Engine1 with params (floating refs are sunk); title says
 * what the user tried ("Could not connect"); done may be NULL.  cancellable: cancelled when
 * the caller goes away (done is then not called) */
void
wr_tray_call(WrDbusEngine1 *engine, const gchar *method, GVariant *params, const gchar *title,
	     GCancellable *cancellable, WrTrayCallDone done, gpointer user_data);

/* the words for an error of a call to warrend (translated) */
gchar *
wr_tray_error_text(const GError *error);

/* a non-modal error dialog, transient for parent when given */
void
wr_tray_show_error(GtkWindow *parent, const gchar *title, const gchar *text);

G_END_DECLS
