/*
 * review.c - the questions a district asks of its rules: why was (or would
 * be) this access allowed or refused; who may see a category or one
 * student's records (IDEA 34 CFR 300.623's list of names and positions);
 * what can one person reach (periodic access reviews). Every answer comes
 * from the same decision every access passes.
 */
#include "access/access_internal.h"
#include "policy/model_internal.h"

static json_t *obligations_json(const struct policy *p, const struct decision *d)
{
	json_t *o = json_object();
	if (d->rule < 0 || !d->allow)
		return o;
	const struct rule *r = &p->rules[d->rule];
	json_t *mask = json_object();
	for (int i = 0; i < r->nmasks; i++)
		json_object_set_new(mask, r->masks[i].field, json_string(mask_name(r->masks[i].kind)));
	json_object_set_new(o, "mask", mask);
	json_object_set_new(o, "purpose_required", json_boolean(r->need_purpose));
	json_object_set_new(o, "disclosure", json_boolean(r->disclosure));
	return o;
}

static json_t *decision_json(const struct policy *p, struct steward *st,
			     const struct access_request *r, const struct decision *d)
{
	char reason[320];
	model_rdlock(st->model);
	decision_explain(p, st->model, r, d, reason, sizeof(reason));
	model_unlock(st->model);
	json_t *o = json_pack("{s:b, s:s, s:s?, s:s?}", "allow", d->allow, "reason", reason, "rule",
			      d->rule >= 0 ? p->rules[d->rule].id : NULL, "role",
			      d->role >= 0 ? p->roles[d->role] : NULL);
	if (d->allow)
		json_object_set_new(o, "through", json_string(relkind_name(d->through)));
	json_object_set_new(o, "obligations", obligations_json(p, d));
	return o;
}

/* Whether a user account exists (in the live facts). */
static bool user_known(struct steward *st, int64_t user)
{
	struct model_user_view v = {0};
	model_rdlock(st->model);
	bool found = user > 0 && user < (int64_t)UINT32_MAX &&
		     model_user_view(st->model, (uint32_t)user, &v);
	model_unlock(st->model);
	return found;
}

/* Whether a subject exists. */
static int subject_known(struct steward *st, int64_t subject, struct st_error *e)
{
	struct store_conn *c = NULL;
	int64_t n = 0;
	int rc = store_acquire(st->db, &c, e);
	if (rc == ST_OK) {
		rc = store_query_int(c, &n, e, "SELECT COUNT(*) FROM subject WHERE id = ?", "i",
				     subject);
		store_release(c);
	}
	if (rc == ST_OK && !n)
		rc = err_setc(e, ST_ENOTFOUND, "subject_not_found", "subject", "no subject %lld",
			      (long long)subject);
	return rc;
}

static bool is_self(const struct actor *who, int64_t user)
{
	return who->user_id != 0 && who->user_id == user;
}

