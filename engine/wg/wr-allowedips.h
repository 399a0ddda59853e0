/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Cryptokey routing: a longest-prefix-match trie for IPv4 and IPv6 whose values are peers.
 * Outbound, the destination address picks the peer; inbound, the source address must map
 * back to the peer that sent the packet.  A prefix belongs to exactly one peer: inserting it
 * for another peer moves it.  Host bits are cleared on insert.  The trie is path-compressed
 * so a lookup costs at most one step per differing bit run.  Not thread-safe: the owner locks.
 */

#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct WrAllowedIps WrAllowedIps;

WrAllowedIps *
wr_allowedips_new(void);
void
wr_allowedips_free(WrAllowedIps *self);

/* family is AF_INET (addr 4 bytes, cidr <= 32) or AF_INET6 (16 bytes, cidr <= 128);
 * returns 0, -EINVAL for a bad family or cidr, -ENOMEM never (aborts like g_malloc) */
int
wr_allowedips_insert(WrAllowedIps *self, int family, const uint8_t *addr, uint8_t cidr, void *peer);
/* removes the exact prefix if it belongs to peer; returns 0 or -ENOENT */
int
wr_allowedips_remove(WrAllowedIps *self, int family, const uint8_t *addr, uint8_t cidr, void *peer);
/* removes every prefix of peer */
void
wr_allowedips_remove_by_peer(WrAllowedIps *self, void *peer);
/* the peer of the longest matching prefix, or NULL */
void *
wr_allowedips_lookup(const WrAllowedIps *self, int family, const uint8_t *addr);

typedef void (*WrAllowedIpsFunc)(int family, const uint8_t *addr, uint8_t cidr, void *user_data);
/* calls func for each prefix of peer, v4 before v6, in address order */
void
wr_allowedips_foreach_by_peer(const WrAllowedIps *self, void *peer, WrAllowedIpsFunc func,
			      void *user_data);
/* number of prefixes in the trie */
size_t
wr_allowedips_count(const WrAllowedIps *self);
