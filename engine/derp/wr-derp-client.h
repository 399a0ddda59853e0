/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * WrDerpClient: one long-lived connection to one DERP server (one region's node), as warrend's
 * control plane uses it (docs/protocols/derp-disco-stun.md §2.6-§2.12).  It dials with
 * wr-derp-dial, keeps the connection up (reconnecting with backoff, honouring Restarting), relays
 * packets both ways and reports what the server says.
 *
 * Threading: everything runs on the thread-default GMainContext of the thread that created the
 * client; call every function from that thread.  Signals are emitted there.
 *
 * Reading uses non-blocking pollable reads driven by one GSource, and writing goes straight to
 * the stream; while the stream cannot take more, packets wait in a queue of
 * WR_DERP_CLIENT_QUEUE_LEN frames that drops the oldest (§2.12).  No GTask per packet.
 *
 * Behaviour:
 *  - every server Ping is answered with a Pong of the same 8 bytes;
 *  - any frame (KeepAlive included) resets the read timer; no frame for read_timeout_ms (120 s)
 *    means a dead connection, which is closed and redialled;
 *  - reconnects wait min(n² × 10 ms, 5 s) × a random factor in [0.5, 1.5), n counting failed
 *    attempts since the last successful login;
 *  - Restarting(reconnect_in, try_for): the first redial waits reconnect_in, then it retries
 *    every restart_retry_ms × [0.5, 1.5) until try_for has passed, so a client is back soon
 *    after its server;
 *  - the ServerInfo token bucket, if any, drops (does not queue) what exceeds it (§2.8);
 *  - unknown frame types are skipped; a malformed frame closes the connection with a logged
 *    reason, and the client redials;
 *  - NotePreferred (with the home-region flag, true or false) is sent on every connection,
 *    and WatchConns again after every reconnect once asked for.
 */

#pragma once

#include <stdint.h>

#include <gio/gio.h>

#include "wr-derp-dial.h"

G_BEGIN_DECLS

/* packets waiting for the stream per connection (per region, §2.12) */
#define WR_DERP_CLIENT_QUEUE_LEN 32
/* control frames (Pong, Ping, NotePreferred ...) waiting for the stream, in bytes */
#define WR_DERP_CLIENT_MAX_CONTROL_BYTES 4096
/* client Pings waiting for their Pong */
#define WR_DERP_CLIENT_MAX_PINGS 16
/* default timings (WrDerpClientTimings) */
#define WR_DERP_CLIENT_READ_TIMEOUT_MS	120000
#define WR_DERP_CLIENT_PING_TIMEOUT_MS	5000
#define WR_DERP_CLIENT_BACKOFF_UNIT_MS	10
#define WR_DERP_CLIENT_BACKOFF_MAX_MS	5000
#define WR_DERP_CLIENT_RESTART_RETRY_MS 250
/* a server's Restarting cannot hold the client back or speed it up for longer than these */
#define WR_DERP_CLIENT_MAX_RECONNECT_IN_MS 60000
#define WR_DERP_CLIENT_MAX_TRY_FOR_MS	   600000

#define WR_TYPE_DERP_CLIENT (wr_derp_client_get_type())
G_DECLARE_FINAL_TYPE(WrDerpClient, wr_derp_client, WR, DERP_CLIENT, GObject)

typedef enum {
	WR_DERP_CLIENT_DROP_NOT_CONNECTED, /* sent while not connected, or queued when it broke */
	WR_DERP_CLIENT_DROP_QUEUE_FULL,	   /* the oldest queued packet, pushed out by a new one */
	WR_DERP_CLIENT_DROP_RATE_LIMITED,  /* over the ServerInfo token bucket */
	WR_DERP_CLIENT_DROP_TOO_BIG,	   /* above DERP_MAX_PACKET_SIZE */
	WR_DERP_CLIENT_DROP_CONTROL_FULL,  /* a control frame, the control queue being full */
	WR_DERP_CLIENT_DROP_N,
} WrDerpClientDropReason;

typedef struct {
	guint64 packets_in;  /* RecvPacket frames delivered */
	guint64 bytes_in;    /* their payload bytes */
	guint64 packets_out; /* SendPacket and ForwardPacket frames handed to the stream */
	guint64 bytes_out;   /* their payload bytes */
	guint64 drops[WR_DERP_CLIENT_DROP_N];
	guint64 connects;	  /* successful logins */
	guint64 reconnects;	  /* successful logins after the first */
	guint64 dial_failures;	  /* dials that failed */
	guint64 frames_skipped;	  /* frames of unknown or unexpected types */
	guint64 malformed_frames; /* frames that closed the connection */
} WrDerpClientStats;

/* every timing the client uses; tests shrink them instead of sleeping */
typedef struct {
	guint read_timeout_ms;
	guint ping_timeout_ms;
	guint backoff_unit_ms;
	guint backoff_max_ms;
	guint restart_retry_ms;
} WrDerpClientTimings;

/*
 * The delay before reconnect attempt n (n >= 1 failures since the last login):
 * min(n² × unit_ms, max_ms) × factor, factor in [0.5, 1.5).  Pure.
 */
guint
wr_derp_client_backoff_ms(guint n, guint unit_ms, guint max_ms, double factor);

/* url and options as for wr_derp_dial_async (options may be NULL; everything is copied, the key
 * and mesh key into guarded memory).  The client does nothing until started. */
WrDerpClient *
wr_derp_client_new(const char *url, const uint8_t node_private[32],
		   const WrDerpDialOptions *options);
/* NULL restores the defaults; takes effect for the next timer armed */
void
wr_derp_client_set_timings(WrDerpClient *self, const WrDerpClientTimings *timings);

/* dials now, and keeps the connection up until stop() */
void
wr_derp_client_start(WrDerpClient *self);
/* closes the connection, stops redialling, fails pending pings (G_IO_ERROR_CANCELLED) */
void
wr_derp_client_stop(WrDerpClient *self);
gboolean
wr_derp_client_is_connected(WrDerpClient *self);

/*
 * Queues one packet (at most DERP_MAX_PACKET_SIZE bytes) to dst.  FALSE, with a drop counted,
 * when not connected, when the token bucket refuses it, when it is too big, or when the queue
 * was full and its oldest packet had to go to make room (this packet is queued then).
 */
gboolean
wr_derp_client_send(WrDerpClient *self, const uint8_t dst[32], const guint8 *data, gsize len);
/* the home-region flag (§2.12): sent now if connected and changed, and on every connection */
void
wr_derp_client_note_preferred(WrDerpClient *self, gboolean preferred);
gboolean
wr_derp_client_get_preferred(WrDerpClient *self);

/* a client Ping with 8 random bytes; completes when the matching Pong arrives, with
 * G_IO_ERROR_TIMED_OUT after ping_timeout_ms (5 s), G_IO_ERROR_NOT_CONNECTED when not connected
 * or when the connection breaks first, G_IO_ERROR_BUSY with WR_DERP_CLIENT_MAX_PINGS pending */
void
wr_derp_client_ping_async(WrDerpClient *self, GCancellable *cancellable,
			  GAsyncReadyCallback callback, gpointer user_data);
/* out_rtt_us: the round trip in µs */
gboolean
wr_derp_client_ping_finish(WrDerpClient *self, GAsyncResult *result, gint64 *out_rtt_us,
			   GError **error);

/*
 * Mesh (§2.11): these need a mesh key in the options, or the server closes the connection.
 * watch_conns() asks for PeerPresent/PeerGone about every client of the server, now and after
 * every reconnect; when a watched connection breaks, peer-gone is emitted with
 * DERP_PEER_GONE_MESH_CONN_BROKE for every key it reported present.  forward_packet() queues as
 * send() does; close_peer() asks the server to disconnect a client (FALSE when not connected).
 */
void
wr_derp_client_watch_conns(WrDerpClient *self);
gboolean
wr_derp_client_forward_packet(WrDerpClient *self, const uint8_t src[32], const uint8_t dst[32],
			      const guint8 *data, gsize len);
gboolean
wr_derp_client_close_peer(WrDerpClient *self, const uint8_t key[32]);

void
wr_derp_client_get_stats(WrDerpClient *self, WrDerpClientStats *out_stats);
/* the key of the server of the current or last connection; FALSE if never connected */
gboolean
wr_derp_client_get_server_key(WrDerpClient *self, uint8_t out_key[32]);
const char *
wr_derp_client_get_url(WrDerpClient *self);
/* the server's last Health text; "" when healthy */
const char *
wr_derp_client_get_health(WrDerpClient *self);

/*
 * Signals:
 *   connected ()                              logged in (again)
 *   disconnected (const char *reason)         an established connection ended
 *   packet-received (gpointer src_key, GBytes *packet)
 *                                             src_key: 32 bytes, valid during the emission
 *   peer-gone (gpointer key, guint reason)    WrDerpPeerGoneReason
 *   peer-present (gpointer key, GSocketAddress *address (nullable), guint flags)
 *                                             mesh watchers; IPv4 addresses unmapped
 *   health (const char *text)                 "" when healthy again
 *   restarting (guint reconnect_in_ms, guint try_for_ms)
 */

G_END_DECLS
