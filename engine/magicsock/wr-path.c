/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The per-peer path state machine of derp-disco-stun.md §4; the contract is in wr-path.h and
 * the design in docs/magicsock-path.md.  Names follow Tailscale's endpoint.go where the spec
 * uses them (bestAddr, trustBestAddrUntil, sentPing, lastFullPing, lastSendExt).
 */

#define G_LOG_DOMAIN "WrPath"

#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "wr-path.h"

/* §4.7 address bonuses */
#define BONUS_LOOPBACK	  50
#define BONUS_LINK_LOCAL6 30
#define BONUS_PRIVATE	  20
#define BONUS_IPV6	  10
#define POINTS_FULL	  100
/* a is not better with this many points or fewer when b has none (under about 1 %) */
#define POINTS_HYSTERESIS 1
#define MAX_LATENCY_US	  (G_MAXINT64 / POINTS_FULL)

typedef enum {
	PING_DISCOVERY,
	PING_HEARTBEAT,
	PING_CLI,
	PING_PROBE, /* wr_path_probe: answered by probe_at or the best address loses its trust */
} PingPurpose;

typedef struct {
	uint8_t tx_id[WR_DISCO_TXID_LEN];
	bool via_derp;
	guint64 derp_region;
	WrEndpoint to; /* via UDP */
	gint64 sent_at;
	gint64 probe_at; /* PING_PROBE: the deadline */
	PingPurpose purpose;
} SentPing;

struct _WrPath {
	WrPathRandomFunc random;
	gpointer random_data;
	gint64 now; /* the latest now seen; time never goes back */

	bool has_disco_key;
	uint8_t disco_key[WR_DISCO_KEY_LEN];
	guint64 derp_region;

	WrPathCandidate *cands; /* in the order added */
	guint n_cands;
	guint cands_alloc;

	SentPing sent[WR_PATH_MAX_SENT_PINGS]; /* in the order sent */
	guint n_sent;

	WrEndpoint best; /* AF_UNSPEC: none; otherwise always one of cands */
	gint64 best_latency;
	gint64 best_at;
	gint64 trust_until;

	gint64 last_full_ping; /* 0: never */
	gint64 last_send;      /* lastSendExt, 0: never */
	gint64 heartbeat_at;   /* 0: not running */

	WrPathStatus reported; /* the last WR_PATH_CHANGED */
};

/* addresses */

static bool
is_valid(const WrEndpoint *ep)
{
	return ep->sa.sa_family == AF_INET || ep->sa.sa_family == AF_INET6;
}

/* a clean copy (zeroed padding, IPv4 unmapped) so that copies compare equal; false for what
 * can never be a peer's endpoint: no address, port 0, unspecified, the DERP magic address */
static bool
normalize(const WrEndpoint *in, WrEndpoint *out)
{
	WrEndpoint ep = *in;
	WrEndpoint clean;

	wr_endpoint_unmap(&ep);
	memset(&clean, 0, sizeof(clean));
	if (ep.sa.sa_family == AF_INET) {
		if (ep.in4.sin_port == 0 || ep.in4.sin_addr.s_addr == htonl(INADDR_ANY) ||
		    wr_disco_endpoint_is_derp(&ep))
			return false;
		clean.in4.sin_family = AF_INET;
		clean.in4.sin_port = ep.in4.sin_port;
		clean.in4.sin_addr = ep.in4.sin_addr;
	} else if (ep.sa.sa_family == AF_INET6) {
		if (ep.in6.sin6_port == 0 || IN6_IS_ADDR_UNSPECIFIED(&ep.in6.sin6_addr))
			return false;
		clean.in6.sin6_family = AF_INET6;
		clean.in6.sin6_port = ep.in6.sin6_port;
		clean.in6.sin6_addr = ep.in6.sin6_addr;
		clean.in6.sin6_scope_id = ep.in6.sin6_scope_id;
	} else {
		return false;
	}
	*out = clean;
	return true;
}

static bool
is_link_local6(const WrEndpoint *ep)
{
	return ep->sa.sa_family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(&ep->in6.sin6_addr);
}

