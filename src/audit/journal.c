/*
 * journal.c - where an access-log event becomes durable.
 *
 * An event is durable once its record is in the journal and the journal has
 * been flushed. The journal is two segment files beside the log database
 * (audit-journal-0 and audit-journal-1), filled with zeros ahead of the
 * writes, so that a flush carries data only, never a change of file size
 * or extents: the cheapest flush the disk offers. The log database (the
 * entries, subtree hashes and checkpoints that queries, proofs and verify
 * read) is filled from the journal just behind it and flushed at every
 * checkpoint; a segment whose records are all flushed in the database is
 * reused. At open, records the database lacks (after a crash) are moved
 * into it first, as a database replays its write-ahead log.
 *
 * A record: a fixed header (magic, entry length, seq, time, the ids and
 * words the database indexes, the leaf hash, the previous record's check,
 * a check over the header), the entry bytes, zeros to a multiple of 8. The
 * check is a keyed MAC (BLAKE2b) under the journal key, which is derived
 * from the log's signing key (itself wrapped by the master key): without
 * it nobody can write a record the log takes. The records form a chain: a
 * scan takes records while each is whole (magic, length, check, leaf
 * hash), its seq follows the last and it names the last's check; it stops
 * at the first that does not, which is where the last flush ended, or
 * where older records begin: of a reused segment, or of a write that
 * failed (its seqs are handed out again, with other times and so other
 * checks). A failed write is retried at the same place, never in the other
 * segment. A record that is whole, follows on and whose entry matches its
 * leaf hash but whose check does not authenticate is not the end of a
 * flush (no torn write leaves it): it was altered or forged, and the scan
 * fails. Cutting the chain short cannot be told from a crash; every event
 * before the newest signed checkpoint is covered by the checkpoint, and
 * the checkpoints by the witnesses.
 *
 * Records of the earlier, unkeyed format ("STJ2") are never taken: a
 * journal whose STJ2 records go beyond the log database (an earlier
 * version stopped uncleanly) is refused, naming what to do, rather than
 * read as events nobody can authenticate.
 *
 * Only the thread that holds the log's flush (one at a time) writes; one
 * process at a time may append (an exclusive lock on the first segment).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit_internal.h"

#define JOURNAL_MAGIC 0x334a5453u /* "STJ3": keyed checks */
#define LEGACY_MAGIC 0x324a5453u  /* "STJ2": unkeyed, refused beyond the log */
#define SEGMENT_TARGET (32 * 1024 * 1024)
#define ENTRY_MAX JOURNAL_ENTRY_MAX
#define CHECK_BYTES JOURNAL_CHECK_BYTES

struct record_header {
	uint32_t magic;
	uint32_t len;
	uint64_t seq;
	int64_t time_us;
	int64_t user_id, subject_id, record_id;
	char action[48];
	char outcome[8];
	unsigned char leaf[HASH_BYTES];
	unsigned char prev[CHECK_BYTES];  /* the previous record's check */
	unsigned char check[CHECK_BYTES]; /* MAC of everything above */
};

struct segment {
	int fd;
	char *path;
	off_t zeroed;   /* bytes known to be allocated and written */
	uint64_t first; /* seqs held: [first, end); first == end when empty */
	uint64_t end;
};

struct journal {
	struct segment seg[2];
	int active;
	off_t offset; /* where the next record goes in the active segment */
	bool faults;  /* consult the fault-injection hooks (tests) */
	bool retry;   /* the last write failed: the next goes to the same place */
	off_t segment; /* size at which to move to the other segment */
};

static void header_check(const unsigned char key[KEY_BYTES], const struct record_header *h,
			 unsigned char out[CHECK_BYTES])
{
	mac_keyed(key, h, offsetof(struct record_header, check), out, CHECK_BYTES);
}

/* The check of the earlier format: SHA-256 of the header, cut. */
static void legacy_check(const struct record_header *h, unsigned char out[CHECK_BYTES])
{
	unsigned char full[HASH_BYTES];
	sha256(h, offsetof(struct record_header, check), full);
	memcpy(out, full, CHECK_BYTES);
}

