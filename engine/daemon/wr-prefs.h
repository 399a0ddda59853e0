/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * warrend's preferences: what the user chose (through D-Bus, the tray or the CLI) and what
 * must survive a restart.  Stored as prefs.conf in the state directory (wr-state), a GKeyFile
 * with one group:
 *
 *   [prefs]
 *   control-url = https://ctl.example.com
 *   want-running = true
 *   exit-node = n123abc
 *   exit-node-allow-lan = false
 *   advertise-routes = 192.0.2.0/24;2001:db8::/48;
 *   advertise-exit-node = false
 *   accept-routes = false
 *   hostname = laptop
 *
 * Every key is optional (absent = the default below).  Parsing is strict, because the file is
 * read at every start and a silent fallback would hide a mistake: an unknown group or key, a
 * key set twice, a bad value, a NUL byte, invalid UTF-8 or a file over WR_PREFS_MAX_SIZE is
 * refused with "FILE:LINE: [group] key: message" (WR_PREFS_ERROR).  The same checks guard
 * the D-Bus setters (wr_prefs_check_*), so that what is saved can always be read back.
 *
 * Pure: no I/O; wr_prefs_parse takes bytes, wr_prefs_to_data gives bytes.
 */
#pragma once

#include <glib.h>

#define WR_PREFS_ERROR (wr_prefs_error_quark())
GQuark
wr_prefs_error_quark(void);

typedef enum {
	WR_PREFS_ERROR_SYNTAX,	 /* not a key file, or not UTF-8, or a NUL byte */
	WR_PREFS_ERROR_UNKNOWN,	 /* a group or key this version does not know */
	WR_PREFS_ERROR_INVALID,	 /* a value of the wrong form or out of range */
	WR_PREFS_ERROR_CONFLICT, /* a key set twice */
	WR_PREFS_ERROR_TOO_LARGE /* the file is over WR_PREFS_MAX_SIZE */
} WrPrefsError;

/* limits: a prefs file is written by warrend, small by nature */
#define WR_PREFS_MAX_SIZE      (64 * 1024)
#define WR_PREFS_URL_MAX       2048
#define WR_PREFS_EXIT_NODE_MAX 256
#define WR_PREFS_HOSTNAME_MAX  63 /* one DNS label */
#define WR_PREFS_MAX_ROUTES    256

typedef struct {
	char *control_url;	      /* "" = none configured (default) */
	gboolean want_running;	      /* start the tunnel at start-up (default false) */
	char *exit_node;	      /* the exit node's peer id, "" = none (default) */
	gboolean exit_node_allow_lan; /* default false */
	char **advertise_routes;      /* normalized CIDR prefixes, never NULL (default empty) */
	gboolean advertise_exit_node; /* default false */
	gboolean accept_routes;	      /* default false */
	char *hostname;		      /* "" = the system's host name (default) */
} WrPrefs;

/* the defaults */
WrPrefs *
wr_prefs_new(void);

WrPrefs *
wr_prefs_copy(const WrPrefs *prefs);

void
wr_prefs_free(WrPrefs *prefs);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrPrefs, wr_prefs_free)

gboolean
wr_prefs_equal(const WrPrefs *a, const WrPrefs *b);

/* parses a prefs file; origin names it in the messages ("/var/lib/warren/prefs.conf") */
WrPrefs *
wr_prefs_parse(const char *data, gsize len, const char *origin, GError **error);

/* the file text, which wr_prefs_parse reads back to an equal WrPrefs; NUL-terminated */
char *
wr_prefs_to_data(const WrPrefs *prefs, gsize *out_len);

/* the checks of each value, for the D-Bus setters as much as for the parser; on failure
 * error says what is wrong with the value (no file, no line, no key name) */

/* an absolute http:// or https:// URL with a host, no user info, query or fragment; ""
 * (none) is allowed; out_normalized (may be NULL) gets it without a trailing '/' */
gboolean
wr_prefs_check_control_url(const char *url, char **out_normalized, GError **error);

/* "" or a peer id: printable ASCII without spaces, at most WR_PREFS_EXIT_NODE_MAX bytes */
gboolean
wr_prefs_check_exit_node(const char *id, GError **error);

/* "" or one DNS label: letters, digits and '-', not at either end, at most 63 */
gboolean
wr_prefs_check_hostname(const char *hostname, GError **error);

/* an IPv4 or IPv6 prefix in CIDR form with no host bits set, and not a default route (that
 * is advertise-exit-node); out_normalized (may be NULL) gets its canonical text */
gboolean
wr_prefs_check_route(const char *route, char **out_normalized, GError **error);

/*
 * The SetPrefs dictionary of the D-Bus API (a{sv}: exit-node-allow-lan b, accept-routes b,
 * hostname s, advertise-routes as, advertise-exit-node b) applied to a copy of base.  Every key
 * is checked before the copy is returned: an unknown key (UNKNOWN), a key given twice
 * (CONFLICT), a wrong type or a bad value (INVALID) refuses the whole dictionary with a message
 * naming the key, and base is never touched.  Keys absent stay as in base.
 */
WrPrefs *
wr_prefs_apply_dict(const WrPrefs *base, GVariant *dict, GError **error);
