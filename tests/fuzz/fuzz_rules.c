/*
 * fuzz_rules.c - a rule document, as `PUT /api/v1/policy`, `steward policy
 * check` and `policy install` and every open of a data directory parse one:
 * policy_parse (src/policy/rules.c) against the shipped data inventory,
 * then policy_lint. The input is the document. Rules that compile then
 * decide (src/policy/decide.c, over facts built once in
 * LLVMFuzzerInitialize, src/policy/model.c): every action on every category
 * for three users, and every administrative permission, each decision
 * explained as the access log and the explain endpoint put it (and in
 * shorter buffers, so that names of any length are cut everywhere).
 *
 * Properties: a refusal names the key at fault in text an answer can
 * carry; a decision that allows names an allow rule that covers the
 * action, the category and one of the user's roles; a user without a role
 * is never allowed; every explanation and every lint finding is text an
 * answer and a log event can carry.
 */
#include "fuzz.h"
#include "core/defaults.h"
#include "policy/policy.h"

#define NOW 1796083200 /* 2026-12-02 */
#define DAY 86400

static struct inventory *inv;
static struct model *model;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	struct st_error e = {0};
	if (inventory_parse((const char *)default_inventory, default_inventory_len, &inv, &e))
		die("fuzz_rules: %s", e.message);
	model = model_new();
	/* 1: an employee holding every role, related to subject 1 in every
	 * stored way; 2: a contractor under an agreement; 3: no role at all */
	model_subject_set(model, 1, 1);
	model_user_set(model, 1, UK_EMPLOYEE, US_ACTIVE, 0xffffffffu, 1, 0);
	model_training_set(model, 1, NOW + 100 * DAY);
	for (int k = REL_TEACHER_OF; k <= REL_GRANT; k++)
		model_rel_add(model, k + 1, 1, 1, 0, (enum relkind)k, ~0ULL, NOW - DAY, INT64_MAX);
	uint32_t org = 1;
	model_agreement_set(model, 1, ~0ULL, &org, 1, NOW - DAY, NOW + DAY,
			    "Édition Scolaire Société Anonyme");
	model_user_set(model, 2, UK_CONTRACTOR, US_ACTIVE, 0xffffffffu, 0, 1);
	model_training_set(model, 2, NOW + 100 * DAY);
	model_user_set(model, 3, UK_EMPLOYEE, US_ACTIVE, 0, 1, 0);
	return 0;
}

/* As the log and the answers hold it (320 bytes), and cut shorter: names
 * of any length land at every place of the buffer's end. */
static void explained(const struct policy *p, const struct access_request *r,
		      const struct decision *d, unsigned turn)
{
	size_t sizes[] = {320, 16 + turn % 64};
	char why[320];
	for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
		decision_explain(p, model, r, d, why, sizes[i]);
		FUZZ_CHECK(why[0] && strlen(why) < sizes[i] && fuzz_text_ok(why));
	}
}

static void decide_all(const struct policy *p)
{
	for (uint32_t user = 1; user <= 3; user++)
		for (int a = 0; a < ACT_COUNT; a++)
			for (size_t c = 0; c < inv->ncats; c++) {
				struct access_request r = {.user = user, .action = (enum action)a,
							   .subject = 1, .category = (int)c,
							   .mfa = c % 2 == 0, .purpose = "fuzz",
							   .now = NOW};
				struct decision d;
				bool allow = policy_decide(p, model, &r, &d);
				FUZZ_CHECK(allow == d.allow);
				if (allow) {
					FUZZ_CHECK(user != 3);
					FUZZ_CHECK(d.rule >= 0 && d.rule < p->nrules);
					const struct rule *ru = &p->rules[d.rule];
					FUZZ_CHECK(!ru->forbid && (ru->actions >> a & 1) &&
						   (ru->categories >> c & 1));
					FUZZ_CHECK(d.role >= 0 && (ru->roles >> d.role & 1));
				}
				explained(p, &r, &d, user * 61 + (unsigned)a * 13 + (unsigned)c * 7);
			}
	for (int perm = 0; perm < ADM_COUNT; perm++) {
		struct decision d;
		bool allow = policy_admin_decide(p, model, 1, (enum admin_perm)perm, true, NOW, &d);
		FUZZ_CHECK(allow == (p->admin_roles[perm] != 0));
		struct access_request r = {.user = 1, .now = NOW};
		explained(p, &r, &d, (unsigned)perm * 5);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy *p = NULL;
	struct st_error e = {0};
	int rc = policy_parse((const char *)data, size, inv, &p, &e);
	if (rc != ST_OK) {
		fuzz_check_refusal(rc, &e);
		return 0;
	}
	FUZZ_CHECK(p->nroles >= 1 && p->nroles <= POLICY_MAX_ROLES);
	FUZZ_CHECK(p->nrules >= 0 && p->nrules <= POLICY_MAX_RULES);
	json_t *lint = policy_lint(p);
	size_t i;
	json_t *item;
	json_array_foreach(lint, i, item) {
		FUZZ_CHECK(json_is_string(json_object_get(item, "rule")));
		FUZZ_CHECK(json_is_string(json_object_get(item, "problem")));
	}
	json_decref(lint);
	decide_all(p);
	policy_unref(p);
	return 0;
}
