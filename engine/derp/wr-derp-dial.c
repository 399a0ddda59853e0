/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrDerpDial"

#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <string.h>

#include <libsoup/soup.h>

#include "wr-crypto.h"
#include "wr-derp-dial-private.h"
#include "wr-derp-dial.h"
#include "wr-key.h"
#include "wr-sockmark.h"
#include "wr-source.h"

/* how much one read asks for while dialing */
#define WR_DERP_DIAL_READ_CHUNK 4096
#define WR_DERP_DIAL_HTTPS_PORT 443
#define WR_DERP_DIAL_HTTP_PORT	80
#define WR_DERP_DIAL_PATH	"/derp"
#define WR_SHA256_LEN		32

typedef enum {
	STAGE_CONNECT,
	STAGE_TLS,
	STAGE_REQUEST,
	STAGE_RESPONSE,
	STAGE_SERVER_KEY,
	STAGE_CLIENT_INFO,
	STAGE_SERVER_INFO,
} Stage;

static const char *
stage_to_string(Stage stage)
{
	switch (stage) {
	case STAGE_CONNECT:
		return "connecting";
	case STAGE_TLS:
		return "in the TLS handshake";
	case STAGE_REQUEST:
		return "sending the upgrade request";
	case STAGE_RESPONSE:
		return "reading the HTTP response";
	case STAGE_SERVER_KEY:
		return "reading the server key";
	case STAGE_CLIENT_INFO:
		return "sending the client info";
	case STAGE_SERVER_INFO:
		return "reading the server info";
	default:
		return "dialing";
	}
}

typedef struct {
	/* what to dial */
	gchar *host;	 /* the URL host, without brackets */
	guint16 port;	 /* explicit or the scheme's default */
	gchar *hostport; /* "host:port", brackets around IPv6, for messages */
	gboolean tls;
	gchar *request; /* the whole upgrade request */
	GInetAddress *connect_address;
	gboolean has_pin;
	guint8 pin[WR_SHA256_LEN];
	gchar *verify_name; /* the name the certificate must be valid for, when not pinned */
	gboolean insecure;
	guint8 node_private[WR_KEY_LEN];
	WrDerpClientInfoBody info;
	guint timeout_ms;

	/* progress */
	Stage stage;
	GCancellable *cancellable; /* ours: fires on the caller's cancellable and on timeout */
	GCancellable *caller_cancellable;
	gulong caller_cancel_id;
	GSource *timeout_source;
	gboolean timed_out;
	GSocketClient *client;
	GSocketConnection *tcp;
	GIOStream *stream;
	gulong accept_certificate_id; /* on stream, with this struct as data */
	gchar *tls_failure;	      /* why the certificate was refused, from accept-certificate */
	GByteArray *buf;	      /* bytes read and not consumed yet */
	gsize read_at;
	GByteArray *out; /* what is being written */
	guint8 server_key[WR_KEY_LEN];
	WrDerpServerInfoBody server_info;
} Dial;

static void
dial_stop(Dial *d)
{
	if (d->accept_certificate_id != 0) {
		g_signal_handler_disconnect(d->stream, d->accept_certificate_id);
		d->accept_certificate_id = 0;
	}
	wr_source_clear(&d->timeout_source);
	if (d->caller_cancel_id != 0) {
		g_cancellable_disconnect(d->caller_cancellable, d->caller_cancel_id);
		d->caller_cancel_id = 0;
	}
}

static void
dial_free(Dial *d)
{
	dial_stop(d);
	g_free(d->host);
	g_free(d->hostport);
	g_free(d->request);
	g_clear_object(&d->connect_address);
	g_free(d->verify_name);
	wr_memzero(d->node_private, sizeof(d->node_private));
	wr_memzero(&d->info, sizeof(d->info));
	g_clear_object(&d->cancellable);
	g_clear_object(&d->caller_cancellable);
	g_clear_object(&d->client);
	g_clear_object(&d->stream);
	g_clear_object(&d->tcp);
	g_free(d->tls_failure);
	g_clear_pointer(&d->buf, g_byte_array_unref);
	g_clear_pointer(&d->out, g_byte_array_unref);
	g_free(d);
}

void
wr_derp_conn_free(WrDerpConn *conn)
{
	if (conn == NULL)
		return;
	g_clear_object(&conn->stream);
	g_clear_object(&conn->socket);
	g_clear_pointer(&conn->pending, g_byte_array_unref);
	g_clear_object(&conn->remote);
	g_free(conn);
}

