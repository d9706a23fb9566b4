/*
 * cli.c - the command table, option parsing and the helpers every command
 * shares (secrets from files or the terminal, error printing).
 */
#include <errno.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"
#include "crypto/crypto.h"

static int cmd_version(int argc, char **argv);
static int cmd_help(int argc, char **argv);

/* One row per command: its name (one or two words), its function, what
 * follows the name in its usage line, and one line of help. */
static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *args;
	const char *help;
} commands[] = {
	{"init", cmd_init, "--data DIR --admin NAME [options]",
	 "create a data directory with its keys and first administrator (and its enrolment code)"},
	{"migrate", cmd_migrate, "--data DIR", "apply pending database schema migrations"},
	{"serve", cmd_serve, "--data DIR [--listen ADDRESS:PORT] [options]", "run the HTTP API server"},
	{"keys rotate", cmd_keys_rotate, "--data DIR [options]",
	 "make a new master key version and rewrap every key"},
	{"backup", cmd_backup, "--data DIR --to NEW_DIR",
	 "copy the databases consistently, even beside a running server"},
	{"audit verify", cmd_audit_verify, "--data DIR [options]",
	 "recompute the access log's tree; check every checkpoint and every witness"},
	{"audit export", cmd_audit_export, "--from T --to T --out FILE [options]",
	 "write an evidence package for a time window (--data: offline, from the data directory)"},
	{"audit verify-proof", cmd_audit_verify_proof, "FILE [--public-key FILE]",
	 "check an evidence package on its own"},
	{"audit witness", cmd_audit_witness, "--data DIR FILE",
	 "create a witness file outside the data directory (for serve --witness)"},
	{"audit publish", cmd_audit_publish,
	 "--data DIR [--publish-smtp URL --publish-from A --publish-to A[,A]] [--publish-post URL]",
	 "mail or post the log's newest signed checkpoint now"},
	{"policy check", cmd_policy_check, "FILE [--inventory FILE]",
	 "validate a rule file; report rules that never apply or conflict"},
	{"policy install", cmd_policy_install, "--data DIR FILE [--note TEXT]",
	 "recovery: install a rule file locally, as the system"},
	{"users unlock", cmd_users_unlock, "--data DIR --user NAME",
	 "recovery: end the sign-in locks on a user's name, locally"},
	{"users enrollment-code", cmd_users_enrollment_code, "ID",
	 "issue a person's one-time multi-factor enrolment code"},
	{"users reset", cmd_users_reset, "ID --reason TEXT | --data DIR --user NAME --reason TEXT",
	 "reset a person's password and multi-factor (a lost device)"},
	{"login", cmd_login, "--server URL [--username NAME] [options]",
	 "sign in to a server (keeps the session for the commands below)"},
	{"logout", cmd_logout, "", "sign out"},
	{"whoami", cmd_whoami, "", "the signed-in user"},
	{"password", cmd_password, "[--current-password-file FILE] [--new-password-file FILE]",
	 "change your password"},
	{"mfa enroll", cmd_mfa_enroll, "--code CODE [--qr-svg FILE]",
	 "start setting up an authenticator app, with the enrolment code you were given"},
	{"mfa confirm", cmd_mfa_confirm, "CODE", "finish it with a current CODE from the app"},
	{"records get", cmd_records_get, "ID [--purpose TEXT] [--version N]",
	 "read a record (a purpose, where a rule asks for one, is logged)"},
	{"records create", cmd_records_create,
	 "--subject ID --category NAME --fields JSON [--purpose TEXT]",
	 "create a record (a purpose, where a rule asks for one, is logged)"},
	{"audit query", cmd_audit_query, "[--user ID] [--subject ID] [--record ID] [options]",
	 "who accessed what, when and why"},
	{"policy who-can", cmd_policy_who_can, "--category NAME [--action A] | --subject ID",
	 "who may act on a category or subject (IDEA 300.623)"},
	{"policy explain", cmd_policy_explain, "--user ID --record ID [--action A] [--purpose TEXT]",
	 "why a user may or may not act on a record"},
	{"subjects list", cmd_subjects_list, "[--kind K] [--organization CODE] [--status S] [options]",
	 "the subjects you may read (by kind, school, status)"},
	{"subjects find", cmd_subjects_find, "--external-id ID | --family-name NAME [options]",
	 "find subjects by external id or name"},
	{"subjects get", cmd_subjects_get, "ID [--purpose TEXT]",
	 "a subject's identifying fields, as far as you may see them"},
	{"subjects records", cmd_subjects_records, "ID [--category NAME] [--purpose TEXT]",
	 "a subject's records you may read"},
	{"subjects update", cmd_subjects_update, "ID [fields] [--status S]",
	 "change, deactivate or reactivate a subject"},
	{"users list", cmd_users_list, "[--q TEXT] [--role R] [--status S] [options]",
	 "list and search users"},
	{"organizations list", cmd_organizations_list, "[--kind K] [--status S]",
	 "list the organizations and their codes"},
	{"organizations update", cmd_organizations_update, "ID [--name NAME] [--status S]",
	 "rename, deactivate or reactivate one"},
	{"relationships list", cmd_relationships_list, "[--user ID] [--subject ID] [options]",
	 "list need-to-know relationships"},
	{"api", cmd_api, "METHOD PATH [--data JSON]", "any API request, e.g. GET /api/v1/health"},
	{"demo", cmd_demo, "--data DIR [--students N] [--schools N] [--seed N]",
	 "fill an initialized data directory with the synthetic district"},
	{"version", cmd_version, "", "print the version"},
	{"help", cmd_help, "[COMMAND]", "list the commands, or show one command's options"},
};

