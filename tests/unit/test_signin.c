/*
 * test_signin.c - attacks on signing in, against a real server on
 * 127.0.0.1: guessing one-time codes, replaying one code from many
 * connections at once, racing many wrong passwords past the lockout,
 * telling accounts from non-accounts by their locks, a password typed into
 * the username field, guessing at enrolment confirmation, and what a
 * password change and an enrolment end. Each must be refused, bounded and
 * recorded; none may leave a secret in the access log.
 */
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "apiclient.h"
#include "crypto/crypto.h"

#define LOCK_AFTER 5

static char admin_token[128];


static int setup(void **state)
{
	(void)state;
	static const char *const args[] = {"--lock-after", "5", "--throttle-after", "1000", NULL};
	api_server_start(args);
	struct who a = {0};
	api_login(&a, TS_ADMIN, TS_PASSWORD);
	str_copy(admin_token, sizeof(admin_token), a.token);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	api_server_stop();
	return 0;
}

static void make_user(const char *name, const char *role)
{
	char body[400];
	snprintf(body, sizeof(body),
		 "{\"username\":\"%s\",\"password\":\"kestrel meadow lantern 7\","
		 "\"must_change_password\":false,\"display_name\":\"%s\",\"roles\":[\"%s\"],"
		 "\"organization\":\"school-a\"}",
		 name, name, role);
	api_create("/api/v1/users", admin_token, body);
}

static void ensure_org(void)
{
	json_t *o = NULL;
	long st = api_call("POST", "/api/v1/organizations", admin_token,
			   "{\"code\":\"school-a\",\"name\":\"School A\",\"kind\":\"school\"}", &o);
	json_decref(o);
	assert_true(st == 201 || st == 409);
}

static long status_of(struct resp r)
{
	json_decref(r.json);
	return r.status;
}

static const char *error_code(const struct resp *r)
{
	return json_string_value(json_object_get(json_object_get(r->json, "error"), "code"));
}

/* --- many requests at once --------------------------------------------- */

struct racer {
	const char *user, *pass, *totp;
	pthread_barrier_t *go;
	long status;
	char code[32];
};

static void *race_main(void *arg)
{
	struct racer *r = arg;
	pthread_barrier_wait(r->go);
	struct resp x = api_sign_in(r->user, r->pass, r->totp);
	r->status = x.status;
	const char *c = error_code(&x);
	str_copy(r->code, sizeof(r->code), c ? c : "");
	json_decref(x.json);
	return NULL;
}

/* Sends n sign-ins at the same moment; counts the answers with status want. */
static int race(int n, const char *user, const char *pass, const char *totp, long want,
		const char *want_code)
{
	pthread_t th[64];
	struct racer rs[64];
	pthread_barrier_t go;
	assert_true(n <= 64);
	pthread_barrier_init(&go, NULL, (unsigned)n);
	for (int i = 0; i < n; i++) {
		rs[i] = (struct racer){.user = user, .pass = pass, .totp = totp, .go = &go};
		pthread_create(&th[i], NULL, race_main, &rs[i]);
	}
	int count = 0;
	for (int i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		if (rs[i].status == want && (!want_code || str_eq(rs[i].code, want_code)))
			count++;
	}
	pthread_barrier_destroy(&go);
	return count;
}

/* --- the tests ---------------------------------------------------------- */

static void test_one_code_works_once_even_at_once(void **state)
{
	(void)state;
	ensure_org();
	make_user("rita", "teacher");
	struct who w = {0};
	api_login(&w, "rita", "kestrel meadow lantern 7");
	api_enroll(&w); /* rita's code for this step is now spent */
	/* the next step's code (accepted a step early, for clocks that run
	 * ahead), sent from 16 connections at the same moment: one session */
	char code[16];
	api_code_for(&w, w.step + 1, code);
	assert_int_equal(race(16, "rita", "kestrel meadow lantern 7", code, 201, NULL), 1);
	/* and once more, one at a time: spent (refused as a wrong code, or, if
	 * the race's wrong codes reached the limit, as locked) */
	struct resp r = api_sign_in("rita", "kestrel meadow lantern 7", code);
	long st = r.status;
	char why[32];
	str_copy(why, sizeof(why), error_code(&r) ? error_code(&r) : "");
	json_decref(r.json);
	assert_true((st == 401 && str_eq(why, "bad_totp")) || (st == 429 && str_eq(why, "locked")));
}