/* the operation holds one reference on the task until it returns through one of these */
static void
dial_fail(GTask *task, GError *error)
{
	Dial *d = g_task_get_task_data(task);

	dial_stop(d);
	if (d->timed_out && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
		g_clear_error(&error);
		error = g_error_new(G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "timed out after %u ms %s",
				    d->timeout_ms, stage_to_string(d->stage));
	}
	g_prefix_error(&error, "%s: ", d->hostport);
	g_task_return_error(task, error);
	g_object_unref(task);
}

static void
dial_fail_with(GTask *task, gint code, const char *format, ...) G_GNUC_PRINTF(3, 4);

static void
dial_fail_with(GTask *task, gint code, const char *format, ...)
{
	va_list ap;
	GError *error;

	va_start(ap, format);
	error = g_error_new_valist(G_IO_ERROR, code, format, ap);
	va_end(ap);
	dial_fail(task, error);
}

static void
dial_succeed(GTask *task)
{
	Dial *d = g_task_get_task_data(task);
	WrDerpConn *conn = g_new0(WrDerpConn, 1);

	dial_stop(d);
	conn->stream = g_steal_pointer(&d->stream);
	conn->socket = g_object_ref(g_socket_connection_get_socket(d->tcp));
	conn->remote = g_socket_connection_get_remote_address(d->tcp, NULL);
	conn->pending = g_steal_pointer(&d->buf);
	memcpy(conn->server_key, d->server_key, sizeof(conn->server_key));
	conn->server_info = d->server_info;
	g_task_return_pointer(task, conn, (GDestroyNotify) wr_derp_conn_free);
	g_object_unref(task);
}

/* HTTP */

ssize_t
wr_derp_dial_parse_response(const char *buf, size_t len, guint *out_status, char **out_reason)
{
	size_t limit = MIN(len, (size_t) WR_DERP_DIAL_MAX_RESPONSE_LEN);
	size_t head_len = 0;
	size_t total = 0;
	g_autoptr(SoupMessageHeaders) headers = NULL;
	g_autofree char *head = NULL;
	g_autofree char *reason = NULL;
	SoupHTTPVersion version;
	guint status = 0;

	/* the head ends at a blank line: a line feed, an optional CR, a line feed */
	for (size_t i = 0; i < limit; i++) {
		if (buf[i] != '\n')
			continue;
		if (i + 1 < limit && buf[i + 1] == '\n') {
			head_len = i + 1;
			total = i + 2;
			break;
		}
		if (i + 2 < limit && buf[i + 1] == '\r' && buf[i + 2] == '\n') {
			head_len = i + 1;
			total = i + 3;
			break;
		}
	}
	if (total == 0)
		return len >= WR_DERP_DIAL_MAX_RESPONSE_LEN ? -EMSGSIZE : 0;
	/* libsoup refuses NULs too, but reads the first line as a C string before checking */
	if (memchr(buf, '\0', total) != NULL)
		return -EBADMSG;

	head = g_strndup(buf, total);
	headers = soup_message_headers_new(SOUP_MESSAGE_HEADERS_RESPONSE);
	if (!soup_headers_parse_response(head, (int) head_len, headers, &version, &status, &reason))
		return -EBADMSG;
	*out_status = status;
	*out_reason = g_steal_pointer(&reason);
	return (ssize_t) total;
}

/* the request target and Host header of §2.1; false for a value that would break the request */
static gboolean
request_value_ok(const char *s)
{
	for (const char *p = s; *p != '\0'; p++) {
		if ((guchar) *p <= ' ' || (guchar) *p == 0x7f)
			return FALSE;
	}
	return TRUE;
}

static gchar *
build_request(const char *path, const char *host_header, const char *ideal_node)
{
	GString *req = g_string_new(NULL);

	g_string_append_printf(req, "GET %s HTTP/1.1\r\n", path);
	g_string_append_printf(req, "Host: %s\r\n", host_header);
	g_string_append(req, "Connection: Upgrade\r\n");
	g_string_append(req, "Upgrade: DERP\r\n");
	if (ideal_node != NULL && ideal_node[0] != '\0')
		g_string_append_printf(req, "Ideal-Node: %s\r\n", ideal_node);
	g_string_append(req, "\r\n");
	return g_string_free(req, FALSE);
}

