/*
 * connections.c - the server's connections as a budget shared fairly among
 * client addresses, and deadlines for what each connection must send.
 *
 * Admission (libmicrohttpd's accept policy, before a byte is read): at most
 * `limit` connections in all and `per_address` from one address (an IPv6
 * address counts by its /64, as access_client_key says); and once half the
 * budget is in use, an address may hold at most its share: half the budget
 * divided by the addresses holding connections (at least one each). So
 * however many slow connections a few addresses open, they cannot take
 * every connection: each address that joins while the server is busy gets
 * a smaller share, a newcomer always gets one, and with the deadlines below
 * what an address holds falls to its share within a header deadline. Only
 * very many addresses (some tens, with the defaults) can fill the budget.
 * Trusted proxies take no share
 * (everything behind them comes from their address; the proxy limits its
 * own clients).
 *
 * Deadlines (an idle timeout does not stop a client that sends a byte every
 * few seconds): the request line and headers must be complete within
 * `header_seconds` of the connection's opening or of the previous answer on
 * it (a kept-alive connection that sends nothing is closed then too), and
 * the body within `body_seconds` of the headers. While a request is being
 * answered there is none: that time is the server's. A sweep, a few times a
 * second on the main thread, shuts down the socket of each connection past
 * its deadline; libmicrohttpd then sees it closed and ends it.
 *
 * Invariants: every connection libmicrohttpd has started and not yet closed
 * is in the list, counted in its address and in the total, under `mu`; an
 * entry leaves the list under `mu` in the closed notification, which
 * libmicrohttpd gives before it closes the socket, so the sweep never shuts
 * down a socket that has been closed (or reused). A connection's deadline
 * is written by its own event-loop thread and read by the sweep (atomic).
 *
 * Every refusal — a connection turned away, or closed at its deadline — is
 * logged as a stranger's cheap refusal (access_refuse: up to the budget per
 * address and minute, then counted), by the sweep, never on an event-loop
 * thread: admission and the sweep count them by address and kind, and once
 * a second one event per address and kind says how many.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "audit/audit.h"
#include "server/connections.h"
#include "steward/access.h"
#include "common/base.h"

#define BUCKETS 1024
#define PENDING_SLOTS 64
/* Refusals are logged at most this often (counted meanwhile). */
#define LOG_EVERY_MS 1000

enum refusal {
	REF_FULL,        /* every connection in use */
	REF_PER_ADDRESS, /* the address holds per_address */
	REF_SHARE,       /* busy, and the address holds its share */
	REF_HEADERS,     /* request line and headers past their deadline */
	REF_BODY,        /* body past its deadline */
	REF_KINDS
};

/* An address (an IPv6 /64) holding connections. */
struct address {
	char key[64];
	unsigned count;
	struct address *next; /* in its bucket */
};

enum stage { STAGE_HEADERS, STAGE_BODY, STAGE_ANSWERING };

/* One open connection. */
struct tracked {
	struct connections *g;
	struct address *addr;
	MHD_socket fd;
	_Atomic int64_t deadline; /* monotonic ms; 0: none */
	_Atomic int stage;
	bool cut; /* shut down by a sweep (under mu) */
	struct tracked *prev, *next;
};

/* Refusals not logged yet, by address and kind. */
struct pending {
	char key[64];
	enum refusal kind;
	unsigned n;
};

struct connections {
	struct steward *st;
	unsigned limit, per_address;
	int64_t header_ms, body_ms;
	char (*exempt)[INET6_ADDRSTRLEN];
	size_t nexempt;
	pthread_mutex_t mu;
	unsigned total, naddresses;
	struct address *buckets[BUCKETS];
	struct tracked *head;
	struct pending pending[PENDING_SLOTS];
	size_t npending;
	unsigned unplaced[REF_KINDS]; /* refusals beyond the slots, by kind */
	int64_t logged_at;            /* when refusals were last logged (sweep only) */
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The address as text (an IPv4 address mapped into IPv6 as IPv4). */
static void address_text(const struct sockaddr *sa, char out[INET6_ADDRSTRLEN])
{
	str_copy(out, INET6_ADDRSTRLEN, "unknown");
	if (!sa)
		return;
	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out,
			  INET6_ADDRSTRLEN);
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a))
			inet_ntop(AF_INET, a->s6_addr + 12, out, INET6_ADDRSTRLEN);
		else
			inet_ntop(AF_INET6, a, out, INET6_ADDRSTRLEN);
	}
}

