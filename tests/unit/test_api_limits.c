/*
 * test_api_limits.c - the limits of the HTTP layer, against a real server on
 * 127.0.0.1: connections per client address (held half-sent requests do not
 * exhaust the server nor hold its one worker thread, and it recovers once
 * they close), slow clients from several addresses (health and sign-in
 * answered throughout, the slow connections closed at their deadlines and
 * the refusals logged), chunked bodies over
 * the limit (413 once read, nothing processed; cut off past the discard
 * limit), every refusal of the middleware in the access log and never a
 * token, query values that are not UTF-8 text refused naming the parameter,
 * record versions range-checked (and a past version's read logged with its
 * purpose), 409 bodies that say nothing of tables or columns, requests whose
 * body's end is in doubt (two lengths, a length and chunked) refused with
 * the connection closed, and a refusal logged once.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

#include "apiclient.h"
#include "server/http.h"

/* --- raw requests ---------------------------------------------------------- */

struct upload {
	const char *data; /* NULL: a '{' then spaces */
	size_t len, sent;
};


static size_t on_read(char *out, size_t size, size_t n, void *ctx)
{
	struct upload *u = ctx;
	size_t want = size * n, left = u->len - u->sent;
	if (want > left)
		want = left;
	if (u->data) {
		memcpy(out, u->data + u->sent, want);
	} else {
		memset(out, ' ', want);
		if (u->sent == 0 && want)
			out[0] = '{';
	}
	u->sent += want;
	return want;
}

static size_t on_write(char *d, size_t s, size_t n, void *ctx)
{
	buf_append(ctx, d, s * n);
	return s * n;
}

/* One request with headers of its own; with an upload, the body is sent
 * chunked (no Content-Length). Returns curl's result (not asserted), the
 * status and, when out is given, the JSON body. */
static CURLcode raw_request(const char *method, const char *path, const char *const *headers,
			    struct upload *up, long *status, json_t **out)
{
	CURL *c = curl_easy_init();
	char url[2048];
	snprintf(url, sizeof(url), "%s%s", api_base, path);
	struct curl_slist *h = curl_slist_append(NULL, "Expect:");
	for (size_t i = 0; headers && headers[i]; i++)
		h = curl_slist_append(h, headers[i]);
	if (up) {
		h = curl_slist_append(h, "Transfer-Encoding: chunked");
		h = curl_slist_append(h, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, up);
	}
	struct buf body = BUF_INIT;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	CURLcode cc = curl_easy_perform(c);
	*status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	if (out) {
		json_error_t je;
		*out = body.len ? json_loadb(body.data, body.len, 0, &je) : NULL;
	}
	buf_release(&body);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return cc;
}

static const char *error_field(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(json_object_get(o, "error"), key));
}

/* GET path with the token; fails unless the status and error field match. */
static void expect_field(long want, const char *path, const char *token, const char *field)
{
	json_t *o = NULL;
	long got = api_call("GET", path, token, NULL, &o);
	if (got != want || (field && !str_eq(error_field(o, "field"), field))) {
		char *dump = o ? json_dumps(o, 0) : xstrdup("(no body)");
		fail_msg("GET %s: got %ld %s, wanted %ld naming \"%s\"", path, got, dump, want,
			 field ? field : "");
	}
	if (want == 400)
		assert_string_equal(error_field(o, "code"), field ? "bad_value" : "wrong_type");
	json_decref(o);
}

/* How many events of the access log hold text. */
static int64_t log_holds(const char *text)
{
	char *sql = xasprintf("SELECT COUNT(*) FROM audit_event WHERE CAST(entry AS TEXT) LIKE "
			      "'%%%s%%'",
			      text);
	int64_t n = api_db_count("audit.db", sql);
	free(sql);
	return n;
}

static void expect_logged_soon(const char *action, const char *reason_part)
{
	/* the server logs refused connections once a second */
	bool logged = false;
	for (int i = 0; i < 300 && !logged; i++) {
		logged = api_logged(action, "deny", reason_part);
		if (!logged)
			usleep(100000);
	}
	if (!logged)
		fail_msg("no %s event saying \"%s\"", action, reason_part);
}

