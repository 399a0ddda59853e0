/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer target for what the relying party reads at GET /oidc/callback
 * (server/control/oidc/wr-oidc-callback): arbitrary bytes (up to the first NUL) as the query,
 * as a Cookie header and as a provider error code.  Besides the sanitizers it checks the
 * contracts: a refusal is WR_OIDC_ERROR_BAD_REQUEST with nothing filled in; accepted values
 * respect their length limits; a cookie value found is a substring of the header.
 */

#define G_LOG_DOMAIN "WrFuzzOidcCallback"

#include "config.h"

#include <stdint.h>
#include <string.h>

#include "wr-oidc-callback.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree char *text = g_strndup((const char *) data, size);
	g_autoptr(GError) error = NULL;
	g_auto(WrOidcCallbackParams) params = {NULL};
	g_autofree char *value = NULL;

	if (wr_oidc_callback_params_parse(text, &params, &error)) {
		g_assert_no_error(error);
		g_assert_cmpuint(strlen(text), <=, WR_OIDC_CALLBACK_QUERY_MAX);
		if (params.state != NULL)
			g_assert_cmpuint(strlen(params.state), <=, WR_OIDC_CALLBACK_STATE_MAX);
		if (params.code != NULL)
			g_assert_cmpuint(strlen(params.code), <=, WR_OIDC_CALLBACK_CODE_MAX);
	} else {
		g_assert_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_REQUEST);
		g_assert_null(params.state);
		g_assert_null(params.code);
		g_assert_null(params.error);
		g_assert_null(params.iss);
	}
	value = wr_oidc_cookie_get(text, "wr_sso_a");
	if (value != NULL)
		g_assert_nonnull(strstr(text, value));
	if (wr_oidc_error_code_ok(text))
		g_assert_cmpuint(strlen(text), <=, WR_OIDC_ERROR_CODE_MAX);
	return 0;
}
