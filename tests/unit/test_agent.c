/* Unit tests for lib/agent.c and lib/ticket.c: the agents file, password
 * hashes, agent and session tokens, live-update tickets and their spent
 * list, and the authorisation steps built on them. */
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"

#define SECRET "unit-agent-secret-0000000000000000000000"
#define PK     "PK0123456789abcdef0123456789abcdef"
#define PK2    "PKffffffffffffffffffffffffffffffff"
#define CA     "CA0123456789abcdef0123456789abcdef"

static char dir[64];
static char file[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/tp-agent-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(file, sizeof file, "%s/agents", dir);
	return 0;
}

static int teardown(void **state)
{
	char tmp[160];
	(void)state;
	unlink(file);
	snprintf(tmp, sizeof tmp, "%s/legacy", dir);
	unlink(tmp);
	rmdir(dir);
	return 0;
}

static void set_agent(const char *name, const char *password)
{
	char *hash = NULL;
	assert_int_equal(tp_agent_hash_password(password, &hash), TP_OK);
	assert_true(tp_str_prefix(hash, "$y$"));
	assert_int_equal(tp_agents_file_set(file, name, hash), TP_OK);
	free(hash);
}

static void test_names(void **state)
{
	static const struct {
		int line;
		const char *name;
		bool ok;
	} rows[] = {
	    {__LINE__, "agent", true},
	    {__LINE__, "jane.doe@example.com", true},
	    {__LINE__, "a_b-c.d", true},
	    {__LINE__, "7", true},
	    {__LINE__, "", false},
	    {__LINE__, ".hidden", false},
	    {__LINE__, "-x", false},
	    {__LINE__, "a:b", false}, /* the file's separator */
	    {__LINE__, "a b", false},
	    {__LINE__, "a\nb", false},
	    {__LINE__, "x1234567890123456789012345678901234567890123456789012345678901234", false},
	};
	size_t i;
	(void)state;
	for (i = 0; i < N_ELEMS(rows); i++)
		if (tp_agent_name_valid(rows[i].name) != rows[i].ok)
			ROW_FAIL(rows[i].line, "\"%s\" should be %s\n", rows[i].name,
			         rows[i].ok ? "valid" : "invalid");
	assert_false(tp_agent_name_valid(NULL));
}

static void test_password_file(void **state)
{
	char tag[TP_AGENT_TAG_LEN + 1], tag2[TP_AGENT_TAG_LEN + 1];
	char *hash = NULL;
	tp_buf names;
	struct stat st;
	(void)state;

	/* No file yet: the server's fault (TP_EIO), not "no such agent"; no
	 * file configured at all: TP_ECONFIG. */
	assert_int_equal(tp_agent_check_password(file, "alice", "pw", tag), TP_EIO);
	assert_int_equal(tp_agent_check_password(NULL, "alice", "pw", tag), TP_ECONFIG);
	assert_int_equal(tp_agent_lookup("", "alice", &hash), TP_ECONFIG);
	assert_null(hash);
	set_agent("alice", "correct horse battery staple");
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	set_agent("bob", "hunter2hunter2");
	assert_int_equal(
	    tp_agent_check_password(file, "alice", "correct horse battery staple", tag), TP_OK);
	assert_int_equal(strlen(tag), TP_AGENT_TAG_LEN);
	assert_int_equal(tp_agent_check_password(file, "alice", "hunter2hunter2", tag2), TP_EAUTH);
	assert_string_equal(tag2, "");
	assert_int_equal(tp_agent_check_password(file, "carol", "x", tag2), TP_ENOTFOUND);
	assert_int_equal(tp_agent_check_password(file, "alice", "", tag2), TP_EAUTH);
	assert_int_equal(tp_agent_check_password(file, "bob", "hunter2hunter2", tag2), TP_OK);
	assert_string_not_equal(tag, tag2);

	/* A new password changes the tag; the mode chosen by the operator
	 * is kept. */
	assert_int_equal(chmod(file, 0640), 0);
	set_agent("alice", "new password");
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(tp_agent_check_password(file, "alice", "new password", tag2), TP_OK);
	assert_string_not_equal(tag, tag2);
	assert_int_equal(
	    tp_agent_check_password(file, "alice", "correct horse battery staple", tag2), TP_EAUTH);

	/* ...and its owner (root editing root:twiliopay 0640 must not leave
	 * a root:root file): only testable as root. */
	if (geteuid() == 0) {
		assert_int_equal(chown(file, 1, 2), 0);
		set_agent("bob", "hunter2hunter2");
		assert_int_equal(stat(file, &st), 0);
		assert_int_equal(st.st_uid, 1);
		assert_int_equal(st.st_gid, 2);
		assert_int_equal(chown(file, 0, 0), 0);
	}

	tp_buf_init(&names, 4096);
	assert_int_equal(tp_agents_file_list(file, &names), TP_OK);
	assert_string_equal(names.ptr, "alice\nbob\n");
	assert_int_equal(tp_agents_file_set(file, "bob", NULL), TP_OK);
	assert_int_equal(tp_agents_file_set(file, "bob", NULL), TP_ENOTFOUND);
	assert_int_equal(tp_agent_lookup(file, "bob", &hash), TP_ENOTFOUND);
	assert_null(hash);
	tp_buf_reset(&names);
	assert_int_equal(tp_agents_file_list(file, &names), TP_OK);
	assert_string_equal(names.ptr, "alice\n");
	tp_buf_free(&names);

	/* Refused: bad names, hashes that would break the file, legacy
	 * methods. */
	assert_int_equal(tp_agents_file_set(file, "a:b", "$y$x"), TP_EINVAL);
	assert_int_equal(tp_agents_file_set(file, "dave", "$y$j9T$a\nmallory:x"), TP_EINVAL);
	assert_int_equal(tp_agents_file_set(file, "dave", "$1$saltsalt$qjXMvbEw8oaL.CzflDugX/"),
	                 TP_EINVAL);
	assert_int_equal(tp_agent_hash_password("", &hash), TP_EINVAL);
}

