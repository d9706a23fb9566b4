/*
 * rules.c - the rule document: parsing, validation against the data
 * inventory, compilation into per-(action, category) lists, and the lint
 * behind `steward policy check` (rules that can never apply, conflicts).
 */
#include "policy/policy.h"

static const char *const action_names[ACT_COUNT] = {"read",   "create", "update",
						    "delete", "export", "disclose"};
static const char *const relkind_names[REL_COUNT] = {
	"teacher_of", "counselor_caseload", "sped_caseload", "supervisor_of",
	"grant",      "school_staff",       "district",      "agreement"};
static const char *const mask_names[] = {"none", "redact", "last4", "hash", "null", "year"};
static const char *const user_kind_names[UK_COUNT] = {"employee", "contractor", "board_member",
						     "volunteer"};
static const char *const user_status_names[] = {"active", "disabled", "separated"};
static const char *const admin_names[ADM_COUNT] = {
	"users",  "suspensions", "training", "agreements", "relationships", "subjects",
	"policy", "inventory",   "review",   "audit_read", "audit_export", "access"};

const char *admin_perm_name(enum admin_perm p)
{
	return (unsigned)p < ADM_COUNT ? admin_names[p] : "unknown";
}

#define NAME_LOOKUP(fn, table, type, count)                                             \
	int fn(const char *s, type *out)                                                \
	{                                                                               \
		for (int i = 0; i < (int)(count); i++)                                  \
			if (s && str_eq(s, table[i])) {                                 \
				*out = (type)i;                                         \
				return ST_OK;                                           \
			}                                                               \
		return ST_EINVAL;                                                       \
	}

NAME_LOOKUP(action_parse, action_names, enum action, ACT_COUNT)
NAME_LOOKUP(relkind_parse, relkind_names, enum relkind, REL_COUNT)
NAME_LOOKUP(user_kind_parse, user_kind_names, enum user_kind, UK_COUNT)
NAME_LOOKUP(user_status_parse, user_status_names, enum user_status, 3)
static NAME_LOOKUP(mask_parse, mask_names, enum mask_kind, ARRAY_LEN(mask_names))

const char *action_name(enum action a)
{
	return (unsigned)a < ACT_COUNT ? action_names[a] : "unknown";
}
const char *relkind_name(enum relkind k)
{
	return (unsigned)k < REL_COUNT ? relkind_names[k] : "unknown";
}
bool relkind_stored(enum relkind k)
{
	return k <= REL_GRANT;
}
const char *mask_name(enum mask_kind k)
{
	return (unsigned)k < ARRAY_LEN(mask_names) ? mask_names[k] : "unknown";
}
const char *user_kind_name(enum user_kind k)
{
	return (unsigned)k < UK_COUNT ? user_kind_names[k] : "unknown";
}
const char *user_status_name(enum user_status s)
{
	return (unsigned)s < 3 ? user_status_names[s] : "unknown";
}

int policy_role(const struct policy *p, const char *name)
{
	for (int i = 0; i < p->nroles; i++)
		if (str_eq(p->roles[i], name))
			return i;
	return -1;
}

static int bad(struct st_error *e, const char *code, const char *field, const char *msg,
	       const char *detail)
{
	return err_setc(e, ST_EINVAL, code, field, "%s%s%s", msg, detail ? ": " : "",
			detail ? detail : "");
}

/* A list of names from a JSON array into a bitmask via a lookup. */
static int parse_list(const json_t *a, const char *path, int (*lookup)(void *, const char *),
		      void *ctx, uint64_t *mask, bool required, struct st_error *e)
{
	*mask = 0;
	if (!a) {
		if (required)
			return bad(e, "missing_field", path, "a list is required", NULL);
		return ST_OK;
	}
	if (!json_is_array(a) || (required && json_array_size(a) == 0))
		return bad(e, "wrong_type", path, "must be a non-empty list of names", NULL);
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v) {
		int bit = json_is_string(v) ? lookup(ctx, json_string_value(v)) : -1;
		if (bit < 0)
			return bad(e, "bad_value", path, "unknown name",
				   json_is_string(v) ? json_string_value(v) : "(not a string)");
		*mask |= 1ULL << bit;
	}
	return ST_OK;
}

