/*
 * subject.c - subjects: the students, parents and guardians, employees,
 * applicants and others that records are about. Identifying fields are
 * sealed under the subject's own data key; the external id and names are
 * findable only through blind indexes.
 */
#include "access/access_internal.h"
#include "people/people.h"
#include "records/records_internal.h"

static int check_text(const char *field, const char *v, size_t max, bool required,
		      struct st_error *e)
{
	if (!v || !*v) {
		if (required)
			return err_setc(e, ST_EINVAL, "missing_field", field, "\"%s\" is required",
					field);
		return ST_OK;
	}
	size_t n = strlen(v);
	if (n > max)
		return err_setc(e, ST_EINVAL, "too_long", field,
				"\"%s\" is longer than %zu characters", field, max);
	if (!str_is_clean_utf8(v, n) || strchr(v, '\n') || strchr(v, '\r') || strchr(v, '\t'))
		return err_setc(e, ST_EINVAL, "bad_characters", field,
				"\"%s\" contains control characters", field);
	return ST_OK;
}

static void subject_ad(int64_t id, const char *kind, struct buf *ad)
{
	buf_printf(ad, "steward/subject|id=%lld|kind=%s", (long long)id, kind);
}

/* "family|given", each part without the spaces around it (blind_index
 * then collapses the spaces inside), so "  Oriane" finds "Oriane". */
static void fullname_key(const char *family, const char *given, struct buf *out)
{
	const char *parts[2] = {family, given};
	for (int i = 0; i < 2; i++) {
		const char *p = parts[i];
		while (*p == ' ' || *p == '\t')
			p++;
		size_t n = strlen(p);
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (i)
			buf_putc(out, '|');
		buf_append(out, p, n);
	}
}

void subject_indexes(struct steward *st, const char *kind, const char *external_id,
		     const char *given_name, const char *family_name,
		     unsigned char ext[HASH_BYTES], unsigned char fam[HASH_BYTES],
		     unsigned char full[HASH_BYTES])
{
	char purpose[64];
	snprintf(purpose, sizeof(purpose), "subject.external_id.%s", kind);
	blind_index(st, purpose, external_id, ext);
	blind_index(st, "subject.family_name", family_name, fam);
	struct buf fk = BUF_INIT;
	fullname_key(family_name, given_name, &fk);
	blind_index(st, "subject.full_name", fk.data, full);
	secure_free_plain(fk.data, fk.cap);
}

void subject_search_index(struct steward *st, const char *family_name, const char *given_name,
			  unsigned char out[HASH_BYTES])
{
	if (!given_name) {
		blind_index(st, "subject.family_name", family_name, out);
		return;
	}
	struct buf fk = BUF_INIT;
	fullname_key(family_name, given_name, &fk);
	blind_index(st, "subject.full_name", fk.data, out);
	secure_free_plain(fk.data, fk.cap);
}

