/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * WrDerpClient against the scripted relay of tests/lib: two clients exchanging packets, Ping and
 * Pong both ways, the read timeout, reconnection with backoff, a restarting server, malformed
 * and unknown frames, the bounded queue, the token bucket, NotePreferred, Health, PeerGone,
 * mesh watching, forwarding and ClosePeer, TLS, and stop().  Timings are shrunk on the object
 * instead of sleeping; every wait is for an event, with a deadline.
 */

#define G_LOG_DOMAIN "WrTestDerpClient"

#include "config.h"

#include <string.h>

#include <gio/gio.h>

#include "wr-crypto.h"
#include "wr-derp-client.h"
#include "wr-derp-frame.h"
#include "wr-test-derp-server.h"
#include "wr-test-util.h"

/* the slack any wait in this file gets */
#define WAIT_DEADLINE_US (10 * G_USEC_PER_SEC)
#define TEST_CERT_PIN	 "sha256-raw:6a7618091e667d0a0189655bed3b7b8b40b3ea6c149a50ef079a1359eb5db154"

/* iterates the default context until cond holds; fails the test after WAIT_DEADLINE_US (a
 * ticking source in main() bounds every blocking iteration) */
#define WAIT_FOR(cond)                                                              \
	do {                                                                        \
		gint64 wait_deadline_ = g_get_monotonic_time() + WAIT_DEADLINE_US;  \
		while (!(cond)) {                                                   \
			g_assert_cmpint(g_get_monotonic_time(), <, wait_deadline_); \
			g_main_context_iteration(NULL, TRUE);                       \
		}                                                                   \
	} while (0)

/* runs the default context for ms of real time: only where a test must show that something
 * does not happen */
static void
run_for_ms(guint ms)
{
	gint64 end = g_get_monotonic_time() + (gint64) ms * 1000;

	while (g_get_monotonic_time() < end)
		g_main_context_iteration(NULL, TRUE);
}

static gboolean
tick_cb(gpointer user_data)
{
	return G_SOURCE_CONTINUE;
}

/* one client and what it reported */
typedef struct {
	WrDerpClient *client;
	guint8 sk[32];
	guint8 pk[32];
	guint connected;
	guint disconnected;
	gchar *reason;
	GPtrArray *packets; /* GBytes: 32-byte source key, then the packet */
	guint gone;
	guint8 gone_key[32];
	guint gone_reason;
	guint present;
	guint8 present_key[32];
	gchar *present_addr;
	guint present_flags;
	guint health;
	gchar *health_text;
	guint restarting;
	guint restart_in;
	guint restart_for;
	gint64 restarting_at;
} Peer;

static void
connected_cb(WrDerpClient *client, Peer *p)
{
	p->connected++;
}

static void
disconnected_cb(WrDerpClient *client, const char *reason, Peer *p)
{
	p->disconnected++;
	g_free(p->reason);
	p->reason = g_strdup(reason);
}

static void
packet_cb(WrDerpClient *client, gpointer src, GBytes *packet, Peer *p)
{
	GByteArray *rec = g_byte_array_new();

	g_byte_array_append(rec, src, 32);
	g_byte_array_append(rec, g_bytes_get_data(packet, NULL), (guint) g_bytes_get_size(packet));
	g_ptr_array_add(p->packets, g_byte_array_free_to_bytes(rec));
}

static void
peer_gone_cb(WrDerpClient *client, gpointer key, guint reason, Peer *p)
{
	p->gone++;
	memcpy(p->gone_key, key, 32);
	p->gone_reason = reason;
}

static void
peer_present_cb(WrDerpClient *client, gpointer key, GSocketAddress *address, guint flags, Peer *p)
{
	p->present++;
	memcpy(p->present_key, key, 32);
	g_free(p->present_addr);
	p->present_addr = address != NULL
				  ? g_socket_connectable_to_string(G_SOCKET_CONNECTABLE(address))
				  : NULL;
	p->present_flags = flags;
}

static void
health_cb(WrDerpClient *client, const char *text, Peer *p)
{
	p->health++;
	g_free(p->health_text);
	p->health_text = g_strdup(text);
}

static void
restarting_cb(WrDerpClient *client, guint in, guint for_ms, Peer *p)
{
	p->restarting++;
	p->restart_in = in;
	p->restart_for = for_ms;
	p->restarting_at = g_get_monotonic_time();
}

static void
peer_init(Peer *p, const char *url, const WrDerpDialOptions *options)
{
	memset(p, 0, sizeof(*p));
	wr_x25519_generate(p->sk, p->pk);
	p->packets = g_ptr_array_new_with_free_func((GDestroyNotify) g_bytes_unref);
	p->client = wr_derp_client_new(url, p->sk, options);
	g_signal_connect(p->client, "connected", G_CALLBACK(connected_cb), p);
	g_signal_connect(p->client, "disconnected", G_CALLBACK(disconnected_cb), p);
	g_signal_connect(p->client, "packet-received", G_CALLBACK(packet_cb), p);
	g_signal_connect(p->client, "peer-gone", G_CALLBACK(peer_gone_cb), p);
	g_signal_connect(p->client, "peer-present", G_CALLBACK(peer_present_cb), p);
	g_signal_connect(p->client, "health", G_CALLBACK(health_cb), p);
	g_signal_connect(p->client, "restarting", G_CALLBACK(restarting_cb), p);
}

