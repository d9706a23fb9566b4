/*
 * bench_audit.c - the access log's durable append rate and proof times.
 *
 * Appends: 1, 8 and 64 threads each call audit_append() (which returns
 * only once the event is fsync'd) for a fixed time. Baselines measured in
 * the same run on the same disk, with the same rows and the same durability
 * (WAL, synchronous=FULL, nothing returned before its commit is on disk):
 *   A: plain SQLite with the query indexes inline, one transaction (one
 *      fsync) per event: what a simple application does;
 *   B: the same with a group commit (one writer thread, one fsync per
 *      batch): the "plain inserts" of the goal;
 *   C: B without inline indexes: the bare cost of durable rows, an upper
 *      bound for any log that also indexes them;
 *   D: no database at all: the same entry bytes appended to a preallocated
 *      file, one fdatasync per group (leader/follower group commit): the
 *      ceiling this disk sets for any log that answers only after a flush.
 * Steward's log makes each event durable in its journal (group commit led
 * by the appenders) and adds the leaf hash, stored subtree hashes, signed
 * checkpoints, the log database behind the journal and its query index in
 * a separate database behind that.
 * Proofs: inclusion and consistency proof times on a log of --events
 * events (default 10,000,000), against one indexed point read of an entry.
 *
 * usage: bench_audit [--seconds S] [--events N] [--dir DIR] [--no-proofs]
 *                    [--writers 1|8|64]
 */
#include <pthread.h>
#include <sqlite3.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "audit/audit_internal.h"
#include "core/context.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static volatile int stop_flag;

/* Runs one thread per work item for `seconds`; each item begins with its
 * count of durable events. Returns events per second. */
static double run_workers(int threads, double seconds, void *(*fn)(void *), void *works,
			  size_t size)
{
	pthread_t *th = xcalloc((size_t)threads, sizeof(*th));
	stop_flag = 0;
	double t0 = now_s();
	for (int i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, fn, (char *)works + (size_t)i * size);
	usleep((useconds_t)(seconds * 1e6));
	stop_flag = 1;
	uint64_t total = 0;
	for (int i = 0; i < threads; i++) {
		pthread_join(th[i], NULL);
		total += *(uint64_t *)(void *)((char *)works + (size_t)i * size);
	}
	double dt = now_s() - t0;
	free(th);
	return (double)total / dt;
}

/* --- the event every variant writes ----------------------------------- */

static void fill_event(struct audit_event *ev, struct actor *who, uint64_t i)
{
	*who = (struct actor){.user_id = 1 + (int64_t)(i % 1500), .via = "api",
			      .session_id = "5f3c9a7e2b1d4c6f", .client = "10.20.30.40",
			      .request_id = "9c1e2f3a4b5c6d7e8f90a1b2"};
	*ev = (struct audit_event){.action = "record.read", .outcome = i % 10 ? "allow" : "deny",
				   .role = "teacher", .record_id = 1 + (int64_t)(i % 125000),
				   .subject_id = 1 + (int64_t)(i % 25000), .category = "attendance",
				   .returned = "date,status,reason", .purpose = "daily attendance",
				   .rule = "teacher-reads-class-records"};
}

/* The event with its actor's fields, serialized as the log does: what the
 * baselines store. */
static void event_body(struct audit_event *ev, struct buf *body, uint64_t i)
{
	struct actor who;
	fill_event(ev, &who, i);
	ev->user_id = who.user_id;
	ev->via = who.via;
	ev->session_id = who.session_id;
	ev->client = who.client;
	ev->request_id = who.request_id;
	/* (the baselines keep the purpose as given: no key seals it) */
	audit_event_body(ev, NULL, body, NULL);
}

/* --- Steward's log ---------------------------------------------------- */

struct swork {
	uint64_t done; /* first: see run_workers() */
	int id;
	struct steward *st;
};

