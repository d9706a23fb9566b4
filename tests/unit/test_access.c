/*
 * test_access.c - need-to-know decisions through the library, on a small
 * synthetic district: who-can agrees with decide on every user x subject
 * pair; a suspension, a removed relationship or new rules change the very
 * next decision; refusals are logged with the same detail as allowances;
 * masking and disclosures apply to what is returned (the JSON text a server
 * sends and the library's tree alike); administrative acts
 * need the permission, multi-factor, and never serve self-promotion.
 */
#include <pthread.h>

#include "testsupport.h"
#include "access/access_internal.h"
#include "synth/synth.h"
#include "steward/evidence.h"
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
	struct synth_options o = {.seed = 42, .schools = 2, .students = 80, .records = true};
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

static struct actor as_user(int64_t id)
{
	return (struct actor){.user_id = id, .via = "test", .mfa = true, .session_id = "s-1",
			      .client = "192.0.2.7", .request_id = "r-1"};
}

static void test_district_built(void **state)
{
	(void)state;
	assert_int_equal(rep.organizations, 2);
	assert_true(rep.subjects >= 80);
	assert_true(rep.relationships >= 80 * 7);
	assert_true(rep.records >= 80 * 5);
	assert_int_equal(query1("SELECT COUNT(*) FROM record", ""), rep.records);
	/* deterministic: the same seed, the same district */
	assert_int_equal(query1("SELECT COUNT(*) FROM relationship", ""), rep.relationships);
}

static void test_who_can_agrees_with_decide(void **state)
{
	(void)state;
	struct policy *p = steward_policy(st);
	int64_t nsubjects = query1("SELECT MAX(id) FROM subject", "");
	int64_t nusers = query1("SELECT MAX(id) FROM app_user", "");
	int64_t pairs = 0, allowed = 0;
	for (int64_t s = 1; s <= nsubjects; s++) {
		json_t *out = NULL;
		ASSERT_OK(access_who_can(st, &ts_system, NULL, s, "read", &out, &ts_err));
		json_t *users = json_object_get(out, "users");
		for (int64_t u = 1; u <= nusers; u++)
			for (size_t c = 0; c < p->inv->ncats; c++) {
				struct access_request r = {.user = (uint32_t)u, .action = ACT_READ,
							   .subject = (uint64_t)s, .category = (int)c,
							   .mfa = true, .purpose = "review",
							   .now = time_now()};
				struct decision d;
				bool want = policy_decide(p, st->model, &r, &d);
				bool listed = false;
				size_t i;
				json_t *x;
				json_array_foreach(users, i, x) if (
					json_integer_value(json_object_get(x, "id")) == u &&
					str_eq(json_string_value(json_object_get(x, "category")),
					       p->inv->cats[c].name)) listed = true;
				if (want != listed)
					fail_msg("user %lld subject %lld %s: decide %d, who-can %d",
						 (long long)u, (long long)s, p->inv->cats[c].name, want,
						 listed);
				pairs++;
				allowed += want;
			}
		json_decref(out);
	}
	assert_true(pairs > 10000);
	assert_true(allowed > 100);
	/* The category-wide lists, IDEA 300.623's among them: exactly those
	 * whose duties reach some subject's records of the category (decide,
	 * with training, multi-factor and a purpose taken as met), each with a
	 * name and a position; those shown with current training may read
	 * now. Nobody else: a rule for their role is not enough. */
	struct actor teacher = as_user(query1("SELECT user_id FROM user_role WHERE role = 'teacher' LIMIT 1", ""));
	int listed_total = 0, unlisted_total = 0;
	for (size_t cat = 0; cat < p->inv->ncats; cat++) {
		json_t *list = NULL;
		ASSERT_OK(access_who_can(st, &teacher, p->inv->cats[cat].name, 0, "read", &list,
					 &ts_err));
		json_t *users = json_object_get(list, "users");
		for (int64_t u = 1; u <= nusers; u++) {
			bool reach = false, now = false;
			for (int64_t s = 1; s <= nsubjects; s++) {
				struct access_request r = {.user = (uint32_t)u, .action = ACT_READ,
							   .subject = (uint64_t)s, .category = (int)cat,
							   .mfa = true, .purpose = "review",
							   .now = time_now()};
				struct decision d;
				now |= policy_decide(p, st->model, &r, &d);
				r.reach = true;
				reach |= policy_decide(p, st->model, &r, &d);
			}
			json_t *entry = NULL;
			size_t i;
			json_t *x;
			json_array_foreach(users, i, x) if (json_integer_value(json_object_get(x, "id")) == u)
				entry = x;
			if (reach != (entry != NULL))
				fail_msg("%s: user %lld reaches %d, listed %d", p->inv->cats[cat].name,
					 (long long)u, reach, entry != NULL);
			if (entry) {
				listed_total++;
				assert_true(strlen(json_string_value(json_object_get(entry, "display_name"))) > 0);
				assert_non_null(json_object_get(entry, "position"));
				if (json_is_true(json_object_get(entry, "training_current")) != now)
					fail_msg("%s: user %lld may read now %d, shown %d",
						 p->inv->cats[cat].name, (long long)u, now,
						 json_is_true(json_object_get(entry, "training_current")));
			} else {
				unlisted_total++;
			}
		}
		json_decref(list);
	}
	assert_true(listed_total > 20 && unlisted_total > 20);
	policy_unref(p);
}

