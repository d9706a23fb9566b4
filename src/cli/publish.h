/*
 * publish.h - the access log's signed checkpoint sent outside the data
 * directory, to recipients a local administrator cannot rewrite: by mail
 * (SMTP) and by an HTTP POST. `steward serve` publishes at start and then
 * every interval (a day by default); `steward audit publish` at once.
 * A saved mail or a posted body is a witness: `steward audit verify
 * --witness FILE` proves the log a consistent extension of it.
 */
#ifndef STEWARD_PUBLISH_H
#define STEWARD_PUBLISH_H

#include "audit/audit.h"
#include "steward/steward.h"

#define PUBLISH_MAX_TO 16

struct publish_options {
	const char *smtp_url;      /* smtp://HOST[:PORT] or smtps://HOST[:PORT] */
	const char *from;          /* the sender's address */
	const char *to[PUBLISH_MAX_TO]; /* recipients' addresses */
	size_t nto;
	const char *smtp_user;     /* with smtp_password: SMTP AUTH, over TLS only */
	const char *smtp_password;
	const char *post_url;      /* https://... (http:// only to loopback) */
	int64_t interval_s;        /* serve: seconds between publications */
};

/* Whether anything is to be published (a mail or a post). */
bool publish_configured(const struct publish_options *o);
/* Checks the options at the boundary (URLs, addresses: no line breaks, one
 * address each, https except to loopback); names the bad option. */
int publish_validate(const struct publish_options *o, struct st_error *e);
/* Sends cp to every recipient configured: the mail, then the post. Names
 * the first that failed (the others are still tried). */
int publish_checkpoint(const struct publish_options *o, const struct audit_checkpoint *cp,
		       const char *log_id, struct st_error *e);

/* Fills o->to from a comma-separated list (split in *tocopy, malloc'd) and
 * o->smtp_password from a file (*password, malloc'd: wipe it). */
int cli_publish_options(struct publish_options *o, const char *to, const char *pwfile,
			char **tocopy, char **password, struct st_error *e);

/* The server's publisher: a thread that signs a checkpoint of everything
 * durable and publishes it at start and then every interval, logging each
 * publication (audit.publish) as the system. */
struct publisher;
int publisher_start(struct steward *st, const struct publish_options *o,
		    struct publisher **out, struct st_error *e);
/* Stops the thread (an unfinished send is given up to its timeout). */
void publisher_stop(struct publisher *p);

#endif