/* options */

static gboolean
parse_pin(Dial *d, const char *cert_name, GError **error)
{
	const char *hex = cert_name + strlen(WR_DERP_DIAL_CERT_PIN_PREFIX);

	if (strlen(hex) != 2 * WR_SHA256_LEN) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "certificate pin %s is not 64 hex digits", cert_name);
		return FALSE;
	}
	for (gsize i = 0; i < WR_SHA256_LEN; i++) {
		gint hi = g_ascii_xdigit_value(hex[2 * i]);
		gint lo = g_ascii_xdigit_value(hex[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "certificate pin %s is not 64 hex digits", cert_name);
			return FALSE;
		}
		d->pin[i] = (guint8) ((hi << 4) | lo);
	}
	d->has_pin = TRUE;
	return TRUE;
}

static gboolean
dial_setup(Dial *d, const char *url, const uint8_t node_private[32],
	   const WrDerpDialOptions *options, GError **error)
{
	g_autoptr(GUri) uri = NULL;
	g_autoptr(GError) uri_error = NULL;
	g_autoptr(GInetAddress) host_ip = NULL;
	g_autofree gchar *host_header = NULL;
	g_autofree gchar *target = NULL;
	const char *scheme;
	const char *path;
	gint port;
	guint8 node_public[WR_KEY_LEN];
	gboolean bracket;

	uri = g_uri_parse(url, G_URI_FLAGS_NONE, &uri_error);
	if (uri == NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "bad DERP URL: %s",
			    uri_error->message);
		return FALSE;
	}
	scheme = g_uri_get_scheme(uri);
	if (g_ascii_strcasecmp(scheme, "https") == 0) {
		d->tls = TRUE;
	} else if (g_ascii_strcasecmp(scheme, "http") != 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "bad DERP URL: the scheme is neither https nor http");
		return FALSE;
	}
	if (g_uri_get_host(uri) == NULL || g_uri_get_host(uri)[0] == '\0' ||
	    g_uri_get_userinfo(uri) != NULL || g_uri_get_fragment(uri) != NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "bad DERP URL: expected %s://HOST[:PORT]/derp", scheme);
		return FALSE;
	}
	d->host = g_strdup(g_uri_get_host(uri));
	port = g_uri_get_port(uri);
	if (port == 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "bad DERP URL: port 0");
		return FALSE;
	}
	g_free(d->hostport);
	d->port = port > 0 ? (guint16) port
			   : (d->tls ? WR_DERP_DIAL_HTTPS_PORT : WR_DERP_DIAL_HTTP_PORT);
	bracket = strchr(d->host, ':') != NULL;
	d->hostport = g_strdup_printf(bracket ? "[%s]:%u" : "%s:%u", d->host, d->port);
	if (port < 0 || d->port == (d->tls ? WR_DERP_DIAL_HTTPS_PORT : WR_DERP_DIAL_HTTP_PORT))
		host_header = g_strdup_printf(bracket ? "[%s]" : "%s", d->host);
	else
		host_header = g_strdup(d->hostport);
	path = g_uri_get_path(uri);
	if (path[0] == '\0')
		path = WR_DERP_DIAL_PATH;
	target = g_uri_get_query(uri) != NULL ? g_strdup_printf("%s?%s", path, g_uri_get_query(uri))
					      : g_strdup(path);
	if (target[0] != '/' || !request_value_ok(target) || !request_value_ok(host_header)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "bad DERP URL: characters not allowed in a request");
		return FALSE;
	}

	if (options->ideal_node != NULL &&
	    (strlen(options->ideal_node) > WR_DERP_DIAL_MAX_IDEAL_NODE_LEN ||
	     !request_value_ok(options->ideal_node))) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "Ideal-Node must be at most %u printable characters without spaces",
			    WR_DERP_DIAL_MAX_IDEAL_NODE_LEN);
		return FALSE;
	}
	d->request = build_request(target, host_header, options->ideal_node);

	if (options->connect_address != NULL) {
		d->connect_address = g_inet_address_new_from_string(options->connect_address);
		if (d->connect_address == NULL) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "connect address %s is not an IP address",
				    options->connect_address);
			return FALSE;
		}
	}
	d->insecure = options->insecure_skip_verify;
	/* plain http only to loopback; a name is checked again once connected */
	host_ip = g_inet_address_new_from_string(d->host);
	if (!d->tls && !d->insecure) {
		GInetAddress *known = d->connect_address != NULL ? d->connect_address : host_ip;

		if (known != NULL && !g_inet_address_get_is_loopback(known)) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "refusing plain http to %s, which is not a loopback address",
				    d->hostport);
			return FALSE;
		}
	}
	if (options->cert_name != NULL &&
	    g_str_has_prefix(options->cert_name, WR_DERP_DIAL_CERT_PIN_PREFIX)) {
		if (!parse_pin(d, options->cert_name, error))
			return FALSE;
	} else {
		d->verify_name =
			g_strdup(options->cert_name != NULL ? options->cert_name : d->host);
	}

	if (!wr_x25519_public(node_public, node_private)) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "the node private key is all zeros");
		return FALSE;
	}
	memcpy(d->node_private, node_private, sizeof(d->node_private));
	d->info.version = DERP_PROTOCOL_VERSION;
	d->info.can_ack_pings = true;
	d->info.is_prober = options->is_prober;
	if (options->mesh_key != NULL) {
		d->info.has_mesh_key = true;
		memcpy(d->info.mesh_key, options->mesh_key, sizeof(d->info.mesh_key));
	}
	if (options->app_name != NULL) {
		if (strlen(options->app_name) >= sizeof(d->info.app_name) ||
		    !g_utf8_validate(options->app_name, -1, NULL)) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "AppName must be at most %zu bytes of UTF-8",
				    sizeof(d->info.app_name) - 1);
			return FALSE;
		}
		g_strlcpy(d->info.app_name, options->app_name, sizeof(d->info.app_name));
	}
	d->timeout_ms =
		options->timeout_ms != 0 ? options->timeout_ms : WR_DERP_DIAL_DEFAULT_TIMEOUT_MS;
	return TRUE;
}

