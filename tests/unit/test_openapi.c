/*
 * test_openapi.c - docs/openapi.yaml describes exactly the routes the
 * server registers: every (method, path) of the route table is in the
 * file, and the file describes nothing the server does not serve.
 */
#include "testsupport.h"
#include "server/http.h"

static void test_openapi_matches_routes(void **state)
{
	(void)state;
	char *text = NULL;
	size_t len = 0;
	assert_int_equal(file_read_all(STEWARD_SOURCE_DIR "/docs/openapi.yaml", 1 << 22, &text, &len,
				       NULL),
			 ST_OK);
	assert_non_null(strstr(text, "openapi: \"3.1.0\""));
	/* collect "  "/path":" then "    method:" pairs */
	char described[256][128];
	int n = 0;
	char path[96] = "";
	bool in_paths = false;
	for (char *line = text; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		char *next = nl ? nl + 1 : NULL;
		if (str_has_prefix(line, "paths:"))
			in_paths = true;
		else if (in_paths && line[0] != ' ')
			in_paths = false;
		else if (in_paths && str_has_prefix(line, "  \"/") && !str_has_prefix(line, "   ")) {
			char *end = strchr(line + 3, '"');
			assert_non_null(end);
			*end = '\0';
			str_copy(path, sizeof(path), line + 3);
		} else if (in_paths && str_has_prefix(line, "    ") && !str_has_prefix(line, "     ")) {
			static const char *const methods[] = {"get", "post", "put", "patch", "delete"};
			for (size_t m = 0; m < ARRAY_LEN(methods); m++) {
				char key[16];
				snprintf(key, sizeof(key), "%s:", methods[m]);
				if (str_eq(line + 4, key)) {
					assert_true(n < 256);
					snprintf(described[n++], 128, "%s %s", methods[m], path);
				}
			}
		}
		line = next;
	}
	size_t count = 0;
	const struct route *routes = routes_table(&count);
	for (size_t i = 0; i < count; i++) {
		char want[128];
		snprintf(want, sizeof(want), "%s %s", routes[i].method, routes[i].path);
		for (char *p = want; *p && *p != ' '; p++)
			*p = (char)(*p + 32);
		bool found = false;
		for (int k = 0; k < n; k++)
			found |= str_eq(described[k], want);
		if (!found)
			fail_msg("route %s is not described in docs/openapi.yaml", want);
	}
	for (int k = 0; k < n; k++) {
		bool served = false;
		for (size_t i = 0; i < count; i++) {
			char want[128];
			snprintf(want, sizeof(want), "%s %s", routes[i].method, routes[i].path);
			for (char *p = want; *p && *p != ' '; p++)
				*p = (char)(*p + 32);
			served |= str_eq(described[k], want);
		}
		if (!served)
			fail_msg("docs/openapi.yaml describes %s, which the server does not serve",
				 described[k]);
	}
	assert_int_equal((size_t)n, count);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_openapi_matches_routes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
