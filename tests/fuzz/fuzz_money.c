/* Money and expiry parsing: parse(format(parse(x))) == parse(x). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	int64_t v, w;
	int m, y, places;
	tp_buf b;

	for (places = 0; places <= 3; places++) {
		if (tp_money_parse(s, places, &v) != TP_OK)
			continue;
		FUZZ_ASSERT(v >= 0);
		tp_buf_init(&b, 64);
		tp_money_format(&b, v, places);
		FUZZ_ASSERT(tp_money_parse(tp_buf_str(&b), places, &w) == TP_OK && v == w);
		tp_buf_free(&b);
	}
	if (tp_card_expiry_parse(s, &m, &y) == TP_OK)
		FUZZ_ASSERT(m >= 1 && m <= 12 && y >= 0 && y <= 9999);
	{
		tp_card_brand br;
		const char *why;
		/* Invalid numbers carry one of Twilio's two ErrorTypes; "type"
		 * exactly when no brand is known. */
		if (tp_card_number_check(s, &br, &why) == TP_OK)
			FUZZ_ASSERT(why == NULL && br != TP_BRAND_UNKNOWN);
		else
			FUZZ_ASSERT(why && (strcmp(why, "invalid-card-type") == 0
			                        ? br == TP_BRAND_UNKNOWN
			                        : strcmp(why, "invalid-card-number") == 0));
		(void)tp_aba_routing_ok(s);
	}
	free(s);
	return 0;
}
