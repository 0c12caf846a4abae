/* The harness tested through a helper binary with crashing, hanging, failing and passing tests. */
#define _GNU_SOURCE
#include "util.h"
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Run the harness_helper next to this binary with args; capture its output and exit status. */
static int run_helper(const char *args, char *out, size_t cap) {
    char self[PATH_MAX], cmd[PATH_MAX + 256];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return -1;
    self[n] = 0;
    char *slash = strrchr(self, '/');
    *slash = 0;
    /* under ASan or TSan, let the crash be the plain SIGSEGV the helper raises */
    snprintf(cmd, sizeof cmd,
             "ASAN_OPTIONS=handle_segv=0:detect_leaks=0 TSAN_OPTIONS=handle_segv=0 %s/harness_helper %s 2>&1",
             self, args);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t got = fread(out, 1, cap - 1, p);
    out[got] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char out[65536];

WF_TEST(harness_reports_crash_hang_fail_and_goes_on) {
    int rc = run_helper("--timeout=500 -j 3", out, sizeof out);
    WF_EXPECT_EQ_INT(rc, 1);
    WF_EXPECT_TRUE(strstr(out, "[CRASH ] crashes (SIGSEGV)") != NULL);
    WF_EXPECT_TRUE(strstr(out, "[ TIME ] hangs (killed after 500 ms)") != NULL);
    WF_EXPECT_TRUE(strstr(out, "[ FAIL ] fails_then_continues") != NULL);
    WF_EXPECT_TRUE(strstr(out, "[  OK  ] passes (") != NULL);
    WF_EXPECT_TRUE(strstr(out, "[  OK  ] passes_too (") != NULL);
    WF_EXPECT_TRUE(strstr(out, "[ SKIP ] skips") != NULL);
    /* checks print file:line, the expression and both values; EXPECT goes on, ASSERT stops */
    WF_EXPECT_TRUE(strstr(out, "harness_helper.c:18: Failure") != NULL);
    WF_EXPECT_TRUE(strstr(out, "left:  \"left\"") != NULL);
    WF_EXPECT_TRUE(strstr(out, "right: 2 => 2") != NULL);
    WF_EXPECT_TRUE(strstr(out, "still running after EXPECT") != NULL);
    WF_EXPECT_TRUE(strstr(out, "never printed") == NULL);
    if (wf_test_failed()) wf_test_log("the helper printed:\n%s", out);
    /* the last line, exactly */
    size_t len = strlen(out);
    WF_ASSERT_GT_INT(len, 2);
    char *last = out + len - 1;
    *last = 0;
    last = strrchr(out, '\n');
    WF_EXPECT_EQ_STR(last ? last + 1 : out, "2 passed, 3 failed, 1 skipped");
}

WF_TEST(harness_filter_list_and_exit_status) {
    WF_EXPECT_EQ_INT(run_helper("--filter=passes", out, sizeof out), 0);
    WF_EXPECT_TRUE(strstr(out, "2 passed, 0 failed\n") != NULL);
    WF_EXPECT_EQ_INT(run_helper("--list", out, sizeof out), 0);
    WF_EXPECT_EQ_STR(out, "passes\ncrashes\nhangs\nfails_then_continues\nskips\npasses_too\n");
    WF_EXPECT_EQ_INT(run_helper("--filter='pass*too'", out, sizeof out), 0);
    WF_EXPECT_TRUE(strstr(out, "1 passed, 0 failed\n") != NULL);
    /* --no-fork runs in-process: an ASSERT failure still ends only that test */
    WF_EXPECT_EQ_INT(run_helper("--no-fork --filter=fails", out, sizeof out), 1);
    WF_EXPECT_TRUE(strstr(out, "0 passed, 1 failed\n") != NULL);
    WF_EXPECT_EQ_INT(run_helper("--bogus", out, sizeof out), 2);
}
