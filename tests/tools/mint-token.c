/*
 * mint-token - test tool: issues agent or session tokens, or live-update
 * tickets, with AGENT_SECRET and AGENTS_FILE from the configuration
 * ($TWILIOPAY_ENV), so integration tests can exercise a live-update
 * channel without starting a payment.
 *
 *   mint-token agent NAME [TTL_S]
 *   mint-token session NAME PAYMENT_SID CALL_SID [TTL_S]
 *   mint-token ticket NAME PAYMENT_SID [TTL_S]
 *
 * A negative TTL_S makes an expired token.  Not installed; tests only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "twiliopay.h"

#define EXIT_ERROR 2 /* a bad command line, or no usable configuration */

int main(int argc, char **argv)
{
	tp_config cfg;
	tp_buf err, tok;
	char tag[TP_AGENT_TAG_LEN + 1] = "0000000000000000";
	char *hash = NULL;
	long ttl = 600;
	bool session = argc >= 5 && strcmp(argv[1], "session") == 0;
	bool ticket = argc >= 4 && strcmp(argv[1], "ticket") == 0;
	int ttl_arg = session ? 5 : ticket ? 4 : 3;
	time_t now = time(NULL);

	if (!(argc >= 3 && strcmp(argv[1], "agent") == 0) && !session && !ticket) {
		fputs("usage: mint-token agent NAME [TTL_S] | session NAME PK CA [TTL_S] | "
		      "ticket NAME PK [TTL_S]\n",
		      stderr);
		return EXIT_ERROR;
	}
	if (argc > ttl_arg)
		ttl = strtol(argv[ttl_arg], NULL, 10);
	tp_buf_init(&err, 65536);
	if (tp_config_load(&cfg, NULL, &err) != TP_OK || !cfg.agent_secret) {
		fprintf(stderr, "mint-token: configuration: %s\n", tp_buf_str(&err));
		return EXIT_ERROR;
	}
	if (cfg.agents_file && tp_agent_lookup(cfg.agents_file, argv[2], &hash) == TP_OK)
		tp_agent_hash_tag(hash, tag);
	tp_buf_init(&tok, 4096);
	if (ticket)
		tp_ticket_issue(&tok, cfg.agent_secret, argv[2], tag, argv[3],
		                ttl < 0 ? now + 2 * ttl : now, ttl < 0 ? -ttl : ttl);
	else if (session)
		tp_session_token_issue(&tok, cfg.agent_secret, argv[2], tag, argv[3], argv[4],
		                       ttl < 0 ? now + 2 * ttl : now, ttl < 0 ? -ttl : ttl);
	else
		tp_agent_token_issue(&tok, cfg.agent_secret, argv[2], tag,
		                     ttl < 0 ? now + 2 * ttl : now, ttl < 0 ? -ttl : ttl);
	puts(tp_buf_str(&tok));
	free(hash);
	tp_buf_free(&tok);
	tp_buf_free(&err);
	tp_config_free(&cfg);
	return EXIT_SUCCESS;
}
