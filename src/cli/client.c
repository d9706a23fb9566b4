/*
 * client.c - the business commands of `steward` are clients of the HTTP
 * API (libcurl): the command line and the API are one path with one set of
 * checks. `steward login` keeps the session token in an owner-only file
 * ($STEWARD_SESSION, or ~/.config/steward/session.json); $STEWARD_SERVER and
 * $STEWARD_TOKEN override it (an API token, for scripts).
 */
#include <curl/curl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "crypto/crypto.h"

static char *session_path(void)
{
	const char *p = getenv("STEWARD_SESSION");
	if (p && *p)
		return xstrdup(p);
	const char *home = getenv("HOME");
	return xasprintf("%s/.config/steward/session.json", home && *home ? home : ".");
}

struct conn {
	char *server;
	char *token;
};

static void conn_release(struct conn *c)
{
	free(c->server);
	if (c->token)
		secure_free_plain(c->token, strlen(c->token));
}

static int load_conn(const char *server_opt, struct conn *c)
{
	memset(c, 0, sizeof(*c));
	const char *env_server = getenv("STEWARD_SERVER"), *env_token = getenv("STEWARD_TOKEN");
	char *path = session_path();
	char *text = NULL;
	size_t len = 0;
	json_t *doc = NULL;
	if (file_read_all(path, 1 << 16, &text, &len, NULL) == ST_OK) {
		json_error_t je;
		doc = json_loadb(text, len, 0, &je);
		secure_free_plain(text, len);
	}
	free(path);
	const char *server = server_opt ? server_opt
			     : env_server ? env_server
					  : json_string_value(json_object_get(doc, "server"));
	const char *token = env_token ? env_token : json_string_value(json_object_get(doc, "token"));
	if (server)
		c->server = xstrdup(server);
	if (token)
		c->token = xstrdup(token);
	if (doc) {
		json_t *t = json_object_get(doc, "token");
		if (t && json_is_string(t))
			secure_wipe((char *)json_string_value(t), json_string_length(t));
		json_decref(doc);
	}
	if (!c->server) {
		fprintf(stderr, "steward: no server: run 'steward login --server URL' first\n");
		return -1;
	}
	return 0;
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	buf_append(ctx, data, size * n);
	return size * n;
}

/* One request; *status receives the HTTP status, *out the parsed body
 * (NULL if empty). */
