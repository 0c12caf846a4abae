/* Edge cases of the loop found in review: the access log of a stream whose request moved buffers,
   deadlines renewed per request, pipelining past the output limit, an idle stream producer, bodies
   of 204/304, write progress and the write timeout, shutdown with a body still arriving, and
   wf_res_write outside a producer. */
#define _GNU_SOURCE
#include "util.h"
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static char logged[256];
static void on_access(void *user, const wf_access_entry *e) {
    (void)user;
    snprintf(logged, sizeof logged, "%.*s %.*s %d", (int)e->method.len, e->method.ptr, (int)e->path.len,
             e->path.ptr, e->status);
}

static atomic_long calls;
static long total_bytes;
static int stream_bytes(wf_res *res, void *user) {
    static char chunk[32768];
    long *left = (long *)user;
    atomic_fetch_add(&calls, 1);
    if (*left <= 0) return 0;
    long n = *left < (long)sizeof chunk ? *left : (long)sizeof chunk;
    memset(chunk, 'z', (size_t)n);
    *left -= n;
    return wf_res_write(res, chunk, (size_t)n) < 0 ? -1 : 1;
}

static void h_stream(wf_req *req, wf_res *res) {
    long *left = (long *)malloc(sizeof *left);
    (void)req;
    *left = total_bytes;
    wf_res_stream(res, stream_bytes, left, free);
}

/* A producer with nothing to say until the test sets `release`. */
static atomic_int release;
static int slow_start(wf_res *res, void *user) {
    (void)user;
    atomic_fetch_add(&calls, 1);
    if (!atomic_load(&release)) return 1;
    wf_res_write(res, "late", 4);
    return 0;
}

static void h_slow(wf_req *req, wf_res *res) {
    (void)req;
    wf_res_stream(res, slow_start, NULL, NULL);
}

static void h_big(wf_req *req, wf_res *res) {
    size_t n = 1 << 20;
    char *p = malloc(n);
    (void)req;
    memset(p, 'b', n);
    wf_res_set_body(res, p, n, WF_BODY_OWN);
}

static int direct_write_rc;

static void h_huge(wf_req *req, wf_res *res) {
    size_t n = 64u << 20;
    char *p = malloc(n);
    (void)req;
    memset(p, 'h', n);
    wf_res_set_body(res, p, n, WF_BODY_OWN);
}

/* A stream that waits (its producer has nothing until `release`) while another request tries to
   write into it. */
static _Atomic(wf_res *) held;
static int hold(wf_res *res, void *user) {
    (void)user;
    atomic_store(&held, res);
    if (!atomic_load(&release)) return 1;
    wf_res_write(res, "done", 4);
    return 0;
}

static void h_hold(wf_req *req, wf_res *res) {
    (void)req;
    wf_res_stream(res, hold, NULL, NULL);
}

static void h_poke(wf_req *req, wf_res *res) {
    (void)req;
    wf_res *h = atomic_load(&held);
    direct_write_rc = h ? wf_res_write(h, "SECRET", 6) : 1;
    wf_reply_text(res, 200, "poked");
}

static void h_204(wf_req *req, wf_res *res) {
    (void)req;
    wf_reply_text(res, 204, "oops");
}

static void h_304(wf_req *req, wf_res *res) {
    (void)req;
    wf_res_set_status(res, 304);
    wf_res_set_body(res, "nope", 4, WF_BODY_BORROW);
}

static void h_direct(wf_req *req, wf_res *res) {
    (void)req;
    direct_write_rc = wf_res_write(res, "x", 1);
    wf_reply_text(res, 200, "ok");
}

static void h_echo(wf_req *req, wf_res *res) {
    wf_str b = wf_req_body(req);
    wf_reply(res, 200, "text/plain", b.ptr, b.len);
}

static void h_ok(wf_req *req, wf_res *res) {
    (void)req;
    wf_reply_text(res, 200, "ok");
}

static wf_app *edge_app(void) {
    wf_app *app = wf_app_new();
    wf_get(app, "/stream", h_stream);
    wf_get(app, "/slow", h_slow);
    wf_get(app, "/big", h_big);
    wf_get(app, "/204", h_204);
    wf_get(app, "/304", h_304);
    wf_get(app, "/direct", h_direct);
    wf_get(app, "/huge", h_huge);
    wf_get(app, "/hold", h_hold);
    wf_get(app, "/poke", h_poke);
    wf_post(app, "/echo", h_echo);
    wf_get(app, "/", h_ok);
    return app;
}

WF_TEST(edge_stream_access_log_after_the_input_moved) {
    wf_app *app = edge_app();
    int port = tu_serve(app, &(wf_config){.access_log = on_access});
    tu_conn c;
    tu_resp r;
    total_bytes = 4 << 20;
    WF_ASSERT_EQ_INT(tu_connect(&c, port), 0);
    tu_sends(&c, "GET /str");          /* the head arrives in two reads: it is stashed in between */
    WF_EXPECT_TRUE(tu_server_read_all(&c, 5000));
    tu_sends(&c, "eam HTTP/1.1\r\nHost: x\r\n\r\n");
    usleep(200000);                     /* the stream outlives the read that completed the head */
    WF_ASSERT_EQ_INT(tu_read(&c, &r, false, 10000), 200);
    WF_EXPECT_EQ_INT(r.body_len, 4 << 20);
    tu_resp_free(&r);
    tu_close(&c);
    tu_stop(app);
    WF_EXPECT_EQ_STR(logged, "GET /stream 200");
}

