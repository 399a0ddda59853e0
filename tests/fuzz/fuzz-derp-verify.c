/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer target for what warren-derp reads to admit clients (wr-derp-verify): the
 * --verify-clients allow-list file and a verifier URL's JSON answer.  Besides the sanitizers it
 * checks the contracts: a refusal always comes with a G_IO_ERROR_INVALID_DATA message; every key
 * of an accepted allow-list appears in the input in its text form, written back out one per line
 * it parses to the same set; an accepted answer is a JSON object and sets the verdict.
 *
 * Input: the same bytes are given to both parsers.
 */

#define G_LOG_DOMAIN "WrFuzzDerpVerify"

#include "config.h"

#include <string.h>

#include <gio/gio.h>

#include "wr-derp-verify.h"
#include "wr-key.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_allowlist(const uint8_t *data, size_t size)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GHashTable) set =
		wr_derp_allowlist_parse("fuzz", (const char *) data, size, &error);
	g_autoptr(GHashTable) again = NULL;
	g_autoptr(GString) text = g_string_new(NULL);
	g_autofree char *input = g_strndup((const char *) data, size);
	GHashTableIter iter;
	gpointer k;

	if (set == NULL) {
		g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
		g_assert_true(g_str_has_prefix(error->message, "fuzz"));
		return;
	}
	g_assert_no_error(error);
	g_hash_table_iter_init(&iter, set);
	while (g_hash_table_iter_next(&iter, &k, NULL)) {
		gsize len;
		const guint8 *key = g_bytes_get_data(k, &len);
		g_autofree char *line = NULL;

		g_assert_cmpuint(len, ==, 32);
		g_assert_true(wr_derp_allowlist_contains(set, key));
		line = wr_key_to_text(WR_KEY_KIND_NODE, key);
		g_assert_nonnull(strstr(input, line));
		g_string_append_printf(text, "%s\n", line);
	}
	again = wr_derp_allowlist_parse("again", text->str, text->len, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(g_hash_table_size(again), ==, g_hash_table_size(set));
	g_hash_table_iter_init(&iter, set);
	while (g_hash_table_iter_next(&iter, &k, NULL))
		g_assert_true(g_hash_table_contains(again, k));
}

static void
check_answer(const uint8_t *data, size_t size)
{
	g_autoptr(GError) error = NULL;
	gboolean allow = 2;

	if (!wr_derp_verify_parse_answer(data, size, &allow, &error)) {
		g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
		g_assert_cmpuint(strlen(error->message), >, 0);
		g_assert_cmpint(allow, ==, 2);
		return;
	}
	g_assert_no_error(error);
	g_assert_true(allow == TRUE || allow == FALSE);
	/* "Allow" may be spelt with \u escapes, but an object it is */
	g_assert_nonnull(memchr(data, '{', size));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_allowlist(data, size);
	check_answer(data, size);
	return 0;
}