static void
peer_clear(Peer *p)
{
	g_clear_object(&p->client);
	g_ptr_array_unref(p->packets);
	g_free(p->reason);
	g_free(p->present_addr);
	g_free(p->health_text);
}

static void
peer_start(Peer *p)
{
	guint before = p->connected;

	wr_derp_client_start(p->client);
	WAIT_FOR(p->connected > before);
	g_assert_true(wr_derp_client_is_connected(p->client));
}

static WrDerpClientStats
stats(Peer *p)
{
	WrDerpClientStats st;

	wr_derp_client_get_stats(p->client, &st);
	return st;
}

static void
assert_packet(Peer *p, guint i, const guint8 src[32], const guint8 *data, gsize len)
{
	gsize got_len;
	const guint8 *got;

	g_assert_cmpuint(i, <, p->packets->len);
	got = g_bytes_get_data(g_ptr_array_index(p->packets, i), &got_len);
	g_assert_cmpmem(got, 32, src, 32);
	g_assert_cmpmem(got + 32, got_len - 32, data, len);
}

static void
server_push(WrTestDerpServer *server, const guint8 key[32], GByteArray *frames)
{
	g_assert_true(wr_test_derp_server_send(server, key, frames->data, frames->len));
}

/* the pure backoff */
static void
test_backoff(void)
{
	static const struct {
		guint n;
		double factor;
		guint expected;
	} rows[] = {
		{1, 1.0, 10},	 {2, 1.0, 40},	  {3, 1.0, 90},	     {10, 1.0, 1000},
		{22, 1.0, 4840}, {23, 1.0, 5000}, {1000, 1.0, 5000}, {G_MAXUINT, 1.0, 5000},
		{1, 0.5, 5},	 {2, 1.4999, 59}, {23, 0.5, 2500},   {23, 1.4999, 7499},
		{0, 1.0, 0},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(rows); i++)
		g_assert_cmpuint(wr_derp_client_backoff_ms(rows[i].n, 10, 5000, rows[i].factor), ==,
				 rows[i].expected);
}

/* two clients talk through the relay, in both directions, small and large packets */
static void
test_exchange(void)
{
	g_autoptr(WrTestDerpServer) server = wr_test_derp_server_new(NULL);
	g_autofree gchar *url = wr_test_derp_server_get_url(server);
	g_autofree guint8 *big = g_malloc(DERP_MAX_PACKET_SIZE);
	Peer a;
	Peer b;
	guint8 key[32];
	WrDerpClientStats st;
	gsize total = 0;
	const guint n_big = 100;

	peer_init(&a, url, NULL);
	peer_init(&b, url, NULL);
	g_assert_false(wr_derp_client_get_server_key(a.client, key));
	/* not connected yet: dropped and counted */
	g_assert_false(wr_derp_client_send(a.client, b.pk, (const guint8 *) "x", 1));
	g_assert_cmpuint(stats(&a).drops[WR_DERP_CLIENT_DROP_NOT_CONNECTED], ==, 1);
	peer_start(&a);
	peer_start(&b);
	g_assert_true(wr_derp_client_get_server_key(a.client, key));
	g_assert_cmpmem(key, 32, wr_test_derp_server_get_public_key(server), 32);
	g_assert_cmpstr(wr_derp_client_get_url(a.client), ==, url);

	g_assert_true(wr_derp_client_send(a.client, b.pk, (const guint8 *) "hello", 5));
	WAIT_FOR(b.packets->len == 1);
	assert_packet(&b, 0, a.pk, (const guint8 *) "hello", 5);
	g_assert_true(wr_derp_client_send(b.client, a.pk, (const guint8 *) "", 0));
	WAIT_FOR(a.packets->len == 1);
	assert_packet(&a, 0, b.pk, (const guint8 *) "", 0);

	/* a stream of the largest packets, each marked, arrives whole and in order; at most 16
	 * in flight, so that the queue never has to drop */
	pattern(big, DERP_MAX_PACKET_SIZE, 7, 3);
	for (guint i = 0; i < n_big; i++) {
		gsize len = DERP_MAX_PACKET_SIZE - i * 97;

		big[0] = (guint8) i;
		g_assert_true(wr_derp_client_send(a.client, b.pk, big, len));
		total += len;
		WAIT_FOR(b.packets->len + 16 > 1 + i);
	}
	WAIT_FOR(b.packets->len == 1 + n_big);
	for (guint i = 0; i < n_big; i++) {
		gsize len = DERP_MAX_PACKET_SIZE - i * 97;

		big[0] = (guint8) i;
		assert_packet(&b, 1 + i, a.pk, big, len);
	}
	st = stats(&a);
	g_assert_cmpuint(st.packets_out, ==, 1 + n_big);
	g_assert_cmpuint(st.bytes_out, ==, 5 + total);
	g_assert_cmpuint(st.packets_in, ==, 1);
	g_assert_cmpuint(st.drops[WR_DERP_CLIENT_DROP_QUEUE_FULL], ==, 0);
	g_assert_cmpuint(st.connects, ==, 1);
	g_assert_cmpuint(st.reconnects, ==, 0);
	st = stats(&b);
	g_assert_cmpuint(st.packets_in, ==, 1 + n_big);
	g_assert_cmpuint(st.bytes_in, ==, 5 + total);

	/* too big */
	g_assert_false(wr_derp_client_send(a.client, b.pk, big, DERP_MAX_PACKET_SIZE + 1));
	g_assert_cmpuint(stats(&a).drops[WR_DERP_CLIENT_DROP_TOO_BIG], ==, 1);

	peer_clear(&a);
	peer_clear(&b);
}

