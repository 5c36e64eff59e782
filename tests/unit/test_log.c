/* Unit tests for lib/log.c: format and PCI redaction of every value. */
#include <unistd.h>

#include "unit.h"

/* Runs fn with stderr captured; returns what it wrote (static). */
static const char *capture(void (*fn)(void))
{
	static char buf[8192];
	char path[] = "/tmp/tp-log-XXXXXX";
	int fd = mkstemp(path), saved = dup(2);
	ssize_t n;

	fflush(stderr);
	dup2(fd, 2);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, sizeof buf - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	return buf;
}

static void emit_card(void)
{
	tp_log_kv(TP_LOG_INFO, "charge 4111111111111111", "note", "pan 4111 1111 1111 1111", "cvv",
	          "123", "SecurityCode", "456", "CallSid", "CA0123456789abcdef0123456789abcdef",
	          "empty", NULL, "quote", "a \"b\"");
}

static void emit_debug(void)
{
	tp_log(TP_LOG_DEBUG, "hidden");
}

static void test_redacted_line(void **state)
{
	const char *s;
	(void)state;
	tp_log_init("unit");
	s = capture(emit_card);
	assert_null(strstr(s, "4111"));
	assert_null(strstr(s, "=123"));
	assert_null(strstr(s, "=456"));
	assert_non_null(strstr(s, "level=info fn=unit"));
	assert_non_null(strstr(s, "msg=\"charge [card]\""));
	assert_non_null(strstr(s, "note=\"pan [card]\""));
	assert_non_null(strstr(s, "cvv=[redacted]"));
	assert_non_null(strstr(s, "SecurityCode=[redacted]"));
	assert_non_null(strstr(s, "CallSid=CA0123456789abcdef0123456789abcdef"));
	assert_non_null(strstr(s, "empty=\"\""));
	assert_non_null(strstr(s, "quote=\"a \\\"b\\\"\""));
	/* exactly one line */
	assert_non_null(strchr(s, '\n'));
	assert_null(strchr(strchr(s, '\n') + 1, '\n'));
}

static void test_level_filter(void **state)
{
	(void)state;
	tp_log_set_level(TP_LOG_INFO);
	assert_string_equal(capture(emit_debug), "");
	tp_log_set_level(TP_LOG_DEBUG);
	assert_non_null(strstr(capture(emit_debug), "msg=hidden"));
	tp_log_set_level(TP_LOG_INFO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_redacted_line),
	    cmocka_unit_test(test_level_filter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
