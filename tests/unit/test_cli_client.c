/*
 * test_cli_client.c - the command line's HTTP client (src/cli/client.c)
 * under a hostile or mistaken configuration: plain http to a host that is
 * not loopback is refused before any connection is made; the saved session
 * token never goes to a server named by $STEWARD_SERVER that did not issue
 * it; a server's terminal escape sequences are never printed raw; a
 * response past CLI_MAX_RESPONSE fails cleanly; and a district's own CA
 * file given at login is kept and used by every later command.
 *
 * The "other server" is a tiny listener on 127.0.0.1 in a thread of this
 * test: it records each request and answers with a scripted response. The
 * test waits only on the command's exit and the thread's join, never on a
 * clock.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "apiclient.h"
#include "cli/cli.h"
#include "crypto/crypto.h"

/* --- a scripted listener on 127.0.0.1 --------------------------------------- */

struct listener {
	int fd;
	int port;
	pthread_t thread;
	const char *head;    /* status line and headers, "\r\n\r\n" included */
	const char *body;    /* then this ... */
	size_t pad;          /* ... then this many spaces (a large body) */
	struct buf requests; /* every request received, one after another */
	int connections;
};

static bool send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return false; /* the client hung up: it refused the response */
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* Reads one request (headers, then a body of Content-Length) into l->requests. */
static void read_request(struct listener *l, int c)
{
	struct buf in = BUF_INIT;
	char chunk[4096];
	char *end = NULL;
	while (!(end = in.data ? strstr(in.data, "\r\n\r\n") : NULL)) {
		ssize_t n = recv(c, chunk, sizeof(chunk), 0);
		if (n <= 0)
			break;
		buf_append(&in, chunk, (size_t)n);
	}
	if (end) {
		size_t want = (size_t)(end - in.data) + 4;
		for (char *h = in.data; h && h < end; h = strstr(h, "\r\n"), h = h ? h + 2 : NULL)
			if (!strncasecmp(h, "Content-Length:", 15))
				want += strtoul(h + 15, NULL, 10);
		while (in.len < want) {
			ssize_t n = recv(c, chunk, sizeof(chunk), 0);
			if (n <= 0)
				break;
			buf_append(&in, chunk, (size_t)n);
		}
	}
	if (in.len)
		buf_append(&l->requests, in.data, in.len);
	buf_release(&in);
}

static void *listener_run(void *arg)
{
	struct listener *l = arg;
	int c;
	while ((c = accept(l->fd, NULL, NULL)) >= 0) {
		l->connections++;
		read_request(l, c);
		bool ok = send_all(c, l->head, strlen(l->head)) &&
			  send_all(c, l->body, strlen(l->body));
		static char spaces[65536];
		memset(spaces, ' ', sizeof(spaces));
		for (size_t left = l->pad; ok && left > 0;) {
			size_t n = left < sizeof(spaces) ? left : sizeof(spaces);
			ok = send_all(c, spaces, n);
			left -= n;
		}
		close(c);
	}
	return NULL; /* accept fails once listener_stop shuts the socket down */
}

static void listener_start(struct listener *l, const char *head, const char *body, size_t pad)
{
	memset(l, 0, sizeof(*l));
	l->head = head;
	l->body = body;
	l->pad = pad;
	l->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(l->fd >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(l->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(l->fd, 8), 0);
	socklen_t alen = sizeof(a);
	assert_int_equal(getsockname(l->fd, (struct sockaddr *)&a, &alen), 0);
	l->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&l->thread, NULL, listener_run, l), 0);
}

/* Stops accepting (shutdown wakes a blocked accept) and joins the thread;
 * l->requests stays for the test to read, then listener_release. */
static void listener_stop(struct listener *l)
{
	shutdown(l->fd, SHUT_RDWR);
	assert_int_equal(pthread_join(l->thread, NULL), 0);
	close(l->fd);
}

static void listener_release(struct listener *l)
{
	buf_release(&l->requests);
}

/* --- running the command line ---------------------------------------------- */

/* The command line with a session file of its own and none of the
 * caller's STEWARD_* variables; env is further "NAME=value" words. */
static char *cli_new(const char *session, const char *env)
{
	return xasprintf("env -u STEWARD_SERVER -u STEWARD_TOKEN -u STEWARD_CACERT "
			 "STEWARD_SESSION=%s %s %s",
			 session, env ? env : "", STEWARD_BINARY);
}