int subject_create(struct steward *st, const struct actor *who,
		   const struct subject_input *in, int64_t *id, struct st_error *e)
{
	enum subject_kind kind;
	if (!in->kind)
		return err_setc(e, ST_EINVAL, "missing_field", "kind", "\"kind\" is required");
	if (subject_kind_parse(in->kind, &kind) != ST_OK)
		return err_setc(e, ST_EINVAL, "bad_value", "kind",
				"\"kind\" must be student, parent_guardian, employee, "
				"applicant or other");
	int rc;
	if ((rc = check_text("external_id", in->external_id, 64, true, e)) ||
	    (rc = check_text("given_name", in->given_name, 100, true, e)) ||
	    (rc = check_text("family_name", in->family_name, 100, true, e)))
		return rc;
	struct audit_event deny_ev = {.action = "subject.create"};
	if ((rc = access_admin(st, who, ADM_SUBJECTS, &deny_ev, e)) != ST_OK)
		return rc;
	int64_t dob = 0;
	if (in->date_of_birth &&
	    (strlen(in->date_of_birth) != 10 || time_parse(in->date_of_birth, &dob) != ST_OK))
		return err_setc(e, ST_EINVAL, "wrong_type", "date_of_birth",
				"\"date_of_birth\" must be a date written YYYY-MM-DD");

	unsigned char ext[HASH_BYTES], fam[HASH_BYTES], full[HASH_BYTES];
	subject_indexes(st, in->kind, in->external_id, in->given_name, in->family_name, ext, fam,
			full);

	json_t *doc = json_object();
	json_object_set_new(doc, "external_id", json_string(in->external_id));
	json_object_set_new(doc, "given_name", json_string(in->given_name));
	json_object_set_new(doc, "family_name", json_string(in->family_name));
	if (in->date_of_birth)
		json_object_set_new(doc, "date_of_birth", json_string(in->date_of_birth));
	char *plain = json_canonical(doc);
	size_t plainlen = strlen(plain);
	json_decref(doc);

	struct store_conn *c;
	rc = store_acquire(st->db, &c, e);
	if (rc != ST_OK) {
		secure_free_plain(plain, plainlen);
		return rc;
	}
	unsigned char *key = secure_scratch();
	struct buf ad = BUF_INIT, sealed = BUF_INIT;
	int64_t org = 0, sid = 0, kid = 0;
	rc = store_begin(c, e);
	if (rc != ST_OK)
		goto out;
	if (in->organization && (rc = org_find(c, in->organization, &org, e)) != ST_OK)
		goto fail;
	struct store_stmt *s;
	rc = store_prepare(c,
			   "INSERT INTO subject (kind, organization_id, external_index, "
			   "family_index, fullname_index, sealed, created_at, created_by, "
			   "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
			   &s, e);
	if (rc != ST_OK)
		goto fail;
	int64_t now = time_now();
	store_bind_text(s, 1, in->kind);
	if (org)
		store_bind_int(s, 2, org);
	else
		store_bind_null(s, 2);
	store_bind_blob(s, 3, ext, HASH_BYTES);
	store_bind_blob(s, 4, fam, HASH_BYTES);
	store_bind_blob(s, 5, full, HASH_BYTES);
	store_bind_blob(s, 6, "", 0);
	store_bind_int(s, 7, now);
	store_bind_int(s, 8, who->user_id);
	store_bind_int(s, 9, now);
	rc = store_step(s, e);
	if (rc == STORE_ROW) {
		sid = store_col_int(s, 0);
		rc = ST_OK;
	} else if (rc == ST_ECONFLICT) {
		rc = err_setc(e, ST_ECONFLICT, "exists", "external_id",
			      "a %s with this external_id already exists", in->kind);
	}
	store_done(s);
	if (rc != ST_OK)
		goto fail;
	char owner[48];
	snprintf(owner, sizeof(owner), "subject:%lld", (long long)sid);
	rc = datakey_create(st, c, owner, key, &kid, e);
	if (rc != ST_OK)
		goto fail;
	subject_ad(sid, in->kind, &ad);
	seal(key, ad.data, ad.len, plain, plainlen, &sealed);
	rc = store_run(c, e, "UPDATE subject SET data_key_id = ?, sealed = ? WHERE id = ?",
		       "ibi", kid, sealed.data, sealed.len, sid);
	if (rc != ST_OK)
		goto fail;
	model_subject_set(st->model, (uint64_t)sid, (uint32_t)org);
	struct audit_event ev = {.action = "subject.create", .outcome = "allow",
				 .subject_id = sid,
				 .written = in->date_of_birth
						    ? "external_id,given_name,family_name,date_of_birth"
						    : "external_id,given_name,family_name"};
	rc = steward_audit(st, who, &ev, NULL, e);
	if (rc != ST_OK)
		goto fail;
	rc = store_commit(c, e);
	if (rc == ST_OK)
		*id = sid;
	goto out;
fail:
	store_rollback(c);
out:
	secure_wipe(key, KEY_BYTES);
	store_release(c);
	secure_free_plain(plain, plainlen);
	buf_release(&ad);
	buf_release(&sealed);
	return rc;
}

