/*
 * index.c - the access log's query index, kept in its own database
 * (audit-index.db) and built by a background thread just behind the log.
 *
 * Why apart: an index entry lands on a random page, and a page written for
 * every event and index would cap durable appends at a few thousand a
 * second. The log itself stays append-only and compact; the index is
 * derived data, rebuilt from the log whenever it is missing or behind, and
 * `audit verify` checks it row for row. Keys are bucketed by seq >> 16, so
 * indexing touches only the pages of the current bucket; a query seeks once
 * per bucket, never scans. Events not yet indexed (a fraction of a second)
 * are read from the log directly.
 *
 * The same thread keeps the log's write-ahead file short with checkpoints.
 */
#include <time.h>

#include "audit/audit_internal.h"

#define INDEX_CHUNK 20000
#define INDEX_INTERVAL_MS 500
#define WAL_RESTART_BYTES (64 * 1024 * 1024)

static const char *const index_tables[] = {"by_user", "by_subject", "by_record", "by_outcome"};

int audit_index_open(struct audit_log *log, const char *path, bool create, struct st_error *e)
{
	struct store_options so = {.backend = "sqlite", .location = path, .create = create,
				   .pool_size = 4, .relaxed = true};
	int rc = store_open(&so, &log->idx, e);
	if (rc == ST_OK)
		rc = store_migrate(log->idx, "audit_index", -1, e);
	if (rc != ST_OK || !create)
		return rc;
	struct store_conn *c;
	rc = store_acquire(log->idx, &c, e);
	if (rc != ST_OK)
		return rc;
	uint64_t size = 0;
	struct store_conn *lc;
	rc = store_acquire(log->db, &lc, e);
	if (rc == ST_OK) {
		rc = audit_db_size(lc, &size, e);
		store_release(lc);
	}
	int64_t upto = -1;
	if (rc == ST_OK) {
		struct store_stmt *s;
		rc = store_prepare(c, "SELECT log_id, indexed_upto FROM index_state WHERE id = 1",
				   &s, e);
		if (rc == ST_OK) {
			if (store_step(s, e) == STORE_ROW && str_eq(store_col_text(s, 0), log->log_id))
				upto = store_col_int(s, 1);
			store_done(s);
		}
	}
	if (rc == ST_OK && (upto < 0 || (uint64_t)upto > size)) {
		/* Missing, from another log, or ahead of it: rebuild. */
		rc = store_begin(c, e);
		for (size_t i = 0; rc == ST_OK && i < ARRAY_LEN(index_tables); i++) {
			char *q = xasprintf("DELETE FROM %s", index_tables[i]);
			rc = store_exec(c, q, e);
			free(q);
		}
		if (rc == ST_OK)
			rc = store_run(c, e,
				       "INSERT INTO index_state (id, log_id, indexed_upto) VALUES (1, ?, 0) "
				       "ON CONFLICT (id) DO UPDATE SET log_id = excluded.log_id, "
				       "indexed_upto = 0",
				       "t", log->log_id);
		if (rc == ST_OK)
			rc = store_commit(c, e);
		else
			store_rollback(c);
		upto = 0;
	}
	store_release(c);
	if (rc == ST_OK)
		log->index_upto = (uint64_t)upto;
	return rc;
}

int audit_index_upto(struct audit_log *log, uint64_t *upto, struct st_error *e)
{
	*upto = 0;
	if (!log->idx)
		return ST_OK;
	struct store_conn *c;
	int rc = store_acquire(log->idx, &c, e);
	if (rc != ST_OK)
		return rc;
	int64_t v = 0;
	rc = store_query_int(c, &v, e, "SELECT indexed_upto FROM index_state WHERE id = 1", "");
	store_release(c);
	if (rc == ST_ENOTFOUND)
		rc = ST_OK, v = 0;
	if (rc == ST_OK)
		*upto = (uint64_t)v;
	return rc;
}

static int insert_key(struct store_conn *c, const char *sql, int64_t bucket, int64_t key,
		      int64_t seq, struct st_error *e)
{
	return store_run(c, e, sql, "iii", bucket, key, seq);
}

