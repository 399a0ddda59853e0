/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The per-peer path state machine (wr-path) against derp-disco-stun.md §4, one scenario per
 * behaviour, with a scripted clock and RNG and no sockets.  The expected numbers come from the
 * spec's constants and §4.7's arithmetic worked by hand in the comments.
 */

#define G_LOG_DOMAIN "WrTestPath"

#include "config.h"

#include <errno.h>
#include <glib.h>
#include <string.h>

#include "wr-path.h"

#define T0     (1000 * G_USEC_PER_SEC)
#define MS     G_TIME_SPAN_MILLISECOND
#define REGION 2

#define EP_PUB1	 "203.0.113.1:41641"
#define EP_PUB2	 "198.51.100.7:41641"
#define EP_PRIV	 "192.168.1.5:41641"
#define EP_V6	 "[2001:db8::1]:41641"
#define EP_OTHER "203.0.113.99:5555"

typedef struct {
	WrPath *p;
	WrPathActions *acts;
	guint64 counter; /* the scripted RNG: TxIDs 1, 2, 3 ... */
	gint64 now;
} Fixture;

static void
counter_random(uint8_t *buf, size_t len, gpointer user_data)
{
	Fixture *f = user_data;

	memset(buf, 0, len);
	f->counter++;
	for (size_t i = 0; i < len && i < sizeof(f->counter); i++)
		buf[len - 1 - i] = (uint8_t) (f->counter >> (8 * i));
}

static void
fixture_set_up(Fixture *f, gconstpointer data)
{
	(void) data;
	f->p = wr_path_new(counter_random, f);
	f->acts = g_new0(WrPathActions, 1);
	f->counter = 0;
	f->now = T0;
}

static void
fixture_tear_down(Fixture *f, gconstpointer data)
{
	(void) data;
	wr_path_free(f->p);
	g_free(f->acts);
}

static WrEndpoint
ep(const char *text)
{
	WrEndpoint e;

	g_assert_true(wr_endpoint_parse(&e, text));
	return e;
}

static WrEndpoint
derp_src(guint64 region)
{
	WrEndpoint e;

	wr_path_derp_source(region, &e);
	return e;
}

static void
assert_ep(const WrEndpoint *e, const char *text)
{
	char buf[WR_ENDPOINT_STRLEN];

	wr_endpoint_format(e, buf);
	g_assert_cmpstr(buf, ==, text);
}

/* every entry point leaves the next wakeup in the future */
static void
check_wakeup(Fixture *f)
{
	g_assert_cmpint(wr_path_next_wakeup(f->p, f->now), >, f->now);
	g_assert_cmpuint(f->acts->n, <=, WR_PATH_MAX_ACTIONS);
}

static guint
count(Fixture *f, WrPathActionKind kind)
{
	guint n = 0;

	for (guint i = 0; i < f->acts->n; i++)
		n += f->acts->a[i].kind == kind;
	return n;
}

/* the UDP ping to addr in the last actions, NULL when none */
static const WrPathAction *
ping_to(Fixture *f, const char *addr)
{
	WrEndpoint e = ep(addr);

	for (guint i = 0; i < f->acts->n; i++) {
		const WrPathAction *a = &f->acts->a[i];

		if (a->kind == WR_PATH_SEND_PING && !a->via_derp && wr_endpoint_equal(&a->addr, &e))
			return a;
	}
	return NULL;
}

/* the UDP ping to addr, which must be there */
static const WrPathAction *
ping_to_some(Fixture *f, const char *addr)
{
	const WrPathAction *a = ping_to(f, addr);

	if (a == NULL)
		g_error("no UDP ping to %s", addr);
	return a;
}

static const WrPathAction *
first(Fixture *f, WrPathActionKind kind)
{
	for (guint i = 0; i < f->acts->n; i++) {
		if (f->acts->a[i].kind == kind)
			return &f->acts->a[i];
	}
	return NULL;
}

/* the first action of a kind that must be there */
static const WrPathAction *
first_some(Fixture *f, WrPathActionKind kind)
{
	const WrPathAction *a = first(f, kind);

	if (a == NULL)
		g_error("no action of kind %d", (int) kind);
	return a;
}

static bool
data_via_derp(Fixture *f)
{
	for (guint i = 0; i < f->acts->n; i++) {
		if (f->acts->a[i].kind == WR_PATH_SEND_DATA && f->acts->a[i].via_derp)
			return true;
	}
	return false;
}

/* the UDP address data went to, or NULL */
static const WrEndpoint *
data_udp(Fixture *f)
{
	for (guint i = 0; i < f->acts->n; i++) {
		if (f->acts->a[i].kind == WR_PATH_SEND_DATA && !f->acts->a[i].via_derp)
			return &f->acts->a[i].addr;
	}
	return NULL;
}

static void
set_peer(Fixture *f, const char *const *addrs, guint64 region)
{
	uint8_t key[WR_DISCO_KEY_LEN];
	WrEndpoint eps[8];
	size_t n = 0;

	memset(key, 0x42, sizeof(key));
	for (; addrs != NULL && addrs[n] != NULL; n++)
		eps[n] = ep(addrs[n]);
	wr_path_set_peer(f->p, f->now, key, eps, n, region, f->acts);
	check_wakeup(f);
}

static int
send_data(Fixture *f)
{
	int r = wr_path_send_data(f->p, f->now, f->acts);

	check_wakeup(f);
	return r;
}

static void
tick(Fixture *f)
{
	wr_path_tick(f->p, f->now, f->acts);
	check_wakeup(f);
}

static int
pong(Fixture *f, const uint8_t tx_id[WR_DISCO_TXID_LEN], const WrEndpoint *from)
{
	WrDiscoPong m;
	int r;

	memset(&m, 0, sizeof(m));
	memcpy(m.tx_id, tx_id, sizeof(m.tx_id));
	m.src = ep("192.0.2.1:41641"); /* what the peer saw of us: informational only */
	r = wr_path_recv_pong(f->p, f->now, &m, from, f->acts);
	check_wakeup(f);
	return r;
}

static int
ping_from(Fixture *f, const WrEndpoint *src, uint8_t tx_byte)
{
	WrDiscoPing m;
	int r;

	memset(&m, 0, sizeof(m));
	memset(m.tx_id, tx_byte, sizeof(m.tx_id));
	r = wr_path_recv_ping(f->p, f->now, &m, src, f->acts);
	check_wakeup(f);
	return r;
}

static void
call_me_maybe(Fixture *f, const char *const *addrs)
{
	WrDiscoCallMeMaybe m;

	memset(&m, 0, sizeof(m));
	for (; addrs[m.n_endpoints] != NULL; m.n_endpoints++)
		m.endpoints[m.n_endpoints] = ep(addrs[m.n_endpoints]);
	wr_path_recv_call_me_maybe(f->p, f->now, &m, f->acts);
	check_wakeup(f);
}

static WrPathState
state(Fixture *f)
{
	WrPathStatus st;

	wr_path_get_status(f->p, f->now, &st);
	return st.state;
}

static void
assert_best(Fixture *f, const char *addr)
{
	WrPathStatus st;

	wr_path_get_status(f->p, f->now, &st);
	if (addr == NULL)
		g_assert_cmpint(st.best.sa.sa_family, ==, AF_UNSPEC);
	else
		assert_ep(&st.best, addr);
}

/* brings the peer to a trusted direct path on addr with latency rtt; returns when */
static gint64
go_direct(Fixture *f, const char *addr, gint64 rtt)
{
	const char *addrs[] = {addr, NULL};
	uint8_t tx[WR_DISCO_TXID_LEN];
	WrEndpoint e = ep(addr);

	set_peer(f, addrs, REGION);
	g_assert_cmpint(send_data(f), ==, 0);
	g_assert_nonnull(ping_to(f, addr));
	memcpy(tx, ping_to(f, addr)->tx_id, sizeof(tx));
	f->now += rtt;
	g_assert_cmpint(pong(f, tx, &e), ==, 0);
	g_assert_cmpint(state(f), ==, WR_PATH_DIRECT);
	return f->now;
}