/* --- a subject's row and its identifying fields -------------------------- */

void subject_row_release(struct subject_row *r)
{
	free(r->sealed);
	r->sealed = NULL;
}

int subject_row_load(struct store_conn *c, int64_t id, struct subject_row *r,
		     struct st_error *e)
{
	memset(r, 0, sizeof(*r));
	struct store_stmt *s;
	int rc = store_prepare(c,
			       "SELECT s.kind, o.code, COALESCE(s.organization_id, 0), s.status, "
			       "COALESCE(s.status_changed_at, 0), s.data_key_id, s.sealed, "
			       "s.created_at, s.updated_at FROM subject s LEFT JOIN organization o "
			       "ON o.id = s.organization_id WHERE s.id = ?",
			       &s, e);
	if (rc != ST_OK)
		return rc;
	store_bind(s, "i", id);
	rc = store_step(s, e);
	if (rc == STORE_DONE) {
		store_done(s);
		return err_setc(e, ST_ENOTFOUND, "subject_not_found", "id", "no subject %lld", (long long)id);
	}
	if (rc != STORE_ROW) {
		store_done(s);
		return rc;
	}
	r->id = id;
	str_copy(r->kind, sizeof(r->kind), store_col_text(s, 0));
	if (subject_kind_parse(r->kind, &r->k) != ST_OK) {
		store_done(s);
		return err_set(e, ST_EINTERNAL, NULL, "subject %lld has a bad kind", (long long)id);
	}
	r->has_org = !store_col_null(s, 1);
	str_copy(r->org, sizeof(r->org), store_col_text(s, 1));
	r->org_id = store_col_int(s, 2);
	r->inactive = !str_eq(store_col_text(s, 3), "active");
	r->status_changed_at = store_col_int(s, 4);
	r->data_key_id = store_col_int(s, 5);
	size_t len = 0;
	const void *p = store_col_blob(s, 6, &len);
	r->sealed = xmalloc(len ? len : 1);
	if (len)
		memcpy(r->sealed, p, len);
	r->sealed_len = len;
	r->created_at = store_col_int(s, 7);
	r->updated_at = store_col_int(s, 8);
	store_done(s);
	return ST_OK;
}

int subject_row_open(struct steward *st, struct store_conn *c, const struct subject_row *r,
		     json_t **doc, struct st_error *e)
{
	char owner[48];
	snprintf(owner, sizeof(owner), "subject:%lld", (long long)r->id);
	unsigned char *key = secure_scratch();
	int rc = datakey_load(st, c, r->data_key_id, owner, key, e);
	char *plain = NULL;
	size_t plainlen = 0;
	if (rc == ST_OK) {
		struct buf ad = BUF_INIT;
		subject_ad(r->id, r->kind, &ad);
		if (unseal(key, ad.data, ad.len, r->sealed, r->sealed_len, &plain, &plainlen) !=
		    ST_OK)
			rc = err_setc(e, ST_ECRYPTO, "integrity_error", NULL,
				      "subject %lld failed its integrity check", (long long)r->id);
		buf_release(&ad);
	}
	secure_wipe(key, KEY_BYTES);
	if (rc == ST_OK && json_parse_object(plain, plainlen, doc, e) != ST_OK)
		rc = err_set(e, ST_EINTERNAL, NULL, "subject %lld holds malformed data",
			     (long long)r->id);
	if (plain)
		secure_free_plain(plain, plainlen);
	return rc;
}

