/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Two passes, as wr-control-config does: our own line scan with GKeyFile's rules (leading
 * whitespace, '#' comments, "[group]" headers, "key = value") refuses what this version does
 * not know and remembers the line of every key for the messages; then GKeyFile reads the
 * values and their escapes.
 */

#define G_LOG_DOMAIN "WrPrefs"

#include "config.h"

#include <string.h>

#include <gio/gio.h>

#include "wr-addr.h"
#include "wr-prefs.h"

/* written out: clang-format spaces the dashes of G_DEFINE_QUARK's name */
GQuark
wr_prefs_error_quark(void)
{
	return g_quark_from_static_string("wr-prefs-error-quark");
}

#define GROUP "prefs"

static const char *const known_keys[] = {
	"control-url",	       "want-running",	   "exit-node",
	"exit-node-allow-lan", "advertise-routes", "advertise-exit-node",
	"accept-routes",       "hostname",	   NULL,
};

WrPrefs *
wr_prefs_new(void)
{
	WrPrefs *prefs = g_new0(WrPrefs, 1);

	prefs->control_url = g_strdup("");
	prefs->exit_node = g_strdup("");
	prefs->advertise_routes = g_new0(char *, 1);
	prefs->hostname = g_strdup("");
	return prefs;
}

WrPrefs *
wr_prefs_copy(const WrPrefs *prefs)
{
	WrPrefs *copy = g_new0(WrPrefs, 1);

	*copy = *prefs;
	copy->control_url = g_strdup(prefs->control_url);
	copy->exit_node = g_strdup(prefs->exit_node);
	copy->advertise_routes = g_strdupv(prefs->advertise_routes);
	copy->hostname = g_strdup(prefs->hostname);
	return copy;
}

void
wr_prefs_free(WrPrefs *prefs)
{
	if (prefs == NULL)
		return;
	g_free(prefs->control_url);
	g_free(prefs->exit_node);
	g_strfreev(prefs->advertise_routes);
	g_free(prefs->hostname);
	g_free(prefs);
}

gboolean
wr_prefs_equal(const WrPrefs *a, const WrPrefs *b)
{
	return g_str_equal(a->control_url, b->control_url) && a->want_running == b->want_running &&
	       g_str_equal(a->exit_node, b->exit_node) &&
	       a->exit_node_allow_lan == b->exit_node_allow_lan &&
	       g_strv_equal((const char *const *) a->advertise_routes,
			    (const char *const *) b->advertise_routes) &&
	       a->advertise_exit_node == b->advertise_exit_node &&
	       a->accept_routes == b->accept_routes && g_str_equal(a->hostname, b->hostname);
}

