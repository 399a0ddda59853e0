/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The firewall mark (SO_MARK) on warrend's own sockets: the WireGuard/disco UDP socket, DERP
 * and control connections, STUN, netcheck and port-mapping probes.  With an exit node in use,
 * the policy rules (docs/exit-nodes.md) send marked packets to the main table and everything
 * else into the tunnel; a socket of warrend's without the mark would loop into its own tunnel.
 *
 * One mark per process: every socket of warrend is its own, and the value is set once at
 * start-up (wr_sockmark_set) rather than threaded through every dialer's options.  0 (the
 * default) marks nothing, so tools and tests that never set it are unaffected.  Setting
 * SO_MARK needs CAP_NET_ADMIN; a failure is logged once and the socket is used unmarked.
 */
#pragma once

#include <stdint.h>

#include <gio/gio.h>
#include <libsoup/soup.h>

void
wr_sockmark_set(uint32_t mark);
uint32_t
wr_sockmark_get(void);

/* marks fd (nothing when the mark is 0); 0 or an errno */
int
wr_sockmark_apply_fd(int fd);
/* marks every socket client connects, before it connects (the "event" signal at
 * G_SOCKET_CLIENT_CONNECTING) */
void
wr_sockmark_watch_client(GSocketClient *client);
/* the same for the connection libsoup opens for msg (SoupMessage::network-event) */
void
wr_sockmark_watch_message(SoupMessage *msg);
