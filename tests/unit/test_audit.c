/*
 * test_audit.c - the access log on a real data directory: durable appends
 * from many threads with gapless sequence numbers; verification that
 * catches a changed byte, a deleted, inserted or swapped entry, a truncated
 * log, altered index columns, tree nodes or checkpoints, and an older copy
 * presented as current; fail-closed reads when the disk fails; appends on
 * tickets (told once durable, or failed); queries;
 * proofs from the database agreeing with the tree; evidence packages.
 */
#include <pthread.h>
#include <semaphore.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sqlite3.h>

#include "testsupport.h"
#include "audit/audit.h"
#include "audit/audit_internal.h"
#include "core/context.h"
#include "steward/records.h"
#include "store/store.h"

struct fixture {
	char *dir, *data, *db;
	struct steward *st;
	unsigned char pk[SIGN_PUBLIC_BYTES];
	unsigned char jkey[KEY_BYTES]; /* the journal key (from the signing key) */
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	f->dir = ts_tmpdir();
	f->data = ts_make_datadir(f->dir, NULL);
	f->db = xasprintf("%s/audit.db", f->data);
	f->st = ts_open(f->data, NULL);
	memcpy(f->pk, f->st->sign_pk, SIGN_PUBLIC_BYTES);
	audit_journal_key(f->st->sign_sk, f->jkey);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	steward_close(f->st);
	ts_rm_rf(f->dir);
	free(f->dir);
	free(f->data);
	free(f->db);
	free(f);
	return 0;
}

static int64_t append(struct fixture *f, int64_t user, int64_t subject, int64_t record,
		      const char *outcome)
{
	struct actor who = {.user_id = user, .via = "test", .client = "127.0.0.1"};
	struct audit_event ev = {.action = "record.read", .outcome = outcome,
				 .subject_id = subject, .record_id = record,
				 .category = "health", .purpose = "care",
				 .returned = "conditions,medications"};
	int64_t seq = -1;
	ASSERT_OK(steward_audit(f->st, &who, &ev, &seq, &ts_err));
	return seq;
}

