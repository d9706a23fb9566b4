/*
 * test_api.c - the real server on 127.0.0.1, driven over HTTP as its
 * clients would: signing in with multi-factor enrolment, a route x role
 * matrix of status codes, bad input refused naming the field with nothing
 * written, forged, revoked and expired tokens, API-token scopes, lockout,
 * CSRF, a suspension ending an open session on its very next request, a
 * one-time password, and every refused attempt in the access log; then a
 * clean stop with a final signed checkpoint.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#include "apiclient.h"
#include "audit/audit.h"
#include "core/context.h"
#include "crypto/crypto.h"


static int setup(void **state)
{
	(void)state;
	static const char *const args[] = {"--lock-after", "5", NULL};
	api_server_start(args);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	api_server_stop();
	return 0;
}

/* Sends a GET and closes the connection without reading the answer. */
static void send_and_leave(const char *path, const char *token)
{
	int fd = api_connect_raw();
	char req[512];
	int n = snprintf(req, sizeof(req),
			 "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n\r\n",
			 path, token);
	assert_int_equal(write(fd, req, (size_t)n), n);
	close(fd);
}

/* A client that repeats one GET until the server is gone. */
struct load {
	const char *path, *token;
	bool keep_alive;       /* one connection for every request */
	atomic_int ok;         /* answered 200 */
	atomic_int unexpected; /* answered otherwise (but 503 shutting down) */
};

static size_t on_load_body(char *d, size_t sz, size_t n, void *ctx)
{
	buf_append(ctx, d, sz * n);
	return sz * n;
}

static void *load_main(void *arg)
{
	struct load *l = arg;
	char url[256], auth[200];
	snprintf(url, sizeof(url), "%s%s", api_base, l->path);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", l->token);
	CURL *c = NULL;
	struct curl_slist *h = curl_slist_append(NULL, auth);
	for (;;) {
		if (!c)
			c = curl_easy_init();
		struct buf body = BUF_INIT;
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_load_body);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
		curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
		CURLcode cc = curl_easy_perform(c);
		long st = 0;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
		if (!l->keep_alive || cc != CURLE_OK) {
			curl_easy_cleanup(c);
			c = NULL;
		}
		json_error_t je;
		json_t *o = body.len ? json_loadb(body.data, body.len, 0, &je) : NULL;
		buf_release(&body);
		const char *code = json_string_value(
			json_object_get(json_object_get(o, "error"), "code"));
		bool stopping = st == 503 && code && str_eq(code, "shutting_down");
		json_decref(o);
		if (cc != CURLE_OK)
			break; /* the server has stopped listening */
		if (st == 200)
			atomic_fetch_add(&l->ok, 1);
		else if (!stopping)
			atomic_fetch_add(&l->unexpected, 1);
	}
	if (c)
		curl_easy_cleanup(c);
	curl_slist_free_all(h);
	return NULL;
}

static int load_answered(struct load *l, int n)
{
	int sum = 0;
	for (int i = 0; i < n; i++)
		sum += atomic_load(&l[i].ok);
	return sum;
}

