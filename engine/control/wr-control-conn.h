/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * WrControlConn: warrend's client of warren-control (docs/protocols/control.md), asynchronous,
 * on the GLib main loop of the thread that created it, over libsoup 3.  docs/engine-control.md
 * has the states, the backoff numbers and what happens while control is unreachable.
 *
 *   register        wr_control_conn_register_async(): with a pre-auth key, or without one to get
 *                   an auth URL; then wr_control_conn_wait_login_async() long-polls ("followup")
 *                   until the browser sign-in succeeded or failed.  Logout and node-key rotation
 *                   (a register sealed by the same machine key, naming the old key) likewise.
 *   map stream      wr_control_conn_start(): GET /key, then POST /map with "stream": true; each
 *                   frame (u32 BE length || sealed JSON) is opened, parsed with wr-netmap, applied
 *                   to the connection's WrNetmap, and what changed is emitted as the
 *                   "netmap-changed" signal.  A failure, a stream end or 120 s without a frame
 *                   (the watchdog) reconnects after an exponential backoff with jitter; the last
 *                   netmap is kept meanwhile and the state says control is unreachable.
 *   updates         wr_control_conn_set_endpoints() / _set_hostinfo(): sent at once with a
 *                   "stream": false map request when connected, and with every reconnect.
 *
 * The keys come from the caller: the machine private key (sealing; kept in guarded memory), the
 * node private key (only its public half is kept) and the disco public key.  Nothing is written
 * to disk here.  Plain http:// is accepted only for a loopback server (127.0.0.1, [::1],
 * localhost), as control.md allows for tests; otherwise https://.
 *
 * Not thread-safe: use it from the thread whose thread-default main context was current at
 * creation.  Signals and callbacks run there.
 */

#pragma once

#include <stdint.h>

#include <gio/gio.h>
#include <glib-object.h>

#include "wr-crypto.h"
#include "wr-netmap.h"

#define WR_CONTROL_CONN_ERROR (wr_control_conn_error_quark())
GQuark
wr_control_conn_error_quark(void);

typedef enum {
	WR_CONTROL_CONN_ERROR_INVALID,	/* bad arguments: URL, keys */
	WR_CONTROL_CONN_ERROR_PROTOCOL, /* the server's answer is malformed or does not open */
	WR_CONTROL_CONN_ERROR_REFUSED,	/* register refused, with the server's "error" text */
	WR_CONTROL_CONN_ERROR_BUSY,	/* another register/logout/rotation is under way */
} WrControlConnError;

/* any status but 200: the status as the code, "HTTP 403: <the server's text>" as message */
#define WR_CONTROL_CONN_HTTP_ERROR (wr_control_conn_http_error_quark())
GQuark
wr_control_conn_http_error_quark(void);

typedef enum {
	WR_CONTROL_STATE_STOPPED,    /* the map stream is not running (start it) */
	WR_CONTROL_STATE_CONNECTING, /* fetching the key and opening the stream */
	WR_CONTROL_STATE_CONNECTED,  /* the stream delivered its full map and is live */
	WR_CONTROL_STATE_OFFLINE,    /* control unreachable: waiting to retry, last netmap kept */
	WR_CONTROL_STATE_NEEDS_AUTH, /* control refused this node (401/403): register again */
} WrControlState;

const char *
wr_control_state_to_string(WrControlState state);

/* the numbers (milliseconds); the defaults are control.md's and docs/engine-control.md's */
typedef struct {
	guint backoff_min_ms;	   /* first retry: 1000 */
	guint backoff_max_ms;	   /* cap: 60000 */
	guint watchdog_ms;	   /* no frame for this long: reconnect; 120000 */
	guint healthy_ms;	   /* a stream up this long resets the backoff; 30000 */
	guint request_timeout_ms;  /* GET /key, register, updates, opening the stream; 30000 */
	guint followup_timeout_ms; /* one held followup register (server holds 60 s); 75000 */
} WrControlTiming;