static void test_legacy_hash_refused(void **state)
{
	char legacy[160], tag[TP_AGENT_TAG_LEN + 1];
	FILE *f;
	(void)state;

	/* MD5-crypt of "password": a legacy method, refused even when the
	 * password is right. */
	snprintf(legacy, sizeof legacy, "%s/legacy", dir);
	f = fopen(legacy, "w");
	assert_non_null(f);
	fputs("# comment\n\nold:$1$saltsalt$qjXMvbEw8oaL.CzflDugX/\n", f);
	fclose(f);
	assert_int_equal(tp_agent_check_password(legacy, "old", "password", tag), TP_EAUTH);
}

/* A file that holds one agent and nothing else: deleting it leaves an
 * empty file (it used to fail as "too big", so the agent stayed and kept
 * its tokens; found by tests/fuzz/fuzz_agents.c). */
static void test_delete_last_agent(void **state)
{
	char only[160], *hash = NULL;
	FILE *f;
	struct stat st;
	(void)state;

	snprintf(only, sizeof only, "%s/only", dir);
	f = fopen(only, "w");
	assert_non_null(f);
	fputs("alice:$y$j9T$3NNz.LoFTKifYSCh9YcxJ.$fO0W7KE28rNtFNEYzvHsw434G5cmnx6c8fIOCgWqUs9\n",
	      f);
	fclose(f);
	assert_int_equal(tp_agent_lookup(only, "alice", &hash), TP_OK);
	free(hash);
	hash = NULL;
	assert_int_equal(tp_agents_file_set(only, "alice", NULL), TP_OK);
	assert_int_equal(tp_agent_lookup(only, "alice", &hash), TP_ENOTFOUND);
	assert_null(hash);
	assert_int_equal(stat(only, &st), 0);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(tp_agents_file_set(only, "alice", NULL), TP_ENOTFOUND);
	unlink(only);
}

/* The revocation rule every tagged credential is checked by: the agent
 * exists and its hash still has the tag the credential carries. */
static void test_tag_check(void **state)
{
	char tfile[160], missing[170], tag[TP_AGENT_TAG_LEN + 1], old[TP_AGENT_TAG_LEN + 1];
	char *hash = NULL;
	(void)state;

	snprintf(tfile, sizeof tfile, "%s/tagcheck", dir);
	snprintf(missing, sizeof missing, "%s/none/agents", dir);
	assert_int_equal(tp_agent_hash_password("first password", &hash), TP_OK);
	assert_int_equal(tp_agents_file_set(tfile, "carol", hash), TP_OK);
	free(hash);
	assert_int_equal(tp_agent_current_tag(tfile, "carol", old), TP_OK);
	assert_int_equal(strlen(old), TP_AGENT_TAG_LEN);
	assert_int_equal(tp_agent_tag_check(tfile, "carol", old), TP_OK);
	assert_int_equal(tp_agent_tag_check(tfile, "carol", "0123456789abcdef"), TP_EAUTH);
	assert_int_equal(tp_agent_tag_check(tfile, "carol", NULL), TP_EAUTH);
	assert_int_equal(tp_agent_tag_check(tfile, "dave", old), TP_ENOTFOUND);
	assert_int_equal(tp_agent_current_tag(tfile, "dave", tag), TP_ENOTFOUND);
	assert_string_equal(tag, "");
	assert_int_equal(tp_agent_tag_check(missing, "carol", old), TP_EIO);
	assert_int_equal(tp_agent_tag_check(NULL, "carol", old), TP_ECONFIG);
	/* A new password: the old tag is revoked, the new one holds. */
	assert_int_equal(tp_agent_hash_password("second password", &hash), TP_OK);
	assert_int_equal(tp_agents_file_set(tfile, "carol", hash), TP_OK);
	free(hash);
	assert_int_equal(tp_agent_tag_check(tfile, "carol", old), TP_EAUTH);
	assert_int_equal(tp_agent_current_tag(tfile, "carol", tag), TP_OK);
	assert_string_not_equal(tag, old);
	assert_int_equal(tp_agent_tag_check(tfile, "carol", tag), TP_OK);
	/* Deleted: revoked. */
	assert_int_equal(tp_agents_file_set(tfile, "carol", NULL), TP_OK);
	assert_int_equal(tp_agent_tag_check(tfile, "carol", tag), TP_ENOTFOUND);
	unlink(tfile);
}

