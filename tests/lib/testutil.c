/* testutil.c - Check runner glue and temporary directories for unit tests. */
#include "config.h"
#include "testutil.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int testutil_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

char *testutil_tmpdir(const char *tag)
{
	const char *base = getenv("TMPDIR");
	char *path;
	size_t n;

	if (base == NULL || *base == '\0')
		base = "/tmp";
	n = strlen(base) + strlen(tag) + 32;
	path = malloc(n);
	if (path == NULL)
		return NULL;
	snprintf(path, n, "%s/chat-%s-XXXXXX", base, tag);
	if (mkdtemp(path) == NULL) {
		free(path);
		return NULL;
	}
	return path;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

void testutil_rmtree(const char *path)
{
	if (path != NULL)
		nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
