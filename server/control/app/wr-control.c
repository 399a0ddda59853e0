/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * warren-control's tailnet and machine API (control.md "Register", "Map", "Addresses").  The
 * store is the record; this keeps every node, user and pending sign-in in memory as well, so
 * that a map never reads the database.  Writes go to the store first and change memory only
 * once it took them: a refused request changes nothing.
 */
#include "config.h"

#include <string.h>
#include <sys/socket.h>

#include <glib/gi18n.h>

#include "wr-addr.h"
#include "wr-control-private.h"
#include "wr-control-request.h"
#include "wr-crypto.h"
#include "wr-derp-map.h"
#include "wr-key.h"
#include "wr-keyfile.h"

/* a machine's node name (a DNS label) at most */
#define NAME_MAX_LEN 63

/* ---- small helpers -----------------------------------------------------------------------------
 */

static gint64
now_s(void)
{
	return g_get_real_time() / G_USEC_PER_SEC;
}

static void
reply_text(SoupServerMessage *msg, guint status, const char *text)
{
	soup_server_message_set_status(msg, status, NULL);
	soup_server_message_set_response(msg, "text/plain; charset=utf-8", SOUP_MEMORY_COPY, text,
					 strlen(text));
}

static void
reply_error(SoupServerMessage *msg, const GError *error)
{
	g_autofree char *text = g_strdup_printf("%s\n", error->message);

	reply_text(msg, wr_control_seal_http_status_for(error), text);
}

static void
reply_sealed(WrControl *self, SoupServerMessage *msg, const uint8_t machine[WR_CRYPTO_KEY_LEN],
	     const char *json, gsize len)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) sealed = wr_control_seal_response(self->seal, machine, json, len, &error);

	if (sealed == NULL) {
		reply_error(msg, error);
		return;
	}
	soup_server_message_set_status(msg, SOUP_STATUS_OK, NULL);
	soup_server_message_set_response(msg, "application/octet-stream", SOUP_MEMORY_COPY,
					 g_bytes_get_data(sealed, NULL), g_bytes_get_size(sealed));
}

static void
json_append_string(GString *out, const char *s)
{
	g_autoptr(JsonNode) node = json_node_new(JSON_NODE_VALUE);
	g_autofree char *text = NULL;

	json_node_set_string(node, s != NULL ? s : "");
	text = json_to_string(node, FALSE);
	g_string_append(out, text);
}

/* hostinfo as it is stored: compact JSON text, NULL for none */
static char *
hostinfo_text(JsonObject *hostinfo)
{
	g_autoptr(JsonNode) node = NULL;

	if (hostinfo == NULL)
		return NULL;
	node = json_node_new(JSON_NODE_OBJECT);
	json_node_set_object(node, hostinfo);
	return json_to_string(node, FALSE);
}

CtlNode *
ctl_node_lookup(WrControl *self, gint64 id)
{
	return g_hash_table_lookup(self->nodes, &id);
}

WrStoreUser *
ctl_user_lookup(WrControl *self, gint64 id)
{
	return g_hash_table_lookup(self->users, &id);
}

void
ctl_user_profile_json(WrStoreUser *user, GString *out)
{
	g_string_append_printf(out, "{\"id\":%" G_GINT64_FORMAT ",\"login_name\":", user->id);
	json_append_string(out, user->login_name);
	g_string_append(out, ",\"display_name\":");
	json_append_string(out, user->display_name != NULL ? user->display_name : user->login_name);
	g_string_append(out, ",\"profile_pic_url\":");
	json_append_string(out, user->picture);
	g_string_append_c(out, '}');
}

void
ctl_audit(WrControl *self, const char *actor, const char *action, const char *target,
	  const char *detail_json)
{
	g_autoptr(GError) error = NULL;

	g_message("audit: %s %s %s", actor, action, target != NULL ? target : "");
	if (wr_store_audit_append(self->store, now_s(), actor, action, target, detail_json,
				  &error) == 0)
		g_warning("audit event %s %s not recorded: %s", action, target, error->message);
}

static char *
node_target(const CtlNode *node)
{
	return g_strdup_printf("node:%" G_GINT64_FORMAT ":%s", node->rec->id, node->rec->name);
}

static void
ctl_node_free(CtlNode *node)
{
	if (node == NULL)
		return;
	g_clear_handle_id(&node->ephemeral_timer, g_source_remove);
	ctl_snap_unref(node->snap);
	if (node->visible != NULL)
		g_array_unref(node->visible);
	g_free(node->filter);
	wr_store_node_free(node->rec);
	g_free(node);
}

static void
node_index(WrControl *self, CtlNode *node)
{
	g_hash_table_insert(self->nodes, &node->rec->id, node);
	g_hash_table_insert(self->by_machine, node->rec->machine_key, node);
	g_hash_table_insert(self->used_names, node->rec->name, node);
}

/* ---- names, hostinfo, routes --------------------------------------------------------------------
 */

/* a DNS label from a host name: lowercase letters, digits and inner hyphens */
static char *
sanitize_name(const char *hostname)
{
	GString *out = g_string_new(NULL);

	for (const char *p = hostname != NULL ? hostname : "";
	     *p != '\0' && out->len < NAME_MAX_LEN; p++) {
		char c = g_ascii_tolower(*p);

		if (g_ascii_isalnum(c))
			g_string_append_c(out, c);
		else if (out->len > 0 && out->str[out->len - 1] != '-')
			g_string_append_c(out, '-');
	}
	while (out->len > 0 && out->str[out->len - 1] == '-')
		g_string_truncate(out, out->len - 1);
	if (out->len == 0)
		g_string_assign(out, "node");
	return g_string_free(out, FALSE);
}

/* the name itself if free, else name-2, name-3, … (stable: decided once, stored) */
static char *
unique_name(WrControl *self, const char *hostname, CtlNode *except)
{
	g_autofree char *base = sanitize_name(hostname);

	for (guint i = 1;; i++) {
		g_autofree char *name = NULL;
		CtlNode *holder;

		if (i == 1) {
			name = g_strdup(base);
		} else {
			g_autofree char *suffix = g_strdup_printf("-%u", i);
			gsize keep = MIN(strlen(base), NAME_MAX_LEN - strlen(suffix));

			name = g_strdup_printf("%.*s%s", (int) keep, base, suffix);
		}
		holder = g_hash_table_lookup(self->used_names, name);
		if (holder == NULL || holder == except)
			return g_steal_pointer(&name);
	}
}

static gboolean
strv_equal0(char **a, char **b)
{
	guint la = a != NULL ? g_strv_length(a) : 0, lb = b != NULL ? g_strv_length(b) : 0;

	if (la != lb)
		return FALSE;
	for (guint i = 0; i < la; i++)
		if (g_strcmp0(a[i], b[i]) != 0)
			return FALSE;
	return TRUE;
}

/* the policy compiler's view of one node, for auto-approval and tag ownership */
typedef struct {
	WrPolicyNode p;
	WrCidr addrs[2];
	GArray *routes;
} OnePolicyNode;

static void
one_policy_node_init(WrControl *self, OnePolicyNode *one, const WrStoreNode *rec)
{
	WrStoreUser *user = rec->user_id != 0 ? ctl_user_lookup(self, rec->user_id) : NULL;

	memset(one, 0, sizeof(*one));
	one->p.id = (guint64) rec->id;
	one->p.user = user != NULL ? user->login_name : NULL;
	one->p.tags = (const gchar *const *) rec->tags;
	if (rec->ipv4 != NULL && wr_cidr_parse(&one->addrs[one->p.n_addresses], rec->ipv4))
		one->p.n_addresses++;
	if (rec->ipv6 != NULL && wr_cidr_parse(&one->addrs[one->p.n_addresses], rec->ipv6))
		one->p.n_addresses++;
	one->p.addresses = one->addrs;
}