json_t *subject_view(const struct subject_row *r, const json_t *doc,
		     const struct subject_decision *sd, const unsigned char *hash_key,
		     struct buf *returned, struct buf *masked)
{
	json_t *o = json_object();
	char ts[32];
	json_object_set_new(o, "id", json_integer(r->id));
	json_object_set_new(o, "kind", json_string(r->kind));
	json_object_set_new(o, "status", json_string(r->inactive ? "inactive" : "active"));
	time_format(r->created_at, ts);
	json_object_set_new(o, "created_at", json_string(ts));
	json_t *ml = json_array();
	for (int f = 0; f < SF_COUNT; f++) {
		if (!(sd->fields >> f & 1))
			continue;
		const char *name = subject_field_name((enum subject_field)f);
		json_t *v;
		if (f == SF_ORGANIZATION)
			v = r->has_org ? json_string(r->org) : json_null();
		else
			v = json_incref(json_object_get(doc, name));
		if (!v)
			continue; /* not recorded (a date of birth is optional) */
		if (sd->masks[f] != MASK_NONE && !json_is_null(v)) {
			json_t *m = mask_value(sd->masks[f], v, hash_key);
			json_decref(v);
			v = m;
			json_array_append_new(ml, json_string(name));
			if (masked->len)
				buf_putc(masked, ',');
			buf_puts(masked, name);
		}
		json_object_set_new(o, name, v);
		if (returned->len)
			buf_putc(returned, ',');
		buf_puts(returned, name);
	}
	json_object_set_new(o, "masked", ml);
	return o;
}

/* The categories (comma-separated names) a decision reached, for the log. */
void subject_categories(const struct policy *p, uint64_t cats, struct buf *out)
{
	for (size_t c = 0; c < p->inv->ncats; c++)
		if (cats >> c & 1) {
			if (out->len)
				buf_putc(out, ',');
			buf_puts(out, p->inv->cats[c].name);
		}
}

int subject_read(struct steward *st, const struct actor *who, int64_t id, const char *purpose,
		 json_t **out, struct st_error *e)
{
	*out = NULL;
	if (purpose && (strlen(purpose) > 500 || !str_is_clean_utf8(purpose, strlen(purpose))))
		return err_setc(e, ST_EINVAL, "bad_value", "purpose",
				"\"purpose\" must be at most 500 printable characters");
	struct store_conn *c;
	int rc = store_acquire(st->db, &c, e);
	/* the row and its data key from one snapshot */
	if (rc == ST_OK && (rc = store_begin_read(c, e)) != ST_OK)
		store_release(c);
	if (rc != ST_OK)
		return rc;
	struct subject_row r;
	struct st_error le = {0};
	rc = subject_row_load(c, id, &r, &le);
	if (rc != ST_OK && rc != ST_ENOTFOUND) {
		store_release(c);
		if (e)
			*e = le;
		return rc;
	}
	/* The decision first, for an id that names no subject too: a refusal
	 * is logged, nothing is decrypted, and it reads the same either way. */
	struct audit_event ev = {.action = "subject.read", .subject_id = id, .purpose = purpose};
	struct subject_decision sd;
	struct policy *pol = NULL;
	rc = access_check_subject(st, who, id, rc == ST_OK ? (int)r.k : -1, true, &ev, &sd, &pol,
				  e);
	if (rc != ST_OK) {
		store_release(c);
		subject_row_release(&r);
		return rc;
	}
	json_t *doc = NULL;
	rc = subject_row_open(st, c, &r, &doc, e);
	store_release(c);
	struct buf returned = BUF_INIT, masked = BUF_INIT, cats = BUF_INIT;
	json_t *o = NULL;
	if (rc == ST_OK)
		o = subject_view(&r, doc, &sd, st->blind_key, &returned, &masked);
	subject_categories(pol, sd.readable, &cats);
	json_t *detail = json_pack("{s:s}", "categories", cats.data ? cats.data : "");
	if (sd.disclosure)
		json_object_set_new(detail, "disclosure", json_true());
	ev.outcome = rc == ST_OK ? "allow" : "error";
	ev.returned = returned.data ? returned.data : "";
	ev.masked = masked.len ? masked.data : NULL;
	ev.detail = detail;
	if (rc != ST_OK)
		ev.reason = e ? e->message : "failed";
	/* returned only once the event that records this read is durable (or,
	 * on the actor's ticket, held back by the caller until it is) */
	int arc = steward_audit(st, who, &ev, NULL, &le);
	json_decref(detail);
	json_decref(doc);
	buf_release(&returned);
	buf_release(&masked);
	buf_release(&cats);
	policy_unref(pol);
	subject_row_release(&r);
	if (arc != ST_OK) {
		json_decref(o);
		if (e)
			*e = le;
		return arc;
	}
	if (rc != ST_OK)
		return rc;
	if (sd.disclosure)
		json_object_set_new(o, "disclosure_recorded", json_true());
	*out = o;
	return ST_OK;
}

