/*
 * log.c - appending to the access log: the group commit to the journal,
 * the writer thread that stores durable events in the log database behind
 * it (the Merkle frontier, the stored subtree hashes, the signed
 * checkpoints), and opening with recovery.
 *
 * An append takes the next seq and time under the log's lock and adds its
 * record to the batch for the next flush. If no flush is under way it
 * flushes the batch to the journal itself (no thread hand-off on the way
 * to the disk); otherwise it sleeps on its own semaphore. A flush wakes
 * each appender in its batch once, and hands the flush on to the first
 * appender of the batch that gathered meanwhile, so batches grow with the
 * load and no woken thread contends for a lock again. An append on a ticket
 * (audit_append_ticket) does not wait: its batch is flushed by the log's
 * flusher thread (or by an appender flushing anyway), which then settles
 * the ticket.
 *
 * Invariants: sequence numbers are gapless from 0 and equal leaf indexes;
 * times never decrease with the sequence; a caller is told an event is
 * durable only after the journal holding it was flushed; if writing a batch
 * fails, every caller in it and after it is told so and their seqs are
 * handed out again; if a flush fails the log refuses everything until it is
 * reopened. The database holds a prefix of the durable events, flushed at
 * every checkpoint; reading paths wait for it to catch up (audit_settle).
 * Every entry of the database is covered by a signed checkpoint or by its
 * authenticated record in the journal (a segment is reused only once a
 * checkpoint covers it); opening refuses a log where that is not so, or
 * that is not consistent with its newest checkpoint and every witness, and
 * then signs what it recovered at once, so nothing is signed over a
 * forgery. Witness files are written by their own thread: a slow or
 * failing witness never holds up the log.
 */
#include <semaphore.h>
#include <time.h>

#include "audit/audit_internal.h"

#define MAX_BATCH 4096
#define CHECKPOINT_INTERVAL_US 1000000
#define MAX_BACKLOG 65536 /* durable events not yet in the database, at most */
#define STORE_DELAY_US 10000 /* durable events wait this long to be stored in bulk */
#define GATHER_MAX_US 500 /* the longest a flush waits for a round's appenders */

struct waiter;

struct item {
	uint64_t seq;
	int64_t time_us;
	int64_t user_id, subject_id, record_id;
	char action[48];
	char outcome[8];
	unsigned char leaf[HASH_BYTES];
	char *entry;
	size_t len;
	struct waiter *waiter; /* its appender, until told */
	struct audit_ticket *ticket; /* or the ticket it counts on */
	struct item *next;
};

/* Condition variables whose timed waits count on the monotonic clock, so
 * that a step of the wall clock never stretches a wait. */
static void cond_init_monotonic(pthread_cond_t *c)
{
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(c, &a);
	pthread_condattr_destroy(&a);
}

void audit_deadline(struct timespec *ts, int64_t after_us)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += after_us / 1000000;
	ts->tv_nsec += (after_us % 1000000) * 1000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

static void free_items(struct item *it)
{
	for (struct item *next; it; it = next) {
		next = it->next;
		free(it->entry);
		free(it);
	}
}

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

/* --- storing durable events in the database ------------------------------ */

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

/* Writes cp to every witness file; a failure is reported and counted,
 * and the log goes on (the witness lags; it never leads). */
static void publish_witnesses(struct audit_log *log, const struct audit_checkpoint *cp)
{
	for (size_t i = 0; i < log->nwitnesses; i++) {
		struct st_error e = {0};
		if (audit_witness_write(log->witnesses[i], log->pk, cp, log->log_id, &e) == ST_OK)
			continue;
		fprintf(stderr, "steward: cannot write the access-log witness: %s\n", e.message);
		pthread_mutex_lock(&log->lock);
		log->witness_failures++;
		pthread_mutex_unlock(&log->lock);
	}
}

/* The witness thread: writes the newest checkpoint handed to it; at the
 * end, the last one before it stops. */
static void *witness_main(void *arg)
{
	struct audit_log *log = arg;
	pthread_mutex_lock(&log->lock);
	for (;;) {
		while (!log->witness_pending && !log->witness_stop)
			pthread_cond_wait(&log->witness_work, &log->lock);
		if (!log->witness_pending)
			break;
		struct audit_checkpoint cp = log->witness_cp;
		log->witness_pending = false;
		pthread_mutex_unlock(&log->lock);
		publish_witnesses(log, &cp);
		pthread_mutex_lock(&log->lock);
	}
	pthread_mutex_unlock(&log->lock);
	return NULL;
}

/* Inserts a checkpoint of the current frontier in the open transaction. */
static int insert_checkpoint(struct audit_log *log, struct audit_checkpoint *cp,
			     struct st_error *e)
{
	memset(cp, 0, sizeof(*cp));
	cp->tree_size = log->frontier.size;
	int64_t now = time_now_us();
	cp->time_us = log->stored_time_us > now ? log->stored_time_us : now;
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
	pthread_cond_broadcast(&log->stored);
	pthread_cond_signal(&log->gathered);
	pthread_mutex_unlock(&log->lock);
	fprintf(stderr,
		"steward: ACCESS LOG WRITE FAILED (%s); access that needs the log is refused %s\n",
		e->message,
		sticky ? "until the server is restarted (what is on disk must be read again)"
		       : "until it can be written");
	fflush(stderr);
}

/* Stores durable events (and a checkpoint, if one is due) in one
 * transaction; the database is flushed only with a checkpoint. */
