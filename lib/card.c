/*
 * card.c - payment data rules shared by the connector (which receives card
 * data in clear), the emulator (which validates DTMF the way Twilio does)
 * and the capture handlers (amounts and currencies).
 *
 * Brands and prefixes follow the card types of Twilio's <Pay>
 * validCardTypes (twilio-contract.md section 4.1) with the issuers'
 * published IIN ranges; lengths are the ranges each network issues.
 * Routing numbers use the ABA checksum (weights 3 7 1, sum divisible by
 * 10).  Currencies are ISO 4217 active codes with their minor units.
 */
#include <string.h>
#include <time.h>

#include "internal.h"

static const char *const brand_names[] = {
    [TP_BRAND_UNKNOWN] = "unknown",       [TP_BRAND_VISA] = "visa",
    [TP_BRAND_MASTERCARD] = "mastercard", [TP_BRAND_AMEX] = "amex",
    [TP_BRAND_DISCOVER] = "discover",     [TP_BRAND_JCB] = "jcb",
    [TP_BRAND_DINERS] = "diners-club",    [TP_BRAND_MAESTRO] = "maestro",
    [TP_BRAND_ENROUTE] = "enroute",
};

const char *tp_card_brand_name(tp_card_brand b)
{
	if ((unsigned)b >= sizeof brand_names / sizeof brand_names[0])
		return "unknown";
	return brand_names[b];
}

tp_card_brand tp_card_brand_from_name(const char *name)
{
	size_t i;

	for (i = 1; i < sizeof brand_names / sizeof brand_names[0]; i++)
		if (tp_str_eq(name, brand_names[i]))
			return (tp_card_brand)i;
	return TP_BRAND_UNKNOWN;
}

static bool all_digits(const char *s, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return n > 0;
}

/* The first `n` digits as a number (n <= 6). */
static unsigned prefix(const char *d, size_t n)
{
	unsigned v = 0;
	size_t i;
	for (i = 0; i < n && d[i]; i++)
		v = v * 10 + (unsigned)(d[i] - '0');
	return v;
}

static bool in(unsigned v, unsigned lo, unsigned hi)
{
	return v >= lo && v <= hi;
}

tp_card_brand tp_card_brand_of(const char *d)
{
	size_t n = strlen(d);

	if (n < 4 || !all_digits(d, n))
		return TP_BRAND_UNKNOWN;
	if (prefix(d, 2) == 34 || prefix(d, 2) == 37)
		return TP_BRAND_AMEX;
	if (prefix(d, 4) == 2014 || prefix(d, 4) == 2149)
		return TP_BRAND_ENROUTE;
	if (in(prefix(d, 2), 51, 55) || in(prefix(d, 4), 2221, 2720))
		return TP_BRAND_MASTERCARD;
	if (d[0] == '4')
		return TP_BRAND_VISA;
	if (prefix(d, 4) == 6011 || in(prefix(d, 3), 644, 649) || prefix(d, 2) == 65 ||
	    (n >= 6 && in(prefix(d, 6), 622126, 622925)))
		return TP_BRAND_DISCOVER;
	if (in(prefix(d, 4), 3528, 3589))
		return TP_BRAND_JCB;
	if (in(prefix(d, 3), 300, 305) || prefix(d, 2) == 36 || prefix(d, 2) == 38 ||
	    prefix(d, 2) == 39 || prefix(d, 4) == 3095)
		return TP_BRAND_DINERS;
	if (prefix(d, 2) == 50 || in(prefix(d, 2), 56, 69))
		return TP_BRAND_MAESTRO;
	return TP_BRAND_UNKNOWN;
}

bool tp_card_length_ok(tp_card_brand b, size_t n)
{
	switch (b) {
	case TP_BRAND_VISA:
		return n == 13 || n == 16 || n == 19;
	case TP_BRAND_MASTERCARD:
		return n == 16;
	case TP_BRAND_AMEX:
	case TP_BRAND_ENROUTE:
		return n == 15;
	case TP_BRAND_DISCOVER:
	case TP_BRAND_JCB:
		return n >= 16 && n <= 19;
	case TP_BRAND_DINERS:
		return n >= 14 && n <= 19;
	case TP_BRAND_MAESTRO:
		return n >= 12 && n <= 19;
	case TP_BRAND_UNKNOWN:
		break;
	}
	return false;
}

