/*
 * find.c - finding the people, organizations and relationships that decide
 * who may see what: paginated lists with validated filters, each decided
 * (an administrative power: those who manage or review them) and logged as
 * one event that says which filters were used. A free-text search term is
 * never written to the log, only that one was given.
 *
 * Pages: at most `limit` rows (1 to FIND_MAX, default FIND_DEFAULT) in a
 * stable order, and "next" - the cursor to pass as `after` - while more
 * may follow.
 */
#include "access/access_internal.h"

static int find_limit(int asked, int *out, struct st_error *e)
{
	if (asked < 0 || asked > FIND_MAX)
		return err_setc(e, ST_EINVAL, "bad_value", "limit",
				"\"limit\" must be from 1 to %d", FIND_MAX);
	*out = asked ? asked : FIND_DEFAULT;
	return ST_OK;
}

static int check_value(const char *field, const char *v, size_t max, struct st_error *e)
{
	size_t n = v ? strlen(v) : 0;
	if (v && (n == 0 || n > max || !str_is_clean_utf8(v, n)))
		return err_setc(e, ST_EINVAL, "bad_value", field,
				"\"%s\" must be 1 to %zu printable characters", field, max);
	return ST_OK;
}

/* Logs a list as allowed, the filters in detail. */
static int logged_list(struct steward *st, const struct actor *who, struct audit_event *ev,
		       size_t n, struct st_error *e)
{
	json_object_set_new((json_t *)ev->detail, "returned", json_integer((json_int_t)n));
	ev->outcome = "allow";
	return steward_audit(st, who, ev, NULL, e);
}

/* A LIKE pattern matching text that contains s (ASCII lower-cased, the
 * wildcards escaped with '\'). */
static char *contains_pattern(const char *s)
{
	struct buf b = BUF_INIT;
	buf_putc(&b, '%');
	for (const char *p = s; *p; p++) {
		char ch = *p;
		if (ch == '%' || ch == '_' || ch == '\\')
			buf_putc(&b, '\\');
		buf_putc(&b, ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch);
	}
	buf_putc(&b, '%');
	return buf_detach(&b, NULL);
}

/* --- users ----------------------------------------------------------------- */

