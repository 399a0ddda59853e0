/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A blocking warren-control client over GSocket (wr-control-client.h).
 */

#define G_LOG_DOMAIN "WrControlClient"

#include "config.h"

#include <string.h>

#include <gio/gio.h>

#include "wr-control-client.h"
#include "wr-control-seal.h"
#include "wr-key.h"

#define READ_SIZE (64 * 1024)

struct _WrControlClient {
	char *host;
	guint16 port;
	char *host_header;
	guint timeout_ms;
	/* plain memory wiped on free, not guarded: a bench holds thousands of clients, and every
	 * guarded allocation costs mappings and locked pages */
	uint8_t machine_private[WR_CRYPTO_KEY_LEN];
	uint8_t shared[WR_CRYPTO_KEY_LEN]; /* with the server's key, once it is known */
	uint8_t machine_public[WR_CRYPTO_KEY_LEN];
	uint8_t node_public[WR_CRYPTO_KEY_LEN];
	uint8_t disco_public[WR_CRYPTO_KEY_LEN];
	uint8_t server_public[WR_CRYPTO_KEY_LEN];
	gboolean have_server_key;
};

struct _WrControlStream {
	WrControlClient *client; /* borrowed: the client outlives its streams */
	GSocketConnection *conn;
	WrControlHttpReader *reader;
	guint64 frames;
};

/* written out: clang-format spaces the dashes of G_DEFINE_QUARK's name */
GQuark
wr_control_client_http_error_quark(void)
{
	return g_quark_from_static_string("wr-control-client-http-error-quark");
}

static void
public_of_random(uint8_t out_public[WR_CRYPTO_KEY_LEN])
{
	uint8_t priv[WR_CRYPTO_KEY_LEN];

	wr_x25519_generate(priv, out_public);
	wr_memzero(priv, sizeof(priv));
}

WrControlClient *
wr_control_client_new(const char *server_url, GError **error)
{
	g_autoptr(GUri) uri = g_uri_parse(server_url, G_URI_FLAGS_NONE, error);
	WrControlClient *c;
	gint port;

	if (uri == NULL)
		return NULL;
	if (g_strcmp0(g_uri_get_scheme(uri), "http") != 0 || g_uri_get_host(uri) == NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "the test client speaks plain http:// only, not \"%s\"", server_url);
		return NULL;
	}
	port = g_uri_get_port(uri);
	if (port <= 0)
		port = 80;
	c = g_new0(WrControlClient, 1);
	c->host = g_strdup(g_uri_get_host(uri));
	c->port = (guint16) port;
	c->host_header = strchr(c->host, ':') != NULL ? g_strdup_printf("[%s]:%d", c->host, port)
						      : g_strdup_printf("%s:%d", c->host, port);
	c->timeout_ms = WR_CONTROL_CLIENT_DEFAULT_TIMEOUT_MS;
	wr_x25519_generate(c->machine_private, c->machine_public);
	public_of_random(c->node_public);
	public_of_random(c->disco_public);
	return c;
}

void
wr_control_client_free(WrControlClient *c)
{
	if (c == NULL)
		return;
	wr_memzero(c->machine_private, sizeof(c->machine_private));
	wr_memzero(c->shared, sizeof(c->shared));
	g_free(c->host);
	g_free(c->host_header);
	g_free(c);
}

void
wr_control_client_set_timeout(WrControlClient *c, guint timeout_ms)
{
	c->timeout_ms = timeout_ms;
}

const uint8_t *
wr_control_client_machine_public(WrControlClient *c)
{
	return c->machine_public;
}

const uint8_t *
wr_control_client_node_public(WrControlClient *c)
{
	return c->node_public;
}

void
wr_control_client_new_node_key(WrControlClient *c)
{
	public_of_random(c->node_public);
}

const uint8_t *
wr_control_client_disco_public(WrControlClient *c)
{
	return c->disco_public;
}

void
wr_control_client_set_server_key(WrControlClient *c, const uint8_t server_public[WR_CRYPTO_KEY_LEN])
{
	memcpy(c->server_public, server_public, WR_CRYPTO_KEY_LEN);
	/* a low-order key leaves the shared key zero: nothing will open */
	(void) wr_box_beforenm(c->shared, server_public, c->machine_private);
	c->have_server_key = TRUE;
}

const uint8_t *
wr_control_client_server_key(WrControlClient *c)
{
	return c->have_server_key ? c->server_public : NULL;
}

