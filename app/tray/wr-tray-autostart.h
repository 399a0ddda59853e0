/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * wr-tray-autostart: "Start at login" through XDG autostart.  The package installs an entry in
 * <sysconfdir>/xdg/autostart (one of the system config dirs); the user's own entry of the same
 * name in <user config dir>/autostart overrides it.  So:
 *   enabled:  the user's entry is a copy of the installed one (or, when none is installed, of
 *             the built-in one), without Hidden;
 *   disabled: the user's entry is that copy with Hidden=true when an installed entry exists
 *             (removing ours would let the installed one start the app), and is removed when
 *             none exists.
 * The directories are arguments (g_get_user_config_dir() and g_get_system_config_dirs() in the
 * app) so that the unit tests run on temporary ones.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define WR_TRAY_AUTOSTART_NAME "io.github.warrenvpn.Tray.desktop"

/* whether the tray starts at login: the user's entry decides when there is one (not Hidden,
 * X-GNOME-Autostart-enabled not false), else whether an installed entry exists */
gboolean
wr_tray_autostart_enabled(const gchar *user_config_dir, const gchar *const *system_config_dirs);

/* make it start at login or not, as above; writes the file atomically (0644) and creates
 * <user config dir>/autostart when needed.  On error nothing was changed. */
gboolean
wr_tray_autostart_set(const gchar *user_config_dir, const gchar *const *system_config_dirs,
		      gboolean enabled, GError **error);

G_END_DECLS
