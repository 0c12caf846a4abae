/* examples/chat.c, the browser chat, through the test client: chat_app() is built here (CHAT_NO_MAIN
   leaves its main out; tests/impl.c has the implementation). */
#define CHAT_NO_MAIN
#include "../examples/chat.c"
#include <stdio.h>
#include <string.h>

/* The next message on w is the text `line`, byte for byte. */
static void expect_line(wf_test_ws *w, const char *line) {
    const char *data = NULL;
    size_t len = 0;
    WF_ASSERT_EQ_INT(wf_test_ws_receive(w, &data, &len, 2000), WF_WS_TEXT);
    WF_EXPECT_EQ_MEM(data, len, line, strlen(line));
}

/* Nothing more is waiting on w. */
static void expect_quiet(wf_test_ws *w) {
    const char *data;
    size_t len;
    WF_EXPECT_EQ_INT(wf_test_ws_receive(w, &data, &len, 50), WF_EPARTIAL);
}

/* The status of a handshake to path, which is refused (-1 if it was accepted). */
static int refused(wf_test_client *tc, const char *path) {
    int status = 0;
    wf_test_ws *w = wf_test_ws_connect(tc, path, NULL, &status);
    if (!w) return status;
    wf_test_ws_free(w);
    return -1;
}

WF_TEST(chat_serves_the_page) {
    wf_app *app = chat_app();
    wf_test_client *tc = wf_test_client_new(app, NULL);
    wf_test_res r;
    WF_ASSERT_EQ_INT(wf_test_get(tc, "/", &r), 0);
    WF_EXPECT_EQ_INT(r.status, 200);
    wf_str type = wf_test_header(&r, "Content-Type");
    WF_EXPECT_EQ_MEM(type.ptr, type.len, "text/html; charset=utf-8", 24);
    WF_EXPECT_TRUE(strstr(r.body, "'/ws/' + encodeURIComponent(") != NULL);
    WF_EXPECT_TRUE(strstr(r.body, "textContent") != NULL);
    WF_EXPECT_TRUE(strstr(r.body, "innerHTML") == NULL);
    wf_test_res_free(&r);
    wf_test_client_free(tc);
    wf_app_free(app);
}

WF_TEST(chat_join_talk_leave) {
    wf_app *app = chat_app();
    wf_test_client *tc = wf_test_client_new(app, NULL);
    int status = 0;
    wf_test_ws *a = wf_test_ws_connect(tc, "/ws/alice", NULL, &status);
    WF_ASSERT_TRUE(a != NULL);
    WF_EXPECT_EQ_INT(status, 101);
    expect_line(a, "alice joined");             /* the newcomer hears its own arrival */
    wf_test_ws *b = wf_test_ws_connect(tc, "/ws/bob", NULL, NULL);
    WF_ASSERT_TRUE(b != NULL);
    expect_line(a, "bob joined");
    expect_line(b, "bob joined");
    expect_quiet(b);                            /* no history: bob never hears of alice's join */

    WF_ASSERT_EQ_INT(wf_test_ws_send_text(a, "hello, bob"), 0);
    expect_line(a, "alice: hello, bob");
    expect_line(b, "alice: hello, bob");
    WF_ASSERT_EQ_INT(wf_test_ws_send_text(b, "hi"), 0);
    expect_line(a, "bob: hi");
    expect_line(b, "bob: hi");
    WF_ASSERT_EQ_INT(wf_test_ws_send_text(b, ""), 0);     /* an empty message is a message */
    expect_line(a, "bob: ");
    expect_line(b, "bob: ");
    expect_quiet(a);
    expect_quiet(b);

    WF_EXPECT_EQ_INT(wf_test_ws_close(b, WF_WS_NORMAL, NULL), WF_WS_NORMAL);   /* a close frame */
    wf_test_ws_free(b);
    expect_line(a, "bob left");
    expect_quiet(a);
    wf_test_ws *c = wf_test_ws_connect(tc, "/ws/carol", NULL, NULL);
    WF_ASSERT_TRUE(c != NULL);
    expect_line(a, "carol joined");
    expect_line(c, "carol joined");
    wf_test_ws_free(a);                         /* gone without a close frame: a leave all the same */
    expect_line(c, "alice left");
    expect_quiet(c);
    wf_test_ws_free(c);
    wf_test_client_free(tc);
    wf_app_free(app);
}

/* The server escapes nothing: markup arrives as it was sent, byte for byte (the page shows it with
   textContent). UTF-8 too. */