/* reading and writing */

static void
dial_advance(GTask *task);

static void
dial_read_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	GTask *task = G_TASK(user_data);
	Dial *d = g_task_get_task_data(task);
	GError *error = NULL;
	gssize n = g_input_stream_read_finish(G_INPUT_STREAM(source), res, &error);

	if (n < 0) {
		g_prefix_error(&error, "%s: ", stage_to_string(d->stage));
		dial_fail(task, error);
		return;
	}
	g_byte_array_set_size(d->buf, (guint) (d->read_at + (gsize) n));
	if (n == 0) {
		dial_fail_with(task, G_IO_ERROR_CONNECTION_CLOSED,
			       "the server closed the connection while %s",
			       stage_to_string(d->stage));
		return;
	}
	dial_advance(task);
}

static void
dial_read_more(GTask *task)
{
	Dial *d = g_task_get_task_data(task);

	d->read_at = d->buf->len;
	g_byte_array_set_size(d->buf, (guint) (d->read_at + WR_DERP_DIAL_READ_CHUNK));
	g_input_stream_read_async(g_io_stream_get_input_stream(d->stream),
				  d->buf->data + d->read_at, WR_DERP_DIAL_READ_CHUNK,
				  G_PRIORITY_DEFAULT, d->cancellable, dial_read_cb, task);
}

static void
dial_write_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	GTask *task = G_TASK(user_data);
	Dial *d = g_task_get_task_data(task);
	GError *error = NULL;

	if (!g_output_stream_write_all_finish(G_OUTPUT_STREAM(source), res, NULL, &error)) {
		g_prefix_error(&error, "%s: ", stage_to_string(d->stage));
		dial_fail(task, error);
		return;
	}
	g_byte_array_set_size(d->out, 0);
	d->stage = d->stage == STAGE_REQUEST ? STAGE_RESPONSE : STAGE_SERVER_INFO;
	dial_advance(task);
}

static void
dial_write(GTask *task)
{
	Dial *d = g_task_get_task_data(task);

	g_output_stream_write_all_async(g_io_stream_get_output_stream(d->stream), d->out->data,
					d->out->len, G_PRIORITY_DEFAULT, d->cancellable,
					dial_write_cb, task);
}

static void
dial_send_request(GTask *task)
{
	Dial *d = g_task_get_task_data(task);

	d->stage = STAGE_REQUEST;
	g_byte_array_append(d->out, (const guint8 *) d->request, (guint) strlen(d->request));
	dial_write(task);
}

