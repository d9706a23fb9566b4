/*
 * auth.c - signing in, sessions, multi-factor, API tokens, throttling.
 *
 * Tokens are 256 random bits, shown once, stored only as SHA-256 hashes;
 * lookups go by hash, so no token can be recovered from the database.
 * Unknown usernames cost the same Argon2id work as known ones. Failures
 * are counted per account and per client address in a sliding window:
 * too many from an address throttles it, too many for an account locks it
 * for a while. TOTP secrets are sealed under the data directory's MFA key;
 * recovery codes are stored as keyed hashes and work once.
 */
#include <qrencode.h>
#include <arpa/inet.h>
#include <errno.h>
#include <semaphore.h>

#include "access/access_internal.h"
#include "auth/auth_internal.h"
#include "policy/model_internal.h"

/* Wrong one-time codes that lock a name from an address: a tighter limit
 * than for passwords, since whoever sends them already holds the password;
 * and from everywhere in a day. */
#define TOTP_LOCK_AFTER 5
#define TOTP_NAME_LOCK_AFTER 20
/* Failed sign-ins for one name from everywhere in a day that lock it
 * (NIST SP 800-63B §5.2.2: no more than 100). */
#define NAME_LOCK_AFTER 100
/* Wrong current passwords or codes within one session that end it. */
#define SESSION_FAIL_LIMIT 5
/* Argon2id checks at once (each takes 64 MiB); more wait their turn. */
#define HASH_SLOTS 4
#define HASH_WAIT_SECONDS 10

#define TOKEN_CACHE 1024

/* What a token's rows say, before the time is taken into account. */
struct token_row {
	struct session_info info;
	int64_t expires_at, last_seen;
	bool revoked, active;
};

struct token_entry {
	bool used;
	uint64_t gen;
	unsigned char hash[32];
	struct token_row row;
};

struct auth_state {
	pthread_mutex_t lock;
	struct auth_settings s;
	char dummy_hash[PASSWORD_HASH_MAX]; /* equalizes work for unknown users */
	sem_t hashing;
	pthread_mutex_t tokens_lock;
	struct token_entry *tokens; /* TOKEN_CACHE slots, by the token's hash */
};

static const char *const known_scopes[] = {"records:read", "records:write", "subjects",
					   "people",       "policy",        "audit"};

struct auth_state *auth_state_new(void)
{
	struct auth_state *a = xcalloc(1, sizeof(*a));
	pthread_mutex_init(&a->lock, NULL);
	pthread_mutex_init(&a->tokens_lock, NULL);
	a->tokens = xcalloc(TOKEN_CACHE, sizeof(*a->tokens));
	a->s = (struct auth_settings){1800, 43200, 10, 900, 30, 900};
	sem_init(&a->hashing, 0, HASH_SLOTS);
	if (password_hash("steward-dummy-password-for-timing", a->dummy_hash) != ST_OK)
		die("cannot hash the timing password");
	return a;
}

void auth_state_free(struct auth_state *a)
{
	if (!a)
		return;
	pthread_mutex_destroy(&a->lock);
	pthread_mutex_destroy(&a->tokens_lock);
	sem_destroy(&a->hashing);
	secure_wipe(a->tokens, TOKEN_CACHE * sizeof(*a->tokens));
	free(a->tokens);
	free(a);
}

void auth_configure(struct steward *st, const struct auth_settings *s)
{
	pthread_mutex_lock(&st->auth->lock);
	if (s->idle_seconds > 0)
		st->auth->s.idle_seconds = s->idle_seconds;
	if (s->max_seconds > 0)
		st->auth->s.max_seconds = s->max_seconds;
	if (s->lock_after > 0)
		st->auth->s.lock_after = s->lock_after;
	if (s->lock_seconds > 0)
		st->auth->s.lock_seconds = s->lock_seconds;
	if (s->client_limit > 0)
		st->auth->s.client_limit = s->client_limit;
	if (s->window_seconds > 0)
		st->auth->s.window_seconds = s->window_seconds;
	pthread_mutex_unlock(&st->auth->lock);
}

static struct auth_settings settings(struct steward *st)
{
	pthread_mutex_lock(&st->auth->lock);
	struct auth_settings s = st->auth->s;
	pthread_mutex_unlock(&st->auth->lock);
	return s;
}

/* "stw_" + 43 characters of base64url. */
static void new_token(const char *prefix, char out[AUTH_TOKEN_MAX], unsigned char hash[32])
{
	unsigned char raw[32];
	random_bytes(raw, sizeof(raw));
	char *b = b64_encode(raw, sizeof(raw));
	for (char *p = b; *p; p++)
		*p = *p == '+' ? '-' : (*p == '/' ? '_' : *p);
	char *eq = strchr(b, '=');
	if (eq)
		*eq = '\0';
	snprintf(out, AUTH_TOKEN_MAX, "%s%s", prefix, b);
	secure_wipe(b, strlen(b));
	free(b);
	secure_wipe(raw, sizeof(raw));
	sha256(out, strlen(out), hash);
}

static void new_id(char out[40])
{
	unsigned char raw[12];
	random_bytes(raw, sizeof(raw));
	char *h = hex_encode(raw, sizeof(raw));
	str_copy(out, 40, h);
	free(h);
}

static bool token_shape_ok(const char *t)
{
	size_t n = t ? strlen(t) : 0;
	if (n < 20 || n > 80)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') ||
		      (t[i] >= '0' && t[i] <= '9') || t[i] == '-' || t[i] == '_'))
			return false;
	return true;
}

bool auth_mfa_required(struct steward *st, int64_t user_id)
{
	if (user_id <= 0 || user_id >= (int64_t)UINT32_MAX)
		return true;
	struct policy *p = steward_policy(st);
	uint32_t admin = 0;
	for (int k = 0; k < ADM_COUNT; k++)
		admin |= p->admin_roles[k];
	policy_unref(p);
	struct model_user_view v;
	model_rdlock(st->model);
	bool found = model_user_view(st->model, (uint32_t)user_id, &v);
	model_unlock(st->model);
	return !found || v.kind == UK_CONTRACTOR || (v.roles & admin);
}

static void log_event(struct steward *st, int64_t user, const char *client,
		      const char *request_id, const char *session, const char *action,
		      const char *outcome, const char *reason, json_t *detail)
{
	struct actor who = {.user_id = user, .via = "api", .client = client,
			    .request_id = request_id, .session_id = session};
	struct audit_event ev = {.action = action, .outcome = outcome, .reason = reason,
				 .detail = detail};
	struct st_error e = {0};
	if (steward_audit(st, &who, &ev, NULL, &e) != ST_OK)
		fprintf(stderr, "steward: cannot log %s: %s\n", action, e.message);
}

/* Logs and returns a refusal. The log must hold it: if it cannot, the
 * refusal stands but becomes the log's failure. */
static int refuse(struct steward *st, int64_t user, const char *client, const char *request_id,
		  const char *action, int status, const char *code, const char *field,
		  const char *reason, json_t *detail, bool cheap, struct st_error *e)
{
	struct actor who = {.user_id = user, .via = "api", .client = client,
			    .request_id = request_id};
	struct audit_event ev = {.action = action, .outcome = "deny", .reason = reason,
				 .detail = detail};
	/* Refusals that cost the sender nothing (a lock, a throttle, a forged
	 * or stale token) are logged one by one up to a budget per address,
	 * account and minute, then counted: on record, but no way to fill the
	 * disk. A refusal after a secret was checked is always logged. */
	if (cheap && !access_refusal_budget(st, client, user)) {
		json_decref(detail);
		return err_setc(e, status, code, field, "%s", reason);
	}
	struct st_error le = {0};
	int lrc = steward_audit(st, &who, &ev, NULL, &le);
	json_decref(detail);
	if (lrc != ST_OK) {
		if (e)
			*e = le;
		return lrc;
	}
	return err_setc(e, status, code, field, "%s", reason);
}

/* The key under which failures and locks of a sign-in name are kept: a
 * keyed hash, so that a password typed into the username field is never
 * stored, and the same for names that have no account. */
static void name_key(struct steward *st, const char *username, char out[40])
{
	char *msg = xasprintf("steward/signin-name|%s", username);
	unsigned char h[32];
	hmac_sha256(st->mfa_key, msg, strlen(msg), h);
	secure_free_plain(msg, strlen(msg));
	char *x = hex_encode(h, 16);
	str_copy(out, 40, x);
	free(x);
}

/* The address under which failures are counted: an IPv6 address by its
 * /64 (one host can hold a whole /64), anything else as it is. */
static void client_key(const char *client, char out[64])
{
	access_client_key(client, out);
}

/* Failures under a name (and an address, and of a kind, when given) since
 * a time; -1 if they cannot be counted (the caller fails closed). */
static int64_t count_failures(struct store_conn *c, const char *nkey, const char *ckey,
			      const char *kind, int64_t since)
{
	char sql[200];
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM signin_failure WHERE %s = ?%s%s AND at > ?",
		 nkey ? "username" : "client", nkey && ckey ? " AND client = ?" : "",
		 kind ? " AND kind = ?" : "");
	const char *a = nkey ? nkey : ckey;
	int64_t n = 0;
	int rc;
	if (nkey && ckey)
		rc = kind ? store_query_int(c, &n, NULL, sql, "ttti", a, ckey, kind, since)
			  : store_query_int(c, &n, NULL, sql, "tti", a, ckey, since);
	else
		rc = kind ? store_query_int(c, &n, NULL, sql, "tti", a, kind, since)
			  : store_query_int(c, &n, NULL, sql, "ti", a, since);
	return rc == ST_OK ? n : -1;
}

enum place_result { PLACED, LOCKED, THROTTLED, UNCOUNTABLE };

