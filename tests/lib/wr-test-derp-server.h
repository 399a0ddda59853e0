/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A scripted DERP relay for the DERP client tests, on 127.0.0.1 and an ephemeral port, plain
 * or TLS, on the thread-default main context.  It speaks §2 of the protocol notes with the
 * engine's frame codec and wr-derp-info: the 101 answer and ServerKey, ClientInfo opened with
 * its private key, ServerInfo, relaying between its logged-in clients, Pong for Ping,
 * NotePreferred, WatchConns (PeerPresent for the others), ClosePeer and ForwardPacket.  A mode
 * makes it misbehave in one chosen way, and the tests push any frame (KeepAlive, Ping,
 * PeerGone, Restarting, Health, garbage) to a client on demand.  It records what it saw.
 */

#pragma once

#include <stdint.h>

#include <gio/gio.h>

#include "wr-derp-info.h"

typedef enum {
	WR_TEST_DERP_MODE_NORMAL,
	WR_TEST_DERP_MODE_STATUS_426, /* 426 Upgrade Required, as Go's server without Upgrade */
	WR_TEST_DERP_MODE_GARBAGE_RESPONSE, /* a head that is not HTTP */
	WR_TEST_DERP_MODE_NOT_SERVER_KEY,   /* a KeepAlive where the ServerKey belongs */
	WR_TEST_DERP_MODE_BAD_MAGIC,	    /* a ServerKey frame without the magic */
	WR_TEST_DERP_MODE_SHORT_KEY,	    /* a ServerKey frame of 20 bytes */
	WR_TEST_DERP_MODE_BIG_GREETING,	    /* a ServerKey frame of 2000 bytes */
	WR_TEST_DERP_MODE_WRONG_KEY,	    /* ServerInfo sealed with another key than announced */
	WR_TEST_DERP_MODE_BAD_INFO_JSON,    /* ServerInfo that opens to a JSON array */
	WR_TEST_DERP_MODE_SILENT,	    /* reads the request and never answers */
	WR_TEST_DERP_MODE_CLOSE,	    /* closes right after the request */
} WrTestDerpMode;

typedef struct _WrTestDerpServer WrTestDerpServer;

/* cert: the TLS certificate (with its key) to serve, or NULL for plain http */
WrTestDerpServer *
wr_test_derp_server_new(GTlsCertificate *cert);
void
wr_test_derp_server_free(WrTestDerpServer *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrTestDerpServer, wr_test_derp_server_free)

guint16
wr_test_derp_server_get_port(WrTestDerpServer *self);
/* "http://127.0.0.1:PORT/derp" or "https://localhost:PORT/derp"; g_free it */
gchar *
wr_test_derp_server_get_url(WrTestDerpServer *self);
const uint8_t *
wr_test_derp_server_get_public_key(WrTestDerpServer *self);

void
wr_test_derp_server_set_mode(WrTestDerpServer *self, WrTestDerpMode mode);
/* the body of the ServerInfo frames it sends from now on */
void
wr_test_derp_server_set_info(WrTestDerpServer *self, const WrDerpServerInfoBody *info);
/* bytes sent in the same write as the ServerInfo frame, right after it */
void
wr_test_derp_server_set_after_info(WrTestDerpServer *self, const guint8 *data, gsize len);
/* while off, relayed packets are counted but not delivered */
void
wr_test_derp_server_set_relay(WrTestDerpServer *self, gboolean relay);

/* while off, client Pings get no Pong */
void
wr_test_derp_server_set_answer_pings(WrTestDerpServer *self, gboolean answer);
/* stops or resumes reading from the connections of key (its socket buffers then fill up) */
void
wr_test_derp_server_pause_reading(WrTestDerpServer *self, const uint8_t key[32], gboolean paused);

/* connections logged in right now, and logins ever */
guint
wr_test_derp_server_count_clients(WrTestDerpServer *self);
guint
wr_test_derp_server_get_logins(WrTestDerpServer *self);
/* the last HTTP request head received (NUL-terminated), or NULL */
const gchar *
wr_test_derp_server_get_last_request(WrTestDerpServer *self);
/* the last ClientInfo body opened */
const WrDerpClientInfoBody *
wr_test_derp_server_get_last_client_info(WrTestDerpServer *self);
/* the NotePreferred last received from key: -1 none, 0 or 1 */
gint
wr_test_derp_server_get_preferred(WrTestDerpServer *self, const uint8_t key[32]);
/* how many NotePreferred frames key sent */
guint
wr_test_derp_server_get_preferred_count(WrTestDerpServer *self, const uint8_t key[32]);
/* SendPacket frames received, delivered to a local client, and ForwardPacket received */
guint
wr_test_derp_server_get_sent(WrTestDerpServer *self);
guint
wr_test_derp_server_get_delivered(WrTestDerpServer *self);
guint
wr_test_derp_server_get_forwarded(WrTestDerpServer *self);
/* Pings received from clients (answered), Pongs received and the last Pong's data */
guint
wr_test_derp_server_get_pings(WrTestDerpServer *self);
guint
wr_test_derp_server_get_pongs(WrTestDerpServer *self, guint8 out_last[8]);
/* WatchConns and ClosePeer frames received */
guint
wr_test_derp_server_get_watches(WrTestDerpServer *self);
guint
wr_test_derp_server_get_close_peers(WrTestDerpServer *self);

/* queues raw bytes (whole frames or garbage) to the newest logged-in connection of key; FALSE
 * when there is none */
gboolean
wr_test_derp_server_send(WrTestDerpServer *self, const uint8_t key[32], const guint8 *data,
			 gsize len);
/* sends data to key, then closes the connection once it is written */
gboolean
wr_test_derp_server_send_and_close(WrTestDerpServer *self, const uint8_t key[32],
				   const guint8 *data, gsize len);
/* closes the connections of key */
void
wr_test_derp_server_close_client(WrTestDerpServer *self, const uint8_t key[32]);
/* stops listening and closes every connection */
void
wr_test_derp_server_stop(WrTestDerpServer *self);
/* listens again on the same port */
void
wr_test_derp_server_restart(WrTestDerpServer *self);

/*
 * For the end of a test main() that did TLS: waits (up to a few seconds) until GLib's pool
 * threads have exited.  GIO runs TLS handshakes on pool threads, which keep gnutls's
 * thread-local state; when such a thread is still alive at exit, LeakSanitizer's scan of that
 * dlopen()ed TLS crashes (seen with GCC 12 and clang 14 on glibc 2.36).  Call
 * g_thread_pool_set_max_unused_threads(0) at the start so that idle threads leave.
 */
void
wr_test_derp_wait_pool_threads(void);
