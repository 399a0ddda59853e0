/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * warren-control's persistent state (docs/protocols/control.md): users, nodes, pre-auth keys,
 * the ACL policy with its history and the audit log, behind one interface with two backends,
 * SQLite (one file) and PostgreSQL.  Opening applies the schema migrations; every operation runs
 * in one transaction, so a failure writes nothing.  The store reads no clock: callers pass `now`
 * (unix seconds).  It allocates no addresses: the caller passes them and UNIQUE constraints
 * reject duplicates.  Not thread-safe: one WrStore per thread.  docs/control-store.md.
 */

#pragma once

#include <glib.h>

#define WR_STORE_ERROR (wr_store_error_quark())
GQuark
wr_store_error_quark(void);

typedef enum {
	WR_STORE_ERROR_FAILED,	  /* the database failed (I/O, connection, SQL) */
	WR_STORE_ERROR_BAD_URL,	  /* the URL or path names no usable database */
	WR_STORE_ERROR_TOO_NEW,	  /* the schema is newer than this code */
	WR_STORE_ERROR_NOT_FOUND, /* no such user, node, key */
	WR_STORE_ERROR_EXISTS,	  /* a UNIQUE constraint: key, name or address taken */
	WR_STORE_ERROR_IN_USE,	  /* still referenced (a user with nodes) */
	WR_STORE_ERROR_INVALID,	  /* an argument is refused */
	WR_STORE_ERROR_EXPIRED,	  /* an auth key past its expiry */
	WR_STORE_ERROR_USED,	  /* a one-off auth key already used */
} WrStoreError;

/* the schema version this code writes */
#define WR_STORE_SCHEMA_VERSION 3
/* what wr_store_authkey_create hands out: "wrkey-" 16 hex (id) "-" 48 hex (secret) */
#define WR_STORE_AUTHKEY_LEN 71

typedef struct _WrStore WrStore;

typedef struct {
	gint64 id;
	char *iss;
	char *sub;
	char *login_name;
	char *display_name;
	char *picture;
	gint64 created;
} WrStoreUser;

typedef struct {
	gint64 id;
	char *machine_key;
	char *node_key;
	char *old_node_key; /* NULL, or the key before the last rotation until forgotten */
	char *disco_key;
	char *name;
	gint64 user_id; /* 0 for a tagged node owned by no user */
	char **tags;
	char *ipv4; /* as the caller stored them, e.g. "100.64.0.5/32" */
	char *ipv6;
	char *hostinfo; /* JSON object text */
	char **endpoints;
	char **advertised_routes;
	char **approved_routes;
	gboolean exit_node;
	gint64 key_expiry; /* unix s, 0 = never */
	gint64 last_seen;
	gint64 created;
	gboolean ephemeral; /* from an ephemeral auth key: deleted once offline for a while */
} WrStoreNode;

typedef struct {
	gint64 id;
	char *prefix;	/* the public part, "wrkey-<16 hex>", safe to show and log */
	gint64 user_id; /* 0 = none (tag-only key) */
	gboolean reusable;
	gboolean ephemeral;
	char **tags;
	gint64 expiry; /* unix s, 0 = never */
	gboolean used;
	gint64 created;
} WrStoreAuthKey;

typedef struct {
	gint64 version;
	char *text;
	char *actor;
	gint64 created;
} WrStorePolicy;

typedef struct {
	gint64 id;
	gint64 time;
	char *actor;
	char *action;
	char *target;
	char *detail; /* JSON text */
} WrStoreAuditEvent;

/* one flow record a node sent (docs/flow-logs.md): what GetFlows shows, plus who sent it */
typedef struct {
	gint64 id;
	gint64 node_id;
	gint64 user_id;	 /* the node's owner at the time, 0 for none */
	gint64 received; /* unix seconds */
	gint64 start_us; /* unix µs, as the node's clock had them */
	gint64 end_us;
	char *proto;
	char *local; /* "ip:port" */
	char *remote;
	gboolean outbound;
	gint64 peer_id;
	char *peer;
	char *path;
	char *end_reason;
	gint64 tx_packets;
	gint64 tx_bytes;
	gint64 rx_packets;
	gint64 rx_bytes;
} WrStoreFlow;

