/*
 * inventory.h - the data inventory: every category of record the district
 * keeps, its classification, and every field with its type, purpose, legal
 * basis and whether it is personal information under RSMo 407.1500. The
 * policy's "only when necessary" becomes: a field not declared here cannot
 * be written.
 *
 * An inventory is an immutable snapshot parsed from a JSON document
 * (data/inventory.json is the shipped default). Snapshots are reference
 * counted so a request keeps the version it started with while an
 * administrator installs a new one.
 */
#ifndef STEWARD_INVENTORY_H
#define STEWARD_INVENTORY_H

#include "common/base.h"

enum classification {
	CLASS_DIRECTORY = 0,
	CLASS_INTERNAL,
	CLASS_CONFIDENTIAL,
	CLASS_RESTRICTED,
};

enum field_type {
	FT_STRING,
	FT_TEXT,
	FT_INTEGER,
	FT_NUMBER,
	FT_BOOLEAN,
	FT_DATE,
	FT_SSN,
	FT_ENUM,
};

/* Personal information under RSMo 407.1500 (with a name). */
enum pi_kind {
	PI_NONE = 0,
	PI_SSN,
	PI_GOVERNMENT_ID,
	PI_FINANCIAL_ACCOUNT,
	PI_MEDICAL,
	PI_HEALTH_INSURANCE,
};

#define INV_MAX_CATEGORIES 64
#define INV_MAX_FIELDS 64

struct inv_field {
	const char *name;
	enum field_type type;
	bool required;
	size_t max_length;
	const char *purpose;
	const char *legal_basis;
	enum pi_kind pi;
	const json_t *values; /* FT_ENUM: array of strings */
	const json_t *privacy_act_notice; /* SSN fields */
};

struct inv_category {
	const char *name;
	const char *title;
	enum classification classification;
	const char *series;
	unsigned subject_kinds; /* bit per subject kind (SUBJECT_KIND_*) */
	unsigned subject_fields; /* bit per enum subject_field: the identifying
				  * fields of the subject that a reader of this
				  * category sees ("subject_fields"; none if absent) */
	int index;              /* position, stable within one snapshot */
	struct inv_field fields[INV_MAX_FIELDS];
	size_t nfields;
};

struct inventory {
	int version; /* 0 until stored */
	json_t *doc; /* owns every string above */
	struct inv_category cats[INV_MAX_CATEGORIES];
	size_t ncats;
	int refs;
};

/* Subject kinds, shared with the records module. */
enum subject_kind {
	SUBJECT_STUDENT = 0,
	SUBJECT_PARENT_GUARDIAN,
	SUBJECT_EMPLOYEE,
	SUBJECT_APPLICANT,
	SUBJECT_OTHER,
	SUBJECT_KIND_COUNT
};
const char *subject_kind_name(enum subject_kind k);
int subject_kind_parse(const char *s, enum subject_kind *out);

/* A subject's identifying fields (sealed with the subject, not in a record).
 * Each category of the inventory declares which of them a reader of its
 * records sees ("subject_fields"): the directory category carries directory
 * information (FERPA 34 CFR 99.37), the others what their readers' duties
 * need. A rule's masks may name them as they name record fields. */
enum subject_field {
	SF_EXTERNAL_ID = 0,
	SF_GIVEN_NAME,
	SF_FAMILY_NAME,
	SF_DATE_OF_BIRTH,
	SF_ORGANIZATION,
	SF_COUNT
};
const char *subject_field_name(enum subject_field f);
int subject_field_parse(const char *s, enum subject_field *out);
/* Whether a category shows the subject's identifying field `name`. */
bool inventory_subject_field(const struct inv_category *cat, const char *name);

/* Parses and validates an inventory document. Errors name the path of the
 * offending key ("categories.health.fields.ssn.type"). */
int inventory_parse(const char *text, size_t len, struct inventory **out,
		    struct st_error *e);
struct inventory *inventory_ref(struct inventory *inv);
void inventory_unref(struct inventory *inv);

const struct inv_category *inventory_category(const struct inventory *inv,
					      const char *name);
const struct inv_field *inventory_field(const struct inv_category *cat, const char *name);

/* Checks a record's fields object against its category. With partial=true
 * (an update), required fields may be absent and null removes a field.
 * Errors name "fields.<name>". */
int inventory_check_fields(const struct inv_category *cat, const json_t *fields,
			   bool partial, struct st_error *e);

struct store_conn;
/* Stores a document as the next inventory version inside the caller's
 * transaction (the caller has validated it with inventory_parse). */
int inventory_store_version(struct store_conn *c, const char *text, int64_t changed_by,
			    const char *note, int *version, struct st_error *e);

const char *classification_name(enum classification c);
int classification_parse(const char *s, enum classification *out);
const char *pi_kind_name(enum pi_kind k);
const char *field_type_name(enum field_type t);

#endif
