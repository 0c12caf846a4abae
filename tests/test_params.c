/* Parameters: query, path, header and cookie values, typed getters with defaults and bounds, and
   the 422 body FastAPI (pydantic v1) gives, every failing parameter at once. */
#define _GNU_SOURCE
#include "util.h"
#include <stdio.h>
#include <string.h>

static void items(wf_req *req, wf_res *res) {
    long long skip = wf_param_int(req, WF_IN_QUERY, "skip", "default=0");
    long long limit = wf_param_int(req, WF_IN_QUERY, "limit", "default=100");
    wf_str q = wf_param_str(req, WF_IN_QUERY, "q", "");
    if (wf_invalid(req)) return;
    wf_reply_json(res, 200, "{s:I, s:I, s:S}", "skip", skip, "limit", limit, "q", q);
}

static void typed(wf_req *req, wf_res *res) {
    long long page = wf_param_int(req, WF_IN_QUERY, "page", "required,ge=1,le=50");
    double price = wf_param_float(req, WF_IN_QUERY, "price", "default=1.5,gt=0");
    bool flag = wf_param_bool(req, WF_IN_QUERY, "flag", "default=false");
    wf_str name = wf_param_str(req, WF_IN_QUERY, "name", "default=anon,min_length=2,max_length=5");
    wf_str token = wf_param_str(req, WF_IN_HEADER, "x-token", "required");
    wf_str session = wf_param_str(req, WF_IN_COOKIE, "session", "");
    long long id = wf_param_int(req, WF_IN_PATH, "id", "");
    wf_reply_json(res, 200, "{s:I, s:f, s:b, s:S, s:S, s:S, s:I}", "page", page, "price", price, "flag", flag,
                  "name",
                  name, "token", token, "session", session, "id", id);
}

static void multi(wf_req *req, wf_res *res) {
    wf_str v[8];
    int n = wf_query_all(req, "tag", v, 8);
    wf_buf b = {0};
    wf_jw w = {.out = &b};
    wf_jw_arr(&w);
    for (int i = 0; i < n && i < 8; i++) wf_jw_strn(&w, v[i].ptr, v[i].len);
    wf_jw_end(&w);
    wf_reply(res, 200, "application/json", b.ptr, b.len);
    wf_buf_free(&b);
}

static wf_test_client *params_client(wf_app **app) {
    *app = wf_app_new();
    wf_get(*app, "/items/", items);
    wf_get(*app, "/typed/{id}", typed);
    wf_get(*app, "/multi", multi);
    return wf_test_client_new(*app, NULL);
}

/* GET path with headers; expect status and body. A failure names the caller's line. */
static void expect_at(tu_at at, wf_test_client *tc, const char *path, const char *const *headers, int status,
                      const char *body) {
    wf_test_req rq = {.path = path, .headers = headers};
    wf_test_res r;
    TU_ASSERT_EQ_INT_AT(at, wf_test_request(tc, &rq, &r), 0);
    if (r.status != status || strcmp(r.body, body) != 0) wf_test_log("GET %s", path);
    TU_EXPECT_EQ_INT_AT(at, r.status, status);
    TU_EXPECT_EQ_STR_AT(at, r.body, body);
    wf_test_res_free(&r);
}
#define expect(...) expect_at(TU_HERE, __VA_ARGS__)

