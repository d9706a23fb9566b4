/*
 * access.h - the people, relationships and rules that decide who may see
 * what, and the questions a district asks of them.
 *
 * Every function takes the acting person (struct actor) and passes one
 * decision: administrative acts need a role holding the permission in the
 * rules' "administration" section and a multi-factor session; every act,
 * allowed or refused, reaches the access log. A change takes effect on the
 * very next decision.
 *
 * Times are seconds since the epoch (UTC); 0 means "none" for optional ends.
 * json_t results are new references the caller must json_decref.
 */
#ifndef STEWARD_ACCESS_H
#define STEWARD_ACCESS_H

#include <jansson.h>

#include "steward/steward.h"

/* --- organizations and users ------------------------------------------- */
/* {"organizations": [{"id", "code", "name", "kind"}, ...]}, by code; for
 * those who manage accounts or subjects (logged). */
int organization_list(struct steward *st, const struct actor *who, json_t **out,
		      struct st_error *e);
int organization_create(struct steward *st, const struct actor *who, const char *code,
			const char *name, const char *kind, int64_t *id, struct st_error *e);
/* Renames an organization (name NULL: unchanged) or changes its status
 * ("active", "inactive"; NULL: unchanged), in one logged transaction; the
 * `subjects` power, as for creating one. An organization with active users
 * or subjects is not deactivated (ST_ECONFLICT "in_use"); an inactive one
 * cannot be named for new users, subjects, agreements or grants.
 * (organization.c) */
int organization_update(struct steward *st, const struct actor *who, int64_t id,
			const char *name, const char *status, struct st_error *e);

/* --- finding people, organizations and relationships (find.c) ------------- */
/* Each is a page of at most `limit` rows (1 to FIND_MAX; 0: FIND_DEFAULT)
 * after the cursor `after`, with "next" (the cursor for the following page)
 * while more may follow; filters are validated (ST_EINVAL naming them);
 * decided by an administrative power and logged as one event naming the
 * filters used (a search text only as present or not). */
#define FIND_DEFAULT 50
#define FIND_MAX 200

struct user_filter {
	const char *q;            /* text in the username or display name (any case) */
	const char *role;         /* a role of the rules */
	const char *status;       /* active, disabled, separated */
	const char *kind;         /* employee, contractor, board_member, volunteer */
	const char *organization; /* organization code */
	int64_t after;            /* user id */
	int limit;
};
/* {"users": [{"id", "username", "display_name", "kind", "status",
 *  "organization", "position", "agreement", "roles"}], "next"?}, by id; for
 * those who manage accounts (`users`) or review access (`review`). */
int user_list(struct steward *st, const struct actor *who, const struct user_filter *f,
	      json_t **out, struct st_error *e);

struct organization_filter {
	const char *kind;   /* school, department, district */
	const char *status; /* active, inactive */
	const char *after;  /* organization code */
	int limit;
};
/* {"organizations": [{"id", "code", "name", "kind", "status"}], "next"?}, by
 * code; for those who name organizations elsewhere (`users`, `subjects`,
 * `agreements`, `relationships`) or review access (`review`). */
int organization_find(struct steward *st, const struct actor *who,
		      const struct organization_filter *f, json_t **out, struct st_error *e);

struct relationship_filter {
	int64_t user, subject;    /* 0: any */
	const char *organization; /* code (organization-wide grants) */
	const char *kind;         /* teacher_of, counselor_caseload, ... grant */
	const char *status;       /* current (NULL: not removed), removed, all */
	int64_t after;            /* relationship id */
	int limit;
};
/* {"relationships": [{"id", "user", "subject", "organization", "kind",
 *  "categories", "purpose", "source", "start", "end", "created_at",
 *  "removed_at"}], "next"?}, by id; for those who assign relationships
 *  (`relationships`) or review access (`review`). */
int relationship_list(struct steward *st, const struct actor *who,
		      const struct relationship_filter *f, json_t **out, struct st_error *e);

struct user_input {
	const char *username;
	const char *display_name;
	const char *kind;         /* employee (default), contractor, board_member, volunteer */
	const char *organization; /* organization code */
	const char *position;
	const char *const *roles;
	size_t nroles;
	const char *password;     /* NULL: see issued_password */
	int64_t agreement;        /* contractors: their agreement */
	bool must_change_password;
	/* With no password: when not NULL, a random one-time password is made
	 * (the person must choose their own at first sign-in) and *issued_password
	 * receives it (malloc'd; the caller wipes and frees it) to hand over;
	 * when NULL the account cannot sign in with a password. */
	char **issued_password;
};
int user_create(struct steward *st, const struct actor *who, const struct user_input *in,
		int64_t *id, struct st_error *e);
/* {"id", "username", "display_name", "kind", "status", "organization",
 *  "position", "roles", "agreement", "suspensions", "training"} */
int user_get(struct steward *st, const struct actor *who, int64_t id, json_t **out,
	     struct st_error *e);
int user_find(struct steward *st, const char *username, int64_t *id, struct st_error *e);
int user_set_roles(struct steward *st, const struct actor *who, int64_t id,
		   const char *const *roles, size_t nroles, struct st_error *e);
/* status: active, disabled, separated */
int user_set_status(struct steward *st, const struct actor *who, int64_t id,
		    const char *status, struct st_error *e);
/* Roles (NULL: unchanged) and status (NULL: unchanged) together: every
 * check passes before anything is written, and both change or neither. */
int user_update(struct steward *st, const struct actor *who, int64_t id,
		const char *const *roles, size_t nroles, const char *status,
		struct st_error *e);

/* kind: pending_investigation, temporary, long_term, permanent. until 0 =
 * no end (required 0 for permanent; required > now for temporary and
 * long_term). Takes effect on the very next decision. */
