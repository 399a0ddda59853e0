/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The WireGuard device: sessions, handshakes, cryptokey routing and timers, with no I/O.
 *
 * Locking: self->lock guards everything in the device, the peers and their keypairs' mutable
 * fields (counters, replay windows, validity).  Keypairs and peers are reference counted
 * atomically so that the data path can do its cryptography outside the lock: phase one
 * (locked) resolves the session and reserves a counter, phase two (unlocked) encrypts or
 * decrypts in place, phase three (locked, inbound only) checks the replay window and moves
 * the session state on.  A keypair holds a reference on its peer; a removed peer is marked
 * dead and freed when its last keypair goes.
 */

#define G_LOG_DOMAIN "WrDevice"

#include "config.h"

#include <errno.h>
#include <glib.h>
#include <stddef.h>
#include <string.h>

#include "wr-allowedips.h"
#include "wr-crypto.h"
#include "wr-device.h"
#include "wr-key.h"
#include "wr-ratelimiter.h"
#include "wr-tai64n.h"

#define DEFAULT_MTU 1420

typedef enum {
	INDEX_HANDSHAKE,
	INDEX_KEYPAIR,
} IndexType;

typedef struct {
	IndexType type;
	WrPeer *peer;
	WrKeypair *keypair; /* for INDEX_KEYPAIR */
} IndexEntry;

typedef struct {
	WrEndpoint src;
	uint32_t len;
	uint8_t data[sizeof(struct wr_message_handshake_initiation)];
} QueuedHandshake;

struct WrDevice {
	GMutex lock;
	WrTimings timings;
	WrNoiseStatic *identity; /* sodium guarded memory */
	WrCookieChecker cookie_checker;
	WrRatelimiter *ratelimiter;
	GHashTable *peers_by_key; /* public key bytes -> WrPeer */
	GPtrArray *peers;	  /* in creation order */
	uint64_t next_serial;
	GHashTable *index_table; /* local index -> IndexEntry */
	WrAllowedIps *allowedips;
	uint16_t listen_port;
	uint32_t fwmark;
	int mtu;
	GQueue handshake_queue;	 /* of QueuedHandshake */
	int64_t last_under_load; /* 0: not recently */
	bool force_under_load;
	bool no_roaming; /* endpoints are set from outside (warrend's path choice) */
	GQueue outbox;	 /* of WrDatagram */
	int outbox_len;	 /* atomic mirror of outbox.length */
	int wake;	 /* atomic */
	int64_t planned_wake;
	int64_t realtime_offset;
	WrDeviceStats stats;
};

static int64_t
jitter(const WrDevice *self)
{
	if (self->timings.jitter_max <= 0)
		return 0;
	return wr_random_uniform((uint32_t) self->timings.jitter_max);
}

/* ---- peers and keypairs ---- */

static WrPeer *
peer_ref(WrPeer *peer)
{
	g_atomic_int_inc(&peer->refcount);
	return peer;
}

static void
peer_unref(WrPeer *peer)
{
	if (peer == NULL || !g_atomic_int_dec_and_test(&peer->refcount))
		return;
	g_queue_clear_full(&peer->staged, (GDestroyNotify) wr_datagram_free);
	wr_secure_free(peer);
}

/* drops a reference; the last one frees the keypair and releases its peer */
static void
keypair_put(WrKeypair *kp)
{
	WrPeer *peer;

	if (kp == NULL)
		return;
	peer = kp->peer;
	if (g_atomic_int_dec_and_test(&kp->refcount)) {
		wr_secure_free(kp);
		peer_unref(peer);
	}
}

static uint32_t
index_insert(WrDevice *self, IndexType type, WrPeer *peer, WrKeypair *kp)
{
	IndexEntry *entry = g_new0(IndexEntry, 1);
	uint32_t index;

	/* random, non-zero and unused: an index says nothing about the peers or their order */
	do
		index = wr_random_u32();
	while (index == 0 || g_hash_table_contains(self->index_table, GUINT_TO_POINTER(index)));
	entry->type = type;
	entry->peer = peer;
	entry->keypair = kp;
	g_hash_table_insert(self->index_table, GUINT_TO_POINTER(index), entry);
	return index;
}

static void
index_remove(WrDevice *self, uint32_t index)
{
	if (index != 0)
		g_hash_table_remove(self->index_table, GUINT_TO_POINTER(index));
}

static IndexEntry *
index_lookup(WrDevice *self, uint32_t index)
{
	return g_hash_table_lookup(self->index_table, GUINT_TO_POINTER(index));
}

/* takes a keypair out of service: nothing new finds it, in-flight users finish with it */
static void
keypair_drop(WrDevice *self, WrKeypair *kp)
{
	IndexEntry *entry;

	if (kp == NULL)
		return;
	entry = index_lookup(self, kp->local_index);
	if (entry != NULL && entry->keypair == kp)
		index_remove(self, kp->local_index);
	keypair_put(kp);
}

static void
handshake_clear(WrDevice *self, WrPeer *peer)
{
	index_remove(self, peer->handshake.local_index);
	peer->handshake.local_index = 0;
	wr_noise_handshake_clear(&peer->handshake);
}

static void
zero_key_material(WrDevice *self, WrPeer *peer)
{
	keypair_drop(self, peer->keypair_previous);
	keypair_drop(self, peer->keypair_current);
	keypair_drop(self, peer->keypair_next);
	peer->keypair_previous = peer->keypair_current = peer->keypair_next = NULL;
	handshake_clear(self, peer);
}

static bool
keypair_can_send(const WrDevice *self, const WrKeypair *kp, int64_t now)
{
	return kp != NULL && kp->sending_valid &&
	       now - kp->birthdate < self->timings.reject_after_time &&
	       kp->sending_counter < REJECT_AFTER_MESSAGES;
}

static bool
keypair_can_receive(const WrDevice *self, const WrKeypair *kp, int64_t now)
{
	return kp->receiving_valid && now - kp->birthdate < self->timings.reject_after_time &&
	       kp->replay.counter < REJECT_AFTER_MESSAGES;
}