gboolean
wr_prefs_check_control_url(const char *url, char **out_normalized, GError **error)
{
	g_autoptr(GUri) uri = NULL;
	g_autoptr(GError) local = NULL;
	const char *scheme;
	const char *path;
	g_autofree char *normalized = NULL;
	gsize len = strlen(url);

	if (url[0] == '\0') {
		if (out_normalized != NULL)
			*out_normalized = g_strdup("");
		return TRUE;
	}
	if (len > WR_PREFS_URL_MAX) {
		g_set_error(error, WR_PREFS_ERROR, WR_PREFS_ERROR_INVALID, "longer than %u bytes",
			    WR_PREFS_URL_MAX);
		return FALSE;
	}
	for (gsize i = 0; i < len; i++) {
		if ((guchar) url[i] <= ' ' || (guchar) url[i] >= 0x7f) {
			g_set_error(error, WR_PREFS_ERROR, WR_PREFS_ERROR_INVALID,
				    "a URL holds no spaces, control or non-ASCII characters");
			return FALSE;
		}
	}
	uri = g_uri_parse(url, G_URI_FLAGS_NONE, &local);
	if (uri == NULL) {
		g_set_error(error, WR_PREFS_ERROR, WR_PREFS_ERROR_INVALID, "not a URL: %s",
			    local->message);
		return FALSE;
	}
	scheme = g_uri_get_scheme(uri);
	if (g_ascii_strcasecmp(scheme, "https") != 0 && g_ascii_strcasecmp(scheme, "http") != 0) {
		g_set_error(error, WR_PREFS_ERROR, WR_PREFS_ERROR_INVALID,
			    "must be an http:// or https:// URL");
		return FALSE;
	}
	if (g_uri_get_host(uri) == NULL || g_uri_get_host(uri)[0] == '\0') {
		g_set_error(error, WR_PREFS_ERROR, WR_PREFS_ERROR_INVALID, "no host");
		return FALSE;
	}
	if (g_uri_get_userinfo(uri) != NULL) {
		g_set_error(error, WR_PREFS_ERROR, WR_PREFS_ERROR_INVALID,
			    "no user name or password in the URL");
		return FALSE;
	}
	if (g_uri_get_query(uri) != NULL || g_uri_get_fragment(uri) != NULL) {
		g_set_error(error, WR_PREFS_ERROR, WR_PREFS_ERROR_INVALID,
			    "no query (?) or fragment (#) in the URL");
		return FALSE;
	}
	/* the protocol's paths are appended to it: one form without a trailing '/' */
	normalized = g_strdup(url);
	path = g_uri_get_path(uri);
	if (path[0] != '\0' && g_str_has_suffix(normalized, "/")) {
		gsize n = strlen(normalized);

		while (n > 0 && normalized[n - 1] == '/')
			normalized[--n] = '\0';
	}
	if (out_normalized != NULL)
		*out_normalized = g_steal_pointer(&normalized);
	return TRUE;
}

gboolean
wr_prefs_check_exit_node(const char *id, GError **error)
{
	gsize len = strlen(id);

	if (len > WR_PREFS_EXIT_NODE_MAX) {
		g_set_error(error, WR_PREFS_ERROR, WR_PREFS_ERROR_INVALID,
			    "a peer id is at most %u bytes", WR_PREFS_EXIT_NODE_MAX);
		return FALSE;
	}
	for (gsize i = 0; i < len; i++) {
		if ((guchar) id[i] <= ' ' || (guchar) id[i] >= 0x7f) {
			g_set_error(error, WR_PREFS_ERROR, WR_PREFS_ERROR_INVALID,
				    "a peer id is printable ASCII without spaces");
			return FALSE;
		}
	}
	return TRUE;
}

gboolean
wr_prefs_check_hostname(const char *hostname, GError **error)
{
	gsize len = strlen(hostname);

	if (len == 0)
		return TRUE;
	if (len > WR_PREFS_HOSTNAME_MAX) {
		g_set_error(error, WR_PREFS_ERROR, WR_PREFS_ERROR_INVALID,
			    "a host name is one DNS label of at most %u characters",
			    WR_PREFS_HOSTNAME_MAX);
		return FALSE;
	}
	for (gsize i = 0; i < len; i++) {
		if (!g_ascii_isalnum(hostname[i]) && hostname[i] != '-') {
			g_set_error(error, WR_PREFS_ERROR, WR_PREFS_ERROR_INVALID,
				    "a host name has only letters, digits and '-'");
			return FALSE;
		}
	}
	if (hostname[0] == '-' || hostname[len - 1] == '-') {
		g_set_error(error, WR_PREFS_ERROR, WR_PREFS_ERROR_INVALID,
			    "a host name neither starts nor ends with '-'");
		return FALSE;
	}
	return TRUE;
}

