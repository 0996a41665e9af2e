/*
 * api.h - the chat's small JSON HTTP API in chat.fcgi (/api/users,
 * /api/login, /api/logout, /api/rooms, /api/publish; api.c routes,
 * api_users.c, api_rooms.c and api_keyed.c answer).  Request bodies are
 * at most API_BODY_MAX bytes; every error is {"error": "a sentence"}.  The
 * requests and answers: docs/protocol.md#the-http-api.
 */
#ifndef CHAT_API_H
#define CHAT_API_H

#include "doorbell.h"
#include "http.h"
#include "options.h"

#define API_PREFIX "/api"
#define API_BODY_MAX 4096

/* 1 when path (still percent-encoded) is /api or under /api/. */
int api_match(chat_slice_t path);

/* Answers an API request.  opt and bell are borrowed (the process's). */
void api_serve(const chat_options_t *opt, doorbell_t *bell, http_request_t *r);

#endif
