/*
 * apiclient.c - drives a real Steward server on 127.0.0.1 over HTTP for the
 * integration tests: starts it on a fresh data directory, sends requests
 * as a browser or an integration would (bearer tokens, cookies, CSRF
 * headers), signs in with multi-factor enrolment, and looks into the
 * access log to prove that an attempt was recorded.
 */
#include <curl/curl.h>
#include <signal.h>
#include <sqlite3.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "apiclient.h"
#include "audit/audit.h"
#include "steward/access.h"
#include "crypto/crypto.h"
#include "steward/auth.h"

char *api_dir, *api_data, api_base[64];
char api_admin_enrollment_code[32], api_issuer[128];
_Thread_local char api_source[48];
_Thread_local char api_forwarded_for[128];
_Thread_local bool api_expect_continue;
static pid_t server;
const char *const *api_server_env;

pid_t api_server_pid(void)
{
	return server;
}

int api_server_terminate(void)
{
	int status = -1;
	if (server > 0) {
		kill(server, SIGTERM);
		/* a stop ends within seconds (idle connections go after 16 s);
		 * one that hangs is killed, and its status says so */
		pid_t r = 0;
		for (int i = 0; i < 600 && (r = waitpid(server, &status, WNOHANG)) == 0; i++)
			usleep(100000);
		if (r == 0) {
			fprintf(stderr, "the server did not stop within 60 s: killed\n");
			kill(server, SIGKILL);
			waitpid(server, &status, 0);
		}
		server = 0;
	}
	return status;
}

/* --- HTTP ---------------------------------------------------------------- */

static size_t on_body(char *d, size_t s, size_t n, void *ctx)
{
	buf_append(ctx, d, s * n);
	return s * n;
}

static size_t on_header(char *d, size_t s, size_t n, void *ctx)
{
	struct resp *r = ctx;
	size_t len = s * n;
	char line[512];
	if (len >= sizeof(line))
		return len;
	memcpy(line, d, len);
	line[len] = '\0';
	const char *names[] = {"Set-Cookie: steward_session=", "Set-Cookie: steward_csrf="};
	char *outs[] = {r->cookie, r->csrf};
	for (int i = 0; i < 2; i++)
		if (!strncasecmp(line, names[i], strlen(names[i]))) {
			char *v = line + strlen(names[i]);
			v[strcspn(v, ";\r\n")] = '\0';
			str_copy(outs[i], 160, v);
		}
	return len;
}