/* tp_token_verify's code and its reason together: the reason is what the
 * logs and the 403 answers say, and it tells apart what the code lumps
 * (a wrong signature and a wrong kind are both TP_EAUTH).  Uses `c`. */
#define VERIFY(tok, secret, kind, now, want, want_why)                                             \
	do {                                                                                       \
		const char *why_ = NULL;                                                           \
		assert_int_equal(tp_token_verify(tok, secret, kind, now, &c, &why_), want);        \
		assert_string_equal(why_, want_why);                                               \
	} while (0)

static void test_tokens(void **state)
{
	tp_buf t, bad;
	cJSON *c = NULL;
	time_t now = 1800000000;
	(void)state;

	tp_buf_init(&t, 4096);
	tp_buf_init(&bad, 4096);
	assert_int_equal(tp_agent_token_issue(&t, SECRET, "alice", "0123456789abcdef", now, 600),
	                 TP_OK);
	VERIFY(t.ptr, SECRET, "agent", now, TP_OK, "ok");
	assert_string_equal(tp_claim_str(c, "sub"), "alice");
	assert_string_equal(tp_claim_str(c, "pwh"), "0123456789abcdef");
	cJSON_Delete(c);
	VERIFY(t.ptr, SECRET, "agent", now + 599, TP_OK, "ok");
	cJSON_Delete(c);
	VERIFY(t.ptr, SECRET, "agent", now + 600, TP_EEXPIRED, "the token has expired");
	assert_null(c);
	VERIFY(t.ptr, SECRET, "session", now, TP_EAUTH, "the token is of the wrong kind");
	assert_null(c);
	VERIFY(t.ptr, "another-secret-00000000000000000", "agent", now, TP_EAUTH,
	       "the token's signature is wrong");
	assert_null(c);
	VERIFY(NULL, SECRET, "agent", now, TP_ENOTFOUND, "no token");
	VERIFY("", SECRET, "agent", now, TP_ENOTFOUND, "no token");
	VERIFY("abc", SECRET, "agent", now, TP_EINVAL, "the token is malformed");
	VERIFY("a.b.c", SECRET, "agent", now, TP_EINVAL, "the token is malformed");
	VERIFY(t.ptr, "", "agent", now, TP_EINVAL, "the token is malformed");
	assert_null(c);
	/* The reason is optional. */
	assert_int_equal(tp_token_verify("abc", SECRET, "agent", now, &c, NULL), TP_EINVAL);
	/* A changed claim breaks the MAC. */
	tp_buf_adds(&bad, t.ptr);
	bad.ptr[3] = bad.ptr[3] == 'a' ? 'b' : 'a';
	VERIFY(bad.ptr, SECRET, "agent", now, TP_EAUTH, "the token's signature is wrong");

	tp_buf_reset(&t);
	assert_int_equal(
	    tp_session_token_issue(&t, SECRET, "alice", "0123456789abcdef", PK, CA, now, 600),
	    TP_OK);
	VERIFY(t.ptr, SECRET, "session", now, TP_OK, "ok");
	assert_string_equal(tp_claim_str(c, "pk"), PK);
	assert_string_equal(tp_claim_str(c, "call"), CA);
	cJSON_Delete(c);
	VERIFY(t.ptr, SECRET, "agent", now, TP_EAUTH, "the token is of the wrong kind");
	tp_buf_free(&t);
	tp_buf_free(&bad);
}

/* Two tokens minted for the same agent, payment and second differ: each
 * carries its own random id (jti), so a second tab's token is its own
 * and not a copy of the first one's. */
static void test_tokens_unique(void **state)
{
	tp_buf a, b;
	cJSON *c = NULL;
	time_t now = 1800000000;
	const char *jti;
	(void)state;

	tp_buf_init(&a, 4096);
	tp_buf_init(&b, 4096);
	tp_session_token_issue(&a, SECRET, "alice", "0123456789abcdef", PK, CA, now, 600);
	tp_session_token_issue(&b, SECRET, "alice", "0123456789abcdef", PK, CA, now, 600);
	assert_string_not_equal(a.ptr, b.ptr);
	VERIFY(a.ptr, SECRET, "session", now, TP_OK, "ok");
	jti = tp_claim_str(c, "jti");
	assert_non_null(jti);
	assert_int_equal(strlen(jti), 32); /* 128 random bits, hex */
	cJSON_Delete(c);
	VERIFY(b.ptr, SECRET, "session", now, TP_OK, "ok");
	cJSON_Delete(c);

	tp_buf_reset(&a);
	tp_buf_reset(&b);
	tp_agent_token_issue(&a, SECRET, "alice", "0123456789abcdef", now, 600);
	tp_agent_token_issue(&b, SECRET, "alice", "0123456789abcdef", now, 600);
	assert_string_not_equal(a.ptr, b.ptr);
	tp_buf_free(&a);
	tp_buf_free(&b);
}

