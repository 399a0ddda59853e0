/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrPolicy"

#include "config.h"

#include <string.h>

#include <gio/gio.h>

#include "wr-hujson.h"
#include "wr-json-check.h"
#include "wr-policy.h"

#define PATH_MAX_STEPS 8
#define PORT_MAX       65535
#define IPV4_BITS      32
#define IPV6_BITS      128

#define PREFIX_GROUP	   "group:"
#define PREFIX_TAG	   "tag:"
#define PREFIX_AUTOGROUP   "autogroup:"
#define AUTOGROUP_SELF	   "autogroup:self"
#define AUTOGROUP_MEMBER   "autogroup:member"
#define AUTOGROUP_TAGGED   "autogroup:tagged"
#define AUTOGROUP_INTERNET "autogroup:internet"

typedef enum {
	SEL_ALL,
	SEL_USER,
	SEL_GROUP,
	SEL_TAG,
	SEL_CIDR,
	SEL_SELF,
	SEL_MEMBER,
	SEL_TAGGED,
	SEL_INTERNET,
} SelKind;

typedef struct {
	SelKind kind;
	gchar *name; /* SEL_USER, SEL_TAG */
	guint group; /* SEL_GROUP: index into groups */
	WrCidr cidr; /* SEL_CIDR, masked */
} Selector;

typedef struct {
	guint16 first;
	guint16 last;
} PortRange;

typedef struct {
	Selector sel;
	PortRange ranges[WR_POLICY_MAX_PORT_RANGES];
	guint n_ranges;
} Dst;

typedef struct {
	GArray *src; /* Selector */
	GArray *dst; /* Dst */
	guint protos;
} Rule;

typedef struct {
	gchar *name;
	GHashTable *members; /* user logins, ASCII lower-cased */
} Group;

typedef struct {
	gchar *name;
	WrCidr cidr;
} Host;

typedef struct {
	gchar *tag;
	GArray *owners; /* Selector */
} TagOwner;

typedef struct {
	WrCidr prefix;
	GArray *owners; /* Selector */
} AutoRoute;

struct _WrPolicy {
	bool allow_all;
	/* name -> index + 1 into groups, hosts, tag_owners */
	GHashTable *group_index;
	GHashTable *host_index;
	GHashTable *tag_index;
	GArray *groups;	     /* Group */
	GArray *hosts;	     /* Host */
	GArray *tag_owners;  /* TagOwner */
	GArray *rules;	     /* Rule */
	GArray *auto_routes; /* AutoRoute */
	GArray *exit_owners; /* Selector */
};

/* where a value sits in the document, for messages */
typedef struct {
	WrHujsonStep steps[PATH_MAX_STEPS];
	guint n;
} Path;

typedef struct {
	const gchar *data; /* the original text */
	const gchar *standard;
	gsize len;
	WrPolicy *policy;
} Ctx;

/* what a selector may be, by where it appears */
typedef enum {
	WHERE_SRC,
	WHERE_DST,
	WHERE_OWNER, /* tagOwners, autoApprovers: users, groups, tags */
} Where;

static void
selector_clear(Selector *sel)
{
	g_clear_pointer(&sel->name, g_free);
}

static void
dst_clear(Dst *dst)
{
	selector_clear(&dst->sel);
}

static void
rule_clear(Rule *rule)
{
	g_clear_pointer(&rule->src, g_array_unref);
	g_clear_pointer(&rule->dst, g_array_unref);
}

static void
group_clear(Group *group)
{
	g_clear_pointer(&group->name, g_free);
	g_clear_pointer(&group->members, g_hash_table_unref);
}

static void
host_clear(Host *host)
{
	g_clear_pointer(&host->name, g_free);
}

static void
tag_owner_clear(TagOwner *owner)
{
	g_clear_pointer(&owner->tag, g_free);
	g_clear_pointer(&owner->owners, g_array_unref);
}

static void
auto_route_clear(AutoRoute *route)
{
	g_clear_pointer(&route->owners, g_array_unref);
}

static GArray *
selector_array_new(void)
{
	GArray *array = g_array_new(FALSE, TRUE, sizeof(Selector));

	g_array_set_clear_func(array, (GDestroyNotify) selector_clear);
	return array;
}

static WrPolicy *
policy_new(void)
{
	WrPolicy *policy = g_new0(WrPolicy, 1);

	policy->groups = g_array_new(FALSE, TRUE, sizeof(Group));
	g_array_set_clear_func(policy->groups, (GDestroyNotify) group_clear);
	policy->hosts = g_array_new(FALSE, TRUE, sizeof(Host));
	g_array_set_clear_func(policy->hosts, (GDestroyNotify) host_clear);
	policy->tag_owners = g_array_new(FALSE, TRUE, sizeof(TagOwner));
	g_array_set_clear_func(policy->tag_owners, (GDestroyNotify) tag_owner_clear);
	policy->rules = g_array_new(FALSE, TRUE, sizeof(Rule));
	g_array_set_clear_func(policy->rules, (GDestroyNotify) rule_clear);
	policy->auto_routes = g_array_new(FALSE, TRUE, sizeof(AutoRoute));
	g_array_set_clear_func(policy->auto_routes, (GDestroyNotify) auto_route_clear);
	policy->exit_owners = selector_array_new();
	policy->group_index = g_hash_table_new(g_str_hash, g_str_equal);
	policy->host_index = g_hash_table_new(g_str_hash, g_str_equal);
	policy->tag_index = g_hash_table_new(g_str_hash, g_str_equal);
	return policy;
}

void
wr_policy_free(WrPolicy *policy)
{
	if (policy == NULL)
		return;
	/* the keys belong to the arrays */
	g_hash_table_unref(policy->group_index);
	g_hash_table_unref(policy->host_index);
	g_hash_table_unref(policy->tag_index);
	g_array_unref(policy->groups);
	g_array_unref(policy->hosts);
	g_array_unref(policy->tag_owners);
	g_array_unref(policy->rules);
	g_array_unref(policy->auto_routes);
	g_array_unref(policy->exit_owners);
	g_free(policy);
}

bool
wr_policy_allows_all(const WrPolicy *policy)
{
	return policy == NULL || policy->allow_all;
}

/* paths and errors */

static void
path_push_key(Path *path, const gchar *key)
{
	g_assert(path->n < PATH_MAX_STEPS);
	path->steps[path->n].key = key;
	path->steps[path->n].index = 0;
	path->n++;
}

static void
path_push_index(Path *path, guint index)
{
	g_assert(path->n < PATH_MAX_STEPS);
	path->steps[path->n].key = NULL;
	path->steps[path->n].index = index;
	path->n++;
}

static void
path_pop(Path *path)
{
	path->n--;
}

static bool
is_identifier(const gchar *key)
{
	if (key[0] == '\0' || g_ascii_isdigit(key[0]))
		return false;
	for (const gchar *p = key; *p != '\0'; p++) {
		if (!g_ascii_isalnum(*p) && *p != '_')
			return false;
	}
	return true;
}

