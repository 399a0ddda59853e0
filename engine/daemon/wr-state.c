/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrState"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "wr-crypto.h"
#include "wr-json-check.h"
#include "wr-key.h"
#include "wr-keyfile.h"
#include "wr-state.h"

/* written out: clang-format spaces the dashes of G_DEFINE_QUARK's name */
GQuark
wr_state_error_quark(void)
{
	return g_quark_from_static_string("wr-state-error-quark");
}

#define TMP_INFIX     ".tmp-"
#define KEYFILE_TMP   ".key-" /* wr_keyfile_save_private's temporary files */
#define CORRUPT_INFIX ".corrupt-"
#define SET_ASIDE_MAX 100 /* NAME.corrupt-T, then .1 ... .99 within one second */
/* a network map is a few levels deep; json-glib would recurse into anything */
#define NETMAP_DEPTH_MAX 128

/* the three private keys, in one guarded allocation */
typedef struct {
	uint8_t machine[WR_KEY_BYTES];
	uint8_t node[WR_KEY_BYTES];
	uint8_t disco[WR_KEY_BYTES];
	uint8_t next[WR_KEY_BYTES]; /* a rotation's new node key until control confirmed it */
} Keys;

struct _WrState {
	char *dir;
	Keys *keys;
	WrStateKeyOrigin machine_origin;
	WrStateKeyOrigin node_origin;
	gboolean has_next;
	gint64 node_key_time; /* Unix seconds: when the node key was made (its file's mtime) */
	gboolean loaded;
	WrPrefs *prefs;
	GBytes *netmap;
	GPtrArray *problems; /* NULL-terminated */
};

static char *
state_path(const WrState *self, const char *name)
{
	return g_build_filename(self->dir, name, NULL);
}

/* "what path: strerror", or "path: strerror" without what */
static void
set_io_error(GError **error, int errsv, const char *what, const char *path)
{
	g_set_error(error, WR_STATE_ERROR, WR_STATE_ERROR_IO, "%s%s%s: %s",
		    what != NULL ? what : "", what != NULL ? " " : "", path, g_strerror(errsv));
}

G_GNUC_PRINTF(2, 3)
static void
add_problem(WrState *self, const char *format, ...)
{
	va_list args;

	/* each file is set aside at most once per load: the cap is a backstop */
	if (self->problems->len - 1 >= WR_STATE_MAX_PROBLEMS)
		return;
	va_start(args, format);
	g_ptr_array_insert(self->problems, (gint) self->problems->len - 1,
			   g_strdup_vprintf(format, args));
	va_end(args);
}

static gboolean
fsync_dir(const WrState *self, GError **error)
{
	int fd = open(self->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r;

	if (fd < 0) {
		set_io_error(error, errno, "cannot open", self->dir);
		return FALSE;
	}
	r = fsync(fd);
	if (r < 0) {
		int errsv = errno;

		close(fd);
		set_io_error(error, errsv, "cannot sync", self->dir);
		return FALSE;
	}
	close(fd);
	return TRUE;
}

/* temporary file, write, fsync, rename over the file, fsync the directory */
static gboolean
write_atomic(const WrState *self, const char *name, const void *data, gsize len, GError **error)
{
	g_autofree char *path = state_path(self, name);
	g_autofree char *tmp_name = g_strconcat(".", name, TMP_INFIX, "XXXXXX", NULL);
	g_autofree char *tmp = state_path(self, tmp_name);
	const uint8_t *p = data;
	gsize done = 0;
	int fd;

	fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0) {
		set_io_error(error, errno, "cannot create a temporary file in", self->dir);
		return FALSE;
	}
	while (done < len) {
		ssize_t r = write(fd, p + done, len - done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int errsv = errno;

			close(fd);
			(void) g_unlink(tmp);
			set_io_error(error, errsv, "cannot write", path);
			return FALSE;
		}
		done += (gsize) r;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		int errsv = errno;

		(void) g_unlink(tmp);
		set_io_error(error, errsv, "cannot write", path);
		return FALSE;
	}
	if (rename(tmp, path) < 0) {
		int errsv = errno;

		(void) g_unlink(tmp);
		set_io_error(error, errsv, "cannot replace", path);
		return FALSE;
	}
	return fsync_dir(self, error);
}

