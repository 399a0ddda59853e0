/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer target for tailnet address allocation (wr-ipalloc).  The input is a sequence of
 * 3-byte operations on 100.100.100.0/22 (which holds the MagicDNS address): byte 0 picks
 * allocate, reserve or release (and whether by text), bytes 1-2 an offset in the prefix.  A
 * plain flag array shadows the allocator; invariants: an allocation is the lowest free address,
 * inside the prefix, never network, broadcast or 100.100.100.100, never handed out twice; the
 * IPv6 twin carries the IPv4 address; reserve and release succeed exactly when the shadow says
 * they should; the counts agree.
 */

#define G_LOG_DOMAIN "WrFuzzIpalloc"

#include "config.h"

#include <glib.h>
#include <string.h>

#include "wr-ipalloc.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PREFIX	  "100.100.100.0/22"
#define BASE	  0x64646400u
#define N_ADDRS	  1024u
#define MAGIC_IDX 100u /* 100.100.100.100 */
#define MAX_OPS	  4096

static gboolean
excluded(guint i)
{
	return i == 0 || i == N_ADDRS - 1 || i == MAGIC_IDX;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(WrIpalloc) a = wr_ipalloc_new(PREFIX, NULL, NULL);
	gboolean used[N_ADDRS] = {0};
	guint n_used = 0;

	g_assert(a != NULL);
	for (size_t off = 0; off + 3 <= size && off / 3 < MAX_OPS; off += 3) {
		guint op = data[off] % 5;
		guint i = (((guint) data[off + 1] << 8) | data[off + 2]) % N_ADDRS;
		uint32_t addr = BASE + i;
		uint8_t bytes[4] = {(uint8_t) (addr >> 24), (uint8_t) (addr >> 16),
				    (uint8_t) (addr >> 8), (uint8_t) addr};
		gboolean ok;
		GError *error = NULL;

		if (op == 0) {
			WrIpallocPair pair;
			guint lowest = 0;

			while (lowest < N_ADDRS && (excluded(lowest) || used[lowest]))
				lowest++;
			ok = wr_ipalloc_allocate(a, &pair, &error);
			g_assert(ok == (lowest < N_ADDRS));
			if (ok) {
				uint32_t got = ((uint32_t) pair.v4[0] << 24) |
					       ((uint32_t) pair.v4[1] << 16) |
					       ((uint32_t) pair.v4[2] << 8) | pair.v4[3];

				g_assert(got == BASE + lowest);
				g_assert(!used[lowest] && !excluded(lowest));
				g_assert(memcmp(pair.v6 + 12, pair.v4, 4) == 0);
				g_assert(pair.v6[0] == 0xfd && pair.v6[11] == 0);
				used[lowest] = TRUE;
				n_used++;
			} else {
				g_assert(g_error_matches(error, WR_IPALLOC_ERROR,
							 WR_IPALLOC_ERROR_EXHAUSTED));
			}
		} else if (op == 1 || op == 3) {
			gboolean should = !excluded(i) && !used[i];

			if (op == 1) {
				ok = wr_ipalloc_reserve(a, bytes, &error);
			} else {
				char text[32];

				g_snprintf(text, sizeof(text), "%u.%u.%u.%u", bytes[0], bytes[1],
					   bytes[2], bytes[3]);
				ok = wr_ipalloc_reserve_text(a, text, &error);
			}
			g_assert(ok == should);
			if (ok) {
				used[i] = TRUE;
				n_used++;
			}
		} else {
			gboolean should = !excluded(i) && used[i];

			if (op == 2) {
				ok = wr_ipalloc_release(a, bytes, &error);
			} else {
				char text[64];

				g_snprintf(text, sizeof(text), "fd7a:115c:a1e0::%x:%x/128",
					   (addr >> 16), addr & 0xffff);
				ok = wr_ipalloc_release_text(a, text, &error);
			}
			g_assert(ok == should);
			if (ok) {
				used[i] = FALSE;
				n_used--;
			}
		}
		g_assert(ok || (error != NULL && error->domain == WR_IPALLOC_ERROR &&
				error->message[0] != '\0'));
		g_clear_error(&error);
		g_assert(wr_ipalloc_is_used(a, bytes) == (!excluded(i) && used[i]));
		g_assert(wr_ipalloc_is_allocatable(a, bytes) == !excluded(i));
		g_assert(wr_ipalloc_n_used(a) == n_used);
		g_assert(wr_ipalloc_n_free(a) == N_ADDRS - 3 - n_used);
	}
	return 0;
}