char *
wr_control_client_machine_path(WrControlClient *c, const char *verb)
{
	char hex[WR_KEY_HEX_LEN + 1];

	wr_key_to_hex(hex, c->machine_public);
	return g_strdup_printf("/machine/%s/%s", hex, verb);
}

/* the transport */

static guint
timeout_seconds(guint timeout_ms)
{
	return timeout_ms == 0 ? 0 : MAX(1u, (timeout_ms + 999) / 1000);
}

static GSocketConnection *
send_request(WrControlClient *c, const char *method, const char *path, const void *body, gsize len,
	     GError **error)
{
	g_autoptr(GSocketClient) sc = g_socket_client_new();
	g_autoptr(GSocketConnection) conn = NULL;
	g_autofree char *head = NULL;
	GOutputStream *out;
	GSocket *sock;

	g_socket_client_set_enable_proxy(sc, FALSE);
	g_socket_client_set_timeout(sc, timeout_seconds(c->timeout_ms));
	conn = g_socket_client_connect_to_host(sc, c->host, c->port, NULL, error);
	if (conn == NULL) {
		g_prefix_error(error, "connecting to %s: ", c->host_header);
		return NULL;
	}
	sock = g_socket_connection_get_socket(conn);
	g_socket_set_timeout(sock, timeout_seconds(c->timeout_ms));
	head = g_strdup_printf("%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: warren-test-client\r\n"
			       "%s%" G_GSIZE_FORMAT "\r\nConnection: close\r\n\r\n",
			       method, path, c->host_header,
			       body != NULL ? "Content-Type: application/octet-stream\r\n"
					      "Content-Length: "
					    : "Content-Length: ",
			       body != NULL ? len : 0);
	out = g_io_stream_get_output_stream(G_IO_STREAM(conn));
	if (!g_output_stream_write_all(out, head, strlen(head), NULL, NULL, error) ||
	    (body != NULL && len > 0 &&
	     !g_output_stream_write_all(out, body, len, NULL, NULL, error))) {
		g_prefix_error(error, "sending %s %s: ", method, path);
		return NULL;
	}
	/* reads wait in g_socket_condition_timed_wait, with a timeout in milliseconds */
	g_socket_set_timeout(sock, 0);
	return g_steal_pointer(&conn);
}

/*
 * waits up to timeout_ms (0: for ever) for bytes and feeds them to the reader; *out_eof at the
 * end of the connection (the reader has been told)
 */
static gboolean
read_some(GSocketConnection *conn, WrControlHttpReader *reader, guint timeout_ms, gboolean *out_eof,
	  GError **error)
{
	GSocket *sock = g_socket_connection_get_socket(conn);
	g_autofree guint8 *buf = g_malloc(READ_SIZE);
	gssize n;

	*out_eof = FALSE;
	if (!g_socket_condition_timed_wait(
		    sock, G_IO_IN, timeout_ms == 0 ? -1 : (gint64) timeout_ms * 1000, NULL, error))
		return FALSE;
	n = g_socket_receive(sock, (gchar *) buf, READ_SIZE, NULL, error);
	if (n < 0)
		return FALSE;
	if (n == 0) {
		*out_eof = TRUE;
		return wr_control_http_reader_eof(reader, error);
	}
	return wr_control_http_reader_feed(reader, buf, (gsize) n, error);
}

/* reads until the body is done */
static gboolean
read_whole(WrControlClient *c, GSocketConnection *conn, WrControlHttpReader *reader, GError **error)
{
	while (!wr_control_http_reader_body_done(reader)) {
		gboolean eof = FALSE;

		if (!read_some(conn, reader, c->timeout_ms, &eof, error))
			return FALSE;
		if (eof && !wr_control_http_reader_body_done(reader)) {
			g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
					    "the server closed the connection early");
			return FALSE;
		}
	}
	return TRUE;
}

/* a non-200 answer as an error with the server's text */
static void
set_http_error(WrControlHttpReader *reader, GError **error)
{
	g_autoptr(GBytes) body = wr_control_http_reader_body(reader);
	guint status = wr_control_http_reader_status(reader);
	g_autofree char *text = NULL;

	if (body != NULL && g_bytes_get_size(body) > 0) {
		text = g_utf8_make_valid(g_bytes_get_data(body, NULL),
					 (gssize) g_bytes_get_size(body));
		g_strstrip(text);
	}
	g_set_error(error, WR_CONTROL_CLIENT_HTTP_ERROR, (gint) status, "HTTP %u: %s", status,
		    text != NULL && *text != '\0' ? text : "(no text)");
}

