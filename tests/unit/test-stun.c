/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrStunTest"

#include "config.h"

#include <errno.h>
#include <glib.h>
#include <string.h>

#include "wr-crypto.h"
#include "wr-stun.h"
#include "wr-test-util.h"

/* RFC 5769 §2.1-2.3: one transaction id, a request and two responses (the responses carry
 * MESSAGE-INTEGRITY, which we do not check, and FINGERPRINT, which we do) */
#define RFC5769_TXID "b7e7a701bc34d686fa87dfae"
#define RFC5769_REQUEST                                                                          \
	"000100582112a442b7e7a701bc34d686fa87dfae802200105354554e207465737420636c69656e74"       \
	"002400046e0001ff80290008932ff9b151263b36000600096576746a3a68367659202020000800149aeaa7" \
	"0cbfd8cb56781ef2b5b2d3f249c1b571a280280004e57a3bcf"
#define RFC5769_RESPONSE_V4                                                                      \
	"0101003c2112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f7220002000080001a1" \
	"47e112a643000800142b91f599fd9e90c38c7489f92af9ba53f06be7d780280004c07d4c96"
#define RFC5769_RESPONSE_V6                                                                      \
	"010100482112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f7220002000140002a1" \
	"470113a9faa5d3f179bc25f4b5bed2b9d900080014a382954e4be67bf11784c97c8292c275bfe3ed418028" \
	"0004c8fb0b4c"

/* derp-disco-stun.md §5.1 and §5.2, TxID 01..0c */
#define SPEC_TXID "0102030405060708090a0b0c"
#define SPEC_REQUEST \
	"000100142112a4420102030405060708090a0b0c802200087461696c6e6f646580280004b32c370f"
#define SPEC_RESPONSE "0101000c2112a4420102030405060708090a0b0c002000080001373c2010a746"

#define BUF_MAX 256

static void
txid_from_hex(uint8_t txid[WR_STUN_TXID_LEN], const char *hex)
{
	g_assert_cmpuint(unhex(hex, txid, WR_STUN_TXID_LEN), ==, WR_STUN_TXID_LEN);
}

static void
assert_endpoint(const WrEndpoint *ep, const char *expected)
{
	char text[WR_ENDPOINT_STRLEN];

	wr_endpoint_format(ep, text);
	g_assert_cmpstr(text, ==, expected);
}

/* a message writer for the tests, independent of the builders under test */
typedef struct {
	uint8_t buf[BUF_MAX];
	size_t len;
} Msg;

static void
msg_begin(Msg *m, uint16_t type, const char *txid_hex)
{
	memset(m, 0, sizeof(*m));
	put16(m->buf, type);
	put32(m->buf + 4, WR_STUN_MAGIC_COOKIE);
	txid_from_hex(m->buf + 8, txid_hex);
	m->len = WR_STUN_HEADER_LEN;
}

/* appends an attribute with zero padding to 4 bytes and updates the header length */
static void
msg_attr(Msg *m, uint16_t type, const uint8_t *value, size_t len)
{
	g_assert_cmpuint(m->len + 4 + len + 3, <=, BUF_MAX);
	put16(m->buf + m->len, type);
	put16(m->buf + m->len + 2, (uint16_t) len);
	if (len > 0)
		memcpy(m->buf + m->len + 4, value, len);
	m->len += 4 + (len + 3) / 4 * 4;
	put16(m->buf + 2, (uint16_t) (m->len - WR_STUN_HEADER_LEN));
}

static void
msg_attr_hex(Msg *m, uint16_t type, const char *hex)
{
	uint8_t value[BUF_MAX];

	msg_attr(m, type, value, unhex(hex, value, sizeof(value)));
}

static void
msg_fingerprint(Msg *m)
{
	uint8_t zero[4] = {0};

	msg_attr(m, WR_STUN_ATTR_FINGERPRINT, zero, sizeof(zero));
	put32(m->buf + m->len - 4, wr_stun_crc32(m->buf, m->len - 8) ^ WR_STUN_FINGERPRINT_XOR);
}

/* FINGERPRINT, then one more attribute, with the CRC made over the final header so that
 * only its position is wrong */
static void
fingerprint_not_last(Msg *m)
{
	size_t fp_at;

	msg_fingerprint(m);
	fp_at = m->len - 8;
	msg_attr_hex(m, 0x8023, "00000000");
	put32(m->buf + fp_at + 4, wr_stun_crc32(m->buf, fp_at) ^ WR_STUN_FINGERPRINT_XOR);
}

