/*
 * auth_internal.h - the sign-in state kept in memory.
 */
#ifndef STEWARD_AUTH_INTERNAL_H
#define STEWARD_AUTH_INTERNAL_H

#include "core/context.h"
#include "steward/auth.h"

struct auth_state;
struct auth_state *auth_state_new(void);
void auth_state_free(struct auth_state *a);

#endif
