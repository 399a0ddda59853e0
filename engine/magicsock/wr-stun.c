/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrStun"

#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <string.h>

#include "wr-bytes.h"
#include "wr-stun.h"

/* byte offsets inside the 20-byte header */
enum {
	OFF_TYPE = 0,
	OFF_LENGTH = 2,
	OFF_COOKIE = 4,
	OFF_TXID = 8,
};

/* inside an attribute: type, length, then the value; inside (XOR-)MAPPED-ADDRESS: a reserved
 * byte, the family, the port, the address */
enum {
	ATTR_OFF_TYPE = 0,
	ATTR_OFF_LENGTH = 2,
	ADDR_OFF_FAMILY = 1,
	ADDR_OFF_PORT = 2,
	ADDR_OFF_ADDR = 4,
	ADDR_V4_LEN = 4,
	ADDR_V6_LEN = 16,
	STUN_PAD = 4,
	/* the class bits of the type field must be zero for any STUN message (RFC 5389 §6) */
	TYPE_TOP_BITS = 0xC0,
	BINDING_METHOD_LOW = 0x01,
};

/* CRC-32, reflected polynomial 0xEDB88320, a nibble at a time: a 16-entry constant table is
 * small enough to read and fast enough for 40-byte messages */
static const uint32_t crc_nibble[16] = {
	0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4,
	0x4db26158, 0x5005713c, 0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
	0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
};

uint32_t
wr_stun_crc32(const uint8_t *data, size_t len)
{
	uint32_t crc = 0xFFFFFFFFu;

	for (size_t i = 0; i < len; i++) {
		crc ^= data[i];
		crc = (crc >> 4) ^ crc_nibble[crc & 0xF];
		crc = (crc >> 4) ^ crc_nibble[crc & 0xF];
	}
	return ~crc;
}

static uint32_t
fingerprint(const uint8_t *msg, size_t len)
{
	return wr_stun_crc32(msg, len) ^ WR_STUN_FINGERPRINT_XOR;
}

bool
wr_stun_is_stun(const uint8_t *pkt, size_t len)
{
	return len >= WR_STUN_HEADER_LEN && (pkt[OFF_TYPE] & TYPE_TOP_BITS) == 0 &&
	       pkt[OFF_TYPE + 1] == BINDING_METHOD_LOW &&
	       wr_get_be32(pkt + OFF_COOKIE) == WR_STUN_MAGIC_COOKIE;
}

static size_t
write_header(uint8_t *out, WrStunType type, size_t attrs_len, const uint8_t *txid)
{
	wr_put_be16(out + OFF_TYPE, (uint16_t) type);
	wr_put_be16(out + OFF_LENGTH, (uint16_t) attrs_len);
	wr_put_be32(out + OFF_COOKIE, WR_STUN_MAGIC_COOKIE);
	memcpy(out + OFF_TXID, txid, WR_STUN_TXID_LEN);
	return WR_STUN_HEADER_LEN;
}

static size_t
write_attr_header(uint8_t *out, WrStunAttr type, size_t value_len)
{
	wr_put_be16(out + ATTR_OFF_TYPE, (uint16_t) type);
	wr_put_be16(out + ATTR_OFF_LENGTH, (uint16_t) value_len);
	return WR_STUN_ATTR_HEADER_LEN;
}

/* appends FINGERPRINT at pos; the header length must already count it */
static size_t
write_fingerprint(uint8_t *out, size_t pos)
{
	pos += write_attr_header(out + pos, WR_STUN_ATTR_FINGERPRINT, WR_STUN_FINGERPRINT_LEN);
	wr_put_be32(out + pos, fingerprint(out, pos - WR_STUN_ATTR_HEADER_LEN));
	return pos + WR_STUN_FINGERPRINT_LEN;
}

void
wr_stun_build_request(uint8_t out[WR_STUN_REQUEST_LEN], const uint8_t txid[WR_STUN_TXID_LEN])
{
	size_t pos;

	pos = write_header(out, WR_STUN_BINDING_REQUEST, WR_STUN_REQUEST_LEN - WR_STUN_HEADER_LEN,
			   txid);
	pos += write_attr_header(out + pos, WR_STUN_ATTR_SOFTWARE, WR_STUN_SOFTWARE_LEN);
	memcpy(out + pos, WR_STUN_SOFTWARE, WR_STUN_SOFTWARE_LEN);
	pos += WR_STUN_SOFTWARE_LEN;
	pos = write_fingerprint(out, pos);
	g_assert(pos == WR_STUN_REQUEST_LEN);
}

/* a bounded walk over the attributes of one message */
typedef struct {
	const uint8_t *attrs;
	size_t len;
	size_t pos;
} AttrIter;

typedef struct {
	uint16_t type;
	uint16_t len;
	const uint8_t *value;
	size_t offset; /* of the attribute header, from the start of the attributes */
} Attr;

