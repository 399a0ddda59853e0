/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * tests/bench/control-scale: warren-control with thousands of simulated nodes (issue 5's bar:
 * 5,000 nodes on this 2-core machine, p99 under 1 s, server RSS under 1 GB).
 *
 *  1. A temporary state directory: a SQLite store with one user and a reusable pre-auth key
 *     (made with wr-store before the server starts), a DERP map, a config; the real
 *     `warren-control serve --config` is started with its output in a log file (printed when
 *     the bench fails) and dies with the bench (PR_SET_PDEATHSIG).
 *  2. N nodes (WARREN_BENCH_NODES, default 5000), each with its own machine, node and disco
 *     keys, register with the pre-auth key over the sealed protocol (a few worker threads, so
 *     concurrency is bounded), and each then opens a map stream as a real client does.  The
 *     streams are read by one epoll thread on non-blocking sockets through the test client's
 *     HTTP reader; frames over 64 KiB (the full maps, ~2 MB each at 5,000 peers) are counted,
 *     not kept; all others are opened (decrypted) and checked.
 *  3. Once every stream has its full map and the deltas of the registrations have stopped
 *     arriving, C nodes in turn (WARREN_BENCH_CHANGES, default 200) report a new endpoint with
 *     a map request without a stream.  For each change: the time from sending it until EVERY
 *     other node's stream has received a frame with a peers_patch for that node carrying the new
 *     endpoint.  p50/p99 of those times are printed.
 *
 * Printed: nodes, time to register all, time until every stream had its full map, server RSS
 * (VmRSS and VmHWM from /proc/<pid>/status) after registration and at the end, p50/p99, and as
 * the last line `nodes: N p99_ms: X rss_mb: Y` (Y = the server's peak RSS, VmHWM).  Whether the
 * bar is met is printed but does not fail the bench; a failed run does (a stream lost, a patch
 * missed, the server gone): a "FAIL:" line and exit status 1.  No other coordination server can
 * run here for comparison: Headscale is not packaged in Debian 12 (docs/control-scale.md).
 *
 * Environment: WARREN_CONTROL (the binary; exit 77 without it), WARREN_BENCH_NODES,
 * WARREN_BENCH_CHANGES, WARREN_BENCH_POLICY (a HuJSON policy file put in the store first),
 * WARREN_BENCH_REGISTER_SECONDS (600: registration's budget),
 * WARREN_BENCH_RSS_ABORT_MB (6144: the run stops when the server passes it; the machine is
 * shared).
 */

#define G_LOG_DOMAIN "WrBenchControlScale"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "wr-control-client.h"
#include "wr-control-http.h"
#include "wr-crypto.h"
#include "wr-store.h"
#include "wr-test-proc.h"

#define DEFAULT_NODES	 5000
#define DEFAULT_CHANGES	 200
#define REGISTER_WORKERS 8
/* frames above this are counted, not kept or opened: the full maps */
#define SKIP_ABOVE (64 * 1024)
#define READ_BUF   (256 * 1024)
/* how long a change may take to reach every peer before the run fails */
#define CHANGE_TIMEOUT_US (30 * G_USEC_PER_SEC)
/* the streams are quiet when no frame came for this long after registration */
#define SETTLE_QUIET_US (2 * G_USEC_PER_SEC)
#define SETTLE_MAX_US	(120 * G_USEC_PER_SEC)
/* registration gives up after WARREN_BENCH_REGISTER_SECONDS (default 600) */
#define DEFAULT_REGISTER_SECONDS 600
/* and when the server's RSS passes WARREN_BENCH_RSS_ABORT_MB (default 6144): the machine is
 * shared, and a server that needs that much has failed the bar four times over */
#define DEFAULT_RSS_ABORT_MB 6144
/* the changes stop early (with a note) past this much time */
#define CHANGES_MAX_US (180 * G_USEC_PER_SEC)
#define CHANGE_GAP_US  (20 * 1000)
/* the largest register-per-minute and register-burst the server takes: every node registers
 * from 127.0.0.1; past the burst, answers of 429 are retried after a second */
#define REGISTER_RATE_MAX  60000
#define REGISTER_BURST_MAX 10000
#define REGISTER_TRIES	   60
/* the bar */
#define BAR_NODES  5000
#define BAR_P99_MS 1000.0
#define BAR_RSS_MB 1024.0

typedef struct {
	guint index;
	WrControlClient *client;
	int fd;
	WrControlHttpReader *reader;
	gboolean got_full;
	gboolean dead;
	gint64 id; /* as the peers_patch frames named it, -1 before its first change */
} Node;

/* the change whose patch the streams are waiting for */
typedef struct {
	guint changer;	   /* node index */
	char *needle;	   /* "\"198.18.x.y:port\"" as it appears in the JSON */
	char *addr;	   /* the endpoint itself */
	guint8 *seen;	   /* per node */
	guint received;	   /* peers that have it */
	gint64 t0;	   /* monotonic µs, just before the request */
	gint64 last;	   /* when the last peer got it */
	gint64 patch_id;   /* the id the patches carried (-1 before the first) */
	guint id_mismatch; /* patches for the endpoint with another id */
	guint wrong_kind;  /* frames that named the endpoint outside peers_patch */
} Change;

typedef struct {
	guint n_nodes;
	Node *nodes;
	int epfd;
	guint16 port;
	GPid server_pid;

	/* written by the reader thread */
	gint streams_ready;  /* atomic: streams with their full map */
	gint streams_lost;   /* atomic */
	gint64 last_frame;   /* atomic: monotonic µs */
	guint64 full_bytes;  /* reader thread only, read after it stops */
	guint64 full_frames; /* likewise */
	guint64 delta_frames;
	guint64 delta_bytes;
	guint64 skipped_later; /* frames after the first over SKIP_ABOVE */
	gint stop;	       /* atomic */

	GMutex lock; /* guards change and first_error */
	Change *change;
	char *first_error;

	/* registration */
	gint next_node;	     /* atomic */
	gint stop_register;  /* atomic: workers take no more nodes */
	gint attempted;	     /* atomic: nodes a worker is done with, either way */
	gint registered;     /* atomic */
	gint register_fails; /* atomic */
	GArray *register_ms; /* under lock: each register call's round trip */
	const char *auth_key;
	uint8_t server_key[WR_CRYPTO_KEY_LEN];
} Bench;

static void
note_error(Bench *b, const char *format, ...) G_GNUC_PRINTF(2, 3);

static void
note_error(Bench *b, const char *format, ...)
{
	va_list args;
	g_autofree char *msg = NULL;

	va_start(args, format);
	msg = g_strdup_vprintf(format, args);
	va_end(args);
	g_mutex_lock(&b->lock);
	if (b->first_error == NULL)
		b->first_error = g_steal_pointer(&msg);
	g_mutex_unlock(&b->lock);
}

static int
cmp_double(gconstpointer a, gconstpointer b);
static double
percentile(GArray *sorted, double p);

/* the server process */

typedef struct {
	double rss_mb;
	double hwm_mb;
	double cpu_s; /* utime + stime */
	gboolean alive;
} ProcInfo;

static void
proc_info(GPid pid, ProcInfo *out)
{
	g_autofree char *path = g_strdup_printf("/proc/%d/status", pid);
	g_autofree char *stat_path = g_strdup_printf("/proc/%d/stat", pid);
	g_autofree char *status = NULL;
	g_autofree char *stat = NULL;
	g_auto(GStrv) lines = NULL;

	memset(out, 0, sizeof(*out));
	if (!g_file_get_contents(path, &status, NULL, NULL))
		return;
	if (g_file_get_contents(stat_path, &stat, NULL, NULL)) {
		/* the fields after the command name, which may hold spaces: utime is the 14th */
		const char *p = strrchr(stat, ')');
		g_auto(GStrv) fields = p != NULL ? g_strsplit(p + 2, " ", -1) : NULL;

		if (fields != NULL && g_strv_length(fields) > 13)
			out->cpu_s = (double) (g_ascii_strtoull(fields[11], NULL, 10) +
					       g_ascii_strtoull(fields[12], NULL, 10)) /
				     (double) sysconf(_SC_CLK_TCK);
	}
	lines = g_strsplit(status, "\n", -1);
	out->alive = TRUE;
	for (guint i = 0; lines[i] != NULL; i++) {
		if (g_str_has_prefix(lines[i], "VmRSS:"))
			out->rss_mb = g_ascii_strtod(lines[i] + 6, NULL) / 1024.0;
		else if (g_str_has_prefix(lines[i], "VmHWM:"))
			out->hwm_mb = g_ascii_strtod(lines[i] + 6, NULL) / 1024.0;
		else if (g_str_has_prefix(lines[i], "State:") && strchr(lines[i], 'Z') != NULL)
			out->alive = FALSE;
	}
}

/* this process's CPU time, all threads */
static double
self_cpu_s(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0.0;
	return (double) ru.ru_utime.tv_sec + (double) ru.ru_utime.tv_usec / 1e6 +
	       (double) ru.ru_stime.tv_sec + (double) ru.ru_stime.tv_usec / 1e6;
}

static gboolean
server_alive(Bench *b)
{
	ProcInfo info;

	proc_info(b->server_pid, &info);
	return info.alive;
}

static void
server_child_setup(gpointer user_data)
{
	(void) prctl(PR_SET_PDEATHSIG, SIGKILL);
}

/* a derp map with one region (derp-disco-stun.md §6) */
static const char derp_map_json[] =
	"{\"Regions\":{\"900\":{\"RegionID\":900,\"RegionCode\":\"bench\",\"RegionName\":"
	"\"Bench\",\"Nodes\":[{\"Name\":\"900a\",\"RegionID\":900,\"HostName\":\"derp.example."
	"net\",\"IPv4\":\"203.0.113.1\",\"DERPPort\":443,\"STUNPort\":3478}]}}}";

/*
 * the store with one user and a reusable pre-auth key, made before the server starts; the key
 * text in *out_key
 */
static gboolean
make_store(const char *db_path, char **out_key, GError **error)
{
	g_autofree char *url = g_strdup_printf("sqlite://%s", db_path);
	g_autoptr(WrStore) store = wr_store_open(url, error);
	g_autoptr(WrStoreUser) user = NULL;
	g_autoptr(WrStoreAuthKey) key = NULL;
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;

	if (store == NULL)
		return FALSE;
	user = wr_store_user_upsert(store, "https://bench.invalid", "bench", "bench@example.com",
				    "Bench", "", now, error);
	if (user == NULL)
		return FALSE;
	key = wr_store_authkey_create(store, user->id, TRUE, FALSE, NULL, 0, now, out_key, error);
	if (key == NULL)
		return FALSE;
	/* WARREN_BENCH_POLICY=FILE: the same run under an ACL policy (a HuJSON file), to measure
	 * what a policy costs (every topology change recompiles it: docs/control-server.md) */
	if (g_getenv("WARREN_BENCH_POLICY") != NULL) {
		g_autofree char *text = NULL;
		g_autoptr(WrStorePolicy) policy = NULL;

		if (!g_file_get_contents(g_getenv("WARREN_BENCH_POLICY"), &text, NULL, error))
			return FALSE;
		policy = wr_store_policy_set(store, text, "bench", now, error);
		if (policy == NULL)
			return FALSE;
	}
	return TRUE;
}

static char *
make_config(const char *dir, guint16 port, guint n_nodes)
{
	return g_strdup_printf("[server]\n"
			       "listen = 127.0.0.1:%u\n"
			       "server-url = http://127.0.0.1:%u\n"
			       "state-dir = %s\n"
			       "admin-socket = %s/admin.sock\n"
			       "[database]\n"
			       "url = sqlite://%s/control.sqlite\n"
			       "[network]\n"
			       "dns-domain = tailnet.test\n"
			       "derp-map = %s/derp-map.json\n"
			       "[limits]\n"
			       "register-per-minute = %u\n"
			       "register-burst = %u\n"
			       "max-streams = %u\n",
			       port, port, dir, dir, dir, dir, REGISTER_RATE_MAX,
			       REGISTER_BURST_MAX, 2 * n_nodes + 1000);
}

static void
print_log(const char *log_path)
{
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;
	guint n;

	if (!g_file_get_contents(log_path, &text, NULL, NULL)) {
		g_print("# (no server log at %s)\n", log_path);
		return;
	}
	lines = g_strsplit(text, "\n", -1);
	n = g_strv_length(lines);
	g_print("# the server's log (%s), last 80 lines:\n", log_path);
	for (guint i = n > 80 ? n - 80 : 0; i < n; i++)
		g_print("#   %s\n", lines[i]);
}

/* the stream reader */

/* a decrypted delta: does it carry the change's endpoint in a peers_patch? */
static void
check_change(Bench *b, Node *node, const char *plain, gsize len)
{
	Change *ch;
	g_autoptr(JsonParser) parser = NULL;
	JsonNode *root;
	JsonArray *patches = NULL;
	gboolean found = FALSE;

	g_mutex_lock(&b->lock);
	ch = b->change;
	if (ch == NULL || node->index == ch->changer || ch->seen[node->index] ||
	    memmem(plain, len, ch->needle, strlen(ch->needle)) == NULL) {
		g_mutex_unlock(&b->lock);
		return;
	}
	parser = json_parser_new_immutable();
	root = json_parser_load_from_data(parser, plain, (gssize) len, NULL)
		       ? json_parser_get_root(parser)
		       : NULL;
	if (root != NULL && JSON_NODE_HOLDS_OBJECT(root)) {
		JsonNode *p = json_object_get_member(json_node_get_object(root), "peers_patch");

		if (p != NULL && JSON_NODE_HOLDS_ARRAY(p))
			patches = json_node_get_array(p);
	}
	for (guint i = 0; patches != NULL && i < json_array_get_length(patches) && !found; i++) {
		JsonNode *e = json_array_get_element(patches, i);
		JsonObject *patch = JSON_NODE_HOLDS_OBJECT(e) ? json_node_get_object(e) : NULL;
		JsonNode *eps = patch != NULL ? json_object_get_member(patch, "endpoints") : NULL;
		JsonNode *id = patch != NULL ? json_object_get_member(patch, "id") : NULL;
		JsonArray *arr =
			eps != NULL && JSON_NODE_HOLDS_ARRAY(eps) ? json_node_get_array(eps) : NULL;

		for (guint k = 0; arr != NULL && k < json_array_get_length(arr); k++) {
			JsonNode *a = json_array_get_element(arr, k);

			if (JSON_NODE_HOLDS_VALUE(a) &&
			    json_node_get_value_type(a) == G_TYPE_STRING &&
			    g_strcmp0(json_node_get_string(a), ch->addr) == 0)
				found = TRUE;
		}
		if (found) {
			gint64 v = id != NULL && JSON_NODE_HOLDS_VALUE(id) &&
						   json_node_get_value_type(id) == G_TYPE_INT64
					   ? json_node_get_int(id)
					   : -2;

			if (ch->patch_id == -1)
				ch->patch_id = v;
			else if (ch->patch_id != v)
				ch->id_mismatch++;
		}
	}
	if (found) {
		ch->seen[node->index] = TRUE;
		ch->received++;
		ch->last = g_get_monotonic_time();
	} else {
		ch->wrong_kind++;
	}
	g_mutex_unlock(&b->lock);
}

static void
stream_lost(Bench *b, Node *node, const char *why)
{
	if (node->dead)
		return;
	node->dead = TRUE;
	g_atomic_int_inc(&b->streams_lost);
	note_error(b, "node %u's map stream: %s", node->index, why);
	(void) epoll_ctl(b->epfd, EPOLL_CTL_DEL, node->fd, NULL);
}

static void
handle_frames(Bench *b, Node *node)
{
	GBytes *payload = NULL;
	gsize len = 0;

	while (wr_control_http_reader_pop_frame(node->reader, &payload, &len)) {
		g_autoptr(GBytes) owned = payload;
		g_autoptr(GError) error = NULL;
		guint8 *plain = NULL;
		gsize plain_len = 0;

		__atomic_store_n(&b->last_frame, g_get_monotonic_time(), __ATOMIC_RELAXED);
		if (!node->got_full) {
			node->got_full = TRUE;
			b->full_frames++;
			b->full_bytes += len;
			g_atomic_int_inc(&b->streams_ready);
		} else if (owned == NULL) {
			b->skipped_later++;
			continue;
		} else {
			b->delta_frames++;
			b->delta_bytes += len;
		}
		if (owned == NULL)
			continue;
		plain = wr_control_client_open_plain(node->client, g_bytes_get_data(owned, NULL),
						     g_bytes_get_size(owned), &plain_len, &error);
		if (plain == NULL) {
			stream_lost(b, node, error->message);
			return;
		}
		check_change(b, node, (const char *) plain, plain_len);
		g_free(plain);
	}
}

static void
read_stream(Bench *b, Node *node, guint8 *buf)
{
	g_autoptr(GError) error = NULL;
	ssize_t n = read(node->fd, buf, READ_BUF);

	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		stream_lost(b, node, g_strerror(errno));
		return;
	}
	if (n == 0) {
		if (wr_control_http_reader_eof(node->reader, &error))
			handle_frames(b, node);
		stream_lost(b, node,
			    error != NULL ? error->message : "the server ended the stream");
		return;
	}
	if (!wr_control_http_reader_feed(node->reader, buf, (gsize) n, &error)) {
		stream_lost(b, node, error->message);
		return;
	}
	if (wr_control_http_reader_head_done(node->reader) &&
	    wr_control_http_reader_status(node->reader) != 200) {
		g_autoptr(GBytes) body = NULL;
		g_autofree char *why = NULL;

		if (!wr_control_http_reader_body_done(node->reader))
			return;
		body = wr_control_http_reader_body(node->reader);
		why = g_strdup_printf("HTTP %u: %.*s", wr_control_http_reader_status(node->reader),
				      (int) MIN(200, g_bytes_get_size(body)),
				      (const char *) g_bytes_get_data(body, NULL));
		stream_lost(b, node, why);
		return;
	}
	handle_frames(b, node);
}

static gpointer
reader_main(gpointer data)
{
	Bench *b = data;
	g_autofree guint8 *buf = g_malloc(READ_BUF);
	struct epoll_event events[64];

	while (!g_atomic_int_get(&b->stop)) {
		int n = epoll_wait(b->epfd, events, G_N_ELEMENTS(events), 100);

		for (int i = 0; i < n; i++) {
			Node *node = events[i].data.ptr;

			if (!node->dead)
				read_stream(b, node, buf);
		}
	}
	return NULL;
}

/* registration */

static int
connect_loopback(guint16 port)
{
	struct sockaddr_in addr = {.sin_family = AF_INET,
				   .sin_port = htons(port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *) &addr, sizeof(addr)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static gboolean
write_all_fd(int fd, const void *data, gsize len)
{
	const guint8 *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return FALSE;
		p += n;
		len -= (gsize) n;
	}
	return TRUE;
}

/* the first endpoint of node i (the changes use 198.18.0.0/15 addresses, these 192.0.2.x) */
static char *
initial_endpoint(guint i)
{
	return g_strdup_printf("192.0.2.%u:%u", 1 + i % 250, 10000 + i);
}

/* opens node's map stream and hands it to the reader thread */
static gboolean
open_stream(Bench *b, Node *node, GError **error)
{
	g_autofree char *ep = initial_endpoint(node->index);
	const char *endpoints[] = {ep, NULL};
	g_autofree char *host = g_strdup_printf("bench-%05u", node->index);
	g_autoptr(JsonObject) req =
		wr_control_client_map_request(node->client, endpoints, TRUE, host);
	g_autoptr(GBytes) sealed = wr_control_client_seal(node->client, req, error);
	g_autofree char *path = wr_control_client_machine_path(node->client, "map");
	g_autofree char *head = NULL;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = node};
	int one = 1;

	if (sealed == NULL)
		return FALSE;
	node->fd = connect_loopback(b->port);
	if (node->fd < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
			    "connecting the map stream: %s", g_strerror(errno));
		return FALSE;
	}
	(void) setsockopt(node->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	head = g_strdup_printf("POST %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nContent-Type: "
			       "application/octet-stream\r\nContent-Length: %" G_GSIZE_FORMAT
			       "\r\nConnection: close\r\n\r\n",
			       path, b->port, g_bytes_get_size(sealed));
	if (!write_all_fd(node->fd, head, strlen(head)) ||
	    !write_all_fd(node->fd, g_bytes_get_data(sealed, NULL), g_bytes_get_size(sealed))) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
			    "sending the map request: %s", g_strerror(errno));
		return FALSE;
	}
	(void) fcntl(node->fd, F_SETFL, fcntl(node->fd, F_GETFL) | O_NONBLOCK);
	node->reader = wr_control_http_reader_new(WR_CONTROL_HTTP_BODY_FRAMES,
						  WR_CONTROL_CLIENT_MAX_BODY, SKIP_ABOVE);
	if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, node->fd, &ev) != 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "epoll: %s",
			    g_strerror(errno));
		return FALSE;
	}
	return TRUE;
}

