/* Outcome cleanups (issue 10.6): a get_db-style dependency's wf_defer_outcome cleanup learns how its
   request ended (the status, failed, abandoned), through the test client and over sockets (a stream or
   a large body the client leaves unread, a blocking handler whose client resets), beside plain wf_defer
   cleanups that keep working as before; an app-scoped one gets a zero outcome at shutdown. And a
   handler that returns without a reply answers 200 null and is warned about once per route. */
#define _GNU_SOURCE
#include "util.h"
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* What the cleanups did, in order, from any thread: "handler,tx(200,0,0),db closed" is the handler's
   plain cleanup, then the transaction's outcome (status, failed, abandoned), then the plain close. */
static pthread_mutex_t trail_mu = PTHREAD_MUTEX_INITIALIZER;
static char trail[4096];
static atomic_int closes;               /* get_db's close has run: that request's cleanups are over */
static atomic_int pool_closes;          /* the app-scoped pool's close has run */

static void note(const char *fmt, ...) {
    va_list ap;
    pthread_mutex_lock(&trail_mu);
    size_t n = strlen(trail);
    if (n && n < sizeof trail - 1) trail[n++] = ',', trail[n] = 0;
    va_start(ap, fmt);
    vsnprintf(trail + n, sizeof trail - n, fmt, ap);
    va_end(ap);
    pthread_mutex_unlock(&trail_mu);
}

static void trail_reset(void) {
    pthread_mutex_lock(&trail_mu);
    trail[0] = 0;
    pthread_mutex_unlock(&trail_mu);
    atomic_store(&closes, 0);
}

static void trail_get(char *out, size_t cap) {
    pthread_mutex_lock(&trail_mu);
    snprintf(out, cap, "%s", trail);
    pthread_mutex_unlock(&trail_mu);
}

/* The transaction: commit or roll back, as the outcome says. */
static void tx_end(void *arg, const wf_outcome *o) {
    note("%s(%d,%d,%d)", (const char *)arg, o->status, (int)o->failed, (int)o->abandoned);
}

static void plain_note(void *arg) { note("%s", (const char *)arg); }

static void db_close(void *arg) {
    note("%s", (const char *)arg);
    atomic_fetch_add(&closes, 1);
}

typedef struct oc_db { int id; } oc_db;

/* try: yield db; db.commit() except: db.rollback(); raise; finally: db.close() */
WF_DEPENDENCY(oc_db *, oc_get_db) {
    oc_db *db = (oc_db *)wf_req_alloc(req, sizeof *db);
    db->id = 1;
    if (wf_defer(req, db_close, "db closed") != 0) wf_fail(req, "wf_defer refused");   /* finally */
    if (wf_defer_outcome(req, tx_end, "tx") != 0) wf_fail(req, "wf_defer_outcome refused");
    return db;
}

/* A dependency that fails after get_db has registered its cleanups. */
WF_DEPENDENCY(const char *, oc_admin) {
    WF_DEPENDS(req, oc_get_db);
    wf_raise(req, 403, "Not an admin");
}

/* The handler's part: the database, and a plain cleanup of its own (newer than get_db's). */
static void use_db(wf_req *req) {
    WF_DEPENDS(req, oc_get_db);
    wf_defer(req, plain_note, "handler");
}

static void h_ok(wf_req *req, wf_res *res) {
    use_db(req);
    wf_reply_json(res, 200, "{s:b}", "ok", 1);
}

static void h_returned_404(wf_req *req, wf_res *res) {    /* a reply, not an exception: commits */
    use_db(req);
    wf_reply_json(res, 404, "{s:s}", "detail", "Item not found");
}

static void h_raised_404(wf_req *req, wf_res *res) {
    (void)res;
    use_db(req);
    wf_raise(req, 404, "Item not found");
}

static void h_fail(wf_req *req, wf_res *res) {
    (void)res;
    use_db(req);
    wf_fail(req, "the database went away");
}

static void h_checked(wf_req *req, wf_res *res) {         /* returns early on a failed getter */
    use_db(req);
    long long n = wf_param_int(req, WF_IN_QUERY, "limit", "ge=1");
    if (wf_invalid(req)) return;
    wf_reply_json(res, 200, "{s:I}", "limit", n);
}