/* Runs "cli args" with stderr into the output; returns the exit status. */
static int run(const char *cli, const char *args, char **out)
{
	char *cmd = xasprintf("%s %s 2>&1", cli, args);
	int rc = ts_run(cmd, out);
	free(cmd);
	return rc;
}

static bool has_byte(const char *s, unsigned char c)
{
	return strchr(s, (char)c) != NULL;
}

static char *write_file(const char *dir, const char *name, const char *text)
{
	char *p = xasprintf("%s/%s", dir, name);
	assert_int_equal(file_write_atomic(p, text, strlen(text), 0600, false, NULL), ST_OK);
	return p;
}

/* --- the guards, in process ------------------------------------------------ */

static void expect_canon(const char *url, const char *want)
{
	char *canon = NULL;
	struct st_error e = {0};
	int rc = cli_server_canon(url, &canon, &e);
	if (want && (rc != ST_OK || !str_eq(canon, want)))
		fail_msg("%s: got %d %s (%s), wanted %s", url, rc, canon ? canon : "-", e.message, want);
	if (!want && rc == ST_OK)
		fail_msg("%s: accepted as %s", url, canon);
	if (!want)
		assert_int_equal(rc, ST_EINVAL);
	free(canon);
}

static void test_server_urls(void **state)
{
	(void)state;
	/* plain http: this machine only */
	expect_canon("http://127.0.0.1:8080", "http://127.0.0.1:8080");
	expect_canon("http://127.0.0.1:8080/", "http://127.0.0.1:8080");
	expect_canon("HTTP://LocalHost:80/", "http://localhost");
	expect_canon("http://127.255.3.4:9", "http://127.255.3.4:9");
	expect_canon("http://127.1:9", "http://127.0.0.1:9"); /* as libcurl reads it */
	expect_canon("http://2130706433:9", "http://127.0.0.1:9");
	expect_canon("http://[::1]:9/", "http://[::1]:9");
	expect_canon("http://[::ffff:127.0.0.1]:9", "http://[::ffff:127.0.0.1]:9");
	expect_canon("http://192.0.2.1:1", NULL);
	expect_canon("http://10.0.0.5:8080", NULL);
	expect_canon("http://0.0.0.0:8080", NULL);
	expect_canon("http://128.0.0.1", NULL);
	expect_canon("http://[::2]:9", NULL);
	expect_canon("http://[::ffff:10.0.0.1]:9", NULL);
	expect_canon("http://127.0.0.1.nip.io:8080", NULL); /* a name is not an address */
	expect_canon("http://localhost.example.org", NULL);
	expect_canon("http://127.0.0.1:8080@192.0.2.1/", NULL); /* the host is 192.0.2.1 */
	/* https anywhere, certificate verified */
	expect_canon("https://192.0.2.1:1", "https://192.0.2.1:1");
	expect_canon("https://Steward.District.ORG:443/", "https://steward.district.org");
	expect_canon("https://steward.district.org/steward//", "https://steward.district.org/steward");
	/* nothing else */
	expect_canon("ftp://127.0.0.1/", NULL);
	expect_canon("file:///etc/passwd", NULL);
	expect_canon("127.0.0.1:8080", NULL);
	expect_canon("https://admin:secret@steward.district.org", NULL);
	expect_canon("https://steward.district.org/?x=1", NULL);
	expect_canon("https://steward.district.org/#top", NULL);
	expect_canon("http://[fe80::1%25lo]:9", NULL);
	expect_canon("", NULL);

	assert_true(cli_host_is_loopback("localhost"));
	assert_true(cli_host_is_loopback("LOCALHOST"));
	assert_true(cli_host_is_loopback("127.0.0.1"));
	assert_true(cli_host_is_loopback("::1"));
	assert_true(cli_host_is_loopback("[::1]"));
	assert_false(cli_host_is_loopback("[::1"));
	assert_false(cli_host_is_loopback("127.0.0.1x"));
	assert_false(cli_host_is_loopback("localhost."));
	assert_false(cli_host_is_loopback(""));
}

