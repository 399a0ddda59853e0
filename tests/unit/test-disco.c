/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrTestDisco"

#include "config.h"

#include <errno.h>
#include <glib.h>
#include <string.h>

#include "wr-crypto.h"
#include "wr-disco.h"
#include "wr-test-util.h"

/*
 * The byte vectors are written by hand from derp-disco-stun.md §3.1-§3.3: type, version,
 * TxID[12], then the type's fields; addresses are 16 bytes with IPv4 mapped into
 * ::ffff:0:0/96 and ports big-endian.
 */

#define TXID	 "0102030405060708090a0b0c"
#define NODE_KEY "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"

static void
endpoint(WrEndpoint *ep, const char *text)
{
	g_assert_true(wr_endpoint_parse(ep, text));
}

static void
assert_endpoint(const WrEndpoint *ep, const char *text)
{
	char buf[WR_ENDPOINT_STRLEN];

	wr_endpoint_format(ep, buf);
	g_assert_cmpstr(buf, ==, text);
}

static void
test_disco_ping_vector(void)
{
	/* 01 ping, 00 version, TxID, node key */
	const char *wire = "0100" TXID NODE_KEY;
	guint8 msg[WR_DISCO_PING_LEN + 8];
	guint8 out[WR_DISCO_PING_LEN + 8];
	guint8 tx_id[WR_DISCO_TXID_LEN];
	guint8 key[WR_DISCO_KEY_LEN];
	WrDiscoPing ping;
	gsize len;

	len = unhex(wire, msg, sizeof(msg));
	g_assert_cmpuint(len, ==, WR_DISCO_PING_LEN);
	g_assert_cmpint(wr_disco_parse_ping(msg, len, &ping), ==, 0);
	assert_hex_eq(ping.tx_id, sizeof(ping.tx_id), TXID);
	g_assert_true(ping.has_node_key);
	assert_hex_eq(ping.node_key, sizeof(ping.node_key), NODE_KEY);
	g_assert_cmpuint(ping.padding, ==, 0);

	unhex(TXID, tx_id, sizeof(tx_id));
	unhex(NODE_KEY, key, sizeof(key));
	g_assert_cmpint(wr_disco_build_ping(out, sizeof(out), tx_id, key, 0), ==,
			WR_DISCO_PING_LEN);
	assert_hex_eq(out, WR_DISCO_PING_LEN, wire);

	/* padded for a path-MTU probe: the same, then zeros */
	g_assert_cmpint(wr_disco_build_ping(out, sizeof(out), tx_id, key, 5), ==,
			WR_DISCO_PING_LEN + 5);
	assert_hex_eq(out, WR_DISCO_PING_LEN + 5, "0100" TXID NODE_KEY "0000000000");
	g_assert_cmpint(wr_disco_parse_ping(out, WR_DISCO_PING_LEN + 5, &ping), ==, 0);
	g_assert_true(ping.has_node_key);
	g_assert_cmpuint(ping.padding, ==, 5);

	/* a client <= 1.16: no key */
	len = unhex("0100" TXID, msg, sizeof(msg));
	g_assert_cmpint(wr_disco_parse_ping(msg, len, &ping), ==, 0);
	g_assert_false(ping.has_node_key);
	assert_hex_eq(ping.tx_id, sizeof(ping.tx_id), TXID);
	g_assert_cmpint(wr_disco_build_ping(out, sizeof(out), tx_id, NULL, 0), ==,
			WR_DISCO_PING_MIN_LEN);
	assert_hex_eq(out, WR_DISCO_PING_MIN_LEN, "0100" TXID);

	/* 31 bytes after the TxID are not a key; a future version byte is accepted */
	len = unhex("0107" TXID "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e",
		    msg, sizeof(msg));
	g_assert_cmpint(wr_disco_parse_ping(msg, len, &ping), ==, 0);
	g_assert_false(ping.has_node_key);
}

