/* Background tasks: order, after the response, failures, the test client, and shutdown draining. */
#define _GNU_SOURCE
#include "util.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char tlog[1024];
static atomic_int freed;

static int append(void *arg) {
    pthread_mutex_lock(&mu);
    size_t n = strlen(tlog);
    snprintf(tlog + n, sizeof tlog - n, "%s%s", n ? "," : "", (const char *)arg);
    pthread_mutex_unlock(&mu);
    return 0;
}

/* A slow task: it waits until the test lets one more through (task_permits), then appends. */
static pthread_cond_t permit_cv = PTHREAD_COND_INITIALIZER;
static int task_permits, tasks_waiting, tasks_arrived;

static int slow_append(void *arg) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 8;
    pthread_mutex_lock(&mu);
    tasks_waiting++;
    tasks_arrived++;
    pthread_cond_broadcast(&permit_cv);
    while (task_permits == 0 && pthread_cond_timedwait(&permit_cv, &mu, &until) == 0) {
    }
    if (task_permits > 0) task_permits--;
    tasks_waiting--;
    pthread_mutex_unlock(&mu);
    return append(arg);
}

static void permit_tasks(int n) {
    pthread_mutex_lock(&mu);
    task_permits += n;
    pthread_cond_broadcast(&permit_cv);
    pthread_mutex_unlock(&mu);
}

/* Wait until n slow tasks have started (and asked for a permit). */
static bool tasks_started(int n, int timeout_ms) {
    long long deadline = tu_ms() + timeout_ms;
    bool ok;
    pthread_mutex_lock(&mu);
    while (!(ok = tasks_arrived >= n) && tu_ms() < deadline) {
        pthread_mutex_unlock(&mu);
        usleep(1000);
        pthread_mutex_lock(&mu);
    }
    pthread_mutex_unlock(&mu);
    return ok;
}

static bool tlog_has(const char *what, int timeout_ms) {
    long long deadline = tu_ms() + timeout_ms;
    bool done;
    for (;;) {
        pthread_mutex_lock(&mu);
        done = strstr(tlog, what) != NULL;
        pthread_mutex_unlock(&mu);
        if (done || tu_ms() >= deadline) return done;
        usleep(1000);
    }
}

static int failing(void *arg) {
    (void)arg;
    return 7;
}

static void count_free(void *arg) {
    (void)arg;
    atomic_fetch_add(&freed, 1);
}

static void h_process(wf_req *req, wf_res *res) {
    wf_add_task(req, "one", append, "task one", count_free);
    wf_add_task(req, "broken", failing, NULL, count_free);
    wf_add_task(req, "two", append, "task two", count_free);
    wf_add_task(req, "three", append, "task three", count_free);
    wf_reply_json(res, 200, "{s:s}", "status", "processing");
}

static void h_slow_task(wf_req *req, wf_res *res) {
    wf_add_task(req, "slow", slow_append, "slow done", NULL);
    wf_reply_text(res, 200, "queued");
}

static wf_app *task_app(void) {
    wf_app *app = wf_app_new();
    wf_post(app, "/process/", h_process);
    wf_get(app, "/slow-task", h_slow_task);
    return app;
}

WF_TEST(tasks_run_in_order_in_the_test_client) {
    wf_app *app = task_app();
    wf_test_client *tc = wf_test_client_new(app, &(wf_config){.no_access_log = true, .log = tu_log});
    wf_test_req rq = {.method = "POST", .path = "/process/"};
    wf_test_res r;
    tlog[0] = 0, tu_log_clear();
    atomic_store(&freed, 0);
    WF_ASSERT_EQ_INT(wf_test_request(tc, &rq, &r), 0);
    WF_EXPECT_EQ_STR(r.body, "{\"status\":\"processing\"}");
    wf_test_res_free(&r);
    /* already done when the request returns, as Starlette's TestClient does */
    WF_EXPECT_EQ_STR(tlog, "task one,task two,task three");
    WF_EXPECT_TRUE(tu_log_count("background task broken failed (7)") == 1);
    WF_EXPECT_EQ_INT(atomic_load(&freed), 4);
    wf_test_client_free(tc);
    wf_app_free(app);
}

