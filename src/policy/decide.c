/*
 * decide.c - one decision: may this user take this action on this
 * subject's records of this category, now? Deny by default; the first unmet
 * condition is reported in plain words.
 *
 * Order: the account (exists, active, not suspended); forbid rules; the
 * allow rules for the user's roles, action and category, in file order;
 * for each, a current relationship it names; then the conditions: the
 * contractor's agreement, confidentiality training, multi-factor, a stated
 * purpose. The first rule that passes decides. Otherwise the most telling
 * reason is kept: a rule whose relationship held but whose condition failed
 * explains more than a missing relationship, which explains more than no
 * rule at all.
 */
#include "policy/model_internal.h"

static int first_bit(uint32_t x)
{
	return x ? __builtin_ctz(x) : -1;
}

/* Relationship kinds (bitmask) that hold between user and subject now,
 * for this category; *why receives the most telling near miss. */
static uint16_t relationships(const struct model *m, const struct muser_fields *u,
			      const struct access_request *r, uint32_t subject_org,
			      struct decision *near, int64_t *rel_ids)
{
	uint16_t have = 1u << REL_DISTRICT;
	if (u->org && u->org == subject_org)
		have |= 1u << REL_SCHOOL_STAFF;
	struct rel_view v;
	for (uint32_t i = model_rel_head(m, r->user, r->subject); i != MODEL_NIL; i = v.next) {
		model_rel_get(m, i, &v);
		if (r->now < v.start) {
			near->reason = R_RELATIONSHIP_NOT_STARTED;
			near->when = v.start;
			near->rel_id = v.id;
			continue;
		}
		if (r->now >= v.end) {
			near->reason = R_RELATIONSHIP_ENDED;
			near->when = v.end;
			near->rel_id = v.id;
			continue;
		}
		if (v.kind == REL_GRANT && !(v.categories >> r->category & 1)) {
			near->reason = R_GRANT_CATEGORY;
			near->rel_id = v.id;
			continue;
		}
		have |= (uint16_t)(1u << v.kind);
		rel_ids[v.kind] = v.id;
	}
	for (uint32_t i = model_org_grant_head(m, r->user); i != MODEL_NIL; i = v.next) {
		model_rel_get(m, i, &v);
		if (model_org_grant_org(m, i) != subject_org || r->now < v.start || r->now >= v.end ||
		    !(v.categories >> r->category & 1))
			continue;
		have |= 1u << REL_GRANT;
		rel_ids[REL_GRANT] = v.id;
	}
	return have;
}

static void deny(struct decision *d, enum reason why)
{
	d->allow = false;
	d->reason = why;
}

/* The conditions of a rule whose relationship holds. */
static bool conditions(const struct policy *p, const struct model *m, const struct rule *rule,
		       const struct muser_fields *u, const struct access_request *r,
		       uint32_t subject_org, struct decision *d)
{
	enum classification cls = p->inv->cats[r->category].classification;
	if (u->kind == UK_CONTRACTOR) {
		struct agreement_view a;
		d->agreement = u->agreement;
		if (!model_agreement(m, u->agreement, &a)) {
			deny(d, R_AGREEMENT_MISSING);
			return false;
		}
		if (r->now < a.start) {
			deny(d, R_AGREEMENT_NOT_STARTED);
			d->when = a.start;
			return false;
		}
		if (r->now >= a.end) {
			deny(d, R_AGREEMENT_ENDED);
			d->when = a.end;
			return false;
		}
		if (!(a.categories >> r->category & 1)) {
			deny(d, R_AGREEMENT_CATEGORY);
			return false;
		}
		bool org_ok = false;
		for (size_t i = 0; i < a.norgs; i++)
			if (a.orgs[i] == subject_org)
				org_ok = true;
		if (!org_ok) {
			deny(d, R_AGREEMENT_ORGANIZATION);
			return false;
		}
	}
	if (r->reach)
		return true;
	if (cls >= p->training_from && u->training_expires <= r->now) {
		deny(d, u->training_expires ? R_TRAINING_EXPIRED : R_TRAINING_MISSING);
		d->when = u->training_expires;
		return false;
	}
	if ((cls >= p->mfa_from || rule->need_mfa) && !r->mfa) {
		deny(d, R_MFA_REQUIRED);
		return false;
	}
	if (rule->need_purpose && str_is_blank(r->purpose)) {
		deny(d, R_PURPOSE_REQUIRED);
		return false;
	}
	return true;
}

