/*
 * facts.c - building the live facts (struct model) from the database at
 * start, and the one decision every access and every administrative act
 * passes, with its entry in the access log.
 */
#include <arpa/inet.h>

#include "access/access_internal.h"
#include "core/defaults.h"
#include "policy/model_internal.h"

int categories_mask(const struct inventory *inv, const char *csv, uint64_t *mask)
{
	*mask = 0;
	const char *p = csv;
	while (p && *p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char name[64];
		if (n == 0 || n >= sizeof(name))
			return ST_EINVAL;
		memcpy(name, p, n);
		name[n] = '\0';
		const struct inv_category *c = inventory_category(inv, name);
		if (c)
			*mask |= 1ULL << c->index; /* a retired category simply drops out */
		p = end ? end + 1 : NULL;
	}
	return ST_OK;
}

static int load_policy(struct steward *st, struct store_conn *c, struct st_error *e)
{
	struct inventory *inv = steward_inventory(st);
	struct store_stmt *s;
	int rc = store_prepare(c,
			       "SELECT version, document FROM policy_version ORDER BY version DESC "
			       "LIMIT 1",
			       &s, e);
	if (rc != ST_OK) {
		inventory_unref(inv);
		return rc;
	}
	rc = store_step(s, e);
	char *text = NULL;
	int version = 0;
	if (rc == STORE_ROW) {
		version = (int)store_col_int(s, 0);
		text = xstrdup(store_col_text(s, 1));
		rc = ST_OK;
	} else if (rc == STORE_DONE) {
		rc = ST_OK;
	}
	store_done(s);
	if (rc == ST_OK && !text) {
		/* a data directory from before the rules existed: install the
		 * shipped default as version 1 */
		text = xstrdup((const char *)default_policy);
		unsigned char h[HASH_BYTES];
		sha256(text, strlen(text), h);
		rc = store_run(c, e,
			       "INSERT INTO policy_version (version, document, sha256, changed_by, "
			       "changed_at, note) VALUES (1, ?, ?, NULL, ?, ?)",
			       "tbit", text, h, (size_t)HASH_BYTES, time_now(),
			       "default rules shipped with Steward");
		version = 1;
	}
	struct policy *p = NULL;
	if (rc == ST_OK)
		rc = policy_parse(text, strlen(text), inv, &p, e);
	if (rc == ST_OK) {
		p->version = version;
		steward_set_policy(st, p);
	} else if (e) {
		char msg[sizeof(e->message)];
		str_copy(msg, sizeof(msg), e->message);
		err_set(e, ST_EINTERNAL, NULL, "the installed rules (version %d) do not load: %s",
			version, msg);
	}
	free(text);
	inventory_unref(inv);
	return rc;
}

