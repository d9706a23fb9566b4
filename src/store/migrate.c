/*
 * migrate.c - versioned, forward-only schema migrations, recorded in the
 * database itself (schema_migrations). Each migration runs in its own
 * transaction, so an interrupted upgrade leaves the database at the last
 * complete version and simply resumes.
 */
#include "store/schema.h"

struct component {
	const char *name;
	const struct migration *list;
	const size_t *count;
};

static const struct component components[] = {
	{"main", schema_main, &schema_main_count},
	{"audit", schema_audit, &schema_audit_count},
	{"audit_index", schema_audit_index, &schema_audit_index_count},
};

static const struct component *find_component(const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(components); i++)
		if (str_eq(components[i].name, name))
			return &components[i];
	return NULL;
}

int store_schema_latest(const char *component)
{
	const struct component *c = find_component(component);
	if (!c || *c->count == 0)
		return 0;
	return c->list[*c->count - 1].version;
}

static const char create_table[] =
	"CREATE TABLE IF NOT EXISTS schema_migrations (\n"
	"  component TEXT NOT NULL,\n"
	"  version INTEGER NOT NULL,\n"
	"  name TEXT NOT NULL,\n"
	"  applied_at INTEGER NOT NULL,\n"
	"  PRIMARY KEY (component, version)\n"
	")";

static int current_version(struct store_conn *c, const char *component, int *version,
			   struct st_error *e)
{
	int rc = store_exec(c, create_table, e);
	if (rc != ST_OK)
		return rc;
	int64_t v = 0;
	rc = store_query_int(c, &v, e,
			     "SELECT COALESCE(MAX(version), 0) FROM schema_migrations "
			     "WHERE component = ?",
			     "t", component);
	if (rc != ST_OK)
		return rc;
	*version = (int)v;
	return ST_OK;
}

int store_schema_version(struct store *s, const char *component, int *version,
			 struct st_error *e)
{
	struct store_conn *c;
	int rc = store_acquire(s, &c, e);
	if (rc != ST_OK)
		return rc;
	rc = current_version(c, component, version, e);
	store_release(c);
	return rc;
}

int store_migrate(struct store *s, const char *component, int target, struct st_error *e)
{
	const struct component *comp = find_component(component);
	if (!comp)
		return err_set(e, ST_EINVAL, NULL, "unknown schema component \"%s\"", component);
	int latest = store_schema_latest(component);
	if (target < 0)
		target = latest;
	if (target > latest)
		return err_set(e, ST_EINVAL, NULL, "no %s schema version %d (latest is %d)",
			       component, target, latest);
	struct store_conn *c;
	int rc = store_acquire(s, &c, e);
	if (rc != ST_OK)
		return rc;
	int version = 0;
	rc = current_version(c, component, &version, e);
	if (rc != ST_OK)
		goto out;
	if (version > latest) {
		rc = err_set(e, ST_ECONFLICT, NULL,
			     "the %s database is at schema version %d, newer than this "
			     "program knows (%d); upgrade Steward",
			     component, version, latest);
		goto out;
	}
	for (size_t i = 0; i < *comp->count; i++) {
		const struct migration *m = &comp->list[i];
		if (m->version <= version || m->version > target)
			continue;
		rc = store_begin(c, e);
		if (rc != ST_OK)
			goto out;
		/* Re-check inside the write lock: another process may have
		 * applied it meanwhile. */
		int now = 0;
		rc = current_version(c, component, &now, e);
		if (rc == ST_OK && now >= m->version) {
			store_rollback(c);
			continue;
		}
		if (rc == ST_OK)
			rc = store_exec(c, m->sql, e);
		if (rc == ST_OK)
			rc = store_run(c, e,
				       "INSERT INTO schema_migrations (component, version, name, "
				       "applied_at) VALUES (?, ?, ?, ?)",
				       "titi", component, (int64_t)m->version, m->name,
				       time_now());
		if (rc == ST_OK)
			rc = store_commit(c, e);
		else
			store_rollback(c);
		if (rc != ST_OK) {
			char msg[sizeof(e->message)] = "";
			if (e)
				str_copy(msg, sizeof(msg), e->message);
			rc = err_set(e, rc, NULL, "migration %s %d (%s) failed: %s", component,
				     m->version, m->name, msg);
			goto out;
		}
	}
out:
	store_release(c);
	return rc;
}
