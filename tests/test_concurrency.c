/* Concurrency and faults (issue 12): each test reproduces a point of the reliability audit. */
#define _GNU_SOURCE
#include "util.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void h_ok(wf_req *req, wf_res *res) {
    (void)req;
    wf_reply_text(res, 200, "ok");
}

/* 12.6: with max_jobs = 1, a blocking request's slot is free before its response goes out, so the
   client's next request (sent the moment the response arrives) never finds the pool full. */
WF_TEST(concurrency_blocking_slot_is_free_before_the_response) {
    wf_app *app = wf_app_new();
    wf_route_opts blocking = {.blocking = true};
    wf_route(app, "GET", "/b", h_ok, &blocking);
    wf_config cfg = {.max_jobs = 1, .workers = 1, .no_access_log = true};
    int port = tu_serve(app, &cfg);
    tu_conn c;
    WF_ASSERT_EQ_INT(tu_connect(&c, port), 0);
    int refused = 0, answered = 0;
    for (int i = 0; i < 2000; i++) {
        tu_resp r;
        WF_ASSERT_EQ_INT(tu_sends(&c, "GET /b HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
        int st = tu_read(&c, &r, false, 5000);
        refused += st == 503;
        answered += st == 200;
        tu_resp_free(&r);
    }
    tu_close(&c);
    WF_EXPECT_EQ_INT(refused, 0);
    WF_EXPECT_EQ_INT(answered, 2000);
    tu_stop(app);
}

/* 12.7: wf_start on a running app is refused before it binds anything: no connection to the live
   port is reset by listeners that come and go while a client keeps requesting. */
static atomic_int hammer_stop, hammer_failed, hammer_done;
static void *hammer(void *arg) {
    int port = *(int *)arg;
    while (!atomic_load(&hammer_stop)) {
        tu_resp r;
        memset(&r, 0, sizeof r);
        bool ok = tu_request(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", &r) == 200;
        atomic_fetch_add(ok ? &hammer_done : &hammer_failed, 1);
        tu_resp_free(&r);
    }
    return NULL;
}

WF_TEST(concurrency_start_twice_is_refused_first) {
    wf_app *app = wf_app_new();
    wf_get(app, "/", h_ok);
    wf_config cfg = {.port = WF_PORT_ANY, .threads = 1, .no_access_log = true};
    int port = wf_start(app, &cfg);
    WF_ASSERT_GT_INT(port, 0);
    pthread_t t[2];
    for (int i = 0; i < 2; i++) WF_ASSERT_EQ_INT(pthread_create(&t[i], NULL, hammer, &port), 0);
    wf_config again = {.port = port, .threads = 4, .no_access_log = true, .share_port = true};
    /* 300 calls spread over the clients' requests (the old code failed hundreds of them) */
    for (int i = 0; i < 300; i++) {
        WF_EXPECT_EQ_INT(wf_start(app, &again), WF_EBUSY);
        usleep(200);
    }
    atomic_store(&hammer_stop, 1);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    wf_test_log("%d requests answered, %d failed", atomic_load(&hammer_done), atomic_load(&hammer_failed));
    WF_EXPECT_EQ_INT(atomic_load(&hammer_failed), 0);
    wf_stop(app);
    wf_wait(app);
    wf_app_free(app);
}

/* 12.9: a stream set twice frees the first one's state (once), and the second's at the end. */
static int freed[2];
static void free_state(void *p) { freed[*(int *)p]++; }
static int produce_once(wf_res *res, void *user) {
    (void)user;
    wf_res_write(res, "data", 4);
    return 0;
}

static void h_stream_twice(wf_req *req, wf_res *res) {
    (void)req;
    static int first = 0, second = 1;
    wf_res_stream(res, produce_once, &first, free_state);
    wf_res_stream(res, produce_once, &second, free_state);
}

WF_TEST(concurrency_stream_set_twice_frees_the_first) {
    wf_app *app = wf_app_new();
    wf_get(app, "/s", h_stream_twice);
    wf_test_client *tc = wf_test_client_new(app, NULL);
    wf_test_res r;
    WF_ASSERT_EQ_INT(wf_test_get(tc, "/s", &r), 0);
    WF_EXPECT_EQ_STR(r.body, "data");
    wf_test_res_free(&r);
    wf_test_client_free(tc);
    wf_app_free(app);
    WF_EXPECT_EQ_INT(freed[0], 1);
    WF_EXPECT_EQ_INT(freed[1], 1);
}

/* 12.2 and 12.3: an app-scoped dependency that builds another, registers a cleanup, then raises: the
   other is built once and kept (its cleanup at shutdown); the failing one's cleanup runs when its
   build fails, once per failed build, as a failure, so retries do not pile descriptors up. */
static int inner_built, inner_closed, outer_closed, outer_failed_seen;
static void close_inner(void *arg) {
    (void)arg;
    inner_closed++;
}

static void close_outer(void *arg, const wf_outcome *o) {
    (void)arg;
    outer_closed++;
    outer_failed_seen += o->failed && o->status == 503;
}

WF_DEPENDENCY_APP(int *, inner_pool) {
    static int value = 7;
    inner_built++;
    wf_defer(req, close_inner, NULL);
    return &value;
}

WF_DEPENDENCY_APP(int *, outer_db) {
    int *pool = WF_DEPENDS(req, inner_pool);
    wf_defer_outcome(req, close_outer, NULL);
    wf_raise(req, 503, "database is down");
    return pool;
}

static void h_uses_db(wf_req *req, wf_res *res) {
    WF_DEPENDS(req, outer_db);
    wf_reply_text(res, 200, "unreachable");
}

WF_TEST(concurrency_failed_app_build_undoes_itself) {
    wf_app *app = wf_app_new();
    wf_get(app, "/db", h_uses_db);
    wf_test_client *tc = wf_test_client_new(app, NULL);
    for (int i = 0; i < 1000; i++) {
        wf_test_res r;
        WF_ASSERT_EQ_INT(wf_test_get(tc, "/db", &r), 0);
        WF_ASSERT_EQ_INT(r.status, 503);
        wf_test_res_free(&r);
        WF_ASSERT_EQ_INT(outer_closed, i + 1);       /* at once, not at shutdown */
    }
    WF_EXPECT_EQ_INT(inner_built, 1);
    WF_EXPECT_EQ_INT(inner_closed, 0);
    WF_EXPECT_EQ_INT(outer_failed_seen, 1000);
    wf_test_client_free(tc);                         /* shutdown: the kept value's cleanup, once */
    WF_EXPECT_EQ_INT(inner_closed, 1);
    WF_EXPECT_EQ_INT(outer_closed, 1000);
    wf_app_free(app);
}

/* 12.8: a stream's state is freed before the request's cleanups and tasks, whether the stream
   completes or its client goes away mid-stream (FastAPI closes the generator, then exits the
   dependencies). */
static pthread_mutex_t order_mu = PTHREAD_MUTEX_INITIALIZER;
static char order[64];
static void note(const char *what) {
    pthread_mutex_lock(&order_mu);
    strncat(order, what, sizeof order - strlen(order) - 1);
    pthread_mutex_unlock(&order_mu);
}

static void order_cleanup(void *arg) {
    (void)arg;
    note("C");
}

static void order_stream_free(void *arg) {
    (void)arg;
    note("S");
}

static int order_task(void *arg) {
    (void)arg;
    note("T");
    return 0;
}

WF_DEPENDENCY(int *, order_dep) {
    static int v;
    wf_defer(req, order_cleanup, NULL);
    return &v;
}

static int produce_forever(wf_res *res, void *user) {
    (void)user;
    static char block[16384];
    return wf_res_write(res, block, sizeof block) == 0 ? 1 : -1;
}

static void h_ordered(wf_req *req, wf_res *res) {
    WF_DEPENDS(req, order_dep);
    wf_add_task(req, "t", order_task, NULL, NULL);
    bool forever = wf_param(req, WF_IN_QUERY, "forever").ptr != NULL;
    wf_res_stream(res, forever ? produce_forever : produce_once, NULL, order_stream_free);
}

WF_TEST(concurrency_stream_state_goes_before_cleanups) {
    wf_app *app = wf_app_new();
    wf_get(app, "/o", h_ordered);
    wf_test_client *tc = wf_test_client_new(app, NULL);
    wf_test_res r;
    WF_ASSERT_EQ_INT(wf_test_get(tc, "/o", &r), 0);
    wf_test_res_free(&r);
    WF_EXPECT_EQ_STR(order, "SCT");
    wf_test_client_free(tc);
    order[0] = 0;
    int port = tu_serve(app, NULL);                 /* a client that leaves mid-stream */
    tu_conn c;
    WF_ASSERT_EQ_INT(tu_connect(&c, port), 0);
    WF_ASSERT_EQ_INT(tu_sends(&c, "GET /o?forever=1 HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
    char buf[4096];
    WF_ASSERT_TRUE(recv(c.fd, buf, sizeof buf, 0) > 0);
    tu_close(&c);
    for (int i = 0; i < 5000; i++) {                /* bounded: the server sees the close */
        pthread_mutex_lock(&order_mu);
        bool done = strchr(order, 'T') != NULL;
        pthread_mutex_unlock(&order_mu);
        if (done) break;
        usleep(1000);
    }
    tu_stop(app);
    WF_EXPECT_EQ_STR(order, "SCT");
}

/* 12.11: when the grace period ends, the blocking requests no worker has started get a 503 (the old
   code closed their connections with no answer); the one running keeps its worker, but its
   connection closes unanswered. */
static tu_gate hold = TU_GATE_INIT;
static void h_hold(wf_req *req, wf_res *res) {
    (void)req;
    tu_gate_pass(&hold, 20000);
    wf_reply_text(res, 200, "late");
}

WF_TEST(concurrency_queued_blocking_requests_get_503_at_grace_end) {
    wf_app *app = wf_app_new();
    wf_route_opts blocking = {.blocking = true};
    wf_route(app, "GET", "/hold", h_hold, &blocking);
    wf_config cfg = {.workers = 1, .shutdown_grace_ms = 300, .log = tu_log};
    int port = tu_serve(app, &cfg);
    tu_conn running, queued[2];
    WF_ASSERT_EQ_INT(tu_connect(&running, port), 0);
    WF_ASSERT_EQ_INT(tu_sends(&running, "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
    WF_ASSERT_TRUE(tu_gate_arrivals(&hold, 1, 5000));          /* the one worker is busy with it */
    for (int i = 0; i < 2; i++) {
        WF_ASSERT_EQ_INT(tu_connect(&queued[i], port), 0);
        WF_ASSERT_EQ_INT(tu_sends(&queued[i], "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
        WF_ASSERT_TRUE(tu_server_read_all(&queued[i], 5000));  /* read, so queued for the worker */
    }
    wf_stop(app);
    for (int i = 0; i < 2; i++) {
        tu_resp r;
        WF_EXPECT_EQ_INT(tu_read(&queued[i], &r, false, 10000), 503);
        WF_EXPECT_TRUE(strstr(r.head, "Connection: close") != NULL);
        tu_resp_free(&r);
        WF_EXPECT_TRUE(tu_closed(&queued[i], 5000));
        tu_close(&queued[i]);
    }
    WF_EXPECT_TRUE(tu_closed(&running, 5000));
    tu_close(&running);
    tu_gate_open(&hold);
    wf_wait(app);
    wf_app_free(app);
    WF_EXPECT_EQ_INT(tu_log_count("not started within the shutdown grace period: 503"), 2);
    WF_EXPECT_EQ_INT(tu_log_count("dropped at shutdown"), 0);
}

/* A fork not yet at its exec (popen, system) holds copies of the server's sockets: close() then
   leaves a closed connection in the epoll set, which kept reporting it with its memory freed
   (ASan: heap-use-after-free in the loop). Found by the WebSocket tests (a popen during serving). */
static void h_ok2(wf_req *req, wf_res *res) {
    (void)req;
    wf_reply_text(res, 200, "ok");
}

WF_TEST(concurrency_fork_keeps_no_closed_connection_in_the_poll_set) {
    wf_app *app = wf_app_new();
    wf_get(app, "/", h_ok2);
    int port = tu_serve(app, &(wf_config){.threads = 1});
    tu_conn c;
    tu_resp r;
    WF_ASSERT_EQ_INT(tu_connect(&c, port), 0);
    WF_ASSERT_EQ_INT(tu_sends(&c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"), 0);
    WF_ASSERT_EQ_INT(tu_read(&c, &r, false, 5000), 200);      /* kept alive: now in the poll set */
    tu_resp_free(&r);
    tu_peer p = tu_server_end(&c);
    int go[2];
    WF_ASSERT_EQ_INT(pipe(go), 0);
    pid_t child = fork();                  /* as popen() or system() would, before its exec */
    if (child == 0) {
        char b;
        alarm(5);
        close(c.fd);                       /* the client end is the parent's alone */
        close(go[1]);
        while (read(go[0], &b, 1) < 0) {
        }
        _exit(0);
    }
    close(go[0]);
    tu_close(&c);                          /* the server reads the end and closes its descriptor */
    WF_EXPECT_TRUE(tu_server_released(&p, 5000));
    for (int i = 0; i < 20; i++) {         /* the loop goes round: the set must not report it */
        tu_resp r2;
        static const char get[] = "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
        WF_EXPECT_EQ_INT(tu_request(port, get, &r2), 200);
        tu_resp_free(&r2);
    }
    close(go[1]);
    waitpid(child, NULL, 0);
    tu_stop(app);
}
