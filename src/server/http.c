/*
 * http.c - the HTTP server on libmicrohttpd: a few event-loop threads
 * (epoll) serve every connection: at most --connections in all, shared
 * fairly among client addresses, each with deadlines for its headers and
 * its body (connections.c), and closed after 15 seconds idle. Reads marked
 * on_loop in the route table are answered on the loop:
 * their log events are appended on a ticket, the connection is suspended,
 * and the answer is sent once the access log says the events are durable
 * (or a 503 instead if they could not be made so). Every other request is
 * suspended and handed to one of --threads worker threads, which may wait
 * (Argon2id, writes, queries, the log's flush), and resumed with its answer. Bodies are bounded: 413 before reading one
 * whose declared length is over the limit, and 413 once a chunked one has
 * been read (and discarded) past it. Query parameters are checked before any
 * handler sees them. Every refusal this layer decides is in the access log.
 * Requests are dispatched through the route table; every response is JSON
 * with safe headers. On SIGTERM or SIGINT it stops accepting, lets in-flight
 * requests finish, and returns.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <strings.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

#include "audit/audit.h"
#include "crypto/crypto.h"
#include "server/connections.h"
#include "server/http.h"
#include "steward/access.h"
#include "server/server.h"

#define MAX_PROXIES 16

struct conn_state;

struct server {
	struct steward *st;
	struct MHD_Daemon *daemon;
	bool tls;
	char proxies[MAX_PROXIES][INET6_ADDRSTRLEN];
	int nproxies;
	/* the workers' queue of suspended requests */
	pthread_mutex_t lock;
	pthread_cond_t work;
	struct conn_state *qhead, *qtail;
	bool stop;
	/* requests admitted and not yet answered (some of them suspended) */
	atomic_uint active;
	atomic_bool closing; /* stopping: a new request is answered 503 at once */
	pthread_t *workers;
	int nworkers;
};

enum phase {
	PHASE_NEW,     /* headers, then the body, arriving */
	PHASE_WORKER,  /* suspended: queued for or run by a worker */
	PHASE_LOG,     /* suspended: waiting for its events to be durable */
	PHASE_READY,   /* the answer is ready to be sent */
	PHASE_SENT,
};

/* Per request (libmicrohttpd's "connection closure" is per request). */
struct conn_state {
	struct buf body;
	bool too_big;     /* over HTTP_BODY_MAX: what follows is discarded */
	size_t discarded; /* bytes of an oversized body read and dropped */
	enum phase phase;
	struct server *srv;
	struct MHD_Connection *conn;
	const struct route *route;
	struct request req;
	struct response res;
	struct audit_ticket ticket;
	bool ticketed;    /* req.actor.ticket is set: see the ticket before answering */
	bool admitted;    /* counted in srv->active until answered */
	struct conn_state *next; /* in the workers' queue */
};

/* Idle seconds after which a connection is closed (a request trickled in
 * byte by byte keeps it busy, not idle: the deadlines of connections.c
 * bound those). */
#define HTTP_IDLE_TIMEOUT 15
/* Default deadlines (seconds) for a request's line and headers, and for
 * its body (--header-timeout, --body-timeout; see connections.c). */
#define HTTP_HEADER_TIMEOUT 10
#define HTTP_BODY_TIMEOUT 60
/* How often connections past their deadlines are looked for. */
#define SWEEP_MS 250
/* How long a stop waits for answers already queued to go out. */
#define STOP_GRACE_MS 3000

const char *request_query(struct request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *request_header(struct request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

/* UTF-8 text with no control character at all (C0, DEL or C1; unlike
 * str_is_clean_utf8, not even tab or newline), len bytes (NULs included). */
static bool query_text_ok(const char *s, size_t len)
{
	if (!str_is_clean_utf8(s, len))
		return false;
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < 0x20 || p[i] == 0x7f)
			return false;
		/* U+0080..U+009F, the C1 controls, are C2 80..C2 9F */
		if (p[i] == 0xc2 && i + 1 < len && p[i + 1] < 0xa0)
			return false;
	}
	return true;
}

struct query_check {
	struct request *req;
	const char *allowed; /* "a,b,c" or NULL */
	bool any_name;       /* open routes (health, the page): names not checked */
	int rc;
};

static bool name_listed(const char *list, const char *name, size_t len)
{
	for (const char *p = list; p && *p;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n == len && memcmp(p, name, len) == 0)
			return true;
		p = end ? end + 1 : NULL;
	}
	return false;
}

int http_query_param_check(const char *allowed, bool any_name, const char *key,
			   size_t key_size, const char *value, size_t value_size,
			   struct st_error *e)
{
	if (!key || key_size == 0 || key_size > HTTP_QUERY_NAME_MAX ||
	    !query_text_ok(key, key_size))
		/* a name that is not text cannot be named back */
		return err_setc(e, ST_EINVAL, "bad_value", "",
				"a query parameter's name must be UTF-8 text without control "
				"characters, 1 to %d bytes",
				HTTP_QUERY_NAME_MAX);
	if (!any_name && !name_listed(allowed, key, key_size)) {
		/* a misspelled parameter is not silently ignored */
		if (allowed)
			return err_setc(e, ST_EINVAL, "unknown_parameter", key,
					"unknown query parameter \"%s\" (this endpoint takes: %s)",
					key, allowed);
		return err_setc(e, ST_EINVAL, "unknown_parameter", key,
				"unknown query parameter \"%s\" (this endpoint takes none)", key);
	}
	if (value && (value_size > HTTP_QUERY_VALUE_MAX || !query_text_ok(value, value_size)))
		return err_setc(e, ST_EINVAL, "bad_value", key,
				"\"%s\" must be UTF-8 text without control characters, at "
				"most %d bytes",
				key, HTTP_QUERY_VALUE_MAX);
	return ST_OK;
}