/* a new session: the initiator uses it at once, the responder waits for the first packet */
static void
add_new_keypair(WrDevice *self, WrPeer *peer, WrKeypair *kp)
{
	if (kp->i_am_the_initiator) {
		if (peer->keypair_next != NULL) {
			keypair_drop(self, peer->keypair_previous);
			peer->keypair_previous = peer->keypair_next;
			peer->keypair_next = NULL;
			keypair_drop(self, peer->keypair_current);
		} else {
			keypair_drop(self, peer->keypair_previous);
			peer->keypair_previous = peer->keypair_current;
		}
		peer->keypair_current = kp;
	} else {
		keypair_drop(self, peer->keypair_next);
		peer->keypair_next = kp;
		keypair_drop(self, peer->keypair_previous);
		peer->keypair_previous = NULL;
	}
}

/* the first packet under the responder's new session confirms it */
static bool
received_with_keypair(WrDevice *self, WrPeer *peer, WrKeypair *kp)
{
	if (kp != peer->keypair_next)
		return false;
	keypair_drop(self, peer->keypair_previous);
	peer->keypair_previous = peer->keypair_current;
	peer->keypair_current = kp;
	peer->keypair_next = NULL;
	return true;
}

static bool
begin_session(WrDevice *self, WrPeer *peer, int64_t now)
{
	IndexEntry *entry;
	WrKeypair *kp;

	kp = wr_noise_derive_keypair(&peer->handshake, now);
	if (kp == NULL)
		return false;
	kp->peer = peer_ref(peer);
	/* the session takes over the handshake's index */
	entry = index_lookup(self, kp->local_index);
	if (entry != NULL) {
		entry->type = INDEX_KEYPAIR;
		entry->keypair = kp;
	}
	peer->handshake.local_index = 0;
	add_new_keypair(self, peer, kp);
	return true;
}

/* ---- the outbox ---- */

static void
outbox_push(WrDevice *self, WrDatagram *d)
{
	if (self->outbox.length >= WR_DEVICE_MAX_OUTBOX) {
		self->stats.drop_outbox_full++;
		wr_datagram_free(d);
		return;
	}
	g_queue_push_tail(&self->outbox, d);
	g_atomic_int_set(&self->outbox_len, (int) self->outbox.length);
}

/*
 * Roaming: the last authenticated source is where the peer is now.  Off, the endpoint is only
 * ever set from outside (wr_device_peer_set_endpoint), except that a peer with none at all
 * takes the source of its first authenticated packet, so that it can be answered.
 */
static void
roam(WrDevice *self, WrPeer *peer, const WrEndpoint *src)
{
	if (!self->no_roaming || peer->endpoint.sa.sa_family == AF_UNSPEC)
		peer->endpoint = *src;
}

static void
outbox_push_bytes(WrDevice *self, const WrEndpoint *to, const void *data, uint32_t len)
{
	WrDatagram *d;

	if (to->sa.sa_family == AF_UNSPEC) {
		self->stats.drop_no_endpoint++;
		return;
	}
	d = wr_datagram_new(len);
	memcpy(d->buf, data, len);
	d->len = len;
	d->endpoint = *to;
	outbox_push(self, d);
}

/* ---- transport data ---- */

static uint32_t
padded_len(uint32_t len, int mtu)
{
	uint32_t padded =
		(len + MESSAGE_PADDING_MULTIPLE - 1) & ~(uint32_t) (MESSAGE_PADDING_MULTIPLE - 1);

	if (mtu > 0 && padded > (uint32_t) mtu)
		padded = MAX(len, (uint32_t) mtu);
	return padded;
}

/* plain holds len bytes of IP packet with WR_PACKET_HEADROOM bytes before it and
 * WR_PACKET_TAILROOM after; returns the datagram's start, its length in *out_len */
static uint8_t *
encrypt_in_place(uint8_t *plain, uint32_t len, int mtu, const WrKeypair *kp, uint64_t counter,
		 uint32_t *out_len)
{
	struct wr_message_data *hdr = (struct wr_message_data *) (plain - MESSAGE_DATA_HEADER_LEN);
	uint32_t padded = padded_len(len, mtu);

	memset(plain + len, 0, padded - len);
	hdr->header.type = GUINT32_TO_LE(MESSAGE_DATA);
	hdr->key_idx = kp->remote_index;
	hdr->counter = GUINT64_TO_LE(counter);
	wr_aead_encrypt(plain, plain, padded, NULL, 0, counter, kp->sending_key);
	*out_len = MESSAGE_DATA_HEADER_LEN + padded + WR_AUTHTAG_LEN;
	return (uint8_t *) hdr;
}

/* version, addresses and the length the IP header claims; false when it is not a sane packet */
static bool
parse_ip(const uint8_t *p, uint32_t len, int *out_family, const uint8_t **out_src,
	 const uint8_t **out_dst, uint32_t *out_ip_len)
{
	uint32_t ip_len;

	if (len < 1)
		return false;
	switch (p[0] >> 4) {
	case 4:
		if (len < 20 || (p[0] & 0x0f) < 5)
			return false;
		ip_len = ((uint32_t) p[2] << 8) | p[3];
		if (ip_len < 20 || ip_len > len)
			return false;
		*out_family = AF_INET;
		*out_src = p + 12;
		*out_dst = p + 16;
		break;
	case 6:
		if (len < 40)
			return false;
		ip_len = 40 + (((uint32_t) p[4] << 8) | p[5]);
		if (ip_len > len)
			return false;
		*out_family = AF_INET6;
		*out_src = p + 8;
		*out_dst = p + 24;
		break;
	default:
		return false;
	}
	*out_ip_len = ip_len;
	return true;
}

static void
note_wake(WrDevice *self, WrPeer *peer);
static void
send_initiation(WrDevice *self, WrPeer *peer, bool is_retry, int64_t now);

/* sending side of keep_key_fresh: a session we started ages or wears out, so start another */
static void
keep_key_fresh_send(WrDevice *self, WrPeer *peer, const WrKeypair *kp, int64_t now)
{
	if (kp != NULL && kp->sending_valid &&
	    (kp->sending_counter > REKEY_AFTER_MESSAGES ||
	     (kp->i_am_the_initiator && now - kp->birthdate >= self->timings.rekey_after_time)))
		send_initiation(self, peer, false, now);
}

/* receiving side: if we started the current session and it nears the end of its life, rekey
 * once now rather than let it lapse while the other side waits on us.  The current session
 * decides, not the one the packet came on: a late packet on the previous session must not
 * start yet another handshake. */
