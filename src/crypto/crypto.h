/*
 * crypto.h - everything cryptographic in Steward, behind one narrow header.
 * Only the files of src/crypto include <sodium.h>.
 *
 * Key hierarchy (docs/architecture.md):
 *   master key (KEK), versioned, from a key file or Argon2id(passphrase)
 *     wraps -> one data key (DEK) per record or subject  -> seals contents
 *     wraps -> system keys (blind-index key, log signing key, token key)
 *
 * Sealed data is: 1 format byte | 24-byte nonce | XChaCha20-Poly1305
 * ciphertext and tag. The associated data (AD) names what the ciphertext
 * belongs to (record id, version, ...), so a ciphertext moved to another row
 * fails authentication. Plaintext is never produced before the tag checks.
 *
 * Thread-safety: all functions are safe to call concurrently, except that a
 * struct keyring must not be freed or rotated while another thread uses it.
 */
#ifndef STEWARD_CRYPTO_H
#define STEWARD_CRYPTO_H

#include "common/base.h"

#define KEY_BYTES 32
#define HASH_BYTES 32
#define SEAL_NONCE_BYTES 24
#define SEAL_TAG_BYTES 16
#define SEAL_OVERHEAD (1 + SEAL_NONCE_BYTES + SEAL_TAG_BYTES)
#define SIGN_PUBLIC_BYTES 32
#define SIGN_SECRET_BYTES 64
#define SIGN_BYTES 64
#define PASSWORD_HASH_MAX 128

/* Initializes libsodium; call once before anything else. */
int crypto_setup(struct st_error *e);

/* --- memory for secrets ------------------------------------------------ */
/* Locked, guard-paged memory (sodium_malloc); aborts on failure. */
void *secure_alloc(size_t n);
/* Wipes and frees memory from secure_alloc (NULL is fine). */
void secure_free(void *p);
void secure_wipe(void *p, size_t n);
/* Wipes len bytes and frees memory from malloc (plaintext buffers). */
void secure_free_plain(void *p, size_t len);
/* Constant-time comparison. */
bool secure_equal(const void *a, const void *b, size_t n);
/* A per-thread locked scratch area of KEY_BYTES * 4 bytes for transient
 * data keys; wipe what you used before returning. */
unsigned char *secure_scratch(void);

void random_bytes(void *p, size_t n);
uint32_t random_uniform(uint32_t upper);

/* --- authenticated encryption -------------------------------------------- */
/* Seals pt under key with associated data ad, appending to out. */
void seal(const unsigned char key[KEY_BYTES], const void *ad, size_t adlen,
	  const void *pt, size_t ptlen, struct buf *out);
/* Authenticates and opens; on success *pt (malloc'd, NUL-terminated, free
 * with secure_free_plain) holds the plaintext. ST_ECRYPTO if anything about
 * the ciphertext, the key or the associated data is wrong. */
ST_MUST_CHECK int unseal(const unsigned char key[KEY_BYTES], const void *ad,
			 size_t adlen, const void *ct, size_t ctlen, char **pt,
			 size_t *ptlen);

/* --- the master key ring ---------------------------------------------- */
struct keyring;

/* Creates version 1 of the master key in keydir (a key file, or when
 * passphrase is non-NULL, a salt and parameters for Argon2id). */
int keyring_create(const char *keydir, const char *passphrase, struct keyring **out,
		   struct st_error *e);
/* Opens every version present in keydir. With a passphrase, versions of the
 * passphrase kind are derived and checked; a wrong passphrase is ST_EAUTH. */
int keyring_open(const char *keydir, const char *passphrase, struct keyring **out,
		 struct st_error *e);
void keyring_free(struct keyring *kr);
/* The version new data keys are wrapped with (the newest). */
int keyring_current(const struct keyring *kr);
/* Lists versions present (ascending); returns the count. */
size_t keyring_versions(const struct keyring *kr, int *out, size_t max);
/* True if the passphrase kind was used to create the newest version. */
bool keyring_uses_passphrase(const struct keyring *kr);
/* Adds a new newest version (same kind as the current one; a passphrase
 * version uses new_passphrase, or the current passphrase when NULL). */
int keyring_add_version(struct keyring *kr, const char *new_passphrase, int *version,
			struct st_error *e);
