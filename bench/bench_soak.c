/*
 * bench_soak.c - the crash soak and the load soak of a real server.
 *
 * crash: serves a data directory with `steward serve`, drives it from
 * several threads with mixed load — record reads, record creates and
 * updates, administrative acts (user creation, training, relationship,
 * suspension) — and SIGKILLs it after a random delay; runs `steward audit
 * verify` on what the kill left; serves the same directory again and checks
 * against what the threads were answered:
 *   - every answered read (200) has its record.read event, at the sequence
 *     number the answer named (audit_seq), for that record, carrying the
 *     answer's X-Request-Id;
 *   - every acknowledged create (201) and update (200) has its event (by
 *     request id), and the record reads back, over the API, at least at the
 *     acknowledged version, with exactly the content written for each
 *     version (a write in flight at the kill may be there or not, whole);
 *   - every acknowledged administrative act has its event and its effect
 *     (the account, its role and its suspension read back over the API; the
 *     training and the relationship rows);
 *   - nothing is half-applied: every record row has its record.create event,
 *     at least current_version - 1 record.update events and exactly its
 *     versions 1..current_version; every account, suspension, training and
 *     relationship row has its event (events of changes the kill undid may
 *     stay; the reverse may not);
 *   - the log is gapless; every answer read during the load matched the
 *     content written for the version it named.
 * Then the next round. At the end a full check of every record, a clean
 * stop (SIGTERM, exit 0) and a last verify, which must find every event
 * signed and none left only in the journal.
 *
 * load: the same mixed load at full rate against one server for --seconds;
 * every answer must be the expected status (any other, and any connection
 * error, is an error); the same checks at the end, and the clean stop. The
 * server's VmRSS (/proc/PID/status) is read ten times in every interval of
 * --every seconds; each interval's least reading is its floor (creating an
 * account hashes a password with Argon2id, 64 MiB mapped for the hash and
 * unmapped after it, so single readings swing by that much). Bound: the
 * median floor of the last fifth of the run is at most --growth percent
 * (10) above the median floor of the fifth right after the warm-up (the
 * first --warmup percent, 30: the database caches, 16 MB a connection,
 * fill meanwhile).
 *
 * The oracle is what the server answered and what the threads wrote: each
 * record is written by one thread only, so its next version number and
 * content are known before the update is sent.
 *
 * usage: bench_soak crash --steward BIN --dir DIR [--rounds N] [--min-ms A]
 *                   [--max-ms B] [--readers R] [--writers W] [--admins 0|1]
 *                   [--pause-us U] [--sample K] [--seed S] [--between CMD]
 *        bench_soak load --steward BIN --dir DIR [--seconds N] [--every S]
 *                   [--warmup PCT] [--growth PCT] [--readers R] [--writers W]
 *                   [--admins 0|1] [--pause-us U] [--seed S]
 * Defaults: crash 20 rounds, the kill 20-1000 ms into the load, 3 readers
 * pausing 5 ms after each read (the log, which every round verifies whole,
 * grows by some 300 events a round), 2 writers, 1 administrator, 20 more
 * records sampled a round; load 600 s, 8 readers without pause, 2 writers,
 * 1 administrator, intervals of 5 s. DIR must not exist or be empty; the
 * data directory is DIR/data, the server's output DIR/server.log. --between
 * CMD runs CMD with /bin/sh after each kill, before the verify and the
 * restart, with $SOAK_DATA set (to show that the checks find a tampered
 * directory). Exits 0 when every check held, 1 otherwise (naming the first
 * failures), 2 on a usage error.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audit/audit.h"
#include "crypto/crypto.h"
#include "steward/access.h"
#include "steward/auth.h"
#include "steward/steward.h"
#include "common/base.h"

static const char PASSWORD[] = "soak harbor lantern 73";
static const char SCHOOL[] = "soak-school";
enum { SUBJECTS = 16, MAX_FAILURES_SHOWN = 25 };

/* --- options ---------------------------------------------------------------- */

static struct {
	bool crash;
	const char *steward, *dir, *between;
	long rounds, min_ms, max_ms, seconds, every, readers, writers, admins, sample, pause_us;
	double warmup, growth;
	uint64_t seed;
} opt = {.rounds = 20, .min_ms = 20,     .max_ms = 1000, .seconds = 600,
	 .every = 5,   .readers = -1,    .writers = -1,  .admins = 1,
	 .sample = 20, .pause_us = -1,   .warmup = 30,   .growth = 10};

static _Noreturn void usage(void)
{
	fprintf(stderr,
		"usage: bench_soak crash --steward BIN --dir DIR [--rounds N] [--min-ms A] "
		"[--max-ms B]\n"
		"                  [--readers R] [--writers W] [--admins 0|1] [--pause-us U] "
		"[--sample K]\n"
		"                  [--seed S] [--between CMD]\n"
		"       bench_soak load --steward BIN --dir DIR [--seconds N] [--every S] "
		"[--warmup PCT]\n"
		"                  [--growth PCT] [--readers R] [--writers W] [--admins 0|1] "
		"[--pause-us U] [--seed S]\n");
	exit(2);
}

static long opt_long(const char *name, const char *v, long lo, long hi)
{
	int64_t n = 0;
	if (!str_to_i64(v, &n) || n < lo || n > hi) {
		fprintf(stderr, "bench_soak: --%s must be a whole number from %ld to %ld\n", name, lo,
			hi);
		exit(2);
	}
	return (long)n;
}

static void parse_options(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (str_eq(argv[1], "crash"))
		opt.crash = true;
	else if (!str_eq(argv[1], "load"))
		usage();
	for (int i = 2; i < argc; i += 2) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v || !str_has_prefix(k, "--"))
			usage();
		k += 2;
		if (str_eq(k, "steward"))
			opt.steward = v;
		else if (str_eq(k, "dir"))
			opt.dir = v;
		else if (str_eq(k, "between"))
			opt.between = v;
		else if (str_eq(k, "rounds"))
			opt.rounds = opt_long(k, v, 1, 1000000);
		else if (str_eq(k, "min-ms"))
			opt.min_ms = opt_long(k, v, 0, 3600000);
		else if (str_eq(k, "max-ms"))
			opt.max_ms = opt_long(k, v, 0, 3600000);
		else if (str_eq(k, "seconds"))
			opt.seconds = opt_long(k, v, 1, 7 * 86400);
		else if (str_eq(k, "every"))
			opt.every = opt_long(k, v, 1, 3600);
		else if (str_eq(k, "readers"))
			opt.readers = opt_long(k, v, 0, 64);
		else if (str_eq(k, "writers"))
			opt.writers = opt_long(k, v, 1, 64);
		else if (str_eq(k, "pause-us"))
			opt.pause_us = opt_long(k, v, 0, 10000000);
		else if (str_eq(k, "admins"))
			opt.admins = opt_long(k, v, 0, 1);
		else if (str_eq(k, "sample"))
			opt.sample = opt_long(k, v, 0, 1000000);
		else if (str_eq(k, "warmup"))
			opt.warmup = (double)opt_long(k, v, 0, 90);
		else if (str_eq(k, "growth"))
			opt.growth = (double)opt_long(k, v, 0, 100000);
		else if (str_eq(k, "seed"))
			opt.seed = (uint64_t)opt_long(k, v, 0, INT64_MAX);
		else
			usage();
	}
	if (!opt.steward || !opt.dir || opt.min_ms > opt.max_ms)
		usage();
	if (opt.readers < 0)
		opt.readers = opt.crash ? 3 : 8;
	if (opt.writers < 0)
		opt.writers = 2;
	if (opt.pause_us < 0)
		opt.pause_us = opt.crash ? 5000 : 0;
	if (!opt.seed)
		opt.seed = (uint64_t)time_now_us();
}

/* --- small things ------------------------------------------------------------- */

