/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The configuration is read in two passes over one private copy of the text.  The first is
 * our own scan, line by line, with the same rules as GKeyFile (leading whitespace, '#'
 * comments, "[group]" headers, "key = value"): it refuses what GKeyFile would and what this
 * version does not know, and remembers the line of every group and key for the messages.  It
 * also takes the inline client secret out and blanks it in the copy, so that GKeyFile (which
 * frees its strings without wiping them) never holds it.  The second pass is GKeyFile, for the
 * values and their escapes.
 */

#define G_LOG_DOMAIN "WrControlConfig"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gi18n.h>

#include "wr-control-config.h"
#include "wr-crypto.h"
#include "wr-ipalloc.h"
#include "wr-jwt.h"

/* written out: clang-format spaces the dashes of G_DEFINE_QUARK's name */
GQuark
wr_control_config_error_quark(void)
{
	return g_quark_from_static_string("wr-control-config-error-quark");
}

#define DEFAULT_LISTEN_HOST    "127.0.0.1"
#define DEFAULT_LISTEN_PORT    8080
#define DEFAULT_STATE_DIR      "/var/lib/warren-control"
#define DEFAULT_ADMIN_SOCKET   "/run/warren-control/admin.sock"
#define DEFAULT_KEY_NAME       "server.key"
#define DEFAULT_DATABASE_NAME  "control.sqlite"
#define DEFAULT_SCOPES	       "openid", "email", "profile"
#define DEFAULT_SKEW	       60
#define DEFAULT_KEY_EXPIRY     (180 * 86400)
#define DEFAULT_REGISTER_RATE  60
#define DEFAULT_REGISTER_BURST 20
#define DEFAULT_AUTH_RATE      30
#define DEFAULT_AUTH_BURST     10
#define DEFAULT_MAX_STREAMS    100000
#define DEFAULT_LOGIN_TIMEOUT  600
#define GOOGLE_ISSUER	       "https://accounts.google.com"
#define RATE_MAX	       60000 /* a thousand a second from one source */
#define BURST_MAX	       10000
#define MAX_STREAMS_MAX	       10000000
#define SKEW_MAX	       600
#define LOGIN_TIMEOUT_MIN      60
#define LOGIN_TIMEOUT_MAX      86400
/* an ephemeral node offline this long is deleted (Tailscale's default is longer; a few minutes
 * rides out a reboot) */
#define DEFAULT_EPHEMERAL_TIMEOUT 300
#define EPHEMERAL_TIMEOUT_MAX	  (7 * 86400)
/* control.md: a keep-alive every 60 s of silence; clients reconnect after 120 s */
#define DEFAULT_KEEPALIVE 60
#define KEEPALIVE_MAX	  110
#define DURATION_MAX	  ((gint64) 100 * 365 * 86400)
#define SECRET_FILE_MAX	  4096
#define DNS_NAME_MAX	  253
#define DNS_LABEL_MAX	  63
#define KEY_SEP		  "\x1f" /* between group and key in the line table */

typedef struct {
	const char *group;
	const char *const *keys;
} KnownGroup;

static const char *const server_keys[] = {
	"listen",	    "server-url", "tls-cert",	  "tls-key",	    "insecure-http",
	"private-key-file", "state-dir",  "admin-socket", "metrics-listen", NULL,
};
static const char *const database_keys[] = {"url", NULL};
static const char *const oidc_keys[] = {
	"preset",
	"issuer",
	"client-id",
	"client-secret",
	"client-secret-file",
	"scopes",
	"allowed-domains",
	"allowed-emails",
	"allowed-groups",
	"algorithms",
	"clock-skew",
	NULL,
};
static const char *const network_keys[] = {
	"ipv4-prefix", "ipv6-prefix",	  "dns-domain",	   "magic-dns",		"nameservers",
	"derp-map",    "node-key-expiry", "collect-flows", "ephemeral-timeout", NULL,
};
static const char *const limits_keys[] = {
	"register-per-minute", "register-burst", "auth-page-per-minute", "auth-page-burst",
	"max-streams",	       "login-timeout",	 "keepalive-interval",	 NULL,
};
static const KnownGroup known_groups[] = {
	{"server", server_keys},   {"database", database_keys}, {"oidc", oidc_keys},
	{"network", network_keys}, {"limits", limits_keys},
};

typedef struct {
	const char *origin;
	char *base_dir;		 /* relative paths are resolved against it */
	GHashTable *group_lines; /* group -> first header line */
	GHashTable *key_lines;	 /* "group\x1fkey" -> line */
	GKeyFile *keyfile;
	char *inline_secret; /* [oidc] client-secret, taken out of the text; wiped */
} Loader;

static void
loader_clear(Loader *l)
{
	g_free(l->base_dir);
	g_clear_pointer(&l->group_lines, g_hash_table_unref);
	g_clear_pointer(&l->key_lines, g_hash_table_unref);
	g_clear_pointer(&l->keyfile, g_key_file_free);
	if (l->inline_secret != NULL) {
		wr_memzero(l->inline_secret, strlen(l->inline_secret));
		g_free(l->inline_secret);
	}
}

static guint
key_line(const Loader *l, const char *group, const char *key)
{
	g_autofree char *name = NULL;

	if (key != NULL) {
		name = g_strconcat(group, KEY_SEP, key, NULL);
		if (g_hash_table_contains(l->key_lines, name))
			return GPOINTER_TO_UINT(g_hash_table_lookup(l->key_lines, name));
	}
	return GPOINTER_TO_UINT(g_hash_table_lookup(l->group_lines, group));
}

