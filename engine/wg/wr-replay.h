/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The anti-replay sliding window of RFC 6479 as WireGuard uses it: COUNTER_BITS_TOTAL bits
 * (2048) in words, of which COUNTER_WINDOW_SIZE are usable behind the highest counter seen.
 * Call wr_replay_check only after the packet authenticated.  Not thread-safe.
 */

#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "wr-messages.h"

#define WR_REPLAY_WORDS (COUNTER_BITS_TOTAL / 64)

typedef struct {
	uint64_t counter; /* one past the highest counter accepted */
	uint64_t backtrack[WR_REPLAY_WORDS];
} WrReplay;

void
wr_replay_init(WrReplay *self);
/* true when their_counter is new and inside the window (and records it); false for a
 * duplicate, a counter too old for the window, or one at or past REJECT_AFTER_MESSAGES */
bool
wr_replay_check(WrReplay *self, uint64_t their_counter);
