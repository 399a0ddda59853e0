/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A token bucket per source address for handshake messages under load, as the kernel's
 * ratelimiter.c: 20 packets per second with a burst of 5 per IPv4 address or IPv6 /64.
 * Pure: the caller passes now (µs, monotonic).  Bounded: at most WR_RATELIMITER_MAX_ENTRIES
 * sources are tracked (past that, new sources are refused); entries idle for a second are
 * collected.  The table is keyed with a random SipHash key so it cannot be flooded.
 * One instance per device, no globals.  Not thread-safe: the owner locks.
 */

#pragma once

#include <stdbool.h>
#include <stdint.h>

#define WR_RATELIMITER_PACKETS_PER_SECOND 20
#define WR_RATELIMITER_PACKETS_BURST	  5
#define WR_RATELIMITER_MAX_ENTRIES	  8192

typedef struct WrRatelimiter WrRatelimiter;

WrRatelimiter *
wr_ratelimiter_new(void);
void
wr_ratelimiter_free(WrRatelimiter *self);
/* family AF_INET (4 address bytes) or AF_INET6 (16; only the /64 counts) */
bool
wr_ratelimiter_allow(WrRatelimiter *self, int family, const uint8_t *addr, int64_t now);
/* drops entries idle for more than a second; called from the device's tick */
void
wr_ratelimiter_gc(WrRatelimiter *self, int64_t now);
unsigned int
wr_ratelimiter_size(const WrRatelimiter *self);
