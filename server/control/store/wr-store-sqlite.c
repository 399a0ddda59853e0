/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The SQLite backend of WrStore: one file (created 0600, and SQLite gives its -wal and -shm
 * files the same mode), WAL journal, foreign keys on, a busy timeout, and every statement
 * prepared once and kept for the life of the connection.
 */

#define G_LOG_DOMAIN "WrStore"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include "wr-store-private.h"

/* how long a statement waits for another connection's lock */
#define BUSY_TIMEOUT_MS 5000

typedef struct {
	WrStoreBackend parent;
	sqlite3 *db;
	GHashTable *statements; /* SQL text → sqlite3_stmt */
} SqliteBackend;

static void
set_error(SqliteBackend *self, int rc, GError **error)
{
	int code = WR_STORE_ERROR_FAILED;
	int extended = sqlite3_extended_errcode(self->db);

	if (extended == SQLITE_CONSTRAINT_UNIQUE || extended == SQLITE_CONSTRAINT_PRIMARYKEY)
		code = WR_STORE_ERROR_EXISTS;
	else if (extended == SQLITE_CONSTRAINT_FOREIGNKEY)
		code = WR_STORE_ERROR_IN_USE;
	g_set_error(error, WR_STORE_ERROR, code, "SQLite: %s (%s)", sqlite3_errmsg(self->db),
		    sqlite3_errstr(rc));
}

static void
finalize_cb(gpointer stmt)
{
	(void) sqlite3_finalize(stmt);
}

static sqlite3_stmt *
prepare(SqliteBackend *self, const char *sql, GError **error)
{
	sqlite3_stmt *stmt = g_hash_table_lookup(self->statements, sql);
	int rc;

	if (stmt != NULL)
		return stmt;
	rc = sqlite3_prepare_v3(self->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
	if (rc != SQLITE_OK) {
		set_error(self, rc, error);
		return NULL;
	}
	g_hash_table_insert(self->statements, g_strdup(sql), stmt);
	return stmt;
}

static gboolean
bind(SqliteBackend *self, sqlite3_stmt *stmt, const WrStoreParam *params, guint n_params,
     GError **error)
{
	for (guint i = 0; i < n_params; i++) {
		char name[16];
		int index;
		int rc = SQLITE_OK;

		g_snprintf(name, sizeof(name), "$%u", i + 1);
		index = sqlite3_bind_parameter_index(stmt, name);
		if (index == 0)
			continue;
		if (params[i].type == WR_STORE_PARAM_INT)
			rc = sqlite3_bind_int64(stmt, index, params[i].num);
		else if (params[i].type == WR_STORE_PARAM_TEXT && params[i].text != NULL)
			rc = sqlite3_bind_text(stmt, index, params[i].text, -1, SQLITE_TRANSIENT);
		else
			rc = sqlite3_bind_null(stmt, index);
		if (rc != SQLITE_OK) {
			set_error(self, rc, error);
			return FALSE;
		}
	}
	return TRUE;
}

static WrStoreRows *
step_all(SqliteBackend *self, sqlite3_stmt *stmt, GError **error)
{
	g_autoptr(WrStoreRows) rows = wr_store_rows_new(sqlite3_column_count(stmt));

	for (;;) {
		int rc = sqlite3_step(stmt);

		if (rc == SQLITE_DONE)
			break;
		if (rc != SQLITE_ROW) {
			set_error(self, rc, error);
			return NULL;
		}
		for (guint c = 0; c < rows->n_columns; c++) {
			if (sqlite3_column_type(stmt, c) != SQLITE_NULL)
				wr_store_rows_add(rows, g_strdup((const char *) sqlite3_column_text(
								stmt, c)));
			else
				wr_store_rows_add(rows, NULL);
		}
	}
	rows->changes = sqlite3_changes64(self->db);
	return g_steal_pointer(&rows);
}

static WrStoreRows *
sqlite_exec(WrStoreBackend *backend, const char *sql, const WrStoreParam *params, guint n_params,
	    GError **error)
{
	SqliteBackend *self = (SqliteBackend *) backend;
	sqlite3_stmt *stmt = prepare(self, sql, error);
	WrStoreRows *rows = NULL;

	if (stmt == NULL)
		return NULL;
	if (bind(self, stmt, params, n_params, error))
		rows = step_all(self, stmt, error);
	(void) sqlite3_reset(stmt);
	(void) sqlite3_clear_bindings(stmt);
	return rows;
}

static void
sqlite_close(WrStoreBackend *backend)
{
	SqliteBackend *self = (SqliteBackend *) backend;

	/* finalizes every statement before the connection goes */
	g_clear_pointer(&self->statements, g_hash_table_unref);
	if (self->db != NULL && sqlite3_close(self->db) != SQLITE_OK)
		g_warning("closing the SQLite store: %s, ignoring", sqlite3_errmsg(self->db));
	g_free(self);
}

static const WrStoreBackendClass sqlite_class = {
	.name = "sqlite",
	.id_type = "INTEGER PRIMARY KEY AUTOINCREMENT",
	.exec = sqlite_exec,
	.begin_sql = "BEGIN IMMEDIATE",
	.close = sqlite_close,
};

static gboolean
pragma(SqliteBackend *self, const char *sql, GError **error)
{
	char *message = NULL;
	int rc = sqlite3_exec(self->db, sql, NULL, NULL, &message);

	if (rc != SQLITE_OK) {
		g_set_error(error, WR_STORE_ERROR, WR_STORE_ERROR_FAILED, "SQLite: %s: %s", sql,
			    message != NULL ? message : sqlite3_errstr(rc));
		sqlite3_free(message);
		return FALSE;
	}
	return TRUE;
}

/* makes sure a new file is born 0600 rather than with the umask's mode */
static gboolean
create_private(const char *path, GError **error)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0) {
		int errsv = errno;

		g_set_error(error, WR_STORE_ERROR,
			    errsv == ENOENT || errsv == EISDIR || errsv == ELOOP
				    ? WR_STORE_ERROR_BAD_URL
				    : WR_STORE_ERROR_FAILED,
			    "cannot open %s: %s", path, g_strerror(errsv));
		return FALSE;
	}
	(void) close(fd);
	return TRUE;
}