WF_TEST(tasks_after_the_response_on_the_pool) {
    wf_app *app = task_app();
    int port = tu_serve(app, &(wf_config){.workers = 2, .log = tu_log});
    tu_resp r;
    tlog[0] = 0;
    task_permits = tasks_arrived = 0;
    WF_ASSERT_EQ_INT(tu_request(port, "GET /slow-task HTTP/1.1\r\nHost: x\r\n\r\n", &r), 200);
    tu_resp_free(&r);
    pthread_mutex_lock(&mu);
    WF_EXPECT_EQ_STR(tlog, "");                 /* answered while the task waits for its permit */
    pthread_mutex_unlock(&mu);
    WF_EXPECT_TRUE(tasks_started(1, 5000));     /* it runs, on a worker, and holds it */
    /* several requests' tasks keep each request's own order, on the other worker one request
       after the other */
    for (int i = 0; i < 5; i++) {
        WF_ASSERT_EQ_INT(tu_request(port, "POST /process/ HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
                                    &r), 200);
        tu_resp_free(&r);
    }
    long long deadline = tu_ms() + 5000;
    while (tu_ms() < deadline) {
        int threes = 0;
        pthread_mutex_lock(&mu);
        for (const char *p = tlog; (p = strstr(p, "task three")) != NULL; p++) threes++;
        pthread_mutex_unlock(&mu);
        if (threes == 5) break;
        usleep(1000);
    }
    permit_tasks(1);
    WF_EXPECT_TRUE(tlog_has("slow done", 5000));
    tu_stop(app);                               /* drains the queue */
    int ones = 0;
    for (const char *p = tlog; (p = strstr(p, "task one,task two,task three")) != NULL; p++) ones++;
    WF_EXPECT_EQ_INT(ones, 5);
    WF_EXPECT_TRUE(strstr(tlog, ",slow done") != NULL);   /* last: its worker was held till then */
}

static void *wait_for(void *app) {
    wf_wait((wf_app *)app);
    return NULL;
}

/* Five slow tasks on one worker, then wf_stop: the queued ones may start until the grace ends (the
   second does), what is still queued then is dropped and logged by name (the other three), and
   wf_wait waits for the one running. */
WF_TEST(tasks_shutdown_drains_then_drops_by_name) {
    wf_app *app = task_app();
    int port = tu_serve(app, &(wf_config){.workers = 1, .shutdown_grace_ms = 1000, .log = tu_log});
    tu_resp r;
    tlog[0] = 0, tu_log_clear();
    task_permits = tasks_arrived = 0;
    for (int i = 0; i < 5; i++) {
        WF_ASSERT_EQ_INT(tu_request(port, "GET /slow-task HTTP/1.1\r\nHost: x\r\n\r\n", &r), 200);
        tu_resp_free(&r);
    }
    WF_ASSERT_TRUE(tasks_started(1, 5000));     /* the first runs, four wait */
    wf_stop(app);
    pthread_t waiter;
    WF_ASSERT_EQ_INT(pthread_create(&waiter, NULL, wait_for, app), 0);
    permit_tasks(1);                            /* the first ends within the grace; the second starts */
    WF_EXPECT_TRUE(tasks_started(2, 5000));
    /* the grace runs out while the second still runs: the three left are dropped, by name */
    long long deadline = tu_ms() + 5000;
    while (tu_log_count("background task slow dropped at shutdown") < 3 && tu_ms() < deadline) usleep(1000);
    permit_tasks(1);
    pthread_join(waiter, NULL);
    wf_app_free(app);
    int done = 0, dropped = tu_log_count("background task slow dropped at shutdown");
    for (const char *p = tlog; (p = strstr(p, "slow done")) != NULL; p++) done++;
    wf_test_log("%d tasks ran, %d dropped and logged", done, dropped);
    WF_EXPECT_EQ_INT(done, 2);
    WF_EXPECT_EQ_INT(dropped, 3);
    WF_EXPECT_EQ_INT(tasks_arrived, 2);         /* a dropped task never starts */
}

static void h_blocking_sleep(wf_req *req, wf_res *res) {
    (void)req;
    usleep(150000);                             /* holds the loop: reported */
    wf_reply_text(res, 200, "slept");
}

