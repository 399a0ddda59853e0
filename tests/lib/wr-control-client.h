/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A blocking warren-control client for tests and benches: it speaks the sealed machine protocol
 * of docs/protocols/control.md as a node would (GET /key, register, map with and without a
 * stream) and can also send raw bytes, for tests of bad seals and replays.  Plain http:// only
 * (the tests run the server on loopback); one request per connection ("Connection: close"),
 * answers read with wr-control-http.  Every call has a timeout (default 30 s).  The keys live
 * in plain memory, wiped on free (test keys; a bench holds thousands of clients).  Not
 * thread-safe: one client per thread, though several clients may share a process.
 */

#pragma once

#include <glib.h>
#include <stdint.h>

#include <json-glib/json-glib.h>

#include "wr-control-http.h"
#include "wr-crypto.h"

/* the HTTP status as the code, the server's text as the message */
#define WR_CONTROL_CLIENT_HTTP_ERROR (wr_control_client_http_error_quark())
GQuark
wr_control_client_http_error_quark(void);

/* the largest sealed answer or stream frame the client accepts */
#define WR_CONTROL_CLIENT_MAX_BODY	     (64 * 1024 * 1024)
#define WR_CONTROL_CLIENT_DEFAULT_TIMEOUT_MS 30000

typedef struct _WrControlClient WrControlClient;
typedef struct _WrControlStream WrControlStream;

/* a client with a fresh random machine key, node key and disco key; server_url is http://host:port
 */
WrControlClient *
wr_control_client_new(const char *server_url, GError **error);
void
wr_control_client_free(WrControlClient *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrControlClient, wr_control_client_free)

/* for connecting, sending and each read of an answer (0 = wait for ever) */
void
wr_control_client_set_timeout(WrControlClient *c, guint timeout_ms);

const uint8_t *
wr_control_client_machine_public(WrControlClient *c);
/* the node key the request builders use, and a fresh one (for key rotation tests) */
const uint8_t *
wr_control_client_node_public(WrControlClient *c);
void
wr_control_client_new_node_key(WrControlClient *c);
const uint8_t *
wr_control_client_disco_public(WrControlClient *c);

/* GET /key?v=1: learns the server's public key */
gboolean
wr_control_client_fetch_key(WrControlClient *c, GError **error);
/* or sets it from another client's fetch (a bench with thousands of clients); NULL before */
void
wr_control_client_set_server_key(WrControlClient *c,
				 const uint8_t server_public[WR_CRYPTO_KEY_LEN]);
const uint8_t *
wr_control_client_server_key(WrControlClient *c);

/* "/machine/<own machine key hex>/<verb>"; g_free */
char *
wr_control_client_machine_path(WrControlClient *c, const char *verb);

/*
 * Seals a request: a copy of request with "version": 1 and "ts" (now, unless request has one)
 * added, as nonce || box with a fresh nonce.  Needs the server key.
 */
GBytes *
wr_control_client_seal(WrControlClient *c, JsonObject *request, GError **error);
/*
 * opens one sealed answer or stream frame from the server: its plaintext, NUL-terminated,
 * *out_len without the NUL (wipe with wr_memzero, then g_free); safe from another thread than
 * the client's once the server key is set
 */
guint8 *
wr_control_client_open_plain(WrControlClient *c, const void *sealed, gsize len, gsize *out_len,
			     GError **error);
/* the same into a JSON object */
JsonObject *
wr_control_client_open(WrControlClient *c, const void *sealed, gsize len, GError **error);

/*
 * POST /machine/<mkey>/<verb> of the sealed request; opens the sealed 200 answer.  Any other
 * status: an error in WR_CONTROL_CLIENT_HTTP_ERROR with the status as code and the server's
 * text as message.  Transport failures are G_IO_ERRORs (G_IO_ERROR_TIMED_OUT on a timeout).
 */
JsonObject *
wr_control_client_call(WrControlClient *c, const char *verb, JsonObject *request, GError **error);

/*
 * POSTs body as it is to path ("/machine/…/register", or anything else); returns the status
 * and the answer's body (a new reference, possibly empty).  FALSE only when the transport
 * failed.
 */
gboolean
wr_control_client_post_raw(WrControlClient *c, const char *path, const void *body, gsize len,
			   guint *out_status, GBytes **out_body, GError **error);

/*
 * A map stream: POST /map of request (its "stream" is set to true); returns once the 200 head
 * arrived.  Non-200 as for wr_control_client_call.
 */
WrControlStream *
wr_control_client_map_stream(WrControlClient *c, JsonObject *request, GError **error);
/*
 * The next frame, opened.  G_IO_ERROR_TIMED_OUT when none completes within timeout_ms (the
 * stream stays usable), G_IO_ERROR_CONNECTION_CLOSED when the server ended the stream, a
 * WR_CONTROL_HTTP_ERROR for a broken stream.
 */
JsonObject *
wr_control_stream_next(WrControlStream *s, guint timeout_ms, GError **error);
/* frames and body bytes read so far */
guint64
wr_control_stream_frames(WrControlStream *s);
guint64
wr_control_stream_bytes(WrControlStream *s);
void
wr_control_stream_free(WrControlStream *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrControlStream, wr_control_stream_free)

/*
 * Request builders, with the client's keys.  hostinfo: {"hostname", "os": "linux",
 * "os_version": "", "app_version": "warren-test", "routable_ips": [], "request_tags": []}.
 */
JsonObject *
wr_control_client_hostinfo(const char *hostname);
/* register: node_key, old_node_key "", auth_key (NULL = ""), followup "", logout false,
 * expiry 0, hostinfo */
JsonObject *
wr_control_client_register_request(WrControlClient *c, const char *auth_key, const char *hostname);
/*
 * map: node_key, disco_key, endpoints (each "ip:port", with type "stun"; NULL = none),
 * hostinfo, stream, omit_peers false
 */
JsonObject *
wr_control_client_map_request(WrControlClient *c, const char *const *endpoints, gboolean stream,
			      const char *hostname);
