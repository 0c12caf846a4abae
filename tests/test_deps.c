/* Dependencies: per-request cache, nesting, cycles, cleanups (order, after the response, on failure
   and on disconnect), overrides, group dependencies, and dependencies before parameter validation. */
#define _GNU_SOURCE
#include "util.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char trail[512];                 /* what dependencies and cleanups did, in order */
static atomic_int calls_settings, cleanups_run;

static void note(const char *what) {
    size_t n = strlen(trail);
    snprintf(trail + n, sizeof trail - n, "%s%s", n ? "," : "", what);
}

static void close_db(void *arg) {
    note((const char *)arg);
    atomic_fetch_add(&cleanups_run, 1);
}

typedef struct settings { const char *db_url; } settings;
typedef struct db { const char *url; bool open; } db;

WF_DEPENDENCY(settings *, t_get_settings) {
    static settings s = {"sqlite:///./demo.db"};
    (void)req;
    atomic_fetch_add(&calls_settings, 1);
    note("settings");
    return &s;
}

WF_DEPENDENCY(db *, t_get_db) {
    settings *s = WF_DEPENDS(req, t_get_settings);
    db *d = (db *)wf_req_alloc(req, sizeof *d);
    d->url = s->db_url;
    d->open = true;
    note("open db");
    wf_defer(req, close_db, "close db");
    return d;
}

WF_DEPENDENCY(const char *, t_get_repo) {
    db *d = WF_DEPENDS(req, t_get_db);
    settings *s = WF_DEPENDS(req, t_get_settings);      /* cached: not computed again */
    note("repo");
    wf_defer(req, close_db, "close repo");
    return d->open && s ? "users" : NULL;
}

static void h_check(wf_req *req, wf_res *res) {
    const char *repo = WF_DEPENDS(req, t_get_repo);
    db *d = WF_DEPENDS(req, t_get_db);
    wf_reply_json(res, 200, "{s:s, s:s, s:b}", "repo", repo, "db_url", d->url, "db_open", d->open);
}

/* A cycle: a needs b, b needs a. */
WF_DEPENDENCY_EXTERN(dep_b);
WF_DEPENDENCY(void *, dep_a) { return WF_DEPENDS(req, dep_b); }
WF_DEPENDENCY(void *, dep_b) { return WF_DEPENDS(req, dep_a); }

static void h_cycle(wf_req *req, wf_res *res) {
    WF_DEPENDS(req, dep_a);
    wf_reply_text(res, 200, "unreachable");
}

/* Authentication as a dependency: 401 without a token, the user otherwise. */
WF_DEPENDENCY(const char *, current_user) {
    static const char *const hdrs[] = {"WWW-Authenticate: Bearer", NULL};
    wf_str auth = wf_req_header(req, "authorization");
    wf_defer(req, close_db, "auth done");
    if (!auth.ptr) wf_raise_json(req, 401, "\"Not authenticated\"", hdrs);
    if (wf_str_eq(auth, "Bearer admin")) return "admin";
    return "user";
}

static void h_delete_user(wf_req *req, wf_res *res) {
    const char *who = WF_DEPENDS(req, current_user);
    if (strcmp(who, "admin") != 0) wf_raise(req, 403, "Insufficient permissions");
    long long id = wf_param_int(req, WF_IN_PATH, "user_id", "");
    if (wf_invalid(req)) return;
    wf_reply_json(res, 200, "{s:I}", "deleted", id);
}

static void h_admin_stats(wf_req *req, wf_res *res) {
    wf_reply_json(res, 200, "{s:s}", "user", (const char *)WF_DEPENDS(req, current_user));
}

WF_DEPENDENCY(db *, fake_db) {
    static db d = {"sqlite:///:memory:", true};
    (void)req;
    note("open fake");
    wf_defer(req, close_db, "close fake");
    return &d;
}

static int counter;
WF_DEPENDENCY(int *, next_number) {
    int *n = (int *)wf_req_alloc(req, sizeof *n);
    *n = ++counter;
    return n;
}

static void h_fresh(wf_req *req, wf_res *res) {
    int a = *(int *)WF_DEPENDS(req, next_number), b = *(int *)WF_DEPENDS(req, next_number);
    int c = *(int *)wf_depends_fresh(req, &next_number);
    wf_reply_json(res, 200, "[i,i,i]", a, b, c);
}

static wf_app *deps_app(void) {
    wf_app *app = wf_app_new();
    wf_get(app, "/db-check", h_check);
    wf_get(app, "/cycle", h_cycle);
    wf_delete(app, "/users/{user_id}", h_delete_user);
    wf_get(app, "/fresh", h_fresh);
    wf_group *admin = wf_group_new(app, "/admin");
    wf_group_depends(admin, &current_user);
    wf_group_route(admin, "GET", "/stats", h_admin_stats, NULL);
    return app;
}


