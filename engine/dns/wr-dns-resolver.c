/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * MagicDNS's resolver core (wr-dns-resolver.h).  Three tables over the same hosts: by the whole
 * name, by its first label, and by address (for PTR); names are keyed in ASCII lower case, as
 * DNS compares them.
 */
#define G_LOG_DOMAIN "WrDnsResolver"

#include "config.h"

#include <string.h>
#include <sys/socket.h>

#include "wr-dns-resolver.h"

#define IPV4_LEN 4
#define IPV6_LEN 16
/* labels of a reverse name: 4 for IPv4, one per nibble for IPv6 */
#define REV4_LABELS 4
#define REV6_LABELS 32

typedef struct {
	char *name;    /* as the map wrote it, no final dot */
	GArray *addrs; /* WrCidr, single addresses */
} Host;

struct _WrDnsResolver {
	char *domain;
	GHashTable *by_name;  /* lower-case name -> Host (owned) */
	GHashTable *by_label; /* lower-case first label -> Host */
	GHashTable *by_addr;  /* GBytes of 4 or 16 address bytes -> Host */
	WrCidr cgnat, ula;
};

static void
host_free(gpointer data)
{
	Host *h = data;

	g_free(h->name);
	g_array_unref(h->addrs);
	g_free(h);
}

WrDnsResolver *
wr_dns_resolver_new(void)
{
	WrDnsResolver *self = g_new0(WrDnsResolver, 1);

	self->domain = g_strdup("");
	self->by_name = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, host_free);
	self->by_label = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	self->by_addr = g_hash_table_new_full(g_bytes_hash, g_bytes_equal,
					      (GDestroyNotify) g_bytes_unref, NULL);
	(void) wr_cidr_parse(&self->cgnat, WR_DNS_RESOLVER_CGNAT);
	(void) wr_cidr_parse(&self->ula, WR_DNS_RESOLVER_ULA);
	return self;
}

void
wr_dns_resolver_free(WrDnsResolver *self)
{
	if (self == NULL)
		return;
	g_hash_table_unref(self->by_addr);
	g_hash_table_unref(self->by_label);
	g_hash_table_unref(self->by_name);
	g_free(self->domain);
	g_free(self);
}

/* name in the form wr_dns_name_read gives (no final dot), or NULL when it is not a name */
static char *
canonical_name(const char *text)
{
	uint8_t wire[WR_DNS_MAX_NAME];
	char out[WR_DNS_NAME_STRLEN];
	size_t off = 0;
	int len = wr_dns_name_to_wire(text, wire);

	if (len < 0 || wr_dns_name_read(wire, (size_t) len, &off, out, NULL, NULL) < 0)
		return NULL;
	return g_strdup(out);
}

gboolean
wr_dns_resolver_set_domain(WrDnsResolver *self, const char *domain)
{
	g_autofree char *d = canonical_name(domain);

	if (d == NULL)
		return FALSE;
	g_hash_table_remove_all(self->by_addr);
	g_hash_table_remove_all(self->by_label);
	g_hash_table_remove_all(self->by_name);
	g_free(self->domain);
	self->domain = g_steal_pointer(&d);
	return TRUE;
}

const char *
wr_dns_resolver_get_domain(const WrDnsResolver *self)
{
	return self->domain;
}

guint
wr_dns_resolver_get_n_hosts(const WrDnsResolver *self)
{
	return g_hash_table_size(self->by_name);
}

static GBytes *
addr_key(const WrCidr *c)
{
	return g_bytes_new(c->addr, c->family == AF_INET ? IPV4_LEN : IPV6_LEN);
}