WF_TEST(params_defaults_and_422) {
    wf_app *app;
    wf_test_client *tc = params_client(&app);
    expect(tc, "/items/", NULL, 200, "{\"skip\":0,\"limit\":100,\"q\":null}");
    expect(tc, "/items/?skip=+3&limit=-5&q=a+b%20c", NULL, 200, "{\"skip\":3,\"limit\":-5,\"q\":\"a b c\"}");
    expect(tc, "/items/?skip=1&skip=2&q=x&q=%E2%82%AC", NULL, 200,
           "{\"skip\":2,\"limit\":100,\"q\":\"\xe2\x82\xac\"}");
    expect(tc, "/items/?skip=1_000", NULL, 200, "{\"skip\":1000,\"limit\":100,\"q\":null}");
    expect(tc, "/items/?skip=abc&limit=3.0", NULL, 422,
           "{\"detail\":[{\"loc\":[\"query\",\"skip\"],\"msg\":\"value is not a valid integer\","
           "\"type\":\"type_error.integer\"},"
           "{\"loc\":[\"query\",\"limit\"],\"msg\":\"value is not a valid integer\","
           "\"type\":\"type_error.integer\"}]}");
    expect(tc, "/items/?skip=99999999999999999999", NULL, 422,
           "{\"detail\":[{\"loc\":[\"query\",\"skip\"],\"msg\":\"value is not a valid integer\","
           "\"type\":\"type_error.integer\"}]}");
    expect(tc, "/items/?skip=", NULL, 422,
           "{\"detail\":[{\"loc\":[\"query\",\"skip\"],\"msg\":\"value is not a valid integer\","
           "\"type\":\"type_error.integer\"}]}");
    wf_test_client_free(tc);
    wf_app_free(app);
}

WF_TEST(params_types_bounds_sources) {
    wf_app *app;
    wf_test_client *tc = params_client(&app);
    const char *h[] = {"X-Token: secret", "Cookie: a=1; session=\"abc\"; b=2", NULL};
    expect(tc, "/typed/7?page=2&flag=YES&name=bob", h, 200,
           "{\"page\":2,\"price\":1.5,\"flag\":true,\"name\":\"bob\",\"token\":\"secret\","
           "\"session\":\"abc\",\"id\":7}");
    expect(tc, "/typed/7?page=50&price=2e3&flag=off", h, 200,
           "{\"page\":50,\"price\":2000.0,\"flag\":false,\"name\":\"anon\",\"token\":\"secret\","
           "\"session\":\"abc\",\"id\":7}");
    expect(tc, "/typed/x?page=0&price=nan&flag=maybe&name=a", NULL, 422,
           "{\"detail\":["
           "{\"loc\":[\"query\",\"page\"],\"msg\":\"ensure this value is greater than or equal to 1\","
           "\"type\":\"value_error.number.not_ge\",\"ctx\":{\"limit_value\":1}},"
           "{\"loc\":[\"query\",\"price\"],\"msg\":\"value is not a valid float\","
           "\"type\":\"type_error.float\"},"
           "{\"loc\":[\"query\",\"flag\"],\"msg\":\"value could not be parsed to a boolean\","
           "\"type\":\"type_error.bool\"},"
           "{\"loc\":[\"query\",\"name\"],\"msg\":\"ensure this value has at least 2 characters\","
           "\"type\":\"value_error.any_str.min_length\",\"ctx\":{\"limit_value\":2}},"
           "{\"loc\":[\"header\",\"x-token\"],\"msg\":\"field required\",\"type\":\"value_error.missing\"},"
           "{\"loc\":[\"path\",\"id\"],\"msg\":\"value is not a valid integer\","
           "\"type\":\"type_error.integer\"}]}");
    expect(tc, "/typed/1?price=0&page=51&name=%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9", h, 422,
           "{\"detail\":["
           "{\"loc\":[\"query\",\"page\"],\"msg\":\"ensure this value is less than or equal to 50\","
           "\"type\":\"value_error.number.not_le\",\"ctx\":{\"limit_value\":50}},"
           "{\"loc\":[\"query\",\"price\"],\"msg\":\"ensure this value is greater than 0\","
           "\"type\":\"value_error.number.not_gt\",\"ctx\":{\"limit_value\":0}},"
           "{\"loc\":[\"query\",\"name\"],\"msg\":\"ensure this value has at most 5 characters\","
           "\"type\":\"value_error.any_str.max_length\",\"ctx\":{\"limit_value\":5}}]}");
    const char *dup[] = {"X-Token: t", "Cookie: session=first; session = last ;x=1",
                         "Cookie: session=ignored", NULL};
    expect(tc, "/typed/1?page=1", dup, 200,
           "{\"page\":1,\"price\":1.5,\"flag\":false,\"name\":\"anon\",\"token\":\"t\",\"session\":\"last\","
           "\"id\":1}");
    expect(tc, "/typed/1?h=1", h, 422,
           "{\"detail\":[{\"loc\":[\"query\",\"page\"],\"msg\":\"field required\","
           "\"type\":\"value_error.missing\"}]}");
    wf_test_client_free(tc);
    wf_app_free(app);
}

