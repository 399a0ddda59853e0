/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Path choice for one peer, the pure core (docs/protocols/derp-disco-stun.md §4): Tailscale's
 * magicsock "endpoint".  It knows the peer's home DERP region and its candidate ip:port
 * endpoints (from the network map, from CallMeMaybe, and learned from pings), pings them,
 * matches pongs, picks the best direct address (§4.7), keeps it trusted with heartbeats
 * (§4.8) and falls back to DERP when it goes quiet (§4.9).
 *
 * No sockets, no clocks, no randomness of its own: every entry point takes `now` (gint64 µs,
 * monotonic, as from g_get_monotonic_time(); it must be positive, and a `now` older than one
 * seen before is taken as that one) and fills a WrPathActions with what the caller must do:
 * send a disco ping, pong or CallMeMaybe, send the data packet over UDP or DERP, and a
 * WR_PATH_CHANGED event whenever the observable path (idle, DERP, direct) changes.  Entry points
 * first run whatever timer work is due (ping timeouts, the heartbeat), so a late caller loses
 * nothing; afterwards wr_path_next_wakeup() is always later than `now`, and the caller arms its
 * timer with it and calls wr_path_tick() then.
 *
 * Disco messages arrive already classified (wr_disco_classify), opened and parsed, and
 * attributed to this peer by their sender disco key; a CallMeMaybe must have passed §3.6 step 5
 * (came over DERP from this peer's node key with this peer's disco key).  A source is an
 * ip:port for UDP or 127.3.3.40:<region> for DERP (§3.5, wr_path_derp_source).
 *
 * Memory is bounded whatever the peer sends: at most WR_PATH_MAX_CANDIDATES endpoints and
 * WR_PATH_MAX_SENT_PINGS outstanding pings.  Nothing here logs.
 */

#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "wr-addr.h"
#include "wr-disco.h"

/* §4.1 timing constants, in µs */
/* while a session is active, ping the best UDP path this often */
#define WR_PATH_HEARTBEAT_INTERVAL_US (3 * G_USEC_PER_SEC)
/* after each pong from the best address, send via UDP only for this long */
#define WR_PATH_TRUST_UDP_ADDR_US (6500 * G_TIME_SPAN_MILLISECOND)
/* wait this long for a pong before the ping counts as lost */
#define WR_PATH_PING_TIMEOUT_US (5 * G_USEC_PER_SEC)
/* minimum gap between discovery pings to one endpoint (a CallMeMaybe resets it) */
#define WR_PATH_DISCO_PING_INTERVAL_US (5 * G_USEC_PER_SEC)
/* no heartbeats after this long without outbound data; learned endpoints expire after it */
#define WR_PATH_SESSION_ACTIVE_TIMEOUT_US (45 * G_USEC_PER_SEC)
/* re-ping every endpoint this often even while a direct path works */
#define WR_PATH_UPGRADE_INTERVAL_US (60 * G_USEC_PER_SEC)
/* at or below this latency no upgrade rounds are run */
#define WR_PATH_GOOD_ENOUGH_LATENCY_US (5 * G_TIME_SPAN_MILLISECOND)
/* our own endpoints must be newer than this when a CallMeMaybe goes out (the caller's check:
 * it owns them; see WR_PATH_SEND_CALL_ME_MAYBE) */
#define WR_PATH_ENDPOINTS_FRESH_ENOUGH_US (27 * G_USEC_PER_SEC)
/* periodic re-STUN while active, and how long seen endpoints stay advertised: the caller's
 * (netcheck) timers, named here so that §4.1 is in one place */
#define WR_PATH_RESTUN_MIN_US	   (20 * G_USEC_PER_SEC)
#define WR_PATH_RESTUN_MAX_US	   (26 * G_USEC_PER_SEC)
#define WR_PATH_ENDPOINT_CACHE_US  ((5 * 60 + 10) * G_USEC_PER_SEC)
#define WR_PATH_DERP_IDLE_CLOSE_US (60 * G_USEC_PER_SEC)
#define WR_PATH_DERP_IDLE_CHECK_US (15 * G_USEC_PER_SEC)
/* peer relays and UDP-lifetime probing are not implemented (every candidate is a direct
 * address); their §4.1 timings, for whoever adds them */