static bool
is_loopback(const WrEndpoint *ep)
{
	if (ep->sa.sa_family == AF_INET)
		return (ntohl(ep->in4.sin_addr.s_addr) >> 24) == 127;
	return ep->sa.sa_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&ep->in6.sin6_addr);
}

/* RFC 1918 or fc00::/7 */
static bool
is_private(const WrEndpoint *ep)
{
	if (ep->sa.sa_family == AF_INET) {
		guint32 a = ntohl(ep->in4.sin_addr.s_addr);

		return (a >> 24) == 10 || (a >> 20) == ((172u << 4) | 1) || (a >> 16) == 0xc0a8;
	}
	return ep->sa.sa_family == AF_INET6 && (ep->in6.sin6_addr.s6_addr[0] & 0xfe) == 0xfc;
}

static gint64
bonus(const WrEndpoint *ep)
{
	gint64 points = 0;

	if (is_loopback(ep))
		points += BONUS_LOOPBACK;
	else if (is_link_local6(ep))
		points += BONUS_LINK_LOCAL6;
	else if (is_private(ep))
		points += BONUS_PRIVATE;
	if (ep->sa.sa_family == AF_INET6)
		points += BONUS_IPV6;
	return points;
}

bool
wr_path_better_addr(const WrEndpoint *a, gint64 a_latency_us, const WrEndpoint *b,
		    gint64 b_latency_us)
{
	gint64 a_points = 0;
	gint64 b_points = 0;

	/* x 100 must not overflow; real latencies are under WR_PATH_PING_TIMEOUT_US */
	a_latency_us = CLAMP(a_latency_us, 0, MAX_LATENCY_US);
	b_latency_us = CLAMP(b_latency_us, 0, MAX_LATENCY_US);

	/* the same address is better only with a larger MTU, and every ping here has one size */
	if (wr_endpoint_equal(a, b))
		return false;
	if (!is_valid(b))
		return true;
	if (!is_valid(a))
		return false;
	if (a_latency_us > b_latency_us && a_latency_us > 0)
		b_points = POINTS_FULL - (b_latency_us * POINTS_FULL) / a_latency_us;
	else if (b_latency_us > a_latency_us && b_latency_us > 0)
		a_points = POINTS_FULL - (a_latency_us * POINTS_FULL) / b_latency_us;
	a_points += bonus(a);
	b_points += bonus(b);
	if (a_points <= POINTS_HYSTERESIS && b_points == 0)
		return false;
	return a_points > b_points;
}

void
wr_path_derp_source(guint64 region, WrEndpoint *out)
{
	memset(out, 0, sizeof(*out));
	out->in4.sin_family = AF_INET;
	out->in4.sin_addr.s_addr = htonl(WR_DISCO_DERP_MAGIC_IP);
	out->in4.sin_port = htons((uint16_t) MIN(region, G_MAXUINT16));
}

const char *
wr_path_state_to_string(WrPathState state)
{
	switch (state) {
	case WR_PATH_IDLE:
		return "idle";
	case WR_PATH_DERP:
		return "derp";
	case WR_PATH_DIRECT:
		return "direct";
	default:
		return "unknown";
	}
}

/* actions */

static WrPathAction *
push(WrPathActions *actions, WrPathActionKind kind)
{
	WrPathAction *a;

	/* WR_PATH_MAX_ACTIONS covers the worst case; a full list drops rather than overflows,
	 * and nothing is recorded for a dropped ping */
	if (actions->n >= G_N_ELEMENTS(actions->a))
		return NULL;
	a = &actions->a[actions->n++];
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	return a;
}

/* candidates */

static WrPathCandidate *
find(const WrPath *self, const WrEndpoint *addr)
{
	for (guint i = 0; i < self->n_cands; i++) {
		if (wr_endpoint_equal(&self->cands[i].addr, addr))
			return &self->cands[i];
	}
	return NULL;
}

static bool
has_best(const WrPath *self)
{
	return is_valid(&self->best);
}

static void
clear_best(WrPath *self)
{
	memset(&self->best, 0, sizeof(self->best));
	self->best_latency = 0;
	self->best_at = 0;
	self->trust_until = 0;
}

static void
remove_sent(WrPath *self, guint i)
{
	memmove(&self->sent[i], &self->sent[i + 1], (self->n_sent - i - 1) * sizeof(self->sent[0]));
	self->n_sent--;
}

