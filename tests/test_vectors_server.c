/* llhttp's request cases replayed over real sockets: every case ends in the documented answers or a
   clean close, and the server keeps serving. */
#define _GNU_SOURCE
#include "util.h"
#include "vectors.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void h_any(wf_req *req, wf_res *res) {
    (void)req;
    wf_reply_text(res, 200, "ok");
}

/* Send one case; returns the status of the last answer (0 if none) and whether the server closed. */
static int replay(int port, const vcase *v, int *answers, bool *closed) {
    tu_conn c;
    tu_resp r;
    int st, last = 0;
    *answers = 0;
    if (tu_connect(&c, port) < 0) return -1;
    tu_send(&c, v->raw, v->n);
    /* every answer until the server closes or goes quiet (an incomplete request ends in a 408) */
    while (*answers < 8 && (st = tu_read(&c, &r, strncmp(v->raw, "HEAD ", 5) == 0, 1000)) > 0) {
        (*answers)++;
        last = st;
        tu_resp_free(&r);
    }
    *closed = tu_closed(&c, 1000);
    tu_close(&c);
    return last;
}

WF_TEST(llhttp_vectors_over_sockets) {
    static vcase v[400];
    int n = vectors_load(v, 400);
    WF_ASSERT_GT_INT(n, 150);
    wf_app *app = wf_app_new();
    const char *paths[] = {"/url", "/", "/test", "/demo", "/favicon.ico", "/dumbpack", "/aaa", "/bbb", "/hello"};
    const char *methods[] = {"GET", "PUT", "POST", "OPTIONS", "PATCH", "DELETE"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        for (size_t m = 0; m < 6; m++) wf_route(app, methods[m], paths[i], h_any);
    int port = tu_serve(app, &(wf_config){.header_timeout_ms = 30, .body_timeout_ms = 30, .idle_timeout_ms = 30});
    WF_ASSERT_GT_INT(port, 0);
    int rejected = 0;
    for (int i = 0; i < n; i++) {
        int answers;
        bool closed = false;
        long long t0 = tu_ms();
        int last = replay(port, &v[i], &answers, &closed);
        if (tu_ms() - t0 > 500) wf_test_log("%s took %lld ms (%d answers, last %d, closed %d)", v[i].id, tu_ms() - t0, answers, last, closed);
        const char *dev = vectors_deviation(&v[i]);
        bool want_refusal = v[i].strict && strcmp(v[i].outcome, "reject") == 0;
        if (dev) want_refusal = strncmp(dev, "reject", 6) == 0;
        bool refused = last >= 400 && last != 404 && last != 405;
        if (want_refusal && !refused) wf_test_log("%s: want a refusal, got %d after %d answers", v[i].id, last, answers);
        if (want_refusal) WF_EXPECT_TRUE(refused);
        if (refused) WF_EXPECT_TRUE(closed);     /* every refusal closes the connection */
        rejected += want_refusal && refused;
    }
    wf_test_log("%d cases replayed, %d refusals as expected", n, rejected);
    vectors_free(v, n);
    tu_resp r;
    WF_EXPECT_EQ_INT(tu_request(port, "GET /url HTTP/1.1\r\nHost: x\r\n\r\n", &r), 200);
    tu_resp_free(&r);
    tu_stop(app);
}