#define WR_PATH_RELAY_UPGRADE_INTERVAL_US	(60 * G_USEC_PER_SEC)
#define WR_PATH_RELAY_DISCOVERY_MIN_INTERVAL_US (30 * G_USEC_PER_SEC)
#define WR_PATH_LIFETIME_CLIFF1_US		(10 * G_USEC_PER_SEC)
#define WR_PATH_LIFETIME_CLIFF2_US		(30 * G_USEC_PER_SEC)
#define WR_PATH_LIFETIME_CLIFF3_US		(60 * G_USEC_PER_SEC)
#define WR_PATH_LIFETIME_SLACK_US		(2 * G_USEC_PER_SEC)
#define WR_PATH_LIFETIME_CYCLE_US		(24 * 60 * 60 * G_USEC_PER_SEC)
/* an unanswered endpoint whose ping reaches us is pinged back at once (not in §4: Tailscale
 * waits for its next round), at most this often */
#define WR_PATH_PING_BACK_INTERVAL_US G_USEC_PER_SEC
/* latency samples kept per endpoint */
#define WR_PATH_PONG_HISTORY 64
/* §4.1 "candidate cap": above this the table is pruned; here it is also a hard limit (an
 * endpoint that does not fit after pruning and eviction is not added) */
#define WR_PATH_MAX_CANDIDATES 100
/* outstanding pings; each lives WR_PATH_PING_TIMEOUT_US, and past the limit the oldest is
 * forgotten (its pong is then ignored) */
#define WR_PATH_MAX_SENT_PINGS 256
/* actions one call can produce: a discovery round in the timer work and another in the input
 * (a CallMeMaybe resets the 5 s gap), plus the odd pong, CallMeMaybe, data and event */
#define WR_PATH_MAX_ACTIONS (2 * WR_PATH_MAX_CANDIDATES + 8)

typedef enum {
	WR_PATH_IDLE,	/* no outbound data for WR_PATH_SESSION_ACTIVE_TIMEOUT_US (or never) */
	WR_PATH_DERP,	/* active; data goes via DERP (and to an untrusted best address, if any) */
	WR_PATH_DIRECT, /* active; data goes over UDP to a trusted best address only */
} WrPathState;

typedef struct {
	WrPathState state;
	guint64 derp_region; /* the peer's home region, 0 when it has none */
	/* the best address (AF_UNSPEC when none), its last latency and when trust ends; set in
	 * every state: an untrusted best address still gets a copy of the data */
	WrEndpoint best;
	gint64 latency_us;
	gint64 trust_until;
} WrPathStatus;

typedef enum {
	/* a disco ping with tx_id to addr over UDP, or via DERP (derp_region) when via_derp */
	WR_PATH_SEND_PING,
	/* a disco pong with tx_id and pong_src (the ping's observed source), back the way the ping
	 * came: to addr over UDP, or via DERP (derp_region) */
	WR_PATH_SEND_PONG,
	/* a CallMeMaybe with all our advertised endpoints (§4.10), via DERP (derp_region); if
	 * they are older than WR_PATH_ENDPOINTS_FRESH_ENOUGH_US, re-STUN first and send it then */
	WR_PATH_SEND_CALL_ME_MAYBE,
	/* the data packet of wr_path_send_data: to addr over UDP, or via DERP (derp_region) */
	WR_PATH_SEND_DATA,
	/* the path changed; the new one is in status (D-Bus PeerEvent "path", `warren ping`) */
	WR_PATH_CHANGED,
	/* a pong answered a wr_path_cli_ping ping: tx_id, latency_us, and where it came back:
	 * addr, or via DERP (derp_region) */
	WR_PATH_PING_RESULT,
} WrPathActionKind;

