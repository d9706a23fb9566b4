/*
 * organization.c - changing an organization (a school, department or the
 * district): its name, and its status. Deactivating is not deleting: the
 * row stays, so every record, relationship, agreement and event that names
 * it still does; an inactive organization can no longer be named for a new
 * user, subject, agreement or grant (org_find refuses it).
 *
 * An organization with active users or active subjects is not deactivated:
 * those people would belong to a school that no longer exists, and the
 * school-staff relationship that decisions derive from it would live on
 * unseen. They are moved or deactivated first. The answer does not say how
 * many there are.
 */
#include "access/access_internal.h"

struct org_edit {
	int64_t id;
	const char *name, *status;
	char code[64];
};

static int org_edit_write(void *ctx, struct store_conn *c, struct st_error *e)
{
	struct org_edit *x = ctx;
	struct store_stmt *s;
	int rc = store_prepare(c, "SELECT code, status FROM organization WHERE id = ?", &s, e);
	if (rc != ST_OK)
		return rc;
	store_bind(s, "i", x->id);
	char status[16] = "";
	rc = store_step(s, e);
	if (rc == STORE_ROW) {
		str_copy(x->code, sizeof(x->code), store_col_text(s, 0));
		str_copy(status, sizeof(status), store_col_text(s, 1));
		rc = ST_OK;
	} else if (rc == STORE_DONE) {
		rc = err_setc(e, ST_ENOTFOUND, "organization_not_found", "id", "no organization %lld", (long long)x->id);
	}
	store_done(s);
	if (rc == ST_OK && x->status && str_eq(status, x->status) && !x->name)
		rc = err_setc(e, ST_ECONFLICT, "conflict", "status", "the organization is already %s",
			      status);
	if (rc == ST_OK && x->status && str_eq(x->status, "inactive") &&
	    !str_eq(status, "inactive")) {
		int64_t users = 0, subjects = 0;
		rc = store_query_int(c, &users, e,
				     "SELECT COUNT(*) FROM app_user WHERE organization_id = ? AND "
				     "status = 'active'",
				     "i", x->id);
		if (rc == ST_OK)
			rc = store_query_int(c, &subjects, e,
					     "SELECT COUNT(*) FROM subject WHERE organization_id = ? "
					     "AND status = 'active'",
					     "i", x->id);
		if (rc == ST_OK && (users || subjects))
			rc = err_setc(e, ST_ECONFLICT, "in_use", "status",
				      "the organization still has active %s; move or deactivate "
				      "them first",
				      users && subjects ? "users and subjects"
				      : users		? "users"
							: "subjects");
	}
	if (rc == ST_OK && x->name)
		rc = store_run(c, e, "UPDATE organization SET name = ? WHERE id = ?", "ti", x->name,
			       x->id);
	if (rc == ST_OK && x->status)
		rc = store_run(c, e, "UPDATE organization SET status = ? WHERE id = ?", "ti",
			       x->status, x->id);
	return rc;
}

int organization_update(struct steward *st, const struct actor *who, int64_t id,
			const char *name, const char *status, struct st_error *e)
{
	json_t *detail = json_pack("{s:I, s:s?, s:s?}", "organization", (json_int_t)id, "name",
				   name, "status", status);
	struct audit_event ev = {.action = name || !status ? "organization.update"
					   : str_eq(status, "inactive") ? "organization.deactivate"
									: "organization.reactivate",
				 .detail = detail};
	int rc = access_admin(st, who, ADM_SUBJECTS, &ev, e);
	/* every check before anything is written */
	if (rc == ST_OK && !name && !status)
		rc = err_setc(e, ST_EINVAL, "missing_field", "name", "give \"name\" or \"status\"");
	if (rc == ST_OK && name &&
	    (!*name || strlen(name) > 200 || !str_is_clean_utf8(name, strlen(name))))
		rc = err_setc(e, ST_EINVAL, "bad_value", "name",
			      "an organization needs a name of at most 200 characters");
	if (rc == ST_OK && status && !str_eq(status, "active") && !str_eq(status, "inactive"))
		rc = err_setc(e, ST_EINVAL, "bad_value", "status",
			      "status must be active or inactive");
	struct org_edit x = {.id = id, .name = name, .status = status};
	if (rc == ST_OK)
		rc = access_logged_write(st, who, &ev, org_edit_write, &x, e);
	json_decref(detail);
	return rc;
}
