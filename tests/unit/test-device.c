/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Two devices talking in-process through a fake transport, with an injected clock.
 *
 * Node 0 ("A", 198.51.100.1:51820, 100.64.0.1) and node 1 ("B", 198.51.100.2:51820,
 * 100.64.0.2) each have the other as their only peer.  Whatever a device puts in its outbox,
 * and every packet feed_ip_packets() gives verdict SEND, is carried to the other device as a
 * datagram from the sender's address, unless the test has cut or held that direction.  Time
 * only moves when a test moves it: run_until() jumps from deadline to deadline as returned by
 * wr_device_tick(), so timers fire exactly when the device asked to be woken.  Datagrams
 * addressed elsewhere are counted and dropped.  WR_TEST_TRACE=1 prints every datagram sent.
 */

#define G_LOG_DOMAIN "WrDeviceTest"

#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <string.h>

#include "wr-crypto.h"
#include "wr-device.h"
#include "wr-key.h"

#define SEC	      ((int64_t) WR_USEC_PER_SEC)
#define T0	      ((int64_t) 1000 * SEC)
#define REALTIME_BASE ((int64_t) 1767225600 * SEC - T0) /* 2026-01-01 at T0 */
#define JITTER_MAX    REKEY_TIMEOUT_JITTER_MAX_USEC

#define A 0
#define B 1

typedef struct {
	const char *name;
	WrDevice *dev;
	uint8_t private_key[WR_KEY_LEN];
	uint8_t public_key[WR_KEY_LEN];
	WrEndpoint udp; /* where its datagrams come from */
	const char *ip4;
	const char *ip6;
	GQueue tun;		  /* of GBytes: IP packets written to its TUN */
	guint sent[5];		  /* datagrams it emitted, by message type */
	GArray *initiation_times; /* of int64_t */
	uint8_t last_initiation[sizeof(struct wr_message_handshake_initiation)];
	uint64_t bytes_delivered; /* wire bytes of its datagrams that reached the other */
	WrEndpoint last_dst;	  /* where its last datagram was addressed */
	WrEndpoint alias;	  /* a second address it receives on (AF_UNSPEC: none) */
	guint elsewhere;	  /* datagrams it addressed to neither address of the other */
} Node;

typedef struct {
	Node node[2];
	int64_t now;
	bool down[2];	/* datagrams from node i are lost */
	bool hold[2];	/* datagrams from node i wait in held[i] */
	GQueue held[2]; /* of GBytes */
} Net;

/* ---- configuration through the UAPI structs ---- */

static void
uapi_peer_add_ip(WrUapiPeer *p, const char *text)
{
	WrCidr c;

	g_assert_true(wr_cidr_parse(&c, text));
	wr_cidr_mask(&c);
	g_array_append_val(p->allowed_ips, c);
}

static void
uapi_peer_set_endpoint(WrUapiPeer *p, const char *text)
{
	p->has_endpoint = true;
	g_assert_true(wr_endpoint_parse(&p->endpoint, text));
}

static void
apply(Net *net, int i, WrUapiSet *set)
{
	g_assert_cmpint(wr_device_apply(net->node[i].dev, set, net->now), ==, 0);
	wr_uapi_set_free(set);
}

/* node i's own key and the other node as its peer, with both of its tunnel addresses */
static WrUapiSet *
node_config(Net *net, int i)
{
	Node *self = &net->node[i];
	Node *other = &net->node[1 - i];
	WrUapiSet *set = wr_uapi_set_new();
	WrUapiPeer *p = wr_uapi_set_add_peer(set, other->public_key);
	char text[64];

	set->has_private_key = true;
	memcpy(set->private_key, self->private_key, WR_KEY_LEN);
	set->has_listen_port = true;
	set->listen_port = 51820;
	p->has_endpoint = true;
	p->endpoint = other->udp;
	g_snprintf(text, sizeof(text), "%s/32", other->ip4);
	uapi_peer_add_ip(p, text);
	g_snprintf(text, sizeof(text), "%s/128", other->ip6);
	uapi_peer_add_ip(p, text);
	return set;
}

/* ---- IP packets ---- */

static uint16_t
ip_checksum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t) (p[i] << 8 | p[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t) ~sum;
}

/* an IPv4 or IPv6 UDP packet from src to dst whose payload starts with id */
static GBytes *
ip_packet(const char *src, const char *dst, uint32_t id, uint32_t payload_len)
{
	bool v6 = strchr(src, ':') != NULL;
	uint32_t hdr = v6 ? 40 : 20;
	uint32_t len = hdr + 8 + payload_len;
	uint8_t *p = g_malloc0(len);
	uint8_t *udp = p + hdr;

	g_assert_cmpuint(payload_len, >=, 4);
	if (v6) {
		p[0] = 0x60;
		p[4] = (uint8_t) ((len - 40) >> 8);
		p[5] = (uint8_t) (len - 40);
		p[6] = 17;
		p[7] = 64;
		g_assert_cmpint(inet_pton(AF_INET6, src, p + 8), ==, 1);
		g_assert_cmpint(inet_pton(AF_INET6, dst, p + 24), ==, 1);
	} else {
		uint16_t csum;

		p[0] = 0x45;
		p[2] = (uint8_t) (len >> 8);
		p[3] = (uint8_t) len;
		p[8] = 64;
		p[9] = 17;
		g_assert_cmpint(inet_pton(AF_INET, src, p + 12), ==, 1);
		g_assert_cmpint(inet_pton(AF_INET, dst, p + 16), ==, 1);
		csum = ip_checksum(p, 20);
		p[10] = (uint8_t) (csum >> 8);
		p[11] = (uint8_t) csum;
	}
	udp[0] = 0x30;
	udp[1] = 0x39;
	udp[2] = 0x16;
	udp[3] = 0x2e;
	udp[4] = (uint8_t) ((8 + payload_len) >> 8);
	udp[5] = (uint8_t) (8 + payload_len);
	memcpy(udp + 8, &id, sizeof(id));
	for (uint32_t i = 4; i < payload_len; i++)
		udp[8 + i] = (uint8_t) (id * 7 + i);
	return g_bytes_new_take(p, len);
}

static uint32_t
packet_id(GBytes *pkt)
{
	gsize len;
	const uint8_t *p = g_bytes_get_data(pkt, &len);
	uint32_t id;

	memcpy(&id, p + ((p[0] >> 4) == 6 ? 48 : 28), sizeof(id));
	return id;
}

/* ---- the fake transport ---- */

static void
net_init_node(Net *net, int i, const char *name, const char *udp, const char *ip4, const char *ip6)
{
	Node *n = &net->node[i];

	n->name = name;
	n->dev = wr_device_new(NULL);
	wr_x25519_generate(n->private_key, n->public_key);
	g_assert_true(wr_endpoint_parse(&n->udp, udp));
	n->ip4 = ip4;
	n->ip6 = ip6;
	g_queue_init(&n->tun);
	n->initiation_times = g_array_new(FALSE, FALSE, sizeof(int64_t));
}

static int64_t
pump(Net *net);

/* two configured devices that have not talked yet */
static Net *
net_new(void)
{
	Net *net = g_new0(Net, 1);

	net->now = T0;
	net_init_node(net, A, "A", "198.51.100.1:51820", "100.64.0.1", "fd7a:115c:a1e0::1");
	net_init_node(net, B, "B", "198.51.100.2:51820", "100.64.0.2", "fd7a:115c:a1e0::2");
	g_queue_init(&net->held[A]);
	g_queue_init(&net->held[B]);
	apply(net, A, node_config(net, A));
	apply(net, B, node_config(net, B));
	(void) pump(net);
	return net;
}

static void
net_free(Net *net)
{
	for (int i = 0; i < 2; i++) {
		Node *n = &net->node[i];

		wr_device_free(n->dev);
		g_queue_clear_full(&n->tun, (GDestroyNotify) g_bytes_unref);
		g_queue_clear_full(&net->held[i], (GDestroyNotify) g_bytes_unref);
		g_array_unref(n->initiation_times);
	}
	g_free(net);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Net, net_free)

static WrDeviceStats
stats(Net *net, int i)
{
	WrDeviceStats s;

	wr_device_get_stats(net->node[i].dev, &s);
	return s;
}

static bool
has_session(Net *net, int i)
{
	return wr_device_peer_has_session(net->node[i].dev, net->node[1 - i].public_key);
}

/* hands one datagram from node `from` (appearing to come from src) to the other node */
static WrVerdict
deliver_from(Net *net, int from, const WrEndpoint *src, const uint8_t *data, uint32_t len)
{
	Node *to = &net->node[1 - from];
	WrPacket pkt;
	WrVerdict verdict;

	g_assert_cmpuint(len, <=, WR_PACKET_CAPACITY);
	memset(&pkt, 0, sizeof(pkt));
	pkt.buf = g_malloc(WR_PACKET_CAPACITY);
	memcpy(pkt.buf, data, len);
	pkt.data = pkt.buf;
	pkt.len = len;
	pkt.endpoint = *src;
	wr_device_feed_datagrams(to->dev, &pkt, 1, net->now);
	verdict = pkt.verdict;
	g_assert_null(pkt.priv_keypair);
	switch (verdict) {
	case WR_VERDICT_TUN:
		g_assert_true(pkt.data >= pkt.buf);
		g_assert_true(pkt.data + pkt.len <= pkt.buf + WR_PACKET_CAPACITY);
		g_queue_push_tail(&to->tun, g_bytes_new(pkt.data, pkt.len));
		break;
	case WR_VERDICT_CONSUMED:
	case WR_VERDICT_DROP:
		break;
	default:
		g_error("unexpected verdict %d for a datagram", verdict);
	}
	g_free(pkt.buf);
	return verdict;
}

static WrVerdict
deliver(Net *net, int from, GBytes *datagram)
{
	gsize len;
	const uint8_t *data = g_bytes_get_data(datagram, &len);

	return deliver_from(net, from, &net->node[from].udp, data, (uint32_t) len);
}

/* hands a datagram from node `from` to the other node, counting what arrives */
static void
carry(Net *net, int from, const uint8_t *data, uint32_t len)
{
	Node *n = &net->node[from];

	if (data[0] != MESSAGE_HANDSHAKE_COOKIE)
		n->bytes_delivered += len;
	(void) deliver_from(net, from, &n->udp, data, len);
}

static bool
addressed_to(const Node *n, const WrEndpoint *dst)
{
	return wr_endpoint_equal(dst, &n->udp) ||
	       (n->alias.sa.sa_family != AF_UNSPEC && wr_endpoint_equal(dst, &n->alias));
}

