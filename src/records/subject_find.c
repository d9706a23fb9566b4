/*
 * subject_find.c - finding subjects (by external id or name through the
 * blind indexes, or listing by kind, school and status) and listing a
 * subject's records, each decided and logged.
 *
 * Invariants: a subject appears in a list only if the same decision a
 * subject read passes allows it, and shows only what that read would show;
 * a record appears only if its category may be read for that subject, and
 * nothing is said of the others (not even how many there are). The search
 * terms never reach the log: an event says which terms were used, not what
 * they were. A page holds at most the limit asked for (at most a stated
 * maximum) and ends with the cursor to go on from.
 */
#include "access/access_internal.h"
#include "records/records_internal.h"

/* Candidates examined per query while filling a page. */
#define BATCH 200

struct candidate {
	int64_t id;
	int kind;
};

/* Validates a page size: 0 means the default. */
static int page_limit(int asked, int def, int max, int *out, struct st_error *e)
{
	if (asked < 0 || asked > max)
		return err_setc(e, ST_EINVAL, "bad_value", "limit",
				"\"limit\" must be from 1 to %d", max);
	*out = asked ? asked : def;
	return ST_OK;
}

static int check_term(const char *field, const char *v, size_t max, struct st_error *e)
{
	if (!v)
		return ST_OK;
	size_t n = strlen(v);
	if (n == 0 || n > max || !str_is_clean_utf8(v, n))
		return err_setc(e, ST_EINVAL, "bad_value", field,
				"\"%s\" must be 1 to %zu printable characters", field, max);
	return ST_OK;
}

/* The WHERE clause and its parameters for one batch of candidates. */
struct where {
	struct buf sql;
	int nbind;
	struct {
		char type; /* 't' text, 'b' a blind index */
		const char *t;
		unsigned char b[HASH_BYTES];
	} bind[20];
};

static void where_add(struct where *w, const char *clause)
{
	buf_puts(&w->sql, " AND ");
	buf_puts(&w->sql, clause);
}

static void bind_push_text(struct where *w, const char *v)
{
	w->bind[w->nbind].type = 't';
	w->bind[w->nbind++].t = v;
}

static void bind_push_hash(struct where *w, const unsigned char h[HASH_BYTES])
{
	w->bind[w->nbind].type = 'b';
	memcpy(w->bind[w->nbind++].b, h, HASH_BYTES);
}

/* Reads up to BATCH candidates after `after` into out. */
static int candidates(struct store_conn *c, const struct where *w, int64_t after,
		      struct candidate *out, size_t *n, struct st_error *e)
{
	*n = 0;
	struct buf sql = BUF_INIT;
	buf_puts(&sql, "SELECT id, kind FROM subject WHERE id > ?");
	buf_append(&sql, w->sql.data ? w->sql.data : "", w->sql.len);
	buf_printf(&sql, " ORDER BY id LIMIT %d", BATCH);
	struct store_stmt *s;
	int rc = store_prepare(c, sql.data, &s, e);
	buf_release(&sql);
	if (rc != ST_OK)
		return rc;
	store_bind_int(s, 1, after);
	for (int i = 0; i < w->nbind; i++) {
		if (w->bind[i].type == 't')
			store_bind_text(s, i + 2, w->bind[i].t);
		else
			store_bind_blob(s, i + 2, w->bind[i].b, HASH_BYTES);
	}
	while ((rc = store_step(s, e)) == STORE_ROW) {
		enum subject_kind k = SUBJECT_OTHER;
		if (subject_kind_parse(store_col_text(s, 1), &k) != ST_OK)
			continue;
		out[*n].id = store_col_int(s, 0);
		out[*n].kind = (int)k;
		(*n)++;
	}
	store_done(s);
	return rc == STORE_DONE ? ST_OK : rc;
}

static void list_append(struct buf *b, const char *names)
{
	/* adds each comma-separated name not yet in b */
	const char *p = names;
	while (p && *p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		bool have = false;
		const char *q = b->data;
		while (q && *q && !have) {
			const char *qe = strchr(q, ',');
			size_t m = qe ? (size_t)(qe - q) : strlen(q);
			have = m == n && !memcmp(q, p, n);
			q = qe ? qe + 1 : NULL;
		}
		if (!have) {
			if (b->len)
				buf_putc(b, ',');
			buf_append(b, p, n);
		}
		p = end ? end + 1 : NULL;
	}
}

