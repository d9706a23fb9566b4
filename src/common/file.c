/*
 * file.c - careful file handling: bounded reads, atomic durable writes,
 * owner-only directories, permission checks on key files, and shredding.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/base.h"

int file_read_all(const char *path, size_t max, char **out, size_t *len,
		  struct st_error *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, errno == ENOENT ? ST_ENOTFOUND : ST_EIO, NULL,
			       "cannot open %s: %s", path, strerror(errno));
	struct buf b = BUF_INIT;
	char chunk[8192];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int err = errno;
			close(fd);
			buf_release(&b);
			return err_set(e, ST_EIO, NULL, "cannot read %s: %s", path,
				       strerror(err));
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > max) {
			close(fd);
			buf_release(&b);
			return err_set(e, ST_ETOOBIG, NULL, "%s is larger than %zu bytes",
				       path, max);
		}
		buf_append(&b, chunk, (size_t)n);
	}
	close(fd);
	*out = buf_detach(&b, len);
	return ST_OK;
}

int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return ST_EIO;
	int rc = fsync(fd);
	close(fd);
	return rc == 0 ? ST_OK : ST_EIO;
}

static char *dir_of(const char *path)
{
	char *copy = xstrdup(path);
	char *d = xstrdup(dirname(copy));
	free(copy);
	return d;
}

static int write_full(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int file_write_atomic(const char *path, const void *data, size_t len, int mode,
		      bool exclusive, struct st_error *e)
{
	if (exclusive && file_exists(path))
		return err_set(e, ST_ECONFLICT, NULL, "%s already exists", path);
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	char *dir = dir_of(path);
	int rc = ST_OK;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		rc = err_set(e, ST_EIO, NULL, "cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (fchmod(fd, (mode_t)mode) != 0 || write_full(fd, data, len) != 0 ||
	    fsync(fd) != 0) {
		rc = err_set(e, ST_EIO, NULL, "cannot write %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (exclusive) {
		/* link() fails if the target appeared meanwhile: no clobbering. */
		if (link(tmp, path) != 0) {
			rc = err_set(e, errno == EEXIST ? ST_ECONFLICT : ST_EIO, NULL,
				     "cannot create %s: %s", path, strerror(errno));
			unlink(tmp);
			goto out;
		}
		unlink(tmp);
	} else if (rename(tmp, path) != 0) {
		rc = err_set(e, ST_EIO, NULL, "cannot replace %s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	if (fsync_dir(dir) != ST_OK)
		rc = err_set(e, ST_EIO, NULL, "cannot sync directory %s", dir);
out:
	free(tmp);
	free(dir);
	return rc;
}

int dir_create_private(const char *path, struct st_error *e)
{
	struct stat st;
	if (stat(path, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			return err_set(e, ST_EINVAL, NULL, "%s is not a directory", path);
		return ST_OK;
	}
	char *parent = dir_of(path);
	if (!str_eq(parent, path) && !str_eq(parent, ".") && !str_eq(parent, "/")) {
		int rc = dir_create_private(parent, e);
		if (rc != ST_OK) {
			free(parent);
			return rc;
		}
	}
	free(parent);
	if (mkdir(path, 0700) != 0) {
		if (errno == EEXIST)
			return ST_OK;
		return err_set(e, ST_EIO, NULL, "cannot create directory %s: %s", path,
			       strerror(errno));
	}
	if (chmod(path, 0700) != 0)
		return err_set(e, ST_EIO, NULL, "cannot set permissions on %s", path);
	return ST_OK;
}

int file_check_private(const char *path, struct st_error *e)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return err_set(e, ST_ENOTFOUND, NULL, "%s is missing", path);
	if (S_ISLNK(st.st_mode))
		return err_setc(e, ST_EINVAL, "insecure_permissions", NULL,
				"%s is a symbolic link; key files must be regular files",
				path);
	if (st.st_mode & 077)
		return err_setc(e, ST_EINVAL, "insecure_permissions", NULL,
				"%s is accessible to group or others (mode %04o); "
				"run: chmod %s %s",
				path, (unsigned)(st.st_mode & 07777),
				S_ISDIR(st.st_mode) ? "700" : "600", path);
	if (st.st_uid != geteuid())
		return err_setc(e, ST_EINVAL, "insecure_permissions", NULL,
				"%s is owned by uid %u, not by this user (uid %u)", path,
				(unsigned)st.st_uid, (unsigned)geteuid());
	return ST_OK;
}

bool file_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

int file_shred(const char *path, struct st_error *e)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return err_set(e, ST_EIO, NULL, "cannot open %s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) == 0 && st.st_size > 0) {
		char zeros[4096] = {0};
		off_t left = st.st_size;
		while (left > 0) {
			size_t n = left > (off_t)sizeof(zeros) ? sizeof(zeros) : (size_t)left;
			if (write_full(fd, zeros, n) != 0)
				break;
			left -= (off_t)n;
		}
		if (fsync(fd) != 0) {
			close(fd);
			return err_set(e, ST_EIO, NULL, "cannot sync %s", path);
		}
	}
	close(fd);
	if (unlink(path) != 0)
		return err_set(e, ST_EIO, NULL, "cannot remove %s: %s", path, strerror(errno));
	char *dir = dir_of(path);
	fsync_dir(dir);
	free(dir);
	return ST_OK;
}
