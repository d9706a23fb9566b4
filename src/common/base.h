/*
 * base.h - the internal foundation every .c file of Steward includes last
 * among its headers: allocation that aborts on exhaustion, growable buffers,
 * strings, time, files, JSON helpers, and the banned-function list.
 *
 * Out-of-memory and broken invariants abort with a clear message (there is no
 * sane recovery); bad input is always an error returned to the caller.
 */
#ifndef STEWARD_BASE_H
#define STEWARD_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "steward/common.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* --- allocation (alloc.c): never returns NULL ------------------------- */
void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) ST_PRINTF(1, 2);
_Noreturn void die(const char *fmt, ...) ST_PRINTF(1, 2);
#define ST_ASSERT(cond)                                                        \
	do {                                                                   \
		if (!(cond))                                                   \
			die("invariant broken at %s:%d: %s", __FILE__,         \
			    __LINE__, #cond);                                  \
	} while (0)

/* --- growable byte buffer (buf.c) ------------------------------------- */
struct buf {
	char *data; /* always NUL-terminated when non-NULL */
	size_t len;
	size_t cap;
};
#define BUF_INIT {NULL, 0, 0}
void buf_grow(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *data, size_t len);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) ST_PRINTF(2, 3);
/* Appends s as a JSON string literal (quotes and escapes included); a
 * byte that is not part of well-formed UTF-8 is written as U+FFFD. */
void buf_json_string(struct buf *b, const char *s);
void buf_reset(struct buf *b);
void buf_release(struct buf *b);
/* Hands the data to the caller (free with free()); b is left empty. */
char *buf_detach(struct buf *b, size_t *len);

/* --- strings (str.c) --------------------------------------------------- */
/* snprintf that reports truncation as ST_EINVAL instead of silently cutting. */
int str_fmt(char *dst, size_t size, const char *fmt, ...) ST_PRINTF(3, 4);
/* Copies src into dst (size bytes), always terminating; returns ST_EINVAL
 * if src did not fit (then dst ends before any UTF-8 character that did
 * not fit whole). */
int str_copy(char *dst, size_t size, const char *src);
bool str_eq(const char *a, const char *b);
bool str_has_prefix(const char *s, const char *prefix);
/* Parses a whole decimal int64; false on junk, overflow or empty. */
bool str_to_i64(const char *s, int64_t *out);
/* True if s is valid UTF-8 with no control characters other than \t \n \r. */
bool str_is_clean_utf8(const char *s, size_t len);
/* True if s is NULL or holds nothing but white space (ASCII or U+00A0,
 * U+2000-U+200B, U+3000): a stated reason or purpose must say something. */
bool str_is_blank(const char *s);
/* The length of the well-formed UTF-8 character at s (1 to 4, of at most
 * avail bytes), or 0 if it is not one (overlong, a surrogate, cut short). */
size_t str_utf8_sequence(const char *s, size_t avail);
/* Makes s valid UTF-8 in place, for text cut to a buffer's size: a
 * character cut short at the end is dropped, any other byte that is not
 * part of a well-formed character becomes '?'. */
void str_utf8_repair(char *s);
/* Base64 (standard alphabet, padded) and hex; the result is malloc'd. */
char *b64_encode(const void *data, size_t len);
int b64_decode(const char *s, unsigned char **out, size_t *out_len);
char *hex_encode(const void *data, size_t len);
int hex_decode(const char *s, unsigned char *out, size_t out_len);

/* --- time (time.c), always UTC ------------------------------------------ */
int64_t time_now(void);    /* seconds since the epoch */
int64_t time_now_us(void); /* microseconds since the epoch */
/* "2026-11-28T10:33:42Z" (21 bytes + NUL). */
void time_format(int64_t sec, char out[32]);
/* "2026-11-28T10:33:42.123456Z". */
void time_format_us(int64_t us, char out[40]);
/* "2026-11-28". */
void time_format_date(int64_t sec, char out[16]);
/* Accepts "YYYY-MM-DD" (midnight UTC) or "YYYY-MM-DDTHH:MM:SS[.frac]Z",
 * from 1900-01-01 to 9999-12-31T23:59:59Z (TIME_MAX_SEC). */
#define TIME_MAX_SEC 253402300799LL
int time_parse(const char *s, int64_t *sec);
/* Test hook: when non-zero, time_now() returns this (seconds). */
void time_set_fake(int64_t sec);

/* --- files (file.c) ------------------------------------------------------ */
/* Reads a whole file (at most max bytes, else ST_ETOOBIG). NUL-terminated. */
int file_read_all(const char *path, size_t max, char **out, size_t *len,
		  struct st_error *e);
/* Writes a file atomically (temporary file, fsync, rename, fsync of the
 * directory) with the given mode; refuses to replace an existing file when
 * exclusive is true. */
int file_write_atomic(const char *path, const void *data, size_t len, int mode,
		      bool exclusive, struct st_error *e);
/* Creates a directory with mode 0700 (and its parents), or checks it. */
int dir_create_private(const char *path, struct st_error *e);
/* ST_OK if path is not accessible to group or others; else ST_EINVAL
 * (code "insecure_permissions") naming the file. */
int file_check_private(const char *path, struct st_error *e);
bool file_exists(const char *path);
/* Overwrites a file's bytes with zeros, fsyncs and unlinks it. */
int file_shred(const char *path, struct st_error *e);
int fsync_dir(const char *dir);

/* --- JSON helpers (json.c) ---------------------------------------------- */
/* Refuses any key of obj not in the NULL-terminated list allowed[];
 * names it as prefix.key. */
int json_only_keys(const json_t *obj, const char *const allowed[],
		   const char *prefix, struct st_error *e);
/* Typed getters that name the field in the error. required=false lets a
 * missing key return ST_OK with *out untouched. */
int json_get_str(const json_t *obj, const char *key, bool required, size_t maxlen,
		 const char **out, const char *prefix, struct st_error *e);
int json_get_int(const json_t *obj, const char *key, bool required, int64_t *out,
		 const char *prefix, struct st_error *e);
int json_get_bool(const json_t *obj, const char *key, bool required, bool *out,
		  const char *prefix, struct st_error *e);
int json_get_time(const json_t *obj, const char *key, bool required, int64_t *out,
		  const char *prefix, struct st_error *e);
/* Parses text as a JSON object; errors name the line and column. */
int json_parse_object(const char *text, size_t len, json_t **out, struct st_error *e);
/* Canonical compact serialization with sorted keys (malloc'd). */
char *json_canonical(const json_t *v);

#include "common/banned.h"

#endif
