/* dest.c - destination validation, classification and Ant-style matching. */
#include "config.h"
#include "dest.h"

#include <string.h>

static int starts_with_segment(chat_slice_t d, const char *seg)
{
	size_t n = strlen(seg);

	return d.len > n + 1 && memcmp(d.ptr, seg, n) == 0 && d.ptr[n] == '/';
}

int dest_validate(chat_slice_t d, int allow_wildcards)
{
	size_t i, seg_start = 1, segments = 0;

	if (d.len == 0 || d.ptr[0] != '/')
		return CHAT_EINVAL;
	if (d.len > DEST_MAX_LEN)
		return CHAT_ETOOBIG;
	for (i = 1; i <= d.len; i++) {
		unsigned char c = i < d.len ? (unsigned char)d.ptr[i] : '/';

		if (c == '/') {
			size_t n = i - seg_start;

			if (n == 0)
				return CHAT_EINVAL;
			if ((n == 1 && d.ptr[seg_start] == '.') ||
			    (n == 2 && d.ptr[seg_start] == '.' && d.ptr[seg_start + 1] == '.'))
				return CHAT_EINVAL;
			if (++segments > DEST_MAX_SEGMENTS)
				return CHAT_ETOOBIG;
			seg_start = i + 1;
			continue;
		}
		if (c <= ' ' || c >= 0x7f)
			return CHAT_EINVAL;
		if (!allow_wildcards && (c == '*' || c == '?'))
			return CHAT_EINVAL;
	}
	return CHAT_OK;
}

dest_kind_t dest_classify(chat_slice_t d)
{
	if (starts_with_segment(d, "/app"))
		return DEST_APP;
	if (starts_with_segment(d, "/topic"))
		return DEST_TOPIC;
	if (starts_with_segment(d, "/queue"))
		return DEST_QUEUE;
	if (starts_with_segment(d, "/user"))
		return DEST_USER;
	return DEST_OTHER;
}

/* Matches one segment against one pattern segment with '*' and '?'. */
static int match_segment(const char *p, size_t pn, const char *s, size_t sn)
{
	size_t pi = 0, si = 0, star_p = (size_t)-1, star_s = 0;

	while (si < sn) {
		if (pi < pn && (p[pi] == '?' || p[pi] == s[si])) {
			pi++;
			si++;
		} else if (pi < pn && p[pi] == '*') {
			star_p = pi++;
			star_s = si;
		} else if (star_p != (size_t)-1) {
			pi = star_p + 1;
			si = ++star_s;
		} else {
			return 0;
		}
	}
	while (pi < pn && p[pi] == '*')
		pi++;
	return pi == pn;
}

/* Splits a validated destination into segment slices (leading '/' skipped). */
static size_t split(chat_slice_t d, chat_slice_t *seg)
{
	size_t n = 0, i, start = 1;

	for (i = 1; i <= d.len && n < DEST_MAX_SEGMENTS; i++) {
		if (i == d.len || d.ptr[i] == '/') {
			seg[n].ptr = d.ptr + start;
			seg[n].len = i - start;
			n++;
			start = i + 1;
		}
	}
	return n;
}

static int is_globstar(chat_slice_t s)
{
	return s.len == 2 && s.ptr[0] == '*' && s.ptr[1] == '*';
}

int dest_match(chat_slice_t p, chat_slice_t d)
{
	chat_slice_t ps[DEST_MAX_SEGMENTS], ds[DEST_MAX_SEGMENTS];
	size_t pn, dn, pi = 0, di = 0, star_p = (size_t)-1, star_d = 0;

	if (dest_validate(p, 1) != CHAT_OK || dest_validate(d, 0) != CHAT_OK)
		return 0;
	pn = split(p, ps);
	dn = split(d, ds);
	/* The same backtracking walk as match_segment, one level up, with
	 * '**' standing for any run of whole segments. */
	while (di < dn) {
		if (pi < pn && is_globstar(ps[pi])) {
			star_p = pi++;
			star_d = di;
		} else if (pi < pn && match_segment(ps[pi].ptr, ps[pi].len, ds[di].ptr, ds[di].len)) {
			pi++;
			di++;
		} else if (star_p != (size_t)-1) {
			pi = star_p + 1;
			di = ++star_d;
		} else {
			return 0;
		}
	}
	while (pi < pn && is_globstar(ps[pi]))
		pi++;
	return pi == pn;
}

int dest_user_split(chat_slice_t d, chat_slice_t *user, chat_slice_t *rest)
{
	chat_slice_t tail;
	const char *slash;

	if (dest_classify(d) != DEST_USER)
		return CHAT_EINVAL;
	tail.ptr = d.ptr + 5; /* "/user" */
	tail.len = d.len - 5;
	if (dest_classify(tail) == DEST_QUEUE || dest_classify(tail) == DEST_TOPIC) {
		user->ptr = tail.ptr;
		user->len = 0;
		*rest = tail;
		return CHAT_OK;
	}
	slash = memchr(tail.ptr + 1, '/', tail.len - 1);
	if (slash == NULL)
		return CHAT_EINVAL;
	user->ptr = tail.ptr + 1;
	user->len = (size_t)(slash - user->ptr);
	rest->ptr = slash;
	rest->len = (size_t)(d.ptr + d.len - slash);
	if (user->len == 0 || (dest_classify(*rest) != DEST_QUEUE && dest_classify(*rest) != DEST_TOPIC))
		return CHAT_EINVAL;
	return CHAT_OK;
}
