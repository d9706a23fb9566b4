/*
 * merkle.c - RFC 6962 Merkle tree hashing, the append-only frontier, proof
 * generation over a source of perfect-subtree hashes, and the RFC 9162
 * verification algorithms. A proof is built from O(log n) subtree hashes:
 * every range in the RFC's recursion is a perfect aligned subtree except at
 * most one right-edge range per level, itself O(log n) perfect subtrees.
 */
#include "audit/merkle.h"

void merkle_leaf_hash(const void *entry, size_t len, unsigned char out[HASH_BYTES])
{
	sha256_prefixed(0x00, entry, len, NULL, 0, out);
}

void merkle_node_hash(const unsigned char left[HASH_BYTES],
		      const unsigned char right[HASH_BYTES], unsigned char out[HASH_BYTES])
{
	sha256_prefixed(0x01, left, HASH_BYTES, right, HASH_BYTES, out);
}

void merkle_empty_root(unsigned char out[HASH_BYTES])
{
	sha256("", 0, out);
}

uint64_t merkle_split(uint64_t n)
{
	uint64_t k = 1;
	while (k << 1 < n)
		k <<= 1;
	return k;
}

void merkle_frontier_init(struct merkle_frontier *f)
{
	memset(f, 0, sizeof(*f));
}

void merkle_frontier_push(struct merkle_frontier *f, int level,
			  const unsigned char hash[HASH_BYTES], merkle_node_cb cb, void *ctx)
{
	ST_ASSERT(f->n < MERKLE_MAX_PROOF);
	ST_ASSERT((f->size & ((1ULL << level) - 1)) == 0);
	uint64_t pos = f->size >> level; /* index of the pushed subtree at its level */
	f->level[f->n] = level;
	memcpy(f->hash[f->n].h, hash, HASH_BYTES);
	f->n++;
	f->size += 1ULL << level;
	while (f->n >= 2 && f->level[f->n - 2] == f->level[f->n - 1]) {
		struct merkle_hash merged;
		merkle_node_hash(f->hash[f->n - 2].h, f->hash[f->n - 1].h, merged.h);
		int l = f->level[f->n - 1] + 1;
		pos >>= 1;
		f->n--;
		f->level[f->n - 1] = l;
		f->hash[f->n - 1] = merged;
		if (cb)
			cb(ctx, l, pos, merged.h);
	}
}

void merkle_frontier_root(const struct merkle_frontier *f, unsigned char out[HASH_BYTES])
{
	if (f->n == 0) {
		merkle_empty_root(out);
		return;
	}
	unsigned char acc[HASH_BYTES];
	memcpy(acc, f->hash[f->n - 1].h, HASH_BYTES);
	for (int i = f->n - 2; i >= 0; i--)
		merkle_node_hash(f->hash[i].h, acc, acc);
	memcpy(out, acc, HASH_BYTES);
}

static bool is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

static int log2u(uint64_t x)
{
	int l = 0;
	while ((1ULL << l) < x)
		l++;
	return l;
}

int merkle_range_hash(const struct merkle_source *src, uint64_t lo, uint64_t hi,
		      unsigned char out[HASH_BYTES], struct st_error *e)
{
	ST_ASSERT(hi > lo);
	uint64_t n = hi - lo;
	if (is_pow2(n) && (lo & (n - 1)) == 0)
		return src->perfect(src->ctx, log2u(n), lo >> log2u(n), out, e);
	/* A right-edge range: its left part is perfect, recurse on the right. */
	uint64_t k = merkle_split(n);
	unsigned char l[HASH_BYTES], r[HASH_BYTES];
	int rc = merkle_range_hash(src, lo, lo + k, l, e);
	if (rc == ST_OK)
		rc = merkle_range_hash(src, lo + k, hi, r, e);
	if (rc == ST_OK)
		merkle_node_hash(l, r, out);
	return rc;
}

int merkle_inclusion_proof(const struct merkle_source *src, uint64_t m, uint64_t n,
			   struct merkle_hash *proof, int *len, struct st_error *e)
{
	if (m >= n)
		return err_set(e, ST_EINVAL, "seq", "leaf %llu is not in a tree of size %llu",
			       (unsigned long long)m, (unsigned long long)n);
	/* Walk down from the root, collecting siblings; emit leaf-side first. */
	struct merkle_hash stack[MERKLE_MAX_PROOF];
	int depth = 0;
	uint64_t lo = 0, hi = n;
	while (hi - lo > 1) {
		uint64_t k = merkle_split(hi - lo);
		int rc;
		if (m < lo + k) {
			rc = merkle_range_hash(src, lo + k, hi, stack[depth].h, e);
			hi = lo + k;
		} else {
			rc = merkle_range_hash(src, lo, lo + k, stack[depth].h, e);
			lo = lo + k;
		}
		if (rc != ST_OK)
			return rc;
		depth++;
	}
	for (int i = 0; i < depth; i++)
		proof[i] = stack[depth - 1 - i];
	*len = depth;
	return ST_OK;
}

