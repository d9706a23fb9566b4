/*
 * store.h - the storage interface. Every table Steward keeps is reached
 * through these functions; only the files of src/store include a database
 * library. A backend (SQLite now, PostgreSQL later) is one table of
 * functions, struct store_backend; callers never see which one is in use.
 *
 * SQL written by callers must be portable: '?' placeholders (a backend
 * rewrites them if it needs to), INTEGER/TEXT/BLOB columns, INSERT ...
 * RETURNING id, ON CONFLICT DO NOTHING. No backend-specific functions.
 *
 * Threads: a struct store is shared; it hands out connections
 * (store_acquire/store_release), each used by one thread at a time. Prepared
 * statements are cached per connection.
 */
#ifndef STEWARD_STORE_H
#define STEWARD_STORE_H

#include "common/base.h"

struct store;
struct store_conn;
struct store_stmt;

enum { STORE_DONE = 0, STORE_ROW = 1 };

struct store_options {
	const char *backend;  /* "sqlite" */
	const char *location; /* file path for SQLite */
	int pool_size;        /* connections; 0 = default (8) */
	const char *vfs;      /* SQLite only: "steward-fault" in fault-injection tests */
	bool create;          /* create the database if missing */
	bool relaxed;         /* derived data: commits need not survive a power
			       * failure (SQLite synchronous=NORMAL) */
};

struct store_backend {
	const char *name;
	/* One writer at a time (SQLite): write transactions of this process
	 * queue on a lock of their own rather than on the database's busy
	 * wait, which sleeps up to 100 ms between tries. */
	bool one_writer;
	int (*open)(const struct store_options *opt, void **db, struct st_error *e);
	void (*close)(void *db);
	int (*conn_open)(void *db, void **conn, struct st_error *e);
	void (*conn_close)(void *conn);
	int (*prepare)(void *conn, const char *sql, void **stmt, struct st_error *e);
	void (*finalize)(void *stmt);
	int (*bind_int)(void *stmt, int idx, int64_t v);
	int (*bind_text)(void *stmt, int idx, const char *s, size_t len);
	int (*bind_blob)(void *stmt, int idx, const void *p, size_t len);
	int (*bind_null)(void *stmt, int idx);
	int (*step)(void *stmt, struct st_error *e);
	void (*reset)(void *stmt);
	int64_t (*col_int)(void *stmt, int col);
	const char *(*col_text)(void *stmt, int col, size_t *len);
	const void *(*col_blob)(void *stmt, int col, size_t *len);
	bool (*col_null)(void *stmt, int col);
	int (*exec)(void *conn, const char *sql, struct st_error *e);
	int (*begin)(void *conn, struct st_error *e);
	int (*begin_read)(void *conn, struct st_error *e);
	int (*commit)(void *conn, struct st_error *e);
	int (*rollback)(void *conn);
	int64_t (*changes)(void *conn);
	/* Removes freed pages for good (VACUUM-like); used after shredding. */
	int (*purge_free_space)(void *conn, struct st_error *e);
	/* A consistent copy of the whole database, taken while others may
	 * write, into a new file `dest` (created 0600, flushed to disk). */
	int (*backup)(void *db, const char *dest, struct st_error *e);
	/* Group commit across threads: this connection's commits return
	 * before they are on disk; store_sync() then makes every commit so
	 * far durable at once. */
	int (*defer_sync)(void *conn, struct st_error *e);
	int (*sync)(void *db, struct st_error *e);
	/* Moves committed data from the write-ahead log into the database
	 * (durably), so the log can be reused. */
	int (*checkpoint)(void *conn, bool restart, int64_t *log_bytes, struct st_error *e);
	/* A number that changes whenever a connection of this process commits
	 * a change (explicitly or by autocommit), once it is visible. */
	uint64_t (*generation)(void *db);
};

extern const struct store_backend store_sqlite_backend;

int store_open(const struct store_options *opt, struct store **out, struct st_error *e);
void store_close(struct store *s);
const char *store_backend_name(const struct store *s);

/* Takes a connection from the pool, waiting if all are busy. */
int store_acquire(struct store *s, struct store_conn **out, struct st_error *e);
/* Returns it; an open transaction is rolled back. */
void store_release(struct store_conn *c);

/* Runs one or more statements without parameters (DDL, pragmas). */
int store_exec(struct store_conn *c, const char *sql, struct st_error *e);

/* A cached prepared statement, reset and with bindings cleared. Bind with
 * 1-based indexes. store_done() resets it for reuse (also done by the next
 * store_prepare of the same SQL). */
int store_prepare(struct store_conn *c, const char *sql, struct store_stmt **out,
		  struct st_error *e);
