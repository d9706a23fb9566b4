/*
 * evidence.c - decided, logged access to the access log itself (see
 * include/steward/evidence.h).
 */
#include "access/access_internal.h"
#include "steward/evidence.h"

static json_t *hashes(const struct merkle_hash *h, int n)
{
	json_t *a = json_array();
	for (int i = 0; i < n; i++) {
		char *x = hex_encode(h[i].h, HASH_BYTES);
		json_array_append_new(a, json_string(x));
		free(x);
	}
	return a;
}

static int logged(struct steward *st, const struct actor *who, struct audit_event *ev,
		  struct st_error *e)
{
	ev->outcome = "allow";
	return steward_audit(st, who, ev, NULL, e);
}

/* Whether the viewer's own duties reach what an event tells of a record: its
 * subject's records of its category, or, for an event naming a subject but
 * no category (a relationship given, a subject read), every category of
 * that subject. Events about no subject tell nothing of records. */
static bool event_told(struct steward *st, const struct actor *who, const struct policy *p,
		       const json_t *ev)
{
	int64_t subject = json_integer_value(json_object_get(ev, "subject"));
	const char *category = json_string_value(json_object_get(ev, "category"));
	if (who->user_id == 0 || (!subject && !category))
		return true;
	if (category && *category) {
		const struct inv_category *c = inventory_category(p->inv, category);
		return c && access_reaches(st, who, p, subject, c->index);
	}
	for (size_t c = 0; c < p->inv->ncats; c++)
		if (!access_reaches(st, who, p, subject, (int)c))
			return false;
	return true;
}

/* Whether the actor was told what the log records of this act: an act that
 * was allowed, unless its answer was withheld (an explanation asked of a
 * record one may not read says "no access", though the log knows the
 * record's subject and category). */
static bool was_told(const json_t *ev)
{
	if (!str_eq(json_string_value(json_object_get(ev, "outcome")), "allow"))
		return false;
	const char *answered =
		json_string_value(json_object_get(json_object_get(ev, "detail"), "answered"));
	return !str_eq(answered, "no access");
}

/* One's own events as one may see them: refusals and withheld answers keep
 * what was said at the time (when, what was asked, of which record, that it
 * was refused), not what the log adds (the category, the subject, the rule,
 * the full reason). */
/* Keeps of an event only what says that an act happened, when, by whom and
 * how; with_request also what its person asked (the record id and the
 * purpose they gave: one's own words, in one's own view). */
static void reduce(json_t *ev, const char *reason, bool with_request)
{
	static const char *const keep[] = {"seq",     "time",    "action", "outcome", "record",
					   "purpose", "via",     "session", "client", "request",
					   "user",    NULL};
	static const char *const keep_act[] = {"seq",     "time",   "action",  "outcome", "via",
					       "session", "client", "request", "user",    NULL};
	const char *const *list = with_request ? keep : keep_act;
	const char *key;
	json_t *v;
	void *tmp;
	json_object_foreach_safe(ev, tmp, key, v) {
		bool kept = false;
		for (size_t k = 0; list[k] && !kept; k++)
			kept = str_eq(key, list[k]);
		if (!kept)
			json_object_del(ev, key);
	}
	json_object_set_new(ev, "reason", json_string(reason));
}

static void own_view(json_t *events)
{
	size_t i;
	json_t *ev;
	json_array_foreach(events, i, ev) {
		if (was_told(ev))
			continue;
		bool refused = !str_eq(json_string_value(json_object_get(ev, "outcome")), "allow");
		reduce(ev,
		       refused ? "refused; the superintendent's designee can explain why"
			       : "answered without the record's details",
		       true);
	}
}

/* Someone else's events, as the viewer may see them: what an event tells
 * of a record the viewer's own duties do not reach is withheld — the
 * record, its subject and category, the purpose stated, the details (the
 * act, its time, who and how stay). Asked by subject or record, such an
 * event is left out altogether: being in the answer would tell that it
 * concerns them. */
