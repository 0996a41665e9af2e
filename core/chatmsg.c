/* chatmsg.c - chat posts: a strict small JSON object reader, room id and
 * user name checks, and the stamped message's JSON (see chatmsg.h). */
#include "config.h"
#include "chatmsg.h"

#include "json.h"
#include "utf8.h"

#include <string.h>
#include <strings.h>

/* The reader's state: input, position, the error detail. */
typedef struct reader {
	const unsigned char *p;
	size_t len, pos;
	chat_error_t *err;
} reader_t;

static void skip_ws(reader_t *r)
{
	while (r->pos < r->len && (r->p[r->pos] == ' ' || r->p[r->pos] == '\t' ||
				   r->p[r->pos] == '\n' || r->p[r->pos] == '\r'))
		r->pos++;
}

static int hex4(reader_t *r, uint32_t *v)
{
	size_t i;

	*v = 0;
	if (r->len - r->pos < 4)
		return chat_error_set(r->err, CHAT_EINVAL, "broken JSON: short \\u escape");
	for (i = 0; i < 4; i++) {
		int d = utf8_hexval(r->p[r->pos + i]);

		if (d < 0)
			return chat_error_set(r->err, CHAT_EINVAL, "broken JSON: bad \\u escape");
		*v = (*v << 4) | (uint32_t)d;
	}
	r->pos += 4;
	return CHAT_OK;
}

/* Reads a string literal at r->pos (which is at the opening quote),
 * appending its decoded bytes to out when out is not NULL. */
static int read_string(reader_t *r, chat_buf_t *out)
{
	int rc;

	r->pos++;
	for (;;) {
		unsigned char c;
		uint32_t cp, lo;
		char enc[UTF8_MAX];
		size_t n, start = r->pos;

		/* A run of plain bytes at once. */
		while (r->pos < r->len && r->p[r->pos] != '"' && r->p[r->pos] != '\\' &&
		       r->p[r->pos] >= 0x20) {
			n = utf8_decode(r->p + r->pos, r->len - r->pos, NULL);
			if (n == 0)
				return chat_error_set(r->err, CHAT_EUTF8,
						      "text is not valid UTF-8");
			r->pos += n;
		}
		if (out != NULL && r->pos > start &&
		    (rc = chat_buf_append(out, r->p + start, r->pos - start)) != CHAT_OK)
			return rc;
		if (r->pos == r->len)
			return chat_error_set(r->err, CHAT_EINVAL,
					      "broken JSON: unterminated string");
		c = r->p[r->pos++];
		if (c == '"')
			return CHAT_OK;
		if (c != '\\')
			return chat_error_set(r->err, CHAT_EINVAL,
					      "broken JSON: control character in a string");
		if (r->pos == r->len)
			return chat_error_set(r->err, CHAT_EINVAL,
					      "broken JSON: unterminated string");
		c = r->p[r->pos++];
		switch (c) {
		case '"': cp = '"'; break;
		case '\\': cp = '\\'; break;
		case '/': cp = '/'; break;
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u':
			if ((rc = hex4(r, &cp)) != CHAT_OK)
				return rc;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return chat_error_set(r->err, CHAT_EUTF8,
						      "lone surrogate in a string");
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (r->len - r->pos < 2 || r->p[r->pos] != '\\' ||
				    r->p[r->pos + 1] != 'u')
					return chat_error_set(r->err, CHAT_EUTF8,
							      "lone surrogate in a string");
				r->pos += 2;
				if ((rc = hex4(r, &lo)) != CHAT_OK)
					return rc;
				if (lo < 0xdc00 || lo > 0xdfff)
					return chat_error_set(r->err, CHAT_EUTF8,
							      "lone surrogate in a string");
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			break;
		default: return chat_error_set(r->err, CHAT_EINVAL, "broken JSON: bad escape");
		}
		if (out == NULL)
			continue;
		n = utf8_encode(cp, enc);
		if ((rc = chat_buf_append(out, enc, n)) != CHAT_OK)
			return rc;
	}
}

