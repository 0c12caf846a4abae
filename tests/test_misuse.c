/* Issue 10.9: the calls that need the request being handled (wf_raise, wf_fail, WF_DEPENDS, the
   getters, wf_guard, wf_lock...) made from main, a background task, a cleanup, a stream producer,
   another thread or another request say what was called and why on stderr and abort, in a child
   process; wf_add_task and wf_defer refuse with WF_EINVAL instead. Guards (wf_guard, wf_lock) are
   released when the handler, middleware or dependency that took them raises or returns, so a raise
   under a lock does not deadlock the next request. And wf_str_dup / wf_req_strdup copy a view. */
#define _GNU_SOURCE
#include "util.h"
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- a child process that misuses the API: how it ended and what it said ---- */

typedef struct ending {
    int status;                 /* waitpid's status; -1 if it did not end in time (it was killed) */
    char err[8192];             /* what it wrote on stderr */
} ending;

/* Run scenario in a forked child whose stderr goes to a pipe (its return value is the child's exit
   status) and wait for it, at most 8 s (it is killed then). Fork before any thread is started. */
static void run_child(int (*scenario)(void), ending *e) {
    int p[2];
    memset(e, 0, sizeof *e);
    e->status = -1;
    if (pipe(p) < 0) return;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        dup2(p[1], 2);
        close(p[1]);
        _exit(scenario());
    }
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        return;
    }
    long long deadline = tu_ms() + 8000;
    size_t n = 0;
    for (;;) {                  /* until end of file: every descriptor of the child is closed */
        long long left = deadline - tu_ms();
        struct pollfd pf = {p[0], POLLIN, 0};
        int r = left > 0 ? poll(&pf, 1, (int)left) : 0;
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        char scratch[512];
        bool room = n < sizeof e->err - 1;
        ssize_t k = room ? read(p[0], e->err + n, sizeof e->err - 1 - n)
                         : read(p[0], scratch, sizeof scratch);
        if (k <= 0) break;
        if (room) n += (size_t)k;
    }
    e->err[n] = 0;
    close(p[0]);
    int status = 0;
    pid_t w;
    while ((w = waitpid(pid, &status, WNOHANG)) == 0 && tu_ms() < deadline) usleep(1000);
    if (w == pid) {
        e->status = status;
    } else {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
}

/* The child's stderr has no sanitizer report (a race or a leak in it would go unseen otherwise). */
static bool clean_at(tu_at at, const ending *e) {
    return TU_EXPECT_TRUE_AT(at, !strstr(e->err, "Sanitizer") && !strstr(e->err, "runtime error"));
}

/* The child died of SIGABRT after saying "webfw: <fn> called <why>: it works only on the request
   this thread is handling" (wf__misuse_say's words). */
static bool aborted_saying_at(tu_at at, const ending *e, const char *fn, const char *why) {
    char want[256];
    snprintf(want, sizeof want, "webfw: %s called %s: it works only on the request this thread is handling",
             fn, why);
    bool sig = TU_EXPECT_TRUE_AT(at, e->status != -1 && WIFSIGNALED(e->status) &&
                                         WTERMSIG(e->status) == SIGABRT);
    bool said = TU_EXPECT_TRUE_AT(at, strstr(e->err, want) != NULL) && clean_at(at, e);
    if (!sig || !said)
        wf_test_log("  %s: status %d (%s), stderr: %s", fn, e->status,
                    e->status == -1 ? "did not end" : WIFSIGNALED(e->status) ? "signal" : "exit", e->err);
    return sig && said;
}

/* The child exited 0 (its own checks held) after saying "webfw: <fn> called <why>: ...". */
static bool refused_saying_at(tu_at at, const ending *e, const char *fn, const char *why) {
    char want[256];
    snprintf(want, sizeof want, "webfw: %s called %s: it works only on the request this thread is handling",
             fn, why);
    bool ok = TU_EXPECT_TRUE_AT(at, e->status != -1 && WIFEXITED(e->status) && WEXITSTATUS(e->status) == 0);
    bool said = TU_EXPECT_TRUE_AT(at, strstr(e->err, want) != NULL) && clean_at(at, e);
    if (!ok || !said) wf_test_log("  %s: status %d, stderr: %s", fn, e->status, e->err);
    return ok && said;
}
#define refused_saying(...) refused_saying_at(TU_HERE, __VA_ARGS__)