int access_explain(struct steward *st, const struct actor *who, int64_t user,
		   const char *action, int64_t record, const char *purpose, bool mfa,
		   json_t **out, struct st_error *e)
{
	json_t *detail = json_pack("{s:I, s:s?}", "user", (json_int_t)user, "action", action);
	struct audit_event ev = {.action = "policy.explain", .record_id = record, .detail = detail};
	/* Anyone may ask why they themselves may or may not act on a record;
	 * but unless they could read it, or review access for the district,
	 * the answer does not say what the record is (its category, its
	 * subject, the rule): record ids must not become a map of who has a
	 * special-education or health file. */
	bool self_only = is_self(who, user) && !access_holds(st, who, ADM_REVIEW);
	int rc = self_only ? ST_OK : access_admin(st, who, ADM_REVIEW, &ev, e);
	enum action act = ACT_READ;
	if (rc == ST_OK && action && action_parse(action, &act) != ST_OK)
		rc = err_setc(e, ST_EINVAL, "bad_value", "action",
			      "action must be read, create, update, delete, export or disclose");
	if (rc == ST_OK && (user <= 0 || user >= (int64_t)UINT32_MAX))
		rc = err_setc(e, ST_EINVAL, "bad_value", "user", "\"user\" must be a user id");
	if (rc == ST_OK && !user_known(st, user))
		rc = err_setc(e, ST_ENOTFOUND, "user_not_found", "user", "no user %lld",
			      (long long)user);
	struct {
		int64_t subject_id;
		char category[64];
	} row = {0};
	bool record_missing = false;
	if (rc == ST_OK) {
		/* only the record's subject and category: nothing is decrypted */
		struct store_conn *c = NULL;
		rc = store_acquire(st->db, &c, e);
		struct store_stmt *s;
		if (rc == ST_OK &&
		    (rc = store_prepare(c, "SELECT subject_id, category FROM record WHERE id = ?", &s,
					e)) == ST_OK) {
			store_bind(s, "i", record);
			rc = store_step(s, e);
			if (rc == STORE_ROW) {
				row.subject_id = store_col_int(s, 0);
				str_copy(row.category, sizeof(row.category), store_col_text(s, 1));
				rc = ST_OK;
			} else if (rc == STORE_DONE) {
				record_missing = true;
				rc = err_setc(e, ST_ENOTFOUND, "record_not_found", "record",
					      "no record %lld", (long long)record);
			}
			store_done(s);
		}
		if (c)
			store_release(c);
	}
	if (record_missing && self_only) {
		/* the same answer as for a record one may not see (those who
		 * review access hear 404, as for any record they ask for) */
		err_clear(e);
		rc = ST_OK;
		row.subject_id = -1;
	}
	if (rc == ST_OK) {
		struct policy *p = steward_policy(st);
		const struct inv_category *cat = inventory_category(p->inv, row.category);
		struct access_request r = {.user = (uint32_t)user, .action = act,
					   .subject = (uint64_t)row.subject_id,
					   .category = cat ? cat->index : -1, .mfa = mfa,
					   .purpose = purpose, .now = time_now()};
		struct decision d;
		if (!policy_decide(p, st->model, &r, &d) && !cat)
			d.reason = R_BAD_REQUEST;
		bool may_read = true;
		if (self_only) {
			struct access_request rr = r;
			struct decision rd;
			rr.action = ACT_READ;
			may_read = row.subject_id > 0 && cat && policy_decide(p, st->model, &rr, &rd);
		} else {
			/* a reviewer hears what the record is only if their own
			 * duties reach it (HR reviews access, but a student's
			 * health file is not HR's to know of) */
			may_read = row.subject_id > 0 && cat &&
				   access_reaches(st, who, p, row.subject_id, cat->index);
		}
		json_t *o;
		if (may_read) {
			o = decision_json(p, st, &r, &d);
			json_object_set_new(o, "subject", json_integer(row.subject_id));
			json_object_set_new(o, "category", json_string(row.category));
		} else if (self_only) {
			o = json_pack("{s:b, s:s}", "allow", 0, "reason",
				      "you have no access to this record; the superintendent's "
				      "designee can explain why");
			json_object_set_new(detail, "answered", json_string("no access"));
		} else {
			o = json_pack("{s:n, s:s}", "allow", "reason",
				      "your own duties do not reach this record, so nothing about it "
				      "is shown; someone whose duties do (the superintendent's "
				      "designee) can explain it");
			json_object_set_new(detail, "answered", json_string("no access"));
		}
		json_object_set_new(o, "user", json_integer(user));
		json_object_set_new(o, "action", json_string(action_name(act)));
		json_object_set_new(o, "record", json_integer(record));
		policy_unref(p);
		if (row.subject_id < 0)
			row.subject_id = 0, row.category[0] = '\0';
		ev.subject_id = row.subject_id;
		ev.category = row.category;
		ev.outcome = "allow";
		rc = steward_audit(st, who, &ev, NULL, e);
		if (rc == ST_OK)
			*out = o;
		else
			json_decref(o);
	}
	json_decref(detail);
	return rc;
}

/* Names and positions of users, from the database. */
static void add_names(struct steward *st, json_t *users)
{
	struct store_conn *c;
	if (store_acquire(st->db, &c, NULL) != ST_OK)
		return;
	size_t i;
	json_t *u;
	json_array_foreach(users, i, u) {
		struct store_stmt *s;
		if (store_prepare(c,
				  "SELECT u.display_name, u.position, o.code FROM app_user u "
				  "LEFT JOIN organization o ON o.id = u.organization_id WHERE u.id = ?",
				  &s, NULL) != ST_OK)
			break;
		store_bind(s, "i", (int64_t)json_integer_value(json_object_get(u, "id")));
		if (store_step(s, NULL) == STORE_ROW) {
			/* names and positions (IDEA 300.623), never sign-in names */
			json_object_set_new(u, "display_name", json_string(store_col_text(s, 0)));
			json_object_set_new(u, "position", json_string(store_col_text(s, 1)));
			json_object_set_new(u, "organization",
					    store_col_null(s, 2) ? json_null()
								 : json_string(store_col_text(s, 2)));
		}
		store_done(s);
	}
	store_release(c);
}