/* --- connections per client address -------------------------------------- */

/* A connection holding a request that is never finished (slowloris). */
static int hold_connection(void)
{
	int fd = api_connect_raw();
	const char *part = "GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n";
	assert_int_equal(write(fd, part, strlen(part)), (ssize_t)strlen(part));
	return fd;
}

static int setup_per_address(void **state)
{
	(void)state;
	/* one worker thread: held connections must not take it */
	static const char *const args[] = {"--per-address", "4", "--threads", "1", NULL};
	api_server_start(args);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	api_server_stop();
	return 0;
}

static void test_per_address(void **state)
{
	(void)state;
	/* Nothing else has connected yet: the server accepts in order, so the
	 * four held connections are its four for this address, and the fifth,
	 * behind them, is closed unanswered. */
	int held[4];
	for (size_t i = 0; i < ARRAY_LEN(held); i++)
		held[i] = hold_connection();
	long status = 0;
	CURLcode cc = raw_request("GET", "/api/v1/health", NULL, NULL, &status, NULL);
	assert_int_not_equal(cc, CURLE_OK);
	assert_int_equal(status, 0);
	/* Half-sent requests hold connections, not threads: another client is
	 * served, on the loop (a read) and by the one worker (a sign-in). */
	str_copy(api_source, sizeof(api_source), "127.0.0.2");
	api_expect(200, "GET", "/api/v1/health", NULL, NULL, NULL);
	struct resp r = api_sign_in(TS_ADMIN, TS_PASSWORD, NULL);
	assert_int_equal(r.status, 201);
	assert_non_null(json_object_get(r.json, "token"));
	json_decref(r.json);
	api_source[0] = '\0';
	for (size_t i = 0; i < ARRAY_LEN(held); i++)
		close(held[i]);
	/* The server counts a connection out once it has seen it close; that
	 * takes it a moment, so ask until it answers (bounded, not timed). */
	bool answered = false;
	for (int i = 0; i < 1000 && !answered; i++) {
		cc = raw_request("GET", "/api/v1/health", NULL, NULL, &status, NULL);
		answered = cc == CURLE_OK && status == 200;
		if (!answered)
			usleep(10000);
	}
	assert_true(answered);
	/* the refusal is on record, counted by address */
	expect_logged_soon("connection.refused", "already held 4 connections (--per-address)");

	/* the option is checked */
	char *out = NULL;
	char *cmd = xasprintf("%s serve --data %s --per-address 0 2>&1", STEWARD_BINARY, api_data);
	assert_int_equal(ts_run(cmd, &out), 2);
	assert_non_null(strstr(out, "--per-address"));
	free(out);
	free(cmd);
	static const char *const bad[] = {"--threads 0",        "--connections 0",
					  "--loop-threads 65",  "--connections x",
					  "--header-timeout 0", "--body-timeout 3601"};
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		cmd = xasprintf("%s serve --data %s %s 2>&1", STEWARD_BINARY, api_data, bad[i]);
		assert_int_equal(ts_run(cmd, &out), 2);
		char opt[32];
		sscanf(bad[i], "%31s", opt);
		if (!strstr(out, opt))
			fail_msg("%s: the refusal does not name the option: %s", bad[i], out);
		free(out);
		free(cmd);
	}
}

/* --- slow clients ---------------------------------------------------------- */

/* A few addresses each keep SLOW_EACH connections (the per-address limit)
 * whose requests never finish, more than the server's connections in all,
 * and send a byte on each every 200 ms; meanwhile another address must be
 * answered, again and again. */
#define SLOW_ADDRESSES 5
#define SLOW_EACH 8
#define SLOW_ROUNDS 30

static int setup_slow(void **state)
{
	(void)state;
	static const char *const args[] = {"--connections", "40", "--per-address", "8",
					   "--header-timeout", "2", "--body-timeout", "2", NULL};
	api_server_start(args);
	return 0;
}

