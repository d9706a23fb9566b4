/*
 * time.c - UTC time: the clock, formatting and strict parsing of ISO 8601
 * dates and times. Steward never uses the local time zone.
 */
#include <sys/time.h>

#include "common/base.h"

static int64_t fake_now;

void time_set_fake(int64_t sec)
{
	fake_now = sec;
}

int64_t time_now(void)
{
	if (fake_now)
		return fake_now;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

int64_t time_now_us(void)
{
	if (fake_now)
		return fake_now * 1000000;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void time_format(int64_t sec, char out[32])
{
	struct tm tm;
	time_t t = (time_t)sec;
	if (!gmtime_r(&t, &tm)) {
		str_copy(out, 32, "invalid-time");
		return;
	}
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void time_format_us(int64_t us, char out[40])
{
	int64_t sec = us / 1000000, frac = us % 1000000;
	if (frac < 0)
		frac += 1000000, sec--;
	struct tm tm;
	time_t t = (time_t)sec;
	if (!gmtime_r(&t, &tm)) {
		str_copy(out, 40, "invalid-time");
		return;
	}
	char base[32];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, 40, "%s.%06lldZ", base, (long long)frac);
}

void time_format_date(int64_t sec, char out[16])
{
	struct tm tm;
	time_t t = (time_t)sec;
	if (!gmtime_r(&t, &tm)) {
		str_copy(out, 16, "invalid-date");
		return;
	}
	strftime(out, 16, "%Y-%m-%d", &tm);
}

static int digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int time_parse(const char *s, int64_t *sec)
{
	int y, mo, d, h = 0, mi = 0, se = 0;
	size_t len = strlen(s);
	if (len < 10 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) ||
	    s[7] != '-' || digits(s + 8, 2, &d))
		return ST_EINVAL;
	const char *p = s + 10;
	if (*p == 'T' || *p == ' ') {
		if (strlen(p) < 9 || digits(p + 1, 2, &h) || p[3] != ':' ||
		    digits(p + 4, 2, &mi) || p[6] != ':' || digits(p + 7, 2, &se))
			return ST_EINVAL;
		p += 9;
		if (*p == '.') {
			p++;
			if (*p < '0' || *p > '9')
				return ST_EINVAL;
			while (*p >= '0' && *p <= '9')
				p++;
		}
		if (*p != 'Z' || p[1] != '\0')
			return ST_EINVAL;
	} else if (*p != '\0') {
		return ST_EINVAL;
	}
	if (y < 1900 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || se > 60)
		return ST_EINVAL;
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap))
		return ST_EINVAL;
	struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
			.tm_hour = h, .tm_min = mi, .tm_sec = se};
	int64_t t = (int64_t)timegm(&tm);
	/* a leap second at the very end (9999-12-31T23:59:60Z) would be a
	 * time of the year 10000, which time_format cannot write back */
	if (t > TIME_MAX_SEC)
		return ST_EINVAL;
	*sec = t;
	return ST_OK;
}
