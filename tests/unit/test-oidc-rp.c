/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The relying party (server/control/app/wr-oidc-rp) against a scripted provider on 127.0.0.1
 * that signs RS256 ID tokens with a key made at start, driven by a libsoup client that keeps
 * its own cookie: what the browser suite (tests/sso) cannot easily show: the exact
 * authorization request, the token request's Basic auth and PKCE verifier, discovery failures
 * and their backoff, oversized answers, bad callbacks, the per-login bound of the pending
 * table, the settings check and freeing the RP with a sign-in under way.  With the build
 * tree's catalogues ($WARREN_LOCALEDIR, set by meson), the pages in the browser's language.
 */

#define G_LOG_DOMAIN "WrOidcRpTest"

#include "config.h"

#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

#include "wr-b64url.h"
#include "wr-crypto.h"
#include "wr-oidc-rp.h"
#include "wr-test-util.h"

#define CLIENT_ID     "warren test"
#define CLIENT_SECRET "s:cret/+"
/* CLIENT_ID ":" CLIENT_SECRET, each form-encoded (RFC 6749 §2.3.1), in base64 */
#define BASIC_AUTH \
	"Basic " /* "warren%20test:s%3Acret%2F%2B" */ "d2FycmVuJTIwdGVzdDpzJTNBY3JldCUyRiUyQg=="
#define CODE "the-code"

typedef struct {
	SoupServer *idp;
	char *issuer;
	SoupServer *server;
	char *url;
	WrOidcRp *rp;
	SoupSession *client;
	gnutls_privkey_t key;
	char *jwks;

	/* the scripted provider */
	guint discovery_status;
	const char *doc_issuer;
	gboolean hold_discovery;
	SoupServerMessage *held;
	guint token_status;
	gboolean token_huge;
	guint n_discovery;
	guint n_jwks;
	guint n_token;
	char *auth_header;
	char *nonce;	 /* from the authorization URL */
	char *challenge; /* likewise */
	gboolean verifier_ok;

	/* the browser */
	const char *accept_language; /* sent when set */
	WrL10n *l10n;		     /* $WARREN_LOCALEDIR's catalogues, or NULL */

	/* the hooks */
	GPtrArray *completed; /* login tokens */
	GPtrArray *failed;    /* "token code" */
} Fixture;

/* ---- signing ---- */

static char *
b64_datum(const gnutls_datum_t *d)
{
	guint skip = 0;

	while (skip < d->size && d->data[skip] == 0)
		skip++;
	return wr_b64url_encode(d->data + skip, d->size - skip);
}

static char *
make_jwks(gnutls_privkey_t key)
{
	gnutls_pubkey_t pub = NULL;
	gnutls_datum_t n = {NULL, 0};
	gnutls_datum_t e = {NULL, 0};
	g_autofree char *n_text = NULL;
	g_autofree char *e_text = NULL;

	g_assert_cmpint(gnutls_pubkey_init(&pub), ==, 0);
	g_assert_cmpint(gnutls_pubkey_import_privkey(pub, key, 0, 0), ==, 0);
	g_assert_cmpint(gnutls_pubkey_export_rsa_raw2(pub, &n, &e, 0), ==, 0);
	n_text = b64_datum(&n);
	e_text = b64_datum(&e);
	gnutls_free(n.data);
	gnutls_free(e.data);
	gnutls_pubkey_deinit(pub);
	return g_strdup_printf("{\"keys\":[{\"kty\":\"RSA\",\"use\":\"sig\",\"kid\":\"k1\","
			       "\"alg\":\"RS256\",\"n\":\"%s\",\"e\":\"%s\"}]}",
			       n_text, e_text);
}

static char *
b64_text(const char *text)
{
	return wr_b64url_encode((const guint8 *) text, strlen(text));
}

static char *
make_id_token(Fixture *f)
{
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	g_autofree char *claims = g_strdup_printf(
		"{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"alice-sub\",\"email\":"
		"\"alice@example.com\",\"email_verified\":true,\"iat\":%" G_GINT64_FORMAT
		",\"exp\":%" G_GINT64_FORMAT ",\"nonce\":\"%s\"}",
		f->issuer, CLIENT_ID, now, now + 300, f->nonce);
	g_autofree char *h = b64_text("{\"alg\":\"RS256\",\"kid\":\"k1\",\"typ\":\"JWT\"}");
	g_autofree char *p = b64_text(claims);
	g_autofree char *signed_part = g_strdup_printf("%s.%s", h, p);
	gnutls_datum_t in = {(unsigned char *) signed_part, (unsigned int) strlen(signed_part)};
	gnutls_datum_t sig = {NULL, 0};
	g_autofree char *s = NULL;

	g_assert_cmpint(gnutls_privkey_sign_data2(f->key, GNUTLS_SIGN_RSA_SHA256, 0, &in, &sig), ==,
			0);
	s = wr_b64url_encode(sig.data, sig.size);
	gnutls_free(sig.data);
	return g_strdup_printf("%s.%s", signed_part, s);
}

