/*
 * records.h - subjects (the people records are about) and their records.
 *
 * Every field value is stored sealed under the record's (or subject's) own
 * data key; searchable identifiers (external ids, names) are stored only as
 * blind indexes (keyed hashes). A record's category must be declared in the
 * data inventory, and so must every field it carries: anything else is
 * refused with the field named, and nothing is written.
 *
 * Ownership: json_t results are new references the caller must json_decref.
 * Thread-safety: all functions may be called concurrently on one steward.
 */
#ifndef STEWARD_RECORDS_H
#define STEWARD_RECORDS_H

#include <jansson.h>

#include "steward/steward.h"

struct subject_input {
	const char *kind;         /* student, parent_guardian, employee, applicant, other */
	const char *external_id;  /* e.g. the student information system's id */
	const char *given_name;
	const char *family_name;
	const char *date_of_birth; /* YYYY-MM-DD or NULL */
	const char *organization;  /* organization code (school or department) or NULL */
};

int subject_create(struct steward *st, const struct actor *who,
		   const struct subject_input *in, int64_t *id, struct st_error *e);
/* {"id", "kind", "external_id", "given_name", "family_name", "date_of_birth",
 *  "organization", "created_at"} */
int subject_get(struct steward *st, const struct actor *who, int64_t id, json_t **out,
		struct st_error *e);
int subject_find_external(struct steward *st, const struct actor *who, const char *kind,
			  const char *external_id, int64_t *id, struct st_error *e);
/* Ids of subjects whose family name (and given name, if not NULL) match
 * exactly (case-insensitive), through the blind index. */
int subject_find_name(struct steward *st, const struct actor *who, const char *family_name,
		      const char *given_name, json_t **ids, struct st_error *e);

struct record_input {
	int64_t subject_id;
	const char *category;
	const json_t *fields;
	const char *source; /* where the data came from; default "steward" */
	const char *series; /* retention series: the category's (the inventory
			     * decides it; another is refused) */
	const char *purpose; /* why, for rules that ask (logged) */
};

int record_create(struct steward *st, const struct actor *who, const struct record_input *in,
		  int64_t *id, struct st_error *e);
/* {"id", "subject", "category", "version", "series", "source", "fields",
 *  "created_at", "updated_at", ...}. ST_EGONE if deleted or shredded. */
int record_read(struct steward *st, const struct actor *who, int64_t id,
		const char *purpose, json_t **out, struct st_error *e);
/* Reads an earlier version (1 = first), decided and logged like record_read
 * with the same purpose (NULL: none stated). */
int record_read_version(struct steward *st, const struct actor *who, int64_t id,
			int version, const char *purpose, json_t **out, struct st_error *e);
/* record_read (version 0) or record_read_version, answered as the JSON text
 * of the same object (ASCII, \u escapes) into *text (malloc'd, *len bytes),
 * for servers: when no field is masked the fields are served as sealed,
 * without being parsed. Decided and logged exactly the same way. */
int record_read_text(struct steward *st, const struct actor *who, int64_t id, int version,
		     const char *purpose, char **text, size_t *len, struct st_error *e);
/* Writes a new version: fields given replace, null removes; the result is
 * checked against the inventory as a whole. Earlier versions are kept. */
int record_update(struct steward *st, const struct actor *who, int64_t id,
		  const char *purpose, const json_t *fields, int *new_version,
		  struct st_error *e);
/* Soft delete: the record is no longer served but still exists until its
 * retention period says otherwise. */
int record_delete(struct steward *st, const struct actor *who, int64_t id,
		  const char *purpose, struct st_error *e);
/* Crypto-shredding: destroys the record's data key, so every version of
 * it is permanently unreadable, then purges freed pages. */
int record_shred(struct steward *st, const struct actor *who, int64_t id,
		 struct st_error *e);

#endif
