/* stomp_parse.c - the STOMP parser's cost, for callgrind: feeds a fixed mix
 * of frames (SEND with and without content-length, an escaped SUBSCRIBE, a
 * CONNECT, heart-beats) ROUNDS times, whole and split into 7-byte pieces, and
 * prints the frames parsed.  Instruction counts, unlike seconds, repeat:
 *
 *	valgrind --tool=callgrind --callgrind-out-file=cg.out bench/stomp_parse [ROUNDS]
 *	callgrind_annotate cg.out | grep stomp_
 */
#include "config.h"
#include "stomp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char input[] =
	"CONNECT\naccept-version:1.2\nhost:chat\nlogin:guest\npasscode:guest\n\n\0"
	"\n\r\n"
	"SUBSCRIBE\nid:sub-0\ndestination:/topic/room\\cone\nack:client-individual\n\n\0"
	"SEND\r\ndestination:/app/chat/room/lobby\r\ncontent-type:application/json\r\n"
	"content-length:42\r\n\r\n{\"text\":\"hello, this is a chat message!!\"}\0"
	"SEND\ndestination:/topic/bench.1\nreceipt:r-1\n\n"
	"a body of some hundred bytes without content-length, ended by its NUL byte, "
	"as stomp.js sends them.\0"
	"\n";

/* Feeds in[0..n) in pieces of at most step bytes; returns the frames. */
static long feed(stomp_parser_t *p, const char *in, size_t n, size_t step)
{
	long frames = 0;
	size_t pos = 0;

	while (pos < n) {
		size_t len = n - pos < step ? n - pos : step, used = 0;
		stomp_frame_t f;
		int rc = stomp_parser_feed(p, in + pos, len, &used, &f);

		if (rc == CHAT_OK)
			frames++;
		else if (rc != CHAT_EAGAIN) {
			fprintf(stderr, "stomp_parse: %s\n", stomp_parser_error_detail(p));
			exit(1);
		}
		pos += used;
	}
	return frames;
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? strtol(argv[1], NULL, 10) : 20000, frames = 0;
	stomp_parser_t p;

	if (stomp_parser_init(&p, NULL) != CHAT_OK)
		return 1;
	for (long i = 0; i < rounds; i++) {
		frames += feed(&p, input, sizeof(input) - 1, sizeof(input));
		frames += feed(&p, input, sizeof(input) - 1, 7);
	}
	stomp_parser_free(&p);
	printf("%ld frames\n", frames);
	return 0;
}
