/*
 * test_merkle.c - the RFC 6962 tree: roots, inclusion and consistency
 * proofs of every small tree agree with an independent, naive
 * implementation of the RFC's recursive definitions written here, with
 * published vectors, and with the RFC 9162 verifiers; tampered proofs fail.
 */
#include "testsupport.h"
#include "audit/merkle.h"

/* --- the naive reference: RFC 6962 2.1, written straight from the text --- */

static void naive_leaf(const unsigned char *d, size_t len, unsigned char out[32])
{
	unsigned char *buf = xmalloc(len + 1);
	buf[0] = 0x00;
	memcpy(buf + 1, d, len);
	sha256(buf, len + 1, out);
	free(buf);
}

static void naive_node(const unsigned char l[32], const unsigned char r[32], unsigned char out[32])
{
	unsigned char buf[65];
	buf[0] = 0x01;
	memcpy(buf + 1, l, 32);
	memcpy(buf + 33, r, 32);
	sha256(buf, 65, out);
}

/* leaves are given as leaf hashes */
static void naive_mth(const struct merkle_hash *lh, size_t n, unsigned char out[32])
{
	if (n == 0) {
		sha256("", 0, out);
		return;
	}
	if (n == 1) {
		memcpy(out, lh[0].h, 32);
		return;
	}
	size_t k = 1;
	while (k * 2 < n)
		k *= 2;
	unsigned char l[32], r[32];
	naive_mth(lh, k, l);
	naive_mth(lh + k, n - k, r);
	naive_node(l, r, out);
}

static void naive_path(size_t m, const struct merkle_hash *lh, size_t n, struct merkle_hash *out,
		       int *len)
{
	if (n == 1)
		return;
	size_t k = 1;
	while (k * 2 < n)
		k *= 2;
	if (m < k) {
		naive_path(m, lh, k, out, len);
		naive_mth(lh + k, n - k, out[(*len)++].h);
	} else {
		naive_path(m - k, lh + k, n - k, out, len);
		naive_mth(lh, k, out[(*len)++].h);
	}
}

static void naive_subproof(size_t m, const struct merkle_hash *lh, size_t n, bool b,
			   struct merkle_hash *out, int *len)
{
	if (m == n) {
		if (!b)
			naive_mth(lh, n, out[(*len)++].h);
		return;
	}
	size_t k = 1;
	while (k * 2 < n)
		k *= 2;
	if (m <= k) {
		naive_subproof(m, lh, k, b, out, len);
		naive_mth(lh + k, n - k, out[(*len)++].h);
	} else {
		naive_subproof(m - k, lh + k, n - k, false, out, len);
		naive_mth(lh, k, out[(*len)++].h);
	}
}

/* --- a merkle_source over an in-memory list of leaf hashes --- */

static struct merkle_hash leaves[300];

static int mem_perfect(void *ctx, int level, uint64_t index, unsigned char out[32],
		       struct st_error *e)
{
	(void)ctx, (void)e;
	naive_mth(leaves + (index << level), (size_t)1 << level, out);
	return ST_OK;
}

static const struct merkle_source mem = {mem_perfect, NULL};

static void make_leaves(size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char d[32];
		int len = snprintf(d, sizeof(d), "entry %zu", i);
		naive_leaf((const unsigned char *)d, (size_t)len, leaves[i].h);
	}
}

static void test_hash_definitions(void **state)
{
	(void)state;
	unsigned char a[32], b[32];
	merkle_leaf_hash("abc", 3, a);
	naive_leaf((const unsigned char *)"abc", 3, b);
	assert_memory_equal(a, b, 32);
	merkle_node_hash(a, b, a);
	naive_node(b, b, b);
	assert_memory_equal(a, b, 32);
	/* the empty tree: SHA-256 of the empty string */
	merkle_empty_root(a);
	char *hex = hex_encode(a, 32);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	free(hex);
}

/* The test vectors published with Certificate Transparency's reference
 * code (the eight leaves below and the roots of their prefixes). */