static int store_items(struct audit_log *log, struct item *batch, bool force_checkpoint,
		       struct audit_checkpoint *cp, bool *wrote_cp, struct st_error *e)
{
	*wrote_cp = false;
	struct merkle_frontier saved = log->frontier;
	int64_t saved_time = log->stored_time_us;
	int rc = store_begin(log->wconn, e);
	if (rc != ST_OK)
		return rc;
	struct node_ctx nc = {log->wconn, ST_OK, e};
	for (struct item *p = batch; p && rc == ST_OK; p = p->next) {
		if (p->seq != log->frontier.size) {
			rc = err_set(e, ST_EINTERNAL, NULL, "access-log event %llu out of order",
				     (unsigned long long)p->seq);
			break;
		}
		struct store_stmt *s;
		rc = store_prepare(log->wconn,
				   "INSERT INTO audit_event (seq, time_us, user_id, subject_id, "
				   "record_id, action, outcome, entry, leaf_hash) "
				   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
				   &s, e);
		if (rc != ST_OK)
			break;
		store_bind_int(s, 1, (int64_t)p->seq);
		store_bind_int(s, 2, p->time_us);
		if (p->user_id) store_bind_int(s, 3, p->user_id); else store_bind_null(s, 3);
		if (p->subject_id) store_bind_int(s, 4, p->subject_id); else store_bind_null(s, 4);
		if (p->record_id) store_bind_int(s, 5, p->record_id); else store_bind_null(s, 5);
		store_bind_text(s, 6, p->action);
		store_bind_text(s, 7, p->outcome);
		store_bind_blob(s, 8, p->entry, p->len);
		store_bind_blob(s, 9, p->leaf, HASH_BYTES);
		rc = store_step(s, e);
		store_done(s);
		if (rc != STORE_DONE)
			break;
		rc = ST_OK;
		merkle_frontier_push(&log->frontier, 0, p->leaf, store_node, &nc);
		rc = nc.rc;
		log->stored_time_us = p->time_us;
	}
	if (rc == ST_OK && log->frontier.size > log->last_cp_size &&
	    (force_checkpoint || mono_us() - log->last_cp_mono_us >= CHECKPOINT_INTERVAL_US)) {
		rc = insert_checkpoint(log, cp, e);
		*wrote_cp = rc == ST_OK;
	}
	if (rc == ST_OK)
		rc = store_commit(log->wconn, e);
	else
		store_rollback(log->wconn);
	/* A checkpoint is worth something only once it is on disk; so are the
	 * events it covers, and then the journal may forget them. */
	if (rc == ST_OK && *wrote_cp)
		rc = store_sync(log->db, e);
	if (rc != ST_OK) {
		log->frontier = saved;
		log->stored_time_us = saved_time;
		*wrote_cp = false;
		return rc;
	}
	if (*wrote_cp) {
		log->last_cp_size = cp->tree_size;
		log->last_cp_mono_us = mono_us();
	}
	return ST_OK;
}

static void *writer_main(void *arg)
{
	struct audit_log *log = arg;
	pthread_mutex_lock(&log->lock);
	for (;;) {
		for (;;) {
			/* At the end, every append under way has been flushed (or
			 * refused) before the last events are stored. */
			bool ending = log->stop && !log->flushing && !log->phead;
			if (log->cp_request || ending || (log->failed && !log->flushing))
				break;
			if (log->ihead) {
				/* Store in larger batches: the events are durable
				 * already, and a commit writes whole pages. Unless
				 * someone waits for them, or they pile up. */
				int64_t age = mono_us() - log->ihead_since_us;
				if (age >= STORE_DELAY_US || log->settling || log->stop ||
				    log->durable - log->committed >= MAX_BATCH)
					break;
				struct timespec ts;
				audit_deadline(&ts, STORE_DELAY_US - age);
				pthread_cond_timedwait(&log->work, &log->lock, &ts);
				continue;
			}
			bool cp_due = !log->failed && log->committed > log->last_cp_size;
			if (!cp_due) {
				pthread_cond_wait(&log->work, &log->lock);
				continue;
			}
			/* Events are flowing: sign a checkpoint at least once a
			 * second even if nothing else arrives. */
			int64_t wait = CHECKPOINT_INTERVAL_US - (mono_us() - log->last_cp_mono_us);
			if (wait <= 0)
				break;
			struct timespec ts;
			audit_deadline(&ts, wait);
			pthread_cond_timedwait(&log->work, &log->lock, &ts);
		}
		struct item *batch = log->ihead, *last = NULL;
		int n = 0;
		for (struct item *p = batch; p && n < MAX_BATCH; p = p->next, n++)
			last = p;
		if (last) {
			log->ihead = last->next;
			if (!log->ihead)
				log->itail = NULL;
			last->next = NULL;
		}
		bool stopping = log->stop && !log->flushing && !log->phead && !log->ihead;
		bool requested = log->cp_request;
		log->cp_request = false;
		bool failed = log->failed;
		pthread_mutex_unlock(&log->lock);

		struct audit_checkpoint cp;
		bool wrote_cp = false;
		int rc = ST_OK;
		if (!failed && (batch || log->frontier.size > log->last_cp_size)) {
			struct st_error e = {0};
			rc = store_items(log, batch, stopping || requested, &cp, &wrote_cp, &e);
			if (rc != ST_OK) {
				/* The events are safe in the journal, but the log
				 * database no longer follows it: stop until reopened,
				 * which stores them from the journal. */
				report_failure(log, &e, true);
			}
		}
		free_items(batch);

		pthread_mutex_lock(&log->lock);
		if (wrote_cp && log->nwitnesses) {
			log->witness_cp = cp;
			log->witness_pending = true;
			pthread_cond_signal(&log->witness_work);
		}
		if (rc == ST_OK && !failed) {
			log->committed = log->frontier.size;
			if (batch)
				log->commits++;
			if (wrote_cp)
				log->synced = cp.tree_size;
		}
		if (requested) {
			log->cp_generation++;
			pthread_cond_broadcast(&log->done);
		}
		pthread_cond_broadcast(&log->stored);
		pthread_cond_signal(&log->indexed);
		if (stopping || (log->failed && log->stop && !log->flushing)) {
			free_items(log->ihead);
			log->ihead = log->itail = NULL;
			break;
		}
		if (log->failed && !log->stop) {
			/* Nothing more can be stored: drop what waits, and wait for
			 * the end (requests are answered at once). */
			free_items(log->ihead);
			log->ihead = log->itail = NULL;
			while (!log->stop && !log->cp_request)
				pthread_cond_wait(&log->work, &log->lock);
		}
	}
	log->writer_done = true;
	pthread_cond_broadcast(&log->done);
	pthread_cond_broadcast(&log->stored);
	pthread_cond_broadcast(&log->indexed);
	pthread_mutex_unlock(&log->lock);
	return NULL;
}

