/*
 * audit_internal.h - shared by the files of src/audit.
 */
#ifndef STEWARD_AUDIT_INTERNAL_H
#define STEWARD_AUDIT_INTERNAL_H

#include <pthread.h>

#include "audit/audit.h"

/* Serializes an event's fields (everything but seq and time). */
int audit_event_body(const struct audit_event *ev, struct buf *b, struct st_error *e);
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

/* The signed note of a checkpoint. */
void audit_checkpoint_note(const char *log_id, uint64_t size,
			   const unsigned char root[HASH_BYTES], int64_t time_us,
			   char out[512]);

struct pending;
struct sync_unit;

struct audit_log {
	struct store *db;
	struct store *idx; /* the derived query index (audit-index.db) */
	char log_id[40];
	unsigned char pk[SIGN_PUBLIC_BYTES];
	unsigned char *sk; /* secure memory; NULL when read-only */
	char *witness_path;

	pthread_mutex_t lock;
	pthread_cond_t work;    /* writer: events queued, or a request */
	pthread_cond_t synced;  /* syncer: commits waiting for their flush */
	pthread_cond_t indexed; /* indexer: durable events to index */
	pthread_cond_t done;    /* checkpoint requests completed */
	struct pending *head, *tail;
	struct sync_unit *shead, *stail;
	bool stop;
	bool writer_done, syncer_done;
	bool flushing;          /* a flush is under way (syncer or writer) */
	bool failed;            /* a flush failed: refuse everything (fail closed) */
	bool has_writer;
	pthread_t writer, syncer, indexer;
	uint64_t committed;     /* events committed, maybe not yet durable */
	uint64_t durable;       /* events durable */
	uint64_t index_upto;    /* events in the query index */
	uint64_t failures;
	uint64_t commits, flushes, flush_us; /* statistics */
	bool cp_request;
	uint64_t cp_generation;

	/* writer thread only */
	struct store_conn *wconn;
	int64_t data_version; /* of the log database, as the writer last saw it */
	struct merkle_frontier frontier;
	int64_t last_time_us;
	uint64_t last_cp_size;
	int64_t last_cp_mono_us;
};

/* index.c */
int audit_index_open(struct audit_log *log, const char *path, bool create,
		     struct st_error *e);
/* Indexes durable events [from, to); returns the new indexed_upto. */
int audit_index_catch_up(struct audit_log *log, uint64_t to, uint64_t *upto,
			 struct st_error *e);
int audit_index_upto(struct audit_log *log, uint64_t *upto, struct st_error *e);
void *audit_indexer_main(void *arg);

#endif
