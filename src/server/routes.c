/*
 * routes.c - the route table of the API, and the handlers that need no
 * area of their own (health, the front page, the API description). See
 * http.h for how to add a route; docs/openapi.yaml must describe every row
 * (tests/unit/test_openapi.c compares them).
 */
#include "server/routes.h"
#include "steward/evidence.h"

HANDLER(h_health)
{
	json_t *o = NULL;
	bool ok = steward_health(req->st, &o);
	response_json(res, ok ? 200 : 503, o);
	return ST_OK;
}

HANDLER(h_root)
{
	(void)req;
	res->status = 200;
	res->content_type = "text/html; charset=utf-8";
	res->text = xstrdup(
		"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		"<title>Steward</title></head><body>\n"
		"<h1>Steward</h1>\n"
		"<p>This server keeps a school district's confidential records: encrypted, "
		"shown only to people whose duties need them, and every access recorded "
		"in a tamper-evident log.</p>\n"
		"<p>The HTTP JSON API lives under <code>/api/v1/</code>; its description is at "
		"<a href=\"/api/v1/openapi.yaml\">/api/v1/openapi.yaml</a> (and in "
		"<code>docs/api.md</code>). Health: <a href=\"/api/v1/health\">/api/v1/health</a>.</p>\n"
		"</body></html>\n");
	return ST_OK;
}

extern const unsigned char openapi_yaml[];
extern const size_t openapi_yaml_len;

HANDLER(h_openapi)
{
	(void)req;
	res->status = 200;
	res->content_type = "application/yaml; charset=utf-8";
	res->text = xstrndup((const char *)openapi_yaml, openapi_yaml_len);
	return ST_OK;
}

