/* Signatures: input = url \0 token \0 header \0 form-body.
 * Never crashes; a computed signature always validates; the fuzzed
 * header validates only if it equals one of the accepted forms. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	char *part[4] = {0};
	char sig[TP_SIG_LEN + 1];
	tp_params form;

	tp_params_init(&form);
	if (fuzz_split(s, size, part, 3) == 4 && *part[1] &&
	    tp_form_parse(&form, part[3], strlen(part[3])) == TP_OK) {
		(void)tp_sig_valid(part[0], &form, part[3], strlen(part[3]), part[1], part[2]);
		tp_sig_compute(part[0], &form, part[1], sig);
		if (strstr(part[0], "://") && !strstr(part[0], "bodySHA256"))
			FUZZ_ASSERT(tp_sig_valid(part[0], &form, NULL, 0, part[1], sig));
	}
	tp_params_free(&form);
	free(s);
	return 0;
}
