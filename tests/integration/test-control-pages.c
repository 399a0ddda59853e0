/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The real warren-control's pages for people in the browser's language (docs/control-l10n.md):
 * the /a/ errors and a sign-in that fails at the provider, asked for with different
 * Accept-Language headers, read over HTTP with libsoup.  The catalogues are the build tree's
 * ($WARREN_LOCALEDIR, set by meson and inherited by the server).
 */

#define G_LOG_DOMAIN "WrControlPagesTest"

#include "config.h"

#include <string.h>
#include <sys/socket.h>

#include <libsoup/soup.h>

#include "wr-control-client.h"
#include "wr-crypto.h"
#include "wr-test-control.h"
#include "wr-test-proc.h"
#include "wr-test-util.h"

typedef struct {
	guint status;
	char *body;
	char *content_language;
	char *vary;
} Page;

static void
page_free(Page *p)
{
	g_free(p->body);
	g_free(p->content_language);
	g_free(p->vary);
	g_free(p);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Page, page_free)

static Page *
fetch(const char *method, const char *url, const char *accept_language)
{
	g_autoptr(SoupSession) session = soup_session_new();
	g_autoptr(SoupMessage) msg = soup_message_new(method, url);
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) body = NULL;
	SoupMessageHeaders *headers;
	Page *p = g_new0(Page, 1);

	g_assert_nonnull(msg);
	soup_message_add_flags(msg, SOUP_MESSAGE_NO_REDIRECT);
	if (accept_language != NULL)
		soup_message_headers_append(soup_message_get_request_headers(msg),
					    "Accept-Language", accept_language);
	body = soup_session_send_and_read(session, msg, NULL, &error);
	g_assert_no_error(error);
	headers = soup_message_get_response_headers(msg);
	p->status = soup_message_get_status(msg);
	p->body = g_strndup(g_bytes_get_data(body, NULL), g_bytes_get_size(body));
	p->content_language = g_strdup(soup_message_headers_get_one(headers, "Content-Language"));
	p->vary = g_strdup(soup_message_headers_get_list(headers, "Vary"));
	return p;
}

static void
expect(const Page *p, guint status, const char *tag, const char *title)
{
	g_autofree char *got = html_text_of_id(p->body, "title");

	g_test_message("HTTP %u, Content-Language %s, title %s", p->status, p->content_language,
		       got);
	g_assert_cmpuint(p->status, ==, status);
	g_assert_cmpstr(p->content_language, ==, tag);
	g_assert_nonnull(p->vary);
	g_assert_nonnull(strstr(p->vary, "Accept-Language"));
	g_assert_cmpstr(got, ==, title);
}

static void
test_languages(void)
{
	Ctl c;
	g_autofree char *oidc = NULL;
	g_autofree char *unknown = NULL;
	g_autofree char *message = NULL;
	g_autofree char *detail = NULL;
	g_autoptr(WrControlClient) client = NULL;
	g_autoptr(JsonObject) reg = NULL;
	const char *auth_url;
	Page *p;

	if (g_getenv("WARREN_LOCALEDIR") == NULL) {
		g_test_skip("$WARREN_LOCALEDIR is not set");
		return;
	}
	/* nothing listens on the issuer: a sign-in fails at discovery */
	oidc = g_strdup_printf("[oidc]\nissuer = http://127.0.0.1:%u\nclient-id = warren\n"
			       "client-secret = s\n",
			       wr_test_free_port(SOCK_STREAM));
	ctl_init(&c, oidc);
	ctl_start(&c);
	unknown = g_strdup_printf("%s/a/%s", c.url, "0123456789abcdef0123456789abcdef");

	p = fetch("GET", unknown, "zh-CN,zh;q=0.9,en;q=0.8");
	expect(p, SOUP_STATUS_NOT_FOUND, "zh-CN", "链接已过期");
	message = html_text_of_id(p->body, "message");
	g_assert_cmpstr(message, ==, "此登录链接无效或已过期。请在您的设备上重新开始登录。");
	g_assert_nonnull(strstr(p->body, "<html lang=\"zh-CN\">"));
	page_free(p);
	p = fetch("GET", unknown, "fr-CH, de;q=0.9");
	expect(p, SOUP_STATUS_NOT_FOUND, "fr", "Lien expiré");
	page_free(p);
	p = fetch("GET", unknown, "en-GB, de;q=0.9");
	expect(p, SOUP_STATUS_NOT_FOUND, "en", "Link expired");
	page_free(p);
	p = fetch("GET", unknown, NULL);
	expect(p, SOUP_STATUS_NOT_FOUND, "en", "Link expired");
	page_free(p);
	p = fetch("POST", unknown, "de");
	expect(p, SOUP_STATUS_METHOD_NOT_ALLOWED, "de", "Nicht erlaubt");
	page_free(p);

	/* a real sign-in link; the provider cannot be discovered: the explanation is German,
	 * the server's English words the detail */
	client = ctl_client_new(&c);
	reg = ctl_register(client, NULL, "pages");
	auth_url = json_object_get_string_member(reg, "auth_url");
	g_assert_nonnull(auth_url);
	g_assert_true(g_str_has_prefix(auth_url, c.url));
	p = fetch("GET", auth_url, "de-AT,de;q=0.9");
	expect(p, SOUP_STATUS_BAD_GATEWAY, "de", "Anmeldung fehlgeschlagen");
	g_clear_pointer(&message, g_free);
	message = html_text_of_id(p->body, "message");
	g_assert_cmpstr(message, ==,
			"Der Identitätsanbieter ist gescheitert oder hat die Anmeldung abgelehnt. "
			"Bitte versuchen Sie es später erneut.");
	detail = html_text_of_id(p->body, "detail");
	g_assert_nonnull(detail);
	g_assert_nonnull(strstr(detail, "identity provider"));
	page_free(p);
	ctl_clear(&c);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_assert_true(wr_crypto_init());

	g_test_add_func("/warren/control-pages/languages", test_languages);

	return g_test_run();
}
