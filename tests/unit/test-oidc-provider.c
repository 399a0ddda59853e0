/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Tests of server/control/oidc/wr-oidc-provider and wr-oidc-callback: the URL rule, discovery
 * documents, token endpoint answers, the callback's query and cookie, table-driven.
 */

#include "config.h"

#include <string.h>

#include "wr-jwt.h"
#include "wr-oidc-callback.h"
#include "wr-oidc-provider.h"

#define ISSUER "https://idp.example.com"

static void
test_url(void)
{
	static const struct {
		const char *url;
		gboolean ok;
	} cases[] = {
		{"https://accounts.google.com", TRUE},
		{"https://idp.example.com:8443/realms/x/protocol/openid-connect/auth?x=1", TRUE},
		{"http://127.0.0.1:41000", TRUE},
		{"http://127.1.2.3/token", TRUE},
		{"http://[::1]:8080/jwks", TRUE},
		{"http://localhost:9000", TRUE},
		{"HTTPS://IDP.EXAMPLE.COM/", TRUE},
		{"http://idp.example.com", FALSE},
		{"http://127.0.0.1.example.com", FALSE},
		{"http://10.0.0.1/auth", FALSE},
		{"ftp://idp.example.com", FALSE},
		{"https://user:pw@idp.example.com", FALSE},
		{"https://idp.example.com/#frag", FALSE},
		{"//idp.example.com/auth", FALSE},
		{"/auth", FALSE},
		{"https://", FALSE},
		{"", FALSE},
		{NULL, FALSE},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		gboolean ok = wr_oidc_url_check(cases[i].url, "the test URL", &error);

		g_test_message("%s: %s", cases[i].url, ok ? "ok" : error->message);
		g_assert_cmpint(ok, ==, cases[i].ok);
		if (!ok) {
			g_assert_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT);
			g_assert_nonnull(strstr(error->message, "the test URL"));
		}
	}
	{
		g_autofree char *long_url = g_strnfill(WR_OIDC_URL_MAX + 1, 'a');

		memcpy(long_url, "https://", 8);
		g_assert_false(wr_oidc_url_check(long_url, "x", NULL));
	}
}

#define DOC(extra)                                                                   \
	"{\"issuer\":\"" ISSUER "\",\"authorization_endpoint\":\"" ISSUER "/auth\"," \
	"\"token_endpoint\":\"" ISSUER "/token\",\"jwks_uri\":\"" ISSUER "/jwks\"" extra "}"

static void
test_discovery(void)
{
	static const struct {
		const char *doc;
		int code; /* -1: accepted */
		const char *in_message;
	} cases[] = {
		{DOC(""), -1, NULL},
		{DOC(",\"response_types_supported\":[\"code\",\"id_token\"],"
		     "\"code_challenge_methods_supported\":[\"plain\",\"S256\"]"),
		 -1, NULL},
		{DOC(",\"response_types_supported\":[\"id_token\"]"), WR_OIDC_ERROR_BAD_FORMAT,
		 "authorization code"},
		{DOC(",\"code_challenge_methods_supported\":[\"plain\"]"), WR_OIDC_ERROR_BAD_FORMAT,
		 "S256"},
		{DOC(",\"code_challenge_methods_supported\":\"S256\""), WR_OIDC_ERROR_BAD_FORMAT,
		 "S256"},
		{"{\"issuer\":\"https://idp.example.com/\",\"authorization_endpoint\":\"https://"
		 "idp.example.com/auth\",\"token_endpoint\":\"https://idp.example.com/token\","
		 "\"jwks_uri\":\"https://idp.example.com/jwks\"}",
		 WR_OIDC_ERROR_WRONG_ISSUER, "another issuer"},
		{"{\"authorization_endpoint\":\"https://idp.example.com/auth\"}",
		 WR_OIDC_ERROR_WRONG_ISSUER, "another issuer"},
		{"{\"issuer\":\"" ISSUER
		 "\",\"authorization_endpoint\":\"http://idp.example.com/a\","
		 "\"token_endpoint\":\"" ISSUER "/token\",\"jwks_uri\":\"" ISSUER "/jwks\"}",
		 WR_OIDC_ERROR_BAD_FORMAT, "authorization_endpoint"},
		{"{\"issuer\":\"" ISSUER "\",\"authorization_endpoint\":\"" ISSUER "/auth\","
		 "\"jwks_uri\":\"" ISSUER "/jwks\"}",
		 WR_OIDC_ERROR_BAD_FORMAT, "token_endpoint"},
		{"{\"issuer\":\"" ISSUER "\",\"authorization_endpoint\":\"" ISSUER "/auth\","
		 "\"token_endpoint\":\"" ISSUER "/token\",\"jwks_uri\":7}",
		 WR_OIDC_ERROR_BAD_FORMAT, "jwks_uri"},
		{"[]", WR_OIDC_ERROR_BAD_FORMAT, "discovery document"},
		{"{\"issuer\":", WR_OIDC_ERROR_BAD_FORMAT, "discovery document"},
		{"", WR_OIDC_ERROR_BAD_FORMAT, "discovery document"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(WrOidcDiscovery) d =
			wr_oidc_discovery_parse(cases[i].doc, strlen(cases[i].doc), ISSUER, &error);

		g_test_message("case %u: %s", i, d != NULL ? "accepted" : error->message);
		if (cases[i].code < 0) {
			g_assert_no_error(error);
			g_assert_nonnull(d);
			g_assert_cmpstr(d->issuer, ==, ISSUER);
			g_assert_cmpstr(d->authorization_endpoint, ==, ISSUER "/auth");
			g_assert_cmpstr(d->token_endpoint, ==, ISSUER "/token");
			g_assert_cmpstr(d->jwks_uri, ==, ISSUER "/jwks");
		} else {
			g_assert_null(d);
			g_assert_error(error, WR_OIDC_ERROR, cases[i].code);
			g_assert_nonnull(strstr(error->message, cases[i].in_message));
		}
	}
}

static void
test_discovery_size(void)
{
	g_autoptr(GString) doc = g_string_new(DOC(",\"pad\":\""));
	g_autoptr(GError) error = NULL;
	g_autoptr(WrOidcDiscovery) d = NULL;

	g_string_truncate(doc, doc->len - 1); /* reopen the object */
	while (doc->len <= WR_OIDC_DISCOVERY_MAX)
		g_string_append_c(doc, 'x');
	g_string_append(doc, "\"}");
	d = wr_oidc_discovery_parse(doc->str, doc->len, ISSUER, &error);
	g_assert_null(d);
	g_assert_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT);
	g_assert_nonnull(strstr(error->message, "longer"));
}