static void
msg_from_hex(Msg *m, const char *hex)
{
	memset(m, 0, sizeof(*m));
	m->len = unhex(hex, m->buf, sizeof(m->buf));
}

/* sentinels to prove out parameters are untouched on failure */
static void
poison(uint8_t txid[WR_STUN_TXID_LEN], WrEndpoint *ep)
{
	memset(txid, 0xA5, WR_STUN_TXID_LEN);
	memset(ep, 0xA5, sizeof(*ep));
}

static void
assert_poisoned(const uint8_t txid[WR_STUN_TXID_LEN], const WrEndpoint *ep)
{
	for (size_t i = 0; i < WR_STUN_TXID_LEN; i++)
		g_assert_cmphex(txid[i], ==, 0xA5);
	for (size_t i = 0; i < sizeof(*ep); i++)
		g_assert_cmphex(((const uint8_t *) ep)[i], ==, 0xA5);
}

static int
parse_request_checked(const uint8_t *pkt, size_t len, WrStunAccept accept)
{
	uint8_t txid[WR_STUN_TXID_LEN];
	WrEndpoint unused;
	int r;

	poison(txid, &unused);
	r = wr_stun_parse_request(pkt, len, accept, txid);
	if (r < 0)
		assert_poisoned(txid, &unused);
	return r;
}

static int
parse_response_checked(const uint8_t *pkt, size_t len)
{
	uint8_t txid[WR_STUN_TXID_LEN];
	WrEndpoint ep;
	int r;

	poison(txid, &ep);
	r = wr_stun_parse_response(pkt, len, txid, &ep);
	if (r < 0)
		assert_poisoned(txid, &ep);
	return r;
}

/* the strict (Tailscale) answer, and the lenient one: a missing SOFTWARE or FINGERPRINT is
 * the only difference between them */
static void
assert_request(const uint8_t *pkt, size_t len, int strict)
{
	g_assert_cmpint(parse_request_checked(pkt, len, WR_STUN_ACCEPT_TAILNODE), ==, strict);
	g_assert_cmpint(parse_request_checked(pkt, len, WR_STUN_ACCEPT_ANY), ==,
			strict == -ENOMSG ? 0 : strict);
}

static void
test_crc32(void)
{
	static const struct {
		const char *text;
		uint32_t crc;
	} vectors[] = {
		{"", 0x00000000},
		{"a", 0xe8b7be43},
		{"123456789", 0xcbf43926},
		{"The quick brown fox jumps over the lazy dog", 0x414fa339},
	};

	for (guint i = 0; i < G_N_ELEMENTS(vectors); i++)
		g_assert_cmphex(
			wr_stun_crc32((const uint8_t *) vectors[i].text, strlen(vectors[i].text)),
			==, vectors[i].crc);
}

static void
test_request_layout(void)
{
	uint8_t txid[WR_STUN_TXID_LEN];
	uint8_t req[WR_STUN_REQUEST_LEN];
	uint8_t got[WR_STUN_TXID_LEN] = {0};

	txid_from_hex(txid, SPEC_TXID);
	wr_stun_build_request(req, txid);
	assert_hex_eq(req, sizeof(req), SPEC_REQUEST);
	g_assert_true(wr_stun_is_stun(req, sizeof(req)));
	g_assert_cmpint(wr_stun_parse_request(req, sizeof(req), WR_STUN_ACCEPT_TAILNODE, got), ==,
			0);
	g_assert_cmpmem(got, sizeof(got), txid, sizeof(txid));
	/* a request is not a response */
	g_assert_cmpint(parse_response_checked(req, sizeof(req)), ==, -EINVAL);

	/* another transaction id changes only the id and the fingerprint */
	memset(txid, 0xff, sizeof(txid));
	wr_stun_build_request(req, txid);
	assert_hex_eq(req, 8, "000100142112a442");
	assert_hex_eq(req + 20, 16, "802200087461696c6e6f646580280004");
	g_assert_cmphex(be32(req + 36), ==, wr_stun_crc32(req, 32) ^ 0x5354554e);
	g_assert_cmpint(wr_stun_parse_request(req, sizeof(req), WR_STUN_ACCEPT_TAILNODE, got), ==,
			0);
	g_assert_cmpmem(got, sizeof(got), txid, sizeof(txid));
}

