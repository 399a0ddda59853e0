/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrAddrTest"

#include "config.h"

#include <arpa/inet.h>
#include <glib.h>
#include <net/if.h>
#include <string.h>

#include "wr-addr.h"
#include "wr-crypto.h"

typedef struct {
	const char *text;
	int family;
	const char *addr; /* inet_ntop form of the parsed address */
	uint16_t port;
	uint32_t scope_id;
	const char *formatted; /* NULL: the same as text */
} EndpointGood;

static const EndpointGood endpoint_good[] = {
	{"1.2.3.4:51820", AF_INET, "1.2.3.4", 51820, 0, NULL},
	{"0.0.0.0:1", AF_INET, "0.0.0.0", 1, 0, NULL},
	{"255.255.255.255:65535", AF_INET, "255.255.255.255", 65535, 0, NULL},
	{"[2001:db8::1]:51820", AF_INET6, "2001:db8::1", 51820, 0, NULL},
	{"[::1]:1", AF_INET6, "::1", 1, 0, NULL},
	{"[::]:9", AF_INET6, "::", 9, 0, NULL},
	{"[2001:0DB8:0000::0001]:80", AF_INET6, "2001:db8::1", 80, 0, "[2001:db8::1]:80"},
	{"[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535", AF_INET6,
	 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535, 0, NULL},
	/* v4-mapped addresses become plain IPv4 */
	{"[::ffff:192.0.2.1]:51820", AF_INET, "192.0.2.1", 51820, 0, "192.0.2.1:51820"},
	{"[::ffff:c000:201]:7", AF_INET, "192.0.2.1", 7, 0, "192.0.2.1:7"},
	/* IPv4-compatible (deprecated) is not mapped: it stays IPv6 */
	{"[::192.0.2.1]:7", AF_INET6, "::192.0.2.1", 7, 0, NULL},
	/* numeric scopes on link-local addresses */
	{"[fe80::1%2]:51820", AF_INET6, "fe80::1", 51820, 2, NULL},
	{"[fe80::abcd:1%4294967295]:65535", AF_INET6, "fe80::abcd:1", 65535, 4294967295U, NULL},
	{"[fe80::1]:51820", AF_INET6, "fe80::1", 51820, 0, NULL},
};

static const char *const endpoint_bad[] = {
	"",
	"1.2.3.4",
	"1.2.3.4:",
	"1.2.3.4:0",
	"1.2.3.4:65536",
	"1.2.3.4:99999999999999999999",
	"1.2.3.4:+1",
	"1.2.3.4:-1",
	"1.2.3.4: 1",
	"1.2.3.4:1 ",
	"1.2.3.4:01",
	"1.2.3.4:1x",
	"1.2.3.4:0x10",
	"1.2.3.4:1:2",
	" 1.2.3.4:1",
	"1.2.3:1",
	"1.2.3.256:1",
	"01.2.3.4:1",
	"1.2.3.4.:1",
	":1",
	"[1.2.3.4]:1",
	"2001:db8::1:51820",
	"::1:1",
	"[2001:db8::1]51820",
	"[2001:db8::1]:",
	"[2001:db8::1]:0",
	"[2001:db8::1:51820",
	"[2001:db8::1]]:1",
	"[[2001:db8::1]]:1",
	"[2001:db8::1] :1",
	"[]:1",
	"[2001:db8::g]:1",
	"[2001:db8:::1]:1",
	"[fe80::1%]:1",
	"[fe80::1%0]:1",
	"[fe80::1%01]:1",
	"[fe80::1%nosuchif0]:1", /* names must exist */
	"[fe80::1%a/b]:1",
	"[fe80::1%averyveryverylongname]:1",
	"[fe80::1%4294967296]:1",
	"[fe80::1%-1]:1",
	"[fe80::1%1%1]:1",
	"[2001:db8::1%1]:1", /* scopes only on link-local addresses */
	"[::ffff:1.2.3.4%1]:1",
	"example.com:80",
	"localhost:51820",
	"[localhost]:51820",
	"1.2.3.4:51820\n",
	"[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff%4294967295]:65535xxxxxxxxx",
};