/* ---- the scripted provider ---- */

static void
respond(SoupServerMessage *msg, guint status, const char *body)
{
	soup_server_message_set_status(msg, status, NULL);
	soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_COPY, body,
					 strlen(body));
}

static void
token_endpoint(Fixture *f, SoupServerMessage *msg)
{
	SoupMessageBody *body = soup_server_message_get_request_body(msg);
	g_autoptr(GHashTable) form = NULL;
	g_autofree char *id_token = NULL;
	g_autofree char *answer = NULL;
	const char *verifier;

	f->n_token++;
	g_free(f->auth_header);
	f->auth_header = g_strdup(soup_message_headers_get_one(
		soup_server_message_get_request_headers(msg), "Authorization"));
	form = g_uri_parse_params(body->data, (gssize) body->length, "&", G_URI_PARAMS_WWW_FORM,
				  NULL);
	g_assert_nonnull(form);
	if (f->token_huge) {
		g_autofree char *pad = g_strnfill(100 * 1024, 'x');

		answer = g_strdup_printf("{\"pad\":\"%s\"}", pad);
		respond(msg, SOUP_STATUS_OK, answer);
		return;
	}
	if (f->token_status != SOUP_STATUS_OK) {
		respond(msg, f->token_status,
			"{\"error\":\"invalid_grant\",\"error_description\":\"do not show me\"}");
		return;
	}
	/* PKCE: the verifier must hash to the challenge the authorization request carried */
	verifier = g_hash_table_lookup(form, "code_verifier");
	if (verifier != NULL) {
		g_autoptr(GChecksum) sha = g_checksum_new(G_CHECKSUM_SHA256);
		guint8 digest[32];
		gsize len = sizeof(digest);
		g_autofree char *challenge = NULL;

		g_checksum_update(sha, (const guchar *) verifier, (gssize) strlen(verifier));
		g_checksum_get_digest(sha, digest, &len);
		challenge = wr_b64url_encode(digest, len);
		f->verifier_ok = strlen(verifier) == 43 && g_strcmp0(challenge, f->challenge) == 0;
	}
	g_assert_cmpstr(g_hash_table_lookup(form, "grant_type"), ==, "authorization_code");
	g_assert_cmpstr(g_hash_table_lookup(form, "code"), ==, CODE);
	id_token = make_id_token(f);
	answer = g_strdup_printf("{\"access_token\":\"at\",\"token_type\":\"Bearer\","
				 "\"expires_in\":3599,\"id_token\":\"%s\"}",
				 id_token);
	respond(msg, SOUP_STATUS_OK, answer);
}

static void
idp_cb(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
       gpointer user_data)
{
	Fixture *f = user_data;

	if (strcmp(path, "/.well-known/openid-configuration") == 0) {
		g_autofree char *doc = NULL;

		f->n_discovery++;
		if (f->hold_discovery) {
			f->held = g_object_ref(msg);
			soup_server_message_pause(msg);
			return;
		}
		doc = g_strdup_printf("{\"issuer\":\"%s\",\"authorization_endpoint\":\"%s/auth?"
				      "prompt=select_account\",\"token_endpoint\":\"%s/token\","
				      "\"jwks_uri\":\"%s/jwks\",\"response_types_supported\":"
				      "[\"code\"]}",
				      f->doc_issuer != NULL ? f->doc_issuer : f->issuer, f->issuer,
				      f->issuer, f->issuer);
		respond(msg, f->discovery_status, doc);
	} else if (strcmp(path, "/jwks") == 0) {
		f->n_jwks++;
		respond(msg, SOUP_STATUS_OK, f->jwks);
	} else if (strcmp(path, "/token") == 0) {
		token_endpoint(f, msg);
	} else {
		respond(msg, SOUP_STATUS_NOT_FOUND, "{}");
	}
}

/* ---- the RP's server and its hooks ---- */

static gboolean
complete_cb(const char *login_token, const WrOidcIdentity *identity, gpointer user_data,
	    GError **error)
{
	Fixture *f = user_data;

	g_assert_cmpstr(identity->sub, ==, "alice-sub");
	g_assert_cmpstr(identity->iss, ==, f->issuer);
	g_ptr_array_add(f->completed, g_strdup(login_token));
	return TRUE;
}

static void
failed_cb(const char *login_token, const GError *error, gpointer user_data)
{
	Fixture *f = user_data;

	g_ptr_array_add(f->failed, g_strdup_printf("%s %s", login_token,
						   wr_oidc_error_to_string(error->code)));
}

