/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The netcheck runner against real servers on loopback: two coturn `turnserver --stun-only`
 * instances on 127.0.0.1 and 127.0.0.2 as two DERP regions (TESTING.md, "STUN"), probed from
 * the client's own sockets and from a caller's socket through the send function and feed, with
 * a node reached through DNS ("localhost"); then UDP "blocked" by the send function, so that the
 * HTTPS latency check runs against a libsoup TLS server with a certificate made here (GnuTLS),
 * with InsecureForTests, a refused certificate and a sha256-raw pin; cancellation, a second
 * report while one runs, and the 3 s STUN limit.  Tests that need coturn skip without it.
 */

#define G_LOG_DOMAIN "WrNetcheckClientTest"

#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <libsoup/soup.h>

#include "wr-crypto.h"
#include "wr-derp-map.h"
#include "wr-netcheck-client.h"
#include "wr-stun-client.h"
#include "wr-stun.h"

#define TURNSERVER_PATH "/usr/bin/turnserver"
/* coturn answers within a second when all is well; one attempt waits this long (four are
 * made, each on a fresh port) */
#define STARTUP_DEADLINE_US (15 * G_USEC_PER_SEC)
/* more than a report may take (5 s) */
#define WAIT_DEADLINE_US (15 * G_USEC_PER_SEC)
#define TLS_HOST	 "derp.test"

static void
ready_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	GAsyncResult **out = user_data;

	g_assert_null(*out);
	*out = g_object_ref(res);
}

/* iterates the default context until *flag is set; a report always has a timer armed */
static void
wait_until(gpointer *flag)
{
	gint64 deadline = g_get_monotonic_time() + WAIT_DEADLINE_US;

	while (*flag == NULL) {
		g_assert_cmpint(g_get_monotonic_time(), <, deadline);
		g_main_context_iteration(NULL, TRUE);
	}
}

static guint16
free_udp_port(const gchar *ip)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GInetAddress) addr = g_inet_address_new_from_string(ip);
	g_autoptr(GSocketAddress) sa = g_inet_socket_address_new(addr, 0);
	g_autoptr(GSocket) sock = g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
					       G_SOCKET_PROTOCOL_UDP, &error);
	g_autoptr(GSocketAddress) local = NULL;

	g_assert_no_error(error);
	g_assert_true(g_socket_bind(sock, sa, FALSE, &error));
	local = g_socket_get_local_address(sock, &error);
	g_assert_no_error(error);
	return g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(local));
}

static WrNetcheckReport *
get_report(WrNetcheckClient *client, const WrDerpMap *map, WrNetcheckFlags flags,
	   gint64 *out_elapsed_us)
{
	g_autoptr(GAsyncResult) res = NULL;
	g_autoptr(GError) error = NULL;
	gint64 start = g_get_monotonic_time();
	WrNetcheckReport *report;

	wr_netcheck_client_get_report_async(client, map, flags, NULL, ready_cb, &res);
	wait_until((gpointer *) &res);
	if (out_elapsed_us != NULL)
		*out_elapsed_us = g_get_monotonic_time() - start;
	report = wr_netcheck_client_get_report_finish(client, res, &error);
	g_assert_no_error(error);
	g_assert_nonnull(report);
	return report;
}

static WrDerpMap *
map_from(const gchar *json)
{
	g_autoptr(GError) error = NULL;
	WrDerpMap *map = wr_derp_map_new_from_data(json, strlen(json), &error);

	g_assert_no_error(error);
	return map;
}

static void
assert_endpoint(const WrEndpoint *ep, const gchar *expected)
{
	gchar buf[WR_ENDPOINT_STRLEN];

	wr_endpoint_format(ep, buf);
	g_assert_cmpstr(buf, ==, expected);
}

/* coturn, one instance per "region" */

typedef struct {
	GSubprocess *proc;
	gboolean exited;
	guint16 port;
} Coturn;

typedef struct {
	gchar *tmpdir;
	Coturn servers[2];
	gboolean ok;
} CoturnFixture;

static const gchar *const coturn_ips[] = {"127.0.0.1", "127.0.0.2"};

static void
coturn_child_setup(gpointer user_data)
{
	/* the child dies with us even when an assertion aborts the test before teardown */
	(void) prctl(PR_SET_PDEATHSIG, SIGKILL);
}

