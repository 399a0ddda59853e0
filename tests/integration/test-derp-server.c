/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * warren-derp end to end, on loopback: every case starts the real binary (WARREN_DERP) with
 * the options it needs.  Most cases log clients in with the engine's dialer (wr-derp-dial) and
 * then speak raw frames on their sockets, so that each protocol rule can be checked exactly;
 * the engine-* cases use the engine's whole client (WrDerpClient) as warrend will: two of them
 * through one server, through two meshed servers, and across a server restart.  Waits are for
 * events with deadlines, never fixed sleeps.
 */

#define G_LOG_DOMAIN "WrTestDerpServer"

#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "wr-crypto.h"
#include "wr-derp-client.h"
#include "wr-derp-dial.h"
#include "wr-derp-frame.h"
#include "wr-derp-info.h"
#include "wr-disco.h"
#include "wr-key.h"
#include "wr-test-proc.h"

#define WAIT_MS	 5000
#define QUIET_MS 300
/* a mesh link is redialled every 5 s */
#define MESH_WAIT_MS 15000
#define READ_CHUNK   (64 * 1024)

/* ---- a warren-derp process ---------------------------------------------------------------- */

typedef struct {
	GSubprocess *proc;
	guint16 port;
	char *dir;
	char *key_file;
	char *log_path;
	char *base;
	char *url;
} Srv;

static gboolean
http_get_status(const char *url, guint *out_status)
{
	g_autoptr(SoupSession) session = soup_session_new_with_options("timeout", 2, NULL);
	g_autoptr(SoupMessage) msg = soup_message_new("GET", url);
	g_autoptr(GBytes) body = NULL;

	soup_message_set_flags(msg, SOUP_MESSAGE_NEW_CONNECTION);
	body = soup_session_send_and_read(session, msg, NULL, NULL);
	if (body == NULL)
		return FALSE;
	*out_status = soup_message_get_status(msg);
	return TRUE;
}

static void
srv_init(Srv *s)
{
	memset(s, 0, sizeof(*s));
	s->dir = g_dir_make_tmp("wr-derp-test-XXXXXX", NULL);
	g_assert_nonnull(s->dir);
	s->key_file = g_build_filename(s->dir, "derp.key", NULL);
	s->log_path = g_build_filename(s->dir, "derp.log", NULL);
	s->port = wr_test_free_port(SOCK_STREAM);
	s->base = g_strdup_printf("http://127.0.0.1:%u", s->port);
	s->url = g_strdup_printf("%s/derp", s->base);
}

static char *
srv_log(Srv *s)
{
	char *text = NULL;

	(void) g_file_get_contents(s->log_path, &text, NULL, NULL);
	return text != NULL ? text : g_strdup("");
}

/* the server's probe URL answers 200 */
static gboolean
srv_ready(gpointer data)
{
	guint status = 0;

	return http_get_status(data, &status) && status == SOUP_STATUS_OK;
}

/* starts (or restarts, same port and key) the server with extra options, NULL-terminated */
static void
srv_start_argv(Srv *s, const char *const *extra)
{
	const char *derp = g_getenv("WARREN_DERP");
	g_autoptr(GSubprocessLauncher) launcher =
		g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) error = NULL;
	g_autofree char *probe = g_strdup_printf("%s/derp/probe", s->base);

	g_assert_nonnull(derp);
	g_ptr_array_add(argv, g_strdup(derp));
	g_ptr_array_add(argv, g_strdup("--key-file"));
	g_ptr_array_add(argv, g_strdup(s->key_file));
	g_ptr_array_add(argv, g_strdup("--http-listen"));
	g_ptr_array_add(argv, g_strdup_printf("127.0.0.1:%u", s->port));
	for (guint i = 0; extra != NULL && extra[i] != NULL; i++)
		g_ptr_array_add(argv, g_strdup(extra[i]));
	g_ptr_array_add(argv, NULL);
	g_subprocess_launcher_set_stderr_file_path(launcher, s->log_path);
	g_subprocess_launcher_setenv(launcher, "G_MESSAGES_DEBUG", "all", TRUE);
	s->proc = g_subprocess_launcher_spawnv(launcher, (const char *const *) argv->pdata, &error);
	g_assert_no_error(error);
	if (!wr_test_wait_ready(s->proc, 10000, srv_ready, probe)) {
		g_autofree char *text = srv_log(s);

		g_error("warren-derp did not come up on port %u:\n%s", s->port, text);
	}
}

static void
srv_start(Srv *s, ...)
{
	g_autoptr(GPtrArray) extra = g_ptr_array_new();
	va_list ap;
	const char *arg;

	va_start(ap, s);
	while ((arg = va_arg(ap, const char *)) != NULL)
		g_ptr_array_add(extra, (gpointer) arg);
	va_end(ap);
	g_ptr_array_add(extra, NULL);
	srv_start_argv(s, (const char *const *) extra->pdata);
}

static void
srv_stop(Srv *s)
{
	if (s->proc == NULL)
		return;
	g_subprocess_send_signal(s->proc, SIGTERM);
	g_assert_true(g_subprocess_wait(s->proc, NULL, NULL));
	g_clear_object(&s->proc);
}

static gboolean
srv_log_has(Srv *s, const char *needle)
{
	g_autofree char *text = srv_log(s);

	return strstr(text, needle) != NULL;
}

static void
srv_clear(Srv *s)
{
	g_autoptr(GDir) dir = NULL;
	const char *name;

	srv_stop(s);
	if (g_test_failed()) {
		g_autofree char *text = srv_log(s);

		g_test_message("warren-derp log:\n%s", text);
	}
	dir = g_dir_open(s->dir, 0, NULL);
	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		g_autofree char *p = g_build_filename(s->dir, name, NULL);

		(void) g_unlink(p);
	}
	(void) g_rmdir(s->dir);
	g_free(s->dir);
	g_free(s->key_file);
	g_free(s->log_path);
	g_free(s->base);
	g_free(s->url);
}

/* a metric's value, or -1 when it is not there */
static gint64
srv_metric(Srv *s, const char *name)
{
	g_autoptr(SoupSession) session = soup_session_new();
	g_autofree char *url = g_strdup_printf("%s/metrics", s->base);
	g_autoptr(SoupMessage) msg = soup_message_new("GET", url);
	g_autoptr(GBytes) body = soup_session_send_and_read(session, msg, NULL, NULL);
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;

	g_assert_nonnull(body);
	g_assert_cmpuint(soup_message_get_status(msg), ==, SOUP_STATUS_OK);
	text = g_strndup(g_bytes_get_data(body, NULL), g_bytes_get_size(body));
	lines = g_strsplit(text, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		if (g_str_has_prefix(lines[i], name) && lines[i][strlen(name)] == ' ')
			return g_ascii_strtoll(lines[i] + strlen(name) + 1, NULL, 10);
	}
	return -1;
}

/* waits until a metric reaches at least value (or, for 0, drops to it) */
static gboolean
srv_wait_metric_for(Srv *s, const char *name, gint64 value, guint timeout_ms)
{
	gint64 deadline = g_get_monotonic_time() + (gint64) timeout_ms * 1000;

	while (g_get_monotonic_time() < deadline) {
		gint64 v = srv_metric(s, name);

		if (value == 0 ? v == 0 : v >= value)
			return TRUE;
		g_usleep(20 * 1000);
	}
	return FALSE;
}

static gboolean
srv_wait_metric(Srv *s, const char *name, gint64 value)
{
	return srv_wait_metric_for(s, name, value, WAIT_MS);
}

/* ---- a client speaking raw frames after the engine's login ----------------------------------- */

typedef struct {
	WrDerpConn *conn;
	GByteArray *buf;
	uint8_t priv[32];
	uint8_t pub[32];
	gboolean eof;
} Tc;

typedef struct {
	gboolean done;
	WrDerpConn *conn;
	GError *error;
} DialWait;

static void
dial_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
	DialWait *w = user_data;

	w->conn = wr_derp_dial_finish(result, &w->error);
	w->done = TRUE;
}

static WrDerpConn *
dial_sync(const char *url, const uint8_t priv[32], const WrDerpDialOptions *options, GError **error)
{
	DialWait w = {0};
	WrDerpDialOptions defaults = {0};

	wr_derp_dial_async(url, priv, options != NULL ? options : &defaults, NULL, dial_cb, &w);
	while (!w.done)
		g_main_context_iteration(NULL, TRUE);
	if (w.conn == NULL)
		g_propagate_error(error, w.error);
	return w.conn;
}

static Tc *
tc_new_with(const char *url, const WrDerpDialOptions *options, GError **error)
{
	g_autofree Tc *c = g_new0(Tc, 1);

	wr_x25519_generate(c->priv, c->pub);
	c->conn = dial_sync(url, c->priv, options, error);
	if (c->conn == NULL)
		return NULL;
	c->buf = g_byte_array_new();
	if (c->conn->pending != NULL)
		g_byte_array_append(c->buf, c->conn->pending->data, c->conn->pending->len);
	return g_steal_pointer(&c);
}

