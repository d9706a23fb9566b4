/*
 * test_inventory.c - the data inventory: the shipped default parses and
 * declares what the policy needs; malformed inventories are refused with
 * the path of the key at fault; record fields are checked by type.
 */
#include "testsupport.h"
#include "core/defaults.h"
#include "inventory/inventory.h"

static struct inventory *parse_ok(const char *text)
{
	struct inventory *inv = NULL;
	struct st_error e = {0};
	if (inventory_parse(text, strlen(text), &inv, &e) != ST_OK)
		fail_msg("inventory_parse: %s [%s]", e.message, e.field);
	return inv;
}

static void expect_refused(const char *text, const char *field, const char *code)
{
	struct inventory *inv = NULL;
	struct st_error e = {0};
	assert_int_equal(inventory_parse(text, strlen(text), &inv, &e), ST_EINVAL);
	assert_null(inv);
	assert_string_equal(e.field, field);
	if (code)
		assert_string_equal(e.code, code);
}

static void test_default_inventory(void **state)
{
	(void)state;
	struct inventory *inv = parse_ok((const char *)default_inventory);
	static const char *const required[] = {
		"directory", "academic", "attendance", "discipline", "health",
		"special_education", "child_abuse_report", "personnel", "payroll",
		"background_check"};
	for (size_t i = 0; i < ARRAY_LEN(required); i++)
		assert_non_null(inventory_category(inv, required[i]));
	assert_int_equal(inventory_category(inv, "child_abuse_report")->classification,
			 CLASS_RESTRICTED);
	assert_int_equal(inventory_category(inv, "special_education")->classification,
			 CLASS_RESTRICTED);
	assert_int_equal(inventory_category(inv, "directory")->classification, CLASS_DIRECTORY);
	/* every field has a purpose and a legal basis; SSNs carry the notice */
	size_t ssn_fields = 0;
	for (size_t i = 0; i < inv->ncats; i++)
		for (size_t j = 0; j < inv->cats[i].nfields; j++) {
			const struct inv_field *f = &inv->cats[i].fields[j];
			assert_true(strlen(f->purpose) > 0);
			assert_true(strlen(f->legal_basis) > 0);
			if (f->pi == PI_SSN) {
				ssn_fields++;
				assert_non_null(f->privacy_act_notice);
				assert_int_not_equal(inv->cats[i].classification, CLASS_DIRECTORY);
			}
		}
	assert_true(ssn_fields >= 1);
	const struct inv_field *f =
		inventory_field(inventory_category(inv, "health"), "insurance_member_id");
	assert_int_equal(f->pi, PI_HEALTH_INSURANCE);
	inventory_unref(inv);
}

#define HEAD "{\"format\":\"steward-inventory/1\",\"categories\":{\"c\":{\"title\":\"C\"," \
	     "\"classification\":\"confidential\",\"subject_kinds\":[\"student\"],"
static void test_malformed_inventories(void **state)
{
	(void)state;
	expect_refused("{\"format\":\"x\",\"categories\":{}}", "format", "bad_value");
	expect_refused("{\"format\":\"steward-inventory/1\",\"bogus\":1,\"categories\":{}}",
		       "bogus", "unknown_field");
	expect_refused(HEAD "\"fields\":{\"a\":{\"type\":\"string\",\"legal_basis\":\"x\"}}}}}",
		       "categories.c.fields.a.purpose", "missing_field");
	expect_refused(HEAD "\"fields\":{\"a\":{\"type\":\"blob\",\"purpose\":\"p\","
			    "\"legal_basis\":\"x\"}}}}}",
		       "categories.c.fields.a.type", "bad_value");
	expect_refused(HEAD "\"fields\":{\"a\":{\"type\":\"ssn\",\"purpose\":\"p\","
			    "\"legal_basis\":\"x\"}}}}}",
		       "categories.c.fields.a.privacy_act_notice", "missing_field");
	expect_refused("{\"format\":\"steward-inventory/1\",\"categories\":{\"d\":{\"title\":"
		       "\"D\",\"classification\":\"directory\",\"subject_kinds\":[\"student\"],"
		       "\"fields\":{\"s\":{\"type\":\"ssn\",\"purpose\":\"p\",\"legal_basis\":"
		       "\"x\",\"privacy_act_notice\":{\"mandatory\":false,\"authority\":\"a\","
		       "\"use\":\"u\"}}}}}}",
		       "categories.d.fields.s", "ssn_in_directory");
	expect_refused(HEAD "\"fields\":{\"a\":{\"type\":\"enum\",\"purpose\":\"p\","
			    "\"legal_basis\":\"x\"}}}}}",
		       "categories.c.fields.a.values", "missing_field");
	expect_refused(HEAD "\"fields\":{\"Bad Name\":{\"type\":\"string\",\"purpose\":\"p\","
			    "\"legal_basis\":\"x\"}}}}}",
		       "categories.c.fields.Bad Name", "bad_name");
	expect_refused("{\"format\":\"steward-inventory/1\",\"categories\":{\"c\":{\"title\":"
		       "\"C\",\"classification\":\"secret\",\"subject_kinds\":[\"student\"],"
		       "\"fields\":{}}}}",
		       "categories.c.classification", "bad_value");
	expect_refused("not json", "", "bad_json");
}

