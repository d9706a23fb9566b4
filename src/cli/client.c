/*
 * client.c - the business commands of `steward` are clients of the HTTP
 * API (libcurl): the command line and the API are one path with one set of
 * checks. `steward login` keeps the session token in an owner-only file
 * ($STEWARD_SESSION, or ~/.config/steward/session.json) together with the
 * server that issued it and, when given, the CA file to trust for it;
 * $STEWARD_SERVER, $STEWARD_TOKEN and $STEWARD_CACERT override them (an API
 * token, for scripts).
 *
 * What this file promises, because a client holds a password and a session
 * token: plain http is spoken only to this machine's loopback (anything
 * else is https with the certificate verified); the saved token goes only
 * to the server that issued it; nothing a server sends reaches the
 * terminal with its control characters intact; and no response is read
 * past CLI_MAX_RESPONSE. Every URL is checked as libcurl parses it, and
 * the parsed handle is what libcurl fetches, so the check and the request
 * cannot disagree.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "crypto/crypto.h"

/* --- text from a server, made safe to print ------------------------------ */

/* Decodes one UTF-8 character at p (at most avail bytes); returns its
 * length, or 0 when the bytes there are not UTF-8. */
static size_t utf8_next(const unsigned char *p, size_t avail, unsigned *cp)
{
	unsigned c = p[0];
	size_t n;
	unsigned min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xe0) == 0xc0)
		n = 2, c &= 0x1f, min = 0x80;
	else if ((c & 0xf0) == 0xe0)
		n = 3, c &= 0x0f, min = 0x800;
	else if ((c & 0xf8) == 0xf0)
		n = 4, c &= 0x07, min = 0x10000;
	else
		return 0;
	if (avail < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Characters that steer a terminal or reorder what it shows: C0 controls,
 * DEL, C1 controls (U+009B is a one-character CSI) and the bidirectional
 * embeddings, overrides and isolates ("Trojan Source"). */
static bool char_is_unsafe(unsigned cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}

char *cli_printable_dup(const char *s, size_t len, enum cli_text mode)
{
	struct buf out = BUF_INIT;
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	buf_grow(&out, len);
	out.data[0] = '\0';
	while (p < end) {
		unsigned cp = 0;
		size_t n = utf8_next(p, (size_t)(end - p), &cp);
		if (n == 0) {
			/* not UTF-8: a lone 0x9b is a CSI to an 8-bit terminal */
			if (mode == CLI_TEXT_JSON)
				buf_puts(&out, "\\uFFFD");
			else
				buf_printf(&out, "\\x%02x", *p);
			p++;
			continue;
		}
		if (mode == CLI_TEXT_JSON && (cp == '\n' || cp == '\t'))
			buf_putc(&out, (char)cp);
		else if (char_is_unsafe(cp) && mode == CLI_TEXT_LINE && cp < 0x80)
			buf_printf(&out, "\\x%02x", cp);
		else if (char_is_unsafe(cp))
			buf_printf(&out, "\\u%04X", cp); /* as jansson writes them: valid JSON */
		else
			buf_append(&out, p, n);
		p += n;
	}
	return buf_detach(&out, NULL);
}

/* --- server URLs ------------------------------------------------------------ */

bool cli_host_is_loopback(const char *host)
{
	if (!strcasecmp(host, "localhost"))
		return true;
	struct in_addr a4;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	char inner[INET6_ADDRSTRLEN];
	size_t n = strlen(host);
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		host++;
		n -= 2;
	}
	if (n >= sizeof(inner))
		return false;
	memcpy(inner, host, n);
	inner[n] = '\0';
	struct in6_addr a6;
	if (inet_pton(AF_INET6, inner, &a6) != 1)
		return false;
	return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
}

static void str_lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* Parses url into u and checks what any request to a Steward server must
 * be: http or https, no credentials or zone in the URL, and plain http only
 * to loopback. *origin receives "scheme://host[:port]" (lower case, the
 * port only when not the scheme's default; malloc'd). */