/* acls[2].dst[0], groups."group:eng"[1] */
static gchar *
path_format(const Path *path)
{
	GString *out = g_string_new(NULL);

	for (guint i = 0; i < path->n; i++) {
		const WrHujsonStep *step = &path->steps[i];

		if (step->key == NULL) {
			g_string_append_printf(out, "[%u]", step->index);
			continue;
		}
		if (i > 0)
			g_string_append_c(out, '.');
		if (is_identifier(step->key)) {
			g_string_append(out, step->key);
		} else {
			g_autofree gchar *escaped = g_strescape(step->key, NULL);

			g_string_append_printf(out, "\"%s\"", escaped);
		}
	}
	if (out->len == 0)
		g_string_append(out, "policy");
	return g_string_free(out, FALSE);
}

static gboolean
fail(Ctx *ctx, const Path *path, GError **error, const gchar *format, ...) G_GNUC_PRINTF(4, 5);

static gboolean
fail(Ctx *ctx, const Path *path, GError **error, const gchar *format, ...)
{
	va_list args;
	g_autofree gchar *msg = NULL;
	g_autofree gchar *where = path_format(path);
	gsize offset = 0;
	guint line;
	guint col;

	va_start(args, format);
	msg = g_strdup_vprintf(format, args);
	va_end(args);
	/* the value itself, or failing that the nearest container that can be found */
	for (guint n = path->n + 1; n-- > 0;) {
		if (wr_hujson_locate(ctx->standard, ctx->len, path->steps, n, &offset))
			break;
	}
	wr_hujson_line_col(ctx->data, ctx->len, offset, &line, &col);
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%u:%u: %s: %s", line, col, where,
		    msg);
	return FALSE;
}

/* checked accessors */

static gboolean
get_object(Ctx *ctx, const Path *path, JsonNode *node, JsonObject **out, GError **error)
{
	if (!JSON_NODE_HOLDS_OBJECT(node))
		return fail(ctx, path, error, "want an object, not %s",
			    wr_json_node_type_name(node));
	*out = json_node_get_object(node);
	return TRUE;
}

static gboolean
get_array(Ctx *ctx, const Path *path, JsonNode *node, guint max, JsonArray **out, GError **error)
{
	JsonArray *array;

	if (!JSON_NODE_HOLDS_ARRAY(node))
		return fail(ctx, path, error, "want an array, not %s",
			    wr_json_node_type_name(node));
	array = json_node_get_array(node);
	if (json_array_get_length(array) > max)
		return fail(ctx, path, error, "%u entries, more than the %u allowed",
			    json_array_get_length(array), max);
	*out = array;
	return TRUE;
}

static gboolean
get_string(Ctx *ctx, const Path *path, JsonNode *node, const gchar **out, GError **error)
{
	const gchar *text;

	if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING)
		return fail(ctx, path, error, "want a string, not %s",
			    wr_json_node_type_name(node));
	text = json_node_get_string(node);
	if (text[0] == '\0')
		return fail(ctx, path, error, "empty string");
	if (strlen(text) > WR_POLICY_MAX_STRING)
		return fail(ctx, path, error, "longer than %u bytes", (guint) WR_POLICY_MAX_STRING);
	for (const gchar *p = text; *p != '\0'; p++) {
		if (g_ascii_iscntrl(*p) || *p == ' ')
			return fail(ctx, path, error, "\"%s\" holds a space or control character",
				    text);
	}
	*out = text;
	return TRUE;
}

/* the lookups the selectors resolve through */

static gint
find_group(const WrPolicy *policy, const gchar *name)
{
	return GPOINTER_TO_INT(g_hash_table_lookup(policy->group_index, name)) - 1;
}

static const Host *
find_host(const WrPolicy *policy, const gchar *name)
{
	guint index = GPOINTER_TO_UINT(g_hash_table_lookup(policy->host_index, name));

	return index > 0 ? &g_array_index(policy->hosts, Host, index - 1) : NULL;
}

static const TagOwner *
find_tag(const WrPolicy *policy, const gchar *tag)
{
	guint index = GPOINTER_TO_UINT(g_hash_table_lookup(policy->tag_index, tag));

	return index > 0 ? &g_array_index(policy->tag_owners, TagOwner, index - 1) : NULL;
}

static bool
is_user(const gchar *text)
{
	return strchr(text, '@') != NULL && strchr(text, ':') == NULL && strchr(text, '/') == NULL;
}

/* a name after "tag:" or "group:": letters, digits, '-', '_', '.' */
static bool
valid_name_after(const gchar *text, const gchar *prefix)
{
	const gchar *name = text + strlen(prefix);

	if (!g_str_has_prefix(text, prefix) || name[0] == '\0')
		return false;
	for (const gchar *p = name; *p != '\0'; p++) {
		if (!g_ascii_isalnum(*p) && *p != '-' && *p != '_' && *p != '.')
			return false;
	}
	return true;
}

/* tags must be declared in tagOwners before they may be used (tagOwners is read first) */
static gboolean
parse_selector(Ctx *ctx, const Path *path, const gchar *text, Where where, Selector *out,
	       GError **error)
{
	const WrPolicy *policy = ctx->policy;
	Selector sel = {0};

	if (g_strcmp0(text, "*") == 0) {
		if (where == WHERE_OWNER)
			return fail(ctx, path, error, "\"*\" cannot own anything");
		sel.kind = SEL_ALL;
	} else if (g_str_has_prefix(text, PREFIX_AUTOGROUP)) {
		if (g_strcmp0(text, AUTOGROUP_SELF) == 0 && where == WHERE_DST)
			sel.kind = SEL_SELF;
		else if (g_strcmp0(text, AUTOGROUP_INTERNET) == 0 && where == WHERE_DST)
			sel.kind = SEL_INTERNET;
		else if (g_strcmp0(text, AUTOGROUP_SELF) == 0 ||
			 g_strcmp0(text, AUTOGROUP_INTERNET) == 0)
			return fail(ctx, path, error, "%s is only allowed in dst", text);
		else if (g_strcmp0(text, AUTOGROUP_MEMBER) == 0 && where != WHERE_OWNER)
			sel.kind = SEL_MEMBER;
		else if (g_strcmp0(text, AUTOGROUP_TAGGED) == 0 && where != WHERE_OWNER)
			sel.kind = SEL_TAGGED;
		else
			return fail(ctx, path, error, "unsupported autogroup \"%s\"", text);
	} else if (g_str_has_prefix(text, PREFIX_GROUP)) {
		gint group = find_group(policy, text);

		if (group < 0)
			return fail(ctx, path, error, "unknown group \"%s\"", text);
		sel.kind = SEL_GROUP;
		sel.group = (guint) group;
	} else if (g_str_has_prefix(text, PREFIX_TAG)) {
		if (find_tag(policy, text) == NULL)
			return fail(ctx, path, error, "tag \"%s\" is not in tagOwners", text);
		sel.kind = SEL_TAG;
		sel.name = g_strdup(text);
	} else if (is_user(text)) {
		sel.kind = SEL_USER;
		sel.name = g_strdup(text);
	} else if (where == WHERE_OWNER) {
		return fail(ctx, path, error,
			    "\"%s\" is not a user, group or tag that can own something", text);
	} else {
		const Host *host = find_host(policy, text);

		sel.kind = SEL_CIDR;
		if (host != NULL) {
			sel.cidr = host->cidr;
		} else if (strchr(text, '.') == NULL && strchr(text, ':') == NULL) {
			return fail(ctx, path, error, "unknown host \"%s\"", text);
		} else if (!wr_cidr_parse(&sel.cidr, text)) {
			return fail(ctx, path, error, "\"%s\" is not a host, IP or CIDR", text);
		} else {
			wr_cidr_mask(&sel.cidr);
		}
	}
	*out = sel;
	return TRUE;
}

