/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A compact JWS (RFC 7515) as OpenID providers sign ID tokens: three strict base64url parts,
 * a JSON header and a JSON claim set.  The signature is checked through GnuTLS's public-key
 * API against a key of a WrJwks, with the algorithm pinned by the caller: only RS256 (RSA
 * key) and ES256 (P-256 key) exist here, "none" and the HMAC algorithms never do.  Pure: no
 * network, no clock.
 */

#pragma once

#include <json-glib/json-glib.h>

#include "wr-jwks.h"

/* a token is at most this long */
#define WR_JWT_MAX_LEN (16 * 1024)

typedef enum {
	WR_JWS_ALG_RS256 = 1 << 0,
	WR_JWS_ALG_ES256 = 1 << 1,
} WrJwsAlg;

/* what an OpenID provider may sign with unless configured otherwise */
#define WR_JWS_ALGS_DEFAULT (WR_JWS_ALG_RS256 | WR_JWS_ALG_ES256)

typedef struct _WrJwt WrJwt;

/*
 * Splits and decodes @len bytes of @token, without checking the signature.  Returns the token,
 * or NULL with WR_OIDC_ERROR_BAD_FORMAT.
 */
WrJwt *
wr_jwt_parse(const char *token, gsize len, GError **error);

void
wr_jwt_free(WrJwt *self);

/* the header's "alg", as written */
const char *
wr_jwt_get_alg(const WrJwt *self);

/* the header's "kid", NULL when absent */
const char *
wr_jwt_get_kid(const WrJwt *self);

/* the claim set; trust it only after wr_jwt_verify() */
JsonObject *
wr_jwt_get_claims(const WrJwt *self);

/*
 * Checks the signature of @self with the key @jwks names for it.  @allowed_algs is a mask of
 * WrJwsAlg.  FALSE with, in this order of checks: WR_OIDC_ERROR_ALG_NOT_ALLOWED (alg not in
 * @allowed_algs), WR_OIDC_ERROR_UNKNOWN_KID (refresh the JWKS once and retry),
 * WR_OIDC_ERROR_ALG_NOT_ALLOWED (the key's type or its JWKS "alg" does not match the header's
 * alg), WR_OIDC_ERROR_BAD_SIGNATURE.
 */
gboolean
wr_jwt_verify(const WrJwt *self, const WrJwks *jwks, guint allowed_algs, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrJwt, wr_jwt_free)