static void
rp_cb(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
      gpointer user_data)
{
	Fixture *f = user_data;

	if (g_str_has_prefix(path, "/a/"))
		wr_oidc_rp_begin(f->rp, msg, path + 3);
	else if (strcmp(path, "/oidc/callback") == 0)
		wr_oidc_rp_callback(f->rp, msg);
	else
		wr_oidc_rp_render_page(msg, SOUP_STATUS_NOT_FOUND, "Not found", "<nothing>");
}

static char *
listen_local(SoupServer *server)
{
	g_autoptr(GError) error = NULL;
	GSList *uris;
	char *url;

	g_assert_true(soup_server_listen_local(server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error));
	g_assert_no_error(error);
	uris = soup_server_get_uris(server);
	url = g_strdup_printf("http://127.0.0.1:%d", g_uri_get_port(uris->data));
	g_slist_free_full(uris, (GDestroyNotify) g_uri_unref);
	return url;
}

static void
fixture_setup(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *redirect = NULL;
	WrOidcRpSettings settings = {NULL};

	g_assert_cmpint(gnutls_privkey_init(&f->key), ==, 0);
	g_assert_cmpint(gnutls_privkey_generate2(f->key, GNUTLS_PK_RSA, 2048, 0, NULL, 0), ==, 0);
	f->jwks = make_jwks(f->key);
	f->discovery_status = SOUP_STATUS_OK;
	f->token_status = SOUP_STATUS_OK;
	f->completed = g_ptr_array_new_with_free_func(g_free);
	f->failed = g_ptr_array_new_with_free_func(g_free);
	f->idp = soup_server_new(NULL, NULL);
	soup_server_add_handler(f->idp, NULL, idp_cb, f, NULL);
	f->issuer = listen_local(f->idp);
	f->server = soup_server_new(NULL, NULL);
	soup_server_add_handler(f->server, NULL, rp_cb, f, NULL);
	f->url = listen_local(f->server);
	redirect = g_strconcat(f->url, "/oidc/callback", NULL);
	settings.issuer = f->issuer;
	settings.client_id = CLIENT_ID;
	settings.client_secret = CLIENT_SECRET;
	settings.redirect_uri = redirect;
	wr_oidc_config_init(&settings.rules, NULL, NULL);
	if (g_getenv("WARREN_LOCALEDIR") != NULL)
		f->l10n = wr_l10n_new(g_getenv("WARREN_LOCALEDIR"), GETTEXT_PACKAGE);
	settings.l10n = f->l10n;
	f->rp = wr_oidc_rp_new(&settings, complete_cb, failed_cb, f, &error);
	g_assert_no_error(error);
	g_assert_nonnull(f->rp);
	f->client = soup_session_new();
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
	g_clear_pointer(&f->rp, wr_oidc_rp_free);
	g_clear_pointer(&f->l10n, wr_l10n_unref);
	if (f->held != NULL) {
		respond(f->held, SOUP_STATUS_SERVICE_UNAVAILABLE, "{}");
		soup_server_message_unpause(f->held);
		g_clear_object(&f->held);
	}
	while (g_main_context_iteration(NULL, FALSE))
		;
	g_clear_object(&f->client);
	soup_server_disconnect(f->server);
	soup_server_disconnect(f->idp);
	g_clear_object(&f->server);
	g_clear_object(&f->idp);
	gnutls_privkey_deinit(f->key);
	g_free(f->jwks);
	g_free(f->issuer);
	g_free(f->url);
	g_free(f->auth_header);
	g_free(f->nonce);
	g_free(f->challenge);
	g_ptr_array_unref(f->completed);
	g_ptr_array_unref(f->failed);
}

/* ---- the client ---- */

typedef struct {
	guint status;
	char *body;
	char *location;
	char *set_cookie;
	char *content_language;
} Reply;

static void
reply_free(Reply *r)
{
	g_free(r->body);
	g_free(r->location);
	g_free(r->set_cookie);
	g_free(r->content_language);
	g_free(r);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Reply, reply_free)

static void
sent_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
	GBytes **out = user_data;
	g_autoptr(GError) error = NULL;

	*out = soup_session_send_and_read_finish(SOUP_SESSION(source), result, &error);
	g_assert_no_error(error);
}

