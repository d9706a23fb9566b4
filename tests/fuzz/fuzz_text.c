/*
 * fuzz_text.c - the small parsers of src/common every boundary leans on,
 * on any bytes: times and dates (time_parse: query parameters, bodies,
 * inventory dates), whole numbers (str_to_i64: ids, sequence numbers,
 * Content-Length), UTF-8 text (str_is_clean_utf8: every string a request
 * brings), base64 and hex (b64_decode, hex_decode: key files, public keys,
 * checkpoints and proofs), and the JSON string writer every access-log
 * entry is made with (buf_json_string, src/common/buf.c), which outside
 * text (purposes, names, reasons) reaches.
 *
 * Properties: a time accepted lies in the years 1900 to 9999 and is
 * written back (time_format) as a time that parses to the same second;
 * a number accepted is written back to the same number; clean UTF-8 is
 * valid UTF-8 without control characters but tab, newline and carriage
 * return; base64 and hex decode what they encode, and what they decode
 * encodes back to an equivalent text; buf_json_string writes text that
 * parses back to the same string, and never invalid JSON, whatever bytes
 * it is given.
 */
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	return 0;
}

static void times(const char *s)
{
	int64_t t = 0;
	if (time_parse(s, &t) != ST_OK)
		return;
	FUZZ_CHECK(t >= -2208988800LL && t <= TIME_MAX_SEC);
	char out[32];
	time_format(t, out);
	int64_t back = 0;
	FUZZ_CHECK(time_parse(out, &back) == ST_OK && back == t);
	char date[16];
	time_format_date(t, date);
	FUZZ_CHECK(time_parse(date, &back) == ST_OK && back <= t && t - back < 86400 + 1);
}

static void numbers(const char *s)
{
	int64_t v = 0;
	if (!str_to_i64(s, &v))
		return;
	FUZZ_CHECK(s[0] == '-' || (s[0] >= '0' && s[0] <= '9'));
	char out[32];
	snprintf(out, sizeof(out), "%lld", (long long)v);
	int64_t back = 0;
	FUZZ_CHECK(str_to_i64(out, &back) && back == v);
}

static void utf8(const uint8_t *data, size_t size)
{
	if (!str_is_clean_utf8((const char *)data, size))
		return;
	for (size_t i = 0; i < size; i++)
		FUZZ_CHECK(data[i] >= 0x20 || data[i] == '\t' || data[i] == '\n' ||
			   data[i] == '\r');
	json_t *j = json_stringn((const char *)data, size);
	FUZZ_CHECK(j != NULL);
	json_decref(j);
}

static void base64(const char *s, const uint8_t *data, size_t size)
{
	unsigned char *raw = NULL;
	size_t n = 0;
	if (b64_decode(s, &raw, &n) == ST_OK) {
		FUZZ_CHECK(n <= strlen(s) / 4 * 3);
		char *again = b64_encode(raw, n);
		FUZZ_CHECK(strlen(again) == strlen(s));
		unsigned char *raw2 = NULL;
		size_t n2 = 0;
		FUZZ_CHECK(b64_decode(again, &raw2, &n2) == ST_OK && n2 == n &&
			   (n == 0 || !memcmp(raw, raw2, n)));
		free(raw2);
		free(again);
		free(raw);
	}
	char *enc = b64_encode(data, size);
	FUZZ_CHECK(b64_decode(enc, &raw, &n) == ST_OK && n == size &&
		   (n == 0 || !memcmp(raw, data, n)));
	free(raw);
	free(enc);
}

static void hex(const char *s, const uint8_t *data, size_t size)
{
	size_t n = strlen(s) / 2;
	unsigned char *raw = xmalloc(n + 1);
	if (hex_decode(s, raw, n) == ST_OK) {
		char *again = hex_encode(raw, n);
		FUZZ_CHECK(strcasecmp(again, s) == 0);
		free(again);
	}
	free(raw);
	char *enc = hex_encode(data, size);
	raw = xmalloc(size + 1);
	FUZZ_CHECK(hex_decode(enc, raw, size) == ST_OK && (size == 0 || !memcmp(raw, data, size)));
	free(raw);
	free(enc);
}

static void json_text(const char *s)
{
	struct buf b = BUF_INIT;
	buf_json_string(&b, s);
	json_error_t je;
	json_t *j = json_loadb(b.data, b.len, JSON_DECODE_ANY, &je);
	/* an access-log entry must parse, whatever text reached it */
	FUZZ_CHECK(j != NULL && json_is_string(j));
	if (fuzz_text_ok(s))
		FUZZ_CHECK(str_eq(json_string_value(j), s));
	json_decref(j);
	buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_strndup(data, size);
	times(s);
	numbers(s);
	utf8(data, size);
	base64(s, data, size);
	hex(s, data, size);
	json_text(s);
	free(s);
	return 0;
}
