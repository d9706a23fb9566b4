/*
 * record.c - confidential records: create, read, update (a new version,
 * earlier ones kept), soft delete and crypto-shredding.
 *
 * Each record has its own data key, wrapped by the master key. Every
 * version's fields are sealed under it with associated data naming the
 * record id, version, subject and category, so a ciphertext copied to
 * another row, version or subject fails authentication. Every write is
 * checked against the data inventory before anything is stored, and happens
 * in one transaction: a refused or failed write leaves nothing behind.
 */
#include "access/access_internal.h"
#include "records/records_internal.h"

static void record_ad(int64_t id, int version, int64_t subject, const char *category,
		      struct buf *ad)
{
	buf_printf(ad, "steward/record|id=%lld|version=%d|subject=%lld|category=%s",
		   (long long)id, version, (long long)subject, category);
}

static void record_owner(int64_t id, char out[48])
{
	snprintf(out, 48, "record:%lld", (long long)id);
}

void record_row_release(struct record_row *r)
{
	free(r->sealed);
	r->sealed = NULL;
}

int record_row_load(struct store_conn *c, int64_t id, int version, struct record_row *r,
		    struct st_error *e)
{
	memset(r, 0, sizeof(*r));
	struct store_stmt *s;
	int rc = store_prepare(
		c,
		"SELECT r.subject_id, r.category, COALESCE(r.series_code, ''), r.source, "
		"r.data_key_id, r.current_version, r.created_at, r.created_by, r.updated_at, "
		"r.updated_by, r.deleted_at, v.version, v.sealed "
		"FROM record r JOIN record_version v ON v.record_id = r.id "
		"AND v.version = CASE WHEN ? > 0 THEN ? ELSE r.current_version END "
		"WHERE r.id = ?",
		&s, e);
	if (rc != ST_OK)
		return rc;
	store_bind(s, "iii", (int64_t)version, (int64_t)version, id);
	rc = store_step(s, e);
	if (rc == STORE_DONE) {
		store_done(s);
		if (version > 0)
			return err_setc(e, ST_ENOTFOUND, "version_not_found", "version",
					"record %lld has no version %d", (long long)id, version);
		return err_setc(e, ST_ENOTFOUND, "record_not_found", "id", "no record %lld",
				(long long)id);
	}
	if (rc != STORE_ROW) {
		store_done(s);
		return rc;
	}
	r->id = id;
	r->subject_id = store_col_int(s, 0);
	str_copy(r->category, sizeof(r->category), store_col_text(s, 1));
	str_copy(r->series, sizeof(r->series), store_col_text(s, 2));
	str_copy(r->source, sizeof(r->source), store_col_text(s, 3));
	r->data_key_id = store_col_int(s, 4);
	r->current_version = (int)store_col_int(s, 5);
	r->created_at = store_col_int(s, 6);
	r->created_by = store_col_int(s, 7);
	r->updated_at = store_col_int(s, 8);
	r->updated_by = store_col_int(s, 9);
	r->deleted_at = store_col_null(s, 10) ? 0 : store_col_int(s, 10);
	r->version = (int)store_col_int(s, 11);
	size_t len = 0;
	const void *p = store_col_blob(s, 12, &len);
	if (p) {
		r->sealed = xmalloc(len ? len : 1);
		memcpy(r->sealed, p, len);
		r->sealed_len = len;
	}
	store_done(s);
	return ST_OK;
}

int record_change_check(struct steward *st, struct store_conn *c, const struct actor *who,
			const struct record_row *r, const char *action, struct st_error *e)
{
	(void)st;
	(void)c;
	(void)who;
	if (r->id == 0) {
		/* the subject itself: its identifying fields, school or status */
		if (r->deleted_at)
			return err_setc(e, ST_ECONFLICT, "inactive", "id",
					"subject %lld is inactive; it cannot be %s unless it is "
					"reactivated",
					(long long)r->subject_id, action);
		return ST_OK;
	}
	if (r->deleted_at)
		return err_setc(e, ST_EGONE, "deleted", "id",
				"record %lld was deleted; it cannot be %s", (long long)r->id,
				action);
	if (!r->sealed)
		return err_setc(e, ST_EGONE, "destroyed", "id",
				"record %lld was destroyed; it cannot be %s", (long long)r->id,
				action);
	return ST_OK;
}

/* Decrypts a loaded row's fields: their canonical JSON text, in memory
 * that is wiped when freed (secure_free_plain). */
