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
 * Tokens are microseconds of credit: a packet costs cost, credit accrues one per microsecond
 * of idle time and saturates at token_max (cost * burst), which is what gives the burst.
 */
#define USEC_PER_MINUTE (60 * WR_USEC_PER_SEC)
#define ENTRY_IDLE_MIN	WR_USEC_PER_SEC
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
	int64_t cost;	   /* µs of credit one packet or request takes */
	int64_t token_max; /* cost * burst */
	int64_t idle_max;  /* collected past this: a full bucket, and at least a second */
	unsigned int max_entries;
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
wr_ratelimiter_new_full(unsigned int per_minute, unsigned int burst, unsigned int max_entries)
{
	WrRatelimiter *self;

	if (per_minute == 0 || per_minute > WR_RATELIMITER_PER_MINUTE_MAX || burst == 0 ||
	    burst > WR_RATELIMITER_BURST_MAX || max_entries == 0 ||
	    max_entries > WR_RATELIMITER_ENTRIES_MAX_MAX)
		return NULL;
	self = g_new0(WrRatelimiter, 1);
	wr_random_bytes(self->siphash_key, sizeof(self->siphash_key));
	self->entries = g_hash_table_new_full(entry_hash, entry_equal, g_free, NULL);
	self->cost = USEC_PER_MINUTE / per_minute;
	self->token_max = self->cost * burst;
	self->idle_max = MAX(self->token_max, ENTRY_IDLE_MIN);
	self->max_entries = max_entries;
	return self;
}

WrRatelimiter *
wr_ratelimiter_new(void)
{
	return wr_ratelimiter_new_full(WR_RATELIMITER_PACKETS_PER_SECOND * 60,
				       WR_RATELIMITER_PACKETS_BURST, WR_RATELIMITER_MAX_ENTRIES);
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

static bool
make_probe(const WrRatelimiter *self, int family, const uint8_t *addr, WrRatelimiterEntry *out)
{
	*out = (WrRatelimiterEntry){.siphash_key = self->siphash_key};
	if (family == AF_INET) {
		out->family = 4;
		memcpy(out->addr, addr, V4_KEY_LEN);
	} else if (family == AF_INET6) {
		out->family = 6;
		memcpy(out->addr, addr, V6_KEY_LEN);
	} else {
		return false;
	}
	return true;
}

/* the entry's credit at now; a clock that steps back earns nothing, a long idle saturates
 * without overflowing */
static int64_t
tokens_at(const WrRatelimiter *self, const WrRatelimiterEntry *entry, int64_t now)
{
	int64_t elapsed;

	if (now <= entry->last_time)
		return entry->tokens;
	elapsed = now - entry->last_time;
	if (elapsed >= self->token_max - entry->tokens)
		return self->token_max;
	return entry->tokens + elapsed;
}

bool
wr_ratelimiter_allow(WrRatelimiter *self, int family, const uint8_t *addr, int64_t now)
{
	WrRatelimiterEntry probe;
	WrRatelimiterEntry *entry;

	if (!make_probe(self, family, addr, &probe))
		return false;

	entry = g_hash_table_lookup(self->entries, &probe);
	if (entry == NULL) {
		if (g_hash_table_size(self->entries) >= self->max_entries)
			return false;
		entry = g_new(WrRatelimiterEntry, 1);
		*entry = probe;
		entry->last_time = now;
		entry->tokens = self->token_max - self->cost;
		g_hash_table_add(self->entries, entry);
		return true;
	}

	entry->tokens = tokens_at(self, entry, now);
	if (now > entry->last_time)
		entry->last_time = now;
	if (entry->tokens < self->cost)
		return false;
	entry->tokens -= self->cost;
	return true;
}

int64_t
wr_ratelimiter_retry_after(const WrRatelimiter *self, int family, const uint8_t *addr, int64_t now)
{
	WrRatelimiterEntry probe;
	const WrRatelimiterEntry *entry;
	int64_t tokens;

	if (!make_probe(self, family, addr, &probe))
		return self->idle_max;
	entry = g_hash_table_lookup(self->entries, &probe);
	if (entry == NULL)
		return g_hash_table_size(self->entries) >= self->max_entries ? self->idle_max : 0;
	tokens = tokens_at(self, entry, now);
	if (tokens >= self->cost)
		return 0;
	/* a clock that stepped back must still wait out the difference */
	return self->cost - tokens + (now < entry->last_time ? entry->last_time - now : 0);
}

typedef struct {
	int64_t now;
	int64_t idle_max;
} GcContext;

static gboolean
entry_is_idle_cb(gpointer key, gpointer value, gpointer user_data)
{
	const WrRatelimiterEntry *entry = key;
	const GcContext *ctx = user_data;

	return ctx->now - entry->last_time > ctx->idle_max;
}

void
wr_ratelimiter_gc(WrRatelimiter *self, int64_t now)
{
	GcContext ctx = {.now = now, .idle_max = self->idle_max};

	(void) g_hash_table_foreach_remove(self->entries, entry_is_idle_cb, &ctx);
}

unsigned int
wr_ratelimiter_size(const WrRatelimiter *self)
{
	return g_hash_table_size(self->entries);
}
