/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The wire formats of the two port-mapping protocols a home router answers on UDP 5351:
 * PCP (RFC 6887: the MAP and ANNOUNCE opcodes, IPv4 through IPv4-mapped IPv6 addresses) and
 * NAT-PMP (RFC 6886: the external address request and the UDP mapping request).  Pure codec:
 * bytes in, fields or bytes out; no sockets, no clocks.  A written-by-hand codec rather than
 * libnatpmp: both protocols share one socket and one port, so one parser that dispatches on the
 * version byte is simpler than a library that wants its own socket (see docs/portmap.md).
 *
 * Parsers return 0 on success and a negative errno on failure, leaving *out untouched:
 *   -EINVAL   not a response of either protocol (bad version, request bit, unknown opcode)
 *   -EBADMSG  the right protocol but a wrong size, a malformed option or a bad address
 * A response carrying a non-zero result code parses (the caller decides what the code means).
 */

#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wr-addr.h"

/* the server port of both protocols (RFC 6887 §19.1, RFC 6886 §3) */
#define WR_PORTMAP_SERVER_PORT 5351

#define WR_NATPMP_VERSION 0
#define WR_PCP_VERSION	  2

/* ---- PCP (RFC 6887) ---- */

/* §7: common header, the R bit in the opcode byte, the longest message */
#define WR_PCP_HEADER_LEN   24
#define WR_PCP_RESPONSE_BIT 0x80
#define WR_PCP_MAX_LEN	    1100
#define WR_PCP_NONCE_LEN    12
/* §11.1: the MAP opcode's body, and a whole MAP request or response without options */
#define WR_PCP_MAP_BODY_LEN 36
#define WR_PCP_MAP_LEN	    (WR_PCP_HEADER_LEN + WR_PCP_MAP_BODY_LEN)
/* §7.3: option header */
#define WR_PCP_OPTION_HEADER_LEN 4
/* IANA protocol number of UDP, the only one Warren maps */
#define WR_PCP_PROTO_UDP 17
#define WR_PCP_PROTO_TCP 6

typedef enum {
	WR_PCP_OP_ANNOUNCE = 0,
	WR_PCP_OP_MAP = 1,
	WR_PCP_OP_PEER = 2,
} WrPcpOpcode;

/* §7.4 */
typedef enum {
	WR_PCP_SUCCESS = 0,
	WR_PCP_UNSUPP_VERSION = 1,
	WR_PCP_NOT_AUTHORIZED = 2,
	WR_PCP_MALFORMED_REQUEST = 3,
	WR_PCP_UNSUPP_OPCODE = 4,
	WR_PCP_UNSUPP_OPTION = 5,
	WR_PCP_MALFORMED_OPTION = 6,
	WR_PCP_NETWORK_FAILURE = 7,
	WR_PCP_NO_RESOURCES = 8,
	WR_PCP_UNSUPP_PROTOCOL = 9,
	WR_PCP_USER_EX_QUOTA = 10,
	WR_PCP_CANNOT_PROVIDE_EXTERNAL = 11,
	WR_PCP_ADDRESS_MISMATCH = 12,
	WR_PCP_EXCESSIVE_REMOTE_PEERS = 13,
} WrPcpResult;

/* ---- NAT-PMP (RFC 6886) ---- */

#define WR_NATPMP_RESPONSE_BIT	    0x80
#define WR_NATPMP_EXTERNAL_REQ_LEN  2
#define WR_NATPMP_EXTERNAL_RESP_LEN 12
#define WR_NATPMP_MAP_REQ_LEN	    12
#define WR_NATPMP_MAP_RESP_LEN	    16
/* §3.5: what every response starts with (version, opcode, result, epoch); all an error may be */
#define WR_NATPMP_RESP_HEADER_LEN 8

typedef enum {
	WR_NATPMP_OP_EXTERNAL = 0,
	WR_NATPMP_OP_MAP_UDP = 1,
	WR_NATPMP_OP_MAP_TCP = 2,
} WrNatpmpOpcode;