static void
test_rfc5769_request(void)
{
	Msg m;

	msg_from_hex(&m, RFC5769_REQUEST);
	g_assert_cmpuint(m.len, ==, 108);
	g_assert_true(wr_stun_is_stun(m.buf, m.len));
	g_assert_cmphex(wr_stun_crc32(m.buf, m.len - 8) ^ WR_STUN_FINGERPRINT_XOR, ==, 0xe57a3bcf);
	g_assert_cmphex(be32(m.buf + m.len - 4), ==, 0xe57a3bcf);
	/* its attributes walk and its FINGERPRINT checks (else -EBADMSG), but its SOFTWARE is not
	 * "tailnode", so a Tailscale-style server drops it */
	assert_request(m.buf, m.len, -ENOMSG);
	{
		uint8_t txid[WR_STUN_TXID_LEN];

		g_assert_cmpint(wr_stun_parse_request(m.buf, m.len, WR_STUN_ACCEPT_ANY, txid), ==,
				0);
		assert_hex_eq(txid, sizeof(txid), RFC5769_TXID);
	}
	/* one bit flipped inside MESSAGE-INTEGRITY breaks the fingerprint */
	m.buf[90] ^= 0x01;
	assert_request(m.buf, m.len, -EBADMSG);
}

static void
test_rfc5769_responses(void)
{
	static const struct {
		const char *hex;
		const char *mapped;
		size_t flip; /* a byte inside MESSAGE-INTEGRITY */
	} vectors[] = {
		{RFC5769_RESPONSE_V4, "192.0.2.1:32853", 60},
		{RFC5769_RESPONSE_V6, "[2001:db8:1234:5678:11:2233:4455:6677]:32853", 72},
	};

	for (guint i = 0; i < G_N_ELEMENTS(vectors); i++) {
		uint8_t txid[WR_STUN_TXID_LEN];
		uint8_t want_txid[WR_STUN_TXID_LEN];
		WrEndpoint ep;
		Msg m;

		msg_from_hex(&m, vectors[i].hex);
		txid_from_hex(want_txid, RFC5769_TXID);
		g_assert_true(wr_stun_is_stun(m.buf, m.len));
		g_assert_cmpint(wr_stun_parse_response(m.buf, m.len, txid, &ep), ==, 0);
		g_assert_cmpmem(txid, sizeof(txid), want_txid, sizeof(want_txid));
		assert_endpoint(&ep, vectors[i].mapped);
		/* not a request */
		assert_request(m.buf, m.len, -EINVAL);
		/* the FINGERPRINT is checked when present */
		m.buf[vectors[i].flip] ^= 0x80;
		g_assert_cmpint(parse_response_checked(m.buf, m.len), ==, -EBADMSG);
	}
}

static void
test_spec_response(void)
{
	uint8_t txid[WR_STUN_TXID_LEN];
	uint8_t got_txid[WR_STUN_TXID_LEN];
	uint8_t out[WR_STUN_RESPONSE_MAX_LEN];
	WrEndpoint mapped;
	WrEndpoint ep;
	int n;

	txid_from_hex(txid, SPEC_TXID);
	g_assert_true(wr_endpoint_parse(&mapped, "1.2.3.4:5678"));
	/* Tailscale's exact bytes without FINGERPRINT */
	n = wr_stun_build_response(out, sizeof(out), txid, &mapped, false);
	g_assert_cmpint(n, ==, 32);
	assert_hex_eq(out, (gsize) n, SPEC_RESPONSE);
	g_assert_cmpint(wr_stun_parse_response(out, (size_t) n, got_txid, &ep), ==, 0);
	g_assert_cmpmem(got_txid, sizeof(got_txid), txid, sizeof(txid));
	g_assert_true(wr_endpoint_equal(&ep, &mapped));

	/* with FINGERPRINT the same bytes follow, with the length grown by 8 */
	n = wr_stun_build_response(out, sizeof(out), txid, &mapped, true);
	g_assert_cmpint(n, ==, 40);
	assert_hex_eq(out, 4, "01010014");
	assert_hex_eq(out + 4, 28, &SPEC_RESPONSE[8]);
	assert_hex_eq(out + 32, 4, "80280004");
	g_assert_cmphex(be32(out + 36), ==, wr_stun_crc32(out, 32) ^ WR_STUN_FINGERPRINT_XOR);
	g_assert_cmpint(wr_stun_parse_response(out, (size_t) n, got_txid, &ep), ==, 0);
	g_assert_true(wr_endpoint_equal(&ep, &mapped));
}