static void
test_token_response(void)
{
	static const struct {
		const char *body;
		guint status;
		int code; /* -1: accepted */
		const char *in_message;
	} cases[] = {
		{"{\"access_token\":\"at\",\"token_type\":\"Bearer\",\"id_token\":\"a.b.c\"}", 200,
		 -1, NULL},
		{"{\"token_type\":\"bearer\",\"id_token\":\"a.b.c\"}", 200, -1, NULL},
		{"{\"id_token\":\"a.b.c\"}", 200, -1, NULL},
		{"{\"token_type\":\"MAC\",\"id_token\":\"a.b.c\"}", 200, WR_OIDC_ERROR_BAD_FORMAT,
		 "token_type"},
		{"{\"token_type\":1,\"id_token\":\"a.b.c\"}", 200, WR_OIDC_ERROR_BAD_FORMAT,
		 "token_type"},
		{"{\"access_token\":\"at\"}", 200, WR_OIDC_ERROR_BAD_FORMAT, "no ID token"},
		{"{\"id_token\":\"\"}", 200, WR_OIDC_ERROR_BAD_FORMAT, "no ID token"},
		{"{\"id_token\":[\"a.b.c\"]}", 200, WR_OIDC_ERROR_BAD_FORMAT, "no ID token"},
		{"<html>", 200, WR_OIDC_ERROR_BAD_FORMAT, "token answer"},
		{"{\"error\":\"invalid_grant\",\"error_description\":\"secret-ish detail\"}", 400,
		 WR_OIDC_ERROR_PROVIDER, "(invalid_grant, HTTP 400)"},
		{"{\"error\":\"invalid_client\"}", 401, WR_OIDC_ERROR_PROVIDER, "invalid_client"},
		{"{\"error\":\"bad\\\"quote\"}", 400, WR_OIDC_ERROR_PROVIDER, "(HTTP 400)"},
		{"{\"error\":\"\"}", 400, WR_OIDC_ERROR_PROVIDER, "(HTTP 400)"},
		{"<html>oops</html>", 502, WR_OIDC_ERROR_PROVIDER, "(HTTP 502)"},
		{"{\"id_token\":\"a.b.c\"}", 201, WR_OIDC_ERROR_PROVIDER, "(HTTP 201)"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autofree char *t = wr_oidc_token_response_parse(
			cases[i].body, strlen(cases[i].body), cases[i].status, &error);

		g_test_message("case %u: %s", i, t != NULL ? t : error->message);
		if (cases[i].code < 0) {
			g_assert_no_error(error);
			g_assert_cmpstr(t, ==, "a.b.c");
		} else {
			g_assert_null(t);
			g_assert_error(error, WR_OIDC_ERROR, cases[i].code);
			g_assert_nonnull(strstr(error->message, cases[i].in_message));
			/* the provider's free text is never repeated */
			g_assert_null(strstr(error->message, "secret-ish"));
		}
	}
}

static void
test_token_response_size(void)
{
	g_autofree char *long_token = g_strnfill(WR_JWT_MAX_LEN + 1, 'a');
	g_autofree char *body = g_strdup_printf("{\"id_token\":\"%s\"}", long_token);
	g_autofree char *huge = g_strnfill(WR_OIDC_TOKEN_RESPONSE_MAX + 1, ' ');
	g_autoptr(GError) error = NULL;
	char *t;

	t = wr_oidc_token_response_parse(body, strlen(body), 200, &error);
	g_assert_null(t);
	g_assert_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT);
	g_clear_error(&error);
	t = wr_oidc_token_response_parse(huge, strlen(huge), 200, &error);
	g_assert_null(t);
	g_assert_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT);
	g_assert_nonnull(strstr(error->message, "longer"));
}

