/* examples/notes.c, the notes API of issue 10, through the test client: make_app() is built here
   (NOTES_NO_MAIN leaves its main out; tests/impl.c has the implementation). The store is a static of
   notes.c: each test empties it first, so they pass with --no-fork too. */
#define NOTES_NO_MAIN
#define get_db notes_get_db             /* examples/tour.c, linked in the same binary, has a get_db */
#include "../examples/notes.c"
#include "util.h"
#include <stdio.h>
#include <string.h>

/* The store as the program starts, its memory freed. */
static void reset_store(void) {
    for (int i = 0; i < store.n; i++) {
        free(store.notes[i].title);
        free(store.notes[i].body);
    }
    free(store.notes);
    pthread_mutex_t mu = store.mu;
    store = (notes_db){.mu = mu};
}

/* An empty store, a client for a fresh app, and "Authorization: Bearer <token>" for alice in
   auth[cap]. */
static wf_test_client *notes_client(wf_app **app, char *auth, size_t cap) {
    reset_store();
    *app = make_app();
    WF_ASSERT_TRUE(*app != NULL);
    wf_test_client *tc = wf_test_client_new(*app, NULL);
    WF_ASSERT_TRUE(tc != NULL);
    wf_test_req rq = {.method = "POST", .path = "/token", .form = "username=alice&password=wonderland"};
    wf_test_res r;
    WF_ASSERT_EQ_INT(wf_test_request(tc, &rq, &r), 0);
    WF_ASSERT_EQ_INT(r.status, 200);
    wf_str token, type;
    WF_ASSERT_TRUE(wf_json_str(wf_json_get(wf_test_json(&r), "access_token"), &token));
    WF_ASSERT_TRUE(wf_json_str(wf_json_get(wf_test_json(&r), "token_type"), &type));
    WF_EXPECT_EQ_MEM(type.ptr, type.len, "bearer", 6);
    snprintf(auth, cap, "Authorization: Bearer %.*s", (int)token.len, token.ptr);
    wf_test_res_free(&r);
    return tc;
}

static void notes_done(wf_test_client *tc, wf_app *app) {
    wf_test_client_free(tc);
    wf_app_free(app);
    reset_store();
}

/* The store's counters, read under its lock. */
static int counter(const int *c) {
    pthread_mutex_lock(&store.mu);
    int v = *c;
    pthread_mutex_unlock(&store.mu);
    return v;
}

WF_TEST(notes_login) {
    wf_app *app;
    char auth[1024];
    wf_test_client *tc = notes_client(&app, auth, sizeof auth);   /* the right password: a token */
    wf_test_req bad = {.method = "POST", .path = "/token", .form = "username=alice&password=wrong"};
    wf_test_res r;
    WF_ASSERT_EQ_INT(wf_test_request(tc, &bad, &r), 0);
    WF_EXPECT_EQ_INT(r.status, 401);
    WF_EXPECT_EQ_STR(r.body, "{\"detail\":\"Incorrect username or password\"}");
    wf_str www = wf_test_header(&r, "WWW-Authenticate");
    WF_EXPECT_EQ_MEM(www.ptr, www.len, "Bearer", 6);
    wf_test_res_free(&r);
    wf_test_req nobody = {.method = "POST", .path = "/token", .form = "username=bob&password=wonderland"};
    WF_ASSERT_EQ_INT(wf_test_request(tc, &nobody, &r), 0);
    WF_EXPECT_EQ_INT(r.status, 401);
    wf_test_res_free(&r);
    wf_test_req missing = {.method = "POST", .path = "/token", .form = "username=alice"};
    WF_ASSERT_EQ_INT(wf_test_request(tc, &missing, &r), 0);
    WF_EXPECT_EQ_INT(r.status, 422);
    WF_EXPECT_TRUE(strstr(r.body, "\"loc\":[\"body\",\"password\"]") != NULL);
    wf_test_res_free(&r);
    notes_done(tc, app);
}

