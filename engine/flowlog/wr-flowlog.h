/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * warrend's flow log on disk (docs/flow-logs.md): the ring file of wr-flowrec.h, of a fixed
 * size, mode 0600, in the state directory.  Appending never grows it: the oldest records are
 * overwritten.  Opening scans it once to find where the newest record ends; a record a crash
 * cut short is dropped there (and counted), a file that is not a flow ring at all is renamed
 * to PATH.corrupt and a new one started, and a ring of another size is copied into one of the
 * size asked for (newest records first to stay).
 *
 * Not thread safe: one owner (warrend's main context).  Reads go to the file, so a log of a
 * few MiB costs nothing in memory.
 */

#pragma once

#include <gio/gio.h>

#include "wr-flowrec.h"

typedef struct _WrFlowLog WrFlowLog;

/*
 * Opens (or creates) the ring at path with a data area of size bytes
 * (WR_FLOW_RING_MIN_SIZE..WR_FLOW_RING_MAX_SIZE; 0 = WR_FLOW_RING_DEFAULT_SIZE).  out_problem
 * (may be NULL) receives a sentence when the file was not a flow ring and was set aside, else
 * NULL; records a crash cut short are only counted (wr_flow_log_get_damaged).  NULL with an
 * error when the file cannot be opened or written at all, or size is out of bounds.
 */
WrFlowLog *
wr_flow_log_open(const char *path, guint64 size, char **out_problem, GError **error);
void
wr_flow_log_free(WrFlowLog *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrFlowLog, wr_flow_log_free)

/* appends n records (the oldest ones go when the ring is full) */
gboolean
wr_flow_log_append(WrFlowLog *self, const WrFlowRecord *records, guint n, GError **error);

/* the records that ended at or after since (Unix µs; 0 = all), oldest first, at most max of
 * them (the newest); a GArray of WrFlowRecord */
GArray *
wr_flow_log_read(WrFlowLog *self, gint64 since, guint max, GError **error);

guint64
wr_flow_log_get_size(WrFlowLog *self);
/* damaged records (cut short by a crash) dropped when the log was opened */
guint
wr_flow_log_get_damaged(WrFlowLog *self);
/* records written since the log was opened */
guint64
wr_flow_log_get_appended(WrFlowLog *self);

/*
 * A ring size as a person writes it: bytes, or a number with K, M or G (powers of 1024), e.g.
 * "4M"; "0" means no flow log (out_size 0).  FALSE with G_IO_ERROR_INVALID_ARGUMENT naming the
 * problem (not a number, unknown suffix, out of WR_FLOW_RING_MIN_SIZE..WR_FLOW_RING_MAX_SIZE);
 * out_size untouched then.
 */
gboolean
wr_flow_log_parse_size(const char *text, guint64 *out_size, GError **error);
