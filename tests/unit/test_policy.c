/*
 * test_policy.c - the decision engine against the shipped rules.
 *
 * The core is table-driven: every role x category x action x relationship
 * (each kind, or none) x same or other school x suspended x training
 * current or expired x multi-factor x purpose stated, plus contractors
 * with active, expired and missing agreements, is decided by the engine
 * and by an oracle written here directly from the rules' text; they must
 * agree everywhere (no unexpected allow, no unexpected deny). Then the
 * explanations, masking, the rule parser's errors and the lint.
 */
#include "testsupport.h"
#include "core/defaults.h"
#include "policy/policy.h"

static struct inventory *inv;
static struct policy *pol;

static int setup(void **state)
{
	(void)state;
	struct st_error e = {0};
	if (inventory_parse((const char *)default_inventory, default_inventory_len, &inv, &e))
		fail_msg("inventory: %s", e.message);
	if (policy_parse((const char *)default_policy, default_policy_len, inv, &pol, &e))
		fail_msg("policy: %s [%s]", e.message, e.field);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	policy_unref(pol);
	inventory_unref(inv);
	return 0;
}

/* --- the oracle: data/policy.json, read as a person would ---------------- */

enum { REL_NONE = REL_COUNT };

struct facts {
	const char *role;
	int rel;          /* relkind of the user to the subject, or REL_NONE */
	bool same_school;
	bool suspended, trained, mfa, purpose;
	int agreement;    /* contractors: 0 none, 1 active, 2 expired */
	bool grant_covers;
};

static bool in(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (str_eq(s, *list))
			return true;
	return false;
}

#define L(...) ((const char *const[]){__VA_ARGS__, NULL})

static bool oracle(const struct facts *f, const char *act, const char *cat)
{
	static const char *const student_cats[] = {"directory", "academic", "attendance",
						   "discipline", "health", "special_education",
						   "child_abuse_report", NULL};
	bool restricted = in(cat, L("health", "special_education", "child_abuse_report",
				    "payroll", "background_check"));
	bool confidential = !str_eq(cat, "directory");
	if (f->suspended)
		return false;
	/* forbid rules */
	if (str_eq(cat, "child_abuse_report") && !in(f->role, L("designee", "counselor", "attorney")))
		return false;
	if (str_eq(f->role, "it_admin") && in(cat, student_cats))
		return false;
	/* the guards every allow needs */
	if (confidential && !f->trained)
		return false;
	if (restricted && !f->mfa)
		return false;
	bool teacher_of = f->rel == REL_TEACHER_OF, counselor = f->rel == REL_COUNSELOR_CASELOAD,
	     sped = f->rel == REL_SPED_CASELOAD, supervisor = f->rel == REL_SUPERVISOR_OF,
	     grant = f->rel == REL_GRANT && f->grant_covers, school = f->same_school;
	const char *r = f->role, *a = act, *c = cat;
	if (str_eq(c, "directory") && str_eq(a, "read") && school &&
	    in(r, L("teacher", "counselor", "nurse", "sped_staff", "principal", "volunteer")))
		return true;
	if (str_eq(r, "teacher") && teacher_of && in(a, L("read", "create", "update")) &&
	    in(c, L("academic", "attendance")))
		return true;
	if (str_eq(r, "counselor") && counselor && str_eq(a, "read") &&
	    in(c, L("academic", "attendance", "discipline")))
		return true;
	if (str_eq(r, "counselor") && counselor && in(a, L("read", "create")) &&
	    str_eq(c, "child_abuse_report") && f->purpose)
		return true;
	if (str_eq(r, "sped_staff") && sped && in(a, L("read", "create", "update")) &&
	    str_eq(c, "special_education"))
		return true;
	if (str_eq(r, "sped_staff") && sped && str_eq(a, "read") && in(c, L("academic", "attendance")))
		return true;
	if (str_eq(r, "nurse") && school && in(a, L("read", "create", "update")) && str_eq(c, "health"))
		return true;
	if (str_eq(r, "principal") && school && str_eq(a, "read") &&
	    in(c, L("academic", "attendance", "discipline")))
		return true;
	if (str_eq(r, "principal") && school && in(a, L("create", "update")) &&
	    in(c, L("discipline", "directory")))
		return true;
	if (supervisor && str_eq(a, "read") && str_eq(c, "personnel") &&
	    in(r, L("teacher", "counselor", "nurse", "sped_staff", "principal", "hr", "designee")))
		return true;
	if (str_eq(r, "hr") && in(a, L("read", "create", "update")) &&
	    in(c, L("personnel", "background_check", "payroll")))
		return true;
	if (str_eq(r, "designee") && f->purpose && str_eq(a, "read") && in(c, student_cats))
		return true;
	if (str_eq(r, "designee") && f->purpose && in(a, L("create", "update")) &&
	    str_eq(c, "child_abuse_report"))
		return true;
	if (str_eq(r, "designee") && f->purpose && str_eq(a, "read") &&
	    in(c, L("personnel", "payroll", "background_check")))
		return true;
	if (str_eq(r, "designee") && f->purpose && in(a, L("export", "disclose")) &&
	    in(c, student_cats) && !str_eq(c, "child_abuse_report"))
		return true;
	if (str_eq(r, "attorney") && f->purpose && in(a, L("read", "export")))
		return true;
	if (str_eq(r, "contractor") && str_eq(a, "read") && f->agreement == 1 && school &&
	    in(c, L("directory", "academic", "attendance", "health")))
		return true;
	if (grant && str_eq(a, "read") &&
	    in(r, L("teacher", "counselor", "nurse", "sped_staff", "principal", "hr", "designee",
		    "attorney")) &&
	    in(c, L("directory", "academic", "attendance", "discipline", "health",
		    "special_education", "personnel", "background_check")))
		return true;
	return false;
}

