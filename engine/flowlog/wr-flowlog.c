/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrFlowLog"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "wr-flowlog.h"

struct _WrFlowLog {
	char *path;
	int fd;
	guint64 size;	   /* of the data area */
	guint64 write_pos; /* in the data area: where the next record goes */
	guint64 next_seq;
	guint64 appended;
	guint damaged;
};

typedef struct {
	uint64_t seq;
	size_t offset;
	size_t len;
	WrFlowRecord record;
} Found;

static gboolean
set_errno_error(GError **error, int err, const char *what, const char *path)
{
	g_set_error(error, G_IO_ERROR, g_io_error_from_errno(err), "%s %s: %s", what, path,
		    g_strerror(err));
	return FALSE;
}

static gboolean
write_all(int fd, const uint8_t *buf, size_t len, off_t at, const char *path, GError **error)
{
	while (len > 0) {
		ssize_t n = pwrite(fd, buf, len, at);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return set_errno_error(error, errno, "cannot write", path);
		buf += n;
		len -= (size_t) n;
		at += n;
	}
	return TRUE;
}

/* reads up to len bytes at at; returns how many (short at the end of the file) or -1 */
static gssize
read_all(int fd, uint8_t *buf, size_t len, off_t at, const char *path, GError **error)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, buf + done, len - done, at + (off_t) done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			(void) set_errno_error(error, errno, "cannot read", path);
			return -1;
		}
		if (n == 0)
			break;
		done += (size_t) n;
	}
	return (gssize) done;
}

static gboolean
init_ring(int fd, const char *tmp, const char *path, guint64 size, GError **error)
{
	uint8_t header[WR_FLOW_RING_HEADER_LEN];

	wr_flow_ring_header_encode(size, header);
	if (!write_all(fd, header, sizeof(header), 0, tmp, error))
		return FALSE;
	if (ftruncate(fd, (off_t) (WR_FLOW_RING_HEADER_LEN + size)) < 0)
		return set_errno_error(error, errno, "cannot size", tmp);
	if (fsync(fd) < 0 || rename(tmp, path) < 0)
		return set_errno_error(error, errno, "cannot install", path);
	return TRUE;
}

/* a new, empty ring at path (replacing whatever is there), atomically */
static int
create_ring(const char *path, guint64 size, GError **error)
{
	g_autofree char *tmp = g_strdup_printf("%s.XXXXXX", path);
	int fd = g_mkstemp_full(tmp, O_RDWR | O_CLOEXEC, 0600);

	if (fd < 0) {
		(void) set_errno_error(error, errno, "cannot create", tmp);
		return -1;
	}
	if (!init_ring(fd, tmp, path, size, error)) {
		(void) g_unlink(tmp);
		(void) close(fd);
		return -1;
	}
	return fd;
}

static void
found_cb(const WrFlowRecord *r, uint64_t seq, size_t offset, size_t len, gpointer user_data)
{
	GArray *found = user_data;
	Found f = {.seq = seq, .offset = offset, .len = len, .record = *r};

	g_array_append_val(found, f);
}

static gint
found_cmp(gconstpointer a, gconstpointer b)
{
	const Found *fa = a, *fb = b;

	return fa->seq < fb->seq ? -1 : fa->seq > fb->seq;
}

/* every record in the data area, by sequence number; NULL on a read error */
static GArray *
scan_file(int fd, guint64 size, const char *path, guint *out_damaged, GError **error)
{
	g_autofree uint8_t *data = g_malloc(size);
	g_autoptr(GArray) found = g_array_new(FALSE, FALSE, sizeof(Found));
	gssize n = read_all(fd, data, size, WR_FLOW_RING_HEADER_LEN, path, error);

	if (n < 0)
		return NULL;
	(void) wr_flow_ring_scan(data, (size_t) n, found_cb, found, out_damaged);
	g_array_sort(found, found_cmp);
	return g_steal_pointer(&found);
}

