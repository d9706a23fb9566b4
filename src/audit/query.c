/*
 * query.c - reading the access log: "who accessed this student's records,
 * when and why". Every query runs on an index (user, subject, record, or
 * non-allow outcomes, each with the sequence number), and a time window is
 * turned into a sequence range by binary search on the monotonic times, so
 * no query scans the log.
 */
#include "audit/audit_internal.h"

int audit_seq_at_time(struct audit_log *log, int64_t t_us, uint64_t *seq, struct st_error *e)
{
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

int audit_query(struct audit_log *log, const struct audit_query *q, json_t **events,
		int64_t *next, struct st_error *e)
{
	int limit = q->limit > 0 ? q->limit : 100;
	if (limit > 1000)
		limit = 1000;
	if (q->outcome && !str_eq(q->outcome, "allow") && !str_eq(q->outcome, "deny") &&
	    !str_eq(q->outcome, "error"))
		return err_setc(e, ST_EINVAL, "bad_value", "outcome",
				"outcome must be allow, deny or error");
	uint64_t lo = 0, hi = UINT64_MAX >> 1;
	int rc = ST_OK;
	if (q->from_us)
		rc = audit_seq_at_time(log, q->from_us, &lo, e);
	if (rc == ST_OK && q->to_us)
		rc = audit_seq_at_time(log, q->to_us, &hi, e);
	if (rc != ST_OK)
		return rc;
	if (q->after_seq >= 0 && (uint64_t)q->after_seq + 1 > lo)
		lo = (uint64_t)q->after_seq + 1;

	struct buf sql = BUF_INIT;
	buf_puts(&sql, "SELECT seq, entry FROM audit_event WHERE seq >= ? AND seq < ?");
	if (q->record_id)
		buf_puts(&sql, " AND record_id = ?");
	if (q->subject_id)
		buf_puts(&sql, " AND subject_id = ?");
	if (q->user_id)
		buf_puts(&sql, " AND user_id = ?");
	if (q->outcome)
		buf_puts(&sql, str_eq(q->outcome, "allow") ? " AND outcome = ?"
							   : " AND outcome <> 'allow' AND outcome = ?");
	buf_puts(&sql, " ORDER BY seq LIMIT ?");
	struct store_conn *c;
	rc = store_acquire(log->db, &c, e);
	if (rc != ST_OK) {
		buf_release(&sql);
		return rc;
	}
	struct store_stmt *s;
	rc = store_prepare(c, sql.data, &s, e);
	buf_release(&sql);
	json_t *list = json_array();
	int64_t last = -1;
	int count = 0;
	if (rc == ST_OK) {
		int i = 1;
		store_bind_int(s, i++, (int64_t)lo);
		store_bind_int(s, i++, (int64_t)hi);
		if (q->record_id)
			store_bind_int(s, i++, q->record_id);
		if (q->subject_id)
			store_bind_int(s, i++, q->subject_id);
		if (q->user_id)
			store_bind_int(s, i++, q->user_id);
		if (q->outcome)
			store_bind_text(s, i++, q->outcome);
		store_bind_int(s, i++, limit + 1);
		while ((rc = store_step(s, e)) == STORE_ROW) {
			if (count == limit)
				break;
			size_t len = 0;
			const char *entry = store_col_blob(s, 1, &len);
			json_error_t je;
			json_t *ev = json_loadb(entry, len, 0, &je);
			if (!ev) {
				rc = err_set(e, ST_ECRYPTO, NULL, "access-log entry %lld is malformed",
					     (long long)store_col_int(s, 0));
				break;
			}
			last = store_col_int(s, 0);
			json_array_append_new(list, ev);
			count++;
		}
		bool more = rc == STORE_ROW;
		store_done(s);
		if (rc == STORE_DONE || rc == STORE_ROW) {
			rc = ST_OK;
			*next = more ? last : -1;
		}
	}
	store_release(c);
	if (rc != ST_OK) {
		json_decref(list);
		return rc;
	}
	*events = list;
	return ST_OK;
}