static gboolean
has_key(const Loader *l, const char *group, const char *key)
{
	g_autofree char *name = g_strconcat(group, KEY_SEP, key, NULL);

	return g_hash_table_contains(l->key_lines, name);
}

/* "FILE:LINE: [group] key: message"; the line is the key's, else its group's, else 0 */
G_GNUC_PRINTF(6, 7)
static void
set_key_error(const Loader *l, GError **error, WrControlConfigError code, const char *group,
	      const char *key, const char *format, ...)
{
	g_autofree char *message = NULL;
	va_list args;

	va_start(args, format);
	message = g_strdup_vprintf(format, args);
	va_end(args);
	if (key != NULL)
		g_set_error(error, WR_CONTROL_CONFIG_ERROR, code, "%s:%u: [%s] %s: %s", l->origin,
			    key_line(l, group, key), group, key, message);
	else
		g_set_error(error, WR_CONTROL_CONFIG_ERROR, code, "%s:%u: [%s]: %s", l->origin,
			    key_line(l, group, NULL), group, message);
}

G_GNUC_PRINTF(5, 6)
static void
set_line_error(const Loader *l, GError **error, WrControlConfigError code, guint line,
	       const char *format, ...)
{
	g_autofree char *message = NULL;
	va_list args;

	va_start(args, format);
	message = g_strdup_vprintf(format, args);
	va_end(args);
	g_set_error(error, WR_CONTROL_CONFIG_ERROR, code, "%s:%u: %s", l->origin, line, message);
}

static const KnownGroup *
find_group(const char *name)
{
	for (gsize i = 0; i < G_N_ELEMENTS(known_groups); i++) {
		if (g_str_equal(known_groups[i].group, name))
			return &known_groups[i];
	}
	return NULL;
}

static gboolean
group_knows(const KnownGroup *group, const char *key)
{
	for (const char *const *k = group->keys; *k != NULL; k++) {
		if (g_str_equal(*k, key))
			return TRUE;
	}
	return FALSE;
}

/* GKeyFile's escapes, for the one value we read ourselves */
static gboolean
unescape_in_place(char *text)
{
	char *out = text;

	for (const char *p = text; *p != '\0'; p++) {
		if (*p != '\\') {
			*out++ = *p;
			continue;
		}
		p++;
		switch (*p) {
		case 's':
			*out++ = ' ';
			break;
		case 'n':
			*out++ = '\n';
			break;
		case 't':
			*out++ = '\t';
			break;
		case 'r':
			*out++ = '\r';
			break;
		case '\\':
			*out++ = '\\';
			break;
		default:
			return FALSE;
		}
	}
	*out = '\0';
	return TRUE;
}

static gboolean
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* the inline secret: taken out of the text, and its bytes there blanked */
static gboolean
take_secret(Loader *l, char *value, gsize len, guint line, GError **error)
{
	char *secret;

	while (len > 0 && g_ascii_isspace(value[0])) {
		value++;
		len--;
	}
	while (len > 0 && g_ascii_isspace(value[len - 1]))
		len--;
	secret = g_strndup(value, len);
	memset(value, ' ', len);
	if (!unescape_in_place(secret)) {
		wr_memzero(secret, strlen(secret));
		g_free(secret);
		set_line_error(l, error, WR_CONTROL_CONFIG_ERROR_INVALID, line,
			       _("[oidc] client-secret: a bad escape sequence"));
		return FALSE;
	}
	l->inline_secret = secret;
	return TRUE;
}

/* pass one: structure, known names, no repeats, and where everything is */
static gboolean
scan(Loader *l, char *text, GError **error)
{
	const KnownGroup *group = NULL;
	const char *group_name = NULL;
	guint line = 0;
	char *p = text;

	while (*p != '\0') {
		char *end = strchr(p, '\n');
		char *next = end != NULL ? end + 1 : p + strlen(p);
		char *s = p;
		char *e;

		line++;
		if (end == NULL)
			end = next;
		e = end;
		if (e > s && e[-1] == '\r')
			e--;
		while (s < e && g_ascii_isspace(*s))
			s++;
		if (s == e || *s == '#') {
			p = next;
			continue;
		}
		if (*s == '[') {
			char *close = memchr(s, ']', (gsize) (e - s));
			g_autofree char *name = NULL;

			if (close == NULL || memchr(s + 1, '[', (gsize) (close - s - 1)) != NULL) {
				set_line_error(l, error, WR_CONTROL_CONFIG_ERROR_SYNTAX, line,
					       _("a group header must be “[name]”"));
				return FALSE;
			}
			for (char *t = close + 1; t < e; t++) {
				if (!is_blank(*t)) {
					set_line_error(l, error, WR_CONTROL_CONFIG_ERROR_SYNTAX,
						       line, _("text after a group header"));
					return FALSE;
				}
			}
			name = g_strndup(s + 1, (gsize) (close - s - 1));
			group = find_group(name);
			if (group == NULL) {
				g_autofree char *shown = g_strescape(name, NULL);

				set_line_error(l, error, WR_CONTROL_CONFIG_ERROR_UNKNOWN, line,
					       _("[%s]: unknown group (known: server, database, "
						 "oidc, network, limits)"),
					       shown);
				return FALSE;
			}
			group_name = group->group;
			if (!g_hash_table_contains(l->group_lines, group_name))
				g_hash_table_insert(l->group_lines, (gpointer) group_name,
						    GUINT_TO_POINTER(line));
			p = next;
			continue;
		}
		{
			char *eq = memchr(s, '=', (gsize) (e - s));
			char *k = eq;
			g_autofree char *key = NULL;
			g_autofree char *name = NULL;

			if (eq == NULL) {
				set_line_error(l, error, WR_CONTROL_CONFIG_ERROR_SYNTAX, line,
					       _("not a “[group]”, a “key = value” or a "
						 "“# comment”"));
				return FALSE;
			}
			while (k > s && g_ascii_isspace(k[-1]))
				k--;
			key = g_strndup(s, (gsize) (k - s));
			if (group == NULL) {
				set_line_error(l, error, WR_CONTROL_CONFIG_ERROR_SYNTAX, line,
					       _("a key before any [group]"));
				return FALSE;
			}
			if (key[0] == '\0') {
				set_line_error(l, error, WR_CONTROL_CONFIG_ERROR_SYNTAX, line,
					       _("[%s]: a value without a key"), group_name);
				return FALSE;
			}
			if (!group_knows(group, key)) {
				g_autofree char *shown = g_strescape(key, NULL);

				set_line_error(l, error, WR_CONTROL_CONFIG_ERROR_UNKNOWN, line,
					       _("[%s] %s: unknown key"), group_name, shown);
				return FALSE;
			}
			name = g_strconcat(group_name, KEY_SEP, key, NULL);
			if (g_hash_table_contains(l->key_lines, name)) {
				set_line_error(
					l, error, WR_CONTROL_CONFIG_ERROR_CONFLICT, line,
					_("[%s] %s: set twice (first on line %u)"), group_name, key,
					GPOINTER_TO_UINT(g_hash_table_lookup(l->key_lines, name)));
				return FALSE;
			}
			g_hash_table_insert(l->key_lines, g_steal_pointer(&name),
					    GUINT_TO_POINTER(line));
			if (g_str_equal(group_name, "oidc") && g_str_equal(key, "client-secret") &&
			    !take_secret(l, eq + 1, (gsize) (e - eq - 1), line, error))
				return FALSE;
		}
		p = next;
	}
	return TRUE;
}

