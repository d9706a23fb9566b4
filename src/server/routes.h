/*
 * routes.h - the handlers of the API, one file per area (routes_*.c); the
 * table that maps method and path to them is in routes.c.
 */
#ifndef STEWARD_ROUTES_H
#define STEWARD_ROUTES_H

#include "server/http.h"

#define HANDLER(name) int name(struct request *req, struct response *res)

/* routes.c */
HANDLER(h_root);
HANDLER(h_health);
HANDLER(h_openapi);
/* routes_session.c */
HANDLER(h_session_create);
HANDLER(h_session_current);
HANDLER(h_session_delete);
HANDLER(h_password_change);
HANDLER(h_mfa_begin);
HANDLER(h_mfa_confirm);
HANDLER(h_token_create);
HANDLER(h_token_list);
HANDLER(h_token_delete);
/* routes_people.c */
HANDLER(h_org_create);
HANDLER(h_org_list);
HANDLER(h_org_patch);
HANDLER(h_user_list);
HANDLER(h_relationship_list);
HANDLER(h_user_create);
HANDLER(h_user_get);
HANDLER(h_user_patch);
HANDLER(h_suspension_create);
HANDLER(h_suspension_delete);
HANDLER(h_user_unlock);
HANDLER(h_user_enrollment_code);
HANDLER(h_user_reset);
HANDLER(h_training_create);
HANDLER(h_agreement_create);
HANDLER(h_relationship_create);
HANDLER(h_relationship_delete);
/* routes_records.c */
HANDLER(h_subject_create);
HANDLER(h_subject_get);
HANDLER(h_subject_patch);
HANDLER(h_subject_list);
HANDLER(h_subject_search);
HANDLER(h_subject_records);
HANDLER(h_record_create);
HANDLER(h_record_get);
HANDLER(h_record_patch);
HANDLER(h_record_delete);
/* routes_policy.c */
HANDLER(h_inventory_get);
HANDLER(h_inventory_put);
HANDLER(h_policy_get);
HANDLER(h_policy_put);
HANDLER(h_policy_explain);
HANDLER(h_policy_who_can);
HANDLER(h_policy_what_can);
/* routes_audit.c */
HANDLER(h_audit_query);
HANDLER(h_audit_checkpoint);
HANDLER(h_audit_proof);
HANDLER(h_audit_consistency);
HANDLER(h_audit_export);

#endif