static void
fill_sentinel(void *p, size_t len)
{
	memset(p, 0xa5, len);
}

static bool
is_sentinel(const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++) {
		if (b[i] != 0xa5)
			return false;
	}
	return true;
}

static void
test_endpoint_parse_good(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(endpoint_good); i++) {
		const EndpointGood *t = &endpoint_good[i];
		WrEndpoint ep;
		char text[WR_ENDPOINT_STRLEN];
		char addr[INET6_ADDRSTRLEN];

		g_test_message("%s", t->text);
		fill_sentinel(&ep, sizeof(ep));
		g_assert_true(wr_endpoint_parse(&ep, t->text));
		g_assert_cmpint(ep.sa.sa_family, ==, t->family);
		if (t->family == AF_INET) {
			g_assert_nonnull(inet_ntop(AF_INET, &ep.in4.sin_addr, addr, sizeof(addr)));
			g_assert_cmpuint(ntohs(ep.in4.sin_port), ==, t->port);
			g_assert_cmpuint(wr_endpoint_socklen(&ep), ==, sizeof(struct sockaddr_in));
			/* the parser leaves no garbage in the padding */
			for (size_t j = 0; j < sizeof(ep.in4.sin_zero); j++)
				g_assert_cmpuint(ep.in4.sin_zero[j], ==, 0);
		} else {
			g_assert_nonnull(
				inet_ntop(AF_INET6, &ep.in6.sin6_addr, addr, sizeof(addr)));
			g_assert_cmpuint(ntohs(ep.in6.sin6_port), ==, t->port);
			g_assert_cmpuint(ep.in6.sin6_scope_id, ==, t->scope_id);
			g_assert_cmpuint(ep.in6.sin6_flowinfo, ==, 0);
			g_assert_cmpuint(wr_endpoint_socklen(&ep), ==, sizeof(struct sockaddr_in6));
		}
		g_assert_cmpstr(addr, ==, t->addr);
		wr_endpoint_format(&ep, text);
		g_assert_cmpstr(text, ==, t->formatted != NULL ? t->formatted : t->text);
	}
}

static void
test_endpoint_parse_bad(void)
{
	WrEndpoint ep;

	for (size_t i = 0; i < G_N_ELEMENTS(endpoint_bad); i++) {
		g_test_message("\"%s\"", endpoint_bad[i]);
		fill_sentinel(&ep, sizeof(ep));
		g_assert_false(wr_endpoint_parse(&ep, endpoint_bad[i]));
		g_assert_true(is_sentinel(&ep, sizeof(ep)));
	}
	g_assert_false(wr_endpoint_parse(&ep, NULL));
	g_assert_true(is_sentinel(&ep, sizeof(ep)));
}

static void
test_endpoint_parse_long(void)
{
	g_autofree char *text = g_strnfill(10000, '1');
	WrEndpoint ep;

	text[1] = ':';
	g_assert_false(wr_endpoint_parse(&ep, text));
}

static WrEndpoint
endpoint(const char *text)
{
	WrEndpoint ep;

	g_assert_true(wr_endpoint_parse(&ep, text));
	return ep;
}

/* wg(8) passes "%eth0" through the UAPI as typed: a name is resolved to its index */
static void
test_endpoint_scope_name(void)
{
	WrEndpoint ep;
	char text[WR_ENDPOINT_STRLEN];
	unsigned int lo = if_nametoindex("lo");

	g_assert_cmpuint(lo, !=, 0);
	g_assert_true(wr_endpoint_parse(&ep, "[fe80::1%lo]:51820"));
	g_assert_cmpint(ep.sa.sa_family, ==, AF_INET6);
	g_assert_cmpuint(ep.in6.sin6_scope_id, ==, lo);
	g_assert_cmpuint(ntohs(ep.in6.sin6_port), ==, 51820);
	/* it formats with the index, which parses back to the same endpoint */
	wr_endpoint_format(&ep, text);
	{
		WrEndpoint again;
		g_autofree char *want = g_strdup_printf("[fe80::1%%%u]:51820", lo);

		g_assert_cmpstr(text, ==, want);
		g_assert_true(wr_endpoint_parse(&again, text));
		g_assert_true(wr_endpoint_equal(&ep, &again));
	}
	/* names are for link-local addresses only, like numbers */
	g_assert_false(wr_endpoint_parse(&ep, "[2001:db8::1%lo]:51820"));
}

