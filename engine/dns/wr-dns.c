/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * DNS messages (wr-dns.h).  Every read goes through an explicit bound: the message length for
 * the position, WR_DNS_MAX_NAME for the name being collected.
 */

#include "config.h"

#include <errno.h>
#include <string.h>

#include "wr-bytes.h"
#include "wr-dns.h"

/* a compression pointer: the top two bits of a length byte set (RFC 1035 §4.1.4) */
#define POINTER_BITS 0xC0
/* the fixed part of a resource record after its name: type, class, TTL, RDLENGTH */
#define RR_FIXED_LEN 10
/* the fixed part of a question after its name: QTYPE, QCLASS */
#define Q_FIXED_LEN 4
/* our OPT record: root name, type, class, TTL, RDLENGTH 0 */
#define OPT_LEN (1 + RR_FIXED_LEN)
/* the DO bit in the OPT record's TTL (RFC 3225) */
#define EDNS_DO 0x8000u
/* pointers to follow in one name: each goes strictly backwards, so this only bounds work */
#define MAX_POINTERS 64

static char
ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char) (c - 'A' + 'a') : c;
}

/* a byte that stands for itself in the text form */
static bool
plain_byte(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

int
wr_dns_parse_header(const uint8_t *msg, size_t len, WrDnsHeader *out)
{
	if (len < WR_DNS_HEADER_LEN)
		return -EBADMSG;
	out->id = wr_get_be16(msg);
	out->flags = wr_get_be16(msg + 2);
	out->qdcount = wr_get_be16(msg + 4);
	out->ancount = wr_get_be16(msg + 6);
	out->nscount = wr_get_be16(msg + 8);
	out->arcount = wr_get_be16(msg + 10);
	return 0;
}

int
wr_dns_name_read(const uint8_t *msg, size_t len, size_t *offset, char out[WR_DNS_NAME_STRLEN],
		 uint8_t *out_wire, size_t *out_wire_len)
{
	uint8_t wire[WR_DNS_MAX_NAME];
	char text[WR_DNS_NAME_STRLEN];
	size_t wlen = 0, tlen = 0, pos = *offset, end = 0;
	unsigned pointers = 0;
	bool jumped = false;

	for (;;) {
		uint8_t c;

		if (pos >= len)
			return -EBADMSG;
		c = msg[pos];
		if (c == 0) {
			wire[wlen++] = 0;
			if (!jumped)
				end = pos + 1;
			break;
		}
		if ((c & POINTER_BITS) == POINTER_BITS) {
			size_t target;

			if (pos + 1 >= len)
				return -EBADMSG;
			target = ((size_t) (c & ~POINTER_BITS) << 8) | msg[pos + 1];
			/* only backwards: every chain of pointers ends */
			if (target >= pos || ++pointers > MAX_POINTERS)
				return -EBADMSG;
			if (!jumped)
				end = pos + 2;
			jumped = true;
			pos = target;
			continue;
		}
		/* 0x40 and 0x80: the extended label types of RFC 6891 §5, never deployed */
		if ((c & POINTER_BITS) != 0)
			return -EBADMSG;
		/* the label, and still room for the root's 0 */
		if (pos + 1 + c > len || wlen + 1 + c + 1 > WR_DNS_MAX_NAME)
			return -EBADMSG;
		memcpy(wire + wlen, msg + pos, 1 + (size_t) c);
		wlen += 1 + (size_t) c;
		if (tlen > 0)
			text[tlen++] = '.';
		for (size_t i = 0; i < c; i++) {
			uint8_t b = msg[pos + 1 + i];

			if (plain_byte(b)) {
				text[tlen++] = (char) b;
			} else {
				text[tlen++] = '\\';
				text[tlen++] = (char) ('0' + b / 100);
				text[tlen++] = (char) ('0' + b / 10 % 10);
				text[tlen++] = (char) ('0' + b % 10);
			}
		}
		pos += 1 + (size_t) c;
	}
	text[tlen] = '\0';
	memcpy(out, text, tlen + 1);
	if (out_wire != NULL) {
		memcpy(out_wire, wire, wlen);
		*out_wire_len = wlen;
	}
	*offset = end;
	return 0;
}

int
wr_dns_name_to_wire(const char *text, uint8_t out[WR_DNS_MAX_NAME])
{
	uint8_t wire[WR_DNS_MAX_NAME];
	size_t wlen = 0, label_at = 0;
	const char *p = text;

	if (strcmp(text, "") == 0 || strcmp(text, ".") == 0) {
		out[0] = 0;
		return 1;
	}
	/* wire[label_at] is the length byte of the label being written */
	wire[wlen++] = 0;
	for (;;) {
		uint8_t b;

		if (*p == '\0' || *p == '.') {
			size_t label_len = wlen - label_at - 1;

			if (label_len == 0)
				return -EINVAL;
			wire[label_at] = (uint8_t) label_len;
			if (*p == '\0' || p[1] == '\0')
				break;
			p++;
			if (wlen + 1 > WR_DNS_MAX_NAME - 1)
				return -EINVAL;
			label_at = wlen;
			wire[wlen++] = 0;
			continue;
		}
		if (*p == '\\') {
			p++;
			if (p[0] >= '0' && p[0] <= '9') {
				unsigned v;

				if (!(p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9'))
					return -EINVAL;
				v = (unsigned) (p[0] - '0') * 100 + (unsigned) (p[1] - '0') * 10 +
				    (unsigned) (p[2] - '0');
				if (v > 255)
					return -EINVAL;
				b = (uint8_t) v;
				p += 3;
			} else if (*p == '\0') {
				return -EINVAL;
			} else {
				b = (uint8_t) *p++;
			}
		} else {
			b = (uint8_t) *p++;
		}
		if (wlen - label_at - 1 >= WR_DNS_MAX_LABEL || wlen + 1 > WR_DNS_MAX_NAME - 1)
			return -EINVAL;
		wire[wlen++] = b;
	}
	wire[wlen++] = 0;
	memcpy(out, wire, wlen);
	return (int) wlen;
}

bool
wr_dns_name_equal(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++) {
		if (ascii_lower(*a) != ascii_lower(*b))
			return false;
	}
	return *a == *b;
}

bool
wr_dns_name_under(const char *name, const char *domain)
{
	size_t nl = strlen(name), dl = strlen(domain);

	if (dl == 0)
		return true;
	if (nl < dl)
		return false;
	/* a '.' in the text form always separates labels (a dot inside a label is \046) */
	if (nl > dl && name[nl - dl - 1] != '.')
		return false;
	return wr_dns_name_equal(name + nl - dl, domain);
}

int
wr_dns_parse(const uint8_t *msg, size_t len, WrDnsMessage *out)
{
	/* filled here and copied out only when all of it parsed */
	WrDnsMessage m;
	char scratch[WR_DNS_NAME_STRLEN];
	size_t pos = WR_DNS_HEADER_LEN;
	uint32_t records;
	int r;

	memset(&m, 0, sizeof(m));
	r = wr_dns_parse_header(msg, len, &m.header);
	if (r < 0)
		return r;
	if (m.header.qdcount > 1)
		return -EBADMSG;
	if (m.header.qdcount == 1) {
		size_t wlen;

		r = wr_dns_name_read(msg, len, &pos, m.qname, m.qname_wire, &wlen);
		if (r < 0)
			return r;
		if (pos + Q_FIXED_LEN > len)
			return -EBADMSG;
		m.qname_wire_len = (uint8_t) wlen;
		m.qtype = wr_get_be16(msg + pos);
		m.qclass = wr_get_be16(msg + pos + 2);
		pos += Q_FIXED_LEN;
		m.has_question = true;
	}
	records = (uint32_t) m.header.ancount + m.header.nscount + m.header.arcount;
	for (uint32_t i = 0; i < records; i++) {
		WrDnsRecord rec;
		size_t name_at = pos;

		r = wr_dns_name_read(msg, len, &pos, scratch, NULL, NULL);
		if (r < 0)
			return r;
		if (pos + RR_FIXED_LEN > len)
			return -EBADMSG;
		rec.type = wr_get_be16(msg + pos);
		rec.klass = wr_get_be16(msg + pos + 2);
		rec.ttl = wr_get_be32(msg + pos + 4);
		rec.rdlength = wr_get_be16(msg + pos + 8);
		pos += RR_FIXED_LEN;
		if (pos + rec.rdlength > len)
			return -EBADMSG;
		rec.rdata_off = (uint16_t) pos;
		pos += rec.rdlength;

		if (i < m.header.ancount) {
			if (m.n_answers < WR_DNS_MAX_RECORDS)
				m.answers[m.n_answers++] = rec;
		} else if (rec.type == WR_DNS_TYPE_OPT) {
			/* RFC 6891 §6.1.1: in the additional section, once, owned by the root */
			if (i < (uint32_t) m.header.ancount + m.header.nscount || m.has_edns ||
			    msg[name_at] != 0)
				return -EBADMSG;
			m.has_edns = true;
			m.edns_udp_size = rec.klass;
			m.edns_ext_rcode = (uint8_t) (rec.ttl >> 24);
			m.edns_version = (uint8_t) (rec.ttl >> 16);
			m.edns_do = (rec.ttl & EDNS_DO) != 0;
		}
	}
	if (pos != len)
		return -EBADMSG;
	*out = m;
	return 0;
}

static void
put_header(uint8_t *out, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ar)
{
	wr_put_be16(out, id);
	wr_put_be16(out + 2, flags);
	wr_put_be16(out + 4, qd);
	wr_put_be16(out + 6, an);
	wr_put_be16(out + 8, 0);
	wr_put_be16(out + 10, ar);
}

/* the reply's flags for a query's: QR, RA, the query's opcode, RD and CD, AA, rcode */
static uint16_t
reply_flags(uint16_t query_flags, bool authoritative, WrDnsRcode rcode)
{
	uint16_t f = WR_DNS_FLAG_QR | WR_DNS_FLAG_RA |
		     (query_flags & (WR_DNS_OPCODE_MASK | WR_DNS_FLAG_RD | WR_DNS_FLAG_CD));

	if (authoritative)
		f |= WR_DNS_FLAG_AA;
	return (uint16_t) (f | ((uint16_t) rcode & WR_DNS_RCODE_MASK));
}

int
wr_dns_build_reply(const WrDnsMessage *query, WrDnsRcode rcode, bool authoritative,
		   const WrDnsAnswer *answers, size_t n_answers, bool over_udp, uint8_t *out,
		   size_t max_len)
{
	size_t limit = max_len, pos, opt_len = query->has_edns ? OPT_LEN : 0;
	uint16_t flags = reply_flags(query->header.flags, authoritative, rcode);
	uint16_t an = 0;

	if (!query->has_question ||
	    ((unsigned) rcode > (unsigned) WR_DNS_RCODE_MASK && !query->has_edns))
		return -EINVAL;
	if (over_udp) {
		/* RFC 6891 §6.2.5: a size below 512 counts as 512 */
		size_t udp = query->has_edns && query->edns_udp_size > WR_DNS_UDP_MIN
				     ? query->edns_udp_size
				     : WR_DNS_UDP_MIN;

		if (udp < limit)
			limit = udp;
	}
	if (limit > WR_DNS_MAX_MSG)
		limit = WR_DNS_MAX_MSG;
	pos = WR_DNS_HEADER_LEN + query->qname_wire_len + Q_FIXED_LEN;
	if (pos + opt_len > limit)
		return -ENOSPC;
	memcpy(out + WR_DNS_HEADER_LEN, query->qname_wire, query->qname_wire_len);
	wr_put_be16(out + WR_DNS_HEADER_LEN + query->qname_wire_len, query->qtype);
	wr_put_be16(out + WR_DNS_HEADER_LEN + query->qname_wire_len + 2, query->qclass);

	for (size_t i = 0; i < n_answers; i++) {
		const WrDnsAnswer *a = &answers[i];
		uint8_t rdata[WR_DNS_MAX_NAME];
		size_t rdlen;

		switch (a->type) {
		case WR_DNS_TYPE_A:
			rdlen = 4;
			memcpy(rdata, a->addr, 4);
			break;
		case WR_DNS_TYPE_AAAA:
			rdlen = 16;
			memcpy(rdata, a->addr, 16);
			break;
		case WR_DNS_TYPE_PTR: {
			int r = a->ptr != NULL ? wr_dns_name_to_wire(a->ptr, rdata) : -EINVAL;

			if (r < 0)
				return -EINVAL;
			rdlen = (size_t) r;
			break;
		}
		default:
			return -EINVAL;
		}
		if (pos + 2 + RR_FIXED_LEN + rdlen + opt_len > limit) {
			/* RFC 2181 §9: TC when data that was asked for is left out */
			flags |= WR_DNS_FLAG_TC;
			break;
		}
		/* the owner is the question's name, at offset 12 */
		out[pos] = POINTER_BITS;
		out[pos + 1] = WR_DNS_HEADER_LEN;
		wr_put_be16(out + pos + 2, a->type);
		wr_put_be16(out + pos + 4, WR_DNS_CLASS_IN);
		wr_put_be32(out + pos + 6, a->ttl);
		wr_put_be16(out + pos + 10, (uint16_t) rdlen);
		memcpy(out + pos + 2 + RR_FIXED_LEN, rdata, rdlen);
		pos += 2 + RR_FIXED_LEN + rdlen;
		an++;
	}
	if (query->has_edns) {
		out[pos] = 0;
		wr_put_be16(out + pos + 1, WR_DNS_TYPE_OPT);
		wr_put_be16(out + pos + 3, WR_DNS_EDNS_UDP);
		/* the rcode's upper bits, version 0, DO echoed (RFC 3225 §3) */
		wr_put_be32(out + pos + 5,
			    ((uint32_t) rcode >> 4) << 24 | (query->edns_do ? EDNS_DO : 0));
		wr_put_be16(out + pos + 9, 0);
		pos += OPT_LEN;
	}
	put_header(out, query->header.id, flags, 1, an, query->has_edns ? 1 : 0);
	return (int) pos;
}

int
wr_dns_build_error(const WrDnsHeader *header, WrDnsRcode rcode, uint8_t *out, size_t max_len)
{
	if (max_len < WR_DNS_HEADER_LEN)
		return -ENOSPC;
	put_header(out, header->id, reply_flags(header->flags, false, rcode), 0, 0, 0);
	return WR_DNS_HEADER_LEN;
}
