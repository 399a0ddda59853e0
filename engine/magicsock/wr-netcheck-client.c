/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrNetcheckClient"

#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <libsoup/soup.h>

#include "wr-crypto.h"
#include "wr-netcheck-client.h"
#include "wr-sockmark.h"
#include "wr-source.h"
#include "wr-stun.h"

/* larger than any datagram a STUN server should send */
#define RECV_BUF_LEN	   1500
#define LATENCY_CHECK_PATH "/derp/latency-check"
/* "host\nfamily" keys of the per-report DNS cache */
#define DNS_KEY_FMT "%s\n%d"

/* WrPinnedAddress: the node's HostName for TLS (SNI, certificate check) and the Host header,
 * but connections go to the literal address of the DERP map */

#define WR_TYPE_PINNED_ADDRESS (wr_pinned_address_get_type())
G_DECLARE_FINAL_TYPE(WrPinnedAddress, wr_pinned_address, WR, PINNED_ADDRESS, GNetworkAddress)

struct _WrPinnedAddress {
	GNetworkAddress parent_instance;
	GSocketAddress *address;
};

static void
wr_pinned_address_connectable_init(GSocketConnectableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE(WrPinnedAddress, wr_pinned_address, G_TYPE_NETWORK_ADDRESS,
			      G_IMPLEMENT_INTERFACE(G_TYPE_SOCKET_CONNECTABLE,
						    wr_pinned_address_connectable_init))

static GSocketAddressEnumerator *
wr_pinned_address_enumerate(GSocketConnectable *connectable)
{
	WrPinnedAddress *self = WR_PINNED_ADDRESS(connectable);

	return g_socket_connectable_enumerate(G_SOCKET_CONNECTABLE(self->address));
}

static gchar *
wr_pinned_address_to_string(GSocketConnectable *connectable)
{
	return g_strdup(g_network_address_get_hostname(G_NETWORK_ADDRESS(connectable)));
}

static void
wr_pinned_address_connectable_init(GSocketConnectableIface *iface)
{
	iface->enumerate = wr_pinned_address_enumerate;
	/* no proxy: the literal is the point */
	iface->proxy_enumerate = wr_pinned_address_enumerate;
	iface->to_string = wr_pinned_address_to_string;
}

static void
wr_pinned_address_finalize(GObject *object)
{
	WrPinnedAddress *self = WR_PINNED_ADDRESS(object);

	g_clear_object(&self->address);
	G_OBJECT_CLASS(wr_pinned_address_parent_class)->finalize(object);
}

static void
wr_pinned_address_class_init(WrPinnedAddressClass *klass)
{
	G_OBJECT_CLASS(klass)->finalize = wr_pinned_address_finalize;
}

static void
wr_pinned_address_init(WrPinnedAddress *self)
{
}

static GSocketConnectable *
wr_pinned_address_new(const gchar *hostname, const WrEndpoint *address)
{
	WrPinnedAddress *self;
	guint16 port = ntohs(address->in4.sin_port);

	self = g_object_new(WR_TYPE_PINNED_ADDRESS, "hostname", hostname, "port", port, "scheme",
			    "https", NULL);
	self->address =
		g_socket_address_new_from_native((gpointer) address, wr_endpoint_socklen(address));
	return G_SOCKET_CONNECTABLE(self);
}

/* the client */

struct _WrNetcheckClient {
	GObject parent_instance;
	WrNetcheckSendFunc send_func;
	gpointer send_data;
	GDestroyNotify send_data_free;
	bool have_v4;
	bool have_v6;
	GSocket *sock4; /* the convenience sockets, or NULL */
	GSocket *sock6;
	WrNetcheckHistory *history;
	guint ignored;
	GTask *task; /* the report in progress, not referenced */
};

G_DEFINE_FINAL_TYPE(WrNetcheckClient, wr_netcheck_client, G_TYPE_OBJECT)

typedef enum {
	DNS_RESOLVING,
	DNS_OK,
	DNS_FAILED,
} DnsState;

typedef struct {
	DnsState state;
	WrEndpoint addr; /* port 0 */
	GArray *pending; /* probe indices waiting for the answer */
} DnsEntry;

typedef struct {
	GTask *task; /* not referenced: the check holds a reference of its own */
	guint index; /* into the run's fallback targets */
	SoupSession *session;
	SoupMessage *msg;
	gchar *host;
	gchar *cert_name;
	bool insecure;
} HttpsCheck;

typedef struct {
	WrNetcheckClient *self; /* the task's source object keeps it alive */
	WrDerpMap *map;
	WrNetcheckRun *run;
	GMainContext *context;
	GSource *timer;
	GSource *recv4;
	GSource *recv6;
	GSource *cancel_source;
	/* cancels the DNS lookups and HTTPS checks when the report ends */
	GCancellable *inner;
	GHashTable *dns; /* DNS_KEY_FMT -> DnsEntry */
	bool fallback_started;
	bool finished;
} ReportOp;

static void
dns_entry_free(gpointer data)
{
	DnsEntry *entry = data;

	g_array_unref(entry->pending);
	g_free(entry);
}

static void
https_check_free(HttpsCheck *check)
{
	g_clear_object(&check->msg);
	g_clear_object(&check->session);
	g_free(check->host);
	g_free(check->cert_name);
	g_free(check);
}

static void
report_op_stop(ReportOp *op)
{
	op->finished = true;
	wr_source_clear(&op->timer);
	wr_source_clear(&op->recv4);
	wr_source_clear(&op->recv6);
	wr_source_clear(&op->cancel_source);
	g_cancellable_cancel(op->inner);
}

static void
report_op_free(ReportOp *op)
{
	report_op_stop(op);
	wr_netcheck_run_free(op->run);
	wr_derp_map_free(op->map);
	g_clear_pointer(&op->dns, g_hash_table_unref);
	g_clear_object(&op->inner);
	g_main_context_unref(op->context);
	g_free(op);
}

static void
report_return(GTask *task, WrNetcheckReport *report, GError *error)
{
	ReportOp *op = g_task_get_task_data(task);
	WrNetcheckClient *self = op->self;

	report_op_stop(op);
	if (self->task == task)
		self->task = NULL;
	if (error != NULL)
		g_task_return_error(task, error);
	else
		g_task_return_pointer(task, report, (GDestroyNotify) wr_netcheck_report_free);
	/* the reference the operation held since it started */
	g_object_unref(task);
}

static void
report_done(GTask *task, gint64 now)
{
	ReportOp *op = g_task_get_task_data(task);
	WrNetcheckReport *report = wr_netcheck_run_get_report(op->run);

	wr_netcheck_history_add(op->self->history, op->map, report, now);
	g_debug("report done in %" G_GINT64_FORMAT " ms, %u datagrams ignored",
		(now - report->start_us) / 1000, wr_netcheck_run_get_ignored(op->run));
	report_return(task, wr_netcheck_report_copy(report), NULL);
}

/* the timer fires at the run's next deadline, or at once when the run is done, so that the
 * report completes from the main loop and never from inside a caller's feed */
static void
report_rearm(ReportOp *op)
{
	gint64 deadline;

	if (op->finished || op->timer == NULL)
		return;
	if (wr_netcheck_run_get_phase(op->run) == WR_NETCHECK_PHASE_DONE ||
	    (wr_netcheck_run_get_phase(op->run) == WR_NETCHECK_PHASE_FALLBACK &&
	     !op->fallback_started))
		deadline = 0;
	else
		deadline = wr_netcheck_run_get_deadline(op->run);
	g_source_set_ready_time(op->timer, deadline == G_MAXINT64 ? -1 : deadline);
}

static const WrDerpNode *
probe_node(ReportOp *op, const WrNetcheckProbe *p)
{
	const WrDerpRegion *region = wr_derp_map_get_region(op->map, p->region_id);

	return &region->nodes[p->node_index];
}

static void
send_probe_to(ReportOp *op, guint index, const WrEndpoint *target)
{
	WrNetcheckClient *self = op->self;
	guint8 txid[WR_STUN_TXID_LEN];
	guint8 req[WR_STUN_REQUEST_LEN];
	gint64 now;
	int rc;

	wr_random_bytes(txid, sizeof(txid));
	wr_stun_build_request(req, txid);
	now = g_get_monotonic_time();
	rc = self->send_func(req, sizeof(req), target, self->send_data);
	if (rc < 0) {
		gchar buf[WR_ENDPOINT_STRLEN];

		wr_endpoint_format(target, buf);
		g_debug("sending STUN to %s: %s", buf, g_strerror(-rc));
	}
	wr_netcheck_run_probe_sent(op->run, index, txid, target, rc, now);
}

typedef struct {
	GTask *task; /* referenced */
	gchar *key;
} DnsLookup;

static void
dns_send_pending(ReportOp *op, DnsEntry *entry)
{
	for (guint i = 0; i < entry->pending->len; i++) {
		guint index = g_array_index(entry->pending, guint, i);
		const WrNetcheckProbe *p = wr_netcheck_run_get_probe(op->run, index);
		WrEndpoint target;

		if (entry->state != DNS_OK ||
		    wr_netcheck_run_get_phase(op->run) != WR_NETCHECK_PHASE_STUN) {
			wr_netcheck_run_probe_failed(op->run, index, g_get_monotonic_time());
			continue;
		}
		/* the resolved address with this node's STUN port */
		(void) wr_derp_node_stun_target(probe_node(op, p), p->family, &target);
		if (p->family == AF_INET)
			entry->addr.in4.sin_port = target.in4.sin_port;
		else
			entry->addr.in6.sin6_port = target.in6.sin6_port;
		send_probe_to(op, index, &entry->addr);
	}
	g_array_set_size(entry->pending, 0);
}

static void
dns_resolved_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	DnsLookup *lookup = user_data;
	ReportOp *op = g_task_get_task_data(lookup->task);
	g_autoptr(GError) error = NULL;
	GList *addrs;
	DnsEntry *entry;

	addrs = g_resolver_lookup_by_name_with_flags_finish(G_RESOLVER(source), res, &error);
	entry = op->finished ? NULL : g_hash_table_lookup(op->dns, lookup->key);
	if (entry != NULL) {
		entry->state = DNS_FAILED;
		if (addrs != NULL) {
			g_autoptr(GSocketAddress) sa = g_inet_socket_address_new(addrs->data, 0);

			memset(&entry->addr, 0, sizeof(entry->addr));
			if (g_socket_address_to_native(sa, &entry->addr, sizeof(entry->addr), NULL))
				entry->state = DNS_OK;
		} else {
			g_debug("resolving %s: %s", lookup->key, error->message);
		}
		dns_send_pending(op, entry);
		report_rearm(op);
	}
	g_resolver_free_addresses(addrs);
	g_object_unref(lookup->task);
	g_free(lookup->key);
	g_free(lookup);
}

