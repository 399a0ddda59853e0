/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrOidcRp"

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "wr-b64url.h"
#include "wr-crypto.h"
#include "wr-jwks.h"
#include "wr-l10n.h"
#include "wr-oidc-callback.h"
#include "wr-oidc-provider.h"
#include "wr-oidc-rp.h"

/* state, nonce, PKCE verifier and binding cookie: this many random bytes each */
#define RANDOM_LEN 32
/* the binding cookie is named COOKIE_PREFIX and this many random bytes, one per sign-in */
#define COOKIE_ID_LEN 8
#define COOKIE_PREFIX "wr_sso_"
/* a request to the provider may take this many seconds */
#define FETCH_TIMEOUT 15
/* the discovery document is fetched again after this many seconds */
#define DISCOVERY_TTL G_GINT64_CONSTANT(86400)
/* and the JWKS after this many, even when no unknown kid came */
#define JWKS_TTL G_GINT64_CONSTANT(3600)
/* after a failed discovery, wait this long before the next, doubling to the maximum */
#define BACKOFF_MIN 2
#define BACKOFF_MAX 300
/* the login timeout is at most a day */
#define LOGIN_TIMEOUT_MAX (24 * 3600)
/* read the provider's answers in pieces of this size */
#define READ_CHUNK 16384

/* a sign-in sent to the provider and not yet called back */
typedef struct {
	char *state;
	char *nonce;
	char *verifier;
	char *login_token;
	char *cookie_name;
	char *cookie_value;
	gint64 created; /* monotonic µs */
} Pending;

typedef struct _Request Request;
typedef void (*Step)(Request *req);

/* one paused /a/ or /oidc/callback message, until it is answered */
struct _Request {
	WrOidcRp *rp; /* NULL once the rp is gone */
	SoupServerMessage *msg;
	gulong finished_id;
	gboolean gone;	    /* the message finished under us: do not answer */
	gboolean in_flight; /* a token request is under way for it */
	GCancellable *cancellable;
	Step next; /* what to do once discovery or the JWKS is there */
	char *login_token;
	Pending *pending; /* the callback's sign-in, taken out of the table */
	char *code;
	char *id_token;
	gboolean refetched;   /* the JWKS was fetched again for this token's unknown kid */
	WrL10n *l10n;	      /* a reference: the request may outlive the rp */
	const WrCatalog *cat; /* its pages' language, from Accept-Language; NULL: English */
};

struct _WrOidcRp {
	char *issuer;
	char *discovery_url;
	char *client_id;
	char *client_secret;
	char *redirect_uri;
	char *scope;
	char *cookie_path;
	gboolean secure_cookie;
	char *issuer_alias;
	GStrv hosted_domains;
	GStrv emails;
	GStrv email_domains;
	GStrv groups;
	WrOidcConfig rules;
	gint64 login_timeout;
	WrL10n *l10n; /* the pages' languages; NULL: English only */

	WrOidcRpCompleteFunc complete;
	WrOidcRpFailedFunc failed;
	gpointer user_data;

	GMainContext *context; /* the thread-default one at wr_oidc_rp_new() */
	SoupSession *session;
	GCancellable *cancellable;
	GHashTable *pending; /* state -> Pending */
	GList *requests;     /* every live Request */

	WrOidcDiscovery *discovery;
	gint64 discovery_at; /* monotonic µs of the last success */
	gboolean discovering;
	GQueue discovery_waiters;
	gint64 discovery_retry_at;
	gint64 discovery_backoff; /* seconds */
	GError *discovery_error;

	WrJwks *jwks;
	gint64 jwks_at;		/* monotonic µs of the last success */
	gint64 jwks_attempt_at; /* and of the last attempt */
	gboolean jwks_fetching;
	GSource *jwks_timer; /* the wait before a rate-limited fetch */
	GQueue jwks_waiters;
};

static void
wipe_free(char *text)
{
	if (text == NULL)
		return;
	wr_memzero(text, strlen(text));
	g_free(text);
}

static void
pending_free(Pending *p)
{
	if (p == NULL)
		return;
	wipe_free(p->state);
	wipe_free(p->nonce);
	wipe_free(p->verifier);
	wipe_free(p->cookie_value);
	g_free(p->cookie_name);
	g_free(p->login_token);
	g_free(p);
}

/* RANDOM_LEN (or @len) random bytes in base64url */
static char *
random_text(gsize len)
{
	guint8 bytes[RANDOM_LEN];
	char *text;

	g_assert(len <= sizeof(bytes));
	wr_random_bytes(bytes, len);
	text = wr_b64url_encode(bytes, len);
	wr_memzero(bytes, sizeof(bytes));
	return text;
}

/* ---- pages ---- */

/* the page's language for @msg's Accept-Language, from @l10n (may be NULL: English) */
static const WrCatalog *
page_catalog(const WrL10n *l10n, SoupServerMessage *msg)
{
	SoupMessageHeaders *headers = soup_server_message_get_request_headers(msg);

	return wr_l10n_pick(l10n, soup_message_headers_get_list(headers, "Accept-Language"));
}

/*
 * The page.  @title and @message are already in @cat's language (every piece of text is
 * escaped here, translations too); @detail, when given, is the untranslated reason in words
 * (a message only English has), @reason the machine-readable code.
 */
