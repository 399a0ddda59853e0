/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The DNS message codec (wr-dns) against real packets: queries dig 9.18 sent and the replies
 * dnsmasq 2.90 gave (captured on loopback; dnsmasq served www.example.net = 192.0.2.80 and
 * 2001:db8::80, alias.example.net a CNAME to it).
 */

#define G_LOG_DOMAIN "WrDnsTest"

#include "config.h"

#include <errno.h>
#include <glib.h>
#include <string.h>

#include "wr-dns.h"
#include "wr-test-util.h"

/* dig alias.example.net A (EDNS: UDP 1232, a COOKIE option) */
#define DIG_QUERY_A                                                                               \
	"51020120000100000000000105616c696173076578616d706c65036e6574000001000100002904d00000000" \
	"0000c000a0008dc44c7158546ab4a"
/* dnsmasq's answer: the CNAME, then A owned by a pointer into the CNAME's data (0xc02f) */
#define DNSMASQ_REPLY_A                                                                            \
	"51028580000100020000000105616c696173076578616d706c65036e65740000010001c00c00050001000000" \
	"00001103777777076578616d706c65036e657400c02f00010001000000000004c000025000002904d00000"   \
	"00000000"
/* dig +noedns www.example.net AAAA and its answer */
#define DIG_QUERY_AAAA "20bc0120000100000000000003777777076578616d706c65036e657400001c0001"
#define DNSMASQ_REPLY_AAAA                                                                         \
	"20bc8580000100010000000003777777076578616d706c65036e657400001c0001c00c001c00010000000000" \
	"1020010db8000000000000000000000080"
/* dig -x 192.0.2.80 +noedns and its answer */
#define DIG_QUERY_PTR \
	"439601200001000000000000023830013201300331393207696e2d61646472046172706100000c0001"
#define DNSMASQ_REPLY_PTR                                                                          \
	"439685800001000100000000023830013201300331393207696e2d61646472046172706100000c0001c00c00" \
	"0c000100000000001103777777076578616d706c65036e657400"

#define BUF_MAX 4096

static size_t
from_hex(const char *hex, uint8_t *out)
{
	size_t n = strlen(hex) / 2;

	g_assert_cmpuint(unhex(hex, out, n), ==, n);
	return n;
}

static void
test_dig_query(void)
{
	uint8_t msg[BUF_MAX];
	size_t len = from_hex(DIG_QUERY_A, msg);
	WrDnsMessage m;

	g_assert_cmpint(wr_dns_parse(msg, len, &m), ==, 0);
	g_assert_cmphex(m.header.id, ==, 0x5102);
	g_assert_cmphex(m.header.flags, ==, WR_DNS_FLAG_RD | WR_DNS_FLAG_AD);
	g_assert_true(m.has_question);
	g_assert_cmpstr(m.qname, ==, "alias.example.net");
	g_assert_cmpuint(m.qtype, ==, WR_DNS_TYPE_A);
	g_assert_cmpuint(m.qclass, ==, WR_DNS_CLASS_IN);
	g_assert_cmpuint(m.qname_wire_len, ==, 19);
	g_assert_cmpmem(m.qname_wire, m.qname_wire_len, msg + 12, 19);
	g_assert_true(m.has_edns);
	g_assert_cmpuint(m.edns_udp_size, ==, 1232);
	g_assert_cmpuint(m.edns_version, ==, 0);
	g_assert_false(m.edns_do);
	g_assert_cmpuint(m.n_answers, ==, 0);

	len = from_hex(DIG_QUERY_AAAA, msg);
	g_assert_cmpint(wr_dns_parse(msg, len, &m), ==, 0);
	g_assert_cmpstr(m.qname, ==, "www.example.net");
	g_assert_cmpuint(m.qtype, ==, WR_DNS_TYPE_AAAA);
	g_assert_false(m.has_edns);
}

