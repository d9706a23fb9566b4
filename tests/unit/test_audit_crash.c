/*
 * test_audit_crash.c - crash safety of the access log: a child process
 * appends from many threads and reports each sequence number the moment
 * audit_append() says it is durable; the parent kills it with SIGKILL at a
 * random moment, many times over, and checks after every kill that every
 * event reported durable is present and the whole log verifies (read-only,
 * with what is still only in the journal), and that reopening moves it all
 * into the log database.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testsupport.h"
#include "audit/audit.h"
#include "core/context.h"

enum { THREADS = 8, ROUNDS = 20 };

struct child {
	struct steward *st;
	int fd;
};

static void *child_worker(void *arg)
{
	struct child *c = arg;
	for (int64_t i = 0;; i++) {
		struct actor who = {.user_id = 1 + (int64_t)(i % 50), .via = "test"};
		struct audit_event ev = {.action = "record.read", .outcome = i % 9 ? "allow" : "deny",
					 .record_id = 1 + i, .subject_id = 1 + i % 77,
					 .purpose = "crash test"};
		int64_t seq = -1;
		struct st_error e = {0};
		if (steward_audit(c->st, &who, &ev, &seq, &e) != ST_OK)
			continue;
		/* reported only after the append said it is durable */
		if (write(c->fd, &seq, sizeof(seq)) != sizeof(seq))
			_exit(3);
	}
	return NULL;
}

static _Noreturn void child_main(const char *data, int fd, size_t segment)
{
	struct steward_options o = {.dir = data, .check_permissions = true,
				    .journal_segment = segment};
	struct child c = {NULL, fd};
	struct st_error e = {0};
	if (steward_open(&o, &c.st, &e) != ST_OK)
		_exit(2);
	pthread_t th[THREADS];
	for (int i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, child_worker, &c);
	for (;;)
		pause();
}

static void test_sigkill_during_appends(void **state)
{
	(void)state;
	char *dir = ts_tmpdir();
	char *data = ts_make_datadir(dir, NULL);
	struct steward *st = ts_open(data, NULL);
	unsigned char pk[SIGN_PUBLIC_BYTES], jkey[KEY_BYTES];
	memcpy(pk, st->sign_pk, SIGN_PUBLIC_BYTES);
	audit_journal_key(st->sign_sk, jkey);
	steward_close(st);
	char *db = xasprintf("%s/audit.db", data);
	char *witness = xasprintf("%s/audit-witness.json", data);
	const char *witnesses[1] = {witness};
	struct audit_verify_options vo = {.db_path = db, .pk = pk, .journal_key = jkey,
					  .witnesses = witnesses, .nwitnesses = 1};
	srand(12345);
	int64_t max_reported = -1;
	uint64_t total_reported = 0;
	for (int round = 0; round < ROUNDS; round++) {
		int p[2];
		assert_int_equal(pipe(p), 0);
		fflush(NULL);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(p[0]);
			/* every other round, small journal segments: the kill
			 * also lands while segments are being switched */
			child_main(data, p[1], round % 2 ? 16 * 1024 : 0);
		}
		close(p[1]);
		/* once it is appending (ten events reported, however slow the
		 * machine), let it run a random while, then kill it mid-flight */
		int64_t seq;
		ssize_t n;
		uint64_t reported = 0;
		while (reported < 10 && (n = read(p[0], &seq, sizeof(seq))) == sizeof(seq)) {
			if (seq > max_reported)
				max_reported = seq;
			reported++;
		}
		assert_int_equal(reported, 10);
		usleep(20000 + (useconds_t)(rand() % 250000));
		kill(pid, SIGKILL);
		int status = 0;
		waitpid(pid, &status, 0);
		assert_true(WIFSIGNALED(status));
		while ((n = read(p[0], &seq, sizeof(seq))) == sizeof(seq)) {
			if (seq > max_reported)
				max_reported = seq;
			reported++;
		}
		close(p[0]);
		total_reported += reported;
		/* everything reported durable is there, and the log verifies */
		struct audit_verify_report r;
		struct st_error e = {0};
		int rc = audit_verify(&vo, &r, &e);
		if (rc != ST_OK)
			fail_msg("round %d: %s", round, e.message);
		assert_true((int64_t)r.tree_size > max_reported);
	}
	/* it was a real test: many events were appended and killed mid-way */
	assert_true(total_reported >= 10 * ROUNDS);
	/* and a normal open afterwards appends and signs on top */
	st = ts_open(data, NULL);
	struct audit_event ev = {.action = "record.read", .outcome = "allow"};
	int64_t seq = 0;
	ASSERT_OK(steward_audit(st, &ts_system, &ev, &seq, &ts_err));
	assert_true(seq > max_reported);
	steward_close(st);
	struct audit_verify_report r;
	struct st_error e = {0};
	assert_int_equal(audit_verify(&vo, &r, &e), ST_OK);
	assert_int_equal(r.unsigned_tail, 0);
	free(db);
	free(witness);
	free(data);
	ts_rm_rf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sigkill_during_appends),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