static Tc *
tc_new(Srv *s)
{
	g_autoptr(GError) error = NULL;
	Tc *c = tc_new_with(s->url, NULL, &error);

	g_assert_no_error(error);
	return c;
}

static void
tc_free(Tc *c)
{
	if (c == NULL)
		return;
	wr_derp_conn_free(c->conn);
	g_byte_array_unref(c->buf);
	g_free(c);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Tc, tc_free)

static void
tc_write(Tc *c, const void *data, gsize len)
{
	GOutputStream *out = g_io_stream_get_output_stream(c->conn->stream);
	const guint8 *p = data;
	gint64 deadline = g_get_monotonic_time() + WAIT_MS * 1000;

	while (len > 0) {
		g_autoptr(GError) error = NULL;
		gssize n = g_pollable_output_stream_write_nonblocking(G_POLLABLE_OUTPUT_STREAM(out),
								      p, len, NULL, &error);

		if (n < 0) {
			g_assert_error(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
			g_assert_cmpint(g_get_monotonic_time(), <, deadline);
			(void) g_socket_condition_timed_wait(c->conn->socket, G_IO_OUT, 100000,
							     NULL, NULL);
			continue;
		}
		p += n;
		len -= (gsize) n;
	}
}

/* like tc_write, but a write error is a result, not a failure */
static gboolean
tc_try_write(Tc *c, const void *data, gsize len)
{
	GOutputStream *out = g_io_stream_get_output_stream(c->conn->stream);
	g_autoptr(GError) error = NULL;

	return g_pollable_output_stream_write_nonblocking(G_POLLABLE_OUTPUT_STREAM(out), data, len,
							  NULL, &error) >= 0 ||
	       g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
}

static void
tc_send(Tc *c, const uint8_t dst[32], const void *data, gsize len)
{
	g_autoptr(GByteArray) frame = g_byte_array_new();

	g_assert_cmpint(wr_derp_append_send_packet(frame, dst, data, len), ==, 0);
	tc_write(c, frame->data, frame->len);
}

/* reads more bytes within timeout_ms; FALSE on timeout; sets eof at the end of the stream */
static gboolean
tc_fill(Tc *c, gint64 deadline)
{
	GPollableInputStream *in =
		G_POLLABLE_INPUT_STREAM(g_io_stream_get_input_stream(c->conn->stream));

	for (;;) {
		guint8 chunk[READ_CHUNK];
		g_autoptr(GError) error = NULL;
		gint64 left = deadline - g_get_monotonic_time();
		gssize n;

		if (!g_pollable_input_stream_is_readable(in)) {
			if (left <= 0)
				return FALSE;
			(void) g_socket_condition_timed_wait(c->conn->socket, G_IO_IN | G_IO_HUP,
							     MIN(left, 100000), NULL, NULL);
			continue;
		}
		n = g_pollable_input_stream_read_nonblocking(in, chunk, sizeof(chunk), NULL,
							     &error);
		if (n < 0 && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
			continue;
		if (n <= 0) {
			c->eof = TRUE;
			return TRUE;
		}
		g_byte_array_append(c->buf, chunk, (guint) n);
		return TRUE;
	}
}

/* the next frame within timeout_ms (payload copied), or FALSE: timeout or end of stream */
static gboolean
tc_read_frame(Tc *c, guint timeout_ms, guint8 *out_type, GBytes **out_payload)
{
	gint64 deadline = g_get_monotonic_time() + (gint64) timeout_ms * 1000;

	for (;;) {
		WrDerpFrame f;
		ssize_t n =
			wr_derp_frame_decode(c->buf->data, c->buf->len, DERP_MAX_FRAME_SIZE, &f);

		g_assert_cmpint(n, >=, 0);
		if (n > 0) {
			*out_type = f.type;
			*out_payload = g_bytes_new(f.payload, f.len);
			g_byte_array_remove_range(c->buf, 0, (guint) n);
			return TRUE;
		}
		if (c->eof || !tc_fill(c, deadline) || c->eof)
			return FALSE;
	}
}

/* waits for a frame of one type, skipping others (KeepAlive, PeerPresent...) */
static GBytes *
tc_expect_type(Tc *c, guint8 type, guint timeout_ms)
{
	gint64 deadline = g_get_monotonic_time() + (gint64) timeout_ms * 1000;

	while (g_get_monotonic_time() < deadline) {
		guint8 t;
		GBytes *payload = NULL;
		gint64 left = (deadline - g_get_monotonic_time()) / 1000;

		if (!tc_read_frame(c, (guint) MAX(left, 1), &t, &payload))
			return NULL;
		if (t == type)
			return payload;
		g_bytes_unref(payload);
	}
	return NULL;
}

/* the next RecvPacket; asserts it came from src and carries data */
static void
tc_expect_packet(Tc *c, const uint8_t src[32], const void *data, gsize len)
{
	g_autoptr(GBytes) p = tc_expect_type(c, DERP_FRAME_RECV_PACKET, WAIT_MS);
	WrDerpPacket pkt;

	g_assert_nonnull(p);
	g_assert_cmpint(
		wr_derp_parse_recv_packet(g_bytes_get_data(p, NULL), g_bytes_get_size(p), &pkt), ==,
		0);
	g_assert_cmpmem(pkt.key, 32, src, 32);
	g_assert_cmpmem(pkt.data, pkt.len, data, len);
}

/* nothing of the type arrives for a while */
static void
tc_expect_no(Tc *c, guint8 type)
{
	g_autoptr(GBytes) p = tc_expect_type(c, type, QUIET_MS);

	g_assert_null(p);
}

/* the server closed the connection within timeout_ms */
static gboolean
tc_wait_closed(Tc *c, guint timeout_ms)
{
	gint64 deadline = g_get_monotonic_time() + (gint64) timeout_ms * 1000;

	while (!c->eof && g_get_monotonic_time() < deadline) {
		g_byte_array_set_size(c->buf, 0);
		(void) tc_fill(c, deadline);
	}
	return c->eof;
}

static void
exchange(Tc *a, Tc *b, const char *what)
{
	tc_send(a, b->pub, what, strlen(what));
	tc_expect_packet(b, a->pub, what, strlen(what));
	tc_send(b, a->pub, what, strlen(what));
	tc_expect_packet(a, b->pub, what, strlen(what));
}

static void
disco_like(uint8_t *buf, gsize len)
{
	g_assert_cmpuint(len, >=, WR_DISCO_BOX_OFFSET);
	memset(buf, 0x42, len);
	memcpy(buf, WR_DISCO_MAGIC, WR_DISCO_MAGIC_LEN);
}

/* ---- cases ------------------------------------------------------------------------------------
 */

static void
test_relay_both_ways(void)
{
	Srv s;
	g_autoptr(Tc) a = NULL;
	g_autoptr(Tc) b = NULL;
	uint8_t big[DERP_MAX_PACKET_SIZE];

	srv_init(&s);
	srv_start(&s, NULL);
	a = tc_new(&s);
	b = tc_new(&s);
	exchange(a, b, "hello through the relay");
	/* the largest packet, both ways */
	for (gsize i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t) (i * 7);
	tc_send(a, b->pub, big, sizeof(big));
	tc_expect_packet(b, a->pub, big, sizeof(big));
	/* an empty one */
	tc_send(b, a->pub, "", 0);
	tc_expect_packet(a, b->pub, "", 0);
	g_assert_cmpint(srv_metric(&s, "warren_derp_clients"), ==, 2);
	g_assert_cmpint(srv_metric(&s, "warren_derp_packets_relayed_total"), >=, 4);
	srv_clear(&s);
}

static void
test_ping_pong(void)
{
	Srv s;
	g_autoptr(Tc) a = NULL;
	g_autoptr(GByteArray) ping = g_byte_array_new();
	g_autoptr(GBytes) pong = NULL;
	const uint8_t data[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	uint8_t long_ping[100];

	srv_init(&s);
	srv_start(&s, NULL);
	a = tc_new(&s);
	g_assert_cmpint(wr_derp_append_ping(ping, data), ==, 0);
	tc_write(a, ping->data, ping->len);
	pong = tc_expect_type(a, DERP_FRAME_PONG, WAIT_MS);
	g_assert_nonnull(pong);
	g_assert_cmpmem(g_bytes_get_data(pong, NULL), g_bytes_get_size(pong), data, 8);
	/* §2.7: a Ping of 8 to 1000 bytes is answered with its first 8 */
	memset(long_ping, 9, sizeof(long_ping));
	g_byte_array_set_size(ping, 0);
	g_assert_cmpint(wr_derp_append_frame(ping, DERP_FRAME_PING, long_ping, sizeof(long_ping)),
			==, 0);
	tc_write(a, ping->data, ping->len);
	g_clear_pointer(&pong, g_bytes_unref);
	pong = tc_expect_type(a, DERP_FRAME_PONG, WAIT_MS);
	g_assert_nonnull(pong);
	g_assert_cmpmem(g_bytes_get_data(pong, NULL), g_bytes_get_size(pong), long_ping, 8);
	srv_clear(&s);
}

static void
test_peer_gone(void)
{
	Srv s;
	g_autoptr(Tc) a = NULL;
	Tc *b;
	Tc *c;
	g_autoptr(GBytes) gone = NULL;
	WrDerpPeerGone g;

	srv_init(&s);
	srv_start(&s, NULL);
	a = tc_new(&s);
	b = tc_new(&s);
	c = tc_new(&s);
	/* b sent to a, so a hears when b leaves (§2.9); c never sent to a */
	exchange(a, b, "x");
	tc_send(a, c->pub, "y", 1);
	tc_expect_packet(c, a->pub, "y", 1);
	uint8_t b_pub[32];

	tc_free(c);
	tc_expect_no(a, DERP_FRAME_PEER_GONE);
	memcpy(b_pub, b->pub, 32);
	tc_free(b);
	gone = tc_expect_type(a, DERP_FRAME_PEER_GONE, WAIT_MS);
	g_assert_nonnull(gone);
	g_assert_cmpint(
		wr_derp_parse_peer_gone(g_bytes_get_data(gone, NULL), g_bytes_get_size(gone), &g),
		==, 0);
	g_assert_cmpmem(g.key, 32, b_pub, 32);
	g_assert_cmpuint(g.reason, ==, DERP_PEER_GONE_DISCONNECTED);
	srv_clear(&s);
}

static void
test_not_here(void)
{
	Srv s;
	g_autoptr(Tc) a = NULL;
	g_autoptr(GBytes) gone = NULL;
	uint8_t nobody[32];
	uint8_t disco[80];
	WrDerpPeerGone g;

	srv_init(&s);
	srv_start(&s, NULL);
	a = tc_new(&s);
	wr_random_bytes(nobody, sizeof(nobody));
	/* a WireGuard-looking packet to nobody: dropped without a word (§7.17) */
	tc_send(a, nobody, "\x04\0\0\0wireguard", 13);
	tc_expect_no(a, DERP_FRAME_PEER_GONE);
	/* a disco-looking one: PeerGone(NotHere) */
	disco_like(disco, sizeof(disco));
	tc_send(a, nobody, disco, sizeof(disco));
	gone = tc_expect_type(a, DERP_FRAME_PEER_GONE, WAIT_MS);
	g_assert_nonnull(gone);
	g_assert_cmpint(
		wr_derp_parse_peer_gone(g_bytes_get_data(gone, NULL), g_bytes_get_size(gone), &g),
		==, 0);
	g_assert_cmpmem(g.key, 32, nobody, 32);
	g_assert_cmpuint(g.reason, ==, DERP_PEER_GONE_NOT_HERE);
	/* rate limited: a burst of 3, then 1 per second; 10 quick ones give at most 3 more */
	for (int i = 0; i < 10; i++)
		tc_send(a, nobody, disco, sizeof(disco));
	{
		guint n = 0;
		GBytes *p;

		while ((p = tc_expect_type(a, DERP_FRAME_PEER_GONE, QUIET_MS)) != NULL) {
			n++;
			g_bytes_unref(p);
		}
		g_assert_cmpuint(n, <=, 3);
	}
	g_assert_cmpint(
		srv_metric(&s, "warren_derp_packets_dropped_total{reason=\"unknown_dest\"}"), ==,
		12);
	srv_clear(&s);
}

/* bad bytes close that one connection, with a reason in the log, and disturb nobody else */
static void
test_bad_frames(void)
{
	const struct {
		const char *name;
		guint8 type;
		gsize len;	   /* payload length written */
		guint32 announced; /* 0: len */
		const char *reason;
	} cases[] = {
		{"oversized", DERP_FRAME_SEND_PACKET, 0, 10 * 1024 * 1024, "announcing more than"},
		{"short SendPacket", DERP_FRAME_SEND_PACKET, 31, 0, "malformed SendPacket"},
		{"NotePreferred of 2", DERP_FRAME_NOTE_PREFERRED, 2, 0,
		 "NotePreferred of the wrong"},
		{"WatchConns", DERP_FRAME_WATCH_CONNS, 0, 0, "WatchConns from a non-mesh client"},
		{"ForwardPacket", DERP_FRAME_FORWARD_PACKET, 64, 0, "ForwardPacket from a client"},
		{"ClosePeer", DERP_FRAME_CLOSE_PEER, 32, 0, "ClosePeer from a non-mesh client"},
		{"second ClientInfo", DERP_FRAME_CLIENT_INFO, 80, 0, "a second ClientInfo"},
		{"short Ping", DERP_FRAME_PING, 7, 0, "malformed Ping"},
	};
	Srv s;
	g_autoptr(Tc) a = NULL;
	g_autoptr(Tc) b = NULL;

	srv_init(&s);
	srv_start(&s, NULL);
	a = tc_new(&s);
	b = tc_new(&s);
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(Tc) bad = tc_new(&s);
		g_autofree guint8 *payload = g_malloc0(cases[i].len + 1);
		guint8 header[DERP_FRAME_HEADER_LEN];

		g_test_message("bad frame: %s", cases[i].name);
		g_assert_cmpint(wr_derp_write_header(header, cases[i].type,
						     cases[i].announced ? cases[i].announced
									: cases[i].len),
				==, 0);
		tc_write(bad, header, sizeof(header));
		(void) tc_try_write(bad, payload, cases[i].len);
		g_assert_true(tc_wait_closed(bad, WAIT_MS));
		g_assert_true(srv_log_has(&s, cases[i].reason));
		exchange(a, b, cases[i].name);
	}
	/* an unknown type is skipped, and the connection goes on */
	{
		g_autoptr(GByteArray) frame = g_byte_array_new();

		g_assert_cmpint(wr_derp_append_frame(frame, 0x0b, (const guint8 *) "??", 2), ==, 0);
		tc_write(a, frame->data, frame->len);
		exchange(a, b, "after an unknown frame");
	}
	/* a login that does not open, and garbage instead of ClientInfo */
	{
		g_autoptr(GSocketClient) sc = g_socket_client_new();
		g_autoptr(GSocketConnection) raw = NULL;
		g_autoptr(GError) error = NULL;
		g_autoptr(GByteArray) req = g_byte_array_new();
		const char *head = "GET /derp HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
				   "Upgrade: DERP\r\n\r\n";
		guint8 junk[64];
		gchar buf[4096];
		gsize total = 0;

		/* a ClientInfo whose box is too short to open, sent with the request, before the
		 * server's answer: it sits in libsoup's buffer when the connection is handed over
		 */
		memset(junk, '0', sizeof(junk));
		g_byte_array_append(req, (const guint8 *) head, (guint) strlen(head));
		g_assert_cmpint(
			wr_derp_append_frame(req, DERP_FRAME_CLIENT_INFO, junk, sizeof(junk)), ==,
			0);
		raw = g_socket_client_connect_to_host(sc, s.base + strlen("http://"), 0, NULL,
						      &error);
		g_assert_no_error(error);
		g_assert_true(
			g_output_stream_write_all(g_io_stream_get_output_stream(G_IO_STREAM(raw)),
						  req->data, req->len, NULL, NULL, &error));
		/* the server answers 101 and ServerKey, then closes */
		for (;;) {
			gssize n =
				g_input_stream_read(g_io_stream_get_input_stream(G_IO_STREAM(raw)),
						    buf, sizeof(buf), NULL, NULL);

			if (n <= 0)
				break;
			total += (gsize) n;
		}
		g_assert_cmpuint(total, >, 0);
		g_assert_true(srv_log_has(&s, "ClientInfo does not open"));
	}
	exchange(a, b, "still fine");
	g_assert_cmpint(srv_metric(&s, "warren_derp_closes_total{reason=\"protocol_error\"}"), >=,
			7);
	srv_clear(&s);
}

static void
test_http_endpoints(void)
{
	Srv s;
	g_autoptr(SoupSession) session = soup_session_new();
	g_autofree char *probe = NULL;
	g_autofree char *gen = NULL;
	g_autofree char *derp = NULL;

	srv_init(&s);
	srv_start(&s, NULL);
	probe = g_strdup_printf("%s/derp/probe", s.base);
	gen = g_strdup_printf("%s/generate_204", s.base);
	derp = g_strdup_printf("%s/derp", s.base);
	{
		g_autoptr(SoupMessage) msg = soup_message_new("HEAD", probe);
		g_autoptr(GBytes) body = soup_session_send_and_read(session, msg, NULL, NULL);

		g_assert_nonnull(body);
		g_assert_cmpuint(g_bytes_get_size(body), ==, 0);
		g_assert_cmpuint(soup_message_get_status(msg), ==, 200);
		g_assert_cmpstr(soup_message_headers_get_one(soup_message_get_response_headers(msg),
							     "Access-Control-Allow-Origin"),
				==, "*");
	}
	{
		g_autoptr(SoupMessage) msg = soup_message_new("POST", probe);
		g_autoptr(GBytes) body = soup_session_send_and_read(session, msg, NULL, NULL);

		g_assert_nonnull(body);
		g_assert_cmpuint(soup_message_get_status(msg), ==, 405);
	}
	{
		g_autoptr(SoupMessage) msg = soup_message_new("GET", gen);
		g_autoptr(GBytes) body = NULL;

		soup_message_headers_append(soup_message_get_request_headers(msg),
					    "X-Tailscale-Challenge", "abc.DEF:12-3");
		body = soup_session_send_and_read(session, msg, NULL, NULL);
		g_assert_cmpuint(soup_message_get_status(msg), ==, 204);
		g_assert_cmpstr(soup_message_headers_get_one(soup_message_get_response_headers(msg),
							     "X-Tailscale-Response"),
				==, "response abc.DEF:12-3");
	}
	{
		/* a challenge with a character outside [A-Za-z0-9._:-] is not echoed */
		g_autoptr(SoupMessage) msg = soup_message_new("GET", gen);
		g_autoptr(GBytes) body = NULL;

		soup_message_headers_append(soup_message_get_request_headers(msg),
					    "X-Tailscale-Challenge", "a<b");
		body = soup_session_send_and_read(session, msg, NULL, NULL);
		g_assert_cmpuint(soup_message_get_status(msg), ==, 204);
		g_assert_null(soup_message_headers_get_one(soup_message_get_response_headers(msg),
							   "X-Tailscale-Response"));
	}
	{
		g_autoptr(SoupMessage) msg = soup_message_new("GET", derp);
		g_autoptr(GBytes) body = soup_session_send_and_read(session, msg, NULL, NULL);

		g_assert_cmpuint(soup_message_get_status(msg), ==, 426);
		g_assert_cmpmem(g_bytes_get_data(body, NULL), g_bytes_get_size(body),
				"DERP requires connection upgrade", 32);
	}
	g_assert_cmpint(srv_metric(&s, "warren_derp_clients"), ==, 0);
	srv_clear(&s);
}

static void
test_duplicate_keys(void)
{
	Srv s;
	g_autoptr(Tc) a = NULL;
	g_autoptr(Tc) b1 = NULL;
	g_autoptr(Tc) b2 = NULL;
	g_autoptr(GError) error = NULL;

	srv_init(&s);
	srv_start(&s, NULL);
	a = tc_new(&s);
	b1 = tc_new(&s);
	/* a second connection with b1's key */
	b2 = g_new0(Tc, 1);
	memcpy(b2->priv, b1->priv, 32);
	memcpy(b2->pub, b1->pub, 32);
	b2->conn = dial_sync(s.url, b2->priv, NULL, &error);
	g_assert_no_error(error);
	b2->buf = g_byte_array_new();
	if (b2->conn->pending != NULL)
		g_byte_array_append(b2->buf, b2->conn->pending->data, b2->conn->pending->len);
	g_assert_true(srv_wait_metric(&s, "warren_derp_clients", 3));
	g_assert_cmpint(srv_metric(&s, "warren_derp_client_keys"), ==, 2);
	/* the newest gets the packets */
	tc_send(a, b1->pub, "1", 1);
	tc_expect_packet(b2, a->pub, "1", 1);
	/* the one that last sent gets them (§2.9) */
	tc_send(b1, a->pub, "2", 1);
	tc_expect_packet(a, b1->pub, "2", 1);
	tc_send(a, b1->pub, "3", 1);
	tc_expect_packet(b1, a->pub, "3", 1);
	/* closing one leaves the other: no PeerGone, and packets still arrive */
	g_clear_pointer(&b1, tc_free);
	tc_expect_no(a, DERP_FRAME_PEER_GONE);
	tc_send(a, b2->pub, "4", 1);
	tc_expect_packet(b2, a->pub, "4", 1);
	srv_clear(&s);
}

static void
test_verify_file(void)
{
	Srv s;
	g_autofree char *allowed = NULL;
	g_autofree char *ka = NULL;
	g_autofree char *kb = NULL;
	g_autofree char *contents = NULL;
	g_autoptr(Tc) a = NULL;
	g_autoptr(Tc) b = NULL;
	g_autoptr(Tc) b2 = NULL;
	g_autoptr(GError) error = NULL;
	uint8_t pa[32], sa[32], pb[32], sb[32];

	srv_init(&s);
	allowed = g_build_filename(s.dir, "allowed", NULL);
	wr_x25519_generate(sa, pa);
	wr_x25519_generate(sb, pb);
	ka = wr_key_to_text(WR_KEY_KIND_NODE, pa);
	kb = wr_key_to_text(WR_KEY_KIND_NODE, pb);
	contents = g_strdup_printf("# the tailnet's nodes\n%s\n\n", ka);
	g_assert_true(g_file_set_contents(allowed, contents, -1, NULL));
	srv_start(&s, "--verify-clients", allowed, NULL);

	a = g_new0(Tc, 1);
	memcpy(a->priv, sa, 32);
	a->conn = dial_sync(s.url, sa, NULL, &error);
	g_assert_no_error(error);
	a->buf = g_byte_array_new();

	/* b is not on the list: its login fails, and the log says why */
	b = tc_new_with(s.url, NULL, &error);
	g_assert_null(b);
	g_assert_nonnull(error);
	g_clear_error(&error);
	g_assert_true(srv_log_has(&s, "not in the allowed keys file"));

	/* a bad file on SIGHUP keeps the old list */
	g_assert_true(g_file_set_contents(allowed, "nodekey:nothex\n", -1, NULL));
	g_subprocess_send_signal(s.proc, SIGHUP);
	g_assert_true(srv_wait_metric(&s, "warren_derp_logins_total", 1));
	{
		gint64 deadline = g_get_monotonic_time() + WAIT_MS * 1000;

		while (!srv_log_has(&s, "not reloading the allowed keys") &&
		       g_get_monotonic_time() < deadline)
			g_usleep(20000);
		g_assert_true(srv_log_has(&s, "allowed:1: \"nodekey:nothex\" is not a node key"));
	}
	/* then a good one with b on it */
	g_free(contents);
	contents = g_strdup_printf("%s\n%s\n", ka, kb);
	g_assert_true(g_file_set_contents(allowed, contents, -1, NULL));
	g_subprocess_send_signal(s.proc, SIGHUP);
	{
		gint64 deadline = g_get_monotonic_time() + WAIT_MS * 1000;

		while (!srv_log_has(&s, "reloaded 2 allowed keys") &&
		       g_get_monotonic_time() < deadline)
			g_usleep(20000);
	}
	b2 = g_new0(Tc, 1);
	memcpy(b2->priv, sb, 32);
	memcpy(b2->pub, pb, 32);
	b2->conn = dial_sync(s.url, sb, NULL, &error);
	g_assert_no_error(error);
	b2->buf = g_byte_array_new();
	memcpy(a->pub, pa, 32);
	exchange(a, b2, "both allowed now");
	g_assert_cmpint(srv_metric(&s, "warren_derp_closes_total{reason=\"verify_denied\"}"), ==,
			1);
	srv_clear(&s);
}

/* the control server's side of --verify-clients URL: allows one key, counts the questions */
typedef struct {
	char *allowed; /* "nodekey:<hex>" */
	guint asked;
	char *last_source;
	guint status; /* answer with this HTTP status instead, when not 0 */
} Verifier;

static void
verifier_cb(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
	    gpointer user_data)
{
	Verifier *v = user_data;
	SoupMessageBody *body = soup_server_message_get_request_body(msg);
	g_autoptr(GBytes) bytes = soup_message_body_flatten(body);
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonObject *obj;
	const char *key;
	const char *answer;

	v->asked++;
	g_assert_cmpstr(soup_server_message_get_method(msg), ==, "POST");
	if (v->status != 0) {
		soup_server_message_set_status(msg, v->status, NULL);
		return;
	}
	g_assert_true(json_parser_load_from_data(parser, g_bytes_get_data(bytes, NULL),
						 (gssize) g_bytes_get_size(bytes), NULL));
	obj = json_node_get_object(json_parser_get_root(parser));
	key = json_object_get_string_member(obj, "NodePublic");
	g_free(v->last_source);
	v->last_source = g_strdup(json_object_get_string_member(obj, "Source"));
	answer = g_strcmp0(key, v->allowed) == 0 ? "{\"Allow\": true}" : "{\"Allow\": false}";
	soup_server_message_set_status(msg, SOUP_STATUS_OK, NULL);
	soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_COPY, answer,
					 strlen(answer));
}

/* dials while the main context (and with it the verifier) runs; TRUE when the login succeeded */
static gboolean
verify_login(Srv *s, const uint8_t priv[32])
{
	g_autoptr(GError) error = NULL;
	WrDerpConn *conn = dial_sync(s->url, priv, NULL, &error);

	if (conn == NULL)
		return FALSE;
	wr_derp_conn_free(conn);
	return TRUE;
}

static void
test_verify_url(void)
{
	Srv s, s_closed;
	Verifier v = {0};
	g_autoptr(SoupServer) control = soup_server_new(NULL, NULL);
	g_autoptr(GError) error = NULL;
	g_autoslist(GUri) uris = NULL;
	g_autofree char *url = NULL;
	g_autofree char *dead_url = NULL;
	uint8_t pa[32], sa[32], pb[32], sb[32];

	wr_x25519_generate(sa, pa);
	wr_x25519_generate(sb, pb);
	v.allowed = wr_key_to_text(WR_KEY_KIND_NODE, pa);
	soup_server_add_handler(control, "/verify", verifier_cb, &v, NULL);
	g_assert_true(soup_server_listen_local(control, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error));
	g_assert_no_error(error);
	uris = soup_server_get_uris(control);
	url = g_strdup_printf("http://127.0.0.1:%d/verify", g_uri_get_port(uris->data));

	srv_init(&s);
	srv_start(&s, "--verify-clients", url, NULL);
	/* the allowed key logs in, the other does not; both were asked about, with the source */
	g_assert_true(verify_login(&s, sa));
	g_assert_cmpuint(v.asked, ==, 1);
	g_assert_cmpstr(v.last_source, ==, "127.0.0.1");
	g_assert_false(verify_login(&s, sb));
	g_assert_cmpuint(v.asked, ==, 2);
	g_assert_true(srv_log_has(&s, "the verifier said no"));
	/* an answer that is no answer: fail open by default (Tailscale's choice) */
	v.status = SOUP_STATUS_INTERNAL_SERVER_ERROR;
	g_assert_true(verify_login(&s, sb));
	g_assert_true(srv_log_has(&s, "verifier answered HTTP 500"));
	srv_stop(&s);

	/* --verify-clients-fail-closed: the same failure refuses */
	srv_start(&s, "--verify-clients", url, "--verify-clients-fail-closed", NULL);
	g_assert_false(verify_login(&s, sa));
	v.status = 0;
	g_assert_true(verify_login(&s, sa));

	/* an unreachable verifier, fail closed: refused, and the log says why */
	srv_init(&s_closed);
	dead_url = g_strdup_printf("http://127.0.0.1:%u/verify", wr_test_free_port(SOCK_STREAM));
	srv_start(&s_closed, "--verify-clients", dead_url, "--verify-clients-fail-closed", NULL);
	g_assert_false(verify_login(&s_closed, sa));
	g_assert_true(srv_log_has(&s_closed, "verifier unreachable"));
	srv_clear(&s_closed);

	srv_clear(&s);
	g_free(v.allowed);
	g_free(v.last_source);
}

static void
test_queue_bound_and_write_timeout(void)
{
	Srv s;
	g_autoptr(Tc) a = NULL;
	g_autoptr(Tc) sleeper = NULL;
	g_autoptr(Tc) c = NULL;
	uint8_t pkt[60000];

	srv_init(&s);
	srv_start(&s, NULL);
	a = tc_new(&s);
	sleeper = tc_new(&s);
	c = tc_new(&s);
	memset(pkt, 7, sizeof(pkt));
	/* the sleeper never reads: its socket fills, then its queue (32) drops the oldest, then
	 * after 2 s of a full socket the server gives up on it */
	for (int i = 0; i < 400; i++)
		tc_send(a, sleeper->pub, pkt, sizeof(pkt));
	g_assert_true(
		srv_wait_metric(&s, "warren_derp_packets_dropped_total{reason=\"queue_full\"}", 1));
	g_assert_true(srv_wait_metric(&s, "warren_derp_closes_total{reason=\"write_timeout\"}", 1));
	g_assert_true(srv_log_has(&s, "write timeout"));
	/* a and c did not notice */
	exchange(a, c, "unaffected");
	g_assert_cmpint(srv_metric(&s, "warren_derp_clients"), ==, 2);
	srv_clear(&s);
}

static void
test_rate_limit(void)
{
	Srv s;
	g_autoptr(Tc) a = NULL;
	g_autoptr(Tc) b = NULL;
	uint8_t pkt[1000];
	guint got = 0;

	srv_init(&s);
	/* 100 kB/s with the smallest burst: 200 kB take about a second, and nothing is lost */
	srv_start(&s, "--rate-limit", "100000", "--rate-burst", "0", NULL);
	a = tc_new(&s);
	b = tc_new(&s);
	for (guint i = 0; i < 200; i++) {
		memset(pkt, (int) i, sizeof(pkt));
		tc_send(a, b->pub, pkt, sizeof(pkt));
	}
	while (got < 200) {
		g_autoptr(GBytes) p = tc_expect_type(b, DERP_FRAME_RECV_PACKET, WAIT_MS);
		const guint8 *d;

		g_assert_nonnull(p);
		d = g_bytes_get_data(p, NULL);
		/* in order, none dropped: the limit pauses reading, it does not drop (§2.10) */
		g_assert_cmpuint(d[32], ==, (guint8) got);
		got++;
	}
	g_assert_cmpint(srv_metric(&s, "warren_derp_rate_limited_waits_total"), >, 0);
	srv_clear(&s);
}

static void
test_idle_timeout(void)
{
	Srv s;
	g_autoptr(Tc) quiet = NULL;
	g_autoptr(Tc) pinged = NULL;
	gint64 deadline;

	srv_init(&s);
	srv_start(&s, "--idle-timeout", "2", NULL);
	/* both say CanAckPings (the dialer always does); one answers the server's pings */
	pinged = tc_new(&s);
	quiet = tc_new(&s);
	deadline = g_get_monotonic_time() + 4 * G_USEC_PER_SEC;
	while (g_get_monotonic_time() < deadline) {
		guint8 t;
		g_autoptr(GBytes) p = NULL;

		if (tc_read_frame(pinged, 100, &t, &p) && t == DERP_FRAME_PING) {
			g_autoptr(GByteArray) pong = g_byte_array_new();

			g_assert_cmpint(wr_derp_append_pong(pong, g_bytes_get_data(p, NULL)), ==,
					0);
			tc_write(pinged, pong->data, pong->len);
		}
		g_assert_false(pinged->eof);
	}
	/* the one that never answered was closed, the other one still relays */
	g_assert_true(tc_wait_closed(quiet, WAIT_MS));
	g_assert_cmpint(srv_metric(&s, "warren_derp_closes_total{reason=\"idle\"}"), ==, 1);
	{
		g_autoptr(Tc) c = tc_new(&s);

		exchange(pinged, c, "still here");
	}
	srv_clear(&s);
}

static void
test_restarting(void)
{
	Srv s;
	g_autoptr(Tc) a = NULL;
	g_autoptr(GBytes) r = NULL;
	WrDerpRestarting rs;

	srv_init(&s);
	srv_start(&s, NULL);
	a = tc_new(&s);
	g_subprocess_send_signal(s.proc, SIGTERM);
	r = tc_expect_type(a, DERP_FRAME_RESTARTING, WAIT_MS);
	g_assert_nonnull(r);
	g_assert_cmpint(
		wr_derp_parse_restarting(g_bytes_get_data(r, NULL), g_bytes_get_size(r), &rs), ==,
		0);
	g_assert_cmpuint(rs.reconnect_in_ms, >, 0);
	g_assert_cmpuint(rs.try_for_ms, >, 0);
	g_assert_true(tc_wait_closed(a, WAIT_MS));
	g_assert_true(g_subprocess_wait(s.proc, NULL, NULL));
	g_assert_true(g_subprocess_get_if_exited(s.proc));
	g_assert_cmpint(g_subprocess_get_exit_status(s.proc), ==, 0);
	g_clear_object(&s.proc);
	srv_clear(&s);
}

static void
write_mesh_key(const char *path)
{
	g_assert_true(g_file_set_contents(
		path, "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\n", -1,
		NULL));
	g_assert_cmpint(g_chmod(path, 0600), ==, 0);
}

/* sends from a to b until one arrives (the mesh needs a moment to learn where b is) */
static void
exchange_eventually(Tc *from, Tc *to, const char *what)
{
	gint64 deadline = g_get_monotonic_time() + MESH_WAIT_MS * 1000;

	while (g_get_monotonic_time() < deadline) {
		g_autoptr(GBytes) p = NULL;

		tc_send(from, to->pub, what, strlen(what));
		p = tc_expect_type(to, DERP_FRAME_RECV_PACKET, 200);
		if (p != NULL) {
			WrDerpPacket pkt;

			g_assert_cmpint(wr_derp_parse_recv_packet(g_bytes_get_data(p, NULL),
								  g_bytes_get_size(p), &pkt),
					==, 0);
			g_assert_cmpmem(pkt.key, 32, from->pub, 32);
			g_assert_cmpmem(pkt.data, pkt.len, what, strlen(what));
			return;
		}
	}
	g_error("no packet \"%s\" through the mesh within 15 s", what);
}

static void
test_mesh(void)
{
	Srv s1, s2;
	g_autofree char *mesh_key = NULL;
	g_autoptr(Tc) a = NULL;
	g_autoptr(Tc) b = NULL;
	g_autoptr(Tc) c = NULL;

	srv_init(&s1);
	srv_init(&s2);
	mesh_key = g_build_filename(s1.dir, "mesh.key", NULL);
	write_mesh_key(mesh_key);
	srv_start(&s1, "--mesh-key-file", mesh_key, "--mesh-with", s2.base, NULL);
	srv_start(&s2, "--mesh-key-file", mesh_key, "--mesh-with", s1.base, NULL);
	/* s1 came up first and found nobody: its link waits for the redial (5 s) */
	g_assert_true(srv_wait_metric_for(&s1, "warren_derp_mesh_links", 1, MESH_WAIT_MS));
	g_assert_true(srv_wait_metric_for(&s2, "warren_derp_mesh_links", 1, MESH_WAIT_MS));
	a = tc_new(&s1);
	b = tc_new(&s2);
	exchange_eventually(a, b, "from s1 to s2");
	exchange_eventually(b, a, "from s2 to s1");
	g_assert_cmpint(srv_metric(&s1, "warren_derp_packets_forwarded_out_total"), >=, 1);
	g_assert_cmpint(srv_metric(&s2, "warren_derp_packets_forwarded_in_total"), >=, 1);
	/* b moves to s1: both servers keep delivering */
	g_clear_pointer(&b, tc_free);
	c = tc_new(&s1);
	exchange(a, c, "local on s1");
	/* s2 goes away: s1 forgets what it learned over the link, and redials */
	srv_stop(&s2);
	g_assert_true(srv_wait_metric(&s1, "warren_derp_mesh_links", 0));
	srv_start(&s2, "--mesh-key-file", mesh_key, "--mesh-with", s1.base, NULL);
	{
		g_autoptr(Tc) d = tc_new(&s2);

		exchange_eventually(a, d, "after s2 came back");
	}
	srv_clear(&s1);
	srv_clear(&s2);
}

static void
test_mesh_wrong_key(void)
{
	Srv s1, s2;
	g_autofree char *k1 = NULL;
	g_autofree char *k2 = NULL;
	gint64 deadline;

	srv_init(&s1);
	srv_init(&s2);
	k1 = g_build_filename(s1.dir, "mesh.key", NULL);
	k2 = g_build_filename(s2.dir, "mesh.key", NULL);
	write_mesh_key(k1);
	g_assert_true(g_file_set_contents(
		k2, "a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5\n", -1,
		NULL));
	g_assert_cmpint(g_chmod(k2, 0600), ==, 0);
	srv_start(&s1, "--mesh-key-file", k1, NULL);
	srv_start(&s2, "--mesh-key-file", k2, "--mesh-with", s1.base, NULL);
	deadline = g_get_monotonic_time() + WAIT_MS * 1000;
	while (!srv_log_has(&s1, "wrong mesh key") && g_get_monotonic_time() < deadline)
		g_usleep(20000);
	g_assert_true(srv_log_has(&s1, "wrong mesh key"));
	g_assert_cmpint(srv_metric(&s1, "warren_derp_mesh_clients"), ==, 0);
	g_assert_cmpint(srv_metric(&s2, "warren_derp_mesh_links"), ==, 0);
	srv_clear(&s1);
	srv_clear(&s2);
}

static void
test_tls(void)
{
	Srv s;
	g_autofree char *cert = NULL;
	g_autofree char *key = NULL;
	g_autofree char *tls_listen = NULL;
	g_autofree char *tls_url = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(Tc) a = NULL;
	g_autoptr(Tc) b = NULL;
	g_autoptr(Tc) wrong = NULL;
	g_autoptr(GTlsCertificate) tc = NULL;
	g_autoptr(GByteArray) der = NULL;
	g_autofree char *pin = NULL;
	WrDerpDialOptions opts = {0};
	guint16 tls_port;
	gint status = 0;

	srv_init(&s);
	cert = g_build_filename(s.dir, "cert.pem", NULL);
	key = g_build_filename(s.dir, "key.pem", NULL);
	{
		const char *argv[] = {"openssl",
				      "req",
				      "-x509",
				      "-newkey",
				      "ec",
				      "-pkeyopt",
				      "ec_paramgen_curve:prime256v1",
				      "-nodes",
				      "-days",
				      "1",
				      "-subj",
				      "/CN=derp.test",
				      "-addext",
				      "subjectAltName=DNS:derp.test",
				      "-keyout",
				      key,
				      "-out",
				      cert,
				      NULL};

		if (!g_spawn_sync(NULL, (char **) argv, NULL,
				  G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL |
					  G_SPAWN_STDERR_TO_DEV_NULL,
				  NULL, NULL, NULL, NULL, &status, NULL) ||
		    status != 0) {
			g_test_skip("openssl cannot make a test certificate");
			srv_clear(&s);
			return;
		}
	}
	tls_port = wr_test_free_port(SOCK_STREAM);
	tls_listen = g_strdup_printf("127.0.0.1:%u", tls_port);
	tls_url = g_strdup_printf("https://127.0.0.1:%u/derp", tls_port);
	srv_start(&s, "--tls-listen", tls_listen, "--cert", cert, "--key", key, NULL);

	/* pinned by the certificate's SHA-256, as a DERP map CertName does */
	tc = g_tls_certificate_new_from_file(cert, &error);
	g_assert_no_error(error);
	g_object_get(tc, "certificate", &der, NULL);
	{
		g_autofree char *hex =
			g_compute_checksum_for_data(G_CHECKSUM_SHA256, der->data, der->len);

		pin = g_strdup_printf("sha256-raw:%s", hex);
	}
	opts.cert_name = pin;
	a = tc_new_with(tls_url, &opts, &error);
	g_assert_no_error(error);
	b = tc_new(&s); /* plain HTTP on the same server */
	exchange(a, b, "between TLS and plain");
	/* a different pin is refused */
	opts.cert_name =
		"sha256-raw:0000000000000000000000000000000000000000000000000000000000000000";
	wrong = tc_new_with(tls_url, &opts, &error);
	g_assert_null(wrong);
	g_assert_nonnull(error);
	srv_clear(&s);
}

static void
test_stun(void)
{
	Srv s;
	g_autofree char *stun = NULL;
	g_autofree char *port = NULL;
	g_autofree char *out = NULL;
	g_autoptr(GError) error = NULL;
	gint status = -1;
	guint16 p = wr_test_free_port(SOCK_DGRAM);
	const char *argv[] = {"turnutils_stunclient", "-p", NULL, "127.0.0.1", NULL};

	g_autofree char *tool = g_find_program_in_path("turnutils_stunclient");

	if (tool == NULL) {
		g_test_skip("coturn's turnutils_stunclient is not installed");
		return;
	}
	srv_init(&s);
	stun = g_strdup_printf("127.0.0.1:%u", p);
	port = g_strdup_printf("%u", p);
	srv_start(&s, "--stun-listen", stun, NULL);
	argv[2] = port;
	g_assert_true(g_spawn_sync(NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
				   &out, NULL, &status, &error));
	g_assert_no_error(error);
	g_test_message("turnutils_stunclient: %s", out);
	g_assert_nonnull(strstr(out, "UDP reflexive addr: 127.0.0.1:"));
	g_assert_true(srv_wait_metric(&s, "warren_derp_stun_requests_total", 1));
	srv_clear(&s);
}

/* ---- the engine's WrDerpClient against the real server ----------------------------------------
 */

/* a restarted server must have its clients back and relaying within this */
#define RESUME_LIMIT_MS 2000

typedef struct {
	WrDerpClient *client;
	uint8_t priv[32];
	uint8_t pub[32];
	GQueue packets; /* GBytes: 32 bytes of source key, then the packet */
	GQueue gone;	/* GBytes: 32 bytes of key, then the reason byte */
	GQueue present; /* GBytes: 32 bytes of key */
	guint connected;
	guint disconnected;
	guint restarting;
} Ec;

static void
ec_on_connected(WrDerpClient *client, gpointer user_data)
{
	Ec *e = user_data;

	e->connected++;
}

static void
ec_on_disconnected(WrDerpClient *client, const char *reason, gpointer user_data)
{
	Ec *e = user_data;

	g_test_message("client %p disconnected: %s", (void *) e, reason);
	e->disconnected++;
}

static void
ec_on_packet(WrDerpClient *client, gpointer src, GBytes *packet, gpointer user_data)
{
	Ec *e = user_data;
	GByteArray *a = g_byte_array_new();

	g_byte_array_append(a, src, 32);
	g_byte_array_append(a, g_bytes_get_data(packet, NULL), (guint) g_bytes_get_size(packet));
	g_queue_push_tail(&e->packets, g_byte_array_free_to_bytes(a));
}

static void
ec_on_peer_gone(WrDerpClient *client, gpointer key, guint reason, gpointer user_data)
{
	Ec *e = user_data;
	guint8 buf[33];

	memcpy(buf, key, 32);
	buf[32] = (guint8) reason;
	g_queue_push_tail(&e->gone, g_bytes_new(buf, sizeof(buf)));
}

static void
ec_on_peer_present(WrDerpClient *client, gpointer key, GSocketAddress *address, guint flags,
		   gpointer user_data)
{
	Ec *e = user_data;

	g_queue_push_tail(&e->present, g_bytes_new(key, 32));
}

static void
ec_on_restarting(WrDerpClient *client, guint reconnect_in_ms, guint try_for_ms, gpointer user_data)
{
	Ec *e = user_data;

	g_assert_cmpuint(reconnect_in_ms, >, 0);
	g_assert_cmpuint(try_for_ms, >, 0);
	e->restarting++;
}

static Ec *
ec_new_with(const char *url, const WrDerpDialOptions *options)
{
	Ec *e = g_new0(Ec, 1);

	wr_x25519_generate(e->priv, e->pub);
	e->client = wr_derp_client_new(url, e->priv, options);
	g_signal_connect(e->client, "connected", G_CALLBACK(ec_on_connected), e);
	g_signal_connect(e->client, "disconnected", G_CALLBACK(ec_on_disconnected), e);
	g_signal_connect(e->client, "packet-received", G_CALLBACK(ec_on_packet), e);
	g_signal_connect(e->client, "peer-gone", G_CALLBACK(ec_on_peer_gone), e);
	g_signal_connect(e->client, "peer-present", G_CALLBACK(ec_on_peer_present), e);
	g_signal_connect(e->client, "restarting", G_CALLBACK(ec_on_restarting), e);
	wr_derp_client_start(e->client);
	return e;
}

static Ec *
ec_new(Srv *s)
{
	return ec_new_with(s->url, NULL);
}

static void
ec_free(Ec *e)
{
	if (e == NULL)
		return;
	wr_derp_client_stop(e->client);
	g_signal_handlers_disconnect_by_data(e->client, e);
	g_object_unref(e->client);
	g_queue_clear_full(&e->packets, (GDestroyNotify) g_bytes_unref);
	g_queue_clear_full(&e->gone, (GDestroyNotify) g_bytes_unref);
	g_queue_clear_full(&e->present, (GDestroyNotify) g_bytes_unref);
	wr_memzero(e->priv, sizeof(e->priv));
	g_free(e);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Ec, ec_free)

static gboolean
ec_tick(gpointer user_data)
{
	return G_SOURCE_CONTINUE;
}

/* runs the main context until done(data) or timeout_ms passed; the result of done() */
static gboolean
ec_wait(gboolean (*done)(gpointer data), gpointer data, guint timeout_ms)
{
	gint64 deadline = g_get_monotonic_time() + (gint64) timeout_ms * 1000;
	guint tick = g_timeout_add(10, ec_tick, NULL);
	gboolean ok;

	while (!(ok = done(data)) && g_get_monotonic_time() < deadline)
		g_main_context_iteration(NULL, TRUE);
	g_source_remove(tick);
	return ok;
}

static gboolean
ec_is_connected(gpointer data)
{
	return wr_derp_client_is_connected(((Ec *) data)->client);
}

static gboolean
ec_has_packet(gpointer data)
{
	return !g_queue_is_empty(&((Ec *) data)->packets);
}

static gboolean
ec_has_gone(gpointer data)
{
	return !g_queue_is_empty(&((Ec *) data)->gone);
}

static gboolean
ec_has_present(gpointer data)
{
	return !g_queue_is_empty(&((Ec *) data)->present);
}

/* pops the next packet and checks its source and bytes */
static void
ec_take_packet(Ec *e, const uint8_t src[32], const void *data, gsize len)
{
	g_autoptr(GBytes) p = g_queue_pop_head(&e->packets);
	const guint8 *b;

	g_assert_nonnull(p);
	b = g_bytes_get_data(p, NULL);
	g_assert_cmpmem(b, 32, src, 32);
	g_assert_cmpmem(b + 32, g_bytes_get_size(p) - 32, data, len);
}

static void
ec_exchange_bytes(Ec *from, Ec *to, const void *data, gsize len)
{
	g_assert_true(wr_derp_client_send(from->client, to->pub, data, len));
	g_assert_true(ec_wait(ec_has_packet, to, WAIT_MS));
	ec_take_packet(to, from->pub, data, len);
}

/*
 * Sends from one client to the other every 50 ms until one arrives, for at most timeout_ms
 * (while a server or a mesh link is coming back, some sends are lost).  The time it took in
 * µs, or -1.
 */
static gint64
ec_send_until_received(Ec *from, Ec *to, const char *what, guint timeout_ms)
{
	gint64 start = g_get_monotonic_time();
	gint64 deadline = start + (gint64) timeout_ms * 1000;

	while (g_get_monotonic_time() < deadline) {
		(void) wr_derp_client_send(from->client, to->pub, (const guint8 *) what,
					   strlen(what));
		if (ec_wait(ec_has_packet, to, 50)) {
			ec_take_packet(to, from->pub, what, strlen(what));
			/* the same packet sent again may still be on its way; drop the copies */
			(void) ec_wait(ec_has_packet, to, 60);
			g_queue_clear_full(&to->packets, (GDestroyNotify) g_bytes_unref);
			return g_get_monotonic_time() - start;
		}
	}
	return -1;
}

static void
ping_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
	gint64 *rtt = user_data;
	g_autoptr(GError) error = NULL;

	if (!wr_derp_client_ping_finish(WR_DERP_CLIENT(source), result, rtt, &error)) {
		g_test_message("ping: %s", error->message);
		*rtt = -2;
	}
}