static enum MHD_Result query_arg_check(void *cls, enum MHD_ValueKind kind, const char *key,
				       size_t key_size, const char *value, size_t value_size)
{
	struct query_check *qc = cls;
	(void)kind;
	qc->rc = http_query_param_check(qc->allowed, qc->any_name, key, key_size, value,
					value_size, &qc->req->err);
	return qc->rc == ST_OK ? MHD_YES : MHD_NO;
}

/* Refuses (400, naming the parameter) a query parameter the route does not
 * take (unknown_parameter), or whose name or value is not UTF-8 text free
 * of control characters, or is too long (bad_value), so that no handler,
 * decision or log event ever sees one. */
static int request_query_check(struct request *req, const struct route *r)
{
	struct query_check qc = {.req = req, .allowed = r->query, .any_name = r->auth == AUTH_NONE,
				 .rc = ST_OK};
	MHD_get_connection_values_n(req->conn, MHD_GET_ARGUMENT_KIND, query_arg_check, &qc);
	return qc.rc;
}

int request_json(struct request *req, json_t **out, struct st_error *e)
{
	const char *ct = request_header(req, "Content-Type");
	if (!ct || (strncasecmp(ct, "application/json", 16) != 0) ||
	    (ct[16] != '\0' && ct[16] != ';'))
		return err_setc(e, ST_EMEDIA, "unsupported_media_type", "",
				"send the body as JSON with Content-Type: application/json");
	if (req->body_len == 0)
		return err_setc(e, ST_EINVAL, "bad_json", "", "the request body is empty");
	return json_parse_object(req->body, req->body_len, out, e);
}

void response_json(struct response *res, int status, json_t *body)
{
	res->status = status;
	json_decref(res->json);
	res->json = body;
}

void response_created(struct response *res, int64_t id)
{
	response_json(res, 201, json_pack("{s:I}", "id", (json_int_t)id));
}

int request_body(struct request *req, const char *const *allowed, json_t **out)
{
	json_t *body = NULL;
	int rc = request_json(req, &body, &req->err);
	if (rc == ST_OK && allowed)
		rc = json_only_keys(body, allowed, "", &req->err);
	if (rc != ST_OK) {
		json_decref(body);
		return rc;
	}
	*out = body;
	return ST_OK;
}

int request_id_param(struct request *req, size_t n, const char *what, int64_t *id)
{
	int64_t v = 0;
	if (n >= req->nparams || !str_to_i64(req->params[n], &v) || v <= 0) {
		/* a path parameter is digits only (path_match): safe to name */
		char code[64];
		snprintf(code, sizeof(code), "%s_not_found", what);
		return err_setc(&req->err, ST_ENOTFOUND, code, "id", "no %s %s", what,
				n < req->nparams ? req->params[n] : "");
	}
	*id = v;
	return ST_OK;
}

int request_query_id(struct request *req, const char *name, int64_t *out)
{
	const char *v = request_query(req, name);
	*out = 0;
	if (!v || !*v)
		return ST_OK;
	if (!str_to_i64(v, out) || *out <= 0)
		return err_setc(&req->err, ST_EINVAL, "wrong_type", name,
				"\"%s\" must be a positive whole number", name);
	return ST_OK;
}

int request_query_time(struct request *req, const char *name, int64_t *us)
{
	const char *v = request_query(req, name);
	*us = 0;
	if (!v || !*v)
		return ST_OK;
	int64_t sec = 0;
	if (time_parse(v, &sec) != ST_OK)
		return err_setc(&req->err, ST_EINVAL, "wrong_type", name,
				"\"%s\" must be a date (YYYY-MM-DD) or a UTC time "
				"(YYYY-MM-DDTHH:MM:SSZ)",
				name);
	*us = sec * 1000000;
	return ST_OK;
}

int json_strings(const json_t *obj, const char *key, bool required, const char **out,
		 size_t max, size_t *n, struct st_error *e)
{
	*n = 0;
	json_t *a = json_object_get(obj, key);
	if (!a || json_is_null(a)) {
		if (required)
			return err_setc(e, ST_EINVAL, "missing_field", key, "\"%s\" is required", key);
		return ST_OK;
	}
	if (!json_is_array(a) || json_array_size(a) > max)
		return err_setc(e, ST_EINVAL, "wrong_type", key,
				"\"%s\" must be a list of at most %zu strings", key, max);
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 200)
			return err_setc(e, ST_EINVAL, "wrong_type", key,
					"\"%s\" must be a list of non-empty strings", key);
		out[(*n)++] = json_string_value(v);
	}
	return ST_OK;
}

void response_error(struct response *res, const struct st_error *e)
{
	int status = st_status_http(e->status);
	json_t *err = json_object();
	bool internal = status >= 500 && e->status != ST_EAUDIT && e->status != ST_EUNAVAIL;
	json_object_set_new(err, "code",
			    json_string(internal ? "internal_error"
						 : (e->code[0] ? e->code
							       : st_status_code(e->status))));
	json_object_set_new(err, "message",
			    json_string(internal ? "the server could not complete the request; "
						   "the failure was recorded"
						 : e->message));
	json_object_set_new(err, "field", json_string(internal ? "" : e->field));
	json_t *body = json_object();
	json_object_set_new(body, "error", err);
	response_json(res, status, body);
}

/* Whether a path segment can be the parameter `name`: an API token's id is
 * hexadecimal; every other parameter is an id, a whole number. So a path
 * such as /api/v1/records/search is no route (404), not a record. */
static bool param_fits(const char *name, size_t name_len, const char *seg, size_t n)
{
	bool token = name_len == 5 && memcmp(name, "token", 5) == 0;
	if (n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(isdigit((unsigned char)seg[i]) ||
		      (token && seg[i] >= 'a' && seg[i] <= 'f')))
			return false;
	return true;
}