void
ctl_node_auto_approve(WrControl *self, CtlNode *node)
{
	WrStoreNode *rec = node->rec;
	g_autoptr(GPtrArray) approved = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) error = NULL;
	OnePolicyNode one;
	gboolean changed = FALSE;

	if (self->policy == NULL)
		return; /* no autoApprovers without a policy: the admin approves */
	one_policy_node_init(self, &one, rec);
	/* approvals stand as long as the route is advertised; new ones may be added */
	for (char **r = rec->approved_routes; r != NULL && *r != NULL; r++)
		g_ptr_array_add(approved, g_strdup(*r));
	for (char **r = rec->advertised_routes; r != NULL && *r != NULL; r++) {
		WrCidr cidr;
		gboolean ok;

		if (g_ptr_array_find_with_equal_func(approved, *r, g_str_equal, NULL) ||
		    !wr_cidr_parse(&cidr, *r))
			continue;
		if (cidr.cidr == 0) {
			one.p.exit_node = true;
			ok = wr_policy_exit_node_auto_approved(self->policy, &one.p);
		} else {
			ok = wr_policy_route_auto_approved(self->policy, &one.p, &cidr);
		}
		if (ok) {
			g_ptr_array_add(approved, g_strdup(*r));
			changed = TRUE;
		}
	}
	if (!changed)
		return;
	g_ptr_array_add(approved, NULL);
	if (!wr_store_node_set_approved_routes(self->store, rec->id,
					       (const char *const *) approved->pdata, &error)) {
		g_warning("auto-approving routes of node %" G_GINT64_FORMAT ": %s", rec->id,
			  error->message);
		return;
	}
	g_strfreev(rec->approved_routes);
	rec->approved_routes = g_strdupv((char **) approved->pdata);
	{
		g_autofree char *target = node_target(node);
		g_autofree char *routes = g_strjoinv(",", rec->approved_routes);
		g_autofree char *detail = g_strdup_printf("{\"approved_routes\":\"%s\"}", routes);

		ctl_audit(self, "policy:autoApprovers", "routes.approve", target, detail);
	}
	ctl_node_topology_changed(self, rec->id);
}

/* applies hostinfo's advertised routes; TRUE if they changed */
static gboolean
node_set_advertised(WrControl *self, CtlNode *node, char **routes, gboolean exit_node,
		    GError **error)
{
	WrStoreNode *rec = node->rec;

	if (strv_equal0(rec->advertised_routes, routes) && rec->exit_node == exit_node)
		return TRUE;
	if (!wr_store_node_set_advertised(self->store, rec->id, (const char *const *) routes,
					  exit_node, error))
		return FALSE;
	g_strfreev(rec->advertised_routes);
	rec->advertised_routes = g_strdupv(routes);
	rec->exit_node = exit_node;
	ctl_node_auto_approve(self, node);
	ctl_node_topology_changed(self, rec->id);
	return TRUE;
}

/* ---- the tailnet
 * ---------------------------------------------------------------------------------- */

static gint64
default_expiry(WrControl *self, gint64 requested, gint64 now)
{
	gint64 limit = self->config->node_key_expiry != 0 ? now + self->config->node_key_expiry : 0;

	if (requested > now && (limit == 0 || requested < limit))
		return requested;
	return limit;
}

/* a new node for a machine: address, name, tags; in the store, then in memory */
static CtlNode *
node_create(WrControl *self, const char *machine_text, const char *node_key, gint64 user_id,
	    char **tags, gboolean ephemeral, JsonObject *hostinfo, const WrHostinfo *hi,
	    gint64 expiry, GError **error)
{
	g_autoptr(WrStoreNode) tmpl = g_new0(WrStoreNode, 1);
	g_autoptr(GError) local = NULL;
	WrIpallocPair pair;
	char v4[WR_IPALLOC_STRLEN], v6[WR_IPALLOC_STRLEN];
	WrStoreNode *rec;
	CtlNode *node;
	gint64 now = now_s();

	if (!wr_ipalloc_allocate(self->ipalloc, &pair, error))
		return NULL;
	wr_ipalloc_format(&pair, v4, v6);
	tmpl->machine_key = g_strdup(machine_text);
	tmpl->node_key = g_strdup(node_key);
	tmpl->name = unique_name(self, hi->hostname, NULL);
	tmpl->user_id = user_id;
	tmpl->tags = tags != NULL ? g_strdupv(tags) : g_new0(char *, 1);
	tmpl->ipv4 = g_strdup(v4);
	tmpl->ipv6 = g_strdup(v6);
	tmpl->hostinfo = hostinfo_text(hostinfo);
	tmpl->advertised_routes = g_strdupv(hi->routes);
	tmpl->exit_node = hi->exit_node;
	tmpl->key_expiry = expiry;
	tmpl->last_seen = now;
	tmpl->ephemeral = ephemeral;
	rec = wr_store_node_create(self->store, tmpl, now, &local);
	if (rec == NULL) {
		wr_ipalloc_release(self->ipalloc, pair.v4, NULL);
		g_propagate_error(error, g_steal_pointer(&local));
		return NULL;
	}
	node = g_new0(CtlNode, 1);
	node->rec = rec;
	node->ephemeral = ephemeral;
	node_index(self, node);
	/* offline until its first map stream */
	ctl_node_went_offline(self, node);
	ctl_node_auto_approve(self, node);
	ctl_node_changed(self, node);
	ctl_node_topology_changed(self, rec->id);
	return node;
}

/* a known machine signs in again (after expiry or logout) with a node key, maybe a new one */
static gboolean
node_rekey(WrControl *self, CtlNode *node, const char *node_key, gint64 expiry, GError **error)
{
	WrStoreNode *rec = node->rec;

	if (g_strcmp0(rec->node_key, node_key) != 0) {
		if (!wr_store_node_rotate_key(self->store, rec->id, rec->node_key, node_key, expiry,
					      error) ||
		    !wr_store_node_forget_old_key(self->store, rec->id, error))
			return FALSE;
		g_free(rec->node_key);
		rec->node_key = g_strdup(node_key);
	} else if (!wr_store_node_rotate_key(self->store, rec->id, rec->node_key, node_key, expiry,
					     error) ||
		   !wr_store_node_forget_old_key(self->store, rec->id, error)) {
		return FALSE;
	}
	rec->key_expiry = expiry;
	g_clear_pointer(&rec->old_node_key, g_free);
	ctl_node_changed(self, node);
	return TRUE;
}

gboolean
ctl_node_delete(WrControl *self, CtlNode *node, const char *actor, GError **error)
{
	g_autofree char *target = node_target(node);
	gint64 id = node->rec->id;

	if (!wr_store_node_delete(self->store, id, error))
		return FALSE;
	if (node->rec->ipv4 != NULL)
		wr_ipalloc_release_text(self->ipalloc, node->rec->ipv4, NULL);
	ctl_node_removed(self, node);
	g_hash_table_remove(self->by_machine, node->rec->machine_key);
	if (g_hash_table_lookup(self->used_names, node->rec->name) == node)
		g_hash_table_remove(self->used_names, node->rec->name);
	ctl_audit(self, actor, "node.delete", target, NULL);
	g_hash_table_remove(self->nodes, &id);
	return TRUE;
}

gboolean
ctl_node_expire(WrControl *self, CtlNode *node, const char *actor, GError **error)
{
	g_autofree char *target = node_target(node);
	gint64 now = now_s();

	if (!wr_store_node_expire(self->store, node->rec->id, now, error))
		return FALSE;
	if (node->rec->key_expiry == 0 || node->rec->key_expiry > now)
		node->rec->key_expiry = now;
	if (node->stream != NULL)
		ctl_stream_close(node->stream, "node key expired");
	ctl_node_changed(self, node);
	ctl_audit(self, actor, "node.expire", target, NULL);
	return TRUE;
}

static gboolean
ephemeral_gone_cb(gpointer user_data)
{
	CtlNode *node = user_data;
	WrControl *self = node->ephemeral_ctl;
	g_autoptr(GError) error = NULL;

	node->ephemeral_timer = 0;
	if (node->stream != NULL)
		return G_SOURCE_REMOVE;
	if (!ctl_node_delete(self, node, "system:ephemeral", &error))
		g_warning("removing ephemeral node: %s", error->message);
	return G_SOURCE_REMOVE;
}

void
ctl_node_went_offline(WrControl *self, CtlNode *node)
{
	if (!node->ephemeral || node->ephemeral_timer != 0)
		return;
	node->ephemeral_ctl = self;
	node->ephemeral_timer = g_timeout_add_seconds((guint) MAX(self->ephemeral_grace, 1),
						      ephemeral_gone_cb, node);
}

/* ---- policy
 * -------------------------------------------------------------------------------------- */

