/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrFlowTable"

#include "config.h"

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "wr-filter.h"
#include "wr-flowtable.h"
#include "wr-slots.h"

/* the 5-tuple as seen from this node; hashed and compared as bytes */
typedef struct {
	uint8_t family;
	uint8_t proto;
	uint8_t pad[2];
	uint16_t lport;
	uint16_t rport;
	uint8_t local[16];
	uint8_t remote[16];
} FlowKey;
_Static_assert(sizeof(FlowKey) == 40, "FlowKey is hashed as five 64-bit words");

#define NIL WR_SLOT_NIL

/* TCP close state */
#define FIN_LOCAL  0x01
#define FIN_REMOTE 0x02
#define RST_SEEN   0x04

typedef struct {
	FlowKey key;
	WrSlotLinks links;
	uint8_t path;
	uint8_t flags; /* WR_FLOW_F_* */
	uint8_t tcp;   /* FIN_LOCAL | FIN_REMOTE | RST_SEEN */
	gint64 start;
	gint64 last;
	uint64_t tx_packets, tx_bytes, rx_packets, rx_bytes;
} Entry;

/* a flow that ended between two collects (pushed out of a full shard, or replaced by a new
 * connection on the same 5-tuple); times still monotonic */
typedef struct {
	Entry entry;
	uint8_t end;
} Ended;

typedef struct {
	GMutex lock;
	Entry *entries;
	WrSlots slots; /* over entries */
	Ended *ended;  /* a bounded queue: ended[0..n_ended) */
	uint32_t n_ended;
	uint32_t max_ended;
	uint64_t packets; /* counted here rather than in one atomic both data threads would
			   * pull back and forth */
} Shard;

struct _WrFlowTable {
	uint64_t seed;
	Shard *shards;
	guint n_shards;
	atomic_uint_fast64_t ignored;
	atomic_uint_fast64_t started;
	atomic_uint_fast64_t evicted;
	atomic_uint_fast64_t lost;
};

WrFlowTable *
wr_flow_table_new(guint max_flows, guint64 seed)
{
	WrFlowTable *self = g_new0(WrFlowTable, 1);
	guint per_shard;

	if (max_flows == 0)
		max_flows = WR_FLOW_DEFAULT_MAX_FLOWS;
	max_flows = CLAMP(max_flows, WR_FLOW_MIN_MAX_FLOWS, WR_FLOW_MAX_MAX_FLOWS);
	self->seed = seed;
	self->n_shards = max_flows <= WR_FLOW_SHARD_THRESHOLD ? 1 : WR_FLOW_SHARDS;
	per_shard = (max_flows + self->n_shards - 1) / self->n_shards;
	self->shards = g_new0(Shard, self->n_shards);
	for (guint s = 0; s < self->n_shards; s++) {
		Shard *sh = &self->shards[s];

		g_mutex_init(&sh->lock);
		sh->entries = g_new0(Entry, per_shard);
		wr_slots_init_for(&sh->slots, sh->entries, per_shard, Entry, links);
		/* evictions between two collects (one a second): a quarter of the shard, so that a
		 * burst of new flows is recorded rather than lost */
		sh->max_ended = MAX(16, per_shard / 4);
		sh->ended = g_new(Ended, sh->max_ended);
	}
	return self;
}

void
wr_flow_table_free(WrFlowTable *self)
{
	if (self == NULL)
		return;
	for (guint s = 0; s < self->n_shards; s++) {
		g_mutex_clear(&self->shards[s].lock);
		wr_slots_clear(&self->shards[s].slots);
		g_free(self->shards[s].entries);
		g_free(self->shards[s].ended);
	}
	g_free(self->shards);
	g_free(self);
}

static uint64_t
hash_key(const FlowKey *key, uint64_t seed)
{
	return wr_slots_hash(key, sizeof(*key), seed);
}

/* all of the following: must hold the shard's lock */

static void
shard_remove(Shard *sh, uint32_t i, uint64_t h)
{
	wr_slots_remove(&sh->slots, i, h);
}

static void
push_ended(WrFlowTable *self, Shard *sh, const Entry *e, WrFlowEnd end)
{
	if (sh->n_ended == sh->max_ended) {
		atomic_fetch_add_explicit(&self->lost, 1, memory_order_relaxed);
		return;
	}
	sh->ended[sh->n_ended].entry = *e;
	sh->ended[sh->n_ended].end = (uint8_t) end;
	sh->n_ended++;
}

