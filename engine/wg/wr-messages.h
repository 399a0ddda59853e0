/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * WireGuard wire formats and protocol constants, named as in the whitepaper
 * (https://www.wireguard.com/papers/wireguard.pdf, §5 and §6).  Every multi-byte
 * integer on the wire is little-endian.  The .c files take their numbers from here.
 */

#pragma once

#include <stdint.h>

#define WR_KEY_LEN	     32
#define WR_AUTHTAG_LEN	     16
#define WR_COOKIE_LEN	     16
#define WR_COOKIE_NONCE_LEN  24
#define WR_TIMESTAMP_LEN     12
#define WR_HASH_LEN	     32
#define WR_MAC_LEN	     16
#define WR_SYMMETRIC_KEY_LEN 32
#define WR_NOISE_PUBLIC_LEN  32

#define WR_NOISE_CONSTRUCTION  "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"
#define WR_NOISE_IDENTIFIER    "WireGuard v1 zx2c4 Jason@zx2c4.com"
#define WR_COOKIE_LABEL_MAC1   "mac1----"
#define WR_COOKIE_LABEL_COOKIE "cookie--"

/* all times in the engine are int64 microseconds of a monotonic clock */
#define WR_USEC_PER_SEC	 1000000LL
#define WR_USEC_PER_MSEC 1000LL

/* protocol timers, whitepaper §6.1 (seconds) */
enum wr_limits {
	REKEY_TIMEOUT = 5,
	KEEPALIVE_TIMEOUT = 10,
	REKEY_AFTER_TIME = 120,
	REKEY_ATTEMPT_TIME = 90,
	REJECT_AFTER_TIME = 180,
	INITIATIONS_PER_SECOND = 50,
	MAX_PEERS_PER_DEVICE = 1 << 20,
	MAX_TIMER_HANDSHAKES = REKEY_ATTEMPT_TIME / REKEY_TIMEOUT,
	MAX_QUEUED_INCOMING_HANDSHAKES = 4096,
	MAX_STAGED_PACKETS = 128,
	COOKIE_SECRET_MAX_AGE = 2 * 60,
	COOKIE_SECRET_LATENCY = 5,
};

/* jitter added to REKEY_TIMEOUT and to the new-handshake timer: up to a third of a second */
#define REKEY_TIMEOUT_JITTER_MAX_USEC (WR_USEC_PER_SEC / 3)

/* the replay window: 2048 bits of history behind the highest counter seen */
#define COUNTER_BITS_TOTAL     2048
#define COUNTER_REDUNDANT_BITS 64
#define COUNTER_WINDOW_SIZE    (COUNTER_BITS_TOTAL - COUNTER_REDUNDANT_BITS)

#define REKEY_AFTER_MESSAGES  (1ULL << 60)
#define REJECT_AFTER_MESSAGES (UINT64_MAX - COUNTER_WINDOW_SIZE - 1)

/* the 4-byte cookie/secret rotation granularity is in µs like everything else */
#define WR_ROUND_TIMESTAMP_NSEC \
	(1U << 24) /* TAI64N is rounded down to this, so it leaks no precision */

enum wr_message_type {
	MESSAGE_INVALID = 0,
	MESSAGE_HANDSHAKE_INITIATION = 1,
	MESSAGE_HANDSHAKE_RESPONSE = 2,
	MESSAGE_HANDSHAKE_COOKIE = 3,
	MESSAGE_DATA = 4,
};

struct wr_message_header {
	/* the first byte is the type, the next three are zero: read it as a little-endian u32 */
	uint32_t type;
} __attribute__((packed));

struct wr_message_macs {
	uint8_t mac1[WR_MAC_LEN];
	uint8_t mac2[WR_MAC_LEN];
} __attribute__((packed));

struct wr_message_handshake_initiation {
	struct wr_message_header header;
	uint32_t sender_index;
	uint8_t unencrypted_ephemeral[WR_NOISE_PUBLIC_LEN];
	uint8_t encrypted_static[WR_NOISE_PUBLIC_LEN + WR_AUTHTAG_LEN];
	uint8_t encrypted_timestamp[WR_TIMESTAMP_LEN + WR_AUTHTAG_LEN];
	struct wr_message_macs macs;
} __attribute__((packed));

struct wr_message_handshake_response {
	struct wr_message_header header;
	uint32_t sender_index;
	uint32_t receiver_index;
	uint8_t unencrypted_ephemeral[WR_NOISE_PUBLIC_LEN];
	uint8_t encrypted_nothing[WR_AUTHTAG_LEN];
	struct wr_message_macs macs;
} __attribute__((packed));

struct wr_message_handshake_cookie {
	struct wr_message_header header;
	uint32_t receiver_index;
	uint8_t nonce[WR_COOKIE_NONCE_LEN];
	uint8_t encrypted_cookie[WR_COOKIE_LEN + WR_AUTHTAG_LEN];
} __attribute__((packed));

struct wr_message_data {
	struct wr_message_header header;
	uint32_t key_idx;
	uint64_t counter;
	uint8_t encrypted_data[];
} __attribute__((packed));

_Static_assert(sizeof(struct wr_message_handshake_initiation) == 148, "initiation is 148 bytes");
_Static_assert(sizeof(struct wr_message_handshake_response) == 92, "response is 92 bytes");
_Static_assert(sizeof(struct wr_message_handshake_cookie) == 64, "cookie reply is 64 bytes");
_Static_assert(sizeof(struct wr_message_data) == 16, "data header is 16 bytes");

#define MESSAGE_DATA_HEADER_LEN	 sizeof(struct wr_message_data)
#define MESSAGE_MINIMUM_LENGTH	 (MESSAGE_DATA_HEADER_LEN + WR_AUTHTAG_LEN)
#define MESSAGE_PADDING_MULTIPLE 16
/* the largest datagram the engine accepts: an IP packet of up to 64 KiB plus framing */
#define MESSAGE_MAX_LENGTH (65535 + MESSAGE_DATA_HEADER_LEN + WR_AUTHTAG_LEN)

/* where the MACs sit: mac1 covers everything before it, mac2 everything before mac2 */
#define WR_MAC1_OFFSET(msg_size) ((msg_size) - sizeof(struct wr_message_macs))
#define WR_MAC2_OFFSET(msg_size) ((msg_size) -WR_MAC_LEN)