static void
test_path_constants(void)
{
	/* §4.1, in µs */
	g_assert_cmpint(WR_PATH_HEARTBEAT_INTERVAL_US, ==, 3000000);
	g_assert_cmpint(WR_PATH_TRUST_UDP_ADDR_US, ==, 6500000);
	g_assert_cmpint(WR_PATH_PING_TIMEOUT_US, ==, 5000000);
	g_assert_cmpint(WR_PATH_DISCO_PING_INTERVAL_US, ==, 5000000);
	g_assert_cmpint(WR_PATH_SESSION_ACTIVE_TIMEOUT_US, ==, 45000000);
	g_assert_cmpint(WR_PATH_UPGRADE_INTERVAL_US, ==, 60000000);
	g_assert_cmpint(WR_PATH_GOOD_ENOUGH_LATENCY_US, ==, 5000);
	g_assert_cmpint(WR_PATH_ENDPOINTS_FRESH_ENOUGH_US, ==, 27000000);
	g_assert_cmpint(WR_PATH_ENDPOINT_CACHE_US, ==, 310000000);
	g_assert_cmpint(WR_PATH_PONG_HISTORY, ==, 64);
	g_assert_cmpint(WR_PATH_MAX_CANDIDATES, ==, 100);
}

static bool
better(const char *a, gint64 a_ms_x10, const char *b, gint64 b_ms_x10)
{
	WrEndpoint ea;
	WrEndpoint eb;

	memset(&ea, 0, sizeof(ea));
	memset(&eb, 0, sizeof(eb));
	if (a != NULL)
		ea = ep(a);
	if (b != NULL)
		eb = ep(b);
	return wr_path_better_addr(&ea, a_ms_x10 * 100, &eb, b_ms_x10 * 100);
}

static void
test_path_better_addr(void)
{
	/* latencies in tenths of a ms */
	/* 30 vs 50 ms: a gets 100 - 3000/50 = 40 points */
	g_assert_true(better(EP_PUB2, 300, EP_PUB1, 500));
	g_assert_false(better(EP_PUB1, 500, EP_PUB2, 300));
	/* 99 vs 100 ms: 100 - 9900/100 = 1 point against 0: under the hysteresis */
	g_assert_false(better(EP_PUB2, 990, EP_PUB1, 1000));
	/* 98 vs 100 ms: 2 points */
	g_assert_true(better(EP_PUB2, 980, EP_PUB1, 1000));
	/* equal latency, both public: 0 vs 0 */
	g_assert_false(better(EP_PUB2, 100, EP_PUB1, 100));
	/* private 10 ms vs public 9 ms: the public one gets 100 - 900/10 = 10, the private 20 */
	g_assert_true(better(EP_PRIV, 100, EP_PUB1, 90));
	g_assert_false(better(EP_PUB1, 90, EP_PRIV, 100));
	/* but not against 7.5 ms: 100 - 750/10 = 25 > 20 */
	g_assert_false(better(EP_PRIV, 100, EP_PUB1, 75));
	g_assert_true(better("172.16.0.9:1", 100, EP_PUB1, 90));
	g_assert_false(better("172.32.0.9:1", 100, EP_PUB1, 90)); /* outside 172.16/12 */
	g_assert_true(better("10.1.2.3:1", 100, EP_PUB1, 90));
	/* IPv6 +10: 10.5 ms over 10 ms IPv4 gives the IPv4 one 100 - 1000/10.5 = 5 points */
	g_assert_true(better(EP_V6, 105, EP_PUB1, 100));
	/* 12 ms: 100 - 1000/12 = 17 > 10 */
	g_assert_false(better(EP_V6, 120, EP_PUB1, 100));
	/* the same latency, IPv6 wins on its 10; private IPv6 (fc00::/7) adds 20 */
	g_assert_true(better(EP_V6, 100, EP_PUB1, 100));
	g_assert_true(better("[fd00::1]:1", 100, EP_V6, 100));
	/* link-local IPv6 +30 +10 beats private IPv6 +20 +10, loopback +50 beats both */
	g_assert_true(better("[fe80::1]:1", 100, "[fd00::1]:1", 100));
	g_assert_true(better("127.0.0.1:1", 100, "[fe80::1]:1", 100));
	g_assert_false(better("[fe80::1]:1", 100, "127.0.0.1:1", 100));
	/* invalid addresses; the same address is never better (no MTU probing) */
	g_assert_true(better(EP_PUB1, 500, NULL, 0));
	g_assert_false(better(NULL, 0, EP_PUB1, 500));
	/* huge latencies do not overflow: G_MAXINT64 vs 1 ms is 100 points for the fast one */
	{
		WrEndpoint e1 = ep(EP_PUB1);
		WrEndpoint e2 = ep(EP_PUB2);

		g_assert_true(wr_path_better_addr(&e1, 1000, &e2, G_MAXINT64));
		g_assert_false(wr_path_better_addr(&e1, G_MAXINT64, &e2, 1000));
	}
	g_assert_false(better(EP_PUB1, 10, EP_PUB1, 500));
	/* zero latencies do not divide by zero */
	g_assert_false(better(EP_PUB1, 0, EP_PUB2, 0));
	g_assert_true(better(EP_PUB1, 0, EP_PUB2, 10));
}

/* §4.3 + §4.6 + §4.11: DERP only at first, a ping and a CallMeMaybe, then UDP on the first pong */
static void
test_path_derp_then_direct(Fixture *f, gconstpointer data)
{
	const char *addrs[] = {EP_PUB1, NULL};
	const WrPathAction *a;
	uint8_t tx[WR_DISCO_TXID_LEN];
	WrEndpoint e = ep(EP_PUB1);
	WrPathStatus st;

	(void) data;
	set_peer(f, addrs, REGION);
	g_assert_cmpint(state(f), ==, WR_PATH_IDLE);
	g_assert_cmpint(wr_path_next_wakeup(f->p, f->now), ==, G_MAXINT64);

	g_assert_cmpint(send_data(f), ==, 0);
	g_assert_true(data_via_derp(f));
	g_assert_null(data_udp(f));
	g_assert_cmpuint(count(f, WR_PATH_SEND_DATA), ==, 1);
	a = ping_to(f, EP_PUB1);
	g_assert_nonnull(a);
	memcpy(tx, a->tx_id, sizeof(tx));
	a = first_some(f, WR_PATH_SEND_CALL_ME_MAYBE);
	g_assert_true(a->via_derp);
	g_assert_cmpuint(a->derp_region, ==, REGION);
	a = first_some(f, WR_PATH_CHANGED);
	g_assert_cmpint(a->status.state, ==, WR_PATH_DERP);
	g_assert_cmpuint(a->status.derp_region, ==, REGION);
	g_assert_cmpint(state(f), ==, WR_PATH_DERP);
	g_assert_cmpuint(wr_path_get_n_sent_pings(f->p), ==, 1);

	/* a second packet 100 ms later: still DERP, no new ping within 5 s, so no CallMeMaybe */
	f->now += 100 * MS;
	g_assert_cmpint(send_data(f), ==, 0);
	g_assert_true(data_via_derp(f));
	g_assert_cmpuint(count(f, WR_PATH_SEND_PING), ==, 0);
	g_assert_cmpuint(count(f, WR_PATH_SEND_CALL_ME_MAYBE), ==, 0);

	/* the pong, 20 ms after its ping */
	f->now = T0 + 20 * MS;
	f->now += 100 * MS;
	g_assert_cmpint(pong(f, tx, &e), ==, 0);
	a = first_some(f, WR_PATH_CHANGED);
	g_assert_cmpint(a->status.state, ==, WR_PATH_DIRECT);
	assert_ep(&a->status.best, EP_PUB1);
	g_assert_cmpint(a->status.latency_us, ==, 120 * MS);
	wr_path_get_status(f->p, f->now, &st);
	g_assert_cmpint(st.trust_until, ==, f->now + WR_PATH_TRUST_UDP_ADDR_US);
	g_assert_cmpuint(wr_path_find_candidate(f->p, &e)->n_pongs, ==, 1);
	g_assert_cmpuint(wr_path_get_n_sent_pings(f->p), ==, 0);

	/* now UDP only, no discovery */
	f->now += MS;
	g_assert_cmpint(send_data(f), ==, 0);
	g_assert_false(data_via_derp(f));
	assert_ep(data_udp(f), EP_PUB1);
	g_assert_cmpuint(f->acts->n, ==, 1);

	/* the same pong again is no longer outstanding */
	g_assert_cmpint(pong(f, tx, &e), ==, -ENOENT);
}

