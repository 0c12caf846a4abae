/* Blocking routes: handlers on the worker pool, their responses back on the loop; the loop stays free,
   pipelined order holds, a full pool answers 503, and a vanished client or a shutdown still runs every
   cleanup exactly once. */
#define _GNU_SOURCE
#include "util.h"
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static atomic_int opened, closed_;
static atomic_int on_loop_thread;       /* a blocking handler ran on a thread that was not a worker */
static atomic_ulong loop_thread;       /* pthread_t, as Linux has it */
/* Tests wait on events, not on time: handlers and tasks that must still be running while the test
   does something wait at a gate the test opens; `order` numbers what started, in order. */
static tu_gate handler_gate = TU_GATE_INIT, task_gate = TU_GATE_INIT, loop_gate = TU_GATE_INIT;
static atomic_int order, sleep_started_at, tasks_started, task_started_at[4];

static void session_close(void *arg) {
    (void)arg;
    atomic_fetch_add(&closed_, 1);
}

WF_DEPENDENCY(int *, b_session) {
    static int token = 1;
    atomic_fetch_add(&opened, 1);
    wf_defer(req, session_close, NULL);
    return &token;
}

static void h_sleep(wf_req *req, wf_res *res) {
    WF_DEPENDS(req, b_session);
    long long ms = wf_param_int(req, WF_IN_QUERY, "ms", "default=2000,ge=0,le=5000");
    if ((unsigned long)pthread_self() == atomic_load(&loop_thread)) atomic_fetch_add(&on_loop_thread, 1);
    atomic_store(&sleep_started_at, atomic_fetch_add(&order, 1) + 1);
    usleep((useconds_t)ms * 1000);
    wf_reply_json(res, 200, "{s:I,s:s}", "slept_ms", ms, "peer", wf_req_peer(req));
}

/* A blocking handler that runs until the test opens handler_gate. */
static void h_wait(wf_req *req, wf_res *res) {
    WF_DEPENDS(req, b_session);
    if ((unsigned long)pthread_self() == atomic_load(&loop_thread)) atomic_fetch_add(&on_loop_thread, 1);
    bool opened_in_time = tu_gate_pass(&handler_gate, 8000);
    wf_reply_json(res, 200, "{s:b,s:s}", "gate_opened", opened_in_time, "peer", wf_req_peer(req));
}

/* An inline handler that holds its loop thread until the test opens loop_gate. */
static void h_hold_loop(wf_req *req, wf_res *res) {
    (void)req;
    tu_gate_pass(&loop_gate, 8000);
    wf_reply_text(res, 200, "held");
}

static void h_fast(wf_req *req, wf_res *res) {
    (void)req;
    atomic_store(&loop_thread, (unsigned long)pthread_self());
    wf_reply_text(res, 200, "fast");
}

static void h_echo(wf_req *req, wf_res *res) {
    wf_str b = wf_req_body(req);
    usleep(50000);
    wf_reply(res, 200, "text/plain", b.ptr, b.len);
}

static void h_fail(wf_req *req, wf_res *res) {
    (void)res;
    WF_DEPENDS(req, b_session);
    wf_raise(req, 409, "conflict on a worker");
}

static int count_stream;
static int produce(wf_res *res, void *user) {
    int *left = (int *)user;
    if (*left == 0) return 0;
    char line[32];
    int n = snprintf(line, sizeof line, "line %d\n", (*left)--);
    return wf_res_write(res, line, (size_t)n) < 0 ? -1 : 1;
}

static void h_stream(wf_req *req, wf_res *res) {
    (void)req;
    usleep(20000);
    count_stream = 3;
    wf_res_stream(res, produce, &count_stream, NULL);
}

/* A task that runs until the test opens task_gate. */
static int gated_task(void *arg) {
    int i = atomic_fetch_add(&tasks_started, 1);
    (void)arg;
    if (i < 4) atomic_store(&task_started_at[i], atomic_fetch_add(&order, 1) + 1);
    tu_gate_pass(&task_gate, 8000);
    return 0;
}