static void typed_then_raise(wf_req *req, wf_res *res) {
    double x = wf_param_float(req, WF_IN_QUERY, "x", "required");
    if (x > 100) wf_raise(req, 404, "too big");
    wf_reply_json(res, 200, "{s:f}", "x", x);
}

WF_TEST(params_float_underscores_nul_and_422_over_raise) {
    wf_app *app = wf_app_new();
    wf_get(app, "/f", typed_then_raise);
    wf_test_client *tc = wf_test_client_new(app, NULL);
    expect(tc, "/f?x=1_0.5", NULL, 200, "{\"x\":10.5}");
    const char *bad = "{\"detail\":[{\"loc\":[\"query\",\"x\"],\"msg\":\"value is not a valid float\","
                      "\"type\":\"type_error.float\"}]}";
    expect(tc, "/f?x=_5", NULL, 422, bad);
    expect(tc, "/f?x=5_", NULL, 422, bad);
    expect(tc, "/f?x=1%00abc", NULL, 422, bad);
    expect(tc, "/f?x=0x10", NULL, 422, bad);
    expect(tc, "/f?x=500", NULL, 404, "{\"detail\":\"too big\"}");
    /* a failed parameter wins over a raise that follows it, as FastAPI validates first */
    expect(tc, "/f", NULL, 422,
           "{\"detail\":[{\"loc\":[\"query\",\"x\"],\"msg\":\"field required\","
           "\"type\":\"value_error.missing\"}]}");
    wf_test_client_free(tc);
    wf_app_free(app);
}

WF_TEST(params_repeated_query_keys) {
    wf_app *app;
    wf_test_client *tc = params_client(&app);
    expect(tc, "/multi?tag=a&x=1&tag=b+c&&tag=%26", NULL, 200, "[\"a\",\"b c\",\"&\"]");
    expect(tc, "/multi", NULL, 200, "[]");
    wf_test_client_free(tc);
    wf_app_free(app);
}

/* Form fields (FastAPI's Form()) from an urlencoded body, read by a dependency as OAuth2's
   password form is: decoded like the query, 422 at ["body", name], absent with another body type. */
typedef struct login { wf_str username, password; long long remember; } login;

WF_DEPENDENCY(login *, login_form) {
    login *f = wf_req_alloc(req, sizeof *f);
    if (!f) wf_fail(req, "out of memory");
    f->username = wf_param_str(req, WF_IN_FORM, "username", "required,min_length=2");
    f->password = wf_param_str(req, WF_IN_FORM, "password", "required");
    f->remember = wf_param_int(req, WF_IN_FORM, "remember", "default=0,ge=0,le=1");
    return f;
}

static void h_login(wf_req *req, wf_res *res) {
    login *f = WF_DEPENDS(req, login_form);
    if (wf_invalid(req)) return;
    wf_reply_json(res, 200, "{s:S,s:S,s:I}", "username", f->username, "password", f->password, "remember",
                  f->remember);
}