typedef struct {
	WrPathActionKind kind;
	bool via_derp;
	guint64 derp_region;
	WrEndpoint addr;
	uint8_t tx_id[WR_DISCO_TXID_LEN];
	WrEndpoint pong_src;
	gint64 latency_us;
	WrPathStatus status;
} WrPathAction;

/* filled by each entry point, which empties it first */
typedef struct {
	guint n;
	WrPathAction a[WR_PATH_MAX_ACTIONS];
} WrPathActions;

/* one candidate endpoint, as wr_path_get_candidate shows it; times are 0 for never */
typedef struct {
	WrEndpoint addr;
	bool from_netmap;
	gint64 call_me_maybe_at; /* listed in the last CallMeMaybe, at that time */
	gint64 last_got_ping;	 /* learned: the peer pinged us from here */
	uint8_t last_got_ping_tx_id[WR_DISCO_TXID_LEN];
	gint64 last_ping;      /* our last ping to it */
	gint64 last_ping_back; /* our last ping answering one of its pings (hole punching) */
	gint64 last_pong;      /* and the last pong for one of them */
	gint64 latency_us;
	WrEndpoint pong_from; /* the last pong's UDP source and the Src it reported */
	WrEndpoint pong_src;
	guint n_pongs; /* samples in pong_latency_us, newest at (pong_head - 1) mod history */
	guint pong_head;
	guint32 pong_latency_us[WR_PATH_PONG_HISTORY];
} WrPathCandidate;

/* fills len random bytes (TxIDs); in warrend randombytes_buf, in tests a script */
typedef void (*WrPathRandomFunc)(uint8_t *buf, size_t len, gpointer user_data);

typedef struct _WrPath WrPath;

WrPath *
wr_path_new(WrPathRandomFunc random, gpointer user_data);
void
wr_path_free(WrPath *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrPath, wr_path_free)

/* 127.3.3.40:<region>, the source of a disco message that came over DERP (§3.5) */
void
wr_path_derp_source(guint64 region, WrEndpoint *out);

/*
 * The network map's view of the peer: its disco key, its endpoints (AF_UNSPEC, port 0,
 * unspecified, DERP-magic and duplicate entries are skipped, IPv4-mapped ones unmapped; past
 * WR_PATH_MAX_CANDIDATES the rest are ignored) and its home DERP region (0 for none).
 * Endpoints only the old map listed are dropped; a new disco key resets the peer (§4.9).
 * New endpoints while data flows and no direct address is trusted are pinged at once (a
 * discovery round with CallMeMaybe; not in §4, which waits for the next round).
 */
void
wr_path_set_peer(WrPath *self, gint64 now, const uint8_t disco_key[WR_DISCO_KEY_LEN],
		 const WrEndpoint *endpoints, size_t n_endpoints, guint64 derp_region,
		 WrPathActions *actions);
/* the disco key of the last wr_path_set_peer, NULL before it */
const uint8_t *
wr_path_get_disco_key(const WrPath *self);

/*
 * A data packet for the peer (§4.3): WR_PATH_SEND_DATA actions say where it goes (UDP to the
 * best address, DERP, or both), and a discovery round may start.  -EHOSTUNREACH with no data
 * action when there is neither a best address nor a home region (the caller may have a reverse
 * DERP route, §4.3 step 5).
 */
int
wr_path_send_data(WrPath *self, gint64 now, WrPathActions *actions);

/*
 * A disco ping from src (§3.6 step 6): answers with a pong to src, and a UDP source becomes a
 * learned candidate.  While no direct path is trusted, a UDP source that never answered our
 * last ping is pinged back at once (at most every WR_PATH_PING_BACK_INTERVAL_US): its ping
 * came through, so the NAT hole is open now.  -EALREADY (and no pong) for the TxID the same UDP
 * source sent last; -EINVAL (and no pong) for a UDP source that cannot be an endpoint (port 0,
 * unspecified) or DERP region 0.
 */