static void
clear_stats(WrPathCandidate *c)
{
	c->last_ping = 0;
	c->last_pong = 0;
	c->latency_us = 0;
	memset(&c->pong_from, 0, sizeof(c->pong_from));
	memset(&c->pong_src, 0, sizeof(c->pong_src));
	c->n_pongs = 0;
	c->pong_head = 0;
}

/* deleteEndpointLocked: the best address and the pings sent to it go with it */
static void
drop_candidate(WrPath *self, guint i)
{
	const WrEndpoint *addr = &self->cands[i].addr;

	if (wr_endpoint_equal(&self->best, addr))
		clear_best(self);
	for (guint j = self->n_sent; j-- > 0;) {
		if (!self->sent[j].via_derp && wr_endpoint_equal(&self->sent[j].to, addr))
			remove_sent(self, j);
	}
	memmove(&self->cands[i], &self->cands[i + 1],
		(self->n_cands - i - 1) * sizeof(self->cands[0]));
	self->n_cands--;
}

static bool
learned_expired(const WrPathCandidate *c, gint64 now)
{
	return c->last_got_ping != 0 && now - c->last_got_ping > WR_PATH_SESSION_ACTIVE_TIMEOUT_US;
}

/* shouldDeleteLocked (§4.2): a source keeps an entry while it lasts */
static bool
should_delete(const WrPathCandidate *c, gint64 now)
{
	if (c->from_netmap || c->call_me_maybe_at != 0)
		return false;
	return c->last_got_ping == 0 || learned_expired(c, now);
}

static void
prune(WrPath *self, gint64 now)
{
	for (guint i = self->n_cands; i-- > 0;) {
		if (should_delete(&self->cands[i], now))
			drop_candidate(self, i);
	}
}

typedef enum {
	FROM_LEARNED,
	FROM_CALL_ME_MAYBE,
	FROM_NETMAP,
} Source;

static Source
rank(const WrPathCandidate *c)
{
	if (c->from_netmap)
		return FROM_NETMAP;
	if (c->call_me_maybe_at != 0)
		return FROM_CALL_ME_MAYBE;
	return FROM_LEARNED;
}

static gint64
touched(const WrPathCandidate *c)
{
	return MAX(c->call_me_maybe_at, c->last_got_ping);
}

/*
 * Room for one more entry from source: past the cap, first the expired entries go (§4.1), then
 * the least recently refreshed entry of a lower source, or a learned one for a learned one, but
 * never the best address.  So a peer flooding pings from new ports or CallMeMaybes cannot push
 * out what the network map says.
 */
static bool
make_room(WrPath *self, gint64 now, Source source)
{
	gint victim = -1;

	if (self->n_cands < WR_PATH_MAX_CANDIDATES)
		return true;
	prune(self, now);
	if (self->n_cands < WR_PATH_MAX_CANDIDATES)
		return true;
	for (guint i = 0; i < self->n_cands; i++) {
		const WrPathCandidate *c = &self->cands[i];
		Source r = rank(c);

		if (wr_endpoint_equal(&c->addr, &self->best))
			continue;
		if (r > source || (r == source && source != FROM_LEARNED))
			continue;
		if (victim < 0 || rank(&self->cands[victim]) > r ||
		    (rank(&self->cands[victim]) == r && touched(&self->cands[victim]) > touched(c)))
			victim = (gint) i;
	}
	if (victim < 0)
		return false;
	drop_candidate(self, (guint) victim);
	return true;
}

/* the entry for addr (normalized), added if need be; NULL when there is no room */
static WrPathCandidate *
get_or_add(WrPath *self, gint64 now, const WrEndpoint *addr, Source source)
{
	WrPathCandidate *c = find(self, addr);

	if (c != NULL)
		return c;
	if (!make_room(self, now, source))
		return NULL;
	if (self->n_cands == self->cands_alloc) {
		self->cands_alloc = MAX(4, self->cands_alloc * 2);
		self->cands_alloc = MIN(self->cands_alloc, WR_PATH_MAX_CANDIDATES);
		self->cands = g_renew(WrPathCandidate, self->cands, self->cands_alloc);
	}
	c = &self->cands[self->n_cands++];
	memset(c, 0, sizeof(*c));
	c->addr = *addr;
	return c;
}

