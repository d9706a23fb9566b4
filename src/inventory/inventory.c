/*
 * inventory.c - parsing, validation and field checking of the data
 * inventory. The parser is strict: unknown keys, missing purposes or legal
 * bases, an SSN field without its Privacy Act notice, or an SSN in the
 * directory category are all refused with the path of the key at fault.
 */
#include <stdatomic.h>

#include "inventory/inventory.h"

static const char *const kind_names[SUBJECT_KIND_COUNT] = {
	"student", "parent_guardian", "employee", "applicant", "other"};

const char *subject_kind_name(enum subject_kind k)
{
	return (unsigned)k < SUBJECT_KIND_COUNT ? kind_names[k] : "unknown";
}

int subject_kind_parse(const char *s, enum subject_kind *out)
{
	for (int i = 0; i < SUBJECT_KIND_COUNT; i++)
		if (str_eq(s, kind_names[i])) {
			*out = (enum subject_kind)i;
			return ST_OK;
		}
	return ST_EINVAL;
}

static const char *const subject_field_names[SF_COUNT] = {
	"external_id", "given_name", "family_name", "date_of_birth", "organization"};

const char *subject_field_name(enum subject_field f)
{
	return (unsigned)f < SF_COUNT ? subject_field_names[f] : "unknown";
}

int subject_field_parse(const char *s, enum subject_field *out)
{
	for (int i = 0; s && i < SF_COUNT; i++)
		if (str_eq(s, subject_field_names[i])) {
			*out = (enum subject_field)i;
			return ST_OK;
		}
	return ST_EINVAL;
}

bool inventory_subject_field(const struct inv_category *cat, const char *name)
{
	enum subject_field f;
	return subject_field_parse(name, &f) == ST_OK && (cat->subject_fields >> f & 1);
}

static const char *const class_names[] = {"directory", "internal", "confidential",
					   "restricted"};

const char *classification_name(enum classification c)
{
	return (unsigned)c < ARRAY_LEN(class_names) ? class_names[c] : "unknown";
}

int classification_parse(const char *s, enum classification *out)
{
	for (size_t i = 0; i < ARRAY_LEN(class_names); i++)
		if (str_eq(s, class_names[i])) {
			*out = (enum classification)i;
			return ST_OK;
		}
	return ST_EINVAL;
}

static const char *const pi_names[] = {"none", "ssn", "government_id",
				       "financial_account", "medical", "health_insurance"};

const char *pi_kind_name(enum pi_kind k)
{
	return (unsigned)k < ARRAY_LEN(pi_names) ? pi_names[k] : "unknown";
}

static const char *const type_names[] = {"string", "text", "integer", "number",
					 "boolean", "date", "ssn", "enum"};

const char *field_type_name(enum field_type t)
{
	return (unsigned)t < ARRAY_LEN(type_names) ? type_names[t] : "unknown";
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 48 || !(s[0] >= 'a' && s[0] <= 'z'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '_'))
			return false;
	return true;
}

