/*
 * fuzz_evidence.c - an evidence package, read as `steward audit
 * verify-proof FILE` reads one (src/cli/cmd_audit.c: json_loadb, then
 * audit_verify_package of src/audit/proof.c, with and without a pinned
 * key), and its checkpoint as the witness file's is read
 * (audit_checkpoint_parse). The input is the package file.
 *
 * A mutated package almost never carries valid signatures, which would
 * keep the verifier from ever looking past them. So each input is also
 * verified re-signed: its public key and log id replaced by the harness's
 * own (made in LLVMFuzzerInitialize), each checkpoint that parses signed
 * anew with them, then the manifest. Everything after the signatures (the
 * window's compact ranges and leaves, the rebuilt root, the entries and
 * their inclusion proofs, the earlier checkpoints' consistency proofs) is
 * then exercised on the fuzzer's bytes.
 *
 * Properties: a refusal names what failed in text that can be shown; a
 * package verified describes a window inside its checkpoint, and counts no
 * more entries than it holds; a package verified re-signed is refused
 * against any other pinned key.
 */
#include "fuzz.h"
#include "audit/audit_internal.h"

static unsigned char pk[SIGN_PUBLIC_BYTES], sk[SIGN_SECRET_BYTES], other_pk[SIGN_PUBLIC_BYTES];
static char log_id[40];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	struct st_error e = {0};
	if (crypto_setup(&e) != ST_OK)
		die("fuzz_evidence: %s", e.message);
	unsigned char other_sk[SIGN_SECRET_BYTES];
	sign_keypair(pk, sk);
	sign_keypair(other_pk, other_sk);
	audit_log_id(pk, log_id);
	return 0;
}

static void set_hex(json_t *o, const char *key, const unsigned char *b, size_t n)
{
	char *h = hex_encode(b, n);
	json_object_set_new(o, key, json_string(h));
	free(h);
}

/* Signs a checkpoint object anew with the harness's key, if it parses. */
static void resign_checkpoint(json_t *j)
{
	struct audit_checkpoint cp;
	if (audit_checkpoint_parse(j, &cp, NULL) != ST_OK)
		return;
	audit_checkpoint_note(log_id, cp.tree_size, cp.root, cp.time_us, cp.note);
	sign_detached(sk, cp.note, strlen(cp.note), cp.signature);
	json_object_set_new(j, "note", json_string(cp.note));
	set_hex(j, "signature", cp.signature, SIGN_BYTES);
}

static void verified(const json_t *pkg, int rc, const struct audit_package_report *r,
		     const struct st_error *e)
{
	if (rc != ST_OK) {
		fuzz_check_refusal(rc, e);
		return;
	}
	FUZZ_CHECK(r->window_start <= r->window_end && r->window_end <= r->tree_size);
	FUZZ_CHECK(r->entries <= json_array_size(json_object_get(pkg, "entries")));
	FUZZ_CHECK(fuzz_text_ok(r->log_id) && strlen(r->root_hex) == 2 * HASH_BYTES);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t je;
	json_t *pkg = json_loadb((const char *)data, size, 0, &je);
	if (!pkg)
		return 0;
	struct audit_package_report r;
	struct st_error e = {0};
	int rc = audit_verify_package(pkg, NULL, &r, &e);
	verified(pkg, rc, &r, &e);
	memset(&e, 0, sizeof(e));
	rc = audit_verify_package(pkg, other_pk, &r, &e);
	verified(pkg, rc, &r, &e);

	/* the witness file holds one checkpoint object */
	struct audit_checkpoint cp;
	memset(&e, 0, sizeof(e));
	rc = audit_checkpoint_parse(pkg, &cp, &e);
	if (rc != ST_OK)
		fuzz_check_refusal(rc, &e);
	else
		FUZZ_CHECK(strlen(cp.note) < sizeof(cp.note));

	if (json_is_object(pkg)) {
		json_t *copy = json_deep_copy(pkg);
		set_hex(copy, "public_key", pk, SIGN_PUBLIC_BYTES);
		json_object_set_new(copy, "log_id", json_string(log_id));
		json_t *c = json_object_get(copy, "checkpoint");
		if (json_is_object(c))
			resign_checkpoint(c);
		size_t i;
		json_t *item;
		json_array_foreach(json_object_get(copy, "earlier_checkpoints"), i, item)
			if (json_is_object(item))
				resign_checkpoint(item);
		unsigned char digest[HASH_BYTES], sig[SIGN_BYTES];
		audit_package_digest(copy, digest);
		sign_detached(sk, digest, HASH_BYTES, sig);
		set_hex(copy, "manifest_signature", sig, SIGN_BYTES);
		memset(&e, 0, sizeof(e));
		rc = audit_verify_package(copy, pk, &r, &e);
		verified(copy, rc, &r, &e);
		if (rc == ST_OK) {
			FUZZ_CHECK(str_eq(r.log_id, log_id));
			memset(&e, 0, sizeof(e));
			FUZZ_CHECK(audit_verify_package(copy, other_pk, &r, &e) != ST_OK);
		}
		json_decref(copy);
	}
	json_decref(pkg);
	return 0;
}