int subject_get(struct steward *st, const struct actor *who, int64_t id, json_t **out,
		struct st_error *e)
{
	return subject_read(st, who, id, NULL, out, e);
}

/* --- changes: identifying fields, school, status ----------------------------- */

struct subject_edit {
	struct steward *st;
	const struct actor *who;
	int64_t id;
	const struct subject_change *in;
	const char *action;
	bool to_active, to_inactive, fields;
	int64_t org_id, old_org_id;
};

static int subject_edit_write(void *ctx, struct store_conn *c, struct st_error *e)
{
	struct subject_edit *x = ctx;
	const struct subject_change *in = x->in;
	struct subject_row r;
	int rc = subject_row_load(c, x->id, &r, e);
	if (rc != ST_OK)
		return rc;
	x->old_org_id = x->org_id = r.org_id;
	if (x->to_inactive && r.inactive && !x->fields)
		rc = err_setc(e, ST_ECONFLICT, "conflict", "status", "subject %lld is already inactive",
			      (long long)x->id);
	else if (x->to_active && !r.inactive && !x->fields)
		rc = err_setc(e, ST_ECONFLICT, "conflict", "status", "subject %lld is already active",
			      (long long)x->id);
	/* The checkpoint every change passes: an inactive subject is changed
	 * only by reactivating it (in the same request or before). */
	struct record_row cr = {.id = 0, .subject_id = x->id,
				.deleted_at = r.inactive && !x->to_active
						      ? (r.status_changed_at ? r.status_changed_at : 1)
						      : 0,
				.sealed = r.sealed};
	if (rc == ST_OK)
		rc = record_change_check(x->st, c, x->who, &cr, x->action, e);
	if (rc == ST_OK && in->organization)
		rc = org_find(c, in->organization, &x->org_id, e);
	if (rc == ST_OK && in->clear_organization)
		x->org_id = 0;
	/* nobody is brought back into a school that is no longer there */
	if (rc == ST_OK && x->to_active && r.inactive && x->org_id && !in->organization) {
		int64_t active = 0;
		rc = store_query_int(c, &active, e,
				     "SELECT COUNT(*) FROM organization WHERE id = ? AND "
				     "status = 'active'",
				     "i", x->org_id);
		if (rc == ST_OK && !active)
			rc = err_setc(e, ST_ECONFLICT, "inactive_organization", "organization",
				      "the subject's organization is inactive: reactivate it, or "
				      "give the subject another, first");
	}
	json_t *doc = NULL;
	if (rc == ST_OK && x->fields)
		rc = subject_row_open(x->st, c, &r, &doc, e);
	unsigned char *key = secure_scratch();
	struct buf ad = BUF_INIT, sealed = BUF_INIT;
	int64_t now = time_now();
	if (rc == ST_OK && doc) {
		if (in->external_id)
			json_object_set_new(doc, "external_id", json_string(in->external_id));
		if (in->given_name)
			json_object_set_new(doc, "given_name", json_string(in->given_name));
		if (in->family_name)
			json_object_set_new(doc, "family_name", json_string(in->family_name));
		if (in->date_of_birth)
			json_object_set_new(doc, "date_of_birth", json_string(in->date_of_birth));
		if (in->clear_date_of_birth)
			json_object_del(doc, "date_of_birth");
		/* the blind indexes follow the sealed values */
		unsigned char ext[HASH_BYTES], fam[HASH_BYTES], full[HASH_BYTES];
		const char *xid = json_string_value(json_object_get(doc, "external_id"));
		const char *given = json_string_value(json_object_get(doc, "given_name"));
		const char *family = json_string_value(json_object_get(doc, "family_name"));
		if (!xid || !given || !family) {
			rc = err_set(e, ST_EINTERNAL, NULL, "subject %lld holds malformed data",
				     (long long)x->id);
		} else {
			subject_indexes(x->st, r.kind, xid, given, family, ext, fam, full);
			char *plain = json_canonical(doc);
			size_t plainlen = strlen(plain);
			char owner[48];
			snprintf(owner, sizeof(owner), "subject:%lld", (long long)x->id);
			rc = datakey_load(x->st, c, r.data_key_id, owner, key, e);
			if (rc == ST_OK) {
				subject_ad(x->id, r.kind, &ad);
				seal(key, ad.data, ad.len, plain, plainlen, &sealed);
			}
			secure_free_plain(plain, plainlen);
			if (rc == ST_OK)
				rc = store_run(c, e,
					       "UPDATE subject SET sealed = ?, external_index = ?, "
					       "family_index = ?, fullname_index = ? WHERE id = ?",
					       "bbbbi", sealed.data, sealed.len, ext, (size_t)HASH_BYTES,
					       fam, (size_t)HASH_BYTES, full, (size_t)HASH_BYTES, x->id);
			if (rc == ST_ECONFLICT)
				rc = err_setc(e, ST_ECONFLICT, "exists", "external_id",
					      "a %s with this external_id already exists", r.kind);
		}
	}
	if (rc == ST_OK && (in->organization || in->clear_organization)) {
		if (x->org_id)
			rc = store_run(c, e, "UPDATE subject SET organization_id = ? WHERE id = ?", "ii",
				       x->org_id, x->id);
		else
			rc = store_run(c, e, "UPDATE subject SET organization_id = NULL WHERE id = ?",
				       "i", x->id);
	}
	if (rc == ST_OK && (x->to_active || x->to_inactive) &&
	    r.inactive != x->to_inactive)
		rc = store_run(c, e,
			       "UPDATE subject SET status = ?, status_changed_at = ? WHERE id = ?",
			       "tii", x->to_inactive ? "inactive" : "active", now, x->id);
	if (rc == ST_OK)
		rc = store_run(c, e, "UPDATE subject SET updated_at = ?, updated_by = ? WHERE id = ?",
			       "iii", now, x->who->user_id, x->id);
	secure_wipe(key, KEY_BYTES);
	buf_release(&ad);
	buf_release(&sealed);
	json_decref(doc);
	subject_row_release(&r);
	return rc;
}

