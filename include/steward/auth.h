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
int auth_mfa_begin(struct steward *st, const struct actor *who, struct mfa_enrollment *out,
		   struct st_error *e);
int auth_mfa_confirm(struct steward *st, const struct actor *who, const char *code,
		     struct st_error *e);
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
