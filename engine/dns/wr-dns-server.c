/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * MagicDNS's server (wr-dns-server.h).  The sockets and timers are the edge; every decision is
 * the resolver's (wr-dns-resolver) and every byte is read and written by the codec (wr-dns).
 *
 * A forwarded query is a Pending: the client (a UDP address and the listening socket it came
 * to, or a TCP connection), the parsed query, and the upstream side (its own UDP socket, or a
 * TCP connection for a TCP client).  A Pending ends exactly once, in pending_finish(), with an
 * upstream's reply or SERVFAIL; its TCP client, when it has one, then reads the next query.
 */
#define G_LOG_DOMAIN "WrDnsServer"

#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wr-crypto.h"
#include "wr-dns-server.h"
#include "wr-source.h"

#ifndef IPV6_FREEBIND
#define IPV6_FREEBIND 78 /* Linux 4.15, <linux/in6.h> */
#endif

#define TCP_BACKLOG 16
/* the 2-byte length before every message on TCP (RFC 1035 §4.2.2) */
#define TCP_LEN_BYTES 2

typedef struct _TcpConn TcpConn;
typedef struct _Pending Pending;

typedef struct {
	WrDnsServer *server;
	GSocket *socket;
	GSource *source;
} UdpListener;

struct _TcpConn {
	WrDnsServer *server;
	GSocketConnection *conn;
	GCancellable *cancel;
	GSource *idle;
	uint8_t len_buf[TCP_LEN_BYTES];
	uint8_t *msg; /* WR_DNS_MAX_MSG + TCP_LEN_BYTES: a query, then the reply */
	Pending *pending;
};

struct _Pending {
	WrDnsServer *server;
	UdpListener *udp_client; /* a UDP client: the socket it asked on, and its address */
	GSocketAddress *client;
	TcpConn *tcp_client; /* or a TCP client */
	WrDnsMessage query;
	uint8_t *wire; /* the query with our id */
	size_t wire_len;
	uint16_t id;
	guint first; /* the upstream asked first; then the next ones in turn */
	guint attempt;
	gint64 deadline;
	GSource *timer;
	GSocketAddress *upstream; /* the one asked last */
	/* over UDP */
	GSocket *socket;
	GSource *socket_source;
	/* over TCP */
	GCancellable *cancel;
	GSocketConnection *up_conn;
	uint8_t up_len[TCP_LEN_BYTES];
	uint8_t *up_msg;
};

struct _WrDnsServer {
	WrDnsResolver *resolver;
	GMainContext *context;
	GPtrArray *udp;	       /* UdpListener */
	GSocketService *tcp;   /* the TCP listening sockets */
	GHashTable *tcp_conns; /* TcpConn (owned) */
	GHashTable *pending;   /* Pending (owned) */
	GPtrArray *upstreams;  /* GInetSocketAddress */
	guint next_upstream;   /* where the next query starts: the last one that answered */
	WrDnsServerStats stats;
};

static void
tcp_conn_read_next(TcpConn *c);
static void
tcp_conn_close(TcpConn *c);
static void
tcp_written_cb(GObject *source, GAsyncResult *res, gpointer user_data);

/* ---- sockets ---- */

static GSocket *
bound_socket(const WrEndpoint *ep, gboolean stream, GError **error)
{
	int family = ep->sa.sa_family, one = 1, fd;
	g_autoptr(GSocket) sock = NULL;
	char text[WR_ENDPOINT_STRLEN];

	fd = socket(family, (stream ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		int err = errno;

		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(err), "socket: %s",
			    g_strerror(err));
		return NULL;
	}
	/* the address may not be on the interface yet (or be tentative): bind anyway */
	if (family == AF_INET)
		(void) setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	else {
		(void) setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
		(void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	}
	if (stream)
		(void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, &ep->sa, (socklen_t) wr_endpoint_socklen(ep)) < 0 ||
	    (stream && listen(fd, TCP_BACKLOG) < 0)) {
		int err = errno;

		close(fd);
		wr_endpoint_format(ep, text);
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(err),
			    "cannot listen on %s/%s: %s", text, stream ? "tcp" : "udp",
			    g_strerror(err));
		return NULL;
	}
	sock = g_socket_new_from_fd(fd, error);
	if (sock == NULL) {
		close(fd);
		return NULL;
	}
	g_socket_set_blocking(sock, FALSE);
	return g_steal_pointer(&sock);
}

/* ---- forwarding ---- */