static const char *
frame_name(uint8_t type, char buf[8])
{
	const char *name = wr_derp_frame_type_to_string(type);

	if (name != NULL)
		return name;
	g_snprintf(buf, 8, "0x%02x", type);
	return buf;
}

/* the 101, or an error; true when the stage moved on */
static gboolean
handle_response(GTask *task, gboolean *need_more)
{
	Dial *d = g_task_get_task_data(task);
	g_autofree char *reason = NULL;
	guint status = 0;
	ssize_t n = wr_derp_dial_parse_response((const char *) d->buf->data, d->buf->len, &status,
						&reason);

	if (n == 0) {
		*need_more = TRUE;
		return FALSE;
	}
	if (n == -EMSGSIZE) {
		dial_fail_with(task, G_IO_ERROR_INVALID_DATA,
			       "HTTP response head longer than %u bytes",
			       WR_DERP_DIAL_MAX_RESPONSE_LEN);
		return FALSE;
	}
	if (n < 0) {
		dial_fail_with(task, G_IO_ERROR_INVALID_DATA, "malformed HTTP response");
		return FALSE;
	}
	if (status != SOUP_STATUS_SWITCHING_PROTOCOLS) {
		dial_fail_with(task, G_IO_ERROR_FAILED,
			       "HTTP %u %s instead of 101 Switching Protocols", status, reason);
		return FALSE;
	}
	g_byte_array_remove_range(d->buf, 0, (guint) n);
	d->stage = STAGE_SERVER_KEY;
	return TRUE;
}

static void
handle_server_key(GTask *task, gboolean *need_more)
{
	Dial *d = g_task_get_task_data(task);
	WrDerpFrame f;
	char name[8];
	ssize_t n;
	int r;

	n = wr_derp_frame_decode(d->buf->data, d->buf->len, DERP_MAX_SERVER_KEY_FRAME_SIZE, &f);
	if (n == 0) {
		*need_more = TRUE;
		return;
	}
	if (n < 0) {
		dial_fail_with(task, G_IO_ERROR_INVALID_DATA,
			       "first frame longer than the %u-byte greeting limit",
			       DERP_MAX_SERVER_KEY_FRAME_SIZE);
		return;
	}
	if (f.type != DERP_FRAME_SERVER_KEY) {
		dial_fail_with(task, G_IO_ERROR_INVALID_DATA, "expected a ServerKey frame, got %s",
			       frame_name(f.type, name));
		return;
	}
	r = wr_derp_parse_server_key(f.payload, f.len, d->server_key);
	if (r == -EPROTO) {
		dial_fail_with(task, G_IO_ERROR_INVALID_DATA,
			       "server key frame without DERP magic");
		return;
	}
	if (r < 0) {
		dial_fail_with(task, G_IO_ERROR_INVALID_DATA,
			       "server key frame of %u bytes is too short", f.len);
		return;
	}
	g_byte_array_remove_range(d->buf, 0, (guint) n);

	r = wr_derp_info_append_client_info(d->out, &d->info, d->node_private, d->server_key);
	if (r < 0) {
		dial_fail_with(task, G_IO_ERROR_INVALID_DATA,
			       "cannot seal the client info to the server key: %s", g_strerror(-r));
		return;
	}
	d->stage = STAGE_CLIENT_INFO;
	dial_write(task);
	return;
}

static void
handle_server_info(GTask *task, gboolean *need_more)
{
	Dial *d = g_task_get_task_data(task);

	for (;;) {
		WrDerpFrame f;
		WrDerpBox box;
		char name[8];
		ssize_t n;
		int r;

		n = wr_derp_frame_decode(d->buf->data, d->buf->len, DERP_MAX_FRAME_SIZE, &f);
		if (n == 0) {
			*need_more = TRUE;
			return;
		}
		if (n < 0) {
			dial_fail_with(task, G_IO_ERROR_INVALID_DATA, "frame longer than %u bytes",
				       DERP_MAX_FRAME_SIZE);
			return;
		}
		/* unknown types are skipped (§2.5), and so is an early keepalive */
		if (!wr_derp_frame_type_is_known(f.type) || f.type == DERP_FRAME_KEEP_ALIVE) {
			g_byte_array_remove_range(d->buf, 0, (guint) n);
			continue;
		}
		if (f.type != DERP_FRAME_SERVER_INFO) {
			dial_fail_with(task, G_IO_ERROR_INVALID_DATA,
				       "expected a ServerInfo frame, got %s",
				       frame_name(f.type, name));
			return;
		}
		r = wr_derp_parse_server_info(f.payload, f.len, &box);
		if (r == 0)
			r = wr_derp_info_open_server_info(&box, d->node_private, d->server_key,
							  &d->server_info);
		if (r == -EBADMSG) {
			dial_fail_with(task, G_IO_ERROR_INVALID_DATA,
				       "server info box does not open with the server key");
			return;
		}
		if (r < 0) {
			dial_fail_with(task, G_IO_ERROR_INVALID_DATA,
				       "server info is not valid JSON of the expected shape: %s",
				       g_strerror(-r));
			return;
		}
		g_byte_array_remove_range(d->buf, 0, (guint) n);
		dial_succeed(task);
		return;
	}
}