static gboolean
ping_done(gpointer data)
{
	return *(gint64 *) data != -1;
}

static void
test_engine_clients(void)
{
	Srv s;
	g_autoptr(Ec) a = NULL;
	g_autoptr(Ec) b = NULL;
	g_autofree guint8 *big = g_malloc(DERP_MAX_PACKET_SIZE);
	WrDerpClientStats st;
	uint8_t server_key[32];
	gint64 rtt = -1;
	const guint8 *gone;

	srv_init(&s);
	srv_start(&s, NULL);
	a = ec_new(&s);
	b = ec_new(&s);
	g_assert_true(ec_wait(ec_is_connected, a, WAIT_MS));
	g_assert_true(ec_wait(ec_is_connected, b, WAIT_MS));
	g_assert_true(wr_derp_client_get_server_key(a->client, server_key));

	/* both ways, an empty packet, a WireGuard-sized one and the largest DERP carries */
	ec_exchange_bytes(a, b, "from a", 6);
	ec_exchange_bytes(b, a, "from b", 6);
	ec_exchange_bytes(a, b, "", 0);
	for (gsize i = 0; i < DERP_MAX_PACKET_SIZE; i++)
		big[i] = (guint8) (i * 7 + 1);
	ec_exchange_bytes(b, a, big, 1420);
	ec_exchange_bytes(a, b, big, DERP_MAX_PACKET_SIZE);
	/* a burst arrives whole and in order */
	for (guint i = 0; i < 20; i++) {
		char what[16];

		g_snprintf(what, sizeof(what), "burst %u", i);
		g_assert_true(wr_derp_client_send(a->client, b->pub, (const guint8 *) what,
						  strlen(what)));
	}
	for (guint i = 0; i < 20; i++) {
		char what[16];

		g_snprintf(what, sizeof(what), "burst %u", i);
		g_assert_true(ec_wait(ec_has_packet, b, WAIT_MS));
		ec_take_packet(b, a->pub, what, strlen(what));
	}

	/* a client Ping comes back as the server's Pong */
	wr_derp_client_ping_async(a->client, NULL, ping_cb, &rtt);
	g_assert_true(ec_wait(ping_done, &rtt, WAIT_MS));
	g_assert_cmpint(rtt, >=, 0);
	g_test_message("DERP ping through warren-derp: %" G_GINT64_FORMAT " µs", rtt);

	wr_derp_client_get_stats(a->client, &st);
	g_assert_cmpuint(st.connects, ==, 1);
	g_assert_cmpuint(st.packets_out, ==, 3 + 20);
	g_assert_cmpuint(st.packets_in, ==, 2);
	g_assert_cmpuint(st.malformed_frames, ==, 0);
	g_assert_true(srv_wait_metric(&s, "warren_derp_packets_relayed_total", 25));

	/* b leaves: a, having sent to it, hears that it is gone */
	g_clear_pointer(&b, ec_free);
	g_assert_true(ec_wait(ec_has_gone, a, WAIT_MS));
	gone = g_bytes_get_data(g_queue_peek_head(&a->gone), NULL);
	g_assert_cmpuint(gone[32], ==, DERP_PEER_GONE_DISCONNECTED);
	g_assert_cmpuint(a->disconnected, ==, 0);
	srv_clear(&s);
}

