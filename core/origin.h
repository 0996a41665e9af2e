/*
 * origin.h - whether a request's Origin is one the `origins` option allows.
 * Pure: the same rule for chat.fcgi (HTTP transports) and chat-ws
 * (WebSocket upgrades), so a browser page from another site is refused
 * (403) the same way whichever transport it tries.
 */
#ifndef CHAT_ORIGIN_H
#define CHAT_ORIGIN_H

/* Returns 1 when origin (the Origin header's value, NUL-terminated; NULL
 * when the request had none) is allowed by origins (the option: "*", or a
 * comma-separated list of origins such as "https://a.example, http://b:8080",
 * compared case-insensitively after trimming spaces and tabs; an item "*"
 * allows any), else 0.  No Origin and the string "null" (file:// pages,
 * sandboxed frames) are always allowed, as sockjs-node does.  Both strings
 * are borrowed. */
int origin_allowed(const char *origin, const char *origins);

#endif
