/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * tests/bench/derp-relay: the throughput, latency and memory of warren-derp on loopback.
 *
 *  1. The ceiling: N pairs of plain loopback TCP connections carry the same frames the relay
 *     would (5-byte header, 32-byte key, payload), sender to receiver, for S seconds.
 *  2. The relay: N pairs of DERP clients, logged in to one warren-derp, blast SendPacket frames
 *     to their partner for S seconds; the receivers count what arrives.
 *     In both phases a probe pair sends one timestamped packet per millisecond alongside; its
 *     one-way delay gives the p50/p99 latency under load, and the relay's minus the ceiling's
 *     the latency the relay adds.  The server's CPU (utime + stime) and memory (VmRSS, VmHWM)
 *     come from /proc.
 *  3. Idle clients: M more clients log in and stay idle; the server's RSS must stay under
 *     200 MB with 10,000 of them (the bar): the bench fails if it does not.
 *
 * The client threads (one sender, one receiver, one probe) share the two cores with the server
 * in both phases, so the ratio compares like with like.  The last line is
 *     relay/loopback ratio: X
 * with X = relay Mbit/s / loopback Mbit/s.  The ratio never fails the bench.
 *
 * Usage: derp-relay [--pairs N] [--seconds S] [--size BYTES] [--idle M]
 * Environment: WARREN_DERP (the binary).  Exits 77 without it.
 */

#define G_LOG_DOMAIN "WrBenchDerpRelay"

#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>

#include "wr-crypto.h"
#include "wr-derp-dial.h"
#include "wr-derp-frame.h"
#include "wr-key.h"

#define RECV_BUF	(256 * 1024)
#define SEND_BATCH	32
#define PROBE_SIZE	64
#define PROBE_EVERY_US	1000
#define MAX_PROBES	200000
#define IDLE_RSS_BAR_MB 200.0
#define DIAL_PARALLEL	256

static gint arg_pairs = 100;
static gint arg_seconds = 10;
static gint arg_size = 1200;
static gint arg_idle = 10000;

typedef struct {
	int fd;
	uint8_t *buf;
	gsize len;
} RxConn;

typedef struct {
	int fd;
	uint8_t *frames; /* SEND_BATCH frames back to back */
	gsize frames_len;
	gsize off; /* how much of the current batch is written */
} TxConn;

typedef struct {
	GPtrArray *tx; /* TxConn* */
	GPtrArray *rx; /* RxConn* */
	int probe_tx;
	int probe_rx;
	uint8_t probe_dst[32];
	gboolean relay; /* frames are SendPacket (relay) or plain (direct) */
	gint stop;
	guint64 rx_packets;
	guint64 rx_bytes;
	gint64 *probe_delays;
	guint n_probes;
} Run;

