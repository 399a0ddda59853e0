/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The decisions behind the tray's notifications, without GApplication, D-Bus or clocks: what
 * warrend said (peer events, engine state, the engine appearing and vanishing) and the time
 * come in; notifications to send or withdraw, and the next time the core wants to be woken
 * (wr_notify_core_tick), come out.  wr-tray-notify.c turns those into GNotifications and one
 * timer.  docs/tray-notifications.md describes what is sent when.
 *
 * Contract:
 *   - every entry point takes the time; the monotonic part only ever grows (µs, as
 *     g_get_monotonic_time), the wall part (µs, as g_get_real_time) is only used for the
 *     node key's expiry, which control gives as Unix time;
 *   - peer online/offline changes, new devices and the exit node going away are announced only
 *     once they have lasted coalesce_us; changes that come together are grouped into one
 *     notification, and a change undone within the window is never announced;
 *   - a class switched off in the config is tracked but never announced;
 *   - strings come in borrowed and are copied; actions are handed over with
 *     wr_notify_core_take_actions, oldest first.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* how long after the engine (re)starts its tunnel peer events are taken as the network map
 * being loaded rather than as news */
#define WR_NOTIFY_STARTUP_QUIET_US ((gint64) 10 * G_USEC_PER_SEC)
/* how long control may stay unreachable before the connection counts as lost: warrend keeps
 * the tunnel up on its last network map meanwhile, and a long poll is re-established often */
#define WR_NOTIFY_CONTROL_GRACE_US ((gint64) 60 * G_USEC_PER_SEC)
/* a peer that keeps flapping delays a group at most this many windows */
#define WR_NOTIFY_MAX_HOLD_WINDOWS 2
/* names listed in a group notification before "…" */
#define WR_NOTIFY_MAX_NAMES 5

/* the notification ids (a replaced notification reuses its id) */
#define WR_NOTIFY_ID_ONLINE	"peers-online"
#define WR_NOTIFY_ID_OFFLINE	"peers-offline"
#define WR_NOTIFY_ID_NEW_DEVICE "new-devices"
#define WR_NOTIFY_ID_EXIT_NODE	"exit-node"
#define WR_NOTIFY_ID_ACCOUNT	"account"
#define WR_NOTIFY_ID_CONNECTION "connection"

typedef struct {
	gboolean own_devices;	/* notify-own-devices */
	gboolean other_devices; /* notify-other-devices */
	gboolean new_devices;	/* notify-new-devices */
	gboolean exit_node;	/* notify-exit-node */
	gboolean connection;	/* notify-connection */
	gboolean account;	/* notify-account */
	gint64 coalesce_us;	/* coalesce-seconds, in µs */
} WrNotifyConfig;

typedef struct {
	gint64 mono; /* µs, monotonic */
	gint64 wall; /* µs since the Unix epoch */
} WrNotifyTime;

typedef struct {
	const gchar *id;
	const gchar *name;
	const gchar *user; /* "" when unknown */
	gboolean online;
	gint is_self_user; /* 1, 0, or -1 when warrend did not say */
} WrNotifyPeer;

typedef struct {
	const gchar *state;	       /* "Running", "NeedsLogin", ... ("" when unknown) */
	const gchar *user;	       /* Self's user, "" before the first network map */
	gint64 key_expiry;	       /* Self's key expiry, Unix seconds, 0 when none */
	gboolean control_unreachable;  /* Health says control cannot be reached */
	const gchar *exit_node_id;     /* "" for none */
	const WrNotifyPeer *exit_node; /* NULL when not in the current peer list */
} WrNotifyEngine;

typedef enum {
	WR_NOTIFY_SEND,
	WR_NOTIFY_WITHDRAW,
} WrNotifyVerb;

typedef struct {
	WrNotifyVerb verb;
	gchar *id;
	gchar *title;  /* translated; NULL for a withdrawal */
	gchar *body;   /* translated; NULL for a withdrawal */
	gchar *action; /* the detailed action a click activates ("app.devices"), or NULL */
	gboolean high; /* something stopped working: G_NOTIFICATION_PRIORITY_HIGH */
} WrNotifyAction;

typedef struct _WrNotifyCore WrNotifyCore;

void
wr_notify_action_free(WrNotifyAction *action);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrNotifyAction, wr_notify_action_free)

WrNotifyCore *
wr_notify_core_new(const WrNotifyConfig *config);
void
wr_notify_core_free(WrNotifyCore *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrNotifyCore, wr_notify_core_free)

/* a settings change; applies to what is announced from now on */
void
wr_notify_core_set_config(WrNotifyCore *self, WrNotifyTime now, const WrNotifyConfig *config);

/* kind: "added", "removed", "online", "offline", "path" (anything else is ignored) */
void
wr_notify_core_peer_event(WrNotifyCore *self, WrNotifyTime now, const gchar *kind,
			  const WrNotifyPeer *peer);
void
wr_notify_core_engine_state(WrNotifyCore *self, WrNotifyTime now, const WrNotifyEngine *engine);
void
wr_notify_core_engine_present(WrNotifyCore *self, WrNotifyTime now, gboolean present);

/* the timer asked for by wr_notify_core_next_deadline fired (calling it early is harmless) */
void
wr_notify_core_tick(WrNotifyCore *self, WrNotifyTime now);

/* the monotonic time (µs) at which wr_notify_core_tick is wanted, G_MAXINT64 for never */
gint64
wr_notify_core_next_deadline(WrNotifyCore *self);

/* the actions decided since the last call (a GPtrArray of WrNotifyAction, oldest first,
 * owned by the caller; empty when nothing is to be done) */
GPtrArray *
wr_notify_core_take_actions(WrNotifyCore *self);

/* whether one of warrend's Health sentences says that control cannot be reached */
gboolean
wr_notify_health_control_unreachable(const gchar *health);

G_END_DECLS
