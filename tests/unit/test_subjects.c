/*
 * test_subjects.c - subjects through the library, on a small synthetic
 * district: a subject read shows exactly the identifying fields the
 * decision allows, masked as the deciding rules say, for every user and
 * subject (checked against policy_decide on each category); an id that
 * names no subject is refused in the same words as one out of reach; a
 * search by external id or name finds only what the person may read and
 * never writes the terms to the log; lists page through everything they
 * may read and nothing else; a subject's records are listed only in the
 * categories the person may read; edits re-seal and re-index, pass the
 * change checkpoint and name the fields written, never their values;
 * deactivation keeps the records; organizations with active people stay
 * active; and the lists of users, organizations and relationships are
 * decided and logged.
 */
#include "testsupport.h"
#include "access/access_internal.h"
#include "records/records_internal.h"
#include "synth/synth.h"
#include "steward/records.h"

static char *dir, *data;
static struct steward *st;
static struct synth_report rep;

static int setup(void **state)
{
	(void)state;
	dir = ts_tmpdir();
	data = ts_make_datadir(dir, NULL);
	st = ts_open(data, NULL);
	struct synth_options o = {.seed = 7, .schools = 2, .students = 40, .records = true};
	struct st_error e = {0};
	if (synth_district(st, &ts_system, &o, &rep, &e) != ST_OK)
		fail_msg("synth: %s [%s]", e.message, e.field);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	steward_close(st);
	ts_rm_rf(dir);
	free(dir);
	free(data);
	return 0;
}

static int64_t query1(const char *sql, const char *fmt, ...)
{
	struct store_conn *c;
	struct st_error e = {0};
	assert_int_equal(store_acquire(st->db, &c, &e), ST_OK);
	struct store_stmt *s;
	assert_int_equal(store_prepare(c, sql, &s, &e), ST_OK);
	va_list ap;
	va_start(ap, fmt);
	store_bindv(s, fmt, ap);
	va_end(ap);
	int64_t v = store_step(s, &e) == STORE_ROW ? store_col_int(s, 0) : -1;
	store_done(s);
	store_release(c);
	return v;
}

static struct actor as_user(int64_t id, bool mfa)
{
	return (struct actor){.user_id = id, .via = "test", .mfa = mfa, .session_id = "s-1",
			      .client = "192.0.2.7", .request_id = "r-1"};
}

static int64_t user_with_role(const char *role)
{
	return query1("SELECT u.id FROM app_user u JOIN user_role r ON r.user_id = u.id WHERE "
		      "r.role = ? AND u.id NOT IN (SELECT user_id FROM suspension) AND u.id IN "
		      "(SELECT user_id FROM training_completion WHERE expires_at > ?) ORDER BY u.id "
		      "LIMIT 1",
		      "ti", role, time_now());
}

/* The fields a read may show, from policy_decide on each category on its
 * own: shown if some allowed category lists it; masked if some allowed
 * rule showing it masks it. */
static void expected(struct policy *p, int64_t user, int64_t subject, bool mfa,
		     const char *purpose, unsigned *fields, enum mask_kind masks[SF_COUNT])
{
	*fields = 0;
	memset(masks, 0, sizeof(enum mask_kind) * SF_COUNT);
	char kind[32] = "";
	struct store_conn *c;
	struct st_error e = {0};
	assert_int_equal(store_acquire(st->db, &c, &e), ST_OK);
	struct store_stmt *s;
	assert_int_equal(store_prepare(c, "SELECT kind FROM subject WHERE id = ?", &s, &e), ST_OK);
	store_bind(s, "i", subject);
	if (store_step(s, &e) == STORE_ROW)
		str_copy(kind, sizeof(kind), store_col_text(s, 0));
	store_done(s);
	store_release(c);
	enum subject_kind k;
	if (subject_kind_parse(kind, &k) != ST_OK)
		return;
	for (size_t ci = 0; ci < p->inv->ncats; ci++) {
		const struct inv_category *cat = &p->inv->cats[ci];
		if (!(cat->subject_kinds >> k & 1))
			continue;
		struct access_request r = {.user = (uint32_t)user, .action = ACT_READ,
					   .subject = (uint64_t)subject, .category = (int)ci,
					   .mfa = mfa, .purpose = purpose, .now = time_now()};
		struct decision d;
		if (!policy_decide(p, st->model, &r, &d))
			continue;
		const struct rule *rule = &p->rules[d.rule];
		for (int f = 0; f < SF_COUNT; f++) {
			if (!(cat->subject_fields >> f & 1))
				continue;
			*fields |= 1u << f;
			for (int m = 0; m < rule->nmasks; m++)
				if (str_eq(rule->masks[m].field, subject_field_name((enum subject_field)f)))
					masks[f] = rule->masks[m].kind;
		}
	}
}

