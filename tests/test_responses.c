/* Responses: HTML, redirects, cookies, files with Range and conditional requests (sendfile). */
#define _GNU_SOURCE
#include "util.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <unistd.h>

static char file_path[256];

static void h_html(wf_req *req, wf_res *res) {
    (void)req;
    wf_reply_html(res, 200, "<p>hi</p>");
}

static void h_redirect(wf_req *req, wf_res *res) {
    (void)req;
    wf_redirect(res, 0, "/elsewhere?x=1");
}

static void h_cookie(wf_req *req, wf_res *res) {
    (void)req;
    wf_set_cookie(res, "session", "abc123", NULL);
    wf_set_cookie(res, "pref", "dark", &(wf_cookie){.max_age = 60, .httponly = true, .secure = true,
                                                    .domain = "example.com"});
    int bad = wf_set_cookie(res, "bad", "a;b", NULL);
    wf_reply_json(res, 200, "{s:i}", "bad", bad);
}

static void h_file(wf_req *req, wf_res *res) {
    wf_reply_file(req, res, file_path, NULL);
}

static void h_file_then_text(wf_req *req, wf_res *res) {
    wf_reply_file(req, res, file_path, NULL);
    wf_reply_text(res, 200, "hi");                  /* the later body wins; the file is dropped */
}

static void h_missing(wf_req *req, wf_res *res) {
    wf_reply_file(req, res, "/nonexistent/file.txt", NULL);
}

static wf_app *resp_app(void) {
    wf_app *app = wf_app_new();
    wf_get(app, "/html", h_html);
    wf_get(app, "/redirect", h_redirect);
    wf_get(app, "/cookie", h_cookie);
    wf_get(app, "/file", h_file);
    wf_get(app, "/missing", h_missing);
    wf_get(app, "/file-then-text", h_file_then_text);
    return app;
}

/* A file of n bytes: byte i is 'a' + i % 26. */
static void make_file(size_t n) {
    snprintf(file_path, sizeof file_path, "/tmp/webfw-test-%d.txt", (int)getpid());
    FILE *f = fopen(file_path, "wb");
    for (size_t i = 0; i < n; i++) fputc('a' + (int)(i % 26), f);
    fclose(f);
}

static wf_str hdr(const wf_test_res *r, const char *name) { return wf_test_header(r, name); }

/* One request; returns the status. A failure names the caller's line. */
static int get_at(tu_at at, wf_test_client *tc, const char *path, const char *const *headers,
                  const char *method,
                  wf_test_res *r) {
    wf_test_req rq = {.method = method, .path = path, .headers = headers};
    TU_ASSERT_EQ_INT_AT(at, wf_test_request(tc, &rq, r), 0);
    return r->status;
}
#define get(...) get_at(TU_HERE, __VA_ARGS__)

WF_TEST(responses_html_redirect_cookie) {
    wf_app *app = resp_app();
    wf_test_client *tc = wf_test_client_new(app, NULL);
    wf_test_res r;
    WF_EXPECT_EQ_INT(get(tc, "/html", NULL, NULL, &r), 200);
    WF_EXPECT_EQ_STR(r.body, "<p>hi</p>");
    WF_EXPECT_EQ_MEM(hdr(&r, "content-type").ptr, 24, "text/html; charset=utf-8", 24);
    wf_test_res_free(&r);
    WF_EXPECT_EQ_INT(get(tc, "/redirect", NULL, NULL, &r), 307);
    WF_EXPECT_EQ_MEM(hdr(&r, "location").ptr, hdr(&r, "location").len, "/elsewhere?x=1", 14);
    wf_test_res_free(&r);
    WF_EXPECT_EQ_INT(get(tc, "/cookie", NULL, NULL, &r), 200);
    wf_str c1 = hdr(&r, "set-cookie");
    WF_EXPECT_EQ_MEM(c1.ptr, c1.len, "session=abc123; Path=/; SameSite=lax", 36);
    const char *second = strstr(r.head, "Set-Cookie: pref=");
    WF_ASSERT_TRUE(second != NULL);
    WF_EXPECT_TRUE(strstr(second, "pref=dark; Domain=example.com; expires=") == second + 12);
    WF_EXPECT_TRUE(strstr(second, " GMT; HttpOnly; Max-Age=60; Path=/; SameSite=lax; Secure\r\n") != NULL);
    char want[64];
    snprintf(want, sizeof want, "{\"bad\":%d}", WF_EINVAL);
    WF_EXPECT_EQ_STR(r.body, want);
    wf_test_res_free(&r);
    wf_test_client_free(tc);
    wf_app_free(app);
}

