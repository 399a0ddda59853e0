/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrOidc"

#include "config.h"

#include <string.h>

#include "wr-crypto.h"
#include "wr-oidc-callback.h"

static void
wipe_free(char *text)
{
	if (text == NULL)
		return;
	wr_memzero(text, strlen(text));
	g_free(text);
}

void
wr_oidc_callback_params_clear(WrOidcCallbackParams *params)
{
	g_clear_pointer(&params->error, g_free);
	g_clear_pointer(&params->state, wipe_free);
	g_clear_pointer(&params->code, wipe_free);
	g_clear_pointer(&params->iss, g_free);
}

gboolean
wr_oidc_callback_params_parse(const char *query, WrOidcCallbackParams *out, GError **error)
{
	g_auto(WrOidcCallbackParams) params = {NULL};
	g_autoptr(GError) local = NULL;
	GUriParamsIter iter;
	char *name = NULL;
	char *value = NULL;

	if (query == NULL || strlen(query) > WR_OIDC_CALLBACK_QUERY_MAX) {
		g_set_error_literal(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_REQUEST,
				    "the sign-in answer is missing or too long");
		return FALSE;
	}
	g_uri_params_iter_init(&iter, query, -1, "&", G_URI_PARAMS_WWW_FORM);
	while (g_uri_params_iter_next(&iter, &name, &value, &local)) {
		char **slot = NULL;

		if (strcmp(name, "error") == 0)
			slot = &params.error;
		else if (strcmp(name, "state") == 0)
			slot = &params.state;
		else if (strcmp(name, "code") == 0)
			slot = &params.code;
		else if (strcmp(name, "iss") == 0)
			slot = &params.iss;
		if (slot != NULL && *slot != NULL) {
			g_set_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_REQUEST,
				    "the sign-in answer repeats the parameter %s", name);
			g_free(name);
			wipe_free(value);
			return FALSE;
		}
		g_free(name);
		if (slot != NULL)
			*slot = value;
		else
			wipe_free(value);
	}
	if (local != NULL) {
		g_set_error_literal(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_REQUEST,
				    "the sign-in answer is not a well-formed query");
		return FALSE;
	}
	if ((params.state != NULL && strlen(params.state) > WR_OIDC_CALLBACK_STATE_MAX) ||
	    (params.code != NULL && strlen(params.code) > WR_OIDC_CALLBACK_CODE_MAX)) {
		g_set_error_literal(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_REQUEST,
				    "the sign-in answer is too long");
		return FALSE;
	}
	*out = params;
	memset(&params, 0, sizeof(params));
	return TRUE;
}

char *
wr_oidc_cookie_get(const char *header, const char *name)
{
	g_auto(GStrv) parts = g_strsplit(header, ";", -1);
	gsize name_len = strlen(name);
	char *value = NULL;

	for (guint i = 0; parts[i] != NULL && value == NULL; i++) {
		const char *part = parts[i];

		while (*part == ' ' || *part == '\t')
			part++;
		if (strncmp(part, name, name_len) == 0 && part[name_len] == '=') {
			value = g_strdup(part + name_len + 1);
			g_strchomp(value);
		}
	}
	for (guint i = 0; parts[i] != NULL; i++)
		wr_memzero(parts[i], strlen(parts[i]));
	return value;
}

gboolean
wr_oidc_error_code_ok(const char *code)
{
	gsize len = strlen(code);

	if (len == 0 || len > WR_OIDC_ERROR_CODE_MAX)
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (!g_ascii_isalnum(code[i]) && code[i] != '_' && code[i] != '-' && code[i] != '.')
			return FALSE;
	}
	return TRUE;
}
