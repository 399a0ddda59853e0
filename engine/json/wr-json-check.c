/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Pre-checks for untrusted JSON text; see wr-json-check.h.
 */

#include "wr-json-check.h"

#include <string.h>

/* whether data[i] (a backslash) starts a \u0000 escape */
static gboolean
is_nul_escape(const char *data, gsize len, gsize i)
{
	return i + 5 < len && data[i + 1] == 'u' &&
	       g_ascii_strncasecmp(data + i + 2, "0000", 4) == 0;
}

/*
 * After "\u", json-glib 1.6 looks at the next byte.  A hex digit: it reads up to four bytes
 * (json_scanner_get_unichar) and swallows the first that is not a hex digit, even a quote, so
 * that in "\u0B"}" the quote does not end the string.  Anything else: it takes nothing more,
 * so in "\u"" the quote does.  This scan must see the same string ends, or a bracket it takes
 * for text would be nesting to json-glib (fuzz-json-check found ["}\"\u~\u0B"}",[0]]: depth 2
 * parsed, 1 counted).  Surrogate pairs are two such escapes.  *i is at the 'u'; it is left at
 * the last byte the escape takes.  FALSE: a NUL byte there, with refuse_nul.
 */
static gboolean
skip_unichar(const char *data, gsize len, gsize *i, gboolean refuse_nul)
{
	if (*i + 1 >= len || !g_ascii_isxdigit(data[*i + 1]))
		return TRUE;
	for (guint k = 0; k < 4 && *i + 1 < len; k++) {
		char h = data[++*i];

		if (h == '\0' && refuse_nul)
			return FALSE;
		if (!g_ascii_isxdigit(h))
			break;
	}
	return TRUE;
}

/* where the scan is: json-glib 1.6 (GScanner) also takes 'strings', so they are skipped like
 * "strings": a '"' in them must not hide the brackets after it */
typedef enum {
	IN_CODE,
	IN_STRING, /* "...": a backslash escapes the next byte */
	IN_QUOTED, /* '...': no escapes */
} State;

WrJsonCheckResult
wr_json_check(const char *data, gsize len, const WrJsonCheckLimits *limits,
	      WrJsonCheckReport *report)
{
	gboolean refuse_nul = (limits->flags & WR_JSON_CHECK_REFUSE_NUL) != 0;
	WrJsonCheckResult result = WR_JSON_CHECK_OK;
	State state = IN_CODE;
	guint depth = 0, deepest = 0, members = 0;
	gsize i;

	g_return_val_if_fail(data != NULL || len == 0, WR_JSON_CHECK_OK);

	for (i = 0; i < len; i++) {
		char c = data[i];

		if (c == '\0' && refuse_nul) {
			result = WR_JSON_CHECK_NUL_BYTE;
			break;
		}
		switch (state) {
		case IN_STRING:
			if (c == '"') {
				state = IN_CODE;
			} else if (c == '\\' && i + 1 < len) {
				if (refuse_nul && is_nul_escape(data, len, i)) {
					result = WR_JSON_CHECK_NUL_ESCAPE;
					goto done;
				}
				/* the escaped byte is still checked for NUL: it cannot be a quote
				 */
				i++;
				if (data[i] == '\0' && refuse_nul) {
					result = WR_JSON_CHECK_NUL_BYTE;
					goto done;
				}
				if (data[i] == 'u' && !skip_unichar(data, len, &i, refuse_nul)) {
					result = WR_JSON_CHECK_NUL_BYTE;
					goto done;
				}
			}
			continue;
		case IN_QUOTED:
			if (c == '\'')
				state = IN_CODE;
			continue;
		case IN_CODE:
			break;
		}
		if (c == '"') {
			state = IN_STRING;
		} else if (c == '\'') {
			state = IN_QUOTED;
		} else if (c == '/') {
			/* json-glib skips comments by rules of its own, and a quote inside one
			 * would hide the brackets after it from this scan: JSON has no '/' outside
			 * strings, so refuse it rather than guess */
			result = WR_JSON_CHECK_COMMENT;
			break;
		} else if (c == '{' || c == '[') {
			if (++depth > deepest)
				deepest = depth;
			if (depth > limits->max_depth) {
				result = WR_JSON_CHECK_TOO_DEEP;
				break;
			}
		} else if ((c == '}' || c == ']') && depth > 0) {
			depth--;
		} else if (c == ':') {
			members++;
			if (limits->max_members > 0 && members > limits->max_members) {
				result = WR_JSON_CHECK_TOO_MANY_MEMBERS;
				break;
			}
		}
	}
done:
	if (report != NULL) {
		report->offset = result == WR_JSON_CHECK_OK ? len : i;
		report->depth = deepest;
		report->members = members;
	}
	return result;
}

gboolean
wr_json_check_depth(const char *data, gsize len, guint max_depth)
{
	WrJsonCheckLimits limits = {.max_depth = max_depth};

	return wr_json_check(data, len, &limits, NULL) == WR_JSON_CHECK_OK;
}

const char *
wr_json_node_type_name(JsonNode *node)
{
	g_return_val_if_fail(node != NULL, "nothing");

	if (JSON_NODE_HOLDS_OBJECT(node))
		return "an object";
	if (JSON_NODE_HOLDS_ARRAY(node))
		return "an array";
	if (JSON_NODE_HOLDS_NULL(node))
		return "null";
	switch (json_node_get_value_type(node)) {
	case G_TYPE_STRING:
		return "a string";
	case G_TYPE_BOOLEAN:
		return "a boolean";
	case G_TYPE_INT64:
		return "an integer";
	case G_TYPE_DOUBLE:
		return "a number";
	default:
		return "a value";
	}
}
