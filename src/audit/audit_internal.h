/*
 * audit_internal.h - shared by the files of src/audit.
 */
#ifndef STEWARD_AUDIT_INTERNAL_H
#define STEWARD_AUDIT_INTERNAL_H

#include <pthread.h>

#include "audit/audit.h"

/* Serializes an event's fields (everything but seq and time); with a
 * purpose key, the stated purpose is sealed (see entry.c). */
int audit_event_body(const struct audit_event *ev, const unsigned char *purpose_key,
		     struct buf *b, struct st_error *e);
/* Replaces each sealed purpose in an event object by its text, when the
 * key opens it (query results); leaves it sealed otherwise. */
void audit_purpose_open_event(const unsigned char *purpose_key, json_t *ev);
/* The key that opens one entry's sealed purpose (disclosed in evidence
 * packages): ST_ENOTFOUND if the entry has no sealed purpose. */
int audit_purpose_entry_key(const unsigned char purpose_key[KEY_BYTES], const json_t *ev,
			    unsigned char out[KEY_BYTES]);
/* Opens a sealed purpose value ({"sealed": ...}) with an entry's key;
 * *text is malloc'd. ST_ECRYPTO if it does not open. */
int audit_purpose_open(const unsigned char key[KEY_BYTES], const json_t *sealed, char **text);
/* The full entry bytes: {"seq":N,"time":"...", body}. */
void audit_entry_build(uint64_t seq, int64_t time_us, const char *body, size_t len,
		       struct buf *out);

/* A merkle_source over an audit database connection. */
struct db_source {
	struct store_conn *c;
};
int audit_db_perfect(void *ctx, int level, uint64_t index, unsigned char out[HASH_BYTES],
		     struct st_error *e);
/* Number of events in the database. */
int audit_db_size(struct store_conn *c, uint64_t *size, struct st_error *e);
/* Rebuilds the frontier of the first `size` events. */
int audit_db_frontier(struct store_conn *c, uint64_t size, struct merkle_frontier *f,
		      struct st_error *e);

/* witness.c: whether the tree of `size` entries with this root (stored
 * behind c) is a consistent extension of the witness w (from path). */
int audit_witness_consistent(struct store_conn *c, uint64_t size,
			     const unsigned char root[HASH_BYTES], const struct audit_checkpoint *w,
			     const char *path, struct st_error *e);

/* The signed note of a checkpoint. */
void audit_checkpoint_note(const char *log_id, uint64_t size,
			   const unsigned char root[HASH_BYTES], int64_t time_us,
			   char out[512]);

/* What an evidence package's manifest signature signs: SHA-256 over a
 * domain line and the package without its signature, compact with sorted
 * keys. */
void audit_package_digest(const json_t *pkg, unsigned char out[HASH_BYTES]);

/* journal.c: where an event becomes durable (see there). */
struct journal;
struct journal_entry {
	uint64_t seq;
	int64_t time_us;
	int64_t user_id, subject_id, record_id;
	const char *action, *outcome;
	unsigned char leaf[HASH_BYTES];
	const char *entry;
	size_t len;
};
typedef void (*journal_record_fn)(void *ctx, const struct journal_entry *je);
char *journal_segment_path(const char *db_path, int i);
#define JOURNAL_CHECK_BYTES 16
#define JOURNAL_ENTRY_MAX (1024 * 1024)
/* Appends one record's bytes to out, its check a MAC under key; `chain`
 * holds the previous record's check (zeros at a start) and receives this
 * one's. */
void journal_record(struct buf *out, uint64_t seq, int64_t time_us, int64_t user_id,
		    int64_t subject_id, int64_t record_id, const char *action, const char *outcome,
		    const unsigned char leaf[HASH_BYTES], const char *entry, size_t len,
		    const unsigned char key[KEY_BYTES], unsigned char chain[JOURNAL_CHECK_BYTES]);
/* Calls fn for the journal's records from seq `from` on, in order; *end
 * receives the seq after the last. Records that do not follow on (a hole)
 * are an error, unless `live` and a writer holds the journal (it may move
 * on while this reads): then the tail ends there. With the journal key,
 * every record taken is authenticated, and a record that is whole and
 * follows on but does not authenticate is an error (ST_ECRYPTO); without
 * it (key NULL) records are taken by their form only, for counting. A
 * chain of earlier-format records beyond `from` is an error too. Reads
 * only. */
int journal_scan(const char *db_path, uint64_t from, bool live, const unsigned char *key,
		 journal_record_fn fn, void *ctx, uint64_t *end, struct st_error *e);
/* Whether a writer holds the journal (a server is running on it). */
bool journal_live(const char *db_path);
/* journal_scan over the two segments' bytes (data[i] may be NULL when
 * len[i] is 0): what is read at open, exposed so that the scan can be
 * tested (and fuzzed) without files. */