/* Reads a number (JSON grammar) of at most CHATMSG_NUMBER_MAX characters. */
static int read_number(reader_t *r)
{
	size_t start = r->pos, digits;

	if (r->pos < r->len && r->p[r->pos] == '-')
		r->pos++;
	digits = r->pos;
	if (r->pos < r->len && r->p[r->pos] == '0') {
		r->pos++;
	} else {
		while (r->pos < r->len && r->p[r->pos] >= '0' && r->p[r->pos] <= '9')
			r->pos++;
	}
	if (r->pos == digits)
		return chat_error_set(r->err, CHAT_EINVAL, "broken JSON: bad value");
	if (r->pos < r->len && r->p[r->pos] == '.') {
		digits = ++r->pos;
		while (r->pos < r->len && r->p[r->pos] >= '0' && r->p[r->pos] <= '9')
			r->pos++;
		if (r->pos == digits)
			return chat_error_set(r->err, CHAT_EINVAL, "broken JSON: bad number");
	}
	if (r->pos < r->len && (r->p[r->pos] == 'e' || r->p[r->pos] == 'E')) {
		r->pos++;
		if (r->pos < r->len && (r->p[r->pos] == '+' || r->p[r->pos] == '-'))
			r->pos++;
		digits = r->pos;
		while (r->pos < r->len && r->p[r->pos] >= '0' && r->p[r->pos] <= '9')
			r->pos++;
		if (r->pos == digits)
			return chat_error_set(r->err, CHAT_EINVAL, "broken JSON: bad number");
	}
	if (r->pos - start > CHATMSG_NUMBER_MAX)
		return chat_error_set(r->err, CHAT_ETOOBIG, "number longer than %d characters",
				      CHATMSG_NUMBER_MAX);
	return CHAT_OK;
}

static int read_literal(reader_t *r, const char *lit)
{
	size_t n = strlen(lit);

	if (r->len - r->pos < n || memcmp(r->p + r->pos, lit, n) != 0)
		return chat_error_set(r->err, CHAT_EINVAL, "broken JSON: bad value");
	r->pos += n;
	return CHAT_OK;
}

static int is_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			return 0;
	return 1;
}

/* Reads an integer value into *v: a JSON number without fraction or
 * exponent that fits an int64. */
static int read_int(reader_t *r, const chatmsg_field_t *f, int64_t *v)
{
	size_t start = r->pos, i;
	int neg;
	uint64_t acc = 0;

	if ((r->p[r->pos] < '0' || r->p[r->pos] > '9') && r->p[r->pos] != '-')
		return chat_error_set(r->err, CHAT_EINVAL, "\"%s\" is not a number", f->name);
	if (read_number(r) != CHAT_OK)
		return r->err != NULL ? r->err->code : CHAT_EINVAL;
	neg = r->p[start] == '-';
	for (i = start + (size_t)neg; i < r->pos; i++) {
		unsigned d = r->p[i] - '0';

		if (d > 9)
			return chat_error_set(r->err, CHAT_EINVAL, "\"%s\" is not a whole number",
					      f->name);
		if (acc > (UINT64_MAX - d) / 10 ||
		    acc * 10 + d > (uint64_t)INT64_MAX + (uint64_t)neg)
			return chat_error_set(r->err, CHAT_ETOOBIG, "\"%s\" is out of range",
					      f->name);
		acc = acc * 10 + d;
	}
	*v = neg ? (acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc) : (int64_t)acc;
	return CHAT_OK;
}

/* The field named key (klen bytes), or NULL. */
static chatmsg_field_t *find_field(chatmsg_field_t *fields, size_t n, const char *key, size_t klen)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(fields[i].name) == klen && memcmp(fields[i].name, key, klen) == 0)
			return &fields[i];
	return NULL;
}

/* Undoes what a failed parse appended to the fields' buffers. */
static void fields_rewind(chatmsg_field_t *fields, size_t n, const size_t *start)
{
	for (size_t i = 0; i < n; i++) {
		chat_buf_t *b = fields[i].str;

		if (b != NULL && b->len > start[i]) {
			b->len = start[i];
			b->data[start[i]] = '\0';
		}
		fields[i].found = 0;
	}
}

