/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrTestKeyfile"

#include "config.h"

#include <glib.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "wr-crypto.h"
#include "wr-key.h"
#include "wr-keyfile.h"

typedef struct {
	char *dir;
	char *path;
} Fixture;

static void
fixture_setup(Fixture *f, gconstpointer data)
{
	f->dir = g_dir_make_tmp("wr-keyfile-XXXXXX", NULL);
	g_assert_nonnull(f->dir);
	f->path = g_build_filename(f->dir, "key", NULL);
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
	g_autoptr(GDir) dir = g_dir_open(f->dir, 0, NULL);
	const char *name;

	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		g_autofree char *p = g_build_filename(f->dir, name, NULL);

		(void) g_unlink(p);
	}
	(void) g_rmdir(f->dir);
	g_free(f->dir);
	g_free(f->path);
}

static void
write_file(const char *path, const char *contents, mode_t mode)
{
	g_assert_true(g_file_set_contents(path, contents, -1, NULL));
	g_assert_cmpint(g_chmod(path, mode), ==, 0);
}

static void
test_keyfile_create_then_load(Fixture *f, gconstpointer data)
{
	uint8_t a[32], b[32];
	gboolean created = FALSE;
	g_autoptr(GError) error = NULL;
	g_autofree char *contents = NULL;
	struct stat st;

	g_assert_true(wr_keyfile_load_or_create_private(f->path, a, &created, &error));
	g_assert_no_error(error);
	g_assert_true(created);
	g_assert_cmpint(g_stat(f->path, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 0777, ==, 0600);
	g_assert_true(g_file_get_contents(f->path, &contents, NULL, NULL));
	g_assert_true(g_str_has_prefix(contents, "privkey:"));
	g_assert_cmpuint(strlen(contents), ==, strlen("privkey:") + 64 + 1);
	/* a second start loads the same key */
	g_assert_true(wr_keyfile_load_or_create_private(f->path, b, &created, &error));
	g_assert_false(created);
	g_assert_cmpmem(a, 32, b, 32);
	/* and it is a clamped X25519 key */
	g_assert_cmpuint(a[0] & 7, ==, 0);
	g_assert_cmpuint(a[31] & 0xc0, ==, 0x40);
}

static void
test_keyfile_refuses_open_mode(Fixture *f, gconstpointer data)
{
	uint8_t key[32];
	uint8_t before[32];
	g_autoptr(GError) error = NULL;

	write_file(f->path,
		   "privkey:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n",
		   0644);
	memset(key, 0xaa, sizeof(key));
	memcpy(before, key, sizeof(key));
	g_assert_false(wr_keyfile_load_or_create_private(f->path, key, NULL, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
	g_assert_nonnull(strstr(error->message, "chmod 600"));
	/* untouched, and the file was not replaced */
	g_assert_cmpmem(key, 32, before, 32);
	g_clear_error(&error);
	g_assert_cmpint(g_chmod(f->path, 0600), ==, 0);
	g_assert_true(wr_keyfile_load_private(f->path, key, &error));
	g_assert_cmpuint(key[0], ==, 0x01);
}

static void
test_keyfile_rejects_bad_contents(Fixture *f, gconstpointer data)
{
	const char *bad[] = {
		"",
		"privkey:",
		"nodekey:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n",
		"privkey:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n",
		"privkey:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdefa\n",
		"privkey:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg\n",
		"privkey:0000000000000000000000000000000000000000000000000000000000000000\n",
		"privkey:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n\n",
	};

	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		uint8_t key[32] = {0};
		g_autoptr(GError) error = NULL;
		gboolean created = TRUE;

		write_file(f->path, bad[i], 0600);
		g_assert_false(wr_keyfile_load_or_create_private(f->path, key, &created, &error));
		g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
		g_assert_nonnull(strstr(error->message, f->path));
		g_assert_true(wr_key_is_zero(key));
		/* a bad key file is reported, never silently replaced */
		{
			g_autofree char *contents = NULL;

			g_assert_true(g_file_get_contents(f->path, &contents, NULL, NULL));
			g_assert_cmpstr(contents, ==, bad[i]);
		}
	}
}

static void
test_keyfile_hex(Fixture *f, gconstpointer data)
{
	uint8_t key[32];
	g_autoptr(GError) error = NULL;

	write_file(f->path, "00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff\n",
		   0600);
	g_assert_true(wr_keyfile_load_hex(f->path, key, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(key[0], ==, 0x00);
	g_assert_cmpuint(key[5], ==, 0x55);
	g_assert_cmpuint(key[31], ==, 0xff);
	write_file(f->path,
		   "privkey:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
		   0600);
	g_assert_false(wr_keyfile_load_hex(f->path, key, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
	g_clear_error(&error);
	g_assert_cmpint(g_unlink(f->path), ==, 0);
	g_assert_false(wr_keyfile_load_hex(f->path, key, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
}

static void
test_keyfile_too_long(Fixture *f, gconstpointer data)
{
	g_autofree char *big = g_strnfill(4096, 'a');
	uint8_t key[32];
	g_autoptr(GError) error = NULL;

	write_file(f->path, big, 0600);
	g_assert_false(wr_keyfile_load_private(f->path, key, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
	g_assert_nonnull(strstr(error->message, "too long"));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_assert_true(wr_crypto_init());
	g_test_add("/warren/keyfile/create-then-load", Fixture, NULL, fixture_setup,
		   test_keyfile_create_then_load, fixture_teardown);
	g_test_add("/warren/keyfile/refuses-open-mode", Fixture, NULL, fixture_setup,
		   test_keyfile_refuses_open_mode, fixture_teardown);
	g_test_add("/warren/keyfile/rejects-bad-contents", Fixture, NULL, fixture_setup,
		   test_keyfile_rejects_bad_contents, fixture_teardown);
	g_test_add("/warren/keyfile/hex", Fixture, NULL, fixture_setup, test_keyfile_hex,
		   fixture_teardown);
	g_test_add("/warren/keyfile/too-long", Fixture, NULL, fixture_setup, test_keyfile_too_long,
		   fixture_teardown);
	return g_test_run();
}
