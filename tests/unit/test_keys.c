/*
 * test_keys.c - master key rotation: every record and subject still reads
 * afterwards, no row refers to the old version and its file is gone; a
 * rotation interrupted by a failing disk leaves everything readable and
 * finishes when run again.
 */
#include <sqlite3.h>

#include "testsupport.h"
#include "steward/records.h"
#include "store/store.h"

static void populate(struct steward *st, int n, int64_t *records, int64_t *subjects)
{
	for (int i = 0; i < n; i++) {
		char ext[32];
		snprintf(ext, sizeof(ext), "S-%d", i);
		struct subject_input s = {.kind = "student", .external_id = ext,
					  .given_name = "Ann", .family_name = "Lee"};
		ASSERT_OK(subject_create(st, &ts_system, &s, &subjects[i], &ts_err));
		json_t *f = json_pack("{s:s, s:s}", "date", "2026-09-01", "status", "present");
		struct record_input in = {.subject_id = subjects[i], .category = "attendance",
					  .fields = f};
		ASSERT_OK(record_create(st, &ts_system, &in, &records[i], &ts_err));
		json_decref(f);
	}
}

static void check_all_read(struct steward *st, int n, const int64_t *records,
			   const int64_t *subjects)
{
	for (int i = 0; i < n; i++) {
		json_t *r = NULL;
		ASSERT_OK(record_read(st, &ts_system, records[i], NULL, &r, &ts_err));
		assert_string_equal(json_string_value(json_object_get(
					    json_object_get(r, "fields"), "status")),
				    "present");
		json_decref(r);
		ASSERT_OK(subject_get(st, &ts_system, subjects[i], &r, &ts_err));
		json_decref(r);
	}
}

static int64_t rows_at_version(const char *data, int version)
{
	char *db = xasprintf("%s/steward.db", data);
	sqlite3 *h;
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	sqlite3_stmt *s;
	assert_int_equal(sqlite3_prepare_v2(h,
					    "SELECT (SELECT COUNT(*) FROM data_key WHERE kek_version = ?1 "
					    "AND wrapped IS NOT NULL) + (SELECT COUNT(*) FROM system_key "
					    "WHERE kek_version = ?1)",
					    -1, &s, NULL),
			 SQLITE_OK);
	sqlite3_bind_int(s, 1, version);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	int64_t n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(h);
	free(db);
	return n;
}

static bool key_file(const char *data, int version)
{
	char *p = xasprintf("%s/keys/master-%d.json", data, version);
	bool ok = file_exists(p);
	free(p);
	return ok;
}

static void test_rotation(void **state)
{
	(void)state;
	char *dir = ts_tmpdir();
	char *data = ts_make_datadir(dir, NULL);
	struct steward *st = ts_open(data, NULL);
	enum { N = 20 };
	int64_t records[N], subjects[N];
	populate(st, N, records, subjects);
	struct rotation_report r;
	ASSERT_OK(steward_keys_rotate(st, &ts_system, NULL, &r, &ts_err));
	assert_int_equal(r.from_version, 1);
	assert_int_equal(r.to_version, 2);
	assert_int_equal(r.rewrapped, 2 * N + 4); /* data keys + four system keys */
	assert_int_equal(r.destroyed_versions, 1);
	assert_false(key_file(data, 1));
	assert_true(key_file(data, 2));
	assert_int_equal(rows_at_version(data, 1), 0);
	check_all_read(st, N, records, subjects);
	steward_close(st);
	/* and after reopening from disk, with only version 2 present */
	st = ts_open(data, NULL);
	check_all_read(st, N, records, subjects);
	/* blind indexes survive rotation (their key was rewrapped, not changed) */
	int64_t found = 0;
	ASSERT_OK(subject_find_external(st, &ts_system, "student", "S-7", &found, &ts_err));
	assert_int_equal(found, subjects[7]);
	steward_close(st);
	ts_rm_rf(dir);
	free(dir);
	free(data);
}

static void test_interrupted_rotation_resumes(void **state)
{
	(void)state;
	char *dir = ts_tmpdir();
	char *data = ts_make_datadir(dir, NULL);
	struct steward_options o = {.dir = data, .check_permissions = true,
				    .vfs = "steward-fault"};
	struct steward *st = NULL;
	ASSERT_OK(steward_open(&o, &st, &ts_err));
	enum { N = 300 }; /* 600 data keys: more than one rotation batch */
	int64_t *records = xcalloc(N, sizeof(int64_t)), *subjects = xcalloc(N, sizeof(int64_t));
	populate(st, N, records, subjects);

	/* the disk fails after the first batch is committed. The write-ahead
	 * log is emptied first, so that the flushes are the same whatever the
	 * timing: the new log's header, then the first batch's commit; the
	 * second batch's commit fails. */
	char *dbp = xasprintf("%s/steward.db", data);
	sqlite3 *h;
	assert_int_equal(sqlite3_open(dbp, &h), SQLITE_OK);
	sqlite3_busy_timeout(h, 5000);
	assert_int_equal(sqlite3_exec(h, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(h);
	free(dbp);
	store_fault_arm(STORE_FAULT_SYNC, 2, "steward.db");
	struct rotation_report r;
	struct st_error e = {0};
	assert_int_not_equal(steward_keys_rotate(st, &ts_system, NULL, &r, &e), ST_OK);
	store_fault_clear();
	/* half-way: both versions present, rows under each */
	assert_true(key_file(data, 1));
	assert_true(key_file(data, 2));
	assert_true(rows_at_version(data, 1) > 0);
	assert_true(rows_at_version(data, 2) > 0);
	/* nothing is lost meanwhile: everything still reads */
	check_all_read(st, N, records, subjects);
	steward_close(st);

	/* a new process resumes: no third version, the rest rewrapped */
	st = ts_open(data, NULL);
	check_all_read(st, N, records, subjects);
	ASSERT_OK(steward_keys_rotate(st, &ts_system, NULL, &r, &ts_err));
	assert_int_equal(r.to_version, 2);
	assert_true(r.rewrapped > 0 && r.rewrapped < 2 * N + 3);
	assert_int_equal(r.destroyed_versions, 1);
	assert_false(key_file(data, 1));
	assert_false(key_file(data, 3));
	assert_int_equal(rows_at_version(data, 1), 0);
	check_all_read(st, N, records, subjects);
	steward_close(st);
	free(records);
	free(subjects);
	ts_rm_rf(dir);
	free(dir);
	free(data);
}

static void test_passphrase_rotation(void **state)
{
	(void)state;
	char *dir = ts_tmpdir();
	const char *pp = "first passphrase of the district";
	char *data = ts_make_datadir(dir, pp);
	struct steward *st = ts_open(data, pp);
	int64_t rec[2], sub[2];
	populate(st, 2, rec, sub);
	struct rotation_report r;
	const char *pp2 = "second passphrase of the district";
	ASSERT_OK(steward_keys_rotate(st, &ts_system, pp2, &r, &ts_err));
	steward_close(st);
	/* the old passphrase no longer opens it; the new one does */
	struct steward_options o = {.dir = data, .passphrase = pp, .check_permissions = true};
	struct st_error e = {0};
	st = NULL;
	assert_int_equal(steward_open(&o, &st, &e), ST_EAUTH);
	assert_null(st);
	st = ts_open(data, pp2);
	check_all_read(st, 2, rec, sub);
	steward_close(st);
	ts_rm_rf(dir);
	free(dir);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_interrupted_rotation_resumes),
		cmocka_unit_test(test_passphrase_rotation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
