/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "wr-bytes.h"
#include "wr-portmap-proto.h"

/* offsets in the PCP common header (RFC 6887 §7.1, §7.2) */
enum {
	PCP_OFF_VERSION = 0,
	PCP_OFF_OPCODE = 1,
	PCP_OFF_RESULT = 3, /* responses; byte 2 is reserved */
	PCP_OFF_LIFETIME = 4,
	PCP_OFF_EPOCH = 8,     /* responses */
	PCP_OFF_CLIENT_IP = 8, /* requests */
};

/* offsets in the MAP body, counted from its start (§11.1) */
enum {
	MAP_OFF_NONCE = 0,
	MAP_OFF_PROTOCOL = 12,
	MAP_OFF_INTERNAL_PORT = 16,
	MAP_OFF_EXTERNAL_PORT = 18,
	MAP_OFF_EXTERNAL_IP = 20,
};

#define IPV6_LEN	    16
#define V4MAPPED_PREFIX_LEN 12

/* an address as PCP writes it: 16 bytes, IPv4 as ::ffff:a.b.c.d; AF_UNSPEC is the IPv4
 * all-zeros address ::ffff:0.0.0.0, which §11.1 makes "no preference" for an IPv4 mapping */
static int
put_addr(uint8_t out[IPV6_LEN], const WrEndpoint *ep)
{
	static const uint8_t v4mapped[V4MAPPED_PREFIX_LEN] = {0, 0, 0, 0, 0,	0,
							      0, 0, 0, 0, 0xff, 0xff};

	if (ep == NULL || ep->sa.sa_family == AF_UNSPEC) {
		memcpy(out, v4mapped, sizeof(v4mapped));
		memset(out + V4MAPPED_PREFIX_LEN, 0, IPV6_LEN - V4MAPPED_PREFIX_LEN);
		return 0;
	}
	if (ep->sa.sa_family == AF_INET) {
		memcpy(out, v4mapped, sizeof(v4mapped));
		memcpy(out + V4MAPPED_PREFIX_LEN, &ep->in4.sin_addr, 4);
		return 0;
	}
	if (ep->sa.sa_family == AF_INET6) {
		memcpy(out, &ep->in6.sin6_addr, IPV6_LEN);
		return 0;
	}
	return -EAFNOSUPPORT;
}

static uint16_t
ep_port(const WrEndpoint *ep)
{
	if (ep == NULL)
		return 0;
	if (ep->sa.sa_family == AF_INET)
		return ntohs(ep->in4.sin_port);
	if (ep->sa.sa_family == AF_INET6)
		return ntohs(ep->in6.sin6_port);
	return 0;
}

int
wr_pcp_build_map(uint8_t out[WR_PCP_MAP_LEN], const WrEndpoint *client_ip,
		 const uint8_t nonce[WR_PCP_NONCE_LEN], uint16_t internal_port,
		 const WrEndpoint *suggested, uint32_t lifetime)
{
	uint8_t msg[WR_PCP_MAP_LEN] = {0};
	uint8_t *body = msg + WR_PCP_HEADER_LEN;

	if (client_ip == NULL ||
	    (client_ip->sa.sa_family != AF_INET && client_ip->sa.sa_family != AF_INET6))
		return -EAFNOSUPPORT;
	msg[PCP_OFF_VERSION] = WR_PCP_VERSION;
	msg[PCP_OFF_OPCODE] = WR_PCP_OP_MAP;
	wr_put_be32(msg + PCP_OFF_LIFETIME, lifetime);
	(void) put_addr(msg + PCP_OFF_CLIENT_IP, client_ip);
	memcpy(body + MAP_OFF_NONCE, nonce, WR_PCP_NONCE_LEN);
	body[MAP_OFF_PROTOCOL] = WR_PCP_PROTO_UDP;
	wr_put_be16(body + MAP_OFF_INTERNAL_PORT, internal_port);
	wr_put_be16(body + MAP_OFF_EXTERNAL_PORT, ep_port(suggested));
	if (put_addr(body + MAP_OFF_EXTERNAL_IP, suggested) < 0)
		return -EAFNOSUPPORT;
	memcpy(out, msg, sizeof(msg));
	return (int) sizeof(msg);
}