static gint64
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (gint64) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
set_nonblock(int fd)
{
	int one = 1;

	(void) g_unix_set_fd_nonblocking(fd, TRUE, NULL);
	(void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* ---- the client threads ----------------------------------------------------------------- */

static gpointer
sender_main(gpointer data)
{
	Run *run = data;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event events[64];

	for (guint i = 0; i < run->tx->len; i++) {
		TxConn *t = g_ptr_array_index(run->tx, i);
		struct epoll_event ev = {.events = EPOLLOUT | EPOLLET, .data.ptr = t};

		(void) epoll_ctl(ep, EPOLL_CTL_ADD, t->fd, &ev);
	}
	while (!g_atomic_int_get(&run->stop)) {
		int n = epoll_wait(ep, events, G_N_ELEMENTS(events), 100);

		for (int i = 0; i < n; i++) {
			TxConn *t = events[i].data.ptr;

			/* write until the socket is full (edge-triggered) */
			for (;;) {
				ssize_t w =
					write(t->fd, t->frames + t->off, t->frames_len - t->off);

				if (w < 0)
					break;
				t->off = (t->off + (gsize) w) % t->frames_len;
				if (g_atomic_int_get(&run->stop))
					break;
			}
		}
	}
	close(ep);
	return NULL;
}

/* counts the packets in whole frames at the front of r->buf; keeps the rest */
static void
rx_consume(Run *run, RxConn *r, guint64 *packets, guint64 *bytes)
{
	gsize off = 0;

	for (;;) {
		WrDerpFrame f;
		ssize_t n =
			wr_derp_frame_decode(r->buf + off, r->len - off, DERP_MAX_FRAME_SIZE, &f);

		if (n <= 0)
			break;
		if (f.type == DERP_FRAME_RECV_PACKET && f.len >= WR_KEY_LEN) {
			(*packets)++;
			*bytes += f.len - WR_KEY_LEN;
		}
		off += (gsize) n;
	}
	memmove(r->buf, r->buf + off, r->len - off);
	r->len -= off;
}

static gpointer
receiver_main(gpointer data)
{
	Run *run = data;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event events[64];
	guint64 packets = 0;
	guint64 bytes = 0;

	for (guint i = 0; i < run->rx->len; i++) {
		RxConn *r = g_ptr_array_index(run->rx, i);
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = r};

		(void) epoll_ctl(ep, EPOLL_CTL_ADD, r->fd, &ev);
	}
	while (!g_atomic_int_get(&run->stop)) {
		int n = epoll_wait(ep, events, G_N_ELEMENTS(events), 100);

		for (int i = 0; i < n; i++) {
			RxConn *r = events[i].data.ptr;
			ssize_t got = read(r->fd, r->buf + r->len, RECV_BUF - r->len);

			if (got <= 0)
				continue;
			r->len += (gsize) got;
			rx_consume(run, r, &packets, &bytes);
		}
	}
	__atomic_store_n(&run->rx_packets, packets, __ATOMIC_RELAXED);
	__atomic_store_n(&run->rx_bytes, bytes, __ATOMIC_RELAXED);
	close(ep);
	return NULL;
}

/* one timestamped packet per millisecond, and its arrival, on a pair of its own */
static gpointer
probe_main(gpointer data)
{
	Run *run = data;
	uint8_t frame[DERP_FRAME_HEADER_LEN + WR_KEY_LEN + PROBE_SIZE];
	uint8_t payload[PROBE_SIZE] = {0};
	uint8_t buf[64 * 1024];
	gsize len = 0;
	gint64 next = now_ns();

	while (!g_atomic_int_get(&run->stop) && run->n_probes < MAX_PROBES) {
		gint64 sent = now_ns();
		gboolean got = FALSE;

		memcpy(payload, &sent, sizeof(sent));
		if (run->relay)
			(void) wr_derp_write_send_packet(frame, sizeof(frame), run->probe_dst,
							 payload, sizeof(payload));
		else
			(void) wr_derp_write_recv_packet(frame, sizeof(frame), run->probe_dst,
							 payload, sizeof(payload));
		if (write(run->probe_tx, frame, sizeof(frame)) != (ssize_t) sizeof(frame))
			break;
		while (!got && !g_atomic_int_get(&run->stop)) {
			gsize off = 0;
			ssize_t n;

			n = read(run->probe_rx, buf + len, sizeof(buf) - len);
			if (n <= 0) {
				if (n < 0 && errno == EAGAIN) {
					g_usleep(20);
					continue;
				}
				return NULL;
			}
			len += (gsize) n;
			for (;;) {
				WrDerpFrame f;
				ssize_t r =
					wr_derp_frame_decode(buf + off, len - off, sizeof(buf), &f);
				gint64 stamp;

				if (r <= 0)
					break;
				off += (gsize) r;
				if (f.type != DERP_FRAME_RECV_PACKET || f.len < WR_KEY_LEN + 8)
					continue;
				memcpy(&stamp, f.payload + WR_KEY_LEN, sizeof(stamp));
				if (stamp == sent) {
					run->probe_delays[run->n_probes++] = now_ns() - stamp;
					got = TRUE;
				}
			}
			memmove(buf, buf + off, len - off);
			len -= off;
		}
		next += PROBE_EVERY_US * 1000;
		while (now_ns() < next && !g_atomic_int_get(&run->stop))
			g_usleep(100);
	}
	return NULL;
}

static int
cmp_i64(const void *a, const void *b)
{
	gint64 x = *(const gint64 *) a;
	gint64 y = *(const gint64 *) b;

	return (x > y) - (x < y);
}

typedef struct {
	double mbit_s;
	double packets_s;
	double p50_us;
	double p99_us;
	guint probes;
} Result;

static void
run_phase(Run *run, Result *out)
{
	GThread *threads[3];

	run->probe_delays = g_new0(gint64, MAX_PROBES);
	threads[0] = g_thread_new("tx", sender_main, run);
	threads[1] = g_thread_new("rx", receiver_main, run);
	threads[2] = g_thread_new("probe", probe_main, run);
	g_usleep((gulong) arg_seconds * G_USEC_PER_SEC);
	g_atomic_int_set(&run->stop, 1);
	for (guint i = 0; i < G_N_ELEMENTS(threads); i++)
		g_thread_join(threads[i]);
	out->mbit_s = (double) run->rx_bytes * 8 / 1e6 / arg_seconds;
	out->packets_s = (double) run->rx_packets / arg_seconds;
	out->probes = run->n_probes;
	if (run->n_probes > 0) {
		qsort(run->probe_delays, run->n_probes, sizeof(gint64), cmp_i64);
		out->p50_us = (double) run->probe_delays[run->n_probes / 2] / 1000.0;
		out->p99_us = (double) run->probe_delays[(run->n_probes * 99) / 100] / 1000.0;
	}
	g_free(run->probe_delays);
}

static TxConn *
tx_new(int fd, const uint8_t dst[32], gboolean relay)
{
	TxConn *t = g_new0(TxConn, 1);
	gsize flen = DERP_FRAME_HEADER_LEN + WR_KEY_LEN + (gsize) arg_size;
	g_autofree uint8_t *payload = g_malloc0((gsize) arg_size);

	t->fd = fd;
	t->frames_len = flen * SEND_BATCH;
	t->frames = g_malloc(t->frames_len);
	for (guint i = 0; i < SEND_BATCH; i++) {
		if (relay)
			(void) wr_derp_write_send_packet(t->frames + i * flen, flen, dst, payload,
							 (gsize) arg_size);
		else
			(void) wr_derp_write_recv_packet(t->frames + i * flen, flen, dst, payload,
							 (gsize) arg_size);
	}
	return t;
}

static void
tx_free(TxConn *t)
{
	close(t->fd);
	g_free(t->frames);
	g_free(t);
}

static RxConn *
rx_new(int fd, const uint8_t *pending, gsize pending_len)
{
	RxConn *r = g_new0(RxConn, 1);

	r->fd = fd;
	r->buf = g_malloc(RECV_BUF);
	memcpy(r->buf, pending, pending_len);
	r->len = pending_len;
	return r;
}

static void
rx_free(RxConn *r)
{
	close(r->fd);
	g_free(r->buf);
	g_free(r);
}

static void
run_init(Run *run, gboolean relay)
{
	memset(run, 0, sizeof(*run));
	run->relay = relay;
	run->tx = g_ptr_array_new_with_free_func((GDestroyNotify) tx_free);
	run->rx = g_ptr_array_new_with_free_func((GDestroyNotify) rx_free);
}

static void
run_clear(Run *run)
{
	g_ptr_array_unref(run->tx);
	g_ptr_array_unref(run->rx);
	close(run->probe_tx);
	close(run->probe_rx);
}

/* ---- the ceiling: direct loopback TCP ----------------------------------------------------- */

static void
tcp_pair(int listener, struct sockaddr_in *addr, int *out_a, int *out_b)
{
	int a = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	g_assert(connect(a, (struct sockaddr *) addr, sizeof(*addr)) == 0);
	*out_b = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
	g_assert(*out_b >= 0);
	*out_a = a;
	set_nonblock(*out_a);
	set_nonblock(*out_b);
}

static void
bench_direct(Result *out)
{
	struct sockaddr_in addr = {.sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(addr);
	int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	uint8_t key[32] = {0};
	Run run;

	g_assert(bind(listener, (struct sockaddr *) &addr, sizeof(addr)) == 0);
	g_assert(listen(listener, 1024) == 0);
	g_assert(getsockname(listener, (struct sockaddr *) &addr, &alen) == 0);
	run_init(&run, FALSE);
	for (int i = 0; i < arg_pairs; i++) {
		int a, b;

		tcp_pair(listener, &addr, &a, &b);
		g_ptr_array_add(run.tx, tx_new(a, key, FALSE));
		g_ptr_array_add(run.rx, rx_new(b, NULL, 0));
	}
	tcp_pair(listener, &addr, &run.probe_tx, &run.probe_rx);
	close(listener);
	run_phase(&run, out);
	run_clear(&run);
}

/* ---- the relay -------------------------------------------------------------------------- */

typedef struct {
	GMainContext *context;
	guint outstanding;
	guint done;
	guint failed;
	GPtrArray *conns; /* WrDerpConn*, in completion order (NULL for failures) */
	char *url;
	GPtrArray *keys; /* private keys, 32 bytes each */
	guint next;
	guint total;
} Dialer;

static void
dial_next(Dialer *d);

static void
dial_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
	Dialer *d = user_data;
	g_autoptr(GError) error = NULL;
	WrDerpConn *conn = wr_derp_dial_finish(result, &error);

	d->outstanding--;
	d->done++;
	if (conn == NULL) {
		if (d->failed++ == 0)
			g_printerr("# dial failed: %s\n", error->message);
	}
	g_ptr_array_add(d->conns, conn);
	dial_next(d);
}

static void
dial_next(Dialer *d)
{
	while (d->outstanding < DIAL_PARALLEL && d->next < d->total) {
		WrDerpDialOptions options = {.timeout_ms = 30000};

		wr_derp_dial_async(d->url, g_ptr_array_index(d->keys, d->next), &options, NULL,
				   dial_cb, d);
		d->next++;
		d->outstanding++;
	}
}

/* logs in one client per key, DIAL_PARALLEL at a time; the connections come back in the order
 * their logins completed */
static GPtrArray *
dial_many(const char *url, GPtrArray *keys, guint *out_failed)
{
	Dialer d = {0};

	d.url = (char *) url;
	d.keys = keys;
	d.total = keys->len;
	d.conns = g_ptr_array_new_with_free_func((GDestroyNotify) wr_derp_conn_free);
	dial_next(&d);
	while (d.done < d.total)
		g_main_context_iteration(NULL, TRUE);
	*out_failed = d.failed;
	return d.conns;
}

static GPtrArray *
new_keys(guint n, GPtrArray **out_public)
{
	GPtrArray *priv = g_ptr_array_new_with_free_func(g_free);

	*out_public = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < n; i++) {
		uint8_t *k = g_malloc(32);
		uint8_t *p = g_malloc(32);

		wr_x25519_generate(k, p);
		g_ptr_array_add(priv, k);
		g_ptr_array_add(*out_public, p);
	}
	return priv;
}

