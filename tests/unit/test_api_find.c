/*
 * test_api_find.c - subjects and the lists that find things, over HTTP on
 * a real server: a subject read answers each role of the default rules
 * (teacher related and unrelated, nurse with and without multi-factor, HR,
 * it_admin, contractor in and out of its agreement, designee with and
 * without a purpose) with exactly the fields the decision allows, masked
 * as it says, and an id nobody has reads like one out of reach; a route x
 * role matrix of the lists and changes; searches that never log their
 * terms; a subject's records listed only in the categories one may read;
 * bad input refused with nothing written; and the command line's commands
 * for all of it.
 */
#include "apiclient.h"

static int setup(void **state)
{
	(void)state;
	api_server_start(NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	api_server_stop();
	return 0;
}

/* GETs a subject and checks the identifying fields shown (comma-separated,
 * in the order of SF_*), those masked, and the values of two of them. */
static void expect_subject(const char *who, const char *token, const char *path,
			   const char *shown, const char *masked, const char *dob)
{
	json_t *o = NULL;
	long st = api_call("GET", path, token, NULL, &o);
	if (st != 200) {
		char *d = o ? json_dumps(o, 0) : xstrdup("");
		fail_msg("%s GET %s: %ld %s", who, path, st, d);
	}
	static const char *const names[] = {"external_id", "given_name", "family_name",
					    "date_of_birth", "organization"};
	struct buf got = BUF_INIT, gotm = BUF_INIT;
	for (size_t i = 0; i < ARRAY_LEN(names); i++)
		if (json_object_get(o, names[i])) {
			if (got.len)
				buf_putc(&got, ',');
			buf_puts(&got, names[i]);
		}
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(o, "masked"), i, m) {
		if (gotm.len)
			buf_putc(&gotm, ',');
		buf_puts(&gotm, json_string_value(m));
	}
	if (!str_eq(got.data ? got.data : "", shown) || !str_eq(gotm.data ? gotm.data : "", masked))
		fail_msg("%s GET %s: shown [%s] masked [%s], wanted [%s] [%s]", who, path,
			 got.data ? got.data : "", gotm.data ? gotm.data : "", shown, masked);
	if (dob)
		assert_string_equal(json_string_value(json_object_get(o, "date_of_birth")), dob);
	buf_release(&got);
	buf_release(&gotm);
	json_decref(o);
}

/* The refusal a GET gets: its status and message. */
static void refusal_of(const char *path, const char *token, long *status, char *msg, size_t n)
{
	json_t *o = NULL;
	*status = api_call("GET", path, token, NULL, &o);
	str_copy(msg, n, json_string_value(json_object_get(json_object_get(o, "error"), "message")));
	json_decref(o);
}

static void expect_unreachable(const char *who, const char *token, const char *path,
			       const char *missing)
{
	long s1, s2;
	char m1[400], m2[400];
	refusal_of(path, token, &s1, m1, sizeof(m1));
	refusal_of(missing, token, &s2, m2, sizeof(m2));
	if (s1 != 403 || s2 != 403 || !str_eq(m1, m2))
		fail_msg("%s: %s answered %ld \"%s\", %s answered %ld \"%s\"", who, path, s1, m1,
			 missing, s2, m2);
}

static int64_t count(const char *db, const char *sql)
{
	return api_db_count(db, sql);
}