bool tp_luhn_ok(const char *d, size_t n)
{
	unsigned sum = 0;
	size_t i;

	if (!all_digits(d, n))
		return false;
	for (i = 0; i < n; i++) {
		unsigned v = (unsigned)(d[n - 1 - i] - '0');
		if (i % 2 == 1) {
			v *= 2;
			if (v > 9)
				v -= 9;
		}
		sum += v;
	}
	return sum % 10 == 0;
}

bool tp_card_luhn_ok(const char *d)
{
	return tp_luhn_ok(d, strlen(d));
}

tp_rc tp_card_number_check(const char *d, tp_card_brand *brand, const char **why)
{
	size_t n = strlen(d);
	tp_card_brand b;

	*brand = TP_BRAND_UNKNOWN;
	*why = "invalid-card-number";
	if (!all_digits(d, n) || n < 12 || n > 19)
		return TP_EINVAL;
	b = tp_card_brand_of(d);
	*brand = b;
	if (b == TP_BRAND_UNKNOWN) {
		*why = "invalid-card-type";
		return TP_EINVAL;
	}
	if (!tp_card_length_ok(b, n) || !tp_card_luhn_ok(d))
		return TP_EINVAL;
	*why = NULL;
	return TP_OK;
}

size_t tp_card_cvc_len(tp_card_brand b)
{
	return b == TP_BRAND_AMEX ? 4 : 3;
}

bool tp_card_cvc_ok(tp_card_brand b, const char *cvc)
{
	size_t n = strlen(cvc);
	if (!all_digits(cvc, n))
		return false;
	if (b == TP_BRAND_UNKNOWN)
		return n == 3 || n == 4;
	return n == tp_card_cvc_len(b);
}

tp_rc tp_card_expiry_parse(const char *s, int *month, int *year)
{
	char d[7];
	size_t n = 0, i, len = strlen(s);
	uint64_t mm, yy;

	/* MMYY, MM/YY, MMYYYY, MM/YYYY */
	for (i = 0; i < len; i++) {
		if (s[i] == '/' && i == 2)
			continue;
		if (s[i] < '0' || s[i] > '9' || n >= 6)
			return TP_EINVAL;
		d[n++] = s[i];
	}
	if (n != 4 && n != 6)
		return TP_EINVAL;
	tp_str_to_u64(d, 2, 99, &mm);
	tp_str_to_u64(d + 2, n - 2, 9999, &yy);
	if (mm < 1 || mm > 12)
		return TP_EINVAL;
	*month = (int)mm;
	*year = n == 4 ? 2000 + (int)yy : (int)yy;
	return TP_OK;
}

bool tp_card_expiry_current(int month, int year, time_t now)
{
	struct tm tm;
	int cur;

	gmtime_r(&now, &tm);
	cur = (tm.tm_year + 1900) * 12 + tm.tm_mon; /* months since year 0 */
	/* A card is good through the last day of its expiry month; cards are
	 * not issued for more than 20 years ahead. */
	return year * 12 + (month - 1) >= cur && year * 12 + (month - 1) <= cur + 20 * 12;
}

bool tp_aba_routing_ok(const char *r)
{
	static const unsigned w[9] = {3, 7, 1, 3, 7, 1, 3, 7, 1};
	unsigned sum = 0;
	size_t i;

	if (strlen(r) != 9 || !all_digits(r, 9))
		return false;
	for (i = 0; i < 9; i++)
		sum += w[i] * (unsigned)(r[i] - '0');
	/* The first two digits are a Federal Reserve routing symbol: 00-12,
	 * 21-32, 61-72 or 80. */
	{
		unsigned p = prefix(r, 2);
		if (!(p <= 12 || in(p, 21, 32) || in(p, 61, 72) || p == 80))
			return false;
	}
	return sum % 10 == 0 && sum != 0;
}