WF_TEST(responses_file_ranges_and_conditionals) {
    make_file(1000);
    wf_app *app = resp_app();
    wf_test_client *tc = wf_test_client_new(app, NULL);
    wf_test_res r;
    char etag[64], lastmod[64], h1[128], h2[128];
    WF_EXPECT_EQ_INT(get(tc, "/file", NULL, NULL, &r), 200);
    WF_EXPECT_EQ_INT(r.body_len, 1000);
    WF_EXPECT_EQ_MEM(r.body, 4, "abcd", 4);
    WF_EXPECT_EQ_MEM(hdr(&r, "content-type").ptr, 25, "text/plain; charset=utf-8", 25);
    WF_EXPECT_EQ_MEM(hdr(&r, "accept-ranges").ptr, 5, "bytes", 5);
    snprintf(etag, sizeof etag, "%.*s", (int)hdr(&r, "etag").len, hdr(&r, "etag").ptr);
    snprintf(lastmod, sizeof lastmod, "%.*s", (int)hdr(&r, "last-modified").len, hdr(&r,
                                                                                     "last-modified").ptr);
    wf_test_res_free(&r);
    snprintf(h1, sizeof h1, "If-None-Match: %s", etag);
    const char *inm[] = {h1, NULL};
    WF_EXPECT_EQ_INT(get(tc, "/file", inm, NULL, &r), 304);
    WF_EXPECT_EQ_INT(r.body_len, 0);
    wf_test_res_free(&r);
    snprintf(h2, sizeof h2, "If-Modified-Since: %s", lastmod);
    const char *ims[] = {h2, NULL};
    WF_EXPECT_EQ_INT(get(tc, "/file", ims, NULL, &r), 304);
    wf_test_res_free(&r);
    const char *other[] = {"If-None-Match: \"nope\"", NULL};
    WF_EXPECT_EQ_INT(get(tc, "/file", other, NULL, &r), 200);
    wf_test_res_free(&r);
    static const struct { const char *range; int status; const char *cr; size_t off, len; } ranges[] = {
        {"Range: bytes=0-9", 206, "bytes 0-9/1000", 0, 10},
        {"Range: bytes=990-", 206, "bytes 990-999/1000", 990, 10},
        {"Range: bytes=-5", 206, "bytes 995-999/1000", 995, 5},
        {"Range: bytes=500-5000", 206, "bytes 500-999/1000", 500, 500},
        {"Range: bytes=1000-", 416, "bytes */1000", 0, 0},
        {"Range: bytes=5-3", 416, "bytes */1000", 0, 0},
        {"Range: bytes=0-1,5-6", 200, NULL, 0, 1000},
        {"Range: items=0-1", 200, NULL, 0, 1000},
    };
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        const char *h[] = {ranges[i].range, NULL};
        WF_EXPECT_EQ_INT(get(tc, "/file", h, NULL, &r), ranges[i].status);
        wf_str cr = hdr(&r, "content-range");
        if (ranges[i].cr) WF_EXPECT_EQ_MEM(cr.ptr, cr.len, ranges[i].cr, strlen(ranges[i].cr));
        if (ranges[i].status != 416) {
            WF_EXPECT_EQ_INT(r.body_len, ranges[i].len);
            bool ok = true;
            for (size_t k = 0; k < r.body_len; k++)
                ok = ok && r.body[k] == (char)('a' + (ranges[i].off + k) % 26);
            WF_EXPECT_TRUE(ok);
        }
        wf_test_res_free(&r);
    }
    WF_EXPECT_EQ_INT(get(tc, "/file", NULL, "HEAD", &r), 200);
    WF_EXPECT_EQ_MEM(hdr(&r, "content-length").ptr, 4, "1000", 4);
    WF_EXPECT_EQ_INT(r.body_len, 0);
    wf_test_res_free(&r);
    const char *star[] = {"If-None-Match: *", NULL};
    WF_EXPECT_EQ_INT(get(tc, "/file", star, NULL, &r), 304);
    wf_test_res_free(&r);
    WF_EXPECT_EQ_INT(get(tc, "/file-then-text", NULL, NULL, &r), 200);
    WF_EXPECT_EQ_STR(r.body, "hi");
    wf_test_res_free(&r);
    WF_EXPECT_EQ_INT(get(tc, "/missing", NULL, NULL, &r), 404);
    wf_test_res_free(&r);
    wf_test_client_free(tc);
    wf_app_free(app);
    unlink(file_path);
}