static int open_plain(struct steward *st, struct store_conn *c, const struct record_row *r,
		      char **plain, size_t *plainlen, struct st_error *e)
{
	if (!r->sealed)
		return err_setc(e, ST_EGONE, "destroyed", "id", "record %lld was destroyed",
				(long long)r->id);
	char owner[48];
	record_owner(r->id, owner);
	unsigned char *key = secure_scratch();
	int rc = datakey_load(st, c, r->data_key_id, owner, key, e);
	if (rc != ST_OK) {
		secure_wipe(key, KEY_BYTES);
		return rc;
	}
	struct buf ad = BUF_INIT;
	record_ad(r->id, r->version, r->subject_id, r->category, &ad);
	rc = unseal(key, ad.data, ad.len, r->sealed, r->sealed_len, plain, plainlen);
	secure_wipe(key, KEY_BYTES);
	buf_release(&ad);
	if (rc != ST_OK)
		return err_setc(e, ST_ECRYPTO, "integrity_error", NULL,
				"record %lld version %d failed its integrity check: it was "
				"altered or moved",
				(long long)r->id, r->version);
	return ST_OK;
}

static int parse_plain(const struct record_row *r, const char *plain, size_t plainlen,
		       json_t **fields, struct st_error *e)
{
	if (json_parse_object(plain, plainlen, fields, e) != ST_OK)
		return err_set(e, ST_EINTERNAL, NULL, "record %lld holds malformed data",
			       (long long)r->id);
	return ST_OK;
}

/* Decrypts a loaded row into a fields object. */
static int open_fields(struct steward *st, struct store_conn *c, const struct record_row *r,
		       json_t **fields, struct st_error *e)
{
	char *plain = NULL;
	size_t plainlen = 0;
	int rc = open_plain(st, c, r, &plain, &plainlen, e);
	if (rc == ST_OK)
		rc = parse_plain(r, plain, plainlen, fields, e);
	secure_free_plain(plain, plainlen);
	return rc;
}

/* Seals fields as version `version` of the record and stores it. */
static int store_version(struct steward *st, struct store_conn *c, int64_t id, int version,
			 int64_t subject, const char *category, int64_t data_key_id,
			 const unsigned char *key, const json_t *fields, int inventory_version,
			 const struct actor *who, struct st_error *e)
{
	(void)st;
	(void)data_key_id;
	char *plain = json_canonical(fields);
	size_t plainlen = strlen(plain);
	struct buf ad = BUF_INIT, sealed = BUF_INIT;
	record_ad(id, version, subject, category, &ad);
	seal(key, ad.data, ad.len, plain, plainlen, &sealed);
	secure_free_plain(plain, plainlen);
	int rc = store_run(c, e,
			   "INSERT INTO record_version (record_id, version, inventory_version, "
			   "sealed, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)",
			   "iiibii", id, (int64_t)version, (int64_t)inventory_version, sealed.data,
			   sealed.len, time_now(), who->user_id);
	buf_release(&ad);
	buf_release(&sealed);
	return rc;
}

static int subject_kind_of(struct store_conn *c, int64_t subject, enum subject_kind *kind,
			   struct st_error *e)
{
	struct store_stmt *s;
	int rc = store_prepare(c, "SELECT kind FROM subject WHERE id = ?", &s, e);
	if (rc != ST_OK)
		return rc;
	store_bind(s, "i", subject);
	rc = store_step(s, e);
	if (rc == STORE_ROW) {
		rc = subject_kind_parse(store_col_text(s, 0), kind) == ST_OK
			     ? ST_OK
			     : err_set(e, ST_EINTERNAL, NULL, "bad subject kind");
	} else if (rc == STORE_DONE) {
		rc = err_setc(e, ST_ENOTFOUND, "subject_not_found", "subject", "no subject %lld",
			      (long long)subject);
	}
	store_done(s);
	return rc;
}

/* Commits a logged change; if the commit fails after its event was
 * logged, a second event records that the change did not happen. */
static int commit_or_report(struct steward *st, struct store_conn *c, const struct actor *who,
			    const struct audit_event *done, struct st_error *e)
{
	int rc = store_commit(c, e);
	if (rc != ST_OK) {
		struct audit_event ev = *done;
		ev.outcome = "error";
		ev.reason = "the change was logged but could not be committed; it did not happen";
		struct st_error e2 = {0};
		if (steward_audit(st, who, &ev, NULL, &e2) != ST_OK)
			fprintf(stderr, "steward: cannot log a failed commit: %s\n", e2.message);
	}
	return rc;
}