static void
keep_key_fresh_receive(WrDevice *self, WrPeer *peer, int64_t now)
{
	const WrTimings *t = &self->timings;
	const WrKeypair *kp = peer->keypair_current;

	if (kp != NULL && kp->sending_valid && kp->i_am_the_initiator &&
	    !peer->timers.sent_lastminute_handshake &&
	    now - kp->birthdate >= t->reject_after_time - t->keepalive_timeout - t->rekey_timeout) {
		peer->timers.sent_lastminute_handshake = true;
		send_initiation(self, peer, false, now);
	}
}

/* bookkeeping for one authenticated data message (or keepalive) going out */
static void
account_sent(WrDevice *self, WrPeer *peer, uint32_t plain_len, uint32_t wire_len, int64_t now)
{
	peer->tx_bytes += wire_len;
	self->stats.tx_packets++;
	self->stats.tx_bytes += wire_len;
	if (plain_len > 0) {
		if (peer->timers.new_handshake == 0)
			wr_peer_timers_data_sent(peer, &self->timings, now, jitter(self));
	} else {
		self->stats.keepalives_sent++;
	}
	wr_peer_timers_any_authenticated_packet_sent(peer);
	wr_peer_timers_any_authenticated_packet_traversal(peer, now);
}

static void
stage_packet(WrDevice *self, WrPeer *peer, const uint8_t *ip, uint32_t len)
{
	WrDatagram *d;

	if (peer->staged.length >= MAX_STAGED_PACKETS) {
		wr_datagram_free(g_queue_pop_head(&peer->staged));
		self->stats.drop_staged_overflow++;
	}
	d = wr_datagram_new(WR_PACKET_HEADROOM + len + WR_PACKET_TAILROOM);
	if (len > 0)
		memcpy(d->buf + WR_PACKET_HEADROOM, ip, len);
	d->offset = WR_PACKET_HEADROOM;
	d->len = len;
	g_queue_push_tail(&peer->staged, d);
}

/* sends what waits for a session, or asks for one */
static void
send_staged(WrDevice *self, WrPeer *peer, int64_t now)
{
	WrKeypair *kp = peer->keypair_current;
	WrDatagram *d;

	if (peer->staged.length == 0)
		return;
	if (!keypair_can_send(self, kp, now) || peer->endpoint.sa.sa_family == AF_UNSPEC) {
		send_initiation(self, peer, false, now);
		return;
	}
	while ((d = g_queue_pop_head(&peer->staged)) != NULL) {
		uint32_t plain_len = d->len;
		uint32_t wire_len;
		uint8_t *wire;

		if (kp->sending_counter >= REJECT_AFTER_MESSAGES) {
			g_queue_push_head(&peer->staged, d);
			send_initiation(self, peer, false, now);
			break;
		}
		wire = encrypt_in_place(d->buf + d->offset, plain_len, self->mtu, kp,
					kp->sending_counter++, &wire_len);
		d->offset = (uint32_t) (wire - d->buf);
		d->len = wire_len;
		d->endpoint = peer->endpoint;
		account_sent(self, peer, plain_len, wire_len, now);
		outbox_push(self, d);
	}
	keep_key_fresh_send(self, peer, kp, now);
}

static void
send_keepalive(WrDevice *self, WrPeer *peer, int64_t now)
{
	if (peer->staged.length == 0)
		stage_packet(self, peer, NULL, 0);
	send_staged(self, peer, now);
}

/* ---- handshakes ---- */

static WrPeer *
peer_of_handshake(WrNoiseHandshake *hs)
{
	return (WrPeer *) ((char *) hs - offsetof(WrPeer, handshake));
}

static WrNoiseHandshake *
lookup_handshake_cb(const uint8_t remote_static[WR_KEY_LEN], void *user_data)
{
	WrDevice *self = user_data;
	WrPeer *peer = g_hash_table_lookup(self->peers_by_key, remote_static);

	return peer != NULL ? &peer->handshake : NULL;
}

static void
send_initiation(WrDevice *self, WrPeer *peer, bool is_retry, int64_t now)
{
	struct wr_message_handshake_initiation msg;
	uint8_t tai64n[WR_TIMESTAMP_LEN];

	if (!is_retry)
		peer->timers.handshake_attempts = 0;
	/* at most one initiation per REKEY_TIMEOUT */
	if (now - peer->last_sent_handshake < self->timings.rekey_timeout)
		return;
	peer->last_sent_handshake = now;

	wr_tai64n_from_realtime(tai64n, now + self->realtime_offset);
	if (!wr_noise_create_initiation(&peer->handshake, self->identity, tai64n,
					msg.unencrypted_ephemeral, msg.encrypted_static,
					msg.encrypted_timestamp))
		return;
	index_remove(self, peer->handshake.local_index);
	peer->handshake.local_index = index_insert(self, INDEX_HANDSHAKE, peer, NULL);

	msg.header.type = GUINT32_TO_LE(MESSAGE_HANDSHAKE_INITIATION);
	msg.sender_index = peer->handshake.local_index;
	wr_cookie_add_macs(&peer->cookie, (uint8_t *) &msg, sizeof(msg), now);

	wr_peer_timers_any_authenticated_packet_traversal(peer, now);
	wr_peer_timers_any_authenticated_packet_sent(peer);
	/* the receiver counts handshake messages in its rx_bytes, so they count here too */
	if (peer->endpoint.sa.sa_family != AF_UNSPEC) {
		self->stats.handshakes_sent++;
		peer->tx_bytes += sizeof(msg);
	}
	outbox_push_bytes(self, &peer->endpoint, &msg, sizeof(msg));
	wr_peer_timers_handshake_initiated(peer, &self->timings, now, jitter(self));
	note_wake(self, peer);
}

static void
send_response(WrDevice *self, WrPeer *peer, int64_t now)
{
	struct wr_message_handshake_response msg;

	peer->last_sent_handshake = now;
	if (!wr_noise_create_response(&peer->handshake, self->identity, msg.unencrypted_ephemeral,
				      msg.encrypted_nothing))
		return;
	index_remove(self, peer->handshake.local_index);
	peer->handshake.local_index = index_insert(self, INDEX_HANDSHAKE, peer, NULL);

	msg.header.type = GUINT32_TO_LE(MESSAGE_HANDSHAKE_RESPONSE);
	msg.sender_index = peer->handshake.local_index;
	msg.receiver_index = peer->handshake.remote_index;
	wr_cookie_add_macs(&peer->cookie, (uint8_t *) &msg, sizeof(msg), now);

	if (!begin_session(self, peer, now))
		return;
	wr_peer_timers_session_derived(peer, &self->timings, now);
	wr_peer_timers_any_authenticated_packet_traversal(peer, now);
	wr_peer_timers_any_authenticated_packet_sent(peer);
	self->stats.handshakes_sent++;
	peer->tx_bytes += sizeof(msg);
	outbox_push_bytes(self, &peer->endpoint, &msg, sizeof(msg));
}