struct slow {
	int fd;    /* -1: none open */
	bool body; /* its headers are complete and its body trickles; else its headers */
};

/* The slow clients, on a thread of their own (no cmocka assertion there). */
struct attack {
	int port;
	atomic_bool reopen;  /* open again what the server closes */
	atomic_bool stop;
	atomic_int rounds;   /* rounds done */
	atomic_int open;     /* connections open at the end of the last round */
	atomic_int answered; /* slow requests answered: must stay 0 */
	struct slow conns[SLOW_ADDRESSES][SLOW_EACH];
};

/* Opens a slow connection from 127.0.0.(2 + address): its request line and
 * part of a header, or its headers and the start of a body it never
 * finishes. A connection the server refuses is closed at once, which the
 * next round sees. */
static void slow_open(struct attack *at, struct slow *s, int address, bool body)
{
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	s->body = body;
	struct sockaddr_in from = {.sin_family = AF_INET},
			   to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)at->port)};
	from.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 2 + (uint32_t)address);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&from, sizeof(from)) != 0 ||
	    connect(s->fd, (struct sockaddr *)&to, sizeof(to)) != 0) {
		if (s->fd >= 0)
			close(s->fd);
		s->fd = -1;
		return;
	}
	const char *start = body ? "POST /api/v1/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
				   "Content-Type: application/json\r\nContent-Length: 500\r\n\r\n{"
				 : "GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
	(void)send(s->fd, start, strlen(start), MSG_NOSIGNAL);
	fcntl(s->fd, F_SETFL, O_NONBLOCK);
}

/* Whether the server has closed the connection (counting any answer). */
static bool slow_closed(struct attack *at, const struct slow *s)
{
	char got[256];
	ssize_t n = recv(s->fd, got, sizeof(got), MSG_DONTWAIT);
	if (n > 0)
		atomic_fetch_add(&at->answered, 1);
	if (n >= 0)
		return true; /* closed, or answered (and then closed here) */
	return errno != EAGAIN && errno != EWOULDBLOCK;
}

static void *attack_main(void *arg)
{
	struct attack *at = arg;
	while (!atomic_load(&at->stop)) {
		int open = 0;
		bool reopen = atomic_load(&at->reopen);
		for (int a = 0; a < SLOW_ADDRESSES; a++)
			for (int i = 0; i < SLOW_EACH; i++) {
				struct slow *s = &at->conns[a][i];
				if (s->fd >= 0 && slow_closed(at, s)) {
					close(s->fd);
					s->fd = -1;
				}
				if (s->fd < 0 && reopen)
					slow_open(at, s, a, i == 0);
				else if (s->fd >= 0)
					(void)send(s->fd, s->body ? " " : "x", 1, MSG_NOSIGNAL);
				open += s->fd >= 0;
			}
		atomic_store(&at->open, open);
		atomic_fetch_add(&at->rounds, 1);
		usleep(200000);
	}
	for (int a = 0; a < SLOW_ADDRESSES; a++)
		for (int i = 0; i < SLOW_EACH; i++)
			if (at->conns[a][i].fd >= 0)
				close(at->conns[a][i].fd);
	return NULL;
}

/* Waits (bounded) until the attack has done a round after this call. */
static void attack_round(struct attack *at)
{
	int now = atomic_load(&at->rounds);
	for (int i = 0; i < 3000 && atomic_load(&at->rounds) < now + 2; i++)
		usleep(10000);
}

