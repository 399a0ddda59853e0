/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * MagicDNS's server (wr-dns-server) on loopback: the tailnet's names answered over UDP and TCP,
 * other names forwarded to a real dnsmasq (skipped when it is not installed), and the
 * forwarder's defences checked against an upstream played by the test: a fresh id, replies
 * with the wrong id, question or port ignored, SERVFAIL after the timeout, the in-flight bound.
 */

#define G_LOG_DOMAIN "WrDnsServerTest"

#include "config.h"

#include <glib.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "wr-crypto.h"
#include "wr-dns-server.h"
#include "wr-test-util.h"

#define BUF_MAX 4096
#define WAIT_MS 3000

typedef struct {
	WrDnsResolver *resolver;
	WrDnsServer *server;
	guint16 port;
} Fixture;

/* a port free for both UDP and TCP on 127.0.0.1 right now */
static guint16
free_port(void)
{
	for (;;) {
		g_autoptr(GSocket) u = g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
						    G_SOCKET_PROTOCOL_UDP, NULL);
		g_autoptr(GSocket) t = g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
						    G_SOCKET_PROTOCOL_TCP, NULL);
		g_autoptr(GInetAddress) lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
		g_autoptr(GSocketAddress) any = g_inet_socket_address_new(lo, 0);
		g_autoptr(GSocketAddress) bound = NULL;
		g_autoptr(GSocketAddress) same = NULL;
		guint16 port;

		g_assert_true(g_socket_bind(u, any, FALSE, NULL));
		bound = g_socket_get_local_address(u, NULL);
		port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
		same = g_inet_socket_address_new(lo, port);
		if (g_socket_bind(t, same, FALSE, NULL))
			return port;
	}
}

static void
fixture_setup(Fixture *f, gconstpointer data)
{
	g_autofree char *text = NULL;
	g_autoptr(GError) error = NULL;
	WrEndpoint ep;
	WrCidr c;

	(void) data;
	f->resolver = wr_dns_resolver_new();
	g_assert_true(wr_dns_resolver_set_domain(f->resolver, "tailnet.test"));
	g_assert_true(wr_cidr_parse(&c, "100.64.0.1"));
	g_assert_true(wr_dns_resolver_add_host(f->resolver, "n1.tailnet.test", &c, 1));
	f->port = free_port();
	text = g_strdup_printf("127.0.0.1:%u", f->port);
	g_assert_true(wr_endpoint_parse(&ep, text));
	f->server = wr_dns_server_new(f->resolver, &ep, 1, &error);
	g_assert_no_error(error);
	g_assert_nonnull(f->server);
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
	(void) data;
	wr_dns_server_free(f->server);
	wr_dns_resolver_free(f->resolver);
	/* what the server's sources leave to finish */
	while (g_main_context_iteration(NULL, FALSE))
		;
}

static size_t
query(uint8_t *out, uint16_t id, const char *name, uint16_t type)
{
	int n;

	memset(out, 0, 12);
	put16(out, id);
	put16(out + 2, 0x0100);
	put16(out + 4, 1);
	n = wr_dns_name_to_wire(name, out + 12);
	g_assert_cmpint(n, >, 0);
	put16(out + 12 + n, type);
	put16(out + 14 + n, WR_DNS_CLASS_IN);
	return 16 + (size_t) n;
}

static GSocketAddress *
loopback(guint16 port)
{
	g_autoptr(GInetAddress) lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);

	return g_inet_socket_address_new(lo, port);
}

static GSocket *
udp_socket(void)
{
	GSocket *s = g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
				  G_SOCKET_PROTOCOL_UDP, NULL);
	g_autoptr(GSocketAddress) any = loopback(0);

	g_assert_true(g_socket_bind(s, any, FALSE, NULL));
	g_socket_set_blocking(s, FALSE);
	return s;
}

