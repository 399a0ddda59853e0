/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * WrDaemon: warrend's control plane (docs/warrend.md, "What warrend does today"): the D-Bus
 * object io.github.warrenvpn.Engine1 (the skeleton generated from the interface XML) joined to
 * the state directory (wr-state) and the control client (engine/control/wr-control-conn).
 *
 *   - properties: State, AuthURL, ControlURL, Self, ExitNode, ExitNodeAllowLAN and Health, kept
 *     up to date from the prefs, the state's problems, the control client and its network map;
 *   - methods: Up, Down, Login, LoginWithAuthKey, Logout, SetControlURL, SetPrefs, GetPeers;
 *     every argument is checked before anything changes, errors are WR_DBUS_ERROR names;
 *     Ping, Netcheck, GetFlows and SetExitNode need the data plane and fail with Failed "not
 *     implemented yet in this build";
 *   - PeerEvent signals from the netmap's change report (added, removed, online, offline);
 *   - the network map saved to the state directory on every change and restored at start.
 *
 * polkit: with use_polkit every method is authorized for the caller's system bus name with the
 * action the XML names; without it (a private test bus) nothing is checked.
 *
 * No data plane yet: "Running" means signed in, want-running and a network map held.  Runs on
 * the thread-default main context of its creator; not thread-safe.
 */
#pragma once

#include <gio/gio.h>

#include "wr-state.h"

typedef struct _WrDaemon WrDaemon;

typedef struct {
	/* FALSE: the control plane only (no TUN, no WireGuard; tests of the API without root) */
	gboolean data_plane;
	const char *tun_name; /* NULL: "warren0" */
	guint16 port;	      /* the UDP port; 0 picks one */
	const char *ca_file;  /* PEM CAs to trust for the control server instead of the system's */
	const char *resolv_conf; /* MagicDNS's upstreams; NULL: /etc/resolv.conf */
} WrDaemonOptions;

/*
 * Takes the loaded state (owned from now on), exports the object on bus (the name is the
 * caller's business).  control_url: used (and saved) when the prefs have none; NULL for none.
 * NULL with an error when the object cannot be exported.
 */
WrDaemon *
wr_daemon_new(WrState *state, GDBusConnection *bus, gboolean use_polkit, const char *control_url,
	      const WrDaemonOptions *options, GError **error);

/* unexports, stops the control client (no logout); the state stays on disk */
void
wr_daemon_free(WrDaemon *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrDaemon, wr_daemon_free)