/* Matches "/api/v1/records/{id}" against a path, capturing parameters. */
bool http_path_match(const char *pattern, const char *path, struct request *req)
{
	size_t used = 0;
	req->nparams = 0;
	const char *p = pattern, *q = path;
	while (*p && *q) {
		if (*p == '{') {
			const char *pe = strchr(p, '}');
			const char *qe = strchr(q, '/');
			if (!pe)
				return false;
			size_t n = qe ? (size_t)(qe - q) : strlen(q);
			if (n == 0 || req->nparams == HTTP_MAX_PARAMS ||
			    used + n + 1 > sizeof(req->param_buf) ||
			    !param_fits(p + 1, (size_t)(pe - p - 1), q, n))
				return false;
			memcpy(req->param_buf + used, q, n);
			req->param_buf[used + n] = '\0';
			req->params[req->nparams++] = req->param_buf + used;
			used += n + 1;
			p = pe + 1;
			q += n;
			continue;
		}
		if (*p != *q)
			return false;
		p++, q++;
	}
	return *p == '\0' && *q == '\0';
}

static void add_common_headers(struct server *srv, struct MHD_Response *r,
			       const struct request *req)
{
	MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "Content-Security-Policy",
				"default-src 'none'; frame-ancestors 'none'");
	if (srv->tls)
		MHD_add_response_header(r, "Strict-Transport-Security",
					"max-age=31536000; includeSubDomains");
	if (req && req->request_id[0])
		MHD_add_response_header(r, "X-Request-Id", req->request_id);
}

static void response_free(struct response *res)
{
	json_decref(res->json);
	free(res->text);
	free(res->set_cookie);
	free(res->set_cookie2);
	free(res->location);
	memset(res, 0, sizeof(*res));
}

static void free_wiped(void *body)
{
	secure_wipe(body, strlen(body));
	free(body);
}

static enum MHD_Result send_response(struct server *srv, struct MHD_Connection *conn,
				     struct request *req, struct response *res)
{
	char *body;
	size_t len;
	const char *ct = res->content_type;
	if (res->status == 204) {
		body = xstrdup("");
		len = 0;
		ct = NULL;
	} else if (res->text) {
		body = res->text;
		len = strlen(body);
		res->text = NULL;
		if (!ct)
			ct = "text/plain; charset=utf-8";
	} else {
		if (!res->json)
			res->json = json_object();
		body = json_dumps(res->json, JSON_COMPACT | JSON_ENSURE_ASCII);
		if (!body)
			die("cannot serialize a response");
		len = strlen(body);
		ct = "application/json";
	}
	/* bodies may hold record contents: wiped when freed */
	struct MHD_Response *r =
		MHD_create_response_from_buffer_with_free_callback(len, body, free_wiped);
	if (ct)
		MHD_add_response_header(r, "Content-Type", ct);
	add_common_headers(srv, r, req);
	if (res->set_cookie)
		MHD_add_response_header(r, "Set-Cookie", res->set_cookie);
	if (res->set_cookie2)
		MHD_add_response_header(r, "Set-Cookie", res->set_cookie2);
	if (res->location)
		MHD_add_response_header(r, "Location", res->location);
	if (res->close || atomic_load(&srv->closing))
		MHD_add_response_header(r, "Connection", "close");
	enum MHD_Result ret = MHD_queue_response(conn, (unsigned)res->status, r);
	MHD_destroy_response(r);
	response_free(res);
	return ret;
}

/* A textual IPv4 or IPv6 address, put in its canonical form. */
static bool canonical_ip(const char *in, char *out, size_t size)
{
	unsigned char a[16];
	if (inet_pton(AF_INET, in, a) == 1)
		return inet_ntop(AF_INET, a, out, (socklen_t)size) != NULL;
	if (inet_pton(AF_INET6, in, a) == 1)
		return inet_ntop(AF_INET6, a, out, (socklen_t)size) != NULL;
	return false;
}

static bool is_proxy(const char (*proxies)[INET6_ADDRSTRLEN], int nproxies, const char *addr)
{
	for (int i = 0; i < nproxies; i++)
		if (str_eq(proxies[i], addr))
			return true;
	return false;
}

void http_forwarded_client(const char (*proxies)[INET6_ADDRSTRLEN], int nproxies,
			   const char *xff, char *out, size_t size)
{
	if (!xff || strlen(xff) > 2048)
		return;
	char list[2049];
	str_copy(list, sizeof(list), xff);
	for (;;) {
		char *comma = strrchr(list, ',');
		char *item = comma ? comma + 1 : list;
		while (*item == ' ' || *item == '\t')
			item++;
		size_t n = strlen(item);
		while (n && (item[n - 1] == ' ' || item[n - 1] == '\t'))
			item[--n] = '\0';
		char ip[INET6_ADDRSTRLEN];
		if (!canonical_ip(item, ip, sizeof(ip)))
			return; /* not an address: keep the proxy's */
		if (!is_proxy(proxies, nproxies, ip)) {
			str_copy(out, size, ip);
			return;
		}
		if (!comma)
			return;
		*comma = '\0';
	}
}

/* The client: the peer, or — when the peer is a trusted reverse proxy —
 * the right-most address in X-Forwarded-For that is not itself a trusted
 * proxy (addresses further left were written by the client and prove
 * nothing). Every limit per address and every event's client use it. */
static void client_address(const struct server *srv, struct MHD_Connection *conn, char *out,
			   size_t size)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	str_copy(out, size, "unknown");
	if (!ci || !ci->client_addr)
		return;
	if (ci->client_addr->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ci->client_addr;
		inet_ntop(AF_INET, &a->sin_addr, out, (socklen_t)size);
	} else if (ci->client_addr->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ci->client_addr;
		inet_ntop(AF_INET6, &a->sin6_addr, out, (socklen_t)size);
	}
	if (!srv->nproxies || !is_proxy(srv->proxies, srv->nproxies, out))
		return;
	http_forwarded_client(srv->proxies, srv->nproxies,
			      MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Forwarded-For"),
			      out, size);
}

/* Logs a refusal decided in this layer as a "request.refused" event (the
 * reason in plain words, never a token or any other secret) and fills
 * req->err with it; returns status. If the event cannot be written, that
 * failure is returned instead (503): nothing is refused unrecorded. The
 * code, reason and field may point into req->err. */
