/*
 * cmd_local.c - local administration on the data directory itself: init,
 * migrate, serve and key rotation. These are the only commands that open
 * the data directory directly; they need the master key (or passphrase).
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/publish.h"
#include "crypto/crypto.h"
#include "server/server.h"
#include "steward/access.h"
#include "steward/auth.h"
#include "steward/steward.h"

static void wipe_free(char *s)
{
	if (s)
		secure_free_plain(s, strlen(s));
}

int cmd_init(int argc, char **argv)
{
	const char *data = NULL, *admin = NULL, *pwfile = NULL, *ppfile = NULL, *display = NULL,
		   *codefile = NULL;
	bool use_passphrase = false, one_time = false;
	const struct cli_opt opts[] = {
		{"enrollment-code-file", &codefile, NULL,
		 "write the administrator's one-time multi-factor enrolment code to this new file "
		 "(0600) instead of printing it"},
		{"one-time-password", NULL, &one_time,
		 "the administrator must choose a new password at first sign-in"},
		{"data", &data, NULL, "the data directory to create (or $STEWARD_DATA)"},
		{"admin", &admin, NULL, "the first administrator's username"},
		{"admin-name", &display, NULL, "the administrator's display name"},
		{"admin-password-file", &pwfile, NULL,
		 "file holding the administrator's password (else prompts)"},
		{"passphrase-file", &ppfile, NULL,
		 "derive the master key from the passphrase in this file (Argon2id)"},
		{"passphrase", NULL, &use_passphrase,
		 "derive the master key from $STEWARD_PASSPHRASE or a prompted passphrase"},
		{NULL, NULL, NULL, NULL},
	};
	const char *pos[1];
	int npos;
	if (cli_parse(argc, argv, opts, pos, 0, &npos) != 0)
		return 2;
	struct st_error e = {0};
	data = cli_data_dir(data);
	if (!data || !admin) {
		fprintf(stderr, "steward: init needs --data DIR and --admin NAME\n");
		return 2;
	}
	char *password = NULL, *passphrase = NULL;
	int rc = cli_read_secret(pwfile, "Administrator's password: ", true, &password, &e);
	if (rc != ST_OK)
		return cli_fail(&e);
	if (ppfile || use_passphrase) {
		rc = cli_passphrase(ppfile, &passphrase, &e);
		if (rc == ST_OK && !passphrase)
			rc = cli_read_secret(NULL, "Master key passphrase: ", true, &passphrase, &e);
		if (rc == ST_OK && strlen(passphrase) < 16)
			rc = err_set(&e, ST_EINVAL, "passphrase",
				     "a master key passphrase must be at least 16 characters");
		if (rc != ST_OK) {
			wipe_free(password);
			wipe_free(passphrase);
			return cli_fail(&e);
		}
	}
	struct steward_init_options o = {
		.dir = data,
		.admin_username = admin,
		.admin_password = password,
		.admin_display_name = display,
		.passphrase = passphrase,
		.admin_must_change_password = one_time,
	};
	rc = steward_init(&o, &e);
	wipe_free(password);
	if (rc != ST_OK) {
		wipe_free(passphrase);
		return cli_fail(&e);
	}
	printf("created data directory %s\n", data);
	printf("administrator: %s (role designee)\n", admin);
	printf("access-log public key: %s/audit-signing.pub\n", data);
	/* multi-factor is required of an administrator, and its first
	 * enrolment needs a code the password does not give: the system
	 * issues the first one (logged), to be kept with the password */
	char code[AUTH_ENROLL_CODE_MAX] = "", until[32] = "";
	struct steward *st = NULL;
	struct steward_options so = {.dir = data, .passphrase = passphrase,
				     .check_permissions = true, .exclusive = true};
	rc = steward_open(&so, &st, &e);
	wipe_free(passphrase);
	int64_t id = 0, expires = 0;
	struct actor sys = {.user_id = 0, .via = "cli"};
	if (rc == ST_OK)
		rc = user_find(st, admin, &id, &e);
	if (rc == ST_OK)
		rc = auth_enrollment_code_issue(st, &sys, id, code, &expires, &e);
	if (st)
		steward_close(st);
	if (rc == ST_OK && codefile) {
		char *line = xasprintf("%s\n", code);
		rc = file_write_atomic(codefile, line, strlen(line), 0600, false, &e);
		secure_free_plain(line, strlen(line));
	}
	if (rc != ST_OK) {
		secure_wipe(code, sizeof(code));
		fprintf(stderr, "steward: the data directory was created, but the administrator's "
				"enrolment code could not be issued; issue one with 'steward users reset "
				"--data %s --user %s --reason \"first enrolment\"'\n",
			data, admin);
		return cli_fail(&e);
	}
	time_format(expires, until);
	if (codefile)
		printf("the administrator's multi-factor enrolment code is in %s (works once, until "
		       "%s)\n",
		       codefile, until);
	else
		printf("the administrator's multi-factor enrolment code: %s (works once, until %s)\n",
		       code, until);
	printf("sign in, then set up multi-factor with 'steward mfa enroll --code CODE'\n");
	secure_wipe(code, sizeof(code));
	return 0;
}