/* a probe to a node without a literal: one lookup per host and family per report */
static void
send_probe_dns(GTask *task, guint index)
{
	ReportOp *op = g_task_get_task_data(task);
	const WrNetcheckProbe *p = wr_netcheck_run_get_probe(op->run, index);
	const WrDerpNode *node = probe_node(op, p);
	g_autofree gchar *key = g_strdup_printf(DNS_KEY_FMT, node->host_name, p->family);
	DnsEntry *entry = g_hash_table_lookup(op->dns, key);
	g_autoptr(GResolver) resolver = NULL;
	DnsLookup *lookup;

	if (entry == NULL) {
		entry = g_new0(DnsEntry, 1);
		entry->state = DNS_RESOLVING;
		entry->pending = g_array_new(FALSE, FALSE, sizeof(guint));
		g_hash_table_insert(op->dns, g_strdup(key), entry);

		lookup = g_new0(DnsLookup, 1);
		lookup->task = g_object_ref(task);
		lookup->key = g_strdup(key);
		resolver = g_resolver_get_default();
		g_main_context_push_thread_default(op->context);
		g_resolver_lookup_by_name_with_flags_async(
			resolver, node->host_name,
			p->family == AF_INET ? G_RESOLVER_NAME_LOOKUP_FLAGS_IPV4_ONLY
					     : G_RESOLVER_NAME_LOOKUP_FLAGS_IPV6_ONLY,
			op->inner, dns_resolved_cb, lookup);
		g_main_context_pop_thread_default(op->context);
	}
	g_array_append_val(entry->pending, index);
	if (entry->state != DNS_RESOLVING)
		dns_send_pending(op, entry);
}

