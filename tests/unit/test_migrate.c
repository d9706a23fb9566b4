/*
 * test_migrate.c - schema migrations: they apply on an empty database and
 * on a database at every earlier version (with its data kept), they are
 * recorded, re-running is harmless, and a database newer than the program
 * is refused.
 */
#include <sqlite3.h>

#include "testsupport.h"
#include "store/store.h"

static struct store *open_store(const char *path)
{
	struct store_options o = {.backend = "sqlite", .location = path, .create = true,
				  .pool_size = 1};
	struct store *s = NULL;
	ASSERT_OK(store_open(&o, &s, &ts_err));
	return s;
}

static void test_component(const char *component)
{
	int latest = store_schema_latest(component);
	assert_true(latest >= 1);
	char *dir = ts_tmpdir();
	for (int from = 0; from < latest; from++) {
		char *path = xasprintf("%s/%s-%d.db", dir, component, from);
		struct store *s = open_store(path);
		if (from > 0)
			ASSERT_OK(store_migrate(s, component, from, &ts_err));
		int v = -1;
		ASSERT_OK(store_schema_version(s, component, &v, &ts_err));
		assert_int_equal(v, from);
		/* a marker table survives the upgrade untouched */
		struct store_conn *c;
		ASSERT_OK(store_acquire(s, &c, &ts_err));
		ASSERT_OK(store_exec(c, "CREATE TABLE marker (x INTEGER); INSERT INTO marker VALUES (42)",
				     &ts_err));
		store_release(c);
		ASSERT_OK(store_migrate(s, component, -1, &ts_err));
		ASSERT_OK(store_schema_version(s, component, &v, &ts_err));
		assert_int_equal(v, latest);
		ASSERT_OK(store_acquire(s, &c, &ts_err));
		int64_t n = 0;
		ASSERT_OK(store_query_int(c, &n, &ts_err,
					  "SELECT COUNT(*) FROM schema_migrations WHERE component = ?",
					  "t", component));
		assert_int_equal(n, latest);
		ASSERT_OK(store_query_int(c, &n, &ts_err, "SELECT x FROM marker", ""));
		assert_int_equal(n, 42);
		store_release(c);
		/* running again changes nothing */
		ASSERT_OK(store_migrate(s, component, -1, &ts_err));
		store_close(s);
		free(path);
	}
	/* a database from a newer program is refused */
	char *path = xasprintf("%s/newer.db", dir);
	struct store *s = open_store(path);
	ASSERT_OK(store_migrate(s, component, -1, &ts_err));
	struct store_conn *c;
	ASSERT_OK(store_acquire(s, &c, &ts_err));
	ASSERT_OK(store_run(c, &ts_err,
			    "INSERT INTO schema_migrations (component, version, name, applied_at) "
			    "VALUES (?, ?, 'future', 0)",
			    "ti", component, (int64_t)latest + 1));
	store_release(c);
	struct st_error e = {0};
	assert_int_equal(store_migrate(s, component, -1, &e), ST_ECONFLICT);
	assert_non_null(strstr(e.message, "newer"));
	store_close(s);
	free(path);
	ts_rm_rf(dir);
	free(dir);
}

static void test_main_schema(void **state)
{
	(void)state;
	test_component("main");
}

static void test_audit_schema(void **state)
{
	(void)state;
	test_component("audit");
}

static void test_audit_index_schema(void **state)
{
	(void)state;
	test_component("audit_index");
}

static void test_unknown_component(void **state)
{
	(void)state;
	char *dir = ts_tmpdir();
	char *path = xasprintf("%s/x.db", dir);
	struct store *s = open_store(path);
	struct st_error e = {0};
	assert_int_equal(store_migrate(s, "nonesuch", -1, &e), ST_EINVAL);
	assert_int_equal(store_migrate(s, "main", 999, &e), ST_EINVAL);
	store_close(s);
	free(path);
	ts_rm_rf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_main_schema),
		cmocka_unit_test(test_audit_schema),
		cmocka_unit_test(test_audit_index_schema),
		cmocka_unit_test(test_unknown_component),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