static void test_slow_clients(void **state)
{
	(void)state;
	static struct attack at;
	memset(&at, 0, sizeof(at));
	assert_int_equal(sscanf(api_base, "http://127.0.0.1:%d", &at.port), 1);
	for (int a = 0; a < SLOW_ADDRESSES; a++)
		for (int i = 0; i < SLOW_EACH; i++)
			at.conns[a][i].fd = -1;
	atomic_store(&at.reopen, true);
	pthread_t thread;
	assert_int_equal(pthread_create(&thread, NULL, attack_main, &at), 0);
	attack_round(&at);
	/* another address is answered all along: health, and sign-ins */
	str_copy(api_source, sizeof(api_source), "127.0.0.20");
	for (int round = 0; round < SLOW_ROUNDS; round++) {
		api_expect(200, "GET", "/api/v1/health", NULL, NULL, NULL);
		if (round % 10 == 5) {
			struct resp r = api_sign_in(TS_ADMIN, TS_PASSWORD, NULL);
			if (r.status != 201)
				fail_msg("round %d: a sign-in was answered %ld", round, r.status);
			json_decref(r.json);
		}
		usleep(200000);
	}
	api_source[0] = '\0';
	/* The slow connections still open go on sending; the server closes
	 * each at its deadline, unanswered. (Today it keeps them as long as
	 * they send.) */
	atomic_store(&at.reopen, false);
	attack_round(&at);
	for (int i = 0; i < 300 && atomic_load(&at.open) > 0; i++)
		usleep(100000);
	int open = atomic_load(&at.open);
	atomic_store(&at.stop, true);
	pthread_join(thread, NULL);
	assert_int_equal(open, 0);
	assert_int_equal(atomic_load(&at.answered), 0);
	/* each kind of refusal is in the access log, counted by address */
	expect_logged_soon("connection.timeout", "request line and headers were not complete");
	expect_logged_soon("connection.timeout", "request body was not complete");
	expect_logged_soon("connection.refused", "held its share");
	/* and the other address never was */
	assert_int_equal(api_db_count("audit.db", "SELECT COUNT(*) FROM audit_event WHERE action "
						  "LIKE 'connection.%' AND CAST(entry AS TEXT) LIKE "
						  "'%\"client\":\"127.0.0.20\"%'"),
			 0);
}

/* --- everything else, on a server with the default limits ------------------ */

static int setup(void **state)
{
	(void)state;
	api_server_start(NULL);
	return 0;
}

static void test_chunked_bodies(const char *A)
{
	int64_t users = api_db_count("steward.db", "SELECT COUNT(*) FROM app_user");
	/* a chunked body within the limit is read and processed */
	const char *small = "{\"username\":\"chunky\",\"display_name\":\"C\",\"roles\":[\"teacher\"]}";
	char auth[256];
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", A);
	const char *const hdrs[] = {auth, NULL};
	struct upload up = {.data = small, .len = strlen(small)};
	long status = 0;
	json_t *o = NULL;
	assert_int_equal(raw_request("POST", "/api/v1/users", hdrs, &up, &status, &o), CURLE_OK);
	assert_int_equal(status, 201);
	json_decref(o);
	assert_int_equal(api_db_count("steward.db", "SELECT COUNT(*) FROM app_user"), users + 1);

	/* 2 MiB chunked: read to its end, 413, nothing processed */
	struct upload big = {.len = 2 * 1024 * 1024};
	assert_int_equal(raw_request("POST", "/api/v1/users", hdrs, &big, &status, &o), CURLE_OK);
	assert_int_equal(status, 413);
	assert_string_equal(error_field(o, "code"), "too_large");
	json_decref(o);
	assert_int_equal(big.sent, big.len);
	assert_int_equal(api_db_count("steward.db", "SELECT COUNT(*) FROM app_user"), users + 1);

	/* one that goes on past the discard limit is cut off, and the server
	 * goes on serving */
	struct upload endless = {.len = HTTP_DISCARD_MAX + 1024 * 1024};
	assert_int_not_equal(raw_request("POST", "/api/v1/users", hdrs, &endless, &status, NULL),
			     CURLE_OK);
	assert_true(endless.sent < endless.len || status == 0);
	api_expect(200, "GET", "/api/v1/health", NULL, NULL, NULL);
}

