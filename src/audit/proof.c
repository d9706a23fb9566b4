/*
 * proof.c - checkpoints, inclusion and consistency proofs over the stored
 * tree, and evidence packages: export, and verification of a package with
 * nothing but the package.
 *
 * A package proves three things to a third party:
 *  1. each included entry is in the log (inclusion proof to a checkpoint
 *     signed with the district's key);
 *  2. nothing in the window [start, end) was left out of the log: the
 *     package carries every leaf hash of the window plus the compact ranges
 *     left and right of it, from which the verifier rebuilds the signed root;
 *  3. earlier checkpoints in the window are prefixes of the final one
 *     (consistency proofs).
 * Entries of the window that do not match the filter appear only as leaf
 * hashes; the package manifest is signed, so the district stands behind the
 * claim that the included entries are all those that match. An included
 * entry's sealed purpose is disclosed with the entry's own key, which opens
 * it from the entry bytes the signed root covers (and no other entry's).
 */
#include "audit/audit_internal.h"

json_t *audit_checkpoint_json(const struct audit_checkpoint *c)
{
	char *root = hex_encode(c->root, HASH_BYTES);
	char *sig = hex_encode(c->signature, SIGN_BYTES);
	char ts[40];
	time_format_us(c->time_us, ts);
	json_t *j = json_pack("{s:I, s:s, s:I, s:s, s:s, s:s}", "tree_size",
			      (json_int_t)c->tree_size, "root", root, "time_us",
			      (json_int_t)c->time_us, "time", ts, "note", c->note, "signature", sig);
	free(root);
	free(sig);
	return j;
}

int audit_checkpoint_parse(const json_t *j, struct audit_checkpoint *c, struct st_error *e)
{
	memset(c, 0, sizeof(*c));
	json_int_t size = 0, t = 0;
	const char *root = NULL, *note = NULL, *sig = NULL;
	if (!json_is_object(j) ||
	    json_unpack((json_t *)j, "{s:I, s:s, s:I, s:s, s:s}", "tree_size", &size, "root", &root,
			"time_us", &t, "note", &note, "signature", &sig) != 0 ||
	    size < 0 || hex_decode(root, c->root, HASH_BYTES) != ST_OK ||
	    hex_decode(sig, c->signature, SIGN_BYTES) != ST_OK ||
	    str_copy(c->note, sizeof(c->note), note) != ST_OK)
		return err_setc(e, ST_EINVAL, "bad_checkpoint", "checkpoint",
				"malformed checkpoint");
	c->tree_size = (uint64_t)size;
	c->time_us = t;
	return ST_OK;
}

bool audit_checkpoint_valid(const struct audit_checkpoint *c,
			    const unsigned char pk[SIGN_PUBLIC_BYTES])
{
	char id[40], expect[512];
	audit_log_id(pk, id);
	audit_checkpoint_note(id, c->tree_size, c->root, c->time_us, expect);
	if (!str_eq(expect, c->note))
		return false;
	return sign_verify(pk, c->note, strlen(c->note), c->signature);
}

static int load_checkpoint(struct store_stmt *s, struct audit_checkpoint *c)
{
	memset(c, 0, sizeof(*c));
	c->tree_size = (uint64_t)store_col_int(s, 0);
	c->time_us = store_col_int(s, 1);
	size_t len = 0;
	const void *p = store_col_blob(s, 2, &len);
	if (len != HASH_BYTES)
		return ST_ECRYPTO;
	memcpy(c->root, p, HASH_BYTES);
	p = store_col_blob(s, 3, &len);
	if (len >= sizeof(c->note))
		return ST_ECRYPTO;
	memcpy(c->note, p, len);
	c->note[len] = '\0';
	p = store_col_blob(s, 4, &len);
	if (len != SIGN_BYTES)
		return ST_ECRYPTO;
	memcpy(c->signature, p, SIGN_BYTES);
	return ST_OK;
}

