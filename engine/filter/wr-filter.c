/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrFilter"

#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>

#include <gio/gio.h>

#include "wr-addr.h"
#include "wr-bytes.h"
#include "wr-filter.h"
#include "wr-json-check.h"
#include "wr-slots.h"

/* IP header layout (RFC 791, RFC 8200) */
enum {
	IPV4_MIN_HEADER = 20,
	IPV4_OFF_TOTAL_LEN = 2,
	IPV4_OFF_ID = 4,
	IPV4_OFF_FRAG = 6,
	IPV4_OFF_PROTO = 9,
	IPV4_OFF_SRC = 12,
	IPV4_OFF_DST = 16,
	IPV4_FRAG_MF = 0x2000,
	IPV4_FRAG_OFFSET = 0x1fff,
	IPV6_HEADER = 40,
	IPV6_OFF_PAYLOAD_LEN = 4,
	IPV6_OFF_NEXT = 6,
	IPV6_OFF_SRC = 8,
	IPV6_OFF_DST = 24,
	IPV6_EXT_MIN = 8, /* every extension header is a multiple of 8 bytes */
	IPV6_FRAG_OFF_OFFSET = 2,
	IPV6_FRAG_OFF_ID = 4,
	IPV6_FRAG_M = 0x0001,
	IPV6_FRAG_OFFSET_SHIFT = 3,
	ADDR4_LEN = 4,
	ADDR6_LEN = 16,
};

/* the transport headers: the minimum the filter needs in a packet, and in a packet quoted by
 * an ICMP error, which carries at least the first 8 bytes (RFC 792, RFC 4443) */
enum {
	TCP_MIN_HEADER = 20,
	TCP_OFF_FLAGS = 13,
	UDP_HEADER = 8,
	SCTP_COMMON_HEADER = 12,
	ICMP_HEADER = 8,
	ICMP_OFF_ECHO_ID = 4,
	QUOTED_L4_MIN = 8,
};

enum {
	ICMP4_ECHO_REPLY = 0,
	ICMP4_DEST_UNREACH = 3,
	ICMP4_SOURCE_QUENCH = 4,
	ICMP4_REDIRECT = 5,
	ICMP4_ECHO_REQUEST = 8,
	ICMP4_TIME_EXCEEDED = 11,
	ICMP4_PARAM_PROBLEM = 12,
	ICMP6_ERROR_FIRST = 1, /* destination unreachable ... */
	ICMP6_ERROR_LAST = 4,  /* ... parameter problem */
	ICMP6_ECHO_REQUEST = 128,
	ICMP6_ECHO_REPLY = 129,
};

/* packets */

static bool
icmp_is_error(uint8_t family, uint8_t type)
{
	if (family == AF_INET6)
		return type >= ICMP6_ERROR_FIRST && type <= ICMP6_ERROR_LAST;
	return type == ICMP4_DEST_UNREACH || type == ICMP4_SOURCE_QUENCH ||
	       type == ICMP4_REDIRECT || type == ICMP4_TIME_EXCEEDED || type == ICMP4_PARAM_PROBLEM;
}

/* the transport header at l4: what kind it is, its ports or echo id; a quoted packet needs only
 * the 8 bytes an ICMP error is sure to carry, and its own ICMP errors are not looked into */
static int
parse_l4(WrFilterPacket *p, const uint8_t *l4, size_t l4_len, bool quoted)
{
	bool icmp = (p->family == AF_INET && p->proto == IPPROTO_ICMP) ||
		    (p->family == AF_INET6 && p->proto == IPPROTO_ICMPV6);
	size_t need;

	if (icmp) {
		uint8_t type;

		if (l4_len < ICMP_HEADER)
			return -EBADMSG;
		type = l4[0];
		p->icmp_type = type;
		if (type == (p->family == AF_INET ? ICMP4_ECHO_REQUEST : ICMP6_ECHO_REQUEST)) {
			p->l4 = WR_FILTER_L4_ECHO_REQUEST;
		} else if (type == (p->family == AF_INET ? ICMP4_ECHO_REPLY : ICMP6_ECHO_REPLY)) {
			p->l4 = WR_FILTER_L4_ECHO_REPLY;
		} else if (icmp_is_error(p->family, type)) {
			p->l4 = WR_FILTER_L4_ICMP_ERROR;
			if (!quoted) {
				p->inner = l4 + ICMP_HEADER;
				p->inner_len = l4_len - ICMP_HEADER;
			}
			return 0;
		} else {
			p->l4 = WR_FILTER_L4_ICMP_OTHER;
			return 0;
		}
		p->sport = p->dport = wr_get_be16(l4 + ICMP_OFF_ECHO_ID);
		return 0;
	}

	switch (p->proto) {
	case IPPROTO_TCP:
		need = quoted ? QUOTED_L4_MIN : TCP_MIN_HEADER;
		break;
	case IPPROTO_UDP:
		need = UDP_HEADER;
		break;
	case IPPROTO_SCTP:
		need = quoted ? QUOTED_L4_MIN : SCTP_COMMON_HEADER;
		break;
	default:
		p->l4 = WR_FILTER_L4_PORTLESS;
		return 0;
	}
	/* this also refuses tiny first fragments that split the header (RFC 1858) */
	if (l4_len < need)
		return -EBADMSG;
	p->l4 = WR_FILTER_L4_PORTS;
	p->sport = wr_get_be16(l4);
	p->dport = wr_get_be16(l4 + 2);
	if (p->proto == IPPROTO_TCP && !quoted)
		p->tcp_flags = l4[TCP_OFF_FLAGS];
	return 0;
}

