/*
 * stomp_int.h - what the STOMP parser (stomp.c) and serialiser
 * (stomp_write.c) share; not for other modules.
 */
#ifndef CHAT_STOMP_INT_H
#define CHAT_STOMP_INT_H

#include "stomp.h"

/* Whether a cmd frame's header names and values go without escapes in
 * version: CONNECT, STOMP and CONNECTED frames always, every frame in 1.0.
 * The parser does not unescape them and the serialiser does not escape
 * them (the one rule both sides follow). */
int stomp__headers_raw(stomp_command_t cmd, stomp_version_t version);

#endif
