/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The Accept-Language reader (server/control/app/wr-accept-language): q-values and their
 * order, what a lenient reader skips, and RFC 4647 lookup against the catalogues there are.
 */

#define G_LOG_DOMAIN "WrAcceptLanguageTest"

#include "config.h"

#include <string.h>

#include "wr-accept-language.h"

static void
test_parse(void)
{
	static const struct {
		const char *header;
		const char *want; /* the ranges joined by "|" */
	} cases[] = {
		{NULL, ""},
		{"", ""},
		{"de", "de"},
		{"zh-CN,zh;q=0.9,en;q=0.8", "zh-cn|zh|en"},
		/* by q, then header order; white space around every part */
		{" fr ; q=0.2 ,en;q=0.5,\tde-AT ;q=0.9 ", "de-at|en|fr"},
		{"en;q=0.5, de;q=0.5, fr", "fr|en|de"},
		/* q=0 refuses: it is left out */
		{"de;q=0, fr;q=0.000, en", "en"},
		{"de;q=1.000, fr;q=0.999", "de|fr"},
		{"*;q=0.1, de", "de|*"},
		{"DE-at, Zh-Hans-CN", "de-at|zh-hans-cn"},
		/* what does not parse is skipped, not the rest */
		{"de;q=2, fr", "fr"},
		{"de;q=1.001, fr", "fr"},
		{"de;q=0.1234, fr", "fr"},
		{"de;q=, fr", "fr"},
		{"de;level=1, fr", "fr"},
		{"de;q=0.5;q=0.6, fr", "fr"},
		{"toolongtag, fr", "fr"},
		{"de-, -de, de--at, 1de, fr", "fr"},
		{"de-abcdefghi, de-12345678", "de-12345678"},
		{"d e, fr", "fr"},
		{",,, de ,", "de"},
		{"zh-\xe4\xb8\xad, fr", "fr"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_auto(GStrv) ranges = wr_accept_language_parse(cases[i].header);
		g_autofree char *got = g_strjoinv("|", ranges);

		g_test_message("%s", cases[i].header != NULL ? cases[i].header : "(null)");
		g_assert_cmpstr(got, ==, cases[i].want);
	}
}

/* an over-long header, and more ranges than are read */
static void
test_limits(void)
{
	g_autoptr(GString) many = g_string_new(NULL);
	g_autofree char *big = NULL;
	g_auto(GStrv) ranges = NULL;
	g_auto(GStrv) none = NULL;

	for (guint i = 0; i < WR_ACCEPT_LANGUAGE_MAX_RANGES + 5; i++)
		g_string_append_printf(many, "%sx%c%c", i > 0 ? "," : "", 'a' + i / 26,
				       'a' + i % 26);
	ranges = wr_accept_language_parse(many->str);
	g_assert_cmpuint(g_strv_length(ranges), ==, WR_ACCEPT_LANGUAGE_MAX_RANGES);
	big = g_strnfill(WR_ACCEPT_LANGUAGE_MAX_LEN + 1, 'a');
	memcpy(big, "de,", 3);
	none = wr_accept_language_parse(big);
	g_assert_cmpuint(g_strv_length(none), ==, 0);
}

static void
test_pick(void)
{
	static const char *const available[] = {"de", "fr", "zh_CN", "en", NULL};
	static const char *const regional[] = {"pt_BR", "de", NULL};
	static const char *const both[] = {"zh_CN", "zh_TW", NULL};
	static const struct {
		const char *header;
		const char *const *available;
		const char *want;
	} cases[] = {
		{NULL, available, NULL},
		{"", available, NULL},
		{"de", available, "de"},
		{"de-DE", available, "de"},
		{"de-CH-1996", available, "de"},
		{"fr-CA, de;q=0.9", available, "fr"},
		{"en-US, de;q=0.5", available, "en"},
		{"it, de;q=0.3", available, "de"},
		{"it, es", available, NULL},
		{"*", available, NULL},
		{"*, fr;q=0.5", available, "fr"},
		/* Chinese by script */
		{"zh", available, "zh_CN"},
		{"zh-CN", available, "zh_CN"},
		{"zh-Hans", available, "zh_CN"},
		{"zh-Hans-CN", available, "zh_CN"},
		{"zh-SG", available, "zh_CN"},
		{"zh-TW", available, NULL},
		{"zh-HK, en;q=0.5", available, "en"},
		{"zh-Hant-CN", available, NULL},
		/* a bare language finds a regional catalogue; a region another */
		{"pt", regional, "pt_BR"},
		{"pt-PT", regional, "pt_BR"},
		{"de-x-private", regional, "de"},
		{"zh", regional, NULL},
		/* with both scripts there */
		{"zh-TW", both, "zh_TW"},
		{"zh-HK", both, "zh_TW"},
		{"zh-Hant-HK", both, "zh_TW"},
		{"zh", both, "zh_CN"},
		{"zh-SG", both, "zh_CN"},
		{"zh-MO, zh-CN;q=0.5", both, "zh_TW"},
		{"de", NULL, NULL},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_test_message("%s", cases[i].header != NULL ? cases[i].header : "(null)");
		g_assert_cmpstr(wr_accept_language_pick(cases[i].header, cases[i].available), ==,
				cases[i].want);
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/warren/accept-language/parse", test_parse);
	g_test_add_func("/warren/accept-language/limits", test_limits);
	g_test_add_func("/warren/accept-language/pick", test_pick);

	return g_test_run();
}