static int
parse_ipv4(WrFilterPacket *p, const uint8_t *pkt, size_t len, bool quoted)
{
	size_t ihl;
	size_t total;
	uint16_t frag;

	if (len < IPV4_MIN_HEADER)
		return -EBADMSG;
	ihl = (size_t) (pkt[0] & 0x0f) * 4;
	total = wr_get_be16(pkt + IPV4_OFF_TOTAL_LEN);
	if (ihl < IPV4_MIN_HEADER || ihl > len || total < ihl)
		return -EBADMSG;
	if (total > len) {
		/* a quoted packet is cut short by design */
		if (!quoted)
			return -EBADMSG;
		total = len;
	}
	p->family = AF_INET;
	p->proto = pkt[IPV4_OFF_PROTO];
	memcpy(p->src, pkt + IPV4_OFF_SRC, ADDR4_LEN);
	memcpy(p->dst, pkt + IPV4_OFF_DST, ADDR4_LEN);
	p->len = total;
	frag = wr_get_be16(pkt + IPV4_OFF_FRAG);
	p->frag_id = wr_get_be16(pkt + IPV4_OFF_ID);
	if ((frag & IPV4_FRAG_OFFSET) != 0) {
		if (quoted)
			return -EBADMSG;
		p->l4 = WR_FILTER_L4_FRAGMENT;
		return 0;
	}
	p->first_fragment = (frag & IPV4_FRAG_MF) != 0;
	return parse_l4(p, pkt + ihl, total - ihl, quoted);
}

static int
parse_ipv6(WrFilterPacket *p, const uint8_t *pkt, size_t len, bool quoted)
{
	size_t end;
	size_t off = IPV6_HEADER;
	uint8_t next;
	bool seen_fragment = false;

	if (len < IPV6_HEADER)
		return -EBADMSG;
	end = IPV6_HEADER + (size_t) wr_get_be16(pkt + IPV6_OFF_PAYLOAD_LEN);
	/* a jumbogram (payload length 0 and a hop-by-hop option, RFC 2675) never fits a tunnel:
	 * its hop-by-hop header lies past the end and it is refused below */
	if (end > len) {
		if (!quoted)
			return -EBADMSG;
		end = len;
	}
	p->family = AF_INET6;
	memcpy(p->src, pkt + IPV6_OFF_SRC, ADDR6_LEN);
	memcpy(p->dst, pkt + IPV6_OFF_DST, ADDR6_LEN);
	p->len = end;
	next = pkt[IPV6_OFF_NEXT];

	for (guint n = 0;; n++) {
		size_t hlen;
		uint16_t frag;

		if (next != IPPROTO_HOPOPTS && next != IPPROTO_ROUTING && next != IPPROTO_DSTOPTS &&
		    next != IPPROTO_FRAGMENT)
			break;
		if (n >= WR_FILTER_MAX_EXT_HEADERS || end - off < IPV6_EXT_MIN)
			return -EBADMSG;
		if (next != IPPROTO_FRAGMENT) {
			hlen = ((size_t) pkt[off + 1] + 1) * IPV6_EXT_MIN;
			if (end - off < hlen)
				return -EBADMSG;
			next = pkt[off];
			off += hlen;
			continue;
		}
		/* RFC 8200 §4.5: at most one fragment header, and what follows a later fragment
		 * is data, not headers */
		if (seen_fragment)
			return -EBADMSG;
		seen_fragment = true;
		next = pkt[off];
		frag = wr_get_be16(pkt + off + IPV6_FRAG_OFF_OFFSET);
		p->frag_id = wr_get_be32(pkt + off + IPV6_FRAG_OFF_ID);
		off += IPV6_EXT_MIN;
		if ((frag >> IPV6_FRAG_OFFSET_SHIFT) != 0) {
			if (quoted)
				return -EBADMSG;
			p->proto = next;
			p->l4 = WR_FILTER_L4_FRAGMENT;
			return 0;
		}
		/* an atomic fragment (offset 0, no more) is a whole packet (RFC 6946) */
		p->first_fragment = (frag & IPV6_FRAG_M) != 0;
	}
	p->proto = next;
	return parse_l4(p, pkt + off, end - off, quoted);
}

static int
parse_ip(WrFilterPacket *out, const uint8_t *pkt, size_t len, bool quoted)
{
	WrFilterPacket p;
	int r;

	if (pkt == NULL || len == 0)
		return -EBADMSG;
	memset(&p, 0, sizeof(p));
	switch (pkt[0] >> 4) {
	case 4:
		r = parse_ipv4(&p, pkt, len, quoted);
		break;
	case 6:
		r = parse_ipv6(&p, pkt, len, quoted);
		break;
	default:
		r = -EBADMSG;
		break;
	}
	if (r < 0)
		return r;
	*out = p;
	return 0;
}

int
wr_filter_packet_parse(WrFilterPacket *out, const uint8_t *pkt, size_t len)
{
	return parse_ip(out, pkt, len, false);
}

guint
wr_filter_proto_flag(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return WR_FILTER_PROTO_TCP;
	case IPPROTO_UDP:
		return WR_FILTER_PROTO_UDP;
	case IPPROTO_ICMP:
		return WR_FILTER_PROTO_ICMP;
	case IPPROTO_ICMPV6:
		return WR_FILTER_PROTO_ICMPV6;
	case IPPROTO_SCTP:
		return WR_FILTER_PROTO_SCTP;
	case IPPROTO_IGMP:
		return WR_FILTER_PROTO_IGMP;
	case IPPROTO_ESP:
		return WR_FILTER_PROTO_ESP;
	case IPPROTO_AH:
		return WR_FILTER_PROTO_AH;
	case IPPROTO_GRE:
		return WR_FILTER_PROTO_GRE;
	default:
		return 0;
	}
}

const char *
wr_filter_proto_name(WrFilterProto proto)
{
	switch (proto) {
	case WR_FILTER_PROTO_TCP:
		return "tcp";
	case WR_FILTER_PROTO_UDP:
		return "udp";
	case WR_FILTER_PROTO_ICMP:
		return "icmp";
	case WR_FILTER_PROTO_ICMPV6:
		return "ipv6-icmp";
	case WR_FILTER_PROTO_SCTP:
		return "sctp";
	case WR_FILTER_PROTO_IGMP:
		return "igmp";
	case WR_FILTER_PROTO_ESP:
		return "esp";
	case WR_FILTER_PROTO_AH:
		return "ah";
	case WR_FILTER_PROTO_GRE:
		return "gre";
	default:
		return NULL;
	}
}