/* pings */

static SentPing *
find_sent(WrPath *self, const uint8_t tx_id[WR_DISCO_TXID_LEN], guint *out_index)
{
	for (guint i = 0; i < self->n_sent; i++) {
		if (memcmp(self->sent[i].tx_id, tx_id, WR_DISCO_TXID_LEN) == 0) {
			*out_index = i;
			return &self->sent[i];
		}
	}
	return NULL;
}

/* startDiscoPingLocked: one ping over UDP to addr, or via DERP when addr is NULL */
static bool
start_ping(WrPath *self, gint64 now, const WrEndpoint *addr, PingPurpose purpose,
	   WrPathActions *actions)
{
	WrPathAction *a;
	SentPing *sp;
	guint unused;

	if (addr == NULL && self->derp_region == 0)
		return false;
	a = push(actions, WR_PATH_SEND_PING);
	if (a == NULL)
		return false;
	/* a TxID that is already outstanding would make its pong ambiguous: draw again (only a
	 * scripted RNG ever repeats) */
	for (int tries = 0; tries < 4; tries++) {
		self->random(a->tx_id, sizeof(a->tx_id), self->random_data);
		if (find_sent(self, a->tx_id, &unused) == NULL)
			break;
	}
	if (self->n_sent == WR_PATH_MAX_SENT_PINGS)
		remove_sent(self, 0);
	sp = &self->sent[self->n_sent++];
	memset(sp, 0, sizeof(*sp));
	memcpy(sp->tx_id, a->tx_id, sizeof(sp->tx_id));
	sp->sent_at = now;
	sp->purpose = purpose;
	if (addr == NULL) {
		a->via_derp = sp->via_derp = true;
		a->derp_region = sp->derp_region = self->derp_region;
	} else {
		WrPathCandidate *c = find(self, addr);

		a->addr = sp->to = *addr;
		/* a `warren ping` does not hold back discovery */
		if (c != NULL && purpose != PING_CLI)
			c->last_ping = now;
	}
	return true;
}

static void
queue_call_me_maybe(WrPath *self, WrPathActions *actions)
{
	WrPathAction *a = push(actions, WR_PATH_SEND_CALL_ME_MAYBE);

	if (a == NULL)
		return;
	a->via_derp = true;
	a->derp_region = self->derp_region;
}

/* sendDiscoPingsLocked (§4.4) */
static void
discovery_round(WrPath *self, gint64 now, bool with_call_me_maybe, WrPathActions *actions)
{
	bool sent_any = false;

	self->last_full_ping = now;
	prune(self, now);
	for (guint i = 0; i < self->n_cands; i++) {
		WrPathCandidate *c = &self->cands[i];

		if (c->last_ping != 0 && now - c->last_ping < WR_PATH_DISCO_PING_INTERVAL_US)
			continue;
		if (start_ping(self, now, &c->addr, PING_DISCOVERY, actions))
			sent_any = true;
	}
	if (sent_any && with_call_me_maybe && self->derp_region != 0)
		queue_call_me_maybe(self, actions);
}

/* wantFullPingLocked (§4.8 step 3) */
static bool
want_full_ping(const WrPath *self, gint64 now)
{
	if (!has_best(self) || self->last_full_ping == 0)
		return true;
	if (now > self->trust_until)
		return true;
	if (self->best_latency <= WR_PATH_GOOD_ENOUGH_LATENCY_US)
		return false;
	return now - self->last_full_ping >= WR_PATH_UPGRADE_INTERVAL_US;
}

static bool
is_active(const WrPath *self, gint64 now)
{
	return self->last_send != 0 && now - self->last_send <= WR_PATH_SESSION_ACTIVE_TIMEOUT_US;
}

static bool
is_trusted(const WrPath *self, gint64 now)
{
	return has_best(self) && now <= self->trust_until;
}

