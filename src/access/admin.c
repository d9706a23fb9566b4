/*
 * admin.c - the administrative acts that change who may see what:
 * organizations, users and their roles and status, suspensions, training
 * completions, contractor agreements and need-to-know relationships.
 *
 * Each passes access_admin() (a role holding the permission, a
 * multi-factor session), is validated before anything is written, is
 * written in one transaction that commits only after its event is durable,
 * and is applied to the live facts before the call returns, so the very
 * next decision sees it. Nobody changes their own roles, status or
 * suspensions; nobody grants a role that carries administrative powers
 * they do not hold themselves, nor changes, disables or suspends an
 * account holding powers they lack; and no change may leave the district
 * with nobody able to change the rules.
 */
#include "access/access_internal.h"
#include "policy/model_internal.h"

/* Where a note stands (a suspension's reason, a grant's purpose), which its
 * seal is bound to. */
static void note_where(char out[96], const char *column, int64_t user)
{
	snprintf(out, 96, "%s|user=%lld", column, (long long)user);
}

static const char *const suspension_kinds[] = {"pending_investigation", "temporary",
					       "long_term", "permanent"};

/* Runs a write transaction: fn writes, then the event is logged, then the
 * transaction commits (access_logged_write, write.c). */
static int logged_write(struct steward *st, const struct actor *who, struct audit_event *ev,
			int (*fn)(void *ctx, struct store_conn *c, struct st_error *e), void *ctx,
			struct st_error *e)
{
	return access_logged_write(st, who, ev, fn, ctx, e);
}

static uint32_t admin_perms_of_roles(const struct policy *p, uint32_t roles)
{
	uint32_t perms = 0;
	for (int k = 0; k < ADM_COUNT; k++)
		if (p->admin_roles[k] & roles)
			perms |= 1u << k;
	return perms;
}

/* Logs ev as refused with the reason and returns ST_EDENIED naming field. */
static int refused(struct steward *st, const struct actor *who, struct audit_event *ev,
		   const char *field, const char *reason, struct st_error *e)
{
	ev->outcome = "deny";
	ev->reason = reason;
	struct st_error le = {0};
	int lrc = steward_audit(st, who, ev, NULL, &le);
	if (lrc != ST_OK) {
		if (e)
			*e = le;
		return lrc;
	}
	return err_setc(e, ST_EDENIED, "forbidden", field, "%s", reason);
}

static uint32_t user_roles(struct steward *st, int64_t id)
{
	struct model_user_view v;
	model_rdlock(st->model);
	bool found = id > 0 && id < (int64_t)UINT32_MAX &&
		     model_user_view(st->model, (uint32_t)id, &v);
	model_unlock(st->model);
	return found ? v.roles : 0;
}

/* Refuses to change an account that holds administrative powers the actor
 * lacks: an IT administrator may not demote, disable or suspend the
 * superintendent's designee. */
static int check_target(struct steward *st, const struct actor *who, const struct policy *p,
			int64_t target, struct audit_event *ev, const char *what,
			struct st_error *e)
{
	if (who->user_id == 0)
		return ST_OK;
	uint32_t mine = admin_perms_of_roles(p, user_roles(st, who->user_id));
	uint32_t theirs = admin_perms_of_roles(p, user_roles(st, target));
	if ((theirs & ~mine) == 0)
		return ST_OK;
	char reason[200];
	snprintf(reason, sizeof(reason),
		 "this account holds administrative powers yours does not; only someone who "
		 "holds them may change its %s",
		 what);
	return refused(st, who, ev, "id", reason, e);
}

int access_check_target(struct steward *st, const struct actor *who, int64_t target,
			struct audit_event *ev, const char *what, struct st_error *e)
{
	struct policy *p = steward_policy(st);
	int rc = check_target(st, who, p, target, ev, what, e);
	policy_unref(p);
	return rc;
}

static pthread_mutex_t holders = PTHREAD_MUTEX_INITIALIZER;

void access_holders_lock(void)
{
	pthread_mutex_lock(&holders);
}

void access_holders_unlock(void)
{
	pthread_mutex_unlock(&holders);
}

/* Whether an account can change the rules now: active, not suspended, in
 * a role holding the power. Called with the model read-locked. */
static bool can_change_rules(struct steward *st, const struct policy *p, uint32_t id,
			     int64_t now)
{
	struct model_user_view v;
	int64_t until = 0, sid = 0;
	if (!model_user_view(st->model, id, &v) || v.status != US_ACTIVE ||
	    !(v.roles & p->admin_roles[ADM_POLICY]))
		return false;
	const struct muser *mu = model_user(st->model, id);
	return mu && !model_suspended(mu, now, &until, &sid);
}

/* Refuses a change that takes the power to change the rules from the last
 * account that can use it. new_roles: the target's roles after the change;
 * stays: whether it stays active and unsuspended. Only a change to an
 * account that holds the power now can do that; the system itself (local
 * administration, for recovery) may. Call under access_holders_lock(). */
static int keep_policy_holder(struct steward *st, const struct actor *who,
			      const struct policy *p, int64_t target, uint32_t new_roles,
			      bool stays, struct audit_event *ev, struct st_error *e)
{
	if (who->user_id == 0 || target <= 0 || target >= (int64_t)UINT32_MAX)
		return ST_OK;
	if (stays && (new_roles & p->admin_roles[ADM_POLICY]))
		return ST_OK;
	int64_t now = time_now();
	bool last = false;
	model_rdlock(st->model);
	if (can_change_rules(st, p, (uint32_t)target, now)) {
		last = true;
		uint32_t n = model_user_count(st->model);
		for (uint32_t id = 1; id < n && last; id++)
			if ((int64_t)id != target && can_change_rules(st, p, id, now))
				last = false;
	}
	model_unlock(st->model);
	if (!last)
		return ST_OK;
	return refused(st, who, ev, "id",
		       "this is the last account able to change the rules; give another account "
		       "that power first (or use local administration)",
		       e);
}

/* Refuses roles that carry administrative permissions the actor lacks. */
/* Whether role r is one of the designated few that a forbid rule excepts
 * (child abuse reports: the designee, counselors, the attorney). */
static bool designated(const struct policy *p, int r)
{
	for (int f = 0; f < p->nrules; f++)
		if (p->rules[f].forbid && (p->rules[f].designated >> r & 1))
			return true;
	return false;
}