static void reviewer_view(struct steward *st, const struct actor *who, json_t *events,
			  bool drop)
{
	struct policy *p = steward_policy(st);
	for (size_t i = json_array_size(events); i-- > 0;) {
		json_t *ev = json_array_get(events, i);
		if (event_told(st, who, p, ev))
			continue;
		if (drop)
			json_array_remove(events, i);
		else
			reduce(ev, "details withheld: your own duties do not reach this record",
			       false);
	}
	policy_unref(p);
}

/* Names the person behind each event (its "user") by display name and
 * position, as people know them, where the viewer may see who that is:
 * their own events, or anyone's for those who may read accounts (the users
 * and review powers, as user_get decides). Others keep the id alone. The
 * system's own events (no "user") are named as such. Sign-in names are
 * never added. */
static void name_actors(struct steward *st, const struct actor *who, json_t *events)
{
	bool anyone = access_holds(st, who, ADM_USERS) || access_holds(st, who, ADM_REVIEW);
	struct store_conn *c = NULL;
	json_t *known = json_object(); /* id -> {display_name, position} or null */
	size_t i;
	json_t *ev;
	json_array_foreach(events, i, ev) {
		/* an event without a person is the system's own */
		json_t *u = json_object_get(ev, "user");
		if (!u) {
			json_object_set_new(ev, "user_display_name", json_string("the system"));
			continue;
		}
		int64_t id = json_integer_value(u);
		if (!json_is_integer(u) || id <= 0 || (!anyone && id != who->user_id))
			continue;
		char key[24];
		snprintf(key, sizeof(key), "%lld", (long long)id);
		json_t *name = json_object_get(known, key);
		if (!name) {
			struct store_stmt *s = NULL;
			if (!c && store_acquire(st->db, &c, NULL) != ST_OK)
				break;
			if (store_prepare(c, "SELECT display_name, position FROM app_user WHERE id = ?",
					  &s, NULL) != ST_OK)
				break;
			store_bind(s, "i", id);
			name = store_step(s, NULL) == STORE_ROW
				       ? json_pack("{s:s, s:s}", "display_name", store_col_text(s, 0),
						   "position", store_col_text(s, 1))
				       : json_null();
			store_done(s);
			json_object_set_new(known, key, name);
		}
		if (!json_is_object(name))
			continue;
		json_object_set(ev, "user_display_name", json_object_get(name, "display_name"));
		json_object_set(ev, "user_position", json_object_get(name, "position"));
	}
	if (c)
		store_release(c);
	json_decref(known);
}

int evidence_query(struct steward *st, const struct actor *who, const struct evidence_filter *f,
		   json_t **events, int64_t *next, struct st_error *e)
{
	json_t *detail = json_pack("{s:I, s:I, s:I, s:s?}", "user", (json_int_t)f->user, "subject",
				   (json_int_t)f->subject, "record", (json_int_t)f->record, "outcome",
				   f->outcome);
	struct audit_event ev = {.action = "audit.query", .subject_id = f->subject,
				 .record_id = f->record, .detail = detail};
	/* One's own acts are one's to read; everyone else's need the permission.
	 * But one's own refusals are shown as they were given, no more: the log
	 * knows what each refused record was (its category, its subject, the
	 * rule), and that must not reach someone without need-to-know. */
	bool self_only = who->user_id && f->user == who->user_id &&
			 !access_holds(st, who, ADM_AUDIT_READ);
	int rc = self_only ? ST_OK : access_admin(st, who, ADM_AUDIT_READ, &ev, e);
	if (rc == ST_OK && self_only && f->subject)
		rc = err_setc(e, ST_EINVAL, "bad_value", "subject",
			      "one's own events can be listed by record, not by subject, without "
			      "the permission to read the access log");
	if (rc == ST_OK) {
		struct audit_query q = {.user_id = f->user, .subject_id = f->subject,
					.record_id = f->record, .outcome = f->outcome,
					.from_us = f->from_us, .to_us = f->to_us,
					.after_seq = f->after, .limit = f->limit};
		rc = audit_query(st->audit, &q, events, next, e);
		if (rc == ST_OK && self_only)
			own_view(*events);
		else if (rc == ST_OK)
			reviewer_view(st, who, *events, f->subject || f->record);
		if (rc == ST_OK)
			name_actors(st, who, *events);
		if (rc == ST_OK) {
			rc = logged(st, who, &ev, e);
			if (rc != ST_OK)
				json_decref(*events);
		}
	}
	json_decref(detail);
	return rc;
}

