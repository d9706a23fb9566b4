/*
 * routes_session.c - signing in and out, one's password, multi-factor
 * enrolment and API tokens.
 */
#include "server/routes.h"
#include "steward/access.h"
#include "steward/auth.h"

static char *session_cookie(const char *token, int64_t max_age)
{
	return xasprintf("steward_session=%s; Path=/; Max-Age=%lld; Secure; HttpOnly; "
			 "SameSite=Strict",
			 token, (long long)max_age);
}

HANDLER(h_session_create)
{
	static const char *const keys[] = {"username", "password", "totp", NULL};
	json_t *body = NULL;
	int rc = request_body(req, keys, &body);
	const char *username = NULL, *password = NULL, *totp = NULL;
	if (rc == ST_OK)
		rc = json_get_str(body, "username", true, 64, &username, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_str(body, "password", true, 256, &password, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_str(body, "totp", false, 32, &totp, "", &req->err);
	struct signin in;
	if (rc == ST_OK)
		rc = auth_sign_in(req->st, username, password, totp, req->client, req->request_id,
				  &in, &req->err);
	json_decref(body);
	if (rc != ST_OK)
		return rc;
	json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:b}", "token", in.token, "csrf_token",
			      in.csrf, "session", in.session_id, "user", (json_int_t)in.user_id,
			      "expires_at", (json_int_t)in.expires_at, "mfa", in.mfa);
	if (in.mfa_enrollment_required)
		json_object_set_new(o, "mfa_enrollment_required", json_true());
	if (in.must_change_password)
		json_object_set_new(o, "must_change_password", json_true());
	int64_t age = in.expires_at - time_now();
	res->set_cookie = session_cookie(in.token, age);
	res->set_cookie2 = xasprintf("steward_csrf=%s; Path=/; Max-Age=%lld; Secure; "
				     "SameSite=Strict",
				     in.csrf, (long long)age);
	memset(&in, 0, sizeof(in));
	response_json(res, 201, o);
	return ST_OK;
}

HANDLER(h_session_current)
{
	json_t *o = json_pack("{s:I, s:s, s:b, s:b}", "user", (json_int_t)req->actor.user_id,
			      "session", req->session.id, "mfa", req->session.mfa, "api_token",
			      req->session.api_token);
	if (req->session.limit == SESSION_ENROLL_ONLY)
		json_object_set_new(o, "limited_to", json_string("mfa_enrollment"));
	else if (req->session.limit == SESSION_PASSWORD_ONLY)
		json_object_set_new(o, "limited_to", json_string("password_change"));
	json_t *user = NULL;
	struct actor self = req->actor;
	if (user_get(req->st, &self, req->actor.user_id, &user, NULL) == ST_OK) {
		json_object_set(o, "username", json_object_get(user, "username"));
		json_object_set(o, "display_name", json_object_get(user, "display_name"));
		json_object_set(o, "roles", json_object_get(user, "roles"));
		json_object_set(o, "training", json_object_get(user, "training"));
		json_decref(user);
	}
	response_json(res, 200, o);
	return ST_OK;
}

HANDLER(h_session_delete)
{
	int rc = req->session.api_token
			 ? err_setc(&req->err, ST_EINVAL, "api_token", NULL,
				    "an API token is revoked with DELETE /api/v1/tokens/{id}")
			 : auth_sign_out(req->st, &req->actor, &req->err);
	if (rc != ST_OK)
		return rc;
	res->set_cookie = xstrdup("steward_session=; Path=/; Max-Age=0; Secure; HttpOnly; "
				  "SameSite=Strict");
	res->set_cookie2 = xstrdup("steward_csrf=; Path=/; Max-Age=0; Secure; SameSite=Strict");
	res->status = 204;
	return ST_OK;
}