static int check_escalation(struct steward *st, const struct actor *who, const struct policy *p,
			    uint32_t roles, struct audit_event *ev, struct st_error *e)
{
	if (who->user_id == 0)
		return ST_OK;
	struct model_user_view me;
	model_rdlock(st->model);
	bool found = model_user_view(st->model, (uint32_t)who->user_id, &me);
	model_unlock(st->model);
	uint32_t mine = found ? admin_perms_of_roles(p, me.roles) : 0;
	for (int r = 0; r < p->nroles; r++) {
		if (!(roles >> r & 1))
			continue;
		uint32_t needs = admin_perms_of_roles(p, 1u << r);
		if ((needs & ~mine) == 0)
			continue;
		char reason[200];
		snprintf(reason, sizeof(reason),
			 "the %s role carries administrative powers this account does not hold; "
			 "only someone who holds them may grant it",
			 p->roles[r]);
		return refused(st, who, ev, "roles", reason, e);
	}
	/* A role designated for records kept from everyone else (child abuse
	 * reports, RSMo 210.150) is a door to them: whoever could hand it to an
	 * account whose password they know could walk through. Only those who
	 * hold the power to change the rules (the superintendent's designee)
	 * may grant it. */
	if (mine & (1u << ADM_POLICY))
		return ST_OK;
	for (int r = 0; r < p->nroles; r++) {
		if (!(roles >> r & 1) || !designated(p, r))
			continue;
		char reason[220];
		snprintf(reason, sizeof(reason),
			 "the %s role is designated for records kept from everyone else; only "
			 "someone who may change the rules (the superintendent's designee) may "
			 "grant it",
			 p->roles[r]);
		return refused(st, who, ev, "roles", reason, e);
	}
	return ST_OK;
}

static int refuse_self(struct steward *st, const struct actor *who, int64_t target,
		       struct audit_event *ev, const char *what, struct st_error *e)
{
	if (who->user_id == 0 || who->user_id != target)
		return ST_OK;
	char reason[160];
	snprintf(reason, sizeof(reason), "nobody may change their own %s", what);
	return refused(st, who, ev, "id", reason, e);
}

static int check_conferral(struct steward *st, const struct actor *who, const struct policy *p,
			   const struct conferral *cf, struct audit_event *ev, const char *field,
			   struct st_error *e);

/* Refuses (logged) an act that hands over or reopens everything an account
 * reads — its sign-in (a reset, an enrolment code), its return from a
 * suspension or a disabled state — unless the actor's own duties reach all
 * of it: whoever can sign in as a nurse reads what the nurse reads. */
static int check_whole_account(struct steward *st, const struct actor *who,
			       const struct policy *p, int64_t target, struct audit_event *ev,
			       const char *field, struct st_error *e)
{
	if (who->user_id == 0 || target <= 0 || target >= (int64_t)UINT32_MAX)
		return ST_OK;
	struct model_user_view v = {0};
	model_rdlock(st->model);
	bool known = model_user_view(st->model, (uint32_t)target, &v);
	model_unlock(st->model);
	if (!known)
		return ST_OK; /* (reported as an unknown account by the write) */
	struct conferral cf = {.roles = v.roles, .derived = true, .org = v.org,
			       .agreement = v.agreement, .user = (uint32_t)target};
	return check_conferral(st, who, p, &cf, ev, field, e);
}

int access_admin_over(struct steward *st, const struct actor *who, enum admin_perm perm,
		      int64_t target, struct audit_event *ev, const char *what, struct st_error *e)
{
	int rc = access_admin(st, who, perm, ev, e);
	if (rc == ST_OK)
		rc = refuse_self(st, who, target, ev, what, e);
	if (rc == ST_OK) {
		struct policy *p = steward_policy(st);
		rc = check_target(st, who, p, target, ev, what, e);
		/* whoever holds an account's sign-in reads what it reads */
		if (rc == ST_OK)
			rc = check_whole_account(st, who, p, target, ev, "id", e);
		policy_unref(p);
	}
	return rc;
}

static int roles_mask(const struct policy *p, const char *const *roles, size_t n, uint32_t *mask,
		      struct st_error *e)
{
	*mask = 0;
	for (size_t i = 0; i < n; i++) {
		int r = roles[i] ? policy_role(p, roles[i]) : -1;
		if (r < 0)
			return err_setc(e, ST_EINVAL, "unknown_role", "roles",
					"\"%s\" is not a role in the rules", roles[i] ? roles[i] : "");
		*mask |= 1u << r;
	}
	return ST_OK;
}

static int user_exists(struct store_conn *c, int64_t id, struct st_error *e)
{
	int64_t n = 0;
	int rc = store_query_int(c, &n, e, "SELECT COUNT(*) FROM app_user WHERE id = ?", "i", id);
	if (rc == ST_OK && !n)
		rc = err_setc(e, ST_ENOTFOUND, "user_not_found", "user", "no user %lld",
			      (long long)id);
	return rc;
}

/* An organization's id by code, read before a change is decided; 0 when
 * there is none (the write itself reports it). */
static uint32_t org_lookup(struct steward *st, const char *code)
{
	if (!code)
		return 0;
	struct store_conn *c;
	if (store_acquire(st->db, &c, NULL) != ST_OK)
		return 0;
	int64_t id = 0;
	if (org_find(c, code, &id, NULL) != ST_OK)
		id = 0;
	store_release(c);
	return id > 0 && id < (int64_t)UINT32_MAX ? (uint32_t)id : 0;
}

/* Whether any allow rule names one of these roles: granting them confers
 * access to records. */
static bool roles_reach_records(const struct policy *p, uint32_t roles)
{
	for (int i = 0; i < p->nrules; i++)
		if (!p->rules[i].forbid && (p->rules[i].roles & roles))
			return true;
	return false;
}

/* Refuses (logged) what would let the account read more than the actor
 * could read themselves (access/confer.c). */
static int check_conferral(struct steward *st, const struct actor *who, const struct policy *p,
			   const struct conferral *cf, struct audit_event *ev, const char *field,
			   struct st_error *e)
{
	char why[400];
	if (access_confer_ok(st, who, p, cf, why, sizeof(why)))
		return ST_OK;
	return refused(st, who, ev, field, why, e);
}

/* Roles whose rules read records are conferred by those holding the power
 * to confer access, which is apart from managing accounts; and never
 * beyond what the actor could read. */
static int check_role_grant(struct steward *st, const struct actor *who, const struct policy *p,
			    const struct conferral *cf, struct audit_event *ev, struct st_error *e)
{
	if (!roles_reach_records(p, cf->roles))
		return ST_OK;
	int rc = access_admin(st, who, ADM_ACCESS, ev, e);
	if (rc == ST_OK)
		rc = check_conferral(st, who, p, cf, ev, "roles", e);
	return rc;
}

/* --- organizations ------------------------------------------------------ */

struct org_ctx {
	const char *code, *name, *kind;
	int64_t id;
};

static int org_write(void *ctx, struct store_conn *c, struct st_error *e)
{
	struct org_ctx *o = ctx;
	return org_create(c, o->code, o->name, o->kind, &o->id, e);
}

static bool valid_code(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > 48)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' || s[i] == '.'))
			return false;
	return true;
}

int organization_create(struct steward *st, const struct actor *who, const char *code,
			const char *name, const char *kind, int64_t *id, struct st_error *e)
{
	json_t *detail = json_pack("{s:s?, s:s?}", "code", code, "kind", kind);
	struct audit_event ev = {.action = "organization.create", .detail = detail};
	int rc = access_admin(st, who, ADM_SUBJECTS, &ev, e);
	if (rc == ST_OK && !valid_code(code))
		rc = err_setc(e, ST_EINVAL, "bad_value", "code",
			      "an organization code is 1-48 letters, digits, - _ .");
	if (rc == ST_OK && (!name || !*name || strlen(name) > 200 ||
			    !str_is_clean_utf8(name, strlen(name))))
		rc = err_setc(e, ST_EINVAL, "bad_value", "name",
			      "an organization needs a name of at most 200 characters");
	if (rc == ST_OK && !str_eq(kind, "school") && !str_eq(kind, "department") &&
	    !str_eq(kind, "district"))
		rc = err_setc(e, ST_EINVAL, "bad_value", "kind",
			      "kind must be school, department or district");
	struct org_ctx o = {code, name, kind, 0};
	if (rc == ST_OK)
		rc = logged_write(st, who, &ev, org_write, &o, e);
	json_decref(detail);
	if (rc == ST_OK)
		*id = o.id;
	return rc;
}

