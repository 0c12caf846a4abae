/* ws_bench_server.c - webfw's side of the WebSocket benchmark (tests/bench/ws_run.sh), beside
   ws_node_server.js (npm ws) and ws_lws_server.c (libwebsockets):
     WS /ws-echo  echoes text as text and binary as binary (as examples/bench_app.c)
     WS /room     joins the one room; a text message "BROADCAST <payload>" from any member sends
                  <payload> to every member (the sender too) as one text message
   Environment: PORT (default 8000), THREADS loop threads (default 1). No access log.
   Build: make build/ws_bench_server (or cc -O2 tests/bench/ws_bench_server.c -lpthread). */
#define WEBFW_IMPLEMENTATION
#include "../../webfw.h"
#include <stdlib.h>
#include <string.h>

static wf_room *room;

static void echo_message(wf_ws *ws, int opcode, const char *data, size_t len) {
    if (opcode == WF_WS_TEXT) wf_ws_send_text(ws, data, len);
    else wf_ws_send_binary(ws, data, len);
}

static void room_message(wf_ws *ws, int opcode, const char *data, size_t len) {
    (void)ws;
    if (opcode == WF_WS_TEXT && len >= 10 && memcmp(data, "BROADCAST ", 10) == 0)
        wf_room_broadcast_text(room, data + 10, len - 10);
}

static const wf_ws_opts echo_opts = {.on_message = echo_message};
static const wf_ws_opts room_opts = {.on_message = room_message};

static void echo(wf_req *req, wf_res *res) {
    (void)res;
    wf_ws_accept(req);
}

static void join(wf_req *req, wf_res *res) {
    (void)res;
    wf_ws *ws = wf_ws_accept(req);
    if (ws && wf_room_join(room, ws) < 0) wf_raise(req, 503, "Cannot join the room");
}

int main(void) {
    const char *port = getenv("PORT"), *threads = getenv("THREADS");
    wf_app *app = wf_app_new();
    room = wf_room_new();
    if (!app || !room) return 1;
    wf_websocket(app, "/ws-echo", echo, &echo_opts);
    wf_websocket(app, "/room", join, &room_opts);
    int rc = wf_run(app, &(wf_config){
        .port = port ? atoi(port) : 8000,
        .threads = threads ? atoi(threads) : 1,
        .no_access_log = true,
    });
    wf_room_free(room);
    wf_app_free(app);
    return rc == 0 ? 0 : 1;
}