WF_TEST(slow_inline_handler_is_reported_with_its_route) {
    wf_app *app = wf_app_new();
    wf_get(app, "/sleepy/{n}", h_blocking_sleep);
    wf_test_client *tc = wf_test_client_new(app, &(wf_config){.no_access_log = true, .log = tu_log});
    wf_test_res r;
    tu_log_clear();
    WF_ASSERT_EQ_INT(wf_test_get(tc, "/sleepy/1", &r), 0);
    wf_test_res_free(&r);
    /* the route's pattern, and at least the 150 ms it slept (more on a busy machine) */
    WF_EXPECT_TRUE(tu_log_count("GET /sleepy/{n} held its loop thread for ") == 1);
    WF_EXPECT_GE_INT(tu_log_number_after("GET /sleepy/{n} held its loop thread for "), 150);
    wf_test_client_free(tc);
    wf_app_free(app);
}

/* A stream's cleanups and tasks wait for its last chunk: the producer holds the stream open until
   the test releases it, and nothing runs before. */
static atomic_int release_stream, stream_step;

static void note_cleanup(void *arg) { append(arg); }

static int held_stream(wf_res *res, void *user) {
    (void)user;
    int step = atomic_load(&stream_step);
    if (step == 0) {
        atomic_store(&stream_step, 1);
        return wf_res_write(res, "first\n", 6) < 0 ? -1 : 1;
    }
    if (!atomic_load(&release_stream)) return 1;    /* nothing yet: called again a little later */
    if (step == 1) {
        atomic_store(&stream_step, 2);
        return wf_res_write(res, "last\n", 5) < 0 ? -1 : 1;
    }
    return 0;
}

static void h_held_stream(wf_req *req, wf_res *res) {
    wf_defer(req, note_cleanup, "cleanup");
    wf_add_task(req, "after-stream", append, "task", NULL);
    wf_res_stream(res, held_stream, NULL, NULL);
}

/* Read from c until want appears in what has arrived (true), or timeout. */
static bool read_until(tu_conn *c, char *got, size_t cap, const char *want, int timeout_ms) {
    size_t n = strlen(got);
    long long t0 = tu_ms();
    while (!strstr(got, want) && tu_ms() - t0 < timeout_ms && n + 1 < cap) {
        struct pollfd p = {c->fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0) continue;
        ssize_t r = recv(c->fd, got + n, cap - 1 - n, 0);
        if (r <= 0) break;
        n += (size_t)r;
        got[n] = 0;
    }
    return strstr(got, want) != NULL;
}

WF_TEST(tasks_and_cleanups_wait_for_a_streams_last_chunk) {
    wf_app *app = wf_app_new();
    wf_get(app, "/held", h_held_stream);
    int port = tu_serve(app, &(wf_config){.workers = 2, .log = tu_log});
    tu_conn c;
    char got[4096] = "";
    tlog[0] = 0;
    atomic_store(&release_stream, 0);
    atomic_store(&stream_step, 0);
    WF_ASSERT_EQ_INT(tu_connect(&c, port), 0);
    tu_sends(&c, "GET /held HTTP/1.1\r\nHost: x\r\n\r\n");
    WF_ASSERT_TRUE(read_until(&c, got, sizeof got, "first\n", 5000));
    usleep(200000);                             /* the stream is open: nothing may have run */
    pthread_mutex_lock(&mu);
    WF_EXPECT_EQ_STR(tlog, "");
    pthread_mutex_unlock(&mu);
    atomic_store(&release_stream, 1);
    WF_ASSERT_TRUE(read_until(&c, got, sizeof got, "last\n\r\n0\r\n\r\n", 5000));
    WF_EXPECT_TRUE(tlog_has("task", 5000));
    pthread_mutex_lock(&mu);
    WF_EXPECT_EQ_STR(tlog, "cleanup,task");     /* cleanups first, then the tasks */
    pthread_mutex_unlock(&mu);
    tu_close(&c);
    tu_stop(app);
}

/* ---- a request that fails runs none of its tasks (FastAPI: tasks belong to the returned response) ---- */

static atomic_int fail_runs, fail_frees;

static int count_run(void *arg) {
    (void)arg;
    atomic_fetch_add(&fail_runs, 1);
    return 0;
}

static void count_fail_free(void *arg) {
    (void)arg;
    atomic_fetch_add(&fail_frees, 1);
}

static void add_counted(wf_req *req) {
    if (wf_add_task(req, "counted", count_run, NULL, count_fail_free) != 0) wf_fail(req, "no task");
}

