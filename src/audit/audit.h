/*
 * audit.h - the access log: an append-only record of every act and every
 * attempt, durable before anything is served, and provably complete.
 *
 * - audit_append() returns only once the event is on disk (fsync of the
 *   journal); many concurrent appends share one fsync (group commit, led by
 *   one of the appenders, or by the log's flusher thread for appends made
 *   on a ticket, which return at once and are told later). The log database behind it is filled from the
 *   journal by a writer thread and flushed at every checkpoint.
 *   If the log cannot be written the append fails and the caller must serve
 *   nothing (fail closed).
 * - Events form an RFC 6962 Merkle tree (leaf = SHA-256(0x00 || entry)); the
 *   log signs checkpoints (tree size, root, time) with the data directory's
 *   Ed25519 key at least once a second while events flow and at close, and
 *   writes the newest to the witness files (the data directory's own and
 *   those outside it). Opening for writing refuses a log inconsistent
 *   with its newest checkpoint or any witness, or whose entries after the
 *   newest checkpoint are not in the journal: nothing is signed over a
 *   forgery.
 * - The journal's records carry a MAC under a key derived from the signing
 *   key (wrapped by the master key): an altered or forged journal tail is
 *   refused at open and by verification.
 * - Proofs of inclusion and consistency need O(log n) stored hashes: the
 *   hashes of perfect subtrees of 16 or more leaves are stored (audit_node);
 *   smaller ones are recomputed from at most 8 stored leaf hashes.
 *
 * Confidential values never enter the log: events name people, subjects
 * and records by id, and fields by name. The one free text a person types
 * into an event, the stated purpose, is sealed in the entry (a key per
 * entry, derived from the log's purpose key), so neither the log database
 * nor its journal holds it in clear.
 *
 * Thread-safety: every function may be called from any thread.
 */
#ifndef STEWARD_AUDIT_H
#define STEWARD_AUDIT_H

#include <pthread.h>

#include "audit/merkle.h"
#include "store/store.h"

/* Perfect subtrees at or above this level are stored. */
#define AUDIT_STORED_LEVEL 4

struct audit_log;

/* One event. Strings are borrowed; NULL or 0 means absent. */
struct audit_event {
	const char *action;  /* "record.read", "user.create", ... (required) */
	const char *outcome; /* "allow", "deny" or "error" (required) */
	int64_t user_id;
	const char *role;
	int64_t agreement_id;
	int64_t record_id;
	int64_t subject_id;
	const char *category;
	const char *written;  /* field names, comma-separated */
	const char *returned;
	const char *masked;
	const char *refused;
	const char *purpose;
	const char *reason;   /* plain words: why denied, or what failed */
	const char *rule;     /* the rule that decided */
	const char *via;      /* api, cli, web, system */
	const char *session_id;
	const char *client;
	const char *request_id;
	const json_t *detail; /* administrative details (ids, names of things) */
};

struct audit_options {
	const char *path;           /* audit database */
	const char *vfs;            /* tests: "steward-fault" */
	const char *witness_path;   /* the data directory's own witness (must exist
				     * once the log has entries) */
	const char *const *witnesses; /* witness files outside the data directory:
				       * each must exist and be consistent */
	size_t nwitnesses;
	const unsigned char *sign_sk; /* Ed25519 secret key (NULL: read-only) */
	const unsigned char *sign_pk;
	bool create;
	size_t journal_segment; /* bytes before the journal moves to its other
				 * segment; 0: 32 MiB (tests use small ones) */
};

struct audit_checkpoint {
	uint64_t tree_size;
	int64_t time_us;
	unsigned char root[HASH_BYTES];
	char note[512];
	unsigned char signature[SIGN_BYTES];
};

int audit_open(const struct audit_options *opt, struct audit_log **out, struct st_error *e);
/* Writes a final checkpoint (when anything is unsigned), stops the writer. */
void audit_close(struct audit_log *log);

/* Appends one event and waits until it is durable; *seq receives its
 * sequence number (0-based, gapless). ST_EAUDIT if it could not be written. */
ST_MUST_CHECK int audit_append(struct audit_log *log, const struct audit_event *ev,
			       int64_t *seq, struct st_error *e);

