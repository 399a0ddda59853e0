/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The buffer one packet lives in on its way through the data plane.  The TUN reader leaves
 * WR_PACKET_HEADROOM bytes before the IP packet so that the WireGuard data header can be
 * written in front of it and the encryption done in place; the UDP reader receives the
 * datagram at the start of the buffer and the plaintext ends up WR_PACKET_HEADROOM bytes in.
 */

#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "wr-addr.h"
#include "wr-messages.h"

#define WR_PACKET_HEADROOM MESSAGE_DATA_HEADER_LEN
/* room behind the IP packet for padding to a multiple of 16 and the Poly1305 tag */
#define WR_PACKET_TAILROOM (MESSAGE_PADDING_MULTIPLE + WR_AUTHTAG_LEN)
/* the largest IP packet a buffer holds */
#define WR_PACKET_MAX_IP   65535
#define WR_PACKET_CAPACITY (WR_PACKET_HEADROOM + WR_PACKET_MAX_IP + WR_PACKET_TAILROOM)

typedef enum {
	WR_VERDICT_NONE = 0,
	WR_VERDICT_SEND,     /* data holds a datagram for endpoint */
	WR_VERDICT_TUN,	     /* data holds an IP packet for the TUN device */
	WR_VERDICT_CONSUMED, /* kept or queued by the device (staged, handshake) */
	WR_VERDICT_DROP,     /* dropped; counted by the device */
} WrVerdict;

typedef struct {
	uint8_t *buf;  /* WR_PACKET_CAPACITY bytes, owned by whoever allocated the batch */
	uint8_t *data; /* the bytes in play: somewhere inside buf */
	uint32_t len;
	WrVerdict verdict;
	WrEndpoint endpoint; /* where it came from (UDP in) or goes to (UDP out) */
	/* private to the device between the phases of a batch */
	void *priv_keypair;
	uint64_t priv_counter;
} WrPacket;
