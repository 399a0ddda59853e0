/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * What the relying party reads from the browser at GET /oidc/callback: the query the provider
 * redirected with (RFC 6749 §4.1.2, RFC 9207) and the request's Cookie header.  Pure.
 */

#pragma once

#include <glib.h>

#include "wr-oidc-error.h"

/* the callback's query is at most this long */
#define WR_OIDC_CALLBACK_QUERY_MAX 8192
/* its code at most this */
#define WR_OIDC_CALLBACK_CODE_MAX 2048
/* and its state at most this */
#define WR_OIDC_CALLBACK_STATE_MAX 256
/* an OAuth error code we show is at most this long */
#define WR_OIDC_ERROR_CODE_MAX 64

/* each NULL when absent; state and code are wiped by wr_oidc_callback_params_clear */
typedef struct {
	char *error;
	char *state;
	char *code;
	char *iss;
} WrOidcCallbackParams;

/*
 * Reads @query (form-encoded, without the '?'; NULL for none): error, state, code and iss,
 * each at most once; other parameters (Google's authuser, hd, scope …) are ignored.  FALSE
 * with WR_OIDC_ERROR_BAD_REQUEST, and *out untouched, for a missing or over-long query, a
 * malformed one (bad %-escapes), a repeated parameter, an over-long state or code.
 */
gboolean
wr_oidc_callback_params_parse(const char *query, WrOidcCallbackParams *out, GError **error);

void
wr_oidc_callback_params_clear(WrOidcCallbackParams *params);

/*
 * The value of the cookie @name in a Cookie header (RFC 6265 §5.4: "a=1; b=2"), the first
 * if repeated, or NULL.  The pieces of @header it copied on the way are wiped.
 */
char *
wr_oidc_cookie_get(const char *header, const char *name);

/* whether @code is an OAuth error code plain enough to show: [A-Za-z0-9_.-], 1 to 64 long */
gboolean
wr_oidc_error_code_ok(const char *code);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(WrOidcCallbackParams, wr_oidc_callback_params_clear)
