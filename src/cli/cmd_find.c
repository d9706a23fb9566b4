/*
 * cmd_find.c - finding and changing subjects, users, organizations and
 * relationships: clients of the HTTP API, decided and logged there as the
 * signed-in person. A search by name or external id is sent in a request
 * body (POST /api/v1/subjects/search), never in a URL.
 */
#include "cli/cli.h"
#include "crypto/crypto.h"

/* A positional id, or an error message and exit code 2. */
static bool one_id(int argc, char **argv, const struct cli_opt *opts, const char *usage,
		   int64_t *id)
{
	const char *pos[1];
	int npos = 0;
	if (cli_parse(argc, argv, opts, pos, 1, &npos) != 0 || npos != 1 ||
	    !str_to_i64(pos[0], id) || *id <= 0) {
		fprintf(stderr, "steward: %s\n", usage);
		return false;
	}
	return true;
}

static bool no_positional(int argc, char **argv, const struct cli_opt *opts)
{
	const char *pos[1];
	int npos = 0;
	return cli_parse(argc, argv, opts, pos, 0, &npos) == 0;
}

/* A whole number option into a JSON body (exit 2 if it is not one). */
static bool put_int(json_t *b, const char *key, const char *opt, const char *v)
{
	int64_t n = 0;
	if (!v)
		return true;
	if (!str_to_i64(v, &n)) {
		fprintf(stderr, "steward: --%s takes a whole number\n", opt);
		return false;
	}
	json_object_set_new(b, key, json_integer(n));
	return true;
}

static int send_body(const char *method, const char *path, json_t *b)
{
	char *t = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	int rc = cli_request(method, path, t);
	/* it may hold names and ids of people */
	secure_free_plain(t, strlen(t));
	return rc;
}

int cmd_users_list(int argc, char **argv)
{
	const char *q = NULL, *role = NULL, *status = NULL, *kind = NULL, *org = NULL,
		   *after = NULL, *limit = NULL;
	const struct cli_opt opts[] = {
		{"q", &q, NULL, "text in the username or display name"},
		{"role", &role, NULL, "only users holding this role"},
		{"status", &status, NULL, "active, disabled or separated"},
		{"kind", &kind, NULL, "employee, contractor, board_member or volunteer"},
		{"organization", &org, NULL, "an organization code"},
		{"after", &after, NULL, "continue after this user id (the \"next\" of a page)"},
		{"limit", &limit, NULL, "at most this many (1-200, default 50)"},
		{NULL, NULL, NULL, NULL},
	};
	if (!no_positional(argc, argv, opts))
		return 2;
	return cli_get("/api/v1/users", opts);
}

int cmd_organizations_list(int argc, char **argv)
{
	const char *kind = NULL, *status = NULL, *after = NULL, *limit = NULL;
	const struct cli_opt opts[] = {
		{"kind", &kind, NULL, "school, department or district"},
		{"status", &status, NULL, "active or inactive"},
		{"after", &after, NULL, "continue after this code (the \"next\" of a page)"},
		{"limit", &limit, NULL, "at most this many (1-200, default 50)"},
		{NULL, NULL, NULL, NULL},
	};
	if (!no_positional(argc, argv, opts))
		return 2;
	return cli_get("/api/v1/organizations", opts);
}

int cmd_organizations_update(int argc, char **argv)
{
	const char *name = NULL, *status = NULL;
	const struct cli_opt opts[] = {
		{"name", &name, NULL, "its new name"},
		{"status", &status, NULL, "active or inactive"},
		{NULL, NULL, NULL, NULL},
	};
	int64_t id = 0;
	if (!one_id(argc, argv, opts,
		    "organizations update needs an organization ID and --name or --status", &id))
		return 2;
	if (!name && !status) {
		fprintf(stderr, "steward: give --name or --status\n");
		return 2;
	}
	json_t *b = json_object();
	if (name)
		json_object_set_new(b, "name", json_string(name));
	if (status)
		json_object_set_new(b, "status", json_string(status));
	char path[64];
	snprintf(path, sizeof(path), "/api/v1/organizations/%lld", (long long)id);
	return send_body("PATCH", path, b);
}

int cmd_relationships_list(int argc, char **argv)
{
	const char *user = NULL, *subject = NULL, *org = NULL, *kind = NULL, *status = NULL,
		   *after = NULL, *limit = NULL;
	const struct cli_opt opts[] = {
		{"user", &user, NULL, "a user id"},
		{"subject", &subject, NULL, "a subject id"},
		{"organization", &org, NULL, "an organization code (organization-wide grants)"},
		{"kind", &kind, NULL, "teacher_of, counselor_caseload, sped_caseload, supervisor_of, grant"},
		{"status", &status, NULL, "current (default), removed or all"},
		{"after", &after, NULL, "continue after this relationship id"},
		{"limit", &limit, NULL, "at most this many (1-200, default 50)"},
		{NULL, NULL, NULL, NULL},
	};
	if (!no_positional(argc, argv, opts))
		return 2;
	return cli_get("/api/v1/relationships", opts);
}