static void
coturn_exited_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Coturn *c = user_data;

	(void) g_subprocess_wait_finish(G_SUBPROCESS(source), res, NULL);
	c->exited = TRUE;
}

static gboolean
coturn_start(Coturn *c, const gchar *ip, const gchar *tmpdir, guint n)
{
	g_autoptr(GSubprocessLauncher) launcher = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GInetAddress) addr = g_inet_address_new_from_string(ip);
	g_autoptr(GSocketAddress) server = NULL;
	g_autofree gchar *ip_arg = g_strdup_printf("--listening-ip=%s", ip);
	g_autofree gchar *port_arg = NULL;
	g_autofree gchar *pid_arg = g_strdup_printf("--pidfile=%s/turnserver%u.pid", tmpdir, n);
	/* its user database too, rather than the system's /var/lib/turn */
	g_autofree gchar *db_arg = g_strdup_printf("--userdb=%s/turnserver%u.db", tmpdir, n);
	gint64 deadline = g_get_monotonic_time() + STARTUP_DEADLINE_US;

	c->port = free_udp_port(ip);
	c->exited = FALSE;
	port_arg = g_strdup_printf("--listening-port=%u", c->port);
	/* stdout carries TAP, so coturn's chatter goes nowhere */
	launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
					     G_SUBPROCESS_FLAGS_STDERR_SILENCE);
	g_subprocess_launcher_set_cwd(launcher, tmpdir);
	g_subprocess_launcher_set_child_setup(launcher, coturn_child_setup, NULL, NULL);
	c->proc = g_subprocess_launcher_spawn(
		launcher, &error, TURNSERVER_PATH, ip_arg, port_arg, "--no-tls", "--no-dtls",
		"--stun-only", "--no-cli", "--no-rfc5780", "-c", "/dev/null", "--log-file=stdout",
		"--simple-log", pid_arg, db_arg, NULL);
	g_assert_no_error(error);
	g_subprocess_wait_async(c->proc, NULL, coturn_exited_cb, c);

	server = g_inet_socket_address_new(addr, c->port);
	/*
	 * Ready once it answers.  A lost port race shows up as an early exit, or as a server
	 * that never answers (coturn keeps retrying a bind that failed): past the attempt's
	 * deadline it is killed and the caller tries another port.
	 */
	while (!c->exited) {
		g_autoptr(GAsyncResult) res = NULL;
		g_autoptr(GError) error_query = NULL;

		if (g_get_monotonic_time() >= deadline) {
			g_subprocess_force_exit(c->proc);
			while (!c->exited)
				g_main_context_iteration(NULL, TRUE);
			break;
		}
		wr_stun_client_query_async(NULL, server, 200, NULL, ready_cb, &res);
		wait_until((gpointer *) &res);
		if (wr_stun_client_query_finish(res, NULL, NULL, &error_query))
			return TRUE;
		g_assert_error(error_query, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
	}
	g_clear_object(&c->proc);
	return FALSE;
}

static void
coturn_setup(CoturnFixture *fx, gconstpointer user_data)
{
	g_autoptr(GError) error = NULL;

	if (!g_file_test(TURNSERVER_PATH, G_FILE_TEST_IS_EXECUTABLE))
		return;
	fx->tmpdir = g_dir_make_tmp("warren-netcheck-XXXXXX", &error);
	g_assert_no_error(error);
	for (guint i = 0; i < G_N_ELEMENTS(fx->servers); i++) {
		for (guint attempt = 0; attempt < 4; attempt++) {
			if (coturn_start(&fx->servers[i], coturn_ips[i], fx->tmpdir, i))
				break;
		}
		g_assert_nonnull(fx->servers[i].proc);
	}
	fx->ok = TRUE;
}

