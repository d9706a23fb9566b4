/*
 * publish.c - mailing and posting the access log's signed checkpoint (see
 * publish.h). The message is plain 7-bit text: a few lines saying what it
 * is and how to use it, then the witness JSON (audit_witness_text), so
 * that the mail saved as received is itself a witness file.
 *
 * Everything that goes into a mail header is checked at the boundary: an
 * address is one address, without spaces, angle brackets or line breaks,
 * so no option can add a header or a recipient. A password is sent only
 * over TLS; a post goes over https, or plain http to this machine only.
 */
#include <curl/curl.h>
#include <errno.h>
#include <semaphore.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/publish.h"
#include "core/context.h"

#define SEND_TIMEOUT_S 60

bool publish_configured(const struct publish_options *o)
{
	return o->smtp_url || o->post_url;
}

static bool address_valid(const char *a)
{
	const char *at = a ? strchr(a, '@') : NULL;
	if (!at || at == a || !at[1] || strlen(a) > 254 || strchr(at + 1, '@'))
		return false;
	for (const char *p = a; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= ' ' || c >= 0x7f || strchr("<>()[],;:\\\"", c))
			return false;
	}
	return true;
}

/* The URL's scheme and host, as libcurl parses it (each malloc'd). */
static int url_parts(const char *url, char **scheme, char **host)
{
	CURLU *u = curl_url();
	*scheme = *host = NULL;
	char *s = NULL, *h = NULL, *user = NULL;
	int rc = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
				 curl_url_get(u, CURLUPART_SCHEME, &s, 0) == CURLUE_OK &&
				 curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK
			 ? ST_OK
			 : ST_EINVAL;
	if (rc == ST_OK && curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK)
		rc = ST_EINVAL; /* no credentials in a URL (they would show in ps) */
	curl_free(user);
	if (rc == ST_OK) {
		*scheme = xstrdup(s);
		*host = xstrdup(h);
	}
	curl_free(s);
	curl_free(h);
	curl_url_cleanup(u);
	return rc;
}

int publish_validate(const struct publish_options *o, struct st_error *e)
{
	char *scheme = NULL, *host = NULL;
	int rc = ST_OK;
	if (o->smtp_url) {
		if (url_parts(o->smtp_url, &scheme, &host) != ST_OK ||
		    (!str_eq(scheme, "smtp") && !str_eq(scheme, "smtps")))
			rc = err_set(e, ST_EINVAL, "publish-smtp",
				     "--publish-smtp takes smtp://HOST[:PORT] or smtps://HOST[:PORT], "
				     "without a name or password");
		else if (!address_valid(o->from))
			rc = err_set(e, ST_EINVAL, "publish-from",
				     "--publish-from must be one mail address (name@domain)");
		else if (o->nto == 0)
			rc = err_set(e, ST_EINVAL, "publish-to", "--publish-smtp needs --publish-to");
		for (size_t i = 0; rc == ST_OK && i < o->nto; i++)
			if (!address_valid(o->to[i]))
				rc = err_set(e, ST_EINVAL, "publish-to",
					     "--publish-to takes mail addresses (name@domain), "
					     "comma-separated");
		if (rc == ST_OK && (o->smtp_user != NULL) != (o->smtp_password != NULL))
			rc = err_set(e, ST_EINVAL, "publish-smtp-user",
				     "give both --publish-smtp-user and --publish-smtp-password-file");
		free(scheme);
		free(host);
		scheme = host = NULL;
	} else if (o->from || o->nto || o->smtp_user) {
		rc = err_set(e, ST_EINVAL, "publish-smtp",
			     "--publish-from, --publish-to and --publish-smtp-user need --publish-smtp");
	}
	if (rc == ST_OK && o->post_url) {
		if (url_parts(o->post_url, &scheme, &host) != ST_OK ||
		    !(str_eq(scheme, "https") ||
		      (str_eq(scheme, "http") && cli_host_is_loopback(host))))
			rc = err_set(e, ST_EINVAL, "publish-post",
				     "--publish-post takes an https:// URL (plain http:// only to this "
				     "machine), without a name or password");
		free(scheme);
		free(host);
	}
	if (rc == ST_OK && o->interval_s < 0)
		rc = err_set(e, ST_EINVAL, "publish-interval", "--publish-interval is in seconds");
	return rc;
}