/* --- the matrix ---------------------------------------------------------------- */

static const int64_t NOW = 1795000000; /* 2026-11-18 */

static void test_matrix_against_oracle(void **state)
{
	(void)state;
	struct model *m = model_new();
	const uint32_t SCHOOL_A = 10, SCHOOL_B = 11;
	const uint64_t SUBJ_A = 100, SUBJ_B = 101;
	model_subject_set(m, SUBJ_A, SCHOOL_A);
	model_subject_set(m, SUBJ_B, SCHOOL_B);
	/* the agreement covers directory, academic, attendance and health at
	 * school A only */
	uint64_t agr_cats = 0;
	const char *agr_names[] = {"directory", "academic", "attendance", "health"};
	for (int i = 0; i < 4; i++)
		agr_cats |= 1ULL << inventory_category(inv, agr_names[i])->index;
	uint32_t orgs[] = {SCHOOL_A};
	model_agreement_set(m, 1, agr_cats, orgs, 1, NOW - 86400 * 100, NOW + 86400 * 100, "Acme");
	model_agreement_set(m, 2, agr_cats, orgs, 1, NOW - 86400 * 400, NOW - 86400, "OldCo");
	uint64_t grant_cats = 1ULL << inventory_category(inv, "academic")->index |
			      1ULL << inventory_category(inv, "health")->index |
			      1ULL << inventory_category(inv, "personnel")->index;

	struct facts *facts = xcalloc(4096, sizeof(*facts));
	uint32_t uid = 0;
	int64_t relid = 0;
	for (int role = 0; role < pol->nroles; role++) {
		bool contractor = str_eq(pol->roles[role], "contractor");
		for (int rel = 0; rel <= REL_NONE; rel++) {
			if (rel != REL_NONE && !relkind_stored((enum relkind)rel))
				continue;
			for (int susp = 0; susp < 2; susp++)
				for (int trained = 0; trained < 2; trained++)
					for (int agr = 0; agr < (contractor ? 3 : 1); agr++) {
						uid++;
						struct facts *f = &facts[uid];
						*f = (struct facts){pol->roles[role], rel, true, susp, trained,
								    false, false, contractor ? agr : 0,
								    true};
						model_user_set(m, uid, contractor ? UK_CONTRACTOR : UK_EMPLOYEE,
							       US_ACTIVE, 1u << role, SCHOOL_A,
							       contractor ? (uint32_t)agr : 0);
						if (susp)
							model_suspension_add(m, uid, uid, NOW - 86400,
									     NOW + 86400, "temporary");
						/* current training, or one that lapsed */
						model_training_set(m, uid, trained ? NOW + 86400 * 200
										   : NOW - 86400 * 30);
						if (rel != REL_NONE)
							for (int s = 0; s < 2; s++)
								model_rel_add(m, ++relid, uid,
									      s ? SUBJ_B : SUBJ_A, 0,
									      (enum relkind)rel,
									      rel == REL_GRANT ? grant_cats
											       : 0,
									      NOW - 86400, 0);
					}
		}
	}
	ST_ASSERT(uid < 4096);
	uint64_t decisions = 0, allowed = 0;
	for (uint32_t u = 1; u <= uid; u++)
		for (int s = 0; s < 2; s++)
			for (size_t c = 0; c < inv->ncats; c++)
				for (int a = 0; a < ACT_COUNT; a++)
					for (int mfa = 0; mfa < 2; mfa++)
						for (int purpose = 0; purpose < 2; purpose++) {
							struct facts f = facts[u];
							f.same_school = s == 0;
							f.mfa = mfa;
							f.purpose = purpose;
							f.grant_covers = grant_cats >> c & 1;
							struct access_request r = {
								.user = u, .action = (enum action)a,
								.subject = s ? SUBJ_B : SUBJ_A,
								.category = (int)c, .mfa = mfa,
								.purpose = purpose ? "care" : NULL,
								.now = NOW};
							struct decision d;
							bool got = policy_decide(pol, m, &r, &d);
							bool want = oracle(&f, action_name((enum action)a),
									   inv->cats[c].name);
							decisions++;
							allowed += got;
							if (got != want) {
								char why[320];
								decision_explain(pol, m, &r, &d, why, sizeof(why));
								fail_msg("%s %s %s: role %s rel %s %s school, "
									 "suspended %d trained %d mfa %d purpose "
									 "%d agreement %d: engine %s (%s), "
									 "oracle %s",
									 "decide", action_name((enum action)a),
									 inv->cats[c].name, f.role,
									 f.rel == REL_NONE ? "none"
											   : relkind_name((enum relkind)f.rel),
									 f.same_school ? "same" : "other",
									 f.suspended, f.trained, mfa, purpose,
									 f.agreement, got ? "allow" : "deny", why,
									 want ? "allow" : "deny");
							}
							/* an allow always names its rule and relationship */
							if (got)
								assert_true(d.rule >= 0 &&
									    !pol->rules[d.rule].forbid);
						}
	/* a real matrix: many decisions, both outcomes well represented */
	assert_true(decisions > 100000);
	assert_true(allowed > 1000 && allowed < decisions / 2);
	free(facts);
	model_free(m);
}