/* ---- the misused calls: each needs the request being handled ---- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

WF_DEPENDENCY(int *, dep_one) {
    static int one = 1;
    (void)req;
    return &one;
}

static void release_nothing(void *arg) { (void)arg; }

static void c_raise(wf_req *req) { wf_raise(req, 404, "Item not found"); }
static void c_raise_json(wf_req *req) { wf_raise_json(req, 401, "{\"error\":\"token\"}", NULL); }
static void c_fail(wf_req *req) { wf_fail(req, "database is on fire"); }
static void c_depends(wf_req *req) { (void)WF_DEPENDS(req, dep_one); }
static void c_depends_fresh(wf_req *req) { (void)wf_depends_fresh(req, &dep_one); }
static void c_param_int(wf_req *req) { (void)wf_param_int(req, WF_IN_QUERY, "limit", "default=10"); }
static void c_param_str(wf_req *req) { (void)wf_param_str(req, WF_IN_QUERY, "q", "max_length=5"); }
static void c_param(wf_req *req) { (void)wf_param(req, WF_IN_HEADER, "user_agent"); }
static void c_body_json(wf_req *req) { (void)wf_body_json(req); }
static void c_body_str(wf_req *req) { (void)wf_body_str(req, "name", "required"); }
static void c_guard(wf_req *req) { (void)wf_guard(req, release_nothing, NULL); }
static void c_lock(wf_req *req) { wf_lock(req, &mu); }

typedef struct misuse {
    const char *said;           /* the name the message gives */
    void (*call)(wf_req *req);
} misuse;

static const misuse calls[] = {
    {"wf_raise", c_raise},
    {"wf_raise_json", c_raise_json},
    {"wf_fail", c_fail},
    {"WF_DEPENDS (wf_depends)", c_depends},
    {"wf_depends_fresh", c_depends_fresh},
    {"wf_param_int", c_param_int},
    {"wf_param_str", c_param_str},
    {"wf_param", c_param},
    {"wf_body_json", c_body_json},
    {"wf_body_str", c_body_str},
    {"wf_guard", c_guard},
    {"wf_lock", c_lock},
};
enum { NCALLS = (int)(sizeof calls / sizeof calls[0]) };

/* The call the next child makes (set before the fork). A child whose call returns exits 3. */
static const misuse *cur;

static void misuse_now(wf_req *req) {
    cur->call(req);
    _exit(3);
}

/* Make every call in its own child, from scenario; each must abort, saying why. */
static void each_call_aborts_at(tu_at at, int (*scenario)(void), const char *why) {
    ending *e = malloc(sizeof *e);
    TU_ASSERT_TRUE_AT(at, e != NULL);
    for (int i = 0; i < NCALLS; i++) {
        cur = &calls[i];
        run_child(scenario, e);
        if (!aborted_saying_at(at, e, cur->said, why)) wf_test_log("  (call %d of the table)", i);
    }
    free(e);
}
#define each_call_aborts(...) each_call_aborts_at(TU_HERE, __VA_ARGS__)

/* ---- contexts: where the calls are made ---- */

static int from_main(void) {
    misuse_now(NULL);
    return 3;
}

static int task_misuses(void *arg) {
    misuse_now((wf_req *)arg);
    return 0;
}
static void h_task(wf_req *req, wf_res *res) {
    wf_add_task(req, "misuse", task_misuses, req, NULL);
    wf_reply_text(res, 200, "queued");
}

static void cleanup_misuses(void *arg) { misuse_now((wf_req *)arg); }
static void h_cleanup(wf_req *req, wf_res *res) {
    wf_defer(req, cleanup_misuses, req);
    wf_reply_text(res, 200, "deferred");
}

static int produce_misuses(wf_res *res, void *user) {
    (void)res;
    misuse_now((wf_req *)user);
    return 0;
}
static void h_stream(wf_req *req, wf_res *res) { wf_res_stream(res, produce_misuses, req, NULL); }

/* The handler waits (pthread_join) while another thread makes the call with its request. */
static void *thread_misuses(void *arg) {
    misuse_now((wf_req *)arg);
    return NULL;
}
static void h_thread(wf_req *req, wf_res *res) {
    pthread_t t;
    if (pthread_create(&t, NULL, thread_misuses, req) != 0) _exit(4);
    pthread_join(t, NULL);
    wf_reply_text(res, 200, "joined");
}

/* The outer request's handler sends a request to a second app, whose handler calls with the outer
   request: a request, but not the one this thread is handling. */
static wf_test_client *inner_tc;
static wf_req *outer_req;
static void h_inner(wf_req *req, wf_res *res) {
    (void)req;
    misuse_now(outer_req);
    wf_reply_text(res, 200, "inner");
}
static void h_outer(wf_req *req, wf_res *res) {
    wf_test_res r;
    outer_req = req;
    if (wf_test_get(inner_tc, "/inner", &r) != 0) _exit(4);
    wf_reply_text(res, 200, r.body);
    wf_test_res_free(&r);
}