struct resp api_request(const char *method, const char *path, const char *token,
			   const char *body, size_t body_len, const char *content_type,
			   const char *cookie, const char *csrf)
{
	struct resp r = {0};
	CURL *c = curl_easy_init();
	char url[512];
	snprintf(url, sizeof(url), "%s%s", api_base, path);
	struct curl_slist *h = NULL;
	char hdr[512];
	if (token) {
		snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", token);
		h = curl_slist_append(h, hdr);
	}
	if (content_type) {
		snprintf(hdr, sizeof(hdr), "Content-Type: %s", content_type);
		h = curl_slist_append(h, hdr);
	}
	if (csrf) {
		snprintf(hdr, sizeof(hdr), "X-CSRF-Token: %s", csrf);
		h = curl_slist_append(h, hdr);
	}
	h = curl_slist_append(h, api_expect_continue ? "Expect: 100-continue" : "Expect:");
	if (api_forwarded_for[0]) {
		snprintf(hdr, sizeof(hdr), "X-Forwarded-For: %s", api_forwarded_for);
		h = curl_slist_append(h, hdr);
	}
	if (cookie) {
		snprintf(hdr, sizeof(hdr), "steward_session=%s", cookie);
		curl_easy_setopt(c, CURLOPT_COOKIE, hdr);
	}
	struct buf out = BUF_INIT;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	if (api_source[0]) {
		char iface[80];
		snprintf(iface, sizeof(iface), "host!%s", api_source);
		curl_easy_setopt(c, CURLOPT_INTERFACE, iface);
	}
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
	}
	CURLcode cc = curl_easy_perform(c);
	if (cc != CURLE_OK)
		fail_msg("%s %s: %s", method, path, curl_easy_strerror(cc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
	if (out.len) {
		json_error_t je;
		r.json = json_loadb(out.data, out.len, 0, &je);
	}
	buf_release(&out);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return r;
}

/* JSON in, status out; *out (optional) receives the body. */
long api_call(const char *method, const char *path, const char *token, const char *body,
		 json_t **out)
{
	struct resp r = api_request(method, path, token, body, body ? strlen(body) : 0,
				body ? "application/json" : NULL, NULL, NULL);
	if (out)
		*out = r.json;
	else
		json_decref(r.json);
	return r.status;
}

void api_expect(long want, const char *method, const char *path, const char *token,
		   const char *body, const char *code)
{
	json_t *o = NULL;
	long got = api_call(method, path, token, body, &o);
	const char *gotcode = json_string_value(json_object_get(json_object_get(o, "error"), "code"));
	if (got != want || (code && !str_eq(gotcode, code))) {
		char *dump = o ? json_dumps(o, 0) : xstrdup("(no body)");
		fail_msg("%s %s: got %ld %s, wanted %ld %s", method, path, got, dump, want,
			 code ? code : "");
	}
	json_decref(o);
}

int64_t api_create(const char *path, const char *token, const char *body)
{
	json_t *o = NULL;
	long st = api_call("POST", path, token, body, &o);
	if (st != 201) {
		char *dump = o ? json_dumps(o, 0) : xstrdup("");
		fail_msg("POST %s: %ld %s", path, st, dump);
	}
	int64_t id = json_integer_value(json_object_get(o, "id"));
	json_decref(o);
	return id;
}

/* --- sign-in --------------------------------------------------------------- */

struct resp api_sign_in(const char *user, const char *pass, const char *totp)
{
	json_t *b = json_pack("{s:s, s:s}", "username", user, "password", pass);
	if (totp)
		json_object_set_new(b, "totp", json_string(totp));
	char *t = json_dumps(b, 0);
	json_decref(b);
	struct resp r = api_request("POST", "/api/v1/sessions", NULL, t, strlen(t), "application/json",
				NULL, NULL);
	free(t);
	return r;
}

void api_code_for(const struct who *w, uint64_t step, char out[16])
{
	snprintf(out, 16, "%06u", hotp(w->secret, 20, step));
}


/* Signs in; enrols in multi-factor when required (the session then counts
 * as multi-factor). */
void api_login(struct who *w, const char *user, const char *pass)
{
	struct resp r = api_sign_in(user, pass, NULL);
	if (r.status != 201)
		fail_msg("sign in %s: %ld", user, r.status);
	str_copy(w->token, sizeof(w->token), json_string_value(json_object_get(r.json, "token")));
	bool enrol = json_is_true(json_object_get(r.json, "mfa_enrollment_required"));
	json_decref(r.json);
	if (enrol)
		api_enroll(w);
}

int64_t api_enrollment_code(const struct who *w, char code[32])
{
	json_t *o = NULL;
	assert_int_equal(api_call("GET", "/api/v1/sessions/current", w->token, NULL, &o), 200);
	int64_t uid = json_integer_value(json_object_get(o, "user"));
	json_decref(o);
	if (uid == 1 && api_admin_enrollment_code[0]) {
		str_copy(code, 32, api_admin_enrollment_code);
		api_admin_enrollment_code[0] = '\0';
		return uid;
	}
	if (!api_issuer[0])
		fail_msg("no user administrator to issue an enrolment code for user %lld", (long long)uid);
	char path[80];
	snprintf(path, sizeof(path), "/api/v1/users/%lld/enrollment-code", (long long)uid);
	o = NULL;
	long st = api_call("POST", path, api_issuer, NULL, &o);
	if (st != 201)
		fail_msg("POST %s: %ld", path, st);
	str_copy(code, 32, json_string_value(json_object_get(o, "enrollment_code")));
	json_decref(o);
	return uid;
}

/* Sets up multi-factor in a session, which then counts as multi-factor. */
void api_enroll(struct who *w)
{
	char ecode[32], ebody[80];
	int64_t uid = api_enrollment_code(w, ecode);
	snprintf(ebody, sizeof(ebody), "{\"enrollment_code\":\"%s\"}", ecode);
	json_t *o = NULL;
	assert_int_equal(api_call("POST", "/api/v1/mfa/totp", w->token, ebody, &o), 201);
	size_t n = 0;
	assert_int_equal(base32_decode(json_string_value(json_object_get(o, "secret")), w->secret, 20, &n),
			 ST_OK);
	assert_int_equal(n, 20);
	assert_true(str_has_prefix(json_string_value(json_object_get(o, "otpauth_uri")),
				   "otpauth://totp/Steward:"));
	assert_int_equal(json_array_size(json_object_get(o, "recovery_codes")), 10);
	assert_true(str_has_prefix(json_string_value(json_object_get(o, "qr_svg")), "<svg"));
	json_decref(o);
	w->step = (uint64_t)time_now() / 30;
	char code[16], body[64];
	api_code_for(w, w->step, code);
	snprintf(body, sizeof(body), "{\"code\":\"%s\"}", code);
	api_expect(200, "POST", "/api/v1/mfa/totp/confirm", w->token, body, NULL);
	if (uid == 1 && !api_issuer[0])
		str_copy(api_issuer, sizeof(api_issuer), w->token);
}

/* --- the server -------------------------------------------------------- */

void api_server_start(const char *const *extra)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	api_dir = ts_tmpdir();
	api_data = ts_make_datadir(api_dir, NULL);
	struct steward *st = ts_open(api_data, NULL);
	/* The first administrator's annual training, attested by the district
	 * locally: nobody records their own, and only someone whose duties
	 * reach as far as the designee's may record the designee's. */
	int64_t training = 0;
	if (training_record(st, &ts_system, 1, "student-records-confidentiality",
			    time_now() - 60 * 86400, &training, &ts_err) != ST_OK)
		fail_msg("training: %s", ts_err.message);
	/* as `steward init` does: the first administrator's enrolment code */
	int64_t until = 0;
	struct st_error e = {0};
	if (auth_enrollment_code_issue(st, &ts_system, 1, api_admin_enrollment_code, &until, &e) !=
	    ST_OK)
		fail_msg("enrolment code: %s", e.message);
	api_issuer[0] = '\0';
	steward_close(st);
	api_server_restart(extra);
}

