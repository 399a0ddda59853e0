/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer target for the DNS codec (wr-dns) and MagicDNS's resolver core
 * (wr-dns-resolver): arbitrary messages through the parser and the resolver, over UDP and TCP.
 * Besides the sanitizers it checks the contracts: every name read converts back to the same wire
 * form; a reply built for a parsed query parses, carries its id and question, and fits the
 * client's UDP size; the resolver's reply always parses, and it never answers a reply (QR).
 *
 * Input: the message, as is.
 */

#define G_LOG_DOMAIN "WrFuzzDns"

#include "config.h"

#include <glib.h>
#include <string.h>

#include "wr-dns-resolver.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static WrDnsResolver *resolver;

static void
setup(void)
{
	WrCidr c[2];

	resolver = wr_dns_resolver_new();
	g_assert_true(wr_dns_resolver_set_domain(resolver, "tailnet.test"));
	g_assert_true(wr_cidr_parse(&c[0], "100.64.0.1"));
	g_assert_true(wr_cidr_parse(&c[1], "fd7a:115c:a1e0::6440:1"));
	g_assert_true(wr_dns_resolver_add_host(resolver, "n1.tailnet.test", c, 2));
	g_assert_true(wr_cidr_parse(&c[0], "100.64.0.2"));
	g_assert_true(wr_dns_resolver_add_host(resolver, "n2.tailnet.test", c, 1));
}

static void
check_query(const uint8_t *data, size_t size, const WrDnsMessage *m)
{
	static uint8_t out[WR_DNS_MAX_MSG];
	uint8_t wire[WR_DNS_MAX_NAME];
	WrDnsAnswer a[3];
	WrDnsMessage r;
	int n;

	(void) data;
	(void) size;
	if (!m->has_question)
		return;
	/* the text form is one to one with the wire form */
	n = wr_dns_name_to_wire(m->qname, wire);
	g_assert_cmpint(n, ==, m->qname_wire_len);
	g_assert_cmpmem(wire, (size_t) n, m->qname_wire, m->qname_wire_len);

	memset(a, 0, sizeof(a));
	a[0].type = WR_DNS_TYPE_A;
	a[1].type = WR_DNS_TYPE_AAAA;
	a[2].type = WR_DNS_TYPE_PTR;
	a[2].ptr = m->qname[0] != '\0' ? m->qname : "n1.tailnet.test";
	n = wr_dns_build_reply(m, WR_DNS_RCODE_NOERROR, true, a, 3, true, out, sizeof(out));
	g_assert_cmpint(n, >, 0);
	g_assert_cmpint(n, <=, m->has_edns && m->edns_udp_size > 512 ? m->edns_udp_size : 512);
	g_assert_cmpint(wr_dns_parse(out, (size_t) n, &r), ==, 0);
	g_assert_cmphex(r.header.id, ==, m->header.id);
	g_assert_cmpmem(r.qname_wire, r.qname_wire_len, m->qname_wire, m->qname_wire_len);
	g_assert_true(r.has_edns == m->has_edns);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[WR_DNS_MAX_MSG];
	WrDnsMessage m, q, r;
	WrDnsHeader h;
	size_t len = 0;

	if (resolver == NULL)
		setup();
	if (wr_dns_parse(data, size, &m) == 0)
		check_query(data, size, &m);

	for (int udp = 0; udp < 2; udp++) {
		WrDnsVerdict v = wr_dns_resolver_handle(resolver, data, size, udp, out, sizeof(out),
							&len, &q);

		if (v == WR_DNS_VERDICT_REPLY) {
			g_assert_cmpint(wr_dns_parse_header(data, size, &h), ==, 0);
			g_assert_true((h.flags & WR_DNS_FLAG_QR) == 0);
			g_assert_cmpint(wr_dns_parse(out, len, &r), ==, 0);
			g_assert_cmphex(r.header.id, ==, h.id);
			if (udp)
				g_assert_cmpuint(len, <=, 65535);
		} else if (v == WR_DNS_VERDICT_FORWARD) {
			g_assert_true(q.has_question);
		}
	}
	return 0;
}
