/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * `warren log` (docs/flow-logs.md): its --since argument and its table of the flow records
 * GetFlows returns (aa{sv}, as data/io.github.warrenvpn.Engine1.xml documents them).  Pure:
 * variants and text in, text out; the clock and the time zone are arguments.
 */

#pragma once

#include <glib.h>

/*
 * --since: a duration back from now_us (Unix µs), "90s", "30m", "2h", "1d", or several in a
 * row ("1h30m"); or a time, "2026-12-05T07:00:00" (ISO 8601, in tz unless it names its own
 * zone, "Z" or "+01:00"), "2026-12-05 07:00" or a date alone "2026-12-05" (its midnight).  On
 * success out_us holds Unix µs; FALSE with G_OPTION_ERROR_BAD_VALUE naming the problem
 * otherwise (out_us untouched).
 */
gboolean
wr_cli_flows_parse_since(const gchar *text, gint64 now_us, GTimeZone *tz, gint64 *out_us,
			 GError **error);

/* the records as a table with a header line (times in tz), or a sentence when there are none */
gchar *
wr_cli_flows_format(GVariant *flows, GTimeZone *tz);