int record_create(struct steward *st, const struct actor *who, const struct record_input *in,
		  int64_t *id, struct st_error *e)
{
	if (!in->category || !*in->category)
		return err_setc(e, ST_EINVAL, "missing_field", "category",
				"\"category\" is required");
	if (in->source && (strlen(in->source) > 120 ||
			   !str_is_clean_utf8(in->source, strlen(in->source))))
		return err_setc(e, ST_EINVAL, "bad_value", "source",
				"\"source\" must be at most 120 printable characters");
	struct inventory *inv = steward_inventory(st);
	const struct inv_category *cat = inventory_category(inv, in->category);
	int rc;
	if (!cat) {
		rc = err_setc(e, ST_EINVAL, "unknown_category", "category",
			      "category \"%s\" is not declared in the data inventory",
			      in->category);
		inventory_unref(inv);
		return rc;
	}
	rc = inventory_check_fields(cat, in->fields, false, e);
	if (rc == ST_OK)
		rc = access_purpose_check(in->purpose, e);
	/* the retention series follows from the category (the inventory and
	 * the district's schedule decide it), never from whoever writes */
	if (rc == ST_OK && in->series && !str_eq(in->series, cat->series ? cat->series : ""))
		rc = err_setc(e, ST_EINVAL, "bad_value", "series",
			      "%s records are kept under retention series %s (the data inventory "
			      "decides the series)",
			      cat->name, cat->series ? cat->series : "(none)");
	if (rc != ST_OK) {
		inventory_unref(inv);
		return rc;
	}
	const char *series = cat->series;
	struct store_conn *c;
	rc = store_acquire(st->db, &c, e);
	if (rc != ST_OK) {
		inventory_unref(inv);
		return rc;
	}
	unsigned char *key = secure_scratch();
	int64_t rid = 0, kid = 0, exists = 0;
	/* Decided first, on the subject named, whether it exists or not: a
	 * subject that does not exist has no relationships, so whoever may not
	 * act on every subject is refused as for one out of reach, and nobody
	 * learns which ids exist but those who may. */
	char *written = json_key_list(in->fields);
	struct audit_event ev = {.action = "record.create", .subject_id = in->subject_id,
				 .category = in->category, .written = written,
				 .purpose = in->purpose && *in->purpose ? in->purpose : NULL};
	struct decision dec;
	struct policy *pol = NULL;
	rc = access_check(st, who, ACT_CREATE, in->subject_id, in->category, &ev, &dec, &pol, e);
	enum subject_kind kind0;
	if (rc == ST_OK)
		rc = subject_kind_of(c, in->subject_id, &kind0, e);
	if (rc != ST_OK)
		goto out;
	rc = store_begin(c, e);
	if (rc != ST_OK)
		goto out;
	enum subject_kind kind;
	rc = subject_kind_of(c, in->subject_id, &kind, e);
	if (rc != ST_OK)
		goto fail;
	if (!(cat->subject_kinds & (1u << kind))) {
		rc = err_setc(e, ST_EINVAL, "wrong_subject_kind", "subject",
			      "category \"%s\" does not apply to a %s", cat->name,
			      subject_kind_name(kind));
		goto fail;
	}
	if (series) {
		rc = store_query_int(c, &exists, e,
				     "SELECT COUNT(*) FROM retention_series WHERE code = ?", "t",
				     series);
		if (rc != ST_OK)
			goto fail;
		if (!exists) {
			rc = err_setc(e, ST_EINVAL, "unknown_series", "series",
				      "no retention series \"%s\"", series);
			goto fail;
		}
	}
	struct store_stmt *s;
	rc = store_prepare(c,
			   "INSERT INTO record (subject_id, category, series_code, source, "
			   "current_version, created_at, created_by, updated_at, updated_by) "
			   "VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?) RETURNING id",
			   &s, e);
	if (rc != ST_OK)
		goto fail;
	int64_t now = time_now();
	store_bind(s, "itttiiii", in->subject_id, in->category, series,
		   in->source ? in->source : "steward", now, who->user_id, now, who->user_id);
	rc = store_step(s, e);
	if (rc == STORE_ROW) {
		rid = store_col_int(s, 0);
		rc = ST_OK;
	}
	store_done(s);
	if (rc != ST_OK)
		goto fail;
	char owner[48];
	record_owner(rid, owner);
	rc = datakey_create(st, c, owner, key, &kid, e);
	if (rc == ST_OK)
		rc = store_run(c, e, "UPDATE record SET data_key_id = ? WHERE id = ?", "ii", kid,
			       rid);
	if (rc == ST_OK)
		rc = store_version(st, c, rid, 1, in->subject_id, in->category, kid, key,
				   in->fields, inv->version, who, e);
	if (rc != ST_OK)
		goto fail;
	/* Logged before it is committed: no write exists without its event. */
	ev.outcome = "allow";
	ev.record_id = rid;
	rc = steward_audit(st, who, &ev, NULL, e);
	if (rc != ST_OK)
		goto fail;
	rc = commit_or_report(st, c, who, &ev, e);
	if (rc == ST_OK)
		*id = rid;
	goto out;
fail:
	store_rollback(c);
out:
	policy_unref(pol); /* the event's role and rule name point into it */
	free(written);
	secure_wipe(key, KEY_BYTES);
	store_release(c);
	inventory_unref(inv);
	return rc;
}

