/*
 * test_api_failclosed.c - the access log's disk fails under a real server
 * on 127.0.0.1 (a fault loaded into the server process: flushing the log's
 * journal fails with EIO, as a failing disk's would). Reads answered on the
 * event loop and requests run by workers alike are then answered 503
 * audit_unavailable and never with their data; the log keeps refusing once
 * the disk is back (its flush cannot be trusted) until the server is
 * restarted, and then the log verifies and reads are served again.
 */
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
	api_server_start(NULL);
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
	/* served while the disk is sound: on the loop and by a worker */
	assert_int_equal(get(user_path, admin.token, "\"username\"", &holds, NULL), 200);
	assert_true(holds);
	assert_int_equal(get("/api/v1/audit?user=1", admin.token, "\"events\"", &holds, NULL), 200);
	assert_true(holds);

	/* the disk fails: nothing is served, whoever answers */
	FILE *f = fopen(trigger, "w");
	assert_non_null(f);
	fclose(f);
	expect_refused(user_path, admin.token, "\"username\"");
	expect_refused("/api/v1/audit?user=1", admin.token, "\"events\"");
	expect_refused("/api/v1/inventory", admin.token, "\"categories\"");
	assert_int_equal(get("/api/v1/health", NULL, NULL, &holds, NULL), 503);
	/* the disk is back, but what it confirmed cannot be trusted: the log
	 * refuses until the server is restarted */
	unlink(trigger);
	expect_refused(user_path, admin.token, "\"username\"");
	api_server_terminate();

	api_server_restart(NULL); /* on a sound disk; the session lives on */
	assert_int_equal(get(user_path, admin.token, "\"username\"", &holds, NULL), 200);
	assert_true(holds);
	int status = api_server_terminate();
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