/* runs every step the buffered bytes allow, then reads or writes for the next */
static void
dial_advance(GTask *task)
{
	Dial *d = g_task_get_task_data(task);
	gboolean need_more = FALSE;

	switch (d->stage) {
	case STAGE_RESPONSE:
		if (!handle_response(task, &need_more))
			break;
		G_GNUC_FALLTHROUGH;
	case STAGE_SERVER_KEY:
		handle_server_key(task, &need_more);
		break;
	case STAGE_SERVER_INFO:
		handle_server_info(task, &need_more);
		break;
	case STAGE_CONNECT:
	case STAGE_TLS:
	case STAGE_REQUEST:
	case STAGE_CLIENT_INFO:
	default:
		g_assert_not_reached();
	}
	if (need_more)
		dial_read_more(task);
}

/* TLS */

static gboolean
cert_sha256(GTlsCertificate *cert, guint8 out[WR_SHA256_LEN])
{
	g_autoptr(GByteArray) der = NULL;
	g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
	gsize len = WR_SHA256_LEN;

	g_object_get(cert, "certificate", &der, NULL);
	if (der == NULL)
		return FALSE;
	g_checksum_update(sum, der->data, der->len);
	g_checksum_get_digest(sum, out, &len);
	return len == WR_SHA256_LEN;
}

static gchar *
hex_string(const guint8 *p, gsize len)
{
	GString *s = g_string_sized_new(2 * len);

	for (gsize i = 0; i < len; i++)
		g_string_append_printf(s, "%02x", p[i]);
	return g_string_free(s, FALSE);
}

static gchar *
cert_flags_to_string(GTlsCertificateFlags flags)
{
	static const struct {
		GTlsCertificateFlags flag;
		const char *text;
	} names[] = {
		{G_TLS_CERTIFICATE_UNKNOWN_CA, "unknown issuer"},
		{G_TLS_CERTIFICATE_BAD_IDENTITY, "wrong name"},
		{G_TLS_CERTIFICATE_NOT_ACTIVATED, "not yet valid"},
		{G_TLS_CERTIFICATE_EXPIRED, "expired"},
		{G_TLS_CERTIFICATE_REVOKED, "revoked"},
		{G_TLS_CERTIFICATE_INSECURE, "insecure algorithm"},
		{G_TLS_CERTIFICATE_GENERIC_ERROR, "invalid"},
	};
	GString *s = g_string_new(NULL);

	for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
		if ((flags & names[i].flag) == 0)
			continue;
		if (s->len > 0)
			g_string_append(s, ", ");
		g_string_append(s, names[i].text);
	}
	return g_string_free(s, FALSE);
}

/* whether the leaf certificate names verify_name; the chain is GIO's business */
static gboolean
cert_has_name(GTlsCertificate *cert, const char *name, guint16 port)
{
	g_autoptr(GSocketConnectable) identity = g_network_address_new(name, port);

	return (g_tls_certificate_verify(cert, identity, NULL) & G_TLS_CERTIFICATE_BAD_IDENTITY) ==
	       0;
}