/* the socket of a logged-in client, for the client threads */
static int
take_fd(WrDerpConn *conn)
{
	int fd = dup(g_socket_get_fd(conn->socket));

	set_nonblock(fd);
	return fd;
}

static void
bench_relay(const char *url, Result *out)
{
	g_autoptr(GPtrArray) pub = NULL;
	g_autoptr(GPtrArray) priv = new_keys((guint) arg_pairs * 2 + 2, &pub);
	g_autoptr(GPtrArray) conns =
		g_ptr_array_new_with_free_func((GDestroyNotify) wr_derp_conn_free);
	Run run;

	/* one at a time, so that conns[i] is the client of keys[i] */
	for (guint i = 0; i < priv->len; i++) {
		g_autoptr(GPtrArray) one_key = g_ptr_array_new();
		g_autoptr(GPtrArray) one = NULL;

		guint failed = 0;

		g_ptr_array_add(one_key, g_ptr_array_index(priv, i));
		one = dial_many(url, one_key, &failed);
		if (failed > 0) {
			/* the server dies with us (server_child_setup) */
			g_printerr("derp-relay: client %u of the pairs could not log in\n", i);
			exit(1);
		}
		g_ptr_array_add(conns, g_ptr_array_steal_index(one, 0));
	}
	run_init(&run, TRUE);
	for (int i = 0; i < arg_pairs; i++) {
		WrDerpConn *a = g_ptr_array_index(conns, 2 * i);
		WrDerpConn *b = g_ptr_array_index(conns, 2 * i + 1);

		g_ptr_array_add(run.tx,
				tx_new(take_fd(a), g_ptr_array_index(pub, 2 * i + 1), TRUE));
		g_ptr_array_add(run.rx,
				rx_new(take_fd(b), b->pending != NULL ? b->pending->data : NULL,
				       b->pending != NULL ? b->pending->len : 0));
	}
	run.probe_tx = take_fd(g_ptr_array_index(conns, priv->len - 2));
	run.probe_rx = take_fd(g_ptr_array_index(conns, priv->len - 1));
	memcpy(run.probe_dst, g_ptr_array_index(pub, priv->len - 1), 32);
	run_phase(&run, out);
	run_clear(&run);
}

