/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrOidc"

#include "config.h"

#include <string.h>

#include <gnutls/crypto.h>

#include "wr-b64url.h"
#include "wr-jwt.h"
#include "wr-oidc-json.h"

/* a signature is at most this long (RSA-8192) */
#define SIG_MAX_LEN (WR_JWK_RSA_MAX_BITS / 8)
/* an ES256 signature is r || s, 32 bytes each (RFC 7518 §3.4) */
#define ES256_COORD_LEN 32
/* a header's "alg" is named in messages when it is at most this long */
#define ALG_SHOWN 16

struct _WrJwt {
	char *alg;
	char *kid;
	JsonObject *claims;
	char *signed_part; /* header "." payload, what the signature covers */
	guint8 *sig;
	gsize sig_len;
};

void
wr_jwt_free(WrJwt *self)
{
	if (self == NULL)
		return;
	g_free(self->alg);
	g_free(self->kid);
	if (self->claims != NULL)
		json_object_unref(self->claims);
	g_free(self->signed_part);
	g_free(self->sig);
	g_free(self);
}

const char *
wr_jwt_get_alg(const WrJwt *self)
{
	return self->alg;
}

const char *
wr_jwt_get_kid(const WrJwt *self)
{
	return self->kid;
}

JsonObject *
wr_jwt_get_claims(const WrJwt *self)
{
	return self->claims;
}

/* decodes the base64url part [@p, @end) as a JSON object */
static JsonObject *
decode_json(const char *p, const char *end, const char *what, GError **error)
{
	g_autofree guint8 *data = NULL;
	gsize len = 0;

	if (!wr_b64url_decode(p, (gsize) (end - p), WR_JWT_MAX_LEN, &data, &len)) {
		g_set_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT, "%s is not base64url",
			    what);
		return NULL;
	}
	return wr_oidc_json_parse_object((const char *) data, len, what, FALSE, error);
}

static gboolean
parse_header(WrJwt *self, JsonObject *header, GError **error)
{
	const char *alg = wr_oidc_json_get_string(header, "alg");
	const char *kid = wr_oidc_json_get_string(header, "kid");

	if (alg == NULL) {
		g_set_error_literal(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
				    "the sign-in token's header names no algorithm");
		return FALSE;
	}
	if (json_object_has_member(header, "kid") && (kid == NULL || kid[0] == '\0')) {
		g_set_error_literal(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
				    "the sign-in token's header has a malformed key id");
		return FALSE;
	}
	if (json_object_has_member(header, "typ") &&
	    wr_oidc_json_get_string(header, "typ") == NULL) {
		g_set_error_literal(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
				    "the sign-in token's header has a malformed type");
		return FALSE;
	}
	/* RFC 7515 §4.1.11: extensions we do not understand must not be ignored */
	if (json_object_has_member(header, "crit")) {
		g_set_error_literal(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
				    "the sign-in token uses header extensions (crit) that are not "
				    "supported");
		return FALSE;
	}
	self->alg = g_strdup(alg);
	self->kid = g_strdup(kid);
	return TRUE;
}

WrJwt *
wr_jwt_parse(const char *token, gsize len, GError **error)
{
	g_autoptr(WrJwt) self = g_new0(WrJwt, 1);
	g_autoptr(JsonObject) header = NULL;
	const char *end = token + len;
	const char *dot1;
	const char *dot2;

	if (len > WR_JWT_MAX_LEN) {
		g_set_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
			    "the sign-in token is more than %d bytes long", WR_JWT_MAX_LEN);
		return NULL;
	}
	dot1 = memchr(token, '.', len);
	dot2 = dot1 != NULL ? memchr(dot1 + 1, '.', (gsize) (end - dot1 - 1)) : NULL;
	if (dot2 == NULL || memchr(dot2 + 1, '.', (gsize) (end - dot2 - 1)) != NULL) {
		g_set_error_literal(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
				    "the sign-in token is not a signed JWT (three parts joined by "
				    "dots)");
		return NULL;
	}
	header = decode_json(token, dot1, "the sign-in token's header", error);
	if (header == NULL || !parse_header(self, header, error))
		return NULL;
	self->claims = decode_json(dot1 + 1, dot2, "the sign-in token's claim set", error);
	if (self->claims == NULL)
		return NULL;
	if (!wr_b64url_decode(dot2 + 1, (gsize) (end - dot2 - 1), SIG_MAX_LEN, &self->sig,
			      &self->sig_len)) {
		g_set_error_literal(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
				    "the sign-in token's signature is malformed");
		return NULL;
	}
	self->signed_part = g_strndup(token, (gsize) (dot2 - token));
	return g_steal_pointer(&self);
}

