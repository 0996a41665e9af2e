/* test_optload.c - options from the environment, argv and files, as the
 * programs' main() takes them; --help and the reference; the logger's
 * format names. */
#include "config.h"
#include "log.h"
#include "optload.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(env_then_args)
{
	char *argv[] = { "prog", "--threads=5", "--endpoints", "/p", "--websocket=0", NULL };
	char *bad[] = { "prog", "--threads", NULL };
	char *help[] = { "prog", "--help", NULL };
	chat_options_t c;
	chat_error_t err = { 0 };

	setenv("CHAT_THREADS", "7", 1);
	setenv("CHAT_HEARTBEAT_MS", "1000", 1);
	ck_assert_int_eq(options_defaults(&c), CHAT_OK);
	ck_assert_int_eq(options_from_args(&c, 5, argv, &err), CHAT_OK);
	ck_assert_int_eq(c.threads, 5);
	ck_assert_int_eq(c.heartbeat_ms, 1000);
	ck_assert_str_eq(c.endpoints, "/p");
	ck_assert_int_eq(c.websocket, 0);
	ck_assert_int_eq(options_from_args(&c, 2, bad, &err), CHAT_EINVAL);
	ck_assert_str_eq(err.message, "--threads needs a value");
	ck_assert_int_eq(options_from_args(&c, 2, help, &err), CHAT_EHELP);
	setenv("CHAT_THREADS", "0", 1);
	ck_assert_int_eq(options_from_args(&c, 1, argv, &err), CHAT_ETOOBIG);
	ck_assert_str_eq(err.message, "CHAT_THREADS: threads: 0 is below the minimum 1");
	unsetenv("CHAT_THREADS");
	unsetenv("CHAT_HEARTBEAT_MS");
	options_free(&c);
}
END_TEST

START_TEST(config_file_from_args)
{
	char *dir = testutil_tmpdir("options");
	char path[512], arg[600];
	char *argv[] = { "prog", arg, NULL };
	chat_options_t c;
	chat_error_t err = { 0 };
	FILE *f;

	ck_assert_ptr_nonnull(dir);
	snprintf(path, sizeof(path), "%s/chat.conf", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("threads = 9\nmax_frame = 10\n", f);
	fclose(f);
	snprintf(arg, sizeof(arg), "--config=%s", path);
	ck_assert_int_eq(options_defaults(&c), CHAT_OK);
	ck_assert_int_eq(options_from_args(&c, 2, argv, &err), CHAT_ETOOBIG);
	ck_assert_ptr_nonnull(
		strstr(err.message, "chat.conf:2: max_frame: 10 is below the minimum 1024"));
	ck_assert_int_eq(c.threads, 9);
	snprintf(arg, sizeof(arg), "--config=%s/missing.conf", dir);
	ck_assert_int_eq(options_from_args(&c, 2, argv, &err), CHAT_EIO);
	options_free(&c);
	testutil_rmtree(dir);
	free(dir);
}
END_TEST

/* What a main() gets back: run, or exit at once with a status. */
START_TEST(load_for_main)
{
	static const struct {
		int line;
		const char *arg;
		int rc, status;
	} rows[] = {
		{ __LINE__, "--threads=3", CHAT_OK, -1 },
		{ __LINE__, "--help", CHAT_EHELP, EXIT_SUCCESS },
		{ __LINE__, "-h", CHAT_EHELP, EXIT_SUCCESS },
		{ __LINE__, "--threads", CHAT_EINVAL, EXIT_FAILURE },
		{ __LINE__, "--no_such=1", CHAT_ENOTFOUND, EXIT_FAILURE },
		{ __LINE__, "--threads=0", CHAT_ETOOBIG, EXIT_FAILURE },
		{ __LINE__, "--log_format=xml", CHAT_EINVAL, EXIT_FAILURE },
	};
	size_t i;

	for (i = 0; i < CHAT_ARRAY_LEN(rows); i++) {
		char *argv[] = { "prog", (char *)rows[i].arg, NULL };
		chat_options_t c;
		int status = -1, rc;

		rc = options_load(&c, 2, argv, "prog", "summary", &status);
		ck_assert_msg(rc == rows[i].rc && status == rows[i].status,
			      "line %d: %s gave %d (status %d)", rows[i].line, rows[i].arg, rc,
			      status);
		if (rc == CHAT_OK)
			ck_assert_int_eq(c.threads, 3);
		options_free(&c);
	}
}
END_TEST

START_TEST(usage_and_reference_list_every_option)
{
	char *text = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&text, &len);

	options_usage(f, "prog", "summary");
	options_reference(f);
	fclose(f);
	for (i = 0; i < options_count; i++)
		ck_assert_msg(strstr(text, options_table[i].name) != NULL, "%s missing",
			      options_table[i].name);
	free(text);
}
END_TEST

START_TEST(log_format_names)
{
	ck_assert_int_eq(log_set_format("json"), CHAT_OK);
	ck_assert_int_eq(log_set_format("text"), CHAT_OK);
	ck_assert_int_eq(log_set_format("xml"), CHAT_EINVAL);
	ck_assert_int_eq(log_set_format(NULL), CHAT_EINVAL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("optload");
	TCase *tc = tcase_create("optload");

	tcase_add_test(tc, env_then_args);
	tcase_add_test(tc, config_file_from_args);
	tcase_add_test(tc, load_for_main);
	tcase_add_test(tc, usage_and_reference_list_every_option);
	tcase_add_test(tc, log_format_names);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
