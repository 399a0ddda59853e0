/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrHujson"

#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gio/gio.h>

#include "wr-hujson.h"

void
wr_hujson_line_col(const gchar *data, gsize len, gsize offset, guint *out_line, guint *out_col)
{
	guint line = 1;
	guint col = 1;

	if (offset > len)
		offset = len;
	for (gsize i = 0; i < offset; i++) {
		guchar c = (guchar) data[i];

		if (c == '\n') {
			line++;
			col = 1;
		} else if ((c & 0xc0) != 0x80) {
			/* continuation bytes belong to the character before */
			col++;
		}
	}
	*out_line = line;
	*out_col = col;
}

static gboolean
fail_at(GError **error, const gchar *data, gsize len, gsize offset, const gchar *format, ...)
	G_GNUC_PRINTF(5, 6);

static gboolean
fail_at(GError **error, const gchar *data, gsize len, gsize offset, const gchar *format, ...)
{
	va_list args;
	g_autofree gchar *msg = NULL;
	guint line;
	guint col;

	va_start(args, format);
	msg = g_strdup_vprintf(format, args);
	va_end(args);
	wr_hujson_line_col(data, len, offset, &line, &col);
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%u:%u: %s", line, col, msg);
	return FALSE;
}

static bool
is_ws(gchar c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* what true, false, null and numbers are made of */
static bool
is_literal_char(gchar c)
{
	return g_ascii_isalnum(c) || c == '+' || c == '-' || c == '.';
}

#define SURROGATE_HIGH 0xd800
#define SURROGATE_LOW  0xdc00
#define SURROGATE_LAST 0xdfff

/* four hex digits, already checked */
static guint
hex4(const gchar *p)
{
	guint value = 0;

	for (guint k = 0; k < 4; k++)
		value = value * 16 + (guint) g_ascii_xdigit_value(p[k]);
	return value;
}

/* a string starting at s[*pos] (the quote); moves *pos past the closing quote.  Positions in
 * errors are counted in the original text. */
static gboolean
scan_string(const gchar *s, const gchar *data, gsize len, gsize *pos, GError **error)
{
	gsize start = *pos;
	gsize i = start + 1;
	guint unit;

	while (i < len) {
		gchar c = s[i];

		if (c == '"') {
			*pos = i + 1;
			return TRUE;
		}
		if (c == '\n')
			break;
		if ((guchar) c < 0x20)
			return fail_at(error, data, len, i, "control character in a string");
		if (c == '\\') {
			if (i + 1 < len && s[i + 1] == 'u') {
				for (guint k = 2; k < 6; k++) {
					if (i + k >= len || !g_ascii_isxdigit(s[i + k]))
						return fail_at(error, data, len, i,
							       "bad \\u escape in a string");
				}
				if (g_ascii_strncasecmp(s + i + 2, "0000", 4) == 0)
					return fail_at(error, data, len, i,
						       "\\u0000 escape in a string");
				/* UTF-16 surrogates come in pairs (json-glib would decode a lone
				 * one into text it cannot write back) */
				unit = hex4(s + i + 2);
				if (unit >= SURROGATE_LOW && unit <= SURROGATE_LAST)
					return fail_at(error, data, len, i,
						       "unpaired surrogate in a string");
				if (unit >= SURROGATE_HIGH && unit < SURROGATE_LOW) {
					guint low;

					if (i + 11 >= len || s[i + 6] != '\\' || s[i + 7] != 'u')
						return fail_at(error, data, len, i,
							       "unpaired surrogate in a string");
					for (guint k = 8; k < 12; k++) {
						if (!g_ascii_isxdigit(s[i + k]))
							return fail_at(
								error, data, len, i + 6,
								"bad \\u escape in a string");
					}
					low = hex4(s + i + 8);
					if (low < SURROGATE_LOW || low > SURROGATE_LAST)
						return fail_at(error, data, len, i,
							       "unpaired surrogate in a string");
					i += 6;
				}
				i += 6;
				continue;
			}
			if (i + 1 < len && strchr("\"\\/bfnrt", s[i + 1]) == NULL)
				return fail_at(error, data, len, i, "bad escape in a string");
			i += 2;
			continue;
		}
		i++;
	}
	return fail_at(error, data, len, start, "unterminated string");
}

gchar *
wr_hujson_standardize(const gchar *data, gsize len, GError **error)
{
	g_autofree gchar *out = NULL;
	const gchar *bad_utf8 = NULL;
	const gchar *nul;
	gssize pending_comma = -1;
	gchar last = '\0'; /* the last significant character outside strings and comments */
	guint depth = 0;
	gsize i = 0;

	if (len > WR_HUJSON_MAX_SIZE) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "1:1: %" G_GSIZE_FORMAT " bytes, more than the %u allowed", len,
			    (guint) WR_HUJSON_MAX_SIZE);
		return NULL;
	}
	/* an empty text may come as NULL */
	if (len == 0)
		data = "";
	nul = memchr(data, '\0', len);
	if (nul != NULL) {
		fail_at(error, data, len, (gsize) (nul - data), "NUL byte");
		return NULL;
	}
	if (!g_utf8_validate_len(data, len, &bad_utf8)) {
		fail_at(error, data, len, (gsize) (bad_utf8 - data), "invalid UTF-8");
		return NULL;
	}

	out = g_malloc(len + 1);
	memcpy(out, data, len);
	out[len] = '\0';
	while (i < len) {
		gchar c = out[i];

		if (c == '"') {
			if (!scan_string(out, data, len, &i, error))
				return NULL;
			pending_comma = -1;
			last = '"';
			continue;
		}
		if (c == '/' && i + 1 < len && out[i + 1] == '/') {
			while (i < len && out[i] != '\n')
				out[i++] = ' ';
			continue;
		}
		if (c == '/' && i + 1 < len && out[i + 1] == '*') {
			gsize start = i;
			const gchar *end = g_strstr_len(out + i + 2, (gssize) (len - i - 2), "*/");

			if (end == NULL) {
				fail_at(error, data, len, start, "unterminated comment");
				return NULL;
			}
			for (; i < (gsize) (end - out) + 2; i++) {
				if (out[i] != '\n')
					out[i] = ' ';
			}
			continue;
		}
		if (c == '/') {
			fail_at(error, data, len, i, "'/' that starts no comment");
			return NULL;
		}
		if (is_ws(c)) {
			i++;
			continue;
		}
		if (c == '}' || c == ']') {
			/* a trailing comma: the last thing before the close */
			if (pending_comma >= 0)
				out[pending_comma] = ' ';
			pending_comma = -1;
			if (depth > 0)
				depth--;
		} else if (c == ',') {
			/* only a comma after a value can trail: "[,]" stays wrong */
			pending_comma =
				(last != '[' && last != '{' && last != ',') ? (gssize) i : -1;
		} else if (g_ascii_isdigit(c) || c == '-') {
			/* json-glib turns a number too large for a double into infinity, which it
			 * then cannot write back */
			gsize end = i;
			g_autofree gchar *token = NULL;

			while (end < len && is_literal_char(out[end]))
				end++;
			token = g_strndup(out + i, end - i);
			if (!isfinite(g_ascii_strtod(token, NULL))) {
				fail_at(error, data, len, i, "number out of range");
				return NULL;
			}
			pending_comma = -1;
			last = '0';
			i = end;
			continue;
		} else if (c != '{' && c != '[' && c != ':' && !is_literal_char(c)) {
			/* json-glib 1.6 would take 'single-quoted' strings and more that is not
			 * JSON; outside strings only JSON's punctuation and literals may appear */
			if (g_ascii_isprint(c))
				fail_at(error, data, len, i, "unexpected character '%c'", c);
			else
				fail_at(error, data, len, i, "unexpected character");
			return NULL;
		} else {
			pending_comma = -1;
			if ((c == '{' || c == '[') && ++depth > WR_HUJSON_MAX_DEPTH) {
				fail_at(error, data, len, i, "nested more than %u deep",
					(guint) WR_HUJSON_MAX_DEPTH);
				return NULL;
			}
		}
		last = c;
		i++;
	}
	return g_steal_pointer(&out);
}