static void
send_probe(GTask *task, guint index)
{
	ReportOp *op = g_task_get_task_data(task);
	const WrNetcheckProbe *p = wr_netcheck_run_get_probe(op->run, index);
	WrEndpoint target;

	switch (wr_derp_node_stun_target(probe_node(op, p), p->family, &target)) {
	case WR_DERP_ADDR_LITERAL:
		send_probe_to(op, index, &target);
		break;
	case WR_DERP_ADDR_DNS:
		send_probe_dns(task, index);
		break;
	case WR_DERP_ADDR_DISABLED:
	default:
		wr_netcheck_run_probe_failed(op->run, index, g_get_monotonic_time());
		break;
	}
}

/* the HTTPS fallback */

/* the leaf's SHA-256 against "sha256-raw:<hex>" */
static gboolean
certificate_matches_pin(GTlsCertificate *cert, const gchar *pin_hex)
{
	g_autoptr(GByteArray) der = NULL;
	g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);

	if (cert == NULL)
		return FALSE;
	g_object_get(cert, "certificate", &der, NULL);
	if (der == NULL)
		return FALSE;
	g_checksum_update(sum, der->data, der->len);
	return g_ascii_strcasecmp(g_checksum_get_string(sum), pin_hex) == 0;
}

/* a chain that is valid for CertName rather than HostName */
static gboolean
certificate_valid_for(GTlsCertificate *cert, const gchar *name)
{
	GTlsDatabase *db = g_tls_backend_get_default_database(g_tls_backend_get_default());
	g_autoptr(GSocketConnectable) identity = g_network_address_new(name, 0);
	g_autoptr(GError) error = NULL;
	GTlsCertificateFlags flags;

	if (db == NULL)
		return FALSE;
	flags = g_tls_database_verify_chain(db, cert, G_TLS_DATABASE_PURPOSE_AUTHENTICATE_SERVER,
					    identity, NULL, G_TLS_DATABASE_VERIFY_NONE, NULL,
					    &error);
	g_object_unref(db);
	return error == NULL && flags == 0;
}

