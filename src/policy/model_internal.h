/*
 * model_internal.h - read access to the facts, for decide.c and review.c.
 * The caller holds the model's lock.
 */
#ifndef STEWARD_MODEL_INTERNAL_H
#define STEWARD_MODEL_INTERNAL_H

#include "policy/policy.h"

#define MODEL_NIL UINT32_MAX

struct muser;

struct rel_view {
	uint32_t next;
	uint32_t id;
	enum relkind kind;
	int64_t start, end; /* end INT64_MAX: open */
	uint64_t categories;
};

struct agreement_view {
	uint64_t categories;
	const uint32_t *orgs;
	size_t norgs;
	int64_t start, end;
	const char *vendor;
};

const struct muser *model_user(const struct model *m, uint32_t id);
uint32_t model_rel_head(const struct model *m, uint32_t user, uint64_t subject);
const struct rel_view *model_rel_get(const struct model *m, uint32_t idx, struct rel_view *out);
uint32_t model_org_grant_head(const struct model *m, uint32_t user);
uint32_t model_org_grant_org(const struct model *m, uint32_t idx);
bool model_suspended(const struct muser *u, int64_t now, int64_t *until, int64_t *id);
/* Whether suspension `id` is of the permanent kind (an open-ended one of
 * another kind lasts until it is lifted: "until further notice"). */
bool model_suspension_permanent(const struct muser *u, int64_t id);
const struct agreement_view *model_agreement(const struct model *m, uint32_t id,
					     struct agreement_view *out);

/* Fields of struct muser decide.c reads (kept here so the struct stays
 * private to model.c while decide stays inlined-fast). */
struct muser_fields {
	uint8_t kind, status;
	uint32_t roles, org, agreement;
	int64_t training_expires;
};
void model_user_fields(const struct muser *u, struct muser_fields *out);

#endif