/* §3.5 */
typedef enum {
	WR_NATPMP_SUCCESS = 0,
	WR_NATPMP_UNSUPP_VERSION = 1,
	WR_NATPMP_NOT_AUTHORIZED = 2,
	WR_NATPMP_NETWORK_FAILURE = 3,
	WR_NATPMP_NO_RESOURCES = 4,
	WR_NATPMP_UNSUPP_OPCODE = 5,
} WrNatpmpResult;

/* the lifetime both protocols ask for, in seconds (RFC 6886 §3.3 recommends 7200) */
#define WR_PORTMAP_LIFETIME_S 7200

/* a parsed response of either protocol */
typedef struct {
	uint8_t version;   /* WR_PCP_VERSION or WR_NATPMP_VERSION */
	uint8_t opcode;	   /* without the response bit */
	uint8_t result;	   /* WrPcpResult or WrNatpmpResult, by version */
	uint32_t lifetime; /* seconds; 0 for NAT-PMP's external address response */
	uint32_t epoch;	   /* the server's epoch time in seconds */
	/* PCP MAP only */
	uint8_t nonce[WR_PCP_NONCE_LEN];
	uint8_t protocol;
	/* MAP (either protocol) */
	uint16_t internal_port;
	/* the external address (either protocol's MAP; NAT-PMP's external address response with
	 * port 0); AF_UNSPEC when the response carries none or is an error */
	WrEndpoint external;
} WrPortmapResponse;

/* PCP MAP request for UDP: out is WR_PCP_MAP_LEN bytes.  client_ip is the address the request
 * is sent from (IPv4 is written IPv4-mapped), suggested the external address and port to
 * suggest (AF_UNSPEC, or an IPv4 address with port 0, for "no preference").  Returns the length,
 * or -EAFNOSUPPORT when client_ip is not AF_INET or AF_INET6. */
int
wr_pcp_build_map(uint8_t out[WR_PCP_MAP_LEN], const WrEndpoint *client_ip,
		 const uint8_t nonce[WR_PCP_NONCE_LEN], uint16_t internal_port,
		 const WrEndpoint *suggested, uint32_t lifetime);

/* PCP ANNOUNCE request (§14.1): a bare header, lifetime 0; out is WR_PCP_HEADER_LEN bytes */
int
wr_pcp_build_announce(uint8_t out[WR_PCP_HEADER_LEN], const WrEndpoint *client_ip);

/* NAT-PMP external address request: 2 bytes */
int
wr_natpmp_build_external(uint8_t out[WR_NATPMP_EXTERNAL_REQ_LEN]);

/* NAT-PMP UDP mapping request: 12 bytes.  Lifetime 0 (with suggested port 0) deletes. */
int
wr_natpmp_build_map(uint8_t out[WR_NATPMP_MAP_REQ_LEN], uint16_t internal_port,
		    uint16_t suggested_port, uint32_t lifetime);

/* a PCP response: header, then the MAP body for MAP, then options (walked and bounded, not
 * kept); -EINVAL when byte 0 is not 2 or the R bit is clear */
int
wr_pcp_parse_response(const uint8_t *buf, size_t len, WrPortmapResponse *out);

/* a NAT-PMP response: exact sizes for successes, the 8-byte header for errors (RFC 6886
 * §3.5 lets a server send only that, e.g. "unsupported version" to a PCP request) */
int
wr_natpmp_parse_response(const uint8_t *buf, size_t len, WrPortmapResponse *out);

/* either, by the version byte */
int
wr_portmap_parse_response(const uint8_t *buf, size_t len, WrPortmapResponse *out);

/* RFC 6887 §8.5 (and RFC 6886 §3.6 in spirit): does a server epoch `epoch` seen at client time
 * now_s follow from prev_epoch seen at prev_s?  False when the server's clock went backwards
 * by more than a second or disagrees with ours by more than 1/16 plus 2 s: the server lost its
 * state (a restart) and every mapping must be made again. */
bool
wr_portmap_epoch_ok(uint32_t prev_epoch, int64_t prev_s, uint32_t epoch, int64_t now_s);

/* names for logs and Health: "SUCCESS", "NOT_AUTHORIZED", ...; "UNKNOWN" beyond the table */
const char *
wr_pcp_result_str(uint8_t result);
const char *
wr_natpmp_result_str(uint8_t result);
