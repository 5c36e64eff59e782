/*
 * util.c - SIDs, dates and URLs as Twilio writes them.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

void sim_new_sid(sim_sid out, const char *prefix)
{
	unsigned char r[16];

	/* Two upper-case letters + 32 lower-case hex digits (contract 1.3). */
	tp_random_bytes(r, sizeof r);
	out[0] = prefix[0];
	out[1] = prefix[1];
	tp_hex(r, sizeof r, out + 2);
}

void sim_uuid(char out[37])
{
	unsigned char r[16];
	char hex[33];
	size_t i, j = 0;

	/* RFC 9562 version 4. */
	tp_random_bytes(r, sizeof r);
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
	tp_hex(r, sizeof r, hex);
	for (i = 0; i < 32; i++) {
		if (i == 8 || i == 12 || i == 16 || i == 20)
			out[j++] = '-';
		out[j++] = hex[i];
	}
	out[j] = '\0';
}

void sim_time_rfc2822(time_t t, char out[40])
{
	struct tm tm;
	static const char *const day[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	tp_buf b;

	/* Fixed English names: strftime's %a/%b follow the locale. */
	gmtime_r(&t, &tm);
	tp_buf_init(&b, 39);
	tp_buf_addf(&b, "%s, %02d %s %04d %02d:%02d:%02d +0000", day[tm.tm_wday], tm.tm_mday,
	            mon[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	memcpy(out, tp_buf_str(&b), strlen(tp_buf_str(&b)) + 1);
	tp_buf_free(&b);
}

void sim_time_iso(time_t t, char out[32])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void sim_time_iso_ms(const struct timespec *ts, char out[40])
{
	struct tm tm;
	char s[32];
	tp_buf b;

	gmtime_r(&ts->tv_sec, &tm);
	strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm);
	tp_buf_init(&b, 39);
	tp_buf_addf(&b, "%s.%03ldZ", s, ts->tv_nsec / 1000000L);
	memcpy(out, tp_buf_str(&b), strlen(tp_buf_str(&b)) + 1);
	tp_buf_free(&b);
}

double sim_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void sim_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (ms > 0 && nanosleep(&ts, &ts) != 0)
		;
}

bool sim_is_http_url(const char *s)
{
	const char *h;

	if (tp_str_prefix(s, "http://"))
		h = s + 7;
	else if (tp_str_prefix(s, "https://"))
		h = s + 8;
	else
		return false;
	if (*h == '\0' || *h == '/' || *h == '?' || *h == ':')
		return false;
	for (; *h; h++)
		if ((unsigned char)*h <= ' ' || *h == '"' || *h == '<' || *h == '>' || *h == '\\')
			return false;
	return true;
}

char *sim_abs_url(const char *base, const char *url)
{
	tp_buf b;
	const char *host, *path;
	char *out = NULL;

	if (!url || !*url)
		return NULL;
	if (strstr(url, "://"))
		return sim_is_http_url(url) ? tp_xstrdup(url) : NULL;
	if (!base || !sim_is_http_url(base))
		return NULL;
	/* Relative URLs resolve against the base (RFC 3986 5.2, for the two
	 * forms Twilio documents: "/path" and "path"). */
	host = strstr(base, "://") + 3;
	path = host + strcspn(host, "/?#");
	tp_buf_init(&b, 8192);
	if (url[0] == '/') {
		tp_buf_add(&b, base, (size_t)(path - base));
	} else {
		const char *q = path + strcspn(path, "?#");
		const char *slash = q;
		while (slash > path && slash[-1] != '/')
			slash--;
		if (slash == path) {
			tp_buf_add(&b, base, (size_t)(path - base));
			tp_buf_addc(&b, '/');
		} else {
			tp_buf_add(&b, base, (size_t)(slash - base));
		}
	}
	tp_buf_adds(&b, url);
	if (b.ptr && sim_is_http_url(b.ptr))
		out = tp_buf_take(&b);
	tp_buf_free(&b);
	return out;
}

void sim_url_add_query(tp_buf *url, const tp_params *p)
{
	if (!p || p->n == 0)
		return;
	tp_buf_addc(url, strchr(tp_buf_str(url), '?') ? '&' : '?');
	tp_form_encode(url, p);
}

void sim_free_secret(char *s)
{
	if (!s)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

bool sim_parse_long(const char *s, long max, long *out)
{
	uint64_t v;

	if (!s || tp_str_to_u64(s, strlen(s), (uint64_t)max, &v) != TP_OK)
		return false;
	*out = (long)v;
	return true;
}