static int query_checkpoint(struct store_conn *c, const char *sql, int64_t arg,
			    struct audit_checkpoint *out, struct st_error *e)
{
	struct store_stmt *s;
	int rc = store_prepare(c, sql, &s, e);
	if (rc != ST_OK)
		return rc;
	if (arg >= 0)
		store_bind(s, "i", arg);
	rc = store_step(s, e);
	if (rc == STORE_ROW)
		rc = load_checkpoint(s, out) == ST_OK
			     ? ST_OK
			     : err_set(e, ST_ECRYPTO, NULL, "a stored checkpoint is malformed");
	else if (rc == STORE_DONE)
		rc = err_set(e, ST_ENOTFOUND, NULL, "no signed checkpoint yet");
	store_done(s);
	return rc;
}

int audit_latest_checkpoint(struct audit_log *log, struct audit_checkpoint *out,
			    struct st_error *e)
{
	struct store_conn *c;
	int rc = store_acquire(log->db, &c, e);
	if (rc != ST_OK)
		return rc;
	rc = query_checkpoint(c,
			      "SELECT tree_size, time_us, root_hash, note, signature FROM "
			      "audit_checkpoint ORDER BY tree_size DESC LIMIT 1",
			      -1, out, e);
	store_release(c);
	return rc;
}

static int check_size(struct store_conn *c, uint64_t size, struct st_error *e)
{
	uint64_t n = 0;
	int rc = audit_db_size(c, &n, e);
	if (rc == ST_OK && size > n)
		rc = err_set(e, ST_EINVAL, "tree_size", "the log has only %llu events",
			     (unsigned long long)n);
	return rc;
}

int audit_inclusion_proof(struct audit_log *log, uint64_t seq, uint64_t tree_size,
			  struct merkle_hash *proof, int *len, unsigned char leaf[HASH_BYTES],
			  struct st_error *e)
{
	audit_settle(log); /* every event durable now is readable */
	struct store_conn *c;
	int rc = store_acquire(log->db, &c, e);
	if (rc != ST_OK)
		return rc;
	struct db_source src = {c};
	struct merkle_source ms = {audit_db_perfect, &src};
	rc = check_size(c, tree_size, e);
	if (rc == ST_OK)
		rc = merkle_inclusion_proof(&ms, seq, tree_size, proof, len, e);
	if (rc == ST_OK && leaf)
		rc = audit_db_perfect(&src, 0, seq, leaf, e);
	store_release(c);
	return rc;
}

int audit_consistency_proof(struct audit_log *log, uint64_t from, uint64_t to,
			    struct merkle_hash *proof, int *len, struct st_error *e)
{
	audit_settle(log); /* every event durable now is readable */
	struct store_conn *c;
	int rc = store_acquire(log->db, &c, e);
	if (rc != ST_OK)
		return rc;
	struct db_source src = {c};
	struct merkle_source ms = {audit_db_perfect, &src};
	rc = check_size(c, to, e);
	if (rc == ST_OK)
		rc = merkle_consistency_proof(&ms, from, to, proof, len, e);
	store_release(c);
	return rc;
}

int audit_root_at(struct audit_log *log, uint64_t size, unsigned char root[HASH_BYTES],
		  struct st_error *e)
{
	audit_settle(log); /* every event durable now is readable */
	struct store_conn *c;
	int rc = store_acquire(log->db, &c, e);
	if (rc != ST_OK)
		return rc;
	struct db_source src = {c};
	struct merkle_source ms = {audit_db_perfect, &src};
	rc = check_size(c, size, e);
	if (rc == ST_OK) {
		if (size == 0)
			merkle_empty_root(root);
		else
			rc = merkle_range_hash(&ms, 0, size, root, e);
	}
	store_release(c);
	return rc;
}

/* --- packages ------------------------------------------------------------- */

static json_t *hashes_json(const struct merkle_hash *h, int n)
{
	json_t *a = json_array();
	for (int i = 0; i < n; i++) {
		char *x = hex_encode(h[i].h, HASH_BYTES);
		json_array_append_new(a, json_string(x));
		free(x);
	}
	return a;
}