static void
test_endpoint_format(void)
{
	WrEndpoint ep;
	char text[WR_ENDPOINT_STRLEN];

	memset(&ep, 0, sizeof(ep));
	ep.sa.sa_family = AF_UNSPEC;
	wr_endpoint_format(&ep, text);
	g_assert_cmpstr(text, ==, "(none)");
	g_assert_cmpuint(wr_endpoint_socklen(&ep), ==, 0);

	ep.sa.sa_family = AF_UNIX;
	wr_endpoint_format(&ep, text);
	g_assert_cmpstr(text, ==, "(none)");
	g_assert_cmpuint(wr_endpoint_socklen(&ep), ==, 0);

	/* a v4-mapped address built by hand, as recvmmsg on a dual-stack socket gives it */
	memset(&ep, 0, sizeof(ep));
	ep.in6.sin6_family = AF_INET6;
	ep.in6.sin6_port = htons(4242);
	g_assert_cmpint(inet_pton(AF_INET6, "::ffff:198.51.100.7", &ep.in6.sin6_addr), ==, 1);
	wr_endpoint_format(&ep, text);
	g_assert_cmpstr(text, ==, "198.51.100.7:4242");

	/* a scope on a global address is printed if someone put it there */
	memset(&ep, 0, sizeof(ep));
	ep.in6.sin6_family = AF_INET6;
	ep.in6.sin6_port = htons(1);
	ep.in6.sin6_scope_id = 7;
	g_assert_cmpint(inet_pton(AF_INET6, "2001:db8::1", &ep.in6.sin6_addr), ==, 1);
	wr_endpoint_format(&ep, text);
	g_assert_cmpstr(text, ==, "[2001:db8::1%7]:1");
}

typedef struct {
	const char *a;
	const char *b;
	bool equal;
} EndpointPair;

static const EndpointPair endpoint_pairs[] = {
	{"1.2.3.4:1", "1.2.3.4:1", true},
	{"1.2.3.4:1", "1.2.3.4:2", false},
	{"1.2.3.4:1", "1.2.3.5:1", false},
	{"1.2.3.4:1", "[::ffff:1.2.3.4]:1", true},
	{"1.2.3.4:1", "[::1.2.3.4]:1", false},
	{"[2001:db8::1]:1", "[2001:db8::1]:1", true},
	{"[2001:db8::1]:1", "[2001:db8::2]:1", false},
	{"[2001:db8::1]:1", "[2001:db8::1]:2", false},
	{"[fe80::1%1]:1", "[fe80::1%1]:1", true},
	{"[fe80::1%1]:1", "[fe80::1%2]:1", false},
	{"[fe80::1%1]:1", "[fe80::1]:1", false},
	{"0.0.0.0:1", "[::]:1", false},
};

static void
test_endpoint_equal(void)
{
	WrEndpoint none1;
	WrEndpoint none2;
	WrEndpoint v4 = endpoint("1.2.3.4:1");
	WrEndpoint mapped;

	for (size_t i = 0; i < G_N_ELEMENTS(endpoint_pairs); i++) {
		WrEndpoint a = endpoint(endpoint_pairs[i].a);
		WrEndpoint b = endpoint(endpoint_pairs[i].b);

		g_test_message("%s vs %s", endpoint_pairs[i].a, endpoint_pairs[i].b);
		g_assert_true(wr_endpoint_equal(&a, &a));
		g_assert_cmpint(wr_endpoint_equal(&a, &b), ==, endpoint_pairs[i].equal);
		g_assert_cmpint(wr_endpoint_equal(&b, &a), ==, endpoint_pairs[i].equal);
	}

	memset(&none1, 0, sizeof(none1));
	memset(&none2, 0xff, sizeof(none2));
	none2.sa.sa_family = AF_UNSPEC;
	g_assert_true(wr_endpoint_equal(&none1, &none2));
	g_assert_false(wr_endpoint_equal(&none1, &v4));
	g_assert_false(wr_endpoint_equal(&v4, &none1));

	/* a mapped address that was never unmapped still equals its IPv4 form */
	wr_endpoint_to_v6_mapped(&v4, &mapped);
	g_assert_cmpint(mapped.sa.sa_family, ==, AF_INET6);
	g_assert_true(wr_endpoint_equal(&mapped, &v4));
	g_assert_true(wr_endpoint_equal(&v4, &mapped));
}