static void
send_cookie_reply(WrDevice *self, const QueuedHandshake *q, uint32_t sender_index, int64_t now)
{
	struct wr_message_handshake_cookie reply;

	wr_cookie_create_reply(&self->cookie_checker, &reply, q->data, q->len, sender_index,
			       &q->src, now);
	self->stats.cookie_replies_sent++;
	outbox_push_bytes(self, &q->src, &reply, sizeof(reply));
}

static bool
under_load(WrDevice *self, int64_t now)
{
	bool load = self->force_under_load ||
		    self->handshake_queue.length >= MAX_QUEUED_INCOMING_HANDSHAKES / 8;

	/* once loaded, stay strict for a second so a pulsed flood gains nothing */
	if (load) {
		self->last_under_load = now;
	} else if (self->last_under_load != 0) {
		load = now - self->last_under_load < WR_USEC_PER_SEC;
		if (!load)
			self->last_under_load = 0;
	}
	return load;
}

static void
process_handshake(WrDevice *self, const QueuedHandshake *q, int64_t now)
{
	uint32_t type = GUINT32_FROM_LE(((const struct wr_message_header *) q->data)->type);
	WrCookieMacState mac_state;
	bool needs_cookie;
	bool load;
	WrPeer *peer = NULL;

	if (type == MESSAGE_HANDSHAKE_COOKIE) {
		const struct wr_message_handshake_cookie *msg = (const void *) q->data;
		IndexEntry *entry = index_lookup(self, msg->receiver_index);

		if (entry == NULL || !wr_cookie_consume_reply(&entry->peer->cookie, msg, now))
			self->stats.drop_handshake_invalid++;
		return;
	}

	load = under_load(self, now);
	mac_state = wr_cookie_validate(&self->cookie_checker, q->data, q->len, load, &q->src,
				       self->ratelimiter, now);
	if ((load && mac_state == COOKIE_VALID_MAC_WITH_COOKIE) ||
	    (!load && mac_state == COOKIE_VALID_MAC_BUT_NO_COOKIE)) {
		needs_cookie = false;
	} else if (load && mac_state == COOKIE_VALID_MAC_BUT_NO_COOKIE) {
		needs_cookie = true;
	} else {
		self->stats.drop_handshake_invalid++;
		return;
	}

	if (type == MESSAGE_HANDSHAKE_INITIATION) {
		const struct wr_message_handshake_initiation *msg = (const void *) q->data;
		WrNoiseHandshake *hs;

		if (needs_cookie) {
			send_cookie_reply(self, q, msg->sender_index, now);
			return;
		}
		hs = wr_noise_consume_initiation(self->identity, msg->sender_index,
						 msg->unencrypted_ephemeral, msg->encrypted_static,
						 msg->encrypted_timestamp, lookup_handshake_cb,
						 self, now);
		if (hs == NULL) {
			self->stats.drop_handshake_invalid++;
			return;
		}
		peer = peer_of_handshake(hs);
		roam(self, peer, &q->src);
		send_response(self, peer, now);
	} else {
		const struct wr_message_handshake_response *msg = (const void *) q->data;
		IndexEntry *entry;

		if (needs_cookie) {
			send_cookie_reply(self, q, msg->sender_index, now);
			return;
		}
		entry = index_lookup(self, msg->receiver_index);
		if (entry == NULL || entry->type != INDEX_HANDSHAKE ||
		    !wr_noise_consume_response(&entry->peer->handshake, self->identity,
					       msg->sender_index, msg->unencrypted_ephemeral,
					       msg->encrypted_nothing)) {
			self->stats.drop_handshake_invalid++;
			return;
		}
		peer = entry->peer;
		roam(self, peer, &q->src);
		if (begin_session(self, peer, now)) {
			wr_peer_timers_session_derived(peer, &self->timings, now);
			wr_peer_timers_handshake_complete(peer, now + self->realtime_offset);
			self->stats.handshakes_completed++;
			/* sends what was staged, or a keepalive to confirm the session at once */
			send_keepalive(self, peer, now);
		}
	}
	peer->rx_bytes += q->len;
	wr_peer_timers_any_authenticated_packet_received(peer);
	wr_peer_timers_any_authenticated_packet_traversal(peer, now);
}

/* ---- the data path ---- */

static void
note_wake(WrDevice *self, WrPeer *peer)
{
	if (wr_peer_timers_next(peer) < self->planned_wake)
		g_atomic_int_set(&self->wake, 1);
}

void
wr_device_feed_ip_packets(WrDevice *self, WrPacket *pkts, unsigned int n, int64_t now)
{
	int mtu;

	g_mutex_lock(&self->lock);
	mtu = self->mtu;
	for (unsigned int i = 0; i < n; i++) {
		WrPacket *pkt = &pkts[i];
		const uint8_t *src, *dst;
		uint32_t ip_len;
		int family;
		WrPeer *peer;
		WrKeypair *kp;

		pkt->priv_keypair = NULL;
		if (!parse_ip(pkt->data, pkt->len, &family, &src, &dst, &ip_len)) {
			self->stats.drop_bad_inner++;
			pkt->verdict = WR_VERDICT_DROP;
			continue;
		}
		peer = wr_allowedips_lookup(self->allowedips, family, dst);
		if (peer == NULL) {
			self->stats.drop_no_route++;
			pkt->verdict = WR_VERDICT_DROP;
			continue;
		}
		if (peer->endpoint.sa.sa_family == AF_UNSPEC) {
			self->stats.drop_no_endpoint++;
			pkt->verdict = WR_VERDICT_DROP;
			continue;
		}
		kp = peer->keypair_current;
		if (peer->staged.length > 0 || !keypair_can_send(self, kp, now)) {
			/* no session yet: keep the packet and ask for one */
			stage_packet(self, peer, pkt->data, pkt->len);
			pkt->verdict = WR_VERDICT_CONSUMED;
			send_staged(self, peer, now);
			continue;
		}
		pkt->priv_keypair = wr_keypair_ref(kp);
		pkt->priv_counter = kp->sending_counter++;
		pkt->endpoint = peer->endpoint;
		pkt->verdict = WR_VERDICT_SEND;
		account_sent(self, peer, pkt->len,
			     MESSAGE_DATA_HEADER_LEN + padded_len(pkt->len, mtu) + WR_AUTHTAG_LEN,
			     now);
		keep_key_fresh_send(self, peer, kp, now);
		note_wake(self, peer);
	}
	g_mutex_unlock(&self->lock);

	for (unsigned int i = 0; i < n; i++) {
		WrPacket *pkt = &pkts[i];
		WrKeypair *kp = pkt->priv_keypair;

		if (kp == NULL)
			continue;
		pkt->data = encrypt_in_place(pkt->data, pkt->len, mtu, kp, pkt->priv_counter,
					     &pkt->len);
		pkt->priv_keypair = NULL;
		keypair_put(kp);
	}
}

