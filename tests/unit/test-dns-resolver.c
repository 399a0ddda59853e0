/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * MagicDNS's resolver core (wr-dns-resolver): which queries it answers, how, and which it
 * forwards; and the resolv.conf reader.
 */

#define G_LOG_DOMAIN "WrDnsResolverTest"

#include "config.h"

#include <glib.h>
#include <string.h>

#include "wr-dns-resolver.h"
#include "wr-test-util.h"

#define BUF_MAX 2048

/* a query written here byte by byte, independent of the builder under test */
static size_t
query(uint8_t *out, uint16_t id, const char *name, uint16_t type, uint16_t klass, gboolean edns)
{
	int n;
	size_t pos = 12;

	memset(out, 0, 12);
	put16(out, id);
	put16(out + 2, 0x0100); /* RD */
	put16(out + 4, 1);
	put16(out + 10, edns ? 1 : 0);
	n = wr_dns_name_to_wire(name, out + pos);
	g_assert_cmpint(n, >, 0);
	pos += (size_t) n;
	put16(out + pos, type);
	put16(out + pos + 2, klass);
	pos += 4;
	if (edns) {
		/* root, OPT, UDP 4096, TTL 0, no options */
		memcpy(out + pos, "\x00\x00\x29\x10\x00\x00\x00\x00\x00\x00\x00", 11);
		pos += 11;
	}
	return pos;
}

typedef struct {
	WrDnsResolver *r;
} Fixture;

static void
add(WrDnsResolver *r, const char *name, const char *a, const char *b)
{
	WrCidr c[3];
	size_t n = 0;

	if (a != NULL)
		g_assert_true(wr_cidr_parse(&c[n++], a));
	if (b != NULL)
		g_assert_true(wr_cidr_parse(&c[n++], b));
	/* a route is not an address of the node */
	g_assert_true(wr_cidr_parse(&c[n++], "192.0.2.0/24"));
	g_assert_true(wr_dns_resolver_add_host(r, name, c, n));
}

static void
fixture_setup(Fixture *f, gconstpointer data)
{
	(void) data;
	f->r = wr_dns_resolver_new();
	g_assert_true(wr_dns_resolver_set_domain(f->r, "tailnet.test."));
	add(f->r, "n1.tailnet.test.", "100.64.0.1/32", "fd7a:115c:a1e0::6440:1/128");
	add(f->r, "N2.Tailnet.Test", "100.64.0.2", NULL);
	add(f->r, "n1-2.tailnet.test", "100.100.7.9/32", "fd7a:115c:a1e0::6464:709/128");
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
	(void) data;
	wr_dns_resolver_free(f->r);
}

/* runs a query; the verdict, and the reply parsed when there is one */
static WrDnsVerdict
ask(Fixture *f, const char *name, uint16_t type, uint16_t klass, gboolean udp, WrDnsMessage *reply,
    uint8_t *out)
{
	uint8_t q[BUF_MAX];
	size_t qlen = query(q, 0x1234, name, type, klass, FALSE), len = 0;
	WrDnsMessage fwd;
	WrDnsVerdict v = wr_dns_resolver_handle(f->r, q, qlen, udp, out, BUF_MAX, &len, &fwd);

	if (v == WR_DNS_VERDICT_REPLY) {
		g_assert_cmpint(wr_dns_parse(out, len, reply), ==, 0);
		g_assert_cmphex(reply->header.id, ==, 0x1234);
		g_assert_true((reply->header.flags & WR_DNS_FLAG_QR) != 0);
		g_assert_true(wr_dns_name_equal(reply->qname, name));
		g_assert_cmpuint(reply->qtype, ==, type);
	} else if (v == WR_DNS_VERDICT_FORWARD) {
		g_assert_cmpstr(fwd.qname, ==, name);
		g_assert_cmpuint(fwd.qtype, ==, type);
	}
	return v;
}

static guint
rcode(const WrDnsMessage *m)
{
	return m->header.flags & WR_DNS_RCODE_MASK;
}