static void
test_disco_ping_reject(void)
{
	guint8 msg[WR_DISCO_PING_LEN];
	guint8 tx_id[WR_DISCO_TXID_LEN] = {0};
	guint8 key[WR_DISCO_KEY_LEN] = {0};
	guint8 out[WR_DISCO_PING_LEN];
	WrDiscoPing ping;
	WrDiscoPing before;
	gsize len;

	len = unhex("0100" TXID NODE_KEY, msg, sizeof(msg));
	memset(&before, 0x5a, sizeof(before));
	/* every length short of the TxID */
	for (gsize i = 0; i < WR_DISCO_PING_MIN_LEN; i++) {
		ping = before;
		g_assert_cmpint(wr_disco_parse_ping(msg, i, &ping), ==, -EBADMSG);
		g_assert_cmpmem(&ping, sizeof(ping), &before, sizeof(before));
	}
	/* another type */
	msg[0] = WR_DISCO_PONG;
	g_assert_cmpint(wr_disco_parse_ping(msg, len, &ping), ==, -EBADMSG);
	g_assert_cmpmem(&ping, sizeof(ping), &before, sizeof(before));

	/* builders: too small, padding without a key, beyond the largest packet */
	memset(out, 0xee, sizeof(out));
	g_assert_cmpint(wr_disco_build_ping(out, WR_DISCO_PING_LEN - 1, tx_id, key, 0), ==,
			-ENOBUFS);
	g_assert_cmpint(wr_disco_build_ping(out, WR_DISCO_PING_MIN_LEN - 1, tx_id, NULL, 0), ==,
			-ENOBUFS);
	g_assert_cmpint(wr_disco_build_ping(out, sizeof(out), tx_id, NULL, 1), ==, -EINVAL);
	g_assert_cmpint(wr_disco_build_ping(out, sizeof(out), tx_id, key,
					    WR_DISCO_MAX_MESSAGE_LEN - WR_DISCO_PING_LEN + 1),
			==, -EMSGSIZE);
	for (gsize i = 0; i < sizeof(out); i++)
		g_assert_cmphex(out[i], ==, 0xee);
}

static void
test_disco_pong_vector(void)
{
	const struct {
		const char *wire; /* after type, version and TxID */
		const char *src;
		gboolean derp;
	} vectors[] = {
		/* ::ffff:192.0.2.1, port 41641 = 0xa2a9 */
		{"00000000000000000000ffffc0000201a2a9", "192.0.2.1:41641", FALSE},
		/* 2001:db8::1, port 3478 = 0x0d96 */
		{"20010db80000000000000000000000010d96", "[2001:db8::1]:3478", FALSE},
		/* a ping that came over DERP region 2: ::ffff:127.3.3.40, port 2 */
		{"00000000000000000000ffff7f0303280002", "127.3.3.40:2", TRUE},
		/* not the magic IP: 127.3.3.41 */
		{"00000000000000000000ffff7f0303290002", "127.3.3.41:2", FALSE},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(vectors); i++) {
		g_autofree gchar *hex = g_strconcat("0200" TXID, vectors[i].wire, NULL);
		guint8 msg[WR_DISCO_PONG_LEN + 4];
		guint8 out[WR_DISCO_PONG_LEN];
		guint8 tx_id[WR_DISCO_TXID_LEN];
		WrDiscoPong pong;
		WrEndpoint src;
		gsize len;

		len = unhex(hex, msg, sizeof(msg));
		g_assert_cmpuint(len, ==, WR_DISCO_PONG_LEN);
		g_assert_cmpint(wr_disco_parse_pong(msg, len, &pong), ==, 0);
		assert_hex_eq(pong.tx_id, sizeof(pong.tx_id), TXID);
		assert_endpoint(&pong.src, vectors[i].src);
		/* IPv4 comes back as plain AF_INET (pitfall 9) */
		g_assert_cmpint(pong.src.sa.sa_family, ==,
				strchr(vectors[i].src, '[') != NULL ? AF_INET6 : AF_INET);
		g_assert_cmpint(wr_disco_endpoint_is_derp(&pong.src), ==, vectors[i].derp);

		unhex(TXID, tx_id, sizeof(tx_id));
		endpoint(&src, vectors[i].src);
		g_assert_cmpint(wr_disco_build_pong(out, sizeof(out), tx_id, &src), ==,
				WR_DISCO_PONG_LEN);
		assert_hex_eq(out, sizeof(out), hex);

		/* trailing bytes and another version are ignored */
		memset(msg + len, 0xab, 4);
		msg[1] = 3;
		g_assert_cmpint(wr_disco_parse_pong(msg, len + 4, &pong), ==, 0);
		assert_endpoint(&pong.src, vectors[i].src);
	}
}