static void check_read(struct policy *p, int64_t user, int64_t subject, bool mfa,
		       const char *purpose, const json_t *truth, int *allowed)
{
	unsigned fields;
	enum mask_kind masks[SF_COUNT];
	expected(p, user, subject, mfa, purpose, &fields, masks);
	struct actor who = as_user(user, mfa);
	json_t *got = NULL;
	struct st_error e = {0};
	int rc = subject_read(st, &who, subject, purpose, &got, &e);
	if (!fields) {
		if (rc != ST_EDENIED)
			fail_msg("user %lld subject %lld: read %d, the decision refuses",
				 (long long)user, (long long)subject, rc);
		assert_null(got);
		return;
	}
	if (rc != ST_OK)
		fail_msg("user %lld subject %lld: refused (%s), the decision allows", (long long)user,
			 (long long)subject, e.message);
	(*allowed)++;
	for (int f = 0; f < SF_COUNT; f++) {
		const char *name = subject_field_name((enum subject_field)f);
		json_t *v = json_object_get(got, name), *t = json_object_get(truth, name);
		if (!(fields >> f & 1) || !t) {
			if (v)
				fail_msg("user %lld subject %lld: %s shown, not allowed", (long long)user,
					 (long long)subject, name);
			continue;
		}
		json_t *want = masks[f] && !json_is_null(t) ? mask_value(masks[f], t, st->blind_key)
							    : json_incref(t);
		if (!v || !json_equal(v, want))
			fail_msg("user %lld subject %lld: %s is %s", (long long)user, (long long)subject,
				 name, v ? json_string_value(v) : "missing");
		json_decref(want);
	}
	json_decref(got);
}

static void test_reads_agree_with_decide(void **state)
{
	(void)state;
	struct policy *p = steward_policy(st);
	int64_t nusers = query1("SELECT MAX(id) FROM app_user", "");
	int64_t nsubjects = query1("SELECT MAX(id) FROM subject", "");
	int allowed = 0, masked = 0;
	for (int64_t s = 1; s <= nsubjects; s++) {
		json_t *truth = NULL;
		ASSERT_OK(subject_get(st, &ts_system, s, &truth, &ts_err));
		for (int64_t u = 1; u <= nusers; u++) {
			/* every account, with multi-factor and a purpose; every third
			 * without either */
			check_read(p, u, s, true, "review", truth, &allowed);
			if (u % 3 == 0)
				check_read(p, u, s, false, NULL, truth, &allowed);
		}
		json_decref(truth);
	}
	/* the district is rich enough to prove something: reads allowed,
	 * refused, and a date of birth shown as its year */
	assert_true(allowed > 100);
	assert_true(allowed < nusers * nsubjects);
	int64_t hr = user_with_role("hr");
	int64_t emp = query1("SELECT s.id FROM subject s WHERE s.kind = 'employee' ORDER BY id LIMIT 1", "");
	ASSERT_OK(subject_update(st, &ts_system, emp, &(struct subject_change){.date_of_birth = "1971-05-09"}, &ts_err));
	struct actor h = as_user(hr, true);
	json_t *o = NULL;
	ASSERT_OK(subject_read(st, &h, emp, NULL, &o, &ts_err));
	assert_string_equal(json_string_value(json_object_get(o, "date_of_birth")), "1971");
	assert_string_equal(json_string_value(json_array_get(json_object_get(o, "masked"), 0)),
			    "date_of_birth");
	masked++;
	json_decref(o);
	assert_true(masked > 0);
	policy_unref(p);
}

/* The error of a refused read, as the person hears it. */
static void refused_read(struct actor *who, int64_t id, const char *purpose, char *msg,
			 size_t n)
{
	json_t *o = NULL;
	struct st_error e = {0};
	assert_int_equal(subject_read(st, who, id, purpose, &o, &e), ST_EDENIED);
	assert_null(o);
	str_copy(msg, n, e.message);
}