static void
ping_ready_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	GAsyncResult **out = user_data;

	*out = g_object_ref(res);
}

/* client Ping -> server Pong; server Ping -> client Pong with the same bytes; timeouts */
static void
test_ping(void)
{
	g_autoptr(WrTestDerpServer) server = wr_test_derp_server_new(NULL);
	g_autofree gchar *url = wr_test_derp_server_get_url(server);
	g_autoptr(GByteArray) frame = g_byte_array_new();
	static const guint8 data[8] = {0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4};
	WrDerpClientTimings timings = {
		.read_timeout_ms = WR_DERP_CLIENT_READ_TIMEOUT_MS,
		.ping_timeout_ms = 200,
		.backoff_unit_ms = 10,
		.backoff_max_ms = 5000,
		.restart_retry_ms = 250,
	};
	guint8 last[8];
	Peer a;

	peer_init(&a, url, NULL);
	/* not connected */
	{
		g_autoptr(GAsyncResult) res = NULL;
		g_autoptr(GError) error = NULL;

		wr_derp_client_ping_async(a.client, NULL, ping_ready_cb, &res);
		WAIT_FOR(res != NULL);
		g_assert_false(wr_derp_client_ping_finish(a.client, res, NULL, &error));
		g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED);
	}
	peer_start(&a);
	wr_derp_client_set_timings(a.client, &timings);
	{
		g_autoptr(GAsyncResult) res = NULL;
		g_autoptr(GError) error = NULL;
		gint64 rtt = -1;

		wr_derp_client_ping_async(a.client, NULL, ping_ready_cb, &res);
		WAIT_FOR(res != NULL);
		g_assert_true(wr_derp_client_ping_finish(a.client, res, &rtt, &error));
		g_assert_no_error(error);
		g_assert_cmpint(rtt, >=, 0);
		g_assert_cmpint(rtt, <, 200 * 1000);
		g_assert_cmpuint(wr_test_derp_server_get_pings(server), ==, 1);
	}

	/* the server pings: the client answers with the same 8 bytes */
	g_assert_cmpint(wr_derp_append_ping(frame, data), ==, 0);
	server_push(server, a.pk, frame);
	WAIT_FOR(wr_test_derp_server_get_pongs(server, last) == 1);
	g_assert_cmpmem(last, 8, data, 8);

	/* a server that does not answer: the ping times out */
	wr_test_derp_server_set_answer_pings(server, FALSE);
	{
		g_autoptr(GAsyncResult) res = NULL;
		g_autoptr(GError) error = NULL;

		wr_derp_client_ping_async(a.client, NULL, ping_ready_cb, &res);
		WAIT_FOR(res != NULL);
		g_assert_false(wr_derp_client_ping_finish(a.client, res, NULL, &error));
		g_assert_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
	}
	/* cancelled while waiting */
	{
		g_autoptr(GAsyncResult) res = NULL;
		g_autoptr(GError) error = NULL;
		g_autoptr(GCancellable) cancellable = g_cancellable_new();

		wr_derp_client_ping_async(a.client, cancellable, ping_ready_cb, &res);
		g_cancellable_cancel(cancellable);
		WAIT_FOR(res != NULL);
		g_assert_false(wr_derp_client_ping_finish(a.client, res, NULL, &error));
		g_assert_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
	}
	/* the connection breaks first */
	{
		g_autoptr(GAsyncResult) res = NULL;
		g_autoptr(GError) error = NULL;

		wr_derp_client_ping_async(a.client, NULL, ping_ready_cb, &res);
		wr_test_derp_server_close_client(server, a.pk);
		WAIT_FOR(res != NULL);
		g_assert_false(wr_derp_client_ping_finish(a.client, res, NULL, &error));
		g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED);
	}
	peer_clear(&a);
}