/* Requests 20 ms apart on one connection for longer than both timeouts: each request starts its
   own clocks (a clock from the connection's start would close it). The pauses are far below the
   timeouts, so a busy machine stretching them a little cannot close the connection either. */
WF_TEST(edge_deadlines_renew_per_request) {
    wf_app *app = edge_app();
    int port = tu_serve(app, &(wf_config){.header_timeout_ms = 1000, .idle_timeout_ms = 1200});
    tu_conn c;
    tu_resp r;
    int n = 0;
    WF_ASSERT_EQ_INT(tu_connect(&c, port), 0);
    long long t0 = tu_ms(), longest = 0;
    while (tu_ms() - t0 < 2000) {       /* well past both timeouts */
        long long t1 = tu_ms();
        tu_sends(&c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        WF_ASSERT_EQ_INT(tu_read(&c, &r, false, 5000), 200);
        tu_resp_free(&r);
        n++;
        usleep(20000);
        if (tu_ms() - t1 > longest) longest = tu_ms() - t1;
    }
    wf_test_log("%d requests in %lld ms, the longest round with its pause %lld ms", n, tu_ms() - t0, longest);
    tu_close(&c);
    tu_stop(app);
}

WF_TEST(edge_pipelining_past_the_output_limit) {
    wf_app *app = edge_app();
    int port = tu_serve(app, NULL);
    for (int half_close = 0; half_close < 2; half_close++) {
        tu_conn c;
        tu_resp r;
        char req[1024] = "";
        for (int i = 0; i < 8; i++) strcat(req, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
        WF_ASSERT_EQ_INT(tu_connect(&c, port), 0);
        tu_sends(&c, req);
        if (half_close) shutdown(c.fd, SHUT_WR);     /* the peer is done sending, still reading */
        for (int i = 0; i < 8; i++) {
            WF_ASSERT_EQ_INT(tu_read(&c, &r, false, 5000), 200);
            WF_EXPECT_EQ_INT(r.body_len, 1 << 20);
            tu_resp_free(&r);
        }
        if (half_close) WF_EXPECT_TRUE(tu_closed(&c, 2000));
        tu_close(&c);
    }
    tu_stop(app);
}


WF_TEST(edge_idle_stream_producer_does_not_spin) {
    wf_app *app = edge_app();
    int port = tu_serve(app, NULL);
    tu_conn c;
    tu_resp r;
    atomic_store(&calls, 0);
    atomic_store(&release, 0);
    WF_ASSERT_EQ_INT(tu_connect(&c, port), 0);
    tu_sends(&c, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    long long deadline = tu_ms() + 5000;
    while (atomic_load(&calls) == 0 && tu_ms() < deadline) usleep(1000);
    /* watch the idle stream for 100 ms; the bounds scale with the time the window really took */
    long calls0 = atomic_load(&calls);
    long long t0 = tu_ms();
    double cpu0 = tu_cpu_seconds();
    usleep(100000);
    double used = tu_cpu_seconds() - cpu0;
    long long window = tu_ms() - t0;
    long called = atomic_load(&calls) - calls0;
    atomic_store(&release, 1);
    WF_ASSERT_EQ_INT(tu_read(&c, &r, false, 5000), 200);
    WF_EXPECT_EQ_STR(r.body, "late");
    tu_resp_free(&r);
    wf_test_log("producer called %ld times in %lld ms, %.3f s CPU", called, window, used);
    WF_EXPECT_LT_INT(called, window);           /* about one call per 10 ms, not a busy loop */
    WF_EXPECT_LT_INT((long)(used * 1000), window * 6 / 10);
    tu_close(&c);
    tu_stop(app);
}

WF_TEST(edge_no_body_for_204_and_304) {
    wf_app *app = edge_app();
    int port = tu_serve(app, NULL);
    tu_conn c;
    tu_resp r;
    char v[32];
    WF_ASSERT_EQ_INT(tu_connect(&c, port), 0);
    tu_sends(&c,
            "GET /204 HTTP/1.1\r\nHost: x\r\n\r\nGET /304 HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\n"
            "Host: x\r\n\r\n");
    WF_ASSERT_EQ_INT(tu_read(&c, &r, false, 2000), 204);
    WF_EXPECT_FALSE(tu_header(&r, "Content-Length", v, sizeof v));
    tu_resp_free(&r);
    WF_ASSERT_EQ_INT(tu_read(&c, &r, false, 2000), 304);
    tu_resp_free(&r);
    WF_ASSERT_EQ_INT(tu_read(&c, &r, false, 2000), 200);   /* framing intact: no stray body bytes */
    WF_EXPECT_EQ_STR(r.body, "ok");
    tu_resp_free(&r);
    tu_close(&c);
    tu_stop(app);
}

WF_TEST(edge_write_timeout_needs_write_progress) {
    wf_app *app = edge_app();
    int port = tu_serve(app, &(wf_config){.write_timeout_ms = 300});
    tu_conn c;
    WF_ASSERT_EQ_INT(tu_connect(&c, port), 0);
    tu_peer p = tu_server_end(&c);
    tu_sends(&c, "GET /huge HTTP/1.1\r\nHost: x\r\n\r\n");
    long long t0 = tu_ms();
    /* send a byte now and then but never read: that is not progress on the response, and the
       server closes the connection */
    while (!tu_server_released(&p, 100) && tu_ms() - t0 < 5000) send(c.fd, "G", 1, MSG_NOSIGNAL);
    WF_EXPECT_TRUE(tu_server_released(&p, 0));
    char buf[65536];
    long r, got = 0;
    while ((r = recv(c.fd, buf, sizeof buf, 0)) > 0 && got < (300L << 20)) got += r;
    wf_test_log("%ld bytes reached the client before the close", got);
    WF_EXPECT_LT_INT(got, 64L << 20);
    tu_close(&c);
    tu_stop(app);
}

WF_TEST(edge_shutdown_reads_a_body_still_arriving) {
    wf_app *app = edge_app();
    /* ends with the request, not the grace */
    int port = tu_serve(app, &(wf_config){.shutdown_grace_ms = 10000});
    tu_conn c;
    tu_resp r;
    WF_ASSERT_EQ_INT(tu_connect(&c, port), 0);
    tu_sends(&c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab");
    WF_ASSERT_TRUE(tu_server_read_all(&c, 5000));      /* in flight when the stop comes */
    wf_stop(app);
    WF_EXPECT_TRUE(tu_listener_closed(port, 5000));   /* the loop has begun to stop */
    tu_sends(&c, "cdef");
    WF_EXPECT_TRUE(tu_server_read_all(&c, 5000));
    tu_sends(&c, "ghij");
    WF_EXPECT_EQ_INT(tu_read(&c, &r, false, 3000), 200);
    WF_EXPECT_EQ_STR(r.body, "abcdefghij");
    tu_resp_free(&r);
    wf_wait(app);
    wf_app_free(app);
    tu_close(&c);
}

WF_TEST(edge_res_write_outside_a_producer_is_refused) {
    wf_app *app = edge_app();
    int port = tu_serve(app, NULL);
    tu_resp r;
    direct_write_rc = 1;
    WF_EXPECT_EQ_INT(tu_request(port, "GET /direct HTTP/1.1\r\nHost: x\r\n\r\n", &r), 200);
    WF_EXPECT_EQ_STR(r.body, "ok");
    tu_resp_free(&r);
    WF_EXPECT_EQ_INT(direct_write_rc, WF_EINVAL);
    /* nor into another connection's stream, from a handler of this one */
    tu_conn a;
    WF_ASSERT_EQ_INT(tu_connect(&a, port), 0);
    atomic_store(&held, NULL);
    atomic_store(&release, 0);
    tu_sends(&a, "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n");
    long long deadline = tu_ms() + 5000;
    while (!atomic_load(&held) && tu_ms() < deadline) usleep(1000);   /* its stream is open */
    WF_EXPECT_EQ_INT(tu_request(port, "GET /poke HTTP/1.1\r\nHost: x\r\n\r\n", &r), 200);
    WF_EXPECT_EQ_STR(r.body, "poked");
    tu_resp_free(&r);
    WF_EXPECT_EQ_INT(direct_write_rc, WF_EINVAL);
    atomic_store(&release, 1);
    WF_EXPECT_EQ_INT(tu_read(&a, &r, false, 3000), 200);
    WF_EXPECT_EQ_STR(r.body, "done");
    tu_resp_free(&r);
    tu_close(&a);
    tu_stop(app);
}

static int framing_rc[3];
static int prefix_stream(wf_res *res, void *user) {
    (void)user;
    wf_res_write(res, "-tail", 5);
    return 0;
}

static void h_framing(wf_req *req, wf_res *res) {
    (void)req;
    framing_rc[0] = wf_res_add_header(res, "Content-Length", "5");
    framing_rc[1] = wf_res_add_header(res, "transfer-encoding", "chunked");
    framing_rc[2] = wf_res_add_header(res, "Connection", "keep-alive");
    wf_res_set_body(res, "head", 4, WF_BODY_BORROW);
    wf_res_stream(res, prefix_stream, NULL, NULL);
}

WF_TEST(edge_framing_headers_refused_and_body_before_stream) {
    wf_app *app = wf_app_new();
    wf_get(app, "/f", h_framing);
    wf_test_client *tc = wf_test_client_new(app, NULL);
    wf_test_res r;
    WF_ASSERT_EQ_INT(wf_test_get(tc, "/f", &r), 0);
    WF_EXPECT_EQ_INT(r.status, 200);
    WF_EXPECT_EQ_STR(r.body, "head-tail");
    for (int i = 0; i < 3; i++) WF_EXPECT_EQ_INT(framing_rc[i], WF_EINVAL);
    wf_test_res_free(&r);
    wf_test_client_free(tc);
    wf_app_free(app);
}