static void test_missing_reads_as_unreachable(void **state)
{
	(void)state;
	/* a teacher of one school asking about a student of the other, and
	 * about an id nobody has */
	int64_t teacher = user_with_role("teacher");
	int64_t org = query1("SELECT organization_id FROM app_user WHERE id = ?", "i", teacher);
	int64_t other = query1("SELECT id FROM subject WHERE kind = 'student' AND organization_id "
			       "<> ? AND id NOT IN (SELECT subject_id FROM relationship WHERE "
			       "user_id = ? AND subject_id IS NOT NULL) LIMIT 1",
			       "ii", org, teacher);
	assert_true(other > 0);
	struct actor t = as_user(teacher, true);
	char a[512], b[512], c[512];
	refused_read(&t, other, NULL, a, sizeof(a));
	refused_read(&t, 987654, NULL, b, sizeof(b));
	assert_string_equal(a, b);
	assert_null(strstr(a, "student"));
	/* an employee out of reach reads the same too: nothing tells the kind */
	int64_t emp = query1("SELECT id FROM subject WHERE kind = 'employee' LIMIT 1", "");
	refused_read(&t, emp, NULL, c, sizeof(c));
	assert_string_equal(a, c);
	/* HR may read employees, not students: a student and nothing alike */
	struct actor h = as_user(user_with_role("hr"), true);
	int64_t student = query1("SELECT id FROM subject WHERE kind = 'student' LIMIT 1", "");
	refused_read(&h, student, NULL, a, sizeof(a));
	refused_read(&h, 987654, NULL, b, sizeof(b));
	assert_string_equal(a, b);
	/* it_admin registers subjects and reads none */
	struct actor it = as_user(user_with_role("it_admin"), true);
	refused_read(&it, student, NULL, a, sizeof(a));
	refused_read(&it, 987654, NULL, b, sizeof(b));
	assert_string_equal(a, b);
	/* the designee without a purpose hears why (a rule reaches every
	 * student); of an id nobody has, only the plain refusal */
	struct actor d = as_user(1, true);
	refused_read(&d, student, NULL, a, sizeof(a));
	assert_non_null(strstr(a, "purpose"));
	refused_read(&d, 987654, NULL, b, sizeof(b));
	assert_null(strstr(b, "purpose"));
	/* a contractor whose agreement ended hears that, whoever is asked about */
	int64_t expired = query1("SELECT u.id FROM app_user u JOIN agreement a ON a.id = "
				 "u.agreement_id WHERE a.ends_at < ? LIMIT 1",
				 "i", time_now());
	assert_true(expired > 0);
	struct actor v = as_user(expired, true);
	refused_read(&v, student, NULL, a, sizeof(a));
	refused_read(&v, 987654, NULL, b, sizeof(b));
	refused_read(&v, emp, NULL, c, sizeof(c));
	assert_string_equal(a, b);
	assert_string_equal(a, c);
	assert_non_null(strstr(a, "ended"));
	/* the log knows which was which */
	struct audit_query q = {.subject_id = 987654, .after_seq = -1, .limit = 100};
	json_t *events = NULL;
	int64_t next;
	ASSERT_OK(audit_query(st->audit, &q, &events, &next, &ts_err));
	assert_true(json_array_size(events) >= 5);
	bool says = false;
	size_t i;
	json_t *ev;
	json_array_foreach(events, i, ev) says |= strstr(json_string_value(json_object_get(ev, "reason")), "no subject 987654") != NULL;
	assert_true(says);
	json_decref(events);
}

/* True if the file holds the bytes. */
static bool file_has(const char *name, const char *needle)
{
	char *path = xasprintf("%s/%s", data, name);
	size_t n = ts_file_count(path, needle, strlen(needle));
	free(path);
	return n > 0;
}

static void test_search(void **state)
{
	(void)state;
	int64_t teacher = user_with_role("teacher");
	struct actor t = as_user(teacher, true);
	/* a student the teacher teaches, and one out of reach; their names
	 * and external ids, as the system knows them */
	int64_t mine = query1("SELECT subject_id FROM relationship WHERE user_id = ? AND kind = "
			      "'teacher_of' LIMIT 1",
			      "i", teacher);
	int64_t org = query1("SELECT organization_id FROM app_user WHERE id = ?", "i", teacher);
	int64_t theirs = query1("SELECT id FROM subject WHERE kind = 'student' AND organization_id "
				"<> ? AND id NOT IN (SELECT subject_id FROM relationship WHERE "
				"user_id = ? AND subject_id IS NOT NULL) LIMIT 1",
				"ii", org, teacher);
	/* a new name that appears nowhere else */
	ASSERT_OK(subject_update(st, &ts_system, mine,
				 &(struct subject_change){.external_id = "ZQX-4471", .given_name = "Oriane",
							  .family_name = "Vandersloot"},
				 &ts_err));
	ASSERT_OK(subject_update(st, &ts_system, theirs,
				 &(struct subject_change){.external_id = "ZQX-4472", .given_name = "Oriane",
							  .family_name = "Vandersloot"},
				 &ts_err));
	json_t *o = NULL;
	struct subject_query q = {.external_id = " zqx-4471 ", .kind = "student"};
	ASSERT_OK(subject_search(st, &t, &q, &o, &ts_err));
	json_t *list = json_object_get(o, "subjects");
	assert_int_equal(json_array_size(list), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "id")), mine);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "family_name")),
			    "Vandersloot");
	json_decref(o);
	/* without a kind: every kind's index */
	q.kind = NULL;
	ASSERT_OK(subject_search(st, &t, &q, &o, &ts_err));
	assert_int_equal(json_array_size(json_object_get(o, "subjects")), 1);
	json_decref(o);
	/* out of reach reads as nothing at all: the same answer as an id
	 * nobody has */
	q.external_id = "ZQX-4472";
	ASSERT_OK(subject_search(st, &t, &q, &o, &ts_err));
	char *a = json_dumps(o, JSON_SORT_KEYS);
	json_decref(o);
	q.external_id = "ZQX-0000";
	ASSERT_OK(subject_search(st, &t, &q, &o, &ts_err));
	char *b = json_dumps(o, JSON_SORT_KEYS);
	json_decref(o);
	assert_string_equal(a, b);
	free(a);
	free(b);
	/* by name: both share it, the teacher sees one; the system both */
	struct subject_query qn = {.family_name = "VANDERSLOOT", .given_name = "  oriane"};
	ASSERT_OK(subject_search(st, &t, &qn, &o, &ts_err));
	assert_int_equal(json_array_size(json_object_get(o, "subjects")), 1);
	json_decref(o);
	qn.given_name = NULL;
	ASSERT_OK(subject_search(st, &ts_system, &qn, &o, &ts_err));
	assert_int_equal(json_array_size(json_object_get(o, "subjects")), 2);
	json_decref(o);
	/* bad input is refused, naming the field */
	struct st_error e = {0};
	struct subject_query bad = {.given_name = "Oriane"};
	assert_int_equal(subject_search(st, &t, &bad, &o, &e), ST_EINVAL);
	assert_string_equal(e.field, "family_name");
	bad = (struct subject_query){.external_id = "x", .kind = "alien"};
	assert_int_equal(subject_search(st, &t, &bad, &o, &e), ST_EINVAL);
	assert_string_equal(e.field, "kind");
	bad = (struct subject_query){.external_id = "x", .limit = SUBJECT_LIST_MAX + 1};
	assert_int_equal(subject_search(st, &t, &bad, &o, &e), ST_EINVAL);
	assert_string_equal(e.field, "limit");
	/* the log says a search by external id and name happened, and what
	 * it returned: never the terms */
	static const char *const files[] = {"audit.db", "audit-journal-0", "audit-journal-1",
					    "steward.db"};
	static const char *const terms[] = {"ZQX-447", "zqx-447", "Vandersloot", "VANDERSLOOT",
					    "vandersloot", "Oriane", "oriane"};
	for (size_t f = 0; f < ARRAY_LEN(files); f++)
		for (size_t k = 0; k < ARRAY_LEN(terms); k++)
			if (file_has(files[f], terms[k]))
				fail_msg("%s holds \"%s\"", files[f], terms[k]);
	struct audit_query aq = {.user_id = teacher, .after_seq = -1, .limit = 1000};
	json_t *events = NULL;
	int64_t next;
	ASSERT_OK(audit_query(st->audit, &aq, &events, &next, &ts_err));
	int searches = 0;
	size_t i;
	json_t *ev;
	json_array_foreach(events, i, ev) {
		if (!str_eq(json_string_value(json_object_get(ev, "action")), "subject.search"))
			continue;
		searches++;
		json_t *d = json_object_get(ev, "detail");
		assert_non_null(json_object_get(d, "by"));
	}
	assert_int_equal(searches, 5); /* the refused ones were bad input, not searches */
	json_decref(events);
}