static int call(const struct conn *c, const char *method, const char *path, const char *body,
		long *status, json_t **out)
{
	CURL *curl = curl_easy_init();
	if (!curl)
		return -1;
	char *url = xasprintf("%s%s", c->server, path);
	struct buf resp = BUF_INIT;
	struct curl_slist *h = NULL;
	char *auth = NULL;
	if (c->token) {
		auth = xasprintf("Authorization: Bearer %s", c->token);
		h = curl_slist_append(h, auth);
	}
	if (body)
		h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	if (body)
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	CURLcode cc = curl_easy_perform(curl);
	int rc = 0;
	if (cc != CURLE_OK) {
		fprintf(stderr, "steward: cannot reach %s: %s\n", c->server, curl_easy_strerror(cc));
		rc = -1;
	} else {
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
		*out = NULL;
		if (resp.len) {
			json_error_t je;
			*out = json_loadb(resp.data, resp.len, 0, &je);
		}
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(curl);
	if (auth)
		secure_free_plain(auth, strlen(auth));
	free(url);
	buf_release(&resp);
	return rc;
}

/* Prints a response: the body on success, the error on failure; returns
 * the exit code. */
static int report(long status, json_t *body)
{
	if (status >= 200 && status < 300) {
		if (body) {
			char *s = json_dumps(body, JSON_INDENT(2) | JSON_SORT_KEYS);
			printf("%s\n", s);
			free(s);
		}
		json_decref(body);
		return 0;
	}
	json_t *err = json_object_get(body, "error");
	const char *msg = json_string_value(json_object_get(err, "message"));
	const char *field = json_string_value(json_object_get(err, "field"));
	fprintf(stderr, "steward: %s%s%s%s (HTTP %ld)\n", msg ? msg : "request failed",
		field && *field ? " (" : "", field && *field ? field : "", field && *field ? ")" : "",
		status);
	json_decref(body);
	switch (status) {
	case 400: case 413: case 415: return 2;
	case 401: case 403: return 3;
	case 404: case 410: return 4;
	case 409: return 5;
	default: return 1;
	}
}

static int request(const char *server, const char *method, const char *path, const char *body)
{
	struct conn c;
	if (load_conn(server, &c) != 0)
		return 1;
	long status = 0;
	json_t *out = NULL;
	int rc = call(&c, method, path, body, &status, &out);
	conn_release(&c);
	return rc ? 1 : report(status, out);
}

static void query_add(struct buf *q, const char *name, const char *value)
{
	if (!value)
		return;
	buf_putc(q, q->len ? '&' : '?');
	buf_puts(q, name);
	buf_putc(q, '=');
	char *esc = curl_easy_escape(NULL, value, 0);
	buf_puts(q, esc ? esc : "");
	curl_free(esc);
}

/* GET path?name=value&... with every option that was given, named as the
 * option is: the command's options are the route's query parameters. */
static int get_with_options(const char *path, const struct cli_opt *opts)
{
	struct buf q = BUF_INIT;
	for (const struct cli_opt *o = opts; o->name; o++)
		if (o->value)
			query_add(&q, o->name, *o->value);
	char *full = xasprintf("%s%s", path, q.data ? q.data : "");
	int rc = request(NULL, "GET", full, NULL);
	free(full);
	buf_release(&q);
	return rc;
}

int cmd_login(int argc, char **argv)
{
	const char *server = NULL, *user = NULL, *pwfile = NULL, *totp = NULL;
	const struct cli_opt opts[] = {
		{"server", &server, NULL, "the Steward server, e.g. http://127.0.0.1:8080"},
		{"username", &user, NULL, "your username (else prompts)"},
		{"password-file", &pwfile, NULL, "file holding the password (else prompts)"},
		{"totp", &totp, NULL, "the code from your authenticator app (if enrolled)"},
		{NULL, NULL, NULL, NULL},
	};
	const char *pos[1];
	int npos;
	if (cli_parse(argc, argv, opts, pos, 0, &npos) != 0)
		return 2;
	server = server ? server : getenv("STEWARD_SERVER");
	if (!server) {
		fprintf(stderr, "steward: login needs --server URL\n");
		return 2;
	}
	char *uline = NULL;
	if (!user) {
		size_t cap = 0;
		fprintf(stderr, "Username: ");
		if (getline(&uline, &cap, stdin) < 0) {
			free(uline);
			return 2;
		}
		uline[strcspn(uline, "\r\n")] = '\0';
		user = uline;
	}
	struct st_error e = {0};
	char *password = NULL;
	if (cli_read_secret(pwfile, "Password: ", false, &password, &e) != ST_OK) {
		free(uline);
		return cli_fail(&e);
	}
	json_t *body = json_pack("{s:s, s:s}", "username", user, "password", password);
	if (totp)
		json_object_set_new(body, "totp", json_string(totp));
	char *text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	secure_free_plain(password, strlen(password));
	struct conn c = {xstrdup(server), NULL};
	long status = 0;
	json_t *out = NULL;
	int rc = call(&c, "POST", "/api/v1/sessions", text, &status, &out);
	secure_free_plain(text, strlen(text));
	free(uline);
	if (rc) {
		conn_release(&c);
		return 1;
	}
	if (status != 201) {
		conn_release(&c);
		return report(status, out);
	}
	json_t *saved = json_pack("{s:s, s:O}", "server", server, "token", json_object_get(out, "token"));
	char *s = json_dumps(saved, JSON_INDENT(2));
	char *path = session_path();
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		dir_create_private(dir, NULL);
	}
	rc = file_write_atomic(path, s, strlen(s), 0600, false, &e);
	secure_free_plain(s, strlen(s));
	json_decref(saved);
	if (rc == ST_OK) {
		printf("signed in to %s as %s (session saved in %s)\n", server, argv[0] ? user : user,
		       path);
		if (json_is_true(json_object_get(out, "mfa_enrollment_required")))
			printf("multi-factor authentication must be set up first: run 'steward mfa "
			       "enroll', add the secret to an authenticator app, then 'steward mfa "
			       "confirm CODE'\n");
		if (json_is_true(json_object_get(out, "must_change_password")))
			printf("the password was one-time: run 'steward password' to choose yours\n");
	}
	free(path);
	free(dir);
	json_decref(out);
	conn_release(&c);
	return rc == ST_OK ? 0 : cli_fail(&e);
}