int evidence_checkpoint(struct steward *st, const struct actor *who, json_t **out,
			struct st_error *e)
{
	struct audit_event ev = {.action = "audit.checkpoint"};
	int rc = access_admin(st, who, ADM_AUDIT_READ, &ev, e);
	if (rc != ST_OK)
		return rc;
	struct audit_checkpoint cp;
	rc = audit_latest_checkpoint(st->audit, &cp, e);
	if (rc == ST_OK)
		rc = logged(st, who, &ev, e);
	if (rc != ST_OK)
		return rc;
	json_t *j = audit_checkpoint_json(&cp);
	char *pk = hex_encode(st->sign_pk, SIGN_PUBLIC_BYTES);
	char id[40];
	audit_log_id(st->sign_pk, id);
	json_object_set_new(j, "public_key", json_string(pk));
	json_object_set_new(j, "log_id", json_string(id));
	free(pk);
	*out = j;
	return ST_OK;
}

int evidence_proof(struct steward *st, const struct actor *who, int64_t seq, int64_t tree_size,
		   json_t **out, struct st_error *e)
{
	json_t *detail = json_pack("{s:I}", "sequence", (json_int_t)seq);
	struct audit_event ev = {.action = "audit.proof", .detail = detail};
	int rc = access_admin(st, who, ADM_AUDIT_READ, &ev, e);
	struct audit_checkpoint cp;
	if (rc == ST_OK)
		rc = audit_latest_checkpoint(st->audit, &cp, e);
	if (rc == ST_OK && tree_size == 0)
		tree_size = (int64_t)cp.tree_size;
	if (rc == ST_OK && (seq < 0 || seq >= tree_size))
		rc = err_setc(e, ST_ENOTFOUND, "event_not_found", "sequence",
			      "event %lld is not covered by a checkpoint of %lld events yet",
			      (long long)seq, (long long)tree_size);
	struct merkle_hash proof[MERKLE_MAX_PROOF];
	int n = 0;
	unsigned char leaf[HASH_BYTES], root[HASH_BYTES];
	if (rc == ST_OK)
		rc = audit_inclusion_proof(st->audit, (uint64_t)seq, (uint64_t)tree_size, proof, &n,
					   leaf, e);
	if (rc == ST_OK)
		rc = audit_root_at(st->audit, (uint64_t)tree_size, root, e);
	if (rc == ST_OK) {
		char *lh = hex_encode(leaf, HASH_BYTES), *rh = hex_encode(root, HASH_BYTES);
		*out = json_pack("{s:I, s:I, s:s, s:s, s:o}", "sequence", (json_int_t)seq,
				 "tree_size", (json_int_t)tree_size, "leaf_hash", lh, "root", rh,
				 "inclusion_proof", hashes(proof, n));
		free(lh);
		free(rh);
		rc = logged(st, who, &ev, e);
		if (rc != ST_OK)
			json_decref(*out);
	}
	json_decref(detail);
	return rc;
}