/* Pages through a list, checking each subject on it is one the person
 * may read; returns how many. */
static int page_all(struct actor *who, struct subject_query q, int64_t *ids, int max)
{
	int n = 0;
	for (int pages = 0; pages < 1000; pages++) {
		json_t *o = NULL;
		ASSERT_OK(subject_search(st, who, &q, &o, &ts_err));
		json_t *list = json_object_get(o, "subjects");
		assert_true(json_array_size(list) <= (size_t)(q.limit ? q.limit : SUBJECT_LIST_DEFAULT));
		size_t i;
		json_t *x;
		json_array_foreach(list, i, x) {
			assert_true(n < max);
			ids[n++] = json_integer_value(json_object_get(x, "id"));
		}
		json_t *next = json_object_get(o, "next");
		if (!next) {
			json_decref(o);
			return n;
		}
		q.after = json_integer_value(next);
		json_decref(o);
	}
	fail_msg("the list never ended");
	return n;
}

static void test_lists_page_through_what_one_may_read(void **state)
{
	(void)state;
	struct policy *p = steward_policy(st);
	int64_t nsubjects = query1("SELECT MAX(id) FROM subject", "");
	const char *roles[] = {"teacher", "nurse", "hr", "principal", "it_admin", "counselor"};
	for (size_t r = 0; r < ARRAY_LEN(roles); r++) {
		int64_t u = user_with_role(roles[r]);
		struct actor who = as_user(u, true);
		int64_t ids[1024];
		int n = page_all(&who, (struct subject_query){.limit = 3, .status = "all"}, ids, 1024);
		int want = 0;
		for (int64_t s = 1; s <= nsubjects; s++) {
			unsigned fields;
			enum mask_kind masks[SF_COUNT];
			expected(p, u, s, true, NULL, &fields, masks);
			bool listed = false;
			for (int i = 0; i < n; i++)
				listed |= ids[i] == s;
			if (listed != (fields != 0))
				fail_msg("%s %lld: subject %lld listed %d, readable %d", roles[r],
					 (long long)u, (long long)s, listed, fields != 0);
			want += fields != 0;
		}
		assert_int_equal(n, want);
		if (str_eq(roles[r], "it_admin"))
			assert_int_equal(n, 0);
		else
			assert_true(n > 0);
	}
	policy_unref(p);
	/* filters: a kind and a school */
	int64_t ids[1024];
	int64_t org = query1("SELECT id FROM organization WHERE code = 'school-001'", "");
	int n = page_all((struct actor *)&ts_system,
			 (struct subject_query){.kind = "student", .organization = "school-001",
						.limit = 100},
			 ids, 1024);
	assert_int_equal(n, query1("SELECT COUNT(*) FROM subject WHERE kind = 'student' AND "
				   "organization_id = ? AND status = 'active'",
				   "i", org));
	struct st_error e = {0};
	json_t *o = NULL;
	/* an unknown school matches nothing, as a school without such subjects */
	ASSERT_OK(subject_search(st, &ts_system,
				 &(struct subject_query){.organization = "no-such-school"}, &o, &ts_err));
	assert_int_equal(json_array_size(json_object_get(o, "subjects")), 0);
	json_decref(o);
	assert_int_equal(subject_search(st, &ts_system, &(struct subject_query){.status = "gone"}, &o,
					&e),
			 ST_EINVAL);
	assert_string_equal(e.field, "status");
}