/* waits (running the main loop) for a datagram on s; its length, 0 when none came */
static size_t
udp_wait(GSocket *s, uint8_t *buf, guint timeout_ms, GSocketAddress **out_from)
{
	gint64 end = g_get_monotonic_time() + (gint64) timeout_ms * 1000;

	while (g_get_monotonic_time() < end) {
		gssize n = g_socket_receive_from(s, out_from, (char *) buf, BUF_MAX, NULL, NULL);

		if (n > 0)
			return (size_t) n;
		g_main_context_iteration(NULL, FALSE);
		g_usleep(500);
	}
	return 0;
}

/* asks the server over UDP, returns the reply parsed (asserting it came, with the id) */
static size_t
ask_udp(Fixture *f, uint16_t id, const char *name, uint16_t type, uint8_t *reply, WrDnsMessage *m)
{
	g_autoptr(GSocket) s = udp_socket();
	g_autoptr(GSocketAddress) to = loopback(f->port);
	uint8_t q[BUF_MAX];
	size_t qlen = query(q, id, name, type), len;

	g_assert_cmpint(g_socket_send_to(s, to, (const char *) q, qlen, NULL, NULL), ==, qlen);
	len = udp_wait(s, reply, WAIT_MS + 5000, NULL);
	g_assert_cmpuint(len, >, 0);
	g_assert_cmpint(wr_dns_parse(reply, len, m), ==, 0);
	g_assert_cmphex(m->header.id, ==, id);
	return len;
}

/* the same over TCP; reply is the message without its length */
static size_t
ask_tcp(Fixture *f, uint16_t id, const char *name, uint16_t type, uint8_t *reply, WrDnsMessage *m)
{
	g_autoptr(GSocket) s = g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
					    G_SOCKET_PROTOCOL_TCP, NULL);
	g_autoptr(GSocketAddress) to = loopback(f->port);
	uint8_t q[BUF_MAX], buf[BUF_MAX];
	size_t qlen = query(q + 2, id, name, type), have = 0, want;
	gint64 end = g_get_monotonic_time() + (WAIT_MS + 5000) * 1000;

	put16(q, (uint16_t) qlen);
	/* the kernel completes the handshake before the server accepts */
	g_assert_true(g_socket_connect(s, to, NULL, NULL));
	g_assert_cmpint(g_socket_send(s, (const char *) q, qlen + 2, NULL, NULL), ==, qlen + 2);
	g_socket_set_blocking(s, FALSE);
	while (g_get_monotonic_time() < end) {
		gssize n = g_socket_receive(s, (char *) buf + have, sizeof(buf) - have, NULL, NULL);

		if (n > 0)
			have += (size_t) n;
		if (have >= 2 && have >= 2 + (size_t) be16(buf))
			break;
		g_main_context_iteration(NULL, FALSE);
		g_usleep(500);
	}
	g_assert_cmpuint(have, >=, 2);
	want = be16(buf);
	g_assert_cmpuint(have, ==, 2 + want);
	memcpy(reply, buf + 2, want);
	g_assert_cmpint(wr_dns_parse(reply, want, m), ==, 0);
	g_assert_cmphex(m->header.id, ==, id);
	return want;
}

