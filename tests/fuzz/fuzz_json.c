/* JSON request bodies -> parameters (lib/params.c tp_params_from_json, the
 * path every JSON body of an agent, admin or connector request takes in
 * lib/fcgi.c).  Properties: no crash and no undefined behaviour (UBSan) for
 * any JSON; every scalar member becomes exactly one pair, in order, with
 * its name; strings pass unchanged, booleans as true/false, integers
 * exactly, other numbers so that they read back to the same double within
 * 15 significant digits; the pairs survive a form encode/parse round trip.
 * The same bytes also go through the request pipeline as a JSON body. */
#include <math.h>

#include "fuzz.h"

static void check_pairs(const cJSON *obj, const tp_params *p)
{
	const cJSON *it;
	size_t k = 0;

	cJSON_ArrayForEach (it, obj) {
		const tp_param *pp;
		if (!it->string || !(cJSON_IsString(it) || cJSON_IsBool(it) || cJSON_IsNumber(it)))
			continue;
		FUZZ_ASSERT(k < p->n);
		pp = &p->v[k++];
		FUZZ_ASSERT(strcmp(pp->name, it->string) == 0);
		if (cJSON_IsString(it)) {
			FUZZ_ASSERT(strcmp(pp->value, it->valuestring) == 0);
		} else if (cJSON_IsBool(it)) {
			FUZZ_ASSERT(strcmp(pp->value, cJSON_IsTrue(it) ? "true" : "false") == 0);
		} else {
			double d = it->valuedouble, back;
			char *end;
			FUZZ_ASSERT(*pp->value);
			back = strtod(pp->value, &end);
			FUZZ_ASSERT(*end == '\0');
			if (isfinite(d) && d == floor(d) && fabs(d) < 1e15)
				FUZZ_ASSERT(back == d); /* integers exactly */
			else if (isfinite(d))
				FUZZ_ASSERT(fabs(back - d) <= fabs(d) * 1e-14);
		}
	}
	FUZZ_ASSERT(k == p->n);
}

/* Answers with the parameters it was given, as JSON. */
static void echo(const tp_req *req, tp_resp *resp, const tp_config *cfg)
{
	cJSON *o = cJSON_CreateObject();
	size_t i;

	(void)cfg;
	for (i = 0; i < req->body_params.n; i++)
		cJSON_AddStringToObject(o, req->body_params.v[i].name, req->body_params.v[i].value);
	tp_reply_json_take(resp, 200, o);
}

/* The whole pipeline with the input as a JSON body: it always answers,
 * and the answer (the echo, or the pipeline's own error) is a JSON
 * object. */
static void through_pipeline(const uint8_t *data, size_t size)
{
	static const tp_handler h = {.name = "f", .fn = echo};
	static tp_config cfg;
	tp_buf out, cl;
	const char *env[5], *body;
	cJSON *j;

	if (!cfg.server_url) {
		cfg.server_url = tp_xstrdup("https://pay.example.com");
		cfg.max_body_bytes = 65536;
		tp_log_set_level(TP_LOG_ERROR);
	}
	tp_buf_init(&out, 1u << 22);
	tp_buf_init(&cl, 64);
	tp_buf_addf(&cl, "CONTENT_LENGTH=%zu", size);
	env[0] = "REQUEST_METHOD=POST";
	env[1] = "DOCUMENT_URI=/aap/startCapture";
	env[2] = "CONTENT_TYPE=application/json; charset=utf-8";
	env[3] = tp_buf_str(&cl);
	env[4] = NULL;
	tp_process_cgi(&h, &cfg, env, (const char *)data, size, &out);
	FUZZ_ASSERT(strncmp(tp_buf_str(&out), "Status: ", 8) == 0);
	body = strstr(tp_buf_str(&out), "\r\n\r\n");
	FUZZ_ASSERT(body);
	j = cJSON_Parse(body + 4);
	FUZZ_ASSERT(cJSON_IsObject(j));
	cJSON_Delete(j);
	tp_buf_free(&out);
	tp_buf_free(&cl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *j = cJSON_ParseWithLength((const char *)data, size);
	tp_params p, q;
	tp_buf enc;
	size_t i;

	through_pipeline(data, size);
	if (!j)
		return 0;
	tp_params_init(&p);
	tp_params_init(&q);
	tp_buf_init(&enc, 1u << 22);
	if (tp_params_from_json(&p, j) != TP_OK) {
		FUZZ_ASSERT(!cJSON_IsObject(j) && p.n == 0);
	} else {
		check_pairs(j, &p);
		FUZZ_ASSERT(tp_form_encode(&enc, &p) == TP_OK);
		if (p.n <= TP_PARAMS_MAX) {
			FUZZ_ASSERT(tp_form_parse(&q, tp_buf_str(&enc), enc.len) == TP_OK);
			/* A pair with an empty name and value encodes as "=",
			 * which parses back as such. */
			FUZZ_ASSERT(q.n == p.n);
			for (i = 0; i < p.n; i++) {
				FUZZ_ASSERT(strcmp(p.v[i].name, q.v[i].name) == 0);
				FUZZ_ASSERT(strcmp(p.v[i].value, q.v[i].value) == 0);
			}
		}
	}
	tp_params_free(&p);
	tp_params_free(&q);
	tp_buf_free(&enc);
	cJSON_Delete(j);
	return 0;
}
