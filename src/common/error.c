/*
 * error.c - the one error convention: a negative status plus, optionally, a
 * machine code, the input field and a sentence for a person.
 */
#include "common/base.h"

static void err_vset(struct st_error *e, int status, const char *code, const char *field,
		     const char *fmt, va_list ap) ST_PRINTF(5, 0);
static void err_vset(struct st_error *e, int status, const char *code,
		     const char *field, const char *fmt, va_list ap)
{
	e->status = status;
	str_copy(e->code, sizeof(e->code), code ? code : st_status_code(status));
	str_copy(e->field, sizeof(e->field), field ? field : "");
	/* A message longer than the buffer is cut; that is acceptable for a
	 * human-readable sentence, unlike for data. */
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	/* Both reach JSON answers and the access log, which carry only UTF-8
	 * text: a name cut to a buffer's size on the way (a path, a reason)
	 * must not leave half a character. */
	str_utf8_repair(e->field);
	str_utf8_repair(e->message);
}

int err_set(struct st_error *e, int status, const char *field, const char *fmt, ...)
{
	if (e) {
		va_list ap;
		va_start(ap, fmt);
		err_vset(e, status, NULL, field, fmt, ap);
		va_end(ap);
	}
	return status;
}

int err_setc(struct st_error *e, int status, const char *code, const char *field,
	     const char *fmt, ...)
{
	if (e) {
		va_list ap;
		va_start(ap, fmt);
		err_vset(e, status, code, field, fmt, ap);
		va_end(ap);
	}
	return status;
}

void err_clear(struct st_error *e)
{
	if (e)
		memset(e, 0, sizeof(*e));
}

static const struct {
	int status;
	const char *code;
	int http;
} status_table[] = {
	{ST_OK, "ok", 200},
	{ST_EINVAL, "invalid", 400},
	{ST_EAUTH, "unauthenticated", 401},
	{ST_EDENIED, "forbidden", 403},
	{ST_ENOTFOUND, "not_found", 404},
	{ST_ECONFLICT, "conflict", 409},
	{ST_ETOOBIG, "too_large", 413},
	{ST_EMEDIA, "unsupported_media_type", 415},
	{ST_ELIMIT, "too_many_requests", 429},
	{ST_EIO, "storage_error", 500},
	{ST_ECRYPTO, "integrity_error", 500},
	{ST_EAUDIT, "audit_unavailable", 503},
	{ST_EINTERNAL, "internal_error", 500},
	{ST_EGONE, "gone", 410},
	{ST_EUNAVAIL, "unavailable", 503},
};

const char *st_status_code(int status)
{
	for (size_t i = 0; i < ARRAY_LEN(status_table); i++)
		if (status_table[i].status == status)
			return status_table[i].code;
	return "internal_error";
}

int st_status_http(int status)
{
	for (size_t i = 0; i < ARRAY_LEN(status_table); i++)
		if (status_table[i].status == status)
			return status_table[i].http;
	return 500;
}
