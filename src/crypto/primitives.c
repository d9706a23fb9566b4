/*
 * primitives.c - thin, uniform wrappers over libsodium: locked memory,
 * randomness, XChaCha20-Poly1305 sealing, SHA-256, HMAC-SHA-256, Ed25519 and
 * Argon2id. Secrets are wiped on every return path; tags are checked before
 * any plaintext exists.
 */
#include <pthread.h>
#include <sodium.h>

#include "crypto/crypto.h"

#define SEAL_FORMAT 1

int crypto_setup(struct st_error *e)
{
	if (sodium_init() < 0)
		return err_set(e, ST_EINTERNAL, NULL, "libsodium failed to initialize");
	return ST_OK;
}

void *secure_alloc(size_t n)
{
	void *p = sodium_malloc(n);
	if (!p)
		die("cannot allocate %zu bytes of locked memory", n);
	return p;
}

void secure_free(void *p)
{
	if (p)
		sodium_free(p);
}

void secure_wipe(void *p, size_t n)
{
	sodium_memzero(p, n);
}

void secure_free_plain(void *p, size_t len)
{
	if (!p)
		return;
	sodium_memzero(p, len);
	free(p);
}

bool secure_equal(const void *a, const void *b, size_t n)
{
	return sodium_memcmp(a, b, n) == 0;
}

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_destroy(void *p)
{
	sodium_free(p);
}

static void scratch_init(void)
{
	if (pthread_key_create(&scratch_key, scratch_destroy) != 0)
		die("cannot create thread key");
}

unsigned char *secure_scratch(void)
{
	pthread_once(&scratch_once, scratch_init);
	unsigned char *p = pthread_getspecific(scratch_key);
	if (!p) {
		p = secure_alloc(KEY_BYTES * 4);
		pthread_setspecific(scratch_key, p);
	}
	return p;
}

void random_bytes(void *p, size_t n)
{
	randombytes_buf(p, n);
}

uint32_t random_uniform(uint32_t upper)
{
	return randombytes_uniform(upper);
}

void seal(const unsigned char key[KEY_BYTES], const void *ad, size_t adlen,
	  const void *pt, size_t ptlen, struct buf *out)
{
	size_t start = out->len;
	buf_grow(out, SEAL_OVERHEAD + ptlen);
	unsigned char *p = (unsigned char *)out->data + start;
	p[0] = SEAL_FORMAT;
	randombytes_buf(p + 1, SEAL_NONCE_BYTES);
	unsigned long long clen = 0;
	crypto_aead_xchacha20poly1305_ietf_encrypt(p + 1 + SEAL_NONCE_BYTES, &clen, pt,
						   ptlen, ad, adlen, NULL, p + 1, key);
	out->len = start + 1 + SEAL_NONCE_BYTES + (size_t)clen;
	out->data[out->len] = '\0';
}

int unseal(const unsigned char key[KEY_BYTES], const void *ad, size_t adlen,
	   const void *ct, size_t ctlen, char **pt, size_t *ptlen)
{
	const unsigned char *c = ct;
	*pt = NULL;
	*ptlen = 0;
	if (ctlen < SEAL_OVERHEAD || c[0] != SEAL_FORMAT)
		return ST_ECRYPTO;
	size_t mlen = ctlen - SEAL_OVERHEAD;
	unsigned char *m = xmalloc(mlen + 1);
	unsigned long long outlen = 0;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		    m, &outlen, NULL, c + 1 + SEAL_NONCE_BYTES, ctlen - 1 - SEAL_NONCE_BYTES,
		    ad, adlen, c + 1, key) != 0) {
		free(m); /* nothing was written: libsodium checks the tag first */
		return ST_ECRYPTO;
	}
	m[outlen] = '\0';
	*pt = (char *)m;
	*ptlen = (size_t)outlen;
	return ST_OK;
}

void sha256(const void *data, size_t len, unsigned char out[HASH_BYTES])
{
	crypto_hash_sha256(out, data, len);
}

void sha256_prefixed(unsigned char prefix, const void *a, size_t alen, const void *b,
		     size_t blen, unsigned char out[HASH_BYTES])
{
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, &prefix, 1);
	if (alen)
		crypto_hash_sha256_update(&st, a, alen);
	if (blen)
		crypto_hash_sha256_update(&st, b, blen);
	crypto_hash_sha256_final(&st, out);
}

void hmac_sha256(const unsigned char key[KEY_BYTES], const void *data, size_t len,
		 unsigned char out[HASH_BYTES])
{
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, key, KEY_BYTES);
	crypto_auth_hmacsha256_update(&st, data, len);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

void mac_keyed(const unsigned char key[KEY_BYTES], const void *data, size_t len,
	       unsigned char *out, size_t outlen)
{
	ST_ASSERT(outlen >= MAC_MIN_BYTES && outlen <= HASH_BYTES);
	crypto_generichash(out, outlen, data, len, key, KEY_BYTES);
}

void sign_keypair(unsigned char pk[SIGN_PUBLIC_BYTES], unsigned char sk[SIGN_SECRET_BYTES])
{
	crypto_sign_ed25519_keypair(pk, sk);
}

void sign_detached(const unsigned char sk[SIGN_SECRET_BYTES], const void *msg, size_t len,
		   unsigned char sig[SIGN_BYTES])
{
	crypto_sign_ed25519_detached(sig, NULL, msg, len, sk);
}

bool sign_verify(const unsigned char pk[SIGN_PUBLIC_BYTES], const void *msg, size_t len,
		 const unsigned char sig[SIGN_BYTES])
{
	return crypto_sign_ed25519_verify_detached(sig, msg, len, pk) == 0;
}

int password_hash(const char *password, char out[PASSWORD_HASH_MAX])
{
	_Static_assert(PASSWORD_HASH_MAX >= crypto_pwhash_STRBYTES, "hash buffer");
	if (crypto_pwhash_str_alg(out, password, strlen(password),
				  crypto_pwhash_OPSLIMIT_INTERACTIVE,
				  crypto_pwhash_MEMLIMIT_INTERACTIVE,
				  crypto_pwhash_ALG_ARGON2ID13) != 0)
		return ST_EINTERNAL;
	return ST_OK;
}

bool password_verify(const char *hash, const char *password)
{
	if (!hash || !*hash)
		return false;
	return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}