static uint32_t
shard_find(Shard *sh, const FlowKey *key, uint64_t h)
{
	for (uint32_t i = wr_slots_first(&sh->slots, h); i != NIL; i = sh->entries[i].links.next) {
		if (memcmp(&sh->entries[i].key, key, sizeof(*key)) == 0)
			return i;
	}
	return NIL;
}

static void
entry_reset(Entry *e, WrFlowDir dir, gint64 now)
{
	e->path = WR_FLOW_PATH_UNKNOWN;
	e->flags = dir == WR_FLOW_OUT ? WR_FLOW_F_OUTBOUND : 0;
	e->tcp = 0;
	e->start = now;
	e->last = now;
	e->tx_packets = e->tx_bytes = e->rx_packets = e->rx_bytes = 0;
}

/* a new entry at the head of the LRU list; the least recently used one ends when full */
static uint32_t
shard_insert(WrFlowTable *self, Shard *sh, const FlowKey *key, uint64_t h, WrFlowDir dir,
	     gint64 now)
{
	uint32_t i;
	Entry *e;

	if (wr_slots_full(&sh->slots)) {
		uint32_t oldest = wr_slots_lru_tail(&sh->slots);
		Entry *old = &sh->entries[oldest];

		push_ended(self, sh, old, WR_FLOW_END_EVICTED);
		atomic_fetch_add_explicit(&self->evicted, 1, memory_order_relaxed);
		shard_remove(sh, oldest, hash_key(&old->key, self->seed));
	}
	i = wr_slots_insert(&sh->slots, h);
	e = &sh->entries[i];
	e->key = *key;
	entry_reset(e, dir, now);
	atomic_fetch_add_explicit(&self->started, 1, memory_order_relaxed);
	return i;
}

static gint64
idle_timeout(const Entry *e)
{
	switch (e->key.proto) {
	case IPPROTO_TCP:
		return WR_FLOW_TCP_IDLE;
	case IPPROTO_UDP:
		return WR_FLOW_UDP_IDLE;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return WR_FLOW_ICMP_IDLE;
	default:
		return WR_FLOW_OTHER_IDLE;
	}
}

static bool
tcp_closed(const Entry *e)
{
	return (e->tcp & RST_SEEN) ||
	       (e->tcp & (FIN_LOCAL | FIN_REMOTE)) == (FIN_LOCAL | FIN_REMOTE);
}

/* whether e is over at now, and why */
static bool
entry_due(const Entry *e, gint64 now, WrFlowEnd *out_end)
{
	if (e->key.proto == IPPROTO_TCP && tcp_closed(e)) {
		*out_end = (e->tcp & RST_SEEN) ? WR_FLOW_END_RST : WR_FLOW_END_FIN;
		return now - e->last >= WR_FLOW_LINGER;
	}
	*out_end = WR_FLOW_END_IDLE;
	return now - e->last >= idle_timeout(e);
}

static void
packet_key(FlowKey *key, const WrFilterPacket *p, WrFlowDir dir)
{
	bool out = dir == WR_FLOW_OUT;

	memset(key, 0, sizeof(*key));
	key->family = p->family;
	key->proto = p->proto;
	switch (p->l4) {
	case WR_FILTER_L4_PORTS:
		key->lport = out ? p->sport : p->dport;
		key->rport = out ? p->dport : p->sport;
		break;
	case WR_FILTER_L4_ECHO_REQUEST:
	case WR_FILTER_L4_ECHO_REPLY:
		/* the request and its reply share the identifier */
		key->lport = key->rport = p->sport;
		break;
	default:
		/* fragments after the first, ICMP errors and the rest: by addresses alone */
		break;
	}
	memcpy(key->local, out ? p->src : p->dst, sizeof(key->local));
	memcpy(key->remote, out ? p->dst : p->src, sizeof(key->remote));
}

/* counts packets packets of bytes bytes (one packet's TCP flags, or none for a run) seen from
 * first to now into the flow of key */
