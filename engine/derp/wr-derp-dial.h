/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Establishes one DERP connection (docs/protocols/derp-disco-stun.md §2.1, §2.5-§2.8): TCP,
 * TLS unless the URL is plain http to a loopback address, the HTTP upgrade, then the login:
 * ServerKey in, ClientInfo out, ServerInfo in.  The result is an established connection that
 * carries DERP frames from then on; the caller owns it and may move it to another thread (the
 * relay's mesh links do), so it exposes the stream, the socket and the bytes already read past
 * the ServerInfo frame.
 *
 * Runs on the thread-default GMainContext of the caller.  Fast start (§2.2) is not used: the
 * client always reads the 101 response and the ServerKey frame.
 *
 * Errors are GErrors whose message says what happened and where, prefixed with the server's
 * "host:port":
 *   G_IO_ERROR_INVALID_ARGUMENT  a bad URL or option, or plain http to a non-loopback address;
 *   G_IO_ERROR_TIMED_OUT         the whole dial, login included, took longer than timeout_ms;
 *   G_IO_ERROR_CANCELLED         the caller's cancellable fired;
 *   G_IO_ERROR_FAILED            an HTTP status other than 101;
 *   G_IO_ERROR_INVALID_DATA      a malformed response or frame, a ServerKey without the DERP
 *                                magic, a ServerInfo box that does not open;
 *   G_IO_ERROR_CONNECTION_CLOSED the server closed the connection during the dial;
 *   G_TLS_ERROR_*                the TLS handshake failed (a certificate that is not valid for
 *                                the expected name or does not match the pinned SHA-256);
 *   other G_IO_ERROR codes       from resolving and connecting.
 */

#pragma once

#include <stdint.h>

#include <gio/gio.h>

#include "wr-derp-info.h"

/* the whole dial, login included, when the options leave it at 0 (§2.1) */
#define WR_DERP_DIAL_DEFAULT_TIMEOUT_MS 10000
/* the HTTP response head (status line and headers) may not be longer than this */
#define WR_DERP_DIAL_MAX_RESPONSE_LEN 16384
/* an Ideal-Node value may not be longer than this */
#define WR_DERP_DIAL_MAX_IDEAL_NODE_LEN 256
/* the prefix of a DERP map CertName that pins the leaf certificate's SHA-256 */
#define WR_DERP_DIAL_CERT_PIN_PREFIX "sha256-raw:"

typedef struct {
	/* IP literal to dial instead of resolving the URL host (DERP map IPv4/IPv6), or NULL */
	const char *connect_address;
	/* DERP map CertName: "sha256-raw:<hex>" pins the leaf certificate; another value is the
	 * name to verify; NULL = the URL host.  SNI is always the URL host. */
	const char *cert_name;
	/* tests only (DERP map InsecureForTests): no certificate check, plain http anywhere */
	gboolean insecure_skip_verify;
	/* 32 bytes or NULL: sent as meshKey */
	const uint8_t *mesh_key;
	gboolean is_prober;
	/* AppName, at most 63 bytes of UTF-8, or NULL */
	const char *app_name;
	/* Ideal-Node header, or NULL */
	const char *ideal_node;
	/* the whole dial including login; 0 = WR_DERP_DIAL_DEFAULT_TIMEOUT_MS (§2.1) */
	guint timeout_ms;
} WrDerpDialOptions;

typedef struct {
	/* plain GSocketConnection or GTlsClientConnection; DERP framing continues here.  Dropping
	 * the last reference to it closes the connection. */
	GIOStream *stream;
	/* the underlying socket (for fd polling); non-blocking.  Over TLS, a readable fd is not
	 * the whole story: after it polls readable, read the stream (pollable, non-blocking) until
	 * G_IO_ERROR_WOULD_BLOCK, as the TLS layer may hold decrypted bytes the fd does not show */
	GSocket *socket;
	/* bytes already read past the ServerInfo frame: the start of the frame stream */
	GByteArray *pending;
	uint8_t server_key[32];
	WrDerpServerInfoBody server_info;
	/* the address connected to */
	GSocketAddress *remote;
} WrDerpConn;

/*
 * Dials url ("https://HOST[:PORT]/derp", or "http://HOST[:PORT]/derp" to a loopback address)
 * and logs in with node_private, which is copied (and wiped when the dial ends).  options may be
 * NULL for the defaults; the strings and the mesh key it points to are copied before this
 * returns.  The callback runs on the caller's thread-default main context.
 */
void
wr_derp_dial_async(const char *url, const uint8_t node_private[32],
		   const WrDerpDialOptions *options, GCancellable *cancellable,
		   GAsyncReadyCallback callback, gpointer user_data);
/* the established connection, or NULL with error set */
WrDerpConn *
wr_derp_dial_finish(GAsyncResult *result, GError **error);

/* drops the references the connection holds (the stream's last one closes it) and frees it;
 * accepts NULL.  Steal the fields first to keep the connection. */
void
wr_derp_conn_free(WrDerpConn *conn);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrDerpConn, wr_derp_conn_free)