/* A teacher, a student they teach, and one of its academic records. */
static void teacher_and_record(int64_t *teacher, int64_t *record, int64_t *rel)
{
	*rel = query1("SELECT r.id FROM relationship r JOIN record c ON c.subject_id = r.subject_id "
		      "AND c.category = 'academic' JOIN app_user u ON u.id = r.user_id "
		      "WHERE r.kind = 'teacher_of' AND r.removed_at IS NULL AND u.id NOT IN "
		      "(SELECT user_id FROM suspension) AND u.id IN (SELECT user_id FROM "
		      "training_completion WHERE expires_at > ?) ORDER BY r.id LIMIT 1",
		      "i", time_now());
	*teacher = query1("SELECT user_id FROM relationship WHERE id = ?", "i", *rel);
	*record = query1("SELECT c.id FROM record c JOIN relationship r ON r.subject_id = "
			 "c.subject_id WHERE r.id = ? AND c.category = 'academic' LIMIT 1",
			 "i", *rel);
	assert_true(*teacher > 0 && *record > 0);
}

static json_t *last_event(int64_t record)
{
	struct audit_query q = {.record_id = record, .after_seq = -1, .limit = 1000};
	json_t *events = NULL;
	int64_t next;
	ASSERT_OK(audit_query(st->audit, &q, &events, &next, &ts_err));
	json_t *ev = json_incref(json_array_get(events, json_array_size(events) - 1));
	json_decref(events);
	return ev;
}

static void test_changes_apply_to_the_next_decision(void **state)
{
	(void)state;
	int64_t teacher, record, rel;
	teacher_and_record(&teacher, &record, &rel);
	struct actor t = as_user(teacher);
	json_t *out = NULL;
	ASSERT_OK(record_read(st, &t, record, "grading", &out, &ts_err));
	json_decref(out);
	json_t *allow = last_event(record);
	assert_string_equal(json_string_value(json_object_get(allow, "outcome")), "allow");

	/* suspended between two decisions: the second is refused */
	int64_t sid = 0;
	ASSERT_OK(suspension_create(st, &ts_system, teacher, "pending_investigation", 0,
				    "report of a disclosure", &sid, &ts_err));
	struct st_error e = {0};
	out = NULL;
	assert_int_equal(record_read(st, &t, record, "grading", &out, &e), ST_EDENIED);
	assert_null(out);
	assert_non_null(strstr(e.message, "suspended"));
	/* the refusal is logged with the same detail as the allowance */
	json_t *deny = last_event(record);
	assert_string_equal(json_string_value(json_object_get(deny, "outcome")), "deny");
	static const char *const same[] = {"action", "user", "record", "subject", "category",
					   "purpose", "via", "session", "client", "request"};
	for (size_t i = 0; i < ARRAY_LEN(same); i++)
		if (!json_equal(json_object_get(allow, same[i]), json_object_get(deny, same[i])))
			fail_msg("the refusal's %s differs from the allowance's", same[i]);
	assert_non_null(strstr(json_string_value(json_object_get(deny, "reason")), "suspended"));
	json_decref(deny);
	json_decref(allow);
	ASSERT_OK(suspension_lift(st, &ts_system, teacher, sid, &ts_err));
	ASSERT_OK(record_read(st, &t, record, "grading", &out, &ts_err));
	json_decref(out);

	/* the relationship removed: refused at once */
	ASSERT_OK(relationship_remove(st, &ts_system, rel, &ts_err));
	int64_t other = query1("SELECT COUNT(*) FROM relationship WHERE user_id = ? AND subject_id = "
			       "(SELECT subject_id FROM record WHERE id = ?) AND removed_at IS NULL",
			       "ii", teacher, record);
	if (other == 0) {
		assert_int_equal(record_read(st, &t, record, "grading", &out, &e), ST_EDENIED);
		assert_non_null(strstr(e.message, "relationship"));
	}
	/* and the facts survive a restart exactly */
	steward_close(st);
	st = ts_open(data, NULL);
	if (other == 0)
		assert_int_equal(record_read(st, &t, record, "grading", &out, &e), ST_EDENIED);
}

