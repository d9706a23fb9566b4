/*
 * test_common.c - the helpers of src/common that every boundary leans on:
 * strict whole numbers, times, text cut to a buffer at a character
 * boundary, errors that an answer can carry, and the JSON string writer of
 * the access log. Each case named "found by" was found by a fuzzer of
 * tests/fuzz and fails without its fix.
 */
#include "testsupport.h"

/* jansson takes it as a string: valid UTF-8 */
static bool is_text(const char *s)
{
	json_t *j = json_string(s);
	json_decref(j);
	return j != NULL;
}

static void test_whole_numbers(void **state)
{
	(void)state;
	int64_t v = 0;
	assert_true(str_to_i64("42", &v) && v == 42);
	assert_true(str_to_i64("-0", &v) && v == 0);
	assert_true(str_to_i64("-9223372036854775808", &v) && v == INT64_MIN);
	assert_true(str_to_i64("9223372036854775807", &v) && v == INT64_MAX);
	/* found by fuzz_text: strtoll skips any white space, so "\n5" was 5
	 * (an id in a path, /api/v1/records/%0A5) */
	static const char *const junk[] = {"\n5", "\v5", "\f5", "\r5", " 5", "\t5", "+5", "5 ",
					   "5\n", "", "-", "0x10", "9223372036854775808",
					   "1e3", "- 5"};
	for (size_t i = 0; i < ARRAY_LEN(junk); i++)
		if (str_to_i64(junk[i], &v))
			fail_msg("\"%s\" accepted as a whole number", junk[i]);
	assert_false(str_to_i64(NULL, &v));
}

static void test_times(void **state)
{
	(void)state;
	int64_t t = 0;
	assert_int_equal(time_parse("2026-12-02", &t), ST_OK);
	assert_int_equal(t, 1796169600);
	assert_int_equal(time_parse("2026-12-02T10:33:42.5Z", &t), ST_OK);
	assert_int_equal(time_parse("2024-02-29", &t), ST_OK);
	assert_int_equal(time_parse("2026-02-29", &t), ST_EINVAL);
	assert_int_equal(time_parse("2026-12-02T10:33:42", &t), ST_EINVAL);
	/* the last second Steward writes (time_format) and reads back; a leap
	 * second after it was the year 10000, written back as a time
	 * time_parse refuses (found writing fuzz_text's round trip) */
	assert_int_equal(time_parse("9999-12-31T23:59:59Z", &t), ST_OK);
	char out[32];
	time_format(t, out);
	assert_string_equal(out, "9999-12-31T23:59:59Z");
	assert_int_equal(time_parse("9999-12-31T23:59:60Z", &t), ST_EINVAL);
	assert_int_equal(time_parse("2016-12-31T23:59:60Z", &t), ST_OK);
	time_format(t, out);
	assert_string_equal(out, "2017-01-01T00:00:00Z");
}

/* A copy or a message cut to its buffer ends before a character that did
 * not fit whole (fuzz_rules found the cut in explanations; errors cut the
 * same way field paths and messages that name something long, which an
 * answer then carried without them: jansson takes no half characters). */
static void test_cut_text(void **state)
{
	(void)state;
	char dst[6];
	/* "abcd" then é (c3 a9): 5 bytes fit, the é would be cut in two */
	assert_int_equal(str_copy(dst, sizeof(dst), "abcd\xc3\xa9"), ST_EINVAL);
	assert_string_equal(dst, "abcd");
	assert_int_equal(str_copy(dst, sizeof(dst), "ab\xe2\x98\x83\xe2\x98\x83"), ST_EINVAL);
	assert_string_equal(dst, "ab\xe2\x98\x83");
	assert_int_equal(str_copy(dst, sizeof(dst), "a\xf0\x9f\x98\x80"), ST_OK);

	char s[32] = "tail \xe2\x98";
	str_utf8_repair(s);
	assert_string_equal(s, "tail ");
	str_copy(s, sizeof(s), "mid\xc3(dle \xed\xa0\x80 ok \xc3\xa9");
	str_utf8_repair(s);
	assert_string_equal(s, "mid?(dle ??? ok \xc3\xa9");

	/* an error's field and message: a long name of non-ASCII letters */
	struct buf name = BUF_INIT;
	for (int i = 0; i < 200; i++)
		buf_puts(&name, "\xc3\xa9");
	for (int shift = 0; shift < 2; shift++) {
		struct st_error e = {0};
		const char *n = name.data + shift; /* odd and even cut places */
		err_setc(&e, ST_EINVAL, "bad_name", n, "field name \"%s\" is too long", n);
		assert_true(is_text(e.field));
		assert_true(is_text(e.message));
		assert_true(strlen(e.field) >= sizeof(e.field) - 4);
	}
	/* a path built in a buffer, cut there, then named in a message */
	struct st_error e = {0};
	const char *keep[] = {"x", NULL};
	json_t *o = json_object();
	json_object_set_new(o, name.data, json_true());
	assert_int_equal(json_only_keys(o, keep, "categories.health.fields", &e), ST_EINVAL);
	assert_true(is_text(e.field));
	assert_true(is_text(e.message));
	assert_int_equal(json_get_str(o, name.data, true, 10, &(const char *){NULL},
				      "categories.health.fields", &e),
			 ST_EINVAL);
	assert_true(is_text(e.field));
	assert_true(is_text(e.message));
	json_decref(o);
	buf_release(&name);
}

/* Found by fuzz_text: the access log writes its entries with
 * buf_json_string; text that is not UTF-8 made an entry that is not JSON
 * (see test_audit.c, test_text_in_events, for what that broke). */
static void test_json_strings(void **state)
{
	(void)state;
	static const char *const texts[] = {
		"plain", "quote \" backslash \\ tab \t nl \n ctl \x01 del \x7f",
		"caf\xc3\xa9 \xe2\x98\x83 \xf0\x9f\x98\x80",
		"caf\xe9", "\xc3(", "\xed\xa0\x80 surrogate", "\xf4\x90\x80\x80 too high",
		"\xc0\xaf overlong", "cut \xe2\x98", "\xff\xfe",
	};
	for (size_t i = 0; i < ARRAY_LEN(texts); i++) {
		struct buf b = BUF_INIT;
		buf_json_string(&b, texts[i]);
		json_error_t je;
		json_t *j = json_loadb(b.data, b.len, JSON_DECODE_ANY, &je);
		if (!j || !json_is_string(j))
			fail_msg("not a JSON string for text %zu: %s", i, b.data);
		if (is_text(texts[i]))
			assert_string_equal(json_string_value(j), texts[i]);
		else
			assert_non_null(strstr(json_string_value(j), "\xef\xbf\xbd"));
		json_decref(j);
		buf_release(&b);
	}
	struct buf b = BUF_INIT;
	buf_json_string(&b, "caf\xe9!");
	assert_string_equal(b.data, "\"caf\\ufffd!\"");
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_numbers),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_cut_text),
		cmocka_unit_test(test_json_strings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
