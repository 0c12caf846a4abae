/* Issue 11, the outside security audit: regression tests for its points. Query and form pairs by the
   hundred thousand; wf_http_date past the four-digit years; a JSON document's numbers outliving the
   text they were read from; the arena refusing sizes that would wrap; the decoded path a middleware
   sees; files served beneath a root (symlinks, "..", FIFOs, directories) and wf_static; a stream after
   a file reply; cookie attributes; integer bounds held exactly; the JWT leeway; the PBKDF2 rounds
   limit; Range positions past 64 bits. */
#define _GNU_SOURCE
#include "util.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* One request through the test client; r is filled, the status returned. A failure names the
   caller's line. */
static int hreq_at(tu_at at, wf_test_client *tc, const char *method, const char *path, const char *header,
                   wf_test_res *r) {
    const char *hs[] = {header, NULL};
    wf_test_req rq = {.method = method, .path = path, .headers = header ? hs : NULL};
    TU_ASSERT_EQ_INT_AT(at, wf_test_request(tc, &rq, r), 0);
    return r->status;
}
#define hreq(...) hreq_at(TU_HERE, __VA_ARGS__)

/* The status of GET path, the response freed. */
static int hstatus_at(tu_at at, wf_test_client *tc, const char *path) {
    wf_test_res r;
    int st = hreq_at(at, tc, "GET", path, NULL, &r);
    wf_test_res_free(&r);
    return st;
}
#define hstatus(tc, path) hstatus_at(TU_HERE, tc, path)

/* Header name of r as a C string in out ("" when absent). */
static const char *hhdr(const wf_test_res *r, const char *name, char *out, size_t cap) {
    wf_str v = wf_test_header(r, name);
    snprintf(out, cap, "%.*s", v.ptr ? (int)v.len : 0, v.ptr ? v.ptr : "");
    return out;
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    fputs(text, f);
    fclose(f);
}

static void remove_tree(const char *dir) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) wf_test_log("could not remove %s", dir);
}

/* ---- 1. pairs: a query or a form of 100,000 '&' and of 100,000 pairs ---- */

static void h_pairs(wf_req *req, wf_res *res) {
    wf_str some[2];
    int n = wf_query_all(req, "a", some, 2);
    wf_reply_obj(res, 200, WF_KV("n", n), WF_KV("query", wf_param(req, WF_IN_QUERY, "a")),
                 WF_KV("form", wf_param(req, WF_IN_FORM, "a")), WF_KV("first", n ? some[0] : wf_str_c(NULL)));
}

/* text repeated n times, then tail, in a malloc'd string */
static char *repeat(const char *head, const char *text, size_t n, const char *tail) {
    size_t hl = strlen(head), tl = strlen(text), el = strlen(tail);
    char *s = malloc(hl + tl * n + el + 1), *p = s;
    if (!s) abort();
    memcpy(p, head, hl);
    p += hl;
    for (size_t i = 0; i < n; i++, p += tl) memcpy(p, text, tl);
    memcpy(p, tail, el + 1);
    return s;
}

WF_TEST(hardening_pairs_100k_in_query_and_form) {
    wf_app *app = wf_app_new();
    wf_post(app, "/pairs", h_pairs);
    wf_config cfg = {.no_access_log = true, .max_request_line = 1u << 20, .max_header_bytes = 2u << 20,
                     .max_body = 4u << 20};
    wf_test_client *tc = wf_test_client_new(app, &cfg);
    wf_test_res r;
    static const char *const cases[][3] = {
        /* query, form, the answer */
        {"&", "&", "{\"n\":1,\"query\":\"q\",\"form\":\"f\",\"first\":\"q\"}"},
        {"a=1&", "a=2&", "{\"n\":100001,\"query\":\"q\",\"form\":\"f\",\"first\":\"1\"}"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char *path = repeat("/pairs?", cases[c][0], 100000, "a=q");
        char *form = repeat("", cases[c][1], 100000, "a=f");
        wf_test_req rq = {.method = "POST", .path = path, .form = form};
        WF_ASSERT_EQ_INT(wf_test_request(tc, &rq, &r), 0);
        WF_EXPECT_EQ_INT(r.status, 200);
        WF_EXPECT_EQ_STR(r.body, cases[c][2]);
        wf_test_res_free(&r);
        free(path);
        free(form);
    }
    /* 100,000 '&' around one pair: no empty pairs, the one found */
    char *path = repeat("/pairs?", "&", 100000, "a=x&&&");
    wf_test_req rq = {.method = "POST", .path = path, .form = "a=y"};
    WF_ASSERT_EQ_INT(wf_test_request(tc, &rq, &r), 0);
    WF_EXPECT_EQ_STR(r.body, "{\"n\":1,\"query\":\"x\",\"form\":\"y\",\"first\":\"x\"}");
    wf_test_res_free(&r);
    free(path);
    wf_test_client_free(tc);
    wf_app_free(app);
}

/* ---- 2. wf_http_date past the four-digit years ---- */

/* out is an IMF-fixdate with the given text after the weekday ("Www" + rest) */
static void expect_date_at(tu_at at, const char *out, const char *rest) {
    static const char days[] = "Sun,Mon,Tue,Wed,Thu,Fri,Sat,";
    TU_EXPECT_EQ_INT_AT(at, strlen(out), 29);
    char wd[5];
    snprintf(wd, sizeof wd, "%.3s,", out);
    TU_EXPECT_TRUE_AT(at, strstr(days, wd) != NULL);
    TU_EXPECT_EQ_STR_AT(at, out + 3, rest);
}
#define expect_date(...) expect_date_at(TU_HERE, __VA_ARGS__)

WF_TEST(hardening_http_date_clamps_to_years_0000_9999) {
    char out[30];
    memset(out, 'x', sizeof out);
    wf_http_date(out, INT64_MAX);
    WF_EXPECT_EQ_STR(out, "Fri, 31 Dec 9999 23:59:59 GMT");
    wf_http_date(out, 253402300799LL);
    WF_EXPECT_EQ_STR(out, "Fri, 31 Dec 9999 23:59:59 GMT");
    wf_http_date(out, 253402300800LL);
    WF_EXPECT_EQ_STR(out, "Fri, 31 Dec 9999 23:59:59 GMT");
    wf_http_date(out, (int64_t)1e15);
    WF_EXPECT_EQ_STR(out, "Fri, 31 Dec 9999 23:59:59 GMT");
    memset(out, 'x', sizeof out);
    wf_http_date(out, INT64_MIN);
    expect_date(out, ", 01 Jan 0000 00:00:00 GMT");
    wf_http_date(out, -62167219200LL);
    expect_date(out, ", 01 Jan 0000 00:00:00 GMT");
    wf_http_date(out, -62167219201LL);
    expect_date(out, ", 01 Jan 0000 00:00:00 GMT");
    wf_http_date(out, 0);
    WF_EXPECT_EQ_STR(out, "Thu, 01 Jan 1970 00:00:00 GMT");
}

static char date_file[300];

static void h_date_file(wf_req *req, wf_res *res) { wf_reply_file(req, res, date_file, NULL); }

/* A file whose mtime is 10^15 seconds (tmpfs keeps it; ext4 clamps it to 2446): Last-Modified says
   9999, well formed. Under ASan/UBSan, no report. */
WF_TEST(hardening_file_with_huge_mtime_has_year_9999) {
    char dir[64];
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof dir, "%s/webfw-hardening-XXXXXX", base);
    WF_ASSERT_TRUE(mkdtemp(dir) != NULL);
    snprintf(date_file, sizeof date_file, "%s/f.txt", dir);
    write_file(date_file, "0123456789");
    struct timespec ts[2] = {{1000000000000000LL, 0}, {1000000000000000LL, 0}};
    struct stat st;
    if (utimensat(AT_FDCWD, date_file, ts, 0) < 0 || stat(date_file, &st) < 0 ||
        st.st_mtime <= 253402300799LL) {
        remove_tree(dir);
        WF_SKIP("the filesystem cannot hold an mtime past year 9999");
    }
    wf_app *app = wf_app_new();
    wf_get(app, "/f", h_date_file);
    wf_test_client *tc = wf_test_client_new(app, NULL);
    wf_test_res r;
    char v[64];
    WF_EXPECT_EQ_INT(hreq(tc, "GET", "/f", NULL, &r), 200);
    WF_EXPECT_EQ_STR(hhdr(&r, "last-modified", v, sizeof v), "Fri, 31 Dec 9999 23:59:59 GMT");
    WF_EXPECT_EQ_STR(r.body, "0123456789");
    wf_test_res_free(&r);
    wf_test_client_free(tc);
    wf_app_free(app);
    remove_tree(dir);
}

