/*
 * sqlite.c - the SQLite backend of the storage interface, the embedded
 * default. Every connection runs in WAL mode with synchronous=FULL (a commit
 * returns only once it is on disk), foreign keys on, and secure_delete on so
 * freed pages are overwritten with zeros.
 *
 * Also here: the "steward-fault" VFS, a shim over the default VFS that tests
 * arm to fail writes or fsyncs, to prove that a failed write never turns
 * into a served record (SQLite's own testing uses the same technique).
 */
#include <fcntl.h>
#include <sqlite3.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdatomic.h>

#include "store/store.h"

struct sqlite_db {
	char *path;
	const char *vfs;
	bool relaxed;
	pthread_mutex_t wal_lock;
	int wal_fd; /* our own descriptor on the WAL, for store_sync */
	ino_t wal_ino;
};

/* store_generation(): every commit of every database of this process. */
static _Atomic uint64_t commits;

/* --- fault-injection VFS ------------------------------------------------ */

static atomic_int fault_kind;
static atomic_int fault_after;
static char fault_file_name[256];

void store_fault_arm(enum store_fault kind, int after, const char *file)
{
	atomic_store(&fault_kind, STORE_FAULT_NONE);
	str_copy(fault_file_name, sizeof(fault_file_name), file ? file : "");
	atomic_store(&fault_after, after);
	atomic_store(&fault_kind, (int)kind);
}

void store_fault_clear(void)
{
	atomic_store(&fault_kind, STORE_FAULT_NONE);
}

bool store_fault_fires(enum store_fault kind, const char *name)
{
	if (atomic_load(&fault_kind) != (int)kind)
		return false;
	if (fault_file_name[0] && (!name || !strstr(name, fault_file_name)))
		return false;
	return atomic_fetch_sub(&fault_after, 1) <= 0;
}

struct fault_file {
	sqlite3_file base;
	sqlite3_file *real;
	const char *name;
};

static sqlite3_vfs *real_vfs;
#define REAL(f) (((struct fault_file *)(f))->real)

static int ff_close(sqlite3_file *f)
{
	int rc = REAL(f)->pMethods ? REAL(f)->pMethods->xClose(REAL(f)) : SQLITE_OK;
	return rc;
}
static int ff_read(sqlite3_file *f, void *p, int n, sqlite3_int64 off)
{
	return REAL(f)->pMethods->xRead(REAL(f), p, n, off);
}
static int ff_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 off)
{
	if (store_fault_fires(STORE_FAULT_WRITE, ((struct fault_file *)f)->name))
		return SQLITE_IOERR_WRITE;
	return REAL(f)->pMethods->xWrite(REAL(f), p, n, off);
}
static int ff_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	return REAL(f)->pMethods->xTruncate(REAL(f), size);
}
static int ff_sync(sqlite3_file *f, int flags)
{
	if (store_fault_fires(STORE_FAULT_SYNC, ((struct fault_file *)f)->name))
		return SQLITE_IOERR_FSYNC;
	return REAL(f)->pMethods->xSync(REAL(f), flags);
}
static int ff_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return REAL(f)->pMethods->xFileSize(REAL(f), size);
}
static int ff_lock(sqlite3_file *f, int l)
{
	return REAL(f)->pMethods->xLock(REAL(f), l);
}
static int ff_unlock(sqlite3_file *f, int l)
{
	return REAL(f)->pMethods->xUnlock(REAL(f), l);
}
static int ff_reserved(sqlite3_file *f, int *out)
{
	return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}
static int ff_control(sqlite3_file *f, int op, void *arg)
{
	return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}
static int ff_sector(sqlite3_file *f)
{
	return REAL(f)->pMethods->xSectorSize(REAL(f));
}
static int ff_devchar(sqlite3_file *f)
{
	return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}
static int ff_shm_map(sqlite3_file *f, int pg, int sz, int extend, void volatile **pp)
{
	return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, extend, pp);
}
static int ff_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
	return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}
static void ff_shm_barrier(sqlite3_file *f)
{
	REAL(f)->pMethods->xShmBarrier(REAL(f));
}
static int ff_shm_unmap(sqlite3_file *f, int del)
{
	return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}

