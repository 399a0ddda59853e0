/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The tray's notification decisions (wr-tray-notify-core): coalescing windows, flapping,
 * grouping, own and other devices, start-up silence, the exit node, the account (sign-in,
 * key expiry thresholds), connection lost and restored, settings switched off.  A fake clock
 * drives the core: nothing sleeps.
 */
#include "config.h"

#include <glib.h>
#include <string.h>

#include "wr-tray-notify-core.h"

#define S	 ((gint64) G_USEC_PER_SEC)
#define W_SEC	 10
#define WALL0	 ((gint64) 1796428800 * S)
#define DAY_SEC	 (24 * 3600)
#define HOUR_SEC 3600

typedef struct {
	WrNotifyCore *core;
	WrNotifyConfig config;
	gint64 now; /* µs since the test started */
	gchar *self_user;
	gchar *state;
	gchar *exit_id;
	gboolean exit_present;
	gboolean exit_online;
	gint64 key_expiry;
	gboolean control_unreachable;
} Fixture;

static WrNotifyTime
t_now(Fixture *f)
{
	WrNotifyTime t = {1000 * S + f->now, WALL0 + f->now};

	return t;
}

static void
default_config(WrNotifyConfig *c)
{
	*c = (WrNotifyConfig){
		.own_devices = TRUE,
		.other_devices = FALSE,
		.new_devices = TRUE,
		.exit_node = TRUE,
		.connection = TRUE,
		.account = TRUE,
		.coalesce_us = W_SEC * S,
	};
}

static void
setup(Fixture *f, gconstpointer data)
{
	default_config(&f->config);
	f->core = wr_notify_core_new(&f->config);
	f->self_user = g_strdup("alice@example.com");
	f->state = g_strdup("Running");
	f->exit_id = g_strdup("");
}

static void
teardown(Fixture *f, gconstpointer data)
{
	wr_notify_core_free(f->core);
	g_free(f->self_user);
	g_free(f->state);
	g_free(f->exit_id);
}

/* the actions since the last call, one line each: "send ID|title|body|action[|high]" or
 * "withdraw ID" */
static gchar *
take(Fixture *f)
{
	g_autoptr(GPtrArray) actions = wr_notify_core_take_actions(f->core);
	g_autoptr(GString) s = g_string_new(NULL);

	for (guint i = 0; i < actions->len; i++) {
		const WrNotifyAction *a = actions->pdata[i];

		if (a->verb == WR_NOTIFY_WITHDRAW) {
			g_string_append_printf(s, "withdraw %s\n", a->id);
			continue;
		}
		g_string_append_printf(s, "send %s|%s|%s|%s%s\n", a->id, a->title, a->body,
				       a->action != NULL ? a->action : "", a->high ? "|high" : "");
	}
	return g_string_free(g_steal_pointer(&s), FALSE);
}

#define assert_actions(f, expected)                    \
	do {                                           \
		g_autofree gchar *got_ = take(f);      \
		g_assert_cmpstr(got_, ==, (expected)); \
	} while (0)

/* advances the clock to `sec` seconds, ticking at every deadline on the way, as the tray's
 * timer would */
static void
advance_to(Fixture *f, double sec)
{
	gint64 target = (gint64) (sec * S);

	g_assert_cmpint(target, >=, f->now);
	for (;;) {
		gint64 d = wr_notify_core_next_deadline(f->core);
		gint64 d_rel = d == G_MAXINT64 ? G_MAXINT64 : d - 1000 * S;

		if (d_rel > target)
			break;
		/* a deadline in the past after a tick would make the timer spin */
		g_assert_cmpint(d_rel, >=, f->now);
		f->now = d_rel;
		wr_notify_core_tick(f->core, t_now(f));
		g_assert_cmpint(wr_notify_core_next_deadline(f->core), >, 1000 * S + f->now);
	}
	f->now = target;
	wr_notify_core_tick(f->core, t_now(f));
}

static void
engine(Fixture *f, const gchar *state)
{
	WrNotifyPeer exit_peer = {
		.id = f->exit_id,
		.name = "gateway",
		.user = "",
		.online = f->exit_online,
		.is_self_user = 1,
	};
	WrNotifyEngine e = {
		.state = state,
		.user = f->self_user,
		.key_expiry = f->key_expiry,
		.control_unreachable = f->control_unreachable,
		.exit_node_id = f->exit_id,
		.exit_node = f->exit_present ? &exit_peer : NULL,
	};

	g_free(f->state);
	f->state = g_strdup(state);
	wr_notify_core_engine_state(f->core, t_now(f), &e);
}