WrStoreBackend *
wr_store_sqlite_open(const char *path, GError **error)
{
	SqliteBackend *self;
	int rc;

	if (path[0] == ':' || g_str_has_suffix(path, "/")) {
		g_set_error(error, WR_STORE_ERROR, WR_STORE_ERROR_BAD_URL,
			    "%s: not a database file path", path);
		return NULL;
	}
	if (!create_private(path, error))
		return NULL;
	self = g_new0(SqliteBackend, 1);
	self->parent.klass = &sqlite_class;
	self->statements = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, finalize_cb);
	rc = sqlite3_open_v2(path, &self->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_EXRESCODE,
			     NULL);
	if (rc != SQLITE_OK) {
		g_set_error(error, WR_STORE_ERROR, WR_STORE_ERROR_FAILED, "SQLite: %s: %s", path,
			    self->db != NULL ? sqlite3_errmsg(self->db) : sqlite3_errstr(rc));
		sqlite_close(&self->parent);
		return NULL;
	}
	(void) sqlite3_extended_result_codes(self->db, 1);
	(void) sqlite3_busy_timeout(self->db, BUSY_TIMEOUT_MS);
	if (!pragma(self, "PRAGMA foreign_keys = ON", error) ||
	    !pragma(self, "PRAGMA journal_mode = WAL", error) ||
	    !pragma(self, "PRAGMA synchronous = FULL", error)) {
		g_prefix_error(error, "%s: ", path);
		sqlite_close(&self->parent);
		return NULL;
	}
	return &self->parent;
}