void store_done(struct store_stmt *st);
void store_bind_int(struct store_stmt *st, int idx, int64_t v);
void store_bind_text(struct store_stmt *st, int idx, const char *s); /* NULL -> NULL */
void store_bind_blob(struct store_stmt *st, int idx, const void *p, size_t len);
void store_bind_null(struct store_stmt *st, int idx);
/* STORE_ROW, STORE_DONE, or a negative status (ST_ECONFLICT for a
 * constraint violation, ST_EUNAVAIL when busy, ST_EIO otherwise). */
int store_step(struct store_stmt *st, struct st_error *e);
int64_t store_col_int(struct store_stmt *st, int col);
const char *store_col_text(struct store_stmt *st, int col); /* "" if NULL */
const void *store_col_blob(struct store_stmt *st, int col, size_t *len);
bool store_col_null(struct store_stmt *st, int col);

/* One-shot helpers. fmt lists parameter types: 'i' int64_t, 't' const char *
 * (NULL binds NULL), 'b' const void * then size_t, 'n' NULL. */
int store_run(struct store_conn *c, struct st_error *e, const char *sql,
	      const char *fmt, ...);
/* Runs a query expecting one integer in the first column of the first row;
 * ST_ENOTFOUND when there is no row. */
int store_query_int(struct store_conn *c, int64_t *out, struct st_error *e,
		    const char *sql, const char *fmt, ...);
/* Binds parameters of fmt to st starting at index 1. */
void store_bindv(struct store_stmt *st, const char *fmt, va_list ap);
void store_bind(struct store_stmt *st, const char *fmt, ...);
int64_t store_changes(struct store_conn *c);

/* Write transactions (SQLite: BEGIN IMMEDIATE). Not nested. A writer that
 * cannot start within 10 s gets ST_EUNAVAIL ("busy"). */
int store_begin(struct store_conn *c, struct st_error *e);
/* A read transaction (SQLite: BEGIN): the reads until store_commit() see
 * one snapshot and share one begin and end (cheaper than one each). */
int store_begin_read(struct store_conn *c, struct st_error *e);
int store_commit(struct store_conn *c, struct st_error *e);
void store_rollback(struct store_conn *c);
bool store_in_transaction(const struct store_conn *c);
int store_purge_free_space(struct store_conn *c, struct st_error *e);
/* See store_backend.backup. */
int store_backup(struct store *s, const char *dest, struct st_error *e);

/* Deferred durability for one connection (the access log's writer): its
 * commits are ordered and atomic but not yet durable; store_sync() makes
 * all commits so far durable with one flush, and may run on another thread
 * while the writer goes on. A connection in this mode never checkpoints;
 * call store_checkpoint() from a normal connection. */
int store_defer_sync(struct store_conn *c, struct st_error *e);
int store_sync(struct store *s, struct st_error *e);
/* Changes whenever a database of this process commits a change (counted
 * once the change is visible): what a cache of rows checks before it
 * answers. Other processes are not counted: every command that writes a
 * data directory's main database takes the directory's lock, which a
 * running server holds. */
uint64_t store_generation(struct store *s);
/* restart: also wait for the writer so the log is reused from its start
 * (keeps the log file from growing under constant writes). *log_bytes
 * receives the size of the write-ahead log in use before the call. */
int store_checkpoint(struct store_conn *c, bool restart, int64_t *log_bytes,
		     struct st_error *e);

/* --- schema migrations (migrate.c) ------------------------------------- */
/* Components are migrated independently: "main" (records, people, rules)
 * and "audit" (the access log, which may live in its own database). */
struct migration {
	int version;
	const char *name;
	const char *sql; /* portable DDL */
};
/* The latest version known for a component (0 if unknown component). */
int store_schema_latest(const char *component);
/* The applied version (0 for an empty database). */
int store_schema_version(struct store *s, const char *component, int *version,
			 struct st_error *e);
/* Applies every pending migration up to target (-1 = latest), each in its
 * own transaction, recording it in schema_migrations. Refuses a database
 * newer than this program. */
int store_migrate(struct store *s, const char *component, int target, struct st_error *e);

/* --- fault injection for tests (sqlite backend, "steward-fault" VFS) ---- */
enum store_fault { STORE_FAULT_NONE = 0, STORE_FAULT_WRITE = 1, STORE_FAULT_SYNC = 2 };
/* After `after` successful operations of that kind on files whose name
 * contains `file` (NULL: any file), every further one fails until
 * store_fault_clear(). */
void store_fault_arm(enum store_fault kind, int after, const char *file);
void store_fault_clear(void);
/* For other files under test (the access-log journal): whether an armed
 * fault fires on this operation on the file `name`. */
bool store_fault_fires(enum store_fault kind, const char *name);

#endif