/* reads a whole regular file of at most max bytes (one more is read to tell a longer one);
 * G_IO_ERROR_NOT_FOUND when it is absent, WR_STATE_ERROR otherwise */
static GBytes *
read_file(const char *path, gsize max, GError **error)
{
	g_autofree uint8_t *buf = NULL;
	struct stat st;
	gsize len = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		int errsv = errno;

		if (errsv == ENOENT) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s: %s", path,
				    g_strerror(errsv));
			return NULL;
		}
		set_io_error(error, errsv, NULL, path);
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		g_set_error(error, WR_STATE_ERROR, WR_STATE_ERROR_IO, "%s: not a regular file",
			    path);
		return NULL;
	}
	if ((guint64) st.st_size > max) {
		close(fd);
		g_set_error(error, WR_STATE_ERROR, WR_STATE_ERROR_TOO_LARGE,
			    "%s: %" G_GUINT64_FORMAT " bytes, over the limit of %" G_GSIZE_FORMAT,
			    path, (guint64) st.st_size, max);
		return NULL;
	}
	buf = g_malloc(max + 1);
	while (len < max + 1) {
		ssize_t r = read(fd, buf + len, max + 1 - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int errsv = errno;

			close(fd);
			set_io_error(error, errsv, "cannot read", path);
			return NULL;
		}
		if (r == 0)
			break;
		len += (gsize) r;
	}
	close(fd);
	if (len > max) {
		g_set_error(error, WR_STATE_ERROR, WR_STATE_ERROR_TOO_LARGE,
			    "%s: over the limit of %" G_GSIZE_FORMAT " bytes", path, max);
		return NULL;
	}
	return g_bytes_new_take(g_realloc(g_steal_pointer(&buf), MAX(len, 1)), len);
}

/* renames NAME to NAME.corrupt-<unix time> (never over another file) and records why; FALSE
 * (and nothing recorded) when it cannot be renamed */
static gboolean
set_aside(WrState *self, const char *name, const char *reason, const char *consequence,
	  GError **error)
{
	g_autofree char *path = state_path(self, name);
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;

	for (guint n = 0; n < SET_ASIDE_MAX; n++) {
		g_autofree char *aside =
			n == 0 ? g_strdup_printf("%s" CORRUPT_INFIX "%" G_GINT64_FORMAT, name, now)
			       : g_strdup_printf("%s" CORRUPT_INFIX "%" G_GINT64_FORMAT ".%u", name,
						 now, n);
		g_autofree char *aside_path = state_path(self, aside);
		struct stat st;

		if (lstat(aside_path, &st) == 0)
			continue;
		if (rename(path, aside_path) < 0) {
			int errsv = errno;

			g_set_error(error, WR_STATE_ERROR, WR_STATE_ERROR_IO,
				    "%s cannot be used (%s), and cannot be set aside as %s: %s",
				    path, reason, aside, g_strerror(errsv));
			return FALSE;
		}
		if (!fsync_dir(self, error))
			return FALSE;
		add_problem(self, "%s; set aside as %s, %s", reason, aside, consequence);
		return TRUE;
	}
	g_set_error(error, WR_STATE_ERROR, WR_STATE_ERROR_IO,
		    "%s cannot be used (%s), and there are too many set-aside copies", path,
		    reason);
	return FALSE;
}