static void
pending_free(gpointer data)
{
	Pending *p = data;

	if (p->cancel != NULL)
		g_cancellable_cancel(p->cancel);
	g_clear_object(&p->cancel);
	g_clear_object(&p->up_conn);
	g_free(p->up_msg);
	wr_source_clear(&p->timer);
	wr_source_clear(&p->socket_source);
	if (p->socket != NULL)
		(void) g_socket_close(p->socket, NULL);
	g_clear_object(&p->socket);
	g_clear_object(&p->upstream);
	g_clear_object(&p->client);
	g_free(p->wire);
	g_free(p);
}

/* sends reply (len bytes, the client's id already in it) to p's client */
static void
send_to_client(Pending *p, uint8_t *reply, size_t len)
{
	g_autoptr(GError) error = NULL;

	if (p->udp_client != NULL) {
		if (g_socket_send_to(p->udp_client->socket, p->client, (const char *) reply, len,
				     NULL, &error) < 0)
			g_debug("cannot send a DNS reply: %s", error->message);
		return;
	}
	if (p->tcp_client != NULL) {
		TcpConn *c = p->tcp_client;
		GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(c->conn));

		c->msg[0] = (uint8_t) (len >> 8);
		c->msg[1] = (uint8_t) len;
		memmove(c->msg + TCP_LEN_BYTES, reply, len);
		g_output_stream_write_all_async(out, c->msg, len + TCP_LEN_BYTES,
						G_PRIORITY_DEFAULT, c->cancel, tcp_written_cb, c);
	}
}

/* ends p: reply is the upstream's answer, or NULL for SERVFAIL */
static void
pending_finish(Pending *p, uint8_t *reply, size_t len)
{
	WrDnsServer *self = p->server;
	TcpConn *tcp = p->tcp_client;
	uint8_t fail[WR_DNS_MAX_MSG];

	if (reply == NULL) {
		int n = wr_dns_build_reply(&p->query, WR_DNS_RCODE_SERVFAIL, false, NULL, 0,
					   p->udp_client != NULL, fail, sizeof(fail));

		self->stats.servfail++;
		if (n > 0)
			send_to_client(p, fail, (size_t) n);
	} else {
		/* later queries start with the upstream that answers (a dead first one costs
		 * each query a retry only until another one answered once) */
		if (self->upstreams->len > 0)
			self->next_upstream = (p->first + p->attempt - 1) % self->upstreams->len;
		reply[0] = (uint8_t) (p->query.header.id >> 8);
		reply[1] = (uint8_t) p->query.header.id;
		send_to_client(p, reply, len);
	}
	/* the reply's write goes on to the connection's next query */
	if (tcp != NULL)
		tcp->pending = NULL;
	g_hash_table_remove(self->pending, p);
}

/* an upstream's reply is the one p waits for: our id, a reply, the same question */
static gboolean
reply_matches(Pending *p, const uint8_t *msg, size_t len)
{
	WrDnsMessage r;

	if (wr_dns_parse(msg, len, &r) < 0 || r.header.id != p->id ||
	    (r.header.flags & WR_DNS_FLAG_QR) == 0 || !r.has_question)
		return FALSE;
	return r.qtype == p->query.qtype && r.qclass == p->query.qclass &&
	       wr_dns_name_equal(r.qname, p->query.qname);
}

static gboolean
upstream_readable_cb(GSocket *socket, GIOCondition condition, gpointer user_data)
{
	Pending *p = user_data;
	uint8_t buf[WR_DNS_MAX_MSG];
	g_autoptr(GSocketAddress) from = NULL;
	g_autoptr(GError) error = NULL;
	gssize n;

	(void) condition;
	n = g_socket_receive_from(socket, &from, (char *) buf, sizeof(buf), NULL, &error);
	if (n < 0)
		return G_SOURCE_CONTINUE;
	/* only from the server asked (its address and port) */
	if (p->upstream == NULL || from == NULL || !G_IS_INET_SOCKET_ADDRESS(from) ||
	    !g_inet_address_equal(
		    g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(from)),
		    g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(p->upstream))) ||
	    g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(from)) !=
		    g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(p->upstream)) ||
	    !reply_matches(p, buf, (size_t) n))
		return G_SOURCE_CONTINUE;
	/* frees p, and destroys this source with it */
	pending_finish(p, buf, (size_t) n);
	return G_SOURCE_REMOVE;
}

static void
upstream_tcp_read_cb(GObject *source, GAsyncResult *res, gpointer user_data);

