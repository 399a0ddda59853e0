/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer target for the per-peer path state machine (wr-path): the input is a script of
 * events (network maps, data, pings, pongs, CallMeMaybes, timers, clock jumps, also backwards)
 * as a hostile peer and a careless caller might produce them.  After every event it checks the
 * contract: no more actions than WR_PATH_MAX_ACTIONS, at most WR_PATH_MAX_CANDIDATES distinct
 * endpoints and WR_PATH_MAX_SENT_PINGS pings, the best address always one of the candidates,
 * "direct" only with a trusted best address, data only where the state says, and the next
 * wakeup always after now.
 *
 * Input: a sequence of records, each an opcode byte and its argument bytes (see run_op);
 * missing bytes read as zero.
 */

#define G_LOG_DOMAIN "WrFuzzPath"

#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <string.h>

#include "wr-path.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* addresses a script can name by index: public, private, IPv6, link-local, loopback, mapped,
 * and some that are never endpoints (DERP magic, unspecified, port 0) */
static const char *const pool_text[] = {
	"203.0.113.1:41641",   "203.0.113.2:41641", "198.51.100.7:41641",
	"192.168.1.5:41641",   "10.0.0.9:1",	    "172.16.3.4:2",
	"[2001:db8::1]:41641", "[2001:db8::2]:7",   "[fd00::5]:41641",
	"[fe80::1]:41641",     "127.0.0.1:41641",   "[::ffff:203.0.113.1]:41641",
	"127.3.3.40:3",	       "0.0.0.0:41641",	    "203.0.113.3:1" /* port set to 0 below */,
	"[::1]:41641",
};
#define POOL_N	   16
#define POOL_PORT0 14

#define RING 32
/* bounded work per input */
#define MAX_OPS 1024

typedef struct {
	const uint8_t *p;
	size_t left;
} Cursor;

typedef struct {
	uint8_t tx_id[WR_DISCO_TXID_LEN];
	WrEndpoint to; /* AF_UNSPEC: via DERP */
	guint64 region;
} Emitted;

typedef struct {
	WrPath *path;
	WrPathActions *acts;
	gint64 now;	/* what the script passes, may go back */
	gint64 max_now; /* what the machine has seen */
	uint64_t rng;	/* the TxIDs: a counter mixed with the input */
	Emitted ring[RING];
	guint ring_n;
	guint ring_head;
	WrEndpoint pool[POOL_N];
	bool check_pairs; /* the quadratic check, on some records only, for speed */
} State;

static uint8_t
byte(Cursor *c)
{
	if (c->left == 0)
		return 0;
	c->left--;
	return *c->p++;
}

static guint
u16(Cursor *c)
{
	guint hi = byte(c);

	return (hi << 8) | byte(c);
}

static void
fuzz_random(uint8_t *buf, size_t len, gpointer user_data)
{
	State *s = user_data;

	for (size_t i = 0; i < len; i++) {
		s->rng = s->rng * 6364136223846793005ull + 1442695040888963407ull;
		buf[i] = (uint8_t) (s->rng >> 56);
	}
}

/* an endpoint by byte: the pool, or a generated public one to fill the tables */
static WrEndpoint
endpoint(State *s, uint8_t b, guint salt)
{
	WrEndpoint ep;

	if (b < 0xc0)
		return s->pool[b % POOL_N];
	memset(&ep, 0, sizeof(ep));
	ep.in4.sin_family = AF_INET;
	ep.in4.sin_addr.s_addr = htonl(0xc6336400u | (b & 0x3f)); /* 198.51.100.x */
	ep.in4.sin_port = htons((uint16_t) (1024 + salt));
	return ep;
}

static void
remember(State *s)
{
	for (guint i = 0; i < s->acts->n; i++) {
		const WrPathAction *a = &s->acts->a[i];
		Emitted *e;

		if (a->kind != WR_PATH_SEND_PING)
			continue;
		e = &s->ring[s->ring_head];
		s->ring_head = (s->ring_head + 1) % RING;
		s->ring_n = MIN(s->ring_n + 1, RING);
		memcpy(e->tx_id, a->tx_id, sizeof(e->tx_id));
		memset(&e->to, 0, sizeof(e->to));
		if (!a->via_derp)
			e->to = a->addr;
		e->region = a->derp_region;
	}
}

