/*
 * chatdb_int.h - what chatdb.c and chatdb_schema.c share and no other module
 * uses.
 */
#ifndef CHAT_CHATDB_INT_H
#define CHAT_CHATDB_INT_H

#include "chatdb.h"

/* Brings db's schema to CHATDB_SCHEMA_VERSION in one BEGIN IMMEDIATE
 * transaction, looking at user_version again once it holds the write lock
 * (another process may have migrated meanwhile).  CHAT_EDB when the file's
 * schema is newer than this program's; the transaction is rolled back on
 * any failure. */
CHAT_MUST_CHECK int chatdb__migrate(chatdb_t *db, chat_error_t *err);

#endif
