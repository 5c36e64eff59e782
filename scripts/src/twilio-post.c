/*
 * twilio-post - send a webhook exactly as Twilio sends it: a form POST
 * signed with X-Twilio-Signature (twilio-contract.md section 9).
 *
 *   twilio-post [options] URL [Name=value ...]
 *     -t TOKEN        auth token (default: AUTH_TOKEN from env or .env)
 *     -s SIGN_URL     sign this URL instead of URL (a proxy's public URL,
 *                     or a replay test)
 *     -H 'N: v'       extra request header (repeatable)
 *     -X METHOD       GET sends the params in the query string
 *     -i              print the status line and headers too
 *     --no-signature  send no X-Twilio-Signature
 *     --bad-signature send a wrong one
 *     --print         print the signature and exit, send nothing
 *
 * Values are given raw (Name=value with spaces, '+', '&' as they are) and
 * encoded here.  Exit status: 0 for a 2xx answer, 1 for any other, 2 for
 * a usage or transport error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "twiliopay.h"

/* Beside EXIT_SUCCESS (a 2xx answer) and EXIT_FAILURE (any other). */
#define EXIT_ERROR 2 /* a bad command line, no token, or no answer */

static void usage(void)
{
	fputs("usage: twilio-post [-t TOKEN] [-s SIGN_URL] [-H 'Name: value'] [-X GET|POST] [-i]\n"
	      "                   [--no-signature|--bad-signature|--print] URL [Name=value ...]\n",
	      stderr);
	exit(EXIT_ERROR);
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	if (ud)
		fwrite(p, size, n, stdout);
	return size * n;
}

int main(int argc, char **argv)
{
	const char *token = NULL, *sign_url = NULL, *url = NULL, *method = "POST";
	bool show_headers = false, no_sig = false, bad_sig = false, print_only = false;
	struct curl_slist *hdrs = NULL;
	tp_params form;
	tp_buf body, full_url, sighdr, cfgerr;
	tp_config cfg;
	char sig[TP_SIG_LEN + 1];
	long status = 0;
	int i, rc = EXIT_ERROR;
	CURL *c;

	tp_params_init(&form);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-t") == 0 && i + 1 < argc)
			token = argv[++i];
		else if (strcmp(a, "-s") == 0 && i + 1 < argc)
			sign_url = argv[++i];
		else if (strcmp(a, "-H") == 0 && i + 1 < argc)
			hdrs = curl_slist_append(hdrs, argv[++i]);
		else if (strcmp(a, "-X") == 0 && i + 1 < argc)
			method = argv[++i];
		else if (strcmp(a, "-i") == 0)
			show_headers = true;
		else if (strcmp(a, "--no-signature") == 0)
			no_sig = true;
		else if (strcmp(a, "--bad-signature") == 0)
			bad_sig = true;
		else if (strcmp(a, "--print") == 0)
			print_only = true;
		else if (a[0] == '-')
			usage();
		else if (!url)
			url = a;
		else {
			const char *eq = strchr(a, '=');
			char *name;
			if (!eq)
				usage();
			name = tp_xstrndup(a, (size_t)(eq - a));
			tp_params_add(&form, name, eq + 1);
			free(name);
		}
	}
	if (!url)
		usage();
	tp_buf_init(&cfgerr, 65536);
	tp_config_load(&cfg, NULL, &cfgerr); /* only for AUTH_TOKEN */
	if (!token)
		token = tp_config_raw("AUTH_TOKEN");
	if (!token && !no_sig) {
		fputs("twilio-post: no auth token: give -t or set AUTH_TOKEN\n", stderr);
		return EXIT_ERROR;
	}

	tp_buf_init(&body, 1u << 20);
	tp_buf_init(&full_url, 1u << 16);
	tp_buf_init(&sighdr, 256);
	tp_form_encode(&body, &form);
	tp_buf_adds(&full_url, url);
	if (strcmp(method, "GET") == 0 && form.n) {
		tp_buf_addc(&full_url, strchr(url, '?') ? '&' : '?');
		tp_buf_adds(&full_url, tp_buf_str(&body));
	}
	if (!no_sig) {
		/* GET: the parameters are in the URL, nothing is appended. */
		bool get = strcmp(method, "GET") == 0;
		tp_sig_compute(sign_url ? sign_url : tp_buf_str(&full_url), get ? NULL : &form,
		               token, sig);
		if (bad_sig)
			sig[0] = sig[0] == 'A' ? 'B' : 'A';
		if (print_only) {
			puts(sig);
			rc = EXIT_SUCCESS;
			goto out;
		}
		tp_buf_addf(&sighdr, "X-Twilio-Signature: %s", sig);
		hdrs = curl_slist_append(hdrs, tp_buf_str(&sighdr));
	}
	hdrs = curl_slist_append(hdrs, "Expect:");
	hdrs = curl_slist_append(hdrs, "User-Agent: TwilioProxy/1.1");

	curl_global_init(CURL_GLOBAL_DEFAULT);
	c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, tp_buf_str(&full_url));
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, show_headers ? (void *)stdout : NULL);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, tp_buf_str(&body));
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body.len);
		if (strcmp(method, "POST") != 0)
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}
	if (curl_easy_perform(c) == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		rc = status >= 200 && status < 300 ? EXIT_SUCCESS : EXIT_FAILURE;
	} else {
		fprintf(stderr, "twilio-post: request to %s failed\n", url);
	}
	fflush(stdout);
	curl_easy_cleanup(c);
out:
	curl_slist_free_all(hdrs);
	tp_buf_free(&body);
	tp_buf_free(&full_url);
	tp_buf_free(&sighdr);
	tp_buf_free(&cfgerr);
	tp_params_free(&form);
	tp_config_free(&cfg);
	return rc;
}