static void h_add_task(wf_req *req, wf_res *res) {
    int rc = wf_add_task(req, "gated", gated_task, NULL, NULL);
    wf_reply_json(res, 200, "{s:i}", "rc", rc);
}

static void h_write_directly(wf_req *req, wf_res *res) {
    (void)req;
    int rc = wf_res_write(res, "x", 1);        /* the connection is the loop's, not this worker's */
    wf_reply_json(res, 200, "{s:i}", "rc", rc);
}

static atomic_int idle_calls;
static int idle_producer(wf_res *res, void *user) {
    (void)res, (void)user;
    atomic_fetch_add(&idle_calls, 1);
    return 1;                                   /* never anything to send */
}

static void h_idle_stream(wf_req *req, wf_res *res) {
    (void)req;
    wf_res_stream(res, idle_producer, NULL, NULL);
}

static wf_app *blocking_app(void) {
    wf_app *app = wf_app_new();
    wf_route(app, "GET", "/sleep", h_sleep, &(wf_route_opts){.blocking = true});
    wf_route(app, "GET", "/wait", h_wait, &(wf_route_opts){.blocking = true});
    wf_get(app, "/hold-loop", h_hold_loop);
    wf_route(app, "POST", "/echo", h_echo, &(wf_route_opts){.blocking = true});
    wf_route(app, "GET", "/fail", h_fail, &(wf_route_opts){.blocking = true});
    wf_route(app, "GET", "/stream", h_stream, &(wf_route_opts){.blocking = true});
    wf_route(app, "GET", "/write", h_write_directly, &(wf_route_opts){.blocking = true});
    wf_get(app, "/idle-stream", h_idle_stream);
    wf_get(app, "/fast", h_fast);
    wf_get(app, "/task", h_add_task);
    atomic_store(&opened, 0);
    atomic_store(&closed_, 0);
    atomic_store(&on_loop_thread, 0);
    atomic_store(&order, 0);
    atomic_store(&sleep_started_at, 0);
    atomic_store(&tasks_started, 0);
    for (int i = 0; i < 4; i++) atomic_store(&task_started_at[i], 0);
    tu_gate_reset(&handler_gate);
    tu_gate_reset(&task_gate);
    tu_gate_reset(&loop_gate);
    tu_log_clear();
    return app;
}

static bool wait_closed(int want, int ms) {
    long long t0 = tu_ms();
    while (atomic_load(&closed_) < want && tu_ms() - t0 < ms) usleep(5000);
    return atomic_load(&closed_) == want;
}

/* The point of issue #5's item 6: a blocking handler does not hold up anyone else. It waits at a
   gate while 20 requests are answered: on the loop thread, they could not be. */
WF_TEST(blocking_route_leaves_the_loop_free) {
    wf_app *app = blocking_app();
    int port = tu_serve(app, &(wf_config){.threads = 1, .workers = 2, .log = tu_log});
    tu_conn a, b;
    tu_resp r;
    /* learn the loop thread */
    WF_ASSERT_EQ_INT(tu_request(port, "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n", &r), 200);
    tu_resp_free(&r);
    WF_ASSERT_EQ_INT(tu_connect(&a, port), 0);
    WF_ASSERT_EQ_INT(tu_connect(&b, port), 0);
    tu_sends(&a, "GET /wait HTTP/1.1\r\nHost: x\r\n\r\n");
    WF_ASSERT_TRUE(tu_gate_arrivals(&handler_gate, 1, 5000));   /* the handler is running */
    long long t0 = tu_ms();
    for (int i = 0; i < 20; i++) {
        tu_sends(&b, "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n");
        WF_ASSERT_EQ_INT(tu_read(&b, &r, false, 5000), 200);
        WF_EXPECT_EQ_STR(r.body, "fast");
        tu_resp_free(&r);
    }
    wf_test_log("20 requests answered in %lld ms while a blocking handler ran", tu_ms() - t0);
    struct pollfd pa = {a.fd, POLLIN, 0};
    WF_EXPECT_EQ_INT(poll(&pa, 1, 0), 0);      /* nothing for a yet: its handler still runs */
    tu_gate_open(&handler_gate);
    WF_ASSERT_EQ_INT(tu_read(&a, &r, false, 5000), 200);
    WF_EXPECT_TRUE(strstr(r.body, "\"gate_opened\":true") != NULL);
    WF_EXPECT_TRUE(strstr(r.body, "\"peer\":\"127.0.0.1:") != NULL);
    tu_resp_free(&r);
    WF_EXPECT_EQ_INT(atomic_load(&on_loop_thread), 0);
    WF_EXPECT_TRUE(wait_closed(1, 5000));       /* the cleanup ran, on the loop, once */
    /* the connection goes on after a blocking request */
    tu_sends(&a, "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n");
    WF_EXPECT_EQ_INT(tu_read(&a, &r, false, 5000), 200);
    tu_resp_free(&r);
    tu_close(&a);
    tu_close(&b);
    tu_stop(app);
    WF_EXPECT_TRUE(tu_log_count("held its loop") == 0);
    WF_EXPECT_EQ_INT(atomic_load(&opened), 1);
    WF_EXPECT_EQ_INT(atomic_load(&closed_), 1);
}

