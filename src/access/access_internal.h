/*
 * access_internal.h - shared by the files of src/access and used by the
 * records module: the one decision every access passes.
 */
#ifndef STEWARD_ACCESS_INTERNAL_H
#define STEWARD_ACCESS_INTERNAL_H

#include "core/context.h"
#include "people/people.h"
#include "steward/access.h"

/* Loads the rules (the newest version, installing the shipped default if
 * there is none) and builds the live facts from the database. */
int access_load(struct steward *st, struct st_error *e);
/* Rebuilds the facts (after the inventory or the roles changed). */
int access_reload(struct steward *st, struct st_error *e);

/* An administrative act: allowed, or refused, logged and ST_EDENIED with
 * the reason. The system itself (user 0: local administration, jobs) is
 * allowed. ev is the event to log on refusal (action and details). */
int access_admin(struct steward *st, const struct actor *who, enum admin_perm perm,
		 struct audit_event *ev, struct st_error *e);
/* Allowed if any of the permissions is held. */
int access_admin_any(struct steward *st, const struct actor *who, const enum admin_perm *perms,
		     size_t nperms, struct audit_event *ev, struct st_error *e);

/* Refuses (logged, ST_EDENIED) a change to an account that holds
 * administrative powers the actor lacks ("its <what>"): nobody acts on
 * the accounts or credentials of someone more powerful. */
int access_check_target(struct steward *st, const struct actor *who, int64_t target,
			struct audit_event *ev, const char *what, struct st_error *e);
/* An administrative act on another person's account (access_admin for
 * perm, then): nobody acts so on their own account, nor on one holding an
 * administrative power the actor lacks (the rule that keeps an IT
 * administrator from demoting the designee). what names what would change,
 * for the refusal ("password and multi-factor"). Refusals are logged as ev. */
int access_admin_over(struct steward *st, const struct actor *who, enum admin_perm perm,
		      int64_t target, struct audit_event *ev, const char *what, struct st_error *e);
/* Runs a change (write.c): a transaction in which fn writes, then ev is
 * logged as allowed, then the transaction commits - no change without its
 * event. A failure after the act was allowed is logged as an error with
 * what stopped it (unless the log itself failed). */
int access_logged_write(struct steward *st, const struct actor *who, struct audit_event *ev,
			int (*fn)(void *ctx, struct store_conn *c, struct st_error *e), void *ctx,
			struct st_error *e);

/* Held around a change that could leave nobody able to change the rules,
 * from its check to its effect on the live facts, so two such changes at
 * once cannot each count on the other's target. */
void access_holders_lock(void);
void access_holders_unlock(void);

/* Whether the actor holds an administrative permission now; nothing is
 * logged (for choosing how much to show, not for allowing an act). */
bool access_holds(struct steward *st, const struct actor *who, enum admin_perm perm);

/* A record access: decides `act` on `subject`'s records of `category`.
 * Refused: logs ev as denied (with the rule and the reason) and returns
 * ST_EDENIED. Allowed: fills *dec, *pol (a reference to the rules that
 * decided, for the obligations: policy_unref it) and completes ev with the
 * role, rule and agreement for the caller to log once it has acted. */
int access_check(struct steward *st, const struct actor *who, enum action act,
		 int64_t subject, const char *category, struct audit_event *ev,
		 struct decision *dec, struct policy **pol, struct st_error *e);

/* A look at a subject (its identifying fields, or the list of its records):
 * policy_decide_subject() for who, with ev->purpose and who->mfa. kind is
 * the subject's enum subject_kind, or -1 when the id names no subject.
 * need_fields: some identifying field must be shown (a read of the
 * subject); else some category of its records must be readable (a list of
 * them). Allowed: fills *sd, *pol (a reference to the rules that decided:
 * policy_unref it) and ev's role, rule and agreement for the caller to log
 * once it has acted. Refused: logs ev as denied with the full reason and
 * returns ST_EDENIED telling only what the person may be told - the
 * account's own reason, or a condition unmet where a rule and relationship
 * reach an existing subject; otherwise the same words whether the subject
 * exists or not. The system itself (user 0) is shown everything. */