/* ---- 3. a JSON document owns its numbers' text ---- */

/* A document parsed from a heap buffer, and a JWT's claims decoded from a heap copy of the token,
   the buffers then overwritten and freed: every value is still the document's (under ASan, no
   report). Integers are written back exactly, past 64 bits as written (their text is the document's). */
WF_TEST(hardening_json_documents_outlive_their_text) {
    static const char src[] = "{\"big\":12345678901234567890123,\"neg\":-0.000,\"min\":-9223372036854775808,"
                              "\"i\":42,\"f\":1.5e3,\"s\":\"x\"}";
    char *heap = strdup(src);
    wf_json_doc d, claims;
    WF_ASSERT_EQ_INT(wf_json_parse(heap, strlen(heap), 0, &d), 0);
    memset(heap, '7', strlen(heap));
    free(heap);
    wf_buf tok = {0}, b = {0};
    const char *claims_json = "{\"n\":123456789012345678901234567890,\"i\":-42,\"sub\":\"a\"}";
    WF_ASSERT_EQ_INT(wf_jwt_encode(&tok, claims_json, "k", 1), 0);
    heap = strdup(tok.ptr);
    WF_ASSERT_EQ_INT(wf_jwt_decode(heap, tok.len, "k", 1, NULL, &claims), 0);
    memset(heap, 'A', tok.len);
    free(heap);
    wf_buf_free(&tok);
    long long i = 0;
    double f = 0;
    WF_EXPECT_TRUE(wf_json_int(wf_json_get(d.root, "min"), &i) && i == LLONG_MIN);
    WF_EXPECT_TRUE(wf_json_num(wf_json_get(d.root, "big"), &f) && f == 12345678901234567890123.0);
    WF_EXPECT_TRUE(wf_json_int(wf_json_get(claims.root, "i"), &i) && i == -42);
    WF_EXPECT_TRUE(wf_json_num(wf_json_get(claims.root, "n"), &f) && f == 123456789012345678901234567890.0);
    wf_jw w = {.out = &b};
    wf_jw_arr(&w);
    wf_jw_value(&w, d.root);
    wf_jw_value(&w, claims.root);
    wf_jw_end(&w);
    WF_EXPECT_EQ_INT(w.err, 0);
    WF_EXPECT_EQ_STR(b.ptr, "[{\"big\":12345678901234567890123,\"neg\":-0.0,\"min\":-9223372036854775808,"
                            "\"i\":42,\"f\":1500.0,\"s\":\"x\"},"
                            "{\"n\":123456789012345678901234567890,\"i\":-42,\"sub\":\"a\"}]");
    wf_buf_free(&b);
    wf_json_free(&d);
    wf_json_free(&claims);
}

/* wf_body_str of an integer gives its text as written: a view into the body's document, which lives
   until the request's cleanups have run. The body is larger than one read (64 KiB), so it is held in
   the connection's own buffer, which is released once the request is consumed; the stream's first
   call writes nothing, so the cleanups run in a later event, after that release. */
static wf_str num_views[3];
static char num_seen[3][64];
static atomic_int num_cleaned;

static void num_cleanup(void *arg) {
    (void)arg;
    for (int k = 0; k < 3; k++)         /* byte by byte: each read is checked by ASan */
        for (size_t i = 0; num_views[k].ptr && i < num_views[k].len && i < 60; i++)
            num_seen[k][i] = num_views[k].ptr[i];
    atomic_store(&num_cleaned, 1);
}

static int num_producer(wf_res *res, void *user) {
    int *calls = user;
    if ((*calls)++ == 0) return 1;          /* nothing yet: called again from a timer */
    wf_res_write(res, "ok", 2);
    return 0;
}

static void h_num(wf_req *req, wf_res *res) {
    static int calls;
    num_views[0] = wf_body_str(req, "big", NULL);
    num_views[1] = wf_body_str(req, "small", NULL);
    num_views[2] = wf_body_str(req, "neg", NULL);
    wf_defer(req, num_cleanup, NULL);
    calls = 0;
    wf_res_stream(res, num_producer, &calls, NULL);
}