const char *
wr_filter_reason_name(WrFilterReason reason)
{
	static const char *const names[WR_FILTER_N_REASONS] = {
		[WR_FILTER_REASON_ALLOW_ALL] = "allow-all",
		[WR_FILTER_REASON_RULE] = "rule",
		[WR_FILTER_REASON_REPLY] = "reply",
		[WR_FILTER_REASON_FRAGMENT_CONT] = "fragment-continuation",
		[WR_FILTER_REASON_NO_RULE] = "no-rule",
		[WR_FILTER_REASON_MALFORMED] = "malformed",
		[WR_FILTER_REASON_FRAGMENT] = "fragment",
	};

	if ((guint) reason >= WR_FILTER_N_REASONS)
		return NULL;
	return names[reason];
}

/* the rule set */

typedef struct {
	uint8_t family;
	uint8_t cidr;
	uint16_t first;
	uint16_t last;
	uint8_t addr[16]; /* host bits clear */
} Dst;

typedef struct {
	guint protos;
	bool src_all[2]; /* has 0.0.0.0/0, ::/0 among its sources */
	Dst *dst;
	guint n_dst;
} Rule;

/* an address as a 128-bit number in two host-order words; IPv4 takes the top 32 bits, so a
 * prefix length counts from the top for both families */
typedef struct {
	uint64_t hi;
	uint64_t lo;
} Key128;

/*
 * The sources of all rules, indexed once rather than scanned rule by rule: per family, one level
 * per prefix length that occurs, each a sorted array of the prefixes of that length with, for
 * each, the rules that name it.  A packet costs one binary search per level (a policy's filter
 * has a handful: /32 and /128 for nodes, a few subnet lengths, /0) and then only the rules its
 * source is in are looked at.
 */
typedef struct {
	uint8_t cidr;
	guint n_keys;
	Key128 *keys; /* sorted, unique */
	uint32_t
		*starts; /* n_keys + 1: the rules of keys[k] are rule_ids[starts[k]..starts[k+1]) */
	uint32_t *rule_ids; /* ascending for each key */
} SrcLevel;

struct _WrFilterRuleset {
	gatomicrefcount ref;
	Rule *rules;
	guint n_rules;
	SrcLevel *levels[2]; /* per family, longest prefixes first */
	guint n_levels[2];
	/* per family, the protocols some rule lets in from anywhere to anything on any port */
	guint allow_all[2];
};

static inline guint
family_index(uint8_t family)
{
	return family == AF_INET6 ? 1 : 0;
}

static bool
prefix_contains(const uint8_t *net, uint8_t cidr, const uint8_t *addr)
{
	guint full = cidr / 8;
	guint rest = cidr % 8;

	if (memcmp(net, addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((net[full] ^ addr[full]) & (uint8_t) (0xff << (8 - rest))) == 0;
}

static inline uint64_t
rd64(const uint8_t *p)
{
	return ((uint64_t) wr_get_be32(p) << 32) | wr_get_be32(p + 4);
}

static Key128
key_from_addr(uint8_t family, const uint8_t *addr)
{
	Key128 k;

	if (family == AF_INET) {
		k.hi = (uint64_t) wr_get_be32(addr) << 32;
		k.lo = 0;
	} else {
		k.hi = rd64(addr);
		k.lo = rd64(addr + 8);
	}
	return k;
}

static Key128
key_mask(Key128 k, uint8_t cidr)
{
	if (cidr == 0) {
		k.hi = k.lo = 0;
	} else if (cidr <= 64) {
		k.hi &= G_MAXUINT64 << (64 - cidr);
		k.lo = 0;
	} else {
		k.lo &= G_MAXUINT64 << (128 - cidr);
	}
	return k;
}

static int
key_cmp(const Key128 *a, const Key128 *b)
{
	if (a->hi != b->hi)
		return a->hi < b->hi ? -1 : 1;
	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return 0;
}

/* the index of key in the level, or -1 */
static gssize
level_find(const SrcLevel *level, const Key128 *key)
{
	gsize lo = 0;
	gsize hi = level->n_keys;

	while (lo < hi) {
		gsize mid = lo + (hi - lo) / 2;
		int c = key_cmp(&level->keys[mid], key);

		if (c == 0)
			return (gssize) mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* protocol, destination and port; the source was matched by the index */
static bool
rule_matches(const Rule *rule, const WrFilterPacket *p, guint flag, bool ports)
{
	if ((rule->protos & flag) == 0)
		return false;
	for (guint i = 0; i < rule->n_dst; i++) {
		const Dst *d = &rule->dst[i];

		if (d->family != p->family || !prefix_contains(d->addr, d->cidr, p->dst))
			continue;
		if (!ports || (p->dport >= d->first && p->dport <= d->last))
			return true;
	}
	return false;
}

WrFilterReason
wr_filter_ruleset_match(const WrFilterRuleset *self, const WrFilterPacket *p)
{
	guint flag = wr_filter_proto_flag(p->proto);
	bool ports;
	guint fi;
	Key128 src;

	if (flag == 0)
		return WR_FILTER_REASON_NO_RULE;
	if ((self->allow_all[family_index(p->family)] & flag) != 0)
		return WR_FILTER_REASON_ALLOW_ALL;
	/* a later fragment has no ports to check: only its first fragment's verdict counts */
	if (p->l4 == WR_FILTER_L4_FRAGMENT)
		return WR_FILTER_REASON_NO_RULE;
	/* ICMP and the other port-less protocols match on addresses alone, as in Tailscale */
	ports = p->l4 == WR_FILTER_L4_PORTS;
	fi = family_index(p->family);
	src = key_from_addr(p->family, p->src);
	for (guint l = 0; l < self->n_levels[fi]; l++) {
		const SrcLevel *level = &self->levels[fi][l];
		Key128 key = key_mask(src, level->cidr);
		gssize k = level_find(level, &key);

		if (k < 0)
			continue;
		for (uint32_t i = level->starts[k]; i < level->starts[k + 1]; i++) {
			if (rule_matches(&self->rules[level->rule_ids[i]], p, flag, ports))
				return WR_FILTER_REASON_RULE;
		}
	}
	return WR_FILTER_REASON_NO_RULE;
}

guint
wr_filter_ruleset_n_rules(const WrFilterRuleset *self)
{
	return self->n_rules;
}

WrFilterRuleset *
wr_filter_ruleset_ref(WrFilterRuleset *self)
{
	g_atomic_ref_count_inc(&self->ref);
	return self;
}

static void
ruleset_free(WrFilterRuleset *self)
{
	for (guint i = 0; i < self->n_rules; i++)
		g_free(self->rules[i].dst);
	g_free(self->rules);
	for (guint f = 0; f < 2; f++) {
		for (guint l = 0; l < self->n_levels[f]; l++) {
			g_free(self->levels[f][l].keys);
			g_free(self->levels[f][l].starts);
			g_free(self->levels[f][l].rule_ids);
		}
		g_free(self->levels[f]);
	}
	g_free(self);
}

void
wr_filter_ruleset_unref(WrFilterRuleset *self)
{
	if (self == NULL)
		return;
	if (g_atomic_ref_count_dec(&self->ref))
		ruleset_free(self);
}

/* the JSON reader */

static bool
holds_string(JsonNode *node)
{
	return JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == G_TYPE_STRING;
}

static bool
parse_cidr(WrCidr *out, const char *text)
{
	WrCidr cidr;

	/* wr_cidr_parse takes a bare address as a host route; a filter always writes the length */
	if (strchr(text, '/') == NULL || !wr_cidr_parse(&cidr, text))
		return false;
	wr_cidr_mask(&cidr);
	*out = cidr;
	return true;
}

/* one source prefix of one rule, on its way into the index */
typedef struct {
	Key128 key;
	uint32_t rule;
	uint8_t family;
	uint8_t cidr;
} SrcEntry;

static gboolean
read_src(Rule *rule, guint r, JsonArray *array, GArray *sources, GError **error)
{
	guint n = json_array_get_length(array);

	for (guint i = 0; i < n; i++) {
		JsonNode *node = json_array_get_element(array, i);
		const char *text;
		WrCidr cidr;
		SrcEntry entry;

		if (!holds_string(node)) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "rule %u: src[%u]: want a string, not %s", r, i,
				    wr_json_node_type_name(node));
			return FALSE;
		}
		text = json_node_get_string(node);
		if (!parse_cidr(&cidr, text)) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "rule %u: src[%u]: bad prefix \"%s\"", r, i, text);
			return FALSE;
		}
		if (cidr.cidr == 0)
			rule->src_all[family_index(cidr.family)] = true;
		entry.key = key_from_addr(cidr.family, cidr.addr);
		entry.rule = r;
		entry.family = cidr.family;
		entry.cidr = cidr.cidr;
		g_array_append_val(sources, entry);
	}
	return TRUE;
}

