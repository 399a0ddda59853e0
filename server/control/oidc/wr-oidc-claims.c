/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrOidc"

#include "config.h"

#include <string.h>

#include "wr-oidc-claims.h"
#include "wr-oidc-json.h"

/* OpenID Connect Core §2: sub is at most 255 ASCII characters */
#define SUB_MAX_LEN 255
/* RFC 5321 limits a path to 256 octets, an address in it to 254 */
#define EMAIL_MAX_LEN 254
/* values of the token shown in messages are cut to this many characters */
#define VALUE_SHOWN 80

void
wr_oidc_config_init(WrOidcConfig *config, const char *issuer, const char *client_id)
{
	memset(config, 0, sizeof(*config));
	config->issuer = issuer;
	config->client_id = client_id;
	config->algs = WR_JWS_ALGS_DEFAULT;
	config->skew = WR_OIDC_DEFAULT_SKEW;
	config->require_verified_email = TRUE;
}

void
wr_oidc_config_init_google(WrOidcConfig *config, const char *client_id)
{
	wr_oidc_config_init(config, WR_OIDC_GOOGLE_ISSUER, client_id);
	config->issuer_alias = WR_OIDC_GOOGLE_ISSUER_ALIAS;
}

void
wr_oidc_identity_free(WrOidcIdentity *self)
{
	if (self == NULL)
		return;
	g_free(self->iss);
	g_free(self->sub);
	g_free(self->email);
	g_free(self->name);
	g_free(self->picture);
	g_free(self->hd);
	g_free(self);
}

/* @value for a message: at most VALUE_SHOWN characters, no control characters */
static char *
shown(const char *value)
{
	g_autofree char *cut =
		g_utf8_substring(value, 0, MIN(g_utf8_strlen(value, -1), VALUE_SHOWN));

	for (char *p = cut; *p != '\0'; p++) {
		if (g_ascii_iscntrl(*p))
			*p = '?';
	}
	return g_steal_pointer(&cut);
}

/* whether @list (NULL-terminated, or NULL) has no entry */
static gboolean
list_empty(const char *const *list)
{
	return list == NULL || list[0] == NULL;
}

/* whether @list holds @value, ignoring ASCII case */
static gboolean
list_has_nocase(const char *const *list, const char *value)
{
	for (guint i = 0; list != NULL && list[i] != NULL; i++) {
		if (g_ascii_strcasecmp(list[i], value) == 0)
			return TRUE;
	}
	return FALSE;
}

/* compares without a data-dependent branch or early exit; only the length may leak */
static gboolean
equal_ct(const char *a, const char *b)
{
	gsize len = strlen(a);
	volatile guint8 diff = 0;

	if (strlen(b) != len)
		return FALSE;
	for (gsize i = 0; i < len; i++)
		diff |= (guint8) (a[i] ^ b[i]);
	return diff == 0;
}

static gboolean
check_issuer(const WrOidcConfig *config, JsonObject *claims, GError **error)
{
	const char *iss = wr_oidc_json_get_string(claims, "iss");

	if (iss != NULL &&
	    (g_strcmp0(iss, config->issuer) == 0 ||
	     (config->issuer_alias != NULL && strcmp(iss, config->issuer_alias) == 0)))
		return TRUE;
	g_set_error_literal(error, WR_OIDC_ERROR, WR_OIDC_ERROR_WRONG_ISSUER,
			    "the sign-in token was not issued by the identity provider this server "
			    "is configured for");
	return FALSE;
}

static gboolean
check_audience(const WrOidcConfig *config, JsonObject *claims, GError **error)
{
	JsonNode *aud = json_object_get_member(claims, "aud");
	JsonNode *azp_node = json_object_get_member(claims, "azp");
	const char *azp = wr_oidc_json_get_string(claims, "azp");
	gboolean found = FALSE;
	guint n_aud = 0;

	if (aud != NULL && JSON_NODE_HOLDS_VALUE(aud) &&
	    json_node_get_value_type(aud) == G_TYPE_STRING) {
		n_aud = 1;
		found = g_strcmp0(json_node_get_string(aud), config->client_id) == 0;
	} else if (aud != NULL && JSON_NODE_HOLDS_ARRAY(aud)) {
		JsonArray *array = json_node_get_array(aud);

		n_aud = json_array_get_length(array);
		for (guint i = 0; i < n_aud; i++) {
			JsonNode *e = json_array_get_element(array, i);

			if (JSON_NODE_HOLDS_VALUE(e) &&
			    json_node_get_value_type(e) == G_TYPE_STRING &&
			    g_strcmp0(json_node_get_string(e), config->client_id) == 0)
				found = TRUE;
		}
	}
	if (!found) {
		g_set_error_literal(error, WR_OIDC_ERROR, WR_OIDC_ERROR_WRONG_AUDIENCE,
				    "the sign-in token was issued for a different application");
		return FALSE;
	}
	/* several audiences: the token must have been issued to us; azp, if given, must be us */
	if ((n_aud > 1 && azp == NULL) || (azp_node != NULL && azp == NULL) ||
	    (azp != NULL && g_strcmp0(azp, config->client_id) != 0)) {
		g_set_error_literal(
			error, WR_OIDC_ERROR, WR_OIDC_ERROR_WRONG_AUDIENCE,
			"the sign-in token was issued to a different application (azp)");
		return FALSE;
	}
	return TRUE;
}