static Reply *
request(Fixture *f, const char *method, const char *path, const char *cookie)
{
	g_autofree char *url = g_strconcat(f->url, path, NULL);
	g_autoptr(SoupMessage) msg = soup_message_new(method, url);
	g_autoptr(GBytes) body = NULL;
	SoupMessageHeaders *headers;
	Reply *r = g_new0(Reply, 1);

	g_assert_nonnull(msg);
	soup_message_add_flags(msg, SOUP_MESSAGE_NO_REDIRECT);
	if (cookie != NULL)
		soup_message_headers_append(soup_message_get_request_headers(msg), "Cookie",
					    cookie);
	if (f->accept_language != NULL)
		soup_message_headers_append(soup_message_get_request_headers(msg),
					    "Accept-Language", f->accept_language);
	soup_session_send_and_read_async(f->client, msg, G_PRIORITY_DEFAULT, NULL, sent_cb, &body);
	while (body == NULL)
		g_main_context_iteration(NULL, TRUE);
	headers = soup_message_get_response_headers(msg);
	r->status = soup_message_get_status(msg);
	r->body = g_strndup(g_bytes_get_data(body, NULL), g_bytes_get_size(body));
	r->location = g_strdup(soup_message_headers_get_one(headers, "Location"));
	r->set_cookie = g_strdup(soup_message_headers_get_list(headers, "Set-Cookie"));
	r->content_language = g_strdup(soup_message_headers_get_one(headers, "Content-Language"));
	return r;
}

/* the page's reason code, or NULL */
static char *
page_reason(const Reply *r)
{
	const char *start = strstr(r->body, "<code id=\"reason\">");
	const char *end;

	if (start == NULL)
		return NULL;
	start += strlen("<code id=\"reason\">");
	end = strchr(start, '<');
	return end != NULL ? g_strndup(start, (gsize) (end - start)) : NULL;
}

typedef struct {
	char *state;
	char *cookie; /* name=value */
} Started;

static void
started_clear(Started *s)
{
	g_free(s->state);
	g_free(s->cookie);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Started, started_clear)

/* GET /a/<token>: checks the redirect and returns its state and cookie */
static void
begin(Fixture *f, const char *login_token, Started *out)
{
	g_autofree char *path = g_strconcat("/a/", login_token, NULL);
	g_autoptr(Reply) r = request(f, "GET", path, NULL);
	g_autofree char *auth_prefix = g_strconcat(f->issuer, "/auth?prompt=select_account&", NULL);
	g_autofree char *redirect = g_strconcat(f->url, "/oidc/callback", NULL);
	g_autoptr(GUri) uri = NULL;
	g_autoptr(GHashTable) params = NULL;
	char *semicolon;

	g_assert_cmpuint(r->status, ==, SOUP_STATUS_FOUND);
	g_assert_nonnull(r->location);
	/* the endpoint's own query is kept */
	g_assert_true(g_str_has_prefix(r->location, auth_prefix));
	uri = g_uri_parse(r->location, G_URI_FLAGS_NONE, NULL);
	params = g_uri_parse_params(g_uri_get_query(uri), -1, "&", G_URI_PARAMS_NONE, NULL);
	g_assert_cmpstr(g_hash_table_lookup(params, "response_type"), ==, "code");
	g_assert_cmpstr(g_hash_table_lookup(params, "client_id"), ==, CLIENT_ID);
	g_assert_cmpstr(g_hash_table_lookup(params, "redirect_uri"), ==, redirect);
	g_assert_cmpstr(g_hash_table_lookup(params, "scope"), ==, "openid email profile");
	g_assert_cmpstr(g_hash_table_lookup(params, "code_challenge_method"), ==, "S256");
	g_assert_cmpuint(strlen(g_hash_table_lookup(params, "state")), ==, 43);
	g_assert_cmpuint(strlen(g_hash_table_lookup(params, "nonce")), ==, 43);
	g_assert_cmpuint(strlen(g_hash_table_lookup(params, "code_challenge")), ==, 43);
	g_free(f->nonce);
	f->nonce = g_strdup(g_hash_table_lookup(params, "nonce"));
	g_free(f->challenge);
	f->challenge = g_strdup(g_hash_table_lookup(params, "code_challenge"));

	g_assert_nonnull(r->set_cookie);
	g_assert_true(g_str_has_prefix(r->set_cookie, "wr_sso_"));
	g_assert_nonnull(strstr(r->set_cookie, "; Path=/oidc/callback; Max-Age=600; HttpOnly; "
					       "SameSite=Lax"));
	g_assert_null(strstr(r->set_cookie, "Secure"));
	out->state = g_strdup(g_hash_table_lookup(params, "state"));
	out->cookie = g_strdup(r->set_cookie);
	semicolon = strchr(out->cookie, ';');
	*semicolon = '\0';
}

static Reply *
callback(Fixture *f, const char *query, const char *cookie)
{
	g_autofree char *path = g_strconcat("/oidc/callback", query, NULL);

	return request(f, "GET", path, cookie);
}

static void
expect_page(const Reply *r, guint status, const char *reason)
{
	g_autofree char *got = page_reason(r);

	g_test_message("HTTP %u, reason %s", r->status, got);
	g_assert_cmpuint(r->status, ==, status);
	g_assert_cmpstr(got, ==, reason);
	g_assert_nonnull(strstr(r->body, "<!DOCTYPE html>"));
}