static gboolean
read_port(JsonArray *ports, guint k, guint r, guint i, uint16_t *out, GError **error)
{
	JsonNode *node = json_array_get_element(ports, k);
	gint64 v;

	if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_INT64) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "rule %u: dst[%u].ports[%u]: want an integer, not %s", r, i, k,
			    wr_json_node_type_name(node));
		return FALSE;
	}
	v = json_node_get_int(node);
	if (v < 0 || v > G_MAXUINT16) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "rule %u: dst[%u].ports[%u]: %" G_GINT64_FORMAT " is not a port", r, i,
			    k, v);
		return FALSE;
	}
	*out = (uint16_t) v;
	return TRUE;
}

static gboolean
read_dst_entry(Dst *dst, guint r, guint i, JsonNode *node, GError **error)
{
	JsonObject *obj;
	JsonNode *net;
	JsonNode *ports;
	JsonArray *range;
	WrCidr cidr;
	g_autoptr(GList) members = NULL;

	if (!JSON_NODE_HOLDS_OBJECT(node)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "rule %u: dst[%u]: want an object, not %s", r, i,
			    wr_json_node_type_name(node));
		return FALSE;
	}
	obj = json_node_get_object(node);
	members = json_object_get_members(obj);
	for (GList *l = members; l != NULL; l = l->next) {
		if (g_strcmp0(l->data, "net") != 0 && g_strcmp0(l->data, "ports") != 0) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "rule %u: dst[%u]: unknown field \"%s\"", r, i,
				    (const char *) l->data);
			return FALSE;
		}
	}
	net = json_object_get_member(obj, "net");
	if (net == NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "rule %u: dst[%u]: missing \"net\"", r, i);
		return FALSE;
	}
	if (!holds_string(net)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "rule %u: dst[%u].net: want a string, not %s", r, i,
			    wr_json_node_type_name(net));
		return FALSE;
	}
	if (!parse_cidr(&cidr, json_node_get_string(net))) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "rule %u: dst[%u].net: bad prefix \"%s\"", r, i,
			    json_node_get_string(net));
		return FALSE;
	}
	ports = json_object_get_member(obj, "ports");
	if (ports == NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "rule %u: dst[%u]: missing \"ports\"", r, i);
		return FALSE;
	}
	if (!JSON_NODE_HOLDS_ARRAY(ports) ||
	    json_array_get_length(json_node_get_array(ports)) != 2) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "rule %u: dst[%u].ports: want [first, last]", r, i);
		return FALSE;
	}
	range = json_node_get_array(ports);
	if (!read_port(range, 0, r, i, &dst->first, error) ||
	    !read_port(range, 1, r, i, &dst->last, error))
		return FALSE;
	if (dst->first > dst->last) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "rule %u: dst[%u].ports: first %u > last %u", r, i, dst->first,
			    dst->last);
		return FALSE;
	}
	dst->family = cidr.family;
	dst->cidr = cidr.cidr;
	memcpy(dst->addr, cidr.addr, sizeof(dst->addr));
	return TRUE;
}

static gboolean
read_proto(Rule *rule, guint r, JsonNode *node, GError **error)
{
	JsonArray *array;
	guint n;

	if (!JSON_NODE_HOLDS_ARRAY(node)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "rule %u: proto: want an array, not %s", r,
			    wr_json_node_type_name(node));
		return FALSE;
	}
	array = json_node_get_array(node);
	n = json_array_get_length(array);
	if (n == 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "rule %u: proto: empty (leave it out for the default)", r);
		return FALSE;
	}
	for (guint i = 0; i < n; i++) {
		JsonNode *elem = json_array_get_element(array, i);
		const char *name;
		guint flag = 0;

		if (!holds_string(elem)) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "rule %u: proto[%u]: want a string, not %s", r, i,
				    wr_json_node_type_name(elem));
			return FALSE;
		}
		name = json_node_get_string(elem);
		for (guint bit = 0; bit < 32 && flag == 0; bit++) {
			const char *known = wr_filter_proto_name((WrFilterProto) (1u << bit));

			if (known != NULL && strcmp(known, name) == 0)
				flag = 1u << bit;
		}
		if (flag == 0) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "rule %u: proto[%u]: unknown protocol \"%s\"", r, i, name);
			return FALSE;
		}
		rule->protos |= flag;
	}
	return TRUE;
}

