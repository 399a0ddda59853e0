/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * warren-control's configuration parser: a full file, the defaults, a table of bad files with
 * their exact messages, durations, the secret file's checks, and the shipped examples.
 */

#define G_LOG_DOMAIN "WrControlConfigTest"

#include "config.h"

#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "wr-control-config.h"
#include "wr-crypto.h"
#include "wr-jwt.h"
#include "wr-ratelimiter.h"

#define MINIMAL                                  \
	"[server]\n"                             \
	"server-url = https://ctl.example.com\n" \
	"[network]\n"                            \
	"dns-domain = tailnet.example\n"         \
	"derp-map = /etc/warren/derp.json\n"

/* a temporary directory, removed with what is in it */
typedef struct {
	char *dir;
} TmpDir;

static void
tmp_dir_init(TmpDir *t)
{
	g_autoptr(GError) error = NULL;

	t->dir = g_dir_make_tmp("wr-control-config-XXXXXX", &error);
	g_assert_no_error(error);
}

static char *
tmp_write(TmpDir *t, const char *name, const char *contents, int mode)
{
	g_autoptr(GError) error = NULL;
	char *path = g_build_filename(t->dir, name, NULL);

	g_assert_true(g_file_set_contents(path, contents, -1, &error));
	g_assert_no_error(error);
	g_assert_cmpint(g_chmod(path, mode), ==, 0);
	return path;
}

static void
tmp_dir_clear(TmpDir *t)
{
	g_autoptr(GDir) dir = g_dir_open(t->dir, 0, NULL);
	const char *name;

	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		g_autofree char *path = g_build_filename(t->dir, name, NULL);

		(void) g_unlink(path);
	}
	(void) g_rmdir(t->dir);
	g_free(t->dir);
}

static char *
address_text(GSocketAddress *address)
{
	GInetSocketAddress *inet = G_INET_SOCKET_ADDRESS(address);
	g_autofree char *host = g_inet_address_to_string(g_inet_socket_address_get_address(inet));

	return g_strdup_printf("%s/%u", host, g_inet_socket_address_get_port(inet));
}

static void
assert_strv(char **got, const char *expected)
{
	g_autofree char *joined = g_strjoinv(";", got);

	g_assert_cmpstr(joined, ==, expected);
}

static WrControlConfig *
load_ok(const char *text)
{
	g_autoptr(GError) error = NULL;
	WrControlConfig *c = wr_control_config_load_data(text, strlen(text), "test.conf", &error);

	g_assert_no_error(error);
	g_assert_nonnull(c);
	return c;
}

static void
test_minimal(void)
{
	g_autoptr(WrControlConfig) c = load_ok(MINIMAL);
	g_autofree char *listen = address_text(c->listen);

	g_assert_cmpstr(c->path, ==, "test.conf");
	g_assert_cmpstr(listen, ==, "127.0.0.1/8080");
	g_assert_cmpstr(c->server_url, ==, "https://ctl.example.com");
	g_assert_null(c->tls_cert);
	g_assert_null(c->tls_key);
	g_assert_false(c->insecure_http);
	g_assert_cmpstr(c->state_dir, ==, "/var/lib/warren-control");
	g_assert_cmpstr(c->private_key_file, ==, "/var/lib/warren-control/server.key");
	g_assert_cmpstr(c->admin_socket, ==, "/run/warren-control/admin.sock");
	g_assert_null(c->metrics);
	g_assert_cmpstr(c->database, ==, "sqlite:///var/lib/warren-control/control.sqlite");
	g_assert_false(c->oidc_enabled);
	g_assert_null(c->oidc_issuer);
	g_assert_null(c->oidc_client_secret);
	assert_strv(c->oidc_scopes, "openid;email;profile");
	assert_strv(c->oidc_allowed_domains, "");
	assert_strv(c->oidc_allowed_emails, "");
	assert_strv(c->oidc_allowed_groups, "");
	g_assert_cmpuint(c->oidc_algs, ==, WR_JWS_ALG_RS256 | WR_JWS_ALG_ES256);
	g_assert_cmpint(c->oidc_skew, ==, 60);
	g_assert_cmpstr(c->ipv4_prefix, ==, "100.64.0.0/10");
	g_assert_cmpstr(c->ipv6_prefix, ==, "fd7a:115c:a1e0::/48");
	g_assert_cmpstr(c->dns_domain, ==, "tailnet.example");
	g_assert_true(c->magic_dns);
	assert_strv(c->nameservers, "");
	g_assert_cmpstr(c->derp_map_file, ==, "/etc/warren/derp.json");
	g_assert_cmpint(c->node_key_expiry, ==, 180 * 86400);
	g_assert_false(c->collect_flows);
	g_assert_cmpuint(c->register_per_minute, ==, 60);
	g_assert_cmpuint(c->register_burst, ==, 20);
	g_assert_cmpuint(c->auth_per_minute, ==, 30);
	g_assert_cmpuint(c->auth_burst, ==, 10);
	g_assert_cmpuint(c->max_streams, ==, 100000);
	g_assert_cmpint(c->login_timeout, ==, 600);
}