static void
coturn_teardown(CoturnFixture *fx, gconstpointer user_data)
{
	for (guint i = 0; i < G_N_ELEMENTS(fx->servers); i++) {
		Coturn *c = &fx->servers[i];
		gint64 deadline = g_get_monotonic_time() + WAIT_DEADLINE_US;

		if (c->proc == NULL)
			continue;
		g_subprocess_force_exit(c->proc);
		while (!c->exited && g_get_monotonic_time() < deadline)
			g_main_context_iteration(NULL, TRUE);
		g_assert_true(c->exited);
		g_clear_object(&c->proc);
	}
	if (fx->tmpdir != NULL) {
		for (guint i = 0; i < G_N_ELEMENTS(fx->servers); i++) {
			static const gchar *const suffixes[] = {"pid", "db"};

			for (gsize j = 0; j < G_N_ELEMENTS(suffixes); j++) {
				g_autofree gchar *name =
					g_strdup_printf("turnserver%u.%s", i, suffixes[j]);
				g_autofree gchar *path = g_build_filename(fx->tmpdir, name, NULL);

				(void) g_remove(path);
			}
		}
		g_assert_cmpint(g_rmdir(fx->tmpdir), ==, 0);
		g_clear_pointer(&fx->tmpdir, g_free);
	}
}

/* regions 901 and 902 on the two servers; with dns, 901's node has no IPv4 literal and is
 * reached through HostName "localhost" */
static WrDerpMap *
coturn_map(const CoturnFixture *fx, gboolean dns)
{
	g_autofree gchar *json = g_strdup_printf(
		"{\"Regions\":{"
		"\"901\":{\"RegionID\":901,\"RegionCode\":\"one\",\"Nodes\":[{\"Name\":\"901a\","
		"\"HostName\":\"%s\",\"IPv4\":\"%s\",\"IPv6\":\"none\","
		"\"STUNPort\":%u,\"STUNOnly\":true}]},"
		"\"902\":{\"RegionID\":902,\"RegionCode\":\"two\",\"Nodes\":[{\"Name\":\"902a\","
		"\"HostName\":\"stun2.test\",\"IPv4\":\"127.0.0.2\",\"IPv6\":\"none\","
		"\"STUNPort\":%u,\"STUNOnly\":true}]}}}",
		dns ? "localhost" : "stun1.test", dns ? "" : "127.0.0.1", fx->servers[0].port,
		fx->servers[1].port);

	return map_from(json);
}

/* the client's own sockets: a full report, then an incremental one that keeps the home */
static void
test_own_sockets(CoturnFixture *fx, gconstpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(WrNetcheckClient) client = NULL;
	g_autoptr(WrDerpMap) map = NULL;
	g_autoptr(WrNetcheckReport) r1 = NULL;
	g_autoptr(WrNetcheckReport) r2 = NULL;
	g_autofree gchar *expected = NULL;
	WrEndpoint local;
	gint64 elapsed = 0;

	if (!fx->ok) {
		g_test_skip(TURNSERVER_PATH " is not installed");
		return;
	}
	map = coturn_map(fx, FALSE);
	client = wr_netcheck_client_new_with_sockets(&error);
	g_assert_no_error(error);
	g_assert_true(wr_netcheck_client_get_local_address(client, AF_INET, &local));
	expected = g_strdup_printf("127.0.0.1:%u", ntohs(local.in4.sin_port));
	g_assert_null(wr_netcheck_client_get_last_report(client));

	r1 = get_report(client, map, WR_NETCHECK_FLAG_NONE, &elapsed);
	g_assert_true(r1->full);
	g_assert_true(r1->udp);
	g_assert_true(r1->ipv4);
	g_assert_false(r1->ipv6);
	g_assert_true(r1->ipv4_can_send);
	/* both servers see our one socket at the same loopback address and port */
	g_assert_cmpint(r1->mapping_varies_by_dest_ip, ==, WR_NETCHECK_FALSE);
	assert_endpoint(&r1->global_v4, expected);
	g_assert_cmpuint(r1->n_mapped_v4, ==, 1);
	g_assert_cmpuint(r1->mapped_v4[0].count, ==, 2);
	g_assert_cmpint(wr_netcheck_report_region_latency(r1, 901), >, 0);
	g_assert_cmpint(wr_netcheck_report_region_latency(r1, 902), >, 0);
	g_assert_cmpint(wr_netcheck_report_region_latency(r1, 901), <, G_USEC_PER_SEC);
	g_assert_cmpint(wr_netcheck_report_get_latency(r1, 902)->v4_latency_us, ==,
			wr_netcheck_report_region_latency(r1, 902));
	g_assert_true(r1->preferred_derp == 901 || r1->preferred_derp == 902);
	/* every probe set answered: no waiting for the 3 s limit */
	g_assert_cmpint(elapsed, <, WR_NETCHECK_STUN_TIMEOUT_US);
	g_assert_nonnull(wr_netcheck_client_get_last_report(client));

	r2 = get_report(client, map, WR_NETCHECK_FLAG_NONE, NULL);
	g_assert_false(r2->full);
	g_assert_true(r2->udp);
	/* loopback latencies differ by far less than 10 ms: the home stays */
	g_assert_cmpuint(r2->preferred_derp, ==, r1->preferred_derp);
	assert_endpoint(&r2->global_v4, expected);
	/* The only datagrams ignored may be late answers to r1's later tries: a try goes out
	 * every 100 ms until its set is answered, and a slow machine (a sanitizer build under
	 * load) can send the second or third before the first answer is read.  They arrive after
	 * r1 finished and are read, unknown, during r2. */
	g_assert_cmpuint(wr_netcheck_client_get_ignored(client), <=,
			 G_N_ELEMENTS(fx->servers) * (WR_NETCHECK_FULL_TRIES - 1));
}