static gboolean
get_array_member(JsonObject *obj, const char *name, guint r, JsonArray **out, GError **error)
{
	JsonNode *node = json_object_get_member(obj, name);

	if (node == NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "rule %u: missing \"%s\"",
			    r, name);
		return FALSE;
	}
	if (!JSON_NODE_HOLDS_ARRAY(node)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "rule %u: %s: want an array, not %s", r, name,
			    wr_json_node_type_name(node));
		return FALSE;
	}
	*out = json_node_get_array(node);
	return TRUE;
}

static gboolean
read_rule(Rule *rule, guint r, JsonNode *node, guint *entries, GArray *sources, GError **error)
{
	JsonObject *obj;
	JsonArray *src;
	JsonArray *dst;
	JsonNode *proto;
	g_autoptr(GList) members = NULL;

	if (!JSON_NODE_HOLDS_OBJECT(node)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "rule %u: want an object, not %s", r, wr_json_node_type_name(node));
		return FALSE;
	}
	obj = json_node_get_object(node);
	/* an unknown member could be a restriction this node does not understand: refuse the
	 * whole filter rather than let more in than the server meant */
	members = json_object_get_members(obj);
	for (GList *l = members; l != NULL; l = l->next) {
		if (g_strcmp0(l->data, "src") != 0 && g_strcmp0(l->data, "dst") != 0 &&
		    g_strcmp0(l->data, "proto") != 0) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "rule %u: unknown field \"%s\"", r, (const char *) l->data);
			return FALSE;
		}
	}
	if (!get_array_member(obj, "src", r, &src, error) ||
	    !get_array_member(obj, "dst", r, &dst, error))
		return FALSE;
	*entries += json_array_get_length(src) + json_array_get_length(dst);
	if (*entries > WR_FILTER_MAX_ENTRIES) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
			    "rule %u: more than %u src and dst entries in the filter", r,
			    (guint) WR_FILTER_MAX_ENTRIES);
		return FALSE;
	}
	if (!read_src(rule, r, src, sources, error))
		return FALSE;
	rule->n_dst = json_array_get_length(dst);
	rule->dst = g_new0(Dst, rule->n_dst);
	for (guint i = 0; i < rule->n_dst; i++) {
		if (!read_dst_entry(&rule->dst[i], r, i, json_array_get_element(dst, i), error))
			return FALSE;
	}
	proto = json_object_get_member(obj, "proto");
	if (proto == NULL)
		rule->protos = WR_FILTER_PROTO_DEFAULT;
	else if (!read_proto(rule, r, proto, error))
		return FALSE;
	return TRUE;
}

/* what a rule lets in from anywhere, to anything, on any port, for the fast path */
static void
note_allow_all(WrFilterRuleset *self, const Rule *rule)
{
	for (guint i = 0; i < rule->n_dst; i++) {
		const Dst *d = &rule->dst[i];
		guint fi = family_index(d->family);

		if (rule->src_all[fi] && d->cidr == 0 && d->first == 0 && d->last == G_MAXUINT16)
			self->allow_all[fi] |= rule->protos;
	}
}

/* by family, longest prefix first, then key and rule */
static gint
src_entry_cmp(gconstpointer pa, gconstpointer pb)
{
	const SrcEntry *a = pa;
	const SrcEntry *b = pb;
	int c;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (a->cidr != b->cidr)
		return a->cidr > b->cidr ? -1 : 1;
	c = key_cmp(&a->key, &b->key);
	if (c != 0)
		return c;
	if (a->rule != b->rule)
		return a->rule < b->rule ? -1 : 1;
	return 0;
}

/* one level from the entries [from, to) that share family and length */
static void
build_level(SrcLevel *level, const SrcEntry *e, guint from, guint to)
{
	guint n_keys = 0;
	guint n_ids = 0;

	level->cidr = e[from].cidr;
	for (guint i = from; i < to; i++) {
		if (i == from || key_cmp(&e[i].key, &e[i - 1].key) != 0)
			n_keys++;
	}
	level->keys = g_new(Key128, n_keys);
	level->starts = g_new(uint32_t, n_keys + 1);
	level->rule_ids = g_new(uint32_t, to - from);
	for (guint i = from; i < to; i++) {
		bool new_key = i == from || key_cmp(&e[i].key, &e[i - 1].key) != 0;

		if (new_key) {
			level->keys[level->n_keys] = e[i].key;
			level->starts[level->n_keys] = n_ids;
			level->n_keys++;
		} else if (e[i].rule == e[i - 1].rule) {
			/* the same prefix twice in one rule */
			continue;
		}
		level->rule_ids[n_ids++] = e[i].rule;
	}
	level->starts[level->n_keys] = n_ids;
}

static void
build_index(WrFilterRuleset *self, GArray *sources)
{
	const SrcEntry *e;
	guint n = sources->len;
	guint i = 0;

	g_array_sort(sources, src_entry_cmp);
	e = (const SrcEntry *) (void *) sources->data;
	while (i < n) {
		guint fi = family_index(e[i].family);
		guint j = i;

		while (j < n && e[j].family == e[i].family && e[j].cidr == e[i].cidr)
			j++;
		self->levels[fi] = g_renew(SrcLevel, self->levels[fi], self->n_levels[fi] + 1);
		memset(&self->levels[fi][self->n_levels[fi]], 0, sizeof(SrcLevel));
		build_level(&self->levels[fi][self->n_levels[fi]], e, i, j);
		self->n_levels[fi]++;
		i = j;
	}
}