/* --- appending ---------------------------------------------------------- */

/* An appender waiting for its event's flush, woken on its own semaphore:
 * told the outcome, or told to flush the next batch itself. No shared lock
 * is retaken on the way out, so a flush wakes each waiter exactly once. */
enum { WAIT_PENDING, WAIT_DURABLE, WAIT_FAILED, WAIT_LEAD };

struct waiter {
	sem_t wake;
	int status;
};

struct wakeups {
	struct waiter **w;
	int *status;
	size_t n, cap;
	struct audit_ticket **t; /* tickets to settle */
	bool *t_ok;
	size_t nt, tcap;
};

static void settle_later(struct wakeups *k, struct audit_ticket *t, bool ok)
{
	if (k->nt == k->tcap) {
		k->tcap = k->tcap ? 2 * k->tcap : 64;
		k->t = xrealloc(k->t, k->tcap * sizeof(*k->t));
		k->t_ok = xrealloc(k->t_ok, k->tcap * sizeof(*k->t_ok));
	}
	k->t[k->nt] = t;
	k->t_ok[k->nt++] = ok;
}

/* One append on t is settled. The ticket is not touched after `ready`
 * (its owner may end the request and free it at once). */
static void ticket_settle(struct audit_ticket *t, bool ok)
{
	pthread_mutex_lock(&t->mu);
	if (!ok)
		t->failed = true;
	bool fire = --t->pending == 0 && t->armed;
	if (fire)
		t->armed = false;
	void (*ready)(void *) = t->ready;
	void *arg = t->arg;
	pthread_mutex_unlock(&t->mu);
	if (fire)
		ready(arg);
}

void audit_ticket_init(struct audit_ticket *t, void (*ready)(void *arg), void *arg)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->mu, NULL);
	t->ready = ready;
	t->arg = arg;
}

void audit_ticket_destroy(struct audit_ticket *t)
{
	pthread_mutex_destroy(&t->mu);
}

bool audit_ticket_wait(struct audit_ticket *t, void (*suspend)(void *arg), void *arg)
{
	pthread_mutex_lock(&t->mu);
	bool settled = t->pending == 0;
	if (!settled) {
		suspend(arg);
		t->armed = true;
	}
	pthread_mutex_unlock(&t->mu);
	return settled;
}

static void wake_later(struct wakeups *k, struct waiter *w, int status)
{
	if (k->n == k->cap) {
		k->cap = k->cap ? 2 * k->cap : 64;
		k->w = xrealloc(k->w, k->cap * sizeof(*k->w));
		k->status = xrealloc(k->status, k->cap * sizeof(*k->status));
	}
	k->w[k->n] = w;
	k->status[k->n++] = status;
}

/* Flushes the gathered batch to the journal, then wakes everyone in it (or
 * settles their tickets) and hands the flush to the first waiter of the
 * next batch, if any, or to the flusher thread when that batch begins with
 * an append on a ticket. Called by the appender or the flusher thread that
 * holds the flush (log->flushing), without the lock. Returns whether its
 * own event (in the batch) is durable (self: NULL for the flusher). */
