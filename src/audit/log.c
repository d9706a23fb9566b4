/*
 * log.c - appending to the access log: the queue, the writer thread that
 * commits batches with one fsync (group commit), the Merkle frontier, the
 * stored subtree hashes and the signed checkpoints.
 *
 * Invariants: sequence numbers are gapless from 0 and equal leaf indexes;
 * times never decrease with the sequence; a caller is told an event is
 * durable only after the transaction holding it has committed (SQLite,
 * synchronous=FULL); a failed batch is rolled back whole and every caller
 * in it is told so.
 */
#include <semaphore.h>
#include <time.h>

#include "audit/audit_internal.h"

#define MAX_BATCH 4096
#define CHECKPOINT_INTERVAL_US 1000000

struct pending {
	char *body;
	size_t len;
	int64_t user_id, subject_id, record_id;
	char action[48];
	char outcome[8];
	int status;
	int64_t seq;
	sem_t wake; /* this caller's own wake-up: no shared lock to retake */
	struct pending *next;
};

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void audit_log_id(const unsigned char pk[SIGN_PUBLIC_BYTES], char out[40])
{
	unsigned char h[HASH_BYTES];
	sha256(pk, SIGN_PUBLIC_BYTES, h);
	char *hex = hex_encode(h, 8);
	snprintf(out, 40, "steward:%s", hex);
	free(hex);
}

void audit_checkpoint_note(const char *log_id, uint64_t size,
			   const unsigned char root[HASH_BYTES], int64_t time_us, char out[512])
{
	char *r = b64_encode(root, HASH_BYTES);
	snprintf(out, 512, "steward-audit-checkpoint/1\n%s\n%llu\n%s\n%lld\n", log_id,
		 (unsigned long long)size, r, (long long)time_us);
	free(r);
}

/* --- the database as a source of subtree hashes ------------------------- */

int audit_db_size(struct store_conn *c, uint64_t *size, struct st_error *e)
{
	int64_t n = 0;
	int rc = store_query_int(c, &n, e, "SELECT COALESCE(MAX(seq) + 1, 0) FROM audit_event",
				 "");
	if (rc == ST_OK)
		*size = (uint64_t)n;
	return rc;
}

int audit_db_perfect(void *ctx, int level, uint64_t index, unsigned char out[HASH_BYTES],
		     struct st_error *e)
{
	struct db_source *src = ctx;
	struct store_stmt *s;
	int rc;
	if (level >= AUDIT_STORED_LEVEL) {
		rc = store_prepare(src->c, "SELECT hash FROM audit_node WHERE level = ? AND idx = ?",
				   &s, e);
		if (rc != ST_OK)
			return rc;
		store_bind(s, "ii", (int64_t)level, (int64_t)index);
		rc = store_step(s, e);
		if (rc == STORE_ROW) {
			size_t len = 0;
			const void *h = store_col_blob(s, 0, &len);
			if (len == HASH_BYTES) {
				memcpy(out, h, HASH_BYTES);
				rc = ST_OK;
			} else {
				rc = err_set(e, ST_ECRYPTO, NULL, "stored tree node (%d, %llu) is malformed",
					     level, (unsigned long long)index);
			}
		} else if (rc == STORE_DONE) {
			rc = err_set(e, ST_ECRYPTO, NULL, "stored tree node (%d, %llu) is missing",
				     level, (unsigned long long)index);
		}
		store_done(s);
		return rc;
	}
	uint64_t lo = index << level, count = 1ULL << level;
	rc = store_prepare(src->c,
			   "SELECT seq, leaf_hash FROM audit_event WHERE seq >= ? AND seq < ? "
			   "ORDER BY seq",
			   &s, e);
	if (rc != ST_OK)
		return rc;
	store_bind(s, "ii", (int64_t)lo, (int64_t)(lo + count));
	struct merkle_frontier f;
	merkle_frontier_init(&f);
	uint64_t expect = lo;
	while ((rc = store_step(s, e)) == STORE_ROW) {
		size_t len = 0;
		const void *h = store_col_blob(s, 1, &len);
		if ((uint64_t)store_col_int(s, 0) != expect || len != HASH_BYTES) {
			store_done(s);
			return err_set(e, ST_ECRYPTO, NULL, "access-log entry %llu is missing or malformed",
				       (unsigned long long)expect);
		}
		merkle_frontier_push(&f, 0, h, NULL, NULL);
		expect++;
	}
	store_done(s);
	if (rc < 0)
		return rc;
	if (f.size != count)
		return err_set(e, ST_ECRYPTO, NULL, "access-log entry %llu is missing",
			       (unsigned long long)expect);
	merkle_frontier_root(&f, out);
	return ST_OK;
}