static void
test_forward_and_reverse_lookups(Fixture *f, gconstpointer data)
{
	uint8_t out[BUF_MAX];
	WrDnsMessage m;
	char name[WR_DNS_NAME_STRLEN];
	size_t off;

	(void) data;
	g_assert_cmpuint(wr_dns_resolver_get_n_hosts(f->r), ==, 3);
	g_assert_cmpstr(wr_dns_resolver_get_domain(f->r), ==, "tailnet.test");

	g_assert_cmpint(ask(f, "n1.tailnet.test", WR_DNS_TYPE_A, 1, TRUE, &m, out), ==,
			WR_DNS_VERDICT_REPLY);
	g_assert_cmpuint(rcode(&m), ==, WR_DNS_RCODE_NOERROR);
	g_assert_true((m.header.flags & WR_DNS_FLAG_AA) != 0);
	g_assert_cmpuint(m.n_answers, ==, 1);
	g_assert_cmpuint(m.answers[0].type, ==, WR_DNS_TYPE_A);
	g_assert_cmpuint(m.answers[0].ttl, ==, WR_DNS_RESOLVER_TTL);
	assert_hex_eq(out + m.answers[0].rdata_off, 4, "64400001");

	/* case does not matter, and is echoed as asked */
	g_assert_cmpint(ask(f, "N1.TAILNET.test", WR_DNS_TYPE_AAAA, 1, TRUE, &m, out), ==,
			WR_DNS_VERDICT_REPLY);
	g_assert_cmpstr(m.qname, ==, "N1.TAILNET.test");
	g_assert_cmpuint(m.n_answers, ==, 1);
	assert_hex_eq(out + m.answers[0].rdata_off, 16, "fd7a115ca1e000000000000064400001");

	g_assert_cmpint(ask(f, "n1.tailnet.test", WR_DNS_TYPE_ANY, 1, FALSE, &m, out), ==,
			WR_DNS_VERDICT_REPLY);
	g_assert_cmpuint(m.n_answers, ==, 2);

	/* a node without IPv6: NOERROR, no data */
	g_assert_cmpint(ask(f, "n2.tailnet.test", WR_DNS_TYPE_AAAA, 1, TRUE, &m, out), ==,
			WR_DNS_VERDICT_REPLY);
	g_assert_cmpuint(rcode(&m), ==, WR_DNS_RCODE_NOERROR);
	g_assert_cmpuint(m.n_answers, ==, 0);
	g_assert_cmpint(ask(f, "n2.tailnet.test", WR_DNS_TYPE_MX, 1, TRUE, &m, out), ==,
			WR_DNS_VERDICT_REPLY);
	g_assert_cmpuint(rcode(&m), ==, WR_DNS_RCODE_NOERROR);
	g_assert_cmpuint(m.n_answers, ==, 0);

	/* the suffixed name control gave the second "n1" */
	g_assert_cmpint(ask(f, "n1-2.tailnet.test", WR_DNS_TYPE_A, 1, TRUE, &m, out), ==,
			WR_DNS_VERDICT_REPLY);
	assert_hex_eq(out + m.answers[0].rdata_off, 4, "64640709");

	/* PTR, IPv4 and IPv6, to the name as the map wrote it */
	g_assert_cmpint(ask(f, "2.0.64.100.in-addr.arpa", WR_DNS_TYPE_PTR, 1, TRUE, &m, out), ==,
			WR_DNS_VERDICT_REPLY);
	g_assert_cmpuint(rcode(&m), ==, WR_DNS_RCODE_NOERROR);
	g_assert_cmpuint(m.n_answers, ==, 1);
	g_assert_cmpuint(m.answers[0].type, ==, WR_DNS_TYPE_PTR);
	off = m.answers[0].rdata_off;
	g_assert_cmpint(wr_dns_name_read(out, sizeof(out), &off, name, NULL, NULL), ==, 0);
	g_assert_cmpstr(name, ==, "N2.Tailnet.Test");
	g_assert_cmpint(
		ask(f, "9.0.7.0.4.6.4.6.0.0.0.0.0.0.0.0.0.0.0.0.0.e.1.a.c.5.1.1.a.7.d.f.ip6.arpa",
		    WR_DNS_TYPE_PTR, 1, TRUE, &m, out),
		==, WR_DNS_VERDICT_REPLY);
	g_assert_cmpuint(m.n_answers, ==, 1);
	off = m.answers[0].rdata_off;
	g_assert_cmpint(wr_dns_name_read(out, sizeof(out), &off, name, NULL, NULL), ==, 0);
	g_assert_cmpstr(name, ==, "n1-2.tailnet.test");
	/* an A query for a reverse name of ours: no data */
	g_assert_cmpint(ask(f, "2.0.64.100.in-addr.arpa", WR_DNS_TYPE_A, 1, TRUE, &m, out), ==,
			WR_DNS_VERDICT_REPLY);
	g_assert_cmpuint(rcode(&m), ==, WR_DNS_RCODE_NOERROR);
	g_assert_cmpuint(m.n_answers, ==, 0);

	/* the bare first label (docs/magicdns.md) */
	g_assert_cmpint(ask(f, "n2", WR_DNS_TYPE_A, 1, TRUE, &m, out), ==, WR_DNS_VERDICT_REPLY);
	assert_hex_eq(out + m.answers[0].rdata_off, 4, "64400002");
}