static int url_parse(CURLU *u, const char *url, char **origin, struct st_error *e)
{
	char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL, *pass = NULL,
	     *options = NULL, *zone = NULL;
	int rc = ST_OK;
	*origin = NULL;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		char *shown = cli_printable_dup(url, strlen(url), CLI_TEXT_LINE);
		rc = err_set(e, ST_EINVAL, NULL,
			     "%s is not a server URL: give it as https://HOST[:PORT]", shown);
		free(shown);
		goto out;
	}
	str_lower(scheme);
	str_lower(host);
	curl_url_get(u, CURLUPART_PORT, &port, CURLU_NO_DEFAULT_PORT);
	curl_url_get(u, CURLUPART_USER, &user, 0);
	curl_url_get(u, CURLUPART_PASSWORD, &pass, 0);
	curl_url_get(u, CURLUPART_OPTIONS, &options, 0);
	curl_url_get(u, CURLUPART_ZONEID, &zone, 0);
	if (!str_eq(scheme, "https") && !str_eq(scheme, "http")) {
		rc = err_set(e, ST_EINVAL, NULL,
			     "the server URL must start with https:// (not %s://)", scheme);
	} else if (user || pass || options) {
		rc = err_set(e, ST_EINVAL, NULL,
			     "the server URL may not hold a name or password: give it as "
			     "https://HOST[:PORT] and sign in with 'steward login'");
	} else if (zone) {
		rc = err_set(e, ST_EINVAL, NULL, "the server URL may not name a network interface");
	} else if (str_eq(scheme, "http") && !cli_host_is_loopback(host)) {
		/* the password and the session token would cross a network in clear */
		rc = err_set(e, ST_EINVAL, NULL,
			     "refusing plain http to %s: passwords and session tokens would "
			     "cross the network unencrypted; use https://%s%s%s (plain http "
			     "is only for this machine: 127.0.0.1, ::1, localhost)",
			     host, host, port ? ":" : "", port ? port : "");
	} else {
		*origin = xasprintf("%s://%s%s%s", scheme, host, port ? ":" : "", port ? port : "");
	}
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(user);
	curl_free(pass);
	curl_free(options);
	curl_free(zone);
	return rc;
}

int cli_server_canon(const char *url, char **canon, struct st_error *e)
{
	*canon = NULL;
	CURLU *u = curl_url();
	if (!u)
		die("out of memory");
	char *origin = NULL, *path = NULL, *query = NULL, *fragment = NULL;
	int rc = url_parse(u, url, &origin, e);
	if (rc == ST_OK) {
		curl_url_get(u, CURLUPART_PATH, &path, 0);
		curl_url_get(u, CURLUPART_QUERY, &query, 0);
		curl_url_get(u, CURLUPART_FRAGMENT, &fragment, 0);
		if (query || fragment)
			rc = err_set(e, ST_EINVAL, NULL,
				     "the server URL may not have a query or a fragment: give it "
				     "as https://HOST[:PORT][/PATH]");
	}
	if (rc == ST_OK) {
		/* requests append "/api/v1/..." to the canonical form */
		size_t n = path ? strlen(path) : 0;
		while (n > 0 && path[n - 1] == '/')
			n--;
		*canon = xasprintf("%s%.*s", origin, (int)n, path ? path : "");
	}
	free(origin);
	curl_free(path);
	curl_free(query);
	curl_free(fragment);
	curl_url_cleanup(u);
	return rc;
}

/* --- the connection: server, token and trust -------------------------------- */

static char *session_path(void)
{
	const char *p = getenv("STEWARD_SESSION");
	if (p && *p)
		return xstrdup(p);
	const char *home = getenv("HOME");
	return xasprintf("%s/.config/steward/session.json", home && *home ? home : ".");
}

/* An environment variable, treating an empty one as unset. */
static const char *env_value(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

struct conn {
	char *server; /* canonical (cli_server_canon) */
	char *token;  /* sent as a bearer token; NULL sends none */
	char *cacert; /* a CA file trusted instead of the system's, or NULL */
};

static void conn_release(struct conn *c)
{
	free(c->server);
	if (c->token)
		secure_free_plain(c->token, strlen(c->token));
	free(c->cacert);
	memset(c, 0, sizeof(*c));
}

/* The server, token and CA file for a command: $STEWARD_SERVER, else the
 * saved session's server. The saved token goes only to the server that
 * issued it (compared in canonical form); $STEWARD_TOKEN, given explicitly,
 * goes to whichever server is used. Likewise the saved CA file is trusted
 * only for the saved server, and $STEWARD_CACERT for any. */
static int load_conn(struct conn *c, struct st_error *e)
{
	memset(c, 0, sizeof(*c));
	const char *env_server = env_value("STEWARD_SERVER"), *env_token = env_value("STEWARD_TOKEN"),
		   *env_cacert = env_value("STEWARD_CACERT");
	char *path = session_path();
	char *text = NULL;
	size_t len = 0;
	json_t *doc = NULL;
	if (file_read_all(path, 1 << 16, &text, &len, NULL) == ST_OK) {
		json_error_t je;
		doc = json_loadb(text, len, 0, &je);
		secure_free_plain(text, len);
	}
	free(path);
	const char *saved_server = json_string_value(json_object_get(doc, "server"));
	const char *saved_token = json_string_value(json_object_get(doc, "token"));
	const char *saved_cacert = json_string_value(json_object_get(doc, "cacert"));
	const char *server = env_server ? env_server : saved_server;
	char *saved_canon = NULL;
	int rc = ST_OK;
	if (!server)
		rc = err_set(e, ST_EINVAL, NULL, "no server: run 'steward login --server URL' first");
	else
		rc = cli_server_canon(server, &c->server, e);
	if (rc == ST_OK) {
		bool issuer = saved_server && cli_server_canon(saved_server, &saved_canon, NULL) == ST_OK &&
			      str_eq(saved_canon, c->server);
		if (env_token)
			c->token = xstrdup(env_token);
		else if (saved_token && issuer)
			c->token = xstrdup(saved_token);
		else if (saved_token)
			fprintf(stderr,
				"steward: not sending the saved session to %s: it was issued by %s "
				"(sign in there, or set STEWARD_TOKEN)\n",
				c->server, saved_canon ? saved_canon : "another server");
		const char *cacert = env_cacert ? env_cacert : issuer ? saved_cacert : NULL;
		if (cacert)
			c->cacert = xstrdup(cacert);
	}
	free(saved_canon);
	if (doc) {
		json_t *t = json_object_get(doc, "token");
		if (t && json_is_string(t))
			secure_wipe((char *)json_string_value(t), json_string_length(t));
		json_decref(doc);
	}
	if (rc != ST_OK)
		conn_release(c);
	return rc;
}

/* The response body, read up to CLI_MAX_RESPONSE. */
struct response {
	struct buf body;
	bool too_big;
};

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	struct response *r = ctx;
	size_t len = size * n;
	if (len > CLI_MAX_RESPONSE - r->body.len) {
		r->too_big = true;
		return 0; /* libcurl stops the transfer with CURLE_WRITE_ERROR */
	}
	buf_append(&r->body, data, len);
	return len;
}