static void
test_disco_pong_reject(void)
{
	guint8 msg[WR_DISCO_PONG_LEN];
	guint8 tx_id[WR_DISCO_TXID_LEN] = {0};
	guint8 out[WR_DISCO_PONG_LEN];
	WrDiscoPong pong;
	WrDiscoPong before;
	WrEndpoint none;
	WrEndpoint src;

	unhex("0200" TXID "00000000000000000000ffffc0000201a2a9", msg, sizeof(msg));
	memset(&before, 0x5a, sizeof(before));
	/* shorter than 30 payload bytes is rejected (§3.2) */
	for (gsize i = 0; i < WR_DISCO_PONG_LEN; i++) {
		pong = before;
		g_assert_cmpint(wr_disco_parse_pong(msg, i, &pong), ==, -EBADMSG);
		g_assert_cmpmem(&pong, sizeof(pong), &before, sizeof(before));
	}
	msg[0] = WR_DISCO_PING;
	g_assert_cmpint(wr_disco_parse_pong(msg, sizeof(msg), &pong), ==, -EBADMSG);

	memset(&none, 0, sizeof(none));
	endpoint(&src, "192.0.2.1:1");
	memset(out, 0xee, sizeof(out));
	g_assert_cmpint(wr_disco_build_pong(out, sizeof(out), tx_id, &none), ==, -EAFNOSUPPORT);
	g_assert_cmpint(wr_disco_build_pong(out, sizeof(out) - 1, tx_id, &src), ==, -ENOBUFS);
	for (gsize i = 0; i < sizeof(out); i++)
		g_assert_cmphex(out[i], ==, 0xee);
}

static void
test_disco_call_me_maybe_vector(void)
{
	/* 03 call-me-maybe, 00 version, 198.51.100.7:41641, [2001:db8::5]:12345 (0x3039),
	 * [::ffff:203.0.113.9]:1 written by the parser as IPv4 */
	const char *wire = "0300"
			   "00000000000000000000ffffc6336407a2a9"
			   "20010db80000000000000000000000053039"
			   "00000000000000000000ffffcb0071090001";
	const char *texts[] = {"198.51.100.7:41641", "[2001:db8::5]:12345", "203.0.113.9:1"};
	WrEndpoint eps[G_N_ELEMENTS(texts)];
	guint8 msg[WR_DISCO_CALL_ME_MAYBE_LEN(3)];
	guint8 out[WR_DISCO_CALL_ME_MAYBE_LEN(3)];
	WrDiscoCallMeMaybe cmm;
	gsize len;

	len = unhex(wire, msg, sizeof(msg));
	g_assert_cmpuint(len, ==, WR_DISCO_CALL_ME_MAYBE_LEN(3));
	g_assert_cmpint(wr_disco_parse_call_me_maybe(msg, len, &cmm), ==, 0);
	g_assert_cmpuint(cmm.n_endpoints, ==, 3);
	for (gsize i = 0; i < G_N_ELEMENTS(texts); i++) {
		assert_endpoint(&cmm.endpoints[i], texts[i]);
		endpoint(&eps[i], texts[i]);
	}
	g_assert_cmpint(cmm.endpoints[2].sa.sa_family, ==, AF_INET);
	g_assert_cmpint(wr_disco_build_call_me_maybe(out, sizeof(out), eps, G_N_ELEMENTS(eps)), ==,
			(int) len);
	assert_hex_eq(out, len, wire);

	/* the empty list is two bytes */
	g_assert_cmpint(wr_disco_build_call_me_maybe(out, sizeof(out), NULL, 0), ==, 2);
	assert_hex_eq(out, 2, "0300");
}

