/*
 * cli.h - the command line. Local administration (init, migrate, keys,
 * audit verify, serve) works on the data directory; the business commands
 * are clients of the HTTP API, so the command line and the API are one path
 * with one set of checks.
 *
 * How to add a command: write `int cmd_xxx(int argc, char **argv)` in the
 * file of its area (parsing its options with cli_parse, which answers
 * --help), add a row to the table in cli.c (name, function, what follows
 * the name in its usage line, one line of help), document it in
 * docs/cli.md, and add a test (tests/integration/test_cli_help.sh checks
 * every row's --help).
 */
#ifndef STEWARD_CLI_H
#define STEWARD_CLI_H

#include "common/base.h"
#include "steward/steward.h"

struct cli_opt {
	const char *name;   /* "data" for --data */
	const char **value; /* for options that take a value */
	bool *flag;         /* for flags */
	const char *help;
};

/* The values of an option that may be given more than once. */
#define CLI_LIST_MAX 16
struct cli_list {
	const char *item[CLI_LIST_MAX];
	size_t n;
};
/* Takes every --name VALUE (or --name=VALUE) out of argv, in order, into
 * out, before cli_parse sees the rest (which still lists the option for
 * --help). Prints an error and returns -1 on a missing value or too many. */
int cli_take_repeated(int *argc, char **argv, const char *name, struct cli_list *out);

/* Parses argv against opts (NULL-name terminated); positional arguments
 * are collected into pos (at most maxpos). Prints an error and returns -1
 * on an unknown option or a missing value. */
int cli_parse(int argc, char **argv, const struct cli_opt *opts, const char **pos,
	      int maxpos, int *npos);
/* Prints "steward: <message>" (with the field) and returns the exit code
 * for the error's status. */
int cli_fail(const struct st_error *e);
/* Reads a secret from a file (trailing newline removed), or prompts on the
 * terminal when path is NULL and stdin is a terminal (twice when confirm).
 * The result is malloc'd; wipe and free it. */
int cli_read_secret(const char *path, const char *prompt, bool confirm, char **out,
		    struct st_error *e);
/* The passphrase from --passphrase-file or STEWARD_PASSPHRASE, or NULL. */
int cli_passphrase(const char *path, char **out, struct st_error *e);
/* Opens a data directory the way every local command does (the passphrase
 * from ppfile or $STEWARD_PASSPHRASE; permissions checked; exclusive takes
 * the directory's lock, so the server must be stopped). */
int cli_open_data(const char *data, const char *ppfile, bool exclusive, struct steward **st,
		  struct st_error *e);
/* The same, with the access log's witnesses outside the data directory. */
int cli_open_data_witnessed(const char *data, const char *ppfile, bool exclusive,
			    const char *const *witnesses, size_t nwitnesses, struct steward **st,
			    struct st_error *e);
/* --data, else $STEWARD_DATA, else NULL. */
const char *cli_data_dir(const char *opt);

/* --- the HTTP client's guards (client.c), exposed for their tests --------- */

/* The largest response body a business command reads (an audit query can
 * be large); past it the command fails instead of growing without bound. */
#define CLI_MAX_RESPONSE ((size_t)64 << 20)

/* Checks a server URL as libcurl parses it and returns its canonical form
 * in *canon (malloc'd; free()): lower-case scheme and host, the port only
 * when not the scheme's default, the path without trailing slashes. Two
 * URLs name the same server exactly when their canonical forms are equal.
 * ST_EINVAL (no field) for anything but http or https, a name, password,
 * query, fragment or interface in the URL, and plain http to a host that
 * is not loopback (see cli_host_is_loopback): a password or a session
 * token must not cross a network unencrypted. e may be NULL. */
int cli_server_canon(const char *url, char **canon, struct st_error *e);
/* Whether a URL's host names this machine's loopback: 127.0.0.0/8, ::1
 * (bracketed or not, also as ::ffff:127.x.y.z) or "localhost" (any case).
 * Any other name is not, whatever it resolves to. */
bool cli_host_is_loopback(const char *host);

enum cli_text {
	CLI_TEXT_LINE, /* a message: one line, every control character escaped */
	CLI_TEXT_JSON, /* json_dumps output: newlines and tabs kept, JSON stays valid */
};
/* A copy of len bytes of text from a server that is safe to print
 * (malloc'd; free()): C0 controls, DEL, C1 controls, bidirectional
 * overrides and bytes that are not UTF-8 are escaped ("\x1b" in a line,
 * "\u001B" in JSON; "\u009B" either way), so a server cannot move the
 * cursor, clear the screen, retitle the window or reorder what is shown. */
char *cli_printable_dup(const char *s, size_t len, enum cli_text mode);

/* --- requests to the server with the saved session (client.c) ------------- */

/* One request; prints the answer (or the error) and returns the exit code. */
int cli_request(const char *method, const char *path, const char *body);
/* GET path?name=value&... for every option given (the options' names are
 * the route's query parameters), as cli_request. */
int cli_get(const char *path, const struct cli_opt *opts);

int cmd_init(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_keys_rotate(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_audit_verify(int argc, char **argv);
int cmd_audit_export(int argc, char **argv);
int cmd_audit_verify_proof(int argc, char **argv);
int cmd_audit_witness(int argc, char **argv);
int cmd_audit_publish(int argc, char **argv);
int cmd_policy_check(int argc, char **argv);
int cmd_policy_install(int argc, char **argv);
int cmd_users_unlock(int argc, char **argv);
int cmd_users_enrollment_code(int argc, char **argv);
int cmd_users_reset(int argc, char **argv);
int cmd_users_reset_remote(int argc, char **argv);
int cmd_login(int argc, char **argv);
int cmd_logout(int argc, char **argv);
int cmd_whoami(int argc, char **argv);
int cmd_mfa_enroll(int argc, char **argv);
int cmd_mfa_confirm(int argc, char **argv);
int cmd_password(int argc, char **argv);
int cmd_records_get(int argc, char **argv);
int cmd_records_create(int argc, char **argv);
int cmd_audit_query(int argc, char **argv);
int cmd_audit_export_remote(int argc, char **argv);
int cmd_policy_who_can(int argc, char **argv);
int cmd_policy_explain(int argc, char **argv);
int cmd_api(int argc, char **argv);
/* cmd_find.c: finding and changing subjects, people, organizations and
 * relationships */
int cmd_users_list(int argc, char **argv);
int cmd_organizations_list(int argc, char **argv);
int cmd_organizations_update(int argc, char **argv);
int cmd_relationships_list(int argc, char **argv);
int cmd_subjects_list(int argc, char **argv);
int cmd_subjects_find(int argc, char **argv);
int cmd_subjects_get(int argc, char **argv);
int cmd_subjects_records(int argc, char **argv);
int cmd_subjects_update(int argc, char **argv);
int cmd_demo(int argc, char **argv);

/* Prints what a reset gives out (its secrets made safe to print) and what
 * the administrator does with them. who: "user 7", "admin". */
void cli_print_reset(const char *who, const char *password, const char *code, const char *until);

int cli_main(int argc, char **argv);

#endif