static void
peer_full(Fixture *f, const gchar *kind, const gchar *id, const gchar *name, const gchar *user,
	  gint is_self_user, gboolean online)
{
	WrNotifyPeer p = {
		.id = id,
		.name = name,
		.user = user,
		.online = online,
		.is_self_user = is_self_user,
	};

	wr_notify_core_peer_event(f->core, t_now(f), kind, &p);
}

/* one of alice's own devices */
static void
peer(Fixture *f, const gchar *kind, const gchar *name)
{
	g_autofree gchar *id = g_strconcat("id-", name, NULL);

	peer_full(f, kind, id, name, "alice@example.com", 1,
		  g_strcmp0(kind, "offline") != 0 && g_strcmp0(kind, "removed") != 0);
}

/* the tray started while warrend was Running: no start-up silence */
static void
start_running(Fixture *f)
{
	engine(f, "Running");
	assert_actions(f, "");
}

static void
test_offline_after_window(Fixture *f, gconstpointer data)
{
	start_running(f);
	advance_to(f, 1);
	peer(f, "offline", "laptop");
	assert_actions(f, "");
	g_assert_cmpint(wr_notify_core_next_deadline(f->core), ==, 1000 * S + (1 + W_SEC) * S);
	advance_to(f, 1 + W_SEC - 0.001);
	assert_actions(f, "");
	advance_to(f, 1 + W_SEC);
	assert_actions(f, "send peers-offline|Device offline|laptop went offline|app.devices\n");
	g_assert_cmpint(wr_notify_core_next_deadline(f->core), ==, G_MAXINT64);

	/* and back: the same wait, then the online one */
	advance_to(f, 20);
	peer(f, "online", "laptop");
	advance_to(f, 29.9);
	assert_actions(f, "");
	advance_to(f, 30);
	assert_actions(f, "send peers-online|Device online|laptop came online|app.devices\n");
	advance_to(f, 100);
	assert_actions(f, "");
}

/* "changed" (here a rename) brings no notification of its own, and the next one uses the new
 * name */
static void
test_changed_renames(Fixture *f, gconstpointer data)
{
	start_running(f);
	advance_to(f, 1);
	peer_full(f, "path", "id-laptop", "laptop", "alice@example.com", 1, TRUE);
	peer_full(f, "changed", "id-laptop", "work-laptop", "alice@example.com", 1, TRUE);
	advance_to(f, 2 + W_SEC);
	assert_actions(f, "");
	peer_full(f, "offline", "id-laptop", "work-laptop", "alice@example.com", 1, FALSE);
	peer_full(f, "changed", "id-laptop", "old-laptop", "alice@example.com", 1, FALSE);
	advance_to(f, 3 + 2 * W_SEC);
	assert_actions(f,
		       "send peers-offline|Device offline|old-laptop went offline|app.devices\n");
}

static void
test_flap_cancels(Fixture *f, gconstpointer data)
{
	start_running(f);
	advance_to(f, 1);
	peer(f, "offline", "laptop");
	advance_to(f, 4);
	peer(f, "online", "laptop");
	g_assert_cmpint(wr_notify_core_next_deadline(f->core), ==, G_MAXINT64);
	advance_to(f, 60);
	assert_actions(f, "");
}

static void
test_flapping_once(Fixture *f, gconstpointer data)
{
	/* down/up four times, a few seconds apart, ending down: one notification, a window
	 * after the last change */
	start_running(f);
	for (gint i = 0; i < 4; i++) {
		advance_to(f, 1 + 4 * i);
		peer(f, "offline", "laptop");
		advance_to(f, 3 + 4 * i);
		peer(f, "online", "laptop");
	}
	advance_to(f, 15);
	peer(f, "offline", "laptop");
	advance_to(f, 15 + W_SEC - 0.5);
	assert_actions(f, "");
	advance_to(f, 15 + W_SEC);
	assert_actions(f, "send peers-offline|Device offline|laptop went offline|app.devices\n");
	advance_to(f, 200);
	assert_actions(f, "");
}