static int hashes_parse(const json_t *a, struct merkle_hash *out, int max, int *n)
{
	if (!json_is_array(a) || json_array_size(a) > (size_t)max)
		return ST_EINVAL;
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || hex_decode(json_string_value(v), out[i].h, HASH_BYTES))
			return ST_EINVAL;
	}
	*n = (int)json_array_size(a);
	return ST_OK;
}

/* The compact range [lo, hi): aligned perfect subtrees, left to right. */
static int compact_range(const struct merkle_source *src, uint64_t lo, uint64_t hi,
			 struct merkle_hash *out, int *n, struct st_error *e)
{
	*n = 0;
	while (lo < hi) {
		int level = 0;
		while (level < 63 && (lo & ((2ULL << level) - 1)) == 0 && lo + (2ULL << level) <= hi)
			level++;
		int rc = src->perfect(src->ctx, level, lo >> level, out[*n].h, e);
		if (rc != ST_OK)
			return rc;
		(*n)++;
		lo += 1ULL << level;
	}
	return ST_OK;
}

/* Levels of the compact range [lo, hi), in the same order. */
static int compact_levels(uint64_t lo, uint64_t hi, int *levels)
{
	int n = 0;
	while (lo < hi) {
		int level = 0;
		while (level < 63 && (lo & ((2ULL << level) - 1)) == 0 && lo + (2ULL << level) <= hi)
			level++;
		levels[n++] = level;
		lo += 1ULL << level;
	}
	return n;
}

void audit_package_digest(const json_t *pkg, unsigned char out[HASH_BYTES])
{
	json_t *copy = json_deep_copy(pkg);
	json_object_del(copy, "manifest_signature");
	char *text = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
	struct buf b = BUF_INIT;
	buf_puts(&b, "steward-evidence-manifest/1\n");
	buf_puts(&b, text);
	sha256(b.data, b.len, out);
	buf_release(&b);
	free(text);
	json_decref(copy);
}

/* An included entry's sealed purpose is disclosed: its text, and the
 * entry's key, with which the recipient opens it from the entry itself. */
static void disclose_purpose(struct audit_log *log, json_t *item, const char *entry, size_t len)
{
	json_error_t je;
	json_t *ev = json_loadb(entry, len, 0, &je);
	unsigned char k[KEY_BYTES];
	char *text = NULL;
	if (ev && log->purpose_key && audit_purpose_entry_key(log->purpose_key, ev, k) == ST_OK &&
	    audit_purpose_open(k, json_object_get(ev, "purpose"), &text) == ST_OK) {
		char *hex = hex_encode(k, KEY_BYTES);
		json_object_set_new(item, "purpose", json_string(text));
		json_object_set_new(item, "purpose_key", json_string(hex));
		free(hex);
		secure_free_plain(text, strlen(text));
	}
	secure_wipe(k, KEY_BYTES);
	json_decref(ev);
}

