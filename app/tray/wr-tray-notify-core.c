/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define G_LOG_DOMAIN "WrNotifyCore"

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "wr-tray-notify-core.h"

#define DAY_US	((gint64) 24 * 60 * 60 * G_USEC_PER_SEC)
#define HOUR_US ((gint64) 60 * 60 * G_USEC_PER_SEC)
#define MIN_US	((gint64) 60 * G_USEC_PER_SEC)

/* the key-expiry warnings, longest first: each is given once per key */
static const gint64 key_thresholds[] = {7 * DAY_US, DAY_US, HOUR_US};
#define N_KEY_THRESHOLDS G_N_ELEMENTS(key_thresholds)

typedef struct {
	gchar *id;
	gchar *name;
	gchar *user;
	gint is_self_user;
	gboolean online;    /* as warrend says now */
	gboolean announced; /* as the user was last told, or as it was when first seen */
	gint64 changed_at;  /* when online last changed */
	gboolean added_pending;
	gint64 added_at;
} Peer;

typedef enum {
	PROBLEM_NONE,
	PROBLEM_GONE,	     /* warrend left the bus */
	PROBLEM_NOT_RUNNING, /* State left Running by itself */
	PROBLEM_CONTROL,     /* Health: control unreachable */
} Problem;

typedef enum {
	ACCOUNT_NONE,
	ACCOUNT_SIGN_IN,
	ACCOUNT_SIGNED_IN,
	ACCOUNT_KEY,
} AccountShown;

struct _WrNotifyCore {
	WrNotifyConfig config;
	GPtrArray *actions;
	GHashTable *peers;  /* id → Peer */
	gint64 wall_offset; /* wall - mono at the last call */

	/* the engine */
	gboolean present;
	gchar *state; /* "" when unknown */
	gchar *self_user;
	gboolean seen_absent;	 /* warrend vanished since State was last Running */
	gboolean running_seen;	 /* State was Running since warrend (re)appeared */
	gint64 quiet_until;	 /* peer events before this are the map loading */
	gboolean want_connected; /* the last settled State was Running */

	/* connection lost / restored */
	gboolean control_unreachable;
	gint64 control_since;
	Problem problem;
	gint64 problem_since;
	gboolean lost_shown;   /* the loss was decided on (announced or not) */
	gboolean lost_visible; /* ... and announced */

	/* the account */
	gboolean signed_in_seen;
	gboolean awaiting_signin;
	AccountShown account_shown;
	gint64 key_expiry; /* Unix seconds, 0 for none */
	guint key_done;	   /* bit i: key_thresholds[i] was announced */

	/* the exit node */
	gchar *exit_id;
	gchar *exit_name;
	gboolean exit_known; /* its availability was judged since it was chosen */
	gboolean exit_available;
	gboolean exit_announced;
	gboolean exit_vanished;
	gint64 exit_changed_at;
	gboolean exit_shown; /* "unavailable" is on screen */
};

void
wr_notify_action_free(WrNotifyAction *action)
{
	if (action == NULL)
		return;
	g_free(action->id);
	g_free(action->title);
	g_free(action->body);
	g_free(action->action);
	g_free(action);
}

static void
peer_free(Peer *peer)
{
	g_free(peer->id);
	g_free(peer->name);
	g_free(peer->user);
	g_free(peer);
}

WrNotifyCore *
wr_notify_core_new(const WrNotifyConfig *config)
{
	WrNotifyCore *self = g_new0(WrNotifyCore, 1);

	self->config = *config;
	self->actions = g_ptr_array_new_with_free_func((GDestroyNotify) wr_notify_action_free);
	self->peers =
		g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify) peer_free);
	self->state = g_strdup("");
	self->self_user = g_strdup("");
	self->present = TRUE;
	return self;
}

void
wr_notify_core_free(WrNotifyCore *self)
{
	if (self == NULL)
		return;
	g_ptr_array_unref(self->actions);
	g_hash_table_unref(self->peers);
	g_free(self->state);
	g_free(self->self_user);
	g_free(self->exit_id);
	g_free(self->exit_name);
	g_free(self);
}