/* the timer work that is due: lost pings (§4.9), then the heartbeat (§4.8) */
static void
advance(WrPath *self, gint64 now, WrPathActions *actions)
{
	for (guint i = self->n_sent; i-- > 0;) {
		SentPing *sp = &self->sent[i];

		if (sp->purpose == PING_PROBE && now >= sp->probe_at) {
			/* unanswered: the direct path is suspect; the address stays, untrusted,
			 * so that the heartbeat keeps pinging it and a late pong restores it */
			if (wr_endpoint_equal(&sp->to, &self->best) && self->best_at < sp->sent_at)
				self->trust_until = MIN(self->trust_until, now - 1);
			sp->purpose = PING_HEARTBEAT;
		}
		if (now - sp->sent_at < WR_PATH_PING_TIMEOUT_US)
			continue;
		if (!sp->via_derp && wr_endpoint_equal(&sp->to, &self->best) &&
		    !is_trusted(self, now))
			clear_best(self);
		remove_sent(self, i);
	}

	if (self->heartbeat_at == 0 || now < self->heartbeat_at)
		return;
	if (!is_active(self, now)) {
		self->heartbeat_at = 0;
		return;
	}
	if (has_best(self)) {
		WrEndpoint best = self->best;

		(void) start_ping(self, now, &best, PING_HEARTBEAT, actions);
	}
	if (want_full_ping(self, now))
		discovery_round(self, now, true, actions);
	self->heartbeat_at = now + WR_PATH_HEARTBEAT_INTERVAL_US;
}

void
wr_path_get_status(const WrPath *self, gint64 now, WrPathStatus *out)
{
	memset(out, 0, sizeof(*out));
	now = MAX(now, self->now);
	if (!is_active(self, now))
		out->state = WR_PATH_IDLE;
	else if (is_trusted(self, now))
		out->state = WR_PATH_DIRECT;
	else
		out->state = WR_PATH_DERP;
	out->derp_region = self->derp_region;
	out->best = self->best;
	out->latency_us = self->best_latency;
	out->trust_until = self->trust_until;
}

/* a WR_PATH_CHANGED when the state, the direct address or the region moved */
static void
note_state(WrPath *self, gint64 now, WrPathActions *actions)
{
	WrPathStatus st;
	WrPathAction *a;

	wr_path_get_status(self, now, &st);
	if (st.state == self->reported.state && st.derp_region == self->reported.derp_region &&
	    (st.state != WR_PATH_DIRECT || wr_endpoint_equal(&st.best, &self->reported.best)))
		return;
	a = push(actions, WR_PATH_CHANGED);
	if (a == NULL)
		return;
	a->status = st;
	self->reported = st;
}

/* every entry point starts here */
static gint64
enter(WrPath *self, gint64 now, WrPathActions *actions)
{
	actions->n = 0;
	now = MAX(now, 1);
	now = MAX(now, self->now);
	self->now = now;
	advance(self, now, actions);
	return now;
}

WrPath *
wr_path_new(WrPathRandomFunc random, gpointer user_data)
{
	WrPath *self = g_new0(WrPath, 1);

	self->random = random;
	self->random_data = user_data;
	return self;
}

void
wr_path_free(WrPath *self)
{
	if (self == NULL)
		return;
	g_free(self->cands);
	g_free(self);
}

/* resetLocked: a new disco key is a new peer process, whose pings and pongs start over */
static void
reset(WrPath *self)
{
	self->last_send = 0;
	self->last_full_ping = 0;
	self->heartbeat_at = 0;
	clear_best(self);
	for (guint i = 0; i < self->n_cands; i++)
		self->cands[i].last_ping = 0;
	self->n_sent = 0;
}

void
wr_path_set_peer(WrPath *self, gint64 now, const uint8_t disco_key[WR_DISCO_KEY_LEN],
		 const WrEndpoint *endpoints, size_t n_endpoints, guint64 derp_region,
		 WrPathActions *actions)
{
	bool added = false;

	now = enter(self, now, actions);

	if (!self->has_disco_key || memcmp(self->disco_key, disco_key, WR_DISCO_KEY_LEN) != 0) {
		if (self->has_disco_key)
			reset(self);
		memcpy(self->disco_key, disco_key, WR_DISCO_KEY_LEN);
		self->has_disco_key = true;
	}
	self->derp_region = derp_region;

	/* the new list replaces the old one's marks; an entry nothing else holds goes */
	for (guint i = 0; i < self->n_cands; i++)
		self->cands[i].from_netmap = false;
	for (size_t i = 0; i < n_endpoints; i++) {
		WrPathCandidate *c;
		WrEndpoint ep;

		if (!normalize(&endpoints[i], &ep))
			continue;
		if (find(self, &ep) == NULL)
			added = true;
		c = get_or_add(self, now, &ep, FROM_NETMAP);
		if (c != NULL)
			c->from_netmap = true;
	}
	prune(self, now);
	/* new endpoints while data flows and nothing direct is trusted (the peer's STUN address
	 * often arrives a moment after the peer): try them now, not at the next round */
	if (added && is_active(self, now) && !is_trusted(self, now))
		discovery_round(self, now, true, actions);
	note_state(self, now, actions);
}