/* a datagram leaves node `from` for dst: count it, then lose, hold or deliver it */
static void
transmit(Net *net, int from, const WrEndpoint *dst, const uint8_t *data, uint32_t len)
{
	Node *n = &net->node[from];
	uint32_t type;

	g_assert_cmpuint(len, >=, 4);
	memcpy(&type, data, sizeof(type));
	type = GUINT32_FROM_LE(type);
	if (type < MESSAGE_HANDSHAKE_INITIATION || type > MESSAGE_DATA)
		g_error("%s sent a datagram of type %u", n->name, type);
	n->sent[type]++;
	if (g_getenv("WR_TEST_TRACE") != NULL)
		g_printerr("%" G_GINT64_FORMAT " %s sends type %u len %u\n",
			   (gint64) (net->now - T0), n->name, type, len);
	if (type == MESSAGE_HANDSHAKE_INITIATION) {
		g_assert_cmpuint(len, ==, sizeof(n->last_initiation));
		memcpy(n->last_initiation, data, len);
		g_array_append_val(n->initiation_times, net->now);
	}
	n->last_dst = *dst;
	if (!addressed_to(&net->node[1 - from], dst)) {
		n->elsewhere++;
		return;
	}
	if (net->down[from])
		return;
	if (net->hold[from]) {
		g_queue_push_tail(&net->held[from], g_bytes_new(data, len));
		return;
	}
	carry(net, from, data, len);
}

/* sends node i's outbox; returns how many datagrams there were */
static guint
flush(Net *net, int i)
{
	GQueue out = G_QUEUE_INIT;
	WrDatagram *d;
	guint n = 0;

	wr_device_take_outgoing(net->node[i].dev, &out);
	g_assert_false(wr_device_has_outgoing(net->node[i].dev));
	while ((d = g_queue_pop_head(&out)) != NULL) {
		g_assert_cmpint(d->endpoint.sa.sa_family, !=, AF_UNSPEC);
		g_assert_cmpuint(d->offset + d->len, <=, d->capacity);
		transmit(net, i, &d->endpoint, d->buf + d->offset, d->len);
		wr_datagram_free(d);
		n++;
	}
	return n;
}

/* ticks both devices and carries datagrams until nothing moves; returns the next deadline */
static int64_t
pump(Net *net)
{
	for (guint round = 0; round < 1000; round++) {
		int64_t next = INT64_MAX;
		guint moved = 0;

		for (int i = 0; i < 2; i++) {
			next = MIN(next, wr_device_tick(net->node[i].dev, net->now,
							net->now + REALTIME_BASE));
			moved += flush(net, i);
		}
		if (moved == 0)
			return next;
	}
	g_error("the devices never stop talking");
}

/* lets time pass up to t, waking the devices at every deadline they ask for */
static void
run_until(Net *net, int64_t t)
{
	for (guint guard = 0;; guard++) {
		int64_t next = pump(net);

		g_assert_cmpuint(guard, <, 100000);
		if (next > t)
			break;
		g_assert_cmpint(next, >, net->now);
		net->now = next;
	}
	if (net->now < t) {
		net->now = t;
		(void) pump(net);
	}
}

static void
release_held(Net *net, int from)
{
	GBytes *b;

	net->hold[from] = false;
	while ((b = g_queue_pop_head(&net->held[from])) != NULL) {
		gsize len;
		const uint8_t *data = g_bytes_get_data(b, &len);

		carry(net, from, data, (uint32_t) len);
		g_bytes_unref(b);
	}
}

/*
 * Feeds one IP packet to node i's device as the TUN reader would.  Returns the verdict and,
 * for SEND, the datagram (not yet transmitted) in out_datagram and where it goes in out_dst
 * (optional).  The outbox is flushed.
 */
static WrVerdict
encrypt_to(Net *net, int i, GBytes *ip, GBytes **out_datagram, WrEndpoint *out_dst)
{
	Node *n = &net->node[i];
	gsize len;
	const uint8_t *data = g_bytes_get_data(ip, &len);
	WrPacket pkt;
	WrVerdict verdict;
	WrEndpoint expect;

	memset(&pkt, 0, sizeof(pkt));
	pkt.buf = g_malloc(WR_PACKET_CAPACITY);
	memcpy(pkt.buf + WR_PACKET_HEADROOM, data, len);
	pkt.data = pkt.buf + WR_PACKET_HEADROOM;
	pkt.len = (uint32_t) len;
	wr_device_feed_ip_packets(n->dev, &pkt, 1, net->now);
	verdict = pkt.verdict;
	g_assert_null(pkt.priv_keypair);
	if (out_datagram != NULL)
		*out_datagram = NULL;
	if (verdict == WR_VERDICT_SEND) {
		g_assert_true(pkt.data >= pkt.buf);
		g_assert_true(pkt.data + pkt.len <= pkt.buf + WR_PACKET_CAPACITY);
		/* a data message, padded to 16, addressed to the peer's current endpoint */
		g_assert_cmpuint(pkt.data[0], ==, MESSAGE_DATA);
		g_assert_cmpuint(pkt.len, >=, MESSAGE_MINIMUM_LENGTH + len);
		g_assert_true(
			wr_device_peer_get_endpoint(n->dev, net->node[1 - i].public_key, &expect));
		g_assert_true(wr_endpoint_equal(&pkt.endpoint, &expect));
		if (out_dst != NULL)
			*out_dst = pkt.endpoint;
		g_assert_nonnull(out_datagram);
		*out_datagram = g_bytes_new(pkt.data, pkt.len);
	} else {
		g_assert_true(verdict == WR_VERDICT_CONSUMED || verdict == WR_VERDICT_DROP);
	}
	g_free(pkt.buf);
	(void) flush(net, i);
	return verdict;
}

static WrVerdict
encrypt(Net *net, int i, GBytes *ip, GBytes **out_datagram)
{
	return encrypt_to(net, i, ip, out_datagram, NULL);
}

/* the same, with a SEND datagram transmitted at once */
static WrVerdict
send_ip(Net *net, int i, GBytes *ip)
{
	GBytes *datagram = NULL;
	WrEndpoint dst;
	WrVerdict verdict = encrypt_to(net, i, ip, &datagram, &dst);

	if (datagram != NULL) {
		gsize len;
		const uint8_t *data = g_bytes_get_data(datagram, &len);

		transmit(net, i, &dst, data, (uint32_t) len);
		g_bytes_unref(datagram);
	}
	return verdict;
}

/* an IPv4 packet from node i to the other node */
static GBytes *
packet_to_other(Net *net, int i, uint32_t id, uint32_t payload_len)
{
	return ip_packet(net->node[i].ip4, net->node[1 - i].ip4, id, payload_len);
}

/* node i's TUN got exactly these packets since last asked */
static void
assert_tun(Net *net, int i, GBytes **expect, guint n)
{
	Node *node = &net->node[i];

	if (g_queue_get_length(&node->tun) != n)
		g_error("%s's TUN got %u packets, expected %u", node->name,
			g_queue_get_length(&node->tun), n);
	for (guint k = 0; k < n; k++) {
		g_autoptr(GBytes) got = g_queue_pop_head(&node->tun);

		if (!g_bytes_equal(got, expect[k]))
			g_error("%s's TUN packet %u differs (id %u, expected %u)", node->name, k,
				packet_id(got), packet_id(expect[k]));
	}
}

static void
assert_tun_one(Net *net, int i, GBytes *expect)
{
	assert_tun(net, i, &expect, 1);
}

static void
assert_tun_empty(Net *net, int i)
{
	assert_tun(net, i, NULL, 0);
}

/* A sends a first packet; the handshake runs; returns with a confirmed session both ways */
static void
establish(Net *net)
{
	g_autoptr(GBytes) first = packet_to_other(net, A, 1, 64);

	g_assert_cmpint(send_ip(net, A, first), ==, WR_VERDICT_CONSUMED);
	(void) pump(net);
	assert_tun_one(net, B, first);
	g_assert_true(has_session(net, A));
	g_assert_true(has_session(net, B));
}

/* ---- the tests ---- */

static void
test_first_packet(void)
{
	g_autoptr(Net) net = net_new();
	g_autoptr(GBytes) first = packet_to_other(net, A, 1, 100);
	WrDeviceStats sa, sb;
	uint8_t key[WR_KEY_LEN];

	g_assert_true(wr_device_get_public_key(net->node[A].dev, key));
	g_assert_cmpmem(key, WR_KEY_LEN, net->node[A].public_key, WR_KEY_LEN);
	g_assert_cmpuint(wr_device_get_n_peers(net->node[A].dev), ==, 1);
	g_assert_false(has_session(net, A));

	/* no session yet: the packet is kept and an initiation goes out */
	net->hold[A] = true;
	g_assert_cmpint(send_ip(net, A, first), ==, WR_VERDICT_CONSUMED);
	g_assert_cmpuint(net->node[A].sent[MESSAGE_HANDSHAKE_INITIATION], ==, 1);
	g_assert_cmpuint(net->node[A].sent[MESSAGE_DATA], ==, 0);
	g_assert_true(wr_endpoint_equal(&net->node[A].last_dst, &net->node[B].udp));

	/* the initiation is queued for B's control path, which asks to be woken */
	(void) wr_device_take_wake(net->node[B].dev);
	release_held(net, A);
	g_assert_true(wr_device_take_wake(net->node[B].dev));
	g_assert_false(wr_device_take_wake(net->node[B].dev));

	/* B answers; A completes and sends the staged packet; B opens its session on it */
	net->hold[A] = true;
	(void) wr_device_tick(net->node[B].dev, net->now, net->now + REALTIME_BASE);
	g_assert_cmpuint(flush(net, B), ==, 1);
	g_assert_cmpuint(net->node[B].sent[MESSAGE_HANDSHAKE_RESPONSE], ==, 1);
	g_assert_false(has_session(net, B)); /* responder: next, not current yet */
	(void) wr_device_tick(net->node[A].dev, net->now, net->now + REALTIME_BASE);
	g_assert_true(has_session(net, A));
	g_assert_cmpuint(flush(net, A), ==, 1);
	g_assert_cmpuint(net->node[A].sent[MESSAGE_DATA], ==, 1);
	release_held(net, A);
	g_assert_true(has_session(net, B));
	assert_tun_one(net, B, first);

	(void) pump(net);
	sa = stats(net, A);
	sb = stats(net, B);
	g_assert_cmpuint(sa.handshakes_sent, ==, 1);
	g_assert_cmpuint(sb.handshakes_sent, ==, 1);
	g_assert_cmpuint(sa.handshakes_completed, ==, 1);
	g_assert_cmpuint(sb.handshakes_completed, ==, 1);
	g_assert_cmpuint(sa.tx_packets, ==, 1);
	g_assert_cmpuint(sb.rx_packets, ==, 1);
	g_assert_cmpuint(sa.keepalives_sent, ==, 0); /* the staged packet confirmed the session */
	g_assert_cmpuint(sa.drop_handshake_invalid + sb.drop_handshake_invalid, ==, 0);
}