static const sqlite3_io_methods fault_methods = {
	2,           ff_close,   ff_read,    ff_write,       ff_truncate,
	ff_sync,     ff_size,    ff_lock,    ff_unlock,      ff_reserved,
	ff_control,  ff_sector,  ff_devchar, ff_shm_map,     ff_shm_lock,
	ff_shm_barrier, ff_shm_unmap, NULL,  NULL,
};

static int fv_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags,
		   int *out_flags)
{
	struct fault_file *ff = (struct fault_file *)f;
	ff->real = (sqlite3_file *)(ff + 1);
	ff->name = name; /* SQLite keeps the name valid while the file is open */
	int rc = real_vfs->xOpen(real_vfs, name, ff->real, flags, out_flags);
	ff->base.pMethods = rc == SQLITE_OK ? &fault_methods : NULL;
	return rc;
}
static int fv_delete(sqlite3_vfs *v, const char *n, int sync)
{
	return real_vfs->xDelete(real_vfs, n, sync);
}
static int fv_access(sqlite3_vfs *v, const char *n, int flags, int *out)
{
	return real_vfs->xAccess(real_vfs, n, flags, out);
}
static int fv_fullpath(sqlite3_vfs *v, const char *n, int size, char *out)
{
	return real_vfs->xFullPathname(real_vfs, n, size, out);
}
static void *fv_dlopen(sqlite3_vfs *v, const char *n)
{
	return real_vfs->xDlOpen(real_vfs, n);
}
static void fv_dlerror(sqlite3_vfs *v, int n, char *msg)
{
	real_vfs->xDlError(real_vfs, n, msg);
}
static void (*fv_dlsym(sqlite3_vfs *v, void *h, const char *s))(void)
{
	return real_vfs->xDlSym(real_vfs, h, s);
}
static void fv_dlclose(sqlite3_vfs *v, void *h)
{
	real_vfs->xDlClose(real_vfs, h);
}
static int fv_random(sqlite3_vfs *v, int n, char *out)
{
	return real_vfs->xRandomness(real_vfs, n, out);
}
static int fv_sleep(sqlite3_vfs *v, int us)
{
	return real_vfs->xSleep(real_vfs, us);
}
static int fv_time(sqlite3_vfs *v, double *out)
{
	return real_vfs->xCurrentTime(real_vfs, out);
}
static int fv_lasterr(sqlite3_vfs *v, int n, char *out)
{
	return real_vfs->xGetLastError ? real_vfs->xGetLastError(real_vfs, n, out) : 0;
}
static int fv_time64(sqlite3_vfs *v, sqlite3_int64 *out)
{
	return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

static sqlite3_vfs fault_vfs = {
	2, 0, 0, NULL, "steward-fault", NULL,
	fv_open, fv_delete, fv_access, fv_fullpath, fv_dlopen, fv_dlerror, fv_dlsym,
	fv_dlclose, fv_random, fv_sleep, fv_time, fv_lasterr, fv_time64,
	NULL, NULL, NULL,
};

static void register_fault_vfs(void)
{
	static atomic_flag done = ATOMIC_FLAG_INIT;
	if (atomic_flag_test_and_set(&done))
		return;
	real_vfs = sqlite3_vfs_find(NULL);
	fault_vfs.szOsFile = (int)sizeof(struct fault_file) + real_vfs->szOsFile;
	fault_vfs.mxPathname = real_vfs->mxPathname;
	sqlite3_vfs_register(&fault_vfs, 0);
}

/* --- the backend ---------------------------------------------------------- */

static int map_rc(sqlite3 *db, int rc, struct st_error *e)
{
	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT:
		/* SQLite's text names tables and columns: it is neither for
		 * whoever sent the request nor worth a line in the server's
		 * error stream for every name taken. Callers that know which
		 * entry it is (a taken username, ...) say so in their own words,
		 * and the refusal reaches the access log with that code. */
		(void)db;
		return err_setc(e, ST_ECONFLICT, "conflict", NULL,
				"it conflicts with an existing entry");
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return err_set(e, ST_EUNAVAIL, NULL, "the database is busy");
	case SQLITE_FULL:
		return err_set(e, ST_EIO, NULL, "the disk is full");
	default:
		return err_set(e, ST_EIO, NULL, "storage error: %s", sqlite3_errmsg(db));
	}
}

/* SQLite counts its memory under one process-wide lock unless told not
 * to; every connection of every thread would contend for it. */
