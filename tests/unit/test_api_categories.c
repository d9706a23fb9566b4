/*
 * test_api_categories.c - a first day under the shipped rules, over HTTP:
 * every category of the default inventory is created by the role whose
 * work it is (the child-abuse report with the purpose its rule asks for, in
 * the body), and updated and deleted with a purpose where the rule asks;
 * a purpose of white space is no purpose; the retention series follows from
 * the category.
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

static const char *const PW = "kestrel meadow lantern 7";

static int64_t staff(const char *A, const char *name, const char *role, const char *org)
{
	char body[512], day[16];
	snprintf(body, sizeof(body),
		 "{\"username\":\"%s\",\"password\":\"%s\",\"must_change_password\":false,"
		 "\"display_name\":\"%s\",\"roles\":[\"%s\"]%s%s%s}",
		 name, PW, name, role, org ? ",\"organization\":\"" : "", org ? org : "",
		 org ? "\"" : "");
	int64_t id = api_create("/api/v1/users", A, body);
	snprintf(body, sizeof(body),
		 "{\"user\":%lld,\"course\":\"student-records-confidentiality\","
		 "\"completed_on\":\"%s\"}",
		 (long long)id, api_day(-20, day));
	api_create("/api/v1/training/completions", A, body);
	return id;
}

static void relate(const char *A, int64_t user, int64_t subject, const char *kind)
{
	char body[160];
	snprintf(body, sizeof(body), "{\"user\":%lld,\"subject\":%lld,\"kind\":\"%s\"}",
		 (long long)user, (long long)subject, kind);
	api_create("/api/v1/relationships", A, body);
}

static void test_every_category(void **state)
{
	(void)state;
	struct who admin = {0};
	api_login(&admin, TS_ADMIN, TS_PASSWORD);
	const char *A = admin.token;
	api_create("/api/v1/organizations", A,
		   "{\"code\":\"school-a\",\"name\":\"A School\",\"kind\":\"school\"}");
	int64_t teacher = staff(A, "teach1", "teacher", "school-a");
	int64_t principal = staff(A, "princ1", "principal", "school-a");
	staff(A, "nurse1", "nurse", "school-a");
	int64_t sped = staff(A, "sped1", "sped_staff", "school-a");
	int64_t counselor = staff(A, "couns1", "counselor", "school-a");
	staff(A, "hr1", "hr", NULL);
	(void)principal;
	int64_t student = api_create("/api/v1/subjects", A,
				     "{\"kind\":\"student\",\"external_id\":\"SIS-1\","
				     "\"given_name\":\"Zoë\",\"family_name\":\"Núñez\","
				     "\"organization\":\"school-a\"}");
	int64_t employee = api_create("/api/v1/subjects", A,
				      "{\"kind\":\"employee\",\"external_id\":\"EMP-1\","
				      "\"given_name\":\"Lee\",\"family_name\":\"Park\"}");
	relate(A, teacher, student, "teacher_of");
	relate(A, sped, student, "sped_caseload");
	relate(A, counselor, student, "counselor_caseload");

	struct {
		const char *user, *category, *fields;
		int64_t subject;
		const char *purpose; /* the rule asks for one */
	} each[] = {
		{"princ1", "directory", "{\"grade_level\":\"7\",\"enrollment_status\":\"enrolled\"}", student, NULL},
		{"teach1", "academic", "{\"course\":\"Algebra I\",\"grade\":\"B+\"}", student, NULL},
		{"teach1", "attendance", "{\"date\":\"2026-11-30\",\"status\":\"absent_excused\"}", student, NULL},
		{"princ1", "discipline", "{\"incident_date\":\"2026-11-30\",\"offense\":\"tardiness\"}", student, NULL},
		{"nurse1", "health", "{\"conditions\":\"asthma\"}", student, NULL},
		{"sped1", "special_education", "{\"disability_category\":\"specific learning disability\"}", student, NULL},
		{"couns1", "child_abuse_report", "{\"report_date\":\"2026-11-30\"}", student, "hotline report"},
		{"hr1", "personnel", "{\"position\":\"Teacher\"}", employee, NULL},
		{"hr1", "payroll", "{\"ssn\":\"123-45-6789\"}", employee, NULL},
		{"hr1", "background_check", "{\"check_date\":\"2026-11-01\",\"result\":\"clear\"}", employee, NULL},
	};
	json_t *inv = NULL;
	assert_int_equal(api_call("GET", "/api/v1/inventory", A, NULL, &inv), 200);
	json_t *cats = json_object_get(json_object_get(inv, "inventory"), "categories");
	if (!cats)
		cats = json_object_get(inv, "categories");
	assert_int_equal(json_object_size(cats), ARRAY_LEN(each));
	for (size_t i = 0; i < ARRAY_LEN(each); i++) {
		assert_non_null(json_object_get(cats, each[i].category));
		/* one session per person, enrolled in multi-factor (restricted
		 * records ask for it) */
		static struct who sessions[ARRAY_LEN(each)];
		static const char *names[ARRAY_LEN(each)];
		size_t k = 0;
		while (names[k] && !str_eq(names[k], each[i].user))
			k++;
		if (!names[k]) {
			names[k] = each[i].user;
			api_login(&sessions[k], each[i].user, PW);
			static const unsigned char none[20];
			if (!memcmp(sessions[k].secret, none, sizeof(none)))
				api_enroll(&sessions[k]);
		}
		struct who w = sessions[k];
		char body[512], path[96];
		if (each[i].purpose) {
			/* without the purpose its rule asks for: refused, and
			 * white space is not a purpose */
			snprintf(body, sizeof(body), "{\"subject\":%lld,\"category\":\"%s\",\"fields\":%s}",
				 (long long)each[i].subject, each[i].category, each[i].fields);
			api_expect(403, "POST", "/api/v1/records", w.token, body, "forbidden");
			snprintf(body, sizeof(body),
				 "{\"subject\":%lld,\"category\":\"%s\",\"fields\":%s,\"purpose\":\"   \"}",
				 (long long)each[i].subject, each[i].category, each[i].fields);
			api_expect(400, "POST", "/api/v1/records", w.token, body, "bad_value");
		}
		/* the series is the category's, never the writer's choice */
		snprintf(body, sizeof(body),
			 "{\"subject\":%lld,\"category\":\"%s\",\"fields\":%s,\"series\":\"EX-EMP-PAYROLL\"%s%s%s}",
			 (long long)each[i].subject, each[i].category, each[i].fields,
			 each[i].purpose ? ",\"purpose\":\"" : "",
			 each[i].purpose ? each[i].purpose : "", each[i].purpose ? "\"" : "");
		if (!str_eq(each[i].category, "payroll"))
			api_expect(400, "POST", "/api/v1/records", w.token, body, "bad_value");
		snprintf(body, sizeof(body), "{\"subject\":%lld,\"category\":\"%s\",\"fields\":%s%s%s%s}",
			 (long long)each[i].subject, each[i].category, each[i].fields,
			 each[i].purpose ? ",\"purpose\":\"" : "",
			 each[i].purpose ? each[i].purpose : "", each[i].purpose ? "\"" : "");
		int64_t id = api_create("/api/v1/records", w.token, body);
		json_t *rec = NULL;
		snprintf(path, sizeof(path), "/api/v1/records/%lld?purpose=check", (long long)id);
		assert_int_equal(api_call("GET", path, w.token, NULL, &rec), 200);
		const char *series = json_string_value(json_object_get(rec, "series"));
		const char *want = json_string_value(
			json_object_get(json_object_get(cats, each[i].category), "series"));
		if (want)
			assert_string_equal(series, want);
		json_decref(rec);
		if (each[i].purpose) {
			/* the create was logged with its purpose */
			json_t *events = NULL;
			snprintf(path, sizeof(path), "/api/v1/audit?record=%lld", (long long)id);
			assert_int_equal(api_call("GET", path, A, NULL, &events), 200);
			bool found = false;
			size_t n;
			json_t *ev;
			json_array_foreach(json_object_get(events, "events"), n, ev) found |=
				str_eq(json_string_value(json_object_get(ev, "action")), "record.create") &&
				str_eq(json_string_value(json_object_get(ev, "purpose")), each[i].purpose);
			if (!found)
				fail_msg("no record.create with its purpose: %s", json_dumps(events, 0));
			json_decref(events);
			/* an update (the designee's) asks for a purpose too */
			snprintf(path, sizeof(path), "/api/v1/records/%lld", (long long)id);
			api_expect(403, "PATCH", path, A,
				   "{\"fields\":{\"reported_to\":\"Children's Division\"}}", "forbidden");
			api_expect(200, "PATCH", path, A,
				   "{\"fields\":{\"reported_to\":\"Children's Division\"},"
				   "\"purpose\":\"follow-up\"}",
				   NULL);
		}
	}
	json_decref(inv);
	assert_int_equal(api_db_count("steward.db", "SELECT COUNT(*) FROM record"), ARRAY_LEN(each));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_category),
	};
	return cmocka_run_group_tests_name("api_categories", tests, setup, teardown);
}