static uint64_t rnd_next(uint64_t *s)
{
	/* splitmix64: reproducible from --seed, one state per thread */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;
static long failures;

/* Records a failed check (the first ones are shown). Thread-safe. */
static void failure(const char *fmt, ...) ST_PRINTF(1, 2);
static void failure(const char *fmt, ...)
{
	pthread_mutex_lock(&fail_lock);
	if (++failures <= MAX_FAILURES_SHOWN) {
		va_list ap;
		va_start(ap, fmt);
		fputs("FAIL: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		va_end(ap);
	}
	pthread_mutex_unlock(&fail_lock);
}

static long failure_count(void)
{
	pthread_mutex_lock(&fail_lock);
	long n = failures;
	pthread_mutex_unlock(&fail_lock);
	return n;
}

static const char *day(int days_from_now, char out[16])
{
	time_format_date(time_now() + (int64_t)days_from_now * 86400, out);
	return out;
}

/* --- the server ------------------------------------------------------------------ */

static char *data_dir, *port_path, *log_path;
static pid_t server = -1;
static char base_url[64];
/* set before the SIGKILL is sent: a request that fails after it is
 * unacknowledged, one that fails before it is a failure */
static atomic_bool kill_sent;
static double restart_total, restart_max;
static long restarts;

static void server_start(void)
{
	unlink(port_path);
	double t0 = now_s();
	pid_t p = fork();
	if (p < 0)
		die("fork: %s", strerror(errno));
	if (p == 0) {
		int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		const char *argv[] = {opt.steward, "serve",       "--data",       data_dir,
				      "--listen",  "127.0.0.1:0", "--port-file",  port_path,
				      "--per-address", "256",     NULL};
		execv(opt.steward, (char *const *)argv);
		_exit(127);
	}
	server = p;
	atomic_store(&kill_sent, false);
	for (int i = 0; i < 6000; i++) {
		int status = 0;
		if (waitpid(p, &status, WNOHANG) == p) {
			server = -1;
			failure("the server exited while starting (status %d); see %s", status,
				log_path);
			return;
		}
		char *text = NULL;
		size_t len = 0;
		if (file_exists(port_path) &&
		    file_read_all(port_path, 64, &text, &len, NULL) == ST_OK) {
			int port = atoi(text);
			free(text);
			if (port > 0) {
				snprintf(base_url, sizeof(base_url), "http://127.0.0.1:%d", port);
				double took = now_s() - t0;
				restart_total += took;
				restart_max = took > restart_max ? took : restart_max;
				restarts++;
				return;
			}
		}
		usleep(20000);
	}
	failure("the server did not start within 120 s; see %s", log_path);
}

static void server_kill(void)
{
	atomic_store(&kill_sent, true);
	kill(server, SIGKILL);
	waitpid(server, NULL, 0);
	server = -1;
}

/* SIGTERM, and the exit status (killed after 60 s). */
static int server_stop(void)
{
	int status = -1;
	kill(server, SIGTERM);
	pid_t r = 0;
	for (int i = 0; i < 600 && (r = waitpid(server, &status, WNOHANG)) == 0; i++)
		usleep(100000);
	if (r == 0) {
		failure("the server did not stop within 60 s of SIGTERM: killed");
		kill(server, SIGKILL);
		waitpid(server, &status, 0);
	}
	server = -1;
	return status;
}

/* Runs a program with its output into out_path; returns its wait status. */
static int run_program(const char *const argv[], const char *out_path, const char *env)
{
	pid_t p = fork();
	if (p < 0)
		die("fork: %s", strerror(errno));
	if (p == 0) {
		int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		if (env)
			putenv((char *)env);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	int status = -1;
	waitpid(p, &status, 0);
	return status;
}

static double verify_total, verify_max;
static long verifies;

/* `steward audit verify --data DIR`; returns the entries verified (-1 after
 * a failure, which is recorded). *settled: every entry signed, none left
 * only in the journal. */
static int64_t log_verify(bool *settled)
{
	char *out = xasprintf("%s/verify.out", opt.dir);
	const char *argv[] = {opt.steward, "audit", "verify", "--data", data_dir, NULL};
	double t0 = now_s();
	int status = run_program(argv, out, NULL);
	double took = now_s() - t0;
	verify_total += took;
	verify_max = took > verify_max ? took : verify_max;
	verifies++;
	char *text = NULL;
	size_t len = 0;
	if (file_read_all(out, 1 << 20, &text, &len, NULL) != ST_OK)
		text = xstrdup("(no output)");
	unsigned long long n = 0;
	int64_t entries = -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		failure("steward audit verify failed (status %d): %s", status, text);
	else if (sscanf(text, "access log verified: %llu entries", &n) != 1)
		failure("steward audit verify said: %s", text);
	else
		entries = (int64_t)n;
	if (settled)
		*settled = !strstr(text, "await the next checkpoint") &&
			   !strstr(text, "only in the journal");
	free(text);
	free(out);
	return entries;
}

/* --- HTTP -------------------------------------------------------------------------- */

struct resp {
	long status;
	bool answered; /* a whole answer arrived */
	char rid[40];  /* its X-Request-Id */
	json_t *json;
	char err[CURL_ERROR_SIZE];
};

static size_t on_body(char *d, size_t s, size_t n, void *ctx)
{
	buf_append(ctx, d, s * n);
	return s * n;
}

static size_t on_header(char *d, size_t s, size_t n, void *ctx)
{
	struct resp *r = ctx;
	size_t len = s * n;
	static const char name[] = "X-Request-Id:";
	size_t nl = sizeof(name) - 1;
	if (len > nl && !strncasecmp(d, name, nl)) {
		const char *v = d + nl;
		size_t vl = len - nl;
		while (vl && *v == ' ')
			v++, vl--;
		while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
			vl--;
		if (vl < sizeof(r->rid)) {
			memcpy(r->rid, v, vl);
			r->rid[vl] = '\0';
		}
	}
	return len;
}

/* One request on the thread's handle (connections are kept alive). */
static void http(CURL *c, const char *method, const char *path, const char *token,
		 const char *body, struct resp *r)
{
	memset(r, 0, sizeof(*r));
	char url[512], auth[256];
	snprintf(url, sizeof(url), "%s%s", base_url, path);
	struct curl_slist *h = NULL;
	if (token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		h = curl_slist_append(h, auth);
	}
	if (body)
		h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "Expect:");
	struct buf out = BUF_INIT;
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->err);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	CURLcode cc = curl_easy_perform(c);
	r->answered = cc == CURLE_OK;
	if (!r->answered && !r->err[0])
		snprintf(r->err, sizeof(r->err), "%s", curl_easy_strerror(cc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->answered && out.len)
		r->json = json_loadb(out.data, out.len, 0, NULL);
	buf_release(&out);
	curl_slist_free_all(h);
}

/* A request that must succeed with status want (the setup, the checks):
 * returns the answer's JSON (caller decrefs), or NULL after recording a
 * failure (or dying, when fatal). */
static json_t *call(CURL *c, const char *method, const char *path, const char *token,
		    const char *body, long want, bool fatal)
{
	struct resp r;
	http(c, method, path, token, body, &r);
	if (r.answered && r.status == want) {
		if (!r.json)
			r.json = json_object();
		return r.json;
	}
	char *dump = r.json ? json_dumps(r.json, JSON_COMPACT) : xstrdup(r.err);
	if (fatal)
		die("%s %s: %ld %s", method, path, r.status, dump);
	failure("%s %s: wanted %ld, got %ld %s", method, path, want, r.status, dump);
	free(dump);
	json_decref(r.json);
	return NULL;
}

static int64_t json_int_of(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

/* --- setup ------------------------------------------------------------------------ */

static char admin_token[160], teacher_token[160];
/* the first administrator's one-time multi-factor enrolment code, issued
 * locally as `steward init` does */
static char admin_code[AUTH_ENROLL_CODE_MAX];
static int64_t subjects[SUBJECTS];
static int64_t admin_user_id;

static void setup_datadir(void)
{
	struct st_error e = {0};
	struct steward_init_options io = {.dir = data_dir, .admin_username = "admin",
					  .admin_password = PASSWORD};
	if (steward_init(&io, &e) != ST_OK)
		die("init: %s", e.message);
	struct steward_options o = {.dir = data_dir};
	struct steward *st = NULL;
	if (steward_open(&o, &st, &e) != ST_OK)
		die("open: %s", e.message);
	/* the first administrator's annual training, attested locally by the
	 * district: nobody records their own */
	struct actor sys = {.user_id = 0, .via = "cli"};
	int64_t t = 0;
	if (user_find(st, "admin", &admin_user_id, &e) != ST_OK ||
	    training_record(st, &sys, admin_user_id, "student-records-confidentiality",
			    time_now() - 30 * 86400, &t, &e) != ST_OK)
		die("training: %s", e.message);
	int64_t until = 0;
	if (auth_enrollment_code_issue(st, &sys, admin_user_id, admin_code, &until, &e) != ST_OK)
		die("enrolment code: %s", e.message);
	steward_close(st);
}

/* Signs in (enrolling in multi-factor when asked) and makes an API token. */
static void sign_in(CURL *c, const char *user, const char *scopes, char token[160])
{
	char body[512], d[16];
	snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"%s\"}", user, PASSWORD);
	json_t *o = call(c, "POST", "/api/v1/sessions", NULL, body, 201, true);
	char *session = xstrdup(json_string_value(json_object_get(o, "token")));
	bool enrol = json_is_true(json_object_get(o, "mfa_enrollment_required"));
	json_decref(o);
	if (enrol) {
		if (!str_eq(user, "admin"))
			die("%s was asked to set up multi-factor, and has no enrolment code", user);
		snprintf(body, sizeof(body), "{\"enrollment_code\":\"%s\"}", admin_code);
		o = call(c, "POST", "/api/v1/mfa/totp", session, body, 201, true);
		unsigned char secret[20];
		size_t n = 0;
		if (base32_decode(json_string_value(json_object_get(o, "secret")), secret,
				  sizeof(secret), &n) != ST_OK || n != sizeof(secret))
			die("the authenticator secret is not 20 bytes of base32");
		json_decref(o);
		snprintf(body, sizeof(body), "{\"code\":\"%06u\"}",
			 hotp(secret, sizeof(secret), (uint64_t)time_now() / 30));
		json_decref(call(c, "POST", "/api/v1/mfa/totp/confirm", session, body, 200, true));
	}
	snprintf(body, sizeof(body), "{\"name\":\"soak\",\"scopes\":[%s],\"expires\":\"%s\"}",
		 scopes, day(60, d));
	o = call(c, "POST", "/api/v1/tokens", session, body, 201, true);
	if (str_copy(token, 160, json_string_value(json_object_get(o, "token"))) != ST_OK)
		die("a token longer than expected");
	json_decref(o);
	free(session);
}

static int64_t create(CURL *c, const char *path, const char *body)
{
	json_t *o = call(c, "POST", path, admin_token, body, 201, true);
	int64_t id = json_int_of(o, "id");
	json_decref(o);
	return id;
}

/* An organization, a teacher with current training who teaches SUBJECTS
 * students, and API tokens for the administrator and the teacher. */
static void setup_people(CURL *c)
{
	sign_in(c, "admin", "\"records:read\",\"records:write\",\"subjects\",\"people\",\"policy\","
			   "\"audit\"",
		admin_token);
	char body[512], d[16];
	snprintf(body, sizeof(body), "{\"code\":\"%s\",\"name\":\"Soak School\",\"kind\":\"school\"}",
		 SCHOOL);
	create(c, "/api/v1/organizations", body);
	snprintf(body, sizeof(body),
		 "{\"username\":\"teacher\",\"password\":\"%s\",\"must_change_password\":false,"
		 "\"display_name\":\"Soak Teacher\",\"roles\":[\"teacher\"],\"organization\":\"%s\"}",
		 PASSWORD, SCHOOL);
	int64_t teacher = create(c, "/api/v1/users", body);
	snprintf(body, sizeof(body),
		 "{\"user\":%lld,\"course\":\"student-records-confidentiality\","
		 "\"completed_on\":\"%s\"}",
		 (long long)teacher, day(-20, d));
	create(c, "/api/v1/training/completions", body);
	for (int i = 0; i < SUBJECTS; i++) {
		snprintf(body, sizeof(body),
			 "{\"kind\":\"student\",\"external_id\":\"SOAK-%d\",\"given_name\":\"Pat\","
			 "\"family_name\":\"Soak %d\",\"organization\":\"%s\"}",
			 i, i, SCHOOL);
		subjects[i] = create(c, "/api/v1/subjects", body);
		snprintf(body, sizeof(body), "{\"user\":%lld,\"subject\":%lld,\"kind\":\"teacher_of\"}",
			 (long long)teacher, (long long)subjects[i]);
		create(c, "/api/v1/relationships", body);
	}
	sign_in(c, "teacher", "\"records:read\",\"records:write\"", teacher_token);
}

/* --- the oracle --------------------------------------------------------------------- */

/* A record as the soak wrote it. Versions up to acked are acknowledged (or
 * found after a restart); version acked + 1 is known while an update is in
 * flight; content[v - 1] is version v's fields, canonical JSON. */
struct record {
	int owner;
	int acked, known, cap;
	char **content;
	bool touched; /* written this round: checked after the restart */
};

enum claim_kind { C_READ, C_CREATE, C_UPDATE, C_USER, C_TRAINING, C_RELATIONSHIP, C_SUSPENSION };
static const char *const claim_action[] = {"record.read",  "record.create",
					   "record.update", "user.create",
					   "training.record", "relationship.create",
					   "suspension.create"};

/* An acknowledged request whose event and effect are checked. */
struct claim {
	unsigned char rid[12];
	unsigned char kind;
	bool found;
	int version;
	int64_t seq;	    /* reads: the audit_seq answered */
	int64_t id;	    /* the record, or the new row */
	int64_t user, subject;
	char *text; /* the username of an account, the reason of a suspension */
};

static pthread_mutex_t olock = PTHREAD_MUTEX_INITIALIZER;
static struct record **recs; /* by record id */
static int64_t recs_cap;
static int64_t *readable; /* records whose creation was acknowledged */
static size_t nreadable, readable_cap;
static struct claim *claims;
static size_t nclaims, claims_cap;
static int64_t *touched;
static size_t ntouched, touched_cap;

static struct {
	long reads, creates, updates, admin, lost, adopted_creates, adopted_updates;
} stats;

/* Under olock. */
static struct record *rec_get(int64_t id)
{
	return id > 0 && id < recs_cap ? recs[id] : NULL;
}

/* Under olock: a record whose version 1 is canon (taken). */
static struct record *rec_add(int64_t id, int owner, char *canon)
{
	if (id <= 0)
		die("record id %lld", (long long)id);
	if (id >= recs_cap) {
		int64_t n = recs_cap ? recs_cap : 1024;
		while (n <= id)
			n *= 2;
		recs = xrealloc(recs, (size_t)n * sizeof(*recs));
		memset(recs + recs_cap, 0, (size_t)(n - recs_cap) * sizeof(*recs));
		recs_cap = n;
	}
	struct record *r = xcalloc(1, sizeof(*r));
	r->owner = owner;
	r->cap = 4;
	r->content = xcalloc((size_t)r->cap, sizeof(char *));
	r->content[0] = canon;
	r->acked = r->known = 1;
	recs[id] = r;
	if (nreadable == readable_cap) {
		readable_cap = readable_cap ? 2 * readable_cap : 1024;
		readable = xrealloc(readable, readable_cap * sizeof(*readable));
	}
	readable[nreadable++] = id;
	return r;
}

/* Under olock: version v of r is canon (taken); forgets versions after it. */
static void rec_set(struct record *r, int v, char *canon)
{
	while (r->known >= v)
		free(r->content[--r->known]);
	if (v > r->cap) {
		r->cap *= 2;
		r->content = xrealloc(r->content, (size_t)r->cap * sizeof(char *));
	}
	r->content[v - 1] = canon;
	r->known = v;
}

/* Under olock: keeps versions 1..v only. */
static void rec_truncate(struct record *r, int v)
{
	while (r->known > v)
		free(r->content[--r->known]);
}

static void rec_touch(int64_t id)
{
	struct record *r = rec_get(id);
	if (!r || r->touched)
		return;
	r->touched = true;
	if (ntouched == touched_cap) {
		touched_cap = touched_cap ? 2 * touched_cap : 256;
		touched = xrealloc(touched, touched_cap * sizeof(*touched));
	}
	touched[ntouched++] = id;
}

/* Under olock: a new claim for the answer r (NULL when it had no request id,
 * which is recorded as a failure). */
static struct claim *claim_add(const struct resp *r, enum claim_kind kind)
{
	unsigned char rid[12];
	if (strlen(r->rid) != 24 || hex_decode(r->rid, rid, sizeof(rid)) != ST_OK) {
		failure("an answer (%s) without a request id (\"%s\")", claim_action[kind], r->rid);
		return NULL;
	}
	if (nclaims == claims_cap) {
		claims_cap = claims_cap ? 2 * claims_cap : 4096;
		claims = xrealloc(claims, claims_cap * sizeof(*claims));
	}
	struct claim *c = &claims[nclaims++];
	memset(c, 0, sizeof(*c));
	memcpy(c->rid, rid, sizeof(rid));
	c->kind = (unsigned char)kind;
	c->seq = -1;
	return c;
}

static void claims_clear(void)
{
	for (size_t i = 0; i < nclaims; i++)
		free(claims[i].text);
	nclaims = 0;
}

/* --- the load ---------------------------------------------------------------------- */

enum { RUNNING, STOPPING };
static atomic_int phase;
static atomic_long requests, errors;

enum pending_kind { P_NONE, P_CREATE, P_UPDATE };
struct worker {
	int idx;
	enum { READER, WRITER, ADMIN } role;
	pthread_t th;
	uint64_t rng;
	long seq;
	int64_t *own; /* a writer's records */
	size_t nown, own_cap;
	struct {
		enum pending_kind kind;
		int64_t record;
		char *canon; /* a create's fields */
	} pending;
	int step; /* an administrator's place in its cycle */
	int64_t user;
};

/* A request that got no whole answer: unacknowledged once the kill was
 * sent (returns true: stop); before it, a failure. */
static bool lost(const struct resp *r, const char *what)
{
	if (atomic_load(&kill_sent)) {
		pthread_mutex_lock(&olock);
		stats.lost++;
		pthread_mutex_unlock(&olock);
		return true;
	}
	atomic_fetch_add(&errors, 1);
	failure("%s: no answer while the server was running (%s)", what, r->err);
	return false;
}

static void unexpected(const struct resp *r, const char *what, long want)
{
	atomic_fetch_add(&errors, 1);
	char *dump = r->json ? json_dumps(r->json, JSON_COMPACT) : xstrdup("");
	failure("%s: wanted %ld, got %ld %s", what, want, r->status, dump);
	free(dump);
}

static void own_add(struct worker *w, int64_t id)
{
	if (w->nown == w->own_cap) {
		w->own_cap = w->own_cap ? 2 * w->own_cap : 64;
		w->own = xrealloc(w->own, w->own_cap * sizeof(*w->own));
	}
	w->own[w->nown++] = id;
}

static const char *const grades[] = {"A", "A-", "B+", "B", "B-", "C+", "C", "D", "F", "I"};
static const char *const courses[] = {"Algebra I", "Biology", "English 9", "World History",
				      "Chemistry", "Spanish II"};

/* Returns false when the server is gone. */
static bool writer_op(struct worker *w, CURL *c)
{
	char tag[64], what[160];
	snprintf(tag, sizeof(tag), "soak %llx w%d.%ld", (unsigned long long)opt.seed, w->idx,
		 w->seq++);
	struct resp r;
	if (w->nown == 0 || rnd_next(&w->rng) % 100 < 25) {
		int64_t subject = subjects[rnd_next(&w->rng) % SUBJECTS];
		json_t *fields = json_pack("{s:s, s:s, s:s, s:s}", "course",
					   courses[rnd_next(&w->rng) % ARRAY_LEN(courses)], "term",
					   "2026-fall", "grade",
					   grades[rnd_next(&w->rng) % ARRAY_LEN(grades)], "comments", tag);
		json_t *b = json_pack("{s:I, s:s, s:O, s:s}", "subject", (json_int_t)subject,
				      "category", "academic", "fields", fields, "purpose", "soak");
		char *body = json_dumps(b, JSON_COMPACT);
		w->pending.kind = P_CREATE;
		w->pending.canon = json_canonical(fields);
		json_decref(b);
		json_decref(fields);
		http(c, "POST", "/api/v1/records", teacher_token, body, &r);
		free(body);
		atomic_fetch_add(&requests, 1);
		snprintf(what, sizeof(what), "POST /api/v1/records (%s)", tag);
		if (!r.answered && lost(&r, what))
			return false; /* in flight at the kill: looked for after the restart */
		if (!r.answered) {
			free(w->pending.canon);
			w->pending.kind = P_NONE;
			w->pending.canon = NULL;
			return true;
		}
		int64_t id = json_int_of(r.json, "id");
		if (r.status != 201 || id <= 0) {
			unexpected(&r, what, 201);
			free(w->pending.canon);
		} else {
			pthread_mutex_lock(&olock);
			if (rec_get(id))
				failure("%s: record %lld was answered twice", what, (long long)id);
			else
				rec_add(id, w->idx, w->pending.canon);
			rec_touch(id);
			struct claim *cl = claim_add(&r, C_CREATE);
			if (cl)
				cl->id = id, cl->version = 1;
			stats.creates++;
			pthread_mutex_unlock(&olock);
			own_add(w, id);
		}
		w->pending.kind = P_NONE;
		w->pending.canon = NULL;
		json_decref(r.json);
		return true;
	}
	int64_t id = w->own[rnd_next(&w->rng) % w->nown];
	json_t *change = json_pack("{s:s, s:s, s:I}", "grade",
				   grades[rnd_next(&w->rng) % ARRAY_LEN(grades)], "comments", tag,
				   "assessment_score", (json_int_t)(rnd_next(&w->rng) % 1000));
	if (rnd_next(&w->rng) % 4 == 0)
		json_object_set_new(change, "term", json_null()); /* a field removed */
	pthread_mutex_lock(&olock);
	struct record *rec = rec_get(id);
	json_t *merged = json_loads(rec->content[rec->acked - 1], 0, NULL);
	const char *k;
	json_t *v;
	json_object_foreach(change, k, v) {
		if (json_is_null(v))
			json_object_del(merged, k);
		else
			json_object_set(merged, k, v);
	}
	int version = rec->acked + 1;
	rec_set(rec, version, json_canonical(merged));
	rec_touch(id);
	pthread_mutex_unlock(&olock);
	json_decref(merged);
	json_t *b = json_pack("{s:O, s:s}", "fields", change, "purpose", "soak");
	char *body = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	json_decref(change);
	char path[64];
	snprintf(path, sizeof(path), "/api/v1/records/%lld", (long long)id);
	w->pending.kind = P_UPDATE;
	w->pending.record = id;
	http(c, "PATCH", path, teacher_token, body, &r);
	free(body);
	atomic_fetch_add(&requests, 1);
	snprintf(what, sizeof(what), "PATCH %s (%s)", path, tag);
	if (!r.answered && lost(&r, what))
		return false;
	if (!r.answered) {
		w->pending.kind = P_NONE;
		return true;
	}
	if (r.status != 200 || json_int_of(r.json, "version") != version) {
		unexpected(&r, what, 200);
		if (r.status == 200)
			failure("%s: answered version %lld, the next is %d", what,
				(long long)json_int_of(r.json, "version"), version);
	} else {
		pthread_mutex_lock(&olock);
		rec->acked = version;
		struct claim *cl = claim_add(&r, C_UPDATE);
		if (cl)
			cl->id = id, cl->version = version;
		stats.updates++;
		pthread_mutex_unlock(&olock);
	}
	w->pending.kind = P_NONE;
	json_decref(r.json);
	return true;
}

static bool reader_op(struct worker *w, CURL *c)
{
	pthread_mutex_lock(&olock);
	int64_t id = nreadable ? readable[rnd_next(&w->rng) % nreadable] : 0;
	pthread_mutex_unlock(&olock);
	if (!id) {
		usleep(1000);
		return true;
	}
	char path[96];
	snprintf(path, sizeof(path), "/api/v1/records/%lld?purpose=soak", (long long)id);
	struct resp r;
	http(c, "GET", path, teacher_token, NULL, &r);
	atomic_fetch_add(&requests, 1);
	if (!r.answered)
		return !lost(&r, path);
	int64_t version = json_int_of(r.json, "version"), seq = json_int_of(r.json, "audit_seq");
	json_t *fields = json_object_get(r.json, "fields");
	if (r.status != 200 || !json_is_object(fields) || seq < 0 ||
	    json_int_of(r.json, "id") != id) {
		unexpected(&r, path, 200);
		json_decref(r.json);
		return true;
	}
	char *canon = json_canonical(fields);
	pthread_mutex_lock(&olock);
	struct record *rec = rec_get(id);
	if (version < 1 || version > rec->known)
		failure("GET %s answered version %lld, which nobody wrote (%d known)", path,
			(long long)version, rec->known);
	else if (!str_eq(canon, rec->content[version - 1]))
		failure("GET %s answered version %lld as %s; it was written as %s", path,
			(long long)version, canon, rec->content[version - 1]);
	struct claim *cl = claim_add(&r, C_READ);
	if (cl)
		cl->id = id, cl->seq = seq, cl->version = (int)version;
	stats.reads++;
	pthread_mutex_unlock(&olock);
	free(canon);
	json_decref(r.json);
	if (opt.pause_us)
		usleep((useconds_t)opt.pause_us);
	return true;
}

/* One act of the administrator's cycle: a new account (a teacher), its
 * training, a relationship, a suspension. */
static bool admin_op(struct worker *w, CURL *c)
{
	char body[512], path[96], d[16], text[96];
	static const char *const what[] = {"POST /api/v1/users", "POST /api/v1/training/completions",
					   "POST /api/v1/relationships", "POST suspensions"};
	int step = w->step;
	int64_t subject = subjects[rnd_next(&w->rng) % SUBJECTS];
	snprintf(path, sizeof(path), "%s",
		 step == 0 ? "/api/v1/users"
		 : step == 1 ? "/api/v1/training/completions"
		 : step == 2 ? "/api/v1/relationships" : "");
	if (step == 0) {
		snprintf(text, sizeof(text), "soak.%llx.%ld", (unsigned long long)opt.seed, w->seq++);
		snprintf(body, sizeof(body),
			 "{\"username\":\"%s\",\"password\":\"%s\",\"must_change_password\":false,"
			 "\"display_name\":\"Soak %ld\",\"roles\":[\"teacher\"],"
			 "\"organization\":\"%s\"}",
			 text, PASSWORD, w->seq, SCHOOL);
	} else if (step == 1) {
		snprintf(body, sizeof(body),
			 "{\"user\":%lld,\"course\":\"student-records-confidentiality\","
			 "\"completed_on\":\"%s\"}",
			 (long long)w->user, day(-10, d));
	} else if (step == 2) {
		snprintf(body, sizeof(body), "{\"user\":%lld,\"subject\":%lld,\"kind\":\"teacher_of\"}",
			 (long long)w->user, (long long)subject);
	} else {
		snprintf(path, sizeof(path), "/api/v1/users/%lld/suspensions", (long long)w->user);
		snprintf(text, sizeof(text), "soak %llx suspension %ld", (unsigned long long)opt.seed,
			 w->seq++);
		snprintf(body, sizeof(body),
			 "{\"kind\":\"temporary\",\"until\":\"%s\",\"reason\":\"%s\"}", day(30, d),
			 text);
	}
	struct resp r;
	http(c, "POST", path, admin_token, body, &r);
	atomic_fetch_add(&requests, 1);
	if (!r.answered)
		return !lost(&r, what[step]);
	int64_t id = json_int_of(r.json, "id");
	if (r.status != 201 || id <= 0) {
		unexpected(&r, what[step], 201);
		w->step = 0;
	} else {
		pthread_mutex_lock(&olock);
		static const enum claim_kind kinds[] = {C_USER, C_TRAINING, C_RELATIONSHIP,
							C_SUSPENSION};
		struct claim *cl = claim_add(&r, kinds[step]);
		if (cl) {
			cl->id = id;
			cl->user = step == 0 ? id : w->user;
			cl->subject = step == 2 ? subject : 0;
			cl->text = step == 0 || step == 3 ? xstrdup(text) : NULL;
		}
		stats.admin++;
		pthread_mutex_unlock(&olock);
		if (step == 0)
			w->user = id;
		w->step = (step + 1) % 4;
	}
	json_decref(r.json);
	return true;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	CURL *c = curl_easy_init();
	bool alive = true;
	while (alive && atomic_load(&phase) == RUNNING) {
		if (w->role == READER)
			alive = reader_op(w, c);
		else if (w->role == WRITER)
			alive = writer_op(w, c);
		else
			alive = admin_op(w, c);
	}
	curl_easy_cleanup(c);
	return NULL;
}

static struct worker *workers;
static int nworkers;

static void workers_init(void)
{
	nworkers = (int)(opt.readers + opt.writers + opt.admins);
	workers = xcalloc((size_t)nworkers, sizeof(*workers));
	uint64_t s = opt.seed;
	for (int i = 0; i < nworkers; i++) {
		workers[i].idx = i;
		workers[i].role = i < opt.writers ? WRITER : i < opt.writers + opt.readers ? READER
											: ADMIN;
		workers[i].rng = rnd_next(&s);
	}
}

static void workers_start(void)
{
	atomic_store(&phase, RUNNING);
	for (int i = 0; i < nworkers; i++) {
		workers[i].step = 0;
		if (pthread_create(&workers[i].th, NULL, worker_main, &workers[i]) != 0)
			die("pthread_create");
	}
}

static void workers_join(void)
{
	atomic_store(&phase, STOPPING);
	for (int i = 0; i < nworkers; i++)
		pthread_join(workers[i].th, NULL);
}

/* --- the checks ---------------------------------------------------------------------- */

static sqlite3 *db_open(const char *name)
{
	char *path = xasprintf("%s/%s", data_dir, name);
	sqlite3 *h = NULL;
	if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		die("%s: %s", path, sqlite3_errmsg(h));
	sqlite3_busy_timeout(h, 10000);
	free(path);
	return h;
}

static sqlite3_stmt *db_prepare(sqlite3 *h, const char *sql)
{
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(h, sql, -1, &s, NULL) != SQLITE_OK)
		die("%s: %s", sql, sqlite3_errmsg(h));
	return s;
}

/* The log's size once audit.db holds every event durable now (events
 * reach it from the journal just behind). */
static uint64_t log_settle(sqlite3 *h)
{
	char *path = xasprintf("%s/audit.db", data_dir);
	for (int tries = 0; tries < 6000; tries++) {
		sqlite3_stmt *s = db_prepare(h, "SELECT COALESCE(MAX(seq) + 1, 0) FROM audit_event");
		uint64_t size = sqlite3_step(s) == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(s, 0)
							       : 0;
		sqlite3_finalize(s);
		uint64_t end = size;
		struct st_error e = {0};
		if (audit_journal_end(path, size, &end, &e) != ST_OK)
			die("the access-log journal: %s", e.message);
		if (end <= size) {
			free(path);
			return size;
		}
		usleep(10000);
	}
	die("the access log database did not catch up with its journal");
}

/* Counts of allowed events kept over the whole run, against which the rows
 * are checked (a row without its event is a half-applied change). */
struct counts {
	int *v;
	int64_t cap;
};

static void count_add(struct counts *c, int64_t id)
{
	if (id < 0)
		return;
	if (id >= c->cap) {
		int64_t n = c->cap ? c->cap : 1024;
		while (n <= id)
			n *= 2;
		c->v = xrealloc(c->v, (size_t)n * sizeof(int));
		memset(c->v + c->cap, 0, (size_t)(n - c->cap) * sizeof(int));
		c->cap = n;
	}
	c->v[id]++;
}

static int count_of(const struct counts *c, int64_t id)
{
	return id >= 0 && id < c->cap ? c->v[id] : 0;
}

static struct counts ev_create, ev_update, ev_suspension, ev_training, ev_relationship;
static char **ev_usernames;
static size_t nev_usernames, ev_usernames_cap;
static uint64_t scanned; /* events scanned so far */

/* Claims by request id, for one scan. */
static size_t *claim_index;
static size_t claim_slots;

static uint64_t rid_hash(const unsigned char rid[12])
{
	uint64_t h;
	memcpy(&h, rid, sizeof(h));
	return h;
}

static void claims_index(void)
{
	claim_slots = 64;
	while (claim_slots < 2 * nclaims + 1)
		claim_slots *= 2;
	claim_index = xrealloc(claim_index, claim_slots * sizeof(size_t));
	for (size_t i = 0; i < claim_slots; i++)
		claim_index[i] = SIZE_MAX;
	for (size_t i = 0; i < nclaims; i++) {
		size_t k = rid_hash(claims[i].rid) & (claim_slots - 1);
		while (claim_index[k] != SIZE_MAX)
			k = (k + 1) & (claim_slots - 1);
		claim_index[k] = i;
	}
}

/* The claims whose request id is rid: *n of them from *first. Request ids
 * are random: at most one claim each, in practice. */
static struct claim *claim_find(const unsigned char rid[12])
{
	size_t k = rid_hash(rid) & (claim_slots - 1);
	while (claim_index[k] != SIZE_MAX) {
		struct claim *c = &claims[claim_index[k]];
		if (!memcmp(c->rid, rid, 12))
			return c;
		k = (k + 1) & (claim_slots - 1);
	}
	return NULL;
}

static int64_t detail_int(const json_t *entry, const char *key)
{
	return json_int_of(json_object_get(entry, "detail"), key);
}

/* Reads every event since the last scan: the log must be gapless; each
 * allowed change is counted; each event carrying a claimed request id is
 * matched against what was answered. */
static void scan_events(void)
{
	sqlite3 *h = db_open("audit.db");
	uint64_t end = log_settle(h);
	claims_index();
	sqlite3_stmt *s = db_prepare(h, "SELECT seq, entry FROM audit_event WHERE seq >= ? AND "
					"seq < ? ORDER BY seq");
	sqlite3_bind_int64(s, 1, (sqlite3_int64)scanned);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)end);
	uint64_t next = scanned;
	while (sqlite3_step(s) == SQLITE_ROW) {
		uint64_t seq = (uint64_t)sqlite3_column_int64(s, 0);
		if (seq != next) {
			failure("the log has no event %llu (next is %llu)", (unsigned long long)next,
				(unsigned long long)seq);
			next = seq;
		}
		next++;
		json_t *e = json_loadb(sqlite3_column_blob(s, 1), (size_t)sqlite3_column_bytes(s, 1), 0,
				       NULL);
		if (!e || json_int_of(e, "seq") != (int64_t)seq) {
			failure("event %llu is not an entry of its own sequence number",
				(unsigned long long)seq);
			json_decref(e);
			continue;
		}
		const char *action = json_string_value(json_object_get(e, "action"));
		const char *outcome = json_string_value(json_object_get(e, "outcome"));
		const char *request = json_string_value(json_object_get(e, "request"));
		int64_t record = json_int_of(e, "record");
		bool allow = str_eq(outcome, "allow");
		if (allow && str_eq(action, "record.create"))
			count_add(&ev_create, record);
		else if (allow && str_eq(action, "record.update"))
			count_add(&ev_update, record);
		else if (allow && str_eq(action, "suspension.create"))
			count_add(&ev_suspension, detail_int(e, "user"));
		else if (allow && str_eq(action, "training.record"))
			count_add(&ev_training, detail_int(e, "user"));
		else if (allow && str_eq(action, "relationship.create"))
			count_add(&ev_relationship, detail_int(e, "user"));
		else if (allow && str_eq(action, "user.create")) {
			const char *u = json_string_value(
				json_object_get(json_object_get(e, "detail"), "username"));
			if (nev_usernames == ev_usernames_cap) {
				ev_usernames_cap = ev_usernames_cap ? 2 * ev_usernames_cap : 256;
				ev_usernames = xrealloc(ev_usernames,
							ev_usernames_cap * sizeof(char *));
			}
			ev_usernames[nev_usernames++] = xstrdup(u ? u : "");
		}
		unsigned char rid[12];
		struct claim *c = NULL;
		if (request && strlen(request) == 24 && hex_decode(request, rid, sizeof(rid)) == ST_OK)
			c = claim_find(rid);
		if (c && str_eq(action, claim_action[c->kind])) {
			bool ok = allow;
			switch ((enum claim_kind)c->kind) {
			case C_READ:
				ok = ok && record == c->id && (int64_t)seq == c->seq;
				break;
			case C_CREATE:
			case C_UPDATE:
				ok = ok && record == c->id;
				break;
			case C_USER:
				ok = ok && str_eq(json_string_value(json_object_get(
							  json_object_get(e, "detail"), "username")),
						  c->text);
				break;
			case C_TRAINING:
			case C_SUSPENSION:
				ok = ok && detail_int(e, "user") == c->user;
				break;
			case C_RELATIONSHIP:
				ok = ok && detail_int(e, "user") == c->user &&
				     json_int_of(e, "subject") == c->subject;
				break;
			}
			if (!ok) {
				char *dump = json_dumps(e, JSON_COMPACT);
				failure("event %llu of request %s does not say what was answered "
					"(%s of %lld, seq %lld): %s",
					(unsigned long long)seq, request, claim_action[c->kind],
					(long long)c->id, (long long)c->seq, dump);
				free(dump);
			}
			c->found = true;
		}
		json_decref(e);
	}
	sqlite3_finalize(s);
	sqlite3_close(h);
	if (next != end)
		failure("the log ends at %llu, not %llu", (unsigned long long)next,
			(unsigned long long)end);
	scanned = end;
	for (size_t i = 0; i < nclaims; i++)
		if (!claims[i].found) {
			char rid[25];
			char *hex = hex_encode(claims[i].rid, 12);
			snprintf(rid, sizeof(rid), "%s", hex);
			free(hex);
			failure("acknowledged %s of %lld (request %s, seq %lld) has no event in the log",
				claim_action[claims[i].kind], (long long)claims[i].id, rid,
				(long long)claims[i].seq);
		}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every row of the main database has its event: records (with exactly
 * their versions), accounts, suspensions, trainings, relationships. New
 * record ids (not in the oracle) are returned for adoption. */