/* §4.7 through pongs: a faster address takes over, a marginally faster one does not */
static void
test_path_two_candidates(Fixture *f, gconstpointer data)
{
	const char *addrs[] = {EP_PUB1, EP_PUB2, EP_PRIV, NULL};
	uint8_t tx1[WR_DISCO_TXID_LEN];
	uint8_t tx2[WR_DISCO_TXID_LEN];
	uint8_t tx3[WR_DISCO_TXID_LEN];
	WrEndpoint e1 = ep(EP_PUB1);
	WrEndpoint e2 = ep(EP_PUB2);
	WrEndpoint e3 = ep(EP_PRIV);

	(void) data;
	set_peer(f, addrs, REGION);
	g_assert_cmpint(send_data(f), ==, 0);
	g_assert_cmpuint(count(f, WR_PATH_SEND_PING), ==, 3);
	memcpy(tx1, ping_to_some(f, EP_PUB1)->tx_id, sizeof(tx1));
	memcpy(tx2, ping_to_some(f, EP_PUB2)->tx_id, sizeof(tx2));
	memcpy(tx3, ping_to_some(f, EP_PRIV)->tx_id, sizeof(tx3));

	/* PUB1 answers first, at 50 ms: untrusted before, so it is taken */
	f->now = T0 + 50 * MS;
	g_assert_cmpint(pong(f, tx1, &e1), ==, 0);
	assert_best(f, EP_PUB1);
	/* PUB2 at the same 50 ms: 0 points against 0, PUB1 is kept */
	g_assert_cmpint(pong(f, tx2, &e2), ==, 0);
	assert_best(f, EP_PUB1);
	g_assert_cmpint(wr_path_find_candidate(f->p, &e2)->latency_us, ==, 50 * MS);

	/* PRIV at 80 ms: 100 - 50*100/80 = 38 points for PUB1 against PRIV's 20: kept */
	f->now = T0 + 80 * MS;
	g_assert_cmpint(pong(f, tx3, &e3), ==, 0);
	assert_best(f, EP_PUB1);

	/* the next round 5 s later; PRIV answers at 55 ms, PUB1 at 50 ms: PRIV has 20 against
	 * 100 - 5000/55 = 10, so PRIV takes over */
	f->now = T0 + 7 * G_USEC_PER_SEC;
	/* the (late) heartbeat pings PUB1; trust ran out at 6.55 s, so a full round pings the
	 * rest */
	tick(f);
	g_assert_nonnull(ping_to(f, EP_PUB2));
	g_assert_cmpuint(count(f, WR_PATH_SEND_CALL_ME_MAYBE), ==, 1);
	g_assert_nonnull(ping_to(f, EP_PUB1));
	g_assert_nonnull(ping_to(f, EP_PRIV));
	memcpy(tx1, ping_to_some(f, EP_PUB1)->tx_id, sizeof(tx1));
	memcpy(tx3, ping_to_some(f, EP_PRIV)->tx_id, sizeof(tx3));
	f->now += 50 * MS;
	g_assert_cmpint(pong(f, tx1, &e1), ==, 0);
	assert_best(f, EP_PUB1);
	g_assert_cmpint(state(f), ==, WR_PATH_DIRECT);
	f->now += 5 * MS;
	g_assert_cmpint(pong(f, tx3, &e3), ==, 0);
	assert_best(f, EP_PRIV);
	g_assert_cmpint(state(f), ==, WR_PATH_DIRECT);
	g_assert_cmpuint(count(f, WR_PATH_CHANGED), ==, 1);
	assert_ep(&first_some(f, WR_PATH_CHANGED)->status.best, EP_PRIV);
}

/* IPv6 against IPv4 through the state machine: +10 decides a near tie */
static void
test_path_ipv6_preferred(Fixture *f, gconstpointer data)
{
	const char *addrs[] = {EP_PUB1, EP_V6, NULL};
	uint8_t tx4[WR_DISCO_TXID_LEN];
	uint8_t tx6[WR_DISCO_TXID_LEN];
	WrEndpoint e4 = ep(EP_PUB1);
	WrEndpoint e6 = ep(EP_V6);

	(void) data;
	set_peer(f, addrs, REGION);
	(void) send_data(f);
	memcpy(tx4, ping_to_some(f, EP_PUB1)->tx_id, sizeof(tx4));
	memcpy(tx6, ping_to_some(f, EP_V6)->tx_id, sizeof(tx6));
	f->now = T0 + 10 * MS;
	g_assert_cmpint(pong(f, tx4, &e4), ==, 0);
	/* 10.5 ms: the IPv4 path gets 100 - 1000/10.5 = 5 points, IPv6 10 */
	f->now = T0 + 10500;
	g_assert_cmpint(pong(f, tx6, &e6), ==, 0);
	assert_best(f, EP_V6);
}

/* §4.5: a CallMeMaybe adds its endpoints (not link-local IPv6) and pings all of them at once */
static void
test_path_call_me_maybe(Fixture *f, gconstpointer data)
{
	const char *cmm1[] = {EP_PUB1, EP_V6, "[fe80::1]:41641", EP_PUB1, "0.0.0.0:1", NULL};
	const char *cmm2[] = {EP_V6, EP_PUB2, NULL};
	const char *netmap[] = {EP_PRIV, NULL};
	WrEndpoint e1 = ep(EP_PUB1);

	(void) data;
	set_peer(f, netmap, REGION);
	call_me_maybe(f, cmm1);
	g_assert_cmpuint(wr_path_get_n_candidates(f->p), ==, 3);
	g_assert_cmpuint(count(f, WR_PATH_SEND_PING), ==, 3);
	g_assert_nonnull(ping_to(f, EP_PUB1));
	g_assert_nonnull(ping_to(f, EP_V6));
	g_assert_nonnull(ping_to(f, EP_PRIV));
	g_assert_null(ping_to(f, "[fe80::1]:41641"));
	/* no CallMeMaybe back */
	g_assert_cmpuint(count(f, WR_PATH_SEND_CALL_ME_MAYBE), ==, 0);
	g_assert_cmpint(wr_path_find_candidate(f->p, &e1)->call_me_maybe_at, ==, f->now);

	/* a second one 1 s later pings again despite the 5 s gap, and drops PUB1 */
	f->now += G_USEC_PER_SEC;
	call_me_maybe(f, cmm2);
	g_assert_null(wr_path_find_candidate(f->p, &e1));
	g_assert_cmpuint(wr_path_get_n_candidates(f->p), ==, 3);
	g_assert_cmpuint(count(f, WR_PATH_SEND_PING), ==, 3);
	g_assert_nonnull(ping_to(f, EP_PUB2));
	g_assert_nonnull(ping_to(f, EP_PRIV));
	/* the pings to the dropped endpoint are forgotten: 3 old ones + 3 new ones */
	g_assert_cmpuint(wr_path_get_n_sent_pings(f->p), ==, 5);

	/* an empty one drops every CallMeMaybe entry; the netmap one stays */
	f->now += G_USEC_PER_SEC;
	{
		const char *none[] = {NULL};

		call_me_maybe(f, none);
	}
	g_assert_cmpuint(wr_path_get_n_candidates(f->p), ==, 1);
	assert_ep(&wr_path_get_candidate(f->p, 0)->addr, EP_PRIV);
}

typedef struct {
	uint8_t tx_id[WR_DISCO_TXID_LEN];
	WrEndpoint to;
	gint64 due;
} InFlight;

/*
 * Runs the clock from now to until: data every data_every µs (0: none), the path's timers at
 * its wakeups, and when answer, a pong rtt after each UDP ping.  Counts what it saw.
 */
typedef struct {
	guint data_udp_only;
	guint data_with_derp;
	guint pings;
	guint cmms;
	guint heartbeat_ticks; /* ticks that sent a ping */
	gint64 last_ping_at;
	gint64 first_derp_at; /* first data that also went via DERP, 0 none */
	gint64 best_cleared_at;
} RunStats;

static void
collect(Fixture *f, GArray *flight, bool answer, gint64 rtt, RunStats *rs)
{
	for (guint i = 0; i < f->acts->n; i++) {
		const WrPathAction *a = &f->acts->a[i];

		if (a->kind == WR_PATH_SEND_PING && !a->via_derp) {
			InFlight fl;

			rs->pings++;
			rs->last_ping_at = f->now;
			if (!answer)
				continue;
			memcpy(fl.tx_id, a->tx_id, sizeof(fl.tx_id));
			fl.to = a->addr;
			fl.due = f->now + rtt;
			g_array_append_val(flight, fl);
		} else if (a->kind == WR_PATH_SEND_CALL_ME_MAYBE) {
			rs->cmms++;
		} else if (a->kind == WR_PATH_CHANGED && rs->best_cleared_at == 0 &&
			   a->status.best.sa.sa_family == AF_UNSPEC) {
			rs->best_cleared_at = f->now;
		}
	}
}

