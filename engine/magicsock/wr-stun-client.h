/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * An asynchronous STUN Binding client for the control plane (§5.3, §5.6): one query to one
 * server, on the thread-default GMainContext of the caller.  Not for the data path.
 *
 * Every transmission carries its own random transaction id, so the RTT of the answer is measured
 * from the send it answers (no Karn ambiguity).  Transmissions start at 0 ms and retransmit after
 * 100 ms, doubling (RFC 5389 §7.2.1), at most WR_STUN_CLIENT_MAX_TRIES times, all within the
 * timeout.  Datagrams that are not a well-formed Binding success for one of our transaction ids
 * are ignored and counted.
 */

#pragma once

#include <gio/gio.h>

#include "wr-addr.h"

/* RFC 5389's Rc */
#define WR_STUN_CLIENT_MAX_TRIES 7
/* RFC 5389's initial RTO, in ms */
#define WR_STUN_CLIENT_INITIAL_RTO_MS 100

/* socket: a UDP socket to send from and read the answer on, or NULL for a fresh non-blocking
 * socket of the server's family.  A given socket is only read while the query runs; its blocking
 * mode is left alone.  The callback runs on the thread-default main context of the caller. */
void
wr_stun_client_query_async(GSocket *socket, GSocketAddress *server, guint timeout_ms,
			   GCancellable *cancellable, GAsyncReadyCallback callback,
			   gpointer user_data);

/* on success the reflexive address the server saw (v4-mapped IPv6 unmapped) and the round trip
 * in µs; out parameters are untouched on failure.  G_IO_ERROR_TIMED_OUT when nothing answered
 * within the timeout, G_IO_ERROR_CANCELLED on cancellation, or the socket error. */
gboolean
wr_stun_client_query_finish(GAsyncResult *result, WrEndpoint *out_mapped, gint64 *out_rtt_us,
			    GError **error);

/* how many datagrams the query read and ignored (garbage, other transaction ids, read errors) */
guint
wr_stun_client_query_get_ignored(GAsyncResult *result);