/* no frame for read_timeout_ms: the connection is dead; KeepAlives keep it alive */
static void
test_read_timeout(void)
{
	g_autoptr(WrTestDerpServer) server = wr_test_derp_server_new(NULL);
	g_autofree gchar *url = wr_test_derp_server_get_url(server);
	g_autoptr(GByteArray) keepalive = g_byte_array_new();
	WrDerpClientTimings timings = {
		.read_timeout_ms = 300,
		.ping_timeout_ms = 5000,
		.backoff_unit_ms = 1,
		.backoff_max_ms = 10,
		.restart_retry_ms = 250,
	};
	gint64 start = 0;
	gint64 end;
	Peer a;

	g_assert_cmpint(wr_derp_append_keep_alive(keepalive), ==, 0);
	peer_init(&a, url, NULL);
	wr_derp_client_set_timings(a.client, &timings);
	peer_start(&a);

	/* KeepAlives every 100 ms for three timeouts: the connection stays */
	end = g_get_monotonic_time() + 900 * 1000;
	while (g_get_monotonic_time() < end) {
		server_push(server, a.pk, keepalive);
		start = g_get_monotonic_time();
		run_for_ms(100);
	}
	g_assert_cmpuint(a.disconnected, ==, 0);
	g_assert_cmpuint(wr_test_derp_server_get_logins(server), ==, 1);

	/* then silence: dead 300 ms after the last KeepAlive, and redialled */
	WAIT_FOR(a.disconnected == 1);
	g_assert_cmpint(g_get_monotonic_time() - start, >=, 300 * 1000);
	g_assert_cmpstr(a.reason, ==, "no frame from the server for 300 ms");
	WAIT_FOR(a.connected == 2);
	g_assert_cmpuint(stats(&a).reconnects, ==, 1);
	g_assert_cmpuint(wr_test_derp_server_get_logins(server), ==, 2);
	peer_clear(&a);
}

/* the server goes away: redials back off, and the first login after it comes back resets them */
static void
test_backoff_reconnect(void)
{
	g_autoptr(WrTestDerpServer) server = wr_test_derp_server_new(NULL);
	g_autofree gchar *url = wr_test_derp_server_get_url(server);
	WrDerpClientTimings timings = {
		.read_timeout_ms = WR_DERP_CLIENT_READ_TIMEOUT_MS,
		.ping_timeout_ms = 5000,
		.backoff_unit_ms = 2,
		.backoff_max_ms = 100,
		.restart_retry_ms = 250,
	};
	WrDerpClientStats st;
	gint64 t0;
	gint64 t_fail5;
	Peer a;

	peer_init(&a, url, NULL);
	wr_derp_client_set_timings(a.client, &timings);
	peer_start(&a);

	wr_test_derp_server_stop(server);
	WAIT_FOR(a.disconnected == 1);
	g_assert_cmpstr(a.reason, ==, "the server closed the connection");
	g_assert_false(wr_derp_client_is_connected(a.client));
	t0 = g_get_monotonic_time();
	/* attempts 1..5 wait at most (1+4+9+16+25) × 2 ms × 1.5 = 165 ms in all, plus the dials */
	WAIT_FOR(stats(&a).dial_failures >= 5);
	t_fail5 = g_get_monotonic_time();
	g_assert_cmpint(t_fail5 - t0, >=, (1 + 4 + 9 + 16) * 2 * 500);
	/* later ones are capped at 100 ms × [0.5, 1.5) */
	WAIT_FOR(stats(&a).dial_failures >= 12);
	g_assert_cmpint(g_get_monotonic_time() - t_fail5, >=, 6 * 50 * 1000);

	wr_test_derp_server_restart(server);
	WAIT_FOR(a.connected == 2);
	st = stats(&a);
	g_assert_cmpuint(st.reconnects, ==, 1);
	g_assert_cmpuint(st.connects, ==, 2);

	/* reset: losing it again redials at once (2 ms × [0.5, 1.5)) */
	wr_test_derp_server_close_client(server, a.pk);
	WAIT_FOR(a.connected == 3);
	g_assert_cmpuint(stats(&a).dial_failures, ==, st.dial_failures);
	peer_clear(&a);
}

/* Restarting: wait reconnect_in, then retry briskly; back within 2 s of the server's return
 * even though plain backoff would wait seconds */
static void
test_restarting(void)
{
	g_autoptr(WrTestDerpServer) server = wr_test_derp_server_new(NULL);
	g_autofree gchar *url = wr_test_derp_server_get_url(server);
	g_autoptr(GByteArray) frame = g_byte_array_new();
	WrDerpClientTimings timings = {
		.read_timeout_ms = WR_DERP_CLIENT_READ_TIMEOUT_MS,
		.ping_timeout_ms = 5000,
		.backoff_unit_ms = 1000,
		.backoff_max_ms = 5000,
		.restart_retry_ms = WR_DERP_CLIENT_RESTART_RETRY_MS,
	};
	gint64 back;
	guint failures;
	Peer a;

	peer_init(&a, url, NULL);
	wr_derp_client_set_timings(a.client, &timings);
	peer_start(&a);

	g_assert_cmpint(wr_derp_append_restarting(frame, 300, 10000), ==, 0);
	g_assert_true(wr_test_derp_server_send_and_close(server, a.pk, frame->data, frame->len));
	WAIT_FOR(a.disconnected == 1);
	g_assert_cmpuint(a.restarting, ==, 1);
	g_assert_cmpuint(a.restart_in, ==, 300);
	g_assert_cmpuint(a.restart_for, ==, 10000);
	wr_test_derp_server_stop(server);

	/* nothing before reconnect_in, then several tries while the server is down */
	WAIT_FOR(stats(&a).dial_failures >= 1);
	g_assert_cmpint(g_get_monotonic_time() - a.restarting_at, >=, 290 * 1000);
	failures = (guint) stats(&a).dial_failures;
	WAIT_FOR(stats(&a).dial_failures >= failures + 3);
	/* plain backoff would be at n = 4 or more by now: 16 s × [0.5, 1.5) */

	back = g_get_monotonic_time();
	wr_test_derp_server_restart(server);
	WAIT_FOR(a.connected == 2);
	g_assert_cmpint(g_get_monotonic_time() - back, <, 2 * G_USEC_PER_SEC);
	peer_clear(&a);
}