static void
render(SoupServerMessage *msg, const WrCatalog *cat, guint status, const char *page_id,
       const char *title, const char *message, const char *detail, const char *reason)
{
	SoupMessageHeaders *headers = soup_server_message_get_response_headers(msg);
	const char *tag = wr_catalog_get_tag(cat);
	g_autofree char *title_html = g_markup_escape_text(title, -1);
	g_autofree char *message_html = g_markup_escape_text(message, -1);
	g_autofree char *reason_p = NULL;
	g_autofree char *detail_p = NULL;
	char *body;

	if (detail != NULL) {
		g_autofree char *label_html =
			/* TRANSLATORS: before the server's own explanation, which is in English */
			g_markup_escape_text(wr_catalog_gettext(cat, N_("Details:")), -1);
		g_autofree char *detail_html = g_markup_escape_text(detail, -1);

		detail_p = g_strdup_printf("<p class=\"reason\">%s <span id=\"detail\" "
					   "lang=\"en\">%s</span></p>",
					   label_html, detail_html);
	}
	if (reason != NULL) {
		g_autofree char *label_html =
			/* TRANSLATORS: before a code such as bad-signature */
			g_markup_escape_text(wr_catalog_gettext(cat, N_("Reason:")), -1);
		g_autofree char *reason_html = g_markup_escape_text(reason, -1);

		reason_p =
			g_strdup_printf("<p class=\"reason\">%s <code id=\"reason\">%s</code></p>",
					label_html, reason_html);
	}
	body = g_strdup_printf(
		"<!DOCTYPE html>\n"
		"<html lang=\"%s\"><head><meta charset=\"utf-8\">"
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
		"<title>%s</title>"
		"<style>body{font-family:sans-serif;max-width:36em;margin:4em auto;"
		"padding:0 1em;line-height:1.5;color:#222}h1{font-size:1.5em}"
		".reason{color:#666;font-size:.9em}</style></head>\n"
		"<body><main id=\"%s\"><h1 id=\"title\">%s</h1><p id=\"message\">%s</p>%s%s"
		"</main></body></html>\n",
		tag, title_html, page_id, title_html, message_html,
		detail_p != NULL ? detail_p : "", reason_p != NULL ? reason_p : "");
	soup_server_message_set_status(msg, status, NULL);
	soup_message_headers_replace(headers, "Cache-Control", "no-store");
	soup_message_headers_replace(headers, "Referrer-Policy", "no-referrer");
	soup_message_headers_replace(headers, "X-Content-Type-Options", "nosniff");
	soup_message_headers_replace(headers, "X-Frame-Options", "DENY");
	soup_message_headers_replace(headers, "Content-Language", tag);
	/* the page depends on the browser's languages: a shared cache must not mix them */
	soup_message_headers_append(headers, "Vary", "Accept-Language");
	soup_message_headers_replace(headers, "Content-Security-Policy",
				     "default-src 'none'; style-src 'unsafe-inline'; "
				     "frame-ancestors 'none'");
	soup_server_message_set_response(msg, "text/html; charset=utf-8", SOUP_MEMORY_TAKE, body,
					 strlen(body));
}

void
wr_oidc_rp_render_page(SoupServerMessage *msg, guint status, const char *title, const char *message)
{
	g_return_if_fail(SOUP_IS_SERVER_MESSAGE(msg));
	g_return_if_fail(title != NULL && message != NULL);

	render(msg, NULL, status, "wr-page", title, message, NULL, NULL);
}

void
wr_oidc_rp_render_localized(SoupServerMessage *msg, const WrL10n *l10n, guint status,
			    const char *title, const char *message)
{
	const WrCatalog *cat;

	g_return_if_fail(SOUP_IS_SERVER_MESSAGE(msg));
	g_return_if_fail(title != NULL && message != NULL);

	cat = page_catalog(l10n, msg);
	render(msg, cat, status, "wr-page", wr_catalog_gettext(cat, title),
	       wr_catalog_gettext(cat, message), NULL, NULL);
}

/* ---- requests ---- */

static void
request_finished_cb(SoupServerMessage *msg, gpointer user_data)
{
	Request *req = user_data;

	req->gone = TRUE;
}

static Request *
request_new(WrOidcRp *rp, SoupServerMessage *msg)
{
	Request *req = g_new0(Request, 1);

	req->rp = rp;
	req->msg = g_object_ref(msg);
	req->cancellable = g_object_ref(rp->cancellable);
	req->finished_id = g_signal_connect(msg, "finished", G_CALLBACK(request_finished_cb), req);
	req->l10n = wr_l10n_ref(rp->l10n);
	req->cat = page_catalog(req->l10n, msg);
	soup_server_message_pause(msg);
	rp->requests = g_list_prepend(rp->requests, req);
	return req;
}

/* answers (unless the client left) and frees @req */
static void
request_end(Request *req)
{
	if (req->rp != NULL)
		req->rp->requests = g_list_remove(req->rp->requests, req);
	g_signal_handler_disconnect(req->msg, req->finished_id);
	if (!req->gone)
		soup_server_message_unpause(req->msg);
	g_object_unref(req->msg);
	g_object_unref(req->cancellable);
	g_free(req->login_token);
	pending_free(req->pending);
	wipe_free(req->code);
	wipe_free(req->id_token);
	wr_l10n_unref(req->l10n);
	g_free(req);
}

static void
clear_cookie(Request *req)
{
	WrOidcRp *rp = req->rp;
	g_autofree char *cookie = NULL;

	if (req->pending == NULL || rp == NULL)
		return;
	cookie = g_strdup_printf("%s=; Path=%s; Max-Age=0; HttpOnly; SameSite=Lax%s",
				 req->pending->cookie_name, rp->cookie_path,
				 rp->secure_cookie ? "; Secure" : "");
	soup_message_headers_append(soup_server_message_get_response_headers(req->msg),
				    "Set-Cookie", cookie);
}

static guint
status_for(const GError *error)
{
	if (error->domain != WR_OIDC_ERROR)
		return SOUP_STATUS_BAD_GATEWAY;
	switch (error->code) {
	case WR_OIDC_ERROR_BAD_REQUEST:
		return SOUP_STATUS_BAD_REQUEST;
	case WR_OIDC_ERROR_CANCELLED:
	case WR_OIDC_ERROR_EMAIL_NOT_VERIFIED:
	case WR_OIDC_ERROR_DOMAIN_NOT_ALLOWED:
	case WR_OIDC_ERROR_EMAIL_NOT_ALLOWED:
	case WR_OIDC_ERROR_GROUP_NOT_ALLOWED:
		return SOUP_STATUS_FORBIDDEN;
	default:
		return SOUP_STATUS_BAD_GATEWAY;
	}
}

/*
 * Ends @req with a failure page for @error; when it belongs to a sign-in of ours, the failed
 * hook hears of it.  Nothing secret is in the log line: the messages never quote tokens.
 */
