/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The flow log on disk (wr-flowrec, wr-flowlog): the record codec round trip and every
 * refusal; the ring file in a temporary directory: mode 0600, the size it was given and not a
 * byte more however many records go in, wraparound keeping exactly the newest, records
 * surviving a reopen, a torn record at the end dropped and overwritten, a corrupt file set
 * aside, a resize keeping the newest records, `since`, and sizes out of bounds refused.
 */

#define G_LOG_DOMAIN "WrFlowLogTest"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "wr-flowlog.h"

#define R0 G_GINT64_CONSTANT(1800000000000000)

static WrFlowRecord
record_n(guint n)
{
	WrFlowRecord r = {0};

	r.family = n % 2 == 0 ? AF_INET : AF_INET6;
	r.proto = n % 3 == 0 ? IPPROTO_UDP : IPPROTO_TCP;
	r.path = (uint8_t) (n % WR_FLOW_N_PATHS);
	r.end = (uint8_t) (n % WR_FLOW_N_ENDS);
	r.flags = n % 2 == 0 ? WR_FLOW_F_OUTBOUND : 0;
	r.lport = (uint16_t) (1000 + n);
	r.rport = 443;
	r.local[0] = 100;
	r.local[3] = 7;
	r.remote[0] = 100;
	r.remote[3] = (uint8_t) (n % 200);
	if (r.family == AF_INET6) {
		r.local[15] = 1;
		r.remote[15] = 2;
	}
	r.start = R0 + (gint64) n * 1000;
	r.end_time = r.start + 500;
	r.tx_packets = n;
	r.tx_bytes = (guint64) n * 1500;
	r.rx_packets = n + 1;
	r.rx_bytes = ((guint64) n << 33) + 7;
	r.peer_id = n % 5;
	if (n % 5 != 0)
		(void) g_snprintf(r.peer, sizeof(r.peer), "node-%u", n);
	return r;
}

static void
assert_record_equal(const WrFlowRecord *a, const WrFlowRecord *b)
{
	g_assert_cmpmem(a, sizeof(*a), b, sizeof(*b));
}

static void
test_codec(void)
{
	for (guint n = 0; n < 50; n++) {
		WrFlowRecord r = record_n(n), back;
		uint8_t buf[WR_FLOW_REC_MAX];
		uint64_t seq = 0;
		size_t len = wr_flow_record_encode(&r, 1000 + n, buf), got = 0;

		g_assert_cmpuint(len, ==, WR_FLOW_REC_MIN + strlen(r.peer));
		g_assert_cmpint(wr_flow_record_decode(buf, len, &back, &seq, &got), ==, 0);
		assert_record_equal(&r, &back);
		g_assert_cmpuint(seq, ==, 1000 + n);
		g_assert_cmpuint(got, ==, len);
		/* cut short anywhere: refused, outputs untouched */
		for (size_t cut = 4; cut < len; cut++) {
			got = 99;
			g_assert_cmpint(wr_flow_record_decode(buf, cut, &back, &seq, &got), ==,
					-EBADMSG);
			g_assert_cmpuint(got, ==, 99);
		}
		/* any single bit flipped: refused (the CRC, or the magic) */
		for (size_t i = 0; i < len; i++) {
			uint8_t copy[WR_FLOW_REC_MAX];
			int res;

			memcpy(copy, buf, len);
			copy[i] ^= 0x10;
			res = wr_flow_record_decode(copy, len, &back, &seq, &got);
			g_assert_true(res == -EBADMSG || res == -ENOMSG);
		}
	}
}

