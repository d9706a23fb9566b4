/*
 * fuzz_otp.c - multi-factor input (src/crypto/otp.c): the one-time code a
 * person types at sign-in and at enrolment, checked by totp_check against
 * a secret, and base32 text (base32_decode, base32_encode: the secret an
 * authenticator app is given, the recovery codes). The input is a secret,
 * a time and a code, then base32 text (the rest).
 *
 * Properties: a code accepted is six digits, and the code of one of the
 * three steps around the time; the code of the current step is always
 * accepted, at that step or the one before; base32 decodes what it
 * encodes, and what it decodes encodes back to text that decodes the same.
 */
#include "fuzz.h"
#include "crypto/crypto.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	struct st_error e = {0};
	if (crypto_setup(&e) != ST_OK)
		die("fuzz_otp: %s", e.message);
	return 0;
}

static void codes(const unsigned char *secret, size_t len, const char *code, int64_t now)
{
	uint64_t step = 0, t = (uint64_t)now / TOTP_PERIOD;
	if (totp_check(secret, len, code, now, &step)) {
		FUZZ_CHECK(strlen(code) == TOTP_DIGITS && strspn(code, "0123456789") == TOTP_DIGITS);
		FUZZ_CHECK(step == t - 1 || step == t || step == t + 1);
		char want[16];
		snprintf(want, sizeof(want), "%06u", hotp(secret, len, step));
		FUZZ_CHECK(str_eq(want, code));
	}
	char current[16];
	snprintf(current, sizeof(current), "%06u", hotp(secret, len, t));
	FUZZ_CHECK(totp_check(secret, len, current, now, &step));
	FUZZ_CHECK(step == t || step == t - 1);
}

static void base32(const char *s, const unsigned char *raw, size_t rawlen)
{
	unsigned char out[128], again[128];
	size_t n = 0, n2 = 0;
	if (base32_decode(s, out, sizeof(out), &n) == ST_OK) {
		FUZZ_CHECK(n <= sizeof(out));
		char *enc = base32_encode(out, n);
		FUZZ_CHECK(base32_decode(enc, again, sizeof(again), &n2) == ST_OK && n2 == n &&
			   (n == 0 || !memcmp(out, again, n)));
		free(enc);
	}
	char *enc = base32_encode(raw, rawlen);
	FUZZ_CHECK(strspn(enc, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") == strlen(enc));
	unsigned char *back = xmalloc(rawlen + 1);
	FUZZ_CHECK(base32_decode(enc, back, rawlen, &n2) == ST_OK && n2 == rawlen &&
		   (rawlen == 0 || !memcmp(back, raw, rawlen)));
	free(back);
	free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	const uint8_t *secret = NULL;
	size_t len = fuzz_bytes(&in, 64, &secret);
	int64_t now = (int64_t)fuzz_u64(&in, 8);
	char *code = fuzz_str(&in, 12);
	codes(secret, len, code, now);
	free(code);
	char *text = fuzz_strndup(in.p, in.n);
	base32(text, in.p, in.n);
	free(text);
	return 0;
}