/* --- explanations -------------------------------------------------------------- */

static void explain(struct model *m, uint32_t user, const char *act, uint64_t subject,
		    const char *cat, bool mfa, const char *purpose, const char *expect_substring,
		    bool expect_allow)
{
	struct access_request r = {.user = user, .subject = subject, .mfa = mfa, .purpose = purpose,
				   .now = NOW};
	assert_int_equal(action_parse(act, &r.action), ST_OK);
	r.category = inventory_category(inv, cat)->index;
	struct decision d;
	bool ok = policy_decide(pol, m, &r, &d);
	char why[320];
	decision_explain(pol, m, &r, &d, why, sizeof(why));
	if (ok != expect_allow || !strstr(why, expect_substring))
		fail_msg("%s %s: got %s \"%s\", wanted %s \"%s\"", act, cat, ok ? "allow" : "deny",
			 why, expect_allow ? "allow" : "deny", expect_substring);
}

static void test_explanations(void **state)
{
	(void)state;
	struct model *m = model_new();
	model_subject_set(m, 5, 1);
	model_subject_set(m, 6, 2);
	int teacher = policy_role(pol, "teacher"), nurse = policy_role(pol, "nurse"),
	    contractor = policy_role(pol, "contractor"), hr = policy_role(pol, "hr");
	int64_t aug31 = 0;
	time_parse("2026-08-31", &aug31);
	model_user_set(m, 1, UK_EMPLOYEE, US_ACTIVE, 1u << teacher, 1, 0);
	model_training_set(m, 1, aug31);
	model_rel_add(m, 1, 1, 5, 0, REL_TEACHER_OF, 0, NOW - 1000, 0);
	explain(m, 1, "read", 5, "academic", false, NULL,
		"annual confidentiality training expired on 2026-08-31", false);
	model_training_set(m, 1, NOW + 1000);
	explain(m, 1, "read", 5, "academic", false, NULL, "allowed by rule \"teacher-class-records\"",
		true);
	explain(m, 1, "read", 6, "academic", false, NULL, "needs teacher_of", false);
	explain(m, 1, "read", 5, "health", true, NULL, "needs grant", false);
	explain(m, 1, "read", 5, "payroll", true, NULL, "no rule lets teacher read payroll", false);
	explain(m, 1, "read", 5, "child_abuse_report", true, NULL, "forbidden by rule", false);
	/* a relationship that ended, and one removed */
	model_rel_add(m, 2, 1, 6, 0, REL_TEACHER_OF, 0, NOW - 5000, NOW - 3000);
	explain(m, 1, "read", 6, "academic", false, NULL, "relationship with this subject ended", false);
	model_rel_remove(m, 1, 1, 5, 0);
	explain(m, 1, "read", 5, "academic", false, NULL, "no current need-to-know relationship",
		false);
	/* suspensions: take effect at once, say until when */
	model_user_set(m, 2, UK_EMPLOYEE, US_ACTIVE, 1u << nurse, 1, 0);
	model_training_set(m, 2, NOW + 1000);
	explain(m, 2, "read", 5, "health", false, NULL, "multi-factor", false);
	explain(m, 2, "read", 5, "health", true, NULL, "allowed", true);
	int64_t dec1 = 0;
	time_parse("2026-12-01", &dec1);
	model_suspension_add(m, 2, 77, NOW - 10, dec1, "temporary");
	explain(m, 2, "read", 5, "health", true, NULL, "suspended until 2026-12-01", false);
	model_suspension_lift(m, 2, 77);
	explain(m, 2, "read", 5, "health", true, NULL, "allowed", true);
	/* pending an investigation, with no end date: not "permanently" */
	model_suspension_add(m, 2, 79, NOW - 10, 0, "pending_investigation");
	explain(m, 2, "read", 5, "health", true, NULL, "suspended until further notice", false);
	model_suspension_lift(m, 2, 79);
	/* long-term, with its end */
	model_suspension_add(m, 2, 80, NOW - 10, dec1 + 86400 * 200, "long_term");
	explain(m, 2, "read", 5, "health", true, NULL, "suspended until 2027-06-19", false);
	model_suspension_lift(m, 2, 80);
	model_suspension_add(m, 2, 78, NOW - 10, 0, "permanent");
	explain(m, 2, "read", 5, "health", true, NULL, "suspended permanently", false);
	model_user_status(m, 2, US_SEPARATED);
	explain(m, 2, "read", 5, "health", true, NULL, "left the district", false);
	/* contractors */
	int64_t jun30 = 0;
	time_parse("2026-06-30", &jun30);
	uint32_t orgs[] = {1};
	model_agreement_set(m, 9, 1ULL << inventory_category(inv, "academic")->index, orgs, 1,
			    NOW - 90000000, jun30, "Acme Learning");
	model_user_set(m, 3, UK_CONTRACTOR, US_ACTIVE, 1u << contractor, 1, 9);
	model_training_set(m, 3, NOW + 1000);
	explain(m, 3, "read", 5, "academic", true, NULL,
		"the agreement with Acme Learning ended on 2026-06-30", false);
	model_agreement_set(m, 9, 1ULL << inventory_category(inv, "academic")->index, orgs, 1,
			    NOW - 1000, NOW + 1000, "Acme Learning");
	explain(m, 3, "read", 5, "academic", true, NULL, "allowed", true);
	explain(m, 3, "read", 6, "academic", true, NULL, "does not cover this subject's school", false);
	explain(m, 3, "read", 5, "directory", true, NULL, "does not cover directory records", false);
	/* the purpose condition, and masking obligations of the deciding rule */
	int designee = policy_role(pol, "designee");
	model_user_set(m, 4, UK_EMPLOYEE, US_ACTIVE, 1u << designee, 0, 0);
	model_training_set(m, 4, NOW + 1000);
	explain(m, 4, "read", 5, "discipline", true, NULL, "a purpose must be stated", false);
	explain(m, 4, "read", 5, "discipline", true, "hearing", "allowed", true);
	model_user_set(m, 5, UK_EMPLOYEE, US_ACTIVE, 1u << hr, 0, 0);
	model_training_set(m, 5, NOW + 1000);
	struct access_request r = {.user = 5, .action = ACT_READ, .subject = 5,
				   .category = inventory_category(inv, "payroll")->index,
				   .mfa = true, .now = NOW};
	struct decision d;
	assert_true(policy_decide(pol, m, &r, &d));
	json_t *fields = json_pack("{s:s, s:s, s:f}", "ssn", "219-09-6789", "bank_account_number",
				   "000123456789", "annual_salary", 51000.0);
	struct buf masked = BUF_INIT;
	mask_fields(&pol->rules[d.rule], fields, NULL, &masked);
	assert_string_equal(json_string_value(json_object_get(fields, "ssn")), "***-**-6789");
	assert_string_equal(json_string_value(json_object_get(fields, "bank_account_number")),
			    "********6789");
	assert_string_equal(masked.data, "ssn,bank_account_number");
	buf_release(&masked);
	json_decref(fields);
	model_free(m);
}

