/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The TUN side of the data plane.  Two backends behind one small interface:
 *  - linux: /dev/net/tun, IFF_TUN | IFF_NO_PI, with IFF_VNET_HDR offloads when the kernel
 *    accepts them (TSO on read: one read brings up to 64 KiB of a TCP stream, which is cut
 *    into MTU-sized packets here; GRO on write: consecutive TCP segments of one flow are
 *    coalesced into one write).  Offloads are invisible above this file: callers always read
 *    and write plain IP packets.
 *  - memory: an in-process pair for tests; what one end writes the other reads.
 * The read and write calls block and are meant for the data-plane threads, one reader and one
 * writer per device; nothing here touches a GMainContext.
 */

#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wr-packet.h"

typedef struct WrTun WrTun;

typedef struct {
	uint64_t read_packets;
	uint64_t read_superpackets;  /* TSO reads that were segmented */
	uint64_t written_packets;    /* IP packets handed to write_batch */
	uint64_t written_writes;     /* write() calls they took after coalescing */
	uint64_t dropped_malformed;  /* offload headers or packets that made no sense */
	uint64_t dropped_queue_full; /* memory pair: written past the other end's queue limit */
} WrTunStats;

/*
 * Creates (or attaches to) the TUN interface name; name may be a pattern such as "wr%d".
 * offload: try IFF_VNET_HDR with TSO/GRO, falling back to plain packets when refused.
 */
WrTun *
wr_tun_linux_open(const char *name, bool offload, GError **error);
/* an in-memory pair; each end queues at most queue_limit packets, dropping (counted) past it */
void
wr_tun_memory_pair_new(unsigned int queue_limit, WrTun **out_a, WrTun **out_b);

/* closes the fd and frees; accepts NULL */
void
wr_tun_free(WrTun *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrTun, wr_tun_free)

const char *
wr_tun_get_name(WrTun *self);
/* the interface MTU as the kernel reports it now (memory: 1420 unless set) */
int
wr_tun_get_mtu(WrTun *self);
void
wr_tun_memory_set_mtu(WrTun *self, int mtu);
bool
wr_tun_has_offload(WrTun *self);

/*
 * Blocks until at least one packet is there, then fills up to max packets without blocking
 * further.  Each packet is placed at pkts[i].buf + WR_PACKET_HEADROOM and pkts[i].data/len set.
 * Returns the number of packets, or a negative errno: -EBADFD or -ENODEV when the interface
 * is gone, -ECANCELED after wr_tun_close().  Malformed offload frames are dropped and counted.
 */
int
wr_tun_read_batch(WrTun *self, WrPacket *pkts, unsigned int max);
/*
 * Writes the packets whose verdict is WR_VERDICT_TUN (others are skipped), coalescing TCP
 * segments when GRO is on.  Returns 0 or a negative errno of the first failed write (the rest
 * are still attempted).
 */
int
wr_tun_write_batch(WrTun *self, WrPacket *pkts, unsigned int n);
/* makes blocked and future reads return -ECANCELED; for shutdown */
void
wr_tun_close(WrTun *self);
void
wr_tun_get_stats(WrTun *self, WrTunStats *out);
