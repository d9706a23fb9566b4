/*
 * context.h - the inside of struct steward: the handles of the lower
 * modules that the domain modules (records, people, rules...) work with.
 * Only library code includes this; interfaces use include/steward/.
 */
#ifndef STEWARD_CONTEXT_H
#define STEWARD_CONTEXT_H

#include <pthread.h>

#include "audit/audit.h"
#include "crypto/crypto.h"
#include "inventory/inventory.h"
#include "policy/policy.h"
#include "steward/steward.h"
#include "store/store.h"

struct steward {
	char *dir;
	char *keydir;
	struct keyring *keys;
	struct store *db;
	unsigned char *blind_key; /* secure memory: blind-index HMAC key */
	unsigned char *sign_sk;   /* secure memory: Ed25519 secret key of the log */
	unsigned char *mfa_key;   /* secure memory: seals TOTP secrets, keys recovery codes */
	unsigned char *notes_key; /* secure memory: seals free text about people (note_seal) */
	struct auth_state *auth;  /* sign-in settings and session cache (auth module) */
	unsigned char sign_pk[SIGN_PUBLIC_BYTES];
	pthread_mutex_t inventory_lock;
	struct inventory *inventory; /* current snapshot */
	int schema_version;
	int lock_fd; /* held while opened with exclusive=true, else 0 */
	struct audit_log *audit;
	struct model *model;   /* the live facts decisions read */
	struct policy *policy; /* current rules snapshot (under inventory_lock) */
};

/* The current rules, referenced: release with policy_unref. */
struct policy *steward_policy(struct steward *st);
/* Replaces the current rules (takes the caller's reference). */
void steward_set_policy(struct steward *st, struct policy *p);

/* Appends an event for an act of `who` to the access log, filling the
 * actor's user, channel, session, client and request; returns only once it
 * is durable. Callers serve nothing when this fails. */
ST_MUST_CHECK int steward_audit(struct steward *st, const struct actor *who,
				struct audit_event *ev, int64_t *seq, struct st_error *e);
/* Comma-separated names of an object's keys (malloc'd), for events. */
char *json_key_list(const json_t *obj);

/* The current inventory snapshot, referenced: release with inventory_unref. */
struct inventory *steward_inventory(struct steward *st);
/* Replaces the current snapshot (takes the caller's reference). */
void steward_set_inventory(struct steward *st, struct inventory *inv);

/* System keys (keys.c): secrets wrapped by the master key in system_key. */
int systemkey_store(struct steward *st, struct store_conn *c, const char *name,
		    const unsigned char *secret, size_t len, const unsigned char *public_key,
		    size_t publen, struct st_error *e);
int systemkey_load(struct steward *st, struct store_conn *c, const char *name,
		   unsigned char *secret, size_t len, struct st_error *e);

/* Data keys (keys.c). Creates a data key row for owner ("record:12") inside
 * the caller's transaction; key receives the plaintext key. */
int datakey_create(struct steward *st, struct store_conn *c, const char *owner,
		   unsigned char *key, int64_t *id, struct st_error *e);
/* Loads and unwraps a data key. ST_EGONE if it was destroyed. */
int datakey_load(struct steward *st, struct store_conn *c, int64_t id, const char *owner,
		 unsigned char *key, struct st_error *e);
/* Destroys a data key for good (crypto-shredding). */
int datakey_destroy(struct steward *st, struct store_conn *c, int64_t id,
		    struct st_error *e);

/* Free text an administrator writes about a person — a suspension's
 * reason, a grant's purpose — is sealed under the notes key (a system key),
 * bound to where it stands (`where`, e.g. "suspension.reason|user=12"), and
 * stored as "sealed:1:" + base64. note_seal returns it (malloc'd); NULL in,
 * NULL out. note_open gives the text back (malloc'd; wipe and free it); a
 * value stored before sealing existed comes back as it was. */
char *note_seal(struct steward *st, const char *where, const char *text);
ST_MUST_CHECK int note_open(struct steward *st, const char *where, const char *stored,
			    char **text, struct st_error *e);
bool note_is_sealed(const char *stored);

/* Blind index of a searchable identifier (records/blind.c). */
void blind_index(struct steward *st, const char *purpose, const char *value,
		 unsigned char out[HASH_BYTES]);

/* Paths inside the data directory (malloc'd). */
char *steward_path(const struct steward *st, const char *name);

#endif