int access_check_subject(struct steward *st, const struct actor *who, int64_t subject, int kind,
			 bool need_fields, struct audit_event *ev, struct subject_decision *sd,
			 struct policy **pol, struct st_error *e);

/* The same decision, without logging anything: for leaving out of a list
 * what the person may not read. p: the rules the caller holds. */
bool access_decide_subject(struct steward *st, const struct actor *who,
			   const struct policy *p, int64_t subject, int kind, const char *purpose,
			   struct subject_decision *sd);
/* An act on record `id`, which does not exist. The system and those who
 * may review access for the district (who can ask about any record) hear
 * 404 record_not_found. Anyone else is refused exactly as for a record
 * outside their need-to-know — the same status, code and words, and ev
 * logged as denied (the log says the record does not exist) — so that
 * asking for record after record cannot tell which exist. */
int access_record_unknown(struct steward *st, const struct actor *who, int64_t id,
			  struct audit_event *ev, struct st_error *e);

/* Fills an event's role, rule, reason and agreement from a decision;
 * reason points into buf. */
void access_describe(const struct policy *p, struct steward *st, const struct access_request *r,
		     const struct decision *d, struct audit_event *ev, char *buf, size_t n);

/* What an administrative act would let an account read (access/confer.c). */
struct conferral_rel {
	enum relkind kind;
	uint64_t subject;    /* or 0 with org: an organization-wide grant */
	uint32_t org;
	uint64_t categories; /* grants */
};
struct conferral_scope {
	uint32_t org;
	uint64_t categories;
};
struct conferral {
	uint32_t roles;        /* the roles whose rules carry the access */
	bool derived;          /* through the district, the school, the agreement */
	uint32_t org;          /* the account's school (school_staff) */
	uint32_t agreement;    /* a contractor's agreement */
	uint32_t user;         /* the account whose stored relationships count, or 0 */
	const struct conferral_rel *rel; /* a relationship being created, or NULL */
	const struct conferral_scope *scopes; /* categories at organizations (agreements) */
	size_t nscopes;
	enum classification from; /* only categories classified at least this */
};
/* Whether everything `cf` confers is within the actor's own reach; if not,
 * *why says the first thing that is not, in plain words. The system
 * (user 0) always may. Takes the model's read lock. */
bool access_confer_ok(struct steward *st, const struct actor *who, const struct policy *p,
		      const struct conferral *cf, char *why, size_t n);

/* Whether the actor's duties reach `subject`'s records of `category` (an
 * inventory index; subject 0: every subject of the district), by the rules,
 * relationships and agreement, with training, multi-factor and a purpose
 * taken as met. What a view tells of a record (its category, its subject,
 * who works with it) is told only to those it reaches. The system always
 * is. The _locked form runs under the model's read lock and takes an
 * organization for subject 0 (every subject of it). */
bool access_reaches(struct steward *st, const struct actor *who, const struct policy *p,
		    int64_t subject, int category);
bool access_reaches_locked(struct steward *st, const struct actor *who, const struct policy *p,
			   int64_t subject, uint32_t org, int category);

/* Whether the actor reaches one of the categories a relationship opens to
 * an account with these roles (of its subject, or of every subject of its
 * organization): a relationship one could not see through tells what files
 * a student has (a special-education caseload). Under the model's read
 * lock. */
bool access_sees_relationship_locked(struct steward *st, const struct actor *who,
				     const struct policy *p, uint32_t roles, int64_t subject,
				     uint32_t org, enum relkind kind, uint64_t categories);

/* Comma-separated names -> category bitmask against an inventory. */
int categories_mask(const struct inventory *inv, const char *csv, uint64_t *mask);

#endif