static const gchar *
check_pin(const HttpsCheck *check)
{
	if (g_str_has_prefix(check->cert_name, WR_DERP_CERT_SHA256_RAW))
		return check->cert_name + strlen(WR_DERP_CERT_SHA256_RAW);
	return NULL;
}

/* only called when the normal check against HostName failed */
static gboolean
accept_certificate_cb(SoupMessage *msg, GTlsCertificate *cert, GTlsCertificateFlags errors,
		      gpointer user_data)
{
	HttpsCheck *check = user_data;
	const gchar *pin = check_pin(check);

	if (check->insecure)
		return TRUE;
	if (pin != NULL)
		return certificate_matches_pin(cert, pin);
	if (check->cert_name[0] != '\0')
		return certificate_valid_for(cert, check->cert_name);
	g_debug("TLS certificate of %s refused (flags 0x%x)", check->host, errors);
	return FALSE;
}

static void
https_closed_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	HttpsCheck *check = user_data;
	GTask *task = check->task;

	(void) g_input_stream_close_finish(G_INPUT_STREAM(source), res, NULL);
	soup_session_abort(check->session);
	https_check_free(check);
	g_object_unref(task);
}

static void
https_done(HttpsCheck *check, int family, gint64 rtt_us)
{
	ReportOp *op = g_task_get_task_data(check->task);

	if (op->finished)
		return;
	wr_netcheck_run_fallback_done(op->run, check->index, family, rtt_us,
				      g_get_monotonic_time());
	report_rearm(op);
}