static void
test_compressed_reply(void)
{
	uint8_t msg[BUF_MAX];
	size_t len = from_hex(DNSMASQ_REPLY_A, msg), off;
	char name[WR_DNS_NAME_STRLEN];
	WrDnsMessage m;

	g_assert_cmpint(wr_dns_parse(msg, len, &m), ==, 0);
	g_assert_cmphex(m.header.flags & WR_DNS_RCODE_MASK, ==, WR_DNS_RCODE_NOERROR);
	g_assert_true((m.header.flags & WR_DNS_FLAG_QR) != 0);
	g_assert_cmpuint(m.n_answers, ==, 2);
	g_assert_cmpuint(m.answers[0].type, ==, WR_DNS_TYPE_CNAME);
	/* the CNAME's target, then the A record's owner: a pointer to that target */
	off = m.answers[0].rdata_off;
	g_assert_cmpint(wr_dns_name_read(msg, len, &off, name, NULL, NULL), ==, 0);
	g_assert_cmpstr(name, ==, "www.example.net");
	g_assert_cmpuint(off, ==, m.answers[0].rdata_off + m.answers[0].rdlength);
	off = m.answers[0].rdata_off + m.answers[0].rdlength;
	g_assert_cmpint(wr_dns_name_read(msg, len, &off, name, NULL, NULL), ==, 0);
	g_assert_cmpstr(name, ==, "www.example.net");
	g_assert_cmpuint(off, ==, m.answers[0].rdata_off + m.answers[0].rdlength + 2);
	g_assert_cmpuint(m.answers[1].type, ==, WR_DNS_TYPE_A);
	g_assert_cmpuint(m.answers[1].rdlength, ==, 4);
	assert_hex_eq(msg + m.answers[1].rdata_off, 4, "c0000250");
	g_assert_true(m.has_edns);

	len = from_hex(DNSMASQ_REPLY_PTR, msg);
	g_assert_cmpint(wr_dns_parse(msg, len, &m), ==, 0);
	g_assert_cmpstr(m.qname, ==, "80.2.0.192.in-addr.arpa");
	g_assert_cmpuint(m.n_answers, ==, 1);
	off = m.answers[0].rdata_off;
	g_assert_cmpint(wr_dns_name_read(msg, len, &off, name, NULL, NULL), ==, 0);
	g_assert_cmpstr(name, ==, "www.example.net");
}

/* our reply to dig's query has dnsmasq's layout: same header flags (AA, RD, RA), the question,
 * the answer owned by a pointer to it */
static void
test_build_like_dnsmasq(void)
{
	uint8_t q[BUF_MAX], want[BUF_MAX], out[BUF_MAX];
	size_t qlen = from_hex(DIG_QUERY_AAAA, q), wlen;
	WrDnsMessage m;
	WrDnsAnswer a = {.type = WR_DNS_TYPE_AAAA, .ttl = 0};
	int n;

	g_assert_cmpint(wr_dns_parse(q, qlen, &m), ==, 0);
	g_assert_cmpuint(from_hex("20010db8000000000000000000000080", a.addr), ==, 16);
	n = wr_dns_build_reply(&m, WR_DNS_RCODE_NOERROR, true, &a, 1, true, out, sizeof(out));
	wlen = from_hex(DNSMASQ_REPLY_AAAA, want);
	/* dnsmasq does not set AD; dig asked with AD, we do not set it either */
	g_assert_cmpmem(out, (size_t) n, want, wlen);

	qlen = from_hex(DIG_QUERY_PTR, q);
	g_assert_cmpint(wr_dns_parse(q, qlen, &m), ==, 0);
	a.type = WR_DNS_TYPE_PTR;
	a.ptr = "www.example.net";
	n = wr_dns_build_reply(&m, WR_DNS_RCODE_NOERROR, true, &a, 1, true, out, sizeof(out));
	wlen = from_hex(DNSMASQ_REPLY_PTR, want);
	g_assert_cmpmem(out, (size_t) n, want, wlen);
}