WF_TEST(params_form_fields_from_an_urlencoded_body) {
    wf_app *app = wf_app_new();
    wf_post(app, "/login", h_login);
    wf_test_client *tc = wf_test_client_new(app, NULL);
    wf_test_res r;
    wf_test_req rq = {.method = "POST", .path = "/login",
                      .form = "username=j%C3%B6rg+x&password=a%26b%3Dc&remember=1"};
    WF_ASSERT_EQ_INT(wf_test_request(tc, &rq, &r), 0);
    WF_EXPECT_EQ_INT(r.status, 200);
    WF_EXPECT_EQ_STR(r.body, "{\"username\":\"j\xc3\xb6rg x\",\"password\":\"a&b=c\",\"remember\":1}");
    wf_test_res_free(&r);
    /* the same fields as JSON are not a form: both required fields are missing */
    wf_test_req js = {.method = "POST", .path = "/login",
                      .json = "{\"username\":\"bob\",\"password\":\"x\"}"};
    WF_ASSERT_EQ_INT(wf_test_request(tc, &js, &r), 0);
    WF_EXPECT_EQ_INT(r.status, 422);
    WF_EXPECT_EQ_STR(r.body,
                     "{\"detail\":[{\"loc\":[\"body\",\"username\"],\"msg\":\"field required\",\"type\":"
                             "\"value_error.missing\"},{\"loc\":[\"body\",\"password\"],\"msg\":\"field "
                             "required\","
                             "\"type\":\"value_error.missing\"}]}");
    wf_test_res_free(&r);
    /* a charset parameter is fine; bad values are reported at ["body", name] */
    const char *const hdrs[] = {"Content-Type: application/x-www-form-urlencoded; charset=utf-8", NULL};
    wf_test_req bad = {.method = "POST", .path = "/login", .headers = hdrs,
                       .body = "username=a&password=&remember=2",
                       .body_len = 31};
    WF_ASSERT_EQ_INT(wf_test_request(tc, &bad, &r), 0);
    WF_EXPECT_EQ_INT(r.status, 422);
    WF_EXPECT_TRUE(strstr(r.body, "\"loc\":[\"body\",\"username\"],"
                                  "\"msg\":\"ensure this value has at least 2 characters\"") != NULL);
    WF_EXPECT_TRUE(strstr(r.body, "\"loc\":[\"body\",\"remember\"],"
                                  "\"msg\":\"ensure this value is less than or equal to 1\"") != NULL);
    /* FastAPI reads an empty form field as an absent one: required -> missing, else the default */
    WF_EXPECT_TRUE(strstr(r.body, "\"loc\":[\"body\",\"password\"],\"msg\":\"field required\"") != NULL);
    wf_test_res_free(&r);
    wf_test_req dflt = {.method = "POST", .path = "/login", .form = "username=bob&password=pw&remember="};
    WF_ASSERT_EQ_INT(wf_test_request(tc, &dflt, &r), 0);
    WF_EXPECT_EQ_INT(r.status, 200);
    WF_EXPECT_EQ_STR(r.body, "{\"username\":\"bob\",\"password\":\"pw\",\"remember\":0}");
    wf_test_res_free(&r);
    wf_test_client_free(tc);
    wf_app_free(app);
}

/* Text as Python's unquote leaves it (one U+FFFD per ill-formed sequence; a form's raw bytes as
   Latin-1), and numbers as Python's int() reads them (Unicode digits and spaces). */
static void h_echo_q(wf_req *req, wf_res *res) {
    wf_str q = wf_param_str(req, WF_IN_QUERY, "q", "");
    long long n = wf_param_int(req, WF_IN_QUERY, "n", "default=0");
    double f = wf_param_float(req, WF_IN_QUERY, "f", "default=0");
    wf_str form = wf_param_str(req, WF_IN_FORM, "a", "");
    if (wf_invalid(req)) return;
    wf_reply_json(res, 200, "{s:S,s:I,s:f,s:S,s:S}", "q", q, "n", n, "f", f, "a", form, "p",
                  wf_path_param(req, "p"));
}

static void h_echo_h(wf_req *req, wf_res *res) {
    wf_str h = wf_param_str(req, WF_IN_HEADER, "x-t", "max_length=3");
    wf_str c = wf_param_str(req, WF_IN_COOKIE, "c", "");
    if (wf_invalid(req)) return;
    wf_reply_json(res, 200, "{s:S,s:S}", "h", h, "c", c);
}