WrState *
wr_state_new(const char *dir, GError **error)
{
	g_autoptr(WrState) self = g_new0(WrState, 1);
	struct stat st;

	self->dir = g_strdup(dir);
	self->keys = wr_secure_alloc(sizeof(Keys));
	if (self->keys == NULL) {
		g_set_error(error, WR_STATE_ERROR, WR_STATE_ERROR_IO,
			    "cannot allocate guarded memory for the keys");
		return NULL;
	}
	wr_memzero(self->keys, sizeof(Keys));
	self->prefs = wr_prefs_new();
	self->problems = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(self->problems, NULL);

	if (g_mkdir_with_parents(dir, 0700) < 0) {
		set_io_error(error, errno, "cannot make the state directory", dir);
		return NULL;
	}
	if (lstat(dir, &st) < 0) {
		set_io_error(error, errno, NULL, dir);
		return NULL;
	}
	if (!S_ISDIR(st.st_mode)) {
		g_set_error(error, WR_STATE_ERROR, WR_STATE_ERROR_IO, "%s: not a directory", dir);
		return NULL;
	}
	/* the keys are 0600 already; the directory hides even their names */
	if ((st.st_mode & 077) != 0) {
		if (chmod(dir, 0700) < 0) {
			set_io_error(error, errno, "cannot chmod 0700", dir);
			return NULL;
		}
		add_problem(self, "the state directory %s was mode %04o; now 0700", dir,
			    (unsigned int) (st.st_mode & 07777));
	}
	return g_steal_pointer(&self);
}

void
wr_state_free(WrState *self)
{
	if (self == NULL)
		return;
	if (self->keys != NULL) {
		wr_memzero(self->keys, sizeof(Keys));
		wr_secure_free(self->keys);
	}
	g_free(self->dir);
	wr_prefs_free(self->prefs);
	g_clear_pointer(&self->netmap, g_bytes_unref);
	g_clear_pointer(&self->problems, g_ptr_array_unref);
	g_free(self);
}

const char *
wr_state_get_dir(const WrState *self)
{
	return self->dir;
}

const char *const *
wr_state_get_problems(const WrState *self)
{
	return (const char *const *) self->problems->pdata;
}

/* a crash between a temporary file's write and its rename leaves it behind; the file it was
 * to replace is whole, so the temporary one goes */
static void
remove_leftovers(const WrState *self)
{
	g_autoptr(GDir) dir = g_dir_open(self->dir, 0, NULL);
	const char *name;

	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		g_autofree char *path = NULL;

		if (name[0] != '.' ||
		    (!g_str_has_prefix(name, KEYFILE_TMP) && strstr(name, TMP_INFIX) == NULL))
			continue;
		path = state_path(self, name);
		(void) g_unlink(path);
	}
}

static gboolean
save_key(const WrState *self, const char *name, const uint8_t key[WR_KEY_BYTES], GError **error)
{
	g_autofree char *path = state_path(self, name);
	g_autoptr(GError) local = NULL;

	if (!wr_keyfile_save_private(path, key, &local)) {
		g_set_error(error, WR_STATE_ERROR, WR_STATE_ERROR_IO, "%s", local->message);
		return FALSE;
	}
	return fsync_dir(self, error);
}

static void
new_key(uint8_t key[WR_KEY_BYTES])
{
	uint8_t pub[WR_KEY_BYTES];

	wr_x25519_generate(key, pub);
}

/* loads a key file; absent: *out_origin NONE; unusable: set aside, *out_origin REPLACED */
static gboolean
load_key(WrState *self, const char *name, const char *consequence, uint8_t out_key[WR_KEY_BYTES],
	 WrStateKeyOrigin *out_origin, GError **error)
{
	g_autofree char *path = state_path(self, name);
	g_autoptr(GError) local = NULL;
	g_autofree char *reason = NULL;
	struct stat st;

	/* wr-keyfile opens without O_NONBLOCK: a FIFO must not hang the start */
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		g_autofree char *why = g_strdup_printf("%s: not a regular file", path);

		if (!set_aside(self, name, why, consequence, error))
			return FALSE;
		*out_origin = WR_STATE_KEY_REPLACED;
		return TRUE;
	}
	if (wr_keyfile_load_private(path, out_key, &local)) {
		*out_origin = WR_STATE_KEY_LOADED;
		return TRUE;
	}
	if (g_error_matches(local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND)) {
		*out_origin = WR_STATE_KEY_NONE;
		return TRUE;
	}
	if (g_error_matches(local, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED) &&
	    lstat(path, &st) == 0 && (st.st_mode & 077) != 0) {
		/* not chmod'ed back: whoever could read it may hold the key */
		reason = g_strdup_printf("%s: a private key readable by others (mode %04o)", path,
					 (unsigned int) (st.st_mode & 07777));
	}
	if (!set_aside(self, name, reason != NULL ? reason : local->message, consequence, error))
		return FALSE;
	*out_origin = WR_STATE_KEY_REPLACED;
	return TRUE;
}