void
wr_store_user_free(WrStoreUser *user);
void
wr_store_node_free(WrStoreNode *node);
void
wr_store_authkey_free(WrStoreAuthKey *key);
void
wr_store_policy_free(WrStorePolicy *policy);
void
wr_store_audit_event_free(WrStoreAuditEvent *event);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrStoreUser, wr_store_user_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrStoreNode, wr_store_node_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrStoreAuthKey, wr_store_authkey_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrStorePolicy, wr_store_policy_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrStoreAuditEvent, wr_store_audit_event_free)
void
wr_store_flow_free(WrStoreFlow *flow);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrStoreFlow, wr_store_flow_free)

/*
 * Opens and migrates the database that url names:
 *   "sqlite:///abs/path.db", "sqlite:rel/path.db" or a plain path   SQLite (created 0600)
 *   "postgresql://…", "postgres://…"                                  PostgreSQL, libpq URI
 *   "postgres:host=/run/dir dbname=warren"                            PostgreSQL, libpq conninfo
 * BAD_URL for anything else, TOO_NEW when the schema is newer than WR_STORE_SCHEMA_VERSION.
 */
WrStore *
wr_store_open(const char *url, GError **error);
void
wr_store_close(WrStore *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrStore, wr_store_close)

/* "sqlite" or "postgresql" */
const char *
wr_store_backend_name(const WrStore *self);
/* the schema version of the open database */
gint64
wr_store_schema_version(WrStore *self, GError **error);

/* users, keyed by (iss, sub); an upsert updates the names and picture and keeps id and created */
WrStoreUser *
wr_store_user_upsert(WrStore *self, const char *iss, const char *sub, const char *login_name,
		     const char *display_name, const char *picture, gint64 now, GError **error);
WrStoreUser *
wr_store_user_get(WrStore *self, gint64 id, GError **error);
WrStoreUser *
wr_store_user_get_by_subject(WrStore *self, const char *iss, const char *sub, GError **error);
/* of WrStoreUser, by id */
GPtrArray *
wr_store_user_list(WrStore *self, GError **error);
/* IN_USE while the user still has nodes; the user's auth keys go with it */
gboolean
wr_store_user_delete(WrStore *self, gint64 id, GError **error);

/*
 * Nodes.  create reads machine_key, node_key, disco_key, name, user_id, tags, ipv4, ipv6,
 * hostinfo (NULL = "{}"), endpoints, advertised_routes, approved_routes, exit_node, key_expiry,
 * last_seen, ephemeral from the template and returns the stored node with its id and created = now.
 * EXISTS when the machine key, node key, name or an address is taken.
 */
WrStoreNode *
wr_store_node_create(WrStore *self, const WrStoreNode *tmpl, gint64 now, GError **error);
WrStoreNode *
wr_store_node_get(WrStore *self, gint64 id, GError **error);
WrStoreNode *
wr_store_node_get_by_machine_key(WrStore *self, const char *machine_key, GError **error);
/* finds the node by its current key, or by its old key until that is forgotten */
WrStoreNode *
wr_store_node_get_by_node_key(WrStore *self, const char *node_key, GError **error);
/* of WrStoreNode, by id; user_id 0 lists all nodes, otherwise that user's */
GPtrArray *
wr_store_node_list(WrStore *self, gint64 user_id, GError **error);
/*
 * Rotation: old_key must be the current key (INVALID otherwise); it becomes old_node_key and
 * new_key the current key, with its expiry.  The old key keeps finding the node until
 * wr_store_node_forget_old_key.
 */
gboolean
wr_store_node_rotate_key(WrStore *self, gint64 id, const char *old_key, const char *new_key,
			 gint64 key_expiry, GError **error);