/* a malformed frame closes the connection, which is redialled; unknown types are skipped */
static void
test_malformed(void)
{
	g_autoptr(WrTestDerpServer) server = wr_test_derp_server_new(NULL);
	g_autofree gchar *url = wr_test_derp_server_get_url(server);
	g_autoptr(GByteArray) frame = g_byte_array_new();
	Peer a;
	Peer b;

	peer_init(&a, url, NULL);
	peer_init(&b, url, NULL);
	peer_start(&a);
	peer_start(&b);

	/* an unknown type with a body, a KeepAlive with a body, then a packet: all fine */
	g_assert_cmpint(wr_derp_append_frame(frame, 0x7f, (const guint8 *) "whatever", 8), ==, 0);
	g_assert_cmpint(wr_derp_append_frame(frame, DERP_FRAME_KEEP_ALIVE, (const guint8 *) "x", 1),
			==, 0);
	g_assert_cmpint(wr_derp_append_frame(frame, DERP_FRAME_CLIENT_INFO, NULL, 0), ==, 0);
	server_push(server, a.pk, frame);
	g_assert_true(wr_derp_client_send(b.client, a.pk, (const guint8 *) "after", 5));
	WAIT_FOR(a.packets->len == 1);
	assert_packet(&a, 0, b.pk, (const guint8 *) "after", 5);
	g_assert_cmpuint(stats(&a).frames_skipped, ==, 2);
	g_assert_cmpuint(a.disconnected, ==, 0);

	/* a Ping of 3 bytes */
	g_byte_array_set_size(frame, 0);
	g_assert_cmpint(wr_derp_append_frame(frame, DERP_FRAME_PING, (const guint8 *) "abc", 3), ==,
			0);
	server_push(server, a.pk, frame);
	WAIT_FOR(a.disconnected == 1);
	g_assert_cmpstr(a.reason, ==, "malformed Ping frame of 3 bytes: Bad message");
	WAIT_FOR(a.connected == 2);
	g_assert_cmpuint(stats(&a).malformed_frames, ==, 1);

	/* a RecvPacket without its key, a Health that is not UTF-8, a short Restarting */
	g_byte_array_set_size(frame, 0);
	g_assert_cmpint(
		wr_derp_append_frame(frame, DERP_FRAME_RECV_PACKET, (const guint8 *) "k", 1), ==,
		0);
	server_push(server, a.pk, frame);
	WAIT_FOR(a.connected == 3);
	g_byte_array_set_size(frame, 0);
	g_assert_cmpint(
		wr_derp_append_frame(frame, DERP_FRAME_HEALTH, (const guint8 *) "\xff\xfe", 2), ==,
		0);
	server_push(server, a.pk, frame);
	WAIT_FOR(a.connected == 4);
	g_assert_cmpstr(a.reason, ==,
			"malformed Health frame of 2 bytes: Invalid or incomplete "
			"multibyte or wide character");
	g_byte_array_set_size(frame, 0);
	g_assert_cmpint(
		wr_derp_append_frame(frame, DERP_FRAME_RESTARTING, (const guint8 *) "\0\0\0", 3),
		==, 0);
	server_push(server, a.pk, frame);
	WAIT_FOR(a.connected == 5);

	/* a header announcing more than 1 MiB */
	g_byte_array_set_size(frame, 0);
	g_byte_array_append(frame, (const guint8 *) "\x05\x00\x10\x00\x01", 5);
	server_push(server, a.pk, frame);
	WAIT_FOR(a.connected == 6);
	g_assert_cmpstr(a.reason, ==, "frame longer than 1048576 bytes");
	g_assert_cmpuint(stats(&a).malformed_frames, ==, 5);
	g_assert_cmpuint(stats(&a).reconnects, ==, 5);
	g_assert_cmpuint(b.disconnected, ==, 0);
	peer_clear(&a);
	peer_clear(&b);
}

