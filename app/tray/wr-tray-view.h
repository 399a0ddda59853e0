/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The tray's view: a pure function from what warrend says (WrTrayState, a snapshot the model
 * keeps) to what the tray shows (WrTrayView: icon, tooltip, status line, this device, the
 * devices and exit nodes, which actions can be used).  No GTK, no D-Bus, no clock: the menu,
 * the indicator and the status window only copy fields of the view, so that every decision
 * about what the user sees is here and unit-tested (tests/unit/test-tray-view.c).
 *
 * Labels meant for menus have '_' doubled (GTK and dbusmenu read a single '_' as a mnemonic).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* what warrend says: its properties and peers (data/io.github.warrenvpn.Engine1.xml).  Strings
 * are never NULL ("" when unknown); self and every peer are a{sv} dictionaries. */
typedef struct {
	gboolean present;	      /* warrend owns its bus name */
	const gchar *state;	      /* State */
	const gchar *auth_url;	      /* AuthURL */
	const gchar *control_url;     /* ControlURL */
	const gchar *exit_node;	      /* ExitNode: a peer id, "" for none */
	gboolean exit_node_allow_lan; /* ExitNodeAllowLAN */
	GVariant *self;		      /* Self; NULL or empty before the first network map */
	const gchar *const *health;   /* Health; NULL or empty when all is well */
	GVariant *const *peers;	      /* GetPeers + PeerEvent, sorted by name */
	guint n_peers;
} WrTrayState;

typedef enum {
	WR_TRAY_ICON_SIGNED_OUT, /* no daemon, signed out, waiting for approval, or stopped */
	WR_TRAY_ICON_CONNECTING, /* Starting: signed in, the first network map not applied */
	WR_TRAY_ICON_CONNECTED,	 /* Running */
	WR_TRAY_ICON_EXIT_NODE,	 /* Running, all Internet traffic through an exit node */
	WR_TRAY_ICON_DEGRADED, /* Running with a Health problem, or relayed to every active peer */
} WrTrayIcon;

/* one line of the "Network devices" submenu */
typedef struct {
	gchar *key;	/* stable across updates: "peer:<id>" or "user:<login>" */
	gchar *label;	/* escaped; a peer: "name — direct", a header: the owner */
	gchar *address; /* the first tailnet address (copied on click); NULL for a header */
	gboolean header;
	gboolean online;
} WrTrayViewDevice;

/* one radio item of the "Exit node" submenu, after "None" */
typedef struct {
	gchar *id;    /* the peer id (SetExitNode's argument) */
	gchar *label; /* escaped */
	gboolean sensitive;
	gboolean active;
} WrTrayViewExit;

typedef struct {
	WrTrayIcon icon;
	gchar *tooltip;	       /* several lines: status, exit node, each Health entry */
	gchar *status;	       /* "Connected as alice@example.com"; escaped */
	gchar *device;	       /* "This device: n0 (100.64.0.1)"; escaped */
	gchar *device_address; /* NULL before the first network map */
	gboolean show_connect; /* Connect shown, else Disconnect */
	gboolean connect_sensitive;
	gboolean disconnect_sensitive;
	gboolean show_sign_in; /* Sign in… shown, else Sign out */
	gboolean sign_in_sensitive;
	gboolean sign_out_sensitive;
	gboolean devices_sensitive;
	GPtrArray *devices; /* WrTrayViewDevice: mine, then others' grouped by owner */
	gboolean exit_sensitive;
	gboolean exit_none_active;
	GPtrArray *exit_nodes; /* WrTrayViewExit */
	gboolean allow_lan;
	gboolean allow_lan_sensitive;
	gboolean windows_sensitive; /* Preferences, Devices, Activity need warrend */
} WrTrayView;

WrTrayView *
wr_tray_view_new(const WrTrayState *state);
void
wr_tray_view_free(WrTrayView *view);

/* the icon's name in the theme (icons/hicolor/scalable/status) */
const gchar *
wr_tray_icon_name(WrTrayIcon icon);
/* a short description of the icon for screen readers ("Connected") */
const gchar *
wr_tray_icon_description(WrTrayIcon icon);

/* label with every '_' doubled, for a menu item that reads mnemonics */
gchar *
wr_tray_view_escape(const gchar *label);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrTrayView, wr_tray_view_free)

G_END_DECLS
