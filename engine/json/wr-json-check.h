/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Pre-checks for untrusted JSON text, run before json-glib sees it, and the type names used in
 * error messages about parsed JSON.
 *
 * json-glib parses recursively with no depth limit, so deep nesting exhausts the stack, and it
 * cuts strings at NUL (a raw byte or a decoded \u0000).  wr_json_check() scans the text once:
 * it counts '{' and '[' outside strings (a backslash in a "string" escapes the next byte) and
 * refuses what the limits forbid.  json-glib 1.6 also takes 'strings' (no escapes), so those
 * are skipped too: a '"' inside one must not hide the brackets after it (['"',[[[...]]],'"']
 * would otherwise pass any depth limit and crash the parser).  json-glib also skips comments,
 * by rules of its own, and a '"' in a comment could hide brackets the same way: so a '/'
 * outside strings — never valid JSON — is refused (WR_JSON_CHECK_COMMENT; for
 * wr_json_check_depth() it fails like too deep a nesting).  Nothing else is validated: stray
 * closing brackets are ignored and truncated input passes if no limit was crossed; json-glib
 * reports those.  Pure: bytes in, a verdict out; no allocation.
 */

#pragma once

#include <glib.h>

#include <json-glib/json-glib.h>

typedef enum {
	WR_JSON_CHECK_OK = 0,
	WR_JSON_CHECK_TOO_DEEP,		/* a bracket opened more than max_depth levels deep */
	WR_JSON_CHECK_TOO_MANY_MEMBERS, /* more than max_members ':' outside strings */
	WR_JSON_CHECK_NUL_BYTE,	  /* a NUL byte anywhere (only with WR_JSON_CHECK_REFUSE_NUL) */
	WR_JSON_CHECK_NUL_ESCAPE, /* a \u0000 escape in a string (only with ..._REFUSE_NUL) */
	WR_JSON_CHECK_COMMENT,	  /* a '/' outside strings: a comment, which JSON has not */
} WrJsonCheckResult;

typedef enum {
	WR_JSON_CHECK_FLAGS_NONE = 0,
	/* refuse NUL bytes, in or out of strings, and \u0000 escapes (any hex case) */
	WR_JSON_CHECK_REFUSE_NUL = 1 << 0,
} WrJsonCheckFlags;

typedef struct {
	guint max_depth;   /* deepest allowed nesting of objects and arrays; 0 allows none */
	guint max_members; /* most object members (counted as ':' outside strings); 0: no limit */
	WrJsonCheckFlags flags;
} WrJsonCheckLimits;

typedef struct {
	/* on failure the offset of the offending byte: the bracket that went too deep, the ':' over
	 * the member limit, the NUL byte, or the backslash of the \u0000 escape; else len */
	gsize offset;
	guint depth;   /* deepest nesting seen in the bytes scanned (max_depth + 1 if TOO_DEEP) */
	guint members; /* ':' outside strings seen in the bytes scanned */
} WrJsonCheckReport;

/*
 * Scans len bytes of data (NULL allowed when len is 0) against limits; report may be NULL.
 * Stops at the first violation and returns what it was, or WR_JSON_CHECK_OK.
 */
WrJsonCheckResult
wr_json_check(const char *data, gsize len, const WrJsonCheckLimits *limits,
	      WrJsonCheckReport *report);

/* shorthand: whether data nests at most max_depth deep, with no other limit */
gboolean
wr_json_check_depth(const char *data, gsize len, guint max_depth);

/*
 * The type of a parsed node for error messages, with its article: "an object", "an array",
 * "null", "a string", "a boolean", "an integer", "a number" (a double), "a value" (anything
 * else json-glib might hold).  node must not be NULL.
 */
const char *
wr_json_node_type_name(JsonNode *node);
