/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * DNS messages (RFC 1035 §4, RFC 6891 for EDNS0), the part MagicDNS needs (docs/magicdns.md):
 *
 *   wr_dns_parse()       a whole message: the header, one question, and every resource record
 *                        of the three other sections walked and bounds-checked, names read with
 *                        compression (RFC 1035 §4.1.4: pointers only backwards, so no loops),
 *                        the EDNS0 OPT record picked out of the additional section.  The first
 *                        WR_DNS_MAX_RECORDS answers are kept (type, class, TTL, where the data
 *                        is) for the forwarder's checks and for tests.
 *   wr_dns_build_reply() a reply to a parsed query: the question echoed byte for byte (its case
 *                        too: resolvers that randomize case check it), A, AAAA and PTR answers,
 *                        any RCODE (NXDOMAIN, SERVFAIL, REFUSED, ...), and an OPT record when the
 *                        query had one, with the client's UDP size as the limit of the reply.
 *   wr_dns_name_*()      names between the wire form and text ("n1.tailnet.test", no final dot;
 *                        a byte outside letters, digits, '-' and '_' is written \DDD, as dig
 *                        does, so that every wire name has exactly one text form).
 *
 * Pure: no I/O, no clock, no allocation.  Functions returning int give 0 or a length on success
 * and a negative errno on failure, and leave their out parameters untouched then:
 *   -EBADMSG   malformed: truncated, a bad label, a pointer forward or out of the message, a
 *              name over 255 bytes, a record running past the end, bytes after the last record
 *   -ENOSPC    the reply does not fit in the room given
 *   -EINVAL    an argument is not usable (a PTR target that is not a name, ...)
 */

#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WR_DNS_PORT	  53
#define WR_DNS_HEADER_LEN 12
/* RFC 1035 §2.3.4 */
#define WR_DNS_MAX_NAME	 255 /* wire bytes of a name, the root's 0 included */
#define WR_DNS_MAX_LABEL 63
/* the text form: every byte \DDD at worst, plus the dots and the NUL */
#define WR_DNS_NAME_STRLEN (4 * WR_DNS_MAX_NAME + 1)
/* a message over UDP without EDNS (RFC 1035 §4.2.1), and over TCP (the 2-byte length) */
#define WR_DNS_UDP_MIN 512
#define WR_DNS_MAX_MSG 65535
/* the UDP size we offer in our own OPT records: the 2020 DNS flag day's choice, which fits
 * any path of MTU 1280 (the tunnel's) */
#define WR_DNS_EDNS_UDP 1232
/* answers wr_dns_parse keeps; the rest are still checked */
#define WR_DNS_MAX_RECORDS 16

enum {
	WR_DNS_TYPE_A = 1,
	WR_DNS_TYPE_NS = 2,
	WR_DNS_TYPE_CNAME = 5,
	WR_DNS_TYPE_SOA = 6,
	WR_DNS_TYPE_PTR = 12,
	WR_DNS_TYPE_MX = 15,
	WR_DNS_TYPE_TXT = 16,
	WR_DNS_TYPE_AAAA = 28,
	WR_DNS_TYPE_OPT = 41,
	WR_DNS_TYPE_ANY = 255,
};

enum {
	WR_DNS_CLASS_IN = 1,
	WR_DNS_CLASS_ANY = 255,
};

/* header flags (the second 16-bit word), RFC 1035 §4.1.1 and RFC 4035 §3.2 */
enum {
	WR_DNS_FLAG_QR = 0x8000,
	WR_DNS_OPCODE_MASK = 0x7800,
	WR_DNS_FLAG_AA = 0x0400,
	WR_DNS_FLAG_TC = 0x0200,
	WR_DNS_FLAG_RD = 0x0100,
	WR_DNS_FLAG_RA = 0x0080,
	WR_DNS_FLAG_AD = 0x0020,
	WR_DNS_FLAG_CD = 0x0010,
	WR_DNS_RCODE_MASK = 0x000f,
};

#define WR_DNS_OPCODE_QUERY 0

typedef enum {
	WR_DNS_RCODE_NOERROR = 0,
	WR_DNS_RCODE_FORMERR = 1,
	WR_DNS_RCODE_SERVFAIL = 2,
	WR_DNS_RCODE_NXDOMAIN = 3,
	WR_DNS_RCODE_NOTIMP = 4,
	WR_DNS_RCODE_REFUSED = 5,
	/* extended (RFC 6891 §6.1.3): its upper 8 bits go in the OPT record, so only in a reply
	 * to a query with EDNS */
	WR_DNS_RCODE_BADVERS = 16,
} WrDnsRcode;