gboolean
wr_prefs_check_route(const char *route, char **out_normalized, GError **error)
{
	WrCidr cidr, masked;
	char text[WR_CIDR_STRLEN];

	/* wr_cidr_parse takes a bare address as a host route: a route must say its length */
	if (strchr(route, '/') == NULL) {
		g_set_error(error, WR_PREFS_ERROR, WR_PREFS_ERROR_INVALID,
			    "“%s” is not a prefix (ADDRESS/LENGTH)", route);
		return FALSE;
	}
	if (!wr_cidr_parse(&cidr, route)) {
		g_set_error(error, WR_PREFS_ERROR, WR_PREFS_ERROR_INVALID,
			    "“%s” is not a prefix with no host bits set (ADDRESS/LENGTH)", route);
		return FALSE;
	}
	masked = cidr;
	wr_cidr_mask(&masked);
	if (memcmp(masked.addr, cidr.addr, sizeof(cidr.addr)) != 0) {
		g_set_error(error, WR_PREFS_ERROR, WR_PREFS_ERROR_INVALID,
			    "“%s” is not a prefix with no host bits set (ADDRESS/LENGTH)", route);
		return FALSE;
	}
	if (cidr.cidr == 0) {
		g_set_error(error, WR_PREFS_ERROR, WR_PREFS_ERROR_INVALID,
			    "“%s” is a default route: offer an exit node instead "
			    "(advertise-exit-node)",
			    route);
		return FALSE;
	}
	/* always ADDRESS/LENGTH, so that the normalized text passes this check again (GLib's
	 * GInetAddressMask leaves the length out of a host route) */
	wr_cidr_format(&cidr, text);
	if (out_normalized != NULL)
		*out_normalized = g_strdup(text);
	return TRUE;
}

/* an odd number of backslashes at the end: an escape with nothing to escape */
static gboolean
ends_in_lone_backslash(const char *text)
{
	size_t n = strlen(text), k = 0;

	while (k < n && text[n - 1 - k] == '\\')
		k++;
	return k % 2 == 1;
}

/* the parse state: where every key is, for the messages */
typedef struct {
	const char *origin;
	guint group_line;
	GHashTable *key_lines; /* key -> line */
	GKeyFile *keyfile;
} Loader;

static void
loader_clear(Loader *l)
{
	g_clear_pointer(&l->key_lines, g_hash_table_unref);
	g_clear_pointer(&l->keyfile, g_key_file_free);
}

G_GNUC_PRINTF(4, 5)
static void
set_line_error(const Loader *l, GError **error, WrPrefsError code, const char *format, ...);

static guint
key_line(const Loader *l, const char *key)
{
	return GPOINTER_TO_UINT(g_hash_table_lookup(l->key_lines, key));
}

/* "FILE:LINE: [prefs] key: message" */
static void
set_key_error(const Loader *l, GError **error, const char *key, const char *message)
{
	g_set_error(error, WR_PREFS_ERROR, WR_PREFS_ERROR_INVALID, "%s:%u: [" GROUP "] %s: %s",
		    l->origin, key_line(l, key), key, message);
}

static void
set_line_error(const Loader *l, GError **error, WrPrefsError code, const char *format, ...)
{
	g_autofree char *message = NULL;
	va_list args;

	va_start(args, format);
	message = g_strdup_vprintf(format, args);
	va_end(args);
	g_set_error_literal(error, WR_PREFS_ERROR, code, message);
}

static gboolean
known_key(const char *key)
{
	return g_strv_contains(known_keys, key);
}