bool policy_decide_locked(const struct policy *p, const struct model *m,
			  const struct access_request *r, struct decision *d)
{
	memset(d, 0, sizeof(*d));
	d->rule = -1;
	d->role = -1;
	d->allow = false;
	if ((unsigned)r->action >= ACT_COUNT || r->category < 0 ||
	    (size_t)r->category >= p->inv->ncats) {
		deny(d, R_BAD_REQUEST);
		return false;
	}
	const struct muser *mu = model_user(m, r->user);
	if (!mu) {
		deny(d, R_NO_USER);
		return false;
	}
	struct muser_fields u;
	model_user_fields(mu, &u);
	if (u.status != US_ACTIVE) {
		deny(d, u.status == US_SEPARATED ? R_SEPARATED : R_DISABLED);
		return false;
	}
	int64_t until = 0, sid = 0;
	if (model_suspended(mu, r->now, &until, &sid)) {
		deny(d, R_SUSPENDED);
		d->when = until;
		d->rel_id = sid;
		return false;
	}
	const uint16_t *forbid = p->forbid_by[r->action][r->category];
	for (int i = 0; i < p->nforbid_by[r->action][r->category]; i++) {
		const struct rule *rule = &p->rules[forbid[i]];
		if (rule->roles & u.roles) {
			deny(d, R_FORBIDDEN);
			d->rule = forbid[i];
			d->role = first_bit(rule->roles & u.roles);
			return false;
		}
	}
	const uint16_t *allow = p->allow_by[r->action][r->category];
	int nallow = p->nallow_by[r->action][r->category];
	uint32_t subject_org = r->subject ? model_subject_org(m, r->subject) : r->org;
	uint16_t have = 0;
	bool have_computed = false;
	int64_t rel_ids[REL_COUNT] = {0};
	struct decision near = {.reason = R_NO_RELATIONSHIP};
	struct decision best = {.reason = R_NO_RULE, .rule = -1, .role = -1};
	bool best_is_condition = false;
	uint16_t wanted = 0;
	for (int i = 0; i < nallow; i++) {
		const struct rule *rule = &p->rules[allow[i]];
		uint32_t roles = rule->roles & u.roles;
		if (!roles)
			continue;
		if (!have_computed) {
			have = relationships(m, &u, r, subject_org, &near, rel_ids);
			if (u.kind == UK_CONTRACTOR)
				have |= 1u << REL_AGREEMENT; /* checked with the agreement */
			have_computed = true;
		}
		uint16_t via = rule->through & have;
		if (!via) {
			wanted |= rule->through;
			if (!best_is_condition && best.reason == R_NO_RULE) {
				best.reason = near.reason;
				best.when = near.when;
				best.rel_id = near.rel_id;
				best.rule = allow[i];
				best.role = first_bit(roles);
			}
			continue;
		}
		struct decision c = {.rule = allow[i], .role = first_bit(roles)};
		if (!conditions(p, m, rule, &u, r, subject_org, &c)) {
			if (!best_is_condition) {
				best = c;
				best_is_condition = true;
			}
			continue;
		}
		d->allow = true;
		d->reason = R_ALLOWED;
		d->rule = allow[i];
		d->role = c.role;
		d->through = (enum relkind)first_bit(via);
		d->rel_id = rel_ids[d->through];
		d->agreement = c.agreement;
		return true;
	}
	*d = best;
	d->allow = false;
	d->wanted = wanted;
	return false;
}