WF_TEST(params_decoded_as_python_does) {
    wf_app *app = wf_app_new();
    wf_post(app, "/e/{p}", h_echo_q);
    wf_get(app, "/h", h_echo_h);
    wf_test_client *tc = wf_test_client_new(app, NULL);
    char b[512];
    const char *const hdrs[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
    static const struct { const char *target, *body, *want; } cases[] = {
        {"/e/x?q=%F0%9F%98", "", "{\"q\":\"\xef\xbf\xbd\",\"n\":0,\"f\":0.0,\"a\":null,\"p\":\"x\"}"},
        {"/e/%FFx?q=%E2%82A%C3%A9", "",
         "{\"q\":\"\xef\xbf\xbd" "A\xc3\xa9\",\"n\":0,\"f\":0.0,\"a\":null,\"p\":\"\xef\xbf\xbdx\"}"},
        {"/e/x?n=%EF%BC%93&f=%D9%A3.%D9%A5", "", "{\"q\":null,\"n\":3,\"f\":3.5,\"a\":null,\"p\":\"x\"}"},
        {"/e/x?n=%E3%80%80-7%E2%80%83", "", "{\"q\":null,\"n\":-7,\"f\":0.0,\"a\":null,\"p\":\"x\"}"},
        {"/e/x", "a=\xe9%C3%A9%C3",
         "{\"q\":null,\"n\":0,\"f\":0.0,\"a\":\"\xc3\xa9\xc3\xa9\xef\xbf\xbd\",\"p\":\"x\"}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wf_test_req rq = {.method = "POST", .path = cases[i].target, .headers = hdrs, .body = cases[i].body,
                          .body_len = strlen(cases[i].body)};
        wf_test_res r;
        WF_ASSERT_EQ_INT(wf_test_request(tc, &rq, &r), 0);
        snprintf(b, sizeof b, "%s", r.body);
        WF_EXPECT_EQ_INT(r.status, 200);
        WF_EXPECT_EQ_STR(b, cases[i].want);
        wf_test_res_free(&r);
    }
    /* Roman one: not Nd */
    WF_EXPECT_EQ_INT(tu_call(tc, "POST", "/e/x?n=%E2%85%A0", NULL, NULL, b, sizeof b), 422);
    /* pydantic 1.10 takes int texts of at most 4300 characters, whatever they hold */
    static char longint[4400];
    int k = snprintf(longint, sizeof longint, "/e/x?n=");
    memset(longint + k, '0', 4300), strcpy(longint + k + 4300, "5");
    WF_EXPECT_EQ_INT(tu_call(tc, "POST", longint, NULL, NULL, b, sizeof b), 422);
    longint[k + 1] = 0, longint[k] = '5';
    WF_EXPECT_EQ_INT(tu_call(tc, "POST", longint, NULL, NULL, b, sizeof b), 200);
    /* header and cookie bytes are Latin-1 text, as Starlette decodes them: 3 characters, not 4 bytes */
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/h", "X-T: \xe9t\xe9", NULL, b, sizeof b), 200);
    WF_EXPECT_EQ_STR(b, "{\"h\":\"\xc3\xa9t\xc3\xa9\",\"c\":null}");
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/h", "Cookie: c=\xff", NULL, b, sizeof b), 200);
    WF_EXPECT_EQ_STR(b, "{\"h\":null,\"c\":\"\xc3\xbf\"}");
    wf_test_client_free(tc);
    wf_app_free(app);
}

/* Every cookie of the Cookie header, in order, as the getter parses them. */
static void list_cookies(wf_req *req, wf_res *res) {
    wf_buf b = {0};
    wf_str k, v;
    for (int i = 0; wf_req_cookie_at(req, i, &k, &v); i++)
        wf_buf_printf(&b, "%.*s=%.*s;", (int)k.len, k.ptr, (int)v.len, v.ptr);
    wf_reply(res, 200, "text/plain", b.ptr ? b.ptr : "", b.len);
    wf_buf_free(&b);
}

WF_TEST(params_cookie_iteration) {
    wf_app *app = wf_app_new();
    wf_get(app, "/c", list_cookies);
    wf_test_client *tc = wf_test_client_new(app, NULL);
    char b[256];
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/c", "Cookie: a=1; b = \"two\" ;junk; =e; c=", NULL, b, sizeof b),
                     200);
    WF_EXPECT_EQ_STR(b, "a=1;b=two;=e;c=;");
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/c", NULL, NULL, b, sizeof b), 200);
    WF_EXPECT_EQ_STR(b, "");
    wf_test_client_free(tc);
    wf_app_free(app);
}

