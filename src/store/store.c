/*
 * store.c - the backend-neutral half of the storage layer: a pool of
 * connections, a per-connection cache of prepared statements, typed binding
 * helpers and transactions. Backends implement struct store_backend.
 */
#include <pthread.h>
#include <time.h>

#include "store/store.h"

#define DEFAULT_POOL 8

struct store_stmt {
	struct store_conn *conn;
	void *impl;
	char *sql;
	uint64_t hash;
};

struct store_conn {
	struct store *store;
	void *impl;
	bool in_tx;
	bool writing; /* holds the store's write lock */
	struct store_stmt **cache; /* open addressing, power-of-two size */
	size_t cache_cap, cache_n;
	struct store_conn *next_free;
};

struct store {
	const struct store_backend *b;
	void *db;
	pthread_mutex_t lock;
	pthread_cond_t available;
	pthread_mutex_t write_lock; /* backends with one writer at a time */
	struct store_conn *free_list;
	int open_conns, max_conns;
	struct store_conn **all;
};

static const struct store_backend *backends[] = {&store_sqlite_backend};

int store_open(const struct store_options *opt, struct store **out, struct st_error *e)
{
	const char *name = opt->backend ? opt->backend : "sqlite";
	const struct store_backend *b = NULL;
	for (size_t i = 0; i < ARRAY_LEN(backends); i++)
		if (str_eq(backends[i]->name, name))
			b = backends[i];
	if (!b)
		return err_set(e, ST_EINVAL, "backend", "unknown storage backend \"%s\"", name);
	struct store *s = xcalloc(1, sizeof(*s));
	s->b = b;
	s->max_conns = opt->pool_size > 0 ? opt->pool_size : DEFAULT_POOL;
	s->all = xcalloc((size_t)s->max_conns, sizeof(*s->all));
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->available, NULL);
	pthread_mutex_init(&s->write_lock, NULL);
	int rc = b->open(opt, &s->db, e);
	if (rc != ST_OK) {
		free(s->all);
		free(s);
		return rc;
	}
	*out = s;
	return ST_OK;
}

static void conn_free(struct store_conn *c)
{
	for (size_t i = 0; i < c->cache_cap; i++) {
		struct store_stmt *st = c->cache[i];
		if (st) {
			c->store->b->finalize(st->impl);
			free(st->sql);
			free(st);
		}
	}
	free(c->cache);
	c->store->b->conn_close(c->impl);
	free(c);
}

void store_close(struct store *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->open_conns; i++)
		conn_free(s->all[i]);
	s->b->close(s->db);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->available);
	pthread_mutex_destroy(&s->write_lock);
	free(s->all);
	free(s);
}

int store_backup(struct store *s, const char *dest, struct st_error *e)
{
	return s->b->backup(s->db, dest, e);
}

const char *store_backend_name(const struct store *s)
{
	return s->b->name;
}

int store_acquire(struct store *s, struct store_conn **out, struct st_error *e)
{
	pthread_mutex_lock(&s->lock);
	for (;;) {
		if (s->free_list) {
			struct store_conn *c = s->free_list;
			s->free_list = c->next_free;
			pthread_mutex_unlock(&s->lock);
			*out = c;
			return ST_OK;
		}
		if (s->open_conns < s->max_conns) {
			struct store_conn *c = xcalloc(1, sizeof(*c));
			c->store = s;
			int rc = s->b->conn_open(s->db, &c->impl, e);
			if (rc != ST_OK) {
				pthread_mutex_unlock(&s->lock);
				free(c);
				return rc;
			}
			s->all[s->open_conns++] = c;
			pthread_mutex_unlock(&s->lock);
			*out = c;
			return ST_OK;
		}
		pthread_cond_wait(&s->available, &s->lock);
	}
}

void store_release(struct store_conn *c)
{
	if (!c)
		return;
	if (c->in_tx)
		store_rollback(c);
	struct store *s = c->store;
	pthread_mutex_lock(&s->lock);
	c->next_free = s->free_list;
	s->free_list = c;
	pthread_cond_signal(&s->available);
	pthread_mutex_unlock(&s->lock);
}

