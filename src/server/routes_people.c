/*
 * routes_people.c - organizations, users, suspensions, training,
 * agreements and relationships. Each handler validates its body (unknown
 * fields refused, the field named) and calls the library, which decides
 * and logs.
 */
#include "crypto/crypto.h"
#include <limits.h>

#include "server/routes.h"
#include "steward/auth.h"
#include "steward/access.h"

HANDLER(h_org_create)
{
	static const char *const keys[] = {"code", "name", "kind", NULL};
	json_t *b = NULL;
	const char *code = NULL, *name = NULL, *kind = NULL;
	int rc = request_body(req, keys, &b);
	if (rc == ST_OK)
		rc = json_get_str(b, "code", true, 48, &code, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_str(b, "name", true, 200, &name, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_str(b, "kind", true, 16, &kind, "", &req->err);
	int64_t id = 0;
	if (rc == ST_OK)
		rc = organization_create(req->st, &req->actor, code, name, kind, &id, &req->err);
	json_decref(b);
	if (rc == ST_OK)
		response_created(res, id);
	return rc;
}

/* An optional query parameter: absent or empty is NULL. */
static const char *query_opt(struct request *req, const char *name)
{
	const char *v = request_query(req, name);
	return v && *v ? v : NULL;
}

/* ?limit= as an int (a huge one stays out of range for the library). */
static int query_limit(struct request *req, int *out)
{
	int64_t v = 0;
	int rc = request_query_id(req, "limit", &v);
	*out = v > INT_MAX ? INT_MAX : (int)v;
	return rc;
}

HANDLER(h_org_list)
{
	struct organization_filter f = {.kind = query_opt(req, "kind"),
					.status = query_opt(req, "status"),
					.after = query_opt(req, "after")};
	json_t *o = NULL;
	int rc = query_limit(req, &f.limit);
	if (rc == ST_OK)
		rc = organization_find(req->st, &req->actor, &f, &o, &req->err);
	if (rc == ST_OK)
		response_json(res, 200, o);
	return rc;
}

HANDLER(h_org_patch)
{
	static const char *const keys[] = {"name", "status", NULL};
	int64_t id = 0;
	json_t *b = NULL;
	const char *name = NULL, *status = NULL;
	int rc = request_id_param(req, 0, "organization", &id);
	if (rc == ST_OK)
		rc = request_body(req, keys, &b);
	if (rc == ST_OK)
		rc = json_get_str(b, "name", false, 200, &name, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_str(b, "status", false, 16, &status, "", &req->err);
	if (rc == ST_OK)
		rc = organization_update(req->st, &req->actor, id, name, status, &req->err);
	json_decref(b);
	if (rc == ST_OK)
		response_json(res, 200, json_pack("{s:I}", "id", (json_int_t)id));
	return rc;
}

HANDLER(h_user_list)
{
	struct user_filter f = {.q = query_opt(req, "q"),
				.role = query_opt(req, "role"),
				.status = query_opt(req, "status"),
				.kind = query_opt(req, "kind"),
				.organization = query_opt(req, "organization")};
	int rc = request_query_id(req, "after", &f.after);
	if (rc == ST_OK)
		rc = query_limit(req, &f.limit);
	json_t *o = NULL;
	if (rc == ST_OK)
		rc = user_list(req->st, &req->actor, &f, &o, &req->err);
	if (rc == ST_OK)
		response_json(res, 200, o);
	return rc;
}

HANDLER(h_relationship_list)
{
	struct relationship_filter f = {.organization = query_opt(req, "organization"),
					.kind = query_opt(req, "kind"),
					.status = query_opt(req, "status")};
	int rc = request_query_id(req, "user", &f.user);
	if (rc == ST_OK)
		rc = request_query_id(req, "subject", &f.subject);
	if (rc == ST_OK)
		rc = request_query_id(req, "after", &f.after);
	if (rc == ST_OK)
		rc = query_limit(req, &f.limit);
	json_t *o = NULL;
	if (rc == ST_OK)
		rc = relationship_list(req->st, &req->actor, &f, &o, &req->err);
	if (rc == ST_OK)
		response_json(res, 200, o);
	return rc;
}

HANDLER(h_user_create)
{
	static const char *const keys[] = {"username", "password", "display_name", "roles",
					   "organization", "kind", "position", "agreement",
					   "must_change_password", NULL};
	json_t *b = NULL;
	/* a password an administrator chose is known to two people: by
	 * default it is one-time, to be changed at the first sign-in */
	struct user_input in = {.must_change_password = true};
	const char *roles[32];
	int rc = request_body(req, keys, &b);
	if (rc == ST_OK)
		rc = json_get_str(b, "username", true, 64, &in.username, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_str(b, "password", false, 256, &in.password, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_str(b, "display_name", true, 200, &in.display_name, "", &req->err);
	if (rc == ST_OK)
		rc = json_strings(b, "roles", false, roles, 32, &in.nroles, &req->err);
	if (rc == ST_OK)
		rc = json_get_str(b, "organization", false, 48, &in.organization, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_str(b, "kind", false, 16, &in.kind, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_str(b, "position", false, 120, &in.position, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_int(b, "agreement", false, &in.agreement, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_bool(b, "must_change_password", false, &in.must_change_password, "",
				   &req->err);
	in.roles = roles;
	char *issued = NULL;
	in.issued_password = &issued;
	int64_t id = 0;
	if (rc == ST_OK)
		rc = user_create(req->st, &req->actor, &in, &id, &req->err);
	json_decref(b);
	if (rc == ST_OK && issued) {
		/* handed over once, to the person who created the account; the
		 * text is built here (base64 needs no escaping) so that the one
		 * copy is the body, which is wiped when sent */
		res->status = 201;
		res->text = xasprintf("{\"id\": %lld, \"one_time_password\": \"%s\", "
				      "\"must_change_password\": true}",
				      (long long)id, issued);
		res->content_type = "application/json";
		secure_wipe(issued, strlen(issued));
		free(issued);
	} else if (rc == ST_OK) {
		response_created(res, id);
	}
	return rc;
}

HANDLER(h_user_get)
{
	int64_t id = 0;
	json_t *o = NULL;
	int rc = request_id_param(req, 0, "user", &id);
	if (rc == ST_OK)
		rc = user_get(req->st, &req->actor, id, &o, &req->err);
	if (rc == ST_OK)
		response_json(res, 200, o);
	return rc;
}

HANDLER(h_user_patch)
{
	static const char *const keys[] = {"roles", "status", NULL};
	int64_t id = 0;
	json_t *b = NULL;
	int rc = request_id_param(req, 0, "user", &id);
	if (rc == ST_OK)
		rc = request_body(req, keys, &b);
	const char *roles[32], *status = NULL;
	size_t n = 0;
	if (rc == ST_OK && !json_object_get(b, "roles") && !json_object_get(b, "status"))
		rc = err_setc(&req->err, ST_EINVAL, "missing_field", "roles",
			      "give \"roles\" or \"status\"");
	if (rc == ST_OK)
		rc = json_get_str(b, "status", false, 16, &status, "", &req->err);
	if (rc == ST_OK && json_object_get(b, "roles"))
		rc = json_strings(b, "roles", true, roles, 32, &n, &req->err);
	if (rc == ST_OK)
		rc = user_update(req->st, &req->actor, id,
				 json_object_get(b, "roles") ? roles : NULL, n, status, &req->err);
	json_decref(b);
	json_t *o = NULL;
	if (rc == ST_OK)
		rc = user_get(req->st, &req->actor, id, &o, &req->err);
	if (rc == ST_OK)
		response_json(res, 200, o);
	return rc;
}

HANDLER(h_suspension_create)
{
	static const char *const keys[] = {"kind", "until", "reason", NULL};
	int64_t user = 0, until = 0, id = 0;
	json_t *b = NULL;
	const char *kind = NULL, *reason = NULL;
	int rc = request_id_param(req, 0, "user", &user);
	if (rc == ST_OK)
		rc = request_body(req, keys, &b);
	if (rc == ST_OK)
		rc = json_get_str(b, "kind", true, 32, &kind, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_time(b, "until", false, &until, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_str(b, "reason", true, 2000, &reason, "", &req->err);
	if (rc == ST_OK)
		rc = suspension_create(req->st, &req->actor, user, kind, until, reason, &id, &req->err);
	json_decref(b);
	if (rc == ST_OK)
		response_created(res, id);
	return rc;
}

HANDLER(h_suspension_delete)
{
	int64_t user = 0, id = 0;
	int rc = request_id_param(req, 0, "user", &user);
	if (rc == ST_OK)
		rc = request_id_param(req, 1, "suspension", &id);
	if (rc == ST_OK)
		rc = suspension_lift(req->st, &req->actor, user, id, &req->err);
	if (rc == ST_OK)
		res->status = 204;
	return rc;
}

HANDLER(h_user_unlock)
{
	int64_t user = 0;
	int rc = request_id_param(req, 0, "user", &user);
	if (rc == ST_OK)
		rc = auth_unlock(req->st, &req->actor, user, &req->err);
	if (rc == ST_OK)
		res->status = 204;
	return rc;
}

/* Credentials are handed out from a signed-in person's session, never to
 * an integration's API token. */
static int refuse_api_token(struct request *req)
{
	return req->session.api_token
		       ? err_setc(&req->err, ST_EDENIED, "forbidden", NULL,
				  "sign-in credentials are issued from a signed-in session, not "
				  "with an API token")
		       : ST_OK;
}

HANDLER(h_user_enrollment_code)
{
	int64_t user = 0, expires = 0;
	int rc = refuse_api_token(req);
	if (rc == ST_OK)
		rc = request_id_param(req, 0, "user", &user);
	if (rc == ST_OK && req->body_len) {
		static const char *const keys[] = {NULL};
		json_t *b = NULL;
		rc = request_body(req, keys, &b);
		json_decref(b);
	}
	char code[AUTH_ENROLL_CODE_MAX];
	if (rc == ST_OK)
		rc = auth_enrollment_code_issue(req->st, &req->actor, user, code, &expires, &req->err);
	if (rc == ST_OK) {
		char until[32];
		time_format(expires, until);
		response_json(res, 201,
			      json_pack("{s:I, s:s, s:s}", "user", (json_int_t)user,
					"enrollment_code", code, "expires_at", until));
		memset(code, 0, sizeof(code));
	}
	return rc;
}

HANDLER(h_user_reset)
{
	static const char *const keys[] = {"reason", NULL};
	int64_t user = 0;
	json_t *b = NULL;
	const char *reason = NULL;
	int rc = refuse_api_token(req);
	if (rc == ST_OK)
		rc = request_id_param(req, 0, "user", &user);
	if (rc == ST_OK)
		rc = request_body(req, keys, &b);
	if (rc == ST_OK)
		rc = json_get_str(b, "reason", true, 500, &reason, "", &req->err);
	struct credentials_reset out;
	if (rc == ST_OK)
		rc = auth_credentials_reset(req->st, &req->actor, user, reason, &out, &req->err);
	json_decref(b);
	if (rc == ST_OK) {
		char until[32];
		time_format(out.expires_at, until);
		response_json(res, 200,
			      json_pack("{s:I, s:s, s:b, s:s, s:s}", "user", (json_int_t)user,
					"password", out.password, "must_change_password", 1,
					"enrollment_code", out.enrollment_code,
					"enrollment_code_expires_at", until));
		memset(&out, 0, sizeof(out));
	}
	return rc;
}

HANDLER(h_training_create)
{
	static const char *const keys[] = {"user", "course", "completed_on", NULL};
	json_t *b = NULL;
	int64_t user = 0, when = 0, id = 0;
	const char *course = NULL;
	int rc = request_body(req, keys, &b);
	if (rc == ST_OK)
		rc = json_get_int(b, "user", true, &user, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_str(b, "course", true, 64, &course, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_time(b, "completed_on", true, &when, "", &req->err);
	if (rc == ST_OK)
		rc = training_record(req->st, &req->actor, user, course, when, &id, &req->err);
	json_decref(b);
	if (rc == ST_OK)
		response_created(res, id);
	return rc;
}

HANDLER(h_agreement_create)
{
	static const char *const keys[] = {"vendor", "categories", "organizations", "purpose",
					   "start", "end", NULL};
	json_t *b = NULL;
	const char *cats[64], *orgs[256];
	struct agreement_input in = {.categories = cats, .organizations = orgs};
	int rc = request_body(req, keys, &b);
	if (rc == ST_OK)
		rc = json_get_str(b, "vendor", true, 200, &in.vendor, "", &req->err);
	if (rc == ST_OK)
		rc = json_strings(b, "categories", true, cats, 64, &in.ncategories, &req->err);
	if (rc == ST_OK)
		rc = json_strings(b, "organizations", true, orgs, 256, &in.norganizations, &req->err);
	if (rc == ST_OK)
		rc = json_get_str(b, "purpose", false, 500, &in.purpose, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_time(b, "start", true, &in.start, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_time(b, "end", true, &in.end, "", &req->err);
	int64_t id = 0;
	if (rc == ST_OK)
		rc = agreement_create(req->st, &req->actor, &in, &id, &req->err);
	json_decref(b);
	if (rc == ST_OK)
		response_created(res, id);
	return rc;
}

HANDLER(h_relationship_create)
{
	static const char *const keys[] = {"user", "subject", "organization", "kind", "categories",
					   "purpose", "source", "start", "end", NULL};
	json_t *b = NULL;
	const char *cats[64];
	struct relationship_input in = {.categories = cats};
	int rc = request_body(req, keys, &b);
	if (rc == ST_OK)
		rc = json_get_int(b, "user", true, &in.user, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_int(b, "subject", false, &in.subject, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_str(b, "organization", false, 48, &in.organization, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_str(b, "kind", true, 32, &in.kind, "", &req->err);
	if (rc == ST_OK)
		rc = json_strings(b, "categories", false, cats, 64, &in.ncategories, &req->err);
	if (rc == ST_OK)
		rc = json_get_str(b, "purpose", false, 500, &in.purpose, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_str(b, "source", false, 120, &in.source, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_time(b, "start", false, &in.start, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_time(b, "end", false, &in.end, "", &req->err);
	int64_t id = 0;
	if (rc == ST_OK)
		rc = relationship_create(req->st, &req->actor, &in, &id, &req->err);
	json_decref(b);
	if (rc == ST_OK)
		response_created(res, id);
	return rc;
}

HANDLER(h_relationship_delete)
{
	int64_t id = 0;
	int rc = request_id_param(req, 0, "relationship", &id);
	if (rc == ST_OK)
		rc = relationship_remove(req->st, &req->actor, id, &req->err);
	if (rc == ST_OK)
		res->status = 204;
	return rc;
}
