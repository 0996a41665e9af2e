/*
 * mediatype.h - media types (RFC 9110 8.3.1), as a content-type header
 * carries them: the check a STOMP SEND's content-type, an application
 * hook's reply and a cluster message pass, and the comparison by which
 * a SockJS jsonp_send body is known to be a form.  Pure: no IO, no
 * allocation.
 */
#ifndef CHAT_MEDIATYPE_H
#define CHAT_MEDIATYPE_H

#include "chat.h"

/* Longest content-type value a SEND may carry. */
#define MEDIATYPE_MAX 255

/* Whether v is a media type (RFC 9110 8.3.1: type "/" subtype, each a
 * token, then any number of ";" parameters name=token or name="quoted";
 * a trailing ";" is tolerated), at most MEDIATYPE_MAX bytes: 1 or 0.
 * Such a value holds no CR, LF or NUL, so every STOMP version can carry
 * it. */
int mediatype_valid(chat_slice_t v);

/* Whether the media type of the Content-Type value ct (before any ';',
 * spaces and tabs trimmed, ASCII letters compared case-insensitively) is
 * type, given in lower case: 1 or 0.  Its parameters are not checked. */
int mediatype_is(chat_slice_t ct, const char *type);

#endif