static wf_app *misuse_app(void) {
    wf_app *app = wf_app_new();
    wf_get(app, "/task", h_task);
    wf_get(app, "/cleanup", h_cleanup);
    wf_get(app, "/stream", h_stream);
    wf_get(app, "/thread", h_thread);
    wf_get(app, "/outer", h_outer);
    return app;
}

/* GET path through a test client; the misuse on the way aborts the child. */
static int via_test_client(const char *path) {
    wf_app *app = misuse_app();
    wf_test_client *tc = wf_test_client_new(app, &(wf_config){.no_access_log = true, .log = tu_log});
    if (!tc) return 4;
    wf_test_res r;
    wf_test_get(tc, path, &r);
    return 3;
}
static int from_task(void) { return via_test_client("/task"); }
static int from_cleanup(void) { return via_test_client("/cleanup"); }
static int from_stream(void) { return via_test_client("/stream"); }
static int from_thread(void) { return via_test_client("/thread"); }
static int from_other_request(void) {
    wf_app *inner = wf_app_new();
    wf_get(inner, "/inner", h_inner);
    inner_tc = wf_test_client_new(inner, &(wf_config){.no_access_log = true, .log = tu_log});
    if (!inner_tc) return 4;
    return via_test_client("/outer");
}

/* A real server: the task runs on a worker thread after the response. The child waits for the
   abort (the parent bounds it). */
static int from_task_on_worker(void) {
    wf_app *app = misuse_app();
    int port = tu_serve(app, &(wf_config){.workers = 2, .log = tu_log});
    if (port <= 0) return 4;
    tu_resp r;
    if (tu_request(port, "GET /task HTTP/1.1\r\nHost: x\r\n\r\n", &r) != 200) return 5;
    for (;;) pause();
}

WF_TEST(misuse_aborts_from_main_with_req_null) { each_call_aborts(from_main, "with req NULL"); }

WF_TEST(misuse_aborts_from_a_task_in_the_test_client) {
    each_call_aborts(from_task, "outside a request being handled");
}

WF_TEST(misuse_aborts_from_a_task_on_a_worker) {
    each_call_aborts(from_task_on_worker, "outside a request being handled");
}

WF_TEST(misuse_aborts_from_a_cleanup) { each_call_aborts(from_cleanup, "outside a request being handled"); }

WF_TEST(misuse_aborts_from_a_stream_producer) {
    each_call_aborts(from_stream, "outside a request being handled");
}

WF_TEST(misuse_aborts_from_another_thread_during_the_request) {
    each_call_aborts(from_thread, "outside a request being handled");
}

WF_TEST(misuse_aborts_with_another_request_than_the_one_handled) {
    each_call_aborts(from_other_request, "with another request than the one being handled");
}

/* ---- wf_add_task and wf_defer: refused with WF_EINVAL (free_arg called), no abort ---- */

static atomic_int freed, ran;
static int never_task(void *arg) {
    (void)arg;
    atomic_fetch_add(&ran, 1);
    return 0;
}
static void count_freed(void *arg) {
    (void)arg;
    atomic_fetch_add(&freed, 1);
}
static void never_cleanup(void *arg) {
    (void)arg;
    atomic_fetch_add(&ran, 1);
}

/* What a call with a request no longer handled gave: wf_add_task's, wf_defer's. */
static atomic_int late_add = 1, late_defer = 1, late_done;

static int refused_from_main(void) {
    WF_EXPECT_EQ_INT(wf_add_task(NULL, "t", never_task, NULL, count_freed), WF_EINVAL);
    WF_EXPECT_EQ_INT(atomic_load(&freed), 1);           /* free_arg was called */
    WF_EXPECT_EQ_INT(wf_defer(NULL, never_cleanup, NULL), WF_EINVAL);
    WF_EXPECT_EQ_INT(atomic_load(&ran), 0);
    return wf_test_failed() ? 1 : 0;
}

WF_TEST(misuse_add_task_and_defer_refused_from_main) {
    ending e;
    run_child(refused_from_main, &e);
    refused_saying(&e, "wf_add_task", "with req NULL");
    refused_saying(&e, "wf_defer", "with req NULL");
}

/* From a task or a cleanup of a request that is over. */
static void try_late(wf_req *req) {
    atomic_store(&late_add, wf_add_task(req, "late", never_task, NULL, count_freed));
    atomic_store(&late_defer, wf_defer(req, never_cleanup, NULL));
    atomic_fetch_add(&late_done, 1);
}
static int task_tries_late(void *arg) {
    try_late((wf_req *)arg);
    return 0;
}
static void cleanup_tries_late(void *arg) { try_late((wf_req *)arg); }
static void h_late_task(wf_req *req, wf_res *res) {
    wf_add_task(req, "tries", task_tries_late, req, NULL);
    wf_reply_text(res, 200, "ok");
}
static void h_late_cleanup(wf_req *req, wf_res *res) {
    wf_defer(req, cleanup_tries_late, req);
    wf_reply_text(res, 200, "ok");
}

