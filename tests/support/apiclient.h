/*
 * apiclient.h - the HTTP test client for integration tests against a real
 * server on 127.0.0.1 (see apiclient.c).
 */
#ifndef STEWARD_TEST_APICLIENT_H
#define STEWARD_TEST_APICLIENT_H

#include <sys/types.h>

#include "testsupport.h"

extern char *api_dir, *api_data, api_base[64];
/* The first administrator's one-time enrolment code, issued by the system
 * when the server's data directory is made (as `steward init` does); api_enroll
 * spends it (then it is empty). */
extern char api_admin_enrollment_code[32];
/* A multi-factor session of a user administrator that api_enroll asks for
 * everyone else's enrolment codes: set when the first administrator
 * enrols through api_enroll (a test may set it itself). */
extern char api_issuer[128];
/* The local address this thread's requests come from ("127.0.0.7"; empty:
 * the default), so that tests can be many clients on one machine. */
extern _Thread_local char api_source[48];
/* An X-Forwarded-For header for this thread's requests (empty: none). */
extern _Thread_local char api_forwarded_for[128];
/* Sends "Expect: 100-continue" with bodies (off: bodies are sent at once). */
extern _Thread_local bool api_expect_continue;

/* A date (YYYY-MM-DD) days_from_now from today, so that no fixture expires
 * as the calendar moves on (trainings are annual, agreements and tokens
 * end). Returns out. */
const char *api_day(int days_from_now, char out[16]);

struct resp {
	long status;
	json_t *json;
	char cookie[160]; /* steward_session value from Set-Cookie */
	char csrf[160];
};

/* A signed-in session and, once enrolled, its authenticator. */
struct who {
	char token[128];
	unsigned char secret[20];
	uint64_t step;
};

/* Further environment of the next server started ("NAME=value", NULL-
 * terminated; NULL: none), set in the server process only. */
extern const char *const *api_server_env;
/* Makes a data directory with the test administrator and serves it; extra
 * is a NULL-terminated list of further `steward serve` arguments. */
void api_server_start(const char *const *extra);
/* Serves the same data directory again (after api_server_terminate). */
void api_server_restart(const char *const *extra);
/* SIGTERM, wait, remove the directory. */
void api_server_stop(void);
pid_t api_server_pid(void);
/* SIGTERM and wait (60 s at most, then SIGKILL), keeping the directory;
 * returns the wait status. */
int api_server_terminate(void);

struct resp api_request(const char *method, const char *path, const char *token,
			const char *body, size_t body_len, const char *content_type,
			const char *cookie, const char *csrf);
/* JSON in, status out; *out (optional) receives the body. */
long api_call(const char *method, const char *path, const char *token, const char *body,
	      json_t **out);
/* Fails the test unless the status (and the error code, when given) match. */
void api_expect(long want, const char *method, const char *path, const char *token,
		const char *body, const char *code);
/* POSTs and returns the new object's "id"; fails unless 201. */
int64_t api_create(const char *path, const char *token, const char *body);

struct resp api_sign_in(const char *user, const char *pass, const char *totp);
void api_code_for(const struct who *w, uint64_t step, char out[16]);
/* Signs in; enrols in multi-factor when required. */
void api_login(struct who *w, const char *user, const char *pass);
/* The one-time enrolment code for the session's person: the system's for
 * the first administrator (once), else one issued by api_issuer. Returns
 * the person's id. */
int64_t api_enrollment_code(const struct who *w, char code[32]);
/* Sets up multi-factor in a session, which then counts as multi-factor,
 * with an enrolment code (see api_issuer). */
void api_enroll(struct who *w);

/* A plain TCP connection to the server, for raw requests. */
int api_connect_raw(void);
/* One integer from a read-only query of a database in the data directory. */
int64_t api_db_count(const char *db, const char *sql);
/* Runs one statement on a database of the running server's data directory
 * (to age a row the server reads afresh, e.g. an enrolment code's expiry). */
void api_db_exec(const char *db, const char *sql);
/* Whether the access log holds an event with this action and outcome whose
 * entry contains reason_part. */
bool api_logged(const char *action, const char *outcome, const char *reason_part);
/* Events about a record with this action, outcome and stated purpose, as
 * the log answers `token` through the API (purposes are sealed in the log
 * itself: only a reader of the log sees them). */
int api_logged_purpose(const char *token, int64_t record, const char *action,
		       const char *outcome, const char *purpose);
/* Whether the log, read through the API by `token`, holds an event of this
 * action and outcome whose stated purpose contains purpose_part. */
bool api_logged_stated(const char *token, const char *action, const char *outcome,
		       const char *purpose_part);

#endif
