/*
 * ticket.c - live-update tickets: the credential of one EventSource
 * subscription (GET /aap/events/<PaymentSid>?ticket=...).
 *
 * Why a ticket: EventSource cannot send headers, so whatever it proves
 * travels in the URL, and a URL ends up where headers do not (an error
 * log line quotes the request line; a proxy, the browser's history).  No
 * lasting secret may go there (PCI DSS 8.3.1 protects authentication
 * factors in transmission and storage), so the console trades its session
 * token, in a POST, for a ticket (cgi-bin/eventsTicket.c) right before
 * each (re)connection: valid TP_TICKET_TTL_S, for one payment, and
 * accepted once.  A ticket found later in a log is spent or expired.
 *
 * Format: a token of lib/agent.c (base64url claims "." HMAC-SHA256 with
 * AGENT_SECRET) of kind "ticket": sub (agent), pk (PaymentSid), pwh (the
 * agent's password-hash tag: a new password or a deleted agent voids it),
 * iat, exp, and jti, 128 random bits that name it in the spent list.
 *
 * Single use, one node (NCHAN_REDIS_URL unset): TICKETS_FILE lists the
 * spent ticket ids ("<exp> <jti>" per line) until they expire.  Every
 * worker of every eventsAuth process on this node redeems through it,
 * one at a time: flock(2) on TICKETS_FILE ".lock", then the list is
 * rewritten into a temporary file and renamed over, so a worker killed
 * halfway leaves the old list whole, and the lock dies with its holder.
 * It stays small: an entry lives 60 s.  Rejected: shared memory set up by
 * the supervisor (no file, but a lock a killed worker can leave held, and
 * nothing an operator can look at).
 *
 * Single use, several nodes (NCHAN_REDIS_URL set): behind a load balancer
 * any node may serve a subscription, and a per-node list would accept a
 * ticket once per node.  So the spent list is the nodes' shared Redis
 * (the one nchan already uses): SET tp:ticket:<jti> 1 NX EX <seconds to
 * exp> - "+OK" means nobody had it, nil that someone did - atomic in
 * Redis, so two nodes redeeming the same ticket at once get one "+OK".
 * When Redis cannot be reached the ticket is refused (503
 * tickets_unavailable): never the per-node file as a fallback, which would
 * reopen the once-per-node hole exactly when nobody is looking.  The
 * console then polls GET /aap/session, as it does whenever live updates
 * are down (they are: nchan needs the same Redis).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "internal.h"

#define SPENT_FILE_MAX   (4u << 20) /* ~90,000 entries: a minute of a very busy node */
#define REDIS_TIMEOUT_MS 1000       /* Redis answers in a millisecond when it is up */
#define REDIS_KEY_PREFIX "tp:ticket:"
#define JTI_BYTES        TP_TOKEN_JTI_BYTES

tp_rc tp_ticket_issue(tp_buf *out, const char *secret, const char *agent, const char *tag,
                      const char *payment_sid, time_t now, long ttl_s)
{
	cJSON *c = tp_claims_new("ticket", agent, tag, now, ttl_s);
	tp_rc rc;

	cJSON_AddStringToObject(c, "pk", payment_sid);
	rc = tp_token_issue(out, secret, c);
	cJSON_Delete(c);
	return rc;
}

/* Whether `line` (no newline) is "<exp> <id>" for this id, still live. */
static bool entry_live(const char *line, size_t len, time_t now, long long *exp)
{
	const char *sp = memchr(line, ' ', len);
	uint64_t v;

	if (!sp || tp_str_to_u64(line, (size_t)(sp - line), UINT64_MAX / 2, &v) != TP_OK)
		return false;
	*exp = (long long)v;
	return *exp >= (long long)now;
}

