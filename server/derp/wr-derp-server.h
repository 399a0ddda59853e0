/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The relay of warren-derp (docs/protocols/derp-disco-stun.md §2.6-§2.11): it takes DERP
 * connections whose HTTP upgrade is done (plain TCP or TLS), runs the login, and relays packets
 * between clients by public key, to and from the other servers of a mesh.
 *
 * The packet path runs on worker threads of its own, one epoll set each, never through the
 * GLib main loop: a connection belongs to one worker, which reads it, parses its frames and
 * routes them.  A packet for a client is queued on that client (two queues of
 * config.queue_len, disco and the rest, dropping the oldest when full) and written by the
 * thread that queued it, batched once per epoll round (writev), or by the client's own worker
 * when its socket was full.  Everything about a connection that another thread may touch (its
 * queues, its output, its epoll interest) is under its send lock; the key table is under one
 * read-write lock that packets only read.
 *
 * The main thread (the caller's GMainContext) does the HTTP side, client verification and mesh
 * dialing; calls from it are thread-safe.  Callbacks to the caller run on the GMainContext that
 * was thread-default when the server was made.
 */

#pragma once

#include <stdint.h>

#include <gio/gio.h>

typedef struct WrDerpServer WrDerpServer;

typedef struct {
	guint n_workers;	   /* 0: one per CPU, at most WR_DERP_SERVER_MAX_WORKERS */
	guint queue_len;	   /* per client and class; 0: 32 (§2.9) */
	guint mesh_queue_len;	   /* per mesh link; 0: 16 x queue_len */
	guint64 rate_bytes_per_s;  /* per client, §2.10; 0: no limit */
	guint64 rate_burst_bytes;  /* raised to at least 65568 */
	gint64 keepalive_us;	   /* 0: 60 s, plus a jitter in [0, 5 s) per connection */
	gint64 login_timeout_us;   /* 0: 10 s from the upgrade to a verified ClientInfo */
	gint64 write_timeout_us;   /* 0: 2 s; mesh connections get 30 s */
	gint64 idle_timeout_us;	   /* no bytes from a client for this long closes it; 0: never */
	const uint8_t *mesh_key;   /* 32 bytes, or NULL: no client may mesh */
	gboolean verify_fail_open; /* a verifier that cannot answer admits (Tailscale's default) */
} WrDerpServerConfig;

#define WR_DERP_SERVER_MAX_WORKERS 16

/* what the server counts; Prometheus names in wr_derp_server_format_metrics() */
typedef struct {
	guint64 accepts;
	guint64 logins;
	guint64 login_failures;
	guint64 clients;      /* connected, logged-in regular clients (duplicates counted) */
	guint64 unique_keys;  /* distinct keys among them */
	guint64 mesh_clients; /* servers of the mesh connected to us */
	guint64 mesh_links;   /* our links to other servers */
	guint64 watchers;
	guint64 duplicate_clients;
	guint64 packets_recv; /* SendPacket/ForwardPacket frames read */
	guint64 bytes_recv;   /* their packet bytes */
	guint64 packets_sent; /* RecvPacket frames written to clients */
	guint64 bytes_sent;
	guint64 packets_forwarded_out; /* ForwardPacket written to mesh links */
	guint64 packets_forwarded_in;  /* ForwardPacket from mesh clients delivered here */
	guint64 drops_unknown_dest;
	guint64 drops_queue_full; /* the oldest queued packet was dropped for a newer one */
	guint64 drops_gone;	  /* queued for a client that went away before it was written */
	guint64 drops_write_error;
	guint64 peer_gone_sent;
	guint64 home_clients; /* clients that sent NotePreferred(1) */
	guint64 closes_protocol_error;
	guint64 closes_write_timeout;
	guint64 closes_idle;
	guint64 closes_login_timeout;
	guint64 closes_verify_denied;
	guint64 rate_limited_waits;
	guint64 frames_unknown;
} WrDerpServerStats;

/*
 * Called on a worker thread when a client's ClientInfo opened: the caller decides whether
 * the key may use the relay and answers with wr_derp_server_verify_done() from any thread,
 * now or later (the client waits, within the login timeout).  Mesh clients are not verified.
 */
typedef void (*WrDerpVerifyFunc)(WrDerpServer *server, guint64 conn_id,
				 const uint8_t client_key[32], GInetSocketAddress *remote,
				 gpointer user_data);

/* a mesh link ended (the caller redials); runs on the server's main context */
typedef void (*WrDerpLinkClosedFunc)(WrDerpServer *server, const char *name, const char *reason,
				     gpointer user_data);

WrDerpServer *
wr_derp_server_new(const uint8_t private_key[32], const WrDerpServerConfig *config, GError **error);
/* sends Restarting(reconnect_in_ms, try_for_ms) to every client, waits up to
 * flush_timeout_ms for the frames to leave, closes every connection and stops the workers;
 * idempotent */
void
wr_derp_server_shutdown(WrDerpServer *self, guint32 reconnect_in_ms, guint32 try_for_ms,
			guint flush_timeout_ms);
/* shuts down (without Restarting) if needed, then frees */
void
wr_derp_server_free(WrDerpServer *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrDerpServer, wr_derp_server_free)

void
wr_derp_server_get_public_key(WrDerpServer *self, uint8_t out[32]);

void
wr_derp_server_set_verify_func(WrDerpServer *self, WrDerpVerifyFunc func, gpointer user_data);
/* the answer to a WrDerpVerifyFunc call; unknown or closed conn ids are ignored */
void
wr_derp_server_verify_done(WrDerpServer *self, guint64 conn_id, gboolean allow);

/*
 * Takes a connection whose HTTP upgrade has been answered: the server writes ServerKey and
 * runs the login.  stream is the plain GSocketConnection or the GTlsConnection (no buffering
 * layer above it); socket is the TCP socket under it; pending holds bytes the HTTP layer read
 * past the request (fast start), or NULL.  The server takes its own references.
 */
void
wr_derp_server_accept(WrDerpServer *self, GIOStream *stream, GSocket *socket, GBytes *pending,
		      GInetSocketAddress *remote);

/*
 * Adds an outgoing mesh link: a DERP connection to another server of the region, logged in
 * with this server's key and the mesh key (wr-derp-dial).  The server sends WatchConns on it,
 * learns where the other server's clients are, and forwards packets for them there.  Returns
 * FALSE (and takes nothing) when server_key is this server's own key: a link to itself.
 */
gboolean
wr_derp_server_add_mesh_link(WrDerpServer *self, const char *name, GIOStream *stream,
			     GSocket *socket, GBytes *pending, const uint8_t server_key[32],
			     WrDerpLinkClosedFunc closed_func, gpointer user_data);

void
wr_derp_server_get_stats(WrDerpServer *self, WrDerpServerStats *out);
/* Prometheus text exposition of the stats */
void
wr_derp_server_format_metrics(WrDerpServer *self, GString *out);