/* ---- the tests ---- */

static void
test_flow(Fixture *f, gconstpointer data)
{
	g_auto(Started) s = {NULL};
	g_autofree char *query = NULL;
	g_autoptr(Reply) r = NULL;
	g_autoptr(Reply) again = NULL;

	begin(f, "login-1", &s);
	g_assert_cmpuint(f->n_discovery, ==, 1);
	g_assert_cmpuint(f->n_jwks, ==, 0);
	/* extra parameters, as Google sends, are ignored */
	query = g_strdup_printf("?code=%s&state=%s&iss=%s&authuser=0&scope=openid+email", CODE,
				s.state, f->issuer);
	r = callback(f, query, s.cookie);
	expect_page(r, SOUP_STATUS_OK, NULL);
	g_assert_nonnull(strstr(r->body, "id=\"wr-signed-in\""));
	g_assert_nonnull(strstr(r->body, "alice@example.com"));
	g_assert_cmpstr(f->auth_header, ==, BASIC_AUTH);
	g_assert_true(f->verifier_ok);
	g_assert_cmpuint(f->completed->len, ==, 1);
	g_assert_cmpstr(f->completed->pdata[0], ==, "login-1");
	g_assert_cmpuint(f->failed->len, ==, 0);
	/* the binding cookie is removed */
	g_assert_nonnull(r->set_cookie);
	g_assert_nonnull(strstr(r->set_cookie, "Max-Age=0"));

	/* the same answer again: spent, and the code is not sent twice */
	again = callback(f, query, s.cookie);
	expect_page(again, SOUP_STATUS_BAD_REQUEST, "bad-request");
	g_assert_cmpuint(f->n_token, ==, 1);
	g_assert_cmpuint(f->completed->len, ==, 1);
	/* discovery and keys are cached */
	g_clear_pointer(&r, reply_free);
	{
		g_auto(Started) s2 = {NULL};
		g_autofree char *q2 = NULL;

		begin(f, "login-2", &s2);
		q2 = g_strdup_printf("?code=%s&state=%s", CODE, s2.state);
		r = callback(f, q2, s2.cookie);
		expect_page(r, SOUP_STATUS_OK, NULL);
	}
	g_assert_cmpuint(f->n_discovery, ==, 1);
	g_assert_cmpuint(f->n_jwks, ==, 1);
	g_assert_cmpuint(f->completed->len, ==, 2);
}

static void
test_discovery_failure(Fixture *f, gconstpointer data)
{
	g_autoptr(Reply) r = NULL;

	f->discovery_status = SOUP_STATUS_INTERNAL_SERVER_ERROR;
	r = request(f, "GET", "/a/login-1", NULL);
	expect_page(r, SOUP_STATUS_BAD_GATEWAY, "provider");
	g_assert_null(r->set_cookie);
	g_assert_cmpuint(f->n_discovery, ==, 1);
	/* backing off: no second request to the provider yet */
	g_clear_pointer(&r, reply_free);
	f->discovery_status = SOUP_STATUS_OK;
	r = request(f, "GET", "/a/login-1", NULL);
	expect_page(r, SOUP_STATUS_BAD_GATEWAY, "provider");
	g_assert_cmpuint(f->n_discovery, ==, 1);
	g_assert_cmpuint(f->failed->len, ==, 0);
}

static void
test_discovery_wrong_issuer(Fixture *f, gconstpointer data)
{
	g_autoptr(Reply) r = NULL;

	f->doc_issuer = "https://evil.example.com";
	r = request(f, "GET", "/a/login-1", NULL);
	expect_page(r, SOUP_STATUS_BAD_GATEWAY, "wrong-issuer");
}

static void
test_token_refused(Fixture *f, gconstpointer data)
{
	g_auto(Started) s = {NULL};
	g_autofree char *query = NULL;
	g_autoptr(Reply) r = NULL;

	f->token_status = SOUP_STATUS_BAD_REQUEST;
	begin(f, "login-1", &s);
	query = g_strdup_printf("?code=%s&state=%s", CODE, s.state);
	r = callback(f, query, s.cookie);
	expect_page(r, SOUP_STATUS_BAD_GATEWAY, "provider");
	g_assert_nonnull(strstr(r->body, "invalid_grant"));
	g_assert_null(strstr(r->body, "do not show me"));
	g_assert_cmpuint(f->failed->len, ==, 1);
	g_assert_cmpstr(f->failed->pdata[0], ==, "login-1 provider");
	g_assert_cmpuint(f->completed->len, ==, 0);
}

