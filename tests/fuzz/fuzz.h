/* fuzz.h - shared by the libFuzzer harnesses (make fuzz). */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

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

/* The stored form of a session reads back as itself: to_json(from_json(
 * to_json(c))) prints as to_json(c).  *back gets what was read. */
static inline void fuzz_capture_roundtrip(const tp_capture *c, tp_capture *back)
{
	cJSON *j1 = tp_capture_to_json(c), *j2;
	char *a = cJSON_PrintUnformatted(j1), *b;

	FUZZ_ASSERT(tp_capture_from_json(back, j1) == TP_OK);
	j2 = tp_capture_to_json(back);
	b = cJSON_PrintUnformatted(j2);
	FUZZ_ASSERT(strcmp(a, b) == 0);
	free(a);
	free(b);
	cJSON_Delete(j1);
	cJSON_Delete(j2);
}

#endif
