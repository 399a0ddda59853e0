/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * warrend's inbound packet filter (docs/packet-filter.md): the map's "packet_filter"
 * (docs/protocols/control.md FilterRule, as server/control/policy writes it) compiled into a
 * WrFilterRuleset, and a WrPacketFilter that decides, for each IP packet a peer sent us through
 * WireGuard, whether it may reach the TUN device.  A packet is accepted when a rule allows it
 * (protocol, source prefix, destination prefix and port), when it is the reply of a flow this
 * node started (connection tracking of the packets it sends), or when it is a later fragment of
 * a datagram whose first fragment was accepted.  Everything else is dropped, with a reason.
 *
 * Pure: bytes, a `now` (µs, monotonic) and a hash seed in, decisions out; no I/O, no clock, no
 * logging.  The names are WrFilterRuleset/WrPacketFilter rather than WrFilter because the
 * control server's policy compiler already owns WrFilter for the rules it emits.
 *
 * Threads: a WrFilterRuleset is immutable and reference counted, so any number of threads may
 * read it.  A WrPacketFilter may be used from any number of threads at once: the rule set is
 * swapped under a short lock (a packet in flight keeps the set it started with), the flow tables
 * are split into shards that each have their own mutex, and the counters are atomic.
 */

#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-glib/json-glib.h>

/* what a packet_filter may hold: room for anything the control server emits (wr-policy.h: 4096
 * acls, each at most two rules here; 1 Mi src plus dst entries) */
#define WR_FILTER_MAX_RULES   16384
#define WR_FILTER_MAX_ENTRIES (1024 * 1024) /* src plus dst entries of all rules */
#define WR_FILTER_MAX_TEXT    (64 * 1024 * 1024)
#define WR_FILTER_MAX_DEPTH   8 /* JSON nesting; a filter needs 5 */

/* extension headers walked in one IPv6 packet before it counts as malformed */
#define WR_FILTER_MAX_EXT_HEADERS 8

/* connection tracking timeouts, µs: a flow lives this long after its last packet */
#define WR_FILTER_TCP_TIMEOUT		(5 * G_TIME_SPAN_DAY) /* once answered: Linux's established */
#define WR_FILTER_TCP_UNREPLIED_TIMEOUT (2 * G_TIME_SPAN_MINUTE) /* until the first answer */
#define WR_FILTER_TCP_CLOSING_TIMEOUT	(2 * G_TIME_SPAN_MINUTE) /* after our FIN or RST */
#define WR_FILTER_UDP_TIMEOUT		(2 * G_TIME_SPAN_MINUTE)
#define WR_FILTER_ICMP_TIMEOUT		(30 * G_TIME_SPAN_SECOND) /* echo requests */
#define WR_FILTER_OTHER_TIMEOUT		(2 * G_TIME_SPAN_MINUTE)
#define WR_FILTER_FRAGMENT_TIMEOUT	(30 * G_TIME_SPAN_SECOND) /* Linux's ipfrag_time */

/* flows tracked by default; the fragment table holds an eighth of that (at least 64) */
#define WR_FILTER_DEFAULT_MAX_FLOWS 16384
#define WR_FILTER_MIN_MAX_FLOWS	    1
#define WR_FILTER_MAX_MAX_FLOWS	    (1024 * 1024)
/* tables this small or smaller are one shard (one exact LRU); larger ones are split in 16 */
#define WR_FILTER_SHARD_THRESHOLD 1024
#define WR_FILTER_SHARDS	  16

typedef enum {
	WR_FILTER_ACCEPT,
	WR_FILTER_DROP,
} WrFilterVerdict;

/* why; the first four accept, the rest drop */
typedef enum {
	WR_FILTER_REASON_ALLOW_ALL, /* a rule allows every port of this protocol from anywhere */
	WR_FILTER_REASON_RULE,	    /* a rule allows it */
	WR_FILTER_REASON_REPLY,	    /* the reply to, or an ICMP error about, a tracked flow */
	WR_FILTER_REASON_FRAGMENT_CONT, /* a later fragment of an accepted first fragment */
	WR_FILTER_REASON_NO_RULE,	/* nothing allows it (also: no rule set yet) */
	WR_FILTER_REASON_MALFORMED,	/* not a well-formed IPv4/IPv6 packet */
	WR_FILTER_REASON_FRAGMENT, /* a later fragment whose first was not seen (or not let in) */
	WR_FILTER_N_REASONS,
} WrFilterReason;