/* Pipelined requests behind a blocking one wait for it: responses keep the requests' order. Bodies,
   plain and chunked, survive the hand-over (the connection's input buffer moves on meanwhile). */
WF_TEST(blocking_route_keeps_pipelined_order_and_bodies) {
    wf_app *app = blocking_app();
    int port = tu_serve(app, &(wf_config){.threads = 1, .workers = 4, .log = tu_log});
    tu_conn c;
    tu_resp r;
    WF_ASSERT_EQ_INT(tu_connect(&c, port), 0);
    tu_sends(&c, "GET /sleep?ms=200 HTTP/1.1\r\nHost: x\r\n\r\n"
                 "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n"
                 "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello there"
                 "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nchunk\r\n3\r\n"
                 "ed!\r\n0\r\n\r\n"
                 "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"
                 "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n");
    WF_ASSERT_EQ_INT(tu_read(&c, &r, false, 3000), 200);
    WF_EXPECT_TRUE(strstr(r.body, "\"slept_ms\":200") != NULL);
    tu_resp_free(&r);
    WF_ASSERT_EQ_INT(tu_read(&c, &r, false, 3000), 200);
    WF_EXPECT_EQ_STR(r.body, "fast");
    tu_resp_free(&r);
    WF_ASSERT_EQ_INT(tu_read(&c, &r, false, 3000), 200);
    WF_EXPECT_EQ_STR(r.body, "hello there");
    tu_resp_free(&r);
    WF_ASSERT_EQ_INT(tu_read(&c, &r, false, 3000), 200);
    WF_EXPECT_EQ_STR(r.body, "chunked!");
    tu_resp_free(&r);
    WF_ASSERT_EQ_INT(tu_read(&c, &r, false, 3000), 200);
    WF_EXPECT_TRUE(r.chunked);
    WF_EXPECT_EQ_STR(r.body, "line 3\nline 2\nline 1\n");
    tu_resp_free(&r);
    WF_ASSERT_EQ_INT(tu_read(&c, &r, false, 3000), 200);
    WF_EXPECT_EQ_STR(r.body, "fast");
    tu_resp_free(&r);
    /* a failure on a worker is answered like one on the loop, cleanups included */
    tu_sends(&c, "GET /fail HTTP/1.1\r\nHost: x\r\n\r\n");
    WF_ASSERT_EQ_INT(tu_read(&c, &r, false, 3000), 409);
    WF_EXPECT_EQ_STR(r.body, "{\"detail\":\"conflict on a worker\"}");
    tu_resp_free(&r);
    tu_close(&c);
    WF_EXPECT_TRUE(wait_closed(2, 5000));
    tu_stop(app);
    WF_EXPECT_EQ_INT(atomic_load(&opened), 2);
    WF_EXPECT_EQ_INT(atomic_load(&closed_), 2);
}