/* One request to c->server + path; *status receives the HTTP status, *out
 * the parsed body (NULL if empty or not JSON). ST_EINVAL if the URL is
 * refused, ST_ETOOBIG past CLI_MAX_RESPONSE, ST_EIO if the server cannot
 * be reached or its certificate is not trusted. */
static int call(const struct conn *c, const char *method, const char *path, const char *body,
		long *status, json_t **out, struct st_error *e)
{
	*out = NULL;
	CURL *curl = curl_easy_init();
	CURLU *u = curl_url();
	if (!curl || !u)
		die("out of memory");
	/* the full URL is checked again as libcurl parses it, and that parsed
	 * handle is what is fetched: a path cannot move the request elsewhere */
	char *url = xasprintf("%s%s", c->server, path);
	char *origin = NULL;
	int rc = url_parse(u, url, &origin, e);
	free(url);
	if (rc == ST_OK && (!str_has_prefix(c->server, origin) ||
			    (c->server[strlen(origin)] != '\0' && c->server[strlen(origin)] != '/')))
		rc = err_set(e, ST_EINVAL, NULL, "the request path leaves %s", c->server);
	free(origin);
	if (rc != ST_OK) {
		curl_url_cleanup(u);
		curl_easy_cleanup(curl);
		return rc;
	}
	struct response resp = {BUF_INIT, false};
	struct curl_slist *h = NULL;
	char *auth = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	if (c->token) {
		auth = xasprintf("Authorization: Bearer %s", c->token);
		h = curl_slist_append(h, auth);
	}
	if (body)
		h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(curl, CURLOPT_CURLU, u);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp);
	curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)CLI_MAX_RESPONSE);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->cacert)
		curl_easy_setopt(curl, CURLOPT_CAINFO, c->cacert);
	/* plain http is loopback only: a proxy from the environment would carry
	 * the token across the network after all (https is tunnelled, end to end) */
	if (str_has_prefix(c->server, "http://"))
		curl_easy_setopt(curl, CURLOPT_PROXY, "");
	if (body)
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	CURLcode cc = curl_easy_perform(curl);
	if (resp.too_big || cc == CURLE_FILESIZE_EXCEEDED) {
		rc = err_set(e, ST_ETOOBIG, NULL, "the response from %s is larger than %zu MiB: refused",
			     c->server, CLI_MAX_RESPONSE >> 20);
	} else if (cc != CURLE_OK) {
		/* the detail can quote the server (a certificate's name) */
		const char *detail = errbuf[0] ? errbuf : curl_easy_strerror(cc);
		char *why = cli_printable_dup(detail, strlen(detail), CLI_TEXT_LINE);
		bool trust = cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE;
		rc = err_set(e, ST_EIO, NULL, "cannot reach %s: %s%s", c->server, why,
			     trust ? " (for a district's own certificate authority, sign in with "
				     "--cacert FILE)"
				   : "");
		free(why);
	} else {
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
		if (resp.body.len) {
			json_error_t je;
			*out = json_loadb(resp.body.data, resp.body.len, 0, &je);
		}
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(curl);
	curl_url_cleanup(u);
	if (auth)
		secure_free_plain(auth, strlen(auth));
	buf_release(&resp.body);
	return rc;
}

/* Prints a response: the body on success, the error on failure; returns
 * the exit code. Everything the server said goes through
 * cli_printable_dup first. */
