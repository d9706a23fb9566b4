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
 * words the database indexes, the leaf hash, a check over the header), the
 * entry bytes, zeros to a multiple of 8. A scan takes records while each is
 * whole (magic, length, check, leaf hash) and its seq follows the last; it
 * stops at the first that is not, which is where the last flush ended, or
 * older records of a reused segment begin.
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

#define JOURNAL_MAGIC 0x314a5453u /* "STJ1" */
#define SEGMENT_TARGET (32 * 1024 * 1024)
#define ENTRY_MAX (1024 * 1024)
#define CHECK_BYTES 16

struct record_header {
	uint32_t magic;
	uint32_t len;
	uint64_t seq;
	int64_t time_us;
	int64_t user_id, subject_id, record_id;
	char action[48];
	char outcome[8];
	unsigned char leaf[HASH_BYTES];
	unsigned char check[CHECK_BYTES]; /* SHA-256 of everything above, cut */
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
	off_t segment; /* size at which to move to the other segment */
};

static void header_check(const struct record_header *h, unsigned char out[CHECK_BYTES])
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
		    const unsigned char leaf[HASH_BYTES], const char *entry, size_t len)
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
	header_check(&h, h.check);
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

/* The records of one segment's bytes, in order, while they are whole and
 * gapless. Returns the number of bytes they span. */
static size_t scan_segment(const unsigned char *data, size_t len, journal_record_fn fn,
			   void *ctx, uint64_t *first, uint64_t *end)
{
	size_t at = 0;
	bool any = false;
	uint64_t next = 0;
	while (len - at >= sizeof(struct record_header)) {
		struct record_header h;
		memcpy(&h, data + at, sizeof(h));
		if (h.magic != JOURNAL_MAGIC || h.len == 0 || h.len > ENTRY_MAX ||
		    len - at - sizeof(h) < padded(h.len) || (any && h.seq != next))
			break;
		unsigned char check[CHECK_BYTES];
		header_check(&h, check);
		if (memcmp(check, h.check, CHECK_BYTES) != 0)
			break;
		const char *entry = (const char *)data + at + sizeof(h);
		unsigned char leaf[HASH_BYTES];
		merkle_leaf_hash(entry, h.len, leaf);
		if (memcmp(leaf, h.leaf, HASH_BYTES) != 0 || memchr(h.action, 0, sizeof(h.action)) ==
								     NULL ||
		    memchr(h.outcome, 0, sizeof(h.outcome)) == NULL)
			break;
		if (!any)
			*first = h.seq;
		any = true;
		next = h.seq + 1;
		if (fn) {
			struct journal_entry je = {.seq = h.seq, .time_us = h.time_us,
						   .user_id = h.user_id, .subject_id = h.subject_id,
						   .record_id = h.record_id, .action = h.action,
						   .outcome = h.outcome, .entry = entry, .len = h.len};
			memcpy(je.leaf, h.leaf, HASH_BYTES);
			fn(ctx, &je);
		}
		at += sizeof(h) + padded(h.len);
	}
	if (!any)
		*first = 0;
	*end = any ? next : 0;
	return at;
}

char *journal_segment_path(const char *db_path, int i)
{
	size_t n = strlen(db_path);
	if (n > 3 && str_eq(db_path + n - 3, ".db"))
		return xasprintf("%.*s-journal-%d", (int)(n - 3), db_path, i);
	return xasprintf("%s-journal-%d", db_path, i);
}

struct replay_ctx {
	uint64_t from, next;
	journal_record_fn fn;
	void *ctx;
	bool gap;
};

static void replay_one(void *arg, const struct journal_entry *je)
{
	struct replay_ctx *r = arg;
	if (je->seq < r->from || r->gap)
		return;
	if (je->seq != r->next) {
		r->gap = true;
		return;
	}
	r->next++;
	if (r->fn)
		r->fn(r->ctx, je);
}

int journal_scan(const char *db_path, uint64_t from, journal_record_fn fn, void *ctx,
		 uint64_t *end, struct st_error *e)
{
	unsigned char *data[2] = {NULL, NULL};
	size_t len[2] = {0, 0};
	uint64_t first[2] = {0, 0}, last[2] = {0, 0};
	int rc = ST_OK;
	for (int i = 0; i < 2 && rc == ST_OK; i++) {
		char *p = journal_segment_path(db_path, i);
		rc = read_all(p, &data[i], &len[i], e);
		free(p);
		if (rc == ST_OK)
			scan_segment(data[i], len[i], NULL, NULL, &first[i], &last[i]);
	}
	struct replay_ctx r = {.from = from, .next = from, .fn = fn, .ctx = ctx};
	if (rc == ST_OK) {
		/* The older segment first; an empty one holds nothing. */
		int order[2] = {0, 1};
		if (last[1] > first[1] && (last[0] == first[0] || first[1] < first[0])) {
			order[0] = 1;
			order[1] = 0;
		}
		for (int k = 0; k < 2; k++) {
			int i = order[k];
			if (last[i] > first[i]) {
				if (first[i] > r.next && last[i] > from) {
					/* Records the database lacks, with a hole before them. */
					rc = err_set(e, ST_ECRYPTO, NULL,
						     "the access-log journal holds events %llu to %llu, "
						     "but the log ends at %llu: events %llu to %llu are "
						     "missing",
						     (unsigned long long)first[i],
						     (unsigned long long)last[i] - 1,
						     (unsigned long long)r.next,
						     (unsigned long long)r.next,
						     (unsigned long long)first[i] - 1);
					break;
				}
				scan_segment(data[i], len[i], replay_one, &r, &first[i], &last[i]);
			}
		}
	}
	free(data[0]);
	free(data[1]);
	if (rc == ST_OK && end)
		*end = r.next;
	return rc;
}

int journal_open(const char *db_path, bool faults, size_t segment, struct journal **out,
		 struct st_error *e)
{
	struct journal *j = xcalloc(1, sizeof(*j));
	j->faults = faults;
	j->segment = segment ? (off_t)segment : SEGMENT_TARGET;
	int rc = ST_OK;
	for (int i = 0; i < 2; i++) {
		j->seg[i].path = journal_segment_path(db_path, i);
		j->seg[i].fd = open(j->seg[i].path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (j->seg[i].fd < 0) {
			rc = err_set(e, ST_EIO, NULL, "cannot open the access-log journal %s: %s",
				     j->seg[i].path, strerror(errno));
			break;
		}
		struct stat st;
		if (fstat(j->seg[i].fd, &st) == 0)
			j->seg[i].zeroed = st.st_size;
	}
	if (rc == ST_OK && flock(j->seg[0].fd, LOCK_EX | LOCK_NB) != 0)
		rc = err_setc(e, ST_ECONFLICT, "locked", NULL,
			      "the access log is open for writing in another process");
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
	if (j->offset >= j->segment && other->end <= flushed) {
		j->active = 1 - j->active;
		j->offset = 0;
		s = other;
		s->first = s->end = first;
	}
	if (s->first == s->end)
		s->first = first;
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
	j->offset += (off_t)len;
	s->end = end;
	return ST_OK;
}

int audit_journal_end(const char *db_path, uint64_t from, uint64_t *end, struct st_error *e)
{
	return journal_scan(db_path, from, NULL, NULL, end, e);
}