static int parse_field(const char *cpath, const char *name, json_t *f,
		       struct inv_field *out, enum classification cls, struct st_error *e)
{
	char path[400];
	snprintf(path, sizeof(path), "%s.fields.%s", cpath, name);
	if (!valid_name(name))
		return err_setc(e, ST_EINVAL, "bad_name", path,
				"field name \"%s\" must be lower-case letters, digits and _",
				name);
	if (!json_is_object(f))
		return err_setc(e, ST_EINVAL, "wrong_type", path, "\"%s\" must be an object",
				path);
	static const char *const keys[] = {"type", "required", "max_length", "purpose",
					   "legal_basis", "personal_information",
					   "values", "privacy_act_notice", "note", NULL};
	int rc = json_only_keys(f, keys, path, e);
	if (rc != ST_OK)
		return rc;
	const char *type = NULL, *pi = NULL;
	if ((rc = json_get_str(f, "type", true, 16, &type, path, e)) ||
	    (rc = json_get_str(f, "purpose", true, 1000, &out->purpose, path, e)) ||
	    (rc = json_get_str(f, "legal_basis", true, 1000, &out->legal_basis, path, e)) ||
	    (rc = json_get_bool(f, "required", false, &out->required, path, e)) ||
	    (rc = json_get_str(f, "personal_information", false, 32, &pi, path, e)))
		return rc;
	out->name = name;
	bool found = false;
	for (size_t i = 0; i < ARRAY_LEN(type_names); i++)
		if (str_eq(type, type_names[i])) {
			out->type = (enum field_type)i;
			found = true;
		}
	char sub[440];
	snprintf(sub, sizeof(sub), "%s.type", path);
	if (!found)
		return err_setc(e, ST_EINVAL, "bad_value", sub,
				"unknown field type \"%s\" (one of string, text, integer, "
				"number, boolean, date, ssn, enum)",
				type);
	out->max_length = out->type == FT_TEXT ? 20000 : 1000;
	int64_t ml = 0;
	if ((rc = json_get_int(f, "max_length", false, &ml, path, e)))
		return rc;
	if (json_object_get(f, "max_length")) {
		snprintf(sub, sizeof(sub), "%s.max_length", path);
		if (ml < 1 || ml > 1000000)
			return err_setc(e, ST_EINVAL, "bad_value", sub,
					"max_length must be between 1 and 1000000");
		out->max_length = (size_t)ml;
	}
	out->pi = PI_NONE;
	if (pi) {
		found = false;
		for (size_t i = 1; i < ARRAY_LEN(pi_names); i++)
			if (str_eq(pi, pi_names[i])) {
				out->pi = (enum pi_kind)i;
				found = true;
			}
		snprintf(sub, sizeof(sub), "%s.personal_information", path);
		if (!found)
			return err_setc(e, ST_EINVAL, "bad_value", sub,
					"personal_information must be one of ssn, "
					"government_id, financial_account, medical, "
					"health_insurance");
	}
	if (out->type == FT_SSN && out->pi != PI_SSN)
		out->pi = PI_SSN;
	json_t *values = json_object_get(f, "values");
	if (out->type == FT_ENUM) {
		snprintf(sub, sizeof(sub), "%s.values", path);
		if (!json_is_array(values) || json_array_size(values) == 0)
			return err_setc(e, ST_EINVAL, "missing_field", sub,
					"an enum field needs a non-empty \"values\" list");
		size_t i;
		json_t *v;
		json_array_foreach(values, i, v) if (!json_is_string(v)) return err_setc(
			e, ST_EINVAL, "wrong_type", sub, "\"values\" must list strings");
		out->values = values;
	} else if (values) {
		snprintf(sub, sizeof(sub), "%s.values", path);
		return err_setc(e, ST_EINVAL, "bad_value", sub,
				"\"values\" applies only to enum fields");
	}
	json_t *notice = json_object_get(f, "privacy_act_notice");
	snprintf(sub, sizeof(sub), "%s.privacy_act_notice", path);
	if (out->pi == PI_SSN) {
		if (cls == CLASS_DIRECTORY)
			return err_setc(e, ST_EINVAL, "ssn_in_directory", path,
					"a Social Security number is never directory "
					"information (34 CFR 99.3)");
		if (!json_is_object(notice))
			return err_setc(e, ST_EINVAL, "missing_field", sub,
					"an SSN field needs its Privacy Act section 7 notice: "
					"{\"mandatory\", \"authority\", \"use\"}");
		static const char *const nkeys[] = {"mandatory", "authority", "use", NULL};
		bool mand;
		const char *s;
		if ((rc = json_only_keys(notice, nkeys, sub, e)) ||
		    (rc = json_get_bool(notice, "mandatory", true, &mand, sub, e)) ||
		    (rc = json_get_str(notice, "authority", true, 2000, &s, sub, e)) ||
		    (rc = json_get_str(notice, "use", true, 2000, &s, sub, e)))
			return rc;
		out->privacy_act_notice = notice;
	} else if (notice) {
		return err_setc(e, ST_EINVAL, "bad_value", sub,
				"a Privacy Act notice applies only to SSN fields");
	}
	return ST_OK;
}