static void test_mask_values(void **state)
{
	(void)state;
	struct {
		enum mask_kind k;
		const char *in;
		const char *out;
	} cases[] = {
		{MASK_LAST4, "219-09-6789", "***-**-6789"},
		{MASK_LAST4, "123", "123"},
		{MASK_YEAR, "2012-04-09", "2012"},
		{MASK_YEAR, "unknown", "[redacted]"},
		/* found by tests/fuzz/fuzz_record_fields: four bytes that are not
		 * a year, and half of a character (no JSON string at all, so the
		 * field was served unmasked) */
		{MASK_YEAR, "12ab-03-04", "[redacted]"},
		{MASK_YEAR, "4,\"\xc3\xa9: see", "[redacted]"},
		{MASK_YEAR, "123\xc3\xa9", "[redacted]"},
		{MASK_REDACT, "asthma", "[redacted]"},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		json_t *v = json_string(cases[i].in);
		json_t *m = mask_value(cases[i].k, v, NULL);
		assert_string_equal(json_string_value(m), cases[i].out);
		json_decref(m);
		json_decref(v);
	}
	/* the field is replaced, whatever its value */
	json_t *fields = json_pack("{s:s}", "immunizations", "123\xc3\xa9 MMR");
	struct rule year = {.id = "y", .nmasks = 1, .masks = {{"immunizations", MASK_YEAR}}};
	struct buf masked = BUF_INIT;
	mask_fields(&year, fields, NULL, &masked);
	assert_string_equal(json_string_value(json_object_get(fields, "immunizations")),
			    "[redacted]");
	buf_release(&masked);
	json_decref(fields);
	json_t *v = json_string("219-09-6789");
	json_t *n = mask_value(MASK_NULL, v, NULL);
	assert_true(json_is_null(n));
	json_decref(n);
	unsigned char k1[32] = {1}, k2[32] = {2};
	json_t *h1 = mask_value(MASK_HASH, v, k1), *h1b = mask_value(MASK_HASH, v, k1),
	       *h2 = mask_value(MASK_HASH, v, k2);
	assert_true(str_has_prefix(json_string_value(h1), "hash:"));
	assert_string_equal(json_string_value(h1), json_string_value(h1b)); /* matchable */
	assert_string_not_equal(json_string_value(h1), json_string_value(h2)); /* keyed */
	assert_null(strstr(json_string_value(h1), "6789"));
	json_decref(h1);
	json_decref(h1b);
	json_decref(h2);
	json_decref(v);
}

