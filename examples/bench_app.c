/* hello.c - the benchmark app: plaintext, JSON and echo, among a realistic table of routes.
   PORT sets the port (default 8000), THREADS the loop threads, ACCESS_LOG=0 silences the log,
   TASK_MS how long the background task of GET /task sleeps (default 20). */
#define WEBFW_IMPLEMENTATION
#include "../webfw.h"

static void plaintext(wf_req *req, wf_res *res) {
    (void)req;
    wf_res_header(res, "Content-Type", "text/plain");
    wf_res_body(res, "Hello, World!", 13, WF_BODY_BORROW);
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

/* Two typed path parameters and three query parameters, validated. */
static void user_post(wf_req *req, wf_res *res) {
    long long uid = wf_param_int(req, WF_IN_PATH, "uid", "");
    long long pid = wf_param_int(req, WF_IN_PATH, "pid", "");
    long long limit = wf_param_int(req, WF_IN_QUERY, "limit", "default=10,ge=1,le=100");
    long long offset = wf_param_int(req, WF_IN_QUERY, "offset", "default=0,ge=0");
    wf_str sort = wf_param_str(req, WF_IN_QUERY, "sort", "default=asc,max_length=4");
    if (wf_invalid(req)) return;
    wf_reply_json(res, 200, "{s:I,s:I,s:I,s:I,s:S}", "user", uid, "post", pid, "limit", limit, "offset", offset,
                  "sort", sort);
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
    if (wf_add_task(req, "slow", slow_task, NULL, NULL) == WF_EFULL) wf_raise(req, 503, "Too many queued tasks");
    wf_reply_json(res, 200, "{s:s}", "message", "Hello, World!");
}

static void other(wf_req *req, wf_res *res) {
    wf_reply_json(res, 200, "{s:S}", "path", wf_req_path(req));
}

/* 50 more routes, as a real API has: resources with ids, nested resources, actions. */
static void add_table(wf_app *app) {
    static const char *const resources[] = {"users", "orders", "products", "invoices", "teams",
                                            "projects", "tickets", "reports", "devices", "events"};
    char pat[96];
    for (int i = 0; i < 10; i++) {
        const char *r = resources[i];
        snprintf(pat, sizeof pat, "/api/v1/%s", r), wf_get(app, pat, other);
        snprintf(pat, sizeof pat, "/api/v1/%s", r), wf_post(app, pat, other);
        snprintf(pat, sizeof pat, "/api/v1/%s/{id:int}", r), wf_get(app, pat, other);
        snprintf(pat, sizeof pat, "/api/v1/%s/{id:int}", r), wf_delete(app, pat, other);
        snprintf(pat, sizeof pat, "/api/v1/%s/{id:int}/history/{entry}", r), wf_get(app, pat, other);
    }
}

int main(void) {
    const char *port = getenv("PORT"), *threads = getenv("THREADS"), *log = getenv("ACCESS_LOG");
    const char *tms = getenv("TASK_MS");
    if (tms) task_ms = atoi(tms);
    wf_app *app = wf_app_new();
    if (!app) return 1;
    add_table(app);
    wf_get(app, "/", plaintext);
    wf_get(app, "/json", json);
    wf_post(app, "/", post_root);
    wf_post(app, "/echo", echo);
    wf_get(app, "/users/{uid:int}/posts/{pid:int}", user_post);
    wf_get(app, "/bare", bare);
    wf_get(app, "/deps", with_deps);
    wf_get(app, "/task", with_task);
    int rc = wf_run(app, &(wf_config){
        .port = port ? atoi(port) : 8000,
        .threads = threads ? atoi(threads) : 0,
        .no_access_log = log && strcmp(log, "0") == 0,
    });
    wf_app_free(app);
    return rc == 0 ? 0 : 1;
}