static void
test_nxdomain_and_errors(Fixture *f, gconstpointer data)
{
	uint8_t out[BUF_MAX], q[BUF_MAX];
	WrDnsMessage m;
	size_t len, qlen;

	(void) data;
	g_assert_cmpint(ask(f, "nobody.tailnet.test", WR_DNS_TYPE_A, 1, TRUE, &m, out), ==,
			WR_DNS_VERDICT_REPLY);
	g_assert_cmpuint(rcode(&m), ==, WR_DNS_RCODE_NXDOMAIN);
	g_assert_true((m.header.flags & WR_DNS_FLAG_AA) != 0);
	g_assert_cmpint(ask(f, "www.n1.tailnet.test", WR_DNS_TYPE_A, 1, TRUE, &m, out), ==,
			WR_DNS_VERDICT_REPLY);
	g_assert_cmpuint(rcode(&m), ==, WR_DNS_RCODE_NXDOMAIN);
	/* the domain itself exists */
	g_assert_cmpint(ask(f, "tailnet.test", WR_DNS_TYPE_A, 1, TRUE, &m, out), ==,
			WR_DNS_VERDICT_REPLY);
	g_assert_cmpuint(rcode(&m), ==, WR_DNS_RCODE_NOERROR);
	g_assert_cmpuint(m.n_answers, ==, 0);
	/* a tailnet address nobody has; a CHAOS query for a tailnet name */
	g_assert_cmpint(ask(f, "9.9.64.100.in-addr.arpa", WR_DNS_TYPE_PTR, 1, TRUE, &m, out), ==,
			WR_DNS_VERDICT_REPLY);
	g_assert_cmpuint(rcode(&m), ==, WR_DNS_RCODE_NXDOMAIN);
	g_assert_cmpint(ask(f, "n1.tailnet.test", WR_DNS_TYPE_A, 3, TRUE, &m, out), ==,
			WR_DNS_VERDICT_REPLY);
	g_assert_cmpuint(rcode(&m), ==, WR_DNS_RCODE_REFUSED);

	/* not a query: an opcode of 2 (STATUS) */
	qlen = query(q, 7, "n1.tailnet.test", WR_DNS_TYPE_A, 1, TRUE);
	q[2] |= 0x10;
	g_assert_cmpint(wr_dns_resolver_handle(f->r, q, qlen, TRUE, out, BUF_MAX, &len, NULL), ==,
			WR_DNS_VERDICT_REPLY);
	g_assert_cmpint(wr_dns_parse(out, len, &m), ==, 0);
	g_assert_cmpuint(rcode(&m), ==, WR_DNS_RCODE_NOTIMP);
	g_assert_true(m.has_edns);
	/* EDNS version 1: BADVERS (in the OPT record's extended rcode), version 0 in the reply */
	q[2] &= (uint8_t) ~0x10;
	q[qlen - 11 + 6] = 1;
	g_assert_cmpint(wr_dns_resolver_handle(f->r, q, qlen, TRUE, out, BUF_MAX, &len, NULL), ==,
			WR_DNS_VERDICT_REPLY);
	g_assert_cmpint(wr_dns_parse(out, len, &m), ==, 0);
	g_assert_cmpuint(rcode(&m), ==, 0);
	g_assert_cmpuint(m.edns_ext_rcode, ==, 1);
	g_assert_cmpuint(m.edns_version, ==, 0);
	g_assert_cmpuint(m.n_answers, ==, 0);
	q[qlen - 11 + 6] = 0;
	/* a reply is never answered */
	q[2] = 0x81;
	g_assert_cmpint(wr_dns_resolver_handle(f->r, q, qlen, TRUE, out, BUF_MAX, &len, NULL), ==,
			WR_DNS_VERDICT_DROP);
	/* garbage after a good header: FORMERR with the id */
	q[2] = 0x01;
	g_assert_cmpint(wr_dns_resolver_handle(f->r, q, qlen - 3, TRUE, out, BUF_MAX, &len, NULL),
			==, WR_DNS_VERDICT_REPLY);
	g_assert_cmpuint(len, ==, WR_DNS_HEADER_LEN);
	assert_hex_eq(out, len, "000781810000000000000000");
	/* no question */
	put16(q + 4, 0);
	g_assert_cmpint(wr_dns_resolver_handle(f->r, q, 12, TRUE, out, BUF_MAX, &len, NULL), ==,
			WR_DNS_VERDICT_REPLY);
	assert_hex_eq(out, len, "000781810000000000000000");
	/* shorter than a header */
	g_assert_cmpint(wr_dns_resolver_handle(f->r, q, 11, TRUE, out, BUF_MAX, &len, NULL), ==,
			WR_DNS_VERDICT_DROP);
}