static gboolean
streq(const gchar *a, const gchar *b)
{
	return g_strcmp0(a, b) == 0;
}

static void
set_str(gchar **field, const gchar *value)
{
	if (streq(*field, value))
		return;
	g_free(*field);
	*field = g_strdup(value);
}

static void
send(WrNotifyCore *self, const gchar *id, gchar *title, gchar *body, const gchar *action,
     gboolean high)
{
	WrNotifyAction *a = g_new0(WrNotifyAction, 1);

	a->verb = WR_NOTIFY_SEND;
	a->id = g_strdup(id);
	a->title = title;
	a->body = body;
	a->action = g_strdup(action);
	a->high = high;
	g_ptr_array_add(self->actions, a);
}

static void
withdraw(WrNotifyCore *self, const gchar *id)
{
	WrNotifyAction *a = g_new0(WrNotifyAction, 1);

	a->verb = WR_NOTIFY_WITHDRAW;
	a->id = g_strdup(id);
	g_ptr_array_add(self->actions, a);
}

static gboolean
quiet(WrNotifyCore *self, WrNotifyTime now)
{
	return !self->present || !self->running_seen || now.mono < self->quiet_until;
}

/* ---- peers ---- */

static gboolean
peer_is_own(WrNotifyCore *self, const Peer *peer)
{
	if (peer->is_self_user >= 0)
		return peer->is_self_user > 0;
	return *self->self_user != '\0' && streq(peer->user, self->self_user);
}

static gboolean
peer_pending(const Peer *peer)
{
	return peer->online != peer->announced;
}

static gchar *
peer_label(WrNotifyCore *self, const Peer *peer)
{
	const gchar *name = *peer->name != '\0' ? peer->name : peer->id;

	if (peer_is_own(self, peer) || *peer->user == '\0')
		return g_strdup(name);
	/* TRANSLATORS: another person's device in a notification: "phone (bob@example.com)" */
	return g_strdup_printf(_("%s (%s)"), name, peer->user);
}

static Peer *
peer_update(WrNotifyCore *self, const WrNotifyPeer *in)
{
	Peer *peer = g_hash_table_lookup(self->peers, in->id);

	if (peer == NULL) {
		peer = g_new0(Peer, 1);
		peer->id = g_strdup(in->id);
		peer->online = peer->announced = in->online;
		g_hash_table_insert(self->peers, peer->id, peer);
	}
	set_str(&peer->name, in->name != NULL ? in->name : "");
	set_str(&peer->user, in->user != NULL ? in->user : "");
	peer->is_self_user = in->is_self_user;
	return peer;
}

static void
peer_set_online(WrNotifyCore *self, WrNotifyTime now, Peer *peer, gboolean online)
{
	if (peer->online != online) {
		peer->online = online;
		peer->changed_at = now.mono;
	}
	if (quiet(self, now))
		peer->announced = online;
}

static gint
peer_cmp_name(gconstpointer a, gconstpointer b)
{
	const Peer *pa = *(const Peer *const *) a;
	const Peer *pb = *(const Peer *const *) b;
	gint r = g_utf8_collate(pa->name, pb->name);

	return r != 0 ? r : strcmp(pa->id, pb->id);
}

static gchar *
join_names(WrNotifyCore *self, GPtrArray *peers)
{
	g_autoptr(GString) s = g_string_new(NULL);

	for (guint i = 0; i < peers->len && i < WR_NOTIFY_MAX_NAMES; i++) {
		g_autofree gchar *label = peer_label(self, peers->pdata[i]);

		if (i > 0)
			/* TRANSLATORS: between device names in a list */
			g_string_append(s, _(", "));
		g_string_append(s, label);
	}
	if (peers->len > WR_NOTIFY_MAX_NAMES)
		g_string_append(s, _(", …"));
	return g_string_free(g_steal_pointer(&s), FALSE);
}

