/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrReplayTest"

#include "config.h"

#include <glib.h>

#include "wr-crypto.h"
#include "wr-replay.h"

#define W   ((uint64_t) COUNTER_WINDOW_SIZE)
#define T   ((uint64_t) COUNTER_BITS_TOTAL)
#define R   ((uint64_t) REJECT_AFTER_MESSAGES)
#define BIG (2 * T + 5000)
#define LAP (BIG + T)

typedef struct {
	uint64_t counter;
	bool accept;
} Step;

/* one window, fed in order; each row's number is its index, printed on failure */
static const Step steps_main[] = {
	/*  0 */ {0, true},
	/*  1 */ {0, false}, /* duplicate */
	/*  2 */ {1, true},
	/*  3 */ {3, true},
	/*  4 */ {2, true}, /* late but inside the window */
	/*  5 */ {2, false},
	/*  6 */ {3, false},
	/*  7 */ {100, true},
	/*  8 */ {50, true},
	/*  9 */ {50, false},
	/* 10 */ {W + 100, true}, /* the window's lower edge is now 100 */
	/* 11 */ {99, false},	  /* one past the edge */
	/* 12 */ {100, false},	  /* at the edge, but seen */
	/* 13 */ {101, true},
	/* 14 */ {W + 101, true},
	/* 15 */ {101, false},
	/* 16 */ {W + 103, true},
	/* 17 */ {102, false}, /* W + 1 behind: too old */
	/* 18 */ {103, true},  /* exactly W behind: the oldest the window keeps */
	/* 19 */ {103, false},
	/* 20 */ {W + 102, true}, /* below the highest, never seen */
	/* 21 */ {W + 102, false},
	/* 22 */ {BIG, true},	   /* a jump of more than the whole bitmap clears it */
	/* 23 */ {W + 103, false}, /* far behind now */
	/* 24 */ {BIG - W, true},  /* the edge after the jump; no stale bit there */
	/* 25 */ {BIG - W - 1, false},
	/* 26 */ {BIG - 1, true},
	/* 27 */ {BIG - 64, true},
	/* 28 */ {BIG - 63, true},
	/* 29 */ {BIG - 65, true},
	/* 30 */ {BIG - 64, false},
	/* 31 */ {LAP, true},	   /* same ring slot as BIG, one lap later */
	/* 32 */ {LAP - 1, true},  /* same slot as BIG - 1, which was seen a lap ago */
	/* 33 */ {LAP - 64, true}, /* likewise for BIG - 64, a word back */
	/* 34 */ {LAP - 1, false},
	/* 35 */ {LAP + 64, true}, /* a slide of exactly one word */
	/* 36 */ {LAP + 1, true},
	/* 37 */ {LAP + T, true},     /* a slide of one word short of a lap */
	/* 38 */ {LAP + 64, false},   /* exactly W behind, but seen */
	/* 39 */ {LAP + 65, true},    /* W - 1 behind */
	/* 40 */ {LAP + 63, false},   /* W + 1 behind */
	/* 41 */ {LAP + T + 1, true}, /* the slot of LAP + 1, accepted a lap ago */
	/* 42 */ {R - 1, true},	      /* the last counter ever allowed */
	/* 43 */ {R, false},
	/* 44 */ {R + 1, false},
	/* 45 */ {UINT64_MAX, false},
	/* 46 */ {UINT64_MAX - 1, false},
	/* 47 */ {R - 1, false},
	/* 48 */ {R - 1 - W, true},
	/* 49 */ {R - 2 - W, false},
	/* 50 */ {R - 2, true},
	/* 51 */ {0, false},
};

/* a fresh window accepts a first counter past the window, then everything down to W behind */
static const Step steps_fresh_far[] = {
	/* 0 */ {W, true},
	/* 1 */ {0, true}, /* exactly W behind */
	/* 2 */ {2, true},
	/* 3 */ {0, false},
	/* 4 */ {W + 2, true},
	/* 5 */ {1, false}, /* W + 1 behind, never seen */
	/* 6 */ {2, false},
	/* 7 */ {3, true},
};