/* the protocols a FilterRule may name (bit flags), as wr_proto_name() spells them */
typedef enum {
	WR_FILTER_PROTO_TCP = 1 << 0,	 /* "tcp" */
	WR_FILTER_PROTO_UDP = 1 << 1,	 /* "udp" */
	WR_FILTER_PROTO_ICMP = 1 << 2,	 /* "icmp" */
	WR_FILTER_PROTO_ICMPV6 = 1 << 3, /* "ipv6-icmp" */
	WR_FILTER_PROTO_SCTP = 1 << 4,	 /* "sctp" */
	WR_FILTER_PROTO_IGMP = 1 << 5,	 /* "igmp" */
	WR_FILTER_PROTO_ESP = 1 << 6,	 /* "esp" */
	WR_FILTER_PROTO_AH = 1 << 7,	 /* "ah" */
	WR_FILTER_PROTO_GRE = 1 << 8,	 /* "gre" */
} WrFilterProto;
/* a rule without "proto" */
#define WR_FILTER_PROTO_DEFAULT \
	(WR_FILTER_PROTO_TCP | WR_FILTER_PROTO_UDP | WR_FILTER_PROTO_ICMP | WR_FILTER_PROTO_ICMPV6)

/* what the transport part of a packet is, as far as the filter cares */
typedef enum {
	WR_FILTER_L4_PORTS,	   /* TCP, UDP, SCTP: sport and dport are set */
	WR_FILTER_L4_PORTLESS,	   /* any other protocol (ESP, GRE, ...): no ports */
	WR_FILTER_L4_ECHO_REQUEST, /* ICMP(v6) echo request: sport = dport = its identifier */
	WR_FILTER_L4_ECHO_REPLY,   /* ICMP(v6) echo reply: likewise */
	WR_FILTER_L4_ICMP_ERROR,   /* ICMP(v6) error: inner/inner_len is the quoted packet */
	WR_FILTER_L4_ICMP_OTHER,   /* any other ICMP(v6) message */
	WR_FILTER_L4_FRAGMENT,	   /* a fragment other than the first: nothing past the IP header */
} WrFilterL4;

/* one IP packet as parsed by wr_filter_packet_parse(); addresses are in network order, IPv4
 * in the first 4 bytes with the rest zero, ports and ids in host order */
typedef struct {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t proto;	/* the upper-layer protocol number (after IPv6 extension headers) */
	uint8_t l4;	/* WrFilterL4 */
	uint8_t icmp_type;
	uint8_t tcp_flags;
	bool first_fragment; /* offset 0 with more fragments to come */
	uint16_t sport;
	uint16_t dport;
	uint32_t frag_id; /* for fragments: the IPv4 (16 bits) or IPv6 (32 bits) identification */
	uint8_t src[16];
	uint8_t dst[16];
	const uint8_t *inner; /* WR_FILTER_L4_ICMP_ERROR: the quoted packet, borrowed */
	size_t inner_len;
	size_t len; /* the IP packet's own length (the buffer may carry padding behind it) */
} WrFilterPacket;

/* the TCP flags the tracker reads */
#define WR_FILTER_TCP_FIN 0x01
#define WR_FILTER_TCP_SYN 0x02
#define WR_FILTER_TCP_RST 0x04
#define WR_FILTER_TCP_ACK 0x10

/* parses an IPv4 or IPv6 packet: 0, or -EBADMSG if it is not well formed (truncated, bad
 * lengths, version, too many extension headers, a first fragment too short to hold the
 * transport header); out is untouched on failure */
int
wr_filter_packet_parse(WrFilterPacket *out, const uint8_t *pkt, size_t len);

/* the IP protocol number's WrFilterProto flag, 0 for a protocol no rule can name */
guint
wr_filter_proto_flag(uint8_t proto);
/* "tcp", "ipv6-icmp", ... for one flag; NULL for anything else */
const char *
wr_filter_proto_name(WrFilterProto proto);
const char *
wr_filter_reason_name(WrFilterReason reason);