static void
announce_peers(WrNotifyCore *self, GPtrArray *peers, gboolean online)
{
	g_autofree gchar *names = NULL;
	guint n = peers->len;

	if (n == 0)
		return;
	g_ptr_array_sort(peers, peer_cmp_name);
	names = join_names(self, peers);
	if (online && n == 1)
		send(self, WR_NOTIFY_ID_ONLINE, g_strdup(_("Device online")),
		     g_strdup_printf(_("%s came online"), names), "app.devices", FALSE);
	else if (online)
		send(self, WR_NOTIFY_ID_ONLINE, g_strdup(_("Devices online")),
		     g_strdup_printf(
			     ngettext("%u device came online: %s", "%u devices came online: %s", n),
			     n, names),
		     "app.devices", FALSE);
	else if (n == 1)
		send(self, WR_NOTIFY_ID_OFFLINE, g_strdup(_("Device offline")),
		     g_strdup_printf(_("%s went offline"), names), "app.devices", FALSE);
	else
		send(self, WR_NOTIFY_ID_OFFLINE, g_strdup(_("Devices offline")),
		     g_strdup_printf(ngettext("%u device went offline: %s",
					      "%u devices went offline: %s", n),
				     n, names),
		     "app.devices", FALSE);
}

static void
announce_new(WrNotifyCore *self, GPtrArray *peers)
{
	g_autofree gchar *names = NULL;
	guint n = peers->len;

	if (n == 0)
		return;
	g_ptr_array_sort(peers, peer_cmp_name);
	names = join_names(self, peers);
	send(self, WR_NOTIFY_ID_NEW_DEVICE, g_strdup(ngettext("New device", "New devices", n)),
	     n == 1 ? g_strdup_printf(_("%s joined your network"), names)
		    : g_strdup_printf(ngettext("%u new device joined your network: %s",
					       "%u new devices joined your network: %s", n),
				      n, names),
	     "app.devices", FALSE);
}

/* when the pending peer changes are due: once the last of them has lasted a window, but no
 * later than WR_NOTIFY_MAX_HOLD_WINDOWS windows after the first (a peer that keeps flapping
 * does not hold the others back for ever) */
static gint64
peers_deadline(WrNotifyCore *self)
{
	gint64 w = self->config.coalesce_us;
	gint64 earliest = G_MAXINT64, latest = G_MININT64;
	GHashTableIter iter;
	Peer *peer;

	g_hash_table_iter_init(&iter, self->peers);
	while (g_hash_table_iter_next(&iter, NULL, (gpointer *) &peer)) {
		if (peer_pending(peer)) {
			earliest = MIN(earliest, peer->changed_at);
			latest = MAX(latest, peer->changed_at);
		}
		if (peer->added_pending) {
			earliest = MIN(earliest, peer->added_at);
			latest = MAX(latest, peer->added_at);
		}
	}
	if (earliest == G_MAXINT64)
		return G_MAXINT64;
	return MIN(latest + w, earliest + WR_NOTIFY_MAX_HOLD_WINDOWS * w);
}

static void
flush_peers(WrNotifyCore *self, WrNotifyTime now)
{
	gint64 w = self->config.coalesce_us;
	g_autoptr(GPtrArray) online = g_ptr_array_new();
	g_autoptr(GPtrArray) offline = g_ptr_array_new();
	g_autoptr(GPtrArray) added = g_ptr_array_new();
	GHashTableIter iter;
	Peer *peer;

	if (now.mono < peers_deadline(self))
		return;
	g_hash_table_iter_init(&iter, self->peers);
	while (g_hash_table_iter_next(&iter, NULL, (gpointer *) &peer)) {
		gboolean is_new = FALSE;

		if (peer->added_pending && now.mono - peer->added_at >= w) {
			peer->added_pending = FALSE;
			is_new = self->config.new_devices;
			if (is_new)
				g_ptr_array_add(added, peer);
		}
		if (peer_pending(peer) && now.mono - peer->changed_at >= w) {
			peer->announced = peer->online;
			/* a new device's coming online is part of its joining */
			if (!is_new && (peer_is_own(self, peer) ? self->config.own_devices
								: self->config.other_devices))
				g_ptr_array_add(peer->online ? online : offline, peer);
		}
	}
	announce_new(self, added);
	announce_peers(self, offline, FALSE);
	announce_peers(self, online, TRUE);
}

/* ---- the exit node ---- */