/* pass one: structure, known names, no repeats, and where everything is */
static gboolean
scan(Loader *l, const char *text, GError **error)
{
	gboolean in_group = FALSE;
	guint line = 0;
	const char *p = text;

	while (*p != '\0') {
		const char *end = strchr(p, '\n');
		const char *next = end != NULL ? end + 1 : p + strlen(p);
		const char *s = p;
		const char *e;

		line++;
		/* GKeyFile drops a '\r' before a '\n' only, not at the end of the text */
		if (end != NULL && end > s && end[-1] == '\r')
			e = end - 1;
		else
			e = end != NULL ? end : next;
		while (s < e && g_ascii_isspace(*s))
			s++;
		if (s == e || *s == '#') {
			p = next;
			continue;
		}
		if (*s == '[') {
			const char *close = memchr(s, ']', (gsize) (e - s));
			g_autofree char *name = NULL;

			if (close == NULL || memchr(s + 1, '[', (gsize) (close - s - 1)) != NULL) {
				set_line_error(l, error, WR_PREFS_ERROR_SYNTAX,
					       "%s:%u: a group header must be “[name]”", l->origin,
					       line);
				return FALSE;
			}
			for (const char *t = close + 1; t < e; t++) {
				if (*t != ' ' && *t != '\t') {
					set_line_error(l, error, WR_PREFS_ERROR_SYNTAX,
						       "%s:%u: text after a group header",
						       l->origin, line);
					return FALSE;
				}
			}
			name = g_strndup(s + 1, (gsize) (close - s - 1));
			if (!g_str_equal(name, GROUP)) {
				g_autofree char *shown = g_strescape(name, NULL);

				set_line_error(l, error, WR_PREFS_ERROR_UNKNOWN,
					       "%s:%u: [%s]: unknown group (known: " GROUP ")",
					       l->origin, line, shown);
				return FALSE;
			}
			if (l->group_line != 0) {
				set_line_error(l, error, WR_PREFS_ERROR_CONFLICT,
					       "%s:%u: [" GROUP "]: a second header (first on line "
					       "%u)",
					       l->origin, line, l->group_line);
				return FALSE;
			}
			l->group_line = line;
			in_group = TRUE;
			p = next;
			continue;
		}
		{
			const char *eq = memchr(s, '=', (gsize) (e - s));
			const char *k = eq;
			g_autofree char *key = NULL;

			if (eq == NULL) {
				set_line_error(l, error, WR_PREFS_ERROR_SYNTAX,
					       "%s:%u: not a “[group]”, a “key = value” or a "
					       "“# comment”",
					       l->origin, line);
				return FALSE;
			}
			while (k > s && g_ascii_isspace(k[-1]))
				k--;
			key = g_strndup(s, (gsize) (k - s));
			if (!in_group) {
				set_line_error(l, error, WR_PREFS_ERROR_SYNTAX,
					       "%s:%u: a key before the [" GROUP "] header",
					       l->origin, line);
				return FALSE;
			}
			if (key[0] == '\0') {
				set_line_error(l, error, WR_PREFS_ERROR_SYNTAX,
					       "%s:%u: [" GROUP "]: a value without a key",
					       l->origin, line);
				return FALSE;
			}
			if (!known_key(key)) {
				g_autofree char *shown = g_strescape(key, NULL);

				set_line_error(l, error, WR_PREFS_ERROR_UNKNOWN,
					       "%s:%u: [" GROUP "] %s: unknown key", l->origin,
					       line, shown);
				return FALSE;
			}
			if (g_hash_table_contains(l->key_lines, key)) {
				set_line_error(l, error, WR_PREFS_ERROR_CONFLICT,
					       "%s:%u: [" GROUP
					       "] %s: set twice (first on line %u)",
					       l->origin, line, key, key_line(l, key));
				return FALSE;
			}
			g_hash_table_insert(l->key_lines, g_steal_pointer(&key),
					    GUINT_TO_POINTER(line));
		}
		p = next;
	}
	return TRUE;
}

/* a value as GKeyFile unescapes it, stripped; NULL in *out when the key is absent */
static gboolean
get_string(const Loader *l, const char *key, char **out, GError **error)
{
	g_autoptr(GError) local = NULL;
	g_autofree char *raw = NULL;
	char *value;

	*out = NULL;
	if (!g_hash_table_contains(l->key_lines, key))
		return TRUE;
	raw = g_key_file_get_value(l->keyfile, GROUP, key, NULL);
	/* GLib sets its GError twice for a value ending in a lone backslash (a warning and a
	 * leaked message): refuse that before asking it */
	value = raw == NULL || ends_in_lone_backslash(raw)
			? NULL
			: g_key_file_get_string(l->keyfile, GROUP, key, &local);
	if (value == NULL || local != NULL) {
		g_free(value);
		set_key_error(l, error, key, "a bad escape sequence");
		return FALSE;
	}
	*out = g_strstrip(value);
	return TRUE;
}

static gboolean
get_bool(const Loader *l, const char *key, gboolean *out, GError **error)
{
	g_autofree char *value = NULL;

	if (!get_string(l, key, &value, error))
		return FALSE;
	if (value == NULL)
		return TRUE;
	if (g_str_equal(value, "true")) {
		*out = TRUE;
	} else if (g_str_equal(value, "false")) {
		*out = FALSE;
	} else {
		set_key_error(l, error, key, "must be true or false");
		return FALSE;
	}
	return TRUE;
}