int store_exec(struct store_conn *c, const char *sql, struct st_error *e)
{
	return c->store->b->exec(c->impl, sql, e);
}

static uint64_t hash_sql(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static void cache_insert(struct store_conn *c, struct store_stmt *st)
{
	if ((c->cache_n + 1) * 2 > c->cache_cap) {
		size_t cap = c->cache_cap ? c->cache_cap * 2 : 64;
		struct store_stmt **old = c->cache;
		size_t oldcap = c->cache_cap;
		c->cache = xcalloc(cap, sizeof(*c->cache));
		c->cache_cap = cap;
		c->cache_n = 0;
		for (size_t i = 0; i < oldcap; i++)
			if (old[i])
				cache_insert(c, old[i]);
		free(old);
	}
	size_t i = st->hash & (c->cache_cap - 1);
	while (c->cache[i])
		i = (i + 1) & (c->cache_cap - 1);
	c->cache[i] = st;
	c->cache_n++;
}

int store_prepare(struct store_conn *c, const char *sql, struct store_stmt **out,
		  struct st_error *e)
{
	uint64_t h = hash_sql(sql);
	if (c->cache_cap) {
		for (size_t i = h & (c->cache_cap - 1); c->cache[i];
		     i = (i + 1) & (c->cache_cap - 1)) {
			struct store_stmt *st = c->cache[i];
			if (st->hash == h && str_eq(st->sql, sql)) {
				c->store->b->reset(st->impl);
				*out = st;
				return ST_OK;
			}
		}
	}
	void *impl = NULL;
	int rc = c->store->b->prepare(c->impl, sql, &impl, e);
	if (rc != ST_OK)
		return rc;
	struct store_stmt *st = xcalloc(1, sizeof(*st));
	st->conn = c;
	st->impl = impl;
	st->sql = xstrdup(sql);
	st->hash = h;
	cache_insert(c, st);
	*out = st;
	return ST_OK;
}

void store_done(struct store_stmt *st)
{
	if (st)
		st->conn->store->b->reset(st->impl);
}

void store_bind_int(struct store_stmt *st, int idx, int64_t v)
{
	st->conn->store->b->bind_int(st->impl, idx, v);
}

void store_bind_text(struct store_stmt *st, int idx, const char *s)
{
	if (s)
		st->conn->store->b->bind_text(st->impl, idx, s, strlen(s));
	else
		st->conn->store->b->bind_null(st->impl, idx);
}

void store_bind_blob(struct store_stmt *st, int idx, const void *p, size_t len)
{
	if (p)
		st->conn->store->b->bind_blob(st->impl, idx, p, len);
	else
		st->conn->store->b->bind_null(st->impl, idx);
}

void store_bind_null(struct store_stmt *st, int idx)
{
	st->conn->store->b->bind_null(st->impl, idx);
}

int store_step(struct store_stmt *st, struct st_error *e)
{
	return st->conn->store->b->step(st->impl, e);
}

int64_t store_col_int(struct store_stmt *st, int col)
{
	return st->conn->store->b->col_int(st->impl, col);
}

const char *store_col_text(struct store_stmt *st, int col)
{
	const char *s = st->conn->store->b->col_text(st->impl, col, NULL);
	return s ? s : "";
}

const void *store_col_blob(struct store_stmt *st, int col, size_t *len)
{
	return st->conn->store->b->col_blob(st->impl, col, len);
}

bool store_col_null(struct store_stmt *st, int col)
{
	return st->conn->store->b->col_null(st->impl, col);
}

void store_bindv(struct store_stmt *st, const char *fmt, va_list ap)
{
	int idx = 1;
	for (const char *f = fmt; f && *f; f++, idx++) {
		switch (*f) {
		case 'i': store_bind_int(st, idx, va_arg(ap, int64_t)); break;
		case 't': store_bind_text(st, idx, va_arg(ap, const char *)); break;
		case 'b': {
			const void *p = va_arg(ap, const void *);
			size_t len = va_arg(ap, size_t);
			store_bind_blob(st, idx, p, len);
			break;
		}
		case 'n': store_bind_null(st, idx); break;
		default: die("store_bind: bad format character '%c'", *f);
		}
	}
}

void store_bind(struct store_stmt *st, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	store_bindv(st, fmt, ap);
	va_end(ap);
}

int store_run(struct store_conn *c, struct st_error *e, const char *sql, const char *fmt,
	      ...)
{
	struct store_stmt *st;
	int rc = store_prepare(c, sql, &st, e);
	if (rc != ST_OK)
		return rc;
	va_list ap;
	va_start(ap, fmt);
	store_bindv(st, fmt, ap);
	va_end(ap);
	while ((rc = store_step(st, e)) == STORE_ROW)
		;
	store_done(st);
	return rc;
}

int store_query_int(struct store_conn *c, int64_t *out, struct st_error *e,
		    const char *sql, const char *fmt, ...)
{
	struct store_stmt *st;
	int rc = store_prepare(c, sql, &st, e);
	if (rc != ST_OK)
		return rc;
	va_list ap;
	va_start(ap, fmt);
	store_bindv(st, fmt, ap);
	va_end(ap);
	rc = store_step(st, e);
	if (rc == STORE_ROW) {
		*out = store_col_int(st, 0);
		rc = ST_OK;
	} else if (rc == STORE_DONE) {
		rc = ST_ENOTFOUND;
	}
	store_done(st);
	return rc;
}

int64_t store_changes(struct store_conn *c)
{
	return c->store->b->changes(c->impl);
}

#define WRITE_WAIT_S 10

static void write_unlock(struct store_conn *c)
{
	if (c->writing) {
		c->writing = false;
		pthread_mutex_unlock(&c->store->write_lock);
	}
}

int store_begin(struct store_conn *c, struct st_error *e)
{
	ST_ASSERT(!c->in_tx);
	if (c->store->b->one_writer) {
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += WRITE_WAIT_S;
		if (pthread_mutex_clocklock(&c->store->write_lock, CLOCK_MONOTONIC, &until) != 0)
			return err_setc(e, ST_EUNAVAIL, "busy", NULL,
					"the database is busy with other changes; try again");
		c->writing = true;
	}
	int rc = c->store->b->begin(c->impl, e);
	if (rc == ST_OK)
		c->in_tx = true;
	else
		write_unlock(c);
	return rc;
}

int store_begin_read(struct store_conn *c, struct st_error *e)
{
	ST_ASSERT(!c->in_tx);
	int rc = c->store->b->begin_read(c->impl, e);
	if (rc == ST_OK)
		c->in_tx = true;
	return rc;
}

int store_commit(struct store_conn *c, struct st_error *e)
{
	ST_ASSERT(c->in_tx);
	int rc = c->store->b->commit(c->impl, e);
	if (rc != ST_OK) {
		c->store->b->rollback(c->impl);
	}
	c->in_tx = false;
	write_unlock(c);
	return rc;
}

void store_rollback(struct store_conn *c)
{
	if (!c->in_tx)
		return;
	/* Reset every cached statement first: an active statement would keep
	 * the transaction's locks. */
	for (size_t i = 0; i < c->cache_cap; i++)
		if (c->cache[i])
			c->store->b->reset(c->cache[i]->impl);
	c->store->b->rollback(c->impl);
	c->in_tx = false;
	write_unlock(c);
}

bool store_in_transaction(const struct store_conn *c)
{
	return c->in_tx;
}

int store_purge_free_space(struct store_conn *c, struct st_error *e)
{
	return c->store->b->purge_free_space(c->impl, e);
}

int store_defer_sync(struct store_conn *c, struct st_error *e)
{
	return c->store->b->defer_sync(c->impl, e);
}

int store_sync(struct store *s, struct st_error *e)
{
	return s->b->sync(s->db, e);
}

uint64_t store_generation(struct store *s)
{
	return s->b->generation(s->db);
}

int store_checkpoint(struct store_conn *c, bool restart, int64_t *log_bytes,
		     struct st_error *e)
{
	return c->store->b->checkpoint(c->impl, restart, log_bytes, e);
}