int subject_update(struct steward *st, const struct actor *who, int64_t id,
		   const struct subject_change *in, struct st_error *e)
{
	struct subject_edit x = {.st = st, .who = who, .id = id, .in = in};
	x.fields = in->external_id || in->given_name || in->family_name || in->date_of_birth ||
		   in->clear_date_of_birth;
	bool moves = in->organization || in->clear_organization;
	x.to_active = in->status && str_eq(in->status, "active");
	x.to_inactive = in->status && str_eq(in->status, "inactive");
	/* the event names the fields written, never their values */
	struct buf written = BUF_INIT;
	static const char *const names[] = {"external_id", "given_name", "family_name",
					    "date_of_birth", "organization", "status"};
	const bool given[] = {in->external_id, in->given_name, in->family_name,
			      in->date_of_birth || in->clear_date_of_birth, moves, in->status};
	for (size_t i = 0; i < ARRAY_LEN(names); i++)
		if (given[i]) {
			if (written.len)
				buf_putc(&written, ',');
			buf_puts(&written, names[i]);
		}
	x.action = x.fields || moves ? "edited" : x.to_inactive ? "deactivated" : "reactivated";
	struct audit_event ev = {.action = x.fields || moves ? "subject.update"
					   : x.to_inactive ? "subject.deactivate"
							   : "subject.reactivate",
				 .subject_id = id, .written = written.data};
	int rc = access_admin(st, who, ADM_SUBJECTS, &ev, e);
	/* every check before anything is written */
	if (rc == ST_OK && !x.fields && !moves && !in->status)
		rc = err_setc(e, ST_EINVAL, "missing_field", "status",
			      "give a field to change (external_id, given_name, family_name, "
			      "date_of_birth, organization) or \"status\"");
	if (rc == ST_OK && in->status && !x.to_active && !x.to_inactive)
		rc = err_setc(e, ST_EINVAL, "bad_value", "status",
			      "status must be active or inactive");
	if (rc == ST_OK && in->external_id)
		rc = check_text("external_id", in->external_id, 64, true, e);
	if (rc == ST_OK && in->given_name)
		rc = check_text("given_name", in->given_name, 100, true, e);
	if (rc == ST_OK && in->family_name)
		rc = check_text("family_name", in->family_name, 100, true, e);
	int64_t dob = 0;
	if (rc == ST_OK && in->date_of_birth &&
	    (in->clear_date_of_birth || strlen(in->date_of_birth) != 10 ||
	     time_parse(in->date_of_birth, &dob) != ST_OK))
		rc = err_setc(e, ST_EINVAL, "wrong_type", "date_of_birth",
			      "\"date_of_birth\" must be a date written YYYY-MM-DD");
	if (rc == ST_OK && in->organization && in->clear_organization)
		rc = err_setc(e, ST_EINVAL, "bad_value", "organization",
			      "name an organization or clear it, not both");
	if (rc == ST_OK && moves && who->user_id) {
		/* Moving a subject to a school opens its records to that school's
		 * staff (school_staff) and to contractors whose agreements cover
		 * it: nobody confers access they could not use themselves. */
		struct policy *p = steward_policy(st);
		for (size_t c = 0; rc == ST_OK && c < p->inv->ncats; c++) {
			bool by_place = false;
			for (int r = 0; r < p->nrules && !by_place; r++)
				by_place = !p->rules[r].forbid && (p->rules[r].categories >> c & 1) &&
					   (p->rules[r].through &
					    (1u << REL_SCHOOL_STAFF | 1u << REL_AGREEMENT));
			if (by_place && !access_reaches(st, who, p, id, (int)c)) {
				ev.outcome = "deny";
				ev.reason = "moving the subject would open records beyond the actor's "
					    "own reach";
				struct st_error le = {0};
				rc = steward_audit(st, who, &ev, NULL, &le);
				if (rc != ST_OK && e)
					*e = le;
				if (rc == ST_OK)
					rc = err_setc(e, ST_EDENIED, "forbidden", "organization",
						      "moving a subject to a school opens its %s records "
						      "to that school's staff, which you could not read "
						      "yourself; nobody confers access they could not use",
						      p->inv->cats[c].name);
			}
		}
		policy_unref(p);
	}
	if (rc == ST_OK)
		rc = access_logged_write(st, who, &ev, subject_edit_write, &x, e);
	if (rc == ST_OK && x.org_id != x.old_org_id)
		model_subject_set(st->model, (uint64_t)id, (uint32_t)x.org_id);
	buf_release(&written);
	return rc;
}