static unsigned bucket_of(const char *key)
{
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h % BUCKETS;
}

/* The address's entry (under mu), or NULL. */
static struct address *address_find(struct connections *g, const char *key)
{
	for (struct address *a = g->buckets[bucket_of(key)]; a; a = a->next)
		if (str_eq(a->key, key))
			return a;
	return NULL;
}

static bool is_exempt(const struct connections *g, const char *ip)
{
	for (size_t i = 0; i < g->nexempt; i++)
		if (str_eq(g->exempt[i], ip))
			return true;
	return false;
}

/* Counts a refusal to be logged by the next sweep (under mu). */
static void pending_add(struct connections *g, const char *key, enum refusal kind)
{
	for (size_t i = 0; i < g->npending; i++)
		if (g->pending[i].kind == kind && str_eq(g->pending[i].key, key)) {
			g->pending[i].n++;
			return;
		}
	if (g->npending == PENDING_SLOTS) {
		g->unplaced[kind]++;
		return;
	}
	struct pending *p = &g->pending[g->npending++];
	str_copy(p->key, sizeof(p->key), key);
	p->kind = kind;
	p->n = 1;
}

struct connections *connections_new(struct steward *st, const struct connections_options *o)
{
	struct connections *g = xcalloc(1, sizeof(*g));
	g->st = st;
	g->limit = o->limit ? o->limit : 1;
	g->per_address = o->per_address ? o->per_address : 1;
	g->header_ms = (int64_t)(o->header_seconds ? o->header_seconds : 1) * 1000;
	g->body_ms = (int64_t)(o->body_seconds ? o->body_seconds : 1) * 1000;
	for (const char *const *p = o->exempt; p && *p; p++)
		g->nexempt++;
	if (g->nexempt) {
		g->exempt = xcalloc(g->nexempt, sizeof(*g->exempt));
		for (size_t i = 0; i < g->nexempt; i++)
			str_copy(g->exempt[i], sizeof(g->exempt[i]), o->exempt[i]);
	}
	pthread_mutex_init(&g->mu, NULL);
	return g;
}

static void sweep(struct connections *g, bool final);

void connections_free(struct connections *g)
{
	if (!g)
		return;
	/* the daemon has stopped (every connection it started it has noted
	 * closed): what is still to be logged is logged */
	sweep(g, true);
	while (g->head) {
		struct tracked *t = g->head;
		g->head = t->next;
		free(t);
	}
	for (size_t i = 0; i < BUCKETS; i++)
		while (g->buckets[i]) {
			struct address *a = g->buckets[i];
			g->buckets[i] = a->next;
			free(a);
		}
	pthread_mutex_destroy(&g->mu);
	free(g->exempt);
	free(g);
}

enum MHD_Result connections_admit(void *cls, const struct sockaddr *addr, socklen_t len)
{
	struct connections *g = cls;
	(void)len;
	char ip[INET6_ADDRSTRLEN], key[64];
	address_text(addr, ip);
	access_client_key(ip, key);
	bool exempt = is_exempt(g, ip);
	int refused = -1;
	pthread_mutex_lock(&g->mu);
	const struct address *a = address_find(g, key);
	unsigned held = a ? a->count : 0;
	if (g->total >= g->limit) {
		refused = REF_FULL;
	} else if (held >= g->per_address) {
		refused = REF_PER_ADDRESS;
	} else if (!exempt && 2 * (uint64_t)g->total >= g->limit) {
		/* busy: half the budget, shared among the addresses holding
		 * connections (this one included); a newcomer always gets one */
		unsigned addresses = g->naddresses + (held == 0);
		unsigned share = (g->limit / 2) / addresses;
		if (held >= (share ? share : 1))
			refused = REF_SHARE;
	}
	if (refused >= 0)
		pending_add(g, key, (enum refusal)refused);
	pthread_mutex_unlock(&g->mu);
	return refused >= 0 ? MHD_NO : MHD_YES;
}