/* pass two: the values */
static gboolean
read_values(const Loader *l, WrPrefs *prefs, GError **error)
{
	g_autoptr(GError) local = NULL;
	g_autofree char *url = NULL;
	g_autofree char *exit_node = NULL;
	g_autofree char *hostname = NULL;

	if (!get_string(l, "control-url", &url, error))
		return FALSE;
	if (url != NULL) {
		g_free(prefs->control_url);
		prefs->control_url = NULL;
		if (!wr_prefs_check_control_url(url, &prefs->control_url, &local)) {
			prefs->control_url = g_strdup("");
			set_key_error(l, error, "control-url", local->message);
			return FALSE;
		}
	}
	if (!get_bool(l, "want-running", &prefs->want_running, error))
		return FALSE;
	if (!get_string(l, "exit-node", &exit_node, error))
		return FALSE;
	if (exit_node != NULL) {
		if (!wr_prefs_check_exit_node(exit_node, &local)) {
			set_key_error(l, error, "exit-node", local->message);
			return FALSE;
		}
		g_free(prefs->exit_node);
		prefs->exit_node = g_steal_pointer(&exit_node);
	}
	if (!get_bool(l, "exit-node-allow-lan", &prefs->exit_node_allow_lan, error))
		return FALSE;
	if (g_hash_table_contains(l->key_lines, "advertise-routes")) {
		g_auto(GStrv) items = NULL;
		g_autoptr(GPtrArray) routes = g_ptr_array_new_with_free_func(g_free);
		gsize n = 0;

		g_autofree char *raw =
			g_key_file_get_value(l->keyfile, GROUP, "advertise-routes", NULL);

		/* as in get_string */
		if (raw != NULL && ends_in_lone_backslash(raw)) {
			set_key_error(l, error, "advertise-routes", "a bad escape sequence");
			return FALSE;
		}
		items = g_key_file_get_string_list(l->keyfile, GROUP, "advertise-routes", &n,
						   &local);
		if (local != NULL) {
			set_key_error(l, error, "advertise-routes", "a bad escape sequence");
			return FALSE;
		}
		for (gsize i = 0; i < n; i++) {
			char *route = g_strstrip(items[i]);
			char *normalized = NULL;

			if (route[0] == '\0')
				continue;
			if (routes->len == WR_PREFS_MAX_ROUTES) {
				g_autofree char *m =
					g_strdup_printf("more than %u routes", WR_PREFS_MAX_ROUTES);

				set_key_error(l, error, "advertise-routes", m);
				return FALSE;
			}
			if (!wr_prefs_check_route(route, &normalized, &local)) {
				set_key_error(l, error, "advertise-routes", local->message);
				return FALSE;
			}
			for (guint j = 0; j < routes->len; j++) {
				if (g_str_equal(routes->pdata[j], normalized)) {
					g_autofree char *m =
						g_strdup_printf("%s is listed twice", normalized);

					g_free(normalized);
					set_key_error(l, error, "advertise-routes", m);
					return FALSE;
				}
			}
			g_ptr_array_add(routes, normalized);
		}
		g_ptr_array_add(routes, NULL);
		g_strfreev(prefs->advertise_routes);
		prefs->advertise_routes =
			(char **) g_ptr_array_free(g_steal_pointer(&routes), FALSE);
	}
	if (!get_bool(l, "advertise-exit-node", &prefs->advertise_exit_node, error))
		return FALSE;
	if (!get_bool(l, "accept-routes", &prefs->accept_routes, error))
		return FALSE;
	if (!get_string(l, "hostname", &hostname, error))
		return FALSE;
	if (hostname != NULL) {
		if (!wr_prefs_check_hostname(hostname, &local)) {
			set_key_error(l, error, "hostname", local->message);
			return FALSE;
		}
		g_free(prefs->hostname);
		prefs->hostname = g_steal_pointer(&hostname);
	}
	return TRUE;
}