/* A ticket lets a caller that must not block (an event-loop thread of the
 * server) append without waiting: audit_append_ticket() returns once the
 * event has its place in the next flush, and the ticket counts it. What
 * the events allow is held back (not served) until audit_ticket_wait()
 * says they are all durable, or `ready` is called from the log's flushing
 * thread to say so; if any of them could not be made durable the ticket is
 * failed and the caller must serve nothing. A ticket is used by one
 * request at a time. */
struct audit_ticket {
	pthread_mutex_t mu;
	unsigned pending; /* appends not yet flushed */
	bool failed;      /* one of them could not be made durable */
	bool armed;       /* the owner waits for `ready` */
	void (*ready)(void *arg);
	void *arg;
};
void audit_ticket_init(struct audit_ticket *t, void (*ready)(void *arg), void *arg);
void audit_ticket_destroy(struct audit_ticket *t);
/* Appends like audit_append, but returns without waiting for the flush. */
ST_MUST_CHECK int audit_append_ticket(struct audit_log *log, const struct audit_event *ev,
				      struct audit_ticket *t, int64_t *seq, struct st_error *e);
/* True when every append on the ticket is settled now (see t->failed).
 * Otherwise calls suspend(arg) under the ticket's lock, so that the owner
 * is suspended before `ready` can be called, arms the ticket and returns
 * false: `ready` will be called once, when they are all settled. */
bool audit_ticket_wait(struct audit_ticket *t, void (*suspend)(void *arg), void *arg);
/* Signs a checkpoint of everything durable now (if anything is unsigned). */
int audit_checkpoint_now(struct audit_log *log, struct audit_checkpoint *out,
			 struct st_error *e);
/* The newest signed checkpoint (ST_ENOTFOUND if none yet). */
int audit_latest_checkpoint(struct audit_log *log, struct audit_checkpoint *out,
			    struct st_error *e);
/* Number of durable events. */
uint64_t audit_size(struct audit_log *log);
/* Counters since open, for health reporting and benchmarks. */
struct audit_stats {
	uint64_t events;   /* durable events in the log */
	uint64_t commits;  /* batches committed */
	uint64_t flushes;  /* flushes to disk (group commits) */
	uint64_t flush_us; /* time spent flushing */
	uint64_t failures; /* failed batches or flushes */
	uint64_t indexed;  /* events in the query index */
	uint64_t stored;   /* events in the log database (behind the journal) */
	uint64_t backlog_waits; /* appends that waited for the database */
	uint64_t witness_failures; /* witness files that could not be written */
	bool failed;       /* refusing appends until restarted */
};
void audit_stats(struct audit_log *log, struct audit_stats *out);
/* Appends that failed since open (for health reporting). */
uint64_t audit_failures(struct audit_log *log);
/* Log identity: "steward:" + 16 hex digits of SHA-256(public key). */
void audit_log_id(const unsigned char pk[SIGN_PUBLIC_BYTES], char out[40]);

/* Proofs against a tree size (a checkpoint's). */
int audit_inclusion_proof(struct audit_log *log, uint64_t seq, uint64_t tree_size,
			  struct merkle_hash *proof, int *len, unsigned char leaf[HASH_BYTES],
			  struct st_error *e);
int audit_consistency_proof(struct audit_log *log, uint64_t from, uint64_t to,
			    struct merkle_hash *proof, int *len, struct st_error *e);
/* The root of the tree of the first `size` events. */
int audit_root_at(struct audit_log *log, uint64_t size, unsigned char root[HASH_BYTES],
		  struct st_error *e);

/* Queries: who accessed what, when and why. Zero fields are not filters.
 * Times are microseconds since the epoch, [from, to). */
struct audit_query {
	int64_t user_id;
	int64_t subject_id;
	int64_t record_id;
	const char *outcome; /* "allow", "deny", "error" or NULL */
	int64_t from_us, to_us;
	int64_t after_seq;   /* cursor: only events with seq > after_seq; -1 = none */
	int limit;           /* default 100, at most 1000 */
};
/* *events receives an array of event objects (the entry plus "seq");
 * *next the cursor for the next page, or -1 when done. */
int audit_query(struct audit_log *log, const struct audit_query *q, json_t **events,
		int64_t *next, struct st_error *e);
/* First sequence number whose time is >= t (binary search, O(log n)). */
int audit_seq_at_time(struct audit_log *log, int64_t t_us, uint64_t *seq, struct st_error *e);

/* Evidence package: all entries in [from, to) matching the filters (user,
 * subject: 0 = any), with inclusion proofs, the range proof that nothing
 * in the window was left out of the log, the checkpoints and the public key. */
