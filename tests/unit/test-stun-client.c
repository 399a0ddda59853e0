/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrTestStunClient"

#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "wr-crypto.h"
#include "wr-stun-client.h"
#include "wr-stun.h"

#define TURNSERVER_PATH "/usr/bin/turnserver"
/* how long coturn may take to come up, and the slack any wait in this file gets */
/* coturn answers within a second when all is well; this only bounds a broken start */
#define STARTUP_DEADLINE_US (30 * G_USEC_PER_SEC)
#define WAIT_DEADLINE_US    (10 * G_USEC_PER_SEC)

static void
ready_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	GAsyncResult **out = user_data;

	g_assert_null(*out);
	*out = g_object_ref(res);
}

/* iterates the default context until *flag is set; fails the test after WAIT_DEADLINE_US.  The
 * query under test always has a timer armed, so the blocking iteration cannot hang. */
static void
wait_until(gpointer *flag)
{
	gint64 deadline = g_get_monotonic_time() + WAIT_DEADLINE_US;

	while (*flag == NULL) {
		g_assert_cmpint(g_get_monotonic_time(), <, deadline);
		g_main_context_iteration(NULL, TRUE);
	}
}

static GSocket *
udp_socket_bound(const gchar *ip)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GInetAddress) addr = g_inet_address_new_from_string(ip);
	g_autoptr(GSocketAddress) sa = g_inet_socket_address_new(addr, 0);
	g_autoptr(GSocket) sock =
		g_socket_new(g_inet_address_get_family(addr), G_SOCKET_TYPE_DATAGRAM,
			     G_SOCKET_PROTOCOL_UDP, &error);

	g_assert_no_error(error);
	g_socket_set_blocking(sock, FALSE);
	if (!g_socket_bind(sock, sa, FALSE, &error))
		return NULL;
	return g_steal_pointer(&sock);
}

static GSocketAddress *
socket_local_address(GSocket *sock)
{
	g_autoptr(GError) error = NULL;
	GSocketAddress *sa = g_socket_get_local_address(sock, &error);

	g_assert_no_error(error);
	return sa;
}

static guint16
socket_local_port(GSocket *sock)
{
	g_autoptr(GSocketAddress) sa = socket_local_address(sock);

	return g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(sa));
}

/* a port nobody listens on right now: bound, then released */
static guint16
free_udp_port(void)
{
	g_autoptr(GSocket) sock = udp_socket_bound("127.0.0.1");

	g_assert_nonnull(sock);
	return socket_local_port(sock);
}

static GSocketAddress *
loopback_address(guint16 port)
{
	g_autoptr(GInetAddress) addr = g_inet_address_new_from_string("127.0.0.1");

	return g_inet_socket_address_new(addr, port);
}

static void
assert_endpoint(const WrEndpoint *ep, const gchar *expected)
{
	gchar buf[WR_ENDPOINT_STRLEN];

	wr_endpoint_format(ep, buf);
	g_assert_cmpstr(buf, ==, expected);
}

/* one query, run to completion */
static GAsyncResult *
query(GSocket *sock, GSocketAddress *server, guint timeout_ms, GCancellable *cancellable)
{
	GAsyncResult *res = NULL;

	wr_stun_client_query_async(sock, server, timeout_ms, cancellable, ready_cb, &res);
	wait_until((gpointer *) &res);
	return res;
}

/* coturn */

typedef struct {
	GSubprocess *proc;
	gboolean exited;
	guint16 port;
	GSocketAddress *server;
	gchar *tmpdir;
} CoturnFixture;

static void
coturn_child_setup(gpointer user_data)
{
	/* the child dies with us even when an assertion aborts the test before teardown */
	(void) prctl(PR_SET_PDEATHSIG, SIGKILL);
}

static void
coturn_exited_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	CoturnFixture *fx = user_data;

	(void) g_subprocess_wait_finish(G_SUBPROCESS(source), res, NULL);
	fx->exited = TRUE;
}