WF_TEST(notes_crud) {
    wf_app *app;
    char auth[1024], body[1024];
    wf_test_client *tc = notes_client(&app, auth, sizeof auth);
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/notes", auth, NULL, body, sizeof body), 200);
    WF_EXPECT_EQ_STR(body, "[]");
    WF_EXPECT_EQ_INT(tu_call(tc, "POST", "/notes", auth, "{\"title\":\"milk\"}", body, sizeof body), 201);
    WF_EXPECT_EQ_STR(body, "{\"id\":1,\"title\":\"milk\",\"body\":\"\"}");
    WF_EXPECT_EQ_INT(tu_call(tc, "POST", "/notes", auth, "{\"title\":\"eggs\",\"body\":\"a dozen\"}", body,
                             sizeof body), 201);
    WF_EXPECT_EQ_STR(body, "{\"id\":2,\"title\":\"eggs\",\"body\":\"a dozen\"}");
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/notes", auth, NULL, body, sizeof body), 200);
    WF_EXPECT_EQ_STR(body, "[{\"id\":1,\"title\":\"milk\",\"body\":\"\"},"
                           "{\"id\":2,\"title\":\"eggs\",\"body\":\"a dozen\"}]");
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/notes?skip=1&limit=1", auth, NULL, body, sizeof body), 200);
    WF_EXPECT_EQ_STR(body, "[{\"id\":2,\"title\":\"eggs\",\"body\":\"a dozen\"}]");
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/notes/2", auth, NULL, body, sizeof body), 200);
    WF_EXPECT_EQ_STR(body, "{\"id\":2,\"title\":\"eggs\",\"body\":\"a dozen\"}");
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/notes/3", auth, NULL, body, sizeof body), 404);
    WF_EXPECT_EQ_STR(body, "{\"detail\":\"Note not found\"}");
    WF_EXPECT_EQ_INT(tu_call(tc, "DELETE", "/notes/1", auth, NULL, body, sizeof body), 200);
    WF_EXPECT_EQ_STR(body, "{\"ok\":true}");
    WF_EXPECT_EQ_INT(tu_call(tc, "DELETE", "/notes/1", auth, NULL, body, sizeof body), 404);
    WF_EXPECT_EQ_STR(body, "{\"detail\":\"Note not found\"}");
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/notes/1", auth, NULL, body, sizeof body), 404);
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/notes", auth, NULL, body, sizeof body), 200);
    WF_EXPECT_EQ_STR(body, "[{\"id\":2,\"title\":\"eggs\",\"body\":\"a dozen\"}]");
    /* the blocking export, run inline by the test client */
    WF_EXPECT_EQ_INT(tu_call(tc, "POST", "/notes", auth, "{\"title\":\"tea\"}", body, sizeof body), 201);
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/export", auth, NULL, body, sizeof body), 200);
    WF_EXPECT_EQ_STR(body, "[{\"id\":2,\"title\":\"eggs\",\"body\":\"a dozen\"},"
                           "{\"id\":3,\"title\":\"tea\",\"body\":\"\"}]");
    notes_done(tc, app);
}