int cmd_migrate(int argc, char **argv)
{
	const char *data = NULL;
	const struct cli_opt opts[] = {
		{"data", &data, NULL, "the data directory (or $STEWARD_DATA)"},
		{NULL, NULL, NULL, NULL},
	};
	const char *pos[1];
	int npos;
	if (cli_parse(argc, argv, opts, pos, 0, &npos) != 0)
		return 2;
	data = cli_data_dir(data);
	if (!data) {
		fprintf(stderr, "steward: migrate needs --data DIR\n");
		return 2;
	}
	struct st_error e = {0};
	if (steward_migrate(data, &e) != ST_OK)
		return cli_fail(&e);
	printf("schema is up to date\n");
	return 0;
}

int cmd_serve(int argc, char **argv)
{
	const char *data = NULL, *listen = "127.0.0.1:8080", *ppfile = NULL, *cert = NULL,
		   *key = NULL, *threads = NULL, *portfile = NULL, *idle = NULL, *maxage = NULL,
		   *lock_after = NULL, *throttle_after = NULL, *per_address = NULL,
		   *proxies = NULL, *connections = NULL, *loops = NULL, *header_timeout = NULL,
		   *body_timeout = NULL, *witness_help = NULL, *publish_to = NULL,
		   *publish_pwfile = NULL, *publish_interval = NULL;
	struct cli_list witnesses = {0};
	struct publish_options po = {0};
	const struct cli_opt opts[] = {
		{"data", &data, NULL, "the data directory (or $STEWARD_DATA)"},
		{"listen", &listen, NULL, "ADDRESS:PORT to listen on (default 127.0.0.1:8080)"},
		{"passphrase-file", &ppfile, NULL,
		 "file holding the master key passphrase (or $STEWARD_PASSPHRASE)"},
		{"tls-cert", &cert, NULL, "PEM certificate: serve HTTPS"},
		{"tls-key", &key, NULL, "PEM private key (mode 0600)"},
		{"threads", &threads, NULL,
		 "worker threads for requests that may wait: sign-ins, changes, log queries "
		 "(default 12)"},
		{"connections", &connections, NULL, "connections open at once (default 1024)"},
		{"loop-threads", &loops, NULL,
		 "event-loop threads, which serve the connections and answer reads (default 2)"},
		{"per-address", &per_address, NULL,
		 "concurrent connections from one client address (default 64)"},
		{"header-timeout", &header_timeout, NULL,
		 "seconds a request's line and headers may take to arrive (default 10)"},
		{"body-timeout", &body_timeout, NULL,
		 "seconds a request's body may take to arrive after its headers (default 60)"},
		{"port-file", &portfile, NULL, "write the port actually bound here"},
		{"session-idle", &idle, NULL, "seconds of inactivity that end a session (default 1800)"},
		{"session-max", &maxage, NULL, "seconds a session lasts at most (default 43200)"},
		{"lock-after", &lock_after, NULL,
		 "failed sign-ins that lock an account for 15 minutes (default 10)"},
		{"trusted-proxy", &proxies, NULL,
		 "reverse proxies (addresses, comma-separated) whose X-Forwarded-For names the "
		 "client"},
		{"throttle-after", &throttle_after, NULL,
		 "failed sign-ins from one address, within 15 minutes, that stop its sign-ins "
		 "(default 30)"},
		{"witness", &witness_help, NULL,
		 "a witness file outside the data directory (steward audit witness creates it): "
		 "the log must extend it, and it is advanced with every checkpoint; repeatable"},
		{"publish-smtp", &po.smtp_url, NULL,
		 "mail the signed checkpoint through smtp://HOST[:PORT] or smtps://"},
		{"publish-from", &po.from, NULL, "the sender's mail address"},
		{"publish-to", &publish_to, NULL, "recipients' mail addresses, comma-separated"},
		{"publish-smtp-user", &po.smtp_user, NULL, "SMTP user name (then TLS is required)"},
		{"publish-smtp-password-file", &publish_pwfile, NULL, "file holding the SMTP password"},
		{"publish-post", &po.post_url, NULL, "post the signed checkpoint to this https:// URL"},
		{"publish-interval", &publish_interval, NULL,
		 "seconds between publications (default 86400: daily); one at start"},
		{NULL, NULL, NULL, NULL},
	};
	const char *pos[1];
	int npos;
	if (cli_take_repeated(&argc, argv, "witness", &witnesses) != 0 ||
	    cli_parse(argc, argv, opts, pos, 0, &npos) != 0)
		return 2;
	data = cli_data_dir(data);
	if (!data) {
		fprintf(stderr, "steward: serve needs --data DIR\n");
		return 2;
	}
	int64_t nthreads = 0, nper = 0, nidle = 0, nmax = 0, nlock = 0, nthrottle = 0, nconns = 0,
		nloops = 0, nheader = 0, nbody = 0;
	if (threads && (!str_to_i64(threads, &nthreads) || nthreads < 1 || nthreads > 4096)) {
		fprintf(stderr, "steward: --threads must be between 1 and 4096\n");
		return 2;
	}
	if (connections &&
	    (!str_to_i64(connections, &nconns) || nconns < 1 || nconns > 65536)) {
		fprintf(stderr, "steward: --connections must be between 1 and 65536\n");
		return 2;
	}
	if (loops && (!str_to_i64(loops, &nloops) || nloops < 1 || nloops > 64)) {
		fprintf(stderr, "steward: --loop-threads must be between 1 and 64\n");
		return 2;
	}
	if (per_address &&
	    (!str_to_i64(per_address, &nper) || nper < 1 || nper > 4096)) {
		fprintf(stderr, "steward: --per-address must be between 1 and 4096\n");
		return 2;
	}
	if (header_timeout &&
	    (!str_to_i64(header_timeout, &nheader) || nheader < 1 || nheader > 3600)) {
		fprintf(stderr, "steward: --header-timeout must be between 1 and 3600 seconds\n");
		return 2;
	}
	if (body_timeout && (!str_to_i64(body_timeout, &nbody) || nbody < 1 || nbody > 3600)) {
		fprintf(stderr, "steward: --body-timeout must be between 1 and 3600 seconds\n");
		return 2;
	}
	if ((idle && (!str_to_i64(idle, &nidle) || nidle < 1)) ||
	    (maxage && (!str_to_i64(maxage, &nmax) || nmax < 1)) ||
	    (lock_after && (!str_to_i64(lock_after, &nlock) || nlock < 1 || nlock > 1000)) ||
	    (throttle_after &&
	     (!str_to_i64(throttle_after, &nthrottle) || nthrottle < 1 || nthrottle > 100000))) {
		fprintf(stderr, "steward: --session-idle, --session-max, --lock-after and "
				"--throttle-after take positive numbers\n");
		return 2;
	}
	int64_t ninterval = 86400;
	if (publish_interval &&
	    (!str_to_i64(publish_interval, &ninterval) || ninterval < 1 || ninterval > 31 * 86400)) {
		fprintf(stderr, "steward: --publish-interval takes seconds, 1 to 2678400\n");
		return 2;
	}
	po.interval_s = ninterval;
	/* SIGTERM and SIGINT are taken by the server's main thread alone
	 * (sigwait): every thread started before it — the access log's, the
	 * publisher — blocks them, so that a stop is never delivered to one of
	 * them (which would end the process without the final checkpoint). */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	struct st_error e = {0};
	char *tocopy = NULL, *smtp_password = NULL;
	int rc = cli_publish_options(&po, publish_to, publish_pwfile, &tocopy, &smtp_password, &e);
	if (rc == ST_OK)
		rc = publish_validate(&po, &e);
	struct steward *st = NULL;
	if (rc == ST_OK)
		rc = cli_open_data_witnessed(data, ppfile, true, witnesses.item, witnesses.n, &st,
					     &e);
	struct publisher *pub = NULL;
	if (rc == ST_OK)
		rc = publisher_start(st, &po, &pub, &e);
	if (rc != ST_OK) {
		steward_close(st);
		free(tocopy);
		if (smtp_password)
			secure_free_plain(smtp_password, strlen(smtp_password));
		return cli_fail(&e);
	}
	struct auth_settings as = {.idle_seconds = nidle, .max_seconds = nmax,
				   .lock_after = (int)nlock, .client_limit = (int)nthrottle};
	auth_configure(st, &as);
	struct server_options so = {.listen = listen, .tls_cert = cert, .tls_key = key,
				    .threads = (int)nthreads, .per_address = (int)nper,
				    .connections = (int)nconns, .loop_threads = (int)nloops,
				    .header_timeout = (int)nheader, .body_timeout = (int)nbody,
				    .port_file = portfile, .trusted_proxies = proxies};
	rc = server_run(st, &so, &e);
	publisher_stop(pub);
	steward_close(st);
	free(tocopy);
	if (smtp_password)
		secure_free_plain(smtp_password, strlen(smtp_password));
	if (rc != ST_OK)
		return cli_fail(&e);
	return 0;
}