static int parse_category(const char *name, json_t *c, struct inv_category *out,
			  struct st_error *e)
{
	char path[160];
	snprintf(path, sizeof(path), "categories.%s", name);
	if (!valid_name(name))
		return err_setc(e, ST_EINVAL, "bad_name", path,
				"category name \"%s\" must be lower-case letters, digits and _",
				name);
	if (!json_is_object(c))
		return err_setc(e, ST_EINVAL, "wrong_type", path, "\"%s\" must be an object",
				path);
	static const char *const keys[] = {"title",       "classification", "subject_kinds",
					   "series",      "description",    "fields",
					   "subject_fields", NULL};
	int rc = json_only_keys(c, keys, path, e);
	if (rc != ST_OK)
		return rc;
	const char *cls = NULL, *desc = NULL;
	out->series = NULL;
	if ((rc = json_get_str(c, "title", true, 200, &out->title, path, e)) ||
	    (rc = json_get_str(c, "classification", true, 32, &cls, path, e)) ||
	    (rc = json_get_str(c, "series", false, 64, &out->series, path, e)) ||
	    (rc = json_get_str(c, "description", false, 4000, &desc, path, e)))
		return rc;
	char sub[200];
	snprintf(sub, sizeof(sub), "%s.classification", path);
	if (classification_parse(cls, &out->classification) != ST_OK)
		return err_setc(e, ST_EINVAL, "bad_value", sub,
				"classification must be directory, internal, confidential "
				"or restricted");
	json_t *kinds = json_object_get(c, "subject_kinds");
	snprintf(sub, sizeof(sub), "%s.subject_kinds", path);
	if (!json_is_array(kinds) || json_array_size(kinds) == 0)
		return err_setc(e, ST_EINVAL, "missing_field", sub,
				"\"subject_kinds\" must list who the records are about "
				"(student, parent_guardian, employee, applicant, other)");
	out->subject_kinds = 0;
	size_t i;
	json_t *k;
	json_array_foreach(kinds, i, k) {
		enum subject_kind sk;
		if (!json_is_string(k) || subject_kind_parse(json_string_value(k), &sk))
			return err_setc(e, ST_EINVAL, "bad_value", sub,
					"unknown subject kind in \"subject_kinds\"");
		out->subject_kinds |= 1u << sk;
	}
	/* which of the subject's identifying fields its readers see: none
	 * unless declared (deny by default) */
	json_t *sfields = json_object_get(c, "subject_fields");
	snprintf(sub, sizeof(sub), "%s.subject_fields", path);
	out->subject_fields = 0;
	if (sfields && !json_is_array(sfields))
		return err_setc(e, ST_EINVAL, "wrong_type", sub,
				"\"subject_fields\" must list identifying fields of the subject "
				"(external_id, given_name, family_name, date_of_birth, "
				"organization)");
	json_array_foreach(sfields, i, k) {
		enum subject_field sf;
		if (!json_is_string(k) || subject_field_parse(json_string_value(k), &sf))
			return err_setc(e, ST_EINVAL, "bad_value", sub,
					"unknown identifying field in \"subject_fields\" (external_id, "
					"given_name, family_name, date_of_birth, organization)");
		if (out->subject_fields >> sf & 1)
			return err_setc(e, ST_EINVAL, "bad_value", sub,
					"\"%s\" is listed twice", subject_field_name(sf));
		out->subject_fields |= 1u << sf;
	}
	json_t *fields = json_object_get(c, "fields");
	snprintf(sub, sizeof(sub), "%s.fields", path);
	if (!json_is_object(fields) || json_object_size(fields) == 0)
		return err_setc(e, ST_EINVAL, "missing_field", sub,
				"a category must declare at least one field");
	if (json_object_size(fields) > INV_MAX_FIELDS)
		return err_setc(e, ST_EINVAL, "too_many", sub,
				"a category may declare at most %d fields", INV_MAX_FIELDS);
	out->name = name;
	out->nfields = 0;
	const char *fname;
	json_t *f;
	json_object_foreach(fields, fname, f) {
		rc = parse_field(path, fname, f, &out->fields[out->nfields],
				 out->classification, e);
		if (rc != ST_OK)
			return rc;
		out->nfields++;
	}
	return ST_OK;
}

