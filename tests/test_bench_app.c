/* examples/bench_app.c through the test client: the routes outside HTTP probes read (GET /echo, the
   header fields as received; GET /cookie, the cookies as parsed) and the benchmark's own. */
#define _GNU_SOURCE
#define BENCH_APP_NO_MAIN
#include "../examples/bench_app.c"
#include "util.h"
#include <string.h>

/* GET path with the NULL-terminated header lines; the test client adds "Host: testserver" last. */
static int get_with(wf_test_client *tc, const char *path, const char *const *headers, wf_test_res *r) {
    wf_test_req rq = {.path = path, .headers = headers};
    return wf_test_request(tc, &rq, r);
}

WF_TEST(bench_app_get_echo_lists_header_fields_as_received) {
    wf_app *app = bench_app();
    wf_test_client *tc = wf_test_client_new(app, NULL);
    wf_test_res r;
    const char *const headers[] = {"X-Mixed-Case: One", "accept: */*", "X-Dup: a", "X-Dup: b",
                                   "X-Pad: \t padded value \t", "X-Empty:", "x-dup: c", NULL};
    WF_ASSERT_EQ_INT(get_with(tc, "/echo", headers, &r), 0);
    WF_EXPECT_EQ_INT(r.status, 200);
    WF_EXPECT_EQ_STR(r.body, "X-Mixed-Case: One\n"
                             "accept: */*\n"
                             "X-Dup: a\n"
                             "X-Dup: b\n"
                             "X-Pad: padded value\n"
                             "X-Empty: \n"
                             "x-dup: c\n"
                             "Host: testserver\n");
    wf_str ct = wf_test_header(&r, "content-type");
    WF_EXPECT_EQ_MEM(ct.ptr, ct.len, "text/plain", 10);
    wf_test_res_free(&r);

    /* a Host of the request's own instead of the test client's */
    WF_ASSERT_EQ_INT(get_with(tc, "/echo", (const char *const[]){"Host: h", NULL}, &r), 0);
    WF_EXPECT_EQ_STR(r.body, "Host: h\n");
    wf_test_res_free(&r);

    /* POST /echo still answers with the body */
    wf_test_req post = {.method = "POST", .path = "/echo", .body = "a\0b", .body_len = 3};
    WF_ASSERT_EQ_INT(wf_test_request(tc, &post, &r), 0);
    WF_EXPECT_EQ_INT(r.status, 200);
    WF_EXPECT_EQ_MEM(r.body, r.body_len, "a\0b", 3);
    ct = wf_test_header(&r, "content-type");
    WF_EXPECT_EQ_MEM(ct.ptr, ct.len, "application/octet-stream", 24);
    wf_test_res_free(&r);
    wf_test_client_free(tc);
    wf_app_free(app);
}

WF_TEST(bench_app_get_cookie_lists_parsed_cookies) {
    wf_app *app = bench_app();
    wf_test_client *tc = wf_test_client_new(app, NULL);
    wf_test_res r;
    /* in order, repeats kept, names and values stripped, quotes removed, empty parts skipped; only
       the first Cookie field is read */
    const char *const headers[] = {"Cookie: a=1; Session-ID=XyZ; a=3;; q=\"quoted\";  sp = x y ",
                                   "Cookie: second=ignored", NULL};
    WF_ASSERT_EQ_INT(get_with(tc, "/cookie", headers, &r), 0);
    WF_EXPECT_EQ_INT(r.status, 200);
    WF_EXPECT_EQ_STR(r.body, "a=1\n"
                             "Session-ID=XyZ\n"
                             "a=3\n"
                             "q=quoted\n"
                             "sp=x y\n");
    wf_str ct = wf_test_header(&r, "content-type");
    WF_EXPECT_EQ_MEM(ct.ptr, ct.len, "text/plain", 10);
    wf_test_res_free(&r);

    WF_ASSERT_EQ_INT(wf_test_get(tc, "/cookie", &r), 0);
    WF_EXPECT_EQ_INT(r.status, 200);
    WF_EXPECT_EQ_STR(r.body, "");
    wf_test_res_free(&r);
    wf_test_client_free(tc);
    wf_app_free(app);
}

/* What tests/bench/run.sh checks before it measures, and a route of each kind it measures. */
WF_TEST(bench_app_benchmark_routes) {
    wf_app *app = bench_app();
    wf_test_client *tc = wf_test_client_new(app, NULL);
    char b[256];
    wf_test_res r;
    WF_ASSERT_EQ_INT(wf_test_get(tc, "/", &r), 0);
    WF_EXPECT_EQ_INT(r.status, 200);
    WF_EXPECT_EQ_STR(r.body, "Hello, World!");
    wf_str ct = wf_test_header(&r, "content-type");
    WF_EXPECT_EQ_MEM(ct.ptr, ct.len, "text/plain", 10);
    wf_test_res_free(&r);
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/json", NULL, NULL, b, sizeof b), 200);
    WF_EXPECT_EQ_STR(b, "{\"message\":\"Hello, World!\"}");
    WF_EXPECT_EQ_INT(tu_call(tc, "POST", "/", NULL, "{\"x\":1}", b, sizeof b), 200);
    WF_EXPECT_EQ_STR(b, "{\"received\":7}");
    const char *params = "/users/42/posts/7?limit=10&offset=20&sort=desc";
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", params, NULL, NULL, b, sizeof b), 200);
    WF_EXPECT_EQ_STR(b, "{\"user\":42,\"post\":7,\"limit\":10,\"offset\":20,\"sort\":\"desc\"}");
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/users/42/posts/7?limit=0", NULL, NULL, b, sizeof b), 422);
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/deps", NULL, NULL, b, sizeof b), 200);
    WF_EXPECT_EQ_INT(opened, 0);                     /* the chain's cleanup ran */
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/task", NULL, NULL, b, sizeof b), 200);
    WF_EXPECT_EQ_INT(tu_call(tc, "DELETE", "/api/v1/events/9", NULL, NULL, b, sizeof b), 200);
    WF_EXPECT_EQ_STR(b, "{\"path\":\"/api/v1/events/9\"}");
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/api/v1/users/x", NULL, NULL, b, sizeof b), 404);
    wf_test_client_free(tc);
    wf_app_free(app);
}
