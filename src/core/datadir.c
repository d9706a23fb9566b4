/*
 * datadir.c - creating, opening and closing a data directory: the
 * composition root that wires the key ring, the stores, the inventory and
 * (as they arrive) the access log and the rules into one struct steward.
 *
 * steward_init builds the whole directory under a temporary name and renames
 * it into place only when complete, so a failed init leaves nothing behind
 * and a second init on the same directory is refused.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "core/context.h"
#include "core/defaults.h"
#include "access/access_internal.h"
#include "auth/auth_internal.h"
#include "people/people.h"

#define MAIN_DB "steward.db"
#define AUDIT_DB "audit.db"
#define WITNESS_FILE "audit-witness.json"
#define LOCK_FILE "steward.lock"
#define SIGNING_PUB "audit-signing.pub"

char *steward_path(const struct steward *st, const char *name)
{
	return xasprintf("%s/%s", st->dir, name);
}

const char *steward_dir(const struct steward *st)
{
	return st->dir;
}

int steward_schema_version(struct steward *st)
{
	return st->schema_version;
}

struct inventory *steward_inventory(struct steward *st)
{
	pthread_mutex_lock(&st->inventory_lock);
	struct inventory *inv = inventory_ref(st->inventory);
	pthread_mutex_unlock(&st->inventory_lock);
	return inv;
}

struct policy *steward_policy(struct steward *st)
{
	pthread_mutex_lock(&st->inventory_lock);
	struct policy *p = st->policy ? policy_ref(st->policy) : NULL;
	pthread_mutex_unlock(&st->inventory_lock);
	return p;
}

void steward_set_policy(struct steward *st, struct policy *p)
{
	pthread_mutex_lock(&st->inventory_lock);
	struct policy *old = st->policy;
	st->policy = p;
	pthread_mutex_unlock(&st->inventory_lock);
	policy_unref(old);
}

void steward_set_inventory(struct steward *st, struct inventory *inv)
{
	pthread_mutex_lock(&st->inventory_lock);
	struct inventory *old = st->inventory;
	st->inventory = inv;
	pthread_mutex_unlock(&st->inventory_lock);
	inventory_unref(old);
}

/* True if dir holds anything at all (a data directory or other files). */
static int dir_state(const char *dir, bool *exists, bool *empty, bool *is_datadir)
{
	*exists = *empty = *is_datadir = false;
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? ST_OK : ST_EIO;
	*exists = true;
	*empty = true;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (str_eq(de->d_name, ".") || str_eq(de->d_name, ".."))
			continue;
		*empty = false;
		if (str_eq(de->d_name, MAIN_DB) || str_eq(de->d_name, "keys"))
			*is_datadir = true;
	}
	closedir(d);
	return ST_OK;
}

static void remove_tree(const char *path)
{
	DIR *d = opendir(path);
	if (d) {
		struct dirent *de;
		while ((de = readdir(d))) {
			if (str_eq(de->d_name, ".") || str_eq(de->d_name, ".."))
				continue;
			char *p = xasprintf("%s/%s", path, de->d_name);
			struct stat st;
			if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
				remove_tree(p);
			else
				unlink(p);
			free(p);
		}
		closedir(d);
	}
	rmdir(path);
}

static int load_series(struct store_conn *c, struct st_error *e)
{
	json_t *doc = NULL;
	int rc = json_parse_object((const char *)default_series, default_series_len, &doc, e);
	if (rc != ST_OK)
		return rc;
	json_t *list = json_object_get(doc, "series");
	size_t i;
	json_t *s;
	json_array_foreach(list, i, s) {
		rc = store_run(c, e,
			       "INSERT INTO retention_series (code, title, retention, trigger_event, "
			       "disposition, example, note) VALUES (?, ?, ?, ?, ?, 1, ?)",
			       "tttttt", json_string_value(json_object_get(s, "code")),
			       json_string_value(json_object_get(s, "title")),
			       json_string_value(json_object_get(s, "retention")),
			       json_string_value(json_object_get(s, "trigger")),
			       json_string_value(json_object_get(s, "disposition")),
			       "example only: replace with the district's schedule");
		if (rc != ST_OK)
			break;
	}
	json_decref(doc);
	return rc;
}