/* the socket owner's model: netcheck sends through the caller's socket and the caller feeds it
 * the STUN datagrams it reads, among them one that answers nothing */

typedef struct {
	GSocket *socket;
	guint sent;
} SharedSocket;

static int
shared_send(const guint8 *pkt, gsize len, const WrEndpoint *to, gpointer user_data)
{
	SharedSocket *s = user_data;
	g_autoptr(GSocketAddress) sa =
		g_socket_address_new_from_native((gpointer) to, wr_endpoint_socklen(to));
	g_autoptr(GError) error = NULL;

	if (g_socket_send_to(s->socket, sa, (const gchar *) pkt, len, NULL, &error) < 0)
		return -EIO;
	s->sent++;
	return 0;
}

typedef struct {
	WrNetcheckClient *client;
	guint fed;
	guint answered;
	gboolean injected;
} Demux;

static gboolean
shared_readable_cb(GSocket *socket, GIOCondition condition, gpointer user_data)
{
	Demux *d = user_data;

	for (;;) {
		guint8 buf[1500];
		g_autoptr(GSocketAddress) from_sa = NULL;
		g_autoptr(GError) error = NULL;
		WrEndpoint from;
		gssize n = g_socket_receive_from(socket, &from_sa, (gchar *) buf, sizeof(buf), NULL,
						 &error);

		if (n < 0)
			break;
		memset(&from, 0, sizeof(from));
		g_assert_true(g_socket_address_to_native(from_sa, &from, sizeof(from), NULL));
		if (!wr_stun_is_stun(buf, (gsize) n))
			continue;
		if (!d->injected) {
			/* a well-formed answer to a transaction nobody sent */
			guint8 fake[WR_STUN_RESPONSE_MAX_LEN];
			guint8 txid[WR_STUN_TXID_LEN];
			int len;

			memset(txid, 0xEE, sizeof(txid));
			len = wr_stun_build_response(fake, sizeof(fake), txid, &from, false);
			g_assert_false(wr_netcheck_client_feed(d->client, fake, (gsize) len, &from,
							       g_get_monotonic_time()));
			d->injected = TRUE;
		}
		d->fed++;
		if (wr_netcheck_client_feed(d->client, buf, (gsize) n, &from,
					    g_get_monotonic_time()))
			d->answered++;
	}
	return G_SOURCE_CONTINUE;
}