static wf_app *late_app(void) {
    wf_app *app = wf_app_new();
    wf_get(app, "/task", h_late_task);
    wf_get(app, "/cleanup", h_late_cleanup);
    return app;
}

static void expect_late_refused_at(tu_at at, int times) {
    TU_EXPECT_EQ_INT_AT(at, atomic_load(&late_done), times);
    TU_EXPECT_EQ_INT_AT(at, atomic_load(&late_add), WF_EINVAL);
    TU_EXPECT_EQ_INT_AT(at, atomic_load(&late_defer), WF_EINVAL);
    TU_EXPECT_EQ_INT_AT(at, atomic_load(&freed), times);
    TU_EXPECT_EQ_INT_AT(at, atomic_load(&ran), 0);
}
#define expect_late_refused(...) expect_late_refused_at(TU_HERE, __VA_ARGS__)

static int refused_after_request(void) {
    wf_app *app = late_app();
    wf_test_client *tc = wf_test_client_new(app, &(wf_config){.no_access_log = true, .log = tu_log});
    wf_test_res r;
    WF_EXPECT_EQ_INT(wf_test_get(tc, "/task", &r), 0);
    WF_EXPECT_EQ_INT(r.status, 200);
    wf_test_res_free(&r);
    expect_late_refused(1);                 /* the test client runs tasks before it returns */
    atomic_store(&late_add, 1), atomic_store(&late_defer, 1);
    WF_EXPECT_EQ_INT(wf_test_get(tc, "/cleanup", &r), 0);
    WF_EXPECT_EQ_INT(r.status, 200);
    wf_test_res_free(&r);
    wf_test_client_free(tc);
    wf_app_free(app);
    expect_late_refused(2);
    return wf_test_failed() ? 1 : 0;
}

WF_TEST(misuse_add_task_and_defer_refused_from_a_task_and_a_cleanup) {
    ending e;
    run_child(refused_after_request, &e);
    refused_saying(&e, "wf_add_task", "outside a request being handled");
    refused_saying(&e, "wf_defer", "outside a request being handled");
}

static int refused_on_worker(void) {
    wf_app *app = late_app();
    int port = tu_serve(app, &(wf_config){.workers = 2, .log = tu_log});
    WF_EXPECT_GT_INT(port, 0);
    tu_resp r;
    WF_EXPECT_EQ_INT(tu_request(port, "GET /task HTTP/1.1\r\nHost: x\r\n\r\n", &r), 200);
    tu_resp_free(&r);
    WF_EXPECT_TRUE(tu_wait_atomic(&late_done, 1, 5000));
    tu_stop(app);
    expect_late_refused(1);
    return wf_test_failed() ? 1 : 0;
}

WF_TEST(misuse_add_task_and_defer_refused_from_a_task_on_a_worker) {
    ending e;
    run_child(refused_on_worker, &e);
    refused_saying(&e, "wf_add_task", "outside a request being handled");
    refused_saying(&e, "wf_defer", "outside a request being handled");
}

/* ---- guards: a raise under wf_lock releases the lock ---- */

/* Nobody holds mu: this thread takes it at once (and gives it back). */
static bool mu_free(void) {
    if (pthread_mutex_trylock(&mu) != 0) return false;
    pthread_mutex_unlock(&mu);
    return true;
}

static void h_lock_raise(wf_req *req, wf_res *res) {
    wf_lock(req, &mu);
    if (!wf_param_int(req, WF_IN_QUERY, "found", "default=0")) wf_raise(req, 404, "Note not found");
    wf_unlock(req, &mu);
    wf_reply_text(res, 200, "found");
}

static void h_lock_fail(wf_req *req, wf_res *res) {
    (void)res;
    wf_lock(req, &mu);
    wf_fail(req, "the notes are on fire");
}

/* A failing getter records a 422 and returns; the handler returns still holding mu. */
static void h_lock_invalid(wf_req *req, wf_res *res) {
    wf_lock(req, &mu);
    long long n = wf_param_int(req, WF_IN_QUERY, "n", "required,ge=1");
    wf_reply_json(res, 200, "{s:I}", "n", n);
}

/* wf_unlock forgets the guard: mu taken again by hand is not released by the raise. */
static void h_unlock_then_raise(wf_req *req, wf_res *res) {
    (void)res;
    wf_lock(req, &mu);
    wf_unlock(req, &mu);
    pthread_mutex_lock(&mu);
    wf_raise(req, 409, "Conflict");
}

