/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Small main-loop and thread wake-up helpers shared by the engine's clients and the servers.
 */

#pragma once

#include <glib.h>

/*
 * A source with nothing but a ready time: it fires once when g_source_set_ready_time()'s
 * deadline passes (then waits for the next one), so that a deadline moves without making new
 * sources and timers run on absolute times that do not drift with dispatch latency.
 * @ready_time is the first deadline (-1: none yet, 0: at once).  Attached to @context (NULL:
 * the global default); @name must be a static string.  Returns the caller's reference.
 */
GSource *
wr_deadline_source_new(GMainContext *context, const char *name, gint64 ready_time, GSourceFunc func,
		       gpointer user_data);

/* destroys *source, drops the reference and sets it to NULL; nothing when it is NULL */
void
wr_source_clear(GSource **source);

/* wakes a thread waiting on the eventfd @fd (never blocks, never fails in a way that matters) */
void
wr_eventfd_poke(int fd);

/* resets the eventfd @fd after a wake-up */
void
wr_eventfd_drain(int fd);