/* the server stops reading: the kernel buffers fill, then the queue of 32 drops its oldest */
static void
test_queue_bound(void)
{
	g_autoptr(WrTestDerpServer) server = wr_test_derp_server_new(NULL);
	g_autofree gchar *url = wr_test_derp_server_get_url(server);
	g_autofree guint8 *pkt = g_malloc0(DERP_MAX_PACKET_SIZE);
	const guint extra = 10;
	guint sent = 0;
	guint first_drop;
	guint64 last_seq;
	gsize len;
	const guint8 *got;
	Peer a;
	Peer b;

	peer_init(&a, url, NULL);
	peer_init(&b, url, NULL);
	peer_start(&a);
	peer_start(&b);
	wr_test_derp_server_pause_reading(server, a.pk, TRUE);

	/* 64 KiB packets until the first drop (at most 1 GiB: the buffers are far smaller) */
	for (;;) {
		memcpy(pkt, &sent, sizeof(sent));
		sent++;
		if (!wr_derp_client_send(a.client, b.pk, pkt, DERP_MAX_PACKET_SIZE))
			break;
		g_assert_cmpuint(sent, <, 16384);
	}
	first_drop = sent;
	g_assert_cmpuint(stats(&a).drops[WR_DERP_CLIENT_DROP_QUEUE_FULL], ==, 1);
	for (guint i = 0; i < extra; i++) {
		memcpy(pkt, &sent, sizeof(sent));
		sent++;
		g_assert_false(wr_derp_client_send(a.client, b.pk, pkt, DERP_MAX_PACKET_SIZE));
	}
	g_assert_cmpuint(stats(&a).drops[WR_DERP_CLIENT_DROP_QUEUE_FULL], ==, 1 + extra);
	g_test_message("first drop at packet %u", first_drop);

	/* the server reads again: everything but the dropped ones arrives, the last one last */
	wr_test_derp_server_pause_reading(server, a.pk, FALSE);
	WAIT_FOR(b.packets->len == sent - (1 + extra));
	got = g_bytes_get_data(g_ptr_array_index(b.packets, b.packets->len - 1), &len);
	g_assert_cmpuint(len, ==, 32 + DERP_MAX_PACKET_SIZE);
	last_seq = 0;
	memcpy(&last_seq, got + 32, sizeof(sent));
	g_assert_cmpuint(last_seq, ==, sent - 1);
	g_assert_cmpuint(a.disconnected, ==, 0);
	peer_clear(&a);
	peer_clear(&b);
}

/* ServerInfo's token bucket: over the burst, packets are dropped, not queued */
static void
test_token_bucket(void)
{
	g_autoptr(WrTestDerpServer) server = wr_test_derp_server_new(NULL);
	g_autofree gchar *url = wr_test_derp_server_get_url(server);
	WrDerpServerInfoBody info = {.version = 2,
				     .token_bucket_bytes_per_second = 10,
				     .token_bucket_bytes_burst = 2000};
	guint8 pkt[500] = {0};
	guint ok = 0;
	Peer a;
	Peer b;

	wr_test_derp_server_set_info(server, &info);
	peer_init(&a, url, NULL);
	peer_init(&b, url, NULL);
	peer_start(&a);
	peer_start(&b);
	/* each costs 5 + 32 + 500 = 537: three fit in 2000 */
	for (guint i = 0; i < 10; i++)
		ok += wr_derp_client_send(a.client, b.pk, pkt, sizeof(pkt)) ? 1 : 0;
	g_assert_cmpuint(ok, ==, 3);
	g_assert_cmpuint(stats(&a).drops[WR_DERP_CLIENT_DROP_RATE_LIMITED], ==, 7);
	WAIT_FOR(b.packets->len == 3);
	peer_clear(&a);
	peer_clear(&b);
}

