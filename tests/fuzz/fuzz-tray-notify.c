/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer target for the tray's notification core (wr-tray-notify-core): any sequence of
 * what warrend can say over D-Bus (peer events of any kind with any strings, engine states,
 * the engine vanishing, settings changes, key expiries from the past to the end of time) and
 * of clock steps.  Besides the sanitizers it checks the contracts: after every call the next
 * deadline is in the future (a deadline in the past would make the tray's timer spin), every
 * notification sent has an id, a title and a body of valid UTF-8, and withdrawals carry only
 * an id.
 *
 * Input: a program of one-byte opcodes, each followed by its arguments (missing bytes read
 * as zero): 0 advance the clock (2 bytes, units of 10 ms), 1 a peer event (kind, peer,
 * flags, then a length-prefixed name), 2 an engine state (state, flags, 8-byte key expiry,
 * exit node), 3 the engine present or not, 4 a tick, 5 the settings (flags, 2-byte window).
 */

#define G_LOG_DOMAIN "WrFuzzTrayNotify"

#include "config.h"

#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "wr-tray-notify-core.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
	const uint8_t *p;
	size_t left;
} Reader;

static guint8
u8(Reader *r)
{
	guint8 v = 0;

	if (r->left > 0) {
		v = *r->p++;
		r->left--;
	}
	return v;
}

static guint64
un(Reader *r, guint n)
{
	guint64 v = 0;

	for (guint i = 0; i < n; i++)
		v = (v << 8) | u8(r);
	return v;
}

/* a string of up to 255 bytes from the input, made valid UTF-8 as D-Bus strings are */
static gchar *
str(Reader *r)
{
	guint len = u8(r);
	g_autofree gchar *raw = g_malloc0(len + 1);

	for (guint i = 0; i < len; i++)
		raw[i] = (gchar) (u8(r) ?: 'x');
	return g_utf8_make_valid(raw, -1);
}

static const gchar *const kinds[] = {"added", "removed", "online", "offline", "path", ""};
static const gchar *const states[] = {"Running",	  "Starting", "Stopped", "NeedsLogin",
				      "NeedsMachineAuth", "",	      "Bogus"};
static const gchar *const ids[] = {"1", "2", "3", "4", "5", "6", "7", ""};
static const gchar *const users[] = {"alice@example.com", "bob@example.com", ""};

static void
check(WrNotifyCore *core, WrNotifyTime now, gboolean called)
{
	g_autoptr(GPtrArray) actions = wr_notify_core_take_actions(core);

	/* (a clock step alone calls nothing: the deadline may have passed meanwhile) */
	if (called)
		g_assert_cmpint(wr_notify_core_next_deadline(core), >, now.mono);
	for (guint i = 0; i < actions->len; i++) {
		const WrNotifyAction *a = actions->pdata[i];

		g_assert_nonnull(a->id);
		if (a->verb == WR_NOTIFY_WITHDRAW) {
			g_assert_null(a->title);
			g_assert_null(a->body);
			continue;
		}
		g_assert_cmpint(a->verb, ==, WR_NOTIFY_SEND);
		g_assert_nonnull(a->title);
		g_assert_nonnull(a->body);
		g_assert_true(g_utf8_validate(a->title, -1, NULL));
		g_assert_true(g_utf8_validate(a->body, -1, NULL));
		g_assert_cmpuint(strlen(a->title), >, 0);
		g_assert_cmpuint(strlen(a->body), >, 0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	WrNotifyConfig config = {
		.own_devices = TRUE,
		.other_devices = TRUE,
		.new_devices = TRUE,
		.exit_node = TRUE,
		.connection = TRUE,
		.account = TRUE,
		.coalesce_us = 3 * G_USEC_PER_SEC,
	};
	g_autoptr(WrNotifyCore) core = wr_notify_core_new(&config);
	WrNotifyTime now = {1000 * (gint64) G_USEC_PER_SEC, (gint64) 1796428800 * G_USEC_PER_SEC};
	Reader r = {data, size};
	guint ops = 0;

	while (r.left > 0 && ops++ < 4096) {
		guint8 op = u8(&r) % 6;

		switch (op) {
		case 0: {
			gint64 step = (gint64) un(&r, 2) * 10000;

			now.mono += step;
			now.wall += step;
			break;
		}
		case 1: {
			const gchar *kind = kinds[u8(&r) % G_N_ELEMENTS(kinds)];
			guint8 which = u8(&r), flags = u8(&r);
			g_autofree gchar *name = str(&r);
			WrNotifyPeer peer = {
				.id = ids[which % G_N_ELEMENTS(ids)],
				.name = name,
				.user = users[(which >> 3) % G_N_ELEMENTS(users)],
				.online = (flags & 1) != 0,
				.is_self_user = (gint) ((flags >> 1) % 3) - 1,
			};

			wr_notify_core_peer_event(core, now, kind, &peer);
			break;
		}
		case 2: {
			guint8 s = u8(&r), flags = u8(&r);
			gint64 expiry = (gint64) un(&r, 8);
			guint8 exit = u8(&r);
			WrNotifyPeer exit_peer = {
				.id = ids[exit % G_N_ELEMENTS(ids)],
				.name = "gw",
				.user = "",
				.online = (exit & 0x10) != 0,
				.is_self_user = -1,
			};
			WrNotifyEngine e = {
				.state = states[s % G_N_ELEMENTS(states)],
				.user = users[(s >> 4) % G_N_ELEMENTS(users)],
				/* near now more often than not: the thresholds matter there */
				.key_expiry = (flags & 2) != 0 ? now.wall / G_USEC_PER_SEC +
									 (expiry % (9 * 24 * 3600))
							       : expiry,
				.control_unreachable = (flags & 1) != 0,
				.exit_node_id = exit_peer.id,
				.exit_node = (exit & 0x20) != 0 ? &exit_peer : NULL,
			};

			wr_notify_core_engine_state(core, now, &e);
			break;
		}
		case 3:
			wr_notify_core_engine_present(core, now, (u8(&r) & 1) != 0);
			break;
		case 4: {
			gint64 d = wr_notify_core_next_deadline(core);

			/* as the timer would: at the deadline when there is one */
			if (d != G_MAXINT64 && d > now.mono &&
			    d - now.mono < 1000 * G_USEC_PER_SEC) {
				now.wall += d - now.mono;
				now.mono = d;
			}
			wr_notify_core_tick(core, now);
			break;
		}
		default: {
			guint8 flags = u8(&r);

			config.own_devices = (flags & 1) != 0;
			config.other_devices = (flags & 2) != 0;
			config.new_devices = (flags & 4) != 0;
			config.exit_node = (flags & 8) != 0;
			config.connection = (flags & 16) != 0;
			config.account = (flags & 32) != 0;
			config.coalesce_us = (gint64) (un(&r, 2) % 601) * G_USEC_PER_SEC;
			wr_notify_core_set_config(core, now, &config);
			break;
		}
		}
		check(core, now, op != 0);
	}
	return 0;
}