bool tp_bank_account_ok(const char *a)
{
	size_t n = strlen(a);
	/* US account numbers are 4-17 digits (NACHA DFI account number
	 * field is 17 characters). */
	return n >= 4 && n <= 17 && all_digits(a, n);
}

void tp_card_mask(const char *d, tp_buf *out)
{
	size_t n = strlen(d), i;

	/* Twilio's masking (twilio-contract.md 4.1): all but the last four
	 * digits become 'x'. */
	for (i = 0; i < n; i++)
		tp_buf_addc(out, i + 4 < n ? 'x' : d[i]);
}

/* ------------------------------------------------------------ money */

static const struct {
	char code[4];
	unsigned char minor;
} currencies[] = {
    {"AED", 2}, {"AFN", 2}, {"ALL", 2}, {"AMD", 2}, {"ANG", 2}, {"AOA", 2}, {"ARS", 2}, {"AUD", 2},
    {"AWG", 2}, {"AZN", 2}, {"BAM", 2}, {"BBD", 2}, {"BDT", 2}, {"BGN", 2}, {"BHD", 3}, {"BIF", 0},
    {"BMD", 2}, {"BND", 2}, {"BOB", 2}, {"BOV", 2}, {"BRL", 2}, {"BSD", 2}, {"BTN", 2}, {"BWP", 2},
    {"BYN", 2}, {"BZD", 2}, {"CAD", 2}, {"CDF", 2}, {"CHE", 2}, {"CHF", 2}, {"CHW", 2}, {"CLF", 4},
    {"CLP", 0}, {"CNY", 2}, {"COP", 2}, {"COU", 2}, {"CRC", 2}, {"CUP", 2}, {"CVE", 2}, {"CZK", 2},
    {"DJF", 0}, {"DKK", 2}, {"DOP", 2}, {"DZD", 2}, {"EGP", 2}, {"ERN", 2}, {"ETB", 2}, {"EUR", 2},
    {"FJD", 2}, {"FKP", 2}, {"GBP", 2}, {"GEL", 2}, {"GHS", 2}, {"GIP", 2}, {"GMD", 2}, {"GNF", 0},
    {"GTQ", 2}, {"GYD", 2}, {"HKD", 2}, {"HNL", 2}, {"HTG", 2}, {"HUF", 2}, {"IDR", 2}, {"ILS", 2},
    {"INR", 2}, {"IQD", 3}, {"IRR", 2}, {"ISK", 0}, {"JMD", 2}, {"JOD", 3}, {"JPY", 0}, {"KES", 2},
    {"KGS", 2}, {"KHR", 2}, {"KMF", 0}, {"KPW", 2}, {"KRW", 0}, {"KWD", 3}, {"KYD", 2}, {"KZT", 2},
    {"LAK", 2}, {"LBP", 2}, {"LKR", 2}, {"LRD", 2}, {"LSL", 2}, {"LYD", 3}, {"MAD", 2}, {"MDL", 2},
    {"MGA", 2}, {"MKD", 2}, {"MMK", 2}, {"MNT", 2}, {"MOP", 2}, {"MRU", 2}, {"MUR", 2}, {"MVR", 2},
    {"MWK", 2}, {"MXN", 2}, {"MXV", 2}, {"MYR", 2}, {"MZN", 2}, {"NAD", 2}, {"NGN", 2}, {"NIO", 2},
    {"NOK", 2}, {"NPR", 2}, {"NZD", 2}, {"OMR", 3}, {"PAB", 2}, {"PEN", 2}, {"PGK", 2}, {"PHP", 2},
    {"PKR", 2}, {"PLN", 2}, {"PYG", 0}, {"QAR", 2}, {"RON", 2}, {"RSD", 2}, {"RUB", 2}, {"RWF", 0},
    {"SAR", 2}, {"SBD", 2}, {"SCR", 2}, {"SDG", 2}, {"SEK", 2}, {"SGD", 2}, {"SHP", 2}, {"SLE", 2},
    {"SOS", 2}, {"SRD", 2}, {"SSP", 2}, {"STN", 2}, {"SVC", 2}, {"SYP", 2}, {"SZL", 2}, {"THB", 2},
    {"TJS", 2}, {"TMT", 2}, {"TND", 3}, {"TOP", 2}, {"TRY", 2}, {"TTD", 2}, {"TWD", 2}, {"TZS", 2},
    {"UAH", 2}, {"UGX", 0}, {"USD", 2}, {"USN", 2}, {"UYI", 0}, {"UYU", 2}, {"UYW", 4}, {"UZS", 2},
    {"VED", 2}, {"VES", 2}, {"VND", 0}, {"VUV", 0}, {"WST", 2}, {"XAF", 0}, {"XCD", 2}, {"XCG", 2},
    {"XOF", 0}, {"XPF", 0}, {"YER", 2}, {"ZAR", 2}, {"ZMW", 2}, {"ZWG", 2},
};

