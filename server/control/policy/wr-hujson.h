/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * HuJSON ("human JSON": JSON with // and / * * / comments and trailing commas, as Tailscale's
 * policy files are written) turned into standard JSON for json-glib.  The standard form has the
 * same length as the input and every byte at the same offset: comments and trailing commas
 * become spaces, newlines stay.  So an offset found in the standard text names the same place
 * in the original, and errors can say `line:col`.
 *
 * Lines and columns are 1-based; columns count characters (UTF-8 sequences), not bytes.
 * Every refusal is G_IO_ERROR_INVALID_DATA with a message that starts with `line:col: `.
 */

#pragma once

#include <glib.h>
#include <stdbool.h>

#include <json-glib/json-glib.h>

/* limits: the whole text, and how deeply objects and arrays may nest (json-glib recurses) */
#define WR_HUJSON_MAX_SIZE  (1024 * 1024)
#define WR_HUJSON_MAX_DEPTH 32

/* one step of a path into a document: an object member (key != NULL) or an array element */
typedef struct {
	const gchar *key;
	guint index;
} WrHujsonStep;

/* the standard JSON form, NUL-terminated, exactly len bytes long; NULL on an unterminated
 * comment or string, a stray '/', a NUL byte or \u0000 escape, invalid UTF-8, nesting deeper
 * than WR_HUJSON_MAX_DEPTH or more than WR_HUJSON_MAX_SIZE bytes */
gchar *
wr_hujson_standardize(const gchar *data, gsize len, GError **error);

/* standardizes and parses; the root is NULL (and no error set) when the text holds nothing but
 * whitespace and comments.  out_standard (may be NULL) receives the standard text. */
gboolean
wr_hujson_parse(const gchar *data, gsize len, JsonNode **out_root, gchar **out_standard,
		GError **error);

/* the offset of the value that steps lead to in a standard text (the last member when a key
 * repeats, as json-glib keeps); false when there is no such value */
bool
wr_hujson_locate(const gchar *standard, gsize len, const WrHujsonStep *steps, guint n_steps,
		 gsize *out_offset);

/* line and column of a byte offset (clamped to len) */
void
wr_hujson_line_col(const gchar *data, gsize len, gsize offset, guint *out_line, guint *out_col);