static void
test_grouping(Fixture *f, gconstpointer data)
{
	start_running(f);
	advance_to(f, 1);
	peer(f, "offline", "charlie");
	advance_to(f, 2);
	peer(f, "offline", "alpha");
	advance_to(f, 3);
	peer(f, "offline", "bravo");
	/* the group waits until the last one has lasted a window */
	advance_to(f, 12.9);
	assert_actions(f, "");
	advance_to(f, 13);
	assert_actions(f,
		       "send peers-offline|Devices offline|3 devices went offline: alpha, bravo, "
		       "charlie|app.devices\n");

	/* online and offline in one window: one notification each, the same ids */
	advance_to(f, 30);
	peer(f, "online", "alpha");
	peer(f, "online", "bravo");
	peer(f, "offline", "delta");
	advance_to(f, 40);
	assert_actions(f, "send peers-offline|Device offline|delta went offline|app.devices\n"
			  "send peers-online|Devices online|2 devices came online: alpha, "
			  "bravo|app.devices\n");
}

static void
test_many_names(Fixture *f, gconstpointer data)
{
	static const gchar *const names[] = {"a1", "a2", "a3", "a4", "a5", "a6", "a7"};

	start_running(f);
	for (guint i = 0; i < G_N_ELEMENTS(names); i++)
		peer(f, "online", names[i]);
	advance_to(f, W_SEC);
	assert_actions(f, "send peers-online|Devices online|7 devices came online: a1, a2, a3, a4, "
			  "a5, …|app.devices\n");
}

static void
test_flapping_peer_alone(Fixture *f, gconstpointer data)
{
	/* a peer flapping every 3 s for a minute is never told; one that went offline at the
	 * same time is, once */
	start_running(f);
	advance_to(f, 1);
	peer(f, "offline", "server");
	for (gint i = 0; i < 20; i++) {
		advance_to(f, 2 + 3 * i);
		peer(f, i % 2 == 0 ? "offline" : "online", "flaky");
	}
	advance_to(f, 200);
	assert_actions(f, "send peers-offline|Device offline|server went offline|app.devices\n");
}

static void
test_hold_deadline(Fixture *f, gconstpointer data)
{
	/* changes keep coming (a device joins every 3 s): the first ones are held at most
	 * WR_NOTIFY_MAX_HOLD_WINDOWS windows, then told together */
	start_running(f);
	advance_to(f, 1);
	peer(f, "offline", "server");
	for (gint i = 0; i < 6; i++) {
		g_autofree gchar *name = g_strdup_printf("n%d", i);

		advance_to(f, 2 + 3 * i);
		peer(f, "added", name);
	}
	/* server: changed at 1, the hold ends at 1 + 2 W = 21 */
	advance_to(f, 20.9);
	assert_actions(f, "");
	advance_to(f, 21);
	assert_actions(f, "send new-devices|New devices|4 new devices joined your network: n0, n1, "
			  "n2, n3|app.devices\n"
			  "send peers-offline|Device offline|server went offline|app.devices\n");
	/* the rest a window after the last */
	advance_to(f, 26.9);
	assert_actions(f, "");
	advance_to(f, 27);
	assert_actions(f, "send new-devices|New devices|2 new devices joined your network: n4, "
			  "n5|app.devices\n");
}

static void
test_own_and_other(Fixture *f, gconstpointer data)
{
	start_running(f);
	/* another user's device: not by default */
	peer_full(f, "offline", "id-phone", "phone", "bob@example.com", 0, FALSE);
	/* no is-self-user: same user as Self counts as own */
	peer_full(f, "offline", "id-tab", "tablet", "alice@example.com", -1, FALSE);
	/* no is-self-user and another user */
	peer_full(f, "offline", "id-pc", "pc", "carol@example.com", -1, FALSE);
	advance_to(f, W_SEC);
	assert_actions(f, "send peers-offline|Device offline|tablet went offline|app.devices\n");

	f->config.other_devices = TRUE;
	wr_notify_core_set_config(f->core, t_now(f), &f->config);
	advance_to(f, 20);
	peer_full(f, "online", "id-phone", "phone", "bob@example.com", 0, TRUE);
	peer_full(f, "online", "id-tab", "tablet", "alice@example.com", -1, TRUE);
	advance_to(f, 30);
	assert_actions(f, "send peers-online|Devices online|2 devices came online: phone "
			  "(bob@example.com), tablet|app.devices\n");

	f->config.own_devices = FALSE;
	wr_notify_core_set_config(f->core, t_now(f), &f->config);
	advance_to(f, 40);
	peer_full(f, "offline", "id-tab", "tablet", "alice@example.com", -1, FALSE);
	advance_to(f, 60);
	assert_actions(f, "");
}

