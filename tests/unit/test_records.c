/*
 * test_records.c - the encrypted record store: round trips, versions,
 * inventory refusals that write nothing, tampering (flipped bytes, swapped
 * ciphertexts, moved keys) detected, crypto-shredding, blind indexes that
 * leave no name or SSN in the database files, and master key rotation,
 * including one interrupted by a failing disk.
 */
#include <sqlite3.h>

#include "testsupport.h"
#include "steward/records.h"
#include "store/store.h"

struct fixture {
	char *dir;
	char *data;
	struct steward *st;
	int64_t student, employee;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	f->dir = ts_tmpdir();
	f->data = ts_make_datadir(f->dir, NULL);
	f->st = ts_open(f->data, NULL);
	struct subject_input s = {.kind = "student", .external_id = "SIS-100234",
				  .given_name = "Marisol", .family_name = "Quintanilla",
				  .date_of_birth = "2012-04-09"};
	ASSERT_OK(subject_create(f->st, &ts_system, &s, &f->student, &ts_err));
	struct subject_input emp = {.kind = "employee", .external_id = "EMP-77",
				    .given_name = "Theodora", .family_name = "Vasquez-Lindqvist"};
	ASSERT_OK(subject_create(f->st, &ts_system, &emp, &f->employee, &ts_err));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	steward_close(f->st);
	ts_rm_rf(f->dir);
	free(f->dir);
	free(f->data);
	free(f);
	return 0;
}

static int64_t make_record(struct fixture *f, int64_t subject, const char *category,
			   const char *fields)
{
	json_error_t je;
	json_t *j = json_loads(fields, 0, &je);
	assert_non_null(j);
	struct record_input in = {.subject_id = subject, .category = category, .fields = j};
	int64_t id = 0;
	ASSERT_OK(record_create(f->st, &ts_system, &in, &id, &ts_err));
	json_decref(j);
	return id;
}

static int64_t count_rows(struct fixture *f, const char *table)
{
	char *db = xasprintf("%s/steward.db", f->data);
	sqlite3 *h;
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	char *sql = xasprintf("SELECT COUNT(*) FROM %s", table);
	sqlite3_stmt *s;
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	int64_t n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(h);
	free(sql);
	free(db);
	return n;
}

/* Runs SQL directly against the database file: the attacker's view. */
static void tamper(struct fixture *f, const char *sql)
{
	char *db = xasprintf("%s/steward.db", f->data);
	sqlite3 *h;
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	sqlite3_busy_timeout(h, 5000);
	char *msg = NULL;
	if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("tamper: %s", msg);
	sqlite3_close(h);
	free(db);
}

static void test_round_trip_and_versions(void **state)
{
	struct fixture *f = *state;
	int64_t id = make_record(f, f->student, "health",
				 "{\"conditions\":\"asthma\",\"medications\":\"albuterol\"}");
	json_t *r = NULL;
	ASSERT_OK(record_read(f->st, &ts_system, id, "care", &r, &ts_err));
	assert_string_equal(json_string_value(json_object_get(r, "category")), "health");
	assert_string_equal(json_string_value(json_object_get(r, "classification")),
			    "restricted");
	assert_int_equal(json_integer_value(json_object_get(r, "subject")), f->student);
	assert_string_equal(json_string_value(json_object_get(r, "series")), "EX-STU-HEALTH");
	/* where it came from: "steward" unless the caller names a source */
	assert_string_equal(json_string_value(json_object_get(r, "source")), "steward");
	json_t *fields = json_object_get(r, "fields");
	assert_string_equal(json_string_value(json_object_get(fields, "conditions")), "asthma");
	json_decref(r);

	/* update: a new version; null removes; the first version is kept */
	json_t *patch = json_pack("{s:s, s:n}", "conditions", "asthma, peanut allergy",
				  "medications");
	int v = 0;
	ASSERT_OK(record_update(f->st, &ts_system, id, NULL, patch, &v, &ts_err));
	json_decref(patch);
	assert_int_equal(v, 2);
	ASSERT_OK(record_read(f->st, &ts_system, id, "care", &r, &ts_err));
	fields = json_object_get(r, "fields");
	assert_string_equal(json_string_value(json_object_get(fields, "conditions")),
			    "asthma, peanut allergy");
	assert_null(json_object_get(fields, "medications"));
	assert_int_equal(json_integer_value(json_object_get(r, "version")), 2);
	json_decref(r);
	ASSERT_OK(record_read_version(f->st, &ts_system, id, 1, NULL, &r, &ts_err));
	fields = json_object_get(r, "fields");
	assert_string_equal(json_string_value(json_object_get(fields, "medications")),
			    "albuterol");
	json_decref(r);
	struct st_error e = {0};
	assert_int_equal(record_read_version(f->st, &ts_system, id, 3, NULL, &r, &e), ST_ENOTFOUND);

	/* soft delete: no longer served, cannot be changed */
	ASSERT_OK(record_delete(f->st, &ts_system, id, NULL, &ts_err));
	assert_int_equal(record_read(f->st, &ts_system, id, "care", &r, &e), ST_EGONE);
	patch = json_pack("{s:s}", "conditions", "x");
	assert_int_equal(record_update(f->st, &ts_system, id, NULL, patch, &v, &e), ST_EGONE);
	json_decref(patch);
	assert_int_equal(record_delete(f->st, &ts_system, id, NULL, &e), ST_EGONE);
	assert_int_equal(record_read(f->st, &ts_system, 999999, NULL, &r, &e), ST_ENOTFOUND);
}

