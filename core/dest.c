/* dest.c - destination validation, classification and Ant-style matching. */
#include "config.h"
#include "dest.h"

#include <string.h>

/* Spring's defaults. */
#define DEFAULTS                                                                                 \
	{                                                                                        \
		.app = { "/app" }, .napp = 1, .broker = { "/topic", "/queue" },                  \
		.broker_kind = { DEST_TOPIC, DEST_QUEUE }, .nbroker = 2, .topic = 0, .queue = 1, \
		.user = "/user",                                                                 \
	}
static const dest_prefixes_t defaults = DEFAULTS;
/* The prefixes dest_classify() uses: written once at start, read after. */
static dest_prefixes_t in_use = DEFAULTS;

int dest_under(chat_slice_t d, const char *prefix, chat_slice_t *rest)
{
	size_t n = strlen(prefix);

	if (d.len <= n + 1 || memcmp(d.ptr, prefix, n) != 0 || d.ptr[n] != '/')
		return 0;
	if (rest != NULL)
		*rest = (chat_slice_t){ d.ptr + n, d.len - n };
	return 1;
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

void dest_prefixes_default(dest_prefixes_t *p)
{
	*p = defaults;
}

/* Whether prefix s (NUL-terminated) is already one of p's. */
static int known(const dest_prefixes_t *p, const char *s)
{
	size_t i;

	for (i = 0; i < p->napp; i++)
		if (!strcmp(p->app[i], s))
			return 1;
	for (i = 0; i < p->nbroker; i++)
		if (!strcmp(p->broker[i], s))
			return 1;
	return p->user[0] != '\0' && !strcmp(p->user, s);
}

/* Checks one prefix item (trimmed) and copies it into out. */
static int take_prefix(const dest_prefixes_t *p, const char *option, const char *item, size_t len,
		       char out[DEST_PREFIX_MAX + 1], chat_error_t *err)
{
	char copy[DEST_PREFIX_MAX + 1];

	if (len > 1 && item[len - 1] == '/')
		len--;
	if (len > DEST_PREFIX_MAX)
		return chat_error_set(err, CHAT_ETOOBIG, "%s: '%.*s' is longer than %d bytes",
				      option, (int)len, item, DEST_PREFIX_MAX);
	if (dest_validate((chat_slice_t){ item, len }, 0) != CHAT_OK)
		return chat_error_set(
			err, CHAT_EINVAL,
			"%s: '%.*s' is not a destination prefix (like /app: '/', then segments of printable ASCII without '*', '?' or spaces)",
			option, (int)len, item);
	memcpy(copy, item, len);
	copy[len] = '\0';
	if (known(p, copy))
		return chat_error_set(err, CHAT_EINVAL,
				      "%s: '%s' is given twice (each prefix has one role)", option,
				      copy);
	memcpy(out, copy, len + 1);
	return CHAT_OK;
}

/* Parses a comma-separated list into out[0..*n). */
static int take_list(dest_prefixes_t *p, const char *option, const char *text,
		     char out[][DEST_PREFIX_MAX + 1], size_t *n, chat_error_t *err)
{
	chat_slice_t item;
	int rc;

	*n = 0;
	while (chat_list_next(&text, &item)) {
		if (*n == DEST_PREFIXES_MAX)
			return chat_error_set(err, CHAT_ETOOBIG, "%s: more than %d prefixes",
					      option, DEST_PREFIXES_MAX);
		if ((rc = take_prefix(p, option, item.ptr, item.len, out[*n], err)) != CHAT_OK)
			return rc;
		(*n)++;
	}
	if (*n == 0)
		return chat_error_set(err, CHAT_EINVAL, "%s: needs at least one prefix", option);
	return CHAT_OK;
}

/* Whether a broker prefix's last segment is "queue". */
static int is_queue_prefix(const char *s)
{
	const char *last = strrchr(s, '/');

	return last != NULL && !strcmp(last + 1, "queue");
}

int dest_prefixes_parse(dest_prefixes_t *p, const char *app, const char *broker, const char *user,
			chat_error_t *err)
{
	chat_slice_t u = { "", 0 };
	size_t i;
	int rc;

	memset(p, 0, sizeof(*p));
	if ((rc = take_list(p, "app_prefixes", app, p->app, &p->napp, err)) != CHAT_OK ||
	    (rc = take_list(p, "broker_prefixes", broker, p->broker, &p->nbroker, err)) != CHAT_OK)
		return rc;
	if (!chat_list_next(&user, &u) || *user != '\0')
		return chat_error_set(err, CHAT_EINVAL,
				      "user_prefix: needs one prefix, like /user");
	if ((rc = take_prefix(p, "user_prefix", u.ptr, u.len, p->user, err)) != CHAT_OK)
		return rc;
	p->topic = p->queue = DEST_PREFIXES_MAX;
	for (i = 0; i < p->nbroker; i++) {
		p->broker_kind[i] = is_queue_prefix(p->broker[i]) ? DEST_QUEUE : DEST_TOPIC;
		if (p->broker_kind[i] == DEST_TOPIC && p->topic == DEST_PREFIXES_MAX)
			p->topic = i;
		if (p->broker_kind[i] == DEST_QUEUE && p->queue == DEST_PREFIXES_MAX)
			p->queue = i;
	}
	if (p->topic == DEST_PREFIXES_MAX)
		return chat_error_set(
			err, CHAT_EINVAL,
			"broker_prefixes: '%s' has no broadcast prefix (one whose last segment is not \"queue\", like /topic): the chat's rooms need one",
			broker);
	if (p->queue == DEST_PREFIXES_MAX)
		p->queue = p->topic;
	return CHAT_OK;
}

void dest_prefixes_use(const dest_prefixes_t *p)
{
	in_use = *p;
}

const dest_prefixes_t *dest_prefixes(void)
{
	return &in_use;
}

dest_kind_t dest_classify_in(const dest_prefixes_t *p, chat_slice_t d, chat_slice_t *rest)
{
	dest_kind_t kind = DEST_OTHER;
	chat_slice_t r, best = { NULL, 0 };
	size_t i;

	/* The longest prefix wins: its rest is the shortest. */
	for (i = 0; i < p->napp; i++)
		if (dest_under(d, p->app[i], &r) && (best.ptr == NULL || r.len < best.len)) {
			best = r;
			kind = DEST_APP;
		}
	for (i = 0; i < p->nbroker; i++)
		if (dest_under(d, p->broker[i], &r) && (best.ptr == NULL || r.len < best.len)) {
			best = r;
			kind = p->broker_kind[i];
		}
	if (dest_under(d, p->user, &r) && (best.ptr == NULL || r.len < best.len)) {
		best = r;
		kind = DEST_USER;
	}
	if (rest != NULL && kind != DEST_OTHER)
		*rest = best;
	return kind;
}

dest_kind_t dest_classify(chat_slice_t d)
{
	return dest_classify_in(dest_prefixes(), d, NULL);
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
		} else if (pi < pn && chat_glob(ps[pi].ptr, ps[pi].len, ds[di].ptr, ds[di].len,
						CHAT_GLOB_QMARK)) {
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
	const dest_prefixes_t *p = dest_prefixes();
	chat_slice_t tail;
	dest_kind_t k;
	const char *slash;

	if (dest_classify_in(p, d, &tail) != DEST_USER)
		return CHAT_EINVAL;
	k = dest_classify_in(p, tail, NULL);
	if (k == DEST_QUEUE || k == DEST_TOPIC) {
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
	k = dest_classify_in(p, *rest, NULL);
	if (user->len == 0 || (k != DEST_QUEUE && k != DEST_TOPIC))
		return CHAT_EINVAL;
	return CHAT_OK;
}
