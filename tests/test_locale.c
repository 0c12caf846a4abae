/* Numbers under the process locale. A program that embeds the library may call
   setlocale(LC_ALL, "") under a decimal-comma locale (de_DE.UTF-8: "10,5"); JSON and parameter
   numbers must still be read and written with a '.', as the wire formats say.
   With WF_TEST_LOCALE set (make test-locale sets de_DE.UTF-8), the constructor below puts the whole
   test binary under that locale before any test runs (each forked test inherits it), and stops the
   run if the locale is missing or its decimal point is not ',', so a missing locale cannot pass
   silently. Without the variable these tests run under the C locale, like the rest of the suite. */
#define _GNU_SOURCE
#include "util.h"
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((constructor)) static void locale_from_environment(void) {
    const char *want = getenv("WF_TEST_LOCALE");
    char t[16];
    if (!want || !*want) return;
    if (!setlocale(LC_ALL, want)) {
        fprintf(stderr, "WF_TEST_LOCALE=%s: setlocale(LC_ALL) refuses it; is the locale generated?"
                        " (`locale -a`; as root: tests/deps.sh test)\n", want);
        exit(2);
    }
    snprintf(t, sizeof t, "%.1f", 10.5);
    if (strcmp(localeconv()->decimal_point, ",") != 0 || strcmp(t, "10,5") != 0) {
        fprintf(stderr, "WF_TEST_LOCALE=%s: its decimal point is \"%s\" (printf writes %s), not a comma\n",
                want, localeconv()->decimal_point, t);
        exit(2);
    }
    fprintf(stderr, "tests run under the locale %s (printf writes 10.5 as %s)\n", want, t);
}

/* v as text in the C locale whatever the process's (for messages: the library is what is tested). */
static const char *c_text(double v, char out[40]) {
    locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    locale_t old = c ? uselocale(c) : (locale_t)0;
    snprintf(out, 40, "%.17g", v);
    if (c) {
        uselocale(old);
        freelocale(c);
    }
    return out;
}

/* A double compared exactly, both values shown (in the C locale's text) at the caller's line. */
#define EXPECT_NUM(got, want)                                                                       \
    do {                                                                                            \
        double g_ = (got), w_ = (want);                                                             \
        char gt_[40], wt_[40];                                                                      \
        if (g_ != w_)                                                                               \
            wf_test_log("%s:%d: %s is %s, expected %s", __FILE__, __LINE__, #got, c_text(g_, gt_),  \
                        c_text(w_, wt_));                                                           \
        WF_EXPECT_TRUE(g_ == w_);                                                                   \
    } while (0)

/* One request through the test client, its status and body checked at the caller's line. */
#define EXPECT_CALL(tc, method, path, json, status, want)                                           \
    do {                                                                                            \
        char b_[2048];                                                                              \
        WF_EXPECT_EQ_INT(tu_call(tc, method, path, NULL, json, b_, sizeof b_), status);             \
        WF_EXPECT_EQ_STR(b_, want);                                                                 \
    } while (0)

WF_TEST(locale_is_the_one_asked_for) {
    const char *want = getenv("WF_TEST_LOCALE");
    char t[16];
    snprintf(t, sizeof t, "%.1f", 10.5);
    wf_test_log("locale %s: decimal point \"%s\"", setlocale(LC_ALL, NULL), localeconv()->decimal_point);
    if (want && *want) {
        WF_EXPECT_EQ_STR(setlocale(LC_ALL, NULL), want);
        WF_EXPECT_EQ_STR(localeconv()->decimal_point, ",");
        WF_EXPECT_EQ_STR(t, "10,5");                /* the C library follows it in this test's process */
    } else {
        WF_EXPECT_EQ_STR(localeconv()->decimal_point, ".");
        WF_EXPECT_EQ_STR(t, "10.5");
    }
}