static void expect_printable(const char *in, enum cli_text mode, const char *want)
{
	char *got = cli_printable_dup(in, strlen(in), mode);
	if (!str_eq(got, want))
		fail_msg("got \"%s\", wanted \"%s\"", got, want);
	free(got);
}

static void test_printable(void **state)
{
	(void)state;
	expect_printable("plain words, Zoë — ✓", CLI_TEXT_LINE, "plain words, Zoë — ✓");
	expect_printable("\x1b[2Jgone", CLI_TEXT_LINE, "\\x1b[2Jgone");
	expect_printable("a\nsteward: forged\tline\r", CLI_TEXT_LINE, "a\\x0asteward: forged\\x09line\\x0d");
	expect_printable("bell\x07 del\x7f", CLI_TEXT_LINE, "bell\\x07 del\\x7f");
	expect_printable("csi\xc2\x9b" "31m", CLI_TEXT_LINE, "csi\\u009B31m");
	expect_printable("rlo\xe2\x80\xae" "txt.exe", CLI_TEXT_LINE, "rlo\\u202Etxt.exe");
	expect_printable("iso\xe2\x81\xa6x", CLI_TEXT_LINE, "iso\\u2066x");
	expect_printable("lone\x9b" "31m", CLI_TEXT_LINE, "lone\\x9b31m"); /* not UTF-8 */
	expect_printable("cut\xe2\x80", CLI_TEXT_LINE, "cut\\xe2\\x80");
	expect_printable("over\xc0\x80long", CLI_TEXT_LINE, "over\\xc0\\x80long");
	expect_printable("{\n\t\"a\": \"x\xc2\x9by\"\n}", CLI_TEXT_JSON, "{\n\t\"a\": \"x\\u009By\"\n}");
	expect_printable("\"\x1b\"", CLI_TEXT_JSON, "\"\\u001B\"");
	expect_printable("", CLI_TEXT_LINE, "");
	/* an embedded NUL is escaped, not an end */
	char *got = cli_printable_dup("a\0b", 3, CLI_TEXT_LINE);
	assert_string_equal(got, "a\\x00b");
	free(got);
	/* in JSON mode the escapes keep the text valid JSON that means the same */
	const char *raw = "{\"s\": \"\xc2\x9b\xe2\x80\xae\xe2\x81\xa9\"}";
	got = cli_printable_dup(raw, strlen(raw), CLI_TEXT_JSON);
	json_error_t je;
	json_t *a = json_loads(raw, 0, &je), *b = json_loads(got, 0, &je);
	assert_non_null(b);
	assert_true(json_equal(a, b));
	json_decref(a);
	json_decref(b);
	free(got);
}

/* --- 1. plain http only to loopback -------------------------------------- */

static void test_plain_http_refused(void **state)
{
	(void)state;
	char *dir = ts_tmpdir();
	char *session = xasprintf("%s/session.json", dir);
	char *cli = cli_new(session, NULL);
	char *out = NULL;
	/* refused before the password is read (the file does not exist) and
	 * before any connection: 192.0.2.1 (TEST-NET-1) is never dialled */
	char *args = xasprintf("login --server http://192.0.2.1:1 --username %s --password-file %s/none",
			       TS_ADMIN, dir);
	assert_int_equal(run(cli, args, &out), 2);
	assert_non_null(strstr(out, "use https://192.0.2.1:1"));
	assert_null(strstr(out, "cannot reach"));
	assert_null(strstr(out, "/none"));
	assert_false(file_exists(session));
	free(out);
	free(args);
	assert_int_equal(run(cli, "login --server 'http://127.0.0.1:1@192.0.2.1:1' --username x "
				  "--password-file /dev/null", &out), 2);
	assert_non_null(strstr(out, "https"));
	free(out);
	free(cli);

	/* a script's server and token */
	cli = cli_new(session, "STEWARD_SERVER=http://192.0.2.1:1 STEWARD_TOKEN=st_secret");
	assert_int_equal(run(cli, "whoami", &out), 2);
	assert_non_null(strstr(out, "refusing plain http to 192.0.2.1"));
	assert_null(strstr(out, "st_secret"));
	free(out);
	free(cli);

	/* a session saved by an earlier version, to a server across the network */
	free(write_file(dir, "session.json",
			"{\"server\": \"http://192.0.2.1:1\", \"token\": \"st_saved\"}"));
	cli = cli_new(session, NULL);
	assert_int_equal(run(cli, "records get 1 --purpose check", &out), 2);
	assert_non_null(strstr(out, "https"));
	free(out);
	/* logging out still removes it */
	run(cli, "logout", &out);
	free(out);
	assert_false(file_exists(session));
	free(cli);
	free(session);
	ts_rm_rf(dir);
	free(dir);
}

