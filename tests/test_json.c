/* The JSON writer: escaping, UTF-8, numbers as Python writes them, structure checks, pack formats. */
#define _GNU_SOURCE
#include "util.h"
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

/* Expected texts made by Python's json.dumps (an independent implementation). */
static const struct { double v; const char *text; } doubles[] = {
    {0.0, "0.0"}, {-0.0, "-0.0"}, {1.0, "1.0"}, {10.0, "10.0"}, {0.1, "0.1"},
    {0.30000000000000004, "0.30000000000000004"}, {1e+16, "1e+16"},
    {1000000000000000.0, "1000000000000000.0"}, {1.2345678901234568e+17, "1.2345678901234568e+17"},
    {0.0001, "0.0001"}, {1e-05, "1e-05"}, {1.5e+300, "1.5e+300"}, {5e-324, "5e-324"},
    {1.7976931348623157e+308, "1.7976931348623157e+308"}, {-2.5, "-2.5"}, {3.14159, "3.14159"},
    {100.0, "100.0"}, {1e+22, "1e+22"}, {0.000123, "0.000123"}, {9007199254740992.0, "9007199254740992.0"},
    {1.5e-323, "1.5e-323"}, {0.3333333333333333, "0.3333333333333333"},
};

WF_TEST(json_doubles_as_python_writes_them) {
    char out[32];
    for (size_t i = 0; i < sizeof doubles / sizeof doubles[0]; i++) {
        int n = wf_json_double(out, doubles[i].v);
        WF_EXPECT_EQ_INT(n, (long)strlen(doubles[i].text));
        WF_EXPECT_EQ_STR(out, doubles[i].text);
    }
    WF_EXPECT_EQ_INT(wf_json_double(out, NAN), WF_EINVAL);
    WF_EXPECT_EQ_INT(wf_json_double(out, INFINITY), WF_EINVAL);
    WF_EXPECT_EQ_INT(wf_json_double(out, -INFINITY), WF_EINVAL);
}

/* 10,000,000 random doubles (a xorshift sequence over every bit pattern) written and read back
   exactly, as %.17g's text is, with no more digits: in ten tests of 1,000,000 so that none runs
   long on a slow or busy machine; part is 0 to 9. */
#define DOUBLES_PER_PART 1000000
static void doubles_read_back_at(tu_at at, int part) {
    unsigned long long x = 0x9e3779b97f4a7c15ull;
    int checked = 0;
    locale_t c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);   /* read back the C way, whatever */
    TU_ASSERT_TRUE_AT(at, c_locale != (locale_t)0);                  /* locale the test runs under */
    locale_t outer = uselocale(c_locale);      /* %.17g below writes a '.', as webfw.h always does */
    for (int i = 0; i < DOUBLES_PER_PART * (part + 1); i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        if (i < DOUBLES_PER_PART * part) continue;
        double v;
        memcpy(&v, &x, sizeof v);
        if (v != v || v - v != 0) continue;
        char out[32], g17[40];
        int n = wf_json_double(out, v), digits = 0;
        bool started = false;
        snprintf(g17, sizeof g17, "%.17g", v);
        for (const char *p = out; *p && *p != 'e'; p++) {     /* from the first significant digit */
            started = started || (*p >= '1' && *p <= '9');
            digits += started && *p >= '0' && *p <= '9';
        }
        /* at most %.17g's 17 significant digits (and the ".0" of a whole number) */
        bool back = strtod_l(out, NULL, c_locale) == v && strtod_l(g17, NULL, c_locale) == v;
        if (n <= 0 || !back || digits > 18) {
            wf_test_log("%.17g gave '%s'", v, out);
            uselocale(outer);
            TU_ASSERT_TRUE_AT(at, n > 0 && back && digits <= 18);
        }
        checked++;
    }
    uselocale(outer);
    freelocale(c_locale);
    TU_EXPECT_GT_INT_AT(at, checked, DOUBLES_PER_PART * 95 / 100);   /* the rest: NaNs and infinities */
}
#define doubles_read_back(part) doubles_read_back_at(TU_HERE, part)

