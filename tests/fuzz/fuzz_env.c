/* The .env reader: no crash, no leak, whatever the file holds. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tp_params p;
	tp_buf err;

	tp_params_init(&p);
	tp_buf_init(&err, 1u << 20);
	tp_env_parse(&p, (const char *)data, size, &err);
	tp_params_free(&p);
	tp_buf_free(&err);
	return 0;
}