int audit_export(struct audit_log *log, const struct audit_export_options *o,
		 json_t **package, struct st_error *e)
{
	audit_settle(log); /* every event durable now is readable */
	if (!log->sk)
		return err_set(e, ST_EINVAL, NULL, "exporting evidence needs the signing key");
	if (o->to_us <= o->from_us)
		return err_set(e, ST_EINVAL, "to", "the window must end after it starts");
	struct audit_checkpoint cp;
	int rc = audit_checkpoint_now(log, &cp, e);
	if (rc != ST_OK)
		return rc;
	uint64_t lo = 0, hi = 0;
	rc = audit_seq_at_time(log, o->from_us, &lo, e);
	if (rc == ST_OK)
		rc = audit_seq_at_time(log, o->to_us, &hi, e);
	if (rc != ST_OK)
		return rc;
	if (hi > cp.tree_size)
		hi = cp.tree_size;
	if (lo > hi)
		lo = hi;
	struct store_conn *c;
	rc = store_acquire(log->db, &c, e);
	if (rc != ST_OK)
		return rc;
	struct db_source src = {c};
	struct merkle_source ms = {audit_db_perfect, &src};
	json_t *pkg = json_object();
	json_t *entries = json_array();
	json_t *leaves = json_array();
	char *pkhex = hex_encode(log->pk, SIGN_PUBLIC_BYTES);
	json_object_set_new(pkg, "format", json_string("steward-evidence/1"));
	json_object_set_new(pkg, "log_id", json_string(log->log_id));
	json_object_set_new(pkg, "public_key", json_string(pkhex));
	free(pkhex);
	char ts[40];
	time_format_us(time_now_us(), ts);
	json_object_set_new(pkg, "generated_at", json_string(ts));
	json_t *q = json_object();
	time_format_us(o->from_us, ts);
	json_object_set_new(q, "from", json_string(ts));
	time_format_us(o->to_us, ts);
	json_object_set_new(q, "to", json_string(ts));
	json_object_set_new(q, "user", o->user_id ? json_integer(o->user_id) : json_null());
	json_object_set_new(q, "subject", o->subject_id ? json_integer(o->subject_id) : json_null());
	json_object_set_new(pkg, "query", q);

	struct store_stmt *s;
	rc = store_prepare(c,
			   "SELECT seq, user_id, subject_id, entry, leaf_hash FROM audit_event "
			   "WHERE seq >= ? AND seq < ? ORDER BY seq",
			   &s, e);
	if (rc == ST_OK) {
		store_bind(s, "ii", (int64_t)lo, (int64_t)hi);
		uint64_t expect = lo;
		while ((rc = store_step(s, e)) == STORE_ROW) {
			uint64_t seq = (uint64_t)store_col_int(s, 0);
			size_t hl = 0, el = 0;
			const void *leaf = store_col_blob(s, 4, &hl);
			if (seq != expect || hl != HASH_BYTES) {
				rc = err_set(e, ST_ECRYPTO, NULL, "access-log entry %llu is missing",
					     (unsigned long long)expect);
				break;
			}
			expect++;
			char *lh = hex_encode(leaf, HASH_BYTES);
			json_array_append_new(leaves, json_string(lh));
			free(lh);
			bool match = (!o->user_id || store_col_int(s, 1) == o->user_id) &&
				     (!o->subject_id || store_col_int(s, 2) == o->subject_id);
			if (!match)
				continue;
			const char *entry = store_col_blob(s, 3, &el);
			json_t *item = json_object();
			json_object_set_new(item, "seq", json_integer((json_int_t)seq));
			json_object_set_new(item, "entry", json_stringn(entry, el));
			disclose_purpose(log, item, entry, el);
			json_array_append_new(entries, item);
		}
		store_done(s);
		if (rc == STORE_DONE)
			rc = ST_OK;
	}
	/* inclusion proofs, computed after the scan (one statement at a time) */
	size_t i;
	json_t *item;
	json_array_foreach(entries, i, item) {
		if (rc != ST_OK)
			break;
		struct merkle_hash proof[MERKLE_MAX_PROOF];
		int plen = 0;
		rc = merkle_inclusion_proof(&ms, (uint64_t)json_integer_value(json_object_get(item, "seq")),
					    cp.tree_size, proof, &plen, e);
		if (rc == ST_OK)
			json_object_set_new(item, "inclusion_proof", hashes_json(proof, plen));
	}
	struct merkle_hash left[MERKLE_MAX_PROOF * 2], right[MERKLE_MAX_PROOF * 2];
	int nl = 0, nr = 0;
	if (rc == ST_OK)
		rc = compact_range(&ms, 0, lo, left, &nl, e);
	if (rc == ST_OK)
		rc = compact_range(&ms, hi, cp.tree_size, right, &nr, e);
	json_t *range = json_object();
	json_object_set_new(range, "start", json_integer((json_int_t)lo));
	json_object_set_new(range, "end", json_integer((json_int_t)hi));
	json_object_set_new(range, "left", hashes_json(left, nl));
	json_object_set_new(range, "leaf_hashes", leaves);
	json_object_set_new(range, "right", hashes_json(right, nr));
	json_object_set_new(pkg, "range", range);
	json_object_set_new(pkg, "entries", entries);
	json_object_set_new(pkg, "checkpoint", audit_checkpoint_json(&cp));

	/* earlier checkpoints inside the window, each proven a prefix */
	json_t *earlier = json_array();
	if (rc == ST_OK) {
		rc = store_prepare(c,
				   "SELECT tree_size, time_us, root_hash, note, signature FROM "
				   "audit_checkpoint WHERE tree_size >= ? AND tree_size < ? "
				   "ORDER BY tree_size LIMIT 1000",
				   &s, e);
		struct audit_checkpoint *list = xcalloc(1000, sizeof(*list));
		int nlist = 0;
		if (rc == ST_OK) {
			store_bind(s, "ii", (int64_t)(lo ? lo : 1), (int64_t)cp.tree_size);
			while ((rc = store_step(s, e)) == STORE_ROW && nlist < 1000)
				if (load_checkpoint(s, &list[nlist]) == ST_OK &&
				    list[nlist].tree_size <= hi)
					nlist++;
			store_done(s);
			if (rc == STORE_DONE || rc == STORE_ROW)
				rc = ST_OK;
		}
		for (int k = 0; k < nlist && rc == ST_OK; k++) {
			struct merkle_hash proof[MERKLE_MAX_PROOF];
			int plen = 0;
			rc = merkle_consistency_proof(&ms, list[k].tree_size, cp.tree_size, proof,
						      &plen, e);
			if (rc == ST_OK) {
				json_t *cj = audit_checkpoint_json(&list[k]);
				json_object_set_new(cj, "consistency_proof", hashes_json(proof, plen));
				json_array_append_new(earlier, cj);
			}
		}
		free(list);
	}
	json_object_set_new(pkg, "earlier_checkpoints", earlier);
	store_release(c);
	if (rc != ST_OK) {
		json_decref(pkg);
		return rc;
	}
	unsigned char digest[HASH_BYTES], sig[SIGN_BYTES];
	audit_package_digest(pkg, digest);
	sign_detached(log->sk, digest, HASH_BYTES, sig);
	char *sx = hex_encode(sig, SIGN_BYTES);
	json_object_set_new(pkg, "manifest_signature", json_string(sx));
	free(sx);
	*package = pkg;
	return ST_OK;
}