/* what went wrong, in words for a person, by error code (for messages only English has) */
static const char *
explain(const GError *error)
{
	if (error->domain != WR_OIDC_ERROR)
		return N_("The identity provider cannot be reached. Please try again later.");
	switch (error->code) {
	case WR_OIDC_ERROR_CANCELLED:
		return N_("The sign-in was cancelled at the identity provider.");
	case WR_OIDC_ERROR_EMAIL_NOT_VERIFIED:
		return N_("Your account's email address is not verified at the identity "
			  "provider.");
	case WR_OIDC_ERROR_DOMAIN_NOT_ALLOWED:
		return N_("Accounts of this domain may not sign in to this network.");
	case WR_OIDC_ERROR_EMAIL_NOT_ALLOWED:
		return N_("This account may not sign in to this network.");
	case WR_OIDC_ERROR_GROUP_NOT_ALLOWED:
		return N_("This account is in none of the groups that may sign in to this "
			  "network.");
	case WR_OIDC_ERROR_EXPIRED:
	case WR_OIDC_ERROR_NOT_YET_VALID:
		return N_("The identity provider's answer is out of date. Please try again, "
			  "and check that the clocks are right.");
	case WR_OIDC_ERROR_PROVIDER:
		return N_("The identity provider failed or refused the sign-in. Please try "
			  "again later.");
	case WR_OIDC_ERROR_BAD_REQUEST:
		return N_("This sign-in is unknown, has expired or was already used. Please "
			  "start again from your device.");
	default:
		return N_("The identity provider's answer cannot be verified.");
	}
}

/* a failure page: @text (English) in @cat's language when there is a translation of it, else
 * @fallback's translation with @text as the detail */
static void
render_failure(Request *req, guint status, const char *title, const char *text,
	       const char *fallback, const char *reason)
{
	const char *translated = wr_catalog_lookup(req->cat, text);

	if (req->cat == NULL || translated != NULL)
		render(req->msg, req->cat, status, "wr-sign-in-failed",
		       wr_catalog_gettext(req->cat, title), translated != NULL ? translated : text,
		       NULL, reason);
	else
		render(req->msg, req->cat, status, "wr-sign-in-failed",
		       wr_catalog_gettext(req->cat, title), wr_catalog_gettext(req->cat, fallback),
		       text, reason);
}

static void
request_fail(Request *req, const GError *error)
{
	WrOidcRp *rp = req->rp;
	const char *reason =
		error->domain == WR_OIDC_ERROR ? wr_oidc_error_to_string(error->code) : "provider";
	gboolean cancelled = g_error_matches(error, WR_OIDC_ERROR, WR_OIDC_ERROR_CANCELLED);

	g_message("sign-in refused (%s): %s", reason, error->message);
	clear_cookie(req);
	render_failure(req, status_for(error),
		       cancelled ? N_("Sign-in cancelled") : N_("Sign-in failed"), error->message,
		       explain(error), reason);
	if (rp != NULL && req->pending != NULL && rp->failed != NULL)
		rp->failed(req->pending->login_token, error, rp->user_data);
	request_end(req);
}

static void
request_fail_literal(Request *req, int code, const char *message)
{
	g_autoptr(GError) error = g_error_new_literal(WR_OIDC_ERROR, code, message);

	request_fail(req, error);
}

/* the rp went away under @req: a 503 and no hook */
static void
request_abandon(Request *req)
{
	render(req->msg, req->cat, SOUP_STATUS_SERVICE_UNAVAILABLE, "wr-sign-in-failed",
	       wr_catalog_gettext(req->cat, N_("Sign-in failed")),
	       wr_catalog_gettext(req->cat,
				  N_("The server is shutting down; please try again in a moment.")),
	       NULL, NULL);
	request_end(req);
}

/* ---- fetching from the provider, size-limited ---- */

typedef void (*FetchDone)(GByteArray *body, guint status, const GError *error, gpointer data);

typedef struct {
	SoupSession *session;
	SoupMessage *msg;
	GInputStream *stream;
	GByteArray *body;
	gsize limit;
	GCancellable *cancellable;
	FetchDone done;
	gpointer data;
} Fetch;

/* calls the done function once, then wipes the body (it may hold tokens) and frees @fetch */
static void
fetch_finish(Fetch *fetch, GError *error)
{
	g_autoptr(GError) cancelled = NULL;

	/* whatever finished first, a cancelled fetch must not touch what it was for */
	if (g_cancellable_set_error_if_cancelled(fetch->cancellable, &cancelled))
		error = cancelled;
	fetch->done(error == NULL ? fetch->body : NULL, soup_message_get_status(fetch->msg), error,
		    fetch->data);
	wr_memzero(fetch->body->data, fetch->body->len);
	g_byte_array_unref(fetch->body);
	g_clear_object(&fetch->stream);
	g_object_unref(fetch->msg);
	g_object_unref(fetch->session);
	g_object_unref(fetch->cancellable);
	g_free(fetch);
}

static void
fetch_read_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
	Fetch *fetch = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) bytes =
		g_input_stream_read_bytes_finish(G_INPUT_STREAM(source), result, &error);
	gsize len = 0;
	const guint8 *data;

	if (bytes == NULL) {
		fetch_finish(fetch, error);
		return;
	}
	data = g_bytes_get_data(bytes, &len);
	if (len == 0) {
		fetch_finish(fetch, NULL);
		return;
	}
	if (fetch->body->len + len > fetch->limit) {
		g_set_error(&error, WR_OIDC_ERROR, WR_OIDC_ERROR_PROVIDER,
			    "the identity provider's answer is longer than %" G_GSIZE_FORMAT
			    " bytes",
			    fetch->limit);
		fetch_finish(fetch, error);
		return;
	}
	g_byte_array_append(fetch->body, data, (guint) len);
	wr_memzero((void *) data, len);
	g_input_stream_read_bytes_async(fetch->stream, READ_CHUNK, G_PRIORITY_DEFAULT,
					fetch->cancellable, fetch_read_cb, fetch);
}

