/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * warrend's flow logs (docs/flow-logs.md) between the engine and the bus: the ring file
 * flows.ring in the state directory (wr-flowlog) takes every flow the engine reports ended,
 * and GetFlows reads it back as the a{sv} records the interface XML documents.
 *
 * Runs on warrend's main context; not thread-safe.
 */

#pragma once

#include <gio/gio.h>

#include "wr-flowlog.h"

/* GetFlows returns at most this many records (the newest) */
#define WR_DAEMON_FLOWS_MAX 10000

typedef struct _WrDaemonFlows WrDaemonFlows;

/*
 * Opens state_dir/flows.ring with a data area of size bytes (0: the default).  A repaired
 * file is logged (a warning) and kept in Health by the caller through
 * wr_daemon_flows_get_problem().  NULL with an error when the ring cannot be opened.
 */
WrDaemonFlows *
wr_daemon_flows_new(const char *state_dir, guint64 size, GError **error);
void
wr_daemon_flows_free(WrDaemonFlows *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrDaemonFlows, wr_daemon_flows_free)

/* the engine's flows_ended: appended to the ring (a write error is logged once and counted) */
void
wr_daemon_flows_add(WrDaemonFlows *self, const WrFlowRecord *records, guint n);

/* GetFlows: aa{sv}, oldest first, the ones that ended at or after since (Unix µs) */
GVariant *
wr_daemon_flows_get(WrDaemonFlows *self, gint64 since, GError **error);

/* one record as GetFlows has it (a{sv}, floating) */
GVariant *
wr_flow_record_to_variant(const WrFlowRecord *r);

/* a sentence for Health about the ring (repaired at open, cannot be written), or NULL */
const char *
wr_daemon_flows_get_problem(WrDaemonFlows *self);