static int lookup_action(void *ctx, const char *s)
{
	(void)ctx;
	enum action a;
	return action_parse(s, &a) == ST_OK ? (int)a : -1;
}
static int lookup_rel(void *ctx, const char *s)
{
	(void)ctx;
	enum relkind k;
	return relkind_parse(s, &k) == ST_OK ? (int)k : -1;
}
static int lookup_role(void *ctx, const char *s)
{
	return policy_role(ctx, s);
}
static int lookup_category(void *ctx, const char *s)
{
	const struct inv_category *c = inventory_category(ctx, s);
	return c ? c->index : -1;
}

static int parse_rule(struct policy *p, int idx, json_t *r, struct st_error *e)
{
	char path[64], sub[96];
	snprintf(path, sizeof(path), "rules[%d]", idx);
	if (!json_is_object(r))
		return bad(e, "wrong_type", path, "a rule must be an object", NULL);
	static const char *const keys[] = {"id",          "description", "effect",  "roles",
					   "except_roles", "actions",    "categories", "through",
					   "conditions",  "obligations", NULL};
	int rc = json_only_keys(r, keys, path, e);
	if (rc != ST_OK)
		return rc;
	struct rule *ru = &p->rules[idx];
	const char *effect = NULL;
	if ((rc = json_get_str(r, "id", true, 80, &ru->id, path, e)) ||
	    (rc = json_get_str(r, "description", true, 1000, &ru->description, path, e)) ||
	    (rc = json_get_str(r, "effect", true, 16, &effect, path, e)))
		return rc;
	for (int i = 0; i < idx; i++)
		if (str_eq(p->rules[i].id, ru->id)) {
			snprintf(sub, sizeof(sub), "%s.id", path);
			return bad(e, "duplicate", sub, "two rules have the same id", ru->id);
		}
	snprintf(sub, sizeof(sub), "%s.effect", path);
	if (str_eq(effect, "forbid"))
		ru->forbid = true;
	else if (!str_eq(effect, "allow"))
		return bad(e, "bad_value", sub, "effect must be allow or forbid", effect);
	uint64_t mask = 0;
	json_t *roles = json_object_get(r, "roles"), *except = json_object_get(r, "except_roles");
	if (ru->forbid) {
		if (roles && except) {
			snprintf(sub, sizeof(sub), "%s.except_roles", path);
			return bad(e, "bad_value", sub,
				   "a forbid rule names either roles or except_roles", NULL);
		}
		snprintf(sub, sizeof(sub), "%s.%s", path, roles ? "roles" : "except_roles");
		rc = parse_list(roles ? roles : except, sub, lookup_role, p, &mask, false, e);
		if (rc != ST_OK)
			return rc;
		uint32_t all = p->nroles == 32 ? 0xffffffffu : (1u << p->nroles) - 1;
		ru->roles = roles ? (uint32_t)mask : (except ? all & ~(uint32_t)mask : all);
		ru->designated = roles ? 0 : (uint32_t)mask;
	} else {
		if (except) {
			snprintf(sub, sizeof(sub), "%s.except_roles", path);
			return bad(e, "bad_value", sub, "only forbid rules take except_roles", NULL);
		}
		snprintf(sub, sizeof(sub), "%s.roles", path);
		rc = parse_list(roles, sub, lookup_role, p, &mask, true, e);
		ru->roles = (uint32_t)mask;
		if (rc != ST_OK)
			return rc;
	}
	snprintf(sub, sizeof(sub), "%s.actions", path);
	if ((rc = parse_list(json_object_get(r, "actions"), sub, lookup_action, NULL, &mask, true, e)))
		return rc;
	ru->actions = (uint8_t)mask;
	snprintf(sub, sizeof(sub), "%s.categories", path);
	if ((rc = parse_list(json_object_get(r, "categories"), sub, lookup_category, p->inv, &mask,
			     true, e)))
		return rc;
	ru->categories = mask;
	snprintf(sub, sizeof(sub), "%s.through", path);
	json_t *through = json_object_get(r, "through");
	if (ru->forbid && through)
		return bad(e, "bad_value", sub, "a forbid rule applies whatever the relationship",
			   NULL);
	if ((rc = parse_list(through, sub, lookup_rel, NULL, &mask, !ru->forbid, e)))
		return rc;
	ru->through = (uint16_t)mask;
	json_t *conds = json_object_get(r, "conditions");
	snprintf(sub, sizeof(sub), "%s.conditions", path);
	if (conds) {
		if (!json_is_array(conds) || ru->forbid)
			return bad(e, "bad_value", sub,
				   "conditions is a list, on allow rules only", NULL);
		size_t i;
		json_t *c;
		json_array_foreach(conds, i, c) {
			const char *cs = json_string_value(c);
			if (str_eq(cs, "purpose"))
				ru->need_purpose = true;
			else if (str_eq(cs, "mfa"))
				ru->need_mfa = true;
			else
				return bad(e, "bad_value", sub,
					   "unknown condition (purpose, mfa; the account, training, "
					   "multi-factor for restricted data and agreements are "
					   "always checked)",
					   cs ? cs : "(not a string)");
		}
	}
	json_t *ob = json_object_get(r, "obligations");
	snprintf(sub, sizeof(sub), "%s.obligations", path);
	if (ob) {
		if (!json_is_object(ob) || ru->forbid)
			return bad(e, "bad_value", sub, "obligations is an object, on allow rules only",
				   NULL);
		static const char *const okeys[] = {"mask", "disclosure", NULL};
		if ((rc = json_only_keys(ob, okeys, sub, e)) ||
		    (rc = json_get_bool(ob, "disclosure", false, &ru->disclosure, sub, e)))
			return rc;
		json_t *masks = json_object_get(ob, "mask");
		if (masks) {
			char mpath[128];
			snprintf(mpath, sizeof(mpath), "%s.mask", sub);
			if (!json_is_object(masks) || json_object_size(masks) > RULE_MAX_MASKS)
				return bad(e, "bad_value", mpath,
					   "mask maps field names to redact, last4, hash, null or year",
					   NULL);
			const char *field;
			json_t *kind;
			json_object_foreach(masks, field, kind) {
				enum mask_kind mk;
				if (mask_parse(json_string_value(kind), &mk) != ST_OK || mk == MASK_NONE)
					return bad(e, "bad_value", mpath,
						   "a mask is redact, last4, hash, null or year", field);
				bool declared = false;
				for (size_t c = 0; c < p->inv->ncats; c++)
					if ((ru->categories >> c & 1) &&
					    (inventory_field(&p->inv->cats[c], field) ||
					     inventory_subject_field(&p->inv->cats[c], field)))
						declared = true;
				if (!declared)
					return bad(e, "undeclared_field", mpath,
						   "no category of the rule declares this field", field);
				ru->masks[ru->nmasks++] = (struct mask_rule){field, mk};
			}
		}
	}
	return ST_OK;
}