int organization_list(struct steward *st, const struct actor *who, json_t **out,
		      struct st_error *e)
{
	/* those who create accounts and subjects need the codes */
	struct audit_event ev = {.action = "organization.list"};
	static const enum admin_perm perms[] = {ADM_USERS, ADM_SUBJECTS};
	int rc = access_admin_any(st, who, perms, 2, &ev, e);
	if (rc != ST_OK)
		return rc;
	struct store_conn *c;
	rc = store_acquire(st->db, &c, e);
	if (rc != ST_OK)
		return rc;
	struct store_stmt *s = NULL;
	rc = store_prepare(c, "SELECT id, code, name, kind FROM organization ORDER BY code", &s, e);
	json_t *list = json_array();
	while (rc == ST_OK) {
		int step = store_step(s, e);
		if (step == STORE_DONE)
			break;
		if (step != STORE_ROW) {
			rc = step;
			break;
		}
		json_array_append_new(list, json_pack("{s:I, s:s, s:s, s:s}", "id",
						      (json_int_t)store_col_int(s, 0), "code",
						      store_col_text(s, 1), "name",
						      store_col_text(s, 2), "kind",
						      store_col_text(s, 3)));
	}
	store_done(s);
	store_release(c);
	if (rc == ST_OK) {
		/* served only once logged */
		ev.outcome = "allow";
		rc = steward_audit(st, who, &ev, NULL, e);
	}
	if (rc != ST_OK) {
		json_decref(list);
		return rc;
	}
	*out = json_pack("{s:o}", "organizations", list);
	return ST_OK;
}

/* --- users ---------------------------------------------------------------- */

struct user_ctx {
	const struct user_input *in;
	struct user_new u;
	int64_t id;
	int64_t org;
};

static int user_write(void *ctx, struct store_conn *c, struct st_error *e)
{
	struct user_ctx *u = ctx;
	int rc = user_insert(c, &u->u, &u->id, e);
	if (rc == ST_OK && u->in->agreement) {
		int64_t n = 0;
		rc = store_query_int(c, &n, e, "SELECT COUNT(*) FROM agreement WHERE id = ?", "i",
				     u->in->agreement);
		if (rc == ST_OK && !n)
			rc = err_setc(e, ST_ENOTFOUND, "agreement_not_found", "agreement",
				      "no agreement %lld", (long long)u->in->agreement);
		if (rc == ST_OK)
			rc = store_run(c, e, "UPDATE app_user SET agreement_id = ? WHERE id = ?",
				       "ii", u->in->agreement, u->id);
	}
	if (rc == ST_OK && u->in->organization)
		rc = org_find(c, u->in->organization, &u->org, e);
	return rc;
}

int user_create(struct steward *st, const struct actor *who, const struct user_input *in,
		int64_t *id, struct st_error *e)
{
	json_t *roles = json_array();
	for (size_t i = 0; i < in->nroles; i++)
		json_array_append_new(roles, json_string(in->roles[i] ? in->roles[i] : ""));
	json_t *detail = json_pack("{s:s?, s:s?, s:o}", "username", in->username, "kind",
				   in->kind ? in->kind : "employee", "roles", roles);
	struct audit_event ev = {.action = "user.create", .detail = detail};
	struct policy *p = steward_policy(st);
	enum user_kind kind = UK_EMPLOYEE;
	uint32_t mask = 0;
	int rc = access_admin(st, who, ADM_USERS, &ev, e);
	if (rc == ST_OK && in->kind && user_kind_parse(in->kind, &kind) != ST_OK)
		rc = err_setc(e, ST_EINVAL, "bad_value", "kind",
			      "kind must be employee, contractor, board_member or volunteer");
	if (rc == ST_OK && (!in->display_name || !*in->display_name ||
			    strlen(in->display_name) > 200 ||
			    !str_is_clean_utf8(in->display_name, strlen(in->display_name))))
		rc = err_setc(e, ST_EINVAL, "missing_field", "display_name",
			      "\"display_name\" is required (at most 200 characters)");
	if (rc == ST_OK)
		rc = roles_mask(p, in->roles, in->nroles, &mask, e);
	if (rc == ST_OK && kind == UK_CONTRACTOR && !in->agreement)
		rc = err_setc(e, ST_EINVAL, "missing_field", "agreement",
			      "a contractor account works only under an agreement: give its id");
	if (rc == ST_OK && kind != UK_CONTRACTOR && in->agreement)
		rc = err_setc(e, ST_EINVAL, "bad_value", "agreement",
			      "only contractor accounts carry an agreement");
	if (rc == ST_OK)
		rc = check_escalation(st, who, p, mask, &ev, e);
	if (rc == ST_OK) {
		struct conferral cf = {.roles = mask, .derived = true,
				       .org = org_lookup(st, in->organization),
				       .agreement = in->agreement > 0 && in->agreement < UINT32_MAX
							    ? (uint32_t)in->agreement
							    : 0};
		rc = check_role_grant(st, who, p, &cf, &ev, e);
	}
	char *issued = NULL;
	if (rc == ST_OK && !in->password && in->issued_password) {
		/* an account nobody can sign in to is of no use: hand over a
		 * one-time password, 24 characters from 18 random bytes */
		unsigned char raw[18];
		random_bytes(raw, sizeof(raw));
		issued = b64_encode(raw, sizeof(raw));
		secure_wipe(raw, sizeof(raw));
	}
	struct user_ctx u = {.in = in};
	u.u = (struct user_new){
		.username = in->username,
		.display_name = in->display_name,
		.kind = user_kind_name(kind),
		.organization = in->organization,
		.position = in->position,
		.roles = in->roles,
		.nroles = in->nroles,
		.password = issued ? issued : in->password,
		.must_change_password = issued ? true : in->must_change_password,
	};
	if (rc == ST_OK)
		rc = logged_write(st, who, &ev, user_write, &u, e);
	if (rc == ST_OK) {
		model_user_set(st->model, (uint32_t)u.id, kind, US_ACTIVE, mask, (uint32_t)u.org,
			       (uint32_t)in->agreement);
		*id = u.id;
		if (issued)
			*in->issued_password = issued, issued = NULL;
	}
	if (issued) {
		secure_wipe(issued, strlen(issued));
		free(issued);
	}
	json_decref(detail);
	policy_unref(p);
	return rc;
}

int user_find(struct steward *st, const char *username, int64_t *id, struct st_error *e)
{
	struct store_conn *c;
	int rc = store_acquire(st->db, &c, e);
	if (rc != ST_OK)
		return rc;
	rc = store_query_int(c, id, e, "SELECT id FROM app_user WHERE username = ?", "t", username);
	store_release(c);
	if (rc == ST_ENOTFOUND)
		err_set(e, ST_ENOTFOUND, "username", "no such user");
	return rc;
}