gboolean
wr_dns_resolver_add_host(WrDnsResolver *self, const char *name, const WrCidr *addrs, size_t n_addrs)
{
	g_autofree char *canon = canonical_name(name);
	g_autofree char *key = NULL;
	Host *h;
	const char *dot;

	if (canon == NULL || self->domain[0] == '\0' || !wr_dns_name_under(canon, self->domain) ||
	    wr_dns_name_equal(canon, self->domain) ||
	    g_hash_table_size(self->by_name) >= WR_DNS_RESOLVER_MAX_HOSTS)
		return FALSE;
	key = g_ascii_strdown(canon, -1);
	if (g_hash_table_contains(self->by_name, key))
		return FALSE;
	h = g_new0(Host, 1);
	h->name = g_steal_pointer(&canon);
	h->addrs = g_array_new(FALSE, FALSE, sizeof(WrCidr));
	for (size_t i = 0; i < n_addrs; i++) {
		const WrCidr *c = &addrs[i];
		g_autoptr(GBytes) k = NULL;

		if ((c->family == AF_INET && c->cidr != 32) ||
		    (c->family == AF_INET6 && c->cidr != 128) ||
		    (c->family != AF_INET && c->family != AF_INET6))
			continue;
		g_array_append_val(h->addrs, *c);
		k = addr_key(c);
		if (!g_hash_table_contains(self->by_addr, k))
			g_hash_table_insert(self->by_addr, g_steal_pointer(&k), h);
	}
	dot = strchr(key, '.');
	if (dot != NULL) {
		g_autofree char *label = g_strndup(key, (gsize) (dot - key));

		if (!g_hash_table_contains(self->by_label, label))
			g_hash_table_insert(self->by_label, g_steal_pointer(&label), h);
	}
	g_hash_table_insert(self->by_name, g_steal_pointer(&key), h);
	return TRUE;
}

static const Host *
lookup_name(WrDnsResolver *self, const char *name)
{
	g_autofree char *key = g_ascii_strdown(name, -1);

	return g_hash_table_lookup(self->by_name, key);
}

static const Host *
lookup_label(WrDnsResolver *self, const char *label)
{
	g_autofree char *key = g_ascii_strdown(label, -1);

	return g_hash_table_lookup(self->by_label, key);
}

static const Host *
lookup_addr(WrDnsResolver *self, const WrCidr *c)
{
	g_autoptr(GBytes) key = addr_key(c);

	return g_hash_table_lookup(self->by_addr, key);
}