/* ---- the server process -------------------------------------------------------------------- */

typedef struct {
	double rss_mb;
	double hwm_mb;
	double cpu_s;
} ProcInfo;

static void
proc_info(GPid pid, ProcInfo *out)
{
	g_autofree char *status_path = g_strdup_printf("/proc/%d/status", pid);
	g_autofree char *stat_path = g_strdup_printf("/proc/%d/stat", pid);
	g_autofree char *status = NULL;
	g_autofree char *stat = NULL;
	g_auto(GStrv) lines = NULL;

	memset(out, 0, sizeof(*out));
	if (g_file_get_contents(status_path, &status, NULL, NULL)) {
		lines = g_strsplit(status, "\n", -1);
		for (guint i = 0; lines[i] != NULL; i++) {
			if (g_str_has_prefix(lines[i], "VmRSS:"))
				out->rss_mb = g_ascii_strtod(lines[i] + 6, NULL) / 1024.0;
			if (g_str_has_prefix(lines[i], "VmHWM:"))
				out->hwm_mb = g_ascii_strtod(lines[i] + 6, NULL) / 1024.0;
		}
	}
	if (g_file_get_contents(stat_path, &stat, NULL, NULL)) {
		/* fields after the command name, which may hold spaces: utime is the 14th field */
		const char *p = strrchr(stat, ')');
		g_auto(GStrv) fields = p != NULL ? g_strsplit(p + 2, " ", -1) : NULL;

		if (fields != NULL && g_strv_length(fields) > 13)
			out->cpu_s = (double) (g_ascii_strtoull(fields[11], NULL, 10) +
					       g_ascii_strtoull(fields[12], NULL, 10)) /
				     (double) sysconf(_SC_CLK_TCK);
	}
}

