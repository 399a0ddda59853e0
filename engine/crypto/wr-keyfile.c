/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrKeyfile"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "wr-crypto.h"
#include "wr-key.h"
#include "wr-keyfile.h"

/* reads the whole (small) file into buf, refusing group/other access; returns its length */
static gssize
read_secret_file(const char *path, char *buf, gsize buf_size, GError **error)
{
	struct stat st;
	gssize len = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		int saved = errno;

		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved), "%s: %s", path,
			    g_strerror(saved));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: not a regular file",
			    path);
		close(fd);
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
			    "%s: a secret key readable by others (mode %04o); run chmod 600 on it",
			    path, (unsigned int) (st.st_mode & 07777));
		close(fd);
		return -1;
	}
	while ((gsize) len < buf_size) {
		ssize_t r = read(fd, buf + len, buf_size - (gsize) len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int saved = errno;

			g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved), "%s: %s", path,
				    g_strerror(saved));
			close(fd);
			wr_memzero(buf, buf_size);
			return -1;
		}
		if (r == 0)
			break;
		len += r;
	}
	close(fd);
	if ((gsize) len == buf_size) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "%s: too long for a key file (over %u bytes)", path,
			    (unsigned int) (buf_size - 1));
		wr_memzero(buf, buf_size);
		return -1;
	}
	return len;
}

/* the text without one trailing newline (or CRLF) */
static gsize
strip_newline(const char *buf, gsize len)
{
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	return len;
}

gboolean
wr_keyfile_load_private(const char *path, uint8_t out_key[32], GError **error)
{
	char buf[WR_KEYFILE_MAX_SIZE];
	const char *prefix = wr_key_kind_prefix(WR_KEY_KIND_PRIVATE);
	gsize plen = strlen(prefix);
	uint8_t key[WR_KEY_BYTES];
	gssize len = read_secret_file(path, buf, sizeof(buf), error);
	gboolean ok;

	if (len < 0)
		return FALSE;
	len = (gssize) strip_newline(buf, (gsize) len);
	ok = (gsize) len == plen + WR_KEY_HEX_LEN && memcmp(buf, prefix, plen) == 0 &&
	     wr_key_from_hex_len(key, buf + plen, WR_KEY_HEX_LEN);
	wr_memzero(buf, sizeof(buf));
	if (!ok) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "%s: not a private key (expected \"%s\" and 64 hex digits)", path,
			    prefix);
		return FALSE;
	}
	if (wr_key_is_zero(key)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "%s: the private key is all zeros", path);
		return FALSE;
	}
	memcpy(out_key, key, WR_KEY_BYTES);
	wr_memzero(key, sizeof(key));
	return TRUE;
}

gboolean
wr_keyfile_save_private(const char *path, const uint8_t key[32], GError **error)
{
	g_autofree char *text = wr_key_to_text(WR_KEY_KIND_PRIVATE, key);
	g_autofree char *dir = g_path_get_dirname(path);
	g_autofree char *tmp = g_build_filename(dir, ".key-XXXXXX", NULL);
	gsize len = strlen(text);
	gboolean ok = FALSE;
	int fd;

	/* mkostemp creates 0600 */
	fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0) {
		int saved = errno;

		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved),
			    "cannot create a key file in %s: %s", dir, g_strerror(saved));
		wr_memzero(text, len);
		return FALSE;
	}
	text[len] = '\n';
	if (write(fd, text, len + 1) == (ssize_t) (len + 1) && fsync(fd) == 0)
		ok = TRUE;
	text[len] = '\0';
	wr_memzero(text, len);
	if (close(fd) < 0)
		ok = FALSE;
	if (!ok || rename(tmp, path) < 0) {
		int saved = errno;

		(void) g_unlink(tmp);
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved), "cannot write %s: %s",
			    path, g_strerror(saved));
		return FALSE;
	}
	return TRUE;
}

gboolean
wr_keyfile_load_or_create_private(const char *path, uint8_t out_key[32], gboolean *out_created,
				  GError **error)
{
	g_autoptr(GError) local = NULL;
	uint8_t pub[WR_KEY_BYTES];
	uint8_t key[WR_KEY_BYTES];

	if (wr_keyfile_load_private(path, out_key, &local)) {
		if (out_created != NULL)
			*out_created = FALSE;
		return TRUE;
	}
	if (!g_error_matches(local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND)) {
		g_propagate_error(error, g_steal_pointer(&local));
		return FALSE;
	}
	wr_x25519_generate(key, pub);
	if (!wr_keyfile_save_private(path, key, error)) {
		wr_memzero(key, sizeof(key));
		return FALSE;
	}
	memcpy(out_key, key, WR_KEY_BYTES);
	wr_memzero(key, sizeof(key));
	if (out_created != NULL)
		*out_created = TRUE;
	return TRUE;
}

gboolean
wr_keyfile_load_hex(const char *path, uint8_t out_key[32], GError **error)
{
	char buf[WR_KEYFILE_MAX_SIZE];
	uint8_t key[WR_KEY_BYTES];
	gssize len = read_secret_file(path, buf, sizeof(buf), error);
	gboolean ok;

	if (len < 0)
		return FALSE;
	len = (gssize) strip_newline(buf, (gsize) len);
	ok = len == WR_KEY_HEX_LEN && wr_key_from_hex_len(key, buf, WR_KEY_HEX_LEN);
	wr_memzero(buf, sizeof(buf));
	if (!ok) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "%s: not a key (expected 64 hex digits)", path);
		return FALSE;
	}
	memcpy(out_key, key, WR_KEY_BYTES);
	wr_memzero(key, sizeof(key));
	return TRUE;
}
