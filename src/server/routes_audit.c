/*
 * routes_audit.c - the access log over HTTP: queries (the record of access
 * a parent may be shown), checkpoints, proofs and evidence packages.
 */
#include "server/routes.h"
#include "steward/evidence.h"

HANDLER(h_audit_query)
{
	struct evidence_filter f = {.after = -1};
	int64_t after = 0, limit = 0;
	int rc = request_query_id(req, "user", &f.user);
	if (rc == ST_OK)
		rc = request_query_id(req, "subject", &f.subject);
	if (rc == ST_OK)
		rc = request_query_id(req, "record", &f.record);
	if (rc == ST_OK)
		rc = request_query_time(req, "from", &f.from_us);
	if (rc == ST_OK)
		rc = request_query_time(req, "to", &f.to_us);
	if (rc == ST_OK)
		rc = request_query_id(req, "limit", &limit);
	const char *a = request_query(req, "after");
	if (rc == ST_OK && a && *a) {
		if (!str_to_i64(a, &after) || after < 0)
			rc = err_setc(&req->err, ST_EINVAL, "wrong_type", "after",
				      "\"after\" must be a sequence number");
		else
			f.after = after;
	}
	f.outcome = request_query(req, "outcome");
	f.limit = (int)(limit > 1000 ? 1000 : limit);
	json_t *events = NULL;
	int64_t next = -1;
	if (rc == ST_OK)
		rc = evidence_query(req->st, &req->actor, &f, &events, &next, &req->err);
	if (rc == ST_OK) {
		json_t *o = json_pack("{s:o}", "events", events);
		if (next >= 0)
			json_object_set_new(o, "next", json_integer(next));
		response_json(res, 200, o);
	}
	return rc;
}

HANDLER(h_audit_checkpoint)
{
	json_t *o = NULL;
	int rc = evidence_checkpoint(req->st, &req->actor, &o, &req->err);
	if (rc == ST_OK)
		response_json(res, 200, o);
	return rc;
}

HANDLER(h_audit_proof)
{
	int64_t seq = 0, size = 0;
	const char *p = req->params[0];
	int rc = str_to_i64(p, &seq) && seq >= 0
			 ? ST_OK
			 : err_setc(&req->err, ST_ENOTFOUND, "event_not_found", "sequence",
				   "no event %s", p);
	if (rc == ST_OK)
		rc = request_query_id(req, "tree_size", &size);
	json_t *o = NULL;
	if (rc == ST_OK)
		rc = evidence_proof(req->st, &req->actor, seq, size, &o, &req->err);
	if (rc == ST_OK)
		response_json(res, 200, o);
	return rc;
}

HANDLER(h_audit_consistency)
{
	int64_t from = 0, to = 0;
	int rc = request_query_id(req, "from", &from);
	if (rc == ST_OK)
		rc = request_query_id(req, "to", &to);
	json_t *o = NULL;
	if (rc == ST_OK)
		rc = evidence_consistency(req->st, &req->actor, from, to, &o, &req->err);
	if (rc == ST_OK)
		response_json(res, 200, o);
	return rc;
}

HANDLER(h_audit_export)
{
	static const char *const keys[] = {"from", "to", "user", "subject", NULL};
	json_t *b = NULL;
	int64_t from = 0, to = 0, user = 0, subject = 0;
	int rc = request_body(req, keys, &b);
	if (rc == ST_OK)
		rc = json_get_time(b, "from", true, &from, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_time(b, "to", true, &to, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_int(b, "user", false, &user, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_int(b, "subject", false, &subject, "", &req->err);
	json_decref(b);
	json_t *pkg = NULL;
	if (rc == ST_OK)
		rc = evidence_export(req->st, &req->actor, from * 1000000, to * 1000000, user, subject,
				     &pkg, &req->err);
	if (rc == ST_OK)
		response_json(res, 200, pkg);
	return rc;
}