static void
test_settings_off(Fixture *f, gconstpointer data)
{
	f->config = (WrNotifyConfig){.coalesce_us = W_SEC * S};
	wr_notify_core_set_config(f->core, t_now(f), &f->config);
	f->exit_id = (g_free(f->exit_id), g_strdup("id-gw"));
	f->exit_present = TRUE;
	f->exit_online = TRUE;
	f->key_expiry = WALL0 / S + 2 * DAY_SEC;
	start_running(f);
	advance_to(f, 1);
	peer(f, "offline", "laptop");
	peer(f, "added", "newbie");
	peer_full(f, "offline", "id-gw", "gateway", "", 1, FALSE);
	f->control_unreachable = TRUE;
	engine(f, "Running");
	advance_to(f, 10 * DAY_SEC);
	engine(f, "NeedsLogin");
	wr_notify_core_engine_present(f->core, t_now(f), FALSE);
	advance_to(f, 11 * DAY_SEC);
	assert_actions(f, "");
}

static void
test_zero_window(Fixture *f, gconstpointer data)
{
	f->config.coalesce_us = 0;
	wr_notify_core_set_config(f->core, t_now(f), &f->config);
	start_running(f);
	advance_to(f, 1);
	peer(f, "offline", "laptop");
	assert_actions(f, "send peers-offline|Device offline|laptop went offline|app.devices\n");
	g_assert_cmpint(wr_notify_core_next_deadline(f->core), ==, G_MAXINT64);
}

static void
test_startup_silence(Fixture *f, gconstpointer data)
{
	/* the tray starts before warrend */
	wr_notify_core_engine_present(f->core, t_now(f), FALSE);
	advance_to(f, 1);
	wr_notify_core_engine_present(f->core, t_now(f), TRUE);
	engine(f, "Starting");
	/* warrend announces its map (before its State says Running) */
	peer(f, "added", "laptop");
	peer(f, "added", "server");
	engine(f, "Running");
	/* and control's map a moment later: still loading */
	advance_to(f, 3);
	peer(f, "added", "phone");
	peer(f, "offline", "server");
	advance_to(f, 60);
	assert_actions(f, "");

	/* after the quiet time: a device that is new */
	peer(f, "added", "desktop");
	/* one we know already (a reconnect's map) is not */
	peer(f, "added", "laptop");
	advance_to(f, 60 + W_SEC);
	assert_actions(f, "send new-devices|New device|desktop joined your network|app.devices\n");
	advance_to(f, 70);
	peer_full(f, "added", "id-p1", "p1", "bob@example.com", 0, TRUE);
	peer_full(f, "added", "id-p2", "p2", "alice@example.com", 1, FALSE);
	advance_to(f, 80);
	assert_actions(f, "send new-devices|New devices|2 new devices joined your network: p1 "
			  "(bob@example.com), p2|app.devices\n");

	/* warrend restarts: its map again, silently, though some peers changed meanwhile */
	advance_to(f, 100);
	wr_notify_core_engine_present(f->core, t_now(f), FALSE);
	advance_to(f, 101);
	wr_notify_core_engine_present(f->core, t_now(f), TRUE);
	engine(f, "Starting");
	peer(f, "added", "laptop");
	peer(f, "added", "tv");
	engine(f, "Running");
	peer(f, "online", "server");
	advance_to(f, 105);
	peer(f, "offline", "laptop");
	advance_to(f, 200);
	/* the restart was quicker than a window: no connection lost either */
	assert_actions(f, "");
}

static void
test_added_then_removed(Fixture *f, gconstpointer data)
{
	start_running(f);
	advance_to(f, 1);
	peer(f, "added", "temp");
	advance_to(f, 5);
	peer(f, "removed", "temp");
	peer(f, "offline", "laptop");
	advance_to(f, 8);
	peer(f, "removed", "laptop");
	advance_to(f, 60);
	assert_actions(f, "");
	g_assert_cmpint(wr_notify_core_next_deadline(f->core), ==, G_MAXINT64);
}

static void
test_new_device_comes_online(Fixture *f, gconstpointer data)
{
	/* joining and coming online within the window is one piece of news */
	start_running(f);
	advance_to(f, 1);
	peer_full(f, "added", "id-new", "new", "alice@example.com", 1, FALSE);
	advance_to(f, 2);
	peer(f, "online", "new");
	advance_to(f, 12);
	assert_actions(f, "send new-devices|New device|new joined your network|app.devices\n");
}