static void sq_configure(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static int sq_open(const struct store_options *opt, void **out, struct st_error *e)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, sq_configure);
	if (!opt->location)
		return err_set(e, ST_EINVAL, NULL, "no database location given");
	if (opt->vfs && str_eq(opt->vfs, "steward-fault"))
		register_fault_vfs();
	if (opt->create) {
		/* SQLite gives the -wal and -shm files the database file's mode:
		 * create it owner-only whatever the process umask is. */
		int fd = open(opt->location, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0) {
			fchmod(fd, 0600);
			close(fd);
		}
	}
	struct sqlite_db *d = xcalloc(1, sizeof(*d));
	d->path = xstrdup(opt->location);
	d->vfs = opt->vfs;
	d->relaxed = opt->relaxed;
	d->wal_fd = -1;
	pthread_mutex_init(&d->wal_lock, NULL);
	/* Open once now to create the file (if allowed) and set WAL. */
	sqlite3 *db = NULL;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
		    (opt->create ? SQLITE_OPEN_CREATE : 0);
	int rc = sqlite3_open_v2(d->path, &db, flags, d->vfs);
	if (rc != SQLITE_OK) {
		err_set(e, rc == SQLITE_CANTOPEN ? ST_ENOTFOUND : ST_EIO, NULL,
			"cannot open database %s: %s", d->path,
			db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		free(d->path);
		free(d);
		return e ? e->status : ST_EIO;
	}
	sqlite3_busy_timeout(db, 10000);
	char *msg = NULL;
	rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, &msg);
	sqlite3_free(msg);
	sqlite3_close(db);
	if (rc != SQLITE_OK) {
		pthread_mutex_destroy(&d->wal_lock);
		free(d->path);
		free(d);
		return err_set(e, ST_EIO, NULL, "cannot set WAL mode on %s", opt->location);
	}
	*out = d;
	return ST_OK;
}

static void sq_close(void *p)
{
	struct sqlite_db *d = p;
	if (d->wal_fd >= 0)
		close(d->wal_fd);
	pthread_mutex_destroy(&d->wal_lock);
	free(d->path);
	free(d);
}

/* Called after every commit, once it is visible to other connections
 * (SQLite's WAL hook): counts it for store_generation(), and checkpoints
 * as SQLite's own hook would (which this one replaces). */
static int count_commit(void *p, sqlite3 *db, const char *name, int frames)
{
	(void)p;
	atomic_fetch_add(&commits, 1);
	if (frames >= 1000)
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	return SQLITE_OK;
}

static uint64_t sq_generation(void *p)
{
	(void)p;
	return atomic_load(&commits);
}

/* A writing statement in autocommit mode that was not stepped to its end
 * (INSERT ... RETURNING read for its row) commits when it is reset, where
 * SQLite calls no hook: count it then, once it is visible. */
static void count_autocommit(sqlite3_stmt *st)
{
	if (!sqlite3_stmt_readonly(st) && sqlite3_get_autocommit(sqlite3_db_handle(st)))
		atomic_fetch_add(&commits, 1);
}

static int sq_conn_open(void *p, void **out, struct st_error *e)
{
	struct sqlite_db *d = p;
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(d->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
				 d->vfs);
	if (rc != SQLITE_OK) {
		err_set(e, ST_EIO, NULL, "cannot open database %s", d->path);
		sqlite3_close(db);
		return ST_EIO;
	}
	sqlite3_busy_timeout(db, 10000);
	sqlite3_extended_result_codes(db, 1);
	sqlite3_wal_hook(db, count_commit, d);
	char *msg = NULL;
	rc = sqlite3_exec(db,
			  d->relaxed ? "PRAGMA synchronous=NORMAL;" : "PRAGMA synchronous=FULL;",
			  NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db,
			  "PRAGMA foreign_keys=ON;"
			  "PRAGMA secure_delete=ON;"
			  "PRAGMA temp_store=MEMORY;"
			  "PRAGMA cache_size=-16000;",
			  NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		err_set(e, ST_EIO, NULL, "cannot configure database: %s", msg ? msg : "");
		sqlite3_free(msg);
		sqlite3_close(db);
		return ST_EIO;
	}
	*out = db;
	return ST_OK;
}

static void sq_conn_close(void *c)
{
	sqlite3_close_v2(c);
}