int user_list(struct steward *st, const struct actor *who, const struct user_filter *f,
	      json_t **out, struct st_error *e)
{
	*out = NULL;
	int limit = 0;
	int rc = find_limit(f->limit, &limit, e);
	struct policy *p = steward_policy(st);
	enum user_status us;
	enum user_kind uk;
	if (rc == ST_OK)
		rc = check_value("q", f->q, 100, e);
	if (rc == ST_OK && f->role && policy_role(p, f->role) < 0)
		rc = err_setc(e, ST_EINVAL, "unknown_role", "role", "\"%s\" is not a role in the rules",
			      f->role);
	if (rc == ST_OK && f->status && user_status_parse(f->status, &us) != ST_OK)
		rc = err_setc(e, ST_EINVAL, "bad_value", "status",
			      "\"status\" must be active, disabled or separated");
	if (rc == ST_OK && f->kind && user_kind_parse(f->kind, &uk) != ST_OK)
		rc = err_setc(e, ST_EINVAL, "bad_value", "kind",
			      "\"kind\" must be employee, contractor, board_member or volunteer");
	if (rc == ST_OK)
		rc = check_value("organization", f->organization, 48, e);
	if (rc == ST_OK && f->after < 0)
		rc = err_setc(e, ST_EINVAL, "bad_value", "after", "\"after\" is a user id");
	policy_unref(p);
	if (rc != ST_OK)
		return rc;
	/* the search text is not logged: only that there was one */
	json_t *detail = json_pack("{s:b, s:s?, s:s?, s:s?, s:s?}", "q", f->q != NULL, "role",
				   f->role, "status", f->status, "kind", f->kind, "organization",
				   f->organization);
	struct audit_event ev = {.action = "user.list", .detail = detail};
	static const enum admin_perm perms[] = {ADM_USERS, ADM_REVIEW};
	rc = access_admin_any(st, who, perms, 2, &ev, e);
	if (rc != ST_OK) {
		json_decref(detail);
		return rc;
	}
	struct buf sql = BUF_INIT;
	buf_puts(&sql, "SELECT u.id, u.username, u.display_name, u.kind, u.status, o.code, "
		       "u.position, u.agreement_id FROM app_user u LEFT JOIN organization o ON "
		       "o.id = u.organization_id WHERE u.id > ?");
	if (f->status)
		buf_puts(&sql, " AND u.status = ?");
	if (f->kind)
		buf_puts(&sql, " AND u.kind = ?");
	if (f->organization)
		buf_puts(&sql, " AND o.code = ?");
	if (f->role)
		buf_puts(&sql, " AND EXISTS (SELECT 1 FROM user_role r WHERE r.user_id = u.id AND "
			       "r.role = ?)");
	if (f->q)
		buf_puts(&sql, " AND (lower(u.username) LIKE ? ESCAPE '\\' OR "
			       "lower(u.display_name) LIKE ? ESCAPE '\\')");
	buf_printf(&sql, " ORDER BY u.id LIMIT %d", limit + 1);
	char *pattern = f->q ? contains_pattern(f->q) : NULL;
	json_t *list = json_array();
	int64_t next = 0;
	struct store_conn *c = NULL;
	rc = store_acquire(st->db, &c, e);
	bool acquired = rc == ST_OK;
	/* the users and their roles from one snapshot */
	if (rc == ST_OK)
		rc = store_begin_read(c, e);
	struct store_stmt *s = NULL;
	if (rc == ST_OK)
		rc = store_prepare(c, sql.data, &s, e);
	if (rc == ST_OK) {
		int i = 1;
		store_bind_int(s, i++, f->after);
		if (f->status)
			store_bind_text(s, i++, f->status);
		if (f->kind)
			store_bind_text(s, i++, f->kind);
		if (f->organization)
			store_bind_text(s, i++, f->organization);
		if (f->role)
			store_bind_text(s, i++, f->role);
		if (f->q) {
			store_bind_text(s, i++, pattern);
			store_bind_text(s, i++, pattern);
		}
		int n = 0;
		while ((rc = store_step(s, e)) == STORE_ROW) {
			if (n++ == limit) {
				next = json_integer_value(json_object_get(
					json_array_get(list, json_array_size(list) - 1), "id"));
				continue;
			}
			json_array_append_new(
				list,
				json_pack("{s:I, s:s, s:s, s:s, s:s, s:s?, s:s, s:o, s:o}", "id",
					  (json_int_t)store_col_int(s, 0), "username",
					  store_col_text(s, 1), "display_name", store_col_text(s, 2),
					  "kind", store_col_text(s, 3), "status", store_col_text(s, 4),
					  "organization",
					  store_col_null(s, 5) ? NULL : store_col_text(s, 5), "position",
					  store_col_text(s, 6), "agreement",
					  store_col_null(s, 7) ? json_null()
							       : json_integer(store_col_int(s, 7)),
					  "roles", json_array()));
		}
		store_done(s);
		rc = rc == STORE_DONE ? ST_OK : rc;
	}
	/* the roles of the page's users, in one query over their id range */
	if (rc == ST_OK && json_array_size(list)) {
		int64_t lo = json_integer_value(json_object_get(json_array_get(list, 0), "id"));
		int64_t hi = json_integer_value(
			json_object_get(json_array_get(list, json_array_size(list) - 1), "id"));
		rc = store_prepare(c,
				   "SELECT user_id, role FROM user_role WHERE user_id >= ? AND "
				   "user_id <= ? ORDER BY user_id, role",
				   &s, e);
		if (rc == ST_OK) {
			store_bind(s, "ii", lo, hi);
			size_t at = 0;
			while ((rc = store_step(s, e)) == STORE_ROW) {
				int64_t uid = store_col_int(s, 0);
				while (at < json_array_size(list) &&
				       json_integer_value(json_object_get(json_array_get(list, at),
									  "id")) < uid)
					at++;
				json_t *u = json_array_get(list, at);
				if (u && json_integer_value(json_object_get(u, "id")) == uid)
					json_array_append_new(json_object_get(u, "roles"),
							      json_string(store_col_text(s, 1)));
			}
			store_done(s);
			rc = rc == STORE_DONE ? ST_OK : rc;
		}
	}
	if (acquired)
		store_release(c);
	free(pattern);
	buf_release(&sql);
	if (rc == ST_OK)
		rc = logged_list(st, who, &ev, json_array_size(list), e);
	json_decref(detail);
	if (rc != ST_OK) {
		json_decref(list);
		return rc;
	}
	json_t *o = json_pack("{s:o}", "users", list);
	if (next)
		json_object_set_new(o, "next", json_integer(next));
	*out = o;
	return ST_OK;
}