static int64_t *check_rows(size_t *nnew)
{
	sqlite3 *h = db_open("steward.db");
	sqlite3_exec(h, "BEGIN", NULL, NULL, NULL); /* one snapshot */
	sqlite3_stmt *s = db_prepare(
		h, "SELECT r.id, r.current_version, COUNT(v.version), COALESCE(MAX(v.version), 0), "
		   "COALESCE(MIN(v.version), 0) FROM record r LEFT JOIN record_version v ON "
		   "v.record_id = r.id GROUP BY r.id ORDER BY r.id");
	int64_t *fresh = NULL;
	size_t n = 0, cap = 0;
	while (sqlite3_step(s) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(s, 0), cv = sqlite3_column_int64(s, 1),
			count = sqlite3_column_int64(s, 2), max = sqlite3_column_int64(s, 3),
			min = sqlite3_column_int64(s, 4);
		if (count_of(&ev_create, id) < 1)
			failure("record %lld exists without its record.create event", (long long)id);
		if (count_of(&ev_update, id) < cv - 1)
			failure("record %lld is at version %lld with %d record.update events",
				(long long)id, (long long)cv, count_of(&ev_update, id));
		if (count != cv || max != cv || min != 1)
			failure("record %lld is at version %lld with %lld versions (%lld..%lld)",
				(long long)id, (long long)cv, (long long)count, (long long)min,
				(long long)max);
		pthread_mutex_lock(&olock);
		bool known = rec_get(id) != NULL;
		pthread_mutex_unlock(&olock);
		if (!known) {
			if (n == cap) {
				cap = cap ? 2 * cap : 16;
				fresh = xrealloc(fresh, cap * sizeof(*fresh));
			}
			fresh[n++] = id;
		}
	}
	sqlite3_finalize(s);
	/* accounts: by username against the user.create events */
	qsort(ev_usernames, nev_usernames, sizeof(char *), cmp_str);
	s = db_prepare(h, "SELECT id, username FROM app_user WHERE id <> ?");
	sqlite3_bind_int64(s, 1, admin_user_id);
	while (sqlite3_step(s) == SQLITE_ROW) {
		const char *u = (const char *)sqlite3_column_text(s, 1);
		if (!bsearch(&u, ev_usernames, nev_usernames, sizeof(char *), cmp_str))
			failure("account %lld (%s) exists without its user.create event",
				(long long)sqlite3_column_int64(s, 0), u);
	}
	sqlite3_finalize(s);
	static const struct {
		const char *table, *action;
		const struct counts *events;
	} per_user[] = {{"suspension", "suspension.create", &ev_suspension},
			{"training_completion", "training.record", &ev_training},
			{"relationship", "relationship.create", &ev_relationship}};
	for (size_t i = 0; i < ARRAY_LEN(per_user); i++) {
		char *sql = xasprintf("SELECT user_id, COUNT(*) FROM %s GROUP BY user_id",
				      per_user[i].table);
		s = db_prepare(h, sql);
		while (sqlite3_step(s) == SQLITE_ROW) {
			int64_t user = sqlite3_column_int64(s, 0), rows = sqlite3_column_int64(s, 1);
			if (count_of(per_user[i].events, user) < rows)
				failure("%lld %s rows of account %lld, %d %s events", (long long)rows,
					per_user[i].table, (long long)user,
					count_of(per_user[i].events, user), per_user[i].action);
		}
		sqlite3_finalize(s);
		free(sql);
	}
	/* the acknowledged training and relationship rows */
	for (size_t i = 0; i < nclaims; i++) {
		struct claim *c = &claims[i];
		if (c->kind != C_TRAINING && c->kind != C_RELATIONSHIP)
			continue;
		s = db_prepare(h, c->kind == C_TRAINING
				      ? "SELECT user_id, course = 'student-records-confidentiality', 0 "
					"FROM training_completion WHERE id = ?"
				      : "SELECT user_id, kind = 'teacher_of' AND ends_at IS NULL, "
					"subject_id FROM relationship WHERE id = ?");
		sqlite3_bind_int64(s, 1, c->id);
		if (sqlite3_step(s) != SQLITE_ROW)
			failure("acknowledged %s %lld is gone", claim_action[c->kind], (long long)c->id);
		else if (sqlite3_column_int64(s, 0) != c->user || !sqlite3_column_int(s, 1) ||
			 sqlite3_column_int64(s, 2) != c->subject)
			failure("acknowledged %s %lld is not what was written", claim_action[c->kind],
				(long long)c->id);
		sqlite3_finalize(s);
	}
	sqlite3_exec(h, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(h);
	*nnew = n;
	return fresh;
}

/* GET a record (version 0: the current one); its version and canonical
 * fields, or false after recording a failure. */
static bool read_back(CURL *c, int64_t id, int version, int64_t *got, char **canon)
{
	char path[128];
	if (version)
		snprintf(path, sizeof(path), "/api/v1/records/%lld?purpose=soak-check&version=%d",
			 (long long)id, version);
	else
		snprintf(path, sizeof(path), "/api/v1/records/%lld?purpose=soak-check",
			 (long long)id);
	json_t *o = call(c, "GET", path, teacher_token, NULL, 200, false);
	if (!o)
		return false;
	json_t *fields = json_object_get(o, "fields");
	*got = json_int_of(o, "version");
	bool ok = json_is_object(fields) && *got >= 1;
	if (!ok)
		failure("GET %s: no version or fields", path);
	*canon = ok ? json_canonical(fields) : NULL;
	json_decref(o);
	return ok;
}

/* The current version of a known record after a restart: at least the
 * acknowledged one, at most the one in flight, with the content written;
 * the oracle takes what was found. */
static void check_current(CURL *c, int64_t id)
{
	int64_t v = 0;
	char *canon = NULL;
	if (!read_back(c, id, 0, &v, &canon))
		return;
	pthread_mutex_lock(&olock);
	struct record *r = rec_get(id);
	if (v < r->acked)
		failure("record %lld: version %d was acknowledged, version %lld was found (lost)",
			(long long)id, r->acked, (long long)v);
	else if (v > r->known)
		failure("record %lld: version %lld was found, nobody wrote it (%d written)",
			(long long)id, (long long)v, r->known);
	else if (!str_eq(canon, r->content[v - 1]))
		failure("record %lld version %lld reads %s, was written %s", (long long)id,
			(long long)v, canon, r->content[v - 1]);
	else {
		if (v > r->acked)
			stats.adopted_updates++;
		r->acked = (int)v;
		rec_truncate(r, (int)v);
	}
	pthread_mutex_unlock(&olock);
	free(canon);
}

static void check_version(CURL *c, int64_t id, int version)
{
	int64_t v = 0;
	char *canon = NULL;
	if (!read_back(c, id, version, &v, &canon))
		return;
	pthread_mutex_lock(&olock);
	struct record *r = rec_get(id);
	if (v != version || version > r->known || !str_eq(canon, r->content[version - 1]))
		failure("record %lld version %d reads %s (version %lld), was written %s",
			(long long)id, version, canon, (long long)v,
			version <= r->known ? r->content[version - 1] : "(unknown)");
	pthread_mutex_unlock(&olock);
	free(canon);
}

/* A record nobody was told of: it must be a create in flight at the kill,
 * whole. */
static void adopt(CURL *c, int64_t id)
{
	int64_t v = 0;
	char *canon = NULL;
	if (!read_back(c, id, 0, &v, &canon))
		return;
	for (int i = 0; i < nworkers; i++) {
		struct worker *w = &workers[i];
		if (w->pending.kind == P_CREATE && str_eq(w->pending.canon, canon)) {
			if (v != 1)
				failure("record %lld, created unacknowledged, is at version %lld",
					(long long)id, (long long)v);
			pthread_mutex_lock(&olock);
			rec_add(id, w->idx, w->pending.canon);
			stats.adopted_creates++;
			pthread_mutex_unlock(&olock);
			own_add(w, id);
			w->pending.kind = P_NONE;
			w->pending.canon = NULL;
			free(canon);
			return;
		}
	}
	failure("record %lld (%s) exists, nobody was creating it", (long long)id, canon);
	free(canon);
}

/* The acknowledged accounts and suspensions, read back over the API. */
static void check_people(CURL *c)
{
	for (size_t i = 0; i < nclaims; i++) {
		struct claim *cl = &claims[i];
		if (cl->kind != C_USER && cl->kind != C_SUSPENSION)
			continue;
		char path[96];
		snprintf(path, sizeof(path), "/api/v1/users/%lld", (long long)cl->user);
		json_t *o = call(c, "GET", path, admin_token, NULL, 200, false);
		if (!o)
			continue;
		if (cl->kind == C_USER) {
			json_t *roles = json_object_get(o, "roles");
			if (!str_eq(json_string_value(json_object_get(o, "username")), cl->text) ||
			    json_array_size(roles) != 1 ||
			    !str_eq(json_string_value(json_array_get(roles, 0)), "teacher"))
				failure("acknowledged account %lld (%s) reads otherwise",
					(long long)cl->user, cl->text);
		} else {
			bool seen = false;
			size_t k;
			json_t *sp;
			json_array_foreach(json_object_get(o, "suspensions"), k, sp)
				seen |= json_int_of(sp, "id") == cl->id &&
					str_eq(json_string_value(json_object_get(sp, "kind")),
					       "temporary") &&
					str_eq(json_string_value(json_object_get(sp, "reason")),
					       cl->text);
			if (!seen)
				failure("acknowledged suspension %lld of account %lld is gone or "
					"altered",
					(long long)cl->id, (long long)cl->user);
		}
		json_decref(o);
	}
}

/* Everything after a restart (or at the end of the load): the log, the rows,
 * the records written this round, those created unacknowledged, a sample
 * (or all) of the others. */
static void check_all(bool full)
{
	scan_events();
	size_t nnew = 0;
	int64_t *fresh = check_rows(&nnew);
	CURL *c = curl_easy_init();
	check_people(c);
	for (size_t i = 0; i < nnew; i++)
		adopt(c, fresh[i]);
	free(fresh);
	for (int i = 0; i < nworkers; i++)
		if (workers[i].pending.kind == P_CREATE) {
			free(workers[i].pending.canon); /* not applied */
			workers[i].pending.canon = NULL;
		}
	for (int i = 0; i < nworkers; i++)
		workers[i].pending.kind = P_NONE;
	for (size_t i = 0; i < ntouched; i++)
		check_current(c, touched[i]);
	for (size_t i = 0; i < nclaims; i++)
		if (claims[i].kind == C_CREATE || claims[i].kind == C_UPDATE)
			check_version(c, claims[i].id, claims[i].version);
	uint64_t s = opt.seed ^ (uint64_t)restarts;
	if (full) {
		/* every record's current version; every version of up to 200 */
		for (size_t i = 0; i < nreadable; i++)
			check_current(c, readable[i]);
		for (int k = 0; k < 200 && nreadable; k++) {
			int64_t id = readable[rnd_next(&s) % nreadable];
			for (int v = 1; v <= recs[id]->acked; v++)
				check_version(c, id, v);
		}
	} else {
		for (long k = 0; k < opt.sample && nreadable; k++)
			check_current(c, readable[rnd_next(&s) % nreadable]);
	}
	curl_easy_cleanup(c);
	for (size_t i = 0; i < ntouched; i++)
		recs[touched[i]]->touched = false;
	ntouched = 0;
	claims_clear();
}

/* --- the two soaks --------------------------------------------------------------------- */

static void print_summary(double secs)
{
	printf("acknowledged: %ld reads, %ld creates, %ld updates, %ld administrative acts; "
	       "%ld requests without an answer at a kill; after restarts %ld creates and %ld "
	       "updates in flight were found applied (whole)\n",
	       stats.reads, stats.creates, stats.updates, stats.admin, stats.lost,
	       stats.adopted_creates, stats.adopted_updates);
	printf("records: %zu; log events: %llu; elapsed %.0f s\n", nreadable,
	       (unsigned long long)scanned, secs);
	if (restarts)
		printf("server start: mean %.2f s, max %.2f s over %ld starts\n",
		       restart_total / (double)restarts, restart_max, restarts);
	if (verifies)
		printf("steward audit verify: mean %.2f s, max %.2f s over %ld runs\n",
		       verify_total / (double)verifies, verify_max, verifies);
}

/* The end of both soaks: a clean stop signs everything. */
static void finish(void)
{
	check_all(true);
	int status = server_stop();
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		failure("the server's clean stop exited with status %d", status);
	bool settled = false;
	int64_t n = log_verify(&settled);
	if (n >= 0 && !settled)
		failure("after a clean stop the log still has unsigned events or events only in "
			"the journal");
	if (n >= 0 && (uint64_t)n < scanned)
		failure("the log verified %lld entries, %llu were read", (long long)n,
			(unsigned long long)scanned);
}

static void seed_records(void)
{
	CURL *c = curl_easy_init();
	for (int i = 0; i < 2 * (int)opt.writers; i++) {
		struct worker *w = &workers[i % opt.writers];
		(void)writer_op(w, c);
	}
	curl_easy_cleanup(c);
}

static int soak_crash(void)
{
	uint64_t s = opt.seed;
	double t0 = now_s();
	printf("# crash soak: %ld rounds, SIGKILL after %ld-%ld ms of load from %ld readers, %ld "
	       "writers and %ld administrators; seed %llu\n",
	       opt.rounds, opt.min_ms, opt.max_ms, opt.readers, opt.writers, opt.admins,
	       (unsigned long long)opt.seed);
	fflush(stdout);
	for (long round = 1; round <= opt.rounds && !failure_count(); round++) {
		long ms = opt.min_ms + (long)(rnd_next(&s) % (uint64_t)(opt.max_ms - opt.min_ms + 1));
		long reads0 = stats.reads, writes0 = stats.creates + stats.updates,
		     admin0 = stats.admin, lost0 = stats.lost;
		workers_start();
		usleep((useconds_t)ms * 1000);
		server_kill();
		workers_join();
		if (opt.between) {
			char *env = xasprintf("SOAK_DATA=%s", data_dir);
			char *out = xasprintf("%s/between.out", opt.dir);
			const char *argv[] = {"/bin/sh", "-c", opt.between, NULL};
			int st = run_program(argv, out, env);
			if (!WIFEXITED(st) || WEXITSTATUS(st))
				die("--between exited with status %d (see %s)", st, out);
			free(out);
			free(env);
		}
		int64_t entries = log_verify(NULL);
		int64_t max_seq = -1;
		for (size_t i = 0; i < nclaims; i++)
			if (claims[i].kind == C_READ && claims[i].seq > max_seq)
				max_seq = claims[i].seq;
		if (entries >= 0 && max_seq >= entries)
			failure("a read was answered with event %lld; the log verified after the "
				"kill has %lld entries",
				(long long)max_seq, (long long)entries);
		server_start();
		if (server < 0)
			break;
		check_all(false);
		printf("round %ld: killed after %ld ms; acknowledged %ld reads, %ld writes, %ld "
		       "administrative acts; %ld without an answer; log %lld entries verified\n",
		       round, ms, stats.reads - reads0, stats.creates + stats.updates - writes0,
		       stats.admin - admin0, stats.lost - lost0, (long long)entries);
		fflush(stdout);
	}
	if (server > 0)
		finish();
	print_summary(now_s() - t0);
	return 0;
}

/* One interval of --every seconds: VmRSS read ten times in it, its floor
 * (least) and peak (most), in KiB. */
struct interval {
	double t; /* its end, seconds into the run */
	long floor, peak, anon_floor;
	long requests;
};

static bool proc_memory(pid_t p, long *rss, long *anon)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)p);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	char line[256];
	*rss = *anon = -1;
	while (fgets(line, sizeof(line), f)) {
		if (str_has_prefix(line, "VmRSS:"))
			*rss = atol(line + 6);
		else if (str_has_prefix(line, "RssAnon:"))
			*anon = atol(line + 8);
	}
	fclose(f);
	return *rss > 0;
}