gboolean
wr_control_client_post_raw(WrControlClient *c, const char *path, const void *body, gsize len,
			   guint *out_status, GBytes **out_body, GError **error)
{
	g_autoptr(GSocketConnection) conn = NULL;
	g_autoptr(WrControlHttpReader) reader = wr_control_http_reader_new(
		WR_CONTROL_HTTP_BODY_WHOLE, WR_CONTROL_CLIENT_MAX_BODY, 0);
	GBytes *answer;

	conn = send_request(c, "POST", path, body != NULL ? body : "", len, error);
	if (conn == NULL || !read_whole(c, conn, reader, error))
		return FALSE;
	answer = wr_control_http_reader_body(reader);
	*out_status = wr_control_http_reader_status(reader);
	*out_body = answer != NULL ? answer : g_bytes_new(NULL, 0);
	return TRUE;
}

gboolean
wr_control_client_fetch_key(WrControlClient *c, GError **error)
{
	g_autoptr(GSocketConnection) conn = NULL;
	g_autoptr(WrControlHttpReader) reader =
		wr_control_http_reader_new(WR_CONTROL_HTTP_BODY_WHOLE, 64 * 1024, 0);
	g_autoptr(GBytes) body = NULL;
	g_autoptr(JsonParser) parser = json_parser_new_immutable();
	JsonNode *root;
	const char *text;
	uint8_t key[WR_CRYPTO_KEY_LEN];

	conn = send_request(c, "GET", "/key?v=1", NULL, 0, error);
	if (conn == NULL || !read_whole(c, conn, reader, error))
		return FALSE;
	if (wr_control_http_reader_status(reader) != 200) {
		set_http_error(reader, error);
		return FALSE;
	}
	body = wr_control_http_reader_body(reader);
	if (!json_parser_load_from_data(parser, g_bytes_get_data(body, NULL),
					(gssize) g_bytes_get_size(body), error)) {
		g_prefix_error(error, "GET /key: ");
		return FALSE;
	}
	root = json_parser_get_root(parser);
	text = root != NULL && JSON_NODE_HOLDS_OBJECT(root)
		       ? json_object_get_string_member_with_default(json_node_get_object(root),
								    "server_key", NULL)
		       : NULL;
	if (text == NULL || !wr_key_from_text(key, WR_KEY_KIND_MACHINE, text)) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "GET /key: no \"server_key\": \"mkey:<64 hex>\" in the answer");
		return FALSE;
	}
	wr_control_client_set_server_key(c, key);
	return TRUE;
}

/* sealing */

GBytes *
wr_control_client_seal(WrControlClient *c, JsonObject *request, GError **error)
{
	g_autoptr(JsonObject) copy = json_object_new();
	g_autoptr(JsonNode) root = json_node_new(JSON_NODE_OBJECT);
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autofree char *text = NULL;
	gsize len = 0;
	GBytes *sealed;

	if (!c->have_server_key) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED,
				    "the server key is not known yet (GET /key first)");
		return NULL;
	}
	json_object_set_int_member(copy, "version", 1);
	if (!json_object_has_member(request, "ts"))
		json_object_set_int_member(copy, "ts", g_get_real_time() / G_USEC_PER_SEC);
	{
		g_autoptr(GList) members = json_object_get_members(request);

		for (GList *l = members; l != NULL; l = l->next)
			json_object_set_member(
				copy, l->data,
				json_node_copy(json_object_get_member(request, l->data)));
	}
	json_node_set_object(root, copy);
	json_generator_set_root(gen, root);
	text = json_generator_to_data(gen, &len);
	sealed = wr_control_seal_box(text, len, NULL, c->server_public, c->machine_private, error);
	wr_memzero(text, len);
	return sealed;
}