/* "*", "22", "80-90", "22,80,443-445" */
static gboolean
parse_ports(Ctx *ctx, const Path *path, const gchar *text, Dst *dst, GError **error)
{
	g_auto(GStrv) parts = NULL;

	if (g_strcmp0(text, "*") == 0) {
		dst->ranges[0].first = 0;
		dst->ranges[0].last = PORT_MAX;
		dst->n_ranges = 1;
		return TRUE;
	}
	parts = g_strsplit(text, ",", WR_POLICY_MAX_PORT_RANGES + 1);
	if (g_strv_length(parts) > WR_POLICY_MAX_PORT_RANGES)
		return fail(ctx, path, error, "more than %u port ranges",
			    (guint) WR_POLICY_MAX_PORT_RANGES);
	for (guint i = 0; parts[i] != NULL; i++) {
		const gchar *part = parts[i];
		const gchar *dash = strchr(part, '-');
		gsize first_len = dash != NULL ? (gsize) (dash - part) : strlen(part);
		uint32_t first;
		uint32_t last;

		if (!wr_parse_decimal(part, first_len, PORT_MAX, &first))
			return fail(ctx, path, error, "bad port \"%s\"", part);
		last = first;
		if (dash != NULL && !wr_parse_decimal(dash + 1, strlen(dash + 1), PORT_MAX, &last))
			return fail(ctx, path, error, "bad port \"%s\"", part);
		if (last < first)
			return fail(ctx, path, error, "port range \"%s\" ends before it starts",
				    part);
		dst->ranges[dst->n_ranges].first = (guint16) first;
		dst->ranges[dst->n_ranges].last = (guint16) last;
		dst->n_ranges++;
	}
	return TRUE;
}

/* "selector:ports"; an IPv6 host may be bracketed: "[fd7a::1]:22" */
static gboolean
parse_dst(Ctx *ctx, const Path *path, const gchar *text, Dst *out, GError **error)
{
	const gchar *colon = strrchr(text, ':');
	g_autofree gchar *host = NULL;
	Dst dst = {0};

	if (colon == NULL || colon == text || colon[1] == '\0')
		return fail(ctx, path, error, "\"%s\" is not selector:ports", text);
	if (text[0] == '[' && colon[-1] == ']')
		host = g_strndup(text + 1, (gsize) (colon - text) - 2);
	else
		host = g_strndup(text, (gsize) (colon - text));
	if (host[0] == '\0')
		return fail(ctx, path, error, "\"%s\" is not selector:ports", text);
	if (!parse_ports(ctx, path, colon + 1, &dst, error))
		return FALSE;
	if (!parse_selector(ctx, path, host, WHERE_DST, &dst.sel, error))
		return FALSE;
	*out = dst;
	return TRUE;
}

/* a list of selectors (src, owners) */
static gboolean
parse_selector_list(Ctx *ctx, Path *path, JsonNode *node, Where where, GArray *out, GError **error)
{
	JsonArray *array = NULL;

	if (!get_array(ctx, path, node, WR_POLICY_MAX_LIST, &array, error))
		return FALSE;
	for (guint i = 0; i < json_array_get_length(array); i++) {
		const gchar *text;
		Selector sel;

		path_push_index(path, i);
		if (!get_string(ctx, path, json_array_get_element(array, i), &text, error) ||
		    !parse_selector(ctx, path, text, where, &sel, error))
			return FALSE;
		g_array_append_val(out, sel);
		path_pop(path);
	}
	return TRUE;
}

static gboolean
parse_groups(Ctx *ctx, Path *path, JsonNode *node, GError **error)
{
	JsonObject *obj = NULL;
	g_autoptr(GList) names = NULL;

	if (!get_object(ctx, path, node, &obj, error))
		return FALSE;
	if (json_object_get_size(obj) > WR_POLICY_MAX_GROUPS)
		return fail(ctx, path, error, "more than %u groups", (guint) WR_POLICY_MAX_GROUPS);
	names = json_object_get_members(obj);
	for (GList *l = names; l != NULL; l = l->next) {
		const gchar *name = l->data;
		JsonArray *array = NULL;
		Group group = {0};

		path_push_key(path, name);
		if (!valid_name_after(name, PREFIX_GROUP) || strlen(name) > WR_POLICY_MAX_STRING)
			return fail(ctx, path, error, "\"%s\" is not a group name (group:name)",
				    name);
		if (!get_array(ctx, path, json_object_get_member(obj, name), WR_POLICY_MAX_LIST,
			       &array, error))
			return FALSE;
		group.name = g_strdup(name);
		group.members = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
		g_array_append_val(ctx->policy->groups, group);
		g_hash_table_insert(ctx->policy->group_index, group.name,
				    GUINT_TO_POINTER(ctx->policy->groups->len));
		for (guint i = 0; i < json_array_get_length(array); i++) {
			const gchar *member;

			path_push_index(path, i);
			if (!get_string(ctx, path, json_array_get_element(array, i), &member,
					error))
				return FALSE;
			if (!is_user(member))
				return fail(ctx, path, error,
					    "\"%s\" is not a user (groups hold user emails only)",
					    member);
			g_hash_table_add(group.members, g_ascii_strdown(member, -1));
			path_pop(path);
		}
		path_pop(path);
	}
	return TRUE;
}

static gboolean
parse_hosts(Ctx *ctx, Path *path, JsonNode *node, GError **error)
{
	JsonObject *obj = NULL;
	g_autoptr(GList) names = NULL;

	if (!get_object(ctx, path, node, &obj, error))
		return FALSE;
	if (json_object_get_size(obj) > WR_POLICY_MAX_HOSTS)
		return fail(ctx, path, error, "more than %u hosts", (guint) WR_POLICY_MAX_HOSTS);
	names = json_object_get_members(obj);
	for (GList *l = names; l != NULL; l = l->next) {
		const gchar *name = l->data;
		const gchar *text;
		Host host = {0};

		path_push_key(path, name);
		if (name[0] == '\0' || strlen(name) > WR_POLICY_MAX_STRING ||
		    !g_ascii_isalpha(name[0]) || strchr(name, '.') != NULL ||
		    strchr(name, ':') != NULL || strchr(name, '@') != NULL ||
		    strchr(name, '/') != NULL || strchr(name, ' ') != NULL)
			return fail(ctx, path, error,
				    "\"%s\" is not a host name (a letter first; no '.', ':', '@', "
				    "'/')",
				    name);
		if (!get_string(ctx, path, json_object_get_member(obj, name), &text, error))
			return FALSE;
		if (!wr_cidr_parse(&host.cidr, text))
			return fail(ctx, path, error, "\"%s\" is not an IP or CIDR", text);
		wr_cidr_mask(&host.cidr);
		host.name = g_strdup(name);
		g_array_append_val(ctx->policy->hosts, host);
		g_hash_table_insert(ctx->policy->host_index, host.name,
				    GUINT_TO_POINTER(ctx->policy->hosts->len));
		path_pop(path);
	}
	return TRUE;
}