gboolean
ctl_set_policy(WrControl *self, const char *text, gsize len, const char *actor, GError **error)
{
	g_autoptr(WrPolicy) policy = NULL;
	g_autoptr(WrStorePolicy) stored = NULL;
	gboolean had = self->policy != NULL;
	GHashTableIter iter;
	gpointer value;

	if (len > 0) {
		policy = wr_policy_new_from_data(text, len, error);
		if (policy == NULL)
			return FALSE; /* the old one stays */
	}
	stored = wr_store_policy_set(self->store, len > 0 ? text : "", actor, now_s(), error);
	if (stored == NULL)
		return FALSE;
	g_clear_pointer(&self->policy, wr_policy_free);
	self->policy = g_steal_pointer(&policy);
	self->policy_version = stored->version;
	{
		g_autofree char *detail =
			g_strdup_printf("{\"version\":%" G_GINT64_FORMAT "}", stored->version);

		ctl_audit(self, actor, "policy.set", "policy", detail);
	}
	if (had != (self->policy != NULL)) {
		/* streams sent under the other mode come back for a full map */
		g_autoptr(GPtrArray) streams = ctl_streams_list(self);

		for (guint i = 0; i < streams->len; i++)
			ctl_stream_close(streams->pdata[i], "policy mode changed");
	}
	ctl_map_policy_mode_changed(self);
	g_hash_table_iter_init(&iter, self->nodes);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		ctl_node_auto_approve(self, value);
	ctl_topology_changed(self);
	return TRUE;
}

/* ---- register
 * ------------------------------------------------------------------------------------ */

/* the register answer's user: the node's owner, "tagged-devices" for a tagged node, and an
 * empty one while nothing is authorized */
static void
user_json(WrControl *self, CtlNode *node, GString *out)
{
	WrStoreUser *user = node != NULL && node->rec->user_id != 0
				    ? ctl_user_lookup(self, node->rec->user_id)
				    : NULL;

	if (user != NULL)
		ctl_user_profile_json(user, out);
	else if (node != NULL)
		g_string_append(out,
				"{\"id\":0,\"login_name\":\"tagged-devices\","
				"\"display_name\":\"Tagged devices\",\"profile_pic_url\":\"\"}");
	else
		g_string_append(out, "{\"id\":0,\"login_name\":\"\",\"display_name\":\"\","
				     "\"profile_pic_url\":\"\"}");
}

static void
reply_register(WrControl *self, SoupServerMessage *msg, const uint8_t machine[WR_CRYPTO_KEY_LEN],
	       CtlNode *node, const char *auth_url, const char *error)
{
	g_autoptr(GString) out = g_string_new("{\"machine_authorized\":");
	gint64 now = now_s();
	gboolean expired =
		node != NULL && node->rec->key_expiry != 0 && node->rec->key_expiry <= now;
	gboolean authorized = node != NULL && !expired && error == NULL && auth_url == NULL;

	g_string_append(out, authorized ? "true" : "false");
	g_string_append_printf(
		out, ",\"node_key_expired\":%s,\"auth_url\":", expired ? "true" : "false");
	json_append_string(out, auth_url);
	g_string_append(out, ",\"user\":");
	user_json(self, node, out);
	g_string_append_printf(out, ",\"node_key_expiry\":%" G_GINT64_FORMAT ",\"error\":",
			       node != NULL ? node->rec->key_expiry : 0);
	json_append_string(out, error);
	g_string_append_c(out, '}');
	if (authorized)
		self->n_register++;
	else if (error != NULL)
		self->n_register_refused++;
	reply_sealed(self, msg, machine, out->str, out->len);
}

static CtlLogin *
login_lookup_url(WrControl *self, const char *url)
{
	const char *slash = url != NULL ? strstr(url, "/a/") : NULL;

	return slash != NULL ? g_hash_table_lookup(self->logins, slash + 3) : NULL;
}

static void
login_free(CtlLogin *login)
{
	g_free(login->token);
	g_free(login->node_key);
	g_free(login->hostinfo);
	g_free(login->error);
	g_list_free(login->waiters);
	g_free(login);
}

static char *
login_url(WrControl *self, CtlLogin *login)
{
	return g_strdup_printf("%s/a/%s", self->config->server_url, login->token);
}

typedef struct {
	WrControl *ctl;
	CtlLogin *login;
	guint timer;
} Waiter;

static void
waiter_answer(Waiter *w, SoupServerMessage *msg)
{
	WrControl *self = w->ctl;
	CtlLogin *login = w->login;
	g_autofree char *mtext = wr_key_to_text(WR_KEY_KIND_MACHINE, login->machine);
	CtlNode *node = g_hash_table_lookup(self->by_machine, mtext);

	if (login->done && login->error == NULL) {
		reply_register(self, msg, login->machine, node, NULL, NULL);
	} else if (login->done) {
		reply_register(self, msg, login->machine, NULL, NULL, login->error);
	} else {
		g_autofree char *url = login_url(self, login);

		reply_register(self, msg, login->machine, NULL, url, NULL);
	}
}

static void
waiter_finished_cb(SoupServerMessage *msg, gpointer user_data)
{
	Waiter *w = user_data;

	g_clear_handle_id(&w->timer, g_source_remove);
	if (w->login != NULL)
		w->login->waiters = g_list_remove(w->login->waiters, msg);
	g_free(w);
}

static gboolean
waiter_timeout_cb(gpointer user_data)
{
	SoupServerMessage *msg = user_data;
	Waiter *w = g_object_get_data(G_OBJECT(msg), "warren-waiter");

	w->timer = 0;
	waiter_answer(w, msg);
	soup_server_message_unpause(msg);
	return G_SOURCE_REMOVE;
}

/* answers every follow-up held for a login that just finished */
static void
login_wake(WrControl *self, CtlLogin *login)
{
	GList *waiters = g_steal_pointer(&login->waiters);

	for (GList *l = waiters; l != NULL; l = l->next) {
		SoupServerMessage *msg = l->data;
		Waiter *w = g_object_get_data(G_OBJECT(msg), "warren-waiter");

		g_clear_handle_id(&w->timer, g_source_remove);
		waiter_answer(w, msg);
		w->login = NULL;
		soup_server_message_unpause(msg);
	}
	g_list_free(waiters);
}

static void
login_remove(WrControl *self, CtlLogin *login)
{
	for (GList *l = login->waiters; l != NULL; l = l->next) {
		Waiter *w = g_object_get_data(G_OBJECT(l->data), "warren-waiter");

		w->login = NULL;
	}
	g_hash_table_remove(self->logins, login->token);
}

static void
hold_followup(WrControl *self, SoupServerMessage *msg, CtlLogin *login)
{
	Waiter *w = g_new0(Waiter, 1);

	w->ctl = self;
	w->login = login;
	g_object_set_data(G_OBJECT(msg), "warren-waiter", w);
	g_signal_connect(msg, "finished", G_CALLBACK(waiter_finished_cb), w);
	login->waiters = g_list_prepend(login->waiters, msg);
	w->timer = g_timeout_add_seconds(WR_CONTROL_FOLLOWUP_HOLD, waiter_timeout_cb, msg);
	soup_server_message_pause(msg);
}

static const char *
authkey_refusal(const GError *error)
{
	if (g_error_matches(error, WR_STORE_ERROR, WR_STORE_ERROR_EXPIRED))
		return "auth key expired";
	if (g_error_matches(error, WR_STORE_ERROR, WR_STORE_ERROR_USED))
		return "auth key already used";
	if (g_error_matches(error, WR_STORE_ERROR, WR_STORE_ERROR_NOT_FOUND))
		return "unknown auth key";
	return NULL;
}

/* request_tags (checked in form already): each must be one the policy lets the owner apply */
static gboolean
check_request_tags(WrControl *self, const WrHostinfo *hi, gint64 user_id, char ***io_tags,
		   GError **error)
{
	g_autoptr(GPtrArray) tags = g_ptr_array_new_with_free_func(g_free);
	WrStoreNode fake = {0};
	OnePolicyNode one;

	if (hi->request_tags == NULL || hi->request_tags[0] == NULL)
		return TRUE;
	for (char **t = *io_tags; t != NULL && *t != NULL; t++)
		g_ptr_array_add(tags, g_strdup(*t));
	fake.user_id = user_id;
	fake.tags = *io_tags;
	one_policy_node_init(self, &one, &fake);
	for (char **t = hi->request_tags; *t != NULL; t++) {
		if (g_ptr_array_find_with_equal_func(tags, *t, g_str_equal, NULL))
			continue;
		if (self->policy != NULL && !wr_policy_may_apply_tag(self->policy, &one.p, *t)) {
			g_set_error(error, WR_CONTROL_SEAL_ERROR, WR_CONTROL_SEAL_ERROR_BAD_FIELD,
				    "tag %s is not one this node's owner may apply (tagOwners)",
				    *t);
			return FALSE;
		}
		g_ptr_array_add(tags, g_strdup(*t));
	}
	g_ptr_array_add(tags, NULL);
	g_strfreev(*io_tags);
	*io_tags = (char **) g_ptr_array_free(g_steal_pointer(&tags), FALSE);
	return TRUE;
}