static int populate(struct steward *st, const struct steward_init_options *opt,
		    struct st_error *e)
{
	struct store_conn *c;
	int rc = store_acquire(st->db, &c, e);
	if (rc != ST_OK)
		return rc;
	rc = store_begin(c, e);
	if (rc != ST_OK)
		goto out;

	unsigned char instance[16];
	random_bytes(instance, sizeof(instance));
	char *inst = hex_encode(instance, sizeof(instance));
	rc = store_run(c, e, "INSERT INTO meta (key, value) VALUES ('instance_id', ?)", "t",
		       inst);
	free(inst);

	/* System keys: the blind-index key and the access log's signing key. */
	unsigned char *secret = secure_alloc(SIGN_SECRET_BYTES);
	if (rc == ST_OK) {
		random_bytes(secret, KEY_BYTES);
		rc = systemkey_store(st, c, "blind-index", secret, KEY_BYTES, NULL, 0, e);
	}
	if (rc == ST_OK) {
		random_bytes(secret, KEY_BYTES);
		rc = systemkey_store(st, c, "mfa", secret, KEY_BYTES, NULL, 0, e);
	}
	if (rc == ST_OK) {
		sign_keypair(st->sign_pk, secret);
		rc = systemkey_store(st, c, "audit-signing", secret, SIGN_SECRET_BYTES,
				     st->sign_pk, SIGN_PUBLIC_BYTES, e);
		st->sign_sk = secure_alloc(SIGN_SECRET_BYTES);
		memcpy(st->sign_sk, secret, SIGN_SECRET_BYTES);
	}
	secure_free(secret);

	int64_t district = 0;
	if (rc == ST_OK)
		rc = org_create(c, "district", "The district", "district", &district, e);
	if (rc == ST_OK)
		rc = load_series(c, e);
	int version = 0;
	if (rc == ST_OK)
		rc = inventory_store_version(c, (const char *)default_inventory, 0,
					     "default inventory shipped with Steward", &version, e);
	if (rc == ST_OK) {
		unsigned char h[HASH_BYTES];
		sha256(default_policy, default_policy_len, h);
		rc = store_run(c, e,
			       "INSERT INTO policy_version (version, document, sha256, changed_by, "
			       "changed_at, note) VALUES (1, ?, ?, NULL, ?, ?)",
			       "tbit", (const char *)default_policy, h, (size_t)HASH_BYTES,
			       time_now(), "default rules shipped with Steward");
	}
	if (rc == ST_OK) {
		static const char *const roles[] = {"designee"};
		struct user_new u = {
			.username = opt->admin_username,
			.display_name = opt->admin_display_name,
			.kind = "employee",
			.organization = "district",
			.position = "Superintendent's designee (data governance officer)",
			.roles = roles,
			.nroles = 1,
			.password = opt->admin_password,
			.must_change_password = opt->admin_must_change_password,
		};
		int64_t uid = 0;
		rc = user_insert(c, &u, &uid, e);
		if (rc != ST_OK && e && str_eq(e->field, "password"))
			str_copy(e->field, sizeof(e->field), "admin_password");
	}
	if (rc == ST_OK)
		rc = store_commit(c, e);
out:
	store_release(c);
	return rc;
}

static int open_audit(struct steward *st, const char *vfs, size_t segment, bool create,
		      const char *const *witnesses, size_t nwitnesses, struct st_error *e)
{
	char *path = steward_path(st, AUDIT_DB);
	char *witness = steward_path(st, WITNESS_FILE);
	struct audit_options ao = {.path = path, .vfs = vfs, .witness_path = witness,
				   .witnesses = witnesses, .nwitnesses = nwitnesses,
				   .sign_sk = st->sign_sk, .sign_pk = st->sign_pk,
				   .create = create, .journal_segment = segment};
	int rc = audit_open(&ao, &st->audit, e);
	free(path);
	free(witness);
	return rc;
}

