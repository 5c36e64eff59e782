/* Unit tests for lib/reference.c: the short reference's alphabet and
 * shape, its derivation (vectors computed independently with Python's
 * hmac module), and the claim: collisions move to the next candidate, a
 * retry keeps the same reference, failures are said.  The claim against
 * Sync runs in tests/integration/test_capture_agent_flow.sh. */
#include "unit.h"

#define ID  "ch_0123456789abcdef0123456789abcdef"
#define KEY "fixture-agent-secret"

static void test_alphabet(void **state)
{
	const char *look_alikes = "01BILOSUZ";
	size_t i;

	(void)state;
	assert_int_equal(strlen(tp_reference_alphabet), 27);
	for (i = 0; tp_reference_alphabet[i]; i++) {
		char c = tp_reference_alphabet[i];
		assert_null(strchr(look_alikes, c));
		assert_true((c >= '2' && c <= '9') || (c >= 'A' && c <= 'Z'));
		assert_ptr_equal(strchr(tp_reference_alphabet, c), &tp_reference_alphabet[i]);
	}
}

static void test_make(void **state)
{
	static const struct {
		int line;
		const char *key, *id;
		unsigned attempt;
		const char *want;
	} rows[] = {
	    {__LINE__, KEY, ID, 0, "QPXQ-3TD5"},
	    {__LINE__, KEY, ID, 1, "E68X-DXQ9"},
	};
	char a[TP_REFERENCE_LEN + 1], b[TP_REFERENCE_LEN + 1];
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEMS(rows); i++) {
		tp_reference_make(rows[i].key, rows[i].id, rows[i].attempt, a);
		if (strcmp(a, rows[i].want) != 0)
			ROW_FAIL(rows[i].line, "reference %s want %s\n", a, rows[i].want);
	}
	/* The same payment, the same reference; anything else, another. */
	tp_reference_make(KEY, ID, 0, a);
	tp_reference_make(KEY, ID, 0, b);
	assert_string_equal(a, b);
	tp_reference_make("another-secret", ID, 0, b);
	assert_string_not_equal(a, b);
	tp_reference_make(KEY, "ch_0123456789abcdef0123456789abcdee", 0, b);
	assert_string_not_equal(a, b);
	tp_reference_make(KEY, "", 0, b);
	assert_true(tp_reference_valid(b));
}

static void test_valid(void **state)
{
	static const struct {
		int line;
		const char *s;
		bool ok;
	} rows[] = {
	    {__LINE__, "QPXQ-3TD5", true},  {__LINE__, "2222-YYYY", true},
	    {__LINE__, "qpxq-3td5", false}, {__LINE__, "QPXQ3TD5", false},
	    {__LINE__, "QPXQ-3TD", false},  {__LINE__, "QPXQ-3TD55", false},
	    {__LINE__, "QPX-Q3TD5", false}, {__LINE__, "QPXQ-0TD5", false},
	    {__LINE__, "QPXQ-STD5", false}, {__LINE__, "", false},
	    {__LINE__, "QPXQ_3TD5", false},
	};
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEMS(rows); i++)
		if (tp_reference_valid(rows[i].s) != rows[i].ok)
			ROW_FAIL(rows[i].line, "valid(%s) != %d\n", rows[i].s, rows[i].ok);
	assert_false(tp_reference_valid(NULL));
}