static void
handle_register(WrControl *self, SoupServerMessage *msg, const uint8_t machine[WR_CRYPTO_KEY_LEN],
		JsonObject *req)
{
	g_autoptr(GError) error = NULL;
	g_auto(WrRegisterRequest) r = {0};
	g_autofree char *mtext = wr_key_to_text(WR_KEY_KIND_MACHINE, machine);
	g_autofree char *nk_text = NULL;
	const uint8_t *nk = r.node_key, *old_nk = r.old_node_key;
	gint64 now = now_s();
	CtlNode *node;

	if (!wr_register_request_parse(req, &r, &error)) {
		reply_error(msg, error);
		return;
	}
	nk_text = wr_key_to_text(WR_KEY_KIND_NODE, nk);
	node = g_hash_table_lookup(self->by_machine, mtext);

	if (r.logout) {
		if (node != NULL && g_strcmp0(node->rec->node_key, nk_text) == 0) {
			if (node->ephemeral) {
				if (!ctl_node_delete(self, node, "node:logout", &error)) {
					reply_error(msg, error);
					return;
				}
				node = NULL;
			} else if (!ctl_node_expire(self, node, "node:logout", &error)) {
				reply_error(msg, error);
				return;
			}
		}
		reply_register(self, msg, machine, node, NULL, NULL);
		return;
	}

	if (r.has_old && !wr_memeq(old_nk, nk, WR_CRYPTO_KEY_LEN)) {
		/* rotation, signed by the machine key that sealed this body */
		g_autofree char *old_text = wr_key_to_text(WR_KEY_KIND_NODE, old_nk);
		g_autofree char *target = NULL;
		gint64 new_expiry;

		if (node == NULL || g_strcmp0(node->rec->node_key, old_text) != 0) {
			reply_register(self, msg, machine, node, NULL,
				       "old_node_key is not this machine's current node key");
			return;
		}
		if (node->rec->key_expiry != 0 && node->rec->key_expiry <= now) {
			reply_register(self, msg, machine, node, NULL,
				       "node key expired: sign in again");
			return;
		}
		new_expiry = default_expiry(self, r.expiry, now);
		if (!wr_store_node_rotate_key(self->store, node->rec->id, old_text, nk_text,
					      new_expiry, &error)) {
			reply_register(self, msg, machine, node, NULL, error->message);
			return;
		}
		g_free(node->rec->old_node_key);
		node->rec->old_node_key = g_steal_pointer(&old_text);
		g_free(node->rec->node_key);
		node->rec->node_key = g_strdup(nk_text);
		node->rec->key_expiry = new_expiry;
		ctl_node_changed(self, node);
		target = node_target(node);
		ctl_audit(self, mtext, "node.rotate", target, NULL);
		reply_register(self, msg, machine, node, NULL, NULL);
		return;
	}

	if (node != NULL && g_strcmp0(node->rec->node_key, nk_text) == 0 &&
	    (node->rec->key_expiry == 0 || node->rec->key_expiry > now)) {
		reply_register(self, msg, machine, node, NULL, NULL);
		return;
	}

	if (r.auth_key[0] != '\0') {
		g_autoptr(WrStoreAuthKey) key =
			wr_store_authkey_consume(self->store, r.auth_key, now, &error);
		g_auto(GStrv) tags = NULL;
		g_autofree char *actor = NULL;
		g_autofree char *target = NULL;
		const char *why;

		if (key == NULL) {
			why = authkey_refusal(error);
			if (why == NULL) {
				g_warning("register: %s", error->message);
				reply_text(msg, SOUP_STATUS_INTERNAL_SERVER_ERROR,
					   "the server could not check the auth key\n");
				return;
			}
			reply_register(self, msg, machine, NULL, NULL, why);
			return;
		}
		actor = g_strdup_printf("authkey:%s", key->prefix);
		tags = g_strdupv(key->tags);
		g_clear_error(&error);
		if (!check_request_tags(self, &r.hi, key->user_id, &tags, &error)) {
			reply_register(self, msg, machine, NULL, NULL, error->message);
			return;
		}
		if (node != NULL) {
			if (node->rec->user_id != key->user_id ||
			    !strv_equal0(node->rec->tags, tags)) {
				reply_register(self, msg, machine, NULL, NULL,
					       "this machine is registered to another owner; "
					       "delete its node first");
				return;
			}
			if (!node_rekey(self, node, nk_text, default_expiry(self, r.expiry, now),
					&error)) {
				reply_register(self, msg, machine, NULL, NULL, error->message);
				return;
			}
		} else {
			node = node_create(self, mtext, nk_text, key->user_id, tags, key->ephemeral,
					   r.hostinfo, &r.hi, default_expiry(self, r.expiry, now),
					   &error);
			if (node == NULL) {
				reply_register(self, msg, machine, NULL, NULL, error->message);
				return;
			}
		}
		target = node_target(node);
		ctl_audit(self, actor, "node.register", target, NULL);
		reply_register(self, msg, machine, node, NULL, NULL);
		return;
	}

	if (r.followup[0] != '\0') {
		CtlLogin *login = login_lookup_url(self, r.followup);

		if (login == NULL || !wr_memeq(login->machine, machine, WR_CRYPTO_KEY_LEN) ||
		    g_strcmp0(login->node_key, nk_text) != 0) {
			reply_register(self, msg, machine, NULL, NULL,
				       "unknown or expired sign-in; register again");
			return;
		}
		if (login->done) {
			Waiter w = {self, login, 0};

			waiter_answer(&w, msg);
			return;
		}
		hold_followup(self, msg, login);
		return;
	}

	if (!self->config->oidc_enabled) {
		reply_register(self, msg, machine, node, NULL,
			       "this server has no interactive sign-in; use an auth key");
		return;
	}
	{
		/* a pending sign-in for this machine and key is reused */
		GHashTableIter iter;
		gpointer value;
		CtlLogin *login = NULL;
		g_autofree char *url = NULL;
		uint8_t token[16];
		char hex[33];

		g_hash_table_iter_init(&iter, self->logins);
		while (g_hash_table_iter_next(&iter, NULL, &value)) {
			CtlLogin *l = value;

			if (!l->done && wr_memeq(l->machine, machine, WR_CRYPTO_KEY_LEN) &&
			    g_strcmp0(l->node_key, nk_text) == 0) {
				login = l;
				break;
			}
		}
		if (login == NULL) {
			if (g_hash_table_size(self->logins) >= WR_CONTROL_MAX_LOGINS) {
				reply_text(msg, SOUP_STATUS_SERVICE_UNAVAILABLE,
					   "too many sign-ins in progress, try again later\n");
				return;
			}
			login = g_new0(CtlLogin, 1);
			wr_random_bytes(token, sizeof(token));
			for (guint i = 0; i < sizeof(token); i++)
				g_snprintf(hex + 2 * i, 3, "%02x", token[i]);
			login->token = g_strdup(hex);
			memcpy(login->machine, machine, WR_CRYPTO_KEY_LEN);
			login->node_key = g_strdup(nk_text);
			login->hostinfo = hostinfo_text(r.hostinfo);
			login->expiry = r.expiry;
			login->created = now;
			g_hash_table_insert(self->logins, login->token, login);
		}
		url = login_url(self, login);
		reply_register(self, msg, machine, NULL, url, NULL);
	}
}