static void
test_tailnet_names(Fixture *f, gconstpointer data)
{
	uint8_t reply[BUF_MAX];
	WrDnsMessage m;
	WrDnsServerStats st;

	(void) data;
	ask_udp(f, 0x1111, "n1.tailnet.test", WR_DNS_TYPE_A, reply, &m);
	g_assert_cmpuint(m.header.flags & WR_DNS_RCODE_MASK, ==, WR_DNS_RCODE_NOERROR);
	g_assert_cmpuint(m.n_answers, ==, 1);
	assert_hex_eq(reply + m.answers[0].rdata_off, 4, "64400001");
	ask_tcp(f, 0x2222, "n1.tailnet.test", WR_DNS_TYPE_A, reply, &m);
	g_assert_cmpuint(m.n_answers, ==, 1);
	assert_hex_eq(reply + m.answers[0].rdata_off, 4, "64400001");
	ask_tcp(f, 0x3333, "n9.tailnet.test", WR_DNS_TYPE_A, reply, &m);
	g_assert_cmpuint(m.header.flags & WR_DNS_RCODE_MASK, ==, WR_DNS_RCODE_NXDOMAIN);
	/* no upstream: SERVFAIL at once */
	g_assert_cmpuint(wr_dns_server_get_n_upstreams(f->server), ==, 0);
	ask_udp(f, 0x4444, "www.example.net", WR_DNS_TYPE_A, reply, &m);
	g_assert_cmpuint(m.header.flags & WR_DNS_RCODE_MASK, ==, WR_DNS_RCODE_SERVFAIL);
	ask_tcp(f, 0x5555, "www.example.net", WR_DNS_TYPE_A, reply, &m);
	g_assert_cmpuint(m.header.flags & WR_DNS_RCODE_MASK, ==, WR_DNS_RCODE_SERVFAIL);
	wr_dns_server_get_stats(f->server, &st);
	g_assert_cmpuint(st.queries, ==, 5);
	g_assert_cmpuint(st.answered, ==, 3);
	g_assert_cmpuint(st.servfail, ==, 2);
}

/* a real upstream: dnsmasq on loopback */
static void
test_forward_dnsmasq(Fixture *f, gconstpointer data)
{
	g_autofree char *dnsmasq = g_find_program_in_path("dnsmasq");
	g_autofree char *port_arg = NULL;
	g_autofree char *upstream = NULL;
	g_autoptr(GError) error = NULL;
	uint8_t reply[BUF_MAX];
	WrDnsMessage m;
	GPid pid;
	guint16 port;

	(void) data;
	if (dnsmasq == NULL) {
		g_test_skip("dnsmasq is not installed (tools/bootstrap)");
		return;
	}
	port = free_port();
	port_arg = g_strdup_printf("--port=%u", port);
	{
		const char *argv[] = {
			dnsmasq,
			"--keep-in-foreground",
			"--no-resolv",
			"--no-hosts",
			"--bind-interfaces",
			"--listen-address=127.0.0.1",
			port_arg,
			"--pid-file=",
			"--host-record=www.example.net,192.0.2.80",
			"--txt-record=big.example.net,"
			"0123456789012345678901234567890123456789012345678901234567890123"
			"4567890123456789012345678901234567890123456789012345678901234567"
			"890123456789012345678901234567890123456789",
			NULL};

		g_assert_true(g_spawn_async(NULL, (char **) argv, NULL,
					    G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL |
						    G_SPAWN_STDERR_TO_DEV_NULL,
					    NULL, NULL, &pid, &error));
	}
	upstream = g_strdup_printf("127.0.0.1:%u", port);
	{
		const char *ups[] = {upstream, "not an address", NULL};

		wr_dns_server_set_upstreams(f->server, ups);
	}
	g_assert_cmpuint(wr_dns_server_get_n_upstreams(f->server), ==, 1);
	/* dnsmasq needs a moment to listen: the first query may time out into SERVFAIL */
	for (guint i = 0; i < 20; i++) {
		ask_udp(f, (uint16_t) (0x100 + i), "www.example.net", WR_DNS_TYPE_A, reply, &m);
		if ((m.header.flags & WR_DNS_RCODE_MASK) == WR_DNS_RCODE_NOERROR)
			break;
	}
	g_assert_cmpuint(m.header.flags & WR_DNS_RCODE_MASK, ==, WR_DNS_RCODE_NOERROR);
	g_assert_cmpuint(m.n_answers, ==, 1);
	assert_hex_eq(reply + m.answers[0].rdata_off, 4, "c0000250");
	g_assert_cmpstr(m.qname, ==, "www.example.net");
	/* over TCP the upstream is asked over TCP */
	ask_tcp(f, 0x7777, "www.example.net", WR_DNS_TYPE_A, reply, &m);
	g_assert_cmpuint(m.n_answers, ==, 1);
	assert_hex_eq(reply + m.answers[0].rdata_off, 4, "c0000250");
	ask_tcp(f, 0x7778, "big.example.net", WR_DNS_TYPE_TXT, reply, &m);
	g_assert_cmpuint(m.n_answers, ==, 1);
	g_assert_cmpuint(m.answers[0].type, ==, WR_DNS_TYPE_TXT);
	/* a name dnsmasq has no server for: its REFUSED, passed on */
	ask_udp(f, 0x8888, "nothing.example.org", WR_DNS_TYPE_A, reply, &m);
	g_assert_cmpuint(m.header.flags & WR_DNS_RCODE_MASK, ==, WR_DNS_RCODE_REFUSED);
	g_assert_cmpuint(m.n_answers, ==, 0);

	kill(pid, SIGTERM);
	(void) waitpid(pid, NULL, 0);
	g_spawn_close_pid(pid);
}