WrPrefs *
wr_prefs_parse(const char *data, gsize len, const char *origin, GError **error)
{
	g_autoptr(WrPrefs) prefs = NULL;
	g_autoptr(GError) local = NULL;
	g_autofree char *text = NULL;
	const char *bad_utf8 = NULL;
	Loader l = {
		.origin = origin,
		.key_lines = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
		.keyfile = g_key_file_new(),
	};
	gboolean ok;

	if (len > WR_PREFS_MAX_SIZE) {
		loader_clear(&l);
		g_set_error(error, WR_PREFS_ERROR, WR_PREFS_ERROR_TOO_LARGE,
			    "%s:0: %" G_GSIZE_FORMAT " bytes, over the limit of %u", origin, len,
			    WR_PREFS_MAX_SIZE);
		return NULL;
	}
	/* a NUL or invalid UTF-8 is named by its line, which GKeyFile would not do */
	if (memchr(data, '\0', len) != NULL || !g_utf8_validate(data, (gssize) len, &bad_utf8)) {
		const char *at = memchr(data, '\0', len);
		guint line = 1;

		if (at == NULL || (bad_utf8 != NULL && bad_utf8 < at))
			at = bad_utf8;
		for (const char *c = data; c < at; c++)
			line += *c == '\n';
		loader_clear(&l);
		g_set_error(error, WR_PREFS_ERROR, WR_PREFS_ERROR_SYNTAX, "%s:%u: %s", origin, line,
			    *at == '\0' ? "a NUL byte" : "not valid UTF-8");
		return NULL;
	}
	text = g_strndup(data, len);
	ok = scan(&l, text, error);
	if (ok && !g_key_file_load_from_data(l.keyfile, text, len, G_KEY_FILE_NONE, &local)) {
		/* the scan accepts only what GKeyFile reads; this is a backstop */
		g_set_error(error, WR_PREFS_ERROR, WR_PREFS_ERROR_SYNTAX, "%s:0: %s", origin,
			    local->message);
		ok = FALSE;
	}
	if (ok) {
		prefs = wr_prefs_new();
		ok = read_values(&l, prefs, error);
	}
	loader_clear(&l);
	if (!ok)
		return NULL;
	return g_steal_pointer(&prefs);
}

char *
wr_prefs_to_data(const WrPrefs *prefs, gsize *out_len)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();

	/* every key is written, defaults too, so the file shows what there is to set */
	g_key_file_set_string(kf, GROUP, "control-url", prefs->control_url);
	g_key_file_set_boolean(kf, GROUP, "want-running", prefs->want_running);
	g_key_file_set_string(kf, GROUP, "exit-node", prefs->exit_node);
	g_key_file_set_boolean(kf, GROUP, "exit-node-allow-lan", prefs->exit_node_allow_lan);
	g_key_file_set_string_list(kf, GROUP, "advertise-routes",
				   (const char *const *) prefs->advertise_routes,
				   g_strv_length(prefs->advertise_routes));
	g_key_file_set_boolean(kf, GROUP, "advertise-exit-node", prefs->advertise_exit_node);
	g_key_file_set_boolean(kf, GROUP, "accept-routes", prefs->accept_routes);
	g_key_file_set_string(kf, GROUP, "hostname", prefs->hostname);
	(void) g_key_file_set_comment(
		kf, NULL, NULL,
		" warrend's preferences (docs/warrend.md), written by warrend:"
		"\n change them with warren or the tray; edit by hand only "
		"while warrend is stopped",
		NULL);
	return g_key_file_to_data(kf, out_len, NULL);
}

static gboolean
dict_error(GError **error, WrPrefsError code, const char *format, ...) G_GNUC_PRINTF(3, 4);

static gboolean
dict_error(GError **error, WrPrefsError code, const char *format, ...)
{
	va_list ap;
	g_autofree char *msg = NULL;

	va_start(ap, format);
	msg = g_strdup_vprintf(format, ap);
	va_end(ap);
	g_set_error_literal(error, WR_PREFS_ERROR, code, msg);
	return FALSE;
}