int user_get(struct steward *st, const struct actor *who, int64_t id, json_t **out,
	     struct st_error *e)
{
	json_t *detail = json_pack("{s:I}", "user", (json_int_t)id);
	struct audit_event ev = {.action = "user.read", .detail = detail};
	int rc = ST_OK;
	bool other = who->user_id != id;
	if (other) {
		/* user managers and reviewers may read accounts */
		static const enum admin_perm perms[] = {ADM_USERS, ADM_REVIEW};
		rc = access_admin_any(st, who, perms, 2, &ev, e);
	}
	if (rc != ST_OK) {
		json_decref(detail);
		return rc;
	}
	struct store_conn *c;
	rc = store_acquire(st->db, &c, e);
	if (rc != ST_OK) {
		json_decref(detail);
		return rc;
	}
	struct store_stmt *s;
	rc = store_prepare(c,
			   "SELECT u.username, u.display_name, u.kind, u.status, o.code, u.position, "
			   "u.agreement_id, u.created_at, u.must_change_password FROM app_user u "
			   "LEFT JOIN organization o ON o.id = u.organization_id WHERE u.id = ?",
			   &s, e);
	json_t *o = NULL;
	if (rc == ST_OK) {
		store_bind(s, "i", id);
		rc = store_step(s, e);
		if (rc == STORE_ROW) {
			char ts[32];
			time_format(store_col_int(s, 7), ts);
			o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s?, s:s, s:o, s:s, s:b}", "id",
				      (json_int_t)id, "username", store_col_text(s, 0),
				      "display_name", store_col_text(s, 1), "kind",
				      store_col_text(s, 2), "status", store_col_text(s, 3),
				      "organization", store_col_null(s, 4) ? NULL : store_col_text(s, 4),
				      "position", store_col_text(s, 5), "agreement",
				      store_col_null(s, 6) ? json_null()
							   : json_integer(store_col_int(s, 6)),
				      "created_at", ts, "must_change_password",
				      (int)store_col_int(s, 8));
			rc = ST_OK;
		} else if (rc == STORE_DONE) {
			rc = err_setc(e, ST_ENOTFOUND, "user_not_found", "id", "no user %lld",
				      (long long)id);
		}
		store_done(s);
	}
	if (rc == ST_OK) {
		json_t *roles = json_array();
		rc = store_prepare(c, "SELECT role FROM user_role WHERE user_id = ? ORDER BY role", &s,
				   e);
		if (rc == ST_OK) {
			store_bind(s, "i", id);
			while (store_step(s, e) == STORE_ROW)
				json_array_append_new(roles, json_string(store_col_text(s, 0)));
			store_done(s);
		}
		json_object_set_new(o, "roles", roles);
		json_t *susp = json_array();
		rc = store_prepare(c,
				   "SELECT id, kind, starts_at, until, reason FROM suspension WHERE "
				   "user_id = ? AND lifted_at IS NULL ORDER BY id",
				   &s, e);
		if (rc == ST_OK) {
			store_bind(s, "i", id);
			char where[96];
			note_where(where, "suspension.reason", id);
			/* why someone was suspended is for those who suspend */
			bool reasons = !other || access_holds(st, who, ADM_SUSPENSIONS);
			while (store_step(s, e) == STORE_ROW) {
				char from[32], until[32] = "";
				time_format(store_col_int(s, 2), from);
				if (!store_col_null(s, 3))
					time_format(store_col_int(s, 3), until);
				char *reason = NULL;
				if (!reasons)
					reason = xstrdup("(withheld: for those who manage suspensions)");
				else if (note_open(st, where, store_col_text(s, 4), &reason, NULL) !=
					 ST_OK)
					reason = xstrdup("(the reason cannot be read with this key)");
				json_array_append_new(
					susp, json_pack("{s:I, s:s, s:s, s:s?, s:s}", "id",
							(json_int_t)store_col_int(s, 0), "kind",
							store_col_text(s, 1), "from", from, "until",
							until[0] ? until : NULL, "reason", reason));
				secure_free_plain(reason, strlen(reason));
			}
			store_done(s);
		}
		json_object_set_new(o, "suspensions", susp);
		json_t *training = json_array();
		rc = store_prepare(c,
				   "SELECT course, MAX(completed_at), MAX(expires_at) FROM "
				   "training_completion WHERE user_id = ? GROUP BY course ORDER BY course",
				   &s, e);
		if (rc == ST_OK) {
			store_bind(s, "i", id);
			while (store_step(s, e) == STORE_ROW) {
				char done[16], exp[16];
				time_format_date(store_col_int(s, 1), done);
				time_format_date(store_col_int(s, 2), exp);
				json_array_append_new(training,
						      json_pack("{s:s, s:s, s:s, s:b}", "course",
								store_col_text(s, 0), "completed_on",
								done, "expires_on", exp, "current",
								store_col_int(s, 2) > time_now()));
			}
			store_done(s);
		}
		json_object_set_new(o, "training", training);
	}
	store_release(c);
	/* another person's account (suspensions, their reasons, training) is
	 * personal information: reading it is recorded like any read */
	if (rc == ST_OK && other) {
		ev.outcome = "allow";
		rc = steward_audit(st, who, &ev, NULL, e);
	}
	json_decref(detail);
	if (rc != ST_OK) {
		json_decref(o);
		return rc;
	}
	*out = o;
	return ST_OK;
}

/* Roles and status of one account, changed together or not at all. */
struct update_ctx {
	int64_t id;
	const char *const *roles; /* NULL: unchanged */
	size_t n;
	const char *status; /* NULL: unchanged */
};

static int update_write(void *ctx, struct store_conn *c, struct st_error *e)
{
	struct update_ctx *u = ctx;
	int rc = user_exists(c, u->id, e);
	if (rc == ST_OK && u->roles)
		rc = store_run(c, e, "DELETE FROM user_role WHERE user_id = ?", "i", u->id);
	for (size_t i = 0; rc == ST_OK && u->roles && i < u->n; i++)
		rc = store_run(c, e, "INSERT INTO user_role (user_id, role) VALUES (?, ?) "
				     "ON CONFLICT DO NOTHING",
			       "it", u->id, u->roles[i]);
	if (rc == ST_OK && u->status)
		rc = store_run(c, e, "UPDATE app_user SET status = ? WHERE id = ?", "ti", u->status,
			       u->id);
	if (rc == ST_OK)
		rc = store_run(c, e, "UPDATE app_user SET updated_at = ? WHERE id = ?", "ii",
			       time_now(), u->id);
	return rc;
}

