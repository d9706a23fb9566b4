/*
 * write.c - the one shape of an administrative change: validated before,
 * written in one transaction, its event appended (and durable) before the
 * transaction commits, so no change exists without its event; a change the
 * data refuses after it was allowed (a name taken, no such object) is on
 * record too, with what stopped it.
 */
#include "access/access_internal.h"

int access_logged_write(struct steward *st, const struct actor *who, struct audit_event *ev,
			int (*fn)(void *ctx, struct store_conn *c, struct st_error *e), void *ctx,
			struct st_error *e)
{
	struct store_conn *c;
	int rc = store_acquire(st->db, &c, e);
	if (rc != ST_OK)
		return rc;
	rc = store_begin(c, e);
	if (rc == ST_OK)
		rc = fn(ctx, c, e);
	if (rc == ST_OK) {
		ev->outcome = "allow";
		rc = steward_audit(st, who, ev, NULL, e);
	}
	if (rc == ST_OK) {
		rc = store_commit(c, e);
		if (rc != ST_OK) {
			struct audit_event fail = *ev;
			fail.outcome = "error";
			fail.reason = "logged but not committed; the change did not happen";
			struct st_error e2 = {0};
			if (steward_audit(st, who, &fail, NULL, &e2) != ST_OK)
				fprintf(stderr, "steward: cannot log a failed commit: %s\n",
					e2.message);
		}
	} else {
		store_rollback(c);
		if (rc != ST_EAUDIT) {
			/* allowed, then refused by the data: the attempt is recorded
			 * too, with what stopped it */
			struct audit_event fail = *ev;
			fail.outcome = "error";
			fail.reason = e ? e->message : "the change could not be made";
			struct st_error e2 = {0};
			if (steward_audit(st, who, &fail, NULL, &e2) != ST_OK)
				fprintf(stderr, "steward: cannot log a failed change: %s\n",
					e2.message);
		}
	}
	store_release(c);
	return rc;
}