static json_t *kinds_json(uint16_t kinds)
{
	json_t *a = json_array();
	for (int k = 0; k < REL_COUNT; k++)
		if (kinds >> k & 1)
			json_array_append_new(a, json_string(relkind_name((enum relkind)k)));
	return a;
}

/* For each organization id, one of its subjects (0: none); *n receives
 * the table's length. Called under the model's read lock. */
static uint64_t *org_subjects(const struct model *m, uint32_t *n)
{
	uint64_t count = model_subject_count(m);
	uint32_t max = 0;
	for (uint64_t s = 1; s < count; s++)
		if (model_subject_org(m, s) > max)
			max = model_subject_org(m, s);
	uint64_t *t = xcalloc((size_t)max + 1, sizeof(*t));
	for (uint64_t s = 1; s < count; s++) {
		uint32_t o = model_subject_org(m, s);
		if (!t[o])
			t[o] = s;
	}
	*n = max + 1;
	return t;
}

/* Whether a user's duties reach some subject's records of a category: the
 * subjects their stored relationships name, one subject of their school, of
 * each organization their agreement or an organization-wide grant covers,
 * and any subject for district-wide rules; each decided by policy_decide
 * (reach). The first allowance names the rule and role; `through` gathers
 * every relationship kind that carries one. */
struct reach_list {
	const struct policy *p;
	const struct model *m;
	uint32_t user;
	enum action act;
	int category;
	int64_t now;
	const uint64_t *org_subject;
	uint32_t norgs;
	/* out */
	int rule, role;
	uint16_t through;
};

static void reach_try(struct reach_list *rl, uint64_t subject)
{
	if (!subject)
		return;
	struct access_request r = {.user = rl->user, .action = rl->act, .subject = subject,
				   .category = rl->category, .mfa = true, .now = rl->now,
				   .reach = true};
	struct decision d;
	if (!policy_decide_locked(rl->p, rl->m, &r, &d))
		return;
	if (!rl->through) {
		rl->rule = d.rule;
		rl->role = d.role;
	}
	rl->through |= (uint16_t)(1u << d.through);
}

static uint64_t org_subject(const struct reach_list *rl, uint32_t org)
{
	return org < rl->norgs ? rl->org_subject[org] : 0;
}

static void reach_rel(void *ctx, uint64_t subject, uint32_t org, enum relkind kind,
		      uint64_t categories, int64_t start, int64_t end, int64_t id)
{
	(void)kind;
	(void)categories;
	(void)start;
	(void)end;
	(void)id;
	struct reach_list *rl = ctx;
	reach_try(rl, subject ? subject : org_subject(rl, org));
}

static bool reach_any(struct reach_list *rl)
{
	struct model_user_view v;
	if (!model_user_view(rl->m, rl->user, &v))
		return false;
	/* district-wide: any subject at all (the first of any organization) */
	for (uint32_t o = 0; o < rl->norgs; o++)
		if (rl->org_subject[o]) {
			reach_try(rl, rl->org_subject[o]);
			break;
		}
	reach_try(rl, org_subject(rl, v.org));
	struct agreement_view a;
	if (v.agreement && model_agreement(rl->m, v.agreement, &a))
		for (size_t i = 0; i < a.norgs; i++)
			reach_try(rl, org_subject(rl, a.orgs[i]));
	model_user_relationships(rl->m, rl->user, reach_rel, rl);
	return rl->through != 0;
}