static void sql(const char *db, const char *q)
{
	sqlite3 *h;
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	sqlite3_busy_timeout(h, 5000);
	char *msg = NULL;
	if (sqlite3_exec(h, q, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("sql %s: %s", q, msg);
	sqlite3_close(h);
}

static void copy_file(const char *from, const char *to)
{
	char *data = NULL;
	size_t len = 0;
	assert_int_equal(file_read_all(from, (size_t)1 << 30, &data, &len, NULL), ST_OK);
	assert_int_equal(file_write_atomic(to, data, len, 0600, false, NULL), ST_OK);
	free(data);
}

/* Flips one byte of an entry in place (its stored leaf hash unchanged). */
static void flip_entry_byte(const char *db, int64_t seq, size_t pos, bool rehash)
{
	sqlite3 *h;
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	sqlite3_stmt *s;
	assert_int_equal(sqlite3_prepare_v2(h, "SELECT entry FROM audit_event WHERE seq = ?", -1,
					    &s, NULL),
			 SQLITE_OK);
	sqlite3_bind_int64(s, 1, seq);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	int len = sqlite3_column_bytes(s, 0);
	unsigned char *b = xmalloc((size_t)len);
	memcpy(b, sqlite3_column_blob(s, 0), (size_t)len);
	sqlite3_finalize(s);
	b[pos % (size_t)len] ^= 0x01;
	unsigned char leaf[HASH_BYTES];
	merkle_leaf_hash(b, (size_t)len, leaf);
	assert_int_equal(sqlite3_prepare_v2(h,
					    rehash ? "UPDATE audit_event SET entry = ?, leaf_hash = ? WHERE seq = ?"
						   : "UPDATE audit_event SET entry = ? WHERE seq = ?3",
					    -1, &s, NULL),
			 SQLITE_OK);
	sqlite3_bind_blob(s, 1, b, len, SQLITE_TRANSIENT);
	if (rehash)
		sqlite3_bind_blob(s, 2, leaf, HASH_BYTES, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 3, seq);
	assert_int_equal(sqlite3_step(s), SQLITE_DONE);
	sqlite3_finalize(s);
	sqlite3_close(h);
	free(b);
}

static int verify(struct fixture *f, const char *witness, struct audit_verify_report *r,
		  struct st_error *e)
{
	const char *w[1] = {witness};
	struct audit_verify_options o = {.db_path = f->db, .pk = f->pk, .journal_key = f->jkey,
					 .witnesses = w, .nwitnesses = witness ? 1 : 0};
	return audit_verify(&o, r, e);
}

static void expect_detected(struct fixture *f, const char *witness, const char *words)
{
	struct audit_verify_report r;
	struct st_error e = {0};
	int rc = verify(f, witness, &r, &e);
	if (rc == ST_OK)
		fail_msg("tampering not detected (%s)", words);
	assert_int_equal(rc, ST_ECRYPTO);
	if (!strstr(e.message, words))
		fail_msg("expected \"%s\" in: %s", words, e.message);
	assert_true(r.bad_seq >= 0);
}

static void test_tampering_detected(void **state)
{
	struct fixture *f = *state;
	/* 70 events: stored nodes exist (levels 4 to 6) */
	for (int i = 0; i < 70; i++)
		append(f, 10 + i % 3, 100 + i % 5, 1000 + i, i % 7 ? "allow" : "deny");
	struct audit_checkpoint cp;
	ASSERT_OK(audit_checkpoint_now(f->st->audit, &cp, &ts_err));
	/* keep an older copy for the rollback case, then grow the log */
	char *older = xasprintf("%s/older.db", f->dir);
	steward_close(f->st);
	copy_file(f->db, older);
	f->st = ts_open(f->data, NULL);
	for (int i = 0; i < 10; i++)
		append(f, 10, 100, 2000 + i, "allow");
	steward_close(f->st); /* final checkpoint and witness */
	f->st = ts_open(f->data, NULL);
	steward_close(f->st);
	f->st = NULL;

	char *witness = xasprintf("%s/audit-witness.json", f->data);
	struct audit_verify_report r;
	struct st_error e = {0};
	/* the untouched log verifies */
	assert_int_equal(verify(f, witness, &r, &e), ST_OK);
	uint64_t n = r.tree_size;
	assert_int_equal(n, 81); /* the init event, 70 and 10 */
	assert_int_equal(r.unsigned_tail, 0);
	char *pristine = xasprintf("%s/pristine.db", f->dir);
	copy_file(f->db, pristine);

	/* one changed byte, anywhere in any entry */
	for (uint64_t seq = 0; seq < n; seq += 7) {
		for (size_t pos = 0; pos < 200; pos += 37) {
			copy_file(pristine, f->db);
			flip_entry_byte(f->db, (int64_t)seq, pos, false);
			expect_detected(f, witness, "altered");
		}
	}
	/* ... even with its leaf hash recomputed: the signed roots catch it */
	copy_file(pristine, f->db);
	flip_entry_byte(f->db, 33, 60, true);
	expect_detected(f, witness, "does not match");
	/* an index column changed to hide an event from queries */
	copy_file(pristine, f->db);
	sql(f->db, "UPDATE audit_event SET user_id = 99 WHERE seq = 20");
	expect_detected(f, witness, "index columns");
	copy_file(pristine, f->db);
	sql(f->db, "UPDATE audit_event SET outcome = 'allow' WHERE seq = 8");
	expect_detected(f, witness, "index columns");
	/* one entry deleted from the middle, or the last one */
	copy_file(pristine, f->db);
	sql(f->db, "DELETE FROM audit_event WHERE seq = 40");
	expect_detected(f, witness, "missing");
	copy_file(pristine, f->db);
	char *q = xasprintf("DELETE FROM audit_event WHERE seq = %llu", (unsigned long long)n - 1);
	sql(f->db, q);
	free(q);
	expect_detected(f, witness, "truncated");
	/* one entry inserted (the later ones renumbered) */
	copy_file(pristine, f->db);
	sql(f->db, "UPDATE audit_event SET seq = seq + 1000 WHERE seq >= 30;"
		   "UPDATE audit_event SET seq = seq - 999 WHERE seq >= 1030;"
		   "INSERT INTO audit_event SELECT 30, time_us, user_id, subject_id, record_id, "
		   "action, outcome, entry, leaf_hash FROM audit_event WHERE seq = 29");
	expect_detected(f, witness, "index columns");
	/* two entries swapped */
	copy_file(pristine, f->db);
	sql(f->db, "UPDATE audit_event SET seq = -1 WHERE seq = 10;"
		   "UPDATE audit_event SET seq = 10 WHERE seq = 11;"
		   "UPDATE audit_event SET seq = 11 WHERE seq = -1;");
	expect_detected(f, witness, "swapped");
	copy_file(pristine, f->db);
	sql(f->db, "CREATE TEMP TABLE t AS SELECT * FROM audit_event WHERE seq IN (10, 11);"
		   "UPDATE audit_event SET entry = (SELECT entry FROM t WHERE seq = 11), "
		   "leaf_hash = (SELECT leaf_hash FROM t WHERE seq = 11) WHERE seq = 10;"
		   "UPDATE audit_event SET entry = (SELECT entry FROM t WHERE seq = 10), "
		   "leaf_hash = (SELECT leaf_hash FROM t WHERE seq = 10) WHERE seq = 11;");
	expect_detected(f, witness, "swapped");
	/* truncation with the checkpoints beyond removed too: the witness */
	copy_file(pristine, f->db);
	sql(f->db, "DELETE FROM audit_event WHERE seq >= 50;"
		   "DELETE FROM audit_node WHERE ((idx + 1) << level) > 50;"
		   "DELETE FROM audit_checkpoint WHERE tree_size > 50");
	expect_detected(f, witness, "older than the witness");
	/* an older copy of the log put back: older than the witness */
	copy_file(older, f->db);
	expect_detected(f, witness, "older than the witness");
	/* a stored tree node altered, or an extra one inserted */
	copy_file(pristine, f->db);
	sql(f->db, "UPDATE audit_node SET hash = zeroblob(32) WHERE level = 4 AND idx = 1");
	expect_detected(f, witness, "tree node");
	copy_file(pristine, f->db);
	sql(f->db, "INSERT INTO audit_node VALUES (9, 9, zeroblob(32))");
	expect_detected(f, witness, "inserted");
	/* a checkpoint's root or signature altered */
	copy_file(pristine, f->db);
	sql(f->db, "UPDATE audit_checkpoint SET root_hash = zeroblob(32) WHERE tree_size = "
		   "(SELECT MIN(tree_size) FROM audit_checkpoint)");
	expect_detected(f, witness, "checkpoint");
	copy_file(pristine, f->db);
	sql(f->db, "UPDATE audit_checkpoint SET signature = zeroblob(64) WHERE tree_size = "
		   "(SELECT MAX(tree_size) FROM audit_checkpoint)");
	expect_detected(f, witness, "signature");
	/* the derived query index: a row removed (an event hidden from
	 * queries) or one added */
	copy_file(pristine, f->db);
	char *idx = xasprintf("%s/audit-index.db", f->data);
	char *idx_pristine = xasprintf("%s/index-pristine.db", f->dir);
	copy_file(idx, idx_pristine);
	sql(idx, "DELETE FROM by_subject WHERE seq = 12");
	expect_detected(f, witness, "query index");
	copy_file(idx_pristine, idx);
	sql(idx, "INSERT INTO by_user VALUES (0, 99, 5)");
	expect_detected(f, witness, "query index");
	copy_file(idx_pristine, idx);
	sql(idx, "UPDATE by_outcome SET key = 2 WHERE seq = 8");
	expect_detected(f, witness, "query index");
	copy_file(idx_pristine, idx);
	free(idx);
	free(idx_pristine);
	/* and the pristine copy still verifies */
	copy_file(pristine, f->db);
	assert_int_equal(verify(f, witness, &r, &e), ST_OK);
	free(pristine);
	free(older);
	free(witness);
	f->st = ts_open(f->data, NULL);
}

struct worker {
	struct fixture *f;
	int n;
	int64_t *seqs;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < w->n; i++) {
		struct actor who = {.user_id = 7, .via = "test"};
		struct audit_event ev = {.action = "record.read", .outcome = "allow",
					 .record_id = i + 1};
		struct st_error e = {0};
		if (steward_audit(w->f->st, &who, &ev, &w->seqs[i], &e) != ST_OK)
			w->seqs[i] = -1;
	}
	return NULL;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static void test_concurrent_appends(void **state)
{
	struct fixture *f = *state;
	enum { T = 16, N = 150 };
	uint64_t start = audit_size(f->st->audit);
	pthread_t th[T];
	struct worker w[T];
	int64_t *all = xcalloc(T * N, sizeof(int64_t));
	for (int i = 0; i < T; i++) {
		w[i] = (struct worker){f, N, all + i * N};
		pthread_create(&th[i], NULL, worker_main, &w[i]);
	}
	/* verification of a live log, while it grows and is indexed, sees one
	 * consistent snapshot: no false alarm */
	for (int k = 0; k < 5; k++) {
		struct audit_verify_report lr;
		struct st_error le = {0};
		if (verify(f, NULL, &lr, &le) != ST_OK)
			fail_msg("verifying a live log: %s", le.message);
	}
	for (int i = 0; i < T; i++)
		pthread_join(th[i], NULL);
	qsort(all, T * N, sizeof(int64_t), cmp64);
	for (int i = 0; i < T * N; i++)
		assert_int_equal(all[i], (int64_t)start + i); /* gapless, no duplicates */
	free(all);
	assert_int_equal(audit_size(f->st->audit), start + T * N);
	struct audit_verify_report r;
	struct st_error e = {0};
	assert_int_equal(verify(f, NULL, &r, &e), ST_OK);
	assert_int_equal(r.tree_size, start + T * N);
}

static void open_faulty(struct fixture *f)
{
	steward_close(f->st);
	struct steward_options o = {.dir = f->data, .check_permissions = true,
				    .vfs = "steward-fault"};
	f->st = NULL;
	ASSERT_OK(steward_open(&o, &f->st, &ts_err));
}

static void test_fail_closed(void **state)
{
	struct fixture *f = *state;
	open_faulty(f);
	struct subject_input s = {.kind = "student", .external_id = "X1", .given_name = "A",
				  .family_name = "B"};
	int64_t sid = 0, rid = 0;
	ASSERT_OK(subject_create(f->st, &ts_system, &s, &sid, &ts_err));
	json_t *fields = json_pack("{s:s}", "conditions", "diabetes");
	struct record_input in = {.subject_id = sid, .category = "health", .fields = fields};
	ASSERT_OK(record_create(f->st, &ts_system, &in, &rid, &ts_err));
	json_decref(fields);
	uint64_t before = audit_size(f->st->audit);

	/* a failed write to the log's journal: nothing served, nothing changed */
	store_fault_arm(STORE_FAULT_WRITE, 0, "audit-journal");
	json_t *out = NULL;
	struct st_error e = {0};
	assert_int_equal(record_read(f->st, &ts_system, rid, "care", &out, &e), ST_EAUDIT);
	assert_null(out);
	assert_string_equal(e.code, "audit_unavailable");
	int v = 0;
	json_t *patch = json_pack("{s:s}", "conditions", "none");
	assert_int_equal(record_update(f->st, &ts_system, rid, NULL, patch, &v, &e), ST_EAUDIT);
	store_fault_clear();
	assert_true(audit_failures(f->st->audit) >= 1);
	assert_int_equal(audit_size(f->st->audit), before);
	/* the disk recovers: service resumes, and the update never happened */
	ASSERT_OK(record_read(f->st, &ts_system, rid, "care", &out, &ts_err));
	assert_string_equal(json_string_value(json_object_get(json_object_get(out, "fields"),
							      "conditions")),
			    "diabetes");
	assert_int_equal(json_integer_value(json_object_get(out, "version")), 1);
	json_decref(out);
	out = NULL;

	/* a failed flush: the disk cannot confirm what it holds, so the log
	 * refuses everything until it is reopened (as databases do) */
	store_fault_arm(STORE_FAULT_SYNC, 0, "audit-journal");
	assert_int_equal(record_read(f->st, &ts_system, rid, "care", &out, &e), ST_EAUDIT);
	assert_null(out);
	assert_int_equal(record_update(f->st, &ts_system, rid, NULL, patch, &v, &e), ST_EAUDIT);
	store_fault_clear();
	assert_int_equal(record_read(f->st, &ts_system, rid, "care", &out, &e), ST_EAUDIT);
	assert_null(out);
	json_decref(patch);
	/* after a restart everything is consistent and verifies */
	open_faulty(f);
	ASSERT_OK(record_read(f->st, &ts_system, rid, "care", &out, &ts_err));
	assert_int_equal(json_integer_value(json_object_get(out, "version")), 1);
	json_decref(out);
	struct audit_verify_report r;
	memset(&e, 0, sizeof(e));
	if (verify(f, NULL, &r, &e) != ST_OK)
		fail_msg("the log does not verify after a failed flush: %s", e.message);

	/* the log database behind the journal fails: the events already
	 * durable in the journal are kept, the log refuses everything from
	 * then on, and reopening moves them into the database */
	uint64_t durable = audit_size(f->st->audit);
	store_fault_arm(STORE_FAULT_WRITE, 0, "audit.db");
	int refused = 0;
	for (int i = 0; i < 50 && !refused; i++) {
		out = NULL;
		memset(&e, 0, sizeof(e));
		if (record_read(f->st, &ts_system, rid, "care", &out, &e) == ST_OK)
			durable++;
		else
			refused = 1;
		json_decref(out);
		if (!refused)
			usleep(50000); /* the writer stores (and fails) behind the reads */
	}
	assert_true(refused);
	assert_string_equal(e.code, "audit_unavailable");
	assert_int_equal(audit_size(f->st->audit), durable);
	store_fault_clear();
	out = NULL;
	assert_int_equal(record_read(f->st, &ts_system, rid, "care", &out, &e), ST_EAUDIT);
	assert_null(out);
	/* read-only verification already counts what only the journal holds */
	memset(&e, 0, sizeof(e));
	if (verify(f, NULL, &r, &e) != ST_OK)
		fail_msg("the log with events only in the journal does not verify: %s", e.message);
	assert_int_equal(r.tree_size, durable);
	/* a backup now (no server: stopped uncleanly, as it were) would copy a
	 * log database without the events only the journal holds: refused */
	steward_close(f->st);
	f->st = NULL;
	char *dest = xasprintf("%s/backup", f->dir);
	bool running = true;
	memset(&e, 0, sizeof(e));
	assert_int_equal(steward_backup(f->data, dest, &running, &e), ST_ECONFLICT);
	assert_string_equal(e.code, "journal_ahead");
	assert_false(running);
	assert_false(file_exists(dest));
	open_faulty(f);
	assert_int_equal(audit_size(f->st->audit), durable);
	memset(&e, 0, sizeof(e));
	if (verify(f, NULL, &r, &e) != ST_OK)
		fail_msg("the log does not verify after recovery: %s", e.message);
	assert_int_equal(r.tree_size, durable);
	assert_int_equal(r.journal_tail, 0);
	/* once the events are in the log database (a start did it), the
	 * backup is taken, and its log holds them */
	steward_close(f->st);
	f->st = NULL;
	ASSERT_OK(steward_backup(f->data, dest, &running, &ts_err));
	char *copy = xasprintf("%s/audit.db", dest);
	memset(&e, 0, sizeof(e));
	/* with nothing but its key and its own witness: no journal, no
	 * master key */
	char *copy_witness = xasprintf("%s/audit-witness.json", dest);
	const char *cw[1] = {copy_witness};
	struct audit_verify_options vo = {.db_path = copy, .pk = f->pk, .witnesses = cw,
					  .nwitnesses = 1};
	if (audit_verify(&vo, &r, &e) != ST_OK)
		fail_msg("the backup's log does not verify: %s", e.message);
	assert_int_equal(r.unsigned_tail, 0);
	free(copy_witness);
	assert_true(r.tree_size >= durable);
	free(copy);
	free(dest);
	f->st = ts_open(f->data, NULL);
}

/* --- appends on a ticket (the server's event loop) ------------------------ */

struct ticket_wait {
	struct audit_log *log;
	sem_t ready;
	int readies, suspends;
	int64_t last_seq;
	bool durable_when_ready; /* every event was durable when ready ran */
};

static void on_ready(void *arg)
{
	struct ticket_wait *w = arg;
	w->readies++;
	w->durable_when_ready = audit_size(w->log) > (uint64_t)w->last_seq;
	sem_post(&w->ready);
}

static void on_suspend(void *arg)
{
	((struct ticket_wait *)arg)->suspends++;
}

/* Appends n events on a ticket as a request on the loop does, then waits
 * as it does; returns whether the ticket failed. Seqs into seqs[0..n). */
static bool ticketed_request(struct fixture *f, int n, int64_t *seqs)
{
	struct audit_ticket t;
	struct ticket_wait w = {.log = f->st->audit, .last_seq = -1};
	sem_init(&w.ready, 0, 0);
	audit_ticket_init(&t, on_ready, &w);
	struct actor who = {.user_id = 9, .via = "test", .ticket = &t};
	for (int i = 0; i < n; i++) {
		struct audit_event ev = {.action = "record.read", .outcome = "allow",
					 .record_id = i + 1};
		struct st_error e = {0};
		if (steward_audit(f->st, &who, &ev, &seqs[i], &e) != ST_OK)
			fail_msg("an append on a ticket was refused: %s", e.message);
		w.last_seq = seqs[i] > w.last_seq ? seqs[i] : w.last_seq;
	}
	bool settled = audit_ticket_wait(&t, on_suspend, &w);
	if (settled) {
		/* nothing to wait for: every event is settled already */
		assert_int_equal(w.suspends, 0);
		assert_true(t.failed || audit_size(f->st->audit) > (uint64_t)w.last_seq);
	} else {
		assert_int_equal(w.suspends, 1);
		while (sem_wait(&w.ready) != 0)
			;
		assert_int_equal(w.readies, 1);
		assert_true(t.failed || w.durable_when_ready);
	}
	bool failed = t.failed;
	audit_ticket_destroy(&t);
	sem_destroy(&w.ready);
	return failed;
}

struct ticket_worker {
	struct fixture *f;
	int n;
	int64_t *seqs; /* 2 per request */
};

static void *ticket_worker_main(void *arg)
{
	struct ticket_worker *w = arg;
	for (int i = 0; i < w->n; i++)
		if (ticketed_request(w->f, 2, &w->seqs[2 * i]))
			fail_msg("a ticket failed on a sound disk");
	return NULL;
}

static void test_tickets(void **state)
{
	struct fixture *f = *state;
	enum { T = 8, N = 60, S = 4 };
	uint64_t start = audit_size(f->st->audit);
	/* requests on tickets and ordinary appends at once: flushes pass from
	 * the flusher thread to waiting appenders and back */
	pthread_t th[T + S];
	struct ticket_worker tw[T];
	struct worker sw[S];
	int64_t *all = xcalloc(T * N * 2 + S * N, sizeof(int64_t));
	for (int i = 0; i < T; i++) {
		tw[i] = (struct ticket_worker){f, N, all + i * N * 2};
		pthread_create(&th[i], NULL, ticket_worker_main, &tw[i]);
	}
	for (int i = 0; i < S; i++) {
		sw[i] = (struct worker){f, N, all + T * N * 2 + i * N};
		pthread_create(&th[T + i], NULL, worker_main, &sw[i]);
	}
	for (int i = 0; i < T + S; i++)
		pthread_join(th[i], NULL);
	int total = T * N * 2 + S * N;
	qsort(all, (size_t)total, sizeof(int64_t), cmp64);
	for (int i = 0; i < total; i++)
		assert_int_equal(all[i], (int64_t)start + i); /* gapless, no duplicates */
	free(all);
	assert_int_equal(audit_size(f->st->audit), start + (uint64_t)total);

	/* a failed journal write: the ticket fails (its owner serves nothing),
	 * and the seqs are handed out again */
	open_faulty(f);
	uint64_t before = audit_size(f->st->audit);
	int64_t seqs[3];
	store_fault_arm(STORE_FAULT_WRITE, 0, "audit-journal");
	assert_true(ticketed_request(f, 3, seqs));
	store_fault_clear();
	assert_int_equal(audit_size(f->st->audit), before);
	assert_false(ticketed_request(f, 1, seqs));
	assert_int_equal(seqs[0], (int64_t)before);
	/* a failed flush: refused from then on, a ticket included */
	store_fault_arm(STORE_FAULT_SYNC, 0, "audit-journal");
	assert_true(ticketed_request(f, 1, seqs));
	store_fault_clear();
	struct audit_ticket t;
	audit_ticket_init(&t, on_ready, NULL);
	struct actor who = {.user_id = 9, .via = "test", .ticket = &t};
	struct audit_event ev = {.action = "record.read", .outcome = "allow"};
	struct st_error e = {0};
	assert_int_equal(steward_audit(f->st, &who, &ev, NULL, &e), ST_EAUDIT);
	assert_int_equal(t.pending, 0);
	audit_ticket_destroy(&t);
	/* and closing flushes what waits on tickets: it verifies */
	open_faulty(f);
	struct audit_verify_report r;
	memset(&e, 0, sizeof(e));
	if (verify(f, NULL, &r, &e) != ST_OK)
		fail_msg("the log does not verify after tickets: %s", e.message);
	/* (the event whose flush failed may have reached the disk after all) */
	assert_true(r.tree_size == before + 1 || r.tree_size == before + 2);
}

static void test_library_acts_are_logged(void **state)
{
	struct fixture *f = *state;
	struct actor who = {.user_id = 0, .via = "api", .session_id = "sess-1",
			    .client = "10.0.0.9", .request_id = "req-1"};
	struct subject_input s = {.kind = "student", .external_id = "L1", .given_name = "Zed",
				  .family_name = "Quill"};
	int64_t sid = 0, rid = 0;
	ASSERT_OK(subject_create(f->st, &who, &s, &sid, &ts_err));
	json_t *fields = json_pack("{s:s, s:s}", "course", "Biology", "grade", "A");
	struct record_input in = {.subject_id = sid, .category = "academic", .fields = fields};
	ASSERT_OK(record_create(f->st, &who, &in, &rid, &ts_err));
	json_decref(fields);
	json_t *out = NULL;
	ASSERT_OK(record_read(f->st, &who, rid, "transcript", &out, &ts_err));
	json_decref(out);
	struct audit_query q = {.subject_id = sid, .after_seq = -1};
	json_t *events = NULL;
	int64_t next = 0;
	ASSERT_OK(audit_query(f->st->audit, &q, &events, &next, &ts_err));
	assert_int_equal(json_array_size(events), 3);
	json_t *read = json_array_get(events, 2);
	assert_string_equal(json_string_value(json_object_get(read, "action")), "record.read");
	assert_string_equal(json_string_value(json_object_get(read, "purpose")), "transcript");
	assert_string_equal(json_string_value(json_object_get(read, "session")), "sess-1");
	assert_string_equal(json_string_value(json_object_get(read, "client")), "10.0.0.9");
	assert_null(json_object_get(read, "user")); /* the system itself */
	assert_string_equal(json_string_value(json_object_get(read, "rule")), "system");
	assert_int_equal(json_array_size(json_object_get(read, "returned")), 2);
	/* no confidential value reached the log */
	char *dump = json_dumps(events, 0);
	assert_null(strstr(dump, "Biology"));
	assert_null(strstr(dump, "Quill"));
	assert_null(strstr(dump, "L1"));
	free(dump);
	json_decref(events);
	assert_int_equal(ts_file_count(f->db, "Biology", 7), 0);
	assert_int_equal(ts_file_count(f->db, "Quill", 5), 0);

	/* a search, an update, a deletion and a shredding are each one event,
	 * naming the record, with no value and no search term in it */
	json_t *ids = NULL;
	ASSERT_OK(subject_find_name(f->st, &who, "Quill", NULL, &ids, &ts_err));
	assert_int_equal(json_array_size(ids), 1);
	json_decref(ids);
	json_t *patch = json_pack("{s:s}", "grade", "A+");
	int v = 0;
	ASSERT_OK(record_update(f->st, &who, rid, "correction", patch, &v, &ts_err));
	json_decref(patch);
	assert_int_equal(v, 2);
	ASSERT_OK(record_delete(f->st, &who, rid, "entered twice", &ts_err));
	ASSERT_OK(record_shred(f->st, &who, rid, &ts_err));
	struct audit_query all = {.after_seq = -1, .limit = 1000};
	events = NULL;
	ASSERT_OK(audit_query(f->st->audit, &all, &events, &next, &ts_err));
	static const struct {
		const char *action, *purpose, *written;
	} want[] = {{"subject.search", NULL, NULL},
		    {"record.update", "correction", "grade"},
		    {"record.delete", "entered twice", NULL},
		    {"record.shred", NULL, NULL}};
	for (size_t w = 0; w < ARRAY_LEN(want); w++) {
		json_t *hit = NULL;
		size_t i;
		json_t *ev;
		json_array_foreach(events, i, ev) if (str_eq(json_string_value(json_object_get(ev, "action")),
							       want[w].action)) hit = ev;
		if (!hit)
			fail_msg("no %s event", want[w].action);
		assert_string_equal(json_string_value(json_object_get(hit, "outcome")), "allow");
		if (!str_eq(want[w].action, "subject.search"))
			assert_int_equal(json_integer_value(json_object_get(hit, "record")), rid);
		if (want[w].purpose)
			assert_string_equal(json_string_value(json_object_get(hit, "purpose")),
					    want[w].purpose);
		if (want[w].written) {
			char *wr = json_dumps(json_object_get(hit, "written"), 0);
			assert_non_null(strstr(wr, want[w].written));
			free(wr);
		}
	}
	dump = json_dumps(events, 0);
	assert_null(strstr(dump, "Quill"));
	assert_null(strstr(dump, "A+"));
	free(dump);
	json_decref(events);
}

/* Whatever text an event carries, its entry is JSON: a reason cut to its
 * buffer in the middle of a character (a long role or vendor name in an
 * explanation) is written with U+FFFD, so queries return the event and
 * verify passes (found by tests/fuzz/fuzz_text and fuzz_rules; before, the
 * entry did not parse, queries failed and verify reported it altered). */
static void test_text_in_events(void **state)
{
	struct fixture *f = *state;
	struct actor who = {.user_id = 77, .via = "test", .client = "127.0.0.1"};
	struct audit_event ev = {.action = "record.read", .outcome = "deny", .record_id = 9,
				 .reason = "the agreement with Soci\xc3", .purpose = "\xe9t\xc3\xa9"};
	int64_t seq = -1;
	ASSERT_OK(steward_audit(f->st, &who, &ev, &seq, &ts_err));
	struct audit_query q = {.user_id = 77, .after_seq = -1};
	json_t *events = NULL;
	int64_t next = 0;
	ASSERT_OK(audit_query(f->st->audit, &q, &events, &next, &ts_err));
	assert_int_equal(json_array_size(events), 1);
	json_t *read = json_array_get(events, 0);
	assert_string_equal(json_string_value(json_object_get(read, "reason")),
			    "the agreement with Soci\xef\xbf\xbd");
	assert_string_equal(json_string_value(json_object_get(read, "purpose")),
			    "\xef\xbf\xbdt\xc3\xa9");
	json_decref(events);
	steward_close(f->st);
	f->st = NULL;
	struct audit_verify_report r;
	ASSERT_OK(verify(f, NULL, &r, &ts_err));
	assert_int_equal(r.tree_size, (uint64_t)seq + 1);
}

static void test_queries(void **state)
{
	struct fixture *f = *state;
	int64_t t0 = time_now_us();
	for (int i = 0; i < 60; i++)
		append(f, 20 + i % 4, 300 + i % 6, 5000 + i, i % 5 == 0 ? "deny" : "allow");
	int64_t t1 = time_now_us() + 1;
	/* half the checks run with everything indexed (after a reopen), the
	 * other half read the unindexed tail */
	for (int pass = 0; pass < 2; pass++) {
	if (pass == 1) {
		steward_close(f->st);
		f->st = ts_open(f->data, NULL);
		struct audit_stats as;
		for (int i = 0; i < 100; i++) {
			audit_stats(f->st->audit, &as);
			if (as.indexed >= as.events)
				break;
			usleep(20000);
		}
		assert_true(as.indexed >= 61);
	}
	json_t *events = NULL;
	int64_t next = 0;
	struct audit_query q = {.user_id = 21, .after_seq = -1};
	ASSERT_OK(audit_query(f->st->audit, &q, &events, &next, &ts_err));
	assert_int_equal(json_array_size(events), 15);
	json_decref(events);
	q = (struct audit_query){.subject_id = 302, .outcome = "deny", .after_seq = -1};
	ASSERT_OK(audit_query(f->st->audit, &q, &events, &next, &ts_err));
	/* i % 6 == 2 and i % 5 == 0: i = 20, 50 */
	assert_int_equal(json_array_size(events), 2);
	json_decref(events);
	q = (struct audit_query){.record_id = 5007, .after_seq = -1};
	ASSERT_OK(audit_query(f->st->audit, &q, &events, &next, &ts_err));
	assert_int_equal(json_array_size(events), 1);
	json_decref(events);
	/* a time window and pages */
	q = (struct audit_query){.from_us = t0, .to_us = t1, .limit = 25, .after_seq = -1};
	size_t total = 0;
	for (int page = 0; page < 10; page++) {
		ASSERT_OK(audit_query(f->st->audit, &q, &events, &next, &ts_err));
		total += json_array_size(events);
		json_decref(events);
		if (next < 0)
			break;
		q.after_seq = next;
	}
	assert_int_equal(total, 60);
	q = (struct audit_query){.from_us = t1 + 1000000, .after_seq = -1};
	ASSERT_OK(audit_query(f->st->audit, &q, &events, &next, &ts_err));
	assert_int_equal(json_array_size(events), 0);
	json_decref(events);
	/* paging through one subject's events */
	q = (struct audit_query){.subject_id = 303, .limit = 3, .after_seq = -1};
	total = 0;
	for (int page = 0; page < 10; page++) {
		ASSERT_OK(audit_query(f->st->audit, &q, &events, &next, &ts_err));
		total += json_array_size(events);
		json_decref(events);
		if (next < 0)
			break;
		q.after_seq = next;
	}
	assert_int_equal(total, 10);
	}
	struct st_error e = {0};
	struct audit_query bad = {.outcome = "maybe", .after_seq = -1};
	json_t *events = NULL;
	int64_t next = 0;
	assert_int_equal(audit_query(f->st->audit, &bad, &events, &next, &e), ST_EINVAL);
	assert_string_equal(e.field, "outcome");
}

static void test_proofs_from_database(void **state)
{
	struct fixture *f = *state;
	for (int i = 0; i < 150; i++)
		append(f, 1, 2, 3, "allow");
	struct audit_checkpoint cp;
	ASSERT_OK(audit_checkpoint_now(f->st->audit, &cp, &ts_err));
	assert_true(audit_checkpoint_valid(&cp, f->st->sign_pk));
	uint64_t n = cp.tree_size;
	unsigned char root[HASH_BYTES];
	ASSERT_OK(audit_root_at(f->st->audit, n, root, &ts_err));
	assert_memory_equal(root, cp.root, HASH_BYTES);
	for (uint64_t m = 0; m < n; m += 3) {
		struct merkle_hash p[MERKLE_MAX_PROOF];
		int plen = 0;
		unsigned char leaf[HASH_BYTES];
		ASSERT_OK(audit_inclusion_proof(f->st->audit, m, n, p, &plen, leaf, &ts_err));
		assert_true(merkle_verify_inclusion(leaf, m, n, p, plen, cp.root));
	}
	for (uint64_t m = 1; m < n; m += 5) {
		unsigned char r1[HASH_BYTES];
		ASSERT_OK(audit_root_at(f->st->audit, m, r1, &ts_err));
		struct merkle_hash p[MERKLE_MAX_PROOF];
		int plen = 0;
		ASSERT_OK(audit_consistency_proof(f->st->audit, m, n, p, &plen, &ts_err));
		assert_true(merkle_verify_consistency(m, n, r1, cp.root, p, plen));
	}
	struct st_error e = {0};
	struct merkle_hash p[MERKLE_MAX_PROOF];
	int plen = 0;
	assert_int_equal(audit_inclusion_proof(f->st->audit, 0, n + 100, p, &plen, NULL, &e),
			 ST_EINVAL);
}

static void test_evidence_package(void **state)
{
	struct fixture *f = *state;
	for (int i = 0; i < 40; i++)
		append(f, 30 + i % 2, 400 + i % 4, 6000 + i, "allow");
	struct audit_export_options o = {.from_us = 0, .to_us = time_now_us() + 1000000,
					 .subject_id = 401};
	json_t *pkg = NULL;
	ASSERT_OK(audit_export(f->st->audit, &o, &pkg, &ts_err));
	assert_int_equal(json_array_size(json_object_get(pkg, "entries")), 10);
	struct audit_package_report r;
	struct st_error e = {0};
	assert_int_equal(audit_verify_package(pkg, f->st->sign_pk, &r, &e), ST_OK);
	assert_int_equal(r.entries, 10);
	/* through text and back, as a file would */
	char *text = json_dumps(pkg, JSON_INDENT(1));
	json_error_t je;
	json_t *again = json_loads(text, 0, &je);
	free(text);
	assert_int_equal(audit_verify_package(again, NULL, &r, &e), ST_OK);
	json_decref(again);

	/* tampering with a copy of the package: an entry changed */
	json_t *bad = json_deep_copy(pkg);
	json_t *first = json_array_get(json_object_get(bad, "entries"), 0);
	const char *entry = json_string_value(json_object_get(first, "entry"));
	char *changed = xstrdup(entry);
	changed[strlen(changed) - 3] ^= 1;
	json_object_set_new(first, "entry", json_string(changed));
	free(changed);
	assert_int_equal(audit_verify_package(bad, NULL, &r, &e), ST_ECRYPTO);
	json_decref(bad);
	/* a leaf of the window removed */
	bad = json_deep_copy(pkg);
	json_array_remove(json_object_get(json_object_get(bad, "range"), "leaf_hashes"), 3);
	assert_int_equal(audit_verify_package(bad, NULL, &r, &e), ST_ECRYPTO);
	json_decref(bad);
	/* an entry dropped from the package: the manifest signature */
	bad = json_deep_copy(pkg);
	json_array_remove(json_object_get(bad, "entries"), 1);
	assert_int_equal(audit_verify_package(bad, NULL, &r, &e), ST_ECRYPTO);
	assert_non_null(strstr(e.message, "altered after it was signed"));
	json_decref(bad);
	/* another key */
	unsigned char other[SIGN_PUBLIC_BYTES] = {1};
	assert_int_equal(audit_verify_package(pkg, other, &r, &e), ST_ECRYPTO);
	json_decref(pkg);
}

static void append_n(struct steward *st, int n)
{
	for (int i = 0; i < n; i++) {
		struct audit_event ev = {.action = "record.read", .outcome = "allow",
					 .record_id = 1 + i, .subject_id = 7,
					 .purpose = "journal test"};
		ASSERT_OK(steward_audit(st, &ts_system, &ev, NULL, &ts_err));
	}
}

static void reopen_with(struct fixture *f, size_t segment)
{
	steward_close(f->st);
	struct steward_options o = {.dir = f->data, .check_permissions = true,
				    .journal_segment = segment};
	f->st = NULL;
	ASSERT_OK(steward_open(&o, &f->st, &ts_err));
}

static void test_journal(void **state)
{
	struct fixture *f = *state;
	/* small segments: the journal moves between its two files many
	 * times, each time only once the other is flushed in the database */
	reopen_with(f, 8 * 1024);
	struct audit_checkpoint cp;
	for (int k = 0; k < 20; k++) {
		append_n(f->st, 40);
		ASSERT_OK(audit_checkpoint_now(f->st->audit, &cp, &ts_err));
	}
	uint64_t size = audit_size(f->st->audit);
	assert_int_equal(cp.tree_size, size);
	char *j1 = xasprintf("%s/audit-journal-1", f->data);
	struct stat st1;
	assert_int_equal(stat(j1, &st1), 0);
	assert_true(st1.st_size > 0); /* the second segment was used */
	free(j1);
	struct audit_verify_report r;
	struct st_error e = {0};
	if (verify(f, NULL, &r, &e) != ST_OK)
		fail_msg("after switching segments: %s", e.message);
	assert_int_equal(r.tree_size, size);
	assert_int_equal(r.journal_tail, 0);

	/* a journal that does not follow on from the log database (an old
	 * database put back beside a newer journal) is refused, by name */
	steward_close(f->st);
	f->st = NULL;
	char *cmd = xasprintf("cd '%s' && cp audit.db old.db && cp audit-witness.json old.json && "
			      "{ [ ! -f audit.db-wal ] || cp audit.db-wal old.db-wal; }", f->data);
	assert_int_equal(ts_run(cmd, NULL), 0);
	free(cmd);
	reopen_with(f, 0);
	append_n(f->st, 5);
	reopen_with(f, 0);
	append_n(f->st, 5); /* the journal now starts 5 events after old.db ends */
	steward_close(f->st);
	f->st = NULL;
	cmd = xasprintf("cd '%s' && rm -f audit.db-wal audit.db-shm audit-index.db && "
			"mv old.json audit-witness.json && mv old.db audit.db && "
			"{ [ ! -f old.db-wal ] || mv old.db-wal audit.db-wal; }", f->data);
	assert_int_equal(ts_run(cmd, NULL), 0);
	free(cmd);
	memset(&e, 0, sizeof(e));
	assert_int_not_equal(verify(f, NULL, &r, &e), ST_OK);
	assert_non_null(strstr(e.message, "missing"));
	struct steward_options o = {.dir = f->data, .check_permissions = true};
	memset(&e, 0, sizeof(e));
	assert_int_not_equal(steward_open(&o, &f->st, &e), ST_OK);
	assert_non_null(strstr(e.message, "missing"));
	f->st = NULL;
	/* without the journal, the old log stands on its own */
	cmd = xasprintf("cd '%s' && rm -f audit-journal-0 audit-journal-1", f->data);
	assert_int_equal(ts_run(cmd, NULL), 0);
	free(cmd);
	f->st = ts_open(f->data, NULL);
	assert_int_equal(audit_size(f->st->audit), size);
}

/* Records built by hand into the journal's two files, under a key. */
static const unsigned char test_key[KEY_BYTES] = {7, 7, 7};

static void put_records(struct buf *b, uint64_t from, uint64_t to, int64_t time_us,
			unsigned char chain[JOURNAL_CHECK_BYTES])
{
	for (uint64_t seq = from; seq < to; seq++) {
		struct buf entry = BUF_INIT;
		audit_entry_build(seq, 1700000000000000, "\"action\":\"record.read\"", 22, &entry);
		unsigned char leaf[HASH_BYTES];
		merkle_leaf_hash(entry.data, entry.len, leaf);
		journal_record(b, seq, time_us, 1, 2, 3, "record.read", "allow", leaf, entry.data,
			       entry.len, test_key, chain);
		buf_release(&entry);
	}
}

static void write_segment(const char *db, int i, const struct buf *b)
{
	char *p = journal_segment_path(db, i);
	struct st_error e = {0};
	ASSERT_OK(file_write_atomic(p, b->data ? b->data : "", b->len, 0600, false, &e));
	free(p);
}

static void test_journal_records(void **state)
{
	struct fixture *f = *state;
	steward_close(f->st);
	f->st = NULL;
	char *db = xasprintf("%s/j/audit.db", f->dir);
	char *dir = xasprintf("%s/j", f->dir);
	mkdir(dir, 0700);
	unsigned char chain[JOURNAL_CHECK_BYTES] = {0}, at4[JOURNAL_CHECK_BYTES];
	uint64_t end = 0;
	struct st_error e = {0};

	/* a write that failed (5..9 on disk, never acknowledged), retried at
	 * the same place with the same lengths (5'..7') before a crash: the
	 * retry's records end the chain; the old 8 and 9 are not taken */
	struct buf seg = BUF_INIT, failed = BUF_INIT;
	put_records(&seg, 0, 5, 100, chain);
	memcpy(at4, chain, sizeof(chain));
	size_t retry_at = seg.len;
	put_records(&failed, 5, 10, 200, chain);
	memcpy(chain, at4, sizeof(chain));
	struct buf retry = BUF_INIT;
	put_records(&retry, 5, 8, 300, chain);
	buf_append(&seg, failed.data, failed.len);
	memcpy(seg.data + retry_at, retry.data, retry.len);
	write_segment(db, 0, &seg);
	ASSERT_OK(journal_scan(db, 0, false, test_key, NULL, NULL, &end, &e));
	assert_int_equal(end, 8);
	ASSERT_OK(journal_scan(db, 6, false, test_key, NULL, NULL, &end, &e));
	assert_int_equal(end, 8);

	/* the other segment goes on from 8, chained to 7': taken after it */
	struct buf seg1 = BUF_INIT;
	put_records(&seg1, 8, 12, 400, chain);
	write_segment(db, 1, &seg1);
	ASSERT_OK(journal_scan(db, 0, false, test_key, NULL, NULL, &end, &e));
	assert_int_equal(end, 12);

	/* one that starts where the old write's records would have gone on
	 * (after 9), or chains to the old records instead, is refused */
	unsigned char old9[JOURNAL_CHECK_BYTES] = {0};
	struct buf tmp = BUF_INIT;
	memcpy(old9, at4, sizeof(old9));
	put_records(&tmp, 5, 10, 200, old9);
	buf_release(&tmp);
	buf_reset(&seg1);
	put_records(&seg1, 8, 12, 400, old9); /* names old 9's check, not 7' */
	write_segment(db, 1, &seg1);
	assert_int_not_equal(journal_scan(db, 0, false, test_key, NULL, NULL, &end, &e), ST_OK);
	assert_non_null(strstr(e.message, "do not follow on at event 8"));
	/* a segment that starts after a hole names the missing events */
	buf_reset(&seg1);
	put_records(&seg1, 9, 12, 400, chain);
	write_segment(db, 1, &seg1);
	assert_int_not_equal(journal_scan(db, 0, false, test_key, NULL, NULL, &end, &e), ST_OK);
	assert_non_null(strstr(e.message, "events 8 to 8 are missing"));
	/* while a writer holds the journal, the same is where the tail ends */
	char *p0 = journal_segment_path(db, 0);
	int fd = open(p0, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	ASSERT_OK(journal_scan(db, 0, true, test_key, NULL, NULL, &end, &e));
	assert_int_equal(end, 8);
	close(fd);
	free(p0);
	/* and without a writer, a reader that allows for one still refuses */
	assert_int_not_equal(journal_scan(db, 0, true, test_key, NULL, NULL, &end, &e), ST_OK);

	buf_release(&seg);
	buf_release(&seg1);
	buf_release(&failed);
	buf_release(&retry);
	free(db);
	free(dir);
	f->st = ts_open(f->data, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tampering_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_appends, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fail_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tickets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_library_acts_are_logged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_text_in_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proofs_from_database, setup, teardown),
		cmocka_unit_test_setup_teardown(test_evidence_package, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
