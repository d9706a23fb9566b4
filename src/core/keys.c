/*
 * keys.c - the rows the master key protects: one data key per record or
 * subject (data_key) and the system keys (system_key: the blind-index key,
 * the access log's signing key). Also master key rotation, which rewraps
 * those rows without touching any record's ciphertext.
 *
 * Invariant: every wrapped key records the master key version that wrapped
 * it; a master key version is destroyed only when no row refers to it.
 */
#include "core/context.h"

static void systemkey_owner(const char *name, char out[96])
{
	snprintf(out, 96, "system:%s", name);
}

/* System keys may be longer than one data key (an Ed25519 secret key is 64
 * bytes): they are wrapped KEY_BYTES at a time, each chunk bound to the key's
 * name and position. */
int systemkey_store(struct steward *st, struct store_conn *c, const char *name,
		    const unsigned char *secret, size_t len, const unsigned char *public_key,
		    size_t publen, struct st_error *e)
{
	ST_ASSERT(len > 0 && len % KEY_BYTES == 0 && len <= KEY_BYTES * 4);
	char owner[96];
	systemkey_owner(name, owner);
	struct buf wrapped = BUF_INIT;
	int kv = 0;
	for (size_t off = 0; off < len; off += KEY_BYTES) {
		char partowner[128];
		snprintf(partowner, sizeof(partowner), "%s#%zu", owner, off / KEY_BYTES);
		dek_wrap(st->keys, partowner, secret + off, &wrapped, &kv);
	}
	int rc = store_run(c, e,
			   "INSERT INTO system_key (name, kek_version, wrapped, public_key) "
			   "VALUES (?, ?, ?, ?)",
			   "tibb", name, (int64_t)kv, wrapped.data, wrapped.len, public_key,
			   publen);
	buf_release(&wrapped);
	return rc;
}

/* Each KEY_BYTES chunk wraps to this many bytes. */
#define WRAPPED_CHUNK (KEY_BYTES + SEAL_OVERHEAD)

static int unwrap_chunks(struct steward *st, int kv, const unsigned char *w, size_t wlen,
			 const char *owner, unsigned char *out, size_t len,
			 struct st_error *e)
{
	if (wlen != (len / KEY_BYTES) * WRAPPED_CHUNK || len % KEY_BYTES)
		return err_set(e, ST_ECRYPTO, NULL, "system key %s is malformed", owner);
	for (size_t i = 0; i < len / KEY_BYTES; i++) {
		char partowner[128];
		snprintf(partowner, sizeof(partowner), "%s#%zu", owner, i);
		int rc = dek_unwrap(st->keys, kv, w + i * WRAPPED_CHUNK, WRAPPED_CHUNK,
				    partowner, out + i * KEY_BYTES, e);
		if (rc != ST_OK)
			return rc;
	}
	return ST_OK;
}

int systemkey_load(struct steward *st, struct store_conn *c, const char *name,
		   unsigned char *secret, size_t len, struct st_error *e)
{
	char owner[96];
	systemkey_owner(name, owner);
	struct store_stmt *s;
	int rc = store_prepare(c, "SELECT kek_version, wrapped FROM system_key WHERE name = ?",
			       &s, e);
	if (rc != ST_OK)
		return rc;
	store_bind(s, "t", name);
	rc = store_step(s, e);
	if (rc == STORE_ROW) {
		size_t wlen = 0;
		const unsigned char *w = store_col_blob(s, 1, &wlen);
		rc = unwrap_chunks(st, (int)store_col_int(s, 0), w, wlen, owner, secret, len, e);
	} else if (rc == STORE_DONE) {
		rc = err_set(e, ST_ENOTFOUND, NULL, "system key %s is missing", name);
	}
	store_done(s);
	return rc;
}

#define NOTE_PREFIX "sealed:1:"

static void note_ad(const char *where, struct buf *ad)
{
	buf_printf(ad, "steward/note|%s", where);
}

