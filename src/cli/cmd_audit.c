/*
 * cmd_audit.c - local commands on the access log: verify the whole log,
 * export an evidence package, and check a package (which needs nothing but
 * the package, so an auditor or the police can run it anywhere).
 */
#include "audit/audit.h"
#include "cli/cli.h"
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

int cmd_audit_verify(int argc, char **argv)
{
	const char *data = NULL, *witness = NULL, *pubfile = NULL;
	const struct cli_opt opts[] = {
		{"data", &data, NULL, "the data directory (or $STEWARD_DATA)"},
		{"public-key", &pubfile, NULL, "the log's public key (default DIR/audit-signing.pub)"},
		{"witness", &witness, NULL,
		 "a checkpoint kept outside the data directory: the log must not be older; "
		 "created on first use, then advanced"},
		{NULL, NULL, NULL, NULL},
	};
	const char *pos[1];
	int npos;
	if (cli_parse(argc, argv, opts, pos, 0, &npos) != 0)
		return 2;
	data = cli_data_dir(data);
	if (!data) {
		fprintf(stderr, "steward: audit verify needs --data DIR\n");
		return 2;
	}
	struct st_error e = {0};
	if (crypto_setup(&e) != ST_OK)
		return cli_fail(&e);
	unsigned char pk[SIGN_PUBLIC_BYTES];
	char *pub = pubfile ? xstrdup(pubfile) : xasprintf("%s/audit-signing.pub", data);
	int rc = read_public_key(pub, pk, &e);
	free(pub);
	if (rc != ST_OK)
		return cli_fail(&e);
	char *db = xasprintf("%s/audit.db", data);
	char *own = xasprintf("%s/audit-witness.json", data);
	struct audit_verify_report r;
	/* the data directory's own witness first, then the outside one */
	rc = audit_verify(db, pk, own, &r, &e);
	if (rc == ST_OK && witness && file_exists(witness))
		rc = audit_verify(db, pk, witness, &r, &e);
	free(own);
	if (rc != ST_OK) {
		free(db);
		if (r.bad_seq >= 0)
			fprintf(stderr, "steward: access log verification FAILED at entry %lld\n",
				(long long)r.bad_seq);
		return cli_fail(&e);
	}
	char *root = hex_encode(r.root, HASH_BYTES);
	printf("access log verified: %llu entries, root %s\n", (unsigned long long)r.tree_size,
	       root);
	printf("%llu signed checkpoints; the newest covers %llu entries", (unsigned long long)r.checkpoints,
	       (unsigned long long)r.last_checkpoint_size);
	if (r.unsigned_tail)
		printf(" (%llu newer entries await the next checkpoint)",
		       (unsigned long long)r.unsigned_tail);
	if (r.journal_tail)
		printf("; %llu entries are still only in the journal (a running server moves "
		       "them into the log; after a crash, the next open does)",
		       (unsigned long long)r.journal_tail);
	printf("\n");
	free(root);
	if (witness && r.last_checkpoint_size) {
		/* Advance the outside witness to the newest verified checkpoint. */
		struct audit_options ao = {.path = db, .sign_pk = pk};
		struct audit_log *log = NULL;
		struct audit_checkpoint cp;
		if (audit_open(&ao, &log, &e) == ST_OK &&
		    audit_latest_checkpoint(log, &cp, &e) == ST_OK) {
			json_t *j = audit_checkpoint_json(&cp);
			char *text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
			if (file_write_atomic(witness, text, strlen(text), 0600, false, &e) == ST_OK)
				printf("witness %s now holds the checkpoint at %llu entries\n", witness,
				       (unsigned long long)cp.tree_size);
			free(text);
			json_decref(j);
		}
		audit_close(log);
	}
	free(db);
	return 0;
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