int
wr_pcp_build_announce(uint8_t out[WR_PCP_HEADER_LEN], const WrEndpoint *client_ip)
{
	uint8_t msg[WR_PCP_HEADER_LEN] = {0};

	if (client_ip == NULL ||
	    (client_ip->sa.sa_family != AF_INET && client_ip->sa.sa_family != AF_INET6))
		return -EAFNOSUPPORT;
	msg[PCP_OFF_VERSION] = WR_PCP_VERSION;
	msg[PCP_OFF_OPCODE] = WR_PCP_OP_ANNOUNCE;
	(void) put_addr(msg + PCP_OFF_CLIENT_IP, client_ip);
	memcpy(out, msg, sizeof(msg));
	return (int) sizeof(msg);
}

int
wr_natpmp_build_external(uint8_t out[WR_NATPMP_EXTERNAL_REQ_LEN])
{
	out[0] = WR_NATPMP_VERSION;
	out[1] = WR_NATPMP_OP_EXTERNAL;
	return WR_NATPMP_EXTERNAL_REQ_LEN;
}

int
wr_natpmp_build_map(uint8_t out[WR_NATPMP_MAP_REQ_LEN], uint16_t internal_port,
		    uint16_t suggested_port, uint32_t lifetime)
{
	/* RFC 6886 §3.3: version, opcode, two reserved bytes, internal port, suggested external
	 * port, lifetime */
	out[0] = WR_NATPMP_VERSION;
	out[1] = WR_NATPMP_OP_MAP_UDP;
	out[2] = 0;
	out[3] = 0;
	wr_put_be16(out + 4, internal_port);
	wr_put_be16(out + 6, suggested_port);
	wr_put_be32(out + 8, lifetime);
	return WR_NATPMP_MAP_REQ_LEN;
}

/* a PCP address field: IPv4-mapped becomes AF_INET; anything else is AF_INET6 */
static void
get_addr(WrEndpoint *out, const uint8_t in[IPV6_LEN], uint16_t port)
{
	memset(out, 0, sizeof(*out));
	out->in6.sin6_family = AF_INET6;
	memcpy(&out->in6.sin6_addr, in, IPV6_LEN);
	out->in6.sin6_port = htons(port);
	wr_endpoint_unmap(out);
}

/* §7.3: options are 4-byte headers with a length, padded to 4, within the message */
static int
walk_options(const uint8_t *p, size_t len)
{
	while (len > 0) {
		size_t opt_len, padded;

		if (len < WR_PCP_OPTION_HEADER_LEN)
			return -EBADMSG;
		opt_len = wr_get_be16(p + 2);
		padded = (opt_len + 3) & ~(size_t) 3;
		if (padded > len - WR_PCP_OPTION_HEADER_LEN)
			return -EBADMSG;
		p += WR_PCP_OPTION_HEADER_LEN + padded;
		len -= WR_PCP_OPTION_HEADER_LEN + padded;
	}
	return 0;
}

