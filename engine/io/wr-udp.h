/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The UDP socket of the data plane: one dual-stack socket (IPv6 with v4-mapped addresses,
 * or plain IPv4 where the host has no IPv6), non-blocking, with batched receive (recvmmsg)
 * and send (sendmmsg).  Endpoints in and out are plain IPv4 or IPv6; the mapping is done
 * here.  Errors are negative errno at this level; wr_udp_new() reports a GError.
 */

#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "wr-packet.h"
#include "wr-peer.h"

typedef struct WrUdp WrUdp;

typedef struct {
	uint64_t rx_datagrams;
	uint64_t tx_datagrams;
	uint64_t tx_errors; /* datagrams the kernel refused (no route, EPERM...) */
	uint64_t rx_syscalls;
	uint64_t tx_syscalls;
} WrUdpStats;

/* binds [::]:port (or 0.0.0.0:port); port 0 picks one; fwmark 0 sets none */
WrUdp *
wr_udp_new(uint16_t port, uint32_t fwmark, GError **error);
void
wr_udp_free(WrUdp *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrUdp, wr_udp_free)

int
wr_udp_get_fd(WrUdp *self);
uint16_t
wr_udp_get_port(WrUdp *self);
/* whether receives may carry coalesced datagrams (UDP_GRO) */
bool
wr_udp_has_gro(WrUdp *self);
bool
wr_udp_set_fwmark(WrUdp *self, uint32_t fwmark, GError **error);

/*
 * Receives without blocking into up to n_bufs buffers of WR_PACKET_CAPACITY bytes, and
 * describes each datagram in pkts (data, len, endpoint): with UDP GRO one buffer may carry
 * many datagrams of one sender, which are described separately, pointing into the buffer.
 * Returns the number of pkts filled (at most max_pkts), 0 when nothing is waiting, or a
 * negative errno.
 */
int
wr_udp_recv_batch(WrUdp *self, uint8_t **bufs, unsigned int n_bufs, WrPacket *pkts,
		  unsigned int max_pkts);
/* sends the packets whose verdict is WR_VERDICT_SEND, runs of equal-sized datagrams to one
 * endpoint as one UDP_SEGMENT send where the kernel allows it; waits (bounded) while the
 * socket buffer is full; returns 0 or the negative errno of a failure that stopped the batch */
int
wr_udp_send_batch(WrUdp *self, WrPacket *pkts, unsigned int n);
/* sends a queue of WrDatagram (the device's outbox) and frees them */
void
wr_udp_send_datagrams(WrUdp *self, GQueue *datagrams);
/* sends one datagram now (disco, STUN from the control side); 0 or a negative errno */
int
wr_udp_send_one(WrUdp *self, const WrEndpoint *to, const uint8_t *data, size_t len);
void
wr_udp_get_stats(WrUdp *self, WrUdpStats *out);
