/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrAddr"

#include "config.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "wr-addr.h"

/*
 * Canonical forms: the parser turns a v4-mapped IPv6 endpoint into plain IPv4, so that
 * "[::ffff:192.0.2.1]:51820" and "192.0.2.1:51820" give the same WrEndpoint and format the
 * same way.  Ports and scope ids are decimal without sign, spaces or leading zeros (which is
 * what getnameinfo() and inet_ntop() produce); ports are 1..65535.
 *
 * Scope ids: only on link-local unicast addresses, where the kernel needs them, either numeric
 * ("[fe80::1%2]:51820") or an interface name ("[fe80::1%eth0]:51820", which wg(8) passes on
 * the UAPI as the user typed it).  A name is looked up with if_nametoindex(), the one lookup
 * this parser makes: an interface that does not exist is an invalid endpoint.
 */

#define IPV4_BITS 32U
#define IPV6_BITS 128U
#define IPV4_LEN  4U
#define IPV6_LEN  16U

/* the decimal digits of UINT32_MAX */
#define MAX_DECIMAL_DIGITS 10U

/* ::ffff:a.b.c.d: ten zero bytes, two 0xff bytes, then the IPv4 address */
#define V4MAPPED_PREFIX_LEN 12U
#define V4MAPPED_MARKER_LEN 2U

bool
wr_parse_decimal(const char *text, size_t len, uint32_t max, uint32_t *out)
{
	uint64_t value = 0;

	if (len == 0 || len > MAX_DECIMAL_DIGITS)
		return false;
	if (len > 1 && text[0] == '0')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			return false;
		value = value * 10 + (uint64_t) (text[i] - '0');
	}
	if (value > max)
		return false;
	*out = (uint32_t) value;
	return true;
}

/* an interface name as a scope; false when it is not a plausible name or does not exist */
static bool
scope_from_name(const char *text, size_t len, uint32_t *out)
{
	char name[IF_NAMESIZE];
	unsigned int index;

	if (len == 0 || len >= sizeof(name) || (text[0] >= '0' && text[0] <= '9'))
		return false;
	for (size_t i = 0; i < len; i++) {
		/* what the kernel accepts in a name: printable, no '/', ':', space or NUL */
		if (text[i] == '/' || text[i] == ':' || text[i] == '%' ||
		    (unsigned char) text[i] < 0x21 || (unsigned char) text[i] > 0x7e)
			return false;
	}
	memcpy(name, text, len);
	name[len] = '\0';
	index = if_nametoindex(name);
	if (index == 0)
		return false;
	*out = index;
	return true;
}

static void
set_v4(WrEndpoint *ep, const void *addr4, uint16_t port_be)
{
	memset(ep, 0, sizeof(*ep));
	ep->in4.sin_family = AF_INET;
	ep->in4.sin_port = port_be;
	memcpy(&ep->in4.sin_addr, addr4, IPV4_LEN);
}

bool
wr_endpoint_parse(WrEndpoint *out, const char *text)
{
	WrEndpoint ep;
	char host[INET6_ADDRSTRLEN];
	const char *host_start;
	const char *host_end;
	const char *scope = NULL;
	const char *port;
	size_t len;
	size_t host_len;
	uint32_t port_num;

	if (text == NULL)
		return false;
	len = strnlen(text, WR_ENDPOINT_STRLEN);
	if (len == WR_ENDPOINT_STRLEN)
		return false;

	memset(&ep, 0, sizeof(ep));
	if (text[0] == '[') {
		host_start = text + 1;
		host_end = memchr(host_start, ']', len - 1);
		if (host_end == NULL || host_end[1] != ':')
			return false;
		port = host_end + 2;
		scope = memchr(host_start, '%', (size_t) (host_end - host_start));
		if (scope != NULL) {
			host_end = scope;
			scope++;
		}
	} else {
		host_start = text;
		host_end = strchr(text, ':');
		if (host_end == NULL)
			return false;
		port = host_end + 1;
	}

	host_len = (size_t) (host_end - host_start);
	if (host_len == 0 || host_len >= sizeof(host))
		return false;
	memcpy(host, host_start, host_len);
	host[host_len] = '\0';

	if (!wr_parse_decimal(port, strlen(port), UINT16_MAX, &port_num) || port_num == 0)
		return false;

	if (text[0] == '[') {
		struct in6_addr addr6;
		uint32_t scope_id = 0;

		/* brackets are for IPv6 only, as in netip.ParseAddrPort */
		if (inet_pton(AF_INET6, host, &addr6) != 1)
			return false;
		if (scope != NULL) {
			size_t scope_len = (size_t) (port - 2 - scope);

			if (!IN6_IS_ADDR_LINKLOCAL(&addr6))
				return false;
			if (!wr_parse_decimal(scope, scope_len, UINT32_MAX, &scope_id) &&
			    !scope_from_name(scope, scope_len, &scope_id))
				return false;
			if (scope_id == 0)
				return false;
		}
		if (IN6_IS_ADDR_V4MAPPED(&addr6)) {
			set_v4(&ep, &addr6.s6_addr[V4MAPPED_PREFIX_LEN],
			       htons((uint16_t) port_num));
		} else {
			ep.in6.sin6_family = AF_INET6;
			ep.in6.sin6_port = htons((uint16_t) port_num);
			ep.in6.sin6_addr = addr6;
			ep.in6.sin6_scope_id = scope_id;
		}
	} else {
		struct in_addr addr4;

		if (inet_pton(AF_INET, host, &addr4) != 1)
			return false;
		set_v4(&ep, &addr4, htons((uint16_t) port_num));
	}

	*out = ep;
	return true;
}

