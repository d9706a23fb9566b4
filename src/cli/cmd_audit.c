/*
 * cmd_audit.c - local commands on the access log: verify the whole log
 * (against its witnesses), create a witness outside the data directory,
 * publish the newest checkpoint, export an evidence package, and check a
 * package (which needs nothing but the package, so an auditor or the
 * police can run it anywhere).
 */
#include "audit/audit.h"
#include "cli/cli.h"
#include "cli/publish.h"
#include "core/context.h"

/* Reads "steward-audit-signing-key ed25519 HEX". */
static int read_public_key(const char *path, unsigned char pk[SIGN_PUBLIC_BYTES],
			   struct st_error *e)
{
	char *text = NULL;
	size_t len = 0;
	int rc = file_read_all(path, 4096, &text, &len, e);
	if (rc != ST_OK)
		return rc;
	char hex[2 * SIGN_PUBLIC_BYTES + 2] = "";
	if (sscanf(text, "steward-audit-signing-key ed25519 %65s", hex) != 1 ||
	    hex_decode(hex, pk, SIGN_PUBLIC_BYTES) != ST_OK)
		rc = err_set(e, ST_EINVAL, NULL, "%s is not a Steward access-log public key", path);
	free(text);
	return rc;
}

/* What verify, witness and publish share: the log of a data directory,
 * its key, the journal key when the master key is at hand, and the
 * witnesses (the directory's own first). */
struct log_check {
	const char *data;
	const char *pubfile;
	const char *ppfile;
	struct cli_list witnesses; /* --witness */
	unsigned char pk[SIGN_PUBLIC_BYTES];
	char *db;
	struct audit_verify_report r;
	bool keyed; /* the journal could be authenticated */
	struct st_error key_err;
};

/* Verifies the log; prints what failed (returns the exit code) or nothing. */
static int check_log(struct log_check *lc)
{
	struct st_error e = {0};
	if (crypto_setup(&e) != ST_OK)
		return cli_fail(&e);
	char *pub = lc->pubfile ? xstrdup(lc->pubfile) : xasprintf("%s/audit-signing.pub", lc->data);
	int rc = read_public_key(pub, lc->pk, &e);
	free(pub);
	if (rc != ST_OK)
		return cli_fail(&e);
	lc->db = xasprintf("%s/audit.db", lc->data);
	char *own = xasprintf("%s/audit-witness.json", lc->data);
	const char *witnesses[CLI_LIST_MAX + 1];
	witnesses[0] = own;
	for (size_t i = 0; i < lc->witnesses.n; i++)
		witnesses[i + 1] = lc->witnesses.item[i];
	/* the journal's records are authenticated with a key the master key
	 * unwraps: with the key file, or the passphrase when it is one */
	char *passphrase = NULL;
	unsigned char *jkey = secure_alloc(KEY_BYTES);
	if (cli_passphrase(lc->ppfile, &passphrase, &lc->key_err) == ST_OK)
		lc->keyed = steward_journal_key(lc->data, passphrase, jkey, &lc->key_err) == ST_OK;
	if (passphrase)
		secure_free_plain(passphrase, strlen(passphrase));
	struct audit_verify_options vo = {.db_path = lc->db, .pk = lc->pk,
					  .journal_key = lc->keyed ? jkey : NULL,
					  .witnesses = witnesses,
					  .nwitnesses = lc->witnesses.n + 1};
	rc = audit_verify(&vo, &lc->r, &e);
	secure_free(jkey);
	free(own);
	if (rc != ST_OK) {
		if (lc->r.bad_seq >= 0)
			fprintf(stderr, "steward: access log verification FAILED at entry %lld\n",
				(long long)lc->r.bad_seq);
		else
			fprintf(stderr, "steward: access log verification FAILED\n");
		if (!lc->keyed && lc->key_err.message[0])
			fprintf(stderr, "steward: (the journal key was not at hand: %s)\n",
				lc->key_err.message);
		return cli_fail(&e);
	}
	return 0;
}

static void log_check_release(struct log_check *lc)
{
	free(lc->db);
}

