/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer target for the handshake path of WrDevice: arbitrary datagrams from arbitrary
 * sources, fed to a fresh device with one configured peer and ticked at moving times, so
 * that initiations, responses and cookie replies are validated, queued, processed and acted
 * on (responses, cookie replies, timers, retransmissions).
 *
 * Input: one flags byte, then records of [selector u8][length u16 le][bytes].
 *   flags bit 0  the device is forced under load (cookies required)
 *   flags bit 1  the harness plays the configured peer's cookie maker: handshake-sized
 *                datagrams get a correct mac1 (and mac2 once a cookie reply was taken), so
 *                that mutations reach the Noise code instead of stopping at mac1
 *   flags bit 2  the device starts a handshake first, and a real peer device answers it;
 *                with bit 3 the answer is xored with the first 92 input bytes after the
 *                flags (mac1 fixed again under bit 1) before it is delivered
 *   selector bits 0-1  source address; bits 2-7  time step before the record (x 100 ms)
 * After the records the device is ticked far into the future (timers, giving up, zeroing).
 * The keys are fixed so that the committed seeds hold real initiations from the peer.
 */

#define G_LOG_DOMAIN "WrFuzzHandshake"

#include "config.h"

#include <glib.h>
#include <string.h>

#include "wr-cookie.h"
#include "wr-crypto.h"
#include "wr-device.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_RECORDS 64
#define T0	    ((int64_t) 1000 * WR_USEC_PER_SEC)
#define REALTIME    ((int64_t) 1767225600 * WR_USEC_PER_SEC)

/* the device under test and the peer it knows; the seeds were made with these */
static const uint8_t device_private[WR_KEY_LEN] = {
	0x08, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
	0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
	0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x5f,
};
static const uint8_t peer_private[WR_KEY_LEN] = {
	0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a,
	0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35,
	0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x7f,
};
static const char *const sources[] = {
	"198.51.100.2:51820", /* the peer's configured endpoint */
	"203.0.113.5:1000",
	"[2001:db8::5]:51820",
	"[::ffff:198.51.100.2]:51820",
};

typedef struct {
	uint8_t device_public[WR_KEY_LEN];
	uint8_t peer_public[WR_KEY_LEN];
	uint8_t other_public[WR_KEY_LEN];
	WrEndpoint src[G_N_ELEMENTS(sources)];
	WrEndpoint device_endpoint;
} Keys;

static void
uapi_peer_free(gpointer p)
{
	WrUapiPeer *peer = p;

	g_array_unref(peer->allowed_ips);
	g_free(peer);
}

static WrUapiPeer *
add_peer(WrUapiSet *set, const uint8_t public_key[WR_KEY_LEN], const WrEndpoint *ep,
	 const char *cidr)
{
	WrUapiPeer *p = g_new0(WrUapiPeer, 1);
	WrCidr c;

	memcpy(p->public_key, public_key, WR_KEY_LEN);
	p->allowed_ips = g_array_new(FALSE, TRUE, sizeof(WrCidr));
	g_assert_true(wr_cidr_parse(&c, cidr));
	g_array_append_val(p->allowed_ips, c);
	p->has_endpoint = true;
	p->endpoint = *ep;
	g_ptr_array_add(set->peers, p);
	return p;
}

static WrDevice *
device_new(const uint8_t private_key[WR_KEY_LEN], const uint8_t peer_key[WR_KEY_LEN],
	   const WrEndpoint *peer_ep, const char *peer_cidr, const uint8_t *other_key)
{
	WrDevice *dev = wr_device_new(NULL);
	WrUapiSet *set = g_new0(WrUapiSet, 1);

	set->peers = g_ptr_array_new_with_free_func(uapi_peer_free);
	set->has_private_key = true;
	memcpy(set->private_key, private_key, WR_KEY_LEN);
	(void) add_peer(set, peer_key, peer_ep, peer_cidr);
	if (other_key != NULL)
		(void) add_peer(set, other_key, peer_ep, "10.0.0.0/8");
	g_assert_cmpint(wr_device_apply(dev, set, T0), ==, 0);
	wr_uapi_set_free(set);
	(void) wr_device_tick(dev, T0, REALTIME);
	return dev;
}