static int write_public_key(const char *dir, const unsigned char *pk, struct st_error *e)
{
	char *hex = hex_encode(pk, SIGN_PUBLIC_BYTES);
	char *text = xasprintf("steward-audit-signing-key ed25519 %s\n", hex);
	char *path = xasprintf("%s/%s", dir, SIGNING_PUB);
	int rc = file_write_atomic(path, text, strlen(text), 0600, false, e);
	free(hex);
	free(text);
	free(path);
	return rc;
}

int steward_init(const struct steward_init_options *opt, struct st_error *e)
{
	if (!opt->dir || !*opt->dir)
		return err_set(e, ST_EINVAL, "data", "a data directory is required (--data DIR)");
	if (!opt->admin_username || !username_valid(opt->admin_username))
		return err_setc(e, ST_EINVAL, "bad_value", "admin",
				"the administrator's name must be 1-64 characters: a-z, 0-9, . _ - @");
	if (!opt->admin_password)
		return err_set(e, ST_EINVAL, "admin_password",
			       "the administrator's password is required");
	int rc = password_check_policy(opt->admin_password, opt->admin_username,
				       "admin_password", e);
	if (rc != ST_OK)
		return rc;
	bool exists, empty, is_datadir;
	if (dir_state(opt->dir, &exists, &empty, &is_datadir) != ST_OK)
		return err_set(e, ST_EIO, "data", "cannot read %s", opt->dir);
	if (is_datadir)
		return err_setc(e, ST_ECONFLICT, "exists", "data",
				"%s already holds a Steward data directory; refusing to "
				"overwrite it",
				opt->dir);
	if (exists && !empty)
		return err_setc(e, ST_ECONFLICT, "not_empty", "data",
				"%s is not empty; give a new or empty directory", opt->dir);
	rc = crypto_setup(e);
	if (rc != ST_OK)
		return rc;

	/* Build under a temporary name beside the target, then rename. */
	char *tmp = xasprintf("%s.init-%ld", opt->dir, (long)getpid());
	remove_tree(tmp);
	struct steward *st = xcalloc(1, sizeof(*st));
	pthread_mutex_init(&st->inventory_lock, NULL);
	st->dir = xstrdup(tmp);
	st->keydir = xasprintf("%s/keys", tmp);
	char *db = xasprintf("%s/%s", tmp, MAIN_DB);
	rc = dir_create_private(tmp, e);
	if (rc == ST_OK && chmod(tmp, 0700) != 0)
		rc = err_set(e, ST_EIO, "data", "cannot set permissions on %s", tmp);
	if (rc == ST_OK)
		rc = keyring_create(st->keydir, opt->passphrase, &st->keys, e);
	if (rc == ST_OK) {
		struct store_options so = {.backend = "sqlite", .location = db, .create = true,
					   .pool_size = 2};
		rc = store_open(&so, &st->db, e);
	}
	if (rc == ST_OK)
		rc = store_migrate(st->db, "main", -1, e);
	if (rc == ST_OK)
		rc = populate(st, opt, e);
	if (rc == ST_OK)
		rc = write_public_key(tmp, st->sign_pk, e);
	if (rc == ST_OK)
		rc = open_audit(st, NULL, 0, true, NULL, 0, e);
	if (rc == ST_OK) {
		json_t *detail = json_pack("{s:s, s:s}", "administrator", opt->admin_username,
					   "master_key", opt->passphrase ? "passphrase" : "key file");
		struct actor sys = {.user_id = 0, .via = "cli"};
		struct audit_event ev = {.action = "datadir.init", .outcome = "allow",
					 .detail = detail};
		rc = steward_audit(st, &sys, &ev, NULL, e);
		json_decref(detail);
	}
	audit_close(st->audit); /* signs the final checkpoint */
	st->audit = NULL;
	secure_free(st->sign_sk);
	st->sign_sk = NULL;
	store_close(st->db);
	st->db = NULL;
	keyring_free(st->keys);
	st->keys = NULL;
	if (rc == ST_OK) {
		/* rename() replaces an empty directory atomically. */
		if (rename(tmp, opt->dir) != 0)
			rc = err_set(e, ST_EIO, "data", "cannot move %s into place: %s", tmp,
				     strerror(errno));
	}
	if (rc != ST_OK)
		remove_tree(tmp);
	free(db);
	free(tmp);
	free(st->dir);
	free(st->keydir);
	pthread_mutex_destroy(&st->inventory_lock);
	free(st);
	return rc;
}