/* Shreds a version's file and forgets it. Refuses the current version. */
int keyring_destroy_version(struct keyring *kr, int version, struct st_error *e);
/* Checks that every key file is owner-only; names the first bad one. */
int keyring_check_files(const char *keydir, struct st_error *e);

/* --- data keys ----------------------------------------------------------- */
/* Makes a fresh random data key into key (KEY_BYTES, caller's secure
 * memory) and its wrapped form under the current master key into wrapped;
 * *kek_version receives the version used. owner binds the wrap to its row. */
void dek_generate(const struct keyring *kr, const char *owner, unsigned char *key,
		  struct buf *wrapped, int *kek_version);
/* Unwraps a data key wrapped under version kek_version. */
ST_MUST_CHECK int dek_unwrap(const struct keyring *kr, int kek_version,
			     const void *wrapped, size_t len, const char *owner,
			     unsigned char *key, struct st_error *e);
/* Wraps a caller-held key under the current master key. */
void dek_wrap(const struct keyring *kr, const char *owner, const unsigned char *key,
	      struct buf *wrapped, int *kek_version);
/* Rewraps from one master key version to the current one without exposing
 * the key beyond locked scratch memory. */
ST_MUST_CHECK int dek_rewrap(const struct keyring *kr, int from_version,
			     const void *wrapped, size_t len, const char *owner,
			     struct buf *out, int *to_version, struct st_error *e);

/* --- hashes, MACs, signatures ------------------------------------------- */
void sha256(const void *data, size_t len, unsigned char out[HASH_BYTES]);
/* SHA-256(prefix || data): the RFC 6962 leaf (0x00) and node (0x01) hashes. */
void sha256_prefixed(unsigned char prefix, const void *a, size_t alen, const void *b,
		     size_t blen, unsigned char out[HASH_BYTES]);
void hmac_sha256(const unsigned char key[KEY_BYTES], const void *data, size_t len,
		 unsigned char out[HASH_BYTES]);
/* A keyed MAC (BLAKE2b with a key) of outlen bytes (MAC_MIN_BYTES to
 * HASH_BYTES): cheaper than HMAC-SHA-256 for short messages; used where a
 * tag is computed for every access-log event. Compare with secure_equal. */
#define MAC_MIN_BYTES 16
void mac_keyed(const unsigned char key[KEY_BYTES], const void *data, size_t len,
	       unsigned char *out, size_t outlen);
void sign_keypair(unsigned char pk[SIGN_PUBLIC_BYTES], unsigned char sk[SIGN_SECRET_BYTES]);
void sign_detached(const unsigned char sk[SIGN_SECRET_BYTES], const void *msg, size_t len,
		   unsigned char sig[SIGN_BYTES]);
ST_MUST_CHECK bool sign_verify(const unsigned char pk[SIGN_PUBLIC_BYTES], const void *msg,
			       size_t len, const unsigned char sig[SIGN_BYTES]);

/* --- one-time passwords (RFC 6238 TOTP, RFC 4226 HOTP) ------------------- */
#define TOTP_SECRET_BYTES 20 /* 160 bits, as RFC 4226 recommends */
#define TOTP_PERIOD 30
#define TOTP_DIGITS 6
/* RFC 4648 base32 without padding (malloc'd); decoding ignores spaces and
 * case, refuses anything else. */
char *base32_encode(const void *data, size_t len);
int base32_decode(const char *s, unsigned char *out, size_t max, size_t *len);
/* HOTP(secret, counter) with HMAC-SHA-1 and 6 digits, as authenticator apps
 * compute it. */
uint32_t hotp(const unsigned char *secret, size_t len, uint64_t counter);
/* Checks a 6-digit code against the steps now-1, now, now+1 (in constant
 * time per step); *step receives the matching step, so a caller can refuse
 * a step already used. */
ST_MUST_CHECK bool totp_check(const unsigned char *secret, size_t len, const char *code,
			      int64_t now, uint64_t *step);

/* --- passwords ----------------------------------------------------------- */
/* Argon2id (libsodium's string format, parameters included). */
int password_hash(const char *password, char out[PASSWORD_HASH_MAX]);
ST_MUST_CHECK bool password_verify(const char *hash, const char *password);

#endif