static void
queue_handshake(WrDevice *self, WrPacket *pkt)
{
	QueuedHandshake *q;

	if (self->handshake_queue.length >= MAX_QUEUED_INCOMING_HANDSHAKES) {
		self->stats.drop_handshake_queue_full++;
		pkt->verdict = WR_VERDICT_DROP;
		return;
	}
	q = g_new(QueuedHandshake, 1);
	q->src = pkt->endpoint;
	q->len = pkt->len;
	memcpy(q->data, pkt->data, pkt->len);
	g_queue_push_tail(&self->handshake_queue, q);
	g_atomic_int_set(&self->wake, 1);
	pkt->verdict = WR_VERDICT_CONSUMED;
}

/* phase three of an inbound data message, under the lock */
static void
receive_data(WrDevice *self, WrPacket *pkt, WrKeypair *kp, int64_t now)
{
	WrPeer *peer = kp->peer;
	uint32_t wire_len = pkt->len;
	uint32_t plain_len = wire_len - MESSAGE_MINIMUM_LENGTH;
	uint8_t *plain = pkt->data + MESSAGE_DATA_HEADER_LEN;
	const uint8_t *src, *dst;
	uint32_t ip_len;
	int family;

	pkt->verdict = WR_VERDICT_DROP;
	if (!wr_replay_check(&kp->replay, pkt->priv_counter)) {
		self->stats.drop_replay++;
		return;
	}
	if (peer == NULL || peer->is_dead) {
		self->stats.drop_unknown_index++;
		return;
	}
	if (received_with_keypair(self, peer, kp)) {
		wr_peer_timers_handshake_complete(peer, now + self->realtime_offset);
		self->stats.handshakes_completed++;
		send_staged(self, peer, now);
	}
	keep_key_fresh_receive(self, peer, now);
	wr_peer_timers_any_authenticated_packet_received(peer);
	wr_peer_timers_any_authenticated_packet_traversal(peer, now);
	roam(self, peer, &pkt->endpoint);
	peer->rx_bytes += wire_len;
	self->stats.rx_packets++;
	self->stats.rx_bytes += wire_len;

	if (plain_len == 0) {
		/* a keepalive */
		pkt->verdict = WR_VERDICT_CONSUMED;
		note_wake(self, peer);
		return;
	}
	wr_peer_timers_data_received(peer, &self->timings, now);
	note_wake(self, peer);

	if (!parse_ip(plain, plain_len, &family, &src, &dst, &ip_len) ||
	    wr_allowedips_lookup(self->allowedips, family, src) != peer) {
		self->stats.drop_bad_inner++;
		return;
	}
	pkt->data = plain;
	pkt->len = ip_len;
	pkt->verdict = WR_VERDICT_TUN;
}

void
wr_device_feed_datagrams(WrDevice *self, WrPacket *pkts, unsigned int n, int64_t now)
{
	bool any_data = false;

	g_mutex_lock(&self->lock);
	for (unsigned int i = 0; i < n; i++) {
		WrPacket *pkt = &pkts[i];
		uint32_t type;

		pkt->priv_keypair = NULL;
		pkt->verdict = WR_VERDICT_DROP;
		if (pkt->len < sizeof(struct wr_message_header)) {
			self->stats.drop_invalid_message++;
			continue;
		}
		memcpy(&type, pkt->data, sizeof(type));
		type = GUINT32_FROM_LE(type);
		switch (type) {
		case MESSAGE_HANDSHAKE_INITIATION:
		case MESSAGE_HANDSHAKE_RESPONSE:
		case MESSAGE_HANDSHAKE_COOKIE: {
			size_t want = type == MESSAGE_HANDSHAKE_INITIATION
					      ? sizeof(struct wr_message_handshake_initiation)
				      : type == MESSAGE_HANDSHAKE_RESPONSE
					      ? sizeof(struct wr_message_handshake_response)
					      : sizeof(struct wr_message_handshake_cookie);
			if (pkt->len != want) {
				self->stats.drop_invalid_message++;
				break;
			}
			queue_handshake(self, pkt);
			break;
		}
		case MESSAGE_DATA: {
			const struct wr_message_data *hdr = (const void *) pkt->data;
			IndexEntry *entry;

			if (pkt->len < MESSAGE_MINIMUM_LENGTH) {
				self->stats.drop_invalid_message++;
				break;
			}
			entry = index_lookup(self, hdr->key_idx);
			if (entry == NULL || entry->type != INDEX_KEYPAIR ||
			    !keypair_can_receive(self, entry->keypair, now)) {
				self->stats.drop_unknown_index++;
				break;
			}
			pkt->priv_keypair = wr_keypair_ref(entry->keypair);
			pkt->priv_counter = GUINT64_FROM_LE(hdr->counter);
			pkt->verdict = WR_VERDICT_NONE;
			any_data = true;
			break;
		}
		default:
			self->stats.drop_invalid_message++;
			break;
		}
	}
	g_mutex_unlock(&self->lock);

	if (!any_data)
		return;

	for (unsigned int i = 0; i < n; i++) {
		WrPacket *pkt = &pkts[i];
		WrKeypair *kp = pkt->priv_keypair;
		uint8_t *cipher = pkt->data + MESSAGE_DATA_HEADER_LEN;

		if (kp == NULL)
			continue;
		if (!wr_aead_decrypt(cipher, cipher, pkt->len - MESSAGE_DATA_HEADER_LEN, NULL, 0,
				     pkt->priv_counter, kp->receiving_key))
			pkt->verdict = WR_VERDICT_DROP;
	}

	g_mutex_lock(&self->lock);
	for (unsigned int i = 0; i < n; i++) {
		WrPacket *pkt = &pkts[i];
		WrKeypair *kp = pkt->priv_keypair;

		if (kp == NULL)
			continue;
		if (pkt->verdict == WR_VERDICT_DROP)
			self->stats.drop_decrypt_failed++;
		else
			receive_data(self, pkt, kp, now);
		pkt->priv_keypair = NULL;
		keypair_put(kp);
	}
	g_mutex_unlock(&self->lock);
}

