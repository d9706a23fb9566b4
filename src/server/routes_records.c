/*
 * routes_records.c - subjects and records. A record read names its purpose
 * (?purpose=...), which the decision sees and the access log keeps, for the
 * current version and for an earlier one (?version=N, 1 to INT_MAX) alike;
 * so does a subject read, a list of subjects and a subject's records. A
 * search by name or external id is a POST: the terms stay out of URLs.
 */
#include <limits.h>

#include "server/routes.h"
#include "steward/access.h"
#include "steward/records.h"

HANDLER(h_subject_create)
{
	static const char *const keys[] = {"kind", "external_id", "given_name", "family_name",
					   "date_of_birth", "organization", NULL};
	json_t *b = NULL;
	struct subject_input in = {0};
	int rc = request_body(req, keys, &b);
	if (rc == ST_OK)
		rc = json_get_str(b, "kind", true, 32, &in.kind, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_str(b, "external_id", true, 64, &in.external_id, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_str(b, "given_name", true, 100, &in.given_name, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_str(b, "family_name", true, 100, &in.family_name, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_str(b, "date_of_birth", false, 10, &in.date_of_birth, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_str(b, "organization", false, 48, &in.organization, "", &req->err);
	int64_t id = 0;
	if (rc == ST_OK)
		rc = subject_create(req->st, &req->actor, &in, &id, &req->err);
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

HANDLER(h_subject_get)
{
	int64_t id = 0;
	json_t *o = NULL;
	int rc = request_id_param(req, 0, "subject", &id);
	if (rc == ST_OK)
		rc = subject_read(req->st, &req->actor, id, query_opt(req, "purpose"), &o,
				  &req->err);
	if (rc == ST_OK)
		response_json(res, 200, o);
	return rc;
}

HANDLER(h_subject_patch)
{
	static const char *const keys[] = {"external_id", "given_name", "family_name",
					   "date_of_birth", "organization", "status", NULL};
	int64_t id = 0;
	json_t *b = NULL;
	struct subject_change in = {0};
	int rc = request_id_param(req, 0, "subject", &id);
	if (rc == ST_OK)
		rc = request_body(req, keys, &b);
	if (rc == ST_OK)
		rc = json_get_str(b, "external_id", false, 64, &in.external_id, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_str(b, "given_name", false, 100, &in.given_name, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_str(b, "family_name", false, 100, &in.family_name, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_str(b, "date_of_birth", false, 10, &in.date_of_birth, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_str(b, "organization", false, 48, &in.organization, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_str(b, "status", false, 16, &in.status, "", &req->err);
	/* null removes a date of birth or an organization */
	if (rc == ST_OK) {
		in.clear_date_of_birth = json_is_null(json_object_get(b, "date_of_birth"));
		in.clear_organization = json_is_null(json_object_get(b, "organization"));
	}
	if (rc == ST_OK)
		rc = subject_update(req->st, &req->actor, id, &in, &req->err);
	if (rc == ST_OK) {
		json_t *changed = json_array();
		const char *k;
		json_t *v;
		json_object_foreach(b, k, v)
			json_array_append_new(changed, json_string(k));
		response_json(res, 200,
			      json_pack("{s:I, s:o}", "id", (json_int_t)id, "changed", changed));
	}
	json_decref(b);
	return rc;
}

HANDLER(h_subject_list)
{
	struct subject_query q = {.kind = query_opt(req, "kind"),
				  .organization = query_opt(req, "organization"),
				  .status = query_opt(req, "status"),
				  .purpose = query_opt(req, "purpose")};
	int rc = request_query_id(req, "after", &q.after);
	if (rc == ST_OK)
		rc = query_limit(req, &q.limit);
	json_t *o = NULL;
	if (rc == ST_OK)
		rc = subject_search(req->st, &req->actor, &q, &o, &req->err);
	if (rc == ST_OK)
		response_json(res, 200, o);
	return rc;
}

/* A search by identifying terms: they travel in the body, never in a URL
 * (which proxies and browsers keep). */
HANDLER(h_subject_search)
{
	static const char *const keys[] = {"external_id", "family_name", "given_name", "kind",
					   "organization", "status", "purpose", "after", "limit",
					   NULL};
	json_t *b = NULL;
	struct subject_query q = {0};
	int64_t limit = 0;
	int rc = request_body(req, keys, &b);
	if (rc == ST_OK)
		rc = json_get_str(b, "external_id", false, 64, &q.external_id, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_str(b, "family_name", false, 100, &q.family_name, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_str(b, "given_name", false, 100, &q.given_name, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_str(b, "kind", false, 32, &q.kind, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_str(b, "organization", false, 48, &q.organization, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_str(b, "status", false, 16, &q.status, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_str(b, "purpose", false, 500, &q.purpose, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_int(b, "after", false, &q.after, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_int(b, "limit", false, &limit, "", &req->err);
	q.limit = limit < 0 ? -1 : limit > INT_MAX ? INT_MAX : (int)limit;
	if (rc == ST_OK && !q.external_id && !q.family_name)
		rc = err_setc(&req->err, ST_EINVAL, "missing_field", "external_id",
			      "search by \"external_id\" or \"family_name\" (to list, GET "
			      "/api/v1/subjects)");
	json_t *o = NULL;
	if (rc == ST_OK)
		rc = subject_search(req->st, &req->actor, &q, &o, &req->err);
	json_decref(b);
	if (rc == ST_OK)
		response_json(res, 200, o);
	return rc;
}

HANDLER(h_subject_records)
{
	int64_t id = 0;
	struct record_query q = {.category = query_opt(req, "category"),
				 .purpose = query_opt(req, "purpose")};
	int rc = request_id_param(req, 0, "subject", &id);
	if (rc == ST_OK)
		rc = request_query_id(req, "after", &q.after);
	if (rc == ST_OK)
		rc = query_limit(req, &q.limit);
	json_t *o = NULL;
	if (rc == ST_OK)
		rc = subject_records(req->st, &req->actor, id, &q, &o, &req->err);
	if (rc == ST_OK)
		response_json(res, 200, o);
	return rc;
}

HANDLER(h_record_create)
{
	static const char *const keys[] = {"subject", "category", "fields", "source", "series",
					   "purpose", NULL};
	json_t *b = NULL;
	struct record_input in = {0};
	int rc = request_body(req, keys, &b);
	if (rc == ST_OK)
		rc = json_get_int(b, "subject", true, &in.subject_id, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_str(b, "category", true, 64, &in.category, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_str(b, "source", false, 120, &in.source, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_str(b, "series", false, 64, &in.series, "", &req->err);
	if (rc == ST_OK)
		rc = json_get_str(b, "purpose", false, 500, &in.purpose, "", &req->err);
	in.fields = json_object_get(b, "fields");
	if (rc == ST_OK && !in.fields)
		rc = err_setc(&req->err, ST_EINVAL, "missing_field", "fields", "\"fields\" is required");
	int64_t id = 0;
	if (rc == ST_OK)
		rc = record_create(req->st, &req->actor, &in, &id, &req->err);
	json_decref(b);
	if (rc == ST_OK)
		response_created(res, id);
	return rc;
}

HANDLER(h_record_get)
{
	int64_t id = 0, version = 0;
	int rc = request_id_param(req, 0, "record", &id);
	if (rc == ST_OK)
		rc = request_query_id(req, "version", &version);
	if (rc == ST_OK && version > INT_MAX)
		rc = err_setc(&req->err, ST_EINVAL, "bad_value", "version",
			      "\"version\" must be a whole number from 1 to %d", INT_MAX);
	const char *purpose = request_query(req, "purpose");
	if (rc == ST_OK)
		rc = access_purpose_check(purpose, &req->err);
	char *text = NULL;
	size_t len = 0;
	if (rc == ST_OK)
		rc = record_read_text(req->st, &req->actor, id, (int)version, purpose, &text, &len,
				      &req->err);
	if (rc == ST_OK) {
		res->status = 200;
		res->text = text;
		res->content_type = "application/json";
	}
	return rc;
}

HANDLER(h_record_patch)
{
	static const char *const keys[] = {"fields", "purpose", NULL};
	int64_t id = 0;
	json_t *b = NULL;
	const char *purpose = NULL;
	int rc = request_id_param(req, 0, "record", &id);
	if (rc == ST_OK)
		rc = request_body(req, keys, &b);
	json_t *fields = b ? json_object_get(b, "fields") : NULL;
	if (rc == ST_OK && !fields)
		rc = err_setc(&req->err, ST_EINVAL, "missing_field", "fields", "\"fields\" is required");
	if (rc == ST_OK)
		rc = json_get_str(b, "purpose", false, 500, &purpose, "", &req->err);
	int version = 0;
	if (rc == ST_OK)
		rc = record_update(req->st, &req->actor, id, purpose, fields, &version, &req->err);
	json_decref(b);
	if (rc == ST_OK)
		response_json(res, 200, json_pack("{s:I, s:i}", "id", (json_int_t)id, "version", version));
	return rc;
}

HANDLER(h_record_delete)
{
	int64_t id = 0;
	int rc = request_id_param(req, 0, "record", &id);
	if (rc == ST_OK)
		rc = record_delete(req->st, &req->actor, id, request_query(req, "purpose"),
				   &req->err);
	if (rc == ST_OK)
		res->status = 204;
	return rc;
}