/* a value as GKeyFile unescapes it, stripped; NULL in *out when the key is absent */
static gboolean
get_string(const Loader *l, const char *group, const char *key, char **out, GError **error)
{
	g_autoptr(GError) local = NULL;
	char *value;

	*out = NULL;
	if (!has_key(l, group, key))
		return TRUE;
	/* an unknown escape gives the value as written and an error: refused too */
	value = g_key_file_get_string(l->keyfile, group, key, &local);
	if (value == NULL || local != NULL) {
		g_free(value);
		set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_INVALID, group, key,
			      _("not valid UTF-8, or a bad escape sequence"));
		return FALSE;
	}
	*out = g_strstrip(value);
	return TRUE;
}

/* a ';'-separated list, each entry stripped; an empty list when the key is absent */
static gboolean
get_list(const Loader *l, const char *group, const char *key, char ***out, GError **error)
{
	g_autoptr(GError) local = NULL;
	g_auto(GStrv) items = NULL;

	*out = NULL;
	if (!has_key(l, group, key)) {
		*out = g_new0(char *, 1);
		return TRUE;
	}
	items = g_key_file_get_string_list(l->keyfile, group, key, NULL, &local);
	if (items == NULL || local != NULL) {
		if (local != NULL) {
			set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_INVALID, group, key,
				      _("not valid UTF-8, or a bad escape sequence"));
			return FALSE;
		}
		*out = g_new0(char *, 1);
		return TRUE;
	}
	for (char **item = items; *item != NULL; item++) {
		(void) g_strstrip(*item);
		if (**item == '\0') {
			set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_INVALID, group, key,
				      _("an empty entry in the list"));
			return FALSE;
		}
	}
	*out = g_steal_pointer(&items);
	return TRUE;
}

static gboolean
get_bool(const Loader *l, const char *group, const char *key, gboolean *out, GError **error)
{
	g_autofree char *value = NULL;

	if (!get_string(l, group, key, &value, error))
		return FALSE;
	if (value == NULL)
		return TRUE;
	if (g_str_equal(value, "true")) {
		*out = TRUE;
	} else if (g_str_equal(value, "false")) {
		*out = FALSE;
	} else {
		set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_INVALID, group, key,
			      _("must be true or false"));
		return FALSE;
	}
	return TRUE;
}

static gboolean
get_uint(const Loader *l, const char *group, const char *key, guint min, guint max, guint *out,
	 GError **error)
{
	g_autofree char *value = NULL;
	guint64 n;

	if (!get_string(l, group, key, &value, error))
		return FALSE;
	if (value == NULL)
		return TRUE;
	if (!g_ascii_isdigit(value[0]) ||
	    !g_ascii_string_to_unsigned(value, 10, min, max, &n, NULL)) {
		set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_INVALID, group, key,
			      _("must be a whole number from %u to %u"), min, max);
		return FALSE;
	}
	*out = (guint) n;
	return TRUE;
}

gboolean
wr_control_parse_duration(const char *text, gint64 *out)
{
	gint64 n = 0;
	gint64 unit = 1;
	const char *p = text;

	if (text == NULL || !g_ascii_isdigit(*p))
		return FALSE;
	for (; g_ascii_isdigit(*p); p++) {
		n = n * 10 + (*p - '0');
		if (n > DURATION_MAX)
			return FALSE;
	}
	switch (*p) {
	case '\0':
		break;
	case 's':
		p++;
		break;
	case 'm':
		unit = 60;
		p++;
		break;
	case 'h':
		unit = 3600;
		p++;
		break;
	case 'd':
		unit = 86400;
		p++;
		break;
	default:
		return FALSE;
	}
	if (*p != '\0' || n > DURATION_MAX / unit)
		return FALSE;
	*out = n * unit;
	return TRUE;
}