static gboolean
coturn_start(CoturnFixture *fx, const gchar *tmpdir)
{
	g_autoptr(GSubprocessLauncher) launcher = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *port_arg = NULL;
	g_autofree gchar *pid_arg = NULL;
	g_autofree gchar *db_arg = NULL;
	gint64 deadline = g_get_monotonic_time() + STARTUP_DEADLINE_US;

	fx->port = free_udp_port();
	fx->exited = FALSE;
	port_arg = g_strdup_printf("--listening-port=%u", fx->port);
	pid_arg = g_strdup_printf("--pidfile=%s/turnserver.pid", tmpdir);
	/* its user database too: coturn opens (and locks) /var/lib/turn/turndb otherwise, which
	 * other tests' coturns running at the same time share */
	db_arg = g_strdup_printf("--userdb=%s/turnserver.db", tmpdir);
	/* stdout carries TAP, so coturn's chatter goes nowhere */
	launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
					     G_SUBPROCESS_FLAGS_STDERR_SILENCE);
	g_subprocess_launcher_set_cwd(launcher, tmpdir);
	g_subprocess_launcher_set_child_setup(launcher, coturn_child_setup, NULL, NULL);
	fx->proc = g_subprocess_launcher_spawn(
		launcher, &error, TURNSERVER_PATH, "--listening-ip=127.0.0.1", port_arg, "--no-tls",
		"--no-dtls", "--stun-only", "--no-cli", "--no-rfc5780", "-c", "/dev/null",
		"--log-file=stdout", "--simple-log", pid_arg, db_arg, NULL);
	g_assert_no_error(error);
	g_subprocess_wait_async(fx->proc, NULL, coturn_exited_cb, fx);

	g_clear_object(&fx->server);
	fx->server = loopback_address(fx->port);
	/* ready once it answers; a lost port race shows up as an early exit */
	while (!fx->exited) {
		g_autoptr(GAsyncResult) res = NULL;
		g_autoptr(GError) error_query = NULL;

		g_assert_cmpint(g_get_monotonic_time(), <, deadline);
		res = query(NULL, fx->server, 200, NULL);
		if (wr_stun_client_query_finish(res, NULL, NULL, &error_query))
			return TRUE;
		g_assert_error(error_query, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
	}
	g_clear_object(&fx->proc);
	return FALSE;
}

static void
coturn_setup(CoturnFixture *fx, gconstpointer user_data)
{
	g_autoptr(GError) error = NULL;

	if (!g_file_test(TURNSERVER_PATH, G_FILE_TEST_IS_EXECUTABLE))
		return;
	fx->tmpdir = g_dir_make_tmp("warren-stun-client-XXXXXX", &error);
	g_assert_no_error(error);
	for (guint attempt = 0; attempt < 3; attempt++) {
		if (coturn_start(fx, fx->tmpdir))
			break;
	}
	g_assert_nonnull(fx->proc);
}

static void
coturn_teardown(CoturnFixture *fx, gconstpointer user_data)
{
	if (fx->proc != NULL) {
		gint64 deadline = g_get_monotonic_time() + WAIT_DEADLINE_US;

		g_subprocess_force_exit(fx->proc);
		while (!fx->exited && g_get_monotonic_time() < deadline)
			g_main_context_iteration(NULL, TRUE);
		g_assert_true(fx->exited);
		g_clear_object(&fx->proc);
	}
	if (fx->tmpdir != NULL) {
		g_autofree gchar *pidfile = g_build_filename(fx->tmpdir, "turnserver.pid", NULL);
		g_autofree gchar *dbfile = g_build_filename(fx->tmpdir, "turnserver.db", NULL);

		(void) g_remove(pidfile);
		(void) g_remove(dbfile);
		g_assert_cmpint(g_rmdir(fx->tmpdir), ==, 0);
		g_clear_pointer(&fx->tmpdir, g_free);
	}
	g_clear_object(&fx->server);
}