/* RFC 9110 13: If-Match / If-Unmodified-Since give 412, If-Modified-Since compares dates (in all
   three HTTP-date forms), a stale If-Range turns a range into the whole file; a 416 has one
   Content-Type. */
WF_TEST(responses_file_preconditions) {
    make_file(100);
    wf_app *app = resp_app();
    wf_test_client *tc = wf_test_client_new(app, NULL);
    wf_test_res r;
    char etag[64], h[160];
    WF_ASSERT_EQ_INT(get(tc, "/file", NULL, NULL, &r), 200);
    snprintf(etag, sizeof etag, "%.*s", (int)hdr(&r, "etag").len, hdr(&r, "etag").ptr);
    wf_test_res_free(&r);
    static const struct { const char *h; const char *range; int status; size_t len; } cases[] = {
        {"If-Match: \"zz\"", NULL, 412, 0},
        {"If-Match: \"zz\", %s", NULL, 200, 100},
        {"If-Match: W/%s", NULL, 412, 0},                              /* If-Match compares strongly */
        {"If-Match: *", NULL, 200, 100},
        {"If-Unmodified-Since: Sat, 01 Jan 2000 00:00:00 GMT", NULL, 412, 0},
        {"If-Unmodified-Since: Fri, 01 Jan 2100 00:00:00 GMT", NULL, 200, 100},
        {"If-None-Match: W/%s", NULL, 304, 0},                         /* If-None-Match weakly */
        {"If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT", NULL, 304, 0},
        {"If-Modified-Since: Friday, 01-Jan-60 00:00:00 GMT", NULL, 304, 0},   /* RFC 850: 2060 */
        {"If-Modified-Since: Fri Jan  1 00:00:00 2100", NULL, 304, 0},         /* asctime */
        {"If-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT", NULL, 200, 100},
        {"If-Modified-Since: yesterday", NULL, 200, 100},
        {"If-Range: \"zz\"", "Range: bytes=0-9", 200, 100},
        {"If-Range: %s", "Range: bytes=0-9", 206, 10},
        {"If-Range: Sat, 01 Jan 2000 00:00:00 GMT", "Range: bytes=0-9", 200, 100},
        {"If-Unmodified-Since: Sat, 28 Nov 26 19:50:40 GMT", NULL, 200, 100},     /* not a date: ignored */
        /* 2070: the 50-year rule */
        {"If-Unmodified-Since: Thursday, 01-Jan-70 00:00:00 GMT", NULL, 200, 100},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (strstr(cases[i].h, "%s")) snprintf(h, sizeof h, cases[i].h, etag);
        else snprintf(h, sizeof h, "%s", cases[i].h);
        const char *hs[] = {h, cases[i].range, NULL};
        int st = get(tc, "/file", hs, NULL, &r);
        if (st != cases[i].status) wf_test_log("%s -> %d", h, st);
        WF_EXPECT_EQ_INT(st, cases[i].status);
        if (st == 200 || st == 206) WF_EXPECT_EQ_INT(r.body_len, cases[i].len);
        wf_test_res_free(&r);
    }
    /* repeated lines: a list header's lines are one list; a date header given twice is ignored */
    char im2[160];
    snprintf(im2, sizeof im2, "If-Match: %s", etag);
    const char *lists[] = {"If-Match: \"zz\"", im2, NULL};
    WF_EXPECT_EQ_INT(get(tc, "/file", lists, NULL, &r), 200);
    wf_test_res_free(&r);
    const char *dates[] = {"If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT",
                           "If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT", NULL};
    WF_EXPECT_EQ_INT(get(tc, "/file", dates, NULL, &r), 200);
    wf_test_res_free(&r);
    /* If-Range with a date that is a Wednesday is a date, not an entity-tag */
    struct timeval tv[2] = {{1795608000, 0}, {1795608000, 0}};
    WF_ASSERT_EQ_INT(utimes(file_path, tv), 0);
    const char *wed[] = {"Range: bytes=0-3", "If-Range: Wed, 25 Nov 2026 12:00:00 GMT", NULL};
    WF_EXPECT_EQ_INT(get(tc, "/file", wed, NULL, &r), 206);
    WF_EXPECT_EQ_INT(r.body_len, 4);
    wf_test_res_free(&r);
    const char *range[] = {"Range: bytes=0-9", NULL};          /* Range is for GET only */
    WF_EXPECT_EQ_INT(get(tc, "/file", range, "HEAD", &r), 200);
    WF_EXPECT_TRUE(strstr(r.head, "Content-Length: 100\r\n") != NULL);
    wf_test_res_free(&r);
    const char *bad[] = {"Range: bytes=500-", NULL};
    WF_EXPECT_EQ_INT(get(tc, "/file", bad, NULL, &r), 416);
    WF_EXPECT_TRUE(strstr(r.head, "application/json") != NULL);
    WF_EXPECT_TRUE(strstr(r.head, "text/plain") == NULL);          /* one Content-Type */
    wf_test_res_free(&r);
    wf_test_client_free(tc);
    wf_app_free(app);
    unlink(file_path);
}