/* a handshake with nothing staged is confirmed by a keepalive */
static void
test_confirm_by_keepalive(void)
{
	g_autoptr(Net) net = net_new();
	g_autoptr(WrUapiSet) set = wr_uapi_set_new();
	WrUapiPeer *p = wr_uapi_set_add_peer(set, net->node[B].public_key);

	/* turning persistent keepalive on starts the handshake at once */
	p->update_only = true;
	p->has_persistent_keepalive = true;
	p->persistent_keepalive = 25;
	g_assert_cmpint(wr_device_apply(net->node[A].dev, set, net->now), ==, 0);
	(void) pump(net);
	g_assert_true(has_session(net, A));
	g_assert_true(has_session(net, B));
	g_assert_cmpuint(stats(net, A).keepalives_sent, ==, 1);
	g_assert_cmpuint(stats(net, B).rx_packets, ==, 1);
	assert_tun_empty(net, B);

	/* and then one every 25 s of silence */
	run_until(net, T0 + 25 * SEC - 1);
	g_assert_cmpuint(stats(net, A).keepalives_sent, ==, 1);
	run_until(net, T0 + 25 * SEC);
	g_assert_cmpuint(stats(net, A).keepalives_sent, ==, 2);
	run_until(net, T0 + 100 * SEC);
	g_assert_cmpuint(stats(net, A).keepalives_sent, ==, 5);
	g_assert_cmpuint(stats(net, B).keepalives_sent, ==, 0);
}

static void
test_data_both_ways(void)
{
	static const uint32_t sizes[] = {4, 5, 15, 16, 17, 100, 1000, 1371, 1372, 1373, 1392};
	g_autoptr(Net) net = net_new();
	g_autoptr(GPtrArray) to_b = g_ptr_array_new_with_free_func((GDestroyNotify) g_bytes_unref);
	g_autoptr(GPtrArray) to_a = g_ptr_array_new_with_free_func((GDestroyNotify) g_bytes_unref);
	uint32_t id = 100;

	establish(net);
	for (guint i = 0; i < G_N_ELEMENTS(sizes); i++) {
		for (guint v6 = 0; v6 < 2; v6++) {
			for (int from = 0; from < 2; from++) {
				Node *s = &net->node[from];
				Node *d = &net->node[1 - from];
				GBytes *pkt = v6 ? ip_packet(s->ip6, d->ip6, id++, sizes[i])
						 : ip_packet(s->ip4, d->ip4, id++, sizes[i]);

				g_assert_cmpint(send_ip(net, from, pkt), ==, WR_VERDICT_SEND);
				g_ptr_array_add(from == A ? to_b : to_a, pkt);
			}
		}
	}
	assert_tun(net, B, (GBytes **) to_b->pdata, to_b->len);
	assert_tun(net, A, (GBytes **) to_a->pdata, to_a->len);
	g_assert_cmpuint(stats(net, A).drop_decrypt_failed + stats(net, B).drop_decrypt_failed, ==,
			 0);

	/* a batch of several packets in one call */
	{
		WrPacket pkts[8];
		GBytes *ips[G_N_ELEMENTS(pkts)];

		memset(pkts, 0, sizeof(pkts));
		for (guint i = 0; i < G_N_ELEMENTS(pkts); i++) {
			gsize len;
			const uint8_t *data;

			ips[i] = packet_to_other(net, A, 1000 + i, 200 + i * 50);
			data = g_bytes_get_data(ips[i], &len);
			pkts[i].buf = g_malloc(WR_PACKET_CAPACITY);
			pkts[i].data = pkts[i].buf + WR_PACKET_HEADROOM;
			memcpy(pkts[i].data, data, len);
			pkts[i].len = (uint32_t) len;
		}
		wr_device_feed_ip_packets(net->node[A].dev, pkts, G_N_ELEMENTS(pkts), net->now);
		/* delivered in reverse order: the window takes them all */
		for (guint i = G_N_ELEMENTS(pkts); i > 0; i--) {
			g_assert_cmpint(pkts[i - 1].verdict, ==, WR_VERDICT_SEND);
			transmit(net, A, &pkts[i - 1].endpoint, pkts[i - 1].data, pkts[i - 1].len);
		}
		for (guint i = 0; i < G_N_ELEMENTS(pkts); i++) {
			g_autoptr(GBytes) got = g_queue_pop_tail(&net->node[B].tun);

			g_assert_true(g_bytes_equal(got, ips[i]));
			g_bytes_unref(ips[i]);
			g_free(pkts[i].buf);
		}
	}
}

/* the responder's new session becomes current on its first authenticated packet only */
static void
test_responder_confirms(void)
{
	g_autoptr(Net) net = net_new();
	g_autoptr(GBytes) from_b = packet_to_other(net, B, 7, 40);
	g_autoptr(GBytes) from_a = packet_to_other(net, A, 8, 40);

	/* B, the responder, has a session only once A's first message arrives */
	net->hold[A] = true;
	g_assert_cmpint(send_ip(net, A, from_a), ==, WR_VERDICT_CONSUMED);
	release_held(net, A);
	net->hold[A] = true; /* catch A's first data */
	(void) pump(net);
	g_assert_true(has_session(net, A));
	g_assert_false(has_session(net, B));
	/* meanwhile B's own traffic waits instead of using the unconfirmed session */
	g_assert_cmpint(send_ip(net, B, from_b), ==, WR_VERDICT_CONSUMED);
	g_assert_cmpuint(net->node[B].sent[MESSAGE_DATA], ==, 0);
	/* B asked for a handshake of its own, but not more often than REKEY_TIMEOUT allows */
	g_assert_cmpuint(net->node[B].sent[MESSAGE_HANDSHAKE_INITIATION], ==, 0);

	release_held(net, A);
	(void) pump(net);
	g_assert_true(has_session(net, B));
	assert_tun_one(net, B, from_a);
	/* the confirmation released B's staged packet on the new session */
	assert_tun_one(net, A, from_b);
	g_assert_cmpuint(stats(net, A).handshakes_completed, ==, 1);
	g_assert_cmpuint(stats(net, B).handshakes_completed, ==, 1);
}

/* REKEY_AFTER_TIME: the initiator's next packet starts a new handshake; old packets in flight
 * still decrypt */
static void
test_rekey(void)
{
	g_autoptr(Net) net = net_new();
	g_autoptr(GBytes) old_flight = NULL;
	g_autoptr(GBytes) p1 = packet_to_other(net, A, 10, 80);
	g_autoptr(GBytes) p2 = packet_to_other(net, A, 11, 80);
	g_autoptr(GBytes) p3 = packet_to_other(net, B, 12, 80);
	g_autoptr(GBytes) p4 = packet_to_other(net, A, 13, 80);
	uint32_t old_idx, new_idx;
	int64_t t_session;

	establish(net);
	t_session = net->now;
	run_until(net, t_session + REKEY_AFTER_TIME * SEC - 1);
	g_assert_cmpuint(net->node[A].sent[MESSAGE_HANDSHAKE_INITIATION], ==, 1);

	/* still young: no rekey */
	g_assert_cmpint(encrypt(net, A, p1, &old_flight), ==, WR_VERDICT_SEND);
	g_assert_cmpuint(net->node[A].sent[MESSAGE_HANDSHAKE_INITIATION], ==, 1);
	g_clear_pointer(&old_flight, g_bytes_unref);

	run_until(net, t_session + REKEY_AFTER_TIME * SEC);
	/* old enough: sent on the old session, and a handshake starts */
	g_assert_cmpint(encrypt(net, A, p2, &old_flight), ==, WR_VERDICT_SEND);
	g_assert_cmpuint(net->node[A].sent[MESSAGE_HANDSHAKE_INITIATION], ==, 2);
	memcpy(&old_idx, (const uint8_t *) g_bytes_get_data(old_flight, NULL) + 4, 4);
	(void) pump(net);
	g_assert_cmpuint(stats(net, A).handshakes_completed, ==, 2);
	g_assert_cmpuint(stats(net, B).handshakes_completed, ==, 2);
	g_assert_true(has_session(net, B));

	/* the packet that was in flight across the rekey still decrypts */
	g_assert_cmpint(deliver(net, A, old_flight), ==, WR_VERDICT_TUN);
	assert_tun_one(net, B, p2);

	/* traffic continues on the new session both ways */
	g_assert_cmpint(send_ip(net, B, p3), ==, WR_VERDICT_SEND);
	assert_tun_one(net, A, p3);
	g_clear_pointer(&old_flight, g_bytes_unref);
	g_assert_cmpint(encrypt(net, A, p4, &old_flight), ==, WR_VERDICT_SEND);
	memcpy(&new_idx, (const uint8_t *) g_bytes_get_data(old_flight, NULL) + 4, 4);
	g_assert_cmpuint(new_idx, !=, old_idx);
	g_assert_cmpint(deliver(net, A, old_flight), ==, WR_VERDICT_TUN);
	assert_tun_one(net, B, p4);
	/* just one new handshake */
	run_until(net, net->now + 60 * SEC);
	g_assert_cmpuint(net->node[A].sent[MESSAGE_HANDSHAKE_INITIATION], ==, 2);
	g_assert_cmpuint(net->node[B].sent[MESSAGE_HANDSHAKE_INITIATION], ==, 0);
}

/*
 * An initiator that sends nothing never reaches REKEY_AFTER_TIME on its own; what it receives
 * near REJECT_AFTER_TIME makes it rekey once ("last minute").  A late packet on the old
 * session after that does not start yet another handshake.
 */
static void
test_rekey_lastminute(void)
{
	g_autoptr(Net) net = net_new();
	g_autoptr(WrUapiSet) set = wr_uapi_set_new();
	WrUapiPeer *p = wr_uapi_set_add_peer(set, net->node[A].public_key);
	const int64_t lastminute = (REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT) * SEC;
	int64_t t_session;

	establish(net);
	t_session = net->now;
	/* B sends a keepalive every 10 s, which A never has to answer */
	p->update_only = true;
	p->has_persistent_keepalive = true;
	p->persistent_keepalive = 10;
	g_assert_cmpint(wr_device_apply(net->node[B].dev, set, net->now), ==, 0);

	/* one keepalive shortly before the last minute is held back */
	run_until(net, t_session + lastminute - 6 * SEC);
	net->hold[B] = true;
	run_until(net, t_session + lastminute - 4 * SEC);
	g_assert_cmpuint(g_queue_get_length(&net->held[B]), ==, 1);
	net->hold[B] = false;
	run_until(net, t_session + lastminute - 1);
	g_assert_cmpuint(net->node[A].sent[MESSAGE_HANDSHAKE_INITIATION], ==, 1);

	/* the first keepalive in the last minute triggers the rekey */
	run_until(net, t_session + lastminute + 11 * SEC);
	g_assert_cmpuint(net->node[A].sent[MESSAGE_HANDSHAKE_INITIATION], ==, 2);
	g_assert_cmpuint(stats(net, A).handshakes_completed, ==, 2);
	g_assert_cmpuint(stats(net, B).handshakes_completed, ==, 2);

	/* the held keepalive, on the old session, arrives well after that */
	g_assert_cmpint(net->now - g_array_index(net->node[A].initiation_times, int64_t, 1), >,
			REKEY_TIMEOUT * SEC);
	release_held(net, B);
	g_assert_cmpuint(stats(net, A).drop_replay + stats(net, A).drop_unknown_index, ==, 0);
	run_until(net, t_session + REJECT_AFTER_TIME * SEC + 60 * SEC);
	g_assert_cmpuint(net->node[A].sent[MESSAGE_HANDSHAKE_INITIATION], ==, 2);
	g_assert_cmpuint(net->node[B].sent[MESSAGE_HANDSHAKE_INITIATION], ==, 0);
	g_assert_true(has_session(net, A));
	g_assert_true(has_session(net, B));
}