/* Builds a fresh model from the database. */
static int build_model(struct steward *st, struct store_conn *c, struct model **out,
		       struct st_error *e)
{
	struct policy *p = steward_policy(st);
	struct model *m = model_new();
	int64_t nusers = 0, nsubjects = 0, nrels = 0;
	int rc = store_query_int(c, &nusers, e, "SELECT COALESCE(MAX(id), 0) FROM app_user", "");
	if (rc == ST_OK)
		rc = store_query_int(c, &nsubjects, e, "SELECT COALESCE(MAX(id), 0) FROM subject", "");
	if (rc == ST_OK)
		rc = store_query_int(c, &nrels, e,
				     "SELECT COUNT(*) FROM relationship WHERE removed_at IS NULL", "");
	if (rc == ST_OK)
		model_reserve(m, (size_t)nusers + 1, (size_t)nsubjects + 1, (size_t)nrels + 16);
	struct store_stmt *s;
	/* users and their roles */
	if (rc == ST_OK)
		rc = store_prepare(c,
				   "SELECT u.id, u.kind, u.status, COALESCE(u.organization_id, 0), "
				   "COALESCE(u.agreement_id, 0), COALESCE(group_concat(r.role), '') "
				   "FROM app_user u LEFT JOIN user_role r ON r.user_id = u.id "
				   "GROUP BY u.id",
				   &s, e);
	if (rc == ST_OK) {
		while ((rc = store_step(s, e)) == STORE_ROW) {
			enum user_kind kind = UK_EMPLOYEE;
			enum user_status status = US_DISABLED;
			user_kind_parse(store_col_text(s, 1), &kind);
			user_status_parse(store_col_text(s, 2), &status);
			uint32_t roles = 0;
			const char *list = store_col_text(s, 5);
			while (*list) {
				const char *end = strchr(list, ',');
				size_t n = end ? (size_t)(end - list) : strlen(list);
				char name[64] = "";
				if (n < sizeof(name)) {
					memcpy(name, list, n);
					name[n] = '\0';
				}
				int role = policy_role(p, name);
				if (role >= 0)
					roles |= 1u << role;
				list += n + (end ? 1 : 0);
			}
			model_user_set(m, (uint32_t)store_col_int(s, 0), kind, status, roles,
				       (uint32_t)store_col_int(s, 3), (uint32_t)store_col_int(s, 4));
		}
		store_done(s);
		rc = rc == STORE_DONE ? ST_OK : rc;
	}
	if (rc == ST_OK)
		rc = store_prepare(c, "SELECT id, COALESCE(organization_id, 0) FROM subject", &s, e);
	if (rc == ST_OK) {
		while ((rc = store_step(s, e)) == STORE_ROW)
			model_subject_set(m, (uint64_t)store_col_int(s, 0),
					  (uint32_t)store_col_int(s, 1));
		store_done(s);
		rc = rc == STORE_DONE ? ST_OK : rc;
	}
	if (rc == ST_OK)
		rc = store_prepare(c,
				   "SELECT id, user_id, COALESCE(subject_id, 0), "
				   "COALESCE(organization_id, 0), kind, categories, starts_at, "
				   "COALESCE(ends_at, 0) FROM relationship WHERE removed_at IS NULL",
				   &s, e);
	if (rc == ST_OK) {
		while ((rc = store_step(s, e)) == STORE_ROW) {
			enum relkind kind;
			if (relkind_parse(store_col_text(s, 4), &kind) != ST_OK)
				continue;
			uint64_t cats = 0;
			categories_mask(p->inv, store_col_text(s, 5), &cats);
			model_rel_add_unlocked(m, store_col_int(s, 0), (uint32_t)store_col_int(s, 1),
					       (uint64_t)store_col_int(s, 2),
					       (uint32_t)store_col_int(s, 3), kind, cats,
					       store_col_int(s, 6), store_col_int(s, 7));
		}
		store_done(s);
		rc = rc == STORE_DONE ? ST_OK : rc;
	}
	if (rc == ST_OK)
		rc = store_prepare(c,
				   "SELECT id, user_id, starts_at, COALESCE(until, 0), kind FROM "
				   "suspension WHERE lifted_at IS NULL",
				   &s, e);
	if (rc == ST_OK) {
		while ((rc = store_step(s, e)) == STORE_ROW)
			model_suspension_add(m, (uint32_t)store_col_int(s, 1), store_col_int(s, 0),
					     store_col_int(s, 2), store_col_int(s, 3),
					     store_col_text(s, 4));
		store_done(s);
		rc = rc == STORE_DONE ? ST_OK : rc;
	}
	if (rc == ST_OK)
		rc = store_prepare(c,
				   "SELECT user_id, MAX(expires_at) FROM training_completion "
				   "WHERE course = ? GROUP BY user_id",
				   &s, e);
	if (rc == ST_OK) {
		store_bind(s, "t", p->training_course);
		while ((rc = store_step(s, e)) == STORE_ROW)
			model_training_set(m, (uint32_t)store_col_int(s, 0), store_col_int(s, 1));
		store_done(s);
		rc = rc == STORE_DONE ? ST_OK : rc;
	}
	if (rc == ST_OK)
		rc = store_prepare(c,
				   "SELECT id, vendor, categories, organizations, starts_at, "
				   "COALESCE(terminated_at, ends_at) FROM agreement",
				   &s, e);
	if (rc == ST_OK) {
		while ((rc = store_step(s, e)) == STORE_ROW) {
			uint64_t cats = 0;
			categories_mask(p->inv, store_col_text(s, 2), &cats);
			uint32_t orgs[256];
			size_t norgs = 0;
			const char *list = store_col_text(s, 3);
			while (*list && norgs < ARRAY_LEN(orgs)) {
				orgs[norgs++] = (uint32_t)strtoul(list, NULL, 10);
				const char *end = strchr(list, ',');
				if (!end)
					break;
				list = end + 1;
			}
			model_agreement_set(m, (uint32_t)store_col_int(s, 0), cats, orgs, norgs,
					    store_col_int(s, 4), store_col_int(s, 5),
					    store_col_text(s, 1));
		}
		store_done(s);
		rc = rc == STORE_DONE ? ST_OK : rc;
	}
	policy_unref(p);
	if (rc != ST_OK) {
		model_free(m);
		return rc;
	}
	*out = m;
	return ST_OK;
}