WF_TEST(notes_validation) {
    wf_app *app;
    char auth[1024], body[2048];
    wf_test_client *tc = notes_client(&app, auth, sizeof auth);
    WF_EXPECT_EQ_INT(tu_call(tc, "POST", "/notes", auth, "{\"body\":\"x\"}", body, sizeof body), 422);
    WF_EXPECT_EQ_STR(body, "{\"detail\":[{\"loc\":[\"body\",\"title\"],\"msg\":\"field required\","
                           "\"type\":\"value_error.missing\"}]}");
    WF_EXPECT_EQ_INT(tu_call(tc, "POST", "/notes", auth, "{\"title\":\"\"}", body, sizeof body), 422);
    WF_EXPECT_TRUE(strstr(body, "value_error.any_str.min_length") != NULL);
    char big[160];
    snprintf(big, sizeof big, "{\"title\":\"%0101d\"}", 0);
    WF_EXPECT_EQ_INT(tu_call(tc, "POST", "/notes", auth, big, body, sizeof body), 422);
    WF_EXPECT_TRUE(strstr(body, "value_error.any_str.max_length") != NULL);
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/notes?limit=0", auth, NULL, body, sizeof body), 422);
    WF_EXPECT_EQ_STR(body, "{\"detail\":[{\"loc\":[\"query\",\"limit\"],"
                           "\"msg\":\"ensure this value is greater than or equal to 1\","
                           "\"type\":\"value_error.number.not_ge\",\"ctx\":{\"limit_value\":1}}]}");
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/notes?limit=101", auth, NULL, body, sizeof body), 422);
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/notes?skip=-1", auth, NULL, body, sizeof body), 422);
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/notes?limit=100&skip=9", auth, NULL, body, sizeof body), 200);
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/notes/abc", auth, NULL, body, sizeof body), 404);  /* {id:int} */
    WF_EXPECT_EQ_INT(counter(&store.n), 0);
    notes_done(tc, app);
}