static void test_masking_and_disclosure(void **state)
{
	(void)state;
	int64_t hr = query1("SELECT r.user_id FROM user_role r WHERE r.role = 'hr' AND r.user_id IN "
			    "(SELECT user_id FROM training_completion WHERE expires_at > ?) AND "
			    "r.user_id NOT IN (SELECT user_id FROM suspension) LIMIT 1",
			    "i", time_now());
	int64_t payroll = query1("SELECT id FROM record WHERE category = 'payroll' LIMIT 1", "");
	struct actor a = as_user(hr);
	json_t *out = NULL;
	ASSERT_OK(record_read(st, &a, payroll, "payroll run", &out, &ts_err));
	const char *ssn = json_string_value(json_object_get(json_object_get(out, "fields"), "ssn"));
	assert_true(str_has_prefix(ssn, "***-**-"));
	assert_int_equal(strlen(ssn), 11);
	json_t *masked = json_object_get(out, "masked");
	assert_string_equal(json_string_value(json_array_get(masked, 0)), "ssn");
	json_decref(out);
	json_t *ev = last_event(payroll);
	assert_string_equal(json_string_value(json_array_get(json_object_get(ev, "masked"), 0)), "ssn");
	json_decref(ev);
	int64_t check = query1("SELECT id FROM record WHERE category = 'background_check' LIMIT 1", "");
	ASSERT_OK(record_read(st, &a, check, "rehire", &out, &ts_err));
	assert_int_equal(strlen(json_string_value(
				 json_object_get(json_object_get(out, "fields"), "date_of_birth"))),
			 4); /* the year only */
	json_decref(out);

	/* a contractor under an active agreement: allowed, disclosure recorded;
	 * under an expired one: refused, saying when it ended */
	int64_t lms = query1("SELECT id FROM app_user WHERE username = 'vendor1.support'", "");
	int64_t old = query1("SELECT id FROM app_user WHERE username = 'vendor2.support'", "");
	int64_t rec = query1("SELECT c.id FROM record c JOIN subject s ON s.id = c.subject_id JOIN "
			     "organization o ON o.id = s.organization_id WHERE c.category = "
			     "'academic' AND o.code = 'school-001' LIMIT 1",
			     "");
	a = as_user(lms);
	ASSERT_OK(record_read(st, &a, rec, "course delivery", &out, &ts_err));
	assert_true(json_is_true(json_object_get(out, "disclosure_recorded")));
	json_decref(out);
	int64_t hrec = query1("SELECT c.id FROM record c JOIN subject s ON s.id = c.subject_id JOIN "
			      "organization o ON o.id = s.organization_id WHERE c.category = "
			      "'health' AND o.code = 'school-001' LIMIT 1",
			      "");
	a = as_user(old);
	struct st_error e = {0};
	assert_int_equal(record_read(st, &a, hrec, "screening", &out, &e), ST_EDENIED);
	assert_non_null(strstr(e.message, "ended on"));
}

/* Reads one record both ways: the JSON text a server sends and the tree
 * the library returns describe the same object (but for their own log
 * sequence numbers), the text is ASCII, and both reads are logged alike. */