static void
fetch_sent_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
	Fetch *fetch = user_data;
	g_autoptr(GError) error = NULL;
	SoupMessageHeaders *headers;

	fetch->stream = soup_session_send_finish(SOUP_SESSION(source), result, &error);
	if (fetch->stream == NULL) {
		g_autoptr(GError) wrapped = NULL;

		if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
			fetch_finish(fetch, error);
			return;
		}
		g_set_error(&wrapped, WR_OIDC_ERROR, WR_OIDC_ERROR_PROVIDER,
			    "the identity provider cannot be reached: %s", error->message);
		fetch_finish(fetch, wrapped);
		return;
	}
	headers = soup_message_get_response_headers(fetch->msg);
	if (soup_message_headers_get_encoding(headers) == SOUP_ENCODING_CONTENT_LENGTH &&
	    soup_message_headers_get_content_length(headers) > (goffset) fetch->limit) {
		g_set_error(&error, WR_OIDC_ERROR, WR_OIDC_ERROR_PROVIDER,
			    "the identity provider's answer is longer than %" G_GSIZE_FORMAT
			    " bytes",
			    fetch->limit);
		fetch_finish(fetch, error);
		return;
	}
	g_input_stream_read_bytes_async(fetch->stream, READ_CHUNK, G_PRIORITY_DEFAULT,
					fetch->cancellable, fetch_read_cb, fetch);
}

/* sends @msg (taken) and reads at most @limit bytes of the answer, then calls @done */
static void
fetch_start(WrOidcRp *rp, SoupMessage *msg, gsize limit, GCancellable *cancellable, FetchDone done,
	    gpointer data)
{
	Fetch *fetch = g_new0(Fetch, 1);

	fetch->session = g_object_ref(rp->session);
	fetch->msg = msg;
	fetch->body = g_byte_array_new();
	fetch->limit = limit;
	fetch->cancellable = g_object_ref(cancellable);
	fetch->done = done;
	fetch->data = data;
	soup_message_headers_replace(soup_message_get_request_headers(msg), "Accept",
				     "application/json");
	soup_session_send_async(rp->session, msg, G_PRIORITY_DEFAULT, cancellable, fetch_sent_cb,
				fetch);
}

/* ---- discovery ---- */

static gboolean
discovery_fresh(WrOidcRp *rp, gint64 now)
{
	return rp->discovery != NULL && now - rp->discovery_at < DISCOVERY_TTL * G_USEC_PER_SEC;
}

static void
discovery_done(GByteArray *body, guint status, const GError *error, gpointer data)
{
	WrOidcRp *rp = data;
	g_autoptr(GError) local = NULL;
	g_autoptr(WrOidcDiscovery) discovery = NULL;
	GQueue waiters = G_QUEUE_INIT;
	gint64 now = g_get_monotonic_time();
	Request *req;

	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return; /* rp is gone */
	rp->discovering = FALSE;
	if (error != NULL)
		local = g_error_copy(error);
	else if (status != SOUP_STATUS_OK)
		g_set_error(&local, WR_OIDC_ERROR, WR_OIDC_ERROR_PROVIDER,
			    "the identity provider's discovery document cannot be fetched (HTTP "
			    "%u)",
			    status);
	else
		discovery = wr_oidc_discovery_parse((const char *) body->data, body->len,
						    rp->issuer, &local);
	if (discovery != NULL) {
		g_info("discovered %s", rp->issuer);
		wr_oidc_discovery_free(rp->discovery);
		rp->discovery = g_steal_pointer(&discovery);
		rp->discovery_at = now;
		rp->discovery_backoff = 0;
		g_clear_error(&rp->discovery_error);
	} else {
		rp->discovery_backoff = CLAMP(rp->discovery_backoff * 2, BACKOFF_MIN, BACKOFF_MAX);
		rp->discovery_retry_at = now + rp->discovery_backoff * G_USEC_PER_SEC;
		g_warning("discovery of %s failed, next try in %" G_GINT64_FORMAT " s: %s",
			  rp->issuer, rp->discovery_backoff, local->message);
		g_clear_error(&rp->discovery_error);
		rp->discovery_error = g_error_copy(local);
	}
	/* a stale document still serves when a refresh fails */
	waiters = rp->discovery_waiters;
	g_queue_init(&rp->discovery_waiters);
	while ((req = g_queue_pop_head(&waiters)) != NULL) {
		if (rp->discovery != NULL)
			req->next(req);
		else
			request_fail(req, local);
	}
}

static void
discovery_ensure(Request *req, Step next)
{
	WrOidcRp *rp = req->rp;
	gint64 now = g_get_monotonic_time();

	req->next = next;
	if (discovery_fresh(rp, now)) {
		next(req);
		return;
	}
	if (!rp->discovering && now < rp->discovery_retry_at) {
		if (rp->discovery != NULL)
			next(req);
		else
			request_fail(req, rp->discovery_error);
		return;
	}
	g_queue_push_tail(&rp->discovery_waiters, req);
	if (!rp->discovering) {
		rp->discovering = TRUE;
		fetch_start(rp, soup_message_new(SOUP_METHOD_GET, rp->discovery_url),
			    WR_OIDC_DISCOVERY_MAX, rp->cancellable, discovery_done, rp);
	}
}

/* ---- the JWKS ---- */

static void
jwks_done(GByteArray *body, guint status, const GError *error, gpointer data)
{
	WrOidcRp *rp = data;
	g_autoptr(GError) local = NULL;
	g_autoptr(WrJwks) jwks = NULL;
	GQueue waiters = G_QUEUE_INIT;
	Request *req;

	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return; /* rp is gone */
	rp->jwks_fetching = FALSE;
	if (error != NULL)
		local = g_error_copy(error);
	else if (status != SOUP_STATUS_OK)
		g_set_error(&local, WR_OIDC_ERROR, WR_OIDC_ERROR_PROVIDER,
			    "the identity provider's signing keys cannot be fetched (HTTP %u)",
			    status);
	else
		jwks = wr_jwks_parse(body->data, body->len, &local);
	if (jwks != NULL) {
		g_info("fetched the signing keys of %s: %u usable", rp->issuer,
		       wr_jwks_get_n_keys(jwks));
		wr_jwks_free(rp->jwks);
		rp->jwks = g_steal_pointer(&jwks);
		rp->jwks_at = g_get_monotonic_time();
	} else {
		g_warning("fetching the signing keys of %s failed: %s", rp->issuer, local->message);
	}
	waiters = rp->jwks_waiters;
	g_queue_init(&rp->jwks_waiters);
	while ((req = g_queue_pop_head(&waiters)) != NULL)
		req->next(req);
}

static void
jwks_fetch(WrOidcRp *rp)
{
	rp->jwks_fetching = TRUE;
	rp->jwks_attempt_at = g_get_monotonic_time();
	fetch_start(rp, soup_message_new(SOUP_METHOD_GET, rp->discovery->jwks_uri),
		    WR_JWKS_MAX_DOCUMENT, rp->cancellable, jwks_done, rp);
}