int
wr_path_recv_ping(WrPath *self, gint64 now, const WrDiscoPing *ping, const WrEndpoint *src,
		  WrPathActions *actions);

/*
 * A disco pong from src (§4.6).  -ENOENT for a TxID not outstanding here (never sent, timed
 * out, or to an endpoint since dropped); -EPROTO when it came back another way than its ping
 * went (UDP vs DERP, or another region), which leaves the ping outstanding.  A UDP pong scores
 * the address the ping was sent to, whatever its UDP source and Src say (§7 pitfall 12).
 */
int
wr_path_recv_pong(WrPath *self, gint64 now, const WrDiscoPong *pong, const WrEndpoint *src,
		  WrPathActions *actions);

/* a CallMeMaybe that passed §3.6 step 5 (§4.5): its endpoints replace the last one's, and every
 * endpoint is pinged now */
void
wr_path_recv_call_me_maybe(WrPath *self, gint64 now, const WrDiscoCallMeMaybe *cmm,
			   WrPathActions *actions);

/* the timer: ping timeouts, the heartbeat (§4.8), path events */
void
wr_path_tick(WrPath *self, gint64 now, WrPathActions *actions);
/* when to call wr_path_tick next; G_MAXINT64 when nothing is pending.  Always > now after an
 * entry point ran with now. */
gint64
wr_path_next_wakeup(const WrPath *self, gint64 now);

/*
 * `warren ping`: a ping to the trusted best address, or else via DERP and to every candidate
 * (Tailscale's cliPing).  Each pong that answers one gives a WR_PATH_PING_RESULT.  -EHOSTUNREACH
 * when no ping could go out.
 */
int
wr_path_cli_ping(WrPath *self, gint64 now, WrPathActions *actions);

/*
 * The caller's data plane suspects the direct path: it keeps sending over it but has heard
 * nothing from the peer for a while (warrend: no inbound bytes for 500 ms while sending).
 * Pings the trusted best address now; unless a pong for one of its pings arrives within
 * timeout_us, its trust ends then (the state becomes DERP, with a WR_PATH_CHANGED, at the tick
 * due at that moment), so that traffic falls back to the relay in about timeout_us instead of
 * waiting out WR_PATH_TRUST_UDP_ADDR_US.  The address stays the (untrusted) best: heartbeats
 * keep pinging it and a later pong makes the path direct again.  Not in the spec (§4 has no
 * such signal; Tailscale waits for trust to expire); warrend's fallback bound needs it.
 * -EALREADY (nothing sent) when no best address is trusted.
 */
int
wr_path_probe(WrPath *self, gint64 now, gint64 timeout_us, WrPathActions *actions);

/* the local network changed: the best address and every endpoint's statistics go (§4.9) */
void
wr_path_note_link_change(WrPath *self, gint64 now, WrPathActions *actions);
/* sending to addr failed in a way that means it is unusable (EHOSTUNREACH, ENETUNREACH...):
 * if it is the best address, it and its statistics go (§4.3 step 6) */
void
wr_path_note_send_error(WrPath *self, gint64 now, const WrEndpoint *addr, WrPathActions *actions);

void
wr_path_get_status(const WrPath *self, gint64 now, WrPathStatus *out);
guint
wr_path_get_n_candidates(const WrPath *self);
/* NULL past the end; valid until the next call that takes actions */
const WrPathCandidate *
wr_path_get_candidate(const WrPath *self, guint i);
const WrPathCandidate *
wr_path_find_candidate(const WrPath *self, const WrEndpoint *addr);
guint
wr_path_get_n_sent_pings(const WrPath *self);

/* §4.7 betterAddr(a, b), a and b with latencies in µs (negative ones count as 0); an
 * AF_UNSPEC address is invalid */
bool
wr_path_better_addr(const WrEndpoint *a, gint64 a_latency_us, const WrEndpoint *b,
		    gint64 b_latency_us);

const char *
wr_path_state_to_string(WrPathState state);
