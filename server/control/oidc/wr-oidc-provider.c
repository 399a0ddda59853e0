/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrOidc"

#include "config.h"

#include <string.h>

#include <gio/gio.h>

#include "wr-jwt.h"
#include "wr-oidc-json.h"
#include "wr-oidc-provider.h"

/* an OAuth error code shown on a page is at most this long */
#define ERROR_CODE_MAX 64

static gboolean
host_is_loopback(const char *host)
{
	g_autoptr(GInetAddress) address = NULL;

	if (g_ascii_strcasecmp(host, "localhost") == 0)
		return TRUE;
	address = g_inet_address_new_from_string(host);
	return address != NULL && g_inet_address_get_is_loopback(address);
}

gboolean
wr_oidc_url_check(const char *url, const char *what, GError **error)
{
	g_autoptr(GUri) uri = NULL;
	const char *scheme;
	const char *host;

	if (url == NULL || url[0] == '\0' || strlen(url) > WR_OIDC_URL_MAX) {
		g_set_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
			    "%s is missing or longer than %d characters", what, WR_OIDC_URL_MAX);
		return FALSE;
	}
	uri = g_uri_parse(url, G_URI_FLAGS_NONE, NULL);
	if (uri == NULL) {
		g_set_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
			    "%s is not an absolute URL", what);
		return FALSE;
	}
	scheme = g_uri_get_scheme(uri);
	host = g_uri_get_host(uri);
	if (host == NULL || host[0] == '\0' || g_uri_get_userinfo(uri) != NULL ||
	    g_uri_get_fragment(uri) != NULL) {
		g_set_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
			    "%s must name a host and have no user name or fragment", what);
		return FALSE;
	}
	if (g_ascii_strcasecmp(scheme, "https") == 0 ||
	    (g_ascii_strcasecmp(scheme, "http") == 0 && host_is_loopback(host)))
		return TRUE;
	g_set_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
		    "%s must be an https:// URL (http:// only on a loopback address)", what);
	return FALSE;
}

void
wr_oidc_discovery_free(WrOidcDiscovery *self)
{
	if (self == NULL)
		return;
	g_free(self->issuer);
	g_free(self->authorization_endpoint);
	g_free(self->token_endpoint);
	g_free(self->jwks_uri);
	g_free(self);
}

/* whether the array member @name of @object, if present, holds the string @value */
static gboolean
array_has(JsonObject *object, const char *name, const char *value, gboolean if_absent)
{
	JsonNode *node = json_object_get_member(object, name);
	JsonArray *array;

	if (node == NULL)
		return if_absent;
	if (!JSON_NODE_HOLDS_ARRAY(node))
		return FALSE;
	array = json_node_get_array(node);
	for (guint i = 0; i < json_array_get_length(array); i++) {
		JsonNode *e = json_array_get_element(array, i);

		if (JSON_NODE_HOLDS_VALUE(e) && json_node_get_value_type(e) == G_TYPE_STRING &&
		    g_strcmp0(json_node_get_string(e), value) == 0)
			return TRUE;
	}
	return FALSE;
}

static gboolean
read_url(JsonObject *doc, const char *name, char **out_url, GError **error)
{
	const char *url = wr_oidc_json_get_string(doc, name);
	g_autofree char *what = g_strdup_printf("the provider's %s", name);

	if (!wr_oidc_url_check(url, what, error))
		return FALSE;
	*out_url = g_strdup(url);
	return TRUE;
}

WrOidcDiscovery *
wr_oidc_discovery_parse(const char *data, gsize len, const char *issuer, GError **error)
{
	g_autoptr(JsonObject) doc = NULL;
	g_autoptr(WrOidcDiscovery) self = NULL;
	const char *doc_issuer;

	g_return_val_if_fail(issuer != NULL, NULL);

	if (len > WR_OIDC_DISCOVERY_MAX) {
		g_set_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
			    "the provider's discovery document is longer than %d bytes",
			    WR_OIDC_DISCOVERY_MAX);
		return NULL;
	}
	doc = wr_oidc_json_parse_object(data, len, "the provider's discovery document", FALSE,
					error);
	if (doc == NULL)
		return NULL;
	doc_issuer = wr_oidc_json_get_string(doc, "issuer");
	if (doc_issuer == NULL || strcmp(doc_issuer, issuer) != 0) {
		g_set_error_literal(error, WR_OIDC_ERROR, WR_OIDC_ERROR_WRONG_ISSUER,
				    "the provider's discovery document names another issuer than "
				    "the one configured");
		return NULL;
	}
	self = g_new0(WrOidcDiscovery, 1);
	self->issuer = g_strdup(doc_issuer);
	if (!read_url(doc, "authorization_endpoint", &self->authorization_endpoint, error) ||
	    !read_url(doc, "token_endpoint", &self->token_endpoint, error) ||
	    !read_url(doc, "jwks_uri", &self->jwks_uri, error))
		return NULL;
	if (!array_has(doc, "response_types_supported", "code", TRUE)) {
		g_set_error_literal(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
				    "the provider does not offer the authorization code flow");
		return NULL;
	}
	if (!array_has(doc, "code_challenge_methods_supported", "S256", TRUE)) {
		g_set_error_literal(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
				    "the provider does not offer PKCE with S256");
		return NULL;
	}
	return g_steal_pointer(&self);
}

/* whether @code is an OAuth error code (RFC 6749 §5.2: %x20-21 / %x23-5B / %x5D-7E) */
static gboolean
error_code_ok(const char *code)
{
	gsize len = strlen(code);

	if (len == 0 || len > ERROR_CODE_MAX)
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		guchar c = (guchar) code[i];

		if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
			return FALSE;
	}
	return TRUE;
}

char *
wr_oidc_token_response_parse(const char *data, gsize len, guint status, GError **error)
{
	g_autoptr(JsonObject) answer = NULL;
	const char *id_token;
	const char *token_type;

	if (len > WR_OIDC_TOKEN_RESPONSE_MAX) {
		g_set_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
			    "the provider's token answer is longer than %d bytes",
			    WR_OIDC_TOKEN_RESPONSE_MAX);
		return NULL;
	}
	if (status != 200) {
		g_autoptr(JsonObject) body =
			wr_oidc_json_parse_object(data, len, "the answer", FALSE, NULL);
		const char *code = body != NULL ? wr_oidc_json_get_string(body, "error") : NULL;

		if (code != NULL && error_code_ok(code))
			g_set_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_PROVIDER,
				    "the identity provider refused the sign-in code (%s, HTTP %u)",
				    code, status);
		else
			g_set_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_PROVIDER,
				    "the identity provider refused the sign-in code (HTTP %u)",
				    status);
		return NULL;
	}
	answer = wr_oidc_json_parse_object(data, len, "the provider's token answer", FALSE, error);
	if (answer == NULL)
		return NULL;
	token_type = wr_oidc_json_get_string(answer, "token_type");
	if (json_object_has_member(answer, "token_type") &&
	    (token_type == NULL || g_ascii_strcasecmp(token_type, "Bearer") != 0)) {
		g_set_error_literal(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
				    "the provider's token answer has an unknown token_type");
		return NULL;
	}
	id_token = wr_oidc_json_get_string(answer, "id_token");
	if (id_token == NULL || id_token[0] == '\0' || strlen(id_token) > WR_JWT_MAX_LEN) {
		g_set_error_literal(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
				    "the provider's token answer holds no ID token");
		return NULL;
	}
	return g_strdup(id_token);
}