static gboolean
jwks_timer_cb(gpointer data)
{
	WrOidcRp *rp = data;

	g_clear_pointer(&rp->jwks_timer, g_source_unref);
	jwks_fetch(rp);
	return G_SOURCE_REMOVE;
}

/*
 * Runs @next once a JWKS is there: the cached one unless @refresh or stale.  Fetches happen
 * at most once per WR_OIDC_RP_JWKS_MIN_INTERVAL: a refresh asked for sooner waits for it, and
 * every request waiting shares it.
 */
static void
jwks_ensure(Request *req, gboolean refresh, Step next)
{
	WrOidcRp *rp = req->rp;
	gint64 now = g_get_monotonic_time();
	gint64 wait;

	req->next = next;
	if (!refresh && rp->jwks != NULL && now - rp->jwks_at < JWKS_TTL * G_USEC_PER_SEC) {
		next(req);
		return;
	}
	g_queue_push_tail(&rp->jwks_waiters, req);
	if (rp->jwks_fetching || rp->jwks_timer != NULL)
		return;
	wait = rp->jwks_attempt_at == 0
		       ? 0
		       : rp->jwks_attempt_at + WR_OIDC_RP_JWKS_MIN_INTERVAL * G_USEC_PER_SEC - now;
	if (wait > 0) {
		g_debug("fetching the signing keys again in %" G_GINT64_FORMAT " ms", wait / 1000);
		rp->jwks_timer = g_timeout_source_new((guint) (wait / 1000) + 1);
		g_source_set_callback(rp->jwks_timer, jwks_timer_cb, rp, NULL);
		g_source_attach(rp->jwks_timer, rp->context);
	} else {
		jwks_fetch(rp);
	}
}

/* ---- the flow ---- */

static void
prune_pending(WrOidcRp *rp)
{
	gint64 now = g_get_monotonic_time();
	GHashTableIter iter;
	Pending *p;

	g_hash_table_iter_init(&iter, rp->pending);
	while (g_hash_table_iter_next(&iter, NULL, (gpointer *) &p)) {
		if (now - p->created >= rp->login_timeout * G_USEC_PER_SEC)
			g_hash_table_iter_remove(&iter);
	}
}

/* keeps at most WR_OIDC_RP_MAX_PENDING_PER_LOGIN - 1 sign-ins of @login_token */
static void
limit_per_login(WrOidcRp *rp, const char *login_token)
{
	for (;;) {
		GHashTableIter iter;
		Pending *p;
		Pending *oldest = NULL;
		guint n = 0;

		g_hash_table_iter_init(&iter, rp->pending);
		while (g_hash_table_iter_next(&iter, NULL, (gpointer *) &p)) {
			if (strcmp(p->login_token, login_token) != 0)
				continue;
			n++;
			if (oldest == NULL || p->created < oldest->created)
				oldest = p;
		}
		if (n < WR_OIDC_RP_MAX_PENDING_PER_LOGIN || oldest == NULL)
			return;
		g_hash_table_remove(rp->pending, oldest->state);
	}
}

static char *
s256_challenge(const char *verifier)
{
	g_autoptr(GChecksum) checksum = g_checksum_new(G_CHECKSUM_SHA256);
	guint8 digest[32];
	gsize len = sizeof(digest);
	char *challenge;

	g_checksum_update(checksum, (const guchar *) verifier, (gssize) strlen(verifier));
	g_checksum_get_digest(checksum, digest, &len);
	challenge = wr_b64url_encode(digest, len);
	wr_memzero(digest, sizeof(digest));
	return challenge;
}

static void
append_param(GString *url, const char *name, const char *value)
{
	g_autofree char *escaped = g_uri_escape_string(value, NULL, FALSE);

	g_string_append_printf(url, "&%s=%s", name, escaped);
}

/* the discovery is there: make the sign-in and send the browser to the provider */
static void
begin_redirect(Request *req)
{
	WrOidcRp *rp = req->rp;
	SoupMessageHeaders *headers = soup_server_message_get_response_headers(req->msg);
	const char *endpoint = rp->discovery->authorization_endpoint;
	g_autofree char *challenge = NULL;
	g_autofree char *cookie = NULL;
	g_autofree char *cookie_id = random_text(COOKIE_ID_LEN);
	g_autoptr(GString) url = g_string_new(endpoint);
	Pending *p;

	prune_pending(rp);
	limit_per_login(rp, req->login_token);
	if (g_hash_table_size(rp->pending) >= WR_OIDC_RP_MAX_PENDING) {
		g_warning("%u sign-ins in progress, refusing another", WR_OIDC_RP_MAX_PENDING);
		render(req->msg, req->cat, SOUP_STATUS_SERVICE_UNAVAILABLE, "wr-sign-in-failed",
		       wr_catalog_gettext(req->cat, N_("Sign-in failed")),
		       wr_catalog_gettext(req->cat, N_("Too many sign-ins are in progress; please "
						       "try again in a few minutes.")),
		       NULL, NULL);
		request_end(req);
		return;
	}
	p = g_new0(Pending, 1);
	p->state = random_text(RANDOM_LEN);
	p->nonce = random_text(RANDOM_LEN);
	p->verifier = random_text(RANDOM_LEN);
	p->cookie_value = random_text(RANDOM_LEN);
	p->cookie_name = g_strconcat(COOKIE_PREFIX, cookie_id, NULL);
	p->login_token = g_strdup(req->login_token);
	p->created = g_get_monotonic_time();
	challenge = s256_challenge(p->verifier);

	/* the endpoint may carry a query of its own */
	g_string_append_c(url, strchr(endpoint, '?') != NULL ? '&' : '?');
	g_string_append(url, "response_type=code");
	append_param(url, "client_id", rp->client_id);
	append_param(url, "redirect_uri", rp->redirect_uri);
	append_param(url, "scope", rp->scope);
	append_param(url, "state", p->state);
	append_param(url, "nonce", p->nonce);
	append_param(url, "code_challenge", challenge);
	g_string_append(url, "&code_challenge_method=S256");

	cookie = g_strdup_printf("%s=%s; Path=%s; Max-Age=%" G_GINT64_FORMAT
				 "; HttpOnly; SameSite=Lax%s",
				 p->cookie_name, p->cookie_value, rp->cookie_path,
				 rp->login_timeout, rp->secure_cookie ? "; Secure" : "");
	g_hash_table_insert(rp->pending, p->state, p);
	soup_message_headers_append(headers, "Set-Cookie", cookie);
	wr_memzero(cookie, strlen(cookie));
	soup_message_headers_replace(headers, "Cache-Control", "no-store");
	soup_message_headers_replace(headers, "Referrer-Policy", "no-referrer");
	soup_server_message_set_redirect(req->msg, SOUP_STATUS_FOUND, url->str);
	g_debug("sign-in started, %u in progress", g_hash_table_size(rp->pending));
	request_end(req);
}