/* Seals the free text written before notes were sealed (suspension reasons,
 * grant purposes), in one transaction. */
static int seal_legacy_notes(struct steward *st, struct store_conn *c, struct st_error *e)
{
	static const struct {
		const char *table, *column;
	} notes[] = {{"suspension", "reason"}, {"relationship", "purpose"}};
	int rc = store_begin(c, e);
	for (size_t i = 0; rc == ST_OK && i < ARRAY_LEN(notes); i++) {
		char *sql = xasprintf("SELECT id, user_id, %s FROM %s WHERE %s <> '' AND %s NOT LIKE "
				      "'sealed:%%'",
				      notes[i].column, notes[i].table, notes[i].column,
				      notes[i].column);
		char *upd = xasprintf("UPDATE %s SET %s = ? WHERE id = ?", notes[i].table,
				      notes[i].column);
		struct store_stmt *s = NULL;
		struct buf rows = BUF_INIT; /* id, user pairs first: one statement at a time */
		rc = store_prepare(c, sql, &s, e);
		char **texts = NULL;
		size_t n = 0;
		while (rc == ST_OK) {
			int step = store_step(s, e);
			if (step == STORE_DONE)
				break;
			if (step != STORE_ROW) {
				rc = step;
				break;
			}
			int64_t pair[2] = {store_col_int(s, 0), store_col_int(s, 1)};
			buf_append(&rows, pair, sizeof(pair));
			texts = xrealloc(texts, (n + 1) * sizeof(*texts));
			texts[n++] = xstrdup(store_col_text(s, 2));
		}
		if (s)
			store_done(s);
		for (size_t k = 0; k < n; k++) {
			const int64_t *pair = (const int64_t *)rows.data + 2 * k;
			char where[96];
			snprintf(where, sizeof(where), "%s.%s|user=%lld", notes[i].table,
				 notes[i].column, (long long)pair[1]);
			if (rc == ST_OK) {
				char *sealed = note_seal(st, where, texts[k]);
				rc = store_run(c, e, upd, "ti", sealed, pair[0]);
				free(sealed);
			}
			secure_free_plain(texts[k], strlen(texts[k]));
		}
		free(texts);
		buf_release(&rows);
		free(sql);
		free(upd);
	}
	if (rc == ST_OK)
		return store_commit(c, e);
	store_rollback(c);
	return rc;
}

int access_load(struct steward *st, struct st_error *e)
{
	struct store_conn *c;
	int rc = store_acquire(st->db, &c, e);
	if (rc != ST_OK)
		return rc;
	rc = seal_legacy_notes(st, c, e);
	if (rc == ST_OK)
		rc = load_policy(st, c, e);
	struct model *m = NULL;
	if (rc == ST_OK)
		rc = build_model(st, c, &m, e);
	store_release(c);
	if (rc == ST_OK) {
		struct model *old = st->model;
		st->model = m;
		model_free(old);
	}
	return rc;
}

