/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The bodies of the admin API's requests (docs/control-admin.md), read and checked without the
 * server: node names, tags, routes and auth key requests.  Every refusal is G_IO_ERROR_INVALID_DATA
 * with a message naming the field or the value, which the admin socket answers as 400.  What
 * depends on the tailnet (a name taken, a route not advertised, an unknown user) is the
 * server's to check.
 */
#pragma once

#include <glib.h>

#include <json-glib/json-glib.h>

/* a node name: one DNS label */
#define WR_CONTROL_ADMIN_NAME_MAX 63
/* a tag, "tag:" and its name, at most; tags on one node or key at most */
#define WR_CONTROL_ADMIN_TAG_MAX  128
#define WR_CONTROL_ADMIN_MAX_TAGS 64
/* entries of any list in a request */
#define WR_CONTROL_ADMIN_MAX_LIST 256

/* a JSON object body (not empty, not another JSON value) */
JsonObject *
wr_control_admin_parse_object(const char *data, gsize len, GError **error);

/* an optional list of strings member; absent or null is an empty list unless required */
GStrv
wr_control_admin_strv_member(JsonObject *obj, const char *name, gboolean required, GError **error);

/* ASCII folded to lower case, then 1 to 63 of a-z 0-9 '-', not at either end */
char *
wr_control_admin_node_name(const char *text, GError **error);

/* each "tag:<letters, digits, - and _>"; duplicates dropped, order kept */
GStrv
wr_control_admin_tags(const char *const *tags, GError **error);

/* each a CIDR prefix (with its /len), masked and formatted; duplicates dropped */
GStrv
wr_control_admin_routes(const char *const *routes, GError **error);

/* POST /v1/nodes/<id>/rename {"name"}: the name as wr_control_admin_node_name gives it */
char *
wr_control_admin_rename_parse(const char *data, gsize len, GError **error);
/* POST /v1/nodes/<id>/tags {"tags":[…]} (required, may be empty) */
GStrv
wr_control_admin_tags_parse(const char *data, gsize len, GError **error);
/* POST /v1/nodes/<id>/routes {"approve":[…]} (required, may be empty) */
GStrv
wr_control_admin_routes_parse(const char *data, gsize len, GError **error);

/* POST /v1/authkeys */
typedef struct {
	gboolean reusable;
	gboolean ephemeral;
	char **tags;	  /* checked; never NULL */
	gint64 expiry;	  /* unix s, 0 = never */
	gint64 user_id;	  /* "user": an id; 0 when absent or a login name */
	char *user_login; /* "user": a login name; NULL when absent or an id */
} WrControlAdminAuthkey;

/*
 * {"reusable", "ephemeral", "tags", "user": id | "login", "expiry": unix | "expiration":
 * seconds from now}; refuses both expiry forms, an expiry not after now or over 100 years
 * ahead, and a key with neither user nor tags
 */
WrControlAdminAuthkey *
wr_control_admin_authkey_parse(const char *data, gsize len, gint64 now, GError **error);
void
wr_control_admin_authkey_free(WrControlAdminAuthkey *req);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrControlAdminAuthkey, wr_control_admin_authkey_free)