/* §3.2: an empty payload, a ragged one or version != 0 is a CallMeMaybe with no endpoints */
static void
test_disco_call_me_maybe_limits(void)
{
	g_autofree guint8 *msg = NULL;
	g_autofree guint8 *out = NULL;
	WrEndpoint eps[WR_DISCO_MAX_ENDPOINTS + 1];
	WrDiscoCallMeMaybe cmm;
	WrDiscoCallMeMaybe before;
	gsize big = WR_DISCO_CALL_ME_MAYBE_LEN(WR_DISCO_MAX_ENDPOINTS + 1);

	msg = g_malloc0(big);
	out = g_malloc0(big);
	for (gsize i = 0; i < G_N_ELEMENTS(eps); i++) {
		g_autofree gchar *text = g_strdup_printf("10.0.%u.%u:%u", (guint) (i / 256),
							 (guint) (i % 256), (guint) (1000 + i));
		endpoint(&eps[i], text);
	}
	g_assert_cmpint(wr_disco_build_call_me_maybe(msg, big, eps, WR_DISCO_MAX_ENDPOINTS), ==,
			(int) WR_DISCO_CALL_ME_MAYBE_LEN(WR_DISCO_MAX_ENDPOINTS));

	/* every payload length up to a few endpoints: only whole multiples of 18 carry any */
	for (gsize payload = 0; payload <= 3 * WR_DISCO_ENDPOINT_LEN + 1; payload++) {
		memset(&cmm, 0x5a, sizeof(cmm));
		g_assert_cmpint(wr_disco_parse_call_me_maybe(msg, 2 + payload, &cmm), ==, 0);
		if (payload % WR_DISCO_ENDPOINT_LEN == 0)
			g_assert_cmpuint(cmm.n_endpoints, ==, payload / WR_DISCO_ENDPOINT_LEN);
		else
			g_assert_cmpuint(cmm.n_endpoints, ==, 0);
	}
	/* version 1 is ignored wholesale */
	msg[1] = 1;
	g_assert_cmpint(wr_disco_parse_call_me_maybe(msg, WR_DISCO_CALL_ME_MAYBE_LEN(2), &cmm), ==,
			0);
	g_assert_cmpuint(cmm.n_endpoints, ==, 0);
	msg[1] = 0;

	/* the most we keep, all of them in order */
	g_assert_cmpint(wr_disco_parse_call_me_maybe(
				msg, WR_DISCO_CALL_ME_MAYBE_LEN(WR_DISCO_MAX_ENDPOINTS), &cmm),
			==, 0);
	g_assert_cmpuint(cmm.n_endpoints, ==, WR_DISCO_MAX_ENDPOINTS);
	for (gsize i = 0; i < WR_DISCO_MAX_ENDPOINTS; i++)
		g_assert_true(wr_endpoint_equal(&cmm.endpoints[i], &eps[i]));

	/* one more on the wire is accepted and the extra ignored; building it is refused */
	g_assert_cmpint(wr_disco_build_call_me_maybe(out, big, eps, WR_DISCO_MAX_ENDPOINTS + 1), ==,
			-EMSGSIZE);
	g_assert_cmpint(wr_disco_build_call_me_maybe(out, big, &eps[WR_DISCO_MAX_ENDPOINTS], 1), ==,
			(int) WR_DISCO_CALL_ME_MAYBE_LEN(1));
	memcpy(msg + WR_DISCO_CALL_ME_MAYBE_LEN(WR_DISCO_MAX_ENDPOINTS), out + WR_DISCO_HEADER_LEN,
	       WR_DISCO_ENDPOINT_LEN);
	g_assert_cmpint(wr_disco_parse_call_me_maybe(msg, big, &cmm), ==, 0);
	g_assert_cmpuint(cmm.n_endpoints, ==, WR_DISCO_MAX_ENDPOINTS);

	/* rejected: too short, another type; out untouched */
	memset(&before, 0x5a, sizeof(before));
	cmm = before;
	g_assert_cmpint(wr_disco_parse_call_me_maybe(msg, 1, &cmm), ==, -EBADMSG);
	msg[0] = WR_DISCO_CALL_ME_MAYBE_VIA;
	g_assert_cmpint(wr_disco_parse_call_me_maybe(msg, big, &cmm), ==, -EBADMSG);
	g_assert_cmpmem(&cmm, sizeof(cmm), &before, sizeof(before));

	/* builder: an endpoint without an address, a small buffer; dst untouched */
	memset(out, 0xee, big);
	memset(&eps[1], 0, sizeof(eps[1]));
	g_assert_cmpint(wr_disco_build_call_me_maybe(out, big, eps, 2), ==, -EAFNOSUPPORT);
	g_assert_cmpint(
		wr_disco_build_call_me_maybe(out, WR_DISCO_CALL_ME_MAYBE_LEN(1) - 1, eps, 1), ==,
		-ENOBUFS);
	for (gsize i = 0; i < big; i++)
		g_assert_cmphex(out[i], ==, 0xee);
}

