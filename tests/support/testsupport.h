/*
 * testsupport.h - helpers shared by the tests: scratch directories, a
 * ready data directory, and cmocka conveniences.
 */
#ifndef STEWARD_TESTSUPPORT_H
#define STEWARD_TESTSUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/base.h"
#include "steward/steward.h"

#define TS_ADMIN "admin"
#define TS_PASSWORD "violet umbrella tractor 42"

/* A fresh scratch directory under $TMPDIR (malloc'd path). */
char *ts_tmpdir(void);
/* Removes a directory tree. */
void ts_rm_rf(const char *path);
/* Creates a data directory at dir/data (returns the malloc'd path). */
char *ts_make_datadir(const char *dir, const char *passphrase);
/* Opens it (asserting success). */
struct steward *ts_open(const char *datadir, const char *passphrase);
/* Runs a shell command, returns its exit status; output captured into
 * *out when out is not NULL (malloc'd). */
int ts_run(const char *cmd, char **out);
/* Counts occurrences of needle (binary) in a file. */
size_t ts_file_count(const char *path, const void *needle, size_t len);
/* The actor used for library calls in tests. */
extern const struct actor ts_system;

#define ASSERT_OK(expr)                                                              \
	do {                                                                         \
		struct st_error *ts_e_ = &ts_err;                                    \
		int ts_rc_ = (expr);                                                 \
		if (ts_rc_ != ST_OK)                                                 \
			fail_msg("%s failed (%d): %s [%s]", #expr, ts_rc_,           \
				 ts_e_->message, ts_e_->field);                      \
	} while (0)

extern struct st_error ts_err;

#endif
