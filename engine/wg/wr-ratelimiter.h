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
 *
 * wr_ratelimiter_new_full() makes the same bucket with another rate, burst and bound, for
 * warren-control's register requests and sign-in pages (a few per minute per source); its
 * entries are collected once idle for a second or for the time a bucket takes to fill,
 * whichever is longer, so collection never forgives anything.
 */

#pragma once

#include <stdbool.h>
#include <stdint.h>

#define WR_RATELIMITER_PACKETS_PER_SECOND 20
#define WR_RATELIMITER_PACKETS_BURST	  5
#define WR_RATELIMITER_MAX_ENTRIES	  8192

/* wr_ratelimiter_new_full()'s bounds */
#define WR_RATELIMITER_PER_MINUTE_MAX  (60 * 1000 * 1000) /* one per microsecond */
#define WR_RATELIMITER_BURST_MAX       100000
#define WR_RATELIMITER_ENTRIES_MAX_MAX (1u << 24)

typedef struct WrRatelimiter WrRatelimiter;

/* the WireGuard handshake limiter: 20 per second, burst 5, 8192 sources */
WrRatelimiter *
wr_ratelimiter_new(void);
/*
 * per_minute tokens per minute (1..WR_RATELIMITER_PER_MINUTE_MAX), a burst of burst
 * (1..WR_RATELIMITER_BURST_MAX), at most max_entries sources (1..WR_RATELIMITER_ENTRIES_MAX_MAX);
 * NULL if any is out of range
 */
WrRatelimiter *
wr_ratelimiter_new_full(unsigned int per_minute, unsigned int burst, unsigned int max_entries);
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
/*
 * µs from now until wr_ratelimiter_allow() would next allow this source (0: it would now),
 * without taking anything; for a Retry-After header (round up to whole seconds).  A new
 * source while the table is full waits until collection could make room.
 */
int64_t
wr_ratelimiter_retry_after(const WrRatelimiter *self, int family, const uint8_t *addr, int64_t now);
