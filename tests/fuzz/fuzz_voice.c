/* Voice parsers (lib/voice.c): SIP/tel URIs, E.164 numbers, REFER
 * targets, User-to-User values, and the toll-fraud rule (lib/dial.c).
 * Properties: numbers that come out are valid E.164; a rendered <Sip> URI
 * holds no markup or blanks; a valid UUI survives encode/decode;
 * everything decoded is a valid UUI; the dial rule allows no number that
 * is not E.164 or that is in the premium list, and no SIP URI whose host
 * is not the configured domain. */
#include <ctype.h>

#include "fuzz.h"

static void no_markup(const char *s)
{
	for (; *s; s++)
		FUZZ_ASSERT(*s != '<' && *s != '>' && *s != '"' && !isspace((unsigned char)*s) &&
		            (unsigned char)*s >= 0x20);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	char num[TP_VOICE_E164_SIZE];
	tp_voice_uri u;
	tp_voice_target t;
	tp_buf b, d;

	static char domain[] = "customer.sip.example.com";
	tp_config cfg;

	memset(&cfg, 0, sizeof cfg);
	cfg.sip_domain_uri = domain;
	tp_buf_init(&b, 1u << 20);
	tp_buf_init(&d, 1u << 20);
	if (!tp_dial_refusal(&cfg, TP_DIAL_NUMBER, s))
		FUZZ_ASSERT(tp_voice_e164_valid(s) && strncmp(s, "+1900", 5) != 0 &&
		            strncmp(s, "+449", 4) != 0 && strncmp(s, "+979", 4) != 0);
	if (!tp_dial_refusal(&cfg, TP_DIAL_SIP, s)) {
		FUZZ_ASSERT(tp_voice_uri_parse(s, &u) == TP_OK);
		FUZZ_ASSERT(strncasecmp(u.host, domain, strlen(domain)) == 0 &&
		            (u.host[strlen(domain)] == '\0' || u.host[strlen(domain)] == ':'));
		tp_voice_uri_free(&u);
	}
	if (tp_voice_number(s, num) == TP_OK)
		FUZZ_ASSERT(tp_voice_e164_valid(num));
	if (tp_voice_uri_parse(s, &u) == TP_OK) {
		if (tp_voice_sip_uri(&b, &u, "CA0123456789abcdef0123456789abcdef") == TP_OK)
			no_markup(tp_buf_str(&b));
		tp_voice_uri_free(&u);
	}
	if (tp_voice_refer_target(s, &t) == TP_OK) {
		if (!t.sip)
			FUZZ_ASSERT(tp_voice_e164_valid(t.number));
		if (t.uui)
			FUZZ_ASSERT(tp_voice_uui_valid(t.uui));
		tp_voice_target_free(&t);
	}
	tp_buf_reset(&b);
	if (tp_voice_uui_decode(&b, s) == TP_OK)
		FUZZ_ASSERT(tp_voice_uui_valid(tp_buf_str(&b)));
	if (tp_voice_uui_valid(s)) {
		tp_buf_reset(&b);
		FUZZ_ASSERT(tp_voice_uui_encode(&b, s) == TP_OK);
		FUZZ_ASSERT(tp_voice_uui_decode(&d, tp_buf_str(&b)) == TP_OK);
		FUZZ_ASSERT(strcmp(tp_buf_str(&d), s) == 0);
	}
	tp_buf_free(&b);
	tp_buf_free(&d);
	free(s);
	return 0;
}