#define R(m, p, h, a, s, d) {m, p, h, a, s, d, NULL, false}
/* A route that takes query parameters (any other is refused by name). */
#define RQ(m, p, h, a, s, d, q) {m, p, h, a, s, d, q, false}
/* Reads answered on the event loop (see struct route). */
#define L(m, p, h, a, s, d) {m, p, h, a, s, d, NULL, true}
#define LQ(m, p, h, a, s, d, q) {m, p, h, a, s, d, q, true}
static const struct route table[] = {
	L("GET", "/", h_root, AUTH_NONE, NULL, "What this server is"),
	L("GET", "/api/v1/health", h_health, AUTH_NONE, NULL, "Liveness, version, schema, log state"),
	L("GET", "/api/v1/openapi.yaml", h_openapi, AUTH_NONE, NULL, "This API's description"),

	R("POST", "/api/v1/sessions", h_session_create, AUTH_NONE, NULL, "Sign in"),
	L("GET", "/api/v1/sessions/current", h_session_current, AUTH_ANY, NULL, "Who am I"),
	R("DELETE", "/api/v1/sessions/current", h_session_delete, AUTH_ANY, NULL, "Sign out"),
	R("POST", "/api/v1/sessions/current/password", h_password_change, AUTH_PASSWORD, NULL,
	  "Change one's password"),
	R("POST", "/api/v1/mfa/totp", h_mfa_begin, AUTH_ENROLL, NULL, "Start TOTP enrolment"),
	R("POST", "/api/v1/mfa/totp/confirm", h_mfa_confirm, AUTH_ENROLL, NULL,
	  "Confirm TOTP enrolment"),
	R("POST", "/api/v1/tokens", h_token_create, AUTH_SESSION, NULL, "Create an API token"),
	R("GET", "/api/v1/tokens", h_token_list, AUTH_SESSION, NULL, "List one's API tokens"),
	R("DELETE", "/api/v1/tokens/{token}", h_token_delete, AUTH_SESSION, NULL, "Revoke an API token"),

	R("POST", "/api/v1/organizations", h_org_create, AUTH_SESSION, "people",
	  "Create a school or department"),
	RQ("GET", "/api/v1/organizations", h_org_list, AUTH_SESSION, "people",
	   "List the organizations (their codes name them elsewhere)", "kind,status,after,limit"),
	R("PATCH", "/api/v1/organizations/{id}", h_org_patch, AUTH_SESSION, "people",
	  "Rename or deactivate an organization"),
	R("POST", "/api/v1/users", h_user_create, AUTH_SESSION, "people", "Create a user"),
	RQ("GET", "/api/v1/users", h_user_list, AUTH_SESSION, "people", "List and search users",
	   "q,role,status,kind,organization,after,limit"),
	L("GET", "/api/v1/users/{id}", h_user_get, AUTH_SESSION, "people", "Read a user"),
	R("PATCH", "/api/v1/users/{id}", h_user_patch, AUTH_SESSION, "people",
	  "Change a user's roles or status"),
	R("POST", "/api/v1/users/{id}/suspensions", h_suspension_create, AUTH_SESSION, "people",
	  "Suspend a user's access"),
	R("DELETE", "/api/v1/users/{id}/suspensions/{suspension}", h_suspension_delete,
	  AUTH_SESSION, "people", "Lift a suspension"),
	R("DELETE", "/api/v1/users/{id}/lock", h_user_unlock, AUTH_SESSION, "people",
	  "End the sign-in locks on a user's name"),
	R("POST", "/api/v1/users/{id}/enrollment-code", h_user_enrollment_code, AUTH_SESSION,
	  "people", "Issue a one-time multi-factor enrolment code"),
	R("POST", "/api/v1/users/{id}/reset", h_user_reset, AUTH_SESSION, "people",
	  "Reset a user's password and multi-factor"),
	R("POST", "/api/v1/training/completions", h_training_create, AUTH_SESSION, "people",
	  "Record a training completion"),
	R("POST", "/api/v1/agreements", h_agreement_create, AUTH_SESSION, "people",
	  "Record a contractor agreement"),
	R("POST", "/api/v1/relationships", h_relationship_create, AUTH_SESSION, "people",
	  "Assign a need-to-know relationship"),
	R("DELETE", "/api/v1/relationships/{id}", h_relationship_delete, AUTH_SESSION, "people",
	  "Remove a relationship"),
	RQ("GET", "/api/v1/relationships", h_relationship_list, AUTH_SESSION, "people",
	   "List relationships", "user,subject,organization,kind,status,after,limit"),

	R("POST", "/api/v1/subjects", h_subject_create, AUTH_SESSION, "subjects",
	  "Register a subject"),
	RQ("GET", "/api/v1/subjects", h_subject_list, AUTH_SESSION, "subjects",
	   "List the subjects one may read", "kind,organization,status,purpose,after,limit"),
	R("POST", "/api/v1/subjects/search", h_subject_search, AUTH_SESSION, "subjects",
	  "Find subjects by external id or name"),
	LQ("GET", "/api/v1/subjects/{id}", h_subject_get, AUTH_SESSION, "subjects",
	   "Read a subject's identifying fields", "purpose"),
	R("PATCH", "/api/v1/subjects/{id}", h_subject_patch, AUTH_SESSION, "subjects",
	  "Change or deactivate a subject"),
	RQ("GET", "/api/v1/subjects/{id}/records", h_subject_records, AUTH_SESSION, "records:read",
	   "A subject's records one may read", "category,purpose,after,limit"),
	R("POST", "/api/v1/records", h_record_create, AUTH_SESSION, "records:write",
	  "Create a record"),
	LQ("GET", "/api/v1/records/{id}", h_record_get, AUTH_SESSION, "records:read",
	  "Read a record", "purpose,version"),
	R("PATCH", "/api/v1/records/{id}", h_record_patch, AUTH_SESSION, "records:write",
	  "Update a record (a new version)"),
	RQ("DELETE", "/api/v1/records/{id}", h_record_delete, AUTH_SESSION, "records:write",
	  "Delete a record", "purpose"),

	L("GET", "/api/v1/inventory", h_inventory_get, AUTH_SESSION, "policy",
	  "The data inventory"),
	RQ("PUT", "/api/v1/inventory", h_inventory_put, AUTH_SESSION, "policy",
	  "Install a new inventory version", "note"),
	L("GET", "/api/v1/policy", h_policy_get, AUTH_SESSION, "policy", "The rules"),
	RQ("PUT", "/api/v1/policy", h_policy_put, AUTH_SESSION, "policy",
	  "Install a new rules version", "note"),
	RQ("GET", "/api/v1/policy/explain", h_policy_explain, AUTH_SESSION, "policy",
	  "Explain a decision", "user,record,action,purpose,mfa"),
	RQ("GET", "/api/v1/policy/who-can", h_policy_who_can, AUTH_SESSION, "policy",
	  "Who may act on a category or subject", "category,action,subject"),
	RQ("GET", "/api/v1/policy/what-can", h_policy_what_can, AUTH_SESSION, "policy",
	  "What a user can reach", "user"),

	RQ("GET", "/api/v1/audit", h_audit_query, AUTH_SESSION, "audit", "Query the access log",
	   "user,subject,record,outcome,from,to,limit,after"),
	R("GET", "/api/v1/audit/checkpoint", h_audit_checkpoint, AUTH_SESSION, "audit",
	  "The newest signed checkpoint"),
	RQ("GET", "/api/v1/audit/proof/{sequence}", h_audit_proof, AUTH_SESSION, "audit",
	  "An inclusion proof", "tree_size"),
	RQ("GET", "/api/v1/audit/consistency", h_audit_consistency, AUTH_SESSION, "audit",
	  "A consistency proof", "from,to"),
	R("POST", "/api/v1/audit/export", h_audit_export, AUTH_SESSION, "audit",
	  "An evidence package"),
};

const struct route *routes_table(size_t *count)
{
	*count = ARRAY_LEN(table);
	return table;
}