static gboolean
parse_tag_owners(Ctx *ctx, Path *path, JsonNode *node, GError **error)
{
	JsonObject *obj = NULL;
	g_autoptr(GList) names = NULL;
	guint i = 0;

	if (!get_object(ctx, path, node, &obj, error))
		return FALSE;
	if (json_object_get_size(obj) > WR_POLICY_MAX_TAGS)
		return fail(ctx, path, error, "more than %u tags", (guint) WR_POLICY_MAX_TAGS);
	names = json_object_get_members(obj);
	/* every tag first, since tags may own tags */
	for (GList *l = names; l != NULL; l = l->next) {
		const gchar *name = l->data;
		TagOwner owner = {0};

		path_push_key(path, name);
		if (!valid_name_after(name, PREFIX_TAG) || strlen(name) > WR_POLICY_MAX_STRING)
			return fail(ctx, path, error, "\"%s\" is not a tag name (tag:name)", name);
		owner.tag = g_strdup(name);
		owner.owners = selector_array_new();
		g_array_append_val(ctx->policy->tag_owners, owner);
		g_hash_table_insert(ctx->policy->tag_index, owner.tag,
				    GUINT_TO_POINTER(ctx->policy->tag_owners->len));
		path_pop(path);
	}
	for (GList *l = names; l != NULL; l = l->next, i++) {
		TagOwner *owner = &g_array_index(ctx->policy->tag_owners, TagOwner, i);

		path_push_key(path, l->data);
		if (!parse_selector_list(ctx, path, json_object_get_member(obj, l->data),
					 WHERE_OWNER, owner->owners, error))
			return FALSE;
		path_pop(path);
	}
	return TRUE;
}

static gboolean
parse_proto(Ctx *ctx, const Path *path, JsonNode *node, guint *out, GError **error)
{
	static const struct {
		const gchar *name;
		WrProto proto;
	} names[] = {
		{"tcp", WR_PROTO_TCP},	     {"udp", WR_PROTO_UDP},
		{"icmp", WR_PROTO_ICMP},     {"ipv6-icmp", WR_PROTO_ICMPV6},
		{"icmpv6", WR_PROTO_ICMPV6}, {"sctp", WR_PROTO_SCTP},
		{"igmp", WR_PROTO_IGMP},     {"esp", WR_PROTO_ESP},
		{"ah", WR_PROTO_AH},	     {"gre", WR_PROTO_GRE},
	};
	const gchar *text;

	if (!get_string(ctx, path, node, &text, error))
		return FALSE;
	for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
		if (g_ascii_strcasecmp(text, names[i].name) == 0) {
			*out = names[i].proto;
			return TRUE;
		}
	}
	return fail(ctx, path, error, "unknown protocol \"%s\"", text);
}

static bool
proto_has_ports(guint protos)
{
	return (protos & (WR_PROTO_TCP | WR_PROTO_UDP | WR_PROTO_SCTP)) != 0;
}

static gboolean
parse_acl(Ctx *ctx, Path *path, JsonNode *node, GError **error)
{
	JsonObject *obj = NULL;
	JsonNode *member;
	JsonArray *dsts = NULL;
	const gchar *action;
	g_autoptr(GList) names = NULL;
	Rule rule = {0};
	Rule *stored;

	if (!get_object(ctx, path, node, &obj, error))
		return FALSE;
	names = json_object_get_members(obj);
	for (GList *l = names; l != NULL; l = l->next) {
		const gchar *name = l->data;

		if (g_strcmp0(name, "action") != 0 && g_strcmp0(name, "src") != 0 &&
		    g_strcmp0(name, "dst") != 0 && g_strcmp0(name, "proto") != 0) {
			gboolean ret;

			path_push_key(path, name);
			ret = fail(ctx, path, error, "unknown field \"%s\"", name);
			path_pop(path);
			return ret;
		}
	}
	for (const gchar *const *req = (const gchar *const[]){"action", "src", "dst", NULL};
	     *req != NULL; req++) {
		if (!json_object_has_member(obj, *req))
			return fail(ctx, path, error, "missing \"%s\"", *req);
	}

	path_push_key(path, "action");
	if (!get_string(ctx, path, json_object_get_member(obj, "action"), &action, error))
		return FALSE;
	if (g_strcmp0(action, "accept") != 0)
		return fail(ctx, path, error, "action \"%s\" is not supported (only \"accept\")",
			    action);
	path_pop(path);

	rule.protos = WR_PROTO_DEFAULT;
	member = json_object_get_member(obj, "proto");
	if (member != NULL) {
		path_push_key(path, "proto");
		if (!parse_proto(ctx, path, member, &rule.protos, error))
			return FALSE;
		path_pop(path);
	}

	rule.src = selector_array_new();
	rule.dst = g_array_new(FALSE, TRUE, sizeof(Dst));
	g_array_set_clear_func(rule.dst, (GDestroyNotify) dst_clear);
	g_array_append_val(ctx->policy->rules, rule);
	stored = &g_array_index(ctx->policy->rules, Rule, ctx->policy->rules->len - 1);

	path_push_key(path, "src");
	if (!parse_selector_list(ctx, path, json_object_get_member(obj, "src"), WHERE_SRC,
				 stored->src, error))
		return FALSE;
	path_pop(path);

	path_push_key(path, "dst");
	if (!get_array(ctx, path, json_object_get_member(obj, "dst"), WR_POLICY_MAX_LIST, &dsts,
		       error))
		return FALSE;
	for (guint i = 0; i < json_array_get_length(dsts); i++) {
		const gchar *text;
		Dst dst;

		path_push_index(path, i);
		if (!get_string(ctx, path, json_array_get_element(dsts, i), &text, error) ||
		    !parse_dst(ctx, path, text, &dst, error))
			return FALSE;
		g_array_append_val(stored->dst, dst);
		if (!proto_has_ports(stored->protos) &&
		    (dst.n_ranges != 1 || dst.ranges[0].first != 0 ||
		     dst.ranges[0].last != PORT_MAX))
			return fail(ctx, path, error,
				    "ports must be \"*\" for a protocol without ports");
		path_pop(path);
	}
	path_pop(path);
	return TRUE;
}

static gboolean
parse_acls(Ctx *ctx, Path *path, JsonNode *node, GError **error)
{
	JsonArray *array = NULL;

	if (!get_array(ctx, path, node, WR_POLICY_MAX_ACLS, &array, error))
		return FALSE;
	for (guint i = 0; i < json_array_get_length(array); i++) {
		path_push_index(path, i);
		if (!parse_acl(ctx, path, json_array_get_element(array, i), error))
			return FALSE;
		path_pop(path);
	}
	return TRUE;
}