tp_rc tp_spent_claim(const char *file, const char *id, time_t exp, time_t now, bool *fresh)
{
	tp_buf lock, tmp, text, out;
	const char *p;
	size_t idlen = strlen(id);
	int lfd = -1, fd = -1;
	tp_rc rc;

	*fresh = false;
	if (!file || !*file || !idlen || strchr(id, '\n') || strchr(id, ' '))
		return TP_EINVAL;
	tp_buf_init(&lock, 4096);
	tp_buf_init(&tmp, 4096);
	tp_buf_init(&text, SPENT_FILE_MAX);
	tp_buf_init(&out, SPENT_FILE_MAX + 256);
	tp_buf_add(&out, "", 0);
	tp_buf_addf(&lock, "%s.lock", file);
	tp_buf_addf(&tmp, "%s.tmp.%ld", file, (long)getpid());
	lfd = open(tp_buf_str(&lock), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lfd < 0) {
		rc = TP_EIO;
		goto out;
	}
	while (flock(lfd, LOCK_EX) != 0)
		if (errno != EINTR) {
			rc = TP_EIO;
			goto out;
		}
	rc = tp_buf_add_file(&text, file);
	if (rc == TP_ENOTFOUND)
		rc = tp_buf_add(&text, "", 0);
	if (rc != TP_OK)
		goto out; /* unreadable or too big: refuse rather than forget */
	/* Keep the live entries; ours among them means already spent. */
	for (p = tp_buf_str(&text); *p;) {
		size_t len = strcspn(p, "\n");
		long long e;
		if (entry_live(p, len, now, &e)) {
			const char *sp = memchr(p, ' ', len);
			if ((size_t)(p + len - sp - 1) == idlen && memcmp(sp + 1, id, idlen) == 0)
				goto out; /* rc TP_OK, *fresh false */
			tp_buf_add(&out, p, len);
			tp_buf_addc(&out, '\n');
		}
		p += len + (p[len] == '\n');
	}
	tp_buf_addf(&out, "%lld %s\n", (long long)exp, id);
	if (!out.ptr) {
		rc = TP_ETOOBIG;
		goto out;
	}
	/* No fsync: the list lives in a run folder (tmpfs); after a crash
	 * every ticket it names has expired anyway. */
	fd = open(tp_buf_str(&tmp), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, out.ptr, out.len) != (ssize_t)out.len) {
		rc = TP_EIO;
		unlink(tp_buf_str(&tmp));
		goto out;
	}
	if (rename(tp_buf_str(&tmp), file) != 0) {
		rc = TP_EIO;
		unlink(tp_buf_str(&tmp));
		goto out;
	}
	*fresh = true;
out:
	if (fd >= 0)
		close(fd);
	if (lfd >= 0)
		close(lfd); /* releases the lock */
	tp_buf_free(&lock);
	tp_buf_free(&tmp);
	tp_buf_free(&text);
	tp_buf_free(&out);
	return rc;
}

tp_rc tp_spent_claim_redis(const char *url, const char *id, time_t exp, time_t now, bool *fresh,
                           tp_buf *why)
{
	char key[sizeof REDIS_KEY_PREFIX + 64], ttl[24];
	const char *argv[6] = {"SET", key, "1", "NX", "EX", ttl};
	tp_redis_reply r;
	tp_rc rc;

	*fresh = false;
	if (!*id || strlen(id) > 64 || strpbrk(id, " \r\n"))
		return TP_EINVAL;
	snprintf(key, sizeof key, REDIS_KEY_PREFIX "%s", id);
	/* At least a second: EX 0 is an error, and an id spent in its last
	 * second must still be known spent for that second. */
	snprintf(ttl, sizeof ttl, "%lld", exp > now ? (long long)(exp - now) + 1 : 1LL);
	rc = tp_redis_command(url, REDIS_TIMEOUT_MS, 6, argv, &r, why);
	if (rc != TP_OK)
		return TP_EIO;
	if (r.type == TP_REDIS_STATUS && strcmp(r.str, "OK") == 0)
		*fresh = true;
	else if (r.type != TP_REDIS_NIL) {
		tp_buf_addf(why, "Redis answered SET NX with %s",
		            r.type == TP_REDIS_ERROR ? r.str : "something else");
		rc = TP_EIO;
	}
	tp_redis_reply_free(&r);
	return rc;
}

static const char unusable[] =
    "tickets cannot be checked (AGENT_SECRET, AGENTS_FILE or AGENTS_SYNC_MAP, TICKETS_FILE)";
