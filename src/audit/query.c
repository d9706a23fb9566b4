/*
 * query.c - reading the access log: "who accessed this student's records,
 * when and why". A time window becomes a sequence range by binary search on
 * the monotonic times; a filter by record, subject, user or outcome seeks
 * the bucketed query index (index.c) once per bucket; events too recent to
 * be indexed are read from the log directly. No query scans the log.
 * Sealed purposes are opened for the answer (the caller was allowed to read
 * the log); the log itself keeps them sealed.
 */
#include "audit/audit_internal.h"

int audit_seq_at_time(struct audit_log *log, int64_t t_us, uint64_t *seq, struct st_error *e)
{
	audit_settle(log); /* every event durable now is readable */
	struct store_conn *c;
	int rc = store_acquire(log->db, &c, e);
	if (rc != ST_OK)
		return rc;
	uint64_t n = 0;
	rc = audit_db_size(c, &n, e);
	uint64_t lo = 0, hi = n; /* answer in [lo, hi] */
	while (rc == ST_OK && lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		int64_t t = 0;
		rc = store_query_int(c, &t, e, "SELECT time_us FROM audit_event WHERE seq = ?", "i",
				     (int64_t)mid);
		if (rc != ST_OK)
			break;
		if (t < t_us)
			lo = mid + 1;
		else
			hi = mid;
	}
	store_release(c);
	if (rc == ST_OK)
		*seq = lo;
	return rc;
}

struct collect {
	const struct audit_query *q;
	json_t *list;
	int limit;
	int count;   /* matches found, up to limit + 1 */
	int64_t last; /* seq of the last one kept */
	const unsigned char *purpose_key; /* opens sealed purposes, or NULL */
};

static bool matches(struct store_stmt *s, const struct audit_query *q)
{
	/* columns: seq, user_id, subject_id, record_id, outcome, entry */
	if (q->user_id && (store_col_null(s, 1) || store_col_int(s, 1) != q->user_id))
		return false;
	if (q->subject_id && (store_col_null(s, 2) || store_col_int(s, 2) != q->subject_id))
		return false;
	if (q->record_id && (store_col_null(s, 3) || store_col_int(s, 3) != q->record_id))
		return false;
	if (q->outcome && !str_eq(store_col_text(s, 4), q->outcome))
		return false;
	return true;
}

static int keep(struct collect *k, struct store_stmt *s, struct st_error *e)
{
	k->count++;
	if (k->count > k->limit)
		return ST_OK; /* only tells the caller there is more */
	size_t len = 0;
	const char *entry = store_col_blob(s, 5, &len);
	json_error_t je;
	json_t *ev = entry ? json_loadb(entry, len, 0, &je) : NULL;
	if (!ev)
		return err_set(e, ST_ECRYPTO, NULL, "access-log entry %lld is malformed",
			       (long long)store_col_int(s, 0));
	audit_purpose_open_event(k->purpose_key, ev);
	json_array_append_new(k->list, ev);
	k->last = store_col_int(s, 0);
	return ST_OK;
}

#define ROW_COLUMNS "seq, user_id, subject_id, record_id, outcome, entry"

/* Reads events [lo, hi) of the log directly, filtering on their columns. */
static int scan_range(struct store_conn *c, struct collect *k, uint64_t lo, uint64_t hi,
		      struct st_error *e)
{
	struct store_stmt *s;
	int rc = store_prepare(c,
			       "SELECT " ROW_COLUMNS " FROM audit_event WHERE seq >= ? AND seq < ? "
			       "ORDER BY seq",
			       &s, e);
	if (rc != ST_OK)
		return rc;
	store_bind(s, "ii", (int64_t)lo, (int64_t)hi);
	while (k->count <= k->limit && (rc = store_step(s, e)) == STORE_ROW)
		if (matches(s, k->q) && (rc = keep(k, s, e)) != ST_OK)
			break;
	store_done(s);
	return rc < 0 ? rc : ST_OK;
}

static int fetch_one(struct store_conn *c, struct collect *k, int64_t seq, struct st_error *e)
{
	struct store_stmt *s;
	int rc = store_prepare(c, "SELECT " ROW_COLUMNS " FROM audit_event WHERE seq = ?", &s, e);
	if (rc != ST_OK)
		return rc;
	store_bind(s, "i", seq);
	rc = store_step(s, e);
	if (rc == STORE_ROW)
		rc = matches(s, k->q) ? keep(k, s, e) : ST_OK;
	else if (rc == STORE_DONE)
		rc = err_set(e, ST_ECRYPTO, NULL,
			     "the query index names entry %lld, which the log does not hold",
			     (long long)seq);
	store_done(s);
	return rc;
}

