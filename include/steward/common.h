/*
 * common.h - conventions shared by every Steward module.
 *
 * Every fallible function returns int: ST_OK (0) on success or a negative
 * status below. Results go through out-parameters. A human-readable reason,
 * and the input field it concerns, go through an optional struct st_error
 * that the HTTP layer turns into {"error": {...}} and the command line into a
 * message. Functions whose result must not be ignored (decisions,
 * verifications, decryptions) carry ST_MUST_CHECK.
 */
#ifndef STEWARD_COMMON_H
#define STEWARD_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define ST_MUST_CHECK __attribute__((warn_unused_result))
#define ST_PRINTF(a, b) __attribute__((format(printf, a, b)))

enum st_status {
	ST_OK = 0,
	ST_EINVAL = -1,     /* bad input: names a field (HTTP 400) */
	ST_EAUTH = -2,      /* not signed in / bad credentials (401) */
	ST_EDENIED = -3,    /* the access decision said no (403) */
	ST_ENOTFOUND = -4,  /* no such object (404) */
	ST_ECONFLICT = -5,  /* already exists / wrong state (409) */
	ST_ETOOBIG = -6,    /* input over a size limit (413) */
	ST_EMEDIA = -7,     /* unsupported media type (415) */
	ST_ELIMIT = -8,     /* throttled or locked out (429) */
	ST_EIO = -9,        /* storage or file failure (500) */
	ST_ECRYPTO = -10,   /* authentication of ciphertext or signature failed */
	ST_EAUDIT = -11,    /* the access log could not be written: fail closed */
	ST_EINTERNAL = -12, /* broken invariant or unexpected library error */
	ST_EGONE = -13,     /* destroyed (crypto-shredded) or deleted (410) */
	ST_EUNAVAIL = -14,  /* temporarily unavailable, e.g. shutting down (503) */
};

struct st_error {
	int status;
	char code[32];     /* stable machine code, e.g. "invalid_field" */
	char field[160];   /* the input field concerned, or "" */
	char message[320]; /* plain words for a person */
};

/* Fills *e (which may be NULL) and returns status, so callers can write
 * `return err_set(e, ST_EINVAL, "fields.ssn", "...")`. */
int err_set(struct st_error *e, int status, const char *field, const char *fmt, ...)
	ST_PRINTF(4, 5);
/* Like err_set but with an explicit machine code. */
int err_setc(struct st_error *e, int status, const char *code, const char *field,
	     const char *fmt, ...) ST_PRINTF(5, 6);
void err_clear(struct st_error *e);
/* The default machine code for a status ("invalid", "not_found", ...). */
const char *st_status_code(int status);
/* The HTTP status that goes with a status. */
int st_status_http(int status);

#endif
