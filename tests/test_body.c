/* JSON request bodies by FastAPI's rules: content types, missing and malformed bodies, fields
   validated and coerced as pydantic v1 does, every error reported at once. */
#define _GNU_SOURCE
#include "util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void create_item(wf_req *req, wf_res *res) {
    wf_str name = wf_body_str(req, "name", "required");
    double price = wf_body_float(req, "price", "required");
    long long qty = wf_body_int(req, "qty", "default=1,ge=1");
    bool sale = wf_body_bool(req, "sale", "default=false");
    if (wf_invalid(req)) return;
    wf_reply_json(res, 200, "{s:S, s:f, s:I, s:b, s:i}", "name", name, "price", price, "qty", qty, "sale",
                  sale, "id", 1);
}

/* POST body with Content-Type line ct; expect status and the body want. A failure names the
   caller's line. */
static void post_at(tu_at at, wf_test_client *tc, const char *ct, const char *body, int status,
                    const char *want) {
    const char *h[] = {ct, NULL};
    wf_test_req rq = {.method = "POST", .path = "/items/", .headers = ct ? h : NULL, .body = body,
                      .body_len = body ? strlen(body) : 0};
    wf_test_res r;
    TU_ASSERT_EQ_INT_AT(at, wf_test_request(tc, &rq, &r), 0);
    if (r.status != status || strcmp(r.body, want) != 0) wf_test_log("POST %s (%s)", body ? body : "(none)",
                                                                     ct ? ct : "no type");
    TU_EXPECT_EQ_INT_AT(at, r.status, status);
    TU_EXPECT_EQ_STR_AT(at, r.body, want);
    wf_test_res_free(&r);
}
#define post(...) post_at(TU_HERE, __VA_ARGS__)

WF_TEST(body_json_fastapi_rules) {
    wf_app *app = wf_app_new();
    wf_post(app, "/items/", create_item);
    wf_test_client *tc = wf_test_client_new(app, NULL);
    const char *json = "Content-Type: application/json";
    post(tc, json, "{\"name\":\"Foo\",\"price\":10.5}", 200,
         "{\"name\":\"Foo\",\"price\":10.5,\"qty\":1,\"sale\":false,\"id\":1}");
    post(tc, "Content-Type: application/json; charset=utf-8",
         "{\"name\":\"Foo\",\"price\":10,\"qty\":\"3\",\"sale\":\"yes\"}", 200,
         "{\"name\":\"Foo\",\"price\":10.0,\"qty\":3,\"sale\":true,\"id\":1}");
    post(tc, "Content-Type: application/vnd.api+json", "{\"name\":12,\"price\":\"2.5\"}", 200,
         "{\"name\":\"12\",\"price\":2.5,\"qty\":1,\"sale\":false,\"id\":1}");
    post(tc, NULL, "{\"name\":\"x\",\"price\":1}", 200,
         "{\"name\":\"x\",\"price\":1.0,\"qty\":1,\"sale\":false,\"id\":1}");
    post(tc, json, NULL, 422,
         "{\"detail\":[{\"loc\":[\"body\"],\"msg\":\"field required\",\"type\":\"value_error.missing\"}]}");
    post(tc, "Content-Type: text/plain", "{\"name\":\"Foo\",\"price\":1}", 422,
         "{\"detail\":[{\"loc\":[\"body\"],\"msg\":\"value is not a valid dict\","
         "\"type\":\"type_error.dict\"}]}");
    post(tc, json, "{bad", 422,
         "{\"detail\":[{\"loc\":[\"body\",1],\"msg\":\"Expecting property name enclosed in double quotes: "
         "line 1 column 2 (char 1)\","
         "\"type\":\"value_error.jsondecode\",\"ctx\":{\"msg\":\"Expecting property name enclosed in double "
         "quotes\","
         "\"doc\":\"{bad\",\"pos\":1,\"lineno\":1,\"colno\":2}}]}");
    post(tc, json, "[1,2]", 422,
         "{\"detail\":[{\"loc\":[\"body\"],\"msg\":\"value is not a valid dict\","
         "\"type\":\"type_error.dict\"}]}");
    post(tc, json, "{\"price\":\"abc\",\"qty\":0,\"sale\":\"maybe\"}", 422,
         "{\"detail\":["
         "{\"loc\":[\"body\",\"name\"],\"msg\":\"field required\",\"type\":\"value_error.missing\"},"
         "{\"loc\":[\"body\",\"price\"],\"msg\":\"value is not a valid float\","
         "\"type\":\"type_error.float\"},"
         "{\"loc\":[\"body\",\"qty\"],\"msg\":\"ensure this value is greater than or equal to 1\","
         "\"type\":\"value_error.number.not_ge\",\"ctx\":{\"limit_value\":1}},"
         "{\"loc\":[\"body\",\"sale\"],\"msg\":\"value could not be parsed to a boolean\","
         "\"type\":\"type_error.bool\"}]}");
    post(tc, json, "{\"name\":null,\"price\":[1]}", 422,
         "{\"detail\":["
         "{\"loc\":[\"body\",\"name\"],\"msg\":\"none is not an allowed value\","
         "\"type\":\"type_error.none.not_allowed\"},"
         "{\"loc\":[\"body\",\"price\"],\"msg\":\"value is not a valid float\","
         "\"type\":\"type_error.float\"}]}");
    post(tc, json, "{\"name\":\"x\",\"price\":1e999}", 422,
         "{\"detail\":[{\"loc\":[\"body\",20],\"msg\":\"Number out of range: line 1 column 21 (char 20)\","
         "\"type\":\"value_error.jsondecode\",\"ctx\":{\"msg\":\"Number out of range\","
         "\"doc\":\"{\\\"name\\\":\\\"x\\\",\\\"price\\\":1e999}\","
         "\"pos\":20,\"lineno\":1,\"colno\":21}}]}");   /* Python would read inf: never valid JSON out */
    wf_test_client_free(tc);
    wf_app_free(app);
}

