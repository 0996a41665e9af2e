/*
 * mediatype.h - media types (RFC 9110 8.3.1), as a content-type header
 * carries them: the check a STOMP SEND's content-type, an application
 * hook's reply and a cluster message pass.  Pure: no IO, no allocation.
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

#endif
