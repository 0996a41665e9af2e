/*
 * testutil.h - glue for Check-based unit tests.  Each test program builds
 * one Suite and calls testutil_run(), which runs it and returns the exit
 * status for main().  Output format (TAP, for automake's driver) and
 * forking come from the environment set by Makefile.am.
 */
#ifndef CHAT_TESTUTIL_H
#define CHAT_TESTUTIL_H

#include <check.h>

/* Runs suite s (taking ownership) and returns EXIT_SUCCESS or EXIT_FAILURE. */
int testutil_run(Suite *s);

/* A fresh empty directory under $TMPDIR (or /tmp); the caller removes it
 * with testutil_rmtree().  Returns a malloc'd path. */
char *testutil_tmpdir(const char *tag);

/* Removes a directory tree made by testutil_tmpdir (best effort). */
void testutil_rmtree(const char *path);

#endif