/* Every file of the data directory must be owner-only. */
static int check_permissions(const char *dir, const char *keydir, struct st_error *e)
{
	int rc = file_check_private(dir, e);
	if (rc != ST_OK)
		return rc;
	rc = keyring_check_files(keydir, e);
	if (rc != ST_OK)
		return rc;
	DIR *d = opendir(dir);
	if (!d)
		return err_set(e, ST_EIO, "data", "cannot read %s", dir);
	struct dirent *de;
	while (rc == ST_OK && (de = readdir(d))) {
		if (str_eq(de->d_name, ".") || str_eq(de->d_name, "..") ||
		    str_eq(de->d_name, "keys"))
			continue;
		char *p = xasprintf("%s/%s", dir, de->d_name);
		rc = file_check_private(p, e);
		free(p);
	}
	closedir(d);
	return rc;
}

static int lock_dir(const char *dir, struct st_error *e)
{
	char *path = xasprintf("%s/%s", dir, LOCK_FILE);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	free(path);
	if (fd < 0)
		return err_set(e, ST_EIO, NULL, "cannot open the lock file in %s", dir);
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		close(fd);
		return err_setc(e, ST_ECONFLICT, "locked", NULL,
				"another Steward process (a running server?) is using %s; "
				"stop it first",
				dir);
	}
	/* Held until the process exits or it is closed. */
	return fd;
}

static int take_lock(struct steward *st, struct st_error *e)
{
	return lock_dir(st->dir, e);
}

static int load_inventory(struct steward *st, struct store_conn *c, struct st_error *e)
{
	struct store_stmt *s;
	int rc = store_prepare(c,
			       "SELECT version, document FROM inventory_version "
			       "ORDER BY version DESC LIMIT 1",
			       &s, e);
	if (rc != ST_OK)
		return rc;
	rc = store_step(s, e);
	if (rc == STORE_ROW) {
		int version = (int)store_col_int(s, 0);
		const char *doc = store_col_text(s, 1);
		struct inventory *inv = NULL;
		rc = inventory_parse(doc, strlen(doc), &inv, e);
		if (rc == ST_OK) {
			inv->version = version;
			steward_set_inventory(st, inv);
		}
	} else if (rc == STORE_DONE) {
		rc = err_set(e, ST_EINTERNAL, NULL, "the database holds no data inventory");
	}
	store_done(s);
	return rc;
}

