/*
 * witness.c - checkpoints kept where whoever can write the data directory
 * cannot: the witness files (the data directory's own, audit-witness.json,
 * and those named with --witness, on another path or host), and the
 * checkpoints mailed or posted to the district's recipients.
 *
 * A witness is a signed checkpoint (tree size, root, time). The log must be
 * a consistent extension of every witness it is shown: the witness's root
 * is the root of the log's first tree_size entries, which an RFC 6962
 * consistency proof from the stored tree to the current root shows. Someone
 * who rewrites the log — even with recomputed hashes and, holding the
 * master key, re-signed checkpoints — cannot rewrite the witnesses, and a
 * rewritten history fails the proof against them. A witness that cannot be
 * read is a failure, never a pass: a missing witness proves nothing.
 *
 * A witness file holds the checkpoint as JSON; a mailed or posted
 * checkpoint is the same JSON inside a message, so a saved mail is a
 * witness file too. Writing a witness never moves it backwards.
 */
#include "audit/audit_internal.h"

char *audit_witness_text(const struct audit_checkpoint *cp, const char *log_id)
{
	json_t *j = audit_checkpoint_json(cp);
	json_object_set_new(j, "log_id", json_string(log_id));
	json_object_set_new(j, "format", json_string("steward-audit-witness/1"));
	char *text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(j);
	size_t n = strlen(text);
	char *out = xmalloc(n + 2);
	memcpy(out, text, n);
	out[n] = '\n';
	out[n + 1] = '\0';
	free(text);
	return out;
}

/* The JSON object of a witness: the whole text, or the first object that
 * opens a line of it (the body of a saved mail, after its headers). */
static json_t *find_checkpoint(const char *text, size_t len)
{
	for (size_t at = 0; at < len; at++) {
		if (text[at] != '{' || (at > 0 && text[at - 1] != '\n'))
			continue;
		json_error_t je;
		json_t *j = json_loadb(text + at, len - at, JSON_DISABLE_EOF_CHECK, &je);
		if (j && json_is_object(j) && json_object_get(j, "signature"))
			return j;
		json_decref(j);
	}
	return NULL;
}

int audit_witness_read(const char *path, const unsigned char pk[SIGN_PUBLIC_BYTES],
		       struct audit_checkpoint *w, struct st_error *e)
{
	if (!file_exists(path))
		return err_setc(e, ST_ECRYPTO, "witness_missing", NULL,
				"the witness %s is missing: a witness that cannot be read proves "
				"nothing (restore it, or name another)",
				path);
	char *text = NULL;
	size_t len = 0;
	struct st_error re = {0};
	int rc = file_read_all(path, 1 << 20, &text, &len, &re);
	if (rc != ST_OK)
		return err_setc(e, ST_ECRYPTO, "witness_unreadable", NULL,
				"the witness %s cannot be read: %s", path, re.message);
	json_t *j = find_checkpoint(text, len);
	free(text);
	rc = audit_checkpoint_parse(j, w, e);
	json_decref(j);
	if (rc != ST_OK)
		return err_setc(e, ST_ECRYPTO, "verification_failed", NULL,
				"the witness %s holds no checkpoint (it is malformed)", path);
	if (!audit_checkpoint_valid(w, pk))
		return err_setc(e, ST_ECRYPTO, "verification_failed", NULL,
				"the checkpoint in the witness %s is not signed by this log's key "
				"(altered, or another log's)",
				path);
	return ST_OK;
}

int audit_witness_consistent(struct store_conn *c, uint64_t size,
			     const unsigned char root[HASH_BYTES], const struct audit_checkpoint *w,
			     const char *path, struct st_error *e)
{
	if (w->tree_size > size)
		return err_setc(e, ST_ECRYPTO, "verification_failed", NULL,
				"the log is older than the witness %s (%llu entries, the log has "
				"%llu): it was truncated, rolled back, or an old copy was put back",
				path, (unsigned long long)w->tree_size, (unsigned long long)size);
	struct db_source src = {c};
	struct merkle_source ms = {audit_db_perfect, &src};
	struct merkle_hash proof[MERKLE_MAX_PROOF];
	int len = 0;
	struct st_error pe = {0};
	bool ok = merkle_consistency_proof(&ms, w->tree_size, size, proof, &len, &pe) == ST_OK &&
		  merkle_verify_consistency(w->tree_size, size, w->root, root, proof, len);
	if (!ok)
		return err_setc(e, ST_ECRYPTO, "verification_failed", NULL,
				"the log is not a consistent extension of the witness %s (%llu "
				"entries): its history was rewritten",
				path, (unsigned long long)w->tree_size);
	return ST_OK;
}

int audit_witness_write(const char *path, const unsigned char pk[SIGN_PUBLIC_BYTES],
			const struct audit_checkpoint *cp, const char *log_id,
			struct st_error *e)
{
	if (file_exists(path)) {
		struct audit_checkpoint old;
		struct st_error oe = {0};
		if (audit_witness_read(path, pk, &old, &oe) != ST_OK)
			return err_setc(e, ST_ECONFLICT, "witness_foreign", NULL,
					"not replacing the witness %s: %s", path, oe.message);
		if (old.tree_size > cp->tree_size ||
		    (old.tree_size == cp->tree_size && !secure_equal(old.root, cp->root, HASH_BYTES)))
			return err_setc(e, ST_ECONFLICT, "witness_ahead", NULL,
					"not moving the witness %s back from %llu entries to %llu",
					path, (unsigned long long)old.tree_size,
					(unsigned long long)cp->tree_size);
		if (old.tree_size == cp->tree_size)
			return ST_OK;
	}
	char *text = audit_witness_text(cp, log_id);
	int rc = file_write_atomic(path, text, strlen(text), 0600, false, e);
	free(text);
	return rc;
}