/* A disclosed purpose must be what the entry's key opens from the entry
 * (a sealed purpose left undisclosed is fine: it stays sealed). */
static bool check_purpose(const json_t *ev, const json_t *item)
{
	const char *said = json_string_value(json_object_get(item, "purpose"));
	const char *khex = json_string_value(json_object_get(item, "purpose_key"));
	const json_t *sealed = json_object_get(ev, "purpose");
	if (!said && !khex)
		return true;
	unsigned char k[KEY_BYTES];
	char *text = NULL;
	bool ok = said && khex && json_is_object(sealed) &&
		  hex_decode(khex, k, KEY_BYTES) == ST_OK &&
		  audit_purpose_open(k, sealed, &text) == ST_OK && str_eq(text, said);
	if (text)
		secure_free_plain(text, strlen(text));
	secure_wipe(k, KEY_BYTES);
	return ok;
}

static int bad(struct st_error *e, const char *field, const char *msg)
{
	return err_setc(e, ST_ECRYPTO, "verification_failed", field, "%s", msg);
}

int audit_verify_package(const json_t *pkg, const unsigned char *pinned_pk,
			 struct audit_package_report *r, struct st_error *e)
{
	memset(r, 0, sizeof(*r));
	if (!json_is_object(pkg) ||
	    !str_eq(json_string_value(json_object_get(pkg, "format")), "steward-evidence/1"))
		return bad(e, "format", "not a Steward evidence package");
	unsigned char pk[SIGN_PUBLIC_BYTES];
	const char *pkhex = json_string_value(json_object_get(pkg, "public_key"));
	if (!pkhex || hex_decode(pkhex, pk, SIGN_PUBLIC_BYTES) != ST_OK)
		return bad(e, "public_key", "the package has no valid public key");
	if (pinned_pk && !secure_equal(pk, pinned_pk, SIGN_PUBLIC_BYTES))
		return bad(e, "public_key",
			   "the package was signed by a different key than the one given");
	audit_log_id(pk, r->log_id);
	if (!str_eq(json_string_value(json_object_get(pkg, "log_id")), r->log_id))
		return bad(e, "log_id", "the log id does not match the public key");
	/* the manifest signature covers everything else */
	const char *msig = json_string_value(json_object_get(pkg, "manifest_signature"));
	unsigned char sig[SIGN_BYTES], digest[HASH_BYTES];
	if (!msig || hex_decode(msig, sig, SIGN_BYTES) != ST_OK)
		return bad(e, "manifest_signature", "the package is not signed");
	audit_package_digest(pkg, digest);
	if (!sign_verify(pk, digest, HASH_BYTES, sig))
		return bad(e, "manifest_signature",
			   "the package was altered after it was signed");
	struct audit_checkpoint cp;
	if (audit_checkpoint_parse(json_object_get(pkg, "checkpoint"), &cp, e) != ST_OK)
		return bad(e, "checkpoint", "malformed checkpoint");
	if (!audit_checkpoint_valid(&cp, pk))
		return bad(e, "checkpoint", "the checkpoint's signature is not valid");
	r->tree_size = cp.tree_size;
	char *rh = hex_encode(cp.root, HASH_BYTES);
	str_copy(r->root_hex, sizeof(r->root_hex), rh);
	free(rh);