static wf_app *lock_app(void) {
    wf_app *app = wf_app_new();
    wf_get(app, "/raise", h_lock_raise);
    wf_get(app, "/fail", h_lock_fail);
    wf_get(app, "/invalid", h_lock_invalid);
    wf_get(app, "/unlock", h_unlock_then_raise);
    return app;
}

static wf_test_client *lock_client(wf_app **app) {
    *app = lock_app();
    tu_log_clear();
    return wf_test_client_new(*app, &(wf_config){.no_access_log = true, .log = tu_log});
}

/* GET path; expect status and body (NULL: any). */
static void get_at(tu_at at, wf_test_client *tc, const char *path, int status, const char *body) {
    wf_test_res r;
    TU_ASSERT_EQ_INT_AT(at, wf_test_get(tc, path, &r), 0);
    TU_EXPECT_EQ_INT_AT(at, r.status, status);
    if (body) TU_EXPECT_EQ_STR_AT(at, r.body, body);
    wf_test_res_free(&r);
}
#define get(...) get_at(TU_HERE, __VA_ARGS__)

WF_TEST(misuse_lock_released_by_raise) {
    wf_app *app;
    wf_test_client *tc = lock_client(&app);
    get(tc, "/raise", 404, "{\"detail\":\"Note not found\"}");
    WF_ASSERT_TRUE(mu_free());          /* else the next request would deadlock */
    get(tc, "/raise?found=1", 200, "found");
    WF_ASSERT_TRUE(mu_free());
    get(tc, "/raise", 404, "{\"detail\":\"Note not found\"}");
    WF_ASSERT_TRUE(mu_free());
    wf_test_client_free(tc);
    wf_app_free(app);
}

WF_TEST(misuse_lock_released_by_fail) {
    wf_app *app;
    wf_test_client *tc = lock_client(&app);
    get(tc, "/fail", 500, "{\"detail\":\"Internal Server Error\"}");
    WF_EXPECT_EQ_INT(tu_log_count("the notes are on fire"), 1);
    WF_ASSERT_TRUE(mu_free());
    get(tc, "/fail", 500, "{\"detail\":\"Internal Server Error\"}");
    WF_ASSERT_TRUE(mu_free());
    wf_test_client_free(tc);
    wf_app_free(app);
}

WF_TEST(misuse_lock_released_when_the_handler_returns) {
    wf_app *app;
    wf_test_client *tc = lock_client(&app);
    get(tc, "/invalid", 422, NULL);    /* missing */
    WF_ASSERT_TRUE(mu_free());
    get(tc, "/invalid?n=0", 422, NULL);
    WF_ASSERT_TRUE(mu_free());
    get(tc, "/invalid?n=x", 422, NULL);
    WF_ASSERT_TRUE(mu_free());
    get(tc, "/invalid?n=7", 200, "{\"n\":7}");    /* valid, and returned holding it all the same */
    WF_ASSERT_TRUE(mu_free());
    wf_test_client_free(tc);
    wf_app_free(app);
}

WF_TEST(misuse_unlock_forgets_the_guard) {
    wf_app *app;
    wf_test_client *tc = lock_client(&app);
    get(tc, "/unlock", 409, "{\"detail\":\"Conflict\"}");
    /* the handler (on this thread) still holds the lock it took by hand: the raise left it alone */
    WF_EXPECT_FALSE(mu_free());
    pthread_mutex_unlock(&mu);
    WF_EXPECT_TRUE(mu_free());
    wf_test_client_free(tc);
    wf_app_free(app);
}

/* ---- guards: wf_guard and wf_release, once each, newest first ---- */

static char order[32];
static char ga[] = "a", gb[] = "b", gc[] = "c", gm[] = "m";
static void note(void *arg) {
    size_t n = strlen(order);
    if (n + 1 < sizeof order) order[n] = *(const char *)arg, order[n + 1] = 0;
}
static char seen[32];           /* order when the handler (or middleware) looked */
static int guard_null_rc = 1;