static void test_records_of_a_subject(void **state)
{
	(void)state;
	struct policy *p = steward_policy(st);
	int64_t nurse = user_with_role("nurse");
	int64_t org = query1("SELECT organization_id FROM app_user WHERE id = ?", "i", nurse);
	int64_t student = query1("SELECT s.id FROM subject s WHERE s.organization_id = ? AND "
				 "EXISTS (SELECT 1 FROM record r WHERE r.subject_id = s.id AND "
				 "r.category = 'health') AND EXISTS (SELECT 1 FROM record r WHERE "
				 "r.subject_id = s.id AND r.category = 'academic') LIMIT 1",
				 "i", org);
	assert_true(student > 0);
	for (int mfa = 0; mfa < 2; mfa++) {
		struct actor n = as_user(nurse, mfa);
		int64_t seen = 0, after = 0;
		for (;;) {
			json_t *o = NULL;
			struct record_query q = {.limit = 1, .after = after};
			ASSERT_OK(subject_records(st, &n, student, &q, &o, &ts_err));
			json_t *list = json_object_get(o, "records");
			assert_true(json_array_size(list) <= 1);
			json_t *x = json_array_get(list, 0);
			if (x) {
				const char *cat = json_string_value(json_object_get(x, "category"));
				struct access_request r = {
					.user = (uint32_t)nurse, .action = ACT_READ,
					.subject = (uint64_t)student,
					.category = inventory_category(p->inv, cat)->index, .mfa = mfa,
					.now = time_now()};
				struct decision d;
				assert_true(policy_decide(p, st->model, &r, &d));
				seen++;
			}
			json_t *next = json_object_get(o, "next");
			after = next ? json_integer_value(next) : 0;
			json_decref(o);
			if (!after)
				break;
		}
		/* exactly the records of the categories the nurse may read */
		int64_t want = 0;
		for (size_t c = 0; c < p->inv->ncats; c++) {
			struct access_request r = {.user = (uint32_t)nurse, .action = ACT_READ,
						   .subject = (uint64_t)student, .category = (int)c,
						   .mfa = mfa, .now = time_now()};
			struct decision d;
			if (policy_decide(p, st->model, &r, &d))
				want += query1("SELECT COUNT(*) FROM record WHERE subject_id = ? AND "
					       "category = ? AND deleted_at IS NULL",
					       "it", student, p->inv->cats[c].name);
		}
		assert_int_equal(seen, want);
		/* health records appear only with multi-factor */
		json_t *o = NULL;
		ASSERT_OK(subject_records(st, &n, student, &(struct record_query){.category = "health"},
					  &o, &ts_err));
		assert_int_equal(json_array_size(json_object_get(o, "records")) > 0, mfa);
		json_decref(o);
	}
	/* a teacher elsewhere: refused, in the same words as an id nobody has */
	int64_t teacher = query1("SELECT u.id FROM app_user u JOIN user_role r ON r.user_id = u.id "
				 "WHERE r.role = 'teacher' AND u.organization_id <> ? LIMIT 1",
				 "i", org);
	struct actor t = as_user(teacher, true);
	json_t *o = NULL;
	struct st_error e1 = {0}, e2 = {0};
	assert_int_equal(subject_records(st, &t, student, &(struct record_query){0}, &o, &e1),
			 ST_EDENIED);
	assert_int_equal(subject_records(st, &t, 987654, &(struct record_query){0}, &o, &e2),
			 ST_EDENIED);
	assert_string_equal(e1.message, e2.message);
	/* an undeclared category is bad input; a declared one out of reach an
	 * empty list */
	assert_int_equal(subject_records(st, &ts_system, student,
					 &(struct record_query){.category = "horoscope"}, &o, &e1),
			 ST_EINVAL);
	assert_string_equal(e1.field, "category");
	policy_unref(p);
}

static bool list_has(const json_t *list, const char *name)
{
	size_t i;
	json_t *x;
	json_array_foreach(list, i, x) if (str_eq(json_string_value(x), name)) return true;
	return false;
}