/* Indexes events [from, to) in one transaction of the index database. */
static int index_chunk(struct audit_log *log, struct store_conn *lc, struct store_conn *xc,
		       uint64_t from, uint64_t to, struct st_error *e)
{
	int rc = store_begin(xc, e);
	if (rc != ST_OK)
		return rc;
	struct store_stmt *s;
	rc = store_prepare(lc,
			   "SELECT seq, user_id, subject_id, record_id, outcome FROM audit_event "
			   "WHERE seq >= ? AND seq < ? ORDER BY seq",
			   &s, e);
	if (rc == ST_OK) {
		store_bind(s, "ii", (int64_t)from, (int64_t)to);
		uint64_t expect = from;
		while (rc == ST_OK && (rc = store_step(s, e)) == STORE_ROW) {
			int64_t seq = store_col_int(s, 0);
			if ((uint64_t)seq != expect) {
				rc = err_set(e, ST_ECRYPTO, NULL, "access-log entry %llu is missing",
					     (unsigned long long)expect);
				break;
			}
			expect++;
			int64_t bucket = seq >> 16;
			rc = ST_OK;
			if (!store_col_null(s, 1))
				rc = insert_key(xc, "INSERT INTO by_user VALUES (?, ?, ?)", bucket,
						store_col_int(s, 1), seq, e);
			if (rc == ST_OK && !store_col_null(s, 2))
				rc = insert_key(xc, "INSERT INTO by_subject VALUES (?, ?, ?)", bucket,
						store_col_int(s, 2), seq, e);
			if (rc == ST_OK && !store_col_null(s, 3))
				rc = insert_key(xc, "INSERT INTO by_record VALUES (?, ?, ?)", bucket,
						store_col_int(s, 3), seq, e);
			const char *outcome = store_col_text(s, 4);
			if (rc == ST_OK && !str_eq(outcome, "allow"))
				rc = insert_key(xc, "INSERT INTO by_outcome VALUES (?, ?, ?)", bucket,
						str_eq(outcome, "deny") ? 1 : 2, seq, e);
		}
		store_done(s);
		if (rc == STORE_DONE)
			rc = expect == to ? ST_OK
					  : err_set(e, ST_ECRYPTO, NULL, "access-log entry %llu is missing",
						    (unsigned long long)expect);
	}
	if (rc == ST_OK)
		rc = store_run(xc, e, "UPDATE index_state SET indexed_upto = ? WHERE id = 1", "i",
			       (int64_t)to);
	if (rc == ST_OK)
		rc = store_commit(xc, e);
	else
		store_rollback(xc);
	(void)log;
	return rc;
}

int audit_index_catch_up(struct audit_log *log, uint64_t to, uint64_t *upto,
			 struct st_error *e)
{
	uint64_t from = 0;
	int rc = audit_index_upto(log, &from, e);
	if (rc != ST_OK)
		return rc;
	struct store_conn *lc = NULL, *xc = NULL;
	if ((rc = store_acquire(log->db, &lc, e)) || (rc = store_acquire(log->idx, &xc, e))) {
		store_release(lc);
		return rc;
	}
	while (rc == ST_OK && from < to) {
		uint64_t end = to - from > INDEX_CHUNK ? from + INDEX_CHUNK : to;
		rc = index_chunk(log, lc, xc, from, end, e);
		if (rc == ST_OK)
			from = end;
	}
	store_release(lc);
	store_release(xc);
	*upto = from;
	return rc;
}

void *audit_indexer_main(void *arg)
{
	struct audit_log *log = arg;
	struct store_conn *ck = NULL;
	struct st_error e = {0};
	if (store_acquire(log->db, &ck, &e) != ST_OK)
		ck = NULL;
	pthread_mutex_lock(&log->lock);
	for (;;) {
		if (!log->writer_done) {
			struct timespec ts;
			audit_deadline(&ts, INDEX_INTERVAL_MS * 1000);
			pthread_cond_timedwait(&log->indexed, &log->lock, &ts);
		}
		uint64_t target = log->committed;
		bool last = log->writer_done;
		pthread_mutex_unlock(&log->lock);

		uint64_t upto = 0;
		memset(&e, 0, sizeof(e));
		if (audit_index_catch_up(log, target, &upto, &e) != ST_OK)
			fprintf(stderr, "steward: the access-log index is behind: %s\n", e.message);
		/* Keep the write-ahead log short: copy it into the database, and
		 * when it has grown large, make the writer start it over. */
		int64_t wal = 0;
		if (ck && store_checkpoint(ck, false, &wal, &e) == ST_OK && wal > WAL_RESTART_BYTES)
			store_checkpoint(ck, true, &wal, &e);

		pthread_mutex_lock(&log->lock);
		log->index_upto = upto;
		if (last)
			break;
	}
	pthread_mutex_unlock(&log->lock);
	if (ck)
		store_release(ck);
	return NULL;
}
