/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The backend side of WrStore: a backend executes one SQL statement at a time with typed
 * parameters written $1, $2, … (the same text for both backends) and hands back every row as
 * text.  The typed operations, the schema and its migrations live once, in wr-store.c.
 */

#pragma once

#include <glib.h>

#include "wr-store.h"

typedef enum {
	WR_STORE_PARAM_NULL,
	WR_STORE_PARAM_TEXT,
	WR_STORE_PARAM_INT,
} WrStoreParamType;

typedef struct {
	WrStoreParamType type;
	const char *text;
	gint64 num;
} WrStoreParam;

/* rows of columns, each cell a string or NULL for SQL NULL, row after row */
typedef struct {
	guint n_columns;
	guint n_rows;
	GPtrArray *cells; /* n_rows * n_columns */
	gint64 changes;	  /* rows an INSERT, UPDATE or DELETE touched */
} WrStoreRows;

void
wr_store_rows_free(WrStoreRows *rows);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WrStoreRows, wr_store_rows_free)
WrStoreRows *
wr_store_rows_new(guint n_columns);
/* appends a cell (taking it); every n_columns cells make a row */
void
wr_store_rows_add(WrStoreRows *rows, char *cell);

typedef struct _WrStoreBackend WrStoreBackend;

typedef struct {
	const char *name;
	/* the column type of the schema's surrogate keys */
	const char *id_type;
	/*
	 * runs one statement; failures map UNIQUE violations to WR_STORE_ERROR_EXISTS, foreign
	 * key violations to WR_STORE_ERROR_IN_USE and the rest to WR_STORE_ERROR_FAILED
	 */
	WrStoreRows *(*exec)(WrStoreBackend *backend, const char *sql, const WrStoreParam *params,
			     guint n_params, GError **error);
	/* starts a write transaction */
	const char *begin_sql;
	/* NULL, or what serialises migrations between processes inside the transaction */
	const char *migration_lock_sql;
	void (*close)(WrStoreBackend *backend);
} WrStoreBackendClass;

struct _WrStoreBackend {
	const WrStoreBackendClass *klass;
};

WrStoreBackend *
wr_store_sqlite_open(const char *path, GError **error);
WrStoreBackend *
wr_store_pg_open(const char *conninfo, GError **error);