static void test_refusals_logged(const char *A)
{
	char body[512], path[128];
	/* no token */
	api_expect(401, "GET", "/api/v1/users/1", NULL, NULL, "unauthenticated");
	assert_true(api_logged("request.refused", "deny", "sign in first"));

	/* a malformed Authorization header, and one too long for a token:
	 * refused and logged, the header's value never */
	const char *const basic[] = {"Authorization: Basic LEAKCHECKbasic", NULL};
	long status = 0;
	json_t *o = NULL;
	assert_int_equal(raw_request("GET", "/api/v1/users/1", basic, NULL, &status, &o), CURLE_OK);
	assert_int_equal(status, 401);
	assert_string_equal(error_field(o, "code"), "bad_token");
	json_decref(o);
	assert_true(api_logged("request.refused", "deny", "not of the form"));
	char longer[400];
	int n = snprintf(longer, sizeof(longer), "Authorization: Bearer stw_LEAKCHECK");
	memset(longer + n, 'x', 300);
	longer[n + 300] = '\0';
	const char *const toolong[] = {longer, NULL};
	assert_int_equal(raw_request("GET", "/api/v1/users/1", toolong, NULL, &status, &o), CURLE_OK);
	assert_int_equal(status, 401);
	assert_string_equal(error_field(o, "code"), "bad_token");
	json_decref(o);
	assert_true(api_logged("request.refused", "deny", "too long"));
	assert_int_equal(log_holds("LEAKCHECK"), 0);

	/* a session limited to enrolment, refused elsewhere */
	const char *pw = "\"password\":\"kestrel meadow lantern 7\",\"must_change_password\":false";
	snprintf(body, sizeof(body), "{\"username\":\"ita\",%s,\"display_name\":\"I A\",\"roles\":[\"it_admin\"]}", pw);
	api_create("/api/v1/users", A, body);
	struct resp r = api_sign_in("ita", "kestrel meadow lantern 7", NULL);
	assert_int_equal(r.status, 201);
	assert_true(json_is_true(json_object_get(r.json, "mfa_enrollment_required")));
	char ita[128];
	str_copy(ita, sizeof(ita), json_string_value(json_object_get(r.json, "token")));
	json_decref(r.json);
	api_expect(403, "GET", "/api/v1/users/1", ita, NULL, "mfa_enrollment_required");
	assert_true(api_logged("request.refused", "deny", "set up multi-factor"));

	/* a session limited to a password change, refused elsewhere */
	snprintf(body, sizeof(body), "{\"username\":\"newbie\",\"password\":\"kestrel meadow lantern 7\",\"display_name\":\"N\",\"roles\":[\"teacher\"],\"must_change_password\":true}");
	api_create("/api/v1/users", A, body);
	r = api_sign_in("newbie", "kestrel meadow lantern 7", NULL);
	assert_int_equal(r.status, 201);
	assert_true(json_is_true(json_object_get(r.json, "must_change_password")));
	char nb[128];
	str_copy(nb, sizeof(nb), json_string_value(json_object_get(r.json, "token")));
	json_decref(r.json);
	api_expect(403, "GET", "/api/v1/users/1", nb, NULL, "password_change_required");
	assert_true(api_logged("request.refused", "deny", "choose a new password"));

	/* a suspended user's enrolment-only session: refused as suspended, even
	 * on the enrolment routes, and logged as that user's */
	snprintf(body, sizeof(body), "{\"username\":\"itb\",%s,\"display_name\":\"I B\",\"roles\":[\"it_admin\"]}", pw);
	int64_t itb = api_create("/api/v1/users", A, body);
	r = api_sign_in("itb", "kestrel meadow lantern 7", NULL);
	assert_int_equal(r.status, 201);
	assert_true(json_is_true(json_object_get(r.json, "mfa_enrollment_required")));
	char itb_token[128];
	str_copy(itb_token, sizeof(itb_token), json_string_value(json_object_get(r.json, "token")));
	json_decref(r.json);
	snprintf(path, sizeof(path), "/api/v1/users/%lld/suspensions", (long long)itb);
	api_create(path, A, "{\"kind\":\"pending_investigation\",\"reason\":\"a report\"}");
	api_expect(403, "GET", "/api/v1/users/1", itb_token, NULL, "suspended");
	api_expect(403, "POST", "/api/v1/mfa/totp", itb_token, NULL, "suspended");
	char *sql = xasprintf("SELECT COUNT(*) FROM audit_event WHERE action = 'request.refused' "
			      "AND outcome = 'deny' AND user_id = %lld AND CAST(entry AS TEXT) "
			      "LIKE '%%suspended%%'",
			      (long long)itb);
	assert_int_equal(api_db_count("audit.db", sql), 2);
	free(sql);
	/* signing out stays open */
	api_expect(204, "DELETE", "/api/v1/sessions/current", itb_token, NULL, NULL);
	assert_int_equal(log_holds(ita), 0);
	assert_int_equal(log_holds(nb), 0);
	assert_int_equal(log_holds(itb_token), 0);
}