void
wr_control_timing_defaults(WrControlTiming *out);
/*
 * The delay before retry number `failures` (1 for the first): min * 2^(failures-1), capped at
 * max, then "equal jitter": uniformly in [base/2, base].  random is a uniform 32-bit value.
 * Pure, for the tests.
 */
guint
wr_control_backoff_ms(const WrControlTiming *timing, guint failures, guint32 random);

/*
 * The map stream's framing: u32 big-endian length || sealed frame, split anywhere by the
 * transport.  Pure.  A frame of 0 bytes or over max_frame is an error, and the reader stays
 * failed.
 */
typedef struct _WrControlFrames WrControlFrames;

WrControlFrames *
wr_control_frames_new(gsize max_frame);
void
wr_control_frames_free(WrControlFrames *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrControlFrames, wr_control_frames_free)
gboolean
wr_control_frames_feed(WrControlFrames *self, const void *data, gsize len, GError **error);
/* the next whole frame (a new GBytes), or NULL when none is complete yet */
GBytes *
wr_control_frames_pop(WrControlFrames *self);
/* bytes buffered of an incomplete frame */
gsize
wr_control_frames_pending(const WrControlFrames *self);

/* the largest sealed frame accepted: a MapResponse at wr-netmap's limit, sealed */
#define WR_CONTROL_CONN_MAX_FRAME (WR_NETMAP_MAX_TEXT + 40)

#define WR_TYPE_CONTROL_CONN (wr_control_conn_get_type())
G_DECLARE_FINAL_TYPE(WrControlConn, wr_control_conn, WR, CONTROL_CONN, GObject)

/*
 * server_url: https://host[:port] (or http:// to a loopback host).  The keys are copied; the
 * private ones are wiped by the caller as it sees fit.  NULL with WR_CONTROL_CONN_ERROR_INVALID
 * for a bad URL or an all-zero key.
 */
WrControlConn *
wr_control_conn_new(const char *server_url, const uint8_t machine_private[WR_CRYPTO_KEY_LEN],
		    const uint8_t node_private[WR_CRYPTO_KEY_LEN],
		    const uint8_t disco_public[WR_CRYPTO_KEY_LEN], GError **error);

void
wr_control_conn_set_timing(WrControlConn *self, const WrControlTiming *timing);
/*
 * Trust only the CA certificates in this PEM file for https:// (a self-hosted control server
 * with a private CA) instead of the system's trust store.  FALSE with a GIO error naming the
 * file when it cannot be read.
 */
gboolean
wr_control_conn_set_ca_file(WrControlConn *self, const char *path, GError **error);
/* hostinfo sent with register and map requests (hostname, os, os_version, app_version,
 * routable_ips, request_tags); a copy is kept.  Default: this host's name, "linux". */
void
wr_control_conn_set_hostinfo(WrControlConn *self, JsonObject *hostinfo);
/* this node's endpoints ("ip:port", with a type each: local|stun|portmap); NULL = none */
void
wr_control_conn_set_endpoints(WrControlConn *self, const char *const *addrs,
			      const char *const *types);
/* this node's home DERP region (netcheck's preferred one; 0 = none), sent as the map
 * request's "derp_region" (control.md) from now on; not sent before the first call */
void
wr_control_conn_set_home_region(WrControlConn *self, guint region);

const uint8_t *
wr_control_conn_get_node_public(WrControlConn *self);

/* the result of a register */
typedef struct {
	gboolean machine_authorized;
	gboolean node_key_expired;
	char *auth_url; /* "" unless interactive sign-in is needed */
	gint64 user_id;
	char *login_name;
	char *display_name;
	gint64 node_key_expiry;
} WrControlRegister;

void
wr_control_register_free(WrControlRegister *reg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrControlRegister, wr_control_register_free)

/*
 * Register this machine and node key.  auth_key: a pre-auth key, or NULL for interactive sign-in
 * (the result then has auth_url; open it, then wait_login).  A refusal with the server's "error"
 * is WR_CONTROL_CONN_ERROR_REFUSED with that text.
 */
void
wr_control_conn_register_async(WrControlConn *self, const char *auth_key, GCancellable *cancellable,
			       GAsyncReadyCallback callback, gpointer user_data);
