/* The router: literal and typed segments, priorities, backtracking, percent-decoding, 404/405 with
   Allow, HEAD, the trailing-slash 307, groups, and refused patterns. */
#define _GNU_SOURCE
#include "util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every handler answers "<name> <param>=<value>..." so tests see which route ran with what. */
static void answer(wf_req *req, wf_res *res, const char *name, const char *const *params) {
    char out[512];
    int n = snprintf(out, sizeof out, "%s", name);
    for (int i = 0; params[i]; i++) {
        wf_str v = wf_path_param(req, params[i]);
        if (v.ptr) n += snprintf(out + n, sizeof out - (size_t)n, " %s=%.*s", params[i], (int)v.len, v.ptr);
        else n += snprintf(out + n, sizeof out - (size_t)n, " %s=(none)", params[i]);
    }
    wf_reply_text(res, 200, out);
}

#define ROUTE(fn, ...)                                            \
    static void fn(wf_req *req, wf_res *res) {                    \
        static const char *const p[] = {__VA_ARGS__, NULL};       \
        answer(req, res, #fn, p);                                 \
    }
ROUTE(items_me, "id")
ROUTE(items_id, "id")
ROUTE(n_int, "x")
ROUTE(n_float, "x")
ROUTE(n_str, "x")
ROUTE(files, "p")
ROUTE(abd, "x")
ROUTE(abc, "x")
ROUTE(m_param, "x")
ROUTE(m_lit, "x")
ROUTE(multi, "x")
ROUTE(list_items, "x")
ROUTE(users, "x")
ROUTE(ping, "x")
ROUTE(stats, "x")
ROUTE(cafe, "x")
ROUTE(two, "a", "b")

/* The routes of these tests; a registration that fails names the caller's line (and the route). */
static wf_app *router_app_at(tu_at at) {
    wf_app *app = wf_app_new();
    TU_ASSERT_EQ_INT_AT(at, wf_get(app, "/items/me", items_me), 0);
    TU_ASSERT_EQ_INT_AT(at, wf_get(app, "/items/{id}", items_id), 0);
    TU_ASSERT_EQ_INT_AT(at, wf_get(app, "/n/{x:int}", n_int), 0);
    TU_ASSERT_EQ_INT_AT(at, wf_get(app, "/n/{x:float}", n_float), 0);
    TU_ASSERT_EQ_INT_AT(at, wf_get(app, "/n/{x}", n_str), 0);
    TU_ASSERT_EQ_INT_AT(at, wf_get(app, "/files/{p:path}", files), 0);
    TU_ASSERT_EQ_INT_AT(at, wf_get(app, "/a/{x}/d", abd), 0);
    TU_ASSERT_EQ_INT_AT(at, wf_get(app, "/a/b/c", abc), 0);
    TU_ASSERT_EQ_INT_AT(at, wf_get(app, "/m/{x}", m_param), 0);
    TU_ASSERT_EQ_INT_AT(at, wf_post(app, "/m/lit", m_lit), 0);
    TU_ASSERT_EQ_INT_AT(at, wf_get(app, "/multi", multi), 0);
    TU_ASSERT_EQ_INT_AT(at, wf_post(app, "/multi", multi), 0);
    TU_ASSERT_EQ_INT_AT(at, wf_delete(app, "/multi", multi), 0);
    TU_ASSERT_EQ_INT_AT(at, wf_get(app, "/list/", list_items), 0);
    TU_ASSERT_EQ_INT_AT(at, wf_get(app, "/users", users), 0);
    TU_ASSERT_EQ_INT_AT(at, wf_get(app, "/caf\xc3\xa9", cafe), 0);
    TU_ASSERT_EQ_INT_AT(at, wf_get(app, "/two/{a:int}/and/{b}", two), 0);
    wf_group *api = wf_group_new(app, "/api/v1/");
    TU_ASSERT_TRUE_AT(at, api != NULL);
    TU_ASSERT_EQ_INT_AT(at, wf_group_route(api, "GET", "/ping", ping, NULL), 0);
    wf_group *admin = wf_group_sub(api, "/admin");
    TU_ASSERT_EQ_INT_AT(at, wf_group_route(admin, "GET", "/stats", stats, NULL), 0);
    return app;
}
#define router_app() router_app_at(TU_HERE)

/* GET path on a fresh connection; returns the status, the body in out. */
static int get(int port, const char *method, const char *path, char *out, size_t cap, char *loc) {
    char raw[1024];
    tu_resp r;
    snprintf(raw, sizeof raw, "%s %s HTTP/1.1\r\nHost: testserver\r\nContent-Length: 0\r\n\r\n", method,
             path);
    int st = tu_request(port, raw, &r);
    snprintf(out, cap, "%s", r.body ? r.body : "");
    if (loc && !tu_header(&r, "Location", loc, 256)) loc[0] = 0;
    if (loc && st == 405) tu_header(&r, "Allow", loc, 256);
    tu_resp_free(&r);
    return st;
}

WF_TEST(router_priorities_types_and_decoding) {
    wf_app *app = router_app();
    int port = tu_serve(app, NULL);
    char b[512];
    static const struct { const char *path, *want; } ok[] = {
        {"/items/me", "items_me id=(none)"},
        {"/items/5", "items_id id=5"},
        {"/items/a%20b", "items_id id=a b"},
        {"/items/%E2%82%AC", "items_id id=\xe2\x82\xac"},
        {"/n/12", "n_int x=12"},
        {"/n/1.5", "n_float x=1.5"},
        {"/n/-1", "n_str x=-1"},
        {"/n/1.", "n_str x=1."},
        {"/n/abc", "n_str x=abc"},
        {"/files/a/b/c.txt", "files p=a/b/c.txt"},
        {"/files/", "files p="},
        {"/files/%2e%2e/x", "files p=../x"},
        {"/a/b/c", "abc x=(none)"},
        {"/a/b/d", "abd x=b"},
        {"/a/zz/d", "abd x=zz"},
        {"/m/lit", "m_param x=lit"},          /* a full match beats a literal with another method */
        {"/caf%C3%A9", "cafe x=(none)"},
        {"/two/7/and/x%2By", "two a=7 b=x+y"},
        {"/api/v1/ping", "ping x=(none)"},
        {"/api/v1/admin/stats", "stats x=(none)"},
        {"/list/", "list_items x=(none)"},
        {"/users", "users x=(none)"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int st = get(port, "GET", ok[i].path, b, sizeof b, NULL);
        if (st != 200 || strcmp(b, ok[i].want) != 0) wf_test_log("GET %s -> %d %s", ok[i].path, st, b);
        WF_EXPECT_EQ_INT(st, 200);
        WF_EXPECT_EQ_STR(b, ok[i].want);
    }
    static const char *const missing[] = {"/items/a%2Fb", "/nope", "/items", "/n/", "/a/b", "/two/x/and/y",
                                          "/api/v1", "/api/v1/admin"};
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
        int st = get(port, "GET", missing[i], b, sizeof b, NULL);
        if (st != 404) wf_test_log("GET %s -> %d %s", missing[i], st, b);
        WF_EXPECT_EQ_INT(st, 404);
        WF_EXPECT_EQ_STR(b, "{\"detail\":\"Not Found\"}");
    }
    tu_stop(app);
}

WF_TEST(router_405_allow_head) {
    wf_app *app = router_app();
    int port = tu_serve(app, NULL);
    char b[512], allow[256];
    WF_EXPECT_EQ_INT(get(port, "PUT", "/multi", b, sizeof b, allow), 405);
    WF_EXPECT_EQ_STR(b, "{\"detail\":\"Method Not Allowed\"}");
    WF_EXPECT_EQ_STR(allow, "GET, HEAD, POST, DELETE");
    WF_EXPECT_EQ_INT(get(port, "POST", "/items/5", b, sizeof b, allow), 405);
    WF_EXPECT_EQ_STR(allow, "GET, HEAD");
    WF_EXPECT_EQ_INT(get(port, "PATCH", "/m/lit", b, sizeof b, allow), 405);
    WF_EXPECT_EQ_STR(allow, "POST, GET, HEAD");      /* every route the path matches: /m/lit and /m/{x} */
    WF_EXPECT_EQ_INT(get(port, "BREW", "/users", b, sizeof b, allow), 405);
    tu_resp r;
    char len[32];
    WF_EXPECT_EQ_INT(tu_request(port, "HEAD /items/5 HTTP/1.1\r\nHost: x\r\n\r\n", &r), 200);
    WF_EXPECT_TRUE(tu_header(&r, "Content-Length", len, sizeof len));
    WF_EXPECT_EQ_STR(len, "13");          /* "items_id id=5", not sent */
    tu_resp_free(&r);
    tu_stop(app);
}

WF_TEST(router_trailing_slash_307) {
    wf_app *app = router_app();
    int port = tu_serve(app, NULL);
    char b[512], loc[256];
    WF_EXPECT_EQ_INT(get(port, "GET", "/list?skip=1&q=a%20b", b, sizeof b, loc), 307);
    WF_EXPECT_EQ_STR(loc, "http://testserver/list/?skip=1&q=a%20b");
    WF_EXPECT_EQ_STR(b, "");
    WF_EXPECT_EQ_INT(get(port, "GET", "/users/", b, sizeof b, loc), 307);
    WF_EXPECT_EQ_STR(loc, "http://testserver/users");
    WF_EXPECT_EQ_INT(get(port, "POST", "/list", b, sizeof b, loc), 307);    /* any method, as Starlette */
    WF_EXPECT_EQ_INT(get(port, "GET", "/items/5/", b, sizeof b, loc), 307);
    WF_EXPECT_EQ_STR(loc, "http://testserver/items/5");
    WF_EXPECT_EQ_INT(get(port, "GET", "/files", b, sizeof b, loc), 307);     /* "/files/" matches {p:path} */
    WF_EXPECT_EQ_STR(loc, "http://testserver/files/");
    WF_EXPECT_EQ_INT(get(port, "GET", "/users//", b, sizeof b, loc), 307);    /* every trailing slash goes */
    WF_EXPECT_EQ_STR(loc, "http://testserver/users");
    WF_EXPECT_EQ_INT(get(port, "GET", "/users%2F", b, sizeof b, loc), 307);   /* decided and built decoded */
    WF_EXPECT_EQ_STR(loc, "http://testserver/users");
    WF_EXPECT_EQ_INT(get(port, "GET", "/nope/", b, sizeof b, loc), 404);
    tu_stop(app);
}

/* The Location as Starlette 0.26 (Debian's, with its Host fix) builds it: a plain Host, else the
   address the client reached; the target's authority for an absolute-form request (RFC 9112
   3.2.2); quoted as RedirectResponse quotes. "//" strips to nothing: 404. */
WF_TEST(router_redirect_location_as_starlette) {
    wf_app *app = router_app();
    int port = tu_serve(app, NULL);
    static const struct { const char *req, *loc; } cases[] = {
        {"GET /list?q=a\"b|c^d`e{f} HTTP/1.1\r\nHost: h.example:81\r\n\r\n",
         "http://h.example:81/list/?q=a%22b%7Cc%5Ed%60e%7Bf%7D"},
        {"GET /list HTTP/1.0\r\n\r\n", "http://127.0.0.1:%d/list/"},
        {"GET /list HTTP/1.1\r\nHost: bad_host\r\n\r\n", "http://127.0.0.1:%d/list/"},
        {"GET /list HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", "http://[::1]:8080/list/"},
        {"GET http://a.example:81/list?x=1 HTTP/1.1\r\nHost: b.example\r\n\r\n",
         "http://a.example:81/list/?x=1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tu_resp r;
        char loc[256] = "", want[256];
        if (strstr(cases[i].loc, "%d")) snprintf(want, sizeof want, cases[i].loc, port);
        else snprintf(want, sizeof want, "%s", cases[i].loc);
        WF_EXPECT_EQ_INT(tu_request(port, cases[i].req, &r), 307);
        tu_header(&r, "location", loc, sizeof loc);
        WF_EXPECT_EQ_STR(loc, want);
        tu_resp_free(&r);
    }
    tu_resp r;
    WF_EXPECT_EQ_INT(tu_request(port, "GET // HTTP/1.1\r\nHost: x\r\n\r\n", &r), 404);
    tu_resp_free(&r);
    WF_EXPECT_EQ_INT(tu_request(port, "GET /%2F HTTP/1.1\r\nHost: x\r\n\r\n", &r), 404);
    tu_resp_free(&r);
    tu_stop(app);
}

WF_TEST(router_refuses_bad_patterns) {
    wf_app *app = wf_app_new();
    const char *bad[] = {"", "x", "/{", "/a/{}", "/a/{x:bogus}", "/a/{x:path}/b", "/a/{x}y", "/a/x}",
                         "/{a b}",
                         "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}/{j}/{k}/{l}/{m}/{n}/{o}/{p}/{q}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = wf_get(app, bad[i], items_id);
        if (rc != WF_EINVAL) wf_test_log("pattern '%s' accepted", bad[i]);
        WF_EXPECT_EQ_INT(rc, WF_EINVAL);
    }
    WF_EXPECT_EQ_INT(wf_get(app, "/dup/{x}", items_id), 0);
    WF_EXPECT_EQ_INT(wf_get(app, "/dup/{x}", items_id), WF_EINVAL);
    WF_EXPECT_EQ_INT(wf_get(app, "/dup/{y}", items_id), WF_EINVAL);   /* the same route under another name */
    WF_EXPECT_EQ_INT(wf_post(app, "/dup/{x}", items_id), 0);
    WF_EXPECT_EQ_INT(wf_route(app, "BAD METHOD", "/z", items_id, NULL), WF_EINVAL);
    WF_EXPECT_TRUE(wf_group_new(app, "noslash") == NULL);
    wf_app_free(app);
}

ROUTE(user_by_id, "id")
ROUTE(user_posts, "user_id")

WF_TEST(router_parameter_names_belong_to_routes) {
    wf_app *app = wf_app_new();
    WF_ASSERT_EQ_INT(wf_get(app, "/users/{id}", user_by_id), 0);
    WF_ASSERT_EQ_INT(wf_get(app, "/users/{user_id}/posts", user_posts), 0);   /* FastAPI allows it */
    wf_test_client *tc = wf_test_client_new(app, NULL);
    wf_test_res r;
    WF_ASSERT_EQ_INT(wf_test_get(tc, "/users/7", &r), 0);
    WF_EXPECT_EQ_STR(r.body, "user_by_id id=7");
    wf_test_res_free(&r);
    WF_ASSERT_EQ_INT(wf_test_get(tc, "/users/9/posts", &r), 0);
    WF_EXPECT_EQ_STR(r.body, "user_posts user_id=9");
    wf_test_res_free(&r);
    wf_test_client_free(tc);
    wf_app_free(app);
}

static void numbered(wf_req *req, wf_res *res) {
    wf_str v = wf_path_param(req, "id");
    char out[128];
    snprintf(out, sizeof out, "%.*s|%.*s", (int)wf_req_path(req).len, wf_req_path(req).ptr, (int)v.len,
             v.ptr);
    wf_reply_text(res, 200, out);
}

WF_TEST(router_many_routes) {
    wf_app *app = wf_app_new();
    char pat[64];
    for (int i = 0; i < 2000; i++) {
        snprintf(pat, sizeof pat, i % 2 ? "/r%d/{id:int}" : "/r%d/x/{id}", i);
        WF_ASSERT_EQ_INT(wf_get(app, pat, numbered), 0);
    }
    int port = tu_serve(app, NULL);
    char b[128], path[64], want[128];
    for (int i = 0; i < 2000; i += 97) {
        snprintf(path, sizeof path, i % 2 ? "/r%d/%d" : "/r%d/x/v%d", i, i);
        snprintf(want, sizeof want, i % 2 ? "%s|%d" : "%s|v%d", path, i);
        WF_EXPECT_EQ_INT(get(port, "GET", path, b, sizeof b, NULL), 200);
        WF_EXPECT_EQ_STR(b, want);
    }
    tu_stop(app);
}

/* A registration that fails is kept: the app then refuses to start, naming every failure. */
WF_TEST(router_failed_registrations_refuse_to_start) {
    static const struct { const char *method, *pattern, *reason; } bad[] = {
        {"GET", "/items/{id", "segment \"{id\""},
        {"GET", "/u/{id:uuid}", "the type is int, float, str or path"},
        {"GET", "/pre{id}", "segment \"pre{id}\""},
        {"GET", "/f/{p:path}/x", "{name:path} must be the last segment"},
        {"get", "/lower", "upper case"},
        {"GET", "/twice/{a}/{a}", "parameter \"a\" appears twice"},
        {"GET", "/ok", "GET /ok is already routed"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        wf_app *app = wf_app_new();
        WF_ASSERT_EQ_INT(wf_get(app, "/ok", items_id), 0);
        WF_EXPECT_EQ_INT(wf_route(app, bad[i].method, bad[i].pattern, items_id, NULL), WF_EINVAL);
        wf_config cfg = {.log = tu_log, .port = WF_PORT_ANY, .no_access_log = true, .threads = 1};
        tu_log_clear();
        WF_EXPECT_EQ_INT(wf_start(app, &cfg), WF_EINVAL);
        WF_EXPECT_TRUE(wf_test_client_new(app, &cfg) == NULL);
        char needle[160];
        snprintf(needle, sizeof needle, "route %s %s not added", bad[i].method, bad[i].pattern);
        WF_EXPECT_EQ_INT(tu_log_count(needle), 2);
        WF_EXPECT_EQ_INT(tu_log_count(bad[i].reason), 2);
        WF_EXPECT_EQ_INT(tu_log_count("wf_start refused: 1 route or group registration failed"), 1);
        wf_app_free(app);
    }
    wf_app *app = wf_app_new();
    WF_EXPECT_TRUE(wf_group_new(app, "/g/{x") == NULL);
    WF_EXPECT_EQ_INT(wf_group_get(NULL, "/x", items_id), WF_EINVAL);
    wf_config cfg = {.log = tu_log, .no_access_log = true};
    tu_log_clear();
    WF_EXPECT_TRUE(wf_test_client_new(app, &cfg) == NULL);
    WF_EXPECT_EQ_INT(tu_log_count("wf_test_client_new refused: 1 route or group registration failed: "
                                  "group /g/{x not made"), 1);
    wf_app_free(app);
}

ROUTE(group_root, "x")
ROUTE(group_item, "id")

/* A group's pattern "" is its prefix itself, as FastAPI's @router.get(""). */
WF_TEST(router_group_empty_pattern_routes_the_prefix) {
    wf_app *app = wf_app_new();
    wf_group *g = wf_group_new(app, "/items");
    WF_ASSERT_EQ_INT(wf_group_get(g, "", group_root), 0);
    WF_ASSERT_EQ_INT(wf_group_get(g, "/{id}", group_item), 0);
    WF_EXPECT_EQ_INT(wf_get(app, "", group_root), WF_EINVAL);  /* the app's own patterns start with '/' */
    wf_app *ok = wf_app_new();
    wf_group *g2 = wf_group_new(ok, "/items");
    WF_ASSERT_EQ_INT(wf_group_get(g2, "", group_root), 0);
    WF_ASSERT_EQ_INT(wf_group_get(g2, "/{id}", group_item), 0);
    wf_test_client *tc = wf_test_client_new(ok, NULL);
    WF_ASSERT_TRUE(tc != NULL);
    wf_test_res r;
    WF_ASSERT_EQ_INT(wf_test_get(tc, "/items", &r), 0);
    WF_EXPECT_EQ_INT(r.status, 200);
    WF_EXPECT_EQ_STR(r.body, "group_root x=(none)");
    wf_test_res_free(&r);
    WF_ASSERT_EQ_INT(wf_test_get(tc, "/items/", &r), 0);      /* Starlette: the other slash form, 307 */
    WF_EXPECT_EQ_INT(r.status, 307);
    wf_test_res_free(&r);
    WF_ASSERT_EQ_INT(wf_test_get(tc, "/items/4", &r), 0);
    WF_EXPECT_EQ_STR(r.body, "group_item id=4");
    wf_test_res_free(&r);
    wf_test_client_free(tc);
    wf_app_free(ok);
    wf_app_free(app);
}