static void
upstream_tcp_len_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Pending *p = user_data;
	g_autoptr(GError) error = NULL;
	gsize got = 0;
	size_t len;

	if (!g_input_stream_read_all_finish(G_INPUT_STREAM(source), res, &got, &error)) {
		if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
			g_debug("upstream TCP: %s", error->message);
		return;
	}
	len = ((size_t) p->up_len[0] << 8) | p->up_len[1];
	if (got != TCP_LEN_BYTES || len < WR_DNS_HEADER_LEN)
		return; /* the timer answers SERVFAIL */
	p->up_msg = g_malloc(len);
	g_input_stream_read_all_async(G_INPUT_STREAM(source), p->up_msg, len, G_PRIORITY_DEFAULT,
				      p->cancel, upstream_tcp_read_cb, p);
}

static void
upstream_tcp_read_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Pending *p = user_data;
	g_autoptr(GError) error = NULL;
	size_t len;
	gsize got = 0;

	if (!g_input_stream_read_all_finish(G_INPUT_STREAM(source), res, &got, &error)) {
		if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
			g_debug("upstream TCP: %s", error->message);
		return;
	}
	len = ((size_t) p->up_len[0] << 8) | p->up_len[1];
	if (got != len || !reply_matches(p, p->up_msg, len))
		return;
	pending_finish(p, p->up_msg, len);
}

static void
upstream_tcp_connected_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GError) error = NULL;
	GSocketConnection *conn =
		g_socket_client_connect_finish(G_SOCKET_CLIENT(source), res, &error);
	Pending *p;
	GOutputStream *out;

	if (conn == NULL) {
		if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
			g_debug("upstream TCP: %s", error->message);
		return;
	}
	p = user_data;
	p->up_conn = conn;
	out = g_io_stream_get_output_stream(G_IO_STREAM(conn));
	/* a query is small: the socket buffer takes it */
	if (!g_output_stream_write_all(out, p->wire, p->wire_len, NULL, NULL, &error)) {
		g_debug("upstream TCP: %s", error->message);
		return;
	}
	g_input_stream_read_all_async(g_io_stream_get_input_stream(G_IO_STREAM(conn)), p->up_len,
				      TCP_LEN_BYTES, G_PRIORITY_DEFAULT, p->cancel,
				      upstream_tcp_len_cb, p);
}