static int refuse_logged_as(struct request *req, int status, const char *code, const char *field,
			    const char *reason, const char *logged_reason)
{
	char kind[sizeof(req->err.code)], why[sizeof(req->err.message)],
		what[sizeof(req->err.field)];
	str_copy(kind, sizeof(kind), code);
	str_copy(why, sizeof(why), reason);
	str_copy(what, sizeof(what), field ? field : "");
	struct st_error le = {0};
	int rc = access_refuse(req->st, &req->actor, "request.refused", kind,
			       logged_reason ? logged_reason : why, &le);
	req->logged = true;
	if (rc != ST_EDENIED) {
		req->err = le;
		return rc;
	}
	return err_setc(&req->err, status, kind, what, "%s", why);
}

static int refuse_logged(struct request *req, int status, const char *code, const char *field,
			 const char *reason)
{
	return refuse_logged_as(req, status, code, field, reason, NULL);
}

static int access_refusal(struct request *req, const char *code, const char *reason)
{
	return refuse_logged(req, ST_EDENIED, code, NULL, reason);
}

static bool user_suspended(struct steward *st, int64_t user)
{
	return access_user_suspended(st, user);
}

/* The value of a cookie in the Cookie header, into out. */
static bool cookie_value(struct request *req, const char *name, char *out, size_t size)
{
	const char *v = MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, name);
	if (!v || !*v)
		return false;
	return str_copy(out, size, v) == ST_OK;
}

static bool scope_has(const char *scopes, const char *scope)
{
	size_t n = strlen(scope);
	for (const char *p = scopes; p && *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == n && !strncmp(p, scope, n))
			return true;
		p = end ? end + 1 : NULL;
	}
	return false;
}

/* The bearer token of the Authorization header, or of the session cookie,
 * into token (empty when none was sent). A malformed or oversized header is
 * refused here (401 bad_token, logged, its value never). */
static int request_token(struct request *req, char *token, size_t size)
{
	const char *h = request_header(req, "Authorization");
	if (h) {
		if (strncasecmp(h, "Bearer ", 7) != 0)
			return refuse_logged(req, ST_EAUTH, "bad_token", NULL,
					     "the Authorization header is not of the form "
					     "\"Bearer <token>\"");
		if (str_copy(token, size, h + 7) != ST_OK)
			return refuse_logged(req, ST_EAUTH, "bad_token", NULL,
					     "the Authorization header is too long to hold a token");
	} else if (cookie_value(req, "steward_session", token, size)) {
		req->cookie_auth = true;
		req->actor.via = "web";
	}
	return ST_OK;
}

/* Authenticates a request for a route; fills req->actor. Every refusal is
 * in the access log: auth_check logs those of a token it was given, this
 * function the rest. */
static int authenticate(struct request *req, const struct route *r)
{
	char token[AUTH_TOKEN_MAX + 8] = "";
	int rc = request_token(req, token, sizeof(token));
	if (rc == ST_OK && !token[0])
		rc = refuse_logged(req, ST_EAUTH, "unauthenticated", NULL,
				   "sign in first: send Authorization: Bearer <token>");
	if (rc == ST_OK && req->on_loop) {
		/* one decision: either it signs in without writing or logging,
		 * or the request goes to a worker, which checks it afresh */
		bool wait = false;
		rc = auth_check_quick(req->st, token, &req->session, &wait, &req->err);
		if (rc == ST_OK && wait) {
			req->reroute = true;
			rc = ST_EUNAVAIL;
		}
	} else if (rc == ST_OK) {
		rc = auth_check(req->st, token, req->client, req->request_id, &req->session,
				&req->err);
	}
	secure_wipe(token, sizeof(token));
	if (rc != ST_OK)
		return rc;
	struct session_info *s = &req->session;
	req->actor.user_id = s->user_id;
	req->actor.session_id = s->id;
	req->actor.mfa = s->mfa;
	/* A suspension ends an open session on its very next request, whatever
	 * else the session is limited to: checked first. Signing out stays open. */
	if (!(str_eq(r->method, "DELETE") && str_eq(r->path, "/api/v1/sessions/current")) &&
	    user_suspended(req->st, s->user_id))
		return access_refusal(req, "suspended", "this account's access is suspended");
	/* a cookie-authenticated write must carry the CSRF token */
	bool unsafe = !str_eq(req->method, "GET") && !str_eq(req->method, "HEAD");
	if (req->cookie_auth && unsafe && !auth_csrf_ok(s, request_header(req, "X-CSRF-Token")))
		return access_refusal(req, "csrf", "a cookie-authenticated change needs the "
						   "X-CSRF-Token header of its session");
	if (s->api_token && (!r->scope || !scope_has(s->scopes, r->scope)))
		return access_refusal(req, "scope", "this API token's scopes do not reach this "
						    "endpoint");
	if (s->limit == SESSION_ENROLL_ONLY && r->auth != AUTH_ANY && r->auth != AUTH_ENROLL)
		return access_refusal(req, "mfa_enrollment_required",
				      "set up multi-factor authentication first: POST "
				      "/api/v1/mfa/totp with the enrolment code a user "
				      "administrator gave you, then POST /api/v1/mfa/totp/confirm");
	if (s->limit == SESSION_PASSWORD_ONLY && r->auth != AUTH_ANY && r->auth != AUTH_PASSWORD)
		return access_refusal(req, "password_change_required",
				      "choose a new password first: POST "
				      "/api/v1/sessions/current/password");
	return ST_OK;
}

/* The route for the request's method and path, or NULL (dispatch answers
 * 404 or 405). */
static const struct route *route_find(struct request *req)
{
	size_t n = 0;
	const struct route *table = routes_table(&n);
	for (size_t i = 0; i < n; i++)
		if (str_eq(table[i].method, req->method) && http_path_match(table[i].path, req->path, req))
			return &table[i];
	return NULL;
}