static void
run(Fixture *f, gint64 until, gint64 data_every, bool answer, gint64 rtt, RunStats *rs)
{
	g_autoptr(GArray) flight = g_array_new(FALSE, FALSE, sizeof(InFlight));
	gint64 next_data = data_every != 0 ? f->now + data_every : G_MAXINT64;

	while (true) {
		gint64 wake = wr_path_next_wakeup(f->p, f->now);
		gint64 next = MIN(wake, next_data);
		WrPathStatus st;

		for (guint i = 0; i < flight->len; i++)
			next = MIN(next, g_array_index(flight, InFlight, i).due);
		if (next > until)
			break;
		f->now = next;
		/* the timer first, so that its pings count as the heartbeat's */
		if (wake == next) {
			tick(f);
			if (count(f, WR_PATH_SEND_PING) > 0)
				rs->heartbeat_ticks++;
			collect(f, flight, answer, rtt, rs);
		}
		for (guint i = 0; i < flight->len; i++) {
			InFlight fl = g_array_index(flight, InFlight, i);

			if (fl.due != f->now)
				continue;
			g_array_remove_index(flight, i--);
			g_assert_cmpint(pong(f, fl.tx_id, &fl.to), ==, 0);
			collect(f, flight, answer, rtt, rs);
		}
		if (next_data == f->now) {
			g_assert_cmpint(send_data(f), ==, 0);
			if (data_via_derp(f)) {
				rs->data_with_derp++;
				if (rs->first_derp_at == 0)
					rs->first_derp_at = f->now;
			} else {
				rs->data_udp_only++;
			}
			collect(f, flight, answer, rtt, rs);
			next_data += data_every;
		}
		wr_path_get_status(f->p, f->now, &st);
		if (rs->best_cleared_at == 0 && st.best.sa.sa_family == AF_UNSPEC)
			rs->best_cleared_at = f->now;
	}
	f->now = until;
	tick(f);
}

/* §4.8: heartbeats every 3 s keep a 6.5 s trust alive; an idle peer stops pinging */
static void
test_path_heartbeat(Fixture *f, gconstpointer data)
{
	RunStats rs = {0};
	gint64 start;
	gint64 last_send;

	(void) data;
	start = go_direct(f, EP_PUB1, 20 * MS);
	/* 30 s of data every 500 ms, every ping answered in 20 ms: never DERP again */
	run(f, start + 30 * G_USEC_PER_SEC, 500 * MS, true, 20 * MS, &rs);
	g_assert_cmpuint(rs.data_with_derp, ==, 0);
	g_assert_cmpuint(rs.data_udp_only, ==, 60);
	/* one heartbeat ping per 3 s (the first heartbeat was armed by the first send) */
	g_assert_cmpuint(rs.heartbeat_ticks, >=, 9);
	g_assert_cmpuint(rs.heartbeat_ticks, <=, 11);
	/* 20 ms > 5 ms, but no full round within 60 s of the last: one ping per heartbeat */
	g_assert_cmpuint(rs.pings, ==, rs.heartbeat_ticks);
	g_assert_cmpint(state(f), ==, WR_PATH_DIRECT);

	/* idle: heartbeats go on while the last send is < 45 s old, then stop */
	last_send = start + 30 * G_USEC_PER_SEC;
	memset(&rs, 0, sizeof(rs));
	run(f, last_send + 100 * G_USEC_PER_SEC, 0, true, 20 * MS, &rs);
	g_assert_cmpint(rs.last_ping_at, <=, last_send + WR_PATH_SESSION_ACTIVE_TIMEOUT_US);
	g_assert_cmpint(rs.last_ping_at, >, last_send + 40 * G_USEC_PER_SEC);
	g_assert_cmpint(state(f), ==, WR_PATH_IDLE);
	g_assert_cmpint(wr_path_next_wakeup(f->p, f->now), ==, G_MAXINT64);
}

/* §4.8 step 3: a slow path (> 5 ms) gets a full round every 60 s; a fast one does not */
static void
test_path_upgrade_rounds(Fixture *f, gconstpointer data)
{
	const char *addrs[] = {EP_PUB1, EP_PUB2, NULL};
	RunStats rs = {0};
	uint8_t key[WR_DISCO_KEY_LEN];
	gint64 start;

	(void) data;
	start = go_direct(f, EP_PUB1, 20 * MS);
	memset(key, 0x42, sizeof(key));
	{
		WrEndpoint eps[2] = {ep(addrs[0]), ep(addrs[1])};

		wr_path_set_peer(f->p, f->now, key, eps, 2, REGION, f->acts);
	}
	/* 130 s of traffic; PUB2 is pinged only by full rounds: at 60 s and 120 s */
	run(f, start + 130 * G_USEC_PER_SEC, G_USEC_PER_SEC, true, 20 * MS, &rs);
	g_assert_cmpuint(rs.data_with_derp, ==, 0);
	/* heartbeat pings ~43, plus PUB2 twice, plus the CallMeMaybe with each full round */
	g_assert_cmpuint(rs.cmms, ==, 2);

	/* a 2 ms path: no rounds at all */
	wr_path_free(f->p);
	f->p = wr_path_new(counter_random, f);
	start = go_direct(f, EP_PUB1, 2 * MS);
	{
		WrEndpoint eps[2] = {ep(addrs[0]), ep(addrs[1])};

		wr_path_set_peer(f->p, f->now, key, eps, 2, REGION, f->acts);
	}
	memset(&rs, 0, sizeof(rs));
	run(f, start + 130 * G_USEC_PER_SEC, G_USEC_PER_SEC, true, 2 * MS, &rs);
	g_assert_cmpuint(rs.cmms, ==, 0);
	g_assert_cmpuint(rs.pings, ==, rs.heartbeat_ticks);
}

/* §4.9: pongs stop, trust lapses (data to both), the lost ping clears the best address
 * (DERP only), rounds go on, and a pong brings the direct path back */
static void
test_path_fallback(Fixture *f, gconstpointer data)
{
	RunStats rs = {0};
	gint64 last_pong;
	const WrPathAction *a;
	WrEndpoint e = ep(EP_PUB1);

	(void) data;
	last_pong = go_direct(f, EP_PUB1, 20 * MS);
	run(f, last_pong + 30 * G_USEC_PER_SEC, 250 * MS, false, 0, &rs);
	/* trust lasts 6.5 s after the pong: UDP only until then, both after */
	g_assert_cmpint(rs.first_derp_at, >, last_pong + WR_PATH_TRUST_UDP_ADDR_US);
	g_assert_cmpint(rs.first_derp_at, <=, last_pong + WR_PATH_TRUST_UDP_ADDR_US + 250 * MS);
	/* the heartbeat ping sent before trust ran out times out 5 s later: best cleared by then */
	g_assert_cmpint(rs.best_cleared_at, >, last_pong + WR_PATH_TRUST_UDP_ADDR_US);
	g_assert_cmpint(rs.best_cleared_at, <=,
			last_pong + WR_PATH_TRUST_UDP_ADDR_US + WR_PATH_HEARTBEAT_INTERVAL_US +
				WR_PATH_PING_TIMEOUT_US);
	assert_best(f, NULL);
	g_assert_cmpint(state(f), ==, WR_PATH_DERP);
	/* rediscovery: the endpoint is pinged at most every 5 s, each round with a CallMeMaybe */
	g_assert_cmpuint(rs.cmms, >=, 3);
	g_assert_cmpuint(rs.pings, <=, 30 / 3 + 2);

	/* DERP only now */
	f->now += MS;
	(void) send_data(f);
	g_assert_true(data_via_derp(f));
	g_assert_null(data_udp(f));

	/* the path comes back: the next round's ping is answered */
	f->now += 5 * G_USEC_PER_SEC;
	(void) send_data(f);
	a = ping_to(f, EP_PUB1);
	g_assert_nonnull(a);
	{
		uint8_t tx[WR_DISCO_TXID_LEN];

		memcpy(tx, a->tx_id, sizeof(tx));
		f->now += 30 * MS;
		g_assert_cmpint(pong(f, tx, &e), ==, 0);
	}
	g_assert_cmpint(state(f), ==, WR_PATH_DIRECT);
	g_assert_cmpint(first_some(f, WR_PATH_CHANGED)->status.state, ==, WR_PATH_DIRECT);
}

/* wr_path_probe: an unanswered probe ends trust at its deadline, an answered one keeps it, and
 * a later pong makes the path direct again */