/* the server sees our own socket's loopback address and port */
static void
test_coturn_mapped(CoturnFixture *fx, gconstpointer user_data)
{
	g_autoptr(GSocket) sock = NULL;
	g_autoptr(GAsyncResult) res = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *expected = NULL;
	WrEndpoint mapped = {0};
	gint64 rtt_us = -1;

	if (fx->proc == NULL) {
		g_test_skip(TURNSERVER_PATH " is not installed");
		return;
	}
	sock = udp_socket_bound("127.0.0.1");
	g_assert_nonnull(sock);
	expected = g_strdup_printf("127.0.0.1:%u", socket_local_port(sock));
	res = query(sock, fx->server, 2000, NULL);
	g_assert_true(wr_stun_client_query_finish(res, &mapped, &rtt_us, &error));
	g_assert_no_error(error);
	assert_endpoint(&mapped, expected);
	g_assert_cmpint(rtt_us, >, 0);
	g_assert_cmpint(rtt_us, <, 2000 * 1000);
	g_assert_cmpuint(wr_stun_client_query_get_ignored(res), ==, 0);
}

/* with no socket given the client makes its own, on an ephemeral port */
static void
test_coturn_own_socket(CoturnFixture *fx, gconstpointer user_data)
{
	g_autoptr(GAsyncResult) res = NULL;
	g_autoptr(GError) error = NULL;
	WrEndpoint mapped = {0};
	gint64 rtt_us = -1;

	if (fx->proc == NULL) {
		g_test_skip(TURNSERVER_PATH " is not installed");
		return;
	}
	res = query(NULL, fx->server, 2000, NULL);
	g_assert_true(wr_stun_client_query_finish(res, &mapped, &rtt_us, &error));
	g_assert_no_error(error);
	g_assert_cmpint(mapped.sa.sa_family, ==, AF_INET);
	g_assert_cmpuint(mapped.in4.sin_addr.s_addr, ==, g_htonl(INADDR_LOOPBACK));
	g_assert_cmpuint(mapped.in4.sin_port, !=, 0);
	g_assert_cmpuint(mapped.in4.sin_port, !=, g_htons(fx->port));
	g_assert_cmpint(rtt_us, >, 0);
}

