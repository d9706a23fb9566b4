/*
 * rules_admin.c - reading and installing the rules and the data inventory.
 * Both are data: every installed version is kept whole (with its hash,
 * author and time), validated before it is installed, logged, and takes
 * effect on the very next decision.
 */
#include "access/access_internal.h"

static int read_version(struct steward *st, const char *sql, json_t **doc, int *version,
			struct st_error *e)
{
	struct store_conn *c;
	int rc = store_acquire(st->db, &c, e);
	if (rc != ST_OK)
		return rc;
	struct store_stmt *s;
	rc = store_prepare(c, sql, &s, e);
	if (rc == ST_OK) {
		rc = store_step(s, e);
		if (rc == STORE_ROW) {
			*version = (int)store_col_int(s, 0);
			const char *text = store_col_text(s, 1);
			rc = json_parse_object(text, strlen(text), doc, e);
		} else if (rc == STORE_DONE) {
			rc = err_set(e, ST_ENOTFOUND, NULL, "nothing is installed");
		}
		store_done(s);
	}
	store_release(c);
	return rc;
}

int policy_document(struct steward *st, const struct actor *who, json_t **doc, int *version,
		    struct st_error *e)
{
	struct audit_event ev = {.action = "policy.read"};
	int rc = access_admin(st, who, ADM_REVIEW, &ev, e);
	if (rc == ST_OK)
		rc = read_version(st,
				  "SELECT version, document FROM policy_version ORDER BY version DESC "
				  "LIMIT 1",
				  doc, version, e);
	if (rc == ST_OK) {
		ev.outcome = "allow";
		ev.detail = NULL;
		rc = steward_audit(st, who, &ev, NULL, e);
		if (rc != ST_OK)
			json_decref(*doc);
	}
	return rc;
}

int inventory_document(struct steward *st, const struct actor *who, json_t **doc, int *version,
		       struct st_error *e)
{
	/* The inventory says what is kept and why; every signed-in person may
	 * read it (it holds no personal data), and the reading is recorded
	 * like every act. */
	int rc = read_version(st,
			      "SELECT version, document FROM inventory_version ORDER BY version "
			      "DESC LIMIT 1",
			      doc, version, e);
	if (rc == ST_OK) {
		struct audit_event ev = {.action = "inventory.read", .outcome = "allow"};
		rc = steward_audit(st, who, &ev, NULL, e);
		if (rc != ST_OK)
			json_decref(*doc);
	}
	return rc;
}

int policy_check_text(struct steward *st, const char *text, json_t **problems,
		      struct st_error *e)
{
	struct inventory *inv = steward_inventory(st);
	struct policy *p = NULL;
	int rc = policy_parse(text, strlen(text), inv, &p, e);
	inventory_unref(inv);
	if (rc != ST_OK)
		return rc;
	*problems = policy_lint(p);
	policy_unref(p);
	return ST_OK;
}

static int store_policy(struct store_conn *c, const char *text, int64_t by, const char *note,
			int *version, struct st_error *e)
{
	int64_t v = 0;
	int rc = store_query_int(c, &v, e,
				 "SELECT COALESCE(MAX(version), 0) + 1 FROM policy_version", "");
	if (rc != ST_OK)
		return rc;
	unsigned char h[HASH_BYTES];
	sha256(text, strlen(text), h);
	rc = store_run(c, e,
		       "INSERT INTO policy_version (version, document, sha256, changed_by, "
		       "changed_at, note) VALUES (?, ?, ?, ?, ?, ?)",
		       "itbiit", v, text, h, (size_t)HASH_BYTES, by, time_now(), note ? note : "");
	if (rc == ST_OK)
		*version = (int)v;
	return rc;
}

/* Installs a document inside one transaction that commits only once the
 * change is logged. */
static int install(struct steward *st, const struct actor *who, struct audit_event *ev,
		   bool is_policy, const char *text, const char *note, int *version,
		   struct st_error *e)
{
	struct store_conn *c;
	int rc = store_acquire(st->db, &c, e);
	if (rc != ST_OK)
		return rc;
	rc = store_begin(c, e);
	if (rc == ST_OK)
		rc = is_policy ? store_policy(c, text, who->user_id, note, version, e)
			       : inventory_store_version(c, text, who->user_id, note, version, e);
	unsigned char h[HASH_BYTES];
	sha256(text, strlen(text), h);
	char *hex = hex_encode(h, HASH_BYTES);
	json_t *detail = json_pack("{s:i, s:s, s:s?}", "version", *version, "sha256", hex, "note",
				   note);
	free(hex);
	ev->detail = detail;
	ev->outcome = "allow";
	if (rc == ST_OK)
		rc = steward_audit(st, who, ev, NULL, e);
	if (rc == ST_OK)
		rc = store_commit(c, e);
	else
		store_rollback(c);
	store_release(c);
	json_decref(detail);
	ev->detail = NULL;
	return rc;
}

/* Whether a user, by the names of their roles today, holds the power to
 * change the rules under new rules p. */