int cmd_subjects_list(int argc, char **argv)
{
	const char *kind = NULL, *org = NULL, *status = NULL, *purpose = NULL, *after = NULL,
		   *limit = NULL;
	const struct cli_opt opts[] = {
		{"kind", &kind, NULL, "student, parent_guardian, employee, applicant or other"},
		{"organization", &org, NULL, "an organization code"},
		{"status", &status, NULL, "active (default), inactive or all"},
		{"purpose", &purpose, NULL, "why you need them (it is logged)"},
		{"after", &after, NULL, "continue after this subject id (the \"next\" of a page)"},
		{"limit", &limit, NULL, "at most this many (1-100, default 25)"},
		{NULL, NULL, NULL, NULL},
	};
	if (!no_positional(argc, argv, opts))
		return 2;
	return cli_get("/api/v1/subjects", opts);
}

int cmd_subjects_find(int argc, char **argv)
{
	const char *ext = NULL, *family = NULL, *given = NULL, *kind = NULL, *org = NULL,
		   *status = NULL, *purpose = NULL, *after = NULL, *limit = NULL;
	const struct cli_opt opts[] = {
		{"external-id", &ext, NULL, "the external id (exact)"},
		{"family-name", &family, NULL, "the family name (exact, any case)"},
		{"given-name", &given, NULL, "with --family-name: the given name"},
		{"kind", &kind, NULL, "student, parent_guardian, employee, applicant or other"},
		{"organization", &org, NULL, "an organization code"},
		{"status", &status, NULL, "active (default), inactive or all"},
		{"purpose", &purpose, NULL, "why you need them (it is logged)"},
		{"after", &after, NULL, "continue after this subject id"},
		{"limit", &limit, NULL, "at most this many (1-100, default 25)"},
		{NULL, NULL, NULL, NULL},
	};
	if (!no_positional(argc, argv, opts))
		return 2;
	if (!ext && !family) {
		fprintf(stderr, "steward: subjects find needs --external-id or --family-name\n");
		return 2;
	}
	json_t *b = json_object();
	const char *keys[] = {"external_id", "family_name", "given_name", "kind",
			      "organization", "status", "purpose"};
	const char *vals[] = {ext, family, given, kind, org, status, purpose};
	for (size_t i = 0; i < ARRAY_LEN(keys); i++)
		if (vals[i])
			json_object_set_new(b, keys[i], json_string(vals[i]));
	if (!put_int(b, "after", "after", after) || !put_int(b, "limit", "limit", limit)) {
		json_decref(b);
		return 2;
	}
	return send_body("POST", "/api/v1/subjects/search", b);
}

int cmd_subjects_get(int argc, char **argv)
{
	const char *purpose = NULL;
	const struct cli_opt opts[] = {
		{"purpose", &purpose, NULL, "why you need it (it is logged)"},
		{NULL, NULL, NULL, NULL},
	};
	int64_t id = 0;
	if (!one_id(argc, argv, opts, "subjects get needs a subject ID", &id))
		return 2;
	char path[64];
	snprintf(path, sizeof(path), "/api/v1/subjects/%lld", (long long)id);
	return cli_get(path, opts);
}

int cmd_subjects_records(int argc, char **argv)
{
	const char *category = NULL, *purpose = NULL, *after = NULL, *limit = NULL;
	const struct cli_opt opts[] = {
		{"category", &category, NULL, "only this category"},
		{"purpose", &purpose, NULL, "why you need them (it is logged)"},
		{"after", &after, NULL, "continue after this record id"},
		{"limit", &limit, NULL, "at most this many (1-200, default 50)"},
		{NULL, NULL, NULL, NULL},
	};
	int64_t id = 0;
	if (!one_id(argc, argv, opts, "subjects records needs a subject ID", &id))
		return 2;
	char path[80];
	snprintf(path, sizeof(path), "/api/v1/subjects/%lld/records", (long long)id);
	return cli_get(path, opts);
}

int cmd_subjects_update(int argc, char **argv)
{
	const char *ext = NULL, *given = NULL, *family = NULL, *dob = NULL, *org = NULL,
		   *status = NULL;
	bool no_dob = false, no_org = false;
	const struct cli_opt opts[] = {
		{"external-id", &ext, NULL, "a new external id"},
		{"given-name", &given, NULL, "a new given name"},
		{"family-name", &family, NULL, "a new family name"},
		{"date-of-birth", &dob, NULL, "a new date of birth (YYYY-MM-DD)"},
		{"no-date-of-birth", NULL, &no_dob, "remove the date of birth"},
		{"organization", &org, NULL, "move to this organization (code)"},
		{"no-organization", NULL, &no_org, "belong to no organization"},
		{"status", &status, NULL, "inactive to deactivate (records stay), active to reactivate"},
		{NULL, NULL, NULL, NULL},
	};
	int64_t id = 0;
	if (!one_id(argc, argv, opts, "subjects update needs a subject ID and what to change", &id))
		return 2;
	json_t *b = json_object();
	const char *keys[] = {"external_id", "given_name", "family_name", "date_of_birth",
			      "organization", "status"};
	const char *vals[] = {ext, given, family, dob, org, status};
	for (size_t i = 0; i < ARRAY_LEN(keys); i++)
		if (vals[i])
			json_object_set_new(b, keys[i], json_string(vals[i]));
	if (no_dob)
		json_object_set_new(b, "date_of_birth", json_null());
	if (no_org)
		json_object_set_new(b, "organization", json_null());
	if (!json_object_size(b) || (dob && no_dob) || (org && no_org)) {
		json_decref(b);
		fprintf(stderr, "steward: subjects update needs one change (see --help), each "
				"given once\n");
		return 2;
	}
	char path[64];
	snprintf(path, sizeof(path), "/api/v1/subjects/%lld", (long long)id);
	return send_body("PATCH", path, b);
}