int
wr_pcp_parse_response(const uint8_t *buf, size_t len, WrPortmapResponse *out)
{
	WrPortmapResponse r;
	size_t body_len = 0;
	int err;

	if (len < 2 || buf[PCP_OFF_VERSION] != WR_PCP_VERSION ||
	    (buf[PCP_OFF_OPCODE] & WR_PCP_RESPONSE_BIT) == 0)
		return -EINVAL;
	/* §7: at least a header, at most 1100 bytes, a multiple of 4 */
	if (len < WR_PCP_HEADER_LEN || len > WR_PCP_MAX_LEN || len % 4 != 0)
		return -EBADMSG;
	memset(&r, 0, sizeof(r));
	r.version = WR_PCP_VERSION;
	r.opcode = buf[PCP_OFF_OPCODE] & (uint8_t) ~WR_PCP_RESPONSE_BIT;
	r.result = buf[PCP_OFF_RESULT];
	r.lifetime = wr_get_be32(buf + PCP_OFF_LIFETIME);
	r.epoch = wr_get_be32(buf + PCP_OFF_EPOCH);
	switch (r.opcode) {
	case WR_PCP_OP_ANNOUNCE:
		break;
	case WR_PCP_OP_MAP:
		body_len = WR_PCP_MAP_BODY_LEN;
		break;
	default:
		return -EINVAL;
	}
	if (body_len > 0) {
		const uint8_t *body = buf + WR_PCP_HEADER_LEN;

		/* an error response may be cut after the header (§8.3: the server copies what it
		 * could parse); a success response must carry the whole body */
		if (len < WR_PCP_MAP_LEN) {
			if (r.result == WR_PCP_SUCCESS)
				return -EBADMSG;
			body_len = len - WR_PCP_HEADER_LEN;
		} else {
			memcpy(r.nonce, body + MAP_OFF_NONCE, WR_PCP_NONCE_LEN);
			r.protocol = body[MAP_OFF_PROTOCOL];
			r.internal_port = wr_get_be16(body + MAP_OFF_INTERNAL_PORT);
			if (r.result == WR_PCP_SUCCESS) {
				get_addr(&r.external, body + MAP_OFF_EXTERNAL_IP,
					 wr_get_be16(body + MAP_OFF_EXTERNAL_PORT));
				/* a success must name a usable address and port */
				if (ep_port(&r.external) == 0)
					return -EBADMSG;
			}
		}
	}
	err = walk_options(buf + WR_PCP_HEADER_LEN + body_len, len - WR_PCP_HEADER_LEN - body_len);
	if (err < 0)
		return err;
	*out = r;
	return 0;
}

int
wr_natpmp_parse_response(const uint8_t *buf, size_t len, WrPortmapResponse *out)
{
	WrPortmapResponse r;
	size_t want;

	if (len < 2 || buf[0] != WR_NATPMP_VERSION || (buf[1] & WR_NATPMP_RESPONSE_BIT) == 0)
		return -EINVAL;
	memset(&r, 0, sizeof(r));
	r.version = WR_NATPMP_VERSION;
	r.opcode = buf[1] & (uint8_t) ~WR_NATPMP_RESPONSE_BIT;
	switch (r.opcode) {
	case WR_NATPMP_OP_EXTERNAL:
		want = WR_NATPMP_EXTERNAL_RESP_LEN;
		break;
	case WR_NATPMP_OP_MAP_UDP:
	case WR_NATPMP_OP_MAP_TCP:
		want = WR_NATPMP_MAP_RESP_LEN;
		break;
	default:
		/* §3.5: an unsupported opcode is answered with result 5 and the opcode echoed;
		 * it still says which protocol the server speaks, so keep it when well formed */
		want = WR_NATPMP_RESP_HEADER_LEN;
		break;
	}
	if (len < WR_NATPMP_RESP_HEADER_LEN)
		return -EBADMSG;
	/* §3.5: result code (16 bits), then seconds since start of epoch */
	if (wr_get_be16(buf + 2) > UINT8_MAX)
		return -EBADMSG;
	r.result = buf[3];
	r.epoch = wr_get_be32(buf + 4);
	if (r.result != WR_NATPMP_SUCCESS) {
		/* an error may be the bare header, or the full response */
		if (len != WR_NATPMP_RESP_HEADER_LEN && len != want)
			return -EBADMSG;
		*out = r;
		return 0;
	}
	if (len != want || want == WR_NATPMP_RESP_HEADER_LEN)
		return -EBADMSG;
	if (r.opcode == WR_NATPMP_OP_EXTERNAL) {
		r.external.in4.sin_family = AF_INET;
		memcpy(&r.external.in4.sin_addr, buf + 8, 4);
	} else {
		/* §3.3: internal port, mapped external port, lifetime */
		r.protocol = r.opcode == WR_NATPMP_OP_MAP_UDP ? WR_PCP_PROTO_UDP : WR_PCP_PROTO_TCP;
		r.internal_port = wr_get_be16(buf + 8);
		r.external.in4.sin_family = AF_INET;
		r.external.in4.sin_port = htons(wr_get_be16(buf + 10));
		r.lifetime = wr_get_be32(buf + 12);
	}
	*out = r;
	return 0;
}

