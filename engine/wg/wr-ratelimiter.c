/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrRatelimiter"

#include "config.h"

#include <glib.h>
#include <string.h>
#include <sys/socket.h>

#include "wr-crypto.h"
#include "wr-messages.h"
#include "wr-ratelimiter.h"

/*
 * Tokens are microseconds of credit: a packet costs PACKET_COST, credit accrues one per
 * microsecond of idle time and saturates at TOKEN_MAX, which is what gives the burst.
 */
#define PACKET_COST	(WR_USEC_PER_SEC / WR_RATELIMITER_PACKETS_PER_SECOND)
#define TOKEN_MAX	(PACKET_COST * WR_RATELIMITER_PACKETS_BURST)
#define ENTRY_IDLE_MAX	WR_USEC_PER_SEC
#define SIPHASH_KEY_LEN 16
#define V4_KEY_LEN	4
#define V6_KEY_LEN	8 /* a /64: one host can own all of it */

typedef struct {
	/* the hash function of GHashTable takes no user data, so each key carries its table's */
	const uint8_t *siphash_key;
	uint8_t family;
	uint8_t addr[V6_KEY_LEN];
	int64_t last_time;
	int64_t tokens;
} WrRatelimiterEntry;

struct WrRatelimiter {
	GHashTable *entries; /* WrRatelimiterEntry, as its own key, owned */
	uint8_t siphash_key[SIPHASH_KEY_LEN];
};

static guint
entry_hash(gconstpointer key)
{
	const WrRatelimiterEntry *entry = key;
	uint8_t buf[1 + V6_KEY_LEN];

	buf[0] = entry->family;
	memcpy(buf + 1, entry->addr, sizeof(entry->addr));
	return (guint) wr_siphash(entry->siphash_key, buf, sizeof(buf));
}

static gboolean
entry_equal(gconstpointer a, gconstpointer b)
{
	const WrRatelimiterEntry *ea = a;
	const WrRatelimiterEntry *eb = b;

	return ea->family == eb->family && memcmp(ea->addr, eb->addr, sizeof(ea->addr)) == 0;
}

WrRatelimiter *
wr_ratelimiter_new(void)
{
	WrRatelimiter *self = g_new0(WrRatelimiter, 1);

	wr_random_bytes(self->siphash_key, sizeof(self->siphash_key));
	self->entries = g_hash_table_new_full(entry_hash, entry_equal, g_free, NULL);
	return self;
}

void
wr_ratelimiter_free(WrRatelimiter *self)
{
	if (self == NULL)
		return;
	g_hash_table_unref(self->entries);
	wr_memzero(self->siphash_key, sizeof(self->siphash_key));
	g_free(self);
}

bool
wr_ratelimiter_allow(WrRatelimiter *self, int family, const uint8_t *addr, int64_t now)
{
	WrRatelimiterEntry probe = {.siphash_key = self->siphash_key};
	WrRatelimiterEntry *entry;

	if (family == AF_INET) {
		probe.family = 4;
		memcpy(probe.addr, addr, V4_KEY_LEN);
	} else if (family == AF_INET6) {
		probe.family = 6;
		memcpy(probe.addr, addr, V6_KEY_LEN);
	} else {
		return false;
	}

	entry = g_hash_table_lookup(self->entries, &probe);
	if (entry == NULL) {
		if (g_hash_table_size(self->entries) >= WR_RATELIMITER_MAX_ENTRIES)
			return false;
		entry = g_new(WrRatelimiterEntry, 1);
		*entry = probe;
		entry->last_time = now;
		entry->tokens = TOKEN_MAX - PACKET_COST;
		g_hash_table_add(self->entries, entry);
		return true;
	}

	/* a clock that steps back earns nothing; a long idle saturates without overflowing */
	if (now > entry->last_time) {
		int64_t elapsed = now - entry->last_time;

		if (elapsed >= TOKEN_MAX - entry->tokens)
			entry->tokens = TOKEN_MAX;
		else
			entry->tokens += elapsed;
		entry->last_time = now;
	}
	if (entry->tokens < PACKET_COST)
		return false;
	entry->tokens -= PACKET_COST;
	return true;
}

static gboolean
entry_is_idle_cb(gpointer key, gpointer value, gpointer user_data)
{
	const WrRatelimiterEntry *entry = key;
	const int64_t *now = user_data;

	return *now - entry->last_time > ENTRY_IDLE_MAX;
}

void
wr_ratelimiter_gc(WrRatelimiter *self, int64_t now)
{
	(void) g_hash_table_foreach_remove(self->entries, entry_is_idle_cb, &now);
}

unsigned int
wr_ratelimiter_size(const WrRatelimiter *self)
{
	return g_hash_table_size(self->entries);
}