static void
shard_account(WrFlowTable *self, const FlowKey *key, WrFlowDir dir, WrFlowPath path,
	      uint8_t tcp_flags, bool tcp_ports, uint64_t packets, uint64_t bytes, gint64 first,
	      gint64 now)
{
	uint64_t h = hash_key(key, self->seed);
	Shard *sh = &self->shards[(h >> 32) % self->n_shards];
	uint32_t i;
	Entry *e;

	g_mutex_lock(&sh->lock);
	sh->packets += packets;
	i = shard_find(sh, key, h);
	if (i == NIL) {
		i = shard_insert(self, sh, key, h, dir, first);
	} else {
		WrFlowEnd end;

		e = &sh->entries[i];
		if (entry_due(e, first, &end) ||
		    (tcp_ports && tcp_closed(e) && (tcp_flags & WR_FILTER_TCP_SYN) &&
		     !(tcp_flags & WR_FILTER_TCP_ACK))) {
			/* over, or a new connection on the same ports: the old one ends here */
			push_ended(self, sh, e, end);
			entry_reset(e, dir, first);
			atomic_fetch_add_explicit(&self->started, 1, memory_order_relaxed);
		}
		wr_slots_touch(&sh->slots, i);
	}
	e = &sh->entries[i];
	e->last = now;
	if (path != WR_FLOW_PATH_UNKNOWN)
		e->path = (uint8_t) path;
	if (dir == WR_FLOW_OUT) {
		e->tx_packets += packets;
		e->tx_bytes += bytes;
	} else {
		e->rx_packets += packets;
		e->rx_bytes += bytes;
	}
	if (tcp_ports) {
		if (tcp_flags & WR_FILTER_TCP_RST)
			e->tcp |= RST_SEEN;
		if (tcp_flags & WR_FILTER_TCP_FIN)
			e->tcp |= dir == WR_FLOW_OUT ? FIN_LOCAL : FIN_REMOTE;
	}
	g_mutex_unlock(&sh->lock);
}

static bool
parse(WrFlowTable *self, const uint8_t *pkt, size_t len, WrFilterPacket *out)
{
	if (wr_filter_packet_parse(out, pkt, len) < 0) {
		atomic_fetch_add_explicit(&self->ignored, 1, memory_order_relaxed);
		return false;
	}
	return true;
}

bool
wr_flow_table_record(WrFlowTable *self, WrFlowDir dir, const uint8_t *pkt, size_t len,
		     WrFlowPath path, gint64 now)
{
	WrFilterPacket p;
	FlowKey key;

	if (!parse(self, pkt, len, &p))
		return false;
	packet_key(&key, &p, dir);
	shard_account(self, &key, dir, path, p.tcp_flags,
		      p.proto == IPPROTO_TCP && p.l4 == WR_FILTER_L4_PORTS, 1, p.len, now, now);
	return true;
}

_Static_assert(sizeof(((WrFlowCursor *) NULL)->key) == sizeof(FlowKey),
	       "WrFlowCursor holds a FlowKey");

/* the TCP flags that change a flow's state: such packets never join a run */
#define STATE_FLAGS (WR_FILTER_TCP_SYN | WR_FILTER_TCP_FIN | WR_FILTER_TCP_RST)

bool
wr_flow_table_record_run(WrFlowTable *self, WrFlowCursor *cursor, WrFlowDir dir, const uint8_t *pkt,
			 size_t len, WrFlowPath path, gint64 now)
{
	WrFilterPacket p;
	FlowKey key;
	bool tcp_ports;

	if (!parse(self, pkt, len, &p))
		return false;
	packet_key(&key, &p, dir);
	tcp_ports = p.proto == IPPROTO_TCP && p.l4 == WR_FILTER_L4_PORTS;
	if (cursor->packets > 0 && cursor->dir == dir && cursor->path == path &&
	    !(tcp_ports && (p.tcp_flags & STATE_FLAGS)) &&
	    memcmp(cursor->key, &key, sizeof(key)) == 0) {
		cursor->packets++;
		cursor->bytes += p.len;
		cursor->now = now;
		return true;
	}
	wr_flow_table_flush_run(self, cursor);
	if (tcp_ports && (p.tcp_flags & STATE_FLAGS)) {
		shard_account(self, &key, dir, path, p.tcp_flags, true, 1, p.len, now, now);
		return true;
	}
	memcpy(cursor->key, &key, sizeof(key));
	cursor->dir = (uint8_t) dir;
	cursor->path = (uint8_t) path;
	cursor->tcp_ports = tcp_ports;
	cursor->packets = 1;
	cursor->bytes = p.len;
	cursor->first = now;
	cursor->now = now;
	return true;
}

