/*
 * metrics - GET /metrics: this node's handlers in Prometheus' text
 * format (exposition format 0.0.4), read from the scoreboards every
 * handler keeps under METRICS_DIR (lib/metrics.c; docs/operating.md "Metrics").
 *
 * Who may read it: a scraper on this host (a loopback REMOTE_ADDR), or
 * anyone with Authorization: Bearer ADMIN_TOKEN.  The counters hold no
 * card data and no identifiers, but they do show traffic, so the open
 * internet gets a 401.  (Behind a proxy on this same host every client
 * looks local: docs/operating.md "Metrics" says what to do then.)
 */
#include "twiliopay.h"

static bool loopback(const char *addr)
{
	return addr && (tp_str_prefix(addr, "127.") || tp_str_eq(addr, "::1") ||
	                tp_str_prefix(addr, "::ffff:127."));
}

static bool metrics_authorize(tp_req *req, tp_resp *resp, const tp_config *cfg)
{
	if (loopback(req->remote_addr) && !req->h_authorization) {
		req->auth_subject = "localhost";
		return true;
	}
	return tp_admin_authorize(req, resp, cfg);
}

static void metrics(const tp_req *req, tp_resp *resp, const tp_config *cfg)
{
	(void)req;
	if (!cfg->metrics_dir) {
		tp_reply_error(resp, TP_S_SERVICE_UNAVAILABLE, "not_configured",
		               "METRICS_DIR is not set, so no handler keeps a scoreboard to read");
		return;
	}
	resp->status = TP_S_OK;
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
	if (tp_metrics_render(cfg->metrics_dir, &resp->body) != TP_OK)
		tp_reply_error(resp, TP_S_INTERNAL_SERVER_ERROR, "too_large",
		               "the metrics do not fit in a response");
}

static const tp_handler handler = {
    .name = "metrics",
    .fn = metrics,
    .flags = TP_H_GET_ONLY,
    .authorize = metrics_authorize,
};

int main(int argc, char **argv)
{
	return tp_serve(argc, argv, &handler);
}