/* the upstream is the test: the forwarder's checks, one by one */
static void
test_forward_checks(Fixture *f, gconstpointer data)
{
	g_autoptr(GSocket) up = udp_socket();
	g_autoptr(GSocket) other = udp_socket();
	g_autoptr(GSocket) client = udp_socket();
	g_autoptr(GSocketAddress) up_addr = g_socket_get_local_address(up, NULL);
	g_autoptr(GSocketAddress) to = loopback(f->port);
	g_autoptr(GSocketAddress) from = NULL;
	g_autofree char *up_text = g_strdup_printf(
		"127.0.0.1:%u", g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(up_addr)));
	const char *ups[] = {up_text, NULL};
	uint8_t q[BUF_MAX], fwd[BUF_MAX], r[BUF_MAX], reply[BUF_MAX];
	size_t qlen = query(q, 0xabcd, "www.example.net", WR_DNS_TYPE_A), flen, rlen;
	WrDnsMessage m;
	WrDnsAnswer a = {.type = WR_DNS_TYPE_A, .ttl = 60, .addr = {192, 0, 2, 80}};
	WrDnsServerStats st;
	gint64 t0;

	(void) data;
	wr_dns_server_set_upstreams(f->server, ups);
	g_assert_cmpint(g_socket_send_to(client, to, (const char *) q, qlen, NULL, NULL), ==, qlen);
	flen = udp_wait(up, fwd, WAIT_MS, &from);
	g_assert_cmpuint(flen, ==, qlen);
	/* the same query under a new id (a 1 in 65536 chance of the same one is allowed for) */
	g_assert_cmpmem(fwd + 2, flen - 2, q + 2, qlen - 2);
	g_assert_cmpint(wr_dns_parse(fwd, flen, &m), ==, 0);

	/* a reply with the client's id, with another question, from another port: ignored */
	rlen = (size_t) wr_dns_build_reply(&m, WR_DNS_RCODE_NOERROR, false, &a, 1, true, r,
					   sizeof(r));
	if (be16(fwd) != 0xabcd) {
		put16(r, 0xabcd);
		g_assert_cmpint(g_socket_send_to(up, from, (const char *) r, rlen, NULL, NULL), ==,
				rlen);
	}
	put16(r, be16(fwd));
	g_assert_cmpint(g_socket_send_to(other, from, (const char *) r, rlen, NULL, NULL), ==,
			rlen);
	{
		WrDnsMessage other_q = m;

		other_q.qtype = WR_DNS_TYPE_AAAA;
		rlen = (size_t) wr_dns_build_reply(&other_q, WR_DNS_RCODE_NOERROR, false, NULL, 0,
						   true, r, sizeof(r));
		g_assert_cmpint(g_socket_send_to(up, from, (const char *) r, rlen, NULL, NULL), ==,
				rlen);
	}
	g_assert_cmpuint(udp_wait(client, reply, 300, NULL), ==, 0);
	/* the real one */
	rlen = (size_t) wr_dns_build_reply(&m, WR_DNS_RCODE_NOERROR, false, &a, 1, true, r,
					   sizeof(r));
	g_assert_cmpint(g_socket_send_to(up, from, (const char *) r, rlen, NULL, NULL), ==, rlen);
	g_assert_cmpuint(udp_wait(client, reply, WAIT_MS, NULL), ==, rlen);
	g_assert_cmpint(wr_dns_parse(reply, rlen, &m), ==, 0);
	g_assert_cmphex(m.header.id, ==, 0xabcd);
	g_assert_cmpuint(m.n_answers, ==, 1);

	/* silence: a retry to the (only) upstream after 2 s, SERVFAIL after 5 s */
	t0 = g_get_monotonic_time();
	put16(q, 0x0bad);
	g_assert_cmpint(g_socket_send_to(client, to, (const char *) q, qlen, NULL, NULL), ==, qlen);
	g_assert_cmpuint(udp_wait(up, fwd, WAIT_MS, NULL), ==, qlen);
	g_assert_cmpuint(udp_wait(up, fwd, WAIT_MS, NULL), ==, qlen);
	rlen = udp_wait(client, reply, 7000, NULL);
	g_assert_cmpuint(rlen, >, 0);
	g_assert_cmpint(g_get_monotonic_time() - t0, >=, WR_DNS_SERVER_TIMEOUT_US);
	g_assert_cmpint(g_get_monotonic_time() - t0, <, WR_DNS_SERVER_TIMEOUT_US + G_USEC_PER_SEC);
	g_assert_cmpint(wr_dns_parse(reply, rlen, &m), ==, 0);
	g_assert_cmphex(m.header.id, ==, 0x0bad);
	g_assert_cmpuint(m.header.flags & WR_DNS_RCODE_MASK, ==, WR_DNS_RCODE_SERVFAIL);

	/* the in-flight bound: past it, SERVFAIL at once */
	for (guint i = 0; i < WR_DNS_SERVER_MAX_INFLIGHT + 1; i++) {
		put16(q, (uint16_t) i);
		g_assert_cmpint(g_socket_send_to(client, to, (const char *) q, qlen, NULL, NULL),
				==, qlen);
		/* let the server read it before the socket buffer fills */
		while (g_main_context_iteration(NULL, FALSE))
			;
	}
	rlen = udp_wait(client, reply, WAIT_MS, NULL);
	g_assert_cmpuint(rlen, >, 0);
	g_assert_cmpint(wr_dns_parse(reply, rlen, &m), ==, 0);
	g_assert_cmphex(m.header.id, ==, WR_DNS_SERVER_MAX_INFLIGHT);
	g_assert_cmpuint(m.header.flags & WR_DNS_RCODE_MASK, ==, WR_DNS_RCODE_SERVFAIL);
	wr_dns_server_get_stats(f->server, &st);
	g_assert_cmpuint(st.forwarded, ==, 2 + WR_DNS_SERVER_MAX_INFLIGHT);
	g_assert_cmpuint(st.servfail, ==, 2);
}

