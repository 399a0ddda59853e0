/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer target for ID token verification (server/control/oidc): arbitrary bytes as an ID
 * token against a fixed JWKS (one RSA-2048 and one P-256 key, whose private halves signed the
 * seeds in corpus/jwt and were then thrown away).  Besides the sanitizers it checks the
 * contracts: a refusal always comes with a WR_OIDC_ERROR and a message; an accepted token
 * yields an identity with the configured issuer and a subject; the one-call verification agrees
 * with the steps; strict base64url decodes only what it would encode the same way.
 */

#define G_LOG_DOMAIN "WrFuzzJwt"

#include "config.h"

#include <stdint.h>
#include <string.h>

#include "wr-b64url.h"
#include "wr-jwks.h"
#include "wr-jwt.h"
#include "wr-oidc-claims.h"

#define ISSUER	  "https://idp.example.com"
#define CLIENT_ID "warren-control"
#define NONCE	  "n-0S6_WzA2Mj"
#define NOW	  G_GINT64_CONSTANT(1800000000)

static const char jwks_json[] =
	"{\"keys\":[{\"kty\":\"RSA\",\"use\":\"sig\",\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"n\""
	":\"6efB1xDgwEGPNHLqCB3lruZSAuObrjoDm2mtAY13fIqvT0kJM-OGgQoXi6TVdfxY3A7jL_bq56KMJP-WE"
	"bRUpxd0RxscFmYiDD91wXvdqglBOz_sUrCShNYWsd91CDHazbfbd59m2SzMx0WjjHzFne1qGr9wLiJrr93XZ"
	"C9Wv1qTn3aQxvgf_O5WmnrvoMPftW7SzpjOXo3mwTmm3qj0-NDup75iF8HL7o0WihkFjUAW8ah5GA_jKwgmu"
	"2RXt7gFIDC63lKyvwU0zblWaqxxh702cuV_DRc-tB2qSa3MrZZKEWt6QQhyFKqNWMt_oAgiM4elOjA7lCFYl"
	"aFZ96Fe_w\",\"e\":\"AQAB\"},{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"ec-1\",\"x\""
	":\"Z30K1bXLHTLb-iR1hXVlv96lQJZ328qaU9uxPq8jMAM\",\"y\":\"_0wazvrDeySDNcAhl6PH5FFAQvq"
	"cUSu8024XfTbSok0\"}]}";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_refusal(const GError *error)
{
	g_assert_nonnull(error);
	g_assert_true(error->domain == WR_OIDC_ERROR);
	g_assert_cmpstr(wr_oidc_error_to_string(error->code), !=, "unknown");
	g_assert_cmpuint(strlen(error->message), >, 0);
}

static void
check_b64url(const uint8_t *data, size_t size)
{
	g_autofree guint8 *out = NULL;
	g_autofree char *again = NULL;
	gsize len = 0;

	if (!wr_b64url_decode((const char *) data, size, size, &out, &len))
		return;
	again = wr_b64url_encode(out, len);
	g_assert_cmpmem(again, strlen(again), data, size);
}

/* checks the claims under @config; TRUE if accepted */
static gboolean
check_claims(const WrOidcConfig *config, JsonObject *claims)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(WrOidcIdentity) identity =
		wr_oidc_check_claims(config, claims, NONCE, NOW, &error);

	if (identity == NULL) {
		check_refusal(error);
		return FALSE;
	}
	g_assert_no_error(error);
	g_assert_cmpstr(identity->iss, ==, config->issuer);
	g_assert_nonnull(identity->sub);
	g_assert_cmpuint(strlen(identity->sub), >, 0);
	if (config->require_verified_email)
		g_assert_nonnull(identity->email);
	return TRUE;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(WrJwks) jwks = wr_jwks_parse(jwks_json, strlen(jwks_json), &error);
	g_autoptr(WrJwt) jwt = NULL;
	g_autoptr(WrOidcIdentity) identity = NULL;
	const char *const emails[] = {"alice@example.com", NULL};
	const char *const domains[] = {"example.com", NULL};
	WrOidcConfig plain;
	WrOidcConfig listed;
	gboolean accepted = FALSE;

	g_assert_no_error(error);
	check_b64url(data, size);
	wr_oidc_config_init(&plain, ISSUER, CLIENT_ID);
	wr_oidc_config_init(&listed, ISSUER, CLIENT_ID);
	listed.allowed_emails = emails;
	listed.allowed_hosted_domains = domains;

	identity = wr_oidc_verify_id_token(&plain, jwks, (const char *) data, size, NONCE, NOW,
					   &error);
	if (identity == NULL)
		check_refusal(error);
	g_clear_error(&error);

	jwt = wr_jwt_parse((const char *) data, size, &error);
	if (jwt == NULL) {
		check_refusal(error);
		g_assert_cmpint(error->code, ==, WR_OIDC_ERROR_BAD_FORMAT);
		g_assert_null(identity);
		return 0;
	}
	g_assert_nonnull(wr_jwt_get_alg(jwt));
	if (!wr_jwt_verify(jwt, jwks, plain.algs, &error)) {
		check_refusal(error);
		g_assert_null(identity);
		return 0;
	}
	accepted = check_claims(&plain, wr_jwt_get_claims(jwt));
	g_assert_cmpint(accepted, ==, identity != NULL);
	(void) check_claims(&listed, wr_jwt_get_claims(jwt));
	return 0;
}