/* the identity provider vouched for someone: authorize the login's machine */
gboolean
ctl_login_complete(WrControl *self, const char *token, const char *iss, const char *sub,
		   const char *email, const char *name, const char *picture, GError **error)
{
	CtlLogin *login = g_hash_table_lookup(self->logins, token);
	g_autoptr(WrStoreUser) user = NULL;
	g_autofree char *mtext = NULL;
	g_autofree char *target = NULL;
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonObject *hostinfo = NULL;
	g_auto(WrHostinfo) hi = {0};
	gint64 now = now_s();
	CtlNode *node;

	if (login == NULL || login->done) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			    N_("This sign-in link is unknown or was used already."));
		return FALSE;
	}
	if (now - login->created > self->config->login_timeout) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
			    N_("This sign-in link has expired; start again from the device."));
		return FALSE;
	}
	user = wr_store_user_upsert(self->store, iss, sub, email, name, picture, now, error);
	if (user == NULL)
		return FALSE;
	{
		WrStoreUser *copy = g_new0(WrStoreUser, 1);

		copy->id = user->id;
		copy->iss = g_strdup(user->iss);
		copy->sub = g_strdup(user->sub);
		copy->login_name = g_strdup(user->login_name);
		copy->display_name = g_strdup(user->display_name);
		copy->picture = g_strdup(user->picture);
		copy->created = user->created;
		g_hash_table_replace(self->users, &copy->id, copy);
	}
	ctl_audit(self, user->login_name, "user.login", user->login_name, NULL);
	mtext = wr_key_to_text(WR_KEY_KIND_MACHINE, login->machine);
	node = g_hash_table_lookup(self->by_machine, mtext);
	if (login->hostinfo != NULL &&
	    json_parser_load_from_data(parser, login->hostinfo, -1, NULL))
		hostinfo = json_node_get_object(json_parser_get_root(parser));
	/* it passed this parse when the register call came */
	if (!wr_control_hostinfo_parse(hostinfo, &hi, error))
		return FALSE;
	if (node != NULL) {
		if (node->rec->user_id != user->id) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
				    N_("This device is registered to another account. An "
				       "administrator must delete it first."));
			return FALSE;
		}
		if (!node_rekey(self, node, login->node_key,
				default_expiry(self, login->expiry, now), error))
			return FALSE;
	} else {
		g_auto(GStrv) tags = g_new0(char *, 1);

		if (!check_request_tags(self, &hi, user->id, &tags, error))
			return FALSE;
		node = node_create(self, mtext, login->node_key, user->id, tags, FALSE, hostinfo,
				   &hi, default_expiry(self, login->expiry, now), error);
		if (node == NULL)
			return FALSE;
	}
	target = node_target(node);
	ctl_audit(self, user->login_name, "node.register", target, NULL);
	self->n_logins_ok++;
	login->done = TRUE;
	login_wake(self, login);
	return TRUE;
}

/* a sign-in that had started failed: its follow-ups learn why */
void
ctl_login_failed(WrControl *self, const char *token, const char *why)
{
	CtlLogin *login = g_hash_table_lookup(self->logins, token);

	self->n_logins_failed++;
	if (login == NULL || login->done)
		return;
	login->done = TRUE;
	login->error = g_strdup(why);
	login_wake(self, login);
}

/* ---- map
 * ----------------------------------------------------------------------------------------- */

static void
handle_map(WrControl *self, SoupServerMessage *msg, const uint8_t machine[WR_CRYPTO_KEY_LEN],
	   JsonObject *req)
{
	g_autoptr(GError) error = NULL;
	g_auto(WrMapRequest) r = {0};
	g_autofree char *mtext = wr_key_to_text(WR_KEY_KIND_MACHINE, machine);
	g_autofree char *nk_text = NULL;
	g_autofree char *disco_text = NULL;
	g_autofree char *new_hostinfo = NULL;
	g_auto(GStrv) endpoints = NULL;
	const uint8_t *nk = r.node_key;
	gint64 region, now = now_s();
	gboolean changed = FALSE;
	JsonObject *hostinfo;
	CtlNode *node;
	WrStoreNode *rec;

	if (!wr_map_request_parse(req, &r, &error)) {
		reply_error(msg, error);
		return;
	}
	endpoints = g_steal_pointer(&r.endpoints);
	hostinfo = r.hostinfo;
	region = r.derp_region;
	nk_text = wr_key_to_text(WR_KEY_KIND_NODE, nk);
	node = g_hash_table_lookup(self->by_machine, mtext);
	if (node == NULL || g_strcmp0(node->rec->node_key, nk_text) != 0) {
		reply_text(msg, SOUP_STATUS_FORBIDDEN,
			   "this machine and node key are not registered; register first\n");
		return;
	}
	rec = node->rec;
	if (rec->key_expiry != 0 && rec->key_expiry <= now) {
		reply_text(msg, SOUP_STATUS_FORBIDDEN, "node key expired; sign in again\n");
		return;
	}
	self->n_map++;
	if (r.has_disco)
		disco_text = wr_key_to_text(WR_KEY_KIND_DISCO, r.disco_key);
	new_hostinfo = hostinfo_text(hostinfo);
	changed = (disco_text != NULL && g_strcmp0(disco_text, rec->disco_key) != 0) ||
		  (endpoints != NULL && !strv_equal0(endpoints, rec->endpoints)) ||
		  (new_hostinfo != NULL && g_strcmp0(new_hostinfo, rec->hostinfo) != 0);
	if (changed || now - rec->last_seen >= 60) {
		if (!wr_store_node_update_status(
			    self->store, rec->id, disco_text != NULL ? disco_text : rec->disco_key,
			    (const char *const *) (endpoints != NULL ? endpoints : rec->endpoints),
			    new_hostinfo, now, &error)) {
			g_warning("map: %s", error->message);
			reply_text(msg, SOUP_STATUS_INTERNAL_SERVER_ERROR,
				   "the server could not record the node's state\n");
			return;
		}
		if (disco_text != NULL) {
			g_free(rec->disco_key);
			rec->disco_key = g_steal_pointer(&disco_text);
		}
		if (endpoints != NULL) {
			g_strfreev(rec->endpoints);
			rec->endpoints = g_steal_pointer(&endpoints);
		}
		if (new_hostinfo != NULL) {
			g_free(rec->hostinfo);
			rec->hostinfo = g_steal_pointer(&new_hostinfo);
		}
		rec->last_seen = now;
	}
	if (region >= 0 && region != node->derp_region) {
		node->derp_region = (int) region;
		changed = TRUE;
	}
	if (hostinfo != NULL &&
	    !node_set_advertised(self, node, r.hi.routes, r.hi.exit_node, &error))
		g_warning("map: advertised routes of node %" G_GINT64_FORMAT ": %s", rec->id,
			  error->message);
	if (rec->old_node_key != NULL && wr_store_node_forget_old_key(self->store, rec->id, NULL))
		g_clear_pointer(&rec->old_node_key, g_free);
	if (changed)
		ctl_node_changed(self, node);
	if (r.stream) {
		ctl_stream_start(self, node, msg, machine);
		return;
	}
	if (r.omit_peers) {
		g_autofree char *text =
			g_strdup_printf("{\"control_time\":%" G_GINT64_FORMAT "}", now);

		reply_sealed(self, msg, machine, text, strlen(text));
	} else {
		g_autoptr(GString) full = ctl_full_map(self, node);

		reply_sealed(self, msg, machine, full->str, full->len);
	}
}

/* ---- HTTP
 * ----------------------------------------------------------------------------------------- */

static gboolean
remote_bytes(SoupServerMessage *msg, int *out_family, uint8_t out[16])
{
	GSocketAddress *addr = soup_server_message_get_remote_address(msg);
	GInetAddress *ia;
	gsize len;

	if (!G_IS_INET_SOCKET_ADDRESS(addr))
		return FALSE;
	ia = g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(addr));
	len = g_inet_address_get_native_size(ia);
	if (len == 16 && g_inet_address_get_family(ia) == G_SOCKET_FAMILY_IPV6) {
		const guint8 *b = g_inet_address_to_bytes(ia);
		static const guint8 mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

		if (memcmp(b, mapped, 12) == 0) {
			*out_family = AF_INET;
			memcpy(out, b + 12, 4);
			return TRUE;
		}
	}
	*out_family = len == 4 ? AF_INET : AF_INET6;
	memcpy(out, g_inet_address_to_bytes(ia), len);
	return TRUE;
}

/* TRUE if the source may go on; otherwise answered 429 */
gboolean
ctl_rate_limit(WrControl *self, WrRatelimiter *limiter, SoupServerMessage *msg)
{
	int family;
	uint8_t addr[16];
	gint64 now = g_get_monotonic_time();
	g_autofree char *retry = NULL;

	if (!remote_bytes(msg, &family, addr) || wr_ratelimiter_allow(limiter, family, addr, now))
		return TRUE;
	self->n_rate_limited++;
	retry = g_strdup_printf(
		"%" G_GINT64_FORMAT,
		MAX((wr_ratelimiter_retry_after(limiter, family, addr, now) + G_USEC_PER_SEC - 1) /
			    G_USEC_PER_SEC,
		    1));
	soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Retry-After",
				     retry);
	reply_text(msg, 429 /* Too Many Requests */,
		   "too many requests from this address, try again later\n");
	return FALSE;
}

static void
machine_early_cb(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
		 gpointer user_data)
{
	SoupMessageHeaders *req = soup_server_message_get_request_headers(msg);
	goffset len = soup_message_headers_get_content_length(req);

	if (g_strcmp0(soup_server_message_get_method(msg), "POST") != 0)
		return;
	if (soup_message_headers_get_encoding(req) != SOUP_ENCODING_CONTENT_LENGTH) {
		reply_text(msg, SOUP_STATUS_LENGTH_REQUIRED,
			   "a sealed body needs a Content-Length\n");
		return;
	}
	if (len > WR_CONTROL_SEAL_MAX_BODY) {
		g_autofree char *text = g_strdup_printf("sealed body of %" G_GOFFSET_FORMAT
							" bytes is over the limit of %d bytes\n",
							len, WR_CONTROL_SEAL_MAX_BODY);

		reply_text(msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, text);
	}
}

