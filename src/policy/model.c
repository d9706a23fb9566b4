/*
 * model.c - the live facts a decision reads, held in memory in compact,
 * indexed form: users (kind, status, roles, school, agreement, training,
 * suspensions), subjects' schools, stored relationships in an open-
 * addressing hash keyed by (user, subject), organization-wide grants, and
 * contractor agreements. Every lookup a decision makes is O(1): the cost
 * stays flat as the district grows.
 *
 * The model is a cache of the database that is never stale: every change
 * is written to the database and applied here in the same call, under the
 * write lock, so the very next decision sees it.
 */
#include "policy/model_internal.h"

#define NIL UINT32_MAX
#define OPEN_END UINT32_MAX

struct susp {
	int64_t id, from, until; /* until INT64_MAX: no end date */
	bool permanent;          /* else an open end is "until further notice" */
};

struct muser {
	bool exists;
	uint8_t kind, status;
	uint32_t roles, org, agreement;
	int64_t training_expires; /* 0: never trained */
	struct susp *susp;
	uint32_t nsusp;
	uint32_t org_grants; /* head of this user's organization-wide grants */
};

/* One stored relationship; times are seconds since the epoch in 32 bits
 * (to 2106), OPEN_END for none. */
struct rel {
	uint32_t next;
	uint32_t id;
	uint32_t start, end;
	uint32_t extra; /* grants: index into grant_cats; org grants: the org */
	uint8_t kind;
};

struct agreement {
	bool exists;
	uint64_t categories;
	uint32_t *orgs;
	size_t norgs;
	int64_t start, end;
	char vendor[96];
};

struct model {
	pthread_rwlock_t lock;
	struct muser *users;
	uint32_t nusers; /* capacity: ids < nusers */
	uint32_t *subject_org;
	uint64_t nsubjects;
	/* (user << 32 | subject) -> head of a chain of rels */
	uint64_t *keys;
	uint32_t *heads;
	uint64_t cap, used;
	struct rel *pool;
	uint32_t npool, poolcap, freelist;
	struct grant {
		uint64_t categories;
		uint32_t org; /* organization-wide grants */
	} *grants;
	uint32_t ngrants, grantcap;
	struct agreement *agreements;
	uint32_t nagreements;
};

#define EMPTY_KEY UINT64_MAX

static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

struct model *model_new(void)
{
	struct model *m = xcalloc(1, sizeof(*m));
	pthread_rwlock_init(&m->lock, NULL);
	m->freelist = NIL;
	return m;
}

void model_free(struct model *m)
{
	if (!m)
		return;
	for (uint32_t i = 0; i < m->nusers; i++)
		free(m->users[i].susp);
	for (uint32_t i = 0; i < m->nagreements; i++)
		free(m->agreements[i].orgs);
	free(m->users);
	free(m->subject_org);
	free(m->keys);
	free(m->heads);
	free(m->pool);
	free(m->grants);
	free(m->agreements);
	pthread_rwlock_destroy(&m->lock);
	free(m);
}

void model_rdlock(struct model *m)
{
	pthread_rwlock_rdlock(&m->lock);
}
void model_wrlock(struct model *m)
{
	pthread_rwlock_wrlock(&m->lock);
}
void model_unlock(struct model *m)
{
	pthread_rwlock_unlock(&m->lock);
}

size_t model_memory(const struct model *m)
{
	size_t n = sizeof(*m) + (size_t)m->nusers * sizeof(struct muser) +
		   m->nsubjects * sizeof(uint32_t) + m->cap * (sizeof(uint64_t) + sizeof(uint32_t)) +
		   (size_t)m->poolcap * sizeof(struct rel) + (size_t)m->grantcap * sizeof(struct grant) +
		   (size_t)m->nagreements * sizeof(struct agreement);
	for (uint32_t i = 0; i < m->nusers; i++)
		n += m->users[i].nsusp * sizeof(struct susp);
	return n;
}

static void grow_users(struct model *m, uint32_t id)
{
	if (id < m->nusers)
		return;
	uint32_t n = m->nusers ? m->nusers : 64;
	while (n <= id)
		n *= 2;
	m->users = xrealloc(m->users, n * sizeof(struct muser));
	memset(m->users + m->nusers, 0, (n - m->nusers) * sizeof(struct muser));
	for (uint32_t i = m->nusers; i < n; i++)
		m->users[i].org_grants = NIL;
	m->nusers = n;
}

static void grow_subjects(struct model *m, uint64_t id)
{
	if (id < m->nsubjects)
		return;
	uint64_t n = m->nsubjects ? m->nsubjects : 1024;
	while (n <= id)
		n *= 2;
	m->subject_org = xrealloc(m->subject_org, n * sizeof(uint32_t));
	memset(m->subject_org + m->nsubjects, 0, (n - m->nsubjects) * sizeof(uint32_t));
	m->nsubjects = n;
}