static int report(long status, json_t *body)
{
	if (status >= 200 && status < 300) {
		char *s = body ? json_dumps(body, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
		if (s) {
			char *shown = cli_printable_dup(s, strlen(s), CLI_TEXT_JSON);
			printf("%s\n", shown);
			free(shown);
			free(s);
		} else {
			printf("done (HTTP %ld)\n", status); /* an answer without a body */
		}
		json_decref(body);
		return 0;
	}
	json_t *err = json_object_get(body, "error");
	const char *msg = json_string_value(json_object_get(err, "message"));
	const char *field = json_string_value(json_object_get(err, "field"));
	char *m = msg ? cli_printable_dup(msg, strlen(msg), CLI_TEXT_LINE) : xstrdup("request failed");
	char *f = field && *field ? cli_printable_dup(field, strlen(field), CLI_TEXT_LINE) : NULL;
	fprintf(stderr, "steward: %s%s%s%s (HTTP %ld)\n", m, f ? " (" : "", f ? f : "", f ? ")" : "",
		status);
	free(m);
	free(f);
	json_decref(body);
	switch (status) {
	case 400: case 413: case 415: return 2;
	case 401: case 403: return 3;
	case 404: case 410: return 4;
	case 409: return 5;
	default: return 1;
	}
}

/* One request with the saved session: ST_OK with the status and the
 * answer, or the failure to make it (in e). */
static int fetch(const char *method, const char *path, const char *body, long *status,
		 json_t **out, struct st_error *e)
{
	struct conn c;
	*status = 0;
	*out = NULL;
	int rc = load_conn(&c, e);
	if (rc != ST_OK)
		return rc;
	rc = call(&c, method, path, body, status, out, e);
	conn_release(&c);
	return rc;
}

static int request(const char *method, const char *path, const char *body)
{
	struct st_error e = {0};
	long status = 0;
	json_t *out = NULL;
	if (fetch(method, path, body, &status, &out, &e) != ST_OK)
		return cli_fail(&e);
	return report(status, out);
}

/* A request whose success is said in words rather than by the answer. */
static int request_quiet(const char *method, const char *path, const char *body,
			 const char *said)
{
	struct st_error e = {0};
	long status = 0;
	json_t *out = NULL;
	if (fetch(method, path, body, &status, &out, &e) != ST_OK)
		return cli_fail(&e);
	if (status >= 200 && status < 300) {
		json_decref(out);
		printf("%s\n", said);
		return 0;
	}
	return report(status, out);
}

static void query_add(struct buf *q, const char *name, const char *value)
{
	if (!value)
		return;
	buf_putc(q, q->len ? '&' : '?');
	buf_puts(q, name);
	buf_putc(q, '=');
	char *esc = curl_easy_escape(NULL, value, 0);
	buf_puts(q, esc ? esc : "");
	curl_free(esc);
}

/* GET path?name=value&... with every option that was given, named as the
 * option is: the command's options are the route's query parameters. */
static int get_with_options(const char *path, const struct cli_opt *opts)
{
	struct buf q = BUF_INIT;
	for (const struct cli_opt *o = opts; o->name; o++)
		if (o->value)
			query_add(&q, o->name, *o->value);
	char *full = xasprintf("%s%s", path, q.data ? q.data : "");
	int rc = request("GET", full, NULL);
	free(full);
	buf_release(&q);
	return rc;
}

/* Saves the session: the canonical server, the token and the CA file, in
 * an owner-only file. */
static int session_save(const char *path, const struct conn *c, const char *token,
			struct st_error *e)
{
	json_t *saved = json_pack("{s:s, s:s}", "server", c->server, "token", token);
	if (!saved)
		return err_set(e, ST_EINVAL, NULL, "the server's session token is not text");
	if (c->cacert)
		json_object_set_new(saved, "cacert", json_string(c->cacert));
	char *s = json_dumps(saved, JSON_INDENT(2));
	json_t *t = json_object_get(saved, "token");
	secure_wipe((char *)json_string_value(t), json_string_length(t));
	json_decref(saved);
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		dir_create_private(dir, NULL);
	}
	free(dir);
	int rc = file_write_atomic(path, s, strlen(s), 0600, false, e);
	secure_free_plain(s, strlen(s));
	return rc;
}