/* REJECT_AFTER_TIME with no new handshake: nothing more is sent on the session */
static void
test_reject_after_time(void)
{
	g_autoptr(Net) net = net_new();
	g_autoptr(GBytes) late_a = packet_to_other(net, A, 20, 60);
	g_autoptr(GBytes) late_b = packet_to_other(net, B, 21, 60);
	g_autoptr(GBytes) early = packet_to_other(net, A, 22, 60);
	g_autoptr(GBytes) captured = NULL;
	int64_t t_session;
	guint sent_a, sent_b;

	establish(net);
	t_session = net->now;
	/* a packet from the session's youth, delivered after its end, is refused */
	g_assert_cmpint(encrypt(net, A, early, &captured), ==, WR_VERDICT_SEND);

	net->down[A] = net->down[B] = true;
	run_until(net, t_session + REJECT_AFTER_TIME * SEC - 1);
	sent_a = net->node[A].sent[MESSAGE_DATA];
	sent_b = net->node[B].sent[MESSAGE_DATA];
	run_until(net, t_session + REJECT_AFTER_TIME * SEC);
	g_assert_cmpint(send_ip(net, A, late_a), ==, WR_VERDICT_CONSUMED);
	g_assert_cmpint(send_ip(net, B, late_b), ==, WR_VERDICT_CONSUMED);
	g_assert_cmpuint(net->node[A].sent[MESSAGE_DATA], ==, sent_a);
	g_assert_cmpuint(net->node[B].sent[MESSAGE_DATA], ==, sent_b);
	net->down[A] = false;
	g_assert_cmpint(deliver(net, A, captured), ==, WR_VERDICT_DROP);
	g_assert_cmpuint(stats(net, B).drop_unknown_index, ==, 1);

	/* the network comes back: the next retransmission gets through and both packets flow */
	net->down[B] = false;
	run_until(net, net->now + 2 * (REKEY_TIMEOUT * SEC + JITTER_MAX));
	assert_tun_one(net, B, late_a);
	assert_tun_one(net, A, late_b);
}

/* one side sends, the other replies with a keepalive after KEEPALIVE_TIMEOUT */
static void
test_keepalive(void)
{
	g_autoptr(Net) net = net_new();
	g_autoptr(GBytes) pkt = packet_to_other(net, A, 30, 60);
	g_autoptr(GBytes) reply = packet_to_other(net, B, 31, 60);
	g_autoptr(GBytes) pkt2 = packet_to_other(net, A, 32, 60);
	int64_t t;

	establish(net);
	run_until(net, net->now + 60 * SEC);
	/* the handshake's own data was answered by one keepalive */
	g_assert_cmpuint(stats(net, B).keepalives_sent, ==, 1);

	t = net->now;
	g_assert_cmpint(send_ip(net, A, pkt), ==, WR_VERDICT_SEND);
	run_until(net, t + KEEPALIVE_TIMEOUT * SEC - 1);
	g_assert_cmpuint(stats(net, B).keepalives_sent, ==, 1);
	run_until(net, t + KEEPALIVE_TIMEOUT * SEC);
	g_assert_cmpuint(stats(net, B).keepalives_sent, ==, 2);
	g_assert_cmpuint(stats(net, A).rx_packets, ==, 2);
	assert_tun_empty(net, A);
	/* the keepalive told A that B hears it: no new handshake, no more keepalives (and all
	 * of this well before REKEY_AFTER_TIME) */
	run_until(net, t + 40 * SEC);
	g_assert_cmpuint(stats(net, B).keepalives_sent, ==, 2);
	g_assert_cmpuint(stats(net, A).keepalives_sent, ==, 0);
	g_assert_cmpuint(net->node[A].sent[MESSAGE_HANDSHAKE_INITIATION], ==, 1);

	/* data the other way within KEEPALIVE_TIMEOUT makes the keepalive unnecessary */
	t = net->now;
	g_assert_cmpint(send_ip(net, A, pkt2), ==, WR_VERDICT_SEND);
	run_until(net, t + SEC);
	g_assert_cmpint(send_ip(net, B, reply), ==, WR_VERDICT_SEND);
	run_until(net, t + 15 * SEC);
	g_assert_cmpint(net->now - T0, <, REKEY_AFTER_TIME * SEC);
	g_assert_cmpuint(stats(net, B).keepalives_sent, ==, 2);
	/* ... but A now owes B one for its reply */
	g_assert_cmpuint(stats(net, A).keepalives_sent, ==, 1);
}

/* data sent and nothing heard back for KEEPALIVE_TIMEOUT + REKEY_TIMEOUT: a new handshake */
static void
test_new_handshake_timer(void)
{
	g_autoptr(Net) net = net_new();
	g_autoptr(GBytes) pkt = packet_to_other(net, A, 40, 60);
	int64_t t;

	establish(net);
	run_until(net, net->now + 60 * SEC);
	t = net->now;
	net->down[B] = true;
	g_assert_cmpint(send_ip(net, A, pkt), ==, WR_VERDICT_SEND);
	run_until(net, t + (KEEPALIVE_TIMEOUT + REKEY_TIMEOUT) * SEC - 1);
	g_assert_cmpuint(net->node[A].sent[MESSAGE_HANDSHAKE_INITIATION], ==, 1);
	run_until(net, t + (KEEPALIVE_TIMEOUT + REKEY_TIMEOUT) * SEC + JITTER_MAX);
	g_assert_cmpuint(net->node[A].sent[MESSAGE_HANDSHAKE_INITIATION], ==, 2);
}

/* the other side is gone: an initiation every REKEY_TIMEOUT, then give up */
static void
test_retransmit_give_up(void)
{
	g_autoptr(Net) net = net_new();
	g_autoptr(GBytes) lost = packet_to_other(net, A, 50, 60);
	g_autoptr(GBytes) later = packet_to_other(net, A, 51, 60);
	GArray *times = net->node[A].initiation_times;
	int64_t t0 = net->now;

	net->down[A] = true;
	g_assert_cmpint(send_ip(net, A, lost), ==, WR_VERDICT_CONSUMED);
	run_until(net, t0 + 200 * SEC);
	/* the first, then one retry per expiry until MAX_TIMER_HANDSHAKES retries have passed */
	g_assert_cmpuint(times->len, ==, MAX_TIMER_HANDSHAKES + 2);
	for (guint i = 1; i < times->len; i++) {
		int64_t gap =
			g_array_index(times, int64_t, i) - g_array_index(times, int64_t, i - 1);

		g_assert_cmpint(gap, >=, REKEY_TIMEOUT * SEC);
		g_assert_cmpint(gap, <, REKEY_TIMEOUT * SEC + JITTER_MAX);
	}
	g_assert_cmpint(g_array_index(times, int64_t, times->len - 1) - t0, <,
			(MAX_TIMER_HANDSHAKES + 1) * (REKEY_TIMEOUT * SEC + JITTER_MAX));
	/* given up: silence, however long we wait */
	run_until(net, t0 + 1000 * SEC);
	g_assert_cmpuint(times->len, ==, MAX_TIMER_HANDSHAKES + 2);
	g_assert_false(has_session(net, A));

	/* new traffic tries again; the packet staged back then was dropped on giving up */
	net->down[A] = false;
	g_assert_cmpint(send_ip(net, A, later), ==, WR_VERDICT_CONSUMED);
	(void) pump(net);
	assert_tun_one(net, B, later);
}

/* under load the responder answers with a cookie, and the retry carrying it succeeds */
static void
test_under_load(void)
{
	g_autoptr(Net) net = net_new();
	g_autoptr(GBytes) pkt = packet_to_other(net, A, 60, 60);
	const struct wr_message_handshake_initiation *init =
		(const void *) net->node[A].last_initiation;
	int64_t t0 = net->now;

	wr_device_set_force_under_load(net->node[B].dev, true);
	g_assert_cmpint(send_ip(net, A, pkt), ==, WR_VERDICT_CONSUMED);
	g_assert_true(wr_is_zero(init->macs.mac2, WR_MAC_LEN));
	(void) pump(net);
	g_assert_cmpuint(stats(net, B).cookie_replies_sent, ==, 1);
	g_assert_cmpuint(net->node[B].sent[MESSAGE_HANDSHAKE_COOKIE], ==, 1);
	g_assert_cmpuint(net->node[B].sent[MESSAGE_HANDSHAKE_RESPONSE], ==, 0);
	g_assert_cmpuint(stats(net, A).drop_handshake_invalid, ==, 0);
	g_assert_false(has_session(net, A));
	assert_tun_empty(net, B);

	/* the retransmission carries mac2 and is answered */
	run_until(net, t0 + REKEY_TIMEOUT * SEC + JITTER_MAX);
	g_assert_cmpuint(net->node[A].sent[MESSAGE_HANDSHAKE_INITIATION], ==, 2);
	g_assert_false(wr_is_zero(init->macs.mac2, WR_MAC_LEN));
	g_assert_cmpuint(net->node[B].sent[MESSAGE_HANDSHAKE_RESPONSE], ==, 1);
	g_assert_cmpuint(stats(net, B).cookie_replies_sent, ==, 1);
	g_assert_true(has_session(net, A));
	g_assert_true(has_session(net, B));
	assert_tun_one(net, B, pkt);
}

/* a cookie reply that does not belong to us changes nothing */
static void
test_bogus_cookie_reply(void)
{
	g_autoptr(Net) net = net_new();
	struct wr_message_handshake_cookie reply;
	g_autoptr(GBytes) bytes = NULL;

	memset(&reply, 0, sizeof(reply));
	reply.header.type = GUINT32_TO_LE(MESSAGE_HANDSHAKE_COOKIE);
	bytes = g_bytes_new(&reply, sizeof(reply));
	g_assert_cmpint(deliver(net, B, bytes), ==, WR_VERDICT_CONSUMED);
	(void) pump(net);
	g_assert_cmpuint(stats(net, A).drop_handshake_invalid, ==, 1);
}

