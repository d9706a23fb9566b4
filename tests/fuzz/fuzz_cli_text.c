/*
 * fuzz_cli_text.c - a server's answer, as the command line shows it
 * (src/cli/client.c): the body parsed (json_loadb), an answer written out
 * as JSON, an error's message and field as one line, each through
 * cli_printable_dup, which must leave a server no way to steer the
 * terminal; and the raw bytes through it in both modes. The input is the
 * answer's body.
 *
 * Properties: what is printed is UTF-8 without C0 controls (but newline
 * and tab in JSON), DEL, C1 controls or bidirectional overrides and
 * isolates; a line holds no newline; JSON written by json_dumps stays JSON
 * that reads back the same.
 */
#include "fuzz.h"
#include "cli/cli.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	return 0;
}

static void safe(const char *s, enum cli_text mode)
{
	size_t len = strlen(s);
	for (size_t i = 0; i < len;) {
		size_t n = str_utf8_sequence(s + i, len - i);
		FUZZ_CHECK(n > 0);
		unsigned cp = (unsigned char)s[i];
		if (n > 1) {
			cp &= 0xff >> (n + 1);
			for (size_t k = 1; k < n; k++)
				cp = (cp << 6) | ((unsigned char)s[i + k] & 0x3f);
		}
		bool kept = mode == CLI_TEXT_JSON && (cp == '\n' || cp == '\t');
		FUZZ_CHECK(kept || cp >= 0x20);
		FUZZ_CHECK(!(cp >= 0x7f && cp <= 0x9f));
		FUZZ_CHECK(!(cp >= 0x202a && cp <= 0x202e) && !(cp >= 0x2066 && cp <= 0x2069));
		i += n;
	}
}

static void shown(const char *s, size_t len, enum cli_text mode)
{
	char *out = cli_printable_dup(s, len, mode);
	safe(out, mode);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	shown((const char *)data, size, CLI_TEXT_LINE);
	shown((const char *)data, size, CLI_TEXT_JSON);
	json_error_t je;
	json_t *body = json_loadb((const char *)data, size, JSON_DECODE_ANY, &je);
	if (!body)
		return 0;
	/* an answer: written as report() writes it */
	char *s = json_dumps(body, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	if (s) {
		char *out = cli_printable_dup(s, strlen(s), CLI_TEXT_JSON);
		safe(out, CLI_TEXT_JSON);
		json_t *back = json_loads(out, JSON_DECODE_ANY, &je);
		FUZZ_CHECK(back && json_equal(back, body));
		json_decref(back);
		free(out);
		free(s);
	}
	/* a refusal: its message and field, each on one line */
	json_t *err = json_object_get(body, "error");
	const char *fields[] = {json_string_value(json_object_get(err, "message")),
				json_string_value(json_object_get(err, "field"))};
	for (size_t i = 0; i < ARRAY_LEN(fields); i++) {
		if (!fields[i])
			continue;
		char *line = cli_printable_dup(fields[i], strlen(fields[i]), CLI_TEXT_LINE);
		safe(line, CLI_TEXT_LINE);
		FUZZ_CHECK(!strchr(line, '\n'));
		free(line);
	}
	json_decref(body);
	return 0;
}