/* ---- specs: strict, refused with one log line and a 500, cached ---- */

static const char *bad_spec;
static void with_bad_spec(wf_req *req, wf_res *res) {
    long long n = wf_param_int(req, WF_IN_QUERY, "limit", bad_spec);
    wf_reply_json(res, 200, "{s:I}", "limit", n);
}

static void spaced_spec(wf_req *req, wf_res *res) {
    long long n = wf_param_int(req, WF_IN_QUERY, "limit", "default=5, ge=1,\tle=10");
    wf_str s = wf_param_str(req, WF_IN_QUERY, "q", "default=abc, min_length=2");
    if (wf_invalid(req)) return;
    wf_reply_json(res, 200, "{s:I, s:S}", "limit", n, "q", s);
}

WF_TEST(params_malformed_specs_answer_500_and_log_once) {
    static const char *const bad[] = {"ge=abc", "ge=1_000", "ge=0x10", "ge=+1", "ge= 1", "ge=1.", "ge=",
                                      "max_length=abc", "min_length=-1", "min_length=1.5", "defualt=5",
                                      "requried", " required", "required,", ",required", "default=5,,ge=1",
                                      "ge=1,ge=2", "required=yes", "default", "default=x", "default=1.5",
                                      "min_length=2", "required,default=1", "convert_underscores=no"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bad_spec = bad[i];
        wf_app *app = wf_app_new();
        wf_get(app, "/s", with_bad_spec);
        wf_config cfg = {.log = tu_log, .no_access_log = true};
        wf_test_client *tc = wf_test_client_new(app, &cfg);
        tu_log_clear();
        for (int k = 0; k < 3; k++) {
            wf_test_res r;
            WF_ASSERT_EQ_INT(wf_test_get(tc, k == 1 ? "/s?limit=abc" : "/s?limit=1000", &r), 0);
            if (r.status != 500) wf_test_log("spec \"%s\"", bad[i]);
            WF_EXPECT_EQ_INT(r.status, 500);
            WF_EXPECT_EQ_STR(r.body, "{\"detail\":\"Internal Server Error\"}");
            wf_test_res_free(&r);
        }
        char needle[128];
        snprintf(needle, sizeof needle, "bad spec \"%s\" at ", bad[i]);
        if (tu_log_count(needle) != 1) wf_test_log("spec \"%s\": logged %d times", bad[i],
                                                    tu_log_count(needle));
        WF_EXPECT_EQ_INT(tu_log_count(needle), 1);
        WF_EXPECT_EQ_INT(tu_log_count("GET /s: query parameter \"limit\""), 1);
        wf_test_client_free(tc);
        wf_app_free(app);
    }
}