int audit_db_frontier(struct store_conn *c, uint64_t size, struct merkle_frontier *f,
		      struct st_error *e)
{
	merkle_frontier_init(f);
	struct db_source src = {c};
	for (int level = 63; level >= 0; level--) {
		if (!(size & (1ULL << level)))
			continue;
		unsigned char h[HASH_BYTES];
		int rc = audit_db_perfect(&src, level, f->size >> level, h, e);
		if (rc != ST_OK)
			return rc;
		merkle_frontier_push(f, level, h, NULL, NULL);
	}
	return ST_OK;
}

/* --- writing ------------------------------------------------------------ */

/* A committed batch waiting for the flush that makes it durable. */
struct sync_unit {
	struct pending *batch;
	uint64_t size;
	bool has_cp;
	struct audit_checkpoint cp;
	bool requested; /* completes an audit_checkpoint_now() */
	struct sync_unit *next;
};

struct node_ctx {
	struct store_conn *c;
	int rc;
	struct st_error *e;
};

static void store_node(void *ctx, int level, uint64_t index, const unsigned char h[HASH_BYTES])
{
	struct node_ctx *n = ctx;
	if (level < AUDIT_STORED_LEVEL || n->rc != ST_OK)
		return;
	n->rc = store_run(n->c, n->e, "INSERT INTO audit_node (level, idx, hash) VALUES (?, ?, ?)",
			  "iib", (int64_t)level, (int64_t)index, h, (size_t)HASH_BYTES);
}

static void write_witness(struct audit_log *log, const struct audit_checkpoint *cp)
{
	if (!log->witness_path)
		return;
	json_t *j = audit_checkpoint_json(cp);
	char *text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(j);
	struct st_error e = {0};
	if (file_write_atomic(log->witness_path, text, strlen(text), 0600, false, &e) != ST_OK)
		fprintf(stderr, "steward: cannot write the access-log witness: %s\n", e.message);
	free(text);
}

/* Inserts a checkpoint of the current frontier in the open transaction. */
static int insert_checkpoint(struct audit_log *log, struct audit_checkpoint *cp,
			     struct st_error *e)
{
	memset(cp, 0, sizeof(*cp));
	cp->tree_size = log->frontier.size;
	int64_t now = time_now_us();
	cp->time_us = log->last_time_us > now ? log->last_time_us : now;
	merkle_frontier_root(&log->frontier, cp->root);
	audit_checkpoint_note(log->log_id, cp->tree_size, cp->root, cp->time_us, cp->note);
	sign_detached(log->sk, cp->note, strlen(cp->note), cp->signature);
	return store_run(log->wconn, e,
			 "INSERT INTO audit_checkpoint (tree_size, time_us, root_hash, note, "
			 "signature) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
			 "iibbb", (int64_t)cp->tree_size, cp->time_us, cp->root,
			 (size_t)HASH_BYTES, cp->note, strlen(cp->note), cp->signature,
			 (size_t)SIGN_BYTES);
}

static void report_failure(struct audit_log *log, const struct st_error *e, bool sticky)
{
	pthread_mutex_lock(&log->lock);
	log->failures++;
	if (sticky)
		log->failed = true;
	pthread_mutex_unlock(&log->lock);
	fprintf(stderr,
		"steward: ACCESS LOG WRITE FAILED (%s); access that needs the log is refused %s\n",
		e->message,
		sticky ? "until the server is restarted (the disk could not confirm a flush)"
		       : "until it can be written");
	fflush(stderr);
}

/* Commits a batch (and a checkpoint, if one is due) in one transaction.
 * The commit is atomic and ordered but not yet durable: the syncer
 * flushes it. */