int tp_currency_minor_units(const char *code)
{
	size_t i;

	if (!code || strlen(code) != 3)
		return -1;
	for (i = 0; i < sizeof currencies / sizeof currencies[0]; i++)
		if (memcmp(code, currencies[i].code, 3) == 0)
			return currencies[i].minor;
	return -1;
}

int tp_currency_code(const char *s, size_t len, char out[4])
{
	size_t i;
	int units;

	out[0] = '\0';
	if (!s || len != 3)
		return -1;
	/* ASCII only: toupper would follow the locale. */
	for (i = 0; i < 3; i++)
		out[i] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 'a' + 'A' : s[i]);
	out[3] = '\0';
	units = tp_currency_minor_units(out);
	if (units < 0)
		out[0] = '\0';
	return units;
}

int64_t tp_amount_limit_minor(int places)
{
	int64_t limit = TP_AMOUNT_LIMIT;
	int i;

	for (i = 0; i < places; i++)
		limit *= 10;
	return limit;
}

bool tp_amount_below_limit(int64_t minor, int places)
{
	return minor < tp_amount_limit_minor(places);
}

const char *tp_currency_code_at(size_t i)
{
	return i < sizeof currencies / sizeof currencies[0] ? currencies[i].code : NULL;
}

tp_rc tp_money_parse(const char *s, int max_places, int64_t *minor_out)
{
	const char *dot;
	size_t ilen, flen, i;
	uint64_t whole = 0, frac = 0;
	int64_t scale = 1;

	if (!s || !*s || max_places < 0 || max_places > 4)
		return TP_EINVAL;
	dot = strchr(s, '.');
	ilen = dot ? (size_t)(dot - s) : strlen(s);
	flen = dot ? strlen(dot + 1) : 0;
	if (ilen == 0 || ilen > 7 || (dot && flen == 0) || flen > (size_t)max_places)
		return TP_EINVAL;
	if (tp_str_to_u64(s, ilen, 9999999, &whole) != TP_OK)
		return TP_EINVAL;
	if (flen && tp_str_to_u64(dot + 1, flen, 9999, &frac) != TP_OK)
		return TP_EINVAL;
	for (i = 0; i < (size_t)max_places; i++)
		scale *= 10;
	for (i = flen; i < (size_t)max_places; i++)
		frac *= 10;
	*minor_out = (int64_t)whole * scale + (int64_t)frac;
	return TP_OK;
}

tp_rc tp_money_format(tp_buf *out, int64_t minor, int places)
{
	int64_t scale = 1;
	int i;

	for (i = 0; i < places; i++)
		scale *= 10;
	if (places == 0)
		return tp_buf_addf(out, "%lld", (long long)minor);
	return tp_buf_addf(out, "%lld.%0*lld", (long long)(minor / scale), places,
	                   (long long)(minor % scale));
}
