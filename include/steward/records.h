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

/* Registers a subject (the `subjects` administrative power); *id receives
 * its id, and nothing of it is read back: registering is not reading. */
int subject_create(struct steward *st, const struct actor *who,
		   const struct subject_input *in, int64_t *id, struct st_error *e);
/* A subject's identifying fields, decided like a record read: ACT_READ on
 * each category of the inventory that applies to the subject's kind (with
 * the stated purpose, NULL: none); each category allowed shows the fields
 * the inventory declares for it ("subject_fields"), masked as its deciding
 * rule says (a field several show: the strictest mask). {"id", "kind",
 * "status", "created_at", and of "external_id", "given_name",
 * "family_name", "date_of_birth", "organization" those allowed, "masked":
 * [...], "disclosure_recorded"?}. Logged (subject.read, the fields returned
 * and masked) before anything is returned. Refused (ST_EDENIED, logged) if
 * no field may be shown - with the same words for an id that names no
 * subject, unless the reason is the account's own. */
int subject_read(struct steward *st, const struct actor *who, int64_t id, const char *purpose,
		 json_t **out, struct st_error *e);
/* subject_read without a stated purpose. */
int subject_get(struct steward *st, const struct actor *who, int64_t id, json_t **out,
		struct st_error *e);

/* A change to a subject: NULL (and false) leaves a field as it is. */
struct subject_change {
	const char *external_id;
	const char *given_name;
	const char *family_name;
	const char *date_of_birth;  /* YYYY-MM-DD */
	bool clear_date_of_birth;   /* remove it */
	const char *organization;   /* the code of an active organization */
	bool clear_organization;    /* no organization */
	const char *status;         /* "active" or "inactive" */
};
/* Changes a subject's identifying fields (re-sealed in place under its data
 * key, blind indexes updated), its organization or its status, in one
 * transaction whose event (subject.update, subject.deactivate or
 * subject.reactivate) names the fields written, never their values; the
 * `subjects` administrative power. Every change passes
 * record_change_check(): an inactive subject is changed only together with
 * its reactivation. Deactivating is not deleting: the subject's records
 * stay, and stay readable to those with need-to-know. ST_ENOTFOUND for an
 * unknown id, ST_ECONFLICT for an external id taken or a status already
 * so. */
int subject_update(struct steward *st, const struct actor *who, int64_t id,
		   const struct subject_change *in, struct st_error *e);

/* --- finding subjects and a subject's records (subject_find.c) --------------- */

#define SUBJECT_LIST_DEFAULT 25
#define SUBJECT_LIST_MAX 100
/* Rows examined at most by one page of a list without a search term; a
 * page may then hold fewer results than asked: go on from "next". */
#define SUBJECT_SCAN_MAX 2000

struct subject_query {
	const char *external_id;  /* exact, through the blind index */
	const char *family_name;  /* exact (case and spaces normalized), blind index */
	const char *given_name;   /* with family_name: the full name */
	const char *kind;         /* NULL: every kind */
	const char *organization; /* organization code; NULL: any */
	const char *status;       /* "active" (NULL), "inactive" or "all" */
	const char *purpose;      /* stated purpose, for the decision and the log */
	int64_t after;            /* cursor: only ids after this one (0: from the start) */
	int limit;                /* 1 to SUBJECT_LIST_MAX; 0: SUBJECT_LIST_DEFAULT */
};
/* Subjects matching the query that the person may read, each as
 * subject_read shows it (decided and masked the same way); those they may
 * not read are left out without a trace. {"subjects": [...], "next": id}
 * ("next" absent at the end). One event (subject.search with a term,
 * subject.list without) names which terms were used - never their values -
 * and the ids returned. */
int subject_search(struct steward *st, const struct actor *who, const struct subject_query *q,
		   json_t **out, struct st_error *e);

#define RECORD_LIST_DEFAULT 50
#define RECORD_LIST_MAX 200

struct record_query {
	const char *category; /* only this category (it must be declared) */
	const char *purpose;
	int64_t after;        /* cursor: only record ids after this one */
	int limit;            /* 1 to RECORD_LIST_MAX; 0: RECORD_LIST_DEFAULT */
};
/* The records of a subject in the categories the person may read (not
 * deleted): {"subject", "records": [{"id", "category", "version",
 * "created_at", "updated_at"}], "next"?}. Records of other categories are
 * neither listed nor counted. Refused like subject_read (the same words for
 * an id that names no subject) when no category of the subject's records
 * may be read. One event, subject.records. */
int subject_records(struct steward *st, const struct actor *who, int64_t subject,
		    const struct record_query *q, json_t **out, struct st_error *e);
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