int cmd_audit_verify(int argc, char **argv)
{
	struct log_check lc = {0};
	const char *witness_help = NULL;
	const struct cli_opt opts[] = {
		{"data", &lc.data, NULL, "the data directory (or $STEWARD_DATA)"},
		{"public-key", &lc.pubfile, NULL, "the log's public key (default DIR/audit-signing.pub)"},
		{"witness", &witness_help, NULL,
		 "a checkpoint kept outside the data directory (a witness file, a saved mail or "
		 "posted body): the log must be a consistent extension of it; repeatable"},
		{"passphrase-file", &lc.ppfile, NULL,
		 "the master key passphrase (or $STEWARD_PASSPHRASE), to authenticate entries not "
		 "yet signed"},
		{NULL, NULL, NULL, NULL},
	};
	const char *pos[1];
	int npos;
	if (cli_take_repeated(&argc, argv, "witness", &lc.witnesses) != 0 ||
	    cli_parse(argc, argv, opts, pos, 0, &npos) != 0)
		return 2;
	lc.data = cli_data_dir(lc.data);
	if (!lc.data) {
		fprintf(stderr, "steward: audit verify needs --data DIR\n");
		return 2;
	}
	int rc = check_log(&lc);
	if (rc != 0) {
		log_check_release(&lc);
		return rc;
	}
	struct audit_verify_report *r = &lc.r;
	char *root = hex_encode(r->root, HASH_BYTES);
	printf("access log verified: %llu entries, root %s\n", (unsigned long long)r->tree_size,
	       root);
	printf("%llu signed checkpoints; the newest covers %llu entries",
	       (unsigned long long)r->checkpoints, (unsigned long long)r->last_checkpoint_size);
	if (r->unsigned_tail)
		printf(" (%llu newer entries, authenticated by the journal, await the next "
		       "checkpoint)",
		       (unsigned long long)r->unsigned_tail);
	if (r->journal_tail)
		printf("; %llu entries are still only in the journal (a running server moves "
		       "them into the log; after a crash, the next open does)",
		       (unsigned long long)r->journal_tail);
	printf("\n");
	printf("consistent with %llu witness%s (the largest at %llu entries)\n",
	       (unsigned long long)r->witnesses, r->witnesses == 1 ? "" : "es",
	       (unsigned long long)r->witnessed_size);
	free(root);
	log_check_release(&lc);
	return 0;
}

/* The log's newest signed checkpoint, read as any reader would. */
static int newest_checkpoint(struct log_check *lc, struct audit_checkpoint *cp, struct st_error *e)
{
	struct audit_options ao = {.path = lc->db, .sign_pk = lc->pk};
	struct audit_log *log = NULL;
	int rc = audit_open(&ao, &log, e);
	if (rc == ST_OK)
		rc = audit_latest_checkpoint(log, cp, e);
	audit_close(log);
	if (rc == ST_OK && (!audit_checkpoint_valid(cp, lc->pk) ||
			    cp->tree_size < lc->r.last_checkpoint_size))
		rc = err_set(e, ST_ECRYPTO, NULL, "the newest checkpoint changed while it was read");
	return rc;
}

int cmd_audit_witness(int argc, char **argv)
{
	struct log_check lc = {0};
	const struct cli_opt opts[] = {
		{"data", &lc.data, NULL, "the data directory (or $STEWARD_DATA)"},
		{"public-key", &lc.pubfile, NULL, "the log's public key (default DIR/audit-signing.pub)"},
		{"passphrase-file", &lc.ppfile, NULL,
		 "the master key passphrase (or $STEWARD_PASSPHRASE)"},
		{NULL, NULL, NULL, NULL},
	};
	const char *pos[1];
	int npos;
	if (cli_parse(argc, argv, opts, pos, 1, &npos) != 0)
		return 2;
	lc.data = cli_data_dir(lc.data);
	if (!lc.data || npos != 1) {
		fprintf(stderr, "steward: audit witness needs --data DIR and the new witness FILE\n");
		return 2;
	}
	if (file_exists(pos[0])) {
		fprintf(stderr,
			"steward: %s exists: a witness is never replaced by hand (the server "
			"advances it; move it aside only to accept a log older than it)\n",
			pos[0]);
		return 5;
	}
	int rc = check_log(&lc);
	struct st_error e = {0};
	struct audit_checkpoint cp;
	if (rc == 0 && newest_checkpoint(&lc, &cp, &e) != ST_OK)
		rc = cli_fail(&e);
	if (rc == 0) {
		char log_id[40];
		audit_log_id(lc.pk, log_id);
		char *text = audit_witness_text(&cp, log_id);
		if (file_write_atomic(pos[0], text, strlen(text), 0600, true, &e) != ST_OK)
			rc = cli_fail(&e);
		else
			printf("witness %s holds the verified checkpoint of %llu entries; name it "
			       "with steward serve --witness\n",
			       pos[0], (unsigned long long)cp.tree_size);
		free(text);
	}
	log_check_release(&lc);
	return rc;
}