static void track_start(struct connections *g, struct MHD_Connection *conn, void **ctx)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const union MHD_ConnectionInfo *fi =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	char ip[INET6_ADDRSTRLEN], key[64];
	address_text(ci ? ci->client_addr : NULL, ip);
	access_client_key(ip, key);
	struct tracked *t = xcalloc(1, sizeof(*t));
	t->g = g;
	t->fd = fi ? fi->connect_fd : MHD_INVALID_SOCKET;
	atomic_store(&t->deadline, now_ms() + g->header_ms);
	atomic_store(&t->stage, STAGE_HEADERS);
	pthread_mutex_lock(&g->mu);
	struct address *a = address_find(g, key);
	if (!a) {
		a = xcalloc(1, sizeof(*a));
		str_copy(a->key, sizeof(a->key), key);
		unsigned b = bucket_of(key);
		a->next = g->buckets[b];
		g->buckets[b] = a;
	}
	if (a->count++ == 0)
		g->naddresses++;
	g->total++;
	t->addr = a;
	t->next = g->head;
	if (g->head)
		g->head->prev = t;
	g->head = t;
	pthread_mutex_unlock(&g->mu);
	*ctx = t;
}

static void track_end(struct connections *g, void **ctx)
{
	struct tracked *t = *ctx;
	if (!t)
		return;
	pthread_mutex_lock(&g->mu);
	if (t->prev)
		t->prev->next = t->next;
	else
		g->head = t->next;
	if (t->next)
		t->next->prev = t->prev;
	g->total--;
	struct address *a = t->addr;
	if (--a->count == 0) {
		g->naddresses--;
		struct address **pp = &g->buckets[bucket_of(a->key)];
		while (*pp != a)
			pp = &(*pp)->next;
		*pp = a->next;
		free(a);
	}
	pthread_mutex_unlock(&g->mu);
	free(t);
	*ctx = NULL;
}

void connections_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
			enum MHD_ConnectionNotificationCode code)
{
	struct connections *g = cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED)
		track_start(g, conn, socket_context);
	else if (code == MHD_CONNECTION_NOTIFY_CLOSED)
		track_end(g, socket_context);
}

static struct tracked *tracked_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

void connections_headers_done(struct MHD_Connection *conn)
{
	struct tracked *t = tracked_of(conn);
	if (!t)
		return;
	atomic_store(&t->stage, STAGE_BODY);
	atomic_store(&t->deadline, now_ms() + t->g->body_ms);
}

void connections_request_done(struct MHD_Connection *conn)
{
	struct tracked *t = tracked_of(conn);
	if (!t)
		return;
	atomic_store(&t->deadline, 0);
	atomic_store(&t->stage, STAGE_ANSWERING);
}

void connections_answered(struct MHD_Connection *conn)
{
	struct tracked *t = tracked_of(conn);
	if (!t)
		return;
	atomic_store(&t->stage, STAGE_HEADERS);
	atomic_store(&t->deadline, now_ms() + t->g->header_ms);
}

/* Waits for a batch of appends on a ticket to be durable (the sweep may
 * wait; the ticket lets it append them all before waiting once). */
struct batch {
	struct audit_ticket ticket;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
};