static gboolean
present_has(Ec *e, const uint8_t key[32])
{
	for (GList *l = e->present.head; l != NULL; l = l->next) {
		if (memcmp(g_bytes_get_data(l->data, NULL), key, 32) == 0)
			return TRUE;
	}
	return FALSE;
}

static void
test_engine_mesh(void)
{
	Srv s1, s2;
	g_autofree char *mesh_key_path = NULL;
	g_autoptr(Ec) a = NULL;
	g_autoptr(Ec) b = NULL;
	g_autoptr(Ec) watcher = NULL;
	uint8_t mesh_key[32];
	WrDerpDialOptions mesh = {0};
	uint8_t a_pub[32];
	gint64 took;

	srv_init(&s1);
	srv_init(&s2);
	mesh_key_path = g_build_filename(s1.dir, "mesh.key", NULL);
	write_mesh_key(mesh_key_path);
	memset(mesh_key, 0x5a, sizeof(mesh_key));
	srv_start(&s1, "--mesh-key-file", mesh_key_path, "--mesh-with", s2.base, NULL);
	srv_start(&s2, "--mesh-key-file", mesh_key_path, "--mesh-with", s1.base, NULL);
	g_assert_true(srv_wait_metric_for(&s1, "warren_derp_mesh_links", 1, MESH_WAIT_MS));
	g_assert_true(srv_wait_metric_for(&s2, "warren_derp_mesh_links", 1, MESH_WAIT_MS));

	/* a on one server, b on the other: each reaches the other through the mesh */
	a = ec_new(&s1);
	b = ec_new(&s2);
	g_assert_true(ec_wait(ec_is_connected, a, WAIT_MS));
	g_assert_true(ec_wait(ec_is_connected, b, WAIT_MS));
	took = ec_send_until_received(a, b, "s1 to s2", MESH_WAIT_MS);
	g_assert_cmpint(took, >=, 0);
	g_test_message("first packet through the mesh after %" G_GINT64_FORMAT " ms", took / 1000);
	took = ec_send_until_received(b, a, "s2 to s1", MESH_WAIT_MS);
	g_assert_cmpint(took, >=, 0);
	/* once learned, the mesh path is immediate */
	ec_exchange_bytes(a, b, "again s1 to s2", 14);
	ec_exchange_bytes(b, a, "again s2 to s1", 14);
	g_assert_cmpint(srv_metric(&s1, "warren_derp_packets_forwarded_out_total"), >=, 1);
	g_assert_cmpint(srv_metric(&s2, "warren_derp_packets_forwarded_in_total"), >=, 1);

	/* the engine client as a mesh peer: it sees s1's clients present, and gone */
	mesh.mesh_key = mesh_key;
	watcher = ec_new_with(s1.url, &mesh);
	g_assert_true(ec_wait(ec_is_connected, watcher, WAIT_MS));
	wr_derp_client_watch_conns(watcher->client);
	g_assert_true(ec_wait(ec_has_present, watcher, WAIT_MS));
	{
		gint64 deadline = g_get_monotonic_time() + WAIT_MS * 1000;

		while (!present_has(watcher, a->pub) && g_get_monotonic_time() < deadline)
			(void) ec_wait(ec_has_gone, watcher, 50);
		g_assert_true(present_has(watcher, a->pub));
	}
	memcpy(a_pub, a->pub, 32);
	g_clear_pointer(&a, ec_free);
	g_assert_true(ec_wait(ec_has_gone, watcher, WAIT_MS));
	{
		const guint8 *gone = g_bytes_get_data(g_queue_peek_head(&watcher->gone), NULL);

		g_assert_cmpmem(gone, 32, a_pub, 32);
		g_assert_cmpuint(gone[32], ==, DERP_PEER_GONE_DISCONNECTED);
	}
	srv_clear(&s1);
	srv_clear(&s2);
}

