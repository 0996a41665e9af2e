/*
 * optload.h - a program's options from where a process finds them: the
 * file named by CHAT_CONFIG or --config, CHAT_<NAME> environment
 * variables and `--name=value` arguments, applied to the option table of
 * core/options.h; and --help and the configuration reference printed from
 * that table.
 */
#ifndef CHAT_OPTLOAD_H
#define CHAT_OPTLOAD_H

#include "options.h"

#include <stdio.h>

/* Reads and parses a file.  Returns CHAT_EIO if it cannot be read. */
int options_load_file(chat_options_t *c, const char *path, chat_error_t *err);

/* Loads the file named by $CHAT_CONFIG if set, applies CHAT_<NAME>
 * environment variables (name upper-cased), then
 * `--name=value` / `--name value` arguments and `--config FILE` (loaded
 * where it appears).  Stops with CHAT_EHELP when --help was given (the
 * caller prints options_usage and exits 0). */
int options_from_args(chat_options_t *c, int argc, char **argv, chat_error_t *err);

/* A program's command line, as both mains take it: fills c with the
 * defaults, then applies options_from_args().  Returns 0 when the program
 * should run (*exit_status untouched).  Otherwise main() should return
 * *exit_status at once: CHAT_EHELP with EXIT_SUCCESS after --help (the
 * usage for argv[0] and summary printed to stdout), or the error with
 * EXIT_FAILURE (printed to stderr as "program: detail" when it came from
 * the configuration or the arguments).  Free c with options_free() in
 * every case. */
int options_load(chat_options_t *c, int argc, char **argv, const char *program, const char *summary,
		 int *exit_status);

/* Prints --help text for program to f. */
void options_usage(FILE *f, const char *program, const char *summary);

/* Prints the configuration reference as Markdown to f. */
void options_reference(FILE *f);

#endif