/* Least-squares slope of the floors from interval `from` on, MiB a minute. */
static double floor_trend(const struct interval *iv, size_t from, size_t n)
{
	double sx = 0, sy = 0, sxx = 0, sxy = 0, m = 0;
	for (size_t i = from; i < n; i++) {
		double x = iv[i].t / 60.0, y = (double)iv[i].floor / 1024.0;
		sx += x, sy += y, sxx += x * x, sxy += x * y, m++;
	}
	double d = sxx * m - sx * sx;
	return m > 1 && d > 0 ? (sxy * m - sx * sy) / d : 0.0;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return (x > y) - (x < y);
}

/* The median floor of intervals [from, to). */
static long floor_median(const struct interval *iv, size_t from, size_t to)
{
	if (to <= from)
		return iv[from].floor;
	long *v = xcalloc(to - from, sizeof(long));
	for (size_t i = from; i < to; i++)
		v[i - from] = iv[i].floor;
	qsort(v, to - from, sizeof(long), cmp_long);
	long m = v[(to - from) / 2];
	free(v);
	return m;
}

/* The memory bound. Creating an account hashes its password with Argon2id
 * (64 MiB, mapped for the hash and unmapped after it), so the resident size
 * at any instant swings by 64 MiB with the administrator's acts; what a leak
 * raises is the floor under those swings, each interval's least VmRSS. The
 * database caches (16 MB a connection) fill during the warm-up, the first
 * --warmup percent of the run. The bound: the median floor of the last fifth
 * of the run is at most --growth percent above the median floor of the fifth
 * right after the warm-up (medians, so that one interval spent hashing from
 * end to end does not decide). */
