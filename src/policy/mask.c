/*
 * mask.c - the masking obligations of a decision, applied to what is
 * returned (Apache Ranger's vocabulary): redact, show the last 4
 * characters, hash (keyed, so equal values stay matchable without being
 * revealed), null, or a date's year only.
 */
#include "crypto/crypto.h"
#include "policy/policy.h"

json_t *mask_value(enum mask_kind kind, const json_t *value, const unsigned char *hash_key)
{
	if (json_is_null(value))
		return json_null();
	char *text = json_is_string(value) ? xstrdup(json_string_value(value))
					   : json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
	json_t *out = NULL;
	size_t n = strlen(text);
	switch (kind) {
	case MASK_NONE:
		out = json_deep_copy(value);
		break;
	case MASK_REDACT:
		out = json_string("[redacted]");
		break;
	case MASK_NULL:
		out = json_null();
		break;
	case MASK_LAST4: {
		/* keep the last 4 digits or letters; punctuation keeps its place */
		char *m = xstrdup(text);
		int keep = 4;
		for (size_t i = n; i-- > 0;) {
			bool alnum = (m[i] >= '0' && m[i] <= '9') || (m[i] >= 'a' && m[i] <= 'z') ||
				     (m[i] >= 'A' && m[i] <= 'Z');
			if (!alnum)
				continue;
			if (keep > 0)
				keep--;
			else
				m[i] = '*';
		}
		out = json_string(m);
		free(m);
		break;
	}
	case MASK_HASH: {
		unsigned char h[HASH_BYTES];
		if (hash_key) {
			hmac_sha256(hash_key, text, n, h);
		} else {
			sha256(text, n, h);
		}
		char *hex = hex_encode(h, 8);
		char *v = xasprintf("hash:%s", hex);
		out = json_string(v);
		free(v);
		free(hex);
		break;
	}
	case MASK_YEAR:
		/* a year is four digits: anything else (a value that is no date,
		 * or a character cut in two) is redacted, never shown */
		if (n >= 4 && strspn(text, "0123456789") >= 4) {
			char y[5];
			memcpy(y, text, 4);
			y[4] = '\0';
			out = json_string(y);
		} else {
			out = json_string("[redacted]");
		}
		break;
	}
	secure_free_plain(text, n);
	/* fail closed: a mask always gives a value (mask_fields would
	 * otherwise leave the field as it was) */
	return out ? out : json_string("[redacted]");
}

void mask_fields(const struct rule *rule, json_t *fields, const unsigned char *hash_key,
		 struct buf *masked)
{
	if (!rule)
		return;
	for (int i = 0; i < rule->nmasks; i++) {
		json_t *v = json_object_get(fields, rule->masks[i].field);
		if (!v)
			continue;
		json_object_set_new(fields, rule->masks[i].field,
				    mask_value(rule->masks[i].kind, v, hash_key));
		if (masked->len)
			buf_putc(masked, ',');
		buf_puts(masked, rule->masks[i].field);
	}
}