static void test_guessing_codes_locks(void **state)
{
	(void)state;
	ensure_org();
	make_user("gus", "teacher");
	struct who w = {0};
	api_login(&w, "gus", "kestrel meadow lantern 7");
	api_enroll(&w);
	/* the attacker holds the password, not the device */
	struct resp r = api_sign_in("gus", "kestrel meadow lantern 7", NULL);
	assert_int_equal(r.status, 401);
	assert_string_equal(error_code(&r), "totp_required");
	json_decref(r.json);
	int wrong = 0;
	for (int i = 0; i < 20; i++) {
		r = api_sign_in("gus", "kestrel meadow lantern 7", "000000");
		long st = r.status;
		json_decref(r.json);
		if (st == 429)
			break;
		assert_int_equal(st, 401);
		wrong++;
	}
	assert_true(wrong <= 5); /* locked after five wrong codes */
	/* now even the right code is refused until the lock ends */
	char code[16];
	api_code_for(&w, (uint64_t)time_now() / 30, code);
	r = api_sign_in("gus", "kestrel meadow lantern 7", code);
	assert_int_equal(r.status, 429);
	assert_string_equal(error_code(&r), "locked");
	json_decref(r.json);
	assert_true(api_logged("user.locked", "deny", "one-time codes"));
	assert_true(api_logged("session.create", "deny", "6-digit code")); /* totp_required */
}

static void test_racing_wrong_passwords_cannot_pass_the_lock(void **state)
{
	(void)state;
	ensure_org();
	make_user("rex", "teacher");
	/* 40 wrong passwords at the same moment: at most LOCK_AFTER are ever
	 * checked, the rest are refused as locked */
	int checked = race(40, "rex", "not the password at all", NULL, 401, "bad_credentials");
	assert_true(checked <= LOCK_AFTER);
	assert_true(checked >= 1);
	struct resp r = api_sign_in("rex", "kestrel meadow lantern 7", NULL);
	assert_int_equal(r.status, 429);
	json_decref(r.json);
}

static void test_locks_do_not_tell_who_has_an_account(void **state)
{
	(void)state;
	ensure_org();
	make_user("tom", "teacher");
	const char *names[] = {"tom", "nosuchperson"};
	struct resp last[2];
	for (int k = 0; k < 2; k++) {
		for (int i = 0; i < LOCK_AFTER; i++)
			assert_int_equal(status_of(api_sign_in(names[k], "wrong password here", NULL)),
					 401);
		last[k] = api_sign_in(names[k], "wrong password here", NULL);
	}
	assert_int_equal(last[0].status, 429);
	assert_int_equal(last[1].status, 429);
	assert_string_equal(error_code(&last[0]), error_code(&last[1]));
	const char *m0 = json_string_value(json_object_get(json_object_get(last[0].json, "error"), "message"));
	const char *m1 = json_string_value(json_object_get(json_object_get(last[1].json, "error"), "message"));
	/* the same words, apart from the time */
	assert_int_equal(strlen(m0), strlen(m1));
	assert_true(strncmp(m0, m1, strlen("the account is locked")) == 0);
	json_decref(last[0].json);
	json_decref(last[1].json);
}

static void test_a_password_typed_as_a_name_is_not_kept(void **state)
{
	(void)state;
	const char *typed = "Purple-Secret-Zebra-77";
	assert_int_equal(status_of(api_sign_in(typed, "whatever it is", NULL)), 401);
	char *sql = xasprintf("SELECT COUNT(*) FROM audit_event WHERE CAST(entry AS TEXT) LIKE '%%%s%%'",
			      typed);
	assert_int_equal(api_db_count("audit.db", sql), 0);
	free(sql);
	sql = xasprintf("SELECT COUNT(*) FROM signin_failure WHERE username LIKE '%%%s%%'", typed);
	assert_int_equal(api_db_count("steward.db", sql), 0);
	free(sql);
	/* the attempt is still recorded, under the name's keyed hash */
	assert_true(api_logged("session.create", "deny", "unknown_name"));
}

/* Sends n requests with one session at the same moment; counts statuses. */
struct caller {
	const char *method, *path, *token, *body;
	pthread_barrier_t *go;
	long status;
};

static void *call_main(void *arg)
{
	struct caller *c = arg;
	pthread_barrier_wait(c->go);
	c->status = api_call(c->method, c->path, c->token, c->body, NULL);
	return NULL;
}

static int call_race(int n, const char *method, const char *path, const char *token,
		     const char *body, long want)
{
	pthread_t th[64];
	struct caller cs[64];
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, (unsigned)n);
	for (int i = 0; i < n; i++) {
		cs[i] = (struct caller){method, path, token, body, &go, 0};
		pthread_create(&th[i], NULL, call_main, &cs[i]);
	}
	int count = 0;
	for (int i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		count += cs[i].status == want;
	}
	pthread_barrier_destroy(&go);
	return count;
}

