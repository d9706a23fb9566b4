/*
 * fuzz_journal.c - the access log's journal, as audit_open reads it to
 * move events that only the journal holds (after a crash) into the log:
 * journal_scan_data (src/audit/journal.c) over the bytes of its two segment
 * files, from the event the log database ends at, with the callback doing
 * what recover() in src/audit/log.c does (a copy of every record given).
 *
 * A record is checked by a MAC under the journal key over its header,
 * chained to the one before, and its leaf hash covers its entry: random
 * bytes never pass (the harness holds a key of its own). So
 * the input is read as a recipe, the first byte choosing:
 *   even: the rest are the two segments' bytes as they are (a length of
 *         the first, then both), after the 8-byte seq the log ends at;
 *   odd:  records written as the log writes them (journal_record), each
 *         with the seq, ids, action, outcome and entry the input gives, into
 *         the segment it names, its chain kept or broken, then bytes of
 *         either segment overwritten or cut as the input says, as a torn or
 *         failing write or an older segment leaves them.
 * A last bit says whether a writer holds the journal (live).
 *
 * Properties: the records given are exactly the seqs from where the log
 * ends to the end reported, in order, each whole (its leaf hash is its
 * entry's, its action and outcome are terminated); a refusal names the
 * missing or untrustworthy events in text that can be shown; a live scan
 * is refused only for a record that does not authenticate.
 */
#include "fuzz.h"
#include "audit/audit_internal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	struct st_error e = {0};
	if (crypto_setup(&e) != ST_OK)
		die("fuzz_journal: %s", e.message);
	return 0;
}

/* The journal key the records are written and read under. */
static const unsigned char key[KEY_BYTES] = {
	0x6a, 0x6f, 0x75, 0x72, 0x6e, 0x61, 0x6c, 0x2d, 0x66, 0x75, 0x7a, 0x7a, 0x2d, 0x6b, 0x65, 0x79,
	0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01};

struct seen {
	uint64_t next; /* the seq the next record must have */
	size_t count;
};

static void recovered(void *ctx, const struct journal_entry *je)
{
	struct seen *s = ctx;
	FUZZ_CHECK(je->seq == s->next);
	FUZZ_CHECK(je->len >= 1 && je->len <= JOURNAL_ENTRY_MAX);
	unsigned char leaf[HASH_BYTES];
	merkle_leaf_hash(je->entry, je->len, leaf);
	FUZZ_CHECK(memcmp(leaf, je->leaf, HASH_BYTES) == 0);
	FUZZ_CHECK(strlen(je->action) < 48 && strlen(je->outcome) < 8);
	/* what recover() keeps of it */
	char *copy = xmalloc(je->len);
	memcpy(copy, je->entry, je->len);
	free(copy);
	s->next++;
	s->count++;
}

/* Records as the log writes them, then damage (see above). */
static void build(struct fuzz_in *in, struct buf seg[2])
{
	unsigned char chain[2][JOURNAL_CHECK_BYTES];
	memset(chain, 0, sizeof(chain));
	uint64_t seq[2] = {fuzz_u64(in, 1), fuzz_u64(in, 1)};
	int records = fuzz_u8(in) % 24;
	for (int i = 0; i < records && in->n; i++) {
		uint8_t how = fuzz_u8(in);
		int s = how & 1;
		if (how & 2) /* a jump in seq: a hole, or seqs handed out again */
			seq[s] += (uint64_t)(int8_t)fuzz_u8(in);
		if (how & 4) /* a chain that does not follow on */
			chain[s][fuzz_u8(in) % JOURNAL_CHECK_BYTES] ^= 1;
		if (how & 8) /* the other segment's chain and seq (a move) */
			memcpy(chain[s], chain[1 - s], sizeof(chain[s])), seq[s] = seq[1 - s];
		char *action = fuzz_str(in, 60), *outcome = fuzz_str(in, 10);
		const uint8_t *entry = NULL;
		size_t len = fuzz_bytes(in, 600, &entry);
		int64_t user = (int64_t)fuzz_u64(in, 2), time_us = (int64_t)fuzz_u64(in, 8);
		unsigned char leaf[HASH_BYTES];
		merkle_leaf_hash(entry, len, leaf);
		journal_record(&seg[s], seq[s], time_us, user, 0, user / 2, action, outcome, leaf,
			       (const char *)entry, len, key, chain[s]);
		seq[s]++;
		free(action);
		free(outcome);
	}
	int damage = fuzz_u8(in) % 4;
	for (int i = 0; i < damage; i++) {
		uint8_t how = fuzz_u8(in);
		struct buf *b = &seg[how & 1];
		size_t at = (size_t)fuzz_u64(in, 2);
		if (!b->len)
			continue;
		at %= b->len;
		if (how & 2)
			b->len = at; /* cut: a torn write */
		else
			b->data[at] ^= (char)(fuzz_u8(in) | 1); /* a changed byte */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	uint8_t mode = fuzz_u8(&in);
	bool live = mode & 0x80;
	uint64_t from = fuzz_u64(&in, mode & 0x40 ? 8 : 1);
	struct buf seg[2] = {BUF_INIT, BUF_INIT};
	if (mode & 1) {
		build(&in, seg);
	} else {
		size_t first = (size_t)fuzz_u64(&in, 3);
		if (first > in.n)
			first = in.n;
		buf_append(&seg[0], in.p, first);
		buf_append(&seg[1], in.p + first, in.n - first);
	}
	const unsigned char *bytes[2] = {(const unsigned char *)seg[0].data,
					 (const unsigned char *)seg[1].data};
	size_t len[2] = {seg[0].len, seg[1].len};
	struct seen seen = {.next = from};
	uint64_t end = UINT64_MAX;
	struct st_error e = {0};
	int rc = journal_scan_data(bytes, len, from, live, key, recovered, &seen, &end, &e);
	if (rc != ST_OK) {
		/* a live scan is refused only for a record that is whole but does
		 * not authenticate (altered, forged), never for a hole or a tail
		 * the writer is still laying down */
		FUZZ_CHECK(!live || str_eq(e.code, "verification_failed") ||
			   str_eq(e.code, "journal_legacy"));
		fuzz_check_refusal(rc, &e);
	} else {
		FUZZ_CHECK(end >= from);
		FUZZ_CHECK(end - from == seen.count);
		/* the end alone (as `audit verify` asks for it) is the same */
		uint64_t end2 = UINT64_MAX;
		FUZZ_CHECK(journal_scan_data(bytes, len, from, live, key, NULL, NULL, &end2, &e) ==
			   ST_OK);
		FUZZ_CHECK(end2 == end);
	}
	buf_release(&seg[0]);
	buf_release(&seg[1]);
	return 0;
}