WF_TEST(hardening_body_number_text_lives_through_cleanups) {
    wf_app *app = wf_app_new();
    wf_post(app, "/num", h_num);
    int port = tu_serve(app, NULL);
    WF_ASSERT_GT_INT(port, 0);
    char *body = repeat("{\"pad\":\"", "x", 200000,
                        "\",\"big\":12345678901234567890123,\"small\":42,\"neg\":-17}");
    size_t bl = strlen(body);
    char head[200];
    snprintf(head, sizeof head, "POST /num HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\n\r\n", bl);
    tu_conn c;
    tu_resp r;
    WF_ASSERT_EQ_INT(tu_connect(&c, port), 0);
    WF_ASSERT_EQ_INT(tu_sends(&c, head), 0);
    WF_ASSERT_EQ_INT(tu_send(&c, body, bl), 0);
    WF_EXPECT_EQ_INT(tu_read(&c, &r, false, 5000), 200);
    WF_EXPECT_EQ_STR(r.body, "ok");
    tu_resp_free(&r);
    WF_EXPECT_TRUE(tu_wait_atomic(&num_cleaned, 1, 5000));
    WF_EXPECT_EQ_STR(num_seen[0], "12345678901234567890123");
    WF_EXPECT_EQ_STR(num_seen[1], "42");
    WF_EXPECT_EQ_STR(num_seen[2], "-17");
    tu_close(&c);
    free(body);
    tu_stop(app);
}

/* ---- 4. the arena refuses sizes whose rounding would wrap ---- */

static void h_alloc(wf_req *req, wf_res *res) {
    void *a = wf_req_alloc(req, SIZE_MAX), *b = wf_req_alloc(req, SIZE_MAX - 8),
         *c = wf_req_alloc(req, SIZE_MAX / 2 + 1);
    char *p = wf_req_alloc(req, 100), *q = wf_req_alloc(req, 100);
    bool usable = p && q && (p + 100 <= q || q + 100 <= p);
    if (usable) {
        memset(p, 'p', 100);
        memset(q, 'q', 100);
        usable = p[99] == 'p' && q[0] == 'q';
    }
    char *big = wf_req_alloc(req, 1u << 20);     /* a block of its own: also usable */
    if (big) memset(big, 'b', 1u << 20);
    wf_reply_obj(res, 200, WF_KV("max", (bool)!a), WF_KV("max8", (bool)!b), WF_KV("half", (bool)!c),
                 WF_KV("usable", usable), WF_KV("big", (bool)big));
}

WF_TEST(hardening_req_alloc_refuses_sizes_that_wrap) {
    wf_app *app = wf_app_new();
    wf_get(app, "/alloc", h_alloc);
    wf_test_client *tc = wf_test_client_new(app, NULL);
    wf_test_res r;
    WF_EXPECT_EQ_INT(hreq(tc, "GET", "/alloc", NULL, &r), 200);
    WF_EXPECT_EQ_STR(r.body, "{\"max\":true,\"max8\":true,\"half\":true,\"usable\":true,\"big\":true}");
    wf_test_res_free(&r);
    wf_test_client_free(tc);
    wf_app_free(app);
}

/* ---- 5. the decoded path: what the router routes is what a middleware sees ---- */

static void mw_admin_guard(wf_req *req, wf_res *res, void *user) {
    (void)user;
    wf_str p = wf_req_path(req);
    if (p.len >= 6 && memcmp(p.ptr, "/admin", 6) == 0) {
        wf_reply_detail(res, 403, "Forbidden");
        return;
    }
    wf_next(req, res);
}

static void h_where(wf_req *req, wf_res *res) {
    wf_reply_obj(res, 200, WF_KV("target", wf_req_target(req)), WF_KV("path", wf_req_path(req)),
                 WF_KV("x", wf_path_param(req, "x")));
}

WF_TEST(hardening_decoded_path_reaches_middleware) {
    wf_app *app = wf_app_new();
    wf_use(app, mw_admin_guard, NULL);
    wf_get(app, "/admin/{x}", h_where);
    wf_get(app, "/public/{x}", h_where);
    wf_test_client *tc = wf_test_client_new(app, NULL);
    static const char *const guarded[] = {
        "/admin/users", "/%61dmin/users", "/%61%64%6d%69%6e/users", "/%61%64%6D%69%6E/users?q=1",
        "/admin%2Fusers", "/%61dmin%2fusers", "/admin/",
    };
    for (size_t i = 0; i < sizeof guarded / sizeof guarded[0]; i++)
        if (!TU_EXPECT_EQ_INT_AT(TU_HERE, hstatus(tc, guarded[i]), 403)) wf_test_log("GET %s", guarded[i]);
    wf_test_res r;
    WF_EXPECT_EQ_INT(hreq(tc, "GET", "/public/%61%20b?q=%61", NULL, &r), 200);
    WF_EXPECT_EQ_STR(r.body, "{\"target\":\"/public/%61%20b?q=%61\",\"path\":\"/public/a b\",\"x\":\"a b\"}");
    wf_test_res_free(&r);
    WF_EXPECT_EQ_INT(hreq(tc, "GET", "/%70ublic/x", NULL, &r), 200);
    WF_EXPECT_EQ_STR(r.body, "{\"target\":\"/%70ublic/x\",\"path\":\"/public/x\",\"x\":\"x\"}");
    wf_test_res_free(&r);
    wf_test_client_free(tc);
    wf_app_free(app);
}

static char route_seen[64];

static void mw_route(wf_req *req, wf_res *res, void *user) {
    (void)user;
    wf_next(req, res);
    const char *rt = wf_req_route(req);
    snprintf(route_seen, sizeof route_seen, "%s", rt ? rt : "(null)");
}

static void h_route(wf_req *req, wf_res *res) {
    const char *rt = wf_req_route(req);
    wf_reply_obj(res, 200, WF_KV("route", rt));
}

WF_TEST(hardening_req_route_is_the_matched_pattern) {
    wf_app *app = wf_app_new();
    wf_use(app, mw_route, NULL);
    wf_get(app, "/admin/{x}", h_route);
    wf_group *g = wf_group_new(app, "/api");
    wf_group_get(g, "/items/{id:int}", h_route);
    wf_test_client *tc = wf_test_client_new(app, NULL);
    wf_test_res r;
    WF_EXPECT_EQ_INT(hreq(tc, "GET", "/%61dmin/users", NULL, &r), 200);
    WF_EXPECT_EQ_STR(r.body, "{\"route\":\"/admin/{x}\"}");
    WF_EXPECT_EQ_STR(route_seen, "/admin/{x}");
    wf_test_res_free(&r);
    WF_EXPECT_EQ_INT(hreq(tc, "GET", "/api/items/7", NULL, &r), 200);
    WF_EXPECT_EQ_STR(r.body, "{\"route\":\"/api/items/{id:int}\"}");
    wf_test_res_free(&r);
    WF_EXPECT_EQ_INT(hreq(tc, "HEAD", "/admin/x", NULL, &r), 200);
    WF_EXPECT_EQ_STR(route_seen, "/admin/{x}");
    wf_test_res_free(&r);
    WF_EXPECT_EQ_INT(hreq(tc, "GET", "/nope", NULL, &r), 404);
    WF_EXPECT_EQ_STR(route_seen, "(null)");
    wf_test_res_free(&r);
    WF_EXPECT_EQ_INT(hreq(tc, "POST", "/admin/x", NULL, &r), 405);
    WF_EXPECT_EQ_STR(route_seen, "(null)");
    wf_test_res_free(&r);
    WF_EXPECT_EQ_INT(hreq(tc, "GET", "/admin/x/", NULL, &r), 307);
    WF_EXPECT_EQ_STR(route_seen, "(null)");
    wf_test_res_free(&r);
    wf_test_client_free(tc);
    wf_app_free(app);
}