static int write_batch(struct audit_log *log, struct pending *batch, bool force_checkpoint,
		       struct audit_checkpoint *cp, bool *wrote_cp, struct st_error *e)
{
	*wrote_cp = false;
	struct merkle_frontier saved = log->frontier;
	int64_t saved_time = log->last_time_us;
	int rc = store_begin(log->wconn, e);
	if (rc != ST_OK)
		return rc;
	/* Another process (a local administration command) may have appended:
	 * the database's data version tells, without reading the log. */
	int64_t version = 0;
	rc = store_query_int(log->wconn, &version, e, "PRAGMA data_version", "");
	if (rc == ST_OK && version != log->data_version) {
		uint64_t size = 0;
		rc = audit_db_size(log->wconn, &size, e);
		if (rc == ST_OK && size != log->frontier.size) {
			rc = audit_db_frontier(log->wconn, size, &log->frontier, e);
			saved = log->frontier;
		}
		log->data_version = version;
	}
	struct node_ctx nc = {log->wconn, ST_OK, e};
	struct buf entry = BUF_INIT;
	for (struct pending *p = batch; p && rc == ST_OK; p = p->next) {
		uint64_t seq = log->frontier.size;
		int64_t t = time_now_us();
		if (t < log->last_time_us)
			t = log->last_time_us; /* times never go backwards in the log */
		log->last_time_us = t;
		buf_reset(&entry);
		audit_entry_build(seq, t, p->body, p->len, &entry);
		unsigned char leaf[HASH_BYTES];
		merkle_leaf_hash(entry.data, entry.len, leaf);
		struct store_stmt *s;
		rc = store_prepare(log->wconn,
				   "INSERT INTO audit_event (seq, time_us, user_id, subject_id, "
				   "record_id, action, outcome, entry, leaf_hash) "
				   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
				   &s, e);
		if (rc != ST_OK)
			break;
		store_bind_int(s, 1, (int64_t)seq);
		store_bind_int(s, 2, t);
		if (p->user_id) store_bind_int(s, 3, p->user_id); else store_bind_null(s, 3);
		if (p->subject_id) store_bind_int(s, 4, p->subject_id); else store_bind_null(s, 4);
		if (p->record_id) store_bind_int(s, 5, p->record_id); else store_bind_null(s, 5);
		store_bind_text(s, 6, p->action);
		store_bind_text(s, 7, p->outcome);
		store_bind_blob(s, 8, entry.data, entry.len);
		store_bind_blob(s, 9, leaf, HASH_BYTES);
		rc = store_step(s, e);
		store_done(s);
		if (rc != STORE_DONE)
			break;
		rc = ST_OK;
		merkle_frontier_push(&log->frontier, 0, leaf, store_node, &nc);
		rc = nc.rc;
		p->seq = (int64_t)seq;
	}
	buf_release(&entry);
	if (rc == ST_OK && log->frontier.size > log->last_cp_size &&
	    (force_checkpoint || mono_us() - log->last_cp_mono_us >= CHECKPOINT_INTERVAL_US)) {
		rc = insert_checkpoint(log, cp, e);
		*wrote_cp = rc == ST_OK;
	}
	if (rc == ST_OK)
		rc = store_commit(log->wconn, e);
	else
		store_rollback(log->wconn);
	if (rc != ST_OK) {
		log->frontier = saved;
		log->last_time_us = saved_time;
		*wrote_cp = false;
		return rc;
	}
	if (*wrote_cp) {
		log->last_cp_size = cp->tree_size;
		log->last_cp_mono_us = mono_us();
	}
	return ST_OK;
}

/* Tells every caller in a batch how it went; a pending record belongs to
 * its caller again the moment it is posted. Called without the lock. */
static void finish_batch(struct pending *batch, int status)
{
	for (struct pending *p = batch, *next; p; p = next) {
		next = p->next;
		p->status = status;
		sem_post(&p->wake);
	}
}

static void flush_units(struct audit_log *log, struct sync_unit *units, bool failed);

