/*
 * test_api_failclosed.c - the access log's disk fails under a real server
 * on 127.0.0.1 (a fault loaded into the server process: flushing the log's
 * journal fails with EIO, as a failing disk's would). Reads answered on the
 * event loop and requests run by workers alike are then answered 503
 * audit_unavailable and never with their data; the log keeps refusing once
 * the disk is back (its flush cannot be trusted) until the server is
 * restarted, and then the log verifies and reads are served again. Reads
 * are answered on the event loop, not by the one worker thread, which a
 * write lock held from outside keeps waiting.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "apiclient.h"

static char *tmp, *trigger;
static char env_trigger[600];

static int setup(void **state)
{
	(void)state;
	tmp = ts_tmpdir();
	trigger = xasprintf("%s/fail-now", tmp);
	snprintf(env_trigger, sizeof(env_trigger), "STEWARD_FAILSYNC_TRIGGER=%s", trigger);
	static const char *env[] = {"LD_PRELOAD=" STEWARD_FAILSYNC, NULL,
				    "STEWARD_FAILSYNC_MATCH=audit-journal",
				    "ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=1:abort_on_error=1",
				    NULL};
	env[1] = env_trigger;
	api_server_env = env;
	static const char *const args[] = {"--threads", "1", NULL};
	api_server_start(args);
	api_server_env = NULL;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	api_server_stop();
	ts_rm_rf(tmp);
	free(tmp);
	free(trigger);
	return 0;
}

/* GET path: the status, and whether the body holds text. */
static long get(const char *path, const char *token, const char *text, bool *holds,
		const char **code)
{
	static char last_code[64];
	json_t *o = NULL;
	long st = api_call("GET", path, token, NULL, &o);
	char *dump = o ? json_dumps(o, 0) : xstrdup("");
	*holds = text && strstr(dump, text) != NULL;
	const char *c = json_string_value(json_object_get(json_object_get(o, "error"), "code"));
	str_copy(last_code, sizeof(last_code), c ? c : "");
	if (code)
		*code = last_code;
	free(dump);
	json_decref(o);
	return st;
}

static void expect_refused(const char *path, const char *token, const char *secret)
{
	bool holds = false;
	const char *code = NULL;
	long st = get(path, token, secret, &holds, &code);
	if (st != 503 || !str_eq(code, "audit_unavailable") || holds)
		fail_msg("GET %s with the log failing: %ld %s%s", path, st, code,
			 holds ? " (and the data)" : "");
}

/* A change (run by a worker) made from another thread. */
struct change {
	const char *token;
	long status;
	atomic_bool done;
};

static void *change_main(void *arg)
{
	struct change *c = arg;
	c->status = api_call("POST", "/api/v1/subjects", c->token,
			     "{\"kind\":\"student\",\"external_id\":\"SIS-2\",\"given_name\":"
			     "\"Bo\",\"family_name\":\"Lee\",\"organization\":\"school-a\"}",
			     NULL);
	atomic_store(&c->done, true);
	return NULL;
}

