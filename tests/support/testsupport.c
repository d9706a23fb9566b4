/*
 * testsupport.c - see testsupport.h.
 */
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testsupport.h"

struct st_error ts_err;
const struct actor ts_system = {.user_id = 0, .via = "system"};

char *ts_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *templ = xasprintf("%s/steward-test-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(templ))
		die("mkdtemp failed");
	return templ;
}

void ts_rm_rf(const char *path)
{
	DIR *d = opendir(path);
	if (d) {
		struct dirent *de;
		while ((de = readdir(d))) {
			if (str_eq(de->d_name, ".") || str_eq(de->d_name, ".."))
				continue;
			char *p = xasprintf("%s/%s", path, de->d_name);
			struct stat st;
			if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
				ts_rm_rf(p);
			else
				unlink(p);
			free(p);
		}
		closedir(d);
	}
	rmdir(path);
}

char *ts_make_datadir(const char *dir, const char *passphrase)
{
	char *data = xasprintf("%s/data", dir);
	struct steward_init_options o = {
		.dir = data,
		.admin_username = TS_ADMIN,
		.admin_password = TS_PASSWORD,
		.passphrase = passphrase,
	};
	struct st_error e = {0};
	if (steward_init(&o, &e) != ST_OK)
		fail_msg("steward_init: %s", e.message);
	return data;
}

struct steward *ts_open(const char *datadir, const char *passphrase)
{
	struct steward_options o = {.dir = datadir, .passphrase = passphrase,
				    .check_permissions = true};
	struct steward *st = NULL;
	struct st_error e = {0};
	if (steward_open(&o, &st, &e) != ST_OK)
		fail_msg("steward_open: %s", e.message);
	return st;
}

int ts_run(const char *cmd, char **out)
{
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	struct buf b = BUF_INIT;
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
		buf_append(&b, chunk, n);
	int status = pclose(p);
	if (out)
		*out = buf_detach(&b, NULL);
	else
		buf_release(&b);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

size_t ts_file_count(const char *path, const void *needle, size_t len)
{
	char *data = NULL;
	size_t dlen = 0;
	if (file_read_all(path, (size_t)1 << 31, &data, &dlen, NULL) != ST_OK)
		return 0;
	size_t count = 0;
	for (size_t i = 0; i + len <= dlen; i++)
		if (memcmp(data + i, needle, len) == 0)
			count++;
	free(data);
	return count;
}
