/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The sign-in pages' catalogues (server/control/app/wr-l10n): .mo files of both byte orders
 * written here byte by byte, every way a file can lie about its bounds, loading a locale
 * directory with stray entries, and picking by Accept-Language.  When meson gives
 * $WARREN_LOCALEDIR, the real catalogues msgfmt built from po/ load too.
 */

#define G_LOG_DOMAIN "WrL10nTest"

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>

#include "wr-l10n.h"

static void
put_u32(GByteArray *a, guint32 v, gboolean big_endian)
{
	guint8 b[4];

	for (guint i = 0; i < 4; i++)
		b[i] = big_endian ? (guint8) (v >> (24 - 8 * i)) : (guint8) (v >> (8 * i));
	g_byte_array_append(a, b, 4);
}

/* a .mo of @pairs (msgid, msgstr, …, NULL) as msgfmt lays it out, without the hash table;
 * @sizes may carry lengths (msgid with a plural holds NULs) */
static GByteArray *
make_mo(const char *const *pairs, const gsize *sizes, gboolean big_endian)
{
	GByteArray *a = g_byte_array_new();
	guint n = g_strv_length((char **) pairs) / 2;
	guint32 orig = 28, trans = orig + 8 * n, strings = trans + 8 * n;
	guint32 off = strings;

	put_u32(a, 0x950412de, big_endian);
	put_u32(a, 0, big_endian);
	put_u32(a, n, big_endian);
	put_u32(a, orig, big_endian);
	put_u32(a, trans, big_endian);
	put_u32(a, 0, big_endian);
	put_u32(a, 0, big_endian);
	for (guint side = 0; side < 2; side++) {
		for (guint i = 0; i < n; i++) {
			gsize len = sizes != NULL && sizes[2 * i + side] != 0
					    ? sizes[2 * i + side]
					    : strlen(pairs[2 * i + side]);

			put_u32(a, (guint32) len, big_endian);
			put_u32(a, off, big_endian);
			off += (guint32) len + 1;
		}
	}
	for (guint side = 0; side < 2; side++) {
		for (guint i = 0; i < n; i++) {
			gsize len = sizes != NULL && sizes[2 * i + side] != 0
					    ? sizes[2 * i + side]
					    : strlen(pairs[2 * i + side]);

			g_byte_array_append(a, (const guint8 *) pairs[2 * i + side],
					    (guint) len + 1);
		}
	}
	return a;
}

static const char *const good[] = {
	"",
	"Content-Type: text/plain; charset=UTF-8\n",
	"Signed in",
	"已登录",
	"Sign-in failed",
	"登录失败",
	"Untranslated",
	"",
	"a device\0%u devices", /* a plural entry */
	"一台设备",
	NULL,
};
static const gsize good_sizes[] = {0, 0, 0, 0, 0, 0, 0, 0, 19, 0};

static void
test_catalog(void)
{
	for (guint be = 0; be < 2; be++) {
		g_autoptr(GByteArray) mo = make_mo(good, good_sizes, be);
		g_autoptr(GError) error = NULL;
		g_autoptr(WrCatalog) cat =
			wr_catalog_new_from_data("zh_CN", mo->data, mo->len, &error);

		g_assert_no_error(error);
		g_assert_nonnull(cat);
		g_assert_cmpstr(wr_catalog_get_tag(cat), ==, "zh-CN");
		g_assert_cmpstr(wr_catalog_lookup(cat, "Signed in"), ==, "已登录");
		g_assert_cmpstr(wr_catalog_gettext(cat, "Sign-in failed"), ==, "登录失败");
		/* an empty msgstr and the header are no translations */
		g_assert_null(wr_catalog_lookup(cat, "Untranslated"));
		g_assert_cmpstr(wr_catalog_gettext(cat, "Untranslated"), ==, "Untranslated");
		g_assert_null(wr_catalog_lookup(cat, ""));
		g_assert_cmpstr(wr_catalog_lookup(cat, "a device"), ==, "一台设备");
		g_assert_null(wr_catalog_lookup(cat, "Nothing"));
	}
	/* no catalogue: English */
	g_assert_null(wr_catalog_lookup(NULL, "Signed in"));
	g_assert_cmpstr(wr_catalog_gettext(NULL, "Signed in"), ==, "Signed in");
	g_assert_cmpstr(wr_catalog_get_tag(NULL), ==, "en");
}

