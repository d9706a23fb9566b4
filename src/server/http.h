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
/* Fills the response from an error: status from e->status, body
 * {"error": {"code", "message", "field"}}. Internal errors say nothing
 * of internals. */
void response_error(struct response *res, const struct st_error *e);

#endif