int access_reload(struct steward *st, struct st_error *e)
{
	/* Build the new facts first, then swap them in under the write lock
	 * of the old ones so no decision runs on a half-built model. */
	struct store_conn *c;
	int rc = store_acquire(st->db, &c, e);
	if (rc != ST_OK)
		return rc;
	struct model *m = NULL;
	rc = build_model(st, c, &m, e);
	store_release(c);
	if (rc != ST_OK)
		return rc;
	/* The new facts replace the old in place, under the write lock: no
	 * decision ever sees a half-built model or a freed one. */
	model_replace(st->model, m);
	return ST_OK;
}

void access_describe(const struct policy *p, struct steward *st, const struct access_request *r,
		     const struct decision *d, struct audit_event *ev, char *buf, size_t n)
{
	model_rdlock(st->model);
	decision_explain(p, st->model, r, d, buf, n);
	model_unlock(st->model);
	ev->reason = buf;
	ev->role = d->role >= 0 ? p->roles[d->role] : NULL;
	ev->rule = d->rule >= 0 ? p->rules[d->rule].id : (d->through == REL_COUNT ? "administration" : NULL);
	ev->agreement_id = d->agreement;
}

static bool valid_user(int64_t id)
{
	return id > 0 && id < (int64_t)UINT32_MAX;
}

bool access_holds(struct steward *st, const struct actor *who, enum admin_perm perm)
{
	if (who->user_id == 0)
		return true;
	if (!valid_user(who->user_id))
		return false;
	struct policy *p = steward_policy(st);
	struct decision d;
	bool ok = policy_admin_decide(p, st->model, (uint32_t)who->user_id, perm, who->mfa,
				      time_now(), &d);
	policy_unref(p);
	return ok;
}

int access_admin(struct steward *st, const struct actor *who, enum admin_perm perm,
		 struct audit_event *ev, struct st_error *e)
{
	return access_admin_any(st, who, &perm, 1, ev, e);
}

int access_admin_any(struct steward *st, const struct actor *who, const enum admin_perm *perms,
		     size_t nperms, struct audit_event *ev, struct st_error *e)
{
	if (who->user_id == 0)
		return ST_OK; /* the system: local administration, jobs */
	struct policy *p = steward_policy(st);
	struct decision d = {0}, first = {0};
	bool ok = false;
	for (size_t i = 0; i < nperms && !ok && valid_user(who->user_id); i++) {
		ok = policy_admin_decide(p, st->model, (uint32_t)who->user_id, perms[i], who->mfa,
					 time_now(), &d);
		if (i == 0)
			first = d;
	}
	if (!ok && nperms)
		d = first;
	if (!valid_user(who->user_id)) {
		memset(&d, 0, sizeof(d));
		d.reason = R_NO_USER;
		d.rule = d.role = -1;
	}
	if (ok) {
		/* a copy: the rules may be replaced once released; the caller
		 * logs the act on this thread before deciding anything else */
		static _Thread_local char role[64];
		str_copy(role, sizeof(role), d.role >= 0 ? p->roles[d.role] : "");
		ev->role = role[0] ? role : NULL;
		ev->rule = "administration";
		policy_unref(p);
		return ST_OK;
	}
	char reason[320];
	struct access_request r = {.user = valid_user(who->user_id) ? (uint32_t)who->user_id : 0};
	access_describe(p, st, &r, &d, ev, reason, sizeof(reason));
	ev->outcome = "deny";
	struct st_error le = {0};
	int lrc = steward_audit(st, who, ev, NULL, &le);
	policy_unref(p);
	if (lrc != ST_OK) {
		if (e)
			*e = le;
		return lrc;
	}
	return err_setc(e, ST_EDENIED, "forbidden", NULL, "%s", reason);
}