const char tp_ticket_spent_store_unavailable[] =
    "the spent-tickets store (Redis, NCHAN_REDIS_URL) cannot be reached";

tp_rc tp_ticket_redeem(const tp_config *cfg, const char *ticket, const char *payment_sid,
                       time_t now, const char **why)
{
	cJSON *claims = NULL;
	const char *pwh, *jti;
	const cJSON *exp, *iat;
	const char *w = "the ticket is not valid";
	tp_rc rc = TP_EAUTH, trc;
	bool fresh;

	if (!cfg->agent_secret || (!cfg->agents_file && !tp_agent_store_is_sync(cfg)) ||
	    !cfg->tickets_file) {
		rc = TP_ECONFIG;
		w = unusable;
		goto out;
	}
	trc = tp_token_verify(ticket, cfg->agent_secret, "ticket", now, &claims, NULL);
	if (trc == TP_ENOTFOUND) {
		rc = TP_ENOTFOUND;
		w = "no ticket";
		goto out;
	}
	if (trc == TP_EEXPIRED) {
		rc = TP_EEXPIRED;
		w = "the ticket has expired";
		goto out;
	}
	if (trc != TP_OK)
		goto out;
	pwh = tp_claim_str(claims, "pwh");
	jti = tp_claim_str(claims, "jti");
	exp = cJSON_GetObjectItemCaseSensitive(claims, "exp");
	/* We never issue a ticket for longer than TP_TICKET_TTL_S (a minute
	 * of slack for the clocks of several nodes): one that says otherwise
	 * is not ours, and its exp stays a sane time_t below. */
	if (!pwh || !jti || strlen(jti) != 2 * JTI_BYTES ||
	    strspn(jti, "0123456789abcdef") != 2 * JTI_BYTES ||
	    exp->valuedouble > (double)now + TP_TICKET_TTL_S + 60)
		goto out;
	if (!tp_str_eq(tp_claim_str(claims, "pk"), payment_sid)) {
		w = "the ticket is for another payment";
		goto out;
	}
	iat = cJSON_GetObjectItemCaseSensitive(claims, "iat");
	rc = tp_agent_store_check_tag(cfg, tp_claim_str(claims, "sub"), pwh,
	                              cJSON_IsNumber(iat) ? (time_t)iat->valuedouble : 0);
	if (rc == TP_ENOTFOUND || rc == TP_EAUTH) {
		rc = TP_EAUTH;
		w = "the agent was removed or its password changed";
		goto out;
	}
	if (rc == TP_EUNAVAIL) {
		w = "the agent store (Twilio Sync) cannot be reached";
		goto out;
	}
	if (rc != TP_OK) {
		rc = TP_ECONFIG;
		w = unusable;
		goto out;
	}
	/* Checked last: a ticket refused for any other reason stays unspent
	 * (it was no use to anyone), and the list only grows by tickets that
	 * subscribed. */
	if (cfg->nchan_redis_url) {
		tp_buf rwhy;
		tp_buf_init(&rwhy, 1024);
		if (tp_spent_claim_redis(cfg->nchan_redis_url, jti, (time_t)exp->valuedouble, now,
		                         &fresh, &rwhy) != TP_OK) {
			tp_log_kv(TP_LOG_ERROR, "cannot spend a ticket in Redis (NCHAN_REDIS_URL)",
			          "error", tp_buf_str(&rwhy));
			tp_buf_free(&rwhy);
			rc = TP_EUNAVAIL;
			w = tp_ticket_spent_store_unavailable;
			goto out;
		}
		tp_buf_free(&rwhy);
	} else if (tp_spent_claim(cfg->tickets_file, jti, (time_t)exp->valuedouble, now, &fresh) !=
	           TP_OK) {
		tp_log_kv(TP_LOG_ERROR, "cannot update the spent tickets list", "path",
		          cfg->tickets_file);
		rc = TP_ECONFIG;
		w = unusable;
		goto out;
	}
	rc = fresh ? TP_OK : TP_EAUTH;
	w = fresh ? "ok" : "the ticket has been used already";
out:
	cJSON_Delete(claims);
	if (why)
		*why = w;
	return rc;
}