int cmd_audit_publish(int argc, char **argv)
{
	struct log_check lc = {0};
	struct publish_options po = {0};
	const char *to = NULL, *pwfile = NULL;
	const struct cli_opt opts[] = {
		{"data", &lc.data, NULL, "the data directory (or $STEWARD_DATA)"},
		{"public-key", &lc.pubfile, NULL, "the log's public key (default DIR/audit-signing.pub)"},
		{"passphrase-file", &lc.ppfile, NULL,
		 "the master key passphrase (or $STEWARD_PASSPHRASE)"},
		{"publish-smtp", &po.smtp_url, NULL, "mail it through smtp://HOST[:PORT] or smtps://"},
		{"publish-from", &po.from, NULL, "the sender's mail address"},
		{"publish-to", &to, NULL, "recipients' mail addresses, comma-separated"},
		{"publish-smtp-user", &po.smtp_user, NULL, "SMTP user name (then TLS is required)"},
		{"publish-smtp-password-file", &pwfile, NULL, "file holding the SMTP password"},
		{"publish-post", &po.post_url, NULL, "post it to this https:// URL"},
		{NULL, NULL, NULL, NULL},
	};
	const char *pos[1];
	int npos;
	if (cli_parse(argc, argv, opts, pos, 0, &npos) != 0)
		return 2;
	lc.data = cli_data_dir(lc.data);
	if (!lc.data) {
		fprintf(stderr, "steward: audit publish needs --data DIR\n");
		return 2;
	}
	struct st_error e = {0};
	char *tocopy = NULL, *password = NULL;
	int rc = cli_publish_options(&po, to, pwfile, &tocopy, &password, &e) == ST_OK
			 ? 0
			 : cli_fail(&e);
	if (rc == 0 && !publish_configured(&po)) {
		fprintf(stderr, "steward: audit publish needs --publish-smtp or --publish-post\n");
		rc = 2;
	}
	if (rc == 0 && publish_validate(&po, &e) != ST_OK)
		rc = cli_fail(&e);
	if (rc == 0)
		rc = check_log(&lc);
	struct audit_checkpoint cp;
	if (rc == 0 && newest_checkpoint(&lc, &cp, &e) != ST_OK)
		rc = cli_fail(&e);
	if (rc == 0) {
		char log_id[40];
		audit_log_id(lc.pk, log_id);
		if (publish_checkpoint(&po, &cp, log_id, &e) != ST_OK)
			rc = cli_fail(&e);
		else
			printf("published the verified checkpoint of %llu entries\n",
			       (unsigned long long)cp.tree_size);
	}
	if (password)
		secure_free_plain(password, strlen(password));
	free(tocopy);
	log_check_release(&lc);
	return rc;
}

static int parse_when(const char *s, const char *name, int64_t *us, struct st_error *e)
{
	int64_t sec = 0;
	if (!s || time_parse(s, &sec) != ST_OK)
		return err_set(e, ST_EINVAL, name,
			       "--%s must be a date (YYYY-MM-DD) or a UTC time (YYYY-MM-DDTHH:MM:SSZ)",
			       name);
	*us = sec * 1000000;
	return ST_OK;
}

/* With --data, offline from the data directory (the server stopped, for
 * instance to examine it after an incident): logged as the system. Without,
 * a client of the server like every business command. */