/* sends p to the next upstream; FALSE when that cannot be done at all */
static gboolean
pending_send(Pending *p)
{
	WrDnsServer *self = p->server;
	GInetSocketAddress *up;
	g_autoptr(GError) error = NULL;

	if (self->upstreams->len == 0)
		return FALSE;
	up = self->upstreams->pdata[(p->first + p->attempt) % self->upstreams->len];
	p->attempt++;
	g_clear_object(&p->upstream);
	p->upstream = g_object_ref(G_SOCKET_ADDRESS(up));

	if (p->tcp_client != NULL) {
		g_autoptr(GSocketClient) client = g_socket_client_new();

		/* straight to the name server: never through a proxy the desktop may set */
		g_socket_client_set_enable_proxy(client, FALSE);

		/* a new attempt replaces the last one */
		if (p->cancel != NULL)
			g_cancellable_cancel(p->cancel);
		g_clear_object(&p->cancel);
		g_clear_object(&p->up_conn);
		g_clear_pointer(&p->up_msg, g_free);
		p->cancel = g_cancellable_new();
		g_socket_client_connect_async(client, G_SOCKET_CONNECTABLE(up), p->cancel,
					      upstream_tcp_connected_cb, p);
		return TRUE;
	}
	/* a socket of our own for every query: a fresh source port (and a new one when the next
	 * upstream is of the other family) */
	if (p->socket != NULL &&
	    g_socket_get_family(p->socket) != g_socket_address_get_family(G_SOCKET_ADDRESS(up))) {
		wr_source_clear(&p->socket_source);
		(void) g_socket_close(p->socket, NULL);
		g_clear_object(&p->socket);
	}
	if (p->socket == NULL) {
		p->socket = g_socket_new(g_socket_address_get_family(G_SOCKET_ADDRESS(up)),
					 G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
		if (p->socket == NULL) {
			g_debug("cannot make an upstream socket: %s", error->message);
			return FALSE;
		}
		g_socket_set_blocking(p->socket, FALSE);
		p->socket_source = g_socket_create_source(p->socket, G_IO_IN, NULL);
		g_source_set_callback(p->socket_source, G_SOURCE_FUNC(upstream_readable_cb), p,
				      NULL);
		g_source_set_static_name(p->socket_source, "[warren] DNS upstream");
		g_source_attach(p->socket_source, self->context);
	}
	if (g_socket_send_to(p->socket, G_SOCKET_ADDRESS(up),
			     (const char *) p->wire + TCP_LEN_BYTES, p->wire_len - TCP_LEN_BYTES,
			     NULL, &error) < 0)
		g_debug("cannot send a query upstream: %s", error->message);
	return TRUE;
}

static gboolean
pending_timer_cb(gpointer user_data)
{
	Pending *p = user_data;
	gint64 now = g_get_monotonic_time();

	if (now >= p->deadline) {
		/* frees p, and destroys this source with it */
		pending_finish(p, NULL, 0);
		return G_SOURCE_REMOVE;
	}
	(void) pending_send(p);
	g_source_set_ready_time(p->timer, MIN(now + WR_DNS_SERVER_RETRY_US, p->deadline));
	return G_SOURCE_CONTINUE;
}

/* forwards query (msg, len, parsed as q) for a UDP client (udp, from) or a TCP one */
static void
forward(WrDnsServer *self, const WrDnsMessage *q, const uint8_t *msg, size_t len, UdpListener *udp,
	GSocketAddress *from, TcpConn *tcp)
{
	Pending *p = g_new0(Pending, 1);
	gint64 now = g_get_monotonic_time();

	p->server = self;
	p->udp_client = udp;
	p->client = from != NULL ? g_object_ref(from) : NULL;
	p->tcp_client = tcp;
	p->query = *q;
	wr_random_bytes(&p->id, sizeof(p->id));
	/* the query as it came, with our id, behind a TCP length (UDP skips those 2 bytes) */
	p->wire = g_malloc(len + TCP_LEN_BYTES);
	p->wire_len = len + TCP_LEN_BYTES;
	p->wire[0] = (uint8_t) (len >> 8);
	p->wire[1] = (uint8_t) len;
	memcpy(p->wire + TCP_LEN_BYTES, msg, len);
	p->wire[TCP_LEN_BYTES] = (uint8_t) (p->id >> 8);
	p->wire[TCP_LEN_BYTES + 1] = (uint8_t) p->id;
	p->deadline = now + WR_DNS_SERVER_TIMEOUT_US;
	p->first = self->next_upstream;
	g_hash_table_add(self->pending, p);
	if (tcp != NULL)
		tcp->pending = p;

	if (g_hash_table_size(self->pending) > WR_DNS_SERVER_MAX_INFLIGHT || !pending_send(p)) {
		pending_finish(p, NULL, 0);
		return;
	}
	self->stats.forwarded++;
	p->timer = wr_deadline_source_new(self->context, "[warren] DNS forward",
					  MIN(now + WR_DNS_SERVER_RETRY_US, p->deadline),
					  pending_timer_cb, p);
}

/* one query from a client: answered, forwarded or dropped; for a TCP client, TRUE when a
 * reply's write (now or after upstream) goes on to its next query */
static gboolean
handle(WrDnsServer *self, const uint8_t *msg, size_t len, UdpListener *udp, GSocketAddress *from,
       TcpConn *tcp)
{
	uint8_t out[WR_DNS_MAX_MSG];
	size_t out_len = 0;
	WrDnsMessage q;
	WrDnsVerdict v;
	Pending direct = {.udp_client = udp, .client = from, .tcp_client = tcp};

	self->stats.queries++;
	v = wr_dns_resolver_handle(self->resolver, msg, len, udp != NULL, out, sizeof(out),
				   &out_len, &q);
	switch (v) {
	case WR_DNS_VERDICT_REPLY:
		self->stats.answered++;
		send_to_client(&direct, out, out_len);
		return TRUE;
	case WR_DNS_VERDICT_FORWARD:
		forward(self, &q, msg, len, udp, from, tcp);
		return TRUE;
	case WR_DNS_VERDICT_DROP:
	default:
		self->stats.dropped++;
		return FALSE;
	}
}

/* ---- UDP clients ---- */

static gboolean
udp_readable_cb(GSocket *socket, GIOCondition condition, gpointer user_data)
{
	UdpListener *l = user_data;
	uint8_t buf[WR_DNS_MAX_MSG];

	(void) condition;
	/* a few at a time, then let the rest of the loop run */
	for (guint i = 0; i < 16; i++) {
		g_autoptr(GSocketAddress) from = NULL;
		gssize n =
			g_socket_receive_from(socket, &from, (char *) buf, sizeof(buf), NULL, NULL);

		if (n < 0)
			break;
		(void) handle(l->server, buf, (size_t) n, l, from, NULL);
	}
	return G_SOURCE_CONTINUE;
}

static void
udp_listener_free(gpointer data)
{
	UdpListener *l = data;

	wr_source_clear(&l->source);
	(void) g_socket_close(l->socket, NULL);
	g_object_unref(l->socket);
	g_free(l);
}

/* ---- TCP clients ---- */

static void
tcp_conn_free(gpointer data)
{
	TcpConn *c = data;

	g_cancellable_cancel(c->cancel);
	wr_source_clear(&c->idle);
	(void) g_io_stream_close(G_IO_STREAM(c->conn), NULL, NULL);
	g_object_unref(c->conn);
	g_object_unref(c->cancel);
	g_free(c->msg);
	g_free(c);
}

static void
tcp_conn_close(TcpConn *c)
{
	if (c->pending != NULL) {
		c->pending->tcp_client = NULL;
		c->pending = NULL;
	}
	g_hash_table_remove(c->server->tcp_conns, c);
}

static gboolean
tcp_idle_cb(gpointer user_data)
{
	TcpConn *c = user_data;

	/* a query upstream keeps the connection until it ends */
	if (c->pending != NULL) {
		g_source_set_ready_time(c->idle,
					g_get_monotonic_time() + WR_DNS_SERVER_TCP_IDLE_US);
		return G_SOURCE_CONTINUE;
	}
	/* frees c, and destroys this source with it */
	tcp_conn_close(c);
	return G_SOURCE_REMOVE;
}

/* ends a read of c's: FALSE when it failed, c then closed (or gone, if cancelled); else how
 * many bytes it got and the length prefix c last read */
static gboolean
tcp_read_finish(TcpConn *c, GObject *source, GAsyncResult *res, gsize *out_got, size_t *out_len)
{
	g_autoptr(GError) error = NULL;

	*out_got = 0;
	if (!g_input_stream_read_all_finish(G_INPUT_STREAM(source), res, out_got, &error)) {
		if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
			tcp_conn_close(c);
		return FALSE;
	}
	*out_len = ((size_t) c->len_buf[0] << 8) | c->len_buf[1];
	return TRUE;
}

static void
tcp_msg_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	TcpConn *c = user_data;
	gsize got;
	size_t len;

	if (!tcp_read_finish(c, source, res, &got, &len))
		return;
	if (got != len) {
		tcp_conn_close(c);
		return;
	}
	if (!handle(c->server, c->msg, len, NULL, NULL, c))
		tcp_conn_read_next(c);
}