WrFilterRuleset *
wr_filter_ruleset_new_from_json(JsonNode *packet_filter, GError **error)
{
	g_autoptr(WrFilterRuleset) self = NULL;
	g_autoptr(GArray) sources = g_array_new(FALSE, FALSE, sizeof(SrcEntry));
	JsonArray *array;
	guint entries = 0;
	guint n;

	g_return_val_if_fail(packet_filter != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	if (!JSON_NODE_HOLDS_ARRAY(packet_filter)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "packet_filter: want an array, not %s",
			    wr_json_node_type_name(packet_filter));
		return NULL;
	}
	array = json_node_get_array(packet_filter);
	n = json_array_get_length(array);
	if (n > WR_FILTER_MAX_RULES) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
			    "packet_filter: more than %u rules", (guint) WR_FILTER_MAX_RULES);
		return NULL;
	}
	self = g_new0(WrFilterRuleset, 1);
	g_atomic_ref_count_init(&self->ref);
	self->rules = g_new0(Rule, n);
	for (guint r = 0; r < n; r++) {
		/* counted before reading, so a failure frees what the rule holds so far */
		self->n_rules = r + 1;
		if (!read_rule(&self->rules[r], r, json_array_get_element(array, r), &entries,
			       sources, error))
			return NULL;
		note_allow_all(self, &self->rules[r]);
	}
	build_index(self, sources);
	return g_steal_pointer(&self);
}

WrFilterRuleset *
wr_filter_ruleset_new_from_data(const char *data, gsize len, GError **error)
{
	g_autoptr(JsonParser) parser = NULL;
	g_autoptr(GError) local_error = NULL;
	JsonNode *root;

	g_return_val_if_fail(data != NULL || len == 0, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	if (len > WR_FILTER_MAX_TEXT) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
			    "packet_filter: more than %u bytes", (guint) WR_FILTER_MAX_TEXT);
		return NULL;
	}
	if (len > 0 && memchr(data, '\0', len) != NULL) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "packet_filter: NUL byte in the text");
		return NULL;
	}
	/* json-glib parses recursively and has no depth limit */
	if (!wr_json_check_depth(data, len, WR_FILTER_MAX_DEPTH)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "packet_filter: nested deeper than %u", (guint) WR_FILTER_MAX_DEPTH);
		return NULL;
	}
	parser = json_parser_new_immutable();
	if (!json_parser_load_from_data(parser, len > 0 ? data : "", (gssize) len, &local_error)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "packet_filter: %s",
			    local_error->message);
		return NULL;
	}
	root = json_parser_get_root(parser);
	if (root == NULL) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "packet_filter: empty text");
		return NULL;
	}
	return wr_filter_ruleset_new_from_json(root, error);
}

/* flow tables */

enum {
	KIND_FLOW = 1,
	KIND_ECHO,
	KIND_FRAG,
};

/* a flow in the direction this node sent it: local is our side.  A fragment key is the
 * datagram's (proto, id, addresses), local being its destination (us).  Padding is zero, so
 * keys compare and hash as bytes. */
typedef struct {
	uint8_t family;
	uint8_t proto;
	uint8_t kind;
	uint8_t pad;
	uint16_t lport; /* our port; an echo's identifier; a fragment id's high half */
	uint16_t rport; /* the peer's port; the echo identifier again; the id's low half */
	uint8_t local[16];
	uint8_t remote[16];
} FlowKey;
_Static_assert(sizeof(FlowKey) == 40, "FlowKey is hashed as five 64-bit words");

#define NIL WR_SLOT_NIL

typedef struct {
	FlowKey key;
	gint64 expires;
	WrSlotLinks links;
	bool closing; /* TCP: we sent FIN or RST */
	bool replied; /* an inbound packet matched it */
} Entry;

typedef struct {
	GMutex lock;
	Entry *entries;
	WrSlots slots; /* over entries */
} Shard;

typedef struct {
	Shard *shards;
	guint n_shards;
} Table;

struct _WrPacketFilter {
	GMutex rules_lock;
	WrFilterRuleset *rules; /* protected by rules_lock; NULL denies all */
	uint64_t seed;
	Table flows;
	Table frags;
	atomic_uint_fast64_t reasons[WR_FILTER_N_REASONS];
	atomic_uint_fast64_t tracked;
	atomic_uint_fast64_t evicted;
};

static void
table_init(Table *t, guint capacity)
{
	guint per_shard;

	t->n_shards = capacity <= WR_FILTER_SHARD_THRESHOLD ? 1 : WR_FILTER_SHARDS;
	per_shard = (capacity + t->n_shards - 1) / t->n_shards;
	t->shards = g_new0(Shard, t->n_shards);
	for (guint s = 0; s < t->n_shards; s++) {
		Shard *sh = &t->shards[s];

		g_mutex_init(&sh->lock);
		sh->entries = g_new0(Entry, per_shard);
		wr_slots_init_for(&sh->slots, sh->entries, per_shard, Entry, links);
	}
}

static void
table_clear(Table *t)
{
	for (guint s = 0; s < t->n_shards; s++) {
		g_mutex_clear(&t->shards[s].lock);
		wr_slots_clear(&t->shards[s].slots);
		g_free(t->shards[s].entries);
	}
	g_free(t->shards);
}

static uint64_t
hash_key(const FlowKey *key, uint64_t seed)
{
	return wr_slots_hash(key, sizeof(*key), seed);
}

static Shard *
table_shard(const Table *t, uint64_t h)
{
	return &t->shards[(h >> 32) % t->n_shards];
}

/* all of the following: must hold the shard's lock */

static void
shard_remove(Shard *sh, uint32_t i, uint64_t h)
{
	wr_slots_remove(&sh->slots, i, h);
}

/* the live entry for key, or NIL; an expired one met on the way is removed */
static uint32_t
shard_find(Shard *sh, const FlowKey *key, uint64_t h, gint64 now)
{
	for (uint32_t i = wr_slots_first(&sh->slots, h); i != NIL; i = sh->entries[i].links.next) {
		Entry *e = &sh->entries[i];

		if (memcmp(&e->key, key, sizeof(*key)) != 0)
			continue;
		if (e->expires <= now) {
			shard_remove(sh, i, h);
			return NIL;
		}
		return i;
	}
	return NIL;
}

