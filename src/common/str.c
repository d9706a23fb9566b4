/*
 * str.c - bounded string helpers, strict number parsing, UTF-8 checking,
 * base64 and hex. Every helper reports truncation or junk instead of
 * silently accepting it.
 */
#include <errno.h>

#include "common/base.h"

int str_fmt(char *dst, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(dst, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size)
		return ST_EINVAL;
	return ST_OK;
}

int str_copy(char *dst, size_t size, const char *src)
{
	if (size == 0)
		return ST_EINVAL;
	size_t n = strlen(src);
	if (n >= size) {
		memcpy(dst, src, size - 1);
		dst[size - 1] = '\0';
		/* not a character cut in two */
		size_t i = size - 1;
		while (i > 0 && size - 1 - i < 3 && ((unsigned char)dst[i - 1] & 0xc0) == 0x80)
			i--;
		if (i > 0 && (unsigned char)dst[i - 1] >= 0xc0 &&
		    !str_utf8_sequence(dst + i - 1, size - i))
			dst[i - 1] = '\0';
		return ST_EINVAL;
	}
	memcpy(dst, src, n + 1);
	return ST_OK;
}

bool str_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

bool str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_to_i64(const char *s, int64_t *out)
{
	/* strtoll skips leading white space (newlines, form feeds...) and
	 * takes a '+': a clean number starts with a digit or a minus sign. */
	if (!s || !(s[0] == '-' || (s[0] >= '0' && s[0] <= '9')))
		return false;
	char *end = NULL;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end != '\0' || end == s)
		return false;
	*out = (int64_t)v;
	return true;
}

bool str_is_clean_utf8(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	while (p < end) {
		unsigned c = *p;
		if (c < 0x80) {
			if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
				return false;
			p++;
			continue;
		}
		int n;
		unsigned min;
		if ((c & 0xe0) == 0xc0) n = 1, c &= 0x1f, min = 0x80;
		else if ((c & 0xf0) == 0xe0) n = 2, c &= 0x0f, min = 0x800;
		else if ((c & 0xf8) == 0xf0) n = 3, c &= 0x07, min = 0x10000;
		else return false;
		if (end - p <= n)
			return false;
		for (int i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			c = (c << 6) | (p[i] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return false;
		p += n + 1;
	}
	return true;
}

bool str_is_blank(const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	while (*p) {
		if (*p == ' ' || (*p >= '\t' && *p <= '\r')) {
			p++;
		} else if (p[0] == 0xc2 && p[1] == 0xa0) {
			p += 2;
		} else if (p[0] == 0xe2 && p[1] == 0x80 && p[2] >= 0x80 && p[2] <= 0x8b) {
			p += 3;
		} else if (p[0] == 0xe3 && p[1] == 0x80 && p[2] == 0x80) {
			p += 3;
		} else {
			return false;
		}
	}
	return true;
}

size_t str_utf8_sequence(const char *s, size_t avail)
{
	const unsigned char *p = (const unsigned char *)s;
	if (avail == 0)
		return 0;
	if (p[0] < 0x80)
		return 1;
	size_t n;
	unsigned c, min;
	if ((p[0] & 0xe0) == 0xc0) n = 2, c = p[0] & 0x1f, min = 0x80;
	else if ((p[0] & 0xf0) == 0xe0) n = 3, c = p[0] & 0x0f, min = 0x800;
	else if ((p[0] & 0xf8) == 0xf0) n = 4, c = p[0] & 0x07, min = 0x10000;
	else return 0;
	if (avail < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return n;
}

void str_utf8_repair(char *s)
{
	size_t n = strlen(s);
	/* a sequence cut at the end (by a bounded copy or format) is dropped */
	size_t i = n;
	while (i > 0 && n - i < 3 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
		i--;
	if (i > 0 && (unsigned char)s[i - 1] >= 0xc0 && !str_utf8_sequence(s + i - 1, n - i + 1))
		s[n = i - 1] = '\0';
	for (i = 0; i < n;) {
		size_t k = str_utf8_sequence(s + i, n - i);
		if (k == 0) {
			s[i++] = '?';
			continue;
		}
		i += k;
	}
}

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *b64_encode(const void *data, size_t len)
{
	const unsigned char *in = data;
	size_t olen = 4 * ((len + 2) / 3);
	char *out = xmalloc(olen + 1), *o = out;
	size_t i = 0;
	for (; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		*o++ = b64_alphabet[v >> 18];
		*o++ = b64_alphabet[(v >> 12) & 63];
		*o++ = b64_alphabet[(v >> 6) & 63];
		*o++ = b64_alphabet[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		*o++ = b64_alphabet[v >> 18];
		*o++ = b64_alphabet[(v >> 12) & 63];
		*o++ = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

static int b64_value(char c)
{
	const char *p = c ? strchr(b64_alphabet, c) : NULL;
	return p ? (int)(p - b64_alphabet) : -1;
}

int b64_decode(const char *s, unsigned char **out, size_t *out_len)
{
	size_t len = strlen(s);
	if (len % 4)
		return ST_EINVAL;
	unsigned char *o = xmalloc(len / 4 * 3 + 1);
	size_t n = 0;
	for (size_t i = 0; i < len; i += 4) {
		int v[4];
		int pad = 0;
		for (int j = 0; j < 4; j++) {
			if (s[i + j] == '=' && i + 4 == len && j >= 2) {
				v[j] = 0;
				pad++;
			} else {
				if (pad)
					goto bad;
				v[j] = b64_value(s[i + j]);
				if (v[j] < 0)
					goto bad;
			}
		}
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
			     (uint32_t)v[2] << 6 | (uint32_t)v[3];
		o[n++] = (unsigned char)(w >> 16);
		if (pad < 2)
			o[n++] = (unsigned char)(w >> 8);
		if (pad < 1)
			o[n++] = (unsigned char)w;
	}
	*out = o;
	*out_len = n;
	return ST_OK;
bad:
	free(o);
	return ST_EINVAL;
}

char *hex_encode(const void *data, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *in = data;
	char *out = xmalloc(len * 2 + 1);
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[len * 2] = '\0';
	return out;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

int hex_decode(const char *s, unsigned char *out, size_t out_len)
{
	if (strlen(s) != out_len * 2)
		return ST_EINVAL;
	for (size_t i = 0; i < out_len; i++) {
		int hi = hex_value(s[2 * i]), lo = hex_value(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return ST_EINVAL;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return ST_OK;
}