static void h_unchecked(wf_req *req, wf_res *res) {       /* replies 200 anyway: the 422 wins */
    use_db(req);
    long long n = wf_param_int(req, WF_IN_QUERY, "limit", "ge=1");
    wf_reply_json(res, 200, "{s:I}", "limit", n);
}

static void h_unavailable(wf_req *req, wf_res *res) {     /* a 5xx replied normally still fails */
    use_db(req);
    wf_reply_json(res, 503, "{s:s}", "detail", "try later");
}

static void h_admin(wf_req *req, wf_res *res) {
    WF_DEPENDS(req, oc_admin);
    wf_reply_text(res, 200, "unreachable");
}

static void h_no_reply(wf_req *req, wf_res *res) {
    (void)res;
    use_db(req);
}

static void h_plain_only(wf_req *req, wf_res *res) {      /* the simple form alone */
    wf_defer(req, db_close, "plain only");
    wf_reply_text(res, 200, "plain");
}

/* A stream of three chunks, read to its end by the client. */
static int three_chunks(wf_res *res, void *user) {
    int *left = (int *)user;
    if (*left == 0) return 0;
    (*left)--;
    return wf_res_write(res, "chunk\n", 6) < 0 ? -1 : 1;
}

static void h_stream3(wf_req *req, wf_res *res) {
    use_db(req);
    int *left = (int *)wf_req_alloc(req, sizeof *left);
    *left = 3;
    wf_res_stream(res, three_chunks, left, NULL);
}

/* A stream that never ends: only the client leaving ends it. */
static int endless(wf_res *res, void *user) {
    static const char chunk[65536];
    (void)user;
    return wf_res_write(res, chunk, sizeof chunk) < 0 ? -1 : 1;
}

static void h_endless(wf_req *req, wf_res *res) {
    use_db(req);
    wf_res_set_status(res, 200);
    wf_res_stream(res, endless, NULL, NULL);
}

/* A body far larger than the socket buffers of both ends can hold. */
#define BIG_BODY (48u << 20)
static char *big_body;

static void h_big(wf_req *req, wf_res *res) {
    use_db(req);
    wf_res_set_status(res, 200);
    wf_res_set_body(res, big_body, BIG_BODY, WF_BODY_BORROW);
}

/* A blocking handler that waits at a gate the test opens. */
static tu_gate slow_gate = TU_GATE_INIT;

static void h_slow(wf_req *req, wf_res *res) {
    use_db(req);
    tu_gate_pass(&slow_gate, 10000);
    wf_reply_json(res, 200, "{s:b}", "ok", 1);
}

static wf_app *outcome_app(void) {
    static const wf_route_opts blocking = {.blocking = true};
    wf_app *app = wf_app_new();
    wf_get(app, "/ok", h_ok);
    wf_get(app, "/returned-404", h_returned_404);
    wf_get(app, "/raised-404", h_raised_404);
    wf_get(app, "/fail", h_fail);
    wf_get(app, "/checked", h_checked);
    wf_get(app, "/unchecked", h_unchecked);
    wf_get(app, "/unavailable", h_unavailable);
    wf_get(app, "/admin", h_admin);
    wf_get(app, "/no-reply", h_no_reply);
    wf_get(app, "/plain", h_plain_only);
    wf_get(app, "/stream3", h_stream3);
    wf_get(app, "/endless", h_endless);
    wf_get(app, "/big", h_big);
    wf_group_route(wf_app_group(app), "GET", "/slow", h_slow, &blocking);
    return app;
}

/* Through the test client (synchronous: the cleanups have run when the request returns). */
static void tc_case_at(tu_at at, wf_test_client *tc, const char *path, int status, const char *want) {
    char b[512], got[sizeof trail];
    trail_reset();
    TU_EXPECT_EQ_INT_AT(at, tu_call(tc, "GET", path, NULL, NULL, b, sizeof b), status);
    trail_get(got, sizeof got);
    TU_EXPECT_EQ_STR_AT(at, got, want);
}
#define tc_case(...) tc_case_at(TU_HERE, __VA_ARGS__)