int subject_search(struct steward *st, const struct actor *who, const struct subject_query *q,
		   json_t **out, struct st_error *e)
{
	*out = NULL;
	int limit = 0;
	enum subject_kind kind = SUBJECT_OTHER;
	int rc = page_limit(q->limit, SUBJECT_LIST_DEFAULT, SUBJECT_LIST_MAX, &limit, e);
	if (rc == ST_OK && q->kind && subject_kind_parse(q->kind, &kind) != ST_OK)
		rc = err_setc(e, ST_EINVAL, "bad_value", "kind",
			      "\"kind\" must be student, parent_guardian, employee, applicant or "
			      "other");
	const char *status = q->status ? q->status : "active";
	if (rc == ST_OK && !str_eq(status, "active") && !str_eq(status, "inactive") &&
	    !str_eq(status, "all"))
		rc = err_setc(e, ST_EINVAL, "bad_value", "status",
			      "\"status\" must be active, inactive or all");
	if (rc == ST_OK)
		rc = check_term("external_id", q->external_id, 64, e);
	if (rc == ST_OK)
		rc = check_term("family_name", q->family_name, 100, e);
	if (rc == ST_OK)
		rc = check_term("given_name", q->given_name, 100, e);
	if (rc == ST_OK)
		rc = check_term("organization", q->organization, 48, e);
	if (rc == ST_OK && q->given_name && !q->family_name)
		rc = err_setc(e, ST_EINVAL, "missing_field", "family_name",
			      "a given name is searched together with a family name");
	if (rc == ST_OK && q->purpose &&
	    (strlen(q->purpose) > 500 || !str_is_clean_utf8(q->purpose, strlen(q->purpose))))
		rc = err_setc(e, ST_EINVAL, "bad_value", "purpose",
			      "\"purpose\" must be at most 500 printable characters");
	if (rc == ST_OK && q->after < 0)
		rc = err_setc(e, ST_EINVAL, "bad_value", "after", "\"after\" is a subject id");
	if (rc != ST_OK)
		return rc;
	bool search = q->external_id || q->family_name;
	/* which terms were used, for the log: never what they were */
	struct buf by = BUF_INIT;
	if (q->external_id)
		buf_puts(&by, "external_id");
	if (q->family_name)
		list_append(&by, q->given_name ? "family_name,given_name" : "family_name");
	json_t *detail = json_pack("{s:s, s:s, s:s?, s:s?}", "by", by.data ? by.data : "",
				   "status", status, "kind", q->kind, "organization",
				   q->organization);
	buf_release(&by);
	struct audit_event ev = {.action = search ? "subject.search" : "subject.list",
				 .purpose = q->purpose, .detail = detail};

	/* The account first: a suspended or disabled account, or a contractor
	 * outside its agreement, is refused the search as a whole. */
	struct policy *pol = steward_policy(st);
	struct subject_decision sd;
	if (who->user_id != 0 && !access_decide_subject(st, who, pol, 0, -1, q->purpose, &sd) &&
	    reason_scope(sd.refusal.reason) == REASON_ACCOUNT) {
		policy_unref(pol);
		struct subject_decision sd2;
		struct policy *p2 = NULL;
		rc = access_check_subject(st, who, 0, -1, true, &ev, &sd2, &p2, e);
		json_decref(detail);
		return rc == ST_OK ? err_set(e, ST_EINTERNAL, NULL, "inconsistent decision") : rc;
	}

	struct where w = {.sql = BUF_INIT};
	if (!str_eq(status, "all")) {
		where_add(&w, "status = ?");
		bind_push_text(&w, status);
	}
	if (q->kind) {
		where_add(&w, "kind = ?");
		bind_push_text(&w, q->kind);
	}
	if (q->external_id) {
		/* each kind has its own domain: without a kind, look in each (one
		 * lookup of the (kind, external_index) index per kind) */
		buf_puts(&w.sql, " AND (");
		for (int k = 0; k < SUBJECT_KIND_COUNT; k++) {
			if (q->kind && k != (int)kind)
				continue;
			unsigned char h[HASH_BYTES], fam[HASH_BYTES], full[HASH_BYTES];
			subject_indexes(st, subject_kind_name((enum subject_kind)k), q->external_id,
					"", "", h, fam, full);
			if (w.sql.data[w.sql.len - 1] != '(')
				buf_puts(&w.sql, " OR ");
			buf_puts(&w.sql, "(kind = ? AND external_index = ?)");
			bind_push_text(&w, subject_kind_name((enum subject_kind)k));
			bind_push_hash(&w, h);
		}
		buf_putc(&w.sql, ')');
	}
	if (q->family_name) {
		unsigned char h[HASH_BYTES];
		subject_search_index(st, q->family_name, q->given_name, h);
		where_add(&w, q->given_name ? "fullname_index = ?" : "family_index = ?");
		bind_push_hash(&w, h);
	}
	struct store_conn *c;
	rc = store_acquire(st->db, &c, e);
	if (rc == ST_OK && (rc = store_begin_read(c, e)) != ST_OK)
		store_release(c);
	if (rc != ST_OK) {
		buf_release(&w.sql);
		json_decref(detail);
		policy_unref(pol);
		return rc;
	}
	if (q->organization) {
		/* an unknown code matches nothing (it says nothing of which exist) */
		where_add(&w, "organization_id = (SELECT id FROM organization WHERE code = ?)");
		bind_push_text(&w, q->organization);
	}
	json_t *list = json_array(), *ids = json_array();
	struct buf returned = BUF_INIT, masked = BUF_INIT;
	bool disclosure = false, more = false;
	int64_t cursor = q->after, next = 0;
	size_t scanned = 0;
	struct candidate *cand = xcalloc(BATCH, sizeof(*cand));
	while (rc == ST_OK && json_array_size(list) < (size_t)limit) {
		size_t n = 0;
		rc = candidates(c, &w, cursor, cand, &n, e);
		if (rc != ST_OK || n == 0)
			break;
		size_t i = 0;
		for (; i < n && json_array_size(list) < (size_t)limit; i++) {
			cursor = cand[i].id;
			scanned++;
			if (!access_decide_subject(st, who, pol, cand[i].id, cand[i].kind, q->purpose,
						   &sd))
				continue; /* not theirs to see: no trace of it */
			struct subject_row r;
			json_t *doc = NULL;
			rc = subject_row_load(c, cand[i].id, &r, e);
			if (rc == ST_OK)
				rc = subject_row_open(st, c, &r, &doc, e);
			if (rc == ST_OK) {
				struct buf ret1 = BUF_INIT, mask1 = BUF_INIT;
				json_array_append_new(list, subject_view(&r, doc, &sd, st->blind_key,
									 &ret1, &mask1));
				json_array_append_new(ids, json_integer(r.id));
				list_append(&returned, ret1.data);
				list_append(&masked, mask1.data);
				buf_release(&ret1);
				buf_release(&mask1);
				disclosure |= sd.disclosure;
			}
			json_decref(doc);
			subject_row_release(&r);
		}
		/* a page ends at the limit, at the end, or after SUBJECT_SCAN_MAX
		 * rows (a person who may read few of many subjects) */
		if (i < n || json_array_size(list) == (size_t)limit) {
			more = i < n || n == BATCH;
			break;
		}
		if (n < BATCH)
			break;
		if (scanned >= SUBJECT_SCAN_MAX) {
			more = true;
			break;
		}
	}
	free(cand);
	store_release(c);
	buf_release(&w.sql);
	next = more ? cursor : 0;
	json_object_set_new(detail, "returned", json_integer((json_int_t)json_array_size(list)));
	json_object_set_new(detail, "subjects", json_incref(ids));
	if (disclosure)
		json_object_set_new(detail, "disclosure", json_true());
	ev.outcome = rc == ST_OK ? "allow" : "error";
	ev.subject_id = json_array_size(ids) == 1 ? json_integer_value(json_array_get(ids, 0)) : 0;
	ev.returned = returned.data ? returned.data : "";
	ev.masked = masked.len ? masked.data : NULL;
	ev.rule = who->user_id == 0 ? "system" : NULL;
	if (rc != ST_OK)
		ev.reason = e ? e->message : "failed";
	if (rc == ST_OK || rc == ST_ECRYPTO || rc == ST_EINTERNAL) {
		struct st_error le = {0};
		int arc = steward_audit(st, who, &ev, NULL, &le);
		if (arc != ST_OK) {
			rc = arc;
			if (e)
				*e = le;
		}
	}
	json_decref(detail);
	json_decref(ids);
	buf_release(&returned);
	buf_release(&masked);
	policy_unref(pol);
	if (rc != ST_OK) {
		json_decref(list);
		return rc;
	}
	json_t *o = json_pack("{s:o}", "subjects", list);
	if (next)
		json_object_set_new(o, "next", json_integer(next));
	*out = o;
	return ST_OK;
}