static void
expect_bad(const guint8 *data, gsize len, const char *what)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(WrCatalog) cat = wr_catalog_new_from_data("de", data, len, &error);

	g_test_message("%s: %s", what, error != NULL ? error->message : "accepted");
	g_assert_null(cat);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
}

static void
set_u32(GByteArray *a, gsize at, guint32 v)
{
	for (guint i = 0; i < 4; i++)
		a->data[at + i] = (guint8) (v >> (8 * i));
}

static void
test_catalog_bad(void)
{
	g_autoptr(GByteArray) mo = make_mo(good, good_sizes, FALSE);
	static const char *const latin1[] = {"Signed in", "Angemeldet \xfc", NULL};
	g_autoptr(GByteArray) bad_utf8 = make_mo(latin1, NULL, FALSE);
	GByteArray *copy;

	expect_bad(mo->data, 0, "empty");
	expect_bad(mo->data, 27, "shorter than the header");
	expect_bad((const guint8 *) "\x12\x04\x95\xde not a catalogue at all....", 28, "magic");
	/* cut anywhere inside the tables or strings */
	for (gsize len = 28; len < mo->len; len += 7)
		expect_bad(mo->data, len, "truncated");
	expect_bad(bad_utf8->data, bad_utf8->len, "not UTF-8");

	copy = g_byte_array_sized_new(mo->len);
	g_byte_array_append(copy, mo->data, mo->len);
	set_u32(copy, 4, 2 << 16);
	expect_bad(copy->data, copy->len, "major revision 2");
	set_u32(copy, 4, 0);
	set_u32(copy, 8, WR_CATALOG_MAX_STRINGS + 1);
	expect_bad(copy->data, copy->len, "too many strings");
	set_u32(copy, 8, 0x7fffffff);
	expect_bad(copy->data, copy->len, "a count past the end");
	set_u32(copy, 8, 5);
	set_u32(copy, 12, 0xfffffff8);
	expect_bad(copy->data, copy->len, "a table past the end");
	set_u32(copy, 12, 28);
	/* the first msgid's length one too long: its NUL is not where it must be */
	set_u32(copy, 28 + 8, (guint32) strlen("Signed in") + 1);
	expect_bad(copy->data, copy->len, "no NUL");
	set_u32(copy, 28 + 8, 0xffffffff);
	expect_bad(copy->data, copy->len, "a length past the end");
	set_u32(copy, 28 + 8, (guint32) strlen("Signed in"));
	set_u32(copy, 28 + 12, 0xfffffff0);
	expect_bad(copy->data, copy->len, "an offset past the end");
	g_byte_array_unref(copy);
}

static void
write_mo(const char *dir, const char *language, const GByteArray *mo)
{
	g_autofree char *sub = g_build_filename(dir, language, "LC_MESSAGES", NULL);
	g_autofree char *path = g_build_filename(sub, "warren.mo", NULL);
	g_autoptr(GError) error = NULL;

	g_assert_cmpint(g_mkdir_with_parents(sub, 0700), ==, 0);
	g_file_set_contents(path, (const char *) mo->data, mo->len, &error);
	g_assert_no_error(error);
}