void
wr_oidc_rp_begin(WrOidcRp *rp, SoupServerMessage *msg, const char *login_token)
{
	Request *req;

	g_return_if_fail(rp != NULL);
	g_return_if_fail(SOUP_IS_SERVER_MESSAGE(msg));
	g_return_if_fail(login_token != NULL && login_token[0] != '\0');

	req = request_new(rp, msg);
	req->login_token = g_strdup(login_token);
	discovery_ensure(req, begin_redirect);
}

/* the identity is verified: the core decides */
static void
complete_sign_in(Request *req, WrOidcIdentity *identity)
{
	WrOidcRp *rp = req->rp;
	g_autoptr(GError) error = NULL;
	g_autofree char *message = NULL;
	const char *who = identity->email != NULL ? identity->email : identity->sub;

	if (!rp->complete(req->pending->login_token, identity, rp->user_data, &error)) {
		const char *text = error != NULL ? error->message : N_("The server refused it.");

		g_message("sign-in of %s refused by the server: %s", who, text);
		clear_cookie(req);
		/* the core's own messages are N_() strings, found by their English text */
		render_failure(req, SOUP_STATUS_FORBIDDEN, N_("Sign-in failed"), text,
			       N_("The server refused the sign-in."), "refused");
		request_end(req);
		return;
	}
	g_message("signed in %s", who);
	message = g_strdup_printf(
		/* TRANSLATORS: %s is an email address or account id */
		wr_catalog_gettext(req->cat, N_("Signed in as %s. You may close this tab.")), who);
	clear_cookie(req);
	render(req->msg, req->cat, SOUP_STATUS_OK, "wr-signed-in",
	       wr_catalog_gettext(req->cat, N_("Signed in")), message, NULL, NULL);
	request_end(req);
}

static void
verify_step(Request *req)
{
	WrOidcRp *rp = req->rp;
	g_autoptr(GError) error = NULL;
	g_autoptr(WrOidcIdentity) identity = NULL;

	if (rp->jwks == NULL) {
		request_fail_literal(req, WR_OIDC_ERROR_PROVIDER,
				     "the identity provider's signing keys cannot be fetched; "
				     "please try again later");
		return;
	}
	identity = wr_oidc_verify_id_token(&rp->rules, rp->jwks, req->id_token,
					   strlen(req->id_token), req->pending->nonce,
					   g_get_real_time() / G_USEC_PER_SEC, &error);
	if (identity == NULL && g_error_matches(error, WR_OIDC_ERROR, WR_OIDC_ERROR_UNKNOWN_KID) &&
	    !req->refetched) {
		/* the provider may have rotated its keys */
		req->refetched = TRUE;
		jwks_ensure(req, TRUE, verify_step);
		return;
	}
	if (identity == NULL) {
		request_fail(req, error);
		return;
	}
	complete_sign_in(req, identity);
}

static void
token_done(GByteArray *body, guint status, const GError *error, gpointer data)
{
	Request *req = data;
	g_autoptr(GError) local = NULL;

	req->in_flight = FALSE;
	if (req->rp == NULL || g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
		request_abandon(req);
		return;
	}
	if (error != NULL) {
		request_fail(req, error);
		return;
	}
	req->id_token =
		wr_oidc_token_response_parse((const char *) body->data, body->len, status, &local);
	if (req->id_token == NULL) {
		request_fail(req, local);
		return;
	}
	jwks_ensure(req, FALSE, verify_step);
}

/* the form-encoded token request; its memory is wiped when libsoup lets go of it */
static GBytes *
token_request_body(WrOidcRp *rp, Request *req)
{
	g_autofree char *code = g_uri_escape_string(req->code, NULL, FALSE);
	g_autofree char *redirect = g_uri_escape_string(rp->redirect_uri, NULL, FALSE);
	g_autofree char *verifier = g_uri_escape_string(req->pending->verifier, NULL, FALSE);
	char *body = g_strdup_printf("grant_type=authorization_code&code=%s&redirect_uri=%s"
				     "&code_verifier=%s",
				     code, redirect, verifier);

	wr_memzero(code, strlen(code));
	wr_memzero(verifier, strlen(verifier));
	return g_bytes_new_with_free_func(body, strlen(body), (GDestroyNotify) wipe_free, body);
}

/* RFC 6749 §2.3.1: both parts form-encoded before base64 */
static char *
basic_auth(WrOidcRp *rp)
{
	g_autofree char *id = g_uri_escape_string(rp->client_id, NULL, FALSE);
	g_autofree char *secret = g_uri_escape_string(rp->client_secret, NULL, FALSE);
	g_autofree char *pair = g_strdup_printf("%s:%s", id, secret);
	g_autofree char *b64 = g_base64_encode((const guchar *) pair, strlen(pair));
	char *header = g_strdup_printf("Basic %s", b64);

	wr_memzero(secret, strlen(secret));
	wr_memzero(pair, strlen(pair));
	wr_memzero(b64, strlen(b64));
	return header;
}

static void
token_request(Request *req)
{
	WrOidcRp *rp = req->rp;
	SoupMessage *msg = soup_message_new(SOUP_METHOD_POST, rp->discovery->token_endpoint);
	g_autoptr(GBytes) body = token_request_body(rp, req);
	char *auth = basic_auth(rp);

	soup_message_set_request_body_from_bytes(msg, "application/x-www-form-urlencoded", body);
	soup_message_headers_replace(soup_message_get_request_headers(msg), "Authorization", auth);
	wipe_free(auth);
	/* the code is used once: the sign-in left the table before this */
	g_clear_pointer(&req->code, wipe_free);
	req->in_flight = TRUE;
	fetch_start(rp, msg, WR_OIDC_TOKEN_RESPONSE_MAX, req->cancellable, token_done, req);
}