int access_purpose_check(const char *purpose, struct st_error *e)
{
	if (!purpose || !*purpose)
		return ST_OK;
	size_t n = strlen(purpose);
	if (n > 500)
		return err_setc(e, ST_EINVAL, "too_long", "purpose",
				"\"purpose\" is at most 500 characters");
	if (!str_is_clean_utf8(purpose, n) || strpbrk(purpose, "\r\n\t"))
		return err_setc(e, ST_EINVAL, "bad_value", "purpose",
				"\"purpose\" must be printable text on one line");
	if (str_is_blank(purpose))
		return err_setc(e, ST_EINVAL, "bad_value", "purpose",
				"\"purpose\" must say why (white space alone is not a purpose)");
	return ST_OK;
}

/* The refusal for want of need-to-know, as its person hears it: the same
 * words whatever the record (see access_check and access_record_unknown). */
static int refuse_need_to_know(struct st_error *e)
{
	return err_setc(e, ST_EDENIED, "forbidden", NULL,
			"no need-to-know for this record: your duties do not include it (the "
			"superintendent's designee can explain the refusal, which is recorded)");
}

int access_check(struct steward *st, const struct actor *who, enum action act,
		 int64_t subject, const char *category, struct audit_event *ev,
		 struct decision *dec, struct policy **pol, struct st_error *e)
{
	struct policy *p = steward_policy(st);
	const struct inv_category *cat = inventory_category(p->inv, category);
	struct access_request r = {
		.user = valid_user(who->user_id) ? (uint32_t)who->user_id : 0,
		.action = act,
		.subject = subject > 0 ? (uint64_t)subject : 0,
		.category = cat ? cat->index : -1,
		.mfa = who->mfa,
		.purpose = ev->purpose,
		.now = time_now(),
	};
	if (who->user_id == 0) {
		/* the system itself: allowed, and logged as such */
		memset(dec, 0, sizeof(*dec));
		dec->allow = true;
		dec->rule = dec->role = -1;
		ev->rule = "system";
		*pol = p;
		return ST_OK;
	}
	bool ok = valid_user(who->user_id) && cat && policy_decide(p, st->model, &r, dec);
	if (ok) {
		ev->role = dec->role >= 0 ? p->roles[dec->role] : NULL;
		ev->rule = p->rules[dec->rule].id;
		ev->agreement_id = dec->agreement;
		*pol = p;
		return ST_OK;
	}
	if (!valid_user(who->user_id) || !cat) {
		memset(dec, 0, sizeof(*dec));
		dec->reason = !cat ? R_BAD_REQUEST : R_NO_USER;
		dec->rule = dec->role = -1;
	}
	char reason[320];
	access_describe(p, st, &r, dec, ev, reason, sizeof(reason));
	ev->outcome = "deny";
	struct st_error le = {0};
	int lrc = steward_audit(st, who, ev, NULL, &le);
	policy_unref(p);
	if (lrc != ST_OK) {
		if (e)
			*e = le;
		return lrc;
	}
	/* The caller hears the reason in plain words, but a refusal for want
	 * of need-to-know must not tell what kind of record it was: otherwise
	 * asking for record after record would map which students have a
	 * special-education, health or abuse file. The log keeps it all. */
	/* (The conditions after a relationship — training, multi-factor, a
	 * purpose — are said in full: they are met by someone with a duty
	 * toward the subject. Those that tell what the record is or whose it
	 * is are not.) */
	bool reveals = dec->reason == R_FORBIDDEN || dec->reason == R_NO_RULE ||
		       dec->reason == R_NO_RELATIONSHIP || dec->reason == R_GRANT_CATEGORY ||
		       dec->reason == R_RELATIONSHIP_ENDED ||
		       dec->reason == R_RELATIONSHIP_NOT_STARTED ||
		       dec->reason == R_AGREEMENT_CATEGORY || dec->reason == R_AGREEMENT_ORGANIZATION ||
		       dec->reason == R_BAD_REQUEST;
	if (reveals && act != ACT_CREATE)
		return refuse_need_to_know(e);
	return err_setc(e, ST_EDENIED, "forbidden", NULL, "%s", reason);
}

