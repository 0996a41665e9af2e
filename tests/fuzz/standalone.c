/*
 * standalone.c - replays a fuzz target's corpus without libFuzzer, so that
 * `make check` runs every committed input through the parser (under the
 * sanitizers when configured with --enable-sanitizers).  Prints TAP: one
 * line per input.  With arguments, replays those files instead of the
 * compiled-in corpus directory FUZZ_CORPUS.
 */
#include "config.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static int replay(const char *path, int n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long len;
	int ok = 0;

	if (f == NULL)
		goto out;
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
		goto out;
	/* An exact-size heap copy, so ASan sees any read past the input. */
	buf = malloc(len > 0 ? (size_t)len : 1);
	if (buf == NULL || fread(buf, 1, (size_t)len, f) != (size_t)len)
		goto out;
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	ok = 1;
out:
	printf("%s %d - %s\n", ok ? "ok" : "not ok", n, path);
	free(buf);
	if (f != NULL)
		fclose(f);
	return ok;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	char **names = NULL;
	size_t count = 0, cap = 0, i;
	int n = 0, failed = 0;
	DIR *d;
	struct dirent *e;

	if (argc > 1) {
		for (int k = 1; k < argc; k++)
			failed += !replay(argv[k], ++n);
		printf("1..%d\n", n);
		return failed ? EXIT_FAILURE : EXIT_SUCCESS;
	}
	d = opendir(FUZZ_CORPUS);
	if (d == NULL) {
		printf("1..0 # SKIP no corpus at %s\n", FUZZ_CORPUS);
		return EXIT_FAILURE;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (count == cap) {
			char **p;
			cap = cap ? cap * 2 : 64;
			p = realloc(names, cap * sizeof(*names));
			if (p == NULL)
				return EXIT_FAILURE;
			names = p;
		}
		names[count++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, count, sizeof(*names), by_name);
	for (i = 0; i < count; i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", FUZZ_CORPUS, names[i]);
		failed += !replay(path, ++n);
		free(names[i]);
	}
	free(names);
	printf("1..%d\n", n);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