/* the pin, or the DERP map's CertName, or nothing (tests); the reason goes to tls_failure */
static gboolean
check_certificate(Dial *d, GTlsCertificate *cert, GTlsCertificateFlags errors,
		  gboolean in_handshake)
{
	if (d->insecure)
		return TRUE;
	if (d->has_pin) {
		guint8 digest[WR_SHA256_LEN] = {0};
		g_autofree gchar *got = NULL;
		g_autofree gchar *want = NULL;

		if (cert_sha256(cert, digest) && wr_memeq(digest, d->pin, WR_SHA256_LEN))
			return TRUE;
		got = hex_string(digest, sizeof(digest));
		want = hex_string(d->pin, sizeof(d->pin));
		g_free(d->tls_failure);
		d->tls_failure = g_strdup_printf("certificate SHA-256 %s does not match the pinned "
						 "%s%s",
						 got, WR_DERP_DIAL_CERT_PIN_PREFIX, want);
		return FALSE;
	}
	if (in_handshake) {
		g_autofree gchar *why = NULL;

		/* GIO found a fault checking the chain against the URL host; with another
		 * CertName, a chain whose only fault is the name passes if it names CertName */
		if (g_strcmp0(d->verify_name, d->host) != 0 &&
		    (errors & ~G_TLS_CERTIFICATE_BAD_IDENTITY) == 0 &&
		    cert_has_name(cert, d->verify_name, d->port))
			return TRUE;
		why = cert_flags_to_string(errors);
		g_free(d->tls_failure);
		d->tls_failure =
			g_strdup_printf("certificate for %s refused: %s", d->verify_name, why);
		return FALSE;
	}
	/* after a handshake GIO liked (a chain valid for the host): the name to verify */
	if (cert_has_name(cert, d->verify_name, d->port))
		return TRUE;
	g_free(d->tls_failure);
	d->tls_failure = g_strdup_printf("certificate is not valid for %s", d->verify_name);
	return FALSE;
}

static gboolean
accept_certificate_cb(GTlsConnection *conn, GTlsCertificate *cert, GTlsCertificateFlags errors,
		      gpointer user_data)
{
	return check_certificate(user_data, cert, errors, TRUE);
}

static void
dial_handshake_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	GTask *task = G_TASK(user_data);
	Dial *d = g_task_get_task_data(task);
	GError *error = NULL;
	GTlsCertificate *cert;

	if (!g_tls_connection_handshake_finish(G_TLS_CONNECTION(source), res, &error)) {
		if (d->tls_failure != NULL &&
		    g_error_matches(error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE)) {
			g_clear_error(&error);
			error = g_error_new(G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE,
					    "TLS handshake: %s", d->tls_failure);
		} else {
			g_prefix_error(&error, "TLS handshake: ");
		}
		dial_fail(task, error);
		return;
	}
	/* accept-certificate only runs when GIO found a fault: a chain GIO likes must still
	 * match the pin or the CertName */
	cert = g_tls_connection_get_peer_certificate(G_TLS_CONNECTION(source));
	if (cert == NULL || !check_certificate(d, cert, 0, FALSE)) {
		dial_fail(task,
			  g_error_new(G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE, "TLS handshake: %s",
				      d->tls_failure != NULL ? d->tls_failure
							     : "no peer certificate"));
		return;
	}
	dial_send_request(task);
}

static void
dial_start_tls(GTask *task)
{
	Dial *d = g_task_get_task_data(task);
	g_autoptr(GSocketConnectable) identity = g_network_address_new(d->host, d->port);
	GError *error = NULL;
	GIOStream *tls;

	/* SNI and GIO's own check: the URL host */
	tls = g_tls_client_connection_new(G_IO_STREAM(d->tcp), identity, &error);
	if (tls == NULL) {
		g_prefix_error(&error, "starting TLS: ");
		dial_fail(task, error);
		return;
	}
	/* DERP servers close without close_notify; that is an end of stream, not an attack on
	 * a length-delimited protocol */
	g_tls_connection_set_require_close_notify(G_TLS_CONNECTION(tls), FALSE);
	d->stream = tls;
	d->accept_certificate_id =
		g_signal_connect(tls, "accept-certificate", G_CALLBACK(accept_certificate_cb), d);
	d->stage = STAGE_TLS;
	g_tls_connection_handshake_async(G_TLS_CONNECTION(tls), G_PRIORITY_DEFAULT, d->cancellable,
					 dial_handshake_cb, task);
}