static void expect_refused(struct fixture *f, int64_t subject, const char *category,
			   const char *fields, const char *field, const char *code)
{
	int64_t before = count_rows(f, "record"), before_v = count_rows(f, "record_version"),
		before_k = count_rows(f, "data_key");
	json_error_t je;
	json_t *j = json_loads(fields, 0, &je);
	struct record_input in = {.subject_id = subject, .category = category, .fields = j};
	int64_t id = 0;
	struct st_error e = {0};
	/* a subject that does not exist is not found; the rest is bad input */
	assert_int_equal(record_create(f->st, &ts_system, &in, &id, &e),
			 str_eq(code, "subject_not_found") ? ST_ENOTFOUND : ST_EINVAL);
	assert_string_equal(e.field, field);
	assert_string_equal(e.code, code);
	json_decref(j);
	/* nothing was written */
	assert_int_equal(count_rows(f, "record"), before);
	assert_int_equal(count_rows(f, "record_version"), before_v);
	assert_int_equal(count_rows(f, "data_key"), before_k);
}

static void test_source_is_kept(void **state)
{
	struct fixture *f = *state;
	json_t *fields = json_pack("{s:s}", "conditions", "asthma");
	struct record_input in = {.subject_id = f->student, .category = "health",
				  .fields = fields, .source = "district SIS import 2026-11"};
	int64_t id = 0;
	ASSERT_OK(record_create(f->st, &ts_system, &in, &id, &ts_err));
	json_decref(fields);
	json_t *r = NULL;
	ASSERT_OK(record_read(f->st, &ts_system, id, "care", &r, &ts_err));
	assert_string_equal(json_string_value(json_object_get(r, "source")),
			    "district SIS import 2026-11");
	json_decref(r);
}

static void test_inventory_refusals_write_nothing(void **state)
{
	struct fixture *f = *state;
	expect_refused(f, f->student, "health", "{\"conditions\":\"x\",\"blood_type\":\"O\"}",
		       "fields.blood_type", "undeclared_field");
	expect_refused(f, f->student, "attendance", "{\"date\":\"yesterday\",\"status\":\"present\"}",
		       "fields.date", "wrong_type");
	expect_refused(f, f->student, "horoscope", "{\"sign\":\"leo\"}", "category",
		       "unknown_category");
	expect_refused(f, f->student, "payroll", "{\"ssn\":\"123-45-6789\"}", "subject",
		       "wrong_subject_kind");
	expect_refused(f, 424242, "health", "{\"conditions\":\"x\"}", "subject",
		       "subject_not_found");
	/* an update with an undeclared field changes nothing either */
	int64_t id = make_record(f, f->student, "academic", "{\"course\":\"Algebra I\",\"grade\":\"B\"}");
	int64_t before_v = count_rows(f, "record_version");
	json_t *patch = json_pack("{s:s}", "gpa_rank", "3");
	struct st_error e = {0};
	int v = 0;
	assert_int_equal(record_update(f->st, &ts_system, id, NULL, patch, &v, &e), ST_EINVAL);
	assert_string_equal(e.field, "fields.gpa_rank");
	json_decref(patch);
	patch = json_pack("{s:n}", "course");
	assert_int_equal(record_update(f->st, &ts_system, id, NULL, patch, &v, &e), ST_EINVAL);
	assert_string_equal(e.field, "fields.course");
	json_decref(patch);
	assert_int_equal(count_rows(f, "record_version"), before_v);
}