typedef struct {
	uint16_t id;
	uint16_t flags;
	uint16_t qdcount, ancount, nscount, arcount;
} WrDnsHeader;

/* one resource record of the answer section */
typedef struct {
	uint16_t type;
	uint16_t klass;
	uint32_t ttl;
	uint16_t rdata_off; /* where its data starts in the message */
	uint16_t rdlength;
} WrDnsRecord;

typedef struct {
	WrDnsHeader header;
	bool has_question; /* qdcount 1; qdcount over 1 is refused as -EBADMSG */
	char qname[WR_DNS_NAME_STRLEN];
	uint8_t qname_wire[WR_DNS_MAX_NAME]; /* the question's name uncompressed, case kept */
	uint8_t qname_wire_len;
	uint16_t qtype;
	uint16_t qclass;
	bool has_edns;
	uint16_t edns_udp_size; /* the OPT record's class: the sender's UDP payload size */
	uint8_t edns_version;
	uint8_t edns_ext_rcode; /* the upper 8 bits of the rcode */
	bool edns_do;		/* DNSSEC OK */
	uint16_t n_answers;	/* kept in answers[], at most WR_DNS_MAX_RECORDS */
	WrDnsRecord answers[WR_DNS_MAX_RECORDS];
} WrDnsMessage;

/* the 12-byte header alone (what a FORMERR reply needs); -EBADMSG when shorter */
int
wr_dns_parse_header(const uint8_t *msg, size_t len, WrDnsHeader *out);

/* a whole message (see above); 0 or -EBADMSG */
int
wr_dns_parse(const uint8_t *msg, size_t len, WrDnsMessage *out);

/*
 * The name at *offset (pointers followed), in text form; *offset moves past the name as it is
 * written there (a pointer counts 2 bytes).  out_wire, when not NULL, gets the uncompressed wire
 * form and *out_wire_len its length.  -EBADMSG on a bad name.
 */
int
wr_dns_name_read(const uint8_t *msg, size_t len, size_t *offset, char out[WR_DNS_NAME_STRLEN],
		 uint8_t *out_wire, size_t *out_wire_len);

/* text ("a.b", "a.b." or "" / "." for the root; \DDD and \X escapes) to the wire form; returns
 * its length, or -EINVAL for an empty label, a label over 63 bytes or a name over 255 */
int
wr_dns_name_to_wire(const char *text, uint8_t out[WR_DNS_MAX_NAME]);

/* text names equal, ASCII case ignored (both in wr_dns_name_read's form) */
bool
wr_dns_name_equal(const char *a, const char *b);

/* name is domain or below it ("x.tailnet.test" under "tailnet.test"), ASCII case ignored */
bool
wr_dns_name_under(const char *name, const char *domain);

/* one answer of a reply we build: A (4 bytes), AAAA (16) or PTR (a name in text form) */
typedef struct {
	uint16_t type;
	uint32_t ttl;
	uint8_t addr[16];
	const char *ptr;
} WrDnsAnswer;

/*
 * A reply to query (which wr_dns_parse gave, with a question): same id and opcode, QR and RA set,
 * RD and CD copied, AA when authoritative, rcode, the question, the answers (all owned by the
 * question's name, written as a pointer to it), and an OPT record if the query had one.  The
 * reply is cut to max_len (and to the client's EDNS size or 512 when over_udp): answers that do
 * not fit are left out and TC is set.  Returns the length or -ENOSPC (max_len below what the
 * header and question need) or -EINVAL (a bad answer, or an extended rcode without EDNS).
 */
int
wr_dns_build_reply(const WrDnsMessage *query, WrDnsRcode rcode, bool authoritative,
		   const WrDnsAnswer *answers, size_t n_answers, bool over_udp, uint8_t *out,
		   size_t max_len);

/*
 * A reply of a header alone with rcode (qdcount 0), for a query wr_dns_parse refused (FORMERR):
 * header is what wr_dns_parse_header read.  Returns WR_DNS_HEADER_LEN or -ENOSPC.
 */
int
wr_dns_build_error(const WrDnsHeader *header, WrDnsRcode rcode, uint8_t *out, size_t max_len);