static gboolean
apply_routes(WrPrefs *prefs, GVariant *value, GError **error)
{
	g_autoptr(GPtrArray) routes = g_ptr_array_new_with_free_func(g_free);
	g_autofree const char **in = g_variant_get_strv(value, NULL);

	for (guint i = 0; in[i] != NULL; i++) {
		g_autoptr(GError) local = NULL;
		char *norm = NULL;

		if (i >= WR_PREFS_MAX_ROUTES)
			return dict_error(error, WR_PREFS_ERROR_INVALID,
					  "advertise-routes: more than %u routes",
					  WR_PREFS_MAX_ROUTES);
		if (!wr_prefs_check_route(in[i], &norm, &local))
			return dict_error(error, WR_PREFS_ERROR_INVALID, "advertise-routes[%u]: %s",
					  i, local->message);
		for (guint j = 0; j < routes->len; j++) {
			if (g_strcmp0(routes->pdata[j], norm) == 0) {
				dict_error(error, WR_PREFS_ERROR_CONFLICT,
					   "advertise-routes[%u]: %s given twice", i, norm);
				g_free(norm);
				return FALSE;
			}
		}
		g_ptr_array_add(routes, norm);
	}
	g_ptr_array_add(routes, NULL);
	g_strfreev(prefs->advertise_routes);
	prefs->advertise_routes = (char **) g_ptr_array_steal(routes, NULL);
	return TRUE;
}

WrPrefs *
wr_prefs_apply_dict(const WrPrefs *base, GVariant *dict, GError **error)
{
	g_autoptr(WrPrefs) prefs = wr_prefs_copy(base);
	g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
	GVariantIter iter;
	const char *key;
	GVariant *value;

	g_return_val_if_fail(g_variant_is_of_type(dict, G_VARIANT_TYPE_VARDICT), NULL);
	g_variant_iter_init(&iter, dict);
	while (g_variant_iter_loop(&iter, "{&sv}", &key, &value)) {
		const char *want = NULL;
		gboolean *flag = NULL;

		if (g_strcmp0(key, "exit-node-allow-lan") == 0) {
			want = "b";
			flag = &prefs->exit_node_allow_lan;
		} else if (g_strcmp0(key, "accept-routes") == 0) {
			want = "b";
			flag = &prefs->accept_routes;
		} else if (g_strcmp0(key, "advertise-exit-node") == 0) {
			want = "b";
			flag = &prefs->advertise_exit_node;
		} else if (g_strcmp0(key, "hostname") == 0) {
			want = "s";
		} else if (g_strcmp0(key, "advertise-routes") == 0) {
			want = "as";
		} else {
			/* bounded and escaped: the key is the caller's */
			g_autofree char *shown = g_strescape(key, NULL);

			dict_error(error, WR_PREFS_ERROR_UNKNOWN, "unknown key \"%.64s\"", shown);
			g_variant_unref(value);
			return NULL;
		}
		if (!g_hash_table_add(seen, (gpointer) key)) {
			dict_error(error, WR_PREFS_ERROR_CONFLICT, "%s: given twice", key);
			g_variant_unref(value);
			return NULL;
		}
		if (!g_variant_is_of_type(value, G_VARIANT_TYPE(want))) {
			dict_error(error, WR_PREFS_ERROR_INVALID, "%s: must be of type %s, not %s",
				   key, want, g_variant_get_type_string(value));
			g_variant_unref(value);
			return NULL;
		}
		if (flag != NULL) {
			*flag = g_variant_get_boolean(value);
		} else if (g_strcmp0(key, "hostname") == 0) {
			g_autoptr(GError) local = NULL;
			const char *h = g_variant_get_string(value, NULL);

			if (!wr_prefs_check_hostname(h, &local)) {
				dict_error(error, WR_PREFS_ERROR_INVALID, "hostname: %s",
					   local->message);
				g_variant_unref(value);
				return NULL;
			}
			g_free(prefs->hostname);
			prefs->hostname = g_strdup(h);
		} else if (!apply_routes(prefs, value, error)) {
			g_variant_unref(value);
			return NULL;
		}
	}
	return g_steal_pointer(&prefs);
}
