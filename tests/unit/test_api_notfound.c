/*
 * test_api_notfound.c - what the real server answers for what does not
 * exist: every route of the table that takes an id answers an id that
 * names nothing 404 with a code of its own (record_not_found,
 * user_not_found, ...), and so does every id in a query or a body (to
 * those who may know); a path
 * under /api/v1/ that is no route is 404 no_route whatever its query; and
 * none of it tells anyone what exists that they may not read: a record or
 * a subject one may not read answers exactly as one that does not exist,
 * and so does someone else's API token.
 */
#include "apiclient.h"
#include "server/http.h"

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

/* An id no object has (of any kind), and an API token id none has. */
#define NO_ID "987654321"
#define NO_TOKEN "0123456789abcdef01234567"

/* What each route that takes an id answers when the id names nothing: a
 * body that is valid but for that, and the code. A route of the table with
 * a parameter that is not here fails the test. */
static const struct {
	const char *method, *path, *body, *code;
} missing[] = {
	{"DELETE", "/api/v1/tokens/{token}", NULL, "token_not_found"},
	{"GET", "/api/v1/users/{id}", NULL, "user_not_found"},
	{"PATCH", "/api/v1/users/{id}", "{\"status\":\"disabled\"}", "user_not_found"},
	{"POST", "/api/v1/users/{id}/suspensions",
	 "{\"kind\":\"pending_investigation\",\"reason\":\"a report\"}", "user_not_found"},
	{"DELETE", "/api/v1/users/{id}/suspensions/{suspension}", NULL, "user_not_found"},
	{"DELETE", "/api/v1/users/{id}/lock", NULL, "user_not_found"},
	{"DELETE", "/api/v1/relationships/{id}", NULL, "relationship_not_found"},
	/* a read of a subject is decided like a record's, and whether a person
	 * is known to the district is not told: 403 as for one out of reach
	 * (forbidden, below); a change by those who register subjects is 404 */
	{"GET", "/api/v1/subjects/{id}", NULL, "forbidden"},
	{"PATCH", "/api/v1/subjects/{id}", "{\"given_name\":\"Ada\"}", "subject_not_found"},
	{"GET", "/api/v1/subjects/{id}/records", NULL, "forbidden"},
	{"PATCH", "/api/v1/organizations/{id}", "{\"name\":\"Annex\"}", "organization_not_found"},
	{"POST", "/api/v1/users/{id}/enrollment-code", NULL, "user_not_found"},
	{"POST", "/api/v1/users/{id}/reset", "{\"reason\":\"a lost phone\"}", "user_not_found"},
	{"GET", "/api/v1/records/{id}", NULL, "record_not_found"},
	{"PATCH", "/api/v1/records/{id}", "{\"fields\":{\"grade\":\"A\"}}", "record_not_found"},
	{"DELETE", "/api/v1/records/{id}", NULL, "record_not_found"},
	{"GET", "/api/v1/audit/proof/{sequence}", NULL, "event_not_found"},
};

/* The route's path with every parameter naming nothing. */
static void fill_path(const char *pattern, char *out, size_t size)
{
	struct buf b = BUF_INIT;
	for (const char *p = pattern; *p;) {
		if (*p == '{') {
			const char *end = strchr(p, '}');
			assert_non_null(end);
			buf_puts(&b, str_has_prefix(p, "{token}") ? NO_TOKEN : NO_ID);
			p = end + 1;
		} else {
			buf_putc(&b, *p++);
		}
	}
	assert_int_equal(str_copy(out, size, b.data), ST_OK);
	buf_release(&b);
}

static const char *error_of(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(json_object_get(o, "error"), key));
}

/* Fails unless method path answers 404 with code (and the field, if given). */
static void expect_missing(const char *method, const char *path, const char *token,
			   const char *body, const char *code, const char *field)
{
	json_t *o = NULL;
	long got = api_call(method, path, token, body, &o);
	const char *c = error_of(o, "code"), *f = error_of(o, "field");
	long want = str_eq(code, "forbidden") ? 403 : 404;
	if (got != want || !c || !str_eq(c, code) || (field && (!f || !str_eq(f, field)))) {
		char *dump = o ? json_dumps(o, 0) : xstrdup("(no body)");
		fail_msg("%s %s: %ld %s, wanted %ld %s%s%s", method, path, got, dump, want, code,
			 field ? " naming " : "", field ? field : "");
	}
	json_decref(o);
}