/* NotePreferred on every connection and on change; Health; PeerGone */
static void
test_preferred_health_gone(void)
{
	g_autoptr(WrTestDerpServer) server = wr_test_derp_server_new(NULL);
	g_autofree gchar *url = wr_test_derp_server_get_url(server);
	g_autoptr(GByteArray) frame = g_byte_array_new();
	g_autofree gchar *health = NULL;
	guint8 other[32];
	Peer a;

	peer_init(&a, url, NULL);
	wr_derp_client_note_preferred(a.client, TRUE);
	g_assert_true(wr_derp_client_get_preferred(a.client));
	peer_start(&a);
	WAIT_FOR(wr_test_derp_server_get_preferred_count(server, a.pk) == 1);
	g_assert_cmpint(wr_test_derp_server_get_preferred(server, a.pk), ==, 1);
	wr_test_derp_server_close_client(server, a.pk);
	WAIT_FOR(wr_test_derp_server_get_preferred_count(server, a.pk) == 2);
	g_assert_cmpint(wr_test_derp_server_get_preferred(server, a.pk), ==, 1);
	g_object_set(a.client, "preferred", FALSE, NULL);
	WAIT_FOR(wr_test_derp_server_get_preferred_count(server, a.pk) == 3);
	g_assert_cmpint(wr_test_derp_server_get_preferred(server, a.pk), ==, 0);
	/* not preferred: said again after a reconnect too */
	wr_test_derp_server_close_client(server, a.pk);
	WAIT_FOR(wr_test_derp_server_get_preferred_count(server, a.pk) == 4);
	g_assert_cmpint(wr_test_derp_server_get_preferred(server, a.pk), ==, 0);
	WAIT_FOR(a.connected == 3);
	/* setting the same value again sends nothing (a ping's round trip flushes the path) */
	wr_derp_client_note_preferred(a.client, FALSE);
	{
		g_autoptr(GAsyncResult) res = NULL;

		wr_derp_client_ping_async(a.client, NULL, ping_ready_cb, &res);
		WAIT_FOR(res != NULL);
		g_assert_true(wr_derp_client_ping_finish(a.client, res, NULL, NULL));
	}
	g_assert_cmpuint(wr_test_derp_server_get_preferred_count(server, a.pk), ==, 4);

	/* Health, then healthy again */
	g_assert_cmpint(wr_derp_append_health(frame, "duplicate client", 16), ==, 0);
	server_push(server, a.pk, frame);
	WAIT_FOR(a.health == 1);
	g_assert_cmpstr(a.health_text, ==, "duplicate client");
	g_object_get(a.client, "health", &health, NULL);
	g_assert_cmpstr(health, ==, "duplicate client");
	g_byte_array_set_size(frame, 0);
	g_assert_cmpint(wr_derp_append_health(frame, "", 0), ==, 0);
	server_push(server, a.pk, frame);
	WAIT_FOR(a.health == 2);
	g_assert_cmpstr(wr_derp_client_get_health(a.client), ==, "");

	/* PeerGone with and without its reason byte */
	wr_x25519_generate(other, other);
	g_byte_array_set_size(frame, 0);
	g_assert_cmpint(wr_derp_append_peer_gone(frame, other, DERP_PEER_GONE_NOT_HERE), ==, 0);
	server_push(server, a.pk, frame);
	WAIT_FOR(a.gone == 1);
	g_assert_cmpmem(a.gone_key, 32, other, 32);
	g_assert_cmpuint(a.gone_reason, ==, DERP_PEER_GONE_NOT_HERE);
	g_byte_array_set_size(frame, 0);
	g_assert_cmpint(wr_derp_append_frame(frame, DERP_FRAME_PEER_GONE, other, 32), ==, 0);
	server_push(server, a.pk, frame);
	WAIT_FOR(a.gone == 2);
	g_assert_cmpuint(a.gone_reason, ==, DERP_PEER_GONE_DISCONNECTED);
	g_assert_cmpuint(a.disconnected, ==, 2);
	peer_clear(&a);
}

/* a mesh client: WatchConns (again after reconnects), PeerPresent, MeshConnBroke,
 * ForwardPacket and ClosePeer */
static void
test_mesh(void)
{
	g_autoptr(WrTestDerpServer) server = wr_test_derp_server_new(NULL);
	g_autofree gchar *url = wr_test_derp_server_get_url(server);
	guint8 mesh_key[32];
	guint8 c_pk[32];
	WrDerpDialOptions options = {.mesh_key = mesh_key};
	Peer m;
	Peer b;

	pattern(mesh_key, sizeof(mesh_key), 5, 5);
	wr_x25519_generate(c_pk, c_pk);
	peer_init(&b, url, NULL);
	peer_start(&b);
	peer_init(&m, url, &options);
	peer_start(&m);
	g_assert_true(wr_test_derp_server_get_last_client_info(server)->has_mesh_key);

	wr_derp_client_watch_conns(m.client);
	WAIT_FOR(m.present == 1);
	g_assert_cmpuint(wr_test_derp_server_get_watches(server), ==, 1);
	g_assert_cmpmem(m.present_key, 32, b.pk, 32);
	g_assert_cmpstr(m.present_addr, ==, "127.0.0.1:4242");
	g_assert_cmpuint(m.present_flags, ==, DERP_PEER_PRESENT_IS_REGULAR);

	/* forwarded on behalf of a client c of another node */
	g_assert_true(
		wr_derp_client_forward_packet(m.client, c_pk, b.pk, (const guint8 *) "fwd", 3));
	WAIT_FOR(b.packets->len == 1);
	assert_packet(&b, 0, c_pk, (const guint8 *) "fwd", 3);
	g_assert_cmpuint(wr_test_derp_server_get_forwarded(server), ==, 1);
	g_assert_cmpuint(stats(&m).packets_out, ==, 1);
	g_assert_cmpuint(stats(&m).bytes_out, ==, 3);

	/* the link breaks: every key it reported is gone, locally; then it watches again */
	wr_test_derp_server_close_client(server, m.pk);
	WAIT_FOR(m.gone == 1);
	g_assert_cmpmem(m.gone_key, 32, b.pk, 32);
	g_assert_cmpuint(m.gone_reason, ==, DERP_PEER_GONE_MESH_CONN_BROKE);
	WAIT_FOR(m.present == 2);
	g_assert_cmpuint(wr_test_derp_server_get_watches(server), ==, 2);

	/* ClosePeer */
	g_assert_true(wr_derp_client_close_peer(m.client, b.pk));
	WAIT_FOR(b.disconnected == 1);
	g_assert_cmpuint(wr_test_derp_server_get_close_peers(server), ==, 1);
	WAIT_FOR(b.connected == 2);
	peer_clear(&m);
	peer_clear(&b);
}