static void
test_exit_node(Fixture *f, gconstpointer data)
{
	f->exit_id = (g_free(f->exit_id), g_strdup("id-gw"));
	f->exit_present = TRUE;
	f->exit_online = TRUE;
	start_running(f);

	/* offline for a moment: nothing */
	advance_to(f, 1);
	peer_full(f, "offline", "id-gw", "gateway", "", 1, FALSE);
	advance_to(f, 3);
	peer_full(f, "online", "id-gw", "gateway", "", 1, TRUE);
	advance_to(f, 30);
	assert_actions(f, "");

	/* offline for good; the tray's own view may follow (ExitNode's peer dictionary) */
	peer_full(f, "offline", "id-gw", "gateway", "", 1, FALSE);
	f->exit_online = FALSE;
	engine(f, "Running");
	advance_to(f, 40);
	/* the exit node is also one of alice's devices */
	assert_actions(f, "send exit-node|Exit node unavailable|gateway went offline. Choose "
			  "another exit node or turn it off.|app.devices|high\n"
			  "send peers-offline|Device offline|gateway went offline|app.devices\n");

	/* back */
	advance_to(f, 50);
	peer_full(f, "online", "id-gw", "gateway", "", 1, TRUE);
	f->exit_online = TRUE;
	engine(f, "Running");
	advance_to(f, 60);
	assert_actions(f,
		       "send exit-node|Exit node available|Internet traffic goes through gateway "
		       "again.|app.devices\n"
		       "send peers-online|Device online|gateway came online|app.devices\n");

	/* it leaves the map */
	advance_to(f, 70);
	peer_full(f, "removed", "id-gw", "gateway", "", 1, TRUE);
	f->exit_present = FALSE;
	engine(f, "Running");
	advance_to(f, 80);
	assert_actions(f, "send exit-node|Exit node unavailable|gateway left the network. Choose "
			  "another exit node or turn it off.|app.devices|high\n");

	/* the user picks none: the warning goes */
	advance_to(f, 85);
	f->exit_id = (g_free(f->exit_id), g_strdup(""));
	engine(f, "Running");
	assert_actions(f, "withdraw exit-node\n");
	advance_to(f, 200);
	assert_actions(f, "");
}

static void
test_exit_node_chosen_offline(Fixture *f, gconstpointer data)
{
	/* an exit node that is offline when the tray starts, or when it is chosen, is the
	 * starting point: only changes are news */
	f->exit_id = (g_free(f->exit_id), g_strdup("id-gw"));
	f->exit_present = TRUE;
	f->exit_online = FALSE;
	start_running(f);
	advance_to(f, 60);
	assert_actions(f, "");
	f->exit_id = (g_free(f->exit_id), g_strdup("id-other"));
	f->exit_present = FALSE;
	engine(f, "Running");
	advance_to(f, 120);
	assert_actions(f, "");
}

static void
test_exit_node_peers_late(Fixture *f, gconstpointer data)
{
	/* the tray reads its peer list after the properties: the exit node is first not in it,
	 * and its state when it appears is the starting point */
	f->exit_id = (g_free(f->exit_id), g_strdup("id-gw"));
	f->exit_present = FALSE;
	start_running(f);
	advance_to(f, 0.1);
	f->exit_present = TRUE;
	f->exit_online = TRUE;
	engine(f, "Running");
	advance_to(f, 3);
	peer_full(f, "offline", "id-gw", "gateway", "", 0, FALSE);
	advance_to(f, 3 + W_SEC);
	assert_actions(f, "send exit-node|Exit node unavailable|gateway went offline. Choose "
			  "another exit node or turn it off.|app.devices|high\n");
	/* and vanishing is judged once it was known */
	advance_to(f, 20);
	f->exit_present = FALSE;
	engine(f, "Running");
	advance_to(f, 40);
	assert_actions(f, "");
}