int chatmsg_parse_object(const char *p, size_t len, chatmsg_field_t *fields, size_t nfields,
			 chat_error_t *err)
{
	reader_t r = { (const unsigned char *)p, len, 0, err };
	size_t start[CHATMSG_MEMBERS_MAX], members = 0, i;
	chat_buf_t key;
	int rc;

	if (nfields > CHATMSG_MEMBERS_MAX)
		return chat_error_set(err, CHAT_ETOOMANY, "more than %d fields",
				      CHATMSG_MEMBERS_MAX);
	for (i = 0; i < nfields; i++) {
		start[i] = fields[i].str != NULL ? fields[i].str->len : 0;
		fields[i].found = 0;
	}
	chat_buf_init(&key, CHATMSG_TEXT_MAX);
	skip_ws(&r);
	if (r.pos == r.len || r.p[r.pos] != '{') {
		rc = chat_error_set(err, CHAT_EINVAL, "the message is not a JSON object");
		goto out;
	}
	r.pos++;
	skip_ws(&r);
	if (r.pos < r.len && r.p[r.pos] == '}') {
		r.pos++;
		goto end;
	}
	for (;;) {
		chatmsg_field_t *f;

		skip_ws(&r);
		if (r.pos == r.len || r.p[r.pos] != '"') {
			rc = chat_error_set(err, CHAT_EINVAL, "broken JSON: member name expected");
			goto out;
		}
		if (++members > CHATMSG_MEMBERS_MAX) {
			rc = chat_error_set(err, CHAT_ETOOMANY, "more than %d members",
					    CHATMSG_MEMBERS_MAX);
			goto out;
		}
		chat_buf_reset(&key);
		if ((rc = read_string(&r, &key)) != CHAT_OK) {
			if (rc == CHAT_ETOOBIG)
				chat_error_set(err, rc, "member name too long");
			goto out;
		}
		if (key.len > 0 && key.data[0] == '$') {
			rc = chat_error_set(err, CHAT_EINVAL,
					    "member names may not start with '$'");
			goto out;
		}
		f = key.len > 0 ? find_field(fields, nfields, key.data, key.len) : NULL;
		if (f != NULL && f->found) {
			rc = chat_error_set(err, CHAT_EINVAL, "\"%s\" given twice", f->name);
			goto out;
		}
		skip_ws(&r);
		if (r.pos == r.len || r.p[r.pos] != ':') {
			rc = chat_error_set(err, CHAT_EINVAL, "broken JSON: ':' expected");
			goto out;
		}
		r.pos++;
		skip_ws(&r);
		if (r.pos == r.len) {
			rc = chat_error_set(err, CHAT_EINVAL, "broken JSON: value expected");
			goto out;
		}
		if (f != NULL && f->str != NULL && r.p[r.pos] != '"') {
			rc = chat_error_set(err, CHAT_EINVAL, "\"%s\" is not a string", f->name);
			goto out;
		}
		if (f != NULL && f->str == NULL) {
			rc = read_int(&r, f, &f->num);
		} else {
			switch (r.p[r.pos]) {
			case '"': {
				chat_buf_t *out = f != NULL ? f->str : NULL;
				size_t s0 = out != NULL ? start[f - fields] : 0;

				rc = read_string(&r, out);
				if (rc == CHAT_ETOOBIG && out != NULL)
					chat_error_set(err, rc, "%s longer than %zu bytes", f->name,
						       out->max - s0);
				if (rc == CHAT_OK && out != NULL && out->len > s0 &&
				    memchr(out->data + s0, '\0', out->len - s0) != NULL)
					rc = chat_error_set(err, CHAT_EINVAL, "%s contains NUL",
							    f->name);
				break;
			}
			case 't': rc = read_literal(&r, "true"); break;
			case 'f': rc = read_literal(&r, "false"); break;
			case 'n': rc = read_literal(&r, "null"); break;
			case '{':
			case '[':
				rc = chat_error_set(err, CHAT_EINVAL,
						    "nested objects and arrays are not accepted");
				break;
			default: rc = read_number(&r); break;
			}
		}
		if (rc != CHAT_OK)
			goto out;
		if (f != NULL)
			f->found = 1;
		skip_ws(&r);
		if (r.pos < r.len && r.p[r.pos] == ',') {
			r.pos++;
			continue;
		}
		if (r.pos < r.len && r.p[r.pos] == '}') {
			r.pos++;
			break;
		}
		rc = chat_error_set(err, CHAT_EINVAL, "broken JSON: ',' or '}' expected");
		goto out;
	}
end:
	skip_ws(&r);
	if (r.pos != r.len) {
		rc = chat_error_set(err, CHAT_EINVAL, "broken JSON: data after the object");
		goto out;
	}
	rc = CHAT_OK;
	for (i = 0; i < nfields && rc == CHAT_OK; i++)
		if (fields[i].required && !fields[i].found)
			rc = chat_error_set(err, CHAT_EINVAL, "\"%s\" is missing", fields[i].name);
out:
	if (rc != CHAT_OK)
		fields_rewind(fields, nfields, start);
	chat_buf_free(&key);
	return rc;
}

