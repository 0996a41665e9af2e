/*
 * hook.h - the application hook client (docs/hooks.md): one blocking
 * HTTP/1.0 POST of a JSON request to the app_hook_url, with poll()
 * timeouts, and its JSON answer (core/hookmsg.h).
 *
 * The call blocks the worker that handles the frame (a chat.fcgi thread,
 * or the sidecar's event loop) for up to app_hook_timeout_ms, which is why
 * it is bounded: at most app_hook_calls at once per process (one more
 * fails at once with CHAT_EBUSY instead of waiting), and the response at
 * most HOOK_RESPONSE_MAX bytes.  It runs before the frame's chat.db
 * transaction, never while the write lock is held.
 */
#ifndef CHAT_HOOK_H
#define CHAT_HOOK_H

#include "hookmsg.h"
#include "options.h"

/* Largest response read from the hook, headers included. */
#define HOOK_RESPONSE_MAX (1024 * 1024)

/* POSTs request (JSON) to opt->app_hook_url and parses the answer into ans
 * (initialised by the caller; bodies bounded by its body_max).  Returns 0
 * (ans holds the answer, which may be an error the hook gave); otherwise
 * err says why, fit for an ERROR frame and a log line: CHAT_EINVAL (bad
 * URL, not HTTP, an answer that is not as hookmsg.h says), CHAT_ETIMEDOUT,
 * CHAT_EIO (cannot connect, reset), CHAT_EPROTO (HTTP status not 2xx),
 * CHAT_ETOOBIG (response or a part of it too large), CHAT_EBUSY (already
 * app_hook_calls at once), CHAT_ENOMEM. */
CHAT_MUST_CHECK int hook_call(const chat_options_t *opt, chat_slice_t request,
			      hookmsg_answer_t *ans, chat_error_t *err);

#endif