static void
test_sign_in(Fixture *f, gconstpointer data)
{
	/* the tray starts signed out: no "sign-in needed" for that */
	engine(f, "NeedsLogin");
	advance_to(f, 5);
	assert_actions(f, "");
	/* the user signs in: Starting has no Self yet, the name comes with the map */
	g_free(f->self_user);
	f->self_user = g_strdup("");
	engine(f, "Starting");
	assert_actions(f, "");
	g_free(f->self_user);
	f->self_user = g_strdup("alice@example.com");
	engine(f, "Starting");
	assert_actions(f, "send account|Signed in|Signed in as alice@example.com|app.devices\n");
	engine(f, "Running");
	assert_actions(f, "");

	/* signed out by control (the key expired): the same id, replaced */
	advance_to(f, 100);
	engine(f, "NeedsLogin");
	assert_actions(f, "send account|Sign-in needed|Sign in again to reconnect to your "
			  "network.|app.sign-in|high\n");
	engine(f, "NeedsLogin");
	assert_actions(f, "");
	engine(f, "Running");
	assert_actions(f, "send account|Signed in|Signed in as alice@example.com|app.devices\n");
	/* a node without a user (tagged): no name to give */
	engine(f, "NeedsLogin");
	g_free(f->self_user);
	f->self_user = g_strdup("");
	engine(f, "Starting");
	engine(f, "Running");
	assert_actions(f,
		       "send account|Sign-in needed|Sign in again to reconnect to your "
		       "network.|app.sign-in|high\n"
		       "send account|Signed in|You are signed in to your network.|app.devices\n");
	/* a NeedsLogin is not a connection lost */
	advance_to(f, 500);
	assert_actions(f, "");
}

static void
test_sign_in_after_restart(Fixture *f, gconstpointer data)
{
	/* warrend comes back from a restart signed out */
	start_running(f);
	wr_notify_core_engine_present(f->core, t_now(f), FALSE);
	advance_to(f, 2);
	wr_notify_core_engine_present(f->core, t_now(f), TRUE);
	engine(f, "NeedsLogin");
	assert_actions(f, "send account|Sign-in needed|Sign in again to reconnect to your "
			  "network.|app.sign-in|high\n");
	advance_to(f, 100);
	assert_actions(f, "");
}

static void
test_key_thresholds(Fixture *f, gconstpointer data)
{
	f->key_expiry = WALL0 / S + 10 * DAY_SEC;
	start_running(f);
	/* the next wake-up is 7 days before the expiry */
	g_assert_cmpint(wr_notify_core_next_deadline(f->core), ==,
			1000 * S + 3 * (gint64) DAY_SEC * S);
	advance_to(f, 3 * DAY_SEC - 1);
	assert_actions(f, "");
	advance_to(f, 3 * DAY_SEC);
	assert_actions(f, "send account|Key expiring|This device's key expires in 7 days. Sign in "
			  "again to stay connected.|app.sign-in\n");
	/* the Self property changing for other reasons: once per threshold */
	engine(f, "Running");
	advance_to(f, 9 * DAY_SEC - 1);
	assert_actions(f, "");
	advance_to(f, 9 * DAY_SEC);
	assert_actions(f, "send account|Key expiring|This device's key expires in 1 day. Sign in "
			  "again to stay connected.|app.sign-in|high\n");
	advance_to(f, 10 * DAY_SEC - HOUR_SEC);
	assert_actions(f, "send account|Key expiring|This device's key expires in 1 hour. Sign "
			  "in again to stay connected.|app.sign-in|high\n");
	g_assert_cmpint(wr_notify_core_next_deadline(f->core), ==, G_MAXINT64);
	advance_to(f, 10 * DAY_SEC + 10);
	assert_actions(f, "");
	/* expired: control signs the node out */
	engine(f, "NeedsLogin");
	assert_actions(f, "send account|Sign-in needed|Sign in again to reconnect to your "
			  "network.|app.sign-in|high\n");
}

static void
test_key_first_seen_late(Fixture *f, gconstpointer data)
{
	/* first seen with 2 hours left: one warning (the 7-day and 1-day ones are moot) */
	f->key_expiry = WALL0 / S + 2 * HOUR_SEC;
	engine(f, "Running");
	assert_actions(f, "send account|Key expiring|This device's key expires in 2 hours. Sign "
			  "in again to stay connected.|app.sign-in|high\n");
	advance_to(f, 0.5);
	engine(f, "Running");
	assert_actions(f, "");
	advance_to(f, HOUR_SEC);
	assert_actions(f, "send account|Key expiring|This device's key expires in 1 hour. Sign "
			  "in again to stay connected.|app.sign-in|high\n");
	/* a new key: the warning goes */
	f->key_expiry = WALL0 / S + 90 * DAY_SEC;
	engine(f, "Running");
	assert_actions(f, "withdraw account\n");
	/* silly expiries are ignored */
	f->key_expiry = G_MAXINT64;
	engine(f, "Running");
	advance_to(f, 2 * HOUR_SEC);
	assert_actions(f, "");
	g_assert_cmpint(wr_notify_core_next_deadline(f->core), ==, G_MAXINT64);
}

