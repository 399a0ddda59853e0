/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer target for what the relying party reads from an OpenID provider besides ID tokens
 * (server/control/oidc/wr-oidc-provider): arbitrary bytes as a discovery document for the
 * issuer https://idp.example.com, as a token endpoint answer of HTTP 200 and of HTTP 400, and
 * as a URL.  Besides the sanitizers it checks the contracts: refusals carry WR_OIDC_ERROR with
 * a message; an accepted discovery has the issuer asked for and endpoints that pass the URL
 * rule; an ID token handed back is non-empty, at most WR_JWT_MAX_LEN, without NUL; a non-200
 * answer is always WR_OIDC_ERROR_PROVIDER.
 */

#define G_LOG_DOMAIN "WrFuzzOidcProvider"

#include "config.h"

#include <stdint.h>
#include <string.h>

#include "wr-jwt.h"
#include "wr-oidc-provider.h"

#define ISSUER "https://idp.example.com"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_discovery(const char *text, size_t size)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(WrOidcDiscovery) d = wr_oidc_discovery_parse(text, size, ISSUER, &error);

	if (d == NULL) {
		g_assert_true(error != NULL && error->domain == WR_OIDC_ERROR);
		g_assert_true(error->code == WR_OIDC_ERROR_BAD_FORMAT ||
			      error->code == WR_OIDC_ERROR_WRONG_ISSUER);
		g_assert_cmpuint(strlen(error->message), >, 0);
		return;
	}
	g_assert_no_error(error);
	g_assert_cmpstr(d->issuer, ==, ISSUER);
	g_assert_true(wr_oidc_url_check(d->authorization_endpoint, "a", NULL));
	g_assert_true(wr_oidc_url_check(d->token_endpoint, "t", NULL));
	g_assert_true(wr_oidc_url_check(d->jwks_uri, "j", NULL));
}

static void
check_token(const char *text, size_t size, guint status)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *id_token = wr_oidc_token_response_parse(text, size, status, &error);

	if (id_token == NULL) {
		g_assert_true(error != NULL && error->domain == WR_OIDC_ERROR);
		if (status != 200)
			g_assert_cmpint(error->code, ==, WR_OIDC_ERROR_PROVIDER);
		g_assert_cmpuint(strlen(error->message), >, 0);
		return;
	}
	g_assert_no_error(error);
	g_assert_cmpuint(status, ==, 200);
	g_assert_cmpuint(strlen(id_token), >, 0);
	g_assert_cmpuint(strlen(id_token), <=, WR_JWT_MAX_LEN);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *) data;
	g_autofree char *url = NULL;
	g_autoptr(GError) error = NULL;

	check_discovery(text, size);
	check_token(text, size, 200);
	check_token(text, size, 400);
	if (memchr(data, '\0', size) == NULL) {
		url = g_strndup(text, size);
		if (!wr_oidc_url_check(url, "the URL", &error)) {
			g_assert_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT);
			g_assert_cmpuint(strlen(error->message), >, 0);
		}
	}
	return 0;
}