/* the first counter may already be huge */
static const Step steps_fresh_high[] = {
	/* 0 */ {R - 1, true},
	/* 1 */ {R - 1 - W, true},
	/* 2 */ {R - 2 - W, false},
	/* 3 */ {R, false},
	/* 4 */ {R - 2, true},
};

/* a fresh window refuses only the untouchable */
static const Step steps_fresh_reject[] = {
	/* 0 */ {UINT64_MAX, false},
	/* 1 */ {R, false},
	/* 2 */ {0, true},
	/* 3 */ {T - 1, true},
	/* 4 */ {T, true},
	/* 5 */ {T - W, true},
	/* 6 */ {T - W - 1, false},
};

typedef struct {
	const char *name;
	const Step *steps;
	gsize n_steps;
} Table;

#define TABLE(name, steps)                       \
	{                                        \
		name, steps, G_N_ELEMENTS(steps) \
	}

static const Table tables[] = {
	TABLE("main", steps_main),
	TABLE("fresh-far", steps_fresh_far),
	TABLE("fresh-high", steps_fresh_high),
	TABLE("fresh-reject", steps_fresh_reject),
};

static void
test_table(gconstpointer data)
{
	const Table *table = data;
	WrReplay replay;

	wr_replay_init(&replay);
	for (gsize i = 0; i < table->n_steps; i++) {
		bool got = wr_replay_check(&replay, table->steps[i].counter);

		if (got != table->steps[i].accept) {
			g_test_message("step %" G_GSIZE_FORMAT ": counter %" G_GUINT64_FORMAT
				       " expected %s",
				       i, table->steps[i].counter,
				       table->steps[i].accept ? "accept" : "reject");
		}
		g_assert_cmpint(got, ==, table->steps[i].accept);
	}
}

static void
test_in_order(void)
{
	WrReplay replay;

	wr_replay_init(&replay);
	for (uint64_t i = 0; i < 4 * T; i++)
		g_assert_true(wr_replay_check(&replay, i));
	g_assert_cmpuint(replay.counter, ==, 4 * T);
	/* everything the window remembers is a duplicate, everything older is too old */
	for (uint64_t i = 0; i < 4 * T; i++)
		g_assert_false(wr_replay_check(&replay, i));
}

static void
test_reverse(void)
{
	WrReplay replay;

	/* the highest first, then the whole window from the top down */
	wr_replay_init(&replay);
	g_assert_true(wr_replay_check(&replay, 5 * T));
	for (uint64_t i = 1; i <= W; i++)
		g_assert_true(wr_replay_check(&replay, 5 * T - i));
	g_assert_false(wr_replay_check(&replay, 5 * T - W - 1));
	for (uint64_t i = 0; i <= W; i++)
		g_assert_false(wr_replay_check(&replay, 5 * T - i));
}

/* the naive reference: the set of everything accepted, and the highest */
typedef struct {
	GHashTable *seen;
	uint64_t highest;
	bool any;
} RefReplay;

static bool
ref_check(RefReplay *ref, uint64_t counter)
{
	if (counter >= R)
		return false;
	if (ref->any && counter < ref->highest && ref->highest - counter > W)
		return false;
	if (g_hash_table_contains(ref->seen, &counter))
		return false;
	g_hash_table_add(ref->seen, g_memdup2(&counter, sizeof(counter)));
	if (!ref->any || counter > ref->highest)
		ref->highest = counter;
	ref->any = true;
	return true;
}