static void test_edits_and_deactivation(void **state)
{
	(void)state;
	int64_t it = user_with_role("it_admin");
	struct actor a = as_user(it, true);
	/* moving a subject opens its records to a school's staff: that is the
	 * designee's, whose duties reach them (nobody confers access they
	 * could not use themselves) */
	struct actor dz = as_user(1, true);
	int64_t id = 0;
	struct subject_input in = {.kind = "student", .external_id = "NEW-1", .given_name = "Ines",
				   .family_name = "Arrabal", .date_of_birth = "2014-02-03",
				   .organization = "school-001"};
	ASSERT_OK(subject_create(st, &a, &in, &id, &ts_err));
	/* it_admin registers and changes, but reads nothing back */
	json_t *o = NULL;
	struct st_error e = {0};
	assert_int_equal(subject_read(st, &a, id, NULL, &o, &e), ST_EDENIED);
	ASSERT_OK(subject_update(st, &a, id,
				 &(struct subject_change){.family_name = "Arrabal Ruiz",
							  .external_id = "NEW-1B",
							  .clear_date_of_birth = true},
				 &ts_err));
	ASSERT_OK(subject_get(st, &ts_system, id, &o, &ts_err));
	assert_string_equal(json_string_value(json_object_get(o, "family_name")), "Arrabal Ruiz");
	assert_string_equal(json_string_value(json_object_get(o, "external_id")), "NEW-1B");
	assert_null(json_object_get(o, "date_of_birth"));
	json_decref(o);
	/* the blind indexes follow: the old name and id find nothing */
	ASSERT_OK(subject_search(st, &ts_system, &(struct subject_query){.external_id = "NEW-1"}, &o,
				 &ts_err));
	assert_int_equal(json_array_size(json_object_get(o, "subjects")), 0);
	json_decref(o);
	ASSERT_OK(subject_search(st, &ts_system,
				 &(struct subject_query){.family_name = "arrabal ruiz", .given_name = "INES"},
				 &o, &ts_err));
	assert_int_equal(json_array_size(json_object_get(o, "subjects")), 1);
	json_decref(o);
	/* the event names the fields, never their values */
	assert_false(file_has("audit.db", "Arrabal"));
	assert_false(file_has("steward.db", "Arrabal"));
	/* refused: bad input and conflicts change nothing */
	int64_t other = query1("SELECT id FROM subject WHERE kind = 'student' AND id <> ? LIMIT 1", "i", id);
	json_t *before = NULL;
	ASSERT_OK(subject_get(st, &ts_system, other, &before, &ts_err));
	assert_int_equal(subject_update(st, &a, other, &(struct subject_change){.external_id = "NEW-1B"}, &e),
			 ST_ECONFLICT);
	assert_string_equal(e.field, "external_id");
	assert_int_equal(subject_update(st, &a, other,
					&(struct subject_change){.given_name = "X", .date_of_birth = "2014-13-45"},
					&e),
			 ST_EINVAL);
	assert_string_equal(e.field, "date_of_birth");
	assert_int_equal(subject_update(st, &a, other, &(struct subject_change){.given_name = ""}, &e),
			 ST_EINVAL);
	assert_int_equal(subject_update(st, &a, other, &(struct subject_change){.status = "gone"}, &e),
			 ST_EINVAL);
	assert_int_equal(subject_update(st, &a, other, &(struct subject_change){0}, &e), ST_EINVAL);
	assert_int_equal(subject_update(st, &dz, other, &(struct subject_change){.organization = "no-such"}, &e),
			 ST_EINVAL);
	int64_t org_before = query1("SELECT COALESCE(organization_id, 0) FROM subject WHERE id = ?", "i", other);
	assert_int_equal(subject_update(st, &a, other, &(struct subject_change){.organization = "school-002"}, &e),
			 ST_EDENIED);
	assert_non_null(strstr(e.message, "could not read yourself"));
	assert_int_equal(query1("SELECT COALESCE(organization_id, 0) FROM subject WHERE id = ?", "i", other),
			 org_before);
	assert_int_equal(subject_update(st, &a, 987654, &(struct subject_change){.given_name = "Y"}, &e),
			 ST_ENOTFOUND);
	json_t *after = NULL;
	ASSERT_OK(subject_get(st, &ts_system, other, &after, &ts_err));
	json_object_del(before, "masked");
	json_object_del(after, "masked");
	assert_true(json_equal(before, after));
	json_decref(before);
	json_decref(after);
	/* a teacher has no power over subjects */
	struct actor t = as_user(user_with_role("teacher"), true);
	assert_int_equal(subject_update(st, &t, id, &(struct subject_change){.given_name = "Z"}, &e),
			 ST_EDENIED);

	/* deactivated: not deleted, records stay readable, nothing else changes
	 * until it is reactivated */
	json_t *fields = json_pack("{s:s}", "grade_level", "4");
	struct record_input ri = {.subject_id = id, .category = "directory", .fields = fields};
	int64_t rec = 0;
	ASSERT_OK(record_create(st, &ts_system, &ri, &rec, &ts_err));
	json_decref(fields);
	ASSERT_OK(subject_update(st, &a, id, &(struct subject_change){.status = "inactive"}, &ts_err));
	assert_int_equal(subject_update(st, &a, id, &(struct subject_change){.status = "inactive"}, &e),
			 ST_ECONFLICT);
	assert_int_equal(subject_update(st, &a, id, &(struct subject_change){.given_name = "Inés"}, &e),
			 ST_ECONFLICT);
	assert_string_equal(e.code, "inactive");
	ASSERT_OK(record_read(st, &ts_system, rec, NULL, &o, &ts_err));
	json_decref(o);
	assert_int_equal(query1("SELECT COUNT(*) FROM subject WHERE id = ?", "i", id), 1);
	/* out of the default list, in the list of the inactive */
	ASSERT_OK(subject_search(st, &ts_system, &(struct subject_query){.external_id = "NEW-1B"}, &o,
				 &ts_err));
	assert_int_equal(json_array_size(json_object_get(o, "subjects")), 0);
	json_decref(o);
	ASSERT_OK(subject_search(st, &ts_system,
				 &(struct subject_query){.external_id = "NEW-1B", .status = "inactive"},
				 &o, &ts_err));
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(o, "subjects"), 0), "status")),
			    "inactive");
	json_decref(o);
	/* an organization with active people stays active */
	int64_t org = query1("SELECT id FROM organization WHERE code = 'school-002'", "");
	assert_int_equal(organization_update(st, &a, org, NULL, "inactive", &e), ST_ECONFLICT);
	assert_string_equal(e.code, "in_use");
	/* an organization of its own, emptied, is deactivated and then named
	 * nowhere new */
	int64_t annex = 0;
	ASSERT_OK(organization_create(st, &a, "annex", "The Annex", "school", &annex, &ts_err));
	ASSERT_OK(subject_update(st, &dz, id,
				 &(struct subject_change){.status = "active", .organization = "annex"},
				 &ts_err));
	assert_int_equal(organization_update(st, &a, annex, NULL, "inactive", &e), ST_ECONFLICT);
	ASSERT_OK(subject_update(st, &a, id, &(struct subject_change){.status = "inactive"}, &ts_err));
	ASSERT_OK(organization_update(st, &a, annex, "The Old Annex", "inactive", &ts_err));
	assert_int_equal(subject_update(st, &a, id, &(struct subject_change){.status = "active"}, &e),
			 ST_ECONFLICT);
	assert_string_equal(e.field, "organization");
	in.external_id = "NEW-2";
	in.organization = "annex";
	int64_t id2 = 0;
	assert_int_equal(subject_create(st, &a, &in, &id2, &e), ST_EINVAL);
	assert_string_equal(e.code, "inactive_organization");
	ASSERT_OK(subject_update(st, &dz, id,
				 &(struct subject_change){.status = "active", .organization = "school-001"},
				 &ts_err));
	/* a move takes effect on the very next decision */
	assert_int_equal(query1("SELECT organization_id FROM subject WHERE id = ?", "i", id),
			 query1("SELECT id FROM organization WHERE code = 'school-001'", ""));
	assert_int_equal(model_subject_org(st->model, (uint64_t)id),
			 (uint32_t)query1("SELECT id FROM organization WHERE code = 'school-001'", ""));
	ASSERT_OK(organization_update(st, &a, annex, NULL, "active", &ts_err));
	/* the teacher cannot touch organizations */
	assert_int_equal(organization_update(st, &t, annex, "Mine", NULL, &e), ST_EDENIED);
	/* each change is on record with the fields it wrote */
	struct audit_query aq = {.subject_id = id, .after_seq = -1, .limit = 1000};
	json_t *events = NULL;
	int64_t next;
	ASSERT_OK(audit_query(st->audit, &aq, &events, &next, &ts_err));
	bool updated = false, deactivated = false, reactivated = false;
	size_t i;
	json_t *ev;
	json_array_foreach(events, i, ev) {
		const char *act = json_string_value(json_object_get(ev, "action"));
		const char *out = json_string_value(json_object_get(ev, "outcome"));
		if (!str_eq(out, "allow"))
			continue;
		json_t *w = json_object_get(ev, "written");
		updated |= str_eq(act, "subject.update") && list_has(w, "family_name");
		deactivated |= str_eq(act, "subject.deactivate") && list_has(w, "status");
		reactivated |= str_eq(act, "subject.update") && list_has(w, "status");
	}
	assert_true(updated && deactivated && reactivated);
	json_decref(events);
}

