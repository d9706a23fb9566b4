/*
 * verify.c - `steward audit verify`: recompute the whole Merkle tree from
 * the stored entries and hold everything else to it. Detects an altered,
 * removed, inserted or reordered entry, altered index columns (which would
 * hide events from queries), altered or inserted tree nodes, forged or
 * inconsistent checkpoints, a truncated log, a log with entries and no
 * checkpoint, entries after the newest checkpoint that the journal does
 * not vouch for, an altered or forged journal record, and a log that is
 * not a consistent extension of a witness (rolled back, or its history
 * rewritten — even with recomputed hashes and re-signed checkpoints).
 *
 * Every entry must be vouched for by a signature: a signed checkpoint
 * that covers it, or its record in the journal, whose MAC needs the
 * journal key (derived from the signing key, which the master key wraps).
 * Without that key, entries not yet signed cannot be authenticated, and
 * verification says so instead of passing.
 */
#include "audit/audit_internal.h"

struct verify_state {
	struct store_conn *nodes;
	uint64_t nodes_seen;
	int rc;
	int64_t bad_node_level;
	uint64_t bad_node_index;
	struct st_error *e;
};

static void check_node(void *ctx, int level, uint64_t index, const unsigned char h[HASH_BYTES])
{
	struct verify_state *vs = ctx;
	if (level < AUDIT_STORED_LEVEL || vs->rc != ST_OK)
		return;
	struct db_source src = {vs->nodes};
	unsigned char stored[HASH_BYTES];
	struct st_error e2 = {0};
	if (audit_db_perfect(&src, level, index, stored, &e2) != ST_OK ||
	    !secure_equal(stored, h, HASH_BYTES)) {
		vs->rc = ST_ECRYPTO;
		vs->bad_node_level = level;
		vs->bad_node_index = index;
		return;
	}
	vs->nodes_seen++;
}

/* --- the derived query index ------------------------------------------- */

struct key_seq {
	int64_t key, seq;
};

struct index_check {
	struct store *idx;
	struct store_conn *c;
	uint64_t upto;
	int64_t bucket;              /* bucket being collected, -1 none */
	struct key_seq *rows[4];     /* expected rows per table */
	size_t n[4], cap[4];
};

static const char *const idx_tables[4] = {"by_user", "by_subject", "by_record", "by_outcome"};

