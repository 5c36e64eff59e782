/* The .env readers: no crash, no leak, whatever the file holds; and every
 * value the Node original's reader (dotenv 6.2.0, tp_dotenv_parse) takes
 * from it can be written as a line our reader (tp_env_parse) reads back
 * unchanged - what twiliopay-migrate relies on. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tp_params p;
	tp_buf err;
	tp_dotenv d;
	size_t i;

	tp_params_init(&p);
	tp_buf_init(&err, 1u << 20);
	tp_env_parse(&p, (const char *)data, size, &err);
	tp_params_free(&p);
	tp_buf_free(&err);

	if (tp_dotenv_parse((const char *)data, size, &d) != TP_OK)
		return 0;
	for (i = 0; i < d.n; i++) {
		tp_buf line;
		if (d.v[i].kind != TP_DOTENV_SET)
			continue;
		tp_buf_init(&line, 1u << 20);
		/* dotenv never yields a \r in a value, nor '=', '#' or a line
		 * break in a name: a line must always be possible. */
		if (tp_env_format(&line, d.v[i].key, d.v[i].value) != TP_OK ||
		    !tp_env_line_reads(tp_buf_str(&line), d.v[i].key, d.v[i].value))
			__builtin_trap();
		tp_buf_free(&line);
	}
	tp_dotenv_free(&d);
	return 0;
}