bool access_decide_subject(struct steward *st, const struct actor *who,
			   const struct policy *p, int64_t subject, int kind, const char *purpose,
			   struct subject_decision *sd)
{
	if (who->user_id == 0) {
		/* the system itself: everything, unmasked */
		memset(sd, 0, sizeof(*sd));
		sd->rule = sd->role = -1;
		sd->refusal = (struct decision){.reason = R_NO_RULE, .rule = -1, .role = -1};
		sd->refusal_category = -1;
		for (size_t c = 0; c < p->inv->ncats; c++)
			if (kind >= 0 && (p->inv->cats[c].subject_kinds >> kind & 1))
				sd->readable |= 1ULL << c;
		sd->fields = kind >= 0 ? (1u << SF_COUNT) - 1 : 0;
		sd->allow = kind >= 0;
		return sd->allow;
	}
	if (!valid_user(who->user_id)) {
		memset(sd, 0, sizeof(*sd));
		sd->rule = sd->role = -1;
		sd->refusal = (struct decision){.reason = R_NO_USER, .rule = -1, .role = -1};
		sd->refusal_category = -1;
		return false;
	}
	struct access_request r = {
		.user = (uint32_t)who->user_id,
		.action = ACT_READ,
		.subject = subject > 0 ? (uint64_t)subject : 0,
		.mfa = who->mfa,
		.purpose = purpose,
		.now = time_now(),
	};
	return policy_decide_subject(p, st->model, &r, kind, sd);
}

int access_check_subject(struct steward *st, const struct actor *who, int64_t subject, int kind,
			 bool need_fields, struct audit_event *ev, struct subject_decision *sd,
			 struct policy **pol, struct st_error *e)
{
	struct policy *p = steward_policy(st);
	bool ok = access_decide_subject(st, who, p, subject, kind, ev->purpose, sd);
	/* Whether a person is known to the district is told to nobody who
	 * reads through the decision: a missing subject is refused exactly as
	 * one out of reach (below); only the system hears 404. */
	if (kind < 0 && who->user_id == 0) {
		policy_unref(p);
		return err_setc(e, ST_ENOTFOUND, "subject_not_found", "id", "no subject %lld",
				(long long)subject);
	}
	if (ok || (!need_fields && sd->readable)) {
		ev->role = sd->role >= 0 ? p->roles[sd->role] : NULL;
		ev->rule = who->user_id == 0 ? "system" : sd->rule >= 0 ? p->rules[sd->rule].id : NULL;
		ev->agreement_id = sd->agreement;
		*pol = p;
		return ST_OK;
	}
	struct access_request r = {
		.user = valid_user(who->user_id) ? (uint32_t)who->user_id : 0,
		.action = ACT_READ,
		.subject = subject > 0 ? (uint64_t)subject : 0,
		.mfa = who->mfa,
		.purpose = ev->purpose,
		.now = time_now(),
	};
	/* the full reason for the log */
	char reason[320];
	r.category = sd->refusal_category;
	if (kind < 0 && reason_scope(sd->refusal.reason) != REASON_ACCOUNT)
		snprintf(reason, sizeof(reason), "no subject %lld", (long long)subject);
	else if (sd->refusal_category < 0 && reason_scope(sd->refusal.reason) != REASON_ACCOUNT)
		snprintf(reason, sizeof(reason),
			 "no category of the data inventory applies to a %s, so nobody may read "
			 "one",
			 subject_kind_name((enum subject_kind)kind));
	else
		access_describe(p, st, &r, &sd->refusal, ev, reason, sizeof(reason));
	ev->reason = reason;
	ev->outcome = "deny";
	struct st_error le = {0};
	int lrc = steward_audit(st, who, ev, NULL, &le);
	enum reason_scope scope = reason_scope(sd->refusal.reason);
	/* nothing in ev may point into the rules or this frame any more */
	ev->reason = ev->role = ev->rule = NULL;
	policy_unref(p);
	if (lrc != ST_OK) {
		if (e)
			*e = le;
		return lrc;
	}
	/* What the person is told: their account's own state, or a condition
	 * of a rule that reaches this subject; never whether it exists, nor
	 * what kind of person it is. */
	if (scope == REASON_ACCOUNT || (scope == REASON_CONDITION && kind >= 0))
		return err_setc(e, ST_EDENIED, "forbidden", NULL, "%s", reason);
	return err_setc(e, ST_EDENIED, "forbidden", NULL,
			"no need-to-know for this subject: your duties do not include it (the "
			"superintendent's designee can explain the refusal, which is recorded)");
}

