/*
 * auth.h - signing in and staying signed in: passwords (Argon2id, NIST SP
 * 800-63B rules), TOTP multi-factor (RFC 6238) with single-use recovery
 * codes, sessions with idle and absolute timeouts, API tokens for
 * integrations (scoped, expiring, stored hashed, revocable), throttling and
 * lockout after repeated failures. Every attempt, successful or not,
 * reaches the access log; no secret ever does.
 *
 * Multi-factor is required to sign in for administrators (a role holding an
 * administrative permission) and contractors, and for any session that
 * reaches restricted categories (the decision checks that). A user who must
 * use it but has not enrolled gets a session that can do nothing but enrol.
 *
 * A first enrolment needs more than the password: a one-time enrolment
 * code that a user administrator issued and gave the person out of band
 * (stored only as a keyed hash, compared in constant time, single use,
 * expiring after AUTH_ENROLL_CODE_SECONDS). Whoever holds only a stolen
 * password can therefore neither set up an authenticator of their own
 * (which would satisfy the rules that ask for multi-factor and lock the
 * owner out) nor finish an enrolment the owner began. A person who lost
 * their device is reset by an administrator: a new one-time password and a
 * new enrolment code, everything else of the old sign-in ended.
 */
#ifndef STEWARD_AUTH_H
#define STEWARD_AUTH_H

#include <jansson.h>

#include "steward/steward.h"

struct auth_settings {
	int64_t idle_seconds;     /* session idle timeout (default 1800) */
	int64_t max_seconds;      /* session absolute lifetime (default 43200) */
	int lock_after;           /* failures per account in the window (default 10) */
	int64_t lock_seconds;     /* how long an account stays locked (default 900) */
	int client_limit;         /* failures per client address in the window (default 30) */
	int64_t window_seconds;   /* the failure window (default 900) */
};
void auth_configure(struct steward *st, const struct auth_settings *s);

#define AUTH_TOKEN_MAX 96

struct signin {
	char token[AUTH_TOKEN_MAX];
	char csrf[AUTH_TOKEN_MAX];
	char session_id[40];
	int64_t user_id;
	int64_t expires_at;
	bool mfa;                    /* this session used multi-factor */
	bool mfa_enrollment_required;
	bool must_change_password;
};
/* POST /api/v1/sessions. totp may be a 6-digit code or a recovery code.
 * ST_EAUTH (wrong credentials, or code "totp_required"), ST_ELIMIT
 * (throttled or locked), ST_EDENIED (suspended). */
int auth_sign_in(struct steward *st, const char *username, const char *password,
		 const char *totp, const char *client, const char *request_id,
		 struct signin *out, struct st_error *e);

/* What a presented token stands for. */
enum session_limit {
	SESSION_FULL = 0,
	SESSION_ENROLL_ONLY,     /* may only enrol in multi-factor (and sign out) */
	SESSION_PASSWORD_ONLY,   /* may only change the one-time password */
};
struct session_info {
	char id[40];
	int64_t user_id;
	bool mfa;
	bool api_token;
	char scopes[256];       /* API tokens: comma-separated scopes */
	enum session_limit limit;
	unsigned char csrf_hash[32];
};
/* Checks a bearer token or cookie value; refusals (forged, expired,
 * revoked, account not active) are logged with the client and reason. */
int auth_check(struct steward *st, const char *token, const char *client,
	       const char *request_id, struct session_info *out, struct st_error *e);
/* auth_check for a caller that must not block (the server's event loop):
 * when the check would have to write (note activity, end an expired
 * session) or log a refusal, *wait is set and nothing is done (the caller
 * hands the request to a thread that may, which calls auth_check);
 * otherwise *out is filled as auth_check fills it. Errors only for a
 * missing token or a failed lookup. */
int auth_check_quick(struct steward *st, const char *token, struct session_info *out,
		     bool *wait, struct st_error *e);
/* Constant-time check of a CSRF token against the session's. */
ST_MUST_CHECK bool auth_csrf_ok(const struct session_info *s, const char *csrf);
int auth_sign_out(struct steward *st, const struct actor *who, struct st_error *e);