/* The whole answer (status and error) to a request, as text. */
static char *answer_of(const char *method, const char *path, const char *token,
		       const char *body)
{
	json_t *o = NULL;
	long got = api_call(method, path, token, body, &o);
	char *dump = o ? json_dumps(o, JSON_SORT_KEYS) : xstrdup("");
	char *all = xasprintf("%ld %s", got, dump);
	free(dump);
	json_decref(o);
	return all;
}

static void expect_same(const char *what, char *a, char *b)
{
	if (!str_eq(a, b))
		fail_msg("%s: one that exists answers\n  %s\nand one that does not\n  %s", what,
			 a, b);
	free(a);
	free(b);
}

static void test_not_found(void **state)
{
	(void)state;
	struct who admin = {0};
	api_login(&admin, TS_ADMIN, TS_PASSWORD);
	const char *A = admin.token;
	char body[512], path[256], d1[16];

	/* every route of the table that takes an id */
	size_t n = 0;
	const struct route *routes = routes_table(&n);
	size_t checked = 0;
	for (size_t i = 0; i < n; i++) {
		if (!strchr(routes[i].path, '{'))
			continue;
		size_t k = 0;
		while (k < ARRAY_LEN(missing) && !(str_eq(missing[k].method, routes[i].method) &&
						   str_eq(missing[k].path, routes[i].path)))
			k++;
		if (k == ARRAY_LEN(missing))
			fail_msg("%s %s takes an id: say in this test what it answers for one that "
				 "names nothing",
				 routes[i].method, routes[i].path);
		fill_path(routes[i].path, path, sizeof(path));
		expect_missing(routes[i].method, path, A, missing[k].body, missing[k].code, NULL);
		/* an id too large for any object, or zero (events count from
		 * 0), names nothing too; one that no object could have tells
		 * nothing, so even a subject's is 404 */
		const char *never = str_eq(missing[k].code, "forbidden") ? "subject_not_found"
									 : missing[k].code;
		char *big = xasprintf("%s", path);
		char *at = strstr(big, NO_ID);
		if (at) {
			char *other = xasprintf("%.*s99999999999999999999999%s", (int)(at - big), big,
						at + strlen(NO_ID));
			expect_missing(routes[i].method, other, A, missing[k].body, never, NULL);
			free(other);
			if (!strstr(routes[i].path, "{sequence}")) {
				other = xasprintf("%.*s0%s", (int)(at - big), big,
						  at + strlen(NO_ID));
				expect_missing(routes[i].method, other, A, missing[k].body,
					       never, NULL);
				free(other);
			}
		}
		free(big);
		checked++;
	}
	assert_int_equal(checked, ARRAY_LEN(missing));

	/* a suspension that does not exist, of a user who does */
	api_create("/api/v1/organizations", A,
		   "{\"code\":\"school-a\",\"name\":\"A School\",\"kind\":\"school\"}");
	const char *pw = "\"password\":\"kestrel meadow lantern 7\",\"must_change_password\":false";
	snprintf(body, sizeof(body),
		 "{\"username\":\"teach1\",%s,\"display_name\":\"T One\",\"roles\":[\"teacher\"],"
		 "\"organization\":\"school-a\"}",
		 pw);
	int64_t teach1 = api_create("/api/v1/users", A, body);
	snprintf(body, sizeof(body),
		 "{\"username\":\"teach2\",%s,\"display_name\":\"T Two\",\"roles\":[\"teacher\"],"
		 "\"organization\":\"school-a\"}",
		 pw);
	int64_t teach2 = api_create("/api/v1/users", A, body);
	snprintf(path, sizeof(path), "/api/v1/users/%lld/suspensions/" NO_ID, (long long)teach1);
	expect_missing("DELETE", path, A, NULL, "suspension_not_found", NULL);

	/* ids in a query or a body that name nothing: 404 naming the field */
	expect_missing("GET", "/api/v1/policy/what-can?user=" NO_ID, A, NULL, "user_not_found",
		       "user");
	expect_missing("GET", "/api/v1/policy/explain?user=" NO_ID "&record=1", A, NULL,
		       "user_not_found", "user");
	snprintf(path, sizeof(path), "/api/v1/policy/explain?user=%lld&record=" NO_ID,
		 (long long)teach1);
	expect_missing("GET", path, A, NULL, "record_not_found", "record");
	expect_missing("GET", "/api/v1/policy/who-can?subject=" NO_ID, A, NULL,
		       "subject_not_found", "subject");
	snprintf(body, sizeof(body),
		 "{\"user\":" NO_ID ",\"course\":\"student-records-confidentiality\","
		 "\"completed_on\":\"%s\"}",
		 api_day(-10, d1));
	expect_missing("POST", "/api/v1/training/completions", A, body, "user_not_found", "user");
	expect_missing("POST", "/api/v1/relationships", A,
		       "{\"user\":" NO_ID ",\"subject\":1,\"kind\":\"teacher_of\"}", "user_not_found",
		       "user");
	snprintf(body, sizeof(body), "{\"user\":%lld,\"subject\":" NO_ID ",\"kind\":\"teacher_of\"}",
		 (long long)teach1);
	expect_missing("POST", "/api/v1/relationships", A, body, "subject_not_found", "subject");
	expect_missing("POST", "/api/v1/users", A,
		       "{\"username\":\"vendorx\",\"display_name\":\"V\",\"roles\":[\"contractor\"],"
		       "\"kind\":\"contractor\",\"agreement\":" NO_ID "}",
		       "agreement_not_found", "agreement");

	/* a path under /api/v1/ that is no route: 404 no_route, whatever its
	 * query, signed in or not */
	static const char *const nonroutes[] = {
		"/api/v1/nonesuch",
		"/api/v1/",
		"/api/v1/records/search?subject=5",
		"/api/v1/records/search?purpose=x&nonesuch=1",
		"/api/v1/users/me?x=1",
		"/api/v1/records/abc",
		"/api/v1/records/-1",
		"/api/v1/records/1/fields?name=x",
		"/api/v1/tokens/search?x=1",
		"/api/v1/audit/proof/latest?tree_size=3",
		"/api/v1/users/1/suspensions/all?x=1",
	};
	for (size_t i = 0; i < ARRAY_LEN(nonroutes); i++) {
		expect_missing("GET", nonroutes[i], A, NULL, "no_route", NULL);
		expect_missing("GET", nonroutes[i], NULL, NULL, "no_route", NULL);
		expect_missing("POST", nonroutes[i], A, "{}", "no_route", NULL);
	}

	/* What a person who may not read a record sees of one that exists and
	 * of one that does not is the same, word for word, for every way of
	 * asking; and so for subjects, and for someone else's token. */
	snprintf(body, sizeof(body),
		 "{\"user\":%lld,\"course\":\"student-records-confidentiality\","
		 "\"completed_on\":\"%s\"}",
		 (long long)teach1, api_day(-10, d1));
	api_create("/api/v1/training/completions", A, body);
	snprintf(body, sizeof(body),
		 "{\"user\":%lld,\"course\":\"student-records-confidentiality\","
		 "\"completed_on\":\"%s\"}",
		 (long long)teach2, api_day(-10, d1));
	api_create("/api/v1/training/completions", A, body);
	int64_t student = api_create("/api/v1/subjects", A,
				     "{\"kind\":\"student\",\"external_id\":\"SIS-9\",\"given_name\":"
				     "\"Ada\",\"family_name\":\"Byron\",\"organization\":\"school-a\"}");
	snprintf(body, sizeof(body),
		 "{\"user\":%lld,\"subject\":%lld,\"kind\":\"teacher_of\",\"source\":\"class:A\"}",
		 (long long)teach1, (long long)student);
	api_create("/api/v1/relationships", A, body);
	struct who t1 = {0}, t2 = {0};
	api_login(&t1, "teach1", "kestrel meadow lantern 7");
	api_login(&t2, "teach2", "kestrel meadow lantern 7");
	snprintf(body, sizeof(body),
		 "{\"subject\":%lld,\"category\":\"academic\",\"fields\":{\"course\":\"Algebra I\","
		 "\"grade\":\"A\"}}",
		 (long long)student);
	int64_t rec = api_create("/api/v1/records", t1.token, body);
	char there[64], nowhere[64];
	snprintf(there, sizeof(there), "/api/v1/records/%lld", (long long)rec);
	snprintf(nowhere, sizeof(nowhere), "/api/v1/records/" NO_ID);
	static const struct {
		const char *method, *body;
	} asks[] = {{"GET", NULL}, {"PATCH", "{\"fields\":{\"grade\":\"B\"}}"}, {"DELETE", NULL}};
	for (size_t i = 0; i < ARRAY_LEN(asks); i++) {
		char *a = answer_of(asks[i].method, there, t2.token, asks[i].body);
		char *b = answer_of(asks[i].method, nowhere, t2.token, asks[i].body);
		assert_true(str_has_prefix(a, "403 "));
		expect_same(asks[i].method, a, b);
	}
	/* an earlier version, and with a purpose */
	snprintf(path, sizeof(path), "%s?version=1", there);
	expect_same("a version", answer_of("GET", path, t2.token, NULL),
		    answer_of("GET", "/api/v1/records/" NO_ID "?version=1", t2.token, NULL));
	snprintf(path, sizeof(path), "%s?purpose=review", there);
	expect_same("a purpose", answer_of("GET", path, t2.token, NULL),
		    answer_of("GET", "/api/v1/records/" NO_ID "?purpose=review", t2.token, NULL));
	/* both are refusals on record, and one's own log shows them alike */
	snprintf(path, sizeof(path), "/api/v1/audit?user=%lld&record=%lld", (long long)teach2,
		 (long long)rec);
	json_t *o = NULL;
	assert_int_equal(api_call("GET", path, t2.token, NULL, &o), 200);
	json_t *seen = json_array_get(json_object_get(o, "events"), 0);
	assert_non_null(seen);
	json_t *mine = json_deep_copy(seen);
	json_decref(o);
	snprintf(path, sizeof(path), "/api/v1/audit?user=%lld&record=" NO_ID, (long long)teach2);
	o = NULL;
	assert_int_equal(api_call("GET", path, t2.token, NULL, &o), 200);
	seen = json_array_get(json_object_get(o, "events"), 0);
	assert_non_null(seen);
	static const char *const varying[] = {"seq", "time", "record", "request", "session"};
	for (size_t i = 0; i < ARRAY_LEN(varying); i++) {
		json_object_del(mine, varying[i]);
		json_object_del(seen, varying[i]);
	}
	char *x = json_dumps(mine, JSON_SORT_KEYS), *y = json_dumps(seen, JSON_SORT_KEYS);
	expect_same("one's own log", x, y);
	json_decref(mine);
	json_decref(o);
	/* the designee, who reviews access, is told what does not exist */
	expect_missing("GET", "/api/v1/records/" NO_ID "?purpose=review", A, NULL,
		       "record_not_found", NULL);

	/* subjects, to a teacher of another school: read, and named in a new
	 * record (a teacher of the same school reads its students' directory
	 * entries) */
	api_create("/api/v1/organizations", A,
		   "{\"code\":\"school-b\",\"name\":\"B School\",\"kind\":\"school\"}");
	snprintf(body, sizeof(body),
		 "{\"username\":\"teach3\",%s,\"display_name\":\"T Three\",\"roles\":[\"teacher\"],"
		 "\"organization\":\"school-b\"}",
		 pw);
	api_create("/api/v1/users", A, body);
	struct who t3 = {0};
	api_login(&t3, "teach3", "kestrel meadow lantern 7");
	snprintf(path, sizeof(path), "/api/v1/subjects/%lld", (long long)student);
	char *a = answer_of("GET", path, t3.token, NULL);
	if (!str_has_prefix(a, "403 "))
		fail_msg("%s", a);
	expect_same("a subject", a, answer_of("GET", "/api/v1/subjects/" NO_ID, t3.token, NULL));
	const char *fields = "\"category\":\"academic\",\"fields\":{\"course\":\"Art\","
			     "\"grade\":\"B\"}";
	char other[256];
	snprintf(body, sizeof(body), "{\"subject\":%lld,%s}", (long long)student, fields);
	snprintf(other, sizeof(other), "{\"subject\":" NO_ID ",%s}", fields);
	a = answer_of("POST", "/api/v1/records", t3.token, body);
	assert_true(str_has_prefix(a, "403 "));
	expect_same("a new record's subject", a,
		    answer_of("POST", "/api/v1/records", t3.token, other));
	expect_same("a new record's subject (designee)", answer_of("POST", "/api/v1/records", A, body),
		    answer_of("POST", "/api/v1/records", A, other));

	/* someone else's API token is, to anyone who may not manage users,
	 * one that does not exist; to its owner it is revoked */
	o = NULL;
	snprintf(body, sizeof(body), "{\"name\":\"mine\",\"scopes\":[\"records:read\"],"
				     "\"expires\":\"%s\"}",
		 api_day(30, d1));
	assert_int_equal(api_call("POST", "/api/v1/tokens", t1.token, body, &o), 201);
	char token_path[96], token_id[64];
	str_copy(token_id, sizeof(token_id), json_string_value(json_object_get(o, "id")));
	assert_int_equal(strlen(token_id), strlen(NO_TOKEN));
	snprintf(token_path, sizeof(token_path), "/api/v1/tokens/%s", token_id);
	json_decref(o);
	a = answer_of("DELETE", token_path, t2.token, NULL);
	assert_true(str_has_prefix(a, "404 "));
	/* (the answer names the id asked for) */
	char *named = strstr(a, token_id);
	assert_non_null(named);
	memcpy(named, NO_TOKEN, strlen(NO_TOKEN));
	expect_same("a token", a, answer_of("DELETE", "/api/v1/tokens/" NO_TOKEN, t2.token, NULL));
	api_expect(204, "DELETE", token_path, t1.token, NULL, NULL);
}