int audit_query(struct audit_log *log, const struct audit_query *q, json_t **events,
		int64_t *next, struct st_error *e)
{
	audit_settle(log); /* every event durable now is readable */
	int limit = q->limit > 0 ? q->limit : 100;
	if (limit > 1000)
		limit = 1000;
	if (q->outcome && !str_eq(q->outcome, "allow") && !str_eq(q->outcome, "deny") &&
	    !str_eq(q->outcome, "error"))
		return err_setc(e, ST_EINVAL, "bad_value", "outcome",
				"outcome must be allow, deny or error");
	uint64_t lo = 0, hi = 0, upto = 0;
	struct store_conn *c;
	int rc = store_acquire(log->db, &c, e);
	if (rc != ST_OK)
		return rc;
	rc = audit_db_size(c, &hi, e);
	store_release(c);
	if (rc == ST_OK && q->from_us)
		rc = audit_seq_at_time(log, q->from_us, &lo, e);
	if (rc == ST_OK && q->to_us) {
		uint64_t t = 0;
		rc = audit_seq_at_time(log, q->to_us, &t, e);
		if (t < hi)
			hi = t;
	}
	if (rc == ST_OK)
		rc = audit_index_upto(log, &upto, e);
	if (rc != ST_OK)
		return rc;
	if (q->after_seq >= 0 && (uint64_t)q->after_seq + 1 > lo)
		lo = (uint64_t)q->after_seq + 1;

	/* the most selective index the query allows */
	const char *table = NULL;
	int64_t key = 0;
	if (q->record_id)
		table = "by_record", key = q->record_id;
	else if (q->subject_id)
		table = "by_subject", key = q->subject_id;
	else if (q->user_id)
		table = "by_user", key = q->user_id;
	else if (q->outcome && !str_eq(q->outcome, "allow"))
		table = "by_outcome", key = str_eq(q->outcome, "deny") ? 1 : 2;
	if (!log->idx)
		table = NULL, upto = 0;

	struct collect k = {q, json_array(), limit, 0, -1, log->purpose_key};
	rc = store_acquire(log->db, &c, e);
	if (rc != ST_OK) {
		json_decref(k.list);
		return rc;
	}
	uint64_t indexed_end = table ? (hi < upto ? hi : upto) : lo;
	if (table && lo < indexed_end) {
		struct store_conn *xc;
		rc = store_acquire(log->idx, &xc, e);
		char *sql = table ? xasprintf("SELECT seq FROM %s WHERE bucket = ? AND key = ? "
					      "AND seq >= ? AND seq < ? ORDER BY seq LIMIT ?",
					      table)
				  : NULL;
		for (uint64_t b = lo >> 16; rc == ST_OK && b <= (indexed_end - 1) >> 16 &&
					    k.count <= k.limit;
		     b++) {
			struct store_stmt *s;
			rc = store_prepare(xc, sql, &s, e);
			if (rc != ST_OK)
				break;
			store_bind(s, "iiiii", (int64_t)b, key, (int64_t)lo, (int64_t)indexed_end,
				   (int64_t)(k.limit + 1 - k.count) * 4 + 16);
			int64_t seqs[1024];
			int n = 0;
			while (n < 1024 && (rc = store_step(s, e)) == STORE_ROW)
				seqs[n++] = store_col_int(s, 0);
			bool more = rc == STORE_ROW;
			store_done(s);
			if (rc < 0)
				break;
			rc = ST_OK;
			for (int i = 0; i < n && rc == ST_OK && k.count <= k.limit; i++)
				rc = fetch_one(c, &k, seqs[i], e);
			if (more && k.count <= k.limit && rc == ST_OK) {
				/* a busy bucket: continue after the last one read */
				lo = (uint64_t)seqs[n - 1] + 1;
				b--;
			}
		}
		free(sql);
		if (xc)
			store_release(xc);
		if (rc == ST_OK)
			lo = indexed_end > lo ? indexed_end : lo;
	}
	/* unindexed: the recent tail, or a query with no indexed filter */
	if (rc == ST_OK && k.count <= k.limit && lo < hi)
		rc = scan_range(c, &k, lo, hi, e);
	store_release(c);
	if (rc != ST_OK) {
		json_decref(k.list);
		return rc;
	}
	*next = k.count > k.limit ? k.last : -1;
	*events = k.list;
	return ST_OK;
}