static void
test_build_edns_and_rcodes(void)
{
	uint8_t q[BUF_MAX], out[BUF_MAX];
	size_t qlen = from_hex(DIG_QUERY_A, q);
	WrDnsMessage m, r;
	int n;

	g_assert_cmpint(wr_dns_parse(q, qlen, &m), ==, 0);
	m.edns_do = true;
	n = wr_dns_build_reply(&m, WR_DNS_RCODE_NXDOMAIN, true, NULL, 0, true, out, sizeof(out));
	g_assert_cmpint(n, >, 0);
	g_assert_cmpint(wr_dns_parse(out, (size_t) n, &r), ==, 0);
	g_assert_cmphex(r.header.id, ==, 0x5102);
	g_assert_cmphex(r.header.flags, ==,
			WR_DNS_FLAG_QR | WR_DNS_FLAG_AA | WR_DNS_FLAG_RD | WR_DNS_FLAG_RA |
				WR_DNS_RCODE_NXDOMAIN);
	g_assert_cmpstr(r.qname, ==, "alias.example.net");
	g_assert_true(r.has_edns);
	g_assert_cmpuint(r.edns_udp_size, ==, WR_DNS_EDNS_UDP);
	g_assert_true(r.edns_do);
	g_assert_cmpuint(r.header.arcount, ==, 1);

	for (WrDnsRcode rc = WR_DNS_RCODE_FORMERR; rc <= WR_DNS_RCODE_REFUSED; rc++) {
		n = wr_dns_build_reply(&m, rc, false, NULL, 0, false, out, sizeof(out));
		g_assert_cmpint(wr_dns_parse(out, (size_t) n, &r), ==, 0);
		g_assert_cmpuint(r.header.flags & WR_DNS_RCODE_MASK, ==, rc);
		g_assert_true((r.header.flags & WR_DNS_FLAG_AA) == 0);
	}
	/* an extended rcode: its upper bits in the OPT record; without EDNS it cannot be said */
	n = wr_dns_build_reply(&m, WR_DNS_RCODE_BADVERS, false, NULL, 0, true, out, sizeof(out));
	g_assert_cmpint(wr_dns_parse(out, (size_t) n, &r), ==, 0);
	g_assert_cmpuint(r.header.flags & WR_DNS_RCODE_MASK, ==, 0);
	g_assert_cmpuint(r.edns_ext_rcode, ==, 1);
	g_assert_cmpuint(r.edns_version, ==, 0);
	m.has_edns = false;
	g_assert_cmpint(wr_dns_build_reply(&m, WR_DNS_RCODE_BADVERS, false, NULL, 0, true, out,
					   sizeof(out)),
			==, -EINVAL);
	m.has_edns = true;
	/* a header alone */
	n = wr_dns_build_error(&m.header, WR_DNS_RCODE_FORMERR, out, sizeof(out));
	g_assert_cmpint(n, ==, WR_DNS_HEADER_LEN);
	assert_hex_eq(out, (size_t) n, "510281810000000000000000");
	g_assert_cmpint(wr_dns_build_error(&m.header, WR_DNS_RCODE_FORMERR, out, 11), ==, -ENOSPC);
	/* no room for the question */
	g_assert_cmpint(wr_dns_build_reply(&m, 0, true, NULL, 0, false, out, 30), ==, -ENOSPC);
}

/* answers that do not fit the client's UDP size are left out, and TC says so */
static void
test_truncation(void)
{
	uint8_t q[BUF_MAX], out[BUF_MAX];
	size_t qlen = from_hex(DIG_QUERY_AAAA, q);
	WrDnsAnswer a[40];
	WrDnsMessage m, r;
	int n;

	memset(a, 0, sizeof(a));
	for (guint i = 0; i < G_N_ELEMENTS(a); i++) {
		a[i].type = WR_DNS_TYPE_AAAA;
		a[i].addr[15] = (uint8_t) i;
	}
	g_assert_cmpint(wr_dns_parse(q, qlen, &m), ==, 0);
	/* 12 + 21 + 40 * 28 > 512 */
	n = wr_dns_build_reply(&m, 0, true, a, G_N_ELEMENTS(a), true, out, sizeof(out));
	g_assert_cmpint(n, <=, WR_DNS_UDP_MIN);
	g_assert_cmpint(wr_dns_parse(out, (size_t) n, &r), ==, 0);
	g_assert_true((r.header.flags & WR_DNS_FLAG_TC) != 0);
	g_assert_cmpuint(r.header.ancount, ==, (512 - 33) / 28);
	/* over TCP all of them */
	n = wr_dns_build_reply(&m, 0, true, a, G_N_ELEMENTS(a), false, out, sizeof(out));
	g_assert_cmpint(n, ==, 33 + 40 * 28);
	g_assert_cmpint(wr_dns_parse(out, (size_t) n, &r), ==, 0);
	g_assert_true((r.header.flags & WR_DNS_FLAG_TC) == 0);
	g_assert_cmpuint(r.header.ancount, ==, 40);
	g_assert_cmpuint(r.n_answers, ==, WR_DNS_MAX_RECORDS);
	assert_hex_eq(out + r.answers[3].rdata_off, 16, "00000000000000000000000000000003");
	/* a bad answer */
	a[0].type = WR_DNS_TYPE_MX;
	g_assert_cmpint(wr_dns_build_reply(&m, 0, true, a, 1, false, out, sizeof(out)), ==,
			-EINVAL);
	a[0].type = WR_DNS_TYPE_PTR;
	a[0].ptr = "a..b";
	g_assert_cmpint(wr_dns_build_reply(&m, 0, true, a, 1, false, out, sizeof(out)), ==,
			-EINVAL);
}