static void
https_sent_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	HttpsCheck *check = user_data;
	ReportOp *op = g_task_get_task_data(check->task);
	g_autoptr(GError) error = NULL;
	g_autoptr(GInputStream) stream = NULL;
	SoupMessageMetrics *metrics;
	GSocketAddress *remote;
	const gchar *pin = check_pin(check);
	guint status;
	int family = AF_UNSPEC;
	gint64 rtt = -1;

	stream = soup_session_send_finish(SOUP_SESSION(source), res, &error);
	if (stream == NULL) {
		g_debug("latency check of %s: %s", check->host, error->message);
		https_done(check, AF_UNSPEC, -1);
		soup_session_abort(check->session);
		g_object_unref(check->task);
		https_check_free(check);
		return;
	}
	status = soup_message_get_status(check->msg);
	metrics = soup_message_get_metrics(check->msg);
	remote = soup_message_get_remote_address(check->msg);
	if (!SOUP_STATUS_IS_SUCCESSFUL(status)) {
		g_debug("latency check of %s: HTTP %u", check->host, status);
	} else if (pin != NULL && !check->insecure &&
		   !certificate_matches_pin(soup_message_get_tls_peer_certificate(check->msg),
					    pin)) {
		/* a valid certificate is not enough when the map pins one */
		g_debug("latency check of %s: certificate does not match its pin", check->host);
	} else if (metrics != NULL && soup_message_metrics_get_response_start(metrics) >=
					      soup_message_metrics_get_request_start(metrics)) {
		/* from the request on an open connection to the response headers: one round
		 * trip, comparable with STUN's */
		rtt = (gint64) (soup_message_metrics_get_response_start(metrics) -
				soup_message_metrics_get_request_start(metrics));
		if (remote != NULL && G_IS_INET_SOCKET_ADDRESS(remote))
			family = g_socket_address_get_family(remote) == G_SOCKET_FAMILY_IPV6
					 ? AF_INET6
					 : AF_INET;
	}
	https_done(check, family, rtt);
	/* the body is empty or small; close it without blocking, then let go */
	g_input_stream_close_async(stream, G_PRIORITY_DEFAULT, op->inner, https_closed_cb, check);
}

static void
start_check(GTask *task, guint index, const WrNetcheckFallbackTarget *target)
{
	ReportOp *op = g_task_get_task_data(task);
	const WrDerpRegion *region = wr_derp_map_get_region(op->map, target->region_id);
	const WrDerpNode *node = &region->nodes[target->node_index];
	guint16 port = wr_derp_node_derp_port(node);
	g_autoptr(GSocketConnectable) connectable = NULL;
	g_autoptr(GUri) uri = NULL;
	HttpsCheck *check;
	WrEndpoint literal;

	/* the map's literal, when it has one, saves the DNS lookup and survives a broken DNS */
	if (wr_derp_node_addr(node, AF_INET, &literal) == WR_DERP_ADDR_LITERAL ||
	    wr_derp_node_addr(node, AF_INET6, &literal) == WR_DERP_ADDR_LITERAL) {
		if (literal.sa.sa_family == AF_INET)
			literal.in4.sin_port = htons(port);
		else
			literal.in6.sin6_port = htons(port);
		connectable = wr_pinned_address_new(node->host_name, &literal);
	}

	check = g_new0(HttpsCheck, 1);
	check->task = g_object_ref(task);
	check->index = index;
	check->host = g_strdup(node->host_name);
	check->cert_name = g_strdup(node->cert_name);
	check->insecure = node->insecure_for_tests;
	check->session = soup_session_new_with_options("remote-connectable", connectable, NULL);
	uri = g_uri_build(G_URI_FLAGS_NONE, "https", NULL, node->host_name,
			  port == WR_DERP_DEFAULT_DERP_PORT ? -1 : port, LATENCY_CHECK_PATH, NULL,
			  NULL);
	check->msg = soup_message_new_from_uri(SOUP_METHOD_GET, uri);
	wr_sockmark_watch_message(check->msg);
	soup_message_add_flags(check->msg, SOUP_MESSAGE_COLLECT_METRICS);
	g_signal_connect(check->msg, "accept-certificate", G_CALLBACK(accept_certificate_cb),
			 check);
	soup_session_send_async(check->session, check->msg, G_PRIORITY_DEFAULT, op->inner,
				https_sent_cb, check);
}

static void
start_fallback(GTask *task)
{
	ReportOp *op = g_task_get_task_data(task);
	const WrNetcheckFallbackTarget *targets;
	guint n = 0;

	op->fallback_started = true;
	targets = wr_netcheck_run_get_fallback_targets(op->run, &n);
	g_debug("no STUN reply: HTTPS latency checks of %u regions", n);
	/* libsoup binds a session to the thread-default context it is made in */
	g_main_context_push_thread_default(op->context);
	for (guint i = 0; i < n; i++)
		start_check(task, i, &targets[i]);
	g_main_context_pop_thread_default(op->context);
}