static void
exit_judge(WrNotifyCore *self, WrNotifyTime now, gboolean available, gboolean vanished)
{
	if (!self->exit_known) {
		self->exit_known = TRUE;
		self->exit_available = self->exit_announced = available;
		self->exit_vanished = vanished;
		self->exit_changed_at = now.mono;
		return;
	}
	self->exit_vanished = vanished;
	if (available != self->exit_available) {
		self->exit_available = available;
		self->exit_changed_at = now.mono;
	}
}

static gint64
exit_deadline(WrNotifyCore *self)
{
	if (!self->exit_known || self->exit_available == self->exit_announced)
		return G_MAXINT64;
	return self->exit_changed_at + self->config.coalesce_us;
}

static void
flush_exit(WrNotifyCore *self, WrNotifyTime now)
{
	const gchar *name;

	if (now.mono < exit_deadline(self))
		return;
	self->exit_announced = self->exit_available;
	name = self->exit_name != NULL && *self->exit_name != '\0' ? self->exit_name
								   : self->exit_id;
	if (!self->exit_available) {
		if (!self->config.exit_node)
			return;
		send(self, WR_NOTIFY_ID_EXIT_NODE, g_strdup(_("Exit node unavailable")),
		     g_strdup_printf(self->exit_vanished
					     ? _("%s left the network. Choose another exit node "
						 "or turn it off.")
					     : _("%s went offline. Choose another exit node or "
						 "turn it off."),
				     name),
		     "app.devices", TRUE);
		self->exit_shown = TRUE;
	} else if (self->exit_shown) {
		self->exit_shown = FALSE;
		send(self, WR_NOTIFY_ID_EXIT_NODE, g_strdup(_("Exit node available")),
		     g_strdup_printf(_("Internet traffic goes through %s again."), name),
		     "app.devices", FALSE);
	}
}

static void
exit_peer_event(WrNotifyCore *self, WrNotifyTime now, const gchar *kind, const WrNotifyPeer *peer)
{
	if (self->exit_id == NULL || !streq(peer->id, self->exit_id) || !self->exit_known)
		return;
	if (peer->name != NULL && *peer->name != '\0')
		set_str(&self->exit_name, peer->name);
	if (streq(kind, "online"))
		exit_judge(self, now, TRUE, FALSE);
	else if (streq(kind, "offline"))
		exit_judge(self, now, FALSE, FALSE);
	else if (streq(kind, "removed"))
		exit_judge(self, now, FALSE, TRUE);
	else if (streq(kind, "added"))
		exit_judge(self, now, peer->online, FALSE);
}

static void
exit_forget(WrNotifyCore *self)
{
	if (self->exit_shown)
		withdraw(self, WR_NOTIFY_ID_EXIT_NODE);
	self->exit_shown = FALSE;
	self->exit_known = FALSE;
}

static void
exit_engine_state(WrNotifyCore *self, WrNotifyTime now, const WrNotifyEngine *engine)
{
	const gchar *id = engine->exit_node_id != NULL ? engine->exit_node_id : "";

	if (!streq(id, self->exit_id != NULL ? self->exit_id : "")) {
		exit_forget(self);
		set_str(&self->exit_id, id);
		g_clear_pointer(&self->exit_name, g_free);
	}
	if (*id == '\0')
		return;
	if (engine->exit_node != NULL && engine->exit_node->name != NULL &&
	    *engine->exit_node->name != '\0')
		set_str(&self->exit_name, engine->exit_node->name);
	/* whether the exit node is in the map only means something once there is a map */
	if (!streq(self->state, "Running"))
		return;
	if (engine->exit_node != NULL)
		exit_judge(self, now, engine->exit_node->online, FALSE);
	else if (self->exit_known)
		exit_judge(self, now, FALSE, TRUE);
	/* else: not in the tray's peer list, which may not be read yet; the exit node's first
	 * state comes with it */
}

/* ---- connection lost / restored ---- */

static Problem
current_problem(WrNotifyCore *self)
{
	if (!self->present)
		return self->want_connected ? PROBLEM_GONE : PROBLEM_NONE;
	if (streq(self->state, "Running"))
		return self->control_unreachable ? PROBLEM_CONTROL : PROBLEM_NONE;
	/* Stopped is the user's own doing, NeedsLogin has its own notification */
	if (self->want_connected && !streq(self->state, "Stopped") &&
	    !streq(self->state, "NeedsLogin"))
		return PROBLEM_NOT_RUNNING;
	return PROBLEM_NONE;
}