static uint64_t
random_counter(GRand *rand, const RefReplay *ref, bool endgame)
{
	uint64_t h = ref->highest;
	guint dice = (guint) g_rand_int_range(rand, 0, 1000);

	/* the end of the counter space accepts almost nothing more: only in endgame rounds */
	if (endgame && dice < 3)
		return R + (uint64_t) g_rand_int_range(rand, -4, 4);
	/* a jump, sometimes over the whole bitmap */
	if (dice < 60)
		return h + (uint64_t) g_rand_int_range(rand, 1, 3 * (gint32) T);
	if (dice < 65)
		return h + g_rand_int(rand);
	/* around the window's edge */
	if (dice < 120)
		return h - W + (uint64_t) g_rand_int_range(rand, -3, 4);
	if (dice < 400)
		return h + (uint64_t) g_rand_int_range(rand, 0, 80);
	/* behind the highest, mostly inside the window */
	return h - (uint64_t) g_rand_int_range(rand, 0, (gint32) W + 100);
}

/* start: 0 from zero, 1 near the end (the endgame), 2 anywhere, -1 any of those */
static void
random_round(guint32 seed, guint n_steps, int start)
{
	g_autoptr(GRand) rand = g_rand_new_with_seed(seed);
	RefReplay ref = {.seen = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL)};
	WrReplay replay;
	guint accepted = 0;
	bool endgame = false;

	/* the generator aims relative to ref.highest, which starts at 0, anywhere, or near the
	 * end; wrapping below 0 is fine, both sides see the same huge counter */
	wr_replay_init(&replay);
	if (start < 0)
		start = g_rand_int_range(rand, 0, 4);
	switch (start) {
	case 0:
		ref.highest = 0;
		break;
	case 1:
		ref.highest = R - (uint64_t) g_rand_int_range(rand, 0, 20000);
		endgame = true;
		break;
	default:
		ref.highest = ((uint64_t) g_rand_int(rand) << 30) | g_rand_int(rand);
		break;
	}

	for (guint i = 0; i < n_steps; i++) {
		uint64_t c = random_counter(rand, &ref, endgame);
		/* aiming behind a small highest wraps to the end of the counter space, which
		 * would end the round early: aim inside [0, highest] instead */
		if (!endgame && c > ref.highest + (UINT64_C(1) << 33))
			c %= ref.highest + 1;
		bool want = ref_check(&ref, c);
		bool got = wr_replay_check(&replay, c);

		if (got != want) {
			g_test_message("seed %u step %u: counter %" G_GUINT64_FORMAT
				       " highest %" G_GUINT64_FORMAT,
				       seed, i, c, ref.highest);
		}
		g_assert_cmpint(got, ==, want);
		accepted += want;
	}
	g_test_message("seed %u: %u steps%s, %u accepted, highest %" G_GUINT64_FORMAT, seed,
		       n_steps, endgame ? " (endgame)" : "", accepted, ref.highest);
	/* the generator must exercise both answers */
	g_assert_cmpuint(accepted, >, endgame ? 100 : n_steps / 5);
	g_assert_cmpuint(accepted, <, n_steps);
	g_hash_table_unref(ref.seen);
}

static void
test_random(void)
{
	/* g_test_rand_int is seeded per test; rerun a failure with --seed */
	for (guint round = 0; round < 16; round++)
		random_round(g_test_rand_int(), g_test_slow() ? 500000 : 20000, -1);
}

static void
test_random_fixed(void)
{
	random_round(0xc0ffee01U, 50000, 0);
	random_round(0xc0ffee02U, 50000, 1);
	random_round(0xc0ffee03U, 50000, 2);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_assert_true(wr_crypto_init());

	for (guint i = 0; i < G_N_ELEMENTS(tables); i++) {
		g_autofree char *path = g_strdup_printf("/warren/replay/table-%s", tables[i].name);

		g_test_add_data_func(path, &tables[i], test_table);
	}
	g_test_add_func("/warren/replay/in-order", test_in_order);
	g_test_add_func("/warren/replay/reverse", test_reverse);
	g_test_add_func("/warren/replay/random", test_random);
	g_test_add_func("/warren/replay/random-fixed", test_random_fixed);
	return g_test_run();
}