/* whether the browser calling back is the one the sign-in was started in */
static gboolean
binding_ok(SoupServerMessage *msg, const Pending *p)
{
	const char *header = soup_message_headers_get_list(
		soup_server_message_get_request_headers(msg), "Cookie");
	g_autofree char *value = header != NULL ? wr_oidc_cookie_get(header, p->cookie_name) : NULL;
	gsize len = strlen(p->cookie_value);
	gboolean ok;

	if (value == NULL)
		return FALSE;
	ok = strlen(value) == len && wr_memeq(value, p->cookie_value, len);
	wr_memzero(value, strlen(value));
	return ok;
}

void
wr_oidc_rp_callback(WrOidcRp *rp, SoupServerMessage *msg)
{
	g_auto(WrOidcCallbackParams) params = {NULL};
	g_autoptr(GError) error = NULL;
	const char *method;
	Request *req;
	Pending *p = NULL;

	g_return_if_fail(rp != NULL);
	g_return_if_fail(SOUP_IS_SERVER_MESSAGE(msg));

	method = soup_server_message_get_method(msg);
	/* not even HEAD: a probe must not spend the sign-in */
	if (g_strcmp0(method, SOUP_METHOD_GET) != 0) {
		const WrCatalog *cat = page_catalog(rp->l10n, msg);

		render(msg, cat, SOUP_STATUS_METHOD_NOT_ALLOWED, "wr-sign-in-failed",
		       wr_catalog_gettext(cat, N_("Sign-in failed")),
		       wr_catalog_gettext(cat, N_("This address only answers GET.")), NULL,
		       "bad-request");
		return;
	}
	req = request_new(rp, msg);
	if (!wr_oidc_callback_params_parse(g_uri_get_query(soup_server_message_get_uri(msg)),
					   &params, &error)) {
		request_fail(req, error);
		return;
	}
	prune_pending(rp);
	if (params.state != NULL)
		p = g_hash_table_lookup(rp->pending, params.state);
	if (p != NULL && !binding_ok(msg, p)) {
		/* not the browser that started it: refuse, but leave the sign-in to its owner */
		g_message("sign-in callback from another browser, refused");
		render(msg, req->cat, SOUP_STATUS_FORBIDDEN, "wr-sign-in-failed",
		       wr_catalog_gettext(req->cat, N_("Sign-in failed")),
		       wr_catalog_gettext(req->cat,
					  N_("This sign-in was started in another browser, or its "
					     "cookie was blocked. Please open the sign-in link "
					     "again in this browser, with cookies allowed.")),
		       NULL, "bad-request");
		request_end(req);
		return;
	}
	if (p != NULL) {
		/* one-shot: whatever happens next, this state is spent */
		g_hash_table_steal(rp->pending, p->state);
		req->pending = p;
	}
	/* the provider's own error comes first */
	if (params.error != NULL) {
		if (strcmp(params.error, "access_denied") == 0)
			g_set_error_literal(&error, WR_OIDC_ERROR, WR_OIDC_ERROR_CANCELLED,
					    N_("The sign-in was cancelled at the identity "
					       "provider."));
		else if (wr_oidc_error_code_ok(params.error))
			g_set_error(&error, WR_OIDC_ERROR, WR_OIDC_ERROR_PROVIDER,
				    N_("The identity provider refused the sign-in (%s)."),
				    params.error);
		else
			g_set_error_literal(&error, WR_OIDC_ERROR, WR_OIDC_ERROR_PROVIDER,
					    N_("The identity provider refused the sign-in."));
		request_fail(req, error);
		return;
	}
	if (p == NULL) {
		request_fail_literal(req, WR_OIDC_ERROR_BAD_REQUEST,
				     N_("This sign-in is unknown, has expired or was already used. "
					"Please start again from your device."));
		return;
	}
	/* RFC 9207: optional, but when given it must be our provider (mix-up attacks) */
	if (params.iss != NULL && strcmp(params.iss, rp->issuer) != 0) {
		request_fail_literal(req, WR_OIDC_ERROR_WRONG_ISSUER,
				     N_("The sign-in answer came from another identity provider "
					"than the one this server uses."));
		return;
	}
	if (params.code == NULL || params.code[0] == '\0') {
		request_fail_literal(req, WR_OIDC_ERROR_BAD_REQUEST,
				     N_("The identity provider's answer has no sign-in code."));
		return;
	}
	req->code = g_steal_pointer(&params.code);
	discovery_ensure(req, token_request);
}

/* ---- life ---- */

static GStrv
copy_list(const char *const *list)
{
	return g_strdupv((char **) (list != NULL ? list : (const char *const[]){NULL}));
}

static gboolean
scope_ok(const char *scope)
{
	if (scope[0] == '\0')
		return FALSE;
	for (const char *c = scope; *c != '\0'; c++) {
		/* RFC 6749 §3.3: %x21 / %x23-5B / %x5D-7E */
		if (*c < 0x21 || *c > 0x7e || *c == '"' || *c == '\\')
			return FALSE;
	}
	return TRUE;
}