guint8 *
wr_control_client_open_plain(WrControlClient *c, const void *sealed, gsize len, gsize *out_len,
			     GError **error)
{
	const guint8 *p = sealed;
	guint8 *plain;

	if (!c->have_server_key) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED,
				    "the server key is not known yet (GET /key first)");
		return NULL;
	}
	if (len < WR_CONTROL_SEAL_OVERHEAD ||
	    len - WR_CONTROL_SEAL_OVERHEAD > WR_CONTROL_CLIENT_MAX_BODY) {
		g_set_error(error, WR_CONTROL_SEAL_ERROR, WR_CONTROL_SEAL_ERROR_BAD_SEAL,
			    "a sealed answer of %" G_GSIZE_FORMAT
			    " bytes (at least %d, at most %d)",
			    len, WR_CONTROL_SEAL_OVERHEAD,
			    WR_CONTROL_CLIENT_MAX_BODY + WR_CONTROL_SEAL_OVERHEAD);
		return NULL;
	}
	plain = g_malloc(len - WR_CONTROL_SEAL_OVERHEAD + 1);
	if (!wr_box_open_afternm(plain, p + WR_BOX_NONCE_LEN, len - WR_BOX_NONCE_LEN, p,
				 c->shared)) {
		g_free(plain);
		g_set_error_literal(
			error, WR_CONTROL_SEAL_ERROR, WR_CONTROL_SEAL_ERROR_BAD_SEAL,
			"the server's sealed answer does not open with this machine key");
		return NULL;
	}
	plain[len - WR_CONTROL_SEAL_OVERHEAD] = '\0';
	*out_len = len - WR_CONTROL_SEAL_OVERHEAD;
	return plain;
}

JsonObject *
wr_control_client_open(WrControlClient *c, const void *sealed, gsize len, GError **error)
{
	g_autoptr(JsonParser) parser = json_parser_new_immutable();
	gsize plain_len = 0;
	guint8 *plain = wr_control_client_open_plain(c, sealed, len, &plain_len, error);
	gboolean ok;
	JsonNode *root;

	if (plain == NULL)
		return NULL;
	ok = json_parser_load_from_data(parser, (const char *) plain, (gssize) plain_len, error);
	wr_memzero(plain, plain_len);
	g_free(plain);
	if (!ok) {
		g_prefix_error(error, "the server's sealed answer is not JSON: ");
		return NULL;
	}
	root = json_parser_get_root(parser);
	if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "the server's sealed answer is not a JSON object");
		return NULL;
	}
	return json_object_ref(json_node_get_object(root));
}

JsonObject *
wr_control_client_call(WrControlClient *c, const char *verb, JsonObject *request, GError **error)
{
	g_autoptr(GBytes) sealed = wr_control_client_seal(c, request, error);
	g_autofree char *path = wr_control_client_machine_path(c, verb);
	g_autoptr(GBytes) body = NULL;
	g_autoptr(GSocketConnection) conn = NULL;
	g_autoptr(WrControlHttpReader) reader = wr_control_http_reader_new(
		WR_CONTROL_HTTP_BODY_WHOLE, WR_CONTROL_CLIENT_MAX_BODY, 0);

	if (sealed == NULL)
		return NULL;
	conn = send_request(c, "POST", path, g_bytes_get_data(sealed, NULL),
			    g_bytes_get_size(sealed), error);
	if (conn == NULL || !read_whole(c, conn, reader, error))
		return NULL;
	if (wr_control_http_reader_status(reader) != 200) {
		set_http_error(reader, error);
		return NULL;
	}
	body = wr_control_http_reader_body(reader);
	return wr_control_client_open(c, g_bytes_get_data(body, NULL), g_bytes_get_size(body),
				      error);
}

/* streams */

WrControlStream *
wr_control_client_map_stream(WrControlClient *c, JsonObject *request, GError **error)
{
	g_autoptr(JsonObject) req = json_object_new();
	g_autoptr(GList) members = json_object_get_members(request);
	g_autoptr(GBytes) sealed = NULL;
	g_autofree char *path = wr_control_client_machine_path(c, "map");
	g_autoptr(GSocketConnection) conn = NULL;
	g_autoptr(WrControlHttpReader) reader = wr_control_http_reader_new(
		WR_CONTROL_HTTP_BODY_FRAMES, WR_CONTROL_CLIENT_MAX_BODY, 0);
	WrControlStream *s;

	for (GList *l = members; l != NULL; l = l->next)
		json_object_set_member(req, l->data,
				       json_node_copy(json_object_get_member(request, l->data)));
	json_object_set_boolean_member(req, "stream", TRUE);
	sealed = wr_control_client_seal(c, req, error);
	if (sealed == NULL)
		return NULL;
	conn = send_request(c, "POST", path, g_bytes_get_data(sealed, NULL),
			    g_bytes_get_size(sealed), error);
	if (conn == NULL)
		return NULL;
	while (!wr_control_http_reader_head_done(reader)) {
		gboolean eof = FALSE;

		if (!read_some(conn, reader, c->timeout_ms, &eof, error))
			return NULL;
	}
	if (wr_control_http_reader_status(reader) != 200) {
		if (read_whole(c, conn, reader, error))
			set_http_error(reader, error);
		return NULL;
	}
	s = g_new0(WrControlStream, 1);
	s->client = c;
	s->conn = g_steal_pointer(&conn);
	s->reader = g_steal_pointer(&reader);
	return s;
}

