/*
 * bench_policy.c - need-to-know decisions per second, latency, memory and
 * load time, and agreement with the peer engines' expected answers.
 *
 *   bench_policy --students N [--seconds S]   synthetic district (our generator)
 *   bench_policy --peers DIR                  the peer harness's CSVs (data/<scale>):
 *                                             decide every request, compare with
 *                                             expected.bin, print throughput as JSON
 *
 * Decisions are timed single-threaded on one core, as policy_decide()
 * (read lock included). The baseline measured in the same run is one probe
 * of the relationship hash for the same (user, subject): the ratio says how
 * many hash probes a whole decision costs.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <unistd.h>

#include "access/access_internal.h"
#include "core/defaults.h"
#include "policy/model_internal.h"
#include "synth/synth.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, res = 0;
	if (f && fscanf(f, "%ld %ld", &pages, &res) == 2) {
		fclose(f);
		return res * (sysconf(_SC_PAGESIZE) / 1024);
	}
	if (f)
		fclose(f);
	return 0;
}

static uint64_t rng = 88172645463325252ULL;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

struct req {
	uint32_t user;
	uint8_t action;
	uint32_t record;
};

/* --- the district, straight into the decision structures ---------------------- */

struct mem_sink {
	struct policy *p;
	struct model *m;
	int64_t orgs, users, subjects, rels, agreements;
	char (*org_codes)[24];
	uint32_t *rec_subject;
	uint8_t *rec_category;
	uint32_t nrec, reccap;
	uint32_t *rel_user, *rel_subject;
	uint32_t nrel, relcap;
	int64_t now;
	sqlite3 *db; /* optional: also write the rows for the load-time test */
	sqlite3_stmt *ins_user, *ins_role, *ins_subj, *ins_rel, *ins_train, *ins_susp;
};

static uint32_t org_id(struct mem_sink *s, const char *code)
{
	for (int64_t i = 0; i < s->orgs; i++)
		if (str_eq(s->org_codes[i], code))
			return (uint32_t)i + 2; /* 1 is the district */
	return 1;
}

static int64_t m_org(void *ctx, const char *code, const char *name, const char *kind)
{
	struct mem_sink *s = ctx;
	s->org_codes = xrealloc(s->org_codes, (size_t)(s->orgs + 1) * sizeof(*s->org_codes));
	str_copy(s->org_codes[s->orgs], 24, code);
	s->orgs++;
	if (s->db) {
		sqlite3_stmt *st;
		sqlite3_prepare_v2(s->db, "INSERT INTO organization (id, code, name, kind) VALUES (?, ?, ?, ?)",
				   -1, &st, NULL);
		sqlite3_bind_int64(st, 1, s->orgs + 1);
		sqlite3_bind_text(st, 2, code, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, kind, -1, SQLITE_STATIC);
		sqlite3_step(st);
		sqlite3_finalize(st);
	}
	return s->orgs + 1;
}

static int64_t m_agreement(void *ctx, const char *vendor, const char *const *cats, size_t ncat,
			   const char *const *orgs, size_t norgs, int64_t start, int64_t end)
{
	struct mem_sink *s = ctx;
	uint64_t mask = 0;
	for (size_t i = 0; i < ncat; i++)
		mask |= 1ULL << inventory_category(s->p->inv, cats[i])->index;
	uint32_t ids[256];
	for (size_t i = 0; i < norgs && i < 256; i++)
		ids[i] = org_id(s, orgs[i]);
	s->agreements++;
	model_agreement_set(s->m, (uint32_t)s->agreements, mask, ids, norgs < 256 ? norgs : 256,
			    start, end, vendor);
	return s->agreements;
}