static void compile(struct policy *p)
{
	for (int a = 0; a < ACT_COUNT; a++)
		for (size_t c = 0; c < p->inv->ncats; c++) {
			uint16_t allow[POLICY_MAX_RULES], forbid[POLICY_MAX_RULES];
			uint16_t na = 0, nf = 0;
			for (int i = 0; i < p->nrules; i++) {
				const struct rule *r = &p->rules[i];
				if (!(r->actions >> a & 1) || !(r->categories >> c & 1))
					continue;
				if (r->forbid)
					forbid[nf++] = (uint16_t)i;
				else
					allow[na++] = (uint16_t)i;
			}
			p->nallow_by[a][c] = na;
			p->nforbid_by[a][c] = nf;
			p->allow_by[a][c] = na ? xmalloc(na * sizeof(uint16_t)) : NULL;
			p->forbid_by[a][c] = nf ? xmalloc(nf * sizeof(uint16_t)) : NULL;
			if (na)
				memcpy(p->allow_by[a][c], allow, na * sizeof(uint16_t));
			if (nf)
				memcpy(p->forbid_by[a][c], forbid, nf * sizeof(uint16_t));
		}
}

static void free_compiled(struct policy *p)
{
	for (int a = 0; a < ACT_COUNT; a++)
		for (int c = 0; c < INV_MAX_CATEGORIES; c++) {
			free(p->allow_by[a][c]);
			free(p->forbid_by[a][c]);
		}
}