int chatmsg_parse_post(const char *p, size_t len, chat_buf_t *text, chat_error_t *err)
{
	chatmsg_field_t f = { "text", text, 1, 0, 0 };
	size_t start = text->len;
	int rc;

	rc = chatmsg_parse_object(p, len, &f, 1, err);
	if (rc != CHAT_OK)
		return rc;
	if (text->len - start > CHATMSG_TEXT_MAX)
		rc = chat_error_set(err, CHAT_ETOOBIG, "text longer than %d bytes",
				    CHATMSG_TEXT_MAX);
	else if (text->len == start || is_blank(text->data + start, text->len - start))
		rc = chat_error_set(err, CHAT_EINVAL, "text is empty");
	if (rc != CHAT_OK)
		chat_buf_truncate(text, start);
	return rc;
}

static int all_in(chat_slice_t s, size_t max, const char *extra, int first_alnum)
{
	if (s.len == 0 || s.len > max)
		return 0;
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.ptr[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9');

		if (!alnum && (c == '\0' || strchr(extra, c) == NULL || (i == 0 && first_alnum)))
			return 0;
	}
	return 1;
}

int chatmsg_room_valid(chat_slice_t s)
{
	return all_in(s, CHATMSG_ROOM_MAX, "_-", 0);
}

int chatmsg_name_valid(chat_slice_t s)
{
	return all_in(s, CHATMSG_NAME_MAX, "_.-", 1);
}

int chatmsg_render(chat_buf_t *out, const chatmsg_t *m)
{
	size_t start = out->len;
	int rc;

	if ((rc = chat_buf_printf(out, "{\"id\":%lld,\"room\":", (long long)m->id)) != CHAT_OK ||
	    (rc = json_encode_string(out, m->room, strlen(m->room))) != CHAT_OK ||
	    (rc = chat_buf_printf(out, ",\"seq\":%lld,\"writer\":", (long long)m->room_seq)) !=
		    CHAT_OK ||
	    (rc = json_encode_string(out, m->writer, strlen(m->writer))) != CHAT_OK ||
	    (m->display != NULL && m->display[0] != '\0' &&
	     ((rc = chat_buf_append(out, ",\"display_name\":", 16)) != CHAT_OK ||
	      (rc = json_encode_string(out, m->display, strlen(m->display))) != CHAT_OK)) ||
	    (rc = chat_buf_printf(out, ",\"time\":%lld,\"text\":", (long long)m->time_ms)) !=
		    CHAT_OK ||
	    (rc = json_encode_string(out, m->text.ptr && !m->deleted ? m->text.ptr : "",
				     m->deleted ? 0 : m->text.len)) != CHAT_OK ||
	    (m->deleted && (rc = chat_buf_append(out, ",\"deleted\":true", 15)) != CHAT_OK) ||
	    (rc = chat_buf_putc(out, '}')) != CHAT_OK) {
		chat_buf_truncate(out, start);
	}
	return rc;
}

static int reason(chat_error_t *err, int code, const char *msg)
{
	return chat_error_set(err, code, "%s", msg);
}

int chatmsg_name_reserved(chat_slice_t s)
{
	static const char g[] = "guest";
	size_t n = sizeof(g) - 1;

	if (s.len < n || strncasecmp(s.ptr, g, n) != 0)
		return 0;
	return s.len == n || strchr("-_.0123456789", s.ptr[n]) != NULL;
}