char *note_seal(struct steward *st, const char *where, const char *text)
{
	if (!text)
		return NULL;
	struct buf ad = BUF_INIT, ct = BUF_INIT;
	note_ad(where, &ad);
	seal(st->notes_key, ad.data, ad.len, text, strlen(text), &ct);
	char *b64 = b64_encode(ct.data, ct.len);
	char *out = xasprintf("%s%s", NOTE_PREFIX, b64);
	free(b64);
	buf_release(&ct);
	buf_release(&ad);
	return out;
}

bool note_is_sealed(const char *stored)
{
	return stored && str_has_prefix(stored, NOTE_PREFIX);
}

int note_open(struct steward *st, const char *where, const char *stored, char **text,
	      struct st_error *e)
{
	*text = NULL;
	if (!note_is_sealed(stored)) {
		*text = xstrdup(stored ? stored : "");
		return ST_OK;
	}
	unsigned char *ct = NULL;
	size_t ctlen = 0;
	if (b64_decode(stored + strlen(NOTE_PREFIX), &ct, &ctlen) != ST_OK)
		return err_set(e, ST_ECRYPTO, NULL, "a sealed note is malformed");
	struct buf ad = BUF_INIT;
	note_ad(where, &ad);
	size_t ptlen = 0;
	int rc = unseal(st->notes_key, ad.data, ad.len, ct, ctlen, text, &ptlen);
	buf_release(&ad);
	free(ct);
	if (rc != ST_OK)
		return err_set(e, ST_ECRYPTO, NULL, "a sealed note does not open here");
	return ST_OK;
}

int datakey_create(struct steward *st, struct store_conn *c, const char *owner,
		   unsigned char *key, int64_t *id, struct st_error *e)
{
	struct buf wrapped = BUF_INIT;
	int kv = 0;
	dek_generate(st->keys, owner, key, &wrapped, &kv);
	struct store_stmt *s;
	int rc = store_prepare(c,
			       "INSERT INTO data_key (owner, kek_version, wrapped, created_at) "
			       "VALUES (?, ?, ?, ?) RETURNING id",
			       &s, e);
	if (rc == ST_OK) {
		store_bind(s, "tibi", owner, (int64_t)kv, wrapped.data, wrapped.len,
			   time_now());
		rc = store_step(s, e);
		if (rc == STORE_ROW) {
			*id = store_col_int(s, 0);
			rc = ST_OK;
		} else if (rc == STORE_DONE) {
			rc = err_set(e, ST_EINTERNAL, NULL, "no id returned for data key");
		}
		store_done(s);
	}
	buf_release(&wrapped);
	return rc;
}

int datakey_load(struct steward *st, struct store_conn *c, int64_t id, const char *owner,
		 unsigned char *key, struct st_error *e)
{
	struct store_stmt *s;
	int rc = store_prepare(c,
			       "SELECT owner, kek_version, wrapped FROM data_key WHERE id = ?",
			       &s, e);
	if (rc != ST_OK)
		return rc;
	store_bind(s, "i", id);
	rc = store_step(s, e);
	if (rc == STORE_DONE) {
		rc = err_set(e, ST_EINTERNAL, NULL, "data key %lld is missing", (long long)id);
	} else if (rc == STORE_ROW) {
		if (!str_eq(store_col_text(s, 0), owner)) {
			/* A key row pointed at from the wrong object: tampering. */
			rc = err_setc(e, ST_ECRYPTO, "integrity_error", NULL,
				      "the data key of %s belongs to another object", owner);
		} else if (store_col_null(s, 2)) {
			rc = err_setc(e, ST_EGONE, "destroyed", NULL,
				      "%s was destroyed (its key was shredded)", owner);
		} else {
			size_t wlen = 0;
			const void *w = store_col_blob(s, 2, &wlen);
			rc = dek_unwrap(st->keys, (int)store_col_int(s, 1), w, wlen, owner, key, e);
		}
	}
	store_done(s);
	return rc;
}

int datakey_destroy(struct steward *st, struct store_conn *c, int64_t id,
		    struct st_error *e)
{
	(void)st;
	/* secure_delete zeroes the freed bytes of the overwritten row. */
	return store_run(c, e,
			 "UPDATE data_key SET wrapped = NULL, destroyed_at = ? WHERE id = ?",
			 "ii", time_now(), id);
}

