/*
 * fuzz_inventory.c - a data inventory document, as `PUT /api/v1/inventory`,
 * `steward policy check --inventory` and every open of a data directory
 * parse one (inventory_parse, src/inventory/inventory.c). The input is the
 * document. One that parses is then used as an install uses it
 * (src/access/rules_admin.c): the current rules (the shipped
 * data/policy.json) are compiled against it, and each category checks a
 * record's fields.
 *
 * Properties: a refusal names the key at fault in text an answer can
 * carry; an inventory accepted has 1 to 64 categories of 1 to 64 fields,
 * with lower-case names, each category at its own index; its document
 * written out and parsed again is accepted again, the same.
 */
#include "fuzz.h"
#include "core/defaults.h"
#include "policy/policy.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	return 0;
}

static bool lower_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 48 || s[0] < 'a' || s[0] > 'z')
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

static void accepted(struct inventory *inv)
{
	FUZZ_CHECK(inv->ncats >= 1 && inv->ncats <= INV_MAX_CATEGORIES);
	for (size_t i = 0; i < inv->ncats; i++) {
		const struct inv_category *c = &inv->cats[i];
		FUZZ_CHECK(c->index == (int)i && lower_name(c->name));
		FUZZ_CHECK(inventory_category(inv, c->name) == c);
		FUZZ_CHECK(c->nfields >= 1 && c->nfields <= INV_MAX_FIELDS);
		for (size_t f = 0; f < c->nfields; f++) {
			FUZZ_CHECK(lower_name(c->fields[f].name));
			FUZZ_CHECK(c->fields[f].max_length >= 1);
			FUZZ_CHECK(c->fields[f].pi != PI_SSN || c->classification != CLASS_DIRECTORY);
		}
		/* an empty record: refused (a field is needed), naming why */
		json_t *none = json_object();
		struct st_error e = {0};
		int rc = inventory_check_fields(c, none, false, &e);
		fuzz_check_refusal(rc, &e);
		json_decref(none);
	}
	char *text = json_dumps(inv->doc, JSON_COMPACT);
	struct inventory *again = NULL;
	struct st_error e = {0};
	FUZZ_CHECK(inventory_parse(text, strlen(text), &again, &e) == ST_OK);
	FUZZ_CHECK(again->ncats == inv->ncats);
	inventory_unref(again);
	free(text);

	/* the rules in force, compiled against it as an install does */
	struct policy *p = NULL;
	memset(&e, 0, sizeof(e));
	int rc = policy_parse((const char *)default_policy, default_policy_len, inv, &p, &e);
	if (rc != ST_OK) {
		fuzz_check_refusal(rc, &e);
		return;
	}
	json_decref(policy_lint(p));
	policy_unref(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct inventory *inv = NULL;
	struct st_error e = {0};
	int rc = inventory_parse((const char *)data, size, &inv, &e);
	if (rc != ST_OK) {
		fuzz_check_refusal(rc, &e);
		return 0;
	}
	accepted(inv);
	inventory_unref(inv);
	return 0;
}
