/*
 * params.c - ordered name/value lists and the
 * application/x-www-form-urlencoded codec (WHATWG URL "urlencoded
 * parsing", minus its lenience: a bad percent-escape is an error here,
 * because a webhook we cannot decode exactly is one we cannot verify).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

void tp_params_init(tp_params *p)
{
	p->v = NULL;
	p->n = 0;
	p->cap = 0;
}

void tp_params_free(tp_params *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		free(p->v[i].name);
		free(p->v[i].value);
	}
	free(p->v);
	tp_params_init(p);
}

static void add_owned(tp_params *p, char *name, char *value)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 16;
		p->v = tp_xrealloc(p->v, p->cap * sizeof *p->v);
	}
	p->v[p->n].name = name;
	p->v[p->n].value = value;
	p->n++;
}

void tp_params_add(tp_params *p, const char *name, const char *value)
{
	add_owned(p, tp_xstrdup(name), tp_xstrdup(value ? value : ""));
}

void tp_params_set(tp_params *p, const char *name, const char *value)
{
	size_t i, j = 0;

	for (i = 0; i < p->n; i++) {
		if (strcmp(p->v[i].name, name) == 0) {
			free(p->v[i].name);
			free(p->v[i].value);
		} else {
			p->v[j++] = p->v[i];
		}
	}
	p->n = j;
	tp_params_add(p, name, value);
}

const char *tp_params_get(const tp_params *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (strcmp(p->v[i].name, name) == 0)
			return p->v[i].value;
	return NULL;
}

const char *tp_params_get_case(const tp_params *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (strcasecmp(p->v[i].name, name) == 0)
			return p->v[i].value;
	return NULL;
}

tp_rc tp_form_parse(tp_params *out, const char *s, size_t len)
{
	tp_params tmp;
	size_t pos = 0;
	tp_rc rc = TP_OK;

	tp_params_init(&tmp);
	while (pos < len) {
		const char *seg = s + pos;
		const char *amp = memchr(seg, '&', len - pos);
		size_t seglen = amp ? (size_t)(amp - seg) : len - pos;
		const char *eq = memchr(seg, '=', seglen);
		size_t nlen = eq ? (size_t)(eq - seg) : seglen;
		char *name = NULL, *value = NULL;

		pos += seglen + 1;
		if (seglen == 0)
			continue;
		if (tmp.n >= TP_PARAMS_MAX) {
			rc = TP_ETOOBIG;
			goto out;
		}
		rc = tp_url_decode(seg, nlen, true, &name);
		if (rc != TP_OK)
			goto out;
		if (eq)
			rc = tp_url_decode(eq + 1, seglen - nlen - 1, true, &value);
		else
			value = tp_xstrdup("");
		if (rc != TP_OK) {
			free(name);
			goto out;
		}
		add_owned(&tmp, name, value);
	}
	/* Commit: move every pair into `out`. */
	{
		size_t i;
		for (i = 0; i < tmp.n; i++)
			add_owned(out, tmp.v[i].name, tmp.v[i].value);
		free(tmp.v);
		tp_params_init(&tmp);
	}
out:
	tp_params_free(&tmp);
	return rc;
}

tp_rc tp_form_encode(tp_buf *out, const tp_params *p)
{
	size_t i;
	tp_rc rc = TP_OK;

	for (i = 0; i < p->n && rc == TP_OK; i++) {
		if (i > 0)
			rc = tp_buf_addc(out, '&');
		if (rc == TP_OK)
			rc = tp_url_encode(out, p->v[i].name);
		if (rc == TP_OK)
			rc = tp_buf_addc(out, '=');
		if (rc == TP_OK)
			rc = tp_url_encode(out, p->v[i].value);
	}
	return rc;
}

tp_rc tp_params_from_json(tp_params *out, const cJSON *obj)
{
	const cJSON *it;

	if (!cJSON_IsObject(obj))
		return TP_EINVAL;
	cJSON_ArrayForEach (it, obj) {
		char num[64];
		if (!it->string)
			continue;
		if (cJSON_IsString(it)) {
			tp_params_add(out, it->string, it->valuestring);
		} else if (cJSON_IsBool(it)) {
			tp_params_add(out, it->string, cJSON_IsTrue(it) ? "true" : "false");
		} else if (cJSON_IsNumber(it)) {
			double d = it->valuedouble;
			/* Integers print exactly; other numbers with 15 significant digits,
			 * which reproduces any decimal a person typed (money is re-validated as a
			 * decimal string by whoever reads it).  The range test comes first:
			 * converting a double outside long long's range (1e300) is
			 * undefined behaviour (C11 6.3.1.4). */
			if (d > -1e15 && d < 1e15 && d == (double)(long long)d)
				snprintf(num, sizeof num, "%lld", (long long)d);
			else
				snprintf(num, sizeof num, "%.15g", d);
			tp_params_add(out, it->string, num);
		}
	}
	return TP_OK;
}