static void *steward_worker(void *arg)
{
	struct swork *w = arg;
	uint64_t i = (uint64_t)w->id * 1000000007ULL;
	while (!stop_flag) {
		struct audit_event ev;
		struct actor who;
		fill_event(&ev, &who, i++);
		int64_t seq;
		struct st_error e = {0};
		if (steward_audit(w->st, &who, &ev, &seq, &e) != ST_OK)
			die("append failed: %s", e.message);
		w->done++;
	}
	return NULL;
}

/* --- plain SQLite with the same group commit ---------------------------- */

struct pitem {
	char *body;
	size_t len;
	int64_t user, subject, record;
	const char *outcome;
	bool done;
	pthread_cond_t cond;
	struct pitem *next;
};

struct plain {
	sqlite3 *db;
	pthread_mutex_t lock;
	pthread_cond_t work, done;
	struct pitem *head, *tail;
	bool stop, batched;
	pthread_t writer;
	int64_t seq;
};

static void plain_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		die("sqlite: %s", msg);
}

static void plain_insert(struct plain *p, sqlite3_stmt *s, struct pitem *it)
{
	char ts[40];
	int64_t t = time_now_us();
	time_format_us(t, ts);
	struct buf entry = BUF_INIT;
	buf_printf(&entry, "{\"seq\":%lld,\"time\":\"%s\",", (long long)p->seq, ts);
	buf_append(&entry, it->body, it->len);
	buf_putc(&entry, '}');
	sqlite3_bind_int64(s, 1, p->seq++);
	sqlite3_bind_int64(s, 2, t);
	sqlite3_bind_int64(s, 3, it->user);
	sqlite3_bind_int64(s, 4, it->subject);
	sqlite3_bind_int64(s, 5, it->record);
	sqlite3_bind_text(s, 6, "record.read", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, it->outcome, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 8, entry.data, (int)entry.len, SQLITE_TRANSIENT);
	if (sqlite3_step(s) != SQLITE_DONE)
		die("insert: %s", sqlite3_errmsg(p->db));
	sqlite3_reset(s);
	buf_release(&entry);
}

static const char plain_sql[] =
	"INSERT INTO audit_event (seq, time_us, user_id, subject_id, record_id, action, "
	"outcome, entry) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";

static void *plain_writer(void *arg)
{
	struct plain *p = arg;
	sqlite3_stmt *s;
	sqlite3_prepare_v2(p->db, plain_sql, -1, &s, NULL);
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->head && !p->stop)
			pthread_cond_wait(&p->work, &p->lock);
		if (!p->head && p->stop)
			break;
		struct pitem *batch = p->head;
		p->head = p->tail = NULL;
		pthread_mutex_unlock(&p->lock);
		plain_exec(p->db, "BEGIN IMMEDIATE");
		for (struct pitem *it = batch; it; it = it->next)
			plain_insert(p, s, it);
		plain_exec(p->db, "COMMIT");
		pthread_mutex_lock(&p->lock);
		for (struct pitem *it = batch, *next; it; it = next) {
			next = it->next;
			it->done = true;
			pthread_cond_signal(&it->cond);
		}
	}
	pthread_mutex_unlock(&p->lock);
	sqlite3_finalize(s);
	return NULL;
}

struct pwork {
	uint64_t done; /* first: see run_workers() */
	int id;
	struct plain *p;
	sqlite3_stmt *each; /* plain-each: this thread's statement (serialized) */
};

static pthread_mutex_t each_lock = PTHREAD_MUTEX_INITIALIZER;

static void *plain_worker(void *arg)
{
	struct pwork *w = arg;
	uint64_t i = (uint64_t)w->id * 1000000007ULL;
	while (!stop_flag) {
		struct audit_event ev;
		struct buf body = BUF_INIT;
		event_body(&ev, &body, i++);
		struct pitem it = {body.data, body.len, ev.user_id, ev.subject_id, ev.record_id,
				   ev.outcome, false, PTHREAD_COND_INITIALIZER, NULL};
		if (w->p->batched) {
			pthread_mutex_lock(&w->p->lock);
			if (w->p->tail)
				w->p->tail->next = &it;
			else
				w->p->head = &it;
			w->p->tail = &it;
			pthread_cond_signal(&w->p->work);
			while (!it.done)
				pthread_cond_wait(&it.cond, &w->p->lock);
			pthread_mutex_unlock(&w->p->lock);
		} else {
			pthread_mutex_lock(&each_lock);
			plain_exec(w->p->db, "BEGIN IMMEDIATE");
			plain_insert(w->p, w->each, &it);
			plain_exec(w->p->db, "COMMIT");
			pthread_mutex_unlock(&each_lock);
		}
		buf_release(&body);
		w->done++;
	}
	return NULL;
}