static void
test_names(void)
{
	uint8_t wire[WR_DNS_MAX_NAME], msg[WR_DNS_MAX_NAME + 8];
	char text[WR_DNS_NAME_STRLEN];
	g_autofree char *long_label = g_strnfill(64, 'a');
	g_autofree char *max_label = g_strnfill(63, 'a');
	g_autofree char *too_long = NULL;
	g_autofree char *longest = NULL;
	size_t off = 0, wlen = 0;
	int n;

	g_assert_cmpint(wr_dns_name_to_wire("", wire), ==, 1);
	g_assert_cmpint(wr_dns_name_to_wire(".", wire), ==, 1);
	g_assert_cmpint(wr_dns_name_to_wire("N1.tailnet.test.", wire), ==, 17);
	assert_hex_eq(wire, 17,
		      "024e31077461696c6e65740474657374"
		      "00");
	/* escapes both ways: a dot inside a label, a space, a backslash */
	n = wr_dns_name_to_wire("a\\.b\\032c\\\\.d", wire);
	g_assert_cmpint(n, ==, 10);
	assert_hex_eq(wire, 10, "06612e6220635c016400");
	memcpy(msg, wire, (size_t) n);
	g_assert_cmpint(wr_dns_name_read(msg, (size_t) n, &off, text, wire, &wlen), ==, 0);
	g_assert_cmpstr(text, ==, "a\\046b\\032c\\092.d");
	g_assert_cmpuint(off, ==, 10);
	g_assert_cmpuint(wlen, ==, 10);
	/* and the text form reads back to the same wire */
	g_assert_cmpint(wr_dns_name_to_wire(text, wire), ==, 10);
	g_assert_cmpmem(wire, 10, msg, 10);

	g_assert_cmpint(wr_dns_name_to_wire("a..b", wire), ==, -EINVAL);
	g_assert_cmpint(wr_dns_name_to_wire(".a", wire), ==, -EINVAL);
	g_assert_cmpint(wr_dns_name_to_wire("a\\25", wire), ==, -EINVAL);
	g_assert_cmpint(wr_dns_name_to_wire("a\\256", wire), ==, -EINVAL);
	g_assert_cmpint(wr_dns_name_to_wire("a\\", wire), ==, -EINVAL);
	g_assert_cmpint(wr_dns_name_to_wire(max_label, wire), ==, 65);
	g_assert_cmpint(wr_dns_name_to_wire(long_label, wire), ==, -EINVAL);
	/* 4 labels of 63: 4 * 64 + 1 = 257 > 255; 3 of 63 and one of 61: 255 */
	too_long = g_strjoin(".", max_label, max_label, max_label, max_label, NULL);
	g_assert_cmpint(wr_dns_name_to_wire(too_long, wire), ==, -EINVAL);
	longest = g_strdup_printf("%s.%s.%s.%.61s", max_label, max_label, max_label, max_label);
	g_assert_cmpint(wr_dns_name_to_wire(longest, wire), ==, 255);

	g_assert_true(wr_dns_name_equal("N1.Tailnet.TEST", "n1.tailnet.test"));
	g_assert_false(wr_dns_name_equal("n1.tailnet.test", "n1.tailnet.tes"));
	g_assert_true(wr_dns_name_under("n1.tailnet.test", "TAILNET.test"));
	g_assert_true(wr_dns_name_under("tailnet.test", "tailnet.test"));
	g_assert_false(wr_dns_name_under("n1xtailnet.test", "tailnet.test"));
	g_assert_false(wr_dns_name_under("test", "tailnet.test"));
	g_assert_false(wr_dns_name_under("a\\046tailnet.test", "tailnet.test"));
	g_assert_true(wr_dns_name_under("anything", ""));
}