static void guard_abc(wf_req *req) {
    WF_EXPECT_EQ_INT(wf_guard(req, note, ga), 0);
    WF_EXPECT_EQ_INT(wf_guard(req, note, gb), 0);
    WF_EXPECT_EQ_INT(wf_guard(req, note, gc), 0);
}
static void h_guards_raise(wf_req *req, wf_res *res) {
    (void)res;
    guard_abc(req);
    wf_raise(req, 404, "Not Found Here");
}
static void h_guards_return(wf_req *req, wf_res *res) {
    guard_abc(req);
    snprintf(seen, sizeof seen, "%s", order);
    wf_reply_text(res, 200, "returned");
}
static void h_guards_by_hand(wf_req *req, wf_res *res) {
    guard_abc(req);
    wf_release(req, gb);
    wf_release(req, gb);        /* none left for gb: nothing */
    wf_release(req, gm);        /* never guarded: nothing */
    snprintf(seen, sizeof seen, "%s", order);
    if (wf_param_int(req, WF_IN_QUERY, "raise", "default=0")) wf_raise(req, 418, "teapot");
    wf_reply_text(res, 200, "released");
}
static void h_guard_null(wf_req *req, wf_res *res) {
    guard_null_rc = wf_guard(req, NULL, ga);
    wf_reply_text(res, 200, "null");
}

static wf_app *guard_app(void) {
    wf_app *app = wf_app_new();
    wf_get(app, "/raise", h_guards_raise);
    wf_get(app, "/return", h_guards_return);
    wf_get(app, "/by-hand", h_guards_by_hand);
    wf_get(app, "/null", h_guard_null);
    return app;
}

/* GET path; expect status, then what the guards noted (and what was seen in the handler). */
static void guards_at(tu_at at, const char *path, int status, const char *saw, const char *noted) {
    wf_app *app = guard_app();
    wf_test_client *tc = wf_test_client_new(app, &(wf_config){.no_access_log = true});
    order[0] = seen[0] = 0;
    wf_test_res r;
    TU_ASSERT_EQ_INT_AT(at, wf_test_get(tc, path, &r), 0);
    TU_EXPECT_EQ_INT_AT(at, r.status, status);
    wf_test_res_free(&r);
    TU_EXPECT_EQ_STR_AT(at, seen, saw);
    TU_EXPECT_EQ_STR_AT(at, order, noted);
    wf_test_client_free(tc);
    wf_app_free(app);
    TU_EXPECT_EQ_STR_AT(at, order, noted);       /* and nothing more later */
}
#define guards(...) guards_at(TU_HERE, __VA_ARGS__)

WF_TEST(misuse_guards_released_once_newest_first_on_raise) { guards("/raise", 404, "", "cba"); }

WF_TEST(misuse_guards_released_once_newest_first_on_return) { guards("/return", 200, "", "cba"); }

WF_TEST(misuse_guard_released_by_hand_runs_then_only) {
    guards("/by-hand", 200, "b", "bca");
    guards("/by-hand?raise=1", 418, "b", "bca");
}

WF_TEST(misuse_guard_without_release_is_refused) {
    guards("/null", 200, "", "");
    WF_EXPECT_EQ_INT(guard_null_rc, WF_EINVAL);
}

/* ---- guards: a middleware's outlive the handler's raise, until the middleware returns ---- */

static int status_after_next;
static char seen_outer[32];     /* order when the outer middleware's wf_next returned */
static void mw_outer(wf_req *req, wf_res *res, void *user) {
    (void)user;
    wf_next(req, res);
    snprintf(seen_outer, sizeof seen_outer, "%s", order);
}
static void mw_guarded(wf_req *req, wf_res *res, void *user) {
    (void)user;
    WF_EXPECT_EQ_INT(wf_guard(req, note, gm), 0);
    wf_next(req, res);
    snprintf(seen, sizeof seen, "%s", order);
    status_after_next = wf_res_get_status(res);
}
static void h_mw_raise(wf_req *req, wf_res *res) {
    (void)res;
    WF_EXPECT_EQ_INT(wf_guard(req, note, ga), 0);
    WF_EXPECT_EQ_INT(wf_guard(req, note, gb), 0);
    wf_raise(req, 404, "Gone");
}
static void h_mw_return(wf_req *req, wf_res *res) {
    WF_EXPECT_EQ_INT(wf_guard(req, note, ga), 0);
    wf_reply_text(res, 201, "made");
}

static void middleware_at(tu_at at, const char *path, int status, const char *after_next, const char *noted) {
    wf_app *app = wf_app_new();
    wf_use(app, mw_outer, NULL);
    wf_use(app, mw_guarded, NULL);
    wf_get(app, "/raise", h_mw_raise);
    wf_get(app, "/return", h_mw_return);
    wf_test_client *tc = wf_test_client_new(app, &(wf_config){.no_access_log = true});
    order[0] = seen[0] = seen_outer[0] = 0;
    status_after_next = 0;
    wf_test_res r;
    TU_ASSERT_EQ_INT_AT(at, wf_test_get(tc, path, &r), 0);
    TU_EXPECT_EQ_INT_AT(at, r.status, status);
    wf_test_res_free(&r);
    TU_EXPECT_EQ_INT_AT(at, status_after_next, status);
    TU_EXPECT_EQ_STR_AT(at, seen, after_next);     /* after wf_next: the handler's, not the middleware's */
    TU_EXPECT_EQ_STR_AT(at, seen_outer, noted);     /* then the middleware's, when it returned */
    TU_EXPECT_EQ_STR_AT(at, order, noted);
    wf_test_client_free(tc);
    wf_app_free(app);
    TU_EXPECT_EQ_STR_AT(at, order, noted);
}
#define middleware(...) middleware_at(TU_HERE, __VA_ARGS__)