/* --- organizations ------------------------------------------------------- */

int organization_find(struct steward *st, const struct actor *who,
		      const struct organization_filter *f, json_t **out, struct st_error *e)
{
	*out = NULL;
	int limit = 0;
	int rc = find_limit(f->limit, &limit, e);
	if (rc == ST_OK && f->kind && !str_eq(f->kind, "school") && !str_eq(f->kind, "department") &&
	    !str_eq(f->kind, "district"))
		rc = err_setc(e, ST_EINVAL, "bad_value", "kind",
			      "\"kind\" must be school, department or district");
	if (rc == ST_OK && f->status && !str_eq(f->status, "active") &&
	    !str_eq(f->status, "inactive"))
		rc = err_setc(e, ST_EINVAL, "bad_value", "status",
			      "\"status\" must be active or inactive");
	if (rc == ST_OK)
		rc = check_value("after", f->after, 48, e);
	if (rc != ST_OK)
		return rc;
	json_t *detail = json_pack("{s:s?, s:s?}", "kind", f->kind, "status", f->status);
	struct audit_event ev = {.action = "organization.list", .detail = detail};
	/* those who name organizations elsewhere need their codes: accounts,
	 * subjects, agreements and grants; and those who review access */
	static const enum admin_perm perms[] = {ADM_USERS, ADM_SUBJECTS, ADM_AGREEMENTS,
						ADM_RELATIONSHIPS, ADM_REVIEW};
	rc = access_admin_any(st, who, perms, ARRAY_LEN(perms), &ev, e);
	if (rc != ST_OK) {
		json_decref(detail);
		return rc;
	}
	struct buf sql = BUF_INIT;
	buf_puts(&sql, "SELECT id, code, name, kind, status FROM organization WHERE code > ?");
	if (f->kind)
		buf_puts(&sql, " AND kind = ?");
	if (f->status)
		buf_puts(&sql, " AND status = ?");
	buf_printf(&sql, " ORDER BY code LIMIT %d", limit + 1);
	json_t *list = json_array();
	const char *next = NULL;
	struct store_conn *c;
	rc = store_acquire(st->db, &c, e);
	struct store_stmt *s = NULL;
	if (rc == ST_OK) {
		rc = store_prepare(c, sql.data, &s, e);
		if (rc == ST_OK) {
			int i = 1;
			store_bind_text(s, i++, f->after ? f->after : "");
			if (f->kind)
				store_bind_text(s, i++, f->kind);
			if (f->status)
				store_bind_text(s, i++, f->status);
			int n = 0;
			while ((rc = store_step(s, e)) == STORE_ROW) {
				if (n++ == limit) {
					next = json_string_value(json_object_get(
						json_array_get(list, json_array_size(list) - 1),
						"code"));
					continue;
				}
				json_array_append_new(
					list, json_pack("{s:I, s:s, s:s, s:s, s:s}", "id",
							(json_int_t)store_col_int(s, 0), "code",
							store_col_text(s, 1), "name",
							store_col_text(s, 2), "kind",
							store_col_text(s, 3), "status",
							store_col_text(s, 4)));
			}
			store_done(s);
			rc = rc == STORE_DONE ? ST_OK : rc;
		}
		store_release(c);
	}
	buf_release(&sql);
	if (rc == ST_OK)
		rc = logged_list(st, who, &ev, json_array_size(list), e);
	json_decref(detail);
	if (rc != ST_OK) {
		json_decref(list);
		return rc;
	}
	json_t *o = json_pack("{s:o}", "organizations", list);
	if (next)
		json_object_set_new(o, "next", json_string(next));
	*out = o;
	return ST_OK;
}