/* The command being run, for its --help. */
static const struct command *current;

static void print_usage(const struct command *c)
{
	printf("usage: steward %s%s%s\n%s\n", c->name, c->args[0] ? " " : "", c->args, c->help);
}

/* For commands that take nothing: --help works and a stray argument is an error. */
static int no_arguments(int argc, char **argv)
{
	const struct cli_opt opts[] = {{NULL, NULL, NULL, NULL}};
	const char *pos[1];
	int npos;
	return cli_parse(argc, argv, opts, pos, 0, &npos);
}

static int cmd_version(int argc, char **argv)
{
	if (no_arguments(argc, argv) != 0)
		return 2;
	printf("steward %s\n", STEWARD_VERSION);
	return 0;
}

/* The command named by words (one or two), or NULL; *used says how many. */
static const struct command *command_find(int n, char **words, int *used)
{
	for (size_t i = 0; i < ARRAY_LEN(commands); i++) {
		const char *name = commands[i].name;
		const char *space = strchr(name, ' ');
		if (!space) {
			if (n >= 1 && str_eq(words[0], name))
				return *used = 1, &commands[i];
			continue;
		}
		size_t n1 = (size_t)(space - name);
		if (n >= 2 && strlen(words[0]) == n1 && !strncmp(words[0], name, n1) &&
		    str_eq(words[1], space + 1))
			return *used = 2, &commands[i];
	}
	return NULL;
}

static int cmd_help(int argc, char **argv)
{
	int used = 0;
	const struct command *c = argc > 0 && argv[0][0] != '-' ? command_find(argc, argv, &used)
								 : NULL;
	if (c) {
		/* `steward help audit export` is `steward audit export --help` */
		char *help_argv[] = {(char *)"--help", NULL};
		current = c;
		return c->fn(1, help_argv);
	}
	if (argc > 0 && argv[0][0] != '-') {
		fprintf(stderr, "steward: no command \"%s\"; run 'steward help'\n", argv[0]);
		return 2;
	}
	if (no_arguments(argc, argv) != 0)
		return 2;
	int width = 0;
	for (size_t i = 0; i < ARRAY_LEN(commands); i++)
		if ((int)strlen(commands[i].name) > width)
			width = (int)strlen(commands[i].name);
	printf("usage: steward COMMAND [options]\n\ncommands:\n");
	for (size_t i = 0; i < ARRAY_LEN(commands); i++)
		printf("  %-*s  %s\n", width, commands[i].name, commands[i].help);
	printf("\nRun 'steward COMMAND --help' for a command's options; docs/cli.md has more.\n");
	return 0;
}