/* Whether a lock row holds now; its end into *until. -1: cannot tell. */
static int lock_row(struct store_conn *c, const char *key, int64_t now, int64_t *until)
{
	int64_t u = 0;
	int rc = store_query_int(c, &u, NULL,
				 "SELECT locked_until FROM signin_lock WHERE name_key = ?", "t", key);
	if (rc == ST_ENOTFOUND)
		return 0;
	if (rc != ST_OK)
		return -1;
	if (u > now && u > *until)
		*until = u;
	return u > now;
}

/* Whether the name signed in successfully from this address in the last 90
 * days: such an address is not shut out by a lock on the name from
 * everywhere, so a stranger spreading failures over many addresses cannot
 * lock a person out of their usual places. */
static bool known_address(struct store_conn *c, const char *nkey, const char *ckey, int64_t now)
{
	int64_t n = 0;
	return store_query_int(c, &n, NULL,
			       "SELECT COUNT(*) FROM signin_known WHERE name_key = ? AND client = ? AND "
			       "at > ?",
			       "tti", nkey, ckey, now - 90 * 86400) == ST_OK &&
	       n > 0;
}

static int64_t pair_key(const char *nkey, const char *ckey, char out[160])
{
	return snprintf(out, 160, "%s|%s", nkey, ckey);
}

/* Takes a place for checking one secret (kind "password" or "totp") of a
 * name from an address, or says why not. The place is a failure row written
 * before the secret is checked — inside the lock that counts, so parallel
 * attempts cannot pass a limit, and before the check, so a failure to write
 * cannot tell a right secret from a wrong one — and deleted when the secret
 * proves right. Limits: for passwords, lock_after failures of the name from
 * this address in the window (that address is locked out of that name),
 * NAME_LOCK_AFTER of the name from everywhere in a day (every address but
 * those it signed in from before), client_limit from the address whatever
 * the name; for codes, TOTP_LOCK_AFTER and TOTP_NAME_LOCK_AFTER likewise. */
static enum place_result take_place(struct steward *st, struct store_conn *c, const char *nkey,
				    const char *ckey, const char *kind,
				    const struct auth_settings *cfg, int64_t now, int64_t *until,
				    int64_t *row)
{
	bool totp = str_eq(kind, "totp");
	char pk[160];
	if (pair_key(nkey, ckey, pk) >= 160)
		return UNCOUNTABLE;
	*until = 0;
	*row = 0;
	bool known = known_address(c, nkey, ckey, now);
	int l1 = lock_row(c, pk, now, until), l2 = known ? 0 : lock_row(c, nkey, now, until);
	if (l1 < 0 || l2 < 0)
		return UNCOUNTABLE;
	if (l1 || l2)
		return LOCKED;
	pthread_mutex_lock(&st->auth->lock);
	int64_t byclient = totp ? 0 : count_failures(c, NULL, ckey, NULL, now - cfg->window_seconds);
	int64_t bypair = count_failures(c, nkey, ckey, kind, now - cfg->window_seconds);
	int64_t byname = known ? 0 : count_failures(c, nkey, NULL, kind, now - 86400);
	enum place_result r = PLACED;
	if (byclient < 0 || bypair < 0 || byname < 0)
		r = UNCOUNTABLE;
	else if (byclient >= cfg->client_limit)
		r = THROTTLED;
	else if (bypair >= (totp ? TOTP_LOCK_AFTER : cfg->lock_after) ||
		 byname >= (totp ? TOTP_NAME_LOCK_AFTER : NAME_LOCK_AFTER))
		r = LOCKED, *until = now + cfg->lock_seconds;
	else if (store_query_int(c, row, NULL,
				 "INSERT INTO signin_failure (username, client, at, kind) VALUES "
				 "(?, ?, ?, ?) RETURNING id",
				 "ttit", nkey, ckey, now, kind) != ST_OK)
		r = UNCOUNTABLE;
	pthread_mutex_unlock(&st->auth->lock);
	return r;
}

/* The secret was right (or the attempt ended before a verdict): the place
 * is given back. */
static void give_back(struct store_conn *c, int64_t row)
{
	if (row > 0)
		store_run(c, NULL, "DELETE FROM signin_failure WHERE id = ?", "i", row);
}

static int64_t set_lock(struct store_conn *c, const char *key, int64_t until)
{
	if (store_run(c, NULL,
		      "INSERT INTO signin_lock (name_key, locked_until) VALUES (?, ?) "
		      "ON CONFLICT (name_key) DO UPDATE SET locked_until = excluded.locked_until",
		      "ti", key, until) != ST_OK)
		return -1;
	return until;
}

/* The secret was wrong: its place stays as the failure, and a lock follows
 * when a limit is reached (the name from this address, or the name from
 * everywhere). Returns the lock's end, 0 if none, -1 on a storage error. */
static int64_t failed(struct store_conn *c, const char *nkey, const char *ckey,
		      const char *kind, const struct auth_settings *cfg, int64_t now)
{
	/* keep the tables small: forget failures older than a day, ended locks */
	store_run(c, NULL, "DELETE FROM signin_failure WHERE at < ?", "i", now - 86400);
	store_run(c, NULL, "DELETE FROM signin_lock WHERE locked_until < ?", "i", now);
	bool totp = str_eq(kind, "totp");
	int64_t pair = count_failures(c, nkey, ckey, kind, now - cfg->window_seconds);
	int64_t name = count_failures(c, nkey, NULL, kind, now - 86400);
	if (pair < 0 || name < 0)
		return -1;
	int64_t until = now + cfg->lock_seconds;
	if (name >= (totp ? TOTP_NAME_LOCK_AFTER : NAME_LOCK_AFTER))
		return set_lock(c, nkey, until);
	if (pair >= (totp ? TOTP_LOCK_AFTER : cfg->lock_after)) {
		char pk[160];
		pair_key(nkey, ckey, pk);
		return set_lock(c, pk, until);
	}
	return 0;
}

/* Argon2id with at most HASH_SLOTS at once; false with *busy set when the
 * server is too busy to check in time. */
static bool verify_password(struct steward *st, const char *hash, const char *password,
			    bool *busy)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += HASH_WAIT_SECONDS;
	*busy = false;
	while (sem_timedwait(&st->auth->hashing, &ts) != 0) {
		if (errno != EINTR) {
			*busy = true;
			return false;
		}
	}
	bool ok = password_verify(hash, password);
	sem_post(&st->auth->hashing);
	return ok;
}

static int locked_refusal(struct steward *st, int64_t uid, const char *client,
			  const char *request_id, const char *action, int64_t until,
			  json_t *detail, struct st_error *e)
{
	char reason[160], ts[32];
	time_format(until, ts);
	snprintf(reason, sizeof(reason),
		 "the account is locked after repeated failed sign-ins until %s", ts);
	return refuse(st, uid, client, request_id, action, ST_ELIMIT, "locked", NULL, reason,
		      detail, true, e);
}

