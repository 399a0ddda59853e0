/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrSlotsTest"

#include "config.h"

#include <glib.h>
#include <string.h>

#include "wr-slots.h"

/* the links not first, as in the real tables, so that links_offset counts */
typedef struct {
	uint32_t key;
	WrSlotLinks links;
	uint64_t h;
} Item;

#define CAP 8

typedef struct {
	Item items[CAP];
	WrSlots slots;
} Fixture;

static void
fixture_init(Fixture *f)
{
	memset(f->items, 0xa5, sizeof(f->items));
	wr_slots_init_for(&f->slots, f->items, CAP, Item, links);
}

static uint32_t
find(Fixture *f, uint32_t key, uint64_t h)
{
	for (uint32_t i = wr_slots_first(&f->slots, h); i != WR_SLOT_NIL;
	     i = wr_slots_next(&f->slots, i)) {
		if (f->items[i].key == key)
			return i;
	}
	return WR_SLOT_NIL;
}

static uint32_t
add(Fixture *f, uint32_t key, uint64_t h)
{
	uint32_t i = wr_slots_insert(&f->slots, h);
	Item *it = wr_slots_entry(&f->slots, i);

	g_assert_true(it == &f->items[i]);
	it->key = key;
	it->h = h;
	return i;
}

/* the keys from least to most recently used */
static GString *
lru_order(Fixture *f)
{
	GString *s = g_string_new(NULL);

	for (uint32_t i = wr_slots_lru_tail(&f->slots); i != WR_SLOT_NIL;
	     i = wr_slots_lru_prev(&f->slots, i))
		g_string_append_printf(s, "%s%u", s->len > 0 ? " " : "", f->items[i].key);
	return s;
}

static void
assert_lru(Fixture *f, const char *want)
{
	g_autoptr(GString) got = lru_order(f);

	g_assert_cmpstr(got->str, ==, want);
}

/* keys sharing one bucket are all found, and removing one from the middle of the chain
 * leaves the others */
static void
test_chain(void)
{
	Fixture f;

	fixture_init(&f);
	g_assert_cmpuint(f.slots.mask, ==, CAP - 1);
	/* 3, 11, 19 and 27 land in bucket 3; 4 in its own */
	for (uint32_t k = 3; k < 32; k += 8)
		add(&f, k, k);
	add(&f, 4, 4);
	g_assert_cmpuint(f.slots.used, ==, 5);
	for (uint32_t k = 3; k < 32; k += 8)
		g_assert_cmpuint(f.items[find(&f, k, k)].key, ==, k);
	g_assert_cmpuint(find(&f, 35, 35), ==, WR_SLOT_NIL);

	wr_slots_remove(&f.slots, find(&f, 11, 11), 11);
	g_assert_cmpuint(f.slots.used, ==, 4);
	g_assert_cmpuint(find(&f, 11, 11), ==, WR_SLOT_NIL);
	g_assert_cmpuint(f.items[find(&f, 3, 3)].key, ==, 3);
	g_assert_cmpuint(f.items[find(&f, 19, 19)].key, ==, 19);
	g_assert_cmpuint(f.items[find(&f, 27, 27)].key, ==, 27);
	g_assert_cmpuint(f.items[find(&f, 4, 4)].key, ==, 4);
	assert_lru(&f, "3 19 27 4");
	wr_slots_clear(&f.slots);
	g_assert_null(f.slots.buckets);
}

/* touch moves to the head; when full the caller takes the tail, and that is the least
 * recently used */
static void
test_lru(void)
{
	Fixture f;

	fixture_init(&f);
	for (uint32_t k = 0; k < CAP; k++) {
		g_assert_false(wr_slots_full(&f.slots));
		add(&f, k, k * 7);
	}
	g_assert_true(wr_slots_full(&f.slots));
	assert_lru(&f, "0 1 2 3 4 5 6 7");

	wr_slots_touch(&f.slots, find(&f, 0, 0));
	wr_slots_touch(&f.slots, find(&f, 5, 35));
	wr_slots_touch(&f.slots, find(&f, 5, 35)); /* already the head */
	assert_lru(&f, "1 2 3 4 6 7 0 5");

	for (uint32_t k = 100; k < 103; k++) {
		uint32_t old = wr_slots_lru_tail(&f.slots);

		wr_slots_remove(&f.slots, old, f.items[old].h);
		add(&f, k, k);
	}
	assert_lru(&f, "4 6 7 0 5 100 101 102");
	g_assert_cmpuint(f.slots.used, ==, CAP);
	g_assert_cmpuint(find(&f, 1, 7), ==, WR_SLOT_NIL);
	g_assert_cmpuint(f.items[find(&f, 4, 28)].key, ==, 4);
	wr_slots_clear(&f.slots);
}

/* every slot can be used, freed and used again, and one alone is head and tail */
static void
test_free_list(void)
{
	Fixture f;
	uint32_t seen = 0;

	fixture_init(&f);
	for (int round = 0; round < 3; round++) {
		for (uint32_t k = 0; k < CAP; k++)
			seen |= 1u << add(&f, k, k);
		g_assert_true(wr_slots_full(&f.slots));
		for (uint32_t k = 0; k < CAP; k++)
			wr_slots_remove(&f.slots, find(&f, k, k), k);
		g_assert_cmpuint(f.slots.used, ==, 0);
		g_assert_cmpuint(wr_slots_lru_tail(&f.slots), ==, WR_SLOT_NIL);
	}
	g_assert_cmpuint(seen, ==, (1u << CAP) - 1);
	add(&f, 42, 1);
	assert_lru(&f, "42");
	wr_slots_remove(&f.slots, find(&f, 42, 1), 1);
	assert_lru(&f, "");
	wr_slots_clear(&f.slots);
}

/* a capacity that is not a power of two gets the next one up in buckets */
static void
test_odd_capacity(void)
{
	Item items[5];
	WrSlots s;

	wr_slots_init_for(&s, items, G_N_ELEMENTS(items), Item, links);
	g_assert_cmpuint(s.mask, ==, 7);
	for (uint32_t k = 0; k < 5; k++)
		items[wr_slots_insert(&s, k)].key = k;
	g_assert_true(wr_slots_full(&s));
	wr_slots_clear(&s);
}

/* the hash depends on the seed and on every byte of the key */
static void
test_hash(void)
{
	uint8_t key[40] = {0};
	uint64_t base = wr_slots_hash(key, sizeof(key), 1);

	g_assert_cmpuint(wr_slots_hash(key, sizeof(key), 1), ==, base);
	g_assert_cmpuint(wr_slots_hash(key, sizeof(key), 2), !=, base);
	for (size_t i = 0; i < sizeof(key); i++) {
		key[i] = 1;
		g_assert_cmpuint(wr_slots_hash(key, sizeof(key), 1), !=, base);
		key[i] = 0;
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/warren/slots/chain", test_chain);
	g_test_add_func("/warren/slots/lru", test_lru);
	g_test_add_func("/warren/slots/free-list", test_free_list);
	g_test_add_func("/warren/slots/odd-capacity", test_odd_capacity);
	g_test_add_func("/warren/slots/hash", test_hash);
	return g_test_run();
}