static json_t *row_json(const struct record_row *r, const struct inventory *inv)
{
	json_t *o = json_object();
	char ts[32];
	json_object_set_new(o, "id", json_integer(r->id));
	json_object_set_new(o, "subject", json_integer(r->subject_id));
	json_object_set_new(o, "category", json_string(r->category));
	const struct inv_category *cat = inventory_category(inv, r->category);
	if (cat)
		json_object_set_new(o, "classification",
				    json_string(classification_name(cat->classification)));
	json_object_set_new(o, "version", json_integer(r->version));
	json_object_set_new(o, "current_version", json_integer(r->current_version));
	json_object_set_new(o, "series", r->series[0] ? json_string(r->series) : json_null());
	json_object_set_new(o, "source", json_string(r->source));
	time_format(r->created_at, ts);
	json_object_set_new(o, "created_at", json_string(ts));
	json_object_set_new(o, "created_by", json_integer(r->created_by));
	time_format(r->updated_at, ts);
	json_object_set_new(o, "updated_at", json_string(ts));
	json_object_set_new(o, "updated_by", json_integer(r->updated_by));
	return o;
}

/* The top-level keys of a JSON object as json_canonical writes it (compact,
 * keys sorted), comma-separated into keys, as json_key_list lists them.
 * False if the text is not of that form or a key holds an escape: the
 * caller parses it instead. */
bool record_canonical_keys(const char *s, size_t len, struct buf *keys)
{
	size_t i = 0;
	if (len < 2 || s[0] != '{' || s[len - 1] != '}')
		return false;
	i = 1;
	if (len == 2)
		return true;
	for (bool first = true;; first = false) {
		if (i >= len || s[i] != '"')
			return false;
		size_t k = ++i;
		while (i < len && s[i] != '"') {
			if (s[i] == '\\')
				return false;
			i++;
		}
		if (i + 1 >= len || s[i + 1] != ':')
			return false;
		if (i == k)
			return false; /* an empty name: not one a record holds */
		if (!first)
			buf_putc(keys, ',');
		buf_append(keys, s + k, i - k);
		i += 2;
		/* the value: nested objects and arrays, strings with escapes */
		int depth = 0;
		bool in_str = false;
		for (; i < len; i++) {
			char ch = s[i];
			if (in_str) {
				if (ch == '\\')
					i++;
				else if (ch == '"')
					in_str = false;
				continue;
			}
			if (ch == '"')
				in_str = true;
			else if (ch == '{' || ch == '[')
				depth++;
			else if ((ch == '}' || ch == ']') && depth > 0)
				depth--;
			else if (depth == 0 && (ch == ',' || ch == '}'))
				break;
		}
		if (i >= len || in_str || depth != 0)
			return false;
		if (s[i] == '}')
			return i == len - 1;
		i++; /* ',' */
	}
}

/* JSON text into b with every character outside ASCII written as a \u
 * escape (as the server's answers are), from valid UTF-8 JSON. */
void record_json_ascii(struct buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	while (p < end) {
		const unsigned char *run = p;
		while (p < end && *p < 0x80)
			p++;
		buf_append(b, (const char *)run, (size_t)(p - run));
		if (p == end)
			break;
		/* a sequence that is not well-formed UTF-8 (a stray or truncated
		 * one, an overlong form, a surrogate) becomes U+FFFD and only its
		 * first byte is consumed: nothing after it is ever swallowed */
		uint32_t cp;
		int n;
		if (*p >= 0xf0 && *p <= 0xf4)
			cp = *p & 0x07, n = 3;
		else if (*p >= 0xe0 && *p <= 0xef)
			cp = *p & 0x0f, n = 2;
		else if (*p >= 0xc2 && *p <= 0xdf)
			cp = *p & 0x1f, n = 1;
		else
			n = -1, cp = 0;
		bool ok = n > 0 && end - p > n;
		for (int k = 1; ok && k <= n; k++)
			ok = (p[k] & 0xc0) == 0x80;
		if (ok) {
			for (int k = 1; k <= n; k++)
				cp = (cp << 6) | (p[k] & 0x3f);
			static const uint32_t least[] = {0, 0x80, 0x800, 0x10000};
			ok = cp >= least[n] && cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff);
		}
		if (ok) {
			p += n + 1;
		} else {
			cp = 0xfffd;
			p++;
		}
		uint32_t units[2] = {cp, 0};
		int nu = 1;
		if (cp > 0xffff) {
			cp -= 0x10000;
			units[0] = 0xd800 | (cp >> 10);
			units[1] = 0xdc00 | (cp & 0x3ff);
			nu = 2;
		}
		for (int k = 0; k < nu; k++) {
			char u[6] = {'\\', 'u', hex[(units[k] >> 12) & 15], hex[(units[k] >> 8) & 15],
				     hex[(units[k] >> 4) & 15], hex[units[k] & 15]};
			buf_append(b, u, sizeof(u));
		}
	}
}

