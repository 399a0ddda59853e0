/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrOidc"

#include "config.h"

#include "wr-oidc-error.h"

G_DEFINE_QUARK(wr - oidc - error - quark, wr_oidc_error)

const char *
wr_oidc_error_to_string(int code)
{
	static const char *const names[] = {
		[WR_OIDC_ERROR_BAD_FORMAT] = "bad-format",
		[WR_OIDC_ERROR_BAD_SIGNATURE] = "bad-signature",
		[WR_OIDC_ERROR_UNKNOWN_KID] = "unknown-kid",
		[WR_OIDC_ERROR_ALG_NOT_ALLOWED] = "alg-not-allowed",
		[WR_OIDC_ERROR_EXPIRED] = "expired",
		[WR_OIDC_ERROR_NOT_YET_VALID] = "not-yet-valid",
		[WR_OIDC_ERROR_WRONG_ISSUER] = "wrong-issuer",
		[WR_OIDC_ERROR_WRONG_AUDIENCE] = "wrong-audience",
		[WR_OIDC_ERROR_NONCE_MISMATCH] = "nonce-mismatch",
		[WR_OIDC_ERROR_EMAIL_NOT_VERIFIED] = "email-not-verified",
		[WR_OIDC_ERROR_DOMAIN_NOT_ALLOWED] = "domain-not-allowed",
		[WR_OIDC_ERROR_EMAIL_NOT_ALLOWED] = "email-not-allowed",
		[WR_OIDC_ERROR_GROUP_NOT_ALLOWED] = "group-not-allowed",
		[WR_OIDC_ERROR_CANCELLED] = "cancelled",
		[WR_OIDC_ERROR_PROVIDER] = "provider",
		[WR_OIDC_ERROR_BAD_REQUEST] = "bad-request",
	};

	if (code < 0 || (gsize) code >= G_N_ELEMENTS(names))
		return "unknown";
	return names[code];
}
