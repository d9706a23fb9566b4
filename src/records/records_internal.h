/*
 * records_internal.h - shared between subject.c and record.c.
 */
#ifndef STEWARD_RECORDS_INTERNAL_H
#define STEWARD_RECORDS_INTERNAL_H

#include "core/context.h"
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
 * no path can skip them. */
int record_change_check(struct steward *st, struct store_conn *c, const struct actor *who,
			const struct record_row *r, const char *action, struct st_error *e);

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
