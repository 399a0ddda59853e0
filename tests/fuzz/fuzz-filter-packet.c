/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer target for the packet filter's decisions (wr-filter): a sequence of arbitrary
 * packets, each sent (tracked) or received (decided), against two fixed rule sets swapped in
 * and out, with a tiny flow table so that eviction and expiry run.  Besides the sanitizers it
 * checks the contracts: a packet is malformed exactly when the parser refuses it, which leaves
 * its output untouched; the verdict agrees with the reason; only later fragments are judged by
 * the fragment table; allow-all happens only under the allow-all set; a packet is tracked
 * exactly when it is a flow of ours, and then the reply built from it passes at once; the
 * counters add up and the table stays within its bound.
 *
 * Input: records of [flags][length, 2 bytes big-endian][packet]; flags bit 0: outbound, bits
 * 1-3: seconds to advance by, times 20; bit 4: swap the rule set first; bit 5: expire first.
 */

#define G_LOG_DOMAIN "WrFuzzFilterPacket"

#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <gio/gio.h>

#include "wr-filter.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_RECORDS 64
#define MAX_FLOWS   8
#define POISON	    0xA5

static const char mixed[] =
	"[{\"src\":[\"100.64.0.2/32\",\"fd7a::2/128\"],\"dst\":[{\"net\":\"100.64.0.0/24\","
	"\"ports\":[80,90]},{\"net\":\"fd7a::/"
	"64\",\"ports\":[80,90]}],\"proto\":[\"tcp\",\"udp\"]},"
	"{\"src\":[\"100.64.0.0/10\"],\"dst\":[{\"net\":\"100.64.0.7/32\",\"ports\":[53,53]}]},"
	"{\"src\":[\"100.64.0.4/32\"],\"dst\":[{\"net\":\"100.64.0.7/32\",\"ports\":[0,65535]}],"
	"\"proto\":[\"gre\",\"sctp\",\"esp\"]}]";
static const char allow_all[] =
	"[{\"src\":[\"0.0.0.0/0\",\"::/0\"],\"dst\":[{\"net\":\"0.0.0.0/0\",\"ports\":[0,65535]},"
	"{\"net\":\"::/"
	"0\",\"ports\":[0,65535]}],\"proto\":[\"tcp\",\"udp\",\"icmp\",\"ipv6-icmp\"]}]";

static WrFilterRuleset *
load(const char *text)
{
	g_autoptr(GError) error = NULL;
	WrFilterRuleset *rules = wr_filter_ruleset_new_from_data(text, strlen(text), &error);

	g_assert_no_error(error);
	return rules;
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t) (v >> 8);
	p[1] = (uint8_t) v;
}

/* the packet a peer would answer p with */
static size_t
build_reply(uint8_t *out, const WrFilterPacket *p)
{
	size_t hlen = p->family == AF_INET ? 20 : 40;
	uint8_t *l4 = out + hlen;
	size_t l4_len = 0;

	memset(out, 0, 128);
	switch (p->l4) {
	case WR_FILTER_L4_PORTS:
		put16(l4, p->dport);
		put16(l4 + 2, p->sport);
		if (p->proto == IPPROTO_TCP) {
			l4[12] = 5 << 4;
			l4[13] = WR_FILTER_TCP_ACK;
			l4_len = 20;
		} else if (p->proto == IPPROTO_SCTP) {
			l4_len = 12;
		} else {
			put16(l4 + 4, 8);
			l4_len = 8;
		}
		break;
	case WR_FILTER_L4_ECHO_REQUEST:
		l4[0] = p->family == AF_INET ? 0 : 129;
		put16(l4 + 4, p->sport);
		l4_len = 8;
		break;
	default:
		break;
	}
	if (p->family == AF_INET) {
		out[0] = 0x45;
		put16(out + 2, (uint16_t) (hlen + l4_len));
		out[8] = 64;
		out[9] = p->proto;
		memcpy(out + 12, p->dst, 4);
		memcpy(out + 16, p->src, 4);
	} else {
		out[0] = 0x60;
		put16(out + 4, (uint16_t) l4_len);
		out[6] = p->proto;
		out[7] = 64;
		memcpy(out + 8, p->dst, 16);
		memcpy(out + 24, p->src, 16);
	}
	return hlen + l4_len;
}

