/* Errors raised from handlers and what they call, custom error handlers, 500 on failure, and
   middleware around everything, errors included. */
#define _GNU_SOURCE
#include "util.h"
#include <stdio.h>
#include <string.h>

static void find_item(wf_req *req, const char *id) {
    if (strcmp(id, "foo") != 0) wf_raise(req, 404, "Item not found");
}

static void h_item(wf_req *req, wf_res *res) {
    char *id = (char *)wf_req_alloc(req, 64);
    wf_str v = wf_path_param(req, "id");
    snprintf(id, 64, "%.*s", (int)v.len, v.ptr);
    find_item(req, id);                 /* raises for anything but foo */
    wf_reply_json(res, 200, "{s:s}", "item", id);
}

static void h_auth(wf_req *req, wf_res *res) {
    static const char *const hdrs[] = {"WWW-Authenticate: Bearer", NULL};
    (void)res;
    wf_raise_json(req, 401, "{\"error\":\"token\",\"codes\":[1,2]}", hdrs);
}

static void h_fail(wf_req *req, wf_res *res) {
    (void)res;
    wf_fail(req, "database is on fire");
}

static void h_state(wf_req *req, wf_res *res) {
    const char *who = (const char *)wf_get_state(req, "user");
    wf_reply_json(res, 200, "{s:s}", "user", who);
}

static wf_app *error_app(void) {
    wf_app *app = wf_app_new();
    wf_get(app, "/items/{id}", h_item);
    wf_get(app, "/auth", h_auth);
    wf_get(app, "/fail", h_fail);
    wf_get(app, "/state", h_state);
    return app;
}

/* GET path; expect status and body. A failure names the caller's line. */
static void check_at(tu_at at, wf_test_client *tc, const char *path, int status, const char *body) {
    wf_test_res r;
    TU_ASSERT_EQ_INT_AT(at, wf_test_get(tc, path, &r), 0);
    TU_EXPECT_EQ_INT_AT(at, r.status, status);
    TU_EXPECT_EQ_STR_AT(at, r.body, body);
    wf_test_res_free(&r);
}
#define check(...) check_at(TU_HERE, __VA_ARGS__)

WF_TEST(errors_raise_from_nested_calls) {
    wf_app *app = error_app();
    wf_test_client *tc = wf_test_client_new(app, &(wf_config){.no_access_log = true, .log = tu_log});
    check(tc, "/items/foo", 200, "{\"item\":\"foo\"}");
    check(tc, "/items/bar", 404, "{\"detail\":\"Item not found\"}");
    wf_test_res r;
    WF_ASSERT_EQ_INT(wf_test_get(tc, "/auth", &r), 0);
    WF_EXPECT_EQ_INT(r.status, 401);
    WF_EXPECT_EQ_STR(r.body, "{\"detail\":{\"error\":\"token\",\"codes\":[1,2]}}");
    wf_str h = wf_test_header(&r, "www-authenticate");
    WF_EXPECT_EQ_MEM(h.ptr, h.len, "Bearer", 6);
    wf_test_res_free(&r);
    check(tc, "/fail", 500, "{\"detail\":\"Internal Server Error\"}");
    WF_EXPECT_TRUE(tu_log_count("GET /fail failed: database is on fire") == 1);
    wf_test_client_free(tc);
    wf_app_free(app);
}

static void custom_404(wf_req *req, wf_res *res, int status, const char *detail) {
    char body[256];
    (void)req;
    snprintf(body, sizeof body, "<h1>%d</h1><p>%s</p>", status, detail);
    wf_reply(res, status, "text/html; charset=utf-8", body, strlen(body));
}

static void custom_any(wf_req *req, wf_res *res, int status, const char *detail) {
    (void)req;
    wf_reply_json(res, status, "{s:i, s:j}", "code", status, "error", detail);
}

WF_TEST(errors_custom_handlers) {
    wf_app *app = error_app();
    WF_ASSERT_EQ_INT(wf_on_error(app, 404, custom_404), 0);
    WF_ASSERT_EQ_INT(wf_on_error(app, 0, custom_any), 0);
    wf_get(app, "/q", h_state);
    wf_test_client *tc = wf_test_client_new(app, NULL);
    check(tc, "/items/bar", 404, "<h1>404</h1><p>\"Item not found\"</p>");
    check(tc, "/nowhere", 404, "<h1>404</h1><p>\"Not Found\"</p>");
    check(tc, "/auth", 401, "{\"code\":401,\"error\":{\"error\":\"token\",\"codes\":[1,2]}}");
    wf_test_req rq = {.method = "POST", .path = "/auth"};
    wf_test_res r;
    WF_ASSERT_EQ_INT(wf_test_request(tc, &rq, &r), 0);
    WF_EXPECT_EQ_STR(r.body, "{\"code\":405,\"error\":\"Method Not Allowed\"}");
    WF_EXPECT_TRUE(wf_test_header(&r, "allow").ptr != NULL);
    wf_test_res_free(&r);
    wf_test_client_free(tc);
    wf_app_free(app);
}

