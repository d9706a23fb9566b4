/*
 * merkle.h - the Merkle tree of RFC 6962 section 2.1 (and RFC 9162 2.1):
 *   leaf hash  MTH({d}) = SHA-256(0x00 || d)
 *   node hash           = SHA-256(0x01 || left || right)
 *   MTH(D[n]) splits at k, the largest power of two smaller than n.
 * Pure functions: computing proofs needs a source of subtree hashes
 * (struct merkle_source), verifying them needs nothing but the proof.
 */
#ifndef STEWARD_MERKLE_H
#define STEWARD_MERKLE_H

#include "crypto/crypto.h"

#define MERKLE_MAX_PROOF 64 /* enough for 2^63 leaves */

struct merkle_hash {
	unsigned char h[HASH_BYTES];
};

void merkle_leaf_hash(const void *entry, size_t len, unsigned char out[HASH_BYTES]);
void merkle_node_hash(const unsigned char left[HASH_BYTES],
		      const unsigned char right[HASH_BYTES], unsigned char out[HASH_BYTES]);
/* The root of the empty tree: SHA-256 of the empty string. */
void merkle_empty_root(unsigned char out[HASH_BYTES]);
/* Largest power of two strictly smaller than n (n >= 2). */
uint64_t merkle_split(uint64_t n);

/* The compact frontier of a growing tree: the roots of the perfect
 * subtrees that make up [0, size), largest first. */
struct merkle_frontier {
	uint64_t size;
	int n;
	int level[MERKLE_MAX_PROOF];
	struct merkle_hash hash[MERKLE_MAX_PROOF];
};
/* Called for every perfect subtree completed by an append. */
typedef void (*merkle_node_cb)(void *ctx, int level, uint64_t index,
			       const unsigned char hash[HASH_BYTES]);
void merkle_frontier_init(struct merkle_frontier *f);
/* Appends a perfect subtree of 2^level leaves (level 0 = one leaf hash);
 * size must be a multiple of 2^level. Calls cb for each merged node. */
void merkle_frontier_push(struct merkle_frontier *f, int level,
			  const unsigned char hash[HASH_BYTES], merkle_node_cb cb, void *ctx);
void merkle_frontier_root(const struct merkle_frontier *f, unsigned char out[HASH_BYTES]);

/* A source of hashes of perfect subtrees: the hash of leaves
 * [index * 2^level, (index + 1) * 2^level). Returns ST_OK or an error. */
struct merkle_source {
	int (*perfect)(void *ctx, int level, uint64_t index, unsigned char out[HASH_BYTES],
		       struct st_error *e);
	void *ctx;
};
/* MTH(D[lo:hi]) for a range the RFC's recursion uses (lo aligned). */
int merkle_range_hash(const struct merkle_source *src, uint64_t lo, uint64_t hi,
		      unsigned char out[HASH_BYTES], struct st_error *e);
/* PATH(m, D[n]) of RFC 6962 2.1.1: *len hashes, leaf-side first. */
int merkle_inclusion_proof(const struct merkle_source *src, uint64_t m, uint64_t n,
			   struct merkle_hash *proof, int *len, struct st_error *e);
/* PROOF(m, D[n]) of RFC 6962 2.1.2. */
int merkle_consistency_proof(const struct merkle_source *src, uint64_t m, uint64_t n,
			     struct merkle_hash *proof, int *len, struct st_error *e);
/* RFC 9162 2.1.3.2: true if leaf_hash at index m is in the tree of size n
 * with the given root. */
ST_MUST_CHECK bool merkle_verify_inclusion(const unsigned char leaf[HASH_BYTES], uint64_t m,
					   uint64_t n, const struct merkle_hash *proof, int len,
					   const unsigned char root[HASH_BYTES]);
/* RFC 9162 2.1.4.2: true if the tree (n1, root1) is a prefix of (n2, root2). */
ST_MUST_CHECK bool merkle_verify_consistency(uint64_t n1, uint64_t n2,
					     const unsigned char root1[HASH_BYTES],
					     const unsigned char root2[HASH_BYTES],
					     const struct merkle_hash *proof, int len);

#endif