/* ---- the control path ---- */

static void
peer_expired_timers(WrDevice *self, WrPeer *peer, unsigned int expired, int64_t now)
{
	if (expired & WR_TIMER_RETRANSMIT_HANDSHAKE) {
		if (peer->timers.handshake_attempts > self->timings.max_timer_handshakes) {
			/* REKEY_ATTEMPT_TIME passed without an answer: give up until there is
			 * traffic again, and forget the keys in a while */
			peer->timers.send_keepalive = 0;
			g_queue_clear_full(&peer->staged, (GDestroyNotify) wr_datagram_free);
			if (peer->timers.zero_key_material == 0)
				peer->timers.zero_key_material =
					now + self->timings.reject_after_time * 3;
		} else {
			peer->timers.handshake_attempts++;
			send_initiation(self, peer, true, now);
		}
	}
	if (expired & WR_TIMER_SEND_KEEPALIVE) {
		send_keepalive(self, peer, now);
		if (peer->timers.need_another_keepalive) {
			peer->timers.need_another_keepalive = false;
			peer->timers.send_keepalive = now + self->timings.keepalive_timeout;
		}
	}
	if (expired & WR_TIMER_NEW_HANDSHAKE)
		/* we sent data and heard nothing for KEEPALIVE + REKEY_TIMEOUT */
		send_initiation(self, peer, false, now);
	if (expired & WR_TIMER_ZERO_KEY_MATERIAL)
		zero_key_material(self, peer);
	if ((expired & WR_TIMER_PERSISTENT_KEEPALIVE) && peer->persistent_keepalive_interval != 0)
		send_keepalive(self, peer, now);
}

int64_t
wr_device_tick(WrDevice *self, int64_t now, int64_t realtime)
{
	QueuedHandshake *q;
	int64_t next = INT64_MAX;

	g_mutex_lock(&self->lock);
	self->realtime_offset = realtime - now;
	g_atomic_int_set(&self->wake, 0);
	g_mutex_unlock(&self->lock);

	/* one handshake per lock hold, so the data path is never stalled behind a queue of DHs */
	for (;;) {
		g_mutex_lock(&self->lock);
		q = g_queue_pop_head(&self->handshake_queue);
		if (q != NULL)
			process_handshake(self, q, now);
		g_mutex_unlock(&self->lock);
		if (q == NULL)
			break;
		g_free(q);
	}

	g_mutex_lock(&self->lock);
	for (guint i = 0; i < self->peers->len; i++) {
		WrPeer *peer = g_ptr_array_index(self->peers, i);
		unsigned int expired = wr_peer_timers_expire(peer, now);

		if (expired != 0)
			peer_expired_timers(self, peer, expired, now);
		next = MIN(next, wr_peer_timers_next(peer));
	}
	wr_ratelimiter_gc(self->ratelimiter, now);
	if (self->handshake_queue.length > 0)
		next = now;
	self->planned_wake = next;
	g_mutex_unlock(&self->lock);
	return next;
}

bool
wr_device_take_wake(WrDevice *self)
{
	return g_atomic_int_exchange(&self->wake, 0) != 0;
}

void
wr_device_take_outgoing(WrDevice *self, GQueue *out)
{
	WrDatagram *d;

	g_mutex_lock(&self->lock);
	while ((d = g_queue_pop_head(&self->outbox)) != NULL)
		g_queue_push_tail(out, d);
	g_atomic_int_set(&self->outbox_len, 0);
	g_mutex_unlock(&self->lock);
}

bool
wr_device_has_outgoing(WrDevice *self)
{
	return g_atomic_int_get(&self->outbox_len) > 0;
}

/* ---- configuration ---- */

static WrPeer *
peer_new(WrDevice *self, const uint8_t public_key[WR_KEY_LEN], int64_t now)
{
	WrPeer *peer = wr_secure_alloc(sizeof(*peer));

	memset(peer, 0, sizeof(*peer));
	peer->refcount = 1;
	peer->serial = self->next_serial++;
	memcpy(peer->public_key, public_key, WR_KEY_LEN);
	wr_noise_handshake_init(&peer->handshake, self->identity, public_key, NULL);
	wr_cookie_maker_init(&peer->cookie, public_key);
	peer->endpoint.sa.sa_family = AF_UNSPEC;
	/* "long ago", so the first initiation is not rate limited */
	peer->last_sent_handshake = now - self->timings.rekey_timeout - 1;
	g_queue_init(&peer->staged);
	g_hash_table_insert(self->peers_by_key, peer->public_key, peer);
	g_ptr_array_add(self->peers, peer);
	return peer;
}

static void
peer_remove(WrDevice *self, WrPeer *peer)
{
	WrKeypair *slots[] = {peer->keypair_previous, peer->keypair_current, peer->keypair_next};

	peer->is_dead = true;
	g_hash_table_remove(self->peers_by_key, peer->public_key);
	g_ptr_array_remove(self->peers, peer);
	wr_allowedips_remove_by_peer(self->allowedips, peer);
	wr_peer_timers_stop(peer);
	for (guint i = 0; i < G_N_ELEMENTS(slots); i++) {
		if (slots[i] != NULL)
			slots[i]->sending_valid = slots[i]->receiving_valid = false;
	}
	zero_key_material(self, peer);
	g_queue_clear_full(&peer->staged, (GDestroyNotify) wr_datagram_free);
	peer_unref(peer);
}

