/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * SKELETON: replaced by the notifications work (issue 8).
 */

#include "config.h"

#include "wr-tray-notify.h"

struct _WrNotifier {
	GApplication *app;
};

WrNotifier *
wr_notifier_new(GApplication *app, GSettings *settings)
{
	WrNotifier *self = g_new0(WrNotifier, 1);

	self->app = app;
	return self;
}

void
wr_notifier_free(WrNotifier *self)
{
	g_free(self);
}

void
wr_notifier_peer_event(WrNotifier *self, const gchar *kind, GVariant *peer)
{
}

void
wr_notifier_engine_state(WrNotifier *self, const gchar *state, GVariant *self_dict,
			 const gchar *const *health, const gchar *exit_node_id,
			 GVariant *exit_node_peer)
{
}

void
wr_notifier_engine_present(WrNotifier *self, gboolean present)
{
}
