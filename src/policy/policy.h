/*
 * policy.h - the need-to-know decision: rules (who may do what to which
 * categories, through which relationships, under which conditions, with
 * which obligations), the live facts they read (users, relationships,
 * suspensions, training, agreements), and decide(), which every access
 * passes.
 *
 * Deny by default. The built-in guards cannot be switched off by a rule:
 * the account must be active and not suspended; confidential and
 * restricted categories need current confidentiality training; restricted
 * categories need multi-factor authentication in this session; a
 * contractor acts only inside an active agreement covering the category and
 * the subject's school. Forbid rules override allow rules.
 *
 * Thread-safety: a struct policy is an immutable, reference-counted
 * snapshot. The facts (struct model) are read under a read lock and changed
 * under a write lock, so a change takes effect on the very next decision.
 */
#ifndef STEWARD_POLICY_H
#define STEWARD_POLICY_H

#include <pthread.h>

#include "inventory/inventory.h"

enum action {
	ACT_READ = 0,
	ACT_CREATE,
	ACT_UPDATE,
	ACT_DELETE,
	ACT_EXPORT,
	ACT_DISCLOSE,
	ACT_COUNT
};

/* How a user is related to a subject. The first five are stored
 * relationships; the last three are derived from other facts. */
enum relkind {
	REL_TEACHER_OF = 0,     /* teaches a class the student is enrolled in */
	REL_COUNSELOR_CASELOAD,
	REL_SPED_CASELOAD,
	REL_SUPERVISOR_OF,      /* supervises the employee */
	REL_GRANT,              /* an explicit grant: categories, purpose, period */
	REL_SCHOOL_STAFF,       /* works at the subject's school */
	REL_DISTRICT,           /* district-wide */
	REL_AGREEMENT,          /* a contractor's agreement covers the subject's school */
	REL_COUNT
};

enum mask_kind { MASK_NONE = 0, MASK_REDACT, MASK_LAST4, MASK_HASH, MASK_NULL, MASK_YEAR };

enum user_kind { UK_EMPLOYEE = 0, UK_CONTRACTOR, UK_BOARD_MEMBER, UK_VOLUNTEER, UK_COUNT };
enum user_status { US_ACTIVE = 0, US_DISABLED, US_SEPARATED };

const char *action_name(enum action a);
int action_parse(const char *s, enum action *out);
const char *relkind_name(enum relkind k);
int relkind_parse(const char *s, enum relkind *out);
bool relkind_stored(enum relkind k);
const char *mask_name(enum mask_kind k);
int user_kind_parse(const char *s, enum user_kind *out);
const char *user_kind_name(enum user_kind k);
int user_status_parse(const char *s, enum user_status *out);
const char *user_status_name(enum user_status s);

/* Administrative permissions: acts on the system rather than on records. */
enum admin_perm {
	ADM_USERS = 0,      /* create users, change roles and status */
	ADM_SUSPENSIONS,    /* suspend and reinstate access */
	ADM_TRAINING,       /* record training completions */
	ADM_AGREEMENTS,     /* contractor agreements */
	ADM_RELATIONSHIPS,  /* assign and remove need-to-know relationships */
	ADM_SUBJECTS,       /* register subjects and look them up */
	ADM_POLICY,         /* change the rules */
	ADM_INVENTORY,      /* change the data inventory */
	ADM_REVIEW,         /* who-can, what-can, explain, read the rules */
	ADM_AUDIT_READ,     /* query the access log about anyone */
	ADM_AUDIT_EXPORT,   /* export evidence packages */
	ADM_ACCESS,         /* confer access to records: grant roles whose rules
			     * read records (held apart from ADM_USERS; a rule
			     * document without it gives it to ADM_POLICY's roles) */
	ADM_COUNT
};
const char *admin_perm_name(enum admin_perm p);

#define POLICY_MAX_ROLES 32
#define POLICY_MAX_RULES 512
#define RULE_MAX_MASKS 16

struct mask_rule {
	const char *field;
	enum mask_kind kind;
};

struct rule {
	const char *id;
	const char *description;
	bool forbid;
	uint32_t roles;       /* roles the rule applies to */
	uint32_t designated;  /* forbid with except_roles: the roles excepted */
	uint8_t actions;      /* bit per enum action */
	uint64_t categories;  /* bit per inventory category index */
	uint16_t through;     /* allow: bit per enum relkind */
	bool need_purpose;
	bool need_mfa;
	bool disclosure;      /* record a disclosure (FERPA 99.32) */
	struct mask_rule masks[RULE_MAX_MASKS];
	int nmasks;
};