/* wr_disco_parse dispatches the three types and ignores the rest */
static void
test_disco_parse_dispatch(void)
{
	const struct {
		const char *wire;
		int rc;
		int type;
	} vectors[] = {
		{"", -EBADMSG, 0},
		{"01", -EBADMSG, 0},
		{"0100", -EBADMSG, 0},
		{"0100" TXID, 0, WR_DISCO_PING},
		{"0200" TXID, -EBADMSG, 0},
		{"0200" TXID "00000000000000000000ffffc0000201a2a9", 0, WR_DISCO_PONG},
		{"0300", 0, WR_DISCO_CALL_ME_MAYBE},
		{"0301ff", 0, WR_DISCO_CALL_ME_MAYBE},
		/* unknown and peer-relay types are ignored, not errors of the sender */
		{"0000" TXID, -ENOMSG, 0},
		{"0400" TXID, -ENOMSG, 0},
		{"0500" TXID, -ENOMSG, 0},
		{"0600" TXID, -ENOMSG, 0},
		{"0700" TXID, -ENOMSG, 0},
		{"0800" TXID, -ENOMSG, 0},
		{"0900" TXID, -ENOMSG, 0},
		{"0a00", -ENOMSG, 0},
		{"ff00", -ENOMSG, 0},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(vectors); i++) {
		guint8 msg[64];
		WrDiscoMessage m;
		WrDiscoMessage before;
		gsize len = unhex(vectors[i].wire, msg, sizeof(msg));

		memset(&before, 0x5a, sizeof(before));
		m = before;
		g_assert_cmpint(wr_disco_parse(msg, len, &m), ==, vectors[i].rc);
		if (vectors[i].rc < 0) {
			g_assert_cmpmem(&m, sizeof(m), &before, sizeof(before));
			continue;
		}
		g_assert_cmpint(m.type, ==, vectors[i].type);
		g_assert_cmpint(m.version, ==, msg[1]);
	}
}

static void
test_disco_classify(void)
{
	const struct {
		const char *name;
		const char *head; /* the rest is zeros up to len */
		gsize len;
		WrPacketKind kind;
	} vectors[] = {
		{"empty", "", 0, WR_PACKET_WIREGUARD},
		{"wg initiation", "01000000", 148, WR_PACKET_WIREGUARD},
		{"wg response", "02000000", 92, WR_PACKET_WIREGUARD},
		{"wg cookie", "03000000", 64, WR_PACKET_WIREGUARD},
		{"wg keepalive", "04000000", 32, WR_PACKET_WIREGUARD},
		{"wg data", "04000000", 1452, WR_PACKET_WIREGUARD},
		/* binding request 0x0001 with length 0, cookie, TxID */
		{"stun request", "000100002112a442" TXID, 20, WR_PACKET_STUN},
		/* binding success 0x0101 with an XOR-MAPPED-ADDRESS */
		{"stun response", "010100142112a442" TXID "0020000800011b3ae1ba8443", 32,
		 WR_PACKET_STUN},
		{"stun 19 bytes", "000100002112a442" TXID, 19, WR_PACKET_WIREGUARD},
		/* binding error response 0x0111: not a binding request or success */
		{"stun error", "011100002112a442" TXID, 20, WR_PACKET_WIREGUARD},
		{"stun wrong cookie", "000100002112a443" TXID, 20, WR_PACKET_WIREGUARD},
		{"stun top bits", "400100002112a442" TXID, 20, WR_PACKET_WIREGUARD},
		{"disco ping", "5453f09f92ac", WR_DISCO_PING_PACKET_LEN, WR_PACKET_DISCO},
		{"disco shortest", "5453f09f92ac", 38, WR_PACKET_DISCO},
		{"disco 37 bytes", "5453f09f92ac", 37, WR_PACKET_WIREGUARD},
		{"disco bad magic", "5453f09f92ad", 124, WR_PACKET_WIREGUARD},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(vectors); i++) {
		g_autofree guint8 *pkt = g_malloc0(MAX(vectors[i].len, 1));
		guint8 head[64];
		gsize n = unhex(vectors[i].head, head, sizeof(head));

		g_test_message("%s", vectors[i].name);
		memcpy(pkt, head, MIN(n, vectors[i].len));
		g_assert_cmpint(wr_disco_classify(pkt, vectors[i].len), ==, vectors[i].kind);
		g_assert_cmpint(wr_disco_is_disco(pkt, vectors[i].len), ==,
				vectors[i].kind == WR_PACKET_DISCO);
	}
}

typedef struct {
	guint8 a_sk[WR_DISCO_KEY_LEN];
	guint8 a_pk[WR_DISCO_KEY_LEN];
	guint8 b_sk[WR_DISCO_KEY_LEN];
	guint8 b_pk[WR_DISCO_KEY_LEN];
	guint8 ab[WR_DISCO_KEY_LEN];
	guint8 ba[WR_DISCO_KEY_LEN];
} Pair;