/* TLS with the pinned test certificate */
static void
test_tls(void)
{
	g_autofree gchar *cert_path =
		g_test_build_filename(G_TEST_DIST, "data", "derp-tls", "cert.pem", NULL);
	g_autofree gchar *key_path =
		g_test_build_filename(G_TEST_DIST, "data", "derp-tls", "key.pem", NULL);
	g_autoptr(GTlsCertificate) cert = NULL;
	g_autoptr(WrTestDerpServer) server = NULL;
	g_autofree gchar *url = NULL;
	g_autoptr(GError) error = NULL;
	WrDerpDialOptions options = {.cert_name = TEST_CERT_PIN, .connect_address = "127.0.0.1"};
	Peer a;
	Peer b;

	if (!g_tls_backend_supports_tls(g_tls_backend_get_default())) {
		g_test_skip("no GIO TLS backend (glib-networking)");
		return;
	}
	cert = g_tls_certificate_new_from_files(cert_path, key_path, &error);
	g_assert_no_error(error);
	server = wr_test_derp_server_new(cert);
	url = wr_test_derp_server_get_url(server);
	peer_init(&a, url, &options);
	peer_init(&b, url, &options);
	peer_start(&a);
	peer_start(&b);
	g_assert_true(wr_derp_client_send(a.client, b.pk, (const guint8 *) "secret", 6));
	WAIT_FOR(b.packets->len == 1);
	assert_packet(&b, 0, a.pk, (const guint8 *) "secret", 6);
	/* and a reconnect over TLS */
	wr_test_derp_server_close_client(server, a.pk);
	WAIT_FOR(a.connected == 2);
	g_assert_true(wr_derp_client_send(b.client, a.pk, (const guint8 *) "again", 5));
	WAIT_FOR(a.packets->len == 1);
	peer_clear(&a);
	peer_clear(&b);
}

/* stop: disconnected("stopped"), no redial, pings cancelled; start again works */
static void
test_stop(void)
{
	g_autoptr(WrTestDerpServer) server = wr_test_derp_server_new(NULL);
	g_autofree gchar *url = wr_test_derp_server_get_url(server);
	g_autoptr(GAsyncResult) res = NULL;
	g_autoptr(GError) error = NULL;
	Peer a;

	peer_init(&a, url, NULL);
	peer_start(&a);
	wr_test_derp_server_set_answer_pings(server, FALSE);
	wr_derp_client_ping_async(a.client, NULL, ping_ready_cb, &res);
	wr_derp_client_stop(a.client);
	g_assert_cmpuint(a.disconnected, ==, 1);
	g_assert_cmpstr(a.reason, ==, "stopped");
	g_assert_false(wr_derp_client_is_connected(a.client));
	WAIT_FOR(res != NULL);
	g_assert_false(wr_derp_client_ping_finish(a.client, res, NULL, &error));
	g_assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
		      g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED));
	/* the result holds the client */
	g_clear_object(&res);
	WAIT_FOR(wr_test_derp_server_count_clients(server) == 0);
	run_for_ms(100);
	g_assert_cmpuint(wr_test_derp_server_get_logins(server), ==, 1);

	/* stop while dialling, then start again */
	wr_test_derp_server_set_mode(server, WR_TEST_DERP_MODE_SILENT);
	wr_derp_client_start(a.client);
	wr_derp_client_stop(a.client);
	wr_test_derp_server_set_mode(server, WR_TEST_DERP_MODE_NORMAL);
	peer_start(&a);
	g_assert_cmpuint(wr_test_derp_server_get_logins(server), ==, 2);

	/* dropped while connected: nothing is emitted from dispose */
	g_clear_object(&a.client);
	WAIT_FOR(wr_test_derp_server_count_clients(server) == 0);
	g_assert_cmpuint(a.disconnected, ==, 1);
	peer_clear(&a);
}

int
main(int argc, char **argv)
{
	GSource *tick;
	int ret;

	g_test_init(&argc, &argv, NULL);
	g_assert_true(wr_crypto_init());
	/* see wr_test_derp_wait_pool_threads */
	g_thread_pool_set_max_unused_threads(0);
	tick = g_timeout_source_new(20);
	g_source_set_callback(tick, tick_cb, NULL, NULL);
	g_source_attach(tick, NULL);

	g_test_add_func("/warren/derp-client/backoff", test_backoff);
	g_test_add_func("/warren/derp-client/exchange", test_exchange);
	g_test_add_func("/warren/derp-client/ping", test_ping);
	g_test_add_func("/warren/derp-client/read-timeout", test_read_timeout);
	g_test_add_func("/warren/derp-client/backoff-reconnect", test_backoff_reconnect);
	g_test_add_func("/warren/derp-client/restarting", test_restarting);
	g_test_add_func("/warren/derp-client/malformed", test_malformed);
	g_test_add_func("/warren/derp-client/queue-bound", test_queue_bound);
	g_test_add_func("/warren/derp-client/token-bucket", test_token_bucket);
	g_test_add_func("/warren/derp-client/preferred-health-gone", test_preferred_health_gone);
	g_test_add_func("/warren/derp-client/mesh", test_mesh);
	g_test_add_func("/warren/derp-client/tls", test_tls);
	g_test_add_func("/warren/derp-client/stop", test_stop);
	ret = g_test_run();

	g_source_destroy(tick);
	g_source_unref(tick);
	wr_test_derp_wait_pool_threads();
	return ret;
}