static void expect_same_answer(const struct actor *a, int64_t record, int version,
			       const char *purpose)
{
	json_t *tree = NULL;
	if (version)
		ASSERT_OK(record_read_version(st, a, record, version, purpose, &tree, &ts_err));
	else
		ASSERT_OK(record_read(st, a, record, purpose, &tree, &ts_err));
	json_t *ev_tree = last_event(record);
	char *text = NULL;
	size_t len = 0;
	ASSERT_OK(record_read_text(st, a, record, version, purpose, &text, &len, &ts_err));
	json_t *ev_text = last_event(record);
	assert_int_equal(len, strlen(text));
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)text[i] >= 0x80)
			fail_msg("record %lld: byte %zu of the answer is not ASCII", (long long)record, i);
	json_error_t je;
	json_t *parsed = json_loads(text, 0, &je);
	if (!parsed)
		fail_msg("record %lld: the answer is not JSON (%s): %s", (long long)record, je.text,
			 text);
	assert_true(json_integer_value(json_object_get(parsed, "audit_seq")) >
		    json_integer_value(json_object_get(tree, "audit_seq")));
	json_object_del(parsed, "audit_seq");
	json_object_del(tree, "audit_seq");
	if (!json_equal(parsed, tree)) {
		char *a1 = json_dumps(tree, JSON_SORT_KEYS), *a2 = json_dumps(parsed, JSON_SORT_KEYS);
		fail_msg("record %lld: the answers differ\ntree: %s\ntext: %s", (long long)record, a1,
			 a2);
	}
	static const char *const same[] = {"outcome", "returned", "masked", "detail", "purpose",
					   "category"};
	for (size_t i = 0; i < ARRAY_LEN(same); i++)
		if (!json_equal(json_object_get(ev_tree, same[i]), json_object_get(ev_text, same[i])) &&
		    !(json_object_get(ev_tree, same[i]) == NULL &&
		      json_object_get(ev_text, same[i]) == NULL))
			fail_msg("record %lld: the reads were logged differently (%s)",
				 (long long)record, same[i]);
	assert_true(json_integer_value(json_object_get(ev_text, "seq")) >
		    json_integer_value(json_object_get(ev_tree, "seq")));
	json_decref(parsed);
	json_decref(tree);
	json_decref(ev_tree);
	json_decref(ev_text);
	free(text);
}

static void test_text_answers(void **state)
{
	(void)state;
	/* unmasked: the fields are served as sealed */
	int64_t teacher, record, rel;
	teacher_and_record(&teacher, &record, &rel);
	struct actor t = as_user(teacher);
	expect_same_answer(&t, record, 0, "grading");
	/* text outside ASCII, escapes and control characters in a value; an
	 * earlier version */
	int64_t subject = query1("SELECT subject_id FROM record WHERE id = ?", "i", record);
	json_t *f = json_pack("{s:s, s:s, s:s}", "course", "Fran\u00e7ais \u2014 na\u00efve",
			      "grade", "A\u2212", "comments",
			      "\U0001F600 emoji, \"quoted\" back\\slash /, tab\t, line\n, "
			      "\u00e9\u00e8 \u4e2d\u6587");
	struct record_input in = {.subject_id = subject, .category = "academic", .fields = f};
	int64_t rich = 0;
	ASSERT_OK(record_create(st, &ts_system, &in, &rich, &ts_err));
	json_decref(f);
	expect_same_answer(&t, rich, 0, "grading");
	json_t *patch = json_pack("{s:s}", "grade", "B+");
	int v = 0;
	ASSERT_OK(record_update(st, &ts_system, rich, NULL, patch, &v, &ts_err));
	json_decref(patch);
	expect_same_answer(&t, rich, 1, "grading");
	expect_same_answer(&t, rich, 0, "grading");
	/* masked fields (parsed, masked, then served) */
	int64_t hr = query1("SELECT r.user_id FROM user_role r WHERE r.role = 'hr' AND r.user_id IN "
			    "(SELECT user_id FROM training_completion WHERE expires_at > ?) AND "
			    "r.user_id NOT IN (SELECT user_id FROM suspension) LIMIT 1",
			    "i", time_now());
	struct actor h = as_user(hr);
	expect_same_answer(&h, query1("SELECT id FROM record WHERE category = 'payroll' LIMIT 1", ""),
			   0, "payroll run");
	expect_same_answer(&h,
			   query1("SELECT id FROM record WHERE category = 'background_check' LIMIT 1",
				  ""),
			   0, "rehire");
	/* a disclosure to a contractor */
	int64_t lms = query1("SELECT id FROM app_user WHERE username = 'vendor1.support'", "");
	int64_t acad = query1("SELECT c.id FROM record c JOIN subject s ON s.id = c.subject_id JOIN "
			      "organization o ON o.id = s.organization_id WHERE c.category = "
			      "'academic' AND o.code = 'school-001' LIMIT 1",
			      "");
	struct actor l = as_user(lms);
	expect_same_answer(&l, acad, 0, "course delivery");
	/* a refusal is the same refusal */
	struct st_error e1 = {0}, e2 = {0};
	json_t *out = NULL;
	char *text = NULL;
	size_t len = 0;
	int64_t health = query1("SELECT id FROM record WHERE category = 'health' LIMIT 1", "");
	assert_int_equal(record_read(st, &t, health, "grading", &out, &e1), ST_EDENIED);
	assert_int_equal(record_read_text(st, &t, health, 0, "grading", &text, &len, &e2),
			 ST_EDENIED);
	assert_null(out);
	assert_null(text);
	assert_string_equal(e1.message, e2.message);
}