/* values the CRC covers but the reader must still refuse */
static void
test_codec_refusals(void)
{
	WrFlowRecord r = record_n(2), back;
	uint8_t buf[WR_FLOW_REC_MAX];
	uint64_t seq;
	size_t got;

	/* an out-of-range enum, an unknown flag, end before start: encoded as is, refused */
	r.path = WR_FLOW_N_PATHS;
	g_assert_cmpint(
		wr_flow_record_decode(buf, wr_flow_record_encode(&r, 1, buf), &back, &seq, &got),
		==, -EBADMSG);
	r = record_n(2);
	r.end = WR_FLOW_N_ENDS;
	g_assert_cmpint(
		wr_flow_record_decode(buf, wr_flow_record_encode(&r, 1, buf), &back, &seq, &got),
		==, -EBADMSG);
	r = record_n(2);
	r.flags = 0x80;
	g_assert_cmpint(
		wr_flow_record_decode(buf, wr_flow_record_encode(&r, 1, buf), &back, &seq, &got),
		==, -EBADMSG);
	r = record_n(2);
	r.end_time = r.start - 1;
	g_assert_cmpint(
		wr_flow_record_decode(buf, wr_flow_record_encode(&r, 1, buf), &back, &seq, &got),
		==, -EBADMSG);
	r = record_n(2);
	r.peer_id = -1;
	g_assert_cmpint(
		wr_flow_record_decode(buf, wr_flow_record_encode(&r, 1, buf), &back, &seq, &got),
		==, -EBADMSG);
	/* a name cut in the middle of a character is cut before it instead */
	r = record_n(2);
	memset(r.peer, 'a', WR_FLOW_PEER_MAX - 1);
	r.peer[WR_FLOW_PEER_MAX - 1] = (char) 0xc3; /* the first byte of "é" */
	r.peer[WR_FLOW_PEER_MAX] = '\0';
	g_assert_cmpuint(wr_flow_record_encode(&r, 1, buf), ==,
			 WR_FLOW_REC_MIN + WR_FLOW_PEER_MAX - 1);
	g_assert_cmpint(wr_flow_record_decode(buf, WR_FLOW_REC_MAX, &back, &seq, &got), ==, 0);
	g_assert_cmpuint(strlen(back.peer), ==, WR_FLOW_PEER_MAX - 1);
	/* no magic */
	memset(buf, 0, sizeof(buf));
	g_assert_cmpint(wr_flow_record_decode(buf, sizeof(buf), &back, &seq, &got), ==, -ENOMSG);
}

static void
test_header(void)
{
	uint8_t h[WR_FLOW_RING_HEADER_LEN];
	uint64_t size = 0;

	wr_flow_ring_header_encode(WR_FLOW_RING_DEFAULT_SIZE, h);
	g_assert_cmpint(wr_flow_ring_header_decode(h, sizeof(h), &size), ==, 0);
	g_assert_cmpuint(size, ==, WR_FLOW_RING_DEFAULT_SIZE);
	g_assert_cmpint(wr_flow_ring_header_decode(h, sizeof(h) - 1, &size), ==, -EBADMSG);
	h[20] ^= 1;
	g_assert_cmpint(wr_flow_ring_header_decode(h, sizeof(h), &size), ==, -EBADMSG);
	wr_flow_ring_header_encode(WR_FLOW_RING_MIN_SIZE - 1, h);
	g_assert_cmpint(wr_flow_ring_header_decode(h, sizeof(h), &size), ==, -ERANGE);
	g_assert_cmpuint(size, ==, WR_FLOW_RING_DEFAULT_SIZE);
}

typedef struct {
	char *dir;
	char *path;
} Fixture;

static void
fixture_setup(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;

	f->dir = g_dir_make_tmp("test-flowlog-XXXXXX", &error);
	g_assert_no_error(error);
	f->path = g_build_filename(f->dir, "flows.ring", NULL);
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
	g_autoptr(GDir) dir = g_dir_open(f->dir, 0, NULL);
	const char *name;

	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		g_autofree char *p = g_build_filename(f->dir, name, NULL);

		(void) g_unlink(p);
	}
	(void) g_rmdir(f->dir);
	g_free(f->dir);
	g_free(f->path);
}

static GArray *
read_all(WrFlowLog *log, gint64 since)
{
	g_autoptr(GError) error = NULL;
	GArray *out = wr_flow_log_read(log, since, G_MAXUINT, &error);

	g_assert_no_error(error);
	g_assert_nonnull(out);
	return out;
}

