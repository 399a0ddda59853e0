/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * WrSlots: a fixed-capacity chained hash index with an LRU list and a free list, over an
 * array of entries the caller owns.  The connection tracker (wr-filter.c) and the flow table
 * (wr-flowtable.c) both keep one per shard.
 *
 * Each entry embeds a WrSlotLinks; the index only ever touches those links, never the key, so
 * the caller hashes its key, walks a chain with wr_slots_first()/wr_slots_next() comparing
 * keys itself, and passes the same hash back to wr_slots_insert()/wr_slots_remove().
 * Entries are named by their index in the array; WR_SLOT_NIL is "none".
 *
 * Contract: no allocation after wr_slots_init(), no locking (the caller serialises all calls
 * on one index), and wr_slots_insert() needs a free slot: when wr_slots_full(), the caller
 * removes one first (usually wr_slots_lru_tail(), the least recently used).  Everything but
 * init/clear is inline because it sits on the per-packet path.
 */

#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define WR_SLOT_NIL G_MAXUINT32

typedef struct {
	uint32_t next; /* the hash chain, or the free list */
	uint32_t lru_prev;
	uint32_t lru_next;
} WrSlotLinks;

typedef struct {
	uint8_t *entries; /* capacity entries of stride bytes, links at links_offset in each */
	size_t stride;
	size_t links_offset;
	uint32_t *buckets;
	uint32_t mask;
	uint32_t capacity;
	uint32_t used;
	uint32_t free_head;
	uint32_t lru_head; /* most recently used */
	uint32_t lru_tail;
} WrSlots;

/* index capacity entries of type `type`, its links in member `member` */
#define wr_slots_init_for(s, entries, capacity, type, member) \
	wr_slots_init((s), (entries), (capacity), sizeof(type), offsetof(type, member))

/* all slots free; entries (capacity of stride bytes) stays the caller's */
static inline void
wr_slots_init(WrSlots *s, void *entries, uint32_t capacity, size_t stride, size_t links_offset)
{
	uint32_t n_buckets = 1;

	g_assert(capacity > 0 && capacity <= G_MAXUINT32 / 2);
	while (n_buckets < capacity)
		n_buckets <<= 1;
	s->entries = entries;
	s->stride = stride;
	s->links_offset = links_offset;
	s->capacity = capacity;
	s->used = 0;
	s->buckets = g_new(uint32_t, n_buckets);
	s->mask = n_buckets - 1;
	for (uint32_t b = 0; b < n_buckets; b++)
		s->buckets[b] = WR_SLOT_NIL;
	s->free_head = 0;
	s->lru_head = s->lru_tail = WR_SLOT_NIL;
	for (uint32_t i = 0; i < capacity; i++) {
		WrSlotLinks *l = (WrSlotLinks *) (s->entries + (size_t) i * stride + links_offset);

		l->next = i + 1 < capacity ? i + 1 : WR_SLOT_NIL;
		l->lru_prev = l->lru_next = WR_SLOT_NIL;
	}
}

/* frees the buckets; the entries are the caller's */
static inline void
wr_slots_clear(WrSlots *s)
{
	g_clear_pointer(&s->buckets, g_free);
}

static inline void *
wr_slots_entry(const WrSlots *s, uint32_t i)
{
	return s->entries + (size_t) i * s->stride;
}

static inline WrSlotLinks *
wr_slots_links(const WrSlots *s, uint32_t i)
{
	return (WrSlotLinks *) (s->entries + (size_t) i * s->stride + s->links_offset);
}

/* the first entry in h's chain, or WR_SLOT_NIL */
static inline uint32_t
wr_slots_first(const WrSlots *s, uint64_t h)
{
	return s->buckets[h & s->mask];
}

/* the entry after i in its chain, or WR_SLOT_NIL */
static inline uint32_t
wr_slots_next(const WrSlots *s, uint32_t i)
{
	return wr_slots_links(s, i)->next;
}

static inline uint32_t
wr_slots_lru_tail(const WrSlots *s)
{
	return s->lru_tail;
}

/* the entry used just more recently than i, or WR_SLOT_NIL */
static inline uint32_t
wr_slots_lru_prev(const WrSlots *s, uint32_t i)
{
	return wr_slots_links(s, i)->lru_prev;
}

static inline bool
wr_slots_full(const WrSlots *s)
{
	return s->free_head == WR_SLOT_NIL;
}

static inline void
wr_slots_lru_unlink_(WrSlots *s, uint32_t i)
{
	WrSlotLinks *l = wr_slots_links(s, i);

	if (l->lru_prev != WR_SLOT_NIL)
		wr_slots_links(s, l->lru_prev)->lru_next = l->lru_next;
	else
		s->lru_head = l->lru_next;
	if (l->lru_next != WR_SLOT_NIL)
		wr_slots_links(s, l->lru_next)->lru_prev = l->lru_prev;
	else
		s->lru_tail = l->lru_prev;
}

static inline void
wr_slots_lru_push_head_(WrSlots *s, uint32_t i)
{
	WrSlotLinks *l = wr_slots_links(s, i);

	l->lru_prev = WR_SLOT_NIL;
	l->lru_next = s->lru_head;
	if (s->lru_head != WR_SLOT_NIL)
		wr_slots_links(s, s->lru_head)->lru_prev = i;
	s->lru_head = i;
	if (s->lru_tail == WR_SLOT_NIL)
		s->lru_tail = i;
}

/* i, in use, becomes the most recently used */
static inline void
wr_slots_touch(WrSlots *s, uint32_t i)
{
	wr_slots_lru_unlink_(s, i);
	wr_slots_lru_push_head_(s, i);
}

/* i, in use and hashed to h, goes back to the free list */
static inline void
wr_slots_remove(WrSlots *s, uint32_t i, uint64_t h)
{
	uint32_t *link = &s->buckets[h & s->mask];

	while (*link != i)
		link = &wr_slots_links(s, *link)->next;
	*link = wr_slots_links(s, i)->next;
	wr_slots_lru_unlink_(s, i);
	wr_slots_links(s, i)->next = s->free_head;
	s->free_head = i;
	s->used--;
}

/* a free slot, linked into h's chain as the most recently used; the caller fills in the key
 * and the rest.  Must not be full. */
static inline uint32_t
wr_slots_insert(WrSlots *s, uint64_t h)
{
	uint32_t i = s->free_head;
	WrSlotLinks *l = wr_slots_links(s, i);

	s->free_head = l->next;
	l->next = s->buckets[h & s->mask];
	s->buckets[h & s->mask] = i;
	wr_slots_lru_push_head_(s, i);
	s->used++;
	return i;
}

/* the keyed hash both tables use: len (a multiple of 8) bytes of a zero-padded key */
static inline uint64_t
wr_slots_hash(const void *key, size_t len, uint64_t seed)
{
	const uint8_t *p = key;
	uint64_t h = seed ^ 0x243f6a8885a308d3ull;

	for (size_t off = 0; off + sizeof(uint64_t) <= len; off += sizeof(uint64_t)) {
		uint64_t w;

		memcpy(&w, p + off, sizeof(w));
		h = (h ^ w) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 29;
	}
	h ^= h >> 32;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}