void
wr_endpoint_format(const WrEndpoint *ep, char out[WR_ENDPOINT_STRLEN])
{
	WrEndpoint plain = *ep;
	char host[INET6_ADDRSTRLEN];
	int n = -1;

	wr_endpoint_unmap(&plain);
	if (plain.sa.sa_family == AF_INET &&
	    inet_ntop(AF_INET, &plain.in4.sin_addr, host, sizeof(host)) != NULL) {
		n = snprintf(out, WR_ENDPOINT_STRLEN, "%s:%u", host,
			     (unsigned) ntohs(plain.in4.sin_port));
	} else if (plain.sa.sa_family == AF_INET6 &&
		   inet_ntop(AF_INET6, &plain.in6.sin6_addr, host, sizeof(host)) != NULL) {
		if (plain.in6.sin6_scope_id != 0) {
			n = snprintf(out, WR_ENDPOINT_STRLEN, "[%s%%%u]:%u", host,
				     (unsigned) plain.in6.sin6_scope_id,
				     (unsigned) ntohs(plain.in6.sin6_port));
		} else {
			n = snprintf(out, WR_ENDPOINT_STRLEN, "[%s]:%u", host,
				     (unsigned) ntohs(plain.in6.sin6_port));
		}
	}
	/* cannot truncate (an unmapped IPv6 address prints in at most 39 chars), but be sure */
	if (n < 0 || n >= WR_ENDPOINT_STRLEN)
		(void) snprintf(out, WR_ENDPOINT_STRLEN, "(none)");
}

bool
wr_endpoint_equal(const WrEndpoint *a, const WrEndpoint *b)
{
	WrEndpoint x = *a;
	WrEndpoint y = *b;

	/* a v4-mapped address and its IPv4 form are the same peer address */
	wr_endpoint_unmap(&x);
	wr_endpoint_unmap(&y);
	if (x.sa.sa_family == AF_INET && y.sa.sa_family == AF_INET) {
		return x.in4.sin_port == y.in4.sin_port &&
		       x.in4.sin_addr.s_addr == y.in4.sin_addr.s_addr;
	}
	if (x.sa.sa_family == AF_INET6 && y.sa.sa_family == AF_INET6) {
		return x.in6.sin6_port == y.in6.sin6_port &&
		       x.in6.sin6_scope_id == y.in6.sin6_scope_id &&
		       memcmp(&x.in6.sin6_addr, &y.in6.sin6_addr, IPV6_LEN) == 0;
	}
	/* anything else carries no address: two "none"s are equal */
	return x.sa.sa_family != AF_INET && x.sa.sa_family != AF_INET6 &&
	       y.sa.sa_family != AF_INET && y.sa.sa_family != AF_INET6;
}

size_t
wr_endpoint_socklen(const WrEndpoint *ep)
{
	if (ep->sa.sa_family == AF_INET)
		return sizeof(struct sockaddr_in);
	if (ep->sa.sa_family == AF_INET6)
		return sizeof(struct sockaddr_in6);
	return 0;
}