static void
test_path_probe(Fixture *f, gconstpointer data)
{
	WrEndpoint e = ep(EP_PUB1);
	uint8_t tx[WR_DISCO_TXID_LEN];
	gint64 deadline;

	(void) data;
	/* nothing to probe before a trusted address */
	g_assert_cmpint(wr_path_probe(f->p, f->now, 600 * MS, f->acts), ==, -EALREADY);
	g_assert_cmpuint(count(f, WR_PATH_SEND_PING), ==, 0);
	(void) go_direct(f, EP_PUB1, 20 * MS);

	/* answered in time: still direct after the deadline */
	f->now += 100 * MS;
	g_assert_cmpint(wr_path_probe(f->p, f->now, 600 * MS, f->acts), ==, 0);
	check_wakeup(f);
	memcpy(tx, ping_to_some(f, EP_PUB1)->tx_id, sizeof(tx));
	g_assert_cmpint(wr_path_next_wakeup(f->p, f->now), <=, f->now + 600 * MS);
	f->now += 30 * MS;
	g_assert_cmpint(pong(f, tx, &e), ==, 0);
	f->now += 700 * MS;
	tick(f);
	g_assert_cmpint(state(f), ==, WR_PATH_DIRECT);

	/* unanswered: DERP at the deadline, not before, with a path event; the address stays */
	g_assert_cmpint(wr_path_probe(f->p, f->now, 600 * MS, f->acts), ==, 0);
	check_wakeup(f);
	memcpy(tx, ping_to_some(f, EP_PUB1)->tx_id, sizeof(tx));
	deadline = f->now + 600 * MS;
	g_assert_cmpint(wr_path_next_wakeup(f->p, f->now), <=, deadline);
	f->now = deadline - 1;
	tick(f);
	g_assert_cmpint(state(f), ==, WR_PATH_DIRECT);
	f->now = deadline;
	tick(f);
	g_assert_cmpint(state(f), ==, WR_PATH_DERP);
	g_assert_cmpint(first_some(f, WR_PATH_CHANGED)->status.state, ==, WR_PATH_DERP);
	assert_best(f, EP_PUB1);
	(void) send_data(f);
	g_assert_true(data_via_derp(f));

	/* the late pong of the probe: direct again */
	f->now += 200 * MS;
	g_assert_cmpint(pong(f, tx, &e), ==, 0);
	g_assert_cmpint(state(f), ==, WR_PATH_DIRECT);
	g_assert_cmpint(first_some(f, WR_PATH_CHANGED)->status.state, ==, WR_PATH_DIRECT);
}

/* a ping from an endpoint we pinged without answer is answered with a pong and a ping of ours
 * at once, at most once a second per endpoint, and not while a direct path is trusted */
static void
test_path_ping_back(Fixture *f, gconstpointer data)
{
	const char *addrs[] = {EP_PUB1, NULL};
	WrEndpoint e = ep(EP_PUB1);
	uint8_t tx[WR_DISCO_TXID_LEN];

	(void) data;
	set_peer(f, addrs, REGION);
	g_assert_cmpint(send_data(f), ==, 0);
	memcpy(tx, ping_to_some(f, EP_PUB1)->tx_id, sizeof(tx)); /* lost on the way */
	f->now += 3 * MS;
	g_assert_cmpint(ping_from(f, &e, 0x21), ==, 0);
	g_assert_cmpuint(count(f, WR_PATH_SEND_PONG), ==, 1);
	memcpy(tx, ping_to_some(f, EP_PUB1)->tx_id, sizeof(tx));
	/* a second one within the second: a pong only */
	f->now += 500 * MS;
	g_assert_cmpint(ping_from(f, &e, 0x22), ==, 0);
	g_assert_cmpuint(count(f, WR_PATH_SEND_PONG), ==, 1);
	g_assert_null(ping_to(f, EP_PUB1));
	/* its pong makes the path direct, and then pings get pongs only */
	f->now += 2 * MS;
	g_assert_cmpint(pong(f, tx, &e), ==, 0);
	g_assert_cmpint(state(f), ==, WR_PATH_DIRECT);
	f->now += 2 * G_USEC_PER_SEC;
	g_assert_cmpint(ping_from(f, &e, 0x23), ==, 0);
	g_assert_cmpuint(count(f, WR_PATH_SEND_PONG), ==, 1);
	g_assert_null(ping_to(f, EP_PUB1));
}

/* a map that brings a new endpoint while data flows and nothing is trusted: pinged at once,
 * with a CallMeMaybe; not while idle */
static void
test_path_new_endpoint(Fixture *f, gconstpointer data)
{
	const char *first[] = {EP_PRIV, NULL};
	const char *both[] = {EP_PRIV, EP_PUB1, NULL};
	const char *three[] = {EP_PRIV, EP_PUB1, EP_PUB2, NULL};

	(void) data;
	set_peer(f, first, REGION);
	g_assert_cmpuint(count(f, WR_PATH_SEND_PING), ==, 0); /* idle */
	set_peer(f, both, REGION);
	g_assert_cmpuint(count(f, WR_PATH_SEND_PING), ==, 0);
	g_assert_cmpint(send_data(f), ==, 0);
	g_assert_nonnull(ping_to(f, EP_PUB1));
	f->now += 100 * MS;
	set_peer(f, three, REGION);
	g_assert_nonnull(ping_to(f, EP_PUB2));
	g_assert_null(ping_to(f, EP_PUB1)); /* pinged 100 ms ago */
	g_assert_cmpuint(count(f, WR_PATH_SEND_CALL_ME_MAYBE), ==, 1);
	/* the same map again: nothing new, nothing sent */
	f->now += 100 * MS;
	set_peer(f, three, REGION);
	g_assert_cmpuint(count(f, WR_PATH_SEND_PING), ==, 0);
}

/* §4.2: a new network map drops the endpoints it no longer lists, with their pings */
static void
test_path_netmap_change(Fixture *f, gconstpointer data)
{
	const char *map1[] = {EP_PUB1, EP_PUB2, NULL};
	const char *map2[] = {EP_PUB2, EP_V6, NULL};
	uint8_t tx1[WR_DISCO_TXID_LEN];
	uint8_t tx2[WR_DISCO_TXID_LEN];
	WrEndpoint e1 = ep(EP_PUB1);
	WrEndpoint e2 = ep(EP_PUB2);

	(void) data;
	set_peer(f, map1, REGION);
	(void) send_data(f);
	memcpy(tx1, ping_to_some(f, EP_PUB1)->tx_id, sizeof(tx1));
	memcpy(tx2, ping_to_some(f, EP_PUB2)->tx_id, sizeof(tx2));
	f->now += 10 * MS;
	g_assert_cmpint(pong(f, tx1, &e1), ==, 0);
	assert_best(f, EP_PUB1);

	set_peer(f, map2, 7);
	g_assert_cmpuint(wr_path_get_n_candidates(f->p), ==, 2);
	g_assert_null(wr_path_find_candidate(f->p, &e1));
	g_assert_nonnull(wr_path_find_candidate(f->p, &e2));
	assert_best(f, NULL);
	g_assert_cmpint(first_some(f, WR_PATH_CHANGED)->status.state, ==, WR_PATH_DERP);
	g_assert_cmpuint(first_some(f, WR_PATH_CHANGED)->status.derp_region, ==, 7);
	/* the new V6 is pinged at once (active, nothing trusted); PUB2's ping is still
	 * outstanding, PUB1's is gone */
	g_assert_nonnull(ping_to(f, EP_V6));
	g_assert_null(ping_to(f, EP_PUB2));
	g_assert_cmpuint(wr_path_get_n_sent_pings(f->p), ==, 2);
	(void) send_data(f);
	g_assert_true(data_via_derp(f));
	g_assert_cmpuint(first_some(f, WR_PATH_SEND_DATA)->derp_region, ==, 7);
	g_assert_null(ping_to(f, EP_V6));
	g_assert_cmpint(pong(f, tx2, &e2), ==, 0);
	assert_best(f, EP_PUB2);

	/* a new disco key is a restarted peer: reset, idle */
	{
		uint8_t key[WR_DISCO_KEY_LEN];
		WrEndpoint eps[1] = {e2};

		memset(key, 0x43, sizeof(key));
		wr_path_set_peer(f->p, f->now, key, eps, 1, 7, f->acts);
	}
	assert_best(f, NULL);
	g_assert_cmpint(state(f), ==, WR_PATH_IDLE);
	g_assert_cmpuint(wr_path_get_n_sent_pings(f->p), ==, 0);
	g_assert_cmpmem(wr_path_get_disco_key(f->p), WR_DISCO_KEY_LEN,
			"CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC", WR_DISCO_KEY_LEN);
}

