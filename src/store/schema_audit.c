/*
 * schema_audit.c - the forward-only migrations of the access log's
 * database. To add one: append a row with the next version.
 */
#include "store/schema.h"

const struct migration schema_audit[] = {
	{1, "access log",
	 "CREATE TABLE audit_event (\n"
	 "  seq INTEGER PRIMARY KEY,\n"
	 "  time_us INTEGER NOT NULL,\n"
	 "  user_id INTEGER,\n"
	 "  subject_id INTEGER,\n"
	 "  record_id INTEGER,\n"
	 "  action TEXT NOT NULL,\n"
	 "  outcome TEXT NOT NULL,\n"
	 "  entry BLOB NOT NULL,\n"
	 "  leaf_hash BLOB NOT NULL\n"
	 ");\n"
	 "CREATE INDEX audit_by_user ON audit_event(user_id, seq) WHERE user_id IS NOT NULL;\n"
	 "CREATE INDEX audit_by_subject ON audit_event(subject_id, seq) WHERE subject_id IS NOT NULL;\n"
	 "CREATE INDEX audit_by_record ON audit_event(record_id, seq) WHERE record_id IS NOT NULL;\n"
	 "CREATE INDEX audit_by_outcome ON audit_event(outcome, seq) WHERE outcome <> 'allow';\n"
	 "CREATE TABLE audit_node (\n"
	 "  level INTEGER NOT NULL,\n"
	 "  idx INTEGER NOT NULL,\n"
	 "  hash BLOB NOT NULL,\n"
	 "  PRIMARY KEY (level, idx)\n"
	 ");\n"
	 "CREATE TABLE audit_checkpoint (\n"
	 "  tree_size INTEGER PRIMARY KEY,\n"
	 "  time_us INTEGER NOT NULL,\n"
	 "  root_hash BLOB NOT NULL,\n"
	 "  note BLOB NOT NULL,\n"
	 "  signature BLOB NOT NULL\n"
	 ");\n"},
	{2, "query indexes move to the derived index database",
	 /* Inline secondary indexes dirty a random page per event per index,
	  * which caps durable appends far below what the log must sustain;
	  * the indexes now live in audit-index.db, built behind the log. */
	 "DROP INDEX audit_by_user;\n"
	 "DROP INDEX audit_by_subject;\n"
	 "DROP INDEX audit_by_record;\n"
	 "DROP INDEX audit_by_outcome;\n"},
};

const size_t schema_audit_count = sizeof(schema_audit) / sizeof(schema_audit[0]);

/* The derived query index of the access log (audit-index.db). Rebuildable
 * from the log at any time; bucketed by seq >> 16 so that appending touches
 * only the pages of the current bucket. */
const struct migration schema_audit_index[] = {
	{1, "bucketed query index",
	 "CREATE TABLE index_state (\n"
	 "  id INTEGER PRIMARY KEY CHECK (id = 1),\n"
	 "  log_id TEXT NOT NULL,\n"
	 "  indexed_upto INTEGER NOT NULL\n"
	 ");\n"
	 "CREATE TABLE by_user (bucket INTEGER NOT NULL, key INTEGER NOT NULL, "
	 "seq INTEGER NOT NULL, PRIMARY KEY (bucket, key, seq)) WITHOUT ROWID;\n"
	 "CREATE TABLE by_subject (bucket INTEGER NOT NULL, key INTEGER NOT NULL, "
	 "seq INTEGER NOT NULL, PRIMARY KEY (bucket, key, seq)) WITHOUT ROWID;\n"
	 "CREATE TABLE by_record (bucket INTEGER NOT NULL, key INTEGER NOT NULL, "
	 "seq INTEGER NOT NULL, PRIMARY KEY (bucket, key, seq)) WITHOUT ROWID;\n"
	 "CREATE TABLE by_outcome (bucket INTEGER NOT NULL, key INTEGER NOT NULL, "
	 "seq INTEGER NOT NULL, PRIMARY KEY (bucket, key, seq)) WITHOUT ROWID;\n"},
};

const size_t schema_audit_index_count =
	sizeof(schema_audit_index) / sizeof(schema_audit_index[0]);