WF_TEST(locale_json_writer_writes_a_point) {
    static const struct { double v; const char *text; } cases[] = {
        {10.5, "10.5"}, {0.1, "0.1"}, {-0.25, "-0.25"}, {3.14159, "3.14159"}, {2000.0, "2000.0"},
        {1e+16, "1e+16"}, {1.5e-07, "1.5e-07"}, {0.30000000000000004, "0.30000000000000004"},
    };
    char out[32];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int n = wf_json_double(out, cases[i].v);
        WF_EXPECT_EQ_INT(n, (long)strlen(cases[i].text));
        WF_EXPECT_EQ_STR(out, cases[i].text);
    }
    wf_buf b = {0};
    WF_ASSERT_EQ_INT(wf_json_pack(&b, "{s:f, s:[f,f,f]}", "price", 10.5, "v", 0.1, -2.5e-7, 1e22), 0);
    const char *want = "{\"price\":10.5,\"v\":[0.1,-2.5e-07,1e+22]}";
    WF_EXPECT_EQ_MEM(b.ptr, b.len, want, strlen(want));
    b.len = 0;
    wf_jw w = {.out = &b};
    wf_jw_arr(&w);
    wf_jw_num(&w, 10.5);
    wf_jw_num(&w, 0.1);
    wf_jw_end(&w);
    WF_EXPECT_EQ_MEM(b.ptr, b.len, "[10.5,0.1]", 10);
    wf_buf_free(&b);
}

WF_TEST(locale_json_reader_reads_a_point) {
    wf_json_doc d;
    double x = 0;
    WF_ASSERT_EQ_INT(wf_json_parse("10.5", 4, 0, &d), 0);
    WF_EXPECT_TRUE(wf_json_num(d.root, &x));
    EXPECT_NUM(x, 10.5);
    wf_json_free(&d);
    const char *arr = "[1e2, -0.25, 0.1, 2.5E-3, 1.7976931348623157e308]";
    WF_ASSERT_EQ_INT(wf_json_parse(arr, strlen(arr), 0, &d), 0);
    WF_ASSERT_EQ_INT(wf_json_len(d.root), 5);
    static const double want[] = {100, -0.25, 0.1, 0.0025, 1.7976931348623157e308};
    for (size_t i = 0; i < 5; i++) {
        x = 0;
        WF_EXPECT_TRUE(wf_json_num(wf_json_at(d.root, i), &x));
        EXPECT_NUM(x, want[i]);
    }
    wf_json_free(&d);
    /* a comma is never part of a JSON number: [10,5] is two integers */
    WF_ASSERT_EQ_INT(wf_json_parse("[10,5]", 6, 0, &d), 0);
    WF_EXPECT_EQ_INT(wf_json_len(d.root), 2);
    wf_json_free(&d);
    /* the writer's text reads back exactly */
    char out[32];
    const double back[] = {10.5, 0.1, 1.0 / 3, 5e-324, 123456.789e-200};
    for (size_t i = 0; i < sizeof back / sizeof back[0]; i++) {
        int n = wf_json_double(out, back[i]);
        WF_ASSERT_GE_INT(n, 1);
        WF_ASSERT_EQ_INT(wf_json_parse(out, (size_t)n, 0, &d), 0);
        x = 0;
        WF_EXPECT_TRUE(wf_json_num(d.root, &x));
        EXPECT_NUM(x, back[i]);
        wf_json_free(&d);
    }
}

static void reply_f(wf_req *req, wf_res *res) {
    (void)req;
    wf_reply_json(res, 200, "{s:f, s:f}", "price", 10.5, "tax", 0.1);
}

static void query_float(wf_req *req, wf_res *res) {
    double x = wf_param_float(req, WF_IN_QUERY, "x", "required,ge=0.5,le=99.5");
    double d = wf_param_float(req, WF_IN_QUERY, "d", "default=2.5");
    if (wf_invalid(req)) return;
    wf_reply_json(res, 200, "{s:f, s:f}", "x", x, "d", d);
}

static void path_float(wf_req *req, wf_res *res) {
    double x = wf_param_float(req, WF_IN_PATH, "x", "gt=0.5");
    if (wf_invalid(req)) return;
    wf_reply_json(res, 200, "{s:f}", "x", x);
}

static void body_float(wf_req *req, wf_res *res) {
    double p = wf_body_float(req, "price", "required,ge=0.5,le=99.5");
    if (wf_invalid(req)) return;
    wf_reply_json(res, 200, "{s:f}", "price", p);
}

/* The 422 bodies: a value that is not a float; one below ge=0.5; one above le=99.5. */
#define LOC(in, name) "{\"detail\":[{\"loc\":[\"" in "\",\"" name "\"],"
#define NOT_FLOAT(in, name)                                                                         \
    LOC(in, name) "\"msg\":\"value is not a valid float\",\"type\":\"type_error.float\"}]}"
#define NOT_GE(in, name)                                                                            \
    LOC(in, name) "\"msg\":\"ensure this value is greater than or equal to 0.5\","                  \
                  "\"type\":\"value_error.number.not_ge\",\"ctx\":{\"limit_value\":0.5}}]}"