static int cmp_ref(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Many payments: every reference well formed, none shared.  At 2.8e11
 * candidates, 20,000 references collide with probability 7e-4; the
 * inputs are fixed, so this either always passes or never does. */
static void test_spread(void **state)
{
	enum { N = 20000 };
	char(*refs)[TP_REFERENCE_LEN + 1] = calloc(N, sizeof *refs);
	char id[64];
	unsigned counts[27] = {0};
	size_t i, j;

	(void)state;
	assert_non_null(refs);
	for (i = 0; i < N; i++) {
		snprintf(id, sizeof id, "ch_%032zx", i);
		tp_reference_make(KEY, id, 0, refs[i]);
		assert_true(tp_reference_valid(refs[i]));
		for (j = 0; j < TP_REFERENCE_LEN; j++)
			if (j != 4)
				counts[strchr(tp_reference_alphabet, refs[i][j]) -
				       tp_reference_alphabet]++;
	}
	qsort(refs, N, sizeof *refs, cmp_ref);
	for (i = 1; i < N; i++)
		assert_string_not_equal(refs[i - 1], refs[i]);
	/* Every symbol used about as often (8 * N / 27 = 5926 each). */
	for (i = 0; i < 27; i++)
		assert_in_range(counts[i], 5400, 6500);
	free(refs);
}

/* A registry held in memory: reference -> id. */
typedef struct fake {
	char held[8][TP_REFERENCE_LEN + 1];
	const char *owner[8];
	size_t n;
	const char *id;
	int calls, fail_at;
} fake;

static tp_rc fake_take(const char *ref, void *vctx, bool *mine)
{
	fake *f = vctx;
	size_t i;

	if (++f->calls == f->fail_at)
		return TP_EUNAVAIL;
	for (i = 0; i < f->n; i++)
		if (strcmp(f->held[i], ref) == 0) {
			*mine = strcmp(f->owner[i], f->id) == 0;
			return TP_OK;
		}
	snprintf(f->held[f->n], sizeof f->held[0], "%s", ref);
	f->owner[f->n++] = f->id;
	*mine = true;
	return TP_OK;
}

static void hold(fake *f, unsigned attempt, const char *owner)
{
	tp_reference_make(KEY, ID, attempt, f->held[f->n]);
	f->owner[f->n++] = owner;
}

static void test_claim(void **state)
{
	char ref[TP_REFERENCE_LEN + 1], want[TP_REFERENCE_LEN + 1];
	unsigned attempt = 99;
	fake f;
	unsigned i;

	(void)state;
	/* Free: the first candidate. */
	memset(&f, 0, sizeof f);
	f.id = ID;
	assert_int_equal(tp_reference_claim(KEY, ID, fake_take, &f, ref, &attempt), TP_OK);
	tp_reference_make(KEY, ID, 0, want);
	assert_string_equal(ref, want);
	assert_int_equal(attempt, 0);
	/* A retry (the callback again, another worker): the same one, held
	 * already for this id. */
	assert_int_equal(tp_reference_claim(KEY, ID, fake_take, &f, ref, &attempt), TP_OK);
	assert_string_equal(ref, want);
	assert_int_equal(f.n, 1);

	/* Collisions: the first two candidates held by other payments. */
	memset(&f, 0, sizeof f);
	f.id = ID;
	hold(&f, 0, "ch_other-one");
	hold(&f, 1, "ch_other-two");
	assert_int_equal(tp_reference_claim(KEY, ID, fake_take, &f, ref, &attempt), TP_OK);
	tp_reference_make(KEY, ID, 2, want);
	assert_string_equal(ref, want);
	assert_int_equal(attempt, 2);
	/* ... and its retry lands on the same third candidate. */
	assert_int_equal(tp_reference_claim(KEY, ID, fake_take, &f, ref, &attempt), TP_OK);
	assert_string_equal(ref, want);

	/* The registry cannot be read: said, nothing claimed. */
	memset(&f, 0, sizeof f);
	f.id = ID;
	f.fail_at = 1;
	assert_int_equal(tp_reference_claim(KEY, ID, fake_take, &f, ref, NULL), TP_EIO);
	assert_string_equal(ref, "");

	/* Every candidate taken. */
	memset(&f, 0, sizeof f);
	f.id = ID;
	for (i = 0; i < TP_REFERENCE_TRIES; i++)
		hold(&f, i, "ch_someone-else");
	assert_int_equal(tp_reference_claim(KEY, ID, fake_take, &f, ref, NULL), TP_ENOTFOUND);
	assert_string_equal(ref, "");
}

/* The reference and the connector's id travel with the session state. */
static void test_state_roundtrip(void **state)
{
	tp_capture c, back;
	tp_capture_params p = {false,  true,    false,
	                       NULL,   "alice", "CA0123456789abcdef0123456789abcdef",
	                       "9.99", "USD",   NULL};
	tp_capture_action act;
	cJSON *j, *v;

	(void)state;
	tp_capture_start(&c, &p, &act);
	c.status = TP_CAP_COMPLETED;
	snprintf(c.reference, sizeof c.reference, "QPXQ-3TD5");
	snprintf(c.connector_id, sizeof c.connector_id, "%s", ID);
	j = tp_capture_to_json(&c);
	assert_string_equal(cJSON_GetObjectItem(j, "reference")->valuestring, "QPXQ-3TD5");
	assert_string_equal(cJSON_GetObjectItem(j, "connectorId")->valuestring, ID);
	assert_int_equal(tp_capture_from_json(&back, j), TP_OK);
	assert_string_equal(back.reference, "QPXQ-3TD5");
	assert_string_equal(back.connector_id, ID);
	v = tp_capture_view(&back, j, "PK0123456789abcdef0123456789abcdef");
	assert_string_equal(cJSON_GetObjectItem(v, "reference")->valuestring, "QPXQ-3TD5");
	cJSON_Delete(v);
	/* A malformed stored reference is not shown. */
	cJSON_ReplaceItemInObject(j, "reference", cJSON_CreateString("QPXQ-0TD5"));
	assert_int_equal(tp_capture_from_json(&back, j), TP_OK);
	assert_string_equal(back.reference, "");
	cJSON_Delete(j);
	/* Before the end: null. */
	tp_capture_start(&c, &p, &act);
	v = tp_capture_view(&c, NULL, "PK0123456789abcdef0123456789abcdef");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(v, "reference")));
	cJSON_Delete(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_alphabet), cmocka_unit_test(test_make),
	    cmocka_unit_test(test_valid),    cmocka_unit_test(test_spread),
	    cmocka_unit_test(test_claim),    cmocka_unit_test(test_state_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