/* the main loop side */

static gboolean
timer_cb(gpointer user_data)
{
	GTask *task = G_TASK(user_data);
	ReportOp *op = g_task_get_task_data(task);
	gint64 now = g_get_monotonic_time();
	guint index;

	while (wr_netcheck_run_next_probe(op->run, now, &index))
		send_probe(task, index);
	if (wr_netcheck_run_tick(op->run, now) == WR_NETCHECK_PHASE_FALLBACK &&
	    !op->fallback_started)
		start_fallback(task);
	if (wr_netcheck_run_get_phase(op->run) == WR_NETCHECK_PHASE_DONE) {
		report_done(task, now);
		return G_SOURCE_REMOVE;
	}
	report_rearm(op);
	return G_SOURCE_CONTINUE;
}

static gboolean
cancelled_cb(GCancellable *cancellable, gpointer user_data)
{
	GTask *task = G_TASK(user_data);
	GError *error = NULL;

	(void) g_cancellable_set_error_if_cancelled(cancellable, &error);
	report_return(task, NULL, error);
	return G_SOURCE_REMOVE;
}

/* reads a convenience socket dry */
static gboolean
socket_readable_cb(GSocket *socket, GIOCondition condition, gpointer user_data)
{
	GTask *task = G_TASK(user_data);
	ReportOp *op = g_task_get_task_data(task);
	WrNetcheckClient *self = op->self;

	while (!op->finished) {
		guint8 buf[RECV_BUF_LEN];
		WrEndpoint from;
		socklen_t from_len = sizeof(from);
		ssize_t n;

		memset(&from, 0, sizeof(from));
		n = recvfrom(g_socket_get_fd(socket), buf, sizeof(buf), MSG_DONTWAIT, &from.sa,
			     &from_len);
		if (n < 0) {
			/* EAGAIN, or an error queued by an ICMP message: a lost probe */
			break;
		}
		if (!wr_stun_is_stun(buf, (gsize) n)) {
			self->ignored++;
			continue;
		}
		wr_endpoint_unmap(&from);
		(void) wr_netcheck_client_feed(self, buf, (gsize) n, &from, g_get_monotonic_time());
	}
	return G_SOURCE_CONTINUE;
}

static GSource *
attach_socket(GTask *task, GSocket *socket, GMainContext *context)
{
	GSource *source = g_socket_create_source(socket, G_IO_IN, NULL);

	g_source_set_callback(source, G_SOURCE_FUNC(socket_readable_cb), task, NULL);
	g_source_set_static_name(source, "[warren] netcheck recv");
	g_source_attach(source, context);
	return source;
}

/* §5.5 OSHasIPv6: a UDP socket can be bound on [::1]:0 */
static bool
os_has_ipv6(void)
{
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0)
		return false;
	ok = bind(fd, (struct sockaddr *) &sin6, sizeof(sin6)) == 0;
	(void) close(fd);
	return ok;
}

