/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Dialing a DERP server (wr-derp-dial) against the scripted relay of tests/lib: the upgrade
 * request and ClientInfo it receives, the result (server key, ServerInfo, the bytes read past
 * it), every way the server can misbehave, plain http only to loopback, TLS with a certificate
 * pinned by SHA-256 (and refused when the pin or the name differs), timeouts and cancellation.
 * The HTTP response reader is also checked on its own.
 */

#define G_LOG_DOMAIN "WrTestDerpDial"

#include "config.h"

#include <errno.h>
#include <string.h>

#include <gio/gio.h>

#include "wr-crypto.h"
#include "wr-derp-dial-private.h"
#include "wr-derp-dial.h"
#include "wr-test-derp-server.h"
#include "wr-test-util.h"

/* the slack any wait in this file gets */
#define WAIT_DEADLINE_US (10 * G_USEC_PER_SEC)
/* tests/data/derp-tls/README: the SHA-256 of cert.pem's DER form, by openssl */
#define TEST_CERT_PIN "sha256-raw:6a7618091e667d0a0189655bed3b7b8b40b3ea6c149a50ef079a1359eb5db154"
#define OTHER_PIN     "sha256-raw:6a7618091e667d0a0189655bed3b7b8b40b3ea6c149a50ef079a1359eb5db155"

static void
ready_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	GAsyncResult **out = user_data;

	g_assert_null(*out);
	*out = g_object_ref(res);
}

static gboolean
tick_cb(gpointer user_data)
{
	return G_SOURCE_CONTINUE;
}

/* iterates the default context until *flag is set; fails the test after WAIT_DEADLINE_US */
static void
wait_until(gpointer *flag)
{
	gint64 deadline = g_get_monotonic_time() + WAIT_DEADLINE_US;
	GSource *tick = g_timeout_source_new(50);

	g_source_set_callback(tick, tick_cb, NULL, NULL);
	g_source_attach(tick, NULL);
	while (*flag == NULL) {
		g_assert_cmpint(g_get_monotonic_time(), <, deadline);
		g_main_context_iteration(NULL, TRUE);
	}
	g_source_destroy(tick);
	g_source_unref(tick);
}

static WrDerpConn *
dial(const char *url, const guint8 sk[32], const WrDerpDialOptions *options,
     GCancellable *cancellable, GError **error)
{
	g_autoptr(GAsyncResult) res = NULL;

	wr_derp_dial_async(url, sk, options, cancellable, ready_cb, &res);
	wait_until((gpointer *) &res);
	return wr_derp_dial_finish(res, error);
}

static GTlsCertificate *
load_test_cert(void)
{
	g_autofree gchar *cert_path =
		g_test_build_filename(G_TEST_DIST, "data", "derp-tls", "cert.pem", NULL);
	g_autofree gchar *key_path =
		g_test_build_filename(G_TEST_DIST, "data", "derp-tls", "key.pem", NULL);
	g_autofree gchar *cert_pem = NULL;
	g_autofree gchar *key_pem = NULL;
	g_autofree gchar *pem = NULL;
	g_autoptr(GError) error = NULL;
	GTlsCertificate *cert;

	g_assert_true(g_file_get_contents(cert_path, &cert_pem, NULL, &error));
	g_assert_true(g_file_get_contents(key_path, &key_pem, NULL, &error));
	pem = g_strconcat(cert_pem, key_pem, NULL);
	cert = g_tls_certificate_new_from_pem(pem, -1, &error);
	g_assert_no_error(error);
	return cert;
}

static gboolean
have_tls(void)
{
	if (g_tls_backend_supports_tls(g_tls_backend_get_default()))
		return TRUE;
	g_test_skip("no GIO TLS backend (glib-networking)");
	return FALSE;
}

/* the response reader */

typedef struct {
	const char *in;
	gssize r; /* >0: the head length; 0: need more; <0: errno */
	guint status;
	const char *reason;
} ResponseRow;