/* The server owns Date; a status outside 200-599 is a 500; a 205 never has content. */
static int date_rc;
static void h_status(wf_req *req, wf_res *res) {
    long long st = wf_param_int(req, WF_IN_QUERY, "s", "");
    date_rc = wf_res_add_header(res, "Date", "Thu, 01 Jan 1970 00:00:00 GMT");
    wf_reply_text(res, (int)st, "some content");
}

WF_TEST(responses_status_and_server_headers) {
    wf_app *app = wf_app_new();
    wf_get(app, "/s", h_status);
    wf_test_client *tc = wf_test_client_new(app, NULL);
    wf_test_res r;
    date_rc = 0;
    WF_EXPECT_EQ_INT(get(tc, "/s?s=600", NULL, NULL, &r), 500);
    WF_EXPECT_EQ_INT(date_rc, WF_EINVAL);
    wf_test_res_free(&r);
    date_rc = 0;
    WF_EXPECT_EQ_INT(get(tc, "/s?s=205", NULL, NULL, &r), 205);
    WF_EXPECT_EQ_INT(date_rc, WF_EINVAL);
    WF_EXPECT_EQ_INT(r.body_len, 0);
    WF_EXPECT_TRUE(strstr(r.head, "Content-Length: 0\r\n") != NULL);
    WF_EXPECT_TRUE(strstr(r.head, "1970") == NULL);
    wf_test_res_free(&r);
    wf_test_client_free(tc);
    wf_app_free(app);
}

WF_TEST(responses_large_file_over_a_socket) {
    make_file(20u << 20);
    wf_app *app = resp_app();
    int port = tu_serve(app, NULL);
    tu_resp r;
    WF_ASSERT_EQ_INT(tu_request(port, "GET /file HTTP/1.1\r\nHost: x\r\n\r\n", &r), 200);
    WF_ASSERT_EQ_INT(r.body_len, 20u << 20);
    bool ok = true;
    for (size_t k = 0; k < r.body_len; k += 4099) ok = ok && r.body[k] == (char)('a' + k % 26);
    WF_EXPECT_TRUE(ok);
    tu_resp_free(&r);
    tu_stop(app);
    unlink(file_path);
}