int evidence_consistency(struct steward *st, const struct actor *who, int64_t from, int64_t to,
			 json_t **out, struct st_error *e)
{
	struct audit_event ev = {.action = "audit.proof"};
	int rc = access_admin(st, who, ADM_AUDIT_READ, &ev, e);
	if (rc == ST_OK && (from < 0 || to < from))
		rc = err_setc(e, ST_EINVAL, "bad_value", "from", "need 0 <= from <= to");
	struct merkle_hash proof[MERKLE_MAX_PROOF];
	int n = 0;
	unsigned char r1[HASH_BYTES], r2[HASH_BYTES];
	if (rc == ST_OK)
		rc = audit_consistency_proof(st->audit, (uint64_t)from, (uint64_t)to, proof, &n, e);
	if (rc == ST_OK)
		rc = audit_root_at(st->audit, (uint64_t)from, r1, e);
	if (rc == ST_OK)
		rc = audit_root_at(st->audit, (uint64_t)to, r2, e);
	if (rc == ST_OK) {
		char *a = hex_encode(r1, HASH_BYTES), *b = hex_encode(r2, HASH_BYTES);
		*out = json_pack("{s:I, s:I, s:s, s:s, s:o}", "from", (json_int_t)from, "to",
				 (json_int_t)to, "from_root", a, "to_root", b, "consistency_proof",
				 hashes(proof, n));
		free(a);
		free(b);
		rc = logged(st, who, &ev, e);
		if (rc != ST_OK)
			json_decref(*out);
	}
	return rc;
}

int evidence_export(struct steward *st, const struct actor *who, int64_t from_us, int64_t to_us,
		    int64_t user, int64_t subject, json_t **package, struct st_error *e)
{
	json_t *detail = json_pack("{s:I, s:I, s:I, s:I}", "from_us", (json_int_t)from_us, "to_us",
				   (json_int_t)to_us, "user", (json_int_t)user, "subject",
				   (json_int_t)subject);
	struct audit_event ev = {.action = "audit.export", .subject_id = subject, .detail = detail};
	int rc = access_admin(st, who, ADM_AUDIT_EXPORT, &ev, e);
	if (rc == ST_OK) {
		struct audit_export_options o = {from_us, to_us, user, subject};
		rc = audit_export(st->audit, &o, package, e);
		/* An evidence package holds its entries whole (their proofs need
		 * every byte): it is for those whose duties reach every record
		 * its entries tell of. */
		struct policy *p = rc == ST_OK ? steward_policy(st) : NULL;
		size_t i;
		json_t *item;
		if (rc == ST_OK)
			json_array_foreach(json_object_get(*package, "entries"), i, item) {
				const char *text = json_string_value(json_object_get(item, "entry"));
				json_t *entry = text ? json_loads(text, 0, NULL) : NULL;
				bool told = entry && event_told(st, who, p, entry);
				json_decref(entry);
				if (told)
					continue;
				json_decref(*package);
				*package = NULL;
				ev.outcome = "deny";
				ev.reason = "the window holds events about records beyond the "
					    "exporter's own reach";
				struct st_error le = {0};
				rc = steward_audit(st, who, &ev, NULL, &le);
				if (rc != ST_OK && e)
					*e = le;
				if (rc == ST_OK)
					rc = err_setc(e, ST_EDENIED, "forbidden", "subject",
						      "the window holds events about records your own "
						      "duties do not reach; an evidence package keeps "
						      "every entry whole, so it is for someone whose "
						      "duties reach them all (narrow it by subject or "
						      "user)");
				break;
			}
		policy_unref(p);
		if (rc == ST_OK) {
			json_object_set_new(detail, "entries",
					    json_integer((json_int_t)json_array_size(
						    json_object_get(*package, "entries"))));
			rc = logged(st, who, &ev, e);
			if (rc != ST_OK)
				json_decref(*package);
		}
	}
	json_decref(detail);
	return rc;
}

bool steward_health(struct steward *st, json_t **out)
{
	struct audit_stats s;
	audit_stats(st->audit, &s);
	/* answered without sign-in: whether it works, not how busy it is */
	json_t *audit = json_pack("{s:b}", "writable", !s.failed);
	*out = json_pack("{s:s, s:s, s:i, s:o}", "status", s.failed ? "degraded" : "ok", "version",
			 STEWARD_VERSION, "schema_version", steward_schema_version(st), "audit", audit);
	return !s.failed;
}