void
wr_endpoint_unmap(WrEndpoint *ep)
{
	uint8_t addr4[IPV4_LEN];
	uint16_t port_be;

	if (ep->sa.sa_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&ep->in6.sin6_addr))
		return;
	memcpy(addr4, &ep->in6.sin6_addr.s6_addr[V4MAPPED_PREFIX_LEN], sizeof(addr4));
	port_be = ep->in6.sin6_port;
	set_v4(ep, addr4, port_be);
}

void
wr_endpoint_to_v6_mapped(const WrEndpoint *ep, WrEndpoint *out)
{
	WrEndpoint mapped;

	if (ep->sa.sa_family != AF_INET) {
		*out = *ep;
		return;
	}
	memset(&mapped, 0, sizeof(mapped));
	mapped.in6.sin6_family = AF_INET6;
	mapped.in6.sin6_port = ep->in4.sin_port;
	memset(&mapped.in6.sin6_addr.s6_addr[V4MAPPED_PREFIX_LEN - V4MAPPED_MARKER_LEN], 0xff,
	       V4MAPPED_MARKER_LEN);
	memcpy(&mapped.in6.sin6_addr.s6_addr[V4MAPPED_PREFIX_LEN], &ep->in4.sin_addr, IPV4_LEN);
	*out = mapped;
}

size_t
wr_endpoint_addr_bytes(const WrEndpoint *ep, uint8_t out[16], uint16_t *out_port_be)
{
	WrEndpoint plain = *ep;

	/* a v4-mapped source is an IPv4 client, and is rate limited as one */
	wr_endpoint_unmap(&plain);
	if (plain.sa.sa_family == AF_INET) {
		memcpy(out, &plain.in4.sin_addr, IPV4_LEN);
		if (out_port_be != NULL)
			*out_port_be = plain.in4.sin_port;
		return IPV4_LEN;
	}
	if (plain.sa.sa_family == AF_INET6) {
		memcpy(out, &plain.in6.sin6_addr, IPV6_LEN);
		if (out_port_be != NULL)
			*out_port_be = plain.in6.sin6_port;
		return IPV6_LEN;
	}
	if (out_port_be != NULL)
		*out_port_be = 0;
	return 0;
}

bool
wr_cidr_parse(WrCidr *out, const char *text)
{
	WrCidr cidr;
	char host[INET6_ADDRSTRLEN];
	const char *slash;
	size_t host_len;
	uint32_t max_bits;
	uint32_t bits;

	if (text == NULL)
		return false;
	slash = strchr(text, '/');
	host_len = slash != NULL ? (size_t) (slash - text) : strlen(text);
	if (host_len == 0 || host_len >= sizeof(host))
		return false;
	memcpy(host, text, host_len);
	host[host_len] = '\0';

	memset(&cidr, 0, sizeof(cidr));
	if (memchr(host, ':', host_len) != NULL) {
		if (inet_pton(AF_INET6, host, cidr.addr) != 1)
			return false;
		cidr.family = AF_INET6;
		max_bits = IPV6_BITS;
	} else {
		if (inet_pton(AF_INET, host, cidr.addr) != 1)
			return false;
		cidr.family = AF_INET;
		max_bits = IPV4_BITS;
	}

	bits = max_bits;
	if (slash != NULL && !wr_parse_decimal(slash + 1, strlen(slash + 1), max_bits, &bits))
		return false;
	cidr.cidr = (uint8_t) bits;

	*out = cidr;
	return true;
}

void
wr_cidr_format(const WrCidr *cidr, char out[WR_CIDR_STRLEN])
{
	char host[INET6_ADDRSTRLEN];
	int family = cidr->family;

	if ((family != AF_INET && family != AF_INET6) ||
	    inet_ntop(family, cidr->addr, host, sizeof(host)) == NULL) {
		(void) snprintf(out, WR_CIDR_STRLEN, "(none)");
		return;
	}
	(void) snprintf(out, WR_CIDR_STRLEN, "%s/%u", host, (unsigned) cidr->cidr);
}

void
wr_cidr_mask(WrCidr *cidr)
{
	size_t len = cidr->family == AF_INET ? IPV4_LEN : IPV6_LEN;
	size_t bits = cidr->cidr;

	for (size_t i = 0; i < sizeof(cidr->addr); i++) {
		if (i >= len || bits == 0) {
			cidr->addr[i] = 0;
		} else if (bits >= 8) {
			bits -= 8;
		} else {
			cidr->addr[i] &= (uint8_t) (0xffU << (8 - bits));
			bits = 0;
		}
	}
}
