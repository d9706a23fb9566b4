/*
 * confer.c - nobody confers access they could not use themselves.
 *
 * Every administrative act that can widen what someone reads passes here
 * before anything is written: granting roles (their rules, through the
 * account's school, its agreement and its relationships), creating an
 * account with roles, an organization or an agreement, creating a
 * relationship or grant, recording the confidentiality training that
 * unlocks what the account's roles already reach, and creating an
 * agreement. Each is turned into the (category, scope) pairs it would let
 * the target read, and each pair must be within the actor's own reach:
 * what the actor's rules and relationships let them read of the same
 * subject, the same school, or the whole district.
 *
 * Reach is decided by policy_decide() itself with `reach` set: the rules,
 * forbids, relationships and agreements count exactly as on a read; the
 * conditions a person meets by themselves (current training, multi-factor,
 * a stated purpose) count as met, so a designee whose annual training has
 * lapsed is still the person whose duties cover the district. The target's
 * own forbid rules are not subtracted: the check over-approximates what is
 * conferred, never under.
 *
 * The system itself (user 0: local administration) is not checked.
 */
#include "access/access_internal.h"
#include "policy/model_internal.h"

struct reach_ctx {
	const struct policy *p;
	const struct model *m;
	uint32_t actor;
	int64_t now;
	/* the first pair out of reach */
	bool refused;
	int category, role;
	enum relkind through;
	uint64_t subject;
	uint32_t org;
};

/* Whether the actor reaches `category` of `subject` (0: of every subject of
 * `org`, 0: of the district). */
static bool reaches(const struct reach_ctx *c, int category, uint64_t subject, uint32_t org)
{
	struct access_request r = {.user = c->actor, .action = ACT_READ, .subject = subject,
				   .org = org, .category = category, .mfa = true,
				   .now = c->now, .reach = true};
	struct decision d;
	return policy_decide_locked(c->p, c->m, &r, &d);
}

static void need(struct reach_ctx *c, int category, int role, enum relkind through,
		 uint64_t subject, uint32_t org)
{
	if (c->refused || reaches(c, category, subject, org))
		return;
	c->refused = true;
	c->category = category;
	c->role = role;
	c->through = through;
	c->subject = subject;
	c->org = org;
}

/* The categories a rule opens to the target, by the filter. */
static uint64_t rule_categories(const struct policy *p, const struct rule *r,
				const struct conferral *cf)
{
	uint64_t cats = r->categories;
	for (size_t i = 0; i < p->inv->ncats; i++)
		if (p->inv->cats[i].classification < cf->from)
			cats &= ~(1ull << i);
	return cats;
}

struct rel_walk {
	struct reach_ctx *c;
	const struct policy *p;
	const struct conferral *cf;
};

/* Everything the target's rules open through one stored relationship. */
static void through_relationship(struct reach_ctx *c, const struct policy *p,
				 const struct conferral *cf, enum relkind kind, uint64_t subject,
				 uint32_t org, uint64_t grant_categories)
{
	for (int i = 0; i < p->nrules && !c->refused; i++) {
		const struct rule *r = &p->rules[i];
		if (r->forbid || !(r->roles & cf->roles) || !(r->through >> kind & 1))
			continue;
		uint64_t cats = rule_categories(p, r, cf);
		if (kind == REL_GRANT)
			cats &= grant_categories;
		for (int k = 0; cats && !c->refused; k++, cats >>= 1)
			if (cats & 1)
				need(c, k, __builtin_ctz(r->roles & cf->roles), kind, subject, org);
	}
}

static void walk_rel(void *ctx, uint64_t subject, uint32_t org, enum relkind kind,
		     uint64_t categories, int64_t start, int64_t end, int64_t id)
{
	(void)start;
	(void)id;
	struct rel_walk *w = ctx;
	if (end <= w->c->now)
		return;
	through_relationship(w->c, w->p, w->cf, kind, subject, org, categories);
}

/* The derived relationships: the district, the account's school, a
 * contractor's agreement. */
static void through_derived(struct reach_ctx *c, const struct policy *p,
			    const struct conferral *cf)
{
	struct agreement_view a = {0};
	bool has_agreement = cf->agreement && model_agreement(c->m, cf->agreement, &a);
	for (int i = 0; i < p->nrules && !c->refused; i++) {
		const struct rule *r = &p->rules[i];
		if (r->forbid || !(r->roles & cf->roles))
			continue;
		int role = __builtin_ctz(r->roles & cf->roles);
		uint64_t cats = rule_categories(p, r, cf);
		for (int k = 0; k < (int)p->inv->ncats && !c->refused; k++) {
			if (!(cats >> k & 1))
				continue;
			if (r->through >> REL_DISTRICT & 1)
				need(c, k, role, REL_DISTRICT, 0, 0);
			if ((r->through >> REL_SCHOOL_STAFF & 1) && cf->org)
				need(c, k, role, REL_SCHOOL_STAFF, 0, cf->org);
			if ((r->through >> REL_AGREEMENT & 1) && has_agreement &&
			    (a.categories >> k & 1))
				for (size_t o = 0; o < a.norgs && !c->refused; o++)
					need(c, k, role, REL_AGREEMENT, 0, a.orgs[o]);
		}
	}
}