static gboolean
check_times(const WrOidcConfig *config, JsonObject *claims, gint64 now, GError **error)
{
	gint64 skew = CLAMP(config->skew, 0, G_MAXINT32);
	gint64 exp = 0;
	gint64 iat = 0;
	gint64 nbf = 0;

	if (!wr_oidc_json_get_seconds(claims, "exp", &exp) ||
	    !wr_oidc_json_get_seconds(claims, "iat", &iat)) {
		g_set_error_literal(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
				    "the sign-in token does not say when it was issued and when it "
				    "expires");
		return FALSE;
	}
	if (exp + skew <= now) {
		g_set_error_literal(
			error, WR_OIDC_ERROR, WR_OIDC_ERROR_EXPIRED,
			"the sign-in has expired; please sign in again (if this repeats, "
			"check the server's clock)");
		return FALSE;
	}
	if (iat - skew > now) {
		g_set_error_literal(error, WR_OIDC_ERROR, WR_OIDC_ERROR_NOT_YET_VALID,
				    "the sign-in token is dated in the future; check the clocks of "
				    "this server and the identity provider");
		return FALSE;
	}
	if (json_object_has_member(claims, "nbf") &&
	    (!wr_oidc_json_get_seconds(claims, "nbf", &nbf) || nbf - skew > now)) {
		g_set_error_literal(error, WR_OIDC_ERROR, WR_OIDC_ERROR_NOT_YET_VALID,
				    "the sign-in token is not valid yet; check the clocks of this "
				    "server and the identity provider");
		return FALSE;
	}
	return TRUE;
}

/* whether email_verified says true: a boolean, or the string "true" some providers send */
static gboolean
email_verified(JsonObject *claims)
{
	JsonNode *node = json_object_get_member(claims, "email_verified");

	if (node == NULL || !JSON_NODE_HOLDS_VALUE(node))
		return FALSE;
	if (json_node_get_value_type(node) == G_TYPE_BOOLEAN)
		return json_node_get_boolean(node);
	if (json_node_get_value_type(node) == G_TYPE_STRING)
		return g_strcmp0(json_node_get_string(node), "true") == 0;
	return FALSE;
}

static gboolean
check_email(const WrOidcConfig *config, JsonObject *claims, GError **error)
{
	const char *email = wr_oidc_json_get_string(claims, "email");
	const char *hd = wr_oidc_json_get_string(claims, "hd");
	gboolean restricted =
		!list_empty(config->allowed_emails) || !list_empty(config->allowed_email_domains);
	const char *at;

	/* an allow-list of addresses means nothing unless the provider vouches for them */
	if (config->require_verified_email || restricted) {
		g_autofree char *email_shown = NULL;

		if (email == NULL || email[0] == '\0' || strlen(email) > EMAIL_MAX_LEN) {
			g_set_error_literal(
				error, WR_OIDC_ERROR, WR_OIDC_ERROR_EMAIL_NOT_VERIFIED,
				"the identity provider did not share the account's email "
				"address, which is needed to sign in");
			return FALSE;
		}
		email_shown = shown(email);
		if (!email_verified(claims)) {
			g_set_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_EMAIL_NOT_VERIFIED,
				    "the identity provider has not verified the email address %s",
				    email_shown);
			return FALSE;
		}
	}
	/* Google: the organisation managing the account is the hd claim, not the email's domain */
	if (!list_empty(config->allowed_hosted_domains)) {
		g_autofree char *hd_shown = NULL;

		if (hd == NULL) {
			g_set_error_literal(error, WR_OIDC_ERROR, WR_OIDC_ERROR_DOMAIN_NOT_ALLOWED,
					    "only accounts managed by an allowed organisation may "
					    "sign in, and this is a personal account");
			return FALSE;
		}
		if (!list_has_nocase(config->allowed_hosted_domains, hd)) {
			hd_shown = shown(hd);
			g_set_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_DOMAIN_NOT_ALLOWED,
				    "accounts of the organisation %s may not sign in here",
				    hd_shown);
			return FALSE;
		}
	}
	if (restricted) {
		g_autofree char *email_shown = shown(email);

		at = strrchr(email, '@');
		if (list_has_nocase(config->allowed_emails, email) ||
		    (at != NULL && at != email && at[1] != '\0' &&
		     list_has_nocase(config->allowed_email_domains, at + 1)))
			return TRUE;
		if (list_empty(config->allowed_emails))
			g_set_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_DOMAIN_NOT_ALLOWED,
				    "the email address %s is not in a domain allowed to sign in "
				    "here",
				    email_shown);
		else
			g_set_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_EMAIL_NOT_ALLOWED,
				    "%s is not allowed to sign in here", email_shown);
		return FALSE;
	}
	return TRUE;
}