static void
test_endpoint_mapping(void)
{
	WrEndpoint v4 = endpoint("192.0.2.1:51820");
	WrEndpoint v6 = endpoint("[2001:db8::1]:51820");
	WrEndpoint out;
	char addr[INET6_ADDRSTRLEN];

	wr_endpoint_to_v6_mapped(&v4, &out);
	g_assert_cmpint(out.sa.sa_family, ==, AF_INET6);
	g_assert_cmpuint(ntohs(out.in6.sin6_port), ==, 51820);
	g_assert_cmpuint(out.in6.sin6_scope_id, ==, 0);
	g_assert_cmpuint(out.in6.sin6_flowinfo, ==, 0);
	g_assert_nonnull(inet_ntop(AF_INET6, &out.in6.sin6_addr, addr, sizeof(addr)));
	g_assert_cmpstr(addr, ==, "::ffff:192.0.2.1");
	g_assert_cmpuint(wr_endpoint_socklen(&out), ==, sizeof(struct sockaddr_in6));

	wr_endpoint_unmap(&out);
	g_assert_cmpint(out.sa.sa_family, ==, AF_INET);
	g_assert_cmpmem(&out.in4, sizeof(out.in4), &v4.in4, sizeof(v4.in4));

	/* in place, and a no-op on anything but IPv4 */
	out = v4;
	wr_endpoint_to_v6_mapped(&out, &out);
	g_assert_cmpint(out.sa.sa_family, ==, AF_INET6);
	wr_endpoint_to_v6_mapped(&v6, &out);
	g_assert_cmpmem(&out, sizeof(out), &v6, sizeof(v6));
	wr_endpoint_unmap(&out);
	g_assert_cmpmem(&out, sizeof(out), &v6, sizeof(v6));
	out = v4;
	wr_endpoint_unmap(&out);
	g_assert_cmpmem(&out, sizeof(out), &v4, sizeof(v4));
}

static void
test_endpoint_addr_bytes(void)
{
	static const uint8_t v4_bytes[] = {192, 0, 2, 1};
	static const uint8_t v6_bytes[] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
					   0,	 0,    0,    0,	   0, 0, 0, 1};
	WrEndpoint ep = endpoint("192.0.2.1:51820");
	WrEndpoint mapped;
	uint8_t out[16];
	uint16_t port_be = 0;

	g_assert_cmpuint(wr_endpoint_addr_bytes(&ep, out, &port_be), ==, 4);
	g_assert_cmpmem(out, 4, v4_bytes, sizeof(v4_bytes));
	g_assert_cmpuint(port_be, ==, htons(51820));

	wr_endpoint_to_v6_mapped(&ep, &mapped);
	port_be = 0;
	g_assert_cmpuint(wr_endpoint_addr_bytes(&mapped, out, &port_be), ==, 4);
	g_assert_cmpmem(out, 4, v4_bytes, sizeof(v4_bytes));
	g_assert_cmpuint(port_be, ==, htons(51820));

	ep = endpoint("[2001:db8::1]:443");
	g_assert_cmpuint(wr_endpoint_addr_bytes(&ep, out, &port_be), ==, 16);
	g_assert_cmpmem(out, 16, v6_bytes, sizeof(v6_bytes));
	g_assert_cmpuint(port_be, ==, htons(443));
	g_assert_cmpuint(wr_endpoint_addr_bytes(&ep, out, NULL), ==, 16);

	memset(&ep, 0, sizeof(ep));
	g_assert_cmpuint(wr_endpoint_addr_bytes(&ep, out, &port_be), ==, 0);
	g_assert_cmpuint(port_be, ==, 0);
}