static void
set_private_key(WrDevice *self, const uint8_t private_key[WR_KEY_LEN], bool keep_sessions)
{
	uint8_t public_key[WR_KEY_LEN];
	WrPeer *same;

	if (self->identity->has_identity &&
	    wr_memeq(self->identity->private_key, private_key, WR_KEY_LEN))
		return;

	/* a peer with our own new public key cannot exist: remove it first */
	if (wr_x25519_public(public_key, private_key)) {
		same = g_hash_table_lookup(self->peers_by_key, public_key);
		if (same != NULL)
			peer_remove(self, same);
	}
	if (wr_is_zero(private_key, WR_KEY_LEN))
		wr_noise_static_clear(self->identity);
	else
		wr_noise_static_set_private(self->identity, private_key);
	wr_cookie_checker_init(&self->cookie_checker,
			       self->identity->has_identity ? self->identity->public_key : NULL);

	/* sessions made with the old key may still be read, but nothing new is sent on them
	 * (unless keep_sessions: their keys do not depend on the static key any more, and the
	 * peer authenticated us when they were made) */
	for (guint i = 0; i < self->peers->len; i++) {
		WrPeer *peer = g_ptr_array_index(self->peers, i);

		index_remove(self, peer->handshake.local_index);
		peer->handshake.local_index = 0;
		wr_noise_handshake_set_local(&peer->handshake, self->identity);
		if (keep_sessions)
			continue;
		if (peer->keypair_current != NULL)
			peer->keypair_current->sending_valid = false;
		if (peer->keypair_next != NULL)
			peer->keypair_next->sending_valid = false;
	}
	wr_memzero(public_key, sizeof(public_key));
}

static bool
is_own_key(WrDevice *self, const uint8_t public_key[WR_KEY_LEN])
{
	return self->identity->has_identity &&
	       memcmp(self->identity->public_key, public_key, WR_KEY_LEN) == 0;
}

int
wr_device_apply(WrDevice *self, const WrUapiSet *set, int64_t now)
{
	guint n_new = 0;

	g_mutex_lock(&self->lock);

	/* validate: the only thing the parser cannot know is how many peers there will be */
	for (guint i = 0; set->peers != NULL && i < set->peers->len; i++) {
		const WrUapiPeer *p = g_ptr_array_index(set->peers, i);

		if (!p->remove && !p->update_only &&
		    (set->replace_peers ||
		     !g_hash_table_contains(self->peers_by_key, p->public_key)))
			n_new++;
	}
	if ((set->replace_peers ? 0 : self->peers->len) + n_new > MAX_PEERS_PER_DEVICE) {
		g_mutex_unlock(&self->lock);
		return ENOSPC;
	}

	if (set->has_private_key)
		set_private_key(self, set->private_key, set->keep_sessions);
	if (set->has_listen_port)
		self->listen_port = set->listen_port;
	if (set->has_fwmark)
		self->fwmark = set->fwmark;
	if (set->replace_peers) {
		while (self->peers->len > 0)
			peer_remove(self, g_ptr_array_index(self->peers, self->peers->len - 1));
	}

	for (guint i = 0; set->peers != NULL && i < set->peers->len; i++) {
		const WrUapiPeer *p = g_ptr_array_index(set->peers, i);
		WrPeer *peer = g_hash_table_lookup(self->peers_by_key, p->public_key);
		uint16_t old_keepalive;

		/* like the kernel, silently skip a peer with our own key so one config can
		 * be applied to every machine */
		if (is_own_key(self, p->public_key))
			continue;
		if (p->remove) {
			if (peer != NULL)
				peer_remove(self, peer);
			continue;
		}
		if (peer == NULL) {
			if (p->update_only)
				continue;
			peer = peer_new(self, p->public_key, now);
		}
		if (p->has_preshared_key) {
			bool none = wr_is_zero(p->preshared_key, sizeof(p->preshared_key));

			wr_noise_handshake_set_preshared_key(&peer->handshake,
							     none ? NULL : p->preshared_key);
		}
		if (p->has_endpoint)
			peer->endpoint = p->endpoint;
		if (p->replace_allowed_ips)
			wr_allowedips_remove_by_peer(self->allowedips, peer);
		for (guint j = 0; p->allowed_ips != NULL && j < p->allowed_ips->len; j++) {
			const WrCidr *c = &g_array_index(p->allowed_ips, WrCidr, j);

			(void) wr_allowedips_insert(self->allowedips, c->family, c->addr, c->cidr,
						    peer);
		}
		old_keepalive = peer->persistent_keepalive_interval;
		if (p->has_persistent_keepalive)
			peer->persistent_keepalive_interval = p->persistent_keepalive;
		/* turning persistent keepalive on sends one at once, which also starts the
		 * handshake, as wg users expect from `wg set ... persistent-keepalive 25` */
		if (old_keepalive == 0 && peer->persistent_keepalive_interval != 0 &&
		    peer->endpoint.sa.sa_family != AF_UNSPEC && self->identity->has_identity)
			send_keepalive(self, peer, now);
	}
	g_atomic_int_set(&self->wake, 1);
	g_mutex_unlock(&self->lock);
	return 0;
}

static void
add_allowed_ip_cb(int family, const uint8_t *addr, uint8_t cidr, void *user_data)
{
	GArray *array = user_data;
	WrCidr c = {.family = (uint8_t) family, .cidr = cidr};

	memcpy(c.addr, addr, family == AF_INET ? 4 : 16);
	g_array_append_val(array, c);
}

void
wr_device_get_info(WrDevice *self, WrUapiDeviceInfo *info)
{
	g_mutex_lock(&self->lock);
	info->has_private_key = self->identity->has_identity;
	if (info->has_private_key)
		memcpy(info->private_key, self->identity->private_key, WR_KEY_LEN);
	info->listen_port = self->listen_port;
	info->fwmark = self->fwmark;
	for (guint i = 0; i < self->peers->len; i++) {
		WrPeer *peer = g_ptr_array_index(self->peers, i);
		WrUapiPeerInfo *p = wr_uapi_device_info_add_peer(info);

		memcpy(p->public_key, peer->public_key, WR_KEY_LEN);
		p->has_preshared_key = !wr_is_zero(peer->handshake.preshared_key, WR_KEY_LEN);
		if (p->has_preshared_key)
			memcpy(p->preshared_key, peer->handshake.preshared_key, WR_KEY_LEN);
		p->endpoint = peer->endpoint;
		if (peer->walltime_last_handshake != 0) {
			p->last_handshake_sec = peer->walltime_last_handshake / WR_USEC_PER_SEC;
			p->last_handshake_nsec =
				(peer->walltime_last_handshake % WR_USEC_PER_SEC) * 1000;
		}
		p->rx_bytes = peer->rx_bytes;
		p->tx_bytes = peer->tx_bytes;
		p->persistent_keepalive = peer->persistent_keepalive_interval;
		wr_allowedips_foreach_by_peer(self->allowedips, peer, add_allowed_ip_cb,
					      p->allowed_ips);
	}
	g_mutex_unlock(&self->lock);
}

