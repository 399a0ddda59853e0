/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * netcheck, the runner (docs/protocols/derp-disco-stun.md §5.6): drives the pure core of
 * wr-netcheck with real time, real STUN traffic and the HTTPS fallback, on the thread-default
 * GMainContext of the caller of wr_netcheck_client_get_report_async().
 *
 * STUN must leave from the socket whose NAT mapping the peers will use (§7.15): the shared
 * WireGuard/disco socket.  So the client does not need a socket of its own: it sends through
 * a WrNetcheckSendFunc and the socket owner hands it every STUN datagram it demultiplexes with
 * wr_netcheck_client_feed().  For tools and tests, wr_netcheck_client_new_with_sockets() binds
 * plain IPv4 and IPv6 sockets and reads them itself.
 *
 * Replies are matched by their random transaction id; anything else fed in is ignored and
 * counted.  When no STUN reply came back at all, each eligible region gets
 * `GET https://<HostName>/derp/latency-check` (libsoup), connecting to the node's IPv4 (else
 * IPv6) literal when it has one, with TLS checked against HostName, CertName or a
 * `sha256-raw:` pin, or not at all for InsecureForTests nodes; the time from the request to
 * the response headers is the region's latency.  The ICMP fallback is not implemented.
 *
 * One report at a time; the history kept between reports picks incremental reports and the
 * home region (wr-netcheck.h).
 */

#pragma once

#include <stdbool.h>

#include <gio/gio.h>

#include "wr-derp-map.h"
#include "wr-netcheck.h"

#define WR_TYPE_NETCHECK_CLIENT (wr_netcheck_client_get_type())
G_DECLARE_FINAL_TYPE(WrNetcheckClient, wr_netcheck_client, WR, NETCHECK_CLIENT, GObject)

/* sends one datagram to `to` from the socket whose mapping netcheck measures; returns 0, or a
 * negative errno (EPERM, EAGAIN and ENOBUFS count as a lost packet, anything else as "cannot
 * send").  Called on the report's main context, never after the report ended. */
typedef int (*WrNetcheckSendFunc)(const guint8 *pkt, gsize len, const WrEndpoint *to,
				  gpointer user_data);

typedef enum {
	WR_NETCHECK_FLAG_NONE = 0,
	/* a full report even when an incremental one would do (e.g. the map changed) */
	WR_NETCHECK_FLAG_FULL = 1 << 0,
} WrNetcheckFlags;

/* have_v4/have_v6: which families send_func can reach */
WrNetcheckClient *
wr_netcheck_client_new(WrNetcheckSendFunc send_func, gpointer user_data,
		       GDestroyNotify user_data_free, bool have_v4, bool have_v6);
/* with its own UDP sockets on 0.0.0.0:0 and, when the host has IPv6, [::]:0 */
WrNetcheckClient *
wr_netcheck_client_new_with_sockets(GError **error);
/* the local address of the convenience socket of family (AF_INET/AF_INET6); FALSE without one */
gboolean
wr_netcheck_client_get_local_address(WrNetcheckClient *self, int family, WrEndpoint *out_addr);

/* a STUN datagram (wr_stun_is_stun) the socket owner received from `from` at now; TRUE when it
 * answered a probe of the report in progress.  Call on the report's main context. */
gboolean
wr_netcheck_client_feed(WrNetcheckClient *self, const guint8 *pkt, gsize len,
			const WrEndpoint *from, gint64 now);
/* datagrams fed in (or read) and ignored, over the client's life */
guint
wr_netcheck_client_get_ignored(WrNetcheckClient *self);

/* a DERP frame came from region_id (for the home-region stickiness, §5.7) */
void
wr_netcheck_client_note_derp_frame(WrNetcheckClient *self, guint64 region_id, gint64 now);
void
wr_netcheck_client_set_forced_home(WrNetcheckClient *self, guint64 region_id);
/* the last finished report, NULL before the first */
const WrNetcheckReport *
wr_netcheck_client_get_last_report(WrNetcheckClient *self);

/* runs one report against map (copied); G_IO_ERROR_PENDING while another one runs */
void
wr_netcheck_client_get_report_async(WrNetcheckClient *self, const WrDerpMap *map,
				    WrNetcheckFlags flags, GCancellable *cancellable,
				    GAsyncReadyCallback callback, gpointer user_data);
/* the report with its PreferredDERP; NULL with G_IO_ERROR_CANCELLED when cancelled */
WrNetcheckReport *
wr_netcheck_client_get_report_finish(WrNetcheckClient *self, GAsyncResult *result, GError **error);