static gboolean
get_duration(const Loader *l, const char *group, const char *key, gint64 min, gint64 max,
	     gint64 *out, GError **error)
{
	g_autofree char *value = NULL;
	gint64 seconds;

	if (!get_string(l, group, key, &value, error))
		return FALSE;
	if (value == NULL)
		return TRUE;
	if (!wr_control_parse_duration(value, &seconds)) {
		set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_INVALID, group, key,
			      _("must be a duration such as 90s, 15m, 12h or 180d"));
		return FALSE;
	}
	if (seconds < min || seconds > max) {
		set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_INVALID, group, key,
			      _("must be from %" PRId64 "s to %" PRId64 "s"), min, max);
		return FALSE;
	}
	*out = seconds;
	return TRUE;
}

/* a relative path is taken from the configuration file's directory */
static char *
resolve_path(const Loader *l, const char *path)
{
	if (g_path_is_absolute(path))
		return g_strdup(path);
	return g_build_filename(l->base_dir, path, NULL);
}

static gboolean
get_path(const Loader *l, const char *group, const char *key, char **out, GError **error)
{
	g_autofree char *value = NULL;

	if (!get_string(l, group, key, &value, error))
		return FALSE;
	if (value == NULL)
		return TRUE;
	if (value[0] == '\0') {
		set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_INVALID, group, key,
			      _("must name a file"));
		return FALSE;
	}
	g_free(*out);
	*out = resolve_path(l, value);
	return TRUE;
}

/* "host:port" with an IP literal host, IPv6 in brackets */
static GSocketAddress *
parse_host_port(const char *text)
{
	g_autoptr(GInetAddress) address = NULL;
	g_autofree char *host = NULL;
	const char *port_text;
	guint64 port;

	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (close == NULL || close[1] != ':')
			return NULL;
		host = g_strndup(text + 1, (gsize) (close - text - 1));
		port_text = close + 2;
		address = g_inet_address_new_from_string(host);
		if (address == NULL || g_inet_address_get_family(address) != G_SOCKET_FAMILY_IPV6)
			return NULL;
	} else {
		const char *colon = strchr(text, ':');

		if (colon == NULL || strchr(colon + 1, ':') != NULL)
			return NULL;
		host = g_strndup(text, (gsize) (colon - text));
		port_text = colon + 1;
		address = g_inet_address_new_from_string(host);
		if (address == NULL || g_inet_address_get_family(address) != G_SOCKET_FAMILY_IPV4)
			return NULL;
	}
	if (!g_ascii_isdigit(port_text[0]) ||
	    !g_ascii_string_to_unsigned(port_text, 10, 1, 65535, &port, NULL))
		return NULL;
	return g_inet_socket_address_new(address, (guint16) port);
}

static gboolean
get_address(const Loader *l, const char *group, const char *key, GSocketAddress **out,
	    GError **error)
{
	g_autofree char *value = NULL;
	GSocketAddress *address;

	if (!get_string(l, group, key, &value, error))
		return FALSE;
	if (value == NULL)
		return TRUE;
	address = parse_host_port(value);
	if (address == NULL) {
		set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_INVALID, group, key,
			      _("must be an IP address and a port from 1 to 65535, as "
				"127.0.0.1:8080 or [::]:443"));
		return FALSE;
	}
	g_clear_object(out);
	*out = address;
	return TRUE;
}

static gboolean
is_loopback_host(const char *host)
{
	g_autofree char *bare = NULL;
	g_autoptr(GInetAddress) address = NULL;
	gsize len = strlen(host);

	if (len >= 2 && host[0] == '[' && host[len - 1] == ']')
		bare = g_strndup(host + 1, len - 2);
	else
		bare = g_strdup(host);
	address = g_inet_address_new_from_string(bare);
	return address != NULL && g_inet_address_get_is_loopback(address);
}

static gboolean
is_dns_name(const char *name)
{
	gsize len = strlen(name);
	const char *label = name;

	if (len == 0 || len > DNS_NAME_MAX)
		return FALSE;
	while (TRUE) {
		const char *dot = strchr(label, '.');
		gsize n = dot != NULL ? (gsize) (dot - label) : strlen(label);

		if (n == 0 || n > DNS_LABEL_MAX || label[0] == '-' || label[n - 1] == '-')
			return FALSE;
		for (gsize i = 0; i < n; i++) {
			char c = label[i];

			if (!(g_ascii_islower(c) || g_ascii_isdigit(c) || c == '-'))
				return FALSE;
		}
		if (dot == NULL)
			return TRUE;
		label = dot + 1;
	}
}

typedef enum {
	URL_SERVER, /* http(s), a host, nothing after it */
	URL_ISSUER, /* https (http only on a loopback literal), a path allowed */
} UrlKind;

