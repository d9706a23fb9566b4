/*
 * log.c - the bridge from an act to the access log: every domain module
 * reports its acts through steward_audit(), which attributes them to the
 * actor whatever interface they came through.
 */
#include "core/context.h"

int steward_audit(struct steward *st, const struct actor *who, struct audit_event *ev,
		  int64_t *seq, struct st_error *e)
{
	if (who) {
		if (!ev->user_id)
			ev->user_id = who->user_id;
		if (!ev->via)
			ev->via = who->via;
		if (!ev->session_id)
			ev->session_id = who->session_id;
		if (!ev->client)
			ev->client = who->client;
		if (!ev->request_id)
			ev->request_id = who->request_id;
	}
	if (!st->audit)
		return err_set(e, ST_EAUDIT, NULL, "the access log is not open");
	if (who && who->ticket)
		return audit_append_ticket(st->audit, ev, who->ticket, seq, e);
	return audit_append(st->audit, ev, seq, e);
}

char *json_key_list(const json_t *obj)
{
	struct buf b = BUF_INIT;
	const char *k;
	json_t *v;
	/* sorted, so the list reads the same whatever order the input had */
	size_t n = json_object_size(obj), i = 0;
	const char **keys = xcalloc(n ? n : 1, sizeof(*keys));
	json_object_foreach((json_t *)obj, k, v) keys[i++] = k;
	for (size_t a = 1; a < n; a++)
		for (size_t c = a; c > 0 && strcmp(keys[c - 1], keys[c]) > 0; c--) {
			const char *t = keys[c];
			keys[c] = keys[c - 1];
			keys[c - 1] = t;
		}
	for (i = 0; i < n; i++) {
		if (i)
			buf_putc(&b, ',');
		buf_puts(&b, keys[i]);
	}
	free(keys);
	return buf_detach(&b, NULL);
}