/* Rewraps up to `batch` rows of one table still under an old master key
 * version, in one transaction. Returns the number rewrapped in *done. */
static int rewrap_batch(struct steward *st, struct store_conn *c, bool system, int batch,
			int64_t *done, struct st_error *e)
{
	int current = keyring_current(st->keys);
	int rc = store_begin(c, e);
	if (rc != ST_OK)
		return rc;
	struct store_stmt *sel;
	rc = store_prepare(c,
			   system ? "SELECT name, kek_version, wrapped FROM system_key "
				    "WHERE kek_version <> ? LIMIT ?"
				  : "SELECT id, owner, kek_version, wrapped FROM data_key "
				    "WHERE wrapped IS NOT NULL AND kek_version <> ? LIMIT ?",
			   &sel, e);
	if (rc != ST_OK)
		goto fail;
	store_bind(sel, "ii", (int64_t)current, (int64_t)batch);
	/* Collect first: updating while the SELECT is active is fine in
	 * SQLite but not portable. */
	struct item {
		char *key;
		int64_t id;
		int kv;
		unsigned char *w;
		size_t wlen;
	} *items = xcalloc((size_t)batch, sizeof(*items));
	int n = 0;
	while ((rc = store_step(sel, e)) == STORE_ROW) {
		struct item *it = &items[n++];
		size_t wlen = 0;
		const void *w;
		if (system) {
			it->key = xstrdup(store_col_text(sel, 0));
			it->kv = (int)store_col_int(sel, 1);
			w = store_col_blob(sel, 2, &wlen);
		} else {
			it->id = store_col_int(sel, 0);
			it->key = xstrdup(store_col_text(sel, 1));
			it->kv = (int)store_col_int(sel, 2);
			w = store_col_blob(sel, 3, &wlen);
		}
		it->w = xmalloc(wlen ? wlen : 1);
		memcpy(it->w, w, wlen);
		it->wlen = wlen;
	}
	store_done(sel);
	if (rc < 0)
		goto cleanup;
	rc = ST_OK;
	for (int i = 0; i < n && rc == ST_OK; i++) {
		struct item *it = &items[i];
		struct buf out = BUF_INIT;
		int to = 0;
		if (system) {
			char owner[96];
			systemkey_owner(it->key, owner);
			size_t chunks = it->wlen / WRAPPED_CHUNK;
			if (chunks == 0 || it->wlen % WRAPPED_CHUNK)
				rc = err_set(e, ST_ECRYPTO, NULL, "system key %s is malformed",
					     it->key);
			for (size_t k = 0; rc == ST_OK && k < chunks; k++) {
				char partowner[128];
				snprintf(partowner, sizeof(partowner), "%s#%zu", owner, k);
				rc = dek_rewrap(st->keys, it->kv, it->w + k * WRAPPED_CHUNK,
						WRAPPED_CHUNK, partowner, &out, &to, e);
			}
			if (rc == ST_OK)
				rc = store_run(c, e,
					       "UPDATE system_key SET kek_version = ?, wrapped = ? "
					       "WHERE name = ? AND kek_version = ?",
					       "ibti", (int64_t)to, out.data, out.len, it->key,
					       (int64_t)it->kv);
		} else {
			rc = dek_rewrap(st->keys, it->kv, it->w, it->wlen, it->key, &out, &to, e);
			if (rc == ST_OK)
				rc = store_run(c, e,
					       "UPDATE data_key SET kek_version = ?, wrapped = ? "
					       "WHERE id = ? AND kek_version = ?",
					       "ibii", (int64_t)to, out.data, out.len, it->id,
					       (int64_t)it->kv);
		}
		buf_release(&out);
	}
cleanup:
	for (int i = 0; i < n; i++) {
		free(items[i].key);
		free(items[i].w);
	}
	free(items);
	if (rc != ST_OK)
		goto fail;
	rc = store_commit(c, e);
	if (rc == ST_OK)
		*done = n;
	return rc;
fail:
	store_rollback(c);
	return rc;
}