static void
test_round_trip(void)
{
	static const struct {
		const char *in;
		const char *out; /* what the client sees */
		int len;	 /* without FINGERPRINT */
	} cases[] = {
		{"127.0.0.1:3478", "127.0.0.1:3478", 32},
		{"203.0.113.77:1", "203.0.113.77:1", 32},
		{"255.255.255.255:65535", "255.255.255.255:65535", 32},
		{"0.0.0.0:41641", "0.0.0.0:41641", 32},
		{"[::1]:3478", "[::1]:3478", 44},
		{"[2001:db8::dead:beef]:41641", "[2001:db8::dead:beef]:41641", 44},
		{"[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535",
		 "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535", 44},
		/* a v4-mapped source (dual-stack socket) goes out as IPv4 */
		{"[::ffff:198.51.100.9]:9999", "198.51.100.9:9999", 32},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		for (int fp = 0; fp <= 1; fp++) {
			uint8_t txid[WR_STUN_TXID_LEN];
			uint8_t got_txid[WR_STUN_TXID_LEN];
			uint8_t out[WR_STUN_RESPONSE_MAX_LEN];
			WrEndpoint mapped;
			WrEndpoint ep;
			int n;

			pattern(txid, sizeof(txid), 37, i * 11 + (guint) fp);
			/* the transaction id from a parsed request feeds the response */
			g_assert_true(wr_endpoint_parse(&mapped, cases[i].in));
			n = wr_stun_build_response(out, sizeof(out), txid, &mapped, fp != 0);
			g_assert_cmpint(n, ==, cases[i].len + (fp ? 8 : 0));
			g_assert_cmpuint(be16(out + 2), ==, (guint) n - WR_STUN_HEADER_LEN);
			g_assert_true(wr_stun_is_stun(out, (size_t) n));
			g_assert_cmpint(wr_stun_parse_response(out, (size_t) n, got_txid, &ep), ==,
					0);
			g_assert_cmpmem(got_txid, sizeof(got_txid), txid, sizeof(txid));
			assert_endpoint(&ep, cases[i].out);
			/* the address is really XORed: the plain port bytes are not on the wire
			 * (they differ for every case here) */
			g_assert_cmpuint(be16(out + 26), !=, ntohs(ep.in4.sin_port));
			/* every truncation fails */
			for (int cut = 0; cut < n; cut++)
				g_assert_cmpint(parse_response_checked(out, (size_t) cut), <, 0);
		}
	}
}

static void
test_request_to_response(void)
{
	uint8_t txid[WR_STUN_TXID_LEN];
	uint8_t req[WR_STUN_REQUEST_LEN];
	uint8_t server_txid[WR_STUN_TXID_LEN];
	uint8_t client_txid[WR_STUN_TXID_LEN];
	uint8_t resp[WR_STUN_RESPONSE_MAX_LEN];
	WrEndpoint src;
	WrEndpoint ep;
	int n;

	pattern(txid, sizeof(txid), 3, 200);
	wr_stun_build_request(req, txid);
	g_assert_cmpint(
		wr_stun_parse_request(req, sizeof(req), WR_STUN_ACCEPT_TAILNODE, server_txid), ==,
		0);
	g_assert_true(wr_endpoint_parse(&src, "[2001:db8:1::5]:40000"));
	n = wr_stun_build_response(resp, sizeof(resp), server_txid, &src, true);
	g_assert_cmpint(n, ==, 52);
	g_assert_cmpint(wr_stun_parse_response(resp, (size_t) n, client_txid, &ep), ==, 0);
	g_assert_cmpmem(client_txid, sizeof(client_txid), txid, sizeof(txid));
	assert_endpoint(&ep, "[2001:db8:1::5]:40000");
}

static void
test_build_response_errors(void)
{
	uint8_t txid[WR_STUN_TXID_LEN] = {0};
	uint8_t out[WR_STUN_RESPONSE_MAX_LEN];
	WrEndpoint ep;

	memset(&ep, 0, sizeof(ep));
	memset(out, 0x5A, sizeof(out));
	g_assert_cmpint(wr_stun_build_response(out, sizeof(out), txid, &ep, true), ==,
			-EAFNOSUPPORT);
	g_assert_true(wr_endpoint_parse(&ep, "1.2.3.4:5"));
	g_assert_cmpint(wr_stun_build_response(out, 31, txid, &ep, false), ==, -ENOBUFS);
	g_assert_cmpint(wr_stun_build_response(out, 39, txid, &ep, true), ==, -ENOBUFS);
	g_assert_true(wr_endpoint_parse(&ep, "[::2]:5"));
	g_assert_cmpint(wr_stun_build_response(out, 51, txid, &ep, true), ==, -ENOBUFS);
	for (size_t i = 0; i < sizeof(out); i++)
		g_assert_cmphex(out[i], ==, 0x5A);
	g_assert_cmpint(wr_stun_build_response(out, 52, txid, &ep, true), ==, 52);
}

