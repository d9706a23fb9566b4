/*
 * test_audit_witness.c - forgeries by someone who can write the data
 * directory but not the witness kept outside it: the log rewritten with
 * recomputed leaf and node hashes and its checkpoints, witness and index
 * deleted; the same re-signed with the log's own key (an attacker who read
 * the master key file); the log truncated; an older copy put back; the
 * unsigned entries after the newest checkpoint rewritten; the journal's
 * tail forged or altered. Each is refused by verification and by opening
 * the log (what `steward serve` does), and nothing is signed over it. The
 * honest cases (a crash, a restart) still pass. Also: purposes are sealed
 * in every file of the data directory, opened for the log's readers, and
 * disclosed verifiably in evidence packages.
 */
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testsupport.h"
#include "audit/audit.h"
#include "audit/audit_internal.h"
#include "core/context.h"

struct fixture {
	char *dir, *data, *db, *own, *outside; /* outside: the witness elsewhere */
	unsigned char pk[SIGN_PUBLIC_BYTES];
	unsigned char sk[SIGN_SECRET_BYTES]; /* what an attacker with the key file has */
	unsigned char jkey[KEY_BYTES];
};

static void append_n(struct steward *st, int n, int64_t record0)
{
	for (int i = 0; i < n; i++) {
		struct actor who = {.user_id = 10 + i % 3, .via = "test"};
		struct audit_event ev = {.action = "record.read", .outcome = "allow",
					 .record_id = record0 + i, .subject_id = 7,
					 .purpose = "witness test"};
		ASSERT_OK(steward_audit(st, &who, &ev, NULL, &ts_err));
	}
}

static void copy_file(const char *from, const char *to)
{
	char *data = NULL;
	size_t len = 0;
	assert_int_equal(file_read_all(from, (size_t)1 << 30, &data, &len, NULL), ST_OK);
	assert_int_equal(file_write_atomic(to, data, len, 0600, false, NULL), ST_OK);
	free(data);
}