static void
assert_file(const char *path, guint64 size)
{
	struct stat st;

	g_assert_cmpint(stat(path, &st), ==, 0);
	g_assert_cmpuint(st.st_mode & 0777, ==, 0600);
	g_assert_cmpuint((guint64) st.st_size, ==, WR_FLOW_RING_HEADER_LEN + size);
}

static void
test_ring_basic(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(WrFlowLog) log = NULL;
	g_autoptr(GArray) got = NULL;
	g_autoptr(GArray) since = NULL;
	g_autofree char *problem = NULL;
	WrFlowRecord recs[10];

	log = wr_flow_log_open(f->path, 0, &problem, &error);
	g_assert_no_error(error);
	g_assert_null(problem);
	assert_file(f->path, WR_FLOW_RING_DEFAULT_SIZE);
	for (guint i = 0; i < G_N_ELEMENTS(recs); i++)
		recs[i] = record_n(i);
	g_assert_true(wr_flow_log_append(log, recs, G_N_ELEMENTS(recs), &error));
	g_assert_no_error(error);
	got = read_all(log, 0);
	g_assert_cmpuint(got->len, ==, 10);
	for (guint i = 0; i < got->len; i++)
		assert_record_equal(&g_array_index(got, WrFlowRecord, i), &recs[i]);
	/* since: the records that ended at or after it */
	since = read_all(log, recs[7].end_time);
	g_assert_cmpuint(since->len, ==, 3);
	assert_record_equal(&g_array_index(since, WrFlowRecord, 0), &recs[7]);
	/* max: the newest */
	{
		g_autoptr(GArray) two = wr_flow_log_read(log, 0, 2, &error);

		g_assert_no_error(error);
		g_assert_cmpuint(two->len, ==, 2);
		assert_record_equal(&g_array_index(two, WrFlowRecord, 0), &recs[8]);
		assert_record_equal(&g_array_index(two, WrFlowRecord, 1), &recs[9]);
	}
	/* a reopen finds them, and appends behind them */
	g_clear_pointer(&log, wr_flow_log_free);
	log = wr_flow_log_open(f->path, 0, &problem, &error);
	g_assert_no_error(error);
	g_assert_null(problem);
	g_assert_true(wr_flow_log_append(log, recs, 1, &error));
	g_clear_pointer(&got, g_array_unref);
	got = read_all(log, 0);
	g_assert_cmpuint(got->len, ==, 11);
	assert_record_equal(&g_array_index(got, WrFlowRecord, 10), &recs[0]);
}

/* many more records than fit: the file keeps its size, the newest stay, in order, and a
 * reopen agrees */
static void
test_ring_wrap(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(WrFlowLog) log = wr_flow_log_open(f->path, WR_FLOW_RING_MIN_SIZE, NULL, &error);
	g_autoptr(GArray) got = NULL;
	g_autoptr(GArray) again = NULL;
	guint total = 5000, first;
	guint64 bytes = 0;

	g_assert_no_error(error);
	for (guint i = 0; i < total; i++) {
		WrFlowRecord r = record_n(i);

		g_assert_true(wr_flow_log_append(log, &r, 1, &error));
	}
	assert_file(f->path, WR_FLOW_RING_MIN_SIZE);
	got = read_all(log, 0);
	g_assert_cmpuint(got->len, <, total);
	g_assert_cmpuint(got->len, >, 0);
	/* consecutive and ending with the last one written */
	first = total - got->len;
	for (guint i = 0; i < got->len; i++) {
		WrFlowRecord want = record_n(first + i);

		assert_record_equal(&g_array_index(got, WrFlowRecord, i), &want);
		bytes += WR_FLOW_REC_MIN + strlen(want.peer);
	}
	/* they fit, and one more (the one before the first) would not have: at most one record
	 * length wasted at the end of the area and one overwritten in part */
	g_assert_cmpuint(bytes, <=, WR_FLOW_RING_MIN_SIZE);
	g_assert_cmpuint(bytes + 2 * WR_FLOW_REC_MAX, >, WR_FLOW_RING_MIN_SIZE);
	g_clear_pointer(&log, wr_flow_log_free);
	log = wr_flow_log_open(f->path, WR_FLOW_RING_MIN_SIZE, NULL, &error);
	g_assert_no_error(error);
	again = read_all(log, 0);
	g_assert_cmpuint(again->len, ==, got->len);
	g_assert_cmpmem(again->data, again->len * sizeof(WrFlowRecord), got->data,
			got->len * sizeof(WrFlowRecord));
}

