/*
 * handler.h - serves one FastCGI request: routes it to the SockJS endpoint
 * it names and answers it.  One handler is shared by all request threads of
 * a process; per-request state lives on the serving thread's stack.
 */
#ifndef CHAT_HANDLER_H
#define CHAT_HANDLER_H

#include "chat.h"
#include "options.h"

#include <fcgiapp.h>

typedef struct handler handler_t;

/* Creates the handler.  opt is borrowed and must outlive it.  cgi: the
 * process serves one request (handler_serve_cgi) and ends, so it starts no
 * background thread (see background_run_once).  Returns 0 or a CHAT_E*
 * code with the reason in err. */
int handler_open(const chat_options_t *opt, int cgi, handler_t **out, chat_error_t *err);

/* Frees the handler.  NULL-safe. */
void handler_close(handler_t *h);

/* Answers one accepted request (thread-safe). */
void handler_serve(handler_t *h, FCGX_Request *req);

/* Answers the CGI request of this process: parameters in envp (borrowed),
 * body on stdin, response on stdout. */
void handler_serve_cgi(handler_t *h, char **envp);

#endif
