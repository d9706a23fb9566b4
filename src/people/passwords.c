/*
 * passwords.c - NIST SP 800-63B password rules: a minimum length and no
 * composition rules, but refusing passwords that are known to be common or
 * breached (data/common-passwords.txt, compiled in), trivially patterned
 * (one character repeated, a run of digits or letters, a keyboard row), or
 * made of the username.
 */
#include "core/defaults.h"
#include "people/people.h"

static bool in_list(const char *candidate)
{
	const char *p = (const char *)common_passwords;
	size_t n = strlen(candidate);
	while (*p) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len && p[0] != '#' && len == n && memcmp(p, candidate, n) == 0)
			return true;
		if (!end)
			break;
		p = end + 1;
	}
	return false;
}

static bool trivial_pattern(const char *s)
{
	size_t n = strlen(s);
	bool same = true, up = true, down = true;
	for (size_t i = 1; i < n; i++) {
		same &= s[i] == s[0];
		up &= s[i] == s[i - 1] + 1;
		down &= s[i] == s[i - 1] - 1;
	}
	if (same || up || down)
		return true;
	static const char *const rows[] = {"qwertyuiopasdfghjklzxcvbnm", "1234567890",
					   "qazwsxedcrfvtgbyhnujmikolp"};
	for (size_t r = 0; r < ARRAY_LEN(rows); r++) {
		/* the password walks along a keyboard row */
		if (strstr(rows[r], s))
			return true;
	}
	return false;
}

bool password_is_common(const char *password)
{
	size_t n = strlen(password);
	char *low = xmalloc(n + 1);
	for (size_t i = 0; i <= n; i++)
		low[i] = (char)(password[i] >= 'A' && password[i] <= 'Z' ? password[i] + 32
									  : password[i]);
	bool bad = in_list(low) || trivial_pattern(low);
	char *keep = low; /* freed below */
	/* a common stem followed only by digits and punctuation */
	size_t stem = n;
	while (stem > 0 && strchr("0123456789!@#$%^&*()-_=+.,?~ ", low[stem - 1]))
		stem--;
	if (!bad && stem >= 4 && stem < n) {
		char saved = low[stem];
		low[stem] = '\0';
		bad = in_list(low) || trivial_pattern(low);
		low[stem] = saved;
	}
	/* or digits alone */
	if (!bad && stem == 0)
		bad = true;
	secure_free_plain(keep, n + 1);
	return bad;
}