/* --- 2. the saved token stays with the server that issued it ------------- */

static const char reply_401[] =
	"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n";
static const char body_401[] = "{\"error\":{\"code\":\"unauthenticated\",\"message\":\"sign in\"}}";

static int server_setup(void **state)
{
	(void)state;
	api_server_start(NULL);
	return 0;
}

static int server_teardown(void **state)
{
	(void)state;
	api_server_stop();
	return 0;
}

static void test_saved_token_stays_home(void **state)
{
	(void)state;
	char *session = xasprintf("%s/session.json", api_dir);
	char *pw = write_file(api_dir, "pw", TS_PASSWORD "\n");
	char *cli = cli_new(session, NULL);
	char *args = xasprintf("login --server %s --username %s --password-file %s", api_base,
			       TS_ADMIN, pw);
	char *out = NULL;
	assert_int_equal(run(cli, args, &out), 0);
	assert_non_null(strstr(out, "signed in"));
	free(out);
	free(args);
	free(cli);
	char *text = NULL;
	size_t len = 0;
	assert_int_equal(file_read_all(session, 1 << 16, &text, &len, NULL), ST_OK);
	json_error_t je;
	json_t *saved = json_loads(text, 0, &je);
	free(text);
	char token[160];
	assert_int_equal(str_copy(token, sizeof(token), json_string_value(json_object_get(saved, "token"))), ST_OK);
	assert_true(strlen(token) > 8);
	assert_string_equal(json_string_value(json_object_get(saved, "server")), api_base);
	json_decref(saved);

	/* the issuing server, however spelled, gets it */
	char *env = xasprintf("STEWARD_SERVER=%s/", api_base);
	cli = cli_new(session, env);
	assert_int_equal(run(cli, "whoami", &out), 0);
	assert_non_null(strstr(out, TS_ADMIN));
	free(out);
	free(cli);
	free(env);

	/* another server does not */
	struct listener l;
	listener_start(&l, reply_401, body_401, 0);
	env = xasprintf("STEWARD_SERVER=http://127.0.0.1:%d", l.port);
	cli = cli_new(session, env);
	int rc = run(cli, "whoami", &out);
	listener_stop(&l);
	assert_int_equal(rc, 3);
	assert_int_equal(l.connections, 1);
	assert_non_null(strstr(l.requests.data, "GET /api/v1/sessions/current HTTP/1.1\r\n"));
	assert_null(strcasestr(l.requests.data, "Authorization"));
	assert_null(strstr(l.requests.data, token));
	assert_non_null(strstr(out, "not sending the saved session"));
	assert_null(strstr(out, token));
	free(out);
	free(cli);
	free(env);
	listener_release(&l);

	/* nor does the same machine under another name: a server is its URL */
	char *other = xasprintf("STEWARD_SERVER=http://localhost:%s", strrchr(api_base, ':') + 1);
	cli = cli_new(session, other);
	assert_int_equal(run(cli, "whoami", &out), 3);
	assert_non_null(strstr(out, "not sending the saved session"));
	free(out);
	free(cli);
	free(other);

	/* an explicit STEWARD_TOKEN goes where STEWARD_SERVER says */
	listener_start(&l, reply_401, body_401, 0);
	env = xasprintf("STEWARD_SERVER=http://127.0.0.1:%d STEWARD_TOKEN=st_explicit_for_this_one", l.port);
	cli = cli_new(session, env);
	rc = run(cli, "api GET /api/v1/sessions/current", &out);
	listener_stop(&l);
	assert_int_equal(rc, 3);
	assert_non_null(strcasestr(l.requests.data, "Authorization: Bearer st_explicit_for_this_one\r\n"));
	assert_null(strstr(l.requests.data, token));
	assert_null(strstr(out, "not sending"));
	free(out);
	free(cli);
	free(env);
	listener_release(&l);

	/* and the session still works at home */
	cli = cli_new(session, NULL);
	assert_int_equal(run(cli, "whoami", &out), 0);
	assert_non_null(strstr(out, TS_ADMIN));
	free(out);

	/* setting up multi-factor says what to do, not the whole answer */
	char *qr = xasprintf("%s/qr.svg", api_dir);
	char *enroll = xasprintf("mfa enroll --qr-svg %s", qr);
	assert_int_equal(run(cli, enroll, &out), 2); /* the enrolment code is needed */
	assert_non_null(strstr(out, "enrollment_code"));
	free(out);
	free(enroll);
	enroll = xasprintf("mfa enroll --code %s --qr-svg %s", api_admin_enrollment_code, qr);
	assert_int_equal(run(cli, enroll, &out), 0);
	assert_null(strstr(out, "<svg"));
	assert_non_null(strstr(out, "otpauth://totp/"));
	assert_non_null(strstr(out, "steward mfa confirm CODE"));
	char *svg = NULL;
	assert_int_equal(file_read_all(qr, 1 << 20, &svg, &len, NULL), ST_OK);
	assert_true(str_has_prefix(svg, "<svg"));
	free(svg);
	char b32[64] = "";
	const char *sp = strstr(out, "secret:");
	assert_non_null(sp);
	assert_int_equal(sscanf(sp, "secret: %63s", b32), 1);
	free(out);
	struct who w = {0};
	size_t n = 0;
	assert_int_equal(base32_decode(b32, w.secret, sizeof(w.secret), &n), ST_OK);
	char code[16], confirm[64];
	api_code_for(&w, (uint64_t)time_now() / 30, code);
	snprintf(confirm, sizeof(confirm), "mfa confirm %s", code);
	assert_int_equal(run(cli, confirm, &out), 0);
	assert_non_null(strstr(out, "multi-factor authentication is on"));
	free(out);
	free(enroll);
	free(qr);
	/* an evidence package comes from the server, decided and logged as
	 * the signed-in person's act, and checks on its own */
	char *pkg = xasprintf("%s/pkg.json", api_dir);
	char *export = xasprintf("audit export --from 2000-01-01 --to 2100-01-01 --out %s", pkg);
	assert_int_equal(run(cli, export, &out), 0);
	assert_non_null(strstr(out, "wrote"));
	free(out);
	char *check = xasprintf("audit verify-proof %s", pkg);
	assert_int_equal(run(cli, check, &out), 0);
	assert_non_null(strstr(out, "evidence package verified"));
	free(out);
	assert_int_equal(api_db_count("audit.db", "SELECT COUNT(*) FROM audit_event WHERE action "
						  "= 'audit.export' AND outcome = 'allow' AND "
						  "user_id = 1"),
			 1);
	free(check);
	free(export);
	free(pkg);
	/* an administrator hands out enrolment codes and resets a lost device */
	assert_int_equal(run(cli, "api POST /api/v1/users --data '{\"username\":\"lena\","
				  "\"password\":\"kestrel meadow lantern 7\",\"display_name\":\"Lena\","
				  "\"roles\":[\"teacher\"]}'",
			     &out),
			 0);
	free(out);
	int64_t lena = api_db_count("steward.db", "SELECT id FROM app_user WHERE username = 'lena'");
	char *issue = xasprintf("users enrollment-code %lld", (long long)lena);
	assert_int_equal(run(cli, issue, &out), 0);
	assert_non_null(strstr(out, "enrolment code: "));
	assert_non_null(strstr(out, "steward mfa enroll --code"));
	free(out);
	free(issue);
	assert_int_equal(run(cli, "users enrollment-code lena", &out), 2); /* an id, not a name */
	free(out);
	char *reset = xasprintf("users reset %lld", (long long)lena);
	assert_int_equal(run(cli, reset, &out), 2); /* no reason */
	assert_non_null(strstr(out, "--reason"));
	free(out);
	free(reset);
	reset = xasprintf("users reset %lld --reason 'forgot the password; checked in person'",
			  (long long)lena);
	assert_int_equal(run(cli, reset, &out), 0);
	assert_non_null(strstr(out, "one-time password: "));
	assert_non_null(strstr(out, "enrolment code: "));
	free(out);
	free(reset);
	assert_int_equal(run(cli, "users reset 1 --reason 'mine'", &out), 3); /* not one's own */
	assert_non_null(strstr(out, "their own"));
	free(out);
	{
		/* the reason is the act's stated purpose: sealed in the log's
		 * files, read through the log (by the one who reset) */
		bool found = false;
		for (int64_t after = -1; !found;) {
			char *q = after < 0 ? xstrdup("api GET '/api/v1/audit?limit=1000'")
					    : xasprintf("api GET '/api/v1/audit?limit=1000&after=%lld'",
							(long long)after);
			assert_int_equal(run(cli, q, &out), 0);
			free(q);
			json_error_t jerr;
			json_t *o = json_loads(out, 0, &jerr);
			free(out);
			assert_non_null(o);
			size_t i;
			json_t *ev;
			json_array_foreach(json_object_get(o, "events"), i, ev) {
				const char *p = json_string_value(json_object_get(ev, "purpose"));
				found |= str_eq(json_string_value(json_object_get(ev, "action")),
						"user.reset") &&
					 p && strstr(p, "checked in person");
			}
			json_t *next = json_object_get(o, "next");
			after = json_is_integer(next) ? json_integer_value(next) : -1;
			json_decref(o);
			if (after < 0)
				break;
		}
		assert_true(found);
		assert_false(api_logged("user.reset", "allow", "checked in person"));
	}	/* a password change says so */
	char *pw2 = write_file(api_dir, "pw2", "another harbor quartz 77\n");
	char *change = xasprintf("password --current-password-file %s --new-password-file %s", pw,
				 pw2);
	assert_int_equal(run(cli, change, &out), 0);
	assert_non_null(strstr(out, "password changed"));
	free(out);
	free(change);
	free(pw2);
	assert_int_equal(run(cli, "logout", &out), 0);
	assert_non_null(strstr(out, "signed out\n"));
	free(out);
	assert_false(file_exists(session));
	free(cli);
	free(pw);
	free(session);
}