static void
test_forwarded(Fixture *f, gconstpointer data)
{
	uint8_t out[BUF_MAX];
	WrDnsMessage m;

	(void) data;
	g_assert_cmpint(ask(f, "www.example.net", WR_DNS_TYPE_A, 1, TRUE, &m, out), ==,
			WR_DNS_VERDICT_FORWARD);
	g_assert_cmpint(ask(f, "test", WR_DNS_TYPE_A, 1, TRUE, &m, out), ==,
			WR_DNS_VERDICT_FORWARD);
	g_assert_cmpint(ask(f, "unknownhost", WR_DNS_TYPE_A, 1, TRUE, &m, out), ==,
			WR_DNS_VERDICT_FORWARD);
	g_assert_cmpint(ask(f, "", WR_DNS_TYPE_NS, 1, TRUE, &m, out), ==, WR_DNS_VERDICT_FORWARD);
	/* reverse names outside the tailnet's ranges, and partial ones */
	g_assert_cmpint(ask(f, "80.2.0.192.in-addr.arpa", WR_DNS_TYPE_PTR, 1, TRUE, &m, out), ==,
			WR_DNS_VERDICT_FORWARD);
	g_assert_cmpint(ask(f, "1.0.0.128.in-addr.arpa", WR_DNS_TYPE_PTR, 1, TRUE, &m, out), ==,
			WR_DNS_VERDICT_FORWARD);
	g_assert_cmpint(ask(f, "64.100.in-addr.arpa", WR_DNS_TYPE_PTR, 1, TRUE, &m, out), ==,
			WR_DNS_VERDICT_FORWARD);
	g_assert_cmpint(ask(f, "01.0.64.100.in-addr.arpa", WR_DNS_TYPE_PTR, 1, TRUE, &m, out), ==,
			WR_DNS_VERDICT_FORWARD);

	/* with the domain off, everything goes upstream */
	g_assert_true(wr_dns_resolver_set_domain(f->r, ""));
	g_assert_cmpuint(wr_dns_resolver_get_n_hosts(f->r), ==, 0);
	g_assert_cmpint(ask(f, "n1.tailnet.test", WR_DNS_TYPE_A, 1, TRUE, &m, out), ==,
			WR_DNS_VERDICT_FORWARD);
	g_assert_cmpint(ask(f, "n1", WR_DNS_TYPE_A, 1, TRUE, &m, out), ==, WR_DNS_VERDICT_FORWARD);
	/* but the tailnet's reverse ranges stay ours */
	g_assert_cmpint(ask(f, "1.0.64.100.in-addr.arpa", WR_DNS_TYPE_PTR, 1, TRUE, &m, out), ==,
			WR_DNS_VERDICT_REPLY);
	g_assert_cmpuint(rcode(&m), ==, WR_DNS_RCODE_NXDOMAIN);
}

