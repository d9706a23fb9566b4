/*
 * people.c - users and organizations: validation and storage. Passwords
 * are stored only as Argon2id hashes.
 */
#include "people/people.h"

bool username_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > USERNAME_MAX)
		return false;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '_' || c == '-' || c == '@'))
			return false;
	}
	return true;
}

static size_t utf8_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

int password_check_policy(const char *password, const char *username, const char *field,
			  struct st_error *e)
{
	size_t len = strlen(password);
	if (!str_is_clean_utf8(password, len) || strchr(password, '\n'))
		return err_setc(e, ST_EINVAL, "weak_password", field,
				"the password contains control characters");
	if (utf8_chars(password) < PASSWORD_MIN)
		return err_setc(e, ST_EINVAL, "weak_password", field,
				"the password must be at least %d characters long",
				PASSWORD_MIN);
	if (len > PASSWORD_MAX)
		return err_setc(e, ST_EINVAL, "weak_password", field,
				"the password must be at most %d bytes long", PASSWORD_MAX);
	if (username && *username && strcasestr(password, username))
		return err_setc(e, ST_EINVAL, "weak_password", field,
				"the password must not contain the username");
	if (password_is_common(password))
		return err_setc(e, ST_EINVAL, "weak_password", field,
				"this password is too common: it appears in lists of breached or "
				"most-used passwords; choose a longer phrase of your own");
	return ST_OK;
}

int org_find(struct store_conn *c, const char *code, int64_t *id, struct st_error *e)
{
	int rc = store_query_int(c, id, e, "SELECT id FROM organization WHERE code = ?", "t",
				 code);
	if (rc == ST_ENOTFOUND)
		return err_setc(e, ST_EINVAL, "unknown_organization", "organization",
				"no organization with code \"%s\"", code);
	int64_t active = 0;
	if (rc == ST_OK)
		rc = store_query_int(c, &active, e,
				     "SELECT COUNT(*) FROM organization WHERE id = ? AND "
				     "status = 'active'",
				     "i", *id);
	if (rc == ST_OK && !active)
		return err_setc(e, ST_EINVAL, "inactive_organization", "organization",
				"the organization \"%s\" is inactive; reactivate it first", code);
	return rc;
}

int org_create(struct store_conn *c, const char *code, const char *name, const char *kind,
	       int64_t *id, struct st_error *e)
{
	struct store_stmt *s;
	int rc = store_prepare(c,
			       "INSERT INTO organization (code, name, kind) VALUES (?, ?, ?) "
			       "RETURNING id",
			       &s, e);
	if (rc != ST_OK)
		return rc;
	store_bind(s, "ttt", code, name, kind);
	rc = store_step(s, e);
	if (rc == STORE_ROW) {
		*id = store_col_int(s, 0);
		rc = ST_OK;
	} else if (rc == ST_ECONFLICT) {
		rc = err_setc(e, ST_ECONFLICT, "exists", "code",
			      "an organization with code \"%s\" already exists", code);
	}
	store_done(s);
	return rc;
}

int user_insert(struct store_conn *c, const struct user_new *u, int64_t *id,
		struct st_error *e)
{
	if (!username_valid(u->username))
		return err_setc(e, ST_EINVAL, "bad_value", "username",
				"a username is 1-%d characters: a-z, 0-9, . _ - @",
				USERNAME_MAX);
	char hash[PASSWORD_HASH_MAX] = "";
	if (u->password) {
		int rc = password_check_policy(u->password, u->username, "password", e);
		if (rc != ST_OK)
			return rc;
		if (password_hash(u->password, hash) != ST_OK)
			return err_set(e, ST_EINTERNAL, NULL, "cannot hash the password");
	}
	int64_t org = 0;
	if (u->organization) {
		int rc = org_find(c, u->organization, &org, e);
		if (rc != ST_OK)
			return rc;
	}
	int64_t now = time_now();
	struct store_stmt *s;
	int rc = store_prepare(c,
			       "INSERT INTO app_user (username, display_name, kind, status, "
			       "organization_id, position, password_hash, must_change_password, "
			       "created_at, updated_at) VALUES (?, ?, ?, 'active', ?, ?, ?, ?, ?, ?) "
			       "RETURNING id",
			       &s, e);
	if (rc != ST_OK)
		return rc;
	store_bind_text(s, 1, u->username);
	store_bind_text(s, 2, u->display_name ? u->display_name : u->username);
	store_bind_text(s, 3, u->kind ? u->kind : "employee");
	if (org)
		store_bind_int(s, 4, org);
	else
		store_bind_null(s, 4);
	store_bind_text(s, 5, u->position ? u->position : "");
	store_bind_text(s, 6, u->password ? hash : NULL);
	store_bind_int(s, 7, u->must_change_password);
	store_bind_int(s, 8, now);
	store_bind_int(s, 9, now);
	rc = store_step(s, e);
	if (rc == STORE_ROW) {
		*id = store_col_int(s, 0);
		rc = ST_OK;
	} else if (rc == ST_ECONFLICT) {
		rc = err_setc(e, ST_ECONFLICT, "exists", "username",
			      "the username \"%s\" is taken", u->username);
	}
	store_done(s);
	for (size_t i = 0; rc == ST_OK && i < u->nroles; i++)
		rc = store_run(c, e, "INSERT INTO user_role (user_id, role) VALUES (?, ?)", "it",
			       *id, u->roles[i]);
	secure_wipe(hash, sizeof(hash));
	return rc;
}
