/* fuzz.h - shared by the libFuzzer harnesses (make fuzz). */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "twiliopay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NUL-terminated copy of the input (the caller frees). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	return tp_xstrndup((const char *)data, size);
}

/* Splits the input at the first `n` NUL bytes into n+1 strings. */
static inline size_t fuzz_split(char *s, size_t size, char **parts, size_t n)
{
	size_t k = 0, i;
	parts[k++] = s;
	for (i = 0; i < size && k <= n; i++)
		if (s[i] == '\0')
			parts[k++] = s + i + 1;
	return k;
}

#define FUZZ_ASSERT(c)                                                                             \
	do {                                                                                       \
		if (!(c))                                                                          \
			abort();                                                                   \
	} while (0)

#endif