int user_update(struct steward *st, const struct actor *who, int64_t id,
		const char *const *roles, size_t nroles, const char *status,
		struct st_error *e)
{
	json_t *detail = json_pack("{s:I}", "user", (json_int_t)id);
	if (roles) {
		json_t *list = json_array();
		for (size_t i = 0; i < nroles; i++)
			json_array_append_new(list, json_string(roles[i] ? roles[i] : ""));
		json_object_set_new(detail, "roles", list);
	}
	if (status)
		json_object_set_new(detail, "status", json_string(status));
	struct audit_event ev = {.action = roles && status ? "user.update"
					   : roles        ? "user.roles"
							  : "user.status",
				 .detail = detail};
	struct policy *p = steward_policy(st);
	uint32_t mask = 0;
	enum user_status us = US_ACTIVE;
	int rc = roles || status ? ST_OK
				 : err_setc(e, ST_EINVAL, "missing_field", "roles",
					    "give \"roles\" or \"status\"");
	if (rc == ST_OK)
		rc = access_admin(st, who, ADM_USERS, &ev, e);
	if (rc == ST_OK)
		rc = refuse_self(st, who, id, &ev, roles ? "roles" : "status", e);
	/* every check before anything is written */
	if (rc == ST_OK && roles)
		rc = roles_mask(p, roles, nroles, &mask, e);
	if (rc == ST_OK && status && user_status_parse(status, &us) != ST_OK)
		rc = err_setc(e, ST_EINVAL, "bad_value", "status",
			      "status must be active, disabled or separated");
	if (rc == ST_OK && roles)
		rc = check_escalation(st, who, p, mask, &ev, e);
	if (rc == ST_OK)
		rc = check_target(st, who, p, id, &ev, roles ? "roles" : "status", e);
	access_holders_lock();
	struct model_user_view now = {0};
	model_rdlock(st->model);
	bool known = id > 0 && id < (int64_t)UINT32_MAX &&
		     model_user_view(st->model, (uint32_t)id, &now);
	model_unlock(st->model);
	if (rc == ST_OK && status && us == US_ACTIVE && known && now.status != US_ACTIVE)
		/* an account made active again reads again */
		rc = check_whole_account(st, who, p, id, &ev, "status", e);
	if (rc == ST_OK && roles && known) {
		/* what the new roles open, through everything the account has */
		struct conferral cf = {.roles = mask & ~now.roles, .derived = true,
				       .org = now.org, .agreement = now.agreement,
				       .user = (uint32_t)id};
		rc = check_role_grant(st, who, p, &cf, &ev, e);
	}
	if (rc == ST_OK)
		rc = keep_policy_holder(st, who, p, id, roles ? mask : now.roles,
					status ? us == US_ACTIVE : (known && now.status == US_ACTIVE),
					&ev, e);
	struct update_ctx u = {id, roles, nroles, status};
	if (rc == ST_OK)
		rc = logged_write(st, who, &ev, update_write, &u, e);
	if (rc == ST_OK && roles)
		model_user_roles(st->model, (uint32_t)id, mask);
	if (rc == ST_OK && status)
		model_user_status(st->model, (uint32_t)id, us);
	access_holders_unlock();
	json_decref(detail);
	policy_unref(p);
	return rc;
}

int user_set_roles(struct steward *st, const struct actor *who, int64_t id,
		   const char *const *roles, size_t nroles, struct st_error *e)
{
	static const char *const none[1] = {NULL};
	return user_update(st, who, id, roles ? roles : none, roles ? nroles : 0, NULL, e);
}

int user_set_status(struct steward *st, const struct actor *who, int64_t id,
		    const char *status, struct st_error *e)
{
	if (!status)
		return err_setc(e, ST_EINVAL, "missing_field", "status", "\"status\" is required");
	return user_update(st, who, id, NULL, 0, status, e);
}

/* --- suspensions ------------------------------------------------------------ */

struct susp_ctx {
	int64_t user, until, id, now;
	const char *kind, *reason; /* reason: sealed (note_seal) */
	int64_t by;
};


static int susp_write(void *ctx, struct store_conn *c, struct st_error *e)
{
	struct susp_ctx *s = ctx;
	int rc = user_exists(c, s->user, e);
	if (rc != ST_OK)
		return rc;
	struct store_stmt *st;
	rc = store_prepare(c,
			   "INSERT INTO suspension (user_id, kind, starts_at, until, reason, "
			   "created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
			   &st, e);
	if (rc != ST_OK)
		return rc;
	store_bind_int(st, 1, s->user);
	store_bind_text(st, 2, s->kind);
	store_bind_int(st, 3, s->now);
	if (s->until)
		store_bind_int(st, 4, s->until);
	else
		store_bind_null(st, 4);
	store_bind_text(st, 5, s->reason);
	store_bind_int(st, 6, s->now);
	store_bind_int(st, 7, s->by);
	rc = store_step(st, e);
	if (rc == STORE_ROW) {
		s->id = store_col_int(st, 0);
		rc = ST_OK;
	}
	store_done(st);
	return rc;
}

int suspension_create(struct steward *st, const struct actor *who, int64_t user,
		      const char *kind, int64_t until, const char *reason, int64_t *id,
		      struct st_error *e)
{
	json_t *detail = json_pack("{s:I, s:s?, s:I}", "user", (json_int_t)user, "kind", kind,
				   "until", (json_int_t)until);
	struct audit_event ev = {.action = "suspension.create", .detail = detail};
	int64_t now = time_now();
	int rc = access_admin(st, who, ADM_SUSPENSIONS, &ev, e);
	if (rc == ST_OK)
		rc = refuse_self(st, who, user, &ev, "suspensions", e);
	bool known = false;
	for (size_t i = 0; kind && i < ARRAY_LEN(suspension_kinds); i++)
		known |= str_eq(kind, suspension_kinds[i]);
	if (rc == ST_OK && !known)
		rc = err_setc(e, ST_EINVAL, "bad_value", "kind",
			      "kind must be pending_investigation, temporary, long_term or "
			      "permanent");
	if (rc == ST_OK && str_eq(kind, "permanent") && until)
		rc = err_setc(e, ST_EINVAL, "bad_value", "until",
			      "a permanent suspension has no end date");
	if (rc == ST_OK && (str_eq(kind, "temporary") || str_eq(kind, "long_term")) &&
	    until <= now)
		rc = err_setc(e, ST_EINVAL, "bad_value", "until",
			      "a %s suspension needs an end date in the future", kind);
	if (rc == ST_OK && until && until <= now)
		rc = err_setc(e, ST_EINVAL, "bad_value", "until", "\"until\" is in the past");
	if (rc == ST_OK && (!reason || !*reason || strlen(reason) > 2000 ||
			    !str_is_clean_utf8(reason, strlen(reason))))
		rc = err_setc(e, ST_EINVAL, "missing_field", "reason",
			      "a suspension needs a reason (at most 2000 characters)");
	struct policy *p = steward_policy(st);
	if (rc == ST_OK)
		rc = check_target(st, who, p, user, &ev, "suspensions", e);
	access_holders_lock();
	if (rc == ST_OK)
		rc = keep_policy_holder(st, who, p, user, 0, false, &ev, e);
	policy_unref(p);
	char where[96];
	note_where(where, "suspension.reason", user);
	char *sealed = rc == ST_OK ? note_seal(st, where, reason) : NULL;
	struct susp_ctx s = {user, until, 0, now, kind, sealed, who->user_id};
	if (rc == ST_OK)
		rc = logged_write(st, who, &ev, susp_write, &s, e);
	free(sealed);
	if (rc == ST_OK) {
		/* effective on the very next decision */
		model_suspension_add(st->model, (uint32_t)user, s.id, now, until, kind);
		*id = s.id;
	}
	access_holders_unlock();
	json_decref(detail);
	return rc;
}