/*
 * POST /machine/<mkey>/flows (docs/flow-logs.md): a node's finished flow records, stored with
 * the node and its owner when the configuration's collect-flows is on; 403 when it is off
 * (the map told the node so), when the node is unknown or its key expired.  Answers
 * {"stored":N}; all or none of a batch is stored.
 */
static void
handle_flows(WrControl *self, SoupServerMessage *msg, const uint8_t machine[WR_CRYPTO_KEY_LEN],
	     JsonObject *req)
{
	g_autoptr(GError) error = NULL;
	g_auto(WrFlowsRequest) r = {0};
	g_autofree char *mtext = wr_key_to_text(WR_KEY_KIND_MACHINE, machine);
	g_autofree char *nk_text = NULL;
	g_autofree char *json = NULL;
	g_autofree WrStoreFlow *flows = NULL;
	g_autofree const WrStoreFlow **ptrs = NULL;
	gint64 now = now_s();
	CtlNode *node;

	if (!wr_flows_request_parse(req, &r, &error)) {
		reply_error(msg, error);
		return;
	}
	nk_text = wr_key_to_text(WR_KEY_KIND_NODE, r.node_key);
	node = g_hash_table_lookup(self->by_machine, mtext);
	if (node == NULL || g_strcmp0(node->rec->node_key, nk_text) != 0) {
		reply_text(msg, SOUP_STATUS_FORBIDDEN,
			   "this machine and node key are not registered; register first\n");
		return;
	}
	if (node->rec->key_expiry != 0 && node->rec->key_expiry <= now) {
		reply_text(msg, SOUP_STATUS_FORBIDDEN, "node key expired; sign in again\n");
		return;
	}
	if (!self->config->collect_flows) {
		reply_text(msg, SOUP_STATUS_FORBIDDEN,
			   "this server does not collect flow records (collect-flows is off)\n");
		return;
	}
	flows = g_new0(WrStoreFlow, MAX(r.flows->len, 1));
	ptrs = g_new0(const WrStoreFlow *, MAX(r.flows->len, 1));
	for (guint i = 0; i < r.flows->len; i++) {
		const WrFlowIn *in = &g_array_index(r.flows, WrFlowIn, i);

		/* borrowed strings: the store copies what it keeps */
		flows[i] = (WrStoreFlow){
			.start_us = in->start_us,
			.end_us = in->end_us,
			.proto = (char *) in->proto,
			.local = (char *) in->local,
			.remote = (char *) in->remote,
			.outbound = in->outbound,
			.peer_id = in->peer_id,
			.peer = (char *) in->peer,
			.path = (char *) in->path,
			.end_reason = (char *) in->end_reason,
			.tx_packets = in->tx_packets,
			.tx_bytes = in->tx_bytes,
			.rx_packets = in->rx_packets,
			.rx_bytes = in->rx_bytes,
		};
		ptrs[i] = &flows[i];
	}
	if (!wr_store_flows_append(self->store, node->rec->id, node->rec->user_id, now, ptrs,
				   r.flows->len, &error)) {
		g_warning("flows of node %" G_GINT64_FORMAT ": %s", node->rec->id, error->message);
		reply_text(msg, SOUP_STATUS_INTERNAL_SERVER_ERROR,
			   "the server could not store the flow records\n");
		return;
	}
	json = g_strdup_printf("{\"stored\":%u}", r.flows->len);
	reply_sealed(self, msg, machine, json, strlen(json));
}

static void
machine_cb(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
	   gpointer user_data)
{
	WrControl *self = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) body = NULL;
	g_autoptr(JsonObject) req = NULL;
	g_autofree char *verb = NULL;
	uint8_t machine[WR_CRYPTO_KEY_LEN];

	if (soup_server_message_get_status(msg) != 0)
		return; /* refused by the early handler */
	if (g_strcmp0(soup_server_message_get_method(msg), "POST") != 0) {
		soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Allow",
					     "POST");
		reply_text(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "POST only\n");
		return;
	}
	if (!wr_control_parse_machine_path(path, machine, &verb, &error)) {
		reply_error(msg, error);
		return;
	}
	if (g_strcmp0(verb, "register") != 0 && g_strcmp0(verb, "map") != 0 &&
	    g_strcmp0(verb, "flows") != 0) {
		reply_text(msg, SOUP_STATUS_NOT_FOUND, "no such machine call\n");
		return;
	}
	if (g_strcmp0(verb, "register") == 0 && !ctl_rate_limit(self, self->register_limit, msg))
		return;
	body = soup_message_body_flatten(soup_server_message_get_request_body(msg));
	req = wr_control_seal_open_request(self->seal, machine, g_bytes_get_data(body, NULL),
					   g_bytes_get_size(body), now_s(), &error);
	if (req == NULL) {
		self->n_seal_errors++;
		reply_error(msg, error);
		return;
	}
	if (g_strcmp0(verb, "register") == 0)
		handle_register(self, msg, machine, req);
	else if (g_strcmp0(verb, "flows") == 0)
		handle_flows(self, msg, machine, req);
	else
		handle_map(self, msg, machine, req);
}

static void
key_cb(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
       gpointer user_data)
{
	WrControl *self = user_data;
	g_autofree char *key = wr_control_seal_public_text(self->seal);
	g_autofree char *json = g_strdup_printf("{\"server_key\":\"%s\"}", key);

	if (g_strcmp0(path, "/key") != 0) {
		reply_text(msg, SOUP_STATUS_NOT_FOUND, "not found\n");
		return;
	}
	soup_server_message_set_status(msg, SOUP_STATUS_OK, NULL);
	soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_COPY, json,
					 strlen(json));
}

static void
healthz_cb(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
	   gpointer user_data)
{
	WrControl *self = user_data;
	g_autoptr(GError) error = NULL;

	if (wr_store_schema_version(self->store, &error) <= 0) {
		g_autofree char *text =
			g_strdup_printf("store: %s\n", error != NULL ? error->message : "?");

		reply_text(msg, SOUP_STATUS_SERVICE_UNAVAILABLE, text);
		return;
	}
	reply_text(msg, SOUP_STATUS_OK, "ok\n");
}

/*
 * POST /verify: warren-derp's admission check (derp-disco-stun.md §2.9, --verify-clients):
 * {"NodePublic":"nodekey:…","Source":"ip"} → {"Allow":bool}, true for the current or
 * just-rotated key of a node whose key has not expired.  A node key is 32 random bytes known
 * only to the tailnet, so the answer tells an outsider nothing they did not have.
 */
static void
verify_cb(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
	  gpointer user_data)
{
	WrControl *self = user_data;
	g_autoptr(GBytes) body = NULL;
	g_autoptr(JsonObject) req = NULL;
	g_autoptr(GError) error = NULL;
	uint8_t key[WR_CRYPTO_KEY_LEN];
	g_autofree char *text = NULL;
	gboolean allow = FALSE;
	GHashTableIter iter;
	gpointer value;
	const char *answer;
	gint64 now = now_s();

	if (soup_server_message_get_status(msg) != 0)
		return; /* refused by the early handler */
	if (g_strcmp0(soup_server_message_get_method(msg), "POST") != 0) {
		reply_text(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "POST only\n");
		return;
	}
	body = soup_message_body_flatten(soup_server_message_get_request_body(msg));
	if (g_bytes_get_size(body) > 4096) {
		reply_text(msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "body over 4096 bytes\n");
		return;
	}
	req = wr_control_parse_object(g_bytes_get_data(body, NULL), g_bytes_get_size(body), &error);
	if (req == NULL ||
	    !wr_control_field_key(req, "NodePublic", WR_KEY_KIND_NODE, TRUE, key, &error)) {
		reply_error(msg, error);
		return;
	}
	text = wr_key_to_text(WR_KEY_KIND_NODE, key);
	g_hash_table_iter_init(&iter, self->nodes);
	while (!allow && g_hash_table_iter_next(&iter, NULL, &value)) {
		const WrStoreNode *rec = ((CtlNode *) value)->rec;

		allow = (g_strcmp0(rec->node_key, text) == 0 ||
			 g_strcmp0(rec->old_node_key, text) == 0) &&
			(rec->key_expiry == 0 || rec->key_expiry > now);
	}
	answer = allow ? "{\"Allow\":true}" : "{\"Allow\":false}";
	soup_server_message_set_status(msg, SOUP_STATUS_OK, NULL);
	soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_STATIC, answer,
					 strlen(answer));
}