int suspension_create(struct steward *st, const struct actor *who, int64_t user,
		      const char *kind, int64_t until, const char *reason, int64_t *id,
		      struct st_error *e);
int suspension_lift(struct steward *st, const struct actor *who, int64_t user, int64_t id,
		    struct st_error *e);

/* Records that a user completed a course on a date; it expires after the
 * course's validity (365 days for student-records-confidentiality). */
int training_record(struct steward *st, const struct actor *who, int64_t user,
		    const char *course, int64_t completed_at, int64_t *id, struct st_error *e);

struct agreement_input {
	const char *vendor;
	const char *const *categories;
	size_t ncategories;
	const char *const *organizations; /* organization codes */
	size_t norganizations;
	const char *purpose;
	int64_t start, end;
};
int agreement_create(struct steward *st, const struct actor *who,
		     const struct agreement_input *in, int64_t *id, struct st_error *e);

struct relationship_input {
	int64_t user;
	int64_t subject;          /* or 0 with organization (grants only) */
	const char *organization; /* organization code, for a school-wide grant */
	const char *kind;         /* teacher_of, counselor_caseload, sped_caseload,
				   * supervisor_of, grant */
	const char *const *categories; /* grants: what it covers */
	size_t ncategories;
	const char *purpose;      /* required for grants */
	const char *source;       /* e.g. "class:ALG1-3", "sis-import" */
	int64_t start, end;       /* start 0 = now; end 0 = open */
};
int relationship_create(struct steward *st, const struct actor *who,
			const struct relationship_input *in, int64_t *id, struct st_error *e);
int relationship_remove(struct steward *st, const struct actor *who, int64_t id,
			struct st_error *e);

/* --- the rules and the inventory ----------------------------------------- */
int policy_document(struct steward *st, const struct actor *who, json_t **doc, int *version,
		    struct st_error *e);
/* Validates and installs a new rule document (a new version). */
int policy_install(struct steward *st, const struct actor *who, const char *text,
		   const char *note, int *version, struct st_error *e);
/* Validates a rule document against the current inventory without
 * installing it; *problems receives the lint findings. */
int policy_check_text(struct steward *st, const char *text, json_t **problems,
		      struct st_error *e);
int inventory_document(struct steward *st, const struct actor *who, json_t **doc, int *version,
		       struct st_error *e);
int inventory_install(struct steward *st, const struct actor *who, const char *text,
		      const char *note, int *version, struct st_error *e);

/* --- questions ------------------------------------------------------------- */
/* Would `user` be allowed `action` on record `record` (with this purpose
 * and multi-factor state)? {"allow", "rule", "reason", "obligations"} */
int access_explain(struct steward *st, const struct actor *who, int64_t user,
		   const char *action, int64_t record, const char *purpose, bool mfa,
		   json_t **out, struct st_error *e);
/* Who may take `action` on a category (subject = 0) or on one subject's
 * records of a category (category NULL = any)? The IDEA 300.623 list:
 * {"users": [{"id", "username", "display_name", "position", "role",
 *  "rule", "through"}]} */
int access_who_can(struct steward *st, const struct actor *who, const char *category,
		   int64_t subject, const char *action, json_t **out, struct st_error *e);
/* What can a user reach: categories by rule, subjects by relationship. */
int access_what_can(struct steward *st, const struct actor *who, int64_t user, json_t **out,
		    struct st_error *e);

/* Checks a stated purpose at the boundary: NULL or "" is none; otherwise
 * at most 500 characters of clean UTF-8 on one line that say something (a
 * purpose of white space alone is refused, never taken for one). */
int access_purpose_check(const char *purpose, struct st_error *e);

/* Whether an account's access is suspended now (read from the live facts). */
bool access_user_suspended(struct steward *st, int64_t user);
/* Logs a refusal of `action` for `who` (with the reason) and returns
 * ST_EDENIED with `code`; interfaces use it for refusals they decide
 * themselves (a missing CSRF token, a token's scope). */
int access_refuse(struct steward *st, const struct actor *who, const char *action,
		  const char *code, const char *reason, struct st_error *e);
/* Whether a cheap refusal (no secret was checked) from this client address
 * for this account (0: none) may be logged one by one: up to 300 a minute;
 * beyond that one event says counting has begun, and the count is logged
 * (request.refused_many) when the minute is over and the address is
 * refused again, when its slot is reused, or at a clean stop. */
bool access_refusal_budget(struct steward *st, const char *client, int64_t user);
/* The address under which an address's doings are counted: an IPv6
 * address by its /64 (one host can hold a whole /64), others as they are. */
void access_client_key(const char *client, char out[64]);
/* Logs the counts still held back (at a clean stop). */
void access_refusal_budget_flush(struct steward *st);
/* Logs a signed-in person's request that was refused as invalid (bad
 * input, no such object, a conflict) with its error code, field and
 * message — never the input itself — so that attempts are on record too.
 * If that cannot be logged, *e (optional) says why: the caller answers
 * that instead of the refusal. */
int access_record_invalid(struct steward *st, const struct actor *who, const char *endpoint,
			  const struct st_error *err, struct st_error *e);

/* --- the synthetic district ------------------------------------------------- */
struct synth_options {
	uint64_t seed;
	int schools;
	int students;            /* staff is about 6% of students */
	bool records;            /* also create a record in every category */
	int64_t now;             /* the day training and agreements are set around */
};
struct synth_report {
	int64_t organizations, users, subjects, relationships, records, agreements;
};
/* Fills an empty data directory with a deterministic synthetic district
 * (the same seed gives the same district) through the same library calls
 * the API uses. */
int synth_district(struct steward *st, const struct actor *who, const struct synth_options *o,
		   struct synth_report *r, struct st_error *e);

#endif