/* The client leaves while its handler runs, by a reset (the loop sees it and orphans the request)
   or a plain close: the handler finishes, the cleanup runs once, the server serves on. */
static atomic_int closed_by_client;     /* access-log entries with nginx's 499 */
static void count_499(void *user, const wf_access_entry *e) {
    (void)user;
    if (e->status == 499) atomic_fetch_add(&closed_by_client, 1);
}

WF_TEST(blocking_route_client_gone_runs_cleanup_once) {
    wf_app *app = blocking_app();
    atomic_store(&closed_by_client, 0);
    int port = tu_serve(app, &(wf_config){.threads = 1, .workers = 2, .log = tu_log,
                                          .access_log = count_499});
    for (int rst = 0; rst < 2; rst++) {
        tu_conn c;
        tu_gate_reset(&handler_gate);
        WF_ASSERT_EQ_INT(tu_connect(&c, port), 0);
        tu_peer p = tu_server_end(&c);
        tu_sends(&c, "GET /wait HTTP/1.1\r\nHost: x\r\n\r\n");
        WF_ASSERT_TRUE(tu_gate_arrivals(&handler_gate, 1, 5000));   /* the handler runs */
        int logged = atomic_load(&closed_by_client);
        if (rst) {
            tu_reset(&c);
            WF_EXPECT_TRUE(tu_server_released(&p, 5000));   /* the loop let the connection go meanwhile */
        } else {
            tu_close(&c);
        }
        tu_gate_open(&handler_gate);
        WF_EXPECT_TRUE(wait_closed(rst + 1, 5000));
        usleep(50000);                          /* time for a second cleanup, which must not come */
        WF_EXPECT_EQ_INT(atomic_load(&closed_), rst + 1);
        if (rst) WF_EXPECT_EQ_INT(atomic_load(&closed_by_client), logged + 1);   /* logged as 499 */
        tu_resp r;
        WF_EXPECT_EQ_INT(tu_request(port, "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n", &r), 200);
        tu_resp_free(&r);
    }
    tu_stop(app);
    WF_EXPECT_EQ_INT(atomic_load(&opened), 2);
    WF_EXPECT_EQ_INT(atomic_load(&closed_), 2);
    WF_EXPECT_GE_INT(atomic_load(&closed_by_client), 1);   /* the reset one, at least, is logged as 499 */
}

/* max_jobs bounds what waits for the workers: blocking requests past it get 503 with Retry-After,
   wf_add_task gets WF_EFULL. */