static sqlite3 *plain_open(const char *path, bool indexed)
{
	unlink(path);
	sqlite3 *db;
	if (sqlite3_open(path, &db) != SQLITE_OK)
		die("open %s", path);
	plain_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
	/* the same rows as the access log, minus the tree */
	plain_exec(db,
		   "CREATE TABLE audit_event (seq INTEGER PRIMARY KEY, time_us INTEGER NOT NULL, "
		   "user_id INTEGER, subject_id INTEGER, record_id INTEGER, action TEXT NOT NULL, "
		   "outcome TEXT NOT NULL, entry BLOB NOT NULL);");
	if (indexed)
		plain_exec(db,
		   "CREATE INDEX a1 ON audit_event(user_id, seq) WHERE user_id IS NOT NULL;"
		   "CREATE INDEX a2 ON audit_event(subject_id, seq) WHERE subject_id IS NOT NULL;"
		   "CREATE INDEX a3 ON audit_event(record_id, seq) WHERE record_id IS NOT NULL;"
		   "CREATE INDEX a4 ON audit_event(outcome, seq) WHERE outcome <> 'allow';");
	return db;
}

static double run_plain(const char *path, int threads, double seconds, bool batched,
			bool indexed)
{
	struct plain p = {0};
	p.db = plain_open(path, indexed);
	p.batched = batched;
	pthread_mutex_init(&p.lock, NULL);
	pthread_cond_init(&p.work, NULL);
	pthread_cond_init(&p.done, NULL);
	if (batched)
		pthread_create(&p.writer, NULL, plain_writer, &p);
	struct pwork *w = xcalloc((size_t)threads, sizeof(*w));
	sqlite3_stmt *each = NULL;
	if (!batched)
		sqlite3_prepare_v2(p.db, plain_sql, -1, &each, NULL);
	for (int i = 0; i < threads; i++)
		w[i] = (struct pwork){0, i, &p, each};
	double rate = run_workers(threads, seconds, plain_worker, w, sizeof(*w));
	if (batched) {
		pthread_mutex_lock(&p.lock);
		p.stop = true;
		pthread_cond_signal(&p.work);
		pthread_mutex_unlock(&p.lock);
		pthread_join(p.writer, NULL);
	}
	sqlite3_finalize(each);
	sqlite3_close(p.db);
	free(w);
	return rate;
}

/* --- D: a bare file with a leader/follower group commit ---------------- */

struct bare {
	pthread_mutex_t lock;
	pthread_cond_t durable_cond;
	int fd;
	struct buf pending;   /* appended, not yet handed to a flush */
	uint64_t next, durable;
	off_t offset;
	bool flushing;
	uint64_t flushes;
};

struct bwork {
	uint64_t done; /* first: see run_workers() */
	int id;
	struct bare *b;
};

static void *bare_worker(void *arg)
{
	struct bwork *w = arg;
	struct bare *b = w->b;
	uint64_t i = (uint64_t)w->id * 1000000007ULL;
	while (!stop_flag) {
		struct audit_event ev;
		struct buf body = BUF_INIT;
		event_body(&ev, &body, i++);
		char ts[40];
		time_format_us(time_now_us(), ts);
		pthread_mutex_lock(&b->lock);
		uint64_t seq = b->next++;
		buf_printf(&b->pending, "{\"seq\":%llu,\"time\":\"%s\",", (unsigned long long)seq, ts);
		buf_append(&b->pending, body.data, body.len);
		buf_append(&b->pending, "}\n", 2);
		while (b->durable <= seq) {
			if (b->flushing) {
				pthread_cond_wait(&b->durable_cond, &b->lock);
				continue;
			}
			b->flushing = true;
			struct buf out = b->pending;
			b->pending = (struct buf)BUF_INIT;
			uint64_t upto = b->next;
			off_t at = b->offset;
			b->offset += (off_t)out.len;
			pthread_mutex_unlock(&b->lock);
			if (pwrite(b->fd, out.data, out.len, at) != (ssize_t)out.len ||
			    fdatasync(b->fd) != 0)
				die("bare file: write failed");
			buf_release(&out);
			pthread_mutex_lock(&b->lock);
			b->durable = upto;
			b->flushing = false;
			b->flushes++;
			pthread_cond_broadcast(&b->durable_cond);
		}
		pthread_mutex_unlock(&b->lock);
		buf_release(&body);
		w->done++;
	}
	return NULL;
}