static void test_publish_tokens(void **state)
{
	tp_buf t, bad;
	time_t now = 1800000000;
	(void)state;

	tp_buf_init(&t, 256);
	tp_buf_init(&bad, 256);
	tp_publish_token(SECRET, PK, now, &t);
	assert_true(tp_str_prefix(t.ptr, "1800000000."));
	assert_int_equal(t.len, 11 + 64);
	assert_true(tp_publish_token_ok(SECRET, t.ptr, PK, now));
	assert_true(tp_publish_token_ok(SECRET, t.ptr, PK, now + TP_PUBLISH_TOKEN_SKEW_S));
	assert_false(tp_publish_token_ok(SECRET, t.ptr, PK, now + TP_PUBLISH_TOKEN_SKEW_S + 1));
	assert_false(tp_publish_token_ok(SECRET, t.ptr, PK, now - TP_PUBLISH_TOKEN_SKEW_S - 1));
	assert_false(tp_publish_token_ok(SECRET, t.ptr, PK2, now));
	assert_false(tp_publish_token_ok("another-secret-00000000000000000", t.ptr, PK, now));
	/* the time is inside the MAC: moving it breaks the token */
	tp_buf_adds(&bad, "1800000001");
	tp_buf_adds(&bad, strchr(t.ptr, '.'));
	assert_false(tp_publish_token_ok(SECRET, bad.ptr, PK, now));
	assert_false(tp_publish_token_ok(SECRET, "", PK, now));
	assert_false(tp_publish_token_ok(SECRET, NULL, PK, now));
	assert_false(tp_publish_token_ok(SECRET, "x.y", PK, now));
	assert_false(tp_publish_token_ok("", t.ptr, PK, now));
	tp_buf_free(&t);
	tp_buf_free(&bad);
}

static tp_config cfg_for(const char *agents)
{
	tp_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.agent_secret = (char *)SECRET;
	cfg.agents_file = (char *)agents;
	cfg.server_url = (char *)"https://pay.example.com";
	cfg.max_body_bytes = 65536;
	return cfg;
}

/* tp_ticket_redeem's code and its reason together (the reason is the
 * text of eventsAuth's 403, and tells the refusals apart).  Uses `cfg`. */
#define REDEEM(ticket, pk, now, want, want_why)                                                    \
	do {                                                                                       \
		const char *why_ = NULL;                                                           \
		assert_int_equal(tp_ticket_redeem(&cfg, ticket, pk, now, &why_), want);            \
		assert_string_equal(why_, want_why);                                               \
	} while (0)

#define WHY_INVALID "the ticket is not valid"
#define WHY_UNUSABLE                                                                               \
	"tickets cannot be checked (AGENT_SECRET, AGENTS_FILE or AGENTS_SYNC_MAP, TICKETS_FILE)"