/* SUBPROOF(m, D[lo:hi], b) of RFC 6962 2.1.2, appending to proof. */
static int subproof(const struct merkle_source *src, uint64_t m, uint64_t lo, uint64_t hi,
		    bool b, struct merkle_hash *proof, int *len, struct st_error *e)
{
	uint64_t n = hi - lo;
	if (m == n) {
		if (b)
			return ST_OK;
		return merkle_range_hash(src, lo, hi, proof[(*len)++].h, e);
	}
	uint64_t k = merkle_split(n);
	int rc;
	if (m <= k) {
		rc = subproof(src, m, lo, lo + k, b, proof, len, e);
		if (rc == ST_OK)
			rc = merkle_range_hash(src, lo + k, hi, proof[(*len)++].h, e);
	} else {
		rc = subproof(src, m - k, lo + k, hi, false, proof, len, e);
		if (rc == ST_OK)
			rc = merkle_range_hash(src, lo, lo + k, proof[(*len)++].h, e);
	}
	return rc;
}

int merkle_consistency_proof(const struct merkle_source *src, uint64_t m, uint64_t n,
			     struct merkle_hash *proof, int *len, struct st_error *e)
{
	*len = 0;
	if (m > n)
		return err_set(e, ST_EINVAL, "from", "tree size %llu is larger than %llu",
			       (unsigned long long)m, (unsigned long long)n);
	if (m == 0 || m == n)
		return ST_OK;
	return subproof(src, m, 0, n, true, proof, len, e);
}

bool merkle_verify_inclusion(const unsigned char leaf[HASH_BYTES], uint64_t m, uint64_t n,
			     const struct merkle_hash *proof, int len,
			     const unsigned char root[HASH_BYTES])
{
	if (m >= n || len < 0 || len > MERKLE_MAX_PROOF)
		return false;
	uint64_t fn = m, sn = n - 1;
	unsigned char r[HASH_BYTES];
	memcpy(r, leaf, HASH_BYTES);
	for (int i = 0; i < len; i++) {
		if (sn == 0)
			return false;
		if ((fn & 1) || fn == sn) {
			merkle_node_hash(proof[i].h, r, r);
			if (!(fn & 1))
				while (fn && !(fn & 1)) {
					fn >>= 1;
					sn >>= 1;
				}
		} else {
			merkle_node_hash(r, proof[i].h, r);
		}
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && secure_equal(r, root, HASH_BYTES);
}

bool merkle_verify_consistency(uint64_t n1, uint64_t n2, const unsigned char root1[HASH_BYTES],
			       const unsigned char root2[HASH_BYTES],
			       const struct merkle_hash *proof, int len)
{
	if (n1 > n2 || len < 0 || len > MERKLE_MAX_PROOF)
		return false;
	if (n1 == n2)
		return len == 0 && secure_equal(root1, root2, HASH_BYTES);
	if (n1 == 0)
		return len == 0; /* the empty tree is a prefix of every tree */
	if (len == 0)
		return false;
	/* RFC 9162 2.1.4.2 */
	struct merkle_hash path[MERKLE_MAX_PROOF + 1];
	int plen = 0;
	if (is_pow2(n1))
		memcpy(path[plen++].h, root1, HASH_BYTES);
	for (int i = 0; i < len; i++)
		path[plen++] = proof[i];
	uint64_t fn = n1 - 1, sn = n2 - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	unsigned char fr[HASH_BYTES], sr[HASH_BYTES];
	memcpy(fr, path[0].h, HASH_BYTES);
	memcpy(sr, path[0].h, HASH_BYTES);
	for (int i = 1; i < plen; i++) {
		if (sn == 0)
			return false;
		const unsigned char *c = path[i].h;
		if ((fn & 1) || fn == sn) {
			merkle_node_hash(c, fr, fr);
			merkle_node_hash(c, sr, sr);
			if (!(fn & 1))
				while (fn && !(fn & 1)) {
					fn >>= 1;
					sn >>= 1;
				}
		} else {
			merkle_node_hash(sr, c, sr);
		}
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && secure_equal(fr, root1, HASH_BYTES) &&
	       secure_equal(sr, root2, HASH_BYTES);
}
