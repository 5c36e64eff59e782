/*
 * api.c - Twilio REST calls with retries, and the Calls / Payments
 * resources of the 2010 API (twilio-contract.md sections 1-3).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

void tp_api_result_free(tp_api_result *r)
{
	cJSON_Delete(r->json);
	r->json = NULL;
}

tp_rc tp_api_add_segment(tp_buf *url, const char *segment)
{
	tp_rc rc = tp_buf_addc(url, '/');
	return rc == TP_OK ? tp_url_encode(url, segment) : rc;
}

static bool transient(tp_rc rc, long status)
{
	/* No answer (not reached, timed out, a failed transfer) is tried
	 * again; an answer too big to keep is not: it would be as big again. */
	if (rc == TP_EUNAVAIL || rc == TP_ETIMEOUT || rc == TP_EIO)
		return true;
	return rc == TP_OK &&
	       (status == TP_S_TOO_MANY_REQUESTS || status == TP_S_INTERNAL_SERVER_ERROR ||
	        status == TP_S_BAD_GATEWAY || status == TP_S_SERVICE_UNAVAILABLE ||
	        status == TP_S_GATEWAY_TIMEOUT);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	tp_pool_blocking();
	while (nanosleep(&ts, &ts) != 0)
		;
}

long tp_api_budget_ms(const tp_config *cfg)
{
	/* API_RETRY_BUDGET_MS caps every call's budget (0 when a caller built
	 * its own tp_config: no cap). */
	if (cfg->api_retry_budget_ms > 0 && cfg->api_retry_budget_ms < TP_API_BUDGET_MS)
		return cfg->api_retry_budget_ms;
	return TP_API_BUDGET_MS;
}

bool tp_api_call(const tp_config *cfg, const char *method, const char *url, const tp_params *form,
                 const char *if_match, long budget_ms, tp_api_result *out)
{
	tp_buf body, userpwd, im;
	const char *hdrs[2] = {NULL, NULL};
	double start = now_ms();
	long backoff = 200;
	bool ok = false;
	/* For the latency histogram: Sync (TWILIO_SYNC_URL/v1/...), or the
	 * 2010 API.  By path too: the sandbox serves both from one origin. */
	tp_metrics_kind kind = cfg->twilio_sync_url && tp_str_prefix(url, cfg->twilio_sync_url) &&
	                               tp_str_prefix(url + strlen(cfg->twilio_sync_url), "/v1/")
	                           ? TP_METRICS_SYNC
	                           : TP_METRICS_REST;

	if (budget_ms > tp_api_budget_ms(cfg))
		budget_ms = tp_api_budget_ms(cfg);
	memset(out, 0, sizeof *out);
	tp_buf_init(&body, 1u << 20);
	tp_buf_init(&userpwd, 1024);
	tp_buf_init(&im, 256);
	if (form)
		tp_form_encode(&body, form);
	tp_buf_addf(&userpwd, "%s:%s", cfg->account_sid ? cfg->account_sid : "",
	            cfg->auth_token ? cfg->auth_token : "");
	if (if_match) {
		tp_buf_addf(&im, "If-Match: %s", if_match);
		hdrs[0] = tp_buf_str(&im);
	}
	for (;;) {
		/* No attempt may outlive the budget: a request that hangs
		 * until HTTP_TIMEOUT_MS after a slow first try would carry a
		 * webhook past Twilio's 15 s. */
		double spent = now_ms() - start;
		long attempt_ms = (long)((double)budget_ms - spent);
		tp_http_req rq = {
		    .method = method,
		    .url = url,
		    .userpwd = tp_buf_str(&userpwd),
		    .body = form ? tp_buf_str(&body) : NULL,
		    .body_len = body.len,
		    .headers = hdrs,
		};
		tp_http_resp resp;
		tp_rc rc;
		double left, attempt_start;
		long timeout = cfg->http_timeout_ms > 0 ? cfg->http_timeout_ms : 10000;

		if (attempt_ms < timeout)
			timeout = attempt_ms < 100 ? 100 : attempt_ms;
		rq.timeout_ms = timeout;

		attempt_start = now_ms();
		rc = tp_http_do(&rq, &resp);
		out->attempts++;
		out->status = rc == TP_OK ? resp.status : 0;
		tp_metrics_twilio(kind, (now_ms() - attempt_start) / 1e3,
		                  !transient(rc, out->status));
		snprintf(out->etag, sizeof out->etag, "%s", resp.etag);
		if (rc == TP_OK && resp.status >= 200 && resp.status < 300) {
			if (resp.body.len) {
				out->json = cJSON_ParseWithLength(resp.body.ptr, resp.body.len);
				if (!out->json) {
					tp_twilio_error_from(&out->err, rc, &resp);
					snprintf(out->err.message, sizeof out->err.message,
					         "Twilio answered %ld with a body that is not JSON",
					         resp.status);
					tp_http_resp_free(&resp);
					break;
				}
			}
			tp_http_resp_free(&resp);
			ok = true;
			break;
		}
		tp_twilio_error_from(&out->err, rc, &resp);
		tp_http_resp_free(&resp);
		left = (double)budget_ms - (now_ms() - start);
		if (!transient(rc, out->status) || left < (double)backoff + 50)
			break;
		{
			/* Full jitter (AWS architecture blog, "Exponential
			 * Backoff And Jitter"): concurrent workers that failed
			 * together do not retry together. */
			unsigned r;
			tp_random_bytes(&r, sizeof r);
			sleep_ms(backoff / 2 + (long)(r % (unsigned)(backoff / 2 + 1)));
		}
		tp_log_kv(TP_LOG_WARN, "retrying Twilio request", "method", method, "url", url,
		          "error", out->err.message);
		backoff *= 2;
	}
	tp_buf_free(&body);
	tp_buf_free(&userpwd);
	tp_buf_free(&im);
	return ok;
}