const uint8_t *
wr_path_get_disco_key(const WrPath *self)
{
	return self->has_disco_key ? self->disco_key : NULL;
}

int
wr_path_send_data(WrPath *self, gint64 now, WrPathActions *actions)
{
	bool routed = false;
	bool trusted;
	WrPathAction *a;

	now = enter(self, now, actions);

	/* the round first: its pruning may take an expired best address with it, and then the
	 * packet should not go there.  Every candidate here is a direct UDP address, so §4.3's
	 * "not direct" is "none", which is untrusted. */
	trusted = is_trusted(self, now);
	if (!trusted)
		discovery_round(self, now, true, actions);
	if (has_best(self)) {
		a = push(actions, WR_PATH_SEND_DATA);
		if (a != NULL)
			a->addr = self->best;
		routed = true;
	}
	if (!trusted && self->derp_region != 0) {
		a = push(actions, WR_PATH_SEND_DATA);
		if (a != NULL) {
			a->via_derp = true;
			a->derp_region = self->derp_region;
		}
		routed = true;
	}
	self->last_send = now;
	if (self->heartbeat_at == 0)
		self->heartbeat_at = now + WR_PATH_HEARTBEAT_INTERVAL_US;
	note_state(self, now, actions);
	return routed ? 0 : -EHOSTUNREACH;
}

static int
recv_ping(WrPath *self, gint64 now, const WrDiscoPing *ping, const WrEndpoint *src,
	  WrPathActions *actions)
{
	WrPathAction *a;
	WrEndpoint from;
	guint64 region = 0;
	bool via_derp = wr_disco_endpoint_is_derp(src);

	if (via_derp) {
		WrEndpoint plain = *src;

		wr_endpoint_unmap(&plain);
		region = ntohs(plain.in4.sin_port);
		if (region == 0)
			return -EINVAL; /* no way back */
	} else {
		WrPathCandidate *c;

		if (!normalize(src, &from))
			return -EINVAL;
		/* addCandidateEndpoint: the peer's view of its own address, peer-reflexive */
		c = find(self, &from);
		if (c != NULL && c->last_got_ping != 0 &&
		    memcmp(c->last_got_ping_tx_id, ping->tx_id, WR_DISCO_TXID_LEN) == 0)
			return -EALREADY;
		c = get_or_add(self, now, &from, FROM_LEARNED);
		if (c != NULL) {
			c->last_got_ping = now;
			memcpy(c->last_got_ping_tx_id, ping->tx_id, WR_DISCO_TXID_LEN);
		}
	}

	a = push(actions, WR_PATH_SEND_PONG);
	if (a != NULL) {
		memcpy(a->tx_id, ping->tx_id, sizeof(a->tx_id));
		if (via_derp) {
			a->via_derp = true;
			a->derp_region = region;
			wr_path_derp_source(region, &a->pong_src);
		} else {
			a->addr = from;
			a->pong_src = from;
		}
	}
	/* hole punching: the peer's ping got through to us, so ours towards the same address
	 * probably goes through now too, where the one of the last round was dropped before the
	 * peer's NAT had seen it send.  Waiting for the next round would cost up to 5 s. */
	if (!via_derp && !is_trusted(self, now)) {
		WrPathCandidate *c = find(self, &from);

		if (c != NULL && (c->last_pong == 0 || c->last_pong < c->last_ping) &&
		    (c->last_ping_back == 0 ||
		     now - c->last_ping_back >= WR_PATH_PING_BACK_INTERVAL_US) &&
		    start_ping(self, now, &from, PING_DISCOVERY, actions))
			c->last_ping_back = now;
	}
	return 0;
}