static void batch_ready(void *arg)
{
	struct batch *b = arg;
	pthread_mutex_lock(&b->mu);
	b->done = true;
	pthread_cond_signal(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

static void batch_suspend(void *arg)
{
	(void)arg; /* the sweep waits on the batch's condition instead */
}

static void refusal_reason(const struct connections *g, enum refusal kind, unsigned n,
			   char *out, size_t size)
{
	const char *what = n == 1 ? "connection" : "connections";
	switch (kind) {
	case REF_FULL:
		snprintf(out, size, "%u %s refused: every connection was in use", n, what);
		break;
	case REF_PER_ADDRESS:
		snprintf(out, size,
			 "%u %s refused: this address already held %u connections (--per-address)",
			 n, what, g->per_address);
		break;
	case REF_SHARE:
		snprintf(out, size,
			 "%u %s refused: the server was busy and this address held its share of "
			 "the connections",
			 n, what);
		break;
	case REF_HEADERS:
		snprintf(out, size,
			 "%u %s closed: the request line and headers were not complete within "
			 "%lld seconds",
			 n, what, (long long)(g->header_ms / 1000));
		break;
	case REF_BODY:
		snprintf(out, size,
			 "%u %s closed: the request body was not complete within %lld seconds", n,
			 what, (long long)(g->body_ms / 1000));
		break;
	default:
		snprintf(out, size, "%u %s refused", n, what);
	}
}

/* Logs one count of refusals on the batch's ticket; false if it could not. */
static bool log_one(struct connections *g, struct batch *b, const char *key, enum refusal kind,
		    unsigned n)
{
	char reason[200];
	refusal_reason(g, kind, n, reason, sizeof(reason));
	struct actor who = {.via = "api", .client = key, .ticket = &b->ticket};
	bool timeout = kind == REF_HEADERS || kind == REF_BODY;
	struct st_error e = {0};
	int rc = access_refuse(g->st, &who, timeout ? "connection.timeout" : "connection.refused",
			       timeout ? "timeout" : "refused", reason, &e);
	if (rc == ST_EDENIED)
		return true;
	fprintf(stderr, "steward: cannot log refused connections: %s\n", e.message);
	return false;
}

static void log_refusals(struct connections *g, const struct pending *p, size_t np,
			 const unsigned *unplaced)
{
	struct batch b = {.done = false};
	pthread_mutex_init(&b.mu, NULL);
	pthread_cond_init(&b.cv, NULL);
	audit_ticket_init(&b.ticket, batch_ready, &b);
	bool ok = true;
	for (size_t i = 0; i < np && ok; i++)
		ok = log_one(g, &b, p[i].key, p[i].kind, p[i].n);
	/* those beyond the slots: one event per kind */
	for (int k = 0; k < REF_KINDS && ok; k++)
		if (unplaced[k])
			ok = log_one(g, &b, "(many addresses)", (enum refusal)k, unplaced[k]);
	if (!audit_ticket_wait(&b.ticket, batch_suspend, &b)) {
		pthread_mutex_lock(&b.mu);
		while (!b.done)
			pthread_cond_wait(&b.cv, &b.mu);
		pthread_mutex_unlock(&b.mu);
	}
	if (b.ticket.failed && ok)
		fprintf(stderr, "steward: cannot log refused connections: the access log failed\n");
	audit_ticket_destroy(&b.ticket);
	pthread_cond_destroy(&b.cv);
	pthread_mutex_destroy(&b.mu);
}

static void sweep(struct connections *g, bool final)
{
	int64_t now = now_ms();
	struct pending p[PENDING_SLOTS];
	unsigned unplaced[REF_KINDS];
	pthread_mutex_lock(&g->mu);
	for (struct tracked *t = g->head; t; t = t->next) {
		int64_t deadline = atomic_load(&t->deadline);
		if (t->cut || deadline == 0 || now < deadline)
			continue;
		/* libmicrohttpd sees the socket end and closes the connection
		 * (the entry stays until it does; the socket is still open) */
		if (t->fd != MHD_INVALID_SOCKET)
			shutdown(t->fd, SHUT_RDWR);
		t->cut = true;
		pending_add(g, t->addr->key,
			    atomic_load(&t->stage) == STAGE_BODY ? REF_BODY : REF_HEADERS);
	}
	if (!final && now - g->logged_at < LOG_EVERY_MS) {
		pthread_mutex_unlock(&g->mu);
		return;
	}
	g->logged_at = now;
	size_t np = g->npending;
	memcpy(p, g->pending, np * sizeof(p[0]));
	memcpy(unplaced, g->unplaced, sizeof(unplaced));
	bool any = np != 0;
	for (int k = 0; k < REF_KINDS; k++)
		any = any || unplaced[k];
	g->npending = 0;
	memset(g->unplaced, 0, sizeof(g->unplaced));
	pthread_mutex_unlock(&g->mu);
	if (any)
		log_refusals(g, p, np, unplaced);
}

void connections_sweep(struct connections *g)
{
	sweep(g, false);
}
