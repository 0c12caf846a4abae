/* The test client: the same parser, router and serializer as the server, over a socket pair. */
#define _GNU_SOURCE
#include "util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void hello(wf_req *req, wf_res *res) {
    (void)req;
    wf_reply_json(res, 200, "{s:s}", "message", "Hello World");
}

static void echo(wf_req *req, wf_res *res) {
    wf_str b = wf_req_body(req), ct = wf_req_header(req, "content-type"), q = wf_req_query(req);
    wf_buf out = {0};
    wf_json_pack(&out, "{s:S, s:S, s:S, s:i, s:s}", "method", wf_req_method(req), "query", q, "type", ct,
                 "len",
                 (int)b.len, "peer", wf_req_peer(req));
    wf_reply(res, 200, "application/json", out.ptr, out.len);
    wf_buf_free(&out);
}

static void raw_echo(wf_req *req, wf_res *res) {
    wf_str b = wf_req_body(req);
    wf_reply(res, 200, "application/octet-stream", b.ptr, b.len);
}

static int chunks_left;
static int produce(wf_res *res, void *user) {
    char line[32];
    (void)user;
    if (chunks_left == 0) return 0;
    int n = snprintf(line, sizeof line, "line %d\n", chunks_left--);
    return wf_res_write(res, line, (size_t)n) < 0 ? -1 : 1;
}

static void stream(wf_req *req, wf_res *res) {
    (void)req;
    chunks_left = 1000;
    wf_res_add_header(res, "Content-Type", "text/plain");
    wf_res_stream(res, produce, NULL, NULL);
}

static wf_app *client_app(void) {
    wf_app *app = wf_app_new();
    wf_get(app, "/", hello);
    wf_route(app, "POST", "/echo", echo, NULL);
    wf_route(app, "PUT", "/raw", raw_echo, NULL);
    wf_get(app, "/stream", stream);
    wf_get(app, "/items/", hello);
    return app;
}

WF_TEST(test_client_get_json_and_errors) {
    wf_app *app = client_app();
    wf_test_client *tc = wf_test_client_new(app, NULL);
    wf_test_res r;
    WF_ASSERT_EQ_INT(wf_test_get(tc, "/", &r), 0);
    WF_EXPECT_EQ_INT(r.status, 200);
    WF_EXPECT_EQ_STR(r.body, "{\"message\":\"Hello World\"}");
    wf_str msg;
    WF_EXPECT_TRUE(wf_json_str(wf_json_get(wf_test_json(&r), "message"), &msg));
    WF_EXPECT_EQ_MEM(msg.ptr, msg.len, "Hello World", 11);
    wf_str ct = wf_test_header(&r, "content-type");
    WF_EXPECT_EQ_MEM(ct.ptr, ct.len, "application/json", 16);
    wf_test_res_free(&r);
    WF_ASSERT_EQ_INT(wf_test_get(tc, "/missing", &r), 0);
    WF_EXPECT_EQ_INT(r.status, 404);
    WF_EXPECT_EQ_STR(r.body, "{\"detail\":\"Not Found\"}");
    wf_test_res_free(&r);
    WF_ASSERT_EQ_INT(wf_test_get(tc, "/items?skip=1", &r), 0);
    WF_EXPECT_EQ_INT(r.status, 307);
    wf_str loc = wf_test_header(&r, "location");
    WF_EXPECT_EQ_MEM(loc.ptr, loc.len, "http://testserver/items/?skip=1", 31);
    wf_test_res_free(&r);
    wf_test_req head = {.method = "HEAD", .path = "/"};
    WF_ASSERT_EQ_INT(wf_test_request(tc, &head, &r), 0);
    WF_EXPECT_EQ_INT(r.status, 200);
    WF_EXPECT_EQ_INT(r.body_len, 0);
    wf_test_res_free(&r);
    wf_test_client_free(tc);
    wf_app_free(app);
}