static void
tcp_written_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GError) error = NULL;
	TcpConn *c;

	if (!g_output_stream_write_all_finish(G_OUTPUT_STREAM(source), res, NULL, &error)) {
		/* cancelled: c is gone */
		if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
			tcp_conn_close(user_data);
		return;
	}
	c = user_data;
	tcp_conn_read_next(c);
}

static void
tcp_len_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	TcpConn *c = user_data;
	gsize got;
	size_t len;

	if (!tcp_read_finish(c, source, res, &got, &len))
		return;
	/* end of stream, or a length no query has */
	if (got != TCP_LEN_BYTES || len < WR_DNS_HEADER_LEN) {
		tcp_conn_close(c);
		return;
	}
	g_source_set_ready_time(c->idle, g_get_monotonic_time() + WR_DNS_SERVER_TCP_IDLE_US);
	g_input_stream_read_all_async(G_INPUT_STREAM(source), c->msg, len, G_PRIORITY_DEFAULT,
				      c->cancel, tcp_msg_cb, c);
}

static void
tcp_conn_read_next(TcpConn *c)
{
	GInputStream *in = g_io_stream_get_input_stream(G_IO_STREAM(c->conn));

	g_input_stream_read_all_async(in, c->len_buf, TCP_LEN_BYTES, G_PRIORITY_DEFAULT, c->cancel,
				      tcp_len_cb, c);
}