static void
test_is_stun(void)
{
	static const struct {
		const char *hex;
		bool is_stun;
	} cases[] = {
		{SPEC_REQUEST, true},
		{SPEC_RESPONSE, true},
		/* just a header */
		{"000100002112a442000000000000000000000000", true},
		/* an error response 0x0111 and an indication 0x0011 have byte 1 = 0x11 */
		{"011100002112a442000000000000000000000000", false},
		{"001100002112a442000000000000000000000000", false},
		{"000100002112a4420000000000000000000000", false},
		{"", false},
		/* another method */
		{"000200002112a442000000000000000000000000", false},
		/* the top two bits */
		{"400100002112a442000000000000000000000000", false},
		{"800100002112a442000000000000000000000000", false},
		/* cookie */
		{"000100002112a443000000000000000000000000", false},
		{"000100000000000000000000000000000000000000", false},
		/* disco magic "TS💬" and a WireGuard initiation */
		{"5453f09f92ac00000000000000000000000000000000000000000000000000000000000000000000",
		 false},
		{"01000000aabbccdd0000000000000000000000000000000000000000", false},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		uint8_t buf[BUF_MAX];
		size_t len = unhex(cases[i].hex, buf, sizeof(buf));

		g_assert_true(wr_stun_is_stun(buf, len) == cases[i].is_stun);
	}
}

static void
test_response_attributes(void)
{
	uint8_t txid[WR_STUN_TXID_LEN];
	WrEndpoint ep;
	Msg m;

	/* MAPPED-ADDRESS alone (not XORed) is the fallback */
	msg_begin(&m, WR_STUN_BINDING_SUCCESS, SPEC_TXID);
	msg_attr_hex(&m, WR_STUN_ATTR_MAPPED_ADDRESS, "00010d960a000001");
	g_assert_cmpint(wr_stun_parse_response(m.buf, m.len, txid, &ep), ==, 0);
	assert_endpoint(&ep, "10.0.0.1:3478");

	/* XOR-MAPPED-ADDRESS wins over MAPPED-ADDRESS, whatever the order; 0x0020 over 0x8020 */
	msg_begin(&m, WR_STUN_BINDING_SUCCESS, SPEC_TXID);
	msg_attr_hex(&m, WR_STUN_ATTR_MAPPED_ADDRESS, "00010d960a000001");
	msg_attr_hex(&m, WR_STUN_ATTR_XOR_MAPPED_ADDRESS_ALT, "0001373c2010a747"); /* 1.2.3.5 */
	msg_attr_hex(&m, WR_STUN_ATTR_XOR_MAPPED_ADDRESS, "0001373c2010a746");	   /* 1.2.3.4 */
	g_assert_cmpint(wr_stun_parse_response(m.buf, m.len, txid, &ep), ==, 0);
	assert_endpoint(&ep, "1.2.3.4:5678");

	/* of two of a kind, the first counts */
	msg_begin(&m, WR_STUN_BINDING_SUCCESS, SPEC_TXID);
	msg_attr_hex(&m, WR_STUN_ATTR_XOR_MAPPED_ADDRESS, "0001373c2010a747"); /* 1.2.3.5 */
	msg_attr_hex(&m, WR_STUN_ATTR_XOR_MAPPED_ADDRESS, "0001373c2010a746"); /* 1.2.3.4 */
	g_assert_cmpint(wr_stun_parse_response(m.buf, m.len, txid, &ep), ==, 0);
	assert_endpoint(&ep, "1.2.3.5:5678");

	/* 0x8020 alone is XOR-MAPPED-ADDRESS */
	msg_begin(&m, WR_STUN_BINDING_SUCCESS, SPEC_TXID);
	msg_attr_hex(&m, WR_STUN_ATTR_MAPPED_ADDRESS, "00010d960a000001");
	msg_attr_hex(&m, WR_STUN_ATTR_XOR_MAPPED_ADDRESS_ALT, "0001373c2010a747");
	g_assert_cmpint(wr_stun_parse_response(m.buf, m.len, txid, &ep), ==, 0);
	assert_endpoint(&ep, "1.2.3.5:5678");

	/* unknown attributes of both kinds are skipped, with their padding (5 -> 8, 1 -> 4,
	 * 0 -> 0); SOFTWARE and FINGERPRINT too */
	msg_begin(&m, WR_STUN_BINDING_SUCCESS, SPEC_TXID);
	msg_attr_hex(&m, 0x8022, "6162636465");
	msg_attr_hex(&m, 0x0005, "0001000a0a000002"); /* RFC 3489 CHANGED-ADDRESS */
	msg_attr_hex(&m, 0x7fff, "ff");
	msg_attr_hex(&m, 0xc001, "");
	msg_attr_hex(&m, WR_STUN_ATTR_XOR_MAPPED_ADDRESS, "0001373c2010a746");
	msg_attr_hex(&m, 0x802b, "0001000a0a000003");
	msg_fingerprint(&m);
	g_assert_cmpint(wr_stun_parse_response(m.buf, m.len, txid, &ep), ==, 0);
	assert_endpoint(&ep, "1.2.3.4:5678");
	/* bytes past the header length are ignored, even garbage */
	memset(m.buf + m.len, 0xEE, 9);
	g_assert_cmpint(wr_stun_parse_response(m.buf, m.len + 9, txid, &ep), ==, 0);
	assert_endpoint(&ep, "1.2.3.4:5678");

	/* an IPv4-mapped IPv6 XOR-MAPPED-ADDRESS comes out as IPv4: ::ffff:1.2.3.4 xor
	 * (cookie || txid) */
	{
		uint8_t key[16];
		uint8_t addr[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4};
		uint8_t value[20] = {0, WR_STUN_FAMILY_IPV6, 0x37, 0x3c};

		put32(key, WR_STUN_MAGIC_COOKIE);
		txid_from_hex(key + 4, SPEC_TXID);
		for (int i = 0; i < 16; i++)
			value[4 + i] = addr[i] ^ key[i];
		msg_begin(&m, WR_STUN_BINDING_SUCCESS, SPEC_TXID);
		msg_attr(&m, WR_STUN_ATTR_XOR_MAPPED_ADDRESS, value, sizeof(value));
		g_assert_cmpint(wr_stun_parse_response(m.buf, m.len, txid, &ep), ==, 0);
		g_assert_cmpint(ep.sa.sa_family, ==, AF_INET);
		assert_endpoint(&ep, "1.2.3.4:5678");
	}

	/* a FINGERPRINT that is correct for the bytes before it but not last */
	msg_begin(&m, WR_STUN_BINDING_SUCCESS, SPEC_TXID);
	msg_attr_hex(&m, WR_STUN_ATTR_XOR_MAPPED_ADDRESS, "0001373c2010a746");
	fingerprint_not_last(&m);
	g_assert_cmpint(parse_response_checked(m.buf, m.len), ==, -EBADMSG);
}