static void dispatch(struct server *srv, struct request *req, struct response *res)
{
	size_t n = 0;
	const struct route *table = routes_table(&n);
	bool path_known = false;
	struct buf allow = BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		if (!http_path_match(table[i].path, req->path, req))
			continue;
		path_known = true;
		if (!str_eq(table[i].method, req->method)) {
			if (allow.len)
				buf_puts(&allow, ", ");
			buf_puts(&allow, table[i].method);
			continue;
		}
		buf_release(&allow);
		int rc = table[i].auth == AUTH_NONE ? ST_OK : authenticate(req, &table[i]);
		if (req->reroute)
			return; /* nothing done, nothing logged: a worker answers */
		/* after authentication, so that a bad parameter is put to its sender */
		/* the log says what was wrong, never the parameter sent (input) */
		if (rc == ST_OK && request_query_check(req, &table[i]) != ST_OK)
			rc = refuse_logged_as(req, ST_EINVAL, req->err.code, req->err.field,
					      req->err.message,
					      str_eq(req->err.code, "unknown_parameter")
						      ? "a query parameter this endpoint does not take"
						      : "a query parameter that is not clean text or "
							"is too long");
		/* an oversized body is refused after sign-in, so that a signed-in
		 * sender's attempt is logged like any invalid request */
		if (rc == ST_OK && req->too_big)
			rc = err_setc(&req->err, ST_ETOOBIG, "too_large", "",
				      "the request body is larger than %d bytes", HTTP_BODY_MAX);
		if (rc == ST_OK)
			rc = table[i].handler(req, res);
		if (rc != ST_OK) {
			if (req->err.status == ST_OK)
				err_set(&req->err, rc, NULL, "request failed");
			/* a signed-in person's invalid request is an attempt too:
			 * refusals by the decision and by sign-in are logged where
			 * they are made; bad input, unknown objects and conflicts
			 * here (the route's pattern, not the path with its ids) */
			int http = st_status_http(req->err.status);
			if (req->actor.user_id > 0 && !req->logged &&
			    (http == 400 || http == 404 || http == 409 || http == 410 || http == 413 ||
			     http == 415)) {
				char endpoint[160];
				snprintf(endpoint, sizeof(endpoint), "%s %s", table[i].method,
					 table[i].path);
				/* unlogged, it is not answered as it would be: the
				 * log's refusal is (503) */
				struct st_error le = {0};
				if (access_record_invalid(req->st, &req->actor, endpoint, &req->err,
							  &le) != ST_OK)
					req->err = le;
			}
			response_error(res, &req->err);
		}
		return;
	}
	if (path_known) {
		err_setc(&req->err, ST_EINVAL, "method_not_allowed", "",
			 "%s is not allowed here (allowed: %s)", req->method,
			 allow.data ? allow.data : "");
		response_error(res, &req->err);
		res->status = 405;
	} else {
		err_setc(&req->err, ST_ENOTFOUND, "no_route", "", "no such endpoint: %s %s",
			 req->method, req->path);
		response_error(res, &req->err);
	}
	buf_release(&allow);
	(void)srv;
}

/* Sends the prepared answer, unless the request's log events could not be
 * made durable: then nothing it allowed is served (503). */
static enum MHD_Result answer(struct conn_state *cs)
{
	if (cs->ticketed && cs->ticket.failed) {
		struct st_error e = {0};
		err_setc(&e, ST_EAUDIT, "audit_unavailable", NULL,
			 "the access log could not be written, so nothing was served; the "
			 "failure has been reported");
		response_free(&cs->res);
		response_error(&cs->res, &e);
	}
	enum MHD_Result r = send_response(cs->srv, cs->conn, &cs->req, &cs->res);
	if (cs->admitted) {
		cs->admitted = false;
		atomic_fetch_sub(&cs->srv->active, 1);
	}
	return r;
}

/* Hands a request to the workers, suspended until one has its answer. */
static enum MHD_Result to_worker(struct conn_state *cs)
{
	struct server *srv = cs->srv;
	cs->phase = PHASE_WORKER;
	MHD_suspend_connection(cs->conn);
	pthread_mutex_lock(&srv->lock);
	if (srv->qtail)
		srv->qtail->next = cs;
	else
		srv->qhead = cs;
	srv->qtail = cs;
	pthread_cond_signal(&srv->work);
	pthread_mutex_unlock(&srv->lock);
	return MHD_YES;
}

/* Resumes a suspended request whose answer is ready. Once resumed, the
 * request may be answered and freed at once: cs is not touched after. */
static void resume(struct conn_state *cs)
{
	cs->phase = PHASE_READY;
	MHD_resume_connection(cs->conn);
}

/* Called by audit_ticket_wait under the ticket's lock: the request waits
 * for its events (suspended before the log can call ticket_ready). */
static void ticket_suspend(void *arg)
{
	struct conn_state *cs = arg;
	cs->phase = PHASE_LOG;
	MHD_suspend_connection(cs->conn);
}

/* Called by the access log's flushing thread: the request's events are
 * durable, or failed (answer() tells). */
static void ticket_ready(void *arg)
{
	resume(arg);
}

/* A fresh request id: 24 hex digits of randomness (not a secret: it is in
 * headers and log events), drawn from a per-thread pool to save a system
 * call per request. */
static void request_id_new(char out[40])
{
	static _Thread_local unsigned char pool[480];
	static _Thread_local size_t used = sizeof(pool);
	if (used + 12 > sizeof(pool)) {
		random_bytes(pool, sizeof(pool));
		used = 0;
	}
	static const char digits[] = "0123456789abcdef";
	for (int i = 0; i < 12; i++) {
		out[2 * i] = digits[pool[used + (size_t)i] >> 4];
		out[2 * i + 1] = digits[pool[used + (size_t)i] & 15];
	}
	out[24] = '\0';
	memset(pool + used, 0, 12);
	used += 12;
}

struct framing {
	int lengths, codings;
	bool odd; /* a header name that is no token, or a coding but chunked */
};

/* A header name as RFC 9110 allows (a token): no space before the colon,
 * which libmicrohttpd 0.9.75 keeps as part of the name. */