static void rehash(struct model *m, uint64_t cap)
{
	uint64_t *keys = xmalloc(cap * sizeof(uint64_t));
	uint32_t *heads = xmalloc(cap * sizeof(uint32_t));
	for (uint64_t i = 0; i < cap; i++)
		keys[i] = EMPTY_KEY;
	for (uint64_t i = 0; i < m->cap; i++) {
		if (m->keys[i] == EMPTY_KEY || m->heads[i] == NIL)
			continue;
		uint64_t h = mix(m->keys[i]) & (cap - 1);
		while (keys[h] != EMPTY_KEY)
			h = (h + 1) & (cap - 1);
		keys[h] = m->keys[i];
		heads[h] = m->heads[i];
	}
	free(m->keys);
	free(m->heads);
	m->keys = keys;
	m->heads = heads;
	m->cap = cap;
}

void model_reserve(struct model *m, size_t users, size_t subjects, size_t rels)
{
	if (users)
		grow_users(m, (uint32_t)users);
	if (subjects)
		grow_subjects(m, subjects);
	uint64_t cap = 1024;
	while (cap * 4 < rels * 5)
		cap *= 2;
	if (cap > m->cap)
		rehash(m, cap);
	if (rels > m->poolcap) {
		m->pool = xrealloc(m->pool, rels * sizeof(struct rel));
		m->poolcap = (uint32_t)rels;
	}
}

/* The slot of a key, or of the empty slot where it would go. */
static uint64_t slot_of(const struct model *m, uint64_t key)
{
	uint64_t h = mix(key) & (m->cap - 1);
	while (m->keys[h] != EMPTY_KEY && m->keys[h] != key)
		h = (h + 1) & (m->cap - 1);
	return h;
}

static uint32_t rel_alloc(struct model *m)
{
	if (m->freelist != NIL) {
		uint32_t i = m->freelist;
		m->freelist = m->pool[i].next;
		return i;
	}
	if (m->npool == m->poolcap) {
		m->poolcap = m->poolcap ? m->poolcap * 2 : 1024;
		m->pool = xrealloc(m->pool, m->poolcap * sizeof(struct rel));
	}
	return m->npool++;
}

static uint32_t t32(int64_t t)
{
	if (t <= 0)
		return 0;
	if (t >= (int64_t)OPEN_END)
		return OPEN_END - 1;
	return (uint32_t)t;
}

void model_rel_add_unlocked(struct model *m, int64_t id, uint32_t user, uint64_t subject,
			    uint32_t org, enum relkind kind, uint64_t categories, int64_t start,
			    int64_t end)
{
	ST_ASSERT(id > 0 && id < (int64_t)UINT32_MAX && subject < UINT32_MAX);
	uint32_t r = rel_alloc(m);
	struct rel *e = &m->pool[r];
	e->id = (uint32_t)id;
	e->kind = (uint8_t)kind;
	e->start = t32(start);
	e->end = end ? t32(end) : OPEN_END;
	e->extra = 0;
	if (kind == REL_GRANT) {
		if (m->ngrants == m->grantcap) {
			m->grantcap = m->grantcap ? m->grantcap * 2 : 64;
			m->grants = xrealloc(m->grants, m->grantcap * sizeof(struct grant));
		}
		m->grants[m->ngrants] = (struct grant){categories, subject ? 0 : org};
		e->extra = m->ngrants++;
	}
	if (!subject) {
		/* an organization-wide grant: kept on the user */
		grow_users(m, user);
		e->next = m->users[user].org_grants;
		m->users[user].org_grants = r;
		return;
	}
	if ((m->used + 1) * 5 > m->cap * 4)
		rehash(m, m->cap ? m->cap * 2 : 1024);
	uint64_t key = (uint64_t)user << 32 | subject;
	uint64_t h = slot_of(m, key);
	if (m->keys[h] == EMPTY_KEY) {
		m->keys[h] = key;
		m->heads[h] = NIL;
		m->used++;
	}
	e->next = m->heads[h];
	m->heads[h] = r;
}

void model_rel_add(struct model *m, int64_t id, uint32_t user, uint64_t subject, uint32_t org,
		   enum relkind kind, uint64_t categories, int64_t start, int64_t end)
{
	model_wrlock(m);
	model_rel_add_unlocked(m, id, user, subject, org, kind, categories, start, end);
	model_unlock(m);
}