/* replayed and tampered data messages, and other malformed datagrams */
static void
test_replay_and_tamper(void)
{
	g_autoptr(Net) net = net_new();
	g_autoptr(GBytes) pkt = packet_to_other(net, A, 70, 60);
	g_autoptr(GBytes) pkt2 = packet_to_other(net, A, 71, 60);
	g_autoptr(GBytes) datagram = NULL;
	g_autoptr(GBytes) datagram2 = NULL;
	gsize len;
	uint8_t *bad;
	WrDeviceStats s;

	establish(net);
	g_assert_cmpint(encrypt(net, A, pkt, &datagram), ==, WR_VERDICT_SEND);
	g_assert_cmpint(encrypt(net, A, pkt2, &datagram2), ==, WR_VERDICT_SEND);

	/* a tampered copy fails and does not burn the counter */
	bad = g_bytes_unref_to_data(g_bytes_ref(datagram2), &len);
	bad[len - 1] ^= 1;
	g_assert_cmpint(deliver_from(net, A, &net->node[A].udp, bad, (uint32_t) len), ==,
			WR_VERDICT_DROP);
	bad[len - 1] ^= 1;
	bad[MESSAGE_DATA_HEADER_LEN] ^= 0x40;
	g_assert_cmpint(deliver_from(net, A, &net->node[A].udp, bad, (uint32_t) len), ==,
			WR_VERDICT_DROP);
	bad[MESSAGE_DATA_HEADER_LEN] ^= 0x40;
	/* the counter is the nonce */
	bad[8] ^= 1;
	g_assert_cmpint(deliver_from(net, A, &net->node[A].udp, bad, (uint32_t) len), ==,
			WR_VERDICT_DROP);
	bad[8] ^= 1;
	s = stats(net, B);
	g_assert_cmpuint(s.drop_decrypt_failed, ==, 3);
	g_assert_cmpuint(s.drop_replay, ==, 0);

	g_assert_cmpint(deliver(net, A, datagram2), ==, WR_VERDICT_TUN);
	g_assert_cmpint(deliver(net, A, datagram), ==, WR_VERDICT_TUN);
	{
		GBytes *expect[] = {pkt2, pkt};

		assert_tun(net, B, expect, G_N_ELEMENTS(expect));
	}
	/* a replay is refused */
	g_assert_cmpint(deliver(net, A, datagram), ==, WR_VERDICT_DROP);
	g_assert_cmpint(deliver(net, A, datagram2), ==, WR_VERDICT_DROP);
	assert_tun_empty(net, B);
	s = stats(net, B);
	g_assert_cmpuint(s.drop_replay, ==, 2);
	g_assert_cmpuint(s.drop_decrypt_failed, ==, 3);

	/* an index nobody gave out */
	bad[4] ^= 0xff;
	g_assert_cmpint(deliver_from(net, A, &net->node[A].udp, bad, (uint32_t) len), ==,
			WR_VERDICT_DROP);
	g_assert_cmpuint(stats(net, B).drop_unknown_index, ==, 1);

	/* bad lengths and types */
	{
		static const struct {
			uint32_t type;
			uint32_t len;
		} rows[] = {
			{MESSAGE_DATA, MESSAGE_MINIMUM_LENGTH - 1},
			{MESSAGE_DATA, 3},
			{MESSAGE_HANDSHAKE_INITIATION, 147},
			{MESSAGE_HANDSHAKE_INITIATION, 149},
			{MESSAGE_HANDSHAKE_RESPONSE, 91},
			{MESSAGE_HANDSHAKE_COOKIE, 65},
			{MESSAGE_INVALID, 100},
			{5, 100},
			{0x104, 100}, /* the upper bytes of the type must be zero */
		};
		uint8_t buf[200];

		for (guint i = 0; i < G_N_ELEMENTS(rows); i++) {
			uint32_t type = GUINT32_TO_LE(rows[i].type);

			wr_random_bytes(buf, sizeof(buf));
			memcpy(buf, &type, sizeof(type));
			g_assert_cmpint(deliver_from(net, A, &net->node[A].udp, buf, rows[i].len),
					==, WR_VERDICT_DROP);
		}
		g_assert_cmpuint(stats(net, B).drop_invalid_message, ==, G_N_ELEMENTS(rows));
	}
	g_free(bad);
}

/* a peer may only send from the addresses it is allowed */
static void
test_bad_inner(void)
{
	g_autoptr(Net) net = net_new();
	g_autoptr(GBytes) spoofed = ip_packet("100.64.0.99", net->node[B].ip4, 80, 40);
	g_autoptr(GBytes) spoofed6 = ip_packet("fd7a:115c:a1e0::99", net->node[B].ip6, 81, 40);
	g_autoptr(GBytes) good = packet_to_other(net, A, 82, 40);
	g_autoptr(GBytes) not_ip = g_bytes_new("\x20hello, this is not an IP packet", 32);

	establish(net);
	g_assert_cmpint(send_ip(net, A, spoofed), ==, WR_VERDICT_SEND);
	g_assert_cmpint(send_ip(net, A, spoofed6), ==, WR_VERDICT_SEND);
	assert_tun_empty(net, B);
	g_assert_cmpuint(stats(net, B).drop_bad_inner, ==, 2);
	/* the session itself is fine */
	g_assert_cmpint(send_ip(net, A, good), ==, WR_VERDICT_SEND);
	assert_tun_one(net, B, good);
	/* and the TUN side refuses what is not IP */
	g_assert_cmpint(send_ip(net, A, not_ip), ==, WR_VERDICT_DROP);
	g_assert_cmpuint(stats(net, A).drop_bad_inner, ==, 1);
}

/* an inner packet whose IP header says it is longer than what arrived */
static void
test_bad_inner_length(void)
{
	g_autoptr(Net) net = net_new();
	g_autoptr(GBytes) pkt = packet_to_other(net, A, 83, 40);
	gsize len;
	uint8_t *p = g_bytes_unref_to_data(g_bytes_ref(pkt), &len);
	g_autoptr(GBytes) liar = NULL;

	establish(net);
	p[3] += 1; /* total length one more than the bytes */
	liar = g_bytes_new_take(p, len);
	g_assert_cmpint(send_ip(net, A, liar), ==, WR_VERDICT_DROP);
	g_assert_cmpuint(stats(net, A).drop_bad_inner, ==, 1);
}

static void
test_no_route(void)
{
	g_autoptr(Net) net = net_new();
	g_autoptr(GBytes) nowhere = ip_packet(net->node[A].ip4, "100.64.0.77", 90, 40);
	g_autoptr(GBytes) nowhere6 = ip_packet(net->node[A].ip6, "fd7a:115c:a1e0::77", 91, 40);

	g_assert_cmpint(send_ip(net, A, nowhere), ==, WR_VERDICT_DROP);
	g_assert_cmpint(send_ip(net, A, nowhere6), ==, WR_VERDICT_DROP);
	g_assert_cmpuint(stats(net, A).drop_no_route, ==, 2);
	/* nothing was started for them */
	g_assert_cmpuint(net->node[A].sent[MESSAGE_HANDSHAKE_INITIATION], ==, 0);
}

/* a peer without an endpoint cannot be reached until it writes first */
static void
test_no_endpoint(void)
{
	g_autoptr(Net) net = net_new();
	g_autoptr(WrUapiSet) set = node_config(net, B);
	g_autoptr(GBytes) from_b = packet_to_other(net, B, 95, 40);
	g_autoptr(GBytes) from_a = packet_to_other(net, A, 96, 40);
	g_autoptr(GBytes) again = packet_to_other(net, B, 97, 40);
	WrUapiPeer *p = g_ptr_array_index(set->peers, 0);
	WrEndpoint ep;

	/* B forgets where A is */
	set->replace_peers = true;
	p->has_endpoint = false;
	g_assert_cmpint(wr_device_apply(net->node[B].dev, set, net->now), ==, 0);
	g_assert_true(wr_device_peer_get_endpoint(net->node[B].dev, net->node[A].public_key, &ep));
	g_assert_cmpint(ep.sa.sa_family, ==, AF_UNSPEC);
	g_assert_cmpint(send_ip(net, B, from_b), ==, WR_VERDICT_DROP);
	g_assert_cmpuint(stats(net, B).drop_no_endpoint, ==, 1);

	/* A's handshake tells B */
	g_assert_cmpint(send_ip(net, A, from_a), ==, WR_VERDICT_CONSUMED);
	(void) pump(net);
	assert_tun_one(net, B, from_a);
	g_assert_true(wr_device_peer_get_endpoint(net->node[B].dev, net->node[A].public_key, &ep));
	g_assert_true(wr_endpoint_equal(&ep, &net->node[A].udp));
	g_assert_cmpint(send_ip(net, B, again), ==, WR_VERDICT_SEND);
	assert_tun_one(net, A, again);
}

/* the last authenticated source address is where the peer is now */
static void
test_roaming(void)
{
	g_autoptr(Net) net = net_new();
	g_autoptr(GBytes) pkt = packet_to_other(net, A, 100, 40);
	g_autoptr(GBytes) pkt2 = packet_to_other(net, A, 101, 40);
	g_autoptr(GBytes) reply = packet_to_other(net, B, 102, 40);
	g_autoptr(GBytes) datagram = NULL;
	g_autoptr(GBytes) datagram2 = NULL;
	WrEndpoint roamed, forged, ep;
	gsize len;
	uint8_t *bad;

	establish(net);
	g_assert_true(wr_endpoint_parse(&roamed, "203.0.113.9:4000"));
	net->node[A].alias = roamed; /* behind a NAT that changed its mapping */
	g_assert_true(wr_endpoint_parse(&forged, "203.0.113.66:6666"));
	g_assert_cmpint(encrypt(net, A, pkt, &datagram), ==, WR_VERDICT_SEND);
	g_assert_cmpint(encrypt(net, A, pkt2, &datagram2), ==, WR_VERDICT_SEND);

	/* a forgery from elsewhere moves nothing */
	bad = g_bytes_unref_to_data(g_bytes_ref(datagram2), &len);
	bad[len - 5] ^= 1;
	g_assert_cmpint(deliver_from(net, A, &forged, bad, (uint32_t) len), ==, WR_VERDICT_DROP);
	g_free(bad);
	g_assert_true(wr_device_peer_get_endpoint(net->node[B].dev, net->node[A].public_key, &ep));
	g_assert_true(wr_endpoint_equal(&ep, &net->node[A].udp));

	/* a genuine packet from a new address moves the endpoint */
	{
		const uint8_t *d = g_bytes_get_data(datagram, &len);

		g_assert_cmpint(deliver_from(net, A, &roamed, d, (uint32_t) len), ==,
				WR_VERDICT_TUN);
	}
	assert_tun_one(net, B, pkt);
	g_assert_true(wr_device_peer_get_endpoint(net->node[B].dev, net->node[A].public_key, &ep));
	g_assert_true(wr_endpoint_equal(&ep, &roamed));
	g_assert_cmpint(send_ip(net, B, reply), ==, WR_VERDICT_SEND);
	g_assert_true(wr_endpoint_equal(&net->node[B].last_dst, &roamed));

	/* a replay of an older packet from the old address does not move it back */
	g_assert_cmpint(deliver(net, A, datagram), ==, WR_VERDICT_DROP);
	g_assert_true(wr_device_peer_get_endpoint(net->node[B].dev, net->node[A].public_key, &ep));
	g_assert_true(wr_endpoint_equal(&ep, &roamed));
	g_assert_false(wr_device_peer_get_endpoint(net->node[B].dev, net->node[B].public_key, &ep));
}

/* roaming off: a genuine packet from a new address moves nothing; the endpoint moves only when
 * set, and a packet sent after that goes there */