static void *writer_main(void *arg)
{
	struct audit_log *log = arg;
	pthread_mutex_lock(&log->lock);
	for (;;) {
		/* Commit when there is work and the previous commit has been
		 * taken by the syncer: one batch is flushed while the next one
		 * gathers, so batches grow with the load instead of the number
		 * of commits. */
		for (;;) {
			bool ready = !log->shead && !(log->flushing && !log->head && !log->stop &&
						      !log->cp_request);
			if (ready && (log->head || log->stop || log->cp_request))
				break;
			bool cp_due = log->committed > log->last_cp_size;
			if (!ready || !cp_due) {
				pthread_cond_wait(&log->work, &log->lock);
				continue;
			}
			/* Events are flowing: sign a checkpoint at least once a
			 * second even if nothing else arrives. */
			int64_t wait = CHECKPOINT_INTERVAL_US - (mono_us() - log->last_cp_mono_us);
			if (wait <= 0)
				break;
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += wait / 1000000;
			ts.tv_nsec += (wait % 1000000) * 1000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&log->work, &log->lock, &ts);
		}
		struct pending *batch = log->head, *last = NULL;
		int n = 0;
		for (struct pending *p = batch; p && n < MAX_BATCH; p = p->next, n++)
			last = p;
		if (last) {
			log->head = last->next;
			if (!log->head)
				log->tail = NULL;
			last->next = NULL;
		} else {
			batch = NULL;
		}
		bool stopping = log->stop && !log->head;
		bool requested = log->cp_request;
		bool force = stopping || requested;
		log->cp_request = false;
		bool failed = log->failed;
		pthread_mutex_unlock(&log->lock);

		struct sync_unit *u = xcalloc(1, sizeof(*u));
		u->requested = requested;
		int rc = failed ? ST_EAUDIT : ST_OK;
		if (rc == ST_OK && (batch || log->frontier.size > log->last_cp_size)) {
			struct st_error e = {0};
			rc = write_batch(log, batch, force, &u->cp, &u->has_cp, &e);
			if (rc != ST_OK) {
				/* Rolled back: nothing of it reached the log. */
				report_failure(log, &e, false);
				log->last_cp_mono_us = mono_us(); /* back off */
			}
		}
		if (rc != ST_OK) {
			finish_batch(batch, ST_EAUDIT);
			batch = NULL;
		}
		pthread_mutex_lock(&log->lock);
		if (rc != ST_OK) {
			u->batch = NULL;
		} else {
			u->batch = batch;
			log->committed = log->frontier.size;
			if (batch)
				log->commits++;
		}
		u->size = log->committed;
		/* Nothing else waiting and no flush under way: flush here, one
		 * thread hop less. Otherwise hand it to the syncer (even when
		 * empty, so that requests complete in order). */
		if (!log->head && !log->shead && !log->flushing && !stopping) {
			log->flushing = true;
			bool failed_now = log->failed;
			pthread_mutex_unlock(&log->lock);
			flush_units(log, u, failed_now);
			pthread_mutex_lock(&log->lock);
			continue;
		}
		if (log->stail)
			log->stail->next = u;
		else
			log->shead = u;
		log->stail = u;
		pthread_cond_signal(&log->synced);
		if (stopping) {
			log->writer_done = true;
			pthread_cond_signal(&log->synced);
			break;
		}
	}
	pthread_mutex_unlock(&log->lock);
	return NULL;
}

/* Flushes committed units and then tells their callers. Called without
 * the lock by the syncer, or by the writer itself when nothing else is
 * waiting (one thread hop less at low load). The caller has set
 * log->flushing; this clears it. */
static void flush_units(struct audit_log *log, struct sync_unit *units, bool failed)
{
	bool any = false;
	struct sync_unit *cp_unit = NULL;
	uint64_t size = 0;
	for (struct sync_unit *u = units; u; u = u->next) {
		any |= u->batch != NULL || u->has_cp;
		if (u->has_cp)
			cp_unit = u;
		size = u->size;
	}
	struct st_error e = {0};
	int rc = failed ? err_set(&e, ST_EAUDIT, NULL, "the access log has failed") : ST_OK;
	int64_t t0 = mono_us();
	if (rc == ST_OK && any)
		rc = store_sync(log->db, &e);
	int64_t flush_time = mono_us() - t0;
	if (rc != ST_OK && !failed)
		report_failure(log, &e, true);
	if (rc == ST_OK && cp_unit)
		write_witness(log, &cp_unit->cp);

	pthread_mutex_lock(&log->lock);
	if (rc == ST_OK && size > log->durable)
		log->durable = size;
	if (any) {
		log->flushes++;
		log->flush_us += (uint64_t)flush_time;
	}
	bool requested = false;
	for (struct sync_unit *u = units; u; u = u->next)
		requested |= u->requested;
	if (requested) {
		log->cp_generation++;
		pthread_cond_broadcast(&log->done);
	}
	log->flushing = false;
	pthread_cond_signal(&log->indexed);
	pthread_cond_signal(&log->work);
	pthread_mutex_unlock(&log->lock);
	for (struct sync_unit *u = units, *next; u; u = next) {
		next = u->next;
		finish_batch(u->batch, rc == ST_OK ? ST_OK : ST_EAUDIT);
		free(u);
	}
}

