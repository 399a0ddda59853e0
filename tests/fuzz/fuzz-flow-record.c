/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer target for the flow log's on-disk form (wr-flowrec): arbitrary bytes as one
 * record, as a whole data area of the ring, and as a file header.  Besides the sanitizers it
 * checks the contracts: outputs untouched on failure, a record that decodes encodes back to
 * the same bytes (one spelling per record), its length within bounds, and the scanner's
 * records all lying inside the area, in order, without overlap.
 *
 * Input: the bytes, as is.
 */

#define G_LOG_DOMAIN "WrFuzzFlowRecord"

#include "config.h"

#include <errno.h>
#include <glib.h>
#include <string.h>

#include "wr-flowrec.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define POISON 0xA5

typedef struct {
	size_t len;
	size_t next; /* where the previous record ended */
} ScanCheck;

static void
scan_cb(const WrFlowRecord *r, uint64_t seq, size_t offset, size_t len, gpointer user_data)
{
	ScanCheck *c = user_data;
	uint8_t buf[WR_FLOW_REC_MAX];

	g_assert_cmpuint(offset, >=, c->next);
	g_assert_cmpuint(offset + len, <=, c->len);
	g_assert_cmpuint(wr_flow_record_encode(r, seq, buf), ==, len);
	c->next = offset + len;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	WrFlowRecord r;
	uint64_t seq, hsize;
	size_t len;
	ScanCheck c = {.len = size, .next = 0};
	guint damaged = 0;
	int res;

	memset(&r, POISON, sizeof(r));
	memset(&seq, POISON, sizeof(seq));
	memset(&len, POISON, sizeof(len));
	res = wr_flow_record_decode(data, size, &r, &seq, &len);
	if (res == 0) {
		uint8_t buf[WR_FLOW_REC_MAX];

		g_assert_cmpuint(len, >=, WR_FLOW_REC_MIN);
		g_assert_cmpuint(len, <=, WR_FLOW_REC_MAX);
		g_assert_cmpuint(len, <=, size);
		g_assert_cmpuint(wr_flow_record_encode(&r, seq, buf), ==, len);
		g_assert_cmpmem(buf, len, data, len);
	} else {
		g_assert_true(res == -EBADMSG || res == -ENOMSG);
		for (size_t i = 0; i < sizeof(len); i++)
			g_assert_cmphex(((const uint8_t *) &len)[i], ==, POISON);
	}

	(void) wr_flow_ring_scan(data, size, scan_cb, &c, &damaged);

	memset(&hsize, POISON, sizeof(hsize));
	res = wr_flow_ring_header_decode(data, size, &hsize);
	if (res == 0) {
		uint8_t h[WR_FLOW_RING_HEADER_LEN];

		g_assert_cmpuint(hsize, >=, WR_FLOW_RING_MIN_SIZE);
		g_assert_cmpuint(hsize, <=, WR_FLOW_RING_MAX_SIZE);
		wr_flow_ring_header_encode(hsize, h);
		/* the reserved bytes may differ; the size and magic may not */
		g_assert_cmpmem(h, 8, data, 8);
	} else {
		g_assert_true(res == -EBADMSG || res == -EPROTONOSUPPORT || res == -ERANGE);
	}
	return 0;
}
