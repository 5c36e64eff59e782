/*
 * reference.c - the payment's short reference: what the agent reads out
 * to the customer instead of the connector's 35-character id
 * ("ch_5f0c..."), and what the customer can type back.
 *
 * Shape: 8 symbols in two groups of four, "K7QM-4XTR", from 27 symbols
 * that cannot be taken for one another when read or written down:
 * Crockford's base32 alphabet (which already leaves out I, L, O and U)
 * without 0 and 1 (O, I, L), B (8), S (5) and Z (2).  27^8 is about
 * 2.8e11 (38 bits).
 *
 * Derivation: HMAC-SHA256 keyed with AGENT_SECRET over a label, the
 * connector id and the attempt number; the first 8 bytes, as a number,
 * written in base 27 (the bias of 2^64 mod 27^8 is below 1e-7).  So the
 * same payment always gets the same reference (a duplicated or retried
 * status callback, another worker, another node), and nobody without the
 * secret can tell a reference from the id or the other way round.
 * Rejected: a random reference (a retried callback would get another
 * one and the agent would read out the wrong one); the id's own last
 * characters (hex: ambiguous when read aloud, and predictable); a counter
 * (needs a shared, ordered store, and tells how many payments there were).
 *
 * Uniqueness: before a reference is stored with its payment it is claimed
 * in payMap as the item "ref:K7QM-4XTR" = {reference, paymentSid,
 * connectorId}, created only if absent (Sync answers 409/54208 when the
 * key exists).  An item that names the same connector id is this
 * payment's own (a retry): the reference is kept.  One that names another
 * id is a collision: the next attempt's candidate is tried, up to
 * TP_REFERENCE_TRIES.  The items live a year (Sync's longest TTL), so no
 * two payments of the last year share a reference.  How often a second
 * candidate is needed: with N references alive, 1 payment in 2.8e11 / N
 * (with a million payments a year, 1 in 280,000); eight in a row taken is
 * beyond any practical N.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define REF_LABEL "twiliopay-reference-v1"
#define REF_BASE  27u

const char tp_reference_alphabet[] = "23456789ACDEFGHJKMNPQRTVWXY";

void tp_reference_make(const char *key, const char *id, unsigned attempt,
                       char out[TP_REFERENCE_LEN + 1])
{
	unsigned char mac[32];
	uint64_t v = 0;
	tp_buf msg;
	int i, n;

	/* label NUL id NUL attempt: no two inputs give the same message. */
	tp_buf_init(&msg, 4096);
	tp_buf_adds(&msg, REF_LABEL);
	tp_buf_addc(&msg, '\0');
	tp_buf_adds(&msg, id);
	tp_buf_addc(&msg, '\0');
	tp_buf_addf(&msg, "%u", attempt);
	tp_hmac_sha256(key, msg.ptr, msg.len, mac);
	tp_buf_free(&msg);
	for (i = 0; i < 8; i++)
		v = (v << 8) | mac[i];
	/* Symbols right to left, the dash after the fourth. */
	out[TP_REFERENCE_LEN] = '\0';
	for (n = TP_REFERENCE_CHARS - 1; n >= 0; n--) {
		int pos = n < TP_REFERENCE_CHARS / 2 ? n : n + 1;
		out[pos] = tp_reference_alphabet[v % REF_BASE];
		v /= REF_BASE;
	}
	out[TP_REFERENCE_CHARS / 2] = '-';
}

bool tp_reference_valid(const char *s)
{
	size_t i;

	if (!s || strlen(s) != TP_REFERENCE_LEN)
		return false;
	for (i = 0; i < TP_REFERENCE_LEN; i++) {
		if (i == TP_REFERENCE_CHARS / 2) {
			if (s[i] != '-')
				return false;
		} else if (!s[i] || !strchr(tp_reference_alphabet, s[i])) {
			return false;
		}
	}
	return true;
}

tp_rc tp_reference_claim(const char *key, const char *id, tp_reference_take_fn take, void *ctx,
                         char out[TP_REFERENCE_LEN + 1], unsigned *attempt_out)
{
	unsigned attempt;
	bool mine;

	for (attempt = 0; attempt < TP_REFERENCE_TRIES; attempt++) {
		tp_reference_make(key, id, attempt, out);
		mine = false;
		if (take(out, ctx, &mine) != TP_OK) {
			out[0] = '\0';
			return TP_EIO;
		}
		if (mine) {
			if (attempt_out)
				*attempt_out = attempt;
			return TP_OK;
		}
	}
	out[0] = '\0';
	return TP_ENOTFOUND;
}

/* ------------------------------------------------------------ the claim in payMap */

typedef struct sync_take {
	const tp_config *cfg;
	const char *payment_sid, *id;
	tp_twilio_error err;
} sync_take;

static tp_rc take_in_sync(const char *ref, void *vctx, bool *mine)
{
	sync_take *t = vctx;
	tp_api_result r;
	tp_buf key;
	cJSON *data = cJSON_CreateObject();
	const cJSON *held;
	tp_rc rc = TP_EIO;

	tp_buf_init(&key, 64);
	tp_buf_addf(&key, "%s%s", TP_REFERENCE_KEY_PREFIX, ref);
	cJSON_AddStringToObject(data, "reference", ref);
	cJSON_AddStringToObject(data, "paymentSid", t->payment_sid);
	cJSON_AddStringToObject(data, "connectorId", t->id);
	if (tp_sync_item_create(t->cfg, t->cfg->pay_sync_service_sid, t->cfg->sync_pay_map_name,
	                        tp_buf_str(&key), data, TP_REFERENCE_TTL_S, &r)) {
		*mine = true;
		rc = TP_OK;
		goto out;
	}
	if (r.err.code != TP_TW_SYNC_ITEM_EXISTS && r.err.status != TP_S_CONFLICT) {
		t->err = r.err;
		goto out;
	}
	/* It exists: ours (a retry, or an answer lost on the way) or
	 * another payment's. */
	tp_api_result_free(&r);
	if (!tp_sync_item_fetch(t->cfg, t->cfg->pay_sync_service_sid, t->cfg->sync_pay_map_name,
	                        tp_buf_str(&key), &r)) {
		t->err = r.err;
		goto out;
	}
	held = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r.json, "data"),
	                                        "connectorId");
	*mine = cJSON_IsString(held) && strcmp(held->valuestring, t->id) == 0;
	rc = TP_OK;
out:
	tp_api_result_free(&r);
	tp_buf_free(&key);
	cJSON_Delete(data);
	return rc;
}

tp_rc tp_reference_claim_sync(const tp_config *cfg, const char *payment_sid, const char *id,
                              char out[TP_REFERENCE_LEN + 1], tp_twilio_error *err)
{
	sync_take t;
	tp_rc rc;

	memset(&t, 0, sizeof t);
	t.cfg = cfg;
	t.payment_sid = payment_sid;
	t.id = id;
	out[0] = '\0';
	if (!cfg->agent_secret || !*cfg->agent_secret) {
		snprintf(err->message, sizeof err->message, "AGENT_SECRET is not set");
		return TP_EINVAL;
	}
	rc = tp_reference_claim(cfg->agent_secret, id, take_in_sync, &t, out, NULL);
	if (rc == TP_EIO)
		*err = t.err;
	else if (rc == TP_ENOTFOUND)
		snprintf(err->message, sizeof err->message,
		         "every candidate reference is held by another payment");
	return rc;
}