/* json-glib 1.6 says "<data>:LINE:COL: Parse error: …", which names the same line as the
 * original since the standard form keeps every offset; its column can be 0 (at a line's end),
 * so the message is rebuilt with a column of at least 1 */
static void
set_parser_error(GError **error, const gchar *msg)
{
	guint line = 0;
	guint col = 0;
	gint rest = 0;

	if (sscanf(msg, "<data>:%u:%u: %n", &line, &col, &rest) == 2 && rest > 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%u:%u: %s", MAX(line, 1),
			    MAX(col, 1), msg + rest);
		return;
	}
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "1:1: %s", msg);
}

gboolean
wr_hujson_parse(const gchar *data, gsize len, JsonNode **out_root, gchar **out_standard,
		GError **error)
{
	g_autofree gchar *standard = wr_hujson_standardize(data, len, error);
	g_autoptr(JsonParser) parser = NULL;
	g_autoptr(GError) error_local = NULL;
	JsonNode *root;
	bool blank = true;

	if (standard == NULL)
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (!is_ws(standard[i])) {
			blank = false;
			break;
		}
	}
	if (blank) {
		*out_root = NULL;
		if (out_standard != NULL)
			*out_standard = g_steal_pointer(&standard);
		return TRUE;
	}
	parser = json_parser_new_immutable();
	if (!json_parser_load_from_data(parser, standard, (gssize) len, &error_local)) {
		set_parser_error(error, error_local->message);
		return FALSE;
	}
	root = json_parser_get_root(parser);
	if (root == NULL) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "1:1: no JSON value");
		return FALSE;
	}
	*out_root = json_node_ref(root);
	if (out_standard != NULL)
		*out_standard = g_steal_pointer(&standard);
	return TRUE;
}