static void
test_malformed(void)
{
	uint8_t msg[BUF_MAX];
	size_t len = from_hex(DNSMASQ_REPLY_A, msg), off;
	char text[WR_DNS_NAME_STRLEN];
	WrDnsMessage m;
	WrDnsHeader h;

	/* every truncation of a good message fails cleanly */
	for (size_t cut = 0; cut < len; cut++)
		g_assert_cmpint(wr_dns_parse(msg, cut, &m), ==, -EBADMSG);
	g_assert_cmpint(wr_dns_parse_header(msg, 11, &h), ==, -EBADMSG);
	/* a byte after the last record */
	msg[len] = 0;
	g_assert_cmpint(wr_dns_parse(msg, len + 1, &m), ==, -EBADMSG);

	/* the A record's owner pointer (0xc02f at 64) made to point at itself, then forward */
	g_assert_cmphex(msg[64], ==, 0xc0);
	msg[65] = 64;
	g_assert_cmpint(wr_dns_parse(msg, len, &m), ==, -EBADMSG);
	msg[65] = 70;
	g_assert_cmpint(wr_dns_parse(msg, len, &m), ==, -EBADMSG);
	msg[65] = 0x2f;
	g_assert_cmpint(wr_dns_parse(msg, len, &m), ==, 0);
	/* an extended label type */
	msg[64] = 0x40;
	g_assert_cmpint(wr_dns_parse(msg, len, &m), ==, -EBADMSG);
	msg[64] = 0xc0;
	/* two questions */
	msg[5] = 2;
	g_assert_cmpint(wr_dns_parse(msg, len, &m), ==, -EBADMSG);
	msg[5] = 1;
	/* an OPT record in the answer section is just a record there */
	msg[7] = 3;
	msg[11] = 0;
	g_assert_cmpint(wr_dns_parse(msg, len, &m), ==, 0);
	g_assert_false(m.has_edns);
	msg[7] = 2;
	msg[11] = 1;

	/* a chain of pointers, each to the one before: fine up to 64, refused past that */
	memset(msg, 0, sizeof(msg));
	msg[0] = 0;
	msg[1] = 0xc0;
	msg[2] = 0;
	for (size_t i = 3; i + 1 < 400; i += 2) {
		msg[i] = 0xc0 | (uint8_t) ((i - 2) >> 8);
		msg[i + 1] = (uint8_t) (i - 2);
	}
	off = 127;
	g_assert_cmpint(wr_dns_name_read(msg, 400, &off, text, NULL, NULL), ==, 0);
	g_assert_cmpstr(text, ==, "");
	g_assert_cmpuint(off, ==, 129);
	off = 129;
	g_assert_cmpint(wr_dns_name_read(msg, 400, &off, text, NULL, NULL), ==, -EBADMSG);
	g_assert_cmpuint(off, ==, 129);
	/* labels adding up past 255 bytes through pointers */
	memset(msg, 0, sizeof(msg));
	for (size_t i = 0; i < 5; i++) {
		msg[i * 64] = 63;
		memset(msg + i * 64 + 1, 'a', 63);
	}
	msg[320] = 0;
	off = 0;
	g_assert_cmpint(wr_dns_name_read(msg, 321, &off, text, NULL, NULL), ==, -EBADMSG);
	off = 64;
	g_assert_cmpint(wr_dns_name_read(msg, 321, &off, text, NULL, NULL), ==, -EBADMSG);
	off = 128;
	g_assert_cmpint(wr_dns_name_read(msg, 321, &off, text, NULL, NULL), ==, 0);
	g_assert_cmpuint(strlen(text), ==, 3 * 63 + 2);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/warren/dns/dig-query", test_dig_query);
	g_test_add_func("/warren/dns/compressed-reply", test_compressed_reply);
	g_test_add_func("/warren/dns/build-like-dnsmasq", test_build_like_dnsmasq);
	g_test_add_func("/warren/dns/build-edns-and-rcodes", test_build_edns_and_rcodes);
	g_test_add_func("/warren/dns/truncation", test_truncation);
	g_test_add_func("/warren/dns/names", test_names);
	g_test_add_func("/warren/dns/malformed", test_malformed);
	return g_test_run();
}