WF_TEST(outcome_test_client_status_and_failure) {
    wf_app *app = outcome_app();
    wf_test_client *tc = wf_test_client_new(app, &(wf_config){.no_access_log = true, .log = tu_log});
    WF_ASSERT_TRUE(tc != NULL);
    /* newest first, each once: the handler's plain cleanup, the transaction, get_db's close */
    tc_case(tc, "/ok", 200, "handler,tx(200,0,0),db closed");
    tc_case(tc, "/returned-404", 404, "handler,tx(404,0,0),db closed");     /* FastAPI commits */
    tc_case(tc, "/raised-404", 404, "handler,tx(404,1,0),db closed");       /* HTTPException */
    tc_case(tc, "/fail", 500, "handler,tx(500,1,0),db closed");
    tc_case(tc, "/checked?limit=0", 422, "handler,tx(422,1,0),db closed");
    tc_case(tc, "/checked?limit=5", 200, "handler,tx(200,0,0),db closed");
    tc_case(tc, "/unchecked?limit=x", 422, "handler,tx(422,1,0),db closed");
    tc_case(tc, "/unavailable", 503, "handler,tx(503,1,0),db closed");     /* 5xx rolls back */
    tc_case(tc, "/admin", 403, "tx(403,1,0),db closed");                   /* a dependency raised */
    tc_case(tc, "/no-reply", 200, "handler,tx(200,0,0),db closed");        /* answered 200 null */
    tc_case(tc, "/plain", 200, "plain only");                              /* the simple form alone */
    tc_case(tc, "/stream3", 200, "handler,tx(200,0,0),db closed");
    tu_gate_reset(&slow_gate);
    tu_gate_open(&slow_gate);
    tc_case(tc, "/slow", 200, "handler,tx(200,0,0),db closed");            /* blocking: run inline */
    /* and the same request again: nothing carried over from the last one */
    tc_case(tc, "/raised-404", 404, "handler,tx(404,1,0),db closed");
    tc_case(tc, "/ok", 200, "handler,tx(200,0,0),db closed");
    wf_test_client_free(tc);
    wf_app_free(app);
}

/* Over a socket: one request on its own connection, read completely; then its cleanups run on the
   loop thread (waited for, bounded). */
