/* The server over real loopback sockets: keep-alive, pipelining, 100-continue, chunked both ways,
   HTTP/1.0, HEAD, limits, timeouts, connection limits, descriptor exhaustion, smuggling, shutdown. */
#define _GNU_SOURCE
#include "util.h"
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <pthread.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

static void h_hello(wf_req *req, wf_res *res) {
    (void)req;
    wf_reply_text(res, 200, "Hello, World!");
}

static void h_echo(wf_req *req, wf_res *res) {
    wf_str b = wf_req_body(req);
    wf_reply(res, 200, "application/octet-stream", b.ptr, b.len);
}

static void h_path(wf_req *req, wf_res *res) {
    char msg[300];
    wf_str p = wf_req_path(req), q = wf_req_query(req);
    snprintf(msg, sizeof msg, "%.*s?%.*s", (int)p.len, p.ptr, (int)q.len, q.ptr);
    wf_reply_text(res, 200, msg);
}

static void h_big(wf_req *req, wf_res *res) {
    size_t n = 1 << 20;
    char *p = malloc(n);
    (void)req;
    for (size_t i = 0; i < n; i++) p[i] = (char)('a' + i % 26);
    wf_res_add_header(res, "Content-Type", "application/octet-stream");
    wf_res_set_body(res, p, n, WF_BODY_OWN);
}

/* A stream of `total` bytes in 16 KiB chunks; counts what it produced. */
static atomic_long produced;
static long stream_total;

static int produce(wf_res *res, void *user) {
    static char chunk[16384];
    long done = atomic_load(&produced);
    (void)user;
    if (done >= stream_total) return 0;
    for (size_t i = 0; i < sizeof chunk; i++) chunk[i] = (char)('A' + (done + (long)i) % 26);
    long n = stream_total - done < (long)sizeof chunk ? stream_total - done : (long)sizeof chunk;
    if (wf_res_write(res, chunk, (size_t)n) < 0) return -1;
    atomic_fetch_add(&produced, n);
    return 1;
}

static void h_stream(wf_req *req, wf_res *res) {
    (void)req;
    wf_res_add_header(res, "Content-Type", "text/plain");
    wf_res_stream(res, produce, NULL, NULL);
}

static wf_app *mkapp(void) {
    wf_app *app = wf_app_new();
    wf_get(app, "/", h_hello);
    wf_post(app, "/echo", h_echo);
    wf_get(app, "/path/a", h_path);
    wf_get(app, "/big", h_big);
    wf_get(app, "/stream", h_stream);
    return app;
}

/* Serve mkapp() on an ephemeral port; a failure to start names the caller's line. */
static int serve_at(tu_at at, wf_app **app, wf_config *cfg) {
    *app = mkapp();
    int port = tu_serve(*app, cfg);
    TU_ASSERT_GT_INT_AT(at, port, 0);
    return port;
}
#define serve(...) serve_at(TU_HERE, __VA_ARGS__)