static void
pair_init(Pair *p)
{
	wr_x25519_generate(p->a_sk, p->a_pk);
	wr_x25519_generate(p->b_sk, p->b_pk);
	g_assert_cmpint(wr_disco_shared_key(p->ab, p->b_pk, p->a_sk), ==, 0);
	g_assert_cmpint(wr_disco_shared_key(p->ba, p->a_pk, p->b_sk), ==, 0);
}

/* A seals a ping for B; B reads the sender, opens and parses it; sizes are §3.3's */
static void
test_disco_seal_open(void)
{
	Pair p;
	guint8 nonce[WR_DISCO_NONCE_LEN];
	guint8 tx_id[WR_DISCO_TXID_LEN];
	guint8 node_key[WR_DISCO_KEY_LEN];
	guint8 msg[WR_DISCO_PING_LEN];
	guint8 pkt[WR_DISCO_PING_PACKET_LEN];
	guint8 box[WR_DISCO_PING_LEN + WR_DISCO_TAG_LEN];
	guint8 inner[WR_DISCO_PING_LEN];
	guint8 sender[WR_DISCO_KEY_LEN];
	WrDiscoMessage m;
	WrEndpoint src;
	WrEndpoint eps[3];
	guint8 big[WR_DISCO_OVERHEAD + WR_DISCO_CALL_ME_MAYBE_LEN(3)];
	int n;

	pair_init(&p);
	g_assert_cmpmem(p.ab, sizeof(p.ab), p.ba, sizeof(p.ba));
	pattern(nonce, sizeof(nonce), 3, 7);
	pattern(tx_id, sizeof(tx_id), 1, 1);
	pattern(node_key, sizeof(node_key), 1, 0x20);

	n = wr_disco_build_ping(msg, sizeof(msg), tx_id, node_key, 0);
	g_assert_cmpint(n, ==, WR_DISCO_PING_LEN);
	g_assert_cmpint(wr_disco_seal(pkt, sizeof(pkt), msg, (gsize) n, p.a_pk, p.ab, nonce), ==,
			124);
	/* the frame: magic, A's key in clear, the nonce, then exactly the NaCl box */
	assert_hex_eq(pkt, WR_DISCO_MAGIC_LEN, "5453f09f92ac");
	g_assert_cmpmem(pkt + 6, 32, p.a_pk, 32);
	g_assert_cmpmem(pkt + 38, 24, nonce, 24);
	g_assert_true(wr_box_seal(box, msg, sizeof(msg), nonce, p.b_pk, p.a_sk));
	g_assert_cmpmem(pkt + 62, sizeof(pkt) - 62, box, sizeof(box));

	g_assert_cmpint(wr_disco_classify(pkt, sizeof(pkt)), ==, WR_PACKET_DISCO);
	g_assert_cmpint(wr_disco_sender_key(pkt, sizeof(pkt), sender), ==, 0);
	g_assert_cmpmem(sender, sizeof(sender), p.a_pk, sizeof(p.a_pk));
	g_assert_cmpint(wr_disco_open(inner, sizeof(inner), pkt, sizeof(pkt), p.ba), ==,
			WR_DISCO_PING_LEN);
	g_assert_cmpmem(inner, sizeof(inner), msg, sizeof(msg));
	g_assert_cmpint(wr_disco_parse(inner, sizeof(inner), &m), ==, 0);
	g_assert_cmpint(m.type, ==, WR_DISCO_PING);
	g_assert_cmpmem(m.ping.tx_id, WR_DISCO_TXID_LEN, tx_id, WR_DISCO_TXID_LEN);
	g_assert_cmpmem(m.ping.node_key, WR_DISCO_KEY_LEN, node_key, WR_DISCO_KEY_LEN);

	/* B's pong back: 110 bytes */
	endpoint(&src, "198.51.100.7:41641");
	n = wr_disco_build_pong(msg, sizeof(msg), tx_id, &src);
	g_assert_cmpint(wr_disco_seal(pkt, sizeof(pkt), msg, (gsize) n, p.b_pk, p.ba, nonce), ==,
			110);
	g_assert_cmpint(wr_disco_open(inner, sizeof(inner), pkt, 110, p.ab), ==, WR_DISCO_PONG_LEN);
	g_assert_cmpint(wr_disco_parse(inner, WR_DISCO_PONG_LEN, &m), ==, 0);
	g_assert_cmpint(m.type, ==, WR_DISCO_PONG);
	g_assert_true(wr_endpoint_equal(&m.pong.src, &src));

	/* a CallMeMaybe with 3 endpoints: 80 + 18 * 3 */
	endpoint(&eps[0], "192.0.2.1:1");
	endpoint(&eps[1], "[2001:db8::1]:2");
	endpoint(&eps[2], "10.1.2.3:41641");
	{
		guint8 cmm[WR_DISCO_CALL_ME_MAYBE_LEN(3)];
		guint8 back[WR_DISCO_CALL_ME_MAYBE_LEN(3)];

		n = wr_disco_build_call_me_maybe(cmm, sizeof(cmm), eps, 3);
		g_assert_cmpint(
			wr_disco_seal(big, sizeof(big), cmm, (gsize) n, p.a_pk, p.ab, nonce), ==,
			80 + 18 * 3);
		g_assert_cmpint(wr_disco_open(back, sizeof(back), big, sizeof(big), p.ba), ==, n);
		g_assert_cmpint(wr_disco_parse(back, (gsize) n, &m), ==, 0);
		g_assert_cmpint(m.type, ==, WR_DISCO_CALL_ME_MAYBE);
		g_assert_cmpuint(m.call_me_maybe.n_endpoints, ==, 3);
		for (gsize i = 0; i < 3; i++)
			g_assert_true(wr_endpoint_equal(&m.call_me_maybe.endpoints[i], &eps[i]));
	}
}