static void test_query_values(const char *A)
{
	/* not UTF-8, control characters (C0, DEL, C1, NUL), overlong, too long */
	const char *bad[] = {"%FF", "caf%E9", "a%01b", "a%09b", "a%7F", "%C2%85", "a%00b",
			     "%C0%AF", "%ED%A0%80", "%F4%90%80%80"};
	char path[1200];
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		snprintf(path, sizeof(path), "/api/v1/records/99999?purpose=%s", bad[i]);
		expect_field(400, path, A, "purpose");
		snprintf(path, sizeof(path), "/api/v1/policy/explain?user=1&action=%s", bad[i]);
		expect_field(400, path, A, "action");
	}
	char *longv = xmalloc(1026);
	memset(longv, 'a', 1025);
	longv[1025] = '\0';
	snprintf(path, sizeof(path), "/api/v1/audit?outcome=%s", longv);
	expect_field(400, path, A, "outcome");
	free(longv);
	/* a parameter's name that is not text cannot be named back */
	expect_field(400, "/api/v1/audit?%FF=1", A, "");
	/* the refusal is logged (without the value) */
	assert_true(api_logged("request.refused", "deny", "not clean text"));
	/* text passes: accents, spaces, other scripts */
	api_expect(404, "GET", "/api/v1/records/99999?purpose=caf%C3%A9+r%C3%A9sum%C3%A9", A,
		   NULL, "record_not_found");
	api_expect(404, "GET", "/api/v1/records/99999?purpose=%E5%AD%A6%E7%94%9F", A, NULL,
		   "record_not_found");
	/* a parameter the endpoint does not take, even without a value */
	api_expect(400, "GET", "/api/v1/records/99999?purpose=%E5%AD%A6%E7%94%9F&flag", A, NULL,
		   "unknown_parameter");
}

