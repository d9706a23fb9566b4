/*
 * cmd_policy.c - `steward policy check FILE`: validates a rule document
 * against a data inventory (the shipped default, or --inventory FILE) and
 * reports rules that can never apply or that conflict. Runs anywhere: it
 * needs no data directory. Also `steward demo`: fills a data directory with
 * the deterministic synthetic district.
 */
#include "cli/cli.h"
#include "core/context.h"
#include "core/defaults.h"
#include "policy/policy.h"
#include "steward/access.h"

int cmd_policy_check(int argc, char **argv)
{
	const char *invfile = NULL;
	const struct cli_opt opts[] = {
		{"inventory", &invfile, NULL, "check against this inventory (default: the shipped one)"},
		{NULL, NULL, NULL, NULL},
	};
	const char *pos[1];
	int npos;
	if (cli_parse(argc, argv, opts, pos, 1, &npos) != 0)
		return 2;
	if (npos != 1) {
		fprintf(stderr, "steward: policy check needs the rule FILE\n");
		return 2;
	}
	struct st_error e = {0};
	char *inv_text = NULL, *text = NULL;
	size_t len = 0;
	struct inventory *inv = NULL;
	if (invfile && file_read_all(invfile, 4 << 20, &inv_text, &len, &e) != ST_OK)
		return cli_fail(&e);
	int rc = inventory_parse(inv_text ? inv_text : (const char *)default_inventory,
				 inv_text ? len : default_inventory_len, &inv, &e);
	free(inv_text);
	if (rc != ST_OK) {
		fprintf(stderr, "steward: the inventory is not valid\n");
		return cli_fail(&e);
	}
	if (file_read_all(pos[0], 4 << 20, &text, &len, &e) != ST_OK) {
		inventory_unref(inv);
		return cli_fail(&e);
	}
	struct policy *p = NULL;
	rc = policy_parse(text, len, inv, &p, &e);
	free(text);
	inventory_unref(inv);
	if (rc != ST_OK) {
		fprintf(stderr, "%s: not valid: %s%s%s%s\n", pos[0], e.message,
			e.field[0] ? " (at " : "", e.field, e.field[0] ? ")" : "");
		return 2;
	}
	json_t *problems = policy_lint(p);
	printf("%s: %d roles, %d rules: valid\n", pos[0], p->nroles, p->nrules);
	size_t i;
	json_t *pr;
	json_array_foreach(problems, i, pr)
		printf("  rule %s: %s\n", json_string_value(json_object_get(pr, "rule")),
		       json_string_value(json_object_get(pr, "problem")));
	int status = json_array_size(problems) ? 1 : 0;
	if (status)
		printf("%zu problem(s) found\n", json_array_size(problems));
	json_decref(problems);
	policy_unref(p);
	return status;
}

int cmd_demo(int argc, char **argv)
{
	const char *data = NULL, *students = "400", *schools = "4", *seed = "1", *ppfile = NULL;
	const struct cli_opt opts[] = {
		{"data", &data, NULL, "an initialized data directory (or $STEWARD_DATA)"},
		{"students", &students, NULL, "number of students (default 400)"},
		{"schools", &schools, NULL, "number of schools (default 4)"},
		{"seed", &seed, NULL, "the district's seed (default 1)"},
		{"passphrase-file", &ppfile, NULL, "the master key passphrase (passphrase keys)"},
		{NULL, NULL, NULL, NULL},
	};
	const char *pos[1];
	int npos;
	if (cli_parse(argc, argv, opts, pos, 0, &npos) != 0)
		return 2;
	data = cli_data_dir(data);
	int64_t n = 0, s = 0, sd = 0;
	if (!data || !str_to_i64(students, &n) || !str_to_i64(schools, &s) ||
	    !str_to_i64(seed, &sd) || n < 1 || n > 1000000 || s < 1 || s > 200) {
		fprintf(stderr, "steward: demo needs --data DIR, 1-1000000 students, 1-200 schools\n");
		return 2;
	}
	struct st_error e = {0};
	char *passphrase = NULL;
	if (cli_passphrase(ppfile, &passphrase, &e) != ST_OK)
		return cli_fail(&e);
	struct steward_options o = {.dir = data, .passphrase = passphrase,
				    .check_permissions = true, .exclusive = true};
	struct steward *st = NULL;
	int rc = steward_open(&o, &st, &e);
	free(passphrase);
	if (rc != ST_OK)
		return cli_fail(&e);
	struct actor sys = {.user_id = 0, .via = "cli"};
	struct synth_options so = {.seed = (uint64_t)sd, .schools = (int)s, .students = (int)n,
				   .records = true};
	struct synth_report r;
	rc = synth_district(st, &sys, &so, &r, &e);
	steward_close(st);
	if (rc != ST_OK)
		return cli_fail(&e);
	printf("synthetic district: %lld schools, %lld users, %lld subjects, %lld relationships, "
	       "%lld records, %lld agreements\n",
	       (long long)r.organizations, (long long)r.users, (long long)r.subjects,
	       (long long)r.relationships, (long long)r.records, (long long)r.agreements);
	return 0;
}