void model_rel_remove(struct model *m, int64_t id, uint32_t user, uint64_t subject, uint32_t org)
{
	(void)org;
	model_wrlock(m);
	uint32_t *link = NULL;
	if (!subject) {
		if (user < m->nusers)
			link = &m->users[user].org_grants;
	} else if (m->cap) {
		uint64_t h = slot_of(m, (uint64_t)user << 32 | subject);
		if (m->keys[h] != EMPTY_KEY)
			link = &m->heads[h];
	}
	while (link && *link != NIL) {
		struct rel *e = &m->pool[*link];
		if (e->id == (uint32_t)id) {
			uint32_t dead = *link;
			*link = e->next;
			m->pool[dead].next = m->freelist;
			m->freelist = dead;
			break;
		}
		link = &e->next;
	}
	model_unlock(m);
}

void model_user_set(struct model *m, uint32_t id, enum user_kind kind, enum user_status status,
		    uint32_t roles, uint32_t org, uint32_t agreement)
{
	model_wrlock(m);
	grow_users(m, id);
	struct muser *u = &m->users[id];
	u->exists = true;
	u->kind = (uint8_t)kind;
	u->status = (uint8_t)status;
	u->roles = roles;
	u->org = org;
	u->agreement = agreement;
	model_unlock(m);
}

void model_user_roles(struct model *m, uint32_t id, uint32_t roles)
{
	model_wrlock(m);
	if (id < m->nusers)
		m->users[id].roles = roles;
	model_unlock(m);
}

void model_user_status(struct model *m, uint32_t id, enum user_status status)
{
	model_wrlock(m);
	if (id < m->nusers)
		m->users[id].status = (uint8_t)status;
	model_unlock(m);
}

void model_subject_set(struct model *m, uint64_t id, uint32_t org)
{
	model_wrlock(m);
	grow_subjects(m, id);
	m->subject_org[id] = org;
	model_unlock(m);
}

void model_suspension_add(struct model *m, uint32_t user, int64_t id, int64_t from,
			  int64_t until, const char *kind)
{
	model_wrlock(m);
	grow_users(m, user);
	struct muser *u = &m->users[user];
	u->susp = xrealloc(u->susp, (u->nsusp + 1) * sizeof(struct susp));
	u->susp[u->nsusp++] = (struct susp){id, from, until ? until : INT64_MAX,
					    str_eq(kind, "permanent")};
	model_unlock(m);
}

void model_suspension_lift(struct model *m, uint32_t user, int64_t id)
{
	model_wrlock(m);
	if (user < m->nusers) {
		struct muser *u = &m->users[user];
		for (uint32_t i = 0; i < u->nsusp; i++)
			if (u->susp[i].id == id) {
				u->susp[i] = u->susp[--u->nsusp];
				break;
			}
	}
	model_unlock(m);
}

void model_training_set(struct model *m, uint32_t user, int64_t expires)
{
	model_wrlock(m);
	grow_users(m, user);
	if (expires > m->users[user].training_expires)
		m->users[user].training_expires = expires;
	model_unlock(m);
}

void model_agreement_set(struct model *m, uint32_t id, uint64_t categories,
			 const uint32_t *orgs, size_t norgs, int64_t start, int64_t end,
			 const char *vendor)
{
	model_wrlock(m);
	if (id >= m->nagreements) {
		uint32_t n = m->nagreements ? m->nagreements : 16;
		while (n <= id)
			n *= 2;
		m->agreements = xrealloc(m->agreements, n * sizeof(struct agreement));
		memset(m->agreements + m->nagreements, 0,
		       (n - m->nagreements) * sizeof(struct agreement));
		m->nagreements = n;
	}
	struct agreement *a = &m->agreements[id];
	free(a->orgs);
	a->exists = true;
	a->categories = categories;
	a->orgs = norgs ? xmalloc(norgs * sizeof(uint32_t)) : NULL;
	if (norgs)
		memcpy(a->orgs, orgs, norgs * sizeof(uint32_t));
	a->norgs = norgs;
	a->start = start;
	a->end = end;
	str_copy(a->vendor, sizeof(a->vendor), vendor ? vendor : "");
	model_unlock(m);
}

/* --- read access for decide.c and review.c ------------------------------ */

const struct muser *model_user(const struct model *m, uint32_t id)
{
	if (id >= m->nusers || !m->users[id].exists)
		return NULL;
	return &m->users[id];
}

uint32_t model_subject_org(const struct model *m, uint64_t subject)
{
	return subject < m->nsubjects ? m->subject_org[subject] : 0;
}

uint32_t model_rel_head(const struct model *m, uint32_t user, uint64_t subject)
{
	if (!m->cap)
		return NIL;
	uint64_t h = slot_of(m, (uint64_t)user << 32 | subject);
	return m->keys[h] == EMPTY_KEY ? NIL : m->heads[h];
}