struct policy {
	int version;
	json_t *doc; /* owns the strings */
	struct inventory *inv; /* the inventory the categories were compiled against */
	const char *roles[POLICY_MAX_ROLES];
	const char *role_titles[POLICY_MAX_ROLES];
	int nroles;
	struct rule rules[POLICY_MAX_RULES];
	int nrules;
	/* compiled: rule indexes per action and category, in file order */
	uint16_t *allow_by[ACT_COUNT][INV_MAX_CATEGORIES];
	uint16_t nallow_by[ACT_COUNT][INV_MAX_CATEGORIES];
	uint16_t *forbid_by[ACT_COUNT][INV_MAX_CATEGORIES];
	uint16_t nforbid_by[ACT_COUNT][INV_MAX_CATEGORIES];
	uint32_t admin_roles[ADM_COUNT]; /* roles holding each permission */
	char training_course[64];
	enum classification training_from;
	enum classification mfa_from;
	int refs;
};

/* Parses, validates and compiles a rule document against an inventory.
 * Errors name the path of the key at fault ("rules[3].categories"). */
int policy_parse(const char *text, size_t len, struct inventory *inv, struct policy **out,
		 struct st_error *e);
struct policy *policy_ref(struct policy *p);
void policy_unref(struct policy *p);
int policy_role(const struct policy *p, const char *name);
/* Warnings about rules that can never apply or that conflict (for
 * `steward policy check`); a JSON array of {"rule", "problem"}. */
json_t *policy_lint(const struct policy *p);

/* --- the facts ------------------------------------------------------------ */

struct model;

struct model *model_new(void);
void model_free(struct model *m);
void model_rdlock(struct model *m);
void model_wrlock(struct model *m);
void model_unlock(struct model *m);
/* Moves src's facts into dst under dst's write lock, and frees src with
 * dst's old facts. */
void model_replace(struct model *dst, struct model *src);
/* Bytes held by the decision structures. */
size_t model_memory(const struct model *m);

/* All setters take the write lock themselves unless named _locked. */
void model_user_set(struct model *m, uint32_t id, enum user_kind kind, enum user_status status,
		    uint32_t roles, uint32_t org, uint32_t agreement);
void model_user_roles(struct model *m, uint32_t id, uint32_t roles);
void model_user_status(struct model *m, uint32_t id, enum user_status status);
void model_subject_set(struct model *m, uint64_t id, uint32_t org);
void model_suspension_add(struct model *m, uint32_t user, int64_t id, int64_t from,
			  int64_t until, const char *kind);
void model_suspension_lift(struct model *m, uint32_t user, int64_t id);
void model_training_set(struct model *m, uint32_t user, int64_t expires);
void model_agreement_set(struct model *m, uint32_t id, uint64_t categories,
			 const uint32_t *orgs, size_t norgs, int64_t start, int64_t end,
			 const char *vendor);
/* Adds a stored relationship (subject != 0) or an organization-wide grant
 * (subject == 0, org != 0). categories applies to grants (0 = none). */
void model_rel_add(struct model *m, int64_t id, uint32_t user, uint64_t subject, uint32_t org,
		   enum relkind kind, uint64_t categories, int64_t start, int64_t end);
void model_rel_remove(struct model *m, int64_t id, uint32_t user, uint64_t subject, uint32_t org);
/* Unlocked bulk loading (before the model is shared). */
void model_rel_add_unlocked(struct model *m, int64_t id, uint32_t user, uint64_t subject,
			    uint32_t org, enum relkind kind, uint64_t categories, int64_t start,
			    int64_t end);
void model_reserve(struct model *m, size_t users, size_t subjects, size_t rels);

/* --- the decision -------------------------------------------------------- */

struct access_request {
	uint32_t user;
	enum action action;
	uint64_t subject;
	int category;        /* inventory category index */
	bool mfa;            /* multi-factor used in this session */
	const char *purpose; /* stated purpose, or NULL */
	int64_t now;         /* seconds */
	/* subject 0: every subject of this organization (0: of the whole
	 * district), reached through district-wide, school-wide or
	 * organization-wide relationships only */
	uint32_t org;
	/* Reach only: decide by the rules, the relationships and the
	 * agreement; the conditions a person meets by themselves (current
	 * training, multi-factor, a stated purpose) count as met. Asks what a
	 * person's duties reach, for "nobody confers access they could not
	 * use themselves" (access/confer.c). */
	bool reach;
};

enum reason {
	R_ALLOWED = 0,
	R_NO_USER,
	R_DISABLED,
	R_SEPARATED,
	R_SUSPENDED,
	R_FORBIDDEN,
	R_NO_RULE,
	R_NO_RELATIONSHIP,
	R_RELATIONSHIP_ENDED,
	R_RELATIONSHIP_NOT_STARTED,
	R_GRANT_CATEGORY,
	R_TRAINING_MISSING,
	R_TRAINING_EXPIRED,
	R_MFA_REQUIRED,
	R_PURPOSE_REQUIRED,
	R_AGREEMENT_MISSING,
	R_AGREEMENT_NOT_STARTED,
	R_AGREEMENT_ENDED,
	R_AGREEMENT_CATEGORY,
	R_AGREEMENT_ORGANIZATION,
	R_BAD_REQUEST,
	R_NO_PERMISSION, /* administrative: no role holds the permission */
};