int
wr_path_recv_ping(WrPath *self, gint64 now, const WrDiscoPing *ping, const WrEndpoint *src,
		  WrPathActions *actions)
{
	int r;

	now = enter(self, now, actions);
	r = recv_ping(self, now, ping, src, actions);
	note_state(self, now, actions);
	return r;
}

static void
record_pong(WrPathCandidate *c, gint64 now, gint64 latency, const WrEndpoint *from,
	    const WrDiscoPong *pong)
{
	c->last_pong = now;
	c->latency_us = latency;
	c->pong_from = *from;
	c->pong_src = pong->src;
	c->pong_latency_us[c->pong_head] = (guint32) MIN(latency, (gint64) G_MAXUINT32);
	c->pong_head = (c->pong_head + 1) % WR_PATH_PONG_HISTORY;
	c->n_pongs = MIN(c->n_pongs + 1, WR_PATH_PONG_HISTORY);
}

int
wr_path_recv_pong(WrPath *self, gint64 now, const WrDiscoPong *pong, const WrEndpoint *src,
		  WrPathActions *actions)
{
	bool via_derp = wr_disco_endpoint_is_derp(src);
	SentPing sp;
	WrEndpoint from;
	gint64 latency;
	SentPing *found;
	guint i;

	now = enter(self, now, actions);

	found = find_sent(self, pong->tx_id, &i);
	if (found == NULL) {
		note_state(self, now, actions);
		return -ENOENT;
	}
	if (via_derp) {
		WrEndpoint plain = *src;

		wr_endpoint_unmap(&plain);
		if (!found->via_derp ||
		    MIN(found->derp_region, G_MAXUINT16) != ntohs(plain.in4.sin_port)) {
			note_state(self, now, actions);
			return -EPROTO;
		}
	} else if (found->via_derp || !normalize(src, &from)) {
		note_state(self, now, actions);
		return -EPROTO;
	}
	sp = *found;
	remove_sent(self, i);
	latency = now - sp.sent_at;

	if (sp.purpose == PING_CLI) {
		WrPathAction *a = push(actions, WR_PATH_PING_RESULT);

		if (a != NULL) {
			memcpy(a->tx_id, sp.tx_id, sizeof(a->tx_id));
			a->latency_us = latency;
			a->via_derp = sp.via_derp;
			a->derp_region = sp.derp_region;
			if (!sp.via_derp)
				a->addr = sp.to;
		}
	}

	/* §4.6 steps 2-4: only a UDP pong scores, and it scores where the ping went */
	if (!via_derp) {
		WrPathCandidate *c = find(self, &sp.to);

		if (c != NULL)
			record_pong(c, now, latency, &from, pong);
		if (c != NULL &&
		    (wr_path_better_addr(&sp.to, latency, &self->best, self->best_latency) ||
		     !is_trusted(self, now)))
			self->best = sp.to;
		if (wr_endpoint_equal(&self->best, &sp.to) && has_best(self)) {
			self->best_latency = latency;
			self->best_at = now;
			self->trust_until = now + WR_PATH_TRUST_UDP_ADDR_US;
		}
	}
	note_state(self, now, actions);
	return 0;
}

void
wr_path_recv_call_me_maybe(WrPath *self, gint64 now, const WrDiscoCallMeMaybe *cmm,
			   WrPathActions *actions)
{
	WrEndpoint eps[WR_DISCO_MAX_ENDPOINTS];
	size_t n = 0;

	now = enter(self, now, actions);

	for (size_t i = 0; i < MIN(cmm->n_endpoints, G_N_ELEMENTS(eps)); i++) {
		WrEndpoint ep;

		if (!normalize(&cmm->endpoints[i], &ep) || is_link_local6(&ep))
			continue;
		eps[n++] = ep;
	}
	/* entries of the last CallMeMaybe that this one leaves out lose that mark first, so
	 * that the new ones find room */
	for (guint i = self->n_cands; i-- > 0;) {
		WrPathCandidate *c = &self->cands[i];
		bool listed = false;

		if (c->call_me_maybe_at == 0)
			continue;
		for (size_t j = 0; j < n && !listed; j++)
			listed = wr_endpoint_equal(&c->addr, &eps[j]);
		if (listed)
			continue;
		c->call_me_maybe_at = 0;
		if (should_delete(c, now))
			drop_candidate(self, i);
	}
	for (size_t j = 0; j < n; j++) {
		WrPathCandidate *c = get_or_add(self, now, &eps[j], FROM_CALL_ME_MAYBE);

		if (c != NULL)
			c->call_me_maybe_at = now;
	}
	/* the simultaneous open: ping everything now, and do not call back */
	for (guint i = 0; i < self->n_cands; i++)
		self->cands[i].last_ping = 0;
	discovery_round(self, now, false, actions);
	note_state(self, now, actions);
}

