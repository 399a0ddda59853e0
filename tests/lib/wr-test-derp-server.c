/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrTestDerpServer"

#include "config.h"

#include <string.h>

#include "wr-crypto.h"
#include "wr-derp-frame.h"
#include "wr-derp-info.h"
#include "wr-key.h"
#include "wr-test-derp-server.h"

#define READ_CHUNK  (128 * 1024)
#define MAX_REQUEST 8192

typedef enum {
	CONN_REQUEST,
	CONN_LOGIN,
	CONN_RUN,
} ConnStage;

typedef struct {
	gint refs;
	WrTestDerpServer *owner;  /* counts live connections; outlives them */
	WrTestDerpServer *server; /* NULL once the server let go of it */
	GSocketConnection *tcp;
	GIOStream *stream;
	GCancellable *cancellable;
	ConnStage stage;
	GByteArray *in;
	gsize read_at;
	GByteArray *out;
	GBytes *writing;
	gboolean close_after_write;
	gboolean closed;
	gboolean reading; /* a read is pending */
	gboolean paused;
	gboolean logged_in;
	guint8 key[WR_KEY_LEN];
	gint preferred;
	guint preferred_count;
	gboolean watcher;
} Conn;

struct _WrTestDerpServer {
	GSocketService *service;
	guint16 port;
	GTlsCertificate *cert;
	guint8 private_key[WR_KEY_LEN];
	guint8 public_key[WR_KEY_LEN];
	WrTestDerpMode mode;
	WrDerpServerInfoBody info;
	GByteArray *after_info;
	gboolean relay;
	gboolean answer_pings;
	GPtrArray *conns;
	guint live; /* connections not yet freed, in the array or held by operations */
	gchar *last_request;
	WrDerpClientInfoBody last_client_info;
	guint logins;
	guint sent;
	guint delivered;
	guint forwarded;
	guint pings;
	guint pongs;
	guint8 last_pong[DERP_PING_DATA_LEN];
	guint watches;
	guint close_peers;
	/* NotePreferred seen per key, kept across reconnects: key hex -> value, count */
	GHashTable *preferred;
	GHashTable *preferred_count;
};

static Conn *
conn_ref(Conn *c)
{
	c->refs++;
	return c;
}

static void
conn_unref(Conn *c)
{
	if (--c->refs > 0)
		return;
	g_clear_object(&c->stream);
	g_clear_object(&c->tcp);
	g_clear_object(&c->cancellable);
	g_byte_array_unref(c->in);
	g_byte_array_unref(c->out);
	g_clear_pointer(&c->writing, g_bytes_unref);
	c->owner->live--;
	g_free(c);
}

/* the peer sees the end at once; pending operations end with errors and drop their refs */
static void
conn_close(Conn *c)
{
	WrTestDerpServer *s = c->server;

	if (c->closed)
		return;
	c->closed = TRUE;
	g_cancellable_cancel(c->cancellable);
	(void) g_socket_shutdown(g_socket_connection_get_socket(c->tcp), TRUE, TRUE, NULL);
	/* the server's reference goes last: c may be freed here */
	if (s != NULL) {
		c->server = NULL;
		g_ptr_array_remove(s->conns, c);
		conn_unref(c);
	}
}

static void
conn_flush(Conn *c);

static void
conn_write_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Conn *c = user_data;
	g_autoptr(GError) error = NULL;

	g_clear_pointer(&c->writing, g_bytes_unref);
	if (!g_output_stream_write_all_finish(G_OUTPUT_STREAM(source), res, NULL, &error)) {
		conn_close(c);
	} else if (!c->closed) {
		if (c->out->len > 0)
			conn_flush(c);
		else if (c->close_after_write)
			conn_close(c);
	}
	conn_unref(c);
}