/* ?how=raise|fail|invalid|reply400|ok: the handler adds a task, then ends that way */
static void h_then(wf_req *req, wf_res *res) {
    add_counted(req);
    wf_str how = wf_param(req, WF_IN_QUERY, "how");
    if (wf_str_eq(how, "raise")) wf_raise(req, 404, "Item not found");
    if (wf_str_eq(how, "fail")) wf_fail(req, "on purpose");
    if (wf_str_eq(how, "invalid")) (void)wf_param_int(req, WF_IN_QUERY, "n", "required");
    if (wf_str_eq(how, "reply400")) {
        wf_reply_detail(res, 400, "bad, but returned");
        return;
    }
    wf_reply_text(res, 200, "ok");
}

/* a group dependency that adds a task and raises before the handler runs */
WF_DEPENDENCY(int *, task_then_raise) {
    add_counted(req);
    wf_raise(req, 401, "Not authenticated");
}

static void h_never(wf_req *req, wf_res *res) {
    (void)req;
    wf_reply_text(res, 200, "unreachable");
}

/* a middleware that raises after the handler returned normally (with its task added) */
static void mw_raise_after(wf_req *req, wf_res *res, void *user) {
    (void)user;
    wf_next(req, res);
    if (wf_str_eq(wf_req_path(req), "/mw")) wf_raise(req, 500, "middleware failed");
}

static wf_app *failing_app(void) {
    wf_app *app = wf_app_new();
    wf_get(app, "/then", h_then);
    wf_get(app, "/mw", h_then);
    wf_group *g = wf_group_new(app, "/guarded");
    wf_group_depends(g, &task_then_raise);
    wf_group_get(g, "/x", h_never);
    wf_use(app, mw_raise_after, NULL);
    return app;
}

WF_TEST(tasks_of_a_failed_request_do_not_run) {
    static const struct { const char *path; int status; int runs; } cases[] = {
        {"/then?how=raise", 404, 0},     {"/then?how=fail", 500, 0},   {"/then?how=invalid", 422, 0},
        {"/guarded/x", 401, 0},          {"/mw?how=ok", 500, 0},       {"/then?how=reply400", 400, 1},
        {"/then?how=ok", 200, 1},
    };
    wf_app *app = failing_app();
    wf_test_client *tc = wf_test_client_new(app, &(wf_config){.no_access_log = true, .log = tu_log});
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        atomic_store(&fail_runs, 0);
        atomic_store(&fail_frees, 0);
        wf_test_res r;
        WF_ASSERT_EQ_INT(wf_test_get(tc, cases[i].path, &r), 0);
        wf_test_log("%s -> %d", cases[i].path, r.status);
        WF_EXPECT_EQ_INT(r.status, cases[i].status);
        WF_EXPECT_EQ_INT(atomic_load(&fail_runs), cases[i].runs);
        WF_EXPECT_EQ_INT(atomic_load(&fail_frees), 1);      /* run or not, its argument is freed once */
        wf_test_res_free(&r);
    }
    wf_test_client_free(tc);
    wf_app_free(app);
}

/* The same over a socket, with the worker pool: a dropped task is freed when its request ends (on
   the loop), a kept one after it ran on a worker; both are waited for, not timed. */
WF_TEST(tasks_of_a_failed_request_do_not_run_on_the_pool) {
    wf_app *app = failing_app();
    int port = tu_serve(app, &(wf_config){.workers = 2, .log = tu_log});
    static const struct { const char *path; int status; int runs; } cases[] = {
        {"/then?how=raise", 404, 0}, {"/then?how=invalid", 422, 0}, {"/guarded/x", 401, 0},
        {"/then?how=reply400", 400, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char raw[256];
        tu_resp r;
        atomic_store(&fail_runs, 0);
        atomic_store(&fail_frees, 0);
        snprintf(raw, sizeof raw, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", cases[i].path);
        WF_ASSERT_EQ_INT(tu_request(port, raw, &r), cases[i].status);
        tu_resp_free(&r);
        long long until = tu_ms() + 5000;           /* bounded: freed means run or dropped */
        while (atomic_load(&fail_frees) == 0 && tu_ms() < until) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
        wf_test_log("%s: %d run, %d freed", cases[i].path, atomic_load(&fail_runs), atomic_load(&fail_frees));
        WF_EXPECT_EQ_INT(atomic_load(&fail_frees), 1);
        WF_EXPECT_EQ_INT(atomic_load(&fail_runs), cases[i].runs);
    }
    tu_stop(app);
}