static void
test_shared_socket(CoturnFixture *fx, gconstpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GInetAddress) any = g_inet_address_new_any(G_SOCKET_FAMILY_IPV4);
	g_autoptr(GSocketAddress) bind_sa = g_inet_socket_address_new(any, 0);
	g_autoptr(GSocketAddress) local = NULL;
	g_autoptr(WrNetcheckClient) client = NULL;
	g_autoptr(WrDerpMap) map = NULL;
	g_autoptr(WrNetcheckReport) report = NULL;
	g_autoptr(GSource) source = NULL;
	g_autofree gchar *expected = NULL;
	SharedSocket shared = {0};
	Demux demux = {0};

	if (!fx->ok) {
		g_test_skip(TURNSERVER_PATH " is not installed");
		return;
	}
	shared.socket = g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
				     G_SOCKET_PROTOCOL_UDP, &error);
	g_assert_no_error(error);
	g_assert_true(g_socket_bind(shared.socket, bind_sa, FALSE, &error));
	g_socket_set_blocking(shared.socket, FALSE);
	local = g_socket_get_local_address(shared.socket, &error);
	g_assert_no_error(error);
	expected = g_strdup_printf("127.0.0.1:%u",
				   g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(local)));

	client = wr_netcheck_client_new(shared_send, &shared, NULL, true, false);
	demux.client = client;
	source = g_socket_create_source(shared.socket, G_IO_IN, NULL);
	g_source_set_callback(source, G_SOURCE_FUNC(shared_readable_cb), &demux, NULL);
	g_source_attach(source, NULL);

	/* 901 through DNS: localhost */
	map = coturn_map(fx, TRUE);
	report = get_report(client, map, WR_NETCHECK_FLAG_NONE, NULL);
	g_source_destroy(source);

	g_assert_true(report->udp);
	assert_endpoint(&report->global_v4, expected);
	g_assert_cmpint(wr_netcheck_report_region_latency(report, 901), >, 0);
	g_assert_cmpint(wr_netcheck_report_region_latency(report, 902), >, 0);
	g_assert_cmpint(report->mapping_varies_by_dest_ip, ==, WR_NETCHECK_FALSE);
	g_assert_cmpuint(shared.sent, >=, 2);
	g_assert_cmpuint(demux.answered, >=, 2);
	g_assert_true(demux.injected);
	g_assert_cmpuint(wr_netcheck_client_get_ignored(client), ==,
			 1 + demux.fed - demux.answered);
	g_clear_object(&shared.socket);
}

/* the HTTPS fallback against a TLS server with a certificate for TLS_HOST */

typedef struct {
	SoupServer *server;
	guint16 port;
	gchar *pin; /* SHA-256 of the certificate, hex */
	guint requests;
	gchar *last_host;
} TlsServer;

static GTlsCertificate *
make_certificate(gchar **out_pin)
{
	gnutls_x509_privkey_t key;
	gnutls_x509_crt_t crt;
	gnutls_datum_t cert_pem = {0};
	gnutls_datum_t key_pem = {0};
	gnutls_datum_t der = {0};
	guint8 serial[8];
	time_t now = time(NULL);
	g_autofree gchar *pem = NULL;
	g_autoptr(GError) error = NULL;
	GTlsCertificate *cert;

	g_assert_cmpint(gnutls_x509_privkey_init(&key), ==, 0);
	g_assert_cmpint(
		gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
					     GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0),
		==, 0);
	g_assert_cmpint(gnutls_x509_crt_init(&crt), ==, 0);
	g_assert_cmpint(gnutls_x509_crt_set_version(crt, 3), ==, 0);
	for (gsize i = 0; i < sizeof(serial); i++)
		serial[i] = (guint8) g_random_int_range(1, 256);
	serial[0] &= 0x7f;
	g_assert_cmpint(gnutls_x509_crt_set_serial(crt, serial, sizeof(serial)), ==, 0);
	g_assert_cmpint(gnutls_x509_crt_set_activation_time(crt, now - 3600), ==, 0);
	g_assert_cmpint(gnutls_x509_crt_set_expiration_time(crt, now + 86400), ==, 0);
	g_assert_cmpint(gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, TLS_HOST,
						      strlen(TLS_HOST)),
			==, 0);
	g_assert_cmpint(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, TLS_HOST,
							     strlen(TLS_HOST), GNUTLS_FSAN_SET),
			==, 0);
	g_assert_cmpint(gnutls_x509_crt_set_key(crt, key), ==, 0);
	g_assert_cmpint(gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0), ==, 0);
	g_assert_cmpint(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &cert_pem), ==, 0);
	g_assert_cmpint(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der), ==, 0);
	g_assert_cmpint(gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &key_pem), ==, 0);

	pem = g_strdup_printf("%.*s%.*s", (int) cert_pem.size, (const char *) cert_pem.data,
			      (int) key_pem.size, (const char *) key_pem.data);
	cert = g_tls_certificate_new_from_pem(pem, -1, &error);
	g_assert_no_error(error);
	*out_pin = g_compute_checksum_for_data(G_CHECKSUM_SHA256, der.data, der.size);

	gnutls_free(cert_pem.data);
	gnutls_free(key_pem.data);
	gnutls_free(der.data);
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_privkey_deinit(key);
	return cert;
}

