/* WebSockets through the test client (the seed's "Testing WebSockets") and the tour's WS routes. */
#define _GNU_SOURCE
#include "util.h"
#include <string.h>

wf_app *tour_app(void);

/* The seed's test, in C. */
WF_TEST(ws_seed_echo_through_the_test_client) {
    wf_app *app = tour_app();
    wf_test_client *client = wf_test_client_new(app, NULL);
    wf_test_ws *ws = wf_test_ws_connect(client, "/ws", NULL, NULL);
    WF_ASSERT_TRUE(ws != NULL);
    wf_test_ws_send_text(ws, "Hello");
    WF_EXPECT_EQ_STR(wf_test_ws_receive_text(ws), "Echo: Hello");
    WF_EXPECT_EQ_INT(wf_test_ws_close(ws, WF_WS_NORMAL, NULL), WF_WS_NORMAL);
    wf_test_ws_free(ws);
    wf_test_client_free(client);
    wf_app_free(app);
}

WF_TEST(ws_tour_chat_room_and_refusals) {
    wf_app *app = tour_app();
    wf_test_client *client = wf_test_client_new(app, NULL);
    int status = 0;
    wf_test_ws *a = wf_test_ws_connect(client, "/ws/1", NULL, &status);
    WF_EXPECT_EQ_INT(status, 101);
    wf_test_ws *b = wf_test_ws_connect(client, "/ws/2", NULL, NULL);
    WF_ASSERT_TRUE(a && b);
    wf_test_ws_send_text(a, "hi");
    WF_EXPECT_EQ_STR(wf_test_ws_receive_text(a), "Client 1: hi");
    WF_EXPECT_EQ_STR(wf_test_ws_receive_text(b), "Client 1: hi");
    wf_test_ws_free(b);                     /* leaves without a close frame: dropped from the room */
    wf_test_ws_send_text(a, "alone");
    WF_EXPECT_EQ_STR(wf_test_ws_receive_text(a), "Client 1: alone");
    wf_test_ws_free(a);
    WF_EXPECT_TRUE(wf_test_ws_connect(client, "/ws/abc", NULL, &status) == NULL);
    WF_EXPECT_EQ_INT(status, 403);
    WF_EXPECT_TRUE(wf_test_ws_connect(client, "/nowhere", NULL, &status) == NULL);
    WF_EXPECT_EQ_INT(status, 403);
    wf_test_res r;
    WF_EXPECT_EQ_INT(wf_test_get(client, "/ws", &r), 0);
    WF_EXPECT_EQ_INT(r.status, 404);
    wf_test_res_free(&r);
    wf_test_ws *noauth = wf_test_ws_connect(client, "/ws-auth", NULL, &status);
    WF_ASSERT_TRUE(noauth != NULL);
    WF_EXPECT_TRUE(wf_test_ws_receive_text(noauth) == NULL);
    WF_EXPECT_EQ_INT(wf_test_ws_close_code(noauth), WF_WS_POLICY);
    wf_test_ws_free(noauth);
    wf_test_ws *empty = wf_test_ws_connect(client, "/ws-auth?token=", NULL, NULL);
    WF_ASSERT_TRUE(empty != NULL);
    wf_test_ws_send_text(empty, "x");
    WF_EXPECT_EQ_STR(wf_test_ws_receive_text(empty), "Echo: x");
    wf_test_ws_free(empty);
    wf_test_client_free(client);
    wf_app_free(app);
}