void api_server_restart(const char *const *extra)
{
	char *portfile = xasprintf("%s/port", api_dir);
	unlink(portfile);
	server = fork();
	if (server == 0) {
		const char *argv[32] = {STEWARD_BINARY, "serve", "--data", api_data, "--listen",
					"127.0.0.1:0", "--port-file", portfile};
		int n = 8;
		for (int i = 0; extra && extra[i] && n < 31; i++)
			argv[n++] = extra[i];
		argv[n] = NULL;
		for (int i = 0; api_server_env && api_server_env[i]; i++)
			putenv((char *)api_server_env[i]);
		execv(STEWARD_BINARY, (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < 300 && !file_exists(portfile); i++)
		usleep(50000);
	char *text = NULL;
	size_t len;
	if (file_read_all(portfile, 64, &text, &len, NULL) != ST_OK)
		fail_msg("the server did not start");
	snprintf(api_base, sizeof(api_base), "http://127.0.0.1:%d", atoi(text));
	free(text);
	free(portfile);
}

int api_connect_raw(void)
{
	int port = 0;
	assert_int_equal(sscanf(api_base, "http://127.0.0.1:%d", &port), 1);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

void api_server_stop(void)
{
	api_server_terminate();
	ts_rm_rf(api_dir);
	free(api_dir);
	free(api_data);
	curl_global_cleanup();
}

/* Events become durable in the log's journal and reach audit.db just
 * behind: wait until audit.db holds every event durable now. */
static void settle_log(sqlite3 *h, const char *path)
{
	for (int tries = 0; tries < 3000; tries++) {
		sqlite3_stmt *s;
		if (sqlite3_prepare_v2(h, "SELECT COALESCE(MAX(seq) + 1, 0) FROM audit_event", -1,
				       &s, NULL) != SQLITE_OK)
			fail_msg("audit.db: %s", sqlite3_errmsg(h));
		uint64_t size = sqlite3_step(s) == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(s, 0) : 0;
		sqlite3_finalize(s);
		uint64_t end = size;
		struct st_error e = {0};
		if (audit_journal_end(path, size, &end, &e) != ST_OK)
			fail_msg("the access-log journal: %s", e.message);
		if (end <= size)
			return;
		usleep(10000);
	}
	fail_msg("the access log database did not catch up with its journal");
}

int64_t api_db_count(const char *db, const char *sql)
{
	char *path = xasprintf("%s/%s", api_data, db);
	sqlite3 *h;
	assert_int_equal(sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_busy_timeout(h, 5000);
	if (str_eq(db, "audit.db"))
		settle_log(h, path);
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(h, sql, -1, &s, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(h));
	int64_t n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
	sqlite3_finalize(s);
	sqlite3_close(h);
	free(path);
	return n;
}

void api_db_exec(const char *db, const char *sql)
{
	char *path = xasprintf("%s/%s", api_data, db);
	sqlite3 *h;
	assert_int_equal(sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(h, 5000);
	char *err = NULL;
	if (sqlite3_exec(h, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err ? err : "failed");
	sqlite3_close(h);
	free(path);
}

int api_logged_purpose(const char *token, int64_t record, const char *action,
		       const char *outcome, const char *purpose)
{
	int n = 0;
	for (int64_t after = -1;;) {
		char path[160];
		if (after < 0)
			snprintf(path, sizeof(path), "/api/v1/audit?record=%lld&limit=1000",
				 (long long)record);
		else
			snprintf(path, sizeof(path), "/api/v1/audit?record=%lld&limit=1000&after=%lld",
				 (long long)record, (long long)after);
		json_t *o = NULL;
		assert_int_equal(api_call("GET", path, token, NULL, &o), 200);
		size_t i;
		json_t *ev;
		json_array_foreach(json_object_get(o, "events"), i, ev) {
			n += str_eq(json_string_value(json_object_get(ev, "action")), action) &&
			     str_eq(json_string_value(json_object_get(ev, "outcome")), outcome) &&
			     str_eq(json_string_value(json_object_get(ev, "purpose")), purpose);
		}
		json_t *next = json_object_get(o, "next");
		bool more = json_is_integer(next);
		after = more ? json_integer_value(next) : -1;
		json_decref(o);
		if (!more)
			break;
	}
	return n;
}

bool api_logged(const char *action, const char *outcome, const char *reason_part)
{
	char *sql = xasprintf("SELECT COUNT(*) FROM audit_event WHERE action = '%s' AND outcome = '%s' "
			      "AND CAST(entry AS TEXT) LIKE '%%%s%%'",
			      action, outcome, reason_part);
	int64_t n = api_db_count("audit.db", sql);
	free(sql);
	return n > 0;
}


const char *api_day(int days_from_now, char out[16])
{
	time_format_date(time_now() + (int64_t)days_from_now * 86400, out);
	return out;
}

bool api_logged_stated(const char *token, const char *action, const char *outcome,
		       const char *purpose_part)
{
	bool found = false;
	for (int64_t after = -1; !found;) {
		char path[128];
		if (after < 0)
			snprintf(path, sizeof(path), "/api/v1/audit?limit=1000");
		else
			snprintf(path, sizeof(path), "/api/v1/audit?limit=1000&after=%lld",
				 (long long)after);
		json_t *o = NULL;
		assert_int_equal(api_call("GET", path, token, NULL, &o), 200);
		size_t i;
		json_t *ev;
		json_array_foreach(json_object_get(o, "events"), i, ev) {
			const char *p = json_string_value(json_object_get(ev, "purpose"));
			found |= str_eq(json_string_value(json_object_get(ev, "action")), action) &&
				 str_eq(json_string_value(json_object_get(ev, "outcome")), outcome) &&
				 p && strstr(p, purpose_part);
		}
		json_t *next = json_object_get(o, "next");
		bool more = json_is_integer(next);
		after = more ? json_integer_value(next) : -1;
		json_decref(o);
		if (!more)
			break;
	}
	return found;
}
