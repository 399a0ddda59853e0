/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer target for an OpenID provider's key set (server/control/oidc/wr-jwks): arbitrary
 * bytes as a JWKS document.  Besides the sanitizers it checks the contracts: a refusal is
 * WR_OIDC_ERROR_BAD_FORMAT with a message; an accepted set holds at most WR_JWKS_MAX_KEYS keys,
 * each with a GnuTLS public key of the kind it claims, and each found again by its kid.
 */

#define G_LOG_DOMAIN "WrFuzzJwks"

#include "config.h"

#include <stdint.h>
#include <string.h>

#include "wr-jwks.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(WrJwks) jwks = wr_jwks_parse(data, size, &error);
	const WrJwk *key;

	if (jwks == NULL) {
		g_assert_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT);
		g_assert_cmpuint(strlen(error->message), >, 0);
		return 0;
	}
	g_assert_no_error(error);
	g_assert_cmpuint(wr_jwks_get_n_keys(jwks), <=, WR_JWKS_MAX_KEYS);
	for (guint i = 0; i < wr_jwks_get_n_keys(jwks); i++) {
		int pk;

		key = wr_jwks_get_key(jwks, i);
		g_assert_nonnull(key->pubkey);
		pk = gnutls_pubkey_get_pk_algorithm(key->pubkey, NULL);
		if (key->kind == WR_JWK_KIND_RSA) {
			g_assert_cmpint(pk, ==, GNUTLS_PK_RSA);
			g_assert_cmpuint(key->bits, >=, WR_JWK_RSA_MIN_BITS);
			g_assert_cmpuint(key->bits, <=, WR_JWK_RSA_MAX_BITS);
		} else {
			g_assert_cmpint(key->kind, ==, WR_JWK_KIND_EC_P256);
			g_assert_cmpint(pk, ==, GNUTLS_PK_ECDSA);
		}
		if (key->kid != NULL) {
			g_assert_true(wr_jwks_lookup(jwks, key->kid, &error) == key);
			g_assert_no_error(error);
		}
	}
	key = wr_jwks_lookup(jwks, NULL, &error);
	if (wr_jwks_get_n_keys(jwks) == 1) {
		g_assert_no_error(error);
		g_assert_true(key == wr_jwks_get_key(jwks, 0));
	} else {
		g_assert_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_UNKNOWN_KID);
		g_assert_null(key);
	}
	return 0;
}
