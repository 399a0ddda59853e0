/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * TAI64N timestamps as WireGuard puts them in handshake initiations: 8 bytes of
 * big-endian seconds since 1970 plus 2^62 (TAI64 label, leap seconds ignored as every
 * WireGuard implementation does), then 4 bytes of big-endian nanoseconds rounded down
 * to 2^24 ns so that they do not reveal the clock's precision.  Pure: the caller passes
 * the wall-clock time.
 */

#pragma once

#include <stdbool.h>
#include <stdint.h>

#define WR_TAI64N_LEN 12

/* realtime_usec: microseconds since the Unix epoch (g_get_real_time()) */
void
wr_tai64n_from_realtime(uint8_t out[WR_TAI64N_LEN], int64_t realtime_usec);
/* true when a is strictly later than b */
bool
wr_tai64n_after(const uint8_t a[WR_TAI64N_LEN], const uint8_t b[WR_TAI64N_LEN]);