static void
test_parse_response(void)
{
	static const ResponseRow rows[] = {
		{"HTTP/1.1 101 Switching Protocols\r\nUpgrade: DERP\r\n\r\n\x01\x00", 51, 101,
		 "Switching Protocols"},
		{"HTTP/1.1 101 Switching Protocols\r\n\r\n", 36, 101, "Switching Protocols"},
		{"HTTP/1.0 426 Upgrade Required\nContent-Length: 0\n\nbody", 49, 426,
		 "Upgrade Required"},
		{"HTTP/1.1 200 OK\r\nX: a\r\n continued\r\n\r\n", 37, 200, "OK"},
		{"HTTP/1.1 101 Switching Protocols\r\nUpgrade: DERP\r\n", 0},
		{"HTTP/1.1 101 Switching Protocols\r\nUpgrade: DERP\r\n\r", 0},
		{"HTTP/1.1 101", 0},
		{"", 0},
		{"SSH-2.0-OpenSSH_9.2\r\n\r\n", -EBADMSG},
		{"HTTP/2.0 101 Switching Protocols\r\n\r\n", -EBADMSG},
		{"HTTP/1.1 1010 Too Long\r\n\r\n", -EBADMSG},
		{"HTTP/1.1 099 Low\r\n\r\n", -EBADMSG},
		{"\r\n\r\n", -EBADMSG},
		{"\n\n", -EBADMSG},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(rows); i++) {
		const ResponseRow *row = &rows[i];
		g_autofree char *reason = NULL;
		guint status = 7;
		gsize len = strlen(row->in);
		gssize r;

		/* the first row has bytes after the NUL: frames that follow the head */
		if (i == 0)
			len += 2;
		g_test_message("row %zu", i);
		r = wr_derp_dial_parse_response(row->in, len, &status, &reason);
		g_assert_cmpint(r, ==, row->r);
		if (r <= 0) {
			g_assert_cmpuint(status, ==, 7);
			g_assert_null(reason);
			continue;
		}
		g_assert_cmpuint(status, ==, row->status);
		g_assert_cmpstr(reason, ==, row->reason);
	}

	/* a NUL inside the head */
	{
		static const char with_nul[] = "HTTP/1.1 101 OK\r\nX: \0\r\n\r\n";
		g_autofree char *reason = NULL;
		guint status = 0;

		g_assert_cmpint(wr_derp_dial_parse_response(with_nul, sizeof(with_nul) - 1, &status,
							    &reason),
				==, -EBADMSG);
	}
	/* the head limit: no blank line within it */
	{
		g_autoptr(GString) big = g_string_new("HTTP/1.1 101 Switching Protocols\r\n");
		g_autofree char *reason = NULL;
		guint status = 0;

		while (big->len < WR_DERP_DIAL_MAX_RESPONSE_LEN - 100)
			g_string_append(big, "X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
		g_assert_cmpint(wr_derp_dial_parse_response(big->str, big->len, &status, &reason),
				==, 0);
		while (big->len < WR_DERP_DIAL_MAX_RESPONSE_LEN)
			g_string_append(big, "X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
		g_assert_cmpint(wr_derp_dial_parse_response(big->str, big->len, &status, &reason),
				==, -EMSGSIZE);
		g_string_append(big, "\r\n");
		g_assert_cmpint(wr_derp_dial_parse_response(big->str, big->len, &status, &reason),
				==, -EMSGSIZE);
	}
}

/* dialing */

static void
test_plain(void)
{
	g_autoptr(WrTestDerpServer) server = wr_test_derp_server_new(NULL);
	g_autofree gchar *url = wr_test_derp_server_get_url(server);
	g_autofree gchar *host = NULL;
	g_autoptr(WrDerpConn) conn = NULL;
	g_autoptr(GError) error = NULL;
	guint8 sk[32];
	guint8 pk[32];
	guint8 mesh[32];
	const WrDerpClientInfoBody *info;
	const char *req;
	WrDerpDialOptions options = {
		.mesh_key = mesh,
		.is_prober = TRUE,
		.app_name = "warren-test",
		.ideal_node = "900a",
	};

	wr_x25519_generate(sk, pk);
	pattern(mesh, sizeof(mesh), 3, 1);
	conn = dial(url, sk, &options, NULL, &error);
	g_assert_no_error(error);
	g_assert_nonnull(conn);
	g_assert_cmpmem(conn->server_key, 32, wr_test_derp_server_get_public_key(server), 32);
	g_assert_cmpint(conn->server_info.version, ==, 2);
	g_assert_cmpuint(conn->server_info.token_bucket_bytes_per_second, ==, 0);
	g_assert_true(G_IS_SOCKET_CONNECTION(conn->stream));
	g_assert_true(G_IS_SOCKET(conn->socket));
	g_assert_true(conn->socket ==
		      g_socket_connection_get_socket(G_SOCKET_CONNECTION(conn->stream)));
	g_assert_cmpuint(conn->pending->len, ==, 0);
	g_assert_true(G_IS_INET_SOCKET_ADDRESS(conn->remote));
	g_assert_cmpuint(g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(conn->remote)), ==,
			 wr_test_derp_server_get_port(server));

	/* the request of §2.1, Host with the port as it is not 80 */
	req = wr_test_derp_server_get_last_request(server);
	g_assert_true(g_str_has_prefix(req, "GET /derp HTTP/1.1\r\n"));
	host = g_strdup_printf("\r\nHost: 127.0.0.1:%u\r\n", wr_test_derp_server_get_port(server));
	g_assert_nonnull(strstr(req, host));
	g_assert_nonnull(strstr(req, "\r\nConnection: Upgrade\r\n"));
	g_assert_nonnull(strstr(req, "\r\nUpgrade: DERP\r\n"));
	g_assert_nonnull(strstr(req, "\r\nIdeal-Node: 900a\r\n"));
	g_assert_true(g_str_has_suffix(req, "\r\n\r\n"));

	/* the ClientInfo the server opened */
	g_assert_cmpuint(wr_test_derp_server_get_logins(server), ==, 1);
	info = wr_test_derp_server_get_last_client_info(server);
	g_assert_cmpint(info->version, ==, 2);
	g_assert_true(info->can_ack_pings);
	g_assert_true(info->is_prober);
	g_assert_true(info->has_mesh_key);
	g_assert_cmpmem(info->mesh_key, 32, mesh, 32);
	g_assert_cmpstr(info->app_name, ==, "warren-test");

	/* the connection carries frames: a Ping is answered */
	{
		g_autoptr(GByteArray) ping = g_byte_array_new();
		guint8 data[8] = {1, 2, 3, 4, 5, 6, 7, 8};
		guint8 buf[64];
		gsize got = 0;
		WrDerpFrame f;

		g_assert_cmpint(wr_derp_append_ping(ping, data), ==, 0);
		g_assert_true(g_output_stream_write_all(g_io_stream_get_output_stream(conn->stream),
							ping->data, ping->len, NULL, NULL, &error));
		g_assert_no_error(error);
		while (wr_derp_frame_decode(buf, got, DERP_MAX_FRAME_SIZE, &f) == 0) {
			g_autoptr(GAsyncResult) res = NULL;
			gssize n;

			g_input_stream_read_async(g_io_stream_get_input_stream(conn->stream),
						  buf + got, sizeof(buf) - got, G_PRIORITY_DEFAULT,
						  NULL, ready_cb, &res);
			wait_until((gpointer *) &res);
			n = g_input_stream_read_finish(g_io_stream_get_input_stream(conn->stream),
						       res, &error);
			g_assert_no_error(error);
			g_assert_cmpint(n, >, 0);
			got += (gsize) n;
		}
		g_assert_cmpuint(f.type, ==, DERP_FRAME_PONG);
		g_assert_cmpmem(f.payload, f.len, data, sizeof(data));
	}
}

/* bytes the server sends with the ServerInfo are the start of the frame stream (§7.4) */
static void
test_pending(void)
{
	g_autoptr(WrTestDerpServer) server = wr_test_derp_server_new(NULL);
	g_autofree gchar *url = wr_test_derp_server_get_url(server);
	g_autoptr(GByteArray) after = g_byte_array_new();
	g_autoptr(WrDerpConn) conn = NULL;
	g_autoptr(GError) error = NULL;
	WrDerpServerInfoBody info = {.version = 2,
				     .token_bucket_bytes_per_second = 12345,
				     .token_bucket_bytes_burst = 70000};
	guint8 sk[32];
	guint8 src[32];
	guint8 payload[300];

	wr_x25519_generate(sk, src);
	pattern(payload, sizeof(payload), 5, 7);
	g_assert_cmpint(wr_derp_append_keep_alive(after), ==, 0);
	g_assert_cmpint(wr_derp_append_recv_packet(after, src, payload, sizeof(payload)), ==, 0);
	/* a frame cut short: the rest would come later */
	g_byte_array_append(after, (const guint8 *) "\x05\x00\x00\x01\x00\xaa", 6);
	wr_test_derp_server_set_after_info(server, after->data, after->len);
	wr_test_derp_server_set_info(server, &info);

	conn = dial(url, sk, NULL, NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpmem(conn->pending->data, conn->pending->len, after->data, after->len);
	g_assert_cmpuint(conn->server_info.token_bucket_bytes_per_second, ==, 12345);
	g_assert_cmpuint(conn->server_info.token_bucket_bytes_burst, ==, 70000);
	/* no options: no mesh key, no prober, no AppName; CanAckPings and version 2 always */
	g_assert_false(wr_test_derp_server_get_last_client_info(server)->has_mesh_key);
	g_assert_false(wr_test_derp_server_get_last_client_info(server)->is_prober);
	g_assert_cmpstr(wr_test_derp_server_get_last_client_info(server)->app_name, ==, "");
	g_assert_true(wr_test_derp_server_get_last_client_info(server)->can_ack_pings);
	g_assert_null(strstr(wr_test_derp_server_get_last_request(server), "Ideal-Node"));
}

typedef struct {
	WrTestDerpMode mode;
	GQuark domain;
	gint code;
	const char *message; /* after "127.0.0.1:PORT: " */
} FailRow;

static void
test_server_failures(void)
{
	const FailRow rows[] = {
		{WR_TEST_DERP_MODE_STATUS_426, G_IO_ERROR, G_IO_ERROR_FAILED,
		 "HTTP 426 Upgrade Required instead of 101 Switching Protocols"},
		{WR_TEST_DERP_MODE_GARBAGE_RESPONSE, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
		 "malformed HTTP response"},
		{WR_TEST_DERP_MODE_NOT_SERVER_KEY, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
		 "expected a ServerKey frame, got KeepAlive"},
		{WR_TEST_DERP_MODE_BAD_MAGIC, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
		 "server key frame without DERP magic"},
		{WR_TEST_DERP_MODE_SHORT_KEY, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
		 "server key frame of 20 bytes is too short"},
		{WR_TEST_DERP_MODE_BIG_GREETING, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
		 "first frame longer than the 1024-byte greeting limit"},
		{WR_TEST_DERP_MODE_WRONG_KEY, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
		 "server info box does not open with the server key"},
		{WR_TEST_DERP_MODE_BAD_INFO_JSON, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
		 "server info is not valid JSON of the expected shape: Invalid argument"},
		{WR_TEST_DERP_MODE_CLOSE, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
		 "the server closed the connection while reading the HTTP response"},
	};
	guint8 sk[32];
	guint8 pk[32];

	wr_x25519_generate(sk, pk);
	for (gsize i = 0; i < G_N_ELEMENTS(rows); i++) {
		g_autoptr(WrTestDerpServer) server = wr_test_derp_server_new(NULL);
		g_autofree gchar *url = wr_test_derp_server_get_url(server);
		g_autofree gchar *expected = g_strdup_printf(
			"127.0.0.1:%u: %s", wr_test_derp_server_get_port(server), rows[i].message);
		g_autoptr(WrDerpConn) conn = NULL;
		g_autoptr(GError) error = NULL;

		g_test_message("row %zu: %s", i, rows[i].message);
		wr_test_derp_server_set_mode(server, rows[i].mode);
		conn = dial(url, sk, NULL, NULL, &error);
		g_assert_null(conn);
		g_assert_error(error, rows[i].domain, rows[i].code);
		g_assert_cmpstr(error->message, ==, expected);
	}
}

/* a server that never answers: the whole dial has one deadline; cancellation ends it too */
static void
test_timeout_cancel(void)
{
	g_autoptr(WrTestDerpServer) server = wr_test_derp_server_new(NULL);
	g_autofree gchar *url = wr_test_derp_server_get_url(server);
	g_autofree gchar *expected = NULL;
	g_autoptr(GCancellable) cancellable = g_cancellable_new();
	g_autoptr(GAsyncResult) res = NULL;
	g_autoptr(GError) error = NULL;
	WrDerpConn *conn;
	WrDerpDialOptions options = {.timeout_ms = 200};
	guint8 sk[32];
	guint8 pk[32];
	gint64 start;
	gint64 took;

	wr_x25519_generate(sk, pk);
	wr_test_derp_server_set_mode(server, WR_TEST_DERP_MODE_SILENT);
	start = g_get_monotonic_time();
	conn = dial(url, sk, &options, NULL, &error);
	took = g_get_monotonic_time() - start;
	g_assert_null(conn);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
	expected = g_strdup_printf("127.0.0.1:%u: timed out after 200 ms reading the HTTP response",
				   wr_test_derp_server_get_port(server));
	g_assert_cmpstr(error->message, ==, expected);
	g_assert_cmpint(took, >=, 200 * 1000);
	g_assert_cmpint(took, <, 5 * G_USEC_PER_SEC);
	g_clear_error(&error);

	/* the caller cancels while the server stays silent */
	options.timeout_ms = 0;
	wr_derp_dial_async(url, sk, &options, cancellable, ready_cb, &res);
	{
		gint64 deadline = g_get_monotonic_time() + WAIT_DEADLINE_US;
		const gchar *last = wr_test_derp_server_get_last_request(server);

		/* until the server has this request (the last one is the timed-out dial's) */
		while (wr_test_derp_server_get_last_request(server) == last) {
			g_assert_cmpint(g_get_monotonic_time(), <, deadline);
			g_main_context_iteration(NULL, TRUE);
		}
	}
	g_cancellable_cancel(cancellable);
	wait_until((gpointer *) &res);
	conn = wr_derp_dial_finish(res, &error);
	g_assert_null(conn);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
	g_clear_error(&error);
	g_clear_object(&res);

	/* already cancelled before it starts */
	conn = dial(url, sk, NULL, cancellable, &error);
	g_assert_null(conn);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

typedef struct {
	const char *url;
	WrDerpDialOptions options;
	const char *message;
} ArgRow;

static void
test_bad_arguments(void)
{
	static const guint8 zero[32] = {0};
	const ArgRow rows[] = {
		{"ftp://127.0.0.1/derp",
		 {0},
		 "ftp://127.0.0.1/derp: bad DERP URL: the scheme is "
		 "neither https nor http"},
		{"not a url", {0}, NULL},
		{"https:///derp", {0}, NULL},
		{"https://user@host/derp", {0}, NULL},
		{"https://host:0/derp", {0}, "https://host:0/derp: bad DERP URL: port 0"},
		/* plain http only to loopback, unless the test switch is on */
		{"http://192.0.2.1/derp",
		 {0},
		 "192.0.2.1:80: refusing plain http to 192.0.2.1:80, which is not a loopback "
		 "address"},
		{"http://relay.example/derp",
		 {.connect_address = "192.0.2.1"},
		 "relay.example:80: refusing plain http to relay.example:80, which is not a "
		 "loopback address"},
		{"https://relay.example/derp",
		 {.connect_address = "relay"},
		 "relay.example:443: connect address relay is not an IP address"},
		{"https://relay.example/derp",
		 {.cert_name = "sha256-raw:abcd"},
		 "relay.example:443: certificate pin sha256-raw:abcd is not 64 hex digits"},
		{"https://relay.example/derp",
		 {.cert_name = "sha256-raw:"
			       "zz7618091e667d0a0189655bed3b7b8b40b3ea6c149a50ef079a1359eb5db154"},
		 NULL},
		{"https://relay.example/derp",
		 {.app_name = "0123456789012345678901234567890123456789012345678901234567890123"},
		 "relay.example:443: AppName must be at most 63 bytes of UTF-8"},
		{"https://relay.example/derp", {.ideal_node = "a\r\nX-Evil: 1"}, NULL},
	};
	guint8 sk[32];
	guint8 pk[32];

	wr_x25519_generate(sk, pk);
	for (gsize i = 0; i < G_N_ELEMENTS(rows); i++) {
		g_autoptr(WrDerpConn) conn = NULL;
		g_autoptr(GError) error = NULL;

		g_test_message("row %zu: %s", i, rows[i].url);
		conn = dial(rows[i].url, sk, &rows[i].options, NULL, &error);
		g_assert_null(conn);
		g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
		if (rows[i].message != NULL)
			g_assert_cmpstr(error->message, ==, rows[i].message);
	}

	/* an all-zero node key */
	{
		g_autoptr(WrDerpConn) conn = NULL;
		g_autoptr(GError) error = NULL;

		conn = dial("https://relay.example/derp", zero, NULL, NULL, &error);
		g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
		g_assert_cmpstr(error->message, ==,
				"relay.example:443: the node private key is all zeros");
	}
}

/* a DERP map node with a name and an IP: the IP is dialled, the name goes in Host; a name
 * that resolves to loopback is fine for plain http; nothing listening is an error */
static void
test_addresses(void)
{
	g_autoptr(WrTestDerpServer) server = wr_test_derp_server_new(NULL);
	guint16 port = wr_test_derp_server_get_port(server);
	g_autofree gchar *url = g_strdup_printf("http://relay.invalid:%u/derp", port);
	g_autofree gchar *host = g_strdup_printf("\r\nHost: relay.invalid:%u\r\n", port);
	WrDerpDialOptions options = {.connect_address = "127.0.0.1"};
	guint8 sk[32];
	guint8 pk[32];

	wr_x25519_generate(sk, pk);
	{
		g_autoptr(WrDerpConn) conn = NULL;
		g_autoptr(GError) error = NULL;

		conn = dial(url, sk, &options, NULL, &error);
		g_assert_no_error(error);
		g_assert_nonnull(strstr(wr_test_derp_server_get_last_request(server), host));
	}
	{
		g_autoptr(WrDerpConn) conn = NULL;
		g_autoptr(GError) error = NULL;
		g_autofree gchar *local = g_strdup_printf("http://localhost:%u/derp", port);

		conn = dial(local, sk, NULL, NULL, &error);
		g_assert_no_error(error);
		g_assert_nonnull(conn);
	}
	{
		g_autoptr(WrDerpConn) conn = NULL;
		g_autoptr(GError) error = NULL;
		g_autofree gchar *v6 = g_strdup_printf("http://[::1]:%u/derp", port);
		g_autofree gchar *prefix = g_strdup_printf("[::1]:%u: ", port);

		/* the relay listens on IPv4 only */
		conn = dial(v6, sk, NULL, NULL, &error);
		g_assert_null(conn);
		g_assert_nonnull(error);
		g_assert_true(g_str_has_prefix(error->message, prefix));
	}
	wr_test_derp_server_stop(server);
	{
		g_autoptr(WrDerpConn) conn = NULL;
		g_autoptr(GError) error = NULL;
		g_autofree gchar *gone = g_strdup_printf("http://127.0.0.1:%u/derp", port);

		conn = dial(gone, sk, NULL, NULL, &error);
		g_assert_error(error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
	}
}

static void
test_tls(void)
{
	g_autoptr(GTlsCertificate) cert = NULL;
	g_autoptr(WrTestDerpServer) server = NULL;
	g_autofree gchar *url = NULL;
	guint8 sk[32];
	guint8 pk[32];

	if (!have_tls())
		return;
	cert = load_test_cert();
	server = wr_test_derp_server_new(cert);
	url = wr_test_derp_server_get_url(server);
	wr_x25519_generate(sk, pk);

	/* pinned by the SHA-256 openssl computed */
	{
		g_autoptr(WrDerpConn) conn = NULL;
		g_autoptr(GError) error = NULL;
		g_autofree gchar *host = g_strdup_printf("\r\nHost: localhost:%u\r\n",
							 wr_test_derp_server_get_port(server));
		WrDerpDialOptions options = {.cert_name = TEST_CERT_PIN,
					     .connect_address = "127.0.0.1"};

		conn = dial(url, sk, &options, NULL, &error);
		g_assert_no_error(error);
		g_assert_true(G_IS_TLS_CLIENT_CONNECTION(conn->stream));
		g_assert_true(G_IS_SOCKET(conn->socket));
		g_assert_cmpmem(conn->server_key, 32, wr_test_derp_server_get_public_key(server),
				32);
		g_assert_nonnull(strstr(wr_test_derp_server_get_last_request(server), host));
	}
	/* one bit off */
	{
		g_autoptr(WrDerpConn) conn = NULL;
		g_autoptr(GError) error = NULL;
		g_autofree gchar *expected = g_strdup_printf(
			"localhost:%u: TLS handshake: certificate SHA-256 "
			"6a7618091e667d0a0189655bed3b7b8b40b3ea6c149a50ef079a1359eb5db154 does not "
			"match the pinned %s",
			wr_test_derp_server_get_port(server), OTHER_PIN);
		WrDerpDialOptions options = {.cert_name = OTHER_PIN,
					     .connect_address = "127.0.0.1"};
		guint logins = wr_test_derp_server_get_logins(server);

		conn = dial(url, sk, &options, NULL, &error);
		g_assert_null(conn);
		g_assert_error(error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE);
		g_assert_cmpstr(error->message, ==, expected);
		g_assert_cmpuint(wr_test_derp_server_get_logins(server), ==, logins);
	}
	/* no pin: GIO's checks against the host, which a self-signed certificate fails */
	{
		g_autoptr(WrDerpConn) conn = NULL;
		g_autoptr(GError) error = NULL;
		WrDerpDialOptions options = {.connect_address = "127.0.0.1"};

		conn = dial(url, sk, &options, NULL, &error);
		g_assert_null(conn);
		g_assert_error(error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE);
		g_assert_nonnull(strstr(error->message, "certificate for localhost refused"));
		g_assert_nonnull(strstr(error->message, "unknown issuer"));
	}
	/* another CertName: the name must match too */
	{
		g_autoptr(WrDerpConn) conn = NULL;
		g_autoptr(GError) error = NULL;
		WrDerpDialOptions options = {.connect_address = "127.0.0.1",
					     .cert_name = "relay.example"};

		conn = dial(url, sk, &options, NULL, &error);
		g_assert_null(conn);
		g_assert_error(error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE);
		g_assert_nonnull(strstr(error->message, "certificate for relay.example refused"));
	}
	/* tests only: anything goes */
	{
		g_autoptr(WrDerpConn) conn = NULL;
		g_autoptr(GError) error = NULL;
		WrDerpDialOptions options = {.connect_address = "127.0.0.1",
					     .insecure_skip_verify = TRUE};

		conn = dial(url, sk, &options, NULL, &error);
		g_assert_no_error(error);
		g_assert_nonnull(conn);
	}
	/* plain http to a TLS port: whatever the server says, it is not a 101 */
	{
		g_autoptr(WrDerpConn) conn = NULL;
		g_autoptr(GError) error = NULL;
		g_autofree gchar *plain = g_strdup_printf("http://127.0.0.1:%u/derp",
							  wr_test_derp_server_get_port(server));
		WrDerpDialOptions options = {.timeout_ms = 2000};

		conn = dial(plain, sk, &options, NULL, &error);
		g_assert_null(conn);
		g_assert_nonnull(error);
	}
}

int
main(int argc, char **argv)
{
	int ret;

	g_test_init(&argc, &argv, NULL);
	g_assert_true(wr_crypto_init());
	/* see wr_test_derp_wait_pool_threads */
	g_thread_pool_set_max_unused_threads(0);

	g_test_add_func("/warren/derp-dial/parse-response", test_parse_response);
	g_test_add_func("/warren/derp-dial/plain", test_plain);
	g_test_add_func("/warren/derp-dial/pending", test_pending);
	g_test_add_func("/warren/derp-dial/server-failures", test_server_failures);
	g_test_add_func("/warren/derp-dial/timeout-cancel", test_timeout_cancel);
	g_test_add_func("/warren/derp-dial/bad-arguments", test_bad_arguments);
	g_test_add_func("/warren/derp-dial/addresses", test_addresses);
	g_test_add_func("/warren/derp-dial/tls", test_tls);
	ret = g_test_run();
	wr_test_derp_wait_pool_threads();
	return ret;
}