static void text_string(struct buf *b, const char *key, const char *v)
{
	buf_printf(b, ",\"%s\":", key);
	struct buf t = BUF_INIT;
	buf_json_string(&t, v);
	record_json_ascii(b, t.data, t.len);
	buf_release(&t);
}

/* The answer to a read as JSON text: the same object, in the same order,
 * as the tree read_impl builds otherwise. */
static void record_text(struct buf *b, const struct record_row *r, const struct inventory *inv,
			const char *fields, size_t fields_len, const struct buf *masked,
			const struct rule *rule, int64_t seq)
{
	char ts[32];
	buf_printf(b, "{\"id\":%lld,\"subject\":%lld", (long long)r->id,
		   (long long)r->subject_id);
	text_string(b, "category", r->category);
	const struct inv_category *cat = inventory_category(inv, r->category);
	if (cat)
		text_string(b, "classification", classification_name(cat->classification));
	buf_printf(b, ",\"version\":%d,\"current_version\":%d", r->version, r->current_version);
	if (r->series[0])
		text_string(b, "series", r->series);
	else
		buf_puts(b, ",\"series\":null");
	text_string(b, "source", r->source);
	time_format(r->created_at, ts);
	text_string(b, "created_at", ts);
	buf_printf(b, ",\"created_by\":%lld", (long long)r->created_by);
	time_format(r->updated_at, ts);
	text_string(b, "updated_at", ts);
	buf_printf(b, ",\"updated_by\":%lld,\"fields\":", (long long)r->updated_by);
	record_json_ascii(b, fields, fields_len);
	buf_puts(b, ",\"masked\":[");
	const char *mp = masked->data;
	bool first = true;
	while (mp && *mp) {
		const char *mend = strchr(mp, ',');
		size_t n = mend ? (size_t)(mend - mp) : strlen(mp);
		char *name = xstrndup(mp, n);
		if (!first)
			buf_putc(b, ',');
		struct buf t = BUF_INIT;
		buf_json_string(&t, name);
		record_json_ascii(b, t.data, t.len);
		buf_release(&t);
		free(name);
		first = false;
		mp += n + (mend ? 1 : 0);
	}
	buf_putc(b, ']');
	if (rule && rule->disclosure)
		buf_puts(b, ",\"disclosure_recorded\":true");
	buf_printf(b, ",\"audit_seq\":%lld}", (long long)seq);
}

