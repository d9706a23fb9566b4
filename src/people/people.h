/*
 * people.h - the people who use Steward (users: employees, contractors and
 * agents, board members, volunteers) and the organizations they belong to
 * (the district, its schools and departments).
 */
#ifndef STEWARD_PEOPLE_H
#define STEWARD_PEOPLE_H

#include "core/context.h"

#define USERNAME_MAX 64
#define PASSWORD_MIN 12
#define PASSWORD_MAX 256

struct user_new {
	const char *username;
	const char *display_name;
	const char *kind;         /* employee, contractor, board_member, volunteer */
	const char *organization; /* organization code or NULL */
	const char *position;     /* job title, for the IDEA list of who may access */
	const char *const *roles;
	size_t nroles;
	const char *password;     /* NULL: no password sign-in yet */
	bool must_change_password;
};

/* Usernames: 1-64 of a-z 0-9 . _ - @ starting with a letter or digit. */
bool username_valid(const char *s);
/* NIST SP 800-63B: at least PASSWORD_MIN characters, at most PASSWORD_MAX,
 * not the username, no composition rules. Errors name `field`. */
int password_check_policy(const char *password, const char *username, const char *field,
			  struct st_error *e);

/* True for a known common or breached password or a trivial pattern. */
bool password_is_common(const char *password);

/* The id of an active organization by its code; an unknown or inactive
 * one is ST_EINVAL naming "organization". */
int org_find(struct store_conn *c, const char *code, int64_t *id, struct st_error *e);
int org_create(struct store_conn *c, const char *code, const char *name, const char *kind,
	       int64_t *id, struct st_error *e);
/* Inserts a user and roles inside the caller's transaction. */
int user_insert(struct store_conn *c, const struct user_new *u, int64_t *id,
		struct st_error *e);

#endif