gboolean
wr_store_node_forget_old_key(WrStore *self, gint64 id, GError **error);
/* what a map request reports; hostinfo NULL keeps the stored one */
gboolean
wr_store_node_update_status(WrStore *self, gint64 id, const char *disco_key,
			    const char *const *endpoints, const char *hostinfo, gint64 last_seen,
			    GError **error);
/* advertised routes and the exit-node offer, from hostinfo */
gboolean
wr_store_node_set_advertised(WrStore *self, gint64 id, const char *const *routes,
			     gboolean exit_node, GError **error);
gboolean
wr_store_node_rename(WrStore *self, gint64 id, const char *name, GError **error);
gboolean
wr_store_node_set_tags(WrStore *self, gint64 id, const char *const *tags, GError **error);
gboolean
wr_store_node_set_approved_routes(WrStore *self, gint64 id, const char *const *routes,
				  GError **error);
/* sets key_expiry to now unless the key already expired earlier */
gboolean
wr_store_node_expire(WrStore *self, gint64 id, gint64 now, GError **error);
gboolean
wr_store_node_delete(WrStore *self, gint64 id, GError **error);

/*
 * Pre-auth keys.  create generates the key, stores only its public prefix and a BLAKE2s hash,
 * and returns the key text once in out_secret (WR_STORE_AUTHKEY_LEN chars, never logged: wipe
 * it after use).  expiry 0 = never.
 */
WrStoreAuthKey *
wr_store_authkey_create(WrStore *self, gint64 user_id, gboolean reusable, gboolean ephemeral,
			const char *const *tags, gint64 expiry, gint64 now, char **out_secret,
			GError **error);
/* of WrStoreAuthKey, by id */
GPtrArray *
wr_store_authkey_list(WrStore *self, GError **error);
/* by the secret text: the hash is compared in constant time; NOT_FOUND for any mismatch */
WrStoreAuthKey *
wr_store_authkey_lookup(WrStore *self, const char *secret, GError **error);
/* marks a key used; USED when a one-off key was used already */
gboolean
wr_store_authkey_mark_used(WrStore *self, gint64 id, GError **error);
/*
 * lookup, then refuse an expired (EXPIRED) or used one-off (USED) key, then mark it used, in
 * one transaction: what registering with a pre-auth key does
 */
WrStoreAuthKey *
wr_store_authkey_consume(WrStore *self, const char *secret, gint64 now, GError **error);
/* sets the expiry to now unless it expired earlier */
gboolean
wr_store_authkey_expire(WrStore *self, gint64 id, gint64 now, GError **error);

/* the policy: each set is a new version; get is NULL with no error when none was ever set */
WrStorePolicy *
wr_store_policy_set(WrStore *self, const char *text, const char *actor, gint64 now, GError **error);
WrStorePolicy *
wr_store_policy_get(WrStore *self, GError **error);
/* of WrStorePolicy, newest first, at most limit (0 = all) */
GPtrArray *
wr_store_policy_history(WrStore *self, guint limit, GError **error);

/* detail is JSON text (NULL = "{}"); returns the new event's id, 0 on error */
gint64
wr_store_audit_append(WrStore *self, gint64 time, const char *actor, const char *action,
		      const char *target, const char *detail, GError **error);
/* of WrStoreAuditEvent with time >= since, oldest first (append order), at most limit (0 = all) */
GPtrArray *
wr_store_audit_list(WrStore *self, gint64 since, guint limit, GError **error);

/* appends n flow records of node_id (owned by user_id, 0 for none) received at now, all or
 * none; INVALID for an empty protocol, address or end reason */
gboolean
wr_store_flows_append(WrStore *self, gint64 node_id, gint64 user_id, gint64 now,
		      const WrStoreFlow *const *flows, guint n, GError **error);
/* the records that ended at or after since_us, of node_id and user_id (0: any), oldest end
 * first, at most limit (0: no limit); WrStoreFlow */
GPtrArray *
wr_store_flows_list(WrStore *self, gint64 node_id, gint64 user_id, gint64 since_us, guint limit,
		    GError **error);