static size_t padded(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

void journal_record(struct buf *out, uint64_t seq, int64_t time_us, int64_t user_id,
		    int64_t subject_id, int64_t record_id, const char *action, const char *outcome,
		    const unsigned char leaf[HASH_BYTES], const char *entry, size_t len,
		    const unsigned char key[KEY_BYTES], unsigned char chain[JOURNAL_CHECK_BYTES])
{
	struct record_header h;
	memset(&h, 0, sizeof(h));
	h.magic = JOURNAL_MAGIC;
	h.len = (uint32_t)len;
	h.seq = seq;
	h.time_us = time_us;
	h.user_id = user_id;
	h.subject_id = subject_id;
	h.record_id = record_id;
	str_copy(h.action, sizeof(h.action), action);
	str_copy(h.outcome, sizeof(h.outcome), outcome);
	memcpy(h.leaf, leaf, HASH_BYTES);
	memcpy(h.prev, chain, CHECK_BYTES);
	header_check(key, &h, h.check);
	memcpy(chain, h.check, CHECK_BYTES);
	buf_append(out, &h, sizeof(h));
	buf_append(out, entry, len);
	static const char zeros[8];
	buf_append(out, zeros, padded(len) - len);
}

/* Reads a whole segment file; a missing one is empty. */
static int read_all(const char *path, unsigned char **data, size_t *len, struct st_error *e)
{
	*data = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? ST_OK
				       : err_set(e, ST_EIO, NULL, "cannot read %s: %s", path,
						 strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return err_set(e, ST_EIO, NULL, "cannot read %s", path);
	}
	size_t n = (size_t)st.st_size;
	unsigned char *p = xmalloc(n ? n : 1);
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(fd, p + got, n - got, (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	*data = p;
	*len = got;
	return ST_OK;
}

/* One segment's records, as far as they are whole, gapless and chained. */
struct seg_scan {
	uint64_t first, end; /* seqs [first, end); equal when none */
	unsigned char first_prev[CHECK_BYTES];
	unsigned char last_check[CHECK_BYTES];
	bool forged;         /* the chain stops at a record that fails its check */
	uint64_t forged_seq;
	uint64_t legacy_end; /* seq after the earlier format's chain, 0 if none */
};

/* Whether the record at data[at] is whole: magic, length, within the
 * segment, its entry matching its leaf hash, its words terminated. */
static bool record_whole(const unsigned char *data, size_t len, size_t at, uint32_t magic,
			 struct record_header *h)
{
	if (len - at < sizeof(*h))
		return false;
	memcpy(h, data + at, sizeof(*h));
	if (h->magic != magic || h->len == 0 || h->len > ENTRY_MAX ||
	    len - at - sizeof(*h) < padded(h->len) ||
	    memchr(h->action, 0, sizeof(h->action)) == NULL ||
	    memchr(h->outcome, 0, sizeof(h->outcome)) == NULL)
		return false;
	unsigned char leaf[HASH_BYTES];
	merkle_leaf_hash(data + at + sizeof(*h), h->len, leaf);
	return memcmp(leaf, h->leaf, HASH_BYTES) == 0;
}

/* The seq after the chain of earlier-format records that opens the
 * segment (0 if it does not open with one). */
static uint64_t legacy_chain_end(const unsigned char *data, size_t len)
{
	size_t at = 0;
	uint64_t end = 0;
	bool any = false;
	unsigned char last[CHECK_BYTES];
	struct record_header h;
	while (at < len && record_whole(data, len, at, LEGACY_MAGIC, &h)) {
		unsigned char check[CHECK_BYTES];
		legacy_check(&h, check);
		if (memcmp(check, h.check, CHECK_BYTES) != 0 ||
		    (any && (h.seq != end || memcmp(h.prev, last, CHECK_BYTES) != 0)))
			break;
		any = true;
		end = h.seq + 1;
		memcpy(last, h.check, CHECK_BYTES);
		at += sizeof(h) + padded(h.len);
	}
	return end;
}

/* Scans a segment. Without a key (a reader that has none) the checks are
 * not authenticated: the chain is followed by its form only. */
static void scan_segment(const unsigned char *data, size_t len, const unsigned char *key,
			 journal_record_fn fn, void *ctx, uint64_t from, struct seg_scan *out)
{
	size_t at = 0;
	bool any = false;
	memset(out, 0, sizeof(*out));
	out->legacy_end = legacy_chain_end(data, len);
	struct record_header h;
	while (at < len && record_whole(data, len, at, JOURNAL_MAGIC, &h)) {
		if (any && (h.seq != out->end || memcmp(h.prev, out->last_check, CHECK_BYTES) != 0))
			break;
		if (key) {
			unsigned char check[CHECK_BYTES];
			header_check(key, &h, check);
			if (!secure_equal(check, h.check, CHECK_BYTES)) {
				/* whole and following on, but not ours */
				out->forged = true;
				out->forged_seq = h.seq;
				break;
			}
		}
		if (!any) {
			out->first = h.seq;
			memcpy(out->first_prev, h.prev, CHECK_BYTES);
		}
		any = true;
		out->end = h.seq + 1;
		memcpy(out->last_check, h.check, CHECK_BYTES);
		if (fn && h.seq >= from) {
			const char *entry = (const char *)data + at + sizeof(h);
			struct journal_entry je = {.seq = h.seq, .time_us = h.time_us,
						   .user_id = h.user_id, .subject_id = h.subject_id,
						   .record_id = h.record_id, .action = h.action,
						   .outcome = h.outcome, .entry = entry, .len = h.len};
			memcpy(je.leaf, h.leaf, HASH_BYTES);
			fn(ctx, &je);
		}
		at += sizeof(h) + padded(h.len);
	}
}

char *journal_segment_path(const char *db_path, int i)
{
	size_t n = strlen(db_path);
	if (n > 3 && str_eq(db_path + n - 3, ".db"))
		return xasprintf("%.*s-journal-%d", (int)(n - 3), db_path, i);
	return xasprintf("%s-journal-%d", db_path, i);
}

int journal_scan_data(const unsigned char *const data[2], const size_t len[2], uint64_t from,
		      bool live, const unsigned char *key, journal_record_fn fn, void *ctx,
		      uint64_t *end, struct st_error *e)
{
	struct seg_scan sc[2];
	int rc = ST_OK;
	for (int i = 0; i < 2; i++)
		scan_segment(data[i], len[i], key, NULL, NULL, 0, &sc[i]);
	for (int i = 0; i < 2 && rc == ST_OK; i++) {
		if (sc[i].forged)
			rc = err_setc(e, ST_ECRYPTO, "verification_failed", NULL,
				      "the access-log journal's record of event %llu fails its "
				      "authentication: it was altered or forged (or the journal "
				      "belongs to another log)",
				      (unsigned long long)sc[i].forged_seq);
		else if (sc[i].legacy_end > from)
			rc = err_setc(e, ST_ECONFLICT, "journal_legacy", NULL,
				      "the access-log journal holds events up to %llu in the format of "
				      "an earlier version of Steward, which stopped without storing "
				      "them (the log ends at %llu): start and stop that version once "
				      "so that it stores them, then upgrade; or remove "
				      "audit-journal-0 and audit-journal-1 to give them up",
				      (unsigned long long)sc[i].legacy_end - 1,
				      (unsigned long long)from);
	}
	uint64_t next = from;
	if (rc == ST_OK) {
		/* The older segment first; an empty one holds nothing. */
		int order[2] = {0, 1};
		if (sc[1].end > sc[1].first &&
		    (sc[0].end == sc[0].first || sc[1].first < sc[0].first)) {
			order[0] = 1;
			order[1] = 0;
		}
		bool took = false;
		unsigned char last[CHECK_BYTES];
		for (int k = 0; k < 2 && rc == ST_OK; k++) {
			const struct seg_scan *g = &sc[order[k]];
			if (g->end <= next)
				continue; /* nothing the database lacks */
			if (g->first > next) {
				if (!live)
					rc = err_setc(e, ST_ECRYPTO, "journal_hole", NULL,
						     "the access-log journal holds events %llu to %llu, "
						     "but the log ends at %llu: events %llu to %llu "
						     "are missing",
						     (unsigned long long)g->first,
						     (unsigned long long)g->end - 1,
						     (unsigned long long)next, (unsigned long long)next,
						     (unsigned long long)g->first - 1);
				break;
			}
			if (took && (g->first != next ||
				     memcmp(g->first_prev, last, CHECK_BYTES) != 0)) {
				if (!live)
					rc = err_setc(e, ST_ECRYPTO, "journal_hole", NULL,
						     "the access-log journal's two segments do not follow "
						     "on at event %llu (overlapping or altered records): "
						     "events from %llu on cannot be trusted",
						     (unsigned long long)next, (unsigned long long)next);
				break;
			}
			if (fn)
				scan_segment(data[order[k]], len[order[k]], key, fn, ctx, next,
					     &sc[order[k]]);
			next = g->end;
			memcpy(last, g->last_check, CHECK_BYTES);
			took = true;
		}
	}
	if (rc == ST_OK && end)
		*end = next;
	return rc;
}

int journal_scan(const char *db_path, uint64_t from, bool live, const unsigned char *key,
		 journal_record_fn fn, void *ctx, uint64_t *end, struct st_error *e)
{
	unsigned char *data[2] = {NULL, NULL};
	size_t len[2] = {0, 0};
	int rc = ST_OK, lockfd = -1;
	if (live) {
		/* A writer holds the journal: it may move on while this reads
		 * (a segment reused, a flush under way). Then the tail is simply
		 * what could be read; without a writer, a hole is an error. */
		char *p0 = journal_segment_path(db_path, 0);
		lockfd = open(p0, O_RDONLY | O_CLOEXEC);
		free(p0);
		live = lockfd >= 0 && flock(lockfd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
	}
	for (int i = 0; i < 2 && rc == ST_OK; i++) {
		char *p = journal_segment_path(db_path, i);
		rc = read_all(p, &data[i], &len[i], e);
		free(p);
	}
	if (rc == ST_OK)
		rc = journal_scan_data((const unsigned char *const *)data, len, from, live, key, fn,
				       ctx, end, e);
	if (lockfd >= 0)
		close(lockfd);
	free(data[0]);
	free(data[1]);
	return rc;
}

int journal_open(const char *db_path, bool faults, size_t segment, struct journal **out,
		 struct st_error *e)
{
	struct journal *j = xcalloc(1, sizeof(*j));
	j->faults = faults;
	j->segment = segment ? (off_t)segment : SEGMENT_TARGET;
	int rc = ST_OK;
	bool created = false;
	for (int i = 0; i < 2; i++) {
		j->seg[i].path = journal_segment_path(db_path, i);
		j->seg[i].fd = open(j->seg[i].path, O_RDWR | O_CLOEXEC);
		if (j->seg[i].fd < 0 && errno == ENOENT) {
			j->seg[i].fd = open(j->seg[i].path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
			created = true;
		}
		if (j->seg[i].fd < 0) {
			rc = err_set(e, ST_EIO, NULL, "cannot open the access-log journal %s: %s",
				     j->seg[i].path, strerror(errno));
			break;
		}
		struct stat st;
		if (fstat(j->seg[i].fd, &st) == 0)
			j->seg[i].zeroed = st.st_size;
	}
	if (rc == ST_OK && created) {
		/* A new file's name must survive a power loss too. */
		char *dir = xstrdup(j->seg[0].path);
		char *slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		if (fsync_dir(slash ? dir : ".") != ST_OK)
			rc = err_set(e, ST_EIO, NULL, "cannot flush the directory of %s",
				     j->seg[0].path);
		free(dir);
	}
	/* A verification reading the journal holds it shared for a moment:
	 * wait for that, not for another writer. */
	for (int tries = 0; rc == ST_OK; tries++) {
		if (flock(j->seg[0].fd, LOCK_EX | LOCK_NB) == 0)
			break;
		if (errno != EWOULDBLOCK || tries == 200)
			rc = err_setc(e, ST_ECONFLICT, "locked", NULL,
				      "the access log is open in another process (a server, or a "
				      "verification still reading it)");
		else
			usleep(50000);
	}
	if (rc != ST_OK) {
		journal_close(j);
		return rc;
	}
	*out = j;
	return ST_OK;
}

void journal_start(struct journal *j, uint64_t next)
{
	/* Everything before `next` is flushed in the database: both segments
	 * are free, and writing starts over at the beginning of the first. */
	j->active = 0;
	j->offset = 0;
	for (int i = 0; i < 2; i++)
		j->seg[i].first = j->seg[i].end = next;
}

void journal_close(struct journal *j)
{
	if (!j)
		return;
	if (j->retry) {
		/* The last write failed and was never redone: whatever of it
		 * reached the file is not an event anybody was told of. Cut the
		 * chain where it would have begun (best effort: the disk was
		 * failing). */
		struct segment *s = &j->seg[j->active];
		static const char zeros[sizeof(struct record_header)];
		if (pwrite(s->fd, zeros, sizeof(zeros), j->offset) == (ssize_t)sizeof(zeros))
			(void)fdatasync(s->fd);
	}
	for (int i = 0; i < 2; i++) {
		if (j->seg[i].fd >= 0 && j->seg[i].path)
			close(j->seg[i].fd);
		free(j->seg[i].path);
	}
	free(j);
}

/* Zeros written (not merely reserved) ahead of the records, so that their
 * flush changes no metadata. */
static int zero_ahead(struct journal *j, struct segment *s, off_t need, struct st_error *e)
{
	static const char zeros[64 * 1024];
	while (s->zeroed < need) {
		off_t step = s->zeroed < 4 * 1024 * 1024 ? 1024 * 1024 : 8 * 1024 * 1024;
		off_t to = s->zeroed + step;
		for (off_t at = s->zeroed; at < to; at += (off_t)sizeof(zeros)) {
			if ((j->faults && store_fault_fires(STORE_FAULT_WRITE, s->path)) ||
			    pwrite(s->fd, zeros, sizeof(zeros), at) != (ssize_t)sizeof(zeros))
				return err_set(e, ST_EIO, NULL,
					       "cannot extend the access-log journal %s", s->path);
		}
		s->zeroed = to;
	}
	return ST_OK;
}

int journal_append(struct journal *j, const void *data, size_t len, uint64_t first,
		   uint64_t end, uint64_t flushed, bool *sticky, struct st_error *e)
{
	*sticky = false;
	struct segment *s = &j->seg[j->active];
	struct segment *other = &j->seg[1 - j->active];
	/* Move to the other segment once this one is large and everything in
	 * the other is flushed in the database. */
	if (j->offset >= j->segment && other->end <= flushed && !j->retry) {
		j->active = 1 - j->active;
		j->offset = 0;
		s = other;
		s->first = s->end = first;
	}
	if (s->first == s->end)
		s->first = first;
	j->retry = true; /* until this write is done */
	int rc = zero_ahead(j, s, j->offset + (off_t)len, e);
	if (rc != ST_OK)
		return rc;
	size_t done = 0;
	while (done < len) {
		if (j->faults && store_fault_fires(STORE_FAULT_WRITE, s->path))
			return err_set(e, ST_EIO, NULL, "cannot write the access-log journal %s",
				       s->path);
		ssize_t w = pwrite(s->fd, (const char *)data + done, len - done,
				   j->offset + (off_t)done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return err_set(e, ST_EIO, NULL, "cannot write the access-log journal %s: %s",
				       s->path, strerror(errno));
		done += (size_t)w;
	}
	if ((j->faults && store_fault_fires(STORE_FAULT_SYNC, s->path)) || fdatasync(s->fd) != 0) {
		/* The page cache may have dropped what it could not write: nothing
		 * about the file can be trusted until it is read again. */
		*sticky = true;
		return err_set(e, ST_EIO, NULL, "cannot flush the access-log journal %s", s->path);
	}
	j->retry = false;
	j->offset += (off_t)len;
	s->end = end;
	return ST_OK;
}

int audit_journal_end(const char *db_path, uint64_t from, uint64_t *end, struct st_error *e)
{
	return journal_scan(db_path, from, true, NULL, NULL, NULL, end, e);
}

bool journal_live(const char *db_path)
{
	char *p0 = journal_segment_path(db_path, 0);
	int fd = open(p0, O_RDONLY | O_CLOEXEC);
	free(p0);
	bool live = fd >= 0 && flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
	if (fd >= 0)
		close(fd);
	return live;
}