/* tamper, wrong key, truncation, bad magic, small buffers: all refused, dst untouched */
static void
test_disco_open_reject(void)
{
	Pair p;
	Pair q;
	guint8 nonce[WR_DISCO_NONCE_LEN] = {0};
	guint8 tx_id[WR_DISCO_TXID_LEN] = {0};
	guint8 msg[WR_DISCO_PING_LEN];
	guint8 pkt[WR_DISCO_PING_PACKET_LEN];
	guint8 inner[WR_DISCO_PING_LEN];
	guint8 untouched[WR_DISCO_PING_LEN];
	guint8 sender[WR_DISCO_KEY_LEN];
	int n;

	pair_init(&p);
	pair_init(&q);
	n = wr_disco_build_ping(msg, sizeof(msg), tx_id, p.a_pk, 0);
	g_assert_cmpint(wr_disco_seal(pkt, sizeof(pkt), msg, (gsize) n, p.a_pk, p.ab, nonce), ==,
			(int) sizeof(pkt));
	memset(untouched, 0x3c, sizeof(untouched));
	memcpy(inner, untouched, sizeof(inner));

	/* a flipped bit anywhere: the magic makes it not disco, anything after fails the box
	 * (the sender key is not authenticated by the box itself: the caller picks the shared
	 * key by it, so a changed key selects another peer's key or none) */
	for (gsize i = 0; i < sizeof(pkt) * 8; i++) {
		int rc;

		pkt[i / 8] ^= (guint8) (1u << (i % 8));
		rc = wr_disco_open(inner, sizeof(inner), pkt, sizeof(pkt), p.ba);
		if (i / 8 < WR_DISCO_MAGIC_LEN)
			g_assert_cmpint(rc, ==, -EINVAL);
		else if (i / 8 < WR_DISCO_NONCE_OFFSET)
			g_assert_cmpint(rc, ==, (int) WR_DISCO_PING_LEN);
		else
			g_assert_cmpint(rc, ==, -EBADMSG);
		pkt[i / 8] ^= (guint8) (1u << (i % 8));
		if (rc < 0)
			g_assert_cmpmem(inner, sizeof(inner), untouched, sizeof(untouched));
		memcpy(inner, untouched, sizeof(inner));
	}

	/* another pair's key, e.g. the sender restarted with a new disco key */
	g_assert_cmpint(wr_disco_open(inner, sizeof(inner), pkt, sizeof(pkt), q.ab), ==, -EBADMSG);
	/* every truncation */
	for (gsize len = 0; len < sizeof(pkt); len++) {
		int rc = wr_disco_open(inner, sizeof(inner), pkt, len, p.ba);

		if (len < WR_DISCO_OVERHEAD)
			g_assert_cmpint(rc, ==, -EINVAL);
		else
			g_assert_cmpint(rc, ==, -EBADMSG);
	}
	g_assert_cmpint(wr_disco_open(inner, sizeof(inner) - 1, pkt, sizeof(pkt), p.ba), ==,
			-ENOBUFS);
	g_assert_cmpmem(inner, sizeof(inner), untouched, sizeof(untouched));

	/* sender key: only for disco-looking packets */
	memset(sender, 0x11, sizeof(sender));
	g_assert_cmpint(wr_disco_sender_key(pkt, WR_DISCO_MIN_CLASSIFY - 1, sender), ==, -EINVAL);
	for (gsize i = 0; i < sizeof(sender); i++)
		g_assert_cmphex(sender[i], ==, 0x11);
	g_assert_cmpint(wr_disco_sender_key(pkt, WR_DISCO_MIN_CLASSIFY, sender), ==, 0);

	/* seal: small buffer, oversized message; a low-order key has no shared key */
	memset(pkt, 0x77, sizeof(pkt));
	g_assert_cmpint(wr_disco_seal(pkt, sizeof(pkt) - 1, msg, sizeof(msg), p.a_pk, p.ab, nonce),
			==, -ENOBUFS);
	g_assert_cmpint(wr_disco_seal(pkt, sizeof(pkt), msg, WR_DISCO_MAX_MESSAGE_LEN + 1, p.a_pk,
				      p.ab, nonce),
			==, -EMSGSIZE);
	for (gsize i = 0; i < sizeof(pkt); i++)
		g_assert_cmphex(pkt[i], ==, 0x77);
	{
		guint8 zero[WR_DISCO_KEY_LEN] = {0};
		guint8 shared[WR_DISCO_KEY_LEN];

		memset(shared, 0x99, sizeof(shared));
		g_assert_cmpint(wr_disco_shared_key(shared, zero, p.a_sk), ==, -EINVAL);
		for (gsize i = 0; i < sizeof(shared); i++)
			g_assert_cmphex(shared[i], ==, 0x99);
	}
}