/* --- relationships ----------------------------------------------------------- */

int relationship_list(struct steward *st, const struct actor *who,
		      const struct relationship_filter *f, json_t **out, struct st_error *e)
{
	*out = NULL;
	int limit = 0;
	enum relkind kind;
	int rc = find_limit(f->limit, &limit, e);
	if (rc == ST_OK && f->kind && (relkind_parse(f->kind, &kind) != ST_OK || !relkind_stored(kind)))
		rc = err_setc(e, ST_EINVAL, "bad_value", "kind",
			      "\"kind\" must be teacher_of, counselor_caseload, sped_caseload, "
			      "supervisor_of or grant");
	const char *status = f->status ? f->status : "current";
	if (rc == ST_OK && !str_eq(status, "current") && !str_eq(status, "removed") &&
	    !str_eq(status, "all"))
		rc = err_setc(e, ST_EINVAL, "bad_value", "status",
			      "\"status\" must be current, removed or all");
	if (rc == ST_OK)
		rc = check_value("organization", f->organization, 48, e);
	if (rc == ST_OK && (f->after < 0 || f->user < 0 || f->subject < 0))
		rc = err_setc(e, ST_EINVAL, "bad_value", f->after < 0 ? "after" : f->user < 0 ? "user" : "subject",
			      "ids are positive whole numbers");
	if (rc != ST_OK)
		return rc;
	json_t *detail = json_pack("{s:I, s:I, s:s?, s:s?, s:s}", "user", (json_int_t)f->user,
				   "subject", (json_int_t)f->subject, "organization",
				   f->organization, "kind", f->kind, "status", status);
	struct audit_event ev = {.action = "relationship.list", .subject_id = f->subject,
				 .detail = detail};
	static const enum admin_perm perms[] = {ADM_RELATIONSHIPS, ADM_REVIEW};
	rc = access_admin_any(st, who, perms, 2, &ev, e);
	if (rc != ST_OK) {
		json_decref(detail);
		return rc;
	}
	struct buf sql = BUF_INIT;
	buf_puts(&sql, "SELECT r.id, r.user_id, r.subject_id, o.code, r.kind, r.categories, "
		       "r.purpose, r.source, r.starts_at, r.ends_at, r.created_at, r.removed_at, "
		       "COALESCE(r.organization_id, 0) FROM relationship r LEFT JOIN organization o ON o.id = r.organization_id "
		       "WHERE r.id > ?");
	if (f->user)
		buf_puts(&sql, " AND r.user_id = ?");
	if (f->subject)
		buf_puts(&sql, " AND r.subject_id = ?");
	if (f->organization)
		buf_puts(&sql, " AND o.code = ?");
	if (f->kind)
		buf_puts(&sql, " AND r.kind = ?");
	if (str_eq(status, "current"))
		buf_puts(&sql, " AND r.removed_at IS NULL");
	else if (str_eq(status, "removed"))
		buf_puts(&sql, " AND r.removed_at IS NOT NULL");
	buf_printf(&sql, " ORDER BY r.id LIMIT %d", limit + 1);
	json_t *list = json_array();
	int64_t next = 0;
	struct store_conn *c;
	rc = store_acquire(st->db, &c, e);
	if (rc == ST_OK) {
		struct store_stmt *s = NULL;
		rc = store_prepare(c, sql.data, &s, e);
		if (rc == ST_OK) {
			int i = 1;
			store_bind_int(s, i++, f->after);
			if (f->user)
				store_bind_int(s, i++, f->user);
			if (f->subject)
				store_bind_int(s, i++, f->subject);
			if (f->organization)
				store_bind_text(s, i++, f->organization);
			if (f->kind)
				store_bind_text(s, i++, f->kind);
			int n = 0;
			struct policy *p = steward_policy(st);
			while ((rc = store_step(s, e)) == STORE_ROW) {
				/* only what the reader's own duties see through; the
				 * rest is neither listed nor counted */
				enum relkind rk;
				uint64_t cmask = 0;
				categories_mask(p->inv, store_col_text(s, 5), &cmask);
				struct model_user_view uv = {0};
				model_rdlock(st->model);
				int64_t uid = store_col_int(s, 1);
				bool seen = relkind_parse(store_col_text(s, 4), &rk) == ST_OK &&
					    uid > 0 && uid < (int64_t)UINT32_MAX &&
					    model_user_view(st->model, (uint32_t)uid, &uv) &&
					    access_sees_relationship_locked(
						    st, who, p, uv.roles, store_col_int(s, 2),
						    (uint32_t)store_col_int(s, 12), rk, cmask);
				model_unlock(st->model);
				if (!seen)
					continue;
				if (n++ == limit) {
					next = json_integer_value(json_object_get(
						json_array_get(list, json_array_size(list) - 1), "id"));
					continue;
				}
				char where[96];
				snprintf(where, sizeof(where), "relationship.purpose|user=%lld",
					 (long long)uid);
				char *purpose = NULL;
				if (note_open(st, where, store_col_text(s, 6), &purpose, NULL) != ST_OK)
					purpose = xstrdup("(the purpose cannot be read with this key)");
				char start[32], made[32], end[32] = "", removed[32] = "";
				time_format(store_col_int(s, 8), start);
				time_format(store_col_int(s, 10), made);
				if (!store_col_null(s, 9))
					time_format(store_col_int(s, 9), end);
				if (!store_col_null(s, 11))
					time_format(store_col_int(s, 11), removed);
				json_t *cats = json_array();
				const char *cl = store_col_text(s, 5);
				while (*cl) {
					const char *ce = strchr(cl, ',');
					size_t cn = ce ? (size_t)(ce - cl) : strlen(cl);
					json_array_append_new(cats, json_stringn(cl, cn));
					cl += cn + (ce ? 1 : 0);
				}
				json_array_append_new(
					list,
					json_pack("{s:I, s:I, s:o, s:s?, s:s, s:o, s:s, s:s, s:s, s:s?, "
						  "s:s, s:s?}",
						  "id", (json_int_t)store_col_int(s, 0), "user",
						  (json_int_t)store_col_int(s, 1), "subject",
						  store_col_null(s, 2) ? json_null()
								       : json_integer(store_col_int(s, 2)),
						  "organization",
						  store_col_null(s, 3) ? NULL : store_col_text(s, 3),
						  "kind", store_col_text(s, 4), "categories", cats,
						  "purpose", purpose, "source",
						  store_col_text(s, 7), "start", start, "end",
						  end[0] ? end : NULL, "created_at", made, "removed_at",
						  removed[0] ? removed : NULL));
				secure_free_plain(purpose, strlen(purpose));
			}
			policy_unref(p);
			store_done(s);
			rc = rc == STORE_DONE ? ST_OK : rc;
		}
		store_release(c);
	}
	buf_release(&sql);
	if (rc == ST_OK)
		rc = logged_list(st, who, &ev, json_array_size(list), e);
	json_decref(detail);
	if (rc != ST_OK) {
		json_decref(list);
		return rc;
	}
	json_t *o = json_pack("{s:o}", "relationships", list);
	if (next)
		json_object_set_new(o, "next", json_integer(next));
	*out = o;
	return ST_OK;
}
