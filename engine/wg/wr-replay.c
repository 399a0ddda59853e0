/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrReplay"

#include "config.h"

#include <string.h>

#include "wr-replay.h"

/*
 * RFC 6479, section 2: the bitmap is a ring of WR_REPLAY_WORDS words.  Bit n of the ring
 * stands for message n - 1: counters are shifted up by one so that a fresh window
 * (self->counter == 0, all bits clear) needs no special case for message 0.  Only
 * COUNTER_WINDOW_SIZE positions behind the highest are trusted: the remaining
 * COUNTER_REDUNDANT_BITS form the word that is cleared in one go when the window
 * slides into it, so a word never holds history from two laps of the ring.
 */

#define BITS_PER_WORD 64U
#define WORD_SHIFT    6U
#define RING_MASK     (WR_REPLAY_WORDS - 1U)

_Static_assert((WR_REPLAY_WORDS & RING_MASK) == 0, "the ring must be a power of two words");
_Static_assert(COUNTER_WINDOW_SIZE <= COUNTER_BITS_TOTAL - BITS_PER_WORD,
	       "the window must leave a whole word of slack");

void
wr_replay_init(WrReplay *self)
{
	memset(self, 0, sizeof(*self));
}

bool
wr_replay_check(WrReplay *self, uint64_t their_counter)
{
	uint64_t n;
	uint64_t word;
	uint64_t bit;

	/* also bounds n below, so n + COUNTER_WINDOW_SIZE cannot wrap */
	if (their_counter >= REJECT_AFTER_MESSAGES)
		return false;
	n = their_counter + 1;

	/* too far behind the highest counter for the window to remember */
	if (n + COUNTER_WINDOW_SIZE < self->counter)
		return false;

	word = n >> WORD_SHIFT;
	if (n > self->counter) {
		uint64_t current = self->counter >> WORD_SHIFT;
		uint64_t gap = word - current;

		/* the words the window slides over hold stale laps; a big jump clears all */
		if (gap > WR_REPLAY_WORDS)
			gap = WR_REPLAY_WORDS;
		for (uint64_t i = 1; i <= gap; i++)
			self->backtrack[(current + i) & RING_MASK] = 0;
		self->counter = n;
	}

	bit = UINT64_C(1) << (n & (BITS_PER_WORD - 1U));
	word &= RING_MASK;
	if ((self->backtrack[word] & bit) != 0)
		return false;
	self->backtrack[word] |= bit;
	return true;
}