static void
test_token_huge(Fixture *f, gconstpointer data)
{
	g_auto(Started) s = {NULL};
	g_autofree char *query = NULL;
	g_autoptr(Reply) r = NULL;

	f->token_huge = TRUE;
	begin(f, "login-1", &s);
	query = g_strdup_printf("?code=%s&state=%s", CODE, s.state);
	r = callback(f, query, s.cookie);
	expect_page(r, SOUP_STATUS_BAD_GATEWAY, "provider");
	g_assert_nonnull(strstr(r->body, "longer than"));
	g_assert_cmpuint(f->completed->len, ==, 0);
}

static void
test_bad_callbacks(Fixture *f, gconstpointer data)
{
	g_auto(Started) s = {NULL};
	g_autofree char *q = NULL;
	Reply *r;

	begin(f, "login-1", &s);
	/* none of these spends the sign-in or calls a hook */
	r = request(f, "POST", "/oidc/callback", NULL);
	expect_page(r, SOUP_STATUS_METHOD_NOT_ALLOWED, "bad-request");
	reply_free(r);
	r = callback(f, "", s.cookie);
	expect_page(r, SOUP_STATUS_BAD_REQUEST, "bad-request");
	reply_free(r);
	q = g_strdup_printf("?code=%s&state=%s&state=%s", CODE, s.state, s.state);
	r = callback(f, q, s.cookie);
	expect_page(r, SOUP_STATUS_BAD_REQUEST, "bad-request");
	reply_free(r);
	g_free(q);
	q = g_strdup_printf("?code=%s&state=%s", CODE, s.state);
	r = callback(f, q, NULL);
	expect_page(r, SOUP_STATUS_FORBIDDEN, "bad-request");
	reply_free(r);
	r = callback(f, q, "wr_sso_x=y; other=1");
	expect_page(r, SOUP_STATUS_FORBIDDEN, "bad-request");
	reply_free(r);
	r = callback(f, "?error=server_error&state=nope", NULL);
	expect_page(r, SOUP_STATUS_BAD_GATEWAY, "provider");
	g_assert_nonnull(strstr(r->body, "server_error"));
	reply_free(r);
	r = callback(f, "?error=%3Cscript%3E&state=nope", NULL);
	expect_page(r, SOUP_STATUS_BAD_GATEWAY, "provider");
	g_assert_null(strstr(r->body, "<script>"));
	reply_free(r);
	g_assert_cmpuint(f->failed->len, ==, 0);
	g_assert_cmpuint(f->n_token, ==, 0);

	/* RFC 9207: another issuer spends it, and the core hears why */
	g_free(q);
	q = g_strdup_printf("?code=%s&state=%s&iss=https%%3A%%2F%%2Fevil.example.com", CODE,
			    s.state);
	r = callback(f, q, s.cookie);
	expect_page(r, SOUP_STATUS_BAD_GATEWAY, "wrong-issuer");
	reply_free(r);
	g_assert_cmpuint(f->failed->len, ==, 1);
	g_assert_cmpstr(f->failed->pdata[0], ==, "login-1 wrong-issuer");
	r = callback(f, q, s.cookie);
	expect_page(r, SOUP_STATUS_BAD_REQUEST, "bad-request");
	reply_free(r);
	g_assert_cmpuint(f->n_token, ==, 0);
	g_assert_cmpuint(f->completed->len, ==, 0);
}

static void
test_cancelled(Fixture *f, gconstpointer data)
{
	g_auto(Started) s = {NULL};
	g_auto(Started) s2 = {NULL};
	g_autofree char *q = NULL;
	Reply *r;

	begin(f, "login-1", &s);
	q = g_strdup_printf("?error=access_denied&state=%s", s.state);
	r = callback(f, q, s.cookie);
	expect_page(r, SOUP_STATUS_FORBIDDEN, "cancelled");
	g_assert_nonnull(strstr(r->body, "Sign-in cancelled"));
	reply_free(r);
	g_assert_cmpuint(f->failed->len, ==, 1);
	g_assert_cmpstr(f->failed->pdata[0], ==, "login-1 cancelled");
	/* no code: spent, and the core hears of it */
	begin(f, "login-2", &s2);
	g_free(q);
	q = g_strdup_printf("?state=%s", s2.state);
	r = callback(f, q, s2.cookie);
	expect_page(r, SOUP_STATUS_BAD_REQUEST, "bad-request");
	reply_free(r);
	g_assert_cmpuint(f->failed->len, ==, 2);
	g_assert_cmpstr(f->failed->pdata[1], ==, "login-2 bad-request");
}

static void
expect_language(const Reply *r, const char *tag, const char *title)
{
	g_autofree char *lang = g_strdup_printf("<html lang=\"%s\">", tag);
	g_autofree char *got = html_text_of_id(r->body, "title");

	g_test_message("Content-Language %s, title %s", r->content_language, got);
	g_assert_cmpstr(r->content_language, ==, tag);
	g_assert_nonnull(strstr(r->body, lang));
	g_assert_cmpstr(got, ==, title);
}