/* Flushes committed batches, many at a time, while the writer commits the
 * next ones. */
static void *syncer_main(void *arg)
{
	struct audit_log *log = arg;
	pthread_mutex_lock(&log->lock);
	for (;;) {
		while ((!log->shead || log->flushing) && !(log->writer_done && !log->flushing))
			pthread_cond_wait(&log->synced, &log->lock);
		if (!log->shead && log->writer_done && !log->flushing)
			break;
		if (!log->shead)
			continue;
		struct sync_unit *units = log->shead;
		log->shead = log->stail = NULL;
		log->flushing = true;
		bool failed = log->failed;
		pthread_cond_signal(&log->work); /* the writer may commit the next batch */
		pthread_mutex_unlock(&log->lock);
		flush_units(log, units, failed);
		pthread_mutex_lock(&log->lock);
	}
	log->syncer_done = true;
	pthread_cond_broadcast(&log->indexed);
	pthread_cond_broadcast(&log->done);
	pthread_mutex_unlock(&log->lock);
	return NULL;
}

int audit_append(struct audit_log *log, const struct audit_event *ev, int64_t *seq,
		 struct st_error *e)
{
	if (!log->has_writer)
		return err_set(e, ST_EAUDIT, NULL, "the access log is open read-only");
	struct pending p = {0};
	struct buf body = BUF_INIT;
	int rc = audit_event_body(ev, &body, e);
	if (rc != ST_OK) {
		buf_release(&body);
		return rc;
	}
	p.body = body.data;
	p.len = body.len;
	p.user_id = ev->user_id;
	p.subject_id = ev->subject_id;
	p.record_id = ev->record_id;
	str_copy(p.action, sizeof(p.action), ev->action);
	str_copy(p.outcome, sizeof(p.outcome), ev->outcome);
	sem_init(&p.wake, 0, 0);
	pthread_mutex_lock(&log->lock);
	if (log->stop || log->failed) {
		bool stopping = log->stop;
		pthread_mutex_unlock(&log->lock);
		buf_release(&body);
		sem_destroy(&p.wake);
		if (stopping)
			return err_setc(e, ST_EUNAVAIL, "shutting_down", NULL,
					"the access log is closing; try again");
		return err_setc(e, ST_EAUDIT, "audit_unavailable", NULL,
				"the access log could not be written, so nothing was served; "
				"the failure has been reported");
	}
	if (log->tail)
		log->tail->next = &p;
	else
		log->head = &p;
	log->tail = &p;
	pthread_cond_signal(&log->work);
	pthread_mutex_unlock(&log->lock);
	while (sem_wait(&p.wake) != 0)
		; /* EINTR */
	sem_destroy(&p.wake);
	buf_release(&body);
	if (p.status != ST_OK)
		return err_setc(e, ST_EAUDIT, "audit_unavailable", NULL,
				"the access log could not be written, so nothing was served; "
				"the failure has been reported");
	if (seq)
		*seq = p.seq;
	return ST_OK;
}

int audit_checkpoint_now(struct audit_log *log, struct audit_checkpoint *out,
			 struct st_error *e)
{
	if (!log->has_writer)
		return audit_latest_checkpoint(log, out, e);
	pthread_mutex_lock(&log->lock);
	uint64_t gen = log->cp_generation;
	log->cp_request = true;
	pthread_cond_signal(&log->work);
	while (log->cp_generation == gen && !log->syncer_done)
		pthread_cond_wait(&log->done, &log->lock);
	pthread_mutex_unlock(&log->lock);
	return audit_latest_checkpoint(log, out, e);
}

uint64_t audit_size(struct audit_log *log)
{
	pthread_mutex_lock(&log->lock);
	uint64_t n = log->durable;
	pthread_mutex_unlock(&log->lock);
	return n;
}

void audit_stats(struct audit_log *log, struct audit_stats *out)
{
	pthread_mutex_lock(&log->lock);
	out->events = log->durable;
	out->commits = log->commits;
	out->flushes = log->flushes;
	out->flush_us = log->flush_us;
	out->failures = log->failures;
	out->indexed = log->index_upto;
	out->failed = log->failed;
	pthread_mutex_unlock(&log->lock);
}

