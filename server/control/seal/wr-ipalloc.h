/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Tailnet address allocation (docs/protocols/control.md, "Addresses").  Each node gets one
 * IPv4 address from a prefix (default 100.64.0.0/10) and its IPv6 twin: the ULA prefix (default
 * fd7a:115c:a1e0::/48) with the IPv4 address in its low 32 bits, so the pair is unique and
 * derived, never stored separately.  Allocation hands out the lowest free address; stability
 * across restarts comes from the store: the server reserves every stored assignment at start-up
 * before allocating anything new.
 *
 * Never handed out: the prefix's first (network) and last (broadcast) addresses, 100.100.100.100
 * (MagicDNS) and the IPv4 address whose twin would be <prefix>::53 (the IPv6 resolver address).
 *
 * Memory is one bit per address of the IPv4 prefix plus a summary tree (1/63 more); every
 * operation is O(log64 n).  Pure: no I/O, no logging.
 */

#pragma once

#include <glib.h>
#include <stdint.h>

#define WR_IPALLOC_DEFAULT_V4 "100.64.0.0/10"
#define WR_IPALLOC_DEFAULT_V6 "fd7a:115c:a1e0::/48"
/* the IPv4 prefix lengths accepted: at most 2^24 addresses (2 MiB of bitmap), at least 2 usable */
#define WR_IPALLOC_MIN_V4_CIDR 8
#define WR_IPALLOC_MAX_V4_CIDR 30
/* the IPv6 prefix must be ULA (fc00::/7) and leave the low 32 bits for the IPv4 address */
#define WR_IPALLOC_MIN_V6_CIDR 48
#define WR_IPALLOC_MAX_V6_CIDR 96
/* "100.64.0.5/32" and "fd7a:115c:a1e0::6440:5/128" fit */
#define WR_IPALLOC_STRLEN 48

#define WR_IPALLOC_ERROR (wr_ipalloc_error_quark())
GQuark
wr_ipalloc_error_quark(void);

typedef enum {
	WR_IPALLOC_ERROR_BAD_PREFIX,  /* a configured prefix is refused */
	WR_IPALLOC_ERROR_BAD_ADDRESS, /* not an IPv4/IPv6 address */
	WR_IPALLOC_ERROR_OUTSIDE,     /* not inside the prefixes */
	WR_IPALLOC_ERROR_EXCLUDED,    /* network, broadcast, MagicDNS */
	WR_IPALLOC_ERROR_IN_USE,      /* reserve of an address already taken */
	WR_IPALLOC_ERROR_NOT_IN_USE,  /* release of a free address */
	WR_IPALLOC_ERROR_EXHAUSTED,   /* no free address left */
} WrIpallocError;

typedef struct {
	uint8_t v4[4];	/* network order */
	uint8_t v6[16]; /* the twin */
} WrIpallocPair;

typedef struct _WrIpalloc WrIpalloc;

/*
 * v4_prefix and v6_prefix in CIDR text, NULL for the defaults.  Host bits must be clear.  NULL
 * with WR_IPALLOC_ERROR_BAD_PREFIX saying what is wrong.
 */
WrIpalloc *
wr_ipalloc_new(const char *v4_prefix, const char *v6_prefix, GError **error);
void
wr_ipalloc_free(WrIpalloc *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrIpalloc, wr_ipalloc_free)

/* the lowest free address pair; EXHAUSTED when none is left, out untouched */
gboolean
wr_ipalloc_allocate(WrIpalloc *self, WrIpallocPair *out, GError **error);
/* marks an existing assignment (IPv4, network order) taken: OUTSIDE, EXCLUDED or IN_USE */
gboolean
wr_ipalloc_reserve(WrIpalloc *self, const uint8_t v4[4], GError **error);
/* frees an assignment: OUTSIDE, EXCLUDED or NOT_IN_USE */
gboolean
wr_ipalloc_release(WrIpalloc *self, const uint8_t v4[4], GError **error);
/*
 * The same from the text a store keeps ("100.64.0.5", "100.64.0.5/32", "fd7a:…::6440:5/128");
 * an IPv6 address must be the twin of an IPv4 address in the prefix.
 */
gboolean
wr_ipalloc_reserve_text(WrIpalloc *self, const char *text, GError **error);
gboolean
wr_ipalloc_release_text(WrIpalloc *self, const char *text, GError **error);

gboolean
wr_ipalloc_is_used(const WrIpalloc *self, const uint8_t v4[4]);
/* whether the address may ever be handed out (inside the prefix, not excluded) */
gboolean
wr_ipalloc_is_allocatable(const WrIpalloc *self, const uint8_t v4[4]);
/* the IPv6 twin of an IPv4 address (any, not only allocated ones) */
void
wr_ipalloc_twin(const WrIpalloc *self, const uint8_t v4[4], uint8_t out_v6[16]);
/* addresses handed out or reserved, and still free */
guint
wr_ipalloc_n_used(const WrIpalloc *self);
guint
wr_ipalloc_n_free(const WrIpalloc *self);

/* "100.64.0.5/32" and "fd7a:115c:a1e0::6440:5/128", as Node.addresses lists them */
void
wr_ipalloc_format(const WrIpallocPair *pair, char out_v4[WR_IPALLOC_STRLEN],
		  char out_v6[WR_IPALLOC_STRLEN]);