static int read_impl(struct steward *st, const struct actor *who, int64_t id, int version,
		     const char *purpose, json_t **out, char **text, size_t *text_len,
		     struct st_error *e)
{
	struct store_conn *c;
	int rc = store_acquire(st->db, &c, e);
	/* the row and its data key from one snapshot, in one read transaction
	 * (ended when the connection is released) */
	if (rc == ST_OK && (rc = store_begin_read(c, e)) != ST_OK)
		store_release(c);
	if (rc != ST_OK)
		return rc;
	struct record_row r = {0};
	json_t *fields = NULL;
	struct policy *pol = NULL;
	struct decision dec;
	rc = record_row_load(c, id, version, &r, e);
	bool exists = rc != ST_ENOTFOUND;
	if (rc == ST_ENOTFOUND && version > 0) {
		/* Whether a version exists is the record's business: decide on
		 * the record before saying (else "no version 9" would tell anyone
		 * how often any record was changed). */
		struct st_error e2 = {0};
		int lrc = record_row_load(c, id, 0, &r, &e2);
		exists = lrc != ST_ENOTFOUND;
		if (lrc != ST_OK && exists) {
			rc = lrc;
			if (e)
				*e = e2;
		}
		if (lrc == ST_OK) {
			struct audit_event ev = {.action = "record.read", .record_id = id,
						 .subject_id = r.subject_id, .category = r.category,
						 .purpose = purpose};
			int drc = access_check(st, who, ACT_READ, r.subject_id, r.category, &ev, &dec,
					       &pol, &e2);
			record_row_release(&r);
			if (drc != ST_OK) {
				store_release(c);
				if (e)
					*e = e2;
				return drc;
			}
			policy_unref(pol);
		}
	}
	if (!exists) {
		/* whether it exists is told only to those who may know */
		struct audit_event ev = {.action = "record.read", .purpose = purpose};
		rc = access_record_unknown(st, who, id, &ev, e);
	}
	if (rc != ST_OK) {
		store_release(c);
		return rc;
	}
	struct audit_event ev = {.action = "record.read", .record_id = id,
				 .subject_id = r.subject_id, .category = r.category,
				 .purpose = purpose};
	/* The decision first: a refusal is logged and nothing is decrypted. */
	rc = access_check(st, who, ACT_READ, r.subject_id, r.category, &ev, &dec, &pol, e);
	if (rc != ST_OK) {
		store_release(c);
		record_row_release(&r);
		return rc;
	}
	if (r.deleted_at)
		rc = err_setc(e, ST_EGONE, "deleted", "id", "record %lld was deleted",
			      (long long)id);
	/* Decrypted into memory here, but returned only once the event that
	 * records this read is durable (or, appended on the actor's ticket,
	 * held back by the caller until the ticket says so). */
	char *plain = NULL;
	size_t plainlen = 0;
	if (rc == ST_OK)
		rc = open_plain(st, c, &r, &plain, &plainlen, e);
	store_release(c);
	char *returned = NULL;
	struct buf masked = BUF_INIT;
	const struct rule *rule = NULL;
	/* As text, when the rule masks nothing the fields are served as they
	 * were sealed (canonical JSON) and never parsed; otherwise they are
	 * parsed and masked. */
	bool verbatim = false;
	if (rc == ST_OK) {
		rule = dec.rule >= 0 ? &pol->rules[dec.rule] : NULL;
		struct buf keys = BUF_INIT;
		verbatim = text && (!rule || rule->nmasks == 0) &&
			   record_canonical_keys(plain, plainlen, &keys);
		if (verbatim) {
			returned = buf_detach(&keys, NULL);
		} else {
			buf_release(&keys);
			rc = parse_plain(&r, plain, plainlen, &fields, e);
			if (rc == ST_OK) {
				mask_fields(rule, fields, st->blind_key, &masked);
				returned = json_key_list(fields);
			}
		}
	}
	if (rc == ST_OK && rule && rule->disclosure)
		ev.detail = json_pack("{s:b}", "disclosure", 1);
	ev.outcome = rc == ST_OK ? "allow" : "error";
	ev.returned = returned;
	ev.masked = masked.len ? masked.data : NULL;
	if (rc != ST_OK)
		ev.reason = e ? e->message : "failed";
	struct st_error ae = {0};
	int64_t seq = 0;
	int arc = steward_audit(st, who, &ev, &seq, &ae);
	json_decref((json_t *)ev.detail);
	free(returned);
	if (arc != ST_OK) {
		rc = arc;
		if (e)
			*e = ae;
	}
	if (rc == ST_OK && text) {
		struct buf b = BUF_INIT;
		/* room for the whole answer at once: no copy of the fields is
		 * left behind by growing (non-ASCII text grows up to 6-fold) */
		if (verbatim) {
			buf_grow(&b, 6 * plainlen + 1024);
			record_text(&b, &r, pol->inv, plain, plainlen, &masked, rule, seq);
		} else {
			char *canon = json_canonical(fields);
			buf_grow(&b, 6 * strlen(canon) + 1024);
			record_text(&b, &r, pol->inv, canon, strlen(canon), &masked, rule, seq);
			secure_free_plain(canon, strlen(canon));
		}
		*text = buf_detach(&b, text_len);
	} else if (rc == ST_OK) {
		json_t *o = row_json(&r, pol->inv);
		json_object_set_new(o, "fields", fields);
		fields = NULL;
		json_t *ml = json_array();
		const char *mp = masked.data;
		while (mp && *mp) {
			const char *mend = strchr(mp, ',');
			size_t n = mend ? (size_t)(mend - mp) : strlen(mp);
			json_array_append_new(ml, json_stringn(mp, n));
			mp += n + (mend ? 1 : 0);
		}
		json_object_set_new(o, "masked", ml);
		if (rule && rule->disclosure)
			json_object_set_new(o, "disclosure_recorded", json_true());
		json_object_set_new(o, "audit_seq", json_integer(seq));
		*out = o;
	}
	json_decref(fields);
	if (plain)
		secure_free_plain(plain, plainlen);
	buf_release(&masked);
	record_row_release(&r);
	policy_unref(pol);
	return rc;
}