/* Removes a backup that failed: the directory it made and what is in it. */
static void remove_partial(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d)))
		if (!str_eq(de->d_name, ".") && !str_eq(de->d_name, "..")) {
			char *p = xasprintf("%s/%s", dir, de->d_name);
			unlink(p);
			free(p);
		}
	closedir(d);
	rmdir(dir);
}

int cmd_backup(int argc, char **argv)
{
	const char *data = NULL, *to = NULL;
	const struct cli_opt opts[] = {
		{"data", &data, NULL, "the data directory (or $STEWARD_DATA)"},
		{"to", &to, NULL, "a new directory for the backup"},
		{NULL, NULL, NULL, NULL},
	};
	const char *pos[1];
	int npos;
	if (cli_parse(argc, argv, opts, pos, 0, &npos) != 0)
		return 2;
	data = cli_data_dir(data);
	if (!data || !to) {
		fprintf(stderr, "steward: backup needs --data DIR and --to NEW_DIR\n");
		return 2;
	}
	struct st_error e = {0};
	if (file_exists(to)) {
		fprintf(stderr, "steward: %s exists (a backup goes into a new directory)\n", to);
		return 5;
	}
	/* built beside its place and put there only once it verifies: a
	 * failed backup leaves nothing that looks like one */
	char *partial = xasprintf("%s.partial", to);
	bool running = false;
	int rc = steward_backup(data, partial, &running, &e) == ST_OK ? 0 : cli_fail(&e);
	if (rc == 0) {
		printf("copied %s%s\n", data, running ? " (beside the running server)" : "");
		char *verify_argv[] = {(char *)"--data", partial, NULL};
		rc = cmd_audit_verify(2, verify_argv);
		if (rc != 0)
			fprintf(stderr, "steward: the backup's access log does not verify\n");
	}
	if (rc == 0 && rename(partial, to) != 0) {
		fprintf(stderr, "steward: cannot rename %s to %s: %s\n", partial, to,
			strerror(errno));
		rc = 1;
	}
	if (rc == 0) {
		char *parent = xstrdup(to);
		char *slash = strrchr(parent, '/');
		if (slash)
			*slash = '\0';
		fsync_dir(slash ? (parent[0] ? parent : "/") : ".");
		free(parent);
		printf("backup in %s\nnot copied: keys/ (back the master key up separately, never "
		       "with the data: docs/operations.md), the journal and the query index "
		       "(rebuilt)\n",
		       to);
	} else if (rc != 5 || file_exists(partial)) {
		remove_partial(partial);
	}
	free(partial);
	return rc;
}

