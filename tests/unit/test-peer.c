/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The peer's timer state machine, driven by injected time: what each event hook does to the
 * five deadlines, and which timers wr_peer_timers_expire() hands back when.
 */

#define G_LOG_DOMAIN "WrPeerTest"

#include "config.h"

#include <glib.h>
#include <string.h>

#include "wr-crypto.h"
#include "wr-peer.h"

#define SEC ((int64_t) WR_USEC_PER_SEC)
#define T0  ((int64_t) 1000 * SEC)

static WrPeer *
peer_new(void)
{
	WrPeer *peer = g_new0(WrPeer, 1);

	g_queue_init(&peer->staged);
	return peer;
}

static void
assert_idle(const WrPeer *peer)
{
	g_assert_cmpint(peer->timers.retransmit_handshake, ==, 0);
	g_assert_cmpint(peer->timers.send_keepalive, ==, 0);
	g_assert_cmpint(peer->timers.new_handshake, ==, 0);
	g_assert_cmpint(peer->timers.zero_key_material, ==, 0);
	g_assert_cmpint(peer->timers.persistent_keepalive, ==, 0);
	g_assert_cmpint(wr_peer_timers_next(peer), ==, INT64_MAX);
}

static void
test_timings(void)
{
	static const struct {
		unsigned int scale;
		int64_t div;
	} rows[] = {{1, 1}, {0, 1}, {10, 10}, {1000, 1000}};

	for (guint i = 0; i < G_N_ELEMENTS(rows); i++) {
		WrTimings t;
		int64_t d = rows[i].div;

		wr_timings_init(&t, rows[i].scale);
		g_assert_cmpint(t.rekey_timeout, ==, 5 * SEC / d);
		g_assert_cmpint(t.keepalive_timeout, ==, 10 * SEC / d);
		g_assert_cmpint(t.rekey_after_time, ==, 120 * SEC / d);
		g_assert_cmpint(t.reject_after_time, ==, 180 * SEC / d);
		g_assert_cmpint(t.rekey_attempt_time, ==, 90 * SEC / d);
		g_assert_cmpint(t.jitter_max, ==, SEC / 3 / d);
		/* the number of attempts is a count, not a duration */
		g_assert_cmpuint(t.max_timer_handshakes, ==, 18);
	}
}

static void
test_data_sent(void)
{
	g_autofree WrPeer *peer = peer_new();
	WrTimings t;

	wr_timings_init(&t, 1);
	wr_peer_timers_data_sent(peer, &t, T0, 123);
	g_assert_cmpint(peer->timers.new_handshake, ==, T0 + 15 * SEC + 123);
	/* already pending: more data does not push it back */
	wr_peer_timers_data_sent(peer, &t, T0 + 3 * SEC, 0);
	g_assert_cmpint(peer->timers.new_handshake, ==, T0 + 15 * SEC + 123);
	/* anything authenticated heard back cancels it, and the next data arms it afresh */
	wr_peer_timers_any_authenticated_packet_received(peer);
	g_assert_cmpint(peer->timers.new_handshake, ==, 0);
	wr_peer_timers_data_sent(peer, &t, T0 + 4 * SEC, 7);
	g_assert_cmpint(peer->timers.new_handshake, ==, T0 + 19 * SEC + 7);
	/* nothing else moved */
	g_assert_cmpint(peer->timers.send_keepalive, ==, 0);
	g_assert_cmpint(peer->timers.retransmit_handshake, ==, 0);
}

static void
test_data_received(void)
{
	g_autofree WrPeer *peer = peer_new();
	WrTimings t;

	wr_timings_init(&t, 1);
	wr_peer_timers_data_received(peer, &t, T0);
	g_assert_cmpint(peer->timers.send_keepalive, ==, T0 + 10 * SEC);
	g_assert_false(peer->timers.need_another_keepalive);
	/* pending: remember that another keepalive is owed instead of moving it */
	wr_peer_timers_data_received(peer, &t, T0 + SEC);
	g_assert_cmpint(peer->timers.send_keepalive, ==, T0 + 10 * SEC);
	g_assert_true(peer->timers.need_another_keepalive);
	/* sending anything authenticated makes the keepalive unnecessary */
	wr_peer_timers_any_authenticated_packet_sent(peer);
	g_assert_cmpint(peer->timers.send_keepalive, ==, 0);
	wr_peer_timers_data_received(peer, &t, T0 + 2 * SEC);
	g_assert_cmpint(peer->timers.send_keepalive, ==, T0 + 12 * SEC);
	g_assert_cmpint(peer->timers.new_handshake, ==, 0);
}