int cmd_audit_export(int argc, char **argv)
{
	bool local = false;
	/* (--help shows these options: the server's, and --data's) */
	for (int i = 0; i < argc; i++)
		local |= str_eq(argv[i], "--data") || str_has_prefix(argv[i], "--data=") ||
			 str_eq(argv[i], "--help") || str_eq(argv[i], "-h");
	if (!local)
		return cmd_audit_export_remote(argc, argv);
	const char *data = NULL, *from = NULL, *to = NULL, *user = NULL, *subject = NULL,
		   *outpath = NULL, *ppfile = NULL;
	const struct cli_opt opts[] = {
		{"data", &data, NULL,
		 "work offline on the data directory (or $STEWARD_DATA), logged as the system; "
		 "without it, the signed-in person asks the server"},
		{"from", &from, NULL, "start of the window (inclusive)"},
		{"to", &to, NULL, "end of the window (exclusive)"},
		{"user", &user, NULL, "only events of this user id"},
		{"subject", &subject, NULL, "only events about this subject id"},
		{"out", &outpath, NULL, "the package file to write"},
		{"passphrase-file", &ppfile, NULL, "the master key passphrase (passphrase keys)"},
		{NULL, NULL, NULL, NULL},
	};
	const char *pos[1];
	int npos;
	if (cli_parse(argc, argv, opts, pos, 0, &npos) != 0)
		return 2;
	data = cli_data_dir(data);
	if (!data || !from || !to || !outpath) {
		fprintf(stderr, "steward: audit export needs --data, --from, --to and --out\n");
		return 2;
	}
	struct st_error e = {0};
	struct audit_export_options o = {0};
	if (parse_when(from, "from", &o.from_us, &e) || parse_when(to, "to", &o.to_us, &e))
		return cli_fail(&e);
	if ((user && (!str_to_i64(user, &o.user_id) || o.user_id <= 0)) ||
	    (subject && (!str_to_i64(subject, &o.subject_id) || o.subject_id <= 0))) {
		fprintf(stderr, "steward: --user and --subject take numeric ids\n");
		return 2;
	}
	char *passphrase = NULL;
	if (cli_passphrase(ppfile, &passphrase, &e) != ST_OK)
		return cli_fail(&e);
	struct steward_options so = {.dir = data, .passphrase = passphrase,
				     .check_permissions = true};
	struct steward *st = NULL;
	int rc = steward_open(&so, &st, &e);
	if (passphrase)
		secure_free_plain(passphrase, strlen(passphrase));
	if (rc != ST_OK)
		return cli_fail(&e);
	json_t *pkg = NULL;
	rc = audit_export(st->audit, &o, &pkg, &e);
	if (rc == ST_OK) {
		json_t *detail = json_pack("{s:s, s:s, s:I, s:I, s:I}", "from", from, "to", to,
					   "user", (json_int_t)o.user_id, "subject",
					   (json_int_t)o.subject_id, "entries",
					   (json_int_t)json_array_size(json_object_get(pkg, "entries")));
		struct actor who = {.user_id = 0, .via = "cli"};
		struct audit_event ev = {.action = "audit.export", .outcome = "allow",
					 .subject_id = o.subject_id, .detail = detail};
		rc = steward_audit(st, &who, &ev, NULL, &e);
		json_decref(detail);
	}
	if (rc == ST_OK) {
		char *text = json_dumps(pkg, JSON_INDENT(1) | JSON_SORT_KEYS);
		rc = file_write_atomic(outpath, text, strlen(text), 0600, false, &e);
		free(text);
	}
	if (rc == ST_OK)
		printf("wrote %s: %zu entries in window [%lld, %lld) of a log of %lld entries\n",
		       outpath, json_array_size(json_object_get(pkg, "entries")),
		       (long long)json_integer_value(json_object_get(json_object_get(pkg, "range"), "start")),
		       (long long)json_integer_value(json_object_get(json_object_get(pkg, "range"), "end")),
		       (long long)json_integer_value(json_object_get(json_object_get(pkg, "checkpoint"), "tree_size")));
	json_decref(pkg);
	steward_close(st);
	return rc == ST_OK ? 0 : cli_fail(&e);
}

int cmd_audit_verify_proof(int argc, char **argv)
{
	const char *pubfile = NULL;
	const struct cli_opt opts[] = {
		{"public-key", &pubfile, NULL,
		 "the district's published access-log key, to pin (recommended)"},
		{NULL, NULL, NULL, NULL},
	};
	const char *pos[1];
	int npos;
	if (cli_parse(argc, argv, opts, pos, 1, &npos) != 0)
		return 2;
	if (npos != 1) {
		fprintf(stderr, "steward: audit verify-proof needs the package FILE\n");
		return 2;
	}
	struct st_error e = {0};
	if (crypto_setup(&e) != ST_OK)
		return cli_fail(&e);
	unsigned char pk[SIGN_PUBLIC_BYTES];
	if (pubfile && read_public_key(pubfile, pk, &e) != ST_OK)
		return cli_fail(&e);
	char *text = NULL;
	size_t len = 0;
	if (file_read_all(pos[0], (size_t)1 << 31, &text, &len, &e) != ST_OK)
		return cli_fail(&e);
	json_error_t je;
	json_t *pkg = json_loadb(text, len, 0, &je);
	free(text);
	if (!pkg) {
		fprintf(stderr, "steward: %s is not JSON (line %d: %s)\n", pos[0], je.line, je.text);
		return 6;
	}
	struct audit_package_report r;
	int rc = audit_verify_package(pkg, pubfile ? pk : NULL, &r, &e);
	json_decref(pkg);
	if (rc != ST_OK) {
		fprintf(stderr, "steward: evidence package verification FAILED\n");
		return cli_fail(&e);
	}
	printf("evidence package verified: %llu entries; the window holds events %llu to %llu "
	       "with none left out; signed checkpoint of %llu entries, root %s; log %s%s\n",
	       (unsigned long long)r.entries, (unsigned long long)r.window_start,
	       (unsigned long long)(r.window_end ? r.window_end - 1 : 0),
	       (unsigned long long)r.tree_size, r.root_hex, r.log_id,
	       pubfile ? " (key pinned)" : " (key not pinned: compare the log id with the district's)");
	return 0;
}