/* nothing listens: a timeout error within the timeout, naming the server and the time */
static void
test_timeout(void)
{
	guint16 port = free_udp_port();
	g_autoptr(GSocketAddress) server = loopback_address(port);
	g_autoptr(GAsyncResult) res = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *expected = NULL;
	WrEndpoint mapped = {0};
	gint64 rtt_us = -1;
	gint64 start = g_get_monotonic_time();
	gint64 elapsed;

	res = query(NULL, server, 300, NULL);
	elapsed = g_get_monotonic_time() - start;
	g_assert_false(wr_stun_client_query_finish(res, &mapped, &rtt_us, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
	expected = g_strdup_printf("no STUN response from 127.0.0.1:%u within 300 ms", port);
	g_assert_cmpstr(error->message, ==, expected);
	g_assert_cmpint(elapsed, >=, 300 * 1000);
	g_assert_cmpint(elapsed, <, 300 * 1000 + 2 * G_USEC_PER_SEC);
	/* out parameters untouched */
	g_assert_cmpint(mapped.sa.sa_family, ==, AF_UNSPEC);
	g_assert_cmpint(rtt_us, ==, -1);
}

/* reads every datagram queued on a silent server; returns how many were well-formed Binding
 * requests, each with a distinct transaction id */
static guint
drain_requests(GSocket *sock)
{
	guint8 seen[WR_STUN_CLIENT_MAX_TRIES][WR_STUN_TXID_LEN];
	guint n = 0;

	for (;;) {
		guint8 buf[1500];
		guint8 txid[WR_STUN_TXID_LEN];
		g_autoptr(GError) error = NULL;
		gssize len = g_socket_receive(sock, (gchar *) buf, sizeof(buf), NULL, &error);

		if (len < 0) {
			g_assert_error(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
			return n;
		}
		g_assert_cmpint(len, ==, WR_STUN_REQUEST_LEN);
		g_assert_cmpint(
			wr_stun_parse_request(buf, (gsize) len, WR_STUN_ACCEPT_TAILNODE, txid), ==,
			0);
		for (guint i = 0; i < n; i++)
			g_assert_cmpint(memcmp(seen[i], txid, WR_STUN_TXID_LEN), !=, 0);
		g_assert_cmpuint(n, <, WR_STUN_CLIENT_MAX_TRIES);
		memcpy(seen[n++], txid, WR_STUN_TXID_LEN);
	}
}

/* a silent server sees the tries of RFC 5389's schedule: at 0, 100 and 300 ms within 500 ms */
static void
test_retransmit(void)
{
	g_autoptr(GSocket) server_sock = udp_socket_bound("127.0.0.1");
	g_autoptr(GSocketAddress) server = socket_local_address(server_sock);
	g_autoptr(GAsyncResult) res = NULL;
	g_autoptr(GError) error = NULL;

	guint n;

	/* sends are due at 0, 100, 300 and 700 ms: four within a second.  A loaded machine can
	 * only make the client late, so fewer than four is tolerated, but never one (no
	 * retransmission) and never more than four (retransmitting faster than 100 ms doubling) */
	res = query(NULL, server, 1000, NULL);
	g_assert_false(wr_stun_client_query_finish(res, NULL, NULL, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
	n = drain_requests(server_sock);
	g_assert_cmpuint(n, >=, 2);
	g_assert_cmpuint(n, <=, 4);
}

/* a scripted server in the test's own main loop */
typedef struct {
	GSocket *sock;
	GSource *source;
	gboolean respond;
	guint requests;
	GCancellable *cancel_on_request;
} FakeServer;

static void
fake_send(FakeServer *fs, GSocketAddress *to, const guint8 *buf, gsize len)
{
	g_autoptr(GError) error = NULL;
	gssize n = g_socket_send_to(fs->sock, to, (const gchar *) buf, len, NULL, &error);

	g_assert_no_error(error);
	g_assert_cmpint(n, ==, (gssize) len);
}

/* the first request gets garbage, a response for another transaction id, then the answer */
static gboolean
fake_server_cb(GSocket *sock, GIOCondition condition, gpointer user_data)
{
	FakeServer *fs = user_data;
	static const guint8 garbage[] = "not a STUN message at all";
	guint8 buf[1500];
	guint8 txid[WR_STUN_TXID_LEN];
	guint8 resp[WR_STUN_RESPONSE_MAX_LEN];
	WrEndpoint decoy = {0};
	WrEndpoint answer = {0};
	g_autoptr(GSocketAddress) from = NULL;
	g_autoptr(GError) error = NULL;
	gssize len;
	int n;

	len = g_socket_receive_from(sock, &from, (gchar *) buf, sizeof(buf), NULL, &error);
	if (len < 0) {
		g_assert_error(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
		return G_SOURCE_CONTINUE;
	}
	g_assert_cmpint(wr_stun_parse_request(buf, (gsize) len, WR_STUN_ACCEPT_TAILNODE, txid), ==,
			0);
	if (fs->cancel_on_request != NULL)
		g_cancellable_cancel(fs->cancel_on_request);
	if (!fs->respond || fs->requests++ > 0)
		return G_SOURCE_CONTINUE;

	fake_send(fs, from, garbage, sizeof(garbage));
	g_assert_true(wr_endpoint_parse(&decoy, "192.0.2.1:1111"));
	txid[0] ^= 0x01;
	n = wr_stun_build_response(resp, sizeof(resp), txid, &decoy, FALSE);
	g_assert_cmpint(n, >, 0);
	fake_send(fs, from, resp, (gsize) n);
	txid[0] ^= 0x01;
	g_assert_true(wr_endpoint_parse(&answer, "198.51.100.7:4242"));
	n = wr_stun_build_response(resp, sizeof(resp), txid, &answer, TRUE);
	g_assert_cmpint(n, >, 0);
	fake_send(fs, from, resp, (gsize) n);
	return G_SOURCE_CONTINUE;
}

static gboolean
fake_server_init(FakeServer *fs, const gchar *ip, gboolean respond)
{
	memset(fs, 0, sizeof(*fs));
	fs->sock = udp_socket_bound(ip);
	if (fs->sock == NULL)
		return FALSE;
	fs->respond = respond;
	fs->source = g_socket_create_source(fs->sock, G_IO_IN, NULL);
	g_source_set_callback(fs->source, G_SOURCE_FUNC(fake_server_cb), fs, NULL);
	g_source_attach(fs->source, NULL);
	return TRUE;
}

static void
fake_server_clear(FakeServer *fs)
{
	if (fs->source != NULL) {
		g_source_destroy(fs->source);
		g_clear_pointer(&fs->source, g_source_unref);
	}
	g_clear_object(&fs->sock);
}

static void
test_fake_server(gconstpointer user_data)
{
	const gchar *ip = user_data;
	FakeServer fs;
	g_autoptr(GSocketAddress) server = NULL;
	g_autoptr(GAsyncResult) res = NULL;
	g_autoptr(GError) error = NULL;
	WrEndpoint mapped = {0};
	gint64 rtt_us = -1;

	if (!fake_server_init(&fs, ip, TRUE)) {
		g_test_skip("cannot bind a UDP socket on this address");
		return;
	}
	server = socket_local_address(fs.sock);
	res = query(NULL, server, 2000, NULL);
	g_assert_true(wr_stun_client_query_finish(res, &mapped, &rtt_us, &error));
	g_assert_no_error(error);
	assert_endpoint(&mapped, "198.51.100.7:4242");
	g_assert_cmpint(rtt_us, >, 0);
	g_assert_cmpuint(wr_stun_client_query_get_ignored(res), ==, 2);
	g_assert_cmpuint(fs.requests, >=, 1);
	fake_server_clear(&fs);
}

/* cancelling while the request is in flight ends the query at once */
static void
test_cancel(void)
{
	FakeServer fs;
	g_autoptr(GCancellable) cancellable = g_cancellable_new();
	g_autoptr(GSocketAddress) server = NULL;
	g_autoptr(GAsyncResult) res = NULL;
	g_autoptr(GError) error = NULL;
	gint64 start = g_get_monotonic_time();

	g_assert_true(fake_server_init(&fs, "127.0.0.1", FALSE));
	fs.cancel_on_request = cancellable;
	server = socket_local_address(fs.sock);
	res = query(NULL, server, 5000, cancellable);
	g_assert_false(wr_stun_client_query_finish(res, NULL, NULL, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
	g_assert_cmpint(g_get_monotonic_time() - start, <, 2 * G_USEC_PER_SEC);
	fake_server_clear(&fs);
}

/* an already cancelled query sends nothing */
static void
test_cancel_before(void)
{
	g_autoptr(GSocket) server_sock = udp_socket_bound("127.0.0.1");
	g_autoptr(GSocketAddress) server = socket_local_address(server_sock);
	g_autoptr(GCancellable) cancellable = g_cancellable_new();
	g_autoptr(GAsyncResult) res = NULL;
	g_autoptr(GError) error = NULL;

	g_cancellable_cancel(cancellable);
	wr_stun_client_query_async(NULL, server, 1000, cancellable, ready_cb, &res);
	/* the callback never runs inside the call */
	g_assert_null(res);
	wait_until((gpointer *) &res);
	g_assert_false(wr_stun_client_query_finish(res, NULL, NULL, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
	g_assert_cmpuint(drain_requests(server_sock), ==, 0);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_assert_true(wr_crypto_init());

	g_test_add("/warren/stun-client/coturn/mapped", CoturnFixture, NULL, coturn_setup,
		   test_coturn_mapped, coturn_teardown);
	g_test_add("/warren/stun-client/coturn/own-socket", CoturnFixture, NULL, coturn_setup,
		   test_coturn_own_socket, coturn_teardown);
	g_test_add_func("/warren/stun-client/timeout", test_timeout);
	g_test_add_func("/warren/stun-client/retransmit", test_retransmit);
	g_test_add_data_func("/warren/stun-client/fake-server/ipv4", "127.0.0.1", test_fake_server);
	g_test_add_data_func("/warren/stun-client/fake-server/ipv6", "::1", test_fake_server);
	g_test_add_func("/warren/stun-client/cancel", test_cancel);
	g_test_add_func("/warren/stun-client/cancel-before", test_cancel_before);
	return g_test_run();
}