int steward_open(const struct steward_options *opt, struct steward **out,
		 struct st_error *e)
{
	if (!opt->dir || !*opt->dir)
		return err_set(e, ST_EINVAL, "data", "a data directory is required (--data DIR)");
	int rc = crypto_setup(e);
	if (rc != ST_OK)
		return rc;
	struct steward *st = xcalloc(1, sizeof(*st));
	pthread_mutex_init(&st->inventory_lock, NULL);
	st->dir = xstrdup(opt->dir);
	st->keydir = xasprintf("%s/keys", opt->dir);
	char *db = steward_path(st, MAIN_DB);
	struct store_conn *c = NULL;
	if (!file_exists(db)) {
		rc = err_setc(e, ST_ENOTFOUND, "no_datadir", "data",
			      "%s is not a Steward data directory (run steward init)", opt->dir);
		goto fail;
	}
	if (opt->check_permissions) {
		rc = check_permissions(st->dir, st->keydir, e);
		if (rc != ST_OK)
			goto fail;
	}
	if (opt->exclusive) {
		rc = take_lock(st, e);
		if (rc < 0)
			goto fail;
		st->lock_fd = rc;
	}
	rc = keyring_open(st->keydir, opt->passphrase, &st->keys, e);
	if (rc != ST_OK)
		goto fail;
	struct store_options so = {.backend = "sqlite", .location = db, .vfs = opt->vfs,
				   .pool_size = 16};
	rc = store_open(&so, &st->db, e);
	if (rc != ST_OK)
		goto fail;
	rc = store_migrate(st->db, "main", -1, e);
	if (rc != ST_OK)
		goto fail;
	rc = store_schema_version(st->db, "main", &st->schema_version, e);
	if (rc != ST_OK)
		goto fail;
	rc = store_acquire(st->db, &c, e);
	if (rc != ST_OK)
		goto fail;
	st->blind_key = secure_alloc(KEY_BYTES);
	st->sign_sk = secure_alloc(SIGN_SECRET_BYTES);
	rc = systemkey_load(st, c, "blind-index", st->blind_key, KEY_BYTES, e);
	if (rc == ST_OK)
		rc = systemkey_load(st, c, "audit-signing", st->sign_sk, SIGN_SECRET_BYTES, e);
	if (rc == ST_OK)
		memcpy(st->sign_pk, st->sign_sk + 32, SIGN_PUBLIC_BYTES);
	st->mfa_key = secure_alloc(KEY_BYTES);
	if (rc == ST_OK) {
		rc = systemkey_load(st, c, "mfa", st->mfa_key, KEY_BYTES, e);
		if (rc == ST_ENOTFOUND) {
			/* a data directory from before sign-in existed */
			random_bytes(st->mfa_key, KEY_BYTES);
			rc = systemkey_store(st, c, "mfa", st->mfa_key, KEY_BYTES, NULL, 0, e);
		}
	}
	st->notes_key = secure_alloc(KEY_BYTES);
	if (rc == ST_OK) {
		rc = systemkey_load(st, c, "notes", st->notes_key, KEY_BYTES, e);
		if (rc == ST_ENOTFOUND) {
			/* a data directory from before notes were sealed */
			err_clear(e);
			random_bytes(st->notes_key, KEY_BYTES);
			rc = systemkey_store(st, c, "notes", st->notes_key, KEY_BYTES, NULL, 0, e);
		}
	}
	if (rc == ST_OK)
		rc = load_inventory(st, c, e);
	store_release(c);
	c = NULL;
	if (rc != ST_OK)
		goto fail;
	/* The access log is created if missing (a directory from before it). */
	rc = open_audit(st, opt->vfs, opt->journal_segment, true, opt->witnesses, opt->nwitnesses,
			e);
	if (rc != ST_OK)
		goto fail;
	rc = access_load(st, e);
	if (rc != ST_OK)
		goto fail;
	st->auth = auth_state_new();
	free(db);
	*out = st;
	return ST_OK;
fail:
	free(db);
	steward_close(st);
	return rc;
}

void steward_close(struct steward *st)
{
	if (!st)
		return;
	if (st->audit)
		access_refusal_budget_flush(st);
	audit_close(st->audit);
	model_free(st->model);
	policy_unref(st->policy);
	store_close(st->db);
	keyring_free(st->keys);
	secure_free(st->blind_key);
	secure_free(st->sign_sk);
	secure_free(st->mfa_key);
	secure_free(st->notes_key);
	auth_state_free(st->auth);
	inventory_unref(st->inventory);
	pthread_mutex_destroy(&st->inventory_lock);
	if (st->lock_fd > 0)
		close(st->lock_fd);
	free(st->dir);
	free(st->keydir);
	free(st);
}

/* Copies one database of the data directory into dest/name. */
static int backup_db(const char *dir, const char *name, const char *dest, struct st_error *e)
{
	char *from = xasprintf("%s/%s", dir, name), *to = xasprintf("%s/%s", dest, name);
	struct store *s = NULL;
	struct store_options so = {.backend = "sqlite", .location = from, .pool_size = 1};
	int rc = store_open(&so, &s, e);
	if (rc == ST_OK)
		rc = store_backup(s, to, e);
	store_close(s);
	free(from);
	free(to);
	return rc;
}

static int copy_small_file(const char *dir, const char *name, const char *dest, bool required,
			   struct st_error *e)
{
	char *from = xasprintf("%s/%s", dir, name), *to = xasprintf("%s/%s", dest, name);
	char *data = NULL;
	size_t len = 0;
	int rc = ST_OK;
	if (file_exists(from) || required) {
		rc = file_read_all(from, 1 << 20, &data, &len, e);
		if (rc == ST_OK)
			rc = file_write_atomic(to, data, len, 0600, true, e);
	}
	free(data);
	free(from);
	free(to);
	return rc;
}