/* a crash in the middle of a write: the torn record is reported and dropped, the next
 * append overwrites it, nothing else is lost */
static void
test_ring_torn(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(WrFlowLog) log = wr_flow_log_open(f->path, WR_FLOW_RING_MIN_SIZE, NULL, &error);
	g_autoptr(GArray) got = NULL;
	g_autofree char *problem = NULL;
	WrFlowRecord recs[3] = {record_n(1), record_n(2), record_n(3)};
	uint8_t buf[WR_FLOW_REC_MAX];
	size_t len0 = WR_FLOW_REC_MIN + strlen(recs[0].peer);
	size_t len1 = WR_FLOW_REC_MIN + strlen(recs[1].peer);
	size_t len;
	int fd;

	g_assert_no_error(error);
	g_assert_true(wr_flow_log_append(log, recs, 2, &error));
	g_clear_pointer(&log, wr_flow_log_free);
	/* the third record, half written behind the second */
	len = wr_flow_record_encode(&recs[2], 3, buf);
	fd = open(f->path, O_WRONLY | O_CLOEXEC);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(pwrite(fd, buf, len / 2, WR_FLOW_RING_HEADER_LEN + len0 + len1), ==,
			(ssize_t) (len / 2));
	(void) close(fd);

	log = wr_flow_log_open(f->path, WR_FLOW_RING_MIN_SIZE, &problem, &error);
	g_assert_no_error(error);
	g_assert_null(problem);
	g_assert_cmpuint(wr_flow_log_get_damaged(log), ==, 1);
	got = read_all(log, 0);
	g_assert_cmpuint(got->len, ==, 2);
	g_assert_true(wr_flow_log_append(log, &recs[0], 1, &error));
	g_clear_pointer(&got, g_array_unref);
	got = read_all(log, 0);
	g_assert_cmpuint(got->len, ==, 3);
	assert_record_equal(&g_array_index(got, WrFlowRecord, 2), &recs[0]);
	/* and the torn one is gone for good: a reopen is clean */
	g_clear_pointer(&log, wr_flow_log_free);
	g_clear_pointer(&problem, g_free);
	log = wr_flow_log_open(f->path, WR_FLOW_RING_MIN_SIZE, &problem, &error);
	g_assert_no_error(error);
	g_assert_null(problem);
	g_assert_cmpuint(wr_flow_log_get_damaged(log), ==, 0);
}

/* not a flow ring: set aside as PATH.corrupt (kept as it was), a new ring started */
static void
test_ring_corrupt(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(WrFlowLog) log = NULL;
	g_autoptr(GArray) got = NULL;
	g_autofree char *problem = NULL;
	g_autofree char *aside = g_strdup_printf("%s.corrupt", f->path);
	g_autofree char *kept = NULL;
	const char junk[] = "this is not a flow log, it is a shopping list";

	g_assert_true(g_file_set_contents(f->path, junk, -1, &error));
	log = wr_flow_log_open(f->path, 0, &problem, &error);
	g_assert_no_error(error);
	g_assert_nonnull(problem);
	g_assert_nonnull(strstr(problem, "is not a flow log (bad header)"));
	g_assert_true(g_file_get_contents(aside, &kept, NULL, &error));
	g_assert_cmpstr(kept, ==, junk);
	assert_file(f->path, WR_FLOW_RING_DEFAULT_SIZE);
	got = read_all(log, 0);
	g_assert_cmpuint(got->len, ==, 0);
}