int access_record_unknown(struct steward *st, const struct actor *who, int64_t id,
			  struct audit_event *ev, struct st_error *e)
{
	char reason[64];
	snprintf(reason, sizeof(reason), "no record %lld", (long long)id);
	if (who->user_id == 0 || access_holds(st, who, ADM_REVIEW))
		return err_setc(e, ST_ENOTFOUND, "record_not_found", "id", "%s", reason);
	/* refused as a record out of reach is: logged (the log says why),
	 * and answered in the same words */
	ev->outcome = "deny";
	ev->reason = reason;
	ev->record_id = id;
	struct st_error le = {0};
	int lrc = steward_audit(st, who, ev, NULL, &le);
	if (lrc != ST_OK) {
		if (e)
			*e = le;
		return lrc;
	}
	return refuse_need_to_know(e);
}

bool access_user_suspended(struct steward *st, int64_t user)
{
	if (!valid_user(user))
		return false;
	model_rdlock(st->model);
	const struct muser *mu = model_user(st->model, (uint32_t)user);
	int64_t until = 0, sid = 0;
	bool s = mu && model_suspended(mu, time_now(), &until, &sid);
	model_unlock(st->model);
	return s;
}

/* --- cheap refusals: on record, but not a way to fill the disk ------------ */

void access_client_key(const char *client, char out[64])
{
	unsigned char a[16];
	if (!client || !*client) {
		str_copy(out, 64, "unknown");
		return;
	}
	if (!strchr(client, ':') || inet_pton(AF_INET6, client, a) != 1) {
		str_copy(out, 64, client);
		return;
	}
	snprintf(out, 64, "%02x%02x:%02x%02x:%02x%02x:%02x%02x::/64", a[0], a[1], a[2], a[3], a[4],
		 a[5], a[6], a[7]);
}

#define BUDGET_PER_MINUTE 300
#define BUDGET_SLOTS 1024

struct budget {
	char client[64];
	int64_t user;
	int64_t minute;
	int used;
	int64_t held;
};

static struct budget budgets[BUDGET_SLOTS];
static pthread_mutex_t budgets_lock = PTHREAD_MUTEX_INITIALIZER;

/* Logs what a budget held back: how many, from where, for which account,
 * in which minute; or, with n 0, that holding back has begun. */
static void log_held_back(struct steward *st, const struct budget *b, int64_t n,
			  struct audit_ticket *ticket)
{
	char reason[200], when[32];
	time_format(b->minute * 60, when);
	if (n)
		snprintf(reason, sizeof(reason),
			 "%lld further refusals from this address in the minute from %s were "
			 "counted, not logged one by one",
			 (long long)n, when);
	else
		snprintf(reason, sizeof(reason),
			 "more than %d refusals from this address in the minute from %s: the rest "
			 "are counted",
			 BUDGET_PER_MINUTE, when);
	struct actor who = {.user_id = b->user, .via = "api", .client = b->client,
			    .ticket = ticket};
	struct audit_event ev = {.action = "request.refused_many", .outcome = "deny",
				 .reason = reason};
	struct st_error le = {0};
	if (steward_audit(st, &who, &ev, NULL, &le) != ST_OK)
		fprintf(stderr, "steward: cannot log refused requests: %s\n", le.message);
}

