/* The JSON writer: escaping, UTF-8, numbers as Python writes them, structure checks, pack formats. */
#define _GNU_SOURCE
#include "util.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Expected texts made by Python's json.dumps (an independent implementation). */
static const struct { double v; const char *text; } doubles[] = {
    {0.0, "0.0"}, {-0.0, "-0.0"}, {1.0, "1.0"}, {10.0, "10.0"}, {0.1, "0.1"},
    {0.30000000000000004, "0.30000000000000004"}, {1e+16, "1e+16"},
    {1000000000000000.0, "1000000000000000.0"}, {1.2345678901234568e+17, "1.2345678901234568e+17"},
    {0.0001, "0.0001"}, {1e-05, "1e-05"}, {1.5e+300, "1.5e+300"}, {5e-324, "5e-324"},
    {1.7976931348623157e+308, "1.7976931348623157e+308"}, {-2.5, "-2.5"}, {3.14159, "3.14159"},
    {100.0, "100.0"}, {1e+22, "1e+22"}, {0.000123, "0.000123"}, {9007199254740992.0, "9007199254740992.0"},
    {1.5e-323, "1.5e-323"}, {0.3333333333333333, "0.3333333333333333"},
};

WF_TEST(json_doubles_as_python_writes_them) {
    char out[32];
    for (size_t i = 0; i < sizeof doubles / sizeof doubles[0]; i++) {
        int n = wf_json_double(out, doubles[i].v);
        WF_EXPECT_EQ_INT(n, (long)strlen(doubles[i].text));
        WF_EXPECT_EQ_STR(out, doubles[i].text);
    }
    WF_EXPECT_EQ_INT(wf_json_double(out, NAN), WF_EINVAL);
    WF_EXPECT_EQ_INT(wf_json_double(out, INFINITY), WF_EINVAL);
    WF_EXPECT_EQ_INT(wf_json_double(out, -INFINITY), WF_EINVAL);
}

WF_TEST(json_doubles_read_back_exactly) {
    unsigned long long x = 0x9e3779b97f4a7c15ull;
    int checked = 0;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double v;
        memcpy(&v, &x, sizeof v);
        if (v != v || v - v != 0) continue;
        char out[32];
        int n = wf_json_double(out, v);
        if (n <= 0 || strtod(out, NULL) != v) {
            wf_test_log("%.17g gave '%s'", v, out);
            WF_ASSERT_TRUE(0);
        }
        checked++;
    }
    WF_EXPECT_GT_INT(checked, 190000);
}


WF_TEST(json_pack_objects_arrays_and_values) {
    wf_buf b = {0};
    WF_ASSERT_EQ_INT(wf_json_pack(&b, "{s:s}", "message", "Hello World"), 0);
    WF_EXPECT_EQ_MEM(b.ptr, b.len, "{\"message\":\"Hello World\"}", 25);
    b.len = 0;
    wf_str view = {"abc", 2};
    WF_ASSERT_EQ_INT(wf_json_pack(&b, "{s:i, s:I, s:u, s:f, s:b, s:b, s:n, s:s, s:S, s:[i,[],{}], s:j}", "i", -7, "I",
                                  -9007199254740993LL, "u", 4000000000u, "f", 0.5, "t", 1, "f2", 0, "n", "null", (const char *)NULL,
                                  "S", view, "a", 1, "raw", "{\"x\":[1]}"), 0);
    const char *want = "{\"i\":-7,\"I\":-9007199254740993,\"u\":4000000000,\"f\":0.5,\"t\":true,\"f2\":false,"
                       "\"n\":null,\"null\":null,\"S\":\"ab\",\"a\":[1,[],{}],\"raw\":{\"x\":[1]}}";
    WF_EXPECT_EQ_MEM(b.ptr, b.len, want, strlen(want));
    b.len = 0;
    WF_EXPECT_EQ_INT(wf_json_pack(&b, "[f]", NAN), WF_EINVAL);
    WF_EXPECT_EQ_INT(b.len, 0);                  /* nothing kept on error */
    WF_EXPECT_EQ_INT(wf_json_pack(&b, "{s}", "k"), WF_EINVAL);
    WF_EXPECT_EQ_INT(wf_json_pack(&b, "[i", 1), WF_EINVAL);
    WF_EXPECT_EQ_INT(wf_json_pack(&b, "[i]]", 1), WF_EINVAL);
    WF_EXPECT_EQ_INT(wf_json_pack(&b, "ii", 1, 2), WF_EINVAL);
    WF_EXPECT_EQ_INT(wf_json_pack(&b, "x"), WF_EINVAL);
    WF_EXPECT_EQ_INT(b.len, 0);
    wf_buf_free(&b);
}

WF_TEST(json_strings_escaped_and_utf8_checked) {
    wf_buf b = {0};
    WF_ASSERT_EQ_INT(wf_json_pack(&b, "[s]", "q\"b\\s/\n\r\t\b\f\x01\x1f\x7f é €𝄞"), 0);
    const char *want = "[\"q\\\"b\\\\s/\\n\\r\\t\\b\\f\\u0001\\u001f\x7f é €𝄞\"]";
    WF_EXPECT_EQ_MEM(b.ptr, b.len, want, strlen(want));
    b.len = 0;
    /* invalid UTF-8: a lone continuation, an overlong, a surrogate, past U+10FFFF, a cut sequence */
    WF_ASSERT_EQ_INT(wf_json_pack(&b, "[s]", "a\x80" "b\xc0\xaf" "c\xed\xa0\x80" "d\xf4\x90\x80\x80" "e\xe2\x82"), 0);
    const char *fffd = "[\"a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd" "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                       "d\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "e\xef\xbf\xbd\xef\xbf\xbd\"]";
    WF_EXPECT_EQ_MEM(b.ptr, b.len, fffd, strlen(fffd));
    WF_EXPECT_TRUE(wf_utf8_valid(b.ptr, b.len));
    WF_EXPECT_FALSE(wf_utf8_valid("\xed\xa0\x80", 3));
    WF_EXPECT_FALSE(wf_utf8_valid("\xf0\x8f\xbf\xbf", 4));
    WF_EXPECT_TRUE(wf_utf8_valid("\xf4\x8f\xbf\xbf", 4));
    WF_EXPECT_TRUE(wf_utf8_valid("\xed\x9f\xbf", 3));
    wf_buf_free(&b);
}

WF_TEST(json_writer_streams_and_checks_structure) {
    wf_buf b = {0};
    wf_jw w = {.out = &b};
    wf_jw_arr(&w);
    for (int i = 0; i < 1000; i++) {
        wf_jw_obj(&w);
        wf_jw_key(&w, "id");
        wf_jw_int(&w, i);
        wf_jw_end(&w);
    }
    wf_jw_end(&w);
    WF_ASSERT_EQ_INT(w.err, 0);
    WF_EXPECT_EQ_MEM(b.ptr, 20, "[{\"id\":0},{\"id\":1},{", 20);
    WF_EXPECT_EQ_MEM(b.ptr + b.len - 11, 11, "{\"id\":999}]", 11);
    /* misuse is a sticky error */
    wf_jw bad = {.out = &b};
    wf_jw_arr(&bad);
    wf_jw_key(&bad, "k");
    WF_EXPECT_EQ_INT(bad.err, WF_EINVAL);
    wf_jw_int(&bad, 1);
    WF_EXPECT_EQ_INT(bad.err, WF_EINVAL);
    wf_jw deep = {.out = &b};
    for (int i = 0; i < 65; i++) wf_jw_arr(&deep);
    WF_EXPECT_EQ_INT(deep.err, WF_EINVAL);
    wf_buf_free(&b);
}