uint64_t audit_failures(struct audit_log *log)
{
	pthread_mutex_lock(&log->lock);
	uint64_t n = log->failures;
	pthread_mutex_unlock(&log->lock);
	return n;
}

static char *index_path_for(const char *path)
{
	size_t n = strlen(path);
	if (n > 3 && str_eq(path + n - 3, ".db"))
		return xasprintf("%.*s-index.db", (int)(n - 3), path);
	return xasprintf("%s-index", path);
}

int audit_open(const struct audit_options *opt, struct audit_log **out, struct st_error *e)
{
	struct audit_log *log = xcalloc(1, sizeof(*log));
	pthread_mutex_init(&log->lock, NULL);
	pthread_cond_init(&log->work, NULL);
	pthread_cond_init(&log->synced, NULL);
	pthread_cond_init(&log->indexed, NULL);
	pthread_cond_init(&log->done, NULL);
	memcpy(log->pk, opt->sign_pk, SIGN_PUBLIC_BYTES);
	audit_log_id(log->pk, log->log_id);
	if (opt->witness_path)
		log->witness_path = xstrdup(opt->witness_path);
	struct store_options so = {.backend = "sqlite", .location = opt->path, .vfs = opt->vfs,
				   .create = opt->create, .pool_size = 8};
	int rc = store_open(&so, &log->db, e);
	if (rc == ST_OK)
		rc = store_migrate(log->db, "audit", -1, e);
	char *ipath = index_path_for(opt->path);
	if (rc == ST_OK && (opt->sign_sk || file_exists(ipath)))
		rc = audit_index_open(log, ipath, opt->sign_sk != NULL, e);
	free(ipath);
	if (rc != ST_OK)
		goto fail;
	if (opt->sign_sk) {
		log->sk = secure_alloc(SIGN_SECRET_BYTES);
		memcpy(log->sk, opt->sign_sk, SIGN_SECRET_BYTES);
		rc = store_acquire(log->db, &log->wconn, e);
		if (rc == ST_OK)
			rc = store_defer_sync(log->wconn, e);
		if (rc != ST_OK)
			goto fail;
		/* Anything an earlier process committed is made durable first. */
		rc = store_sync(log->db, e);
		uint64_t size = 0;
		if (rc == ST_OK)
			rc = audit_db_size(log->wconn, &size, e);
		if (rc == ST_OK)
			rc = audit_db_frontier(log->wconn, size, &log->frontier, e);
		if (rc == ST_OK) {
			int64_t t = 0, cps = 0;
			if (size)
				rc = store_query_int(log->wconn, &t, e,
						     "SELECT time_us FROM audit_event WHERE seq = ?", "i",
						     (int64_t)size - 1);
			if (rc == ST_OK)
				rc = store_query_int(log->wconn, &cps, e,
						     "SELECT COALESCE(MAX(tree_size), 0) FROM "
						     "audit_checkpoint",
						     "");
			log->last_time_us = t;
			log->last_cp_size = (uint64_t)cps;
			log->last_cp_mono_us = mono_us();
		}
		if (rc != ST_OK)
			goto fail;
		log->durable = log->committed = size;
		if (pthread_create(&log->syncer, NULL, syncer_main, log) != 0)
			die("cannot start the access-log syncer");
		if (pthread_create(&log->writer, NULL, writer_main, log) != 0)
			die("cannot start the access-log writer");
		if (pthread_create(&log->indexer, NULL, audit_indexer_main, log) != 0)
			die("cannot start the access-log indexer");
		log->has_writer = true;
	}
	*out = log;
	return ST_OK;
fail:
	audit_close(log);
	return rc;
}

void audit_close(struct audit_log *log)
{
	if (!log)
		return;
	if (log->has_writer) {
		pthread_mutex_lock(&log->lock);
		log->stop = true;
		pthread_cond_signal(&log->work);
		pthread_mutex_unlock(&log->lock);
		pthread_join(log->writer, NULL);
		pthread_join(log->syncer, NULL);
		pthread_join(log->indexer, NULL);
	}
	if (log->wconn)
		store_release(log->wconn);
	store_close(log->idx);
	store_close(log->db);
	secure_free(log->sk);
	free(log->witness_path);
	pthread_mutex_destroy(&log->lock);
	pthread_cond_destroy(&log->work);
	pthread_cond_destroy(&log->synced);
	pthread_cond_destroy(&log->indexed);
	pthread_cond_destroy(&log->done);
	free(log);
}