WF_TEST(deps_cache_nesting_and_cleanup_order) {
    wf_app *app = deps_app();
    wf_test_client *tc = wf_test_client_new(app, NULL);
    char b[256];
    trail[0] = 0;
    atomic_store(&calls_settings, 0);
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/db-check", NULL, NULL, b, sizeof b), 200);
    WF_EXPECT_EQ_STR(b, "{\"repo\":\"users\",\"db_url\":\"sqlite:///./demo.db\",\"db_open\":true}");
    WF_EXPECT_EQ_STR(trail, "settings,open db,repo,close repo,close db");   /* cleanups last in, first out */
    WF_EXPECT_EQ_INT(atomic_load(&calls_settings), 1);                      /* once per request */
    trail[0] = 0;
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/db-check", NULL, NULL, b, sizeof b), 200);
    WF_EXPECT_EQ_INT(atomic_load(&calls_settings), 2);                      /* and again the next */
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/fresh", NULL, NULL, b, sizeof b), 200);
    WF_EXPECT_EQ_STR(b, "[1,1,2]");
    wf_test_client_free(tc);
    wf_app_free(app);
}

WF_TEST(deps_cycle_is_reported_not_hung) {
    wf_app *app = deps_app();
    wf_test_client *tc = wf_test_client_new(app, &(wf_config){.no_access_log = true, .log = tu_log});
    char b[256];
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/cycle", NULL, NULL, b, sizeof b), 500);
    WF_EXPECT_TRUE(tu_log_count("dependency cycle: dep_a -> dep_b -> dep_a") == 1);
    wf_test_client_free(tc);
    wf_app_free(app);
}

WF_TEST(deps_failures_groups_and_validation_order) {
    wf_app *app = deps_app();
    wf_test_client *tc = wf_test_client_new(app, NULL);
    char b[256];
    trail[0] = 0;
    /* FastAPI runs dependencies before validating the handler's own parameters */
    WF_EXPECT_EQ_INT(tu_call(tc, "DELETE", "/users/abc", NULL, NULL, b, sizeof b), 401);
    WF_EXPECT_EQ_STR(b, "{\"detail\":\"Not authenticated\"}");
    WF_EXPECT_EQ_STR(trail, "auth done");                  /* the cleanup ran though the dependency failed */
    WF_EXPECT_EQ_INT(tu_call(tc, "DELETE", "/users/abc", "Authorization: Bearer user", NULL, b, sizeof b),
                     403);
    WF_EXPECT_EQ_STR(b, "{\"detail\":\"Insufficient permissions\"}");
    WF_EXPECT_EQ_INT(tu_call(tc, "DELETE", "/users/abc", "Authorization: Bearer admin", NULL, b, sizeof b),
                     422);
    WF_EXPECT_EQ_INT(tu_call(tc, "DELETE", "/users/7", "Authorization: Bearer admin", NULL, b, sizeof b),
                     200);
    WF_EXPECT_EQ_STR(b, "{\"deleted\":7}");
    /* a group's dependency guards every route in it, and its value is there for the handler */
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/admin/stats", NULL, NULL, b, sizeof b), 401);
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/admin/stats", "Authorization: Bearer admin", NULL, b, sizeof b),
                     200);
    WF_EXPECT_EQ_STR(b, "{\"user\":\"admin\"}");
    wf_test_client_free(tc);
    wf_app_free(app);
}

WF_TEST(deps_overrides_for_tests) {
    wf_app *app = deps_app();
    WF_ASSERT_EQ_INT(wf_override(app, &t_get_db, &fake_db), 0);
    wf_test_client *tc = wf_test_client_new(app, NULL);
    char b[256];
    trail[0] = 0;
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/db-check", NULL, NULL, b, sizeof b), 200);
    WF_EXPECT_EQ_STR(b, "{\"repo\":\"users\",\"db_url\":\"sqlite:///:memory:\",\"db_open\":true}");
    /* the fake's cleanup is honoured */
    WF_EXPECT_EQ_STR(trail, "open fake,settings,repo,close repo,close fake");
    wf_override_clear(app);
    trail[0] = 0;
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/db-check", NULL, NULL, b, sizeof b), 200);
    WF_EXPECT_EQ_STR(b, "{\"repo\":\"users\",\"db_url\":\"sqlite:///./demo.db\",\"db_open\":true}");
    wf_test_client_free(tc);
    wf_app_free(app);
}

/* Over a socket: the response reaches the client while the cleanup still runs (it waits at a gate
   the test opens once it has the response), and a client that leaves mid-stream still gets its
   cleanups run. */
static tu_gate cleanup_gate = TU_GATE_INIT;
static void slow_cleanup(void *arg) {
    (void)arg;
    tu_gate_pass(&cleanup_gate, 8000);
    atomic_fetch_add(&cleanups_run, 1);
}

static void h_slow_cleanup(wf_req *req, wf_res *res) {
    wf_defer(req, slow_cleanup, NULL);
    wf_reply_text(res, 200, "done");
}

static int endless(wf_res *res, void *user) {
    (void)user;
    static char chunk[65536];
    return wf_res_write(res, chunk, sizeof chunk) < 0 ? -1 : 1;
}

static void h_endless(wf_req *req, wf_res *res) {
    wf_defer(req, close_db, "stream over");
    wf_res_stream(res, endless, NULL, NULL);
}