static bool recovery_hash(struct steward *st, int64_t user, const char *code,
			  unsigned char out[32])
{
	char norm[32];
	size_t n = 0;
	for (const char *p = code; *p && n < sizeof(norm) - 1; p++)
		if (*p != '-' && *p != ' ')
			norm[n++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	norm[n] = '\0';
	if (n != 10)
		return false;
	char *msg = xasprintf("steward/recovery|user=%lld|%s", (long long)user, norm);
	hmac_sha256(st->mfa_key, msg, strlen(msg), out);
	secure_free_plain(msg, strlen(msg));
	secure_wipe(norm, sizeof(norm));
	return true;
}

/* Opens a user's TOTP secret. */
static int totp_secret(struct steward *st, struct store_conn *c, int64_t user,
		       unsigned char secret[TOTP_SECRET_BYTES], bool *confirmed, int64_t *last_step,
		       struct st_error *e)
{
	struct store_stmt *s;
	int rc = store_prepare(c,
			       "SELECT sealed_secret, confirmed_at IS NOT NULL, last_step FROM mfa_totp "
			       "WHERE user_id = ?",
			       &s, e);
	if (rc != ST_OK)
		return rc;
	store_bind(s, "i", user);
	rc = store_step(s, e);
	if (rc == STORE_ROW) {
		size_t len = 0;
		const void *sealed = store_col_blob(s, 0, &len);
		*confirmed = store_col_int(s, 1);
		*last_step = store_col_int(s, 2);
		char ad[64];
		snprintf(ad, sizeof(ad), "steward/totp|user=%lld", (long long)user);
		char *pt = NULL;
		size_t ptlen = 0;
		rc = unseal(st->mfa_key, ad, strlen(ad), sealed, len, &pt, &ptlen);
		if (rc == ST_OK && ptlen == TOTP_SECRET_BYTES)
			memcpy(secret, pt, TOTP_SECRET_BYTES);
		else
			rc = err_set(e, ST_ECRYPTO, NULL, "the multi-factor secret failed its check");
		secure_free_plain(pt, ptlen);
	} else if (rc == STORE_DONE) {
		rc = ST_ENOTFOUND;
	}
	store_done(s);
	return rc;
}

int auth_sign_in(struct steward *st, const char *username, const char *password,
		 const char *totp, const char *client, const char *request_id,
		 struct signin *out, struct st_error *e)
{
	memset(out, 0, sizeof(*out));
	struct auth_settings cfg = settings(st);
	int64_t now = time_now();
	const char *action = "session.create";
	client = client ? client : "";
	if (!username || !*username || strlen(username) > USERNAME_MAX)
		return err_setc(e, ST_EINVAL, "missing_field", "username", "\"username\" is required");
	if (!password || !*password || strlen(password) > PASSWORD_MAX)
		return err_setc(e, ST_EINVAL, "missing_field", "password", "\"password\" is required");
	struct store_conn *c;
	int rc = store_acquire(st->db, &c, e);
	if (rc != ST_OK)
		return rc;
	char nkey[40], ckey[64];
	name_key(st, username, nkey);
	client_key(client, ckey);
	int64_t uid = 0;
	char hash[PASSWORD_HASH_MAX] = "", status[16] = "";
	bool must_change = false;
	struct store_stmt *s;
	rc = store_prepare(c,
			   "SELECT id, COALESCE(password_hash, ''), status, must_change_password "
			   "FROM app_user WHERE username = ?",
			   &s, e);
	if (rc == ST_OK) {
		store_bind(s, "t", username);
		if (store_step(s, e) == STORE_ROW) {
			uid = store_col_int(s, 0);
			str_copy(hash, sizeof(hash), store_col_text(s, 1));
			str_copy(status, sizeof(status), store_col_text(s, 2));
			must_change = store_col_int(s, 3);
		}
		store_done(s);
	}
	/* The log names an account; a name without one is kept only as its
	 * keyed hash (it may be a password typed in the wrong field). */
	json_t *detail = uid ? json_pack("{s:s}", "username", username)
			     : json_pack("{s:s}", "unknown_name", nkey);
	int64_t until = 0, place = 0;
	switch (take_place(st, c, nkey, ckey, "password", &cfg, now, &until, &place)) {
	case PLACED:
		break;
	case LOCKED:
		store_release(c);
		secure_wipe(hash, sizeof(hash));
		return locked_refusal(st, uid, client, request_id, action, until, detail, e);
	case THROTTLED:
		store_release(c);
		secure_wipe(hash, sizeof(hash));
		return refuse(st, uid, client, request_id, action, ST_ELIMIT, "throttled", NULL,
			      "too many failed sign-ins from this address; wait and try again",
			      detail, true, e);
	case UNCOUNTABLE:
		store_release(c);
		secure_wipe(hash, sizeof(hash));
		json_decref(detail);
		return err_setc(e, ST_EUNAVAIL, "unavailable", NULL,
				"sign-in is unavailable: its failure counts cannot be read or written");
	}
	/* From here on a failure row stands for this attempt: a right
	 * password gives it back. The same Argon2id work whether or not the
	 * user exists. */
	bool busy = false;
	bool ok = verify_password(st, uid && hash[0] ? hash : st->auth->dummy_hash, password,
				  &busy) &&
		  uid && hash[0];
	secure_wipe(hash, sizeof(hash));
	if (busy) {
		give_back(c, place);
		store_release(c);
		json_decref(detail);
		return err_setc(e, ST_EUNAVAIL, "busy", NULL,
				"the server is too busy to check passwords; try again shortly");
	}
	if (!ok) {
		int64_t lock = failed(c, nkey, ckey, "password", &cfg, now);
		store_release(c);
		if (lock > 0 && uid)
			log_event(st, uid, client, request_id, NULL, "user.locked", "deny",
				  "locked after repeated failed sign-ins", NULL);
		return refuse(st, uid, client, request_id, action, ST_EAUTH, "bad_credentials", NULL,
			      "wrong username or password", detail, false, e);
	}
	give_back(c, place);
	if (!str_eq(status, "active")) {
		store_release(c);
		return refuse(st, uid, client, request_id, action, ST_EAUTH, "account_inactive", NULL,
			      str_eq(status, "separated") ? "this account belongs to a person who "
							    "has left the district"
							  : "this account is disabled",
			      detail, false, e);
	}
	/* multi-factor */
	unsigned char *secret = secure_scratch();
	bool enrolled = false;
	int64_t last_step = 0;
	int trc = totp_secret(st, c, uid, secret, &enrolled, &last_step, e);
	if (trc != ST_OK && trc != ST_ENOTFOUND) {
		secure_wipe(secret, TOTP_SECRET_BYTES);
		store_release(c);
		json_decref(detail);
		return trc;
	}
	bool mfa = false;
	if (enrolled) {
		if (!totp || !*totp) {
			secure_wipe(secret, TOTP_SECRET_BYTES);
			store_release(c);
			return refuse(st, uid, client, request_id, action, ST_EAUTH, "totp_required",
				      "totp",
				      "enter the 6-digit code from your authenticator app (or a "
				      "recovery code); if the device is lost, a user administrator "
				      "can reset your sign-in",
				      detail, false, e);
		}
		enum place_result pr =
			take_place(st, c, nkey, ckey, "totp", &cfg, now, &until, &place);
		if (pr != PLACED) {
			secure_wipe(secret, TOTP_SECRET_BYTES);
			store_release(c);
			if (pr == LOCKED)
				return locked_refusal(st, uid, client, request_id, action, until,
						      detail, e);
			json_decref(detail);
			return err_setc(e, ST_EUNAVAIL, "unavailable", NULL,
					"sign-in is unavailable: its failure counts cannot be read "
					"or written");
		}
		uint64_t step = 0;
		if (strlen(totp) == TOTP_DIGITS && totp_check(secret, TOTP_SECRET_BYTES, totp, now, &step)) {
			/* a code works once, even when sent twice at the same moment:
			 * only the attempt that advances the step wins */
			mfa = (int64_t)step > last_step &&
			      store_run(c, NULL,
					"UPDATE mfa_totp SET last_step = ? WHERE user_id = ? AND "
					"last_step < ?",
					"iii", (int64_t)step, uid, (int64_t)step) == ST_OK &&
			      store_changes(c) == 1;
		} else {
			unsigned char h[32];
			if (recovery_hash(st, uid, totp, h) &&
			    store_run(c, NULL,
				      "UPDATE recovery_code SET used_at = ? WHERE user_id = ? AND "
				      "code_hash = ? AND used_at IS NULL",
				      "iib", now, uid, h, (size_t)32) == ST_OK &&
			    store_changes(c) == 1) {
				mfa = true;
				log_event(st, uid, client, request_id, NULL, "mfa.recovery_code", "allow",
					  "a recovery code was used (it is now spent)", NULL);
			}
		}
		secure_wipe(secret, TOTP_SECRET_BYTES);
		if (!mfa) {
			int64_t lock = failed(c, nkey, ckey, "totp", &cfg, now);
			store_release(c);
			if (lock > 0)
				log_event(st, uid, client, request_id, NULL, "user.locked", "deny",
					  "locked after repeated wrong one-time codes", NULL);
			return refuse(st, uid, client, request_id, action, ST_EAUTH, "bad_totp", "totp",
				      "the one-time code is wrong, expired or already used", detail,
				      false, e);
		}
		give_back(c, place);
	}
	secure_wipe(secret, TOTP_SECRET_BYTES);
	/* suspended accounts do not get a session at all */
	model_rdlock(st->model);
	const struct muser *mu = model_user(st->model, (uint32_t)uid);
	int64_t susp_until = 0, sid = 0;
	bool suspended = mu && model_suspended(mu, now, &susp_until, &sid);
	model_unlock(st->model);
	if (suspended) {
		store_release(c);
		return refuse(st, uid, client, request_id, action, ST_EDENIED, "suspended", NULL,
			      "this account's access is suspended", detail, false, e);
	}
	const char *restricted = must_change ? "password"
					     : (!enrolled && auth_mfa_required(st, uid) ? "enroll" : "");
	unsigned char th[32], ch[32];
	new_token("stw_", out->token, th);
	new_token("", out->csrf, ch);
	new_id(out->session_id);
	out->user_id = uid;
	out->expires_at = now + cfg.max_seconds;
	out->mfa = mfa;
	out->mfa_enrollment_required = str_eq(restricted, "enroll");
	out->must_change_password = must_change;
	rc = store_run(c, e,
		       "INSERT INTO session (id, token_hash, csrf_hash, user_id, mfa, restricted, "
		       "client, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
		       "?, ?)",
		       "tbbiittiii", out->session_id, th, (size_t)32, ch, (size_t)32, uid,
		       (int64_t)mfa, restricted, client, now, now, out->expires_at);
	if (rc == ST_OK) {
		store_run(c, NULL, "DELETE FROM signin_failure WHERE username = ? AND client = ?",
			  "tt", nkey, ckey);
		/* an address this person signs in from: a lock on the name from
		 * everywhere does not shut it out */
		store_run(c, NULL,
			  "INSERT INTO signin_known (name_key, client, at) VALUES (?, ?, ?) "
			  "ON CONFLICT (name_key, client) DO UPDATE SET at = excluded.at",
			  "tti", nkey, ckey, now);
	}
	store_release(c);
	if (rc != ST_OK) {
		json_decref(detail);
		memset(out, 0, sizeof(*out));
		return rc;
	}
	json_object_set_new(detail, "mfa", json_boolean(mfa));
	if (restricted[0])
		json_object_set_new(detail, "limited_to", json_string(restricted));
	struct actor who = {.user_id = uid, .via = "api", .client = client,
			    .request_id = request_id, .session_id = out->session_id, .mfa = mfa};
	struct audit_event ev = {.action = action, .outcome = "allow", .detail = detail};
	rc = steward_audit(st, &who, &ev, NULL, e);
	json_decref(detail);
	if (rc != ST_OK) {
		/* not logged: the session must not be usable */
		struct store_conn *c2;
		if (store_acquire(st->db, &c2, NULL) == ST_OK) {
			store_run(c2, NULL, "UPDATE session SET revoked_at = ? WHERE id = ?", "it", now,
				  out->session_id);
			store_release(c2);
		}
		memset(out, 0, sizeof(*out));
	}
	return rc;
}

/* Looks a token up: sessions are "stw_...", API tokens "stk_...". */
static int token_load(struct store_conn *c, const char *token, const unsigned char h[32],
		      struct token_row *row, bool *found, struct st_error *e)
{
	memset(row, 0, sizeof(*row));
	*found = false;
	struct store_stmt *s;
	int rc;
	if (strncmp(token, "stk_", 4) != 0) {
		rc = store_prepare(c,
				   "SELECT s.id, s.user_id, s.mfa, s.restricted, s.csrf_hash, "
				   "s.last_seen_at, s.expires_at, s.revoked_at IS NOT NULL, u.status "
				   "FROM session s JOIN app_user u ON u.id = s.user_id "
				   "WHERE s.token_hash = ?",
				   &s, e);
		if (rc != ST_OK)
			return rc;
		store_bind(s, "b", h, (size_t)32);
		*found = store_step(s, e) == STORE_ROW;
		if (*found) {
			struct session_info *out = &row->info;
			str_copy(out->id, sizeof(out->id), store_col_text(s, 0));
			out->user_id = store_col_int(s, 1);
			out->mfa = store_col_int(s, 2);
			const char *r = store_col_text(s, 3);
			out->limit = str_eq(r, "enroll") ? SESSION_ENROLL_ONLY
							 : (str_eq(r, "password") ? SESSION_PASSWORD_ONLY
										  : SESSION_FULL);
			size_t len = 0;
			const void *ch = store_col_blob(s, 4, &len);
			if (len == 32)
				memcpy(out->csrf_hash, ch, 32);
			row->last_seen = store_col_int(s, 5);
			row->expires_at = store_col_int(s, 6);
			row->revoked = store_col_int(s, 7) != 0;
			row->active = str_eq(store_col_text(s, 8), "active");
		}
		store_done(s);
	}
	if (*found || strncmp(token, "stw_", 4) == 0)
		return ST_OK;
	rc = store_prepare(c,
			   "SELECT t.id, t.user_id, t.mfa, t.scopes, t.expires_at, "
			   "t.revoked_at IS NOT NULL, u.status, COALESCE(t.last_used_at, 0) "
			   "FROM api_token t JOIN app_user u ON u.id = t.user_id "
			   "WHERE t.token_hash = ?",
			   &s, e);
	if (rc != ST_OK)
		return rc;
	store_bind(s, "b", h, (size_t)32);
	if (store_step(s, e) == STORE_ROW) {
		*found = true;
		struct session_info *out = &row->info;
		out->api_token = true;
		str_copy(out->id, sizeof(out->id), store_col_text(s, 0));
		out->user_id = store_col_int(s, 1);
		out->mfa = store_col_int(s, 2);
		str_copy(out->scopes, sizeof(out->scopes), store_col_text(s, 3));
		row->expires_at = store_col_int(s, 4);
		row->revoked = store_col_int(s, 5) != 0;
		row->active = str_eq(store_col_text(s, 6), "active");
		row->last_seen = store_col_int(s, 7);
	}
	store_done(s);
	return ST_OK;
}

/* Every request's token check reads two rows that change rarely: they are
 * kept here, each with the main database's generation at the time it was
 * read, and used only while no change at all has been committed since.
 * A revocation, a suspension or any other change therefore takes effect on
 * the very next request, exactly as without the cache. Tokens that are
 * not found are never kept. */
static int token_lookup(struct steward *st, const char *token, const unsigned char h[32],
			struct token_row *row, bool *found, struct st_error *e)
{
	struct auth_state *a = st->auth;
	uint64_t gen = store_generation(st->db); /* before reading: a change
						  * meanwhile makes it stale */
	struct token_entry *slot = &a->tokens[(h[0] | (unsigned)h[1] << 8) % TOKEN_CACHE];
	pthread_mutex_lock(&a->tokens_lock);
	if (slot->used && slot->gen == gen && secure_equal(slot->hash, h, 32)) {
		*row = slot->row;
		*found = true;
		pthread_mutex_unlock(&a->tokens_lock);
		return ST_OK;
	}
	pthread_mutex_unlock(&a->tokens_lock);
	struct store_conn *c;
	int rc = store_acquire(st->db, &c, e);
	if (rc != ST_OK)
		return rc;
	rc = token_load(c, token, h, row, found, e);
	store_release(c);
	if (rc == ST_OK && *found) {
		pthread_mutex_lock(&a->tokens_lock);
		slot->used = true;
		slot->gen = gen;
		memcpy(slot->hash, h, 32);
		slot->row = *row;
		pthread_mutex_unlock(&a->tokens_lock);
	}
	return rc;
}

/* auth_check, or with `quick` only whether it would write or log (*wait):
 * then nothing is written or logged. */
static int check(struct steward *st, const char *token, const char *client,
		 const char *request_id, struct session_info *out, bool quick, bool *wait,
		 struct st_error *e)
{
	memset(out, 0, sizeof(*out));
	int64_t now = time_now();
	if (!token || !*token)
		return err_setc(e, ST_EAUTH, "unauthenticated", NULL,
				"sign in first: send Authorization: Bearer <token>");
	if (quick && !token_shape_ok(token))
		return *wait = true, ST_OK;
	if (!token_shape_ok(token))
		return refuse(st, 0, client, request_id, "session.refused", ST_EAUTH, "bad_token", NULL,
			      "the token is malformed", NULL, true, e);
	unsigned char h[32];
	sha256(token, strlen(token), h);
	struct auth_settings cfg = settings(st);
	struct token_row row;
	bool found = false;
	int rc = token_lookup(st, token, h, &row, &found, e);
	if (rc != ST_OK)
		return rc;
	if (quick && !found)
		return *wait = true, ST_OK;
	if (!found)
		return refuse(st, 0, client, request_id, "session.refused", ST_EAUTH, "bad_token", NULL,
			      "the token is not valid", NULL, true, e);
	*out = row.info;
	int64_t uid = out->user_id, last_seen = row.last_seen;
	const char *reason = NULL;
	if (out->api_token) {
		if (row.revoked)
			reason = "the API token was revoked";
		else if (now >= row.expires_at)
			reason = "the API token has expired";
		else if (!row.active)
			reason = "the account is not active";
	} else {
		if (row.revoked)
			reason = "the session was signed out or revoked";
		else if (now >= row.expires_at)
			reason = "the session has expired; sign in again";
		else if (now - last_seen >= cfg.idle_seconds)
			reason = "the session expired after inactivity; sign in again";
		else if (!row.active)
			reason = "the account is not active";
	}
	struct store_conn *c = NULL;
	bool write = reason || now - last_seen >= (cfg.idle_seconds / 4 < 60 ? cfg.idle_seconds / 4 : 60);
	if (quick) {
		*wait = write;
		return ST_OK;
	}
	if (write) {
		rc = store_acquire(st->db, &c, e);
		if (rc != ST_OK)
			return rc;
	}
	if (reason) {
		if (!out->api_token && strstr(reason, "expired"))
			store_run(c, NULL, "UPDATE session SET revoked_at = ? WHERE id = ? AND "
					   "revoked_at IS NULL",
				  "it", now, out->id);
		store_release(c);
		json_t *detail = json_pack("{s:s}", out->api_token ? "token" : "session", out->id);
		return refuse(st, uid, client, request_id, "session.refused", ST_EAUTH,
			      "session_ended", NULL, reason, detail, true, e);
	}
	/* note activity, but write at most every few seconds */
	if (c)
		store_run(c, NULL,
			  out->api_token ? "UPDATE api_token SET last_used_at = ? WHERE id = ?"
					 : "UPDATE session SET last_seen_at = ? WHERE id = ?",
			  "it", now, out->id);
	store_release(c);
	return ST_OK;
}

int auth_check(struct steward *st, const char *token, const char *client,
	       const char *request_id, struct session_info *out, struct st_error *e)
{
	return check(st, token, client, request_id, out, false, NULL, e);
}

int auth_check_quick(struct steward *st, const char *token, struct session_info *out,
		     bool *wait, struct st_error *e)
{
	*wait = false;
	int rc = check(st, token, NULL, NULL, out, true, wait, e);
	if (rc != ST_OK || *wait)
		secure_wipe(out, sizeof(*out));
	return rc;
}

bool auth_csrf_ok(const struct session_info *s, const char *csrf)
{
	if (!csrf || !*csrf || strlen(csrf) > 100)
		return false;
	unsigned char h[32];
	sha256(csrf, strlen(csrf), h);
	return secure_equal(h, s->csrf_hash, 32);
}

int auth_sign_out(struct steward *st, const struct actor *who, struct st_error *e)
{
	struct store_conn *c;
	int rc = store_acquire(st->db, &c, e);
	if (rc != ST_OK)
		return rc;
	rc = store_run(c, e, "UPDATE session SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
		       "it", time_now(), who->session_id);
	store_release(c);
	if (rc == ST_OK) {
		struct audit_event ev = {.action = "session.delete", .outcome = "allow"};
		rc = steward_audit(st, who, &ev, NULL, e);
	}
	return rc;
}

static char *qr_svg(const char *text)
{
	QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (!q)
		return xstrdup("");
	struct buf b = BUF_INIT;
	int w = q->width, margin = 4, size = w + 2 * margin;
	buf_printf(&b,
		   "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
		   "shape-rendering=\"crispEdges\"><rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>"
		   "<path fill=\"#000\" d=\"",
		   size, size, size, size);
	for (int y = 0; y < w; y++)
		for (int x = 0; x < w; x++)
			if (q->data[y * w + x] & 1)
				buf_printf(&b, "M%d %dh1v1h-1z", x + margin, y + margin);
	buf_puts(&b, "\"/></svg>");
	QRcode_free(q);
	return buf_detach(&b, NULL);
}

static void url_escape(struct buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.')
			buf_putc(b, (char)c);
		else
			buf_printf(b, "%%%02X", c);
	}
}