int cmd_keys_rotate(int argc, char **argv)
{
	const char *data = NULL, *ppfile = NULL, *newpp = NULL;
	const struct cli_opt opts[] = {
		{"data", &data, NULL, "the data directory (or $STEWARD_DATA)"},
		{"passphrase-file", &ppfile, NULL, "the current passphrase (passphrase keys)"},
		{"new-passphrase-file", &newpp, NULL, "a new passphrase for the new version"},
		{NULL, NULL, NULL, NULL},
	};
	const char *pos[1];
	int npos;
	if (cli_parse(argc, argv, opts, pos, 0, &npos) != 0)
		return 2;
	data = cli_data_dir(data);
	if (!data) {
		fprintf(stderr, "steward: keys rotate needs --data DIR\n");
		return 2;
	}
	struct st_error e = {0};
	struct steward *st = NULL;
	char *newpass = NULL;
	if (newpp && cli_read_secret(newpp, NULL, false, &newpass, &e) != ST_OK)
		return cli_fail(&e);
	if (cli_open_data(data, ppfile, true, &st, &e) != ST_OK) {
		wipe_free(newpass);
		return cli_fail(&e);
	}
	struct actor who = {.user_id = 0, .via = "cli"};
	struct rotation_report r;
	int rc = steward_keys_rotate(st, &who, newpass, &r, &e);
	wipe_free(newpass);
	steward_close(st);
	if (rc != ST_OK)
		return cli_fail(&e);
	printf("master key rotated: version %d -> %d; %lld keys rewrapped; %d old "
	       "version(s) destroyed\n",
	       r.from_version, r.to_version, (long long)r.rewrapped, r.destroyed_versions);
	return 0;
}
