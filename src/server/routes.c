/*
 * routes.c - the route table of the API and the handlers that need no
 * area of their own (health, the front page). See http.h for how to add a
 * route.
 */
#include "server/http.h"

static int h_health(struct request *req, struct response *res)
{
	json_t *o = json_object();
	json_object_set_new(o, "status", json_string("ok"));
	json_object_set_new(o, "version", json_string(STEWARD_VERSION));
	json_object_set_new(o, "schema_version", json_integer(steward_schema_version(req->st)));
	response_json(res, 200, o);
	return ST_OK;
}

static int h_root(struct request *req, struct response *res)
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
		"<p>The HTTP JSON API lives under <code>/api/v1/</code>; it is described in "
		"<code>docs/openapi.yaml</code> and <code>docs/api.md</code>. "
		"Health: <a href=\"/api/v1/health\">/api/v1/health</a>.</p>\n"
		"</body></html>\n");
	return ST_OK;
}

static const struct route table[] = {
	{"GET", "/", h_root, AUTH_NONE, "What this server is"},
	{"GET", "/api/v1/health", h_health, AUTH_NONE, "Liveness, version and schema version"},
};

const struct route *routes_table(size_t *count)
{
	*count = ARRAY_LEN(table);
	return table;
}