WF_TEST(misuse_middleware_guard_outlives_the_handlers_raise) {
    middleware("/raise", 404, "ba", "bam");
    middleware("/return", 201, "a", "am");
}

/* ---- guards: a dependency that locks and raises ---- */

WF_DEPENDENCY(int *, locked_raiser) {
    wf_lock(req, &mu);
    wf_raise(req, 403, "Not yours");
}
WF_DEPENDENCY(int *, outer_of_raiser) { return WF_DEPENDS(req, locked_raiser); }

static void h_dep(wf_req *req, wf_res *res) {
    (void)WF_DEPENDS(req, locked_raiser);
    wf_reply_text(res, 200, "unreached");
}
static void h_dep_fresh(wf_req *req, wf_res *res) {
    (void)wf_depends_fresh(req, &outer_of_raiser);
    wf_reply_text(res, 200, "unreached");
}
static void h_plain(wf_req *req, wf_res *res) {
    (void)req;
    wf_reply_text(res, 200, "unreached");
}

WF_TEST(misuse_dependency_lock_released_by_its_raise) {
    wf_app *app = wf_app_new();
    wf_get(app, "/dep", h_dep);
    wf_get(app, "/fresh", h_dep_fresh);
    wf_group *g = wf_group_new(app, "/g");
    WF_ASSERT_TRUE(g != NULL);
    WF_ASSERT_EQ_INT(wf_group_depends(g, &locked_raiser), 0);
    wf_group_get(g, "/x", h_plain);
    wf_test_client *tc = wf_test_client_new(app, &(wf_config){.no_access_log = true});
    static const char *const paths[] = {"/dep", "/fresh", "/g/x", "/dep"};
    for (int i = 0; i < 4; i++) {
        get(tc, paths[i], 403, "{\"detail\":\"Not yours\"}");
        if (!mu_free()) {
            WF_EXPECT_TRUE(false);
            wf_test_log("  mu still held after %s", paths[i]);
            break;
        }
    }
    wf_test_client_free(tc);
    wf_app_free(app);
}

/* ---- guards over a socket: the handler on a worker thread (blocking) or a loop thread ---- */

WF_TEST(misuse_lock_released_by_raise_over_a_socket) {
    wf_app *app = wf_app_new();
    WF_ASSERT_EQ_INT(wf_route(app, "GET", "/blocking", h_lock_raise, &(wf_route_opts){.blocking = true}), 0);
    WF_ASSERT_EQ_INT(wf_get(app, "/loop", h_lock_raise), 0);
    int port = tu_serve(app, &(wf_config){.workers = 2, .log = tu_log});
    WF_ASSERT_GT_INT(port, 0);
    static const char *const raw[] = {
        "GET /blocking HTTP/1.1\r\nHost: x\r\n\r\n", "GET /blocking HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /loop HTTP/1.1\r\nHost: x\r\n\r\n",     "GET /blocking?found=1 HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /loop HTTP/1.1\r\nHost: x\r\n\r\n",
    };
    static const int want[] = {404, 404, 404, 200, 404};
    for (int i = 0; i < 5; i++) {
        tu_resp r;
        int st = tu_request(port, raw[i], &r);    /* a lock left held: this one never answers */
        WF_EXPECT_EQ_INT(st, want[i]);
        if (st > 0) tu_resp_free(&r);
        if (st != want[i]) break;
        /* the response left after the handler unwound: mu is free by now */
        WF_EXPECT_TRUE(mu_free());
    }
    tu_stop(app);
}

/* ---- wf_str_dup and wf_req_strdup ---- */

