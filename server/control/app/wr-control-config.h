/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * warren-control's configuration: a GKeyFile (`warren-control serve --config FILE`), read and
 * checked whole before anything starts.  Every refusal names the file, the line, the group and
 * the key ("/etc/warren/control.conf:12: [oidc] issuer: must be an https:// URL"); unknown groups
 * and keys are refused too, so that a typo never silently falls back to a default.  The keys,
 * their defaults and their meaning are documented in docs/control-config.md and in the example
 * data/warren-control-google.conf.
 */
#pragma once

#include <glib.h>

#include <gio/gio.h>

#define WR_CONTROL_CONFIG_ERROR (wr_control_config_error_quark())
GQuark
wr_control_config_error_quark(void);

typedef enum {
	WR_CONTROL_CONFIG_ERROR_IO,	  /* the file cannot be read */
	WR_CONTROL_CONFIG_ERROR_SYNTAX,	  /* not a key file */
	WR_CONTROL_CONFIG_ERROR_UNKNOWN,  /* a group or key this version does not know */
	WR_CONTROL_CONFIG_ERROR_MISSING,  /* a required key is absent */
	WR_CONTROL_CONFIG_ERROR_INVALID,  /* a value of the wrong form or out of range */
	WR_CONTROL_CONFIG_ERROR_CONFLICT, /* keys that contradict each other */
} WrControlConfigError;

typedef enum {
	WR_CONTROL_OIDC_GENERIC, /* any OpenID provider: the issuer as discovery names it */
	WR_CONTROL_OIDC_GOOGLE,	 /* Google: both issuer spellings, email_verified, hd */
} WrControlOidcPreset;

/* the configuration; every string is owned, every list NULL-terminated (empty, never NULL) */
typedef struct {
	char *path; /* the file it came from ("<data>" for wr_control_config_load_data) */

	/* [server] */
	GSocketAddress *listen; /* listen = 127.0.0.1:8080 | [::]:443 (default 127.0.0.1:8080) */
	char *server_url;	/* server-url = https://ctl.example.com (required; no trailing /) */
	char *tls_cert;		/* tls-cert = PEM file, NULL for plain HTTP */
	char *tls_key;		/* tls-key = PEM file, with tls-cert */
	gboolean insecure_http; /* insecure-http = true: plain HTTP on a non-loopback address */
	char *private_key_file; /* private-key-file = the server's X25519 key (0600; made on
				 * first start); default <state-dir>/server.key */
	char *state_dir;	/* state-dir = /var/lib/warren-control */
	char *admin_socket;	/* admin-socket = /run/warren-control/admin.sock */
	GSocketAddress *metrics; /* metrics-listen = where /metrics is also served; NULL = only
				  * the public listener, and there only to loopback peers */

	/* [database] */
	char *database; /* url = sqlite:///path | postgresql://...; default
			 * sqlite://<state-dir>/control.sqlite */

	/* [oidc]: absent group = no interactive sign-in (pre-auth keys only) */
	gboolean oidc_enabled;
	WrControlOidcPreset oidc_preset; /* preset = google | generic (default generic, or google
					  * when issuer is Google's) */
	char *oidc_issuer;		 /* issuer = https://accounts.google.com */
	char *oidc_client_id;		 /* client-id = */
	char *oidc_client_secret;	 /* client-secret = or client-secret-file = (one of them);
					  * wiped by wr_control_config_free */
	char **oidc_scopes;		 /* scopes = openid;email;profile (openid required) */
	char **oidc_allowed_domains;	 /* allowed-domains = example.com;... (Google: hd) */
	char **oidc_allowed_emails;	 /* allowed-emails = alice@example.com;... */
	char **oidc_allowed_groups;	 /* allowed-groups = admins;... ("groups" claim) */
	guint oidc_algs;		 /* algorithms = RS256;ES256 (WrJwsAlg mask) */
	gint64 oidc_skew;		 /* clock-skew = 60s */

	/* [network] */
	char *ipv4_prefix;	  /* ipv4-prefix = 100.64.0.0/10 */
	char *ipv6_prefix;	  /* ipv6-prefix = fd7a:115c:a1e0::/48 */
	char *dns_domain;	  /* dns-domain = tailnet.example (required) */
	gboolean magic_dns;	  /* magic-dns = true */
	char **nameservers;	  /* nameservers = 192.0.2.53;... (IP addresses) */
	char *derp_map_file;	  /* derp-map = JSON file (derp-disco-stun.md §6); required */
	gint64 node_key_expiry;	  /* node-key-expiry = 180d (seconds; 0 = never) */
	gboolean collect_flows;	  /* collect-flows = false */
	gint64 ephemeral_timeout; /* ephemeral-timeout = 5m (an ephemeral node offline this long
				   * is deleted) */

	/* [limits] */
	guint register_per_minute; /* register-per-minute = 60 (per source IP) */
	guint register_burst;	   /* register-burst = 20 */
	guint auth_per_minute;	   /* auth-page-per-minute = 30 (/a/ and /oidc/ pages, per IP) */
	guint auth_burst;	   /* auth-page-burst = 10 */
	guint max_streams;	   /* max-streams = 100000 (map streams held at once) */
	gint64 login_timeout;	   /* login-timeout = 10m (an auth URL's life) */
	gint64 keepalive_interval; /* keepalive-interval = 60s (map stream keep-alives) */
} WrControlConfig;

/* reads and checks a whole file; NULL with an error naming file:line: [group] key */
WrControlConfig *
wr_control_config_load_file(const char *path, GError **error);

/* the same from memory; origin names it in errors */
WrControlConfig *
wr_control_config_load_data(const char *data, gsize len, const char *origin, GError **error);

void
wr_control_config_free(WrControlConfig *config);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrControlConfig, wr_control_config_free)

/* "90s", "15m", "12h", "180d", "0" (a bare number is seconds) to seconds; FALSE if malformed
 * or over 100 years */
gboolean
wr_control_parse_duration(const char *text, gint64 *out);