const struct rel_view *model_rel_get(const struct model *m, uint32_t idx, struct rel_view *out)
{
	const struct rel *e = &m->pool[idx];
	out->next = e->next;
	out->id = e->id;
	out->kind = (enum relkind)e->kind;
	out->start = e->start;
	out->end = e->end == OPEN_END ? INT64_MAX : (int64_t)e->end;
	out->categories = e->kind == REL_GRANT ? m->grants[e->extra].categories : 0;
	return out;
}

uint32_t model_org_grant_head(const struct model *m, uint32_t user)
{
	return user < m->nusers ? m->users[user].org_grants : NIL;
}

uint32_t model_org_grant_org(const struct model *m, uint32_t idx)
{
	return m->grants[m->pool[idx].extra].org;
}

bool model_suspended(const struct muser *u, int64_t now, int64_t *until, int64_t *id)
{
	for (uint32_t i = 0; i < u->nsusp; i++)
		if (u->susp[i].from <= now && now < u->susp[i].until) {
			*until = u->susp[i].until;
			*id = u->susp[i].id;
			return true;
		}
	return false;
}

bool model_suspension_permanent(const struct muser *u, int64_t id)
{
	for (uint32_t i = 0; i < u->nsusp; i++)
		if (u->susp[i].id == id)
			return u->susp[i].permanent;
	return false;
}

const struct agreement_view *model_agreement(const struct model *m, uint32_t id,
					     struct agreement_view *out)
{
	if (id == 0 || id >= m->nagreements || !m->agreements[id].exists)
		return NULL;
	const struct agreement *a = &m->agreements[id];
	out->categories = a->categories;
	out->orgs = a->orgs;
	out->norgs = a->norgs;
	out->start = a->start;
	out->end = a->end;
	out->vendor = a->vendor;
	return out;
}

bool model_user_view(const struct model *m, uint32_t id, struct model_user_view *out)
{
	const struct muser *u = model_user(m, id);
	memset(out, 0, sizeof(*out));
	if (!u)
		return false;
	out->exists = true;
	out->kind = (enum user_kind)u->kind;
	out->status = (enum user_status)u->status;
	out->roles = u->roles;
	out->org = u->org;
	out->agreement = u->agreement;
	return true;
}

uint32_t model_user_count(const struct model *m)
{
	return m->nusers;
}

uint64_t model_subject_count(const struct model *m)
{
	return m->nsubjects;
}

void model_user_relationships(const struct model *m, uint32_t user,
			      void (*fn)(void *ctx, uint64_t subject, uint32_t org,
					 enum relkind kind, uint64_t categories, int64_t start,
					 int64_t end, int64_t id),
			      void *ctx)
{
	struct rel_view v;
	for (uint64_t i = 0; i < m->cap; i++) {
		if (m->keys[i] == EMPTY_KEY || (uint32_t)(m->keys[i] >> 32) != user)
			continue;
		for (uint32_t r = m->heads[i]; r != NIL; r = v.next) {
			model_rel_get(m, r, &v);
			fn(ctx, m->keys[i] & 0xffffffffu, 0, v.kind, v.categories, v.start, v.end,
			   v.id);
		}
	}
	for (uint32_t r = model_org_grant_head(m, user); r != NIL; r = v.next) {
		model_rel_get(m, r, &v);
		fn(ctx, 0, model_org_grant_org(m, r), REL_GRANT, v.categories, v.start, v.end, v.id);
	}
}

void model_user_fields(const struct muser *u, struct muser_fields *out)
{
	out->kind = u->kind;
	out->status = u->status;
	out->roles = u->roles;
	out->org = u->org;
	out->agreement = u->agreement;
	out->training_expires = u->training_expires;
}

void model_replace(struct model *dst, struct model *src)
{
	model_wrlock(dst);
	struct model tmp = *dst;
	pthread_rwlock_t lock = dst->lock;
	*dst = *src;
	dst->lock = lock;
	src->users = tmp.users;
	src->nusers = tmp.nusers;
	src->subject_org = tmp.subject_org;
	src->nsubjects = tmp.nsubjects;
	src->keys = tmp.keys;
	src->heads = tmp.heads;
	src->cap = tmp.cap;
	src->used = tmp.used;
	src->pool = tmp.pool;
	src->npool = tmp.npool;
	src->poolcap = tmp.poolcap;
	src->freelist = tmp.freelist;
	src->grants = tmp.grants;
	src->ngrants = tmp.ngrants;
	src->grantcap = tmp.grantcap;
	src->agreements = tmp.agreements;
	src->nagreements = tmp.nagreements;
	model_unlock(dst);
	model_free(src);
}