struct lift_ctx {
	int64_t user, id, by;
};

static int lift_write(void *ctx, struct store_conn *c, struct st_error *e)
{
	struct lift_ctx *l = ctx;
	int rc = user_exists(c, l->user, e);
	if (rc == ST_OK)
		rc = store_run(c, e,
			       "UPDATE suspension SET lifted_at = ?, lifted_by = ? WHERE id = ? AND "
			       "user_id = ? AND lifted_at IS NULL",
			       "iiii", time_now(), l->by, l->id, l->user);
	if (rc == ST_OK && store_changes(c) != 1)
		rc = err_setc(e, ST_ENOTFOUND, "suspension_not_found", "id",
			      "no active suspension %lld of user %lld",
			      (long long)l->id, (long long)l->user);
	return rc;
}

int suspension_lift(struct steward *st, const struct actor *who, int64_t user, int64_t id,
		    struct st_error *e)
{
	json_t *detail = json_pack("{s:I, s:I}", "user", (json_int_t)user, "suspension",
				   (json_int_t)id);
	struct audit_event ev = {.action = "suspension.lift", .detail = detail};
	int rc = access_admin(st, who, ADM_SUSPENSIONS, &ev, e);
	if (rc == ST_OK)
		rc = refuse_self(st, who, user, &ev, "suspensions", e);
	struct policy *p = steward_policy(st);
	if (rc == ST_OK)
		rc = check_target(st, who, p, user, &ev, "suspensions", e);
	/* a lifted suspension gives the account back all it reads */
	if (rc == ST_OK)
		rc = check_whole_account(st, who, p, user, &ev, "id", e);
	policy_unref(p);
	struct lift_ctx l = {user, id, who->user_id};
	if (rc == ST_OK)
		rc = logged_write(st, who, &ev, lift_write, &l, e);
	if (rc == ST_OK)
		model_suspension_lift(st->model, (uint32_t)user, id);
	json_decref(detail);
	return rc;
}

/* --- training ----------------------------------------------------------------- */

struct train_ctx {
	int64_t user, completed, expires, id, by;
	const char *course;
};

static int train_write(void *ctx, struct store_conn *c, struct st_error *e)
{
	struct train_ctx *t = ctx;
	int rc = user_exists(c, t->user, e);
	int64_t days = 0;
	if (rc == ST_OK) {
		rc = store_query_int(c, &days, e, "SELECT valid_days FROM course WHERE code = ?", "t",
				     t->course);
		if (rc == ST_ENOTFOUND)
			rc = err_setc(e, ST_EINVAL, "unknown_course", "course", "no course \"%s\"",
				      t->course);
	}
	if (rc != ST_OK)
		return rc;
	t->expires = t->completed + days * 86400;
	struct store_stmt *s;
	rc = store_prepare(c,
			   "INSERT INTO training_completion (user_id, course, completed_at, "
			   "expires_at, recorded_at, recorded_by) VALUES (?, ?, ?, ?, ?, ?) "
			   "RETURNING id",
			   &s, e);
	if (rc != ST_OK)
		return rc;
	store_bind(s, "itiiii", t->user, t->course, t->completed, t->expires, time_now(), t->by);
	rc = store_step(s, e);
	if (rc == STORE_ROW) {
		t->id = store_col_int(s, 0);
		rc = ST_OK;
	}
	store_done(s);
	return rc;
}

int training_record(struct steward *st, const struct actor *who, int64_t user,
		    const char *course, int64_t completed_at, int64_t *id, struct st_error *e)
{
	json_t *detail = json_pack("{s:I, s:s?, s:I}", "user", (json_int_t)user, "course", course,
				   "completed_at", (json_int_t)completed_at);
	struct audit_event ev = {.action = "training.record", .detail = detail};
	int rc = access_admin(st, who, ADM_TRAINING, &ev, e);
	/* an attestation is someone else's word: nobody records their own */
	if (rc == ST_OK)
		rc = refuse_self(st, who, user, &ev, "training", e);
	if (rc == ST_OK && (!course || !*course))
		rc = err_setc(e, ST_EINVAL, "missing_field", "course", "\"course\" is required");
	if (rc == ST_OK && (completed_at <= 0 || completed_at > time_now() + 86400))
		rc = err_setc(e, ST_EINVAL, "bad_value", "completed_on",
			      "the completion date cannot be in the future");
	struct policy *tp = steward_policy(st);
	if (rc == ST_OK && str_eq(course, tp->training_course) && user > 0 &&
	    user < (int64_t)UINT32_MAX) {
		/* the course unlocks the confidential records the account's roles
		 * and relationships reach: only for someone who reaches them too */
		struct model_user_view v = {0};
		model_rdlock(st->model);
		bool known = model_user_view(st->model, (uint32_t)user, &v);
		model_unlock(st->model);
		struct conferral cf = {.roles = v.roles, .derived = true, .org = v.org,
				       .agreement = v.agreement, .user = (uint32_t)user,
				       .from = tp->training_from};
		if (known)
			rc = check_conferral(st, who, tp, &cf, &ev, "user", e);
	}
	policy_unref(tp);
	struct train_ctx t = {user, completed_at, 0, 0, who->user_id, course};
	if (rc == ST_OK)
		rc = logged_write(st, who, &ev, train_write, &t, e);
	if (rc == ST_OK) {
		struct policy *p = steward_policy(st);
		if (str_eq(course, p->training_course))
			model_training_set(st->model, (uint32_t)user, t.expires);
		policy_unref(p);
		*id = t.id;
	}
	json_decref(detail);
	return rc;
}

/* --- agreements ------------------------------------------------------------- */

struct agr_ctx {
	const struct agreement_input *in;
	char *cats;
	struct buf orgs;
	uint32_t org_ids[256];
	size_t norgs;
	int64_t id, by;
};

static int agr_write(void *ctx, struct store_conn *c, struct st_error *e)
{
	struct agr_ctx *a = ctx;
	int rc = ST_OK;
	for (size_t i = 0; rc == ST_OK && i < a->in->norganizations; i++) {
		int64_t org = 0;
		rc = org_find(c, a->in->organizations[i], &org, e);
		if (rc == ST_OK) {
			if (a->orgs.len)
				buf_putc(&a->orgs, ',');
			buf_printf(&a->orgs, "%lld", (long long)org);
			a->org_ids[a->norgs++] = (uint32_t)org;
		} else if (e) {
			str_copy(e->field, sizeof(e->field), "organizations");
		}
	}
	if (rc != ST_OK)
		return rc;
	struct store_stmt *s;
	rc = store_prepare(c,
			   "INSERT INTO agreement (vendor, categories, organizations, purpose, "
			   "starts_at, ends_at, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
			   "RETURNING id",
			   &s, e);
	if (rc != ST_OK)
		return rc;
	store_bind(s, "ttttiiii", a->in->vendor, a->cats, a->orgs.data ? a->orgs.data : "",
		   a->in->purpose ? a->in->purpose : "", a->in->start, a->in->end, time_now(), a->by);
	rc = store_step(s, e);
	if (rc == STORE_ROW) {
		a->id = store_col_int(s, 0);
		rc = ST_OK;
	}
	store_done(s);
	return rc;
}

