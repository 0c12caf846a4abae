/* bench_app.c - the app `make bench` measures (tests/bench/run.sh): plaintext, JSON and echo among a
   realistic table of routes, plus two routes that show what the server received, for HTTP
   conformance probes run from outside:
     GET  /        text/plain "Hello, World!"
     GET  /json    {"message":"Hello, World!"}
     POST /        {"received": <body length>}
     POST /echo    the request body, as application/octet-stream
     GET  /echo    the request's header fields, one "Name: value" line each, in the order and case
                   they were sent (text/plain)
     GET  /cookie  the request's cookies as parsed, one "name=value" line each (text/plain)
     GET  /users/{uid:int}/posts/{pid:int}?limit=&offset=&sort=   validated parameters
     GET  /bare, /deps, /task   the same JSON bare, behind three dependencies, with a background task
     WS   /ws-echo  echoes text as text and binary as binary, byte for byte (16 MiB messages): the
                   endpoint for WebSocket conformance suites and benchmarks
     and 50 routes under /api/v1/ such as GET /api/v1/users/{id:int}/history/{entry}.
   Environment: PORT (default 8000), THREADS the loop threads (default one per CPU), ACCESS_LOG=0
   silences the access log, TASK_MS how long the background task of GET /task sleeps (default 20).
   Build: make build/bench_app (or cc -O2 examples/bench_app.c -lpthread). */
#ifndef BENCH_APP_NO_MAIN
#define WEBFW_IMPLEMENTATION
#endif
#include "../webfw.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void plaintext(wf_req *req, wf_res *res) {
    (void)req;
    wf_res_add_header(res, "Content-Type", "text/plain");
    wf_res_set_body(res, "Hello, World!", 13, WF_BODY_BORROW);
}

static void json(wf_req *req, wf_res *res) {
    (void)req;
    wf_reply_json(res, 200, "{s:s}", "message", "Hello, World!");
}

static void post_root(wf_req *req, wf_res *res) {
    wf_reply_json(res, 200, "{s:i}", "received", (int)wf_req_body(req).len);
}

static void echo(wf_req *req, wf_res *res) {
    wf_str body = wf_req_body(req);
    wf_reply(res, 200, "application/octet-stream", body.ptr, body.len);
}

/* Append "<name><sep><value>\n" to b. Returns 0 or WF_ENOMEM. */
static int append_line(wf_buf *b, wf_str name, const char *sep, wf_str value) {
    if (wf_buf_append(b, name.ptr, name.len) < 0) return WF_ENOMEM;
    if (wf_buf_append(b, sep, strlen(sep)) < 0) return WF_ENOMEM;
    if (wf_buf_append(b, value.ptr, value.len) < 0) return WF_ENOMEM;
    return wf_buf_append(b, "\n", 1);
}

/* Reply with the lines in b as text/plain and free b; a 500 if building them ran out of memory. */
static void reply_lines(wf_req *req, wf_res *res, wf_buf *b, int rc) {
    if (rc == 0) rc = wf_reply(res, 200, "text/plain", b->ptr, b->len);
    wf_buf_free(b);
    if (rc != 0) wf_fail(req, "out of memory");
}

/* GET /echo: every header field as received, "Name: value" per line. */
static void echo_headers(wf_req *req, wf_res *res) {
    wf_buf b = {0};
    wf_str name, value;
    int rc = 0;
    for (int i = 0; rc == 0 && wf_req_header_at(req, i, &name, &value); i++)
        rc = append_line(&b, name, ": ", value);
    reply_lines(req, res, &b, rc);
}

/* GET /cookie: every cookie of the Cookie header as the cookie parameters read it, "name=value" per line. */
static void echo_cookies(wf_req *req, wf_res *res) {
    wf_buf b = {0};
    wf_str name, value;
    int rc = 0;
    for (int i = 0; rc == 0 && wf_req_cookie_at(req, i, &name, &value); i++)
        rc = append_line(&b, name, "=", value);
    reply_lines(req, res, &b, rc);
}

/* Two typed path parameters and three query parameters, validated. */
static void user_post(wf_req *req, wf_res *res) {
    long long uid = wf_param_int(req, WF_IN_PATH, "uid", "");
    long long pid = wf_param_int(req, WF_IN_PATH, "pid", "");
    long long limit = wf_param_int(req, WF_IN_QUERY, "limit", "default=10,ge=1,le=100");
    long long offset = wf_param_int(req, WF_IN_QUERY, "offset", "default=0,ge=0");
    wf_str sort = wf_param_str(req, WF_IN_QUERY, "sort", "default=asc,max_length=4");
    if (wf_invalid(req)) return;
    wf_reply_json(res, 200, "{s:I,s:I,s:I,s:I,s:S}", "user", uid, "post", pid, "limit", limit,
                  "offset", offset, "sort", sort);
}