/* §3.6 step 7, §4.6 step 1: pongs that match nothing, or come back the wrong way, do nothing */
static void
test_path_bad_pongs(Fixture *f, gconstpointer data)
{
	const char *addrs[] = {EP_PUB1, NULL};
	uint8_t tx[WR_DISCO_TXID_LEN];
	uint8_t bogus[WR_DISCO_TXID_LEN];
	WrEndpoint e = ep(EP_PUB1);
	WrEndpoint other = ep(EP_OTHER);
	WrEndpoint derp = derp_src(REGION);

	(void) data;
	set_peer(f, addrs, REGION);
	(void) send_data(f);
	memcpy(tx, ping_to_some(f, EP_PUB1)->tx_id, sizeof(tx));
	memcpy(bogus, tx, sizeof(bogus));
	bogus[0] ^= 1;

	f->now += 10 * MS;
	g_assert_cmpint(pong(f, bogus, &e), ==, -ENOENT);
	assert_best(f, NULL);
	/* the UDP ping's TxID answered over DERP: not where it went, and never a best address */
	g_assert_cmpint(pong(f, tx, &derp), ==, -EPROTO);
	assert_best(f, NULL);
	g_assert_cmpuint(wr_path_get_n_sent_pings(f->p), ==, 1);
	g_assert_cmpint(state(f), ==, WR_PATH_DERP);

	/* answered from another UDP source (multihomed peer): the address pinged is scored,
	 * not the source (§7 pitfall 12), and the source is noted */
	g_assert_cmpint(pong(f, tx, &other), ==, 0);
	assert_best(f, EP_PUB1);
	g_assert_null(wr_path_find_candidate(f->p, &other));
	assert_ep(&wr_path_find_candidate(f->p, &e)->pong_from, EP_OTHER);

	/* a pong after its ping timed out: unknown */
	f->now += G_USEC_PER_SEC;
	(void) wr_path_cli_ping(f->p, f->now, f->acts);
	memcpy(tx, ping_to_some(f, EP_PUB1)->tx_id, sizeof(tx));
	f->now += WR_PATH_PING_TIMEOUT_US;
	g_assert_cmpint(pong(f, tx, &e), ==, -ENOENT);
}

/* §3.6 step 6: pings are answered the way they came; UDP sources are learned, duplicates not
 * answered, learned endpoints expire after 45 s */
static void
test_path_recv_ping(Fixture *f, gconstpointer data)
{
	const char *addrs[] = {EP_PUB1, NULL};
	WrEndpoint learned = ep(EP_OTHER);
	WrEndpoint derp = derp_src(9);
	const WrPathAction *a;
	const WrPathCandidate *c;

	(void) data;
	set_peer(f, addrs, REGION);
	g_assert_cmpint(ping_from(f, &learned, 0x11), ==, 0);
	a = first_some(f, WR_PATH_SEND_PONG);
	g_assert_false(a->via_derp);
	assert_ep(&a->addr, EP_OTHER);
	assert_ep(&a->pong_src, EP_OTHER);
	g_assert_cmphex(a->tx_id[0], ==, 0x11);
	c = wr_path_find_candidate(f->p, &learned);
	g_assert_nonnull(c);
	g_assert_cmpint(c->last_got_ping, ==, f->now);
	g_assert_false(c->from_netmap);
	/* never answered by it: pinged back at once (hole punching) */
	g_assert_nonnull(ping_to(f, EP_OTHER));
	g_assert_cmpint(c->last_ping_back, ==, f->now);

	/* the same TxID again from there: a duplicate, no pong */
	f->now += MS;
	g_assert_cmpint(ping_from(f, &learned, 0x11), ==, -EALREADY);
	g_assert_cmpuint(count(f, WR_PATH_SEND_PONG), ==, 0);
	g_assert_cmpint(ping_from(f, &learned, 0x12), ==, 0);
	g_assert_cmpuint(count(f, WR_PATH_SEND_PONG), ==, 1);

	/* over DERP: a pong back over DERP with Src 127.3.3.40:region, nothing learned */
	g_assert_cmpint(ping_from(f, &derp, 0x13), ==, 0);
	a = first_some(f, WR_PATH_SEND_PONG);
	g_assert_true(a->via_derp);
	g_assert_cmpuint(a->derp_region, ==, 9);
	assert_ep(&a->pong_src, "127.3.3.40:9");
	g_assert_cmpint(ping_from(f, &derp, 0x13), ==, 0); /* DERP pings are not deduplicated */
	/* sources with no way back */
	{
		WrEndpoint region0 = derp_src(0);
		WrEndpoint port0 = ep("203.0.113.5:1");

		port0.in4.sin_port = 0;
		g_assert_cmpint(ping_from(f, &region0, 0x14), ==, -EINVAL);
		g_assert_cmpint(ping_from(f, &port0, 0x15), ==, -EINVAL);
		g_assert_cmpuint(count(f, WR_PATH_SEND_PONG), ==, 0);
	}
	g_assert_cmpuint(wr_path_get_n_candidates(f->p), ==, 2);

	/* the learned endpoint is in the rounds (not this one: it was pinged back just now), and
	 * expires 45 s after its last ping */
	(void) send_data(f);
	g_assert_nonnull(ping_to(f, EP_PUB1));
	g_assert_null(ping_to(f, EP_OTHER));
	f->now += WR_PATH_SESSION_ACTIVE_TIMEOUT_US;
	(void) send_data(f);
	g_assert_nonnull(wr_path_find_candidate(f->p, &learned));
	f->now += 1;
	(void) send_data(f);
	g_assert_null(wr_path_find_candidate(f->p, &learned));
	g_assert_null(ping_to(f, EP_OTHER));
}

/* bounded memory: a peer flooding CallMeMaybes and pings from new ports */
static void
test_path_limits(Fixture *f, gconstpointer data)
{
	const char *addrs[] = {EP_PUB1, EP_PUB2, NULL};
	WrDiscoCallMeMaybe cmm;
	WrEndpoint e1 = ep(EP_PUB1);
	WrEndpoint e2 = ep(EP_PUB2);

	(void) data;
	set_peer(f, addrs, REGION);
	(void) send_data(f);
	for (guint round = 0; round < 200; round++) {
		memset(&cmm, 0, sizeof(cmm));
		cmm.n_endpoints = WR_DISCO_MAX_ENDPOINTS;
		for (guint i = 0; i < cmm.n_endpoints; i++) {
			g_autofree gchar *text =
				g_strdup_printf("198.51.100.%u:%u", round % 250, 1000 + i);

			cmm.endpoints[i] = ep(text);
		}
		f->now += 10 * MS;
		wr_path_recv_call_me_maybe(f->p, f->now, &cmm, f->acts);
		check_wakeup(f);
		g_assert_cmpuint(wr_path_get_n_candidates(f->p), <=, WR_PATH_MAX_CANDIDATES);
		g_assert_cmpuint(wr_path_get_n_sent_pings(f->p), <=, WR_PATH_MAX_SENT_PINGS);
		/* every candidate was pinged: 64 + the two from the netmap */
		g_assert_cmpuint(count(f, WR_PATH_SEND_PING), ==, 66);
	}
	g_assert_cmpuint(wr_path_get_n_candidates(f->p), ==, 66);
	g_assert_cmpuint(wr_path_get_n_sent_pings(f->p), ==, WR_PATH_MAX_SENT_PINGS);

	/* pings from 1000 ports: the table stays at the cap, the netmap entries stay */
	for (guint i = 0; i < 1000; i++) {
		g_autofree gchar *text = g_strdup_printf("203.0.113.7:%u", 2000 + i);
		WrEndpoint src = ep(text);

		f->now += MS;
		g_assert_cmpint(ping_from(f, &src, (uint8_t) i), ==, 0);
		g_assert_cmpuint(count(f, WR_PATH_SEND_PONG), ==, 1);
		g_assert_cmpuint(wr_path_get_n_candidates(f->p), <=, WR_PATH_MAX_CANDIDATES);
	}
	g_assert_cmpuint(wr_path_get_n_candidates(f->p), ==, WR_PATH_MAX_CANDIDATES);
	g_assert_nonnull(wr_path_find_candidate(f->p, &e1));
	g_assert_nonnull(wr_path_find_candidate(f->p, &e2));
	/* the newest learned one is in, the oldest ones were evicted */
	{
		WrEndpoint newest = ep("203.0.113.7:2999");
		WrEndpoint oldest = ep("203.0.113.7:2000");

		g_assert_nonnull(wr_path_find_candidate(f->p, &newest));
		g_assert_null(wr_path_find_candidate(f->p, &oldest));
	}
	/* a netmap larger than the cap is cut at the cap */
	{
		g_autofree WrEndpoint *eps = g_new0(WrEndpoint, 300);
		uint8_t key[WR_DISCO_KEY_LEN];

		for (guint i = 0; i < 300; i++) {
			g_autofree gchar *text =
				g_strdup_printf("192.0.2.%u:%u", i % 250, 3000 + i);

			eps[i] = ep(text);
		}
		memset(key, 0x42, sizeof(key));
		wr_path_set_peer(f->p, f->now, key, eps, 300, REGION, f->acts);
		g_assert_cmpuint(wr_path_get_n_candidates(f->p), ==, WR_PATH_MAX_CANDIDATES);
		for (guint i = 0; i < WR_PATH_MAX_CANDIDATES; i++)
			g_assert_true(wr_path_get_candidate(f->p, i)->from_netmap);
	}
}