static gboolean
parse_auto_approvers(Ctx *ctx, Path *path, JsonNode *node, GError **error)
{
	JsonObject *obj = NULL;
	JsonNode *member;
	g_autoptr(GList) names = NULL;

	if (!get_object(ctx, path, node, &obj, error))
		return FALSE;
	names = json_object_get_members(obj);
	for (GList *l = names; l != NULL; l = l->next) {
		if (g_strcmp0(l->data, "routes") != 0 && g_strcmp0(l->data, "exitNode") != 0) {
			gboolean ret;

			path_push_key(path, l->data);
			ret = fail(ctx, path, error, "unknown field \"%s\"", (gchar *) l->data);
			path_pop(path);
			return ret;
		}
	}

	member = json_object_get_member(obj, "routes");
	if (member != NULL) {
		JsonObject *routes = NULL;
		g_autoptr(GList) prefixes = NULL;

		path_push_key(path, "routes");
		if (!get_object(ctx, path, member, &routes, error))
			return FALSE;
		if (json_object_get_size(routes) > WR_POLICY_MAX_AUTO_ROUTES)
			return fail(ctx, path, error, "more than %u routes",
				    (guint) WR_POLICY_MAX_AUTO_ROUTES);
		prefixes = json_object_get_members(routes);
		for (GList *l = prefixes; l != NULL; l = l->next) {
			AutoRoute route = {0};
			AutoRoute *stored;

			path_push_key(path, l->data);
			if (!wr_cidr_parse(&route.prefix, l->data))
				return fail(ctx, path, error, "\"%s\" is not a CIDR",
					    (gchar *) l->data);
			wr_cidr_mask(&route.prefix);
			route.owners = selector_array_new();
			g_array_append_val(ctx->policy->auto_routes, route);
			stored = &g_array_index(ctx->policy->auto_routes, AutoRoute,
						ctx->policy->auto_routes->len - 1);
			if (!parse_selector_list(ctx, path, json_object_get_member(routes, l->data),
						 WHERE_OWNER, stored->owners, error))
				return FALSE;
			path_pop(path);
		}
		path_pop(path);
	}

	member = json_object_get_member(obj, "exitNode");
	if (member != NULL) {
		path_push_key(path, "exitNode");
		if (!parse_selector_list(ctx, path, member, WHERE_OWNER, ctx->policy->exit_owners,
					 error))
			return FALSE;
		path_pop(path);
	}
	return TRUE;
}

WrPolicy *
wr_policy_new_from_data(const gchar *data, gsize len, GError **error)
{
	g_autoptr(WrPolicy) policy = policy_new();
	g_autoptr(JsonNode) root = NULL;
	g_autofree gchar *standard = NULL;
	JsonObject *obj = NULL;
	Path path = {0};
	Ctx ctx = {0};
	static const struct {
		const gchar *name;
		gboolean (*parse)(Ctx *ctx, Path *path, JsonNode *node, GError **error);
	} sections[] = {
		/* in this order: acls and autoApprovers name groups, hosts and tags */
		{"groups", parse_groups},
		{"hosts", parse_hosts},
		{"tagOwners", parse_tag_owners},
		{"acls", parse_acls},
		{"autoApprovers", parse_auto_approvers},
	};

	if (len > WR_POLICY_MAX_SIZE) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "1:1: policy: %" G_GSIZE_FORMAT " bytes, more than the %u allowed", len,
			    (guint) WR_POLICY_MAX_SIZE);
		return NULL;
	}
	if (!wr_hujson_parse(data, len, &root, &standard, error))
		return NULL;
	ctx.data = data;
	ctx.standard = standard;
	ctx.len = len;
	ctx.policy = policy;
	if (root == NULL) {
		policy->allow_all = true;
		return g_steal_pointer(&policy);
	}
	if (!get_object(&ctx, &path, root, &obj, error))
		return NULL;
	/* other top-level members (ssh, tests, nodeAttrs, …) are not ours: ignored */
	policy->allow_all = !json_object_has_member(obj, "acls");
	for (gsize i = 0; i < G_N_ELEMENTS(sections); i++) {
		JsonNode *member = json_object_get_member(obj, sections[i].name);

		if (member == NULL)
			continue;
		path_push_key(&path, sections[i].name);
		if (!sections[i].parse(&ctx, &path, member, error))
			return NULL;
		path_pop(&path);
	}
	return g_steal_pointer(&policy);
}

/* matching */

static guint
family_bits(guint8 family)
{
	return family == AF_INET6 ? IPV6_BITS : IPV4_BITS;
}

/* whether prefix contains cidr (same family, shorter or equal, same leading bits) */
static bool
cidr_contains(const WrCidr *prefix, const WrCidr *cidr)
{
	guint bits = prefix->cidr;
	guint bytes;
	guint rest;

	if (prefix->family != cidr->family || prefix->cidr > cidr->cidr)
		return false;
	if (bits > family_bits(prefix->family))
		bits = family_bits(prefix->family);
	bytes = bits / 8;
	rest = bits % 8;
	if (memcmp(prefix->addr, cidr->addr, bytes) != 0)
		return false;
	if (rest != 0) {
		guint8 mask = (guint8) (0xff << (8 - rest));

		if ((prefix->addr[bytes] & mask) != (cidr->addr[bytes] & mask))
			return false;
	}
	return true;
}

static bool
cidr_overlaps(const WrCidr *a, const WrCidr *b)
{
	return cidr_contains(a, b) || cidr_contains(b, a);
}

static bool
node_tagged(const WrPolicyNode *node)
{
	return node->tags != NULL && node->tags[0] != NULL;
}

static bool
node_has_tag(const WrPolicyNode *node, const gchar *tag)
{
	return node->tags != NULL && g_strv_contains((const gchar *const *) node->tags, tag);
}

/* the user an untagged node belongs to; NULL for tagged nodes and nodes without a user */
static const gchar *
node_owner(const WrPolicyNode *node)
{
	if (node_tagged(node) || node->user == NULL || node->user[0] == '\0')
		return NULL;
	return node->user;
}

static bool
group_has(const WrPolicy *policy, guint group, const gchar *user)
{
	const Group *g = &g_array_index(policy->groups, Group, group);
	gchar lower[WR_POLICY_MAX_STRING + 1];
	gsize len = strlen(user);

	/* members are at most WR_POLICY_MAX_STRING bytes */
	if (len > WR_POLICY_MAX_STRING)
		return false;
	for (gsize i = 0; i <= len; i++)
		lower[i] = g_ascii_tolower(user[i]);
	return g_hash_table_contains(g->members, lower);
}

static bool
node_has_address_in(const WrPolicyNode *node, const WrCidr *cidr)
{
	for (guint i = 0; i < node->n_addresses; i++) {
		if (cidr_contains(cidr, &node->addresses[i]))
			return true;
	}
	return false;
}

/* whether node is one of the nodes sel names (autogroup:self: any node with an owner) */
static bool
node_matches(const WrPolicy *policy, const Selector *sel, const WrPolicyNode *node)
{
	const gchar *owner = node_owner(node);

	switch (sel->kind) {
	case SEL_ALL:
		return true;
	case SEL_USER:
		return owner != NULL && g_ascii_strcasecmp(owner, sel->name) == 0;
	case SEL_GROUP:
		return owner != NULL && group_has(policy, sel->group, owner);
	case SEL_TAG:
		return node_has_tag(node, sel->name);
	case SEL_CIDR:
		return node_has_address_in(node, &sel->cidr);
	case SEL_SELF:
	case SEL_MEMBER:
		return owner != NULL;
	case SEL_TAGGED:
		return node_tagged(node);
	case SEL_INTERNET:
	default:
		return false;
	}
}