WF_TEST(test_client_bodies_query_headers) {
    wf_app *app = client_app();
    wf_test_client *tc = wf_test_client_new(app, NULL);
    wf_test_res r;
    wf_test_req rq = {.method = "POST", .path = "/echo?a=1", .query = "b=2", .json = "{\"x\":1}"};
    WF_ASSERT_EQ_INT(wf_test_request(tc, &rq, &r), 0);
    WF_EXPECT_EQ_STR(r.body,
                     "{\"method\":\"POST\",\"query\":\"a=1&b=2\",\"type\":\"application/json\",\"len\":7,"
                             "\"peer\":\"testclient:50000\"}");
    wf_test_res_free(&r);
    const char *hdrs[] = {"Content-Type: text/plain", NULL};
    wf_test_req rq2 = {.method = "POST", .path = "/echo", .headers = hdrs, .body = "abc", .body_len = 3,
                       .chunked = true};
    WF_ASSERT_EQ_INT(wf_test_request(tc, &rq2, &r), 0);
    WF_EXPECT_EQ_STR(r.body,
            "{\"method\":\"POST\",\"query\":\"\",\"type\":\"text/plain\",\"len\":3,"
            "\"peer\":\"testclient:50000\"}");
    wf_test_res_free(&r);
    /* a body larger than the socket buffers, both ways */
    size_t n = 600000;
    char *big = malloc(n);
    for (size_t i = 0; i < n; i++) big[i] = (char)('a' + i % 23);
    wf_test_req rq3 = {.method = "PUT", .path = "/raw", .body = big, .body_len = n};
    wf_test_client *tc2 = wf_test_client_new(app, &(wf_config){.max_body = 1 << 20, .no_access_log = true});
    WF_ASSERT_EQ_INT(wf_test_request(tc2, &rq3, &r), 0);
    WF_EXPECT_EQ_INT(r.status, 200);
    WF_EXPECT_EQ_MEM(r.body, r.body_len, big, n);
    wf_test_res_free(&r);
    /* over the limit: the real 413 */
    wf_test_client *tc3 = wf_test_client_new(app, &(wf_config){.max_body = 100000, .no_access_log = true});
    WF_ASSERT_EQ_INT(wf_test_request(tc3, &rq3, &r), 0);
    WF_EXPECT_EQ_INT(r.status, 413);
    wf_test_res_free(&r);
    wf_test_client_free(tc3);
    free(big);
    wf_test_client_free(tc2);
    wf_test_client_free(tc);
    wf_app_free(app);
}

WF_TEST(test_client_streams_and_bad_requests) {
    wf_app *app = client_app();
    wf_test_client *tc = wf_test_client_new(app, NULL);
    wf_test_res r;
    WF_ASSERT_EQ_INT(wf_test_get(tc, "/stream", &r), 0);
    WF_EXPECT_EQ_INT(r.status, 200);
    WF_EXPECT_TRUE(wf_test_header(&r, "Transfer-Encoding").ptr != NULL);
    WF_EXPECT_EQ_MEM(r.body, 7, "line 10", 7);
    WF_EXPECT_EQ_MEM(r.body + r.body_len - 7, 7, "line 1\n", 7);
    wf_test_res_free(&r);
    const char *bad[] = {"Content-Length: 1", "Transfer-Encoding: chunked", NULL};
    wf_test_req rq = {.method = "POST", .path = "/echo", .headers = bad};
    WF_ASSERT_EQ_INT(wf_test_request(tc, &rq, &r), 0);
    WF_EXPECT_EQ_INT(r.status, 400);
    wf_test_res_free(&r);
    wf_test_req v10 = {.path = "/", .http10 = true};
    WF_ASSERT_EQ_INT(wf_test_request(tc, &v10, &r), 0);
    WF_EXPECT_EQ_INT(r.status, 200);
    wf_test_res_free(&r);
    wf_test_client_free(tc);
    wf_app_free(app);
}