/* the "sent" and "received" hooks clear one timer each and leave the rest alone */
static void
test_sent_received_clear(void)
{
	g_autofree WrPeer *peer = peer_new();
	WrTimings t;

	wr_timings_init(&t, 1);
	peer->persistent_keepalive_interval = 25;
	wr_peer_timers_handshake_initiated(peer, &t, T0, 0);
	wr_peer_timers_data_received(peer, &t, T0);
	wr_peer_timers_data_sent(peer, &t, T0, 0);
	wr_peer_timers_session_derived(peer, &t, T0);
	wr_peer_timers_any_authenticated_packet_traversal(peer, T0);

	wr_peer_timers_any_authenticated_packet_sent(peer);
	g_assert_cmpint(peer->timers.send_keepalive, ==, 0);
	g_assert_cmpint(peer->timers.new_handshake, ==, T0 + 15 * SEC);
	g_assert_cmpint(peer->timers.retransmit_handshake, ==, T0 + 5 * SEC);
	g_assert_cmpint(peer->timers.zero_key_material, ==, T0 + 540 * SEC);
	g_assert_cmpint(peer->timers.persistent_keepalive, ==, T0 + 25 * SEC);

	wr_peer_timers_data_received(peer, &t, T0);
	wr_peer_timers_any_authenticated_packet_received(peer);
	g_assert_cmpint(peer->timers.new_handshake, ==, 0);
	g_assert_cmpint(peer->timers.send_keepalive, ==, T0 + 10 * SEC);
	g_assert_cmpint(peer->timers.retransmit_handshake, ==, T0 + 5 * SEC);
	g_assert_cmpint(peer->timers.zero_key_material, ==, T0 + 540 * SEC);
	g_assert_cmpint(peer->timers.persistent_keepalive, ==, T0 + 25 * SEC);
}

static void
test_handshake_initiated(void)
{
	g_autofree WrPeer *peer = peer_new();
	WrTimings t;

	wr_timings_init(&t, 1);
	wr_peer_timers_handshake_initiated(peer, &t, T0, 333);
	g_assert_cmpint(peer->timers.retransmit_handshake, ==, T0 + 5 * SEC + 333);
	/* a retry re-arms it from its own time */
	wr_peer_timers_handshake_initiated(peer, &t, T0 + 6 * SEC, 0);
	g_assert_cmpint(peer->timers.retransmit_handshake, ==, T0 + 11 * SEC);

	peer->timers.handshake_attempts = 4;
	peer->timers.sent_lastminute_handshake = true;
	wr_peer_timers_handshake_complete(peer, 1767225600 * SEC + 5);
	g_assert_cmpint(peer->timers.retransmit_handshake, ==, 0);
	g_assert_cmpuint(peer->timers.handshake_attempts, ==, 0);
	g_assert_false(peer->timers.sent_lastminute_handshake);
	g_assert_cmpint(peer->walltime_last_handshake, ==, 1767225600 * SEC + 5);
	assert_idle(peer);
}

static void
test_session_derived(void)
{
	g_autofree WrPeer *peer = peer_new();
	WrTimings t;

	wr_timings_init(&t, 1);
	wr_peer_timers_session_derived(peer, &t, T0);
	g_assert_cmpint(peer->timers.zero_key_material, ==, T0 + 3 * REJECT_AFTER_TIME * SEC);
	/* every new session pushes it back */
	wr_peer_timers_session_derived(peer, &t, T0 + 100 * SEC);
	g_assert_cmpint(peer->timers.zero_key_material, ==,
			T0 + 100 * SEC + 3 * REJECT_AFTER_TIME * SEC);
}