WF_TEST(blocking_route_full_pool_answers_503) {
    wf_app *app = blocking_app();
    int port = tu_serve(app, &(wf_config){.threads = 1, .workers = 1, .max_jobs = 2, .log = tu_log});
    tu_conn c[4];
    tu_resp r;
    /* in this order: one runs (it waits at the gate), one waits for the worker, two are refused */
    for (int i = 0; i < 4; i++) {
        WF_ASSERT_EQ_INT(tu_connect(&c[i], port), 0);
        tu_sends(&c[i], "GET /wait HTTP/1.1\r\nHost: x\r\n\r\n");
        if (i == 0) WF_ASSERT_TRUE(tu_gate_arrivals(&handler_gate, 1, 5000));
        else WF_ASSERT_TRUE(tu_server_read_all(&c[i], 5000));   /* the loop has it: the next comes after */
    }
    for (int i = 2; i < 4; i++) {
        char retry[16] = "";
        WF_ASSERT_EQ_INT(tu_read(&c[i], &r, false, 5000), 503);
        WF_EXPECT_TRUE(tu_header(&r, "retry-after", retry, sizeof retry));
        WF_EXPECT_EQ_STR(retry, "1");
        WF_EXPECT_EQ_STR(r.body, "{\"detail\":\"Service Unavailable\"}");
        tu_resp_free(&r);
    }
    tu_gate_open(&handler_gate);
    for (int i = 0; i < 2; i++) {
        WF_ASSERT_EQ_INT(tu_read(&c[i], &r, false, 5000), 200);
        WF_EXPECT_TRUE(strstr(r.body, "\"gate_opened\":true") != NULL);
        tu_resp_free(&r);
    }
    for (int i = 0; i < 4; i++) tu_close(&c[i]);
    tu_stop(app);
    WF_EXPECT_EQ_INT(atomic_load(&opened), 2);
    WF_EXPECT_EQ_INT(atomic_load(&closed_), 2);
    /* tasks count against the same bound, on a fresh server (whether the slots of the requests
       above are free yet is not what this checks): one runs, one waits, the third is refused */
    app = blocking_app();
    port = tu_serve(app, &(wf_config){.threads = 1, .workers = 1, .max_jobs = 2, .log = tu_log});
    WF_ASSERT_EQ_INT(tu_connect(&c[0], port), 0);
    char want[32];
    for (int i = 0; i < 3; i++) {
        tu_sends(&c[0], "GET /task HTTP/1.1\r\nHost: x\r\n\r\n");
        WF_ASSERT_EQ_INT(tu_read(&c[0], &r, false, 5000), 200);
        snprintf(want, sizeof want, "{\"rc\":%d}", i < 2 ? 0 : WF_EFULL);
        WF_EXPECT_EQ_STR(r.body, want);
        tu_resp_free(&r);
    }
    tu_gate_open(&task_gate);
    tu_close(&c[0]);
    tu_stop(app);
    WF_EXPECT_EQ_INT(atomic_load(&tasks_started), 2);
}

/* Shutdown: a blocking request in flight is answered within the grace period; one that outlasts it
   loses its connection, but its handler finishes and its cleanup runs before wf_wait returns. */
WF_TEST(blocking_route_shutdown) {
    for (int outlast = 0; outlast < 2; outlast++) {
        wf_app *app = blocking_app();
        int port = tu_serve(app, &(wf_config){.threads = 1, .workers = 2, .log = tu_log,
                                              .shutdown_grace_ms = outlast ? 200 : 5000});
        tu_conn c;
        tu_resp r;
        WF_ASSERT_EQ_INT(tu_connect(&c, port), 0);
        tu_sends(&c, "GET /wait HTTP/1.1\r\nHost: x\r\n\r\n");
        WF_ASSERT_TRUE(tu_gate_arrivals(&handler_gate, 1, 5000));   /* in flight */
        wf_stop(app);
        WF_EXPECT_TRUE(tu_listener_closed(port, 5000));   /* the loop has begun to stop */
        if (!outlast) {
            tu_gate_open(&handler_gate);        /* it ends within the grace */
            WF_EXPECT_EQ_INT(tu_read(&c, &r, false, 5000), 200);
            char conn[16] = "";
            WF_EXPECT_TRUE(tu_header(&r, "connection", conn, sizeof conn) && strcmp(conn, "close") == 0);
            tu_resp_free(&r);
        } else {
            WF_EXPECT_TRUE(tu_closed(&c, 5000));   /* the grace ran out while it still ran */
            tu_gate_open(&handler_gate);
        }
        WF_EXPECT_EQ_INT(wf_wait(app), 0);
        WF_EXPECT_EQ_INT(atomic_load(&closed_), 1);
        wf_app_free(app);
        tu_close(&c);
    }
}

/* The test client runs a blocking route inline (as Starlette's TestClient waits for its threadpool),
   without calling it slow. */
WF_TEST(blocking_route_in_the_test_client) {
    wf_app *app = blocking_app();
    wf_test_client *tc = wf_test_client_new(app, &(wf_config){.no_access_log = true, .log = tu_log});
    char body[256];
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/sleep?ms=150", NULL, NULL, body, sizeof body), 200);
    WF_EXPECT_TRUE(strstr(body, "\"peer\":\"testclient:50000\"") != NULL);
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/sleep?ms=abc", NULL, NULL, body, sizeof body), 422);
    WF_EXPECT_EQ_INT(atomic_load(&closed_), 2);
    WF_EXPECT_TRUE(tu_log_count("held its loop") == 0);
    wf_test_client_free(tc);
    wf_app_free(app);
}