int inventory_parse(const char *text, size_t len, struct inventory **out,
		    struct st_error *e)
{
	json_t *doc = NULL;
	int rc = json_parse_object(text, len, &doc, e);
	if (rc != ST_OK)
		return rc;
	struct inventory *inv = xcalloc(1, sizeof(*inv));
	inv->doc = doc;
	inv->refs = 1;
	static const char *const keys[] = {"format", "title", "note", "categories", NULL};
	const char *format = NULL, *s = NULL;
	if ((rc = json_only_keys(doc, keys, "", e)) ||
	    (rc = json_get_str(doc, "format", true, 64, &format, "", e)) ||
	    (rc = json_get_str(doc, "title", false, 200, &s, "", e)) ||
	    (rc = json_get_str(doc, "note", false, 4000, &s, "", e)))
		goto fail;
	if (!str_eq(format, "steward-inventory/1")) {
		rc = err_setc(e, ST_EINVAL, "bad_value", "format",
			      "format must be \"steward-inventory/1\"");
		goto fail;
	}
	json_t *cats = json_object_get(doc, "categories");
	if (!json_is_object(cats) || json_object_size(cats) == 0) {
		rc = err_setc(e, ST_EINVAL, "missing_field", "categories",
			      "\"categories\" must declare at least one category");
		goto fail;
	}
	if (json_object_size(cats) > INV_MAX_CATEGORIES) {
		rc = err_setc(e, ST_EINVAL, "too_many", "categories",
			      "at most %d categories", INV_MAX_CATEGORIES);
		goto fail;
	}
	const char *name;
	json_t *c;
	json_object_foreach(cats, name, c) {
		rc = parse_category(name, c, &inv->cats[inv->ncats], e);
		if (rc != ST_OK)
			goto fail;
		inv->cats[inv->ncats].index = (int)inv->ncats;
		inv->ncats++;
	}
	*out = inv;
	return ST_OK;
fail:
	json_decref(doc);
	free(inv);
	return rc;
}

struct inventory *inventory_ref(struct inventory *inv)
{
	__atomic_add_fetch(&inv->refs, 1, __ATOMIC_RELAXED);
	return inv;
}

