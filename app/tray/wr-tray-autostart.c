/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrTrayAutostart"

#include "config.h"

#include <errno.h>

#include <glib/gstdio.h>

#include "wr-tray-autostart.h"

#define DESKTOP_GROUP G_KEY_FILE_DESKTOP_GROUP

/* used when no entry is installed (a build run from its tree) */
static const gchar builtin_entry[] = "[Desktop Entry]\n"
				     "Type=Application\n"
				     "Name=Warren\n"
				     "Comment=Mesh VPN status and controls\n"
				     "Exec=warren-tray\n"
				     "Icon=io.github.warrenvpn.Tray\n"
				     "Terminal=false\n"
				     "NoDisplay=true\n"
				     "X-GNOME-Autostart-enabled=true\n";

static gchar *
user_entry_path(const gchar *user_config_dir)
{
	return g_build_filename(user_config_dir, "autostart", WR_TRAY_AUTOSTART_NAME, NULL);
}

/* the first installed entry, as the XDG search order finds it; NULL when none */
static gchar *
system_entry_path(const gchar *const *system_config_dirs)
{
	for (gsize i = 0; system_config_dirs != NULL && system_config_dirs[i] != NULL; i++) {
		g_autofree gchar *path = g_build_filename(system_config_dirs[i], "autostart",
							  WR_TRAY_AUTOSTART_NAME, NULL);
		if (g_file_test(path, G_FILE_TEST_IS_REGULAR))
			return g_steal_pointer(&path);
	}
	return NULL;
}

/* an entry starts the app unless it hides itself or GNOME's switch is off */
static gboolean
entry_active(GKeyFile *kf)
{
	if (g_key_file_get_boolean(kf, DESKTOP_GROUP, "Hidden", NULL))
		return FALSE;
	if (g_key_file_has_key(kf, DESKTOP_GROUP, "X-GNOME-Autostart-enabled", NULL) &&
	    !g_key_file_get_boolean(kf, DESKTOP_GROUP, "X-GNOME-Autostart-enabled", NULL))
		return FALSE;
	return TRUE;
}

gboolean
wr_tray_autostart_enabled(const gchar *user_config_dir, const gchar *const *system_config_dirs)
{
	g_autofree gchar *user_path = user_entry_path(user_config_dir);
	g_autofree gchar *system_path = NULL;
	g_autoptr(GKeyFile) kf = g_key_file_new();

	if (g_key_file_load_from_file(kf, user_path, G_KEY_FILE_NONE, NULL))
		return entry_active(kf);
	system_path = system_entry_path(system_config_dirs);
	if (system_path == NULL)
		return FALSE;
	if (!g_key_file_load_from_file(kf, system_path, G_KEY_FILE_NONE, NULL))
		return FALSE;
	return entry_active(kf);
}

gboolean
wr_tray_autostart_set(const gchar *user_config_dir, const gchar *const *system_config_dirs,
		      gboolean enabled, GError **error)
{
	g_autofree gchar *user_path = user_entry_path(user_config_dir);
	g_autofree gchar *dir = g_path_get_dirname(user_path);
	g_autofree gchar *system_path = system_entry_path(system_config_dirs);
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autofree gchar *data = NULL;
	gsize len = 0;

	if (!enabled && system_path == NULL) {
		if (g_unlink(user_path) != 0 && errno != ENOENT) {
			int saved = errno;
			g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved),
				    "cannot remove %s: %s", user_path, g_strerror(saved));
			return FALSE;
		}
		return TRUE;
	}
	if (system_path != NULL) {
		if (!g_key_file_load_from_file(
			    kf, system_path,
			    G_KEY_FILE_KEEP_COMMENTS | G_KEY_FILE_KEEP_TRANSLATIONS, error)) {
			g_prefix_error(error, "cannot read %s: ", system_path);
			return FALSE;
		}
	} else if (!g_key_file_load_from_data(kf, builtin_entry, sizeof(builtin_entry) - 1,
					      G_KEY_FILE_NONE, error)) {
		return FALSE;
	}
	(void) g_key_file_remove_key(kf, DESKTOP_GROUP, "Hidden", NULL);
	if (enabled)
		g_key_file_set_boolean(kf, DESKTOP_GROUP, "X-GNOME-Autostart-enabled", TRUE);
	else
		g_key_file_set_boolean(kf, DESKTOP_GROUP, "Hidden", TRUE);
	data = g_key_file_to_data(kf, &len, error);
	if (data == NULL)
		return FALSE;
	if (g_mkdir_with_parents(dir, 0700) != 0) {
		int saved = errno;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved),
			    "cannot create %s: %s", dir, g_strerror(saved));
		return FALSE;
	}
	/* atomic: a crash leaves the old entry or the new one */
	if (!g_file_set_contents_full(user_path, data, (gssize) len, G_FILE_SET_CONTENTS_CONSISTENT,
				      0644, error))
		return FALSE;
	return TRUE;
}
