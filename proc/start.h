/*
 * start.h - the start of chat.fcgi and chat-ws, one sequence for both:
 * their options from files, the environment and argv, the logger set from
 * them, and libchat's process-wide settings.  Linked into the programs,
 * above db/ (unlike the rest of proc/, which db/ uses).
 */
#ifndef CHAT_START_H
#define CHAT_START_H

#include "options.h"

/* Loads program's options as options_load() does (same return and
 * *exit_status), then sets the logger: program name, log_level and
 * log_format.  Free opt with options_free() in every case. */
int start_load(chat_options_t *opt, int argc, char **argv, const char *program, const char *summary,
	       int *exit_status);

/* Hands libchat its process-wide settings (metrics' program name, the
 * password hash's cost, the destination prefixes) and refuses a store
 * this build lacks (store_uri_built) or a cluster that cannot work
 * (cluster_check), logging what to change.  Returns 0 or that error. */
int start_configure(const chat_options_t *opt, const char *program);

#endif