static void test_people_lists(void **state)
{
	(void)state;
	struct actor hr = as_user(user_with_role("hr"), true);
	struct actor it = as_user(user_with_role("it_admin"), true);
	struct actor t = as_user(user_with_role("teacher"), true);
	struct actor nomfa = as_user(user_with_role("hr"), false);
	json_t *o = NULL;
	struct st_error e = {0};
	/* every user, page by page */
	int64_t seen = 0, after = 0;
	for (;;) {
		ASSERT_OK(user_list(st, &hr, &(struct user_filter){.limit = 7, .after = after}, &o, &ts_err));
		json_t *list = json_object_get(o, "users");
		assert_true(json_array_size(list) <= 7);
		seen += (int64_t)json_array_size(list);
		json_t *next = json_object_get(o, "next");
		after = next ? json_integer_value(next) : 0;
		json_decref(o);
		if (!after)
			break;
	}
	assert_int_equal(seen, query1("SELECT COUNT(*) FROM app_user", ""));
	/* by role, with the roles listed */
	ASSERT_OK(user_list(st, &it, &(struct user_filter){.role = "nurse"}, &o, &ts_err));
	size_t i;
	json_t *u;
	json_array_foreach(json_object_get(o, "users"), i, u)
		assert_string_equal(json_string_value(json_array_get(json_object_get(u, "roles"), 0)), "nurse");
	assert_int_equal((int64_t)json_array_size(json_object_get(o, "users")),
			 query1("SELECT COUNT(*) FROM user_role WHERE role = 'nurse'", ""));
	json_decref(o);
	/* a search in names, any case; the text is not logged */
	ASSERT_OK(user_list(st, &hr, &(struct user_filter){.q = "VENDOR 2 SUP"}, &o, &ts_err));
	assert_int_equal(json_array_size(json_object_get(o, "users")), 1);
	json_decref(o);
	ASSERT_OK(user_list(st, &hr, &(struct user_filter){.q = "100%_"}, &o, &ts_err));
	assert_int_equal(json_array_size(json_object_get(o, "users")), 0);
	json_decref(o);
	assert_false(file_has("audit.db", "VENDOR 2 SUP"));
	/* refused: no power, no multi-factor, bad filters */
	assert_int_equal(user_list(st, &t, &(struct user_filter){0}, &o, &e), ST_EDENIED);
	assert_int_equal(user_list(st, &nomfa, &(struct user_filter){0}, &o, &e), ST_EDENIED);
	assert_int_equal(user_list(st, &hr, &(struct user_filter){.role = "wizard"}, &o, &e), ST_EINVAL);
	assert_string_equal(e.field, "role");
	assert_int_equal(user_list(st, &hr, &(struct user_filter){.limit = FIND_MAX + 1}, &o, &e), ST_EINVAL);
	assert_string_equal(e.field, "limit");
	assert_int_equal(user_list(st, &hr, &(struct user_filter){.status = "asleep"}, &o, &e), ST_EINVAL);
	assert_string_equal(e.field, "status");

	/* organizations by code, paged */
	ASSERT_OK(organization_find(st, &it, &(struct organization_filter){.limit = 1}, &o, &ts_err));
	assert_int_equal(json_array_size(json_object_get(o, "organizations")), 1);
	char first[64];
	str_copy(first, sizeof(first), json_string_value(json_object_get(o, "next")));
	json_decref(o);
	ASSERT_OK(organization_find(st, &it, &(struct organization_filter){.limit = 1, .after = first}, &o, &ts_err));
	assert_true(strcmp(json_string_value(json_object_get(json_array_get(json_object_get(o, "organizations"), 0), "code")), first) > 0);
	json_decref(o);
	assert_int_equal(organization_find(st, &t, &(struct organization_filter){0}, &o, &e), ST_EDENIED);

	/* relationships of one user; the designee reviews them, the teacher
	 * does not */
	int64_t teacher = t.user_id;
	struct actor dz = as_user(1, true);
	assert_int_equal(relationship_list(st, &it, &(struct relationship_filter){.user = teacher}, &o, &e),
			 ST_EDENIED);
	ASSERT_OK(relationship_list(st, &dz, &(struct relationship_filter){.user = teacher, .limit = 200}, &o, &ts_err));
	assert_int_equal((int64_t)json_array_size(json_object_get(o, "relationships")),
			 query1("SELECT COUNT(*) FROM relationship WHERE user_id = ? AND removed_at IS NULL", "i", teacher));
	json_decref(o);
	ASSERT_OK(relationship_list(st, &ts_system, &(struct relationship_filter){.kind = "supervisor_of", .status = "all"}, &o, &ts_err));
	json_array_foreach(json_object_get(o, "relationships"), i, u)
		assert_string_equal(json_string_value(json_object_get(u, "kind")), "supervisor_of");
	json_decref(o);
	assert_int_equal(relationship_list(st, &t, &(struct relationship_filter){0}, &o, &e), ST_EDENIED);
	assert_int_equal(relationship_list(st, &dz, &(struct relationship_filter){.kind = "friend"}, &o, &e), ST_EINVAL);
	assert_string_equal(e.field, "kind");
	/* each list is one event, refusals too */
	struct audit_query aq = {.user_id = t.user_id, .after_seq = -1, .limit = 1000};
	json_t *events = NULL;
	int64_t next;
	ASSERT_OK(audit_query(st->audit, &aq, &events, &next, &ts_err));
	int denied = 0;
	json_array_foreach(events, i, u) {
		const char *act = json_string_value(json_object_get(u, "action"));
		if ((str_eq(act, "user.list") || str_eq(act, "organization.list") ||
		     str_eq(act, "relationship.list")) &&
		    str_eq(json_string_value(json_object_get(u, "outcome")), "deny"))
			denied++;
	}
	assert_int_equal(denied, 3);
	json_decref(events);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads_agree_with_decide),
		cmocka_unit_test(test_missing_reads_as_unreachable),
		cmocka_unit_test(test_search),
		cmocka_unit_test(test_lists_page_through_what_one_may_read),
		cmocka_unit_test(test_records_of_a_subject),
		cmocka_unit_test(test_edits_and_deactivation),
		cmocka_unit_test(test_people_lists),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