int cli_take_repeated(int *argc, char **argv, const char *name, struct cli_list *out)
{
	size_t nl = strlen(name);
	int kept = 0;
	for (int i = 0; i < *argc; i++) {
		const char *a = argv[i];
		const char *v = NULL;
		if (a[0] == '-' && a[1] == '-' && !strncmp(a + 2, name, nl) &&
		    (a[2 + nl] == '\0' || a[2 + nl] == '=')) {
			if (a[2 + nl] == '=')
				v = a + 3 + nl;
			else if (i + 1 < *argc)
				v = argv[++i];
			if (!v) {
				fprintf(stderr, "steward: --%s needs a value\n", name);
				return -1;
			}
			if (out->n == CLI_LIST_MAX) {
				fprintf(stderr, "steward: --%s is given at most %d times\n", name,
					CLI_LIST_MAX);
				return -1;
			}
			out->item[out->n++] = v;
			continue;
		}
		argv[kept++] = argv[i];
	}
	*argc = kept;
	return 0;
}

int cli_parse(int argc, char **argv, const struct cli_opt *opts, const char **pos,
	      int maxpos, int *npos)
{
	*npos = 0;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (str_eq(a, "--help") || str_eq(a, "-h")) {
			if (current)
				print_usage(current);
			if (opts->name)
				printf("\noptions:\n");
			for (const struct cli_opt *o = opts; o->name; o++)
				printf("  --%-24s %s\n", o->name, o->help ? o->help : "");
			fflush(stdout);
			exit(0);
		}
		if (a[0] == '-' && a[1] == '-') {
			const char *name = a + 2;
			const char *eq = strchr(name, '=');
			size_t nl = eq ? (size_t)(eq - name) : strlen(name);
			const struct cli_opt *o = opts;
			for (; o->name; o++)
				if (strlen(o->name) == nl && !strncmp(o->name, name, nl))
					break;
			if (!o->name) {
				fprintf(stderr, "steward: unknown option %s (see --help)\n", a);
				return -1;
			}
			if (o->flag) {
				if (eq) {
					fprintf(stderr, "steward: --%s takes no value\n", o->name);
					return -1;
				}
				*o->flag = true;
			} else if (eq) {
				*o->value = eq + 1;
			} else if (i + 1 < argc) {
				*o->value = argv[++i];
			} else {
				fprintf(stderr, "steward: --%s needs a value\n", o->name);
				return -1;
			}
			continue;
		}
		if (*npos == maxpos) {
			fprintf(stderr, "steward: unexpected argument %s\n", a);
			return -1;
		}
		pos[(*npos)++] = a;
	}
	return 0;
}

int cli_fail(const struct st_error *e)
{
	if (e->field[0])
		fprintf(stderr, "steward: %s (%s)\n", e->message, e->field);
	else
		fprintf(stderr, "steward: %s\n", e->message[0] ? e->message : "failed");
	switch (e->status) {
	case ST_EINVAL: return 2;
	case ST_EAUTH:
	case ST_EDENIED: return 3;
	case ST_ENOTFOUND: return 4;
	case ST_ECONFLICT: return 5;
	case ST_ECRYPTO: return 6;
	default: return 1;
	}
}

static int prompt_once(const char *prompt, char **out)
{
	struct termios old, quiet;
	fprintf(stderr, "%s", prompt);
	fflush(stderr);
	bool tty = tcgetattr(STDIN_FILENO, &old) == 0;
	if (tty) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, stdin);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (n < 0) {
		free(line);
		return -1;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	*out = line;
	return 0;
}