static gboolean
append_one(WrFlowLog *self, const WrFlowRecord *r, GError **error)
{
	uint8_t buf[WR_FLOW_REC_MAX];
	size_t len = wr_flow_record_encode(r, self->next_seq, buf);

	if (self->write_pos + len > self->size) {
		uint8_t zeros[WR_FLOW_REC_MAX] = {0};

		/* wipe the end of the area: a record two laps old may still stand whole there
		 * and would come back out of order */
		if (!write_all(self->fd, zeros, self->size - self->write_pos,
			       (off_t) (WR_FLOW_RING_HEADER_LEN + self->write_pos), self->path,
			       error))
			return FALSE;
		self->write_pos = 0;
	}
	if (!write_all(self->fd, buf, len, (off_t) (WR_FLOW_RING_HEADER_LEN + self->write_pos),
		       self->path, error))
		return FALSE;
	self->write_pos += len;
	self->next_seq++;
	self->appended++;
	return TRUE;
}

WrFlowLog *
wr_flow_log_open(const char *path, guint64 size, char **out_problem, GError **error)
{
	g_autoptr(WrFlowLog) self = g_new0(WrFlowLog, 1);
	g_autoptr(GArray) found = NULL;
	g_autofree char *problem = NULL;
	uint8_t header[WR_FLOW_RING_HEADER_LEN];
	guint64 file_size = 0;
	guint damaged = 0;
	struct stat st;
	gssize n;
	int r;

	self->fd = -1;
	self->path = g_strdup(path);
	if (size == 0)
		size = WR_FLOW_RING_DEFAULT_SIZE;
	if (size < WR_FLOW_RING_MIN_SIZE || size > WR_FLOW_RING_MAX_SIZE) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "flow log size %" G_GUINT64_FORMAT " is out of range (%u to %u bytes)",
			    size, (guint) WR_FLOW_RING_MIN_SIZE, (guint) WR_FLOW_RING_MAX_SIZE);
		return NULL;
	}
	self->size = size;
	self->next_seq = 1;

	self->fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (self->fd < 0 && errno != ENOENT) {
		(void) set_errno_error(error, errno, "cannot open", path);
		return NULL;
	}
	if (self->fd < 0) {
		self->fd = create_ring(path, size, error);
		return self->fd < 0 ? NULL : g_steal_pointer(&self);
	}
	/* the records show whom this machine talks to: nobody else reads them */
	if (fstat(self->fd, &st) < 0 || ((st.st_mode & 077) != 0 && fchmod(self->fd, 0600) < 0)) {
		(void) set_errno_error(error, errno, "cannot secure", path);
		return NULL;
	}
	n = read_all(self->fd, header, sizeof(header), 0, path, error);
	if (n < 0)
		return NULL;
	r = wr_flow_ring_header_decode(header, (size_t) n, &file_size);
	if (r < 0) {
		g_autofree char *aside = g_strdup_printf("%s.corrupt", path);

		/* not ours to repair: keep it for whoever wants to look, start afresh */
		if (rename(path, aside) < 0) {
			(void) set_errno_error(error, errno, "cannot set aside", path);
			return NULL;
		}
		problem = g_strdup_printf("%s is not a flow log (%s): moved to %s, a new one "
					  "started",
					  path,
					  r == -EPROTONOSUPPORT ? "unknown version"
					  : r == -ERANGE	? "size out of range"
								: "bad header",
					  aside);
		(void) close(self->fd);
		self->fd = create_ring(path, size, error);
		if (self->fd < 0)
			return NULL;
		if (out_problem != NULL)
			*out_problem = g_steal_pointer(&problem);
		return g_steal_pointer(&self);
	}
	found = scan_file(self->fd, file_size, path, &damaged, error);
	if (found == NULL)
		return NULL;
	if (file_size != size) {
		/* resized: the newest records that fit move into a new ring */
		(void) close(self->fd);
		self->fd = create_ring(path, size, error);
		if (self->fd < 0)
			return NULL;
		for (guint i = 0; i < found->len; i++) {
			Found *f = &g_array_index(found, Found, i);

			self->next_seq = f->seq;
			if (!append_one(self, &f->record, error))
				return NULL;
		}
		self->appended = 0;
	} else {
		if ((guint64) st.st_size < WR_FLOW_RING_HEADER_LEN + size &&
		    ftruncate(self->fd, (off_t) (WR_FLOW_RING_HEADER_LEN + size)) < 0) {
			(void) set_errno_error(error, errno, "cannot size", path);
			return NULL;
		}
		if (found->len > 0) {
			Found *last = &g_array_index(found, Found, found->len - 1);

			self->write_pos = last->offset + last->len;
			self->next_seq = last->seq + 1;
		}
	}
	self->damaged = damaged;
	if (out_problem != NULL)
		*out_problem = g_steal_pointer(&problem);
	return g_steal_pointer(&self);
}

