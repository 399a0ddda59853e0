/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * MagicDNS's resolver core (docs/magicdns.md): what warrend's DNS server does with one query.
 *
 *   name.<domain>            A / AAAA of the node with that DNS name (from the network map);
 *                            other types: NOERROR with no answer; a name in the domain that no
 *                            node has (and anything below a node's name): NXDOMAIN.  The domain
 *                            itself exists (NOERROR, no data).
 *   name (one label)         the node whose name's first label it is, as name.<domain>; an
 *                            unknown single label is forwarded like any other name.
 *   x.x.x.x.in-addr.arpa,    PTR of a node's address; an address in 100.64.0.0/10 or in
 *   n.n.(32).ip6.arpa        fd7a:115c:a1e0::/48 that no node has: NXDOMAIN; other addresses
 *                            are forwarded.
 *   anything else            forwarded upstream (the caller does that: WR_DNS_VERDICT_FORWARD).
 *
 * Replies from here are authoritative (AA) with a TTL of WR_DNS_RESOLVER_TTL.  A query that is
 * not a query (QR set) is dropped; a message that does not parse gets FORMERR, an opcode other
 * than QUERY NOTIMP, an EDNS version other than 0 BADVERS, a class other than IN inside the
 * tailnet's names REFUSED.
 *
 * Pure: no I/O, no clock; not thread-safe (the server runs it on one main context).
 */

#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wr-addr.h"
#include "wr-dns.h"

/* seconds: the map can move a name, so caches should not keep it long */
#define WR_DNS_RESOLVER_TTL 300
/* the tailnet's address ranges whose reverse names we own */
#define WR_DNS_RESOLVER_CGNAT "100.64.0.0/10"
#define WR_DNS_RESOLVER_ULA   "fd7a:115c:a1e0::/48"
/* limits: a map past them gets the first ones only */
#define WR_DNS_RESOLVER_MAX_HOSTS 65536
#define WR_DNS_RESOLVER_MAX_ADDRS 8 /* answered per name and type */

typedef struct _WrDnsResolver WrDnsResolver;

WrDnsResolver *
wr_dns_resolver_new(void);
void
wr_dns_resolver_free(WrDnsResolver *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrDnsResolver, wr_dns_resolver_free)

/*
 * Replaces the domain and forgets every host.  domain is text ("tailnet.test", a final dot is
 * ignored); "" turns the tailnet part off (everything is forwarded).  FALSE (nothing changed)
 * when domain is not a DNS name.
 */
gboolean
wr_dns_resolver_set_domain(WrDnsResolver *self, const char *domain);
/* the domain without a final dot, "" when none */
const char *
wr_dns_resolver_get_domain(const WrDnsResolver *self);

/*
 * Adds a node: its DNS name (under the domain; a final dot is ignored) and its addresses
 * (single addresses: a /32 or /128; wider prefixes are routes and skipped).  FALSE when the
 * name is not under the domain, not a DNS name, already there, or over the limit.
 */
gboolean
wr_dns_resolver_add_host(WrDnsResolver *self, const char *name, const WrCidr *addrs,
			 size_t n_addrs);
guint
wr_dns_resolver_get_n_hosts(const WrDnsResolver *self);

typedef enum {
	WR_DNS_VERDICT_DROP,	/* nothing to send back */
	WR_DNS_VERDICT_REPLY,	/* send out[0..*out_len) back */
	WR_DNS_VERDICT_FORWARD, /* ask upstream; *out_query is the parsed query */
} WrDnsVerdict;

/*
 * One query (msg, len) that came over UDP (over_udp: the reply honours the client's EDNS size
 * or 512) or TCP.  out has room for max_len bytes (WR_DNS_MAX_MSG is always enough; the
 * replies built here are short).  out_query may be NULL.
 */
WrDnsVerdict
wr_dns_resolver_handle(WrDnsResolver *self, const uint8_t *msg, size_t len, bool over_udp,
		       uint8_t *out, size_t max_len, size_t *out_len, WrDnsMessage *out_query);

/*
 * The name servers of a resolv.conf text, in order ("nameserver ADDR" lines; at most max,
 * comments and other keywords ignored), as plain IP address texts.  Addresses for which
 * skip(addr, user_data) is TRUE are left out (our own listening addresses: no loops).  A
 * scoped IPv6 address ("fe80::1%eth0") is left out too: it would need the interface.
 */
GStrv
wr_dns_parse_resolv_conf(const char *text, guint max,
			 gboolean (*skip)(const char *addr, gpointer user_data),
			 gpointer user_data);