static void
test_callback_params(void)
{
	static const struct {
		const char *query;
		gboolean ok;
		const char *state, *code, *error, *iss;
	} cases[] = {
		{"code=c1&state=s1", TRUE, "s1", "c1", NULL, NULL},
		{"state=s%2B1&code=a+b&iss=https%3A%2F%2Fidp&authuser=0&hd=example.com&scope="
		 "openid+"
		 "email&prompt=consent",
		 TRUE, "s+1", "a b", NULL, "https://idp"},
		{"error=access_denied&state=s1", TRUE, "s1", NULL, "access_denied", NULL},
		{"", TRUE, NULL, NULL, NULL, NULL},
		{"x=&y=1", TRUE, NULL, NULL, NULL, NULL},
		{"other&x=", FALSE},
		{NULL, FALSE},
		{"code=1&code=2", FALSE},
		{"state=1&code=2&state=1", FALSE},
		{"error=a&error=a", FALSE},
		{"code=%zz", FALSE},
		{"code=%00", FALSE},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_auto(WrOidcCallbackParams) p = {NULL};
		gboolean ok = wr_oidc_callback_params_parse(cases[i].query, &p, &error);

		g_test_message("case %u: %s", i, ok ? "ok" : error->message);
		g_assert_cmpint(ok, ==, cases[i].ok);
		if (!ok) {
			g_assert_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_REQUEST);
			g_assert_null(p.state);
			g_assert_null(p.code);
			continue;
		}
		g_assert_cmpstr(p.state, ==, cases[i].state);
		g_assert_cmpstr(p.code, ==, cases[i].code);
		g_assert_cmpstr(p.error, ==, cases[i].error);
		g_assert_cmpstr(p.iss, ==, cases[i].iss);
	}
}

static void
test_callback_limits(void)
{
	g_autofree char *state = g_strnfill(WR_OIDC_CALLBACK_STATE_MAX + 1, 's');
	g_autofree char *code = g_strnfill(WR_OIDC_CALLBACK_CODE_MAX + 1, 'c');
	g_autofree char *query = g_strnfill(WR_OIDC_CALLBACK_QUERY_MAX + 1, 'q');
	g_autofree char *q1 = g_strdup_printf("state=%s", state);
	g_autofree char *q2 = g_strdup_printf("code=%s", code);
	const char *const queries[] = {q1, q2, query};

	for (guint i = 0; i < G_N_ELEMENTS(queries); i++) {
		g_autoptr(GError) error = NULL;
		g_auto(WrOidcCallbackParams) p = {NULL};

		g_assert_false(wr_oidc_callback_params_parse(queries[i], &p, &error));
		g_assert_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_REQUEST);
		g_assert_nonnull(strstr(error->message, "too long"));
	}
}

static void
test_cookie(void)
{
	static const struct {
		const char *header;
		const char *value;
	} cases[] = {
		{"wr_sso_a=v1", "v1"},
		{"_session=x; wr_sso_a=v1; other=2", "v1"},
		{"wr_sso_a=v1;wr_sso_a=v2", "v1"},
		{"wr_sso_ab=v1; xwr_sso_a=v2", NULL},
		{"wr_sso_a", NULL},
		{"wr_sso_a=", ""},
		{"  wr_sso_a=v1  ", "v1"},
		{"", NULL},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *value = wr_oidc_cookie_get(cases[i].header, "wr_sso_a");

		g_assert_cmpstr(value, ==, cases[i].value);
	}
	g_assert_true(wr_oidc_error_code_ok("access_denied"));
	g_assert_true(wr_oidc_error_code_ok("temporarily_unavailable"));
	g_assert_false(wr_oidc_error_code_ok(""));
	g_assert_false(wr_oidc_error_code_ok("<script>"));
	g_assert_false(wr_oidc_error_code_ok("a b"));
}

int
main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/warren/oidc-provider/url", test_url);
	g_test_add_func("/warren/oidc-provider/discovery", test_discovery);
	g_test_add_func("/warren/oidc-provider/discovery-size", test_discovery_size);
	g_test_add_func("/warren/oidc-provider/token-response", test_token_response);
	g_test_add_func("/warren/oidc-provider/token-response-size", test_token_response_size);
	g_test_add_func("/warren/oidc-provider/callback-params", test_callback_params);
	g_test_add_func("/warren/oidc-provider/callback-limits", test_callback_limits);
	g_test_add_func("/warren/oidc-provider/cookie", test_cookie);
	return g_test_run();
}