static void test_find(void **state)
{
	(void)state;
	char body[1024], d1[16], d2[16], path[320];
	struct who admin = {0};
	api_login(&admin, TS_ADMIN, TS_PASSWORD);
	const char *A = admin.token;
	/* (the designee's own training is on file from the start: apiclient.c) */
	int64_t school_a = api_create("/api/v1/organizations", A,
				      "{\"code\":\"school-a\",\"name\":\"A School\",\"kind\":\"school\"}");
	int64_t school_b = api_create("/api/v1/organizations", A,
				      "{\"code\":\"school-b\",\"name\":\"B School\",\"kind\":\"school\"}");
	snprintf(body, sizeof(body),
		 "{\"vendor\":\"Roster Co\",\"categories\":[\"directory\",\"academic\"],"
		 "\"organizations\":[\"school-a\"],\"start\":\"%s\",\"end\":\"%s\"}",
		 api_day(-30, d1), api_day(365, d2));
	int64_t ag_in = api_create("/api/v1/agreements", A, body);
	snprintf(body, sizeof(body),
		 "{\"vendor\":\"Elsewhere Co\",\"categories\":[\"directory\",\"academic\"],"
		 "\"organizations\":[\"school-b\"],\"start\":\"%s\",\"end\":\"%s\"}",
		 api_day(-30, d1), api_day(365, d2));
	int64_t ag_out = api_create("/api/v1/agreements", A, body);
	const char *pw = "\"password\":\"kestrel meadow lantern 7\",\"must_change_password\":false";
	struct {
		const char *name, *roles, *org, *extra;
		int64_t id;
	} people[] = {
		{"tclass", "teacher", "school-a", "", 0},
		{"tother", "teacher", "school-b", "", 0},
		{"nurse", "nurse", "school-a", "", 0},
		{"nurseplain", "nurse", "school-a", "", 0},
		{"hr1", "hr", NULL, "", 0},
		{"it1", "it_admin", NULL, "", 0},
		{"vin", "contractor", "school-a", "in", 0},
		{"vout", "contractor", "school-a", "out", 0},
	};
	for (size_t i = 0; i < ARRAY_LEN(people); i++) {
		char org[64] = "", extra[96] = "";
		if (people[i].org)
			snprintf(org, sizeof(org), ",\"organization\":\"%s\"", people[i].org);
		if (*people[i].extra)
			snprintf(extra, sizeof(extra), ",\"kind\":\"contractor\",\"agreement\":%lld",
				 (long long)(str_eq(people[i].extra, "in") ? ag_in : ag_out));
		snprintf(body, sizeof(body),
			 "{\"username\":\"%s\",%s,\"display_name\":\"%s person\",\"roles\":[\"%s\"]%s%s}",
			 people[i].name, pw, people[i].name, people[i].roles, org, extra);
		people[i].id = api_create("/api/v1/users", A, body);
		snprintf(body, sizeof(body),
			 "{\"user\":%lld,\"course\":\"student-records-confidentiality\","
			 "\"completed_on\":\"%s\"}",
			 (long long)people[i].id, api_day(-20, d1));
		api_create("/api/v1/training/completions", A, body);
	}
	/* it_admin registers the people records are about: only the id comes back */
	struct who it = {0};
	api_login(&it, "it1", "kestrel meadow lantern 7");
	json_t *o = NULL;
	assert_int_equal(api_call("POST", "/api/v1/subjects", it.token,
				  "{\"kind\":\"student\",\"external_id\":\"SIS-41\",\"given_name\":"
				  "\"Marisol\",\"family_name\":\"Quintanilla\",\"date_of_birth\":"
				  "\"2012-04-09\",\"organization\":\"school-a\"}",
				  &o),
			 201);
	assert_int_equal(json_object_size(o), 1);
	int64_t student = json_integer_value(json_object_get(o, "id"));
	json_decref(o);
	int64_t employee = api_create("/api/v1/subjects", it.token,
				      "{\"kind\":\"employee\",\"external_id\":\"EMP-9\",\"given_name\":"
				      "\"Theo\",\"family_name\":\"Lindqvist\",\"date_of_birth\":"
				      "\"1980-02-03\",\"organization\":\"school-a\"}");
	snprintf(body, sizeof(body), "{\"user\":%lld,\"subject\":%lld,\"kind\":\"teacher_of\"}",
		 (long long)people[0].id, (long long)student);
	api_create("/api/v1/relationships", A, body);

	struct who trel = {0}, tunrel = {0}, nurse = {0}, plain = {0}, hr = {0}, vin = {0},
		   vout = {0};
	api_login(&trel, "tclass", "kestrel meadow lantern 7");
	api_login(&tunrel, "tother", "kestrel meadow lantern 7");
	api_login(&nurse, "nurse", "kestrel meadow lantern 7");
	api_enroll(&nurse);
	api_login(&plain, "nurseplain", "kestrel meadow lantern 7");
	api_login(&hr, "hr1", "kestrel meadow lantern 7");
	api_login(&vin, "vin", "kestrel meadow lantern 7");
	api_login(&vout, "vout", "kestrel meadow lantern 7");

	/* --- a subject read, role by role ---------------------------------- */
	char subj[64], subj_p[128], missing[64], emp[64];
	snprintf(subj, sizeof(subj), "/api/v1/subjects/%lld", (long long)student);
	snprintf(subj_p, sizeof(subj_p), "/api/v1/subjects/%lld?purpose=enrolment+review",
		 (long long)student);
	snprintf(missing, sizeof(missing), "/api/v1/subjects/%lld", (long long)student + 1000);
	snprintf(emp, sizeof(emp), "/api/v1/subjects/%lld", (long long)employee);
	const char *names4 = "external_id,given_name,family_name,organization";
	const char *names5 = "external_id,given_name,family_name,date_of_birth,organization";
	/* directory information through the school, grades through the class:
	 * names and the external id, not the date of birth */
	expect_subject("teacher related", trel.token, subj, names4, "", NULL);
	/* the nurse keeps health records: with multi-factor, the date of birth */
	expect_subject("nurse", nurse.token, subj, names5, "", "2012-04-09");
	expect_subject("nurse without multi-factor", plain.token, subj, names4, "", NULL);
	/* the designee, stating why */
	expect_subject("designee", A, subj_p, names5, "", "2012-04-09");
	/* a contractor inside its agreement (directory, academic, this school):
	 * recorded as a disclosure */
	expect_subject("contractor in agreement", vin.token, subj, names4, "", NULL);
	assert_int_equal(api_call("GET", subj, vin.token, NULL, &o), 200);
	assert_true(json_is_true(json_object_get(o, "disclosure_recorded")));
	json_decref(o);
	/* HR reads employees, the date of birth as its year */
	expect_subject("hr", hr.token, emp, names5, "date_of_birth", "1980");
	/* out of reach: the same answer as an id nobody has */
	expect_unreachable("teacher unrelated", tunrel.token, subj, missing);
	expect_unreachable("it_admin", it.token, subj, missing);
	expect_unreachable("it_admin", it.token, emp, missing);
	expect_unreachable("hr", hr.token, subj, missing);
	expect_unreachable("contractor out of agreement", vout.token, subj, missing);
	expect_unreachable("teacher", trel.token, emp, missing);
	/* the designee without a purpose is told to state one */
	long s1;
	char m1[400];
	refusal_of(subj, A, &s1, m1, sizeof(m1));
	assert_int_equal(s1, 403);
	assert_non_null(strstr(m1, "purpose"));
	/* each read is logged with the fields returned and masked */
	assert_true(api_logged("subject.read", "allow", ""));
	assert_true(api_logged("subject.read", "deny", "no subject"));
	assert_int_equal(count("audit.db", "SELECT COUNT(*) FROM audit_event WHERE CAST(entry AS "
					   "TEXT) LIKE '%subject.read%' AND CAST(entry AS TEXT) LIKE "
					   "'%\"masked\":[\"date_of_birth\"]%'"),
			 1);

	/* --- records, so that a subject's list has something to show ------- */
	snprintf(body, sizeof(body),
		 "{\"subject\":%lld,\"category\":\"academic\",\"fields\":{\"course\":\"Algebra I\","
		 "\"grade\":\"A\"}}",
		 (long long)student);
	int64_t academic = api_create("/api/v1/records", trel.token, body);
	snprintf(body, sizeof(body),
		 "{\"subject\":%lld,\"category\":\"health\",\"fields\":{\"conditions\":\"asthma\"}}",
		 (long long)student);
	int64_t health = api_create("/api/v1/records", nurse.token, body);
	char recs[96], recs_p[128], recs_missing[96];
	snprintf(recs, sizeof(recs), "/api/v1/subjects/%lld/records", (long long)student);
	snprintf(recs_p, sizeof(recs_p), "/api/v1/subjects/%lld/records?purpose=review",
		 (long long)student);
	snprintf(recs_missing, sizeof(recs_missing), "/api/v1/subjects/%lld/records",
		 (long long)student + 1000);
	struct {
		const char *who, *token, *path;
		int64_t want[3];
	} lists[] = {
		{"teacher related", trel.token, recs, {academic, 0}},
		{"nurse", nurse.token, recs, {health, 0}},
		{"nurse without multi-factor", plain.token, recs, {0}},
		{"designee", A, recs_p, {academic, health, 0}},
		{"contractor in agreement", vin.token, recs, {academic, 0}},
	};
	for (size_t i = 0; i < ARRAY_LEN(lists); i++) {
		o = NULL;
		if (api_call("GET", lists[i].path, lists[i].token, NULL, &o) != 200)
			fail_msg("%s: records list refused", lists[i].who);
		json_t *rl = json_object_get(o, "records");
		size_t n = 0;
		while (lists[i].want[n])
			n++;
		if (json_array_size(rl) != n)
			fail_msg("%s: %zu records listed, wanted %zu", lists[i].who, json_array_size(rl), n);
		for (size_t k = 0; k < n; k++)
			assert_int_equal(json_integer_value(json_object_get(json_array_get(rl, k), "id")),
					 lists[i].want[k]);
		/* ids, categories and dates only */
		json_t *first = json_array_get(rl, 0);
		if (first) {
			assert_null(json_object_get(first, "fields"));
			assert_non_null(json_object_get(first, "category"));
			assert_non_null(json_object_get(first, "created_at"));
		}
		json_decref(o);
	}
	expect_unreachable("teacher unrelated", tunrel.token, recs, recs_missing);
	expect_unreachable("it_admin", it.token, recs, recs_missing);
	/* a page of one, then the next */
	snprintf(path, sizeof(path), "%s&limit=1", recs_p);
	assert_int_equal(api_call("GET", path, A, NULL, &o), 200);
	assert_int_equal(json_array_size(json_object_get(o, "records")), 1);
	int64_t next = json_integer_value(json_object_get(o, "next"));
	assert_int_equal(next, academic);
	json_decref(o);
	snprintf(path, sizeof(path), "%s&limit=1&after=%lld", recs_p, (long long)next);
	assert_int_equal(api_call("GET", path, A, NULL, &o), 200);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(o, "records"), 0), "id")),
			 health);
	assert_null(json_object_get(o, "next"));
	json_decref(o);

	/* --- search and list ------------------------------------------------ */
	const char *by_id = "{\"external_id\":\" sis-41 \",\"kind\":\"student\"}";
	assert_int_equal(api_call("POST", "/api/v1/subjects/search", trel.token, by_id, &o), 200);
	assert_int_equal(json_array_size(json_object_get(o, "subjects")), 1);
	assert_null(json_object_get(json_array_get(json_object_get(o, "subjects"), 0), "date_of_birth"));
	json_decref(o);
	char *a = NULL, *b = NULL;
	assert_int_equal(api_call("POST", "/api/v1/subjects/search", tunrel.token, by_id, &o), 200);
	a = json_dumps(o, JSON_SORT_KEYS);
	json_decref(o);
	assert_int_equal(api_call("POST", "/api/v1/subjects/search", tunrel.token,
				  "{\"external_id\":\"SIS-4242\",\"kind\":\"student\"}", &o),
			 200);
	b = json_dumps(o, JSON_SORT_KEYS);
	json_decref(o);
	assert_string_equal(a, b); /* out of reach and nobody: the same */
	free(a);
	free(b);
	assert_int_equal(api_call("POST", "/api/v1/subjects/search", nurse.token,
				  "{\"family_name\":\"QUINTANILLA\",\"given_name\":\"marisol\"}", &o),
			 200);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(o, "subjects"), 0), "date_of_birth")),
			    "2012-04-09");
	json_decref(o);
	assert_int_equal(api_call("POST", "/api/v1/subjects/search", it.token, by_id, &o), 200);
	assert_int_equal(json_array_size(json_object_get(o, "subjects")), 0);
	json_decref(o);
	/* the terms reach neither the log nor the database in clear */
	assert_int_equal(count("audit.db", "SELECT COUNT(*) FROM audit_event WHERE CAST(entry AS "
					   "TEXT) LIKE '%sis-41%' OR CAST(entry AS TEXT) LIKE "
					   "'%quintanilla%' OR CAST(entry AS TEXT) LIKE '%marisol%'"),
			 0);
	assert_true(api_logged("subject.search", "allow", ""));
	/* lists: one's own reach, page by page */
	assert_int_equal(api_call("GET", "/api/v1/subjects", trel.token, NULL, &o), 200);
	assert_int_equal(json_array_size(json_object_get(o, "subjects")), 1);
	json_decref(o);
	assert_int_equal(api_call("GET", "/api/v1/subjects", tunrel.token, NULL, &o), 200);
	assert_int_equal(json_array_size(json_object_get(o, "subjects")), 0);
	json_decref(o);
	assert_int_equal(api_call("GET", "/api/v1/subjects?kind=employee", hr.token, NULL, &o), 200);
	assert_int_equal(json_array_size(json_object_get(o, "subjects")), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(o, "subjects"), 0), "date_of_birth")),
			    "1980");
	json_decref(o);
	assert_int_equal(api_call("GET", "/api/v1/subjects?purpose=review&limit=1", A, NULL, &o), 200);
	assert_int_equal(json_array_size(json_object_get(o, "subjects")), 1);
	assert_int_equal(json_integer_value(json_object_get(o, "next")), student);
	json_decref(o);

	/* --- the route x role matrix of the lists and changes -------------- */
	char org_b[64], subj_patch_body[] = "{\"given_name\":\"Marisol Ana\"}";
	snprintf(org_b, sizeof(org_b), "/api/v1/organizations/%lld", (long long)school_b);
	struct {
		const char *who, *token, *method, *path, *body;
		long status;
	} matrix[] = {
		{"teacher", trel.token, "GET", "/api/v1/users", NULL, 403},
		{"contractor", vin.token, "GET", "/api/v1/users", NULL, 403},
		{"hr", hr.token, "GET", "/api/v1/users", NULL, 200},
		{"it_admin", it.token, "GET", "/api/v1/users?role=nurse", NULL, 200},
		{"designee", A, "GET", "/api/v1/users?q=person", NULL, 200},
		{"teacher", trel.token, "GET", "/api/v1/organizations", NULL, 403},
		{"hr", hr.token, "GET", "/api/v1/organizations", NULL, 200},
		{"it_admin", it.token, "GET", "/api/v1/organizations?kind=school", NULL, 200},
		{"teacher", trel.token, "PATCH", org_b, "{\"name\":\"Mine\"}", 403},
		{"hr", hr.token, "PATCH", org_b, "{\"name\":\"Mine\"}", 403},
		{"it_admin", it.token, "PATCH", org_b, "{\"name\":\"B Elementary\"}", 200},
		{"teacher", trel.token, "GET", "/api/v1/relationships", NULL, 403},
		{"contractor", vin.token, "GET", "/api/v1/relationships", NULL, 403},
		{"hr", hr.token, "GET", "/api/v1/relationships", NULL, 200},
		/* relationships are conferred and reviewed by the designee, not IT */
		{"it_admin", it.token, "GET", "/api/v1/relationships?kind=teacher_of", NULL, 403},
		{"designee", A, "GET", "/api/v1/relationships?kind=teacher_of", NULL, 200},
		{"teacher", trel.token, "GET", "/api/v1/subjects", NULL, 200},
		{"it_admin", it.token, "GET", "/api/v1/subjects", NULL, 200},
		{"contractor", vout.token, "GET", "/api/v1/subjects", NULL, 200},
		{"teacher", trel.token, "POST", "/api/v1/subjects/search", by_id, 200},
		{"teacher", trel.token, "PATCH", subj, subj_patch_body, 403},
		{"hr", hr.token, "PATCH", subj, subj_patch_body, 403},
		{"contractor", vin.token, "PATCH", subj, subj_patch_body, 403},
		{"it_admin", it.token, "PATCH", subj, subj_patch_body, 200},
		{"designee", A, "PATCH", subj, "{\"given_name\":\"Marisol\"}", 200},
		{"teacher", trel.token, "GET", recs, NULL, 200},
		{"teacher", tunrel.token, "GET", recs, NULL, 403},
		{"it_admin", it.token, "GET", recs, NULL, 403},
		{"hr", hr.token, "GET", recs, NULL, 403},
	};
	for (size_t i = 0; i < ARRAY_LEN(matrix); i++) {
		o = NULL;
		long got = api_call(matrix[i].method, matrix[i].path, matrix[i].token, matrix[i].body, &o);
		if (got != matrix[i].status) {
			char *dump = o ? json_dumps(o, 0) : xstrdup("");
			fail_msg("%s %s %s: %ld (%s), wanted %ld", matrix[i].who, matrix[i].method,
				 matrix[i].path, got, dump, matrix[i].status);
		}
		json_decref(o);
	}
	/* what the lists hold */
	assert_int_equal(api_call("GET", "/api/v1/users?role=contractor", hr.token, NULL, &o), 200);
	assert_int_equal(json_array_size(json_object_get(o, "users")), 2);
	json_decref(o);
	assert_int_equal(api_call("GET", "/api/v1/users?limit=2", hr.token, NULL, &o), 200);
	assert_int_equal(json_array_size(json_object_get(o, "users")), 2);
	assert_int_equal(json_integer_value(json_object_get(o, "next")), 2);
	json_decref(o);
	snprintf(path, sizeof(path), "/api/v1/relationships?subject=%lld", (long long)student);
	assert_int_equal(api_call("GET", path, A, NULL, &o), 200);
	assert_int_equal(json_array_size(json_object_get(o, "relationships")), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(o, "relationships"), 0), "kind")),
			    "teacher_of");
	json_decref(o);
	/* HR reviews access, but who teaches a student is not HR's to see:
	 * not listed, not counted */
	assert_int_equal(api_call("GET", path, hr.token, NULL, &o), 200);
	assert_int_equal(json_array_size(json_object_get(o, "relationships")), 0);
	json_decref(o);
	assert_int_equal(api_call("GET", "/api/v1/organizations?limit=2", it.token, NULL, &o), 200);
	assert_string_equal(json_string_value(json_object_get(o, "next")), "school-a");
	json_decref(o);
	assert_int_equal(api_call("GET", "/api/v1/organizations?after=school-a", it.token, NULL, &o), 200);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(o, "organizations"), 0), "name")),
			    "B Elementary");
	json_decref(o);
	/* the search text of a user list is not logged, only that it was given */
	assert_int_equal(count("audit.db", "SELECT COUNT(*) FROM audit_event WHERE CAST(entry AS "
					   "TEXT) LIKE '%user.list%' AND CAST(entry AS TEXT) LIKE "
					   "'%person%'"),
			 0);
	assert_true(api_logged("user.list", "deny", ""));
	assert_true(api_logged("relationship.list", "allow", ""));
	assert_true(api_logged("organization.update", "allow", ""));
	assert_true(api_logged("subject.update", "deny", ""));
	assert_true(api_logged("subject.update", "allow", ""));

	/* --- bad input: refused, naming the field, nothing written ---------- */
	int64_t other = api_create("/api/v1/subjects", it.token,
				   "{\"kind\":\"student\",\"external_id\":\"SIS-42\",\"given_name\":"
				   "\"Ines\",\"family_name\":\"Arrabal\",\"organization\":\"school-b\"}");
	char other_path[64];
	snprintf(other_path, sizeof(other_path), "/api/v1/subjects/%lld", (long long)other);
	int64_t unchanged = count("steward.db", "SELECT COUNT(*) FROM subject WHERE updated_by IS NULL");
	struct {
		const char *method, *path, *body, *code, *field;
		long status;
	} bad[] = {
		{"PATCH", subj, "{\"nickname\":\"Mari\"}", "unknown_field", "nickname", 400},
		{"PATCH", emp, "{\"date_of_birth\":\"1980-13-03\"}", "wrong_type", "date_of_birth", 400},
		{"PATCH", emp, "{\"given_name\":5}", "wrong_type", "given_name", 400},
		{"PATCH", emp, "{\"status\":\"gone\"}", "bad_value", "status", 400},
		{"PATCH", emp, "{}", "missing_field", "status", 400},
		{"PATCH", emp, "{\"organization\":\"school-z\"}", "unknown_organization", "organization", 400},
		{"PATCH", emp, "{\"external_id\":\"x\",\"organization\":\"school-z\"}", "unknown_organization", "organization", 400},
		{"PATCH", org_b, "{\"status\":\"closed\"}", "bad_value", "status", 400},
		{"PATCH", org_b, "{\"name\":\"\"}", "bad_value", "name", 400},
		{"POST", "/api/v1/subjects/search", "{\"given_name\":\"Marisol\"}", "missing_field", "external_id", 400},
		{"POST", "/api/v1/subjects/search", "{\"family_name\":\"Q\",\"limit\":1000}", "bad_value", "limit", 400},
		{"POST", "/api/v1/subjects/search", "{\"external_id\":\"SIS-41\",\"surname\":\"Q\"}", "unknown_field", "surname", 400},
		{"GET", "/api/v1/users?limit=500", NULL, "bad_value", "limit", 400},
		{"GET", "/api/v1/users?limit=0", NULL, "wrong_type", "limit", 400},
		{"GET", "/api/v1/users?rol=nurse", NULL, "unknown_parameter", "rol", 400},
		{"GET", "/api/v1/users?role=wizard", NULL, "unknown_role", "role", 400},
		{"GET", "/api/v1/subjects?status=gone", NULL, "bad_value", "status", 400},
		{"GET", "/api/v1/subjects?after=-3", NULL, "wrong_type", "after", 400},
		{"GET", "/api/v1/relationships?kind=friend", NULL, "bad_value", "kind", 400},
		{"GET", "/api/v1/organizations?status=closed", NULL, "bad_value", "status", 400},
	};
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		o = NULL;
		long got = api_call(bad[i].method, bad[i].path, A, bad[i].body, &o);
		json_t *err = json_object_get(o, "error");
		const char *code = json_string_value(json_object_get(err, "code"));
		const char *field = json_string_value(json_object_get(err, "field"));
		if (got != bad[i].status || !str_eq(code, bad[i].code) || !str_eq(field, bad[i].field))
			fail_msg("%s %s %s: %ld %s %s, wanted %ld %s %s", bad[i].method, bad[i].path,
				 bad[i].body ? bad[i].body : "", got, code, field, bad[i].status,
				 bad[i].code, bad[i].field);
		json_decref(o);
	}
	/* a taken external id: a conflict, nothing changed */
	api_expect(409, "PATCH", other_path, it.token,
		   "{\"external_id\":\"SIS-41\",\"given_name\":\"T\"}", "exists");
	api_expect(409, "PATCH", subj, it.token, "{\"status\":\"active\"}", "conflict");
	assert_int_equal(count("steward.db", "SELECT COUNT(*) FROM subject WHERE updated_by IS NULL"),
			 unchanged);
	assert_int_equal(count("steward.db", "SELECT COUNT(*) FROM organization WHERE name = 'B Elementary'"), 1);
	/* a school with active people is not closed; an empty one is */
	char org_a[64];
	snprintf(org_a, sizeof(org_a), "/api/v1/organizations/%lld", (long long)school_a);
	api_expect(409, "PATCH", org_a, it.token, "{\"status\":\"inactive\"}", "in_use");
	int64_t annex = api_create("/api/v1/organizations", it.token,
				   "{\"code\":\"annex\",\"name\":\"Annex\",\"kind\":\"school\"}");
	snprintf(path, sizeof(path), "/api/v1/organizations/%lld", (long long)annex);
	api_expect(200, "PATCH", path, it.token, "{\"status\":\"inactive\"}", NULL);
	api_expect(400, "POST", "/api/v1/subjects", it.token,
		   "{\"kind\":\"student\",\"external_id\":\"SIS-77\",\"given_name\":\"Mo\","
		   "\"family_name\":\"Lee\",\"organization\":\"annex\"}",
		   "inactive_organization");
	/* deactivated, not deleted: the records stay readable */
	api_expect(200, "PATCH", subj, it.token, "{\"status\":\"inactive\"}", NULL);
	api_expect(409, "PATCH", subj, it.token, "{\"given_name\":\"Ana\"}", "inactive");
	snprintf(path, sizeof(path), "/api/v1/records/%lld?purpose=grading", (long long)academic);
	api_expect(200, "GET", path, trel.token, NULL, NULL);
	assert_int_equal(api_call("GET", subj, trel.token, NULL, &o), 200);
	assert_string_equal(json_string_value(json_object_get(o, "status")), "inactive");
	json_decref(o);
	assert_int_equal(api_call("GET", "/api/v1/subjects", trel.token, NULL, &o), 200);
	assert_int_equal(json_array_size(json_object_get(o, "subjects")), 0);
	json_decref(o);
	assert_int_equal(api_call("GET", "/api/v1/subjects?status=inactive", trel.token, NULL, &o), 200);
	assert_int_equal(json_array_size(json_object_get(o, "subjects")), 1);
	json_decref(o);
	api_expect(200, "PATCH", subj, it.token, "{\"status\":\"active\",\"date_of_birth\":null}", NULL);
	expect_subject("nurse, after the date of birth was removed", nurse.token, subj, names4, "", NULL);
	assert_true(api_logged("subject.deactivate", "allow", ""));
	(void)ag_out;
	(void)health;

	/* --- the command line, a client of the same routes ----------------- */
	struct {
		const char *token, *args;
		int status;
		const char *says;
	} cli[] = {
		{trel.token, "subjects find --external-id SIS-41 --kind student", 0, "Quintanilla"},
		{trel.token, "subjects list", 0, "Quintanilla"},
		{trel.token, "subjects records ID", 0, "academic"},
		{it.token, "subjects get ID", 3, "need-to-know"},
		{nurse.token, "subjects get ID", 0, "Quintanilla"},
		{it.token, "subjects update ID --family-name Quintanilla-Ruiz", 0, "family_name"},
		{it.token, "subjects update ID", 2, "one change"},
		{hr.token, "users list --role nurse", 0, "nurseplain"},
		{trel.token, "users list", 3, "users"},
		{it.token, "organizations list --kind school", 0, "school-b"},
		{it.token, "organizations update ID --name Annex --status active", 0, "\"id\""},
		{A, "relationships list --kind teacher_of", 0, "teacher_of"},
		{trel.token, "subjects find", 2, "--external-id"},
	};
	for (size_t i = 0; i < ARRAY_LEN(cli); i++) {
		/* ID in the arguments: the annex for organizations, else the student */
		struct buf args = BUF_INIT;
		const char *at = strstr(cli[i].args, "ID");
		if (at) {
			buf_append(&args, cli[i].args, (size_t)(at - cli[i].args));
			buf_printf(&args, "%lld",
				   (long long)(strstr(cli[i].args, "organizations") ? annex : student));
			buf_puts(&args, at + 2);
		} else {
			buf_puts(&args, cli[i].args);
		}
		char *cmd = xasprintf("STEWARD_SERVER=%s STEWARD_TOKEN=%s %s %s 2>&1", api_base,
				      cli[i].token, STEWARD_BINARY, args.data);
		char *out = NULL;
		int st = ts_run(cmd, &out);
		if (st != cli[i].status || !strstr(out, cli[i].says))
			fail_msg("steward %s: exit %d, wanted %d with \"%s\":\n%s", args.data, st,
				 cli[i].status, cli[i].says, out);
		free(out);
		free(cmd);
		buf_release(&args);
	}
	assert_int_equal(count("audit.db", "SELECT COUNT(*) FROM audit_event WHERE CAST(entry AS "
					   "TEXT) LIKE '%SIS-41%' OR CAST(entry AS TEXT) LIKE "
					   "'%Quintanilla%'"),
			 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_find, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