/* ---- 6, 7. files beneath a root: wf_static and wf_reply_file_under ---- */

/* root/secret beside root/pub; in pub: a.txt, index.html, dir/index.html, dir2/ (no index),
   dlink/index.html -> ../a.txt, link -> /etc/hostname, link2 -> ../secret, sub -> .., fifo */
typedef struct tree {
    char root[64], pub[96], fifo[128];
} tree;

static void make_tree_at(tu_at at, tree *t) {
    char p[200];
    snprintf(t->root, sizeof t->root, "/tmp/webfw-hardening-XXXXXX");
    TU_ASSERT_TRUE_AT(at, mkdtemp(t->root) != NULL);
    snprintf(t->pub, sizeof t->pub, "%s/pub", t->root);
    snprintf(t->fifo, sizeof t->fifo, "%s/fifo", t->pub);
    TU_ASSERT_TRUE_AT(at, mkdir(t->pub, 0755) == 0);
    snprintf(p, sizeof p, "%s/secret", t->root);
    write_file(p, "secret\n");
    snprintf(p, sizeof p, "%s/a.txt", t->pub);
    write_file(p, "alpha\n");
    snprintf(p, sizeof p, "%s/index.html", t->pub);
    write_file(p, "<p>top</p>");
    const char *dirs[] = {"dir", "dir2", "dlink"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", t->pub, dirs[i]);
        TU_ASSERT_TRUE_AT(at, mkdir(p, 0755) == 0);
    }
    snprintf(p, sizeof p, "%s/dir/index.html", t->pub);
    write_file(p, "<p>dir</p>");
    static const char *const links[][2] = {
        {"/etc/hostname", "link"}, {"../secret", "link2"}, {"..", "sub"}, {"../a.txt", "dlink/index.html"},
    };
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s", t->pub, links[i][1]);
        TU_ASSERT_TRUE_AT(at, symlink(links[i][0], p) == 0);
    }
    TU_ASSERT_TRUE_AT(at, mkfifo(t->fifo, 0644) == 0);
}
#define make_tree(t) make_tree_at(TU_HERE, t)

static tree files;

static void h_under(wf_req *req, wf_res *res) {
    wf_reply_file_under(req, res, files.pub, wf_path_param(req, "p"), NULL);
}

static wf_app *files_app(void) {
    wf_app *app = wf_app_new();
    wf_static(wf_app_group(app), "/static", files.pub, NULL);
    wf_static(wf_app_group(app), "/site/", files.pub, &(wf_static_opts){.html = true});
    wf_get(app, "/under/{p:path}", h_under);
    return app;
}

/* What is not beneath the root as a regular file, reached without a symlink, is 404; FIFOs are
   left to hardening_fifos_are_404_at_once (over a socket, bounded). */
static const char *const outside[] = {
    "../secret", "%2e%2e/secret", "..%2Fsecret", "%2E%2E%2Fsecret", "..%2fsecret", "dir/../../secret",
    "dir/%2e%2e/a.txt", "link", "link2", "sub/secret", "sub/pub/a.txt", "dir", "dir/", "dir2",
    "dlink/index.html", "/etc/hostname", "%2Fetc%2Fhostname", "a.txt%00.png", "a.txt/", "nope", "..",
};

WF_TEST(hardening_static_and_file_under_stay_beneath_the_root) {
    make_tree(&files);
    wf_app *app = files_app();
    wf_test_client *tc = wf_test_client_new(app, NULL);
    wf_test_res r;
    char v[128], path[160];
    static const char *const prefixes[] = {"/static/", "/under/", "/site/"};
    for (int k = 0; k < 3; k++) {
        snprintf(path, sizeof path, "%sa.txt", prefixes[k]);
        WF_EXPECT_EQ_INT(hreq(tc, "GET", path, NULL, &r), 200);
        WF_EXPECT_EQ_STR(r.body, "alpha\n");
        WF_EXPECT_EQ_STR(hhdr(&r, "content-type", v, sizeof v), "text/plain; charset=utf-8");
        WF_EXPECT_TRUE(wf_test_header(&r, "etag").ptr && wf_test_header(&r, "last-modified").ptr);
        char inm[160];
        snprintf(inm, sizeof inm, "If-None-Match: %s", hhdr(&r, "etag", v, sizeof v));
        wf_test_res_free(&r);
        WF_EXPECT_EQ_INT(hreq(tc, "GET", path, inm, &r), 304);
        wf_test_res_free(&r);
        WF_EXPECT_EQ_INT(hreq(tc, "GET", path, "Range: bytes=1-2", &r), 206);
        WF_EXPECT_EQ_STR(r.body, "lp");
        wf_test_res_free(&r);
        snprintf(path, sizeof path, "%sdir/index.html", prefixes[k]);
        WF_EXPECT_EQ_INT(hreq(tc, "GET", path, NULL, &r), 200);
        WF_EXPECT_EQ_STR(r.body, "<p>dir</p>");
        wf_test_res_free(&r);
        for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++) {
            if (k == 2 && (strcmp(outside[i], "dir") == 0 || strcmp(outside[i], "dir/") == 0)) continue;
            snprintf(path, sizeof path, "%s%s", prefixes[k], outside[i]);
            WF_EXPECT_EQ_INT(hreq(tc, "GET", path, NULL, &r), 404);
            if (r.status != 404) wf_test_log("GET %s: %d %s", path, r.status, r.body);
            WF_EXPECT_TRUE(strstr(r.body, "secret") == NULL);
            wf_test_res_free(&r);
        }
    }
    /* without html a directory is 404, the prefix too */
    WF_EXPECT_EQ_INT(hstatus(tc, "/static/"), 404);
    WF_EXPECT_EQ_INT(hstatus(tc, "/under/"), 404);
    WF_EXPECT_EQ_INT(hreq(tc, "HEAD", "/static/a.txt", NULL, &r), 200);
    WF_EXPECT_EQ_STR(hhdr(&r, "content-length", v, sizeof v), "6");
    WF_EXPECT_EQ_INT(r.body_len, 0);
    wf_test_res_free(&r);
    WF_EXPECT_EQ_INT(hreq(tc, "POST", "/static/a.txt", NULL, &r), 405);
    wf_test_res_free(&r);
    wf_test_client_free(tc);
    wf_app_free(app);
    remove_tree(files.root);
}

