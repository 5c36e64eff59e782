/*
 * healthz - liveness for a load balancer: GET /healthz answers 200 from a
 * FastCGI binary, so a 200 proves nginx, the socket, the supervisor, a
 * worker and the library (configuration included) all work.
 */
#include "twiliopay.h"

static void healthz(const tp_req *req, tp_resp *resp, const tp_config *cfg)
{
	cJSON *o = cJSON_CreateObject();

	(void)req;
	(void)cfg;
	cJSON_AddStringToObject(o, "status", "ok");
	tp_reply_json_take(resp, TP_S_OK, o);
}

static const tp_handler handler = {
    .name = "healthz",
    .fn = healthz,
    .flags = TP_H_GET_ONLY,
};

int main(int argc, char **argv)
{
	return tp_serve(argc, argv, &handler);
}