/* Two replies (a forgotten `return`), or a Content-Type set after a reply: one Content-Type and one
   Location at most, the last reply's status, headers and body; the handler's own headers stay. */
static void h_twice(wf_req *req, wf_res *res) {
    wf_str how = wf_param(req, WF_IN_QUERY, "how");
    wf_res_add_header(res, "X-Mine", "kept");
    if (wf_str_eq(how, "error-then-ok")) {
        wf_reply_detail(res, 400, "bad");
        wf_reply_json(res, 200, "{s:i}", "ok", 1);
    } else if (wf_str_eq(how, "text-then-type")) {
        wf_reply_text(res, 200, "<b>x</b>");
        wf_res_add_header(res, "content-type", "text/html");
    } else if (wf_str_eq(how, "redirect-then-text")) {
        wf_redirect(res, 0, "/elsewhere");
        wf_reply_text(res, 201, "made");
    } else if (wf_str_eq(how, "json-then-redirect")) {
        wf_reply_json(res, 200, "{s:i}", "ok", 1);
        wf_redirect(res, 303, "/there");
    }
}

static int count_lines(const char *head, const char *name) {
    int n = 0;
    size_t nl = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n"))
        n += strncasecmp(p + 2, name, nl) == 0 && p[2 + nl] == ':';
    return n;
}

WF_TEST(responses_a_later_reply_replaces_the_earlier) {
    wf_app *app = wf_app_new();
    wf_get(app, "/twice", h_twice);
    wf_test_client *tc = wf_test_client_new(app, NULL);
    wf_test_res r;
    WF_ASSERT_EQ_INT(wf_test_get(tc, "/twice?how=error-then-ok", &r), 0);
    WF_EXPECT_EQ_INT(r.status, 200);
    WF_EXPECT_EQ_STR(r.body, "{\"ok\":1}");
    WF_EXPECT_EQ_INT(count_lines(r.head, "Content-Type"), 1);
    WF_EXPECT_EQ_INT(count_lines(r.head, "X-Mine"), 1);
    wf_test_res_free(&r);
    WF_ASSERT_EQ_INT(wf_test_get(tc, "/twice?how=text-then-type", &r), 0);
    WF_EXPECT_EQ_INT(count_lines(r.head, "Content-Type"), 1);
    wf_str type = wf_test_header(&r, "Content-Type");
    WF_EXPECT_EQ_MEM(type.ptr, type.len, "text/html", (size_t)9);
    wf_test_res_free(&r);
    WF_ASSERT_EQ_INT(wf_test_get(tc, "/twice?how=redirect-then-text", &r), 0);
    WF_EXPECT_EQ_INT(r.status, 201);
    WF_EXPECT_EQ_STR(r.body, "made");
    WF_EXPECT_EQ_INT(count_lines(r.head, "Location"), 0);
    WF_EXPECT_EQ_INT(count_lines(r.head, "Content-Type"), 1);
    wf_test_res_free(&r);
    WF_ASSERT_EQ_INT(wf_test_get(tc, "/twice?how=json-then-redirect", &r), 0);
    WF_EXPECT_EQ_INT(r.status, 303);
    WF_EXPECT_EQ_STR(r.body, "");
    WF_EXPECT_EQ_INT(count_lines(r.head, "Location"), 1);
    WF_EXPECT_EQ_INT(count_lines(r.head, "Content-Type"), 0);
    WF_EXPECT_EQ_INT(count_lines(r.head, "X-Mine"), 1);
    wf_test_res_free(&r);
    wf_test_client_free(tc);
    wf_app_free(app);
}

/* ---- type-checked JSON: WF_KV members, wf_reply_obj, the response's own writer ---- */