/* docs/openapi.yaml says so: every operation on a path with a parameter
 * lists its 404. */
static void test_described(void **state)
{
	(void)state;
	char *text = NULL;
	size_t len = 0;
	assert_int_equal(file_read_all(STEWARD_SOURCE_DIR "/docs/openapi.yaml", 1 << 22, &text, &len,
				       NULL),
			 ST_OK);
	size_t n = 0;
	const struct route *routes = routes_table(&n);
	for (size_t i = 0; i < n; i++) {
		if (!strchr(routes[i].path, '{'))
			continue;
		char key[160], method[16];
		snprintf(key, sizeof(key), "\n  \"%s\":\n", routes[i].path);
		const char *at = strstr(text, key);
		if (!at)
			fail_msg("%s is not in docs/openapi.yaml", routes[i].path);
		/* the path's block ends at the next path (or section) */
		const char *end = at + strlen(key);
		while ((end = strchr(end, '\n')) && str_has_prefix(end + 1, "   "))
			end++;
		str_copy(method, sizeof(method), routes[i].method);
		for (char *c = method; *c; c++)
			*c = (char)(*c + 32);
		char op[24];
		snprintf(op, sizeof(op), "\n    %s:\n", method);
		const char *o = strstr(at, op);
		if (!o || (end && o > end))
			fail_msg("%s %s is not in docs/openapi.yaml", routes[i].method, routes[i].path);
		/* the operation's block ends at the next operation of the path */
		const char *oend = o + strlen(op);
		while ((oend = strchr(oend, '\n')) && (!end || oend < end) &&
		       str_has_prefix(oend + 1, "     "))
			oend++;
		char *block = xstrndup(o, (size_t)((oend && (!end || oend < end) ? oend : end) - o));
		if (!strstr(block, "\"404\":\n          \"$ref\": \"#/components/responses/NotFound\""))
			fail_msg("docs/openapi.yaml: %s %s does not list its 404 (NotFound)",
				 routes[i].method, routes[i].path);
		free(block);
	}
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_described),
		cmocka_unit_test_setup_teardown(test_not_found, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
