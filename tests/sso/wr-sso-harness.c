/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The relying party of warren-control mounted on a bare SoupServer on 127.0.0.1, for the
 * browser sign-in tests (tests/sso/run.mjs).  It stands in for the server core, which is not
 * under test here: every /a/<token> with a token of [A-Za-z0-9_-] is a pending login (except
 * "unknown-…", which gets the core's error page), the complete hook accepts every login but
 * "refuse-…", and both hooks record what they heard, served as JSON at GET /test/result.
 * Prints "RP_READY {"url": …}" once it listens; ends on SIGTERM or SIGINT.
 */

#define G_LOG_DOMAIN "WrSsoHarness"

#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <glib-unix.h>
#include <json-glib/json-glib.h>

#include "wr-crypto.h"
#include "wr-oidc-rp.h"

#define TOKEN_MAX 64

typedef struct {
	JsonArray *complete;
	JsonArray *failed;
} Results;

static gboolean
complete_cb(const char *login_token, const WrOidcIdentity *identity, gpointer user_data,
	    GError **error)
{
	Results *results = user_data;
	JsonObject *o = json_object_new();

	json_object_set_string_member(o, "login_token", login_token);
	json_object_set_string_member(o, "iss", identity->iss);
	json_object_set_string_member(o, "sub", identity->sub);
	json_object_set_string_member(o, "email", identity->email);
	json_object_set_string_member(o, "name", identity->name);
	json_object_set_string_member(o, "hd", identity->hd);
	json_array_add_object_element(results->complete, o);
	if (g_str_has_prefix(login_token, "refuse-")) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
				    "This device may not join: the harness refuses it.");
		return FALSE;
	}
	return TRUE;
}

static void
failed_cb(const char *login_token, const GError *error, gpointer user_data)
{
	Results *results = user_data;
	JsonObject *o = json_object_new();

	json_object_set_string_member(o, "login_token", login_token);
	json_object_set_string_member(
		o, "code",
		error->domain == WR_OIDC_ERROR ? wr_oidc_error_to_string(error->code) : "other");
	json_object_set_string_member(o, "message", error->message);
	json_array_add_object_element(results->failed, o);
}

static gboolean
token_ok(const char *token)
{
	gsize len = strlen(token);

	if (len == 0 || len > TOKEN_MAX)
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (!g_ascii_isalnum(token[i]) && token[i] != '-' && token[i] != '_')
			return FALSE;
	}
	return TRUE;
}

static void
login_cb(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
	 gpointer user_data)
{
	WrOidcRp *rp = user_data;
	const char *token = path + strlen("/a/");

	if (!g_str_has_prefix(path, "/a/") || !token_ok(token) ||
	    g_str_has_prefix(token, "unknown-")) {
		wr_oidc_rp_render_page(msg, SOUP_STATUS_NOT_FOUND, "Unknown sign-in link",
				       "This sign-in link is unknown or has expired <b>.");
		return;
	}
	wr_oidc_rp_begin(rp, msg, token);
}

static void
callback_cb(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
	    gpointer user_data)
{
	wr_oidc_rp_callback(user_data, msg);
}

static void
result_cb(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
	  gpointer user_data)
{
	Results *results = user_data;
	g_autoptr(JsonObject) o = json_object_new();
	g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
	char *text;

	json_object_set_array_member(o, "complete", json_array_ref(results->complete));
	json_object_set_array_member(o, "failed", json_array_ref(results->failed));
	json_node_set_object(node, o);
	text = json_to_string(node, FALSE);
	soup_server_message_set_status(msg, SOUP_STATUS_OK, NULL);
	soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_TAKE, text,
					 strlen(text));
}

static gboolean
quit_cb(gpointer data)
{
	g_main_loop_quit(data);
	return G_SOURCE_REMOVE;
}