/* access_refusal_budget; what it logs is appended on the ticket if any
 * (a caller on the server's event loop must not block). */
static bool budget(struct steward *st, const char *client, int64_t user,
		   struct audit_ticket *ticket)
{
	char key[64];
	access_client_key(client, key);
	int64_t minute = time_now() / 60;
	struct budget done = {0}, first = {0};
	bool ok;
	pthread_mutex_lock(&budgets_lock);
	struct budget *b = NULL, *oldest = &budgets[0];
	for (size_t i = 0; i < BUDGET_SLOTS && !b; i++) {
		if (budgets[i].client[0] && str_eq(budgets[i].client, key) && budgets[i].user == user)
			b = &budgets[i];
		else if (budgets[i].minute < oldest->minute)
			oldest = &budgets[i];
	}
	if (!b) {
		b = oldest;
		if (b->client[0] && b->held)
			done = *b; /* evicted: say what it held back, under its own address */
		memset(b, 0, sizeof(*b));
		str_copy(b->client, sizeof(b->client), key);
		b->user = user;
		b->minute = minute;
	}
	if (b->minute != minute) {
		if (b->held)
			done = *b;
		b->minute = minute;
		b->used = 0;
		b->held = 0;
	}
	ok = b->used < BUDGET_PER_MINUTE;
	if (ok) {
		b->used++;
	} else if (b->held++ == 0) {
		first = *b;
	}
	pthread_mutex_unlock(&budgets_lock);
	if (done.held)
		log_held_back(st, &done, done.held, ticket);
	if (first.client[0])
		log_held_back(st, &first, 0, ticket);
	return ok;
}

bool access_refusal_budget(struct steward *st, const char *client, int64_t user)
{
	return budget(st, client, user, NULL);
}

void access_refusal_budget_flush(struct steward *st)
{
	for (size_t i = 0; i < BUDGET_SLOTS; i++) {
		pthread_mutex_lock(&budgets_lock);
		struct budget b = budgets[i];
		memset(&budgets[i], 0, sizeof(budgets[i]));
		pthread_mutex_unlock(&budgets_lock);
		if (b.client[0] && b.held)
			log_held_back(st, &b, b.held, NULL);
	}
}

int access_record_invalid(struct steward *st, const struct actor *who, const char *endpoint,
			  const struct st_error *err, struct st_error *e)
{
	/* Only what the server chose to say: the code, and the field unless the
	 * field is itself input (an unknown key could be anything). Never the
	 * message, which may quote what was sent. */
	bool input_named = str_eq(err->code, "unknown_field");
	json_t *detail = json_pack("{s:s, s:s, s:s}", "endpoint", endpoint ? endpoint : "",
				   "code", err->code, "field", input_named ? "(not a field)" : err->field);
	char reason[96];
	snprintf(reason, sizeof(reason), "refused as invalid (%s)", err->code);
	struct audit_event ev = {.action = "request.invalid", .outcome = "deny", .reason = reason,
				 .detail = detail};
	struct st_error le = {0};
	int rc = steward_audit(st, who, &ev, NULL, &le);
	json_decref(detail);
	if (rc != ST_OK && e)
		*e = le;
	return rc;
}

int access_refuse(struct steward *st, const struct actor *who, const char *action,
		  const char *code, const char *reason, struct st_error *e)
{
	struct audit_event ev = {.action = action, .outcome = "deny", .reason = reason};
	/* a stranger's refusals are logged one by one up to a budget per
	 * address and minute, then counted (request.refused_many) */
	if (who->user_id == 0 && !budget(st, who->client, 0, who->ticket))
		return err_setc(e, ST_EDENIED, code, NULL, "%s", reason);
	struct st_error le = {0};
	int lrc = steward_audit(st, who, &ev, NULL, &le);
	if (lrc != ST_OK) {
		if (e)
			*e = le;
		return lrc;
	}
	return err_setc(e, ST_EDENIED, code, NULL, "%s", reason);
}