static void
check(State *s)
{
	const WrPath *p = s->path;
	WrPathStatus st;
	guint n_data_udp = 0;
	guint n_data_derp = 0;
	guint n = wr_path_get_n_candidates(p);

	g_assert_cmpuint(s->acts->n, <=, WR_PATH_MAX_ACTIONS);
	g_assert_cmpuint(n, <=, WR_PATH_MAX_CANDIDATES);
	g_assert_cmpuint(wr_path_get_n_sent_pings(p), <=, WR_PATH_MAX_SENT_PINGS);
	g_assert_cmpint(wr_path_next_wakeup(p, s->max_now), >, s->max_now);
	g_assert_cmpint(wr_path_next_wakeup(p, s->now), >, s->max_now);

	for (guint i = 0; i < n; i++) {
		const WrPathCandidate *c = wr_path_get_candidate(p, i);

		g_assert_true(c->addr.sa.sa_family == AF_INET || c->addr.sa.sa_family == AF_INET6);
		g_assert_false(wr_disco_endpoint_is_derp(&c->addr));
		g_assert_cmpuint(c->n_pongs, <=, WR_PATH_PONG_HISTORY);
		g_assert_true(c->from_netmap || c->call_me_maybe_at != 0 || c->last_got_ping != 0);
		for (guint j = i + 1; j < n && s->check_pairs; j++)
			g_assert_false(
				wr_endpoint_equal(&c->addr, &wr_path_get_candidate(p, j)->addr));
	}
	g_assert_null(wr_path_get_candidate(p, n));

	wr_path_get_status(p, s->max_now, &st);
	if (st.best.sa.sa_family != AF_UNSPEC)
		g_assert_nonnull(wr_path_find_candidate(p, &st.best));
	if (st.state == WR_PATH_DIRECT) {
		g_assert_cmpint(st.best.sa.sa_family, !=, AF_UNSPEC);
		g_assert_cmpint(st.trust_until, >=, s->max_now);
	}

	for (guint i = 0; i < s->acts->n; i++) {
		const WrPathAction *a = &s->acts->a[i];

		switch (a->kind) {
		case WR_PATH_SEND_DATA:
			if (a->via_derp) {
				n_data_derp++;
				g_assert_cmpuint(a->derp_region, ==, st.derp_region);
			} else {
				n_data_udp++;
				g_assert_true(wr_endpoint_equal(&a->addr, &st.best));
			}
			break;
		case WR_PATH_SEND_PING:
			if (a->via_derp)
				g_assert_cmpuint(a->derp_region, !=, 0);
			else
				g_assert_true(a->addr.sa.sa_family == AF_INET ||
					      a->addr.sa.sa_family == AF_INET6);
			break;
		case WR_PATH_SEND_CALL_ME_MAYBE:
			g_assert_true(a->via_derp);
			g_assert_cmpuint(a->derp_region, !=, 0);
			break;
		case WR_PATH_SEND_PONG:
		case WR_PATH_CHANGED:
		case WR_PATH_PING_RESULT:
			break;
		default:
			g_assert_not_reached();
		}
	}
	g_assert_cmpuint(n_data_udp, <=, 1);
	g_assert_cmpuint(n_data_derp, <=, 1);
	if (st.state == WR_PATH_DIRECT)
		g_assert_cmpuint(n_data_derp, ==, 0);
}