WF_TEST(notes_unauthorized) {
    wf_app *app;
    char auth[1024], body[1024];
    wf_test_client *tc = notes_client(&app, auth, sizeof auth);
    char tampered[1024];
    snprintf(tampered, sizeof tampered, "%s", auth);
    char *last = tampered + strlen(tampered) - 2;                   /* a signature byte changed */
    *last = *last == 'A' ? 'B' : 'A';
    char other_key[1024];                   /* a well-formed token for alice, signed with another key */
    wf_buf forged = {0};
    WF_ASSERT_EQ_INT(wf_jwt_encode(&forged, "{\"sub\":\"alice\"}", "guess", 5), 0);
    snprintf(other_key, sizeof other_key, "Authorization: Bearer %s", forged.ptr);
    wf_buf_free(&forged);
    const char *bad[] = {NULL, tampered, other_key, "Authorization: Bearer", "Authorization: Bearer x.y.z",
                         "Authorization: Basic YWxpY2U6d29uZGVybGFuZA=="};
    const char *routes[][2] = {{"GET", "/notes"}, {"GET", "/notes/1"}, {"POST", "/notes"},
                               {"DELETE", "/notes/1"}, {"GET", "/export"}, {"GET", "/notes?limit=0"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        for (size_t k = 0; k < sizeof routes / sizeof *routes; k++) {
            const char *hdrs[] = {bad[i], NULL};
            wf_test_req rq = {.method = routes[k][0], .path = routes[k][1], .headers = bad[i] ? hdrs : NULL,
                              .json = routes[k][0][0] == 'P' ? "{\"title\":\"x\"}" : NULL};
            wf_test_res r;
            WF_ASSERT_EQ_INT(wf_test_request(tc, &rq, &r), 0);
            if (r.status != 401) wf_test_log("header %zu on %s %s", i, routes[k][0], routes[k][1]);
            WF_EXPECT_EQ_INT(r.status, 401);
            WF_EXPECT_EQ_STR(r.body, "{\"detail\":\"Could not validate credentials\"}");
            wf_str www = wf_test_header(&r, "WWW-Authenticate");
            WF_EXPECT_EQ_MEM(www.ptr, www.len, "Bearer", 6);
            wf_test_res_free(&r);
        }
    }
    /* the real token with its scheme in another case still works */
    char lower[1024];
    snprintf(lower, sizeof lower, "Authorization: bearer %s", auth + strlen("Authorization: Bearer "));
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/notes", lower, NULL, body, sizeof body), 200);
    WF_EXPECT_EQ_INT(counter(&store.n), 0);
    WF_EXPECT_EQ_INT(counter(&store.audits), 0);
    notes_done(tc, app);
}

/* get_db's outcome cleanup: a commit for a request that succeeded, a rollback for a raise and a 422;
   the audit task: after each write that succeeded, never after one that failed. */
WF_TEST(notes_transactions_and_audit) {
    wf_app *app;
    char auth[1024], body[1024];
    wf_test_client *tc = notes_client(&app, auth, sizeof auth);
    WF_EXPECT_EQ_INT(counter(&store.commits) + counter(&store.rollbacks), 0);   /* /token: no get_db */
    WF_EXPECT_EQ_INT(tu_call(tc, "POST", "/notes", auth, "{\"title\":\"milk\"}", body, sizeof body), 201);
    WF_EXPECT_EQ_INT(counter(&store.commits), 1);
    WF_EXPECT_EQ_INT(counter(&store.rollbacks), 0);
    WF_EXPECT_EQ_INT(counter(&store.audits), 1);        /* the test client ran the task before returning */
    WF_EXPECT_EQ_STR(store.last_audit, "alice created note 1");
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/notes/7", auth, NULL, body, sizeof body), 404);
    WF_EXPECT_EQ_INT(counter(&store.commits), 1);
    WF_EXPECT_EQ_INT(counter(&store.rollbacks), 1);
    WF_EXPECT_EQ_INT(tu_call(tc, "DELETE", "/notes/7", auth, NULL, body, sizeof body), 404);
    WF_EXPECT_EQ_INT(counter(&store.rollbacks), 2);
    WF_EXPECT_EQ_INT(counter(&store.audits), 1);
    WF_EXPECT_EQ_INT(tu_call(tc, "POST", "/notes", auth, "{\"body\":\"no title\"}", body, sizeof body), 422);
    WF_EXPECT_EQ_INT(counter(&store.commits), 1);
    WF_EXPECT_EQ_INT(counter(&store.rollbacks), 3);
    WF_EXPECT_EQ_INT(counter(&store.audits), 1);        /* no task for a write that failed validation */
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/notes?limit=0", auth, NULL, body, sizeof body), 422);
    WF_EXPECT_EQ_INT(counter(&store.rollbacks), 4);
    WF_EXPECT_EQ_INT(tu_call(tc, "DELETE", "/notes/1", auth, NULL, body, sizeof body), 200);
    WF_EXPECT_EQ_INT(counter(&store.commits), 2);
    WF_EXPECT_EQ_INT(counter(&store.audits), 2);
    WF_EXPECT_EQ_STR(store.last_audit, "alice deleted note 1");
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/export", auth, NULL, body, sizeof body), 200);
    WF_EXPECT_EQ_STR(body, "[]");
    WF_EXPECT_EQ_INT(counter(&store.commits), 3);
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/notes", NULL, NULL, body, sizeof body), 401);   /* before get_db */
    WF_EXPECT_EQ_INT(counter(&store.commits) + counter(&store.rollbacks), 7);
    notes_done(tc, app);
}

/* The notes survive a new app, as a database's rows do: the store is a static of notes.c. */
WF_TEST(notes_store_outlives_the_app) {
    wf_app *app;
    char auth[1024], body[1024];
    wf_test_client *tc = notes_client(&app, auth, sizeof auth);
    for (int i = 0; i < 20; i++)            /* past the first capacities of the array */
        WF_EXPECT_EQ_INT(tu_call(tc, "POST", "/notes", auth, "{\"title\":\"n\"}", body, sizeof body), 201);
    wf_test_client_free(tc);
    wf_app_free(app);
    app = make_app();                       /* the same store; alice's token is still good */
    WF_ASSERT_TRUE(app != NULL);
    tc = wf_test_client_new(app, NULL);
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/notes/20", auth, NULL, body, sizeof body), 200);
    WF_EXPECT_EQ_STR(body, "{\"id\":20,\"title\":\"n\",\"body\":\"\"}");
    WF_EXPECT_EQ_INT(tu_call(tc, "GET", "/notes?skip=18", auth, NULL, body, sizeof body), 200);
    WF_EXPECT_EQ_STR(body, "[{\"id\":19,\"title\":\"n\",\"body\":\"\"},"
                           "{\"id\":20,\"title\":\"n\",\"body\":\"\"}]");
    notes_done(tc, app);
}