static int log_rotation(struct steward *st, const struct actor *who,
			const struct rotation_report *r, const char *outcome, const char *reason,
			struct st_error *e)
{
	json_t *detail = json_pack("{s:i, s:i, s:I, s:i}", "from_version", r->from_version,
				   "to_version", r->to_version, "rewrapped", (json_int_t)r->rewrapped,
				   "destroyed_versions", r->destroyed_versions);
	struct audit_event ev = {.action = "keys.rotate", .outcome = outcome, .reason = reason,
				 .detail = detail};
	int rc = steward_audit(st, who, &ev, NULL, e);
	json_decref(detail);
	return rc;
}

static int rotate(struct steward *st, const char *new_passphrase,
		  struct rotation_report *out, struct st_error *e);

int steward_keys_rotate(struct steward *st, const struct actor *who,
			const char *new_passphrase, struct rotation_report *out,
			struct st_error *e)
{
	memset(out, 0, sizeof(*out));
	int rc = rotate(st, new_passphrase, out, e);
	struct st_error le = {0};
	int lrc = log_rotation(st, who, out, rc == ST_OK ? "allow" : "error",
			       rc == ST_OK ? NULL : (e ? e->message : "failed"), &le);
	if (rc == ST_OK && lrc != ST_OK) {
		if (e)
			*e = le;
		return lrc;
	}
	return rc;
}

static int rotate(struct steward *st, const char *new_passphrase,
		  struct rotation_report *out, struct st_error *e)
{
	int versions[64];
	size_t nv = keyring_versions(st->keys, versions, ARRAY_LEN(versions));
	out->from_version = versions[0];
	int rc;
	if (nv == 1) {
		/* A fresh rotation. The new key file is durable before any row
		 * refers to it, so an interruption never strands a row. */
		int v = 0;
		rc = keyring_add_version(st->keys, new_passphrase, &v, e);
		if (rc != ST_OK)
			return rc;
	}
	/* else: an earlier rotation was interrupted; finish it. */
	out->to_version = keyring_current(st->keys);
	struct store_conn *c;
	rc = store_acquire(st->db, &c, e);
	if (rc != ST_OK)
		return rc;
	for (int pass = 0; pass < 2 && rc == ST_OK; pass++) {
		for (;;) {
			int64_t n = 0;
			rc = rewrap_batch(st, c, pass == 1, 500, &n, e);
			if (rc != ST_OK || n == 0)
				break;
			out->rewrapped += n;
		}
	}
	if (rc == ST_OK) {
		/* Old wrapped copies may linger in freed pages and the WAL. */
		rc = store_purge_free_space(c, e);
	}
	store_release(c);
	if (rc != ST_OK)
		return rc;
	nv = keyring_versions(st->keys, versions, ARRAY_LEN(versions));
	for (size_t i = 0; i < nv; i++) {
		if (versions[i] == keyring_current(st->keys))
			continue;
		/* Destroy a version only once provably nothing refers to it. */
		int64_t users = 0, sys = 0;
		rc = store_acquire(st->db, &c, e);
		if (rc != ST_OK)
			return rc;
		rc = store_query_int(c, &users, e,
				     "SELECT COUNT(*) FROM data_key WHERE wrapped IS NOT NULL "
				     "AND kek_version = ?",
				     "i", (int64_t)versions[i]);
		if (rc == ST_OK)
			rc = store_query_int(c, &sys, e,
					     "SELECT COUNT(*) FROM system_key WHERE kek_version = ?",
					     "i", (int64_t)versions[i]);
		store_release(c);
		if (rc != ST_OK)
			return rc;
		if (users || sys)
			return err_set(e, ST_ECONFLICT, NULL,
				       "master key version %d is still used by %lld keys; "
				       "run the rotation again",
				       versions[i], (long long)(users + sys));
		rc = keyring_destroy_version(st->keys, versions[i], e);
		if (rc != ST_OK)
			return rc;
		out->destroyed_versions++;
	}
	return ST_OK;
}
