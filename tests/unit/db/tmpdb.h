/*
 * tmpdb.h - the unit tests' temp chat.db: a fresh directory from
 * testutil_tmpdir() with chat.db opened in it, and its removal.  Failures
 * are Check assertions.  Header-only (static functions) for the tests in
 * tests/unit/db/, like forkutil.h.
 */
#ifndef CHAT_TMPDB_H
#define CHAT_TMPDB_H

#include "chatdb.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>

/* Makes a temp directory named after tag into *dir (owned: tmpdb_close),
 * writes "<dir>/chat.db" into path (size bytes) and opens it into *db. */
static inline void tmpdb_open(const char *tag, char **dir, char *path, size_t size, chatdb_t **db)
{
	*dir = testutil_tmpdir(tag);
	ck_assert_ptr_nonnull(*dir);
	snprintf(path, size, "%s/chat.db", *dir);
	ck_assert_int_eq(chatdb_open(path, 0, db, NULL), CHAT_OK);
}

/* Closes *db and removes *dir with all in it; both become NULL. */
static inline void tmpdb_close(char **dir, chatdb_t **db)
{
	chatdb_close(*db);
	*db = NULL;
	testutil_rmtree(*dir);
	free(*dir);
	*dir = NULL;
}

#endif
