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

/* Comma-separated names -> category bitmask against an inventory. */
int categories_mask(const struct inventory *inv, const char *csv, uint64_t *mask);

#endif