WF_TEST(server_hello_get_head_404_405) {
    wf_app *app;
    int port = serve(&app, NULL);
    tu_resp r;
    char v[128];
    WF_EXPECT_EQ_INT(tu_request(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", &r), 200);
    WF_EXPECT_EQ_STR(r.body, "Hello, World!");
    WF_EXPECT_TRUE(tu_header(&r, "Date", v, sizeof v));
    tu_resp_free(&r);
    WF_EXPECT_EQ_INT(tu_request(port, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", &r), 404);
    WF_EXPECT_EQ_STR(r.body, "{\"detail\":\"Not Found\"}");
    tu_resp_free(&r);
    WF_EXPECT_EQ_INT(tu_request(port, "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", &r), 405);
    WF_EXPECT_TRUE(tu_header(&r, "Allow", v, sizeof v));
    WF_EXPECT_EQ_STR(v, "GET, HEAD");
    tu_resp_free(&r);
    /* HEAD: the GET's headers and no body; the connection stays usable */
    tu_conn c;
    WF_ASSERT_EQ_INT(tu_connect(&c, port), 0);
    tu_sends(&c, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
    WF_EXPECT_EQ_INT(tu_read(&c, &r, true, 3000), 200);
    WF_EXPECT_TRUE(tu_header(&r, "Content-Length", v, sizeof v));
    WF_EXPECT_EQ_STR(v, "13");
    tu_resp_free(&r);
    WF_EXPECT_EQ_INT(tu_read(&c, &r, false, 3000), 200);
    WF_EXPECT_EQ_STR(r.body, "Hello, World!");
    tu_resp_free(&r);
    tu_close(&c);
    tu_stop(app);
}

WF_TEST(server_keepalive_and_http10) {
    wf_app *app;
    int port = serve(&app, NULL);
    tu_conn c;
    tu_resp r;
    char v[64];
    WF_ASSERT_EQ_INT(tu_connect(&c, port), 0);
    for (int i = 0; i < 5; i++) {
        tu_sends(&c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        WF_ASSERT_EQ_INT(tu_read(&c, &r, false, 3000), 200);
        WF_EXPECT_FALSE(tu_header(&r, "Connection", v, sizeof v));
        tu_resp_free(&r);
    }
    tu_sends(&c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    WF_ASSERT_EQ_INT(tu_read(&c, &r, false, 3000), 200);
    WF_EXPECT_TRUE(tu_header(&r, "Connection", v, sizeof v) && strcmp(v, "close") == 0);
    tu_resp_free(&r);
    WF_EXPECT_TRUE(tu_closed(&c, 3000));
    tu_close(&c);
    /* HTTP/1.0: closes by default, persists with keep-alive */
    WF_ASSERT_EQ_INT(tu_connect(&c, port), 0);
    tu_sends(&c, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    WF_ASSERT_EQ_INT(tu_read(&c, &r, false, 3000), 200);
    WF_EXPECT_TRUE(tu_header(&r, "Connection", v, sizeof v) && strcmp(v, "keep-alive") == 0);
    tu_resp_free(&r);
    tu_sends(&c, "GET / HTTP/1.0\r\n\r\n");
    WF_ASSERT_EQ_INT(tu_read(&c, &r, false, 3000), 200);
    WF_EXPECT_EQ_STR(r.body, "Hello, World!");
    tu_resp_free(&r);
    WF_EXPECT_TRUE(tu_closed(&c, 3000));
    tu_close(&c);
    tu_stop(app);
}

WF_TEST(server_pipelining_in_order) {
    wf_app *app;
    int port = serve(&app, NULL);
    tu_conn c;
    tu_resp r;
    char req[8192] = "";
    for (int i = 0; i < 16; i++) {
        char one[256];
        if (i % 3 == 0) snprintf(one, sizeof one, "GET /path/a?n=%d HTTP/1.1\r\nHost: x\r\n\r\n", i);
        else if (i % 3 == 1) snprintf(one, sizeof one,
                                      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nn=%02d", i);
        else snprintf(one, sizeof one,
                "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nn=\r\n2\r\n"
                "%02d\r\n0\r\n\r\n", i);
        strcat(req, one);
    }
    WF_ASSERT_EQ_INT(tu_connect(&c, port), 0);
    tu_sends(&c, req);
    for (int i = 0; i < 16; i++) {
        char want[64];
        WF_ASSERT_EQ_INT(tu_read(&c, &r, false, 3000), 200);
        if (i % 3 == 0) snprintf(want, sizeof want, "/path/a?n=%d", i);
        else snprintf(want, sizeof want, "n=%02d", i);
        WF_EXPECT_EQ_STR(r.body, want);
        tu_resp_free(&r);
    }
    tu_close(&c);
    tu_stop(app);
}

WF_TEST(server_expect_100_continue) {
    wf_app *app;
    wf_config cfg = {.max_body = 1000};
    int port = serve(&app, &cfg);
    tu_conn c;
    tu_resp r;
    WF_ASSERT_EQ_INT(tu_connect(&c, port), 0);
    tu_sends(&c, "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
    WF_ASSERT_EQ_INT(tu_read(&c, &r, false, 3000), 100);
    tu_resp_free(&r);
    tu_sends(&c, "hello");
    WF_ASSERT_EQ_INT(tu_read(&c, &r, false, 3000), 200);
    WF_EXPECT_EQ_STR(r.body, "hello");
    tu_resp_free(&r);
    /* a body already sent with the head gets no 100 */
    tu_sends(&c, "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi");
    WF_ASSERT_EQ_INT(tu_read(&c, &r, false, 3000), 200);
    WF_EXPECT_EQ_STR(r.body, "hi");
    tu_resp_free(&r);
    /* too large: 413 at once, never a 100 */
    tu_sends(&c, "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n");
    WF_ASSERT_EQ_INT(tu_read(&c, &r, false, 3000), 413);
    tu_resp_free(&r);
    WF_EXPECT_TRUE(tu_closed(&c, 3000));
    tu_close(&c);
    tu_stop(app);
}

WF_TEST(server_chunked_both_directions) {
    wf_app *app;
    int port = serve(&app, NULL);
    tu_conn c;
    tu_resp r;
    WF_ASSERT_EQ_INT(tu_connect(&c, port), 0);
    /* a chunked request body arriving in small pieces, with extensions and trailers */
    const char *parts[] = {"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5",
                           ";ext=1\r\nhel",
                           "lo\r\n", "6\r\n world\r\n0\r\nTrailer-A: 1\r", "\n\r\n"};
    for (int i = 0; i < 5; i++) {
        tu_sends(&c, parts[i]);
        WF_EXPECT_TRUE(tu_server_read_all(&c, 5000));  /* each piece read on its own */
    }
    WF_ASSERT_EQ_INT(tu_read(&c, &r, false, 3000), 200);
    WF_EXPECT_EQ_STR(r.body, "hello world");
    tu_resp_free(&r);
    /* a streamed response: chunked, 1 MiB, content intact */
    atomic_store(&produced, 0);
    stream_total = 1 << 20;
    tu_sends(&c, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
    WF_ASSERT_EQ_INT(tu_read(&c, &r, false, 5000), 200);
    WF_EXPECT_TRUE(r.chunked);
    WF_ASSERT_EQ_INT(r.body_len, 1 << 20);
    bool ok = true;
    for (size_t i = 0; i < r.body_len; i++) ok = ok && r.body[i] == (char)('A' + i % 26);
    WF_EXPECT_TRUE(ok);
    tu_resp_free(&r);
    /* and the connection goes on */
    tu_sends(&c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    WF_EXPECT_EQ_INT(tu_read(&c, &r, false, 3000), 200);
    tu_resp_free(&r);
    /* HTTP/1.0 gets the stream unframed, ended by close */
    tu_close(&c);
    atomic_store(&produced, 0);
    stream_total = 100000;
    WF_ASSERT_EQ_INT(tu_connect(&c, port), 0);
    tu_sends(&c, "GET /stream HTTP/1.0\r\n\r\n");
    WF_ASSERT_EQ_INT(tu_read(&c, &r, false, 5000), 200);
    WF_EXPECT_FALSE(r.chunked);
    WF_EXPECT_EQ_INT(r.body_len, 100000);
    tu_resp_free(&r);
    tu_close(&c);
    tu_stop(app);
}

WF_TEST(server_stream_backpressure) {
    wf_app *app;
    int port = serve(&app, NULL);
    tu_conn c;
    tu_resp r;
    atomic_store(&produced, 0);
    stream_total = 64L << 20;
    WF_ASSERT_EQ_INT(tu_connect(&c, port), 0);
    tu_sends(&c, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
    usleep(400000);     /* the client reads nothing: the producer must wait for it */
    long before = atomic_load(&produced);
    wf_test_log("produced %ld bytes while the client was not reading", before);
    WF_EXPECT_LT_INT(before, 24L << 20);
    WF_ASSERT_EQ_INT(tu_read(&c, &r, false, 20000), 200);
    WF_EXPECT_EQ_INT(r.body_len, 64L << 20);
    tu_resp_free(&r);
    tu_close(&c);
    tu_stop(app);
}

WF_TEST(server_large_owned_body) {
    wf_app *app;
    int port = serve(&app, NULL);
    tu_resp r;
    WF_ASSERT_EQ_INT(tu_request(port, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n", &r), 200);
    WF_ASSERT_EQ_INT(r.body_len, 1 << 20);
    bool ok = true;
    for (size_t i = 0; i < r.body_len; i++) ok = ok && r.body[i] == (char)('a' + i % 26);
    WF_EXPECT_TRUE(ok);
    tu_resp_free(&r);
    tu_stop(app);
}

/* Send raw on a fresh connection; expect one response with `status`, then a close. A failure names
   the caller's line and the request. */
static void expect_refused_at(tu_at at, int port, const char *raw, size_t n, int status) {
    tu_conn c;
    tu_resp r;
    TU_ASSERT_EQ_INT_AT(at, tu_connect(&c, port), 0);
    tu_send(&c, raw, n);
    int got = tu_read(&c, &r, false, 5000);
    bool ok = TU_EXPECT_EQ_INT_AT(at, got, status);
    if (got > 0) {
        char v[64];
        ok = TU_EXPECT_TRUE_AT(at, tu_header(&r, "Connection", v, sizeof v) && strcmp(v, "close") == 0) && ok;
        ok = TU_EXPECT_TRUE_AT(at, strstr(r.body, "\"detail\"") != NULL) && ok;
    }
    tu_resp_free(&r);
    ok = TU_EXPECT_TRUE_AT(at, tu_closed(&c, 5000)) && ok;
    tu_close(&c);
    if (!ok) wf_test_log("  in the request %.60s...", raw);
}
#define expect_refused(...) expect_refused_at(TU_HERE, __VA_ARGS__)

WF_TEST(server_limits) {
    wf_app *app;
    wf_config cfg = {.max_request_line = 200, .max_header_bytes = 1000, .max_headers = 8, .max_body = 100};
    int port = serve(&app, &cfg);
    char raw[4096];
    int n = snprintf(raw, sizeof raw, "GET /%0300d HTTP/1.1\r\nHost: x\r\n\r\n", 0);
    expect_refused(port, raw, (size_t)n, 414);
    n = snprintf(raw, sizeof raw, "GET / HTTP/1.1\r\nHost: x\r\nX: %01200d\r\n\r\n", 0);
    expect_refused(port, raw, (size_t)n, 431);
    n = snprintf(raw, sizeof raw,
            "GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE: 1\r\nF: 1\r\nG: 1\r\nH: 1\r\n"
            "\r\n");
    expect_refused(port, raw, (size_t)n, 431);
    n = snprintf(raw, sizeof raw, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n");
    expect_refused(port, raw, (size_t)n, 413);
    n = snprintf(raw, sizeof raw,
            "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n%064d\r\n40\r\n"
            "%064d\r\n0\r\n\r\n", 0, 0);
    expect_refused(port, raw, (size_t)n, 413);
    /* trailers count against what the head left of the header limits, and are a 431 past them */
    n = snprintf(raw, sizeof raw,
                 "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n"
                 "A: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE: 1\r\nF: 1\r\nG: 1\r\n\r\n");
    expect_refused(port, raw, (size_t)n, 431);
    n = snprintf(raw, sizeof raw,
            "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nT: "
            "%0990d\r\n\r\n", 0);
    expect_refused(port, raw, (size_t)n, 431);
    /* exactly at the limits is fine */
    tu_resp r;
    n = snprintf(raw, sizeof raw,
                 "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n"
                 "A: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE: 1\r\nF: 1\r\n\r\n");
    WF_EXPECT_EQ_INT(tu_request(port, raw, &r), 200);
    tu_resp_free(&r);
    /* a chunked request whose head uses the whole byte budget: no trailer, so nothing is over */
    const char *pre = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nX: ";
    int pad = 1000 - (int)strlen(pre) - 4;
    n = snprintf(raw, sizeof raw, "%s%0*d\r\n\r\n1\r\na\r\n0\r\n\r\n", pre, pad, 0);
    WF_EXPECT_EQ_INT(tu_request(port, raw, &r), 200);
    tu_resp_free(&r);
    n = snprintf(raw, sizeof raw, "%s%0*d\r\n\r\n1\r\na\r\n0\r\nT: 1\r\n\r\n", pre, pad, 0);
    expect_refused(port, raw, (size_t)n, 431);
    n = snprintf(raw, sizeof raw, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n%0100d", 0);
    WF_EXPECT_EQ_INT(tu_request(port, raw, &r), 200);
    WF_EXPECT_EQ_INT(r.body_len, 100);
    tu_resp_free(&r);
    tu_stop(app);
}

WF_TEST(server_smuggling_refused_and_closed) {
    static const struct { const char *raw; int status; } cases[] = {
        {"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
         400},
        {"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\n", 400},
        {"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -4\r\n\r\n", 400},
        {"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4a\r\n\r\n", 400},
        {"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 184467440737095516160\r\n\r\n", 400},
        {"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n", 400},
        {"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\n", 400},
        {"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nz\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n folded\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: x\r\nX: a\x01b\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: x\r\nX\x01: ab\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: x\nX: ab\r\n\r\n", 400},
        {"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
        {"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501},
        {"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n", 400},
        {"POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: x y\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: x/y\r\n\r\n", 400},
        {"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505},
        {"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400},
    };
    wf_app *app;
    int port = serve(&app, NULL);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* a smuggled second request after each must never be answered */
        char raw[1024];
        int n = snprintf(raw, sizeof raw, "%sGET /path/a?smuggled HTTP/1.1\r\nHost: x\r\n\r\n", cases[i].raw);
        expect_refused(port, raw, (size_t)n, cases[i].status);
    }
    /* a NUL byte in the request line */
    expect_refused(port, "GET /\0 HTTP/1.1\r\nHost: x\r\n\r\n", 28, 400);
    tu_stop(app);
}

WF_TEST(server_timeouts) {
    wf_app *app;
    wf_config cfg = {.header_timeout_ms = 300, .body_timeout_ms = 300, .idle_timeout_ms = 300};
    int port = serve(&app, &cfg);
    tu_conn c;
    tu_resp r;
    /* head not finished in time: 408 then close */
    WF_ASSERT_EQ_INT(tu_connect(&c, port), 0);
    tu_sends(&c, "GET / HTTP/1.1\r\nHost: x\r\n");
    WF_EXPECT_EQ_INT(tu_read(&c, &r, false, 3000), 408);
    tu_resp_free(&r);
    WF_EXPECT_TRUE(tu_closed(&c, 3000));
    tu_close(&c);
    /* a slowloris trickle does not extend the deadline */
    WF_ASSERT_EQ_INT(tu_connect(&c, port), 0);
    long long t0 = tu_ms();
    for (int i = 0; i < 8 && tu_ms() - t0 < 2000; i++) {
        tu_sends(&c, i == 0 ? "GET / HTTP/1.1\r\n" : "X: y\r\n");
        usleep(100000);
    }
    WF_EXPECT_EQ_INT(tu_read(&c, &r, false, 3000), 408);
    tu_resp_free(&r);
    tu_close(&c);
    /* body not finished in time */
    WF_ASSERT_EQ_INT(tu_connect(&c, port), 0);
    tu_sends(&c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
    WF_EXPECT_EQ_INT(tu_read(&c, &r, false, 3000), 408);
    tu_resp_free(&r);
    WF_EXPECT_TRUE(tu_closed(&c, 3000));
    tu_close(&c);
    /* idle keep-alive: closed without a response, not before the idle timeout (its clock starts
       with the response, so after t0) */
    WF_ASSERT_EQ_INT(tu_connect(&c, port), 0);
    t0 = tu_ms();
    tu_sends(&c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    WF_EXPECT_EQ_INT(tu_read(&c, &r, false, 3000), 200);
    tu_resp_free(&r);
    WF_EXPECT_TRUE(tu_closed(&c, 3000));
    WF_EXPECT_GE_INT(tu_ms() - t0, 300 - 1);    /* milliseconds truncated on both sides */
    tu_close(&c);
    /* a connection that never sends a byte is closed too */
    WF_ASSERT_EQ_INT(tu_connect(&c, port), 0);
    WF_EXPECT_TRUE(tu_closed(&c, 3000));
    tu_close(&c);
    tu_stop(app);
}

WF_TEST(server_slow_client_does_not_block_others) {
    wf_app *app;
    int port = serve(&app, NULL);
    tu_conn slow;
    tu_resp r;
    WF_ASSERT_EQ_INT(tu_connect(&slow, port), 0);
    tu_sends(&slow, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\npartial");
    for (int i = 0; i < 20; i++) {
        WF_ASSERT_EQ_INT(tu_request(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", &r), 200);
        tu_resp_free(&r);
    }
    tu_close(&slow);
    tu_stop(app);
}

WF_TEST(server_max_conns_refused_cleanly) {
    wf_app *app;
    wf_config cfg = {.max_conns = 4};
    int port = serve(&app, &cfg);
    tu_conn c[5];
    tu_resp r;
    for (int i = 0; i < 4; i++) {
        WF_ASSERT_EQ_INT(tu_connect(&c[i], port), 0);
        tu_sends(&c[i], "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        WF_ASSERT_EQ_INT(tu_read(&c[i], &r, false, 3000), 200);
        tu_resp_free(&r);
    }
    WF_ASSERT_EQ_INT(tu_connect(&c[4], port), 0);
    WF_EXPECT_EQ_INT(tu_read(&c[4], &r, false, 3000), 503);
    tu_resp_free(&r);
    WF_EXPECT_TRUE(tu_closed(&c[4], 3000));
    tu_close(&c[4]);
    /* the others are still served, and a slot freed is reusable */
    tu_sends(&c[0], "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    WF_EXPECT_EQ_INT(tu_read(&c[0], &r, false, 3000), 200);
    tu_resp_free(&r);
    tu_peer p1 = tu_server_end(&c[1]);
    tu_close(&c[1]);
    WF_EXPECT_TRUE(tu_server_released(&p1, 5000));   /* the server has let it go: a slot is free */
    WF_EXPECT_EQ_INT(tu_request(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", &r), 200);
    tu_resp_free(&r);
    for (int i = 0; i < 4; i++)
        if (i != 1) tu_close(&c[i]);
    tu_stop(app);
}


WF_TEST(server_fd_exhaustion_does_not_spin) {
    /* this test runs in its own process: lower the descriptor limit so accept() meets EMFILE */
    struct rlimit rl = {64, 64};
    WF_ASSERT_EQ_INT(setrlimit(RLIMIT_NOFILE, &rl), 0);
    wf_app *app;
    wf_config cfg = {.max_conns = 1000};
    int port = serve(&app, &cfg);
    int fds_served = tu_open_fds();
    static tu_conn c[64];
    int n = 0;
    while (n < 64 && tu_connect(&c[n], port) == 0) n++;
    wf_test_log("%d client connections before the process ran out of descriptors", n);
    WF_EXPECT_GT_INT(n, 10);
    usleep(200000);
    double t0 = tu_cpu_seconds();
    usleep(500000);
    double used = tu_cpu_seconds() - t0;
    wf_test_log("CPU used in 0.5 s while out of descriptors: %.3f s", used);
    WF_EXPECT_LT_INT((long)(used * 1000), 150);
    for (int i = 0; i < n; i++) tu_close(&c[i]);
    /* the server closes its ends too (accepting and closing what waited in the backlog): back to
       the descriptors it had before, it serves again */
    long long deadline = tu_ms() + 5000;
    while (tu_open_fds() > fds_served && tu_ms() < deadline) usleep(1000);
    WF_EXPECT_LE_INT(tu_open_fds(), fds_served);
    tu_resp r;
    WF_EXPECT_EQ_INT(tu_request(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", &r), 200);
    tu_resp_free(&r);
    tu_stop(app);
}

WF_TEST(server_shutdown_lets_inflight_finish) {
    wf_app *app;
    wf_config cfg = {.shutdown_grace_ms = 60000};
    int port = serve(&app, &cfg);
    tu_conn busy, idle;
    tu_resp r;
    WF_ASSERT_EQ_INT(tu_connect(&idle, port), 0);
    tu_sends(&idle, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    WF_ASSERT_EQ_INT(tu_read(&idle, &r, false, 3000), 200);
    tu_resp_free(&r);
    WF_ASSERT_EQ_INT(tu_connect(&busy, port), 0);
    tu_sends(&busy, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello");
    WF_ASSERT_TRUE(tu_server_read_all(&busy, 5000));   /* in flight when the stop comes */
    wf_stop(app);
    WF_EXPECT_TRUE(tu_closed(&idle, 5000));     /* idle connections close at once (the listener first) */
    tu_conn late;
    WF_EXPECT_TRUE(tu_connect(&late, port) < 0 || tu_closed(&late, 2000));   /* no new connections */
    tu_close(&late);
    tu_sends(&busy, "world");
    WF_EXPECT_EQ_INT(tu_read(&busy, &r, false, 3000), 200);
    WF_EXPECT_EQ_STR(r.body, "helloworld");
    char v[32];
    WF_EXPECT_TRUE(tu_header(&r, "Connection", v, sizeof v) && strcmp(v, "close") == 0);
    tu_resp_free(&r);
    long long t0 = tu_ms();
    WF_EXPECT_EQ_INT(wf_wait(app), 0);
    WF_EXPECT_LT_INT(tu_ms() - t0, 30000);      /* once the last request is done, not at the grace's end */
    wf_app_free(app);
    tu_close(&busy);
    tu_close(&idle);
}

WF_TEST(server_shutdown_grace_expires) {
    wf_app *app;
    wf_config cfg = {.shutdown_grace_ms = 300};
    int port = serve(&app, &cfg);
    tu_conn busy;
    WF_ASSERT_EQ_INT(tu_connect(&busy, port), 0);
    tu_sends(&busy, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhel");
    WF_ASSERT_TRUE(tu_server_read_all(&busy, 5000));   /* in flight: it holds the stop for the grace */
    long long t0 = tu_ms();
    wf_stop(app);
    WF_EXPECT_EQ_INT(wf_wait(app), 0);
    WF_EXPECT_GE_INT(tu_ms() - t0, 300 - 1);
    WF_EXPECT_LT_INT(tu_ms() - t0, 1500);
    WF_EXPECT_TRUE(tu_closed(&busy, 2000));
    tu_close(&busy);
    wf_app_free(app);
}

static int port_pipe[2];

static void log_port(void *user, wf_log_level level, const char *msg) {
    (void)user;
    (void)level;
    const char *p = strstr(msg, "127.0.0.1:");
    if (p) {
        int port = atoi(p + 10);
        ssize_t w = write(port_pipe[1], &port, sizeof port);
        (void)w;
    }
}

WF_TEST(server_sigterm_exits_zero) {
    WF_ASSERT_EQ_INT(pipe(port_pipe), 0);
    pid_t pid = fork();
    if (pid == 0) {
        wf_app *app = mkapp();
        int rc = wf_run(app, &(wf_config){.port = WF_PORT_ANY, .threads = 2, .no_access_log = true,
                                          .log = log_port});
        wf_app_free(app);
        _exit(rc == 0 ? 0 : 3);
    }
    int port = 0;
    WF_ASSERT_EQ_INT(read(port_pipe[0], &port, sizeof port), (long)sizeof port);
    tu_resp r;
    WF_EXPECT_EQ_INT(tu_request(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", &r), 200);
    tu_resp_free(&r);
    kill(pid, SIGTERM);
    int status = 0;
    long long t0 = tu_ms();
    while (waitpid(pid, &status, WNOHANG) == 0 && tu_ms() - t0 < 5000) usleep(10000);
    WF_EXPECT_TRUE(WIFEXITED(status));
    WF_EXPECT_EQ_INT(WEXITSTATUS(status), 0);
}

static char access_line[512];
static atomic_int access_count;

static void on_access(void *user, const wf_access_entry *e) {
    (void)user;
    snprintf(access_line, sizeof access_line, "%.*s %.*s %d %llu %s", (int)e->method.len, e->method.ptr,
             (int)e->path.len, e->path.ptr, e->status, (unsigned long long)e->bytes, e->peer);
    atomic_fetch_add(&access_count, 1);
}

WF_TEST(server_access_log) {
    wf_app *app;
    wf_config cfg = {.access_log = on_access};
    int port = serve(&app, &cfg);
    tu_resp r;
    WF_EXPECT_EQ_INT(tu_request(port, "GET /nope?x=1 HTTP/1.1\r\nHost: x\r\n\r\n", &r), 404);
    tu_resp_free(&r);
    tu_stop(app);
    WF_EXPECT_EQ_INT(atomic_load(&access_count), 1);
    WF_EXPECT_TRUE(strncmp(access_line, "GET /nope 404 ", 14) == 0);
    WF_EXPECT_TRUE(strstr(access_line, " 127.0.0.1:") != NULL);
}

WF_TEST(response_header_injection_refused) {
    wf_app *app = wf_app_new();
    WF_EXPECT_EQ_INT(wf_route(app, "GET", "no-slash", h_hello, NULL), WF_EINVAL);
    WF_EXPECT_EQ_INT(wf_route(app, "G T", "/", h_hello, NULL), WF_EINVAL);
    wf_app_free(app);
}

static void h_inject(wf_req *req, wf_res *res) {
    (void)req;
    int a = wf_res_add_header(res, "X-Bad", "a\r\nSet-Cookie: evil=1");
    int b = wf_res_add_header(res, "Bad Name", "v");
    int c = wf_res_add_header(res, "X-Good", "fine value");
    char msg[64];
    snprintf(msg, sizeof msg, "%d %d %d", a, b, c);
    wf_reply_text(res, 200, msg);
}

WF_TEST(server_response_header_injection_refused) {
    wf_app *app = wf_app_new();
    wf_get(app, "/inject", h_inject);
    int port = tu_serve(app, NULL);
    tu_resp r;
    char v[64];
    WF_EXPECT_EQ_INT(tu_request(port, "GET /inject HTTP/1.1\r\nHost: x\r\n\r\n", &r), 200);
    WF_EXPECT_FALSE(tu_header(&r, "Set-Cookie", v, sizeof v));
    WF_EXPECT_TRUE(tu_header(&r, "X-Good", v, sizeof v));
    char want[64];
    snprintf(want, sizeof want, "%d %d 0", WF_EINVAL, WF_EINVAL);
    WF_EXPECT_EQ_STR(r.body, want);
    tu_resp_free(&r);
    tu_stop(app);
}

WF_TEST(server_ipv6) {
    wf_app *app = mkapp();
    int port = tu_serve(app, &(wf_config){.host = "::1"});
    if (port < 0) {
        wf_app_free(app);
        WF_SKIP("no IPv6 loopback here");
    }
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a = {0};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons((uint16_t)port);
    a.sin6_addr = in6addr_loopback;
    WF_ASSERT_EQ_INT(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    const char *req = "GET / HTTP/1.1\r\nHost: [::1]\r\nConnection: close\r\n\r\n";
    WF_ASSERT_EQ_INT(send(fd, req, strlen(req), 0), (long)strlen(req));
    char buf[512] = "";
    size_t got = 0;
    ssize_t k;
    while (got < sizeof buf - 1 && (k = recv(fd, buf + got, sizeof buf - 1 - got, 0)) > 0) got += (size_t)k;
    WF_EXPECT_TRUE(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) == 0);
    close(fd);
    tu_stop(app);
}

static pthread_t posted_on;
static atomic_int posted_runs;

static void on_posted(void *arg) {
    posted_on = pthread_self();
    atomic_fetch_add(&posted_runs, *(int *)arg);
}

WF_TEST(server_post_runs_on_a_loop_thread) {
    wf_app *app;
    int port = serve(&app, NULL), three = 3;
    (void)port;
    WF_ASSERT_EQ_INT(wf_run_on_loop(app, on_posted, &three), 0);
    long long t0 = tu_ms();
    while (atomic_load(&posted_runs) == 0 && tu_ms() - t0 < 5000) usleep(1000);
    WF_EXPECT_EQ_INT(atomic_load(&posted_runs), 3);
    WF_EXPECT_FALSE(pthread_equal(posted_on, pthread_self()));
    tu_stop(app);
    wf_app *idle = wf_app_new();
    WF_EXPECT_EQ_INT(wf_run_on_loop(idle, on_posted, &three), WF_EINVAL);
    wf_app_free(idle);
}

WF_TEST(server_write_timeout_closes_a_client_that_does_not_read) {
    wf_app *app;
    wf_config cfg = {.write_timeout_ms = 300};
    int port = serve(&app, &cfg);
    tu_conn c;
    atomic_store(&produced, 0);
    stream_total = 1L << 30;
    WF_ASSERT_EQ_INT(tu_connect(&c, port), 0);
    tu_peer p = tu_server_end(&c);
    tu_sends(&c, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
    /* read nothing: the server gives up after write_timeout_ms without progress and closes */
    WF_EXPECT_TRUE(tu_server_released(&p, 5000));
    long stuck = atomic_load(&produced);
    tu_resp resp;
    /* a loop round trip */
    WF_EXPECT_EQ_INT(tu_request(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", &resp), 200);
    tu_resp_free(&resp);
    WF_EXPECT_EQ_INT(atomic_load(&produced), stuck);   /* the stream's producer is no longer called */
    /* the connection is gone: reading drains what was buffered, then hits the end */
    char buf[65536];
    long total = 0, r;
    long long t0 = tu_ms();
    while ((r = recv(c.fd, buf, sizeof buf, 0)) > 0 && tu_ms() - t0 < 5000) total += r;
    wf_test_log("read %ld bytes after the stall, produced %ld", total, atomic_load(&produced));
    WF_EXPECT_TRUE(r <= 0);
    WF_EXPECT_LT_INT(total, 64L << 20);
    tu_close(&c);
    /* and the server still serves */
    WF_EXPECT_EQ_INT(tu_request(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", &resp), 200);
    tu_resp_free(&resp);
    tu_stop(app);
}

/* A port another server listens on is refused (SO_REUSEPORT would split the connections between
   the two), unless the second asks to share it. */
WF_TEST(server_refuses_a_port_in_use_unless_shared) {
    wf_app *a = wf_app_new(), *b = wf_app_new();
    wf_get(a, "/", h_hello);
    wf_get(b, "/", h_hello);
    wf_config ca = {.port = WF_PORT_ANY, .threads = 2, .no_access_log = true};
    int port = wf_start(a, &ca);
    WF_ASSERT_GT_INT(port, 0);
    wf_config cb = {.port = port, .threads = 1, .no_access_log = true, .log = tu_log};
    tu_log_clear();
    WF_EXPECT_EQ_INT(wf_start(b, &cb), WF_EADDRINUSE);
    WF_EXPECT_EQ_INT(tu_log_count("another process listens there"), 1);
    cb.share_port = true;
    int pb = wf_start(b, &cb);
    WF_EXPECT_EQ_INT(pb, port);
    if (pb > 0) {
        wf_stop(b);
        wf_wait(b);
    }
    wf_stop(a);
    wf_wait(a);
    /* a listener without SO_REUSEPORT (another program): refused either way */
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    WF_ASSERT_EQ_INT(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    WF_ASSERT_EQ_INT(listen(fd, 1), 0);
    socklen_t sl = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    cb.port = ntohs(sa.sin_port);
    cb.share_port = false;
    WF_EXPECT_EQ_INT(wf_start(b, &cb), WF_EADDRINUSE);
    cb.share_port = true;
    WF_EXPECT_EQ_INT(wf_start(b, &cb), WF_EADDRINUSE);
    close(fd);
    wf_app_free(a);
    wf_app_free(b);
}

/* threads = 0: one loop thread per CPU this process may run on, and the log says what decided. The
   server is stopped from one of its own loop threads (wf_stop from another thread racing wf_run's
   end is issue 12's first point). */
static wf_app *affinity_app;
static void *run_app(void *arg) {
    wf_config cfg = {.port = WF_PORT_ANY, .no_signals = true, .no_access_log = true, .log = tu_log};
    wf_run((wf_app *)arg, &cfg);
    return NULL;
}

static void h_stop(wf_req *req, wf_res *res) {
    (void)req;
    wf_stop(affinity_app);
    wf_reply_text(res, 200, "stopping");
}

/* Run a server with threads = 0 until it has logged its start; then how often the log says what;
   then stop it from its own loop (a request to /stop) and free it. */
static int threads_logged(const char *what) {
    affinity_app = wf_app_new();
    wf_get(affinity_app, "/stop", h_stop);
    tu_log_clear();
    pthread_t t;
    if (pthread_create(&t, NULL, run_app, affinity_app) != 0) return -1;
    for (int i = 0; i < 20000 && !tu_log_count("listening on"); i++) usleep(1000);
    int n = tu_log_count(what);
    long port = tu_log_number_after("listening on http://127.0.0.1:");
    tu_resp r;
    memset(&r, 0, sizeof r);
    if (port <= 0 || tu_request((int)port, "GET /stop HTTP/1.1\r\nHost: x\r\n\r\n", &r) != 200) n = -1;
    tu_resp_free(&r);
    pthread_join(t, NULL);
    wf_app_free(affinity_app);
    return n;
}

WF_TEST(server_threads_follow_the_affinity_mask) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2) WF_SKIP("one CPU online: nothing to narrow");
    WF_ASSERT_EQ_INT(sched_setaffinity(0, sizeof one, &one), 0);
    WF_EXPECT_EQ_INT(threads_logged("(1 loop threads: the CPUs in the affinity mask)"), 1);
}

/* Under a cgroup v2 quota, the threads are the quota rounded up (2.5 CPUs: 3), if fewer than the
   CPUs. The test points the cgroup root at a directory of its own with the group's cpu.max (and a
   parent's), as the kernel's files read; it needs this process's line "0::<path>" in
   /proc/self/cgroup, which every Linux with cgroup v2 mounted (alone or hybrid) has. */
WF_TEST(server_threads_follow_a_cgroup_cpu_quota) {
    char line[512] = "", dir[700], path[800];
    FILE *f = fopen("/proc/self/cgroup", "r");
    bool v2 = false;
    while (f && !v2 && fgets(line, sizeof line, f)) v2 = strncmp(line, "0::", 3) == 0;
    if (f) fclose(f);
    if (!v2) WF_SKIP("no cgroup v2 line in /proc/self/cgroup");
    line[strcspn(line, "\n")] = 0;
    char root[] = "/tmp/webfw-cgroup-XXXXXX";
    WF_ASSERT_TRUE(mkdtemp(root) != NULL);
    snprintf(dir, sizeof dir, "%s%s", root, strcmp(line + 3, "/") == 0 ? "" : line + 3);
    char cmd[900];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
    WF_ASSERT_EQ_INT(system(cmd), 0);
    snprintf(path, sizeof path, "%s/cpu.max", dir);
    f = fopen(path, "w");
    WF_ASSERT_TRUE(f != NULL);
    fputs("50000 100000\n", f);          /* half a CPU: one thread */
    fclose(f);
    setenv("WF_TEST_CGROUP_ROOT", root, 1);
    bool narrowed = sysconf(_SC_NPROCESSORS_ONLN) > 1;
    WF_EXPECT_EQ_INT(threads_logged("(1 loop threads: the cgroup's cpu.max quota)"), narrowed ? 1 : 0);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    WF_EXPECT_EQ_INT(system(cmd), 0);
}

/* wf_config.trusted_hosts: FastAPI's TrustedHostMiddleware; a redirect is built on a trusted name. */
WF_TEST(server_trusted_hosts_refuse_others) {
    static const char *const hosts[] = {"example.com", "*.example.org", NULL};
    wf_app *app = wf_app_new();
    wf_get(app, "/", h_hello);
    wf_get(app, "/dir/", h_hello);
    wf_config cfg = {.trusted_hosts = hosts, .no_access_log = true};
    int port = tu_serve(app, &cfg);
    static const struct { const char *host; int status; } cases[] = {
        {"example.com", 200}, {"EXAMPLE.com:8080", 200}, {"a.example.org", 200}, {"x.y.example.org", 200},
        {"example.org", 400}, {"evil.com", 400}, {"example.com.evil", 400}, {"notexample.com", 400},
        {"[::1]", 400},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char rq[256];
        snprintf(rq, sizeof rq, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", cases[i].host);
        tu_resp r;
        WF_EXPECT_EQ_INT(tu_request(port, rq, &r), cases[i].status);
        if (cases[i].status == 400) WF_EXPECT_TRUE(strstr(r.body, "Invalid host header") != NULL);
        tu_resp_free(&r);
    }
    tu_resp r;
    WF_EXPECT_EQ_INT(tu_request(port, "GET http://evil.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n", &r), 400);
    tu_resp_free(&r);
    WF_EXPECT_EQ_INT(tu_request(port, "GET / HTTP/1.0\r\n\r\n", &r), 400);     /* no Host at all */
    tu_resp_free(&r);
    char loc[128];
    WF_EXPECT_EQ_INT(tu_request(port, "GET /dir HTTP/1.1\r\nHost: a.example.org\r\n\r\n", &r), 307);
    WF_EXPECT_TRUE(tu_header(&r, "location", loc, sizeof loc));
    WF_EXPECT_EQ_STR(loc, "http://a.example.org/dir/");
    tu_resp_free(&r);
    tu_stop(app);
}