/* 1 with the next attribute, 0 at the end, -EBADMSG if it (with its padding) overruns */
static int
attr_next(AttrIter *it, Attr *attr)
{
	size_t padded;

	if (it->pos == it->len)
		return 0;
	if (it->len - it->pos < WR_STUN_ATTR_HEADER_LEN)
		return -EBADMSG;
	attr->offset = it->pos;
	attr->type = wr_get_be16(it->attrs + it->pos + ATTR_OFF_TYPE);
	attr->len = wr_get_be16(it->attrs + it->pos + ATTR_OFF_LENGTH);
	padded = ((size_t) attr->len + STUN_PAD - 1) / STUN_PAD * STUN_PAD;
	if (it->len - it->pos - WR_STUN_ATTR_HEADER_LEN < padded)
		return -EBADMSG;
	attr->value = it->attrs + it->pos + WR_STUN_ATTR_HEADER_LEN;
	it->pos += WR_STUN_ATTR_HEADER_LEN + padded;
	return 1;
}

/* checks the header for the given type and returns the attribute length it announces */
static int
check_header(const uint8_t *pkt, size_t len, WrStunType type, size_t *out_attrs_len)
{
	size_t attrs_len;

	if (!wr_stun_is_stun(pkt, len) || wr_get_be16(pkt + OFF_TYPE) != type)
		return -EINVAL;
	attrs_len = wr_get_be16(pkt + OFF_LENGTH);
	if (attrs_len % STUN_PAD != 0 || len - WR_STUN_HEADER_LEN < attrs_len)
		return -EBADMSG;
	*out_attrs_len = attrs_len;
	return 0;
}

/* a FINGERPRINT attribute is valid if it is the last one and its CRC covers everything
 * before it (the header length already counting it) */
static bool
fingerprint_ok(const uint8_t *pkt, const AttrIter *it, const Attr *attr)
{
	if (attr->len != WR_STUN_FINGERPRINT_LEN || it->pos != it->len)
		return false;
	return wr_get_be32(attr->value) == fingerprint(pkt, WR_STUN_HEADER_LEN + attr->offset);
}

int
wr_stun_parse_request(const uint8_t *pkt, size_t len, WrStunAccept accept,
		      uint8_t out_txid[WR_STUN_TXID_LEN])
{
	AttrIter it;
	Attr attr;
	size_t attrs_len;
	bool software = false;
	bool have_fingerprint = false;
	int r;

	r = check_header(pkt, len, WR_STUN_BINDING_REQUEST, &attrs_len);
	if (r < 0)
		return r;
	/* a request is one datagram: trailing bytes would be outside the fingerprint */
	if (WR_STUN_HEADER_LEN + attrs_len != len)
		return -EBADMSG;

	it = (AttrIter){.attrs = pkt + WR_STUN_HEADER_LEN, .len = attrs_len, .pos = 0};
	while ((r = attr_next(&it, &attr)) > 0) {
		if (attr.type == WR_STUN_ATTR_SOFTWARE && attr.len == WR_STUN_SOFTWARE_LEN &&
		    memcmp(attr.value, WR_STUN_SOFTWARE, WR_STUN_SOFTWARE_LEN) == 0)
			software = true;
		if (attr.type == WR_STUN_ATTR_FINGERPRINT) {
			if (!fingerprint_ok(pkt, &it, &attr))
				return -EBADMSG;
			have_fingerprint = true;
		}
	}
	if (r < 0)
		return r;
	if (accept == WR_STUN_ACCEPT_TAILNODE && (!software || !have_fingerprint))
		return -ENOMSG;

	memcpy(out_txid, pkt + OFF_TXID, WR_STUN_TXID_LEN);
	return 0;
}

int
wr_stun_build_response(uint8_t *out, size_t out_size, const uint8_t txid[WR_STUN_TXID_LEN],
		       const WrEndpoint *mapped, bool with_fingerprint)
{
	WrEndpoint ep = *mapped;
	uint8_t xor_key[WR_STUN_HEADER_LEN - OFF_COOKIE];
	uint8_t addr[ADDR_V6_LEN];
	uint16_t port_be;
	size_t addr_len;
	size_t value_len;
	size_t total;
	size_t pos;

	wr_endpoint_unmap(&ep);
	if (ep.sa.sa_family != AF_INET && ep.sa.sa_family != AF_INET6)
		return -EAFNOSUPPORT;
	addr_len = wr_endpoint_addr_bytes(&ep, addr, &port_be);
	value_len = ADDR_OFF_ADDR + addr_len;
	total = WR_STUN_HEADER_LEN + WR_STUN_ATTR_HEADER_LEN + value_len;
	if (with_fingerprint)
		total += WR_STUN_ATTR_HEADER_LEN + WR_STUN_FINGERPRINT_LEN;
	if (out_size < total)
		return -ENOBUFS;

	/* the address is XORed with the cookie followed by the transaction id */
	wr_put_be32(xor_key, WR_STUN_MAGIC_COOKIE);
	memcpy(xor_key + sizeof(uint32_t), txid, WR_STUN_TXID_LEN);

	pos = write_header(out, WR_STUN_BINDING_SUCCESS, total - WR_STUN_HEADER_LEN, txid);
	pos += write_attr_header(out + pos, WR_STUN_ATTR_XOR_MAPPED_ADDRESS, value_len);
	out[pos] = 0;
	out[pos + ADDR_OFF_FAMILY] =
		addr_len == ADDR_V4_LEN ? WR_STUN_FAMILY_IPV4 : WR_STUN_FAMILY_IPV6;
	wr_put_be16(out + pos + ADDR_OFF_PORT,
		    (uint16_t) (ntohs(port_be) ^ (WR_STUN_MAGIC_COOKIE >> 16)));
	for (size_t i = 0; i < addr_len; i++)
		out[pos + ADDR_OFF_ADDR + i] = addr[i] ^ xor_key[i];
	pos += value_len;
	if (with_fingerprint)
		pos = write_fingerprint(out, pos);
	g_assert(pos == total);
	return (int) total;
}

