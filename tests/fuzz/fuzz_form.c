/* Form/query parsing: no crash, and parse(encode(parse(x))) == parse(x). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tp_params a, b;
	tp_buf enc;
	size_t i;

	tp_params_init(&a);
	tp_params_init(&b);
	tp_buf_init(&enc, 1u << 22);
	if (tp_form_parse(&a, (const char *)data, size) == TP_OK) {
		FUZZ_ASSERT(tp_form_encode(&enc, &a) == TP_OK);
		FUZZ_ASSERT(tp_form_parse(&b, tp_buf_str(&enc), enc.len) == TP_OK);
		/* Names that decode to "" are dropped on re-parse only when the
		 * whole segment was empty, which encode never produces. */
		FUZZ_ASSERT(a.n == b.n);
		for (i = 0; i < a.n; i++) {
			FUZZ_ASSERT(strcmp(a.v[i].name, b.v[i].name) == 0);
			FUZZ_ASSERT(strcmp(a.v[i].value, b.v[i].value) == 0);
		}
	} else {
		FUZZ_ASSERT(a.n == 0);
	}
	tp_params_free(&a);
	tp_params_free(&b);
	tp_buf_free(&enc);
	return 0;
}
