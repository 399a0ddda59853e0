/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The on-disk form of warrend's flow log (docs/flow-logs.md, "The ring file"): a 32-byte file
 * header, then a data area of fixed size in which flow records are written one after the
 * other, starting again at the beginning when the next one does not fit.  There is no write
 * pointer on disk: every record carries a sequence number and a CRC-32, and reading scans the
 * whole area.  The newest record is the one with the highest sequence number; a record cut by
 * a crash, or half overwritten by newer ones, fails its CRC and is skipped.
 *
 * Record, little-endian:
 *
 *    0 u32 magic "WFLR"           56 i64 start (Unix µs)
 *    4 u16 total length           64 i64 end (Unix µs)
 *    6 u8  version (1)            72 u64 tx packets   80 u64 tx bytes
 *    7 u8  family (4 or 6)        88 u64 rx packets   96 u64 rx bytes
 *    8 u64 sequence number       104 i64 peer id
 *   16 u8  proto, path, end, flags   112 u8 name length n (0..63)
 *   20 u16 local port, remote port   113 n bytes of name (UTF-8, no NUL)
 *   24 16 bytes local address    113+n u32 CRC-32 of everything before it
 *   40 16 bytes remote address
 *
 * Pure: bytes in, records out; no I/O, no logging.  Everything read is checked (lengths,
 * family, enums, padding of IPv4 addresses, times, UTF-8 of the name) before it is trusted.
 */

#pragma once

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

#include "wr-flowtable.h"

#define WR_FLOW_REC_MAGIC   0x524c4657u /* "WFLR" */
#define WR_FLOW_REC_VERSION 1
#define WR_FLOW_REC_FIXED   113 /* up to the name */
#define WR_FLOW_REC_MIN	    (WR_FLOW_REC_FIXED + 4)
#define WR_FLOW_REC_MAX	    (WR_FLOW_REC_FIXED + WR_FLOW_PEER_MAX + 4)

#define WR_FLOW_RING_MAGIC	"WRFLOWS\n"
#define WR_FLOW_RING_VERSION	1
#define WR_FLOW_RING_HEADER_LEN 32
/* bounds of the data area, bytes */
#define WR_FLOW_RING_MIN_SIZE	  (64 * 1024)
#define WR_FLOW_RING_MAX_SIZE	  (1024 * 1024 * 1024)
#define WR_FLOW_RING_DEFAULT_SIZE (4 * 1024 * 1024)

/* writes r with seq into out; returns the length (WR_FLOW_REC_MIN..WR_FLOW_REC_MAX).  A name
 * longer than WR_FLOW_PEER_MAX is cut at a character boundary. */
size_t
wr_flow_record_encode(const WrFlowRecord *r, uint64_t seq, uint8_t out[WR_FLOW_REC_MAX]);

/*
 * Reads the record at the start of buf (len bytes available).  0 with out, out_seq and
 * out_len set; -ENOMSG when buf does not start with the magic; -EBADMSG when it does but the
 * record is cut short, fails its CRC or holds a value out of range.  The outputs are untouched
 * on failure.
 */
int
wr_flow_record_decode(const uint8_t *buf, size_t len, WrFlowRecord *out, uint64_t *out_seq,
		      size_t *out_len);

/* one record found by wr_flow_ring_scan(): at offset in the data area */
typedef void (*WrFlowRingScanFunc)(const WrFlowRecord *r, uint64_t seq, size_t offset, size_t len,
				   gpointer user_data);

/*
 * Walks a data area: every record that decodes is passed to func, in the order of the area;
 * between them, bytes that are not a record are stepped over one at a time.  out_damaged
 * (may be NULL) counts the places where the magic stood but the record did not decode (a torn
 * write, or one partly overwritten).  Returns the number of records found.
 */
guint
wr_flow_ring_scan(const uint8_t *data, size_t len, WrFlowRingScanFunc func, gpointer user_data,
		  guint *out_damaged);

/* the file header: magic, u32 version, u32 reserved (0), u64 data area size, u32 reserved,
 * u32 CRC-32 of the 28 bytes before it */
void
wr_flow_ring_header_encode(uint64_t size, uint8_t out[WR_FLOW_RING_HEADER_LEN]);
/* 0 with out_size; -EBADMSG (not a flow ring, bad CRC), -EPROTONOSUPPORT (another version) or
 * -ERANGE (size out of bounds); out_size untouched on failure */
int
wr_flow_ring_header_decode(const uint8_t *buf, size_t len, uint64_t *out_size);