WF_TEST(json_doubles_read_back_exactly_1) { doubles_read_back(0); }
WF_TEST(json_doubles_read_back_exactly_2) { doubles_read_back(1); }
WF_TEST(json_doubles_read_back_exactly_3) { doubles_read_back(2); }
WF_TEST(json_doubles_read_back_exactly_4) { doubles_read_back(3); }
WF_TEST(json_doubles_read_back_exactly_5) { doubles_read_back(4); }
WF_TEST(json_doubles_read_back_exactly_6) { doubles_read_back(5); }
WF_TEST(json_doubles_read_back_exactly_7) { doubles_read_back(6); }
WF_TEST(json_doubles_read_back_exactly_8) { doubles_read_back(7); }
WF_TEST(json_doubles_read_back_exactly_9) { doubles_read_back(8); }
WF_TEST(json_doubles_read_back_exactly_10) { doubles_read_back(9); }


WF_TEST(json_pack_objects_arrays_and_values) {
    wf_buf b = {0};
    WF_ASSERT_EQ_INT(wf_json_pack(&b, "{s:s}", "message", "Hello World"), 0);
    WF_EXPECT_EQ_MEM(b.ptr, b.len, "{\"message\":\"Hello World\"}", 25);
    b.len = 0;
    wf_str view = {"abc", 2};
    WF_ASSERT_EQ_INT(wf_json_pack(&b, "{s:i, s:I, s:u, s:f, s:b, s:b, s:n, s:s, s:S, s:[i,[],{}], s:j}",
                                  "i", -7, "I", -9007199254740993LL, "u", 4000000000u, "f", 0.5, "t", 1,
                                  "f2", 0, "n", "null", (const char *)NULL, "S", view, "a", 1,
                                  "raw", "{\"x\":[1]}"), 0);
    const char *want = "{\"i\":-7,\"I\":-9007199254740993,\"u\":4000000000,\"f\":0.5,\"t\":true,\"f2\":false,"
                       "\"n\":null,\"null\":null,\"S\":\"ab\",\"a\":[1,[],{}],\"raw\":{\"x\":[1]}}";
    WF_EXPECT_EQ_MEM(b.ptr, b.len, want, strlen(want));
    b.len = 0;
    WF_EXPECT_EQ_INT(wf_json_pack(&b, "[f]", NAN), WF_EINVAL);
    WF_EXPECT_EQ_INT(b.len, 0);                  /* nothing kept on error */
    wf_buf_free(&b);
}

/* A format or an argument wf_json_pack cannot use: in a debug build (this one: no NDEBUG) it is said
   on stderr, with the format and the position, and the program aborts. Each case runs in a child. */
static void pack_in_child(int which) {
    wf_buf b = {0};
    wf_str view = {"abc", 3};
    switch (which) {
    case 0: wf_json_pack(&b, "{s}", "k"); break;
    case 1: wf_json_pack(&b, "[i", 1); break;
    case 2: wf_json_pack(&b, "[i]]", 1); break;
    case 3: wf_json_pack(&b, "ii", 1, 2); break;
    case 4: wf_json_pack(&b, "x"); break;
    case 5: wf_json_pack(&b, "{i:i}", 1, 2); break;
    case 6: wf_json_pack(&b, "{s:s}", "id", 42); break;             /* an int for a string */
    case 7: wf_json_pack(&b, "{s:S}", "name", (wf_str){NULL, 5}); break;   /* no wf_str can be that */
    default: wf_json_pack(&b, "{s:S}", "name", view); break;        /* fine: exits 0 */
    }
    wf_buf_free(&b);
}