struct mfa_enrollment {
	char secret[64];        /* base32 */
	char uri[512];          /* otpauth://totp/... */
	char *qr_svg;           /* malloc'd SVG of the URI */
	char recovery[10][16];
};
/* Starts an enrolment: a new TOTP secret and recovery codes, pending until
 * confirmed from the same session. enrollment_code is the one-time code a
 * user administrator issued (auth_enrollment_code_issue); it is spent here.
 * It may be NULL only to start again in the session that already presented
 * one (a lost QR code). Errors: ST_EINVAL "missing_field" or
 * "bad_enrollment_code" (wrong, expired or spent: one answer for all; it
 * counts against the session like a wrong password), ST_ECONFLICT
 * "already_enrolled". */
int auth_mfa_begin(struct steward *st, const struct actor *who, const char *enrollment_code,
		   struct mfa_enrollment *out, struct st_error *e);
/* Confirms the pending secret with a current code, from the session that
 * began it (else ST_ECONFLICT "not_started"). */
int auth_mfa_confirm(struct steward *st, const struct actor *who, const char *code,
		     struct st_error *e);

/* How long an enrolment code works: seven days. */
#define AUTH_ENROLL_CODE_SECONDS (7 * 86400)
/* "xxxx-xxxx-xxxx-xxxx": 80 random bits in base32. */
#define AUTH_ENROLL_CODE_MAX 24
/* Issues a one-time enrolment code for a person who has not enrolled (a
 * new one replaces any earlier one). Needs the power to manage users and
 * a multi-factor session; nobody issues one for their own account or for
 * one holding an administrative power they lack; the system (user 0:
 * `steward init`, local recovery) may. The code is returned once and kept
 * only as a keyed hash; the log says who issued one for whom, never the
 * code. ST_ECONFLICT "already_enrolled" if the person has multi-factor
 * (reset it instead), ST_ENOTFOUND for no such user. */
int auth_enrollment_code_issue(struct steward *st, const struct actor *who, int64_t user_id,
			       char code[AUTH_ENROLL_CODE_MAX], int64_t *expires_at,
			       struct st_error *e);

/* What a reset gives the administrator, to hand to the person out of band. */
struct credentials_reset {
	char password[32];                        /* one-time: changed at first sign-in */
	char enrollment_code[AUTH_ENROLL_CODE_MAX];
	int64_t expires_at;                       /* of the enrolment code */
};
/* Resets a person's sign-in (a lost device, a password known to someone
 * else): a new random one-time password, which they must change at their
 * next sign-in; their authenticator, recovery codes and any earlier
 * enrolment code removed and a new enrolment code issued; every session
 * and API token of theirs ended; the sign-in locks on their name ended.
 * All in one transaction with its event (user.reset: who, whom, the reason
 * given; never a secret). reason: why (1 to 500 characters), required.
 * Who may: as auth_enrollment_code_issue. out is wiped on failure. */
int auth_credentials_reset(struct steward *st, const struct actor *who, int64_t user_id,
			   const char *reason, struct credentials_reset *out, struct st_error *e);
int auth_password_change(struct steward *st, const struct actor *who, const char *current,
			 const char *replacement, struct st_error *e);

/* API tokens. scopes: comma-separated from "records:read", "records:write",
 * "subjects", "people", "policy", "audit". */
int auth_token_create(struct steward *st, const struct actor *who, const char *name,
		      const char *scopes, int64_t expires_at, char token[AUTH_TOKEN_MAX],
		      char id[40], struct st_error *e);
int auth_token_revoke(struct steward *st, const struct actor *who, const char *id,
		      struct st_error *e);
int auth_token_list(struct steward *st, const struct actor *who, json_t **out,
		    struct st_error *e);
/* Ends every sign-in lock on an account's name (from any address) and
 * forgets its failures: for a person locked out, once they are known to
 * be who they say. Needs the power to manage users; logged. */
int auth_unlock(struct steward *st, const struct actor *who, int64_t user_id,
		struct st_error *e);
/* Whether an account must sign in with multi-factor. */
bool auth_mfa_required(struct steward *st, int64_t user_id);

#endif
