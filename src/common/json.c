/*
 * json.c - validation helpers over jansson used at every boundary (files,
 * HTTP bodies): unknown keys are refused, types are checked, and each error
 * names the offending field with its full path.
 */
#include "common/base.h"

static void field_path(char *out, size_t size, const char *prefix, const char *key)
{
	if (prefix && *prefix)
		snprintf(out, size, "%s.%s", prefix, key);
	else
		snprintf(out, size, "%s", key);
}

int json_only_keys(const json_t *obj, const char *const allowed[],
		   const char *prefix, struct st_error *e)
{
	const char *key;
	json_t *val;
	json_object_foreach((json_t *)obj, key, val) {
		bool ok = false;
		for (size_t i = 0; allowed[i]; i++)
			if (str_eq(key, allowed[i])) {
				ok = true;
				break;
			}
		if (!ok) {
			char path[160];
			field_path(path, sizeof(path), prefix, key);
			return err_setc(e, ST_EINVAL, "unknown_field", path,
					"unknown field \"%s\"", path);
		}
	}
	return ST_OK;
}

static int missing(const char *prefix, const char *key, struct st_error *e)
{
	char path[160];
	field_path(path, sizeof(path), prefix, key);
	return err_setc(e, ST_EINVAL, "missing_field", path, "\"%s\" is required", path);
}

static int wrong_type(const char *prefix, const char *key, const char *want,
		      struct st_error *e)
{
	char path[160];
	field_path(path, sizeof(path), prefix, key);
	return err_setc(e, ST_EINVAL, "wrong_type", path, "\"%s\" must be %s", path, want);
}

int json_get_str(const json_t *obj, const char *key, bool required, size_t maxlen,
		 const char **out, const char *prefix, struct st_error *e)
{
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v))
		return required ? missing(prefix, key, e) : ST_OK;
	if (!json_is_string(v))
		return wrong_type(prefix, key, "a string", e);
	size_t len = json_string_length(v);
	const char *s = json_string_value(v);
	if (len > maxlen || strlen(s) != len || !str_is_clean_utf8(s, len)) {
		char path[160];
		field_path(path, sizeof(path), prefix, key);
		if (len > maxlen)
			return err_setc(e, ST_EINVAL, "too_long", path,
					"\"%s\" is longer than %zu characters", path, maxlen);
		return err_setc(e, ST_EINVAL, "bad_characters", path,
				"\"%s\" contains control characters", path);
	}
	if (required && len == 0) {
		char path[160];
		field_path(path, sizeof(path), prefix, key);
		return err_setc(e, ST_EINVAL, "empty_field", path, "\"%s\" must not be empty",
				path);
	}
	*out = s;
	return ST_OK;
}

int json_get_int(const json_t *obj, const char *key, bool required, int64_t *out,
		 const char *prefix, struct st_error *e)
{
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v))
		return required ? missing(prefix, key, e) : ST_OK;
	if (!json_is_integer(v))
		return wrong_type(prefix, key, "an integer", e);
	*out = (int64_t)json_integer_value(v);
	return ST_OK;
}

int json_get_bool(const json_t *obj, const char *key, bool required, bool *out,
		  const char *prefix, struct st_error *e)
{
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v))
		return required ? missing(prefix, key, e) : ST_OK;
	if (!json_is_boolean(v))
		return wrong_type(prefix, key, "true or false", e);
	*out = json_is_true(v);
	return ST_OK;
}

int json_get_time(const json_t *obj, const char *key, bool required, int64_t *out,
		  const char *prefix, struct st_error *e)
{
	const char *s = NULL;
	int rc = json_get_str(obj, key, required, 40, &s, prefix, e);
	if (rc != ST_OK || !s)
		return rc;
	if (time_parse(s, out) != ST_OK)
		return wrong_type(prefix, key,
				  "a date (YYYY-MM-DD) or UTC time (YYYY-MM-DDTHH:MM:SSZ)", e);
	return ST_OK;
}

int json_parse_object(const char *text, size_t len, json_t **out, struct st_error *e)
{
	json_error_t je;
	json_t *v = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!v)
		/* where, not what: jansson's text quotes the input, which may be a
		 * password or an SSN, and errors reach the access log */
		return err_setc(e, ST_EINVAL, "bad_json", "",
				"the body is not valid JSON (line %d, column %d)", je.line,
				je.column);
	if (!json_is_object(v)) {
		json_decref(v);
		return err_setc(e, ST_EINVAL, "bad_json", "", "expected a JSON object");
	}
	*out = v;
	return ST_OK;
}

char *json_canonical(const json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	if (!s)
		die("cannot serialize JSON");
	return s;
}
