/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The STUN server of warren-derp (docs/protocols/derp-disco-stun.md §5): answers every
 * well-formed Binding request with the source address it came from (XOR-MAPPED-ADDRESS), as
 * Tailscale's stunserver does, and drops everything else.  It runs on a thread of its own
 * with batched receives and sends (recvmmsg/sendmmsg), so a flood of probes never reaches the
 * GLib main loop.
 */

#pragma once

#include <gio/gio.h>

typedef struct WrStunServer WrStunServer;

typedef struct {
	guint64 requests;  /* Binding requests answered */
	guint64 malformed; /* datagrams that were not a Binding request we accept */
	guint64 send_errors;
} WrStunServerStats;

/* binds address ("203.0.113.1:3478", "[::]:3478") and starts answering */
WrStunServer *
wr_stun_server_new(const char *address, GError **error);
void
wr_stun_server_free(WrStunServer *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrStunServer, wr_stun_server_free)

/* the bound port (useful with port 0) */
guint16
wr_stun_server_get_port(WrStunServer *self);
void
wr_stun_server_get_stats(WrStunServer *self, WrStunServerStats *out);