static void
run_op(State *s, Cursor *c)
{
	uint8_t op = byte(c);
	int r;

	switch (op % 12) {
	case 0: /* the clock: u16 ms forward */
		s->now += (gint64) u16(c) * G_TIME_SPAN_MILLISECOND;
		break;
	case 1: /* the clock: u8 s forward, or back */
	{
		uint8_t b = byte(c);

		if (b & 0x80)
			s->now -= (gint64) (b & 0x7f) * G_USEC_PER_SEC;
		else
			s->now += (gint64) b * G_USEC_PER_SEC;
		break;
	}
	case 2: /* network map: key, region, n, endpoints */
	{
		uint8_t key[WR_DISCO_KEY_LEN];
		WrEndpoint eps[160];
		guint n;
		uint8_t kb = byte(c);
		guint64 region = byte(c) % 4;
		uint8_t nb = byte(c);

		memset(key, 'a' + kb % 3, sizeof(key));
		/* a large count fills the table with generated addresses */
		n = nb < 0xf0 ? nb % 8 : 150;
		for (guint i = 0; i < n; i++)
			eps[i] = nb < 0xf0 ? endpoint(s, byte(c), i) : endpoint(s, 0xc0 | i, i);
		wr_path_set_peer(s->path, s->now, key, eps, n, region, s->acts);
		break;
	}
	case 3:
	case 4:
		r = wr_path_send_data(s->path, s->now, s->acts);
		g_assert_true(r == 0 || r == -EHOSTUNREACH);
		break;
	case 5: /* a ping: source, TxID byte */
	{
		WrDiscoPing ping;
		uint8_t sb = byte(c);
		WrEndpoint src;

		memset(&ping, 0, sizeof(ping));
		memset(ping.tx_id, byte(c), sizeof(ping.tx_id));
		if (sb >= 0xf0)
			wr_path_derp_source(sb & 0x0f, &src);
		else
			src = endpoint(s, sb, byte(c));
		r = wr_path_recv_ping(s->path, s->now, &ping, &src, s->acts);
		g_assert_true(r == 0 || r == -EALREADY || r == -EINVAL);
		break;
	}
	case 6: /* a pong: which emitted ping (or a made-up one), from where */
	{
		WrDiscoPong pong;
		uint8_t which = byte(c);
		uint8_t how = byte(c);
		WrEndpoint src;

		memset(&pong, 0, sizeof(pong));
		src = endpoint(s, how, 0);
		if (s->ring_n > 0 && which < 0xf0) {
			const Emitted *e = &s->ring[which % s->ring_n];

			memcpy(pong.tx_id, e->tx_id, sizeof(pong.tx_id));
			if (how & 1) {
				if (e->to.sa.sa_family == AF_UNSPEC)
					wr_path_derp_source(e->region, &src);
				else
					src = e->to;
			}
		} else {
			memset(pong.tx_id, which, sizeof(pong.tx_id));
		}
		pong.src = s->pool[how % POOL_N];
		r = wr_path_recv_pong(s->path, s->now, &pong, &src, s->acts);
		g_assert_true(r == 0 || r == -ENOENT || r == -EPROTO);
		break;
	}
	case 7: /* a CallMeMaybe: n (up to 64), endpoints */
	{
		WrDiscoCallMeMaybe cmm;
		uint8_t nb = byte(c);

		memset(&cmm, 0, sizeof(cmm));
		cmm.n_endpoints = nb % (WR_DISCO_MAX_ENDPOINTS + 1);
		for (size_t i = 0; i < cmm.n_endpoints; i++)
			cmm.endpoints[i] = (nb & 0x80) != 0
						   ? endpoint(s, 0xc0 | (uint8_t) i, nb + i)
						   : endpoint(s, byte(c), (guint) i);
		wr_path_recv_call_me_maybe(s->path, s->now, &cmm, s->acts);
		break;
	}
	case 8:
		wr_path_tick(s->path, s->now, s->acts);
		break;
	case 9: /* the timer as the daemon arms it */
	{
		gint64 wake = wr_path_next_wakeup(s->path, s->now);

		if (wake != G_MAXINT64)
			s->now = MAX(s->now, wake);
		wr_path_tick(s->path, s->now, s->acts);
		break;
	}
	case 10:
		r = wr_path_cli_ping(s->path, s->now, s->acts);
		g_assert_true(r == 0 || r == -EHOSTUNREACH);
		break;
	case 11: {
		uint8_t b = byte(c);

		if (b & 1) {
			wr_path_note_link_change(s->path, s->now, s->acts);
		} else {
			WrEndpoint ep = endpoint(s, b >> 1, 0);

			wr_path_note_send_error(s->path, s->now, &ep, s->acts);
		}
		break;
	}
	default:
		g_assert_not_reached();
	}
	/* the clock records do not call the machine, which knows only the nows it was given */
	if (op % 12 > 1)
		s->max_now = MAX(s->max_now, MAX(s->now, 1));
	remember(s);
	check(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	State *s = g_new0(State, 1);
	Cursor c = {data, size};
	guint ops = 0;

	for (guint i = 0; i < POOL_N; i++)
		g_assert_true(wr_endpoint_parse(&s->pool[i], pool_text[i]));
	s->pool[POOL_PORT0].in4.sin_port = 0;
	s->acts = g_new0(WrPathActions, 1);
	s->path = wr_path_new(fuzz_random, s);
	s->now = 1000 * G_USEC_PER_SEC;
	s->max_now = 1;
	s->rng = size;

	while (c.left > 0 && ops < MAX_OPS) {
		s->check_pairs = ops % 8 == 0 || c.left < 8;
		run_op(s, &c);
		ops++;
	}

	wr_path_free(s->path);
	g_free(s->acts);
	g_free(s);
	return 0;
}
