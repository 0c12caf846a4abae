/* libFuzzer target for route matching with percent-decoding: the input is a request path matched
   against a table of literal, typed and path patterns; every match is checked for consistency. */
#define WEBFW_IMPLEMENTATION
#define WF_NO_TESTING
#include "../../webfw.h"

static void h(wf_req *req, wf_res *res) {
    (void)req;
    (void)res;
}

static wf_app *table(void) {
    static const char *const pats[] = {
        "/", "/items/", "/items/{id}", "/items/me", "/items/{id}/sub/{sub:int}", "/n/{x:int}", "/n/{x:float}",
        "/n/{x}", "/files/{p:path}", "/a/{x}/d", "/a/b/c", "/caf\xc3\xa9/{rest:path}", "/%/{y}", "/users",
        "/{a}/{b}/{c}/{d}", "/deep/1/2/3/4/5/6/7/8/9/{z:int}",
    };
    wf_app *app = wf_app_new();
    for (size_t i = 0; i < sizeof pats / sizeof pats[0]; i++) {
        if (wf_get(app, pats[i], h) != 0) __builtin_trap();
        wf_post(app, pats[i], h);
    }
    return app;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static wf_app *app;
    if (!app) app = table();
    char *dec = (char *)malloc(size + 2);
    if (!dec) return 0;
    dec[0] = '/';
    size_t n = 1 + wf_percent_decode(dec + 1, (const char *)data, size, false);
    if (n > size + 1) __builtin_trap();
    wf__params_found found;
    found.n = 0;
    found.npartial = 0;
    wf_str method = {size && (data[0] & 1) ? "GET" : "PUT", 3};
    const wf__rnode *node = wf__match_path(&app->router.root, dec + 1, dec + n, method, &found);
    if (node && !wf__node_route(node, method)) __builtin_trap();
    if (found.n < 0 || found.n > WF__MAX_PARAMS) __builtin_trap();
    const wf__route *rt = node ? wf__node_route(node, method) : NULL;
    for (int i = 0; node && i < found.n; i++) {    /* every value lies inside the decoded path */
        const wf_str *v = &found.value[i];
        if (v->ptr < dec + 1 || v->ptr + v->len > dec + n) __builtin_trap();
        if (!rt->names[i] || (strcmp(rt->names[i], "x") == 0 && found.value[i].len == 0)) __builtin_trap();
    }
    free(dec);
    return 0;
}

#include "replay.h"
