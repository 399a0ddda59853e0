/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrTai64n"

#include "config.h"

#include <string.h>

#include "wr-tai64n.h"

/* TAI64 labels second s (counted from 1970) as 2^62 + s */
#define TAI64_EPOCH_LABEL (UINT64_C(1) << 62)
#define TAI64_SECONDS_LEN 8
#define TAI64N_NANOS_LEN  4
#define USEC_PER_SEC	  INT64_C(1000000)
#define NSEC_PER_USEC	  1000U
/*
 * WireGuard rounds down to the largest power of two below 1 s / 50 initiations per second,
 * i.e. 2^24 ns, so that the timestamp does not reveal the precision of the sender's clock
 */
#define TAI64N_NANOS_GRANULE (UINT32_C(1) << 24)

_Static_assert(WR_TAI64N_LEN == TAI64_SECONDS_LEN + TAI64N_NANOS_LEN, "TAI64N layout");

void
wr_tai64n_from_realtime(uint8_t out[WR_TAI64N_LEN], int64_t realtime_usec)
{
	int64_t secs = realtime_usec / USEC_PER_SEC;
	int64_t usec = realtime_usec % USEC_PER_SEC;
	uint64_t label;
	uint32_t nanos;

	/* floor, not truncation, for times before 1970 */
	if (usec < 0) {
		usec += USEC_PER_SEC;
		secs -= 1;
	}
	label = TAI64_EPOCH_LABEL + (uint64_t) secs;
	nanos = (uint32_t) usec * NSEC_PER_USEC;
	nanos &= ~(TAI64N_NANOS_GRANULE - 1);

	for (size_t i = 0; i < TAI64_SECONDS_LEN; i++)
		out[i] = (uint8_t) (label >> (8 * (TAI64_SECONDS_LEN - 1 - i)));
	for (size_t i = 0; i < TAI64N_NANOS_LEN; i++)
		out[TAI64_SECONDS_LEN + i] = (uint8_t) (nanos >> (8 * (TAI64N_NANOS_LEN - 1 - i)));
}

bool
wr_tai64n_after(const uint8_t a[WR_TAI64N_LEN], const uint8_t b[WR_TAI64N_LEN])
{
	/* big endian, so byte order is time order; timestamps are not secret */
	return memcmp(a, b, WR_TAI64N_LEN) > 0;
}