	/* the window: left compact range + every leaf + right compact range
	 * must rebuild the signed root */
	json_t *range = json_object_get(pkg, "range");
	json_int_t lo = json_integer_value(json_object_get(range, "start"));
	json_int_t hi = json_integer_value(json_object_get(range, "end"));
	json_t *leaves = json_object_get(range, "leaf_hashes");
	if (lo < 0 || hi < lo || (uint64_t)hi > cp.tree_size || !json_is_array(leaves) ||
	    json_array_size(leaves) != (size_t)(hi - lo))
		return bad(e, "range", "the window does not fit the checkpoint");
	r->window_start = (uint64_t)lo;
	r->window_end = (uint64_t)hi;
	struct merkle_hash left[MERKLE_MAX_PROOF * 2], right[MERKLE_MAX_PROOF * 2];
	int nl = 0, nr = 0, levels[MERKLE_MAX_PROOF * 2];
	if (hashes_parse(json_object_get(range, "left"), left, MERKLE_MAX_PROOF * 2, &nl) ||
	    hashes_parse(json_object_get(range, "right"), right, MERKLE_MAX_PROOF * 2, &nr))
		return bad(e, "range", "malformed compact ranges");
	if (compact_levels(0, (uint64_t)lo, levels) != nl)
		return bad(e, "range.left", "the left range has the wrong shape");
	struct merkle_frontier f;
	merkle_frontier_init(&f);
	for (int i = 0; i < nl; i++)
		merkle_frontier_push(&f, levels[i], left[i].h, NULL, NULL);
	struct merkle_hash *leafv = xcalloc((size_t)(hi - lo) + 1, sizeof(*leafv));
	size_t i;
	json_t *v;
	json_array_foreach(leaves, i, v) {
		if (!json_is_string(v) ||
		    hex_decode(json_string_value(v), leafv[i].h, HASH_BYTES) != ST_OK) {
			free(leafv);
			return bad(e, "range.leaf_hashes", "malformed leaf hash");
		}
		merkle_frontier_push(&f, 0, leafv[i].h, NULL, NULL);
	}
	if (compact_levels((uint64_t)hi, cp.tree_size, levels) != nr) {
		free(leafv);
		return bad(e, "range.right", "the right range has the wrong shape");
	}
	for (int k = 0; k < nr; k++)
		merkle_frontier_push(&f, levels[k], right[k].h, NULL, NULL);
	unsigned char root[HASH_BYTES];
	merkle_frontier_root(&f, root);
	if (f.size != cp.tree_size || !secure_equal(root, cp.root, HASH_BYTES)) {
		free(leafv);
		return bad(e, "range",
			   "the window's events do not rebuild the signed root: events were "
			   "added, removed or altered");
	}