bool access_reaches(struct steward *st, const struct actor *who, const struct policy *p,
		    int64_t subject, int category)
{
	if (who->user_id == 0)
		return true;
	if (who->user_id < 0 || who->user_id >= (int64_t)UINT32_MAX || category < 0 ||
	    (size_t)category >= p->inv->ncats)
		return false;
	struct reach_ctx c = {.p = p, .m = st->model, .actor = (uint32_t)who->user_id,
			      .now = time_now()};
	model_rdlock(st->model);
	bool ok = reaches(&c, category, subject > 0 ? (uint64_t)subject : 0, 0);
	model_unlock(st->model);
	return ok;
}

bool access_reaches_locked(struct steward *st, const struct actor *who, const struct policy *p,
			   int64_t subject, uint32_t org, int category)
{
	if (who->user_id == 0)
		return true;
	if (who->user_id < 0 || who->user_id >= (int64_t)UINT32_MAX || category < 0 ||
	    (size_t)category >= p->inv->ncats)
		return false;
	struct reach_ctx c = {.p = p, .m = st->model, .actor = (uint32_t)who->user_id,
			      .now = time_now()};
	return reaches(&c, category, subject > 0 ? (uint64_t)subject : 0, org);
}

bool access_sees_relationship_locked(struct steward *st, const struct actor *who,
				     const struct policy *p, uint32_t roles, int64_t subject,
				     uint32_t org, enum relkind kind, uint64_t categories)
{
	for (int i = 0; i < p->nrules; i++) {
		const struct rule *r = &p->rules[i];
		if (r->forbid || !(r->roles & roles) || !(r->through >> kind & 1))
			continue;
		uint64_t cats = r->categories & (kind == REL_GRANT ? categories : ~0ull);
		for (int c = 0; cats; c++, cats >>= 1)
			if ((cats & 1) && access_reaches_locked(st, who, p, subject, org, c))
				return true;
	}
	return false;
}

static void org_code(struct steward *st, uint32_t org, char *out, size_t n)
{
	snprintf(out, n, "organization %u", org);
	struct store_conn *c;
	if (store_acquire(st->db, &c, NULL) != ST_OK)
		return;
	struct store_stmt *s;
	if (store_prepare(c, "SELECT code FROM organization WHERE id = ?", &s, NULL) == ST_OK) {
		store_bind(s, "i", (int64_t)org);
		if (store_step(s, NULL) == STORE_ROW)
			str_copy(out, n, store_col_text(s, 0));
		store_done(s);
	}
	store_release(c);
}

bool access_confer_ok(struct steward *st, const struct actor *who, const struct policy *p,
		      const struct conferral *cf, char *why, size_t n)
{
	if (who->user_id <= 0)
		return true;
	if (who->user_id >= (int64_t)UINT32_MAX) {
		snprintf(why, n, "no such account");
		return false;
	}
	struct reach_ctx c = {.p = p, .m = st->model, .actor = (uint32_t)who->user_id,
			      .now = time_now()};
	model_rdlock(st->model);
	if (cf->derived)
		through_derived(&c, p, cf);
	if (cf->user && !c.refused) {
		struct rel_walk w = {&c, p, cf};
		model_user_relationships(st->model, cf->user, walk_rel, &w);
	}
	if (cf->rel && !c.refused)
		through_relationship(&c, p, cf, cf->rel->kind, cf->rel->subject, cf->rel->org,
				     cf->rel->categories);
	for (size_t i = 0; i < cf->nscopes && !c.refused; i++)
		for (int k = 0; k < (int)p->inv->ncats && !c.refused; k++)
			if (cf->scopes[i].categories >> k & 1)
				need(&c, k, -1, REL_AGREEMENT, 0, cf->scopes[i].org);
	model_unlock(st->model);
	if (!c.refused)
		return true;
	char where[96];
	if (c.subject)
		/* (which subject is not said: that, too, may be beyond the actor) */
		snprintf(where, sizeof(where), "of a subject it is related to");
	else if (c.org) {
		char code[64];
		org_code(st, c.org, code, sizeof(code));
		snprintf(where, sizeof(where), "at %s", code);
	} else
		snprintf(where, sizeof(where), "across the district");
	char how[96] = "";
	if (c.role >= 0)
		snprintf(how, sizeof(how), " (the %s role, through %s)", p->roles[c.role],
			 relkind_name(c.through));
	snprintf(why, n,
		 "this would let the account read %s records %s%s, which you could not read "
		 "yourself; nobody confers access they could not use",
		 p->inv->cats[c.category].name, where, how);
	return false;
}