static void test_published_vectors(void **state)
{
	(void)state;
	static const struct {
		const char *data;
		size_t len;
	} in[8] = {{"", 0},
		   {"\x00", 1},
		   {"\x10", 1},
		   {"\x20\x21", 2},
		   {"\x30\x31", 2},
		   {"\x40\x41\x42\x43", 4},
		   {"\x50\x51\x52\x53\x54\x55\x56\x57", 8},
		   {"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f", 16}};
	static const char *roots[8] = {
		"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
		"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
		"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
		"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
		"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
		"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
		"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
		"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};
	struct merkle_frontier f;
	merkle_frontier_init(&f);
	for (int i = 0; i < 8; i++) {
		unsigned char leaf[32], root[32];
		merkle_leaf_hash(in[i].data, in[i].len, leaf);
		merkle_frontier_push(&f, 0, leaf, NULL, NULL);
		merkle_frontier_root(&f, root);
		char *hex = hex_encode(root, 32);
		assert_string_equal(hex, roots[i]);
		free(hex);
	}
}

static void test_roots_match_naive(void **state)
{
	(void)state;
	make_leaves(300);
	struct merkle_frontier f;
	merkle_frontier_init(&f);
	for (size_t n = 1; n <= 300; n++) {
		merkle_frontier_push(&f, 0, leaves[n - 1].h, NULL, NULL);
		unsigned char a[32], b[32], c[32];
		merkle_frontier_root(&f, a);
		naive_mth(leaves, n, b);
		assert_memory_equal(a, b, 32);
		assert_int_equal(merkle_range_hash(&mem, 0, n, c, NULL), ST_OK);
		assert_memory_equal(b, c, 32);
	}
}

struct node_seen {
	int count;
	bool ok;
};

static void on_node(void *ctx, int level, uint64_t index, const unsigned char h[32])
{
	struct node_seen *s = ctx;
	unsigned char expect[32];
	naive_mth(leaves + (index << level), (size_t)1 << level, expect);
	if (memcmp(expect, h, 32))
		s->ok = false;
	s->count++;
}

static void test_frontier_nodes(void **state)
{
	(void)state;
	make_leaves(300);
	struct merkle_frontier f;
	merkle_frontier_init(&f);
	struct node_seen seen = {0, true};
	for (size_t n = 0; n < 256; n++)
		merkle_frontier_push(&f, 0, leaves[n].h, on_node, &seen);
	assert_true(seen.ok);
	assert_int_equal(seen.count, 255); /* every internal node of a 256-leaf tree */
}

static void test_inclusion_proofs(void **state)
{
	(void)state;
	make_leaves(300);
	for (size_t n = 1; n <= 70; n++) {
		unsigned char root[32];
		naive_mth(leaves, n, root);
		for (size_t m = 0; m < n; m++) {
			struct merkle_hash p[MERKLE_MAX_PROOF], q[MERKLE_MAX_PROOF];
			int plen = 0, qlen = 0;
			assert_int_equal(merkle_inclusion_proof(&mem, m, n, p, &plen, NULL), ST_OK);
			naive_path(m, leaves, n, q, &qlen);
			assert_int_equal(plen, qlen);
			assert_memory_equal(p, q, (size_t)plen * sizeof(p[0]));
			assert_true(merkle_verify_inclusion(leaves[m].h, m, n, p, plen, root));
			/* wrong index, wrong size, wrong leaf, flipped proof byte */
			if (n > 1)
				assert_false(merkle_verify_inclusion(leaves[m].h, (m + 1) % n, n, p,
								     plen, root));
			unsigned char next_root[32];
			naive_mth(leaves, n + 1, next_root);
			assert_false(merkle_verify_inclusion(leaves[m].h, m, n + 1, p, plen, next_root));
			assert_false(merkle_verify_inclusion(leaves[(m + 1) % 300].h, m, n, p, plen,
							     root));
			if (plen) {
				p[plen / 2].h[3] ^= 1;
				assert_false(merkle_verify_inclusion(leaves[m].h, m, n, p, plen, root));
				/* a truncated proof */
				p[plen / 2].h[3] ^= 1;
				assert_false(merkle_verify_inclusion(leaves[m].h, m, n, p, plen - 1,
								     root));
			}
		}
	}
	struct st_error e = {0};
	struct merkle_hash p[MERKLE_MAX_PROOF];
	int plen;
	assert_int_equal(merkle_inclusion_proof(&mem, 5, 5, p, &plen, &e), ST_EINVAL);
}

static void test_consistency_proofs(void **state)
{
	(void)state;
	make_leaves(300);
	for (size_t n = 1; n <= 64; n++) {
		unsigned char r2[32];
		naive_mth(leaves, n, r2);
		for (size_t m = 1; m <= n; m++) {
			unsigned char r1[32];
			naive_mth(leaves, m, r1);
			struct merkle_hash p[MERKLE_MAX_PROOF], q[MERKLE_MAX_PROOF];
			int plen = 0, qlen = 0;
			assert_int_equal(merkle_consistency_proof(&mem, m, n, p, &plen, NULL), ST_OK);
			if (m < n)
				naive_subproof(m, leaves, n, true, q, &qlen);
			assert_int_equal(plen, qlen);
			assert_memory_equal(p, q, (size_t)plen * sizeof(p[0]));
			assert_true(merkle_verify_consistency(m, n, r1, r2, p, plen));
			if (m < n) {
				/* a different old root, or a tampered proof, fails */
				unsigned char bad[32];
				memcpy(bad, r1, 32);
				bad[0] ^= 1;
				assert_false(merkle_verify_consistency(m, n, bad, r2, p, plen));
				assert_false(merkle_verify_consistency(m, n, r1, bad, p, plen));
				p[0].h[5] ^= 1;
				assert_false(merkle_verify_consistency(m, n, r1, r2, p, plen));
				p[0].h[5] ^= 1;
				if (m > 1)
					assert_false(merkle_verify_consistency(m - 1, n, r1, r2, p, plen));
			}
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_definitions),
		cmocka_unit_test(test_published_vectors),
		cmocka_unit_test(test_roots_match_naive),
		cmocka_unit_test(test_frontier_nodes),
		cmocka_unit_test(test_inclusion_proofs),
		cmocka_unit_test(test_consistency_proofs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