static int sq_prepare(void *c, const char *sql, void **out, struct st_error *e)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v3(c, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
	if (rc != SQLITE_OK)
		return err_set(e, ST_EINTERNAL, NULL, "bad SQL (%s): %s", sqlite3_errmsg(c),
			       sql);
	*out = st;
	return ST_OK;
}

static void sq_finalize(void *st)
{
	bool writes = !sqlite3_stmt_readonly(st);
	sqlite3 *db = sqlite3_db_handle(st);
	sqlite3_finalize(st);
	if (writes && sqlite3_get_autocommit(db))
		atomic_fetch_add(&commits, 1);
}
static int sq_bind_int(void *st, int i, int64_t v)
{
	return sqlite3_bind_int64(st, i, v);
}
static int sq_bind_text(void *st, int i, const char *s, size_t n)
{
	return sqlite3_bind_text64(st, i, s, n, SQLITE_TRANSIENT, SQLITE_UTF8);
}
static int sq_bind_blob(void *st, int i, const void *p, size_t n)
{
	return sqlite3_bind_blob64(st, i, p, n, SQLITE_TRANSIENT);
}
static int sq_bind_null(void *st, int i)
{
	return sqlite3_bind_null(st, i);
}

static int sq_step(void *st, struct st_error *e)
{
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return STORE_ROW;
	if (rc == SQLITE_DONE)
		return STORE_DONE;
	int mapped = map_rc(sqlite3_db_handle(st), rc, e);
	sqlite3_reset(st);
	return mapped;
}

static void sq_reset(void *st)
{
	sqlite3_reset(st);
	count_autocommit(st);
	sqlite3_clear_bindings(st);
}
static int64_t sq_col_int(void *st, int col)
{
	return sqlite3_column_int64(st, col);
}
static const char *sq_col_text(void *st, int col, size_t *len)
{
	const char *s = (const char *)sqlite3_column_text(st, col);
	if (len)
		*len = (size_t)sqlite3_column_bytes(st, col);
	return s;
}
static const void *sq_col_blob(void *st, int col, size_t *len)
{
	const void *p = sqlite3_column_blob(st, col);
	*len = (size_t)sqlite3_column_bytes(st, col);
	return p;
}
static bool sq_col_null(void *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL;
}

static int sq_exec(void *c, const char *sql, struct st_error *e)
{
	char *msg = NULL;
	int rc = sqlite3_exec(c, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		int mapped = map_rc(c, rc, e);
		sqlite3_free(msg);
		return mapped;
	}
	return ST_OK;
}

static int sq_begin(void *c, struct st_error *e)
{
	return sq_exec(c, "BEGIN IMMEDIATE", e);
}
static int sq_begin_read(void *c, struct st_error *e)
{
	return sq_exec(c, "BEGIN", e);
}
static int sq_commit(void *c, struct st_error *e)
{
	return sq_exec(c, "COMMIT", e);
}
static int sq_rollback(void *c)
{
	if (sqlite3_get_autocommit(c))
		return ST_OK;
	return sq_exec(c, "ROLLBACK", NULL);
}
static int64_t sq_changes(void *c)
{
	return sqlite3_changes64(c);
}
static int sq_purge(void *c, struct st_error *e)
{
	/* secure_delete has zeroed freed pages in the database; checkpoint and
	 * truncate the WAL so no earlier page image survives there either. */
	return sq_exec(c, "PRAGMA wal_checkpoint(TRUNCATE)", e);
}

static int sq_defer_sync(void *c, struct st_error *e)
{
	/* synchronous=OFF in WAL mode: a commit writes its frames (with their
	 * checksums and commit marker) but does not fsync; an uncheckpointed
	 * WAL is never reset by this connection because it never checkpoints. */
	return sq_exec(c, "PRAGMA synchronous=OFF; PRAGMA wal_autocheckpoint=0;", e);
}

static int sq_sync(void *p, struct st_error *e)
{
	struct sqlite_db *d = p;
	if (d->vfs && str_eq(d->vfs, "steward-fault") && store_fault_fires(STORE_FAULT_SYNC, d->path))
		return err_set(e, ST_EIO, NULL, "storage error: disk I/O error (sync)");
	char *wal = xasprintf("%s-wal", d->path);
	pthread_mutex_lock(&d->wal_lock);
	struct stat st;
	int rc = ST_OK;
	if (stat(wal, &st) != 0) {
		/* no write-ahead log yet: nothing was committed */
		pthread_mutex_unlock(&d->wal_lock);
		free(wal);
		return ST_OK;
	}
	if (d->wal_fd < 0 || st.st_ino != d->wal_ino) {
		if (d->wal_fd >= 0)
			close(d->wal_fd);
		d->wal_fd = open(wal, O_RDONLY | O_CLOEXEC);
		d->wal_ino = st.st_ino;
	}
	if (d->wal_fd < 0 || fdatasync(d->wal_fd) != 0)
		rc = err_set(e, ST_EIO, NULL, "storage error: cannot flush %s", wal);
	pthread_mutex_unlock(&d->wal_lock);
	free(wal);
	return rc;
}

