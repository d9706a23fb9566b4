/*
 * blind.c - blind indexes: keyed hashes (HMAC-SHA-256 under the data
 * directory's blind-index key) of identifiers that must be searchable, so
 * the database never holds an external id or a name in clear. Values are
 * normalized first (trimmed, inner spaces collapsed, ASCII lower-cased) so a
 * search finds "  O'Brien" as "o'brien". Each purpose gets its own domain,
 * so equal values in different roles do not produce equal hashes.
 */
#include <ctype.h>

#include "core/context.h"

void blind_index(struct steward *st, const char *purpose, const char *value,
		 unsigned char out[HASH_BYTES])
{
	struct buf b = BUF_INIT;
	buf_puts(&b, "steward/blind/v1|");
	buf_puts(&b, purpose);
	buf_putc(&b, '|');
	const char *p = value;
	while (*p == ' ' || *p == '\t')
		p++;
	bool space = false;
	for (; *p; p++) {
		if (*p == ' ' || *p == '\t') {
			space = true;
			continue;
		}
		if (space)
			buf_putc(&b, ' ');
		space = false;
		buf_putc(&b, (char)tolower((unsigned char)*p));
	}
	hmac_sha256(st->blind_key, b.data, b.len, out);
	secure_free_plain(b.data, b.cap);
}