static void sock_case_at(tu_at at, int port, const char *path, int status, const char *want) {
    char raw[256], got[sizeof trail];
    tu_resp r = {.status = -1};
    trail_reset();
    snprintf(raw, sizeof raw, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
    TU_EXPECT_EQ_INT_AT(at, tu_request(port, raw, &r), status);
    tu_resp_free(&r);
    TU_EXPECT_TRUE_AT(at, tu_wait_atomic(&closes, 1, 10000));
    trail_get(got, sizeof got);
    TU_EXPECT_EQ_STR_AT(at, got, want);
}
#define sock_case(...) sock_case_at(TU_HERE, __VA_ARGS__)

WF_TEST(outcome_socket_matches_the_test_client) {
    wf_app *app = outcome_app();
    int port = tu_serve(app, &(wf_config){.workers = 2, .log = tu_log});
    WF_ASSERT_GT_INT(port, 0);
    sock_case(port, "/ok", 200, "handler,tx(200,0,0),db closed");
    sock_case(port, "/returned-404", 404, "handler,tx(404,0,0),db closed");
    sock_case(port, "/raised-404", 404, "handler,tx(404,1,0),db closed");
    sock_case(port, "/fail", 500, "handler,tx(500,1,0),db closed");
    sock_case(port, "/checked?limit=0", 422, "handler,tx(422,1,0),db closed");
    sock_case(port, "/unavailable", 503, "handler,tx(503,1,0),db closed");
    sock_case(port, "/admin", 403, "tx(403,1,0),db closed");
    sock_case(port, "/plain", 200, "plain only");
    sock_case(port, "/stream3", 200, "handler,tx(200,0,0),db closed");     /* every chunk sent */
    tu_gate_reset(&slow_gate);
    tu_gate_open(&slow_gate);
    sock_case(port, "/slow", 200, "handler,tx(200,0,0),db closed");        /* blocking, answered */
    tu_stop(app);
    char got[sizeof trail];
    trail_get(got, sizeof got);
    WF_EXPECT_EQ_STR(got, "handler,tx(200,0,0),db closed");                /* nothing ran twice */
}

/* Send a GET of path on c and wait until response bytes wait unread at the client. */
static bool ask_and_wait_for_bytes(tu_conn *c, const char *path) {
    char raw[256];
    snprintf(raw, sizeof raw, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
    if (tu_sends(c, raw) < 0) return false;
    struct pollfd p = {c->fd, POLLIN, 0};
    return poll(&p, 1, 10000) == 1 && (p.revents & POLLIN);
}

/* A client that leaves without reading: closing with unread bytes resets the connection. */
static void leave_unread_at(tu_at at, int port, const char *path) {
    char got[sizeof trail];
    tu_conn c;
    trail_reset();
    TU_ASSERT_EQ_INT_AT(at, tu_connect(&c, port), 0);
    TU_ASSERT_TRUE_AT(at, ask_and_wait_for_bytes(&c, path));
    trail_get(got, sizeof got);
    TU_EXPECT_EQ_STR_AT(at, got, "");                   /* still sending: nothing ran yet */
    tu_close(&c);
    TU_EXPECT_TRUE_AT(at, tu_wait_atomic(&closes, 1, 10000));
    trail_get(got, sizeof got);
    TU_EXPECT_EQ_STR_AT(at, got, "handler,tx(200,0,1),db closed");
}
#define leave_unread(...) leave_unread_at(TU_HERE, __VA_ARGS__)

WF_TEST(outcome_socket_endless_stream_left_is_abandoned) {
    wf_app *app = outcome_app();
    int port = tu_serve(app, &(wf_config){.log = tu_log});
    WF_ASSERT_GT_INT(port, 0);
    leave_unread(port, "/endless");
    sock_case(port, "/ok", 200, "handler,tx(200,0,0),db closed");          /* the next one commits */
    leave_unread(port, "/endless");
    tu_stop(app);
    char got[sizeof trail];
    trail_get(got, sizeof got);
    WF_EXPECT_EQ_STR(got, "handler,tx(200,0,1),db closed");                /* once */
}

WF_TEST(outcome_socket_large_body_left_is_abandoned) {
    big_body = (char *)calloc(1, BIG_BODY);
    WF_ASSERT_TRUE(big_body != NULL);
    wf_app *app = outcome_app();
    int port = tu_serve(app, &(wf_config){.log = tu_log});
    WF_ASSERT_GT_INT(port, 0);
    leave_unread(port, "/big");
    sock_case(port, "/ok", 200, "handler,tx(200,0,0),db closed");
    tu_stop(app);
    free(big_body);
    big_body = NULL;
}

/* The server stops while a stream is still going (its client reads nothing): once the grace period
   is over the connection is cut, and the response was not completely sent. */
WF_TEST(outcome_socket_stream_cut_by_shutdown_is_abandoned) {
    wf_app *app = outcome_app();
    int port = tu_serve(app, &(wf_config){.log = tu_log, .shutdown_grace_ms = 200});
    WF_ASSERT_GT_INT(port, 0);
    char got[sizeof trail];
    tu_conn c;
    trail_reset();
    WF_ASSERT_EQ_INT(tu_connect(&c, port), 0);
    WF_ASSERT_TRUE(ask_and_wait_for_bytes(&c, "/endless"));
    wf_stop(app);
    wf_wait(app);
    trail_get(got, sizeof got);
    WF_EXPECT_EQ_STR(got, "handler,tx(200,0,1),db closed");
    tu_close(&c);
    wf_app_free(app);
    trail_get(got, sizeof got);
    WF_EXPECT_EQ_STR(got, "handler,tx(200,0,1),db closed");
}

/* A blocking handler still running on its worker when its client resets: the response it then
   makes is never sent, and its cleanups learn so when it returns. */
WF_TEST(outcome_blocking_client_reset_while_running_is_abandoned) {
    wf_app *app = outcome_app();
    int port = tu_serve(app, &(wf_config){.workers = 2, .log = tu_log});
    WF_ASSERT_GT_INT(port, 0);
    char got[sizeof trail];
    tu_conn c;
    trail_reset();
    tu_gate_reset(&slow_gate);
    WF_ASSERT_EQ_INT(tu_connect(&c, port), 0);
    tu_peer p = tu_server_end(&c);
    tu_sends(&c, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    WF_ASSERT_TRUE(tu_gate_arrivals(&slow_gate, 1, 10000));    /* the handler runs, on a worker */
    tu_reset(&c);
    WF_EXPECT_TRUE(tu_server_released(&p, 10000));             /* the loop has let the connection go */
    trail_get(got, sizeof got);
    WF_EXPECT_EQ_STR(got, "");                                  /* not while the handler still runs */
    tu_gate_open(&slow_gate);
    WF_EXPECT_TRUE(tu_wait_atomic(&closes, 1, 10000));
    trail_get(got, sizeof got);
    WF_EXPECT_EQ_STR(got, "handler,tx(200,0,1),db closed");
    sock_case(port, "/slow", 200, "handler,tx(200,0,0),db closed");        /* the gate is open now */
    tu_stop(app);
    trail_get(got, sizeof got);
    WF_EXPECT_EQ_STR(got, "handler,tx(200,0,0),db closed");
}

/* A client that only half-closes (shutdown(SHUT_WR)) while the blocking handler runs still reads the
   whole response: that request was not abandoned. */
WF_TEST(outcome_blocking_half_close_answered_is_not_abandoned) {
    wf_app *app = outcome_app();
    int port = tu_serve(app, &(wf_config){.workers = 2, .log = tu_log});
    WF_ASSERT_GT_INT(port, 0);
    char got[sizeof trail];
    tu_conn c;
    tu_resp r = {.status = -1};
    trail_reset();
    tu_gate_reset(&slow_gate);
    WF_ASSERT_EQ_INT(tu_connect(&c, port), 0);
    tu_sends(&c, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    WF_ASSERT_TRUE(tu_gate_arrivals(&slow_gate, 1, 10000));
    WF_ASSERT_EQ_INT(shutdown(c.fd, SHUT_WR), 0);
    tu_gate_open(&slow_gate);
    WF_EXPECT_EQ_INT(tu_read(&c, &r, false, 10000), 200);
    WF_EXPECT_EQ_STR(r.body, "{\"ok\":true}");
    tu_resp_free(&r);
    WF_EXPECT_TRUE(tu_wait_atomic(&closes, 1, 10000));
    trail_get(got, sizeof got);
    WF_EXPECT_EQ_STR(got, "handler,tx(200,0,0),db closed");
    tu_close(&c);
    tu_stop(app);
}

/* App scope: the pool's cleanups run once, at shutdown, with a zero outcome, whatever became of the
   request that built it (here one that raised 503). */
typedef struct oc_pool { int id; } oc_pool;

static void pool_close(void *arg) {
    note("%s", (const char *)arg);
    atomic_fetch_add(&pool_closes, 1);
}

WF_DEPENDENCY_APP(oc_pool *, oc_get_pool) {
    static oc_pool p = {7};
    if (wf_defer(req, pool_close, "pool closed") != 0) wf_fail(req, "wf_defer refused");
    if (wf_defer_outcome(req, tx_end, "pool") != 0) wf_fail(req, "wf_defer_outcome refused");
    return &p;
}

static void h_pool(wf_req *req, wf_res *res) {
    oc_pool *p = WF_DEPENDS(req, oc_get_pool);
    use_db(req);
    wf_reply_json(res, 200, "{s:i}", "pool", p->id);
}

static void h_pool_fail(wf_req *req, wf_res *res) {
    (void)res;
    WF_DEPENDS(req, oc_get_pool);
    use_db(req);
    wf_raise(req, 503, "not now");
}

static wf_app *pool_app(void) {
    wf_app *app = wf_app_new();
    wf_get(app, "/pool", h_pool);
    wf_get(app, "/pool-fail", h_pool_fail);
    return app;
}

WF_TEST(outcome_app_scope_zero_outcome_at_test_client_free) {
    wf_app *app = pool_app();
    wf_test_client *tc = wf_test_client_new(app, &(wf_config){.no_access_log = true, .log = tu_log});
    char got[sizeof trail];
    atomic_store(&pool_closes, 0);
    tc_case(tc, "/pool-fail", 503, "handler,tx(503,1,0),db closed");       /* not the pool's */
    tc_case(tc, "/pool", 200, "handler,tx(200,0,0),db closed");
    tc_case(tc, "/pool", 200, "handler,tx(200,0,0),db closed");
    WF_EXPECT_EQ_INT(atomic_load(&pool_closes), 0);
    trail_reset();
    wf_test_client_free(tc);
    trail_get(got, sizeof got);
    WF_EXPECT_EQ_STR(got, "pool(0,0,0),pool closed");
    wf_app_free(app);
    trail_get(got, sizeof got);
    WF_EXPECT_EQ_STR(got, "pool(0,0,0),pool closed");                      /* once */
    WF_EXPECT_EQ_INT(atomic_load(&pool_closes), 1);
}

WF_TEST(outcome_app_scope_zero_outcome_at_stop) {
    wf_app *app = pool_app();
    int port = tu_serve(app, &(wf_config){.log = tu_log});
    WF_ASSERT_GT_INT(port, 0);
    char got[sizeof trail];
    atomic_store(&pool_closes, 0);
    sock_case(port, "/pool-fail", 503, "handler,tx(503,1,0),db closed");
    sock_case(port, "/pool", 200, "handler,tx(200,0,0),db closed");
    WF_EXPECT_EQ_INT(atomic_load(&pool_closes), 0);
    trail_reset();
    wf_stop(app);
    wf_wait(app);
    trail_get(got, sizeof got);
    WF_EXPECT_EQ_STR(got, "pool(0,0,0),pool closed");
    wf_app_free(app);
    trail_get(got, sizeof got);
    WF_EXPECT_EQ_STR(got, "pool(0,0,0),pool closed");
    WF_EXPECT_EQ_INT(atomic_load(&pool_closes), 1);
}

/* ---- no reply: 200 null, warned once per route ---- */

/* tu_log, each line marked with its level. */
static void leveled_log(void *user, wf_log_level level, const char *msg) {
    char line[1024];
    snprintf(line, sizeof line, "[%s] %s",
             level == WF_LOG_WARNING ? "warning" : level == WF_LOG_ERROR ? "error" : "info", msg);
    tu_log(user, level, line);
}

static void h_quiet(wf_req *req, wf_res *res) { (void)req, (void)res; }

static void h_validates(wf_req *req, wf_res *res) {
    long long n = wf_param_int(req, WF_IN_QUERY, "n", "required");
    if (wf_invalid(req)) return;
    wf_reply_json(res, 200, "{s:I}", "n", n);
}

static void h_status_only(wf_req *req, wf_res *res) {
    (void)req;
    wf_res_set_status(res, 204);
}

/* The only warnings these apps can cause are forgotten replies (no handler is slow enough to be
   reported for holding its loop: that warning names the route too). */
static const wf_config quiet_cfg = {.no_access_log = true, .log = leveled_log, .slow_handler_ms = 600000};

static wf_app *quiet_app(void) {
    wf_app *app = wf_app_new();
    wf_get(app, "/quiet/{id}", h_quiet);
    wf_post(app, "/quiet-too", h_quiet);
    wf_get(app, "/validates", h_validates);
    wf_get(app, "/status-only", h_status_only);
    return app;
}

static void expect_null_at(tu_at at, wf_test_client *tc, const char *method, const char *path) {
    wf_test_req rq = {.method = method, .path = path};
    wf_test_res r;
    TU_ASSERT_EQ_INT_AT(at, wf_test_request(tc, &rq, &r), 0);
    TU_EXPECT_EQ_INT_AT(at, r.status, 200);
    wf_str ct = wf_test_header(&r, "Content-Type");
    TU_EXPECT_TRUE_AT(at, ct.ptr && wf_str_eq(ct, "application/json"));
    TU_EXPECT_EQ_STR_AT(at, r.body, "null");
    TU_EXPECT_EQ_INT_AT(at, (long long)r.body_len, 4);
    wf_test_res_free(&r);
}
#define expect_null(...) expect_null_at(TU_HERE, __VA_ARGS__)

WF_TEST(outcome_no_reply_answers_null_and_warns_once_per_route) {
    wf_app *app = quiet_app();
    wf_test_client *tc = wf_test_client_new(app, &quiet_cfg);
    tu_log_clear();
    expect_null(tc, "GET", "/quiet/7");
    expect_null(tc, "GET", "/quiet/8");
    expect_null(tc, "GET", "/quiet/9");
    WF_EXPECT_EQ_INT(tu_log_count("[warning]"), 1);
    WF_EXPECT_EQ_INT(tu_log_count("GET /quiet/{id}"), 1);     /* the route, not the path */
    WF_EXPECT_EQ_INT(tu_log_count("/quiet/7"), 0);
    /* another route: its own line, once */
    expect_null(tc, "POST", "/quiet-too");
    expect_null(tc, "POST", "/quiet-too");
    WF_EXPECT_EQ_INT(tu_log_count("[warning]"), 2);
    WF_EXPECT_EQ_INT(tu_log_count("POST /quiet-too"), 1);
    WF_EXPECT_EQ_INT(tu_log_count("GET /quiet/{id}"), 1);
    expect_null(tc, "GET", "/quiet/10");
    WF_EXPECT_EQ_INT(tu_log_count("[warning]"), 2);
    wf_test_client_free(tc);
    wf_app_free(app);
}

WF_TEST(outcome_no_reply_not_warned_for_invalid_or_status_only) {
    wf_app *app = quiet_app();
    wf_test_client *tc = wf_test_client_new(app, &quiet_cfg);
    char b[512];
    tu_log_clear();
    for (int i = 0; i < 3; i++) {
        /* a failed getter and an early return: the 422, not 200 null */
        WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/validates?n=abc", NULL, NULL, b, sizeof b), 422);
        WF_EXPECT_TRUE(strstr(b, "\"loc\":[\"query\",\"n\"]") != NULL);
        WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/validates", NULL, NULL, b, sizeof b), 422);
        WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/validates?n=4", NULL, NULL, b, sizeof b), 200);
        WF_EXPECT_EQ_STR(b, "{\"n\":4}");
        /* a status alone is a reply */
        wf_test_req rq = {.path = "/status-only"};
        wf_test_res r;
        WF_ASSERT_EQ_INT(wf_test_request(tc, &rq, &r), 0);
        WF_EXPECT_EQ_INT(r.status, 204);
        WF_EXPECT_EQ_INT((long long)r.body_len, 0);
        wf_test_res_free(&r);
    }
    WF_EXPECT_EQ_INT(tu_log_count("[warning]"), 0);
    WF_EXPECT_EQ_INT(tu_log_count("/validates"), 0);
    WF_EXPECT_EQ_INT(tu_log_count("/status-only"), 0);
    expect_null(tc, "GET", "/quiet/1");                     /* the log does see a forgotten reply */
    WF_EXPECT_EQ_INT(tu_log_count("GET /quiet/{id}"), 1);
    WF_EXPECT_EQ_INT(tu_log_count("[warning]"), 1);
    wf_test_client_free(tc);
    wf_app_free(app);
}

/* Over sockets, on two loop threads at once: still one line per route. */
static void *quiet_client(void *arg) {
    int port = *(int *)arg, ok = 0;
    for (int i = 0; i < 4; i++) {
        tu_resp r = {.status = -1};
        if (tu_request(port, "GET /quiet/3 HTTP/1.1\r\nHost: x\r\n\r\n", &r) == 200 &&
            strcmp(r.body, "null") == 0)
            ok++;
        tu_resp_free(&r);
    }
    return (void *)(intptr_t)ok;
}

WF_TEST(outcome_no_reply_warned_once_across_threads) {
    wf_app *app = quiet_app();
    tu_log_clear();
    int port = tu_serve(app, &(wf_config){.threads = 2, .log = leveled_log, .slow_handler_ms = 600000});
    WF_ASSERT_GT_INT(port, 0);
    pthread_t t[8];
    for (int i = 0; i < 8; i++) pthread_create(&t[i], NULL, quiet_client, &port);
    int ok = 0;
    for (int i = 0; i < 8; i++) {
        void *r;
        pthread_join(t[i], &r);
        ok += (int)(intptr_t)r;
    }
    WF_EXPECT_EQ_INT(ok, 32);
    tu_stop(app);
    WF_EXPECT_EQ_INT(tu_log_count("[warning]"), 1);
    WF_EXPECT_EQ_INT(tu_log_count("GET /quiet/{id}"), 1);
}