int journal_scan_data(const unsigned char *const data[2], const size_t len[2], uint64_t from,
		      bool live, const unsigned char *key, journal_record_fn fn, void *ctx,
		      uint64_t *end, struct st_error *e);
int journal_open(const char *db_path, bool faults, size_t segment, struct journal **out,
		 struct st_error *e);
/* Everything before `next` is flushed in the database: start over. */
void journal_start(struct journal *j, uint64_t next);
/* Writes and flushes records [first, end); `flushed`: events flushed in
 * the database. *sticky: the flush failed (the file cannot be trusted). */
int journal_append(struct journal *j, const void *data, size_t len, uint64_t first,
		   uint64_t end, uint64_t flushed, bool *sticky, struct st_error *e);
void journal_close(struct journal *j);

struct item; /* an event made durable, on its way into the database */

struct audit_log {
	struct store *db;
	struct store *idx; /* the derived query index (audit-index.db) */
	struct journal *journal;
	char log_id[40];
	unsigned char pk[SIGN_PUBLIC_BYTES];
	unsigned char *sk; /* secure memory; NULL when read-only */
	unsigned char *journal_key; /* secure memory: MACs the journal's records */
	unsigned char *purpose_key; /* secure memory: seals stated purposes */
	/* witness files: the data directory's own first (own_witness), then
	 * those outside it; written by the witness thread */
	char **witnesses;
	size_t nwitnesses;
	bool own_witness;
	pthread_t witnesser;
	pthread_cond_t witness_work;
	struct audit_checkpoint witness_cp; /* the newest, to write */
	bool witness_pending, witness_stop;
	uint64_t witness_failures;

	pthread_mutex_t lock;
	pthread_cond_t work;     /* writer: durable events to store, or a request */
	pthread_cond_t stored;   /* readers: events stored in the database */
	pthread_cond_t gathered; /* a flush waiting for the round's appenders */
	pthread_cond_t indexed;  /* indexer: stored events to index */
	pthread_cond_t done;     /* checkpoint requests completed */
	pthread_cond_t flush_work; /* flusher: a batch to flush, or the end */
	/* appended, waiting for the next flush (in seq order) */
	struct buf jbuf;
	struct item *phead, *ptail;
	/* durable, waiting to be stored in the database */
	struct item *ihead, *itail;
	int64_t ihead_since_us; /* when the oldest of them became durable */
	int settling;           /* readers waiting for them to be stored */
	bool stop;
	bool writer_done;
	bool flushing;          /* an appender holds the flush */
	bool failed;            /* refuse everything (fail closed) until reopened */
	bool has_writer;
	bool flusher_leads;     /* the flusher thread holds the flush */
	pthread_t writer, indexer, flusher;
	uint64_t next_seq;      /* the next seq to hand out */
	uint64_t durable;       /* events durable (in the flushed journal) */
	uint64_t committed;     /* events stored in the database */
	uint64_t synced;        /* events flushed in the database */
	uint64_t index_upto;    /* events in the query index */
	int64_t last_time_us;   /* the newest event's time */
	uint64_t failures;
	uint64_t commits, flushes, flush_us; /* statistics */
	uint64_t backlog_waits; /* appends that waited for the database */
	uint64_t round;         /* appenders in the last round of flushes */
	uint64_t gather_want;   /* a flush waits for this many, or 0 */
	int64_t flush_avg_us;   /* recent flush time */
	unsigned char chain[JOURNAL_CHECK_BYTES];   /* the newest record's check */
	unsigned char chain_durable[JOURNAL_CHECK_BYTES]; /* the newest flushed */
	bool cp_request;
	uint64_t cp_generation;

	/* writer thread only */
	struct store_conn *wconn;
	struct merkle_frontier frontier;
	uint64_t last_cp_size;
	int64_t last_cp_mono_us;
	int64_t stored_time_us; /* the newest stored event's time */
};

/* A deadline `after_us` from now on the monotonic clock, for the log's
 * timed waits (its condition variables count on that clock). */
void audit_deadline(struct timespec *ts, int64_t after_us);

/* Waits until every event durable now is in the database. */
void audit_settle(struct audit_log *log);

/* index.c */
int audit_index_open(struct audit_log *log, const char *path, bool create,
		     struct st_error *e);
/* Indexes durable events [from, to); returns the new indexed_upto. */
int audit_index_catch_up(struct audit_log *log, uint64_t to, uint64_t *upto,
			 struct st_error *e);
int audit_index_upto(struct audit_log *log, uint64_t *upto, struct st_error *e);
void *audit_indexer_main(void *arg);

#endif