/* the body of MAPPED-ADDRESS or XOR-MAPPED-ADDRESS; header is the message's first 20 bytes */
static int
decode_address(const Attr *attr, bool xored, const uint8_t *header, WrEndpoint *out)
{
	WrEndpoint ep;
	uint8_t addr[ADDR_V6_LEN];
	size_t addr_len;
	uint16_t port;

	if (attr->len < ADDR_OFF_ADDR)
		return -EBADMSG;
	switch (attr->value[ADDR_OFF_FAMILY]) {
	case WR_STUN_FAMILY_IPV4:
		addr_len = ADDR_V4_LEN;
		break;
	case WR_STUN_FAMILY_IPV6:
		addr_len = ADDR_V6_LEN;
		break;
	default:
		return -EBADMSG;
	}
	if (attr->len != ADDR_OFF_ADDR + addr_len)
		return -EBADMSG;

	port = wr_get_be16(attr->value + ADDR_OFF_PORT);
	memcpy(addr, attr->value + ADDR_OFF_ADDR, addr_len);
	if (xored) {
		port ^= (uint16_t) (WR_STUN_MAGIC_COOKIE >> 16);
		/* the cookie and the transaction id follow each other in the header */
		for (size_t i = 0; i < addr_len; i++)
			addr[i] ^= header[OFF_COOKIE + i];
	}
	/* a reflexive address on port 0 cannot be reached: treat it as garbage */
	if (port == 0)
		return -EBADMSG;

	memset(&ep, 0, sizeof(ep));
	if (addr_len == ADDR_V4_LEN) {
		ep.in4.sin_family = AF_INET;
		ep.in4.sin_port = htons(port);
		memcpy(&ep.in4.sin_addr, addr, ADDR_V4_LEN);
	} else {
		ep.in6.sin6_family = AF_INET6;
		ep.in6.sin6_port = htons(port);
		memcpy(&ep.in6.sin6_addr, addr, ADDR_V6_LEN);
		wr_endpoint_unmap(&ep);
	}
	*out = ep;
	return 0;
}

int
wr_stun_parse_response(const uint8_t *pkt, size_t len, uint8_t out_txid[WR_STUN_TXID_LEN],
		       WrEndpoint *out_mapped)
{
	AttrIter it;
	Attr attr;
	Attr xor_std = {0};
	Attr xor_alt = {0};
	Attr plain = {0};
	bool have_std = false;
	bool have_alt = false;
	bool have_plain = false;
	WrEndpoint ep;
	size_t attrs_len;
	int r;

	r = check_header(pkt, len, WR_STUN_BINDING_SUCCESS, &attrs_len);
	if (r < 0)
		return r;

	/* unknown attributes, comprehension-required or not, are skipped as Tailscale does:
	 * servers still send RFC 3489 ones such as CHANGED-ADDRESS; the first of each address
	 * kind counts */
	it = (AttrIter){.attrs = pkt + WR_STUN_HEADER_LEN, .len = attrs_len, .pos = 0};
	while ((r = attr_next(&it, &attr)) > 0) {
		switch (attr.type) {
		case WR_STUN_ATTR_XOR_MAPPED_ADDRESS:
			if (!have_std)
				xor_std = attr;
			have_std = true;
			break;
		case WR_STUN_ATTR_XOR_MAPPED_ADDRESS_ALT:
			if (!have_alt)
				xor_alt = attr;
			have_alt = true;
			break;
		case WR_STUN_ATTR_MAPPED_ADDRESS:
			if (!have_plain)
				plain = attr;
			have_plain = true;
			break;
		case WR_STUN_ATTR_FINGERPRINT:
			if (!fingerprint_ok(pkt, &it, &attr))
				return -EBADMSG;
			break;
		default:
			break;
		}
	}
	if (r < 0)
		return r;

	if (have_std)
		r = decode_address(&xor_std, true, pkt, &ep);
	else if (have_alt)
		r = decode_address(&xor_alt, true, pkt, &ep);
	else if (have_plain)
		r = decode_address(&plain, false, pkt, &ep);
	else
		return -ENOMSG;
	if (r < 0)
		return r;

	memcpy(out_txid, pkt + OFF_TXID, WR_STUN_TXID_LEN);
	*out_mapped = ep;
	return 0;
}