static bool lead_flush(struct audit_log *log, struct waiter *self)
{
	pthread_mutex_lock(&log->lock);
	/* Gather: when the last round had more appenders than this batch
	 * holds (they were woken by the last flush and are coming back), wait
	 * a fraction of a flush for them. The flush is the cost; an event more
	 * in it is nearly free. Alone, an appender never waits. */
	uint64_t want = log->round;
	if (log->next_seq - log->phead->seq < want && !log->failed) {
		int64_t wait = log->flush_avg_us / 2;
		if (wait > GATHER_MAX_US)
			wait = GATHER_MAX_US;
		struct timespec ts;
		audit_deadline(&ts, wait);
		log->gather_want = want;
		while (log->next_seq - log->phead->seq < want && !log->failed)
			if (pthread_cond_timedwait(&log->gathered, &log->lock, &ts) != 0)
				break;
		log->gather_want = 0;
	}
	struct buf out = log->jbuf;
	log->jbuf = (struct buf)BUF_INIT;
	struct item *batch = log->phead;
	log->phead = log->ptail = NULL;
	uint64_t first = batch->seq, end = log->next_seq;
	uint64_t synced = log->synced;
	bool failed = log->failed;
	unsigned char chain_end[JOURNAL_CHECK_BYTES];
	memcpy(chain_end, log->chain, JOURNAL_CHECK_BYTES);
	pthread_mutex_unlock(&log->lock);

	struct st_error e = {0};
	bool sticky = false;
	int64_t t0 = mono_us();
	int rc = failed ? err_set(&e, ST_EAUDIT, NULL, "the access log has failed")
			: journal_append(log->journal, out.data, out.len, first, end, synced,
					 &sticky, &e);
	int64_t flush_time = mono_us() - t0;
	buf_release(&out);
	if (rc != ST_OK && !failed)
		report_failure(log, &e, sticky);

	/* Whom to wake: collected under the lock, woken after it. */
	struct wakeups k = {0};
	pthread_mutex_lock(&log->lock);
	log->flushes++;
	log->flush_us += (uint64_t)flush_time;
	log->flush_avg_us += (flush_time - log->flush_avg_us) / 8;
	/* Everyone in this round: those flushed and those gathered meanwhile. */
	log->round = end - first + (log->next_seq - end);
	struct item *last = NULL;
	for (struct item *p = batch; p; p = p->next) {
		if (p->waiter && p->waiter != self)
			wake_later(&k, p->waiter, rc == ST_OK ? WAIT_DURABLE : WAIT_FAILED);
		if (p->ticket)
			settle_later(&k, p->ticket, rc == ST_OK);
		p->waiter = NULL;
		p->ticket = NULL;
		last = p;
	}
	if (rc == ST_OK) {
		log->durable = end;
		memcpy(log->chain_durable, chain_end, JOURNAL_CHECK_BYTES);
		if (log->itail) {
			log->itail->next = batch;
		} else {
			log->ihead = batch;
			log->ihead_since_us = mono_us();
		}
		log->itail = last;
	} else {
		/* Nothing from `first` on was written: every caller from there
		 * is told so, and their seqs are handed out again. */
		for (struct item *p = log->phead; p; p = p->next) {
			if (p->waiter)
				wake_later(&k, p->waiter, WAIT_FAILED);
			if (p->ticket)
				settle_later(&k, p->ticket, false);
		}
		free_items(batch);
		free_items(log->phead);
		log->phead = log->ptail = NULL;
		buf_release(&log->jbuf);
		log->next_seq = first;
		memcpy(log->chain, log->chain_durable, JOURNAL_CHECK_BYTES);
	}
	struct waiter *next_leader = NULL;
	if (log->phead && log->phead->waiter) {
		/* The next batch gathered meanwhile: its first waiter flushes it,
		 * woken before everyone else so that the disk is not kept idle. */
		next_leader = log->phead->waiter;
		log->phead->waiter = NULL;
	} else if (log->phead) {
		/* it begins with an append on a ticket: nobody waits to lead */
		log->flusher_leads = true;
		pthread_cond_signal(&log->flush_work);
	} else {
		log->flushing = false;
		if (log->stop)
			pthread_cond_signal(&log->flush_work);
	}
	pthread_cond_signal(&log->work);
	pthread_mutex_unlock(&log->lock);
	if (next_leader) {
		next_leader->status = WAIT_LEAD;
		sem_post(&next_leader->wake);
	}
	for (size_t i = 0; i < k.n; i++) {
		k.w[i]->status = k.status[i];
		sem_post(&k.w[i]->wake);
	}
	for (size_t i = 0; i < k.nt; i++)
		ticket_settle(k.t[i], k.t_ok[i]);
	free(k.w);
	free(k.status);
	free(k.t);
	free(k.t_ok);
	return rc == ST_OK;
}

/* Flushes the batches that begin with an append on a ticket. Ends once the
 * log is closing and nothing is left to flush. */
static void *flusher_main(void *arg)
{
	struct audit_log *log = arg;
	pthread_mutex_lock(&log->lock);
	for (;;) {
		while (!log->flusher_leads && !(log->stop && !log->flushing && !log->phead))
			pthread_cond_wait(&log->flush_work, &log->lock);
		if (!log->flusher_leads)
			break;
		log->flusher_leads = false;
		pthread_mutex_unlock(&log->lock);
		lead_flush(log, NULL);
		pthread_mutex_lock(&log->lock);
	}
	pthread_mutex_unlock(&log->lock);
	return NULL;
}

static int unavailable(struct st_error *e)
{
	return err_setc(e, ST_EAUDIT, "audit_unavailable", NULL,
			"the access log could not be written, so nothing was served; "
			"the failure has been reported");
}

static int append(struct audit_log *log, const struct audit_event *ev,
		  struct audit_ticket *ticket, int64_t *seq, struct st_error *e)
{
	if (!log->has_writer)
		return err_set(e, ST_EAUDIT, NULL, "the access log is open read-only");
	struct buf body = BUF_INIT;
	int rc = audit_event_body(ev, log->purpose_key, &body, e);
	if (rc == ST_OK && body.len > JOURNAL_ENTRY_MAX - 256)
		rc = err_set(e, ST_EINTERNAL, NULL,
			     "an access-log event of %zu bytes is larger than the log takes", body.len);
	if (rc != ST_OK) {
		buf_release(&body);
		return rc;
	}
	struct item *it = xcalloc(1, sizeof(*it));
	it->user_id = ev->user_id;
	it->subject_id = ev->subject_id;
	it->record_id = ev->record_id;
	str_copy(it->action, sizeof(it->action), ev->action);
	str_copy(it->outcome, sizeof(it->outcome), ev->outcome);
	struct buf entry = BUF_INIT;