struct decision {
	bool allow;
	enum reason reason;
	int rule;           /* deciding rule, or -1 */
	int role;           /* the role that matched, or -1 */
	enum relkind through;
	int64_t rel_id;     /* the stored relationship used or missing, or 0 */
	int64_t when;       /* a date the reason refers to */
	uint16_t wanted;    /* R_NO_RELATIONSHIP: the kinds that would do */
	uint32_t agreement;
};

/* Decides one request against a policy and the facts. Pure and fast: no
 * allocation, no I/O, no logging; an internal inconsistency denies. The
 * caller holds model_rdlock (policy_decide_locked) or not (policy_decide). */
ST_MUST_CHECK bool policy_decide(const struct policy *p, struct model *m,
				 const struct access_request *r, struct decision *d);
ST_MUST_CHECK bool policy_decide_locked(const struct policy *p, const struct model *m,
					const struct access_request *r, struct decision *d);
/* An administrative act: the account is active and not suspended, one of
 * its roles holds the permission, and the session used multi-factor
 * authentication. */
ST_MUST_CHECK bool policy_admin_decide(const struct policy *p, struct model *m, uint32_t user,
				       enum admin_perm perm, bool mfa, int64_t now,
				       struct decision *d);

/* What a refusal's reason is about, for deciding what the refused person
 * may be told: REASON_ACCOUNT - the person asking (no such account,
 * disabled, separated, suspended, a contractor's agreement missing, not
 * started or ended); REASON_CONDITION - a condition after a relationship
 * that held (training, multi-factor, a purpose); REASON_SUBJECT - what
 * tells something of the subject or record (forbidden, no rule, no
 * relationship, a grant or an agreement that does not cover it). */
enum reason_scope { REASON_ACCOUNT, REASON_CONDITION, REASON_SUBJECT };
enum reason_scope reason_scope(enum reason r);

/* --- the decision on a subject's identifying fields (policy/subject.c) ----- */

struct subject_decision {
	bool allow;          /* some identifying field may be shown */
	unsigned fields;     /* bit per enum subject_field shown */
	enum mask_kind masks[SF_COUNT]; /* per field shown: the strictest mask of
					 * the allowing rules that show it */
	uint64_t readable;   /* categories of the subject's records it may read */
	int rule, role;      /* the first allowing rule and its role, or -1 */
	uint32_t agreement;  /* the contractor's agreement used, or 0 */
	bool disclosure;     /* an allowing rule records a disclosure */
	/* when nothing may be shown: the most telling refusal and the category
	 * it was decided for (for decision_explain); refusal.reason's scope
	 * says what may be told */
	struct decision refusal;
	int refusal_category;
};

/* May r->user read subject r->subject's identifying fields, and which?
 * kind is the subject's enum subject_kind, or -1 for an id that names no
 * subject. The account is checked first (active, not suspended, a
 * contractor's agreement in force: refusals of scope REASON_ACCOUNT, the
 * same for any subject or none); then ACT_READ is decided, with
 * r->purpose and r->mfa, on every category of the inventory that applies
 * to the subject's kind (r->category and r->action are ignored). A category
 * allowed adds the fields it declares (inventory "subject_fields") and the
 * deciding rule's masks; a field shown by several is masked as the
 * strictest of them asks. An id that names no subject is never allowed and
 * is refused with REASON_ACCOUNT or the plain refusal (R_NO_RULE), as an
 * unreachable subject is. Pure, like policy_decide; takes the model's read
 * lock. */
ST_MUST_CHECK bool policy_decide_subject(const struct policy *p, struct model *m,
					 const struct access_request *r, int kind,
					 struct subject_decision *sd);

/* Plain words for a decision ("annual confidentiality training expired on
 * 2026-08-31"). */
void decision_explain(const struct policy *p, const struct model *m,
		      const struct access_request *r, const struct decision *d, char *out,
		      size_t size);

/* Applies the deciding rule's masks to a record's fields (in place):
 * masked receives the comma-separated names of the fields masked. hash_key
 * keys the hash mask so equal values can be matched without revealing them. */
void mask_fields(const struct rule *rule, json_t *fields, const unsigned char *hash_key,
		 struct buf *masked);
/* One value masked (exposed for tests). */
json_t *mask_value(enum mask_kind kind, const json_t *value, const unsigned char *hash_key);

/* Introspection for who-can / what-can (policy/review.c). */
struct model_user_view {
	bool exists;
	enum user_kind kind;
	enum user_status status;
	uint32_t roles, org, agreement;
};
bool model_user_view(const struct model *m, uint32_t id, struct model_user_view *out);
uint32_t model_user_count(const struct model *m);
uint32_t model_subject_org(const struct model *m, uint64_t subject);
uint64_t model_subject_count(const struct model *m);
/* Calls fn for every live stored relationship of a user. */
void model_user_relationships(const struct model *m, uint32_t user,
			      void (*fn)(void *ctx, uint64_t subject, uint32_t org,
					 enum relkind kind, uint64_t categories, int64_t start,
					 int64_t end, int64_t id),
			      void *ctx);

#endif