int cli_read_secret(const char *path, const char *prompt, bool confirm, char **out,
		    struct st_error *e)
{
	if (path) {
		char *data = NULL;
		size_t len = 0;
		int rc = file_read_all(path, 4096, &data, &len, e);
		if (rc != ST_OK)
			return rc;
		while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
			data[--len] = '\0';
		if (len == 0) {
			free(data);
			return err_set(e, ST_EINVAL, NULL, "%s is empty", path);
		}
		*out = data;
		return ST_OK;
	}
	if (!isatty(STDIN_FILENO))
		return err_set(e, ST_EINVAL, NULL,
			       "no terminal to ask on: give the secret in a file");
	char *a = NULL, *b = NULL;
	if (prompt_once(prompt, &a) != 0)
		return err_set(e, ST_EINVAL, NULL, "no input");
	if (confirm) {
		if (prompt_once("Again: ", &b) != 0 || !str_eq(a, b)) {
			secure_free_plain(a, strlen(a));
			if (b)
				secure_free_plain(b, strlen(b));
			return err_set(e, ST_EINVAL, NULL, "the two entries differ");
		}
		secure_free_plain(b, strlen(b));
	}
	*out = a;
	return ST_OK;
}

int cli_passphrase(const char *path, char **out, struct st_error *e)
{
	*out = NULL;
	if (path)
		return cli_read_secret(path, NULL, false, out, e);
	const char *env = getenv("STEWARD_PASSPHRASE");
	if (env && *env)
		*out = xstrdup(env);
	return ST_OK;
}

int cli_open_data(const char *data, const char *ppfile, bool exclusive, struct steward **st,
		  struct st_error *e)
{
	return cli_open_data_witnessed(data, ppfile, exclusive, NULL, 0, st, e);
}

int cli_open_data_witnessed(const char *data, const char *ppfile, bool exclusive,
			    const char *const *witnesses, size_t nwitnesses, struct steward **st,
			    struct st_error *e)
{
	char *passphrase = NULL;
	int rc = cli_passphrase(ppfile, &passphrase, e);
	if (rc != ST_OK)
		return rc;
	struct steward_options o = {
		.dir = data,
		.passphrase = passphrase,
		.check_permissions = true,
		.exclusive = exclusive,
		.witnesses = witnesses,
		.nwitnesses = nwitnesses,
	};
	rc = steward_open(&o, st, e);
	if (passphrase)
		secure_free_plain(passphrase, strlen(passphrase));
	return rc;
}

const char *cli_data_dir(const char *opt)
{
	if (opt)
		return opt;
	const char *env = getenv("STEWARD_DATA");
	return env && *env ? env : NULL;
}

int cli_main(int argc, char **argv)
{
	umask(077); /* everything Steward creates is owner-only */
	if (argc < 2 || str_eq(argv[1], "--help") || str_eq(argv[1], "-h"))
		return cmd_help(0, NULL);
	if (str_eq(argv[1], "--version"))
		return cmd_version(0, NULL);
	int used = 0;
	const struct command *c = command_find(argc - 1, argv + 1, &used);
	if (c) {
		current = c;
		return c->fn(argc - 1 - used, argv + 1 + used);
	}
	/* the first word of a two-word command alone: say which there are */
	struct buf which = BUF_INIT;
	size_t n1 = strlen(argv[1]);
	for (size_t i = 0; i < ARRAY_LEN(commands); i++)
		if (!strncmp(commands[i].name, argv[1], n1) && commands[i].name[n1] == ' ')
			buf_printf(&which, "%s'steward %s'", which.len ? ", " : "", commands[i].name);
	if (which.len)
		fprintf(stderr, "steward: \"%s\" needs one more word: %s (see 'steward help')\n",
			argv[1], which.data);
	else
		fprintf(stderr, "steward: unknown command \"%s\"; run 'steward help'\n", argv[1]);
	buf_release(&which);
	return 2;
}