/* Live-update tickets (lib/ticket.c), redeemed as eventsAuth does. */
static void test_tickets(void **state)
{
	char tag[TP_AGENT_TAG_LEN + 1], spent[160];
	tp_config cfg = cfg_for(file);
	time_t now = time(NULL);
	tp_buf t, s, exp;
	const char *why = NULL;
	(void)state;

	snprintf(spent, sizeof spent, "%s/spent", dir);
	cfg.tickets_file = spent;
	set_agent("erin", "erin's password");
	assert_int_equal(tp_agent_check_password(file, "erin", "erin's password", tag), TP_OK);
	tp_buf_init(&t, 4096);
	tp_buf_init(&s, 4096);
	tp_buf_init(&exp, 4096);
	assert_int_equal(tp_ticket_issue(&t, SECRET, "erin", tag, PK, now, TP_TICKET_TTL_S), TP_OK);
	/* Refusals first: none of them spends it. */
	REDEEM(t.ptr, PK2, now, TP_EAUTH, "the ticket is for another payment");
	REDEEM(NULL, PK, now, TP_ENOTFOUND, "no ticket");
	REDEEM("", PK, now, TP_ENOTFOUND, "no ticket");
	REDEEM("x.y", PK, now, TP_EAUTH, WHY_INVALID);
	REDEEM(t.ptr, PK, now + TP_TICKET_TTL_S, TP_EEXPIRED, "the ticket has expired");
	/* A session token is no ticket. */
	assert_int_equal(tp_session_token_issue(&s, SECRET, "erin", tag, PK, CA, now, 600), TP_OK);
	REDEEM(s.ptr, PK, now, TP_EAUTH, WHY_INVALID);
	/* Once, then never again. */
	REDEEM(t.ptr, PK, now, TP_OK, "ok");
	REDEEM(t.ptr, PK, now, TP_EAUTH, "the ticket has been used already");
	REDEEM(t.ptr, PK, now + 30, TP_EAUTH, "the ticket has been used already");
	/* Forgotten only once expired, when it is refused anyway. */
	REDEEM(t.ptr, PK, now + TP_TICKET_TTL_S + 1, TP_EEXPIRED, "the ticket has expired");
	/* The reason is optional. */
	assert_int_equal(tp_ticket_redeem(&cfg, "x.y", PK, now, NULL), TP_EAUTH);
	/* Longer-lived than any ticket we issue: not ours. */
	tp_buf_reset(&exp);
	assert_int_equal(tp_ticket_issue(&exp, SECRET, "erin", tag, PK, now, 3600), TP_OK);
	REDEEM(exp.ptr, PK, now, TP_EAUTH, WHY_INVALID);
	tp_buf_reset(&exp);
	/* Signed with another secret: forged. */
	assert_int_equal(
	    tp_ticket_issue(&exp, "another-secret-0000000000000000000", "erin", tag, PK, now, 60),
	    TP_OK);
	REDEEM(exp.ptr, PK, now, TP_EAUTH, WHY_INVALID);
	/* A new password voids erin's tickets. */
	tp_buf_reset(&t);
	assert_int_equal(tp_ticket_issue(&t, SECRET, "erin", tag, PK, now, 60), TP_OK);
	set_agent("erin", "erin's new password");
	REDEEM(t.ptr, PK, now, TP_EAUTH, "the agent was removed or its password changed");
	/* ...and so does deleting her. */
	assert_int_equal(tp_agents_file_set(file, "erin", NULL), TP_OK);
	REDEEM(t.ptr, PK, now, TP_EAUTH, "the agent was removed or its password changed");
	/* The agent store unusable: not a refusal. */
	cfg.agents_file = (char *)"/nonexistent/agents";
	REDEEM(t.ptr, PK, now, TP_ECONFIG, WHY_UNUSABLE);
	cfg.agents_file = NULL;
	REDEEM(t.ptr, PK, now, TP_ECONFIG, WHY_UNUSABLE);
	/* The agents in Sync: not configured enough to be read (TP_ECONFIG),
	 * or configured and unreachable (TP_EUNAVAIL: try again). */
	cfg.agents_sync_map = (char *)"agents";
	REDEEM(t.ptr, PK, now, TP_ECONFIG, WHY_UNUSABLE);
	cfg.account_sid = (char *)"AC00000000000000000000000000000001";
	cfg.auth_token = (char *)"token0token0token0token0token0aa";
	cfg.pay_sync_service_sid = (char *)"IS0123456789abcdef0123456789abcdef";
	cfg.twilio_sync_url = (char *)"http://127.0.0.1:9"; /* nobody listens */
	cfg.api_retry_budget_ms = 100;
	REDEEM(t.ptr, PK, now, TP_EUNAVAIL, "the agent store (Twilio Sync) cannot be reached");
	assert_int_equal(tp_ticket_redeem(&cfg, t.ptr, PK, now, &why), TP_EUNAVAIL);
	assert_ptr_not_equal(why, tp_ticket_spent_store_unavailable);
	cfg.agents_sync_map = NULL;
	cfg.agents_file = file;
	/* Several nodes (NCHAN_REDIS_URL): spent in Redis only.  Redis
	 * unreachable refuses a good ticket, and the per-node list is not
	 * used instead (it would accept the ticket once per node). */
	set_agent("erin", "erin's new password");
	tp_buf_reset(&t);
	assert_int_equal(tp_agent_check_password(file, "erin", "erin's new password", tag), TP_OK);
	assert_int_equal(tp_ticket_issue(&t, SECRET, "erin", tag, PK, now, 60), TP_OK);
	cfg.nchan_redis_url = (char *)"unix:///nonexistent/redis.sock";
	unlink(spent);
	REDEEM(t.ptr, PK, now, TP_EUNAVAIL,
	       "the spent-tickets store (Redis, NCHAN_REDIS_URL) cannot be reached");
	/* eventsAuth tells the two unavailable stores apart by this. */
	assert_int_equal(tp_ticket_redeem(&cfg, t.ptr, PK, now, &why), TP_EUNAVAIL);
	assert_ptr_equal(why, tp_ticket_spent_store_unavailable);
	assert_int_equal(access(spent, F_OK), -1);
	cfg.nchan_redis_url = NULL;
	REDEEM(t.ptr, PK, now, TP_OK, "ok");
	cfg.tickets_file = NULL;
	REDEEM(t.ptr, PK, now, TP_ECONFIG, WHY_UNUSABLE);
	/* A spent list that cannot be written: the same. */
	cfg.tickets_file = (char *)"/nonexistent/dir/spent";
	tp_buf_reset(&t);
	assert_int_equal(tp_ticket_issue(&t, SECRET, "erin", tag, PK, now, 60), TP_OK);
	REDEEM(t.ptr, PK, now, TP_ECONFIG, WHY_UNUSABLE);
	unlink(spent);
	snprintf(spent + strlen(spent), sizeof spent - strlen(spent), ".lock");
	unlink(spent);
	tp_buf_free(&t);
	tp_buf_free(&s);
	tp_buf_free(&exp);
}