static void
check_parse(const uint8_t *pkt, size_t len, int r, const WrFilterPacket *p)
{
	g_assert_true(r == 0 || r == -EBADMSG);
	if (r < 0) {
		for (size_t k = 0; k < sizeof(*p); k++)
			g_assert_cmphex(((const uint8_t *) p)[k], ==, POISON);
		return;
	}
	g_assert_true(p->family == AF_INET || p->family == AF_INET6);
	g_assert_cmpuint(p->l4, <=, WR_FILTER_L4_FRAGMENT);
	g_assert_cmpuint(p->len, <=, len);
	if (p->l4 == WR_FILTER_L4_ICMP_ERROR) {
		g_assert_true(p->inner >= pkt);
		g_assert_true(p->inner + p->inner_len <= pkt + p->len);
	}
	if (p->l4 == WR_FILTER_L4_FRAGMENT)
		g_assert_false(p->first_fragment);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(WrFilterRuleset) rules_mixed = load(mixed);
	g_autoptr(WrFilterRuleset) rules_all = load(allow_all);
	g_autoptr(WrPacketFilter) filter = wr_packet_filter_new(MAX_FLOWS, 0x5eed);
	WrPacketFilterStats stats;
	bool using_all = false;
	guint64 inbound_calls = 0;
	guint64 tracked = 0;
	gint64 now = G_TIME_SPAN_HOUR;
	size_t off = 0;
	guint64 total = 0;

	wr_packet_filter_set_ruleset(filter, rules_mixed);
	for (guint n = 0; n < MAX_RECORDS && size - off >= 3; n++) {
		uint8_t flags = data[off];
		size_t len = ((size_t) data[off + 1] << 8) | data[off + 2];
		g_autofree uint8_t *pkt = NULL;
		WrFilterPacket p;
		WrFilterReason reason;
		WrFilterVerdict verdict;
		int r;

		off += 3;
		len = MIN(len, size - off);
		/* a copy of its own, so ASan sees any read past the packet */
		pkt = g_memdup2(data + off, len);
		off += len;
		now += ((flags >> 1) & 7) * 20 * G_TIME_SPAN_SECOND;
		if ((flags & 0x10) != 0) {
			using_all = !using_all;
			wr_packet_filter_set_ruleset(filter, using_all ? rules_all : rules_mixed);
		}
		if ((flags & 0x20) != 0)
			(void) wr_packet_filter_expire(filter, now);

		memset(&p, POISON, sizeof(p));
		r = wr_filter_packet_parse(&p, pkt, len);
		check_parse(pkt, len, r, &p);

		if ((flags & 1) != 0) {
			bool is_flow = r == 0 && (p.l4 == WR_FILTER_L4_PORTS ||
						  p.l4 == WR_FILTER_L4_PORTLESS ||
						  p.l4 == WR_FILTER_L4_ECHO_REQUEST);
			uint8_t reply[128];
			size_t reply_len;

			g_assert_cmpint(wr_packet_filter_outbound(filter, pkt, len, now), ==,
					is_flow);
			if (!is_flow)
				continue;
			tracked++;
			reply_len = build_reply(reply, &p);
			verdict = wr_packet_filter_inbound(filter, reply, reply_len, now, &reason);
			inbound_calls++;
			g_assert_cmpint(verdict, ==, WR_FILTER_ACCEPT);
			g_assert_true(reason == WR_FILTER_REASON_REPLY ||
				      reason == WR_FILTER_REASON_RULE ||
				      reason == WR_FILTER_REASON_ALLOW_ALL);
			continue;
		}

		verdict = wr_packet_filter_inbound(filter, pkt, len, now, &reason);
		inbound_calls++;
		g_assert_cmpuint(reason, <, WR_FILTER_N_REASONS);
		g_assert_cmpint(verdict, ==,
				reason <= WR_FILTER_REASON_FRAGMENT_CONT ? WR_FILTER_ACCEPT
									 : WR_FILTER_DROP);
		g_assert_cmpint(reason == WR_FILTER_REASON_MALFORMED, ==, r < 0);
		if (reason == WR_FILTER_REASON_FRAGMENT || reason == WR_FILTER_REASON_FRAGMENT_CONT)
			g_assert_cmpuint(p.l4, ==, WR_FILTER_L4_FRAGMENT);
		if (reason == WR_FILTER_REASON_ALLOW_ALL) {
			g_assert_true(using_all);
			g_assert_cmpuint(wr_filter_proto_flag(p.proto) & WR_FILTER_PROTO_DEFAULT,
					 !=, 0);
		}
		if (using_all && r == 0 &&
		    (wr_filter_proto_flag(p.proto) & WR_FILTER_PROTO_DEFAULT) != 0)
			g_assert_cmpint(reason, ==, WR_FILTER_REASON_ALLOW_ALL);
	}

	wr_packet_filter_get_stats(filter, &stats);
	for (guint k = 0; k < WR_FILTER_N_REASONS; k++)
		total += stats.reasons[k];
	g_assert_cmpuint(total, ==, inbound_calls);
	g_assert_cmpuint(stats.tracked, ==, tracked);
	g_assert_cmpuint(stats.flows, <=, MAX_FLOWS);
	g_assert_cmpuint(stats.fragments, <=, 64);
	return 0;
}