bool policy_decide(const struct policy *p, struct model *m, const struct access_request *r,
		   struct decision *d)
{
	model_rdlock(m);
	bool ok = policy_decide_locked(p, m, r, d);
	model_unlock(m);
	return ok;
}

bool policy_admin_decide(const struct policy *p, struct model *m, uint32_t user,
			 enum admin_perm perm, bool mfa, int64_t now, struct decision *d)
{
	memset(d, 0, sizeof(*d));
	d->rule = -1;
	d->role = -1;
	if ((unsigned)perm >= ADM_COUNT) {
		deny(d, R_BAD_REQUEST);
		return false;
	}
	model_rdlock(m);
	const struct muser *mu = model_user(m, user);
	struct muser_fields u = {0};
	int64_t until = 0, sid = 0;
	if (!mu)
		deny(d, R_NO_USER);
	else if (model_user_fields(mu, &u), u.status != US_ACTIVE)
		deny(d, u.status == US_SEPARATED ? R_SEPARATED : R_DISABLED);
	else if (model_suspended(mu, now, &until, &sid)) {
		deny(d, R_SUSPENDED);
		d->when = until;
		d->rel_id = sid;
	} else if (!(u.roles & p->admin_roles[perm])) {
		deny(d, R_NO_PERMISSION);
		d->wanted = (uint16_t)perm;
	} else if (!mfa) {
		deny(d, R_MFA_REQUIRED);
		d->wanted = (uint16_t)perm;
		d->through = REL_COUNT; /* marks an administrative act */
	} else {
		d->allow = true;
		d->reason = R_ALLOWED;
		d->role = first_bit(u.roles & p->admin_roles[perm]);
		d->through = REL_COUNT;
	}
	model_unlock(m);
	return d->allow;
}

static void date(int64_t t, char out[16])
{
	time_format_date(t, out);
}

