/*
 * origin.h - whether a request's Origin is one the `origins` option allows.
 * Pure: the same rule for chat.fcgi (HTTP transports) and chat-ws
 * (WebSocket upgrades), so a browser page from another site is refused
 * (403) the same way whichever transport it tries.
 */
#ifndef CHAT_ORIGIN_H
#define CHAT_ORIGIN_H

#include "chat.h"

/* Returns 1 when origin (the Origin header's value, NUL-terminated; NULL
 * when the request had none) is allowed by origins, else 0.  The option is
 * "*", or a comma-separated list (spaces and tabs around items ignored) of
 * origins such as "https://a.example, http://b:8080" and patterns in the
 * syntax of Spring's setAllowedOriginPatterns: '*' stands for any run of
 * characters (for example "https:" "//" "*.example.com"), and a
 * trailing port list ":[8080,8081]" names the ports allowed (":[*]": any
 * port, or none).  An item "*" allows any origin.  Comparison ignores ASCII
 * case; one trailing '/' of the Origin is dropped, as Spring does.  No
 * Origin and the string "null" (file:// pages, sandboxed frames) are always
 * allowed, as sockjs-node does.  Both strings are borrowed. */
int origin_allowed(const char *origin, const char *origins);

/* Checks the option's text: "*", or items that are "*" or
 * SCHEME://HOST-PATTERN with an optional :PORT, :[PORT,PORT...] or :[*],
 * without spaces inside.  Returns 0, or CHAT_EINVAL with err naming the
 * item (a mistyped pattern would otherwise never match, silently). */
int origin_check(const char *origins, chat_error_t *err);

#endif
