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

static void fullname_key(const char *family, const char *given, struct buf *out)
{
	buf_puts(out, family);
	buf_putc(out, '|');
	buf_puts(out, given);
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
	char purpose[64];
	snprintf(purpose, sizeof(purpose), "subject.external_id.%s", in->kind);
	blind_index(st, purpose, in->external_id, ext);
	blind_index(st, "subject.family_name", in->family_name, fam);
	struct buf fk = BUF_INIT;
	fullname_key(in->family_name, in->given_name, &fk);
	blind_index(st, "subject.full_name", fk.data, full);
	secure_free_plain(fk.data, fk.cap);

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

/* Who may see a subject's identifying fields: a subject administrator, or
 * anyone allowed to read some category of the subject's records. */
static int subject_read_check(struct steward *st, const struct actor *who, int64_t id,
			      const char *kind, struct audit_event *ev, char role[64],
			      char rule[96], struct st_error *e)
{
	if (who->user_id == 0)
		return ST_OK;
	struct policy *p = steward_policy(st);
	enum subject_kind sk = SUBJECT_OTHER;
	subject_kind_parse(kind, &sk);
	for (size_t c = 0; c < p->inv->ncats; c++) {
		if (!(p->inv->cats[c].subject_kinds >> sk & 1))
			continue;
		struct access_request r = {.user = (uint32_t)who->user_id, .action = ACT_READ,
					   .subject = (uint64_t)id, .category = (int)c,
					   .mfa = who->mfa, .purpose = "identify the subject",
					   .now = time_now()};
		struct decision d;
		if (who->user_id > 0 && who->user_id < (int64_t)UINT32_MAX &&
		    policy_decide(p, st->model, &r, &d)) {
			/* copies: the rules may be replaced once released */
			str_copy(role, 64, p->roles[d.role]);
			str_copy(rule, 96, p->rules[d.rule].id);
			ev->role = role;
			ev->rule = rule;
			policy_unref(p);
			return ST_OK;
		}
	}
	policy_unref(p);
	return access_admin(st, who, ADM_SUBJECTS, ev, e);
}

int subject_get(struct steward *st, const struct actor *who, int64_t id, json_t **out,
		struct st_error *e)
{
	struct store_conn *c;
	int rc = store_acquire(st->db, &c, e);
	if (rc != ST_OK)
		return rc;
	struct store_stmt *s;
	rc = store_prepare(c,
			   "SELECT s.kind, o.code, s.data_key_id, s.sealed, s.created_at "
			   "FROM subject s LEFT JOIN organization o ON o.id = s.organization_id "
			   "WHERE s.id = ?",
			   &s, e);
	if (rc != ST_OK)
		goto out;
	store_bind(s, "i", id);
	rc = store_step(s, e);
	if (rc == STORE_DONE) {
		store_done(s);
		/* Whether it exists is told only to those who may look subjects
		 * up: anyone else is refused as for a subject they may not read
		 * (whose rules none allow: the permission decides), and logged. */
		json_t *detail = json_pack("{s:b}", "exists", 0);
		struct audit_event ev = {.action = "subject.read", .subject_id = id,
					 .detail = detail};
		rc = access_admin(st, who, ADM_SUBJECTS, &ev, e);
		json_decref(detail);
		if (rc == ST_OK)
			rc = err_setc(e, ST_ENOTFOUND, "subject_not_found", "id", "no subject %lld",
				      (long long)id);
		goto out;
	}
	if (rc != STORE_ROW) {
		store_done(s);
		goto out;
	}
	char kind[32], org[64];
	str_copy(kind, sizeof(kind), store_col_text(s, 0));
	str_copy(org, sizeof(org), store_col_text(s, 1));
	bool has_org = !store_col_null(s, 1);
	int64_t kid = store_col_int(s, 2), created = store_col_int(s, 4);
	size_t slen = 0;
	const void *sp = store_col_blob(s, 3, &slen);
	unsigned char *sealed = xmalloc(slen ? slen : 1);
	memcpy(sealed, sp, slen);
	store_done(s);
	struct audit_event check_ev = {.action = "subject.read", .subject_id = id};
	char role_name[64] = "", rule_name[96] = "";
	rc = subject_read_check(st, who, id, kind, &check_ev, role_name, rule_name, e);
	if (rc != ST_OK) {
		free(sealed);
		store_release(c);
		return rc;
	}

	char owner[48];
	snprintf(owner, sizeof(owner), "subject:%lld", (long long)id);
	unsigned char *key = secure_scratch();
	rc = datakey_load(st, c, kid, owner, key, e);
	char *plain = NULL;
	size_t plainlen = 0;
	if (rc == ST_OK) {
		struct buf ad = BUF_INIT;
		subject_ad(id, kind, &ad);
		if (unseal(key, ad.data, ad.len, sealed, slen, &plain, &plainlen) != ST_OK)
			rc = err_setc(e, ST_ECRYPTO, "integrity_error", NULL,
				      "subject %lld failed its integrity check", (long long)id);
		buf_release(&ad);
	}
	secure_wipe(key, KEY_BYTES);
	free(sealed);
	if (rc == ST_OK) {
		json_t *doc = NULL;
		rc = json_parse_object(plain, plainlen, &doc, e);
		if (rc == ST_OK) {
			json_object_set_new(doc, "id", json_integer(id));
			json_object_set_new(doc, "kind", json_string(kind));
			json_object_set_new(doc, "organization",
					    has_org ? json_string(org) : json_null());
			char ts[32];
			time_format(created, ts);
			json_object_set_new(doc, "created_at", json_string(ts));
			*out = doc;
		}
	}
	secure_free_plain(plain, plainlen);
out:
	store_release(c);
	if (rc == ST_OK || rc == ST_ECRYPTO || rc == ST_EGONE) {
		struct audit_event ev = {.action = "subject.read", .role = check_ev.role,
					 .rule = check_ev.rule,
					 .outcome = rc == ST_OK ? "allow" : "error",
					 .subject_id = id,
					 .returned = rc == ST_OK ? "external_id,given_name,family_name,date_of_birth" : NULL,
					 .reason = rc == ST_OK ? NULL : (e ? e->message : "failed")};
		struct st_error ae = {0};
		int arc = steward_audit(st, who, &ev, NULL, &ae);
		if (arc != ST_OK) {
			if (rc == ST_OK)
				json_decref(*out);
			*out = NULL;
			if (e)
				*e = ae;
			return arc;
		}
	}
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