void inventory_unref(struct inventory *inv)
{
	if (inv && __atomic_sub_fetch(&inv->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		json_decref(inv->doc);
		free(inv);
	}
}

const struct inv_category *inventory_category(const struct inventory *inv,
					      const char *name)
{
	for (size_t i = 0; i < inv->ncats; i++)
		if (str_eq(inv->cats[i].name, name))
			return &inv->cats[i];
	return NULL;
}

const struct inv_field *inventory_field(const struct inv_category *cat, const char *name)
{
	for (size_t i = 0; i < cat->nfields; i++)
		if (str_eq(cat->fields[i].name, name))
			return &cat->fields[i];
	return NULL;
}

static bool valid_ssn(const char *s)
{
	/* ###-##-####, excluding numbers the SSA never issues. */
	if (strlen(s) != 11 || s[3] != '-' || s[6] != '-')
		return false;
	for (int i = 0; i < 11; i++)
		if (i != 3 && i != 6 && (s[i] < '0' || s[i] > '9'))
			return false;
	if (!strncmp(s, "000", 3) || !strncmp(s, "666", 3) || s[0] == '9' ||
	    !strncmp(s + 4, "00", 2) || !strncmp(s + 7, "0000", 4))
		return false;
	return true;
}

static int check_value(const struct inv_category *cat, const struct inv_field *f,
		       json_t *v, struct st_error *e)
{
	char path[160];
	snprintf(path, sizeof(path), "fields.%s", f->name);
	switch (f->type) {
	case FT_STRING:
	case FT_TEXT: {
		if (!json_is_string(v))
			return err_setc(e, ST_EINVAL, "wrong_type", path,
					"\"%s\" must be a string", path);
		size_t len = json_string_length(v);
		const char *s = json_string_value(v);
		if (strlen(s) != len ||
		    !str_is_clean_utf8(s, len) ||
		    (f->type == FT_STRING && (strchr(s, '\n') || strchr(s, '\r'))))
			return err_setc(e, ST_EINVAL, "bad_characters", path,
					"\"%s\" contains characters not allowed in a %s",
					path, field_type_name(f->type));
		if (len > f->max_length)
			return err_setc(e, ST_EINVAL, "too_long", path,
					"\"%s\" is longer than %zu characters", path,
					f->max_length);
		return ST_OK;
	}
	case FT_INTEGER:
		if (!json_is_integer(v))
			return err_setc(e, ST_EINVAL, "wrong_type", path,
					"\"%s\" must be an integer", path);
		return ST_OK;
	case FT_NUMBER:
		if (!json_is_number(v))
			return err_setc(e, ST_EINVAL, "wrong_type", path,
					"\"%s\" must be a number", path);
		return ST_OK;
	case FT_BOOLEAN:
		if (!json_is_boolean(v))
			return err_setc(e, ST_EINVAL, "wrong_type", path,
					"\"%s\" must be true or false", path);
		return ST_OK;
	case FT_DATE: {
		int64_t t;
		const char *s = json_string_value(v);
		if (!s || strlen(s) != 10 || time_parse(s, &t) != ST_OK)
			return err_setc(e, ST_EINVAL, "wrong_type", path,
					"\"%s\" must be a date written YYYY-MM-DD", path);
		return ST_OK;
	}
	case FT_SSN:
		if (!json_is_string(v) || !valid_ssn(json_string_value(v)))
			return err_setc(e, ST_EINVAL, "wrong_type", path,
					"\"%s\" must be a Social Security number written "
					"###-##-####",
					path);
		return ST_OK;
	case FT_ENUM: {
		if (json_is_string(v)) {
			size_t i;
			json_t *a;
			json_array_foreach(f->values, i, a) if (
				str_eq(json_string_value(a), json_string_value(v))) return ST_OK;
		}
		struct buf allowed = BUF_INIT;
		size_t i;
		json_t *a;
		json_array_foreach(f->values, i, a) {
			if (i)
				buf_puts(&allowed, ", ");
			buf_puts(&allowed, json_string_value(a));
		}
		err_setc(e, ST_EINVAL, "bad_value", path, "\"%s\" must be one of: %s", path,
			 allowed.data);
		buf_release(&allowed);
		return ST_EINVAL;
	}
	}
	(void)cat;
	return ST_EINTERNAL;
}

int inventory_check_fields(const struct inv_category *cat, const json_t *fields,
			   bool partial, struct st_error *e)
{
	if (!json_is_object(fields))
		return err_setc(e, ST_EINVAL, "wrong_type", "fields",
				"\"fields\" must be an object");
	if (!partial && json_object_size(fields) == 0)
		return err_setc(e, ST_EINVAL, "empty_field", "fields",
				"a record needs at least one field");
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)fields, key, v) {
		const struct inv_field *f = inventory_field(cat, key);
		char path[160];
		snprintf(path, sizeof(path), "fields.%s", key);
		if (!f)
			return err_setc(e, ST_EINVAL, "undeclared_field", path,
					"field \"%s\" is not declared for category \"%s\" in "
					"the data inventory",
					key, cat->name);
		if (json_is_null(v)) {
			if (!partial || f->required)
				return err_setc(e, ST_EINVAL, "missing_field", path,
						"\"%s\" must not be null", path);
			continue;
		}
		int rc = check_value(cat, f, v, e);
		if (rc != ST_OK)
			return rc;
	}
	if (!partial)
		for (size_t i = 0; i < cat->nfields; i++)
			if (cat->fields[i].required &&
			    !json_object_get(fields, cat->fields[i].name)) {
				char path[160];
				snprintf(path, sizeof(path), "fields.%s", cat->fields[i].name);
				return err_setc(e, ST_EINVAL, "missing_field", path,
						"\"%s\" is required for category \"%s\"", path,
						cat->name);
			}
	return ST_OK;
}