static void
test_engine_restart(void)
{
	Srv s;
	g_autoptr(Ec) a = NULL;
	g_autoptr(Ec) b = NULL;
	uint8_t key_before[32], key_after[32];
	WrDerpClientStats st;
	gint64 t_stop, t_up, took;

	srv_init(&s);
	srv_start(&s, NULL);
	a = ec_new(&s);
	b = ec_new(&s);
	g_assert_true(ec_wait(ec_is_connected, a, WAIT_MS));
	g_assert_true(ec_wait(ec_is_connected, b, WAIT_MS));
	ec_exchange_bytes(a, b, "before", 6);
	g_assert_true(wr_derp_client_get_server_key(a->client, key_before));

	/* a clean restart: the server says Restarting, goes, and comes back on the same port and
	 * key; the clients must be back and relaying within RESUME_LIMIT_MS of it listening */
	t_stop = g_get_monotonic_time();
	srv_stop(&s);
	srv_start(&s, NULL);
	t_up = g_get_monotonic_time();
	took = ec_send_until_received(a, b, "after the restart", RESUME_LIMIT_MS);
	g_assert_cmpint(took, >=, 0);
	g_test_message("server down and up in %" G_GINT64_FORMAT
		       " ms; relaying again %" G_GINT64_FORMAT " ms after it listened",
		       (t_up - t_stop) / 1000, took / 1000);
	g_assert_cmpint(took, <, RESUME_LIMIT_MS * 1000);
	ec_exchange_bytes(b, a, "and back", 8);
	g_assert_cmpuint(a->restarting, ==, 1);
	g_assert_cmpuint(b->restarting, ==, 1);
	g_assert_cmpuint(a->disconnected, ==, 1);
	wr_derp_client_get_stats(a->client, &st);
	g_assert_cmpuint(st.reconnects, ==, 1);
	g_assert_true(wr_derp_client_get_server_key(a->client, key_after));
	g_assert_cmpmem(key_before, 32, key_after, 32);

	/* killed without a word (a crash): the clients find it back as soon too */
	g_subprocess_force_exit(s.proc);
	g_assert_true(g_subprocess_wait(s.proc, NULL, NULL));
	g_clear_object(&s.proc);
	srv_start(&s, NULL);
	took = ec_send_until_received(a, b, "after a crash", 2 * WR_DERP_CLIENT_BACKOFF_MAX_MS);
	g_assert_cmpint(took, >=, 0);
	g_test_message("after a crash: relaying again %" G_GINT64_FORMAT " ms after it listened",
		       took / 1000);
	srv_clear(&s);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_assert_true(wr_crypto_init());
	signal(SIGPIPE, SIG_IGN);
	if (g_getenv("WARREN_DERP") == NULL) {
		g_print("1..0 # SKIP WARREN_DERP is not set\n");
		return 77;
	}
	g_test_add_func("/warren/derp-server/relay-both-ways", test_relay_both_ways);
	g_test_add_func("/warren/derp-server/ping-pong", test_ping_pong);
	g_test_add_func("/warren/derp-server/peer-gone", test_peer_gone);
	g_test_add_func("/warren/derp-server/not-here", test_not_here);
	g_test_add_func("/warren/derp-server/bad-frames", test_bad_frames);
	g_test_add_func("/warren/derp-server/http-endpoints", test_http_endpoints);
	g_test_add_func("/warren/derp-server/duplicate-keys", test_duplicate_keys);
	g_test_add_func("/warren/derp-server/verify-file", test_verify_file);
	g_test_add_func("/warren/derp-server/verify-url", test_verify_url);
	g_test_add_func("/warren/derp-server/queue-bound", test_queue_bound_and_write_timeout);
	g_test_add_func("/warren/derp-server/rate-limit", test_rate_limit);
	g_test_add_func("/warren/derp-server/idle-timeout", test_idle_timeout);
	g_test_add_func("/warren/derp-server/restarting", test_restarting);
	g_test_add_func("/warren/derp-server/mesh", test_mesh);
	g_test_add_func("/warren/derp-server/mesh-wrong-key", test_mesh_wrong_key);
	g_test_add_func("/warren/derp-server/tls", test_tls);
	g_test_add_func("/warren/derp-server/stun", test_stun);
	g_test_add_func("/warren/derp-server/engine-clients", test_engine_clients);
	g_test_add_func("/warren/derp-server/engine-mesh", test_engine_mesh);
	g_test_add_func("/warren/derp-server/engine-restart", test_engine_restart);
	return g_test_run();
}
