/* A test program whose tests crash, hang, fail and pass: test_harness.c checks that the harness
   reports each of them as such and carries on. */
#define WEBFW_IMPLEMENTATION
#include "../webfw.h"
#include <signal.h>

WF_TEST(passes) { WF_ASSERT_EQ_INT(2 + 2, 4); }

WF_TEST(crashes) {
    raise(SIGSEGV);
}

WF_TEST(hangs) {
    for (;;) pause();
}

WF_TEST(fails_then_continues) {
    WF_EXPECT_EQ_STR("left", "right");
    WF_EXPECT_EQ_INT(1, 2);
    wf_test_log("still running after EXPECT");
    WF_ASSERT_TRUE(0);
    wf_test_log("never printed");
}

WF_TEST(skips) { WF_SKIP("not here"); }

WF_TEST(passes_too) { WF_EXPECT_EQ_MEM("abc", 3, "abc", 3); }

WF_TEST_MAIN()