static gboolean
remote_is_loopback(SoupServerMessage *msg)
{
	GSocketAddress *addr = soup_server_message_get_remote_address(msg);

	return G_IS_INET_SOCKET_ADDRESS(addr) &&
	       g_inet_address_get_is_loopback(
		       g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(addr)));
}

static void
metrics_cb(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
	   gpointer user_data)
{
	WrControl *self = user_data;
	g_autoptr(GString) out = g_string_new(NULL);
	GHashTableIter iter;
	gpointer value;
	guint online = 0, expired = 0;
	gint64 now = now_s();

	if (server == self->http && self->config->metrics != NULL && !remote_is_loopback(msg)) {
		reply_text(msg, SOUP_STATUS_NOT_FOUND, "not found\n");
		return;
	}
	if (server == self->http && self->config->metrics == NULL && !remote_is_loopback(msg)) {
		reply_text(msg, SOUP_STATUS_FORBIDDEN, "metrics are served to loopback only\n");
		return;
	}
	g_hash_table_iter_init(&iter, self->nodes);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		CtlNode *node = value;

		online += node->online;
		expired += node->rec->key_expiry != 0 && node->rec->key_expiry <= now;
	}
#define GAUGE(name, help, v)                                                            \
	g_string_append_printf(out,                                                     \
			       "# HELP " name " " help "\n# TYPE " name " gauge\n" name \
			       " %" G_GUINT64_FORMAT "\n",                              \
			       (guint64) (v))
#define COUNTER(name, help, v)                                                            \
	g_string_append_printf(out,                                                       \
			       "# HELP " name " " help "\n# TYPE " name " counter\n" name \
			       " %" G_GUINT64_FORMAT "\n",                                \
			       (guint64) (v))
	GAUGE("warren_control_nodes", "Nodes in the tailnet.", g_hash_table_size(self->nodes));
	GAUGE("warren_control_nodes_online", "Nodes with a map stream.", online);
	GAUGE("warren_control_nodes_expired", "Nodes whose key expired.", expired);
	GAUGE("warren_control_users", "Users.", g_hash_table_size(self->users));
	GAUGE("warren_control_map_streams", "Map streams held.", g_hash_table_size(self->streams));
	GAUGE("warren_control_logins_pending", "Browser sign-ins in progress.",
	      g_hash_table_size(self->logins));
	GAUGE("warren_control_change_log_entries", "Changes held for streams.",
	      self->log_head - self->log_tail);
	COUNTER("warren_control_register_authorized_total", "Register calls answered authorized.",
		self->n_register);
	COUNTER("warren_control_register_refused_total", "Register calls refused.",
		self->n_register_refused);
	COUNTER("warren_control_map_requests_total", "Map requests.", self->n_map);
	COUNTER("warren_control_map_frames_total", "Map stream frames written.", self->n_frames);
	COUNTER("warren_control_map_frame_bytes_total", "Map stream frame bytes written.",
		self->n_frame_bytes);
	COUNTER("warren_control_sealed_errors_total",
		"Sealed bodies refused (bad seal, stale, replayed, malformed).",
		self->n_seal_errors);
	COUNTER("warren_control_rate_limited_total", "Requests refused by a per-address limit.",
		self->n_rate_limited);
	COUNTER("warren_control_logins_total", "Browser sign-ins that authorized a machine.",
		self->n_logins_ok);
	COUNTER("warren_control_logins_failed_total", "Browser sign-ins that failed.",
		self->n_logins_failed);
	COUNTER("warren_control_stream_overflows_total",
		"Map streams closed for falling behind the change log.", self->n_stream_overflows);
#undef GAUGE
#undef COUNTER
	soup_server_message_set_status(msg, SOUP_STATUS_OK, NULL);
	soup_server_message_set_response(msg, "text/plain; version=0.0.4; charset=utf-8",
					 SOUP_MEMORY_COPY, out->str, out->len);
}

static void
root_cb(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
	gpointer user_data)
{
	reply_text(msg, SOUP_STATUS_NOT_FOUND, "not found\n");
}

/* ---- the tick
 * ------------------------------------------------------------------------------------- */

static gboolean
tick_cb(gpointer user_data)
{
	WrControl *self = user_data;
	gint64 now = now_s();
	GHashTableIter iter;
	gpointer value;
	g_autoptr(GPtrArray) gone = g_ptr_array_new();

	/* keys that expired since: their nodes leave peers' maps */
	g_hash_table_iter_init(&iter, self->nodes);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		CtlNode *node = value;

		if (node->snap != NULL && node->rec->key_expiry != 0 &&
		    node->rec->key_expiry <= now) {
			if (node->stream != NULL)
				ctl_stream_close(node->stream, "node key expired");
			ctl_node_changed(self, node);
		}
	}
	/* sign-ins nobody finished */
	g_hash_table_iter_init(&iter, self->logins);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		CtlLogin *login = value;

		if (now - login->created > self->config->login_timeout + WR_CONTROL_FOLLOWUP_HOLD)
			g_ptr_array_add(gone, login);
	}
	for (guint i = 0; i < gone->len; i++) {
		CtlLogin *login = gone->pdata[i];

		if (!login->done) {
			login->done = TRUE;
			login->error = g_strdup("sign-in timed out; register again");
			login_wake(self, login);
		}
		login_remove(self, login);
	}
	wr_ratelimiter_gc(self->register_limit, g_get_monotonic_time());
	wr_ratelimiter_gc(self->auth_limit, g_get_monotonic_time());
	ctl_streams_tick(self, g_get_monotonic_time());
	return G_SOURCE_CONTINUE;
}

/* ---- set-up
 * ----------------------------------------------------------------------------------------- */

static gboolean
load_tailnet(WrControl *self, GError **error)
{
	g_autoptr(GPtrArray) users = wr_store_user_list(self->store, error);
	g_autoptr(GPtrArray) nodes = NULL;
	g_autoptr(WrStorePolicy) policy = NULL;

	if (users == NULL)
		return FALSE;
	for (guint i = 0; i < users->len; i++) {
		WrStoreUser *user = users->pdata[i];

		users->pdata[i] = NULL;
		g_hash_table_insert(self->users, &user->id, user);
	}
	policy = wr_store_policy_get(self->store, error);
	if (policy == NULL && error != NULL && *error != NULL)
		return FALSE;
	if (policy != NULL && policy->text[0] != '\0') {
		self->policy = wr_policy_new_from_data(policy->text, strlen(policy->text), error);
		if (self->policy == NULL) {
			g_prefix_error(error, "the stored policy (version %" G_GINT64_FORMAT "): ",
				       policy->version);
			return FALSE;
		}
		self->policy_version = policy->version;
	}
	nodes = wr_store_node_list(self->store, 0, error);
	if (nodes == NULL)
		return FALSE;
	for (guint i = 0; i < nodes->len; i++) {
		CtlNode *node = g_new0(CtlNode, 1);
		g_autoptr(GError) local = NULL;

		node->rec = nodes->pdata[i];
		node->ephemeral = node->rec->ephemeral;
		nodes->pdata[i] = NULL;
		if (node->rec->ipv4 != NULL &&
		    !wr_ipalloc_reserve_text(self->ipalloc, node->rec->ipv4, &local))
			g_warning("node %" G_GINT64_FORMAT " address %s: %s", node->rec->id,
				  node->rec->ipv4, local->message);
		node_index(self, node);
	}
	{
		GHashTableIter iter;
		gpointer value;

		g_hash_table_iter_init(&iter, self->nodes);
		while (g_hash_table_iter_next(&iter, NULL, &value))
			ctl_node_changed(self, value);
	}
	/* ephemeral nodes are offline until they map again: their grace starts now */
	{
		GHashTableIter iter;
		gpointer value;

		g_hash_table_iter_init(&iter, self->nodes);
		while (g_hash_table_iter_next(&iter, NULL, &value))
			ctl_node_went_offline(self, value);
	}
	/* streams start from here: nothing before is news to anyone */
	for (guint64 seq = self->log_tail; seq < self->log_head; seq++)
		g_clear_pointer(&self->log[seq % WR_CONTROL_LOG_SIZE].old, ctl_snap_unref);
	self->log_tail = self->log_head;
	ctl_topology_changed(self);
	return TRUE;
}