/* The spent list across processes: of 8 that claim the same id at once,
 * exactly one gets it; expired entries are dropped. */
static void test_spent_list(void **state)
{
	char spent[160], lock[170];
	time_t now = time(NULL);
	tp_buf text;
	bool fresh;
	int i, st, got = 0;
	(void)state;

	snprintf(spent, sizeof spent, "%s/spent-list", dir);
	snprintf(lock, sizeof lock, "%s.lock", spent);
	for (i = 0; i < 8; i++) {
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			_exit(tp_spent_claim(spent, "abc", now + 60, now, &fresh) == TP_OK && fresh
			          ? 0
			          : 1);
	}
	for (i = 0; i < 8; i++) {
		assert_true(wait(&st) > 0);
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			got++;
	}
	assert_int_equal(got, 1);
	assert_int_equal(tp_spent_claim(spent, "abc", now + 60, now, &fresh), TP_OK);
	assert_false(fresh);
	assert_int_equal(tp_spent_claim(spent, "old", now + 1, now, &fresh), TP_OK);
	assert_true(fresh);
	/* Later: "old" has expired and goes; "abc" stays. */
	assert_int_equal(tp_spent_claim(spent, "new", now + 70, now + 5, &fresh), TP_OK);
	assert_true(fresh);
	tp_buf_init(&text, 4096);
	assert_int_equal(tp_buf_add_file(&text, spent), TP_OK);
	assert_null(strstr(tp_buf_str(&text), " old\n"));
	assert_non_null(strstr(tp_buf_str(&text), " abc\n"));
	assert_non_null(strstr(tp_buf_str(&text), " new\n"));
	tp_buf_free(&text);
	assert_int_equal(tp_spent_claim(spent, "a b", now + 60, now, &fresh), TP_EINVAL);
	assert_int_equal(tp_spent_claim("/nonexistent/dir/spent", "x", now + 60, now, &fresh),
	                 TP_EIO);
	assert_false(fresh);
	unlink(spent);
	unlink(lock);
}

/* A handler that reports who it was called for, behind the real
 * pipeline, so the authorisation steps run as in production. */
static void whoami(const tp_req *req, tp_resp *resp, const tp_config *cfg)
{
	const char *pk = tp_req_param(req, "paymentSid");
	if (pk && !tp_session_authorize_or_reply(req, resp, cfg, pk))
		return;
	tp_reply_text(resp, 200, req->auth_subject);
}

static const tp_handler who = {
    .name = "whoami",
    .fn = whoami,
    .flags = TP_H_ALLOW_GET,
    .authorize = tp_agent_authorize,
};

static void run(const tp_config *cfg, const char *auth, const char *session, const char *query,
                tp_buf *out)
{
	tp_buf a, s, q;
	const char *env[8];
	size_t n = 0;

	tp_buf_init(&a, 4096);
	tp_buf_init(&s, 4096);
	tp_buf_init(&q, 4096);
	env[n++] = "REQUEST_METHOD=GET";
	env[n++] = "DOCUMENT_URI=/aap/whoami";
	if (auth) {
		tp_buf_addf(&a, "HTTP_AUTHORIZATION=%s", auth);
		env[n++] = a.ptr;
	}
	if (session) {
		tp_buf_addf(&s, "HTTP_X_SESSION_TOKEN=%s", session);
		env[n++] = s.ptr;
	}
	if (query) {
		tp_buf_addf(&q, "QUERY_STRING=%s", query);
		env[n++] = q.ptr;
	}
	env[n] = NULL;
	tp_buf_reset(out);
	tp_process_cgi(&who, cfg, env, "", 0, out);
	tp_buf_free(&a);
	tp_buf_free(&s);
	tp_buf_free(&q);
}