static gboolean
check_settings(const WrOidcRpSettings *settings, char **out_cookie_path, GError **error)
{
	static const char *const default_scopes[] = {"openid", "email", "profile", NULL};
	const char *const *scopes = settings->scopes != NULL ? settings->scopes : default_scopes;
	g_autoptr(GUri) redirect = NULL;
	const char *path;

	if (!wr_oidc_url_check(settings->issuer, "the issuer", error) ||
	    !wr_oidc_url_check(settings->redirect_uri, "the redirect URI", error))
		return FALSE;
	if (settings->client_id == NULL || settings->client_id[0] == '\0' ||
	    settings->client_secret == NULL || settings->client_secret[0] == '\0') {
		g_set_error_literal(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
				    "the client id and the client secret must be set");
		return FALSE;
	}
	if (!g_strv_contains(scopes, "openid")) {
		g_set_error_literal(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
				    "the scopes must include openid");
		return FALSE;
	}
	for (guint i = 0; scopes[i] != NULL; i++) {
		if (!scope_ok(scopes[i])) {
			g_set_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
				    "scope %u is empty or has characters a scope cannot have", i);
			return FALSE;
		}
	}
	if (settings->login_timeout < 0 || settings->login_timeout > LOGIN_TIMEOUT_MAX) {
		g_set_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
			    "the login timeout must be 0 (the default) to %d seconds",
			    LOGIN_TIMEOUT_MAX);
		return FALSE;
	}
	redirect = g_uri_parse(settings->redirect_uri, G_URI_FLAGS_NONE, NULL);
	path = redirect != NULL ? g_uri_get_path(redirect) : NULL;
	if (path == NULL || path[0] != '/' || strpbrk(path, ";, \t\"") != NULL ||
	    g_uri_get_query(redirect) != NULL) {
		g_set_error_literal(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
				    "the redirect URI must have a plain path and no query");
		return FALSE;
	}
	*out_cookie_path = g_strdup(path);
	return TRUE;
}

WrOidcRp *
wr_oidc_rp_new(const WrOidcRpSettings *settings, WrOidcRpCompleteFunc complete,
	       WrOidcRpFailedFunc failed, gpointer user_data, GError **error)
{
	static const char *const default_scopes[] = {"openid", "email", "profile", NULL};
	g_autofree char *cookie_path = NULL;
	g_autofree char *user_agent = NULL;
	g_autofree char *base = NULL;
	WrOidcRp *rp;

	g_return_val_if_fail(settings != NULL, NULL);
	g_return_val_if_fail(complete != NULL, NULL);

	if (!check_settings(settings, &cookie_path, error))
		return NULL;
	rp = g_new0(WrOidcRp, 1);
	rp->issuer = g_strdup(settings->issuer);
	/* Discovery §4: a trailing slash of the issuer is not doubled */
	base = g_str_has_suffix(rp->issuer, "/") ? g_strndup(rp->issuer, strlen(rp->issuer) - 1)
						 : g_strdup(rp->issuer);
	rp->discovery_url = g_strconcat(base, "/.well-known/openid-configuration", NULL);
	rp->client_id = g_strdup(settings->client_id);
	rp->client_secret = g_strdup(settings->client_secret);
	rp->redirect_uri = g_strdup(settings->redirect_uri);
	rp->scope = g_strjoinv(
		" ", (char **) (settings->scopes != NULL ? settings->scopes : default_scopes));
	rp->cookie_path = g_steal_pointer(&cookie_path);
	rp->secure_cookie = g_str_has_prefix(rp->redirect_uri, "https:");
	rp->l10n = wr_l10n_ref(settings->l10n);
	rp->login_timeout = settings->login_timeout > 0 ? settings->login_timeout
							: WR_OIDC_RP_DEFAULT_LOGIN_TIMEOUT;

	/* the claim rules, with every string owned here */
	rp->rules = settings->rules;
	rp->issuer_alias = g_strdup(settings->rules.issuer_alias);
	rp->hosted_domains = copy_list(settings->rules.allowed_hosted_domains);
	rp->emails = copy_list(settings->rules.allowed_emails);
	rp->email_domains = copy_list(settings->rules.allowed_email_domains);
	rp->groups =
		copy_list(settings->allowed_groups != NULL && settings->allowed_groups[0] != NULL
				  ? settings->allowed_groups
				  : settings->rules.allowed_groups);
	rp->rules.issuer = rp->issuer;
	rp->rules.issuer_alias = rp->issuer_alias;
	rp->rules.client_id = rp->client_id;
	if (rp->rules.algs == 0)
		rp->rules.algs = WR_JWS_ALGS_DEFAULT;
	rp->rules.allowed_hosted_domains = (const char *const *) rp->hosted_domains;
	rp->rules.allowed_emails = (const char *const *) rp->emails;
	rp->rules.allowed_email_domains = (const char *const *) rp->email_domains;
	rp->rules.allowed_groups = (const char *const *) rp->groups;

	rp->complete = complete;
	rp->failed = failed;
	rp->user_data = user_data;
	user_agent = g_strdup_printf("warren-control/%s", PACKAGE_VERSION);
	rp->session = soup_session_new_with_options("timeout", FETCH_TIMEOUT, "idle-timeout", 60,
						    "user-agent", user_agent, NULL);
	rp->context = g_main_context_ref_thread_default();
	rp->cancellable = g_cancellable_new();
	rp->pending =
		g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify) pending_free);
	g_queue_init(&rp->discovery_waiters);
	g_queue_init(&rp->jwks_waiters);
	return rp;
}

void
wr_oidc_rp_free(WrOidcRp *rp)
{
	GList *requests;

	if (rp == NULL)
		return;
	g_cancellable_cancel(rp->cancellable);
	if (rp->jwks_timer != NULL) {
		g_source_destroy(rp->jwks_timer);
		g_clear_pointer(&rp->jwks_timer, g_source_unref);
	}
	/* requests waiting here end now; those with a token request under way end when it
	 * reports the cancellation */
	requests = g_steal_pointer(&rp->requests);
	for (GList *l = requests; l != NULL; l = l->next) {
		Request *req = l->data;

		req->rp = NULL;
		if (!req->in_flight)
			request_abandon(req);
	}
	g_list_free(requests);
	g_queue_clear(&rp->discovery_waiters);
	g_queue_clear(&rp->jwks_waiters);
	g_hash_table_unref(rp->pending);
	g_object_unref(rp->session);
	g_object_unref(rp->cancellable);
	g_main_context_unref(rp->context);
	wr_oidc_discovery_free(rp->discovery);
	g_clear_error(&rp->discovery_error);
	wr_jwks_free(rp->jwks);
	g_free(rp->issuer);
	g_free(rp->discovery_url);
	g_free(rp->client_id);
	wipe_free(rp->client_secret);
	g_free(rp->redirect_uri);
	g_free(rp->scope);
	g_free(rp->cookie_path);
	g_free(rp->issuer_alias);
	g_strfreev(rp->hosted_domains);
	g_strfreev(rp->emails);
	g_strfreev(rp->email_domains);
	g_strfreev(rp->groups);
	wr_l10n_unref(rp->l10n);
	g_free(rp);
}
