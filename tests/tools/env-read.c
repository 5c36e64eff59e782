/*
 * env-read - test tool: prints a .env file as the product reads it
 * (tp_env_parse, the reader of tp_config_load), as one JSON object of
 * name -> value, the last line for a name winning.  Used by
 * tests/node/migrate.test.mjs to compare twiliopay-migrate's output with
 * what the Node original's dotenv read.  Not installed; tests only.
 *
 *   env-read FILE
 */
#include <stdio.h>
#include <stdlib.h>

#include "twiliopay.h"

#define EXIT_USAGE 2 /* a bad command line; EXIT_FAILURE: the file cannot be read */

int main(int argc, char **argv)
{
	tp_buf text;
	tp_params p;
	cJSON *o;
	char *json;
	size_t i;

	if (argc != 2) {
		fputs("usage: env-read FILE\n", stderr);
		return EXIT_USAGE;
	}
	tp_log_init("env-read");
	tp_log_set_level(TP_LOG_ERROR);
	tp_buf_init(&text, 1u << 20);
	tp_params_init(&p);
	if (tp_buf_add_file(&text, argv[1]) != TP_OK ||
	    tp_env_parse(&p, tp_buf_str(&text), text.len, NULL) != TP_OK) {
		fprintf(stderr, "env-read: cannot read %s\n", argv[1]);
		return EXIT_FAILURE;
	}
	o = cJSON_CreateObject();
	for (i = 0; i < p.n; i++) {
		cJSON_DeleteItemFromObjectCaseSensitive(o, p.v[i].name);
		cJSON_AddStringToObject(o, p.v[i].name, p.v[i].value);
	}
	json = cJSON_PrintUnformatted(o);
	puts(json);
	cJSON_free(json);
	cJSON_Delete(o);
	tp_params_free(&p);
	tp_buf_free(&text);
	return EXIT_SUCCESS;
}