/* the pages speak what Accept-Language asks for, from the real catalogues of po/ */
static void
test_languages(Fixture *f, gconstpointer data)
{
	g_auto(Started) s = {NULL};
	g_autofree char *q = NULL;
	g_autofree char *message = NULL;
	g_autofree char *detail = NULL;
	Reply *r;

	if (f->l10n == NULL || !g_strv_contains(wr_l10n_get_languages(f->l10n), "zh_CN") ||
	    !g_strv_contains(wr_l10n_get_languages(f->l10n), "de")) {
		g_test_skip("no zh_CN and de catalogues in $WARREN_LOCALEDIR");
		return;
	}
	/* a browser set to Chinese signs in */
	f->accept_language = "zh-CN,zh;q=0.9,en;q=0.8";
	begin(f, "login-1", &s);
	q = g_strdup_printf("?code=%s&state=%s", CODE, s.state);
	r = callback(f, q, s.cookie);
	expect_page(r, SOUP_STATUS_OK, NULL);
	expect_language(r, "zh-CN", "已登录");
	message = html_text_of_id(r->body, "message");
	g_assert_nonnull(strstr(message, "alice@example.com"));
	g_assert_nonnull(strstr(message, "关闭"));
	reply_free(r);

	/* German by q-value, though listed last; a sign-in spent already is explained in German */
	f->accept_language = "fr;q=0.2, en;q=0.5, de-AT;q=0.9";
	r = callback(f, q, s.cookie);
	expect_page(r, SOUP_STATUS_BAD_REQUEST, "bad-request");
	expect_language(r, "de", "Anmeldung fehlgeschlagen");
	g_clear_pointer(&message, g_free);
	message = html_text_of_id(r->body, "message");
	g_assert_nonnull(strstr(message, "Gerät"));
	g_assert_nonnull(strstr(r->body, "Grund:"));
	reply_free(r);

	/* a message only English has (it quotes the provider): a German explanation, the
	 * English words as the detail, escaped */
	r = callback(f, "?error=server_error&state=nope", NULL);
	expect_page(r, SOUP_STATUS_BAD_GATEWAY, "provider");
	expect_language(r, "de", "Anmeldung fehlgeschlagen");
	detail = html_text_of_id(r->body, "detail");
	g_assert_cmpstr(detail, ==, "The identity provider refused the sign-in (server_error).");
	reply_free(r);

	/* English wins over a later language; Traditional Chinese is not served Simplified;
	 * q=0 refuses; no header at all is English */
	f->accept_language = "en-US,zh-CN;q=0.5";
	r = callback(f, q, s.cookie);
	expect_language(r, "en", "Sign-in failed");
	reply_free(r);
	f->accept_language = "zh-TW,zh-Hant;q=0.9";
	r = callback(f, q, s.cookie);
	expect_language(r, "en", "Sign-in failed");
	reply_free(r);
	f->accept_language = "de;q=0, zh-Hans-CN;q=0.1";
	r = callback(f, q, s.cookie);
	expect_language(r, "zh-CN", "登录失败");
	reply_free(r);
	f->accept_language = NULL;
	r = callback(f, q, s.cookie);
	expect_language(r, "en", "Sign-in failed");
	reply_free(r);
	g_assert_cmpuint(f->completed->len, ==, 1);
}

static void
test_per_login_bound(Fixture *f, gconstpointer data)
{
	Started s[WR_OIDC_RP_MAX_PENDING_PER_LOGIN + 1] = {{NULL}};
	g_autofree char *q = NULL;
	Reply *r;

	for (guint i = 0; i < G_N_ELEMENTS(s); i++)
		begin(f, "login-1", &s[i]);
	/* the oldest made room */
	q = g_strdup_printf("?code=%s&state=%s", CODE, s[0].state);
	r = callback(f, q, s[0].cookie);
	expect_page(r, SOUP_STATUS_BAD_REQUEST, "bad-request");
	reply_free(r);
	g_free(q);
	/* the newest is there (the scripted provider signs the newest nonce) */
	q = g_strdup_printf("?code=%s&state=%s", CODE, s[G_N_ELEMENTS(s) - 1].state);
	r = callback(f, q, s[G_N_ELEMENTS(s) - 1].cookie);
	expect_page(r, SOUP_STATUS_OK, NULL);
	reply_free(r);
	for (guint i = 0; i < G_N_ELEMENTS(s); i++)
		started_clear(&s[i]);
}