WF_TEST(json_pack_refuses_bad_formats_and_arguments_in_debug_builds) {
    static const char *const said[] = {
        "wf_json_pack(\"{s}\"): at 2 ('}'): a key without its value",
        "wf_json_pack(\"[i\"): at 1 ('i'): a bracket left open",
        "wf_json_pack(\"[i]]\"): at 3 (']'): a bracket that closes nothing open",
        "wf_json_pack(\"ii\"): at 1 ('i'): a second value at the top level",
        "wf_json_pack(\"x\"): at 0 ('x'): an unknown letter",
        "wf_json_pack(\"{i:i}\"): at 1 ('i'): an object's key must be s",
        "wf_json_pack(\"{s:s}\"): at 3 ('s'): a small integer where a const char * is due",
        "wf_json_pack(\"{s:S}\"): at 3 ('S'): not a wf_str",
        NULL,
    };
    for (int i = 0; i < 9; i++) {
        int fd[2];
        WF_ASSERT_EQ_INT(pipe(fd), 0);
        pid_t pid = fork();
        WF_ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
            dup2(fd[1], 2);
            pack_in_child(i);
            _exit(0);
        }
        close(fd[1]);
        char out[512] = {0};
        size_t n = 0;
        ssize_t r;
        while (n < sizeof out - 1 && (r = read(fd[0], out + n, sizeof out - 1 - n)) > 0) n += (size_t)r;
        close(fd[0]);
        int st = 0;
        WF_ASSERT_EQ_INT(waitpid(pid, &st, 0), pid);
        if (!said[i]) {
            WF_EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
            continue;
        }
        WF_EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
        if (!strstr(out, said[i])) wf_test_log("case %d said: %s", i, out);
        WF_EXPECT_TRUE(strstr(out, said[i]) != NULL);
    }
}

WF_TEST(json_strings_escaped_and_utf8_checked) {
    wf_buf b = {0};
    WF_ASSERT_EQ_INT(wf_json_pack(&b, "[s]", "q\"b\\s/\n\r\t\b\f\x01\x1f\x7f é €𝄞"), 0);
    const char *want = "[\"q\\\"b\\\\s/\\n\\r\\t\\b\\f\\u0001\\u001f\x7f é €𝄞\"]";
    WF_EXPECT_EQ_MEM(b.ptr, b.len, want, strlen(want));
    b.len = 0;
    /* invalid UTF-8: a lone continuation, an overlong, a surrogate, past U+10FFFF, a cut sequence;
       one U+FFFD per maximal subpart, as b"...".decode("utf-8", "replace") gives */
    WF_ASSERT_EQ_INT(wf_json_pack(&b, "[s]",
                                  "a\x80" "b\xc0\xaf" "c\xed\xa0\x80" "d\xf4\x90\x80\x80" "e\xe2\x82"), 0);
    const char *fffd = "[\"a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd" "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                       "d\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "e\xef\xbf\xbd\"]";
    WF_EXPECT_EQ_MEM(b.ptr, b.len, fffd, strlen(fffd));
    WF_EXPECT_TRUE(wf_utf8_valid(b.ptr, b.len));
    WF_EXPECT_FALSE(wf_utf8_valid("\xed\xa0\x80", 3));
    WF_EXPECT_FALSE(wf_utf8_valid("\xf0\x8f\xbf\xbf", 4));
    WF_EXPECT_TRUE(wf_utf8_valid("\xf4\x8f\xbf\xbf", 4));
    WF_EXPECT_TRUE(wf_utf8_valid("\xed\x9f\xbf", 3));
    wf_buf_free(&b);
}

WF_TEST(json_writer_streams_and_checks_structure) {
    wf_buf b = {0};
    wf_jw w = {.out = &b};
    wf_jw_arr(&w);
    for (int i = 0; i < 1000; i++) {
        wf_jw_obj(&w);
        wf_jw_key(&w, "id");
        wf_jw_int(&w, i);
        wf_jw_end(&w);
    }
    wf_jw_end(&w);
    WF_ASSERT_EQ_INT(w.err, 0);
    WF_EXPECT_EQ_MEM(b.ptr, 20, "[{\"id\":0},{\"id\":1},{", 20);
    WF_EXPECT_EQ_MEM(b.ptr + b.len - 11, 11, "{\"id\":999}]", 11);
    /* misuse is a sticky error */
    wf_jw bad = {.out = &b};
    wf_jw_arr(&bad);
    wf_jw_key(&bad, "k");
    WF_EXPECT_EQ_INT(bad.err, WF_EINVAL);
    wf_jw_int(&bad, 1);
    WF_EXPECT_EQ_INT(bad.err, WF_EINVAL);
    wf_jw deep = {.out = &b};
    for (int i = 0; i < 129; i++) wf_jw_arr(&deep);   /* as deep as the reader goes, not deeper */
    WF_EXPECT_EQ_INT(deep.err, WF_EINVAL);
    wf_buf_free(&b);
}