static gboolean
load_prefs(WrState *self, GError **error)
{
	g_autofree char *path = state_path(self, WR_STATE_PREFS);
	g_autoptr(GError) local = NULL;
	g_autoptr(GBytes) bytes = read_file(path, WR_PREFS_MAX_SIZE, &local);
	g_autoptr(WrPrefs) prefs = NULL;

	if (bytes != NULL) {
		gsize len;
		const char *data = g_bytes_get_data(bytes, &len);

		prefs = wr_prefs_parse(data != NULL ? data : "", len, path, &local);
	}
	if (prefs != NULL) {
		wr_prefs_free(self->prefs);
		self->prefs = g_steal_pointer(&prefs);
		return TRUE;
	}
	if (g_error_matches(local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
		return TRUE;
	return set_aside(self, WR_STATE_PREFS, local->message, "the default preferences in use",
			 error);
}

/* the map is opaque here, but it must be one JSON object: anything else is a damaged file */
static gboolean
check_netmap(const char *data, gsize len, GError **error)
{
	g_autoptr(JsonParser) parser = json_parser_new_immutable();
	JsonNode *root;

	if (len == 0) {
		g_set_error(error, WR_STATE_ERROR, WR_STATE_ERROR_INVALID, "empty");
		return FALSE;
	}
	if (memchr(data, '\0', len) != NULL) {
		g_set_error(error, WR_STATE_ERROR, WR_STATE_ERROR_INVALID, "a NUL byte");
		return FALSE;
	}
	/* json-glib's parser recurses: a damaged file of "[[[[..." must not exhaust the stack */
	if (!wr_json_check_depth(data, len, NETMAP_DEPTH_MAX)) {
		g_set_error(error, WR_STATE_ERROR, WR_STATE_ERROR_INVALID, "nested deeper than %u",
			    NETMAP_DEPTH_MAX);
		return FALSE;
	}
	if (!json_parser_load_from_data(parser, data, (gssize) len, error))
		return FALSE;
	root = json_parser_get_root(parser);
	if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
		g_set_error(error, WR_STATE_ERROR, WR_STATE_ERROR_INVALID, "not a JSON object");
		return FALSE;
	}
	return TRUE;
}

static gboolean
load_netmap(WrState *self, GError **error)
{
	g_autofree char *path = state_path(self, WR_STATE_NETMAP);
	g_autoptr(GError) local = NULL;
	g_autoptr(GBytes) bytes = read_file(path, WR_STATE_NETMAP_MAX, &local);
	g_autofree char *reason = NULL;

	if (bytes != NULL) {
		gsize len;
		const char *data = g_bytes_get_data(bytes, &len);

		if (check_netmap(data, len, &local)) {
			g_clear_pointer(&self->netmap, g_bytes_unref);
			self->netmap = g_steal_pointer(&bytes);
			return TRUE;
		}
		reason = g_strdup_printf("%s: not a network map: %s", path, local->message);
	} else if (g_error_matches(local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND)) {
		return TRUE;
	} else {
		reason = g_strdup(local->message);
	}
	return set_aside(self, WR_STATE_NETMAP, reason, "waiting for the control server's map",
			 error);
}

gboolean
wr_state_load(WrState *self, GError **error)
{
	remove_leftovers(self);

	if (!load_key(self, WR_STATE_MACHINE_KEY, "a new machine key made (sign in again)",
		      self->keys->machine, &self->machine_origin, error))
		return FALSE;
	if (self->machine_origin != WR_STATE_KEY_LOADED) {
		/* absent or set aside: a new installation identity, saved before it is used */
		new_key(self->keys->machine);
		if (!save_key(self, WR_STATE_MACHINE_KEY, self->keys->machine, error)) {
			wr_memzero(self->keys->machine, WR_KEY_BYTES);
			return FALSE;
		}
		if (self->machine_origin == WR_STATE_KEY_NONE)
			self->machine_origin = WR_STATE_KEY_CREATED;
	}
	/* a node key without its file is no key: the next sign-in makes one */
	if (!load_key(self, WR_STATE_NODE_KEY, "no node key (sign in again)", self->keys->node,
		      &self->node_origin, error))
		return FALSE;
	if (self->node_origin == WR_STATE_KEY_REPLACED) {
		wr_memzero(self->keys->node, WR_KEY_BYTES);
		self->node_origin = WR_STATE_KEY_NONE;
	}
	if (self->node_origin == WR_STATE_KEY_LOADED) {
		g_autofree char *path = state_path(self, WR_STATE_NODE_KEY);
		struct stat st;

		self->node_key_time = stat(path, &st) == 0 ? (gint64) st.st_mtime : 0;
	}
	/* a rotation that had not been confirmed when warrend stopped: the daemon finishes it
	 * (docs/key-rotation.md); without a node key it is nothing */
	{
		WrStateKeyOrigin next_origin = WR_STATE_KEY_NONE;

		if (!load_key(self, WR_STATE_NEXT_NODE_KEY,
			      "the rotation under way starts again with a new key",
			      self->keys->next, &next_origin, error))
			return FALSE;
		self->has_next = next_origin == WR_STATE_KEY_LOADED;
		if (self->has_next && self->node_origin == WR_STATE_KEY_NONE &&
		    !wr_state_drop_next_node_key(self, error))
			return FALSE;
	}
	if (!load_prefs(self, error) || !load_netmap(self, error))
		return FALSE;
	new_key(self->keys->disco);
	self->loaded = TRUE;
	return TRUE;
}

const uint8_t *
wr_state_get_machine_key(const WrState *self)
{
	return self->loaded ? self->keys->machine : NULL;
}

WrStateKeyOrigin
wr_state_get_machine_key_origin(const WrState *self)
{
	return self->machine_origin;
}

const uint8_t *
wr_state_get_node_key(const WrState *self)
{
	return self->node_origin != WR_STATE_KEY_NONE ? self->keys->node : NULL;
}

WrStateKeyOrigin
wr_state_get_node_key_origin(const WrState *self)
{
	return self->node_origin;
}

const uint8_t *
wr_state_get_disco_key(const WrState *self)
{
	return self->loaded ? self->keys->disco : NULL;
}

gboolean
wr_state_new_node_key(WrState *self, GError **error)
{
	uint8_t key[WR_KEY_BYTES];

	new_key(key);
	if (!save_key(self, WR_STATE_NODE_KEY, key, error)) {
		wr_memzero(key, sizeof(key));
		return FALSE;
	}
	memcpy(self->keys->node, key, WR_KEY_BYTES);
	wr_memzero(key, sizeof(key));
	self->node_origin = WR_STATE_KEY_CREATED;
	self->node_key_time = g_get_real_time() / G_USEC_PER_SEC;
	return TRUE;
}

gint64
wr_state_get_node_key_time(const WrState *self)
{
	return self->node_origin != WR_STATE_KEY_NONE ? self->node_key_time : 0;
}

const uint8_t *
wr_state_get_next_node_key(const WrState *self)
{
	return self->has_next ? self->keys->next : NULL;
}

gboolean
wr_state_new_next_node_key(WrState *self, GError **error)
{
	uint8_t key[WR_KEY_BYTES];

	if (self->node_origin == WR_STATE_KEY_NONE) {
		g_set_error_literal(error, WR_STATE_ERROR, WR_STATE_ERROR_INVALID,
				    "no node key to rotate");
		return FALSE;
	}
	new_key(key);
	if (!save_key(self, WR_STATE_NEXT_NODE_KEY, key, error)) {
		wr_memzero(key, sizeof(key));
		return FALSE;
	}
	memcpy(self->keys->next, key, WR_KEY_BYTES);
	wr_memzero(key, sizeof(key));
	self->has_next = TRUE;
	return TRUE;
}

gboolean
wr_state_promote_next_node_key(WrState *self, GError **error)
{
	g_autofree char *next = state_path(self, WR_STATE_NEXT_NODE_KEY);
	g_autofree char *path = state_path(self, WR_STATE_NODE_KEY);

	if (!self->has_next) {
		g_set_error_literal(error, WR_STATE_ERROR, WR_STATE_ERROR_INVALID,
				    "no new node key to use");
		return FALSE;
	}
	/* one rename: a crash leaves either both files or the new key alone as node.key */
	if (rename(next, path) < 0) {
		set_io_error(error, errno, "cannot replace", path);
		return FALSE;
	}
	memcpy(self->keys->node, self->keys->next, WR_KEY_BYTES);
	wr_memzero(self->keys->next, WR_KEY_BYTES);
	self->has_next = FALSE;
	self->node_origin = WR_STATE_KEY_CREATED;
	self->node_key_time = g_get_real_time() / G_USEC_PER_SEC;
	return fsync_dir(self, error);
}

gboolean
wr_state_drop_next_node_key(WrState *self, GError **error)
{
	g_autofree char *path = state_path(self, WR_STATE_NEXT_NODE_KEY);

	wr_memzero(self->keys->next, WR_KEY_BYTES);
	self->has_next = FALSE;
	if (g_unlink(path) < 0 && errno != ENOENT) {
		set_io_error(error, errno, "cannot remove", path);
		return FALSE;
	}
	return fsync_dir(self, error);
}

gboolean
wr_state_clear_node_key(WrState *self, GError **error)
{
	g_autofree char *path = state_path(self, WR_STATE_NODE_KEY);

	if (g_unlink(path) < 0 && errno != ENOENT) {
		set_io_error(error, errno, "cannot remove", path);
		return FALSE;
	}
	wr_memzero(self->keys->node, WR_KEY_BYTES);
	self->node_origin = WR_STATE_KEY_NONE;
	if (!fsync_dir(self, error))
		return FALSE;
	return wr_state_drop_next_node_key(self, error);
}

const WrPrefs *
wr_state_get_prefs(const WrState *self)
{
	return self->prefs;
}

static gboolean
check_prefs(const WrPrefs *prefs, GError **error)
{
	g_autoptr(GError) local = NULL;
	g_autofree char *url = NULL;
	guint n = 0;

	if (!wr_prefs_check_control_url(prefs->control_url, &url, &local)) {
		g_set_error(error, WR_STATE_ERROR, WR_STATE_ERROR_INVALID, "control-url: %s",
			    local->message);
		return FALSE;
	}
	if (!g_str_equal(url, prefs->control_url)) {
		g_set_error(error, WR_STATE_ERROR, WR_STATE_ERROR_INVALID,
			    "control-url: not in its normal form (%s)", url);
		return FALSE;
	}
	if (!wr_prefs_check_exit_node(prefs->exit_node, &local)) {
		g_set_error(error, WR_STATE_ERROR, WR_STATE_ERROR_INVALID, "exit-node: %s",
			    local->message);
		return FALSE;
	}
	if (!wr_prefs_check_hostname(prefs->hostname, &local)) {
		g_set_error(error, WR_STATE_ERROR, WR_STATE_ERROR_INVALID, "hostname: %s",
			    local->message);
		return FALSE;
	}
	for (char **r = prefs->advertise_routes; *r != NULL; r++, n++) {
		g_autofree char *normalized = NULL;

		if (n == WR_PREFS_MAX_ROUTES) {
			g_set_error(error, WR_STATE_ERROR, WR_STATE_ERROR_INVALID,
				    "advertise-routes: more than %u routes", WR_PREFS_MAX_ROUTES);
			return FALSE;
		}
		if (!wr_prefs_check_route(*r, &normalized, &local)) {
			g_set_error(error, WR_STATE_ERROR, WR_STATE_ERROR_INVALID,
				    "advertise-routes: %s", local->message);
			return FALSE;
		}
		if (!g_str_equal(normalized, *r)) {
			g_set_error(error, WR_STATE_ERROR, WR_STATE_ERROR_INVALID,
				    "advertise-routes: %s not in its normal form (%s)", *r,
				    normalized);
			return FALSE;
		}
		for (char **s = prefs->advertise_routes; s < r; s++) {
			if (g_str_equal(*s, *r)) {
				g_set_error(error, WR_STATE_ERROR, WR_STATE_ERROR_INVALID,
					    "advertise-routes: %s is listed twice", *r);
				return FALSE;
			}
		}
	}
	return TRUE;
}

gboolean
wr_state_set_prefs(WrState *self, const WrPrefs *prefs, GError **error)
{
	g_autoptr(GError) local = NULL;
	g_autoptr(WrPrefs) back = NULL;
	g_autofree char *data = NULL;
	g_autofree char *path = state_path(self, WR_STATE_PREFS);
	gsize len = 0;

	if (!check_prefs(prefs, error))
		return FALSE;
	data = wr_prefs_to_data(prefs, &len);
	/* what is saved must load: never write a file the next start would set aside */
	back = wr_prefs_parse(data, len, path, &local);
	if (back == NULL || !wr_prefs_equal(back, prefs)) {
		g_set_error(error, WR_STATE_ERROR, WR_STATE_ERROR_INVALID,
			    "the preferences would not read back: %s",
			    local != NULL ? local->message : "a value changed");
		return FALSE;
	}
	if (!write_atomic(self, WR_STATE_PREFS, data, len, error))
		return FALSE;
	wr_prefs_free(self->prefs);
	self->prefs = g_steal_pointer(&back);
	return TRUE;
}

GBytes *
wr_state_get_netmap(const WrState *self)
{
	return self->netmap;
}

gboolean
wr_state_set_netmap(WrState *self, GBytes *json, GError **error)
{
	g_autoptr(GError) local = NULL;
	gsize len;
	const char *data = g_bytes_get_data(json, &len);

	if (len > WR_STATE_NETMAP_MAX) {
		g_set_error(error, WR_STATE_ERROR, WR_STATE_ERROR_TOO_LARGE,
			    "a network map of %" G_GSIZE_FORMAT " bytes, over the limit of %u", len,
			    WR_STATE_NETMAP_MAX);
		return FALSE;
	}
	if (!check_netmap(data != NULL ? data : "", len, &local)) {
		g_set_error(error, WR_STATE_ERROR, WR_STATE_ERROR_INVALID, "not a network map: %s",
			    local->message);
		return FALSE;
	}
	if (!write_atomic(self, WR_STATE_NETMAP, data, len, error))
		return FALSE;
	g_clear_pointer(&self->netmap, g_bytes_unref);
	self->netmap = g_bytes_ref(json);
	return TRUE;
}

gboolean
wr_state_clear_netmap(WrState *self, GError **error)
{
	g_autofree char *path = state_path(self, WR_STATE_NETMAP);

	if (g_unlink(path) < 0 && errno != ENOENT) {
		set_io_error(error, errno, "cannot remove", path);
		return FALSE;
	}
	g_clear_pointer(&self->netmap, g_bytes_unref);
	return fsync_dir(self, error);
}