static void
test_no_roaming(void)
{
	g_autoptr(Net) net = net_new();
	g_autoptr(GBytes) pkt = packet_to_other(net, A, 100, 40);
	g_autoptr(GBytes) reply = packet_to_other(net, B, 102, 40);
	g_autoptr(GBytes) datagram = NULL;
	WrEndpoint moved, chosen, ep;
	gsize len;
	const uint8_t *d;

	establish(net);
	wr_device_set_roaming(net->node[B].dev, false);
	g_assert_true(wr_endpoint_parse(&moved, "203.0.113.9:4000"));
	net->node[A].alias = moved;
	g_assert_cmpint(encrypt(net, A, pkt, &datagram), ==, WR_VERDICT_SEND);
	d = g_bytes_get_data(datagram, &len);
	g_assert_cmpint(deliver_from(net, A, &moved, d, (uint32_t) len), ==, WR_VERDICT_TUN);
	assert_tun_one(net, B, pkt);
	g_assert_true(wr_device_peer_get_endpoint(net->node[B].dev, net->node[A].public_key, &ep));
	g_assert_true(wr_endpoint_equal(&ep, &net->node[A].udp));

	g_assert_true(wr_endpoint_parse(&chosen, "[2001:db8::7]:41641"));
	g_assert_true(
		wr_device_peer_set_endpoint(net->node[B].dev, net->node[A].public_key, &chosen));
	g_assert_cmpint(send_ip(net, B, reply), ==, WR_VERDICT_SEND);
	g_assert_true(wr_endpoint_equal(&net->node[B].last_dst, &chosen));
	/* an unknown peer */
	g_assert_false(
		wr_device_peer_set_endpoint(net->node[B].dev, net->node[B].public_key, &chosen));
}

/* a handshake that went to a useless endpoint is sent again at once when warrend moves the
 * endpoint (wr_device_peer_kick_handshake), not REKEY_TIMEOUT later; nothing happens when
 * nothing waits or a session exists */
static void
test_kick_handshake(void)
{
	g_autoptr(Net) net = net_new();
	g_autoptr(GBytes) pkt = packet_to_other(net, A, 100, 40);
	WrEndpoint nowhere;

	g_assert_true(wr_endpoint_parse(&nowhere, "192.0.2.99:9"));
	g_assert_false(wr_device_peer_kick_handshake(net->node[A].dev, net->node[B].public_key,
						     net->now)); /* nothing waits */
	g_assert_true(
		wr_device_peer_set_endpoint(net->node[A].dev, net->node[B].public_key, &nowhere));
	g_assert_cmpint(send_ip(net, A, pkt), ==, WR_VERDICT_CONSUMED);
	g_assert_cmpuint(net->node[A].sent[MESSAGE_HANDSHAKE_INITIATION], ==, 1);
	g_assert_cmpuint(net->node[A].elsewhere, ==, 1); /* lost */

	net->now += SEC / 10;
	g_assert_true(wr_device_peer_set_endpoint(net->node[A].dev, net->node[B].public_key,
						  &net->node[B].udp));
	g_assert_true(
		wr_device_peer_kick_handshake(net->node[A].dev, net->node[B].public_key, net->now));
	(void) pump(net);
	g_assert_cmpuint(net->node[A].sent[MESSAGE_HANDSHAKE_INITIATION], ==, 2);
	g_assert_true(has_session(net, A));
	assert_tun_one(net, B, pkt); /* the staged packet followed the handshake */
	g_assert_false(wr_device_peer_kick_handshake(net->node[A].dev, net->node[B].public_key,
						     net->now)); /* a session exists */
	g_assert_false(wr_device_peer_kick_handshake(net->node[A].dev, net->node[A].public_key,
						     net->now)); /* unknown peer */
}

/* a peer configured with the wrong public key: no session ever, no crash */
static void
test_wrong_key(void)
{
	for (int wrong = 0; wrong < 2; wrong++) {
		g_autoptr(Net) net = net_new();
		g_autoptr(WrUapiSet) set = node_config(net, wrong);
		g_autoptr(GBytes) pkt = packet_to_other(net, A, 110, 40);
		g_autoptr(GBytes) pkt_b = packet_to_other(net, B, 111, 40);
		WrUapiPeer *p = g_ptr_array_index(set->peers, 0);
		uint8_t unused[WR_KEY_LEN];

		g_test_message("%s has the wrong key", wrong == A ? "A" : "B");
		/* the node's view of the other: a random key where the real one should be */
		set->replace_peers = true;
		wr_x25519_generate(unused, p->public_key);
		g_assert_cmpint(wr_device_apply(net->node[wrong].dev, set, net->now), ==, 0);

		g_assert_cmpint(send_ip(net, A, pkt), ==, WR_VERDICT_CONSUMED);
		g_assert_cmpint(send_ip(net, B, pkt_b), ==, WR_VERDICT_CONSUMED);
		run_until(net, net->now + 200 * SEC);
		g_assert_false(has_session(net, A));
		g_assert_false(has_session(net, B));
		assert_tun_empty(net, A);
		assert_tun_empty(net, B);
		g_assert_cmpuint(net->node[A].sent[MESSAGE_HANDSHAKE_RESPONSE], ==, 0);
		g_assert_cmpuint(net->node[B].sent[MESSAGE_HANDSHAKE_RESPONSE], ==, 0);
		/* every initiation from either side was refused */
		g_assert_cmpuint(stats(net, A).drop_handshake_invalid, ==,
				 net->node[B].sent[MESSAGE_HANDSHAKE_INITIATION]);
		g_assert_cmpuint(stats(net, B).drop_handshake_invalid, ==,
				 net->node[A].sent[MESSAGE_HANDSHAKE_INITIATION]);
		g_assert_cmpuint(net->node[A].sent[MESSAGE_HANDSHAKE_INITIATION], ==,
				 MAX_TIMER_HANDSHAKES + 2);
	}
}

/* at most MAX_STAGED_PACKETS wait for a session; the oldest go first */
static void
test_staged_bound(void)
{
	g_autoptr(Net) net = net_new();
	g_autoptr(GPtrArray) pkts = g_ptr_array_new_with_free_func((GDestroyNotify) g_bytes_unref);
	const guint extra = 10;

	net->down[A] = true;
	for (guint i = 0; i < MAX_STAGED_PACKETS + extra; i++) {
		GBytes *pkt = packet_to_other(net, A, 1000 + i, 20 + i);

		g_assert_cmpint(send_ip(net, A, pkt), ==, WR_VERDICT_CONSUMED);
		g_ptr_array_add(pkts, pkt);
	}
	g_assert_cmpuint(stats(net, A).drop_staged_overflow, ==, extra);
	/* one initiation, however many packets asked for it */
	g_assert_cmpuint(net->node[A].sent[MESSAGE_HANDSHAKE_INITIATION], ==, 1);

	net->down[A] = false;
	run_until(net, net->now + REKEY_TIMEOUT * SEC + JITTER_MAX);
	assert_tun(net, B, (GBytes **) pkts->pdata + extra, MAX_STAGED_PACKETS);
}

/* a set that cannot be applied whole changes nothing */
static void
test_apply_atomic(void)
{
	g_autoptr(Net) net = net_new();
	g_autoptr(WrUapiSet) set = wr_uapi_set_new();
	WrUapiPeer *p;
	uint8_t key[WR_KEY_LEN];
	uint8_t unused[WR_KEY_LEN];

	establish(net);
	/* one new peer listed MAX_PEERS_PER_DEVICE times, with a new private key and port */
	g_ptr_array_set_free_func(set->peers, NULL);
	p = g_new0(WrUapiPeer, 1);
	wr_x25519_generate(unused, p->public_key);
	for (guint i = 0; i < MAX_PEERS_PER_DEVICE; i++)
		g_ptr_array_add(set->peers, p);
	set->has_private_key = true;
	wr_x25519_generate(set->private_key, unused);
	set->has_listen_port = true;
	set->listen_port = 1234;
	g_assert_cmpint(wr_device_apply(net->node[A].dev, set, net->now), ==, ENOSPC);
	g_assert_cmpuint(wr_device_get_n_peers(net->node[A].dev), ==, 1);
	g_assert_cmpuint(wr_device_get_listen_port(net->node[A].dev), ==, 51820);
	g_assert_true(wr_device_get_public_key(net->node[A].dev, key));
	g_assert_cmpmem(key, WR_KEY_LEN, net->node[A].public_key, WR_KEY_LEN);
	g_assert_true(has_session(net, A));

	/* one fewer fits (with the one peer that is there) */
	g_ptr_array_set_size(set->peers, MAX_PEERS_PER_DEVICE - 1);
	set->has_private_key = false;
	g_assert_cmpint(wr_device_apply(net->node[A].dev, set, net->now), ==, 0);
	g_assert_cmpuint(wr_device_get_n_peers(net->node[A].dev), ==, 2);
	g_assert_cmpuint(wr_device_get_listen_port(net->node[A].dev), ==, 1234);
	g_free(p);
}