/* a new size: the newest records that fit move over; the file has the new size */
static void
test_ring_resize(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(WrFlowLog) log =
		wr_flow_log_open(f->path, 4 * WR_FLOW_RING_MIN_SIZE, NULL, &error);
	g_autoptr(GArray) big = NULL;
	g_autoptr(GArray) small = NULL;
	guint total = 1500;

	g_assert_no_error(error);
	for (guint i = 0; i < total; i++) {
		WrFlowRecord r = record_n(i);

		g_assert_true(wr_flow_log_append(log, &r, 1, &error));
	}
	big = read_all(log, 0);
	g_assert_cmpuint(big->len, ==, total);
	g_clear_pointer(&log, wr_flow_log_free);
	log = wr_flow_log_open(f->path, WR_FLOW_RING_MIN_SIZE, NULL, &error);
	g_assert_no_error(error);
	assert_file(f->path, WR_FLOW_RING_MIN_SIZE);
	small = read_all(log, 0);
	g_assert_cmpuint(small->len, <, total);
	g_assert_cmpuint(small->len, >, total / 8);
	for (guint i = 0; i < small->len; i++) {
		WrFlowRecord want = record_n(total - small->len + i);

		assert_record_equal(&g_array_index(small, WrFlowRecord, i), &want);
	}
}

static void
test_ring_bad_size(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	WrFlowLog *log = wr_flow_log_open(f->path, WR_FLOW_RING_MIN_SIZE - 1, NULL, &error);

	g_assert_null(log);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
	g_assert_nonnull(strstr(error->message, "out of range"));
	g_assert_false(g_file_test(f->path, G_FILE_TEST_EXISTS));
}

/* a file with loose permissions is tightened */
static void
test_ring_mode(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(WrFlowLog) log = wr_flow_log_open(f->path, 0, NULL, &error);

	g_assert_no_error(error);
	g_clear_pointer(&log, wr_flow_log_free);
	g_assert_cmpint(chmod(f->path, 0644), ==, 0);
	log = wr_flow_log_open(f->path, 0, NULL, &error);
	g_assert_no_error(error);
	assert_file(f->path, WR_FLOW_RING_DEFAULT_SIZE);
}

static void
test_parse_size(void)
{
	struct {
		const char *text;
		guint64 size; /* G_MAXUINT64: refused */
	} cases[] = {
		{"0", 0},
		{"65536", 65536},
		{"64K", 65536},
		{"64k", 65536},
		{"4M", 4 * 1024 * 1024},
		{"4MiB", 4 * 1024 * 1024},
		{"1G", 1024 * 1024 * 1024},
		{"65535", G_MAXUINT64},
		{"63K", G_MAXUINT64},
		{"2G", G_MAXUINT64},
		{"99999999999999999999999", G_MAXUINT64},
		{"", G_MAXUINT64},
		{"-1", G_MAXUINT64},
		{"4X", G_MAXUINT64},
		{"4MB", G_MAXUINT64},
		{"4M ", G_MAXUINT64},
		{"M", G_MAXUINT64},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		guint64 size = 12345;
		gboolean ok = wr_flow_log_parse_size(cases[i].text, &size, &error);

		if (cases[i].size == G_MAXUINT64) {
			g_assert_false(ok);
			g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
			g_assert_cmpuint(size, ==, 12345);
		} else {
			g_assert_no_error(error);
			g_assert_true(ok);
			g_assert_cmpuint(size, ==, cases[i].size);
		}
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/warren/flowlog/codec", test_codec);
	g_test_add_func("/warren/flowlog/codec-refusals", test_codec_refusals);
	g_test_add_func("/warren/flowlog/header", test_header);
	g_test_add_func("/warren/flowlog/parse-size", test_parse_size);
#define RING(name, fn) \
	g_test_add("/warren/flowlog/" name, Fixture, NULL, fixture_setup, fn, fixture_teardown)
	RING("ring-basic", test_ring_basic);
	RING("ring-wrap", test_ring_wrap);
	RING("ring-torn", test_ring_torn);
	RING("ring-corrupt", test_ring_corrupt);
	RING("ring-resize", test_ring_resize);
	RING("ring-bad-size", test_ring_bad_size);
	RING("ring-mode", test_ring_mode);
	return g_test_run();
}