static void test_tampering_detected(void **state)
{
	struct fixture *f = *state;
	int64_t a = make_record(f, f->student, "discipline",
				"{\"incident_date\":\"2026-10-01\",\"offense\":\"fighting\"}");
	int64_t b = make_record(f, f->student, "discipline",
				"{\"incident_date\":\"2026-10-02\",\"offense\":\"truancy\"}");
	json_t *r = NULL;
	struct st_error e = {0};

	/* one flipped byte in the ciphertext (read, flip, write back) */
	char *db = xasprintf("%s/steward.db", f->data);
	sqlite3 *h;
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	sqlite3_busy_timeout(h, 5000);
	sqlite3_stmt *s;
	assert_int_equal(sqlite3_prepare_v2(h, "SELECT sealed FROM record_version WHERE record_id = ?",
					    -1, &s, NULL), SQLITE_OK);
	sqlite3_bind_int64(s, 1, a);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	int len = sqlite3_column_bytes(s, 0);
	unsigned char *blob = xmalloc((size_t)len);
	memcpy(blob, sqlite3_column_blob(s, 0), (size_t)len);
	sqlite3_finalize(s);
	blob[len / 2] ^= 0x01;
	assert_int_equal(sqlite3_prepare_v2(h, "UPDATE record_version SET sealed = ? WHERE record_id = ?",
					    -1, &s, NULL), SQLITE_OK);
	sqlite3_bind_blob(s, 1, blob, len, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, a);
	assert_int_equal(sqlite3_step(s), SQLITE_DONE);
	sqlite3_finalize(s);
	assert_int_equal(record_read(f->st, &ts_system, a, NULL, &r, &e), ST_ECRYPTO);
	assert_string_equal(e.code, "integrity_error");
	/* restore it */
	blob[len / 2] ^= 0x01;
	assert_int_equal(sqlite3_prepare_v2(h, "UPDATE record_version SET sealed = ? WHERE record_id = ?",
					    -1, &s, NULL), SQLITE_OK);
	sqlite3_bind_blob(s, 1, blob, len, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, a);
	assert_int_equal(sqlite3_step(s), SQLITE_DONE);
	sqlite3_finalize(s);
	free(blob);
	sqlite3_close(h);
	free(db);
	ASSERT_OK(record_read(f->st, &ts_system, a, NULL, &r, &ts_err));
	json_decref(r);

	/* the associated data: the record moved to another subject or category */
	char *q = xasprintf("UPDATE record SET subject_id = %lld WHERE id = %lld",
			    (long long)f->employee, (long long)a);
	tamper(f, q);
	free(q);
	assert_int_equal(record_read(f->st, &ts_system, a, NULL, &r, &e), ST_ECRYPTO);
	q = xasprintf("UPDATE record SET subject_id = %lld, category = 'academic' WHERE id = %lld",
		      (long long)f->student, (long long)a);
	tamper(f, q);
	free(q);
	assert_int_equal(record_read(f->st, &ts_system, a, NULL, &r, &e), ST_ECRYPTO);
	q = xasprintf("UPDATE record SET category = 'discipline' WHERE id = %lld", (long long)a);
	tamper(f, q);
	free(q);
	ASSERT_OK(record_read(f->st, &ts_system, a, NULL, &r, &ts_err));
	json_decref(r);

	/* two records' ciphertexts swapped (with their keys): detected */
	q = xasprintf("UPDATE record_version SET record_id = -1 WHERE record_id = %lld;"
		      "UPDATE record_version SET record_id = %lld WHERE record_id = %lld;"
		      "UPDATE record_version SET record_id = %lld WHERE record_id = -1;",
		      (long long)a, (long long)a, (long long)b, (long long)b);
	tamper(f, q);
	free(q);
	assert_int_equal(record_read(f->st, &ts_system, a, NULL, &r, &e), ST_ECRYPTO);
	assert_int_equal(record_read(f->st, &ts_system, b, NULL, &r, &e), ST_ECRYPTO);
	/* swap the data keys too: the key's binding to its owner catches it */
	q = xasprintf("UPDATE record SET data_key_id = (SELECT data_key_id FROM record WHERE id = %lld) "
		      "WHERE id = %lld", (long long)b, (long long)a);
	tamper(f, q);
	free(q);
	assert_int_equal(record_read(f->st, &ts_system, a, NULL, &r, &e), ST_ECRYPTO);

	/* a flipped byte in a wrapped key */
	int64_t c = make_record(f, f->student, "discipline",
				"{\"incident_date\":\"2026-10-03\",\"offense\":\"vaping\"}");
	q = xasprintf("UPDATE data_key SET wrapped = zeroblob(length(wrapped)) "
		      "WHERE owner = 'record:%lld'", (long long)c);
	tamper(f, q);
	free(q);
	assert_int_equal(record_read(f->st, &ts_system, c, NULL, &r, &e), ST_ECRYPTO);
}