/* Two administrators acting on each other at the same moment. */
static pthread_barrier_t duel_go;
struct duel {
	struct steward *st;
	const struct actor *who;
	int64_t target;
	int rc;
};

static void *duel_main(void *arg)
{
	struct duel *x = arg;
	struct st_error e = {0};
	pthread_barrier_wait(&duel_go);
	x->rc = user_set_status(x->st, x->who, x->target, "disabled", &e);
	return NULL;
}

static void test_administration(void **state)
{
	(void)state;
	int64_t teacher = query1("SELECT user_id FROM user_role WHERE role = 'teacher' LIMIT 1", "");
	int64_t itadmin = query1("SELECT user_id FROM user_role WHERE role = 'it_admin' LIMIT 1", "");
	int64_t designee = 1; /* the administrator made by init */
	struct actor t = as_user(teacher), it = as_user(itadmin), d = as_user(designee);
	struct st_error e = {0};
	int64_t id = 0;
	static const char *const roles_designee[] = {"designee"};
	static const char *const roles_teacher[] = {"teacher"};
	struct user_input in = {.username = "newhire", .display_name = "New Hire",
				.organization = "school-001", .roles = roles_teacher, .nroles = 1};
	/* a teacher may not create accounts: refused and logged */
	assert_int_equal(user_create(st, &t, &in, &id, &e), ST_EDENIED);
	assert_non_null(strstr(e.message, "may manage users"));
	/* IT may, but cannot hand out the designee's powers */
	in.roles = roles_designee;
	assert_int_equal(user_create(st, &it, &in, &id, &e), ST_EDENIED);
	assert_non_null(strstr(e.message, "administrative powers"));
	/* nor a role designated for what is kept from everyone else (a
	 * counselor reads abuse reports): only the designee may */
	static const char *const roles_counselor[] = {"counselor"};
	in.roles = roles_counselor;
	assert_int_equal(user_create(st, &it, &in, &id, &e), ST_EDENIED);
	assert_non_null(strstr(e.message, "designated"));
	/* nor any role whose rules read records: conferring access is the
	 * designee's, apart from managing accounts */
	in.roles = roles_teacher;
	assert_int_equal(user_create(st, &it, &in, &id, &e), ST_EDENIED);
	assert_non_null(strstr(e.message, "only designee"));
	in.roles = NULL;
	in.nroles = 0;
	ASSERT_OK(user_create(st, &it, &in, &id, &ts_err));
	ASSERT_OK(user_set_roles(st, &d, id, roles_teacher, 1, &ts_err));
	/* nobody gives themselves a need to know */
	struct relationship_input self_rel = {.user = designee, .subject = 5, .kind = "teacher_of"};
	int64_t rel_id = 0;
	assert_int_equal(relationship_create(st, &d, &self_rel, &rel_id, &e), ST_EDENIED);
	assert_non_null(strstr(e.message, "own relationships"));
	/* nobody changes their own roles */
	assert_int_equal(user_set_roles(st, &it, itadmin, roles_designee, 1, &e), ST_EDENIED);
	/* administrative acts need multi-factor */
	struct actor nomfa = d;
	nomfa.mfa = false;
	int64_t sid = 0;
	assert_int_equal(suspension_create(st, &nomfa, id, "temporary", time_now() + 86400, "x",
					   &sid, &e),
			 ST_EDENIED);
	assert_non_null(strstr(e.message, "multi-factor"));
	/* bad input is refused with the field named, before anything is written */
	assert_int_equal(suspension_create(st, &d, id, "forever", 0, "x", &sid, &e), ST_EINVAL);
	assert_string_equal(e.field, "kind");
	assert_int_equal(suspension_create(st, &d, id, "temporary", 0, "x", &sid, &e), ST_EINVAL);
	assert_string_equal(e.field, "until");
	ASSERT_OK(suspension_create(st, &d, id, "temporary", time_now() + 86400, "review", &sid,
				    &ts_err));
	/* nobody demotes, disables or suspends an account holding powers they lack */
	int64_t hr = query1("SELECT user_id FROM user_role WHERE role = 'hr' LIMIT 1", "");
	struct actor h = as_user(hr);
	assert_int_equal(user_set_roles(st, &it, designee, roles_teacher, 1, &e), ST_EDENIED);
	assert_non_null(strstr(e.message, "holds administrative powers yours does not"));
	assert_int_equal(user_set_status(st, &it, designee, "disabled", &e), ST_EDENIED);
	assert_int_equal(suspension_create(st, &h, designee, "pending_investigation", 0,
					   "a complaint", &sid, &e),
			 ST_EDENIED);
	assert_int_equal(query1("SELECT COUNT(*) FROM user_role WHERE user_id = 1 AND role = 'designee'", ""), 1);
	/* and no change leaves the district without anyone able to change the
	 * rules, even when two designees disable each other at the same moment */
	int64_t other = query1("SELECT user_id FROM user_role WHERE role = 'designee' AND user_id <> 1 "
			       "LIMIT 1", "");
	assert_true(other > 1);
	struct actor o = as_user(other);
	for (int round = 0; round < 20; round++) {
		struct duel a = {.st = st, .who = &d, .target = other};
		struct duel b = {.st = st, .who = &o, .target = designee};
		pthread_barrier_init(&duel_go, NULL, 2);
		pthread_t ta, tb;
		pthread_create(&ta, NULL, duel_main, &a);
		pthread_create(&tb, NULL, duel_main, &b);
		pthread_join(ta, NULL);
		pthread_join(tb, NULL);
		pthread_barrier_destroy(&duel_go);
		int64_t active = query1("SELECT COUNT(*) FROM app_user u JOIN user_role r ON r.user_id = u.id "
					"WHERE r.role = 'designee' AND u.status = 'active'", "");
		assert_true(active >= 1);
		assert_true(a.rc == ST_OK || b.rc == ST_OK);
		/* (the local system may always act: it is how a district recovers) */
		ASSERT_OK(user_set_status(st, &ts_system, a.rc == ST_OK ? other : designee, "active",
					  &ts_err));
	}
	/* a designee may not install rules under which they could no longer
	 * change them; the system may (recovery) */
	json_t *pdoc = NULL;
	int pver = 0;
	ASSERT_OK(policy_document(st, &d, &pdoc, &pver, &ts_err));
	json_object_set_new(json_object_get(pdoc, "administration"), "policy",
			    json_pack("[s]", "attorney"));
	char *ptext = json_dumps(pdoc, 0);
	assert_int_equal(policy_install(st, &d, ptext, "hand it over", &pver, &e), ST_EINVAL);
	assert_string_equal(e.field, "administration.policy");
	free(ptext);
	json_decref(pdoc);
	/* every refusal above reached the log */
	struct audit_query q = {.user_id = teacher, .outcome = "deny", .after_seq = -1};
	json_t *events = NULL;
	int64_t next;
	ASSERT_OK(audit_query(st->audit, &q, &events, &next, &ts_err));
	bool found = false;
	size_t i;
	json_t *ev;
	json_array_foreach(events, i, ev) found |= str_eq(json_string_value(json_object_get(ev, "action")),
						       "user.create");
	assert_true(found);
	json_decref(events);
	/* who-can about one student is not for everyone */
	json_t *out = NULL;
	assert_int_equal(access_who_can(st, &t, NULL, 5, "read", &out, &e), ST_EDENIED);
	ASSERT_OK(access_what_can(st, &t, teacher, &out, &ts_err)); /* about oneself: yes */
	assert_true(json_array_size(json_object_get(out, "relationships")) > 0);
	json_decref(out);
}