static void test_authorize(void **state)
{
	char tag[TP_AGENT_TAG_LEN + 1];
	tp_config cfg = cfg_for(file);
	tp_buf tok, stok, other, h, out;
	(void)state;

	tp_log_set_level(TP_LOG_ERROR);
	set_agent("frank", "frank's password");
	set_agent("gina", "gina's password");
	assert_int_equal(tp_agent_check_password(file, "frank", "frank's password", tag), TP_OK);
	tp_buf_init(&tok, 4096);
	tp_buf_init(&stok, 4096);
	tp_buf_init(&other, 4096);
	tp_buf_init(&h, 4096);
	tp_buf_init(&out, 65536);
	tp_agent_token_issue(&tok, SECRET, "frank", tag, time(NULL), 600);
	tp_session_token_issue(&stok, SECRET, "frank", tag, PK, CA, time(NULL), 600);
	tp_buf_addf(&h, "Bearer %s", tok.ptr);

	run(&cfg, h.ptr, NULL, NULL, &out);
	assert_true(tp_str_prefix(out.ptr, "Status: 200"));
	assert_non_null(strstr(out.ptr, "\r\n\r\nfrank"));

	run(&cfg, NULL, NULL, NULL, &out);
	assert_true(tp_str_prefix(out.ptr, "Status: 401"));
	assert_non_null(strstr(out.ptr, "WWW-Authenticate: Bearer"));
	run(&cfg, "Bearer nonsense", NULL, NULL, &out);
	assert_true(tp_str_prefix(out.ptr, "Status: 401"));
	/* A session token is not an agent token. */
	tp_buf_reset(&other);
	tp_buf_addf(&other, "Bearer %s", stok.ptr);
	run(&cfg, other.ptr, NULL, NULL, &out);
	assert_true(tp_str_prefix(out.ptr, "Status: 401"));

	/* Session: right one, none, another payment's, another agent's. */
	run(&cfg, h.ptr, stok.ptr, "paymentSid=" PK, &out);
	assert_true(tp_str_prefix(out.ptr, "Status: 200"));
	run(&cfg, h.ptr, NULL, "paymentSid=" PK, &out);
	assert_true(tp_str_prefix(out.ptr, "Status: 401"));
	assert_non_null(strstr(out.ptr, "session_token_required"));
	run(&cfg, h.ptr, stok.ptr, "paymentSid=" PK2, &out);
	assert_true(tp_str_prefix(out.ptr, "Status: 403"));
	/* A session token refused says why (tp_token_verify's reason). */
	run(&cfg, h.ptr, "x", "paymentSid=" PK, &out);
	assert_true(tp_str_prefix(out.ptr, "Status: 403"));
	assert_non_null(strstr(out.ptr, "not valid for this payment (the token is malformed)"));
	run(&cfg, h.ptr, tok.ptr, "paymentSid=" PK, &out);
	assert_true(tp_str_prefix(out.ptr, "Status: 403"));
	assert_non_null(strstr(out.ptr, "(the token is of the wrong kind)"));
	tp_buf_reset(&other);
	tp_session_token_issue(&other, "another-secret-00000000000000000", "frank", tag, PK, CA,
	                       time(NULL), 600);
	run(&cfg, h.ptr, other.ptr, "paymentSid=" PK, &out);
	assert_true(tp_str_prefix(out.ptr, "Status: 403"));
	assert_non_null(strstr(out.ptr, "(the token's signature is wrong)"));
	tp_buf_reset(&other);
	tp_session_token_issue(&other, SECRET, "frank", tag, PK, CA, time(NULL) - 7200, 3600);
	run(&cfg, h.ptr, other.ptr, "paymentSid=" PK, &out);
	assert_true(tp_str_prefix(out.ptr, "Status: 403"));
	assert_non_null(strstr(out.ptr, "(the token has expired)"));
	/* An expired agent token: 401 token_expired, not "unauthorized". */
	tp_buf_reset(&other);
	tp_buf_adds(&other, "Bearer ");
	tp_agent_token_issue(&other, SECRET, "frank", tag, time(NULL) - 7200, 3600);
	run(&cfg, other.ptr, NULL, NULL, &out);
	assert_true(tp_str_prefix(out.ptr, "Status: 401"));
	assert_non_null(strstr(out.ptr, "token_expired"));
	{
		char gtag[TP_AGENT_TAG_LEN + 1];
		assert_int_equal(tp_agent_check_password(file, "gina", "gina's password", gtag),
		                 TP_OK);
		tp_buf_reset(&other);
		tp_session_token_issue(&other, SECRET, "gina", gtag, PK, CA, time(NULL), 600);
		run(&cfg, h.ptr, other.ptr, "paymentSid=" PK, &out);
		assert_true(tp_str_prefix(out.ptr, "Status: 403"));
	}

	/* Revocation: a new password for frank kills his token. */
	set_agent("frank", "frank's new password");
	run(&cfg, h.ptr, NULL, NULL, &out);
	assert_true(tp_str_prefix(out.ptr, "Status: 401"));
	assert_non_null(strstr(out.ptr, "token_revoked"));

	/* The agents in Sync, which cannot be reached: 503, try again; not a
	 * revocation. */
	cfg.agents_file = NULL;
	cfg.agents_sync_map = (char *)"agents";
	cfg.account_sid = (char *)"AC00000000000000000000000000000001";
	cfg.auth_token = (char *)"token0token0token0token0token0aa";
	cfg.pay_sync_service_sid = (char *)"IS0123456789abcdef0123456789abcdef";
	cfg.twilio_sync_url = (char *)"http://127.0.0.1:9"; /* nobody listens */
	cfg.api_retry_budget_ms = 100;
	run(&cfg, h.ptr, NULL, NULL, &out);
	assert_true(tp_str_prefix(out.ptr, "Status: 503"));
	assert_non_null(strstr(out.ptr, "agents_unavailable"));
	cfg.agents_sync_map = NULL;

	/* Not configured: a server error naming the variable, not a 401. */
	cfg.agents_file = NULL;
	run(&cfg, h.ptr, NULL, NULL, &out);
	assert_true(tp_str_prefix(out.ptr, "Status: 500"));
	assert_non_null(strstr(out.ptr, "AGENTS_FILE"));

	tp_buf_free(&tok);
	tp_buf_free(&stok);
	tp_buf_free(&other);
	tp_buf_free(&h);
	tp_buf_free(&out);
}