bool http_header_name_ok(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || strchr("!#$%&'*+-.^_`|~", *s)))
			return false;
	return true;
}

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key,
				     const char *value)
{
	struct framing *f = cls;
	(void)kind;
	if (!http_header_name_ok(key))
		f->odd = true;
	else if (strcasecmp(key, "Content-Length") == 0)
		f->lengths++;
	else if (strcasecmp(key, "Transfer-Encoding") == 0) {
		f->codings++;
		if (!value || strcasecmp(value, "chunked") != 0)
			f->odd = true;
	}
	return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_size, void **con_cls)
{
	struct server *srv = cls;
	struct conn_state *cs = *con_cls;
	(void)version;
	if (!cs) {
		cs = xcalloc(1, sizeof(*cs));
		*con_cls = cs;
		connections_headers_done(conn); /* the body's deadline runs */
		/* Where a body ends must be beyond doubt: two lengths, or a length
		 * and chunked coding, could let bytes of this body be read as a
		 * request of its own (smuggling); so could a name with a space
		 * before its colon, or a coding other than chunked (read to the
		 * end of the connection). Refused, and the connection closed,
		 * before any of the body is read. Folded header lines cannot be
		 * seen here (libmicrohttpd joins them): a proxy in front should
		 * refuse them, as RFC 9112 asks. */
		struct framing f = {0};
		MHD_get_connection_values(conn, MHD_HEADER_KIND, count_framing, &f);
		if (f.odd || f.lengths > 1 || f.codings > 1 || (f.lengths && f.codings)) {
			cs->phase = PHASE_SENT;
			cs->srv = srv;
			cs->conn = conn;
			struct st_error e = {0};
			err_setc(&e, ST_EINVAL, "bad_framing", "",
				 "a request may carry one Content-Length, or be chunked (and only "
				 "chunked), not both; header names take no spaces");
			response_error(&cs->res, &e);
			cs->res.close = true;
			return send_response(srv, conn, NULL, &cs->res);
		}
		/* A declared length over the limit is refused. A client that
		 * waits for "100 Continue" is answered now and never sends the
		 * body. One that sends it anyway has it read and dropped (up to
		 * HTTP_DISCARD_MAX) before the answer: closing on an unread body
		 * resets the connection, and the client may lose the answer. */
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     "Content-Length");
		int64_t n = 0;
		if (cl && str_to_i64(cl, &n) && n > HTTP_BODY_MAX) {
			cs->too_big = true;
			const char *expect = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
									 "Expect");
			bool waits = expect && strcasecmp(expect, "100-continue") == 0;
			if (!waits && n <= HTTP_DISCARD_MAX)
				return MHD_YES;
		}
		if (!cs->too_big)
			return MHD_YES;
	} else if (*upload_size) {
		/* A body without a declared length (chunked) is read as it comes.
		 * libmicrohttpd takes no response in the middle of an upload, so
		 * past the limit the rest is read and dropped, and the 413 sent
		 * once it has all arrived; one that goes on and on is cut off. */
		if (!cs->too_big && cs->body.len + *upload_size > HTTP_BODY_MAX) {
			cs->too_big = true;
			if (cs->body.data)
				secure_wipe(cs->body.data, cs->body.cap);
			buf_release(&cs->body);
		}
		if (cs->too_big) {
			cs->discarded += *upload_size;
			if (cs->discarded > HTTP_DISCARD_MAX)
				return MHD_NO; /* closes the connection */
		} else {
			buf_append(&cs->body, upload_data, *upload_size);
		}
		*upload_size = 0;
		return MHD_YES;
	}
	switch (cs->phase) {
	case PHASE_NEW:
		break;
	case PHASE_READY:
		cs->phase = PHASE_SENT;
		return answer(cs);
	default:
		return MHD_YES; /* suspended, or answered already */
	}

	struct request *req = &cs->req;
	connections_request_done(conn); /* complete: answering is the server's time */
	cs->srv = srv;
	cs->conn = conn;
	cs->res.status = 200;
	req->st = srv->st;
	req->srv = srv;
	req->method = method;
	req->path = url;
	req->conn = conn;
	req->body = cs->body.data ? cs->body.data : "";
	req->body_len = cs->body.len;
	client_address(srv, conn, req->client, sizeof(req->client));
	request_id_new(req->request_id);
	req->actor.via = "api";
	req->actor.client = req->client;
	req->actor.request_id = req->request_id;

	/* Admitted, unless the server is stopping: then answered at once, and
	 * never suspended (the stop waits for every admitted request, and
	 * seeing `closing` after counting itself in, or being seen counted,
	 * is one or the other for each request). */
	atomic_fetch_add(&srv->active, 1);
	cs->admitted = true;
	cs->phase = PHASE_SENT;
	if (atomic_load(&srv->closing)) {
		err_setc(&req->err, ST_EUNAVAIL, "shutting_down", "",
			 "the server is stopping; try again shortly");
		response_error(&cs->res, &req->err);
		return answer(cs);
	}
	req->too_big = cs->too_big;
	cs->route = route_find(req);
	if (cs->route && !cs->route->on_loop)
		return to_worker(cs);
	/* here: a read on the loop (or an unknown route) */
	audit_ticket_init(&cs->ticket, ticket_ready, cs);
	cs->ticketed = true;
	req->actor.ticket = &cs->ticket;
	req->on_loop = true;
	dispatch(srv, req, &cs->res);
	if (req->reroute) {
		/* signing in would write or log: a worker does it all afresh
		 * (nothing was appended on the ticket: sign-in comes first) */
		ST_ASSERT(cs->ticket.pending == 0);
		audit_ticket_destroy(&cs->ticket);
		cs->ticketed = false;
		response_free(&cs->res);
		cs->res.status = 200;
		memset(&req->session, 0, sizeof(req->session));
		memset(&req->err, 0, sizeof(req->err));
		req->actor = (struct actor){.via = "api", .client = req->client,
					    .request_id = req->request_id};
		req->cookie_auth = req->on_loop = req->reroute = req->logged = false;
		return to_worker(cs);
	}
	if (audit_ticket_wait(&cs->ticket, ticket_suspend, cs)) {
		cs->phase = PHASE_SENT;
		return answer(cs);
	}
	return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls, (void)toe;
	connections_answered(conn); /* the next request's deadline runs */
	struct conn_state *cs = *con_cls;
	if (cs) {
		/* a request that ends unanswered (its client left) is no
		 * longer waited for */
		if (cs->admitted)
			atomic_fetch_sub(&cs->srv->active, 1);
		/* Bodies may hold passwords or record contents. */
		if (cs->body.data)
			secure_wipe(cs->body.data, cs->body.cap);
		buf_release(&cs->body);
		response_free(&cs->res);
		if (cs->ticketed)
			audit_ticket_destroy(&cs->ticket);
		free(cs);
		*con_cls = NULL;
	}
}