typedef struct {
	const char *text;
	int family;
	unsigned cidr;
	const char *formatted; /* wr_cidr_format() before masking */
	const char *masked;    /* and after */
} CidrGood;

static const CidrGood cidr_good[] = {
	{"192.0.2.0/24", AF_INET, 24, "192.0.2.0/24", "192.0.2.0/24"},
	{"192.0.2.255/24", AF_INET, 24, "192.0.2.255/24", "192.0.2.0/24"},
	{"10.1.2.3/31", AF_INET, 31, "10.1.2.3/31", "10.1.2.2/31"},
	{"10.255.255.255/9", AF_INET, 9, "10.255.255.255/9", "10.128.0.0/9"},
	{"255.255.255.255/0", AF_INET, 0, "255.255.255.255/0", "0.0.0.0/0"},
	{"0.0.0.0/0", AF_INET, 0, "0.0.0.0/0", "0.0.0.0/0"},
	{"10.0.0.1", AF_INET, 32, "10.0.0.1/32", "10.0.0.1/32"},
	{"10.0.0.1/32", AF_INET, 32, "10.0.0.1/32", "10.0.0.1/32"},
	{"2001:db8::/32", AF_INET6, 32, "2001:db8::/32", "2001:db8::/32"},
	{"2001:db8:ffff:ffff::1/33", AF_INET6, 33, "2001:db8:ffff:ffff::1/33",
	 "2001:db8:8000::/33"},
	{"fd7a:115c:a1e0:ab12:4843:cd96:6258:b240/48", AF_INET6, 48,
	 "fd7a:115c:a1e0:ab12:4843:cd96:6258:b240/48", "fd7a:115c:a1e0::/48"},
	{"::/0", AF_INET6, 0, "::/0", "::/0"},
	{"ffff::1/1", AF_INET6, 1, "ffff::1/1", "8000::/1"},
	{"::1", AF_INET6, 128, "::1/128", "::1/128"},
	{"fe80::1:2:3:4/127", AF_INET6, 127, "fe80::1:2:3:4/127", "fe80::1:2:3:4/127"},
	{"fe80::1:2:3:5/127", AF_INET6, 127, "fe80::1:2:3:5/127", "fe80::1:2:3:4/127"},
	{"::ffff:1.2.3.4/128", AF_INET6, 128, "::ffff:1.2.3.4/128", "::ffff:1.2.3.4/128"},
	{"::ffff:1.2.3.4/120", AF_INET6, 120, "::ffff:1.2.3.4/120", "::ffff:1.2.3.0/120"},
};

static const char *const cidr_bad[] = {
	"",
	"/24",
	"192.0.2.0/",
	"192.0.2.0/33",
	"192.0.2.0/024",
	"192.0.2.0/00",
	"192.0.2.0/+4",
	"192.0.2.0/-1",
	"192.0.2.0/ 24",
	"192.0.2.0/24 ",
	" 192.0.2.0/24",
	"192.0.2.0 /24",
	"192.0.2.0/24/1",
	"192.0.2.0/4294967320",
	"192.0.2/24",
	"300.0.0.0/8",
	"192.0.2.0/0x10",
	"2001:db8::/129",
	"2001:db8::/1x",
	"2001:db8::/256",
	"[::1]/128",
	"fe80::1%1/64",
	"fe80::1%1",
	"example.com/24",
	"192.0.2.0/24\n",
	"ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255:ffff/128",
};

