/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * What the relying party reads from an OpenID provider besides ID tokens: the discovery
 * document (OpenID Connect Discovery 1.0 §3, §4.3) and the token endpoint's answer (RFC 6749
 * §5.1, §5.2), and the rule its URLs must meet.  Pure: no network, no clock.
 */

#pragma once

#include <glib.h>

#include "wr-oidc-error.h"

/* a discovery document is at most this long */
#define WR_OIDC_DISCOVERY_MAX (64 * 1024)
/* a token endpoint answer is at most this long */
#define WR_OIDC_TOKEN_RESPONSE_MAX (64 * 1024)
/* a provider URL is at most this long */
#define WR_OIDC_URL_MAX 2048

typedef struct {
	char *issuer;
	char *authorization_endpoint;
	char *token_endpoint;
	char *jwks_uri;
} WrOidcDiscovery;

/*
 * Whether @url is an absolute https URL without user info or fragment, or an http one whose
 * host is a loopback address (127.0.0.0/8, ::1 or "localhost": test providers).  @what names
 * it in the WR_OIDC_ERROR_BAD_FORMAT error ("the issuer" …).
 */
gboolean
wr_oidc_url_check(const char *url, const char *what, GError **error);

/*
 * Reads a discovery document fetched for @issuer: a JSON object whose "issuer" equals @issuer
 * exactly, with authorization_endpoint, token_endpoint and jwks_uri passing
 * wr_oidc_url_check(), "code" among response_types_supported and, when the provider lists
 * code_challenge_methods_supported, "S256" among them.  NULL with WR_OIDC_ERROR_BAD_FORMAT, or
 * WR_OIDC_ERROR_WRONG_ISSUER for another issuer.
 */
WrOidcDiscovery *
wr_oidc_discovery_parse(const char *data, gsize len, const char *issuer, GError **error);

void
wr_oidc_discovery_free(WrOidcDiscovery *self);

/*
 * The ID token in the token endpoint's answer of HTTP @status.  A 200 must be a JSON object
 * with a string "id_token" of at most WR_JWT_MAX_LEN bytes and, if given, token_type
 * "Bearer" (any case).  Any other status is WR_OIDC_ERROR_PROVIDER, naming the OAuth "error"
 * code when the body has a well-formed one (never its free-text description); a malformed 200
 * is WR_OIDC_ERROR_BAD_FORMAT.
 */
char *
wr_oidc_token_response_parse(const char *data, gsize len, guint status, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrOidcDiscovery, wr_oidc_discovery_free)