static void
test_persistent_keepalive(void)
{
	g_autofree WrPeer *peer = peer_new();
	WrTimings t;

	wr_timings_init(&t, 1);
	/* off: traversal does nothing */
	wr_peer_timers_any_authenticated_packet_traversal(peer, T0);
	assert_idle(peer);

	peer->persistent_keepalive_interval = 25;
	wr_peer_timers_any_authenticated_packet_traversal(peer, T0);
	g_assert_cmpint(peer->timers.persistent_keepalive, ==, T0 + 25 * SEC);
	/* each packet either way moves it */
	wr_peer_timers_any_authenticated_packet_traversal(peer, T0 + 7 * SEC);
	g_assert_cmpint(peer->timers.persistent_keepalive, ==, T0 + 32 * SEC);
	g_assert_cmpuint(wr_peer_timers_expire(peer, T0 + 32 * SEC - 1), ==, 0);
	g_assert_cmpuint(wr_peer_timers_expire(peer, T0 + 32 * SEC), ==,
			 WR_TIMER_PERSISTENT_KEEPALIVE);
	assert_idle(peer);

	/* the longest interval does not overflow */
	peer->persistent_keepalive_interval = G_MAXUINT16;
	wr_peer_timers_any_authenticated_packet_traversal(peer, T0);
	g_assert_cmpint(peer->timers.persistent_keepalive, ==, T0 + (int64_t) G_MAXUINT16 * SEC);
}

typedef enum {
	EV_DATA_SENT,
	EV_DATA_RECEIVED,
	EV_SENT,
	EV_RECEIVED,
	EV_INITIATED,
	EV_COMPLETE,
	EV_DERIVED,
	EV_TRAVERSAL,
	EV_EXPIRE,
} Event;

typedef struct {
	int64_t at; /* seconds after T0, in ms for precision */
	Event ev;
	unsigned int expect; /* for EV_EXPIRE: the mask returned */
	int64_t next;	     /* ms after T0 of wr_peer_timers_next afterwards; -1: none */
} Step;

#define MS(x) ((int64_t) (x) *WR_USEC_PER_MSEC)

#define RETRANSMIT WR_TIMER_RETRANSMIT_HANDSHAKE
#define KEEPALIVE  WR_TIMER_SEND_KEEPALIVE
#define NEW_HS	   WR_TIMER_NEW_HANDSHAKE
#define ZERO	   WR_TIMER_ZERO_KEY_MATERIAL
#define PERSIST	   WR_TIMER_PERSISTENT_KEEPALIVE

/*
 * A life of a peer with persistent keepalive 25 s and no jitter: an initiation that is
 * retransmitted once, a session, data that goes unanswered, keepalives, and the end.
 */
static const Step script[] = {
	/*  0 */ {0, EV_INITIATED, 0, 5000},
	/*  1 */ {0, EV_TRAVERSAL, 0, 5000},
	/*  2 */ {4999, EV_EXPIRE, 0, 5000},
	/*  3 */ {5000, EV_EXPIRE, RETRANSMIT, 25000},
	/*  4 */ {5000, EV_EXPIRE, 0, 25000}, /* cleared: not twice */
	/*  5 */ {5000, EV_INITIATED, 0, 10000},
	/*  6 */ {5000, EV_TRAVERSAL, 0, 10000},
	/*  7 */ {6000, EV_COMPLETE, 0, 30000},
	/*  8 */ {6000, EV_DERIVED, 0, 30000},
	/*  9 */ {6000, EV_RECEIVED, 0, 30000},
	/* 10 */ {7000, EV_DATA_SENT, 0, 22000},
	/* 11 */ {7000, EV_SENT, 0, 22000},
	/* 12 */ {7000, EV_TRAVERSAL, 0, 22000},
	/* 13 */ {8000, EV_DATA_SENT, 0, 22000},
	/* 14 */ {21999, EV_EXPIRE, 0, 22000},
	/* 15 */ {22000, EV_EXPIRE, NEW_HS, 32000},
	/* 16 */ {23000, EV_DATA_RECEIVED, 0, 32000},
	/* 17 */ {23000, EV_RECEIVED, 0, 32000},
	/* 18 */ {23000, EV_TRAVERSAL, 0, 33000},
	/* 19 */ {24000, EV_DATA_RECEIVED, 0, 33000},
	/* 20 */ {33000, EV_EXPIRE, KEEPALIVE, 48000},
	/* 21 */ {40000, EV_DATA_RECEIVED, 0, 48000},
	/* 22 */ {40000, EV_TRAVERSAL, 0, 50000},
	/* 23 */ {41000, EV_SENT, 0, 65000},
	/* 24 */ {60000, EV_EXPIRE, 0, 65000},
	/* 25 */ {65000, EV_EXPIRE, PERSIST, 546000},
	/* 26 */ {546000, EV_EXPIRE, ZERO, -1},
	/* 27 */ {600000, EV_DATA_SENT, 0, 615000},
	/* 28 */ {600000, EV_DATA_RECEIVED, 0, 610000},
	/* 29 */ {600000, EV_INITIATED, 0, 605000},
	/* 30 */ {600000, EV_DERIVED, 0, 605000},
	/* 31 */ {600000, EV_TRAVERSAL, 0, 605000},
	/* 32 */ {2000000, EV_EXPIRE, RETRANSMIT | KEEPALIVE | NEW_HS | ZERO | PERSIST, -1},
};