static void test_record_versions(const char *A)
{
	/* out of range: refused naming "version", not read as another number */
	expect_field(400, "/api/v1/records/1?version=4294967297", A, "version");
	expect_field(400, "/api/v1/records/1?version=2147483648", A, "version");
	expect_field(400, "/api/v1/records/1?version=99999999999999999999", A, NULL);
	expect_field(400, "/api/v1/records/1?version=0", A, NULL);
	expect_field(400, "/api/v1/records/1?version=-1", A, NULL);

	/* a past version's read is decided and logged with its purpose */
	char body[512], path[160];
	api_create("/api/v1/organizations", A, "{\"code\":\"school-a\",\"name\":\"A School\",\"kind\":\"school\"}");
	snprintf(body, sizeof(body), "{\"username\":\"teach1\",\"password\":\"kestrel meadow lantern 7\",\"must_change_password\":false,\"display_name\":\"T\",\"roles\":[\"teacher\"],\"organization\":\"school-a\"}");
	int64_t teach = api_create("/api/v1/users", A, body);
	char d1[16];
	snprintf(body, sizeof(body), "{\"user\":%lld,\"course\":\"student-records-confidentiality\",\"completed_on\":\"%s\"}", (long long)teach, api_day(-60, d1));
	api_create("/api/v1/training/completions", A, body);
	int64_t student = api_create("/api/v1/subjects", A,
				     "{\"kind\":\"student\",\"external_id\":\"SIS-1\",\"given_name\":\"Ada\","
				     "\"family_name\":\"Byron\",\"organization\":\"school-a\"}");
	snprintf(body, sizeof(body), "{\"user\":%lld,\"subject\":%lld,\"kind\":\"teacher_of\",\"source\":\"class:ALG1\"}", (long long)teach, (long long)student);
	api_create("/api/v1/relationships", A, body);
	struct who t = {0};
	api_login(&t, "teach1", "kestrel meadow lantern 7");
	snprintf(body, sizeof(body), "{\"subject\":%lld,\"category\":\"academic\",\"fields\":{\"course\":\"Algebra I\",\"grade\":\"B\"}}", (long long)student);
	int64_t rec = api_create("/api/v1/records", t.token, body);
	snprintf(path, sizeof(path), "/api/v1/records/%lld", (long long)rec);
	assert_int_equal(api_call("PATCH", path, t.token, "{\"fields\":{\"grade\":\"A\"}}", NULL), 200);
	snprintf(path, sizeof(path), "/api/v1/records/%lld?version=1&purpose=progress+check+v1", (long long)rec);
	json_t *o = NULL;
	assert_int_equal(api_call("GET", path, t.token, NULL, &o), 200);
	assert_int_equal(json_integer_value(json_object_get(o, "version")), 1);
	assert_string_equal(json_string_value(json_object_get(json_object_get(o, "fields"), "grade")), "B");
	json_decref(o);
	/* the purpose is logged, sealed: the log's readers see it, the files
	 * of the data directory do not hold it in clear */
	assert_int_equal(api_logged_purpose(A, rec, "record.read", "allow", "progress check v1"), 1);
	assert_false(api_logged("record.read", "allow", "progress check v1"));
	/* the designee's rule asks for a purpose: a past version is read with one */
	snprintf(path, sizeof(path), "/api/v1/records/%lld?version=1", (long long)rec);
	api_expect(403, "GET", path, A, NULL, "forbidden");
	snprintf(path, sizeof(path), "/api/v1/records/%lld?version=1&purpose=enrollment+review", (long long)rec);
	api_expect(200, "GET", path, A, NULL, NULL);
}

/* Fails if a 409 body names SQLite's constraint, a table or a column. */
static void expect_clean_conflict(const char *path, const char *token, const char *body)
{
	json_t *o = NULL;
	long got = api_call("POST", path, token, body, &o);
	char *dump = o ? json_dumps(o, 0) : xstrdup("(no body)");
	if (got != 409)
		fail_msg("POST %s: got %ld %s, wanted 409", path, got, dump);
	const char *words[] = {"constraint", "CONSTRAINT", "UNIQUE", "app_user", "user_role",
			       "organization.", "subject.", "username,", ".code", ".role"};
	for (size_t i = 0; i < ARRAY_LEN(words); i++)
		if (strstr(dump, words[i]))
			fail_msg("POST %s: the 409 names \"%s\": %s", path, words[i], dump);
	free(dump);
	json_decref(o);
}

static void test_conflicts(const char *A)
{
	const char *u = "{\"username\":\"twice\",\"password\":\"kestrel meadow lantern 7\","
			"\"display_name\":\"T\",\"roles\":[\"teacher\"]}";
	api_create("/api/v1/users", A, u);
	expect_clean_conflict("/api/v1/users", A, u);
	/* a role given twice reaches the store's own constraint */
	expect_clean_conflict("/api/v1/users", A,
			      "{\"username\":\"rolesx2\",\"display_name\":\"R\","
			      "\"roles\":[\"teacher\",\"teacher\"]}");
	expect_clean_conflict("/api/v1/organizations", A,
			      "{\"code\":\"school-a\",\"name\":\"Again\",\"kind\":\"school\"}");
	expect_clean_conflict("/api/v1/subjects", A,
			      "{\"kind\":\"student\",\"external_id\":\"SIS-1\",\"given_name\":\"A\","
			      "\"family_name\":\"B\",\"organization\":\"school-a\"}");
}

/* Sends raw bytes on a new connection and reads everything until the
 * server closes it. */