void
wr_netcheck_client_get_report_async(WrNetcheckClient *self, const WrDerpMap *map,
				    WrNetcheckFlags flags, GCancellable *cancellable,
				    GAsyncReadyCallback callback, gpointer user_data)
{
	GTask *task;
	ReportOp *op;
	GError *error = NULL;
	gint64 now;
	bool full;
	WrNetcheckPlan *plan;

	g_return_if_fail(WR_IS_NETCHECK_CLIENT(self));
	g_return_if_fail(map != NULL);
	g_return_if_fail(cancellable == NULL || G_IS_CANCELLABLE(cancellable));

	task = g_task_new(self, cancellable, callback, user_data);
	g_task_set_source_tag(task, wr_netcheck_client_get_report_async);
	g_task_set_name(task, "wr_netcheck_client_get_report");
	if (self->task != NULL) {
		g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_PENDING,
					"a netcheck report is already running");
		g_object_unref(task);
		return;
	}
	if (g_cancellable_set_error_if_cancelled(cancellable, &error)) {
		g_task_return_error(task, error);
		g_object_unref(task);
		return;
	}

	op = g_new0(ReportOp, 1);
	op->self = self;
	op->map = wr_derp_map_copy(map);
	op->context = g_main_context_ref_thread_default();
	op->inner = g_cancellable_new();
	op->dns = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, dns_entry_free);
	now = g_get_monotonic_time();
	full = (flags & WR_NETCHECK_FLAG_FULL) != 0 ||
	       wr_netcheck_history_want_full(self->history, now);
	plan = wr_netcheck_plan_new(
		op->map, full ? NULL : wr_netcheck_history_get_last(self->history),
		wr_netcheck_history_get_home(self->history), self->have_v4, self->have_v6);
	g_debug("%s report: %u probes in %u sets", full ? "full" : "incremental", plan->n_probes,
		plan->n_sets);
	op->run = wr_netcheck_run_new(op->map, plan, now);
	wr_netcheck_run_get_report(op->run)->os_has_ipv6 = os_has_ipv6();
	g_task_set_task_data(task, op, (GDestroyNotify) report_op_free);
	/* the operation keeps this reference until report_return */
	self->task = task;

	op->timer =
		wr_deadline_source_new(op->context, "[warren] netcheck timer", 0, timer_cb, task);
	if (self->sock4 != NULL)
		op->recv4 = attach_socket(task, self->sock4, op->context);
	if (self->sock6 != NULL)
		op->recv6 = attach_socket(task, self->sock6, op->context);
	if (cancellable != NULL) {
		op->cancel_source = g_cancellable_source_new(cancellable);
		g_source_set_callback(op->cancel_source, G_SOURCE_FUNC(cancelled_cb), task, NULL);
		g_source_attach(op->cancel_source, op->context);
	}
}

WrNetcheckReport *
wr_netcheck_client_get_report_finish(WrNetcheckClient *self, GAsyncResult *result, GError **error)
{
	g_return_val_if_fail(WR_IS_NETCHECK_CLIENT(self), NULL);
	g_return_val_if_fail(g_task_is_valid(result, self), NULL);
	g_return_val_if_fail(g_async_result_is_tagged(result, wr_netcheck_client_get_report_async),
			     NULL);

	return g_task_propagate_pointer(G_TASK(result), error);
}

gboolean
wr_netcheck_client_feed(WrNetcheckClient *self, const guint8 *pkt, gsize len,
			const WrEndpoint *from, gint64 now)
{
	ReportOp *op;
	int rc;

	g_return_val_if_fail(WR_IS_NETCHECK_CLIENT(self), FALSE);
	g_return_val_if_fail(pkt != NULL || len == 0, FALSE);

	if (self->task == NULL) {
		self->ignored++;
		return FALSE;
	}
	op = g_task_get_task_data(self->task);
	rc = wr_netcheck_run_feed(op->run, pkt, len, now);
	if (rc < 0) {
		gchar buf[WR_ENDPOINT_STRLEN];

		self->ignored++;
		wr_endpoint_format(from, buf);
		g_debug("ignoring STUN datagram from %s: %s", buf, g_strerror(-rc));
	}
	report_rearm(op);
	return rc == 0;
}

guint
wr_netcheck_client_get_ignored(WrNetcheckClient *self)
{
	g_return_val_if_fail(WR_IS_NETCHECK_CLIENT(self), 0);
	return self->ignored;
}

void
wr_netcheck_client_note_derp_frame(WrNetcheckClient *self, guint64 region_id, gint64 now)
{
	g_return_if_fail(WR_IS_NETCHECK_CLIENT(self));
	wr_netcheck_history_note_derp_frame(self->history, region_id, now);
}

void
wr_netcheck_client_set_forced_home(WrNetcheckClient *self, guint64 region_id)
{
	g_return_if_fail(WR_IS_NETCHECK_CLIENT(self));
	wr_netcheck_history_set_forced_home(self->history, region_id);
}

const WrNetcheckReport *
wr_netcheck_client_get_last_report(WrNetcheckClient *self)
{
	g_return_val_if_fail(WR_IS_NETCHECK_CLIENT(self), NULL);
	return wr_netcheck_history_get_last(self->history);
}

/* construction */