/* Nothing a person may not read reaches them through their own view of the
 * log: asking "why may I not read record N?" of every record, then reading
 * one's own events, must not map the district's health and abuse files. */
static void test_own_log_tells_no_more(void **state)
{
	(void)state;
	int64_t teacher, record, rel;
	teacher_and_record(&teacher, &record, &rel);
	struct actor t = as_user(teacher);
	/* records of every category this teacher may not read */
	struct store_conn *c;
	ASSERT_OK(store_acquire(st->db, &c, &ts_err));
	struct store_stmt *s;
	ASSERT_OK(store_prepare(c, "SELECT id, subject_id, category FROM record ORDER BY id", &s,
				&ts_err));
	int probed = 0;
	while (store_step(s, NULL) == STORE_ROW) {
		int64_t id = store_col_int(s, 0);
		json_t *out = NULL, *rec = NULL;
		struct st_error e = {0};
		if (record_read(st, &t, id, "check", &rec, &e) == ST_OK) {
			json_decref(rec);
			continue;
		}
		ASSERT_OK(access_explain(st, &t, teacher, "read", id, NULL, true, &out, &ts_err));
		assert_null(json_object_get(out, "category"));
		assert_null(json_object_get(out, "subject"));
		json_decref(out);
		probed++;
	}
	store_done(s);
	store_release(c);
	assert_true(probed > 10);
	struct evidence_filter f = {.user = teacher, .after = -1, .limit = 1000};
	json_t *events = NULL;
	int64_t next;
	ASSERT_OK(evidence_query(st, &t, &f, &events, &next, &ts_err));
	size_t i;
	json_t *ev;
	int seen = 0;
	json_array_foreach(events, i, ev) {
		const char *action = json_string_value(json_object_get(ev, "action"));
		const char *outcome = json_string_value(json_object_get(ev, "outcome"));
		if (!str_eq(outcome, "allow") || str_eq(action, "policy.explain")) {
			/* neither a refusal nor a withheld answer says what the record is */
			if (json_object_get(ev, "category") || json_object_get(ev, "subject") ||
			    json_object_get(ev, "rule") || json_object_get(ev, "detail"))
				fail_msg("own view of %s %s says more than was answered: %s", action,
					 outcome, json_dumps(ev, 0));
			seen++;
		}
	}
	assert_true(seen >= probed);
	json_decref(events);
	/* the designee's view of the same log keeps it all */
	struct actor d = as_user(1);
	events = NULL;
	ASSERT_OK(evidence_query(st, &d, &f, &events, &next, &ts_err));
	bool full = false;
	json_array_foreach(events, i, ev) full |=
		str_eq(json_string_value(json_object_get(ev, "action")), "policy.explain") &&
		json_object_get(ev, "category") != NULL;
	assert_true(full);
	json_decref(events);
}

