/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The tray's model: a mirror of warrend's state, kept from its signals alone (never polled).
 * Properties come from the proxy's cache and PropertiesChanged; the peers from one GetPeers
 * and then every PeerEvent.  When warrend's name owner changes (it crashed, restarted, or
 * started after the tray), everything is read again.  Each change is passed on to the
 * notifier (wr-tray-notify.h) and then to the changed callback, which asks for a snapshot.
 */
#pragma once

#include <gio/gio.h>

#include "wr-dbus-engine.h"
#include "wr-tray-notify.h"
#include "wr-tray-view.h"

G_BEGIN_DECLS

typedef struct _WrTrayModel WrTrayModel;

typedef void (*WrTrayModelChangedFunc)(WrTrayModel *model, gpointer user_data);

/* notifier may be NULL */
WrTrayModel *
wr_tray_model_new(WrDbusEngine1 *engine, WrNotifier *notifier);
void
wr_tray_model_free(WrTrayModel *self);

void
wr_tray_model_set_changed_func(WrTrayModel *self, WrTrayModelChangedFunc func, gpointer user_data);

/* the current state; valid until the model next changes (the next main loop iteration) */
const WrTrayState *
wr_tray_model_get_state(WrTrayModel *self);

/* the peer dictionary of a peer id, NULL when it is not in the network map */
GVariant *
wr_tray_model_find_peer(WrTrayModel *self, const gchar *id);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrTrayModel, wr_tray_model_free)

G_END_DECLS