static double run_bare(const char *path, int threads, double seconds)
{
	struct bare b = {0};
	pthread_mutex_init(&b.lock, NULL);
	pthread_cond_init(&b.durable_cond, NULL);
	b.pending = (struct buf)BUF_INIT;
	/* Preallocated with real zeros, so that a flush writes data only (no
	 * file-size or extent change): the cheapest flush this disk has. */
	b.fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (b.fd < 0)
		die("open %s", path);
	static char zeros[1 << 20];
	size_t prealloc = 256u << 20;
	for (size_t done = 0; done < prealloc; done += sizeof(zeros))
		if (write(b.fd, zeros, sizeof(zeros)) != (ssize_t)sizeof(zeros))
			die("bare file: cannot preallocate");
	if (fsync(b.fd) != 0)
		die("bare file: fsync");
	struct bwork *w = xcalloc((size_t)threads, sizeof(*w));
	for (int i = 0; i < threads; i++)
		w[i] = (struct bwork){0, i, &b};
	double rate = run_workers(threads, seconds, bare_worker, w, sizeof(*w));
	if (b.offset > (off_t)prealloc)
		fprintf(stderr, "  [bare file grew past its preallocation: its rate is pessimistic]\n");
	close(b.fd);
	unlink(path);
	buf_release(&b.pending);
	free(w);
	return rate;
}

/* One 4 KiB overwrite and fdatasync, repeated: what one flush costs. */
static double flush_cost_us(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	static char page[4096];
	const int n = 500;
	if (fd < 0)
		die("open %s", path);
	for (int i = 0; i < n; i++)
		if (write(fd, page, sizeof(page)) != (ssize_t)sizeof(page))
			die("flush probe: write");
	if (fsync(fd) != 0)
		die("flush probe: fsync");
	double t0 = now_s();
	for (int i = 0; i < n; i++)
		if (pwrite(fd, page, sizeof(page), (off_t)i * 4096) != (ssize_t)sizeof(page) ||
		    fdatasync(fd) != 0)
			die("flush probe: write failed");
	double us = (now_s() - t0) / n * 1e6;
	close(fd);
	unlink(path);
	return us;
}

static double run_steward(struct steward *st, int threads, double seconds)
{
	struct swork *w = xcalloc((size_t)threads, sizeof(*w));
	for (int i = 0; i < threads; i++)
		w[i] = (struct swork){0, i, st};
	double rate = run_workers(threads, seconds, steward_worker, w, sizeof(*w));
	free(w);
	return rate;
}