/* ---- the reader ---- */

static const char *const valid_json[] = {
    "{}", "[]", "0", "-0", "1.5e3", "-12.25E-2", "\"\"", "true", "false", "null", " \t\r\n[1, 2 ,3]\n ",
    "{\"a\":{\"b\":[1,{\"c\":null}]}}", "\"\\u00e9\\ud834\\udd1e\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "[1e308]",
    "\"\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e\"", "{\"a\":1,\"a\":2}", "123456789012345678901234567890",
};

static const char *const invalid_json[] = {
    "", " ", "[", "]", "{", "{\"a\"}", "{\"a\":}", "{a:1}", "{'a':1}", "[1,]", "[,1]", "{\"a\":1,}", "01",
    "1.", ".5", "+1", "-", "1e", "1e+", "0x10", "NaN", "Infinity", "-Infinity", "[1e400]", "tru", "nul",
    "True",
    "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"",
    "\"a\tb\"", "\"\x01\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "\"\xff\"", "[1] [2]", "1 2",
    "[\"a\" \"b\"]", "{\"a\" 1}", "\xef\xbb\xbf{}",
};

WF_TEST(json_reader_accepts_and_refuses) {
    for (size_t i = 0; i < sizeof valid_json / sizeof valid_json[0]; i++) {
        wf_json_doc d;
        int rc = wf_json_parse(valid_json[i], strlen(valid_json[i]), 0, &d);
        if (rc != 0) wf_test_log("refused valid %s: %s at %zu", valid_json[i], d.err, d.err_offset);
        WF_EXPECT_EQ_INT(rc, 0);
        wf_json_free(&d);
    }
    for (size_t i = 0; i < sizeof invalid_json / sizeof invalid_json[0]; i++) {
        wf_json_doc d;
        int rc = wf_json_parse(invalid_json[i], strlen(invalid_json[i]), 0, &d);
        if (rc == 0) wf_test_log("accepted invalid %s", invalid_json[i]);
        WF_EXPECT_EQ_INT(rc, WF_EPARSE);
        WF_EXPECT_TRUE(d.err != NULL && d.err_offset <= strlen(invalid_json[i]));
        wf_json_free(&d);
    }
}