/* `warren ping`: via DERP and every endpoint while untrusted, each answer reported */
static void
test_path_cli_ping(Fixture *f, gconstpointer data)
{
	const char *addrs[] = {EP_PUB1, NULL};
	uint8_t tx_derp[WR_DISCO_TXID_LEN];
	uint8_t tx_udp[WR_DISCO_TXID_LEN];
	WrEndpoint e = ep(EP_PUB1);
	WrEndpoint derp = derp_src(REGION);
	const WrPathAction *a;

	(void) data;
	g_assert_cmpint(wr_path_cli_ping(f->p, f->now, f->acts), ==, -EHOSTUNREACH);
	set_peer(f, addrs, REGION);
	g_assert_cmpint(wr_path_cli_ping(f->p, f->now, f->acts), ==, 0);
	g_assert_cmpuint(count(f, WR_PATH_SEND_PING), ==, 2);
	a = first_some(f, WR_PATH_SEND_PING);
	g_assert_true(a->via_derp);
	g_assert_cmpuint(a->derp_region, ==, REGION);
	memcpy(tx_derp, a->tx_id, sizeof(tx_derp));
	memcpy(tx_udp, ping_to_some(f, EP_PUB1)->tx_id, sizeof(tx_udp));
	/* a CLI ping does not hold back the discovery pings */
	(void) send_data(f);
	g_assert_nonnull(ping_to(f, EP_PUB1));

	/* an answer from another region is not the answer */
	f->now += 70 * MS;
	{
		WrEndpoint elsewhere = derp_src(REGION + 1);

		g_assert_cmpint(pong(f, tx_derp, &elsewhere), ==, -EPROTO);
	}
	/* DERP answers first: a result via DERP, still no direct path */
	f->now += 10 * MS;
	g_assert_cmpint(pong(f, tx_derp, &derp), ==, 0);
	a = first_some(f, WR_PATH_PING_RESULT);
	g_assert_true(a->via_derp);
	g_assert_cmpuint(a->derp_region, ==, REGION);
	g_assert_cmpint(a->latency_us, ==, 80 * MS);
	assert_best(f, NULL);
	/* then UDP: a result via the address, and the address becomes the best */
	f->now += 10 * MS;
	g_assert_cmpint(pong(f, tx_udp, &e), ==, 0);
	a = first_some(f, WR_PATH_PING_RESULT);
	g_assert_false(a->via_derp);
	assert_ep(&a->addr, EP_PUB1);
	g_assert_cmpint(a->latency_us, ==, 90 * MS);
	assert_best(f, EP_PUB1);
	/* with a trusted path, one ping to it */
	g_assert_cmpint(wr_path_cli_ping(f->p, f->now, f->acts), ==, 0);
	g_assert_cmpuint(count(f, WR_PATH_SEND_PING), ==, 1);
	g_assert_nonnull(ping_to(f, EP_PUB1));
}

/* §4.3 step 5/6, §4.9: no route at all; a send error and a link change clear the best */
static void
test_path_errors(Fixture *f, gconstpointer data)
{
	const char *addrs[] = {EP_PUB1, NULL};
	WrEndpoint e = ep(EP_PUB1);
	WrEndpoint other = ep(EP_PUB2);

	(void) data;
	/* no DERP region and no best address: nowhere to send, but discovery starts */
	set_peer(f, addrs, 0);
	g_assert_cmpint(send_data(f), ==, -EHOSTUNREACH);
	g_assert_cmpuint(count(f, WR_PATH_SEND_DATA), ==, 0);
	g_assert_nonnull(ping_to(f, EP_PUB1));
	g_assert_cmpuint(count(f, WR_PATH_SEND_CALL_ME_MAYBE), ==, 0);

	wr_path_free(f->p);
	f->p = wr_path_new(counter_random, f);
	(void) go_direct(f, EP_PUB1, 20 * MS);
	wr_path_note_send_error(f->p, f->now, &other, f->acts);
	assert_best(f, EP_PUB1);
	wr_path_note_send_error(f->p, f->now, &e, f->acts);
	assert_best(f, NULL);
	g_assert_cmpuint(wr_path_find_candidate(f->p, &e)->n_pongs, ==, 0);
	g_assert_cmpint(first_some(f, WR_PATH_CHANGED)->status.state, ==, WR_PATH_DERP);

	wr_path_free(f->p);
	f->p = wr_path_new(counter_random, f);
	(void) go_direct(f, EP_PUB1, 20 * MS);
	wr_path_note_link_change(f->p, f->now, f->acts);
	assert_best(f, NULL);
	g_assert_cmpint(wr_path_find_candidate(f->p, &e)->last_ping, ==, 0);
	(void) send_data(f);
	g_assert_true(data_via_derp(f));
	g_assert_nonnull(ping_to(f, EP_PUB1)); /* the 5 s gap was reset with the statistics */
}

/* a peer never sent to needs no timer; time going back is taken as no time passing */
static void
test_path_clock(Fixture *f, gconstpointer data)
{
	const char *addrs[] = {EP_PUB1, NULL};
	gint64 wake;

	(void) data;
	set_peer(f, addrs, REGION);
	tick(f);
	g_assert_cmpuint(f->acts->n, ==, 0);
	g_assert_cmpint(wr_path_next_wakeup(f->p, f->now), ==, G_MAXINT64);
	(void) send_data(f);
	wake = wr_path_next_wakeup(f->p, f->now);
	g_assert_cmpint(wake, ==, f->now + WR_PATH_HEARTBEAT_INTERVAL_US);
	/* a late caller: the heartbeat and the ping timeout are done in the next call */
	f->now += 10 * G_USEC_PER_SEC;
	(void) send_data(f);
	g_assert_nonnull(ping_to(f, EP_PUB1));
	g_assert_cmpuint(wr_path_get_n_sent_pings(f->p), ==, 1);
	f->now -= 5 * G_USEC_PER_SEC;
	tick(f);
	g_assert_cmpuint(f->acts->n, ==, 0);
	g_assert_cmpuint(wr_path_get_n_sent_pings(f->p), ==, 1);
}

/*
 * §4.11 end to end: two WrPaths wired together through two NATs with endpoint-independent
 * mapping and address-restricted filtering (an inbound datagram passes only from an address
 * the inside host has sent to), UDP 10 ms, DERP 50 ms.  A's first ping is dropped by B's NAT;
 * A's CallMeMaybe makes B ping A, which opens B's NAT and gives B a direct path at once; A gets
 * one at its next round, 5 s after its first ping.
 */
#define SIM_UDP_US  (10 * MS)
#define SIM_DERP_US (50 * MS)

typedef struct {
	WrPath *p;
	WrPathActions *acts;
	WrEndpoint local;
	WrEndpoint mapped;
	WrEndpoint permitted[8]; /* the NAT's filter */
	guint n_permitted;
	gint64 direct_at; /* the first WR_PATH_CHANGED to direct */
	guint changes;
	WrPathState first_change;
	guint derp_data;
} SimNode;

typedef struct {
	gint64 due;
	guint to;
	WrPathActionKind kind;
	uint8_t tx_id[WR_DISCO_TXID_LEN];
	WrEndpoint src; /* as the receiver sees it */
} SimMsg;

static bool
sim_permitted(const SimNode *n, const WrEndpoint *from)
{
	for (guint i = 0; i < n->n_permitted; i++) {
		if (wr_endpoint_equal(&n->permitted[i], from))
			return true;
	}
	return false;
}

