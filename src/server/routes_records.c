/*
 * routes_records.c - subjects and records. A record read names its purpose
 * (?purpose=...), which the decision sees and the access log keeps, for the
 * current version and for an earlier one (?version=N, 1 to INT_MAX) alike.
 */
#include <limits.h>

#include "server/routes.h"
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

HANDLER(h_subject_get)
{
	int64_t id = 0;
	json_t *o = NULL;
	int rc = request_id_param(req, 0, "subject", &id);
	if (rc == ST_OK)
		rc = subject_get(req->st, &req->actor, id, &o, &req->err);
	if (rc == ST_OK)
		response_json(res, 200, o);
	return rc;
}

HANDLER(h_record_create)
{
	static const char *const keys[] = {"subject", "category", "fields", "source", "series",
					   NULL};
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
	if (rc == ST_OK && purpose && (strlen(purpose) > 500 ||
				       !str_is_clean_utf8(purpose, strlen(purpose))))
		rc = err_setc(&req->err, ST_EINVAL, "bad_value", "purpose",
			      "\"purpose\" must be at most 500 printable characters");
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
	static const char *const keys[] = {"fields", NULL};
	int64_t id = 0;
	json_t *b = NULL;
	int rc = request_id_param(req, 0, "record", &id);
	if (rc == ST_OK)
		rc = request_body(req, keys, &b);
	json_t *fields = b ? json_object_get(b, "fields") : NULL;
	if (rc == ST_OK && !fields)
		rc = err_setc(&req->err, ST_EINVAL, "missing_field", "fields", "\"fields\" is required");
	int version = 0;
	if (rc == ST_OK)
		rc = record_update(req->st, &req->actor, id, fields, &version, &req->err);
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
		rc = record_delete(req->st, &req->actor, id, &req->err);
	if (rc == ST_OK)
		res->status = 204;
	return rc;
}