int chatmsg_check_user_name(chat_slice_t s, chat_error_t *err)
{
	if (s.len > CHATMSG_NAME_MAX)
		return chat_error_set(err, CHAT_ETOOBIG, "user names are at most %d characters",
				      CHATMSG_NAME_MAX);
	if (!chatmsg_name_valid(s))
		return reason(err, CHAT_EINVAL,
			      "user names are letters, digits, '_', '.' and '-', "
			      "starting with a letter or digit");
	if (chatmsg_name_reserved(s))
		return reason(err, CHAT_EINVAL,
			      "\"guest\" and names starting with \"guest\" then"
			      " '-', '_', '.' or a digit are reserved for guests");
	return CHAT_OK;
}

int chatmsg_check_password(chat_slice_t s, chat_error_t *err)
{
	const unsigned char *p = (const unsigned char *)s.ptr;
	size_t i = 0, n;

	if (s.len < CHATMSG_PASSWORD_MIN)
		return chat_error_set(err, CHAT_EINVAL, "passwords are at least %d bytes",
				      CHATMSG_PASSWORD_MIN);
	if (s.len > CHATMSG_PASSWORD_MAX)
		return chat_error_set(err, CHAT_ETOOBIG, "passwords are at most %d bytes",
				      CHATMSG_PASSWORD_MAX);
	while (i < s.len) {
		if (p[i] < 0x20 || p[i] == 0x7f)
			return reason(err, CHAT_EINVAL,
				      "passwords may not hold control characters");
		n = utf8_decode(p + i, s.len - i, NULL);
		if (n == 0)
			return reason(err, CHAT_EUTF8, "password is not valid UTF-8");
		i += n;
	}
	return CHAT_OK;
}

int chatmsg_check_room_name(chat_slice_t s, chat_error_t *err)
{
	if (s.len > CHATMSG_ROOM_MAX)
		return chat_error_set(err, CHAT_ETOOBIG, "room names are at most %d characters",
				      CHATMSG_ROOM_MAX);
	if (!chatmsg_room_valid(s))
		return reason(err, CHAT_EINVAL, "room names are letters, digits, '_' and '-'");
	return CHAT_OK;
}

/* Truncates out back to start after a failed render. */
static int rewind_to(chat_buf_t *out, size_t start, int rc)
{
	if (rc != CHAT_OK)
		chat_buf_truncate(out, start);
	return rc;
}

int chatmsg_render_notice(chat_buf_t *out, const char *type, const char *user, const char *room)
{
	size_t start = out->len;
	int rc;

	if ((rc = chat_buf_append(out, "{\"type\":", 8)) == CHAT_OK &&
	    (rc = json_encode_string(out, type, strlen(type))) == CHAT_OK &&
	    (rc = chat_buf_append(out, ",\"user\":", 8)) == CHAT_OK &&
	    (rc = json_encode_string(out, user, strlen(user))) == CHAT_OK &&
	    (rc = chat_buf_append(out, ",\"room\":", 8)) == CHAT_OK &&
	    (rc = json_encode_string(out, room, strlen(room))) == CHAT_OK)
		rc = chat_buf_putc(out, '}');
	return rewind_to(out, start, rc);
}

int chatmsg_render_room(chat_buf_t *out, const char *id, const char *name, const char *creator,
			int64_t created_ms)
{
	size_t start = out->len;
	int rc;

	if ((rc = chat_buf_append(out, "{\"id\":", 6)) == CHAT_OK &&
	    (rc = json_encode_string(out, id, strlen(id))) == CHAT_OK &&
	    (rc = chat_buf_append(out, ",\"name\":", 8)) == CHAT_OK &&
	    (rc = json_encode_string(out, name, strlen(name))) == CHAT_OK &&
	    (rc = chat_buf_append(out, ",\"creator\":", 11)) == CHAT_OK &&
	    (rc = json_encode_string(out, creator, strlen(creator))) == CHAT_OK)
		rc = chat_buf_printf(out, ",\"created\":%lld}", (long long)created_ms);
	return rewind_to(out, start, rc);
}