static void
test_script(void)
{
	g_autofree WrPeer *peer = peer_new();
	WrTimings t;

	wr_timings_init(&t, 1);
	peer->persistent_keepalive_interval = 25;
	for (guint i = 0; i < G_N_ELEMENTS(script); i++) {
		const Step *s = &script[i];
		int64_t now = T0 + MS(s->at);
		unsigned int got = 0;
		int64_t next;

		switch (s->ev) {
		case EV_DATA_SENT:
			wr_peer_timers_data_sent(peer, &t, now, 0);
			break;
		case EV_DATA_RECEIVED:
			wr_peer_timers_data_received(peer, &t, now);
			break;
		case EV_SENT:
			wr_peer_timers_any_authenticated_packet_sent(peer);
			break;
		case EV_RECEIVED:
			wr_peer_timers_any_authenticated_packet_received(peer);
			break;
		case EV_INITIATED:
			wr_peer_timers_handshake_initiated(peer, &t, now, 0);
			break;
		case EV_COMPLETE:
			wr_peer_timers_handshake_complete(peer, now);
			break;
		case EV_DERIVED:
			wr_peer_timers_session_derived(peer, &t, now);
			break;
		case EV_TRAVERSAL:
			wr_peer_timers_any_authenticated_packet_traversal(peer, now);
			break;
		case EV_EXPIRE:
			got = wr_peer_timers_expire(peer, now);
			break;
		}
		if (got != s->expect)
			g_error("step %u: expired 0x%x, expected 0x%x", i, got, s->expect);
		next = wr_peer_timers_next(peer);
		if (next != (s->next < 0 ? INT64_MAX : T0 + MS(s->next)))
			g_error("step %u: next %" G_GINT64_FORMAT ", expected %" G_GINT64_FORMAT
				" ms after T0",
				i,
				(gint64) (next == INT64_MAX ? -1 : (next - T0) / WR_USEC_PER_MSEC),
				(gint64) s->next);
	}
	assert_idle(peer);
}

/* every timer, each at its own deadline, comes back exactly once */
static void
test_expire_each(void)
{
	g_autofree WrPeer *peer = peer_new();
	const unsigned int bits[] = {RETRANSMIT, KEEPALIVE, NEW_HS, ZERO, PERSIST};
	int64_t *deadlines[] = {
		&peer->timers.retransmit_handshake, &peer->timers.send_keepalive,
		&peer->timers.new_handshake,	    &peer->timers.zero_key_material,
		&peer->timers.persistent_keepalive,
	};

	/* deadlines in the reverse order of the bits, one second apart */
	for (guint i = 0; i < G_N_ELEMENTS(deadlines); i++)
		*deadlines[i] = T0 + (int64_t) (G_N_ELEMENTS(deadlines) - i) * SEC;
	for (guint k = G_N_ELEMENTS(deadlines); k > 0; k--) {
		int64_t at = T0 + (int64_t) (G_N_ELEMENTS(deadlines) - (k - 1)) * SEC;

		g_assert_cmpint(wr_peer_timers_next(peer), ==, at);
		g_assert_cmpuint(wr_peer_timers_expire(peer, at - 1), ==, 0);
		g_assert_cmpuint(wr_peer_timers_expire(peer, at), ==, bits[k - 1]);
		g_assert_cmpint(*deadlines[k - 1], ==, 0);
	}
	assert_idle(peer);
	g_assert_cmpuint(wr_peer_timers_expire(peer, INT64_MAX), ==, 0);
}

