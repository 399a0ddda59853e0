/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer target for the data path of WrDevice.  At the first call two devices, A
 * (100.64.0.1) and B (100.64.0.2, which lets A send from anywhere), do a real handshake in
 * process; the session then serves every input, at a clock that never moves.  Inputs are
 * records of [op u8][length u16 le][bytes]:
 *   op & 3 == 0  the bytes are a datagram for B (from A's address, or a new one: op bit 2)
 *   op & 3 == 1  the bytes after a 10-byte mutation block are an IP packet for A's TUN
 *                reader; a datagram A makes of it is mutated and delivered to B
 *   op & 3 == 2  the same from B to A, so that A decrypts arbitrary inner packets
 *   op & 3 == 3  a batch of up to 8 packets ([len u8][bytes] each) into A at once, their
 *                datagrams delivered to B in reverse order
 * Mutation block m[10]: m[0] bit 0 sets the counter to m[1..8], bit 1 xors the key index
 * with m[1..4], bit 2 flips bit m[9] & 7 of byte m[1..2] % len, bit 3 truncates to
 * m[3..4] % (len + 1), bit 4 delivers twice, bit 5 wraps the bytes in an IPv4 header that
 * routes (bit 7: IPv6), bit 6 delivers from a new source address.  An unmutated wrapped
 * packet must come out of the other side byte for byte, and its second copy must not.
 */

#define G_LOG_DOMAIN "WrFuzzData"

#include "config.h"

#include <arpa/inet.h>
#include <glib.h>
#include <string.h>

#include "wr-crypto.h"
#include "wr-device.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define T0	    ((int64_t) 1000 * WR_USEC_PER_SEC)
#define REALTIME    ((int64_t) 1767225600 * WR_USEC_PER_SEC)
#define MAX_RECORDS 32
#define MAX_BATCH   8
#define MUT_LEN	    10

enum {
	MUT_COUNTER = 1 << 0,
	MUT_INDEX = 1 << 1,
	MUT_FLIP = 1 << 2,
	MUT_TRUNCATE = 1 << 3,
	MUT_TWICE = 1 << 4,
	MUT_WRAP4 = 1 << 5,
	MUT_ROAM = 1 << 6,
	MUT_WRAP6 = 1 << 7,
};

typedef struct {
	WrDevice *dev[2];
	WrEndpoint ep[2];
	WrEndpoint roam;
	const char *ip4[2];
	const char *ip6[2];
	int64_t now;
} World;

static void
uapi_peer_free(gpointer p)
{
	WrUapiPeer *peer = p;

	g_array_unref(peer->allowed_ips);
	g_free(peer);
}

static void
configure(WrDevice *dev, const uint8_t private_key[WR_KEY_LEN], const uint8_t peer_key[WR_KEY_LEN],
	  const WrEndpoint *peer_ep, const char *const *cidrs, guint n_cidrs)
{
	WrUapiSet *set = g_new0(WrUapiSet, 1);
	WrUapiPeer *p = g_new0(WrUapiPeer, 1);

	set->peers = g_ptr_array_new_with_free_func(uapi_peer_free);
	set->has_private_key = true;
	memcpy(set->private_key, private_key, WR_KEY_LEN);
	memcpy(p->public_key, peer_key, WR_KEY_LEN);
	p->has_endpoint = true;
	p->endpoint = *peer_ep;
	p->allowed_ips = g_array_new(FALSE, TRUE, sizeof(WrCidr));
	for (guint i = 0; i < n_cidrs; i++) {
		WrCidr c;

		g_assert_true(wr_cidr_parse(&c, cidrs[i]));
		g_array_append_val(p->allowed_ips, c);
	}
	g_ptr_array_add(set->peers, p);
	g_assert_cmpint(wr_device_apply(dev, set, T0), ==, 0);
	wr_uapi_set_free(set);
}

static void
drain(WrDevice *dev)
{
	GQueue out = G_QUEUE_INIT;

	wr_device_take_outgoing(dev, &out);
	g_queue_clear_full(&out, (GDestroyNotify) wr_datagram_free);
}

/* carries every outgoing datagram between the two devices until nothing moves */
static void
exchange(World *w)
{
	for (guint round = 0; round < 32; round++) {
		guint moved = 0;

		for (int i = 0; i < 2; i++) {
			GQueue out = G_QUEUE_INIT;
			WrDatagram *d;

			(void) wr_device_tick(w->dev[i], w->now, w->now - T0 + REALTIME);
			wr_device_take_outgoing(w->dev[i], &out);
			while ((d = g_queue_pop_head(&out)) != NULL) {
				WrPacket pkt;

				memset(&pkt, 0, sizeof(pkt));
				pkt.buf = g_malloc(WR_PACKET_CAPACITY);
				memcpy(pkt.buf, d->buf + d->offset, d->len);
				pkt.data = pkt.buf;
				pkt.len = d->len;
				pkt.endpoint = w->ep[i];
				wr_device_feed_datagrams(w->dev[1 - i], &pkt, 1, w->now);
				g_free(pkt.buf);
				wr_datagram_free(d);
				moved++;
			}
		}
		if (moved == 0)
			return;
	}
}

static World *
world_get(void)
{
	static World w;
	static bool initialized;
	static const char *const a_allows[] = {"100.64.0.2/32", "fd7a:115c:a1e0::2/128"};
	static const char *const b_allows[] = {"0.0.0.0/0", "::/0"};
	uint8_t a_private[WR_KEY_LEN], a_public[WR_KEY_LEN];
	uint8_t b_private[WR_KEY_LEN], b_public[WR_KEY_LEN];
	uint8_t ip[28] = {0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 100, 64, 0, 1, 100, 64, 0, 2};
	WrPacket pkt;

	if (initialized)
		return &w;
	g_assert_true(wr_crypto_init());
	w.now = T0;
	w.ip4[0] = "100.64.0.1";
	w.ip4[1] = "100.64.0.2";
	w.ip6[0] = "fd7a:115c:a1e0::1";
	w.ip6[1] = "fd7a:115c:a1e0::2";
	g_assert_true(wr_endpoint_parse(&w.ep[0], "198.51.100.1:51820"));
	g_assert_true(wr_endpoint_parse(&w.ep[1], "198.51.100.2:51820"));
	g_assert_true(wr_endpoint_parse(&w.roam, "203.0.113.9:4000"));
	wr_x25519_generate(a_private, a_public);
	wr_x25519_generate(b_private, b_public);
	w.dev[0] = wr_device_new(NULL);
	w.dev[1] = wr_device_new(NULL);
	configure(w.dev[0], a_private, b_public, &w.ep[1], a_allows, G_N_ELEMENTS(a_allows));
	configure(w.dev[1], b_private, a_public, &w.ep[0], b_allows, G_N_ELEMENTS(b_allows));
	exchange(&w);

	/* A's first packet starts the handshake; once it arrives both sides have a session */
	memset(&pkt, 0, sizeof(pkt));
	pkt.buf = g_malloc0(WR_PACKET_CAPACITY);
	pkt.data = pkt.buf + WR_PACKET_HEADROOM;
	memcpy(pkt.data, ip, sizeof(ip));
	pkt.len = sizeof(ip);
	wr_device_feed_ip_packets(w.dev[0], &pkt, 1, w.now);
	g_free(pkt.buf);
	exchange(&w);
	g_assert_true(wr_device_peer_has_session(w.dev[0], b_public));
	g_assert_true(wr_device_peer_has_session(w.dev[1], a_public));
	wr_memzero(a_private, sizeof(a_private));
	wr_memzero(b_private, sizeof(b_private));

	/* from here on the clock stands still: the session never ages, no timer fires */
	w.now = T0 + WR_USEC_PER_SEC;
	initialized = true;
	return &w;
}

/* writes an IP header in front of payload (already at p + header length); returns the total */
static uint32_t
wrap(World *w, uint8_t *p, uint32_t payload_len, int from, bool v6)
{
	if (v6) {
		payload_len = MIN(payload_len, (uint32_t) (WR_PACKET_MAX_IP - 40));
		memset(p, 0, 40);
		p[0] = 0x60;
		p[4] = (uint8_t) (payload_len >> 8);
		p[5] = (uint8_t) payload_len;
		p[6] = 17;
		p[7] = 64;
		g_assert_cmpint(inet_pton(AF_INET6, w->ip6[from], p + 8), ==, 1);
		g_assert_cmpint(inet_pton(AF_INET6, w->ip6[1 - from], p + 24), ==, 1);
		return 40 + payload_len;
	}
	payload_len = MIN(payload_len, (uint32_t) (WR_PACKET_MAX_IP - 20));
	memset(p, 0, 20);
	p[0] = 0x45;
	p[2] = (uint8_t) ((20 + payload_len) >> 8);
	p[3] = (uint8_t) (20 + payload_len);
	p[8] = 64;
	p[9] = 17;
	g_assert_cmpint(inet_pton(AF_INET, w->ip4[from], p + 12), ==, 1);
	g_assert_cmpint(inet_pton(AF_INET, w->ip4[1 - from], p + 16), ==, 1);
	return 20 + payload_len;
}

/* fills pkt with an IP packet for device `from`'s TUN reader; returns whether it was wrapped */
static bool
make_ip(World *w, WrPacket *pkt, int from, uint8_t mut, const uint8_t *bytes, uint32_t len)
{
	bool v6 = (mut & MUT_WRAP6) != 0;
	bool wrapped = (mut & (MUT_WRAP4 | MUT_WRAP6)) != 0;
	uint32_t hdr = v6 ? 40 : 20;

	memset(pkt, 0, sizeof(*pkt));
	pkt->buf = g_malloc(WR_PACKET_CAPACITY);
	pkt->data = pkt->buf + WR_PACKET_HEADROOM;
	if (wrapped) {
		len = MIN(len, (uint32_t) WR_PACKET_MAX_IP - hdr);
		memcpy(pkt->data + hdr, bytes, len);
		pkt->len = wrap(w, pkt->data, len, from, v6);
	} else {
		len = MIN(len, (uint32_t) WR_PACKET_MAX_IP);
		memcpy(pkt->data, bytes, len);
		pkt->len = len;
	}
	return wrapped;
}

/* applies the mutation block to a datagram in place; returns whether it changed anything */
static bool
mutate(const uint8_t m[MUT_LEN], uint8_t *d, uint32_t *len)
{
	bool changed = false;

	if (m[0] & MUT_COUNTER) {
		uint64_t counter;

		memcpy(&counter, m + 1, sizeof(counter));
		changed |= memcmp(d + 8, &counter, sizeof(counter)) != 0;
		memcpy(d + 8, &counter, sizeof(counter));
	}
	if (m[0] & MUT_INDEX) {
		for (int i = 0; i < 4; i++) {
			d[4 + i] ^= m[1 + i];
			changed |= m[1 + i] != 0;
		}
	}
	if (m[0] & MUT_FLIP) {
		uint32_t at = ((uint32_t) m[1] | (uint32_t) m[2] << 8) % *len;

		d[at] ^= (uint8_t) (1 << (m[9] & 7));
		changed = true;
	}
	if (m[0] & MUT_TRUNCATE) {
		uint32_t to = ((uint32_t) m[3] | (uint32_t) m[4] << 8) % (*len + 1);

		changed |= to != *len;
		*len = to;
	}
	return changed;
}

/* a datagram arrives at device `to`; returns the verdict, the output in *out_data/len */
static WrVerdict
deliver(World *w, int to, const WrEndpoint *src, const uint8_t *bytes, uint32_t len,
	GBytes **out_plain)
{
	WrPacket pkt;

	memset(&pkt, 0, sizeof(pkt));
	pkt.buf = g_malloc(WR_PACKET_CAPACITY);
	memcpy(pkt.buf, bytes, len);
	pkt.data = pkt.buf;
	pkt.len = len;
	pkt.endpoint = *src;
	wr_device_feed_datagrams(w->dev[to], &pkt, 1, w->now);
	g_assert_null(pkt.priv_keypair);
	g_assert_true(pkt.verdict == WR_VERDICT_TUN || pkt.verdict == WR_VERDICT_CONSUMED ||
		      pkt.verdict == WR_VERDICT_DROP);
	if (out_plain != NULL)
		*out_plain = NULL;
	if (pkt.verdict == WR_VERDICT_TUN) {
		g_assert_true(pkt.data >= pkt.buf);
		g_assert_true(pkt.data + pkt.len <= pkt.buf + WR_PACKET_CAPACITY);
		g_assert_cmpuint(pkt.len, >=, 20);
		if (out_plain != NULL)
			*out_plain = g_bytes_new(pkt.data, pkt.len);
	}
	g_free(pkt.buf);
	return pkt.verdict;
}

/* the datagram device `from` made of pkt goes, mutated, to the other device */
static void
carry(World *w, int from, WrPacket *pkt, const uint8_t m[MUT_LEN], bool wrapped, const uint8_t *ip,
      uint32_t ip_len)
{
	const WrEndpoint *src = (m[0] & MUT_ROAM) ? &w->roam : &w->ep[from];
	uint32_t len = pkt->len;
	bool changed;
	GBytes *plain = NULL;
	WrVerdict v;

	if (pkt->verdict != WR_VERDICT_SEND)
		return;
	g_assert_true(pkt->data >= pkt->buf);
	g_assert_true(pkt->data + pkt->len <= pkt->buf + WR_PACKET_CAPACITY);
	g_assert_cmpuint(pkt->len, >=, MESSAGE_MINIMUM_LENGTH + ip_len);
	changed = mutate(m, pkt->data, &len);
	v = deliver(w, 1 - from, src, pkt->data, len, &plain);
	if (wrapped && !changed) {
		/* the contract: what went in on one side comes out on the other */
		g_assert_cmpint(v, ==, WR_VERDICT_TUN);
		g_assert_cmpuint(g_bytes_get_size(plain), ==, ip_len);
		g_assert_true(memcmp(g_bytes_get_data(plain, NULL), ip, ip_len) == 0);
	}
	if (plain != NULL)
		g_bytes_unref(plain);
	if (m[0] & MUT_TWICE) {
		WrVerdict again = deliver(w, 1 - from, src, pkt->data, len, NULL);

		if (v == WR_VERDICT_TUN)
			g_assert_cmpint(again, ==, WR_VERDICT_DROP);
	}
}

static void
one_packet(World *w, int from, const uint8_t *bytes, uint32_t len)
{
	uint8_t m[MUT_LEN] = {0};
	WrPacket pkt;
	g_autofree uint8_t *ip = NULL;
	uint32_t ip_len;
	bool wrapped;

	memcpy(m, bytes, MIN(len, (uint32_t) MUT_LEN));
	bytes += MIN(len, (uint32_t) MUT_LEN);
	len -= MIN(len, (uint32_t) MUT_LEN);
	wrapped = make_ip(w, &pkt, from, m[0], bytes, len);
	ip_len = pkt.len;
	ip = g_memdup2(pkt.data, ip_len);
	wr_device_feed_ip_packets(w->dev[from], &pkt, 1, w->now);
	g_assert_null(pkt.priv_keypair);
	if (wrapped)
		g_assert_cmpint(pkt.verdict, ==, WR_VERDICT_SEND);
	carry(w, from, &pkt, m, wrapped, ip, ip_len);
	g_free(pkt.buf);
}

static void
batch(World *w, const uint8_t *bytes, uint32_t len)
{
	WrPacket pkts[MAX_BATCH];
	uint8_t *ips[MAX_BATCH];
	uint32_t ip_lens[MAX_BATCH];
	static const uint8_t none[MUT_LEN] = {MUT_WRAP4};
	guint n = 0;

	while (n < MAX_BATCH && len > 0) {
		uint32_t chunk = MIN((uint32_t) bytes[0], len - 1);

		(void) make_ip(w, &pkts[n], 0, MUT_WRAP4, bytes + 1, chunk);
		ip_lens[n] = pkts[n].len;
		ips[n] = g_memdup2(pkts[n].data, pkts[n].len);
		bytes += 1 + chunk;
		len -= 1 + chunk;
		n++;
	}
	wr_device_feed_ip_packets(w->dev[0], pkts, n, w->now);
	for (guint i = n; i > 0; i--) {
		g_assert_cmpint(pkts[i - 1].verdict, ==, WR_VERDICT_SEND);
		carry(w, 0, &pkts[i - 1], none, true, ips[i - 1], ip_lens[i - 1]);
	}
	for (guint i = 0; i < n; i++) {
		g_free(pkts[i].buf);
		g_free(ips[i]);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	World *w = world_get();

	for (guint n = 0; n < MAX_RECORDS && size >= 3; n++) {
		uint8_t op = data[0];
		uint32_t len = (uint32_t) data[1] | (uint32_t) data[2] << 8;

		data += 3;
		size -= 3;
		len = MIN(len, (uint32_t) size);
		switch (op & 3) {
		case 0:
			(void) deliver(w, 1, (op & 4) ? &w->roam : &w->ep[0], data,
				       MIN(len, (uint32_t) WR_PACKET_CAPACITY), NULL);
			break;
		case 1:
			one_packet(w, 0, data, len);
			break;
		case 2:
			one_packet(w, 1, data, len);
			break;
		default:
			batch(w, data, len);
			break;
		}
		data += len;
		size -= len;
		/* whatever the devices queued (keepalives, handshakes) is dropped, but they are
		 * ticked so that queued handshake messages are looked at */
		for (int i = 0; i < 2; i++) {
			(void) wr_device_tick(w->dev[i], w->now, w->now - T0 + REALTIME);
			drain(w->dev[i]);
		}
	}
	return 0;
}