static void
conn_flush(Conn *c)
{
	gconstpointer data;
	gsize len;

	if (c->closed || c->writing != NULL || c->out->len == 0)
		return;
	c->writing = g_bytes_new(c->out->data, c->out->len);
	g_byte_array_set_size(c->out, 0);
	data = g_bytes_get_data(c->writing, &len);
	g_output_stream_write_all_async(g_io_stream_get_output_stream(c->stream), data, len,
					G_PRIORITY_DEFAULT, c->cancellable, conn_write_cb,
					conn_ref(c));
}

static void
conn_send(Conn *c, const guint8 *data, gsize len)
{
	g_byte_array_append(c->out, data, (guint) len);
	conn_flush(c);
}

static void
conn_send_array(Conn *c, GByteArray *frames)
{
	conn_send(c, frames->data, frames->len);
}

static gchar *
key_hex(const guint8 key[WR_KEY_LEN])
{
	gchar *hex = g_malloc(WR_KEY_HEX_LEN + 1);

	wr_key_to_hex(hex, key);
	return hex;
}

/* the newest logged-in connection of key */
static Conn *
find_conn(WrTestDerpServer *s, const guint8 key[WR_KEY_LEN])
{
	for (guint i = s->conns->len; i > 0; i--) {
		Conn *c = g_ptr_array_index(s->conns, i - 1);

		if (c->logged_in && memcmp(c->key, key, WR_KEY_LEN) == 0)
			return c;
	}
	return NULL;
}

/* the answer to the upgrade request, by mode */
static void
answer_request(WrTestDerpServer *s, Conn *c)
{
	g_autoptr(GByteArray) out = g_byte_array_new();
	g_autofree gchar *pub = key_hex(s->public_key);
	g_autofree gchar *head = NULL;

	switch (s->mode) {
	case WR_TEST_DERP_MODE_STATUS_426: {
		const char *body = "DERP requires connection upgrade";

		head = g_strdup_printf("HTTP/1.1 426 Upgrade Required\r\n"
				       "Content-Type: text/plain; charset=utf-8\r\n"
				       "Content-Length: %zu\r\n\r\n%s",
				       strlen(body), body);
		conn_send(c, (const guint8 *) head, strlen(head));
		c->close_after_write = TRUE;
		return;
	}
	case WR_TEST_DERP_MODE_GARBAGE_RESPONSE:
		head = g_strdup("SSH-2.0-OpenSSH_9.2\r\n\r\n");
		conn_send(c, (const guint8 *) head, strlen(head));
		c->close_after_write = TRUE;
		return;
	case WR_TEST_DERP_MODE_SILENT:
		return;
	case WR_TEST_DERP_MODE_CLOSE:
		conn_close(c);
		return;
	case WR_TEST_DERP_MODE_NORMAL:
	case WR_TEST_DERP_MODE_NOT_SERVER_KEY:
	case WR_TEST_DERP_MODE_BAD_MAGIC:
	case WR_TEST_DERP_MODE_SHORT_KEY:
	case WR_TEST_DERP_MODE_BIG_GREETING:
	case WR_TEST_DERP_MODE_WRONG_KEY:
	case WR_TEST_DERP_MODE_BAD_INFO_JSON:
	default:
		break;
	}

	/* the 101 and the ServerKey in one write, as Go's server flushes them */
	head = g_strdup_printf("HTTP/1.1 101 Switching Protocols\r\n"
			       "Upgrade: DERP\r\n"
			       "Connection: Upgrade\r\n"
			       "Derp-Version: 2\r\n"
			       "Derp-Public-Key: %s\r\n\r\n",
			       pub);
	g_byte_array_append(out, (const guint8 *) head, (guint) strlen(head));
	switch (s->mode) {
	case WR_TEST_DERP_MODE_NOT_SERVER_KEY:
		g_assert_cmpint(wr_derp_append_keep_alive(out), ==, 0);
		break;
	case WR_TEST_DERP_MODE_BAD_MAGIC: {
		guint8 body[DERP_SERVER_KEY_MIN_LEN];

		memcpy(body, "DERP!!!!", DERP_MAGIC_LEN);
		memcpy(body + DERP_MAGIC_LEN, s->public_key, WR_KEY_LEN);
		g_assert_cmpint(
			wr_derp_append_frame(out, DERP_FRAME_SERVER_KEY, body, sizeof(body)), ==,
			0);
		break;
	}
	case WR_TEST_DERP_MODE_SHORT_KEY:
		g_assert_cmpint(wr_derp_append_frame(out, DERP_FRAME_SERVER_KEY,
						     (const guint8 *) DERP_MAGIC "0123456789ab",
						     20),
				==, 0);
		break;
	case WR_TEST_DERP_MODE_BIG_GREETING: {
		g_autofree guint8 *body = g_malloc0(2000);

		memcpy(body, DERP_MAGIC, DERP_MAGIC_LEN);
		memcpy(body + DERP_MAGIC_LEN, s->public_key, WR_KEY_LEN);
		g_assert_cmpint(wr_derp_append_frame(out, DERP_FRAME_SERVER_KEY, body, 2000), ==,
				0);
		break;
	}
	default:
		g_assert_cmpint(wr_derp_append_server_key(out, s->public_key), ==, 0);
		break;
	}
	conn_send_array(c, out);
	c->stage = CONN_LOGIN;
}