/* the nets of node a dst entry covers (appended to out, a WrCidr array) */
static void
dst_nets(const WrPolicy *policy, const Dst *dst, const WrPolicyNode *node, GArray *out)
{
	switch (dst->sel.kind) {
	case SEL_ALL:
		g_array_append_vals(out, node->addresses, node->n_addresses);
		g_array_append_vals(out, node->routes, node->n_routes);
		return;
	case SEL_CIDR: {
		bool covered = node_has_address_in(node, &dst->sel.cidr);

		/* exit routes are reached through "*" and autogroup:internet only */
		for (guint i = 0; i < node->n_routes && !covered; i++)
			covered = node->routes[i].cidr > 0 &&
				  cidr_overlaps(&dst->sel.cidr, &node->routes[i]);
		if (covered)
			g_array_append_val(out, dst->sel.cidr);
		return;
	}
	case SEL_INTERNET:
		for (guint i = 0; i < node->n_routes; i++) {
			if (node->routes[i].cidr == 0)
				g_array_append_val(out, node->routes[i]);
		}
		return;
	default:
		if (node_matches(policy, &dst->sel, node))
			g_array_append_vals(out, node->addresses, node->n_addresses);
		return;
	}
}

static bool
src_matches(const WrPolicy *policy, const Rule *rule, const WrPolicyNode *node)
{
	for (guint i = 0; i < rule->src->len; i++) {
		if (node_matches(policy, &g_array_index(rule->src, Selector, i), node))
			return true;
	}
	return false;
}

static bool
same_owner(const WrPolicyNode *a, const WrPolicyNode *b)
{
	const gchar *owner_a = node_owner(a);
	const gchar *owner_b = node_owner(b);

	return owner_a != NULL && owner_b != NULL && g_ascii_strcasecmp(owner_a, owner_b) == 0;
}

/* whether a dst entry covers any of node's nets (dst_nets() without building them) */
static bool
dst_covers(const WrPolicy *policy, const Dst *dst, const WrPolicyNode *node)
{
	switch (dst->sel.kind) {
	case SEL_ALL:
		return node->n_addresses > 0 || node->n_routes > 0;
	case SEL_CIDR:
		if (node_has_address_in(node, &dst->sel.cidr))
			return true;
		for (guint i = 0; i < node->n_routes; i++) {
			if (node->routes[i].cidr > 0 &&
			    cidr_overlaps(&dst->sel.cidr, &node->routes[i]))
				return true;
		}
		return false;
	case SEL_INTERNET:
		for (guint i = 0; i < node->n_routes; i++) {
			if (node->routes[i].cidr == 0)
				return true;
		}
		return false;
	default:
		return node->n_addresses > 0 && node_matches(policy, &dst->sel, node);
	}
}

/* whether a rule lets from reach to */
static bool
rule_reaches(const WrPolicy *policy, const Rule *rule, const WrPolicyNode *from,
	     const WrPolicyNode *to)
{
	if (!src_matches(policy, rule, from))
		return false;
	for (guint i = 0; i < rule->dst->len; i++) {
		const Dst *dst = &g_array_index(rule->dst, Dst, i);

		if (dst->sel.kind == SEL_SELF && !same_owner(from, to))
			continue;
		if (dst_covers(policy, dst, to))
			return true;
	}
	return false;
}

static bool
reaches(const WrPolicy *policy, const WrPolicyNode *from, const WrPolicyNode *to)
{
	for (guint i = 0; i < policy->rules->len; i++) {
		if (rule_reaches(policy, &g_array_index(policy->rules, Rule, i), from, to))
			return true;
	}
	return false;
}

GArray *
wr_policy_visible_peers(const WrPolicy *policy, const WrPolicyNode *nodes, guint n_nodes,
			guint self)
{
	GArray *peers = g_array_new(FALSE, FALSE, sizeof(guint));

	g_return_val_if_fail(self < n_nodes, peers);
	for (guint i = 0; i < n_nodes && i < WR_POLICY_MAX_NODES; i++) {
		if (i == self)
			continue;
		if (wr_policy_allows_all(policy) || reaches(policy, &nodes[self], &nodes[i]) ||
		    reaches(policy, &nodes[i], &nodes[self]))
			g_array_append_val(peers, i);
	}
	return peers;
}

/* the destinations of a filter rule under construction */

typedef struct {
	GArray *dst; /* WrFilterDst */
} RuleBuilder;

static void
builder_init(RuleBuilder *b)
{
	b->dst = g_array_new(FALSE, FALSE, sizeof(WrFilterDst));
}

static void
builder_clear(RuleBuilder *b)
{
	g_clear_pointer(&b->dst, g_array_unref);
}

static void
filter_rule_clear(WrFilterRule *rule)
{
	g_strfreev(rule->src);
	g_free(rule->dst);
}

void
wr_filter_free(WrFilter *filter)
{
	if (filter == NULL)
		return;
	for (guint i = 0; i < filter->n_rules; i++)
		filter_rule_clear(&filter->rules[i]);
	g_free(filter->rules);
	g_free(filter);
}

static void
add_dsts(RuleBuilder *b, const Dst *dst, GArray *nets, guint *entries)
{
	for (guint i = 0; i < nets->len; i++) {
		for (guint r = 0; r < dst->n_ranges; r++) {
			WrFilterDst d = {
				.net = g_array_index(nets, WrCidr, i),
				.first = dst->ranges[r].first,
				.last = dst->ranges[r].last,
			};

			g_array_append_val(b->dst, d);
			(*entries)++;
		}
	}
}

/* source sets: aggregated, so that a group of nodes with neighbouring addresses costs a few
 * prefixes in every filter that names it rather than two entries per node */

static gint
cmp_cidr(gconstpointer pa, gconstpointer pb)
{
	const WrCidr *a = pa, *b = pb;
	int c;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	c = memcmp(a->addr, b->addr, a->family == AF_INET6 ? 16 : 4);
	if (c != 0)
		return c;
	return a->cidr < b->cidr ? -1 : a->cidr > b->cidr;
}

static bool
addr_bit(const WrCidr *c, guint bit)
{
	return (c->addr[bit / 8] & (0x80 >> (bit % 8))) != 0;
}

/* whether a and b are the two halves of one prefix one bit shorter, a the lower */
static bool
cidr_siblings(const WrCidr *a, const WrCidr *b)
{
	WrCidr parent;

	if (a->family != b->family || a->cidr != b->cidr || a->cidr == 0)
		return false;
	if (addr_bit(a, a->cidr - 1u) || !addr_bit(b, b->cidr - 1u))
		return false;
	parent = *a;
	parent.cidr--;
	return cidr_contains(&parent, b);
}

/* the smallest list of prefixes that covers exactly the union of set (masked, sorted) */
static void
cidr_set_aggregate(GArray *set)
{
	guint n = 0;

	for (guint i = 0; i < set->len; i++)
		wr_cidr_mask(&g_array_index(set, WrCidr, i));
	g_array_sort(set, cmp_cidr);
	/* a stack of disjoint ascending prefixes in place: in this order a prefix that contains a
	 * later one comes first, and only the top can contain or pair with the next */
	for (guint i = 0; i < set->len; i++) {
		WrCidr c = g_array_index(set, WrCidr, i);

		if (n > 0 && cidr_contains(&g_array_index(set, WrCidr, n - 1), &c))
			continue;
		g_array_index(set, WrCidr, n++) = c;
		while (n >= 2 && cidr_siblings(&g_array_index(set, WrCidr, n - 2),
					       &g_array_index(set, WrCidr, n - 1))) {
			g_array_index(set, WrCidr, n - 2).cidr--;
			n--;
		}
	}
	g_array_set_size(set, n);
}

