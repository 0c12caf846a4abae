/* libFuzzer target for the request pipeline behind the HTTP parser: routing, path/query/header/
   cookie/form parameters and their validation, JSON bodies, dependencies with cleanups, errors,
   streams and the serializer, driven through the test client (the server's own code path over a
   socket pair, in this thread). Input: a first byte choosing the method and the body framing, the
   target up to '\n', header lines up to an empty line, then the body.
   Checks beyond the sanitizers: every exchange gives a status in 100..599, and every JSON response
   reads back with the strict reader (the writer must never emit invalid JSON, whatever it echoes).
   Build with -DWF_FUZZ_REPLAY for a plain main() that replays files. */
#define WEBFW_IMPLEMENTATION
#include "../../webfw.h"

static int cleanups;
static void count_cleanup(void *arg) {
    (void)arg;
    cleanups--;
}

WF_DEPENDENCY(int *, f_session) {
    cleanups++;
    wf_defer(req, count_cleanup, NULL);
    if (wf_param_bool(req, WF_IN_QUERY, "fail", "default=false"))
        wf_raise(req, 403, "refused by a dependency");
    return &cleanups;
}

WF_DEPENDENCY(int *, f_service) { return WF_DEPENDS(req, f_session); }

static void h_item(wf_req *req, wf_res *res) {
    (void)WF_DEPENDS(req, f_service);
    long long id = wf_param_int(req, WF_IN_PATH, "id", "");
    long long limit = wf_param_int(req, WF_IN_QUERY, "limit", "default=10,ge=1,le=100");
    double price = wf_param_float(req, WF_IN_QUERY, "price", "default=1.5,gt=0");
    bool flag = wf_param_bool(req, WF_IN_QUERY, "flag", "");
    wf_str q = wf_param_str(req, WF_IN_QUERY, "q", "max_length=50");
    wf_str tok = wf_param_str(req, WF_IN_HEADER, "x-token", "");
    wf_str sess = wf_param_str(req, WF_IN_COOKIE, "session", "min_length=2");
    wf_str tags[4];
    int nt = wf_query_all(req, "tag", tags, 4);
    if (wf_invalid(req)) return;
    wf_reply_json(res, 200, "{s:I,s:I,s:f,s:b,s:S,s:S,s:S,s:i}", "id", id, "limit", limit, "price", price,
                  "flag", flag, "q", q, "token", tok, "session", sess, "tags", nt);
}

static void h_form(wf_req *req, wf_res *res) {
    wf_str user = wf_param_str(req, WF_IN_FORM, "username", "required");
    wf_str pass = wf_param_str(req, WF_IN_FORM, "password", "required,min_length=1");
    long long n = wf_param_int(req, WF_IN_FORM, "n", "default=0");
    if (wf_invalid(req)) return;
    wf_reply_json(res, 200, "{s:S,s:i,s:I}", "username", user, "password_len", (int)pass.len, "n", n);
}

static void h_json(wf_req *req, wf_res *res) {
    wf_str name = wf_body_str(req, "name", "required,max_length=64");
    double price = wf_body_float(req, "price", "required");
    long long qty = wf_body_int(req, "qty", "default=1,ge=0");
    bool gift = wf_body_bool(req, "gift", "default=false");
    if (wf_invalid(req)) return;
    wf_reply_json(res, 201, "{s:S,s:f,s:I,s:b}", "name", name, "price", price, "qty", qty, "gift", gift);
}

static void h_echo(wf_req *req, wf_res *res) {
    wf_str b = wf_req_body(req);
    wf_reply(res, 200, "application/octet-stream", b.ptr, b.len);
}

static void h_path(wf_req *req, wf_res *res) {
    wf_reply_json(res, 200, "{s:S}", "path", wf_path_param(req, "rest"));
}

static int produce(wf_res *res, void *user) {
    int *left = (int *)user;
    if (*left <= 0) return 0;
    char line[32];
    int n = snprintf(line, sizeof line, "part %d\n", (*left)--);
    return wf_res_write(res, line, (size_t)n) < 0 ? -1 : 1;
}