static void
send_server_info(WrTestDerpServer *s, Conn *c)
{
	g_autoptr(GByteArray) out = g_byte_array_new();

	if (s->mode == WR_TEST_DERP_MODE_WRONG_KEY) {
		guint8 other_sk[WR_KEY_LEN];
		guint8 other_pk[WR_KEY_LEN];

		wr_x25519_generate(other_sk, other_pk);
		g_assert_cmpint(wr_derp_info_append_server_info(out, &s->info, other_sk, c->key),
				==, 0);
	} else if (s->mode == WR_TEST_DERP_MODE_BAD_INFO_JSON) {
		const char *json = "[\"version\",2]";
		guint8 nonce[DERP_NONCE_LEN];
		guint8 sealed[64];

		wr_random_bytes(nonce, sizeof(nonce));
		g_assert_true(wr_box_seal(sealed, (const guint8 *) json, strlen(json), nonce,
					  c->key, s->private_key));
		g_assert_cmpint(wr_derp_append_server_info(out, nonce, sealed,
							   strlen(json) + WR_BOX_TAG_LEN),
				==, 0);
	} else {
		g_assert_cmpint(
			wr_derp_info_append_server_info(out, &s->info, s->private_key, c->key), ==,
			0);
	}
	g_byte_array_append(out, s->after_info->data, s->after_info->len);
	conn_send_array(c, out);
}

static void
handle_login(WrTestDerpServer *s, Conn *c, const WrDerpFrame *f)
{
	WrDerpClientInfo ci;
	WrDerpClientInfoBody body;

	if (f->type != DERP_FRAME_CLIENT_INFO ||
	    wr_derp_parse_client_info(f->payload, f->len, &ci) < 0 ||
	    wr_derp_info_open_client_info(&ci, s->private_key, &body) < 0) {
		g_debug("login refused");
		conn_close(c);
		return;
	}
	memcpy(c->key, ci.key, WR_KEY_LEN);
	s->last_client_info = body;
	c->logged_in = TRUE;
	c->stage = CONN_RUN;
	s->logins++;
	send_server_info(s, c);
}

static void
deliver(WrTestDerpServer *s, const guint8 src[WR_KEY_LEN], const guint8 dst[WR_KEY_LEN],
	const guint8 *data, gsize len)
{
	g_autoptr(GByteArray) out = g_byte_array_new();
	Conn *to;

	if (!s->relay)
		return;
	to = find_conn(s, dst);
	if (to == NULL)
		return;
	g_assert_cmpint(wr_derp_append_recv_packet(out, src, data, len), ==, 0);
	conn_send_array(to, out);
	s->delivered++;
}