int agreement_create(struct steward *st, const struct actor *who,
		     const struct agreement_input *in, int64_t *id, struct st_error *e)
{
	json_t *detail = json_pack("{s:s?}", "vendor", in->vendor);
	struct audit_event ev = {.action = "agreement.create", .detail = detail};
	struct policy *p = steward_policy(st);
	int rc = access_admin(st, who, ADM_AGREEMENTS, &ev, e);
	if (rc == ST_OK && (!in->vendor || !*in->vendor || strlen(in->vendor) > 200 ||
			    !str_is_clean_utf8(in->vendor, strlen(in->vendor))))
		rc = err_setc(e, ST_EINVAL, "missing_field", "vendor",
			      "\"vendor\" is required (at most 200 characters)");
	if (rc == ST_OK && in->ncategories == 0)
		rc = err_setc(e, ST_EINVAL, "missing_field", "categories",
			      "an agreement covers at least one category");
	if (rc == ST_OK && (in->norganizations == 0 || in->norganizations > 256))
		rc = err_setc(e, ST_EINVAL, "missing_field", "organizations",
			      "an agreement covers 1 to 256 schools or departments");
	if (rc == ST_OK && (in->start <= 0 || in->end <= in->start))
		rc = err_setc(e, ST_EINVAL, "bad_value", "end",
			      "an agreement needs a start and an end after it");
	struct buf cats = BUF_INIT;
	for (size_t i = 0; rc == ST_OK && i < in->ncategories; i++) {
		if (!in->categories[i] || !inventory_category(p->inv, in->categories[i]))
			rc = err_setc(e, ST_EINVAL, "unknown_category", "categories",
				      "\"%s\" is not a category of the data inventory",
				      in->categories[i] ? in->categories[i] : "");
		else {
			if (cats.len)
				buf_putc(&cats, ',');
			buf_puts(&cats, in->categories[i]);
		}
	}
	if (rc == ST_OK) {
		/* a contractor under it will read these categories at these
		 * schools: only someone who reads them there may sign for it */
		uint64_t cmask = 0;
		categories_mask(p->inv, cats.data, &cmask);
		struct conferral_scope *sc = xcalloc(in->norganizations, sizeof(*sc));
		size_t nsc = 0;
		for (size_t i = 0; i < in->norganizations; i++) {
			uint32_t org = org_lookup(st, in->organizations[i]);
			if (org)
				sc[nsc++] = (struct conferral_scope){org, cmask};
		}
		struct conferral cf = {.scopes = sc, .nscopes = nsc};
		rc = check_conferral(st, who, p, &cf, &ev, "categories", e);
		free(sc);
	}
	struct agr_ctx a = {.in = in, .cats = cats.data, .by = who->user_id};
	if (rc == ST_OK)
		rc = logged_write(st, who, &ev, agr_write, &a, e);
	if (rc == ST_OK) {
		uint64_t mask = 0;
		categories_mask(p->inv, cats.data, &mask);
		model_agreement_set(st->model, (uint32_t)a.id, mask, a.org_ids, a.norgs, in->start,
				    in->end, in->vendor);
		*id = a.id;
	}
	buf_release(&cats);
	buf_release(&a.orgs);
	json_decref(detail);
	policy_unref(p);
	return rc;
}

/* --- relationships ------------------------------------------------------------ */

struct rel_ctx {
	const struct relationship_input *in;
	const char *cats;
	int64_t id, org, start, by;
	const char *purpose; /* sealed (note_seal) */
};

static int rel_write(void *ctx, struct store_conn *c, struct st_error *e)
{
	struct rel_ctx *r = ctx;
	int rc = user_exists(c, r->in->user, e);
	if (rc == ST_OK && r->in->subject) {
		int64_t n = 0;
		rc = store_query_int(c, &n, e, "SELECT COUNT(*) FROM subject WHERE id = ?", "i",
				     r->in->subject);
		if (rc == ST_OK && !n)
			rc = err_setc(e, ST_ENOTFOUND, "subject_not_found", "subject",
				      "no subject %lld", (long long)r->in->subject);
	}
	if (rc == ST_OK && !r->in->subject)
		rc = org_find(c, r->in->organization, &r->org, e);
	if (rc != ST_OK)
		return rc;
	/* One relationship of a kind, from one source, between the same two at
	 * a time: a twin would keep the access alive after the other is
	 * removed. (Two classes are two sources: ending one leaves the other,
	 * as it should.) */
	int64_t twin = 0;
	rc = store_query_int(c, &twin, e,
			     "SELECT id FROM relationship WHERE user_id = ? AND kind = ? AND "
			     "COALESCE(subject_id, 0) = ? AND COALESCE(organization_id, 0) = ? AND "
			     "source = ? AND removed_at IS NULL AND (ends_at IS NULL OR ends_at > ?) "
			     "AND (? = 0 OR starts_at < ?) ORDER BY id LIMIT 1",
			     "itiitiii", r->in->user, r->in->kind, r->in->subject,
			     r->in->subject ? (int64_t)0 : r->org,
			     r->in->source ? r->in->source : "", r->start, r->in->end, r->in->end);
	if (rc == ST_OK)
		return err_setc(e, ST_ECONFLICT, "duplicate", "subject",
				"relationship %lld already gives this %s from the same source "
				"(remove it first, or let it end)",
				(long long)twin, r->in->kind);
	if (rc != ST_ENOTFOUND)
		return rc;
	err_clear(e);
	struct store_stmt *s;
	rc = store_prepare(c,
			   "INSERT INTO relationship (user_id, subject_id, organization_id, kind, "
			   "categories, purpose, source, starts_at, ends_at, created_at, created_by) "
			   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
			   &s, e);
	if (rc != ST_OK)
		return rc;
	store_bind_int(s, 1, r->in->user);
	if (r->in->subject)
		store_bind_int(s, 2, r->in->subject), store_bind_null(s, 3);
	else
		store_bind_null(s, 2), store_bind_int(s, 3, r->org);
	store_bind_text(s, 4, r->in->kind);
	store_bind_text(s, 5, r->cats);
	store_bind_text(s, 6, r->purpose ? r->purpose : "");
	store_bind_text(s, 7, r->in->source ? r->in->source : "");
	store_bind_int(s, 8, r->start);
	if (r->in->end)
		store_bind_int(s, 9, r->in->end);
	else
		store_bind_null(s, 9);
	store_bind_int(s, 10, time_now());
	store_bind_int(s, 11, r->by);
	rc = store_step(s, e);
	if (rc == STORE_ROW) {
		r->id = store_col_int(s, 0);
		rc = ST_OK;
	}
	store_done(s);
	return rc;
}