static void h_stream(wf_req *req, wf_res *res) {
    int *left = (int *)wf_req_alloc(req, sizeof *left);
    if (!left) wf_fail(req, "out of memory");
    *left = (int)wf_param_int(req, WF_IN_QUERY, "n", "default=3,ge=0,le=20");
    if (wf_invalid(req)) return;
    wf_res_stream(res, produce, left, NULL);
}

static void h_redirect(wf_req *req, wf_res *res) {
    wf_str to = wf_param_str(req, WF_IN_QUERY, "to", "default=/");
    char *loc = (char *)wf_req_alloc(req, to.len + 1);
    if (!loc) wf_fail(req, "out of memory");
    memcpy(loc, to.ptr, to.len), loc[to.len] = 0;
    if (wf_redirect(res, 307, loc) < 0) wf_raise(req, 400, "bad location");
}

static void quiet(void *user, wf_log_level level, const char *msg) { (void)user, (void)level, (void)msg; }

static wf_test_client *client(void) {
    static wf_test_client *tc;
    if (tc) return tc;
    wf_app *app = wf_app_new();
    wf_group *g = wf_group_new(app, "/api");
    wf_get(app, "/items/{id:int}", h_item);
    wf_route(app, "GET", "/blocking/{id:int}", h_item, &(wf_route_opts){.blocking = true});
    wf_post(app, "/form", h_form);
    wf_post(app, "/json", h_json);
    wf_put(app, "/echo", h_echo);
    wf_get(app, "/files/{rest:path}", h_path);
    wf_get(app, "/stream", h_stream);
    wf_get(app, "/go", h_redirect);
    wf_group_route(g, "DELETE", "/items/{id}/", h_item, NULL);
    wf_group_depends(g, &f_session);
    tc = wf_test_client_new(app, &(wf_config){.no_access_log = true, .log = quiet, .max_body = 1 << 16});
    return tc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *const methods[] = {"GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "GET"};
    if (size < 2 || size > 8192) return 0;
    wf_test_client *tc = client();
    char *text = (char *)malloc(size);
    if (!text) return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = 0;                     /* strings below stop at the first NUL anyway */
    char *p = text, *end = text + size - 1, *headers[9];
    char *nl = (char *)memchr(p, '\n', (size_t)(end - p));
    char target[2048];
    size_t tl = nl ? (size_t)(nl - p) : strlen(p);
    snprintf(target, sizeof target, "%s%.*s", p[0] == '/' ? "" : "/", (int)(tl < 2000 ? tl : 2000), p);
    p = nl ? nl + 1 : end;
    int nh = 0;
    while (p < end && nh < 8) {
        nl = (char *)memchr(p, '\n', (size_t)(end - p));
        if (!nl || nl == p) {
            if (nl) p = nl + 1;
            break;
        }
        *nl = 0;
        headers[nh++] = p;
        p = nl + 1;
    }
    headers[nh] = NULL;
    wf_test_req rq = {.method = methods[data[0] & 7], .path = target, .headers = (const char *const *)headers,
                      .body = p < end ? p : NULL, .body_len = p < end ? (size_t)(end - p) : 0,
                      .chunked = (data[0] & 8) != 0, .http10 = (data[0] & 16) != 0 && !(data[0] & 8)};
    wf_test_res res;
    int rc = wf_test_request(tc, &rq, &res);
    if (rc == 0) {
        if (res.status < 100 || res.status > 599) __builtin_trap();
        wf_str ct = wf_test_header(&res, "content-type");
        bool json = ct.ptr && ct.len >= 16 && memcmp(ct.ptr, "application/json", 16) == 0;
        if (json && res.body_len && !wf_test_json(&res)) __builtin_trap();
    }
    wf_test_res_free(&res);
    if (cleanups != 0) __builtin_trap();    /* every dependency's cleanup ran, once */
    free(text);
    return 0;
}

#include "replay.h"