/* a deadline that computes to 0 ("not pending") is still pending */
static void
test_zero_deadline(void)
{
	g_autofree WrPeer *peer = peer_new();
	WrTimings t;

	wr_timings_init(&t, 1);
	wr_peer_timers_handshake_initiated(peer, &t, -t.rekey_timeout, 0);
	g_assert_cmpint(peer->timers.retransmit_handshake, !=, 0);
	g_assert_cmpuint(wr_peer_timers_expire(peer, 1), ==, RETRANSMIT);
	wr_peer_timers_data_received(peer, &t, -t.keepalive_timeout);
	g_assert_cmpint(wr_peer_timers_next(peer), <=, 1);
	g_assert_cmpuint(wr_peer_timers_expire(peer, 1), ==, KEEPALIVE);
}

static void
test_stop(void)
{
	g_autofree WrPeer *peer = peer_new();
	WrTimings t;

	wr_timings_init(&t, 1);
	peer->persistent_keepalive_interval = 1;
	wr_peer_timers_handshake_initiated(peer, &t, T0, 0);
	wr_peer_timers_data_received(peer, &t, T0);
	wr_peer_timers_data_sent(peer, &t, T0, 0);
	wr_peer_timers_session_derived(peer, &t, T0);
	wr_peer_timers_any_authenticated_packet_traversal(peer, T0);
	g_assert_cmpint(wr_peer_timers_next(peer), ==, T0 + SEC);
	wr_peer_timers_stop(peer);
	assert_idle(peer);
	g_assert_cmpuint(wr_peer_timers_expire(peer, INT64_MAX), ==, 0);
}

/* with scaled timings every hook uses the scaled durations */
static void
test_scaled(void)
{
	g_autofree WrPeer *peer = peer_new();
	WrTimings t;

	wr_timings_init(&t, 1000);
	wr_peer_timers_handshake_initiated(peer, &t, T0, 0);
	g_assert_cmpint(peer->timers.retransmit_handshake, ==, T0 + MS(5));
	wr_peer_timers_data_sent(peer, &t, T0, 0);
	g_assert_cmpint(peer->timers.new_handshake, ==, T0 + MS(15));
	wr_peer_timers_data_received(peer, &t, T0);
	g_assert_cmpint(peer->timers.send_keepalive, ==, T0 + MS(10));
	wr_peer_timers_session_derived(peer, &t, T0);
	g_assert_cmpint(peer->timers.zero_key_material, ==, T0 + MS(540));
	/* the persistent keepalive is configured in seconds and is not scaled */
	peer->persistent_keepalive_interval = 1;
	wr_peer_timers_any_authenticated_packet_traversal(peer, T0);
	g_assert_cmpint(peer->timers.persistent_keepalive, ==, T0 + SEC);
	g_assert_cmpuint(wr_peer_timers_expire(peer, T0 + MS(10)), ==, RETRANSMIT | KEEPALIVE);
	g_assert_cmpint(wr_peer_timers_next(peer), ==, T0 + MS(15));
}

static void
test_datagram(void)
{
	WrDatagram *d = wr_datagram_new(100);

	g_assert_cmpuint(d->capacity, ==, 100);
	g_assert_cmpuint(d->len, ==, 0);
	g_assert_cmpuint(d->offset, ==, 0);
	g_assert_cmpint(d->endpoint.sa.sa_family, ==, AF_UNSPEC);
	memset(d->buf, 0xab, d->capacity);
	wr_datagram_free(d);
	wr_datagram_free(NULL);
	d = wr_datagram_new(0);
	wr_datagram_free(d);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_assert_true(wr_crypto_init());

	g_test_add_func("/warren/peer/timings", test_timings);
	g_test_add_func("/warren/peer/data-sent", test_data_sent);
	g_test_add_func("/warren/peer/data-received", test_data_received);
	g_test_add_func("/warren/peer/sent-received-clear", test_sent_received_clear);
	g_test_add_func("/warren/peer/handshake-initiated", test_handshake_initiated);
	g_test_add_func("/warren/peer/session-derived", test_session_derived);
	g_test_add_func("/warren/peer/persistent-keepalive", test_persistent_keepalive);
	g_test_add_func("/warren/peer/script", test_script);
	g_test_add_func("/warren/peer/expire-each", test_expire_each);
	g_test_add_func("/warren/peer/zero-deadline", test_zero_deadline);
	g_test_add_func("/warren/peer/stop", test_stop);
	g_test_add_func("/warren/peer/scaled", test_scaled);
	g_test_add_func("/warren/peer/datagram", test_datagram);
	return g_test_run();
}