void
wr_flow_table_flush_run(WrFlowTable *self, WrFlowCursor *cursor)
{
	FlowKey key;

	if (cursor->packets == 0)
		return;
	memcpy(&key, cursor->key, sizeof(key));
	shard_account(self, &key, cursor->dir, cursor->path, 0, cursor->tcp_ports, cursor->packets,
		      cursor->bytes, cursor->first, cursor->now);
	cursor->packets = 0;
	cursor->bytes = 0;
}

static void
to_record(WrFlowRecord *r, const Entry *e, WrFlowEnd end, gint64 offset)
{
	memset(r, 0, sizeof(*r));
	r->family = e->key.family;
	r->proto = e->key.proto;
	r->path = e->path;
	r->end = (uint8_t) end;
	r->flags = e->flags;
	r->lport = e->key.lport;
	r->rport = e->key.rport;
	memcpy(r->local, e->key.local, sizeof(r->local));
	memcpy(r->remote, e->key.remote, sizeof(r->remote));
	r->start = e->start + offset;
	r->end_time = e->last + offset;
	r->tx_packets = e->tx_packets;
	r->tx_bytes = e->tx_bytes;
	r->rx_packets = e->rx_packets;
	r->rx_bytes = e->rx_bytes;
}

guint
wr_flow_table_collect(WrFlowTable *self, gint64 now, gint64 realtime, bool flush, GArray *out)
{
	gint64 offset = realtime - now;
	guint n = 0;

	for (guint s = 0; s < self->n_shards; s++) {
		Shard *sh = &self->shards[s];
		uint32_t i;

		g_mutex_lock(&sh->lock);
		for (uint32_t k = 0; k < sh->n_ended; k++) {
			WrFlowRecord r;

			to_record(&r, &sh->ended[k].entry, sh->ended[k].end, offset);
			g_array_append_val(out, r);
			n++;
		}
		sh->n_ended = 0;
		/* oldest first, so that records come out roughly in the order they ended */
		i = wr_slots_lru_tail(&sh->slots);
		while (i != NIL) {
			Entry *e = &sh->entries[i];
			uint32_t prev = e->links.lru_prev;
			WrFlowEnd end;

			if (entry_due(e, now, &end) || flush) {
				WrFlowRecord r;

				if (flush && !entry_due(e, now, &end))
					end = WR_FLOW_END_FLUSH;
				to_record(&r, e, end, offset);
				g_array_append_val(out, r);
				n++;
				shard_remove(sh, i, hash_key(&e->key, self->seed));
			}
			i = prev;
		}
		g_mutex_unlock(&sh->lock);
	}
	return n;
}

void
wr_flow_table_get_stats(WrFlowTable *self, WrFlowTableStats *out)
{
	memset(out, 0, sizeof(*out));
	out->ignored = atomic_load_explicit(&self->ignored, memory_order_relaxed);
	out->started = atomic_load_explicit(&self->started, memory_order_relaxed);
	out->evicted = atomic_load_explicit(&self->evicted, memory_order_relaxed);
	out->lost = atomic_load_explicit(&self->lost, memory_order_relaxed);
	for (guint s = 0; s < self->n_shards; s++) {
		g_mutex_lock(&self->shards[s].lock);
		out->live += self->shards[s].slots.used;
		out->packets += self->shards[s].packets;
		g_mutex_unlock(&self->shards[s].lock);
	}
}

const char *
wr_flow_proto_name(uint8_t proto, char buf[16])
{
	const char *name = wr_filter_proto_name(wr_filter_proto_flag(proto));

	if (name != NULL)
		return name;
	(void) snprintf(buf, 16, "proto-%u", (unsigned) proto);
	return buf;
}

const char *
wr_flow_path_name(WrFlowPath path)
{
	switch (path) {
	case WR_FLOW_PATH_DIRECT:
		return "direct";
	case WR_FLOW_PATH_DERP:
		return "derp";
	default:
		return "";
	}
}

const char *
wr_flow_end_name(WrFlowEnd end)
{
	static const char *const names[WR_FLOW_N_ENDS] = {"idle", "fin", "rst", "evicted", "flush"};

	return end < WR_FLOW_N_ENDS ? names[end] : "";
}