static void reply_obj(wf_req *req, wf_res *res) {
    (void)req;
    char name[8] = "note";
    const char *none = NULL;
    wf_str view = {"viewed", 4};
    unsigned long long big = 18446744073709551615ull;
    wf_reply_obj(res, 201, WF_KV("id", 7), WF_KV("big", big), WF_KV("neg", (short)-3), WF_KV("price", 9.5),
                 WF_KV("ratio", 0.25f), WF_KV("done", (bool)true), WF_KV("name", name), WF_KV("none", none),
                 WF_KV("view", view), WF_KV("nil", NULL), WF_KV_NULL("n2"), WF_KV_RAW("raw", "[1,{}]"));
}

static void res_json_list(wf_req *req, wf_res *res) {
    long long n = wf_param_int(req, WF_IN_QUERY, "n", "default=3");
    const char *how = wf_req_strdup(req, wf_param_str(req, WF_IN_QUERY, "how", "default=ok"));
    wf_jw *w = wf_res_json(res, 200);
    wf_jw_arr(w);
    for (long long i = 0; i < n; i++) wf_jw_object(w, WF_KV("id", i), WF_KV("title", "t"));
    if (strcmp(how, "open") == 0) return;               /* the array left open: a 500 */
    if (strcmp(how, "nan") == 0) wf_jw_num(w, NAN);      /* the writer fails: a 500 */
    wf_jw_end(w);
    if (strcmp(how, "replaced") == 0) wf_reply_text(res, 409, "later reply");
}

WF_TEST(responses_typed_json_members_and_the_response_writer) {
    wf_app *app = wf_app_new();
    wf_get(app, "/obj", reply_obj);
    wf_get(app, "/list", res_json_list);
    wf_config cfg = {.log = tu_log, .no_access_log = true};
    wf_test_client *tc = wf_test_client_new(app, &cfg);
    wf_test_res r;
    WF_ASSERT_EQ_INT(wf_test_get(tc, "/obj", &r), 0);
    WF_EXPECT_EQ_INT(r.status, 201);
    WF_EXPECT_EQ_STR(r.body, "{\"id\":7,\"big\":18446744073709551615,\"neg\":-3,\"price\":9.5,\"ratio\":0.25,"
                             "\"done\":true,\"name\":\"note\",\"none\":null,\"view\":\"view\",\"nil\":null,"
                             "\"n2\":null,\"raw\":[1,{}]}");
    wf_str ct = wf_test_header(&r, "content-type");
    WF_EXPECT_EQ_MEM(ct.ptr, ct.len, "application/json", 16);
    wf_test_res_free(&r);
    WF_ASSERT_EQ_INT(wf_test_get(tc, "/list?n=2", &r), 0);
    WF_EXPECT_EQ_INT(r.status, 200);
    WF_EXPECT_EQ_STR(r.body, "[{\"id\":0,\"title\":\"t\"},{\"id\":1,\"title\":\"t\"}]");
    wf_test_res_free(&r);
    WF_ASSERT_EQ_INT(wf_test_get(tc, "/list?n=0", &r), 0);
    WF_EXPECT_EQ_STR(r.body, "[]");
    wf_test_res_free(&r);
    WF_ASSERT_EQ_INT(wf_test_get(tc, "/list?how=replaced", &r), 0);
    WF_EXPECT_EQ_INT(r.status, 409);
    WF_EXPECT_EQ_STR(r.body, "later reply");
    wf_test_res_free(&r);
    tu_log_clear();
    static const char *const bad[] = {"/list?how=open", "/list?how=nan"};
    for (int i = 0; i < 2; i++) {
        WF_ASSERT_EQ_INT(wf_test_get(tc, bad[i], &r), 0);
        WF_EXPECT_EQ_INT(r.status, 500);
        WF_EXPECT_EQ_STR(r.body, "{\"detail\":\"Internal Server Error\"}");
        wf_test_res_free(&r);
    }
    WF_EXPECT_EQ_INT(tu_log_count("GET /list: the JSON body of wf_res_json was left with an object or"), 1);
    WF_EXPECT_EQ_INT(tu_log_count("GET /list: the JSON body of wf_res_json was misused"), 1);
    wf_test_client_free(tc);
    wf_app_free(app);
}
