/*
 * otp.c - time-based one-time passwords (RFC 6238 over RFC 4226 HOTP) with
 * HMAC-SHA-1, 6 digits and 30-second steps: what authenticator apps
 * implement. SHA-1 comes from Nettle, since libsodium has no SHA-1; it is
 * used here only inside HMAC, where it remains sound.
 */
#include <nettle/hmac.h>
#include <sodium.h>

#include "crypto/crypto.h"

static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

char *base32_encode(const void *data, size_t len)
{
	const unsigned char *in = data;
	char *out = xmalloc((len * 8 + 4) / 5 + 1);
	size_t o = 0;
	uint32_t buffer = 0;
	int bits = 0;
	for (size_t i = 0; i < len; i++) {
		buffer = (buffer << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = b32[(buffer >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0)
		out[o++] = b32[(buffer << (5 - bits)) & 31];
	out[o] = '\0';
	return out;
}

int base32_decode(const char *s, unsigned char *out, size_t max, size_t *len)
{
	uint32_t buffer = 0;
	int bits = 0;
	size_t n = 0;
	for (; *s; s++) {
		char c = *s;
		if (c == ' ' || c == '-')
			continue;
		if (c == '=')
			break;
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 32);
		const char *p = strchr(b32, c);
		if (!p || !c)
			return ST_EINVAL;
		buffer = (buffer << 5) | (uint32_t)(p - b32);
		bits += 5;
		if (bits >= 8) {
			if (n == max)
				return ST_EINVAL;
			out[n++] = (unsigned char)(buffer >> (bits - 8));
			bits -= 8;
		}
	}
	*len = n;
	return ST_OK;
}

uint32_t hotp(const unsigned char *secret, size_t len, uint64_t counter)
{
	struct hmac_sha1_ctx ctx;
	unsigned char msg[8], mac[SHA1_DIGEST_SIZE];
	for (int i = 7; i >= 0; i--) {
		msg[i] = (unsigned char)(counter & 0xff);
		counter >>= 8;
	}
	hmac_sha1_set_key(&ctx, len, secret);
	hmac_sha1_update(&ctx, sizeof(msg), msg);
	hmac_sha1_digest(&ctx, sizeof(mac), mac);
	sodium_memzero(&ctx, sizeof(ctx));
	int off = mac[SHA1_DIGEST_SIZE - 1] & 0x0f;
	uint32_t bin = ((uint32_t)(mac[off] & 0x7f) << 24) | ((uint32_t)mac[off + 1] << 16) |
		       ((uint32_t)mac[off + 2] << 8) | mac[off + 3];
	sodium_memzero(mac, sizeof(mac));
	return bin % 1000000;
}

bool totp_check(const unsigned char *secret, size_t len, const char *code, int64_t now,
		uint64_t *step)
{
	if (!code || strlen(code) != TOTP_DIGITS)
		return false;
	for (int i = 0; i < TOTP_DIGITS; i++)
		if (code[i] < '0' || code[i] > '9')
			return false;
	uint64_t t = (uint64_t)now / TOTP_PERIOD;
	bool found = false;
	for (int d = -1; d <= 1; d++) {
		char want[16];
		snprintf(want, sizeof(want), "%06u", hotp(secret, len, t + (uint64_t)(int64_t)d));
		/* compare every candidate fully, whatever matched before */
		if (sodium_memcmp(want, code, TOTP_DIGITS) == 0 && !found) {
			found = true;
			*step = t + (uint64_t)(int64_t)d;
		}
	}
	return found;
}