/* upstreams of both families: the retry after 2 s goes to the other one, on a socket of its
 * family, and its answer counts */
static void
test_retry_other_family(Fixture *f, gconstpointer data)
{
	g_autoptr(GSocket) up6 = g_socket_new(G_SOCKET_FAMILY_IPV6, G_SOCKET_TYPE_DATAGRAM,
					      G_SOCKET_PROTOCOL_UDP, NULL);
	g_autoptr(GSocket) up4 = udp_socket();
	g_autoptr(GSocket) client = udp_socket();
	g_autoptr(GInetAddress) lo6 = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV6);
	g_autoptr(GSocketAddress) any6 = g_inet_socket_address_new(lo6, 0);
	g_autoptr(GSocketAddress) a6 = NULL;
	g_autoptr(GSocketAddress) a4 = g_socket_get_local_address(up4, NULL);
	g_autoptr(GSocketAddress) to = loopback(f->port);
	g_autoptr(GSocketAddress) from = NULL;
	g_autofree char *t6 = NULL;
	g_autofree char *t4 = NULL;
	uint8_t q[BUF_MAX], fwd[BUF_MAX], r[BUF_MAX], reply[BUF_MAX];
	size_t qlen = query(q, 0x6464, "www.example.net", WR_DNS_TYPE_A), rlen;
	WrDnsMessage m;
	gint64 t0;

	(void) data;
	if (up6 == NULL || !g_socket_bind(up6, any6, FALSE, NULL)) {
		g_test_skip("no IPv6 loopback here");
		return;
	}
	g_socket_set_blocking(up6, FALSE);
	a6 = g_socket_get_local_address(up6, NULL);
	t6 = g_strdup_printf("[::1]:%u", g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(a6)));
	t4 = g_strdup_printf("127.0.0.1:%u",
			     g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(a4)));
	{
		const char *ups[] = {t6, t4, NULL};

		wr_dns_server_set_upstreams(f->server, ups);
	}
	g_assert_cmpuint(wr_dns_server_get_n_upstreams(f->server), ==, 2);
	t0 = g_get_monotonic_time();
	g_assert_cmpint(g_socket_send_to(client, to, (const char *) q, qlen, NULL, NULL), ==, qlen);
	/* the first upstream (IPv6) says nothing */
	g_assert_cmpuint(udp_wait(up6, fwd, WAIT_MS, NULL), ==, qlen);
	/* the second (IPv4) is asked 2 s later */
	g_assert_cmpuint(udp_wait(up4, fwd, WAIT_MS, &from), ==, qlen);
	g_assert_cmpint(g_get_monotonic_time() - t0, >=, WR_DNS_SERVER_RETRY_US);
	g_assert_cmpint(wr_dns_parse(fwd, qlen, &m), ==, 0);
	rlen = (size_t) wr_dns_build_reply(&m, WR_DNS_RCODE_NXDOMAIN, false, NULL, 0, true, r,
					   sizeof(r));
	g_assert_cmpint(g_socket_send_to(up4, from, (const char *) r, rlen, NULL, NULL), ==, rlen);
	g_assert_cmpuint(udp_wait(client, reply, WAIT_MS, NULL), ==, rlen);
	g_assert_cmpint(wr_dns_parse(reply, rlen, &m), ==, 0);
	g_assert_cmphex(m.header.id, ==, 0x6464);
	g_assert_cmpuint(m.header.flags & WR_DNS_RCODE_MASK, ==, WR_DNS_RCODE_NXDOMAIN);

	/* the next query goes to the one that answered, at once */
	put16(q, 0x6465);
	g_assert_cmpint(g_socket_send_to(client, to, (const char *) q, qlen, NULL, NULL), ==, qlen);
	t0 = g_get_monotonic_time();
	g_assert_cmpuint(udp_wait(up4, fwd, WAIT_MS, NULL), ==, qlen);
	g_assert_cmpint(g_get_monotonic_time() - t0, <, WR_DNS_SERVER_RETRY_US / 2);
	g_assert_cmpuint(udp_wait(up6, fwd, 100, NULL), ==, 0);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_assert_true(wr_crypto_init());

	g_test_add("/warren/dns-server/tailnet-names", Fixture, NULL, fixture_setup,
		   test_tailnet_names, fixture_teardown);
	g_test_add("/warren/dns-server/forward-dnsmasq", Fixture, NULL, fixture_setup,
		   test_forward_dnsmasq, fixture_teardown);
	g_test_add("/warren/dns-server/forward-checks", Fixture, NULL, fixture_setup,
		   test_forward_checks, fixture_teardown);
	g_test_add("/warren/dns-server/retry-other-family", Fixture, NULL, fixture_setup,
		   test_retry_other_family, fixture_teardown);
	return g_test_run();
}