static void
test_key_minutes(Fixture *f, gconstpointer data)
{
	f->key_expiry = WALL0 / S + 90;
	engine(f, "Running");
	assert_actions(f, "send account|Key expiring|This device's key expires in 2 minutes. Sign "
			  "in again to stay connected.|app.sign-in|high\n");
}

static void
test_connection_gone(Fixture *f, gconstpointer data)
{
	start_running(f);
	/* a quick restart: nothing */
	advance_to(f, 1);
	wr_notify_core_engine_present(f->core, t_now(f), FALSE);
	advance_to(f, 3);
	wr_notify_core_engine_present(f->core, t_now(f), TRUE);
	engine(f, "Starting");
	advance_to(f, 5);
	engine(f, "Running");
	advance_to(f, 50);
	assert_actions(f, "");

	/* gone for longer */
	wr_notify_core_engine_present(f->core, t_now(f), FALSE);
	advance_to(f, 50 + W_SEC - 0.5);
	assert_actions(f, "");
	advance_to(f, 50 + W_SEC);
	assert_actions(f, "send connection|Connection lost|The Warren service "
			  "stopped.|app.preferences|high\n");
	advance_to(f, 100);
	wr_notify_core_engine_present(f->core, t_now(f), TRUE);
	engine(f, "Starting");
	assert_actions(f, "");
	advance_to(f, 101);
	engine(f, "Running");
	assert_actions(f, "send connection|Connection restored|Connected to your network "
			  "again.|app.devices\n");
}

static void
test_connection_not_running(Fixture *f, gconstpointer data)
{
	start_running(f);
	advance_to(f, 1);
	engine(f, "Starting");
	advance_to(f, 1 + W_SEC);
	assert_actions(f, "send connection|Connection lost|The connection to your network dropped. "
			  "Reconnecting…|app.preferences|high\n");
	/* the user gives up: no "restored", the warning goes */
	advance_to(f, 20);
	engine(f, "Stopped");
	assert_actions(f, "withdraw connection\n");
	/* and a stopped engine going away is no news */
	wr_notify_core_engine_present(f->core, t_now(f), FALSE);
	advance_to(f, 100);
	assert_actions(f, "");
}

static void
test_connection_stopped_by_user(Fixture *f, gconstpointer data)
{
	start_running(f);
	advance_to(f, 1);
	engine(f, "Stopped");
	advance_to(f, 100);
	engine(f, "Running");
	advance_to(f, 200);
	assert_actions(f, "");
}

static void
test_connection_control(Fixture *f, gconstpointer data)
{
	start_running(f);
	advance_to(f, 1);
	f->control_unreachable = TRUE;
	engine(f, "Running");
	advance_to(f, 60);
	/* a long poll that comes back: nothing */
	f->control_unreachable = FALSE;
	engine(f, "Running");
	advance_to(f, 70);
	f->control_unreachable = TRUE;
	engine(f, "Running");
	advance_to(f, 129.9);
	engine(f, "Running");
	assert_actions(f, "");
	advance_to(f, 130);
	assert_actions(f, "send connection|Connection lost|Cannot reach the control server. "
			  "Connections already made keep working for now.|app.preferences|high\n");
	advance_to(f, 200);
	f->control_unreachable = FALSE;
	engine(f, "Running");
	assert_actions(f, "send connection|Connection restored|Connected to your network "
			  "again.|app.devices\n");
}

static void
test_tray_starts_without_engine(Fixture *f, gconstpointer data)
{
	wr_notify_core_engine_present(f->core, t_now(f), FALSE);
	advance_to(f, 100);
	assert_actions(f, "");
	wr_notify_core_engine_present(f->core, t_now(f), TRUE);
	engine(f, "Running");
	advance_to(f, 200);
	assert_actions(f, "");
}

static void
test_bad_events(Fixture *f, gconstpointer data)
{
	start_running(f);
	peer_full(f, "offline", "", "noname", "", 1, FALSE);
	peer_full(f, "whatever", "id-x", "x", "", 1, FALSE);
	peer_full(f, "offline", "id-y", NULL, NULL, 1, FALSE);
	advance_to(f, 60);
	/* a peer without a name is named by its id */
	assert_actions(f, "send peers-offline|Device offline|id-y went offline|app.devices\n");
}

