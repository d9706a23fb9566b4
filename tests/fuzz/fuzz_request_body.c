/*
 * fuzz_request_body.c - an HTTP request body, read as every handler reads
 * one (src/server/http.c request_body): json_parse_object, json_only_keys
 * against the route's fields, then each field through the typed getters of
 * src/common/json.c and json_strings. The input is the body.
 *
 * Properties: a refusal names what was wrong in text an answer can carry;
 * a string accepted is clean UTF-8 of at most the length asked, non-empty
 * when required; a time accepted lies in the years 1900 to 9999; a list of
 * strings accepted holds at most the number asked, each of 1 to 200 bytes.
 */
#include "fuzz.h"
#include "server/http.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	return 0;
}

/* The fields of the sign-in, user and record bodies (routes_*.c). */
static const char *const route_keys[] = {"username", "password", "totp", "display_name",
					 "roles", "organization", "kind", "subject",
					 "category", "fields", "source", "series", "from",
					 "to", "user", "expires", "scopes", "name", NULL};

static void getters(const json_t *b, const char *key)
{
	static const size_t maxes[] = {10, 16, 64, 200, 2000};
	for (int required = 0; required < 2; required++) {
		for (size_t m = 0; m < ARRAY_LEN(maxes); m++) {
			struct st_error e = {0};
			const char *s = NULL;
			int rc = json_get_str(b, key, required, maxes[m], &s, "body", &e);
			if (rc != ST_OK) {
				fuzz_check_refusal(rc, &e);
				continue;
			}
			if (required)
				FUZZ_CHECK(s && *s);
			if (s) {
				FUZZ_CHECK(strlen(s) <= maxes[m]);
				FUZZ_CHECK(str_is_clean_utf8(s, strlen(s)));
				FUZZ_CHECK(fuzz_text_ok(s));
			}
		}
		struct st_error e = {0};
		int64_t i = 0;
		int rc = json_get_int(b, key, required, &i, "", &e);
		if (rc != ST_OK)
			fuzz_check_refusal(rc, &e);
		bool flag = false;
		memset(&e, 0, sizeof(e));
		rc = json_get_bool(b, key, required, &flag, "", &e);
		if (rc != ST_OK)
			fuzz_check_refusal(rc, &e);
		int64_t t = INT64_MIN;
		memset(&e, 0, sizeof(e));
		rc = json_get_time(b, key, required, &t, "body.when", &e);
		if (rc != ST_OK)
			fuzz_check_refusal(rc, &e);
		else if (t != INT64_MIN)
			/* 1900-01-01 to 9999-12-31T23:59:59 */
			FUZZ_CHECK(t >= -2208988800LL && t <= TIME_MAX_SEC);
		const char *list[32];
		size_t n = 0;
		memset(&e, 0, sizeof(e));
		rc = json_strings(b, key, required, list, ARRAY_LEN(list), &n, &e);
		if (rc != ST_OK) {
			fuzz_check_refusal(rc, &e);
			continue;
		}
		FUZZ_CHECK(n <= ARRAY_LEN(list));
		for (size_t k = 0; k < n; k++)
			FUZZ_CHECK(strlen(list[k]) >= 1 && strlen(list[k]) <= 200);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > HTTP_BODY_MAX)
		return 0; /* refused before it is read (413) */
	struct st_error e = {0};
	json_t *b = NULL;
	int rc = json_parse_object((const char *)data, size, &b, &e);
	if (rc != ST_OK) {
		fuzz_check_refusal(rc, &e);
		return 0;
	}
	FUZZ_CHECK(json_is_object(b));
	memset(&e, 0, sizeof(e));
	rc = json_only_keys(b, route_keys, "", &e);
	if (rc != ST_OK)
		fuzz_check_refusal(rc, &e);
	/* as the inventory and rule parsers name a nested object's fields */
	memset(&e, 0, sizeof(e));
	rc = json_only_keys(b, route_keys, "categories.health.fields", &e);
	if (rc != ST_OK)
		fuzz_check_refusal(rc, &e);
	const char *key;
	json_t *v;
	json_object_foreach(b, key, v) getters(b, key);
	getters(b, "absent");
	json_decref(b);
	return 0;
}
