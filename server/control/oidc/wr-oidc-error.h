/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The one error domain of ID token verification (server/control/oidc).  Each reason a sign-in
 * is refused has its own code with a stable name, for logs and for the sign-in failure page;
 * the messages are written for the person signing in and never quote the token.
 */

#pragma once

#include <glib.h>

#define WR_OIDC_ERROR (wr_oidc_error_quark())

typedef enum {
	WR_OIDC_ERROR_BAD_FORMAT,	  /* "bad-format": not a token, JWKS or claim set we read */
	WR_OIDC_ERROR_BAD_SIGNATURE,	  /* "bad-signature" */
	WR_OIDC_ERROR_UNKNOWN_KID,	  /* "unknown-kid": refresh the JWKS once, then retry */
	WR_OIDC_ERROR_ALG_NOT_ALLOWED,	  /* "alg-not-allowed": alg or key type not pinned */
	WR_OIDC_ERROR_EXPIRED,		  /* "expired" */
	WR_OIDC_ERROR_NOT_YET_VALID,	  /* "not-yet-valid": iat or nbf in the future */
	WR_OIDC_ERROR_WRONG_ISSUER,	  /* "wrong-issuer" */
	WR_OIDC_ERROR_WRONG_AUDIENCE,	  /* "wrong-audience": aud or azp */
	WR_OIDC_ERROR_NONCE_MISMATCH,	  /* "nonce-mismatch" */
	WR_OIDC_ERROR_EMAIL_NOT_VERIFIED, /* "email-not-verified": also no email at all */
	WR_OIDC_ERROR_DOMAIN_NOT_ALLOWED, /* "domain-not-allowed": hd, or the email's domain */
	WR_OIDC_ERROR_EMAIL_NOT_ALLOWED,  /* "email-not-allowed" */
	WR_OIDC_ERROR_GROUP_NOT_ALLOWED,  /* "group-not-allowed": no allowed group in "groups" */
	WR_OIDC_ERROR_CANCELLED,	  /* "cancelled": the user declined at the provider */
	WR_OIDC_ERROR_PROVIDER,		  /* "provider": the provider failed or refused */
	WR_OIDC_ERROR_BAD_REQUEST,	  /* "bad-request": a callback we did not ask for */
} WrOidcError;

GQuark
wr_oidc_error_quark(void);

/* the stable name of @code ("bad-format" …), or "unknown" for a value outside the enum */
const char *
wr_oidc_error_to_string(int code);