static struct steward *make_steward(const char *dir)
{
	char *data = xasprintf("%s/data", dir);
	struct steward_init_options io = {.dir = data, .admin_username = "admin",
					  .admin_password = "bench password 123"};
	struct st_error e = {0};
	if (steward_init(&io, &e) != ST_OK)
		die("init: %s", e.message);
	struct steward_options o = {.dir = data};
	struct steward *st = NULL;
	if (steward_open(&o, &st, &e) != ST_OK)
		die("open: %s", e.message);
	free(data);
	return st;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void bench_proofs(struct steward *st, uint64_t target, double seconds)
{
	/* grow the log to `target` events with 64 writers */
	uint64_t have = audit_size(st->audit);
	if (have < target) {
		printf("growing the log to %llu events with 64 writers...\n",
		       (unsigned long long)target);
		fflush(stdout);
		double t0 = now_s();
		while (audit_size(st->audit) < target)
			run_steward(st, 64, seconds);
		printf("  took %.0f s (%.0f events/s sustained)\n", now_s() - t0,
		       (double)(audit_size(st->audit) - have) / (now_s() - t0));
	}
	struct audit_checkpoint cp;
	struct st_error e = {0};
	if (audit_checkpoint_now(st->audit, &cp, &e) != ST_OK)
		die("checkpoint: %s", e.message);
	uint64_t n = cp.tree_size;
	enum { SAMPLES = 2000 };
	double *base = xcalloc(SAMPLES, sizeof(double)), *incl = xcalloc(SAMPLES, sizeof(double)),
	       *cons = xcalloc(SAMPLES, sizeof(double));
	struct store_conn *c;
	struct store *db = NULL;
	char *path = steward_path(st, "audit.db");
	struct store_options so = {.backend = "sqlite", .location = path, .pool_size = 1};
	store_open(&so, &db, &e);
	store_acquire(db, &c, &e);
	srand(7);
	for (int i = 0; i < SAMPLES; i++) {
		uint64_t m = ((uint64_t)rand() << 31 ^ (uint64_t)rand()) % n;
		uint64_t m2 = 1 + ((uint64_t)rand() << 31 ^ (uint64_t)rand()) % (n - 1);
		double t0 = now_s();
		struct store_stmt *s;
		store_prepare(c, "SELECT entry FROM audit_event WHERE seq = ?", &s, &e);
		store_bind(s, "i", (int64_t)m);
		if (store_step(s, &e) != STORE_ROW)
			die("point read");
		store_done(s);
		double t1 = now_s();
		struct merkle_hash proof[MERKLE_MAX_PROOF];
		int plen = 0;
		unsigned char leaf[HASH_BYTES];
		if (audit_inclusion_proof(st->audit, m, n, proof, &plen, leaf, &e) != ST_OK)
			die("inclusion: %s", e.message);
		double t2 = now_s();
		if (!merkle_verify_inclusion(leaf, m, n, proof, plen, cp.root))
			die("inclusion proof does not verify");
		double t3 = now_s();
		if (audit_consistency_proof(st->audit, m2, n, proof, &plen, &e) != ST_OK)
			die("consistency: %s", e.message);
		double t4 = now_s();
		base[i] = t1 - t0;
		incl[i] = t2 - t1;
		cons[i] = t4 - t3;
	}
	store_release(c);
	store_close(db);
	free(path);
	qsort(base, SAMPLES, sizeof(double), cmp_double);
	qsort(incl, SAMPLES, sizeof(double), cmp_double);
	qsort(cons, SAMPLES, sizeof(double), cmp_double);
	printf("\nproofs on a log of %llu events (%d random samples each)\n",
	       (unsigned long long)n, SAMPLES);
	printf("| operation | p50 us | p99 us | p50 / point read |\n|---|---:|---:|---:|\n");
	printf("| point read of one entry (baseline) | %.1f | %.1f | 1.0 |\n", base[SAMPLES / 2] * 1e6,
	       base[SAMPLES * 99 / 100] * 1e6);
	printf("| inclusion proof | %.1f | %.1f | %.1f |\n", incl[SAMPLES / 2] * 1e6,
	       incl[SAMPLES * 99 / 100] * 1e6, incl[SAMPLES / 2] / base[SAMPLES / 2]);
	printf("| consistency proof | %.1f | %.1f | %.1f |\n", cons[SAMPLES / 2] * 1e6,
	       cons[SAMPLES * 99 / 100] * 1e6, cons[SAMPLES / 2] / base[SAMPLES / 2]);
	free(base);
	free(incl);
	free(cons);
}

int main(int argc, char **argv)
{
	double seconds = 5;
	uint64_t events = 10000000;
	const char *dir = NULL;
	bool skip_proofs = false;
	int only_writers = 0;
	for (int i = 1; i < argc; i++) {
		if (str_eq(argv[i], "--seconds") && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (str_eq(argv[i], "--events") && i + 1 < argc)
			events = strtoull(argv[++i], NULL, 10);
		else if (str_eq(argv[i], "--dir") && i + 1 < argc)
			dir = argv[++i];
		else if (str_eq(argv[i], "--no-proofs"))
			skip_proofs = true;
		else if (str_eq(argv[i], "--writers") && i + 1 < argc)
			only_writers = atoi(argv[++i]);
		else
			die("usage: bench_audit [--seconds S] [--events N] [--dir DIR] [--no-proofs] "
			    "[--writers 1|8|64]");
	}
	char *tmp = dir ? xstrdup(dir) : xstrdup("/tmp/steward-bench-audit-XXXXXX");
	if (!dir && !mkdtemp(tmp))
		die("mkdtemp");
	mkdir(tmp, 0700);
	struct st_error e = {0};
	crypto_setup(&e);
	printf("durable appends per second, %.0f s per run, in %s\n", seconds, tmp);
	char *plain_path = xasprintf("%s/plain.db", tmp);
	char *bare_path = xasprintf("%s/bare.log", tmp);
	double flush_us = flush_cost_us(bare_path);
	printf("one flush (4 KiB overwrite + fdatasync) costs %.0f us: at most %.0f flushes/s; "
	       "64 writers waiting on their own event allow at most 64 events per flush, "
	       "so at most %.0f events/s\n",
	       flush_us, 1e6 / flush_us, 64 * 1e6 / flush_us);
	printf("| writers | A: plain SQLite, indexed, one fsync per event | B: plain SQLite, "
	       "indexed, group commit | C: plain SQLite, unindexed, group commit | D: bare file, "
	       "group commit | Steward log (tamper-evident, indexed behind) | Steward / B | "
	       "Steward / C | Steward / D |\n");
	printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	fflush(stdout);
	char *sdir = xasprintf("%s/steward", tmp);
	mkdir(sdir, 0700);
	struct steward *st = make_steward(sdir);
	int counts[] = {1, 8, 64};
	for (size_t k = 0; k < 3; k++) {
		int t = counts[k];
		if (only_writers && t != only_writers)
			continue;
		double each = run_plain(plain_path, t, seconds / 2, false, true);
		double batched = run_plain(plain_path, t, seconds, true, true);
		double bare = run_plain(plain_path, t, seconds, true, false);
		double file = run_bare(bare_path, t, seconds);
		struct audit_stats s0, s1;
		audit_stats(st->audit, &s0);
		double stw = run_steward(st, t, seconds);
		audit_stats(st->audit, &s1);
		fprintf(stderr,
			"  [%d writers: %.0f us per flush; %.1f events per commit, %.1f per flush; "
			"at the end %llu durable, %llu stored behind; %llu appends waited for the "
			"database]\n",
			t,
			(double)(s1.flush_us - s0.flush_us) / (double)(s1.flushes - s0.flushes + !(s1.flushes - s0.flushes)),
			(double)(s1.events - s0.events) / (double)(s1.commits - s0.commits + !(s1.commits - s0.commits)),
			(double)(s1.events - s0.events) / (double)(s1.flushes - s0.flushes + !(s1.flushes - s0.flushes)),
			(unsigned long long)s1.events, (unsigned long long)s1.stored,
			(unsigned long long)(s1.backlog_waits - s0.backlog_waits));
		printf("| %d | %.0f | %.0f | %.0f | %.0f | %.0f | %.2f | %.2f | %.2f |\n", t, each,
		       batched, bare, file, stw, stw / batched, stw / bare, stw / file);
		fflush(stdout);
	}
	struct audit_verify_report r;
	if (!skip_proofs) {
		bench_proofs(st, events, seconds);
	}
	steward_close(st);
	char *adb = xasprintf("%s/data/audit.db", sdir);
	unsigned char pk[SIGN_PUBLIC_BYTES];
	(void)pk;
	(void)r;
	free(adb);
	free(plain_path);
	free(bare_path);
	free(sdir);
	free(tmp);
	return 0;
}
