/*
 * subject.c - the decision on a subject's identifying fields (name,
 * external id, school, date of birth): the same policy_decide_locked() a
 * record read passes, asked of every category that applies to the
 * subject's kind, each allowed category adding the fields the inventory
 * says its readers see, masked as its deciding rule says.
 *
 * Invariants: a field is shown only if some category showing it is allowed;
 * it is masked at least as strictly as every allowing rule that shows it
 * asks; what a refusal may tell never depends on whether the subject
 * exists unless a rule and relationship reach it (the account comes first,
 * the same for every id).
 */
#include "policy/model_internal.h"

enum reason_scope reason_scope(enum reason r)
{
	switch (r) {
	case R_NO_USER:
	case R_DISABLED:
	case R_SEPARATED:
	case R_SUSPENDED:
	case R_AGREEMENT_MISSING:
	case R_AGREEMENT_NOT_STARTED:
	case R_AGREEMENT_ENDED:
	case R_NO_PERMISSION:
		return REASON_ACCOUNT;
	case R_TRAINING_MISSING:
	case R_TRAINING_EXPIRED:
	case R_MFA_REQUIRED:
	case R_PURPOSE_REQUIRED:
		return REASON_CONDITION;
	case R_ALLOWED:
	case R_FORBIDDEN:
	case R_NO_RULE:
	case R_NO_RELATIONSHIP:
	case R_RELATIONSHIP_ENDED:
	case R_RELATIONSHIP_NOT_STARTED:
	case R_GRANT_CATEGORY:
	case R_AGREEMENT_CATEGORY:
	case R_AGREEMENT_ORGANIZATION:
	case R_BAD_REQUEST:
		break;
	}
	return REASON_SUBJECT;
}

/* How much a mask hides: a field shown by two rules gets the one that hides
 * more (a year and a last-4 hide about as much; the first stays). */
static int strictness(enum mask_kind k)
{
	switch (k) {
	case MASK_NONE: return 0;
	case MASK_YEAR:
	case MASK_LAST4: return 1;
	case MASK_HASH: return 2;
	case MASK_REDACT: return 3;
	case MASK_NULL: return 4;
	}
	return 4;
}

static enum mask_kind rule_mask(const struct rule *rule, enum subject_field f)
{
	for (int i = 0; i < rule->nmasks; i++)
		if (str_eq(rule->masks[i].field, subject_field_name(f)))
			return rule->masks[i].kind;
	return MASK_NONE;
}

/* The account's own refusals, which do not depend on the subject: the
 * checks policy_decide_locked makes first, and a contractor's agreement
 * (without one in force a contractor reaches nothing). */
static bool account_ok(const struct model *m, const struct access_request *r,
		       struct decision *d)
{
	const struct muser *mu = model_user(m, r->user);
	struct muser_fields u;
	int64_t until = 0, sid = 0;
	if (!mu) {
		d->reason = R_NO_USER;
		return false;
	}
	model_user_fields(mu, &u);
	if (u.status != US_ACTIVE) {
		d->reason = u.status == US_SEPARATED ? R_SEPARATED : R_DISABLED;
		return false;
	}
	if (model_suspended(mu, r->now, &until, &sid)) {
		d->reason = R_SUSPENDED;
		d->when = until;
		d->rel_id = sid;
		return false;
	}
	if (u.kind != UK_CONTRACTOR)
		return true;
	struct agreement_view a;
	d->agreement = u.agreement;
	if (!model_agreement(m, u.agreement, &a)) {
		d->reason = R_AGREEMENT_MISSING;
		return false;
	}
	if (r->now < a.start) {
		d->reason = R_AGREEMENT_NOT_STARTED;
		d->when = a.start;
		return false;
	}
	if (r->now >= a.end) {
		d->reason = R_AGREEMENT_ENDED;
		d->when = a.end;
		return false;
	}
	d->agreement = 0;
	return true;
}

bool policy_decide_subject(const struct policy *p, struct model *m,
			   const struct access_request *r, int kind, struct subject_decision *sd)
{
	memset(sd, 0, sizeof(*sd));
	sd->rule = sd->role = -1;
	sd->refusal = (struct decision){.reason = R_NO_RULE, .rule = -1, .role = -1};
	sd->refusal_category = -1;
	model_rdlock(m);
	if (!account_ok(m, r, &sd->refusal) || kind < 0 || kind >= SUBJECT_KIND_COUNT) {
		model_unlock(m);
		return false;
	}
	bool have_refusal = false, have_condition = false;
	for (size_t c = 0; c < p->inv->ncats; c++) {
		const struct inv_category *cat = &p->inv->cats[c];
		if (!(cat->subject_kinds >> kind & 1))
			continue;
		struct access_request q = *r;
		q.action = ACT_READ;
		q.category = (int)c;
		struct decision d;
		if (!policy_decide_locked(p, m, &q, &d)) {
			/* the most telling: the first condition unmet after a
			 * relationship held, else the first refusal */
			bool cond = reason_scope(d.reason) == REASON_CONDITION;
			if (!have_refusal || (cond && !have_condition)) {
				sd->refusal = d;
				sd->refusal_category = (int)c;
				have_refusal = true;
			}
			have_condition |= cond;
			continue;
		}
		sd->readable |= 1ULL << c;
		const struct rule *rule = &p->rules[d.rule];
		if (sd->rule < 0) {
			sd->rule = d.rule;
			sd->role = d.role;
			sd->agreement = d.agreement;
		}
		sd->disclosure |= rule->disclosure;
		for (int f = 0; f < SF_COUNT; f++) {
			if (!(cat->subject_fields >> f & 1))
				continue;
			enum mask_kind mk = rule_mask(rule, (enum subject_field)f);
			if (!(sd->fields >> f & 1) || strictness(mk) > strictness(sd->masks[f]))
				sd->masks[f] = mk;
			sd->fields |= 1u << f;
		}
	}
	model_unlock(m);
	sd->allow = sd->fields != 0;
	return sd->allow;
}