int subject_find_external(struct steward *st, const struct actor *who, const char *kind,
			  const char *external_id, int64_t *id, struct st_error *e)
{
	enum subject_kind k;
	struct audit_event deny_ev = {.action = "subject.search"};
	int arc0 = access_admin(st, who, ADM_SUBJECTS, &deny_ev, e);
	if (arc0 != ST_OK)
		return arc0;
	if (!kind || subject_kind_parse(kind, &k) != ST_OK)
		return err_setc(e, ST_EINVAL, "bad_value", "kind", "unknown subject kind");
	unsigned char ext[HASH_BYTES];
	char purpose[64];
	snprintf(purpose, sizeof(purpose), "subject.external_id.%s", kind);
	blind_index(st, purpose, external_id, ext);
	struct store_conn *c;
	int rc = store_acquire(st->db, &c, e);
	if (rc != ST_OK)
		return rc;
	struct store_stmt *s;
	rc = store_prepare(c, "SELECT id FROM subject WHERE kind = ? AND external_index = ?",
			   &s, e);
	if (rc == ST_OK) {
		store_bind(s, "tb", kind, ext, (size_t)HASH_BYTES);
		rc = store_step(s, e);
		if (rc == STORE_ROW) {
			*id = store_col_int(s, 0);
			rc = ST_OK;
		} else if (rc == STORE_DONE) {
			rc = err_set(e, ST_ENOTFOUND, "external_id", "no %s with that external id",
				     kind);
		}
		store_done(s);
	}
	store_release(c);
	if (rc == ST_OK || rc == ST_ENOTFOUND) {
		/* The search itself reveals who exists: it is logged (never the
		 * searched value). */
		json_t *detail = json_pack("{s:s, s:s}", "by", "external_id", "kind", kind);
		struct audit_event ev = {.action = "subject.search", .outcome = "allow",
					 .subject_id = rc == ST_OK ? *id : 0,
					 .detail = detail};
		struct st_error ae = {0};
		int arc = steward_audit(st, who, &ev, NULL, &ae);
		json_decref(detail);
		if (arc != ST_OK) {
			if (e)
				*e = ae;
			return arc;
		}
	}
	return rc;
}

