/*
 * bench_http_floor.c - the floor under the HTTP benchmark: a libmicrohttpd
 * server that answers every GET with a fixed body of the given size and
 * does nothing else: no sign-in, no decision, no record, no JSON. With
 * --durable each answer waits until a 64-byte record naming the request is
 * written to a preallocated file and flushed (fdatasync) by a group commit.
 * It shows what the library, the kernel and this disk allow on this machine
 * at all, so that Steward's rate can be read against it (scripts/bench-http.sh
 * runs it in the same run as Steward and nginx).
 *
 * usage: bench_http_floor --port-file F --bytes N [--durable FILE]
 *                         [--model thread|pool]
 *   thread: a thread per connection, each blocking until its record is
 *           durable (how Steward serves)
 *   pool:   two event-loop threads; a request waiting for the disk is
 *           suspended and resumed when its record is durable
 * It runs until SIGTERM or SIGINT.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/base.h"

#define PREALLOC (64u << 20)
#define RECORD 64

struct waiter {
	struct MHD_Connection *conn; /* pool: resumed when durable */
	bool done;
	struct waiter *next;
};

static struct {
	int fd;
	pthread_mutex_t mu;
	pthread_cond_t work, durable;
	struct waiter *head, **tail;
	uint64_t off, flushed_gen, gen;
	bool stop;
} lg = {.fd = -1,
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.work = PTHREAD_COND_INITIALIZER,
	.durable = PTHREAD_COND_INITIALIZER};

static char *body;
static size_t body_len;
static bool pool_model;

/* The flusher: takes what has gathered, writes it, flushes it, wakes or
 * resumes its waiters, and goes on with what gathered meanwhile. */
static void *flusher(void *arg)
{
	(void)arg;
	char *buf = xcalloc(1, RECORD * 4096);
	pthread_mutex_lock(&lg.mu);
	for (;;) {
		while (!lg.head && !lg.stop)
			pthread_cond_wait(&lg.work, &lg.mu);
		if (!lg.head && lg.stop)
			break;
		struct waiter *batch = lg.head;
		lg.head = NULL;
		lg.tail = &lg.head;
		pthread_mutex_unlock(&lg.mu);
		size_t n = 0;
		for (struct waiter *w = batch; w; w = w->next) {
			if (n < 4096)
				snprintf(buf + n * RECORD, RECORD, "event %p", (void *)w);
			n++;
		}
		size_t len = (n < 4096 ? n : 4096) * RECORD;
		if (pwrite(lg.fd, buf, len, (off_t)(lg.off % (PREALLOC - RECORD * 4096))) !=
			    (ssize_t)len ||
		    fdatasync(lg.fd) != 0)
			die("floor: write or flush failed");
		lg.off += len;
		pthread_mutex_lock(&lg.mu);
		for (struct waiter *w = batch, *next; w; w = next) {
			next = w->next;
			w->done = true;
			if (w->conn)
				MHD_resume_connection(w->conn);
		}
		pthread_cond_broadcast(&lg.durable);
	}
	pthread_mutex_unlock(&lg.mu);
	free(buf);
	return NULL;
}

static void enqueue(struct waiter *w)
{
	w->next = NULL;
	*lg.tail = w;
	lg.tail = &w->next;
	pthread_cond_signal(&lg.work);
}

static enum MHD_Result answer(struct MHD_Connection *conn)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(body_len, body, MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(r, "Content-Type", "application/json");
	enum MHD_Result ret = MHD_queue_response(conn, 200, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *size, void **con_cls)
{
	(void)cls, (void)url, (void)method, (void)version, (void)data, (void)size;
	struct waiter *w = *con_cls;
	if (!w) {
		w = xcalloc(1, sizeof(*w));
		*con_cls = w;
		return MHD_YES;
	}
	if (lg.fd < 0)
		return answer(conn);
	if (!pool_model) {
		pthread_mutex_lock(&lg.mu);
		enqueue(w);
		while (!w->done)
			pthread_cond_wait(&lg.durable, &lg.mu);
		pthread_mutex_unlock(&lg.mu);
		return answer(conn);
	}
	pthread_mutex_lock(&lg.mu);
	bool done = w->done;
	if (!done && !w->conn) {
		w->conn = conn;
		MHD_suspend_connection(conn);
		enqueue(w);
	}
	pthread_mutex_unlock(&lg.mu);
	return done ? answer(conn) : MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls, (void)conn, (void)toe;
	free(*con_cls);
	*con_cls = NULL;
}

int main(int argc, char **argv)
{
	const char *port_file = NULL, *durable = NULL, *model = "thread";
	long bytes = 1024;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (str_eq(argv[i], "--port-file"))
			port_file = argv[i + 1];
		else if (str_eq(argv[i], "--bytes"))
			bytes = strtol(argv[i + 1], NULL, 10);
		else if (str_eq(argv[i], "--durable"))
			durable = argv[i + 1];
		else if (str_eq(argv[i], "--model"))
			model = argv[i + 1];
		else
			die("usage: bench_http_floor --port-file F --bytes N [--durable FILE] "
			    "[--model thread|pool]");
	}
	if (!port_file || bytes <= 0 || bytes > (1 << 20))
		die("bench_http_floor: give --port-file and --bytes (1..1048576)");
	pool_model = str_eq(model, "pool");
	body_len = (size_t)bytes;
	body = xcalloc(1, body_len);
	memset(body, 'x', body_len);
	lg.tail = &lg.head;
	pthread_t ft;
	if (durable) {
		lg.fd = open(durable, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (lg.fd < 0 || posix_fallocate(lg.fd, 0, PREALLOC) != 0 || fsync(lg.fd) != 0)
			die("floor: cannot preallocate %s", durable);
		/* written ahead so that a flush carries data, not metadata */
		char *zero = xcalloc(1, 1 << 20);
		for (size_t off = 0; off < PREALLOC; off += 1 << 20)
			if (pwrite(lg.fd, zero, 1 << 20, (off_t)off) != 1 << 20)
				die("floor: cannot write ahead");
		free(zero);
		if (fsync(lg.fd) != 0)
			die("floor: fsync");
		pthread_create(&ft, NULL, flusher, NULL);
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	struct MHD_Daemon *d;
	if (pool_model)
		d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
					     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG,
				     0, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, &sa,
				     MHD_OPTION_THREAD_POOL_SIZE,
				     (unsigned)2, MHD_OPTION_CONNECTION_LIMIT, (unsigned)1024,
				     MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
				     MHD_OPTION_END);
	else
		d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
					     MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
					     MHD_USE_ITC | MHD_USE_ERROR_LOG,
				     0, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, &sa,
				     MHD_OPTION_CONNECTION_LIMIT,
				     (unsigned)1024, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
				     NULL, MHD_OPTION_END);
	if (!d)
		die("floor: cannot listen");
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	FILE *f = fopen(port_file, "w");
	if (!f || !di)
		die("floor: cannot write the port file");
	fprintf(f, "%u\n", di->port);
	fclose(f);
	int sig = 0;
	while (sigwait(&set, &sig) != 0)
		;
	MHD_stop_daemon(d);
	if (durable) {
		pthread_mutex_lock(&lg.mu);
		lg.stop = true;
		pthread_cond_signal(&lg.work);
		pthread_mutex_unlock(&lg.mu);
		pthread_join(ft, NULL);
		close(lg.fd);
		unlink(durable);
	}
	free(body);
	return 0;
}