static guint16
free_port(void)
{
	struct sockaddr_in addr = {.sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	g_assert(bind(fd, (struct sockaddr *) &addr, sizeof(addr)) == 0);
	g_assert(getsockname(fd, (struct sockaddr *) &addr, &len) == 0);
	close(fd);
	return ntohs(addr.sin_port);
}

static gboolean
wait_ready(const char *base)
{
	g_autoptr(SoupSession) session = soup_session_new();
	g_autofree char *url = g_strdup_printf("%s/derp/probe", base);
	gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

	while (g_get_monotonic_time() < deadline) {
		g_autoptr(SoupMessage) msg = soup_message_new("GET", url);
		g_autoptr(GBytes) body = soup_session_send_and_read(session, msg, NULL, NULL);

		if (body != NULL && soup_message_get_status(msg) == SOUP_STATUS_OK)
			return TRUE;
		g_usleep(50 * 1000);
	}
	return FALSE;
}

static guint64
metric_value(const char *base, const char *name)
{
	g_autoptr(SoupSession) session = soup_session_new();
	g_autofree char *url = g_strdup_printf("%s/metrics", base);
	g_autoptr(SoupMessage) msg = soup_message_new("GET", url);
	g_autoptr(GBytes) body = soup_session_send_and_read(session, msg, NULL, NULL);
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;

	if (body == NULL)
		return 0;
	text = g_strndup(g_bytes_get_data(body, NULL), g_bytes_get_size(body));
	lines = g_strsplit(text, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		if (g_str_has_prefix(lines[i], name) && lines[i][strlen(name)] == ' ')
			return g_ascii_strtoull(lines[i] + strlen(name) + 1, NULL, 10);
	}
	return 0;
}

static void
server_child_setup(gpointer user_data)
{
	(void) prctl(PR_SET_PDEATHSIG, SIGKILL);
}

int
main(int argc, char **argv)
{
	const GOptionEntry entries[] = {
		{"pairs", 0, 0, G_OPTION_ARG_INT, &arg_pairs, "Client pairs (default 100)", "N"},
		{"seconds", 0, 0, G_OPTION_ARG_INT, &arg_seconds, "Seconds per phase (default 10)",
		 "S"},
		{"size", 0, 0, G_OPTION_ARG_INT, &arg_size, "Packet size (default 1200)", "BYTES"},
		{"idle", 0, 0, G_OPTION_ARG_INT, &arg_idle, "Idle clients (default 10000)", "M"},
		{NULL},
	};
	g_autoptr(GOptionContext) octx = g_option_context_new("- warren-derp benchmark");
	g_autoptr(GError) error = NULL;
	const char *derp = g_getenv("WARREN_DERP");
	g_autofree char *tmp = NULL;
	g_autofree char *key_file = NULL;
	g_autofree char *listen = NULL;
	g_autofree char *base = NULL;
	g_autofree char *url = NULL;
	g_autoptr(GSubprocessLauncher) launcher = NULL;
	g_autoptr(GSubprocess) server = NULL;
	Result direct = {0}, relay = {0};
	ProcInfo before, after, idle_info;
	struct rlimit rl;
	guint16 port;
	GPid pid;
	guint64 relayed, dropped;
	double cpu_pct;
	gboolean idle_ok = TRUE;

	g_option_context_add_main_entries(octx, entries, NULL);
	if (!g_option_context_parse(octx, &argc, &argv, &error)) {
		g_printerr("derp-relay: %s\n", error->message);
		return 2;
	}
	if (arg_pairs < 1 || arg_seconds < 1 || arg_size < 16 || arg_size > DERP_MAX_PACKET_SIZE ||
	    arg_idle < 0) {
		g_printerr("derp-relay: --pairs, --seconds >= 1, 16 <= --size <= 65536, --idle >= "
			   "0\n");
		return 2;
	}
	if (derp == NULL || !g_file_test(derp, G_FILE_TEST_IS_EXECUTABLE)) {
		g_print("derp-relay: WARREN_DERP is not set to the warren-derp binary: skipped\n");
		return 77;
	}
	g_assert(wr_crypto_init());
	signal(SIGPIPE, SIG_IGN);
	/* every idle client is a socket, here and in the server */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		(void) setrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur < (rlim_t) arg_idle + 4 * (rlim_t) arg_pairs + 256) {
			arg_idle = (gint) MAX(0, (gint64) rl.rlim_cur - 4 * arg_pairs - 256);
			g_print("# the file limit (%lu) allows only %d idle clients\n",
				(unsigned long) rl.rlim_cur, arg_idle);
		}
	}

	tmp = g_dir_make_tmp("wr-derp-bench-XXXXXX", &error);
	g_assert_no_error(error);
	key_file = g_build_filename(tmp, "derp.key", NULL);
	port = free_port();
	listen = g_strdup_printf("127.0.0.1:%u", port);
	base = g_strdup_printf("http://127.0.0.1:%u", port);
	url = g_strdup_printf("%s/derp", base);
	/* silent, and gone with us however we end: an orphan holding our stdout would keep
	 * meson waiting for the test to finish */
	launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
					     G_SUBPROCESS_FLAGS_STDERR_SILENCE);
	g_subprocess_launcher_set_child_setup(launcher, server_child_setup, NULL, NULL);
	server = g_subprocess_launcher_spawn(launcher, &error, derp, "--key-file", key_file,
					     "--http-listen", listen, "--idle-timeout", "0", NULL);
	g_assert_no_error(error);
	pid = (GPid) g_ascii_strtoll(g_subprocess_get_identifier(server), NULL, 10);
	if (!wait_ready(base)) {
		g_printerr("derp-relay: warren-derp did not come up on %s\n", listen);
		return 1;
	}

	g_print("# %d pairs, %d-byte packets, %d s per phase, 2 client threads + probe\n",
		arg_pairs, arg_size, arg_seconds);
	bench_direct(&direct);
	g_print("# loopback TCP: %.0f Mbit/s, %.0f packets/s, probe p50 %.0f us p99 %.0f us\n",
		direct.mbit_s, direct.packets_s, direct.p50_us, direct.p99_us);

	proc_info(pid, &before);
	bench_relay(url, &relay);
	proc_info(pid, &after);
	cpu_pct = (after.cpu_s - before.cpu_s) * 100.0 / arg_seconds;
	relayed = metric_value(base, "warren_derp_packets_relayed_total");
	dropped = metric_value(base, "warren_derp_packets_dropped_total{reason=\"queue_full\"}");
	g_print("# relay: %.0f Mbit/s, %.0f packets/s, probe p50 %.0f us p99 %.0f us, server CPU "
		"%.0f%%, RSS %.1f MiB (peak %.1f), relayed %" G_GUINT64_FORMAT
		" dropped(queue full) %" G_GUINT64_FORMAT "\n",
		relay.mbit_s, relay.packets_s, relay.p50_us, relay.p99_us, cpu_pct, after.rss_mb,
		after.hwm_mb, relayed, dropped);

	if (arg_idle > 0) {
		g_autoptr(GPtrArray) pub = NULL;
		g_autoptr(GPtrArray) priv = new_keys((guint) arg_idle, &pub);
		g_autoptr(GPtrArray) idle = NULL;
		gint64 t0 = g_get_monotonic_time();
		guint64 clients;
		guint failed = 0;

		idle = dial_many(url, priv, &failed);
		clients = metric_value(base, "warren_derp_clients");
		proc_info(pid, &idle_info);
		g_print("# idle: %d clients logged in in %.1f s; server sees %" G_GUINT64_FORMAT
			", RSS %.1f MiB (peak %.1f)\n",
			arg_idle, (double) (g_get_monotonic_time() - t0) / G_USEC_PER_SEC, clients,
			idle_info.rss_mb, idle_info.hwm_mb);
		if (failed > 0) {
			g_print("# FAIL: %u of %d logins failed\n", failed, arg_idle);
			idle_ok = FALSE;
		}
		if (clients < (guint64) arg_idle ||
		    (arg_idle >= 10000 && idle_info.rss_mb >= IDLE_RSS_BAR_MB)) {
			g_print("# FAIL: %d idle clients must all stay connected with the server "
				"under "
				"%.0f MB\n",
				arg_idle, IDLE_RSS_BAR_MB);
			idle_ok = FALSE;
		}
	}

	g_subprocess_send_signal(server, SIGTERM);
	(void) g_subprocess_wait(server, NULL, NULL);
	(void) g_unlink(key_file);
	(void) g_rmdir(tmp);
	g_print("%-28s %10s %12s %10s %10s\n", "path", "Mbit/s", "packets/s", "p50 us", "p99 us");
	g_print("%-28s %10.0f %12.0f %10.0f %10.0f\n", "loopback TCP (ceiling)", direct.mbit_s,
		direct.packets_s, direct.p50_us, direct.p99_us);
	g_print("%-28s %10.0f %12.0f %10.0f %10.0f\n", "warren-derp relay", relay.mbit_s,
		relay.packets_s, relay.p50_us, relay.p99_us);
	g_print("added latency p99: %.0f us; server CPU %.0f%%, RSS %.1f MiB\n",
		relay.p99_us - direct.p99_us, cpu_pct, after.rss_mb);
	g_print("relay/loopback ratio: %.3f\n",
		direct.mbit_s > 0 ? relay.mbit_s / direct.mbit_s : 0.0);
	return idle_ok ? 0 : 1;
}