int subject_find_name(struct steward *st, const struct actor *who, const char *family_name,
		      const char *given_name, json_t **ids, struct st_error *e)
{
	struct audit_event deny_ev = {.action = "subject.search"};
	int arc0 = access_admin(st, who, ADM_SUBJECTS, &deny_ev, e);
	if (arc0 != ST_OK)
		return arc0;
	unsigned char h[HASH_BYTES];
	const char *sql;
	if (given_name) {
		struct buf fk = BUF_INIT;
		fullname_key(family_name, given_name, &fk);
		blind_index(st, "subject.full_name", fk.data, h);
		secure_free_plain(fk.data, fk.cap);
		sql = "SELECT id FROM subject WHERE fullname_index = ? ORDER BY id LIMIT 1000";
	} else {
		blind_index(st, "subject.family_name", family_name, h);
		sql = "SELECT id FROM subject WHERE family_index = ? ORDER BY id LIMIT 1000";
	}
	struct store_conn *c;
	int rc = store_acquire(st->db, &c, e);
	if (rc != ST_OK)
		return rc;
	struct store_stmt *s;
	rc = store_prepare(c, sql, &s, e);
	if (rc == ST_OK) {
		json_t *list = json_array();
		store_bind(s, "b", h, (size_t)HASH_BYTES);
		while ((rc = store_step(s, e)) == STORE_ROW)
			json_array_append_new(list, json_integer(store_col_int(s, 0)));
		store_done(s);
		if (rc == STORE_DONE) {
			*ids = list;
			rc = ST_OK;
		} else {
			json_decref(list);
		}
	}
	store_release(c);
	if (rc == ST_OK) {
		json_t *detail = json_pack("{s:s, s:I}", "by", given_name ? "full_name" : "family_name",
					   "matches", (json_int_t)json_array_size(*ids));
		struct audit_event ev = {.action = "subject.search", .outcome = "allow",
					 .detail = detail};
		struct st_error ae = {0};
		int arc = steward_audit(st, who, &ev, NULL, &ae);
		json_decref(detail);
		if (arc != ST_OK) {
			json_decref(*ids);
			*ids = NULL;
			if (e)
				*e = ae;
			return arc;
		}
	}
	return rc;
}