static void
sim_permit(SimNode *n, const WrEndpoint *to)
{
	if (!sim_permitted(n, to)) {
		g_assert_cmpuint(n->n_permitted, <, G_N_ELEMENTS(n->permitted));
		n->permitted[n->n_permitted++] = *to;
	}
}

/* carries out node i's actions at now */
static void
sim_actions(SimNode *nodes, guint i, gint64 now, GArray *queue)
{
	SimNode *me = &nodes[i];
	SimNode *peer = &nodes[1 - i];

	for (guint k = 0; k < me->acts->n; k++) {
		const WrPathAction *a = &me->acts->a[k];
		SimMsg m = {0};

		m.to = 1 - i;
		m.kind = a->kind;
		memcpy(m.tx_id, a->tx_id, sizeof(m.tx_id));
		switch (a->kind) {
		case WR_PATH_CHANGED:
			if (me->changes++ == 0)
				me->first_change = a->status.state;
			if (a->status.state == WR_PATH_DIRECT && me->direct_at == 0)
				me->direct_at = now;
			continue;
		case WR_PATH_SEND_CALL_ME_MAYBE:
			m.due = now + SIM_DERP_US;
			break;
		case WR_PATH_SEND_PING:
		case WR_PATH_SEND_PONG:
		case WR_PATH_SEND_DATA:
			if (a->via_derp) {
				m.due = now + SIM_DERP_US;
				m.src = derp_src(a->derp_region);
				me->derp_data += a->kind == WR_PATH_SEND_DATA;
				break;
			}
			/* the two LANs do not reach each other; only mapped addresses route */
			sim_permit(me, &a->addr);
			if (!wr_endpoint_equal(&a->addr, &peer->mapped))
				continue;
			m.due = now + SIM_UDP_US;
			m.src = me->mapped;
			break;
		default:
			continue;
		}
		if (a->kind != WR_PATH_SEND_DATA)
			g_array_append_val(queue, m);
	}
}

static void
sim_deliver(SimNode *nodes, const SimMsg *m, gint64 now)
{
	SimNode *n = &nodes[m->to];
	SimNode *from = &nodes[1 - m->to];

	if (m->kind == WR_PATH_SEND_CALL_ME_MAYBE) {
		WrDiscoCallMeMaybe cmm = {0};

		cmm.n_endpoints = 2;
		cmm.endpoints[0] = from->mapped;
		cmm.endpoints[1] = from->local;
		wr_path_recv_call_me_maybe(n->p, now, &cmm, n->acts);
		return;
	}
	if (!wr_disco_endpoint_is_derp(&m->src) && !sim_permitted(n, &m->src)) {
		n->acts->n = 0; /* dropped by the NAT: nothing to do */
		return;
	}
	if (m->kind == WR_PATH_SEND_PING) {
		WrDiscoPing ping = {0};

		memcpy(ping.tx_id, m->tx_id, sizeof(ping.tx_id));
		g_assert_cmpint(wr_path_recv_ping(n->p, now, &ping, &m->src, n->acts), ==, 0);
	} else {
		WrDiscoPong pong = {0};

		memcpy(pong.tx_id, m->tx_id, sizeof(pong.tx_id));
		pong.src = m->src;
		(void) wr_path_recv_pong(n->p, now, &pong, &m->src, n->acts);
	}
}

static void
test_path_nat_traversal(Fixture *f, gconstpointer data)
{
	const char *local[2] = {"192.168.1.2:41641", "10.0.0.2:41641"};
	const char *mapped[2] = {"203.0.113.10:1000", "198.51.100.20:2000"};
	g_autoptr(GArray) queue = g_array_new(FALSE, TRUE, sizeof(SimMsg));
	SimNode nodes[2];
	gint64 next_data[2] = {T0, T0 + 100 * MS}; /* B answers A's first packet */
	gint64 now = T0;
	gint64 until = T0 + 12 * G_USEC_PER_SEC;
	uint8_t key[WR_DISCO_KEY_LEN];

	(void) data;
	memset(nodes, 0, sizeof(nodes));
	memset(key, 0x42, sizeof(key));
	for (guint i = 0; i < 2; i++) {
		WrEndpoint eps[2];

		nodes[i].p = wr_path_new(counter_random, f);
		nodes[i].acts = g_new0(WrPathActions, 1);
		nodes[i].local = ep(local[i]);
		nodes[i].mapped = ep(mapped[i]);
		/* the network map lists the peer's STUN and LAN endpoints */
		eps[0] = ep(mapped[1 - i]);
		eps[1] = ep(local[1 - i]);
		wr_path_set_peer(nodes[i].p, now, key, eps, 2, i == 0 ? 1 : 2, nodes[i].acts);
	}

	while (true) {
		gint64 next = MIN(next_data[0], next_data[1]);

		for (guint i = 0; i < 2; i++)
			next = MIN(next, wr_path_next_wakeup(nodes[i].p, now));
		for (guint k = 0; k < queue->len; k++)
			next = MIN(next, g_array_index(queue, SimMsg, k).due);
		if (next > until)
			break;
		now = next;
		for (guint i = 0; i < 2; i++) {
			if (wr_path_next_wakeup(nodes[i].p, now) == now) {
				wr_path_tick(nodes[i].p, now, nodes[i].acts);
				sim_actions(nodes, i, now, queue);
			}
			if (next_data[i] == now) {
				(void) wr_path_send_data(nodes[i].p, now, nodes[i].acts);
				sim_actions(nodes, i, now, queue);
				next_data[i] += 200 * MS;
			}
		}
		for (guint k = 0; k < queue->len; k++) {
			SimMsg m = g_array_index(queue, SimMsg, k);

			if (m.due != now)
				continue;
			g_array_remove_index(queue, k--);
			sim_deliver(nodes, &m, now);
			sim_actions(nodes, m.to, now, queue);
		}
	}

	/* B: trusted once A answers the ping B's CallMeMaybe prompted (CallMeMaybe at 50 ms, B's
	 * ping at A at 60 ms, A's pong at B at 70 ms), so B's first packet at 100 ms already goes
	 * direct, and never via DERP */
	g_assert_cmpint(nodes[1].first_change, ==, WR_PATH_DIRECT);
	g_assert_cmpint(nodes[1].direct_at, ==, T0 + 100 * MS);
	g_assert_cmpuint(nodes[1].derp_data, ==, 0);
	/* A: DERP first (B's NAT dropped A's first ping); B's ping reaches A at 60 ms and A
	 * pings back at once (wr_path_recv_ping's hole punching) instead of waiting 5 s for its
	 * next round: that ping is at B at 70 ms, its pong at A at 80 ms */
	g_assert_cmpint(nodes[0].first_change, ==, WR_PATH_DERP);
	g_assert_cmpint(nodes[0].direct_at, ==, T0 + 60 * MS + 2 * SIM_UDP_US);
	g_assert_cmpuint(nodes[0].derp_data, ==, 1); /* the one at 0 */
	for (guint i = 0; i < 2; i++) {
		WrPathStatus st;

		wr_path_get_status(nodes[i].p, now, &st);
		g_assert_cmpint(st.state, ==, WR_PATH_DIRECT);
		g_assert_true(wr_endpoint_equal(&st.best, &nodes[1 - i].mapped));
		wr_path_free(nodes[i].p);
		g_free(nodes[i].acts);
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/warren/path/constants", test_path_constants);
	g_test_add_func("/warren/path/better-addr", test_path_better_addr);
#define ADD(name, fn) \
	g_test_add("/warren/path/" name, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
	ADD("derp-then-direct", test_path_derp_then_direct);
	ADD("two-candidates", test_path_two_candidates);
	ADD("ipv6-preferred", test_path_ipv6_preferred);
	ADD("call-me-maybe", test_path_call_me_maybe);
	ADD("heartbeat", test_path_heartbeat);
	ADD("upgrade-rounds", test_path_upgrade_rounds);
	ADD("fallback", test_path_fallback);
	ADD("probe", test_path_probe);
	ADD("ping-back", test_path_ping_back);
	ADD("new-endpoint", test_path_new_endpoint);
	ADD("netmap-change", test_path_netmap_change);
	ADD("bad-pongs", test_path_bad_pongs);
	ADD("recv-ping", test_path_recv_ping);
	ADD("limits", test_path_limits);
	ADD("cli-ping", test_path_cli_ping);
	ADD("errors", test_path_errors);
	ADD("clock", test_path_clock);
	ADD("nat-traversal", test_path_nat_traversal);
#undef ADD
	return g_test_run();
}