WF_TEST(params_specs_allow_spaces_after_commas) {
    wf_app *app = wf_app_new();
    wf_get(app, "/s", spaced_spec);
    wf_test_client *tc = wf_test_client_new(app, NULL);
    expect(tc, "/s", NULL, 200, "{\"limit\":5,\"q\":\"abc\"}");
    expect(tc, "/s?limit=10&q=xy", NULL, 200, "{\"limit\":10,\"q\":\"xy\"}");
    expect(tc, "/s?limit=11&q=x", NULL, 422,
           "{\"detail\":[{\"loc\":[\"query\",\"limit\"],"
           "\"msg\":\"ensure this value is less than or equal to 10\","
           "\"type\":\"value_error.number.not_le\",\"ctx\":{\"limit_value\":10}},"
           "{\"loc\":[\"query\",\"q\"],\"msg\":\"ensure this value has at least 2 characters\","
           "\"type\":\"value_error.any_str.min_length\","
           "\"ctx\":{\"limit_value\":2}}]}");
    wf_test_client_free(tc);
    wf_app_free(app);
}

/* A spec built at run time in one buffer, rewritten between requests: the cache keyed by address
   must see the new text. */
static char dyn_spec[32];
static void dynamic_spec(wf_req *req, wf_res *res) {
    long long n = wf_param_int(req, WF_IN_QUERY, "n", dyn_spec);
    if (wf_invalid(req)) return;
    wf_reply_json(res, 200, "{s:I}", "n", n);
}

WF_TEST(params_a_spec_rewritten_in_place_is_read_again) {
    wf_app *app = wf_app_new();
    wf_get(app, "/d", dynamic_spec);
    wf_test_client *tc = wf_test_client_new(app, NULL);
    snprintf(dyn_spec, sizeof dyn_spec, "default=1");
    expect(tc, "/d", NULL, 200, "{\"n\":1}");
    snprintf(dyn_spec, sizeof dyn_spec, "default=2");
    expect(tc, "/d", NULL, 200, "{\"n\":2}");
    snprintf(dyn_spec, sizeof dyn_spec, "le=3");
    expect(tc, "/d?n=4", NULL, 422,
           "{\"detail\":[{\"loc\":[\"query\",\"n\"],\"msg\":\"ensure this value is less than or equal to 3\","
           "\"type\":\"value_error.number.not_le\",\"ctx\":{\"limit_value\":3}}]}");
    wf_test_client_free(tc);
    wf_app_free(app);
}

/* ---- header parameters: FastAPI's Header() reads user_agent from User-Agent ---- */

static void header_params(wf_req *req, wf_res *res) {
    wf_str ua = wf_param_str(req, WF_IN_HEADER, "user_agent", "required");
    wf_str tok = wf_param_str(req, WF_IN_HEADER, "x_token", "default=none");
    wf_str raw = wf_param_str(req, WF_IN_HEADER, "x_raw", "convert_underscores=false,default=absent");
    wf_str plain = wf_param(req, WF_IN_HEADER, "x_token");
    if (wf_invalid(req)) return;
    wf_reply_json(res, 200, "{s:S, s:S, s:S, s:S}", "ua", ua, "token", tok, "raw", raw, "plain", plain);
}

WF_TEST(params_header_names_convert_underscores) {
    wf_app *app = wf_app_new();
    wf_get(app, "/h", header_params);
    wf_test_client *tc = wf_test_client_new(app, NULL);
    static const char *const h1[] = {"User-Agent: curl/8", "X-Token: t1", "X-Raw: hyphen", NULL};
    expect(tc, "/h", h1, 200, "{\"ua\":\"curl/8\",\"token\":\"t1\",\"raw\":\"absent\",\"plain\":\"t1\"}");
    static const char *const h2[] = {"User-Agent: a", "x_raw: underscore", NULL};
    expect(tc, "/h", h2, 200, "{\"ua\":\"a\",\"token\":\"none\",\"raw\":\"underscore\",\"plain\":null}");
    static const char *const h3[] = {"user_agent: not-read", NULL};
    expect(tc, "/h", h3, 422,
           "{\"detail\":[{\"loc\":[\"header\",\"user_agent\"],\"msg\":\"field required\","
           "\"type\":\"value_error.missing\"}]}");
    wf_test_client_free(tc);
    wf_app_free(app);
}
