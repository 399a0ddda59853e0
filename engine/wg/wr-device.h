/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A WireGuard device: its identity, peers, cryptokey routing, sessions and timers.
 *
 * The device does no I/O.  Three kinds of callers feed it and act on what it decides:
 *  - the TUN reader hands it batches of IP packets (wr_device_feed_ip_packets): each comes
 *    back encrypted in place with verdict SEND and an endpoint, or CONSUMED (staged until a
 *    session exists), or DROP;
 *  - the UDP reader hands it batches of datagrams (wr_device_feed_datagrams): data messages
 *    come back decrypted in place with verdict TUN, handshake messages are queued for the
 *    control thread (CONSUMED), the rest DROP;
 *  - the control thread calls wr_device_tick(): queued handshakes are answered and the timers
 *    acted on.  It returns the next deadline.
 * Any of them may leave datagrams in the outbox (handshake messages, keepalives, staged
 * packets that a new session released); the caller drains it with wr_device_take_outgoing()
 * after each call and sends them.  When a data-path call moved a deadline earlier than the
 * control thread planned to wake, wr_device_take_wake() says so.
 *
 * Thread-safety: every call locks the device internally.  The data-path calls lock twice
 * per batch at most and do the cryptography outside the lock, so one TUN reader and one UDP
 * reader run in parallel with the control thread.
 */

#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "wr-packet.h"
#include "wr-peer.h"
#include "wr-uapi.h"

typedef struct WrDevice WrDevice;

/* bounds: every queue has one and drops (counted) past it */
#define WR_DEVICE_MAX_OUTBOX 4096

typedef struct {
	uint64_t rx_packets;
	uint64_t tx_packets;
	uint64_t rx_bytes;
	uint64_t tx_bytes;
	uint64_t drop_invalid_message; /* unknown type, bad length */
	uint64_t drop_unknown_index;   /* data for a session we do not have */
	uint64_t drop_decrypt_failed;
	uint64_t drop_replay;
	uint64_t drop_bad_inner; /* not IP, bad length, source not allowed for the peer */
	uint64_t drop_no_route;	 /* outbound to an address no peer allows */
	uint64_t drop_no_endpoint;
	uint64_t drop_staged_overflow;
	uint64_t drop_handshake_queue_full;
	uint64_t drop_handshake_invalid;
	uint64_t drop_outbox_full;
	uint64_t handshakes_sent;
	uint64_t handshakes_completed;
	uint64_t cookie_replies_sent;
	uint64_t keepalives_sent;
} WrDeviceStats;

/* timings NULL = the protocol's own */
WrDevice *
wr_device_new(const WrTimings *timings);
void
wr_device_free(WrDevice *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrDevice, wr_device_free)

/* the interface MTU, used to cap padding; default 1420 */
void
wr_device_set_mtu(WrDevice *self, int mtu);

/*
 * Applies a parsed UAPI set request atomically: validates all of it first and returns a
 * positive errno (EINVAL, ENOMEM...) with nothing changed, or 0 with all of it applied.
 * The listen port and fwmark are only recorded here; the I/O layer binds the socket first
 * and calls this only when that worked.
 */
int
wr_device_apply(WrDevice *self, const WrUapiSet *set, int64_t now);
/* fills info for a UAPI get reply; realtime_now is unused today but kept for staleness */
void
wr_device_get_info(WrDevice *self, WrUapiDeviceInfo *info);
uint16_t
wr_device_get_listen_port(WrDevice *self);
/* records the port the I/O layer really bound */
void
wr_device_set_listen_port(WrDevice *self, uint16_t port);
uint32_t
wr_device_get_fwmark(WrDevice *self);
/* the local public key; false when there is no private key */
bool
wr_device_get_public_key(WrDevice *self, uint8_t out[WR_KEY_LEN]);
guint
wr_device_get_n_peers(WrDevice *self);

/* the data path (see above); realtime for TAI64N stamps is now + the offset the last tick saw */
void
wr_device_feed_ip_packets(WrDevice *self, WrPacket *pkts, unsigned int n, int64_t now);
void
wr_device_feed_datagrams(WrDevice *self, WrPacket *pkts, unsigned int n, int64_t now);

/*
 * The control path: answers queued handshakes, acts on expired timers, collects the rate
 * limiter.  realtime is the wall clock in µs since the epoch.  Returns the next deadline
 * (INT64_MAX when none).
 */
int64_t
wr_device_tick(WrDevice *self, int64_t now, int64_t realtime);
/* true (once) when a data-path call asked for an earlier tick or queued a handshake */
bool
wr_device_take_wake(WrDevice *self);

/* moves every pending outgoing datagram to out (a GQueue of WrDatagram, caller frees) */
void
wr_device_take_outgoing(WrDevice *self, GQueue *out);
/* cheap check without the lock, for the data-path threads */
bool
wr_device_has_outgoing(WrDevice *self);

void
wr_device_get_stats(WrDevice *self, WrDeviceStats *out);

/* for tests: the peer count with a current, sendable session to public_key */
bool
wr_device_peer_has_session(WrDevice *self, const uint8_t public_key[WR_KEY_LEN]);
/* for tests: the peer's current endpoint; false when the peer is unknown */
bool
wr_device_peer_get_endpoint(WrDevice *self, const uint8_t public_key[WR_KEY_LEN], WrEndpoint *out);
/* sets where the peer is reached (any family; AF_UNSPEC: nowhere); false when the peer is
 * unknown.  warrend's path choice does this for every peer (docs/warrend.md). */
bool
wr_device_peer_set_endpoint(WrDevice *self, const uint8_t public_key[WR_KEY_LEN],
			    const WrEndpoint *endpoint);
/*
 * The peer's endpoint was just moved to another path (warrend: a relay became known, or a
 * direct path was found) while packets wait for a handshake: sends a new initiation now,
 * to the new endpoint, instead of waiting out REKEY_TIMEOUT after one that went the old way.
 * false when the peer is unknown, has a session, or nothing waits.
 */
bool
wr_device_peer_kick_handshake(WrDevice *self, const uint8_t public_key[WR_KEY_LEN], int64_t now);
/* roaming (the default, as WireGuard has it): a peer's endpoint follows the source of its
 * last authenticated packet.  Off, only wr_device_peer_set_endpoint() moves it, except that a
 * peer with no endpoint at all takes the source of its first one, to be answered. */
void
wr_device_set_roaming(WrDevice *self, bool roaming);
/* for tests: forces the next handshakes to be treated as under load (cookie required) */
void
wr_device_set_force_under_load(WrDevice *self, bool under_load);