int cmd_login(int argc, char **argv)
{
	const char *server = NULL, *user = NULL, *pwfile = NULL, *totp = NULL, *cacert = NULL;
	const struct cli_opt opts[] = {
		{"server", &server, NULL, "the Steward server, e.g. https://steward.district.org"},
		{"username", &user, NULL, "your username (else prompts)"},
		{"password-file", &pwfile, NULL, "file holding the password (else prompts)"},
		{"totp", &totp, NULL, "the code from your authenticator app (if enrolled)"},
		{"cacert", &cacert, NULL, "CA certificate (PEM) to trust for this server; kept with the session"},
		{NULL, NULL, NULL, NULL},
	};
	const char *pos[1];
	int npos;
	if (cli_parse(argc, argv, opts, pos, 0, &npos) != 0)
		return 2;
	server = server ? server : env_value("STEWARD_SERVER");
	if (!server) {
		fprintf(stderr, "steward: login needs --server URL\n");
		return 2;
	}
	/* the URL and the CA file are checked before anyone types a password */
	struct st_error e = {0};
	struct conn c = {0};
	if (cli_server_canon(server, &c.server, &e) != ST_OK)
		return cli_fail(&e);
	cacert = cacert ? cacert : env_value("STEWARD_CACERT");
	if (cacert) {
		/* kept as an absolute path: later commands run from anywhere */
		c.cacert = realpath(cacert, NULL);
		if (!c.cacert) {
			err_set(&e, ST_EINVAL, NULL, "cannot use --cacert %s: %s", cacert, strerror(errno));
			conn_release(&c);
			return cli_fail(&e);
		}
	}
	char *uline = NULL;
	if (!user) {
		/* asked on a terminal; read as a line from a pipe */
		size_t cap = 0;
		bool tty = isatty(STDIN_FILENO);
		if (tty)
			fprintf(stderr, "Username: ");
		if (getline(&uline, &cap, stdin) < 0) {
			free(uline);
			conn_release(&c);
			fprintf(stderr, "%ssteward: login needs --username NAME (nothing was typed)\n",
				tty ? "\n" : "");
			return 2;
		}
		uline[strcspn(uline, "\r\n")] = '\0';
		user = uline;
	}
	char *password = NULL;
	if (cli_read_secret(pwfile, "Password: ", false, &password, &e) != ST_OK) {
		free(uline);
		conn_release(&c);
		return cli_fail(&e);
	}
	json_t *body = json_pack("{s:s, s:s}", "username", user, "password", password);
	if (body && totp)
		json_object_set_new(body, "totp", json_string(totp));
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	secure_free_plain(password, strlen(password));
	if (!text) {
		free(uline);
		conn_release(&c);
		fprintf(stderr, "steward: the username or password is not valid UTF-8\n");
		return 2;
	}
	long status = 0;
	json_t *out = NULL;
	int rc = call(&c, "POST", "/api/v1/sessions", text, &status, &out, &e);
	secure_free_plain(text, strlen(text));
	if (rc != ST_OK || status != 201) {
		free(uline);
		conn_release(&c);
		return rc != ST_OK ? cli_fail(&e) : report(status, out);
	}
	char *path = session_path();
	const char *token = json_string_value(json_object_get(out, "token"));
	rc = token ? session_save(path, &c, token, &e)
		   : err_set(&e, ST_EINVAL, NULL, "the server's answer holds no session token");
	if (rc == ST_OK) {
		printf("signed in to %s as %s (session saved in %s)\n", c.server, user, path);
		if (json_is_true(json_object_get(out, "mfa_enrollment_required")))
			printf("multi-factor authentication must be set up first: run 'steward mfa "
			       "enroll --code CODE' with the enrolment code a user administrator "
			       "gave you, add the secret to an authenticator app, then 'steward mfa "
			       "confirm CODE' with the code the app shows\n");
		if (json_is_true(json_object_get(out, "must_change_password")))
			printf("the password was one-time: run 'steward password' to choose yours\n");
	}
	if (token)
		secure_wipe((char *)token, strlen(token));
	free(path);
	free(uline);
	json_decref(out);
	conn_release(&c);
	return rc == ST_OK ? 0 : cli_fail(&e);
}

/* For commands that take nothing: --help works and a stray argument is an error. */
static bool no_arguments(int argc, char **argv, const char *name)
{
	const struct cli_opt opts[] = {{NULL, NULL, NULL, NULL}};
	const char *pos[1];
	int npos;
	if (cli_parse(argc, argv, opts, pos, 0, &npos) != 0) {
		fprintf(stderr, "steward: %s takes no arguments\n", name);
		return false;
	}
	return true;
}

int cmd_logout(int argc, char **argv)
{
	if (!no_arguments(argc, argv, "logout"))
		return 2;
	int rc = request_quiet("DELETE", "/api/v1/sessions/current", NULL, "signed out");
	char *path = session_path();
	if (file_exists(path))
		file_shred(path, NULL);
	free(path);
	return rc;
}

int cmd_whoami(int argc, char **argv)
{
	if (!no_arguments(argc, argv, "whoami"))
		return 2;
	return request("GET", "/api/v1/sessions/current", NULL);
}

/* A line of the server's text, printed defanged. */
static void print_field(const char *label, const char *v)
{
	char *shown = cli_printable_dup(v ? v : "", strlen(v ? v : ""), CLI_TEXT_LINE);
	printf("%s%s\n", label, shown);
	free(shown);
}

