/*
 * bench_http_setup.c - prepares a data directory for the HTTP benchmark: a
 * teacher with current training who teaches one student, a 1 KB academic
 * record, and a signed-in session. Prints "TOKEN RECORD_ID".
 *
 * usage: bench_http_setup DATA_DIR
 */
#include "steward/access.h"
#include "steward/auth.h"
#include "steward/records.h"
#include "common/base.h"

int main(int argc, char **argv)
{
	if (argc != 2)
		die("usage: bench_http_setup DATA_DIR");
	struct st_error e = {0};
	struct steward_init_options io = {.dir = argv[1], .admin_username = "admin",
					  .admin_password = "bench harbor quartz 51"};
	if (steward_init(&io, &e) != ST_OK)
		die("init: %s", e.message);
	struct steward_options o = {.dir = argv[1]};
	struct steward *st = NULL;
	if (steward_open(&o, &st, &e) != ST_OK)
		die("open: %s", e.message);
	struct actor sys = {.user_id = 0, .via = "cli"};
	int64_t org = 0, user = 0, t = 0, subject = 0, rel = 0, record = 0;
	static const char *const roles[] = {"teacher"};
	struct user_input u = {.username = "teacher", .display_name = "Bench Teacher",
			       .organization = "school", .roles = roles, .nroles = 1,
			       .password = "bench harbor quartz 51"};
	struct subject_input s = {.kind = "student", .external_id = "B1", .given_name = "Bea",
				  .family_name = "Bench", .organization = "school"};
	if (organization_create(st, &sys, "school", "Bench School", "school", &org, &e) ||
	    user_create(st, &sys, &u, &user, &e) ||
	    training_record(st, &sys, user, "student-records-confidentiality", time_now() - 86400, &t,
			    &e) ||
	    subject_create(st, &sys, &s, &subject, &e))
		die("setup: %s", e.message);
	struct relationship_input ri = {.user = user, .subject = subject, .kind = "teacher_of"};
	if (relationship_create(st, &sys, &ri, &rel, &e))
		die("relationship: %s", e.message);
	char comments[1001];
	memset(comments, 'x', 1000);
	comments[1000] = '\0';
	json_t *f = json_pack("{s:s, s:s, s:s}", "course", "Algebra I", "grade", "A", "comments",
			      comments);
	struct record_input ri2 = {.subject_id = subject, .category = "academic", .fields = f};
	if (record_create(st, &sys, &ri2, &record, &e))
		die("record: %s", e.message);
	json_decref(f);
	struct signin in;
	if (auth_sign_in(st, "teacher", "bench harbor quartz 51", NULL, "127.0.0.1", "bench", &in, &e))
		die("sign in: %s", e.message);
	printf("%s %lld\n", in.token, (long long)record);
	steward_close(st);
	return 0;
}