/* Events in a log database (its next seq), read as any reader would. */
static int log_db_size(const char *path, uint64_t *size, struct st_error *e)
{
	struct store *s = NULL;
	struct store_options so = {.backend = "sqlite", .location = path, .pool_size = 1};
	struct store_conn *c = NULL;
	int64_t n = 0;
	int rc = store_open(&so, &s, e);
	if (rc == ST_OK)
		rc = store_acquire(s, &c, e);
	if (rc == ST_OK)
		rc = store_query_int(c, &n, e, "SELECT COALESCE(MAX(seq) + 1, 0) FROM audit_event",
				     "");
	store_release(c);
	store_close(s);
	*size = (uint64_t)n;
	return rc;
}

int steward_backup(const char *dir, const char *dest, bool *server_running,
		   struct st_error *e)
{
	char *db = xasprintf("%s/%s", dir, MAIN_DB);
	bool exists = file_exists(db);
	free(db);
	if (!exists)
		return err_setc(e, ST_ENOTFOUND, "no_datadir", "data",
				"%s is not a Steward data directory", dir);
	if (mkdir(dest, 0700) != 0)
		return err_setc(e, errno == EEXIST ? ST_ECONFLICT : ST_EIO, "exists", "to",
				"cannot create %s: %s (a backup goes into a new directory)", dest,
				strerror(errno));
	/* Without a server, the directory is held so that none starts
	 * meanwhile; beside one, the copies are taken while it runs. */
	struct st_error le = {0};
	int lock = lock_dir(dir, &le);
	if (lock < 0 && le.status != ST_ECONFLICT) {
		rmdir(dest);
		if (e)
			*e = le;
		return le.status;
	}
	*server_running = lock < 0;
	char *log = xasprintf("%s/%s", dir, AUDIT_DB);
	uint64_t held = 0, need = 0;
	/* The data first, the log second: a change is committed only after
	 * its event is durable in the journal, so every change in the data
	 * copy has its event before the journal's durable end read just
	 * after the copy; the log copy is taken once a signed checkpoint
	 * covers that much, and cut back to its newest checkpoint (what came
	 * after is vouched for only by the journal). With no server running,
	 * what only the journal holds or vouches for (after an unclean stop)
	 * would be missing from the copy: refused. */
	int rc = ST_OK;
	uint64_t signed_size = 0;
	if (!*server_running) {
		rc = log_db_size(log, &held, e);
		if (rc == ST_OK)
			rc = audit_journal_end(log, held, &need, e);
		if (rc == ST_OK && need > held)
			rc = err_setc(e, ST_ECONFLICT, "journal_ahead", "data",
				      "the access log's journal holds %llu events its database does "
				      "not yet (the server stopped uncleanly): start and stop the "
				      "server once, then back up",
				      (unsigned long long)(need - held));
		if (rc == ST_OK)
			rc = audit_db_extent(log, &held, &signed_size, e);
		if (rc == ST_OK && held > signed_size)
			rc = err_setc(e, ST_ECONFLICT, "journal_ahead", "data",
				      "the access log's newest %llu events are not signed yet (the "
				      "server stopped uncleanly): start and stop the server once, "
				      "then back up",
				      (unsigned long long)(held - signed_size));
	}
	if (rc == ST_OK)
		rc = backup_db(dir, MAIN_DB, dest, e);
	if (rc == ST_OK && *server_running) {
		/* the log is copied once a signed checkpoint covers every event
		 * durable when the data copy ended (the server signs at least
		 * once a second while events flow) */
		rc = log_db_size(log, &held, e);
		if (rc == ST_OK)
			rc = audit_journal_end(log, held, &need, e);
		if (rc == ST_OK)
			rc = audit_db_extent(log, &held, &signed_size, e);
		for (int i = 0; rc == ST_OK && signed_size < need; i++) {
			if (i == 300) {
				rc = err_setc(e, ST_EUNAVAIL, "busy", NULL,
					      "no signed checkpoint of the access log covered its "
					      "journal's events within 30 s; try again");
				break;
			}
			usleep(100000);
			rc = audit_db_extent(log, &held, &signed_size, e);
		}
	}
	/* the witness before the log: the copy of the log then holds the
	 * checkpoint the witness names, or a later one */
	if (rc == ST_OK)
		rc = copy_small_file(dir, SIGNING_PUB, dest, true, e);
	if (rc == ST_OK)
		rc = copy_small_file(dir, WITNESS_FILE, dest, false, e);
	if (rc == ST_OK)
		rc = backup_db(dir, AUDIT_DB, dest, e);
	if (rc == ST_OK) {
		/* the copy ends at its newest checkpoint: what came after it is
		 * vouched for only by the journal, which is not copied */
		char *copy = xasprintf("%s/%s", dest, AUDIT_DB);
		uint64_t kept = 0;
		rc = audit_trim_unsigned(copy, &kept, e);
		if (rc == ST_OK && kept < need)
			rc = err_set(e, ST_EINTERNAL, NULL,
				     "the log copy ends at %llu events, before %llu",
				     (unsigned long long)kept, (unsigned long long)need);
		free(copy);
	}
	free(log);
	if (rc == ST_OK && fsync_dir(dest) != 0)
		rc = err_set(e, ST_EIO, NULL, "cannot flush %s", dest);
	if (lock >= 0)
		close(lock);
	if (rc != ST_OK) {
		/* nothing half-made is left that could pass for a backup */
		static const char *const made[] = {MAIN_DB, AUDIT_DB, SIGNING_PUB, WITNESS_FILE,
						   AUDIT_DB "-wal", AUDIT_DB "-shm"};
		for (size_t i = 0; i < ARRAY_LEN(made); i++) {
			char *p = xasprintf("%s/%s", dest, made[i]);
			unlink(p);
			free(p);
		}
		rmdir(dest);
	}
	return rc;
}