static void explain(const struct policy *p, const struct model *m,
		    const struct access_request *r, const struct decision *d, char *out,
		    size_t size)
{
	char when[16] = "";
	if (d->when && d->when != INT64_MAX)
		date(d->when, when);
	const char *cat = (size_t)r->category < p->inv->ncats ? p->inv->cats[r->category].name
							       : "unknown";
	const char *act = action_name(r->action);
	const char *role = d->role >= 0 ? p->roles[d->role] : "";
	const struct rule *rule = d->rule >= 0 ? &p->rules[d->rule] : NULL;
	struct agreement_view a = {0};
	if (d->agreement)
		model_agreement(m, d->agreement, &a);
	switch (d->reason) {
	case R_ALLOWED:
		if (d->through == REL_COUNT)
			snprintf(out, size, "allowed: the %s role holds this permission", role);
		else
			snprintf(out, size, "allowed by rule \"%s\" (%s, through %s)",
				 rule ? rule->id : "", role, relkind_name(d->through));
		return;
	case R_NO_PERMISSION: {
		struct buf who = BUF_INIT;
		for (int i = 0; i < p->nroles; i++)
			if (p->admin_roles[d->wanted] >> i & 1) {
				if (who.len)
					buf_puts(&who, ", ");
				buf_puts(&who, p->roles[i]);
			}
		snprintf(out, size, "only %s may manage %s", who.len ? who.data : "nobody",
			 admin_perm_name((enum admin_perm)d->wanted));
		buf_release(&who);
		return;
	}
	case R_NO_USER:
		snprintf(out, size, "no such user account");
		return;
	case R_DISABLED:
		snprintf(out, size, "the account is disabled");
		return;
	case R_SEPARATED:
		snprintf(out, size, "the account belongs to a person who has left the district");
		return;
	case R_SUSPENDED: {
		const struct muser *mu = model_user(m, r->user);
		if (d->when == INT64_MAX && mu && model_suspension_permanent(mu, d->rel_id))
			snprintf(out, size, "the account's access is suspended permanently");
		else if (d->when == INT64_MAX)
			snprintf(out, size,
				 "the account's access is suspended until further notice (no end "
				 "date: it lasts until the suspension is lifted)");
		else
			snprintf(out, size, "the account's access is suspended until %s", when);
		return;
	}
	case R_FORBIDDEN:
		snprintf(out, size, "forbidden by rule \"%s\": %s", rule ? rule->id : "",
			 rule ? rule->description : "");
		return;
	case R_NO_RULE: {
		struct buf roles = BUF_INIT;
		struct model_user_view v;
		if (model_user_view(m, r->user, &v))
			for (int i = 0; i < p->nroles; i++)
				if (v.roles >> i & 1) {
					if (roles.len)
						buf_puts(&roles, " or ");
					buf_puts(&roles, p->roles[i]);
				}
		snprintf(out, size, "no rule lets %s %s %s records",
			 roles.len ? roles.data : "an account without roles", act, cat);
		buf_release(&roles);
		return;
	}
	case R_NO_RELATIONSHIP: {
		struct buf kinds = BUF_INIT;
		for (int k = 0; k < REL_COUNT; k++)
			if (d->wanted >> k & 1) {
				if (kinds.len)
					buf_puts(&kinds, " or ");
				buf_puts(&kinds, relkind_name((enum relkind)k));
			}
		snprintf(out, size,
			 "no current need-to-know relationship with this subject (%s %s records "
			 "needs %s)",
			 act, cat, kinds.data ? kinds.data : "one");
		buf_release(&kinds);
		return;
	}
	case R_RELATIONSHIP_ENDED:
		snprintf(out, size, "the relationship with this subject ended on %s", when);
		return;
	case R_RELATIONSHIP_NOT_STARTED:
		snprintf(out, size, "the relationship with this subject starts on %s", when);
		return;
	case R_GRANT_CATEGORY:
		snprintf(out, size, "the grant for this subject does not cover %s records", cat);
		return;
	case R_TRAINING_MISSING:
		snprintf(out, size, "no record of the annual confidentiality training (%s)",
			 p->training_course);
		return;
	case R_TRAINING_EXPIRED:
		snprintf(out, size, "annual confidentiality training expired on %s", when);
		return;
	case R_MFA_REQUIRED:
		if (d->through == REL_COUNT)
			snprintf(out, size, "administrative acts need a session signed in with "
					    "multi-factor authentication");
		else
			snprintf(out, size, "%s records need a session signed in with "
					    "multi-factor authentication",
				 cat);
		return;
	case R_PURPOSE_REQUIRED:
		snprintf(out, size,
			 "a purpose must be stated to %s %s records (?purpose=... over HTTP, "
			 "--purpose on the command line)",
			 act, cat);
		return;
	case R_AGREEMENT_MISSING:
		snprintf(out, size, "the contractor account has no agreement with the district");
		return;
	case R_AGREEMENT_NOT_STARTED:
		snprintf(out, size, "the agreement with %s starts on %s", a.vendor ? a.vendor : "",
			 when);
		return;
	case R_AGREEMENT_ENDED:
		snprintf(out, size, "the agreement with %s ended on %s", a.vendor ? a.vendor : "",
			 when);
		return;
	case R_AGREEMENT_CATEGORY:
		snprintf(out, size, "the agreement with %s does not cover %s records",
			 a.vendor ? a.vendor : "", cat);
		return;
	case R_AGREEMENT_ORGANIZATION:
		snprintf(out, size, "the agreement with %s does not cover this subject's school",
			 a.vendor ? a.vendor : "");
		return;
	case R_BAD_REQUEST:
		snprintf(out, size, "the request names an unknown action or category");
		return;
	}
	snprintf(out, size, "denied");
}

void decision_explain(const struct policy *p, const struct model *m,
		      const struct access_request *r, const struct decision *d, char *out,
		      size_t size)
{
	explain(p, m, r, d, out, size);
	/* names (roles, rules, vendors) may have been cut to the size:
	 * never half a character in a log event or an answer */
	str_utf8_repair(out);
}