static gboolean
register_node(Bench *b, Node *node, GError **error)
{
	g_autofree char *host = g_strdup_printf("bench-%05u", node->index);
	g_autoptr(JsonObject) req = NULL;
	g_autoptr(JsonObject) answer = NULL;
	const char *err;

	wr_control_client_set_server_key(node->client, b->server_key);
	wr_control_client_set_timeout(node->client, 60000);
	req = wr_control_client_register_request(node->client, b->auth_key, host);
	for (guint tries = 1;; tries++) {
		g_autoptr(GError) local = NULL;
		gint64 t0 = g_get_monotonic_time();

		answer = wr_control_client_call(node->client, "register", req, &local);
		if (answer != NULL) {
			double ms = (double) (g_get_monotonic_time() - t0) / 1000.0;

			g_mutex_lock(&b->lock);
			g_array_append_val(b->register_ms, ms);
			g_mutex_unlock(&b->lock);
			break;
		}
		if (!g_error_matches(local, WR_CONTROL_CLIENT_HTTP_ERROR, 429) ||
		    tries >= REGISTER_TRIES) {
			g_propagate_error(error, g_steal_pointer(&local));
			return FALSE;
		}
		g_usleep(G_USEC_PER_SEC);
	}
	if (!json_object_get_boolean_member_with_default(answer, "machine_authorized", FALSE)) {
		err = json_object_get_string_member_with_default(answer, "error", "");
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
			    "not authorized: \"%s\"", err);
		return FALSE;
	}
	g_atomic_int_inc(&b->registered);
	return open_stream(b, node, error);
}