int record_read(struct steward *st, const struct actor *who, int64_t id,
		const char *purpose, json_t **out, struct st_error *e)
{
	return read_impl(st, who, id, 0, purpose, out, NULL, NULL, e);
}

int record_read_text(struct steward *st, const struct actor *who, int64_t id, int version,
		     const char *purpose, char **text, size_t *len, struct st_error *e)
{
	if (version < 0)
		return err_setc(e, ST_EINVAL, "bad_value", "version",
				"a version number starts at 1");
	return read_impl(st, who, id, version, purpose, NULL, text, len, e);
}

int record_read_version(struct steward *st, const struct actor *who, int64_t id,
			int version, const char *purpose, json_t **out, struct st_error *e)
{
	if (version < 1)
		return err_setc(e, ST_EINVAL, "bad_value", "version",
				"a version number starts at 1");
	return read_impl(st, who, id, version, purpose, out, NULL, NULL, e);
}

int record_update(struct steward *st, const struct actor *who, int64_t id,
		  const char *purpose, const json_t *fields, int *new_version,
		  struct st_error *e)
{
	int rc = access_purpose_check(purpose, e);
	if (rc != ST_OK)
		return rc;
	struct inventory *inv = steward_inventory(st);
	struct store_conn *c;
	rc = store_acquire(st->db, &c, e);
	if (rc != ST_OK) {
		inventory_unref(inv);
		return rc;
	}
	struct record_row r = {0};
	json_t *merged = NULL;
	char *written = NULL;
	struct policy *pol = NULL;
	unsigned char *key = secure_scratch();
	rc = store_begin(c, e);
	if (rc != ST_OK)
		goto out;
	rc = record_row_load(c, id, 0, &r, e);
	written = json_key_list(fields);
	if (rc == ST_ENOTFOUND) {
		struct audit_event uev = {.action = "record.update", .written = written};
		rc = access_record_unknown(st, who, id, &uev, e);
	}
	if (rc != ST_OK)
		goto fail;
	struct audit_event ev = {.action = "record.update", .record_id = id,
				 .subject_id = r.subject_id, .category = r.category,
				 .written = written, .purpose = purpose && *purpose ? purpose : NULL};
	struct decision dec;
	rc = access_check(st, who, ACT_UPDATE, r.subject_id, r.category, &ev, &dec, &pol, e);
	if (rc == ST_OK)
		rc = record_change_check(st, c, who, &r, "updated", e);
	if (rc != ST_OK)
		goto fail;
	const struct inv_category *cat = inventory_category(inv, r.category);
	if (!cat) {
		rc = err_setc(e, ST_ECONFLICT, "category_retired", "category",
			      "category \"%s\" is no longer in the data inventory; the "
			      "record cannot be changed",
			      r.category);
		goto fail;
	}
	rc = inventory_check_fields(cat, fields, true, e);
	if (rc != ST_OK)
		goto fail;
	rc = open_fields(st, c, &r, &merged, e);
	if (rc != ST_OK)
		goto fail;
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)fields, k, v) {
		if (json_is_null(v))
			json_object_del(merged, k);
		else
			json_object_set(merged, k, v);
	}
	/* The whole new version must satisfy the inventory (e.g. a field the
	 * inventory no longer declares cannot be carried forward). */
	rc = inventory_check_fields(cat, merged, false, e);
	if (rc != ST_OK)
		goto fail;
	char owner[48];
	record_owner(id, owner);
	rc = datakey_load(st, c, r.data_key_id, owner, key, e);
	if (rc != ST_OK)
		goto fail;
	int nv = r.current_version + 1;
	rc = store_version(st, c, id, nv, r.subject_id, r.category, r.data_key_id, key, merged,
			   inv->version, who, e);
	if (rc == ST_OK)
		rc = store_run(c, e,
			       "UPDATE record SET current_version = ?, updated_at = ?, "
			       "updated_by = ? WHERE id = ? AND current_version = ?",
			       "iiiii", (int64_t)nv, time_now(), who->user_id, id,
			       (int64_t)r.current_version);
	if (rc == ST_OK && store_changes(c) != 1)
		rc = err_set(e, ST_ECONFLICT, "id", "record %lld changed meanwhile; retry",
			     (long long)id);
	if (rc == ST_OK) {
		ev.outcome = "allow";
		rc = steward_audit(st, who, &ev, NULL, e);
	}
	if (rc == ST_OK)
		rc = commit_or_report(st, c, who, &ev, e);
	if (rc != ST_OK)
		goto fail;
	if (rc == ST_OK && new_version)
		*new_version = nv;
	goto out;