static gint64
connection_deadline(WrNotifyCore *self)
{
	if (self->problem == PROBLEM_NONE || self->lost_shown)
		return G_MAXINT64;
	if (self->problem == PROBLEM_CONTROL)
		return self->control_since + WR_NOTIFY_CONTROL_GRACE_US;
	return self->problem_since + self->config.coalesce_us;
}

static void
update_connection(WrNotifyCore *self, WrNotifyTime now)
{
	Problem problem = current_problem(self);
	const gchar *body;

	if (problem == PROBLEM_NONE) {
		if (self->lost_visible) {
			if (self->present && streq(self->state, "Running"))
				send(self, WR_NOTIFY_ID_CONNECTION,
				     g_strdup(_("Connection restored")),
				     g_strdup(_("Connected to your network again.")), "app.devices",
				     FALSE);
			else
				withdraw(self, WR_NOTIFY_ID_CONNECTION);
		}
		self->problem = PROBLEM_NONE;
		self->lost_shown = FALSE;
		self->lost_visible = FALSE;
		return;
	}
	if (self->problem == PROBLEM_NONE)
		self->problem_since = now.mono;
	self->problem = problem;
	if (self->lost_shown || now.mono < connection_deadline(self))
		return;
	self->lost_shown = TRUE;
	if (!self->config.connection)
		return;
	self->lost_visible = TRUE;
	switch (problem) {
	case PROBLEM_GONE:
		body = _("The Warren service stopped.");
		break;
	case PROBLEM_CONTROL:
		body = _("Cannot reach the control server. Connections already made keep "
			 "working for now.");
		break;
	case PROBLEM_NOT_RUNNING:
	case PROBLEM_NONE:
	default:
		body = _("The connection to your network dropped. Reconnecting…");
		break;
	}
	send(self, WR_NOTIFY_ID_CONNECTION, g_strdup(_("Connection lost")), g_strdup(body),
	     "app.preferences", TRUE);
}

/* ---- the account ---- */

static gchar *
format_remaining(gint64 remaining)
{
	if (remaining >= DAY_US - 30 * MIN_US) {
		guint days = (guint) MAX(1, (remaining + DAY_US / 2) / DAY_US);

		return g_strdup_printf(ngettext("This device's key expires in %u day. Sign in "
						"again to stay connected.",
						"This device's key expires in %u days. Sign in "
						"again to stay connected.",
						days),
				       days);
	}
	if (remaining >= HOUR_US - 30 * G_USEC_PER_SEC) {
		guint hours = (guint) MAX(1, (remaining + HOUR_US / 2) / HOUR_US);

		return g_strdup_printf(ngettext("This device's key expires in %u hour. Sign in "
						"again to stay connected.",
						"This device's key expires in %u hours. Sign in "
						"again to stay connected.",
						hours),
				       hours);
	}
	{
		guint minutes = (guint) MAX(1, (remaining + MIN_US - 1) / MIN_US);

		return g_strdup_printf(ngettext("This device's key expires in %u minute. Sign "
						"in again to stay connected.",
						"This device's key expires in %u minutes. Sign "
						"in again to stay connected.",
						minutes),
				       minutes);
	}
}

static gboolean
key_watched(WrNotifyCore *self)
{
	return self->key_expiry > 0 && self->present && !streq(self->state, "NeedsLogin") &&
	       !streq(self->state, "");
}

static gint64
key_deadline(WrNotifyCore *self)
{
	gint64 expiry_mono;

	if (!key_watched(self))
		return G_MAXINT64;
	expiry_mono = self->key_expiry * G_USEC_PER_SEC - self->wall_offset;
	for (guint i = 0; i < N_KEY_THRESHOLDS; i++)
		if ((self->key_done & (1u << i)) == 0)
			return expiry_mono - key_thresholds[i];
	return G_MAXINT64;
}

