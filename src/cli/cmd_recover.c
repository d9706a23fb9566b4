/*
 * cmd_recover.c - recovery on the data directory itself, with the server
 * stopped, for when the way in through the API is closed: every
 * administrator locked out of signing in, or rules under which nobody can
 * change the rules, or the only administrator's device lost. Whoever
 * holds the data directory and its keys can read
 * everything anyway; these commands let them put it right without editing
 * the database by hand. Each act goes through the same library calls as
 * the API, as the system (user 0) via the command line, and is logged.
 */
#include "cli/cli.h"
#include "crypto/crypto.h"
#include "steward/access.h"
#include "steward/auth.h"

static const struct actor local_system = {.user_id = 0, .via = "cli"};

int cmd_users_unlock(int argc, char **argv)
{
	const char *data = NULL, *user = NULL, *ppfile = NULL;
	const struct cli_opt opts[] = {
		{"data", &data, NULL, "the data directory (or $STEWARD_DATA)"},
		{"user", &user, NULL, "the username whose sign-in locks end"},
		{"passphrase-file", &ppfile, NULL, "the master key passphrase (passphrase keys)"},
		{NULL, NULL, NULL, NULL},
	};
	const char *pos[1];
	int npos;
	if (cli_parse(argc, argv, opts, pos, 0, &npos) != 0)
		return 2;
	data = cli_data_dir(data);
	if (!data || !user) {
		fprintf(stderr, "steward: users unlock needs --data DIR and --user NAME\n");
		return 2;
	}
	struct st_error e = {0};
	struct steward *st = NULL;
	if (cli_open_data(data, ppfile, true, &st, &e) != ST_OK)
		return cli_fail(&e);
	int64_t id = 0;
	int rc = user_find(st, user, &id, &e);
	if (rc == ST_OK)
		rc = auth_unlock(st, &local_system, id, &e);
	steward_close(st);
	if (rc != ST_OK)
		return cli_fail(&e);
	printf("sign-in locks on %s ended (logged as user.unlock)\n", user);
	return 0;
}

/* With --data, on the data directory as the system (the server stopped:
 * for an administrator nobody else may reset, or whose first enrolment
 * code has expired); without, a client of the server like every business
 * command. */
int cmd_users_reset(int argc, char **argv)
{
	bool local = false;
	for (int i = 0; i < argc; i++)
		local |= str_eq(argv[i], "--data") || str_has_prefix(argv[i], "--data=") ||
			 str_eq(argv[i], "--help") || str_eq(argv[i], "-h");
	if (!local)
		return cmd_users_reset_remote(argc, argv);
	const char *data = NULL, *user = NULL, *reason = NULL, *ppfile = NULL;
	const struct cli_opt opts[] = {
		{"reason", &reason, NULL, "why (kept in the access log)"},
		{"data", &data, NULL,
		 "work on the data directory, with the server stopped, as the system (or "
		 "$STEWARD_DATA; without it, the signed-in administrator asks the server)"},
		{"user", &user, NULL, "with --data: the username whose sign-in is reset"},
		{"passphrase-file", &ppfile, NULL, "with --data: the master key passphrase (passphrase keys)"},
		{NULL, NULL, NULL, NULL},
	};
	const char *pos[1];
	int npos;
	if (cli_parse(argc, argv, opts, pos, 0, &npos) != 0)
		return 2;
	data = cli_data_dir(data);
	if (!data || !user || !reason) {
		fprintf(stderr, "steward: users reset needs --data DIR, --user NAME and --reason TEXT "
				"(or, from a signed-in session: steward users reset ID --reason TEXT)\n");
		return 2;
	}
	struct st_error e = {0};
	struct steward *st = NULL;
	if (cli_open_data(data, ppfile, true, &st, &e) != ST_OK)
		return cli_fail(&e);
	int64_t id = 0;
	struct credentials_reset out;
	int rc = user_find(st, user, &id, &e);
	if (rc == ST_OK)
		rc = auth_credentials_reset(st, &local_system, id, reason, &out, &e);
	steward_close(st);
	if (rc != ST_OK)
		return cli_fail(&e);
	char until[32];
	time_format(out.expires_at, until);
	cli_print_reset(user, out.password, out.enrollment_code, until);
	secure_wipe(&out, sizeof(out));
	return 0;
}

int cmd_policy_install(int argc, char **argv)
{
	const char *data = NULL, *note = NULL, *ppfile = NULL;
	const struct cli_opt opts[] = {
		{"data", &data, NULL, "the data directory (or $STEWARD_DATA)"},
		{"note", &note, NULL, "why (kept with the version and in the log)"},
		{"passphrase-file", &ppfile, NULL, "the master key passphrase (passphrase keys)"},
		{NULL, NULL, NULL, NULL},
	};
	const char *pos[1];
	int npos;
	if (cli_parse(argc, argv, opts, pos, 1, &npos) != 0)
		return 2;
	data = cli_data_dir(data);
	if (!data || npos != 1) {
		fprintf(stderr, "steward: policy install needs --data DIR and the rule FILE\n");
		return 2;
	}
	struct st_error e = {0};
	char *text = NULL;
	size_t len = 0;
	if (file_read_all(pos[0], 4 << 20, &text, &len, &e) != ST_OK)
		return cli_fail(&e);
	struct steward *st = NULL;
	if (cli_open_data(data, ppfile, true, &st, &e) != ST_OK) {
		free(text);
		return cli_fail(&e);
	}
	int version = 0;
	int rc = policy_install(st, &local_system, text, note ? note : "installed locally", &version,
				&e);
	steward_close(st);
	free(text);
	if (rc != ST_OK)
		return cli_fail(&e);
	printf("rules version %d installed (logged as policy.update)\n", version);
	return 0;
}