#define NOT_LE(in, name)                                                                            \
    LOC(in, name) "\"msg\":\"ensure this value is less than or equal to 99.5\","                    \
                  "\"type\":\"value_error.number.not_le\",\"ctx\":{\"limit_value\":99.5}}]}"

WF_TEST(locale_reply_json_writes_a_point) {
    wf_app *app = wf_app_new();
    wf_get(app, "/f", reply_f);
    wf_test_client *tc = wf_test_client_new(app, NULL);
    EXPECT_CALL(tc, "GET", "/f", NULL, 200, "{\"price\":10.5,\"tax\":0.1}");
    wf_test_client_free(tc);
    wf_app_free(app);
}

/* Each bound is tested from both sides, with values that a bound read only up to its '.' (0 and 99)
   would judge the other way. */
WF_TEST(locale_query_and_path_floats) {
    wf_app *app = wf_app_new();
    wf_get(app, "/q", query_float);
    wf_get(app, "/p/{x:float}", path_float);
    wf_test_client *tc = wf_test_client_new(app, NULL);
    EXPECT_CALL(tc, "GET", "/q?x=10.5", NULL, 200, "{\"x\":10.5,\"d\":2.5}");
    EXPECT_CALL(tc, "GET", "/q?x=0.5&d=0.1", NULL, 200, "{\"x\":0.5,\"d\":0.1}");
    EXPECT_CALL(tc, "GET", "/q?x=99.25", NULL, 200, "{\"x\":99.25,\"d\":2.5}");
    EXPECT_CALL(tc, "GET", "/q?x=99.5", NULL, 200, "{\"x\":99.5,\"d\":2.5}");
    EXPECT_CALL(tc, "GET", "/q?x=1.5e1", NULL, 200, "{\"x\":15.0,\"d\":2.5}");
    EXPECT_CALL(tc, "GET", "/q?x=+7.25", NULL, 200, "{\"x\":7.25,\"d\":2.5}");
    EXPECT_CALL(tc, "GET", "/q?x=0.25", NULL, 422, NOT_GE("query", "x"));
    EXPECT_CALL(tc, "GET", "/q?x=99.75", NULL, 422, NOT_LE("query", "x"));
    /* Python's float() takes no decimal comma, whatever the locale */
    EXPECT_CALL(tc, "GET", "/q?x=10%2C5", NULL, 422, NOT_FLOAT("query", "x"));
    EXPECT_CALL(tc, "GET", "/q?x=10,5", NULL, 422, NOT_FLOAT("query", "x"));
    EXPECT_CALL(tc, "GET", "/p/1.5", NULL, 200, "{\"x\":1.5}");
    EXPECT_CALL(tc, "GET", "/p/0.75", NULL, 200, "{\"x\":0.75}");
    EXPECT_CALL(tc, "GET", "/p/0.25", NULL, 422,
                "{\"detail\":[{\"loc\":[\"path\",\"x\"],\"msg\":\"ensure this value is greater than 0.5\","
                "\"type\":\"value_error.number.not_gt\",\"ctx\":{\"limit_value\":0.5}}]}");
    wf_test_client_free(tc);
    wf_app_free(app);
}

WF_TEST(locale_body_floats) {
    wf_app *app = wf_app_new();
    wf_post(app, "/b", body_float);
    wf_test_client *tc = wf_test_client_new(app, NULL);
    EXPECT_CALL(tc, "POST", "/b", "{\"price\":10.5}", 200, "{\"price\":10.5}");
    EXPECT_CALL(tc, "POST", "/b", "{\"price\":\"10.5\"}", 200, "{\"price\":10.5}");
    EXPECT_CALL(tc, "POST", "/b", "{\"price\":99.25}", 200, "{\"price\":99.25}");
    EXPECT_CALL(tc, "POST", "/b", "{\"price\":\"99.25\"}", 200, "{\"price\":99.25}");
    EXPECT_CALL(tc, "POST", "/b", "{\"price\":5e-1}", 200, "{\"price\":0.5}");
    EXPECT_CALL(tc, "POST", "/b", "{\"price\":0.25}", 422, NOT_GE("body", "price"));
    EXPECT_CALL(tc, "POST", "/b", "{\"price\":\"0.25\"}", 422, NOT_GE("body", "price"));
    EXPECT_CALL(tc, "POST", "/b", "{\"price\":99.75}", 422, NOT_LE("body", "price"));
    EXPECT_CALL(tc, "POST", "/b", "{\"price\":\"10,5\"}", 422, NOT_FLOAT("body", "price"));
    wf_test_client_free(tc);
    wf_app_free(app);
}