static gpointer
register_main(gpointer data)
{
	Bench *b = data;

	for (;;) {
		gint i = g_atomic_int_add(&b->next_node, 1);
		g_autoptr(GError) error = NULL;

		if (i >= (gint) b->n_nodes || g_atomic_int_get(&b->stop_register))
			break;
		if (!register_node(b, &b->nodes[i], &error)) {
			g_atomic_int_inc(&b->register_fails);
			note_error(b, "node %d: %s", i, error->message);
		}
		g_atomic_int_inc(&b->attempted);
	}
	return NULL;
}

/* the changes */

static int
cmp_double(gconstpointer a, gconstpointer b)
{
	double x = *(const double *) a;
	double y = *(const double *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

static double
percentile(GArray *sorted, double p)
{
	guint idx;

	if (sorted->len == 0)
		return 0.0;
	idx = (guint) MIN((double) sorted->len - 1, p * ((double) sorted->len - 1) + 0.5);
	return g_array_index(sorted, double, idx);
}

/*
 * one change: node `changer` reports a new endpoint; waits until every other live stream has
 * the patch.  Returns the latency in ms, or < 0 when it timed out (with a note).
 */
static double
run_change(Bench *b, guint j, guint changer, gint64 *out_node_id)
{
	Change ch = {0};
	g_autofree char *host = g_strdup_printf("bench-%05u", changer);
	const char *endpoints[2] = {NULL, NULL};
	g_autoptr(JsonObject) req = NULL;
	g_autoptr(JsonObject) answer = NULL;
	g_autoptr(GError) error = NULL;
	guint need = b->n_nodes - 1;
	double ms = -1.0;
	gint64 deadline;

	ch.changer = changer;
	ch.addr = g_strdup_printf("198.18.%u.%u:%u", (j / 250) % 250, 1 + j % 250, 20000 + j);
	ch.needle = g_strdup_printf("\"%s\"", ch.addr);
	ch.seen = g_new0(guint8, b->n_nodes);
	ch.patch_id = -1;
	endpoints[0] = ch.addr;
	req = wr_control_client_map_request(b->nodes[changer].client, endpoints, FALSE, host);
	json_object_set_boolean_member(req, "omit_peers", TRUE);

	g_mutex_lock(&b->lock);
	b->change = &ch;
	ch.t0 = g_get_monotonic_time();
	g_mutex_unlock(&b->lock);
	answer = wr_control_client_call(b->nodes[changer].client, "map", req, &error);
	*out_node_id = -1;
	if (answer == NULL) {
		note_error(b, "change %u (node %u): map request: %s", j, changer, error->message);
	} else {
		JsonNode *self = json_object_get_member(answer, "node");

		if (self != NULL && JSON_NODE_HOLDS_OBJECT(self))
			*out_node_id = json_object_get_int_member_with_default(
				json_node_get_object(self), "id", -1);
	}
	deadline = ch.t0 + CHANGE_TIMEOUT_US;
	while (answer != NULL) {
		guint received;
		guint lost = (guint) g_atomic_int_get(&b->streams_lost);

		g_mutex_lock(&b->lock);
		received = ch.received;
		g_mutex_unlock(&b->lock);
		if (received + lost >= need) {
			if (lost == 0)
				ms = (double) (ch.last - ch.t0) / 1000.0;
			break;
		}
		if (g_get_monotonic_time() > deadline || !server_alive(b)) {
			note_error(b,
				   "change %u (node %u, %s): only %u of %u peer streams got the "
				   "patch within %d s (%u frames named it outside peers_patch)",
				   j, changer, ch.addr, received, need,
				   (int) (CHANGE_TIMEOUT_US / G_USEC_PER_SEC), ch.wrong_kind);
			break;
		}
		g_usleep(1000);
	}
	g_mutex_lock(&b->lock);
	b->change = NULL;
	g_mutex_unlock(&b->lock);
	/* every peer must have been told the same integer id, the node's own when it said */
	if (ms >= 0 && (ch.patch_id < 0 || ch.id_mismatch > 0 ||
			(*out_node_id >= 0 && ch.patch_id != *out_node_id))) {
		note_error(b,
			   "change %u: the patches named node id %" G_GINT64_FORMAT
			   " (%u named another), the node is %" G_GINT64_FORMAT,
			   j, ch.patch_id, ch.id_mismatch, *out_node_id);
		ms = -1.0;
	}
	if (ms >= 0)
		*out_node_id = ch.patch_id;
	g_free(ch.addr);
	g_free(ch.needle);
	g_free(ch.seen);
	return ms;
}

static guint
env_uint(const char *name, guint def)
{
	const char *v = g_getenv(name);
	guint64 n;

	if (v == NULL || *v == '\0')
		return def;
	if (!g_ascii_string_to_unsigned(v, 10, 1, 1000000, &n, NULL)) {
		g_printerr("control-scale: %s=%s is not a number from 1 to 1000000\n", name, v);
		exit(2);
	}
	return (guint) n;
}

int
main(int argc, char **argv)
{
	const char *control = g_getenv("WARREN_CONTROL");
	Bench bench = {0};
	Bench *b = &bench;
	g_autoptr(GError) error = NULL;
	g_autofree char *tmp = NULL;
	g_autofree char *db = NULL;
	g_autofree char *conf_path = NULL;
	g_autofree char *conf = NULL;
	g_autofree char *map_path = NULL;
	g_autofree char *log_path = NULL;
	g_autofree char *url = NULL;
	g_autofree char *auth_key = NULL;
	g_autoptr(GSubprocessLauncher) launcher = NULL;
	g_autoptr(GSubprocess) server = NULL;
	g_autoptr(WrControlClient) probe = NULL;
	g_autoptr(GArray) latencies = g_array_new(FALSE, FALSE, sizeof(double));
	GThread *reader = NULL;
	GThread *workers[REGISTER_WORKERS];
	ProcInfo after_reg = {0};
	ProcInfo at_end = {0};
	struct rlimit rl;
	guint n_changes;
	guint register_seconds;
	guint rss_abort_mb;
	gint64 t_start;
	gint64 t_registered = 0;
	gint64 t_streams = 0;
	gint64 deadline;
	double p50 = 0, p99 = 0, pmax = 0;
	gboolean failed = FALSE;
	gboolean bar_met;
	guint changes_done = 0;

	if (control == NULL || !g_file_test(control, G_FILE_TEST_IS_EXECUTABLE)) {
		g_print("control-scale: WARREN_CONTROL is not set to the warren-control binary: "
			"skipped\n");
		return 77;
	}
	g_assert(wr_crypto_init());
	signal(SIGPIPE, SIG_IGN);
	b->n_nodes = env_uint("WARREN_BENCH_NODES", DEFAULT_NODES);
	register_seconds = env_uint("WARREN_BENCH_REGISTER_SECONDS", DEFAULT_REGISTER_SECONDS);
	rss_abort_mb = env_uint("WARREN_BENCH_RSS_ABORT_MB", DEFAULT_RSS_ABORT_MB);
	n_changes = env_uint("WARREN_BENCH_CHANGES", DEFAULT_CHANGES);
	if (b->n_nodes < 2) {
		g_printerr("control-scale: WARREN_BENCH_NODES must be at least 2\n");
		return 2;
	}
	/* a socket per stream here, and one per stream in the server, which inherits the limit */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		(void) setrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur < (rlim_t) b->n_nodes + 256) {
			g_print("FAIL: the file limit (%lu) is too low for %u streams\n",
				(unsigned long) rl.rlim_cur, b->n_nodes);
			return 1;
		}
	}
	g_mutex_init(&b->lock);
	b->register_ms = g_array_new(FALSE, FALSE, sizeof(double));

	tmp = g_dir_make_tmp("wr-control-bench-XXXXXX", &error);
	g_assert_no_error(error);
	db = g_build_filename(tmp, "control.sqlite", NULL);
	conf_path = g_build_filename(tmp, "control.conf", NULL);
	map_path = g_build_filename(tmp, "derp-map.json", NULL);
	log_path = g_build_filename(tmp, "warren-control.log", NULL);
	if (!make_store(db, &auth_key, &error)) {
		g_print("FAIL: making the store: %s\n", error->message);
		wr_test_rm_rf(tmp);
		return 1;
	}
	b->auth_key = auth_key;
	b->port = wr_test_free_port(SOCK_STREAM);
	conf = make_config(tmp, b->port, b->n_nodes);
	g_assert(g_file_set_contents(conf_path, conf, -1, NULL));
	g_assert(g_file_set_contents(map_path, derp_map_json, -1, NULL));
	url = g_strdup_printf("http://127.0.0.1:%u", b->port);

	launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDERR_MERGE);
	g_subprocess_launcher_set_stdout_file_path(launcher, log_path);
	g_subprocess_launcher_set_child_setup(launcher, server_child_setup, NULL, NULL);
	/* meson sets it for tests; it makes every allocation of the server write its bytes */
	g_subprocess_launcher_unsetenv(launcher, "MALLOC_PERTURB_");
	server = g_subprocess_launcher_spawn(launcher, &error, control, "serve", "--config",
					     conf_path, NULL);
	if (server == NULL) {
		g_print("FAIL: starting %s: %s\n", control, error->message);
		wr_test_rm_rf(tmp);
		return 1;
	}
	b->server_pid = (GPid) g_ascii_strtoll(g_subprocess_get_identifier(server), NULL, 10);

	/* up when GET /key answers */
	probe = wr_control_client_new(url, &error);
	g_assert_no_error(error);
	wr_control_client_set_timeout(probe, 2000);
	deadline = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
	while (!wr_control_client_fetch_key(probe, &error)) {
		if (g_get_monotonic_time() > deadline || !server_alive(b)) {
			g_print("FAIL: warren-control did not answer GET /key on %s: %s\n", url,
				error->message);
			print_log(log_path);
			g_subprocess_force_exit(server);
			(void) g_subprocess_wait(server, NULL, NULL);
			wr_test_rm_rf(tmp);
			return 1;
		}
		g_clear_error(&error);
		g_usleep(50 * 1000);
	}
	memcpy(b->server_key, wr_control_client_server_key(probe), WR_CRYPTO_KEY_LEN);
	g_print("# control-scale: %u nodes, %u endpoint changes, %s on %s\n", b->n_nodes, n_changes,
		control, url);

	/* register and stream */
	b->epfd = epoll_create1(EPOLL_CLOEXEC);
	g_assert(b->epfd >= 0);
	b->nodes = g_new0(Node, b->n_nodes);
	for (guint i = 0; i < b->n_nodes; i++) {
		b->nodes[i].index = i;
		b->nodes[i].fd = -1;
		b->nodes[i].id = -1;
		b->nodes[i].client = wr_control_client_new(url, NULL);
	}
	reader = g_thread_new("streams", reader_main, b);
	t_start = g_get_monotonic_time();
	for (guint i = 0; i < REGISTER_WORKERS; i++)
		workers[i] = g_thread_new("register", register_main, b);
	/* watch the server while they work */
	deadline = t_start + (gint64) register_seconds * G_USEC_PER_SEC;
	while ((guint) g_atomic_int_get(&b->attempted) < b->n_nodes && !failed) {
		ProcInfo now_info;

		g_usleep(100 * 1000);
		proc_info(b->server_pid, &now_info);
		if (!now_info.alive) {
			g_print("FAIL: the server died during registration\n");
			failed = TRUE;
		} else if (now_info.rss_mb > (double) rss_abort_mb) {
			g_print("FAIL: the server's RSS passed %u MB with %d nodes registered\n",
				rss_abort_mb, g_atomic_int_get(&b->registered));
			failed = TRUE;
		} else if (g_get_monotonic_time() > deadline) {
			g_print("FAIL: registration did not finish within %u s: %d of %u nodes "
				"registered (server RSS %.1f MB)\n",
				register_seconds, g_atomic_int_get(&b->registered), b->n_nodes,
				now_info.rss_mb);
			failed = TRUE;
		}
	}
	g_atomic_int_set(&b->stop_register, TRUE);
	for (guint i = 0; i < REGISTER_WORKERS; i++)
		g_thread_join(workers[i]);
	t_registered = g_get_monotonic_time();
	g_print("# registered %d of %u nodes and opened their streams in %.1f s (%d in "
		"parallel)\n",
		g_atomic_int_get(&b->registered), b->n_nodes,
		(double) (t_registered - t_start) / G_USEC_PER_SEC, REGISTER_WORKERS);
	g_array_sort(b->register_ms, cmp_double);
	g_print("# register round trip: p50 %.1f ms, p99 %.1f ms\n",
		percentile(b->register_ms, 0.5), percentile(b->register_ms, 0.99));
	if (g_atomic_int_get(&b->register_fails) > 0) {
		g_print("FAIL: %d registrations failed; the first: %s\n",
			g_atomic_int_get(&b->register_fails), b->first_error);
		failed = TRUE;
	}

	/* every stream's full map */
	deadline = t_start + (gint64) register_seconds * G_USEC_PER_SEC;
	while (!failed && (guint) g_atomic_int_get(&b->streams_ready) < b->n_nodes) {
		if (g_atomic_int_get(&b->streams_lost) > 0 || !server_alive(b) ||
		    g_get_monotonic_time() > deadline) {
			g_print("FAIL: %d of %u streams got their full map, %d lost (%s)%s\n",
				g_atomic_int_get(&b->streams_ready), b->n_nodes,
				g_atomic_int_get(&b->streams_lost),
				b->first_error != NULL ? b->first_error : "no error",
				server_alive(b) ? "" : "; the server is gone");
			failed = TRUE;
			break;
		}
		g_usleep(10 * 1000);
	}
	if (!failed) {
		t_streams = g_get_monotonic_time();
		g_print("# all %u streams had their full map after %.1f s\n", b->n_nodes,
			(double) (t_streams - t_start) / G_USEC_PER_SEC);
		/* the registrations' deltas drain before the changes start */
		deadline = g_get_monotonic_time() + SETTLE_MAX_US;
		while (g_get_monotonic_time() - __atomic_load_n(&b->last_frame, __ATOMIC_RELAXED) <
			       SETTLE_QUIET_US &&
		       g_get_monotonic_time() < deadline && server_alive(b))
			g_usleep(50 * 1000);
		g_print("# streams quiet after %.1f s\n",
			(double) (g_get_monotonic_time() - t_start) / G_USEC_PER_SEC);
	}
	proc_info(b->server_pid, &after_reg);
	g_print("# server after registration: VmRSS %.1f MB, VmHWM %.1f MB, CPU %.1f s; bench CPU "
		"%.1f s\n",
		after_reg.rss_mb, after_reg.hwm_mb, after_reg.cpu_s, self_cpu_s());

	/* the changes, one at a time */
	if (!failed) {
		gint64 t_changes = g_get_monotonic_time();
		GRand *rand = g_rand_new_with_seed(5000);
		g_autoptr(GHashTable) ids = g_hash_table_new(g_int64_hash, g_int64_equal);

		for (guint j = 0; j < n_changes; j++) {
			guint changer = (guint) g_rand_int_range(rand, 0, (gint32) b->n_nodes);
			gint64 node_id = -1;
			double ms = run_change(b, j, changer, &node_id);

			if (ms < 0) {
				g_mutex_lock(&b->lock);
				g_print("FAIL: %s\n", b->first_error != NULL ? b->first_error
									     : "a change failed");
				g_mutex_unlock(&b->lock);
				failed = TRUE;
				break;
			}
			/* one node, one id: the same on its next change, and no other node's */
			if (ms >= 0 && b->nodes[changer].id < 0) {
				if (g_hash_table_contains(ids, &node_id)) {
					g_print("FAIL: change %u: node %u's patches carry id "
						"%" G_GINT64_FORMAT ", another node's\n",
						j, changer, node_id);
					failed = TRUE;
					break;
				}
				b->nodes[changer].id = node_id;
				g_hash_table_add(ids, &b->nodes[changer].id);
			} else if (ms >= 0 && b->nodes[changer].id != node_id) {
				g_print("FAIL: change %u: node %u's patches carry id "
					"%" G_GINT64_FORMAT ", earlier %" G_GINT64_FORMAT "\n",
					j, changer, node_id, b->nodes[changer].id);
				failed = TRUE;
				break;
			}
			g_array_append_val(latencies, ms);
			changes_done++;
			if (g_get_monotonic_time() - t_changes > CHANGES_MAX_US) {
				g_print("# the changes took over %d s: stopped after %u\n",
					(int) (CHANGES_MAX_US / G_USEC_PER_SEC), changes_done);
				break;
			}
			g_usleep(CHANGE_GAP_US);
		}
		g_rand_free(rand);
	}
	if (!failed && g_atomic_int_get(&b->streams_lost) > 0) {
		g_print("FAIL: %d streams lost (%s)\n", g_atomic_int_get(&b->streams_lost),
			b->first_error);
		failed = TRUE;
	}
	proc_info(b->server_pid, &at_end);
	if (!at_end.alive) {
		g_print("FAIL: the server is gone\n");
		failed = TRUE;
	}

	g_atomic_int_set(&b->stop, TRUE);
	g_thread_join(reader);
	g_array_sort(latencies, cmp_double);
	p50 = percentile(latencies, 0.50);
	p99 = percentile(latencies, 0.99);
	pmax = latencies->len > 0 ? g_array_index(latencies, double, latencies->len - 1) : 0.0;
	g_print("# streams: %" G_GUINT64_FORMAT " full maps (%.1f MB), %" G_GUINT64_FORMAT
		" deltas (%.1f MB) opened, %" G_GUINT64_FORMAT
		" later frames over %d KiB counted\n",
		b->full_frames, (double) b->full_bytes / 1e6, b->delta_frames,
		(double) b->delta_bytes / 1e6, b->skipped_later, SKIP_ABOVE / 1024);
	g_print("# %u changes, each to all %u peer streams: p50 %.1f ms, p99 %.1f ms, max %.1f "
		"ms\n",
		changes_done, b->n_nodes - 1, p50, p99, pmax);
	g_print("# server at the end: VmRSS %.1f MB, VmHWM %.1f MB, CPU %.1f s; bench CPU %.1f s\n",
		at_end.rss_mb, at_end.hwm_mb, at_end.cpu_s, self_cpu_s());
	bar_met = !failed && b->n_nodes >= BAR_NODES && changes_done > 0 && p99 < BAR_P99_MS &&
		  at_end.hwm_mb < BAR_RSS_MB;
	g_print("# the issue's bar (%d nodes, p99 < %.0f ms, RSS < %.0f MB): %s\n", BAR_NODES,
		BAR_P99_MS, BAR_RSS_MB, bar_met ? "met" : "NOT met");
	if (failed)
		print_log(log_path);

	g_subprocess_send_signal(server, SIGTERM);
	(void) g_subprocess_wait(server, NULL, NULL);
	for (guint i = 0; i < b->n_nodes; i++) {
		if (b->nodes[i].fd >= 0)
			close(b->nodes[i].fd);
		wr_control_http_reader_free(b->nodes[i].reader);
		wr_control_client_free(b->nodes[i].client);
	}
	g_free(b->nodes);
	close(b->epfd);
	g_free(b->first_error);
	g_array_unref(b->register_ms);
	g_mutex_clear(&b->lock);
	wr_memzero(auth_key, strlen(auth_key));
	wr_test_rm_rf(tmp);
	g_print("nodes: %u p99_ms: %.1f rss_mb: %.1f\n", b->n_nodes, p99, at_end.hwm_mb);
	return failed ? 1 : 0;
}
