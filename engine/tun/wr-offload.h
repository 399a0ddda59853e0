/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * TCP segmentation offload (the read side of a TUN opened with IFF_VNET_HDR), coalescing (its
 * write side) and the Internet checksum.  Pure: buffers in, buffers out; no fds, no clocks, no
 * logging.  wr-tun.c does the I/O around it.
 *
 * Read: the kernel hands over one struct virtio_net_hdr followed by up to 64 KiB of one TCP
 * stream ("super-packet") that is to be cut into segments of gso_size payload bytes, each
 * with the IP and TCP headers copied in front and fixed up.
 * Write: consecutive segments of one TCP flow are described to the kernel as one such
 * super-packet, carried in one writev(): a head (the vnet header, then the rewritten IP and
 * TCP headers) followed by the payloads, straight from the packets' own buffers.
 *
 * The virtio_net_hdr fields are in host byte order: that is what a TUN without
 * TUNSETVNETLE/BE speaks.  Every offset and length in it is checked against the packet
 * before use; the kernel's hdr_len is not used at all (it is unreliable on forwarded traffic).
 */

#pragma once

#include <glib.h>
#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "wr-packet.h"

/* UDP segmentation (Linux 6.2), missing from Debian 12's headers; we refuse it on read */
#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif

#define WR_OFFLOAD_VNET_HDR_LEN sizeof(struct virtio_net_hdr)
/* the longest IPv4 (60) or IPv6 (40) header plus the longest TCP header (60) */
#define WR_OFFLOAD_MAX_HEADERS 120
/* what wr_offload_coalescer_build() writes in front of the payloads */
#define WR_OFFLOAD_HEAD_MAX (WR_OFFLOAD_VNET_HDR_LEN + WR_OFFLOAD_MAX_HEADERS)
/* segments in one coalesced write; 45 MTU-sized segments already fill 64 KiB */
#define WR_OFFLOAD_MAX_SEGMENTS 64
/* iovecs one coalesced write takes: the head, then one payload per segment */
#define WR_OFFLOAD_MAX_IOV (WR_OFFLOAD_MAX_SEGMENTS + 1)
/* the longest coalesced IP packet (the IPv4 total length field; IPv6 is held to the same) */
#define WR_OFFLOAD_MAX_COALESCED 65535
/* how many earlier writes a packet looks back through for its flow */
#define WR_OFFLOAD_FLOW_SCAN 64

/*
 * The Internet checksum (RFC 1071).  The sum is an opaque accumulator: start from 0, add
 * regions with wr_offload_csum_add() (each must start at an even offset of the checksummed
 * range; any length, any alignment), and fold it.  wr_offload_csum_fold() returns the 16-bit
 * one's complement sum as a number (store it with a big-endian write); a checksum field
 * holds its complement, a CHECKSUM_PARTIAL field (NEEDS_CSUM) the sum itself.
 */
uint64_t
wr_offload_csum_add(uint64_t sum, const void *data, size_t len);
uint16_t
wr_offload_csum_fold(uint64_t sum);
/* adds the TCP/UDP pseudo header; addr_len is 4 (IPv4) or 16 (IPv6) */
uint64_t
wr_offload_csum_pseudo(uint64_t sum, const uint8_t *src, const uint8_t *dst, size_t addr_len,
		       uint8_t proto, uint32_t l4_len);
/* the value for the header checksum field of an IPv4 header of ihl_bytes; the field must be 0 */
uint16_t
wr_offload_ipv4_header_csum(const uint8_t *iph, size_t ihl_bytes);
/*
 * the value for the checksum field of the TCP or UDP segment that starts l4_off bytes into
 * the IPv4 or IPv6 packet pkt of len bytes (pseudo header included); the field must be 0;
 * a UDP result of 0 is given as 0xffff
 */
uint16_t
wr_offload_l4_csum(const uint8_t *pkt, size_t len, size_t l4_off, uint8_t proto);

/* a TCP super-packet from the kernel, validated by wr_offload_tso_parse() */
typedef struct {
	uint32_t len;	     /* the super-packet, without the vnet header */
	uint32_t n_segments; /* at least 1 */
	uint16_t ip_hlen;    /* where the TCP header starts */
	uint16_t hdr_len;    /* IP + TCP header, copied in front of every segment */
	uint16_t gso_size;   /* payload bytes per segment; the last may carry fewer */
	uint8_t version;     /* 4 or 6 */
} WrOffloadTso;

