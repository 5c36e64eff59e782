/*
 * gateway_sandbox.c - a payment gateway that moves no money, for the
 * sandbox, the tests and demonstrations.
 *
 * Every valid request is approved except the test numbers below, which
 * fail the way a card network or bank would, so the decline path can be
 * shown end to end.  The card numbers are the ones gateways document for
 * these outcomes (Stripe's test cards); the bank accounts are Stripe's ACH
 * test accounts.  They are Luhn-valid / ABA-usable so they pass validation
 * and reach the gateway.
 *
 * Ids: "ch_" / "tok_" followed by 32 hex digits, like the ids the Node
 * original's mock returned (twilio-contract.md section 5).  Rejected
 * alternatives: a random id per request breaks idempotency (Twilio may
 * retry a transaction and must get the same answer), and a store mapping
 * transaction ids to results would have to be shared by every worker and
 * node.  Instead the id is a keyed hash of the operation and Twilio's
 * transaction_id: the same transaction gets the same id from any worker,
 * different transactions get unrelated ids, and without the key
 * (CONNECTOR_PASSWORD) nobody can predict one.  Nothing is stored; the
 * outcome is a function of the request, so a retry with the same data gets
 * the same outcome.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "internal.h"

#define ID_LABEL     "twiliopay-sandbox-v1"
#define ID_HEX_BYTES 16 /* 32 hex digits */

const tp_gw_test_number tp_gateway_sandbox_cards[] = {
    {"4000000000000002", "card_declined", "The card was declined."},
    {"4000000000009995", "insufficient_funds", "The card has insufficient funds."},
    {"4000000000000069", "expired_card", "The card has expired."},
    {"4000000000000127", "incorrect_cvc", "The card's security code is incorrect."},
    {"4000000000000119", "processing_error",
     "An error occurred while processing the card; try again."},
    {NULL, NULL, NULL},
};

const tp_gw_test_number tp_gateway_sandbox_accounts[] = {
    {"000111111116", "no_account", "The bank account does not exist."},
    {"000222222227", "insufficient_funds", "The bank account has insufficient funds."},
    {"000333333335", "debit_not_authorized",
     "The account holder has not authorised debits from this account."},
    {NULL, NULL, NULL},
};

void tp_gateway_sandbox_id(const char *key, tp_conn_method m, const char *transaction_id, char *out,
                           size_t out_len)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	char hex[2 * ID_HEX_BYTES + 1];
	tp_buf msg;

	/* The method comes first and contains no '|', so (method,
	 * transaction_id) reads back unambiguously from the message. */
	tp_buf_init(&msg, 4096);
	tp_buf_addf(&msg, "%s|%s|%s", ID_LABEL, m == TP_CONN_CHARGE ? "charge" : "tokenize",
	            transaction_id);
	HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)tp_buf_str(&msg), msg.len,
	     mac, &mac_len);
	tp_buf_free(&msg);
	tp_hex(mac, ID_HEX_BYTES, hex);
	snprintf(out, out_len, "%s_%s", m == TP_CONN_CHARGE ? "ch" : "tok", hex);
}

static const tp_gw_test_number *lookup(const tp_gw_test_number *t, const char *number)
{
	for (; t->number; t++)
		if (tp_str_eq(t->number, number))
			return t;
	return NULL;
}

void tp_gateway_sandbox_submit(const tp_config *cfg, const tp_conn_req *rq, tp_gw_result *out)
{
	const tp_gw_test_number *decline =
	    rq->ach ? lookup(tp_gateway_sandbox_accounts, rq->account_number)
	            : lookup(tp_gateway_sandbox_cards, rq->cardnumber);

	memset(out, 0, sizeof *out);
	if (decline) {
		out->error_code = decline->error_code;
		out->error_message = decline->error_message;
		return;
	}
	out->approved = true;
	tp_gateway_sandbox_id(cfg->connector_password ? cfg->connector_password : "", rq->method,
	                      rq->transaction_id, out->id, sizeof out->id);
}
