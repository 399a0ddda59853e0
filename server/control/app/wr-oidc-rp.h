/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * warren-control's OpenID Connect relying party (control.md, "Browser sign-in"): the
 * authorization code flow with PKCE S256, state and nonce, for the pending logins of the
 * server core.  The core checks that GET /a/<token> names a pending login and hands the
 * message to wr_oidc_rp_begin(); GET /oidc/callback goes to wr_oidc_rp_callback(), which
 * ends in the complete or failed hook and a page.  Everything runs on the thread-default
 * GMainContext of wr_oidc_rp_new()'s caller; docs/control-oidc.md has the details.
 */

#pragma once

#include <libsoup/soup.h>

#include "wr-l10n.h"
#include "wr-oidc-claims.h"

/* a started sign-in stays valid this many seconds unless configured otherwise */
#define WR_OIDC_RP_DEFAULT_LOGIN_TIMEOUT 600
/* sign-ins started and not yet called back, at most */
#define WR_OIDC_RP_MAX_PENDING 1024
/* of them, at most this many for one login token (several tabs); the oldest goes */
#define WR_OIDC_RP_MAX_PENDING_PER_LOGIN 4
/* the JWKS is fetched at most once in this many seconds, however many unknown kids come */
#define WR_OIDC_RP_JWKS_MIN_INTERVAL 10

typedef struct _WrOidcRp WrOidcRp;

typedef struct {
	const char *issuer;	   /* as discovery names it, no trailing slash */
	const char *client_id;	   /* required */
	const char *client_secret; /* required; copied, and wiped on free */
	const char *redirect_uri;  /* <server-url>/oidc/callback; https makes the cookie Secure */
	const char *const *scopes; /* NULL = openid email profile; must hold openid */
	WrOidcConfig rules;	   /* wr-oidc-claims.h (Google preset or generic); its issuer
				    * and client_id are replaced by the two above (may be
				    * NULL); the lists and issuer_alias are copied */
	const char *const *allowed_groups; /* NULL/empty = any; else the "groups" claim must
					    * hold one (overrides rules.allowed_groups) */
	gint64 login_timeout;		   /* seconds; 0 = WR_OIDC_RP_DEFAULT_LOGIN_TIMEOUT */
	WrL10n *l10n; /* the pages' languages (a reference is taken), picked per request by
		       * Accept-Language; NULL: English only */
} WrOidcRpSettings;

/*
 * Called when the provider vouched for someone: the core authorizes the pending login named by
 * @login_token; FALSE with @error to refuse (its message is shown on the page, HTTP 403).  The
 * failed hook is not called then.
 */
typedef gboolean (*WrOidcRpCompleteFunc)(const char *login_token, const WrOidcIdentity *identity,
					 gpointer user_data, GError **error);

/*
 * Called when a sign-in that had started for @login_token failed (refused token, provider
 * error, the user cancelled: WR_OIDC_ERROR_CANCELLED …), so the core can end that login's
 * follow-up long poll with the reason.  Not called for callbacks that name no sign-in of ours
 * or come from another browser: they could be anyone's.
 */
typedef void (*WrOidcRpFailedFunc)(const char *login_token, const GError *error,
				   gpointer user_data);

/*
 * Checks @settings (issuer and redirect URI https or loopback http, client id and secret set,
 * openid among the scopes) and copies them.  NULL with WR_OIDC_ERROR_BAD_FORMAT naming the
 * setting.  Nothing is fetched until the first sign-in.
 */
WrOidcRp *
wr_oidc_rp_new(const WrOidcRpSettings *settings, WrOidcRpCompleteFunc complete,
	       WrOidcRpFailedFunc failed, gpointer user_data, GError **error);

/* ends the sign-ins in progress with a 503 page and calls no hook; accepts NULL */
void
wr_oidc_rp_free(WrOidcRp *rp);

/*
 * GET /a/<token> after the core checked that @login_token is a pending login: pauses @msg,
 * discovers the provider (cached), makes state, nonce and a PKCE S256 verifier, sets a
 * browser-binding cookie and redirects (302) to the authorization endpoint.  When the provider
 * cannot be discovered, a 502 page.
 */
void
wr_oidc_rp_begin(WrOidcRp *rp, SoupServerMessage *msg, const char *login_token);

/* GET /oidc/callback: the whole of the callback; renders a success or failure page */
void
wr_oidc_rp_callback(WrOidcRp *rp, SoupServerMessage *msg);

/*
 * A minimal self-contained HTML page (no external resources, no-store, no referrer): @title
 * and @message, both escaped.  The core also uses it for /a/ errors (unknown or expired
 * token).
 */
void
wr_oidc_rp_render_page(SoupServerMessage *msg, guint status, const char *title,
		       const char *message);

/*
 * The same page in the language @msg's Accept-Language picks from @l10n (may be NULL), with
 * Content-Language set: @title and @message are English msgids marked N_(), translated here.
 */
void
wr_oidc_rp_render_localized(SoupServerMessage *msg, const WrL10n *l10n, guint status,
			    const char *title, const char *message);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrOidcRp, wr_oidc_rp_free)