/* A worker: runs suspended requests' handlers and resumes them. */
static void *worker_main(void *arg)
{
	struct server *srv = arg;
	pthread_mutex_lock(&srv->lock);
	for (;;) {
		while (!srv->qhead && !srv->stop)
			pthread_cond_wait(&srv->work, &srv->lock);
		struct conn_state *cs = srv->qhead;
		if (!cs)
			break;
		srv->qhead = cs->next;
		if (!srv->qhead)
			srv->qtail = NULL;
		pthread_mutex_unlock(&srv->lock);
		dispatch(srv, &cs->req, &cs->res);
		resume(cs);
		pthread_mutex_lock(&srv->lock);
	}
	pthread_mutex_unlock(&srv->lock);
	return NULL;
}

/* Lets the workers finish every queued request, then ends them. */
static void stop_workers(struct server *srv)
{
	pthread_mutex_lock(&srv->lock);
	srv->stop = true;
	pthread_cond_broadcast(&srv->work);
	pthread_mutex_unlock(&srv->lock);
	for (int i = 0; i < srv->nworkers; i++)
		pthread_join(srv->workers[i], NULL);
	free(srv->workers);
	srv->workers = NULL;
	srv->nworkers = 0;
}

/* libmicrohttpd's own messages (a client gone in the middle of a request, a
 * connection cut at its deadline, ...) go to stderr, at most
 * MHD_LOG_PER_MINUTE a minute, then counted: a flood of clients must not
 * flood the server's log (the access log has the refusals, counted too). */
#define MHD_LOG_PER_MINUTE 30
static void mhd_log(void *cls, const char *fmt, va_list ap) ST_PRINTF(2, 0);
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	static int64_t minute;
	static unsigned shown, dropped;
	(void)cls;
	int64_t now = time_now() / 60;
	pthread_mutex_lock(&mu);
	if (now != minute) {
		if (dropped)
			fprintf(stderr,
				"steward: %u further messages of the HTTP library in the minute "
				"before were not shown\n",
				dropped);
		minute = now;
		shown = dropped = 0;
	}
	if (shown < MHD_LOG_PER_MINUTE) {
		shown++;
		vfprintf(stderr, fmt, ap);
	} else {
		dropped++;
	}
	pthread_mutex_unlock(&mu);
}

static int parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *len,
			struct st_error *e)
{
	memset(ss, 0, sizeof(*ss));
	const char *colon = strrchr(listen, ':');
	if (!colon)
		return err_set(e, ST_EINVAL, "listen", "--listen must be ADDRESS:PORT");
	int64_t port = 0;
	if (!str_to_i64(colon + 1, &port) || port < 0 || port > 65535)
		return err_set(e, ST_EINVAL, "listen", "bad port in --listen %s", listen);
	char host[64];
	size_t hl = (size_t)(colon - listen);
	if (hl >= sizeof(host))
		return err_set(e, ST_EINVAL, "listen", "bad address in --listen %s", listen);
	memcpy(host, listen, hl);
	host[hl] = '\0';
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
		host[hl - 1] = '\0';
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1)
			return err_set(e, ST_EINVAL, "listen", "bad address in --listen %s", listen);
		*len = sizeof(*a);
		return ST_OK;
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
		return err_set(e, ST_EINVAL, "listen", "bad address in --listen %s", listen);
	*len = sizeof(*a);
	return ST_OK;
}