static void
check_key(WrNotifyCore *self, WrNotifyTime now)
{
	gint64 remaining;
	gint hit = -1;

	if (!key_watched(self))
		return;
	remaining = self->key_expiry * G_USEC_PER_SEC - now.wall;
	if (remaining <= 0) {
		/* expired: State becomes NeedsLogin, which has its own notification */
		self->key_done = (1u << N_KEY_THRESHOLDS) - 1;
		return;
	}
	for (guint i = 0; i < N_KEY_THRESHOLDS; i++)
		if (remaining <= key_thresholds[i] && (self->key_done & (1u << i)) == 0)
			hit = (gint) i;
	if (hit < 0)
		return;
	/* one notification for the most urgent threshold crossed; the longer ones are moot */
	self->key_done |= (1u << (hit + 1)) - 1;
	if (!self->config.account)
		return;
	send(self, WR_NOTIFY_ID_ACCOUNT, g_strdup(_("Key expiring")), format_remaining(remaining),
	     "app.sign-in", hit > 0);
	self->account_shown = ACCOUNT_KEY;
}

static void
set_key_expiry(WrNotifyCore *self, gint64 expiry)
{
	/* a time past what µs can hold is as good as never */
	if (expiry < 0 || expiry > G_MAXINT64 / G_USEC_PER_SEC / 2)
		expiry = 0;
	if (expiry == self->key_expiry)
		return;
	self->key_expiry = expiry;
	self->key_done = 0;
	/* a new key: the warning about the old one no longer holds */
	if (self->account_shown == ACCOUNT_KEY) {
		withdraw(self, WR_NOTIFY_ID_ACCOUNT);
		self->account_shown = ACCOUNT_NONE;
	}
}

static gboolean
state_signed_in(const gchar *state)
{
	return streq(state, "Starting") || streq(state, "Running") || streq(state, "Stopped") ||
	       streq(state, "NeedsMachineAuth");
}

static void
update_account(WrNotifyCore *self, const gchar *prev_state)
{
	if (streq(self->state, "NeedsLogin")) {
		if (self->signed_in_seen && !streq(prev_state, "NeedsLogin") &&
		    self->config.account) {
			send(self, WR_NOTIFY_ID_ACCOUNT, g_strdup(_("Sign-in needed")),
			     g_strdup(_("Sign in again to reconnect to your network.")),
			     "app.sign-in", TRUE);
			self->account_shown = ACCOUNT_SIGN_IN;
		}
		self->signed_in_seen = FALSE;
		self->awaiting_signin = TRUE;
		return;
	}
	if (!state_signed_in(self->state))
		return;
	self->signed_in_seen = TRUE;
	/* waiting for the name: Self is empty until the first network map */
	if (!self->awaiting_signin || (streq(self->state, "Starting") && *self->self_user == '\0'))
		return;
	if (streq(self->state, "NeedsMachineAuth"))
		return;
	self->awaiting_signin = FALSE;
	if (!self->config.account)
		return;
	send(self, WR_NOTIFY_ID_ACCOUNT, g_strdup(_("Signed in")),
	     *self->self_user != '\0' ? g_strdup_printf(_("Signed in as %s"), self->self_user)
				      : g_strdup(_("You are signed in to your network.")),
	     "app.devices", FALSE);
	self->account_shown = ACCOUNT_SIGNED_IN;
}

/* ---- entry points ---- */

static void
run_due(WrNotifyCore *self, WrNotifyTime now)
{
	self->wall_offset = now.wall - now.mono;
	flush_exit(self, now);
	flush_peers(self, now);
	update_connection(self, now);
	check_key(self, now);
}

void
wr_notify_core_set_config(WrNotifyCore *self, WrNotifyTime now, const WrNotifyConfig *config)
{
	self->config = *config;
	if (self->config.coalesce_us < 0)
		self->config.coalesce_us = 0;
	run_due(self, now);
}