static void test_enrolment_confirmation_is_no_oracle(void **state)
{
	(void)state;
	ensure_org();
	make_user("eve", "teacher");
	struct who w = {0};
	api_login(&w, "eve", "kestrel meadow lantern 7");
	char ecode[32], ebody[80];
	api_enrollment_code(&w, ecode);
	snprintf(ebody, sizeof(ebody), "{\"enrollment_code\":\"%s\"}", ecode);
	json_t *o = NULL;
	assert_int_equal(api_call("POST", "/api/v1/mfa/totp", w.token, ebody, &o), 201);
	json_decref(o);
	/* 30 wrong codes at once: at most five are checked, and the session
	 * that sent them ends */
	int checked = call_race(30, "POST", "/api/v1/mfa/totp/confirm", w.token, "{\"code\":\"000000\"}", 400);
	assert_true(checked >= 1 && checked <= 5);
	api_expect(401, "GET", "/api/v1/sessions/current", w.token, NULL, "session_ended");
	assert_true(api_logged("session.ended", "deny", "too many wrong secrets"));
	/* it locks no one out: eve signs in again */
	api_login(&w, "eve", "kestrel meadow lantern 7");
}

static void test_parallel_codes_cannot_pass_the_limit(void **state)
{
	(void)state;
	ensure_org();
	make_user("cody", "teacher");
	struct who w = {0};
	api_login(&w, "cody", "kestrel meadow lantern 7");
	api_enroll(&w);
	/* the right password with 30 wrong codes at once: at most five checked */
	int checked = race(30, "cody", "kestrel meadow lantern 7", "000000", 401, "bad_totp");
	assert_true(checked >= 1 && checked <= 5);
}

static void test_enrolment_ends_sessions_without_it(void **state)
{
	(void)state;
	ensure_org();
	make_user("ned", "teacher");
	struct who before = {0}, w = {0};
	api_login(&before, "ned", "kestrel meadow lantern 7");
	api_expect(200, "GET", "/api/v1/sessions/current", before.token, NULL, NULL);
	api_login(&w, "ned", "kestrel meadow lantern 7");
	api_enroll(&w);
	api_expect(401, "GET", "/api/v1/sessions/current", before.token, NULL, "session_ended");
	api_expect(200, "GET", "/api/v1/sessions/current", w.token, NULL, NULL);
	/* confirming again is refused: the authenticator is set */
	char code[16], body[64];
	api_code_for(&w, w.step, code);
	snprintf(body, sizeof(body), "{\"code\":\"%s\"}", code);
	api_expect(409, "POST", "/api/v1/mfa/totp/confirm", w.token, body, "already_enrolled");
}

static void test_password_change_ends_tokens_and_counts_failures(void **state)
{
	(void)state;
	ensure_org();
	make_user("pam", "teacher");
	struct who w = {0};
	api_login(&w, "pam", "kestrel meadow lantern 7");
	json_t *o = NULL;
	char until[16], token_body[160];
	snprintf(token_body, sizeof(token_body),
		 "{\"name\":\"grades sync\",\"scopes\":[\"records:read\"],\"expires\":\"%s\"}",
		 api_day(180, until));
	assert_int_equal(api_call("POST", "/api/v1/tokens", w.token, token_body, &o), 201);
	char tok[128];
	str_copy(tok, sizeof(tok), json_string_value(json_object_get(o, "token")));
	json_decref(o);
	/* signed in: decided (to a teacher, a record that does not exist is
	 * refused as one out of reach is) */
	api_expect(403, "GET", "/api/v1/records/999999", tok, NULL, "forbidden");
	api_expect(204, "POST", "/api/v1/sessions/current/password", w.token,
		   "{\"current_password\":\"kestrel meadow lantern 7\",\"new_password\":\"amber quarry violin 31\"}",
		   NULL);
	api_expect(401, "GET", "/api/v1/records/999999", tok, NULL, "session_ended");
	/* guessing the current password from a session (30 at once) ends that
	 * session after at most five; it locks no one out */
	int checked = call_race(30, "POST", "/api/v1/sessions/current/password", w.token,
				"{\"current_password\":\"a wrong guess each time\",\"new_password\":\"amber quarry violin 32\"}",
				401);
	assert_true(checked >= 1);
	api_expect(401, "GET", "/api/v1/sessions/current", w.token, NULL, "session_ended");
	assert_int_equal(api_db_count("steward.db", "SELECT COUNT(*) FROM signin_failure WHERE kind = 'password' "
						    "AND username LIKE 's|%'") <= 5, 1);
	struct who again = {0};
	api_login(&again, "pam", "amber quarry violin 31");
}

