/*
 * http.h - the HTTP layer: requests, responses and the route table.
 * The server is a thin program over libsteward: a handler parses and
 * validates its input, calls the library (which decides, logs and acts),
 * and turns the result or the struct st_error into JSON.
 *
 * How to add a route: write a handler `static int h_xxx(struct request *,
 * struct response *)` in the routes file of its area, add one row to that
 * file's table (method, path with {params}, handler, who may call it),
 * describe it in docs/openapi.yaml (a test compares the two), and add tests.
 */
#ifndef STEWARD_HTTP_H
#define STEWARD_HTTP_H

#include <jansson.h>
#include <netinet/in.h>

#include "common/base.h"
#include "steward/auth.h"
#include "steward/steward.h"

#define HTTP_MAX_PARAMS 4
#define HTTP_BODY_MAX (1024 * 1024)
/* A chunked body over HTTP_BODY_MAX is read and dropped until it ends (then
 * 413); one that goes on past this has its connection closed. */
#define HTTP_DISCARD_MAX (16 * 1024 * 1024)
/* Query parameters: a longer name or value is refused (400 bad_value). */
#define HTTP_QUERY_NAME_MAX 64
#define HTTP_QUERY_VALUE_MAX 1024

struct request {
	struct steward *st;
	struct server *srv;
	const char *method;
	const char *path;
	void *conn;               /* struct MHD_Connection * */
	const char *params[HTTP_MAX_PARAMS]; /* {param} captures, in order */
	size_t nparams;
	char param_buf[512];
	const char *body;
	size_t body_len;
	char client[64];
	char request_id[40];
	struct actor actor;       /* filled by authentication */
	struct session_info session;
	bool cookie_auth;         /* authenticated by cookie (CSRF applies) */
	bool on_loop;             /* run on the event loop: nothing may block */
	bool too_big;             /* the body was over HTTP_BODY_MAX (dropped) */
	bool logged;              /* its refusal is in the log already */
	bool reroute;             /* on the loop, it would block: to a worker */
	struct st_error err;      /* a handler returning < 0 fills this */
};

struct response {
	int status;
	json_t *json;       /* body, owned */
	char *text;         /* alternative body, owned */
	const char *content_type;
	char *set_cookie;   /* owned */
	char *set_cookie2;  /* owned: a second cookie (the CSRF token) */
	char *location;     /* owned */
	bool close;         /* close the connection after this answer */
};

enum route_auth {
	AUTH_NONE = 0, /* anyone, e.g. health, signing in */
	AUTH_ANY,      /* any valid session, even one limited to enrolment or
			* to changing its one-time password */
	AUTH_ENROLL,   /* a full session, or one limited to enrolment */
	AUTH_PASSWORD, /* a full session, or one limited to a password change */
	AUTH_SESSION,  /* a full session or an API token with the route's scope */
};

struct route {
	const char *method;
	const char *path; /* "/api/v1/records/{id}" */
	int (*handler)(struct request *req, struct response *res);
	enum route_auth auth;
	const char *scope;   /* the API-token scope that reaches it, or NULL */
	const char *summary;
	const char *query;   /* the query parameters it takes, "a,b,c"; NULL: none */
	/* Answered on the event loop: a read that changes nothing and waits on
	 * nothing but the access log (its events are appended on a ticket and
	 * the answer held back until they are durable). Every other route runs
	 * on a worker thread, where it may wait (Argon2id, writes, queries). */
	bool on_loop;
};

/* A handler returns ST_OK having filled the response, or a negative status
 * having filled req->err, which becomes the JSON error response. */

/* The full route table (routes.c). */
const struct route *routes_table(size_t *count);

/* Query string parameter, or NULL. Before any handler runs, every query
 * parameter has been checked: its name and value are UTF-8 text without
 * control characters, at most HTTP_QUERY_NAME_MAX and HTTP_QUERY_VALUE_MAX
 * bytes (else 400 bad_value naming it, and the refusal logged). */
const char *request_query(struct request *req, const char *name);
/* Request header, or NULL. */
const char *request_header(struct request *req, const char *name);
/* Parses the body as a JSON object with Content-Type application/json
 * (else 415); errors name the field. */
int request_json(struct request *req, json_t **out, struct st_error *e);

void response_json(struct response *res, int status, json_t *body);
/* 201 {"id": id} */
void response_created(struct response *res, int64_t id);
/* Parses the body as an object whose keys are all in allowed (NULL-
 * terminated); unknown keys are refused, naming them. */
int request_body(struct request *req, const char *const *allowed, json_t **out);
/* The n-th {param} as a positive id; one out of range is 404
 * "<what>_not_found" ("record_not_found"), as an id that names nothing is.
 * (A path whose parameter is not a whole number matches no route.) */
int request_id_param(struct request *req, size_t n, const char *what, int64_t *id);
/* A query parameter as a positive integer (0 when absent). */
int request_query_id(struct request *req, const char *name, int64_t *out);
/* A query parameter as a time (date or UTC time), microseconds; 0 when absent. */
int request_query_time(struct request *req, const char *name, int64_t *us);
/* Strings from a JSON array field (at most max); they point into the JSON. */
int json_strings(const json_t *obj, const char *key, bool required, const char **out,
		 size_t max, size_t *n, struct st_error *e);
/* The parts of reading a request that need no connection, each called by
 * the server on every request (and by the fuzzers in tests/fuzz on any
 * bytes at all). */
/* One query parameter (name and value as libmicrohttpd decoded them, value
 * NULL when the name stands alone) checked as every route's are: ST_OK, or
 * 400 bad_value / unknown_parameter naming it in e. allowed is the route's
 * list ("a,b,c", NULL: none); any_name lets every name through (open
 * routes). */
int http_query_param_check(const char *allowed, bool any_name, const char *key,
			   size_t key_size, const char *value, size_t value_size,
			   struct st_error *e);
/* Matches a route's path ("/api/v1/records/{id}") against a request's,
 * capturing the {param}s into req->params (req->nparams). */
bool http_path_match(const char *pattern, const char *path, struct request *req);
/* The client behind trusted proxies: the right-most address of an
 * X-Forwarded-For value that is not itself one of the proxies (canonical
 * form), written to out; out is left as it is when xff is NULL, too long,
 * names only proxies or holds something that is not an address. */
void http_forwarded_client(const char (*proxies)[INET6_ADDRSTRLEN], int nproxies,
			   const char *xff, char *out, size_t size);
/* A header name is a token (RFC 9110): no space, no separator. */
bool http_header_name_ok(const char *s);

/* Fills the response from an error: status from e->status, body
 * {"error": {"code", "message", "field"}}. Internal errors say nothing
 * of internals. */
void response_error(struct response *res, const struct st_error *e);

#endif