typedef enum {
	PARSE_REQUEST,
	PARSE_RESPONSE,
} ParseKind;

typedef struct {
	const char *name;
	ParseKind kind;
	const char *hex; /* whole datagram */
	int expected;
} Malformed;

/* built by hand from the spec vectors; FP marks a valid fingerprint computed in the test */
static const Malformed malformed[] = {
	/* header */
	{"request-bad-cookie", PARSE_REQUEST,
	 "000100142112a4430102030405060708090a0b0c802200087461696c6e6f646580280004b32c370f",
	 -EINVAL},
	{"request-wrong-method", PARSE_REQUEST,
	 "000200142112a4420102030405060708090a0b0c802200087461696c6e6f646580280004b32c370f",
	 -EINVAL},
	{"request-indication-class", PARSE_REQUEST,
	 "001100142112a4420102030405060708090a0b0c802200087461696c6e6f646580280004b32c370f",
	 -EINVAL},
	{"request-top-bits", PARSE_REQUEST,
	 "c00100142112a4420102030405060708090a0b0c802200087461696c6e6f646580280004b32c370f",
	 -EINVAL},
	{"request-header-only", PARSE_REQUEST, "000100002112a4420102030405060708090a0b0c", -ENOMSG},
	{"request-short", PARSE_REQUEST, "000100002112a4420102030405060708090a0b", -EINVAL},
	{"request-length-not-x4", PARSE_REQUEST,
	 "000100132112a4420102030405060708090a0b0c802200087461696c6e6f646580280004b32c370f",
	 -EBADMSG},
	{"request-length-past-end", PARSE_REQUEST,
	 "000100182112a4420102030405060708090a0b0c802200087461696c6e6f646580280004b32c370f",
	 -EBADMSG},
	{"request-length-short-of-end", PARSE_REQUEST,
	 "000100102112a4420102030405060708090a0b0c802200087461696c6e6f646580280004b32c370f",
	 -EBADMSG},
	{"request-trailing-bytes", PARSE_REQUEST,
	 "000100142112a4420102030405060708090a0b0c802200087461696c6e6f646580280004b32c370f00000000",
	 -EBADMSG},
	/* attributes */
	{"request-attr-overrun", PARSE_REQUEST,
	 "000100142112a4420102030405060708090a0b0c802200147461696c6e6f646580280004b32c370f",
	 -EBADMSG},
	{"request-attr-padding-overrun", PARSE_REQUEST,
	 "000100142112a4420102030405060708090a0b0c802200087461696c6e6f646580280005b32c370f",
	 -EBADMSG},
	{"request-bad-fingerprint", PARSE_REQUEST,
	 "000100142112a4420102030405060708090a0b0c802200087461696c6e6f646580280004b32c370e",
	 -EBADMSG},
	{"request-software-changed", PARSE_REQUEST,
	 "000100142112a4420102030405060708090a0b0c802200087461696c6e6f646680280004b32c370f",
	 -EBADMSG},
	{"request-txid-changed", PARSE_REQUEST,
	 "000100142112a4420102030405060708090a0b0d802200087461696c6e6f646580280004b32c370f",
	 -EBADMSG},
	{"request-no-fingerprint", PARSE_REQUEST,
	 "0001000c2112a4420102030405060708090a0b0c802200087461696c6e6f6465", -ENOMSG},
	{"response-bad-cookie", PARSE_RESPONSE,
	 "0101000c2112a4410102030405060708090a0b0c002000080001373c2010a746", -EINVAL},
	{"response-error-class", PARSE_RESPONSE,
	 "0111000c2112a4420102030405060708090a0b0c002000080001373c2010a746", -EINVAL},
	{"response-request-type", PARSE_RESPONSE,
	 "0001000c2112a4420102030405060708090a0b0c002000080001373c2010a746", -EINVAL},
	{"response-wrong-method", PARSE_RESPONSE,
	 "0102000c2112a4420102030405060708090a0b0c002000080001373c2010a746", -EINVAL},
	{"response-length-not-x4", PARSE_RESPONSE,
	 "0101000a2112a4420102030405060708090a0b0c002000080001373c2010a746", -EBADMSG},
	{"response-length-past-end", PARSE_RESPONSE,
	 "010100102112a4420102030405060708090a0b0c002000080001373c2010a746", -EBADMSG},
	{"response-truncated", PARSE_RESPONSE,
	 "0101000c2112a4420102030405060708090a0b0c002000080001373c2010a7", -EBADMSG},
	{"response-attr-overrun", PARSE_RESPONSE,
	 "0101000c2112a4420102030405060708090a0b0c002000090001373c2010a746", -EBADMSG},
	{"response-length-cuts-attr", PARSE_RESPONSE,
	 "010100082112a4420102030405060708090a0b0c002000080001373c2010a746", -EBADMSG},
	{"response-no-attributes", PARSE_RESPONSE, "010100002112a4420102030405060708090a0b0c",
	 -ENOMSG},
	{"response-no-address", PARSE_RESPONSE,
	 "0101000c2112a4420102030405060708090a0b0c802200087461696c6e6f6465", -ENOMSG},
	{"response-bad-family", PARSE_RESPONSE,
	 "0101000c2112a4420102030405060708090a0b0c002000080003373c2010a746", -EBADMSG},
	{"response-v4-length-mismatch", PARSE_RESPONSE,
	 "010100102112a4420102030405060708090a0b0c0020000c0001373c2010a74600000000", -EBADMSG},
	{"response-v6-too-short", PARSE_RESPONSE,
	 "0101000c2112a4420102030405060708090a0b0c002000080002373c2010a746", -EBADMSG},
	{"response-attr-too-short", PARSE_RESPONSE,
	 "010100082112a4420102030405060708090a0b0c0020000200010000", -EBADMSG},
	{"response-port-zero", PARSE_RESPONSE,
	 "0101000c2112a4420102030405060708090a0b0c0020000800012112"
	 "2010a746",
	 -EBADMSG},
	{"response-mapped-bad-family", PARSE_RESPONSE,
	 "0101000c2112a4420102030405060708090a0b0c000100080000373c2010a746", -EBADMSG},
	{"response-bad-fingerprint", PARSE_RESPONSE,
	 "010100142112a4420102030405060708090a0b0c002000080001373c2010a74680280004deadbeef",
	 -EBADMSG},
	{"response-fingerprint-short", PARSE_RESPONSE,
	 "010100102112a4420102030405060708090a0b0c002000080001373c2010a74680280000", -EBADMSG},
};