static bool keeps_power(struct steward *st, int64_t user, const struct policy *p)
{
	struct store_conn *c;
	if (store_acquire(st->db, &c, NULL) != ST_OK)
		return false;
	bool keeps = false;
	struct store_stmt *s;
	if (store_prepare(c, "SELECT role FROM user_role WHERE user_id = ?", &s, NULL) == ST_OK) {
		store_bind(s, "i", user);
		while (!keeps && store_step(s, NULL) == STORE_ROW) {
			int r = policy_role(p, store_col_text(s, 0));
			keeps = r >= 0 && (p->admin_roles[ADM_POLICY] >> r & 1);
		}
		store_done(s);
	}
	store_release(c);
	return keeps;
}

int policy_install(struct steward *st, const struct actor *who, const char *text,
		   const char *note, int *version, struct st_error *e)
{
	struct audit_event ev = {.action = "policy.update"};
	int rc = access_admin(st, who, ADM_POLICY, &ev, e);
	if (rc != ST_OK)
		return rc;
	struct inventory *inv = steward_inventory(st);
	struct policy *p = NULL;
	rc = policy_parse(text, strlen(text), inv, &p, e);
	inventory_unref(inv);
	if (rc != ST_OK)
		return rc;
	/* An installer must not lock themselves (and everyone) out of
	 * changing the rules again: some role keeps the power, and the
	 * installer keeps it (so someone able to use it remains). The system
	 * itself, installing locally for recovery, is exempt from the second. */
	if (!p->admin_roles[ADM_POLICY]) {
		policy_unref(p);
		return err_setc(e, ST_EINVAL, "bad_value", "administration.policy",
				"at least one role must keep the power to change the rules");
	}
	access_holders_lock();
	if (who->user_id != 0 && !keeps_power(st, who->user_id, p)) {
		access_holders_unlock();
		policy_unref(p);
		ev.outcome = "deny";
		ev.reason = "under these rules the installer could no longer change the rules";
		struct st_error le = {0};
		if (steward_audit(st, who, &ev, NULL, &le) != ST_OK) {
			if (e)
				*e = le;
			return le.status;
		}
		return err_setc(e, ST_EINVAL, "bad_value", "administration.policy",
				"under these rules you could no longer change the rules; keep one of "
				"your roles among those holding that power");
	}
	rc = install(st, who, &ev, true, text, note, version, e);
	if (rc != ST_OK) {
		access_holders_unlock();
		policy_unref(p);
		return rc;
	}
	p->version = *version;
	steward_set_policy(st, p);
	/* role names may have moved: rebuild the facts' role masks */
	rc = access_reload(st, e);
	access_holders_unlock();
	return rc;
}

int inventory_install(struct steward *st, const struct actor *who, const char *text,
		      const char *note, int *version, struct st_error *e)
{
	struct audit_event ev = {.action = "inventory.update"};
	int rc = access_admin(st, who, ADM_INVENTORY, &ev, e);
	if (rc != ST_OK)
		return rc;
	/* The inventory says which people a category is about, which fields a
	 * subject shows through it and how restricted it is: changing it
	 * changes what every rule opens. Nobody confers access they could not
	 * use, so it is changed only by someone whose duties reach every
	 * category district-wide (the designee's, in the shipped rules). */
	if (who->user_id != 0) {
		struct policy *cur = steward_policy(st);
		for (size_t c = 0; rc == ST_OK && c < cur->inv->ncats; c++) {
			if (access_reaches(st, who, cur, 0, (int)c))
				continue;
			char reason[300];
			snprintf(reason, sizeof(reason),
				 "the data inventory decides what every rule opens; it is changed "
				 "only by someone whose duties reach every category, and yours do "
				 "not reach %s records district-wide",
				 cur->inv->cats[c].name);
			ev.outcome = "deny";
			ev.reason = reason;
			struct st_error le = {0};
			rc = steward_audit(st, who, &ev, NULL, &le);
			if (rc != ST_OK && e)
				*e = le;
			if (rc == ST_OK)
				rc = err_setc(e, ST_EDENIED, "forbidden", NULL, "%s", reason);
			ev.reason = NULL;
		}
		policy_unref(cur);
		if (rc != ST_OK)
			return rc;
	}
	struct inventory *inv = NULL;
	rc = inventory_parse(text, strlen(text), &inv, e);
	if (rc != ST_OK)
		return rc;
	/* The rules must still hold against the new inventory (a category
	 * they name cannot simply vanish). */
	struct policy *cur = steward_policy(st);
	char *rules = json_dumps(cur->doc, JSON_COMPACT);
	struct policy *p = NULL;
	rc = policy_parse(rules, strlen(rules), inv, &p, e);
	free(rules);
	int pv = cur->version;
	policy_unref(cur);
	if (rc != ST_OK) {
		char msg[sizeof(e->message)];
		str_copy(msg, sizeof(msg), e ? e->message : "");
		inventory_unref(inv);
		return err_setc(e, ST_EINVAL, "breaks_rules", "categories",
				"the current rules would no longer hold: %s", msg);
	}
	rc = install(st, who, &ev, false, text, note, version, e);
	if (rc != ST_OK) {
		policy_unref(p);
		inventory_unref(inv);
		return rc;
	}
	inv->version = *version;
	steward_set_inventory(st, inv);
	p->version = pv;
	steward_set_policy(st, p);
	return access_reload(st, e);
}