static gboolean
check_url(const Loader *l, const char *group, const char *key, const char *text, UrlKind kind,
	  GError **error)
{
	g_autoptr(GUri) uri = g_uri_parse(text, G_URI_FLAGS_NONE, NULL);
	const char *scheme;
	const char *host;

	if (uri == NULL || g_uri_get_host(uri) == NULL || g_uri_get_host(uri)[0] == '\0') {
		set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_INVALID, group, key,
			      _("must be a URL such as https://ctl.example.com"));
		return FALSE;
	}
	scheme = g_uri_get_scheme(uri);
	host = g_uri_get_host(uri);
	if (kind == URL_SERVER && g_strcmp0(scheme, "https") != 0 &&
	    g_strcmp0(scheme, "http") != 0) {
		set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_INVALID, group, key,
			      _("must be an https:// or http:// URL"));
		return FALSE;
	}
	if (kind == URL_ISSUER && g_strcmp0(scheme, "https") != 0 &&
	    !(g_strcmp0(scheme, "http") == 0 && is_loopback_host(host))) {
		set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_INVALID, group, key,
			      _("must be an https:// URL (http:// only on a loopback address)"));
		return FALSE;
	}
	if (g_uri_get_userinfo(uri) != NULL || g_uri_get_query(uri) != NULL ||
	    g_uri_get_fragment(uri) != NULL) {
		set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_INVALID, group, key,
			      _("must not have a user, a query or a fragment"));
		return FALSE;
	}
	if (kind == URL_SERVER && g_str_equal(g_uri_get_path(uri), "/")) {
		set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_INVALID, group, key,
			      _("must not end in /"));
		return FALSE;
	}
	if (kind == URL_SERVER && g_uri_get_path(uri)[0] != '\0') {
		set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_INVALID, group, key,
			      _("must not have a path: the server answers at its root"));
		return FALSE;
	}
	return TRUE;
}

static gboolean
load_server(const Loader *l, WrControlConfig *c, GError **error)
{
	const char *g = "server";

	if (!get_address(l, g, "listen", &c->listen, error))
		return FALSE;
	if (!get_string(l, g, "server-url", &c->server_url, error))
		return FALSE;
	if (c->server_url == NULL) {
		set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_MISSING, g, "server-url",
			      _("required (the URL clients reach this server at)"));
		return FALSE;
	}
	if (!check_url(l, g, "server-url", c->server_url, URL_SERVER, error))
		return FALSE;
	if (!get_path(l, g, "tls-cert", &c->tls_cert, error) ||
	    !get_path(l, g, "tls-key", &c->tls_key, error) ||
	    !get_bool(l, g, "insecure-http", &c->insecure_http, error) ||
	    !get_path(l, g, "state-dir", &c->state_dir, error) ||
	    !get_path(l, g, "private-key-file", &c->private_key_file, error) ||
	    !get_path(l, g, "admin-socket", &c->admin_socket, error) ||
	    !get_address(l, g, "metrics-listen", &c->metrics, error))
		return FALSE;
	if (c->tls_cert != NULL && c->tls_key == NULL) {
		set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_CONFLICT, g, "tls-cert",
			      _("needs tls-key as well"));
		return FALSE;
	}
	if (c->tls_key != NULL && c->tls_cert == NULL) {
		set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_CONFLICT, g, "tls-key",
			      _("needs tls-cert as well"));
		return FALSE;
	}
	if (c->insecure_http && c->tls_cert != NULL) {
		set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_CONFLICT, g, "insecure-http",
			      _("contradicts tls-cert and tls-key"));
		return FALSE;
	}
	if (c->tls_cert == NULL && !c->insecure_http &&
	    !g_inet_address_get_is_loopback(
		    g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(c->listen)))) {
		set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_CONFLICT, g, "listen",
			      _("not a loopback address: set tls-cert and tls-key, or "
				"insecure-http = true behind a TLS proxy"));
		return FALSE;
	}
	if (c->private_key_file == NULL)
		c->private_key_file = g_build_filename(c->state_dir, DEFAULT_KEY_NAME, NULL);
	return TRUE;
}

static gboolean
load_database(const Loader *l, WrControlConfig *c, GError **error)
{
	g_autofree char *url = NULL;
	const char *path = NULL;

	if (!get_string(l, "database", "url", &url, error))
		return FALSE;
	if (url == NULL) {
		c->database =
			g_strconcat("sqlite://", c->state_dir, "/", DEFAULT_DATABASE_NAME, NULL);
		return TRUE;
	}
	/* the URL may carry a password: it is never quoted */
	if (g_str_has_prefix(url, "postgresql://") || g_str_has_prefix(url, "postgres:")) {
		c->database = g_steal_pointer(&url);
		return TRUE;
	}
	if (g_str_has_prefix(url, "sqlite://")) {
		path = url + strlen("sqlite://");
		if (path[0] != '/') {
			set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_INVALID, "database", "url",
				      _("sqlite:// needs an absolute path (sqlite:///path); "
					"write sqlite:path for a relative one"));
			return FALSE;
		}
	} else if (g_str_has_prefix(url, "sqlite:")) {
		path = url + strlen("sqlite:");
	} else if (strstr(url, "://") == NULL && strchr(url, ':') == NULL) {
		path = url;
	} else {
		set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_INVALID, "database", "url",
			      _("must be sqlite:///path, sqlite:path, a path, "
				"postgresql://… or postgres:conninfo"));
		return FALSE;
	}
	if (path[0] == '\0') {
		set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_INVALID, "database", "url",
			      _("names no database file"));
		return FALSE;
	}
	{
		g_autofree char *resolved = resolve_path(l, path);

		c->database = g_strconcat("sqlite://", resolved, NULL);
	}
	return TRUE;
}