/* cursor helpers over a standard (comment-free, valid) text */
static gsize
skip_ws(const gchar *s, gsize len, gsize i)
{
	while (i < len && is_ws(s[i]))
		i++;
	return i;
}

/* past a string whose opening quote is at i */
static gsize
skip_string(const gchar *s, gsize len, gsize i)
{
	for (i++; i < len; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '"')
			return i + 1;
	}
	return len;
}

/* past the value that starts at i (iterative: no recursion on nesting); a scalar's trailing
 * whitespace goes with it */
static gsize
skip_value(const gchar *s, gsize len, gsize i)
{
	guint depth = 0;

	while (i < len) {
		gchar c = s[i];

		if (c == '"') {
			i = skip_string(s, len, i);
			if (depth == 0)
				return i;
			continue;
		}
		if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (depth == 0)
				return i;
			if (--depth == 0)
				return i + 1;
		} else if (depth == 0 && c == ',') {
			/* a scalar ends at the next delimiter: json-glib reads "- 1" as one number
			 */
			return i;
		}
		i++;
	}
	return len;
}

/* whether the JSON string literal s[start, end) (quotes included) decodes to key */
static bool
key_equal(const gchar *s, gsize start, gsize end, const gchar *key)
{
	g_autofree gchar *literal = NULL;
	g_autoptr(JsonNode) node = NULL;
	gsize raw_len = end - start - 2;

	if (memchr(s + start, '\\', end - start) == NULL)
		return strlen(key) == raw_len && memcmp(s + start + 1, key, raw_len) == 0;
	literal = g_strndup(s + start, end - start);
	node = json_from_string(literal, NULL);
	return node != NULL && JSON_NODE_HOLDS_VALUE(node) &&
	       json_node_get_value_type(node) == G_TYPE_STRING &&
	       g_strcmp0(json_node_get_string(node), key) == 0;
}

/* the member value (key != NULL) or element that step names in the container at i */
static bool
step_into(const gchar *s, gsize len, gsize i, const WrHujsonStep *step, gsize *out)
{
	bool found = false;
	guint index = 0;

	if (i >= len || s[i] != (step->key != NULL ? '{' : '['))
		return false;
	i = skip_ws(s, len, i + 1);
	while (i < len && s[i] != '}' && s[i] != ']') {
		if (step->key != NULL) {
			gsize key_start = i;
			gsize key_end;

			if (s[i] != '"')
				return false;
			key_end = skip_string(s, len, i);
			i = skip_ws(s, len, key_end);
			if (i >= len || s[i] != ':')
				return false;
			i = skip_ws(s, len, i + 1);
			if (key_end - key_start >= 2 &&
			    key_equal(s, key_start, key_end, step->key)) {
				*out = i;
				found = true;
			}
		} else if (index++ == step->index) {
			*out = i;
			return true;
		}
		i = skip_ws(s, len, skip_value(s, len, i));
		if (i >= len || s[i] != ',')
			break;
		i = skip_ws(s, len, i + 1);
	}
	return found;
}

bool
wr_hujson_locate(const gchar *standard, gsize len, const WrHujsonStep *steps, guint n_steps,
		 gsize *out_offset)
{
	gsize i = skip_ws(standard, len, 0);

	for (guint k = 0; k < n_steps; k++) {
		if (!step_into(standard, len, i, &steps[k], &i))
			return false;
	}
	if (i >= len)
		return false;
	*out_offset = i;
	return true;
}
