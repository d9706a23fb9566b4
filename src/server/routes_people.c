/*
 * routes_people.c - organizations, users, suspensions, training,
 * agreements and relationships. Each handler validates its body (unknown
 * fields refused, the field named) and calls the library, which decides
 * and logs.
 */
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

HANDLER(h_org_list)
{
	json_t *o = NULL;
	int rc = organization_list(req->st, &req->actor, &o, &req->err);
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
		rc = json_strings(b, "roles", true, roles, 32, &in.nroles, &req->err);
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
	int64_t id = 0;
	if (rc == ST_OK)
		rc = user_create(req->st, &req->actor, &in, &id, &req->err);
	json_decref(b);
	if (rc == ST_OK)
		response_created(res, id);
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