fail:
	store_rollback(c);
out:
	policy_unref(pol);
	free(written);
	secure_wipe(key, KEY_BYTES);
	json_decref(merged);
	record_row_release(&r);
	store_release(c);
	inventory_unref(inv);
	return rc;
}

int record_delete(struct steward *st, const struct actor *who, int64_t id,
		  const char *purpose, struct st_error *e)
{
	int rc = access_purpose_check(purpose, e);
	if (rc != ST_OK)
		return rc;
	struct store_conn *c;
	rc = store_acquire(st->db, &c, e);
	if (rc != ST_OK)
		return rc;
	struct record_row r = {0};
	rc = store_begin(c, e);
	if (rc != ST_OK)
		goto out;
	rc = record_row_load(c, id, 0, &r, e);
	struct audit_event ev = {.action = "record.delete", .record_id = id,
				 .subject_id = r.subject_id, .category = r.category,
				 .purpose = purpose && *purpose ? purpose : NULL};
	if (rc == ST_ENOTFOUND) {
		struct audit_event uev = {.action = "record.delete"};
		rc = access_record_unknown(st, who, id, &uev, e);
	}
	struct decision dec;
	struct policy *pol = NULL;
	if (rc == ST_OK)
		rc = access_check(st, who, ACT_DELETE, r.subject_id, r.category, &ev, &dec, &pol, e);
	if (rc == ST_OK)
		rc = record_change_check(st, c, who, &r, "deleted", e);
	if (rc == ST_OK)
		rc = store_run(c, e,
			       "UPDATE record SET deleted_at = ?, deleted_by = ? "
			       "WHERE id = ? AND deleted_at IS NULL",
			       "iii", time_now(), who->user_id, id);
	ev.outcome = "allow";
	if (rc == ST_OK)
		rc = steward_audit(st, who, &ev, NULL, e);
	if (rc == ST_OK)
		rc = commit_or_report(st, c, who, &ev, e);
	else
		store_rollback(c);
	policy_unref(pol);
out:
	record_row_release(&r);
	store_release(c);
	return rc;
}

int record_shred(struct steward *st, const struct actor *who, int64_t id,
		 struct st_error *e)
{
	struct store_conn *c;
	int rc = store_acquire(st->db, &c, e);
	if (rc != ST_OK)
		return rc;
	struct record_row r = {0};
	rc = store_begin(c, e);
	if (rc != ST_OK)
		goto out;
	rc = record_row_load(c, id, 0, &r, e);
	/* destroying is the strongest form of deletion: the same decision */
	struct audit_event ev = {.action = "record.shred", .record_id = id,
				 .subject_id = r.subject_id, .category = r.category,
				 .reason = "data key destroyed (cryptographic erase)"};
	if (rc == ST_ENOTFOUND) {
		struct audit_event uev = {.action = "record.shred"};
		rc = access_record_unknown(st, who, id, &uev, e);
	}
	struct decision dec;
	struct policy *pol = NULL;
	if (rc == ST_OK)
		rc = access_check(st, who, ACT_DELETE, r.subject_id, r.category, &ev, &dec, &pol, e);
	if (rc == ST_OK && !r.sealed)
		rc = err_setc(e, ST_EGONE, "destroyed", "id", "record %lld is already destroyed",
			      (long long)id);
	/* A soft-deleted record may still be shredded: that is how disposal
	 * finishes what deletion began. */
	if (rc == ST_OK) {
		r.deleted_at = 0;
		rc = record_change_check(st, c, who, &r, "destroyed", e);
	}
	if (rc == ST_OK)
		rc = datakey_destroy(st, c, r.data_key_id, e);
	/* The ciphertexts go too; copies of them in backups stay unreadable
	 * because the only key that opens them is gone. */
	if (rc == ST_OK)
		rc = store_run(c, e, "UPDATE record_version SET sealed = NULL WHERE record_id = ?",
			       "i", id);
	if (rc == ST_OK)
		rc = store_run(c, e,
			       "UPDATE record SET deleted_at = COALESCE(deleted_at, ?), "
			       "deleted_by = COALESCE(deleted_by, ?) WHERE id = ?",
			       "iii", time_now(), who->user_id, id);
	ev.outcome = "allow";
	if (rc == ST_OK)
		rc = steward_audit(st, who, &ev, NULL, e);
	if (rc == ST_OK)
		rc = commit_or_report(st, c, who, &ev, e);
	else
		store_rollback(c);
	if (rc == ST_OK)
		rc = store_purge_free_space(c, e);
	policy_unref(pol);
out:
	record_row_release(&r);
	store_release(c);
	return rc;
}
