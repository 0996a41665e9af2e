/* chatmsg.c - chat posts (read by json_parse_object()), room id and user
 * name checks, and the stamped message's JSON (see chatmsg.h). */
#include "config.h"
#include "chatmsg.h"

#include "json.h"
#include "utf8.h"

#include <string.h>
#include <strings.h>

static int is_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			return 0;
	return 1;
}

const json_object_limits_t chatmsg_object_limits = { CHATMSG_MEMBERS_MAX, CHATMSG_NUMBER_MAX,
						     CHATMSG_TEXT_MAX };

int chatmsg_parse_post(const char *p, size_t len, chat_buf_t *text, chat_error_t *err)
{
	json_field_t f = { "text", text, 1, 0, 0, 0 };
	size_t start = text->len;
	int rc;

	rc = json_parse_object(p, len, &chatmsg_object_limits, &f, 1, err);
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