void
wr_path_tick(WrPath *self, gint64 now, WrPathActions *actions)
{
	now = enter(self, now, actions);
	note_state(self, now, actions);
}

gint64
wr_path_next_wakeup(const WrPath *self, gint64 now)
{
	gint64 next = G_MAXINT64;

	now = MAX(now, self->now);
	if (self->heartbeat_at != 0)
		next = MIN(next, self->heartbeat_at);
	for (guint i = 0; i < self->n_sent; i++) {
		next = MIN(next, self->sent[i].sent_at + WR_PATH_PING_TIMEOUT_US);
		if (self->sent[i].purpose == PING_PROBE)
			next = MIN(next, self->sent[i].probe_at);
	}
	/* the moments the observable state changes by itself, for WR_PATH_CHANGED */
	if (is_active(self, now)) {
		next = MIN(next, self->last_send + WR_PATH_SESSION_ACTIVE_TIMEOUT_US + 1);
		if (is_trusted(self, now))
			next = MIN(next, self->trust_until + 1);
	}
	return next;
}

int
wr_path_cli_ping(WrPath *self, gint64 now, WrPathActions *actions)
{
	bool sent = false;

	now = enter(self, now, actions);

	if (is_trusted(self, now)) {
		WrEndpoint best = self->best;

		sent = start_ping(self, now, &best, PING_CLI, actions);
	} else {
		sent = start_ping(self, now, NULL, PING_CLI, actions);
		for (guint i = 0; i < self->n_cands; i++) {
			WrEndpoint addr = self->cands[i].addr;

			sent |= start_ping(self, now, &addr, PING_CLI, actions);
		}
	}
	note_state(self, now, actions);
	return sent ? 0 : -EHOSTUNREACH;
}

int
wr_path_probe(WrPath *self, gint64 now, gint64 timeout_us, WrPathActions *actions)
{
	WrEndpoint best;
	int r = -EALREADY;

	now = enter(self, now, actions);
	if (is_trusted(self, now)) {
		best = self->best;
		r = -ENOBUFS;
		if (start_ping(self, now, &best, PING_PROBE, actions)) {
			self->sent[self->n_sent - 1].probe_at = now + MAX(timeout_us, 1);
			r = 0;
		}
	}
	note_state(self, now, actions);
	return r;
}

void
wr_path_note_link_change(WrPath *self, gint64 now, WrPathActions *actions)
{
	now = enter(self, now, actions);
	clear_best(self);
	for (guint i = 0; i < self->n_cands; i++)
		clear_stats(&self->cands[i]);
	note_state(self, now, actions);
}

void
wr_path_note_send_error(WrPath *self, gint64 now, const WrEndpoint *addr, WrPathActions *actions)
{
	now = enter(self, now, actions);
	if (has_best(self) && wr_endpoint_equal(&self->best, addr)) {
		WrPathCandidate *c = find(self, &self->best);

		clear_best(self);
		if (c != NULL)
			clear_stats(c);
	}
	note_state(self, now, actions);
}

guint
wr_path_get_n_candidates(const WrPath *self)
{
	return self->n_cands;
}

const WrPathCandidate *
wr_path_get_candidate(const WrPath *self, guint i)
{
	return i < self->n_cands ? &self->cands[i] : NULL;
}

const WrPathCandidate *
wr_path_find_candidate(const WrPath *self, const WrEndpoint *addr)
{
	return find(self, addr);
}

guint
wr_path_get_n_sent_pings(const WrPath *self)
{
	return self->n_sent;
}
