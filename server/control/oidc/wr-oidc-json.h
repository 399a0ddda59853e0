/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Bounded JSON reading for JWKS documents, JWS headers and claim sets: json-glib 1.6 parses
 * recursively and is not strict, so depth and NUL bytes are checked before it sees the text,
 * and members are read only after their type is checked.
 */

#pragma once

#include <json-glib/json-glib.h>

/* objects and arrays nest at most this deep */
#define WR_OIDC_JSON_MAX_DEPTH 32

/*
 * Parses @len bytes as a JSON object.  Returns a new reference, or NULL with
 * WR_OIDC_ERROR_BAD_FORMAT whose message starts with @what ("the sign-in token's header" …)
 * and, if @detail, quotes the parser's complaint (which may quote the input).
 */
JsonObject *
wr_oidc_json_parse_object(const char *data, gsize len, const char *what, gboolean detail,
			  GError **error);

/* the string member @name of @object, or NULL if missing or not a string */
const char *
wr_oidc_json_get_string(JsonObject *object, const char *name);

/*
 * The number member @name of @object as whole seconds (fractions dropped, values clamped to
 * ±2^53), in *out_value; FALSE if missing or not a number.
 */
gboolean
wr_oidc_json_get_seconds(JsonObject *object, const char *name, gint64 *out_value);