/* For commands that take nothing: --help works and a stray argument is an error. */
static bool no_arguments(int argc, char **argv, const char *name)
{
	const struct cli_opt opts[] = {{NULL, NULL, NULL, NULL}};
	const char *pos[1];
	int npos;
	if (cli_parse(argc, argv, opts, pos, 0, &npos) != 0) {
		fprintf(stderr, "steward: %s takes no arguments\n", name);
		return false;
	}
	return true;
}

int cmd_logout(int argc, char **argv)
{
	if (!no_arguments(argc, argv, "logout"))
		return 2;
	int rc = request(NULL, "DELETE", "/api/v1/sessions/current", NULL);
	char *path = session_path();
	if (file_exists(path))
		file_shred(path, NULL);
	free(path);
	return rc;
}

int cmd_whoami(int argc, char **argv)
{
	if (!no_arguments(argc, argv, "whoami"))
		return 2;
	return request(NULL, "GET", "/api/v1/sessions/current", NULL);
}

int cmd_mfa_enroll(int argc, char **argv)
{
	if (!no_arguments(argc, argv, "mfa enroll"))
		return 2;
	return request(NULL, "POST", "/api/v1/mfa/totp", NULL);
}

int cmd_mfa_confirm(int argc, char **argv)
{
	const struct cli_opt opts[] = {{NULL, NULL, NULL, NULL}};
	const char *pos[1];
	int npos;
	if (cli_parse(argc, argv, opts, pos, 1, &npos) != 0 || npos != 1) {
		fprintf(stderr, "steward: mfa confirm needs the CODE\n");
		return 2;
	}
	json_t *b = json_pack("{s:s}", "code", pos[0]);
	char *t = json_dumps(b, JSON_COMPACT);
	int rc = request(NULL, "POST", "/api/v1/mfa/totp/confirm", t);
	free(t);
	json_decref(b);
	return rc;
}

int cmd_password(int argc, char **argv)
{
	const char *curfile = NULL, *newfile = NULL;
	const struct cli_opt opts[] = {
		{"current-password-file", &curfile, NULL, "file holding the current password (else prompts)"},
		{"new-password-file", &newfile, NULL, "file holding the new password (else prompts twice)"},
		{NULL, NULL, NULL, NULL},
	};
	const char *pos[1];
	int npos;
	if (cli_parse(argc, argv, opts, pos, 0, &npos) != 0)
		return 2;
	struct st_error e = {0};
	char *cur = NULL, *next = NULL;
	if (cli_read_secret(curfile, "Current password: ", false, &cur, &e) != ST_OK)
		return cli_fail(&e);
	if (cli_read_secret(newfile, "New password: ", true, &next, &e) != ST_OK) {
		secure_free_plain(cur, strlen(cur));
		return cli_fail(&e);
	}
	json_t *b = json_pack("{s:s, s:s}", "current_password", cur, "new_password", next);
	char *t = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	int rc = request(NULL, "POST", "/api/v1/sessions/current/password", t);
	secure_free_plain(t, strlen(t));
	secure_free_plain(cur, strlen(cur));
	secure_free_plain(next, strlen(next));
	return rc;
}

int cmd_records_get(int argc, char **argv)
{
	const char *purpose = NULL, *version = NULL;
	const struct cli_opt opts[] = {
		{"purpose", &purpose, NULL, "why you need the record (it is logged)"},
		{"version", &version, NULL, "an earlier version"},
		{NULL, NULL, NULL, NULL},
	};
	const char *pos[1];
	int npos;
	int64_t id = 0;
	if (cli_parse(argc, argv, opts, pos, 1, &npos) != 0 || npos != 1 ||
	    !str_to_i64(pos[0], &id) || id <= 0) {
		fprintf(stderr, "steward: records get needs a record ID\n");
		return 2;
	}
	char path[64];
	snprintf(path, sizeof(path), "/api/v1/records/%lld", (long long)id);
	return get_with_options(path, opts);
}