static void
test_health(void)
{
	static const struct {
		const gchar *health;
		gboolean unreachable;
	} cases[] = {
		{"control unreachable (connection refused); using the last network map", TRUE},
		{"control unreachable (no answer yet)", TRUE},
		{"cannot reach the control server", TRUE},
		{"no DERP region reachable", FALSE},
		{"control refused this node, sign in again: expired", FALSE},
		{"", FALSE},
		{NULL, FALSE},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++)
		g_assert_cmpint(wr_notify_health_control_unreachable(cases[i].health), ==,
				cases[i].unreachable);
}

/* random peer events: the deadline is never in the past after a tick (the timer would spin),
 * and a peer is never announced twice in a row in the same state */
static void
test_random(Fixture *f, gconstpointer data)
{
	g_autoptr(GRand) rand = g_rand_new_with_seed(20261205);
	gboolean told[4];
	gboolean told_known[4] = {FALSE};
	static const gchar *const names[] = {"p0", "p1", "p2", "p3"};
	guint n_told = 0;

	f->config.other_devices = TRUE;
	wr_notify_core_set_config(f->core, t_now(f), &f->config);
	start_running(f);
	for (gint step = 0; step < 5000; step++) {
		gint r = g_rand_int_range(rand, 0, 10);
		g_autoptr(GPtrArray) actions = NULL;

		advance_to(f, (double) f->now / S + g_rand_double_range(rand, 0, 2 * W_SEC));
		if (r < 9)
			peer(f, g_rand_boolean(rand) ? "online" : "offline",
			     names[g_rand_int_range(rand, 0, 4)]);
		else
			peer(f, "added", names[g_rand_int_range(rand, 0, 4)]);
		actions = wr_notify_core_take_actions(f->core);
		for (guint i = 0; i < actions->len; i++) {
			const WrNotifyAction *a = actions->pdata[i];
			gboolean online = g_strcmp0(a->id, WR_NOTIFY_ID_ONLINE) == 0;

			if (a->verb != WR_NOTIFY_SEND ||
			    (!online && g_strcmp0(a->id, WR_NOTIFY_ID_OFFLINE) != 0))
				continue;
			for (guint p = 0; p < G_N_ELEMENTS(names); p++) {
				g_autofree gchar *needle = g_strdup_printf("%s ", names[p]);
				g_autofree gchar *needle2 = g_strdup_printf("%s,", names[p]);
				g_autofree gchar *body = g_strconcat(a->body, ",", NULL);

				if (strstr(body, needle) == NULL && strstr(body, needle2) == NULL)
					continue;
				if (told_known[p])
					g_assert_cmpint(told[p], !=, online);
				told[p] = online;
				told_known[p] = TRUE;
				n_told++;
			}
		}
	}
	/* and the run did tell something */
	g_assert_cmpuint(n_told, >, 100);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

#define ADD(path, fn) g_test_add("/warren/tray-notify/" path, Fixture, NULL, setup, fn, teardown)
	ADD("offline-after-window", test_offline_after_window);
	ADD("changed-renames", test_changed_renames);
	ADD("flap-cancels", test_flap_cancels);
	ADD("flapping-once", test_flapping_once);
	ADD("grouping", test_grouping);
	ADD("many-names", test_many_names);
	ADD("flapping-peer-alone", test_flapping_peer_alone);
	ADD("hold-deadline", test_hold_deadline);
	ADD("own-and-other", test_own_and_other);
	ADD("settings-off", test_settings_off);
	ADD("zero-window", test_zero_window);
	ADD("startup-silence", test_startup_silence);
	ADD("added-then-removed", test_added_then_removed);
	ADD("new-device-comes-online", test_new_device_comes_online);
	ADD("exit-node", test_exit_node);
	ADD("exit-node-chosen-offline", test_exit_node_chosen_offline);
	ADD("exit-node-peers-late", test_exit_node_peers_late);
	ADD("sign-in", test_sign_in);
	ADD("sign-in-after-restart", test_sign_in_after_restart);
	ADD("key-thresholds", test_key_thresholds);
	ADD("key-first-seen-late", test_key_first_seen_late);
	ADD("key-minutes", test_key_minutes);
	ADD("connection-gone", test_connection_gone);
	ADD("connection-not-running", test_connection_not_running);
	ADD("connection-stopped-by-user", test_connection_stopped_by_user);
	ADD("connection-control", test_connection_control);
	ADD("tray-starts-without-engine", test_tray_starts_without_engine);
	ADD("bad-events", test_bad_events);
	ADD("random", test_random);
#undef ADD
	g_test_add_func("/warren/tray-notify/health", test_health);
	return g_test_run();
}
