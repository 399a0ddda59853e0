/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The rules an ID token's claims must meet before warren-control signs its user in (OpenID
 * Connect Core §3.1.3.7, and Google's own), and the identity it then carries.  Pure: the time
 * is an argument.
 */

#pragma once

#include <json-glib/json-glib.h>

#include "wr-jwks.h"
#include "wr-jwt.h"

/* how far clocks may disagree, in seconds, unless configured otherwise */
#define WR_OIDC_DEFAULT_SKEW 60
/* Google's issuer, as discovery reports it */
#define WR_OIDC_GOOGLE_ISSUER "https://accounts.google.com"
/* and as some of its ID tokens spell it */
#define WR_OIDC_GOOGLE_ISSUER_ALIAS "accounts.google.com"

typedef struct {
	/* "iss" must equal this exactly */
	const char *issuer;
	/* or, when not NULL, this (Google's tokens say either spelling) */
	const char *issuer_alias;
	const char *client_id;
	/* mask of WrJwsAlg the signature may use */
	guint algs;
	/* seconds of clock skew allowed for exp, iat and nbf */
	gint64 skew;
	/* an email with email_verified true is required (the login name is the email) */
	gboolean require_verified_email;
	/* NULL-terminated or NULL: when non-empty, the "hd" claim must be one of them */
	const char *const *allowed_hosted_domains;
	/* NULL-terminated or NULL: when either is non-empty, the email must be listed, or its
	 * domain, and verified whatever require_verified_email says; for Google, restrict domains
	 * with allowed_hosted_domains instead, the email's domain proves nothing about who manages
	 * the account */
	const char *const *allowed_emails;
	const char *const *allowed_email_domains;
	/* NULL-terminated or NULL: when non-empty, the "groups" claim (an array of strings, as
	 * Keycloak, Authentik, Dex and Azure AD send it) must hold at least one of them, exactly */
	const char *const *allowed_groups;
} WrOidcConfig;

typedef struct {
	char *iss;
	char *sub;
	char *email;   /* NULL when not shared */
	char *name;    /* NULL when not shared */
	char *picture; /* NULL when not shared */
	char *hd;      /* Google hosted domain, NULL for consumer accounts */
} WrOidcIdentity;

/*
 * A config for the provider @issuer with defaults: RS256 and ES256, 60 s of skew, a verified
 * email required, no allow-lists.  The strings are borrowed.
 */
void
wr_oidc_config_init(WrOidcConfig *config, const char *issuer, const char *client_id);

/* the same for Google, accepting both spellings of its issuer */
void
wr_oidc_config_init_google(WrOidcConfig *config, const char *client_id);

void
wr_oidc_identity_free(WrOidcIdentity *self);

/*
 * Checks verified @claims against @config, in this order: iss, aud and azp, exp, iat, nbf,
 * nonce (equal to @nonce, compared in constant time), sub, email_verified, hosted domain,
 * allowed emails and domains, allowed groups.  @now is the Unix time in seconds.  Returns the
 * identity, or NULL with the WR_OIDC_ERROR code of the first rule broken.
 */
WrOidcIdentity *
wr_oidc_check_claims(const WrOidcConfig *config, JsonObject *claims, const char *nonce, gint64 now,
		     GError **error);

/*
 * The whole of ID token verification: wr_jwt_parse(), wr_jwt_verify() with config->algs, then
 * wr_oidc_check_claims().  On WR_OIDC_ERROR_UNKNOWN_KID, fetch the JWKS again and call once
 * more.
 */
WrOidcIdentity *
wr_oidc_verify_id_token(const WrOidcConfig *config, const WrJwks *jwks, const char *token,
			gsize len, const char *nonce, gint64 now, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrOidcIdentity, wr_oidc_identity_free)