static void
dial_connect_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	GTask *task = G_TASK(user_data);
	Dial *d = g_task_get_task_data(task);
	GError *error = NULL;
	GSocket *socket;

	d->tcp = g_socket_client_connect_finish(G_SOCKET_CLIENT(source), res, &error);
	if (d->tcp == NULL) {
		dial_fail(task, error);
		return;
	}
	socket = g_socket_connection_get_socket(d->tcp);
	if (!d->tls && !d->insecure) {
		g_autoptr(GSocketAddress) remote =
			g_socket_connection_get_remote_address(d->tcp, NULL);

		if (remote == NULL || !G_IS_INET_SOCKET_ADDRESS(remote) ||
		    !g_inet_address_get_is_loopback(
			    g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(remote)))) {
			dial_fail_with(task, G_IO_ERROR_INVALID_ARGUMENT,
				       "refusing plain http: the host resolved to an address "
				       "that is not loopback");
			return;
		}
	}
	/* small frames in both directions; Go's dialer sets the same */
	if (!g_socket_set_option(socket, IPPROTO_TCP, TCP_NODELAY, 1, &error)) {
		g_debug("%s: cannot set TCP_NODELAY: %s, ignoring", d->hostport, error->message);
		g_clear_error(&error);
	}
	g_socket_set_keepalive(socket, TRUE);
	if (d->tls) {
		dial_start_tls(task);
		return;
	}
	d->stream = G_IO_STREAM(g_object_ref(d->tcp));
	dial_send_request(task);
}

static gboolean
dial_timeout_cb(gpointer user_data)
{
	Dial *d = user_data;

	d->timed_out = TRUE;
	g_cancellable_cancel(d->cancellable);
	g_clear_pointer(&d->timeout_source, g_source_unref);
	return G_SOURCE_REMOVE;
}

/* runs in whichever thread cancels the caller's cancellable */
static void
caller_cancelled_cb(GCancellable *caller, gpointer user_data)
{
	g_cancellable_cancel(G_CANCELLABLE(user_data));
}

void
wr_derp_dial_async(const char *url, const uint8_t node_private[32],
		   const WrDerpDialOptions *options, GCancellable *cancellable,
		   GAsyncReadyCallback callback, gpointer user_data)
{
	static const WrDerpDialOptions defaults = {0};
	GTask *task;
	Dial *d;
	GError *error = NULL;
	g_autoptr(GSocketConnectable) target = NULL;

	g_return_if_fail(url != NULL);
	g_return_if_fail(node_private != NULL);
	g_return_if_fail(cancellable == NULL || G_IS_CANCELLABLE(cancellable));

	task = g_task_new(NULL, cancellable, callback, user_data);
	g_task_set_source_tag(task, wr_derp_dial_async);
	g_task_set_name(task, "wr_derp_dial");
	d = g_new0(Dial, 1);
	d->hostport = g_strdup(url);
	d->buf = g_byte_array_new();
	d->out = g_byte_array_new();
	d->cancellable = g_cancellable_new();
	g_task_set_task_data(task, d, (GDestroyNotify) dial_free);

	if (!dial_setup(d, url, node_private, options != NULL ? options : &defaults, &error)) {
		/* the URL until it parses, then host:port */
		dial_fail(task, error);
		return;
	}
	if (cancellable != NULL) {
		d->caller_cancellable = g_object_ref(cancellable);
		d->caller_cancel_id =
			g_cancellable_connect(cancellable, G_CALLBACK(caller_cancelled_cb),
					      g_object_ref(d->cancellable), g_object_unref);
	}
	d->timeout_source = g_timeout_source_new(d->timeout_ms);
	g_source_set_callback(d->timeout_source, dial_timeout_cb, d, NULL);
	g_source_set_static_name(d->timeout_source, "[warren] derp dial timeout");
	g_source_attach(d->timeout_source, g_task_get_context(task));

	d->client = g_socket_client_new();
	/* with an exit node, DERP must not go into the tunnel it carries */
	wr_sockmark_watch_client(d->client);
	/* DERP goes straight to the relay: no proxy from the environment, and TLS is ours */
	g_socket_client_set_enable_proxy(d->client, FALSE);
	if (d->connect_address != NULL)
		target = G_SOCKET_CONNECTABLE(
			g_inet_socket_address_new(d->connect_address, d->port));
	else
		target = g_network_address_new(d->host, d->port);
	d->stage = STAGE_CONNECT;
	g_socket_client_connect_async(d->client, target, d->cancellable, dial_connect_cb, task);
}

WrDerpConn *
wr_derp_dial_finish(GAsyncResult *result, GError **error)
{
	g_return_val_if_fail(g_task_is_valid(result, NULL), NULL);
	g_return_val_if_fail(g_async_result_is_tagged(result, wr_derp_dial_async), NULL);

	return g_task_propagate_pointer(G_TASK(result), error);
}