/* a new entry at the head of the LRU list; the oldest goes when the shard is full */
static uint32_t
shard_insert(WrPacketFilter *self, Shard *sh, const FlowKey *key, uint64_t h, gint64 now)
{
	uint32_t i;
	Entry *e;

	if (wr_slots_full(&sh->slots)) {
		uint32_t oldest = wr_slots_lru_tail(&sh->slots);
		Entry *old = &sh->entries[oldest];

		if (old->expires > now)
			atomic_fetch_add_explicit(&self->evicted, 1, memory_order_relaxed);
		shard_remove(sh, oldest, hash_key(&old->key, self->seed));
	}
	i = wr_slots_insert(&sh->slots, h);
	e = &sh->entries[i];
	e->key = *key;
	e->closing = false;
	e->replied = false;
	return i;
}

static gint64
flow_timeout(const Entry *e)
{
	if (e->key.kind == KIND_FRAG)
		return WR_FILTER_FRAGMENT_TIMEOUT;
	if (e->key.kind == KIND_ECHO)
		return WR_FILTER_ICMP_TIMEOUT;
	switch (e->key.proto) {
	case IPPROTO_TCP:
		if (e->closing)
			return WR_FILTER_TCP_CLOSING_TIMEOUT;
		return e->replied ? WR_FILTER_TCP_TIMEOUT : WR_FILTER_TCP_UNREPLIED_TIMEOUT;
	case IPPROTO_UDP:
		return WR_FILTER_UDP_TIMEOUT;
	default:
		return WR_FILTER_OTHER_TIMEOUT;
	}
}

/* a flow's key from one of its packets: as we send it (reply false: we are the source; an
 * echo request), or as its reply arrives (reply true: we are the destination; an echo reply) */
static bool
flow_key(FlowKey *key, const WrFilterPacket *p, bool reply)
{
	memset(key, 0, sizeof(*key));
	switch (p->l4) {
	case WR_FILTER_L4_PORTS:
	case WR_FILTER_L4_PORTLESS:
		key->kind = KIND_FLOW;
		break;
	case WR_FILTER_L4_ECHO_REQUEST:
		if (reply)
			return false;
		key->kind = KIND_ECHO;
		break;
	case WR_FILTER_L4_ECHO_REPLY:
		if (!reply)
			return false;
		key->kind = KIND_ECHO;
		break;
	default:
		return false;
	}
	key->family = p->family;
	key->proto = p->proto;
	key->lport = reply ? p->dport : p->sport;
	key->rport = reply ? p->sport : p->dport;
	memcpy(key->local, reply ? p->dst : p->src, sizeof(key->local));
	memcpy(key->remote, reply ? p->src : p->dst, sizeof(key->remote));
	return true;
}

/* the key of a packet we send, or of the packet an ICMP error quotes */
static bool
outbound_key(FlowKey *key, const WrFilterPacket *p)
{
	return flow_key(key, p, false);
}

/* the key of the flow an inbound packet would be the reply of */
static bool
reply_key(FlowKey *key, const WrFilterPacket *p)
{
	return flow_key(key, p, true);
}

static void
fragment_key(FlowKey *key, const WrFilterPacket *p)
{
	memset(key, 0, sizeof(*key));
	key->family = p->family;
	key->proto = p->proto;
	key->kind = KIND_FRAG;
	key->lport = (uint16_t) (p->frag_id >> 16);
	key->rport = (uint16_t) p->frag_id;
	memcpy(key->local, p->dst, sizeof(key->local));
	memcpy(key->remote, p->src, sizeof(key->remote));
}

/* whether key is live; refresh also extends it */
static bool
table_lookup(WrPacketFilter *self, Table *t, const FlowKey *key, gint64 now, bool refresh)
{
	uint64_t h = hash_key(key, self->seed);
	Shard *sh = table_shard(t, h);
	uint32_t i;

	g_mutex_lock(&sh->lock);
	i = shard_find(sh, key, h, now);
	if (i != NIL && refresh) {
		sh->entries[i].replied = true;
		sh->entries[i].expires = now + flow_timeout(&sh->entries[i]);
		wr_slots_touch(&sh->slots, i);
	}
	g_mutex_unlock(&sh->lock);
	return i != NIL;
}

static void
table_upsert(WrPacketFilter *self, Table *t, const FlowKey *key, gint64 now, uint8_t tcp_flags)
{
	uint64_t h = hash_key(key, self->seed);
	Shard *sh = table_shard(t, h);
	uint32_t i;
	Entry *e;

	g_mutex_lock(&sh->lock);
	i = shard_find(sh, key, h, now);
	if (i == NIL) {
		i = shard_insert(self, sh, key, h, now);
	} else {
		wr_slots_touch(&sh->slots, i);
	}
	e = &sh->entries[i];
	if (key->proto == IPPROTO_TCP && key->kind == KIND_FLOW) {
		/* a new SYN on the same ports starts over after a close */
		if ((tcp_flags & (WR_FILTER_TCP_FIN | WR_FILTER_TCP_RST)) != 0) {
			e->closing = true;
		} else if (e->closing && (tcp_flags & (WR_FILTER_TCP_SYN | WR_FILTER_TCP_ACK)) ==
						 WR_FILTER_TCP_SYN) {
			e->closing = false;
			e->replied = false;
		}
	}
	e->expires = now + flow_timeout(e);
	g_mutex_unlock(&sh->lock);
}

static guint
table_expire(Table *t, uint64_t seed, gint64 now)
{
	guint removed = 0;

	for (guint s = 0; s < t->n_shards; s++) {
		Shard *sh = &t->shards[s];
		uint32_t i;

		g_mutex_lock(&sh->lock);
		i = wr_slots_lru_tail(&sh->slots);
		while (i != NIL) {
			uint32_t prev = sh->entries[i].links.lru_prev;

			if (sh->entries[i].expires <= now) {
				shard_remove(sh, i, hash_key(&sh->entries[i].key, seed));
				removed++;
			}
			i = prev;
		}
		g_mutex_unlock(&sh->lock);
	}
	return removed;
}