/* with allowed groups configured, the "groups" claim must name one of them */
static gboolean
check_groups(const WrOidcConfig *config, JsonObject *claims, GError **error)
{
	JsonNode *node = json_object_get_member(claims, "groups");

	if (list_empty(config->allowed_groups))
		return TRUE;
	if (node != NULL && JSON_NODE_HOLDS_ARRAY(node)) {
		JsonArray *array = json_node_get_array(node);

		for (guint i = 0; i < json_array_get_length(array); i++) {
			JsonNode *e = json_array_get_element(array, i);

			if (!JSON_NODE_HOLDS_VALUE(e) ||
			    json_node_get_value_type(e) != G_TYPE_STRING)
				continue;
			if (g_strv_contains((const char *const *) config->allowed_groups,
					    json_node_get_string(e)))
				return TRUE;
		}
	}
	g_set_error_literal(error, WR_OIDC_ERROR, WR_OIDC_ERROR_GROUP_NOT_ALLOWED,
			    "the account is not a member of a group allowed to sign in here");
	return FALSE;
}

WrOidcIdentity *
wr_oidc_check_claims(const WrOidcConfig *config, JsonObject *claims, const char *nonce, gint64 now,
		     GError **error)
{
	g_autoptr(WrOidcIdentity) identity = NULL;
	const char *claimed_nonce;
	const char *sub;

	g_return_val_if_fail(config != NULL && config->issuer != NULL, NULL);
	g_return_val_if_fail(config->client_id != NULL, NULL);
	g_return_val_if_fail(claims != NULL && nonce != NULL, NULL);

	if (!check_issuer(config, claims, error) || !check_audience(config, claims, error) ||
	    !check_times(config, claims, now, error))
		return NULL;
	claimed_nonce = wr_oidc_json_get_string(claims, "nonce");
	if (claimed_nonce == NULL || !equal_ct(claimed_nonce, nonce)) {
		g_set_error_literal(error, WR_OIDC_ERROR, WR_OIDC_ERROR_NONCE_MISMATCH,
				    "the sign-in token does not belong to this sign-in attempt; "
				    "please start again");
		return NULL;
	}
	sub = wr_oidc_json_get_string(claims, "sub");
	if (sub == NULL || sub[0] == '\0' || strlen(sub) > SUB_MAX_LEN) {
		g_set_error_literal(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
				    "the sign-in token does not name an account");
		return NULL;
	}
	if (!check_email(config, claims, error) || !check_groups(config, claims, error))
		return NULL;
	identity = g_new0(WrOidcIdentity, 1);
	identity->iss = g_strdup(wr_oidc_json_get_string(claims, "iss"));
	identity->sub = g_strdup(sub);
	identity->email = g_strdup(wr_oidc_json_get_string(claims, "email"));
	identity->name = g_strdup(wr_oidc_json_get_string(claims, "name"));
	identity->picture = g_strdup(wr_oidc_json_get_string(claims, "picture"));
	identity->hd = g_strdup(wr_oidc_json_get_string(claims, "hd"));
	return g_steal_pointer(&identity);
}

WrOidcIdentity *
wr_oidc_verify_id_token(const WrOidcConfig *config, const WrJwks *jwks, const char *token,
			gsize len, const char *nonce, gint64 now, GError **error)
{
	g_autoptr(WrJwt) jwt = wr_jwt_parse(token, len, error);

	if (jwt == NULL || !wr_jwt_verify(jwt, jwks, config->algs, error))
		return NULL;
	return wr_oidc_check_claims(config, wr_jwt_get_claims(jwt), nonce, now, error);
}