int steward_journal_key(const char *dir, const char *passphrase, unsigned char key[32],
			struct st_error *e)
{
	struct steward st = {0};
	st.dir = (char *)dir;
	char *keydir = xasprintf("%s/keys", dir);
	char *db = xasprintf("%s/%s", dir, MAIN_DB);
	struct store_conn *c = NULL;
	unsigned char *sk = secure_alloc(SIGN_SECRET_BYTES);
	int rc = file_exists(db) ? ST_OK
				 : err_setc(e, ST_ENOTFOUND, "no_datadir", "data",
					    "%s is not a Steward data directory", dir);
	if (rc == ST_OK)
		rc = keyring_open(keydir, passphrase, &st.keys, e);
	if (rc == ST_OK) {
		struct store_options so = {.backend = "sqlite", .location = db, .pool_size = 1};
		rc = store_open(&so, &st.db, e);
	}
	if (rc == ST_OK)
		rc = store_acquire(st.db, &c, e);
	if (rc == ST_OK)
		rc = systemkey_load(&st, c, "audit-signing", sk, SIGN_SECRET_BYTES, e);
	if (rc == ST_OK)
		audit_journal_key(sk, key);
	if (c)
		store_release(c);
	store_close(st.db);
	keyring_free(st.keys);
	secure_free(sk);
	free(keydir);
	free(db);
	return rc;
}

int steward_migrate(const char *dir, struct st_error *e)
{
	char *db = xasprintf("%s/%s", dir, MAIN_DB);
	if (!file_exists(db)) {
		free(db);
		return err_setc(e, ST_ENOTFOUND, "no_datadir", "data",
				"%s is not a Steward data directory", dir);
	}
	/* Not while a server runs: it caches what it read from the database. */
	int lock = lock_dir(dir, e);
	if (lock < 0) {
		free(db);
		return lock;
	}
	struct store *s = NULL;
	struct store_options so = {.backend = "sqlite", .location = db, .pool_size = 1};
	int rc = store_open(&so, &s, e);
	if (rc == ST_OK)
		rc = store_migrate(s, "main", -1, e);
	store_close(s);
	close(lock);
	free(db);
	return rc;
}