/* Middleware: the first added is the outermost. */
static void mw_outer(wf_req *req, wf_res *res, void *user) {
    (void)user;
    wf_set_state(req, "user", "alice");
    wf_next(req, res);
    char v[32];
    snprintf(v, sizeof v, "outer-%d", wf_res_get_status(res));
    wf_res_add_header(res, "X-Outer", v);              /* sees every response, errors too */
}

static void mw_inner(wf_req *req, wf_res *res, void *user) {
    int *count = (int *)user;
    (*count)++;
    if (wf_str_eq(wf_req_path(req), "/blocked")) {  /* a short-circuit: no handler runs */
        wf_reply_json(res, 403, "{s:s}", "detail", "blocked by middleware");
        return;
    }
    if (wf_str_eq(wf_req_path(req), "/raise-in-mw")) wf_raise(req, 418, "teapot");
    wf_next(req, res);
    wf_res_add_header(res, "X-Inner", "inner");
}

/* An inner middleware that raises: the outer one still sees the response. */
static void mw_raiser(wf_req *req, wf_res *res, void *user) {
    (void)user;
    if (!wf_req_header(req, "authorization").ptr) wf_raise(req, 401, "Not authenticated");
    wf_next(req, res);
}

WF_TEST(middleware_outer_sees_a_raise_from_an_inner_one) {
    wf_app *app = error_app();
    wf_use(app, mw_outer, NULL);
    wf_use(app, mw_raiser, NULL);
    wf_test_client *tc = wf_test_client_new(app, NULL);
    wf_test_res r;
    WF_ASSERT_EQ_INT(wf_test_get(tc, "/state", &r), 0);
    WF_EXPECT_EQ_INT(r.status, 401);
    WF_EXPECT_EQ_MEM(wf_test_header(&r, "x-outer").ptr, 9, "outer-401", 9);
    wf_test_res_free(&r);
    wf_test_client_free(tc);
    wf_app_free(app);
}

WF_TEST(middleware_order_shortcircuit_and_errors) {
    wf_app *app = error_app();
    int count = 0;
    WF_ASSERT_EQ_INT(wf_use(app, mw_outer, NULL), 0);
    WF_ASSERT_EQ_INT(wf_use(app, mw_inner, &count), 0);
    wf_test_client *tc = wf_test_client_new(app, NULL);
    wf_test_res r;
    WF_ASSERT_EQ_INT(wf_test_get(tc, "/state", &r), 0);
    WF_EXPECT_EQ_STR(r.body, "{\"user\":\"alice\"}");
    WF_EXPECT_EQ_MEM(wf_test_header(&r, "x-outer").ptr, 9, "outer-200", 9);
    WF_EXPECT_TRUE(wf_test_header(&r, "x-inner").ptr != NULL);
    wf_test_res_free(&r);
    WF_ASSERT_EQ_INT(wf_test_get(tc, "/items/zzz", &r), 0);       /* raised in the handler */
    WF_EXPECT_EQ_INT(r.status, 404);
    WF_EXPECT_EQ_MEM(wf_test_header(&r, "x-outer").ptr, 9, "outer-404", 9);
    WF_EXPECT_TRUE(wf_test_header(&r, "x-inner").ptr != NULL);
    wf_test_res_free(&r);
    WF_ASSERT_EQ_INT(wf_test_get(tc, "/blocked", &r), 0);
    WF_EXPECT_EQ_INT(r.status, 403);
    WF_EXPECT_EQ_STR(r.body, "{\"detail\":\"blocked by middleware\"}");
    WF_EXPECT_EQ_MEM(wf_test_header(&r, "x-outer").ptr, 9, "outer-403", 9);
    wf_test_res_free(&r);
    WF_ASSERT_EQ_INT(wf_test_get(tc, "/raise-in-mw", &r), 0);     /* raised in a middleware */
    WF_EXPECT_EQ_INT(r.status, 418);
    WF_EXPECT_EQ_STR(r.body, "{\"detail\":\"teapot\"}");
    wf_test_res_free(&r);
    WF_EXPECT_EQ_INT(count, 4);
    wf_test_client_free(tc);
    wf_app_free(app);
}
