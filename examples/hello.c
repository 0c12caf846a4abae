/* hello.c - the benchmark app: plaintext, JSON and echo.
   PORT sets the port (default 8000), THREADS the loop threads, ACCESS_LOG=0 silences the log. */
#define WEBFW_IMPLEMENTATION
#include "../webfw.h"

static void plaintext(wf_req *req, wf_res *res) {
    (void)req;
    wf_res_header(res, "Content-Type", "text/plain");
    wf_res_body(res, "Hello, World!", 13, WF_BODY_BORROW);
}

static void json(wf_req *req, wf_res *res) {
    static const char body[] = "{\"message\":\"Hello, World!\"}";
    (void)req;
    wf_res_header(res, "Content-Type", "application/json");
    wf_res_body(res, body, sizeof body - 1, WF_BODY_BORROW);
}

static void post_root(wf_req *req, wf_res *res) {
    char msg[64];
    snprintf(msg, sizeof msg, "received %zu bytes", wf_req_body(req).len);
    wf_reply_text(res, 200, msg);
}

static void echo(wf_req *req, wf_res *res) {
    wf_str body = wf_req_body(req);
    wf_str type = wf_req_header(req, "Content-Type");
    char ct[256];
    snprintf(ct, sizeof ct, "%.*s", (int)(type.ptr ? type.len : 24), type.ptr ? type.ptr : "application/octet-stream");
    if (wf_reply(res, 200, NULL, body.ptr, body.len) == 0) wf_res_header(res, "Content-Type", ct);
}

int main(void) {
    const char *port = getenv("PORT"), *threads = getenv("THREADS"), *log = getenv("ACCESS_LOG");
    wf_app *app = wf_app_new();
    if (!app) return 1;
    wf_get(app, "/", plaintext);
    wf_get(app, "/json", json);
    wf_post(app, "/", post_root);
    wf_post(app, "/echo", echo);
    int rc = wf_run(app, &(wf_config){
        .port = port ? atoi(port) : 8000,
        .threads = threads ? atoi(threads) : 0,
        .no_access_log = log && strcmp(log, "0") == 0,
    });
    wf_app_free(app);
    return rc == 0 ? 0 : 1;
}