static gchar **
cidr_set_texts(const GArray *set)
{
	gchar **out = g_new0(gchar *, set->len + 1);

	for (guint i = 0; i < set->len; i++) {
		gchar text[WR_CIDR_STRLEN];

		wr_cidr_format(&g_array_index(set, WrCidr, i), text);
		out[i] = g_strdup(text);
	}
	return out;
}

/* a rule's sources, as text: the same for every node that the rule's other dsts cover, and
 * for its autogroup:self dsts, one list per owner */
typedef struct {
	gchar **plain;
	guint n_plain;
	GHashTable *by_owner; /* lower-cased login -> gchar ** ; NULL without autogroup:self */
	bool has_plain_dst;
} RuleSources;

struct _WrPolicyTailnet {
	const WrPolicy *policy;
	const WrPolicyNode *nodes;
	guint n_nodes;
	RuleSources *rules; /* one per policy rule */
	guint n_rules;
};

static void
node_add_addresses(GArray *set, const WrPolicyNode *node)
{
	g_array_append_vals(set, node->addresses, node->n_addresses);
}

static void
rule_sources_build(const WrPolicy *policy, const Rule *rule, const WrPolicyNode *nodes,
		   guint n_nodes, RuleSources *out)
{
	static const WrCidr any[] = {{.family = AF_INET}, {.family = AF_INET6}};
	g_autoptr(GArray) plain = g_array_new(FALSE, FALSE, sizeof(WrCidr));
	bool has_self = false;

	for (guint d = 0; d < rule->dst->len; d++) {
		if (g_array_index(rule->dst, Dst, d).sel.kind == SEL_SELF)
			has_self = true;
		else
			out->has_plain_dst = true;
	}
	if (out->has_plain_dst) {
		for (guint s = 0; s < rule->src->len; s++) {
			const Selector *sel = &g_array_index(rule->src, Selector, s);

			if (sel->kind == SEL_ALL) {
				g_array_append_vals(plain, any, G_N_ELEMENTS(any));
				continue;
			}
			if (sel->kind == SEL_CIDR) {
				g_array_append_val(plain, sel->cidr);
				continue;
			}
			for (guint n = 0; n < n_nodes; n++) {
				if (node_matches(policy, sel, &nodes[n]))
					node_add_addresses(plain, &nodes[n]);
			}
		}
		cidr_set_aggregate(plain);
		out->plain = cidr_set_texts(plain);
		out->n_plain = plain->len;
	}
	if (has_self) {
		/* autogroup:self: only the same user's nodes, whatever the selector */
		g_autoptr(GHashTable) sets = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
								   (GDestroyNotify) g_array_unref);
		GHashTableIter iter;
		gpointer key, value;

		for (guint n = 0; n < n_nodes; n++) {
			const gchar *owner = node_owner(&nodes[n]);
			g_autofree gchar *lower = NULL;
			GArray *set;

			if (owner == NULL || !src_matches(policy, rule, &nodes[n]))
				continue;
			lower = g_ascii_strdown(owner, -1);
			set = g_hash_table_lookup(sets, lower);
			if (set == NULL) {
				set = g_array_new(FALSE, FALSE, sizeof(WrCidr));
				g_hash_table_insert(sets, g_steal_pointer(&lower), set);
			}
			node_add_addresses(set, &nodes[n]);
		}
		out->by_owner = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
						      (GDestroyNotify) g_strfreev);
		g_hash_table_iter_init(&iter, sets);
		while (g_hash_table_iter_next(&iter, &key, &value)) {
			cidr_set_aggregate(value);
			g_hash_table_insert(out->by_owner, g_strdup(key), cidr_set_texts(value));
		}
	}
}

WrPolicyTailnet *
wr_policy_tailnet_new(const WrPolicy *policy, const WrPolicyNode *nodes, guint n_nodes)
{
	WrPolicyTailnet *t = g_new0(WrPolicyTailnet, 1);

	t->policy = policy;
	t->nodes = nodes;
	t->n_nodes = n_nodes;
	if (policy != NULL && n_nodes <= WR_POLICY_MAX_NODES) {
		t->n_rules = policy->rules->len;
		t->rules = g_new0(RuleSources, t->n_rules);
		for (guint i = 0; i < t->n_rules; i++)
			rule_sources_build(policy, &g_array_index(policy->rules, Rule, i), nodes,
					   n_nodes, &t->rules[i]);
	}
	return t;
}

void
wr_policy_tailnet_free(WrPolicyTailnet *t)
{
	if (t == NULL)
		return;
	for (guint i = 0; i < t->n_rules; i++) {
		g_strfreev(t->rules[i].plain);
		if (t->rules[i].by_owner != NULL)
			g_hash_table_unref(t->rules[i].by_owner);
	}
	g_free(t->rules);
	g_free(t);
}

/* moves a rule with these sources and b's destinations into rules, when both are there */
static void
rule_emit(RuleBuilder *b, const gchar *const *src, guint protos, GArray *rules, guint *entries)
{
	guint n_src = src != NULL ? g_strv_length((gchar **) src) : 0;

	if (n_src > 0 && b->dst->len > 0) {
		WrFilterRule rule = {0};

		rule.src = g_strdupv((gchar **) src);
		rule.n_src = n_src;
		rule.n_dst = b->dst->len;
		rule.dst = (WrFilterDst *) (void *) g_array_free(g_steal_pointer(&b->dst), FALSE);
		rule.protos = protos;
		g_array_append_val(rules, rule);
		*entries += n_src;
	}
	builder_clear(b);
}

static WrFilter *
filter_steal(GArray **rules)
{
	WrFilter *filter = g_new0(WrFilter, 1);

	filter->n_rules = (*rules)->len;
	filter->rules = (WrFilterRule *) (void *) g_array_free(g_steal_pointer(rules), FALSE);
	return filter;
}

WrFilter *
wr_policy_tailnet_filter(const WrPolicyTailnet *t, guint self, GError **error)
{
	g_autoptr(GArray) rules = g_array_new(FALSE, TRUE, sizeof(WrFilterRule));
	g_autoptr(GArray) nets = g_array_new(FALSE, FALSE, sizeof(WrCidr));
	const WrPolicy *policy = t->policy;
	const WrPolicyNode *me;
	g_autofree gchar *owner = NULL;
	guint entries = 0;

	g_return_val_if_fail(self < t->n_nodes, NULL);
	if (t->n_nodes > WR_POLICY_MAX_NODES) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
			    "%u nodes, more than the %u allowed", t->n_nodes,
			    (guint) WR_POLICY_MAX_NODES);
		return NULL;
	}
	g_array_set_clear_func(rules, (GDestroyNotify) filter_rule_clear);
	me = &t->nodes[self];
	if (node_owner(me) != NULL)
		owner = g_ascii_strdown(node_owner(me), -1);
	if (wr_policy_allows_all(policy)) {
		WrFilterRule rule = {0};

		rule.src = g_new0(gchar *, 3);
		rule.src[0] = g_strdup("0.0.0.0/0");
		rule.src[1] = g_strdup("::/0");
		rule.n_src = 2;
		rule.dst = g_new0(WrFilterDst, 2);
		rule.dst[0].net.family = AF_INET;
		rule.dst[1].net.family = AF_INET6;
		rule.dst[0].last = rule.dst[1].last = PORT_MAX;
		rule.n_dst = 2;
		rule.protos = WR_PROTO_DEFAULT;
		g_array_append_val(rules, rule);
	}
	for (guint i = 0; i < t->n_rules; i++) {
		const Rule *rule = &g_array_index(policy->rules, Rule, i);
		const RuleSources *src = &t->rules[i];
		RuleBuilder plain;
		RuleBuilder self_rule;

		builder_init(&plain);
		builder_init(&self_rule);
		for (guint d = 0; d < rule->dst->len; d++) {
			const Dst *dst = &g_array_index(rule->dst, Dst, d);

			g_array_set_size(nets, 0);
			dst_nets(policy, dst, me, nets);
			add_dsts(dst->sel.kind == SEL_SELF ? &self_rule : &plain, dst, nets,
				 &entries);
		}
		rule_emit(&plain, (const gchar *const *) src->plain, rule->protos, rules, &entries);
		rule_emit(&self_rule,
			  owner != NULL && src->by_owner != NULL
				  ? g_hash_table_lookup(src->by_owner, owner)
				  : NULL,
			  rule->protos, rules, &entries);
		if (entries > WR_POLICY_MAX_FILTER_ENTRIES) {
			/* rules and what it holds go on return (its clear func) */
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
				    "the packet filter of node %" G_GUINT64_FORMAT
				    " has more than %u entries",
				    me->id, (guint) WR_POLICY_MAX_FILTER_ENTRIES);
			return NULL;
		}
	}
	return filter_steal(&rules);
}