static void test_client_keys(void **state)
{
	(void)state;
	char a[64], b[64], c[64], d[64];
	/* one IPv6 host can hold a whole /64: it counts as one address */
	access_client_key("2001:db8:1:2:3::4", a);
	access_client_key("2001:db8:1:2:ffff:ffff:ffff:9", b);
	access_client_key("2001:db8:1:3::1", c);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	access_client_key("192.0.2.7", d);
	assert_string_equal(d, "192.0.2.7");
	access_client_key("", d);
	assert_string_equal(d, "unknown");
}

static void test_rules_are_data(void **state)
{
	(void)state;
	int64_t teacher, record, rel;
	teacher_and_record(&teacher, &record, &rel);
	struct actor t = as_user(teacher), d = as_user(1);
	json_t *doc = NULL;
	int version = 0;
	ASSERT_OK(policy_document(st, &d, &doc, &version, &ts_err));
	assert_int_equal(version, 1);
	/* remove the teachers' rule: the next decision refuses */
	json_t *rules = json_object_get(doc, "rules");
	size_t i;
	json_t *r;
	json_array_foreach(rules, i, r) if (str_eq(json_string_value(json_object_get(r, "id")),
						  "teacher-class-records")) {
		json_array_remove(rules, i);
		break;
	}
	char *text = json_dumps(doc, 0);
	json_decref(doc);
	struct st_error e = {0};
	assert_int_equal(policy_install(st, &t, text, "no", &version, &e), ST_EDENIED);
	ASSERT_OK(policy_install(st, &d, text, "teachers lose access", &version, &ts_err));
	assert_int_equal(version, 2);
	free(text);
	json_t *out = NULL;
	assert_int_equal(record_read(st, &t, record, "grading", &out, &e), ST_EDENIED);
	/* only an explicit grant could still let a teacher in */
	assert_null(strstr(e.message, "teacher_of"));
	/* a broken document is refused, naming the place */
	assert_int_equal(policy_install(st, &d, "{\"format\":\"steward-policy/1\",\"roles\":{},"
						"\"rules\":[]}",
					 NULL, &version, &e),
			 ST_EINVAL);
	assert_string_equal(e.field, "roles");
	/* the inventory: a new field becomes writable, versions are kept */
	json_t *inv = NULL;
	int iv = 0;
	ASSERT_OK(inventory_document(st, &d, &inv, &iv, &ts_err));
	json_t *fields = json_object_get(json_object_get(json_object_get(inv, "categories"),
							 "attendance"),
					 "fields");
	json_object_set_new(fields, "period", json_pack("{s:s, s:s, s:s}", "type", "integer",
							 "purpose", "which class period",
							 "legal_basis", "RSMo 167.031"));
	text = json_dumps(inv, 0);
	ASSERT_OK(inventory_install(st, &d, text, "periods", &iv, &ts_err));
	assert_int_equal(iv, 2);
	free(text);
	/* removing a category the rules use is refused */
	json_object_del(json_object_get(inv, "categories"), "health");
	text = json_dumps(inv, 0);
	assert_int_equal(inventory_install(st, &d, text, NULL, &iv, &e), ST_EINVAL);
	assert_string_equal(e.code, "breaks_rules");
	free(text);
	json_decref(inv);
	int64_t student = query1("SELECT id FROM subject WHERE kind = 'student' LIMIT 1", "");
	json_t *f = json_pack("{s:s, s:s, s:i}", "date", "2026-10-01", "status", "present",
			      "period", 3);
	struct record_input ri = {.subject_id = student, .category = "attendance", .fields = f};
	int64_t rid = 0;
	ASSERT_OK(record_create(st, &ts_system, &ri, &rid, &ts_err));
	json_decref(f);
}