int cli_publish_options(struct publish_options *o, const char *to, const char *pwfile,
			char **tocopy, char **password, struct st_error *e)
{
	*tocopy = *password = NULL;
	o->nto = 0;
	if (to) {
		*tocopy = xstrdup(to);
		for (char *p = *tocopy; p && *p;) {
			char *comma = strchr(p, ',');
			if (comma)
				*comma = '\0';
			if (o->nto == PUBLISH_MAX_TO)
				return err_set(e, ST_EINVAL, "publish-to",
					       "--publish-to takes at most %d addresses", PUBLISH_MAX_TO);
			o->to[o->nto++] = p;
			p = comma ? comma + 1 : NULL;
		}
	}
	if (pwfile) {
		int rc = cli_read_secret(pwfile, NULL, false, password, e);
		if (rc != ST_OK)
			return rc;
		o->smtp_password = *password;
	}
	return ST_OK;
}

/* --- the message ---------------------------------------------------------- */

/* Appends text with every line ending made CRLF (mail's line ending). */
static void put_crlf(struct buf *b, const char *text)
{
	for (const char *p = text; *p; p++) {
		if (*p == '\n')
			buf_putc(b, '\r');
		buf_putc(b, *p);
	}
}

static char *mail_new(const struct publish_options *o, const struct audit_checkpoint *cp,
		      const char *log_id)
{
	struct buf b = BUF_INIT;
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	char date[64];
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	unsigned char id[12];
	random_bytes(id, sizeof(id));
	char *idhex = hex_encode(id, sizeof(id));
	char when[40];
	time_format_us(cp->time_us, when);
	char *root = hex_encode(cp->root, HASH_BYTES);
	buf_printf(&b, "Date: %s\nFrom: <%s>\nTo: ", date, o->from);
	for (size_t i = 0; i < o->nto; i++)
		buf_printf(&b, "%s<%s>", i ? ", " : "", o->to[i]);
	buf_printf(&b,
		   "\nSubject: Steward access-log checkpoint %s: %llu entries\n"
		   "Message-ID: <%s@steward.invalid>\nMIME-Version: 1.0\n"
		   "Content-Type: text/plain; charset=us-ascii\nContent-Transfer-Encoding: 7bit\n\n",
		   log_id, (unsigned long long)cp->tree_size, idhex);
	buf_printf(&b,
		   "The signed checkpoint of the district's access log %s, made %s:\n"
		   "%llu entries, root %s.\n\n"
		   "Keep this message where the district's system administrators cannot\n"
		   "change it: it is a witness. Whoever rewrites the log later cannot make it\n"
		   "match this checkpoint. To check the log against it, save this message\n"
		   "(or the JSON below) as FILE and run\n\n"
		   "    steward audit verify --data DIR --witness FILE\n\n",
		   log_id, when, (unsigned long long)cp->tree_size, root);
	char *json = audit_witness_text(cp, log_id);
	buf_puts(&b, json);
	free(json);
	free(root);
	free(idhex);
	char *text = buf_detach(&b, NULL);
	struct buf out = BUF_INIT;
	put_crlf(&out, text);
	free(text);
	return buf_detach(&out, NULL);
}

/* --- sending ------------------------------------------------------------- */

struct upload {
	const char *data;
	size_t len, at;
};

static size_t read_cb(char *dst, size_t size, size_t n, void *arg)
{
	struct upload *u = arg;
	size_t want = size * n, left = u->len - u->at;
	if (want > left)
		want = left;
	memcpy(dst, u->data + u->at, want);
	u->at += want;
	return want;
}

static size_t discard_cb(char *p, size_t size, size_t n, void *arg)
{
	(void)p, (void)arg;
	return size * n;
}

