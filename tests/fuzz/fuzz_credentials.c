/*
 * fuzz_credentials.c - the sign-in name and the password a person chooses,
 * as user creation and a password change check them (src/people:
 * username_valid, password_check_policy, password_is_common over the
 * compiled-in list of common passwords). The input is a username, a
 * newline, then the password (which may hold more newlines).
 *
 * Properties: a username accepted is 1 to 64 of a-z 0-9 . _ - @, starting
 * with a letter or a digit; a password accepted is clean UTF-8 without a
 * newline, of at least 12 characters and at most 256 bytes, does not
 * contain the username (in any case) and is not common; a refusal names
 * the field in text an answer can carry.
 */
#include "fuzz.h"
#include "people/people.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	return 0;
}

static size_t characters(const char *s)
{
	size_t n = 0;
	for (size_t i = 0, len = strlen(s); i < len;) {
		size_t k = str_utf8_sequence(s + i, len - i);
		FUZZ_CHECK(k > 0);
		i += k;
		n++;
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size);
	char *nl = strchr(text, '\n');
	const char *username = "", *password = text;
	if (nl) {
		*nl = '\0';
		username = text;
		password = nl + 1;
	}
	if (username_valid(username)) {
		size_t n = strlen(username);
		FUZZ_CHECK(n >= 1 && n <= 64);
		FUZZ_CHECK(strspn(username, "abcdefghijklmnopqrstuvwxyz0123456789._-@") == n);
		FUZZ_CHECK(strchr("abcdefghijklmnopqrstuvwxyz0123456789", username[0]));
	}
	struct st_error e = {0};
	int rc = password_check_policy(password, username, "new_password", &e);
	if (rc != ST_OK) {
		fuzz_check_refusal(rc, &e);
		FUZZ_CHECK(str_eq(e.field, "new_password"));
	} else {
		size_t len = strlen(password);
		FUZZ_CHECK(str_is_clean_utf8(password, len) && !strchr(password, '\n'));
		FUZZ_CHECK(characters(password) >= 12 && len <= 256);
		FUZZ_CHECK(!*username || !strcasestr(password, username));
		FUZZ_CHECK(!password_is_common(password));
	}
	free(text);
	return 0;
}