static void test_api(void **state)
{
	(void)state;
	char path[256], body[1024];
	api_expect(200, "GET", "/api/v1/health", NULL, NULL, NULL);
	api_expect(404, "GET", "/api/v1/nonesuch", NULL, NULL, "no_route");
	api_expect(401, "GET", "/api/v1/users/1", NULL, NULL, "unauthenticated");

	/* the administrator: must enrol before anything else */
	struct who admin = {0};
	struct resp r = api_sign_in(TS_ADMIN, "the wrong password", NULL);
	assert_int_equal(r.status, 401);
	json_decref(r.json);
	r = api_sign_in(TS_ADMIN, TS_PASSWORD, NULL);
	assert_int_equal(r.status, 201);
	assert_true(json_is_true(json_object_get(r.json, "mfa_enrollment_required")));
	str_copy(admin.token, sizeof(admin.token), json_string_value(json_object_get(r.json, "token")));
	json_decref(r.json);
	api_expect(403, "GET", "/api/v1/users/1", admin.token, NULL, "mfa_enrollment_required");
	/* enrolment needs the one-time code that `steward init` issued */
	api_expect(400, "POST", "/api/v1/mfa/totp", admin.token, NULL, "missing_field");
	api_expect(400, "POST", "/api/v1/mfa/totp", admin.token,
		   "{\"enrollment_code\":\"aaaa-bbbb-cccc-dddd\"}", "bad_enrollment_code");
	api_expect(400, "POST", "/api/v1/mfa/totp", admin.token, "{\"enrollment_code\":5}", "wrong_type");
	api_expect(400, "POST", "/api/v1/mfa/totp", admin.token, "{\"code\":\"x\"}", "unknown_field");
	json_t *o = NULL;
	snprintf(body, sizeof(body), "{\"enrollment_code\":\"%s\"}", api_admin_enrollment_code);
	api_admin_enrollment_code[0] = '\0';
	assert_int_equal(api_call("POST", "/api/v1/mfa/totp", admin.token, body, &o), 201);
	size_t n = 0;
	assert_int_equal(base32_decode(json_string_value(json_object_get(o, "secret")), admin.secret, 20, &n), ST_OK);
	char recovery[16];
	str_copy(recovery, sizeof(recovery), json_string_value(json_array_get(json_object_get(o, "recovery_codes"), 0)));
	json_decref(o);
	api_expect(400, "POST", "/api/v1/mfa/totp/confirm", admin.token, "{\"code\":\"000000\"}", "bad_totp");
	admin.step = (uint64_t)time_now() / 30;
	char code[16];
	api_code_for(&admin, admin.step, code);
	snprintf(body, sizeof(body), "{\"code\":\"%s\"}", code);
	api_expect(200, "POST", "/api/v1/mfa/totp/confirm", admin.token, body, NULL);
	api_expect(200, "GET", "/api/v1/users/1", admin.token, NULL, NULL);
	str_copy(api_issuer, sizeof(api_issuer), admin.token);
	/* from now on sign-in needs the code; a used code does not work twice */
	r = api_sign_in(TS_ADMIN, TS_PASSWORD, NULL);
	assert_int_equal(r.status, 401);
	assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "error"), "code")), "totp_required");
	json_decref(r.json);
	r = api_sign_in(TS_ADMIN, TS_PASSWORD, code);
	assert_int_equal(r.status, 401);
	json_decref(r.json);
	r = api_sign_in(TS_ADMIN, TS_PASSWORD, recovery);
	assert_int_equal(r.status, 201);
	assert_true(json_is_true(json_object_get(r.json, "mfa")));
	json_decref(r.json);
	r = api_sign_in(TS_ADMIN, TS_PASSWORD, recovery); /* spent */
	assert_int_equal(r.status, 401);
	json_decref(r.json);
	const char *A = admin.token;

	/* the district */
	api_create("/api/v1/organizations", A, "{\"code\":\"school-a\",\"name\":\"A School\",\"kind\":\"school\"}");
	char d1[16], d2[16];
	snprintf(body, sizeof(body),
		 "{\"vendor\":\"Acme Learning\",\"categories\":[\"academic\"],"
		 "\"organizations\":[\"school-a\"],\"start\":\"%s\",\"end\":\"%s\"}",
		 api_day(-300, d1), api_day(3 * 365, d2));
	int64_t agreement = api_create("/api/v1/agreements", A, body);
	/* these users choose nothing: the test signs in with the password the
	 * administrator set (by default that password is one-time) */
	const char *pw = "\"password\":\"kestrel meadow lantern 7\",\"must_change_password\":false";
	snprintf(body, sizeof(body), "{\"username\":\"teach1\",%s,\"display_name\":\"T One\",\"roles\":[\"teacher\"],\"organization\":\"school-a\"}", pw);
	int64_t teach1 = api_create("/api/v1/users", A, body);
	snprintf(body, sizeof(body), "{\"username\":\"teach2\",%s,\"display_name\":\"T Two\",\"roles\":[\"teacher\"],\"organization\":\"school-a\"}", pw);
	int64_t teach2 = api_create("/api/v1/users", A, body);
	snprintf(body, sizeof(body), "{\"username\":\"nurse1\",%s,\"display_name\":\"N One\",\"roles\":[\"nurse\"],\"organization\":\"school-a\"}", pw);
	int64_t nurse1 = api_create("/api/v1/users", A, body);
	snprintf(body, sizeof(body), "{\"username\":\"nurse2\",%s,\"display_name\":\"N Two\",\"roles\":[\"nurse\"],\"organization\":\"school-a\"}", pw);
	int64_t nurse2 = api_create("/api/v1/users", A, body);
	snprintf(body, sizeof(body), "{\"username\":\"it1\",%s,\"display_name\":\"I One\",\"roles\":[\"it_admin\"]}", pw);
	int64_t it1 = api_create("/api/v1/users", A, body);
	snprintf(body, sizeof(body), "{\"username\":\"vendor1\",%s,\"display_name\":\"V One\",\"roles\":[\"contractor\"],\"kind\":\"contractor\",\"agreement\":%lld,\"organization\":\"school-a\"}", pw, (long long)agreement);
	int64_t vendor1 = api_create("/api/v1/users", A, body);
	snprintf(body, sizeof(body), "{\"username\":\"newbie\",%s,\"display_name\":\"New\",\"roles\":[\"teacher\"],\"must_change_password\":true}", "\"password\":\"kestrel meadow lantern 7\"");
	api_create("/api/v1/users", A, body);
	snprintf(body, sizeof(body), "{\"username\":\"locky\",%s,\"display_name\":\"L\",\"roles\":[\"teacher\"]}", pw);
	api_create("/api/v1/users", A, body);
	/* whose sign-in the matrix resets, and who gets enrolment codes */
	snprintf(body, sizeof(body), "{\"username\":\"resetme\",%s,\"display_name\":\"R\",\"roles\":[\"teacher\"]}", pw);
	int64_t resetme = api_create("/api/v1/users", A, body);
	snprintf(body, sizeof(body), "{\"username\":\"codeme\",%s,\"display_name\":\"C\",\"roles\":[\"teacher\"]}", pw);
	int64_t codeme = api_create("/api/v1/users", A, body);
	int64_t people[] = {teach1, teach2, nurse1, nurse2, vendor1};
	for (size_t i = 0; i < ARRAY_LEN(people); i++) {
		snprintf(body, sizeof(body), "{\"user\":%lld,\"course\":\"student-records-confidentiality\",\"completed_on\":\"%s\"}", (long long)people[i], api_day(-60, d1));
		api_create("/api/v1/training/completions", A, body);
	}
	int64_t student = api_create("/api/v1/subjects", A,
				 "{\"kind\":\"student\",\"external_id\":\"SIS-9\",\"given_name\":\"Ada\","
				 "\"family_name\":\"Byron\",\"organization\":\"school-a\"}");
	for (int64_t t = teach1; t <= teach2; t++) {
		snprintf(body, sizeof(body), "{\"user\":%lld,\"subject\":%lld,\"kind\":\"teacher_of\",\"source\":\"class:ALG1\"}", (long long)t, (long long)student);
		api_create("/api/v1/relationships", A, body);
	}
	/* the sessions of the matrix; records are kept by those whose work
	 * they are (the designee may read, not write, grades) */
	struct who t1 = {0}, n1 = {0}, n1mfa = {0}, it = {0}, v1 = {0};
	api_login(&t1, "teach1", "kestrel meadow lantern 7");
	api_login(&n1mfa, "nurse1", "kestrel meadow lantern 7");
	api_enroll(&n1mfa);
	/* a nurse's session without multi-factor (nurse2 has not enrolled;
	 * nurse1's sessions opened before enrolling ended when she did) */
	api_login(&n1, "nurse2", "kestrel meadow lantern 7");
	api_login(&it, "it1", "kestrel meadow lantern 7");
	/* multi-factor is required of every contractor account, not of a teacher */
	r = api_sign_in("vendor1", "kestrel meadow lantern 7", NULL);
	assert_int_equal(r.status, 201);
	assert_true(json_is_true(json_object_get(r.json, "mfa_enrollment_required")));
	json_decref(r.json);
	r = api_sign_in("teach2", "kestrel meadow lantern 7", NULL);
	assert_int_equal(r.status, 201);
	assert_null(json_object_get(r.json, "mfa_enrollment_required"));
	json_decref(r.json);
	api_login(&v1, "vendor1", "kestrel meadow lantern 7");
	snprintf(body, sizeof(body), "{\"subject\":%lld,\"category\":\"academic\",\"fields\":{\"course\":\"Algebra I\",\"grade\":\"A\"}}", (long long)student);
	api_expect(403, "POST", "/api/v1/records", A, body, "forbidden");
	int64_t academic = api_create("/api/v1/records", t1.token, body);
	snprintf(body, sizeof(body), "{\"subject\":%lld,\"category\":\"health\",\"fields\":{\"conditions\":\"asthma\"}}", (long long)student);
	api_expect(403, "POST", "/api/v1/records", n1.token, body, "forbidden");
	int64_t health = api_create("/api/v1/records", n1mfa.token, body);
	char rec_a[64], rec_h[64], rec_ap[96], audit_other[64], audit_self[64], who_subj[96];
	snprintf(rec_a, sizeof(rec_a), "/api/v1/records/%lld", (long long)academic);
	snprintf(rec_h, sizeof(rec_h), "/api/v1/records/%lld", (long long)health);
	snprintf(rec_ap, sizeof(rec_ap), "/api/v1/records/%lld?purpose=enrollment+review", (long long)academic);
	snprintf(audit_other, sizeof(audit_other), "/api/v1/audit?user=%lld", (long long)teach2);
	snprintf(audit_self, sizeof(audit_self), "/api/v1/audit?user=%lld", (long long)teach1);
	snprintf(who_subj, sizeof(who_subj), "/api/v1/policy/who-can?subject=%lld", (long long)student);
	const char *new_account = "{\"username\":\"y%d\",\"display_name\":\"Y\"}";
	const char *new_teacher = "{\"username\":\"x%d\",\"password\":\"quartz harbor violin 88\",\"display_name\":\"X\",\"roles\":[\"teacher\"]}";
	char user_t2[64], rel_body[160], train_body[160], reset_path[64], code_path[80];
	const char *reset_body = "{\"reason\":\"lost phone; identity checked in person\"}";
	snprintf(reset_path, sizeof(reset_path), "/api/v1/users/%lld/reset", (long long)resetme);
	snprintf(code_path, sizeof(code_path), "/api/v1/users/%lld/enrollment-code", (long long)codeme);
	snprintf(user_t2, sizeof(user_t2), "/api/v1/users/%lld", (long long)teach2);
	snprintf(rel_body, sizeof(rel_body), "{\"user\":%lld,\"subject\":%lld,\"kind\":\"caseload\"}",
		 (long long)teach1, (long long)student);
	snprintf(train_body, sizeof(train_body),
		 "{\"user\":%lld,\"course\":\"student-records-confidentiality\",\"completed_on\":\"%s\"}",
		 (long long)teach2, api_day(-30, d1));
	char subj_path[64];
	snprintf(subj_path, sizeof(subj_path), "/api/v1/subjects/%lld", (long long)student);
	const char *export_body = "{\"from\":\"2026-01-01\",\"to\":\"2030-01-01\"}";
	const char *subject_body = "{\"kind\":\"student\",\"external_id\":\"SIS-77\",\"given_name\":\"Mo\","
				   "\"family_name\":\"Lee\",\"organization\":\"school-a\"}";
	char agreement_body[256];
	snprintf(agreement_body, sizeof(agreement_body),
		 "{\"vendor\":\"Other Co\",\"categories\":[\"academic\"],"
		 "\"organizations\":[\"school-a\"],\"start\":\"%s\",\"end\":\"%s\"}",
		 api_day(-300, d1), api_day(365, d2));
	struct {
		const char *who_name;
		const char *token;
		const char *method, *path, *body;
		long status;
	} matrix[] = {
		{"teacher", t1.token, "GET", rec_a, NULL, 200},
		{"teacher", t1.token, "GET", rec_h, NULL, 403},
		{"teacher", t1.token, "PATCH", rec_a, "{\"fields\":{\"grade\":\"A-\"}}", 200},
		{"teacher", t1.token, "POST", "/api/v1/users", new_teacher, 403},
		{"teacher", t1.token, "PUT", "/api/v1/policy", "{}", 403},
		{"teacher", t1.token, "GET", audit_other, NULL, 403},
		{"teacher", t1.token, "GET", audit_self, NULL, 200},
		{"teacher", t1.token, "GET", "/api/v1/policy/who-can?category=special_education", NULL, 200},
		{"teacher", t1.token, "GET", who_subj, NULL, 403},
		{"nurse", n1.token, "GET", rec_h, NULL, 403}, /* no multi-factor in this session */
		{"nurse", n1.token, "GET", rec_a, NULL, 403},
		{"it_admin", it.token, "GET", rec_a, NULL, 403},
		/* accounts are IT's; conferring access to records is the designee's */
		{"it_admin", it.token, "POST", "/api/v1/users", new_teacher, 403},
		{"it_admin", it.token, "POST", "/api/v1/users", new_account, 201},
		{"designee", A, "POST", "/api/v1/users", new_teacher, 201},
		{"it_admin", it.token, "POST", "/api/v1/relationships", rel_body, 403},
		{"it_admin", it.token, "GET", "/api/v1/audit", NULL, 403},
		{"it_admin", it.token, "GET", "/api/v1/organizations", NULL, 200},
		{"teacher", t1.token, "GET", "/api/v1/organizations", NULL, 403},
		{"contractor", v1.token, "GET", rec_a, NULL, 200},
		{"contractor", v1.token, "GET", rec_h, NULL, 403},
		{"contractor", v1.token, "POST", "/api/v1/users", new_teacher, 403},
		{"designee", A, "GET", rec_ap, NULL, 200},
		{"designee", A, "GET", rec_a, NULL, 403}, /* no purpose stated */
		{"designee", A, "GET", audit_other, NULL, 200},
		{"designee", A, "GET", who_subj, NULL, 200},
		{"designee", A, "GET", "/api/v1/policy", NULL, 200},
		/* administration, route by route */
		{"teacher", t1.token, "GET", "/api/v1/inventory", NULL, 200},
		{"teacher", t1.token, "PUT", "/api/v1/inventory", "{}", 403},
		{"teacher", t1.token, "GET", "/api/v1/audit/checkpoint", NULL, 403},
		{"it_admin", it.token, "GET", "/api/v1/audit/checkpoint", NULL, 403},
		{"designee", A, "GET", "/api/v1/audit/checkpoint", NULL, 200},
		{"teacher", t1.token, "GET", "/api/v1/audit/proof/1", NULL, 403},
		{"designee", A, "GET", "/api/v1/audit/proof/1", NULL, 200},
		{"teacher", t1.token, "POST", "/api/v1/audit/export", export_body, 403},
		{"it_admin", it.token, "POST", "/api/v1/audit/export", export_body, 403},
		{"teacher", t1.token, "POST", "/api/v1/subjects", subject_body, 403},
		{"contractor", v1.token, "POST", "/api/v1/subjects", subject_body, 403},
		{"it_admin", it.token, "POST", "/api/v1/subjects", subject_body, 201},
		{"teacher", t1.token, "POST", "/api/v1/relationships", rel_body, 403},
		{"teacher", t1.token, "POST", "/api/v1/agreements", agreement_body, 403},
		{"it_admin", it.token, "POST", "/api/v1/agreements", agreement_body, 403},
		{"designee", A, "POST", "/api/v1/agreements", agreement_body, 201},
		{"teacher", t1.token, "POST", "/api/v1/training/completions", train_body, 403},
		{"it_admin", it.token, "POST", "/api/v1/training/completions", train_body, 403},
		{"teacher", t1.token, "GET", user_t2, NULL, 403},
		{"contractor", v1.token, "GET", user_t2, NULL, 403},
		{"it_admin", it.token, "GET", user_t2, NULL, 200},
		{"teacher", t1.token, "GET", "/api/v1/tokens", NULL, 200},
		/* sign-in credentials: the users power, over no one more powerful */
		{"teacher", t1.token, "POST", code_path, NULL, 403},
		{"nurse", n1mfa.token, "POST", code_path, NULL, 403},
		{"contractor", v1.token, "POST", code_path, NULL, 403},
		{"it_admin", it.token, "POST", code_path, NULL, 201},
		{"designee", A, "POST", code_path, NULL, 201},
		{"it_admin", it.token, "POST", "/api/v1/users/1/enrollment-code", NULL, 403},
		{"teacher", t1.token, "POST", reset_path, reset_body, 403},
		{"nurse", n1mfa.token, "POST", reset_path, reset_body, 403},
		{"contractor", v1.token, "POST", reset_path, reset_body, 403},
		{"it_admin", it.token, "POST", "/api/v1/users/1/reset", reset_body, 403},
		{"it_admin", it.token, "POST", reset_path, reset_body, 200},
		{"designee", A, "POST", reset_path, reset_body, 200},
		{"designee", A, "POST", "/api/v1/users/1/reset", reset_body, 403},
		/* a subject is read through the decision: it_admin registers, reads none */
		{"teacher", t1.token, "GET", subj_path, NULL, 200},
		{"it_admin", it.token, "GET", subj_path, NULL, 403},
		{"teacher", t1.token, "GET", "/api/v1/users", NULL, 403},
		{"it_admin", it.token, "GET", "/api/v1/users", NULL, 200},
		{"teacher", t1.token, "GET", "/api/v1/relationships", NULL, 403},
	};
	for (size_t i = 0; i < ARRAY_LEN(matrix); i++) {
		char b[512] = "";
		if (matrix[i].body == new_teacher)
			snprintf(b, sizeof(b),
				 "{\"username\":\"x%d\",\"password\":\"quartz harbor violin 88\","
				 "\"display_name\":\"X\",\"roles\":[\"teacher\"]}",
				 (int)i);
		else if (matrix[i].body == new_account)
			snprintf(b, sizeof(b), "{\"username\":\"y%d\",\"display_name\":\"Y\"}",
				 (int)i);
		else if (matrix[i].body)
			str_copy(b, sizeof(b), matrix[i].body);
		json_t *out = NULL;
		long got = api_call(matrix[i].method, matrix[i].path, matrix[i].token,
				matrix[i].body ? b : NULL, &out);
		if (got != matrix[i].status) {
			char *dump = out ? json_dumps(out, 0) : xstrdup("");
			fail_msg("%s %s %s: %ld (%s), wanted %ld", matrix[i].who_name, matrix[i].method,
				 matrix[i].path, got, dump, matrix[i].status);
		}
		if (got == 403 && !strstr(matrix[i].path, "policy")) {
			/* a refusal carries the decision's reason */
			const char *msg = json_string_value(json_object_get(json_object_get(out, "error"), "message"));
			assert_true(msg && strlen(msg) > 10);
		}
		json_decref(out);
	}
	o = NULL;
	assert_int_equal(api_call("GET", rec_h, n1.token, NULL, &o), 403);
	assert_non_null(strstr(json_string_value(json_object_get(json_object_get(o, "error"), "message")), "multi-factor"));
	json_decref(o);
	/* a refusal for want of need-to-know does not say what the record is:
	 * record ids must not map who has a health file; the log says it all */
	o = NULL;
	assert_int_equal(api_call("GET", rec_h, t1.token, NULL, &o), 403);
	const char *why = json_string_value(json_object_get(json_object_get(o, "error"), "message"));
	assert_non_null(strstr(why, "need-to-know"));
	assert_null(strstr(why, "health"));
	json_decref(o);
	assert_true(api_logged("record.read", "deny", "read health records needs"));
	/* nor whether a version exists */
	char q[160];
	snprintf(q, sizeof(q), "%s?version=99", rec_h);
	api_expect(403, "GET", q, t1.token, NULL, "forbidden");
	snprintf(q, sizeof(q), "%s?version=99&purpose=care", rec_h);
	api_expect(404, "GET", q, n1mfa.token, NULL, NULL);
	/* nor does one's own access log: the refusal as it was given */
	snprintf(q, sizeof(q), "/api/v1/audit?user=%lld&record=%lld", (long long)teach1, (long long)health);
	o = NULL;
	assert_int_equal(api_call("GET", q, t1.token, NULL, &o), 200);
	json_t *evs = json_object_get(o, "events");
	assert_true(json_array_size(evs) >= 1);
	size_t k;
	json_t *one;
	json_array_foreach(evs, k, one) {
		assert_string_equal(json_string_value(json_object_get(one, "outcome")), "deny");
		assert_null(json_object_get(one, "category"));
		assert_null(json_object_get(one, "subject"));
		assert_null(json_object_get(one, "rule"));
		assert_null(strstr(json_string_value(json_object_get(one, "reason")), "health"));
	}
	json_decref(o);
	/* the designee, who may read accounts, sees who acted: name and position */
	snprintf(q, sizeof(q), "/api/v1/audit?user=%lld&limit=1", (long long)teach1);
	o = NULL;
	assert_int_equal(api_call("GET", q, A, NULL, &o), 200);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(o, "events"), 0),
							      "user_display_name")),
			    "T One");
	assert_non_null(json_object_get(json_array_get(json_object_get(o, "events"), 0), "user_position"));
	json_decref(o);
	snprintf(q, sizeof(q), "/api/v1/audit?user=%lld&subject=%lld", (long long)teach1, (long long)student);
	api_expect(400, "GET", q, t1.token, NULL, "bad_value");
	/* nor does asking why of oneself: no category, no subject, and an
	 * unknown record answers the same as one out of reach */
	snprintf(q, sizeof(q), "/api/v1/policy/explain?user=%lld&record=%lld", (long long)teach1,
		 (long long)health);
	o = NULL;
	assert_int_equal(api_call("GET", q, t1.token, NULL, &o), 200);
	assert_true(json_is_false(json_object_get(o, "allow")));
	assert_null(json_object_get(o, "category"));
	assert_null(json_object_get(o, "subject"));
	assert_null(json_object_get(o, "rule"));
	char *unreachable = json_dumps(json_object_get(o, "reason"), JSON_ENCODE_ANY);
	json_decref(o);
	snprintf(q, sizeof(q), "/api/v1/policy/explain?user=%lld&record=987654", (long long)teach1);
	o = NULL;
	assert_int_equal(api_call("GET", q, t1.token, NULL, &o), 200);
	char *unknown = json_dumps(json_object_get(o, "reason"), JSON_ENCODE_ANY);
	assert_string_equal(unreachable, unknown);
	free(unreachable);
	free(unknown);
	json_decref(o);
	/* a record one may read is explained in full */
	snprintf(q, sizeof(q), "/api/v1/policy/explain?user=%lld&record=%lld", (long long)teach1,
		 (long long)academic);
	o = NULL;
	assert_int_equal(api_call("GET", q, t1.token, NULL, &o), 200);
	assert_string_equal(json_string_value(json_object_get(o, "category")), "academic");
	json_decref(o);
	/* it_admin may not hand out the designee's powers */
	api_expect(403, "POST", "/api/v1/users", it.token,
	       "{\"username\":\"boss\",\"display_name\":\"B\",\"roles\":[\"designee\"]}", "forbidden");
	/* a contractor's read is recorded as a disclosure */
	assert_int_equal(api_call("GET", rec_a, v1.token, NULL, &o), 200);
	assert_true(json_is_true(json_object_get(o, "disclosure_recorded")));
	json_decref(o);

	/* bad input: refused, naming the field, nothing written */
	int64_t users_before = api_db_count("steward.db", "SELECT COUNT(*) FROM app_user");
	api_expect(400, "POST", "/api/v1/users", A, "{\"username\":", "bad_json");
	api_expect(400, "POST", "/api/v1/users", A, "[1,2]", "bad_json");
	o = NULL;
	assert_int_equal(api_call("POST", "/api/v1/users", A, "{\"username\":\"u9\",\"display_name\":5,\"roles\":[\"teacher\"]}", &o), 400);
	assert_string_equal(json_string_value(json_object_get(json_object_get(o, "error"), "field")), "display_name");
	json_decref(o);
	assert_int_equal(api_call("POST", "/api/v1/users", A, "{\"username\":\"u9\",\"display_name\":\"U\",\"roles\":[\"teacher\"],\"colour\":\"red\"}", &o), 400);
	assert_string_equal(json_string_value(json_object_get(json_object_get(o, "error"), "field")), "colour");
	json_decref(o);
	assert_int_equal(api_call("POST", "/api/v1/users", A, "{\"username\":\"u9\",\"display_name\":\"U\",\"roles\":[\"janitor\"]}", &o), 400);
	assert_string_equal(json_string_value(json_object_get(json_object_get(o, "error"), "field")), "roles");
	json_decref(o);
	r = api_request("POST", "/api/v1/users", A, "{}", 2, "text/plain", NULL, NULL);
	assert_int_equal(r.status, 415);
	json_decref(r.json);
	size_t big = 2 * 1024 * 1024;
	char *huge = xmalloc(big);
	memset(huge, ' ', big);
	huge[0] = '{';
	huge[big - 1] = '}';
	/* Refused whether the client sends the body at once (it is read and
	 * dropped, so the answer is not lost to a reset connection) or waits
	 * for "100 Continue" (answered before the body is sent). */
	for (int expect = 0; expect < 2; expect++) {
		api_expect_continue = expect;
		r = api_request("POST", "/api/v1/users", A, huge, big, "application/json", NULL, NULL);
		assert_int_equal(r.status, 413);
		assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "error"), "code")), "too_large");
		json_decref(r.json);
	}
	api_expect_continue = false;
	free(huge);
	snprintf(body, sizeof(body), "{\"subject\":%lld,\"category\":\"academic\",\"fields\":{\"course\":\"Art\",\"shoe_size\":9}}", (long long)student);
	assert_int_equal(api_call("POST", "/api/v1/records", A, body, &o), 400);
	assert_string_equal(json_string_value(json_object_get(json_object_get(o, "error"), "field")), "fields.shoe_size");
	json_decref(o);
	assert_int_equal(api_db_count("steward.db", "SELECT COUNT(*) FROM app_user"), users_before);
	assert_int_equal(api_db_count("steward.db", "SELECT COUNT(*) FROM record"), 2);
	api_expect(404, "GET", "/api/v1/records/99999", A, NULL, NULL);
	/* a misspelled or unknown query parameter is refused by name, before
	 * anything is read; open endpoints (health) do not mind one */
	r = api_request("GET", "/api/v1/records/1?purpos=care", A, NULL, 0, NULL, NULL, NULL);
	assert_int_equal(r.status, 400);
	assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "error"), "code")), "unknown_parameter");
	assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "error"), "field")), "purpos");
	json_decref(r.json);
	api_expect(400, "GET", "/api/v1/users/1?verbose=1", A, NULL, "unknown_parameter");
	api_expect(200, "GET", "/api/v1/health?probe=1", NULL, NULL, NULL);
	api_expect(404, "GET", "/api/v1/records/abc", A, NULL, NULL);
	api_expect(405, "PUT", "/api/v1/records/1", A, "{}", "method_not_allowed");
	/* each of these attempts is on record: who, where, what was wrong (never the input) */
	assert_true(api_logged("request.invalid", "deny", "POST /api/v1/users"));
	assert_true(api_logged("request.invalid", "deny", "GET /api/v1/records/{id}"));
	assert_true(api_logged("request.invalid", "deny", "bad_json"));
	assert_true(api_logged("request.invalid", "deny", "unknown_field"));
	/* a value sent in broken JSON, a key that is no field: neither is kept */
	api_expect(400, "POST", "/api/v1/records", A,
		   "{\"subject\":1,\"category\":\"payroll\",\"fields\":{\"ssn\":\"078-05-1120\\x\"}}", "bad_json");
	api_expect(400, "POST", "/api/v1/users", A,
		   "{\"username\":\"u9\",\"display_name\":\"U\",\"roles\":[\"teacher\"],\"hunter2-as-a-key\":1}",
		   NULL);
	assert_int_equal(api_db_count("audit.db", "SELECT COUNT(*) FROM audit_event WHERE "
						  "CAST(entry AS TEXT) LIKE '%078-05-1120%' OR "
						  "CAST(entry AS TEXT) LIKE '%hunter2%'"),
			 0);

	/* roles and status change together or not at all */
	int64_t patchy = api_create("/api/v1/users", A,
				    "{\"username\":\"patchy\",\"password\":\"kestrel meadow lantern 7\","
				    "\"must_change_password\":false,\"display_name\":\"P\",\"roles\":[\"teacher\"]}");
	/* an allowed act the data refuses is recorded too */
	api_expect(409, "POST", "/api/v1/users", A,
		   "{\"username\":\"patchy\",\"password\":\"kestrel meadow lantern 7\","
		   "\"display_name\":\"P2\",\"roles\":[\"teacher\"]}",
		   NULL);
	assert_true(api_logged("user.create", "error", "patchy"));
	char upath[64];
	snprintf(upath, sizeof(upath), "/api/v1/users/%lld", (long long)patchy);
	api_expect(400, "PATCH", upath, A, "{\"roles\":[\"nurse\"],\"status\":\"bogus\"}", "bad_value");
	o = NULL;
	assert_int_equal(api_call("GET", upath, A, NULL, &o), 200);
	assert_string_equal(json_string_value(json_array_get(json_object_get(o, "roles"), 0)), "teacher");
	json_decref(o);
	api_expect(200, "PATCH", upath, A, "{\"roles\":[\"nurse\"],\"status\":\"disabled\"}", NULL);
	o = NULL;
	assert_int_equal(api_call("GET", upath, A, NULL, &o), 200);
	assert_string_equal(json_string_value(json_array_get(json_object_get(o, "roles"), 0)), "nurse");
	assert_string_equal(json_string_value(json_object_get(o, "status")), "disabled");
	json_decref(o);
	r = api_sign_in("patchy", "kestrel meadow lantern 7", NULL);
	assert_int_equal(r.status, 401);
	json_decref(r.json);
	assert_true(api_logged("user.update", "allow", "disabled"));
	assert_true(api_logged("user.read", "allow", ""));

	/* tokens: forged, revoked, scoped */
	api_expect(401, "GET", "/api/v1/sessions/current", "stw_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL, "bad_token");
	api_expect(401, "GET", "/api/v1/sessions/current", "not a token!", NULL, "bad_token");
	o = NULL;
	char until[16], token_body[160];
	snprintf(token_body, sizeof(token_body), "{\"name\":\"sis sync\",\"scopes\":[\"records:read\"],\"expires\":\"%s\"}", api_day(180, until));
	assert_int_equal(api_call("POST", "/api/v1/tokens", A, token_body, &o), 201);
	char api[128], api_id[64];
	str_copy(api, sizeof(api), json_string_value(json_object_get(o, "token")));
	str_copy(api_id, sizeof(api_id), json_string_value(json_object_get(o, "id")));
	json_decref(o);
	api_expect(200, "GET", rec_ap, api, NULL, NULL);
	api_expect(403, "POST", "/api/v1/users", api, new_teacher, "scope");
	snprintf(path, sizeof(path), "/api/v1/tokens/%s", api_id);
	/* IT manages accounts, but not the credentials of someone holding
	 * powers IT lacks: the designee's token stands */
	api_expect(403, "DELETE", path, it.token, NULL, "forbidden");
	api_expect(200, "GET", rec_ap, api, NULL, NULL);
	api_expect(204, "DELETE", path, A, NULL, NULL);
	api_expect(401, "GET", rec_ap, api, NULL, "session_ended");
	struct who t1b = {0};
	api_login(&t1b, "teach1", "kestrel meadow lantern 7");
	api_expect(204, "DELETE", "/api/v1/sessions/current", t1b.token, NULL, NULL);
	api_expect(401, "GET", "/api/v1/sessions/current", t1b.token, NULL, "session_ended");

	/* CSRF on cookie-authenticated writes */
	r = api_sign_in("teach1", "kestrel meadow lantern 7", NULL);
	assert_int_equal(r.status, 201);
	assert_true(strlen(r.cookie) > 20 && strlen(r.csrf) > 20);
	json_decref(r.json);
	struct resp w = api_request("PATCH", rec_a, NULL, "{\"fields\":{\"grade\":\"B\"}}", 24, "application/json", r.cookie, NULL);
	assert_int_equal(w.status, 403);
	assert_string_equal(json_string_value(json_object_get(json_object_get(w.json, "error"), "code")), "csrf");
	json_decref(w.json);
	w = api_request("PATCH", rec_a, NULL, "{\"fields\":{\"grade\":\"B\"}}", 24, "application/json", r.cookie, "not-the-token");
	assert_int_equal(w.status, 403);
	json_decref(w.json);
	w = api_request("PATCH", rec_a, NULL, "{\"fields\":{\"grade\":\"B\"}}", 24, "application/json", r.cookie, r.csrf);
	assert_int_equal(w.status, 200);
	json_decref(w.json);
	w = api_request("GET", rec_a, NULL, NULL, 0, NULL, r.cookie, NULL);
	assert_int_equal(w.status, 200);
	json_decref(w.json);

	/* a one-time password must be changed first */
	r = api_sign_in("newbie", "kestrel meadow lantern 7", NULL);
	assert_int_equal(r.status, 201);
	assert_true(json_is_true(json_object_get(r.json, "must_change_password")));
	char nb[128];
	str_copy(nb, sizeof(nb), json_string_value(json_object_get(r.json, "token")));
	json_decref(r.json);
	api_expect(403, "GET", rec_a, nb, NULL, "password_change_required");
	api_expect(400, "POST", "/api/v1/sessions/current/password", nb,
	       "{\"current_password\":\"kestrel meadow lantern 7\",\"new_password\":\"password1234!\"}", "weak_password");
	api_expect(204, "POST", "/api/v1/sessions/current/password", nb,
	       "{\"current_password\":\"kestrel meadow lantern 7\",\"new_password\":\"copper canyon whistle 19\"}", NULL);
	api_expect(200, "GET", "/api/v1/sessions/current", nb, NULL, NULL);

	/* an account made without a password gets a one-time one, handed over
	 * once in the answer; it signs in only to choose another */
	o = NULL;
	assert_int_equal(api_call("POST", "/api/v1/users", A,
				  "{\"username\":\"nopw\",\"display_name\":\"No Password\"}", &o),
			 201);
	const char *otp = json_string_value(json_object_get(o, "one_time_password"));
	assert_non_null(otp);
	assert_true(strlen(otp) >= 20);
	assert_true(json_is_true(json_object_get(o, "must_change_password")));
	r = api_sign_in("nopw", otp, NULL);
	json_decref(o);
	assert_int_equal(r.status, 201);
	assert_true(json_is_true(json_object_get(r.json, "must_change_password")));
	json_decref(r.json);
	assert_false(api_logged("user.create", "allow", "one_time_password"));

	/* lockout after repeated failures */
	for (int i = 0; i < 5; i++) {
		r = api_sign_in("locky", "not the password at all", NULL);
		assert_int_equal(r.status, 401);
		json_decref(r.json);
	}
	r = api_sign_in("locky", "kestrel meadow lantern 7", NULL);
	assert_int_equal(r.status, 429);
	assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "error"), "code")), "locked");
	json_decref(r.json);

	/* a suspension ends an open session on its very next request */
	struct who t2 = {0};
	api_login(&t2, "teach2", "kestrel meadow lantern 7");
	api_expect(200, "GET", rec_a, t2.token, NULL, NULL);
	snprintf(path, sizeof(path), "/api/v1/users/%lld/suspensions", (long long)teach2);
	api_create(path, A, "{\"kind\":\"pending_investigation\",\"reason\":\"reported disclosure\"}");
	api_expect(403, "GET", rec_a, t2.token, NULL, "suspended");
	api_expect(403, "GET", "/api/v1/sessions/current", t2.token, NULL, "suspended");
	r = api_sign_in("teach2", "kestrel meadow lantern 7", NULL);
	assert_int_equal(r.status, 403);
	json_decref(r.json);

	/* the command line is a client of the same API: same checks, same log */
	char *sess = xasprintf("%s/cli-session.json", api_dir);
	char *pwf = xasprintf("%s/cli-pw", api_dir);
	assert_int_equal(file_write_atomic(pwf, "kestrel meadow lantern 7\n", 25, 0600, false, NULL), ST_OK);
	char *cli = xasprintf("STEWARD_SESSION=%s %s", sess, STEWARD_BINARY);
	char *cmd = xasprintf("%s login --server %s --username teach1 --password-file %s", cli, api_base, pwf);
	char *out = NULL;
	assert_int_equal(ts_run(cmd, &out), 0);
	assert_non_null(strstr(out, "signed in"));
	free(out);
	free(cmd);
	cmd = xasprintf("%s records get %lld --purpose 'progress report'", cli, (long long)academic);
	assert_int_equal(ts_run(cmd, &out), 0);
	assert_non_null(strstr(out, "Algebra I"));
	free(out);
	free(cmd);
	cmd = xasprintf("%s records get %lld 2>&1", cli, (long long)health);
	assert_int_equal(ts_run(cmd, &out), 3); /* refused: the decision's reason, exit 3 */
	assert_non_null(strstr(out, "HTTP 403"));
	free(out);
	free(cmd);
	cmd = xasprintf("%s policy who-can --category special_education", cli);
	assert_int_equal(ts_run(cmd, &out), 0);
	assert_non_null(strstr(out, "\"users\""));
	assert_non_null(strstr(out, "\"display_name\""));
	assert_null(strstr(out, "\"username\"")); /* names and positions, not sign-in names */
	free(out);
	free(cmd);
	cmd = xasprintf("%s audit query --user %lld", cli, (long long)teach1);
	assert_int_equal(ts_run(cmd, &out), 0);
	assert_non_null(strstr(out, "record.read"));
	assert_non_null(strstr(out, "\"user_display_name\": \"T One\"")); /* one's own name */
	free(out);
	free(cmd);
	cmd = xasprintf("%s whoami", cli);
	assert_int_equal(ts_run(cmd, &out), 0);
	assert_non_null(strstr(out, "teach1"));
	free(out);
	free(cmd);
	/* a password change from the command line, with the secrets in files */
	char *newpw = xasprintf("%s/cli-newpw", api_dir);
	assert_int_equal(file_write_atomic(newpw, "osprey canyon ledger 93\n", 24, 0600, false, NULL), ST_OK);
	cmd = xasprintf("%s password --current-password-file %s --new-password-file %s", cli, newpw, newpw);
	assert_int_not_equal(ts_run(cmd, &out), 0); /* the current password is wrong */
	free(out);
	free(cmd);
	cmd = xasprintf("%s password --current-password-file %s --new-password-file %s", cli, pwf, newpw);
	assert_int_equal(ts_run(cmd, &out), 0);
	free(out);
	free(cmd);
	free(newpw);
	cmd = xasprintf("%s whoami --bogus 2>&1", cli);
	assert_int_equal(ts_run(cmd, &out), 2); /* a stray option is an error, not ignored */
	free(out);
	free(cmd);
	cmd = xasprintf("%s logout > /dev/null && %s whoami 2>&1", cli, cli);
	assert_int_not_equal(ts_run(cmd, &out), 0);
	free(out);
	free(cmd);
	/* an API token in the environment, for scripts */
	cmd = xasprintf("STEWARD_SERVER=%s STEWARD_TOKEN=%s %s api GET '/api/v1/policy/explain?user=%lld&record=%lld'",
			api_base, A, STEWARD_BINARY, (long long)teach1, (long long)health);
	assert_int_equal(ts_run(cmd, &out), 0);
	assert_non_null(strstr(out, "\"allow\": false"));
	free(out);
	free(cmd);
	cmd = xasprintf("STEWARD_SERVER=%s STEWARD_TOKEN=%s %s policy explain --user %lld --record %lld --purpose 'a check'",
			api_base, A, STEWARD_BINARY, (long long)teach1, (long long)academic);
	assert_int_equal(ts_run(cmd, &out), 0);
	assert_non_null(strstr(out, "\"allow\": true"));
	free(out);
	free(cmd);
	free(cli);
	free(sess);
	free(pwf);

	/* an API token past its expiry is refused; one already expired is not
	 * made (sessions' own timeouts: test_signin.c) */
	char when[32], tbody[160];
	int64_t made = time_now();
	time_format(made + 5, when);
	snprintf(tbody, sizeof(tbody), "{\"name\":\"brief\",\"scopes\":[\"records:read\"],\"expires\":\"%s\"}", when);
	o = NULL;
	assert_int_equal(api_call("POST", "/api/v1/tokens", A, tbody, &o), 201);
	char brief[128];
	str_copy(brief, sizeof(brief), json_string_value(json_object_get(o, "token")));
	json_decref(o);
	if (time_now() < made + 5) /* (a machine stalled for seconds proves nothing here) */
		api_expect(200, "GET", rec_ap, brief, NULL, NULL);
	api_expect(400, "POST", "/api/v1/tokens", A,
	       "{\"name\":\"stale\",\"scopes\":[\"records:read\"],\"expires\":\"2020-01-01\"}", "bad_value");
	while (time_now() <= made + 5)
		sleep(1);
	api_expect(401, "GET", rec_ap, brief, NULL, "session_ended");

	/* every one of these attempts is in the access log */
	assert_true(api_logged("session.create", "deny", "wrong username or password"));
	assert_true(api_logged("session.create", "deny", "locked"));
	assert_true(api_logged("user.locked", "deny", ""));
	assert_true(api_logged("session.refused", "deny", "not valid"));
	assert_true(api_logged("session.refused", "deny", "malformed"));
	assert_true(api_logged("session.refused", "deny", "signed out"));
	assert_true(api_logged("session.refused", "deny", "revoked"));
	assert_true(api_logged("request.refused", "deny", "X-CSRF-Token"));
	assert_true(api_logged("request.refused", "deny", "scopes"));
	assert_true(api_logged("request.refused", "deny", "suspended"));
	assert_true(api_logged("record.read", "deny", "multi-factor"));
	assert_true(api_logged("user.create", "deny", "administrative powers"));
	assert_true(api_logged("mfa.confirm", "deny", ""));
	assert_true(api_logged("record.read", "allow", "disclosure"));
	assert_true(api_logged("inventory.read", "allow", ""));
	/* the codes that name organizations elsewhere can be looked up */
	json_t *orgs = NULL;
	assert_int_equal(api_call("GET", "/api/v1/organizations", A, NULL, &orgs), 200);
	bool listed = false;
	size_t oi;
	json_t *org;
	json_array_foreach(json_object_get(orgs, "organizations"), oi, org)
		listed |= str_eq(json_string_value(json_object_get(org, "code")), "school-a") &&
			  str_eq(json_string_value(json_object_get(org, "kind")), "school") &&
			  str_eq(json_string_value(json_object_get(org, "name")), "A School");
	assert_true(listed);
	json_decref(orgs);
	assert_true(api_logged("organization.list", "allow", ""));
	assert_true(api_logged("organization.list", "deny", ""));
	assert_true(api_logged("audit.checkpoint", "allow", ""));
	assert_true(api_logged("audit.checkpoint", "deny", ""));
	/* the health answer, given to anyone, says whether it works, not how busy it is */
	json_t *hj = NULL;
	assert_int_equal(api_call("GET", "/api/v1/health", NULL, NULL, &hj), 200);
	assert_null(json_object_get(json_object_get(hj, "audit"), "events"));
	assert_true(json_is_true(json_object_get(json_object_get(hj, "audit"), "writable")));
	json_decref(hj);
	(void)it1;
	(void)nurse1;

	/* a clean stop, under load: reads answered on the event loop and
	 * requests run by workers are in flight when SIGTERM comes, and
	 * keep-alive clients go on sending; what was admitted is finished,
	 * what comes after is answered 503 shutting_down, the server exits
	 * cleanly (in bounded time: no request is left suspended), and every
	 * read answered is in the log. A final checkpoint is signed over
	 * everything. */
	/* clients that leave before their answer (the read is suspended
	 * for the log meanwhile): nothing is left waiting for them */
	for (int i = 0; i < 20; i++)
		send_and_leave(i % 2 ? rec_ap : audit_other, A);
	char rec_load[96], audit_load[64];
	snprintf(rec_load, sizeof(rec_load), "/api/v1/records/%lld?purpose=stop+under+load",
		 (long long)academic);
	snprintf(audit_load, sizeof(audit_load), "/api/v1/audit?user=%lld", (long long)teach1);
	enum { LOADERS = 8 };
	struct load l[LOADERS];
	pthread_t lt[LOADERS];
	for (int i = 0; i < LOADERS; i++) {
		/* reads on the loop and queries by workers, some on keep-alive
		 * connections that go on sending after the signal */
		l[i] = (struct load){.path = i % 4 >= 2 ? audit_load : rec_load, .token = A,
				     .keep_alive = i % 2 == 1};
		pthread_create(&lt[i], NULL, load_main, &l[i]);
	}
	for (int i = 0; i < 6000 && load_answered(l, LOADERS) < 150; i++)
		usleep(10000);
	assert_true(load_answered(l, LOADERS) >= 150);
	int status = api_server_terminate();
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	int reads = 0;
	for (int i = 0; i < LOADERS; i++) {
		pthread_join(lt[i], NULL);
		if (l[i].path == rec_load)
			reads += atomic_load(&l[i].ok);
		if (atomic_load(&l[i].unexpected))
			fail_msg("%s: answered %d while the server stopped", l[i].path,
				 atomic_load(&l[i].unexpected));
	}
	assert_true(reads > 0);
	/* counted in the log as its readers see it (purposes are sealed in
	 * the files): the server stopped, the data directory opened here */
	int64_t logged = 0;
	{
		struct steward *st = ts_open(api_data, NULL);
		struct audit_query aq = {.record_id = academic, .outcome = "allow",
					 .after_seq = -1, .limit = 1000};
		for (int64_t next = 0; next >= 0;) {
			json_t *events = NULL;
			ASSERT_OK(audit_query(st->audit, &aq, &events, &next, &ts_err));
			size_t i;
			json_t *ev;
			json_array_foreach(events, i, ev)
				logged += str_eq(json_string_value(json_object_get(ev, "purpose")),
						 "stop under load");
			json_decref(events);
			aq.after_seq = next;
		}
		steward_close(st);
	}
	assert_int_equal(api_db_count("audit.db", "SELECT COUNT(*) FROM audit_event WHERE "
						  "CAST(entry AS TEXT) LIKE '%stop under load%'"),
			 0);
	if (logged < reads)
		fail_msg("%d reads answered, %lld in the log", reads, (long long)logged);
	out = NULL;
	cmd = xasprintf("%s audit verify --data %s", STEWARD_BINARY, api_data);
	assert_int_equal(ts_run(cmd, &out), 0);
	assert_null(strstr(out, "await"));
	free(out);
	free(cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_api, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