/*
 * Validates a frame whose gso_type is TCPV4 or TCPV6 (the ECN bit allowed): matching IP
 * version, consistent IP length fields, no IPv4 fragment, no IPv6 extension header, a sane
 * TCP header, no SYN or RST, at least one payload byte, gso_size > 0, csum_start/csum_offset
 * pointing at the TCP checksum when NEEDS_CSUM is set, and segments that fit a WrPacket.
 * Returns 0, -EPROTONOSUPPORT for the GSO types we do not enable (UFO, UDP_L4), -ENOMSG for
 * GSO_NONE, or -EINVAL; out_tso is untouched on failure.
 */
int
wr_offload_tso_parse(const struct virtio_net_hdr *hdr, const uint8_t *pkt, size_t len,
		     WrOffloadTso *out_tso);
/*
 * Writes segments first .. first + max - 1 (as many as there are) into out[i].buf +
 * WR_PACKET_HEADROOM, setting out[i].data and out[i].len, each with fixed IP lengths, IPv4
 * id (+1 per segment) and header checksum, TCP sequence number, flags (FIN and PSH only on
 * the last segment, CWR only on the first) and a full TCP checksum.  Returns the number
 * written.  When first is 0, out[0].buf + WR_PACKET_HEADROOM may be pkt itself: segments
 * are produced last to first, so the packet can be cut up in the buffer it was read into.
 */
unsigned int
wr_offload_tso_segment(const WrOffloadTso *tso, const uint8_t *pkt, unsigned int first,
		       WrPacket *out, unsigned int max);
/*
 * Both of the above at once, for callers that have room for every segment: returns the
 * number of segments, -ENOSPC when there are more than max, or what parse returns.
 */
int
wr_offload_tcp_segment(const struct virtio_net_hdr *hdr, const uint8_t *pkt, size_t len,
		       WrPacket *out, unsigned int max);
/*
 * For a GSO_NONE frame: when NEEDS_CSUM is set, computes the checksum from csum_start to
 * the end and stores it at csum_start + csum_offset (the field holds the pseudo-header sum,
 * as the kernel leaves it).  Returns 0, or -EINVAL when the offsets do not fit the packet or
 * gso_type is not GSO_NONE.
 */
int
wr_offload_complete_csum(const struct virtio_net_hdr *hdr, uint8_t *pkt, size_t len);

/*
 * The coalescer: packets go in one round at a time, in the order they are to be written;
 * out come "writes", each either one packet as it is or a run of TCP segments described as
 * one super-packet.  A segment joins the newest write of its flow (same IP version,
 * addresses and ports) when that write is still open and the segment follows it exactly:
 * next sequence number; same ACK number, window, urgent pointer and TCP options; only ACK,
 * or ACK|PSH to end the run; a payload no larger than the run's first (a smaller one ends
 * the run); IPv4 without options or fragmentation and with the same TOS, TTL and DF; IPv6
 * without extension headers and with the same traffic class, flow label and hop limit; a
 * valid TCP checksum (the kernel trusts a NEEDS_CSUM frame, so a bad segment must not hide
 * inside one); at most WR_OFFLOAD_MAX_SEGMENTS segments and WR_OFFLOAD_MAX_COALESCED bytes.
 * Writes keep the order of their first packets, and a flow's packets keep their order.
 * The packets are referenced, not copied: they must stay unchanged until the round's
 * writes are built.
 */
typedef struct WrOffloadCoalescer WrOffloadCoalescer;

/* capacity: packets per round, at least 1 */
WrOffloadCoalescer *
wr_offload_coalescer_new(unsigned int capacity);
/* accepts NULL */
void
wr_offload_coalescer_free(WrOffloadCoalescer *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrOffloadCoalescer, wr_offload_coalescer_free)

/* starts a new round */
void
wr_offload_coalescer_reset(WrOffloadCoalescer *self);
/* returns the index of the write the packet went into, or -ENOSPC when the round is full */
int
wr_offload_coalescer_add(WrOffloadCoalescer *self, const uint8_t *pkt, size_t len);
unsigned int
wr_offload_coalescer_get_n_writes(WrOffloadCoalescer *self);
/*
 * Builds write i of the round: head gets the vnet header (all zero for a single packet;
 * GSO_TCPV4/6 with NEEDS_CSUM for a run, whose TCP checksum field then holds the
 * pseudo-header sum) and, for a run, the first segment's headers with the lengths, IPv4
 * header checksum and PSH fixed; iov[0] is the head, iov[1..] the packet or the payloads.
 * Returns the number of iovecs (2 .. WR_OFFLOAD_MAX_IOV) and, in out_n_packets, how many
 * packets the write carries.
 */
unsigned int
wr_offload_coalescer_build(WrOffloadCoalescer *self, unsigned int i,
			   uint8_t head[WR_OFFLOAD_HEAD_MAX], struct iovec iov[WR_OFFLOAD_MAX_IOV],
			   unsigned int *out_n_packets);
