/*
 * test_confer.c - nobody confers access they could not use themselves, by
 * any path: roles at an account's creation and later, the school an account
 * is created in, a contractor's agreement, relationships, grants for one
 * student and for a whole school, training, and agreements. Each refusal
 * writes nothing and is logged; the same act by someone whose duties reach
 * that far is allowed. The power to confer access is apart from the power
 * to manage accounts.
 *
 * The rules are the district's default, widened so that the checks are
 * what refuses: HR, a school administrator (who reads directory and health
 * records in their own school) and IT all hold the powers to confer.
 */
#include "testsupport.h"
#include "access/access_internal.h"
#include "crypto/crypto.h"
#include "steward/auth.h"
#include "steward/evidence.h"
#include "steward/records.h"

static char *dir, *data;
static struct steward *st;
static int64_t hr, it, sa, plain, teacher, tutor_target, student_a, student_b, employee;
static const int64_t designee = 1;

static int64_t count(const char *sql)
{
	struct store_conn *c;
	struct st_error e = {0};
	assert_int_equal(store_acquire(st->db, &c, &e), ST_OK);
	int64_t n = -1;
	assert_int_equal(store_query_int(c, &n, &e, sql, ""), ST_OK);
	store_release(c);
	return n;
}

/* Every table a conferring act writes, summed: a refusal leaves it as it was. */
static int64_t written(void)
{
	return count("SELECT (SELECT COUNT(*) FROM app_user) + (SELECT COUNT(*) FROM user_role) + "
		     "(SELECT COUNT(*) FROM relationship) + (SELECT COUNT(*) FROM agreement) + "
		     "(SELECT COUNT(*) FROM training_completion)");
}

static int64_t denials(void)
{
	struct audit_query q = {.outcome = "deny", .after_seq = -1, .limit = 100000};
	json_t *events = NULL;
	int64_t next;
	ASSERT_OK(audit_query(st->audit, &q, &events, &next, &ts_err));
	int64_t n = (int64_t)json_array_size(events);
	json_decref(events);
	return n;
}

static struct actor as_user(int64_t id)
{
	return (struct actor){.user_id = id, .via = "test", .mfa = true, .session_id = "s-1",
			      .client = "192.0.2.7", .request_id = "r-1"};
}