/* the secret file: a regular file no one else can read, the secret on one line */
static gboolean
read_secret_file(const Loader *l, const char *path, char **out, GError **error)
{
	char buf[SECRET_FILE_MAX + 1];
	struct stat st;
	gsize len = 0;
	int fd;
	gboolean ok = FALSE;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		int saved = errno;

		set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_IO, "oidc", "client-secret-file",
			      _("cannot open %s: %s"), path, g_strerror(saved));
		return FALSE;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_INVALID, "oidc",
			      "client-secret-file", _("%s is not a regular file"), path);
	} else if ((st.st_mode & (S_IRWXO)) != 0) {
		set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_INVALID, "oidc",
			      "client-secret-file",
			      _("%s is open to other users (mode %04o): chmod o-rwx it"), path,
			      (unsigned int) (st.st_mode & 07777));
	} else {
		ssize_t n;

		ok = TRUE;
		while (len < sizeof(buf) && (n = read(fd, buf + len, sizeof(buf) - len)) != 0) {
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				int saved = errno;

				set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_IO, "oidc",
					      "client-secret-file", _("cannot read %s: %s"), path,
					      g_strerror(saved));
				ok = FALSE;
				break;
			}
			len += (gsize) n;
		}
		if (ok && len > SECRET_FILE_MAX) {
			set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_INVALID, "oidc",
				      "client-secret-file", _("%s is larger than %d bytes"), path,
				      SECRET_FILE_MAX);
			ok = FALSE;
		}
	}
	(void) close(fd);
	if (ok) {
		gsize start = 0;

		while (len > 0 && g_ascii_isspace(buf[len - 1]))
			len--;
		while (start < len && g_ascii_isspace(buf[start]))
			start++;
		for (gsize i = start; i < len; i++) {
			if (buf[i] == '\0' || buf[i] == '\n' || buf[i] == '\r')
				ok = FALSE;
		}
		if (start == len || !ok) {
			set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_INVALID, "oidc",
				      "client-secret-file",
				      _("%s must hold the secret alone on one line"), path);
			ok = FALSE;
		} else {
			*out = g_strndup(buf + start, len - start);
		}
	}
	wr_memzero(buf, sizeof(buf));
	return ok;
}

static gboolean
check_names(const Loader *l, const char *key, char **names, GError **error)
{
	for (char **n = names; *n != NULL; n++) {
		if (!is_dns_name(*n)) {
			set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_INVALID, "oidc", key,
				      _("“%s” is not a lowercase DNS name"), *n);
			return FALSE;
		}
	}
	return TRUE;
}

static gboolean
load_oidc(const Loader *l, WrControlConfig *c, GError **error)
{
	const char *g = "oidc";
	g_autofree char *preset = NULL;
	g_autofree char *secret_file = NULL;
	g_auto(GStrv) algs = NULL;
	gboolean has_openid = FALSE;

	c->oidc_enabled = g_hash_table_contains(l->group_lines, g);
	if (!get_string(l, g, "preset", &preset, error) ||
	    !get_string(l, g, "issuer", &c->oidc_issuer, error) ||
	    !get_string(l, g, "client-id", &c->oidc_client_id, error) ||
	    !get_path(l, g, "client-secret-file", &secret_file, error) ||
	    !get_list(l, g, "allowed-domains", &c->oidc_allowed_domains, error) ||
	    !get_list(l, g, "allowed-emails", &c->oidc_allowed_emails, error) ||
	    !get_list(l, g, "allowed-groups", &c->oidc_allowed_groups, error) ||
	    !get_duration(l, g, "clock-skew", 0, SKEW_MAX, &c->oidc_skew, error))
		return FALSE;
	if (has_key(l, g, "scopes")) {
		g_strfreev(c->oidc_scopes);
		c->oidc_scopes = NULL;
		if (!get_list(l, g, "scopes", &c->oidc_scopes, error))
			return FALSE;
	}
	for (char **s = c->oidc_scopes; *s != NULL; s++) {
		for (const char *p = *s; *p != '\0'; p++) {
			if (*p <= ' ' || *p > '~' || *p == '"' || *p == '\\') {
				set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_INVALID, g,
					      "scopes", _("“%s” is not a scope name"), *s);
				return FALSE;
			}
		}
		has_openid |= g_str_equal(*s, "openid");
	}
	if (!has_openid) {
		set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_INVALID, g, "scopes",
			      _("must include openid"));
		return FALSE;
	}
	if (has_key(l, g, "algorithms")) {
		if (!get_list(l, g, "algorithms", &algs, error))
			return FALSE;
		c->oidc_algs = 0;
		for (char **a = algs; *a != NULL; a++) {
			if (g_str_equal(*a, "RS256")) {
				c->oidc_algs |= WR_JWS_ALG_RS256;
			} else if (g_str_equal(*a, "ES256")) {
				c->oidc_algs |= WR_JWS_ALG_ES256;
			} else {
				set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_INVALID, g,
					      "algorithms", _("“%s” is not RS256 or ES256"), *a);
				return FALSE;
			}
		}
		if (c->oidc_algs == 0) {
			set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_INVALID, g, "algorithms",
				      _("must name RS256, ES256 or both"));
			return FALSE;
		}
	}
	if (!check_names(l, "allowed-domains", c->oidc_allowed_domains, error))
		return FALSE;
	for (char **e = c->oidc_allowed_emails; *e != NULL; e++) {
		const char *at = strchr(*e, '@');

		if (at == NULL || at == *e || strchr(at + 1, '@') != NULL ||
		    strpbrk(*e, " \t") != NULL || !is_dns_name(at + 1)) {
			set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_INVALID, g,
				      "allowed-emails",
				      _("“%s” is not an address such as alice@example.com"), *e);
			return FALSE;
		}
	}
	if (!c->oidc_enabled)
		return TRUE;

	if (c->oidc_issuer == NULL) {
		set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_MISSING, g, "issuer",
			      _("required with [oidc]"));
		return FALSE;
	}
	if (!check_url(l, g, "issuer", c->oidc_issuer, URL_ISSUER, error))
		return FALSE;
	if (c->oidc_client_id == NULL || c->oidc_client_id[0] == '\0') {
		set_key_error(l, error,
			      c->oidc_client_id == NULL ? WR_CONTROL_CONFIG_ERROR_MISSING
							: WR_CONTROL_CONFIG_ERROR_INVALID,
			      g, "client-id", _("required with [oidc]"));
		return FALSE;
	}
	if (preset == NULL)
		c->oidc_preset = g_str_equal(c->oidc_issuer, GOOGLE_ISSUER)
					 ? WR_CONTROL_OIDC_GOOGLE
					 : WR_CONTROL_OIDC_GENERIC;
	else if (g_str_equal(preset, "google"))
		c->oidc_preset = WR_CONTROL_OIDC_GOOGLE;
	else if (g_str_equal(preset, "generic"))
		c->oidc_preset = WR_CONTROL_OIDC_GENERIC;
	else {
		set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_INVALID, g, "preset",
			      _("must be google or generic"));
		return FALSE;
	}

	if (has_key(l, g, "client-secret") && secret_file != NULL) {
		set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_CONFLICT, g, "client-secret-file",
			      _("set only one of client-secret and client-secret-file"));
		return FALSE;
	}
	if (has_key(l, g, "client-secret")) {
		if (l->inline_secret == NULL || l->inline_secret[0] == '\0') {
			set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_INVALID, g, "client-secret",
				      _("must not be empty"));
			return FALSE;
		}
		c->oidc_client_secret = g_strdup(l->inline_secret);
	} else if (secret_file != NULL) {
		if (!read_secret_file(l, secret_file, &c->oidc_client_secret, error))
			return FALSE;
	} else {
		set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_MISSING, g, "client-secret",
			      _("required with [oidc] (or client-secret-file)"));
		return FALSE;
	}
	return TRUE;
}

