/*
 * store_suite.h - the one test suite every store backend must pass.  A
 * backend's test program describes how to make a fresh, empty store and an
 * unreachable one, then runs store_suite().
 */
#ifndef CHAT_STORE_SUITE_H
#define CHAT_STORE_SUITE_H

#include <check.h>

typedef struct store_suite_env {
	const char *backend;           /* expected store_backend() name */
	char *(*fresh_uri)(void);      /* malloc'd URI of a new, empty store */
	void (*drop)(const char *uri); /* removes a store made by fresh_uri */
	char *(*down_uri)(void);       /* malloc'd URI that cannot be opened */
} store_suite_env_t;

/* Builds the suite; env must outlive the run. */
Suite *store_suite(const store_suite_env_t *env);

#endif