int relationship_create(struct steward *st, const struct actor *who,
			const struct relationship_input *in, int64_t *id, struct st_error *e)
{
	json_t *detail = json_pack("{s:I, s:I, s:s?, s:s?, s:s?}", "user", (json_int_t)in->user,
				   "subject", (json_int_t)in->subject, "organization",
				   in->organization, "kind", in->kind, "source", in->source);
	struct audit_event ev = {.action = "relationship.create", .subject_id = in->subject,
				 .purpose = in->purpose, .detail = detail};
	struct policy *p = steward_policy(st);
	enum relkind kind;
	int rc = access_admin(st, who, ADM_RELATIONSHIPS, &ev, e);
	/* nobody gives themselves a need to know */
	if (rc == ST_OK)
		rc = refuse_self(st, who, in->user, &ev, "relationships", e);
	if (rc == ST_OK && (relkind_parse(in->kind, &kind) != ST_OK || !relkind_stored(kind)))
		rc = err_setc(e, ST_EINVAL, "bad_value", "kind",
			      "kind must be teacher_of, counselor_caseload, sped_caseload, "
			      "supervisor_of or grant");
	if (rc == ST_OK && in->user <= 0)
		rc = err_setc(e, ST_EINVAL, "missing_field", "user", "\"user\" is required");
	if (rc == ST_OK) {
		/* a relationship no rule of the account's roles reads through
		 * means nothing, or a mistake (a nurse made teacher_of) */
		struct model_user_view v = {0};
		model_rdlock(st->model);
		bool known = in->user < (int64_t)UINT32_MAX &&
			     model_user_view(st->model, (uint32_t)in->user, &v);
		model_unlock(st->model);
		uint32_t roles = v.roles;
		bool used = !known; /* (an unknown account is reported as such) */
		for (int i = 0; i < p->nrules && !used; i++)
			used = !p->rules[i].forbid && (p->rules[i].roles & roles) &&
			       (p->rules[i].through >> kind & 1);
		if (!used)
			rc = err_setc(e, ST_EINVAL, "kind_not_used", "kind",
				      "no rule of this account's roles reads through %s; give the "
				      "account a role that does first",
				      relkind_name(kind));
	}
	if (rc == ST_OK && !in->subject && !(kind == REL_GRANT && in->organization))
		rc = err_setc(e, ST_EINVAL, "missing_field", "subject",
			      "\"subject\" is required (a grant may name an organization instead)");
	if (rc == ST_OK && in->subject && in->organization)
		rc = err_setc(e, ST_EINVAL, "bad_value", "organization",
			      "name a subject or an organization, not both");
	struct buf cats = BUF_INIT;
	if (rc == ST_OK && kind == REL_GRANT) {
		if (in->ncategories == 0)
			rc = err_setc(e, ST_EINVAL, "missing_field", "categories",
				      "a grant names the categories it covers");
		if (rc == ST_OK && (!in->purpose || !*in->purpose))
			rc = err_setc(e, ST_EINVAL, "missing_field", "purpose",
				      "a grant states its purpose");
		for (size_t i = 0; rc == ST_OK && i < in->ncategories; i++) {
			if (!in->categories[i] || !inventory_category(p->inv, in->categories[i]))
				rc = err_setc(e, ST_EINVAL, "unknown_category", "categories",
					      "\"%s\" is not a category of the data inventory",
					      in->categories[i] ? in->categories[i] : "");
			else {
				if (cats.len)
					buf_putc(&cats, ',');
				buf_puts(&cats, in->categories[i]);
			}
		}
	} else if (rc == ST_OK && in->ncategories) {
		rc = err_setc(e, ST_EINVAL, "bad_value", "categories",
			      "only grants name categories");
	}
	if (rc == ST_OK && in->purpose && strlen(in->purpose) > 500)
		rc = err_setc(e, ST_EINVAL, "too_long", "purpose", "at most 500 characters");
	int64_t start = in->start ? in->start : time_now();
	if (rc == ST_OK && in->end && in->end <= start)
		rc = err_setc(e, ST_EINVAL, "bad_value", "end", "the end must come after the start");
	if (rc == ST_OK) {
		/* what the account's roles read through it */
		uint64_t cmask = 0;
		categories_mask(p->inv, cats.data ? cats.data : "", &cmask);
		struct conferral_rel cr = {.kind = kind,
					   .subject = in->subject > 0 ? (uint64_t)in->subject : 0,
					   .org = in->subject ? 0 : org_lookup(st, in->organization),
					   .categories = cmask};
		struct conferral cf = {.roles = user_roles(st, in->user), .rel = &cr};
		if (cr.subject || cr.org)
			rc = check_conferral(st, who, p, &cf, &ev, "user", e);
	}
	char where[96];
	note_where(where, "relationship.purpose", in->user);
	char *sealed = rc == ST_OK && in->purpose && *in->purpose
			       ? note_seal(st, where, in->purpose)
			       : NULL;
	struct rel_ctx r = {in, cats.data ? cats.data : "", 0, 0, start, who->user_id, sealed};
	if (rc == ST_OK)
		rc = logged_write(st, who, &ev, rel_write, &r, e);
	free(sealed);
	if (rc == ST_OK) {
		uint64_t mask = 0;
		categories_mask(p->inv, r.cats, &mask);
		model_rel_add(st->model, r.id, (uint32_t)in->user, (uint64_t)in->subject,
			      (uint32_t)r.org, kind, mask, start, in->end);
		*id = r.id;
	}
	buf_release(&cats);
	json_decref(detail);
	policy_unref(p);
	return rc;
}

struct relrm_ctx {
	int64_t id, by, user, subject, org;
};

static int relrm_write(void *ctx, struct store_conn *c, struct st_error *e)
{
	struct relrm_ctx *r = ctx;
	struct store_stmt *s;
	int rc = store_prepare(c,
			       "SELECT user_id, COALESCE(subject_id, 0), COALESCE(organization_id, 0) "
			       "FROM relationship WHERE id = ? AND removed_at IS NULL",
			       &s, e);
	if (rc != ST_OK)
		return rc;
	store_bind(s, "i", r->id);
	rc = store_step(s, e);
	if (rc == STORE_ROW) {
		r->user = store_col_int(s, 0);
		r->subject = store_col_int(s, 1);
		r->org = store_col_int(s, 2);
		rc = ST_OK;
	} else if (rc == STORE_DONE) {
		rc = err_setc(e, ST_ENOTFOUND, "relationship_not_found", "id",
			      "no current relationship %lld", (long long)r->id);
	}
	store_done(s);
	if (rc == ST_OK)
		rc = store_run(c, e, "UPDATE relationship SET removed_at = ?, removed_by = ? WHERE id = ?",
			       "iii", time_now(), r->by, r->id);
	return rc;
}

int relationship_remove(struct steward *st, const struct actor *who, int64_t id,
			struct st_error *e)
{
	json_t *detail = json_pack("{s:I}", "relationship", (json_int_t)id);
	struct audit_event ev = {.action = "relationship.remove", .detail = detail};
	int rc = access_admin(st, who, ADM_RELATIONSHIPS, &ev, e);
	struct relrm_ctx r = {id, who->user_id, 0, 0, 0};
	if (rc == ST_OK)
		rc = logged_write(st, who, &ev, relrm_write, &r, e);
	if (rc == ST_OK)
		model_rel_remove(st->model, id, (uint32_t)r.user, (uint64_t)r.subject, (uint32_t)r.org);
	json_decref(detail);
	return rc;
}
