/*
 * api.h - the chat's small JSON HTTP API in chat.fcgi (api.c routes;
 * api_users.c, api_rooms.c and api_keyed.c answer).
 *
 *   POST /api/users   {"name","password"}  register: 201 {"name"}; 400 with
 *                     {"error": why} for a bad name or password; 409 name
 *                     taken; 503 the user store is unreachable.
 *   POST /api/login   {"name","password"}  200 {"token","user","expires"}
 *                     (expires: ms since the epoch); 401 wrong name or
 *                     password (one answer for both).
 *   POST /api/logout  the token as "Authorization: Bearer TOKEN" or
 *                     {"token"}: 204; 401 unknown token.
 *   GET  /api/rooms   200 [{"id","name","creator","created"}, ...]
 *   POST /api/rooms   {"name"} with a token (as for logout, or "token" in
 *                     the body): 201 the room (also broadcast on
 *                     /topic/rooms); 400 bad name; 401; 403 a guest, or
 *                     too many rooms (rooms_per_user, rooms_max); 409 taken.
 *   DELETE /api/rooms/NAME  with a token, by the room's creator or one of
 *                     the option admins: 204 (broadcast on /topic/rooms as
 *                     {"type":"DELETED","user","room"}; the history stays
 *                     stored); 401; 403 someone else, or "general"; 404 no
 *                     such room.
 *   POST /api/publish  with the key of the option publish_key (404 while it
 *                     is empty) as "Authorization: Bearer KEY" or
 *                     "X-Chat-Key: KEY": {"destination", "body" (a string,
 *                     or any JSON value, sent as its JSON text with
 *                     content-type application/json), "headers":
 *                     {"content-type"}} published as a SEND to that
 *                     broker destination would be (/topic/..., /queue/...,
 *                     /user/NAME/queue/...; broker_publish() in
 *                     db/broker.h): 200 {"id": message id, 0 when a queue
 *                     had no consumer}; 400 a bad message or destination;
 *                     401 no key; 403 a wrong key; 413 a body over
 *                     max_frame.
 * Request bodies are at most API_BODY_MAX bytes (413 beyond; publish:
 * max_frame, as JSON).  Every error is {"error": "a sentence"}.  Responses
 * are never cached.  The token is the STOMP CONNECT passcode (with login =
 * the user name).
 *
 * The history relay is not here: db/background.c runs it (and the sweeps)
 * in one thread that fcgi/handler.c starts (handler_open()).
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