JsonObject *
wr_control_stream_next(WrControlStream *s, guint timeout_ms, GError **error)
{
	gint64 deadline = g_get_monotonic_time() + (gint64) timeout_ms * 1000;

	for (;;) {
		g_autoptr(GBytes) payload = NULL;
		gsize len = 0;
		gboolean eof = FALSE;
		gint64 left;

		if (wr_control_http_reader_pop_frame(s->reader, &payload, &len)) {
			s->frames++;
			return wr_control_client_open(s->client, g_bytes_get_data(payload, NULL),
						      g_bytes_get_size(payload), error);
		}
		if (wr_control_http_reader_body_done(s->reader)) {
			g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
					    "the server ended the map stream");
			return NULL;
		}
		left = deadline - g_get_monotonic_time();
		if (left <= 0) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
				    "no map frame within %u ms", timeout_ms);
			return NULL;
		}
		if (!read_some(s->conn, s->reader, (guint) MAX(1, (left + 999) / 1000), &eof,
			       error))
			return NULL;
		if (eof && wr_control_http_reader_frames_ready(s->reader) == 0) {
			g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
					    "the server ended the map stream");
			return NULL;
		}
	}
}

guint64
wr_control_stream_frames(WrControlStream *s)
{
	return s->frames;
}

guint64
wr_control_stream_bytes(WrControlStream *s)
{
	return wr_control_http_reader_body_bytes(s->reader);
}

void
wr_control_stream_free(WrControlStream *s)
{
	if (s == NULL)
		return;
	if (s->conn != NULL)
		(void) g_io_stream_close(G_IO_STREAM(s->conn), NULL, NULL);
	g_clear_object(&s->conn);
	wr_control_http_reader_free(s->reader);
	g_free(s);
}

/* request builders */

JsonObject *
wr_control_client_hostinfo(const char *hostname)
{
	JsonObject *h = json_object_new();

	json_object_set_string_member(h, "hostname", hostname != NULL ? hostname : "test-node");
	json_object_set_string_member(h, "os", "linux");
	json_object_set_string_member(h, "os_version", "");
	json_object_set_string_member(h, "app_version", "warren-test");
	json_object_set_array_member(h, "routable_ips", json_array_new());
	json_object_set_array_member(h, "request_tags", json_array_new());
	return h;
}

static void
set_key(JsonObject *o, const char *name, WrKeyKind kind, const uint8_t key[WR_CRYPTO_KEY_LEN])
{
	g_autofree char *text = wr_key_to_text(kind, key);

	json_object_set_string_member(o, name, text);
}

JsonObject *
wr_control_client_register_request(WrControlClient *c, const char *auth_key, const char *hostname)
{
	JsonObject *o = json_object_new();

	set_key(o, "node_key", WR_KEY_KIND_NODE, c->node_public);
	json_object_set_string_member(o, "old_node_key", "");
	json_object_set_string_member(o, "auth_key", auth_key != NULL ? auth_key : "");
	json_object_set_string_member(o, "followup", "");
	json_object_set_boolean_member(o, "logout", FALSE);
	json_object_set_int_member(o, "expiry", 0);
	json_object_set_object_member(o, "hostinfo", wr_control_client_hostinfo(hostname));
	return o;
}

JsonObject *
wr_control_client_map_request(WrControlClient *c, const char *const *endpoints, gboolean stream,
			      const char *hostname)
{
	JsonObject *o = json_object_new();
	JsonArray *eps = json_array_new();

	set_key(o, "node_key", WR_KEY_KIND_NODE, c->node_public);
	set_key(o, "disco_key", WR_KEY_KIND_DISCO, c->disco_public);
	for (guint i = 0; endpoints != NULL && endpoints[i] != NULL; i++) {
		JsonObject *e = json_object_new();

		json_object_set_string_member(e, "addr", endpoints[i]);
		json_object_set_string_member(e, "type", "stun");
		json_array_add_object_element(eps, e);
	}
	json_object_set_array_member(o, "endpoints", eps);
	json_object_set_object_member(o, "hostinfo", wr_control_client_hostinfo(hostname));
	json_object_set_boolean_member(o, "stream", stream);
	json_object_set_boolean_member(o, "omit_peers", FALSE);
	return o;
}