int subject_records(struct steward *st, const struct actor *who, int64_t subject,
		    const struct record_query *q, json_t **out, struct st_error *e)
{
	*out = NULL;
	int limit = 0;
	int rc = page_limit(q->limit, RECORD_LIST_DEFAULT, RECORD_LIST_MAX, &limit, e);
	if (rc == ST_OK && q->after < 0)
		rc = err_setc(e, ST_EINVAL, "bad_value", "after", "\"after\" is a record id");
	if (rc == ST_OK && q->purpose &&
	    (strlen(q->purpose) > 500 || !str_is_clean_utf8(q->purpose, strlen(q->purpose))))
		rc = err_setc(e, ST_EINVAL, "bad_value", "purpose",
			      "\"purpose\" must be at most 500 printable characters");
	if (rc == ST_OK && q->category) {
		/* a name the inventory does not declare is bad input; a declared
		 * one the person may not read is simply an empty list */
		struct inventory *inv = steward_inventory(st);
		if (!inventory_category(inv, q->category))
			rc = err_setc(e, ST_EINVAL, "unknown_category", "category",
				      "category \"%s\" is not declared in the data inventory",
				      q->category);
		inventory_unref(inv);
	}
	if (rc != ST_OK)
		return rc;
	struct store_conn *c;
	rc = store_acquire(st->db, &c, e);
	if (rc == ST_OK && (rc = store_begin_read(c, e)) != ST_OK)
		store_release(c);
	if (rc != ST_OK)
		return rc;
	struct subject_row r;
	struct st_error le = {0};
	rc = subject_row_load(c, subject, &r, &le);
	if (rc != ST_OK && rc != ST_ENOTFOUND) {
		store_release(c);
		if (e)
			*e = le;
		return rc;
	}
	struct audit_event ev = {.action = "subject.records", .subject_id = subject,
				 .purpose = q->purpose, .category = q->category};
	struct subject_decision sd;
	struct policy *pol = NULL;
	rc = access_check_subject(st, who, subject, rc == ST_OK ? (int)r.k : -1, false, &ev, &sd,
				  &pol, e);
	subject_row_release(&r);
	if (rc != ST_OK) {
		store_release(c);
		return rc;
	}
	uint64_t cats = sd.readable;
	if (q->category) {
		const struct inv_category *want = inventory_category(pol->inv, q->category);
		cats &= want ? 1ULL << want->index : 0;
	}
	json_t *list = json_array();
	int64_t next = 0;
	if (cats) {
		struct buf sql = BUF_INIT;
		buf_puts(&sql, "SELECT id, category, current_version, created_at, updated_at FROM "
			       "record WHERE subject_id = ? AND deleted_at IS NULL AND id > ? AND "
			       "category IN (");
		int ncat = 0;
		for (size_t k = 0; k < pol->inv->ncats; k++)
			if (cats >> k & 1)
				buf_puts(&sql, ncat++ ? ", ?" : "?");
		buf_printf(&sql, ") ORDER BY id LIMIT %d", limit + 1);
		struct store_stmt *s;
		rc = store_prepare(c, sql.data, &s, e);
		buf_release(&sql);
		if (rc == ST_OK) {
			store_bind_int(s, 1, subject);
			store_bind_int(s, 2, q->after);
			int idx = 3;
			for (size_t k = 0; k < pol->inv->ncats; k++)
				if (cats >> k & 1)
					store_bind_text(s, idx++, pol->inv->cats[k].name);
			int n = 0;
			while ((rc = store_step(s, e)) == STORE_ROW) {
				if (n++ == limit) {
					next = json_integer_value(json_object_get(
						json_array_get(list, json_array_size(list) - 1), "id"));
					continue;
				}
				char made[32], changed[32];
				time_format(store_col_int(s, 3), made);
				time_format(store_col_int(s, 4), changed);
				json_array_append_new(
					list, json_pack("{s:I, s:s, s:I, s:s, s:s}", "id",
							(json_int_t)store_col_int(s, 0), "category",
							store_col_text(s, 1), "version",
							(json_int_t)store_col_int(s, 2), "created_at",
							made, "updated_at", changed));
			}
			store_done(s);
			rc = rc == STORE_DONE ? ST_OK : rc;
		}
	}
	store_release(c);
	struct buf names = BUF_INIT;
	subject_categories(pol, sd.readable, &names);
	json_t *detail = json_pack("{s:s, s:I}", "categories", names.data ? names.data : "",
				   "returned", (json_int_t)json_array_size(list));
	buf_release(&names);
	if (sd.disclosure && json_array_size(list))
		json_object_set_new(detail, "disclosure", json_true());
	ev.outcome = rc == ST_OK ? "allow" : "error";
	ev.returned = "id,category,version,created_at,updated_at";
	ev.detail = detail;
	if (rc != ST_OK)
		ev.reason = e ? e->message : "failed";
	int arc = steward_audit(st, who, &ev, NULL, &le);
	json_decref(detail);
	policy_unref(pol); /* the event's role and rule point into it */
	if (arc != ST_OK) {
		json_decref(list);
		if (e)
			*e = le;
		return arc;
	}
	if (rc != ST_OK) {
		json_decref(list);
		return rc;
	}
	json_t *o = json_pack("{s:I, s:o}", "subject", (json_int_t)subject, "records", list);
	if (next)
		json_object_set_new(o, "next", json_integer(next));
	*out = o;
	return ST_OK;
}