/* a compiled packet_filter: immutable, reference counted */
typedef struct _WrFilterRuleset WrFilterRuleset;

/*
 * packet_filter is the JSON array of FilterRules.  Every refusal is G_IO_ERROR_INVALID_DATA
 * naming the place, `rule 3: dst[1].ports: first 80 > last 22` (indexes from 0); past the
 * limits G_IO_ERROR_NO_SPACE.  An empty array is a rule set that denies everything.
 */
WrFilterRuleset *
wr_filter_ruleset_new_from_json(JsonNode *packet_filter, GError **error);
/* the same from JSON text (need not be NUL-terminated) */
WrFilterRuleset *
wr_filter_ruleset_new_from_data(const char *data, gsize len, GError **error);
WrFilterRuleset *
wr_filter_ruleset_ref(WrFilterRuleset *self);
void
wr_filter_ruleset_unref(WrFilterRuleset *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrFilterRuleset, wr_filter_ruleset_unref)
guint
wr_filter_ruleset_n_rules(const WrFilterRuleset *self);
/* whether a rule allows the packet (no tracking); reason is ALLOW_ALL, RULE or NO_RULE.  A
 * later fragment is never allowed here: its ports are unknown, except under an allow-all rule
 * for its protocol. */
WrFilterReason
wr_filter_ruleset_match(const WrFilterRuleset *self, const WrFilterPacket *packet);

typedef struct _WrPacketFilter WrPacketFilter;

typedef struct {
	guint64 reasons[WR_FILTER_N_REASONS]; /* inbound packets decided, per reason */
	guint64 tracked; /* outbound packets that created or refreshed a flow */
	guint64 evicted; /* live flows pushed out because the table was full */
	guint flows;	 /* entries in the flow table (some may have expired) */
	guint fragments; /* entries in the fragment table */
} WrPacketFilterStats;

/*
 * max_flows bounds the flow table (WR_FILTER_MIN_MAX_FLOWS..WR_FILTER_MAX_MAX_FLOWS; 0 means
 * WR_FILTER_DEFAULT_MAX_FLOWS).  seed keys the table's hash: give it random bits, so that
 * nobody can pick flows that share a bucket.  The filter starts with no rule set: everything
 * not tracked is dropped until wr_packet_filter_set_ruleset().
 */
WrPacketFilter *
wr_packet_filter_new(guint max_flows, guint64 seed);
void
wr_packet_filter_free(WrPacketFilter *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrPacketFilter, wr_packet_filter_free)

/* replaces the rule set (takes a reference; NULL: deny all again); tracked flows stay */
void
wr_packet_filter_set_ruleset(WrPacketFilter *self, WrFilterRuleset *ruleset);
/* a reference to the current rule set, or NULL */
WrFilterRuleset *
wr_packet_filter_dup_ruleset(WrPacketFilter *self);

/*
 * Decides on a packet a peer sent (after decryption, before the TUN); pkt may carry padding
 * behind the IP packet.  Counts the decision.  A reply refreshes its flow; an accepted first
 * fragment is remembered for WR_FILTER_FRAGMENT_TIMEOUT so the rest of its datagram passes.
 */
WrFilterVerdict
wr_packet_filter_inbound(WrPacketFilter *self, const uint8_t *pkt, size_t len, gint64 now,
			 WrFilterReason *out_reason);
/*
 * Records a packet this node sends to a peer (read from the TUN, before encryption), so its
 * replies pass inbound.  Returns true when it created or refreshed a flow (TCP, UDP, SCTP, ICMP
 * echo requests and the port-less protocols; not fragments after the first, ICMP replies or
 * errors, or malformed packets).
 */
bool
wr_packet_filter_outbound(WrPacketFilter *self, const uint8_t *pkt, size_t len, gint64 now);
/* drops every expired entry (for a periodic timer; lookups drop the ones they meet anyway);
 * returns how many */
guint
wr_packet_filter_expire(WrPacketFilter *self, gint64 now);
void
wr_packet_filter_get_stats(WrPacketFilter *self, WrPacketFilterStats *out);