static void expect_bad_policy(const char *text, const char *field)
{
	struct policy *p = NULL;
	struct st_error e = {0};
	assert_int_equal(policy_parse(text, strlen(text), inv, &p, &e), ST_EINVAL);
	assert_null(p);
	if (!str_eq(e.field, field))
		fail_msg("expected field %s, got %s (%s)", field, e.field, e.message);
}

#define P0 "{\"format\":\"steward-policy/1\",\"roles\":{\"teacher\":{\"title\":\"T\"}},\"rules\":["
static void test_policy_errors(void **state)
{
	(void)state;
	expect_bad_policy("{\"format\":\"x\",\"roles\":{},\"rules\":[]}", "format");
	expect_bad_policy(P0 "{\"id\":\"a\",\"description\":\"d\",\"effect\":\"allow\",\"roles\":"
			     "[\"janitor\"],\"actions\":[\"read\"],\"categories\":[\"academic\"],"
			     "\"through\":[\"teacher_of\"]}]}",
			  "rules[0].roles");
	expect_bad_policy(P0 "{\"id\":\"a\",\"description\":\"d\",\"effect\":\"allow\",\"roles\":"
			     "[\"teacher\"],\"actions\":[\"read\"],\"categories\":[\"horoscope\"],"
			     "\"through\":[\"teacher_of\"]}]}",
			  "rules[0].categories");
	expect_bad_policy(P0 "{\"id\":\"a\",\"description\":\"d\",\"effect\":\"allow\",\"roles\":"
			     "[\"teacher\"],\"actions\":[\"peek\"],\"categories\":[\"academic\"],"
			     "\"through\":[\"teacher_of\"]}]}",
			  "rules[0].actions");
	expect_bad_policy(P0 "{\"id\":\"a\",\"description\":\"d\",\"effect\":\"allow\",\"roles\":"
			     "[\"teacher\"],\"actions\":[\"read\"],\"categories\":[\"academic\"],"
			     "\"through\":[\"cousin_of\"]}]}",
			  "rules[0].through");
	expect_bad_policy(P0 "{\"id\":\"a\",\"description\":\"d\",\"effect\":\"allow\",\"roles\":"
			     "[\"teacher\"],\"actions\":[\"read\"],\"categories\":[\"academic\"]}]}",
			  "rules[0].through");
	expect_bad_policy(P0 "{\"id\":\"a\",\"description\":\"d\",\"effect\":\"allow\",\"roles\":"
			     "[\"teacher\"],\"actions\":[\"read\"],\"categories\":[\"academic\"],"
			     "\"through\":[\"teacher_of\"],\"obligations\":{\"mask\":{\"ssn\":"
			     "\"last4\"}}}]}",
			  "rules[0].obligations.mask");
	expect_bad_policy(P0 "{\"id\":\"a\",\"description\":\"d\",\"effect\":\"allow\",\"roles\":"
			     "[\"teacher\"],\"actions\":[\"read\"],\"categories\":[\"academic\"],"
			     "\"through\":[\"teacher_of\"]},{\"id\":\"a\",\"description\":\"d\","
			     "\"effect\":\"allow\",\"roles\":[\"teacher\"],\"actions\":[\"read\"],"
			     "\"categories\":[\"academic\"],\"through\":[\"teacher_of\"]}]}",
			  "rules[1].id");
	expect_bad_policy(P0 "{\"id\":\"a\",\"description\":\"d\",\"effect\":\"allow\",\"roles\":"
			     "[\"teacher\"],\"actions\":[\"read\"],\"categories\":[\"academic\"],"
			     "\"through\":[\"teacher_of\"],\"conditions\":[\"full moon\"]}]}",
			  "rules[0].conditions");
	expect_bad_policy(P0 "{\"id\":\"a\",\"description\":\"d\",\"effect\":\"allow\",\"roles\":"
			     "[\"teacher\"],\"actions\":[\"read\"],\"categories\":[\"academic\"],"
			     "\"through\":[\"teacher_of\"],\"colour\":\"red\"}]}",
			  "rules[0].colour");
}

