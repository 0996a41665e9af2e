/* test_store_sqlite.c - the shared store suite against the SQLite backend,
 * one fresh file per test in a temporary directory. */
#include "config.h"
#include "store.h"
#include "store_suite.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dir;
static unsigned counter;

static char *fresh_uri(void)
{
	size_t n = strlen(dir) + 64;
	char *uri = malloc(n);

	if (uri != NULL)
		snprintf(uri, n, "sqlite:%s/history-%u.db", dir, ++counter);
	return uri;
}

static char *down_uri(void)
{
	size_t n = strlen(dir) + 64;
	char *uri = malloc(n);

	/* A file in a directory that does not exist cannot be created. */
	if (uri != NULL)
		snprintf(uri, n, "sqlite:%s/no/such/dir/history.db", dir);
	return uri;
}

int main(void)
{
	static const store_suite_env_t env = {
		.backend = "sqlite",
		.fresh_uri = fresh_uri,
		.drop = NULL, /* the whole directory goes at the end */
		.down_uri = down_uri,
	};
	int rc;

	dir = testutil_tmpdir("store");
	if (dir == NULL) {
		perror("testutil_tmpdir");
		return EXIT_FAILURE;
	}
	rc = testutil_run(store_suite(&env));
	testutil_rmtree(dir);
	free(dir);
	store_global_cleanup();
	return rc;
}