static void test_a_locked_name_is_unlocked_by_an_administrator(void **state)
{
	(void)state;
	ensure_org();
	make_user("lou", "teacher");
	for (int i = 0; i < LOCK_AFTER; i++)
		assert_int_equal(status_of(api_sign_in("lou", "wrong password here", NULL)), 401);
	assert_int_equal(status_of(api_sign_in("lou", "kestrel meadow lantern 7", NULL)), 429);
	int64_t lou = api_db_count("steward.db", "SELECT id FROM app_user WHERE username = 'lou'");
	char path[64];
	snprintf(path, sizeof(path), "/api/v1/users/%lld/lock", (long long)lou);
	make_user("tess", "teacher");
	struct who t = {0};
	api_login(&t, "tess", "kestrel meadow lantern 7"); /* a teacher may not */
	api_expect(403, "DELETE", path, t.token, NULL, "forbidden");
	api_expect(204, "DELETE", path, admin_token, NULL, NULL);
	assert_int_equal(status_of(api_sign_in("lou", "kestrel meadow lantern 7", NULL)), 201);
	assert_true(api_logged("user.unlock", "allow", ""));
}

static int64_t user_id_of(const char *name)
{
	char sql[160];
	snprintf(sql, sizeof(sql), "SELECT id FROM app_user WHERE username = '%s'", name);
	return api_db_count("steward.db", sql);
}

/* Starts an enrolment in a session with an enrolment code (NULL: none);
 * returns the status, and the new secret into w->secret on 201. */
static long begin_enrolment(struct who *w, const char *code)
{
	char body[96];
	snprintf(body, sizeof(body), "{\"enrollment_code\":\"%s\"}", code ? code : "");
	json_t *o = NULL;
	long st = api_call("POST", "/api/v1/mfa/totp", w->token, code ? body : NULL, &o);
	if (st == 201) {
		size_t n = 0;
		assert_int_equal(base32_decode(json_string_value(json_object_get(o, "secret")),
					       w->secret, 20, &n),
				 ST_OK);
		assert_int_equal(n, 20);
	}
	json_decref(o);
	return st;
}

static void confirm_body(const struct who *w, char body[64])
{
	char code[16];
	api_code_for(w, (uint64_t)time_now() / 30, code);
	snprintf(body, 64, "{\"code\":\"%s\"}", code);
}