int policy_parse(const char *text, size_t len, struct inventory *inv, struct policy **out,
		 struct st_error *e)
{
	json_t *doc = NULL;
	int rc = json_parse_object(text, len, &doc, e);
	if (rc != ST_OK)
		return rc;
	struct policy *p = xcalloc(1, sizeof(*p));
	p->doc = doc;
	p->inv = inventory_ref(inv);
	p->refs = 1;
	static const char *const keys[] = {"format", "title", "note", "training",
					   "mfa_required_from", "roles", "administration", "rules",
					   NULL};
	const char *format = NULL, *s = NULL, *mfa = NULL;
	if ((rc = json_only_keys(doc, keys, "", e)) ||
	    (rc = json_get_str(doc, "format", true, 64, &format, "", e)) ||
	    (rc = json_get_str(doc, "title", false, 200, &s, "", e)) ||
	    (rc = json_get_str(doc, "note", false, 4000, &s, "", e)) ||
	    (rc = json_get_str(doc, "mfa_required_from", false, 32, &mfa, "", e)))
		goto fail;
	if (!str_eq(format, "steward-policy/1")) {
		rc = bad(e, "bad_value", "format", "format must be \"steward-policy/1\"", NULL);
		goto fail;
	}
	p->mfa_from = CLASS_RESTRICTED;
	if (mfa && classification_parse(mfa, &p->mfa_from) != ST_OK) {
		rc = bad(e, "bad_value", "mfa_required_from", "not a classification", mfa);
		goto fail;
	}
	json_t *tr = json_object_get(doc, "training");
	str_copy(p->training_course, sizeof(p->training_course), "student-records-confidentiality");
	p->training_from = CLASS_CONFIDENTIAL;
	if (tr) {
		static const char *const tkeys[] = {"course", "required_from", NULL};
		const char *course = NULL, *from = NULL;
		if ((rc = json_only_keys(tr, tkeys, "training", e)) ||
		    (rc = json_get_str(tr, "course", true, 63, &course, "training", e)) ||
		    (rc = json_get_str(tr, "required_from", true, 32, &from, "training", e)))
			goto fail;
		str_copy(p->training_course, sizeof(p->training_course), course);
		if (classification_parse(from, &p->training_from) != ST_OK) {
			rc = bad(e, "bad_value", "training.required_from", "not a classification", from);
			goto fail;
		}
	}
	json_t *roles = json_object_get(doc, "roles");
	if (!json_is_object(roles) || json_object_size(roles) == 0 ||
	    json_object_size(roles) > POLICY_MAX_ROLES) {
		rc = bad(e, "bad_value", "roles", "roles must name 1 to 32 roles", NULL);
		goto fail;
	}
	const char *rname;
	json_t *rv;
	json_object_foreach(roles, rname, rv) {
		char path[96];
		snprintf(path, sizeof(path), "roles.%s", rname);
		static const char *const rkeys[] = {"title", "description", NULL};
		const char *title = NULL;
		if (!json_is_object(rv) || (rc = json_only_keys(rv, rkeys, path, e)) ||
		    (rc = json_get_str(rv, "title", true, 120, &title, path, e)) ||
		    (rc = json_get_str(rv, "description", false, 1000, &s, path, e))) {
			if (rc == ST_OK)
				rc = bad(e, "wrong_type", path, "a role is an object with a title", NULL);
			goto fail;
		}
		p->roles[p->nroles] = rname;
		p->role_titles[p->nroles] = title;
		p->nroles++;
	}
	json_t *admin = json_object_get(doc, "administration");
	if (admin) {
		if (!json_is_object(admin)) {
			rc = bad(e, "wrong_type", "administration",
				 "administration maps permissions to roles", NULL);
			goto fail;
		}
		const char *perm;
		json_t *list;
		json_object_foreach(admin, perm, list) {
			int k = -1;
			for (int i = 0; i < ADM_COUNT; i++)
				if (str_eq(perm, admin_names[i]))
					k = i;
			char path[96];
			snprintf(path, sizeof(path), "administration.%s", perm);
			if (k < 0) {
				rc = bad(e, "bad_value", path,
					 "unknown permission (users, suspensions, training, agreements, "
					 "relationships, subjects, policy, inventory, review, "
					 "audit_read, audit_export, access)",
					 NULL);
				goto fail;
			}
			uint64_t mask = 0;
			rc = parse_list(list, path, lookup_role, p, &mask, false, e);
			if (rc != ST_OK)
				goto fail;
			p->admin_roles[k] = (uint32_t)mask;
		}
	}
	/* Rules written before the power to confer access was its own keep it
	 * with those who may change the rules (never with account managers). */
	if (!admin || !json_object_get(admin, "access"))
		p->admin_roles[ADM_ACCESS] = p->admin_roles[ADM_POLICY];
	json_t *rules = json_object_get(doc, "rules");
	if (!json_is_array(rules) || json_array_size(rules) > POLICY_MAX_RULES) {
		rc = bad(e, "bad_value", "rules", "rules must be a list", NULL);
		goto fail;
	}
	size_t i;
	json_t *r;
	json_array_foreach(rules, i, r) {
		rc = parse_rule(p, (int)i, r, e);
		if (rc != ST_OK)
			goto fail;
		p->nrules++;
	}
	compile(p);
	*out = p;
	return ST_OK;
fail:
	inventory_unref(p->inv);
	json_decref(doc);
	free(p);
	return rc;
}