static gboolean
load_network(const Loader *l, WrControlConfig *c, GError **error)
{
	const char *g = "network";
	g_autoptr(GError) local = NULL;
	g_autoptr(WrIpalloc) ipalloc = NULL;

	if (!get_string(l, g, "ipv4-prefix", &c->ipv4_prefix, error) ||
	    !get_string(l, g, "ipv6-prefix", &c->ipv6_prefix, error) ||
	    !get_string(l, g, "dns-domain", &c->dns_domain, error) ||
	    !get_bool(l, g, "magic-dns", &c->magic_dns, error) ||
	    !get_list(l, g, "nameservers", &c->nameservers, error) ||
	    !get_path(l, g, "derp-map", &c->derp_map_file, error) ||
	    !get_duration(l, g, "node-key-expiry", 0, DURATION_MAX, &c->node_key_expiry, error) ||
	    !get_bool(l, g, "collect-flows", &c->collect_flows, error) ||
	    !get_duration(l, g, "ephemeral-timeout", 1, EPHEMERAL_TIMEOUT_MAX,
			  &c->ephemeral_timeout, error))
		return FALSE;
	if (c->ipv4_prefix == NULL)
		c->ipv4_prefix = g_strdup(WR_IPALLOC_DEFAULT_V4);
	if (c->ipv6_prefix == NULL)
		c->ipv6_prefix = g_strdup(WR_IPALLOC_DEFAULT_V6);
	/* the allocator is the one judge of a usable prefix pair */
	ipalloc = wr_ipalloc_new(c->ipv4_prefix, WR_IPALLOC_DEFAULT_V6, &local);
	if (ipalloc == NULL) {
		set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_INVALID, g, "ipv4-prefix", "%s",
			      local->message);
		return FALSE;
	}
	g_clear_pointer(&ipalloc, wr_ipalloc_free);
	ipalloc = wr_ipalloc_new(WR_IPALLOC_DEFAULT_V4, c->ipv6_prefix, &local);
	if (ipalloc == NULL) {
		set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_INVALID, g, "ipv6-prefix", "%s",
			      local->message);
		return FALSE;
	}
	if (c->dns_domain == NULL) {
		set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_MISSING, g, "dns-domain",
			      _("required (the tailnet's DNS suffix, as tailnet.example)"));
		return FALSE;
	}
	if (!is_dns_name(c->dns_domain)) {
		set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_INVALID, g, "dns-domain",
			      _("must be a lowercase DNS name without a trailing dot"));
		return FALSE;
	}
	for (char **ns = c->nameservers; *ns != NULL; ns++) {
		g_autoptr(GInetAddress) address = g_inet_address_new_from_string(*ns);

		if (address == NULL) {
			set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_INVALID, g, "nameservers",
				      _("“%s” is not an IP address"), *ns);
			return FALSE;
		}
	}
	if (c->derp_map_file == NULL) {
		set_key_error(l, error, WR_CONTROL_CONFIG_ERROR_MISSING, g, "derp-map",
			      _("required (the DERP map's JSON file)"));
		return FALSE;
	}
	return TRUE;
}

static gboolean
load_limits(const Loader *l, WrControlConfig *c, GError **error)
{
	const char *g = "limits";

	return get_uint(l, g, "register-per-minute", 1, RATE_MAX, &c->register_per_minute, error) &&
	       get_uint(l, g, "register-burst", 1, BURST_MAX, &c->register_burst, error) &&
	       get_uint(l, g, "auth-page-per-minute", 1, RATE_MAX, &c->auth_per_minute, error) &&
	       get_uint(l, g, "auth-page-burst", 1, BURST_MAX, &c->auth_burst, error) &&
	       get_uint(l, g, "max-streams", 1, MAX_STREAMS_MAX, &c->max_streams, error) &&
	       get_duration(l, g, "login-timeout", LOGIN_TIMEOUT_MIN, LOGIN_TIMEOUT_MAX,
			    &c->login_timeout, error) &&
	       get_duration(l, g, "keepalive-interval", 1, KEEPALIVE_MAX, &c->keepalive_interval,
			    error);
}