/* The Sync store's record (lib/agentstore.c): sealed with AGENT_SECRET;
 * a record written without it, for another name, or with a changed hash
 * is no agent. */
static void test_sync_record(void **state)
{
	char *hash = NULL, *got = NULL;
	cJSON *rec, *forged;
	char mac[65];
	(void)state;

	assert_int_equal(tp_agent_hash_password("a password long enough", &hash), TP_OK);
	rec = tp_agent_record(SECRET, "frank", hash);
	assert_int_equal(tp_agent_record_hash(SECRET, "frank", rec, &got), TP_OK);
	assert_string_equal(got, hash);
	free(got);
	/* the same record under another agent's name */
	assert_int_equal(tp_agent_record_hash(SECRET, "grace", rec, &got), TP_ENOTFOUND);
	assert_null(got);
	/* checked with another secret */
	assert_int_equal(tp_agent_record_hash("another secret", "frank", rec, &got), TP_ENOTFOUND);
	/* the hash replaced, the MAC kept */
	forged = cJSON_Duplicate(rec, 1);
	cJSON_ReplaceItemInObject(forged, "hash", cJSON_CreateString("$y$j9T$forged$forged"));
	assert_int_equal(tp_agent_record_hash(SECRET, "frank", forged, &got), TP_ENOTFOUND);
	cJSON_Delete(forged);
	/* a MAC made by someone without the secret */
	tp_agent_record_mac("guessed", "frank", hash, mac);
	forged = cJSON_Duplicate(rec, 1);
	cJSON_ReplaceItemInObject(forged, "mac", cJSON_CreateString(mac));
	assert_int_equal(tp_agent_record_hash(SECRET, "frank", forged, &got), TP_ENOTFOUND);
	cJSON_Delete(forged);
	/* not a record at all */
	assert_int_equal(tp_agent_record_hash(SECRET, "frank", NULL, &got), TP_ENOTFOUND);
	forged = cJSON_CreateObject();
	cJSON_AddNumberToObject(forged, "hash", 1);
	assert_int_equal(tp_agent_record_hash(SECRET, "frank", forged, &got), TP_ENOTFOUND);
	cJSON_Delete(forged);
	cJSON_Delete(rec);
	free(hash);
}

/* Two requests authorised one after the other, as two threads of one
 * worker do: each keeps its own agent (the subject lives in the request,
 * not in a buffer shared by the process). */
static void test_authorize_subject_per_request(void **state)
{
	char tag[TP_AGENT_TAG_LEN + 1];
	tp_config cfg = cfg_for(file);
	tp_req_priv a, b;
	tp_resp ra, rb;
	tp_buf ta, tb;
	size_t i;
	(void)state;

	tp_log_set_level(TP_LOG_ERROR);
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	memset(&ra, 0, sizeof ra);
	memset(&rb, 0, sizeof rb);
	tp_buf_init(&ta, 4096);
	tp_buf_init(&tb, 4096);
	set_agent("hana", "hana's password");
	set_agent("ivan", "ivan's password");
	assert_int_equal(tp_agent_check_password(file, "hana", "hana's password", tag), TP_OK);
	tp_buf_adds(&ta, "Bearer ");
	tp_agent_token_issue(&ta, SECRET, "hana", tag, time(NULL), 600);
	assert_int_equal(tp_agent_check_password(file, "ivan", "ivan's password", tag), TP_OK);
	tp_buf_adds(&tb, "Bearer ");
	tp_agent_token_issue(&tb, SECRET, "ivan", tag, time(NULL), 600);
	a.pub.h_authorization = ta.ptr;
	b.pub.h_authorization = tb.ptr;
	assert_true(tp_agent_authorize(&a.pub, &ra, &cfg));
	assert_true(tp_agent_authorize(&b.pub, &rb, &cfg));
	assert_string_equal(a.pub.auth_subject, "hana");
	assert_string_equal(b.pub.auth_subject, "ivan");
	for (i = 0; i < a.nstrings; i++)
		free(a.strings[i]);
	for (i = 0; i < b.nstrings; i++)
		free(b.strings[i]);
	tp_params_free(&ra.log);
	tp_params_free(&rb.log);
	tp_buf_free(&ta);
	tp_buf_free(&tb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_password_file),
	    cmocka_unit_test(test_legacy_hash_refused),
	    cmocka_unit_test(test_delete_last_agent),
	    cmocka_unit_test(test_tag_check),
	    cmocka_unit_test(test_tokens),
	    cmocka_unit_test(test_tokens_unique),
	    cmocka_unit_test(test_publish_tokens),
	    cmocka_unit_test(test_tickets),
	    cmocka_unit_test(test_spent_list),
	    cmocka_unit_test(test_authorize),
	    cmocka_unit_test(test_sync_record),
	    cmocka_unit_test(test_authorize_subject_per_request),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
