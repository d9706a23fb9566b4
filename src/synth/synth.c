/*
 * synth.c - the deterministic synthetic district (see synth.h).
 */
#include "access/access_internal.h"
#include "synth/synth.h"
#include "steward/records.h"

static uint64_t next(uint64_t *s)
{
	/* splitmix64: small, fast, and the same everywhere */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t pick(uint64_t *s, uint32_t n)
{
	return n ? (uint32_t)(next(s) % n) : 0;
}

static const char *const given_names[] = {
	"Ava", "Liam", "Olivia", "Noah", "Emma", "Elijah", "Sophia", "Mateo", "Isabella",
	"Lucas", "Mia", "Levi", "Amelia", "Ezra", "Harper", "Kai", "Evelyn", "Jayden",
	"Aaliyah", "Malik", "Zoe", "Diego", "Nora", "Arjun", "Layla", "Hiro", "Fatima", "Luca"};
static const char *const family_names[] = {
	"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
	"Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson",
	"Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Nguyen", "Patel", "Kim",
	"Okafor", "Schmidt", "Kowalski", "Haddad"};

struct staff {
	int64_t id;
	int64_t subject; /* the employee's own subject (personnel records) */
	int school;
	const char *role;
};

static json_t *record_fields(uint64_t *s, const char *category, int64_t now)
{
	char date[16];
	time_format_date(now - (int64_t)pick(s, 300) * 86400, date);
	static const char *const courses[] = {"Algebra I", "Biology", "English 9",
					      "World History", "Chemistry", "Art"};
	static const char *const grades[] = {"A", "B", "C", "D", "B+", "A-"};
	if (str_eq(category, "directory"))
		return json_pack("{s:s, s:s}", "grade_level", "9", "enrollment_status", "enrolled");
	if (str_eq(category, "academic"))
		return json_pack("{s:s, s:s, s:s}", "course", courses[pick(s, 6)], "term", "2026-fall",
				 "grade", grades[pick(s, 6)]);
	if (str_eq(category, "attendance"))
		return json_pack("{s:s, s:s}", "date", date, "status",
				 pick(s, 10) ? "present" : "absent_excused");
	if (str_eq(category, "discipline"))
		return json_pack("{s:s, s:s, s:s}", "incident_date", date, "offense",
				 "disruption", "action_taken", "conference");
	if (str_eq(category, "health"))
		return json_pack("{s:s, s:s}", "immunizations", "up to date", "conditions",
				 pick(s, 5) ? "none" : "asthma");
	if (str_eq(category, "special_education"))
		return json_pack("{s:s, s:s, s:s}", "disability_category", "specific learning disability",
				 "iep_date", date, "services", "resource room, 5 hours a week");
	if (str_eq(category, "child_abuse_report"))
		return json_pack("{s:s, s:s}", "report_date", date, "reported_to",
				 "Children's Division hotline");
	if (str_eq(category, "personnel"))
		return json_pack("{s:s, s:s}", "position", "Staff", "hire_date", date);
	if (str_eq(category, "payroll")) {
		char ssn[48];
		snprintf(ssn, sizeof(ssn), "%03u-%02u-%04u", 100 + pick(s, 500), 10 + pick(s, 89),
			 1000 + pick(s, 8999));
		return json_pack("{s:s, s:f}", "ssn", ssn, "annual_salary",
				 40000.0 + pick(s, 40000));
	}
	if (str_eq(category, "background_check")) {
		char dob[48];
		snprintf(dob, sizeof(dob), "19%02u-0%u-1%u", 60 + pick(s, 38), 1 + pick(s, 9),
			 pick(s, 9));
		return json_pack("{s:s, s:s, s:s}", "check_date", date, "result", "clear",
				 "date_of_birth", dob);
	}
	return json_object();
}

void synth_generate(const struct synth_options *o, const struct synth_sink *k,
		    struct synth_report *r)
{
	memset(r, 0, sizeof(*r));
	uint64_t s = o->seed ? o->seed : 0x5354455741524431ULL; /* "STEWARD1" */
	int schools = o->schools > 0 ? o->schools : 2;
	int per_school = (o->students > 0 ? o->students : 100) / schools;
	if (per_school < 1)
		per_school = 1;
	int64_t now = o->now ? o->now : time_now();
	const int64_t year = 365 * 86400;
	char code[64], name[96], uname[64], ext[32], dob[48];

	/* organizations */
	char (*org_codes)[24] = xcalloc((size_t)schools, sizeof(*org_codes));
	for (int i = 0; i < schools; i++) {
		snprintf(org_codes[i], sizeof(org_codes[i]), "school-%03d", i + 1);
		snprintf(name, sizeof(name), "%s %s School", family_names[pick(&s, 28)],
			 i % 3 == 0 ? "High" : (i % 3 == 1 ? "Middle" : "Elementary"));
		k->organization(k->ctx, org_codes[i], name, "school");
		r->organizations++;
	}
	/* vendors: one covering everyone, one expired, one for a single school */
	static const char *const lms_cats[] = {"directory", "academic", "attendance"};
	static const char *const health_cats[] = {"health"};
	static const char *const tutor_cats[] = {"academic"};
	const char *all_orgs[256];
	size_t norgs = 0;
	for (int i = 0; i < schools && i < 256; i++)
		all_orgs[norgs++] = org_codes[i];
	int64_t ag_lms = k->agreement(k->ctx, "Learning Platform Inc.", lms_cats, 3, all_orgs, norgs,
				      now - year / 2, now + year);
	int64_t ag_health = k->agreement(k->ctx, "Health Screening LLC", health_cats, 1, all_orgs,
					 norgs, now - 2 * year, now - year / 4);
	int64_t ag_tutor = k->agreement(k->ctx, "Tutoring Partners", tutor_cats, 1, all_orgs, 1,
					now - year / 3, now + year / 2);
	r->agreements = 3;

	int nstaff_per = per_school * 6 / 100;
	if (nstaff_per < 10)
		nstaff_per = 10; /* a principal, a nurse, a counselor, sped staff, teachers */
	int total_staff = nstaff_per * schools + 8;
	struct staff *staff = xcalloc((size_t)total_staff, sizeof(*staff));
	int nstaff = 0;
	int uid_counter = 0;
	/* the user and their own employee subject */
	for (int sc = -1; sc < schools; sc++) {
		int n = sc < 0 ? 6 : nstaff_per;
		for (int j = 0; j < n && !k->failed(k->ctx); j++) {
			const char *role;
			if (sc < 0)
				role = (const char *[]){"designee", "hr", "hr", "attorney", "it_admin",
							"board_member"}[j];
			else if (j == 0)
				role = "principal";
			else if (j <= 1 + nstaff_per / 50)
				role = "nurse";
			else if (j <= 2 + nstaff_per / 50 + nstaff_per / 25)
				role = "counselor";
			else if (j <= 3 + nstaff_per / 50 + nstaff_per / 25 + nstaff_per / 20)
				role = "sped_staff";
			else if (j == n - 1)
				role = "volunteer";
			else
				role = "teacher";
			const char *given = given_names[pick(&s, 28)];
			const char *family = family_names[pick(&s, 28)];
			snprintf(uname, sizeof(uname), "%c%s%d", given[0] | 0x20, family,
				 ++uid_counter);
			for (char *c = uname; *c; c++)
				*c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
			snprintf(name, sizeof(name), "%s %s", given, family);
			struct synth_user u = {
				.username = uname,
				.display_name = name,
				.kind = str_eq(role, "volunteer")
						? "volunteer"
						: (str_eq(role, "board_member") ? "board_member"
										: "employee"),
				.organization = sc < 0 ? "district" : org_codes[sc],
				.position = role,
				.roles = {role},
				.nroles = 1,
				/* 90% trained this year, the rest expired */
				.trained_at = pick(&s, 10) ? now - (int64_t)pick(&s, 300) * 86400
							   : now - year - 30 * 86400,
				.suspended_until = pick(&s, 33) ? 0 : now + 30 * 86400,
			};
			if (sc < 0 && j < 4) {
				u.trained_at = now - 10 * 86400; /* the district office is trained */
				u.suspended_until = 0;
			}
			if (str_eq(role, "teacher") && pick(&s, 20) == 0)
				u.roles[u.nroles++] = "sped_staff";
			int64_t id = k->user(k->ctx, &u);
			r->users++;
			snprintf(ext, sizeof(ext), "E%06d", uid_counter);
			int64_t subj = 0;
			if (!str_eq(u.kind, "volunteer") && !str_eq(u.kind, "board_member")) {
				subj = k->subject(k->ctx, "employee", ext, given, family, NULL,
						  u.organization);
				r->subjects++;
			}
			staff[nstaff++] = (struct staff){id, subj, sc, role};
		}
	}
	/* contractors */
	int64_t ags[3] = {ag_lms, ag_health, ag_tutor};
	for (int v = 0; v < 3 && !k->failed(k->ctx); v++) {
		snprintf(uname, sizeof(uname), "vendor%d.support", v + 1);
		snprintf(name, sizeof(name), "Vendor %d support", v + 1);
		struct synth_user u = {.username = uname, .display_name = name, .kind = "contractor",
				       .organization = org_codes[0], .position = "contractor",
				       .roles = {"contractor"}, .nroles = 1, .agreement = ags[v],
				       .trained_at = now - 20 * 86400};
		k->user(k->ctx, &u);
		r->users++;
	}
	/* supervisors: each principal supervises the staff of their school */
	for (int i = 0; i < nstaff && !k->failed(k->ctx); i++) {
		if (staff[i].school < 0 || !str_eq(staff[i].role, "principal"))
			continue;
		for (int j = 0; j < nstaff; j++)
			if (j != i && staff[j].school == staff[i].school && staff[j].subject) {
				k->relationship(k->ctx, staff[i].id, staff[j].subject, "supervisor_of",
						"org-chart");
				r->relationships++;
			}
	}
	/* employee records */
	if (o->records)
		for (int i = 0; i < nstaff && !k->failed(k->ctx); i++) {
			if (!staff[i].subject)
				continue;
			static const char *const cats[] = {"personnel", "payroll", "background_check"};
			for (size_t c = 0; c < 3; c++) {
				json_t *f = record_fields(&s, cats[c], now);
				k->record(k->ctx, staff[i].subject, cats[c], f);
				json_decref(f);
				r->records++;
			}
		}
	/* students, their classes, caseloads and records */
	for (int sc = 0; sc < schools && !k->failed(k->ctx); sc++) {
		int teachers[4096], nt = 0, counselors[256], nc = 0, sped[256], nsp = 0;
		for (int i = 0; i < nstaff; i++) {
			if (staff[i].school != sc)
				continue;
			if (str_eq(staff[i].role, "teacher") && nt < 4096)
				teachers[nt++] = i;
			else if (str_eq(staff[i].role, "counselor") && nc < 256)
				counselors[nc++] = i;
			else if (str_eq(staff[i].role, "sped_staff") && nsp < 256)
				sped[nsp++] = i;
		}
		for (int st = 0; st < per_school && !k->failed(k->ctx); st++) {
			const char *given = given_names[pick(&s, 28)];
			const char *family = family_names[pick(&s, 28)];
			snprintf(ext, sizeof(ext), "S%07d", sc * per_school + st + 1);
			snprintf(dob, sizeof(dob), "20%02u-%02u-%02u", 8 + pick(&s, 10), 1 + pick(&s, 12),
				 1 + pick(&s, 28));
			int64_t subj = k->subject(k->ctx, "student", ext, given, family, dob,
						  org_codes[sc]);
			r->subjects++;
			/* six classes: six teachers of the school */
			for (int c = 0; c < 6 && nt; c++) {
				int t = teachers[(st + c * 7 + pick(&s, 3)) % nt];
				snprintf(code, sizeof(code), "class:%s-%d", org_codes[sc], (st + c) % 40);
				k->relationship(k->ctx, staff[t].id, subj, "teacher_of", code);
				r->relationships++;
			}
			if (nc) {
				k->relationship(k->ctx, staff[counselors[st % nc]].id, subj,
						"counselor_caseload", "caseload");
				r->relationships++;
			}
			bool is_sped = pick(&s, 100) < 14;
			if (is_sped && nsp) {
				k->relationship(k->ctx, staff[sped[st % nsp]].id, subj, "sped_caseload",
						"caseload");
				r->relationships++;
			}
			if (!o->records)
				continue;
			const char *cats[8];
			size_t n = 0;
			cats[n++] = "directory";
			cats[n++] = "academic";
			cats[n++] = "attendance";
			cats[n++] = "health";
			if (is_sped)
				cats[n++] = "special_education";
			else if (pick(&s, 10) < 6)
				cats[n++] = "discipline";
			if (pick(&s, 50) == 0)
				cats[n++] = "child_abuse_report";
			for (size_t c = 0; c < n; c++) {
				json_t *f = record_fields(&s, cats[c], now);
				k->record(k->ctx, subj, cats[c], f);
				json_decref(f);
				r->records++;
			}
		}
	}
	free(staff);
	free(org_codes);
}

/* --- the library sink ---------------------------------------------------- */

struct lib_sink {
	struct steward *st;
	const struct actor *who;
	struct st_error *e;
	int rc;
};

#define LIB_STEP(call)                                                                     \
	do {                                                                               \
		if (l->rc == ST_OK)                                                        \
			l->rc = (call);                                                    \
	} while (0)

static int lib_failed(void *ctx)
{
	return ((struct lib_sink *)ctx)->rc != ST_OK;
}

static int64_t lib_org(void *ctx, const char *code, const char *name, const char *kind)
{
	struct lib_sink *l = ctx;
	int64_t id = 0;
	LIB_STEP(organization_create(l->st, l->who, code, name, kind, &id, l->e));
	return id;
}

static int64_t lib_agreement(void *ctx, const char *vendor, const char *const *cats, size_t ncat,
			     const char *const *orgs, size_t norgs, int64_t start, int64_t end)
{
	struct lib_sink *l = ctx;
	struct agreement_input in = {vendor, cats, ncat, orgs, norgs, "services to the district",
				     start, end};
	int64_t id = 0;
	LIB_STEP(agreement_create(l->st, l->who, &in, &id, l->e));
	return id;
}

static int64_t lib_user(void *ctx, const struct synth_user *u)
{
	struct lib_sink *l = ctx;
	struct user_input in = {.username = u->username, .display_name = u->display_name,
				.kind = u->kind, .organization = u->organization,
				.position = u->position, .roles = u->roles, .nroles = u->nroles,
				.agreement = u->agreement};
	int64_t id = 0, tid = 0, sid = 0;
	LIB_STEP(user_create(l->st, l->who, &in, &id, l->e));
	if (u->trained_at)
		LIB_STEP(training_record(l->st, l->who, id, "student-records-confidentiality",
					 u->trained_at, &tid, l->e));
	if (u->suspended_until)
		LIB_STEP(suspension_create(l->st, l->who, id, "temporary", u->suspended_until,
					   "synthetic: pending review", &sid, l->e));
	return id;
}

static int64_t lib_subject(void *ctx, const char *kind, const char *ext, const char *given,
			   const char *family, const char *dob, const char *org)
{
	struct lib_sink *l = ctx;
	struct subject_input in = {kind, ext, given, family, dob, str_eq(org, "district") ? NULL : org};
	int64_t id = 0;
	LIB_STEP(subject_create(l->st, l->who, &in, &id, l->e));
	return id;
}

static int64_t lib_rel(void *ctx, int64_t user, int64_t subject, const char *kind,
		       const char *source)
{
	struct lib_sink *l = ctx;
	struct relationship_input in = {.user = user, .subject = subject, .kind = kind,
					.source = source};
	int64_t id = 0;
	LIB_STEP(relationship_create(l->st, l->who, &in, &id, l->e));
	return id;
}

static int64_t lib_record(void *ctx, int64_t subject, const char *category, json_t *fields)
{
	struct lib_sink *l = ctx;
	struct record_input in = {.subject_id = subject, .category = category, .fields = fields,
				  .source = "synthetic"};
	int64_t id = 0;
	LIB_STEP(record_create(l->st, l->who, &in, &id, l->e));
	return id;
}

int synth_district(struct steward *st, const struct actor *who, const struct synth_options *o,
		   struct synth_report *r, struct st_error *e)
{
	struct lib_sink l = {st, who, e, ST_OK};
	struct synth_sink sink = {&l, lib_org, lib_agreement, lib_user, lib_subject, lib_rel,
				  lib_record, lib_failed};
	synth_generate(o, &sink, r);
	return l.rc;
}