static void test_log_fails(void **state)
{
	(void)state;
	struct who admin = {0};
	api_login(&admin, TS_ADMIN, TS_PASSWORD);
	bool holds = false;
	/* another account: reading it is logged (reading one's own is not) */
	int64_t clerk = api_create("/api/v1/users", admin.token,
				   "{\"username\":\"clerk\",\"password\":\"quartz harbor violin "
				   "88\",\"display_name\":\"Clerk\",\"roles\":[\"teacher\"]}");
	char user_path[64];
	snprintf(user_path, sizeof(user_path), "/api/v1/users/%lld", (long long)clerk);
	/* a teacher who keeps a student's grades: the record read the server
	 * answers on its event loop, fields served as sealed */
	char body[512], day[16], rec_path[96], subj_path[96];
	api_create("/api/v1/organizations", admin.token,
		   "{\"code\":\"school-a\",\"name\":\"A School\",\"kind\":\"school\"}");
	int64_t teacher = api_create("/api/v1/users", admin.token,
				     "{\"username\":\"teach1\",\"password\":\"kestrel meadow "
				     "lantern 7\",\"must_change_password\":false,\"display_name\":"
				     "\"T One\",\"roles\":[\"teacher\"],\"organization\":\"school-a\"}");
	snprintf(body, sizeof(body),
		 "{\"user\":%lld,\"course\":\"student-records-confidentiality\","
		 "\"completed_on\":\"%s\"}",
		 (long long)teacher, api_day(-30, day));
	api_create("/api/v1/training/completions", admin.token, body);
	int64_t student = api_create("/api/v1/subjects", admin.token,
				     "{\"kind\":\"student\",\"external_id\":\"SIS-1\","
				     "\"given_name\":\"Ada\",\"family_name\":\"Byron\","
				     "\"organization\":\"school-a\"}");
	snprintf(body, sizeof(body), "{\"user\":%lld,\"subject\":%lld,\"kind\":\"teacher_of\"}",
		 (long long)teacher, (long long)student);
	api_create("/api/v1/relationships", admin.token, body);
	struct who t1 = {0};
	api_login(&t1, "teach1", "kestrel meadow lantern 7");
	snprintf(body, sizeof(body),
		 "{\"subject\":%lld,\"category\":\"academic\",\"fields\":{\"course\":"
		 "\"Algebra I\",\"grade\":\"A\",\"comments\":\"quiet-marker-51\"}}",
		 (long long)student);
	int64_t record = api_create("/api/v1/records", t1.token, body);
	snprintf(rec_path, sizeof(rec_path), "/api/v1/records/%lld?purpose=grading",
		 (long long)record);
	/* the designee reads students district-wide, stating why */
	snprintf(subj_path, sizeof(subj_path), "/api/v1/subjects/%lld?purpose=enrolment+check",
		 (long long)student);
	assert_int_equal(get(rec_path, t1.token, "quiet-marker-51", &holds, NULL), 200);
	assert_true(holds);
	assert_int_equal(get(subj_path, admin.token, "Byron", &holds, NULL), 200);
	assert_true(holds);

	/* Reads are answered on the event loop: with the one worker thread
	 * stuck behind a write lock held from outside, the read is answered
	 * while the change waits. (If the read went to the worker, it would
	 * come after the change.) */
	char *dbpath = xasprintf("%s/steward.db", api_data);
	sqlite3 *lock = NULL;
	assert_int_equal(sqlite3_open(dbpath, &lock), SQLITE_OK);
	assert_int_equal(sqlite3_exec(lock, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	struct change ch = {.token = admin.token};
	pthread_t th;
	pthread_create(&th, NULL, change_main, &ch);
	usleep(300000); /* for the change to reach the worker (if not, this proves less) */
	assert_int_equal(get(rec_path, t1.token, "quiet-marker-51", &holds, NULL), 200);
	assert_true(holds);
	assert_false(atomic_load(&ch.done));
	assert_int_equal(sqlite3_exec(lock, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(lock);
	free(dbpath);
	pthread_join(th, NULL);
	assert_int_equal(ch.status, 201);
	/* served while the disk is sound: on the loop and by a worker */
	assert_int_equal(get(user_path, admin.token, "\"username\"", &holds, NULL), 200);
	assert_true(holds);
	assert_int_equal(get("/api/v1/audit?user=1", admin.token, "\"events\"", &holds, NULL), 200);
	assert_true(holds);

	/* the disk fails: nothing is served, whoever answers */
	FILE *f = fopen(trigger, "w");
	assert_non_null(f);
	fclose(f);
	expect_refused(rec_path, t1.token, "quiet-marker-51");
	expect_refused(user_path, admin.token, "\"username\"");
	expect_refused(subj_path, admin.token, "Byron");
	expect_refused(rec_path, t1.token, "quiet-marker-51");
	expect_refused("/api/v1/audit?user=1", admin.token, "\"events\"");
	expect_refused("/api/v1/inventory", admin.token, "\"categories\"");
	assert_int_equal(get("/api/v1/health", NULL, NULL, &holds, NULL), 503);
	/* the disk is back, but what it confirmed cannot be trusted: the log
	 * refuses until the server is restarted */
	unlink(trigger);
	expect_refused(user_path, admin.token, "\"username\"");
	expect_refused(rec_path, t1.token, "quiet-marker-51");
	int status = api_server_terminate();
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	api_server_restart(NULL); /* on a sound disk; the sessions live on */
	assert_int_equal(get(user_path, admin.token, "\"username\"", &holds, NULL), 200);
	assert_true(holds);
	assert_int_equal(get(rec_path, t1.token, "quiet-marker-51", &holds, NULL), 200);
	assert_true(holds);
	status = api_server_terminate();
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	char *out = NULL;
	char *cmd = xasprintf("%s audit verify --data %s", STEWARD_BINARY, api_data);
	assert_int_equal(ts_run(cmd, &out), 0);
	free(out);
	free(cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_log_fails, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