static gboolean
tcp_incoming_cb(GSocketService *service, GSocketConnection *conn, GObject *source_object,
		gpointer user_data)
{
	WrDnsServer *self = user_data;
	TcpConn *c;

	(void) service;
	(void) source_object;
	if (g_hash_table_size(self->tcp_conns) >= WR_DNS_SERVER_MAX_TCP) {
		self->stats.dropped++;
		(void) g_io_stream_close(G_IO_STREAM(conn), NULL, NULL);
		return TRUE;
	}
	c = g_new0(TcpConn, 1);
	c->server = self;
	c->conn = g_object_ref(conn);
	c->cancel = g_cancellable_new();
	c->msg = g_malloc(WR_DNS_MAX_MSG + TCP_LEN_BYTES);
	c->idle = wr_deadline_source_new(self->context, "[warren] DNS TCP idle",
					 g_get_monotonic_time() + WR_DNS_SERVER_TCP_IDLE_US,
					 tcp_idle_cb, c);
	g_hash_table_add(self->tcp_conns, c);
	tcp_conn_read_next(c);
	return TRUE;
}

/* ---- life ---- */

WrDnsServer *
wr_dns_server_new(WrDnsResolver *resolver, const WrEndpoint *listen, guint n_listen, GError **error)
{
	g_autoptr(WrDnsServer) self = g_new0(WrDnsServer, 1);

	self->resolver = resolver;
	self->context = g_main_context_ref_thread_default();
	self->udp = g_ptr_array_new_with_free_func(udp_listener_free);
	self->tcp = g_socket_service_new();
	self->tcp_conns = g_hash_table_new_full(g_direct_hash, g_direct_equal, tcp_conn_free, NULL);
	self->pending = g_hash_table_new_full(g_direct_hash, g_direct_equal, pending_free, NULL);
	self->upstreams = g_ptr_array_new_with_free_func(g_object_unref);
	g_signal_connect(self->tcp, "incoming", G_CALLBACK(tcp_incoming_cb), self);

	for (guint i = 0; i < n_listen; i++) {
		g_autoptr(GSocket) tcp = NULL;
		UdpListener *l;
		GSocket *udp = bound_socket(&listen[i], FALSE, error);

		if (udp == NULL)
			return NULL;
		l = g_new0(UdpListener, 1);
		l->server = self;
		l->socket = udp;
		l->source = g_socket_create_source(udp, G_IO_IN, NULL);
		g_source_set_callback(l->source, G_SOURCE_FUNC(udp_readable_cb), l, NULL);
		g_source_set_static_name(l->source, "[warren] DNS server");
		g_source_attach(l->source, self->context);
		g_ptr_array_add(self->udp, l);

		tcp = bound_socket(&listen[i], TRUE, error);
		if (tcp == NULL ||
		    !g_socket_listener_add_socket(G_SOCKET_LISTENER(self->tcp), tcp, NULL, error))
			return NULL;
	}
	g_socket_service_start(self->tcp);
	return g_steal_pointer(&self);
}

void
wr_dns_server_free(WrDnsServer *self)
{
	if (self == NULL)
		return;
	g_socket_service_stop(self->tcp);
	g_socket_listener_close(G_SOCKET_LISTENER(self->tcp));
	g_signal_handlers_disconnect_by_data(self->tcp, self);
	g_clear_object(&self->tcp);
	/* the pending queries before the connections that wait for them */
	g_clear_pointer(&self->pending, g_hash_table_unref);
	g_clear_pointer(&self->tcp_conns, g_hash_table_unref);
	g_clear_pointer(&self->udp, g_ptr_array_unref);
	g_clear_pointer(&self->upstreams, g_ptr_array_unref);
	g_main_context_unref(self->context);
	g_free(self);
}

void
wr_dns_server_set_upstreams(WrDnsServer *self, const char *const *upstreams)
{
	g_ptr_array_set_size(self->upstreams, 0);
	for (guint i = 0; upstreams != NULL && upstreams[i] != NULL &&
			  self->upstreams->len < WR_DNS_SERVER_MAX_UPSTREAMS;
	     i++) {
		g_autoptr(GInetAddress) a = g_inet_address_new_from_string(upstreams[i]);
		WrEndpoint ep;

		if (a != NULL)
			g_ptr_array_add(self->upstreams, g_inet_socket_address_new(a, WR_DNS_PORT));
		else if (wr_endpoint_parse(&ep, upstreams[i]))
			g_ptr_array_add(self->upstreams, g_socket_address_new_from_native(
								 &ep, wr_endpoint_socklen(&ep)));
	}
	self->next_upstream = 0;
}

guint
wr_dns_server_get_n_upstreams(WrDnsServer *self)
{
	return self->upstreams->len;
}

void
wr_dns_server_get_stats(WrDnsServer *self, WrDnsServerStats *out)
{
	*out = self->stats;
}