static void
handle_frame(WrTestDerpServer *s, Conn *c, const WrDerpFrame *f)
{
	g_autoptr(GByteArray) out = g_byte_array_new();
	WrDerpPacket pkt;
	WrDerpForwardPacket fwd;
	guint8 data[DERP_PING_DATA_LEN];
	guint8 key[WR_KEY_LEN];
	bool preferred;

	switch (f->type) {
	case DERP_FRAME_SEND_PACKET:
		g_assert_cmpint(wr_derp_parse_send_packet(f->payload, f->len, &pkt), ==, 0);
		s->sent++;
		deliver(s, c->key, pkt.key, pkt.data, pkt.len);
		break;
	case DERP_FRAME_FORWARD_PACKET:
		g_assert_cmpint(wr_derp_parse_forward_packet(f->payload, f->len, &fwd), ==, 0);
		s->forwarded++;
		deliver(s, fwd.src_key, fwd.dst_key, fwd.data, fwd.len);
		break;
	case DERP_FRAME_PING:
		g_assert_cmpint(wr_derp_parse_ping(f->payload, f->len, data), ==, 0);
		s->pings++;
		if (!s->answer_pings)
			break;
		g_assert_cmpint(wr_derp_append_pong(out, data), ==, 0);
		conn_send_array(c, out);
		break;
	case DERP_FRAME_PONG:
		g_assert_cmpint(wr_derp_parse_pong(f->payload, f->len, data), ==, 0);
		s->pongs++;
		memcpy(s->last_pong, data, sizeof(data));
		break;
	case DERP_FRAME_NOTE_PREFERRED: {
		g_autofree gchar *hex = key_hex(c->key);
		guint count;

		g_assert_cmpint(wr_derp_parse_note_preferred(f->payload, f->len, &preferred), ==,
				0);
		c->preferred = preferred ? 1 : 0;
		c->preferred_count++;
		count = GPOINTER_TO_UINT(g_hash_table_lookup(s->preferred_count, hex));
		g_hash_table_insert(s->preferred, g_strdup(hex), GINT_TO_POINTER(c->preferred + 1));
		g_hash_table_insert(s->preferred_count, g_steal_pointer(&hex),
				    GUINT_TO_POINTER(count + 1));
		break;
	}
	case DERP_FRAME_WATCH_CONNS:
		g_assert_cmpint(wr_derp_parse_watch_conns(f->payload, f->len), ==, 0);
		s->watches++;
		c->watcher = TRUE;
		for (guint i = 0; i < s->conns->len; i++) {
			Conn *other = g_ptr_array_index(s->conns, i);
			WrDerpPeerPresent present = {.flags = DERP_PEER_PRESENT_IS_REGULAR};

			if (other == c || !other->logged_in)
				continue;
			memcpy(present.key, other->key, WR_KEY_LEN);
			present.has_addr = true;
			present.ip[10] = 0xff;
			present.ip[11] = 0xff;
			present.ip[12] = 127;
			present.ip[15] = 1;
			present.port = 4242;
			g_assert_cmpint(wr_derp_append_peer_present(out, &present), ==, 0);
		}
		conn_send_array(c, out);
		break;
	case DERP_FRAME_CLOSE_PEER: {
		Conn *victim;

		g_assert_cmpint(wr_derp_parse_close_peer(f->payload, f->len, key), ==, 0);
		s->close_peers++;
		victim = find_conn(s, key);
		if (victim != NULL)
			conn_close(victim);
		break;
	}
	default:
		break;
	}
}

static void
conn_read(Conn *c);

