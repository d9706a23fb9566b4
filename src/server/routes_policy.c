/*
 * routes_policy.c - the inventory and the rules (read, replace), and the
 * questions asked of them: explain, who-can, what-can.
 */
#include "server/routes.h"
#include "steward/access.h"

static int put_document(struct request *req, struct response *res, bool policy)
{
	json_t *doc = NULL;
	int rc = request_json(req, &doc, &req->err);
	json_decref(doc); /* validated by the library, which parses the text itself */
	const char *note = request_query(req, "note");
	if (rc == ST_OK && note && strlen(note) > 500)
		rc = err_setc(&req->err, ST_EINVAL, "too_long", "note", "at most 500 characters");
	char *text = rc == ST_OK ? xstrndup(req->body, req->body_len) : NULL;
	int version = 0;
	if (rc == ST_OK)
		rc = policy ? policy_install(req->st, &req->actor, text, note, &version, &req->err)
			    : inventory_install(req->st, &req->actor, text, note, &version, &req->err);
	free(text);
	if (rc == ST_OK)
		response_json(res, 200, json_pack("{s:i}", "version", version));
	return rc;
}

static int get_document(struct request *req, struct response *res, bool policy)
{
	json_t *doc = NULL;
	int version = 0;
	int rc = policy ? policy_document(req->st, &req->actor, &doc, &version, &req->err)
			: inventory_document(req->st, &req->actor, &doc, &version, &req->err);
	if (rc == ST_OK)
		response_json(res, 200, json_pack("{s:i, s:o}", "version", version,
						  policy ? "policy" : "inventory", doc));
	return rc;
}

HANDLER(h_inventory_get)
{
	return get_document(req, res, false);
}
HANDLER(h_inventory_put)
{
	return put_document(req, res, false);
}
HANDLER(h_policy_get)
{
	return get_document(req, res, true);
}
HANDLER(h_policy_put)
{
	return put_document(req, res, true);
}

HANDLER(h_policy_explain)
{
	int64_t user = 0, record = 0;
	int rc = request_query_id(req, "user", &user);
	if (rc == ST_OK)
		rc = request_query_id(req, "record", &record);
	if (rc == ST_OK && !user)
		rc = err_setc(&req->err, ST_EINVAL, "missing_field", "user", "\"user\" is required");
	if (rc == ST_OK && !record)
		rc = err_setc(&req->err, ST_EINVAL, "missing_field", "record", "\"record\" is required");
	const char *mfa = request_query(req, "mfa");
	json_t *o = NULL;
	if (rc == ST_OK)
		rc = access_explain(req->st, &req->actor, user, request_query(req, "action"), record,
				    request_query(req, "purpose"), mfa ? str_eq(mfa, "true") : true,
				    &o, &req->err);
	if (rc == ST_OK)
		response_json(res, 200, o);
	return rc;
}

HANDLER(h_policy_who_can)
{
	int64_t subject = 0;
	int rc = request_query_id(req, "subject", &subject);
	json_t *o = NULL;
	if (rc == ST_OK)
		rc = access_who_can(req->st, &req->actor, request_query(req, "category"), subject,
				    request_query(req, "action"), &o, &req->err);
	if (rc == ST_OK)
		response_json(res, 200, o);
	return rc;
}

HANDLER(h_policy_what_can)
{
	int64_t user = 0;
	int rc = request_query_id(req, "user", &user);
	if (rc == ST_OK && !user)
		user = req->actor.user_id;
	json_t *o = NULL;
	if (rc == ST_OK)
		rc = access_what_can(req->st, &req->actor, user, &o, &req->err);
	if (rc == ST_OK)
		response_json(res, 200, o);
	return rc;
}