static void
test_apply_peers(void)
{
	g_autoptr(Net) net = net_new();
	uint8_t c_key[WR_KEY_LEN], d_key[WR_KEY_LEN], unused[WR_KEY_LEN];
	g_autoptr(GBytes) to_c = ip_packet("100.64.0.1", "100.64.0.3", 120, 40);
	g_autoptr(GBytes) to_b = packet_to_other(net, A, 121, 40);
	WrUapiSet *set;
	WrUapiPeer *p;
	WrEndpoint ep;

	wr_x25519_generate(unused, c_key);
	wr_x25519_generate(unused, d_key);

	/* add C next to B */
	set = wr_uapi_set_new();
	p = wr_uapi_set_add_peer(set, c_key);
	uapi_peer_add_ip(p, "100.64.0.3/32");
	uapi_peer_set_endpoint(p, "192.0.2.3:51820");
	apply(net, A, set);
	g_assert_cmpuint(wr_device_get_n_peers(net->node[A].dev), ==, 2);
	g_assert_cmpint(send_ip(net, A, to_c), ==, WR_VERDICT_CONSUMED);
	g_assert_true(wr_endpoint_parse(&ep, "192.0.2.3:51820"));
	g_assert_true(wr_endpoint_equal(&net->node[A].last_dst, &ep));
	g_assert_cmpuint(net->node[A].elsewhere, ==, 1);

	/* update_only: C changes, D is not created */
	set = wr_uapi_set_new();
	p = wr_uapi_set_add_peer(set, c_key);
	p->update_only = true;
	uapi_peer_set_endpoint(p, "192.0.2.33:51821");
	p = wr_uapi_set_add_peer(set, d_key);
	p->update_only = true;
	uapi_peer_add_ip(p, "100.64.0.4/32");
	apply(net, A, set);
	g_assert_cmpuint(wr_device_get_n_peers(net->node[A].dev), ==, 2);
	g_assert_true(wr_device_peer_get_endpoint(net->node[A].dev, c_key, &ep));
	{
		char text[WR_ENDPOINT_STRLEN];

		wr_endpoint_format(&ep, text);
		g_assert_cmpstr(text, ==, "192.0.2.33:51821");
	}
	g_assert_false(wr_device_peer_get_endpoint(net->node[A].dev, d_key, &ep));

	/* our own public key as a peer is skipped silently */
	set = wr_uapi_set_new();
	p = wr_uapi_set_add_peer(set, net->node[A].public_key);
	uapi_peer_add_ip(p, "100.64.0.5/32");
	apply(net, A, set);
	g_assert_cmpuint(wr_device_get_n_peers(net->node[A].dev), ==, 2);
	g_assert_false(wr_device_peer_get_endpoint(net->node[A].dev, net->node[A].public_key, &ep));

	/* remove C: its addresses no longer route */
	set = wr_uapi_set_new();
	p = wr_uapi_set_add_peer(set, c_key);
	p->remove = true;
	apply(net, A, set);
	g_assert_cmpuint(wr_device_get_n_peers(net->node[A].dev), ==, 1);
	g_assert_cmpint(send_ip(net, A, to_c), ==, WR_VERDICT_DROP);
	g_assert_cmpuint(stats(net, A).drop_no_route, ==, 1);
	/* removing a peer that is not there is no error */
	set = wr_uapi_set_new();
	p = wr_uapi_set_add_peer(set, c_key);
	p->remove = true;
	apply(net, A, set);

	/* replace_peers: B goes, D comes, with B's addresses */
	establish(net);
	set = wr_uapi_set_new();
	set->replace_peers = true;
	p = wr_uapi_set_add_peer(set, d_key);
	uapi_peer_add_ip(p, "100.64.0.0/24");
	apply(net, A, set);
	g_assert_cmpuint(wr_device_get_n_peers(net->node[A].dev), ==, 1);
	g_assert_false(wr_device_peer_get_endpoint(net->node[A].dev, net->node[B].public_key, &ep));
	g_assert_true(wr_device_peer_get_endpoint(net->node[A].dev, d_key, &ep));
	/* D has no endpoint */
	g_assert_cmpint(send_ip(net, A, to_b), ==, WR_VERDICT_DROP);
	g_assert_cmpuint(stats(net, A).drop_no_endpoint, ==, 1);
	/* B's session died with B: its packets are for nobody */
	{
		g_autoptr(GBytes) from_b = packet_to_other(net, B, 122, 40);

		g_assert_cmpint(send_ip(net, B, from_b), ==, WR_VERDICT_SEND);
		assert_tun_empty(net, A);
		g_assert_cmpuint(stats(net, A).drop_unknown_index, ==, 1);
	}
	/* an empty set changes nothing */
	set = wr_uapi_set_new();
	apply(net, A, set);
	g_assert_cmpuint(wr_device_get_n_peers(net->node[A].dev), ==, 1);
	/* replace_allowed_ips */
	set = wr_uapi_set_new();
	p = wr_uapi_set_add_peer(set, d_key);
	p->replace_allowed_ips = true;
	uapi_peer_add_ip(p, "10.0.0.0/8");
	apply(net, A, set);
	g_assert_cmpint(send_ip(net, A, to_b), ==, WR_VERDICT_DROP);
	g_assert_cmpuint(stats(net, A).drop_no_route, ==, 2);
}

/* a new private key: no more sending on sessions made with the old one */
static void
test_apply_private_key(void)
{
	g_autoptr(Net) net = net_new();
	g_autoptr(GBytes) from_b = packet_to_other(net, B, 130, 40);
	g_autoptr(GBytes) from_a = packet_to_other(net, A, 131, 40);
	WrUapiSet *set;
	uint8_t key[WR_KEY_LEN];
	uint8_t new_private[WR_KEY_LEN], new_public[WR_KEY_LEN];

	establish(net);
	/* the same key again changes nothing */
	set = wr_uapi_set_new();
	set->has_private_key = true;
	memcpy(set->private_key, net->node[A].private_key, WR_KEY_LEN);
	apply(net, A, set);
	g_assert_true(has_session(net, A));

	/* past the rate limit of initiations, so the new key's first one goes out at once */
	run_until(net, net->now + REKEY_TIMEOUT * SEC);
	wr_x25519_generate(new_private, new_public);
	set = wr_uapi_set_new();
	set->has_private_key = true;
	memcpy(set->private_key, new_private, WR_KEY_LEN);
	apply(net, A, set);
	g_assert_true(wr_device_get_public_key(net->node[A].dev, key));
	g_assert_cmpmem(key, WR_KEY_LEN, new_public, WR_KEY_LEN);
	g_assert_false(has_session(net, A));

	/* what B still sends on the old session is read */
	g_assert_cmpint(send_ip(net, B, from_b), ==, WR_VERDICT_SEND);
	assert_tun_one(net, A, from_b);
	/* A waits for a new handshake, which B cannot accept until told the new key */
	g_assert_cmpint(send_ip(net, A, from_a), ==, WR_VERDICT_CONSUMED);
	(void) pump(net);
	assert_tun_empty(net, B);
	g_assert_cmpuint(stats(net, B).drop_handshake_invalid, ==, 1);
	memcpy(net->node[A].private_key, new_private, WR_KEY_LEN);
	memcpy(net->node[A].public_key, new_public, WR_KEY_LEN);
	set = node_config(net, B);
	set->replace_peers = true;
	apply(net, B, set);
	run_until(net, net->now + REKEY_TIMEOUT * SEC + JITTER_MAX);
	assert_tun_one(net, B, from_a);
	g_assert_true(has_session(net, A));

	/* the all-zero key removes the identity */
	set = wr_uapi_set_new();
	set->has_private_key = true;
	apply(net, A, set);
	g_assert_false(wr_device_get_public_key(net->node[A].dev, key));
	g_assert_false(has_session(net, A));
}

/* keep_sessions (a node-key rotation, docs/key-rotation.md): the sessions of the old key go on
 * both ways, and a peer told the new key gets a handshake answered at once */
static void
test_apply_private_key_keep_sessions(void)
{
	g_autoptr(Net) net = net_new();
	g_autoptr(GBytes) from_a = packet_to_other(net, A, 140, 40);
	g_autoptr(GBytes) from_b = packet_to_other(net, B, 141, 40);
	g_autoptr(GBytes) from_b2 = packet_to_other(net, B, 142, 40);
	WrUapiSet *set;
	uint8_t key[WR_KEY_LEN];
	uint8_t new_private[WR_KEY_LEN], new_public[WR_KEY_LEN];

	establish(net);
	wr_x25519_generate(new_private, new_public);
	set = wr_uapi_set_new();
	set->has_private_key = true;
	set->keep_sessions = true;
	memcpy(set->private_key, new_private, WR_KEY_LEN);
	apply(net, A, set);
	g_assert_true(wr_device_get_public_key(net->node[A].dev, key));
	g_assert_cmpmem(key, WR_KEY_LEN, new_public, WR_KEY_LEN);
	g_assert_true(has_session(net, A));

	/* no handshake needed either way */
	g_assert_cmpint(send_ip(net, A, from_a), ==, WR_VERDICT_SEND);
	assert_tun_one(net, B, from_a);
	g_assert_cmpint(send_ip(net, B, from_b), ==, WR_VERDICT_SEND);
	assert_tun_one(net, A, from_b);

	/* B learns the new key (a new peer, no session): its first packet waits for one
	 * handshake, which A answers with the new key */
	memcpy(net->node[A].private_key, new_private, WR_KEY_LEN);
	memcpy(net->node[A].public_key, new_public, WR_KEY_LEN);
	set = node_config(net, B);
	set->replace_peers = true;
	apply(net, B, set);
	g_assert_cmpint(send_ip(net, B, from_b2), ==, WR_VERDICT_CONSUMED);
	(void) pump(net);
	assert_tun_one(net, A, from_b2);
	g_assert_cmpuint(stats(net, A).drop_handshake_invalid, ==, 0);
	g_assert_true(has_session(net, B));
}

/* a private key whose public key is a configured peer removes that peer */
static void
test_apply_private_key_is_peer(void)
{
	g_autoptr(Net) net = net_new();
	WrUapiSet *set = wr_uapi_set_new();

	set->has_private_key = true;
	memcpy(set->private_key, net->node[B].private_key, WR_KEY_LEN);
	apply(net, A, set);
	g_assert_cmpuint(wr_device_get_n_peers(net->node[A].dev), ==, 0);
}

/* a configuration parsed from UAPI text */
static void
test_apply_parsed(void)
{
	g_autoptr(Net) net = net_new();
	g_autoptr(WrUapiSet) set = NULL;
	g_autoptr(GString) text = g_string_new("set=1\n");
	g_autofree char *message = NULL;
	char hex[WR_KEY_HEX_LEN + 1];
	uint8_t c_private[WR_KEY_LEN], c_public[WR_KEY_LEN];
	WrEndpoint ep;

	wr_x25519_generate(c_private, c_public);
	wr_key_to_hex(hex, c_public);
	g_string_append_printf(text,
			       "listen_port=4242\nfwmark=7\npublic_key=%s\n"
			       "endpoint=[2001:db8::3]:51820\nallowed_ip=100.64.0.3/32\n"
			       "persistent_keepalive_interval=0\n",
			       hex);
	g_assert_cmpint(wr_uapi_parse_set(text->str, text->len, &set, &message), ==, 0);
	g_assert_cmpint(wr_device_apply(net->node[A].dev, set, net->now), ==, 0);
	g_assert_cmpuint(wr_device_get_listen_port(net->node[A].dev), ==, 4242);
	g_assert_cmpuint(wr_device_get_fwmark(net->node[A].dev), ==, 7);
	g_assert_cmpuint(wr_device_get_n_peers(net->node[A].dev), ==, 2);
	g_assert_true(wr_device_peer_get_endpoint(net->node[A].dev, c_public, &ep));
	g_assert_cmpint(ep.sa.sa_family, ==, AF_INET6);
	wr_device_set_listen_port(net->node[A].dev, 4343);
	g_assert_cmpuint(wr_device_get_listen_port(net->node[A].dev), ==, 4343);
}

static bool
has_line(const GString *text, const char *line)
{
	g_autofree char *needle = g_strdup_printf("\n%s\n", line);
	g_autofree char *first = g_strdup_printf("%s\n", line);

	return strstr(text->str, needle) != NULL || g_str_has_prefix(text->str, first);
}