static void
conn_process(Conn *c)
{
	WrTestDerpServer *s = c->server;

	while (!c->closed) {
		if (c->stage == CONN_REQUEST) {
			const guint8 *end = NULL;

			for (gsize i = 0; i + 4 <= c->in->len; i++) {
				if (memcmp(c->in->data + i, "\r\n\r\n", 4) == 0) {
					end = c->in->data + i + 4;
					break;
				}
			}
			if (end == NULL) {
				if (c->in->len > MAX_REQUEST)
					conn_close(c);
				break;
			}
			g_free(s->last_request);
			s->last_request =
				g_strndup((const gchar *) c->in->data, (gsize) (end - c->in->data));
			g_byte_array_remove_range(c->in, 0, (guint) (end - c->in->data));
			answer_request(s, c);
			if (c->stage == CONN_REQUEST)
				break;
		} else {
			WrDerpFrame f;
			ssize_t n = wr_derp_frame_decode(c->in->data, c->in->len,
							 DERP_MAX_CLIENT_INFO_LEN, &f);

			if (n < 0) {
				conn_close(c);
				break;
			}
			if (n == 0)
				break;
			if (c->stage == CONN_LOGIN)
				handle_login(s, c, &f);
			else
				handle_frame(s, c, &f);
			g_byte_array_remove_range(c->in, 0, (guint) n);
		}
	}
	if (!c->closed && !c->paused)
		conn_read(c);
}

static void
conn_read_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Conn *c = user_data;
	g_autoptr(GError) error = NULL;
	gssize n = g_input_stream_read_finish(G_INPUT_STREAM(source), res, &error);

	c->reading = FALSE;
	if (c->closed) {
		conn_unref(c);
		return;
	}
	if (n <= 0) {
		g_byte_array_set_size(c->in, (guint) c->read_at);
		conn_close(c);
		conn_unref(c);
		return;
	}
	g_byte_array_set_size(c->in, (guint) (c->read_at + (gsize) n));
	conn_process(c);
	conn_unref(c);
}

static void
conn_read(Conn *c)
{
	g_assert_false(c->reading);
	c->reading = TRUE;
	c->read_at = c->in->len;
	g_byte_array_set_size(c->in, (guint) (c->read_at + READ_CHUNK));
	g_input_stream_read_async(g_io_stream_get_input_stream(c->stream), c->in->data + c->read_at,
				  READ_CHUNK, G_PRIORITY_DEFAULT, c->cancellable, conn_read_cb,
				  conn_ref(c));
}

static void
conn_handshake_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Conn *c = user_data;
	g_autoptr(GError) error = NULL;

	if (!g_tls_connection_handshake_finish(G_TLS_CONNECTION(source), res, &error)) {
		g_debug("server TLS handshake: %s", error->message);
		conn_close(c);
	} else if (!c->closed) {
		conn_read(c);
	}
	conn_unref(c);
}

static gboolean
incoming_cb(GSocketService *service, GSocketConnection *connection, GObject *source_object,
	    gpointer user_data)
{
	WrTestDerpServer *s = user_data;
	Conn *c = g_new0(Conn, 1);
	g_autoptr(GError) error = NULL;

	c->refs = 1;
	c->owner = s;
	s->live++;
	c->server = s;
	c->tcp = g_object_ref(connection);
	c->cancellable = g_cancellable_new();
	c->in = g_byte_array_new();
	c->out = g_byte_array_new();
	c->preferred = -1;
	g_ptr_array_add(s->conns, c);
	if (s->cert != NULL) {
		c->stream = g_tls_server_connection_new(G_IO_STREAM(connection), s->cert, &error);
		g_assert_no_error(error);
		g_tls_connection_set_require_close_notify(G_TLS_CONNECTION(c->stream), FALSE);
		g_tls_connection_handshake_async(G_TLS_CONNECTION(c->stream), G_PRIORITY_DEFAULT,
						 c->cancellable, conn_handshake_cb, conn_ref(c));
	} else {
		c->stream = G_IO_STREAM(g_object_ref(connection));
		conn_read(c);
	}
	return TRUE;
}

static void
server_listen(WrTestDerpServer *s)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GInetAddress) lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
	g_autoptr(GSocketAddress) addr = g_inet_socket_address_new(lo, s->port);
	g_autoptr(GSocketAddress) effective = NULL;

	s->service = g_socket_service_new();
	g_socket_listener_add_address(G_SOCKET_LISTENER(s->service), addr, G_SOCKET_TYPE_STREAM,
				      G_SOCKET_PROTOCOL_TCP, NULL, &effective, &error);
	g_assert_no_error(error);
	s->port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(effective));
	g_signal_connect(s->service, "incoming", G_CALLBACK(incoming_cb), s);
	g_socket_service_start(s->service);
}