/* The same reply with no dependency, and behind a three-deep chain whose first link has a cleanup. */
static void bare(wf_req *req, wf_res *res) {
    (void)req;
    wf_reply_json(res, 200, "{s:s}", "message", "Hello, World!");
}

static int opened;
static void close_conn(void *arg) { (*(int *)arg)--; }

WF_DEPENDENCY(int *, get_conn) {
    opened++;
    wf_defer(req, close_conn, &opened);
    return &opened;
}

WF_DEPENDENCY(int *, get_repo) { return WF_DEPENDS(req, get_conn); }
WF_DEPENDENCY(int *, get_service) { return WF_DEPENDS(req, get_repo); }

static void with_deps(wf_req *req, wf_res *res) {
    (void)WF_DEPENDS(req, get_service);
    wf_reply_json(res, 200, "{s:s}", "message", "Hello, World!");
}

/* The bare reply plus one background task that takes task_ms on the worker pool. */
static int task_ms = 20;

static int slow_task(void *arg) {
    (void)arg;
    struct timespec ts = {task_ms / 1000, (long)(task_ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
    return 0;
}

static void with_task(wf_req *req, wf_res *res) {
    if (wf_add_task(req, "slow", slow_task, NULL, NULL) == WF_EFULL)
        wf_raise(req, 503, "Too many queued tasks");
    wf_reply_json(res, 200, "{s:s}", "message", "Hello, World!");
}

static void other(wf_req *req, wf_res *res) {
    wf_reply_json(res, 200, "{s:S}", "path", wf_req_path(req));
}

/* One route of the table: method, and the pattern "/api/v1/<resource><rest>". */
static void add_route(wf_app *app, const char *method, const char *resource, const char *rest) {
    char pattern[96];
    snprintf(pattern, sizeof pattern, "/api/v1/%s%s", resource, rest);
    wf_route(app, method, pattern, other, NULL);
}

/* 50 more routes, as a real API has: resources with ids, nested resources, actions. */
static void add_table(wf_app *app) {
    static const char *const resources[] = {"users", "orders", "products", "invoices", "teams",
                                            "projects", "tickets", "reports", "devices", "events"};
    for (int i = 0; i < 10; i++) {
        add_route(app, "GET", resources[i], "");
        add_route(app, "POST", resources[i], "");
        add_route(app, "GET", resources[i], "/{id:int}");
        add_route(app, "DELETE", resources[i], "/{id:int}");
        add_route(app, "GET", resources[i], "/{id:int}/history/{entry}");
    }
}

static void ws_echo_message(wf_ws *ws, int opcode, const char *data, size_t len) {
    if (opcode == WF_WS_TEXT) wf_ws_send_text(ws, data, len);
    else wf_ws_send_binary(ws, data, len);
}

static const wf_ws_opts ws_echo_opts = {.on_message = ws_echo_message};

static void ws_echo(wf_req *req, wf_res *res) {
    (void)res;
    wf_ws_accept(req);
}

/* The app with every route; NULL without memory. */
wf_app *bench_app(void);
wf_app *bench_app(void) {
    wf_app *app = wf_app_new();
    if (!app) return NULL;
    add_table(app);
    wf_get(app, "/", plaintext);
    wf_get(app, "/json", json);
    wf_post(app, "/", post_root);
    wf_post(app, "/echo", echo);
    wf_get(app, "/echo", echo_headers);
    wf_get(app, "/cookie", echo_cookies);
    wf_get(app, "/users/{uid:int}/posts/{pid:int}", user_post);
    wf_get(app, "/bare", bare);
    wf_get(app, "/deps", with_deps);
    wf_get(app, "/task", with_task);
    wf_websocket(app, "/ws-echo", ws_echo, &ws_echo_opts);
    return app;
}

#ifndef BENCH_APP_NO_MAIN
int main(void) {
    const char *port = getenv("PORT"), *threads = getenv("THREADS"), *log = getenv("ACCESS_LOG");
    const char *tms = getenv("TASK_MS");
    if (tms) task_ms = atoi(tms);
    wf_app *app = bench_app();
    if (!app) return 1;
    int rc = wf_run(app, &(wf_config){
        .port = port ? atoi(port) : 8000,
        .threads = threads ? atoi(threads) : 0,
        .no_access_log = log && strcmp(log, "0") == 0,
    });
    wf_app_free(app);
    return rc == 0 ? 0 : 1;
}
#endif
