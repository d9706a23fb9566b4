/*
 * keyring.c - the versioned master key (key-encryption key) and the data
 * keys it wraps.
 *
 * Each version lives in its own owner-only file keydir/master-<v>.json: either
 * the key itself ("file" kind) or the salt and Argon2id parameters from which
 * the key is derived with a passphrase given at start ("passphrase" kind).
 * Every file also holds a check value sealed under its key, so a wrong
 * passphrase is reported as such instead of producing garbage keys. Keys are
 * held only in locked, guard-paged memory and wiped on free.
 *
 * Invariant: the newest version is current; every wrapped key records the
 * version that wrapped it, so rotation can proceed row by row and resume
 * after an interruption.
 */
#include <dirent.h>
#include <sodium.h>

#include "crypto/crypto.h"

#define KEYRING_MAX 32
#define CHECK_TEXT "steward master key check"

struct kek {
	int version;
	bool passphrase;
	unsigned char *key; /* secure memory, KEY_BYTES */
};

struct keyring {
	char *dir;
	struct kek keks[KEYRING_MAX];
	size_t n;
	char *passphrase; /* secure copy of the passphrase used to open, or NULL */
};

static char *version_path(const char *dir, int version)
{
	return xasprintf("%s/master-%d.json", dir, version);
}

static void check_ad(int version, char out[64])
{
	snprintf(out, 64, "steward/key-check/v%d", version);
}

static void free_kek(struct kek *k)
{
	secure_free(k->key);
	k->key = NULL;
}

void keyring_free(struct keyring *kr)
{
	if (!kr)
		return;
	for (size_t i = 0; i < kr->n; i++)
		free_kek(&kr->keks[i]);
	if (kr->passphrase)
		secure_free(kr->passphrase);
	free(kr->dir);
	free(kr);
}

static char *secure_strdup(const char *s)
{
	size_t n = strlen(s);
	char *p = secure_alloc(n + 1);
	memcpy(p, s, n + 1);
	return p;
}

static int derive(const char *passphrase, const unsigned char *salt,
		  unsigned long long ops, size_t mem, unsigned char *key, struct st_error *e)
{
	if (crypto_pwhash(key, KEY_BYTES, passphrase, strlen(passphrase), salt, ops, mem,
			  crypto_pwhash_ALG_ARGON2ID13) != 0)
		return err_set(e, ST_EINTERNAL, NULL,
			       "cannot derive the master key (not enough memory for Argon2id?)");
	return ST_OK;
}

/* Writes a new version file and fills k. */
static int write_version(const char *dir, int version, const char *passphrase,
			 struct kek *k, struct st_error *e)
{
	json_t *doc = json_object();
	int rc = ST_OK;
	k->version = version;
	k->passphrase = passphrase != NULL;
	k->key = secure_alloc(KEY_BYTES);
	json_object_set_new(doc, "format", json_string("steward-master-key/1"));
	json_object_set_new(doc, "version", json_integer(version));
	if (passphrase) {
		unsigned char salt[crypto_pwhash_SALTBYTES];
		randombytes_buf(salt, sizeof(salt));
		unsigned long long ops = crypto_pwhash_OPSLIMIT_MODERATE;
		size_t mem = crypto_pwhash_MEMLIMIT_MODERATE;
		rc = derive(passphrase, salt, ops, mem, k->key, e);
		if (rc != ST_OK)
			goto out;
		char *s = b64_encode(salt, sizeof(salt));
		json_object_set_new(doc, "kind", json_string("passphrase"));
		json_object_set_new(doc, "kdf", json_string("argon2id13"));
		json_object_set_new(doc, "salt", json_string(s));
		json_object_set_new(doc, "opslimit", json_integer((json_int_t)ops));
		json_object_set_new(doc, "memlimit", json_integer((json_int_t)mem));
		free(s);
	} else {
		randombytes_buf(k->key, KEY_BYTES);
		char *s = b64_encode(k->key, KEY_BYTES);
		json_object_set_new(doc, "kind", json_string("file"));
		json_object_set_new(doc, "key", json_string(s));
		sodium_memzero(s, strlen(s));
		free(s);
	}
	char ad[64];
	check_ad(version, ad);
	struct buf chk = BUF_INIT;
	seal(k->key, ad, strlen(ad), CHECK_TEXT, strlen(CHECK_TEXT), &chk);
	char *c64 = b64_encode(chk.data, chk.len);
	json_object_set_new(doc, "check", json_string(c64));
	free(c64);
	buf_release(&chk);

	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
	char *path = version_path(dir, version);
	rc = file_write_atomic(path, text, strlen(text), 0600, true, e);
	sodium_memzero(text, strlen(text));
	free(text);
	free(path);
out:
	/* The document may hold the raw key: wipe it before release. */
	{
		json_t *key = json_object_get(doc, "key");
		if (key && json_is_string(key))
			sodium_memzero((char *)json_string_value(key), json_string_length(key));
	}
	json_decref(doc);
	if (rc != ST_OK)
		free_kek(k);
	return rc;
}

