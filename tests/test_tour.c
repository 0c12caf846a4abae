/* examples/tour.c, the FastAPI feature tour ported route for route, through the test client. */
#define _GNU_SOURCE
#define TOUR_NO_MAIN
#include "../examples/tour.c"
#include "util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

WF_TEST(tour_root_and_http_behaviour) {
    wf_app *app = tour_app();
    wf_test_client *tc = wf_test_client_new(app, NULL);
    wf_test_res r;
    WF_ASSERT_EQ_INT(wf_test_get(tc, "/", &r), 0);
    WF_EXPECT_EQ_INT(r.status, 200);
    WF_EXPECT_EQ_STR(r.body, "{\"message\":\"Hello World\"}");
    wf_str ct = wf_test_header(&r, "content-type");
    WF_EXPECT_EQ_MEM(ct.ptr, ct.len, "application/json", 16);
    wf_test_res_free(&r);
    wf_test_req head = {.method = "HEAD", .path = "/"};
    WF_ASSERT_EQ_INT(wf_test_request(tc, &head, &r), 0);
    WF_EXPECT_EQ_INT(r.status, 200);
    WF_EXPECT_EQ_INT(r.body_len, 0);
    wf_str cl = wf_test_header(&r, "content-length");
    WF_EXPECT_EQ_MEM(cl.ptr, cl.len, "25", 2);
    wf_test_res_free(&r);
    WF_ASSERT_EQ_INT(wf_test_get(tc, "/nope", &r), 0);
    WF_EXPECT_EQ_INT(r.status, 404);
    WF_EXPECT_EQ_STR(r.body, "{\"detail\":\"Not Found\"}");
    wf_test_res_free(&r);
    wf_test_req del = {.method = "DELETE", .path = "/"};
    WF_ASSERT_EQ_INT(wf_test_request(tc, &del, &r), 0);
    WF_EXPECT_EQ_INT(r.status, 405);
    WF_EXPECT_EQ_STR(r.body, "{\"detail\":\"Method Not Allowed\"}");
    wf_test_res_free(&r);
    wf_test_req v10 = {.path = "/", .http10 = true};
    WF_ASSERT_EQ_INT(wf_test_request(tc, &v10, &r), 0);
    WF_EXPECT_EQ_STR(r.body, "{\"message\":\"Hello World\"}");
    wf_test_res_free(&r);
    wf_test_client_free(tc);
    wf_app_free(app);
}

static void read_file(const char *path, char *out, size_t cap) {
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(out, 1, cap - 1, f) : 0;
    out[n] = 0;
    if (f) fclose(f);
}


WF_TEST(tour_dependencies_and_background_tasks) {
    char logpath[64], b[512], logged[1024];
    snprintf(logpath, sizeof logpath, "/tmp/webfw-tour-%d.txt", (int)getpid());
    unlink(logpath);
    setenv("TASK_LOG", logpath, 1);
    wf_app *app = tour_app();
    wf_test_client *tc = wf_test_client_new(app, NULL);
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/items/", NULL, NULL, b, sizeof b), 200);
    WF_EXPECT_EQ_STR(b, "{\"skip\":0,\"limit\":100,\"q\":null}");
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/items/?skip=5&limit=2&q=x", NULL, NULL, b, sizeof b), 200);
    WF_EXPECT_EQ_STR(b, "{\"skip\":5,\"limit\":2,\"q\":\"x\"}");
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/items/?skip=abc", NULL, NULL, b, sizeof b), 422);
    WF_EXPECT_EQ_STR(b,
            "{\"detail\":[{\"loc\":[\"query\",\"skip\"],\"msg\":\"value is not a valid integer\","
            "\"type\":\"type_error.integer\"}]}");
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/items?skip=1", NULL, NULL, b, sizeof b), 307);
    WF_EXPECT_EQ_INT(tu_call(tc, "POST", "/items/", NULL, "{\"name\":\"Foo\",\"price\":10.5}", b, sizeof b),
                     200);
    WF_EXPECT_EQ_STR(b, "{\"name\":\"Foo\",\"price\":10.5,\"id\":1}");
    WF_EXPECT_EQ_INT(tu_call(tc, "POST", "/items/", NULL, "{\"name\":\"Bar\",\"price\":3}", b, sizeof b),
                     200);
    WF_EXPECT_EQ_STR(b, "{\"name\":\"Bar\",\"price\":3.0,\"id\":2}");
    WF_EXPECT_EQ_INT(tu_call(tc, "POST", "/items/", NULL, "{\"name\":\"NoPrice\"}", b, sizeof b), 422);
    WF_EXPECT_EQ_STR(b,
            "{\"detail\":[{\"loc\":[\"body\",\"price\"],\"msg\":\"field required\","
            "\"type\":\"value_error.missing\"}]}");
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/db-items/", NULL, NULL, b, sizeof b), 200);
    WF_EXPECT_EQ_STR(b,
            "[{\"id\":1,\"name\":\"Foo\",\"price\":10.5},{\"id\":2,\"name\":\"Bar\",\"price\":3.0}]");
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/db-check", NULL, NULL, b, sizeof b), 200);
    WF_EXPECT_EQ_STR(b,
            "{\"chain\":[\"get_settings\",\"get_db\",\"get_user_repo\"],\"db_url\":\"sqlite:///./demo.db\","
                        "\"db_open\":true,\"settings_cached\":true,\"users\":[\"admin\",\"testuser\"]}");
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/async-endpoint", NULL, NULL, b, sizeof b), 200);
    WF_EXPECT_EQ_STR(b, "{\"session_active\":true}");
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/db-stats", NULL, NULL, b, sizeof b), 200);
    WF_EXPECT_EQ_STR(b, "{\"opened\":6,\"closed\":6}");        /* every session opened was closed */
    WF_EXPECT_EQ_INT(tu_call(tc, "POST", "/send-notification/?email=a%40b.c", NULL, NULL, b, sizeof b), 200);
    WF_EXPECT_EQ_STR(b, "{\"message\":\"Notification scheduled\"}");
    WF_EXPECT_EQ_INT(tu_call(tc, "POST", "/send-notification/", NULL, NULL, b, sizeof b), 422);
    WF_EXPECT_EQ_STR(b,
            "{\"detail\":[{\"loc\":[\"query\",\"email\"],\"msg\":\"field required\","
            "\"type\":\"value_error.missing\"}]}");
    WF_EXPECT_EQ_INT(tu_call(tc, "POST", "/process/", NULL, NULL, b, sizeof b), 200);
    WF_EXPECT_EQ_STR(b, "{\"status\":\"processing\"}");
    read_file(logpath, logged, sizeof logged);
    WF_EXPECT_EQ_STR(logged,
                     "created 1\ncreated 2\nNotification sent to a@b.c\ntask one\ntask two\ntask three\n");
    wf_test_client_free(tc);
    wf_app_free(app);
    unlink(logpath);
}

