/*
 * fuzz_record_fields.c - a record's fields as a request brings them, from
 * the check against the data inventory to the answer that serves them. The
 * input is a record body ({"category": ..., "fields": {...}}). The fields
 * go through inventory_check_fields (src/inventory), as record_create and
 * record_update call it; those it accepts are sealed as json_canonical
 * writes them, and served (src/records/record.c) by reading their keys for
 * the log (record_canonical_keys) and writing them as ASCII JSON
 * (record_json_ascii), or masked (src/policy/mask.c) when a rule says so.
 *
 * Properties: a refusal names the field in text an answer can carry; the
 * keys read from the sealed text are the ones json_key_list logs; the
 * ASCII answer is ASCII and parses back to the same fields; every mask of
 * every accepted value gives a value, and mask_fields puts it in place.
 */
#include "fuzz.h"
#include "core/context.h"
#include "core/defaults.h"
#include "records/records_internal.h"

static struct inventory *inv;
static unsigned char hash_key[KEY_BYTES];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	struct st_error e = {0};
	if (crypto_setup(&e) != ST_OK ||
	    inventory_parse((const char *)default_inventory, default_inventory_len, &inv, &e))
		die("fuzz_record_fields: %s", e.message);
	random_bytes(hash_key, sizeof(hash_key));
	return 0;
}

/* What a read serves when no rule masks anything. */
static void served_verbatim(const json_t *fields)
{
	char *canon = json_canonical(fields);
	size_t len = strlen(canon);
	struct buf keys = BUF_INIT;
	/* inventory field names never need an escape: always read in place */
	FUZZ_CHECK(record_canonical_keys(canon, len, &keys));
	char *list = json_key_list(fields);
	FUZZ_CHECK(str_eq(keys.data ? keys.data : "", list));
	free(list);
	buf_release(&keys);

	struct buf out = BUF_INIT;
	record_json_ascii(&out, canon, len);
	for (size_t i = 0; i < out.len; i++)
		FUZZ_CHECK((unsigned char)out.data[i] < 0x80);
	json_error_t je;
	json_t *back = json_loadb(out.data, out.len, 0, &je);
	FUZZ_CHECK(back && json_equal(back, fields));
	json_decref(back);
	buf_release(&out);
	free(canon);
}

/* What a read serves under a rule that masks every field, each with the
 * kind the input chose. */
static void served_masked(const json_t *fields, uint8_t choice)
{
	struct rule rule = {.id = "fuzz"};
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)fields, key, v) {
		for (int k = MASK_REDACT; k <= MASK_YEAR; k++) {
			json_t *m = mask_value((enum mask_kind)k, v, hash_key);
			FUZZ_CHECK(m != NULL);
			json_decref(m);
		}
		if (rule.nmasks < RULE_MAX_MASKS)
			rule.masks[rule.nmasks++] = (struct mask_rule){
				key, (enum mask_kind)(MASK_REDACT + (choice + rule.nmasks) % 5)};
	}
	json_t *copy = json_deep_copy(fields);
	struct buf masked = BUF_INIT;
	mask_fields(&rule, copy, hash_key, &masked);
	for (int i = 0; i < rule.nmasks; i++) {
		json_t *want = mask_value(rule.masks[i].kind,
					  json_object_get(fields, rule.masks[i].field), hash_key);
		FUZZ_CHECK(json_equal(json_object_get(copy, rule.masks[i].field), want));
		json_decref(want);
	}
	buf_release(&masked);
	json_decref(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st_error e = {0};
	json_t *b = NULL;
	if (json_parse_object((const char *)data, size, &b, &e) != ST_OK)
		return 0;
	const char *category = NULL;
	const struct inv_category *cat = NULL;
	if (json_get_str(b, "category", true, 64, &category, "", &e) == ST_OK)
		cat = inventory_category(inv, category);
	json_t *fields = json_object_get(b, "fields");
	if (!cat) {
		json_decref(b);
		return 0;
	}
	for (int partial = 0; partial < 2; partial++) {
		memset(&e, 0, sizeof(e));
		int rc = inventory_check_fields(cat, fields, partial, &e);
		if (rc != ST_OK) {
			fuzz_check_refusal(rc, &e);
			continue;
		}
		if (partial)
			continue;
		served_verbatim(fields);
		served_masked(fields, size ? data[size - 1] : 0);
	}
	json_decref(b);
	return 0;
}