static int load_version(const char *dir, int version, const char *passphrase,
			struct kek *k, struct st_error *e)
{
	char *path = version_path(dir, version);
	char *text = NULL;
	size_t len = 0;
	json_t *doc = NULL;
	int rc = file_check_private(path, e);
	if (rc != ST_OK)
		goto out;
	rc = file_read_all(path, 1 << 16, &text, &len, e);
	if (rc != ST_OK)
		goto out;
	json_error_t je;
	doc = json_loadb(text, len, 0, &je);
	if (!doc || !json_is_object(doc)) {
		rc = err_set(e, ST_EINVAL, NULL, "%s is not a valid master key file", path);
		goto out;
	}
	const char *kind = json_string_value(json_object_get(doc, "kind"));
	const char *check = json_string_value(json_object_get(doc, "check"));
	if (!kind || !check ||
	    json_integer_value(json_object_get(doc, "version")) != version) {
		rc = err_set(e, ST_EINVAL, NULL, "%s is not a valid master key file", path);
		goto out;
	}
	k->version = version;
	k->key = secure_alloc(KEY_BYTES);
	if (str_eq(kind, "file")) {
		k->passphrase = false;
		const char *s = json_string_value(json_object_get(doc, "key"));
		unsigned char *raw = NULL;
		size_t rawlen = 0;
		if (!s || b64_decode(s, &raw, &rawlen) != ST_OK || rawlen != KEY_BYTES) {
			if (raw)
				secure_free_plain(raw, rawlen);
			rc = err_set(e, ST_EINVAL, NULL, "%s holds a malformed key", path);
			goto out;
		}
		memcpy(k->key, raw, KEY_BYTES);
		secure_free_plain(raw, rawlen);
	} else if (str_eq(kind, "passphrase")) {
		k->passphrase = true;
		if (!passphrase) {
			rc = err_setc(e, ST_EAUTH, "passphrase_required", NULL,
				      "master key version %d is derived from a passphrase: "
				      "give it with --passphrase-file or STEWARD_PASSPHRASE",
				      version);
			goto out;
		}
		const char *s = json_string_value(json_object_get(doc, "salt"));
		json_int_t ops = json_integer_value(json_object_get(doc, "opslimit"));
		json_int_t mem = json_integer_value(json_object_get(doc, "memlimit"));
		unsigned char *salt = NULL;
		size_t saltlen = 0;
		if (!s || b64_decode(s, &salt, &saltlen) != ST_OK ||
		    saltlen != crypto_pwhash_SALTBYTES || ops < (json_int_t)crypto_pwhash_OPSLIMIT_MIN ||
		    mem < (json_int_t)crypto_pwhash_MEMLIMIT_MIN || mem > ((json_int_t)1 << 34)) {
			free(salt);
			rc = err_set(e, ST_EINVAL, NULL, "%s holds malformed KDF parameters", path);
			goto out;
		}
		rc = derive(passphrase, salt, (unsigned long long)ops, (size_t)mem, k->key, e);
		free(salt);
		if (rc != ST_OK)
			goto out;
	} else {
		rc = err_set(e, ST_EINVAL, NULL, "%s: unknown key kind \"%s\"", path, kind);
		goto out;
	}
	/* Authenticate the key before it is used for anything. */
	unsigned char *chk = NULL;
	size_t chklen = 0;
	if (b64_decode(check, &chk, &chklen) != ST_OK) {
		rc = err_set(e, ST_EINVAL, NULL, "%s holds a malformed check value", path);
		goto out;
	}
	char ad[64];
	check_ad(version, ad);
	char *pt = NULL;
	size_t ptlen = 0;
	int urc = unseal(k->key, ad, strlen(ad), chk, chklen, &pt, &ptlen);
	free(chk);
	if (urc != ST_OK || ptlen != strlen(CHECK_TEXT) || memcmp(pt, CHECK_TEXT, ptlen)) {
		secure_free_plain(pt, ptlen);
		rc = k->passphrase
			     ? err_setc(e, ST_EAUTH, "wrong_passphrase", NULL,
					"the passphrase does not open master key version %d",
					version)
			     : err_set(e, ST_ECRYPTO, NULL,
				       "%s failed its integrity check", path);
		goto out;
	}
	secure_free_plain(pt, ptlen);
out:
	if (text) {
		sodium_memzero(text, len);
		free(text);
	}
	if (doc) {
		json_t *key = json_object_get(doc, "key");
		if (key && json_is_string(key))
			sodium_memzero((char *)json_string_value(key), json_string_length(key));
		json_decref(doc);
	}
	free(path);
	if (rc != ST_OK)
		free_kek(k);
	return rc;
}