WF_TEST(hardening_static_html_serves_index_files) {
    make_tree(&files);
    wf_app *app = files_app();
    wf_test_client *tc = wf_test_client_new(app, NULL);
    wf_test_res r;
    char v[128];
    static const char *const cases[][2] = {
        {"/site/dir/", "<p>dir</p>"}, {"/site/", "<p>top</p>"}, {"/site/index.html", "<p>top</p>"},
    };
    /* a directory named without its slash goes to the slash form first (Starlette's StaticFiles), so
       that the index's relative links resolve inside it */
    static const char *const slashless[][2] = {{"/site/dir", "http://testserver/site/dir/"},
                                               {"/site", "http://testserver/site/"}};
    for (size_t i = 0; i < 2; i++) {
        WF_EXPECT_EQ_INT(hreq(tc, "GET", slashless[i][0], NULL, &r), 307);
        WF_EXPECT_EQ_STR(hhdr(&r, "location", v, sizeof v), slashless[i][1]);
        wf_test_res_free(&r);
    }
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        WF_EXPECT_EQ_INT(hreq(tc, "GET", cases[i][0], NULL, &r), 200);
        WF_EXPECT_EQ_STR(r.body, cases[i][1]);
        WF_EXPECT_EQ_STR(hhdr(&r, "content-type", v, sizeof v), "text/html; charset=utf-8");
        if (r.status != 200) wf_test_log("GET %s: %d", cases[i][0], r.status);
        wf_test_res_free(&r);
    }
    /* an index.html that is a symlink, a directory without one, a symlinked directory: 404 */
    static const char *const missing[] = {"/site/dlink", "/site/dlink/", "/site/dir2/", "/site/sub/",
                                          "/site/sub", "/site/%2e%2e/", "/site/..%2F"};
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
        WF_EXPECT_EQ_INT(hreq(tc, "GET", missing[i], NULL, &r), 404);
        if (r.status != 404) wf_test_log("GET %s: %d %s", missing[i], r.status, r.body);
        wf_test_res_free(&r);
    }
    wf_test_client_free(tc);
    wf_app_free(app);
    remove_tree(files.root);
}

/* A blocked open (a FIFO without a writer) holds the loop thread: give it a writer, so that a
   failing test ends instead of hanging. */
static void unblock_fifo(const char *fifo) {
    int fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) close(fd);
}

static const char *plain_paths[5];

static void h_plain(wf_req *req, wf_res *res) {
    long long i = wf_param_int(req, WF_IN_QUERY, "i", "required, ge=0, le=4");
    if (!wf_invalid(req)) wf_reply_file(req, res, plain_paths[i], NULL);
}

/* wf_reply_file on a FIFO without a writer answers 404 at once, over a socket (a request that
   hangs is given up after 5 s, and the FIFO a writer); so do a device and a directory. */
WF_TEST(hardening_reply_file_fifo_is_404_at_once) {
    make_tree(&files);
    wf_app *app = wf_app_new();
    wf_get(app, "/f", h_plain);
    const char *paths[] = {files.fifo, "/dev/null", "/dev/zero", files.pub, "/nonexistent/x"};
    memcpy(plain_paths, paths, sizeof paths);
    int port = tu_serve(app, NULL);
    WF_ASSERT_GT_INT(port, 0);
    for (int i = 0; i < 5; i++) {
        tu_resp r = {0};
        char raw[64];
        snprintf(raw, sizeof raw, "GET /f?i=%d HTTP/1.1\r\nHost: x\r\n\r\n", i);
        int st = tu_request(port, raw, &r);
        tu_resp_free(&r);
        if (!TU_EXPECT_EQ_INT_AT(TU_HERE, st, 404)) wf_test_log("%s", plain_paths[i]);
        if (st < 0) {
            unblock_fifo(files.fifo);
            break;
        }
    }
    tu_stop(app);
    remove_tree(files.root);
}