/* A peer that half-closes and then resets leaves a socket that reads as end of stream and reports a
   hang-up forever: the server must close it, not poll it in a loop, while a worker holds the
   request (and also under an idle stream). The request's cleanup still runs once. */
WF_TEST(blocking_route_reset_after_fin_does_not_spin) {
    wf_app *app = blocking_app();
    atomic_store(&idle_calls, 0);
    int port = tu_serve(app, &(wf_config){.threads = 1, .workers = 2, .log = tu_log});
    const char *const reqs[] = {"GET /wait HTTP/1.1\r\nHost: x\r\n\r\n",
                                "GET /idle-stream HTTP/1.1\r\nHost: x\r\n\r\n"};
    for (int i = 0; i < 2; i++) {
        tu_conn c;
        WF_ASSERT_EQ_INT(tu_connect(&c, port), 0);
        tu_sends(&c, reqs[i]);
        /* the request is on the worker (held there), or the stream is open */
        if (i == 0) WF_ASSERT_TRUE(tu_gate_arrivals(&handler_gate, 1, 5000));
        else WF_ASSERT_TRUE(tu_wait_atomic(&idle_calls, 1, 5000));
        shutdown(c.fd, SHUT_WR);
        usleep(50000);                          /* the loop may see the FIN alone first; either way */
        tu_reset(&c);                           /* a reset, after the FIN */
        double cpu0 = tu_cpu_seconds();
        usleep(500000);
        double used = tu_cpu_seconds() - cpu0;
        wf_test_log("%s: %.3f s of CPU in the 0.5 s after the reset", i ? "idle stream" : "blocking request",
                    used);
        WF_EXPECT_TRUE(used < 0.25);
        tu_gate_open(&handler_gate);
        tu_resp r;
        WF_EXPECT_EQ_INT(tu_request(port, "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n", &r), 200);
        tu_resp_free(&r);
    }
    WF_EXPECT_TRUE(wait_closed(1, 5000));
    tu_stop(app);
    WF_EXPECT_EQ_INT(atomic_load(&closed_), 1);
}

/* A blocking request's place against max_jobs is free once its response has come: with room for one
   job, requests one after the other on a connection are never refused. */
WF_TEST(blocking_route_slot_free_once_answered) {
    wf_app *app = blocking_app();
    int port = tu_serve(app, &(wf_config){.threads = 1, .workers = 1, .max_jobs = 1, .log = tu_log});
    tu_conn c;
    tu_resp r;
    int refused = 0, n = 2000;
    WF_ASSERT_EQ_INT(tu_connect(&c, port), 0);
    for (int i = 0; i < n; i++) {
        tu_sends(&c, "GET /sleep?ms=0 HTTP/1.1\r\nHost: x\r\n\r\n");
        int st = tu_read(&c, &r, false, 5000);
        WF_ASSERT_GT_INT(st, 0);
        refused += st != 200;
        tu_resp_free(&r);
    }
    wf_test_log("%d of %d refused", refused, n);
    WF_EXPECT_EQ_INT(refused, 0);
    tu_close(&c);
    tu_stop(app);
}

/* A blocking handler cannot write to the connection itself (a stream's producer runs on the loop). */
WF_TEST(blocking_route_cannot_write_the_connection) {
    wf_app *app = blocking_app();
    int port = tu_serve(app, &(wf_config){.threads = 1, .workers = 2, .log = tu_log});
    tu_resp r;
    char want[32];
    snprintf(want, sizeof want, "{\"rc\":%d}", WF_EINVAL);
    WF_EXPECT_EQ_INT(tu_request(port, "GET /write HTTP/1.1\r\nHost: x\r\n\r\n", &r), 200);
    WF_EXPECT_EQ_STR(r.body, want);
    tu_resp_free(&r);
    tu_stop(app);
}