uint16_t
wr_device_get_listen_port(WrDevice *self)
{
	uint16_t port;

	g_mutex_lock(&self->lock);
	port = self->listen_port;
	g_mutex_unlock(&self->lock);
	return port;
}

void
wr_device_set_listen_port(WrDevice *self, uint16_t port)
{
	g_mutex_lock(&self->lock);
	self->listen_port = port;
	g_mutex_unlock(&self->lock);
}

uint32_t
wr_device_get_fwmark(WrDevice *self)
{
	uint32_t fwmark;

	g_mutex_lock(&self->lock);
	fwmark = self->fwmark;
	g_mutex_unlock(&self->lock);
	return fwmark;
}

bool
wr_device_get_public_key(WrDevice *self, uint8_t out[WR_KEY_LEN])
{
	bool ret;

	g_mutex_lock(&self->lock);
	ret = self->identity->has_identity;
	if (ret)
		memcpy(out, self->identity->public_key, WR_KEY_LEN);
	g_mutex_unlock(&self->lock);
	return ret;
}

guint
wr_device_get_n_peers(WrDevice *self)
{
	guint n;

	g_mutex_lock(&self->lock);
	n = self->peers->len;
	g_mutex_unlock(&self->lock);
	return n;
}

void
wr_device_set_mtu(WrDevice *self, int mtu)
{
	g_mutex_lock(&self->lock);
	self->mtu = mtu > 0 ? mtu : DEFAULT_MTU;
	g_mutex_unlock(&self->lock);
}

void
wr_device_get_stats(WrDevice *self, WrDeviceStats *out)
{
	g_mutex_lock(&self->lock);
	*out = self->stats;
	g_mutex_unlock(&self->lock);
}

bool
wr_device_peer_has_session(WrDevice *self, const uint8_t public_key[WR_KEY_LEN])
{
	WrPeer *peer;
	bool ret;

	g_mutex_lock(&self->lock);
	peer = g_hash_table_lookup(self->peers_by_key, public_key);
	ret = peer != NULL && peer->keypair_current != NULL && peer->keypair_current->sending_valid;
	g_mutex_unlock(&self->lock);
	return ret;
}

bool
wr_device_peer_get_endpoint(WrDevice *self, const uint8_t public_key[WR_KEY_LEN], WrEndpoint *out)
{
	WrPeer *peer;

	g_mutex_lock(&self->lock);
	peer = g_hash_table_lookup(self->peers_by_key, public_key);
	if (peer != NULL)
		*out = peer->endpoint;
	g_mutex_unlock(&self->lock);
	return peer != NULL;
}

bool
wr_device_peer_set_endpoint(WrDevice *self, const uint8_t public_key[WR_KEY_LEN],
			    const WrEndpoint *endpoint)
{
	WrPeer *peer;

	g_mutex_lock(&self->lock);
	peer = g_hash_table_lookup(self->peers_by_key, public_key);
	if (peer != NULL)
		peer->endpoint = *endpoint;
	g_mutex_unlock(&self->lock);
	return peer != NULL;
}

bool
wr_device_peer_kick_handshake(WrDevice *self, const uint8_t public_key[WR_KEY_LEN], int64_t now)
{
	WrPeer *peer;
	bool kicked = false;

	g_mutex_lock(&self->lock);
	peer = g_hash_table_lookup(self->peers_by_key, public_key);
	if (peer != NULL && peer->staged.length > 0 && peer->endpoint.sa.sa_family != AF_UNSPEC &&
	    !keypair_can_send(self, peer->keypair_current, now)) {
		/* the last initiation went the old way: it does not count for the rate limit */
		peer->last_sent_handshake = now - self->timings.rekey_timeout - 1;
		send_initiation(self, peer, false, now);
		kicked = true;
	}
	g_mutex_unlock(&self->lock);
	return kicked;
}

void
wr_device_set_roaming(WrDevice *self, bool roaming)
{
	g_mutex_lock(&self->lock);
	self->no_roaming = !roaming;
	g_mutex_unlock(&self->lock);
}

void
wr_device_set_force_under_load(WrDevice *self, bool load)
{
	g_mutex_lock(&self->lock);
	self->force_under_load = load;
	g_mutex_unlock(&self->lock);
}

WrDevice *
wr_device_new(const WrTimings *timings)
{
	WrDevice *self = g_new0(WrDevice, 1);

	g_mutex_init(&self->lock);
	if (timings != NULL)
		self->timings = *timings;
	else
		wr_timings_init(&self->timings, 1);
	self->identity = wr_secure_alloc(sizeof(*self->identity));
	wr_noise_static_clear(self->identity);
	wr_cookie_checker_init(&self->cookie_checker, NULL);
	self->ratelimiter = wr_ratelimiter_new();
	self->peers_by_key = g_hash_table_new(wr_key_hash, wr_key_equal);
	self->peers = g_ptr_array_new();
	self->index_table = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	self->allowedips = wr_allowedips_new();
	self->mtu = DEFAULT_MTU;
	self->planned_wake = INT64_MAX;
	g_queue_init(&self->handshake_queue);
	g_queue_init(&self->outbox);
	return self;
}

void
wr_device_free(WrDevice *self)
{
	if (self == NULL)
		return;
	while (self->peers->len > 0)
		peer_remove(self, g_ptr_array_index(self->peers, self->peers->len - 1));
	g_queue_clear_full(&self->handshake_queue, g_free);
	g_queue_clear_full(&self->outbox, (GDestroyNotify) wr_datagram_free);
	wr_allowedips_free(self->allowedips);
	g_hash_table_unref(self->index_table);
	g_ptr_array_unref(self->peers);
	g_hash_table_unref(self->peers_by_key);
	wr_ratelimiter_free(self->ratelimiter);
	wr_secure_free(self->identity);
	wr_memzero(&self->cookie_checker, sizeof(self->cookie_checker));
	g_mutex_clear(&self->lock);
	g_free(self);
}
