/* What a request costs in memory, against its size (issue 11.12): the heap glibc says is in use
   (mallinfo2) before and after a body is read, inside the handler. The audit measured 73x for a
   JSON array of zeros, 38x for a form of '&' and a 6 MB answer to a 1 MB malformed body. */
#define _GNU_SOURCE
#include "util.h"
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t heap_in_use(void) {
    struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
}

static size_t cost;             /* heap taken by reading the body, measured in the handler */

static void read_json(wf_req *req, wf_res *res) {
    size_t before = heap_in_use();
    const wf_jval *root = wf_body_json(req);
    cost = heap_in_use() - before;
    wf_reply_obj(res, 200, WF_KV("n", (long long)wf_json_len(root)));
}

static void read_form(wf_req *req, wf_res *res) {
    size_t before = heap_in_use();
    wf_str a = wf_param(req, WF_IN_FORM, "a"), z = wf_param(req, WF_IN_FORM, "z");
    cost = heap_in_use() - before;
    wf_reply_obj(res, 200, WF_KV("a", a), WF_KV("z", z));
}

/* POST body (n bytes) to path with content type ct; the response in r. */
static void post(wf_test_client *tc, const char *path, const char *ct, const char *body, size_t n,
                 wf_test_res *r) {
    char h[128];
    snprintf(h, sizeof h, "Content-Type: %s", ct);
    const char *hdrs[] = {h, NULL};
    wf_test_req rq = {.method = "POST", .path = path, .headers = hdrs, .body = body, .body_len = n};
    WF_ASSERT_EQ_INT(wf_test_request(tc, &rq, r), 0);
}

static wf_test_client *client(wf_app **app) {
    *app = wf_app_new();
    wf_post(*app, "/json", read_json);
    wf_post(*app, "/form", read_form);
    wf_config cfg = {.max_body = 4u << 20, .no_access_log = true};
    return wf_test_client_new(*app, &cfg);
}

WF_TEST(memory_a_json_body_costs_at_most_4x) {
    wf_app *app;
    wf_test_client *tc = client(&app);
    size_t n = 1 << 20;
    char *body = malloc(n);
    static const char *const shapes[] = {"[0,", "[\"\",", "{\"a\":0,", "[[],", "[{},"};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        /* the shape repeated to 1 MiB: "[0,0,0,...,0]" and the like */
        const char *open = shapes[s];
        size_t ol = strlen(open), at = 0;
        memcpy(body, open, ol);
        at = ol;
        const char *unit = open + 1;
        size_t ul = ol - 1;
        if (open[0] == '{') unit = ",\"a\":0", ul = 6, at = ol - 1;
        while (at + ul + 2 < n) {
            memcpy(body + at, unit, ul);
            at += ul;
        }
        if (body[at - 1] == ',') at--;
        body[at++] = open[0] == '{' ? '}' : ']';
        wf_test_res r;
        post(tc, "/json", "application/json", body, at, &r);
        WF_EXPECT_EQ_INT(r.status, 200);
        wf_test_log("%-8s %zu bytes: %zu bytes of heap, %.2fx", open, at, cost, (double)cost / (double)at);
        WF_EXPECT_LE_INT(cost, 4 * at + 8192);     /* 4x, and a page of the allocator's rounding */
        wf_test_res_free(&r);
    }
    free(body);
    wf_test_client_free(tc);
    wf_app_free(app);
}

WF_TEST(memory_a_form_of_ampersands_costs_nothing) {
    wf_app *app;
    wf_test_client *tc = client(&app);
    size_t n = 1 << 20;
    char *body = malloc(n + 16);
    memset(body, '&', n);
    memcpy(body + n - 8, "&a=1&z=2", 8);
    wf_test_res r;
    post(tc, "/form", "application/x-www-form-urlencoded", body, n, &r);
    WF_EXPECT_EQ_INT(r.status, 200);
    WF_EXPECT_EQ_STR(r.body, "{\"a\":\"1\",\"z\":\"2\"}");
    wf_test_log("1 MiB of '&': %zu bytes of heap", cost);
    WF_EXPECT_LE_INT(cost, 4096);
    wf_test_res_free(&r);
    for (size_t i = 0; i + 8 <= n; i += 8) memcpy(body + i, "%61=%41&", 8);  /* encoded keys: decoded */
    memcpy(body + n - 8, "&a=1&z=2", 8);
    post(tc, "/form", "application/x-www-form-urlencoded", body, n, &r);
    WF_EXPECT_EQ_INT(r.status, 200);
    wf_test_log("1 MiB of encoded pairs: %zu bytes of heap", cost);
    WF_EXPECT_LE_INT(cost, 4 * n);
    wf_test_res_free(&r);
    free(body);
    wf_test_client_free(tc);
    wf_app_free(app);
}

WF_TEST(memory_a_malformed_body_is_echoed_4k_at_most) {
    wf_app *app;
    wf_test_client *tc = client(&app);
    size_t n = 1 << 20;
    char *body = malloc(n);
    memset(body, 'x', n);
    memcpy(body, "{\"name\":\"", 9);
    memcpy(body + n - 3, "\",}", 3);
    wf_test_res r;
    post(tc, "/json", "application/json", body, n, &r);
    WF_EXPECT_EQ_INT(r.status, 422);
    wf_test_log("422 for a 1 MiB malformed body: %zu bytes", r.body_len);
    WF_EXPECT_LE_INT(r.body_len, 4096 + 512);
    WF_EXPECT_TRUE(strstr(r.body, "\"doc\":\"{\\\"name\\\":\\\"xxx") != NULL);
    wf_test_res_free(&r);
    free(body);
    wf_test_client_free(tc);
    wf_app_free(app);
}