WrTestDerpServer *
wr_test_derp_server_new(GTlsCertificate *cert)
{
	WrTestDerpServer *s = g_new0(WrTestDerpServer, 1);

	wr_x25519_generate(s->private_key, s->public_key);
	s->cert = cert != NULL ? g_object_ref(cert) : NULL;
	s->info.version = DERP_PROTOCOL_VERSION;
	s->after_info = g_byte_array_new();
	s->relay = TRUE;
	s->answer_pings = TRUE;
	s->conns = g_ptr_array_new();
	s->preferred = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	s->preferred_count = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	server_listen(s);
	return s;
}

void
wr_test_derp_server_stop(WrTestDerpServer *s)
{
	if (s->service != NULL) {
		g_socket_service_stop(s->service);
		g_socket_listener_close(G_SOCKET_LISTENER(s->service));
		g_clear_object(&s->service);
	}
	while (s->conns->len > 0) {
		conn_close(g_ptr_array_index(s->conns, s->conns->len - 1));
	}
}

void
wr_test_derp_server_restart(WrTestDerpServer *s)
{
	g_assert_null(s->service);
	server_listen(s);
}

static gboolean
tick_cb(gpointer user_data)
{
	return G_SOURCE_CONTINUE;
}

void
wr_test_derp_server_free(WrTestDerpServer *s)
{
	gint64 deadline;
	GSource *tick;

	if (s == NULL)
		return;
	wr_test_derp_server_stop(s);
	/* the cancelled operations still hold their connections: let them finish; the tick
	 * bounds each blocking iteration so that the deadline is checked */
	deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
	tick = g_timeout_source_new(20);
	g_source_set_callback(tick, tick_cb, NULL, NULL);
	g_source_attach(tick, g_main_context_get_thread_default());
	while (s->live > 0) {
		g_assert_cmpint(g_get_monotonic_time(), <, deadline);
		g_main_context_iteration(g_main_context_get_thread_default(), TRUE);
	}
	g_source_destroy(tick);
	g_source_unref(tick);
	g_ptr_array_unref(s->conns);
	g_clear_object(&s->cert);
	g_byte_array_unref(s->after_info);
	g_free(s->last_request);
	g_hash_table_unref(s->preferred);
	g_hash_table_unref(s->preferred_count);
	wr_memzero(s->private_key, sizeof(s->private_key));
	g_free(s);
}

guint16
wr_test_derp_server_get_port(WrTestDerpServer *s)
{
	return s->port;
}

gchar *
wr_test_derp_server_get_url(WrTestDerpServer *s)
{
	if (s->cert != NULL)
		return g_strdup_printf("https://localhost:%u/derp", s->port);
	return g_strdup_printf("http://127.0.0.1:%u/derp", s->port);
}

const uint8_t *
wr_test_derp_server_get_public_key(WrTestDerpServer *s)
{
	return s->public_key;
}

void
wr_test_derp_server_set_mode(WrTestDerpServer *s, WrTestDerpMode mode)
{
	s->mode = mode;
}

void
wr_test_derp_server_set_info(WrTestDerpServer *s, const WrDerpServerInfoBody *info)
{
	s->info = *info;
}

void
wr_test_derp_server_set_after_info(WrTestDerpServer *s, const guint8 *data, gsize len)
{
	g_byte_array_set_size(s->after_info, 0);
	g_byte_array_append(s->after_info, data, (guint) len);
}

void
wr_test_derp_server_set_relay(WrTestDerpServer *s, gboolean relay)
{
	s->relay = relay;
}

void
wr_test_derp_server_set_answer_pings(WrTestDerpServer *s, gboolean answer)
{
	s->answer_pings = answer;
}