static void test_field_checks(void **state)
{
	(void)state;
	struct inventory *inv = parse_ok((const char *)default_inventory);
	const struct inv_category *payroll = inventory_category(inv, "payroll");
	const struct inv_category *att = inventory_category(inv, "attendance");
	struct {
		const struct inv_category *cat;
		const char *fields;
		bool partial;
		const char *field; /* NULL = accepted */
		const char *code;
	} cases[] = {
		{payroll, "{\"ssn\":\"123-45-6789\",\"annual_salary\":50000.5}", false, NULL, NULL},
		{payroll, "{\"ssn\":\"123-45-6789\",\"shoe_size\":9}", false, "fields.shoe_size",
		 "undeclared_field"},
		{payroll, "{\"ssn\":\"123456789\"}", false, "fields.ssn", "wrong_type"},
		{payroll, "{\"ssn\":\"000-12-3456\"}", false, "fields.ssn", "wrong_type"},
		{payroll, "{\"annual_salary\":1}", false, "fields.ssn", "missing_field"},
		{payroll, "{\"annual_salary\":1}", true, NULL, NULL},
		{payroll, "{\"ssn\":\"123-45-6789\",\"withholding_allowances\":1.5}", false,
		 "fields.withholding_allowances", "wrong_type"},
		{payroll, "{\"ssn\":\"123-45-6789\",\"annual_salary\":\"lots\"}", false,
		 "fields.annual_salary", "wrong_type"},
		{att, "{\"date\":\"2026-02-30\",\"status\":\"present\"}", false, "fields.date",
		 "wrong_type"},
		{att, "{\"date\":\"2026-02-28\",\"status\":\"asleep\"}", false, "fields.status",
		 "bad_value"},
		{att, "{\"date\":\"2026-02-28\",\"status\":\"tardy\",\"reason\":\"a\\nb\"}", false,
		 "fields.reason", "bad_characters"},
		{att, "{\"date\":\"2026-02-28\",\"status\":\"tardy\"}", false, NULL, NULL},
		{att, "{\"date\":null}", true, "fields.date", "missing_field"},
		{att, "{}", false, "fields", "empty_field"},
		{att, "[]", false, "fields", "wrong_type"},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		json_error_t je;
		json_t *f = json_loads(cases[i].fields, JSON_DECODE_ANY, &je);
		assert_non_null(f);
		struct st_error e = {0};
		int rc = inventory_check_fields(cases[i].cat, f, cases[i].partial, &e);
		if (!cases[i].field) {
			if (rc != ST_OK)
				fail_msg("case %zu refused: %s", i, e.message);
		} else {
			if (rc != ST_EINVAL)
				fail_msg("case %zu accepted", i);
			assert_string_equal(e.field, cases[i].field);
			assert_string_equal(e.code, cases[i].code);
		}
		json_decref(f);
	}
	inventory_unref(inv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_inventory),
		cmocka_unit_test(test_malformed_inventories),
		cmocka_unit_test(test_field_checks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
