/*
 * server.h - the HTTP JSON API server (libmicrohttpd).
 */
#ifndef STEWARD_SERVER_H
#define STEWARD_SERVER_H

#include "steward/steward.h"

struct server_options {
	const char *listen;   /* "127.0.0.1:8080" */
	const char *tls_cert; /* PEM file, or NULL for plain HTTP */
	const char *tls_key;
	int threads;          /* worker threads for requests that may wait; 0 = 12 */
	int connections;      /* connections open at once; 0 = 1024 */
	int loop_threads;     /* event-loop threads; 0 = 2 */
	int per_address;      /* concurrent connections from one client address; 0 = 64 */
	int header_timeout;   /* seconds for a request's line and headers; 0 = 10 */
	int body_timeout;     /* seconds for a request's body, once its headers are in; 0 = 60 */
	const char *port_file; /* write the bound port here (for --listen ...:0) */
	/* comma-separated addresses of reverse proxies whose X-Forwarded-For
	 * names the client; NULL: the peer address is the client */
	const char *trusted_proxies;
};

/* Serves until SIGTERM or SIGINT, then stops accepting, finishes in-flight
 * requests and returns. */
int server_run(struct steward *st, const struct server_options *opt, struct st_error *e);

#endif