WF_TEST(hardening_static_fifo_is_404_at_once) {
    make_tree(&files);
    wf_app *app = files_app();
    int port = tu_serve(app, NULL);
    WF_ASSERT_GT_INT(port, 0);
    static const char *const paths[] = {"/static/fifo", "/under/fifo", "/site/fifo", "/static/./fifo",
                                        "/static/fifo/", "/under/fifo/x", "/site/fifo/"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        char raw[128];
        tu_resp r = {0};
        snprintf(raw, sizeof raw, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", paths[i]);
        int st = tu_request(port, raw, &r);
        tu_resp_free(&r);
        if (!TU_EXPECT_EQ_INT_AT(TU_HERE, st, 404)) wf_test_log("%s", paths[i]);
        if (st < 0) {
            unblock_fifo(files.fifo);
            break;
        }
    }
    tu_stop(app);
    remove_tree(files.root);
}

/* ---- 8. a stream after a file reply is refused; the file goes out framed ---- */

static char stream_file[128];

static int bad_producer(wf_res *res, void *user) {
    (void)user;
    wf_res_write(res, "BAD", 3);
    return 0;
}

static void h_file_then_stream(wf_req *req, wf_res *res) {
    char v[16];
    wf_reply_file(req, res, stream_file, NULL);
    snprintf(v, sizeof v, "%d", wf_res_stream(res, bad_producer, NULL, NULL));
    wf_res_add_header(res, "X-Stream-Rc", v);
}

static void h_ping(wf_req *req, wf_res *res) {
    (void)req;
    wf_reply_text(res, 200, "pong");
}

WF_TEST(hardening_stream_after_file_is_refused) {
    char dir[] = "/tmp/webfw-hardening-XXXXXX";
    WF_ASSERT_TRUE(mkdtemp(dir) != NULL);
    snprintf(stream_file, sizeof stream_file, "%s/f.txt", dir);
    write_file(stream_file, "0123456789");
    wf_app *app = wf_app_new();
    wf_get(app, "/fs", h_file_then_stream);
    wf_get(app, "/ping", h_ping);
    int port = tu_serve(app, NULL);
    WF_ASSERT_GT_INT(port, 0);
    tu_conn c;
    tu_resp r;
    char v[64];
    WF_ASSERT_EQ_INT(tu_connect(&c, port), 0);
    /* pipelined, with a Range on one: a framing error would show in the answer after it */
    WF_ASSERT_EQ_INT(tu_sends(&c, "GET /fs HTTP/1.1\r\nHost: x\r\n\r\n"
                                  "GET /fs HTTP/1.1\r\nHost: x\r\nRange: bytes=2-4\r\n\r\n"
                                  "GET /ping HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
    WF_EXPECT_EQ_INT(tu_read(&c, &r, false, 5000), 200);
    WF_EXPECT_TRUE(tu_header(&r, "X-Stream-Rc", v, sizeof v) && strcmp(v, "-6") == 0);
    WF_EXPECT_TRUE(tu_header(&r, "Content-Length", v, sizeof v) && strcmp(v, "10") == 0);
    WF_EXPECT_FALSE(tu_header(&r, "Transfer-Encoding", v, sizeof v));
    WF_EXPECT_FALSE(r.chunked);
    WF_EXPECT_EQ_STR(r.body, "0123456789");
    tu_resp_free(&r);
    WF_EXPECT_EQ_INT(tu_read(&c, &r, false, 5000), 206);
    WF_EXPECT_TRUE(tu_header(&r, "Content-Length", v, sizeof v) && strcmp(v, "3") == 0);
    WF_EXPECT_FALSE(r.chunked);
    WF_EXPECT_EQ_STR(r.body, "234");
    tu_resp_free(&r);
    WF_EXPECT_EQ_INT(tu_read(&c, &r, false, 5000), 200);
    WF_EXPECT_EQ_STR(r.body, "pong");
    tu_resp_free(&r);
    tu_close(&c);
    tu_stop(app);
    remove_tree(dir);
}

/* ---- 9. cookie attributes cannot add attributes ---- */

static const struct {
    wf_cookie opts;
    const char *line;           /* the Set-Cookie value, NULL: refused */
} cookie_cases[] = {
    {{.path = "/; Domain=evil.example"}, NULL},
    {{.path = "x"}, NULL},
    {{.path = ""}, NULL},
    {{.path = "/a\tb"}, NULL},
    {{.path = "/a\r\nX-Evil: 1"}, NULL},
    {{.path = "/\xc3\xa9"}, NULL},
    {{.domain = "evil.example; Secure"}, NULL},
    {{.domain = "evil.example,x"}, NULL},
    {{.domain = "a b"}, NULL},
    {{.domain = ""}, NULL},
    {{.samesite = "Lax; Secure"}, NULL},
    {{.samesite = "foo"}, NULL},
    {{.samesite = ""}, NULL},
    {{.samesite = "lax "}, NULL},
    {{.path = "/"}, "s=v; Path=/; SameSite=lax"},
    {{.path = "/a b"}, "s=v; Path=/a b; SameSite=lax"},
    {{.path = "/x/y,z=1"}, "s=v; Path=/x/y,z=1; SameSite=lax"},
    {{.domain = "example.com"}, "s=v; Domain=example.com; Path=/; SameSite=lax"},
    {{.domain = ".sub-1.Example.com"}, "s=v; Domain=.sub-1.Example.com; Path=/; SameSite=lax"},
    {{.samesite = "Strict"}, "s=v; Path=/; SameSite=Strict"},
    {{.samesite = "none", .secure = true}, "s=v; Path=/; SameSite=none; Secure"},
    {{.samesite = "LAX", .httponly = true}, "s=v; HttpOnly; Path=/; SameSite=LAX"},
};

static void h_cookie_case(wf_req *req, wf_res *res) {
    long long i = wf_param_int(req, WF_IN_QUERY, "i", "required");
    if (wf_invalid(req)) return;
    int rc = wf_set_cookie(res, "s", "v", i < 0 ? NULL : &cookie_cases[i].opts);
    wf_reply_obj(res, 200, WF_KV("rc", rc));
}

WF_TEST(hardening_cookie_attributes_are_validated) {
    wf_app *app = wf_app_new();
    wf_get(app, "/c", h_cookie_case);
    wf_test_client *tc = wf_test_client_new(app, NULL);
    wf_test_res r;
    char path[32], v[128], want[32];
    for (int i = -1; i < (int)(sizeof cookie_cases / sizeof cookie_cases[0]); i++) {
        const char *line = i < 0 ? "s=v; Path=/; SameSite=lax" : cookie_cases[i].line;
        snprintf(path, sizeof path, "/c?i=%d", i);
        snprintf(want, sizeof want, "{\"rc\":%d}", line ? 0 : WF_EINVAL);
        WF_EXPECT_EQ_INT(hreq(tc, "GET", path, NULL, &r), 200);
        bool ok = TU_EXPECT_EQ_STR_AT(TU_HERE, r.body, want);
        if (line) ok = TU_EXPECT_EQ_STR_AT(TU_HERE, hhdr(&r, "set-cookie", v, sizeof v), line) && ok;
        else ok = TU_EXPECT_TRUE_AT(TU_HERE, !wf_test_header(&r, "set-cookie").ptr) && ok;
        if (!ok) wf_test_log("case %d: %s", i, r.head);
        wf_test_res_free(&r);
    }
    wf_test_client_free(tc);
    wf_app_free(app);
}

/* ---- 10. integers held to integer bounds exactly ---- */

static void h_le53(wf_req *req, wf_res *res) {
    long long n = wf_param_int(req, WF_IN_QUERY, "n", "required, le=9007199254740992");
    if (!wf_invalid(req)) wf_reply_obj(res, 200, WF_KV("n", n));
}
static void h_gt53(wf_req *req, wf_res *res) {
    long long n = wf_param_int(req, WF_IN_QUERY, "n", "required, gt=9007199254740992");
    if (!wf_invalid(req)) wf_reply_obj(res, 200, WF_KV("n", n));
}
static void h_gemin(wf_req *req, wf_res *res) {
    long long n =
        wf_param_int(req, WF_IN_QUERY, "n", "required, ge=-9223372036854775808, le=9223372036854775807");
    if (!wf_invalid(req)) wf_reply_obj(res, 200, WF_KV("n", n));
}
static void h_lefrac(wf_req *req, wf_res *res) {
    long long n = wf_param_int(req, WF_IN_QUERY, "n", "required, le=1.5");
    if (!wf_invalid(req)) wf_reply_obj(res, 200, WF_KV("n", n));
}
static void h_body53(wf_req *req, wf_res *res) {
    long long n = wf_body_int(req, "n", "required, le=9007199254740992");
    if (!wf_invalid(req)) wf_reply_obj(res, 200, WF_KV("n", n));
}

static void expect_int_at(tu_at at, wf_test_client *tc, const char *method, const char *path,
                          const char *json, int status, const char *has) {
    wf_test_req rq = {.method = method, .path = path, .json = json};
    wf_test_res r;
    TU_ASSERT_EQ_INT_AT(at, wf_test_request(tc, &rq, &r), 0);
    bool ok = TU_EXPECT_EQ_INT_AT(at, r.status, status);
    ok = TU_EXPECT_TRUE_AT(at, strstr(r.body, has) != NULL) && ok;
    if (!ok) wf_test_log("%s %s %s: %s", method, path, json ? json : "", r.body);
    wf_test_res_free(&r);
}
#define expect_int(...) expect_int_at(TU_HERE, __VA_ARGS__)

WF_TEST(hardening_int_bounds_are_exact) {
    wf_app *app = wf_app_new();
    wf_get(app, "/le53", h_le53);
    wf_get(app, "/gt53", h_gt53);
    wf_get(app, "/gemin", h_gemin);
    wf_get(app, "/lefrac", h_lefrac);
    wf_post(app, "/body53", h_body53);
    wf_test_client *tc = wf_test_client_new(app, NULL);
    const char *not_le = "\"type\":\"value_error.number.not_le\"";
    expect_int(tc, "GET", "/le53?n=9007199254740993", NULL, 422, not_le);
    expect_int(tc, "GET", "/le53?n=9007199254740993", NULL, 422, "\"loc\":[\"query\",\"n\"]");
    expect_int(tc, "GET", "/le53?n=9223372036854775807", NULL, 422, not_le);
    expect_int(tc, "GET", "/le53?n=9007199254740992", NULL, 200, "{\"n\":9007199254740992}");
    expect_int(tc, "GET", "/gt53?n=9007199254740992", NULL, 422, "value_error.number.not_gt");
    expect_int(tc, "GET", "/gt53?n=9007199254740993", NULL, 200, "{\"n\":9007199254740993}");
    expect_int(tc, "GET", "/gemin?n=-9223372036854775808", NULL, 200, "{\"n\":-9223372036854775808}");
    expect_int(tc, "GET", "/gemin?n=9223372036854775807", NULL, 200, "{\"n\":9223372036854775807}");
    expect_int(tc, "GET", "/gemin?n=-9223372036854775809", NULL, 422, "type_error.integer");
    expect_int(tc, "GET", "/lefrac?n=1", NULL, 200, "{\"n\":1}");
    expect_int(tc, "GET", "/lefrac?n=2", NULL, 422, not_le);
    expect_int(tc, "GET", "/lefrac?n=-9223372036854775808", NULL, 200, "{\"n\":-9223372036854775808}");
    expect_int(tc, "POST", "/body53", "{\"n\":9007199254740993}", 422, not_le);
    expect_int(tc, "POST", "/body53", "{\"n\":9007199254740993}", 422, "\"loc\":[\"body\",\"n\"]");
    expect_int(tc, "POST", "/body53", "{\"n\":\"9007199254740993\"}", 422, not_le);
    expect_int(tc, "POST", "/body53", "{\"n\":9007199254740992}", 200, "{\"n\":9007199254740992}");
    wf_test_client_free(tc);
    wf_app_free(app);
}

/* ---- 11. the JWT leeway is bounded; its sums saturate ---- */

static int jwt_check_at(tu_at at, const char *claims, long long now, long long leeway) {
    wf_buf tok = {0};
    TU_ASSERT_EQ_INT_AT(at, wf_jwt_encode(&tok, claims, "key", 3), 0);
    wf_jwt_opts o = {.leeway = leeway, .now = now};
    wf_json_doc d;
    int rc = wf_jwt_decode(tok.ptr, tok.len, "key", 3, &o, &d);
    if (rc == 0) wf_json_free(&d);
    wf_buf_free(&tok);
    return rc;
}
#define jwt_check(...) jwt_check_at(TU_HERE, __VA_ARGS__)

WF_TEST(hardening_jwt_leeway_is_bounded) {
    const char *ok = "{\"sub\":\"a\",\"exp\":2000}";
    WF_EXPECT_EQ_INT(jwt_check(ok, 1000, LLONG_MAX), WF_EINVAL);
    WF_EXPECT_EQ_INT(jwt_check(ok, 1000, LLONG_MIN), WF_EINVAL);
    WF_EXPECT_EQ_INT(jwt_check(ok, 1000, -1), WF_EINVAL);
    WF_EXPECT_EQ_INT(jwt_check(ok, 1000, 366LL * 86400 + 1), WF_EINVAL);
    WF_EXPECT_EQ_INT(jwt_check(ok, 1000, 366LL * 86400), 0);
    WF_EXPECT_EQ_INT(jwt_check(ok, 1000, 0), 0);
    /* the leeway counts: expired at 2000, valid until 2010 with 10 s */
    WF_EXPECT_EQ_INT(jwt_check(ok, 2005, 0), WF_EEXPIRED);
    WF_EXPECT_EQ_INT(jwt_check(ok, 2005, 10), 0);
    WF_EXPECT_EQ_INT(jwt_check(ok, 2010, 10), WF_EEXPIRED);
    WF_EXPECT_EQ_INT(jwt_check(ok, 2000 + 366LL * 86400, 366LL * 86400), WF_EEXPIRED);
}

/* now at the ends of the range: now - leeway and now + leeway saturate (UBSan: no overflow) */
WF_TEST(hardening_jwt_leeway_sums_saturate) {
    const long long lo = LLONG_MIN + 5, hi = LLONG_MAX - 5;
    WF_EXPECT_EQ_INT(jwt_check("{\"exp\":-9223372036854775808}", lo, 10), WF_EEXPIRED);
    WF_EXPECT_EQ_INT(jwt_check("{\"exp\":-9223372036854775807}", lo, 10), 0);
    WF_EXPECT_EQ_INT(jwt_check("{\"exp\":-9223372036854775803}", lo, 10), 0);
    WF_EXPECT_EQ_INT(jwt_check("{\"exp\":9223372036854775807}", lo, 10), 0);
    WF_EXPECT_EQ_INT(jwt_check("{\"nbf\":9223372036854775807,\"iat\":9223372036854775807}", hi, 10), 0);
    WF_EXPECT_EQ_INT(jwt_check("{\"nbf\":-9223372036854775808}", hi, 10), 0);
    WF_EXPECT_EQ_INT(jwt_check("{\"exp\":9223372036854775807}", hi, 10), 0);
    WF_EXPECT_EQ_INT(jwt_check("{\"exp\":9223372036854775806}", hi, 366LL * 86400), 0);
    WF_EXPECT_EQ_INT(jwt_check("{\"exp\":-9223372036854775808}", hi, 366LL * 86400), WF_EEXPIRED);
    WF_EXPECT_EQ_INT(jwt_check("{\"nbf\":9223372036854775807}", lo, 366LL * 86400), WF_ENOTYET);
}

/* ---- 14. one PBKDF2 rounds limit for hash and verify ---- */

WF_TEST(hardening_password_rounds_are_bounded) {
    char h[160], bad[200];
    /* a well-formed passlib hash of few rounds, its rounds then raised past the limit */
    WF_ASSERT_GT_INT(wf_password_hash(h, sizeof h, "pw", 2, &(wf_pw_opts){.rounds = 1000}), 0);
    WF_ASSERT_EQ_INT(wf_password_verify(h, "pw", 2), 1);
    const char *rest = h + strlen("$pbkdf2-sha256$1000");
    WF_ASSERT_TRUE(strncmp(h, "$pbkdf2-sha256$1000$", 20) == 0);
    static const char *const rounds[] = {"100000001", "4294967295", "4294967296", "99999999999999999999"};
    for (int i = 0; i < 4; i++) {
        snprintf(bad, sizeof bad, "$pbkdf2-sha256$%s%s", rounds[i], rest);
        WF_EXPECT_EQ_INT(wf_password_verify(bad, "pw", 2), WF_EINVAL);
        WF_EXPECT_TRUE(wf_password_needs_rehash(bad, NULL));
        WF_EXPECT_TRUE(wf_password_needs_rehash(bad, &(wf_pw_opts){.rounds = 1000}));
    }
    /* Django's form too */
    uint8_t sum[32] = {1, 2, 3};
    char b64[48];
    wf_base64_encode(b64, sum, sizeof sum, false);
    snprintf(bad, sizeof bad, "pbkdf2_sha256$100000001$salt$%s", b64);
    WF_EXPECT_EQ_INT(wf_password_verify(bad, "pw", 2), WF_EINVAL);
    WF_EXPECT_TRUE(wf_password_needs_rehash(bad, NULL));
    /* bcrypt's cost is 4-31 */
    WF_EXPECT_EQ_INT(wf_password_hash(h, sizeof h, "pw", 2, &(wf_pw_opts){WF_PW_BCRYPT, 32}), WF_EINVAL);
    /* last: a header without the limit would spend minutes here (the test's timeout ends it) */
    WF_EXPECT_EQ_INT(wf_password_hash(h, sizeof h, "pw", 2, &(wf_pw_opts){.rounds = 100000001}), WF_EINVAL);
    WF_EXPECT_EQ_INT(wf_password_hash(h, sizeof h, "pw", 2, &(wf_pw_opts){.rounds = UINT32_MAX}), WF_EINVAL);
}

/* ---- 15. Range positions past 64 bits saturate ---- */

static char range_file[128];

static void h_range_file(wf_req *req, wf_res *res) { wf_reply_file(req, res, range_file, NULL); }

WF_TEST(hardening_range_positions_past_64_bits) {
    char dir[] = "/tmp/webfw-hardening-XXXXXX";
    WF_ASSERT_TRUE(mkdtemp(dir) != NULL);
    snprintf(range_file, sizeof range_file, "%s/ten.txt", dir);
    write_file(range_file, "0123456789");
    wf_app *app = wf_app_new();
    wf_get(app, "/f", h_range_file);
    wf_test_client *tc = wf_test_client_new(app, NULL);
    static const struct {
        const char *range;
        int status;
        const char *cr, *body;
    } cases[] = {
        {"bytes=0-99999999999999999999999", 206, "bytes 0-9/10", "0123456789"},
        {"bytes=5-18446744073709551616", 206, "bytes 5-9/10", "56789"},
        {"bytes=5-18446744073709551615", 206, "bytes 5-9/10", "56789"},
        {"bytes=99999999999999999999-", 416, "bytes */10", NULL},
        {"bytes=18446744073709551616-18446744073709551617", 416, "bytes */10", NULL},
        {"bytes=18446744073709551615-", 416, "bytes */10", NULL},
        {"bytes=-99999999999999999999", 206, "bytes 0-9/10", "0123456789"},
        {"bytes=-18446744073709551616", 206, "bytes 0-9/10", "0123456789"},
        {"bytes=-3", 206, "bytes 7-9/10", "789"},
    };
    wf_test_res r;
    char hdr[96], v[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(hdr, sizeof hdr, "Range: %s", cases[i].range);
        bool ok = TU_EXPECT_EQ_INT_AT(TU_HERE, hreq(tc, "GET", "/f", hdr, &r), cases[i].status);
        ok = TU_EXPECT_EQ_STR_AT(TU_HERE, hhdr(&r, "content-range", v, sizeof v), cases[i].cr) && ok;
        if (cases[i].body) ok = TU_EXPECT_EQ_STR_AT(TU_HERE, r.body, cases[i].body) && ok;
        if (!ok) wf_test_log("%s", hdr);
        wf_test_res_free(&r);
    }
    wf_test_client_free(tc);
    wf_app_free(app);
    remove_tree(dir);
}

/* Integer bounds written as floats are exact too (pydantic compares an int with a float exactly). */
static void float_bounds(wf_req *req, wf_res *res) {
    long long a = wf_param_int(req, WF_IN_QUERY, "a", "default=0,le=1e16");
    long long b = wf_param_int(req, WF_IN_QUERY, "b", "default=0,le=9007199254740992.0");
    long long c = wf_param_int(req, WF_IN_QUERY, "c", "default=0,lt=2.0,gt=-0.5");
    long long d = wf_param_int(req, WF_IN_QUERY, "d", "default=0,ge=1e30");
    if (wf_invalid(req)) return;
    wf_reply_obj(res, 200, WF_KV("a", a), WF_KV("b", b), WF_KV("c", c), WF_KV("d", d));
}

WF_TEST(hardening_int_bounds_written_as_floats_are_exact) {
    wf_app *app = wf_app_new();
    wf_get(app, "/f", float_bounds);
    wf_test_client *tc = wf_test_client_new(app, NULL);
    static const struct { const char *path; int status; } cases[] = {
        {"/f?a=10000000000000000", 200}, {"/f?a=10000000000000001", 422},
        {"/f?b=9007199254740992", 200}, {"/f?b=9007199254740993", 422},
        {"/f?c=1", 200}, {"/f?c=2", 422}, {"/f?c=0", 200}, {"/f?c=-1", 422},
        {"/f?d=9223372036854775807", 422},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wf_test_res r;
        WF_ASSERT_EQ_INT(wf_test_get(tc, cases[i].path, &r), 0);
        if (r.status != cases[i].status) wf_test_log("%s: %d %s", cases[i].path, r.status, r.body);
        WF_EXPECT_EQ_INT(r.status, cases[i].status);
        wf_test_res_free(&r);
    }
    wf_test_client_free(tc);
    wf_app_free(app);
}