void
wr_test_derp_server_pause_reading(WrTestDerpServer *s, const uint8_t key[32], gboolean paused)
{
	for (guint i = 0; i < s->conns->len; i++) {
		Conn *c = g_ptr_array_index(s->conns, i);

		if (!c->logged_in || memcmp(c->key, key, WR_KEY_LEN) != 0)
			continue;
		c->paused = paused;
		/* the bytes already read are handled as if they had just arrived */
		if (!paused && !c->reading && !c->closed)
			conn_process(c);
	}
}

guint
wr_test_derp_server_count_clients(WrTestDerpServer *s)
{
	guint n = 0;

	for (guint i = 0; i < s->conns->len; i++) {
		Conn *c = g_ptr_array_index(s->conns, i);

		if (c->logged_in)
			n++;
	}
	return n;
}

guint
wr_test_derp_server_get_logins(WrTestDerpServer *s)
{
	return s->logins;
}

const gchar *
wr_test_derp_server_get_last_request(WrTestDerpServer *s)
{
	return s->last_request;
}

const WrDerpClientInfoBody *
wr_test_derp_server_get_last_client_info(WrTestDerpServer *s)
{
	return &s->last_client_info;
}

gint
wr_test_derp_server_get_preferred(WrTestDerpServer *s, const uint8_t key[32])
{
	g_autofree gchar *hex = key_hex(key);

	return GPOINTER_TO_INT(g_hash_table_lookup(s->preferred, hex)) - 1;
}

guint
wr_test_derp_server_get_preferred_count(WrTestDerpServer *s, const uint8_t key[32])
{
	g_autofree gchar *hex = key_hex(key);

	return GPOINTER_TO_UINT(g_hash_table_lookup(s->preferred_count, hex));
}

guint
wr_test_derp_server_get_sent(WrTestDerpServer *s)
{
	return s->sent;
}

guint
wr_test_derp_server_get_delivered(WrTestDerpServer *s)
{
	return s->delivered;
}

guint
wr_test_derp_server_get_forwarded(WrTestDerpServer *s)
{
	return s->forwarded;
}

guint
wr_test_derp_server_get_pings(WrTestDerpServer *s)
{
	return s->pings;
}

guint
wr_test_derp_server_get_pongs(WrTestDerpServer *s, guint8 out_last[8])
{
	if (out_last != NULL)
		memcpy(out_last, s->last_pong, DERP_PING_DATA_LEN);
	return s->pongs;
}

guint
wr_test_derp_server_get_watches(WrTestDerpServer *s)
{
	return s->watches;
}

guint
wr_test_derp_server_get_close_peers(WrTestDerpServer *s)
{
	return s->close_peers;
}

gboolean
wr_test_derp_server_send(WrTestDerpServer *s, const uint8_t key[32], const guint8 *data, gsize len)
{
	Conn *c = find_conn(s, key);

	if (c == NULL)
		return FALSE;
	conn_send(c, data, len);
	return TRUE;
}

gboolean
wr_test_derp_server_send_and_close(WrTestDerpServer *s, const uint8_t key[32], const guint8 *data,
				   gsize len)
{
	Conn *c = find_conn(s, key);

	if (c == NULL)
		return FALSE;
	c->close_after_write = TRUE;
	conn_send(c, data, len);
	return TRUE;
}

void
wr_test_derp_server_close_client(WrTestDerpServer *s, const uint8_t key[32])
{
	Conn *c;

	while ((c = find_conn(s, key)) != NULL)
		conn_close(c);
}

static guint
count_threads(void)
{
	g_autoptr(GDir) dir = g_dir_open("/proc/self/task", 0, NULL);
	guint n = 0;

	if (dir == NULL)
		return 0;
	while (g_dir_read_name(dir) != NULL)
		n++;
	return n;
}

void
wr_test_derp_wait_pool_threads(void)
{
	gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;

	g_thread_pool_stop_unused_threads();
	/* the main thread and GLib's worker, which never did TLS, stay */
	while (count_threads() > 2 && g_get_monotonic_time() < deadline) {
		g_thread_pool_stop_unused_threads();
		g_usleep(10 * 1000);
	}
}