static void
test_cidr_good(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(cidr_good); i++) {
		const CidrGood *t = &cidr_good[i];
		WrCidr cidr;
		char text[WR_CIDR_STRLEN];

		g_test_message("%s", t->text);
		fill_sentinel(&cidr, sizeof(cidr));
		g_assert_true(wr_cidr_parse(&cidr, t->text));
		g_assert_cmpint(cidr.family, ==, t->family);
		g_assert_cmpuint(cidr.cidr, ==, t->cidr);
		if (t->family == AF_INET) {
			for (size_t j = 4; j < sizeof(cidr.addr); j++)
				g_assert_cmpuint(cidr.addr[j], ==, 0);
		}
		wr_cidr_format(&cidr, text);
		g_assert_cmpstr(text, ==, t->formatted);
		wr_cidr_mask(&cidr);
		wr_cidr_format(&cidr, text);
		g_assert_cmpstr(text, ==, t->masked);
		/* masking is idempotent */
		wr_cidr_mask(&cidr);
		wr_cidr_format(&cidr, text);
		g_assert_cmpstr(text, ==, t->masked);
	}
}

static void
test_cidr_bad(void)
{
	WrCidr cidr;

	for (size_t i = 0; i < G_N_ELEMENTS(cidr_bad); i++) {
		g_test_message("\"%s\"", cidr_bad[i]);
		fill_sentinel(&cidr, sizeof(cidr));
		g_assert_false(wr_cidr_parse(&cidr, cidr_bad[i]));
		g_assert_true(is_sentinel(&cidr, sizeof(cidr)));
	}
	g_assert_false(wr_cidr_parse(&cidr, NULL));
	g_assert_true(is_sentinel(&cidr, sizeof(cidr)));
}

/* every prefix length of both families, masked against an all-ones address */
static void
test_cidr_mask_all(void)
{
	for (unsigned bits = 0; bits <= 128; bits++) {
		WrCidr cidr = {.family = AF_INET6, .cidr = (uint8_t) bits};
		unsigned ones = 0;

		memset(cidr.addr, 0xff, sizeof(cidr.addr));
		wr_cidr_mask(&cidr);
		for (size_t i = 0; i < sizeof(cidr.addr); i++)
			ones += (unsigned) __builtin_popcount(cidr.addr[i]);
		g_assert_cmpuint(ones, ==, bits);
		if (bits > 0 && bits < 128)
			g_assert_cmpuint(cidr.addr[(bits - 1) / 8] & (0x80U >> ((bits - 1) % 8)),
					 !=, 0);
	}
	for (unsigned bits = 0; bits <= 32; bits++) {
		WrCidr cidr = {.family = AF_INET, .cidr = (uint8_t) bits};
		unsigned ones = 0;

		memset(cidr.addr, 0xff, sizeof(cidr.addr));
		wr_cidr_mask(&cidr);
		for (size_t i = 0; i < sizeof(cidr.addr); i++)
			ones += (unsigned) __builtin_popcount(cidr.addr[i]);
		/* the 12 bytes an IPv4 prefix does not use are cleared too */
		g_assert_cmpuint(ones, ==, bits);
	}
}

static void
test_cidr_format_invalid(void)
{
	WrCidr cidr;
	char text[WR_CIDR_STRLEN];

	memset(&cidr, 0, sizeof(cidr));
	wr_cidr_format(&cidr, text);
	g_assert_cmpstr(text, ==, "(none)");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_assert_true(wr_crypto_init());

	g_test_add_func("/warren/addr/endpoint-parse-good", test_endpoint_parse_good);
	g_test_add_func("/warren/addr/endpoint-parse-bad", test_endpoint_parse_bad);
	g_test_add_func("/warren/addr/endpoint-parse-long", test_endpoint_parse_long);
	g_test_add_func("/warren/addr/endpoint-scope-name", test_endpoint_scope_name);
	g_test_add_func("/warren/addr/endpoint-format", test_endpoint_format);
	g_test_add_func("/warren/addr/endpoint-equal", test_endpoint_equal);
	g_test_add_func("/warren/addr/endpoint-mapping", test_endpoint_mapping);
	g_test_add_func("/warren/addr/endpoint-addr-bytes", test_endpoint_addr_bytes);
	g_test_add_func("/warren/addr/cidr-good", test_cidr_good);
	g_test_add_func("/warren/addr/cidr-bad", test_cidr_bad);
	g_test_add_func("/warren/addr/cidr-mask-all", test_cidr_mask_all);
	g_test_add_func("/warren/addr/cidr-format-invalid", test_cidr_format_invalid);
	return g_test_run();
}