static int sq_backup(void *p, const char *dest, struct st_error *e)
{
	struct sqlite_db *d = p;
	int fd = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_set(e, ST_EIO, NULL, "cannot create %s (it must not exist)", dest);
	close(fd);
	sqlite3 *src = NULL, *dst = NULL;
	int rc = sqlite3_open_v2(d->path, &src, SQLITE_OPEN_READONLY, d->vfs);
	if (rc == SQLITE_OK)
		rc = sqlite3_open_v2(dest, &dst, SQLITE_OPEN_READWRITE, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(src, 10000);
		/* one step: the whole copy is of one snapshot, writers go on */
		sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
		rc = b ? sqlite3_backup_step(b, -1) : sqlite3_errcode(dst);
		if (b && sqlite3_backup_finish(b) != SQLITE_OK && rc == SQLITE_DONE)
			rc = SQLITE_ERROR;
		if (rc == SQLITE_DONE)
			rc = SQLITE_OK;
	}
	/* the copy stands on its own: no write-ahead log beside it */
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL);
	char *msg = xstrdup(rc == SQLITE_OK ? "" : (dst ? sqlite3_errmsg(dst) : sqlite3_errstr(rc)));
	sqlite3_close(src);
	sqlite3_close(dst);
	if (rc == SQLITE_OK) {
		fd = open(dest, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fsync(fd) != 0)
			rc = SQLITE_IOERR;
		if (fd >= 0)
			close(fd);
	}
	if (rc != SQLITE_OK) {
		unlink(dest);
		int r = err_set(e, ST_EIO, NULL, "cannot copy %s: %s", d->path,
				msg[0] ? msg : "write failed");
		free(msg);
		return r;
	}
	free(msg);
	return ST_OK;
}

static int sq_checkpoint(void *c, bool restart, int64_t *log_bytes, struct st_error *e)
{
	/* On a synchronous=FULL connection the checkpoint syncs the WAL before
	 * copying and the database after. */
	int log = 0, done = 0;
	int rc = sqlite3_wal_checkpoint_v2(
		c, NULL, restart ? SQLITE_CHECKPOINT_RESTART : SQLITE_CHECKPOINT_PASSIVE, &log,
		&done);
	if (rc != SQLITE_OK && rc != SQLITE_BUSY)
		return map_rc(c, rc, e);
	if (log_bytes) {
		sqlite3_int64 page = 4096;
		sqlite3_stmt *st = NULL;
		if (sqlite3_prepare_v2(c, "PRAGMA page_size", -1, &st, NULL) == SQLITE_OK &&
		    sqlite3_step(st) == SQLITE_ROW)
			page = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		*log_bytes = (int64_t)log * page;
	}
	return ST_OK;
}

const struct store_backend store_sqlite_backend = {
	.name = "sqlite",
	.one_writer = true,
	.open = sq_open,
	.close = sq_close,
	.conn_open = sq_conn_open,
	.conn_close = sq_conn_close,
	.prepare = sq_prepare,
	.finalize = sq_finalize,
	.bind_int = sq_bind_int,
	.bind_text = sq_bind_text,
	.bind_blob = sq_bind_blob,
	.bind_null = sq_bind_null,
	.step = sq_step,
	.reset = sq_reset,
	.col_int = sq_col_int,
	.col_text = sq_col_text,
	.col_blob = sq_col_blob,
	.col_null = sq_col_null,
	.exec = sq_exec,
	.begin = sq_begin,
	.begin_read = sq_begin_read,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.changes = sq_changes,
	.purge_free_space = sq_purge,
	.defer_sync = sq_defer_sync,
	.sync = sq_sync,
	.checkpoint = sq_checkpoint,
	.backup = sq_backup,
	.generation = sq_generation,
};