	/* every entry: its bytes hash to the window's leaf, its inclusion
	 * proof checks, and it really falls in the window */
	json_t *entries = json_object_get(pkg, "entries");
	json_t *query = json_object_get(pkg, "query");
	json_int_t quser = json_integer_value(json_object_get(query, "user"));
	json_int_t qsubj = json_integer_value(json_object_get(query, "subject"));
	json_t *item;
	int rc = ST_OK;
	json_array_foreach(entries, i, item) {
		json_int_t seq = json_integer_value(json_object_get(item, "seq"));
		const char *entry = json_string_value(json_object_get(item, "entry"));
		char field[64];
		snprintf(field, sizeof(field), "entries.%zu", i);
		if (!entry || seq < lo || seq >= hi) {
			rc = bad(e, field, "an entry lies outside the window");
			break;
		}
		unsigned char leaf[HASH_BYTES];
		size_t elen = json_string_length(json_object_get(item, "entry"));
		merkle_leaf_hash(entry, elen, leaf);
		if (!secure_equal(leaf, leafv[seq - lo].h, HASH_BYTES)) {
			rc = bad(e, field, "an entry was altered");
			break;
		}
		struct merkle_hash proof[MERKLE_MAX_PROOF];
		int plen = 0;
		if (hashes_parse(json_object_get(item, "inclusion_proof"), proof, MERKLE_MAX_PROOF,
				 &plen) ||
		    !merkle_verify_inclusion(leaf, (uint64_t)seq, cp.tree_size, proof, plen,
					     cp.root)) {
			rc = bad(e, field, "an inclusion proof does not check");
			break;
		}
		json_error_t je;
		json_t *ej = json_loadb(entry, elen, 0, &je);
		bool ok = ej && json_integer_value(json_object_get(ej, "seq")) == seq &&
			  (!quser || json_integer_value(json_object_get(ej, "user")) == quser) &&
			  (!qsubj || json_integer_value(json_object_get(ej, "subject")) == qsubj);
		bool purpose_ok = !ej || check_purpose(ej, item);
		json_decref(ej);
		if (!ok) {
			rc = bad(e, field, "an entry does not match the query it claims");
			break;
		}
		if (!purpose_ok) {
			rc = bad(e, field,
				 "a disclosed purpose is not the one the entry holds sealed");
			break;
		}
		r->entries++;
	}
	free(leafv);
	if (rc != ST_OK)
		return rc;
	json_t *earlier = json_object_get(pkg, "earlier_checkpoints");
	json_array_foreach(earlier, i, item) {
		struct audit_checkpoint ec;
		struct merkle_hash proof[MERKLE_MAX_PROOF];
		int plen = 0;
		if (audit_checkpoint_parse(item, &ec, e) != ST_OK || !audit_checkpoint_valid(&ec, pk) ||
		    hashes_parse(json_object_get(item, "consistency_proof"), proof, MERKLE_MAX_PROOF,
				 &plen) ||
		    !merkle_verify_consistency(ec.tree_size, cp.tree_size, ec.root, cp.root, proof,
					       plen))
			return bad(e, "earlier_checkpoints",
				   "an earlier checkpoint is not consistent with the final one");
	}
	return ST_OK;
}