WF_TEST(json_reader_errors_like_python) {
    static const struct { const char *text, *err; size_t off; } cases[] = {
        {"{bad", "Expecting property name enclosed in double quotes", 1},
        {"[1,", "Expecting value", 3},
        {"[1 2]", "Expecting ',' delimiter", 3},
        {"{\"a\" 1}", "Expecting ':' delimiter", 5},
        {"\"abc", "Unterminated string starting at", 0},
        {"[] x", "Extra data", 3},
        {"", "Expecting value", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wf_json_doc d;
        WF_EXPECT_EQ_INT(wf_json_parse(cases[i].text, strlen(cases[i].text), 0, &d), WF_EPARSE);
        WF_EXPECT_EQ_STR(d.err, cases[i].err);
        WF_EXPECT_EQ_INT(d.err_offset, cases[i].off);
    }
}

WF_TEST(json_reader_values_paths_iteration) {
    const char *t = "{\"name\":\"Foo \\u00e9\",\"price\":10.5,\"n\":-42,\"big\":18446744073709551616,"
                    "\"ok\":true,"
                    "\"none\":null,\"tags\":[\"a\",\"b\",{\"deep\":[0,1,2]}],\"dup\":1,\"dup\":2}";
    wf_json_doc d;
    WF_ASSERT_EQ_INT(wf_json_parse(t, strlen(t), 0, &d), 0);
    wf_str s;
    double f;
    long long i;
    bool b;
    WF_EXPECT_TRUE(wf_json_str(wf_json_get(d.root, "name"), &s));
    WF_EXPECT_EQ_MEM(s.ptr, s.len, "Foo \xc3\xa9", 6);
    WF_EXPECT_TRUE(wf_json_num(wf_json_get(d.root, "price"), &f) && f == 10.5);
    WF_EXPECT_FALSE(wf_json_int(wf_json_get(d.root, "price"), &i));
    WF_EXPECT_TRUE(wf_json_int(wf_json_get(d.root, "n"), &i) && i == -42);
    WF_EXPECT_FALSE(wf_json_int(wf_json_get(d.root, "big"), &i));          /* past 64 bits */
    WF_EXPECT_TRUE(wf_json_num(wf_json_get(d.root, "big"), &f) && f == 18446744073709551616.0);
    WF_EXPECT_TRUE(wf_json_bool(wf_json_get(d.root, "ok"), &b) && b);
    WF_EXPECT_EQ_INT(wf_json_typeof(wf_json_get(d.root, "none")), WF_JSON_NULL);
    WF_EXPECT_EQ_INT(wf_json_typeof(wf_json_get(d.root, "missing")), WF_JSON_NONE);
    WF_EXPECT_TRUE(wf_json_int(wf_json_path(d.root, "tags.2.deep.1"), &i) && i == 1);
    WF_EXPECT_TRUE(wf_json_path(d.root, "tags.3") == NULL);
    WF_EXPECT_TRUE(wf_json_path(d.root, "tags.x") == NULL);
    WF_EXPECT_TRUE(wf_json_int(wf_json_get(d.root, "dup"), &i) && i == 2);   /* the last wins */
    WF_EXPECT_EQ_INT(wf_json_len(d.root), 9);
    WF_EXPECT_EQ_INT(wf_json_len(wf_json_get(d.root, "tags")), 3);
    int n = 0;
    for (const wf_jval *m = wf_json_first(d.root); m; m = wf_json_next(m)) n++;
    WF_EXPECT_EQ_INT(n, 9);
    wf_str k = wf_json_key(wf_json_first(d.root));
    WF_EXPECT_EQ_MEM(k.ptr, k.len, "name", 4);
    wf_json_free(&d);
}

WF_TEST(json_reader_depth_and_size_limits) {
    static char deep[200001];
    for (int i = 0; i < 100000; i++) deep[i] = '[', deep[200000 - 1 - i] = ']';
    wf_json_doc d;
    WF_EXPECT_EQ_INT(wf_json_parse(deep, 200000, 0, &d), WF_ETOOBIG);
    WF_EXPECT_EQ_INT(wf_json_parse(deep + 100000 - 128, 256, 0, &d), 0);    /* exactly 128 deep */
    wf_buf back = {0};
    wf_jw w = {.out = &back};
    wf_jw_value(&w, d.root);                   /* and the writer goes as deep */
    WF_EXPECT_EQ_INT(w.err, 0);
    WF_EXPECT_EQ_MEM(back.ptr, back.len, deep + 100000 - 128, 256);
    wf_buf_free(&back);
    wf_json_free(&d);
    WF_EXPECT_EQ_INT(wf_json_parse(deep + 100000 - 129, 258, 0, &d), WF_ETOOBIG);
    WF_EXPECT_EQ_INT(wf_json_parse(deep + 100000 - 10, 20, 5, &d), WF_ETOOBIG);
}

WF_TEST(json_reader_roundtrips_the_writer) {
    wf_buf b = {0};
    WF_ASSERT_EQ_INT(wf_json_pack(&b, "{s:[f,f,I,s,b,n],s:{s:s}}", "v", 0.1, -1e-300, -9007199254740993LL,
                                  "\xf0\x9f\x98\x80 \"q\" \\ \n", 1, "o", "k", "\x01"), 0);
    wf_json_doc d;
    WF_ASSERT_EQ_INT(wf_json_parse(b.ptr, b.len, 0, &d), 0);
    double f;
    long long i;
    wf_str s;
    WF_EXPECT_TRUE(wf_json_num(wf_json_path(d.root, "v.0"), &f) && f == 0.1);
    WF_EXPECT_TRUE(wf_json_num(wf_json_path(d.root, "v.1"), &f) && f == -1e-300);
    WF_EXPECT_TRUE(wf_json_int(wf_json_path(d.root, "v.2"), &i) && i == -9007199254740993LL);
    WF_EXPECT_TRUE(wf_json_str(wf_json_path(d.root, "v.3"), &s));
    WF_EXPECT_EQ_MEM(s.ptr, s.len, "\xf0\x9f\x98\x80 \"q\" \\ \n", 12);
    WF_EXPECT_TRUE(wf_json_str(wf_json_path(d.root, "o.k"), &s));
    WF_EXPECT_EQ_MEM(s.ptr, s.len, "\x01", 1);
    wf_json_free(&d);
    wf_buf_free(&b);
}

/* A large JSON array streamed with the writer from a producer, chunk by chunk. */
typedef struct rows {
    int next, total;
    wf_buf buf;
    wf_jw w;
} rows;

static int produce_rows(wf_res *res, void *user) {
    rows *r = (rows *)user;
    r->buf.len = 0;
    if (r->next == 0) wf_jw_arr(&r->w);
    for (int i = 0; i < 500 && r->next < r->total; i++, r->next++) {
        wf_jw_obj(&r->w);
        wf_jw_key(&r->w, "id");
        wf_jw_int(&r->w, r->next);
        wf_jw_key(&r->w, "name");
        wf_jw_str(&r->w, "row");
        wf_jw_end(&r->w);
    }
    bool done = r->next == r->total;
    if (done) wf_jw_end(&r->w);
    if (r->w.err || wf_res_write(res, r->buf.ptr, r->buf.len) < 0) return -1;
    return done ? 0 : 1;
}

static void free_rows(void *p) {
    rows *r = (rows *)p;
    wf_buf_free(&r->buf);
    free(r);
}

static void h_rows(wf_req *req, wf_res *res) {
    rows *r = (rows *)calloc(1, sizeof *r);
    r->total = (int)wf_param_int(req, WF_IN_QUERY, "n", "default=10");
    r->w.out = &r->buf;
    wf_res_add_header(res, "Content-Type", "application/json");
    wf_res_stream(res, produce_rows, r, free_rows);
}

WF_TEST(json_large_array_streamed) {
    wf_app *app = wf_app_new();
    wf_get(app, "/rows", h_rows);
    wf_test_client *tc = wf_test_client_new(app, NULL);
    wf_test_res r;
    WF_ASSERT_EQ_INT(wf_test_get(tc, "/rows?n=100000", &r), 0);
    WF_EXPECT_EQ_INT(r.status, 200);
    wf_json_doc d;
    WF_ASSERT_EQ_INT(wf_json_parse(r.body, r.body_len, 0, &d), 0);
    WF_EXPECT_EQ_INT(wf_json_len(d.root), 100000);
    long long last = -1;
    WF_EXPECT_TRUE(wf_json_int(wf_json_path(d.root, "99999.id"), &last) && last == 99999);
    wf_json_free(&d);
    wf_test_res_free(&r);
    wf_test_client_free(tc);
    wf_app_free(app);
}

/* Every power of two and thousands of random doubles, against the text Python's repr gives. */
WF_TEST(json_doubles_match_python_repr) {
    FILE *f = fopen("tests/vectors/doubles-python.txt", "r");
    char line[128], want[64], out[32];
    unsigned long long bits;
    int checked = 0, wrong = 0;
    WF_ASSERT_TRUE(f != NULL);
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || sscanf(line, "%llx %63s", &bits, want) != 2) continue;
        double v;
        memcpy(&v, &bits, sizeof v);
        wf_json_double(out, v);
        if (strcmp(out, want) != 0 && wrong++ < 5) wf_test_log("%016llx: '%s', Python '%s'", bits, out, want);
        checked++;
    }
    fclose(f);
    WF_EXPECT_EQ_INT(wrong, 0);
    WF_EXPECT_GT_INT(checked, 5000);
}