typedef struct {
	const Keys *keys;
	WrDevice *dev;
	WrCookieMaker maker; /* the peer's view of the device */
	bool fix_macs;
	uint32_t last_initiation_index;
	int64_t now;
} Harness;

static void
fix_macs(Harness *h, uint8_t *msg, uint32_t len)
{
	uint32_t type;

	if (!h->fix_macs || len < 4)
		return;
	memcpy(&type, msg, sizeof(type));
	type = GUINT32_FROM_LE(type);
	if ((type == MESSAGE_HANDSHAKE_INITIATION &&
	     len == sizeof(struct wr_message_handshake_initiation)) ||
	    (type == MESSAGE_HANDSHAKE_RESPONSE &&
	     len == sizeof(struct wr_message_handshake_response)))
		wr_cookie_add_macs(&h->maker, msg, len, h->now);
}

/* ticks the device and looks at what it sends */
static void
tick(Harness *h)
{
	GQueue out = G_QUEUE_INIT;
	WrDatagram *d;
	int64_t next = wr_device_tick(h->dev, h->now, h->now - T0 + REALTIME);

	g_assert_cmpint(next, >, h->now);
	wr_device_take_outgoing(h->dev, &out);
	while ((d = g_queue_pop_head(&out)) != NULL) {
		const uint8_t *msg = d->buf + d->offset;
		uint32_t type;

		g_assert_cmpuint(d->offset + d->len, <=, d->capacity);
		g_assert_cmpuint(d->len, >=, 4);
		g_assert_cmpint(d->endpoint.sa.sa_family, !=, AF_UNSPEC);
		memcpy(&type, msg, sizeof(type));
		type = GUINT32_FROM_LE(type);
		if (type == MESSAGE_HANDSHAKE_INITIATION) {
			const struct wr_message_handshake_initiation *init = (const void *) msg;

			g_assert_cmpuint(d->len, ==, sizeof(*init));
			h->last_initiation_index = init->sender_index;
		} else if (type == MESSAGE_HANDSHAKE_COOKIE) {
			g_assert_cmpuint(d->len, ==, sizeof(struct wr_message_handshake_cookie));
			if (h->fix_macs)
				(void) wr_cookie_consume_reply(&h->maker, (const void *) msg,
							       h->now);
		} else if (type == MESSAGE_HANDSHAKE_RESPONSE) {
			g_assert_cmpuint(d->len, ==, sizeof(struct wr_message_handshake_response));
		} else {
			g_assert_cmpuint(type, ==, MESSAGE_DATA);
			g_assert_cmpuint(d->len, >=, MESSAGE_MINIMUM_LENGTH);
		}
		wr_datagram_free(d);
	}
}

static WrVerdict
feed(Harness *h, const uint8_t *bytes, uint32_t len, const WrEndpoint *src)
{
	WrPacket pkt;

	memset(&pkt, 0, sizeof(pkt));
	pkt.buf = g_malloc(WR_PACKET_CAPACITY);
	memcpy(pkt.buf, bytes, len);
	fix_macs(h, pkt.buf, len);
	pkt.data = pkt.buf;
	pkt.len = len;
	pkt.endpoint = *src;
	wr_device_feed_datagrams(h->dev, &pkt, 1, h->now);
	g_assert_null(pkt.priv_keypair);
	g_assert_true(pkt.verdict == WR_VERDICT_CONSUMED || pkt.verdict == WR_VERDICT_DROP ||
		      pkt.verdict == WR_VERDICT_TUN);
	g_free(pkt.buf);
	return pkt.verdict;
}