/* Every event of a list names its person as want (NULL: by id only). */
static void expect_names(json_t *events, const char *want_name, const char *want_position)
{
	assert_true(json_array_size(events) > 0);
	size_t i;
	json_t *ev;
	json_array_foreach(events, i, ev) {
		json_t *n = json_object_get(ev, "user_display_name");
		json_t *p = json_object_get(ev, "user_position");
		if (!want_name) {
			assert_null(n);
			assert_null(p);
			continue;
		}
		assert_string_equal(json_string_value(n), want_name);
		assert_string_equal(json_string_value(p), want_position);
		assert_null(json_object_get(ev, "username"));
	}
}

static void test_the_log_names_people_where_the_viewer_may_see_them(void **state)
{
	(void)state;
	int64_t teacher, record, rel;
	teacher_and_record(&teacher, &record, &rel);
	int64_t nurse = query1("SELECT r.user_id FROM user_role r JOIN app_user u ON u.id = r.user_id "
			       "WHERE r.role = 'nurse' AND u.status = 'active' AND r.user_id NOT IN "
			       "(SELECT user_id FROM suspension) AND r.user_id NOT IN (SELECT user_id "
			       "FROM user_role WHERE role <> 'nurse') LIMIT 1",
			       "");
	assert_true(nurse > 0);
	struct actor t = as_user(teacher), d = as_user(1), n = as_user(nurse);
	json_t *out = NULL;
	struct st_error e = {0};
	/* an event of the teacher's, allowed or not */
	if (record_read(st, &t, record, "grading", &out, &e) == ST_OK)
		json_decref(out);
	json_t *u = NULL;
	ASSERT_OK(user_get(st, &d, teacher, &u, &ts_err));
	const char *name = json_string_value(json_object_get(u, "display_name"));
	const char *position = json_string_value(json_object_get(u, "position"));
	struct evidence_filter f = {.user = teacher, .after = -1, .limit = 1000};
	json_t *events = NULL;
	int64_t next = -1;
	/* the designee (who may read accounts) sees who it was */
	ASSERT_OK(evidence_query(st, &d, &f, &events, &next, &ts_err));
	expect_names(events, name, position);
	json_decref(events);
	/* so does the teacher, of their own events */
	ASSERT_OK(evidence_query(st, &t, &f, &events, &next, &ts_err));
	expect_names(events, name, position);
	json_decref(events);
	/* someone who may read the log but not the accounts gets the id only */
	json_t *doc = NULL;
	int version = 0;
	ASSERT_OK(policy_document(st, &d, &doc, &version, &ts_err));
	char *before = json_dumps(doc, 0);
	json_array_append_new(json_object_get(json_object_get(doc, "administration"), "audit_read"),
			      json_string("nurse"));
	char *text = json_dumps(doc, 0);
	json_decref(doc);
	ASSERT_OK(policy_install(st, &d, text, "nurses read the log", &version, &ts_err));
	free(text);
	ASSERT_OK(evidence_query(st, &n, &f, &events, &next, &ts_err));
	expect_names(events, NULL, NULL);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(events, 0), "user")), teacher);
	json_decref(events);
	/* the system is named as such */
	struct evidence_filter all = {.after = -1, .limit = 1};
	ASSERT_OK(evidence_query(st, &n, &all, &events, &next, &ts_err));
	assert_null(json_object_get(json_array_get(events, 0), "user"));
	assert_string_equal(json_string_value(json_object_get(json_array_get(events, 0),
							      "user_display_name")),
			    "the system");
	json_decref(events);
	ASSERT_OK(policy_install(st, &d, before, "as it was", &version, &ts_err));
	free(before);
	json_decref(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_district_built),
		cmocka_unit_test(test_who_can_agrees_with_decide),
		cmocka_unit_test(test_changes_apply_to_the_next_decision),
		cmocka_unit_test(test_masking_and_disclosure),
		cmocka_unit_test(test_text_answers),
		cmocka_unit_test(test_administration),
		cmocka_unit_test(test_own_log_tells_no_more),
		cmocka_unit_test(test_client_keys),
		cmocka_unit_test(test_rules_are_data),
		cmocka_unit_test(test_the_log_names_people_where_the_viewer_may_see_them),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