int access_who_can(struct steward *st, const struct actor *who, const char *category,
		   int64_t subject, const char *action, json_t **out, struct st_error *e)
{
	json_t *detail = json_pack("{s:s?, s:I, s:s?}", "category", category, "subject",
				   (json_int_t)subject, "action", action);
	struct audit_event ev = {.action = "policy.who_can", .subject_id = subject,
				 .category = category, .detail = detail};
	int rc = ST_OK;
	/* The category-wide list is public (IDEA 300.623); one subject's is
	 * not: it reveals who works with that student. */
	if (subject)
		rc = access_admin(st, who, ADM_REVIEW, &ev, e);
	if (rc == ST_OK && subject)
		rc = subject_known(st, subject, e);
	struct policy *p = steward_policy(st);
	enum action act = ACT_READ;
	if (rc == ST_OK && action && action_parse(action, &act) != ST_OK)
		rc = err_setc(e, ST_EINVAL, "bad_value", "action",
			      "action must be read, create, update, delete, export or disclose");
	const struct inv_category *cat = category ? inventory_category(p->inv, category) : NULL;
	if (rc == ST_OK && category && !cat)
		rc = err_setc(e, ST_EINVAL, "unknown_category", "category",
			      "\"%s\" is not a category of the data inventory", category);
	if (rc == ST_OK && !cat && !subject)
		rc = err_setc(e, ST_EINVAL, "missing_field", "category",
			      "give a category, a subject, or both");
	json_t *users = json_array();
	int64_t now = time_now();
	if (rc == ST_OK) {
		model_rdlock(st->model);
		uint32_t n = model_user_count(st->model);
		/* one subject of each organization stands for all of its own */
		uint64_t *orgs = NULL;
		uint32_t norgs = 0;
		if (!subject)
			orgs = org_subjects(st->model, &norgs);
		/* who works with one student tells what files the student has:
		 * only of the categories the asker's own duties reach there */
		bool told[INV_MAX_CATEGORIES] = {0};
		for (size_t c = 0; subject && c < p->inv->ncats; c++)
			told[c] = access_reaches_locked(st, who, p, subject, 0, (int)c);
		for (uint32_t id = 1; id < n; id++) {
			struct model_user_view v;
			if (!model_user_view(st->model, id, &v))
				continue;
			if (subject) {
				/* exactly what decide would say, for each category */
				for (size_t c = 0; c < p->inv->ncats; c++) {
					if ((cat && (size_t)cat->index != c) || !told[c])
						continue;
					struct access_request r = {.user = id, .action = act,
								   .subject = (uint64_t)subject,
								   .category = (int)c, .mfa = true,
								   .purpose = "review", .now = now};
					struct decision d;
					if (!policy_decide_locked(p, st->model, &r, &d))
						continue;
					json_array_append_new(
						users, json_pack("{s:I, s:s, s:s, s:s, s:s}", "id",
								 (json_int_t)id, "category",
								 p->inv->cats[c].name, "role",
								 p->roles[d.role], "rule",
								 p->rules[d.rule].id, "through",
								 relkind_name(d.through)));
				}
				continue;
			}
			/* category-wide: everyone whose duties reach at least one
			 * subject's records of the category, exactly as decide
			 * would say with training, multi-factor and a purpose
			 * taken as met (training is shown apart) */
			struct reach_list rl = {.p = p, .m = st->model, .user = id, .act = act,
						.category = cat->index, .now = now, .org_subject = orgs,
						.norgs = norgs};
			if (!reach_any(&rl))
				continue;
			const struct muser *mu = model_user(st->model, id);
			struct muser_fields f;
			model_user_fields(mu, &f);
			json_array_append_new(
				users, json_pack("{s:I, s:s, s:s, s:o, s:b}", "id", (json_int_t)id,
						 "role", p->roles[rl.role], "rule",
						 p->rules[rl.rule].id, "through",
						 kinds_json(rl.through), "training_current",
						 cat->classification < p->training_from ||
							 f.training_expires > now));
		}
		model_unlock(st->model);
		free(orgs);
		add_names(st, users);
	}
	if (rc == ST_OK) {
		ev.outcome = "allow";
		rc = steward_audit(st, who, &ev, NULL, e);
	}
	if (rc == ST_OK) {
		*out = json_pack("{s:s?, s:I, s:s, s:o}", "category", category, "subject",
				 (json_int_t)subject, "action", action_name(act), "users", users);
		if (!subject)
			json_object_del(*out, "subject");
	} else {
		json_decref(users);
	}
	json_decref(detail);
	policy_unref(p);
	return rc;
}

struct what_ctx {
	json_t *subjects;
	int64_t now;
	const struct policy *p;
	struct steward *st;
	const struct actor *who; /* the asker */
	uint32_t roles;          /* the user's roles */
};

