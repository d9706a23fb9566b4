/*
 * evidence.h - the access log as the people who need it see it: the record
 * of access a parent may be shown (FERPA 34 CFR 99.32, IDEA 300.614),
 * checkpoints and proofs for auditors, evidence packages for law
 * enforcement. Each call is decided (reading the log about others needs
 * the audit_read permission; exporting needs audit_export; anyone may read
 * their own acts) and is itself logged.
 */
#ifndef STEWARD_EVIDENCE_H
#define STEWARD_EVIDENCE_H

#include <jansson.h>

#include "steward/steward.h"

struct evidence_filter {
	int64_t user, subject, record;
	const char *outcome; /* allow, deny, error or NULL */
	int64_t from_us, to_us;
	int64_t after;       /* cursor: events after this sequence number; -1 none */
	int limit;
};
int evidence_query(struct steward *st, const struct actor *who, const struct evidence_filter *f,
		   json_t **events, int64_t *next, struct st_error *e);
/* {"tree_size", "root", "time", "note", "signature", "public_key", "log_id"} */
int evidence_checkpoint(struct steward *st, const struct actor *who, json_t **out,
			struct st_error *e);
/* tree_size 0 = the newest checkpoint's. */
int evidence_proof(struct steward *st, const struct actor *who, int64_t seq, int64_t tree_size,
		   json_t **out, struct st_error *e);
int evidence_consistency(struct steward *st, const struct actor *who, int64_t from, int64_t to,
			 json_t **out, struct st_error *e);
int evidence_export(struct steward *st, const struct actor *who, int64_t from_us, int64_t to_us,
		    int64_t user, int64_t subject, json_t **package, struct st_error *e);
/* {"status": "ok"|"degraded", "version", "schema_version", "audit": {...}};
 * returns false when the server cannot serve (the log refuses appends). */
bool steward_health(struct steward *st, json_t **out);

#endif
