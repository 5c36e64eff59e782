/* The emulator's TwiML parser (sim/twiml.c, compiled in: sim/ is no
 * library): any input either parses into a tree whose every element has
 * a name and text, or fails with a reason; never a crash or a leak. */
#include "fuzz.h"

#include "../../sim/twiml.c"

static void walk(const sim_xml *x, int depth)
{
	for (; x; x = x->next) {
		FUZZ_ASSERT(depth <= MAX_DEPTH);
		FUZZ_ASSERT(x->name && *x->name);
		FUZZ_ASSERT(x->text);
		walk(x->child, depth + 1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tp_buf err;
	sim_xml *x;

	tp_buf_init(&err, 4096);
	x = sim_xml_parse((const char *)data, size, &err);
	if (x)
		walk(x, 1);
	else
		FUZZ_ASSERT(err.len > 0);
	sim_xml_free(x);
	tp_buf_free(&err);
	return 0;
}