int cmd_records_create(int argc, char **argv)
{
	const char *subject = NULL, *category = NULL, *fields = NULL;
	const struct cli_opt opts[] = {
		{"subject", &subject, NULL, "the subject's id"},
		{"category", &category, NULL, "the record's category"},
		{"fields", &fields, NULL, "the fields as a JSON object"},
		{NULL, NULL, NULL, NULL},
	};
	const char *pos[1];
	int npos;
	int64_t sid = 0;
	if (cli_parse(argc, argv, opts, pos, 0, &npos) != 0 || !subject || !category || !fields ||
	    !str_to_i64(subject, &sid)) {
		fprintf(stderr, "steward: records create needs --subject ID --category C --fields JSON\n");
		return 2;
	}
	json_error_t je;
	json_t *f = json_loads(fields, 0, &je);
	if (!json_is_object(f)) {
		fprintf(stderr, "steward: --fields is not a JSON object (%s)\n", je.text);
		json_decref(f);
		return 2;
	}
	json_t *b = json_pack("{s:I, s:s, s:o}", "subject", (json_int_t)sid, "category", category,
			      "fields", f);
	char *t = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	int rc = request(NULL, "POST", "/api/v1/records", t);
	secure_free_plain(t, strlen(t));
	return rc;
}

int cmd_audit_query(int argc, char **argv)
{
	const char *user = NULL, *subject = NULL, *record = NULL, *outcome = NULL, *from = NULL,
		   *to = NULL, *after = NULL, *limit = NULL;
	const struct cli_opt opts[] = {
		{"user", &user, NULL, "events of this user id"},
		{"subject", &subject, NULL, "events about this subject id"},
		{"record", &record, NULL, "events about this record id"},
		{"outcome", &outcome, NULL, "allow, deny or error"},
		{"from", &from, NULL, "start (date or UTC time)"},
		{"to", &to, NULL, "end (exclusive)"},
		{"after", &after, NULL, "continue after this sequence number"},
		{"limit", &limit, NULL, "at most this many (default 100)"},
		{NULL, NULL, NULL, NULL},
	};
	const char *pos[1];
	int npos;
	if (cli_parse(argc, argv, opts, pos, 0, &npos) != 0)
		return 2;
	return get_with_options("/api/v1/audit", opts);
}

int cmd_policy_who_can(int argc, char **argv)
{
	const char *category = NULL, *action = NULL, *subject = NULL;
	const struct cli_opt opts[] = {
		{"category", &category, NULL, "a category, e.g. special_education"},
		{"action", &action, NULL, "read (default), create, update, delete, export, disclose"},
		{"subject", &subject, NULL, "one subject's id"},
		{NULL, NULL, NULL, NULL},
	};
	const char *pos[1];
	int npos;
	if (cli_parse(argc, argv, opts, pos, 0, &npos) != 0)
		return 2;
	return get_with_options("/api/v1/policy/who-can", opts);
}

int cmd_policy_explain(int argc, char **argv)
{
	const char *user = NULL, *record = NULL, *action = NULL, *purpose = NULL;
	const struct cli_opt opts[] = {
		{"user", &user, NULL, "the user id"},
		{"record", &record, NULL, "the record id"},
		{"action", &action, NULL, "read (default), create, update, delete, export, disclose"},
		{"purpose", &purpose, NULL, "a stated purpose"},
		{NULL, NULL, NULL, NULL},
	};
	const char *pos[1];
	int npos;
	if (cli_parse(argc, argv, opts, pos, 0, &npos) != 0 || !user || !record) {
		fprintf(stderr, "steward: policy explain needs --user ID --record ID\n");
		return 2;
	}
	return get_with_options("/api/v1/policy/explain", opts);
}

int cmd_api(int argc, char **argv)
{
	const char *data = NULL;
	const struct cli_opt opts[] = {
		{"data", &data, NULL, "a JSON body"},
		{NULL, NULL, NULL, NULL},
	};
	const char *pos[2];
	int npos;
	if (cli_parse(argc, argv, opts, pos, 2, &npos) != 0 || npos != 2 || pos[1][0] != '/') {
		fprintf(stderr, "steward: api needs METHOD /api/v1/PATH [--data JSON]\n");
		return 2;
	}
	return request(NULL, pos[0], pos[1], data);
}