/* --- enrolment codes ----------------------------------------------------------
 *
 * A first enrolment is bound to a one-time code that a user administrator
 * issued and handed to the person out of band: the password alone (which a
 * phishing page or a shoulder-surfer may have) does not give it. The code
 * is kept only as a keyed hash bound to its person, compared in constant
 * time, spent by the enrolment that presents it, and expires. */

/* The keyed hash of a code for a person; false (h zeroed) when the text
 * cannot be a code. Dashes, spaces and case do not matter. */
static bool enrollment_hash(struct steward *st, int64_t user, const char *code,
			    unsigned char h[32])
{
	memset(h, 0, 32);
	char norm[20];
	size_t n = 0;
	for (const char *p = code; *p && n <= 16; p++)
		if (*p != '-' && *p != ' ')
			norm[n++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	bool shaped = n == 16;
	if (shaped) {
		norm[n] = '\0';
		char *msg = xasprintf("steward/enrollment|user=%lld|%s", (long long)user, norm);
		hmac_sha256(st->mfa_key, msg, strlen(msg), h);
		secure_free_plain(msg, strlen(msg));
	}
	secure_wipe(norm, sizeof(norm));
	return shaped;
}

/* Makes a new code for a person and keeps its hash in place of any earlier
 * one (inside the caller's transaction). */
static int enrollment_store(struct steward *st, struct store_conn *c, int64_t user, int64_t by,
			    int64_t now, char code[AUTH_ENROLL_CODE_MAX], int64_t *expires_at,
			    struct st_error *e)
{
	unsigned char raw[10];
	random_bytes(raw, sizeof(raw));
	char *b = base32_encode(raw, sizeof(raw)); /* 16 characters */
	for (char *p = b; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	snprintf(code, AUTH_ENROLL_CODE_MAX, "%.4s-%.4s-%.4s-%.4s", b, b + 4, b + 8, b + 12);
	secure_wipe(b, strlen(b));
	free(b);
	secure_wipe(raw, sizeof(raw));
	unsigned char h[32];
	enrollment_hash(st, user, code, h);
	*expires_at = now + AUTH_ENROLL_CODE_SECONDS;
	return store_run(c, e,
			 "INSERT INTO mfa_enrollment_code (user_id, code_hash, issued_by, issued_at, "
			 "expires_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET "
			 "code_hash = excluded.code_hash, issued_by = excluded.issued_by, "
			 "issued_at = excluded.issued_at, expires_at = excluded.expires_at",
			 "ibiii", user, h, (size_t)32, by, now, *expires_at);
}

/* Whether code is the person's outstanding, unexpired code; its hash into
 * h either way (to spend it by). */
static bool enrollment_code_ok(struct steward *st, struct store_conn *c, int64_t user,
			       const char *code, int64_t now, unsigned char h[32])
{
	bool shaped = enrollment_hash(st, user, code, h);
	struct store_stmt *s;
	if (store_prepare(c, "SELECT code_hash, expires_at FROM mfa_enrollment_code WHERE user_id = ?",
			  &s, NULL) != ST_OK)
		return false;
	store_bind(s, "i", user);
	bool ok = false;
	if (store_step(s, NULL) == STORE_ROW) {
		size_t len = 0;
		const void *kept = store_col_blob(s, 0, &len);
		ok = len == 32 && secure_equal(kept, h, 32) && store_col_int(s, 1) > now;
	}
	store_done(s);
	return ok && shaped;
}

/* An account's username and whether it has multi-factor set up. */
static int account_of(struct store_conn *c, int64_t user, char username[USERNAME_MAX + 1],
		      bool *enrolled, struct st_error *e)
{
	username[0] = '\0';
	*enrolled = false;
	struct store_stmt *s;
	int rc = store_prepare(c,
			       "SELECT u.username, (SELECT COUNT(*) FROM mfa_totp t WHERE t.user_id = "
			       "u.id AND t.confirmed_at IS NOT NULL) FROM app_user u WHERE u.id = ?",
			       &s, e);
	if (rc != ST_OK)
		return rc;
	store_bind(s, "i", user);
	rc = store_step(s, e);
	if (rc == STORE_ROW) {
		str_copy(username, USERNAME_MAX + 1, store_col_text(s, 0));
		*enrolled = store_col_int(s, 1) > 0;
		rc = ST_OK;
	} else if (rc == STORE_DONE) {
		rc = err_setc(e, ST_ENOTFOUND, "user_not_found", "id", "no user %lld", (long long)user);
	}
	store_done(s);
	return rc;
}

int auth_enrollment_code_issue(struct steward *st, const struct actor *who, int64_t user_id,
			       char code[AUTH_ENROLL_CODE_MAX], int64_t *expires_at,
			       struct st_error *e)
{
	memset(code, 0, AUTH_ENROLL_CODE_MAX);
	*expires_at = 0;
	json_t *detail = json_pack("{s:I}", "user", (json_int_t)user_id);
	struct audit_event ev = {.action = "mfa.enrollment_code", .detail = detail};
	int rc = access_admin_over(st, who, ADM_USERS, user_id, &ev, "multi-factor enrolment", e);
	struct store_conn *c = NULL;
	if (rc == ST_OK)
		rc = store_acquire(st->db, &c, e);
	char username[USERNAME_MAX + 1];
	bool enrolled = false;
	if (rc == ST_OK)
		rc = account_of(c, user_id, username, &enrolled, e);
	if (rc == ST_OK && enrolled)
		rc = err_setc(e, ST_ECONFLICT, "already_enrolled", NULL,
			      "this person has multi-factor set up already; if the device was lost, "
			      "reset their sign-in instead (POST /api/v1/users/{id}/reset, steward "
			      "users reset)");
	if (rc == ST_OK)
		rc = store_begin(c, e);
	if (rc == ST_OK)
		rc = enrollment_store(st, c, user_id, who->user_id, time_now(), code, expires_at, e);
	if (rc == ST_OK) {
		char until[32];
		time_format(*expires_at, until);
		json_object_set_new(detail, "expires_at", json_string(until));
		ev.outcome = "allow";
		ev.reason = "a one-time multi-factor enrolment code was issued";
		rc = steward_audit(st, who, &ev, NULL, e);
	}
	if (rc == ST_OK)
		rc = store_commit(c, e);
	else if (c && store_in_transaction(c))
		store_rollback(c);
	if (c)
		store_release(c);
	json_decref(detail);
	if (rc != ST_OK) {
		secure_wipe(code, AUTH_ENROLL_CODE_MAX);
		*expires_at = 0;
	}
	return rc;
}

/* A random one-time password (100 bits, "xxxxx-xxxxx-xxxxx-xxxxx") that the
 * password rules accept for this username, and its hash. */
static int one_time_password(const char *username, char out[32], char hash[PASSWORD_HASH_MAX],
			     struct st_error *e)
{
	int rc = ST_EINTERNAL;
	for (int attempt = 0; attempt < 100 && rc != ST_OK; attempt++) {
		unsigned char raw[13];
		random_bytes(raw, sizeof(raw));
		char *b = base32_encode(raw, sizeof(raw));
		for (char *p = b; *p; p++)
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
		/* a username that is a dash or one character may sit in any
		 * such password by chance: another is drawn */
		snprintf(out, 32, attempt < 50 ? "%.5s-%.5s-%.5s-%.5s" : "%.5s%.5s%.5s%.5s", b,
			 b + 5, b + 10, b + 15);
		secure_wipe(b, strlen(b));
		free(b);
		secure_wipe(raw, sizeof(raw));
		rc = password_check_policy(out, username, "password", NULL);
	}
	if (rc == ST_OK && password_hash(out, hash) != ST_OK)
		rc = ST_EINTERNAL;
	if (rc != ST_OK) {
		secure_wipe(out, 32);
		return err_set(e, ST_EINTERNAL, NULL, "cannot make a one-time password");
	}
	return ST_OK;
}

int auth_credentials_reset(struct steward *st, const struct actor *who, int64_t user_id,
			   const char *reason, struct credentials_reset *out, struct st_error *e)
{
	memset(out, 0, sizeof(*out));
	json_t *detail = json_pack("{s:I}", "user", (json_int_t)user_id);
	struct audit_event ev = {.action = "user.reset", .detail = detail};
	int rc = access_admin_over(st, who, ADM_USERS, user_id, &ev, "password and multi-factor", e);
	if (rc == ST_OK && (!reason || !*reason || strlen(reason) > 500 ||
			    !str_is_clean_utf8(reason, strlen(reason))))
		rc = err_setc(e, ST_EINVAL, "missing_field", "reason",
			      "\"reason\" is required (at most 500 characters): why the sign-in is "
			      "reset, for the log");
	struct store_conn *c = NULL;
	if (rc == ST_OK)
		rc = store_acquire(st->db, &c, e);
	char username[USERNAME_MAX + 1] = "", hash[PASSWORD_HASH_MAX] = "";
	bool enrolled = false;
	if (rc == ST_OK)
		rc = account_of(c, user_id, username, &enrolled, e);
	if (rc == ST_OK)
		rc = one_time_password(username, out->password, hash, e);
	char nkey[40], pattern[48];
	int64_t now = time_now();
	if (rc == ST_OK) {
		name_key(st, username, nkey);
		snprintf(pattern, sizeof(pattern), "%s|%%", nkey);
		rc = store_begin(c, e);
	}
	/* the new one-time password, to be changed at the next sign-in */
	if (rc == ST_OK)
		rc = store_run(c, e,
			       "UPDATE app_user SET password_hash = ?, must_change_password = 1, "
			       "password_changed_at = ?, updated_at = ? WHERE id = ?",
			       "tiii", hash, now, now, user_id);
	/* the authenticator and its recovery codes go; a new code to enrol again */
	if (rc == ST_OK)
		rc = store_run(c, e, "DELETE FROM mfa_totp WHERE user_id = ?", "i", user_id);
	if (rc == ST_OK)
		rc = store_run(c, e, "DELETE FROM recovery_code WHERE user_id = ?", "i", user_id);
	if (rc == ST_OK)
		rc = enrollment_store(st, c, user_id, who->user_id, now, out->enrollment_code,
				      &out->expires_at, e);
	/* whatever was opened with the old secrets ends */
	if (rc == ST_OK)
		rc = store_run(c, e,
			       "UPDATE session SET revoked_at = ? WHERE user_id = ? AND revoked_at IS "
			       "NULL",
			       "ii", now, user_id);
	if (rc == ST_OK)
		rc = store_run(c, e,
			       "UPDATE api_token SET revoked_at = ? WHERE user_id = ? AND revoked_at "
			       "IS NULL",
			       "ii", now, user_id);
	/* the person is known to be who they say: their name's locks end */
	if (rc == ST_OK)
		rc = store_run(c, e, "DELETE FROM signin_lock WHERE name_key = ? OR name_key LIKE ?",
			       "tt", nkey, pattern);
	if (rc == ST_OK)
		rc = store_run(c, e, "DELETE FROM signin_failure WHERE username = ?", "t", nkey);
	if (rc == ST_OK) {
		/* the why is free text about a person: it goes where the log
		 * keeps stated purposes (sealed), not into the details */
		ev.purpose = reason;
		json_object_set_new(detail, "had_mfa", json_boolean(enrolled));
		ev.outcome = "allow";
		ev.reason = "password and multi-factor reset: a one-time password and an enrolment "
			    "code were issued; sessions and API tokens ended";
		rc = steward_audit(st, who, &ev, NULL, e);
	}
	if (rc == ST_OK)
		rc = store_commit(c, e);
	else if (c && store_in_transaction(c))
		store_rollback(c);
	if (c)
		store_release(c);
	secure_wipe(hash, sizeof(hash));
	json_decref(detail);
	if (rc != ST_OK)
		secure_wipe(out, sizeof(*out));
	return rc;
}

static bool session_place(struct steward *st, struct store_conn *c, const struct actor *who,
			  const struct auth_settings *cfg, int64_t now, const char *kind,
			  int64_t *row);
static int wrong_in_session(struct steward *st, struct store_conn *c, const struct actor *who,
			    const struct auth_settings *cfg, int64_t now, const char *action,
			    const char *what, struct st_error *e);
static int session_guard_refusal(struct steward *st, struct store_conn *c,
				 const struct actor *who, const char *action, struct st_error *e);

int auth_mfa_begin(struct steward *st, const struct actor *who, const char *enrollment_code,
		   struct mfa_enrollment *out, struct st_error *e)
{
	memset(out, 0, sizeof(*out));
	if (who->user_id <= 0)
		return err_set(e, ST_EAUTH, NULL, "sign in first");
	struct auth_settings cfg = settings(st);
	struct store_conn *c;
	int rc = store_acquire(st->db, &c, e);
	if (rc != ST_OK)
		return rc;
	int64_t confirmed = 0, mine = 0;
	store_query_int(c, &confirmed, NULL,
			"SELECT COUNT(*) FROM mfa_totp WHERE user_id = ? AND confirmed_at IS NOT NULL",
			"i", who->user_id);
	if (confirmed) {
		store_release(c);
		return err_setc(e, ST_ECONFLICT, "already_enrolled", NULL,
				"multi-factor is already set up for this account; if the device was "
				"lost, ask a user administrator to reset your sign-in");
	}
	/* starting again in the session that presented a code needs none */
	if (who->session_id)
		store_query_int(c, &mine, NULL,
				"SELECT COUNT(*) FROM mfa_totp WHERE user_id = ? AND confirmed_at IS "
				"NULL AND session_id = ?",
				"it", who->user_id, who->session_id);
	bool spend = mine == 0;
	unsigned char code_hash[32] = {0};
	if (spend) {
		if (!enrollment_code || !*enrollment_code) {
			store_release(c);
			return err_setc(e, ST_EINVAL, "missing_field", "enrollment_code",
					"\"enrollment_code\" is required: the one-time code a user "
					"administrator gives you for setting up multi-factor");
		}
		int64_t now = time_now(), place = 0;
		if (!session_place(st, c, who, &cfg, now, "enroll", &place))
			return session_guard_refusal(st, c, who, "mfa.enroll", e);
		if (!enrollment_code_ok(st, c, who->user_id, enrollment_code, now, code_hash)) {
			rc = wrong_in_session(st, c, who, &cfg, now, "mfa.enroll",
					      "the enrolment code was wrong, expired or already used", e);
			if (rc != ST_OK)
				return rc;
			return err_setc(e, ST_EINVAL, "bad_enrollment_code", "enrollment_code",
					"the enrolment code is wrong, expired or already used; ask a "
					"user administrator for a new one");
		}
		give_back(c, place);
	}
	char username[USERNAME_MAX + 1] = "";
	struct store_stmt *s;
	if (store_prepare(c, "SELECT username FROM app_user WHERE id = ?", &s, e) == ST_OK) {
		store_bind(s, "i", who->user_id);
		if (store_step(s, e) == STORE_ROW)
			str_copy(username, sizeof(username), store_col_text(s, 0));
		store_done(s);
	}
	unsigned char secret[TOTP_SECRET_BYTES];
	random_bytes(secret, sizeof(secret));
	char ad[64];
	snprintf(ad, sizeof(ad), "steward/totp|user=%lld", (long long)who->user_id);
	struct buf sealed = BUF_INIT;
	seal(st->mfa_key, ad, strlen(ad), secret, sizeof(secret), &sealed);
	rc = store_begin(c, e);
	/* the code is spent once, even by two enrolments at the same moment */
	if (rc == ST_OK && spend) {
		rc = store_run(c, e,
			       "DELETE FROM mfa_enrollment_code WHERE user_id = ? AND code_hash = ?",
			       "ib", who->user_id, code_hash, (size_t)32);
		if (rc == ST_OK && store_changes(c) != 1)
			rc = err_setc(e, ST_EINVAL, "bad_enrollment_code", "enrollment_code",
				      "the enrolment code was used by another request at the same "
				      "time");
	}
	/* the secret can be confirmed only from this session */
	if (rc == ST_OK)
		rc = store_run(c, e,
			       "INSERT INTO mfa_totp (user_id, sealed_secret, session_id) VALUES (?, ?, "
			       "?) ON CONFLICT (user_id) DO UPDATE SET sealed_secret = "
			       "excluded.sealed_secret, confirmed_at = NULL, last_step = 0, "
			       "session_id = excluded.session_id",
			       "ibt", who->user_id, sealed.data, sealed.len,
			       who->session_id ? who->session_id : "");
	if (rc == ST_OK)
		rc = store_run(c, e, "DELETE FROM recovery_code WHERE user_id = ?", "i", who->user_id);
	for (int i = 0; rc == ST_OK && i < 10; i++) {
		unsigned char raw[7];
		random_bytes(raw, sizeof(raw));
		char *b = base32_encode(raw, sizeof(raw));
		for (char *p = b; *p; p++)
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
		snprintf(out->recovery[i], sizeof(out->recovery[i]), "%.5s-%.5s", b, b + 5);
		unsigned char h[32];
		recovery_hash(st, who->user_id, out->recovery[i], h);
		rc = store_run(c, e, "INSERT INTO recovery_code (user_id, code_hash) VALUES (?, ?)",
			       "ib", who->user_id, h, (size_t)32);
		secure_wipe(b, strlen(b));
		free(b);
	}
	struct audit_event ev = {.action = "mfa.enroll", .outcome = "allow",
				 .reason = spend ? "an enrolment code was spent; a new authenticator "
						   "secret and recovery codes were issued"
						 : "a new authenticator secret and recovery codes were "
						   "issued (again, in the same session)"};
	if (rc == ST_OK)
		rc = steward_audit(st, who, &ev, NULL, e);
	if (rc == ST_OK)
		rc = store_commit(c, e);
	else
		store_rollback(c);
	store_release(c);
	buf_release(&sealed);
	if (rc == ST_OK) {
		char *b32 = base32_encode(secret, sizeof(secret));
		str_copy(out->secret, sizeof(out->secret), b32);
		struct buf uri = BUF_INIT;
		buf_puts(&uri, "otpauth://totp/Steward:");
		url_escape(&uri, username);
		buf_printf(&uri, "?secret=%s&issuer=Steward&algorithm=SHA1&digits=6&period=30", b32);
		str_copy(out->uri, sizeof(out->uri), uri.data);
		out->qr_svg = qr_svg(uri.data);
		secure_wipe(b32, strlen(b32));
		free(b32);
		secure_wipe(uri.data, uri.len);
		buf_release(&uri);
	} else {
		memset(out, 0, sizeof(*out));
	}
	secure_wipe(secret, sizeof(secret));
	secure_wipe(code_hash, sizeof(code_hash));
	return rc;
}

/* Secrets checked inside a signed-in session (the current password at a
 * change, a code at enrolment) are limited per session, not per name: a
 * stranger cannot use them to lock a person out, and a stolen session
 * cannot use them to guess. SESSION_FAIL_LIMIT wrong ones over the
 * session's whole life end it. The place is a failure row written before
 * the check, as for signing in; *row receives it (0: no place). */
static bool session_place(struct steward *st, struct store_conn *c, const struct actor *who,
			  const struct auth_settings *cfg, int64_t now, const char *kind,
			  int64_t *row)
{
	char k[64], ckey[64];
	snprintf(k, sizeof(k), "s|%s", who->session_id ? who->session_id : "");
	client_key(who->client ? who->client : "", ckey);
	*row = 0;
	pthread_mutex_lock(&st->auth->lock);
	int64_t n = count_failures(c, k, NULL, NULL, now - cfg->max_seconds - 1);
	bool ok = n >= 0 && n < SESSION_FAIL_LIMIT &&
		  store_query_int(c, row, NULL,
				  "INSERT INTO signin_failure (username, client, at, kind) VALUES (?, ?, "
				  "?, ?) RETURNING id",
				  "ttit", k, ckey, now, kind) == ST_OK;
	pthread_mutex_unlock(&st->auth->lock);
	return ok;
}

/* After a wrong secret in a session (its row stays): ends the session at
 * the limit. Returns 1 if it ended, 0 if not, -1 on a storage error. */
static int session_failure(struct steward *st, struct store_conn *c, const struct actor *who,
			   const struct auth_settings *cfg, int64_t now)
{
	char k[64];
	snprintf(k, sizeof(k), "s|%s", who->session_id ? who->session_id : "");
	int64_t n = count_failures(c, k, NULL, NULL, now - cfg->max_seconds - 1);
	if (n < 0)
		return -1;
	if (n < SESSION_FAIL_LIMIT)
		return 0;
	if (store_run(c, NULL, "UPDATE session SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
		      "it", now, who->session_id ? who->session_id : "") != ST_OK)
		return -1;
	log_event(st, who->user_id, who->client, who->request_id, who->session_id, "session.ended",
		  "deny", "too many wrong secrets in this session: it was ended", NULL);
	return 1;
}

/* A wrong secret inside a session: recorded (ending the session at the
 * limit), the connection released, the refusal logged. ST_OK means the
 * caller now answers with its own refusal. */
static int wrong_in_session(struct steward *st, struct store_conn *c, const struct actor *who,
			    const struct auth_settings *cfg, int64_t now, const char *action,
			    const char *what, struct st_error *e)
{
	int ended = session_failure(st, c, who, cfg, now);
	store_release(c);
	char reason[160];
	snprintf(reason, sizeof(reason), "%s%s", what, ended > 0 ? "; the session was ended" : "");
	struct audit_event ev = {.action = action, .outcome = "deny", .reason = reason};
	int lrc = steward_audit(st, who, &ev, NULL, e);
	if (lrc != ST_OK)
		return lrc;
	if (ended < 0)
		return err_setc(e, ST_EUNAVAIL, "unavailable", NULL,
				"a failure could not be recorded; try again later");
	return ST_OK;
}

static int session_guard_refusal(struct steward *st, struct store_conn *c,
				 const struct actor *who, const char *action, struct st_error *e)
{
	int64_t now = time_now();
	store_run(c, NULL, "UPDATE session SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
		  "it", now, who->session_id ? who->session_id : "");
	store_release(c);
	struct audit_event ev = {.action = action, .outcome = "deny",
				 .reason = "too many wrong secrets in this session: it was ended"};
	int lrc = steward_audit(st, who, &ev, NULL, e);
	if (lrc != ST_OK)
		return lrc;
	return err_setc(e, ST_EAUTH, "session_ended", NULL,
			"too many wrong attempts in this session; sign in again");
}

int auth_mfa_confirm(struct steward *st, const struct actor *who, const char *code,
		     struct st_error *e)
{
	if (!code || !*code)
		return err_setc(e, ST_EINVAL, "missing_field", "code", "\"code\" is required");
	struct auth_settings cfg = settings(st);
	struct store_conn *c;
	int rc = store_acquire(st->db, &c, e);
	if (rc != ST_OK)
		return rc;
	int64_t now = time_now(), place = 0;
	if (!session_place(st, c, who, &cfg, now, "totp", &place))
		return session_guard_refusal(st, c, who, "mfa.confirm", e);
	unsigned char *secret = secure_scratch();
	bool confirmed = false;
	int64_t last_step = 0;
	rc = totp_secret(st, c, who->user_id, secret, &confirmed, &last_step, e);
	if (rc == ST_ENOTFOUND)
		rc = err_setc(e, ST_ECONFLICT, "not_started", NULL,
			      "start with POST /api/v1/mfa/totp to get a secret");
	else if (rc == ST_OK && confirmed)
		rc = err_setc(e, ST_ECONFLICT, "already_enrolled", NULL,
			      "multi-factor is already set up for this account");
	/* only the session that began the enrolment (with its code) finishes it */
	int64_t mine = 0;
	if (rc == ST_OK && who->session_id)
		store_query_int(c, &mine, NULL,
				"SELECT COUNT(*) FROM mfa_totp WHERE user_id = ? AND session_id = ?",
				"it", who->user_id, who->session_id);
	if (rc == ST_OK && !mine)
		rc = err_setc(e, ST_ECONFLICT, "not_started", NULL,
			      "multi-factor set-up was not started in this session: start with POST "
			      "/api/v1/mfa/totp and the enrolment code");
	uint64_t step = 0;
	if (rc == ST_OK && (strlen(code) != TOTP_DIGITS ||
			    !totp_check(secret, TOTP_SECRET_BYTES, code, now, &step) ||
			    (int64_t)step <= last_step)) {
		secure_wipe(secret, TOTP_SECRET_BYTES);
		rc = wrong_in_session(st, c, who, &cfg, now, "mfa.confirm", "the code did not match",
				      e);
		if (rc != ST_OK)
			return rc;
		return err_setc(e, ST_EINVAL, "bad_totp", "code",
				"the code does not match; check the device's clock and try the "
				"current code");
	}
	secure_wipe(secret, TOTP_SECRET_BYTES);
	give_back(c, place);
	if (rc == ST_OK)
		rc = store_begin(c, e);
	/* the step advances only once, even for two confirmations at once */
	if (rc == ST_OK)
		rc = store_run(c, e,
			       "UPDATE mfa_totp SET confirmed_at = ?, last_step = ? WHERE user_id = ? "
			       "AND confirmed_at IS NULL AND last_step < ? AND session_id = ?",
			       "iiiit", now, (int64_t)step, who->user_id, (int64_t)step,
			       who->session_id ? who->session_id : "");
	if (rc == ST_OK && store_changes(c) != 1)
		rc = err_setc(e, ST_ECONFLICT, "already_enrolled", NULL,
			      "multi-factor was set up by another request at the same time");
	/* this session now counts as multi-factor; sessions of the account
	 * opened without it end, so none outlives the enrolment unprotected */
	if (rc == ST_OK && who->session_id)
		rc = store_run(c, e,
			       "UPDATE session SET mfa = 1, restricted = CASE WHEN restricted = "
			       "'enroll' THEN '' ELSE restricted END WHERE id = ?",
			       "t", who->session_id);
	if (rc == ST_OK)
		rc = store_run(c, e,
			       "UPDATE session SET revoked_at = ? WHERE user_id = ? AND id <> ? AND "
			       "mfa = 0 AND revoked_at IS NULL",
			       "iit", now, who->user_id, who->session_id ? who->session_id : "");
	struct audit_event ev = {.action = "mfa.confirm", .outcome = "allow",
				 .reason = "multi-factor set up; sessions without it ended"};
	if (rc == ST_OK)
		rc = steward_audit(st, who, &ev, NULL, e);
	if (rc == ST_OK)
		rc = store_commit(c, e);
	else if (store_in_transaction(c))
		store_rollback(c);
	store_release(c);
	return rc;
}

int auth_password_change(struct steward *st, const struct actor *who, const char *current,
			 const char *replacement, struct st_error *e)
{
	if (!current || !*current)
		return err_setc(e, ST_EINVAL, "missing_field", "current_password",
				"\"current_password\" is required");
	if (!replacement || !*replacement)
		return err_setc(e, ST_EINVAL, "missing_field", "new_password",
				"\"new_password\" is required");
	struct auth_settings cfg = settings(st);
	struct store_conn *c;
	int rc = store_acquire(st->db, &c, e);
	if (rc != ST_OK)
		return rc;
	int64_t when = time_now(), place = 0;
	if (!session_place(st, c, who, &cfg, when, "password", &place))
		return session_guard_refusal(st, c, who, "user.password", e);
	char hash[PASSWORD_HASH_MAX] = "", username[USERNAME_MAX + 1] = "";
	struct store_stmt *s;
	rc = store_prepare(c, "SELECT COALESCE(password_hash, ''), username FROM app_user WHERE id = ?",
			   &s, e);
	if (rc == ST_OK) {
		store_bind(s, "i", who->user_id);
		if (store_step(s, e) == STORE_ROW) {
			str_copy(hash, sizeof(hash), store_col_text(s, 0));
			str_copy(username, sizeof(username), store_col_text(s, 1));
		}
		store_done(s);
	}
	bool busy = false;
	if (rc == ST_OK && !verify_password(st, hash[0] ? hash : st->auth->dummy_hash, current,
					    &busy)) {
		secure_wipe(hash, sizeof(hash));
		if (busy) {
			give_back(c, place);
			store_release(c);
			return err_setc(e, ST_EUNAVAIL, "busy", NULL,
					"the server is too busy to check passwords; try again "
					"shortly");
		}
		rc = wrong_in_session(st, c, who, &cfg, when, "user.password",
				      "the current password was wrong", e);
		if (rc != ST_OK)
			return rc;
		return err_setc(e, ST_EAUTH, "bad_credentials", "current_password",
				"the current password is wrong");
	}
	secure_wipe(hash, sizeof(hash));
	give_back(c, place);
	if (rc == ST_OK && str_eq(current, replacement))
		rc = err_setc(e, ST_EINVAL, "weak_password", "new_password",
			      "the new password must differ from the current one");
	if (rc == ST_OK)
		rc = password_check_policy(replacement, username, "new_password", e);
	char newhash[PASSWORD_HASH_MAX];
	if (rc == ST_OK && password_hash(replacement, newhash) != ST_OK)
		rc = err_set(e, ST_EINTERNAL, NULL, "cannot hash the password");
	if (rc == ST_OK)
		rc = store_begin(c, e);
	int64_t now = time_now();
	if (rc == ST_OK)
		rc = store_run(c, e,
			       "UPDATE app_user SET password_hash = ?, must_change_password = 0, "
			       "password_changed_at = ?, updated_at = ? WHERE id = ?",
			       "tiii", newhash, now, now, who->user_id);
	/* every other session of the account ends */
	if (rc == ST_OK)
		rc = store_run(c, e,
			       "UPDATE session SET revoked_at = ? WHERE user_id = ? AND id <> ? AND "
			       "revoked_at IS NULL",
			       "iit", now, who->user_id, who->session_id ? who->session_id : "");
	/* and so do its API tokens: whoever knew the old password may have made one */
	if (rc == ST_OK)
		rc = store_run(c, e,
			       "UPDATE api_token SET revoked_at = ? WHERE user_id = ? AND revoked_at "
			       "IS NULL",
			       "ii", now, who->user_id);
	if (rc == ST_OK && who->session_id) {
		bool enrol = false;
		int64_t confirmed = 0;
		store_query_int(c, &confirmed, NULL,
				"SELECT COUNT(*) FROM mfa_totp WHERE user_id = ? AND confirmed_at IS "
				"NOT NULL",
				"i", who->user_id);
		enrol = !confirmed && auth_mfa_required(st, who->user_id);
		rc = store_run(c, e, "UPDATE session SET restricted = ? WHERE id = ?", "tt",
			       enrol ? "enroll" : "", who->session_id);
	}
	struct audit_event ev = {.action = "user.password", .outcome = "allow",
				 .reason = "password changed; other sessions and API tokens ended"};
	if (rc == ST_OK)
		rc = steward_audit(st, who, &ev, NULL, e);
	if (rc == ST_OK)
		rc = store_commit(c, e);
	else if (store_in_transaction(c))
		store_rollback(c);
	secure_wipe(newhash, sizeof(newhash));
	store_release(c);
	return rc;
}

int auth_token_create(struct steward *st, const struct actor *who, const char *name,
		      const char *scopes, int64_t expires_at, char token[AUTH_TOKEN_MAX],
		      char id[40], struct st_error *e)
{
	if (!name || !*name || strlen(name) > 100 || !str_is_clean_utf8(name, strlen(name)))
		return err_setc(e, ST_EINVAL, "missing_field", "name",
				"\"name\" is required (at most 100 characters)");
	if (!scopes || !*scopes)
		return err_setc(e, ST_EINVAL, "missing_field", "scopes",
				"an API token needs at least one scope");
	for (const char *p = scopes; *p;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		bool ok = false;
		for (size_t i = 0; i < ARRAY_LEN(known_scopes); i++)
			ok |= strlen(known_scopes[i]) == n && !strncmp(known_scopes[i], p, n);
		if (!ok)
			return err_setc(e, ST_EINVAL, "bad_value", "scopes",
					"unknown scope (records:read, records:write, subjects, "
					"people, policy, audit)");
		p += n + (end ? 1 : 0);
	}
	int64_t now = time_now();
	if (expires_at <= now)
		return err_setc(e, ST_EINVAL, "bad_value", "expires",
				"\"expires\" is in the past: give a time within the next year");
	if (expires_at > now + 366 * 86400)
		return err_setc(e, ST_EINVAL, "bad_value", "expires",
				"an API token expires within a year");
	unsigned char h[32];
	new_token("stk_", token, h);
	new_id(id);
	struct store_conn *c;
	int rc = store_acquire(st->db, &c, e);
	if (rc != ST_OK)
		return rc;
	rc = store_begin(c, e);
	if (rc == ST_OK)
		rc = store_run(c, e,
			       "INSERT INTO api_token (id, token_hash, user_id, name, scopes, mfa, "
			       "created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			       "tbittiii", id, h, (size_t)32, who->user_id, name, scopes,
			       (int64_t)who->mfa, now, expires_at);
	json_t *detail = json_pack("{s:s, s:s, s:s}", "token", id, "name", name, "scopes", scopes);
	struct audit_event ev = {.action = "token.create", .outcome = "allow", .detail = detail};
	if (rc == ST_OK)
		rc = steward_audit(st, who, &ev, NULL, e);
	json_decref(detail);
	if (rc == ST_OK)
		rc = store_commit(c, e);
	else if (store_in_transaction(c))
		store_rollback(c);
	store_release(c);
	if (rc != ST_OK)
		secure_wipe(token, AUTH_TOKEN_MAX);
	return rc;
}

int auth_token_revoke(struct steward *st, const struct actor *who, const char *id,
		      struct st_error *e)
{
	json_t *detail = json_pack("{s:s?}", "token", id);
	struct audit_event ev = {.action = "token.revoke", .detail = detail};
	struct store_conn *c;
	int rc = store_acquire(st->db, &c, e);
	int64_t owner = 0;
	if (rc == ST_OK) {
		rc = store_query_int(c, &owner, e, "SELECT user_id FROM api_token WHERE id = ?", "t",
				     id ? id : "");
		store_release(c);
	}
	/* One's own tokens, or a user administrator's. To anyone else,
	 * someone else's token is one that does not exist: the same answer,
	 * and the attempt logged either way. */
	if (rc == ST_ENOTFOUND || (rc == ST_OK && owner != who->user_id)) {
		bool missing = rc == ST_ENOTFOUND;
		rc = access_admin(st, who, ADM_USERS, &ev, e);
		if (rc == ST_EDENIED || (rc == ST_OK && missing))
			rc = err_setc(e, ST_ENOTFOUND, "token_not_found", "id", "no API token %s",
				      id ? id : "");
	}
	/* and never over an account holding powers the administrator lacks */
	if (rc == ST_OK && owner != who->user_id)
		rc = access_check_target(st, who, owner, &ev, "API tokens", e);
	if (rc == ST_OK)
		rc = store_acquire(st->db, &c, e);
	if (rc == ST_OK) {
		rc = store_begin(c, e);
		if (rc == ST_OK)
			rc = store_run(c, e,
				       "UPDATE api_token SET revoked_at = ? WHERE id = ? AND revoked_at "
				       "IS NULL",
				       "it", time_now(), id);
		ev.outcome = "allow";
		if (rc == ST_OK)
			rc = steward_audit(st, who, &ev, NULL, e);
		if (rc == ST_OK)
			rc = store_commit(c, e);
		else if (store_in_transaction(c))
			store_rollback(c);
		store_release(c);
	}
	json_decref(detail);
	return rc;
}

int auth_token_list(struct steward *st, const struct actor *who, json_t **out,
		    struct st_error *e)
{
	struct store_conn *c;
	int rc = store_acquire(st->db, &c, e);
	if (rc != ST_OK)
		return rc;
	struct store_stmt *s;
	rc = store_prepare(c,
			   "SELECT id, name, scopes, created_at, expires_at, last_used_at, revoked_at "
			   "FROM api_token WHERE user_id = ? ORDER BY created_at",
			   &s, e);
	json_t *list = json_array();
	if (rc == ST_OK) {
		store_bind(s, "i", who->user_id);
		while (store_step(s, e) == STORE_ROW) {
			char created[32], expires[32];
			time_format(store_col_int(s, 3), created);
			time_format(store_col_int(s, 4), expires);
			json_array_append_new(
				list, json_pack("{s:s, s:s, s:s, s:s, s:s, s:b}", "id",
						store_col_text(s, 0), "name", store_col_text(s, 1),
						"scopes", store_col_text(s, 2), "created_at", created,
						"expires_at", expires, "revoked", !store_col_null(s, 6)));
		}
		store_done(s);
	}
	store_release(c);
	*out = list;
	return rc;
}

int auth_unlock(struct steward *st, const struct actor *who, int64_t user_id,
		struct st_error *e)
{
	json_t *detail = json_pack("{s:I}", "user", (json_int_t)user_id);
	struct audit_event ev = {.action = "user.unlock", .detail = detail};
	int rc = access_admin(st, who, ADM_USERS, &ev, e);
	struct store_conn *c = NULL;
	if (rc == ST_OK)
		rc = store_acquire(st->db, &c, e);
	char username[USERNAME_MAX + 1] = "";
	if (rc == ST_OK) {
		struct store_stmt *s;
		rc = store_prepare(c, "SELECT username FROM app_user WHERE id = ?", &s, e);
		if (rc == ST_OK) {
			store_bind(s, "i", user_id);
			if (store_step(s, e) == STORE_ROW)
				str_copy(username, sizeof(username), store_col_text(s, 0));
			else
				rc = err_setc(e, ST_ENOTFOUND, "user_not_found", "id", "no user %lld",
					      (long long)user_id);
			store_done(s);
		}
	}
	char nkey[40], pattern[48];
	if (rc == ST_OK) {
		name_key(st, username, nkey);
		snprintf(pattern, sizeof(pattern), "%s|%%", nkey);
		rc = store_begin(c, e);
	}
	if (rc == ST_OK)
		rc = store_run(c, e, "DELETE FROM signin_lock WHERE name_key = ? OR name_key LIKE ?",
			       "tt", nkey, pattern);
	if (rc == ST_OK)
		rc = store_run(c, e, "DELETE FROM signin_failure WHERE username = ?", "t", nkey);
	if (rc == ST_OK) {
		ev.outcome = "allow";
		rc = steward_audit(st, who, &ev, NULL, e);
	}
	if (rc == ST_OK)
		rc = store_commit(c, e);
	else if (c && store_in_transaction(c))
		store_rollback(c);
	if (c)
		store_release(c);
	json_decref(detail);
	return rc;
}
