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

static int slow_append(void *arg) {
    usleep(300000);
    return append(arg);
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
    long long t0 = tu_ms();
    WF_ASSERT_EQ_INT(tu_request(port, "GET /slow-task HTTP/1.1\r\nHost: x\r\n\r\n", &r), 200);
    long long took = tu_ms() - t0;
    tu_resp_free(&r);
    wf_test_log("response after %lld ms while the task takes 300", took);
    WF_EXPECT_LT_INT(took, 200);
    pthread_mutex_lock(&mu);
    WF_EXPECT_EQ_STR(tlog, "");                 /* the task has not finished yet */
    pthread_mutex_unlock(&mu);
    /* several requests' tasks keep each request's own order */
    for (int i = 0; i < 5; i++) {
        WF_ASSERT_EQ_INT(tu_request(port, "POST /process/ HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", &r), 200);
        tu_resp_free(&r);
    }
    long long t1 = tu_ms();
    while (tu_ms() - t1 < 3000) {
        pthread_mutex_lock(&mu);
        bool done = strstr(tlog, "slow done") != NULL;
        pthread_mutex_unlock(&mu);
        if (done) break;
        usleep(10000);
    }
    tu_stop(app);                               /* drains the queue */
    WF_EXPECT_TRUE(strstr(tlog, "slow done") != NULL);
    int ones = 0;
    for (const char *p = tlog; (p = strstr(p, "task one,task two,task three")) != NULL; p++) ones++;
    WF_EXPECT_EQ_INT(ones, 5);
}

WF_TEST(tasks_shutdown_drains_then_drops_by_name) {
    wf_app *app = task_app();
    int port = tu_serve(app, &(wf_config){.workers = 1, .shutdown_grace_ms = 500, .log = tu_log});
    tu_resp r;
    tlog[0] = 0, tu_log_clear();
    for (int i = 0; i < 5; i++) {               /* 5 x 300 ms on one worker: the grace covers 2 */
        WF_ASSERT_EQ_INT(tu_request(port, "GET /slow-task HTTP/1.1\r\nHost: x\r\n\r\n", &r), 200);
        tu_resp_free(&r);
    }
    long long t0 = tu_ms();
    tu_stop(app);
    long long took = tu_ms() - t0;
    int done = 0, dropped = tu_log_count("background task slow dropped at shutdown");
    for (const char *p = tlog; (p = strstr(p, "slow done")) != NULL; p++) done++;
    wf_test_log("shutdown took %lld ms: %d tasks ran, %d dropped and logged", took, done, dropped);
    WF_EXPECT_EQ_INT(done + dropped, 5);        /* none lost silently */
    WF_EXPECT_GE_INT(done, 1);
    WF_EXPECT_GE_INT(dropped, 1);
    WF_EXPECT_LT_INT(took, 1500);
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
    WF_EXPECT_TRUE(tu_log_count("GET /sleepy/{n} held its loop thread for 1") == 1);
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
    WF_ASSERT_TRUE(read_until(&c, got, sizeof got, "first\n", 2000));
    usleep(200000);                             /* the stream is open: nothing may have run */
    pthread_mutex_lock(&mu);
    WF_EXPECT_EQ_STR(tlog, "");
    pthread_mutex_unlock(&mu);
    atomic_store(&release_stream, 1);
    WF_ASSERT_TRUE(read_until(&c, got, sizeof got, "last\n\r\n0\r\n\r\n", 2000));
    long long t0 = tu_ms();
    while (tu_ms() - t0 < 2000) {
        pthread_mutex_lock(&mu);
        bool done = strstr(tlog, "task") != NULL;
        pthread_mutex_unlock(&mu);
        if (done) break;
        usleep(5000);
    }
    WF_EXPECT_EQ_STR(tlog, "cleanup,task");     /* cleanups first, then the tasks */
    tu_close(&c);
    tu_stop(app);
}
