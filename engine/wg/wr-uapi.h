/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The cross-platform WireGuard userspace API (https://www.wireguard.com/xplatform/), the
 * text protocol that `wg` and `wg-quick` speak on /var/run/wireguard/IFNAME.sock.
 * Pure: these functions parse and format text; the device applies a parsed set atomically
 * (all of it or, on any error, none of it), which is stricter than wireguard-go.
 *
 * A request is "get=1\n\n" or "set=1\n" + key=value lines + "\n".  A reply to get is the
 * device's key=value lines, then "errno=0\n\n"; a reply to set is "errno=N\n\n" with N the
 * negated errno (0 for success), as wireguard-go sends it and wg(8) expects.
 */

#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wr-addr.h"

/* limits on what one request may carry */
#define WR_UAPI_MAX_REQUEST		 (4 * 1024 * 1024)
#define WR_UAPI_MAX_LINE		 1024
#define WR_UAPI_MAX_PEERS		 65536
#define WR_UAPI_MAX_ALLOWED_IPS_PER_PEER 65536

typedef enum {
	WR_UAPI_OP_GET,
	WR_UAPI_OP_SET,
} WrUapiOp;

/*
 * Looks for one complete request at the start of buf.  Returns its length including the
 * terminating blank line, 0 if more bytes are needed, or -E2BIG when no request can end within
 * WR_UAPI_MAX_REQUEST or a line is longer than WR_UAPI_MAX_LINE, -EINVAL when the first line
 * is neither "get=1" nor "set=1" (out_op set on success).
 */
gssize
wr_uapi_frame(const char *buf, size_t len, WrUapiOp *out_op);

typedef struct {
	uint8_t public_key[32];
	bool remove;
	bool update_only;
	bool replace_allowed_ips;
	bool has_preshared_key;
	uint8_t preshared_key[32]; /* all zeros clears it */
	bool has_endpoint;
	WrEndpoint endpoint;
	bool has_persistent_keepalive;
	uint16_t persistent_keepalive; /* seconds, 0 = off */
	GArray *allowed_ips;	       /* of WrCidr, masked, to add */
} WrUapiPeer;

typedef struct {
	bool has_private_key;
	uint8_t private_key[32]; /* all zeros removes it */
	/* not a UAPI key (the text protocol never sets it): with has_private_key, sessions made
	 * with the old key keep sending until they expire or a handshake with the new key
	 * replaces them, instead of being retired at once; warrend's node-key rotation
	 * (docs/key-rotation.md) switches the key this way so that no packet waits for it */
	bool keep_sessions;
	bool has_listen_port;
	uint16_t listen_port;
	bool has_fwmark;
	uint32_t fwmark; /* 0 clears it */
	bool replace_peers;
	GPtrArray *peers; /* of WrUapiPeer, in request order */
} WrUapiSet;

/*
 * Parses the body of a set request (the lines after "set=1", up to but not including the
 * blank line; the "set=1" line itself may be included and is skipped).  Returns 0 and a new
 * WrUapiSet, or a positive errno with *out_set untouched: EINVAL for an unknown key, a bad
 * value or a peer key before any public_key=; EPROTO for protocol_version other than 1.
 * out_message (optional, g_free) names the line and what is wrong.
 */
int
wr_uapi_parse_set(const char *body, size_t len, WrUapiSet **out_set, char **out_message);
/* an empty set, for callers that build one in code (warrend) */
WrUapiSet *
wr_uapi_set_new(void);
/* a new peer entry with that key and an empty allowed_ips array, appended */
WrUapiPeer *
wr_uapi_set_add_peer(WrUapiSet *set, const uint8_t public_key[32]);
/* wipes the keys and frees; accepts NULL */
void
wr_uapi_set_free(WrUapiSet *set);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrUapiSet, wr_uapi_set_free)

typedef struct {
	uint8_t public_key[32];
	bool has_preshared_key;
	uint8_t preshared_key[32];
	WrEndpoint endpoint;	    /* AF_UNSPEC when none */
	int64_t last_handshake_sec; /* wall clock; 0 when never */
	int64_t last_handshake_nsec;
	uint64_t rx_bytes;
	uint64_t tx_bytes;
	uint16_t persistent_keepalive;
	GArray *allowed_ips; /* of WrCidr */
} WrUapiPeerInfo;

typedef struct {
	bool has_private_key;
	uint8_t private_key[32];
	uint16_t listen_port;
	uint32_t fwmark;
	GPtrArray *peers; /* of WrUapiPeerInfo */
} WrUapiDeviceInfo;

WrUapiDeviceInfo *
wr_uapi_device_info_new(void);
WrUapiPeerInfo *
wr_uapi_device_info_add_peer(WrUapiDeviceInfo *info);
/* wipes the keys and frees; accepts NULL */
void
wr_uapi_device_info_free(WrUapiDeviceInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrUapiDeviceInfo, wr_uapi_device_info_free)

/* appends the reply to get=1, in wireguard-go's order, ending with "errno=0\n\n" */
void
wr_uapi_format_get(const WrUapiDeviceInfo *info, GString *out);
/* appends "errno=N\n\n" with N as given: pass the negated errno, as wg(8) expects */
void
wr_uapi_format_errno(int err, GString *out);