HANDLER(h_password_change)
{
	static const char *const keys[] = {"current_password", "new_password", NULL};
	json_t *body = NULL;
	int rc = request_body(req, keys, &body);
	const char *cur = NULL, *next = NULL;
	if (rc == ST_OK &&
	    !(rc = json_get_str(body, "current_password", true, 256, &cur, "", &req->err)) &&
	    !(rc = json_get_str(body, "new_password", true, 256, &next, "", &req->err)))
		rc = auth_password_change(req->st, &req->actor, cur, next, &req->err);
	json_decref(body);
	if (rc == ST_OK)
		res->status = 204;
	return rc;
}

HANDLER(h_mfa_begin)
{
	/* the body may be left out only to start again in the session that
	 * presented the enrolment code */
	json_t *body = NULL;
	const char *code = NULL;
	int rc = ST_OK;
	if (req->body_len) {
		static const char *const keys[] = {"enrollment_code", NULL};
		rc = request_body(req, keys, &body);
		if (rc == ST_OK)
			rc = json_get_str(body, "enrollment_code", false, 64, &code, "", &req->err);
	}
	struct mfa_enrollment m;
	if (rc == ST_OK)
		rc = auth_mfa_begin(req->st, &req->actor, code, &m, &req->err);
	json_decref(body);
	if (rc != ST_OK)
		return rc;
	json_t *codes = json_array();
	for (int i = 0; i < 10; i++)
		json_array_append_new(codes, json_string(m.recovery[i]));
	json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:s, s:i, s:i}", "secret", m.secret,
			      "otpauth_uri", m.uri, "qr_svg", m.qr_svg, "recovery_codes", codes,
			      "algorithm", "SHA1", "digits", 6, "period", 30);
	free(m.qr_svg);
	memset(&m, 0, sizeof(m));
	response_json(res, 201, o);
	return ST_OK;
}

HANDLER(h_mfa_confirm)
{
	static const char *const keys[] = {"code", NULL};
	json_t *body = NULL;
	const char *code = NULL;
	int rc = request_body(req, keys, &body);
	if (rc == ST_OK && !(rc = json_get_str(body, "code", true, 16, &code, "", &req->err)))
		rc = auth_mfa_confirm(req->st, &req->actor, code, &req->err);
	json_decref(body);
	if (rc == ST_OK)
		response_json(res, 200, json_pack("{s:b}", "mfa", 1));
	return rc;
}

HANDLER(h_token_create)
{
	if (req->session.api_token)
		return err_setc(&req->err, ST_EDENIED, "forbidden", NULL,
				"API tokens are created from a signed-in session");
	static const char *const keys[] = {"name", "scopes", "expires", NULL};
	json_t *body = NULL;
	int rc = request_body(req, keys, &body);
	const char *name = NULL, *scopes[8];
	size_t n = 0;
	int64_t expires = 0;
	if (rc == ST_OK &&
	    !(rc = json_get_str(body, "name", true, 100, &name, "", &req->err)) &&
	    !(rc = json_strings(body, "scopes", true, scopes, 8, &n, &req->err)) &&
	    !(rc = json_get_time(body, "expires", true, &expires, "", &req->err))) {
		struct buf list = BUF_INIT;
		for (size_t i = 0; i < n; i++) {
			if (i)
				buf_putc(&list, ',');
			buf_puts(&list, scopes[i]);
		}
		char token[AUTH_TOKEN_MAX], id[40];
		rc = auth_token_create(req->st, &req->actor, name, list.data ? list.data : "", expires,
				       token, id, &req->err);
		buf_release(&list);
		if (rc == ST_OK) {
			response_json(res, 201, json_pack("{s:s, s:s}", "id", id, "token", token));
			memset(token, 0, sizeof(token));
		}
	}
	json_decref(body);
	return rc;
}

HANDLER(h_token_list)
{
	json_t *list = NULL;
	int rc = auth_token_list(req->st, &req->actor, &list, &req->err);
	if (rc == ST_OK)
		response_json(res, 200, json_pack("{s:o}", "tokens", list));
	return rc;
}

HANDLER(h_token_delete)
{
	int rc = auth_token_revoke(req->st, &req->actor, req->params[0], &req->err);
	if (rc == ST_OK)
		res->status = 204;
	return rc;
}
