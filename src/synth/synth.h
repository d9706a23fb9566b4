/*
 * synth.h - a deterministic synthetic school district: schools, students,
 * parents, staff of every role, classes and enrollments (teacher_of),
 * counselor and special-education caseloads, supervisors, vendors with
 * agreements, training and suspensions, and records in every category.
 * The same seed always gives the same district.
 *
 * The generator only describes the district, through a sink of callbacks;
 * synth_district() feeds it to the library calls the API uses (tests, demo
 * mode), and the benchmarks feed it straight to the decision structures.
 * Ids are assigned by the sink and returned from its callbacks.
 */
#ifndef STEWARD_SYNTH_H
#define STEWARD_SYNTH_H

#include "steward/access.h"

struct synth_user {
	const char *username, *display_name, *kind, *organization, *position;
	const char *roles[2];
	size_t nroles;
	int64_t agreement;   /* sink id of the agreement */
	int64_t trained_at;  /* 0: never */
	int64_t suspended_until; /* 0: not suspended */
};

struct synth_sink {
	void *ctx;
	int64_t (*organization)(void *ctx, const char *code, const char *name, const char *kind);
	int64_t (*agreement)(void *ctx, const char *vendor, const char *const *categories,
			     size_t ncat, const char *const *orgs, size_t norgs, int64_t start,
			     int64_t end);
	int64_t (*user)(void *ctx, const struct synth_user *u);
	int64_t (*subject)(void *ctx, const char *kind, const char *external_id, const char *given,
			   const char *family, const char *dob, const char *organization);
	int64_t (*relationship)(void *ctx, int64_t user, int64_t subject, const char *kind,
				const char *source);
	int64_t (*record)(void *ctx, int64_t subject, const char *category, json_t *fields);
	/* non-zero stops the generation (an error) */
	int (*failed)(void *ctx);
};

/* Students per school; staff = 6% of students. */
void synth_generate(const struct synth_options *o, const struct synth_sink *sink,
		    struct synth_report *r);

#endif