static char *raw_exchange(const char *bytes)
{
	int fd = api_connect_raw();
	struct timeval tv = {.tv_sec = 30};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(write(fd, bytes, strlen(bytes)), (ssize_t)strlen(bytes));
	struct buf got = BUF_INIT;
	char chunk[4096];
	ssize_t n;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_append(&got, chunk, (size_t)n);
	close(fd);
	return buf_detach(&got, NULL);
}

static int count_of(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* Where a body ends is beyond doubt, or the request is refused and the
 * connection closed: no bytes of a body are ever read as a request (two
 * lengths, a length and a coding, a name with a space before its colon, a
 * coding other than chunked, two codings). */
static void test_framing(const char *A)
{
	static const char *const smuggled[] = {
		"Content-Length: 2\r\nContent-Length: 75\r\n",
		"Content-Length: 75\r\nContent-Length: 2\r\n",
		"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n",
		"Content-Length : 75\r\n",
		"Transfer-Encoding : chunked\r\nContent-Length: 2\r\n",
		"Transfer-Encoding: gzip, chunked\r\n",
		"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
	};
	for (size_t i = 0; i < ARRAY_LEN(smuggled); i++) {
		char req[1024];
		snprintf(req, sizeof(req),
			 "POST /api/v1/subjects HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: "
			 "Bearer %s\r\nContent-Type: application/json\r\n%s\r\n{}GET "
			 "/api/v1/users/1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
			 "%s\r\n\r\n",
			 A, smuggled[i], A);
		char *got = raw_exchange(req);
		if (count_of(got, "HTTP/1.1 ") != 1 || !str_has_prefix(got, "HTTP/1.1 400") ||
		    !strstr(got, "bad_framing"))
			fail_msg("framing %zu: answered\n%s", i, got);
		free(got);
	}
}

/* A signed-in person's bad query parameter is one event, which does not
 * quote it; an oversized body from one is logged like any invalid input. */
static void test_logged_once(const char *A)
{
	int64_t before = api_db_count("audit.db", "SELECT COUNT(*) FROM audit_event WHERE "
						  "action = 'request.refused' AND CAST(entry AS "
						  "TEXT) LIKE '%does not take%'");
	api_expect(400, "GET", "/api/v1/users/1?purposLEAK=1", A, NULL, "unknown_parameter");
	assert_int_equal(api_db_count("audit.db",
				      "SELECT COUNT(*) FROM audit_event WHERE action = "
				      "'request.refused' AND CAST(entry AS TEXT) LIKE '%does not take%'"),
			 before + 1);
	assert_int_equal(api_db_count("audit.db", "SELECT COUNT(*) FROM audit_event WHERE "
						  "action = 'request.invalid' AND CAST(entry AS "
						  "TEXT) LIKE '%unknown_parameter%'"),
			 0);
	assert_int_equal(log_holds("purposLEAK"), 0);

	const char *too_large = "SELECT COUNT(*) FROM audit_event WHERE action = 'request.invalid' "
				"AND user_id = 1 AND CAST(entry AS TEXT) LIKE '%too_large%'";
	int64_t large_before = api_db_count("audit.db", too_large);
	size_t big = 2u << 20;
	char *body = xmalloc(big + 1);
	memset(body, ' ', big);
	body[0] = '{';
	body[big - 1] = '}';
	body[big] = '\0';
	struct resp r = api_request("POST", "/api/v1/subjects", A, body, big, "application/json",
				    NULL, NULL);
	free(body);
	assert_int_equal(r.status, 413);
	json_decref(r.json);
	assert_int_equal(api_db_count("audit.db", too_large), large_before + 1);
}

static void test_limits(void **state)
{
	(void)state;
	struct who admin = {0};
	api_login(&admin, TS_ADMIN, TS_PASSWORD);
	const char *A = admin.token;
	/* (the designee's training is on file from the start: apiclient.c) */
	test_chunked_bodies(A);
	test_refusals_logged(A);
	test_query_values(A);
	test_record_versions(A);
	test_conflicts(A);
	test_framing(A);
	test_logged_once(A);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_per_address, setup_per_address, teardown),
		cmocka_unit_test_setup_teardown(test_slow_clients, setup_slow, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