	pthread_mutex_lock(&log->lock);
	/* The database behind the journal sets the pace: durable events
	 * waiting to be stored are held in memory, and no more than so many. */
	while (log->next_seq - log->committed >= MAX_BACKLOG && !log->stop && !log->failed) {
		log->backlog_waits++;
		if (ticket) {
			/* a caller on a ticket must not block: it is told to retry */
			pthread_cond_signal(&log->work);
			pthread_mutex_unlock(&log->lock);
			buf_release(&body);
			free(it);
			return err_setc(e, ST_EUNAVAIL, "busy", NULL,
					"the access log is catching up; try again shortly");
		}
		pthread_cond_signal(&log->work);
		pthread_cond_wait(&log->stored, &log->lock);
	}
	if (log->stop || log->failed) {
		bool stopping = log->stop;
		pthread_mutex_unlock(&log->lock);
		buf_release(&body);
		free(it);
		if (stopping)
			return err_setc(e, ST_EUNAVAIL, "shutting_down", NULL,
					"the access log is closing; try again");
		return unavailable(e);
	}
	uint64_t my = log->next_seq++;
	int64_t t = time_now_us();
	if (t < log->last_time_us)
		t = log->last_time_us; /* times never go backwards in the log */
	log->last_time_us = t;
	it->seq = my;
	it->time_us = t;
	audit_entry_build(my, t, body.data, body.len, &entry);
	merkle_leaf_hash(entry.data, entry.len, it->leaf);
	journal_record(&log->jbuf, my, t, it->user_id, it->subject_id, it->record_id, it->action,
		       it->outcome, it->leaf, entry.data, entry.len, log->journal_key, log->chain);
	it->entry = entry.data;
	it->len = entry.len;
	if (log->ptail)
		log->ptail->next = it;
	else
		log->phead = it;
	log->ptail = it;
	if (log->gather_want && log->next_seq - log->phead->seq >= log->gather_want)
		pthread_cond_signal(&log->gathered);
	if (ticket) {
		/* counted before any flush can take it (under the log's lock) */
		pthread_mutex_lock(&ticket->mu);
		ticket->pending++;
		pthread_mutex_unlock(&ticket->mu);
		it->ticket = ticket;
		if (!log->flushing) {
			log->flushing = true;
			log->flusher_leads = true;
			pthread_cond_signal(&log->flush_work);
		}
		pthread_mutex_unlock(&log->lock);
		buf_release(&body);
		if (seq)
			*seq = (int64_t)my;
		return ST_OK;
	}
	struct waiter self;
	sem_init(&self.wake, 0, 0);
	self.status = WAIT_PENDING;
	it->waiter = &self;
	bool lead = !log->flushing;
	if (lead) {
		log->flushing = true;
		it->waiter = NULL;
	}
	pthread_mutex_unlock(&log->lock);
	buf_release(&body);
	bool ok;
	if (lead) {
		ok = lead_flush(log, &self);
	} else {
		while (sem_wait(&self.wake) != 0)
			; /* EINTR */
		ok = self.status == WAIT_DURABLE;
		if (self.status == WAIT_LEAD)
			ok = lead_flush(log, &self);
	}
	sem_destroy(&self.wake);
	if (!ok)
		return unavailable(e);
	if (seq)
		*seq = (int64_t)my;
	return ST_OK;
}

int audit_append(struct audit_log *log, const struct audit_event *ev, int64_t *seq,
		 struct st_error *e)
{
	return append(log, ev, NULL, seq, e);
}

int audit_append_ticket(struct audit_log *log, const struct audit_event *ev,
			struct audit_ticket *t, int64_t *seq, struct st_error *e)
{
	return append(log, ev, t, seq, e);
}

void audit_settle(struct audit_log *log)
{
	if (!log->has_writer)
		return;
	pthread_mutex_lock(&log->lock);
	uint64_t target = log->durable;
	log->settling++;
	while (log->committed < target && !log->failed && !log->writer_done) {
		pthread_cond_signal(&log->work);
		pthread_cond_wait(&log->stored, &log->lock);
	}
	log->settling--;
	pthread_mutex_unlock(&log->lock);
}