void
wr_notify_core_peer_event(WrNotifyCore *self, WrNotifyTime now, const gchar *kind,
			  const WrNotifyPeer *in)
{
	Peer *peer;

	if (in->id == NULL || *in->id == '\0') {
		run_due(self, now);
		return;
	}
	exit_peer_event(self, now, kind, in);
	if (streq(kind, "removed")) {
		g_hash_table_remove(self->peers, in->id);
	} else if (streq(kind, "added")) {
		gboolean known = g_hash_table_contains(self->peers, in->id);

		peer = peer_update(self, in);
		peer_set_online(self, now, peer, in->online);
		/* a peer already known is a reconnect's map, not news */
		if (!known && !quiet(self, now)) {
			peer->added_pending = TRUE;
			peer->added_at = now.mono;
		}
	} else if (streq(kind, "online") || streq(kind, "offline")) {
		gboolean online = streq(kind, "online");

		if (!g_hash_table_contains(self->peers, in->id)) {
			/* first heard of now: it was in the other state before */
			peer = peer_update(self, in);
			peer->online = peer->announced = !online;
		} else {
			peer = peer_update(self, in);
		}
		peer_set_online(self, now, peer, online);
	} else if (streq(kind, "path") || streq(kind, "changed")) {
		/* its path, name, addresses...: the next notification names it as it is now */
		peer = peer_update(self, in);
	}
	run_due(self, now);
}

void
wr_notify_core_engine_state(WrNotifyCore *self, WrNotifyTime now, const WrNotifyEngine *engine)
{
	g_autofree gchar *prev_state = g_strdup(self->state);
	const gchar *state = engine->state != NULL ? engine->state : "";

	self->wall_offset = now.wall - now.mono;
	set_str(&self->state, state);
	set_str(&self->self_user, engine->user != NULL ? engine->user : "");

	if (streq(state, "Running")) {
		if (!streq(prev_state, "Running")) {
			/* the tunnel (re)starting: warrend announces its map as peer events */
			if (*prev_state != '\0' || self->seen_absent)
				self->quiet_until = now.mono + WR_NOTIFY_STARTUP_QUIET_US;
			self->running_seen = TRUE;
			self->seen_absent = FALSE;
		}
		self->want_connected = TRUE;
	} else if (streq(state, "Stopped") || streq(state, "NeedsLogin")) {
		self->want_connected = FALSE;
	}

	if (engine->control_unreachable && !self->control_unreachable)
		self->control_since = now.mono;
	self->control_unreachable = engine->control_unreachable;

	set_key_expiry(self, engine->key_expiry);
	update_account(self, prev_state);
	exit_engine_state(self, now, engine);
	run_due(self, now);
}

void
wr_notify_core_engine_present(WrNotifyCore *self, WrNotifyTime now, gboolean present)
{
	GHashTableIter iter;
	Peer *peer;

	if (present == self->present) {
		run_due(self, now);
		return;
	}
	self->present = present;
	if (!present) {
		/* what warrend says when it is back is a fresh start: nothing pending survives */
		g_hash_table_iter_init(&iter, self->peers);
		while (g_hash_table_iter_next(&iter, NULL, (gpointer *) &peer)) {
			peer->announced = peer->online;
			peer->added_pending = FALSE;
		}
		self->exit_known = FALSE;
		set_str(&self->state, "");
		self->running_seen = FALSE;
		self->seen_absent = TRUE;
		self->control_unreachable = FALSE;
	}
	run_due(self, now);
}

void
wr_notify_core_tick(WrNotifyCore *self, WrNotifyTime now)
{
	run_due(self, now);
}

gint64
wr_notify_core_next_deadline(WrNotifyCore *self)
{
	gint64 d = peers_deadline(self);

	d = MIN(d, exit_deadline(self));
	d = MIN(d, connection_deadline(self));
	d = MIN(d, key_deadline(self));
	return d;
}

GPtrArray *
wr_notify_core_take_actions(WrNotifyCore *self)
{
	GPtrArray *out = g_steal_pointer(&self->actions);

	self->actions = g_ptr_array_new_with_free_func((GDestroyNotify) wr_notify_action_free);
	return out;
}

gboolean
wr_notify_health_control_unreachable(const gchar *health)
{
	/* warrend's wording (wr_control_conn_dup_health), and the API documentation's */
	return health != NULL && (g_str_has_prefix(health, "control unreachable") ||
				  g_str_has_prefix(health, "cannot reach the control server"));
}
