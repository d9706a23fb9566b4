/*
 * records_internal.h - shared between subject.c and record.c.
 */
#ifndef STEWARD_RECORDS_INTERNAL_H
#define STEWARD_RECORDS_INTERNAL_H

#include "core/context.h"
#include "policy/policy.h"
#include "steward/records.h"

/* Loaded state of a record's current (or a given) version, before any
 * access decision: metadata only, nothing decrypted. */
struct record_row {
	int64_t id;
	int64_t subject_id;
	char category[64];
	char series[64];
	char source[128];
	int64_t data_key_id;
	int version;         /* the version loaded */
	int current_version;
	int64_t created_at, created_by, updated_at, updated_by, deleted_at;
	unsigned char *sealed; /* malloc'd copy */
	size_t sealed_len;
};

int record_row_load(struct store_conn *c, int64_t id, int version, struct record_row *r,
		    struct st_error *e);
void record_row_release(struct record_row *r);

/* The single checkpoint every change or deletion of a record passes
 * (update, delete, shred, and later disposal): it refuses changes to a
 * record that is deleted or destroyed. Litigation holds plug in here too, so
 * no path can skip them. A change to a subject itself (its identifying
 * fields, school or status: subject_update) passes it too, as r->id 0 with
 * r->subject_id naming the subject and r->deleted_at the time it became
 * inactive (0 if active, or if the change reactivates it): an inactive
 * subject is refused any other change. */
int record_change_check(struct steward *st, struct store_conn *c, const struct actor *who,
			const struct record_row *r, const char *action, struct st_error *e);

/* A subject's row, before any decision: nothing decrypted. */
struct subject_row {
	int64_t id;
	char kind[32];
	enum subject_kind k;
	bool has_org;
	char org[64];        /* organization code */
	int64_t org_id;      /* 0: none */
	bool inactive;
	int64_t status_changed_at;
	int64_t data_key_id;
	int64_t created_at, updated_at;
	unsigned char *sealed; /* malloc'd copy */
	size_t sealed_len;
};

/* Loads a subject's row; ST_ENOTFOUND naming "id" if there is none. */
int subject_row_load(struct store_conn *c, int64_t id, struct subject_row *r,
		     struct st_error *e);
void subject_row_release(struct subject_row *r);
/* Opens (authenticates, then decrypts) a subject's identifying fields:
 * {"external_id", "given_name", "family_name", "date_of_birth"?}. */
int subject_row_open(struct steward *st, struct store_conn *c, const struct subject_row *r,
		     json_t **doc, struct st_error *e);
/* What a decision lets a reader see of a subject: {"id", "kind", "status",
 * "created_at", the identifying fields shown (masked as sd says),
 * "masked": [...]}; the names of the fields shown and of those masked are
 * appended (comma-separated) to returned and masked for the log. */
json_t *subject_view(const struct subject_row *r, const json_t *doc,
		     const struct subject_decision *sd, const unsigned char *hash_key,
		     struct buf *returned, struct buf *masked);
/* Comma-separated names of the categories in a bitmask. */
void subject_categories(const struct policy *p, uint64_t cats, struct buf *out);
/* The blind indexes of a subject's external id (in its kind's domain),
 * family name and full name. */
void subject_indexes(struct steward *st, const char *kind, const char *external_id,
		     const char *given_name, const char *family_name,
		     unsigned char ext[HASH_BYTES], unsigned char fam[HASH_BYTES],
		     unsigned char full[HASH_BYTES]);
/* The blind index a name search looks up: the family name's, or with a
 * given name the full name's (normalized as at registration). */
void subject_search_index(struct steward *st, const char *family_name, const char *given_name,
			  unsigned char out[HASH_BYTES]);
/* The top-level keys of a record's sealed fields (canonical JSON: compact,
 * keys sorted) appended to keys, comma-separated, as json_key_list lists
 * them; false if the text is not of that form or a key holds an escape
 * (the caller parses it instead). */
bool record_canonical_keys(const char *s, size_t len, struct buf *keys);
/* JSON text (valid UTF-8) appended to b with every character outside ASCII
 * written as a \u escape, as the server's answers are; a sequence that is
 * not well-formed UTF-8 becomes U+FFFD. */
void record_json_ascii(struct buf *b, const char *s, size_t len);

#endif
