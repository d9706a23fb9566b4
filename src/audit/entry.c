/*
 * entry.c - the canonical form of a log entry. An entry is a JSON object
 * whose bytes are what the Merkle leaf hashes: {"seq":N,"time":"...Z", then
 * the event's fields in a fixed order}. The caller's thread serializes the
 * body; the writer only adds the sequence number and the time, so the
 * single writer thread does as little as possible.
 */
#include "audit/audit_internal.h"

static void put_str(struct buf *b, bool *first, const char *key, const char *v)
{
	if (!v)
		return;
	if (!*first)
		buf_putc(b, ',');
	*first = false;
	buf_json_string(b, key);
	buf_putc(b, ':');
	buf_json_string(b, v);
}

static void put_int(struct buf *b, bool *first, const char *key, int64_t v)
{
	if (!v)
		return;
	if (!*first)
		buf_putc(b, ',');
	*first = false;
	buf_json_string(b, key);
	buf_printf(b, ":%lld", (long long)v);
}

static void put_list(struct buf *b, bool *first, const char *key, const char *csv)
{
	if (!csv)
		return;
	if (!*first)
		buf_putc(b, ',');
	*first = false;
	buf_json_string(b, key);
	buf_puts(b, ":[");
	const char *p = csv;
	bool any = false;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n) {
			char *item = xstrndup(p, n);
			if (any)
				buf_putc(b, ',');
			buf_json_string(b, item);
			free(item);
			any = true;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	buf_putc(b, ']');
}

int audit_event_body(const struct audit_event *ev, struct buf *b, struct st_error *e)
{
	if (!ev->action || !*ev->action)
		return err_set(e, ST_EINTERNAL, NULL, "an access-log event needs an action");
	if (!str_eq(ev->outcome, "allow") && !str_eq(ev->outcome, "deny") &&
	    !str_eq(ev->outcome, "error"))
		return err_set(e, ST_EINTERNAL, NULL, "bad access-log outcome");
	bool first = true;
	put_str(b, &first, "action", ev->action);
	put_str(b, &first, "outcome", ev->outcome);
	put_int(b, &first, "user", ev->user_id);
	put_str(b, &first, "role", ev->role);
	put_int(b, &first, "agreement", ev->agreement_id);
	put_int(b, &first, "record", ev->record_id);
	put_int(b, &first, "subject", ev->subject_id);
	put_str(b, &first, "category", ev->category);
	put_list(b, &first, "written", ev->written);
	put_list(b, &first, "returned", ev->returned);
	put_list(b, &first, "masked", ev->masked);
	put_list(b, &first, "refused", ev->refused);
	put_str(b, &first, "purpose", ev->purpose);
	put_str(b, &first, "reason", ev->reason);
	put_str(b, &first, "rule", ev->rule);
	put_str(b, &first, "via", ev->via);
	put_str(b, &first, "session", ev->session_id);
	put_str(b, &first, "client", ev->client);
	put_str(b, &first, "request", ev->request_id);
	if (ev->detail) {
		char *d = json_dumps(ev->detail, JSON_COMPACT | JSON_SORT_KEYS);
		if (!d)
			return err_set(e, ST_EINTERNAL, NULL, "bad access-log detail");
		buf_puts(b, ",\"detail\":");
		buf_puts(b, d);
		free(d);
	}
	return ST_OK;
}

void audit_entry_build(uint64_t seq, int64_t time_us, const char *body, size_t len,
		       struct buf *out)
{
	char ts[40];
	time_format_us(time_us, ts);
	buf_printf(out, "{\"seq\":%llu,\"time\":\"%s\",", (unsigned long long)seq, ts);
	buf_append(out, body, len);
	buf_putc(out, '}');
}
