/*
 * schema.h - the migration lists of each component (schema_*.c).
 */
#ifndef STEWARD_SCHEMA_H
#define STEWARD_SCHEMA_H

#include "store/store.h"

extern const struct migration schema_main[];
extern const size_t schema_main_count;
extern const struct migration schema_audit[];
extern const size_t schema_audit_count;
extern const struct migration schema_audit_index[];
extern const size_t schema_audit_index_count;

#endif