int cmd_mfa_enroll(int argc, char **argv)
{
	const char *qr = NULL, *code = NULL;
	const struct cli_opt opts[] = {
		{"code", &code, NULL,
		 "the one-time enrolment code a user administrator gave you (not needed to start "
		 "again in the same session)"},
		{"qr-svg", &qr, NULL, "write the QR code (SVG) for an authenticator app to scan here"},
		{NULL, NULL, NULL, NULL},
	};
	const char *pos[1];
	int npos;
	if (cli_parse(argc, argv, opts, pos, 0, &npos) != 0)
		return 2;
	struct st_error e = {0};
	long status = 0;
	json_t *out = NULL;
	char *body = NULL;
	if (code) {
		json_t *b = json_pack("{s:s}", "enrollment_code", code);
		body = b ? json_dumps(b, JSON_COMPACT) : NULL;
		json_decref(b);
		if (!body) {
			fprintf(stderr, "steward: the enrolment code is not valid text\n");
			return 2;
		}
	}
	int rc = fetch("POST", "/api/v1/mfa/totp", body, &status, &out, &e);
	free(body);
	if (rc != ST_OK)
		return cli_fail(&e);
	if (status != 201)
		return report(status, out);
	const char *svg = json_string_value(json_object_get(out, "qr_svg"));
	if (qr && svg && file_write_atomic(qr, svg, strlen(svg), 0600, false, &e) != ST_OK) {
		json_decref(out);
		return cli_fail(&e);
	}
	print_field("secret:      ", json_string_value(json_object_get(out, "secret")));
	print_field("otpauth URI: ", json_string_value(json_object_get(out, "otpauth_uri")));
	printf("recovery codes (each works once, in place of a code; keep them safe, apart "
	       "from the device):\n");
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(out, "recovery_codes"), i, v)
		print_field("  ", json_string_value(v));
	if (qr)
		printf("QR code written to %s\n", qr);
	else
		printf("(add --qr-svg FILE to save a QR code for the app to scan)\n");
	printf("next: add the secret to an authenticator app, then run 'steward mfa confirm "
	       "CODE' with the code it shows\n");
	json_decref(out);
	return 0;
}

int cmd_mfa_confirm(int argc, char **argv)
{
	const struct cli_opt opts[] = {{NULL, NULL, NULL, NULL}};
	const char *pos[1];
	int npos;
	if (cli_parse(argc, argv, opts, pos, 1, &npos) != 0 || npos != 1) {
		fprintf(stderr, "steward: mfa confirm needs the CODE\n");
		return 2;
	}
	json_t *b = json_pack("{s:s}", "code", pos[0]);
	char *t = json_dumps(b, JSON_COMPACT);
	int rc = request_quiet("POST", "/api/v1/mfa/totp/confirm", t,
			       "multi-factor authentication is on: from now on signing in asks for "
			       "a code from the app (or a recovery code)");
	free(t);
	json_decref(b);
	return rc;
}

int cmd_password(int argc, char **argv)
{
	const char *curfile = NULL, *newfile = NULL;
	const struct cli_opt opts[] = {
		{"current-password-file", &curfile, NULL, "file holding the current password (else prompts)"},
		{"new-password-file", &newfile, NULL, "file holding the new password (else prompts twice)"},
		{NULL, NULL, NULL, NULL},
	};
	const char *pos[1];
	int npos;
	if (cli_parse(argc, argv, opts, pos, 0, &npos) != 0)
		return 2;
	struct st_error e = {0};
	char *cur = NULL, *next = NULL;
	if (cli_read_secret(curfile, "Current password: ", false, &cur, &e) != ST_OK)
		return cli_fail(&e);
	if (cli_read_secret(newfile, "New password: ", true, &next, &e) != ST_OK) {
		secure_free_plain(cur, strlen(cur));
		return cli_fail(&e);
	}
	json_t *b = json_pack("{s:s, s:s}", "current_password", cur, "new_password", next);
	char *t = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	int rc = request_quiet("POST", "/api/v1/sessions/current/password", t,
			       "password changed");
	secure_free_plain(t, strlen(t));
	secure_free_plain(cur, strlen(cur));
	secure_free_plain(next, strlen(next));
	return rc;
}

/* A person's id as the first argument of a users command. */
static bool user_id_arg(const char *arg, int64_t *id)
{
	return str_to_i64(arg, id) && *id > 0;
}

int cmd_users_enrollment_code(int argc, char **argv)
{
	const struct cli_opt opts[] = {{NULL, NULL, NULL, NULL}};
	const char *pos[1];
	int npos;
	int64_t id = 0;
	if (cli_parse(argc, argv, opts, pos, 1, &npos) != 0 || npos != 1 ||
	    !user_id_arg(pos[0], &id)) {
		fprintf(stderr, "steward: users enrollment-code needs the person's user ID\n");
		return 2;
	}
	char path[80];
	snprintf(path, sizeof(path), "/api/v1/users/%lld/enrollment-code", (long long)id);
	struct st_error e = {0};
	long status = 0;
	json_t *out = NULL;
	if (fetch("POST", path, NULL, &status, &out, &e) != ST_OK)
		return cli_fail(&e);
	if (status != 201)
		return report(status, out);
	print_field("enrolment code: ", json_string_value(json_object_get(out, "enrollment_code")));
	print_field("works until:    ", json_string_value(json_object_get(out, "expires_at")));
	printf("it works once, for user %lld only: give it to them in person or by phone (never "
	       "together with their password); they run 'steward mfa enroll --code CODE'\n",
	       (long long)id);
	json_decref(out);
	return 0;
}