static bool what_told(const struct what_ctx *w, uint64_t subject, uint32_t org, enum relkind kind,
		      uint64_t categories)
{
	return access_sees_relationship_locked(w->st, w->who, w->p, w->roles, (int64_t)subject, org,
					       kind, categories);
}

static void what_rel(void *ctx, uint64_t subject, uint32_t org, enum relkind kind,
		     uint64_t categories, int64_t start, int64_t end, int64_t id)
{
	struct what_ctx *w = ctx;
	if (w->now < start || w->now >= end || !what_told(w, subject, org, kind, categories))
		return;
	json_t *o = json_pack("{s:I, s:s}", "relationship", (json_int_t)id, "kind",
			      relkind_name(kind));
	if (subject)
		json_object_set_new(o, "subject", json_integer((json_int_t)subject));
	else
		json_object_set_new(o, "organization_id", json_integer(org));
	if (kind == REL_GRANT) {
		json_t *cats = json_array();
		for (size_t c = 0; c < w->p->inv->ncats; c++)
			if (categories >> c & 1)
				json_array_append_new(cats, json_string(w->p->inv->cats[c].name));
		json_object_set_new(o, "categories", cats);
	}
	if (end != INT64_MAX) {
		char ts[16];
		time_format_date(end, ts);
		json_object_set_new(o, "until", json_string(ts));
	}
	json_array_append_new(w->subjects, o);
}

int access_what_can(struct steward *st, const struct actor *who, int64_t user, json_t **out,
		    struct st_error *e)
{
	json_t *detail = json_pack("{s:I}", "user", (json_int_t)user);
	struct audit_event ev = {.action = "policy.what_can", .detail = detail};
	int rc = is_self(who, user) ? ST_OK : access_admin(st, who, ADM_REVIEW, &ev, e);
	struct policy *p = steward_policy(st);
	struct model_user_view v = {0};
	if (rc == ST_OK) {
		model_rdlock(st->model);
		bool found = user > 0 && user < (int64_t)UINT32_MAX &&
			     model_user_view(st->model, (uint32_t)user, &v);
		model_unlock(st->model);
		if (!found)
			rc = err_setc(e, ST_ENOTFOUND, "user_not_found", "user", "no user %lld",
				      (long long)user);
	}
	json_t *o = NULL;
	if (rc == ST_OK) {
		json_t *cats = json_array();
		for (size_t c = 0; c < p->inv->ncats; c++)
			for (int a = 0; a < ACT_COUNT; a++) {
				uint32_t forbidden = 0;
				for (int k = 0; k < p->nforbid_by[a][c]; k++)
					forbidden |= p->rules[p->forbid_by[a][c][k]].roles;
				if (v.roles & forbidden)
					continue;
				for (int k = 0; k < p->nallow_by[a][c]; k++) {
					const struct rule *ru = &p->rules[p->allow_by[a][c][k]];
					if (!(ru->roles & v.roles))
						continue;
					json_array_append_new(
						cats, json_pack("{s:s, s:s, s:s, s:o}", "category",
								p->inv->cats[c].name, "action",
								action_name((enum action)a), "rule",
								ru->id, "through",
								kinds_json(ru->through)));
					break;
				}
			}
		struct what_ctx w = {json_array(), time_now(), p, st, who, v.roles};
		model_rdlock(st->model);
		model_user_relationships(st->model, (uint32_t)user, what_rel, &w);
		model_unlock(st->model);
		o = json_pack("{s:I, s:s, s:s, s:o, s:o}", "user", (json_int_t)user, "kind",
			      user_kind_name(v.kind), "status", user_status_name(v.status),
			      "categories", cats, "relationships", w.subjects);
		json_t *roles = json_array();
		for (int r = 0; r < p->nroles; r++)
			if (v.roles >> r & 1)
				json_array_append_new(roles, json_string(p->roles[r]));
		json_object_set_new(o, "roles", roles);
		if (v.org)
			json_object_set_new(o, "school_staff_of_organization_id", json_integer(v.org));
		if (v.agreement)
			json_object_set_new(o, "agreement", json_integer(v.agreement));
		ev.outcome = "allow";
		rc = steward_audit(st, who, &ev, NULL, e);
	}
	if (rc == ST_OK)
		*out = o;
	else
		json_decref(o);
	json_decref(detail);
	policy_unref(p);
	return rc;
}
