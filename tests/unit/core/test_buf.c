/* test_buf.c - the bounded buffer and status helpers. */
#include "config.h"
#include "buf.h"
#include "testutil.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

START_TEST(append_within_max)
{
	chat_buf_t b;

	chat_buf_init(&b, 8);
	ck_assert_int_eq(chat_buf_puts(&b, "abcd"), CHAT_OK);
	ck_assert_int_eq(chat_buf_append(&b, "efgh", 4), CHAT_OK);
	ck_assert_uint_eq(b.len, 8);
	ck_assert_str_eq(b.data, "abcdefgh");
	chat_buf_free(&b);
}
END_TEST

START_TEST(append_past_max_fails_and_keeps_contents)
{
	chat_buf_t b;

	chat_buf_init(&b, 5);
	ck_assert_int_eq(chat_buf_puts(&b, "abc"), CHAT_OK);
	ck_assert_int_eq(chat_buf_puts(&b, "def"), CHAT_ETOOBIG);
	ck_assert_str_eq(b.data, "abc");
	ck_assert_int_eq(chat_buf_printf(&b, "%d", 123), CHAT_ETOOBIG);
	ck_assert_int_eq(chat_buf_printf(&b, "%d", 12), CHAT_OK);
	ck_assert_str_eq(b.data, "abc12");
	ck_assert_int_eq(chat_buf_putc(&b, 'x'), CHAT_ETOOBIG);
	chat_buf_free(&b);
}
END_TEST

START_TEST(consume_and_detach)
{
	chat_buf_t b;
	size_t n;
	char *s;

	chat_buf_init(&b, 100);
	ck_assert_int_eq(chat_buf_puts(&b, "hello world"), CHAT_OK);
	chat_buf_consume(&b, 6);
	ck_assert_str_eq(b.data, "world");
	s = chat_buf_detach(&b, &n);
	ck_assert_str_eq(s, "world");
	ck_assert_uint_eq(n, 5);
	ck_assert_ptr_null(b.data);
	free(s);
	s = chat_buf_detach(&b, &n);
	ck_assert_str_eq(s, "");
	free(s);
	chat_buf_free(NULL);
}
END_TEST

START_TEST(truncate_only_shrinks)
{
	chat_buf_t b;

	chat_buf_init(&b, 100);
	chat_buf_truncate(&b, 0); /* nothing allocated yet */
	ck_assert_ptr_null(b.data);
	ck_assert_int_eq(chat_buf_puts(&b, "hello world"), CHAT_OK);
	chat_buf_truncate(&b, 20);
	ck_assert_str_eq(b.data, "hello world");
	chat_buf_truncate(&b, 5);
	ck_assert_uint_eq(b.len, 5);
	ck_assert_str_eq(b.data, "hello");
	chat_buf_free(&b);
}
END_TEST

START_TEST(binary_bytes)
{
	chat_buf_t b;

	chat_buf_init(&b, 4);
	ck_assert_int_eq(chat_buf_append(&b, "\0a\0b", 4), CHAT_OK);
	ck_assert_int_eq(memcmp(b.data, "\0a\0b", 4), 0);
	ck_assert_int_eq(b.data[4], '\0');
	chat_buf_free(&b);
}
END_TEST

START_TEST(status_names)
{
	chat_error_t err;

	ck_assert_str_eq(chat_strerror(CHAT_OK), "success");
	ck_assert_str_eq(chat_strerror(CHAT_ETOOBIG), "size limit exceeded");
	ck_assert_str_eq(chat_strerror(12345), "unknown error");
	/* every code has a name of its own */
	for (int a = CHAT_STOP; a > CHAT_E_LAST; a--)
		for (int b = a - 1; b > CHAT_E_LAST; b--)
			ck_assert_str_ne(chat_strerror(a), chat_strerror(b));
	ck_assert_str_ne(chat_strerror(CHAT_E_LAST + 1), "unknown error");
	ck_assert_int_eq(chat_error_set(&err, CHAT_EINVAL, "bad %s", "thing"), CHAT_EINVAL);
	ck_assert_str_eq(err.message, "bad thing");
	ck_assert_int_eq(chat_error_set(NULL, CHAT_EIO, "x"), CHAT_EIO);
	ck_assert(chat_slice_eq(CHAT_SLICE("abc"), "abc"));
	ck_assert(!chat_slice_eq(CHAT_SLICE("abc"), "abcd"));
}
END_TEST

START_TEST(array_reserve)
{
	int *v = NULL;
	size_t cap = 0, n;

	for (n = 0; n < 100; n++) {
		ck_assert_int_eq(chat_array_reserve((void **)&v, &cap, n, sizeof(*v), 8, 0),
				 CHAT_OK);
		ck_assert_uint_gt(cap, n);
		v[n] = (int)n;
	}
	ck_assert_uint_eq(cap, 128);
	for (n = 0; n < 100; n++)
		ck_assert_int_eq(v[n], (int)n);
	/* A bound clamps the growth and refuses past it, leaving the array. */
	ck_assert_int_eq(chat_array_reserve((void **)&v, &cap, 128, sizeof(*v), 8, 130), CHAT_OK);
	ck_assert_uint_eq(cap, 130);
	ck_assert_int_eq(chat_array_reserve((void **)&v, &cap, 130, sizeof(*v), 8, 130),
			 CHAT_ETOOMANY);
	ck_assert_uint_eq(cap, 130);
	ck_assert_int_eq(v[99], 99);
	/* No element count can overflow the size. */
	ck_assert_int_eq(chat_array_reserve((void **)&v, &cap, SIZE_MAX / 2, sizeof(*v), 8, 0),
			 CHAT_ETOOMANY);
	free(v);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("buf");
	TCase *tc = tcase_create("buf");

	tcase_add_test(tc, append_within_max);
	tcase_add_test(tc, append_past_max_fails_and_keeps_contents);
	tcase_add_test(tc, consume_and_detach);
	tcase_add_test(tc, truncate_only_shrinks);
	tcase_add_test(tc, binary_bytes);
	tcase_add_test(tc, status_names);
	tcase_add_test(tc, array_reserve);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