int
main(int argc, char *argv[])
{
	g_autofree char *issuer = NULL;
	g_autofree char *client_id = NULL;
	g_autofree char *client_secret = NULL;
	g_auto(GStrv) allowed_domains = NULL;
	g_auto(GStrv) allowed_groups = NULL;
	gint port = 0;
	gint login_timeout = 0;
	const GOptionEntry entries[] = {
		{"issuer", 0, 0, G_OPTION_ARG_STRING, &issuer, "the provider", "URL"},
		{"client-id", 0, 0, G_OPTION_ARG_STRING, &client_id, "client id", "ID"},
		{"client-secret", 0, 0, G_OPTION_ARG_STRING, &client_secret, "secret", "S"},
		{"port", 0, 0, G_OPTION_ARG_INT, &port, "port on 127.0.0.1 (0: any)", "N"},
		{"allowed-domain", 0, 0, G_OPTION_ARG_STRING_ARRAY, &allowed_domains,
		 "allowed hosted domain (hd)", "D"},
		{"allowed-group", 0, 0, G_OPTION_ARG_STRING_ARRAY, &allowed_groups, "allowed group",
		 "G"},
		{"login-timeout", 0, 0, G_OPTION_ARG_INT, &login_timeout, "seconds", "N"},
		{NULL},
	};
	g_autoptr(GOptionContext) options =
		g_option_context_new("- warren-control's RP on loopback");
	g_autoptr(GError) error = NULL;
	g_autoptr(SoupServer) server = NULL;
	g_autoptr(GMainLoop) loop = NULL;
	g_autoptr(WrOidcRp) rp = NULL;
	g_autofree char *redirect_uri = NULL;
	g_autofree char *url = NULL;
	GSList *uris;
	Results results = {json_array_new(), json_array_new()};
	WrOidcRpSettings settings = {NULL};

	g_option_context_add_main_entries(options, entries, NULL);
	if (!g_option_context_parse(options, &argc, &argv, &error)) {
		g_printerr("wr-sso-harness: %s\n", error->message);
		return 2;
	}
	if (issuer == NULL || client_id == NULL || client_secret == NULL) {
		g_printerr(
			"wr-sso-harness: --issuer, --client-id and --client-secret are needed\n");
		return 2;
	}
	if (!wr_crypto_init()) {
		g_printerr("wr-sso-harness: libsodium does not start\n");
		return 1;
	}
	server = soup_server_new("server-header", "warren-sso-harness ", NULL);
	if (!soup_server_listen_local(server, (guint) port, SOUP_SERVER_LISTEN_IPV4_ONLY, &error)) {
		g_printerr("wr-sso-harness: cannot listen: %s\n", error->message);
		return 1;
	}
	uris = soup_server_get_uris(server);
	url = g_strdup_printf("http://127.0.0.1:%d", g_uri_get_port(uris->data));
	g_slist_free_full(uris, (GDestroyNotify) g_uri_unref);
	redirect_uri = g_strconcat(url, "/oidc/callback", NULL);

	settings.issuer = issuer;
	settings.client_id = client_id;
	settings.client_secret = client_secret;
	settings.redirect_uri = redirect_uri;
	settings.login_timeout = login_timeout;
	settings.allowed_groups = (const char *const *) allowed_groups;
	wr_oidc_config_init(&settings.rules, issuer, client_id);
	settings.rules.allowed_hosted_domains = (const char *const *) allowed_domains;
	rp = wr_oidc_rp_new(&settings, complete_cb, failed_cb, &results, &error);
	if (rp == NULL) {
		g_printerr("wr-sso-harness: %s\n", error->message);
		return 2;
	}
	soup_server_add_handler(server, "/a", login_cb, rp, NULL);
	soup_server_add_handler(server, "/oidc/callback", callback_cb, rp, NULL);
	soup_server_add_handler(server, "/test/result", result_cb, &results, NULL);

	loop = g_main_loop_new(NULL, FALSE);
	g_unix_signal_add(SIGTERM, quit_cb, loop);
	g_unix_signal_add(SIGINT, quit_cb, loop);
	g_print("RP_READY {\"url\":\"%s\"}\n", url);
	fflush(stdout);
	g_main_loop_run(loop);
	g_clear_pointer(&rp, wr_oidc_rp_free);
	soup_server_disconnect(server);
	json_array_unref(results.complete);
	json_array_unref(results.failed);
	return 0;
}