static void
test_l10n_dir(void)
{
	static const char *const de[] = {"Signed in", "Angemeldet", NULL};
	g_autoptr(GByteArray) zh = make_mo(good, good_sizes, TRUE);
	g_autoptr(GByteArray) de_mo = make_mo(de, NULL, FALSE);
	g_autoptr(GByteArray) broken = g_byte_array_new();
	g_autoptr(GError) error = NULL;
	g_autofree char *dir = g_dir_make_tmp("test-l10n-XXXXXX", &error);
	g_autoptr(WrL10n) l10n = NULL;
	g_autoptr(WrL10n) none = NULL;
	g_autofree char *joined = NULL;
	g_autofree char *rm = NULL;

	g_assert_no_error(error);
	write_mo(dir, "zh_CN", zh);
	write_mo(dir, "de", de_mo);
	g_byte_array_append(broken, (const guint8 *) "garbage", 7);
	/* a broken file is left out with a warning; odd names are not languages; a language
	 * without this domain is not one of ours; "en" is the source */
	write_mo(dir, "fr", broken);
	write_mo(dir, "C", de_mo);
	write_mo(dir, "en", de_mo);
	write_mo(dir, "zh_CN.UTF-8", de_mo);
	write_mo(dir, "de_de", de_mo);
	{
		g_autofree char *other = g_build_filename(dir, "it", "LC_MESSAGES", NULL);

		g_assert_cmpint(g_mkdir_with_parents(other, 0700), ==, 0);
	}
	l10n = wr_l10n_new(dir, "warren");
	joined = g_strjoinv(" ", (char **) wr_l10n_get_languages(l10n));
	g_assert_cmpstr(joined, ==, "de zh_CN");

	g_assert_cmpstr(wr_catalog_get_tag(wr_l10n_pick(l10n, "zh-CN,en;q=0.5")), ==, "zh-CN");
	g_assert_cmpstr(wr_catalog_lookup(wr_l10n_pick(l10n, "zh"), "Signed in"), ==, "已登录");
	g_assert_cmpstr(wr_catalog_lookup(wr_l10n_pick(l10n, "de-CH"), "Signed in"), ==,
			"Angemeldet");
	g_assert_null(wr_l10n_pick(l10n, "en, de"));
	g_assert_null(wr_l10n_pick(l10n, "fr"));
	g_assert_null(wr_l10n_pick(l10n, NULL));
	g_assert_null(wr_l10n_pick(NULL, "de"));

	/* no such directory: English only */
	none = wr_l10n_new("/nonexistent/locale", "warren");
	g_assert_cmpuint(g_strv_length((char **) wr_l10n_get_languages(none)), ==, 0);
	g_assert_null(wr_l10n_pick(none, "de"));

	rm = g_strdup_printf("rm -rf '%s'", dir);
	g_assert_cmpint(system(rm), ==, 0);
}

/* the catalogues msgfmt built from po/: each loads, and a string every page has is in it */
static void
test_build_tree(void)
{
	const char *dir = g_getenv("WARREN_LOCALEDIR");
	g_autoptr(WrL10n) l10n = NULL;
	const char *const *languages;

	if (dir == NULL) {
		g_test_skip("$WARREN_LOCALEDIR is not set");
		return;
	}
	l10n = wr_l10n_new(dir, GETTEXT_PACKAGE);
	languages = wr_l10n_get_languages(l10n);
	g_assert_true(g_strv_contains(languages, "zh_CN"));
	g_assert_true(g_strv_contains(languages, "de"));
	g_assert_true(g_strv_contains(languages, "fr"));
	g_assert_cmpstr(wr_catalog_lookup(wr_l10n_pick(l10n, "zh-CN"), "Sign-in failed"), ==,
			"登录失败");
	g_assert_cmpstr(wr_catalog_lookup(wr_l10n_pick(l10n, "de"), "Sign-in failed"), ==,
			"Anmeldung fehlgeschlagen");
	g_assert_cmpstr(wr_catalog_lookup(wr_l10n_pick(l10n, "fr-FR"), "Sign-in failed"), ==,
			"Échec de la connexion");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	/* the broken catalogue under test logs a warning; criticals stay fatal */
	g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);

	g_test_add_func("/warren/l10n/catalog", test_catalog);
	g_test_add_func("/warren/l10n/catalog-bad", test_catalog_bad);
	g_test_add_func("/warren/l10n/dir", test_l10n_dir);
	g_test_add_func("/warren/l10n/build-tree", test_build_tree);

	return g_test_run();
}
