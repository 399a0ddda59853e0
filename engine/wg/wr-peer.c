/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The timer state machine of a peer, after the kernel's timers.c: each protocol event moves
 * a deadline, and the device acts on the deadlines that pass (wr-device.c, tick()).
 *
 *   retransmit_handshake  REKEY_TIMEOUT + jitter after an initiation; gives up after
 *                         MAX_TIMER_HANDSHAKES attempts (REKEY_ATTEMPT_TIME)
 *   send_keepalive        KEEPALIVE_TIMEOUT after data arrived with nothing sent back
 *   new_handshake         KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + jitter after data was sent
 *                         with nothing heard back
 *   zero_key_material     REJECT_AFTER_TIME * 3 after a session was derived
 *   persistent_keepalive  the configured interval after any authenticated packet
 */

#define G_LOG_DOMAIN "WrPeer"

#include "config.h"

#include "wr-peer.h"

void
wr_timings_init(WrTimings *self, unsigned int scale)
{
	if (scale == 0)
		scale = 1;
	self->rekey_timeout = REKEY_TIMEOUT * WR_USEC_PER_SEC / scale;
	self->keepalive_timeout = KEEPALIVE_TIMEOUT * WR_USEC_PER_SEC / scale;
	self->rekey_after_time = REKEY_AFTER_TIME * WR_USEC_PER_SEC / scale;
	self->reject_after_time = REJECT_AFTER_TIME * WR_USEC_PER_SEC / scale;
	self->rekey_attempt_time = REKEY_ATTEMPT_TIME * WR_USEC_PER_SEC / scale;
	self->jitter_max = REKEY_TIMEOUT_JITTER_MAX_USEC / scale;
	self->max_timer_handshakes = MAX_TIMER_HANDSHAKES;
}

WrDatagram *
wr_datagram_new(uint32_t capacity)
{
	WrDatagram *d = g_malloc(sizeof(*d) + capacity);

	d->endpoint.sa.sa_family = AF_UNSPEC;
	d->len = 0;
	d->offset = 0;
	d->capacity = capacity;
	return d;
}

void
wr_datagram_free(WrDatagram *d)
{
	g_free(d);
}

/* 0 means "not pending"; a deadline that computes to 0 is nudged so it stays pending */
static void
mod_timer(int64_t *deadline, int64_t when)
{
	*deadline = when != 0 ? when : 1;
}

static bool
timer_pending(int64_t deadline)
{
	return deadline != 0;
}

void
wr_peer_timers_data_sent(WrPeer *peer, const WrTimings *t, int64_t now, int64_t jitter)
{
	if (!timer_pending(peer->timers.new_handshake))
		mod_timer(&peer->timers.new_handshake,
			  now + t->keepalive_timeout + t->rekey_timeout + jitter);
}

void
wr_peer_timers_data_received(WrPeer *peer, const WrTimings *t, int64_t now)
{
	if (!timer_pending(peer->timers.send_keepalive))
		mod_timer(&peer->timers.send_keepalive, now + t->keepalive_timeout);
	else
		peer->timers.need_another_keepalive = true;
}

void
wr_peer_timers_any_authenticated_packet_sent(WrPeer *peer)
{
	peer->timers.send_keepalive = 0;
}

void
wr_peer_timers_any_authenticated_packet_received(WrPeer *peer)
{
	peer->timers.new_handshake = 0;
}

void
wr_peer_timers_handshake_initiated(WrPeer *peer, const WrTimings *t, int64_t now, int64_t jitter)
{
	mod_timer(&peer->timers.retransmit_handshake, now + t->rekey_timeout + jitter);
}

void
wr_peer_timers_handshake_complete(WrPeer *peer, int64_t realtime)
{
	peer->timers.retransmit_handshake = 0;
	peer->timers.handshake_attempts = 0;
	peer->timers.sent_lastminute_handshake = false;
	peer->walltime_last_handshake = realtime;
}

void
wr_peer_timers_session_derived(WrPeer *peer, const WrTimings *t, int64_t now)
{
	mod_timer(&peer->timers.zero_key_material, now + t->reject_after_time * 3);
}

void
wr_peer_timers_any_authenticated_packet_traversal(WrPeer *peer, int64_t now)
{
	if (peer->persistent_keepalive_interval != 0)
		mod_timer(&peer->timers.persistent_keepalive,
			  now + (int64_t) peer->persistent_keepalive_interval * WR_USEC_PER_SEC);
}

static unsigned int
expire_one(int64_t *deadline, int64_t now, unsigned int bit)
{
	if (!timer_pending(*deadline) || *deadline > now)
		return 0;
	*deadline = 0;
	return bit;
}

unsigned int
wr_peer_timers_expire(WrPeer *peer, int64_t now)
{
	WrPeerTimers *t = &peer->timers;

	return expire_one(&t->retransmit_handshake, now, WR_TIMER_RETRANSMIT_HANDSHAKE) |
	       expire_one(&t->send_keepalive, now, WR_TIMER_SEND_KEEPALIVE) |
	       expire_one(&t->new_handshake, now, WR_TIMER_NEW_HANDSHAKE) |
	       expire_one(&t->zero_key_material, now, WR_TIMER_ZERO_KEY_MATERIAL) |
	       expire_one(&t->persistent_keepalive, now, WR_TIMER_PERSISTENT_KEEPALIVE);
}

static int64_t
earliest(int64_t a, int64_t deadline)
{
	return timer_pending(deadline) && deadline < a ? deadline : a;
}

int64_t
wr_peer_timers_next(const WrPeer *peer)
{
	const WrPeerTimers *t = &peer->timers;
	int64_t next = INT64_MAX;

	next = earliest(next, t->retransmit_handshake);
	next = earliest(next, t->send_keepalive);
	next = earliest(next, t->new_handshake);
	next = earliest(next, t->zero_key_material);
	next = earliest(next, t->persistent_keepalive);
	return next;
}

void
wr_peer_timers_stop(WrPeer *peer)
{
	WrPeerTimers *t = &peer->timers;

	t->retransmit_handshake = 0;
	t->send_keepalive = 0;
	t->new_handshake = 0;
	t->zero_key_material = 0;
	t->persistent_keepalive = 0;
}