static void memory_bound(const struct interval *iv, size_t n)
{
	if (!n) {
		failure("no memory sample of the server");
		return;
	}
	size_t base = (size_t)((double)n * opt.warmup / 100.0), fifth = n / 5 ? n / 5 : 1;
	if (base >= n)
		base = n - 1;
	size_t base_end = base + fifth < n ? base + fifth : n;
	size_t last = n > fifth ? n - fifth : 0;
	long lo = iv[0].floor, hi = iv[0].floor, peak = iv[0].peak;
	for (size_t i = 0; i < n; i++) {
		lo = iv[i].floor < lo ? iv[i].floor : lo;
		hi = iv[i].floor > hi ? iv[i].floor : hi;
		peak = iv[i].peak > peak ? iv[i].peak : peak;
	}
	long m0 = floor_median(iv, base, base_end), m1 = floor_median(iv, last, n);
	double growth = 100.0 * (double)(m1 - m0) / (double)m0;
	printf("VmRSS: first %.1f MiB, least %.1f, most %.1f, last %.1f MiB (floors; the most "
	       "of any sample %.1f MiB); RssAnon floor first %.1f, last %.1f MiB\n",
	       iv[0].floor / 1024.0, lo / 1024.0, hi / 1024.0, iv[n - 1].floor / 1024.0,
	       peak / 1024.0, iv[0].anon_floor / 1024.0, iv[n - 1].anon_floor / 1024.0);
	printf("median floor after the warm-up (t=%.0f-%.0f s) %.1f MiB, at the end (t=%.0f-%.0f "
	       "s) %.1f MiB: %+.1f %% (bound %.0f %%); floor trend after the warm-up %+.2f "
	       "MiB/min\n",
	       base ? iv[base - 1].t : 0.0, iv[base_end - 1].t, m0 / 1024.0,
	       last ? iv[last - 1].t : 0.0, iv[n - 1].t, m1 / 1024.0, growth, opt.growth,
	       floor_trend(iv, base, n));
	if (growth > opt.growth)
		failure("the server's resident memory grew %.1f %% after the warm-up (bound %.0f "
			"%%)",
			growth, opt.growth);
}