/* What a reset gives out, from the API or the library, said the same way. */
void cli_print_reset(const char *who, const char *password, const char *code, const char *until)
{
	printf("the sign-in of %s was reset (logged as user.reset); its sessions and API tokens "
	       "ended\n",
	       who);
	print_field("one-time password: ", password);
	print_field("enrolment code:    ", code);
	print_field("code works until:  ", until);
	printf("give both to the person out of band (in person or by phone, not together in one "
	       "message): they sign in with the password, choose their own, then run 'steward mfa "
	       "enroll --code CODE'\n");
}

int cmd_users_reset_remote(int argc, char **argv)
{
	const char *reason = NULL;
	const struct cli_opt opts[] = {
		{"reason", &reason, NULL, "why (kept in the access log)"},
		{NULL, NULL, NULL, NULL},
	};
	const char *pos[1];
	int npos;
	int64_t id = 0;
	if (cli_parse(argc, argv, opts, pos, 1, &npos) != 0 || npos != 1 ||
	    !user_id_arg(pos[0], &id) || !reason) {
		fprintf(stderr, "steward: users reset needs the person's user ID and --reason TEXT\n");
		return 2;
	}
	json_t *b = json_pack("{s:s}", "reason", reason);
	char *body = b ? json_dumps(b, JSON_COMPACT) : NULL;
	json_decref(b);
	if (!body) {
		fprintf(stderr, "steward: --reason is not valid text\n");
		return 2;
	}
	char path[80];
	snprintf(path, sizeof(path), "/api/v1/users/%lld/reset", (long long)id);
	struct st_error e = {0};
	long status = 0;
	json_t *out = NULL;
	int rc = fetch("POST", path, body, &status, &out, &e);
	free(body);
	if (rc != ST_OK)
		return cli_fail(&e);
	if (status != 200)
		return report(status, out);
	char who[40];
	snprintf(who, sizeof(who), "user %lld", (long long)id);
	cli_print_reset(who, json_string_value(json_object_get(out, "password")),
			json_string_value(json_object_get(out, "enrollment_code")),
			json_string_value(json_object_get(out, "enrollment_code_expires_at")));
	json_t *pw = json_object_get(out, "password");
	if (json_is_string(pw))
		secure_wipe((char *)json_string_value(pw), json_string_length(pw));
	json_decref(out);
	return 0;
}

int cmd_records_get(int argc, char **argv)
{
	const char *purpose = NULL, *version = NULL;
	const struct cli_opt opts[] = {
		{"purpose", &purpose, NULL,
		 "why you need the record (logged; required only where a rule asks for one)"},
		{"version", &version, NULL, "an earlier version"},
		{NULL, NULL, NULL, NULL},
	};
	const char *pos[1];
	int npos;
	int64_t id = 0;
	if (cli_parse(argc, argv, opts, pos, 1, &npos) != 0 || npos != 1 ||
	    !str_to_i64(pos[0], &id) || id <= 0) {
		fprintf(stderr, "steward: records get needs a record ID\n");
		return 2;
	}
	char path[64];
	snprintf(path, sizeof(path), "/api/v1/records/%lld", (long long)id);
	return get_with_options(path, opts);
}

int cmd_records_create(int argc, char **argv)
{
	const char *subject = NULL, *category = NULL, *fields = NULL, *purpose = NULL;
	const struct cli_opt opts[] = {
		{"subject", &subject, NULL, "the subject's id"},
		{"category", &category, NULL, "the record's category"},
		{"fields", &fields, NULL, "the fields as a JSON object"},
		{"purpose", &purpose, NULL, "why (required where the rules ask; it is logged)"},
		{NULL, NULL, NULL, NULL},
	};
	const char *pos[1];
	int npos;
	int64_t sid = 0;
	if (cli_parse(argc, argv, opts, pos, 0, &npos) != 0 || !subject || !category || !fields ||
	    !str_to_i64(subject, &sid)) {
		fprintf(stderr, "steward: records create needs --subject ID --category C --fields JSON\n");
		return 2;
	}
	json_error_t je;
	json_t *f = json_loads(fields, 0, &je);
	if (!json_is_object(f)) {
		fprintf(stderr, "steward: --fields is not a JSON object (%s)\n", je.text);
		json_decref(f);
		return 2;
	}
	json_t *b = json_pack("{s:I, s:s, s:o, s:s*}", "subject", (json_int_t)sid, "category",
			      category, "fields", f, "purpose", purpose);
	char *t = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	int rc = request("POST", "/api/v1/records", t);
	secure_free_plain(t, strlen(t));
	return rc;
}

int cmd_audit_query(int argc, char **argv)
{
	const char *user = NULL, *subject = NULL, *record = NULL, *outcome = NULL, *from = NULL,
		   *to = NULL, *after = NULL, *limit = NULL;
	const struct cli_opt opts[] = {
		{"user", &user, NULL, "events of this user id"},
		{"subject", &subject, NULL, "events about this subject id"},
		{"record", &record, NULL, "events about this record id"},
		{"outcome", &outcome, NULL, "allow, deny or error"},
		{"from", &from, NULL, "start (date or UTC time)"},
		{"to", &to, NULL, "end (exclusive)"},
		{"after", &after, NULL, "continue after this sequence number"},
		{"limit", &limit, NULL, "at most this many (default 100)"},
		{NULL, NULL, NULL, NULL},
	};
	const char *pos[1];
	int npos;
	if (cli_parse(argc, argv, opts, pos, 0, &npos) != 0)
		return 2;
	return get_with_options("/api/v1/audit", opts);
}