struct audit_export_options {
	int64_t from_us, to_us;
	int64_t user_id, subject_id;
};
int audit_export(struct audit_log *log, const struct audit_export_options *o,
		 json_t **package, struct st_error *e);
/* Checks a package with nothing but the package (and optionally a pinned
 * public key). Fills a summary on success; names the first problem. */
struct audit_package_report {
	uint64_t entries;
	uint64_t tree_size;
	uint64_t window_start, window_end;
	char log_id[40];
	char root_hex[2 * HASH_BYTES + 1];
};
ST_MUST_CHECK int audit_verify_package(const json_t *package,
				       const unsigned char *pinned_pk,
				       struct audit_package_report *r, struct st_error *e);

/* Verification of a whole log database from its entries: recomputes the
 * tree, checks every stored node, every checkpoint's signature and root,
 * their consistency, the index columns; refuses a log with entries and no
 * checkpoint, and entries after the newest checkpoint that the journal
 * does not hold (authenticated with the journal key); proves the log a
 * consistent extension of every witness (each must exist). Names the first
 * bad entry. */
struct audit_verify_options {
	const char *db_path;
	const unsigned char *pk;          /* the log's public key */
	const unsigned char *journal_key; /* from audit_journal_key(); NULL when the
					   * master key is not at hand: then entries
					   * not yet signed cannot be authenticated */
	const char *const *witnesses;     /* checkpoints kept elsewhere */
	size_t nwitnesses;
};
struct audit_verify_report {
	uint64_t tree_size;
	unsigned char root[HASH_BYTES];
	uint64_t checkpoints;
	uint64_t last_checkpoint_size;
	uint64_t unsigned_tail; /* events after the newest checkpoint */
	uint64_t journal_tail;  /* of which still only in the journal */
	uint64_t witnesses;     /* witnesses the log was proven consistent with */
	uint64_t witnessed_size; /* the largest of them */
	int64_t bad_seq;        /* first bad entry, or -1 */
};
ST_MUST_CHECK int audit_verify(const struct audit_verify_options *o,
			       struct audit_verify_report *r, struct st_error *e);

/* The key of the journal's MACs, derived from the log's signing key. */
void audit_journal_key(const unsigned char sign_sk[SIGN_SECRET_BYTES],
		       unsigned char key[KEY_BYTES]);

/* Witness files (witness.c). The text of a witness: the checkpoint as
 * JSON, with the log id (malloc'd). */
char *audit_witness_text(const struct audit_checkpoint *cp, const char *log_id);
/* Reads a witness: a witness file, or a saved mail or posted body holding
 * one; checks its signature. A missing file is an error (ST_ECRYPTO,
 * code witness_missing), never an empty witness. */
ST_MUST_CHECK int audit_witness_read(const char *path, const unsigned char pk[SIGN_PUBLIC_BYTES],
				     struct audit_checkpoint *w, struct st_error *e);
/* Replaces a witness file atomically with cp; refuses (ST_ECONFLICT) to
 * move it back, or to replace what is not a witness of this log. */
int audit_witness_write(const char *path, const unsigned char pk[SIGN_PUBLIC_BYTES],
			const struct audit_checkpoint *cp, const char *log_id,
			struct st_error *e);

/* A log database's entries and the size of its newest checkpoint, read
 * in one snapshot (reads only). */
int audit_db_extent(const char *db_path, uint64_t *entries, uint64_t *signed_size,
		    struct st_error *e);
/* Cuts a copy of a log database back to its newest signed checkpoint: the
 * entries after it are vouched for by the journal, which a copy does not
 * hold. *kept: the entries left. Only for a copy nobody else has open. */
int audit_trim_unsigned(const char *db_path, uint64_t *kept, struct st_error *e);

/* For a log database of `from` events: the seq after the last event its
 * journal holds durable beyond them (`from` when none). Reads only. */
int audit_journal_end(const char *db_path, uint64_t from, uint64_t *end, struct st_error *e);

/* Checkpoints serialized for the witness file, packages and the API. */
json_t *audit_checkpoint_json(const struct audit_checkpoint *c);
int audit_checkpoint_parse(const json_t *j, struct audit_checkpoint *c, struct st_error *e);
ST_MUST_CHECK bool audit_checkpoint_valid(const struct audit_checkpoint *c,
					  const unsigned char pk[SIGN_PUBLIC_BYTES]);

#endif