/* Expects a refusal for want of reach: nothing written, one denial logged. */
#define REFUSED(call, words)                                                          \
	do {                                                                          \
		int64_t w0 = written(), d0 = denials();                               \
		struct st_error e_ = {0};                                             \
		int rc_ = (call);                                                     \
		if (rc_ != ST_EDENIED)                                                \
			fail_msg("%s: %d (%s), wanted a refusal", #call, rc_, e_.message); \
		if (!strstr(e_.message, words))                                       \
			fail_msg("%s: \"%s\" does not say \"%s\"", #call, e_.message, words); \
		assert_int_equal(written(), w0);                                      \
		assert_int_equal(denials(), d0 + 1);                                  \
	} while (0)

static int64_t make_user(const char *name, const char *role, const char *org)
{
	const char *roles[1] = {role};
	struct user_input in = {.username = name, .display_name = name, .organization = org,
				.roles = roles, .nroles = role ? 1 : 0,
				.password = "violet umbrella tractor 42"};
	int64_t id = 0;
	ASSERT_OK(user_create(st, &ts_system, &in, &id, &ts_err));
	return id;
}

static int64_t make_subject(const char *kind, const char *ext, const char *org)
{
	struct subject_input in = {.kind = kind, .external_id = ext, .given_name = "Ada",
				   .family_name = "Byron", .organization = org};
	int64_t id = 0;
	ASSERT_OK(subject_create(st, &ts_system, &in, &id, &ts_err));
	return id;
}

static void widen_rules(void)
{
	json_error_t je;
	json_t *doc = json_load_file(STEWARD_SOURCE_DIR "/data/policy.json", 0, &je);
	assert_non_null(doc);
	json_t *roles = json_object_get(doc, "roles");
	json_object_set_new(roles, "school_admin", json_pack("{s:s}", "title", "School administrator"));
	json_object_set_new(roles, "tutor", json_pack("{s:s}", "title", "Tutor"));
	json_t *adm = json_object_get(doc, "administration");
	static const char *const powers[] = {"users",      "access",       "relationships",
					     "training",   "agreements",   "review",
					     "audit_read", "audit_export", "inventory"};
	for (size_t i = 0; i < ARRAY_LEN(powers); i++)
		json_object_set_new(adm, powers[i],
				    json_pack("[s,s,s,s]", "designee", "hr", "school_admin",
					      "it_admin"));
	json_object_set_new(adm, "suspensions", json_pack("[s,s]", "designee", "hr"));
	json_t *rules = json_object_get(doc, "rules");
	json_array_append_new(
		rules, json_pack("{s:s, s:s, s:s, s:[s], s:[s], s:[s,s], s:[s]}", "id",
				 "school-admin", "description", "A school's administrator.",
				 "effect", "allow", "roles", "school_admin", "actions", "read",
				 "categories", "directory", "health", "through", "school_staff"));
	json_array_append_new(
		rules, json_pack("{s:s, s:s, s:s, s:[s], s:[s], s:[s], s:[s]}", "id", "tutor-health",
				 "description", "Tutors read the health records of those they teach.",
				 "effect", "allow", "roles", "tutor", "actions", "read", "categories",
				 "health", "through", "teacher_of"));
	char *text = json_dumps(doc, 0);
	int version = 0;
	ASSERT_OK(policy_install(st, &ts_system, text, "test", &version, &ts_err));
	free(text);
	json_decref(doc);
}

static int setup(void **state)
{
	(void)state;
	dir = ts_tmpdir();
	data = ts_make_datadir(dir, NULL);
	st = ts_open(data, NULL);
	int64_t org = 0;
	ASSERT_OK(organization_create(st, &ts_system, "school-a", "A School", "school", &org, &ts_err));
	ASSERT_OK(organization_create(st, &ts_system, "school-b", "B School", "school", &org, &ts_err));
	widen_rules();
	hr = make_user("hr1", "hr", NULL);
	it = make_user("it1", "it_admin", NULL);
	sa = make_user("sa1", "school_admin", "school-a");
	plain = make_user("plain1", NULL, "school-a");
	teacher = make_user("teach1", "teacher", "school-a");
	tutor_target = make_user("teach2", "teacher", "school-b");
	student_a = make_subject("student", "S-A", "school-a");
	student_b = make_subject("student", "S-B", "school-b");
	employee = make_subject("employee", "E-1", NULL);
	/* teach2 teaches a student of school A */
	struct relationship_input rel = {.user = tutor_target, .subject = student_a,
					 .kind = "teacher_of", .source = "class:X"};
	int64_t id = 0;
	ASSERT_OK(relationship_create(st, &ts_system, &rel, &id, &ts_err));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	steward_close(st);
	ts_rm_rf(dir);
	free(dir);
	free(data);
	return 0;
}

static void test_roles(void **state)
{
	(void)state;
	struct actor h = as_user(hr), d = as_user(designee), s = as_user(sa), i = as_user(it);
	const char *nurse[] = {"nurse"}, *hr_role[] = {"hr"};
	int64_t id = 0;
	/* at creation, in a school: HR reads no health records; IT reads none */
	struct user_input in = {.username = "n1", .display_name = "N", .organization = "school-a",
				.roles = nurse, .nroles = 1};
	REFUSED(user_create(st, &h, &in, &id, &e_), "records at school-a");
	REFUSED(user_create(st, &i, &in, &id, &e_), "could not read yourself");
	/* the school's administrator reads them there, and only there */
	ASSERT_OK(user_create(st, &s, &in, &id, &ts_err));
	in.username = "n2";
	in.organization = "school-b";
	REFUSED(user_create(st, &s, &in, &id, &e_), "records at school-b");
	/* HR confers what HR reads */
	in.username = "h2";
	in.organization = NULL;
	in.roles = hr_role;
	ASSERT_OK(user_create(st, &h, &in, &id, &ts_err));
	/* later: a role added to an existing account */
	REFUSED(user_set_roles(st, &h, plain, nurse, 1, &e_), "records at school-a");
	ASSERT_OK(user_set_roles(st, &d, plain, nurse, 1, &ts_err));
	/* a role that reads through the relationships the account already
	 * has (teach2 teaches a student of school A) */
	const char *teacher_tutor[] = {"teacher", "tutor"};
	REFUSED(user_set_roles(st, &h, tutor_target, teacher_tutor, 2, &e_),
		"health records of a subject");
	ASSERT_OK(user_set_roles(st, &s, tutor_target, teacher_tutor, 2, &ts_err));
}

static void test_contractors_and_agreements(void **state)
{
	(void)state;
	struct actor h = as_user(hr), d = as_user(designee), s = as_user(sa);
	const char *cats[] = {"academic"}, *orgs[] = {"school-a"};
	struct agreement_input a = {.vendor = "Acme", .categories = cats, .ncategories = 1,
				    .organizations = orgs, .norganizations = 1,
				    .purpose = "tutoring", .start = time_now() - 86400,
				    .end = time_now() + 86400 * 300};
	int64_t agreement = 0;
	/* an agreement lets its contractors read: only for those who do */
	REFUSED(agreement_create(st, &h, &a, &agreement, &e_), "academic records at school-a");
	REFUSED(agreement_create(st, &s, &a, &agreement, &e_), "academic records at school-a");
	ASSERT_OK(agreement_create(st, &d, &a, &agreement, &ts_err));
	int64_t academic = agreement;
	const char *health[] = {"health"}, *both[] = {"school-a", "school-b"};
	a.categories = health;
	ASSERT_OK(agreement_create(st, &s, &a, &agreement, &ts_err));
	a.organizations = both;
	a.norganizations = 2;
	REFUSED(agreement_create(st, &s, &a, &agreement, &e_), "health records at school-b");
	/* a contractor's account under an agreement */
	const char *contractor[] = {"contractor"};
	struct user_input in = {.username = "v1", .display_name = "V", .kind = "contractor",
				.roles = contractor, .nroles = 1, .agreement = academic};
	int64_t id = 0;
	REFUSED(user_create(st, &h, &in, &id, &e_), "academic records at school-a");
	ASSERT_OK(user_create(st, &d, &in, &id, &ts_err));
}

static void test_relationships_and_grants(void **state)
{
	(void)state;
	struct actor h = as_user(hr), d = as_user(designee), s = as_user(sa), i = as_user(it);
	int64_t id = 0;
	/* a class: the teacher reads the student's grades */
	struct relationship_input rel = {.user = teacher, .subject = student_a,
					 .kind = "teacher_of", .source = "class:ALG1"};
	REFUSED(relationship_create(st, &h, &rel, &id, &e_), "academic records of a subject");
	REFUSED(relationship_create(st, &i, &rel, &id, &e_), "academic records of a subject");
	REFUSED(relationship_create(st, &s, &rel, &id, &e_), "academic records of a subject");
	ASSERT_OK(relationship_create(st, &d, &rel, &id, &ts_err));
	/* supervision of an employee: personnel files, which HR reads */
	struct relationship_input sup = {.user = teacher, .subject = employee,
					 .kind = "supervisor_of"};
	REFUSED(relationship_create(st, &s, &sup, &id, &e_), "personnel records");
	ASSERT_OK(relationship_create(st, &h, &sup, &id, &ts_err));
	/* a grant for one student: only its categories count */
	const char *health[] = {"health"}, *sped[] = {"special_education"};
	struct relationship_input g = {.user = teacher, .subject = student_a, .kind = "grant",
				       .categories = sped, .ncategories = 1,
				       .purpose = "a meeting"};
	REFUSED(relationship_create(st, &s, &g, &id, &e_), "special_education records");
	g.categories = health;
	ASSERT_OK(relationship_create(st, &s, &g, &id, &ts_err));
	g.subject = student_b;
	REFUSED(relationship_create(st, &s, &g, &id, &e_), "health records of a subject");
	/* a grant for a whole school */
	struct relationship_input og = {.user = teacher, .organization = "school-b",
					.kind = "grant", .categories = health, .ncategories = 1,
					.purpose = "a school nurse's absence"};
	REFUSED(relationship_create(st, &s, &og, &id, &e_), "health records at school-b");
	og.organization = "school-a";
	ASSERT_OK(relationship_create(st, &s, &og, &id, &ts_err));
}

static void test_training(void **state)
{
	(void)state;
	struct actor h = as_user(hr), d = as_user(designee);
	int64_t id = 0;
	const char *course = "student-records-confidentiality";
	int64_t day = time_now() - 86400;
	/* the annual course unlocks the confidential records an account's
	 * roles reach: a teacher's students' grades are not HR's */
	REFUSED(training_record(st, &h, teacher, course, day, &id, &e_), "records");
	/* recorded a year and a half ago: it expired 365 days after that day,
	 * not a year after it was recorded */
	int64_t long_ago = time_now() - 548 * 86400;
	ASSERT_OK(training_record(st, &d, teacher, course, long_ago, &id, &ts_err));
	json_t *u = NULL;
	ASSERT_OK(user_get(st, &d, teacher, &u, &ts_err));
	json_t *t = json_array_get(json_object_get(u, "training"), 0);
	char done[16], until[16];
	time_format_date(long_ago, done);
	time_format_date(long_ago + 365 * 86400, until);
	assert_string_equal(json_string_value(json_object_get(t, "completed_on")), done);
	assert_string_equal(json_string_value(json_object_get(t, "expires_on")), until);
	assert_false(json_is_true(json_object_get(t, "current")));
	json_decref(u);
	ASSERT_OK(training_record(st, &d, teacher, course, day, &id, &ts_err));
	u = NULL;
	ASSERT_OK(user_get(st, &d, teacher, &u, &ts_err));
	t = json_array_get(json_object_get(u, "training"), 0);
	time_format_date(day + 365 * 86400, until);
	assert_string_equal(json_string_value(json_object_get(t, "expires_on")), until);
	assert_true(json_is_true(json_object_get(t, "current")));
	json_decref(u);
	int64_t hr2 = 0;
	struct user_input in = {.username = "h3", .display_name = "H"};
	const char *hr_role[] = {"hr"};
	in.roles = hr_role;
	in.nroles = 1;
	ASSERT_OK(user_create(st, &ts_system, &in, &hr2, &ts_err));
	ASSERT_OK(training_record(st, &h, hr2, course, day, &id, &ts_err));
	/* nobody records their own */
	REFUSED(training_record(st, &h, hr, course, day, &id, &e_), "own training");
	REFUSED(training_record(st, &d, designee, course, day, &id, &e_), "own training");
}

static void test_default_rules_keep_it_out(void **state)
{
	(void)state;
	/* under the shipped rules, IT manages accounts and confers nothing */
	json_error_t je;
	json_t *doc = json_load_file(STEWARD_SOURCE_DIR "/data/policy.json", 0, &je);
	char *text = json_dumps(doc, 0);
	int version = 0;
	ASSERT_OK(policy_install(st, &ts_system, text, "default", &version, &ts_err));
	free(text);
	json_decref(doc);
	struct actor i = as_user(it), h = as_user(hr);
	const char *teach[] = {"teacher"}, *hr_role[] = {"hr"};
	struct user_input in = {.username = "t9", .display_name = "T", .organization = "school-a",
				.roles = teach, .nroles = 1};
	int64_t id = 0;
	REFUSED(user_create(st, &i, &in, &id, &e_), "only designee");
	/* HR keeps the accounts but confers nothing either: even its own role */
	in.roles = hr_role;
	REFUSED(user_create(st, &h, &in, &id, &e_), "only designee");
	in.roles = NULL;
	in.nroles = 0;
	ASSERT_OK(user_create(st, &i, &in, &id, &ts_err));
	struct relationship_input rel = {.user = teacher, .subject = student_a,
					 .kind = "teacher_of", .source = "class:GEO"};
	REFUSED(relationship_create(st, &i, &rel, &id, &e_), "only designee");
	/* and a relationship no rule of the account's roles uses is a mistake */
	struct relationship_input wrong = {.user = plain, .subject = student_a,
					   .kind = "teacher_of"};
	struct st_error e = {0};
	struct actor d = as_user(designee);
	assert_int_equal(relationship_create(st, &d, &wrong, &id, &e), ST_EINVAL);
	assert_string_equal(e.field, "kind");
}

static void test_no_twins(void **state)
{
	(void)state;
	struct actor d = as_user(designee);
	struct relationship_input rel = {.user = teacher, .subject = student_b,
					 .kind = "teacher_of", .source = "class:BIO"};
	int64_t first = 0, second = 0;
	ASSERT_OK(relationship_create(st, &d, &rel, &first, &ts_err));
	/* the same relationship again: refused, naming the one there is */
	struct st_error e = {0};
	int64_t before = written();
	assert_int_equal(relationship_create(st, &d, &rel, &second, &e), ST_ECONFLICT);
	char want[48];
	snprintf(want, sizeof(want), "relationship %lld", (long long)first);
	assert_non_null(strstr(e.message, want));
	assert_int_equal(written(), before);
	/* another class is another source: both stand, and removing one
	 * leaves the other; removing both ends the access */
	rel.source = "class:CHEM";
	ASSERT_OK(relationship_create(st, &d, &rel, &second, &ts_err));
	int64_t rec = 0;
	json_t *fields = json_pack("{s:s, s:s}", "course", "Biology", "grade", "B");
	struct record_input ri = {.subject_id = student_b, .category = "academic", .fields = fields};
	ASSERT_OK(record_create(st, &ts_system, &ri, &rec, &ts_err));
	json_decref(fields);
	int64_t done = 0;
	ASSERT_OK(training_record(st, &d, teacher, "student-records-confidentiality",
				  time_now() - 86400, &done, &ts_err));
	int64_t record = count("SELECT MAX(id) FROM record");
	struct actor t = as_user(teacher);
	json_t *out = NULL;
	ASSERT_OK(relationship_remove(st, &d, first, &ts_err));
	ASSERT_OK(record_read(st, &t, record, NULL, &out, &ts_err));
	json_decref(out);
	ASSERT_OK(relationship_remove(st, &d, second, &ts_err));
	out = NULL;
	assert_int_equal(record_read(st, &t, record, NULL, &out, &e), ST_EDENIED);
	assert_null(out);
}

/* Free text written about people — a suspension's reason, a grant's
 * purpose — is sealed in the main database (and its write-ahead log), and
 * text written before sealing existed is sealed at the next start. */
static void test_notes_sealed_at_rest(void **state)
{
	(void)state;
	struct actor d = as_user(designee);
	static const char reason[] = "canary-reason-7f3a: opened a health file";
	static const char purpose[] = "canary-purpose-91bc: IEP meeting";
	int64_t sid = 0, rid = 0;
	ASSERT_OK(suspension_create(st, &d, teacher, "pending_investigation", 0, reason, &sid,
				    &ts_err));
	const char *health[] = {"health"};
	struct relationship_input g = {.user = teacher, .subject = student_a, .kind = "grant",
				       .categories = health, .ncategories = 1, .purpose = purpose,
				       .source = "canary"};
	ASSERT_OK(relationship_create(st, &d, &g, &rid, &ts_err));
	/* one written in clear by an earlier version */
	static const char old[] = "canary-legacy-55d1: before sealing";
	struct store_conn *c;
	ASSERT_OK(store_acquire(st->db, &c, &ts_err));
	ASSERT_OK(store_run(c, &ts_err,
			    "INSERT INTO suspension (user_id, kind, starts_at, until, reason, "
			    "created_at, created_by) VALUES (?, 'temporary', ?, ?, ?, ?, 1)",
			    "iiiti", tutor_target, time_now() - 10, time_now() + 86400, old, time_now()));
	store_release(c);
	steward_close(st);
	st = ts_open(data, NULL);
	steward_close(st);
	char *db = xasprintf("%s/steward.db", data), *wal = xasprintf("%s/steward.db-wal", data);
	static const char *const canaries[] = {"canary-reason-7f3a", "canary-purpose-91bc",
					       "canary-legacy-55d1"};
	for (size_t i = 0; i < ARRAY_LEN(canaries); i++) {
		if (ts_file_count(db, canaries[i], strlen(canaries[i])) ||
		    (file_exists(wal) && ts_file_count(wal, canaries[i], strlen(canaries[i]))))
			fail_msg("%s is in clear in the main database", canaries[i]);
	}
	free(db);
	free(wal);
	/* and they read back, to those who may read the account */
	st = ts_open(data, NULL);
	json_t *u = NULL;
	ASSERT_OK(user_get(st, &d, teacher, &u, &ts_err));
	char *text = json_dumps(u, 0);
	assert_non_null(strstr(text, reason));
	free(text);
	json_decref(u);
	ASSERT_OK(user_get(st, &d, tutor_target, &u, &ts_err));
	text = json_dumps(u, 0);
	assert_non_null(strstr(text, old));
	free(text);
	json_decref(u);
	ASSERT_OK(suspension_lift(st, &d, teacher, sid, &ts_err));
}

/* Reviewing access tells nothing of records beyond the reviewer's own
 * reach: HR reviews access and reads the log here, but a student's health
 * file, and who works with the student, are not HR's to know of. */
static void test_reviews_tell_only_what_one_reaches(void **state)
{
	(void)state;
	struct actor h = as_user(hr), d = as_user(designee);
	json_t *fields = json_pack("{s:s}", "conditions", "asthma");
	struct record_input ri = {.subject_id = student_a, .category = "health", .fields = fields};
	int64_t rec = 0;
	ASSERT_OK(record_create(st, &ts_system, &ri, &rec, &ts_err));
	json_decref(fields);
	json_t *out = NULL;
	/* explain: the designee hears what the record is; HR does not, and
	 * a record that does not exist gets the same answer */
	ASSERT_OK(access_explain(st, &d, plain, "read", rec, NULL, true, &out, &ts_err));
	assert_string_equal(json_string_value(json_object_get(out, "category")), "health");
	json_decref(out);
	ASSERT_OK(access_explain(st, &h, plain, "read", rec, NULL, true, &out, &ts_err));
	assert_null(json_object_get(out, "category"));
	assert_null(json_object_get(out, "subject"));
	assert_null(json_object_get(out, "rule"));
	char *a = xstrdup(json_string_value(json_object_get(out, "reason")));
	json_decref(out);
	free(a);
	/* (whether a record exists at all is told to those who review access,
	 * as on every route: a record id alone says nothing of whose it is) */
	struct st_error nf = {0};
	out = NULL;
	assert_int_equal(access_explain(st, &h, plain, "read", 999999, NULL, true, &out, &nf),
			 ST_ENOTFOUND);
	assert_null(out);
	/* who works with one student */
	ASSERT_OK(access_who_can(st, &d, NULL, student_a, "read", &out, &ts_err));
	assert_true(json_array_size(json_object_get(out, "users")) > 0);
	json_decref(out);
	ASSERT_OK(access_who_can(st, &h, NULL, student_a, "read", &out, &ts_err));
	{
		/* (HR's own categories are employees' files, which the decision
		 * does not tell apart by the subject's kind) */
		size_t k;
		json_t *x;
		json_array_foreach(json_object_get(out, "users"), k, x) {
			const char *c = json_string_value(json_object_get(x, "category"));
			if (!str_eq(c, "personnel") && !str_eq(c, "payroll") &&
			    !str_eq(c, "background_check"))
				fail_msg("HR is told who reads the student's %s records", c);
		}
	}
	json_decref(out);
	/* what a teacher reaches: the relationships with students */
	ASSERT_OK(access_what_can(st, &d, teacher, &out, &ts_err));
	size_t seen_by_designee = json_array_size(json_object_get(out, "relationships"));
	assert_true(seen_by_designee > 0);
	json_decref(out);
	ASSERT_OK(access_what_can(st, &h, teacher, &out, &ts_err));
	json_t *rels = json_object_get(out, "relationships");
	size_t i;
	json_t *r;
	json_array_foreach(rels, i, r) {
		/* only the supervision of an employee, whose file HR reads */
		assert_string_equal(json_string_value(json_object_get(r, "kind")), "supervisor_of");
	}
	assert_true(json_array_size(rels) < seen_by_designee);
	json_decref(out);
	/* the log about the student: asked by subject, what HR does not reach
	 * is left out (being in the answer would tell it concerns them) */
	struct evidence_filter f = {.subject = student_a, .after = -1, .limit = 1000};
	int64_t next = 0;
	ASSERT_OK(evidence_query(st, &h, &f, &out, &next, &ts_err));
	json_t *ev;
	json_array_foreach(out, i, ev) {
		const char *c = json_string_value(json_object_get(ev, "category"));
		if (!c || !(str_eq(c, "personnel") || str_eq(c, "payroll") ||
			    str_eq(c, "background_check")))
			fail_msg("HR is shown %s", json_dumps(ev, 0));
	}
	json_decref(out);
	/* asked by person, the acts are there; what they were about — the
	 * record, its subject and category, the purpose — is withheld */
	struct evidence_filter byuser = {.user = designee, .after = -1, .limit = 1000};
	ASSERT_OK(evidence_query(st, &h, &byuser, &out, &next, &ts_err));
	int withheld = 0;
	json_array_foreach(out, i, ev) {
		if (!json_object_get(ev, "reason") ||
		    !strstr(json_string_value(json_object_get(ev, "reason")), "withheld"))
			continue;
		withheld++;
		assert_null(json_object_get(ev, "category"));
		assert_null(json_object_get(ev, "subject"));
		assert_null(json_object_get(ev, "record"));
		assert_null(json_object_get(ev, "purpose"));
		assert_null(json_object_get(ev, "detail"));
	}
	assert_true(withheld > 0);
	json_decref(out);
	ASSERT_OK(evidence_query(st, &d, &f, &out, &next, &ts_err));
	bool health = false;
	json_array_foreach(out, i, ev) health |=
		str_eq(json_string_value(json_object_get(ev, "category")), "health");
	assert_true(health);
	json_decref(out);
	/* an evidence package keeps entries whole: not HR's for this window */
	int64_t now_us = time_now() * 1000000;
	int64_t w0 = written(), d0 = denials();
	struct st_error e = {0};
	out = NULL;
	assert_int_equal(evidence_export(st, &h, now_us - 3600000000LL, now_us + 1000000, 0,
					 student_a, &out, &e),
			 ST_EDENIED);
	assert_null(out);
	assert_int_equal(written(), w0);
	assert_int_equal(denials(), d0 + 1);
	ASSERT_OK(evidence_export(st, &d, now_us - 3600000000LL, now_us + 1000000, 0, student_a,
				  &out, &ts_err));
	assert_true(json_array_size(json_object_get(out, "entries")) > 0);
	json_decref(out);
}

/* Whoever can sign in as an account reads what it reads; an account made
 * active again, or freed of a suspension, reads again: each is conferring,
 * and refused to someone whose duties do not reach all of it. Changing the
 * inventory changes what every rule opens. */
static void test_handing_over_or_reopening_an_account(void **state)
{
	(void)state;
	struct actor h = as_user(hr), i = as_user(it), d = as_user(designee);
	/* `plain` is a nurse at school A: HR and IT read no health records */
	struct credentials_reset cr;
	REFUSED(auth_credentials_reset(st, &h, plain, "a lost phone", &cr, &e_), "records at school-a");
	REFUSED(auth_credentials_reset(st, &i, plain, "a lost phone", &cr, &e_), "records");
	char code[AUTH_ENROLL_CODE_MAX];
	int64_t until = 0;
	REFUSED(auth_enrollment_code_issue(st, &i, plain, code, &until, &e_), "records");
	ASSERT_OK(auth_credentials_reset(st, &d, plain, "a lost phone", &cr, &ts_err));
	secure_wipe(&cr, sizeof(cr));
	/* disabled by the designee, made active again */
	ASSERT_OK(user_set_status(st, &d, plain, "disabled", &ts_err));
	REFUSED(user_set_status(st, &i, plain, "active", &e_), "records");
	ASSERT_OK(user_set_status(st, &d, plain, "active", &ts_err));
	/* suspended, then lifted */
	int64_t sid = 0;
	ASSERT_OK(suspension_create(st, &d, plain, "pending_investigation", 0, "a complaint", &sid,
				    &ts_err));
	REFUSED(suspension_lift(st, &h, plain, sid, &e_), "records");
	/* and the reason is for those who manage suspensions: not IT */
	json_t *u = NULL;
	ASSERT_OK(user_get(st, &i, plain, &u, &ts_err));
	char *text = json_dumps(u, 0);
	assert_null(strstr(text, "a complaint"));
	free(text);
	json_decref(u);
	ASSERT_OK(user_get(st, &h, plain, &u, &ts_err));
	text = json_dumps(u, 0);
	if (!strstr(text, "a complaint"))
		fail_msg("HR, who manages suspensions, is not shown the reason: %s", text);
	free(text);
	json_decref(u);
	ASSERT_OK(suspension_lift(st, &d, plain, sid, &ts_err));
	/* the inventory: HR holds the power here, but not the reach */
	json_t *doc = NULL;
	int version = 0;
	ASSERT_OK(inventory_document(st, &d, &doc, &version, &ts_err));
	char *inv = json_dumps(doc, 0);
	json_decref(doc);
	REFUSED(inventory_install(st, &h, inv, "students are employees now", &version, &e_),
		"every category");
	ASSERT_OK(inventory_install(st, &d, inv, "the same again", &version, &ts_err));
	free(inv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roles),
		cmocka_unit_test(test_contractors_and_agreements),
		cmocka_unit_test(test_relationships_and_grants),
		cmocka_unit_test(test_training),
		cmocka_unit_test(test_no_twins),
		cmocka_unit_test(test_notes_sealed_at_rest),
		cmocka_unit_test(test_reviews_tell_only_what_one_reaches),
		cmocka_unit_test(test_handing_over_or_reopening_an_account),
		cmocka_unit_test(test_default_rules_keep_it_out),
	};
	return cmocka_run_group_tests_name("confer", tests, setup, teardown);
}