static int64_t m_user(void *ctx, const struct synth_user *u)
{
	struct mem_sink *s = ctx;
	uint32_t id = (uint32_t)++s->users + 1; /* 1 is the administrator */
	uint32_t roles = 0;
	for (size_t i = 0; i < u->nroles; i++)
		roles |= 1u << policy_role(s->p, u->roles[i]);
	enum user_kind kind = UK_EMPLOYEE;
	user_kind_parse(u->kind, &kind);
	model_user_set(s->m, id, kind, US_ACTIVE, roles, org_id(s, u->organization),
		       (uint32_t)u->agreement);
	if (u->trained_at)
		model_training_set(s->m, id, u->trained_at + 365 * 86400);
	if (u->suspended_until)
		model_suspension_add(s->m, id, id, s->now - 86400, u->suspended_until, "temporary");
	if (s->db) {
		sqlite3_bind_int64(s->ins_user, 1, id);
		sqlite3_bind_text(s->ins_user, 2, u->username, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(s->ins_user, 3, u->display_name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(s->ins_user, 4, u->kind, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s->ins_user, 5, org_id(s, u->organization));
		if (u->agreement)
			sqlite3_bind_int64(s->ins_user, 6, u->agreement);
		else
			sqlite3_bind_null(s->ins_user, 6);
		sqlite3_step(s->ins_user);
		sqlite3_reset(s->ins_user);
		for (size_t i = 0; i < u->nroles; i++) {
			sqlite3_bind_int64(s->ins_role, 1, id);
			sqlite3_bind_text(s->ins_role, 2, u->roles[i], -1, SQLITE_STATIC);
			sqlite3_step(s->ins_role);
			sqlite3_reset(s->ins_role);
		}
		if (u->trained_at) {
			sqlite3_bind_int64(s->ins_train, 1, id);
			sqlite3_bind_int64(s->ins_train, 2, u->trained_at);
			sqlite3_bind_int64(s->ins_train, 3, u->trained_at + 365 * 86400);
			sqlite3_step(s->ins_train);
			sqlite3_reset(s->ins_train);
		}
		if (u->suspended_until) {
			sqlite3_bind_int64(s->ins_susp, 1, id);
			sqlite3_bind_int64(s->ins_susp, 2, s->now - 86400);
			sqlite3_bind_int64(s->ins_susp, 3, u->suspended_until);
			sqlite3_step(s->ins_susp);
			sqlite3_reset(s->ins_susp);
		}
	}
	return id;
}

static int64_t m_subject(void *ctx, const char *kind, const char *ext, const char *given,
			 const char *family, const char *dob, const char *org)
{
	struct mem_sink *s = ctx;
	(void)given, (void)family, (void)dob;
	int64_t id = ++s->subjects;
	model_subject_set(s->m, (uint64_t)id, org_id(s, org));
	if (s->db) {
		unsigned char idx[32] = {0};
		memcpy(idx, &id, sizeof(id));
		memcpy(idx + 8, ext, strlen(ext) < 24 ? strlen(ext) : 24);
		sqlite3_bind_int64(s->ins_subj, 1, id);
		sqlite3_bind_text(s->ins_subj, 2, kind, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s->ins_subj, 3, org_id(s, org));
		sqlite3_bind_blob(s->ins_subj, 4, idx, 32, SQLITE_TRANSIENT);
		sqlite3_step(s->ins_subj);
		sqlite3_reset(s->ins_subj);
	}
	return id;
}

static int64_t m_rel(void *ctx, int64_t user, int64_t subject, const char *kind, const char *src)
{
	struct mem_sink *s = ctx;
	(void)src;
	enum relkind k;
	relkind_parse(kind, &k);
	int64_t id = ++s->rels;
	model_rel_add_unlocked(s->m, id, (uint32_t)user, (uint64_t)subject, 0, k, 0,
			       s->now - 86400 * 30, 0);
	if (s->nrel == s->relcap) {
		s->relcap = s->relcap ? s->relcap * 2 : 1 << 16;
		s->rel_user = xrealloc(s->rel_user, s->relcap * sizeof(uint32_t));
		s->rel_subject = xrealloc(s->rel_subject, s->relcap * sizeof(uint32_t));
	}
	s->rel_user[s->nrel] = (uint32_t)user;
	s->rel_subject[s->nrel++] = (uint32_t)subject;
	if (s->db) {
		sqlite3_bind_int64(s->ins_rel, 1, id);
		sqlite3_bind_int64(s->ins_rel, 2, user);
		sqlite3_bind_int64(s->ins_rel, 3, subject);
		sqlite3_bind_text(s->ins_rel, 4, kind, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s->ins_rel, 5, s->now - 86400 * 30);
		sqlite3_step(s->ins_rel);
		sqlite3_reset(s->ins_rel);
	}
	return id;
}

static int64_t m_record(void *ctx, int64_t subject, const char *category, json_t *fields)
{
	struct mem_sink *s = ctx;
	(void)fields;
	if (s->nrec == s->reccap) {
		s->reccap = s->reccap ? s->reccap * 2 : 1 << 16;
		s->rec_subject = xrealloc(s->rec_subject, s->reccap * sizeof(uint32_t));
		s->rec_category = xrealloc(s->rec_category, s->reccap);
	}
	s->rec_subject[s->nrec] = (uint32_t)subject;
	s->rec_category[s->nrec] = (uint8_t)inventory_category(s->p->inv, category)->index;
	return ++s->nrec;
}

static int m_failed(void *ctx)
{
	(void)ctx;
	return 0;
}

/* --- timing -------------------------------------------------------------------- */

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

struct timing {
	double per_s, p50_us, p99_us, mean_us;
	uint64_t allowed;
};

static void time_decisions(struct policy *p, struct model *m, const struct req *reqs, size_t n,
			   const uint32_t *rec_subject, const uint8_t *rec_cat, int64_t now,
			   struct timing *t)
{
	double best = 0;
	uint64_t allowed = 0;
	for (int pass = 0; pass < 3; pass++) {
		double t0 = now_s();
		allowed = 0;
		for (size_t i = 0; i < n; i++) {
			struct access_request r = {.user = reqs[i].user,
						   .action = (enum action)reqs[i].action,
						   .subject = rec_subject[reqs[i].record],
						   .category = rec_cat[reqs[i].record], .mfa = true,
						   .now = now};
			struct decision d;
			allowed += policy_decide(p, m, &r, &d);
		}
		double rate = (double)n / (now_s() - t0);
		if (rate > best)
			best = rate;
	}
	t->per_s = best;
	t->mean_us = 1e6 / best;
	t->allowed = allowed;
	/* latency: each call timed, on an evenly spaced sample */
	size_t samples = n < 200000 ? n : 200000;
	double *lat = xcalloc(samples, sizeof(double));
	for (size_t k = 0; k < samples; k++) {
		size_t i = k * (n / samples);
		struct access_request r = {.user = reqs[i].user, .action = (enum action)reqs[i].action,
					   .subject = rec_subject[reqs[i].record],
					   .category = rec_cat[reqs[i].record], .mfa = true, .now = now};
		struct decision d;
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		bool ok = policy_decide(p, m, &r, &d);
		clock_gettime(CLOCK_MONOTONIC, &b);
		(void)ok;
		lat[k] = (double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_nsec - a.tv_nsec) / 1e3;
	}
	qsort(lat, samples, sizeof(double), cmp_d);
	t->p50_us = lat[samples / 2];
	t->p99_us = lat[samples * 99 / 100];
	free(lat);
}

static double time_probe(struct model *m, const struct req *reqs, size_t n,
			 const uint32_t *rec_subject)
{
	double best = 0;
	volatile uint64_t sink = 0;
	for (int pass = 0; pass < 3; pass++) {
		double t0 = now_s();
		model_rdlock(m);
		for (size_t i = 0; i < n; i++)
			sink += model_rel_head(m, reqs[i].user, rec_subject[reqs[i].record]);
		model_unlock(m);
		double rate = (double)n / (now_s() - t0);
		if (rate > best)
			best = rate;
	}
	(void)sink;
	return best;
}

/* --- decision plus durable log entry ------------------------------------------------ */

struct logwork {
	struct steward *st;
	const struct req *reqs;
	size_t n, start;
	const uint32_t *rec_subject;
	const uint8_t *rec_cat;
	volatile int *stop;
	uint64_t done;
};

static void *log_worker(void *arg)
{
	struct logwork *w = arg;
	struct policy *p = steward_policy(w->st);
	for (size_t i = w->start; !*w->stop; i = (i + 1) % w->n) {
		const struct req *q = &w->reqs[i];
		struct access_request r = {.user = q->user, .action = (enum action)q->action,
					   .subject = w->rec_subject[q->record],
					   .category = w->rec_cat[q->record], .mfa = true,
					   .now = time_now()};
		struct decision d;
		bool ok = policy_decide(p, w->st->model, &r, &d);
		struct actor who = {.user_id = q->user, .via = "api", .mfa = true};
		struct audit_event ev = {.action = "record.read", .outcome = ok ? "allow" : "deny",
					 .record_id = q->record + 1, .subject_id = (int64_t)r.subject,
					 .category = p->inv->cats[r.category].name,
					 .rule = d.rule >= 0 ? p->rules[d.rule].id : NULL,
					 .role = d.role >= 0 ? p->roles[d.role] : NULL};
		char reason[200];
		if (!ok) {
			decision_explain(p, w->st->model, &r, &d, reason, sizeof(reason));
			ev.reason = reason;
		}
		struct st_error e = {0};
		if (steward_audit(w->st, &who, &ev, NULL, &e) != ST_OK)
			die("log: %s", e.message);
		w->done++;
	}
	policy_unref(p);
	return NULL;
}

/* --- peers ------------------------------------------------------------------------ */

static char *slurp(const char *path, size_t *len)
{
	char *text = NULL;
	struct st_error e = {0};
	if (file_read_all(path, (size_t)1 << 31, &text, len, &e) != ST_OK)
		die("%s", e.message);
	return text;
}

/* Iterates the lines of a CSV (header skipped): fn(ctx, fields, n). */
static void csv_each(const char *path, void (*fn)(void *, char **, int), void *ctx)
{
	size_t len;
	char *text = slurp(path, &len);
	char *line = strchr(text, '\n');
	while (line && *++line) {
		char *end = strchr(line, '\n');
		if (end)
			*end = '\0';
		char *fields[16];
		int nf = 0;
		for (char *f = line; f && nf < 16;) {
			fields[nf++] = f;
			char *c = strchr(f, ',');
			if (c)
				*c = '\0', f = c + 1;
			else
				f = NULL;
		}
		fn(ctx, fields, nf);
		line = end;
	}
	free(text);
}

static uint32_t num(const char *s)
{
	while (*s && (*s < '0' || *s > '9'))
		s++;
	return (uint32_t)strtoul(s, NULL, 10);
}

struct peers {
	struct policy *p;
	struct model *m;
	int64_t now;
	uint32_t *subject_of_record;
	uint8_t *cat_of_record;
	uint32_t nrecords;
	struct req *reqs;
	size_t nreq, reqcap;
	int64_t relid;
	uint32_t nagreements;
};

static void peer_user(void *ctx, char **f, int n)
{
	struct peers *P = ctx;
	if (n < 6)
		return;
	uint32_t id = num(f[0]), roles = 0;
	bool contractor = str_eq(f[1], "contractor");
	for (char *r = f[2]; r && *r;) {
		char *semi = strchr(r, ';');
		if (semi)
			*semi = '\0';
		int role = policy_role(P->p, r);
		if (role >= 0)
			roles |= 1u << role;
		r = semi ? semi + 1 : NULL;
	}
	uint32_t school = num(f[3]) + 1, agreement = 0;
	if (contractor) {
		uint64_t cats = 0;
		for (char *c = n > 7 ? f[7] : NULL; c && *c;) {
			char *semi = strchr(c, ';');
			if (semi)
				*semi = '\0';
			const struct inv_category *ic = inventory_category(P->p->inv, c);
			if (ic)
				cats |= 1ULL << ic->index;
			c = semi ? semi + 1 : NULL;
		}
		agreement = ++P->nagreements;
		bool active = n > 6 && str_eq(f[6], "1");
		model_agreement_set(P->m, agreement, cats, &school, 1, P->now - 86400 * 100,
				    active ? P->now + 86400 * 100 : P->now - 86400, "vendor");
	}
	model_user_set(P->m, id, contractor ? UK_CONTRACTOR : UK_EMPLOYEE, US_ACTIVE, roles, school,
		       agreement);
	if (str_eq(f[4], "1"))
		model_suspension_add(P->m, id, id, P->now - 86400, P->now + 86400, "temporary");
	model_training_set(P->m, id, str_eq(f[5], "1") ? P->now + 86400 * 100 : P->now - 86400);
}

static void peer_student(void *ctx, char **f, int n)
{
	struct peers *P = ctx;
	if (n >= 2)
		model_subject_set(P->m, num(f[0]), num(f[1]) + 1);
}

static void peer_enroll(void *ctx, char **f, int n)
{
	struct peers *P = ctx;
	if (n >= 2)
		model_rel_add_unlocked(P->m, ++P->relid, num(f[0]), num(f[1]), 0, REL_TEACHER_OF, 0,
				       P->now - 86400, 0);
}

static void peer_caseload(void *ctx, char **f, int n)
{
	struct peers *P = ctx;
	if (n < 2)
		return;
	struct model_user_view v;
	model_user_view(P->m, num(f[0]), &v);
	int counselor = policy_role(P->p, "counselor"), sped = policy_role(P->p, "sped_staff");
	if (v.roles >> counselor & 1)
		model_rel_add_unlocked(P->m, ++P->relid, num(f[0]), num(f[1]), 0,
				       REL_COUNSELOR_CASELOAD, 0, P->now - 86400, 0);
	if (v.roles >> sped & 1)
		model_rel_add_unlocked(P->m, ++P->relid, num(f[0]), num(f[1]), 0, REL_SPED_CASELOAD,
				       0, P->now - 86400, 0);
}

static void peer_record(void *ctx, char **f, int n)
{
	struct peers *P = ctx;
	if (n < 3)
		return;
	uint32_t id = num(f[0]);
	if (id >= P->nrecords) {
		uint32_t cap = P->nrecords ? P->nrecords : 1024;
		while (cap <= id)
			cap *= 2;
		P->subject_of_record = xrealloc(P->subject_of_record, cap * sizeof(uint32_t));
		P->cat_of_record = xrealloc(P->cat_of_record, cap);
		P->nrecords = cap;
	}
	P->subject_of_record[id] = num(f[1]);
	P->cat_of_record[id] = (uint8_t)inventory_category(P->p->inv, f[2])->index;
}

static void peer_request(void *ctx, char **f, int n)
{
	struct peers *P = ctx;
	if (n < 3)
		return;
	if (P->nreq == P->reqcap) {
		P->reqcap = P->reqcap ? P->reqcap * 2 : 1 << 16;
		P->reqs = xrealloc(P->reqs, P->reqcap * sizeof(struct req));
	}
	enum action a = ACT_READ;
	action_parse(f[1], &a);
	P->reqs[P->nreq++] = (struct req){num(f[0]), (uint8_t)a, num(f[2])};
}

static int run_peers(const char *dir)
{
	struct st_error e = {0};
	struct inventory *inv = NULL;
	if (inventory_parse((const char *)default_inventory, default_inventory_len, &inv, &e))
		die("%s", e.message);
	size_t len;
	char *path = xasprintf("%s/../../../../peers-policy.json", dir);
	char *alt = xasprintf("%s/bench/peers-policy.json", STEWARD_SOURCE_DIR);
	char *text = slurp(file_exists(alt) ? alt : path, &len);
	free(path);
	free(alt);
	struct peers P = {.now = time_now()};
	if (policy_parse(text, len, inv, &P.p, &e))
		die("peers policy: %s [%s]", e.message, e.field);
	free(text);
	P.m = model_new();
	long rss0 = rss_kb();
	double t0 = now_s();
	char *f;
	f = xasprintf("%s/users.csv", dir), csv_each(f, peer_user, &P), free(f);
	f = xasprintf("%s/students.csv", dir), csv_each(f, peer_student, &P), free(f);
	f = xasprintf("%s/enrollments.csv", dir), csv_each(f, peer_enroll, &P), free(f);
	f = xasprintf("%s/caseloads.csv", dir), csv_each(f, peer_caseload, &P), free(f);
	f = xasprintf("%s/records.csv", dir), csv_each(f, peer_record, &P), free(f);
	double build_ms = (now_s() - t0) * 1000;
	f = xasprintf("%s/requests.csv", dir), csv_each(f, peer_request, &P), free(f);
	long rss1 = rss_kb();
	/* agreement: every request against expected.bin */
	f = xasprintf("%s/expected.bin", dir);
	unsigned char *expected = (unsigned char *)slurp(f, &len);
	free(f);
	if (len != P.nreq)
		die("expected.bin has %zu answers for %zu requests", len, P.nreq);
	size_t disagree = 0, allowed = 0;
	for (size_t i = 0; i < P.nreq; i++) {
		struct access_request r = {.user = P.reqs[i].user, .action = (enum action)P.reqs[i].action,
					   .subject = P.subject_of_record[P.reqs[i].record],
					   .category = P.cat_of_record[P.reqs[i].record],
					   .mfa = true, .now = P.now};
		struct decision d;
		bool got = policy_decide(P.p, P.m, &r, &d);
		allowed += got;
		if (got != (expected[i] == 1)) {
			if (disagree < 5) {
				char why[300];
				decision_explain(P.p, P.m, &r, &d, why, sizeof(why));
				fprintf(stderr, "disagree on request %zu: steward %s (%s)\n", i,
					got ? "allow" : "deny", why);
			}
			disagree++;
		}
	}
	free(expected);
	struct timing t;
	time_decisions(P.p, P.m, P.reqs, P.nreq, P.subject_of_record, P.cat_of_record, P.now, &t);
	printf("{\"engine\":\"steward\",\"requests\":%zu,\"build_ms\":%.0f,\"rss_built_mb\":%.0f,"
	       "\"decisions_per_s\":%.0f,\"mean_us\":%.3f,\"p50_us\":%.3f,\"p99_us\":%.3f,"
	       "\"allowed\":%zu,\"disagree\":%zu,\"model_mb\":%.1f}\n",
	       P.nreq, build_ms, (double)(rss1 - rss0) / 1024, t.per_s, t.mean_us, t.p50_us,
	       t.p99_us, allowed, disagree, (double)model_memory(P.m) / 1048576);
	model_free(P.m);
	policy_unref(P.p);
	inventory_unref(inv);
	free(P.reqs);
	free(P.subject_of_record);
	free(P.cat_of_record);
	return disagree ? 1 : 0;
}

/* --- the synthetic district ---------------------------------------------------------- */

static void exec_sql(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		die("sql: %s", msg);
}

int main(int argc, char **argv)
{
	int64_t students = 25000;
	double seconds = 3;
	bool load_test = false;
	const char *peers = NULL;
	for (int i = 1; i < argc; i++) {
		if (str_eq(argv[i], "--students") && i + 1 < argc)
			students = atoll(argv[++i]);
		else if (str_eq(argv[i], "--seconds") && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (str_eq(argv[i], "--load"))
			load_test = true;
		else if (str_eq(argv[i], "--peers") && i + 1 < argc)
			peers = argv[++i];
		else
			die("usage: bench_policy [--students N] [--seconds S] [--load] | --peers DIR");
	}
	struct st_error e = {0};
	crypto_setup(&e);
	if (peers)
		return run_peers(peers);

	/* a data directory: its rules, and (with --load) the rows to load */
	char tmp[] = "/tmp/steward-bench-policy-XXXXXX";
	if (!mkdtemp(tmp))
		die("mkdtemp");
	char *data = xasprintf("%s/data", tmp);
	struct steward_init_options io = {.dir = data, .admin_username = "admin",
					  .admin_password = "bench password 123"};
	if (steward_init(&io, &e) != ST_OK)
		die("init: %s", e.message);
	struct steward_options so = {.dir = data};
	struct steward *st = NULL;
	if (steward_open(&so, &st, &e) != ST_OK)
		die("open: %s", e.message);

	int schools = students >= 100000 ? (int)(students / 10000) : (int)(students / 1250);
	if (schools < 1)
		schools = 1;
	struct mem_sink s = {.p = steward_policy(st), .m = model_new(), .now = time_now()};
	model_reserve(s.m, (size_t)(students * 7 / 100) + 64, (size_t)(students * 107 / 100) + 64,
		      (size_t)students * 8);
	if (load_test) {
		char *dbp = xasprintf("%s/steward.db", data);
		sqlite3_open(dbp, &s.db);
		free(dbp);
		exec_sql(s.db, "PRAGMA synchronous=OFF; BEGIN;");
		sqlite3_prepare_v2(s.db,
				   "INSERT INTO app_user (id, username, display_name, kind, status, "
				   "organization_id, agreement_id, created_at, updated_at) VALUES "
				   "(?, ?, ?, ?, 'active', ?, ?, 0, 0)",
				   -1, &s.ins_user, NULL);
		sqlite3_prepare_v2(s.db, "INSERT INTO user_role (user_id, role) VALUES (?, ?)", -1,
				   &s.ins_role, NULL);
		sqlite3_prepare_v2(s.db,
				   "INSERT INTO subject (id, kind, organization_id, external_index, "
				   "family_index, fullname_index, sealed, created_at, updated_at) VALUES "
				   "(?, ?, ?, ?, x'00', x'00', x'00', 0, 0)",
				   -1, &s.ins_subj, NULL);
		sqlite3_prepare_v2(s.db,
				   "INSERT INTO relationship (id, user_id, subject_id, kind, starts_at, "
				   "created_at) VALUES (?, ?, ?, ?, ?, 0)",
				   -1, &s.ins_rel, NULL);
		sqlite3_prepare_v2(s.db,
				   "INSERT INTO training_completion (user_id, course, completed_at, "
				   "expires_at, recorded_at) VALUES (?, 'student-records-confidentiality', "
				   "?, ?, 0)",
				   -1, &s.ins_train, NULL);
		sqlite3_prepare_v2(s.db,
				   "INSERT INTO suspension (user_id, kind, starts_at, until, reason, "
				   "created_at) VALUES (?, 'temporary', ?, ?, 'synthetic', 0)",
				   -1, &s.ins_susp, NULL);
	}
	struct synth_sink sink = {&s, m_org, m_agreement, m_user, m_subject, m_rel, m_record,
				  m_failed};
	struct synth_options o = {.seed = 7, .schools = schools, .students = (int)students,
				  .records = true, .now = s.now};
	struct synth_report rep;
	long rss0 = rss_kb();
	double t0 = now_s();
	synth_generate(&o, &sink, &rep);
	double gen_s = now_s() - t0;
	long rss1 = rss_kb();
	if (s.db) {
		exec_sql(s.db, "COMMIT;");
		sqlite3_finalize(s.ins_user);
		sqlite3_finalize(s.ins_role);
		sqlite3_finalize(s.ins_subj);
		sqlite3_finalize(s.ins_rel);
		sqlite3_finalize(s.ins_train);
		sqlite3_finalize(s.ins_susp);
		sqlite3_close(s.db);
	}
	printf("synthetic district: %lld students, %lld schools, %lld users, %lld subjects, "
	       "%lld relationships, %u records (generated in %.1f s)\n",
	       (long long)students, (long long)rep.organizations, (long long)rep.users,
	       (long long)rep.subjects, (long long)rep.relationships, s.nrec, gen_s);
	printf("decision structures: %.1f MiB (model_memory); resident growth while building %.1f MiB "
	       "(includes the benchmark's own request tables)\n",
	       (double)model_memory(s.m) / 1048576, (double)(rss1 - rss0) / 1024);

	/* requests: half plausible (a related subject's record), half random */
	size_t n = 2000000;
	struct req *reqs = xcalloc(n, sizeof(*reqs));
	uint32_t *first_rec = xcalloc((size_t)rep.subjects + 2, sizeof(uint32_t));
	for (uint32_t r = s.nrec; r-- > 0;)
		first_rec[s.rec_subject[r]] = r;
	for (size_t i = 0; i < n; i++) {
		if (rnd() % 2) {
			uint32_t k = (uint32_t)(rnd() % s.nrel);
			reqs[i].user = s.rel_user[k];
			reqs[i].record = first_rec[s.rel_subject[k]] + (uint32_t)(rnd() % 4);
			if (reqs[i].record >= s.nrec || s.rec_subject[reqs[i].record] != s.rel_subject[k])
				reqs[i].record = first_rec[s.rel_subject[k]];
		} else {
			reqs[i].user = 2 + (uint32_t)(rnd() % (uint64_t)rep.users);
			reqs[i].record = (uint32_t)(rnd() % s.nrec);
		}
		reqs[i].action = rnd() % 5 ? ACT_READ : ACT_UPDATE;
	}
	struct timing t;
	time_decisions(s.p, s.m, reqs, n, s.rec_subject, s.rec_category, s.now, &t);
	double probe = time_probe(s.m, reqs, n, s.rec_subject);
	printf("\n| measure (one core) | value |\n|---|---:|\n");
	printf("| decisions per second | %.0f |\n", t.per_s);
	printf("| mean / p50 / p99 latency | %.3f / %.3f / %.3f us |\n", t.mean_us, t.p50_us, t.p99_us);
	printf("| allowed | %.1f%% |\n", 100.0 * (double)t.allowed / (double)n);
	printf("| baseline: one relationship-hash probe per request | %.0f per second |\n", probe);
	printf("| a whole decision costs | %.1f hash probes |\n", probe / t.per_s);

	/* decision plus durable log entry, many writers */
	model_replace(st->model, s.m); /* the engine's facts become these */
	s.m = NULL;
	for (int threads = 8; threads <= 64; threads *= 8) {
		volatile int stop = 0;
		struct logwork *w = xcalloc((size_t)threads, sizeof(*w));
		pthread_t *th = xcalloc((size_t)threads, sizeof(*th));
		double l0 = now_s();
		for (int i = 0; i < threads; i++) {
			w[i] = (struct logwork){st, reqs, n, (size_t)i * 1000, s.rec_subject,
						s.rec_category, &stop, 0};
			pthread_create(&th[i], NULL, log_worker, &w[i]);
		}
		usleep((useconds_t)(seconds * 1e6));
		stop = 1;
		uint64_t total = 0;
		for (int i = 0; i < threads; i++) {
			pthread_join(th[i], NULL);
			total += w[i].done;
		}
		printf("| decision + durable log entry, %d threads | %.0f per second |\n", threads,
		       (double)total / (now_s() - l0));
		free(w);
		free(th);
	}
	steward_close(st);
	if (load_test) {
		/* loading the facts at start, from the database */
		struct steward *st2 = NULL;
		double l0 = now_s();
		if (steward_open(&so, &st2, &e) != ST_OK)
			die("reopen: %s", e.message);
		printf("| load the facts at start (steward_open) | %.1f s |\n", now_s() - l0);
		printf("| decision structures after loading | %.1f MiB |\n",
		       (double)model_memory(st2->model) / 1048576);
		steward_close(st2);
	}
	policy_unref(s.p);
	free(reqs);
	free(first_rec);
	free(s.rec_subject);
	free(s.rec_category);
	free(s.rel_user);
	free(s.rel_subject);
	free(s.org_codes);
	char *cmd = xasprintf("rm -rf %s", tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmp);
	free(cmd);
	free(data);
	return 0;
}
