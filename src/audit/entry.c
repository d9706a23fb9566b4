/*
 * entry.c - the canonical form of a log entry. An entry is a JSON object
 * whose bytes are what the Merkle leaf hashes: {"seq":N,"time":"...Z", then
 * the event's fields in a fixed order}. The caller's thread serializes the
 * body; the writer only adds the sequence number and the time, so the
 * single writer thread does as little as possible.
 *
 * The stated purpose is the one field a person writes freely (a reader
 * may name a student, a diagnosis, an allegation in it): it is sealed,
 * "purpose":{"sealed":"<base64>"}, never in clear in the log or its
 * journal. The sealed bytes are a 16-byte random salt and the purpose
 * sealed (XChaCha20-Poly1305) under the entry's own key, the keyed
 * BLAKE2b of the salt under the log's purpose key (cheaper than HMAC on
 * the appending thread; each entry costs a few microseconds). The entry's key opens that
 * purpose and no other: an evidence package discloses it for the entries
 * it includes, and the recipient opens the purpose from the entry bytes
 * the signed tree covers, so the purpose read is the purpose logged.
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

#define PURPOSE_SALT_BYTES 16
static const char purpose_ad[] = "steward-audit-purpose/1";

static void entry_key(const unsigned char purpose_key[KEY_BYTES],
		      const unsigned char salt[PURPOSE_SALT_BYTES], unsigned char out[KEY_BYTES])
{
	mac_keyed(purpose_key, salt, PURPOSE_SALT_BYTES, out, KEY_BYTES);
}

/* The purpose as well-formed UTF-8: a byte that is not part of a
 * well-formed character becomes U+FFFD, as buf_json_string writes it in
 * clear, so that what is sealed opens into a JSON string. */
static void purpose_text(const char *s, struct buf *out)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		size_t k = str_utf8_sequence(s + i, n - i);
		if (k == 0) {
			buf_puts(out, "\xef\xbf\xbd");
			i++;
		} else {
			buf_append(out, s + i, k);
			i += k;
		}
	}
	buf_putc(out, '\0');
}

static void put_sealed_purpose(struct buf *b, bool *first, const unsigned char *key,
			       const char *purpose)
{
	if (!purpose)
		return;
	if (!key) {
		/* a log opened without its keys never appends */
		put_str(b, first, "purpose", purpose);
		return;
	}
	unsigned char salt[PURPOSE_SALT_BYTES];
	random_bytes(salt, sizeof(salt));
	unsigned char k[KEY_BYTES];
	entry_key(key, salt, k);
	struct buf sealed = BUF_INIT;
	buf_append(&sealed, salt, sizeof(salt));
	struct buf clean = BUF_INIT;
	purpose_text(purpose, &clean);
	seal(k, purpose_ad, sizeof(purpose_ad) - 1, clean.data, strlen(clean.data), &sealed);
	secure_wipe(k, KEY_BYTES);
	secure_wipe(clean.data, clean.cap);
	buf_release(&clean);
	char *text = b64_encode(sealed.data, sealed.len);
	buf_release(&sealed);
	if (!*first)
		buf_putc(b, ',');
	*first = false;
	buf_puts(b, "\"purpose\":{\"sealed\":");
	buf_json_string(b, text);
	buf_putc(b, '}');
	free(text);
}

/* The salt and sealed bytes of a sealed purpose value. */
static int sealed_bytes(const json_t *v, unsigned char **raw, size_t *len)
{
	const char *text = json_string_value(json_object_get(v, "sealed"));
	*raw = NULL;
	if (!text || b64_decode(text, raw, len) != ST_OK || *len <= PURPOSE_SALT_BYTES) {
		free(*raw);
		*raw = NULL;
		return ST_ECRYPTO;
	}
	return ST_OK;
}

int audit_purpose_open(const unsigned char key[KEY_BYTES], const json_t *sealed, char **text)
{
	unsigned char *raw = NULL;
	size_t len = 0;
	if (sealed_bytes(sealed, &raw, &len) != ST_OK)
		return ST_ECRYPTO;
	size_t tlen = 0;
	int rc = unseal(key, purpose_ad, sizeof(purpose_ad) - 1, raw + PURPOSE_SALT_BYTES,
			len - PURPOSE_SALT_BYTES, text, &tlen);
	free(raw);
	return rc;
}

int audit_purpose_entry_key(const unsigned char purpose_key[KEY_BYTES], const json_t *ev,
			    unsigned char out[KEY_BYTES])
{
	json_t *v = json_object_get(ev, "purpose");
	unsigned char *raw = NULL;
	size_t len = 0;
	if (!json_is_object(v))
		return ST_ENOTFOUND;
	if (sealed_bytes(v, &raw, &len) != ST_OK)
		return ST_ECRYPTO;
	entry_key(purpose_key, raw, out);
	free(raw);
	return ST_OK;
}

void audit_purpose_open_event(const unsigned char *purpose_key, json_t *ev)
{
	unsigned char k[KEY_BYTES];
	char *text = NULL;
	if (purpose_key && audit_purpose_entry_key(purpose_key, ev, k) == ST_OK &&
	    audit_purpose_open(k, json_object_get(ev, "purpose"), &text) == ST_OK) {
		json_object_set_new(ev, "purpose", json_string(text));
		secure_free_plain(text, strlen(text));
	}
	secure_wipe(k, KEY_BYTES);
}

int audit_event_body(const struct audit_event *ev, const unsigned char *purpose_key,
		     struct buf *b, struct st_error *e)
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
	put_sealed_purpose(b, &first, purpose_key, ev->purpose);
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