static guint
table_count(Table *t)
{
	guint n = 0;

	for (guint s = 0; s < t->n_shards; s++) {
		g_mutex_lock(&t->shards[s].lock);
		n += t->shards[s].slots.used;
		g_mutex_unlock(&t->shards[s].lock);
	}
	return n;
}

/* the packet filter */

WrPacketFilter *
wr_packet_filter_new(guint max_flows, guint64 seed)
{
	WrPacketFilter *self;

	if (max_flows == 0)
		max_flows = WR_FILTER_DEFAULT_MAX_FLOWS;
	g_return_val_if_fail(max_flows >= WR_FILTER_MIN_MAX_FLOWS, NULL);
	g_return_val_if_fail(max_flows <= WR_FILTER_MAX_MAX_FLOWS, NULL);

	self = g_new0(WrPacketFilter, 1);
	g_mutex_init(&self->rules_lock);
	self->seed = seed;
	table_init(&self->flows, max_flows);
	table_init(&self->frags, MAX(max_flows / 8, 64));
	return self;
}

void
wr_packet_filter_free(WrPacketFilter *self)
{
	if (self == NULL)
		return;
	wr_filter_ruleset_unref(self->rules);
	g_mutex_clear(&self->rules_lock);
	table_clear(&self->flows);
	table_clear(&self->frags);
	g_free(self);
}

void
wr_packet_filter_set_ruleset(WrPacketFilter *self, WrFilterRuleset *ruleset)
{
	WrFilterRuleset *old;

	if (ruleset != NULL)
		(void) wr_filter_ruleset_ref(ruleset);
	g_mutex_lock(&self->rules_lock);
	old = self->rules;
	self->rules = ruleset;
	g_mutex_unlock(&self->rules_lock);
	/* the last packet still using the old set frees it, outside the lock */
	wr_filter_ruleset_unref(old);
}

WrFilterRuleset *
wr_packet_filter_dup_ruleset(WrPacketFilter *self)
{
	WrFilterRuleset *rules;

	g_mutex_lock(&self->rules_lock);
	rules = self->rules != NULL ? wr_filter_ruleset_ref(self->rules) : NULL;
	g_mutex_unlock(&self->rules_lock);
	return rules;
}

/* what tracking says about a packet no rule lets in */
static WrFilterReason
tracked_reason(WrPacketFilter *self, const WrFilterPacket *p, gint64 now)
{
	WrFilterPacket quoted;
	FlowKey key;

	switch (p->l4) {
	case WR_FILTER_L4_FRAGMENT:
		fragment_key(&key, p);
		return table_lookup(self, &self->frags, &key, now, false)
			       ? WR_FILTER_REASON_FRAGMENT_CONT
			       : WR_FILTER_REASON_FRAGMENT;
	case WR_FILTER_L4_ICMP_ERROR:
		/* an error about a packet we sent: the quoted packet is the flow's own */
		if (parse_ip(&quoted, p->inner, p->inner_len, true) < 0 ||
		    quoted.family != p->family || !outbound_key(&key, &quoted))
			return WR_FILTER_REASON_NO_RULE;
		return table_lookup(self, &self->flows, &key, now, false)
			       ? WR_FILTER_REASON_REPLY
			       : WR_FILTER_REASON_NO_RULE;
	default:
		if (!reply_key(&key, p))
			return WR_FILTER_REASON_NO_RULE;
		return table_lookup(self, &self->flows, &key, now, true) ? WR_FILTER_REASON_REPLY
									 : WR_FILTER_REASON_NO_RULE;
	}
}

WrFilterVerdict
wr_packet_filter_inbound(WrPacketFilter *self, const uint8_t *pkt, size_t len, gint64 now,
			 WrFilterReason *out_reason)
{
	WrFilterPacket p;
	WrFilterReason reason;
	bool accept;

	memset(&p, 0, sizeof(p));
	if (wr_filter_packet_parse(&p, pkt, len) < 0) {
		reason = WR_FILTER_REASON_MALFORMED;
	} else {
		WrFilterRuleset *rules = wr_packet_filter_dup_ruleset(self);

		reason = rules != NULL ? wr_filter_ruleset_match(rules, &p)
				       : WR_FILTER_REASON_NO_RULE;
		wr_filter_ruleset_unref(rules);
		if (reason == WR_FILTER_REASON_NO_RULE)
			reason = tracked_reason(self, &p, now);
	}
	accept = reason <= WR_FILTER_REASON_FRAGMENT_CONT;
	if (accept && p.first_fragment) {
		FlowKey key;

		fragment_key(&key, &p);
		table_upsert(self, &self->frags, &key, now, 0);
	}
	atomic_fetch_add_explicit(&self->reasons[reason], 1, memory_order_relaxed);
	if (out_reason != NULL)
		*out_reason = reason;
	return accept ? WR_FILTER_ACCEPT : WR_FILTER_DROP;
}

bool
wr_packet_filter_outbound(WrPacketFilter *self, const uint8_t *pkt, size_t len, gint64 now)
{
	WrFilterPacket p;
	FlowKey key;

	if (wr_filter_packet_parse(&p, pkt, len) < 0 || !outbound_key(&key, &p))
		return false;
	table_upsert(self, &self->flows, &key, now, p.tcp_flags);
	atomic_fetch_add_explicit(&self->tracked, 1, memory_order_relaxed);
	return true;
}

guint
wr_packet_filter_expire(WrPacketFilter *self, gint64 now)
{
	return table_expire(&self->flows, self->seed, now) +
	       table_expire(&self->frags, self->seed, now);
}

void
wr_packet_filter_get_stats(WrPacketFilter *self, WrPacketFilterStats *out)
{
	WrPacketFilterStats stats;

	memset(&stats, 0, sizeof(stats));
	for (guint i = 0; i < WR_FILTER_N_REASONS; i++)
		stats.reasons[i] = atomic_load_explicit(&self->reasons[i], memory_order_relaxed);
	stats.tracked = atomic_load_explicit(&self->tracked, memory_order_relaxed);
	stats.evicted = atomic_load_explicit(&self->evicted, memory_order_relaxed);
	stats.flows = table_count(&self->flows);
	stats.fragments = table_count(&self->frags);
	*out = stats;
}