/* base + /2010-04-01/Accounts/{AC}/Calls/{call}[/Payments[/{pk}]].json */
static void calls_url(tp_buf *u, const tp_config *cfg, const char *call_sid, bool payments,
                      const char *payment_sid)
{
	tp_buf_adds(u, cfg->twilio_api_url);
	tp_buf_adds(u, "/2010-04-01/Accounts");
	tp_api_add_segment(u, cfg->account_sid ? cfg->account_sid : "");
	tp_buf_adds(u, "/Calls");
	tp_api_add_segment(u, call_sid);
	if (payments) {
		tp_buf_adds(u, "/Payments");
		if (payment_sid)
			tp_api_add_segment(u, payment_sid);
	}
	tp_buf_adds(u, ".json");
}

bool tp_call_fetch(const tp_config *cfg, const char *call_sid, tp_api_result *out)
{
	tp_buf u;
	bool ok;

	tp_buf_init(&u, 4096);
	calls_url(&u, cfg, call_sid, false, NULL);
	ok = tp_api_call(cfg, "GET", tp_buf_str(&u), NULL, NULL, TP_API_BUDGET_MS, out);
	tp_buf_free(&u);
	return ok;
}

bool tp_payment_create(const tp_config *cfg, const char *call_sid, const tp_params *form,
                       tp_api_result *out)
{
	tp_buf u;
	bool ok;

	tp_buf_init(&u, 4096);
	calls_url(&u, cfg, call_sid, true, NULL);
	ok = tp_api_call(cfg, "POST", tp_buf_str(&u), form, NULL, TP_API_BUDGET_MS, out);
	tp_buf_free(&u);
	return ok;
}

bool tp_payment_update(const tp_config *cfg, const char *call_sid, const char *payment_sid,
                       const tp_params *form, tp_api_result *out)
{
	tp_buf u;
	bool ok;

	tp_buf_init(&u, 4096);
	calls_url(&u, cfg, call_sid, true, payment_sid);
	ok = tp_api_call(cfg, "POST", tp_buf_str(&u), form, NULL, TP_API_BUDGET_MS, out);
	tp_buf_free(&u);
	return ok;
}
