/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Socket endpoints ("ip:port", "[ip6]:port") and CIDR prefixes, as the UAPI writes them.
 * Pure parsing and formatting: no name resolution, no I/O.
 */

#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* an IPv4 or IPv6 socket address; family AF_UNSPEC means "none" */
typedef union {
	struct sockaddr sa;
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;
} WrEndpoint;

/* "ip:port" with the port required; longest is "[ffff:…:ffff%scope]:65535" */
#define WR_ENDPOINT_STRLEN 64

/* parses "1.2.3.4:51820" or "[2001:db8::1]:51820"; false and out untouched on anything else */
bool
wr_endpoint_parse(WrEndpoint *out, const char *text);
/* the same form back; "(none)" for AF_UNSPEC; v4-mapped IPv6 addresses print as IPv4 */
void
wr_endpoint_format(const WrEndpoint *ep, char out[WR_ENDPOINT_STRLEN]);
bool
wr_endpoint_equal(const WrEndpoint *a, const WrEndpoint *b);
/* sizeof the sockaddr to hand to sendto(), 0 for AF_UNSPEC */
size_t
wr_endpoint_socklen(const WrEndpoint *ep);
/* turns a v4-mapped IPv6 address into plain IPv4 in place (what recvmmsg on a dual-stack socket
 * gives) */
void
wr_endpoint_unmap(WrEndpoint *ep);
/* the reverse, for sending to an IPv4 peer from an AF_INET6 dual-stack socket */
void
wr_endpoint_to_v6_mapped(const WrEndpoint *ep, WrEndpoint *out);
/* the address bytes (4 or 16) and the port in network order, for cookies and rate limiting;
 * returns the number of address bytes */
size_t
wr_endpoint_addr_bytes(const WrEndpoint *ep, uint8_t out[16], uint16_t *out_port_be);

/* a plain decimal of len chars: digits only, no sign, no leading zero, at most max; false
 * and out untouched otherwise.  The UAPI and endpoint ports share this strictness. */
bool
wr_parse_decimal(const char *text, size_t len, uint32_t max, uint32_t *out);

typedef struct {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t cidr;	/* 0..32 or 0..128 */
	uint8_t addr[16];
} WrCidr;

#define WR_CIDR_STRLEN (INET6_ADDRSTRLEN + 4)

/* "192.0.2.0/24", "2001:db8::/32"; a bare address means /32 or /128; false on anything else */
bool
wr_cidr_parse(WrCidr *out, const char *text);
void
wr_cidr_format(const WrCidr *cidr, char out[WR_CIDR_STRLEN]);
/* clears the host bits */
void
wr_cidr_mask(WrCidr *cidr);