static int cmp_key_seq(const void *a, const void *b)
{
	const struct key_seq *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void expect_row(struct index_check *ic, int t, int64_t key, int64_t seq)
{
	if (ic->n[t] == ic->cap[t]) {
		ic->cap[t] = ic->cap[t] ? ic->cap[t] * 2 : 4096;
		ic->rows[t] = xrealloc(ic->rows[t], ic->cap[t] * sizeof(struct key_seq));
	}
	ic->rows[t][ic->n[t]++] = (struct key_seq){key, seq};
}

/* Compares the collected bucket with the index; returns the first seq
 * that differs, or -1. */
static int64_t check_bucket(struct index_check *ic, struct st_error *e)
{
	int64_t bad = -1;
	for (int t = 0; t < 4 && bad < 0; t++) {
		if (ic->n[t])
			qsort(ic->rows[t], ic->n[t], sizeof(struct key_seq), cmp_key_seq);
		char *sql = xasprintf("SELECT key, seq FROM %s WHERE bucket = ? ORDER BY key, seq",
				      idx_tables[t]);
		struct store_stmt *s;
		if (store_prepare(ic->c, sql, &s, e) != ST_OK) {
			free(sql);
			return ic->bucket << 16;
		}
		store_bind(s, "i", ic->bucket);
		size_t i = 0;
		while (store_step(s, e) == STORE_ROW) {
			int64_t key = store_col_int(s, 0), seq = store_col_int(s, 1);
			if (i >= ic->n[t] || ic->rows[t][i].key != key || ic->rows[t][i].seq != seq) {
				bad = i < ic->n[t] && ic->rows[t][i].seq < seq ? ic->rows[t][i].seq : seq;
				break;
			}
			i++;
		}
		store_done(s);
		free(sql);
		if (bad < 0 && i < ic->n[t])
			bad = ic->rows[t][i].seq;
		ic->n[t] = 0;
	}
	return bad;
}

static bool column_matches(struct store_stmt *s, int col, const json_t *ev, const char *key)
{
	json_t *v = json_object_get(ev, key);
	if (store_col_null(s, col))
		return v == NULL;
	return v && json_is_integer(v) && json_integer_value(v) == store_col_int(s, col);
}

static int fail_at(struct audit_verify_report *r, uint64_t seq, struct st_error *e,
		   const char *fmt, ...) ST_PRINTF(4, 5);

static int fail_at(struct audit_verify_report *r, uint64_t seq, struct st_error *e,
		   const char *fmt, ...)
{
	r->bad_seq = (int64_t)seq;
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return err_setc(e, ST_ECRYPTO, "verification_failed", NULL, "%s", msg);
}

/* The journal's records from the newest checkpoint on, read just after
 * the database snapshot was taken. */
struct journal_read {
	uint64_t from;
	struct merkle_hash *leaf; /* [from, from + n) */
	uint64_t n, cap;
};

static void journal_one(void *ctx, const struct journal_entry *je)
{
	struct journal_read *j = ctx;
	if (je->seq != j->from + j->n)
		return; /* cannot happen: the scan hands them over in order */
	if (j->n == j->cap) {
		j->cap = j->cap ? 2 * j->cap : 1024;
		j->leaf = xrealloc(j->leaf, j->cap * sizeof(*j->leaf));
	}
	memcpy(j->leaf[j->n++].h, je->leaf, HASH_BYTES);
}

static int verify_once(const struct audit_verify_options *o, struct audit_verify_report *r,
		       bool *retry, struct st_error *e)
{
	const char *db_path = o->db_path;
	const unsigned char *pk = o->pk;
	memset(r, 0, sizeof(*r));
	r->bad_seq = -1;
	*retry = false;
	if (!file_exists(db_path))
		return err_set(e, ST_ENOTFOUND, NULL, "no access log at %s", db_path);
	/* the witnesses first: each written after the log held its checkpoint */
	struct audit_checkpoint *wit = xcalloc(o->nwitnesses + 1, sizeof(*wit));
	int rc = ST_OK;
	for (size_t i = 0; i < o->nwitnesses && rc == ST_OK; i++)
		rc = audit_witness_read(o->witnesses[i], pk, &wit[i], e);
	if (rc != ST_OK) {
		free(wit);
		return rc;
	}
	struct journal_read jr = {0};
	struct st_error je_err = {0};
	int jrc = ST_OK;
	bool live = false;
	struct store *db = NULL;
	struct store_options so = {.backend = "sqlite", .location = db_path, .pool_size = 4};
	rc = store_open(&so, &db, e);
	if (rc != ST_OK)
		return rc;
	struct store_conn *ce = NULL, *cc = NULL, *cn = NULL;
	struct store_stmt *se = NULL, *sc = NULL;
	struct index_check ic = {.bucket = -1};
	{
		size_t plen = strlen(db_path);
		char *ipath = plen > 3 && str_eq(db_path + plen - 3, ".db")
				      ? xasprintf("%.*s-index.db", (int)(plen - 3), db_path)
				      : xasprintf("%s-index", db_path);
		if (file_exists(ipath)) {
			struct store_options io = {.backend = "sqlite", .location = ipath,
						   .pool_size = 1};
			int64_t upto = 0;
			/* The index's extent and its rows are read in one
			 * transaction, taken before the log's: a server indexing
			 * meanwhile cannot make them disagree. */
			if (store_open(&io, &ic.idx, e) == ST_OK &&
			    store_acquire(ic.idx, &ic.c, e) == ST_OK &&
			    store_exec(ic.c, "BEGIN", e) == ST_OK &&
			    store_query_int(ic.c, &upto, e,
					    "SELECT indexed_upto FROM index_state WHERE id = 1",
					    "") == ST_OK) {
				ic.upto = (uint64_t)upto;
			} else if (ic.c) {
				store_exec(ic.c, "ROLLBACK", NULL);
				store_release(ic.c);
				ic.c = NULL;
			}
		}
		free(ipath);
	}
	/* One connection and one read transaction for the events, the
	 * checkpoints and the stored nodes: a consistent snapshot even while a
	 * server appends (three connections would each see a different one). */
	if ((rc = store_acquire(db, &ce, e)) || (rc = store_exec(ce, "BEGIN", e)))
		goto out;
	cc = cn = ce;
	{
		/* The snapshot begins with this read; the journal is read at once
		 * after it, while it still holds every entry the snapshot has
		 * after its newest checkpoint (a segment is reused only once a
		 * checkpoint covers it). */
		int64_t newest = 0;
		rc = store_query_int(ce, &newest, e,
				     "SELECT COALESCE(MAX(tree_size), 0) FROM audit_checkpoint", "");
		if (rc != ST_OK)
			goto out;
		jr.from = (uint64_t)newest;
		live = journal_live(db_path);
		jrc = journal_scan(db_path, jr.from, true, o->journal_key, journal_one, &jr, NULL,
				   &je_err);
	}

	rc = store_prepare(cc,
			   "SELECT tree_size, time_us, root_hash, note, signature FROM "
			   "audit_checkpoint ORDER BY tree_size",
			   &sc, e);
	if (rc != ST_OK)
		goto out;
	struct audit_checkpoint cp;
	bool have_cp = false;
	int64_t prev_cp_time = 0;
	/* Advances to the next checkpoint, verifying its signature. */
#define NEXT_CHECKPOINT()                                                                  \
	do {                                                                               \
		int step_ = store_step(sc, e);                                             \
		have_cp = false;                                                           \
		if (step_ == STORE_ROW) {                                                  \
			memset(&cp, 0, sizeof(cp));                                        \
			cp.tree_size = (uint64_t)store_col_int(sc, 0);                     \
			cp.time_us = store_col_int(sc, 1);                                 \
			size_t l1 = 0, l2 = 0, l3 = 0;                                     \
			const void *p1 = store_col_blob(sc, 2, &l1);                       \
			const void *p2 = store_col_blob(sc, 3, &l2);                       \
			const void *p3 = store_col_blob(sc, 4, &l3);                       \
			if (l1 != HASH_BYTES || l2 >= sizeof(cp.note) || l3 != SIGN_BYTES) { \
				rc = fail_at(r, cp.tree_size, e,                           \
					     "the checkpoint at tree size %llu is malformed", \
					     (unsigned long long)cp.tree_size);            \
				goto out;                                                  \
			}                                                                  \
			memcpy(cp.root, p1, HASH_BYTES);                                   \
			memcpy(cp.note, p2, l2);                                           \
			memcpy(cp.signature, p3, SIGN_BYTES);                              \
			if (!audit_checkpoint_valid(&cp, pk)) {                            \
				rc = fail_at(r, cp.tree_size, e,                           \
					     "the checkpoint at tree size %llu has a bad "  \
					     "signature or does not match its note",       \
					     (unsigned long long)cp.tree_size);            \
				goto out;                                                  \
			}                                                                  \
			if (cp.time_us < prev_cp_time) {                                   \
				rc = fail_at(r, cp.tree_size, e,                           \
					     "checkpoints are out of time order at tree "   \
					     "size %llu",                                  \
					     (unsigned long long)cp.tree_size);            \
				goto out;                                                  \
			}                                                                  \
			prev_cp_time = cp.time_us;                                         \
			r->checkpoints++;                                                  \
			have_cp = true;                                                    \
		} else if (step_ != STORE_DONE) {                                          \
			rc = step_;                                                        \
			goto out;                                                          \
		}                                                                          \
	} while (0)

	NEXT_CHECKPOINT();
	while (have_cp && cp.tree_size == 0)
		NEXT_CHECKPOINT();

	rc = store_prepare(ce,
			   "SELECT seq, time_us, user_id, subject_id, record_id, action, outcome, "
			   "entry, leaf_hash FROM audit_event ORDER BY seq",
			   &se, e);
	if (rc != ST_OK)
		goto out;
	struct merkle_frontier f;
	merkle_frontier_init(&f);
	struct verify_state vs = {cn, 0, ST_OK, -1, 0, e};
	int64_t prev_time = 0;
	uint64_t last_cp_checked = 0;
	int step;
	while ((step = store_step(se, e)) == STORE_ROW) {
		uint64_t i = f.size;
		uint64_t seq = (uint64_t)store_col_int(se, 0);
		if (seq != i) {
			rc = seq > i ? fail_at(r, i, e, "entry %llu is missing (the next stored entry "
							  "is %llu): entries were removed",
						  (unsigned long long)i, (unsigned long long)seq)
				     : fail_at(r, i, e, "entry %llu is out of order",
					       (unsigned long long)i);
			goto out;
		}
		size_t elen = 0, hlen = 0;
		const char *entry = store_col_blob(se, 7, &elen);
		const unsigned char *stored_leaf = store_col_blob(se, 8, &hlen);
		unsigned char leaf[HASH_BYTES];
		merkle_leaf_hash(entry, elen, leaf);
		if (hlen != HASH_BYTES || !secure_equal(leaf, stored_leaf, HASH_BYTES)) {
			rc = fail_at(r, i, e, "entry %llu was altered (its hash does not match)",
				     (unsigned long long)i);
			goto out;
		}
		json_error_t je;
		json_t *ev = entry ? json_loadb(entry, elen, 0, &je) : NULL;
		int64_t t = store_col_int(se, 1);
		char ts[40];
		time_format_us(t, ts);
		bool ok = ev && json_integer_value(json_object_get(ev, "seq")) == (json_int_t)i &&
			  str_eq(json_string_value(json_object_get(ev, "time")), ts) &&
			  str_eq(json_string_value(json_object_get(ev, "action")),
				 store_col_text(se, 5)) &&
			  str_eq(json_string_value(json_object_get(ev, "outcome")),
				 store_col_text(se, 6)) &&
			  column_matches(se, 2, ev, "user") && column_matches(se, 3, ev, "subject") &&
			  column_matches(se, 4, ev, "record");
		json_decref(ev);
		if (!ok) {
			rc = fail_at(r, i, e,
				     "entry %llu does not match its index columns (sequence, time, "
				     "user, subject, record, action or outcome was changed, or "
				     "entries were swapped)",
				     (unsigned long long)i);
			goto out;
		}
		if (t < prev_time) {
			rc = fail_at(r, i, e, "entry %llu is older than the entry before it",
				     (unsigned long long)i);
			goto out;
		}
		prev_time = t;
		if (ic.c && i < ic.upto) {
			int64_t bucket = (int64_t)(i >> 16);
			if (bucket != ic.bucket && ic.bucket >= 0) {
				int64_t badseq = check_bucket(&ic, e);
				if (badseq >= 0) {
					rc = fail_at(r, (uint64_t)badseq, e,
						     "the query index disagrees with the log at entry "
						     "%lld: events could be hidden from queries",
						     (long long)badseq);
					goto out;
				}
			}
			ic.bucket = bucket;
			if (!store_col_null(se, 2))
				expect_row(&ic, 0, store_col_int(se, 2), (int64_t)i);
			if (!store_col_null(se, 3))
				expect_row(&ic, 1, store_col_int(se, 3), (int64_t)i);
			if (!store_col_null(se, 4))
				expect_row(&ic, 2, store_col_int(se, 4), (int64_t)i);
			const char *oc = store_col_text(se, 6);
			if (!str_eq(oc, "allow"))
				expect_row(&ic, 3, str_eq(oc, "deny") ? 1 : 2, (int64_t)i);
		}
		merkle_frontier_push(&f, 0, leaf, check_node, &vs);
		if (vs.rc != ST_OK) {
			rc = fail_at(r, vs.bad_node_index << vs.bad_node_level, e,
				     "the stored tree node (level %lld, index %llu) is altered or "
				     "missing",
				     (long long)vs.bad_node_level,
				     (unsigned long long)vs.bad_node_index);
			goto out;
		}
		while (have_cp && cp.tree_size == f.size) {
			unsigned char root[HASH_BYTES];
			merkle_frontier_root(&f, root);
			if (!secure_equal(root, cp.root, HASH_BYTES)) {
				rc = fail_at(r, last_cp_checked, e,
					     "the signed checkpoint at tree size %llu does not match "
					     "the entries: an entry from %llu to %llu was altered, "
					     "inserted, removed or reordered",
					     (unsigned long long)cp.tree_size,
					     (unsigned long long)last_cp_checked,
					     (unsigned long long)cp.tree_size - 1);
				goto out;
			}
			last_cp_checked = cp.tree_size;
			r->last_checkpoint_size = cp.tree_size;
			NEXT_CHECKPOINT();
		}
	}
	if (step != STORE_DONE) {
		rc = step;
		goto out;
	}
#undef NEXT_CHECKPOINT
	if (have_cp) {
		rc = fail_at(r, f.size, e,
			     "the log was truncated: a signed checkpoint covers %llu entries but "
			     "only %llu remain",
			     (unsigned long long)cp.tree_size, (unsigned long long)f.size);
		goto out;
	}
	/* every witness: the log extends it (RFC 6962 consistency proof from
	 * the stored tree to the entries' root) */
	uint64_t n = f.size;
	unsigned char db_root[HASH_BYTES];
	merkle_frontier_root(&f, db_root);
	for (size_t i = 0; i < o->nwitnesses; i++) {
		struct st_error we = {0};
		if (audit_witness_consistent(cn, n, db_root, &wit[i], o->witnesses[i], &we) != ST_OK) {
			rc = fail_at(r, wit[i].tree_size > n ? n : 0, e, "%s", we.message);
			goto out;
		}
		r->witnesses++;
		if (wit[i].tree_size > r->witnessed_size)
			r->witnessed_size = wit[i].tree_size;
	}
	if (f.size > 0 && r->checkpoints == 0) {
		rc = fail_at(r, 0, e,
			     "the log holds %llu entries but no signed checkpoint: its checkpoints "
			     "were removed (or it was never signed), and nothing vouches for it",
			     (unsigned long long)f.size);
		goto out;
	}
	if (ic.c) {
		if (ic.upto > f.size) {
			rc = fail_at(r, f.size, e,
				     "the query index covers %llu entries but the log holds %llu",
				     (unsigned long long)ic.upto, (unsigned long long)f.size);
			goto out;
		}
		if (ic.bucket >= 0) {
			int64_t badseq = check_bucket(&ic, e);
			if (badseq >= 0) {
				rc = fail_at(r, (uint64_t)badseq, e,
					     "the query index disagrees with the log at entry %lld: "
					     "events could be hidden from queries",
					     (long long)badseq);
				goto out;
			}
		}
		for (int t = 0; t < 4; t++) {
			char *sql = xasprintf("SELECT COUNT(*) FROM %s WHERE bucket > ?", idx_tables[t]);
			int64_t extra = 0;
			rc = store_query_int(ic.c, &extra, e, sql, "i", ic.bucket);
			free(sql);
			if (rc != ST_OK)
				goto out;
			if (extra) {
				rc = fail_at(r, ic.upto, e,
					     "the query index holds rows for entries the log does not "
					     "hold");
				goto out;
			}
		}
	}
	/* Every stored node must be one the entries produce: no extras. */
	int64_t stored_nodes = 0;
	rc = store_query_int(cn, &stored_nodes, e, "SELECT COUNT(*) FROM audit_node", "");
	if (rc != ST_OK)
		goto out;
	if ((uint64_t)stored_nodes != vs.nodes_seen) {
		rc = fail_at(r, f.size, e,
			     "the tree holds %lld stored nodes where the entries produce %llu: "
			     "nodes were inserted",
			     (long long)stored_nodes, (unsigned long long)vs.nodes_seen);
		goto out;
	}
	/* The journal: entries after the newest checkpoint must be there,
	 * authenticated, and what it holds beyond the database extends the
	 * tree (the server is storing it, or stopped before it could). */
	if (jrc != ST_OK) {
		rc = fail_at(r, f.size, e, "%s", je_err.message);
		goto out;
	}
	uint64_t signed_size = r->last_checkpoint_size;
	if (n > signed_size) {
		if (!o->journal_key) {
			rc = fail_at(r, signed_size, e,
				     "entries %llu to %llu are not signed yet, and their journal "
				     "records cannot be authenticated without the master key: give "
				     "--passphrase-file (or $STEWARD_PASSPHRASE), or verify again "
				     "after the next checkpoint",
				     (unsigned long long)signed_size, (unsigned long long)n - 1);
			goto out;
		}
		if (jr.from > signed_size || jr.from + jr.n < n) {
			*retry = live;
			rc = fail_at(r, signed_size, e,
				     "entries %llu to %llu are covered neither by a signed checkpoint "
				     "nor by the journal: they were written by someone who could not "
				     "sign them (checkpoints removed, entries rewritten)",
				     (unsigned long long)signed_size, (unsigned long long)n - 1);
			goto out;
		}
		struct db_source src = {cn};
		for (uint64_t i = signed_size; i < n; i++) {
			unsigned char leaf[HASH_BYTES];
			if (audit_db_perfect(&src, 0, i, leaf, e) != ST_OK ||
			    !secure_equal(leaf, jr.leaf[i - jr.from].h, HASH_BYTES)) {
				rc = fail_at(r, i, e,
					     "entry %llu is not signed yet and differs from its "
					     "journal record: it was altered",
					     (unsigned long long)i);
				goto out;
			}
		}
	}
	for (uint64_t i = n; i < jr.from + jr.n; i++) {
		merkle_frontier_push(&f, 0, jr.leaf[i - jr.from].h, NULL, NULL);
		r->journal_tail++;
	}
	if (r->journal_tail && !o->journal_key) {
		rc = fail_at(r, n, e,
			     "the journal holds %llu events not yet in the log, which cannot be "
			     "authenticated without the master key: give --passphrase-file (or "
			     "$STEWARD_PASSPHRASE), or start the server, which authenticates and "
			     "stores them",
			     (unsigned long long)r->journal_tail);
		goto out;
	}
	r->tree_size = f.size;
	merkle_frontier_root(&f, r->root);
	r->unsigned_tail = f.size - r->last_checkpoint_size;
	rc = ST_OK;
out:
	if (se)
		store_done(se);
	if (sc)
		store_done(sc);
	if (ce) {
		store_exec(ce, "COMMIT", NULL);
		store_release(ce);
	}
	store_close(db);
	if (ic.c) {
		store_exec(ic.c, "COMMIT", NULL);
		store_release(ic.c);
	}
	store_close(ic.idx);
	for (int t = 0; t < 4; t++)
		free(ic.rows[t]);
	free(jr.leaf);
	free(wit);
	return rc;
}

int audit_verify(const struct audit_verify_options *o, struct audit_verify_report *r,
		 struct st_error *e)
{
	/* Beside a running server the journal may move on between the
	 * snapshot and its reading (rarely): then again. */
	for (int attempt = 0;; attempt++) {
		bool retry = false;
		int rc = verify_once(o, r, &retry, e);
		if (rc == ST_OK || !retry || attempt == 3)
			return rc;
	}
}