static WrControlConfig *
config_new_defaults(const char *origin)
{
	WrControlConfig *c = g_new0(WrControlConfig, 1);
	g_autoptr(GInetAddress) loopback = g_inet_address_new_from_string(DEFAULT_LISTEN_HOST);
	const char *const scopes[] = {DEFAULT_SCOPES, NULL};

	c->path = g_strdup(origin);
	c->listen = g_inet_socket_address_new(loopback, DEFAULT_LISTEN_PORT);
	c->state_dir = g_strdup(DEFAULT_STATE_DIR);
	c->admin_socket = g_strdup(DEFAULT_ADMIN_SOCKET);
	c->oidc_preset = WR_CONTROL_OIDC_GENERIC;
	c->oidc_scopes = g_strdupv((char **) scopes);
	c->oidc_algs = WR_JWS_ALGS_DEFAULT;
	c->oidc_skew = DEFAULT_SKEW;
	c->magic_dns = TRUE;
	c->node_key_expiry = DEFAULT_KEY_EXPIRY;
	c->register_per_minute = DEFAULT_REGISTER_RATE;
	c->register_burst = DEFAULT_REGISTER_BURST;
	c->auth_per_minute = DEFAULT_AUTH_RATE;
	c->auth_burst = DEFAULT_AUTH_BURST;
	c->max_streams = DEFAULT_MAX_STREAMS;
	c->login_timeout = DEFAULT_LOGIN_TIMEOUT;
	c->ephemeral_timeout = DEFAULT_EPHEMERAL_TIMEOUT;
	c->keepalive_interval = DEFAULT_KEEPALIVE;
	return c;
}

static WrControlConfig *
load(const char *data, gsize len, const char *origin, const char *base_dir, GError **error)
{
	g_autoptr(WrControlConfig) c = NULL;
	g_autoptr(GError) local = NULL;
	Loader l = {.origin = origin};
	char *text;
	gboolean ok;

	if (memchr(data, '\0', len) != NULL) {
		g_set_error(error, WR_CONTROL_CONFIG_ERROR, WR_CONTROL_CONFIG_ERROR_SYNTAX,
			    _("%s: contains a NUL byte"), origin);
		return NULL;
	}
	l.base_dir = g_strdup(base_dir);
	l.group_lines = g_hash_table_new(g_str_hash, g_str_equal);
	l.key_lines = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	l.keyfile = g_key_file_new();
	text = g_strndup(data, len);

	ok = scan(&l, text, error);
	if (ok && !g_key_file_load_from_data(l.keyfile, text, len, G_KEY_FILE_NONE, &local)) {
		g_set_error(error, WR_CONTROL_CONFIG_ERROR, WR_CONTROL_CONFIG_ERROR_SYNTAX,
			    "%s: %s", origin, local->message);
		ok = FALSE;
	}
	wr_memzero(text, len);
	g_free(text);
	if (ok) {
		c = config_new_defaults(origin);
		ok = load_server(&l, c, error) && load_database(&l, c, error) &&
		     load_oidc(&l, c, error) && load_network(&l, c, error) &&
		     load_limits(&l, c, error);
	}
	loader_clear(&l);
	if (!ok)
		return NULL;
	return g_steal_pointer(&c);
}

WrControlConfig *
wr_control_config_load_data(const char *data, gsize len, const char *origin, GError **error)
{
	g_autofree char *cwd = g_get_current_dir();

	g_return_val_if_fail(data != NULL || len == 0, NULL);
	return load(data != NULL ? data : "", len, origin != NULL ? origin : "<data>", cwd, error);
}

WrControlConfig *
wr_control_config_load_file(const char *path, GError **error)
{
	g_autofree char *contents = NULL;
	g_autofree char *absolute = NULL;
	g_autofree char *dir = NULL;
	g_autoptr(GError) local = NULL;
	gsize len = 0;
	WrControlConfig *c;

	g_return_val_if_fail(path != NULL, NULL);
	if (!g_file_get_contents(path, &contents, &len, &local)) {
		g_set_error(error, WR_CONTROL_CONFIG_ERROR, WR_CONTROL_CONFIG_ERROR_IO, "%s:0: %s",
			    path, local->message);
		return NULL;
	}
	absolute = g_canonicalize_filename(path, NULL);
	dir = g_path_get_dirname(absolute);
	c = load(contents, len, path, dir, error);
	wr_memzero(contents, len);
	return c;
}

void
wr_control_config_free(WrControlConfig *config)
{
	if (config == NULL)
		return;
	g_free(config->path);
	g_clear_object(&config->listen);
	g_free(config->server_url);
	g_free(config->tls_cert);
	g_free(config->tls_key);
	g_free(config->private_key_file);
	g_free(config->state_dir);
	g_free(config->admin_socket);
	g_clear_object(&config->metrics);
	g_free(config->database);
	g_free(config->oidc_issuer);
	g_free(config->oidc_client_id);
	if (config->oidc_client_secret != NULL) {
		wr_memzero(config->oidc_client_secret, strlen(config->oidc_client_secret));
		g_free(config->oidc_client_secret);
	}
	g_strfreev(config->oidc_scopes);
	g_strfreev(config->oidc_allowed_domains);
	g_strfreev(config->oidc_allowed_emails);
	g_strfreev(config->oidc_allowed_groups);
	g_free(config->ipv4_prefix);
	g_free(config->ipv6_prefix);
	g_free(config->dns_domain);
	g_strfreev(config->nameservers);
	g_free(config->derp_map_file);
	g_free(config);
}