/* --- 3. what a server says is printed defanged ----------------------------- */

static void expect_defanged(const char *out)
{
	assert_false(has_byte(out, 0x1b));
	assert_false(has_byte(out, 0x07));
	assert_false(has_byte(out, '\r'));
	assert_null(strstr(out, "\xc2\x9b"));
	assert_null(strstr(out, "\xe2\x80\xae"));
}

static void test_escapes_not_printed(void **state)
{
	(void)state;
	char *dir = ts_tmpdir();
	char *session = xasprintf("%s/session.json", dir);
	struct listener l;
	char *env, *cli, *out = NULL;

	/* an error message that clears the screen, retitles the window and
	 * forges a line of its own */
	static const char error_head[] =
		"HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n";
	static const char error_body[] =
		"{\"error\":{\"code\":\"forbidden\",\"message\":\"\\u001b[2J\\u001b]0;pwned\\u0007"
		"denied\\r\\nsteward: signed in as superintendent \\u009B31m\\u202E\","
		"\"field\":\"x\\u001b[8my\"}}";
	listener_start(&l, error_head, error_body, 0);
	env = xasprintf("STEWARD_SERVER=http://127.0.0.1:%d STEWARD_TOKEN=t", l.port);
	cli = cli_new(session, env);
	int rc = run(cli, "whoami", &out);
	listener_stop(&l);
	assert_int_equal(rc, 3);
	expect_defanged(out);
	assert_non_null(strstr(out, "\\x1b[2J"));
	assert_non_null(strstr(out, "\\u009B31m"));
	assert_non_null(strstr(out, "(x\\x1b[8my) (HTTP 403)"));
	assert_int_equal(strchr(out, '\n') - out, (long)strlen(out) - 1); /* one line */
	free(out);
	free(cli);
	free(env);
	listener_release(&l);

	/* a successful answer: control characters stay escaped in the JSON,
	 * which still means exactly what the server sent */
	static const char ok_head[] =
		"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n";
	static const char ok_body[] =
		"{\"username\":\"\\u001B[2J\\u009B31m\\u202Eevil\",\"roles\":[\"a\\u0007\"]}";
	listener_start(&l, ok_head, ok_body, 0);
	env = xasprintf("STEWARD_SERVER=http://127.0.0.1:%d STEWARD_TOKEN=t", l.port);
	cli = cli_new(session, env);
	rc = run(cli, "whoami", &out);
	listener_stop(&l);
	assert_int_equal(rc, 0);
	expect_defanged(out);
	assert_non_null(strstr(out, "\\u001B[2J\\u009B31m\\u202Eevil"));
	json_error_t je;
	json_t *printed = json_loads(out, 0, &je), *sent = json_loads(ok_body, 0, &je);
	assert_non_null(printed);
	assert_true(json_equal(printed, sent));
	json_decref(printed);
	json_decref(sent);
	free(out);
	free(cli);
	free(env);
	listener_release(&l);

	/* raw escapes in a body that is not JSON are not printed at all */
	listener_start(&l, ok_head, "\x1b[2J\x1b]0;pwned\x07", 0);
	env = xasprintf("STEWARD_SERVER=http://127.0.0.1:%d STEWARD_TOKEN=t", l.port);
	cli = cli_new(session, env);
	rc = run(cli, "api GET /api/v1/health", &out);
	listener_stop(&l);
	assert_int_equal(rc, 0);
	expect_defanged(out);
	free(out);
	free(cli);
	free(env);
	listener_release(&l);
	free(session);
	ts_rm_rf(dir);
	free(dir);
}

