/*
 * steward.h - the public entry point of libsteward: creating, opening and
 * maintaining a data directory. Every interface (the HTTP server, the
 * command line, the tests) goes through a struct steward and the functions
 * of the other public headers, so every path passes the same checks.
 *
 * A data directory holds:
 *   steward.db          the main database (SQLite, WAL)
 *   audit.db            the access log
 *   keys/master-N.json  the master key, one file per version (0600)
 *   audit-signing.pub   the public key that verifies access-log checkpoints
 *   audit-witness.json  the newest checkpoint (the log must extend it)
 * Everything is owner-only: directories 0700, files 0600.
 */
#ifndef STEWARD_STEWARD_H
#define STEWARD_STEWARD_H

#include "steward/common.h"

struct steward;

/* Who is acting. Every library call that touches data takes one, so every
 * act is attributable whatever interface it came through. */
struct audit_ticket;

struct actor {
	int64_t user_id;        /* 0 = the system itself (migrations, jobs) */
	const char *via;        /* "api", "cli", "web", "system" */
	const char *session_id; /* session or API token id, or NULL */
	const char *client;     /* client address, or NULL */
	const char *request_id; /* or NULL */
	bool mfa;               /* multi-factor authentication used in this session */
	/* Set by a caller that must not block (the server's event loop): the
	 * acts' events are appended without waiting for the disk, and the
	 * caller holds back what they allow until the ticket says they are
	 * durable (see audit_append_ticket). NULL: every append waits. */
	struct audit_ticket *ticket;
};

struct steward_init_options {
	const char *dir;
	const char *admin_username;
	const char *admin_password;
	const char *admin_display_name; /* default: the username */
	const char *passphrase;         /* NULL: the master key lives in a key file */
	bool admin_must_change_password; /* the password given is one-time */
};

/* Creates a new data directory with its master key, databases, signing key,
 * default inventory and first administrator (role designee). Refuses a
 * directory that already holds a data directory. */
int steward_init(const struct steward_init_options *opt, struct st_error *e);

struct steward_options {
	const char *dir;
	const char *passphrase; /* needed when the master key is passphrase-derived */
	bool check_permissions; /* refuse key files readable by group/others */
	bool exclusive;         /* take the data directory's lock (serve, key
				 * rotation): fails if another process holds it */
	const char *vfs;        /* tests only: "steward-fault" */
	size_t journal_segment; /* tests only: access-log journal segment size */
	/* access-log witness files outside the data directory: each must
	 * exist, the log must be a consistent extension of each, and each is
	 * advanced with every signed checkpoint */
	const char *const *witnesses;
	size_t nwitnesses;
};

/* Opens a data directory: checks permissions, unlocks the master key,
 * applies pending migrations and loads the inventory. */
int steward_open(const struct steward_options *opt, struct steward **out,
		 struct st_error *e);
void steward_close(struct steward *st);

/* The key that authenticates the access log's journal records (32 bytes,
 * into the caller's memory, which it wipes), for a verification that runs
 * apart from the server: derived from the log's signing key, unwrapped
 * with the master key (dir/keys, and the passphrase if it is one). Reads
 * only; works beside a running server. */
int steward_journal_key(const char *dir, const char *passphrase, unsigned char key[32],
			struct st_error *e);

/* Applies pending schema migrations without opening everything else. */
int steward_migrate(const char *dir, struct st_error *e);
/* Copies the data directory's two databases (the data first, the log a few
 * seconds later when a server runs), its log key and witness into a new
 * directory dest (0700): consistent while a server runs, never the master
 * key (kept apart, docs/operations.md) nor what can be rebuilt. Reads the
 * files only: no key is needed and nothing is decrypted. */
int steward_backup(const char *dir, const char *dest, bool *server_running,
		   struct st_error *e);

/* The schema version of the main database. */
int steward_schema_version(struct steward *st);
const char *steward_dir(const struct steward *st);

struct rotation_report {
	int from_version;
	int to_version;
	int64_t rewrapped;       /* data and system keys rewrapped by this run */
	int destroyed_versions;  /* old master key versions shredded */
};

/* Makes a new master key version, rewraps every data key and system key
 * under it (without decrypting any record), then destroys the old
 * versions. Interrupted, it resumes where it stopped when run again. */
int steward_keys_rotate(struct steward *st, const struct actor *who,
			const char *new_passphrase, struct rotation_report *out,
			struct st_error *e);

#endif