static gboolean
cidr_contains(const WrCidr *net, const WrCidr *a)
{
	guint full = net->cidr / 8, rest = net->cidr % 8;

	if (net->family != a->family || memcmp(net->addr, a->addr, full) != 0)
		return FALSE;
	if (rest == 0)
		return TRUE;
	return ((net->addr[full] ^ a->addr[full]) & (uint8_t) (0xff << (8 - rest))) == 0;
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "4.3.2.1.in-addr.arpa" -> 1.2.3.4/32, "<32 nibbles>.ip6.arpa" -> /128; FALSE otherwise */
static gboolean
parse_reverse(const char *name, WrCidr *out)
{
	g_auto(GStrv) labels = g_strsplit(name, ".", -1);
	guint n = g_strv_length(labels);
	WrCidr c;

	memset(&c, 0, sizeof(c));
	if (n == REV4_LABELS + 2 && g_ascii_strcasecmp(labels[4], "in-addr") == 0 &&
	    g_ascii_strcasecmp(labels[5], "arpa") == 0) {
		for (guint i = 0; i < REV4_LABELS; i++) {
			uint32_t v;

			if (!wr_parse_decimal(labels[i], strlen(labels[i]), 255, &v))
				return FALSE;
			c.addr[REV4_LABELS - 1 - i] = (uint8_t) v;
		}
		c.family = AF_INET;
		c.cidr = 32;
		*out = c;
		return TRUE;
	}
	if (n == REV6_LABELS + 2 && g_ascii_strcasecmp(labels[32], "ip6") == 0 &&
	    g_ascii_strcasecmp(labels[33], "arpa") == 0) {
		for (guint i = 0; i < REV6_LABELS; i++) {
			int v = strlen(labels[i]) == 1 ? hex_value(labels[i][0]) : -1;
			guint nibble = REV6_LABELS - 1 - i;

			if (v < 0)
				return FALSE;
			c.addr[nibble / 2] |= (uint8_t) (nibble % 2 == 0 ? v << 4 : v);
		}
		c.family = AF_INET6;
		c.cidr = 128;
		*out = c;
		return TRUE;
	}
	return FALSE;
}

/* the answers of host for qtype (A, AAAA or both for ANY) */
static size_t
host_answers(const Host *h, uint16_t qtype, WrDnsAnswer *out, size_t max)
{
	size_t n = 0;

	for (guint i = 0; i < h->addrs->len && n < max; i++) {
		const WrCidr *c = &g_array_index(h->addrs, WrCidr, i);
		gboolean v4 = c->family == AF_INET;

		if (qtype == WR_DNS_TYPE_ANY || (v4 && qtype == WR_DNS_TYPE_A) ||
		    (!v4 && qtype == WR_DNS_TYPE_AAAA)) {
			memset(&out[n], 0, sizeof(out[n]));
			out[n].type = v4 ? WR_DNS_TYPE_A : WR_DNS_TYPE_AAAA;
			out[n].ttl = WR_DNS_RESOLVER_TTL;
			memcpy(out[n].addr, c->addr, v4 ? IPV4_LEN : IPV6_LEN);
			n++;
		}
	}
	return n;
}

static WrDnsVerdict
reply(const WrDnsMessage *q, WrDnsRcode rcode, const WrDnsAnswer *answers, size_t n, bool over_udp,
      uint8_t *out, size_t max_len, size_t *out_len)
{
	int r = wr_dns_build_reply(q, rcode, true, answers, n, over_udp, out, max_len);

	if (r < 0)
		return WR_DNS_VERDICT_DROP;
	*out_len = (size_t) r;
	return WR_DNS_VERDICT_REPLY;
}

static gboolean
class_ok(uint16_t qclass)
{
	return qclass == WR_DNS_CLASS_IN || qclass == WR_DNS_CLASS_ANY;
}

/* a PTR-shaped name: a node's address, one of ours that no node has, or someone else's */
static WrDnsVerdict
handle_reverse(WrDnsResolver *self, const WrDnsMessage *q, const WrCidr *rev, bool over_udp,
	       uint8_t *out, size_t max_len, size_t *out_len, WrDnsMessage *out_query)
{
	const Host *host = lookup_addr(self, rev);
	WrDnsAnswer ptr;

	if (host == NULL && !cidr_contains(&self->cgnat, rev) && !cidr_contains(&self->ula, rev)) {
		if (out_query != NULL)
			*out_query = *q;
		return WR_DNS_VERDICT_FORWARD;
	}
	if (!class_ok(q->qclass))
		return reply(q, WR_DNS_RCODE_REFUSED, NULL, 0, over_udp, out, max_len, out_len);
	if (host == NULL)
		return reply(q, WR_DNS_RCODE_NXDOMAIN, NULL, 0, over_udp, out, max_len, out_len);
	if (q->qtype != WR_DNS_TYPE_PTR && q->qtype != WR_DNS_TYPE_ANY)
		return reply(q, WR_DNS_RCODE_NOERROR, NULL, 0, over_udp, out, max_len, out_len);
	memset(&ptr, 0, sizeof(ptr));
	ptr.type = WR_DNS_TYPE_PTR;
	ptr.ttl = WR_DNS_RESOLVER_TTL;
	ptr.ptr = host->name;
	return reply(q, WR_DNS_RCODE_NOERROR, &ptr, 1, over_udp, out, max_len, out_len);
}

WrDnsVerdict
wr_dns_resolver_handle(WrDnsResolver *self, const uint8_t *msg, size_t len, bool over_udp,
		       uint8_t *out, size_t max_len, size_t *out_len, WrDnsMessage *out_query)
{
	WrDnsMessage q;
	WrDnsHeader h;
	WrDnsAnswer answers[WR_DNS_RESOLVER_MAX_ADDRS];
	const Host *host = NULL;
	WrCidr rev;
	int r;

	/* not even a header, or a reply: never answer those (no reflection loops) */
	if (wr_dns_parse_header(msg, len, &h) < 0 || (h.flags & WR_DNS_FLAG_QR) != 0)
		return WR_DNS_VERDICT_DROP;
	if (wr_dns_parse(msg, len, &q) < 0 || !q.has_question) {
		r = wr_dns_build_error(&h, WR_DNS_RCODE_FORMERR, out, max_len);
		if (r < 0)
			return WR_DNS_VERDICT_DROP;
		*out_len = (size_t) r;
		return WR_DNS_VERDICT_REPLY;
	}
	if ((q.header.flags & WR_DNS_OPCODE_MASK) != WR_DNS_OPCODE_QUERY)
		return reply(&q, WR_DNS_RCODE_NOTIMP, NULL, 0, over_udp, out, max_len, out_len);
	/* RFC 6891 §6.1.3: we speak EDNS version 0 only */
	if (q.has_edns && q.edns_version != 0)
		return reply(&q, WR_DNS_RCODE_BADVERS, NULL, 0, over_udp, out, max_len, out_len);

	if (self->domain[0] != '\0' && wr_dns_name_under(q.qname, self->domain)) {
		if (!class_ok(q.qclass))
			return reply(&q, WR_DNS_RCODE_REFUSED, NULL, 0, over_udp, out, max_len,
				     out_len);
		if (wr_dns_name_equal(q.qname, self->domain))
			return reply(&q, WR_DNS_RCODE_NOERROR, NULL, 0, over_udp, out, max_len,
				     out_len);
		host = lookup_name(self, q.qname);
		if (host == NULL)
			return reply(&q, WR_DNS_RCODE_NXDOMAIN, NULL, 0, over_udp, out, max_len,
				     out_len);
	} else if (parse_reverse(q.qname, &rev)) {
		return handle_reverse(self, &q, &rev, over_udp, out, max_len, out_len, out_query);
	} else if (self->domain[0] != '\0' && q.qname[0] != '\0' && strchr(q.qname, '.') == NULL &&
		   class_ok(q.qclass)) {
		host = lookup_label(self, q.qname);
	}
	if (host == NULL) {
		if (out_query != NULL)
			*out_query = q;
		return WR_DNS_VERDICT_FORWARD;
	}
	return reply(&q, WR_DNS_RCODE_NOERROR, answers,
		     host_answers(host, q.qtype, answers, G_N_ELEMENTS(answers)), over_udp, out,
		     max_len, out_len);
}

GStrv
wr_dns_parse_resolv_conf(const char *text, guint max,
			 gboolean (*skip)(const char *addr, gpointer user_data), gpointer user_data)
{
	g_autoptr(GStrvBuilder) b = g_strv_builder_new();
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	guint n = 0;

	for (guint i = 0; lines[i] != NULL && n < max; i++) {
		g_auto(GStrv) words = NULL;
		const char *word[2] = {NULL, NULL};
		char *comment = strpbrk(lines[i], "#;");
		guint w = 0;
		WrCidr c;

		if (comment != NULL)
			*comment = '\0';
		words = g_strsplit_set(lines[i], " \t\r", -1);
		/* the first two non-empty words */
		for (guint j = 0; words[j] != NULL && w < 2; j++) {
			if (words[j][0] != '\0')
				word[w++] = words[j];
		}
		if (w < 2 || strcmp(word[0], "nameserver") != 0)
			continue;
		/* wr_cidr_parse takes "a/n"; a name server is a plain address */
		if (strchr(word[1], '/') != NULL || strchr(word[1], '%') != NULL ||
		    !wr_cidr_parse(&c, word[1]))
			continue;
		if (skip != NULL && skip(word[1], user_data))
			continue;
		g_strv_builder_add(b, word[1]);
		n++;
	}
	return g_strv_builder_end(b);
}