/* The evidence package of a time window, from the server (decided and
 * logged as the signed-in person), into a file of one's own (0600). */
int cmd_audit_export_remote(int argc, char **argv)
{
	const char *from = NULL, *to = NULL, *user = NULL, *subject = NULL, *outpath = NULL;
	const struct cli_opt opts[] = {
		{"from", &from, NULL, "start of the window (date or UTC time, inclusive)"},
		{"to", &to, NULL, "end of the window (exclusive)"},
		{"user", &user, NULL, "only events of this user id"},
		{"subject", &subject, NULL, "only events about this subject id"},
		{"out", &outpath, NULL, "the package file to write"},
		{NULL, NULL, NULL, NULL},
	};
	const char *pos[1];
	int npos;
	if (cli_parse(argc, argv, opts, pos, 0, &npos) != 0)
		return 2;
	if (!from || !to || !outpath) {
		fprintf(stderr, "steward: audit export needs --from, --to and --out\n");
		return 2;
	}
	int64_t uid = 0, sid = 0;
	if ((user && (!str_to_i64(user, &uid) || uid <= 0)) ||
	    (subject && (!str_to_i64(subject, &sid) || sid <= 0))) {
		fprintf(stderr, "steward: --user and --subject take numeric ids\n");
		return 2;
	}
	json_t *b = json_pack("{s:s, s:s}", "from", from, "to", to);
	if (uid)
		json_object_set_new(b, "user", json_integer(uid));
	if (sid)
		json_object_set_new(b, "subject", json_integer(sid));
	char *body = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	struct st_error e = {0};
	long status = 0;
	json_t *pkg = NULL;
	int rc = fetch("POST", "/api/v1/audit/export", body, &status, &pkg, &e);
	free(body);
	if (rc != ST_OK)
		return cli_fail(&e);
	if (status != 200)
		return report(status, pkg);
	char *text = json_dumps(pkg, JSON_INDENT(1) | JSON_SORT_KEYS);
	rc = file_write_atomic(outpath, text, strlen(text), 0600, false, &e);
	free(text);
	if (rc == ST_OK)
		printf("wrote %s: %zu entries in the window, checkpoint of %lld entries\n", outpath,
		       json_array_size(json_object_get(pkg, "entries")),
		       (long long)json_integer_value(
			       json_object_get(json_object_get(pkg, "checkpoint"), "tree_size")));
	json_decref(pkg);
	return rc == ST_OK ? 0 : cli_fail(&e);
}

int cmd_policy_who_can(int argc, char **argv)
{
	const char *category = NULL, *action = NULL, *subject = NULL;
	const struct cli_opt opts[] = {
		{"category", &category, NULL, "a category, e.g. special_education"},
		{"action", &action, NULL, "read (default), create, update, delete, export, disclose"},
		{"subject", &subject, NULL, "one subject's id"},
		{NULL, NULL, NULL, NULL},
	};
	const char *pos[1];
	int npos;
	if (cli_parse(argc, argv, opts, pos, 0, &npos) != 0)
		return 2;
	return get_with_options("/api/v1/policy/who-can", opts);
}

int cmd_policy_explain(int argc, char **argv)
{
	const char *user = NULL, *record = NULL, *action = NULL, *purpose = NULL;
	const struct cli_opt opts[] = {
		{"user", &user, NULL, "the user id"},
		{"record", &record, NULL, "the record id"},
		{"action", &action, NULL, "read (default), create, update, delete, export, disclose"},
		{"purpose", &purpose, NULL, "a stated purpose"},
		{NULL, NULL, NULL, NULL},
	};
	const char *pos[1];
	int npos;
	if (cli_parse(argc, argv, opts, pos, 0, &npos) != 0 || !user || !record) {
		fprintf(stderr, "steward: policy explain needs --user ID --record ID\n");
		return 2;
	}
	return get_with_options("/api/v1/policy/explain", opts);
}

int cmd_api(int argc, char **argv)
{
	const char *data = NULL;
	const struct cli_opt opts[] = {
		{"data", &data, NULL, "a JSON body"},
		{NULL, NULL, NULL, NULL},
	};
	const char *pos[2];
	int npos;
	if (cli_parse(argc, argv, opts, pos, 2, &npos) != 0 || npos != 2 || pos[1][0] != '/') {
		fprintf(stderr, "steward: api needs METHOD /api/v1/PATH [--data JSON]\n");
		return 2;
	}
	return request(pos[0], pos[1], data);
}

int cli_request(const char *method, const char *path, const char *body)
{
	return request(method, path, body);
}

int cli_get(const char *path, const struct cli_opt *opts)
{
	return get_with_options(path, opts);
}
