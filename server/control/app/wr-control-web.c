/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Browser sign-in (control.md "Browser sign-in"): GET /a/<token> starts the OpenID Connect
 * flow for a pending login that a register call made, GET /oidc/callback finishes it.  The
 * relying party (wr-oidc-rp.c) does the protocol; this file ties it to the tailnet: which
 * tokens are live, and what a vouched-for identity authorizes (ctl_login_complete).
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "wr-control-private.h"
#include "wr-l10n.h"
#include "wr-oidc-rp.h"

static gboolean
complete_cb(const char *login_token, const WrOidcIdentity *identity, gpointer user_data,
	    GError **error)
{
	WrControl *self = user_data;
	const char *login = identity->email != NULL ? identity->email : identity->sub;

	return ctl_login_complete(self, login_token, identity->iss, identity->sub, login,
				  identity->name, identity->picture, error);
}

static void
failed_cb(const char *login_token, const GError *error, gpointer user_data)
{
	ctl_login_failed(user_data, login_token, error->message);
}

gboolean
ctl_web_init(WrControl *self, GError **error)
{
	const WrControlConfig *config = self->config;
	g_autofree char *redirect = NULL;
	WrOidcRpSettings settings = {0};
	const char *localedir = g_getenv("WARREN_LOCALEDIR");

	/* the pages speak the browser's language (docs/control-l10n.md); the tests point
	 * WARREN_LOCALEDIR at the build tree's catalogues */
	self->l10n = wr_l10n_new(localedir != NULL && localedir[0] != '\0' ? localedir : LOCALEDIR,
				 GETTEXT_PACKAGE);
	if (!config->oidc_enabled)
		return TRUE;
	redirect = g_strdup_printf("%s/oidc/callback", config->server_url);
	settings.issuer = config->oidc_issuer;
	settings.client_id = config->oidc_client_id;
	settings.client_secret = config->oidc_client_secret;
	settings.redirect_uri = redirect;
	settings.scopes = (const char *const *) config->oidc_scopes;
	if (config->oidc_preset == WR_CONTROL_OIDC_GOOGLE) {
		wr_oidc_config_init_google(&settings.rules, config->oidc_client_id);
		/* Google: who manages the account is the verified token's hd, not the email */
		settings.rules.allowed_hosted_domains =
			(const char *const *) config->oidc_allowed_domains;
	} else {
		wr_oidc_config_init(&settings.rules, config->oidc_issuer, config->oidc_client_id);
		settings.rules.allowed_email_domains =
			(const char *const *) config->oidc_allowed_domains;
	}
	settings.rules.allowed_emails = (const char *const *) config->oidc_allowed_emails;
	settings.rules.algs = config->oidc_algs;
	settings.rules.skew = config->oidc_skew;
	settings.allowed_groups = (const char *const *) config->oidc_allowed_groups;
	settings.login_timeout = config->login_timeout;
	settings.l10n = self->l10n;
	self->rp = wr_oidc_rp_new(&settings, complete_cb, failed_cb, self, error);
	if (self->rp == NULL) {
		g_prefix_error(error, "%s: [oidc]: ", config->path);
		return FALSE;
	}
	return TRUE;
}

static gboolean
method_is_get(SoupServerMessage *msg)
{
	const char *method = soup_server_message_get_method(msg);

	return g_strcmp0(method, "GET") == 0 || g_strcmp0(method, "HEAD") == 0;
}

/* GET /a/<token> */
static void
auth_cb(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
	gpointer user_data)
{
	WrControl *self = user_data;
	const char *token = path + strlen("/a/");
	CtlLogin *login;

	if (!method_is_get(msg)) {
		wr_oidc_rp_render_localized(msg, self->l10n, SOUP_STATUS_METHOD_NOT_ALLOWED,
					    N_("Not allowed"),
					    N_("Open this link in your browser."));
		return;
	}
	if (!ctl_rate_limit(self, self->auth_limit, msg))
		return;
	if (self->rp == NULL) {
		wr_oidc_rp_render_localized(msg, self->l10n, SOUP_STATUS_NOT_FOUND,
					    N_("Sign-in unavailable"),
					    N_("This server does not offer browser sign-in."));
		return;
	}
	login = strlen(token) == 32 ? g_hash_table_lookup(self->logins, token) : NULL;
	if (login == NULL ||
	    g_get_real_time() / G_USEC_PER_SEC - login->created > self->config->login_timeout) {
		wr_oidc_rp_render_localized(msg, self->l10n, SOUP_STATUS_NOT_FOUND,
					    N_("Link expired"),
					    N_("This sign-in link is unknown or has expired. Start "
					       "signing in again from your device."));
		return;
	}
	if (login->done) {
		wr_oidc_rp_render_localized(
			msg, self->l10n, SOUP_STATUS_GONE, N_("Link used"),
			login->error == NULL ? N_("This device is signed in already. You may close "
						  "this tab.")
					     : N_("This sign-in has ended. Start signing in again "
						  "from your device."));
		return;
	}
	wr_oidc_rp_begin(self->rp, msg, login->token);
}

/* GET /oidc/callback */
static void
callback_cb(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
	    gpointer user_data)
{
	WrControl *self = user_data;

	if (!ctl_rate_limit(self, self->auth_limit, msg))
		return;
	if (self->rp == NULL) {
		wr_oidc_rp_render_localized(msg, self->l10n, SOUP_STATUS_NOT_FOUND,
					    N_("Sign-in unavailable"),
					    N_("This server does not offer browser sign-in."));
		return;
	}
	wr_oidc_rp_callback(self->rp, msg);
}

void
ctl_web_add_handlers(WrControl *self, SoupServer *server)
{
	soup_server_add_handler(server, "/a/", auth_cb, self, NULL);
	soup_server_add_handler(server, "/oidc/callback", callback_cb, self, NULL);
}

void
ctl_web_free(WrControl *self)
{
	g_clear_pointer(&self->rp, wr_oidc_rp_free);
	g_clear_pointer(&self->l10n, wr_l10n_unref);
}
