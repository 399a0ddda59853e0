/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The tray's notifications (GNotification): peers online/offline (coalesced), new devices,
 * exit node unavailable, sign-in needed / key expiring, connection lost / restored, signed in.
 * The tray feeds it what warrend says; it decides what is worth telling the user. */
typedef struct _WrNotifier WrNotifier;

WrNotifier *
wr_notifier_new(GApplication *app, GSettings *settings);
void
wr_notifier_free(WrNotifier *self);

/* warrend's PeerEvent signal: kind "added", "removed", "online", "offline", "path";
 * peer is the a{sv} peer dictionary of data/io.github.warrenvpn.Engine1.xml */
void
wr_notifier_peer_event(WrNotifier *self, const gchar *kind, GVariant *peer);

/* after any engine property changed (and once at start, when the tray first reads them):
 * State, Self (a{sv}), Health, ExitNode (peer id or "") and the peer dictionary of the exit
 * node when it is in the current peer list (NULL otherwise) */
void
wr_notifier_engine_state(WrNotifier *self, const gchar *state, GVariant *self_dict,
			 const gchar *const *health, const gchar *exit_node_id,
			 GVariant *exit_node_peer);

/* warrend left the bus (crashed, stopped) or came back */
void
wr_notifier_engine_present(WrNotifier *self, gboolean present);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrNotifier, wr_notifier_free)

G_END_DECLS
