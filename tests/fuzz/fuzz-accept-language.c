/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer target for the Accept-Language reader (server/control/app/wr-accept-language),
 * which reads a header any browser or script sends to warren-control's sign-in pages: the
 * bytes up to the first NUL as the header.  Besides the sanitizers it checks the contracts:
 * at most WR_ACCEPT_LANGUAGE_MAX_RANGES ranges, each a lower-case language range of the
 * grammar, and a pick is one of the available tags or NULL.
 */

#define G_LOG_DOMAIN "WrFuzzAcceptLanguage"

#include "config.h"

#include <stdint.h>
#include <string.h>

#include "wr-accept-language.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const available[] = {"de", "fr", "zh_CN", "pt_BR", "en", NULL};
	g_autofree char *text = g_strndup((const char *) data, size);
	g_auto(GStrv) ranges = wr_accept_language_parse(text);
	const char *picked = wr_accept_language_pick(text, available);

	g_assert_nonnull(ranges);
	g_assert_cmpuint(g_strv_length(ranges), <=, WR_ACCEPT_LANGUAGE_MAX_RANGES);
	for (guint i = 0; ranges[i] != NULL; i++) {
		g_assert_cmpuint(strlen(ranges[i]), >, 0);
		g_assert_cmpuint(strspn(ranges[i], "abcdefghijklmnopqrstuvwxyz0123456789-*"), ==,
				 strlen(ranges[i]));
	}
	if (picked != NULL) {
		gboolean known = FALSE;

		for (guint i = 0; available[i] != NULL; i++)
			known = known || picked == available[i];
		g_assert_true(known);
		g_assert_cmpuint(g_strv_length(ranges), >, 0);
	}
	return 0;
}