/* --- 4. a response has a size limit ---------------------------------------- */

/* Serves "{}" padded with spaces to body_len bytes, with or without a
 * Content-Length; returns the exit status and *out the output. */
static int serve_padded(const char *dir, size_t body_len, bool with_length, char **out)
{
	char *head = with_length
			     ? xasprintf("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
					 "Connection: close\r\nContent-Length: %zu\r\n\r\n",
					 body_len)
			     : xstrdup("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				       "Connection: close\r\n\r\n");
	struct listener l;
	listener_start(&l, head, "{}", body_len - 2);
	char *session = xasprintf("%s/session.json", dir);
	char *env = xasprintf("STEWARD_SERVER=http://127.0.0.1:%d STEWARD_TOKEN=t", l.port);
	char *cli = cli_new(session, env);
	int rc = run(cli, "api GET /api/v1/audit", out);
	listener_stop(&l);
	assert_int_equal(l.connections, 1);
	listener_release(&l);
	free(cli);
	free(env);
	free(session);
	free(head);
	return rc;
}

/* `records create --purpose` carries the purpose a rule may ask for (a
 * child-abuse report's) in the request's body. */
static void test_create_with_purpose(void **state)
{
	(void)state;
	char *dir = ts_tmpdir();
	char *session = xasprintf("%s/session.json", dir);
	struct listener l;
	static const char head[] = "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
				   "Connection: close\r\n\r\n";
	listener_start(&l, head, "{\"id\":7}", 0);
	char *env = xasprintf("STEWARD_SERVER=http://127.0.0.1:%d STEWARD_TOKEN=t", l.port);
	char *cli = cli_new(session, env), *out = NULL;
	int rc = run(cli,
		     "records create --subject 3 --category child_abuse_report --fields "
		     "'{\"report_date\":\"2026-11-30\"}' --purpose 'hotline report'",
		     &out);
	listener_stop(&l);
	assert_int_equal(rc, 0);
	buf_putc(&l.requests, '\0');
	const char *req = l.requests.data;
	assert_non_null(strstr(req, "POST /api/v1/records "));
	assert_non_null(strstr(req, "\"purpose\":\"hotline report\""));
	assert_non_null(strstr(req, "\"category\":\"child_abuse_report\""));
	free(out);
	free(cli);
	free(env);
	listener_release(&l);
	free(session);
	ts_rm_rf(dir);
	free(dir);
}

static void test_response_size_limit(void **state)
{
	(void)state;
	char *dir = ts_tmpdir();
	char *out = NULL;
	/* exactly the limit is read */
	assert_int_equal(serve_padded(dir, CLI_MAX_RESPONSE, false, &out), 0);
	assert_string_equal(out, "{}\n");
	free(out);
	/* one byte more is refused, announced or not */
	assert_int_equal(serve_padded(dir, CLI_MAX_RESPONSE + 1, false, &out), 1);
	assert_non_null(strstr(out, "larger than 64 MiB"));
	free(out);
	assert_int_equal(serve_padded(dir, CLI_MAX_RESPONSE + 1, true, &out), 1);
	assert_non_null(strstr(out, "larger than 64 MiB"));
	free(out);
	ts_rm_rf(dir);
	free(dir);
}

/* --- --cacert: a district's own certificate authority ------------------------ */

static char *tls_dir;

static int tls_setup(void **state)
{
	(void)state;
	tls_dir = ts_tmpdir();
	char *cmd = xasprintf("cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
			      "-nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 "
			      "-keyout tls.key -out tls.crt > /dev/null 2>&1 && chmod 600 tls.key",
			      tls_dir);
	int rc = ts_run(cmd, NULL);
	free(cmd);
	if (rc != 0)
		return -1; /* openssl is installed by scripts/bootstrap.sh */
	char *cert = xasprintf("%s/tls.crt", tls_dir), *key = xasprintf("%s/tls.key", tls_dir);
	const char *args[] = {"--tls-cert", cert, "--tls-key", key, NULL};
	api_server_start(args);
	free(cert);
	free(key);
	return 0;
}

static int tls_teardown(void **state)
{
	(void)state;
	api_server_stop();
	ts_rm_rf(tls_dir);
	free(tls_dir);
	return 0;
}

static void test_cacert(void **state)
{
	(void)state;
	char *https = xasprintf("https://127.0.0.1:%s", strrchr(api_base, ':') + 1);
	char *session = xasprintf("%s/session.json", tls_dir);
	char *pw = write_file(tls_dir, "pw", TS_PASSWORD "\n");
	char *cli = cli_new(session, NULL);
	char *out = NULL;
	/* the certificate is verified: unknown, refused */
	char *args = xasprintf("login --server %s --username %s --password-file %s", https, TS_ADMIN, pw);
	assert_int_equal(run(cli, args, &out), 1);
	assert_non_null(strstr(out, "--cacert"));
	assert_false(file_exists(session));
	free(out);
	free(args);
	/* a missing CA file is named before anything is sent */
	args = xasprintf("login --server %s --username %s --password-file %s --cacert %s/nonesuch.pem",
			 https, TS_ADMIN, pw, tls_dir);
	assert_int_equal(run(cli, args, &out), 2);
	assert_non_null(strstr(out, "nonesuch.pem"));
	free(out);
	free(args);
	/* given relative to where login runs, kept absolute for every later command */
	char *in_dir = xasprintf("cd %s && %s", tls_dir, cli);
	args = xasprintf("login --server %s --username %s --password-file pw --cacert tls.crt", https,
			 TS_ADMIN);
	assert_int_equal(run(in_dir, args, &out), 0);
	assert_non_null(strstr(out, "signed in"));
	free(out);
	free(args);
	free(in_dir);
	char *text = NULL;
	size_t len = 0;
	assert_int_equal(file_read_all(session, 1 << 16, &text, &len, NULL), ST_OK);
	char *abs = xasprintf("\"cacert\": \"%s/tls.crt\"", tls_dir);
	assert_non_null(strstr(text, abs));
	free(abs);
	free(text);
	char *elsewhere = xasprintf("cd / && %s", cli);
	assert_int_equal(run(elsewhere, "whoami", &out), 0);
	assert_non_null(strstr(out, TS_ADMIN));
	free(out);
	assert_int_equal(run(elsewhere, "logout", &out), 0);
	free(out);
	free(elsewhere);
	free(cli);
	/* scripts name the CA file in the environment */
	char *env = xasprintf("STEWARD_SERVER=%s STEWARD_CACERT=%s/tls.crt", https, tls_dir);
	cli = cli_new(session, env);
	args = xasprintf("login --username %s --password-file %s", TS_ADMIN, pw);
	assert_int_equal(run(cli, args, &out), 0);
	free(out);
	free(args);
	free(cli);
	free(env);
	free(pw);
	free(session);
	free(https);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_urls),
		cmocka_unit_test(test_printable),
		cmocka_unit_test(test_plain_http_refused),
		cmocka_unit_test_setup_teardown(test_saved_token_stays_home, server_setup, server_teardown),
		cmocka_unit_test(test_escapes_not_printed),
		cmocka_unit_test(test_create_with_purpose),
		cmocka_unit_test(test_response_size_limit),
		cmocka_unit_test_setup_teardown(test_cacert, tls_setup, tls_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
