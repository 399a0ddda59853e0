/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A WireGuard peer and its protocol timers (whitepaper §6).  The timers are pure state:
 * five deadlines (µs, 0 = not pending) moved by event hooks that the device calls as packets
 * come and go, and read back by wr_peer_timers_expire() when the device ticks.  Each hook says
 * when it must be called.  Nothing here reads a clock: `now` and the jitter are passed in, so
 * tests drive the whole state machine by injecting time.
 */

#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "wr-addr.h"
#include "wr-cookie.h"
#include "wr-noise.h"

/* the protocol's durations in µs; scaled down only for tests (wr_timings_init) */
typedef struct {
	int64_t rekey_timeout;
	int64_t keepalive_timeout;
	int64_t rekey_after_time;
	int64_t reject_after_time;
	int64_t rekey_attempt_time;
	int64_t jitter_max;
	unsigned int max_timer_handshakes;
} WrTimings;

/* scale 1 is the protocol; scale N divides every duration by N (N >= 1) */
void
wr_timings_init(WrTimings *self, unsigned int scale);

typedef enum {
	WR_TIMER_RETRANSMIT_HANDSHAKE = 1 << 0,
	WR_TIMER_SEND_KEEPALIVE = 1 << 1,
	WR_TIMER_NEW_HANDSHAKE = 1 << 2,
	WR_TIMER_ZERO_KEY_MATERIAL = 1 << 3,
	WR_TIMER_PERSISTENT_KEEPALIVE = 1 << 4,
} WrTimer;

typedef struct {
	int64_t retransmit_handshake;
	int64_t send_keepalive;
	int64_t new_handshake;
	int64_t zero_key_material;
	int64_t persistent_keepalive;
	bool need_another_keepalive;
	bool sent_lastminute_handshake;
	unsigned int handshake_attempts;
} WrPeerTimers;

/* a packet waiting for a session, or a datagram waiting for the socket */
typedef struct {
	WrEndpoint endpoint;
	uint32_t len; /* bytes at buf + offset */
	uint32_t offset;
	uint32_t capacity;
	uint8_t buf[];
} WrDatagram;

WrDatagram *
wr_datagram_new(uint32_t capacity);
void
wr_datagram_free(WrDatagram *d);

typedef struct {
	int refcount;	 /* atomic: the device holds one, each of its keypairs one */
	bool is_dead;	 /* removed from the device; guarded by the device lock */
	uint64_t serial; /* creation order, for stable listing */
	uint8_t public_key[WR_KEY_LEN];
	WrNoiseHandshake handshake;
	WrCookieMaker cookie;
	WrKeypair *keypair_previous;
	WrKeypair *keypair_current;
	WrKeypair *keypair_next;
	WrEndpoint endpoint;
	uint16_t persistent_keepalive_interval; /* seconds, 0 = off */
	WrPeerTimers timers;
	int64_t last_sent_handshake;	 /* µs */
	int64_t walltime_last_handshake; /* µs since the epoch, 0 = never */
	uint64_t rx_bytes;
	uint64_t tx_bytes;
	GQueue staged; /* of WrDatagram holding plaintext IP packets, at most MAX_STAGED_PACKETS */
} WrPeer;

/* --- timer event hooks --- */

/* Should be called after an authenticated data packet is sent. */
void
wr_peer_timers_data_sent(WrPeer *peer, const WrTimings *t, int64_t now, int64_t jitter);
/* Should be called after an authenticated data packet is received. */
void
wr_peer_timers_data_received(WrPeer *peer, const WrTimings *t, int64_t now);
/* Should be called after any type of authenticated packet is sent: keepalive, data, handshake. */
void
wr_peer_timers_any_authenticated_packet_sent(WrPeer *peer);
/* Should be called after any type of authenticated packet is received: keepalive, data, handshake.
 */
void
wr_peer_timers_any_authenticated_packet_received(WrPeer *peer);
/* Should be called after a handshake initiation message is sent. */
void
wr_peer_timers_handshake_initiated(WrPeer *peer, const WrTimings *t, int64_t now, int64_t jitter);
/* Should be called after a handshake response message is received and processed, or when
 * the first data message under a new responder session arrives. */
void
wr_peer_timers_handshake_complete(WrPeer *peer, int64_t realtime);
/* Should be called after an ephemeral key is created, before a new session is used. */
void
wr_peer_timers_session_derived(WrPeer *peer, const WrTimings *t, int64_t now);
/* Should be called before a packet of any kind passes through the tunnel, either way. */
void
wr_peer_timers_any_authenticated_packet_traversal(WrPeer *peer, int64_t now);

/* returns the mask of timers whose deadline is at or before now, and clears them */
unsigned int
wr_peer_timers_expire(WrPeer *peer, int64_t now);
/* the earliest pending deadline, INT64_MAX when none */
int64_t
wr_peer_timers_next(const WrPeer *peer);
/* stops every timer (peer removed or device down) */
void
wr_peer_timers_stop(WrPeer *peer);
