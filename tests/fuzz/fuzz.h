/* fuzz.h - the libFuzzer entry point every target in tests/fuzz defines. */
#ifndef CHAT_FUZZ_H
#define CHAT_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* Runs one input through the target; returns 0 (abort()s on a broken
 * invariant, so libFuzzer and the corpus replay both report it). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