int audit_checkpoint_now(struct audit_log *log, struct audit_checkpoint *out,
			 struct st_error *e)
{
	if (!log->has_writer)
		return audit_latest_checkpoint(log, out, e);
	audit_settle(log);
	pthread_mutex_lock(&log->lock);
	uint64_t gen = log->cp_generation;
	log->cp_request = true;
	pthread_cond_signal(&log->work);
	while (log->cp_generation == gen && !log->writer_done)
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
	out->stored = log->committed;
	out->backlog_waits = log->backlog_waits;
	out->witness_failures = log->witness_failures;
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

/* --- opening -------------------------------------------------------------- */

static char *index_path_for(const char *path)
{
	size_t n = strlen(path);
	if (n > 3 && str_eq(path + n - 3, ".db"))
		return xasprintf("%.*s-index.db", (int)(n - 3), path);
	return xasprintf("%s-index", path);
}

struct recovered {
	struct item *head, *tail;
	uint64_t from, size;        /* unsigned entries [from, size) are in the database */
	struct merkle_hash *stored; /* their leaf hashes */
	uint64_t seen;              /* of them, found in the journal */
	int64_t differs;            /* the first whose journal record differs, or -1 */
};

static void recover_one(void *ctx, const struct journal_entry *je)
{
	struct recovered *r = ctx;
	if (je->seq < r->size) {
		/* an unsigned entry of the database: its journal record vouches
		 * for it (authenticated with the journal key) */
		if (je->seq >= r->from) {
			r->seen++;
			if (r->differs < 0 &&
			    !secure_equal(je->leaf, r->stored[je->seq - r->from].h, HASH_BYTES))
				r->differs = (int64_t)je->seq;
		}
		return;
	}
	struct item *it = xcalloc(1, sizeof(*it));
	it->seq = je->seq;
	it->time_us = je->time_us;
	it->user_id = je->user_id;
	it->subject_id = je->subject_id;
	it->record_id = je->record_id;
	str_copy(it->action, sizeof(it->action), je->action);
	str_copy(it->outcome, sizeof(it->outcome), je->outcome);
	memcpy(it->leaf, je->leaf, HASH_BYTES);
	it->entry = xmalloc(je->len);
	memcpy(it->entry, je->entry, je->len);
	it->len = je->len;
	if (r->tail)
		r->tail->next = it;
	else
		r->head = it;
	r->tail = it;
}

/* Leaf hashes of the database's entries [from, to). */
static int load_leaves(struct store_conn *c, uint64_t from, uint64_t to, struct merkle_hash *out,
		       struct st_error *e)
{
	struct store_stmt *s;
	int rc = store_prepare(c,
			       "SELECT seq, leaf_hash FROM audit_event WHERE seq >= ? AND seq < ? "
			       "ORDER BY seq",
			       &s, e);
	if (rc != ST_OK)
		return rc;
	store_bind(s, "ii", (int64_t)from, (int64_t)to);
	uint64_t expect = from;
	while ((rc = store_step(s, e)) == STORE_ROW) {
		size_t len = 0;
		const void *h = store_col_blob(s, 1, &len);
		if ((uint64_t)store_col_int(s, 0) != expect || len != HASH_BYTES) {
			rc = err_set(e, ST_ECRYPTO, NULL, "access-log entry %llu is missing or malformed",
				     (unsigned long long)expect);
			break;
		}
		memcpy(out[expect - from].h, h, HASH_BYTES);
		expect++;
	}
	store_done(s);
	return rc == STORE_DONE ? ST_OK : rc;
}

static int unsigned_entries_refused(uint64_t from, uint64_t size, const char *why,
				    struct st_error *e)
{
	return err_setc(e, ST_ECRYPTO, "verification_failed", NULL,
			"entries %llu to %llu of the access log are covered neither by a signed "
			"checkpoint nor by the journal (%s): the log was altered and cannot be "
			"trusted; check it against a witness (steward audit verify --witness FILE) "
			"and restore it from a backup",
			(unsigned long long)from, (unsigned long long)size - 1, why);
}

/* Checks that the entries after the newest checkpoint [from, size) are
 * those the journal holds, stores what the journal holds beyond the
 * database (a crash), and flushes the database, so that the journal can
 * start over. */
static int recover(struct audit_log *log, const char *path, uint64_t from, uint64_t size,
		   struct st_error *e)
{
	struct recovered r = {.from = from, .size = size, .differs = -1};
	int rc = ST_OK;
	if (from < size) {
		r.stored = xcalloc(size - from, sizeof(*r.stored));
		rc = load_leaves(log->wconn, from, size, r.stored, e);
	}
	uint64_t end = size;
	struct st_error se = {0};
	if (rc == ST_OK) {
		rc = journal_scan(path, from, false, log->journal_key, recover_one, &r, &end, &se);
		if (rc != ST_OK && from < size && str_eq(se.code, "journal_hole"))
			rc = unsigned_entries_refused(from, size, "the journal does not hold them", e);
		else if (rc != ST_OK && e)
			*e = se;
	}
	if (rc == ST_OK && from < size && r.differs >= 0)
		rc = unsigned_entries_refused(from, size, "an entry differs from its journal record",
					      e);
	else if (rc == ST_OK && from < size && r.seen != size - from)
		rc = unsigned_entries_refused(from, size, "the journal does not hold them all", e);
	free(r.stored);
	struct item *p = rc == ST_OK ? r.head : NULL;
	if (rc != ST_OK)
		free_items(r.head);
	while (rc == ST_OK && p) {
		struct item *batch = p, *last = p;
		for (int n = 1; n < MAX_BATCH && last->next; n++)
			last = last->next;
		p = last->next;
		last->next = NULL;
		struct audit_checkpoint cp;
		bool wrote = false;
		rc = store_items(log, batch, false, &cp, &wrote, e);
		free_items(batch);
	}
	free_items(p);
	if (rc == ST_OK && r.head)
		fprintf(stderr, "steward: %llu access-log events moved from the journal into the "
				"log after an unclean stop\n",
			(unsigned long long)(end - size));
	if (rc == ST_OK)
		rc = store_sync(log->db, e);
	return rc;
}

/* Before anything is stored or signed: the newest checkpoint is this log's
 * and matches the entries, and the log is a consistent extension of every
 * witness. *cp_size receives the newest checkpoint's size (0 if none). */
static int check_history(struct audit_log *log, uint64_t size, uint64_t *cp_size,
			 struct st_error *e)
{
	*cp_size = 0;
	struct audit_checkpoint cp;
	struct st_error ce = {0};
	int rc = audit_latest_checkpoint(log, &cp, &ce);
	if (rc == ST_ENOTFOUND) {
		if (size > 0)
			return err_setc(e, ST_ECRYPTO, "verification_failed", NULL,
					"the access log holds %llu entries but no signed checkpoint: "
					"its checkpoints were removed, and it cannot be trusted; check "
					"it against a witness (steward audit verify --witness FILE) "
					"and restore it from a backup",
					(unsigned long long)size);
	} else if (rc != ST_OK) {
		if (e)
			*e = ce;
		return rc;
	} else {
		unsigned char root[HASH_BYTES];
		struct merkle_frontier f;
		if (!audit_checkpoint_valid(&cp, log->pk))
			return err_setc(e, ST_ECRYPTO, "verification_failed", NULL,
					"the access log's newest checkpoint (%llu entries) is not "
					"signed by this log's key",
					(unsigned long long)cp.tree_size);
		if (cp.tree_size > size)
			return err_setc(e, ST_ECRYPTO, "verification_failed", NULL,
					"the access log was truncated: its newest signed checkpoint "
					"covers %llu entries but only %llu remain",
					(unsigned long long)cp.tree_size, (unsigned long long)size);
		rc = audit_db_frontier(log->wconn, cp.tree_size, &f, e);
		if (rc != ST_OK)
			return rc;
		merkle_frontier_root(&f, root);
		if (!secure_equal(root, cp.root, HASH_BYTES))
			return err_setc(e, ST_ECRYPTO, "verification_failed", NULL,
					"the access log does not match its newest signed checkpoint "
					"(%llu entries): entries were altered",
					(unsigned long long)cp.tree_size);
		*cp_size = cp.tree_size;
	}
	unsigned char now[HASH_BYTES];
	merkle_frontier_root(&log->frontier, now);
	for (size_t i = 0; i < log->nwitnesses; i++) {
		const char *path = log->witnesses[i];
		/* a new log has nothing witnessed yet */
		if (i == 0 && log->own_witness && size == 0 && !file_exists(path))
			continue;
		struct audit_checkpoint w;
		rc = audit_witness_read(path, log->pk, &w, e);
		if (rc == ST_OK)
			rc = audit_witness_consistent(log->wconn, size, now, &w, path, e);
		if (rc != ST_OK)
			return rc;
	}
	return ST_OK;
}

void audit_journal_key(const unsigned char sign_sk[SIGN_SECRET_BYTES],
		       unsigned char key[KEY_BYTES])
{
	static const char label[] = "steward-audit-journal-key/1";
	hmac_sha256(sign_sk, label, sizeof(label) - 1, key);
}

static void purpose_key(const unsigned char sign_sk[SIGN_SECRET_BYTES],
			unsigned char key[KEY_BYTES])
{
	static const char label[] = "steward-audit-purpose-key/1";
	hmac_sha256(sign_sk, label, sizeof(label) - 1, key);
}

int audit_open(const struct audit_options *opt, struct audit_log **out, struct st_error *e)
{
	struct audit_log *log = xcalloc(1, sizeof(*log));
	pthread_mutex_init(&log->lock, NULL);
	cond_init_monotonic(&log->work);
	pthread_cond_init(&log->stored, NULL);
	cond_init_monotonic(&log->gathered);
	pthread_cond_init(&log->flush_work, NULL);
	cond_init_monotonic(&log->indexed);
	pthread_cond_init(&log->done, NULL);
	pthread_cond_init(&log->witness_work, NULL);
	memcpy(log->pk, opt->sign_pk, SIGN_PUBLIC_BYTES);
	audit_log_id(log->pk, log->log_id);
	log->witnesses = xcalloc(opt->nwitnesses + 1, sizeof(char *));
	if (opt->witness_path) {
		log->witnesses[log->nwitnesses++] = xstrdup(opt->witness_path);
		log->own_witness = true;
	}
	for (size_t i = 0; i < opt->nwitnesses; i++)
		log->witnesses[log->nwitnesses++] = xstrdup(opt->witnesses[i]);
	struct store_options so = {.backend = "sqlite", .location = opt->path, .vfs = opt->vfs,
				   .create = opt->create, .pool_size = 8};
	int rc = store_open(&so, &log->db, e);
	if (rc == ST_OK)
		rc = store_migrate(log->db, "audit", -1, e);
	if (rc == ST_OK && opt->sign_sk)
		rc = journal_open(opt->path, opt->vfs != NULL, opt->journal_segment, &log->journal, e);
	if (rc != ST_OK)
		goto fail;
	if (opt->sign_sk) {
		log->sk = secure_alloc(SIGN_SECRET_BYTES);
		memcpy(log->sk, opt->sign_sk, SIGN_SECRET_BYTES);
		log->journal_key = secure_alloc(KEY_BYTES);
		audit_journal_key(log->sk, log->journal_key);
		log->purpose_key = secure_alloc(KEY_BYTES);
		purpose_key(log->sk, log->purpose_key);
		rc = store_acquire(log->db, &log->wconn, e);
		if (rc == ST_OK)
			rc = store_defer_sync(log->wconn, e);
		if (rc != ST_OK)
			goto fail;
		/* Anything an earlier process committed is made durable first. */
		rc = store_sync(log->db, e);
		uint64_t size = 0, cp_size = 0;
		if (rc == ST_OK)
			rc = audit_db_size(log->wconn, &size, e);
		if (rc == ST_OK)
			rc = audit_db_frontier(log->wconn, size, &log->frontier, e);
		if (rc == ST_OK) {
			int64_t t = 0;
			if (size)
				rc = store_query_int(log->wconn, &t, e,
						     "SELECT time_us FROM audit_event WHERE seq = ?", "i",
						     (int64_t)size - 1);
			log->stored_time_us = t;
		}
		if (rc == ST_OK)
			rc = check_history(log, size, &cp_size, e);
		if (rc == ST_OK) {
			log->last_cp_size = cp_size;
			log->last_cp_mono_us = mono_us();
			rc = recover(log, opt->path, cp_size, size, e);
		}
		if (rc == ST_OK && log->frontier.size > log->last_cp_size) {
			/* What this open vouched for is signed before anything new. */
			struct audit_checkpoint cp;
			bool wrote = false;
			rc = store_items(log, NULL, true, &cp, &wrote, e);
			if (rc == ST_OK && wrote)
				publish_witnesses(log, &cp);
		}
		if (rc != ST_OK)
			goto fail;
		size = log->frontier.size;
		journal_start(log->journal, size);
		log->last_time_us = log->stored_time_us;
		log->next_seq = log->durable = log->committed = log->synced = size;
	}
	/* The index is opened once the log holds everything durable. */
	char *ipath = index_path_for(opt->path);
	if (opt->sign_sk || file_exists(ipath))
		rc = audit_index_open(log, ipath, opt->sign_sk != NULL, e);
	free(ipath);
	if (rc != ST_OK)
		goto fail;
	if (opt->sign_sk) {
		if (pthread_create(&log->writer, NULL, writer_main, log) != 0)
			die("cannot start the access-log writer");
		if (pthread_create(&log->indexer, NULL, audit_indexer_main, log) != 0)
			die("cannot start the access-log indexer");
		if (pthread_create(&log->flusher, NULL, flusher_main, log) != 0)
			die("cannot start the access-log flusher");
		if (pthread_create(&log->witnesser, NULL, witness_main, log) != 0)
			die("cannot start the access-log witness writer");
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
		pthread_cond_signal(&log->flush_work);
		pthread_mutex_unlock(&log->lock);
		pthread_join(log->flusher, NULL);
		pthread_join(log->writer, NULL);
		pthread_join(log->indexer, NULL);
		/* the final checkpoint reaches the witnesses before the end */
		pthread_mutex_lock(&log->lock);
		log->witness_stop = true;
		pthread_cond_signal(&log->witness_work);
		pthread_mutex_unlock(&log->lock);
		pthread_join(log->witnesser, NULL);
	}
	if (log->wconn)
		store_release(log->wconn);
	journal_close(log->journal);
	store_close(log->idx);
	store_close(log->db);
	secure_free(log->sk);
	secure_free(log->journal_key);
	secure_free(log->purpose_key);
	for (size_t i = 0; i < log->nwitnesses; i++)
		free(log->witnesses[i]);
	free(log->witnesses);
	free_items(log->phead);
	free_items(log->ihead);
	buf_release(&log->jbuf);
	pthread_mutex_destroy(&log->lock);
	pthread_cond_destroy(&log->work);
	pthread_cond_destroy(&log->stored);
	pthread_cond_destroy(&log->gathered);
	pthread_cond_destroy(&log->flush_work);
	pthread_cond_destroy(&log->indexed);
	pthread_cond_destroy(&log->done);
	pthread_cond_destroy(&log->witness_work);
	free(log);
}

/* --- copies of a log database ------------------------------------------ */

int audit_db_extent(const char *db_path, uint64_t *entries, uint64_t *signed_size,
		    struct st_error *e)
{
	struct store *s = NULL;
	struct store_options so = {.backend = "sqlite", .location = db_path, .pool_size = 1};
	struct store_conn *c = NULL;
	int64_t n = 0, cp = 0;
	int rc = store_open(&so, &s, e);
	if (rc == ST_OK)
		rc = store_acquire(s, &c, e);
	if (rc == ST_OK)
		rc = store_exec(c, "BEGIN", e);
	if (rc == ST_OK) {
		rc = store_query_int(c, &n, e, "SELECT COALESCE(MAX(seq) + 1, 0) FROM audit_event", "");
		if (rc == ST_OK)
			rc = store_query_int(c, &cp, e,
					     "SELECT COALESCE(MAX(tree_size), 0) FROM audit_checkpoint",
					     "");
		store_exec(c, "COMMIT", NULL);
	}
	if (c)
		store_release(c);
	store_close(s);
	*entries = (uint64_t)n;
	*signed_size = (uint64_t)cp;
	return rc;
}

int audit_trim_unsigned(const char *db_path, uint64_t *kept, struct st_error *e)
{
	struct store *s = NULL;
	struct store_options so = {.backend = "sqlite", .location = db_path, .pool_size = 1};
	struct store_conn *c = NULL;
	int64_t cp = 0;
	int rc = store_open(&so, &s, e);
	if (rc == ST_OK)
		rc = store_acquire(s, &c, e);
	if (rc == ST_OK)
		rc = store_begin(c, e);
	if (rc == ST_OK)
		rc = store_query_int(c, &cp, e,
				     "SELECT COALESCE(MAX(tree_size), 0) FROM audit_checkpoint", "");
	if (rc == ST_OK)
		rc = store_run(c, e, "DELETE FROM audit_event WHERE seq >= ?", "i", cp);
	if (rc == ST_OK)
		rc = store_run(c, e, "DELETE FROM audit_node WHERE ((idx + 1) << level) > ?", "i", cp);
	if (rc == ST_OK)
		rc = store_commit(c, e);
	else if (c)
		store_rollback(c);
	if (c)
		store_release(c);
	store_close(s);
	*kept = (uint64_t)cp;
	return rc;
}