WrFilter *
wr_policy_compile_filter(const WrPolicy *policy, const WrPolicyNode *nodes, guint n_nodes,
			 guint self, GError **error)
{
	g_autoptr(WrPolicyTailnet) t = NULL;

	g_return_val_if_fail(self < n_nodes, NULL);
	t = wr_policy_tailnet_new(policy, nodes, n_nodes);
	return wr_policy_tailnet_filter(t, self, error);
}

/* auto-approval and tag ownership */

static bool
owners_match(const WrPolicy *policy, const GArray *owners, const WrPolicyNode *node)
{
	for (guint i = 0; i < owners->len; i++) {
		if (node_matches(policy, &g_array_index(owners, Selector, i), node))
			return true;
	}
	return false;
}

bool
wr_policy_route_auto_approved(const WrPolicy *policy, const WrPolicyNode *node, const WrCidr *route)
{
	if (policy == NULL || route->cidr == 0)
		return false;
	for (guint i = 0; i < policy->auto_routes->len; i++) {
		const AutoRoute *auto_route = &g_array_index(policy->auto_routes, AutoRoute, i);

		if (cidr_contains(&auto_route->prefix, route) &&
		    owners_match(policy, auto_route->owners, node))
			return true;
	}
	return false;
}

bool
wr_policy_exit_node_auto_approved(const WrPolicy *policy, const WrPolicyNode *node)
{
	return policy != NULL && owners_match(policy, policy->exit_owners, node);
}

bool
wr_policy_may_apply_tag(const WrPolicy *policy, const WrPolicyNode *node, const gchar *tag)
{
	const TagOwner *owner;

	if (policy == NULL)
		return false;
	owner = find_tag(policy, tag);
	return owner != NULL && owners_match(policy, owner->owners, node);
}

/* serialisation */

const gchar *
wr_proto_name(WrProto proto)
{
	switch (proto) {
	case WR_PROTO_TCP:
		return "tcp";
	case WR_PROTO_UDP:
		return "udp";
	case WR_PROTO_ICMP:
		return "icmp";
	case WR_PROTO_ICMPV6:
		return "ipv6-icmp";
	case WR_PROTO_SCTP:
		return "sctp";
	case WR_PROTO_IGMP:
		return "igmp";
	case WR_PROTO_ESP:
		return "esp";
	case WR_PROTO_AH:
		return "ah";
	case WR_PROTO_GRE:
		return "gre";
	default:
		return NULL;
	}
}

JsonNode *
wr_filter_to_json_node(const WrFilter *filter)
{
	g_autoptr(JsonBuilder) builder = json_builder_new_immutable();

	json_builder_begin_array(builder);
	for (guint i = 0; i < filter->n_rules; i++) {
		const WrFilterRule *rule = &filter->rules[i];

		json_builder_begin_object(builder);
		json_builder_set_member_name(builder, "src");
		json_builder_begin_array(builder);
		for (guint s = 0; s < rule->n_src; s++)
			json_builder_add_string_value(builder, rule->src[s]);
		json_builder_end_array(builder);
		json_builder_set_member_name(builder, "dst");
		json_builder_begin_array(builder);
		for (guint d = 0; d < rule->n_dst; d++) {
			gchar net[WR_CIDR_STRLEN];

			wr_cidr_format(&rule->dst[d].net, net);
			json_builder_begin_object(builder);
			json_builder_set_member_name(builder, "net");
			json_builder_add_string_value(builder, net);
			json_builder_set_member_name(builder, "ports");
			json_builder_begin_array(builder);
			json_builder_add_int_value(builder, rule->dst[d].first);
			json_builder_add_int_value(builder, rule->dst[d].last);
			json_builder_end_array(builder);
			json_builder_end_object(builder);
		}
		json_builder_end_array(builder);
		json_builder_set_member_name(builder, "proto");
		json_builder_begin_array(builder);
		for (guint bit = 0; bit < 32; bit++) {
			const gchar *name = wr_proto_name((WrProto) (1u << bit));

			if ((rule->protos & (1u << bit)) != 0 && name != NULL)
				json_builder_add_string_value(builder, name);
		}
		json_builder_end_array(builder);
		json_builder_end_object(builder);
	}
	json_builder_end_array(builder);
	return json_builder_get_root(builder);
}

/* written directly rather than through json-glib: warren-control renders every node's filter
 * on every topology change, and nothing in a filter needs escaping (CIDR texts, numbers and
 * protocol names) */
gchar *
wr_filter_to_json(const WrFilter *filter, gsize *out_len)
{
	GString *out = g_string_sized_new(64);

	g_string_append_c(out, '[');
	for (guint i = 0; i < filter->n_rules; i++) {
		const WrFilterRule *rule = &filter->rules[i];
		bool first = true;

		g_string_append(out, i > 0 ? ",{\"src\":[" : "{\"src\":[");
		for (guint s = 0; s < rule->n_src; s++) {
			g_string_append(out, s > 0 ? ",\"" : "\"");
			g_string_append(out, rule->src[s]);
			g_string_append_c(out, '"');
		}
		g_string_append(out, "],\"dst\":[");
		for (guint d = 0; d < rule->n_dst; d++) {
			gchar net[WR_CIDR_STRLEN];

			wr_cidr_format(&rule->dst[d].net, net);
			g_string_append_printf(out, "%s{\"net\":\"%s\",\"ports\":[%u,%u]}",
					       d > 0 ? "," : "", net, rule->dst[d].first,
					       rule->dst[d].last);
		}
		g_string_append(out, "],\"proto\":[");
		for (guint bit = 0; bit < 32; bit++) {
			const gchar *name = wr_proto_name((WrProto) (1u << bit));

			if ((rule->protos & (1u << bit)) == 0 || name == NULL)
				continue;
			g_string_append_printf(out, "%s\"%s\"", first ? "" : ",", name);
			first = false;
		}
		g_string_append(out, "]}");
	}
	g_string_append_c(out, ']');
	if (out_len != NULL)
		*out_len = out->len;
	return g_string_free(out, FALSE);
}
