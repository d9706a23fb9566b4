/*
 * fuzz_query.c - the request line and headers, read as src/server/http.c
 * reads them before any handler runs. The input is three lines:
 *
 *   the request target (a path, then ?query),
 *   an X-Forwarded-For value,
 *   a header name.
 *
 * The path is decoded as libmicrohttpd decodes it (MHD_http_unescape) and
 * matched against every route of the table (http_path_match); the query
 * is split and decoded as libmicrohttpd does ('&', '=', '+', %XX) and each
 * parameter checked as for that route (http_query_param_check), then read
 * as the handlers read ids, sequence numbers and times (str_to_i64,
 * time_parse). The forwarded-for value is read behind three trusted
 * proxies (http_forwarded_client), and the header name as the framing
 * check reads it (http_header_name_ok).
 *
 * Properties: a captured {param} is a non-empty path segment; a parameter
 * accepted has a clean name of at most 64 bytes that the route takes and a
 * value of at most 1024 bytes without control characters; a refusal names
 * what was wrong in text an answer can carry; the client found is the
 * peer's own or a canonical address that is not a proxy; a header name is
 * a token exactly when every byte is a token character.
 */
#include <arpa/inet.h>
#include <microhttpd.h>

#include "fuzz.h"
#include "server/http.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	return 0;
}

static bool text_without_controls(const char *s, size_t n)
{
	if (!str_is_clean_utf8(s, n))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

static void typed_value(const char *name, const char *value)
{
	int64_t v = 0;
	if (str_to_i64(value, &v)) {
		char back[32];
		snprintf(back, sizeof(back), "%lld", (long long)v);
		int64_t w = 0;
		FUZZ_CHECK(str_to_i64(back, &w) && w == v);
	}
	if (str_eq(name, "from") || str_eq(name, "to")) {
		int64_t t = 0;
		if (time_parse(value, &t) == ST_OK)
			FUZZ_CHECK(t >= -2208988800LL && t <= TIME_MAX_SEC);
	}
}

static void query(const struct route *r, const char *q)
{
	char *copy = xstrdup(q);
	for (char *p = copy; p && *p;) {
		char *amp = strchr(p, '&');
		if (amp)
			*amp = '\0';
		for (char *c = p; *c; c++)
			if (*c == '+')
				*c = ' ';
		char *eq = strchr(p, '=');
		char *value = NULL;
		size_t vlen = 0;
		if (eq) {
			*eq = '\0';
			value = eq + 1;
			vlen = MHD_http_unescape(value);
		}
		size_t klen = MHD_http_unescape(p);
		struct st_error e = {0};
		int rc = http_query_param_check(r->query, r->auth == AUTH_NONE, p, klen, value, vlen,
						&e);
		if (rc != ST_OK) {
			fuzz_check_refusal(rc, &e);
		} else {
			FUZZ_CHECK(klen >= 1 && klen <= HTTP_QUERY_NAME_MAX);
			FUZZ_CHECK(text_without_controls(p, klen));
			if (r->auth != AUTH_NONE) {
				bool listed = false;
				for (const char *l = r->query; l && *l;) {
					size_t n = strcspn(l, ",");
					listed |= n == klen && !memcmp(l, p, n);
					l += n + (l[n] == ',');
				}
				FUZZ_CHECK(listed);
			}
			if (value) {
				FUZZ_CHECK(vlen <= HTTP_QUERY_VALUE_MAX);
				FUZZ_CHECK(text_without_controls(value, vlen));
				typed_value(p, value);
			}
		}
		p = amp ? amp + 1 : NULL;
	}
	free(copy);
}

static void target(const char *t)
{
	char *path = xstrdup(t);
	char *qmark = strchr(path, '?');
	const char *q = "";
	if (qmark) {
		*qmark = '\0';
		q = qmark + 1;
	}
	MHD_http_unescape(path);
	size_t n = 0;
	const struct route *table = routes_table(&n);
	for (size_t i = 0; i < n; i++) {
		struct request req;
		memset(&req, 0, sizeof(req));
		if (!http_path_match(table[i].path, path, &req))
			continue;
		FUZZ_CHECK(req.nparams <= HTTP_MAX_PARAMS);
		for (size_t k = 0; k < req.nparams; k++) {
			const char *p = req.params[k];
			FUZZ_CHECK(p >= req.param_buf && p < req.param_buf + sizeof(req.param_buf));
			FUZZ_CHECK(*p && !strchr(p, '/'));
			typed_value("id", p);
		}
		query(&table[i], q);
	}
	free(path);
}

static void forwarded(const char *xff)
{
	static const char proxies[3][INET6_ADDRSTRLEN] = {"127.0.0.1", "::1", "10.0.0.7"};
	char out[64] = "10.0.0.7";
	http_forwarded_client(proxies, 3, xff, out, sizeof(out));
	if (str_eq(out, "10.0.0.7"))
		return;
	unsigned char a[16];
	char canon[INET6_ADDRSTRLEN] = "";
	int family = strchr(out, ':') ? AF_INET6 : AF_INET;
	FUZZ_CHECK(inet_pton(family, out, a) == 1);
	FUZZ_CHECK(inet_ntop(family, a, canon, sizeof(canon)) && str_eq(canon, out));
	for (int i = 0; i < 3; i++)
		FUZZ_CHECK(!str_eq(out, proxies[i]));
}

static void header_name(const char *name)
{
	bool token = *name != '\0';
	for (const char *c = name; *c; c++)
		token &= (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			 (*c >= '0' && *c <= '9') || (*c && strchr("!#$%&'*+-.^_`|~", *c));
	FUZZ_CHECK(http_header_name_ok(name) == token);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size);
	char *line[3] = {text, NULL, NULL};
	for (int i = 1; i < 3; i++) {
		char *nl = line[i - 1] ? strchr(line[i - 1], '\n') : NULL;
		if (nl) {
			*nl = '\0';
			line[i] = nl + 1;
		}
	}
	target(line[0]);
	forwarded(line[1]);
	header_name(line[2] ? line[2] : "");
	free(text);
	return 0;
}
