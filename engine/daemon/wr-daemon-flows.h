/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * warrend's flow logs (docs/flow-logs.md) between the engine and the bus: the ring file
 * flows.ring in the state directory (wr-flowlog) takes every flow the engine reports ended,
 * and GetFlows reads it back as the a{sv} records the interface XML documents.  When the map
 * says collect_flows, the records also go to the control server: a bounded queue
 * (WR_DAEMON_FLOWS_QUEUE_MAX, the oldest dropped and counted past it), batches of at most
 * WR_DAEMON_FLOWS_BATCH, one request at a time, retried with a growing delay after a failure
 * of the transport or the server (5xx); a batch the server refuses (4xx) is dropped.
 *
 * Runs on warrend's main context; not thread-safe.
 */

#pragma once

#include <gio/gio.h>

#include "wr-control-conn.h"
#include "wr-flowlog.h"

/* GetFlows returns at most this many records (the newest) */
#define WR_DAEMON_FLOWS_MAX 10000

/* records waiting for the control server at most, and in one request at most */
#define WR_DAEMON_FLOWS_QUEUE_MAX 20000
#define WR_DAEMON_FLOWS_BATCH	  1000
/* the delay before a retry: doubling from the first to the last, ms */
#define WR_DAEMON_FLOWS_RETRY_MIN_MS 2000
#define WR_DAEMON_FLOWS_RETRY_MAX_MS (5 * 60 * 1000)

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

/* the engine's flows_ended: appended to the ring (a write error is logged once and counted),
 * and queued for conn when it is not NULL (the map says collect_flows); conn is referenced
 * while records wait for it */
void
wr_daemon_flows_add(WrDaemonFlows *self, const WrFlowRecord *records, guint n, WrControlConn *conn);

/* records sent to and stored by the control server, and dropped (queue full or refused) */
guint64
wr_daemon_flows_get_uploaded(WrDaemonFlows *self);
guint64
wr_daemon_flows_get_upload_dropped(WrDaemonFlows *self);

/* GetFlows: aa{sv}, oldest first, the ones that ended at or after since (Unix µs) */
GVariant *
wr_daemon_flows_get(WrDaemonFlows *self, gint64 since, GError **error);

/* one record as GetFlows has it (a{sv}, floating) */
GVariant *
wr_flow_record_to_variant(const WrFlowRecord *r);

/* a sentence for Health about the ring (repaired at open, cannot be written), or NULL */
const char *
wr_daemon_flows_get_problem(WrDaemonFlows *self);