/* pydantic v1's corners, as FastAPI 0.92 answers them (checked against it with tests/diff): a null
   body is a missing one; a non-object body goes through Python's dict() (pairs work, [] is {});
   integers given for a str field keep every digit; the integer -0 is 0.0; an empty Content-Type
   header is no header. */
WF_TEST(body_json_pydantic_corners) {
    wf_app *app = wf_app_new();
    wf_post(app, "/items/", create_item);
    wf_test_client *tc = wf_test_client_new(app, NULL);
    const char *json = "Content-Type: application/json";
    const char *missing2 = "{\"detail\":[{\"loc\":[\"body\",\"name\"],\"msg\":\"field required\","
                           "\"type\":\"value_error.missing\"},"
                           "{\"loc\":[\"body\",\"price\"],\"msg\":\"field required\","
                           "\"type\":\"value_error.missing\"}]}";
    const char *notdict = "{\"detail\":[{\"loc\":[\"body\"],\"msg\":\"value is not a valid dict\","
                          "\"type\":\"type_error.dict\"}]}";
    post(tc, json, "null", 422,
         "{\"detail\":[{\"loc\":[\"body\"],\"msg\":\"field required\",\"type\":\"value_error.missing\"}]}");
    post(tc, json, "[]", 422, missing2);
    post(tc, json, "[\"ab\",\"cd\"]", 422, missing2);
    post(tc, json, "\"\"", 422, missing2);
    post(tc, json, "[[\"name\",\"pairs\"],[\"price\",5],[\"name\",\"last\"]]", 200,
         "{\"name\":\"last\",\"price\":5.0,\"qty\":1,\"sale\":false,\"id\":1}");
    post(tc, json, "[{\"name\":1,\"x\":2},[\"price\",2]]", 200,
         "{\"name\":\"x\",\"price\":2.0,\"qty\":1,\"sale\":false,\"id\":1}");
    post(tc, json, "[[\"name\",\"a\"],[\"price\",1],[[1],2]]", 422, notdict);     /* an unhashable key */
    post(tc, json, "[1,2]", 422, notdict);
    post(tc, json, "[\"abc\"]", 422, notdict);
    post(tc, json, "\"ab\"", 422, notdict);
    post(tc, json, "7", 422, notdict);
    post(tc, json, "{\"name\":12345678901234567890123,\"price\":-0}", 200,
         "{\"name\":\"12345678901234567890123\",\"price\":0.0,\"qty\":1,\"sale\":false,\"id\":1}");
    post(tc, json, "{\"name\":-0,\"price\":-0.0}", 200,
         "{\"name\":\"0\",\"price\":-0.0,\"qty\":1,\"sale\":false,\"id\":1}");
    post(tc, json, "{\"name\":1.50,\"price\":1e2}", 200,
         "{\"name\":\"1.5\",\"price\":100.0,\"qty\":1,\"sale\":false,\"id\":1}");
    post(tc, "Content-Type: ", "{\"name\":\"x\",\"price\":1}", 200,
         "{\"name\":\"x\",\"price\":1.0,\"qty\":1,\"sale\":false,\"id\":1}");
    /* the type as Python's email.message reads it: stripped, before ';', one '/' */
    post(tc, "Content-Type: application/+json", "{\"name\":\"x\",\"price\":1}", 200,
         "{\"name\":\"x\",\"price\":1.0,\"qty\":1,\"sale\":false,\"id\":1}");
    post(tc, "Content-Type: application/json (c)", "{\"name\":\"x\",\"price\":1}", 422, notdict);
    post(tc, "Content-Type: application/json/x", "{\"name\":\"x\",\"price\":1}", 422, notdict);
    /* dict([[1, 2]]) has a key that cannot be a keyword */
    post(tc, json, "[[1,2]]", 422,
         "{\"detail\":[{\"loc\":[\"body\"],\"msg\":\"keywords must be strings\",\"type\":\"type_error\"}]}");
    /* float() strips every ASCII space, after the number too */
    post(tc, json, "{\"name\":\"x\",\"price\":\"\\t1.5\\n\\r\\f\\u000b\"}", 200,
         "{\"name\":\"x\",\"price\":1.5,\"qty\":1,\"sale\":false,\"id\":1}");
    /* json.loads(bytes): a BOM is skipped; bytes that are not UTF-8 fail before JSON, a 400 */
    post(tc, json, "\xef\xbb\xbf{\"name\":\"b\",\"price\":1}", 200,
         "{\"name\":\"b\",\"price\":1.0,\"qty\":1,\"sale\":false,\"id\":1}");
    post(tc, json, "{\"name\":\"\xc3(\",\"price\":1}", 400,
         "{\"detail\":\"There was an error parsing the body\"}");
    /* "1." and "1e" are the number 1 and then a stray character, as Python's scanner sees them */
    post(tc, json, "{\"name\":\"x\",\"price\":1.}", 422,
         "{\"detail\":[{\"loc\":[\"body\",21],\"msg\":\"Expecting ',' delimiter: line 1 column 22 (char "
         "21)\","
         "\"type\":\"value_error.jsondecode\",\"ctx\":{\"msg\":\"Expecting ',' delimiter\","
         "\"doc\":\"{\\\"name\\\":\\\"x\\\","
         "\\\"price\\\":1.}\",\"pos\":21,\"lineno\":1,\"colno\":22}}]}");
    wf_test_client_free(tc);
    wf_app_free(app);
}