WF_TEST(deps_cleanups_after_the_response_and_on_disconnect) {
    wf_app *app = wf_app_new();
    wf_get(app, "/slow-cleanup", h_slow_cleanup);
    wf_get(app, "/endless", h_endless);
    int port = tu_serve(app, NULL);
    tu_resp r;
    atomic_store(&cleanups_run, 0);
    tu_gate_reset(&cleanup_gate);
    WF_ASSERT_EQ_INT(tu_request(port, "GET /slow-cleanup HTTP/1.1\r\nHost: x\r\n\r\n", &r), 200);
    tu_resp_free(&r);
    WF_EXPECT_EQ_INT(atomic_load(&cleanups_run), 0);   /* the response came first: its cleanup still waits */
    WF_EXPECT_TRUE(tu_gate_arrivals(&cleanup_gate, 1, 5000));
    tu_gate_open(&cleanup_gate);
    WF_EXPECT_TRUE(tu_wait_atomic(&cleanups_run, 1, 5000));
    tu_conn c;
    WF_ASSERT_EQ_INT(tu_connect(&c, port), 0);
    trail[0] = 0;
    tu_sends(&c, "GET /endless HTTP/1.1\r\nHost: x\r\n\r\n");
    char buf[4096];
    WF_ASSERT_GT_INT(recv(c.fd, buf, sizeof buf, 0), 0);
    tu_close(&c);                                   /* leave mid-stream */
    WF_EXPECT_TRUE(tu_wait_atomic(&cleanups_run, 2, 5000));
    WF_EXPECT_EQ_INT(atomic_load(&cleanups_run), 2);
    WF_EXPECT_EQ_STR(trail, "stream over");
    tu_stop(app);
}

/* App scope: built once even when many requests on two loop threads need it at the same moment. */
static atomic_int pool_builds, pool_closed;
typedef struct pool { int id; } pool;

static void close_pool(void *arg) {
    (void)arg;
    atomic_fetch_add(&pool_closed, 1);
}

WF_DEPENDENCY_APP(pool *, get_pool) {
    static pool p;
    (void)req;
    usleep(100000);                             /* slow to build: the others must wait, not rebuild */
    p.id = atomic_fetch_add(&pool_builds, 1) + 1;
    wf_defer(req, close_pool, &p);              /* at shutdown */
    return &p;
}

static void h_pool(wf_req *req, wf_res *res) {
    pool *p = WF_DEPENDS(req, get_pool);
    wf_reply_json(res, 200, "{s:i}", "pool", p->id);
}

static void *hit(void *arg) {
    tu_resp r;
    int port = *(int *)arg, st = tu_request(port, "GET /pool HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    bool ok = st == 200 && strcmp(r.body, "{\"pool\":1}") == 0;
    tu_resp_free(&r);
    return ok ? (void *)1 : NULL;
}

WF_TEST(deps_app_scope_built_once_across_threads) {
    wf_app *app = wf_app_new();
    wf_get(app, "/pool", h_pool);
    atomic_store(&pool_builds, 0), atomic_store(&pool_closed, 0);
    int port = tu_serve(app, &(wf_config){.threads = 2, .no_access_log = true});
    pthread_t t[16];
    for (int i = 0; i < 16; i++) pthread_create(&t[i], NULL, hit, &port);
    int ok = 0;
    for (int i = 0; i < 16; i++) {
        void *r;
        pthread_join(t[i], &r);
        ok += r != NULL;
    }
    WF_EXPECT_EQ_INT(ok, 16);
    WF_EXPECT_EQ_INT(atomic_load(&pool_builds), 1);
    WF_EXPECT_EQ_INT(atomic_load(&pool_closed), 0);
    wf_stop(app);
    wf_wait(app);
    WF_EXPECT_EQ_INT(atomic_load(&pool_closed), 1);    /* its cleanup ran at shutdown, once */
    wf_app_free(app);
    WF_EXPECT_EQ_INT(atomic_load(&pool_closed), 1);
}

static atomic_int flaky_tries;
WF_DEPENDENCY_APP(const char *, flaky_settings) {
    if (atomic_fetch_add(&flaky_tries, 1) == 0) wf_raise(req, 503, "settings not ready");
    return "ready";
}

static void h_flaky(wf_req *req, wf_res *res) {
    wf_reply_json(res, 200, "{s:s}", "settings", (const char *)WF_DEPENDS(req, flaky_settings));
}

WF_TEST(deps_app_scope_failure_is_not_cached) {
    wf_app *app = wf_app_new();
    wf_get(app, "/flaky", h_flaky);
    wf_test_client *tc = wf_test_client_new(app, NULL);
    char b[128];
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/flaky", NULL, NULL, b, sizeof b), 503);
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/flaky", NULL, NULL, b, sizeof b), 200);
    WF_EXPECT_EQ_STR(b, "{\"settings\":\"ready\"}");
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/flaky", NULL, NULL, b, sizeof b), 200);
    WF_EXPECT_EQ_INT(atomic_load(&flaky_tries), 2);
    wf_test_client_free(tc);
    wf_app_free(app);
}