void
wr_flow_log_free(WrFlowLog *self)
{
	if (self == NULL)
		return;
	if (self->fd >= 0)
		(void) close(self->fd);
	g_free(self->path);
	g_free(self);
}

gboolean
wr_flow_log_append(WrFlowLog *self, const WrFlowRecord *records, guint n, GError **error)
{
	for (guint i = 0; i < n; i++) {
		if (!append_one(self, &records[i], error))
			return FALSE;
	}
	return TRUE;
}

GArray *
wr_flow_log_read(WrFlowLog *self, gint64 since, guint max, GError **error)
{
	g_autoptr(GArray) found = scan_file(self->fd, self->size, self->path, NULL, error);
	g_autoptr(GArray) out = g_array_new(FALSE, FALSE, sizeof(WrFlowRecord));
	guint first;

	if (found == NULL)
		return NULL;
	/* the newest max that ended at or after since */
	first = found->len;
	for (guint kept = 0; first > 0 && kept < max; first--) {
		if (g_array_index(found, Found, first - 1).record.end_time >= since)
			kept++;
	}
	for (guint i = first; i < found->len; i++) {
		Found *f = &g_array_index(found, Found, i);

		if (f->record.end_time >= since)
			g_array_append_val(out, f->record);
	}
	return g_steal_pointer(&out);
}

guint64
wr_flow_log_get_size(WrFlowLog *self)
{
	return self->size;
}

guint
wr_flow_log_get_damaged(WrFlowLog *self)
{
	return self->damaged;
}

guint64
wr_flow_log_get_appended(WrFlowLog *self)
{
	return self->appended;
}

gboolean
wr_flow_log_parse_size(const char *text, guint64 *out_size, GError **error)
{
	guint64 n = 0, unit = 1;
	const char *p = text;

	if (text == NULL || !g_ascii_isdigit(*p)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "\"%s\" is not a size (bytes, or a number with K, M or G)",
			    text != NULL ? text : "");
		return FALSE;
	}
	for (; g_ascii_isdigit(*p); p++) {
		if (n > (G_MAXUINT64 - 9) / 10) {
			n = G_MAXUINT64;
			continue;
		}
		n = n * 10 + (guint64) (*p - '0');
	}
	switch (g_ascii_toupper(*p)) {
	case '\0':
		break;
	case 'K':
		unit = 1024;
		break;
	case 'M':
		unit = 1024 * 1024;
		break;
	case 'G':
		unit = 1024 * 1024 * 1024;
		break;
	default:
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "\"%s\" is not a size (bytes, or a number with K, M or G)", text);
		return FALSE;
	}
	if (*p != '\0' && p[1] != '\0' &&
	    !(g_ascii_toupper(p[1]) == 'I' && p[2] == 'B' && p[3] == '\0')) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "\"%s\" is not a size (bytes, or a number with K, M or G)", text);
		return FALSE;
	}
	if (n != 0 && (n > WR_FLOW_RING_MAX_SIZE / unit || n * unit < WR_FLOW_RING_MIN_SIZE)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "%s is out of range (64K to 1G, or 0 for no flow log)", text);
		return FALSE;
	}
	*out_size = n * unit;
	return TRUE;
}