static int scan_versions(const char *dir, int *out, size_t max, size_t *count,
			 struct st_error *e)
{
	DIR *d = opendir(dir);
	if (!d)
		return err_set(e, ST_ENOTFOUND, NULL, "no key directory at %s", dir);
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		int v;
		char tail[8];
		if (sscanf(de->d_name, "master-%d.%7s", &v, tail) == 2 && str_eq(tail, "json") &&
		    v > 0) {
			char expect[64];
			snprintf(expect, sizeof(expect), "master-%d.json", v);
			if (!str_eq(expect, de->d_name))
				continue;
			if (n == max) {
				closedir(d);
				return err_set(e, ST_EINVAL, NULL, "too many master key versions in %s",
					       dir);
			}
			out[n++] = v;
		}
	}
	closedir(d);
	/* insertion sort: tiny n */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && out[j - 1] > out[j]; j--) {
			int t = out[j];
			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	*count = n;
	return ST_OK;
}

int keyring_create(const char *keydir, const char *passphrase, struct keyring **out,
		   struct st_error *e)
{
	int rc = dir_create_private(keydir, e);
	if (rc != ST_OK)
		return rc;
	int versions[KEYRING_MAX];
	size_t n = 0;
	rc = scan_versions(keydir, versions, KEYRING_MAX, &n, e);
	if (rc != ST_OK)
		return rc;
	if (n)
		return err_set(e, ST_ECONFLICT, NULL, "%s already holds a master key", keydir);
	struct keyring *kr = xcalloc(1, sizeof(*kr));
	kr->dir = xstrdup(keydir);
	rc = write_version(keydir, 1, passphrase, &kr->keks[0], e);
	if (rc != ST_OK) {
		keyring_free(kr);
		return rc;
	}
	kr->n = 1;
	if (passphrase)
		kr->passphrase = secure_strdup(passphrase);
	*out = kr;
	return ST_OK;
}

int keyring_open(const char *keydir, const char *passphrase, struct keyring **out,
		 struct st_error *e)
{
	int versions[KEYRING_MAX];
	size_t n = 0;
	int rc = file_check_private(keydir, e);
	if (rc != ST_OK)
		return rc;
	rc = scan_versions(keydir, versions, KEYRING_MAX, &n, e);
	if (rc != ST_OK)
		return rc;
	if (n == 0)
		return err_set(e, ST_ENOTFOUND, NULL, "no master key in %s", keydir);
	struct keyring *kr = xcalloc(1, sizeof(*kr));
	kr->dir = xstrdup(keydir);
	for (size_t i = 0; i < n; i++) {
		rc = load_version(keydir, versions[i], passphrase, &kr->keks[i], e);
		if (rc != ST_OK) {
			keyring_free(kr);
			return rc;
		}
		kr->n = i + 1;
	}
	if (passphrase)
		kr->passphrase = secure_strdup(passphrase);
	*out = kr;
	return ST_OK;
}

int keyring_check_files(const char *keydir, struct st_error *e)
{
	int versions[KEYRING_MAX];
	size_t n = 0;
	int rc = file_check_private(keydir, e);
	if (rc != ST_OK)
		return rc;
	rc = scan_versions(keydir, versions, KEYRING_MAX, &n, e);
	for (size_t i = 0; rc == ST_OK && i < n; i++) {
		char *path = version_path(keydir, versions[i]);
		rc = file_check_private(path, e);
		free(path);
	}
	return rc;
}

static const struct kek *find(const struct keyring *kr, int version)
{
	for (size_t i = 0; i < kr->n; i++)
		if (kr->keks[i].version == version)
			return &kr->keks[i];
	return NULL;
}

int keyring_current(const struct keyring *kr)
{
	return kr->keks[kr->n - 1].version;
}