static void test_lint(void **state)
{
	(void)state;
	json_t *problems = policy_lint(pol);
	if (json_array_size(problems)) {
		char *s = json_dumps(problems, 0);
		fail_msg("the shipped rules have problems: %s", s);
	}
	json_decref(problems);
	const char *text =
		P0 "{\"id\":\"never\",\"description\":\"d\",\"effect\":\"allow\",\"roles\":[\"teacher\"],"
		   "\"actions\":[\"read\"],\"categories\":[\"academic\"],\"through\":[\"teacher_of\"]},"
		   "{\"id\":\"first\",\"description\":\"d\",\"effect\":\"allow\",\"roles\":[\"teacher\"],"
		   "\"actions\":[\"read\"],\"categories\":[\"attendance\"],\"through\":[\"teacher_of\"]},"
		   "{\"id\":\"second\",\"description\":\"d\",\"effect\":\"allow\",\"roles\":[\"teacher\"],"
		   "\"actions\":[\"read\"],\"categories\":[\"attendance\"],\"through\":[\"teacher_of\"],"
		   "\"conditions\":[\"purpose\"]},"
		   "{\"id\":\"nobody\",\"description\":\"d\",\"effect\":\"forbid\",\"except_roles\":[\"teacher\"],"
		   "\"actions\":[\"read\"],\"categories\":[\"academic\"]},"
		   "{\"id\":\"ban\",\"description\":\"d\",\"effect\":\"forbid\",\"roles\":[\"teacher\"],"
		   "\"actions\":[\"read\"],\"categories\":[\"academic\"]}]}";
	struct policy *p = NULL;
	struct st_error e = {0};
	assert_int_equal(policy_parse(text, strlen(text), inv, &p, &e), ST_OK);
	problems = policy_lint(p);
	char *dump = json_dumps(problems, 0);
	assert_non_null(strstr(dump, "\"never\""));
	assert_non_null(strstr(dump, "can never apply"));
	assert_non_null(strstr(dump, "\"second\""));
	assert_non_null(strstr(dump, "conflicts with \\\"first\\\""));
	assert_non_null(strstr(dump, "\"nobody\"")); /* applies to no role */
	free(dump);
	json_decref(problems);
	policy_unref(p);
}