static char *
build_dns(const WrControlConfig *config)
{
	g_autoptr(GString) out = g_string_new("{\"magic_dns\":");

	g_string_append(out, config->magic_dns ? "true" : "false");
	g_string_append(out, ",\"domain\":");
	json_append_string(out, config->dns_domain);
	g_string_append(out, ",\"nameservers\":[");
	for (guint i = 0; config->nameservers != NULL && config->nameservers[i] != NULL; i++) {
		if (i > 0)
			g_string_append_c(out, ',');
		json_append_string(out, config->nameservers[i]);
	}
	g_string_append(out, "]}");
	return g_string_free(g_steal_pointer(&out), FALSE);
}

static char *
build_allow_all_filter(void)
{
	WrPolicyNode one = {0};
	g_autoptr(WrFilter) filter = wr_policy_compile_filter(NULL, &one, 1, 0, NULL);

	return filter != NULL ? wr_filter_to_json(filter, NULL) : g_strdup("[]");
}

WrControl *
wr_control_new(WrControlConfig *config, GError **error)
{
	g_autoptr(WrControl) self = g_new0(WrControl, 1);
	g_autoptr(WrDerpMap) derp = NULL;
	uint8_t *private_key;
	gboolean ok;

	self->config = config;
	self->ephemeral_grace = config->ephemeral_timeout;
	self->keepalive_interval = (guint) config->keepalive_interval;
	self->nodes = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL,
					    (GDestroyNotify) ctl_node_free);
	self->by_machine = g_hash_table_new(g_str_hash, g_str_equal);
	self->used_names = g_hash_table_new(g_str_hash, g_str_equal);
	self->users = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL,
					    (GDestroyNotify) wr_store_user_free);
	self->logins =
		g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify) login_free);
	ctl_map_init(self);

	derp = wr_derp_map_new_from_file(config->derp_map_file, error);
	if (derp == NULL) {
		g_prefix_error(error, "%s: [network] derp-map: ", config->path);
		return NULL;
	}
	self->derp_map = wr_derp_map_to_json(derp, FALSE, NULL);
	self->dns = build_dns(config);
	self->allow_all_filter = build_allow_all_filter();
	self->derp_version = self->dns_version = self->global_filter_version = 1;

	self->ipalloc = wr_ipalloc_new(config->ipv4_prefix, config->ipv6_prefix, error);
	if (self->ipalloc == NULL)
		return NULL;
	self->register_limit =
		wr_ratelimiter_new_full(config->register_per_minute, config->register_burst, 65536);
	self->auth_limit =
		wr_ratelimiter_new_full(config->auth_per_minute, config->auth_burst, 65536);
	if (self->register_limit == NULL || self->auth_limit == NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "%s: [limits]: a rate or burst out of range", config->path);
		return NULL;
	}

	private_key = wr_secure_alloc(WR_CRYPTO_KEY_LEN);
	ok = wr_keyfile_load_or_create_private(config->private_key_file, private_key, NULL, error);
	if (ok)
		self->seal = wr_control_seal_new(private_key, WR_CONTROL_REPLAY_DEFAULT_MAX,
						 WR_CONTROL_REPLAY_DEFAULT_MAX_PER_MACHINE);
	wr_secure_free(private_key);
	if (!ok) {
		g_prefix_error(error, "server key: ");
		return NULL;
	}
	if (self->seal == NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "server key %s is not usable", config->private_key_file);
		return NULL;
	}

	self->store = wr_store_open(config->database, error);
	if (self->store == NULL)
		return NULL;
	if (!load_tailnet(self, error))
		return NULL;
	g_message("store: %s, %u nodes, %u users, %s", wr_store_backend_name(self->store),
		  g_hash_table_size(self->nodes), g_hash_table_size(self->users),
		  self->policy != NULL ? "a policy" : "no policy (all may reach all)");
	if (!ctl_web_init(self, error))
		return NULL;
	return g_steal_pointer(&self);
}

static gboolean
listen_on(SoupServer *server, GSocketAddress *addr, SoupServerListenOptions opts, GError **error)
{
	g_autoptr(GSocket) socket =
		g_socket_new(g_socket_address_get_family(addr), G_SOCKET_TYPE_STREAM,
			     G_SOCKET_PROTOCOL_TCP, error);

	if (socket == NULL)
		return FALSE;
	/* thousands of nodes come back at once after a restart */
	g_socket_set_listen_backlog(socket, 4096);
	if (g_socket_address_get_family(addr) == G_SOCKET_FAMILY_IPV6 &&
	    !g_socket_set_option(socket, IPPROTO_IPV6, IPV6_V6ONLY, 0, error))
		return FALSE;
	return g_socket_bind(socket, addr, TRUE, error) && g_socket_listen(socket, error) &&
	       soup_server_listen_socket(server, socket, opts, error);
}

gboolean
wr_control_start(WrControl *self, GError **error)
{
	WrControlConfig *config = self->config;
	SoupServerListenOptions opts = 0;

	self->http = soup_server_new("server-header", "warren-control/" PACKAGE_VERSION " ", NULL);
	if (config->tls_cert != NULL) {
		g_autoptr(GTlsCertificate) cert =
			g_tls_certificate_new_from_files(config->tls_cert, config->tls_key, error);

		if (cert == NULL)
			return FALSE;
		soup_server_set_tls_certificate(self->http, cert);
		opts |= SOUP_SERVER_LISTEN_HTTPS;
	}
	soup_server_add_early_handler(self->http, "/machine", machine_early_cb, self, NULL);
	soup_server_add_handler(self->http, "/machine", machine_cb, self, NULL);
	soup_server_add_handler(self->http, "/key", key_cb, self, NULL);
	soup_server_add_handler(self->http, "/healthz", healthz_cb, self, NULL);
	soup_server_add_early_handler(self->http, "/verify", machine_early_cb, self, NULL);
	soup_server_add_handler(self->http, "/verify", verify_cb, self, NULL);
	soup_server_add_handler(self->http, "/metrics", metrics_cb, self, NULL);
	soup_server_add_handler(self->http, "/", root_cb, self, NULL);
	ctl_web_add_handlers(self, self->http);
	if (!listen_on(self->http, config->listen, opts, error)) {
		g_prefix_error(error, "listen: ");
		return FALSE;
	}
	if (config->metrics != NULL) {
		self->metrics_http = soup_server_new("server-header", "warren-control ", NULL);
		soup_server_add_handler(self->metrics_http, "/metrics", metrics_cb, self, NULL);
		if (!listen_on(self->metrics_http, config->metrics, 0, error)) {
			g_prefix_error(error, "metrics-listen: ");
			return FALSE;
		}
	}
	if (!ctl_admin_start(self, error))
		return FALSE;
	self->tick_source = g_timeout_add_seconds(5, tick_cb, self);
	return TRUE;
}

void
wr_control_free(WrControl *self)
{
	if (self == NULL)
		return;
	g_clear_handle_id(&self->tick_source, g_source_remove);
	ctl_admin_stop(self);
	if (self->logins != NULL) {
		GHashTableIter iter;
		gpointer value;

		g_hash_table_iter_init(&iter, self->logins);
		while (g_hash_table_iter_next(&iter, NULL, &value)) {
			CtlLogin *login = value;

			if (!login->done) {
				login->done = TRUE;
				login->error = g_strdup("the server is shutting down");
			}
			login_wake(self, login);
		}
	}
	ctl_map_shutdown(self);
	ctl_web_free(self);
	if (self->http != NULL) {
		soup_server_disconnect(self->http);
		g_object_unref(self->http);
	}
	if (self->metrics_http != NULL) {
		soup_server_disconnect(self->metrics_http);
		g_object_unref(self->metrics_http);
	}
	g_clear_pointer(&self->logins, g_hash_table_unref);
	g_clear_pointer(&self->nodes, g_hash_table_unref);
	g_clear_pointer(&self->by_machine, g_hash_table_unref);
	g_clear_pointer(&self->used_names, g_hash_table_unref);
	g_clear_pointer(&self->users, g_hash_table_unref);
	g_clear_pointer(&self->policy, wr_policy_free);
	g_clear_pointer(&self->store, wr_store_close);
	g_clear_pointer(&self->seal, wr_control_seal_free);
	g_clear_pointer(&self->ipalloc, wr_ipalloc_free);
	g_clear_pointer(&self->register_limit, wr_ratelimiter_free);
	g_clear_pointer(&self->auth_limit, wr_ratelimiter_free);
	g_free(self->derp_map);
	g_free(self->dns);
	g_free(self->allow_all_filter);
	g_clear_pointer(&self->config, wr_control_config_free);
	g_free(self);
}