static void test_a_stolen_password_cannot_enrol(void **state)
{
	(void)state;
	ensure_org();
	make_user("olive", "teacher");
	make_user("pete", "teacher");
	int64_t olive = user_id_of("olive");
	/* the thief holds olive's password and nothing else */
	struct who thief = {0};
	api_login(&thief, "olive", "kestrel meadow lantern 7");
	api_expect(400, "POST", "/api/v1/mfa/totp", thief.token, NULL, "missing_field");
	api_expect(400, "POST", "/api/v1/mfa/totp", thief.token, "{}", "missing_field");
	assert_int_equal(begin_enrolment(&thief, "abcd-efgh-ijkl-mnop"), 400);
	api_expect(409, "POST", "/api/v1/mfa/totp/confirm", thief.token, "{\"code\":\"123456\"}",
		   "not_started");
	assert_int_equal(api_db_count("steward.db", "SELECT COUNT(*) FROM mfa_totp t JOIN app_user u "
						    "ON u.id = t.user_id WHERE u.username = 'olive'"),
			 0);
	/* so olive is not locked out: her password still signs her in */
	struct resp r = api_sign_in("olive", "kestrel meadow lantern 7", NULL);
	assert_int_equal(r.status, 201);
	assert_true(json_is_false(json_object_get(r.json, "mfa")));
	json_decref(r.json);
	/* an administrator gives olive a code out of band; it is hers alone */
	struct who owner = {0}, other = {0};
	api_login(&owner, "olive", "kestrel meadow lantern 7");
	char code[32];
	assert_int_equal(api_enrollment_code(&owner, code), olive);
	api_login(&other, "pete", "kestrel meadow lantern 7");
	assert_int_equal(begin_enrolment(&other, code), 400);
	/* she starts in her session (dashes and case do not matter), and may
	 * start again there without the code, which is spent */
	char typed[32];
	str_copy(typed, sizeof(typed), code);
	for (char *p = typed; *p; p++)
		*p = *p == '-' ? ' ' : (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	assert_int_equal(begin_enrolment(&owner, typed), 201);
	assert_int_equal(begin_enrolment(&owner, NULL), 201);
	/* the thief can neither use the spent code nor finish her enrolment */
	assert_int_equal(begin_enrolment(&thief, code), 400);
	assert_int_equal(begin_enrolment(&thief, NULL), 400);
	char body[64];
	confirm_body(&owner, body);
	api_expect(409, "POST", "/api/v1/mfa/totp/confirm", thief.token, body, "not_started");
	api_expect(200, "POST", "/api/v1/mfa/totp/confirm", owner.token, body, NULL);
	/* from now on the password alone is not enough */
	r = api_sign_in("olive", "kestrel meadow lantern 7", NULL);
	assert_int_equal(r.status, 401);
	assert_string_equal(error_code(&r), "totp_required");
	json_decref(r.json);
	/* on record, without the code */
	assert_true(api_logged("mfa.enroll", "deny", "enrolment code was wrong"));
	assert_true(api_logged("mfa.enrollment_code", "allow", ""));
	char *sql = xasprintf("SELECT COUNT(*) FROM audit_event WHERE CAST(entry AS TEXT) LIKE '%%%s%%'",
			      code);
	assert_int_equal(api_db_count("audit.db", sql), 0);
	free(sql);
	assert_int_equal(api_db_count("steward.db", "SELECT COUNT(*) FROM mfa_enrollment_code t JOIN "
						    "app_user u ON u.id = t.user_id WHERE u.username = 'olive'"),
			 0);
}

static void test_an_enrolment_code_expires(void **state)
{
	(void)state;
	ensure_org();
	make_user("quin", "teacher");
	struct who w = {0};
	api_login(&w, "quin", "kestrel meadow lantern 7");
	char code[32];
	int64_t quin = api_enrollment_code(&w, code);
	char *sql = xasprintf("UPDATE mfa_enrollment_code SET expires_at = %lld WHERE user_id = %lld",
			      (long long)time_now() - 1, (long long)quin);
	api_db_exec("steward.db", sql);
	free(sql);
	assert_int_equal(begin_enrolment(&w, code), 400);
	/* a new code replaces it */
	assert_int_equal(api_enrollment_code(&w, code), quin);
	assert_int_equal(begin_enrolment(&w, code), 201);
}

static void test_an_administrator_resets_a_lost_device(void **state)
{
	(void)state;
	ensure_org();
	make_user("rosa", "teacher");
	make_user("tad", "teacher");
	make_user("ivy", "it_admin");
	int64_t rosa = user_id_of("rosa");
	struct who w = {0};
	api_login(&w, "rosa", "kestrel meadow lantern 7");
	api_enroll(&w);
	json_t *o = NULL;
	char until[16], tbody[160], tok[128];
	snprintf(tbody, sizeof(tbody),
		 "{\"name\":\"grades\",\"scopes\":[\"records:read\"],\"expires\":\"%s\"}",
		 api_day(30, until));
	assert_int_equal(api_call("POST", "/api/v1/tokens", w.token, tbody, &o), 201);
	str_copy(tok, sizeof(tok), json_string_value(json_object_get(o, "token")));
	json_decref(o);
	char path[80], cpath[80];
	snprintf(path, sizeof(path), "/api/v1/users/%lld/reset", (long long)rosa);
	snprintf(cpath, sizeof(cpath), "/api/v1/users/%lld/enrollment-code", (long long)rosa);
	const char *why = "{\"reason\":\"lost her phone; identity checked in person\"}";
	/* a code for someone enrolled is refused: a reset it must be */
	api_expect(409, "POST", cpath, admin_token, NULL, "already_enrolled");
	/* bad input: refused, naming the field, nothing changed */
	api_expect(415, "POST", path, admin_token, NULL, NULL);
	api_expect(400, "POST", path, admin_token, "{\"reason\":", "bad_json");
	api_expect(400, "POST", path, admin_token, "{}", "missing_field");
	api_expect(400, "POST", path, admin_token, "{\"reason\":\"\"}", "empty_field");
	api_expect(400, "POST", path, admin_token, "{\"reason\":5}", "wrong_type");
	api_expect(400, "POST", path, admin_token, "{\"reason\":\"x\",\"password\":\"mine\"}",
		   "unknown_field");
	char long_reason[600];
	memset(long_reason, 'a', sizeof(long_reason));
	memcpy(long_reason, "{\"reason\":\"", 11);
	memcpy(long_reason + 560, "\"}", 3);
	api_expect(400, "POST", path, admin_token, long_reason, NULL);
	api_expect(404, "POST", "/api/v1/users/999999/reset", admin_token, why, NULL);
	api_expect(404, "POST", "/api/v1/users/999999/enrollment-code", admin_token, NULL, NULL);
	/* who may not: a teacher, oneself, an API token, an IT administrator
	 * over the designee (who holds powers it lacks) */
	struct who tad = {0}, ivy = {0};
	api_login(&tad, "tad", "kestrel meadow lantern 7");
	api_expect(403, "POST", path, tad.token, why, "forbidden");
	api_expect(403, "POST", cpath, tad.token, NULL, "forbidden");
	/* a code's route takes no body: refused, nothing issued */
	char tadpath[80];
	snprintf(tadpath, sizeof(tadpath), "/api/v1/users/%lld/enrollment-code",
		 (long long)user_id_of("tad"));
	api_expect(400, "POST", tadpath, admin_token, "{\"code\":\"mine\"}", "unknown_field");
	api_expect(400, "POST", tadpath, admin_token, "[", "bad_json");
	assert_int_equal(api_db_count("steward.db", "SELECT COUNT(*) FROM mfa_enrollment_code t JOIN "
						    "app_user u ON u.id = t.user_id WHERE u.username = 'tad'"),
			 0);
	api_expect(403, "POST", "/api/v1/users/1/reset", admin_token, why, "forbidden");
	snprintf(tbody, sizeof(tbody), "{\"name\":\"hr sync\",\"scopes\":[\"people\"],\"expires\":\"%s\"}",
		 api_day(30, until));
	assert_int_equal(api_call("POST", "/api/v1/tokens", admin_token, tbody, &o), 201);
	char ptok[128];
	str_copy(ptok, sizeof(ptok), json_string_value(json_object_get(o, "token")));
	json_decref(o);
	api_expect(403, "POST", path, ptok, why, "forbidden");
	api_login(&ivy, "ivy", "kestrel meadow lantern 7");
	api_expect(403, "POST", "/api/v1/users/1/reset", ivy.token, why, "forbidden");
	assert_true(api_logged("user.reset", "deny", "administrative powers"));
	assert_true(api_logged("user.reset", "deny", "their own"));
	/* none of that changed anything */
	api_expect(200, "GET", "/api/v1/sessions/current", w.token, NULL, NULL);
	char *sql = xasprintf("SELECT COUNT(*) FROM mfa_totp WHERE user_id = %lld AND confirmed_at IS NOT NULL",
			      (long long)rosa);
	assert_int_equal(api_db_count("steward.db", sql), 1);
	free(sql);
	/* the reset */
	o = NULL;
	assert_int_equal(api_call("POST", path, admin_token, why, &o), 200);
	char pw[32], ecode[32];
	str_copy(pw, sizeof(pw), json_string_value(json_object_get(o, "password")));
	str_copy(ecode, sizeof(ecode), json_string_value(json_object_get(o, "enrollment_code")));
	assert_true(json_is_true(json_object_get(o, "must_change_password")));
	assert_true(strlen(pw) >= 20 && strlen(ecode) == 19);
	json_decref(o);
	/* what was opened with the old secrets ends */
	api_expect(401, "GET", "/api/v1/sessions/current", w.token, NULL, "session_ended");
	api_expect(401, "GET", "/api/v1/records/999999", tok, NULL, "session_ended");
	assert_int_equal(status_of(api_sign_in("rosa", "kestrel meadow lantern 7", NULL)), 401);
	/* the one-time password signs in without a code (the authenticator is
	 * gone), to choose a password first, then to enrol with the new code */
	struct resp r = api_sign_in("rosa", pw, NULL);
	assert_int_equal(r.status, 201);
	assert_true(json_is_true(json_object_get(r.json, "must_change_password")));
	struct who again = {0};
	str_copy(again.token, sizeof(again.token), json_string_value(json_object_get(r.json, "token")));
	json_decref(r.json);
	assert_int_equal(begin_enrolment(&again, ecode), 403);
	char pbody[160];
	snprintf(pbody, sizeof(pbody),
		 "{\"current_password\":\"%s\",\"new_password\":\"harbor lantern quiet 58\"}", pw);
	api_expect(204, "POST", "/api/v1/sessions/current/password", again.token, pbody, NULL);
	assert_int_equal(begin_enrolment(&again, ecode), 201);
	char body[64];
	confirm_body(&again, body);
	api_expect(200, "POST", "/api/v1/mfa/totp/confirm", again.token, body, NULL);
	/* on record, with the reason, without a secret */
	/* (the reason is the act's stated purpose: sealed in the log's files,
	 * read through the log) */
	assert_true(api_logged_stated(admin_token, "user.reset", "allow", "identity checked in person"));
	assert_false(api_logged("user.reset", "allow", "identity checked in person"));
	sql = xasprintf("SELECT COUNT(*) FROM audit_event WHERE CAST(entry AS TEXT) LIKE '%%%s%%' OR "
			"CAST(entry AS TEXT) LIKE '%%%s%%'",
			pw, ecode);
	assert_int_equal(api_db_count("audit.db", sql), 0);
	free(sql);
}

static void test_an_address_that_keeps_failing_is_throttled(void **state)
{
	(void)state;
	/* a server of its own, that throttles an address after 3 failures */
	api_server_stop();
	static const char *const args[] = {"--throttle-after", "3", NULL};
	api_server_start(args);
	const char *names[] = {"ann", "bob", "cy"};
	for (int i = 0; i < 3; i++)
		assert_int_equal(status_of(api_sign_in(names[i], "wrong password here", NULL)), 401);
	/* even the right password, for another account, waits */
	struct resp r = api_sign_in(TS_ADMIN, TS_PASSWORD, NULL);
	assert_int_equal(r.status, 429);
	assert_string_equal(error_code(&r), "throttled");
	json_decref(r.json);
	assert_true(api_logged("session.create", "deny", "too many failed sign-ins from this address"));
}

static void test_behind_a_trusted_proxy_each_client_counts_alone(void **state)
{
	(void)state;
	/* without --trusted-proxy, X-Forwarded-For is the client's word and
	 * proves nothing: all of these come from 127.0.0.1 */
	api_server_stop();
	static const char *const plain[] = {"--throttle-after", "3", NULL};
	api_server_start(plain);
	const char *clients[] = {"198.51.100.7", "198.51.100.8", "198.51.100.9"};
	for (int i = 0; i < 3; i++) {
		snprintf(api_forwarded_for, sizeof(api_forwarded_for), "%s", clients[i]);
		assert_int_equal(status_of(api_sign_in("nobody", "wrong password here", NULL)), 401);
	}
	snprintf(api_forwarded_for, sizeof(api_forwarded_for), "198.51.100.10");
	assert_int_equal(status_of(api_sign_in("nobody", "wrong password here", NULL)), 429);
	/* behind a trusted proxy, each forwarded client counts alone; a
	 * forged address further left is ignored */
	api_server_stop();
	static const char *const proxied[] = {"--throttle-after", "3", "--trusted-proxy", "127.0.0.1",
					      NULL};
	api_server_start(proxied);
	snprintf(api_forwarded_for, sizeof(api_forwarded_for), "10.9.9.9, 198.51.100.7");
	for (int i = 0; i < 3; i++)
		assert_int_equal(status_of(api_sign_in("nobody", "wrong password here", NULL)), 401);
	assert_int_equal(status_of(api_sign_in("nobody", "wrong password here", NULL)), 429);
	snprintf(api_forwarded_for, sizeof(api_forwarded_for), "198.51.100.8");
	assert_int_equal(status_of(api_sign_in("nobody", "wrong password here", NULL)), 401);
	api_forwarded_for[0] = '\0';
	assert_true(api_logged("session.create", "deny", "198.51.100.7"));
	assert_false(api_logged("session.create", "deny", "10.9.9.9"));
}

static void test_sessions_end_when_idle_and_when_old(void **state)
{
	(void)state;
	/* a server of its own: sessions end after 4 s idle, or 12 s in all */
	api_server_stop();
	static const char *const args[] = {"--session-idle", "4", "--session-max", "12", NULL};
	api_server_start(args);
	struct who a = {0};
	api_login(&a, TS_ADMIN, TS_PASSWORD); /* works through enrolment */
	sleep(5);
	api_expect(401, "GET", "/api/v1/sessions/current", a.token, NULL, "session_ended");
	assert_true(api_logged("session.refused", "deny", "inactivity"));
	/* a session in use outlives the idle limit, but not the absolute one */
	struct resp r = api_sign_in(TS_ADMIN, TS_PASSWORD, NULL);
	int64_t t0 = time_now();
	assert_int_equal(r.status, 401); /* enrolled: a code is needed now */
	json_decref(r.json);
	char code[16];
	api_code_for(&a, (uint64_t)t0 / 30 + 1, code);
	r = api_sign_in(TS_ADMIN, TS_PASSWORD, code);
	assert_int_equal(r.status, 201);
	char tok[128];
	str_copy(tok, sizeof(tok), json_string_value(json_object_get(r.json, "token")));
	json_decref(r.json);
	bool outlived_idle = false;
	while (time_now() < t0 + 10) {
		sleep(2);
		int64_t t = time_now();
		if (t >= t0 + 11)
			break; /* a stalled machine: too near the absolute limit to tell */
		api_expect(200, "GET", "/api/v1/sessions/current", tok, NULL, NULL);
		outlived_idle |= t > t0 + 5;
	}
	assert_true(outlived_idle);
	while (time_now() <= t0 + 13)
		sleep(1);
	api_expect(401, "GET", "/api/v1/sessions/current", tok, NULL, "session_ended");
}

static void test_a_flood_of_refusals_is_counted_not_written_one_by_one(void **state)
{
	(void)state;
	/* 400 requests without sign-in from one address in a minute: the first
	 * 300 are logged one by one, the rest counted, and the count logged */
	int64_t before = api_db_count("audit.db", "SELECT COUNT(*) FROM audit_event WHERE action = 'request.refused'");
	int64_t t0 = time_now();
	for (int i = 0; i < 400; i++)
		assert_int_equal(api_call("GET", "/api/v1/sessions/current", NULL, NULL, NULL), 401);
	int64_t logged = api_db_count("audit.db", "SELECT COUNT(*) FROM audit_event WHERE action = 'request.refused'") - before;
	if (time_now() / 60 == t0 / 60) /* all in one minute (else the budget renewed) */
		assert_true(logged <= 300);
	assert_true(logged < 400);
	/* a refusal after a secret was checked is never held back */
	assert_int_equal(status_of(api_sign_in(TS_ADMIN, "still not the password", NULL)), 401);
	assert_true(api_db_count("audit.db", "SELECT COUNT(*) FROM audit_event WHERE action = 'session.create' "
					     "AND outcome = 'deny' AND CAST(entry AS TEXT) LIKE '%wrong username or password%'") >= 1);
	assert_true(api_logged("request.refused_many", "deny", "the rest are counted"));
	int status = api_server_terminate(); /* a clean stop logs what was held back */
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(api_db_count("audit.db", "SELECT COALESCE(SUM(CAST(substr(json_extract(entry, '$.reason'), 1, "
						  "instr(json_extract(entry, '$.reason'), ' ') - 1) AS INTEGER)), 0) FROM audit_event "
						  "WHERE action = 'request.refused_many'") + logged,
			 400);
}

struct spreader {
	int index;
	pthread_barrier_t *go;
	int refused;
};

static void *spread_main(void *arg)
{
	struct spreader *sp = arg;
	snprintf(api_source, sizeof(api_source), "127.0.0.%d", 10 + sp->index);
	pthread_barrier_wait(sp->go);
	/* five refusals each; an attempt the server answered 503 (every
	 * password check busy, as on a loaded machine) was never checked, so
	 * it is sent again, as a stranger would */
	for (int tries = 0; sp->refused < LOCK_AFTER && tries < 10 * LOCK_AFTER; tries++) {
		struct resp r = api_sign_in("dana", "not the password at all", NULL);
		sp->refused += r.status == 401 || r.status == 429;
		json_decref(r.json);
	}
	return NULL;
}

static void test_failures_spread_over_addresses_do_not_lock_out_a_known_place(void **state)
{
	(void)state;
	ensure_org();
	make_user("dana", "teacher");
	/* dana signs in from her usual address */
	struct who w = {0};
	api_login(&w, "dana", "kestrel meadow lantern 7");
	/* a stranger spreads 100 wrong passwords over 20 addresses (five each,
	 * under the per-address lock) */
	enum { N = 20 };
	pthread_t th[N];
	struct spreader sp[N];
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, N);
	for (int i = 0; i < N; i++) {
		sp[i] = (struct spreader){i, &go, 0};
		pthread_create(&th[i], NULL, spread_main, &sp[i]);
	}
	for (int i = 0; i < N; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&go);
	/* the name is now locked everywhere it was not used before ... */
	snprintf(api_source, sizeof(api_source), "127.0.0.99");
	struct resp r = api_sign_in("dana", "kestrel meadow lantern 7", NULL);
	api_source[0] = '\0';
	assert_int_equal(r.status, 429);
	json_decref(r.json);
	/* ... but not where dana signs in */
	r = api_sign_in("dana", "kestrel meadow lantern 7", NULL);
	assert_int_equal(r.status, 201);
	json_decref(r.json);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_code_works_once_even_at_once),
		cmocka_unit_test(test_guessing_codes_locks),
		cmocka_unit_test(test_racing_wrong_passwords_cannot_pass_the_lock),
		cmocka_unit_test(test_locks_do_not_tell_who_has_an_account),
		cmocka_unit_test(test_a_password_typed_as_a_name_is_not_kept),
		cmocka_unit_test(test_enrolment_confirmation_is_no_oracle),
		cmocka_unit_test(test_parallel_codes_cannot_pass_the_limit),
		cmocka_unit_test(test_enrolment_ends_sessions_without_it),
		cmocka_unit_test(test_password_change_ends_tokens_and_counts_failures),
		cmocka_unit_test(test_a_locked_name_is_unlocked_by_an_administrator),
		cmocka_unit_test(test_a_stolen_password_cannot_enrol),
		cmocka_unit_test(test_an_enrolment_code_expires),
		cmocka_unit_test(test_an_administrator_resets_a_lost_device),
		cmocka_unit_test(test_failures_spread_over_addresses_do_not_lock_out_a_known_place),
		cmocka_unit_test(test_an_address_that_keeps_failing_is_throttled),
		cmocka_unit_test(test_behind_a_trusted_proxy_each_client_counts_alone),
		cmocka_unit_test(test_sessions_end_when_idle_and_when_old),
		cmocka_unit_test(test_a_flood_of_refusals_is_counted_not_written_one_by_one),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