/* FastAPI's override test: app.dependency_overrides[get_db] = override_get_db. The override must be
   what runs (once per request, its cleanup too) and the real get_db must not: the tour counts the
   sessions get_db opens, and /db-stats reports them. */
WF_DEPENDENCY_EXTERN(get_db);
static int override_calls, override_closes;
static void close_test_session(void *arg) {
    (void)arg;
    override_closes++;
}

WF_DEPENDENCY(session *, override_get_db) {
    static session s = {true};
    override_calls++;
    wf_defer(req, close_test_session, &s);
    return &s;
}

WF_TEST(tour_dependency_override) {
    wf_app *app = tour_app();
    WF_ASSERT_EQ_INT(wf_override(app, &get_db, &override_get_db), 0);
    wf_test_client *tc = wf_test_client_new(app, NULL);
    char b[256], before[128], after[128];
    override_calls = override_closes = 0;
    WF_ASSERT_EQ_INT(tu_call(tc, "GET", "/db-stats", NULL, NULL, before, sizeof before), 200);
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/db-check", NULL, NULL, b, sizeof b), 200);
    WF_EXPECT_TRUE(strstr(b, "\"db_open\":true") != NULL);
    WF_EXPECT_EQ_INT(override_calls, 1);                /* the override ran */
    WF_EXPECT_EQ_INT(override_closes, 1);               /* and its cleanup */
    WF_ASSERT_EQ_INT(tu_call(tc, "GET", "/db-stats", NULL, NULL, after, sizeof after), 200);
    WF_EXPECT_EQ_STR(after, before);                    /* the real get_db opened no session */
    /* cleared, the real dependency is back */
    wf_override_clear(app);
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/db-check", NULL, NULL, b, sizeof b), 200);
    WF_EXPECT_EQ_INT(override_calls, 1);
    WF_ASSERT_EQ_INT(tu_call(tc, "GET", "/db-stats", NULL, NULL, after, sizeof after), 200);
    WF_EXPECT_NE_STR(after, before);
    wf_test_client_free(tc);
    wf_app_free(app);
}

/* The store grows as FastAPI's list does: no "full" after a thousand items. */
WF_TEST(tour_store_grows_past_a_thousand_items) {
    char logpath[64];
    snprintf(logpath, sizeof logpath, "/tmp/wf_tour_grow_%d.log", (int)getpid());
    setenv("TASK_LOG", logpath, 1);
    wf_app *app = tour_app();
    wf_test_client *tc = wf_test_client_new(app, NULL);
    char json[64], want[96];
    for (int i = 1; i <= 1500; i++) {
        snprintf(json, sizeof json, "{\"name\":\"n%d\",\"price\":%d.5}", i, i);
        wf_test_req rq = {.method = "POST", .path = "/items/", .json = json};
        wf_test_res r;
        WF_ASSERT_EQ_INT(wf_test_request(tc, &rq, &r), 0);
        if (r.status != 200 || i % 500 == 0) {
            snprintf(want, sizeof want, "{\"name\":\"n%d\",\"price\":%d.5,\"id\":%d}", i, i, i);
            WF_ASSERT_EQ_INT(r.status, 200);
            WF_EXPECT_EQ_STR(r.body, want);
        }
        wf_test_res_free(&r);
    }
    wf_test_res r;
    WF_ASSERT_EQ_INT(wf_test_get(tc, "/db-items/", &r), 0);
    WF_EXPECT_EQ_INT(r.status, 200);
    WF_EXPECT_EQ_INT(wf_json_len(wf_test_json(&r)), 1500);
    WF_EXPECT_TRUE(strstr(r.body, "{\"id\":1500,\"name\":\"n1500\",\"price\":1500.5}") != NULL);
    wf_test_res_free(&r);
    wf_test_client_free(tc);
    wf_app_free(app);
    unlink(logpath);
}
