/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * warren-control, the coordination server (docs/protocols/control.md): the tailnet in memory
 * over a WrStore, the machine API (/key, /machine/<mkey>/register and /map), browser sign-in
 * (/a/<token>, /oidc/callback), /healthz, /metrics and the admin socket.  One per process, on
 * the main loop.  docs/control-server.md explains the design.
 */
#pragma once

#include <glib.h>

#include "wr-control-config.h"

typedef struct _WrControl WrControl;

/* opens the store, loads the tailnet and the server key; takes config */
WrControl *
wr_control_new(WrControlConfig *config, GError **error);

/* binds the public listener, the metrics listener and the admin socket */
gboolean
wr_control_start(WrControl *self, GError **error);

/* closes streams and listeners and frees everything */
void
wr_control_free(WrControl *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrControl, wr_control_free)
