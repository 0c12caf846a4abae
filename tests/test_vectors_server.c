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

/* The timeouts are 30 ms, so a case's bytes must be there when the server accepts its connection
   (a busy machine that delayed the send past 30 ms would see a fresh connection closed, rightly).
   A stream with nothing to send lives on a connection of its own all along (a stream has no idle
   timeout); when armed, its producer holds the loop thread at a gate while a case is sent. */
static tu_gate hold_gate = TU_GATE_INIT;
static atomic_int hold_armed, hold_done;

static int holder(wf_res *res, void *user) {
    (void)user;
    if (atomic_load(&hold_done)) return wf_res_write(res, "done", 4) < 0 ? -1 : 0;
    if (atomic_load(&hold_armed)) tu_gate_pass(&hold_gate, 8000);
    return 1;
}

static void h_hold(wf_req *req, wf_res *res) {
    (void)req;
    wf_res_stream(res, holder, NULL, NULL);
}

/* Send one case; returns the status of the last answer (0 if none) and whether the server closed. */
static int replay(int port, const vcase *v, int *answers, bool *closed) {
    tu_conn c;
    tu_resp r;
    int st, last = 0;
    *answers = 0;
    tu_gate_reset(&hold_gate);
    atomic_store(&hold_armed, 1);
    bool held = tu_gate_arrivals(&hold_gate, 1, 5000);
    bool sent = held && tu_connect(&c, port) == 0 && tu_send(&c, v->raw, v->n) == 0 &&
                tu_server_received(&c, 5000);
    atomic_store(&hold_armed, 0);
    tu_gate_open(&hold_gate);
    if (!held) return -1;
    if (!sent) {
        tu_close(&c);
        return -1;
    }
    /* every answer until the server closes (an incomplete request ends in a 408, an idle
       connection after 30 ms) */
    while (*answers < 8 && (st = tu_read(&c, &r, strncmp(v->raw, "HEAD ", 5) == 0, 5000)) > 0) {
        (*answers)++;
        last = st;
        tu_resp_free(&r);
    }
    *closed = tu_closed(&c, 5000);
    tu_close(&c);
    return last;
}

WF_TEST(llhttp_vectors_over_sockets) {
    static vcase v[400];
    int n = vectors_load(v, 400);
    WF_ASSERT_GT_INT(n, 150);
    wf_app *app = wf_app_new();
    const char *paths[] = {"/url", "/", "/test", "/demo", "/favicon.ico", "/dumbpack", "/aaa", "/bbb",
                           "/hello"};
    const char *methods[] = {"GET", "PUT", "POST", "OPTIONS", "PATCH", "DELETE"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        for (size_t m = 0; m < 6; m++) wf_route(app, methods[m], paths[i], h_any, NULL);
    wf_get(app, "/hold", h_hold);
    int port = tu_serve(app, &(wf_config){.header_timeout_ms = 30, .body_timeout_ms = 30,
                                          .idle_timeout_ms = 30});
    WF_ASSERT_GT_INT(port, 0);
    tu_conn hold;
    atomic_store(&hold_armed, 0);
    atomic_store(&hold_done, 0);
    WF_ASSERT_EQ_INT(tu_connect(&hold, port), 0);
    WF_ASSERT_EQ_INT(tu_sends(&hold, "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
    int rejected = 0;
    for (int i = 0; i < n; i++) {
        int answers;
        bool closed = false;
        long long t0 = tu_ms();
        int last = replay(port, &v[i], &answers, &closed);
        if (tu_ms() - t0 > 500) wf_test_log("%s took %lld ms (%d answers, last %d, closed %d)", v[i].id,
                                            tu_ms() - t0, answers, last, closed);
        const char *dev = vectors_deviation(&v[i]);
        bool want_refusal = v[i].strict && strcmp(v[i].outcome, "reject") == 0;
        if (dev) want_refusal = strncmp(dev, "reject", 6) == 0;
        bool refused = last >= 400 && last != 404 && last != 405;
        if (want_refusal && !refused) wf_test_log("%s: want a refusal, got %d after %d answers", v[i].id,
                                                  last, answers);
        if (want_refusal) WF_EXPECT_TRUE(refused);
        if (refused) WF_EXPECT_TRUE(closed);     /* every refusal closes the connection */
        rejected += want_refusal && refused;
    }
    wf_test_log("%d cases replayed, %d refusals as expected", n, rejected);
    vectors_free(v, n);
    tu_resp r;
    atomic_store(&hold_done, 1);
    WF_EXPECT_EQ_INT(tu_read(&hold, &r, false, 5000), 200);   /* the holding stream lived throughout */
    WF_EXPECT_EQ_STR(r.body, "done");
    tu_resp_free(&r);
    tu_close(&hold);
    WF_EXPECT_EQ_INT(tu_request(port, "GET /url HTTP/1.1\r\nHost: x\r\n\r\n", &r), 200);
    tu_resp_free(&r);
    tu_stop(app);
}