static void
latency_check_cb(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
		 gpointer user_data)
{
	TlsServer *ts = user_data;

	ts->requests++;
	g_free(ts->last_host);
	ts->last_host = g_strdup(
		soup_message_headers_get_one(soup_server_message_get_request_headers(msg), "Host"));
	soup_server_message_set_status(msg, SOUP_STATUS_OK, NULL);
}

static void
tls_server_start(TlsServer *ts)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GTlsCertificate) cert = make_certificate(&ts->pin);
	GSList *uris;

	ts->server = soup_server_new("tls-certificate", cert, NULL);
	soup_server_add_handler(ts->server, "/derp/latency-check", latency_check_cb, ts, NULL);
	g_assert_true(soup_server_listen_local(
		ts->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY | SOUP_SERVER_LISTEN_HTTPS, &error));
	g_assert_no_error(error);
	uris = soup_server_get_uris(ts->server);
	g_assert_nonnull(uris);
	ts->port = (guint16) g_uri_get_port(uris->data);
	g_slist_free_full(uris, (GDestroyNotify) g_uri_unref);
}

static void
tls_server_stop(TlsServer *ts)
{
	soup_server_disconnect(ts->server);
	g_clear_object(&ts->server);
	g_clear_pointer(&ts->pin, g_free);
	g_clear_pointer(&ts->last_host, g_free);
}

static int
blocked_send(const guint8 *pkt, gsize len, const WrEndpoint *to, gpointer user_data)
{
	guint *count = user_data;

	(*count)++;
	return -ENETUNREACH;
}

static void
test_https_fallback(void)
{
	TlsServer ts = {0};
	guint sends = 0;
	g_autoptr(WrNetcheckClient) client =
		wr_netcheck_client_new(blocked_send, &sends, NULL, true, false);
	g_autoptr(WrDerpMap) map = NULL;
	g_autoptr(WrNetcheckReport) report = NULL;
	g_autofree gchar *json = NULL;
	g_autofree gchar *expected_host = NULL;
	gint64 elapsed = 0;

	tls_server_start(&ts);
	/* every node's HostName is TLS_HOST, which does not resolve: the checks must use the
	 * literal.  900 skips verification, 901 has an untrusted certificate, 902 pins it, 903
	 * is STUN-only and gets no check */
	json = g_strdup_printf(
		"{\"Regions\":{"
		"\"900\":{\"RegionID\":900,\"Nodes\":[{\"Name\":\"900a\",\"HostName\":\"%s\","
		"\"IPv4\":\"127.0.0.1\",\"IPv6\":\"none\",\"DERPPort\":%u,"
		"\"InsecureForTests\":true}]},"
		"\"901\":{\"RegionID\":901,\"Nodes\":[{\"Name\":\"901a\",\"HostName\":\"%s\","
		"\"IPv4\":\"127.0.0.1\",\"IPv6\":\"none\",\"DERPPort\":%u}]},"
		"\"902\":{\"RegionID\":902,\"Nodes\":[{\"Name\":\"902a\",\"HostName\":\"%s\","
		"\"IPv4\":\"127.0.0.1\",\"IPv6\":\"none\",\"DERPPort\":%u,"
		"\"CertName\":\"sha256-raw:%s\"}]},"
		"\"903\":{\"RegionID\":903,\"Nodes\":[{\"Name\":\"903a\",\"HostName\":\"%s\","
		"\"IPv4\":\"127.0.0.1\",\"IPv6\":\"none\",\"DERPPort\":%u,\"STUNOnly\":true}]}}}",
		TLS_HOST, ts.port, TLS_HOST, ts.port, TLS_HOST, ts.port, ts.pin, TLS_HOST, ts.port);
	map = map_from(json);

	report = get_report(client, map, WR_NETCHECK_FLAG_NONE, &elapsed);
	g_assert_false(report->udp);
	g_assert_false(report->ipv4_can_send);
	/* every try was attempted */
	g_assert_cmpuint(sends, ==, 4 * WR_NETCHECK_FULL_TRIES);
	g_assert_cmpint(wr_netcheck_report_region_latency(report, 900), >, 0);
	g_assert_cmpint(wr_netcheck_report_region_latency(report, 901), ==, 0);
	g_assert_cmpint(wr_netcheck_report_region_latency(report, 902), >, 0);
	g_assert_cmpint(wr_netcheck_report_region_latency(report, 903), ==, 0);
	g_assert_cmpint(wr_netcheck_report_get_latency(report, 900)->v4_latency_us, ==, 0);
	g_assert_true(report->ipv4);
	g_assert_true(report->preferred_derp == 900 || report->preferred_derp == 902);
	/* the failed sends ended the STUN phase early; the checks fit in the 5 s budget */
	g_assert_cmpint(elapsed, <, WR_NETCHECK_STUN_TIMEOUT_US);
	/* two checks reached the handler, with the map's host name */
	g_assert_cmpuint(ts.requests, ==, 2);
	expected_host = g_strdup_printf("%s:%u", TLS_HOST, ts.port);
	g_assert_cmpstr(ts.last_host, ==, expected_host);
	tls_server_stop(&ts);
}