WF_TEST(misuse_str_dup_copies_a_view) {
    static const char text[] = "hello world";
    char *src = tu_guard(text, 11);         /* its last byte is right before an unreadable page */
    wf_str world = {src + 6, 5}, hello = {src, 5};
    char *w = wf_str_dup(world), *h = wf_str_dup(hello);
    WF_ASSERT_TRUE(w != NULL && h != NULL);
    WF_EXPECT_EQ_STR(w, "world");           /* NUL-terminated where the view ends */
    WF_EXPECT_EQ_STR(h, "hello");
    memcpy(src, "HELLO WORLD", 11);         /* the copies do not follow their source */
    WF_EXPECT_EQ_STR(w, "world");
    WF_EXPECT_EQ_STR(h, "hello");
    char *e1 = wf_str_dup((wf_str){NULL, 0}), *e2 = wf_str_dup((wf_str){src + 11, 0});
    WF_EXPECT_TRUE(e1 != NULL);
    WF_EXPECT_TRUE(e2 != NULL);
    if (e1) WF_EXPECT_EQ_STR(e1, "");
    if (e2) WF_EXPECT_EQ_STR(e2, "");
    free(w), free(h), free(e1), free(e2);
    tu_guard_free(src, 11);
}

enum { BIG = 20000 };
typedef struct copies {
    char *part, *query, *empty, *big;
} copies;
static atomic_int late_checked, late_ok;

static bool big_intact(const char *s) {
    for (int i = 0; i < BIG; i++)
        if (s[i] != (char)('a' + i % 26)) return false;
    return s[BIG] == 0;
}

/* When the request is over (its cleanups run): the copies are still there. */
static void check_copies(void *arg) {
    const copies *c = (const copies *)arg;
    bool ok = strcmp(c->part, "for") == 0 && strcmp(c->query, "green tea") == 0 && c->empty[0] == 0 &&
              big_intact(c->big);
    atomic_store(&late_ok, ok);
    atomic_fetch_add(&late_checked, 1);
}

static void h_strdup(wf_req *req, wf_res *res) {
    char local[] = "tea for two";
    char *big = malloc(BIG + 1);
    copies *c = (copies *)wf_req_alloc(req, sizeof *c);
    if (!big || !c) wf_fail(req, "out of memory");
    for (int i = 0; i < BIG; i++) big[i] = (char)('a' + i % 26);
    big[BIG] = '!';
    c->part = wf_req_strdup(req, (wf_str){local + 4, 3});
    c->query = wf_req_strdup(req, wf_param(req, WF_IN_QUERY, "q"));
    c->empty = wf_req_strdup(req, (wf_str){NULL, 0});
    c->big = wf_req_strdup(req, (wf_str){big, BIG});
    memset(local, 'x', sizeof local - 1);
    free(big);
    if (!c->part || !c->query || !c->empty || !c->big) wf_fail(req, "out of memory");
    WF_EXPECT_EQ_STR(c->part, "for");
    WF_EXPECT_EQ_STR(c->empty, "");
    WF_EXPECT_TRUE(big_intact(c->big));
    wf_defer(req, check_copies, c);
    wf_reply_json(res, 200, "{s:s,s:s}", "part", c->part, "q", c->query);
}

WF_TEST(misuse_req_strdup_lives_until_the_request_ends) {
    wf_app *app = wf_app_new();
    wf_get(app, "/copy", h_strdup);
    wf_test_client *tc = wf_test_client_new(app, &(wf_config){.no_access_log = true});
    get(tc, "/copy?q=green+tea", 200, "{\"part\":\"for\",\"q\":\"green tea\"}");
    wf_test_client_free(tc);
    wf_app_free(app);
    WF_EXPECT_EQ_INT(atomic_load(&late_checked), 1);
    WF_EXPECT_TRUE(atomic_load(&late_ok));
}

/* A raise releases its guards before the error's response is made: an error handler may take the
   lock the raising handler held. */
static pthread_mutex_t eh_mu = PTHREAD_MUTEX_INITIALIZER;
static void eh_locked_raise(wf_req *req, wf_res *res) {
    (void)res;
    wf_lock(req, &eh_mu);
    wf_raise(req, 404, "Note not found");
}

static void eh_on_404(wf_req *req, wf_res *res, int status, const char *detail_json) {
    (void)req, (void)detail_json;
    bool free_now = pthread_mutex_trylock(&eh_mu) == 0;
    if (free_now) pthread_mutex_unlock(&eh_mu);
    wf_reply_text(res, status, free_now ? "lock free" : "lock held");
}

WF_TEST(misuse_guards_released_before_the_error_handler) {
    wf_app *app = wf_app_new();
    wf_get(app, "/x", eh_locked_raise);
    wf_on_error(app, 404, eh_on_404);
    wf_test_client *tc = wf_test_client_new(app, NULL);
    wf_test_res r;
    WF_ASSERT_EQ_INT(wf_test_get(tc, "/x", &r), 0);
    WF_EXPECT_EQ_INT(r.status, 404);
    WF_EXPECT_EQ_STR(r.body, "lock free");
    wf_test_res_free(&r);
    wf_test_client_free(tc);
    wf_app_free(app);
}
