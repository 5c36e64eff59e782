/*
 * unit.h - shared by the CMocka unit tests (one file per library module).
 * Table-driven cases carry __LINE__ so a failure names its row.
 */
#ifndef UNIT_H
#define UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"

#define ROW_FAIL(line, ...)                                                                        \
	do {                                                                                       \
		print_error("table row at line %d: ", (line));                                     \
		print_error(__VA_ARGS__);                                                          \
		fail();                                                                            \
	} while (0)

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

#endif