/* An explanation names roles, rules and vendors of any length; cut to its
 * buffer, it ends before a character that did not fit (found by
 * tests/fuzz/fuzz_rules: it reaches the access log and the explain
 * endpoint, which carry UTF-8 only). */
static void test_explanations_cut(void **state)
{
	(void)state;
	struct buf role = BUF_INIT, text = BUF_INIT;
	for (int i = 0; i < 200; i++)
		buf_puts(&role, "\xc3\xa9");
	buf_printf(&text,
		   "{\"format\":\"steward-policy/1\",\"roles\":{\"%s\":{\"title\":\"t\"}},"
		   "\"administration\":{\"review\":[\"%s\"]},\"rules\":[{\"id\":\"r\","
		   "\"description\":\"d\",\"effect\":\"allow\",\"roles\":[\"%s\"],"
		   "\"actions\":[\"read\"],\"categories\":[\"directory\"],"
		   "\"through\":[\"district\"]}]}",
		   role.data, role.data, role.data);
	struct policy *p = NULL;
	struct st_error e = {0};
	if (policy_parse(text.data, text.len, inv, &p, &e) != ST_OK)
		fail_msg("policy: %s [%s]", e.message, e.field);
	struct model *m = model_new();
	model_user_set(m, 1, UK_EMPLOYEE, US_ACTIVE, 1, 0, 0);
	struct access_request r = {.user = 1, .action = ACT_READ, .subject = 1,
				   .category = inventory_category(inv, "directory")->index,
				   .now = NOW};
	struct decision d;
	assert_true(policy_decide(p, m, &r, &d));
	struct decision a;
	assert_true(policy_admin_decide(p, m, 1, ADM_REVIEW, true, NOW, &a));
	for (size_t size = 16; size <= 320; size++) {
		char why[320];
		decision_explain(p, m, &r, &d, why, size);
		json_t *j = json_string(why);
		if (!j)
			fail_msg("explanation cut to %zu bytes is not UTF-8", size);
		json_decref(j);
		decision_explain(p, m, &r, &a, why, size);
		j = json_string(why);
		if (!j)
			fail_msg("administrative explanation cut to %zu bytes is not UTF-8", size);
		json_decref(j);
	}
	model_free(m);
	policy_unref(p);
	buf_release(&role);
	buf_release(&text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matrix_against_oracle),
		cmocka_unit_test(test_explanations),
		cmocka_unit_test(test_explanations_cut),
		cmocka_unit_test(test_mask_values),
		cmocka_unit_test(test_policy_errors),
		cmocka_unit_test(test_lint),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