static int soak_load(void)
{
	printf("# load soak: %ld s of mixed load from %ld readers, %ld writers and %ld "
	       "administrators; VmRSS ten times every %ld s; bound: the floor grows at most "
	       "%.0f %% after a %.0f %% warm-up; seed %llu\n",
	       opt.seconds, opt.readers, opt.writers, opt.admins, opt.every, opt.growth,
	       opt.warmup, (unsigned long long)opt.seed);
	fflush(stdout);
	/* intervals of --every seconds, each read ten times */
	size_t cap = (size_t)(opt.seconds / opt.every), n = 0;
	if (!cap)
		cap = 1;
	struct interval *iv = xcalloc(cap, sizeof(*iv));
	double t0 = now_s(), span = (double)opt.seconds / (double)cap;
	workers_start();
	for (n = 0; n < cap; n++) {
		struct interval cur = {.floor = LONG_MAX, .anon_floor = LONG_MAX};
		for (int k = 1; k <= 10; k++) {
			double wait = ((double)n + k / 10.0) * span - (now_s() - t0);
			if (wait > 0)
				usleep((useconds_t)(wait * 1e6));
			long rss = 0, anon = 0;
			if (!proc_memory(server, &rss, &anon)) {
				failure("cannot read /proc/%d/status", (int)server);
				continue;
			}
			cur.floor = rss < cur.floor ? rss : cur.floor;
			cur.peak = rss > cur.peak ? rss : cur.peak;
			cur.anon_floor = anon < cur.anon_floor ? anon : cur.anon_floor;
		}
		cur.t = now_s() - t0;
		cur.requests = atomic_load(&requests);
		double dt = cur.t - (n ? iv[n - 1].t : 0);
		printf("t=%4.0f s  VmRSS floor %6.1f MiB, peak %6.1f MiB  RssAnon floor %6.1f MiB  "
		       "%6.0f requests/s  errors %ld\n",
		       cur.t, cur.floor / 1024.0, cur.peak / 1024.0, cur.anon_floor / 1024.0,
		       (double)(cur.requests - (n ? iv[n - 1].requests : 0)) / dt,
		       atomic_load(&errors));
		fflush(stdout);
		iv[n] = cur;
	}
	workers_join();
	double secs = now_s() - t0;
	long total = atomic_load(&requests), errs = atomic_load(&errors);
	printf("requests: %ld in %.0f s (%.0f/s): %ld reads, %ld creates, %ld updates, %ld "
	       "administrative acts; errors: %ld\n",
	       total, secs, (double)total / secs, stats.reads, stats.creates, stats.updates,
	       stats.admin, errs);
	memory_bound(iv, n);
	if (errs)
		failure("%ld requests were not answered as expected", errs);
	free(iv);
	finish();
	print_summary(secs);
	return 0;
}