static void test_shredding(void **state)
{
	struct fixture *f = *state;
	int64_t id = make_record(f, f->employee, "background_check",
				 "{\"check_date\":\"2026-01-05\",\"result\":\"clear\","
				 "\"report\":\"nothing found\"}");
	json_t *r = NULL;
	ASSERT_OK(record_read(f->st, &ts_system, id, NULL, &r, &ts_err));
	json_decref(r);
	ASSERT_OK(record_shred(f->st, &ts_system, id, &ts_err));
	struct st_error e = {0};
	assert_int_equal(record_read(f->st, &ts_system, id, NULL, &r, &e), ST_EGONE);
	assert_int_equal(record_read_version(f->st, &ts_system, id, 1, NULL, &r, &e), ST_EGONE);
	assert_int_equal(record_shred(f->st, &ts_system, id, &e), ST_EGONE);
	/* the key row holds nothing */
	char *db = xasprintf("%s/steward.db", f->data);
	sqlite3 *h;
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	sqlite3_stmt *s;
	char *q = xasprintf("SELECT wrapped IS NULL, destroyed_at IS NOT NULL FROM data_key "
			    "WHERE owner = 'record:%lld'", (long long)id);
	assert_int_equal(sqlite3_prepare_v2(h, q, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(s, 0), 1);
	assert_int_equal(sqlite3_column_int(s, 1), 1);
	sqlite3_finalize(s);
	sqlite3_close(h);
	free(q);
	free(db);
	/* a soft-deleted record can still be shredded */
	int64_t id2 = make_record(f, f->employee, "personnel", "{\"position\":\"Teacher\"}");
	ASSERT_OK(record_delete(f->st, &ts_system, id2, NULL, &ts_err));
	ASSERT_OK(record_shred(f->st, &ts_system, id2, &ts_err));
}

static void test_no_plaintext_in_files(void **state)
{
	struct fixture *f = *state;
	const char *ssn = "219-09-9999";
	json_t *j = json_pack("{s:s, s:s}", "ssn", ssn, "bank_account_number", "000123456789");
	struct record_input in = {.subject_id = f->employee, .category = "payroll", .fields = j};
	int64_t id = 0;
	ASSERT_OK(record_create(f->st, &ts_system, &in, &id, &ts_err));
	json_decref(j);
	/* searchable through the blind indexes */
	int64_t found = 0;
	ASSERT_OK(subject_find_external(f->st, &ts_system, "student", " SIS-100234 ", &found, &ts_err));
	assert_int_equal(found, f->student);
	json_t *ids = NULL;
	ASSERT_OK(subject_find_name(f->st, &ts_system, "QUINTANILLA", "marisol", &ids, &ts_err));
	assert_int_equal(json_array_size(ids), 1);
	json_decref(ids);
	ASSERT_OK(subject_find_name(f->st, &ts_system, "quintanilla", NULL, &ids, &ts_err));
	assert_int_equal(json_array_size(ids), 1);
	json_decref(ids);
	json_t *subj = NULL;
	ASSERT_OK(subject_get(f->st, &ts_system, f->student, &subj, &ts_err));
	assert_string_equal(json_string_value(json_object_get(subj, "given_name")), "Marisol");
	assert_string_equal(json_string_value(json_object_get(subj, "date_of_birth")), "2012-04-09");
	json_decref(subj);
	/* duplicate external id refused */
	struct subject_input dup = {.kind = "student", .external_id = "sis-100234",
				    .given_name = "X", .family_name = "Y"};
	int64_t d = 0;
	struct st_error e = {0};
	assert_int_equal(subject_create(f->st, &ts_system, &dup, &d, &e), ST_ECONFLICT);
	assert_string_equal(e.field, "external_id");

	/* grep every file of the data directory (WAL included) */
	static const char *const secrets[] = {"219-09-9999", "000123456789", "Quintanilla",
					      "Marisol", "SIS-100234", "Vasquez-Lindqvist",
					      "2012-04-09", "albuterol"};
	static const char *const files[] = {"steward.db", "steward.db-wal"};
	for (size_t i = 0; i < ARRAY_LEN(files); i++) {
		char *p = xasprintf("%s/%s", f->data, files[i]);
		for (size_t k = 0; k < ARRAY_LEN(secrets); k++)
			if (ts_file_count(p, secrets[k], strlen(secrets[k])))
				fail_msg("%s found in %s", secrets[k], files[i]);
		free(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip_and_versions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_source_is_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inventory_refusals_write_nothing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_tampering_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shredding, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_plaintext_in_files, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
