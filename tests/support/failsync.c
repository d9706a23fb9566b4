/*
 * failsync.c - a fault for the tests of a real server process, loaded into
 * it with LD_PRELOAD: while the file named by $STEWARD_FAILSYNC_TRIGGER
 * exists, fsync and fdatasync of any file whose path contains
 * $STEWARD_FAILSYNC_MATCH fail with EIO, as a failing disk's would. The
 * server itself has no hook for it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int should_fail(int fd)
{
	const char *trigger = getenv("STEWARD_FAILSYNC_TRIGGER");
	const char *match = getenv("STEWARD_FAILSYNC_MATCH");
	if (!trigger || !match || access(trigger, F_OK) != 0)
		return 0;
	char link[64], path[PATH_MAX];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0)
		return 0;
	path[n] = '\0';
	return strstr(path, match) != NULL;
}

int fdatasync(int fd)
{
	static int (*real)(int);
	if (!real)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	if (should_fail(fd)) {
		errno = EIO;
		return -1;
	}
	return real(fd);
}

int fsync(int fd)
{
	static int (*real)(int);
	if (!real)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	if (should_fail(fd)) {
		errno = EIO;
		return -1;
	}
	return real(fd);
}