/* One worker busy with a task: a blocking request queued behind a second task goes first (a client
   waits for it; tasks can wait), and one whose client has reset meanwhile is not run. The reset
   comes in the worst case: the loop thread is held while the request and the reset both arrive,
   so it finds them in one wake-up (Linux still hands out the request's bytes after a reset, and
   reports the error only on the next read). */
WF_TEST(blocking_route_before_tasks_and_skipped_when_its_client_left) {
    wf_app *app = blocking_app();
    atomic_store(&closed_by_client, 0);
    int port = tu_serve(app, &(wf_config){.threads = 1, .workers = 1, .log = tu_log,
                                          .access_log = count_499});
    tu_conn c, h, gone;
    tu_resp r;
    WF_ASSERT_EQ_INT(tu_connect(&c, port), 0);
    WF_ASSERT_EQ_INT(tu_connect(&h, port), 0);
    WF_ASSERT_EQ_INT(tu_connect(&gone, port), 0);
    tu_peer p = tu_server_end(&gone);
    WF_ASSERT_TRUE(p.inode != 0);
    for (int i = 0; i < 2; i++) {               /* two tasks: one runs (held at its gate), one waits */
        tu_sends(&c, "GET /task HTTP/1.1\r\nHost: x\r\n\r\n");
        WF_ASSERT_EQ_INT(tu_read(&c, &r, false, 5000), 200);
        WF_EXPECT_EQ_STR(r.body, "{\"rc\":0}");
        tu_resp_free(&r);
    }
    WF_ASSERT_TRUE(tu_gate_arrivals(&task_gate, 1, 5000));
    tu_sends(&h, "GET /hold-loop HTTP/1.1\r\nHost: x\r\n\r\n");
    WF_ASSERT_TRUE(tu_gate_arrivals(&loop_gate, 1, 5000));     /* the loop thread is held */
    tu_sends(&gone, "GET /sleep?ms=0 HTTP/1.1\r\nHost: x\r\n\r\n");
    WF_ASSERT_TRUE(tu_server_received(&gone, 5000));
    tu_reset(&gone);
    WF_ASSERT_TRUE(tu_server_reset_seen(&p, 5000));           /* request and reset both there, unread */
    tu_gate_open(&loop_gate);
    WF_ASSERT_EQ_INT(tu_read(&h, &r, false, 5000), 200);
    tu_resp_free(&r);
    /* the loop must notice the reset and let the connection go, though a worker holds its request */
    WF_EXPECT_TRUE(tu_server_released(&p, 5000));
    /* a blocking request on a live connection, queued behind the skipped one and ahead of the task;
       the loop has read it, and a round trip on the loop shows it has been handed over */
    tu_sends(&c, "GET /sleep?ms=0 HTTP/1.1\r\nHost: x\r\n\r\n");
    WF_ASSERT_TRUE(tu_server_read_all(&c, 5000));
    tu_sends(&h, "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n");
    WF_ASSERT_EQ_INT(tu_read(&h, &r, false, 5000), 200);
    tu_resp_free(&r);
    tu_gate_open(&task_gate);                   /* the worker goes on to what is queued */
    WF_ASSERT_EQ_INT(tu_read(&c, &r, false, 5000), 200);
    tu_resp_free(&r);
    WF_EXPECT_TRUE(tu_wait_atomic(&tasks_started, 2, 5000));
    wf_test_log("started in this order: task %d, blocking request %d, task %d",
                atomic_load(&task_started_at[0]),
                atomic_load(&sleep_started_at), atomic_load(&task_started_at[1]));
    /* before the task */
    WF_EXPECT_LT_INT(atomic_load(&sleep_started_at), atomic_load(&task_started_at[1]));
    tu_close(&c);
    tu_close(&h);
    tu_stop(app);
    WF_EXPECT_EQ_INT(atomic_load(&opened), 1); /* the reset one never ran its dependency */
    WF_EXPECT_EQ_INT(atomic_load(&closed_), 1);
    WF_EXPECT_EQ_INT(atomic_load(&closed_by_client), 1);   /* it is logged as 499 */
}