int main(int argc, char **argv)
{
	parse_options(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	struct st_error e = {0};
	if (crypto_setup(&e) != ST_OK)
		die("crypto: %s", e.message);
	if (dir_create_private(opt.dir, &e) != ST_OK)
		die("%s: %s", opt.dir, e.message);
	data_dir = xasprintf("%s/data", opt.dir);
	port_path = xasprintf("%s/port", opt.dir);
	log_path = xasprintf("%s/server.log", opt.dir);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	setup_datadir();
	workers_init();
	server_start();
	if (server < 0)
		return 1;
	CURL *c = curl_easy_init();
	setup_people(c);
	curl_easy_cleanup(c);
	seed_records();
	if (opt.crash)
		soak_crash();
	else
		soak_load();
	if (server > 0)
		server_stop();
	long f = failure_count();
	printf("%s: %ld failed checks%s\n", f ? "FAILED" : "PASSED", f,
	       f > MAX_FAILURES_SHOWN ? " (the first ones are shown above)" : "");
	/* everything back, so that the sanitizers see no leak */
	for (int64_t i = 0; i < recs_cap; i++)
		if (recs[i]) {
			rec_truncate(recs[i], 0);
			free(recs[i]->content);
			free(recs[i]);
		}
	for (int i = 0; i < nworkers; i++) {
		free(workers[i].own);
		free(workers[i].pending.canon);
	}
	for (size_t i = 0; i < nev_usernames; i++)
		free(ev_usernames[i]);
	free(ev_usernames);
	claims_clear();
	free(claims);
	free(claim_index);
	free(recs);
	free(readable);
	free(touched);
	free(workers);
	free(ev_create.v);
	free(ev_update.v);
	free(ev_suspension.v);
	free(ev_training.v);
	free(ev_relationship.v);
	free(data_dir);
	free(port_path);
	free(log_path);
	curl_global_cleanup();
	return f ? 1 : 0;
}
