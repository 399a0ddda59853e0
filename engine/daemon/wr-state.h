/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * warrend's state directory (/var/lib/warren, or --state-dir): what survives a restart.
 *
 *   machine.key   "privkey:<hex>", 0600: the machine key, one per installation
 *   node.key      "privkey:<hex>", 0600: the node (WireGuard) key; absent until there is one
 *   node-next.key "privkey:<hex>", 0600: a rotation's new node key, saved before control is
 *                 asked and renamed over node.key once control confirmed it
 *                 (docs/key-rotation.md has the states and the recovery at start)
 *   prefs.conf    the preferences (wr-prefs), 0600
 *   netmap.json   the last network map from control, an opaque JSON object, 0600, so that a
 *                 restart brings the tailnet back before control answers
 *
 * The directory is 0700 (made so when it is wider).  The disco key is never on disk: it is new
 * at every start (docs/design.md, "Keys").
 *
 * Every write is atomic: a temporary file ".NAME.tmp-XXXXXX" in the same directory, written,
 * fsync'ed, renamed over NAME, then the directory fsync'ed.  A crash at any point leaves
 * either the old file or the new one; a temporary file left over by a crash is removed at the
 * next wr_state_load().
 *
 * Nothing is silently lost: a file that exists but cannot be used (unreadable, not a regular
 * file, corrupt, too large, a key readable by others, a prefs file that does not parse) is
 * renamed to "NAME.corrupt-<unix time>" (never over an existing file), a problem naming it is
 * recorded (wr_state_get_problems(), for the Health property and the log), and a fresh default
 * is used: defaults for the prefs, no network map, a new machine key, no node key (the next
 * sign-in makes one).  A new machine key is made only when the file was absent or set aside;
 * its origin says which happened.  A key file readable by others is set aside too (not
 * chmod'ed back): whoever could read it may hold the key.  When a file cannot be set aside,
 * or the directory cannot be used, wr_state_load() fails with a GError and that file stays as
 * it was.
 *
 * Not thread-safe: warrend uses it from the main loop.
 */
#pragma once

#include <stdint.h>

#include <gio/gio.h>

#include "wr-prefs.h"

#define WR_STATE_ERROR (wr_state_error_quark())
GQuark
wr_state_error_quark(void);

typedef enum {
	WR_STATE_ERROR_IO,	 /* the directory or a file cannot be read, written or renamed */
	WR_STATE_ERROR_INVALID,	 /* a value refused before writing (see the message) */
	WR_STATE_ERROR_TOO_LARGE /* a network map over WR_STATE_NETMAP_MAX */
} WrStateError;

#define WR_STATE_MACHINE_KEY   "machine.key"
#define WR_STATE_NODE_KEY      "node.key"
#define WR_STATE_NEXT_NODE_KEY "node-next.key"
#define WR_STATE_PREFS	       "prefs.conf"
#define WR_STATE_NETMAP	       "netmap.json"

/* a network map of 10000 peers is about 10 MB of JSON */
#define WR_STATE_NETMAP_MAX (32 * 1024 * 1024)
/* problems recorded at most (each file can be set aside once per load) */
#define WR_STATE_MAX_PROBLEMS 16

typedef enum {
	WR_STATE_KEY_NONE,     /* no key (the node key before the first login) */
	WR_STATE_KEY_LOADED,   /* read from its file */
	WR_STATE_KEY_CREATED,  /* the file was absent: a new key */
	WR_STATE_KEY_REPLACED, /* the machine key's file was set aside: a new key (a problem
				* says so) */
} WrStateKeyOrigin;

typedef struct _WrState WrState;

/* makes the directory (0700) when it is absent, narrows it to 0700 when it is wider; loads
 * nothing */
WrState *
wr_state_new(const char *dir, GError **error);

void
wr_state_free(WrState *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrState, wr_state_free)

const char *
wr_state_get_dir(const WrState *self);

/* reads everything (see above), removes leftover temporary files, makes a new disco key;
 * FALSE only when the state cannot be used at all: a file cannot be set aside or a new key
 * cannot be saved.  Even then no file was overwritten (a file handled before the failure may
 * have been set aside, or a missing machine key created) */
gboolean
wr_state_load(WrState *self, GError **error);

/* what went wrong with the directory and the files since wr_state_new, one English sentence
 * each naming the file and where it was set aside; NULL-terminated, empty when all was well */
const char *const *
wr_state_get_problems(const WrState *self);

/* the private keys (32 bytes, in guarded memory): valid after wr_state_load until the next
 * change or wr_state_free; never to be logged or sent.  The node key is NULL while its origin
 * is WR_STATE_KEY_NONE */
const uint8_t *
wr_state_get_machine_key(const WrState *self);
WrStateKeyOrigin
wr_state_get_machine_key_origin(const WrState *self);
const uint8_t *
wr_state_get_node_key(const WrState *self);
WrStateKeyOrigin
wr_state_get_node_key_origin(const WrState *self);
const uint8_t *
wr_state_get_disco_key(const WrState *self);

/* a new node key, saved before it is used (at login and rotation) */
gboolean
wr_state_new_node_key(WrState *self, GError **error);

/* when the node key was made (Unix seconds, its file's time), 0 without one */
gint64
wr_state_get_node_key_time(const WrState *self);

/*
 * Rotation (docs/key-rotation.md).  new_next makes a new node key and saves it as
 * node-next.key before anyone is told of it; get_next returns it (NULL when there is none,
 * also after a start that found none); promote renames it over node.key once control confirmed
 * it (a crash leaves one of the two states, both whole); drop forgets it (control refused it).
 */
const uint8_t *
wr_state_get_next_node_key(const WrState *self);
gboolean
wr_state_new_next_node_key(WrState *self, GError **error);
gboolean
wr_state_promote_next_node_key(WrState *self, GError **error);
gboolean
wr_state_drop_next_node_key(WrState *self, GError **error);

/* forgets the node key (logout): its file is removed, and a rotation's new key with it */
gboolean
wr_state_clear_node_key(WrState *self, GError **error);

/* the preferences in force: the defaults before wr_state_load */
const WrPrefs *
wr_state_get_prefs(const WrState *self);

/* checks prefs (WR_STATE_ERROR_INVALID naming the value), saves them atomically, and only then
 * makes them the ones in force */
gboolean
wr_state_set_prefs(WrState *self, const WrPrefs *prefs, GError **error);

/* the last network map saved, NULL when there is none */
GBytes *
wr_state_get_netmap(const WrState *self);

/* saves a network map (a JSON object, at most WR_STATE_NETMAP_MAX bytes) atomically */
gboolean
wr_state_set_netmap(WrState *self, GBytes *json, GError **error);

/* forgets the saved network map (logout, another control server): its file is removed */
gboolean
wr_state_clear_netmap(WrState *self, GError **error);