/* what wg show would see: peers, addresses, handshake time and byte counters */
static void
test_get_info(void)
{
	g_autoptr(Net) net = net_new();
	g_autoptr(WrUapiDeviceInfo) info_a = wr_uapi_device_info_new();
	g_autoptr(WrUapiDeviceInfo) info_b = wr_uapi_device_info_new();
	g_autoptr(GString) text = g_string_new(NULL);
	const WrUapiPeerInfo *pa, *pb;
	char hex[WR_KEY_HEX_LEN + 1];
	g_autofree char *line = NULL;
	int64_t t_handshake;
	WrDeviceStats sa, sb;
	uint8_t psk[WR_KEY_LEN];

	/* with a preshared key on both sides */
	wr_random_bytes(psk, sizeof(psk));
	for (int i = 0; i < 2; i++) {
		WrUapiSet *set = wr_uapi_set_new();
		WrUapiPeer *p = wr_uapi_set_add_peer(set, net->node[1 - i].public_key);

		p->has_preshared_key = true;
		memcpy(p->preshared_key, psk, sizeof(psk));
		apply(net, i, set);
	}

	t_handshake = net->now;
	establish(net);
	for (uint32_t k = 0; k < 20; k++) {
		g_autoptr(GBytes) ab = packet_to_other(net, A, 200 + k, 10 * k + 4);
		g_autoptr(GBytes) ba = packet_to_other(net, B, 300 + k, 1300 - k);

		run_until(net, net->now + 3 * SEC);
		g_assert_cmpint(send_ip(net, A, ab), ==, WR_VERDICT_SEND);
		g_assert_cmpint(send_ip(net, B, ba), ==, WR_VERDICT_SEND);
	}
	run_until(net, net->now + 30 * SEC);
	g_assert_cmpuint(g_queue_get_length(&net->node[A].tun), ==, 20);
	g_assert_cmpuint(g_queue_get_length(&net->node[B].tun), ==, 20);

	wr_device_get_info(net->node[A].dev, info_a);
	wr_device_get_info(net->node[B].dev, info_b);
	g_assert_true(info_a->has_private_key);
	g_assert_cmpmem(info_a->private_key, WR_KEY_LEN, net->node[A].private_key, WR_KEY_LEN);
	g_assert_cmpuint(info_a->listen_port, ==, 51820);
	g_assert_cmpuint(info_a->fwmark, ==, 0);
	g_assert_cmpuint(info_a->peers->len, ==, 1);
	pa = g_ptr_array_index(info_a->peers, 0);
	pb = g_ptr_array_index(info_b->peers, 0);
	g_assert_cmpmem(pa->public_key, WR_KEY_LEN, net->node[B].public_key, WR_KEY_LEN);
	g_assert_true(pa->has_preshared_key);
	g_assert_cmpmem(pa->preshared_key, WR_KEY_LEN, psk, WR_KEY_LEN);
	g_assert_true(wr_endpoint_equal(&pa->endpoint, &net->node[B].udp));
	g_assert_true(wr_endpoint_equal(&pb->endpoint, &net->node[A].udp));
	/* v4 before v6 */
	g_assert_cmpuint(pa->allowed_ips->len, ==, 2);
	{
		char cidr[WR_CIDR_STRLEN];

		wr_cidr_format(&g_array_index(pa->allowed_ips, WrCidr, 0), cidr);
		g_assert_cmpstr(cidr, ==, "100.64.0.2/32");
		wr_cidr_format(&g_array_index(pa->allowed_ips, WrCidr, 1), cidr);
		g_assert_cmpstr(cidr, ==, "fd7a:115c:a1e0::2/128");
	}
	/* the handshake happened at once, on the wall clock the devices were given */
	g_assert_cmpint(pa->last_handshake_sec, ==, (t_handshake + REALTIME_BASE) / SEC);
	g_assert_cmpint(pa->last_handshake_nsec, ==, (t_handshake + REALTIME_BASE) % SEC * 1000);
	g_assert_cmpint(pb->last_handshake_sec, ==, (t_handshake + REALTIME_BASE) / SEC);

	/* every byte one side sent the other, handshakes included, the other received */
	g_assert_cmpuint(pa->tx_bytes, ==, net->node[A].bytes_delivered);
	g_assert_cmpuint(pb->rx_bytes, ==, net->node[A].bytes_delivered);
	g_assert_cmpuint(pb->tx_bytes, ==, net->node[B].bytes_delivered);
	g_assert_cmpuint(pa->rx_bytes, ==, net->node[B].bytes_delivered);
	g_assert_cmpuint(pa->tx_bytes, >, 20 * (MESSAGE_MINIMUM_LENGTH + 28));
	sa = stats(net, A);
	sb = stats(net, B);
	g_assert_cmpuint(sa.tx_packets, ==, net->node[A].sent[MESSAGE_DATA]);
	g_assert_cmpuint(sb.rx_packets, ==, net->node[A].sent[MESSAGE_DATA]);
	g_assert_cmpuint(sb.tx_packets, ==, net->node[B].sent[MESSAGE_DATA]);
	g_assert_cmpuint(sa.tx_bytes, ==, sb.rx_bytes);
	g_assert_cmpuint(sb.tx_bytes, ==, sa.rx_bytes);

	/* and the same through the UAPI text */
	wr_uapi_format_get(info_a, text);
	wr_key_to_hex(hex, net->node[B].public_key);
	line = g_strdup_printf("public_key=%s", hex);
	g_assert_true(has_line(text, line));
	g_clear_pointer(&line, g_free);
	g_assert_true(has_line(text, "endpoint=198.51.100.2:51820"));
	g_assert_true(has_line(text, "allowed_ip=100.64.0.2/32"));
	g_assert_true(has_line(text, "allowed_ip=fd7a:115c:a1e0::2/128"));
	line = g_strdup_printf("tx_bytes=%" G_GUINT64_FORMAT, pa->tx_bytes);
	g_assert_true(has_line(text, line));
	g_clear_pointer(&line, g_free);
	line = g_strdup_printf("rx_bytes=%" G_GUINT64_FORMAT, pa->rx_bytes);
	g_assert_true(has_line(text, line));
	g_assert_true(g_str_has_suffix(text->str, "errno=0\n\n"));
	wr_memzero(text->str, text->len);
}

/* after zero_key_material the sessions are gone; traffic starts a new handshake */
static void
test_zero_key_material(void)
{
	g_autoptr(Net) net = net_new();
	g_autoptr(GBytes) later = packet_to_other(net, A, 140, 40);
	int64_t t_session;

	establish(net);
	t_session = net->now;
	run_until(net, t_session + 3 * REJECT_AFTER_TIME * SEC + 20 * SEC);
	g_assert_false(has_session(net, A));
	g_assert_false(has_session(net, B));
	g_assert_cmpint(send_ip(net, A, later), ==, WR_VERDICT_CONSUMED);
	(void) pump(net);
	assert_tun_one(net, B, later);
	g_assert_cmpuint(stats(net, A).handshakes_completed, ==, 2);
}

/* simultaneous initiations from both sides settle on working sessions */
static void
test_crossed_initiations(void)
{
	g_autoptr(Net) net = net_new();
	g_autoptr(GBytes) ab = packet_to_other(net, A, 150, 40);
	g_autoptr(GBytes) ba = packet_to_other(net, B, 151, 40);

	net->hold[A] = net->hold[B] = true;
	g_assert_cmpint(send_ip(net, A, ab), ==, WR_VERDICT_CONSUMED);
	g_assert_cmpint(send_ip(net, B, ba), ==, WR_VERDICT_CONSUMED);
	release_held(net, A);
	release_held(net, B);
	run_until(net, net->now + 30 * SEC);
	assert_tun_one(net, B, ab);
	assert_tun_one(net, A, ba);
	g_assert_true(has_session(net, A));
	g_assert_true(has_session(net, B));
}

/* the MTU caps the padding */
static void
test_mtu_padding(void)
{
	static const struct {
		int mtu;
		uint32_t ip_len;
		uint32_t padded;
	} rows[] = {
		{1420, 33, 48},	    {1420, 1419, 1420}, {1420, 1420, 1420},
		{1420, 1500, 1500}, {1280, 1279, 1280}, {0, 1419, 1420}, /* 0: the default, 1420 */
	};
	g_autoptr(Net) net = net_new();

	establish(net);
	for (guint i = 0; i < G_N_ELEMENTS(rows); i++) {
		g_autoptr(GBytes) pkt = packet_to_other(net, A, 160 + i, rows[i].ip_len - 28);
		g_autoptr(GBytes) datagram = NULL;

		wr_device_set_mtu(net->node[A].dev, rows[i].mtu);
		g_assert_cmpint(encrypt(net, A, pkt, &datagram), ==, WR_VERDICT_SEND);
		g_assert_cmpuint(g_bytes_get_size(datagram), ==,
				 MESSAGE_MINIMUM_LENGTH + rows[i].padded);
		g_assert_cmpint(deliver(net, A, datagram), ==, WR_VERDICT_TUN);
		assert_tun_one(net, B, pkt);
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_assert_true(wr_crypto_init());

	g_test_add_func("/warren/device/first-packet", test_first_packet);
	g_test_add_func("/warren/device/confirm-by-keepalive", test_confirm_by_keepalive);
	g_test_add_func("/warren/device/data-both-ways", test_data_both_ways);
	g_test_add_func("/warren/device/responder-confirms", test_responder_confirms);
	g_test_add_func("/warren/device/rekey", test_rekey);
	g_test_add_func("/warren/device/rekey-lastminute", test_rekey_lastminute);
	g_test_add_func("/warren/device/reject-after-time", test_reject_after_time);
	g_test_add_func("/warren/device/keepalive", test_keepalive);
	g_test_add_func("/warren/device/new-handshake-timer", test_new_handshake_timer);
	g_test_add_func("/warren/device/retransmit-give-up", test_retransmit_give_up);
	g_test_add_func("/warren/device/under-load", test_under_load);
	g_test_add_func("/warren/device/bogus-cookie-reply", test_bogus_cookie_reply);
	g_test_add_func("/warren/device/replay-and-tamper", test_replay_and_tamper);
	g_test_add_func("/warren/device/bad-inner", test_bad_inner);
	g_test_add_func("/warren/device/bad-inner-length", test_bad_inner_length);
	g_test_add_func("/warren/device/no-route", test_no_route);
	g_test_add_func("/warren/device/no-endpoint", test_no_endpoint);
	g_test_add_func("/warren/device/roaming", test_roaming);
	g_test_add_func("/warren/device/no-roaming", test_no_roaming);
	g_test_add_func("/warren/device/kick-handshake", test_kick_handshake);
	g_test_add_func("/warren/device/wrong-key", test_wrong_key);
	g_test_add_func("/warren/device/staged-bound", test_staged_bound);
	g_test_add_func("/warren/device/apply-atomic", test_apply_atomic);
	g_test_add_func("/warren/device/apply-peers", test_apply_peers);
	g_test_add_func("/warren/device/apply-private-key", test_apply_private_key);
	g_test_add_func("/warren/device/apply-private-key-keep-sessions",
			test_apply_private_key_keep_sessions);
	g_test_add_func("/warren/device/apply-private-key-is-peer", test_apply_private_key_is_peer);
	g_test_add_func("/warren/device/apply-parsed", test_apply_parsed);
	g_test_add_func("/warren/device/get-info", test_get_info);
	g_test_add_func("/warren/device/zero-key-material", test_zero_key_material);
	g_test_add_func("/warren/device/crossed-initiations", test_crossed_initiations);
	g_test_add_func("/warren/device/mtu-padding", test_mtu_padding);
	return g_test_run();
}