static void
test_malformed(void)
{
	for (guint i = 0; i < G_N_ELEMENTS(malformed); i++) {
		const Malformed *c = &malformed[i];
		Msg m;
		int r;

		msg_from_hex(&m, c->hex);
		if (c->kind == PARSE_REQUEST)
			r = parse_request_checked(m.buf, m.len, WR_STUN_ACCEPT_TAILNODE);
		else
			r = parse_response_checked(m.buf, m.len);
		if (r != c->expected)
			g_error("%s: got %d, expected %d", c->name, r, c->expected);
		if (c->kind == PARSE_REQUEST) {
			int any = c->expected == -ENOMSG ? 0 : c->expected;

			r = parse_request_checked(m.buf, m.len, WR_STUN_ACCEPT_ANY);
			if (r != any)
				g_error("%s (any): got %d, expected %d", c->name, r, any);
		}
	}
}

/* requests with a valid fingerprint that a Tailscale-style server must still refuse, and
 * the variations it must accept */
static void
test_request_acceptance(void)
{
	uint8_t txid[WR_STUN_TXID_LEN];
	Msg m;

	/* turnutils_stunclient's request (coturn 4.6.1): a bare header */
	msg_from_hex(&m, "000100002112a4425ca211ea2790e06fafc3139a");
	assert_request(m.buf, m.len, -ENOMSG);
	g_assert_cmpint(wr_stun_parse_request(m.buf, m.len, WR_STUN_ACCEPT_ANY, txid), ==, 0);
	assert_hex_eq(txid, sizeof(txid), "5ca211ea2790e06fafc3139a");

	/* other SOFTWARE text */
	msg_begin(&m, WR_STUN_BINDING_REQUEST, SPEC_TXID);
	msg_attr_hex(&m, WR_STUN_ATTR_SOFTWARE, "7461696c6e6f6466");
	msg_fingerprint(&m);
	assert_request(m.buf, m.len, -ENOMSG);

	/* "tailnode" with a longer length (a prefix is not enough) */
	msg_begin(&m, WR_STUN_BINDING_REQUEST, SPEC_TXID);
	msg_attr_hex(&m, WR_STUN_ATTR_SOFTWARE, "7461696c6e6f646521");
	msg_fingerprint(&m);
	assert_request(m.buf, m.len, -ENOMSG);

	/* no SOFTWARE at all: a plain RFC 5389 request */
	msg_begin(&m, WR_STUN_BINDING_REQUEST, SPEC_TXID);
	msg_fingerprint(&m);
	assert_request(m.buf, m.len, -ENOMSG);

	/* FINGERPRINT not last, though correct for what precedes it */
	msg_begin(&m, WR_STUN_BINDING_REQUEST, SPEC_TXID);
	msg_attr_hex(&m, WR_STUN_ATTR_SOFTWARE, "7461696c6e6f6465");
	fingerprint_not_last(&m);
	assert_request(m.buf, m.len, -EBADMSG);

	/* accepted: SOFTWARE not first, unknown attributes around it */
	msg_begin(&m, WR_STUN_BINDING_REQUEST, SPEC_TXID);
	msg_attr_hex(&m, 0x0024, "6e0001ff");
	msg_attr_hex(&m, 0x0006, "6576746a3a68367659");
	msg_attr_hex(&m, WR_STUN_ATTR_SOFTWARE, "7461696c6e6f6465");
	msg_fingerprint(&m);
	g_assert_cmpint(wr_stun_parse_request(m.buf, m.len, WR_STUN_ACCEPT_TAILNODE, txid), ==, 0);
	assert_hex_eq(txid, sizeof(txid), SPEC_TXID);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_assert_true(wr_crypto_init());

	g_test_add_func("/warren/stun/crc32", test_crc32);
	g_test_add_func("/warren/stun/request-layout", test_request_layout);
	g_test_add_func("/warren/stun/rfc5769-request", test_rfc5769_request);
	g_test_add_func("/warren/stun/rfc5769-responses", test_rfc5769_responses);
	g_test_add_func("/warren/stun/spec-response", test_spec_response);
	g_test_add_func("/warren/stun/round-trip", test_round_trip);
	g_test_add_func("/warren/stun/request-to-response", test_request_to_response);
	g_test_add_func("/warren/stun/build-response-errors", test_build_response_errors);
	g_test_add_func("/warren/stun/is-stun", test_is_stun);
	g_test_add_func("/warren/stun/response-attributes", test_response_attributes);
	g_test_add_func("/warren/stun/malformed", test_malformed);
	g_test_add_func("/warren/stun/request-acceptance", test_request_acceptance);
	return g_test_run();
}