static void sql(const char *db, const char *q)
{
	sqlite3 *h;
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	char *msg = NULL;
	if (sqlite3_exec(h, q, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("sql %s: %s", q, msg);
	sqlite3_close(h);
}

static int64_t sql_int(const char *db, const char *q)
{
	sqlite3 *h;
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	sqlite3_stmt *s;
	assert_int_equal(sqlite3_prepare_v2(h, q, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(h);
	return v;
}

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	f->dir = ts_tmpdir();
	f->data = ts_make_datadir(f->dir, NULL);
	f->db = xasprintf("%s/audit.db", f->data);
	f->own = xasprintf("%s/audit-witness.json", f->data);
	char *elsewhere = xasprintf("%s/elsewhere", f->dir);
	assert_int_equal(mkdir(elsewhere, 0700), 0);
	f->outside = xasprintf("%s/witness.json", elsewhere);
	free(elsewhere);
	struct steward *st = ts_open(f->data, NULL);
	memcpy(f->pk, st->sign_pk, SIGN_PUBLIC_BYTES);
	memcpy(f->sk, st->sign_sk, SIGN_SECRET_BYTES);
	audit_journal_key(st->sign_sk, f->jkey);
	/* 70 events: stored subtree hashes exist (levels 4 to 6) */
	append_n(st, 70, 1000);
	steward_close(st);
	/* the witness kept elsewhere, as `steward audit witness` makes it */
	copy_file(f->own, f->outside);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	ts_rm_rf(f->dir);
	free(f->dir);
	free(f->data);
	free(f->db);
	free(f->own);
	free(f->outside);
	free(f);
	return 0;
}

/* verify with the given witnesses (NULL-terminated) and the journal key */
static int verify_with(struct fixture *f, const char *const *w, struct audit_verify_report *r,
		       struct st_error *e)
{
	size_t n = 0;
	while (w && w[n])
		n++;
	struct audit_verify_options o = {.db_path = f->db, .pk = f->pk, .journal_key = f->jkey,
					 .witnesses = w, .nwitnesses = n};
	memset(e, 0, sizeof(*e));
	return audit_verify(&o, r, e);
}

static void expect_verify_fails(struct fixture *f, const char *const *w, const char *words)
{
	struct audit_verify_report r;
	struct st_error e;
	int rc = verify_with(f, w, &r, &e);
	if (rc == ST_OK)
		fail_msg("verification passed a forgery (%s)", words);
	if (!strstr(e.message, words))
		fail_msg("expected \"%s\" in: %s", words, e.message);
}

/* Opens the data directory as `steward serve --witness OUTSIDE` does. */
static int open_served(struct fixture *f, bool outside, struct steward **st, struct st_error *e)
{
	const char *w[1] = {f->outside};
	struct steward_options o = {.dir = f->data, .check_permissions = true, .exclusive = true,
				    .witnesses = w, .nwitnesses = outside ? 1 : 0};
	memset(e, 0, sizeof(*e));
	*st = NULL;
	return steward_open(&o, st, e);
}

static void expect_open_refused(struct fixture *f, bool outside, const char *words)
{
	struct steward *st = NULL;
	struct st_error e;
	int64_t checkpoints = sql_int(f->db, "SELECT COUNT(*) FROM audit_checkpoint");
	int rc = open_served(f, outside, &st, &e);
	if (rc == ST_OK) {
		steward_close(st);
		fail_msg("the log was opened for serving over a forgery (%s)", words);
	}
	if (!strstr(e.message, words))
		fail_msg("expected \"%s\" in: %s", words, e.message);
	/* and nothing was signed over it */
	assert_int_equal(sql_int(f->db, "SELECT COUNT(*) FROM audit_checkpoint"), checkpoints);
}

/* What an attacker with write access does: changes entries, recomputes
 * every leaf hash and every stored node, so that the tree is whole again. */
static void insert_node(void *ctx, int level, uint64_t index, const unsigned char h[HASH_BYTES])
{
	if (level < AUDIT_STORED_LEVEL)
		return;
	sqlite3_stmt *node = ctx;
	sqlite3_bind_int(node, 1, level);
	sqlite3_bind_int64(node, 2, (int64_t)index);
	sqlite3_bind_blob(node, 3, h, HASH_BYTES, SQLITE_TRANSIENT);
	assert_int_equal(sqlite3_step(node), SQLITE_DONE);
	sqlite3_reset(node);
}

static void rewrite_tree(const char *db, int64_t seq, const char *match, const char *with)
{
	sqlite3 *h;
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	char *q = sqlite3_mprintf("UPDATE audit_event SET entry = CAST(replace(CAST(entry AS TEXT), "
				  "%Q, %Q) AS BLOB) WHERE seq >= %lld",
				  match, with, (long long)seq);
	assert_int_equal(sqlite3_exec(h, q, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_free(q);
	assert_int_equal(sqlite3_exec(h, "DELETE FROM audit_node", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_stmt *s, *up, *node;
	assert_int_equal(sqlite3_prepare_v2(h, "SELECT seq, entry FROM audit_event ORDER BY seq", -1,
					    &s, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, "UPDATE audit_event SET leaf_hash = ? WHERE seq = ?",
					    -1, &up, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, "INSERT INTO audit_node (level, idx, hash) "
					       "VALUES (?, ?, ?)",
					    -1, &node, NULL),
			 SQLITE_OK);
	struct merkle_frontier fr;
	merkle_frontier_init(&fr);
	sqlite3_exec(h, "BEGIN", NULL, NULL, NULL);
	while (sqlite3_step(s) == SQLITE_ROW) {
		unsigned char leaf[HASH_BYTES];
		merkle_leaf_hash(sqlite3_column_blob(s, 1), (size_t)sqlite3_column_bytes(s, 1), leaf);
		sqlite3_bind_blob(up, 1, leaf, HASH_BYTES, SQLITE_TRANSIENT);
		sqlite3_bind_int64(up, 2, sqlite3_column_int64(s, 0));
		assert_int_equal(sqlite3_step(up), SQLITE_DONE);
		sqlite3_reset(up);
		merkle_frontier_push(&fr, 0, leaf, insert_node, node);
	}
	sqlite3_exec(h, "COMMIT", NULL, NULL, NULL);
	sqlite3_finalize(s);
	sqlite3_finalize(up);
	sqlite3_finalize(node);
	sqlite3_close(h);
}

/* What an attacker who also read the master key file does on top: signs a
 * checkpoint of the rewritten tree and writes the data directory's own
 * witness from it. */
static void resign(struct fixture *f)
{
	struct audit_options ao = {.path = f->db, .sign_pk = f->pk};
	struct audit_log *log = NULL;
	ASSERT_OK(audit_open(&ao, &log, &ts_err));
	uint64_t size = (uint64_t)sql_int(f->db, "SELECT COUNT(*) FROM audit_event");
	unsigned char root[HASH_BYTES];
	ASSERT_OK(audit_root_at(log, size, root, &ts_err));
	audit_close(log);
	struct audit_checkpoint cp = {.tree_size = size, .time_us = time_now_us()};
	memcpy(cp.root, root, HASH_BYTES);
	char id[40];
	audit_log_id(f->pk, id);
	audit_checkpoint_note(id, size, root, cp.time_us, cp.note);
	sign_detached(f->sk, cp.note, strlen(cp.note), cp.signature);
	sqlite3 *h;
	assert_int_equal(sqlite3_open(f->db, &h), SQLITE_OK);
	sqlite3_stmt *s;
	assert_int_equal(sqlite3_prepare_v2(h, "INSERT INTO audit_checkpoint (tree_size, time_us, "
					       "root_hash, note, signature) VALUES (?, ?, ?, ?, ?)",
					    -1, &s, NULL),
			 SQLITE_OK);
	sqlite3_bind_int64(s, 1, (int64_t)size);
	sqlite3_bind_int64(s, 2, cp.time_us);
	sqlite3_bind_blob(s, 3, root, HASH_BYTES, SQLITE_TRANSIENT);
	sqlite3_bind_blob(s, 4, cp.note, (int)strlen(cp.note), SQLITE_TRANSIENT);
	sqlite3_bind_blob(s, 5, cp.signature, SIGN_BYTES, SQLITE_TRANSIENT);
	assert_int_equal(sqlite3_step(s), SQLITE_DONE);
	sqlite3_finalize(s);
	sqlite3_close(h);
	char *text = audit_witness_text(&cp, id);
	assert_int_equal(file_write_atomic(f->own, text, strlen(text), 0600, false, NULL), ST_OK);
	free(text);
}

static void rm_in_data(struct fixture *f, const char *names)
{
	char *cmd = xasprintf("cd '%s' && rm -f %s", f->data, names);
	assert_int_equal(ts_run(cmd, NULL), 0);
	free(cmd);
}

static void test_honest_log_passes(void **state)
{
	struct fixture *f = *state;
	const char *w[] = {f->own, f->outside, NULL};
	struct audit_verify_report r;
	struct st_error e;
	if (verify_with(f, w, &r, &e) != ST_OK)
		fail_msg("%s", e.message);
	assert_int_equal(r.tree_size, 71);
	assert_int_equal(r.witnesses, 2);
	assert_int_equal(r.witnessed_size, 71);
	/* served with the witness elsewhere, which it advances */
	struct audit_checkpoint older, w2;
	ASSERT_OK(audit_witness_read(f->own, f->pk, &older, &ts_err));
	struct steward *st = NULL;
	ASSERT_OK(open_served(f, true, &st, &ts_err));
	append_n(st, 5, 5000);
	steward_close(st);
	ASSERT_OK(audit_witness_read(f->outside, f->pk, &w2, &ts_err));
	assert_int_equal(w2.tree_size, 76);
	if (verify_with(f, w, &r, &e) != ST_OK)
		fail_msg("%s", e.message);
	assert_int_equal(r.witnessed_size, 76);
	/* a witness is never moved back */
	char id[40];
	audit_log_id(f->pk, id);
	memset(&e, 0, sizeof(e));
	assert_int_equal(audit_witness_write(f->outside, f->pk, &older, id, &e), ST_ECONFLICT);
	ASSERT_OK(audit_witness_read(f->outside, f->pk, &w2, &ts_err));
	assert_int_equal(w2.tree_size, 76);
}

static void test_rewritten_log(void **state)
{
	struct fixture *f = *state;
	/* entries rewritten, every hash recomputed; checkpoints, the data
	 * directory's witness and the index deleted */
	rewrite_tree(f->db, 0, "\"via\":\"test\"", "\"via\":\"web\"");
	sql(f->db, "DELETE FROM audit_checkpoint");
	rm_in_data(f, "audit-witness.json audit-index.db");
	const char *own_only[] = {f->own, NULL};
	const char *none[] = {NULL};
	const char *outside[] = {f->outside, NULL};
	/* the missing witness is a failure, not a pass */
	expect_verify_fails(f, own_only, "audit-witness.json is missing");
	/* without any witness, a log with entries and no checkpoint */
	expect_verify_fails(f, none, "no signed checkpoint");
	/* against the witness kept elsewhere: rewritten */
	expect_verify_fails(f, outside, "not a consistent extension");
	/* opening it to serve is refused, with or without the witness */
	expect_open_refused(f, true, "no signed checkpoint");
	expect_open_refused(f, false, "no signed checkpoint");

	/* an attacker holding the master key re-signs the forgery and writes
	 * the data directory's witness: only the witness elsewhere can tell */
	resign(f);
	struct audit_verify_report r;
	struct st_error e;
	if (verify_with(f, own_only, &r, &e) != ST_OK)
		fail_msg("the re-signed forgery is not even self-consistent: %s", e.message);
	expect_verify_fails(f, outside, "not a consistent extension");
	expect_open_refused(f, true, "not a consistent extension");
}

static void test_truncated_log(void **state)
{
	struct fixture *f = *state;
	/* the last entries removed with their checkpoints and nodes */
	sql(f->db, "DELETE FROM audit_event WHERE seq >= 50;"
		   "DELETE FROM audit_node WHERE ((idx + 1) << level) > 50;"
		   "DELETE FROM audit_checkpoint WHERE tree_size > 50");
	/* and the journal, which would give the events back */
	rm_in_data(f, "audit-journal-0 audit-journal-1");
	const char *own_only[] = {f->own, NULL};
	const char *outside[] = {f->outside, NULL};
	expect_verify_fails(f, own_only, "older than the witness");
	expect_open_refused(f, false, "older than the witness");
	/* and re-signed, the data directory's witness rewritten, the index
	 * removed (it would be rebuilt) */
	sql(f->db, "DELETE FROM audit_checkpoint");
	resign(f);
	rm_in_data(f, "audit-index.db");
	struct audit_verify_report r;
	struct st_error e;
	if (verify_with(f, own_only, &r, &e) != ST_OK)
		fail_msg("%s", e.message);
	assert_int_equal(r.tree_size, 50);
	expect_verify_fails(f, outside, "older than the witness");
	expect_open_refused(f, true, "older than the witness");
}

static void test_rollback(void **state)
{
	struct fixture *f = *state;
	/* an older copy of the log with its own witness, put back later */
	char *old_db = xasprintf("%s/old.db", f->dir), *old_w = xasprintf("%s/old.json", f->dir);
	copy_file(f->db, old_db);
	copy_file(f->own, old_w);
	struct steward *st = NULL;
	ASSERT_OK(open_served(f, true, &st, &ts_err));
	append_n(st, 20, 9000);
	steward_close(st);
	copy_file(old_db, f->db);
	copy_file(old_w, f->own);
	rm_in_data(f, "audit-journal-0 audit-journal-1 audit-index.db audit.db-wal audit.db-shm");
	const char *own_only[] = {f->own, NULL};
	const char *outside[] = {f->outside, NULL};
	struct audit_verify_report r;
	struct st_error e;
	if (verify_with(f, own_only, &r, &e) != ST_OK)
		fail_msg("%s", e.message);
	expect_verify_fails(f, outside, "older than the witness");
	expect_open_refused(f, true, "older than the witness");
	free(old_db);
	free(old_w);
}

/* A clean stop leaves the journal's records of the last run in place: with
 * the checkpoints of that run deleted, its entries are vouched for by the
 * journal alone. */
static void unsign_last_run(struct fixture *f)
{
	struct steward *st = ts_open(f->data, NULL);
	append_n(st, 12, 3000);
	steward_close(st);
	/* (and any signed while it ran, however slow the machine) */
	sql(f->db, "DELETE FROM audit_checkpoint WHERE tree_size > 71");
	/* the data directory's witness named it: an older one is kept */
	copy_file(f->outside, f->own);
}

static void test_unsigned_entries(void **state)
{
	struct fixture *f = *state;
	unsign_last_run(f);
	const char *own_only[] = {f->own, NULL};
	struct audit_verify_report r;
	struct st_error e;
	/* honest: the journal holds them, authenticated */
	if (verify_with(f, own_only, &r, &e) != ST_OK)
		fail_msg("%s", e.message);
	assert_int_equal(r.tree_size, 83);
	assert_int_equal(r.unsigned_tail, 12);
	/* without the journal key they cannot be authenticated: not a pass */
	struct audit_verify_options o = {.db_path = f->db, .pk = f->pk, .witnesses = own_only,
					 .nwitnesses = 1};
	memset(&e, 0, sizeof(e));
	assert_int_not_equal(audit_verify(&o, &r, &e), ST_OK);
	assert_non_null(strstr(e.message, "without the master key"));
	/* one of them rewritten, its hashes recomputed: refused */
	char *pristine = xasprintf("%s/pristine.db", f->dir);
	copy_file(f->db, pristine);
	rewrite_tree(f->db, 80, "\"via\":\"test\"", "\"via\":\"web\"");
	expect_verify_fails(f, own_only, "differs from its journal record");
	expect_open_refused(f, false, "an entry differs from its journal record");
	/* the journal removed: nothing vouches for them */
	copy_file(pristine, f->db);
	rm_in_data(f, "audit-journal-0 audit-journal-1");
	expect_verify_fails(f, own_only, "covered neither by a signed checkpoint nor by the journal");
	expect_open_refused(f, false, "covered neither by a signed checkpoint nor by the journal");
	free(pristine);
}

static void test_unsigned_entries_signed_at_open(void **state)
{
	struct fixture *f = *state;
	unsign_last_run(f);
	/* opening vouches for them (the journal) and signs them at once */
	struct steward *st = NULL;
	ASSERT_OK(open_served(f, true, &st, &ts_err));
	struct audit_checkpoint cp;
	ASSERT_OK(audit_latest_checkpoint(st->audit, &cp, &ts_err));
	assert_int_equal(cp.tree_size, 83);
	steward_close(st);
}

/* The tail of a journal after a crash: a child appends, is told the events
 * are durable, and dies before anything stores or signs them. */
static uint64_t crash_with_tail(struct fixture *f)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct steward_options o = {.dir = f->data, .check_permissions = true};
		struct steward *st = NULL;
		struct st_error e = {0};
		if (steward_open(&o, &st, &e) != ST_OK)
			_exit(2);
		for (int i = 0; i < 8; i++) {
			struct audit_event ev = {.action = "record.read", .outcome = "allow",
						 .user_id = 77, .record_id = 7700 + i,
						 .purpose = "crash"};
			if (steward_audit(st, &ts_system, &ev, NULL, &e) != ST_OK)
				_exit(3);
		}
		_exit(0); /* no close: nothing more is stored or signed */
	}
	int status = 0;
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	uint64_t held = 0, end = 0;
	held = (uint64_t)sql_int(f->db, "SELECT COUNT(*) FROM audit_event");
	ASSERT_OK(audit_journal_end(f->db, held, &end, &ts_err));
	return end;
}

struct tail {
	char entry[2048];
	size_t len;
	unsigned char leaf[HASH_BYTES];
	bool got;
};

static void last_record(void *ctx, const struct journal_entry *je)
{
	struct tail *t = ctx;
	if (je->len < sizeof(t->entry)) {
		memcpy(t->entry, je->entry, je->len);
		t->len = je->len;
		memcpy(t->leaf, je->leaf, HASH_BYTES);
		t->got = true;
	}
}

/* Replaces every occurrence of `from` (len bytes) in a file by `to`. */
static void patch_file(const char *path, const void *from, const void *to, size_t len)
{
	char *data = NULL;
	size_t dlen = 0;
	assert_int_equal(file_read_all(path, (size_t)1 << 30, &data, &dlen, NULL), ST_OK);
	int n = 0;
	for (size_t i = 0; i + len <= dlen; i++)
		if (memcmp(data + i, from, len) == 0) {
			memcpy(data + i, to, len);
			n++;
		}
	assert_true(n > 0);
	assert_int_equal(file_write_atomic(path, data, dlen, 0600, false, NULL), ST_OK);
	free(data);
}

static void test_forged_journal_tail(void **state)
{
	struct fixture *f = *state;
	uint64_t end = crash_with_tail(f);
	uint64_t held = (uint64_t)sql_int(f->db, "SELECT COUNT(*) FROM audit_event");
	assert_true(end > held);
	const char *own_only[] = {f->own, NULL};
	struct audit_verify_report r;
	struct st_error e;
	/* honest: the tail verifies, with the key */
	if (verify_with(f, own_only, &r, &e) != ST_OK)
		fail_msg("%s", e.message);
	assert_int_equal(r.tree_size, end);
	/* an event of the tail altered: its entry changed and its leaf hash
	 * recomputed (all one can do without the journal key) */
	struct tail t = {0};
	ASSERT_OK(journal_scan(f->db, held, false, f->jkey, last_record, &t, NULL, &ts_err));
	assert_true(t.got);
	char *seg = journal_segment_path(f->db, 0);
	char *saved = xasprintf("%s/journal-0", f->dir);
	copy_file(seg, saved);
	char *changed = xmalloc(t.len);
	memcpy(changed, t.entry, t.len);
	char *u = memmem(changed, t.len, "\"user\":77", 9);
	assert_non_null(u);
	u[8] = '8';
	unsigned char leaf[HASH_BYTES];
	merkle_leaf_hash(changed, t.len, leaf);
	patch_file(seg, t.entry, changed, t.len);
	patch_file(seg, t.leaf, leaf, HASH_BYTES);
	expect_verify_fails(f, own_only, "fails its authentication");
	expect_open_refused(f, false, "fails its authentication");
	/* events appended beyond the tail, written as the journal's records,
	 * chained to the last one (its check is in the file, just before its
	 * entry), but under a key guessed by the forger */
	copy_file(saved, seg);
	char *data = NULL;
	size_t dlen = 0;
	assert_int_equal(file_read_all(seg, (size_t)1 << 30, &data, &dlen, NULL), ST_OK);
	char *last = memmem(data, dlen, t.entry, t.len);
	assert_non_null(last);
	size_t at = (size_t)(last - data) + ((t.len + 7) & ~(size_t)7);
	struct buf forged = BUF_INIT;
	unsigned char guess[KEY_BYTES] = {1, 2, 3}, chain[JOURNAL_CHECK_BYTES];
	memcpy(chain, last - JOURNAL_CHECK_BYTES, JOURNAL_CHECK_BYTES);
	struct buf entry = BUF_INIT;
	audit_entry_build(end, time_now_us(), "\"action\":\"record.read\",\"outcome\":\"allow\"",
			  40, &entry);
	merkle_leaf_hash(entry.data, entry.len, leaf);
	journal_record(&forged, end, time_now_us(), 5, 6, 7, "record.read", "allow", leaf,
		       entry.data, entry.len, guess, chain);
	memcpy(data + at, forged.data, forged.len);
	assert_int_equal(file_write_atomic(seg, data, dlen, 0600, false, NULL), ST_OK);
	free(data);
	expect_verify_fails(f, own_only, "fails its authentication");
	expect_open_refused(f, false, "fails its authentication");
	/* the journal put back as it was: recovered and signed */
	copy_file(saved, seg);
	struct steward *st = NULL;
	ASSERT_OK(open_served(f, true, &st, &ts_err));
	assert_int_equal(audit_size(st->audit), end);
	steward_close(st);
	if (verify_with(f, own_only, &r, &e) != ST_OK)
		fail_msg("%s", e.message);
	assert_int_equal(r.unsigned_tail, 0);
	buf_release(&forged);
	buf_release(&entry);
	free(changed);
	free(seg);
	free(saved);
}

static void test_purposes_sealed(void **state)
{
	struct fixture *f = *state;
	static const char canary[] = "canary-purpose-3f9a parent meeting about abuse report";
	struct steward *st = ts_open(f->data, NULL);
	struct actor who = {.user_id = 41, .via = "test"};
	struct audit_event ev = {.action = "record.read", .outcome = "allow", .record_id = 4242,
				 .subject_id = 99, .purpose = canary};
	int64_t seq = -1;
	ASSERT_OK(steward_audit(st, &who, &ev, &seq, &ts_err));
	/* the log's readers see it */
	struct audit_query q = {.record_id = 4242, .after_seq = -1};
	json_t *events = NULL;
	int64_t next = 0;
	ASSERT_OK(audit_query(st->audit, &q, &events, &next, &ts_err));
	assert_int_equal(json_array_size(events), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(events, 0), "purpose")),
			    canary);
	json_decref(events);
	/* an evidence package discloses it with the entry's key, and the
	 * recipient opens it from the entry bytes */
	struct audit_export_options xo = {.from_us = 0, .to_us = time_now_us() + 1000000,
					  .subject_id = 99};
	json_t *pkg = NULL;
	ASSERT_OK(audit_export(st->audit, &xo, &pkg, &ts_err));
	json_t *item = json_array_get(json_object_get(pkg, "entries"), 0);
	assert_string_equal(json_string_value(json_object_get(item, "purpose")), canary);
	assert_non_null(json_object_get(item, "purpose_key"));
	assert_null(strstr(json_string_value(json_object_get(item, "entry")), "canary-purpose"));
	struct audit_package_report pr;
	ASSERT_OK(audit_verify_package(pkg, f->pk, &pr, &ts_err));
	json_decref(pkg);
	/* the files of the data directory, on disk: not in clear anywhere */
	char *cmd = xasprintf("grep -rlF 'canary-purpose-3f9a' '%s'", f->data);
	char *out = NULL;
	int rc = ts_run(cmd, &out);
	if (rc == 0)
		fail_msg("the purpose is in clear in: %s", out);
	free(out);
	steward_close(st);
	rc = ts_run(cmd, &out);
	if (rc == 0)
		fail_msg("the purpose is in clear in: %s", out);
	free(out);
	free(cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_honest_log_passes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rewritten_log, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_log, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsigned_entries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsigned_entries_signed_at_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forged_journal_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_purposes_sealed, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