int
wr_portmap_parse_response(const uint8_t *buf, size_t len, WrPortmapResponse *out)
{
	if (len < 1)
		return -EINVAL;
	if (buf[0] == WR_PCP_VERSION)
		return wr_pcp_parse_response(buf, len, out);
	if (buf[0] == WR_NATPMP_VERSION)
		return wr_natpmp_parse_response(buf, len, out);
	return -EINVAL;
}

bool
wr_portmap_epoch_ok(uint32_t prev_epoch, int64_t prev_s, uint32_t epoch, int64_t now_s)
{
	int64_t client_delta, server_delta;

	/* §8.5: "If the current PCP server Epoch time (curr_server_time) is less than the
	 * previously received PCP server Epoch time (prev_server_time) by more than one second,
	 * then the client treats the Epoch time as obviously invalid" */
	if ((int64_t) epoch + 1 < (int64_t) prev_epoch)
		return false;
	client_delta = now_s - prev_s;
	server_delta = (int64_t) epoch - (int64_t) prev_epoch;
	/* "... if client_delta+2 < server_delta - server_delta/16 or server_delta+2 <
	 * client_delta - client_delta/16, then the client treats the Epoch time value as
	 * invalid" */
	if (client_delta + 2 < server_delta - server_delta / 16)
		return false;
	if (server_delta + 2 < client_delta - client_delta / 16)
		return false;
	return true;
}

const char *
wr_pcp_result_str(uint8_t result)
{
	static const char *const names[] = {
		[WR_PCP_SUCCESS] = "SUCCESS",
		[WR_PCP_UNSUPP_VERSION] = "UNSUPP_VERSION",
		[WR_PCP_NOT_AUTHORIZED] = "NOT_AUTHORIZED",
		[WR_PCP_MALFORMED_REQUEST] = "MALFORMED_REQUEST",
		[WR_PCP_UNSUPP_OPCODE] = "UNSUPP_OPCODE",
		[WR_PCP_UNSUPP_OPTION] = "UNSUPP_OPTION",
		[WR_PCP_MALFORMED_OPTION] = "MALFORMED_OPTION",
		[WR_PCP_NETWORK_FAILURE] = "NETWORK_FAILURE",
		[WR_PCP_NO_RESOURCES] = "NO_RESOURCES",
		[WR_PCP_UNSUPP_PROTOCOL] = "UNSUPP_PROTOCOL",
		[WR_PCP_USER_EX_QUOTA] = "USER_EX_QUOTA",
		[WR_PCP_CANNOT_PROVIDE_EXTERNAL] = "CANNOT_PROVIDE_EXTERNAL",
		[WR_PCP_ADDRESS_MISMATCH] = "ADDRESS_MISMATCH",
		[WR_PCP_EXCESSIVE_REMOTE_PEERS] = "EXCESSIVE_REMOTE_PEERS",
	};

	if (result >= sizeof(names) / sizeof(names[0]))
		return "UNKNOWN";
	return names[result];
}

const char *
wr_natpmp_result_str(uint8_t result)
{
	static const char *const names[] = {
		[WR_NATPMP_SUCCESS] = "SUCCESS",
		[WR_NATPMP_UNSUPP_VERSION] = "UNSUPPORTED_VERSION",
		[WR_NATPMP_NOT_AUTHORIZED] = "NOT_AUTHORIZED",
		[WR_NATPMP_NETWORK_FAILURE] = "NETWORK_FAILURE",
		[WR_NATPMP_NO_RESOURCES] = "OUT_OF_RESOURCES",
		[WR_NATPMP_UNSUPP_OPCODE] = "UNSUPPORTED_OPCODE",
	};

	if (result >= sizeof(names) / sizeof(names[0]))
		return "UNKNOWN";
	return names[result];
}