static int
socket_send(const guint8 *pkt, gsize len, const WrEndpoint *to, gpointer user_data)
{
	WrNetcheckClient *self = user_data;
	GSocket *socket = to->sa.sa_family == AF_INET6 ? self->sock6 : self->sock4;
	ssize_t n;

	if (socket == NULL)
		return -EAFNOSUPPORT;
	n = sendto(g_socket_get_fd(socket), pkt, len, MSG_DONTWAIT, &to->sa,
		   (socklen_t) wr_endpoint_socklen(to));
	if (n < 0)
		return -errno;
	return 0;
}

static GSocket *
bind_any(GSocketFamily family, GError **error)
{
	g_autoptr(GSocket) socket = NULL;
	g_autoptr(GInetAddress) any = g_inet_address_new_any(family);
	g_autoptr(GSocketAddress) sa = g_inet_socket_address_new(any, 0);

	socket = g_socket_new(family, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, error);
	if (socket == NULL)
		return NULL;
	if (family == G_SOCKET_FAMILY_IPV6 &&
	    !g_socket_set_option(socket, IPPROTO_IPV6, IPV6_V6ONLY, 1, error))
		return NULL;
	(void) wr_sockmark_apply_fd(g_socket_get_fd(socket));
	if (!g_socket_bind(socket, sa, FALSE, error))
		return NULL;
	g_socket_set_blocking(socket, FALSE);
	return g_steal_pointer(&socket);
}

WrNetcheckClient *
wr_netcheck_client_new(WrNetcheckSendFunc send_func, gpointer user_data,
		       GDestroyNotify user_data_free, bool have_v4, bool have_v6)
{
	WrNetcheckClient *self;

	g_return_val_if_fail(send_func != NULL, NULL);

	self = g_object_new(WR_TYPE_NETCHECK_CLIENT, NULL);
	self->send_func = send_func;
	self->send_data = user_data;
	self->send_data_free = user_data_free;
	self->have_v4 = have_v4;
	self->have_v6 = have_v6;
	return self;
}

WrNetcheckClient *
wr_netcheck_client_new_with_sockets(GError **error)
{
	g_autoptr(WrNetcheckClient) self = NULL;
	g_autoptr(GError) error_v6 = NULL;

	self = wr_netcheck_client_new(socket_send, NULL, NULL, true, false);
	self->send_data = self;
	self->sock4 = bind_any(G_SOCKET_FAMILY_IPV4, error);
	if (self->sock4 == NULL) {
		g_prefix_error(error, "binding a UDP socket for netcheck: ");
		return NULL;
	}
	/* a host without IPv6 is no error */
	self->sock6 = bind_any(G_SOCKET_FAMILY_IPV6, &error_v6);
	if (self->sock6 == NULL)
		g_debug("no IPv6 socket for netcheck: %s", error_v6->message);
	self->have_v6 = self->sock6 != NULL;
	return g_steal_pointer(&self);
}

gboolean
wr_netcheck_client_get_local_address(WrNetcheckClient *self, int family, WrEndpoint *out_addr)
{
	GSocket *socket;
	g_autoptr(GSocketAddress) sa = NULL;
	WrEndpoint ep;

	g_return_val_if_fail(WR_IS_NETCHECK_CLIENT(self), FALSE);

	socket = family == AF_INET6 ? self->sock6 : family == AF_INET ? self->sock4 : NULL;
	if (socket == NULL)
		return FALSE;
	sa = g_socket_get_local_address(socket, NULL);
	memset(&ep, 0, sizeof(ep));
	if (sa == NULL || !g_socket_address_to_native(sa, &ep, sizeof(ep), NULL))
		return FALSE;
	if (out_addr != NULL)
		*out_addr = ep;
	return TRUE;
}

static void
wr_netcheck_client_finalize(GObject *object)
{
	WrNetcheckClient *self = WR_NETCHECK_CLIENT(object);

	if (self->send_data_free != NULL)
		self->send_data_free(self->send_data);
	g_clear_object(&self->sock4);
	g_clear_object(&self->sock6);
	wr_netcheck_history_free(self->history);
	G_OBJECT_CLASS(wr_netcheck_client_parent_class)->finalize(object);
}

static void
wr_netcheck_client_class_init(WrNetcheckClientClass *klass)
{
	G_OBJECT_CLASS(klass)->finalize = wr_netcheck_client_finalize;
}

static void
wr_netcheck_client_init(WrNetcheckClient *self)
{
	self->history = wr_netcheck_history_new();
}