/* the device sends an initiation to the peer; a real peer device answers it */
static void
answered_initiation(Harness *h, const uint8_t **data, size_t *size, bool mutate)
{
	WrDevice *peer = device_new(peer_private, h->keys->device_public, &h->keys->device_endpoint,
				    "100.64.0.1/32", NULL);
	uint8_t ip[28] = {0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 100, 64, 0, 1, 100, 64, 0, 2};
	GQueue out = G_QUEUE_INIT;
	WrDatagram *d;
	WrPacket pkt;

	/* a packet for the peer makes the device initiate */
	memset(&pkt, 0, sizeof(pkt));
	pkt.buf = g_malloc0(WR_PACKET_CAPACITY);
	pkt.data = pkt.buf + WR_PACKET_HEADROOM;
	memcpy(pkt.data, ip, sizeof(ip));
	pkt.len = sizeof(ip);
	wr_device_feed_ip_packets(h->dev, &pkt, 1, h->now);
	g_assert_cmpint(pkt.verdict, ==, WR_VERDICT_CONSUMED);
	wr_device_take_outgoing(h->dev, &out);
	while ((d = g_queue_pop_head(&out)) != NULL) {
		WrPacket in;

		memset(&in, 0, sizeof(in));
		in.buf = pkt.buf;
		in.data = in.buf;
		memcpy(in.buf, d->buf + d->offset, d->len);
		in.len = d->len;
		in.endpoint = h->keys->device_endpoint;
		wr_device_feed_datagrams(peer, &in, 1, h->now);
		wr_datagram_free(d);
	}
	(void) wr_device_tick(peer, h->now, REALTIME);
	wr_device_take_outgoing(peer, &out);
	while ((d = g_queue_pop_head(&out)) != NULL) {
		uint8_t *msg = d->buf + d->offset;

		if (mutate && d->len == sizeof(struct wr_message_handshake_response)) {
			for (uint32_t i = 0; i < d->len && i < *size; i++)
				msg[i] ^= (*data)[i];
			*data += MIN(*size, d->len);
			*size -= MIN(*size, d->len);
		}
		(void) feed(h, msg, d->len, &h->keys->src[0]);
		wr_datagram_free(d);
	}
	g_free(pkt.buf);
	wr_device_free(peer);
	tick(h);
}

static const Keys *
keys_get(void)
{
	static Keys keys;
	static bool initialized;

	if (!initialized) {
		uint8_t other_private[WR_KEY_LEN];

		g_assert_true(wr_crypto_init());
		g_assert_true(wr_x25519_public(keys.device_public, device_private));
		g_assert_true(wr_x25519_public(keys.peer_public, peer_private));
		memset(other_private, 0x77, sizeof(other_private));
		g_assert_true(wr_x25519_public(keys.other_public, other_private));
		for (guint i = 0; i < G_N_ELEMENTS(sources); i++)
			g_assert_true(wr_endpoint_parse(&keys.src[i], sources[i]));
		g_assert_true(wr_endpoint_parse(&keys.device_endpoint, "198.51.100.1:51820"));
		initialized = true;
	}
	return &keys;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const Keys *keys = keys_get();
	Harness h = {.keys = keys, .now = T0};
	uint8_t flags;
	static const int64_t finale[] = {1, 10, 30, 130, 200, 600, 2000};

	if (size < 1)
		return 0;
	flags = data[0];
	data++;
	size--;

	h.dev = device_new(device_private, keys->peer_public, &keys->src[0], "100.64.0.2/32",
			   keys->other_public);
	wr_device_set_force_under_load(h.dev, (flags & 0x01) != 0);
	h.fix_macs = (flags & 0x02) != 0;
	wr_cookie_maker_init(&h.maker, keys->device_public);

	if (flags & 0x04)
		answered_initiation(&h, &data, &size, (flags & 0x08) != 0);

	for (guint n = 0; n < MAX_RECORDS && size >= 3; n++) {
		uint8_t sel = data[0];
		uint32_t len = (uint32_t) data[1] | (uint32_t) data[2] << 8;

		data += 3;
		size -= 3;
		len = MIN(len, (uint32_t) size);
		h.now += (int64_t) (sel >> 2) * 100 * WR_USEC_PER_MSEC;
		(void) feed(&h, data, len, &keys->src[sel & 3]);
		data += len;
		size -= len;
		tick(&h);
	}

	for (guint i = 0; i < G_N_ELEMENTS(finale); i++) {
		h.now += finale[i] * WR_USEC_PER_SEC;
		tick(&h);
	}
	wr_device_free(h.dev);
	return 0;
}