/* the largest padded ping fits exactly; the inner message is opened whole */
static void
test_disco_max_packet(void)
{
	Pair p;
	guint8 nonce[WR_DISCO_NONCE_LEN] = {1};
	guint8 tx_id[WR_DISCO_TXID_LEN] = {2};
	g_autofree guint8 *msg = g_malloc(WR_DISCO_MAX_MESSAGE_LEN);
	g_autofree guint8 *pkt = g_malloc(WR_DISCO_MAX_PACKET_LEN);
	g_autofree guint8 *inner = g_malloc(WR_DISCO_MAX_MESSAGE_LEN);
	size_t padding = WR_DISCO_MAX_MESSAGE_LEN - WR_DISCO_PING_LEN;
	WrDiscoMessage m;

	pair_init(&p);
	g_assert_cmpint(wr_disco_build_ping(msg, WR_DISCO_MAX_MESSAGE_LEN, tx_id, p.a_pk, padding),
			==, WR_DISCO_MAX_MESSAGE_LEN);
	g_assert_cmpint(wr_disco_seal(pkt, WR_DISCO_MAX_PACKET_LEN, msg, WR_DISCO_MAX_MESSAGE_LEN,
				      p.a_pk, p.ab, nonce),
			==, WR_DISCO_MAX_PACKET_LEN);
	g_assert_cmpint(
		wr_disco_open(inner, WR_DISCO_MAX_MESSAGE_LEN, pkt, WR_DISCO_MAX_PACKET_LEN, p.ba),
		==, WR_DISCO_MAX_MESSAGE_LEN);
	g_assert_cmpint(wr_disco_parse(inner, WR_DISCO_MAX_MESSAGE_LEN, &m), ==, 0);
	g_assert_cmpuint(m.ping.padding, ==, padding);
	g_assert_cmpuint(WR_DISCO_MAX_PACKET_LEN, ==, 65475);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_assert_true(wr_crypto_init());

	g_test_add_func("/warren/disco/ping-vector", test_disco_ping_vector);
	g_test_add_func("/warren/disco/ping-reject", test_disco_ping_reject);
	g_test_add_func("/warren/disco/pong-vector", test_disco_pong_vector);
	g_test_add_func("/warren/disco/pong-reject", test_disco_pong_reject);
	g_test_add_func("/warren/disco/call-me-maybe-vector", test_disco_call_me_maybe_vector);
	g_test_add_func("/warren/disco/call-me-maybe-limits", test_disco_call_me_maybe_limits);
	g_test_add_func("/warren/disco/parse-dispatch", test_disco_parse_dispatch);
	g_test_add_func("/warren/disco/classify", test_disco_classify);
	g_test_add_func("/warren/disco/seal-open", test_disco_seal_open);
	g_test_add_func("/warren/disco/open-reject", test_disco_open_reject);
	g_test_add_func("/warren/disco/max-packet", test_disco_max_packet);
	return g_test_run();
}