WrControlRegister *
wr_control_conn_register_finish(WrControlConn *self, GAsyncResult *result, GError **error);

/*
 * The follow-up long poll of an interactive sign-in: register with "followup" = auth_url,
 * repeated (each held up to 60 s by the server) until the sign-in succeeded (the result is
 * authorized), failed (REFUSED with the reason) or cancellable was cancelled.
 */
void
wr_control_conn_wait_login_async(WrControlConn *self, const char *auth_url,
				 GCancellable *cancellable, GAsyncReadyCallback callback,
				 gpointer user_data);
WrControlRegister *
wr_control_conn_wait_login_finish(WrControlConn *self, GAsyncResult *result, GError **error);

/* logout: the node key expires now and the node leaves peers' maps; stops the map stream and
 * forgets the netmap */
void
wr_control_conn_logout_async(WrControlConn *self, GCancellable *cancellable,
			     GAsyncReadyCallback callback, gpointer user_data);
gboolean
wr_control_conn_logout_finish(WrControlConn *self, GAsyncResult *result, GError **error);

/*
 * Node-key rotation: a register naming the current key as old_node_key and new_node_private's
 * public key as node_key, sealed by the same machine key.  On success the new key is this
 * connection's, and a running map stream reconnects with it at once.
 */
void
wr_control_conn_rotate_node_key_async(WrControlConn *self,
				      const uint8_t new_node_private[WR_CRYPTO_KEY_LEN],
				      GCancellable *cancellable, GAsyncReadyCallback callback,
				      gpointer user_data);
WrControlRegister *
wr_control_conn_rotate_node_key_finish(WrControlConn *self, GAsyncResult *result, GError **error);

/*
 * Flow records for the control server (docs/flow-logs.md): POST /machine/<mkey>/flows with the
 * current node key and flows (taken; GetFlows' records as JSON objects, at most 1000).  Runs
 * beside everything else (no busy check).  finish: how many the server stored, or -1 with an
 * error (WR_CONTROL_CONN_HTTP_ERROR with the status, e.g. 403 when it does not collect them).
 */
void
wr_control_conn_send_flows_async(WrControlConn *self, JsonArray *flows, GCancellable *cancellable,
				 GAsyncReadyCallback callback, gpointer user_data);
gint64
wr_control_conn_send_flows_finish(WrControlConn *self, GAsyncResult *result, GError **error);

/* runs the map stream until stop (reconnecting as needed); no-op when running */
void
wr_control_conn_start(WrControlConn *self);
void
wr_control_conn_stop(WrControlConn *self);

WrControlState
wr_control_conn_get_state(WrControlConn *self);
/*
 * Seeds the netmap with a saved one (wr_netmap_to_json's output, warrend's netmap.json) so the
 * tailnet comes back at start-up before control answers; emits netmap-changed.  Only while no
 * map is held (WR_CONTROL_CONN_ERROR_BUSY otherwise); a saved map that does not parse as a full
 * map is a WR_NETMAP_ERROR and changes nothing.  The first full map from control then replaces
 * it and reports only the difference.
 */
gboolean
wr_control_conn_restore_netmap(WrControlConn *self, GBytes *json, GError **error);
/* the network map (its state is empty before the first full map; kept while offline) */
WrNetmap *
wr_control_conn_get_netmap(WrControlConn *self);
/* the last failure's message, NULL when none since the last healthy stream */
const char *
wr_control_conn_get_last_error(WrControlConn *self);
/* NULL while connected, otherwise a sentence for the daemon's Health property; g_free */
char *
wr_control_conn_dup_health(WrControlConn *self);
/* consecutive failed connection attempts (0 after a healthy stream) */
guint
wr_control_conn_get_failures(WrControlConn *self);
/* streams opened so far (a reconnect counts one more) */
guint
wr_control_conn_get_streams(WrControlConn *self);
/* the delay of the pending retry in ms (0 when none is pending) */
guint
wr_control_conn_get_retry_delay(WrControlConn *self);