size_t keyring_versions(const struct keyring *kr, int *out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < kr->n && n < max; i++)
		out[n++] = kr->keks[i].version;
	return n;
}

bool keyring_uses_passphrase(const struct keyring *kr)
{
	return kr->keks[kr->n - 1].passphrase;
}

int keyring_add_version(struct keyring *kr, const char *new_passphrase, int *version,
			struct st_error *e)
{
	if (kr->n == KEYRING_MAX)
		return err_set(e, ST_ECONFLICT, NULL,
			       "too many master key versions; finish the pending rotation first");
	int v = keyring_current(kr) + 1;
	const char *pass = NULL;
	if (keyring_uses_passphrase(kr))
		pass = new_passphrase ? new_passphrase : kr->passphrase;
	if (keyring_uses_passphrase(kr) && !pass)
		return err_set(e, ST_EAUTH, NULL, "a passphrase is needed for the new version");
	int rc = write_version(kr->dir, v, pass, &kr->keks[kr->n], e);
	if (rc != ST_OK)
		return rc;
	kr->n++;
	if (new_passphrase && keyring_uses_passphrase(kr)) {
		secure_free(kr->passphrase);
		kr->passphrase = secure_strdup(new_passphrase);
	}
	*version = v;
	return ST_OK;
}

int keyring_destroy_version(struct keyring *kr, int version, struct st_error *e)
{
	if (version == keyring_current(kr))
		return err_set(e, ST_ECONFLICT, NULL, "cannot destroy the current master key");
	for (size_t i = 0; i < kr->n; i++) {
		if (kr->keks[i].version != version)
			continue;
		char *path = version_path(kr->dir, version);
		int rc = file_shred(path, e);
		free(path);
		if (rc != ST_OK)
			return rc;
		free_kek(&kr->keks[i]);
		memmove(&kr->keks[i], &kr->keks[i + 1], (kr->n - i - 1) * sizeof(kr->keks[0]));
		kr->n--;
		return ST_OK;
	}
	return err_set(e, ST_ENOTFOUND, NULL, "no master key version %d", version);
}

static void wrap_ad(int kek_version, const char *owner, struct buf *ad)
{
	buf_printf(ad, "steward/dek|kek=%d|owner=%s", kek_version, owner);
}

void dek_wrap(const struct keyring *kr, const char *owner, const unsigned char *key,
	      struct buf *wrapped, int *kek_version)
{
	const struct kek *k = &kr->keks[kr->n - 1];
	struct buf ad = BUF_INIT;
	wrap_ad(k->version, owner, &ad);
	seal(k->key, ad.data, ad.len, key, KEY_BYTES, wrapped);
	buf_release(&ad);
	*kek_version = k->version;
}

void dek_generate(const struct keyring *kr, const char *owner, unsigned char *key,
		  struct buf *wrapped, int *kek_version)
{
	randombytes_buf(key, KEY_BYTES);
	dek_wrap(kr, owner, key, wrapped, kek_version);
}

int dek_unwrap(const struct keyring *kr, int kek_version, const void *wrapped, size_t len,
	       const char *owner, unsigned char *key, struct st_error *e)
{
	const struct kek *k = find(kr, kek_version);
	if (!k)
		return err_set(e, ST_ECRYPTO, NULL, "master key version %d is not available",
			       kek_version);
	struct buf ad = BUF_INIT;
	wrap_ad(kek_version, owner, &ad);
	char *pt = NULL;
	size_t ptlen = 0;
	int rc = unseal(k->key, ad.data, ad.len, wrapped, len, &pt, &ptlen);
	buf_release(&ad);
	if (rc != ST_OK || ptlen != KEY_BYTES) {
		secure_free_plain(pt, ptlen);
		return err_setc(e, ST_ECRYPTO, "integrity_error", NULL,
				"the data key of %s failed authentication", owner);
	}
	memcpy(key, pt, KEY_BYTES);
	secure_free_plain(pt, ptlen);
	return ST_OK;
}

int dek_rewrap(const struct keyring *kr, int from_version, const void *wrapped, size_t len,
	       const char *owner, struct buf *out, int *to_version, struct st_error *e)
{
	unsigned char *key = secure_scratch();
	int rc = dek_unwrap(kr, from_version, wrapped, len, owner, key, e);
	if (rc == ST_OK)
		dek_wrap(kr, owner, key, out, to_version);
	sodium_memzero(key, KEY_BYTES);
	return rc;
}