/* the WrJwsAlg named @alg, or 0 */
static WrJwsAlg
alg_from_name(const char *alg)
{
	if (strcmp(alg, "RS256") == 0)
		return WR_JWS_ALG_RS256;
	if (strcmp(alg, "ES256") == 0)
		return WR_JWS_ALG_ES256;
	return 0;
}

/* @alg for a message: as written when short and plain, which an attacker's may not be */
static const char *
alg_shown(const char *alg)
{
	gsize len = strlen(alg);

	if (len == 0 || len > ALG_SHOWN)
		return "an unknown algorithm";
	for (gsize i = 0; i < len; i++) {
		if (!g_ascii_isalnum(alg[i]) && alg[i] != '-' && alg[i] != '_')
			return "an unknown algorithm";
	}
	return alg;
}

/* @sig (r || s) as the DER structure GnuTLS verifies */
static gboolean
es256_to_der(const guint8 *sig, gsize sig_len, gnutls_datum_t *out_der)
{
	gnutls_datum_t r;
	gnutls_datum_t s;
	gsize r_skip = 0;
	gsize s_skip = 0;

	if (sig_len != 2 * ES256_COORD_LEN)
		return FALSE;
	/* minimal DER integers: drop leading zero bytes, keeping one */
	while (r_skip < ES256_COORD_LEN - 1 && sig[r_skip] == 0)
		r_skip++;
	while (s_skip < ES256_COORD_LEN - 1 && sig[ES256_COORD_LEN + s_skip] == 0)
		s_skip++;
	r.data = (unsigned char *) sig + r_skip;
	r.size = (unsigned int) (ES256_COORD_LEN - r_skip);
	s.data = (unsigned char *) sig + ES256_COORD_LEN + s_skip;
	s.size = (unsigned int) (ES256_COORD_LEN - s_skip);
	return gnutls_encode_rs_value(out_der, &r, &s) >= 0;
}

gboolean
wr_jwt_verify(const WrJwt *self, const WrJwks *jwks, guint allowed_algs, GError **error)
{
	WrJwsAlg alg = alg_from_name(self->alg);
	gnutls_datum_t data;
	gnutls_datum_t sig;
	gnutls_datum_t der = {NULL, 0};
	const WrJwk *key;
	int r;

	/* "none" and HS256 never map to a WrJwsAlg, whatever the mask */
	if (alg == 0 || (allowed_algs & alg) == 0) {
		g_set_error(
			error, WR_OIDC_ERROR, WR_OIDC_ERROR_ALG_NOT_ALLOWED,
			"the sign-in token is signed with %s, which this server does not accept",
			alg_shown(self->alg));
		return FALSE;
	}
	key = wr_jwks_lookup(jwks, self->kid, error);
	if (key == NULL)
		return FALSE;
	if ((alg == WR_JWS_ALG_RS256 && key->kind != WR_JWK_KIND_RSA) ||
	    (alg == WR_JWS_ALG_ES256 && key->kind != WR_JWK_KIND_EC_P256)) {
		g_set_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_ALG_NOT_ALLOWED,
			    "the sign-in token says %s but names an %s key of the provider",
			    self->alg, key->kind == WR_JWK_KIND_RSA ? "RSA" : "EC P-256");
		return FALSE;
	}
	if (key->alg != NULL && strcmp(key->alg, self->alg) != 0) {
		g_set_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_ALG_NOT_ALLOWED,
			    "the sign-in token says %s but the provider's key is for %s", self->alg,
			    alg_shown(key->alg));
		return FALSE;
	}
	data.data = (unsigned char *) self->signed_part;
	data.size = (unsigned int) strlen(self->signed_part);
	if (alg == WR_JWS_ALG_ES256) {
		if (!es256_to_der(self->sig, self->sig_len, &der)) {
			g_set_error_literal(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_SIGNATURE,
					    "the sign-in token's signature is not valid");
			return FALSE;
		}
		r = gnutls_pubkey_verify_data2(key->pubkey, GNUTLS_SIGN_ECDSA_SHA256, 0, &data,
					       &der);
		gnutls_free(der.data);
	} else {
		sig.data = self->sig;
		sig.size = (unsigned int) self->sig_len;
		r = gnutls_pubkey_verify_data2(key->pubkey, GNUTLS_SIGN_RSA_SHA256, 0, &data, &sig);
	}
	if (r < 0 || self->sig_len == 0) {
		g_set_error_literal(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_SIGNATURE,
				    "the sign-in token's signature is not valid");
		return FALSE;
	}
	return TRUE;
}
