/*
 * fuzz.h - what the libFuzzer harnesses share. Each harness (fuzz_<parser>.c)
 * hands the fuzzer's bytes to the very library function the server or the
 * command line calls on outside input, under AddressSanitizer and
 * UndefinedBehaviorSanitizer, and checks beyond them the properties its
 * callers count on: a refusal always says what was wrong, in text an answer
 * or a log event can carry (UTF-8); what is accepted is what was promised.
 * A broken property aborts, which libFuzzer reports and saves like a crash.
 *
 * How to add a fuzzer for a new parser: docs/architecture.md, "Tests and fuzzing".
 */
#ifndef STEWARD_FUZZ_H
#define STEWARD_FUZZ_H

#include <stdint.h>

#include "common/base.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property every input must keep; a broken one is a finding. */
#define FUZZ_CHECK(cond)                                                                 \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fprintf(stderr, "fuzz: property broken at %s:%d: %s\n", __FILE__,   \
				__LINE__, #cond);                                         \
			abort();                                                         \
		}                                                                        \
	} while (0)

/* The input taken apart piece by piece; once it is used up, every piece is
 * zero or empty (so every input means something). */
struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t fuzz_u8(struct fuzz_in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static inline uint64_t fuzz_u64(struct fuzz_in *in, int bytes)
{
	uint64_t v = 0;
	for (int i = 0; i < bytes; i++)
		v |= (uint64_t)fuzz_u8(in) << (8 * i);
	return v;
}

/* Up to max bytes, their count from the next byte (or two when max > 255). */
static inline size_t fuzz_bytes(struct fuzz_in *in, size_t max, const uint8_t **out)
{
	size_t want = (size_t)fuzz_u64(in, max > 255 ? 2 : 1);
	if (want > max)
		want %= max + 1;
	if (want > in->n)
		want = in->n;
	*out = in->p;
	in->p += want;
	in->n -= want;
	return want;
}

/* A NUL-terminated copy of n bytes (malloc'd); a NUL inside ends it early,
 * as it would a C string the library is given. */
static inline char *fuzz_strndup(const uint8_t *data, size_t n)
{
	char *s = xmalloc(n + 1);
	if (n)
		memcpy(s, data, n);
	s[n] = '\0';
	return s;
}

static inline char *fuzz_str(struct fuzz_in *in, size_t max)
{
	const uint8_t *p = NULL;
	size_t n = fuzz_bytes(in, max, &p);
	return fuzz_strndup(p, n);
}

/* Text that a JSON answer or a log event can carry (valid UTF-8): what
 * jansson takes as a string. */
static inline bool fuzz_text_ok(const char *s)
{
	json_t *j = json_string(s);
	json_decref(j);
	return j != NULL;
}

/* A refusal: a negative status, the same in e, a code, and a field and a
 * message that can be sent and logged. */
static inline void fuzz_check_refusal(int rc, const struct st_error *e)
{
	FUZZ_CHECK(rc < 0);
	FUZZ_CHECK(e->status == rc);
	FUZZ_CHECK(e->code[0] != '\0');
	FUZZ_CHECK(fuzz_text_ok(e->code));
	FUZZ_CHECK(fuzz_text_ok(e->field));
	FUZZ_CHECK(fuzz_text_ok(e->message));
}

#endif