static void
test_hosts(void)
{
	g_autoptr(WrDnsResolver) r = wr_dns_resolver_new();
	WrCidr c;

	g_assert_true(wr_cidr_parse(&c, "100.64.0.1"));
	/* no domain yet: nothing can be added */
	g_assert_false(wr_dns_resolver_add_host(r, "n1.tailnet.test", &c, 1));
	g_assert_false(wr_dns_resolver_set_domain(r, "a..b"));
	g_assert_cmpstr(wr_dns_resolver_get_domain(r), ==, "");
	g_assert_true(wr_dns_resolver_set_domain(r, "tailnet.test"));
	g_assert_true(wr_dns_resolver_add_host(r, "n1.tailnet.test", &c, 1));
	g_assert_false(wr_dns_resolver_add_host(r, "N1.tailnet.test.", &c, 1));
	g_assert_false(wr_dns_resolver_add_host(r, "n1.example.net", &c, 1));
	g_assert_false(wr_dns_resolver_add_host(r, "tailnet.test", &c, 1));
	g_assert_false(wr_dns_resolver_add_host(r, "x..tailnet.test", &c, 1));
	g_assert_cmpuint(wr_dns_resolver_get_n_hosts(r), ==, 1);
}

static gboolean
skip_ours(const char *addr, gpointer user_data)
{
	(void) user_data;
	return strcmp(addr, "100.100.100.100") == 0;
}

static void
test_resolv_conf(void)
{
	const char *text = "# generated\n"
			   "search example.net\n"
			   "nameserver 192.0.2.53\n"
			   "nameserver\t2001:db8::53   # a comment\n"
			   "nameserver fe80::1%eth0\n"
			   "nameserver 100.100.100.100\n"
			   "  nameserver 198.51.100.53\r\n"
			   "nameserver not-an-address\n"
			   "nameserver 192.0.2.0/24\n"
			   "; nameserver 203.0.113.1\n"
			   "options edns0\n"
			   "nameserver 203.0.113.53";
	g_auto(GStrv) all = wr_dns_parse_resolv_conf(text, 8, skip_ours, NULL);
	g_auto(GStrv) two = wr_dns_parse_resolv_conf(text, 2, NULL, NULL);
	g_auto(GStrv) none = wr_dns_parse_resolv_conf("", 8, NULL, NULL);
	const char *want[] = {"192.0.2.53", "2001:db8::53", "198.51.100.53", "203.0.113.53", NULL};

	g_assert_cmpstrv(all, want);
	g_assert_cmpuint(g_strv_length(two), ==, 2);
	g_assert_cmpuint(g_strv_length(none), ==, 0);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	g_test_add("/warren/dns-resolver/lookups", Fixture, NULL, fixture_setup,
		   test_forward_and_reverse_lookups, fixture_teardown);
	g_test_add("/warren/dns-resolver/nxdomain-and-errors", Fixture, NULL, fixture_setup,
		   test_nxdomain_and_errors, fixture_teardown);
	g_test_add("/warren/dns-resolver/forwarded", Fixture, NULL, fixture_setup, test_forwarded,
		   fixture_teardown);
	g_test_add_func("/warren/dns-resolver/hosts", test_hosts);
	g_test_add_func("/warren/dns-resolver/resolv-conf", test_resolv_conf);
	return g_test_run();
}