/* Nesting: as deep as Python's json goes inside FastAPI (about 900 levels), then FastAPI's 400.
   Run on a worker thread too (a blocking route), whose stack holds the recursion as well. */
static char *nested(int depth) {
    char *b = malloc((size_t)depth * 2 + 64);
    int n = sprintf(b, "{\"name\":\"x\",\"price\":1,\"d\":");
    for (int i = 1; i < depth; i++) b[n++] = '[';
    for (int i = 1; i < depth; i++) b[n++] = ']';
    strcpy(b + n, "}");
    return b;
}

WF_TEST(body_json_deep_nesting) {
    wf_app *app = wf_app_new();
    wf_post(app, "/items/", create_item);
    wf_route(app, "POST", "/blocking", create_item, &(wf_route_opts){.blocking = true});
    wf_test_client *tc = wf_test_client_new(app, NULL);
    char *ok = nested(900), *deep = nested(901);
    post(tc, "Content-Type: application/json", ok, 200,
         "{\"name\":\"x\",\"price\":1.0,\"qty\":1,\"sale\":false,\"id\":1}");
    post(tc, "Content-Type: application/json", deep, 400,
         "{\"detail\":\"There was an error parsing the body\"}");
    wf_test_client_free(tc);
    int port = tu_serve(app, NULL);
    char head[160];
    tu_resp r;
    snprintf(head, sizeof head,
            "POST /blocking HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
            "\r\n",
             strlen(ok));
    char *raw = malloc(strlen(head) + strlen(ok) + 1);
    strcat(strcpy(raw, head), ok);
    WF_EXPECT_EQ_INT(tu_request(port, raw, &r), 200);
    tu_resp_free(&r);
    tu_stop(app);
    free(raw), free(ok), free(deep);
}
