/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * MagicDNS's server (docs/magicdns.md): DNS over UDP and TCP on the given addresses (warrend's
 * are 100.100.100.100:53 and [fd7a:115c:a1e0::53]:53), every query through a WrDnsResolver, and
 * what it does not answer forwarded to upstream name servers.
 *
 *   - The listening sockets are bound with IP_FREEBIND, so they can be made before the address
 *     is on the TUN (or while an IPv6 address is still tentative).
 *   - Forwarding is asynchronous and bounded: at most WR_DNS_SERVER_MAX_INFLIGHT queries
 *     upstream (past that SERVFAIL at once), each on a UDP socket of its own (a fresh source
 *     port) with a fresh random id; a reply counts only from the upstream's address, with that
 *     id and the same question.  A query goes first to the upstream that answered last, then
 *     every WR_DNS_SERVER_RETRY_US to the next one; after WR_DNS_SERVER_TIMEOUT_US the client
 *     gets SERVFAIL.  No upstream at all:
 *     SERVFAIL.  A TCP client's query is forwarded over TCP (so that a long answer is whole).
 *   - TCP: at most WR_DNS_SERVER_MAX_TCP connections, one query at a time each (RFC 7766
 *     allows that), closed after WR_DNS_SERVER_TCP_IDLE_US without a query.
 *
 * Runs on the thread-default main context of wr_dns_server_new().
 */

#pragma once

#include <gio/gio.h>

#include "wr-addr.h"
#include "wr-dns-resolver.h"

#define WR_DNS_SERVER_MAX_INFLIGHT  256
#define WR_DNS_SERVER_TIMEOUT_US    (5 * G_USEC_PER_SEC)
#define WR_DNS_SERVER_RETRY_US	    (2 * G_USEC_PER_SEC)
#define WR_DNS_SERVER_MAX_TCP	    64
#define WR_DNS_SERVER_TCP_IDLE_US   (10 * G_USEC_PER_SEC)
#define WR_DNS_SERVER_MAX_UPSTREAMS 8

typedef struct _WrDnsServer WrDnsServer;

/*
 * Listens on every endpoint of listen (UDP and TCP each).  resolver is borrowed and must
 * outlive the server; change it at will between queries.  NULL with an error naming the address
 * that could not be bound; nothing is left open then.
 */
WrDnsServer *
wr_dns_server_new(WrDnsResolver *resolver, const WrEndpoint *listen, guint n_listen,
		  GError **error);
/* stops listening, answers nothing more (pending queries are dropped); accepts NULL */
void
wr_dns_server_free(WrDnsServer *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrDnsServer, wr_dns_server_free)

/* the upstream name servers: IP addresses (port 53) or "ip:port" / "[ip6]:port" texts (at
 * most WR_DNS_SERVER_MAX_UPSTREAMS; bad ones are skipped); NULL or empty: none */
void
wr_dns_server_set_upstreams(WrDnsServer *self, const char *const *upstreams);
/* how many upstreams are in use */
guint
wr_dns_server_get_n_upstreams(WrDnsServer *self);

/* counters, for logs and tests */
typedef struct {
	guint64 queries;   /* UDP and TCP */
	guint64 answered;  /* from the resolver */
	guint64 forwarded; /* sent upstream */
	guint64 servfail;  /* upstream did not answer in time, or too many in flight */
	guint64 dropped;   /* not answerable at all */
} WrDnsServerStats;

void
wr_dns_server_get_stats(WrDnsServer *self, WrDnsServerStats *out);