/* every key, from a file, with relative paths and the secret in a file beside it */
static void
test_full(void)
{
	TmpDir t;
	g_autoptr(GError) error = NULL;
	g_autoptr(WrControlConfig) c = NULL;
	g_autofree char *secret = NULL;
	g_autofree char *path = NULL;
	g_autofree char *expect = NULL;
	g_autofree char *listen = NULL;
	g_autofree char *metrics = NULL;
	const char *text = "# every key\n"
			   "[server]\n"
			   "  listen   =   [::]:443  \n"
			   "server-url=https://ctl.example.com:8443\n"
			   "tls-cert = tls/cert.pem\n"
			   "tls-key = /etc/ssl/private/ctl.pem\n"
			   "insecure-http = false\n"
			   "private-key-file = keys/server.key\n"
			   "state-dir = state\n"
			   "admin-socket = /run/wc/admin.sock\n"
			   "metrics-listen = 127.0.0.1:9100\n"
			   "\n"
			   "[database]\n"
			   "url = sqlite:db/control.sqlite\n"
			   "[oidc]\n"
			   "preset = generic\n"
			   "issuer = https://accounts.google.com\n"
			   "client-id = 1234.apps.googleusercontent.com\n"
			   "client-secret-file = secret\n"
			   "scopes = openid; email\n"
			   "allowed-domains = example.com;example.org;\n"
			   "allowed-emails = alice@example.com;bob@example.net\n"
			   "allowed-groups = admins;Ops Team\n"
			   "algorithms = ES256\n"
			   "clock-skew = 2m\n"
			   "[network]\n"
			   "ipv4-prefix = 100.100.0.0/16\n"
			   "ipv6-prefix = fd00:1:2::/48\n"
			   "dns-domain = corp.example\n"
			   "magic-dns = false\n"
			   "nameservers = 192.0.2.53;2001:db8::53\n"
			   "derp-map = derp.json\n"
			   "node-key-expiry = 0\n"
			   "collect-flows = true\n"
			   "[limits]\n"
			   "register-per-minute = 120\n"
			   "register-burst = 5\n"
			   "auth-page-per-minute = 10\n"
			   "auth-page-burst = 3\n"
			   "max-streams = 500\n"
			   "login-timeout = 1h\n";

	tmp_dir_init(&t);
	secret = tmp_write(&t, "secret", "  GOCSPX-s3cr3t\n\n", 0600);
	path = tmp_write(&t, "control.conf", text, 0644);
	c = wr_control_config_load_file(path, &error);
	g_assert_no_error(error);
	g_assert_nonnull(c);

	listen = address_text(c->listen);
	metrics = address_text(c->metrics);
	g_assert_cmpstr(c->path, ==, path);
	g_assert_cmpstr(listen, ==, "::/443");
	g_assert_cmpstr(metrics, ==, "127.0.0.1/9100");
	g_assert_cmpstr(c->server_url, ==, "https://ctl.example.com:8443");
	expect = g_build_filename(t.dir, "tls/cert.pem", NULL);
	g_assert_cmpstr(c->tls_cert, ==, expect);
	g_assert_cmpstr(c->tls_key, ==, "/etc/ssl/private/ctl.pem");
	g_assert_false(c->insecure_http);
	g_clear_pointer(&expect, g_free);
	expect = g_build_filename(t.dir, "keys/server.key", NULL);
	g_assert_cmpstr(c->private_key_file, ==, expect);
	g_clear_pointer(&expect, g_free);
	expect = g_build_filename(t.dir, "state", NULL);
	g_assert_cmpstr(c->state_dir, ==, expect);
	g_assert_cmpstr(c->admin_socket, ==, "/run/wc/admin.sock");
	g_clear_pointer(&expect, g_free);
	expect = g_strconcat("sqlite://", t.dir, "/db/control.sqlite", NULL);
	g_assert_cmpstr(c->database, ==, expect);

	g_assert_true(c->oidc_enabled);
	/* an explicit preset wins over the issuer's */
	g_assert_cmpint(c->oidc_preset, ==, WR_CONTROL_OIDC_GENERIC);
	g_assert_cmpstr(c->oidc_issuer, ==, "https://accounts.google.com");
	g_assert_cmpstr(c->oidc_client_id, ==, "1234.apps.googleusercontent.com");
	g_assert_cmpstr(c->oidc_client_secret, ==, "GOCSPX-s3cr3t");
	assert_strv(c->oidc_scopes, "openid;email");
	assert_strv(c->oidc_allowed_domains, "example.com;example.org");
	assert_strv(c->oidc_allowed_emails, "alice@example.com;bob@example.net");
	assert_strv(c->oidc_allowed_groups, "admins;Ops Team");
	g_assert_cmpuint(c->oidc_algs, ==, WR_JWS_ALG_ES256);
	g_assert_cmpint(c->oidc_skew, ==, 120);

	g_assert_cmpstr(c->ipv4_prefix, ==, "100.100.0.0/16");
	g_assert_cmpstr(c->ipv6_prefix, ==, "fd00:1:2::/48");
	g_assert_cmpstr(c->dns_domain, ==, "corp.example");
	g_assert_false(c->magic_dns);
	assert_strv(c->nameservers, "192.0.2.53;2001:db8::53");
	g_clear_pointer(&expect, g_free);
	expect = g_build_filename(t.dir, "derp.json", NULL);
	g_assert_cmpstr(c->derp_map_file, ==, expect);
	g_assert_cmpint(c->node_key_expiry, ==, 0);
	g_assert_true(c->collect_flows);

	g_assert_cmpuint(c->register_per_minute, ==, 120);
	g_assert_cmpuint(c->register_burst, ==, 5);
	g_assert_cmpuint(c->auth_per_minute, ==, 10);
	g_assert_cmpuint(c->auth_burst, ==, 3);
	g_assert_cmpuint(c->max_streams, ==, 500);
	g_assert_cmpint(c->login_timeout, ==, 3600);

	/* the secret file open to others is refused, naming the file, never the secret */
	g_assert_cmpint(g_chmod(secret, 0604), ==, 0);
	g_clear_pointer(&c, wr_control_config_free);
	c = wr_control_config_load_file(path, &error);
	g_assert_null(c);
	g_assert_error(error, WR_CONTROL_CONFIG_ERROR, WR_CONTROL_CONFIG_ERROR_INVALID);
	g_clear_pointer(&expect, g_free);
	expect = g_strdup_printf("%s:19: [oidc] client-secret-file: %s is open to other users "
				 "(mode 0604): chmod o-rwx it",
				 path, secret);
	g_assert_cmpstr(error->message, ==, expect);
	g_assert_null(strstr(error->message, "GOCSPX"));
	g_clear_error(&error);

	/* group-readable is the usual root:warren-control 0640 and is fine */
	g_assert_cmpint(g_chmod(secret, 0640), ==, 0);
	c = wr_control_config_load_file(path, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(c->oidc_client_secret, ==, "GOCSPX-s3cr3t");
	g_clear_pointer(&c, wr_control_config_free);

	/* a secret file of two lines, or an empty one, is refused */
	g_clear_pointer(&secret, g_free);
	secret = tmp_write(&t, "secret", "first-half\nsecond-half\n", 0600);
	c = wr_control_config_load_file(path, &error);
	g_assert_error(error, WR_CONTROL_CONFIG_ERROR, WR_CONTROL_CONFIG_ERROR_INVALID);
	g_assert_null(strstr(error->message, "half"));
	g_clear_error(&error);
	g_clear_pointer(&secret, g_free);
	secret = tmp_write(&t, "secret", " \n", 0600);
	c = wr_control_config_load_file(path, &error);
	g_assert_error(error, WR_CONTROL_CONFIG_ERROR, WR_CONTROL_CONFIG_ERROR_INVALID);
	g_clear_error(&error);

	/* a missing one is an I/O error naming it */
	(void) g_unlink(secret);
	c = wr_control_config_load_file(path, &error);
	g_assert_error(error, WR_CONTROL_CONFIG_ERROR, WR_CONTROL_CONFIG_ERROR_IO);
	g_assert_nonnull(strstr(error->message, secret));
	g_clear_error(&error);

	tmp_dir_clear(&t);
}

static void
test_missing_file(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(WrControlConfig) c =
		wr_control_config_load_file("/nonexistent/warren/control.conf", &error);

	g_assert_null(c);
	g_assert_error(error, WR_CONTROL_CONFIG_ERROR, WR_CONTROL_CONFIG_ERROR_IO);
	g_assert_true(g_str_has_prefix(error->message, "/nonexistent/warren/control.conf:0: "));
}

static void
test_oidc(void)
{
	g_autoptr(WrControlConfig) google = NULL;
	g_autoptr(WrControlConfig) generic = NULL;
	g_autoptr(WrControlConfig) local = NULL;

	google = load_ok(MINIMAL "[oidc]\n"
				 "issuer = https://accounts.google.com\n"
				 "client-id = id\n"
				 "client-secret = a\\sb\\\\c \n");
	g_assert_true(google->oidc_enabled);
	g_assert_cmpint(google->oidc_preset, ==, WR_CONTROL_OIDC_GOOGLE);
	g_assert_cmpstr(google->oidc_client_secret, ==, "a b\\c");
	assert_strv(google->oidc_scopes, "openid;email;profile");

	generic = load_ok(MINIMAL "[oidc]\n"
				  "issuer = https://id.example.com/realms/warren/\n"
				  "client-id = id\n"
				  "client-secret = s\n"
				  "algorithms = RS256;ES256\n");
	g_assert_cmpint(generic->oidc_preset, ==, WR_CONTROL_OIDC_GENERIC);
	g_assert_cmpstr(generic->oidc_issuer, ==, "https://id.example.com/realms/warren/");
	g_assert_cmpuint(generic->oidc_algs, ==, WR_JWS_ALG_RS256 | WR_JWS_ALG_ES256);

	/* a test provider on loopback may speak plain http, and be given the google rules */
	local = load_ok(MINIMAL "[oidc]\n"
				"preset = google\n"
				"issuer = http://[::1]:5556\n"
				"client-id = id\n"
				"client-secret = s\n");
	g_assert_cmpint(local->oidc_preset, ==, WR_CONTROL_OIDC_GOOGLE);
}

static void
test_listen(void)
{
	g_autoptr(WrControlConfig) tls = NULL;
	g_autoptr(WrControlConfig) plain = NULL;
	g_autoptr(WrControlConfig) v6 = NULL;
	g_autoptr(WrControlConfig) db = NULL;
	g_autofree char *a = NULL;
	g_autofree char *b = NULL;

	tls = load_ok("[server]\nlisten = 0.0.0.0:443\nserver-url = https://c.example\n"
		      "tls-cert = /c.pem\ntls-key = /k.pem\n"
		      "[network]\ndns-domain = t.example\nderp-map = /d.json\n");
	a = address_text(tls->listen);
	g_assert_cmpstr(a, ==, "0.0.0.0/443");
	plain = load_ok("[server]\nlisten = 192.0.2.1:80\nserver-url = http://c.example\n"
			"insecure-http = true\n"
			"[network]\ndns-domain = t.example\nderp-map = /d.json\n");
	g_assert_true(plain->insecure_http);
	v6 = load_ok("[server]\nlisten = [::1]:65535\nserver-url = http://[::1]:65535\n"
		     "[network]\ndns-domain = t\nderp-map = /d.json\n");
	b = address_text(v6->listen);
	g_assert_cmpstr(b, ==, "::1/65535");
	db = load_ok(MINIMAL "[database]\nurl = postgresql://warren:pw@db/warren\n");
	g_assert_cmpstr(db->database, ==, "postgresql://warren:pw@db/warren");
}

/* repeated groups, CRLF, indented comments, blanks around '=' */
static void
test_layout(void)
{
	g_autoptr(WrControlConfig) c = NULL;
	g_autofree char *listen = NULL;
	g_autoptr(GError) error = NULL;
	const char *missing = "[network]\r\ndns-domain = t\r\n[server]\r\nlisten = 127.0.0.1:1\r\n"
			      "[network]\r\n\t# no derp-map in either\r\n";

	c = load_ok("  # leading comment\r\n"
		    "[server]\r\n"
		    "server-url\t=\thttps://c.example \r\n"
		    "\t[network]  \r\n"
		    "dns-domain=t.example\r\n"
		    "   # indented comment\r\n"
		    "[server]\r\n"
		    "listen = 127.0.0.2:81\r\n"
		    "[network]\r\n"
		    "derp-map = /d.json\r\n"
		    "nameservers = 192.0.2.1 ; 192.0.2.2;\r\n");
	listen = address_text(c->listen);
	g_assert_cmpstr(listen, ==, "127.0.0.2/81");
	g_assert_cmpstr(c->server_url, ==, "https://c.example");
	g_assert_cmpstr(c->derp_map_file, ==, "/d.json");
	assert_strv(c->nameservers, "192.0.2.1;192.0.2.2");

	/* a missing key names its group's first header */
	g_clear_pointer(&c, wr_control_config_free);
	c = wr_control_config_load_data(missing, strlen(missing), "l.conf", &error);
	g_assert_null(c);
	g_assert_error(error, WR_CONTROL_CONFIG_ERROR, WR_CONTROL_CONFIG_ERROR_MISSING);
	g_assert_cmpstr(error->message, ==,
			"l.conf:3: [server] server-url: required (the URL clients reach this "
			"server at)");
}

/* load_data takes relative paths from the current directory */
static void
test_relative_data(void)
{
	g_autoptr(WrControlConfig) c = load_ok("[server]\nserver-url = https://c.example\n"
					       "[database]\nurl = db.sqlite\n"
					       "[network]\ndns-domain = t\nderp-map = d.json\n");
	g_autofree char *cwd = g_get_current_dir();
	g_autofree char *derp = g_build_filename(cwd, "d.json", NULL);
	g_autofree char *db = g_strconcat("sqlite://", cwd, "/db.sqlite", NULL);

	g_assert_cmpstr(c->derp_map_file, ==, derp);
	g_assert_cmpstr(c->database, ==, db);
}

typedef struct {
	const char *text;
	WrControlConfigError code;
	const char *message;
} BadCase;

#define SRV	   "[server]\nserver-url = https://c.example\n"
#define NET	   "[network]\ndns-domain = t.example\nderp-map = /d.json\n"
#define OIDC_START "[oidc]\nissuer = https://id.example\nclient-id = i\n"

static const BadCase bad_cases[] = {
	/* syntax */
	{"[server\n", WR_CONTROL_CONFIG_ERROR_SYNTAX,
	 "test.conf:1: a group header must be “[name]”"},
	{"[server] x\n", WR_CONTROL_CONFIG_ERROR_SYNTAX, "test.conf:1: text after a group header"},
	{"# c\nlisten = 1\n", WR_CONTROL_CONFIG_ERROR_SYNTAX,
	 "test.conf:2: a key before any [group]"},
	{SRV "\n  just words\n", WR_CONTROL_CONFIG_ERROR_SYNTAX,
	 "test.conf:4: not a “[group]”, a “key = value” or a “# comment”"},
	{SRV " = 5\n", WR_CONTROL_CONFIG_ERROR_SYNTAX,
	 "test.conf:3: [server]: a value without a key"},
	{SRV "\0", WR_CONTROL_CONFIG_ERROR_SYNTAX, NULL},
	{SRV NET "nameservers = 192.0.2.1\\q\n", WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:6: [network] nameservers: not valid UTF-8, or a bad escape sequence"},
	{SRV "[network]\nderp-map = /d\ndns-domain = t\\x\n", WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:5: [network] dns-domain: not valid UTF-8, or a bad escape sequence"},
	{SRV "[network]\nderp-map = /d\ndns-domain = \xff\xfe\n", WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:5: [network] dns-domain: not valid UTF-8, or a bad escape sequence"},
	/* unknown */
	{"[serevr]\n", WR_CONTROL_CONFIG_ERROR_UNKNOWN,
	 "test.conf:1: [serevr]: unknown group (known: server, database, oidc, network, "
	 "limits)"},
	{SRV "lisen = 127.0.0.1:80\n", WR_CONTROL_CONFIG_ERROR_UNKNOWN,
	 "test.conf:3: [server] lisen: unknown key"},
	{SRV NET "dns-domain[de] = x\n", WR_CONTROL_CONFIG_ERROR_UNKNOWN,
	 "test.conf:6: [network] dns-domain[de]: unknown key"},
	{SRV "[network]\nserver-url = https://c.example\n", WR_CONTROL_CONFIG_ERROR_UNKNOWN,
	 "test.conf:4: [network] server-url: unknown key"},
	/* repeated */
	{SRV NET "[server]\n# again\nserver-url = https://d.example\n",
	 WR_CONTROL_CONFIG_ERROR_CONFLICT,
	 "test.conf:8: [server] server-url: set twice (first on line 2)"},
	/* missing */
	{NET, WR_CONTROL_CONFIG_ERROR_MISSING,
	 "test.conf:0: [server] server-url: required (the URL clients reach this server at)"},
	{"# x\n\n[server]\nlisten = 127.0.0.1:80\n" NET, WR_CONTROL_CONFIG_ERROR_MISSING,
	 "test.conf:3: [server] server-url: required (the URL clients reach this server at)"},
	{SRV, WR_CONTROL_CONFIG_ERROR_MISSING,
	 "test.conf:0: [network] dns-domain: required (the tailnet's DNS suffix, as "
	 "tailnet.example)"},
	{SRV "[network]\ndns-domain = t.example\n", WR_CONTROL_CONFIG_ERROR_MISSING,
	 "test.conf:3: [network] derp-map: required (the DERP map's JSON file)"},
	{SRV NET "[oidc]\n", WR_CONTROL_CONFIG_ERROR_MISSING,
	 "test.conf:6: [oidc] issuer: required with [oidc]"},
	{SRV NET "[oidc]\nissuer = https://id.example\n", WR_CONTROL_CONFIG_ERROR_MISSING,
	 "test.conf:6: [oidc] client-id: required with [oidc]"},
	{SRV NET OIDC_START, WR_CONTROL_CONFIG_ERROR_MISSING,
	 "test.conf:6: [oidc] client-secret: required with [oidc] (or client-secret-file)"},
	/* invalid: addresses */
	{"[server]\nlisten = 127.0.0.1\n", WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:2: [server] listen: must be an IP address and a port from 1 to 65535, as "
	 "127.0.0.1:8080 or [::]:443"},
	{"[server]\nlisten = 127.0.0.1:0\n", WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:2: [server] listen: must be an IP address and a port from 1 to 65535, as "
	 "127.0.0.1:8080 or [::]:443"},
	{"[server]\nlisten = 127.0.0.1:65536\n", WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:2: [server] listen: must be an IP address and a port from 1 to 65535, as "
	 "127.0.0.1:8080 or [::]:443"},
	{"[server]\nlisten = ::1:80\n", WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:2: [server] listen: must be an IP address and a port from 1 to 65535, as "
	 "127.0.0.1:8080 or [::]:443"},
	{"[server]\nlisten = [127.0.0.1]:80\n", WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:2: [server] listen: must be an IP address and a port from 1 to 65535, as "
	 "127.0.0.1:8080 or [::]:443"},
	{"[server]\nlisten = localhost:80\n", WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:2: [server] listen: must be an IP address and a port from 1 to 65535, as "
	 "127.0.0.1:8080 or [::]:443"},
	{"[server]\nlisten = 127.0.0.1:+80\n", WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:2: [server] listen: must be an IP address and a port from 1 to 65535, as "
	 "127.0.0.1:8080 or [::]:443"},
	{SRV "metrics-listen = [::]\n", WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:3: [server] metrics-listen: must be an IP address and a port from 1 to "
	 "65535, as 127.0.0.1:8080 or [::]:443"},
	/* invalid: URLs */
	{"[server]\nserver-url = https://c.example/\n", WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:2: [server] server-url: must not end in /"},
	{"[server]\nserver-url = https://c.example/x\n", WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:2: [server] server-url: must not have a path: the server answers at its "
	 "root"},
	{"[server]\nserver-url = https://c.example?a=b\n", WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:2: [server] server-url: must not have a user, a query or a fragment"},
	{"[server]\nserver-url = ftp://c.example\n", WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:2: [server] server-url: must be an https:// or http:// URL"},
	{"[server]\nserver-url = c.example\n", WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:2: [server] server-url: must be a URL such as https://ctl.example.com"},
	{"[server]\nserver-url =\n", WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:2: [server] server-url: must be a URL such as https://ctl.example.com"},
	{SRV NET "[oidc]\nissuer = http://id.example\n", WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:7: [oidc] issuer: must be an https:// URL (http:// only on a loopback "
	 "address)"},
	{SRV NET "[oidc]\nissuer = http://localhost:5556\n", WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:7: [oidc] issuer: must be an https:// URL (http:// only on a loopback "
	 "address)"},
	{SRV NET "[oidc]\nissuer = https://id.example#x\n", WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:7: [oidc] issuer: must not have a user, a query or a fragment"},
	/* invalid: values */
	{SRV "insecure-http = yes\n", WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:3: [server] insecure-http: must be true or false"},
	{SRV "tls-cert =\n", WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:3: [server] tls-cert: must name a file"},
	{SRV "[database]\nurl = mysql://db/x\n", WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:4: [database] url: must be sqlite:///path, sqlite:path, a path, "
	 "postgresql://… or postgres:conninfo"},
	{SRV "[database]\nurl = sqlite://rel.db\n", WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:4: [database] url: sqlite:// needs an absolute path (sqlite:///path); write "
	 "sqlite:path for a relative one"},
	{SRV "[database]\nurl = sqlite:\n", WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:4: [database] url: names no database file"},
	{SRV NET OIDC_START "client-secret = s\npreset = azure\n", WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:10: [oidc] preset: must be google or generic"},
	{SRV NET OIDC_START "client-secret = s\nscopes = email;profile\n",
	 WR_CONTROL_CONFIG_ERROR_INVALID, "test.conf:10: [oidc] scopes: must include openid"},
	{SRV NET OIDC_START "client-secret = s\nscopes = openid;;email\n",
	 WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:10: [oidc] scopes: an empty entry in the list"},
	{SRV NET OIDC_START "client-secret = s\nscopes = openid;a\"b\n",
	 WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:10: [oidc] scopes: “a\"b” is not a scope name"},
	{SRV NET OIDC_START "client-secret = s\nalgorithms = HS256\n",
	 WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:10: [oidc] algorithms: “HS256” is not RS256 or ES256"},
	{SRV NET OIDC_START "client-secret = s\nalgorithms =\n", WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:10: [oidc] algorithms: must name RS256, ES256 or both"},
	{SRV NET OIDC_START "client-secret = s\nallowed-domains = Example.com\n",
	 WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:10: [oidc] allowed-domains: “Example.com” is not a lowercase DNS name"},
	{SRV NET OIDC_START "client-secret = s\nallowed-emails = alice\n",
	 WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:10: [oidc] allowed-emails: “alice” is not an address such as "
	 "alice@example.com"},
	{SRV NET OIDC_START "client-secret = s\nclock-skew = 11m\n",
	 WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:10: [oidc] clock-skew: must be from 0s to 600s"},
	{SRV NET OIDC_START "client-secret = \n", WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:9: [oidc] client-secret: must not be empty"},
	{SRV NET OIDC_START "client-secret = top\\qsecret\n", WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:9: [oidc] client-secret: a bad escape sequence"},
	{SRV NET "[oidc]\nissuer = https://id.example\nclient-id =\nclient-secret = s\n",
	 WR_CONTROL_CONFIG_ERROR_INVALID, "test.conf:8: [oidc] client-id: required with [oidc]"},
	{SRV "[network]\nipv4-prefix = 10.0.0.0/7\n", WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:4: [network] ipv4-prefix: IPv4 prefix 10.0.0.0/7 must be /8 to /30"},
	{SRV "[network]\nipv4-prefix = 100.64.0.1/10\n", WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:4: [network] ipv4-prefix: IPv4 prefix 100.64.0.1/10 has host bits set"},
	{SRV "[network]\nipv6-prefix = 2001:db8::/48\n", WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:4: [network] ipv6-prefix: IPv6 prefix 2001:db8::/48 is not a unique local "
	 "(fc00::/7) prefix"},
	{SRV "[network]\nderp-map = /d\ndns-domain = Tailnet.example\n",
	 WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:5: [network] dns-domain: must be a lowercase DNS name without a trailing "
	 "dot"},
	{SRV "[network]\nderp-map = /d\ndns-domain = t.example.\n", WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:5: [network] dns-domain: must be a lowercase DNS name without a trailing "
	 "dot"},
	{SRV "[network]\nderp-map = /d\ndns-domain = -t.example\n", WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:5: [network] dns-domain: must be a lowercase DNS name without a trailing "
	 "dot"},
	{SRV NET "magic-dns = 1\n", WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:6: [network] magic-dns: must be true or false"},
	{SRV NET "nameservers = 192.0.2.53;dns.example\n", WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:6: [network] nameservers: “dns.example” is not an IP address"},
	{SRV NET "node-key-expiry = 180 days\n", WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:6: [network] node-key-expiry: must be a duration such as 90s, 15m, 12h or "
	 "180d"},
	{SRV NET "[limits]\nregister-per-minute = 0\n", WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:7: [limits] register-per-minute: must be a whole number from 1 to 60000"},
	{SRV NET "[limits]\nregister-burst = -1\n", WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:7: [limits] register-burst: must be a whole number from 1 to 10000"},
	{SRV NET "[limits]\nauth-page-per-minute = 1e3\n", WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:7: [limits] auth-page-per-minute: must be a whole number from 1 to 60000"},
	{SRV NET "[limits]\nauth-page-burst = 99999999999999999999\n",
	 WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:7: [limits] auth-page-burst: must be a whole number from 1 to 10000"},
	{SRV NET "[limits]\nmax-streams = 10000001\n", WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:7: [limits] max-streams: must be a whole number from 1 to 10000000"},
	{SRV NET "[limits]\nlogin-timeout = 30s\n", WR_CONTROL_CONFIG_ERROR_INVALID,
	 "test.conf:7: [limits] login-timeout: must be from 60s to 86400s"},
	/* conflicts */
	{"[server]\nlisten = 0.0.0.0:80\nserver-url = http://c.example\n" NET,
	 WR_CONTROL_CONFIG_ERROR_CONFLICT,
	 "test.conf:2: [server] listen: not a loopback address: set tls-cert and tls-key, or "
	 "insecure-http = true behind a TLS proxy"},
	{"[server]\nlisten = [::]:80\nserver-url = http://c.example\ninsecure-http = false\n" NET,
	 WR_CONTROL_CONFIG_ERROR_CONFLICT,
	 "test.conf:2: [server] listen: not a loopback address: set tls-cert and tls-key, or "
	 "insecure-http = true behind a TLS proxy"},
	{SRV "tls-cert = /c.pem\n", WR_CONTROL_CONFIG_ERROR_CONFLICT,
	 "test.conf:3: [server] tls-cert: needs tls-key as well"},
	{SRV "tls-key = /k.pem\n", WR_CONTROL_CONFIG_ERROR_CONFLICT,
	 "test.conf:3: [server] tls-key: needs tls-cert as well"},
	{SRV "tls-key = /k.pem\ntls-cert = /c.pem\ninsecure-http = true\n",
	 WR_CONTROL_CONFIG_ERROR_CONFLICT,
	 "test.conf:5: [server] insecure-http: contradicts tls-cert and tls-key"},
	{SRV NET OIDC_START "client-secret = s\nclient-secret-file = /s\n",
	 WR_CONTROL_CONFIG_ERROR_CONFLICT,
	 "test.conf:10: [oidc] client-secret-file: set only one of client-secret and "
	 "client-secret-file"},
};

static void
test_bad(void)
{
	for (gsize i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
		const BadCase *bc = &bad_cases[i];
		g_autoptr(GError) error = NULL;
		g_autoptr(WrControlConfig) c = NULL;
		/* the NUL case is one byte longer than strlen says */
		gsize len = strlen(bc->text) + (bc->message == NULL ? 1 : 0);

		g_test_message("case %" G_GSIZE_FORMAT ": %s", i, bc->message);
		c = wr_control_config_load_data(bc->text, len, "test.conf", &error);
		g_assert_null(c);
		g_assert_error(error, WR_CONTROL_CONFIG_ERROR, (gint) bc->code);
		if (bc->message != NULL)
			g_assert_cmpstr(error->message, ==, bc->message);
		/* no inline secret ever shows */
		g_assert_null(strstr(error->message, "top"));
	}
}

typedef struct {
	const char *text;
	gboolean ok;
	gint64 seconds;
} DurationCase;

static void
test_duration(void)
{
	static const DurationCase cases[] = {
		{"0", TRUE, 0},
		{"0s", TRUE, 0},
		{"90", TRUE, 90},
		{"90s", TRUE, 90},
		{"15m", TRUE, 900},
		{"12h", TRUE, 43200},
		{"180d", TRUE, 15552000},
		{"007m", TRUE, 420},
		{"36500d", TRUE, 3153600000},
		{"3153600000", TRUE, 3153600000},
		{"36501d", FALSE, 0},
		{"3153600001", FALSE, 0},
		{"876001h", FALSE, 0},
		{"99999999999999999999999d", FALSE, 0},
		{"", FALSE, 0},
		{"s", FALSE, 0},
		{"-5s", FALSE, 0},
		{"+5s", FALSE, 0},
		{" 5s", FALSE, 0},
		{"5s ", FALSE, 0},
		{"5 s", FALSE, 0},
		{"5ms", FALSE, 0},
		{"1h30m", FALSE, 0},
		{"5S", FALSE, 0},
		{"1w", FALSE, 0},
		{"1.5h", FALSE, 0},
		{"0x10", FALSE, 0},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		gint64 out = -1;
		gboolean ok = wr_control_parse_duration(cases[i].text, &out);

		g_test_message("duration “%s”", cases[i].text);
		g_assert_cmpint(ok, ==, cases[i].ok);
		g_assert_cmpint(out, ==, cases[i].ok ? cases[i].seconds : -1);
	}
	g_assert_false(wr_control_parse_duration(NULL, NULL));
}

/* the limits' defaults make rate limiters the engine accepts */
static void
test_limits_fit_ratelimiter(void)
{
	g_autoptr(WrControlConfig) c = load_ok(MINIMAL "[limits]\nregister-per-minute = 60000\n"
						       "register-burst = 10000\n");
	WrRatelimiter *rl = wr_ratelimiter_new_full(c->register_per_minute, c->register_burst,
						    WR_RATELIMITER_MAX_ENTRIES);

	g_assert_nonnull(rl);
	wr_ratelimiter_free(rl);
	rl = wr_ratelimiter_new_full(c->auth_per_minute, c->auth_burst, 1);
	g_assert_nonnull(rl);
	wr_ratelimiter_free(rl);
}

/* the shipped examples load, so they never rot */
static void
test_examples(void)
{
	TmpDir t;
	g_autofree char *google_src = NULL;
	g_autofree char *local_src = NULL;
	g_autofree char *google_text = NULL;
	g_autofree char *secret = NULL;
	g_autofree char *google = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(WrControlConfig) c = NULL;
	g_autoptr(WrControlConfig) l = NULL;

	google_src = g_test_build_filename(G_TEST_DIST, "..", "data", "warren-control-google.conf",
					   NULL);
	local_src =
		g_test_build_filename(G_TEST_DIST, "..", "data", "warren-control-local.conf", NULL);

	/* the Google one, beside the secret file it names */
	tmp_dir_init(&t);
	g_assert_true(g_file_get_contents(google_src, &google_text, NULL, &error));
	g_assert_no_error(error);
	google = tmp_write(&t, "control.conf", google_text, 0644);
	secret = tmp_write(&t, "client-secret", "GOCSPX-example\n", 0600);
	c = wr_control_config_load_file(google, &error);
	g_assert_no_error(error);
	g_assert_nonnull(c);
	g_assert_true(c->oidc_enabled);
	g_assert_cmpint(c->oidc_preset, ==, WR_CONTROL_OIDC_GOOGLE);
	g_assert_cmpstr(c->oidc_client_secret, ==, "GOCSPX-example");
	tmp_dir_clear(&t);

	l = wr_control_config_load_file(local_src, &error);
	g_assert_no_error(error);
	g_assert_nonnull(l);
	g_assert_true(g_inet_address_get_is_loopback(
		g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(l->listen))));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_assert_true(wr_crypto_init());

	g_test_add_func("/warren/control-config/minimal", test_minimal);
	g_test_add_func("/warren/control-config/full", test_full);
	g_test_add_func("/warren/control-config/missing-file", test_missing_file);
	g_test_add_func("/warren/control-config/oidc", test_oidc);
	g_test_add_func("/warren/control-config/listen", test_listen);
	g_test_add_func("/warren/control-config/layout", test_layout);
	g_test_add_func("/warren/control-config/relative-data", test_relative_data);
	g_test_add_func("/warren/control-config/bad", test_bad);
	g_test_add_func("/warren/control-config/duration", test_duration);
	g_test_add_func("/warren/control-config/limits-fit-ratelimiter",
			test_limits_fit_ratelimiter);
	g_test_add_func("/warren/control-config/examples", test_examples);
	return g_test_run();
}
