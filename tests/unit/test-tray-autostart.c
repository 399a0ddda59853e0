/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * "Start at login" through XDG autostart (app/tray/wr-tray-autostart), on temporary user and
 * system config directories: with and without an installed entry, and what a desktop session
 * reads back from the files written.
 */

#include "config.h"

#include <sys/stat.h>

#include <glib/gstdio.h>

#include "wr-tray-autostart.h"

typedef struct {
	gchar *tmp;
	gchar *user;   /* $XDG_CONFIG_HOME */
	gchar *system; /* one of $XDG_CONFIG_DIRS */
	gchar *system_dirs[3];
	gchar *user_entry;
} Fixture;

static const gchar installed[] = "[Desktop Entry]\n"
				 "# installed by the package\n"
				 "Type=Application\n"
				 "Name=Warren\n"
				 "Name[de]=Warren\n"
				 "Exec=warren-tray --installed\n"
				 "Icon=io.github.warrenvpn.Tray\n";

static void
fixture_set_up(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;

	f->tmp = g_dir_make_tmp("test-tray-autostart-XXXXXX", &error);
	g_assert_no_error(error);
	f->user = g_build_filename(f->tmp, "home-config", NULL);
	f->system = g_build_filename(f->tmp, "etc-xdg", NULL);
	f->system_dirs[0] = g_build_filename(f->tmp, "nothing-here", NULL);
	f->system_dirs[1] = f->system;
	f->system_dirs[2] = NULL;
	f->user_entry = g_build_filename(f->user, "autostart", WR_TRAY_AUTOSTART_NAME, NULL);
	if (data != NULL) {
		g_autofree gchar *dir = g_build_filename(f->system, "autostart", NULL);
		g_autofree gchar *path = g_build_filename(dir, WR_TRAY_AUTOSTART_NAME, NULL);
		g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
		g_file_set_contents(path, data, -1, &error);
		g_assert_no_error(error);
	}
}

static void
rm_rf(const gchar *path)
{
	g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
	const gchar *name;

	if (dir != NULL) {
		while ((name = g_dir_read_name(dir)) != NULL) {
			g_autofree gchar *child = g_build_filename(path, name, NULL);
			rm_rf(child);
		}
	}
	(void) g_remove(path);
}

static void
fixture_tear_down(Fixture *f, gconstpointer data)
{
	rm_rf(f->tmp);
	g_free(f->tmp);
	g_free(f->user);
	g_free(f->system);
	g_free(f->system_dirs[0]);
	g_free(f->user_entry);
}

static gboolean
enabled(Fixture *f)
{
	return wr_tray_autostart_enabled(f->user, (const gchar *const *) f->system_dirs);
}

static void
set(Fixture *f, gboolean on)
{
	g_autoptr(GError) error = NULL;
	gboolean ok =
		wr_tray_autostart_set(f->user, (const gchar *const *) f->system_dirs, on, &error);
	g_assert_no_error(error);
	g_assert_true(ok);
}

static GKeyFile *
user_entry(Fixture *f)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(GError) error = NULL;

	g_key_file_load_from_file(kf, f->user_entry, G_KEY_FILE_KEEP_TRANSLATIONS, &error);
	g_assert_no_error(error);
	return g_steal_pointer(&kf);
}

/* nothing installed: on writes the built-in entry, off removes it */
static void
test_builtin(Fixture *f, gconstpointer data)
{
	GStatBuf st;

	g_assert_false(enabled(f));
	set(f, TRUE);
	g_assert_true(enabled(f));
	{
		g_autoptr(GKeyFile) kf = user_entry(f);
		g_autofree gchar *exec =
			g_key_file_get_string(kf, G_KEY_FILE_DESKTOP_GROUP, "Exec", NULL);
		g_assert_cmpstr(exec, ==, "warren-tray");
		g_assert_false(g_key_file_has_key(kf, G_KEY_FILE_DESKTOP_GROUP, "Hidden", NULL));
	}
	g_assert_cmpint(g_stat(f->user_entry, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 0777, ==, 0644);
	set(f, FALSE);
	g_assert_false(enabled(f));
	g_assert_false(g_file_test(f->user_entry, G_FILE_TEST_EXISTS));
	/* off again: nothing to remove is no error */
	set(f, FALSE);
	g_assert_false(enabled(f));
}

/* installed: on by default; off writes a copy with Hidden=true; on again a copy without */
static void
test_installed(Fixture *f, gconstpointer data)
{
	g_assert_true(enabled(f));
	set(f, FALSE);
	g_assert_false(enabled(f));
	{
		g_autoptr(GKeyFile) kf = user_entry(f);
		g_autofree gchar *exec =
			g_key_file_get_string(kf, G_KEY_FILE_DESKTOP_GROUP, "Exec", NULL);
		g_autofree gchar *name_de = g_key_file_get_locale_string(
			kf, G_KEY_FILE_DESKTOP_GROUP, "Name", "de", NULL);
		g_assert_cmpstr(exec, ==, "warren-tray --installed");
		g_assert_cmpstr(name_de, ==, "Warren");
		g_assert_true(g_key_file_get_boolean(kf, G_KEY_FILE_DESKTOP_GROUP, "Hidden", NULL));
	}
	set(f, TRUE);
	g_assert_true(enabled(f));
	{
		g_autoptr(GKeyFile) kf = user_entry(f);
		g_autofree gchar *exec =
			g_key_file_get_string(kf, G_KEY_FILE_DESKTOP_GROUP, "Exec", NULL);
		g_assert_cmpstr(exec, ==, "warren-tray --installed");
		g_assert_false(g_key_file_has_key(kf, G_KEY_FILE_DESKTOP_GROUP, "Hidden", NULL));
	}
}

/* the user's entry decides, also when another program wrote it */
static void
test_user_decides(Fixture *f, gconstpointer data)
{
	g_autofree gchar *dir = g_path_get_dirname(f->user_entry);
	g_autoptr(GError) error = NULL;

	g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
	g_file_set_contents(f->user_entry,
			    "[Desktop Entry]\nType=Application\nName=W\nExec=warren-tray\n"
			    "X-GNOME-Autostart-enabled=false\n",
			    -1, &error);
	g_assert_no_error(error);
	g_assert_false(enabled(f));
	set(f, TRUE);
	g_assert_true(enabled(f));
}

/* a user config dir that cannot be made: an error, and nothing changed */
static void
test_unwritable(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *file = g_build_filename(f->tmp, "a-file", NULL);
	g_autofree gchar *under = g_build_filename(file, "config", NULL);

	g_file_set_contents(file, "x", -1, &error);
	g_assert_no_error(error);
	g_assert_false(
		wr_tray_autostart_set(under, (const gchar *const *) f->system_dirs, TRUE, &error));
	g_assert_nonnull(error);
	g_assert_false(wr_tray_autostart_enabled(under, (const gchar *const *) f->system_dirs));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add("/warren/tray-autostart/builtin", Fixture, NULL, fixture_set_up, test_builtin,
		   fixture_tear_down);
	g_test_add("/warren/tray-autostart/installed", Fixture, installed, fixture_set_up,
		   test_installed, fixture_tear_down);
	g_test_add("/warren/tray-autostart/user-decides", Fixture, NULL, fixture_set_up,
		   test_user_decides, fixture_tear_down);
	g_test_add("/warren/tray-autostart/unwritable", Fixture, NULL, fixture_set_up,
		   test_unwritable, fixture_tear_down);
	return g_test_run();
}