/* cancellation, one report at a time, and the 3 s limit when nothing answers */
static int
void_send(const guint8 *pkt, gsize len, const WrEndpoint *to, gpointer user_data)
{
	return 0;
}

static void
test_cancel_and_pending(void)
{
	g_autoptr(WrNetcheckClient) client =
		wr_netcheck_client_new(void_send, NULL, NULL, true, false);
	g_autoptr(WrDerpMap) map =
		map_from("{\"Regions\":{\"1\":{\"RegionID\":1,\"Nodes\":[{\"Name\":\"1a\","
			 "\"HostName\":\"h\",\"IPv4\":\"192.0.2.1\",\"STUNOnly\":true}]}}}");
	g_autoptr(GCancellable) cancellable = g_cancellable_new();
	g_autoptr(GAsyncResult) res = NULL;
	g_autoptr(GAsyncResult) res2 = NULL;
	g_autoptr(GAsyncResult) res3 = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GError) error2 = NULL;
	g_autoptr(WrNetcheckReport) report = NULL;
	gint64 start;

	wr_netcheck_client_get_report_async(client, map, WR_NETCHECK_FLAG_NONE, cancellable,
					    ready_cb, &res);
	wr_netcheck_client_get_report_async(client, map, WR_NETCHECK_FLAG_NONE, NULL, ready_cb,
					    &res2);
	wait_until((gpointer *) &res2);
	g_assert_null(wr_netcheck_client_get_report_finish(client, res2, &error2));
	g_assert_error(error2, G_IO_ERROR, G_IO_ERROR_PENDING);
	g_assert_null(res);
	g_cancellable_cancel(cancellable);
	wait_until((gpointer *) &res);
	g_assert_null(wr_netcheck_client_get_report_finish(client, res, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
	g_assert_null(wr_netcheck_client_get_last_report(client));

	/* nothing answers and the only node is STUN-only: the report ends after 3 s */
	start = g_get_monotonic_time();
	wr_netcheck_client_get_report_async(client, map, WR_NETCHECK_FLAG_NONE, NULL, ready_cb,
					    &res3);
	wait_until((gpointer *) &res3);
	report = wr_netcheck_client_get_report_finish(client, res3, NULL);
	g_assert_nonnull(report);
	g_assert_cmpint(g_get_monotonic_time() - start, >=, WR_NETCHECK_STUN_TIMEOUT_US);
	g_assert_cmpint(g_get_monotonic_time() - start, <, WR_NETCHECK_REPORT_TIMEOUT_US);
	g_assert_false(report->udp);
	g_assert_true(report->ipv4_can_send);
	g_assert_cmpuint(report->n_latencies, ==, 0);
	g_assert_cmpuint(report->preferred_derp, ==, 0);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_assert_true(wr_crypto_init());

	g_test_add("/warren/netcheck-client/own-sockets", CoturnFixture, NULL, coturn_setup,
		   test_own_sockets, coturn_teardown);
	g_test_add("/warren/netcheck-client/shared-socket", CoturnFixture, NULL, coturn_setup,
		   test_shared_socket, coturn_teardown);
	g_test_add_func("/warren/netcheck-client/https-fallback", test_https_fallback);
	g_test_add_func("/warren/netcheck-client/cancel-and-pending", test_cancel_and_pending);

	return g_test_run();
}