WF_TEST(chat_passes_markup_through) {
    wf_app *app = chat_app();
    wf_test_client *tc = wf_test_client_new(app, NULL);
    wf_test_ws *a = wf_test_ws_connect(tc, "/ws/%3Cb%3Eeve%3C%2Fb%3E", NULL, NULL);   /* <b>eve</b> */
    wf_test_ws *b = wf_test_ws_connect(tc, "/ws/bob", NULL, NULL);
    WF_ASSERT_TRUE(a && b);
    expect_line(a, "<b>eve</b> joined");
    expect_line(a, "bob joined");
    expect_line(b, "bob joined");
    const char *evil = "<script>alert('x' && \"y\")</script> &amp; <img src=x onerror=alert(1)> \xc3\xa9";
    WF_ASSERT_EQ_INT(wf_test_ws_send_text(a, evil), 0);
    char want[256];
    snprintf(want, sizeof want, "<b>eve</b>: %s", evil);
    expect_line(a, want);
    expect_line(b, want);
    wf_test_ws_free(a);
    wf_test_ws_free(b);
    wf_test_client_free(tc);
    wf_app_free(app);
}

WF_TEST(chat_names) {
    wf_app *app = chat_app();
    wf_test_client *tc = wf_test_client_new(app, NULL);
    char path[256];
    snprintf(path, sizeof path, "/ws/%s", "abcdefghijklmnopqrstuvwxyz012345");             /* 32 */
    wf_test_ws *w = wf_test_ws_connect(tc, path, NULL, NULL);
    WF_ASSERT_TRUE(w != NULL);
    expect_line(w, "abcdefghijklmnopqrstuvwxyz012345 joined");
    wf_test_ws_free(w);
    WF_EXPECT_EQ_INT(refused(tc, "/ws/abcdefghijklmnopqrstuvwxyz0123456"), 403);                  /* 33 */
    WF_EXPECT_EQ_INT(refused(tc, "/ws/"), 403);                                                   /* 0 */
    WF_EXPECT_EQ_INT(refused(tc, "/ws"), 403);
    /* characters, not bytes: 32 e-acutes (64 bytes) are a name, 33 are not */
    char name[33 * 6 + 1] = "";
    for (int i = 0; i < 32; i++) strcat(name, "%C3%A9");
    snprintf(path, sizeof path, "/ws/%s", name);
    w = wf_test_ws_connect(tc, path, NULL, NULL);
    WF_ASSERT_TRUE(w != NULL);
    char want[80] = "";
    for (int i = 0; i < 32; i++) strcat(want, "\xc3\xa9");
    strcat(want, " joined");
    expect_line(w, want);
    wf_test_ws_free(w);
    strcat(name, "%C3%A9");
    snprintf(path, sizeof path, "/ws/%s", name);
    WF_EXPECT_EQ_INT(refused(tc, path), 403);
    /* a slash, as the page sends it (encodeURIComponent), and a space */
    w = wf_test_ws_connect(tc, "/ws/a%2Fb%20c", NULL, NULL);
    WF_ASSERT_TRUE(w != NULL);
    expect_line(w, "a/b c joined");
    wf_test_ws_free(w);
    /* a plain GET on the WebSocket route */
    wf_test_res r;
    WF_EXPECT_EQ_INT(wf_test_get(tc, "/ws/bob", &r), 0);
    WF_EXPECT_EQ_INT(r.status, 404);
    wf_test_res_free(&r);
    wf_test_client_free(tc);
    wf_app_free(app);
}

WF_TEST(chat_refuses_binary) {
    wf_app *app = chat_app();
    wf_test_client *tc = wf_test_client_new(app, NULL);
    wf_test_ws *a = wf_test_ws_connect(tc, "/ws/alice", NULL, NULL);
    wf_test_ws *b = wf_test_ws_connect(tc, "/ws/bob", NULL, NULL);
    WF_ASSERT_TRUE(a && b);
    expect_line(a, "alice joined");
    expect_line(a, "bob joined");
    expect_line(b, "bob joined");
    WF_ASSERT_EQ_INT(wf_test_ws_send_binary(b, "\x01\x02", 2), 0);
    const char *data;
    size_t len;
    WF_EXPECT_EQ_INT(wf_test_ws_receive(b, &data, &len, 2000), 0);    /* closed: 1003 */
    WF_EXPECT_EQ_INT(wf_test_ws_close_code(b), WF_WS_UNSUPPORTED);
    wf_test_ws_free(b);
    expect_line(a, "bob left");
    wf_test_ws_free(a);
    wf_test_client_free(tc);
    wf_app_free(app);
}