static void
test_free_while_waiting(Fixture *f, gconstpointer data)
{
	g_autoptr(SoupMessage) msg = NULL;
	g_autoptr(GBytes) body = NULL;
	g_autofree char *url = g_strconcat(f->url, "/a/login-1", NULL);

	f->hold_discovery = TRUE;
	msg = soup_message_new("GET", url);
	soup_message_add_flags(msg, SOUP_MESSAGE_NO_REDIRECT);
	soup_session_send_and_read_async(f->client, msg, G_PRIORITY_DEFAULT, NULL, sent_cb, &body);
	while (f->held == NULL)
		g_main_context_iteration(NULL, TRUE);
	g_clear_pointer(&f->rp, wr_oidc_rp_free);
	while (body == NULL)
		g_main_context_iteration(NULL, TRUE);
	g_assert_cmpuint(soup_message_get_status(msg), ==, SOUP_STATUS_SERVICE_UNAVAILABLE);
}

static void
test_settings(void)
{
	static const char *const no_openid[] = {"email", NULL};
	static const char *const bad_scope[] = {"openid", "a b", NULL};
	static const struct {
		const char *issuer;
		const char *secret;
		const char *redirect;
		const char *const *scopes;
		gint64 login_timeout;
		const char *in_message;
	} cases[] = {
		{"http://idp.example.com", "s", "https://c.example.com/oidc/callback", NULL, 0,
		 "issuer"},
		{"https://idp.example.com", NULL, "https://c.example.com/oidc/callback", NULL, 0,
		 "secret"},
		{"https://idp.example.com", "", "https://c.example.com/oidc/callback", NULL, 0,
		 "secret"},
		{"https://idp.example.com", "s", "http://c.example.com/oidc/callback", NULL, 0,
		 "redirect URI"},
		{"https://idp.example.com", "s", "https://c.example.com/oidc/callback?x=1", NULL, 0,
		 "redirect URI"},
		{"https://idp.example.com", "s", "https://c.example.com/oidc/callback", no_openid,
		 0, "openid"},
		{"https://idp.example.com", "s", "https://c.example.com/oidc/callback", bad_scope,
		 0, "scope 1"},
		{"https://idp.example.com", "s", "https://c.example.com/oidc/callback", NULL, -1,
		 "login timeout"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(WrOidcRp) rp = NULL;
		WrOidcRpSettings settings = {NULL};

		settings.issuer = cases[i].issuer;
		settings.client_id = "id";
		settings.client_secret = cases[i].secret;
		settings.redirect_uri = cases[i].redirect;
		settings.scopes = cases[i].scopes;
		settings.login_timeout = cases[i].login_timeout;
		wr_oidc_config_init(&settings.rules, NULL, NULL);
		rp = wr_oidc_rp_new(&settings, complete_cb, NULL, NULL, &error);
		g_test_message("case %u: %s", i, error != NULL ? error->message : "accepted");
		g_assert_null(rp);
		g_assert_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT);
		g_assert_nonnull(strstr(error->message, cases[i].in_message));
	}
	/* Google's preset, with lists the RP copies (the caller's may go away) */
	{
		g_autoptr(GError) error = NULL;
		g_autoptr(WrOidcRp) rp = NULL;
		g_auto(GStrv) domains = g_strsplit("example.com", ";", -1);
		WrOidcRpSettings settings = {NULL};

		settings.issuer = WR_OIDC_GOOGLE_ISSUER;
		settings.client_id = "1234.apps.googleusercontent.com";
		settings.client_secret = "GOCSPX-x";
		settings.redirect_uri = "https://ctl.example.com/oidc/callback";
		wr_oidc_config_init_google(&settings.rules, NULL);
		settings.rules.allowed_hosted_domains = (const char *const *) domains;
		rp = wr_oidc_rp_new(&settings, complete_cb, NULL, NULL, &error);
		g_assert_no_error(error);
		g_assert_nonnull(rp);
		g_clear_pointer(&domains, g_strfreev);
	}
}

int
main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);
	/* the failures under test log warnings; criticals stay fatal */
	g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
	g_assert_true(wr_crypto_init());
	g_assert_cmpint(gnutls_global_init(), ==, 0);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
	ADD("/warren/oidc-rp/flow", test_flow);
	ADD("/warren/oidc-rp/discovery-failure", test_discovery_failure);
	ADD("/warren/oidc-rp/discovery-wrong-issuer", test_discovery_wrong_issuer);
	ADD("/warren/oidc-rp/token-refused", test_token_refused);
	ADD("/warren/oidc-rp/token-huge", test_token_huge);
	ADD("/warren/oidc-rp/bad-callbacks", test_bad_callbacks);
	ADD("/warren/oidc-rp/cancelled", test_cancelled);
	ADD("/warren/oidc-rp/languages", test_languages);
	ADD("/warren/oidc-rp/per-login-bound", test_per_login_bound);
	ADD("/warren/oidc-rp/free-while-waiting", test_free_while_waiting);
#undef ADD
	g_test_add_func("/warren/oidc-rp/settings", test_settings);
	return g_test_run();
}