struct policy *policy_ref(struct policy *p)
{
	__atomic_add_fetch(&p->refs, 1, __ATOMIC_RELAXED);
	return p;
}

void policy_unref(struct policy *p)
{
	if (p && __atomic_sub_fetch(&p->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		free_compiled(p);
		inventory_unref(p->inv);
		json_decref(p->doc);
		free(p);
	}
}

static void problem(json_t *list, const char *rule, const char *fmt, ...) ST_PRINTF(3, 4);
static void problem(json_t *list, const char *rule, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_array_append_new(list, json_pack("{s:s, s:s}", "rule", rule, "problem", msg));
}

json_t *policy_lint(const struct policy *p)
{
	json_t *out = json_array();
	for (int i = 0; i < p->nrules; i++) {
		const struct rule *r = &p->rules[i];
		if (!r->roles) {
			problem(out, r->id, "applies to no role: it can never apply");
			continue;
		}
		if (r->forbid)
			continue;
		/* an allow rule whose every (role, action, category) a forbid
		 * rule covers can never apply */
		bool live = false;
		for (int a = 0; a < ACT_COUNT && !live; a++) {
			if (!(r->actions >> a & 1))
				continue;
			for (size_t c = 0; c < p->inv->ncats && !live; c++) {
				if (!(r->categories >> c & 1))
					continue;
				for (int role = 0; role < p->nroles && !live; role++) {
					if (!(r->roles >> role & 1))
						continue;
					bool forbidden = false;
					for (int k = 0; k < p->nforbid_by[a][c]; k++)
						if (p->rules[p->forbid_by[a][c][k]].roles >> role & 1)
							forbidden = true;
					live = !forbidden;
				}
			}
		}
		if (!live)
			problem(out, r->id,
				"every role, action and category it allows is forbidden by a forbid "
				"rule: it can never apply");
		/* derived relationships that cannot hold for its roles */
		if (r->through == (1u << REL_AGREEMENT)) {
			int contractor = policy_role(p, "contractor");
			if (contractor < 0 || !(r->roles >> contractor & 1))
				problem(out, r->id,
					"allows access only through an agreement, which only "
					"contractor accounts hold");
		}
		/* an earlier rule that matches the same role, action, category and
		 * relationship decides first: a later one with other obligations
		 * is shadowed there */
		for (int j = 0; j < i; j++) {
			const struct rule *q = &p->rules[j];
			if (q->forbid || !(q->roles & r->roles) || !(q->actions & r->actions) ||
			    !(q->categories & r->categories) || !(q->through & r->through))
				continue;
			bool same = q->nmasks == r->nmasks && q->disclosure == r->disclosure &&
				    q->need_purpose == r->need_purpose;
			for (int k = 0; same && k < q->nmasks; k++)
				same = str_eq(q->masks[k].field, r->masks[k].field) &&
				       q->masks[k].kind == r->masks[k].kind;
			if (!same)
				problem(out, r->id,
					"conflicts with \"%s\": both allow some role, action, "
					"category and relationship with different obligations; the "
					"earlier rule \"%s\" decides",
					q->id, q->id);
		}
	}
	return out;
}