int server_run(struct steward *st, const struct server_options *opt, struct st_error *e)
{
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	int rc = parse_listen(opt->listen ? opt->listen : "127.0.0.1:8080", &ss, &sslen, e);
	if (rc != ST_OK)
		return rc;
	struct server proxies = {0};
	for (const char *p = opt->trusted_proxies; p && *p;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char item[64];
		if (n == 0 || n >= sizeof(item) || proxies.nproxies == MAX_PROXIES)
			return err_set(e, ST_EINVAL, "trusted-proxy",
				       "--trusted-proxy takes up to %d addresses, comma-separated",
				       MAX_PROXIES);
		memcpy(item, p, n);
		item[n] = '\0';
		if (!canonical_ip(item, proxies.proxies[proxies.nproxies], sizeof(proxies.proxies[0])))
			return err_set(e, ST_EINVAL, "trusted-proxy",
				       "--trusted-proxy: \"%s\" is not an IP address", item);
		proxies.nproxies++;
		p = end ? end + 1 : NULL;
	}
	char *cert = NULL, *key = NULL;
	size_t certlen = 0, keylen = 0;
	if ((opt->tls_cert != NULL) != (opt->tls_key != NULL))
		return err_set(e, ST_EINVAL, "tls", "give both --tls-cert and --tls-key");
	if (opt->tls_cert) {
		rc = file_read_all(opt->tls_cert, 1 << 20, &cert, &certlen, e);
		if (rc == ST_OK)
			rc = file_check_private(opt->tls_key, e);
		if (rc == ST_OK)
			rc = file_read_all(opt->tls_key, 1 << 20, &key, &keylen, e);
		if (rc != ST_OK) {
			free(cert);
			return rc;
		}
	}

	/* Signals are taken synchronously by this thread only. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct server srv = {.st = st, .tls = opt->tls_cert != NULL};
	memcpy(srv.proxies, proxies.proxies, sizeof(srv.proxies));
	srv.nproxies = proxies.nproxies;
	/* Event-loop threads serve the connections; a request that may wait
	 * is suspended and run by a worker. So that a few clients cannot hold
	 * every connection (slow or never-finished requests), a client address
	 * gets at most per_address of them, and only its share once the server
	 * is busy; a request's headers and body have deadlines; and a
	 * connection idle for HTTP_IDLE_TIMEOUT seconds is closed. */
	unsigned limit = opt->connections > 0 ? (unsigned)opt->connections : 1024;
	unsigned per_address = opt->per_address > 0 ? (unsigned)opt->per_address : 64;
	const char *exempt[MAX_PROXIES + 1] = {NULL};
	for (int i = 0; i < srv.nproxies; i++)
		exempt[i] = srv.proxies[i];
	struct connections_options co = {
		.limit = limit, .per_address = per_address,
		.header_seconds = opt->header_timeout > 0 ? (unsigned)opt->header_timeout
							  : HTTP_HEADER_TIMEOUT,
		.body_seconds = opt->body_timeout > 0 ? (unsigned)opt->body_timeout
						      : HTTP_BODY_TIMEOUT,
		.exempt = exempt};
	struct connections *conns = connections_new(st, &co);
	unsigned loops = opt->loop_threads > 0 ? (unsigned)opt->loop_threads : 2;
	pthread_mutex_init(&srv.lock, NULL);
	pthread_cond_init(&srv.work, NULL);
	srv.nworkers = opt->threads > 0 ? opt->threads : 12;
	srv.workers = xcalloc((size_t)srv.nworkers, sizeof(*srv.workers));
	for (int i = 0; i < srv.nworkers; i++)
		if (pthread_create(&srv.workers[i], NULL, worker_main, &srv) != 0)
			die("cannot start a request worker");
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
			 (srv.tls ? MHD_USE_TLS : 0) | (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
	struct MHD_OptionItem tls_opts[] = {
		{MHD_OPTION_HTTPS_MEM_CERT, 0, cert},
		{MHD_OPTION_HTTPS_MEM_KEY, 0, key},
		{MHD_OPTION_HTTPS_PRIORITIES, 0,
		 (void *)"SECURE256:+SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"},
		{MHD_OPTION_END, 0, NULL},
	};
	struct MHD_OptionItem no_tls[] = {{MHD_OPTION_END, 0, NULL}};
	srv.daemon = MHD_start_daemon(
		flags, 0, connections_admit, conns, on_request, &srv,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, /* first, to have every message */
		MHD_OPTION_SOCK_ADDR, &ss, MHD_OPTION_CONNECTION_LIMIT, limit,
		MHD_OPTION_NOTIFY_CONNECTION, connections_notify, conns,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_IDLE_TIMEOUT,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, &srv,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024),
		MHD_OPTION_THREAD_POOL_SIZE, loops,
		MHD_OPTION_ARRAY, srv.tls ? tls_opts : no_tls, MHD_OPTION_END);
	if (key) {
		secure_wipe(key, keylen);
		free(key);
	}
	free(cert);
	if (!srv.daemon) {
		stop_workers(&srv);
		connections_free(conns);
		pthread_sigmask(SIG_UNBLOCK, &set, NULL);
		return err_set(e, ST_EIO, "listen",
			       "cannot listen on %s (in use, or not allowed?)",
			       opt->listen ? opt->listen : "127.0.0.1:8080");
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv.daemon,
							     MHD_DAEMON_INFO_BIND_PORT);
	fprintf(stderr, "steward: serving %s on %s (port %u)\n", steward_dir(st),
		opt->listen ? opt->listen : "127.0.0.1:8080", di ? di->port : 0);
	fflush(stderr);
	if (opt->port_file && di) {
		char port[16];
		snprintf(port, sizeof(port), "%u\n", di->port);
		struct st_error pe = {0};
		if (file_write_atomic(opt->port_file, port, strlen(port), 0600, false, &pe) != ST_OK)
			fprintf(stderr, "steward: cannot write %s: %s\n", opt->port_file, pe.message);
	}

	/* Waits for a signal, sweeping the connections past their deadlines
	 * a few times a second meanwhile. */
	int sig = -1;
	while (sig <= 0) {
		struct timespec tick = {.tv_nsec = SWEEP_MS * 1000000L};
		sig = sigtimedwait(&set, NULL, &tick);
		if (sig <= 0)
			connections_sweep(conns);
	}
	fprintf(stderr, "steward: signal %d: finishing in-flight requests\n", sig);
	MHD_socket lfd = MHD_quiesce_daemon(srv.daemon);
	/* New connections are refused at once rather than left waiting in the
	 * backlog until the end (the socket is closed only after the daemon
	 * has stopped, as its threads may still hold it). */
	if (lfd != MHD_INVALID_SOCKET)
		shutdown(lfd, SHUT_RDWR);
	/* Every request admitted is answered; any later one is answered 503
	 * at once, with the connection closed after it. No request may stay
	 * suspended when the daemon stops. */
	atomic_store(&srv.closing, true);
	while (atomic_load(&srv.active))
		poll(NULL, 0, 10);
	/* then the answers go out: a few seconds for them, not for clients
	 * that keep idle connections open (those are closed by the stop) */
	for (int i = 0; i < STOP_GRACE_MS / 100; i++) {
		di = MHD_get_daemon_info(srv.daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
		if (!di || di->num_connections == 0)
			break;
		poll(NULL, 0, 100);
	}
	stop_workers(&srv);
	MHD_stop_daemon(srv.daemon);
	connections_free(conns);
	pthread_mutex_destroy(&srv.lock);
	pthread_cond_destroy(&srv.work);
	if (lfd != MHD_INVALID_SOCKET)
		close(lfd);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	fprintf(stderr, "steward: stopped\n");
	return ST_OK;
}
