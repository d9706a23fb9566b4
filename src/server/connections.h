/*
 * connections.h - which connections the server takes, and how long each may
 * take to say what it wants (connections.c). The HTTP layer (http.c) hands
 * libmicrohttpd the two callbacks, tells it where each request stands, and
 * sweeps now and then; nothing else uses it.
 */
#ifndef STEWARD_CONNECTIONS_H
#define STEWARD_CONNECTIONS_H

#include <microhttpd.h>
#include <sys/socket.h>

#include "steward/steward.h"

struct connections_options {
	unsigned limit;          /* connections open at once */
	unsigned per_address;    /* from one address (an IPv6 /64) */
	unsigned header_seconds; /* request line and headers complete within */
	unsigned body_seconds;   /* body complete within, once the headers are */
	const char *const *exempt; /* addresses (canonical text) that take no share: the
				    * trusted proxies; NULL-terminated or NULL */
};

struct connections;

/* Logs its refusals through st (access_refuse, within the cheap-refusal
 * budget). Free with connections_free once the daemon has stopped. */
struct connections *connections_new(struct steward *st, const struct connections_options *o);
void connections_free(struct connections *g);

/* MHD_OPTION_ACCEPT_POLICY_CALLBACK, with g as its argument. */
enum MHD_Result connections_admit(void *g, const struct sockaddr *addr, socklen_t len);
/* MHD_OPTION_NOTIFY_CONNECTION, with g as its argument. */
void connections_notify(void *g, struct MHD_Connection *conn, void **socket_context,
			enum MHD_ConnectionNotificationCode code);

/* Where a connection's request stands; called on the connection's
 * event-loop thread. The headers are complete: the body's deadline runs. */
void connections_headers_done(struct MHD_Connection *conn);
/* The request is complete and being answered: no deadline. */
void connections_request_done(struct MHD_Connection *conn);
/* The answer is sent: the next request's deadline runs. */
void connections_answered(struct MHD_Connection *conn);

/* Closes the connections past their deadline and logs what was refused
 * since the last sweep. Call a few times a second from a thread that may
 * wait for the access log (never an event-loop thread). */
void connections_sweep(struct connections *g);

#endif