static int send_mail(const struct publish_options *o, const struct audit_checkpoint *cp,
		     const char *log_id, struct st_error *e)
{
	char *msg = mail_new(o, cp, log_id);
	struct upload u = {msg, strlen(msg), 0};
	CURL *c = curl_easy_init();
	if (!c)
		die("cannot start libcurl");
	struct curl_slist *rcpt = NULL;
	for (size_t i = 0; i < o->nto; i++) {
		char *r = xasprintf("<%s>", o->to[i]);
		rcpt = curl_slist_append(rcpt, r);
		free(r);
	}
	char *from = xasprintf("<%s>", o->from);
	char errbuf[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(c, CURLOPT_URL, o->smtp_url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(c, CURLOPT_READDATA, &u);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)SEND_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	if (o->smtp_user) {
		/* a password never crosses the network in clear */
		curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
		curl_easy_setopt(c, CURLOPT_USERNAME, o->smtp_user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, o->smtp_password);
	} else {
		curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
	}
	CURLcode cc = curl_easy_perform(c);
	int rc = cc == CURLE_OK ? ST_OK
				: err_set(e, ST_EUNAVAIL, "publish-smtp",
					  "the checkpoint could not be mailed through %s: %s",
					  o->smtp_url, errbuf[0] ? errbuf : curl_easy_strerror(cc));
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(c);
	free(from);
	free(msg);
	return rc;
}

static int send_post(const struct publish_options *o, const struct audit_checkpoint *cp,
		     const char *log_id, struct st_error *e)
{
	char *body = audit_witness_text(cp, log_id);
	CURL *c = curl_easy_init();
	if (!c)
		die("cannot start libcurl");
	struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
	char errbuf[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(c, CURLOPT_URL, o->post_url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_cb);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)SEND_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	const char *ca = getenv("STEWARD_CACERT");
	if (ca && *ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	CURLcode cc = curl_easy_perform(c);
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	int rc = ST_OK;
	if (cc != CURLE_OK)
		rc = err_set(e, ST_EUNAVAIL, "publish-post",
			     "the checkpoint could not be posted to %s: %s", o->post_url,
			     errbuf[0] ? errbuf : curl_easy_strerror(cc));
	else if (status < 200 || status > 299)
		rc = err_set(e, ST_EUNAVAIL, "publish-post",
			     "%s answered %ld to the posted checkpoint", o->post_url, status);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	free(body);
	return rc;
}

int publish_checkpoint(const struct publish_options *o, const struct audit_checkpoint *cp,
		       const char *log_id, struct st_error *e)
{
	int rc = ST_OK;
	if (o->smtp_url)
		rc = send_mail(o, cp, log_id, e);
	if (o->post_url) {
		int rc2 = send_post(o, cp, log_id, rc == ST_OK ? e : NULL);
		if (rc == ST_OK)
			rc = rc2;
	}
	return rc;
}

/* --- the server's publisher --------------------------------------------- */

struct publisher {
	struct steward *st;
	struct publish_options o;
	pthread_t thread;
	sem_t stop;
};

/* Signs a checkpoint of everything durable, publishes it and logs that. */
static void publish_now(struct publisher *p)
{
	struct audit_checkpoint cp;
	struct st_error e = {0};
	int rc = audit_checkpoint_now(p->st->audit, &cp, &e);
	char log_id[40];
	audit_log_id(p->st->sign_pk, log_id);
	if (rc == ST_OK)
		rc = publish_checkpoint(&p->o, &cp, log_id, &e);
	if (rc != ST_OK)
		fprintf(stderr, "steward: the access-log checkpoint was not published: %s\n",
			e.message);
	else
		fprintf(stderr, "steward: published the access-log checkpoint of %llu entries\n",
			(unsigned long long)cp.tree_size);
	json_t *detail = json_pack("{s:I, s:I, s:b}", "tree_size", (json_int_t)cp.tree_size,
				   "mail_recipients", (json_int_t)(p->o.smtp_url ? p->o.nto : 0),
				   "post", p->o.post_url != NULL);
	struct actor sys = {.user_id = 0, .via = "system"};
	struct audit_event ev = {.action = "audit.publish", .outcome = rc == ST_OK ? "allow" : "error",
				 .reason = rc == ST_OK ? NULL : e.message, .detail = detail};
	struct st_error le = {0};
	if (steward_audit(p->st, &sys, &ev, NULL, &le) != ST_OK)
		fprintf(stderr, "steward: the publication could not be logged: %s\n", le.message);
	json_decref(detail);
}

static void *publisher_main(void *arg)
{
	struct publisher *p = arg;
	for (;;) {
		publish_now(p);
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += p->o.interval_s > 0 ? p->o.interval_s : 86400;
		int r;
		while ((r = sem_timedwait(&p->stop, &ts)) != 0 && errno == EINTR)
			;
		if (r == 0)
			break;
	}
	return NULL;
}

int publisher_start(struct steward *st, const struct publish_options *o,
		    struct publisher **out, struct st_error *e)
{
	*out = NULL;
	if (!publish_configured(o))
		return ST_OK;
	int rc = publish_validate(o, e);
	if (rc != ST_OK)
		return rc;
	struct publisher *p = xcalloc(1, sizeof(*p));
	p->st = st;
	p->o = *o;
	sem_init(&p->stop, 0, 0);
	if (pthread_create(&p->thread, NULL, publisher_main, p) != 0)
		die("cannot start the checkpoint publisher");
	*out = p;
	return ST_OK;
}

void publisher_stop(struct publisher *p)
{
	if (!p)
		return;
	sem_post(&p->stop);
	pthread_join(p->thread, NULL);
	sem_destroy(&p->stop);
	free(p);
}
