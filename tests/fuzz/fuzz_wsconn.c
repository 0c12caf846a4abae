/* libFuzzer target for WebSocket connections end to end: the handshake's checks and routing, then
   whatever bytes the peer sends, through the test client's loop (the server's own code path over a
   socket pair, in this thread): frames, fragments, pings, closes, echo and broadcast from the
   callbacks, the close handshake and the connection's end.
   Input: byte 0 picks the handshake's variations (version, key, Connection, path, subprotocol),
   byte 1 the size of the pieces the rest is sent in, then the bytes sent after the handshake.
   Checks beyond the sanitizers: the answer to the handshake is 101, 400, 403 or 426; every byte
   the server sends after a 101 parses as server frames (unmasked, valid, text in UTF-8) ending, if
   the connection ends, in a close frame with a code the server may send; on_close runs exactly
   once for each opened connection, and the handshake's cleanups run once.
   Build with -DWF_FUZZ_REPLAY for a plain main() that replays files. */
#define WEBFW_IMPLEMENTATION
#include "../../webfw.h"

static int opened, closed, cleanups_due;
static wf_room *room;

static void on_message(wf_ws *ws, int opcode, const char *data, size_t len) {
    if (len && data[0] == 'b') wf_room_broadcast_text(room, "all", 3);
    else if (len && data[0] == 'c') wf_ws_close(ws, 4000, "asked");
    else if (opcode == WF_WS_TEXT) wf_ws_send_text(ws, data, len);
    else wf_ws_send_binary(ws, data, len);
}

static void on_close(wf_ws *ws, int code, const char *reason, size_t len) {
    (void)ws, (void)code, (void)reason, (void)len;
    closed++;
}

static const char *const protocols[] = {"chat", "superchat", NULL};
static const wf_ws_opts opts = {
    .on_message = on_message, .on_close = on_close, .subprotocols = protocols, .max_message = 4096,
    .max_queue = 65536};

static void cleanup(void *arg) {
    (void)arg;
    cleanups_due--;
}

static void h_ws(wf_req *req, wf_res *res) {
    (void)res;
    long long n = wf_param_int(req, WF_IN_QUERY, "n", "default=0,ge=0,le=9");
    if (wf_invalid(req)) return;
    if (n == 7) wf_raise(req, 401, "no");
    if (n == 8) {
        opened++;                                   /* it opens, to close at once with the code */
        wf_ws_deny(req, WF_WS_POLICY, "denied");
    }
    cleanups_due++;
    wf_defer(req, cleanup, NULL);
    wf_ws *ws = wf_ws_accept(req);
    if (!ws) return;
    opened++;
    wf_room_join(room, ws);
    if (n == 1) wf_ws_send_text(ws, "hello", 5);
}

static void quiet(void *user, wf_log_level level, const char *msg) { (void)user, (void)level, (void)msg; }

static wf_test_client *client(void) {
    static wf_test_client *tc;
    if (tc) return tc;
    wf_app *app = wf_app_new();
    wf_websocket(app, "/ws", h_ws, &opts);
    room = wf_room_new();
    tc = wf_test_client_new(app, &(wf_config){.no_access_log = true, .log = quiet});
    return tc;
}

/* Check that out[0..n) is a sequence of valid server frames; true if the last is a close. */
static bool check_frames(char *out, size_t n) {
    wf_ws_parser p;
    memset(&p, 0, sizeof p);
    p.client = true;
    p.max_message = 1 << 20;
    bool saw_close = false;
    for (size_t off = 0; off < n;) {
        wf_ws_event ev;
        size_t used = wf_ws_parse(&p, out + off, n - off, &ev);
        off += used;
        if (ev.fail) __builtin_trap();                  /* the server sent a bad frame */
        if (ev.opcode == WF_WS_CLOSE) {
            saw_close = true;
            if (ev.code != WF_WS_NO_STATUS && !wf_ws_close_code_ok(ev.code)) __builtin_trap();
        }
        if (!used && !ev.opcode) break;
    }
    wf_ws_parser_free(&p);
    return saw_close;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2 || size > 16384) return 0;
    wf_test_client *tc = client();
    wf__loop *loop = &tc->srv->loops[0];
    uint8_t v = data[0];
    size_t piece = (size_t)data[1] % 64 + 1;
    char req[512];
    snprintf(req, sizeof req,
             "GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: %s\r\nConnection: %s\r\nSec-WebSocket-Key: %s\r\n"
             "Sec-WebSocket-Version: %s\r\n%s\r\n",
             (v & 7) == 7 ? "/nope" : (v & 7) == 6 ? "/ws?n=x" : (v & 7) == 5 ? "/ws?n=7"
                 : (v & 7) == 4 ? "/ws?n=8" : (v & 7) == 3 ? "/ws?n=1" : "/ws",
             v & 8 ? "WebSocket" : "websocket", v & 16 ? "keep-alive, Upgrade" : "upgrade",
             v & 32 ? "dGhlIHNhbXBsZSBub25jZQ=" : "dGhlIHNhbXBsZSBub25jZQ==", v & 64 ? "8" : "13",
             v & 128 ? "Sec-WebSocket-Protocol: superchat, chat\r\n" : "");
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) return 0;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    ss.ss_family = AF_UNIX;
    int opened0 = opened, closed0 = closed;
    wf__loop_tick(loop);
    wf__conn_add(loop, sv[0], &ss);
    wf_buf in = {0};
    size_t sent = 0, body = size - 2, head_end = 0;
    const char *rest = (const char *)data + 2;
    (void)!send(sv[1], req, strlen(req), MSG_NOSIGNAL);
    for (int round = 0; round < 4000; round++) {
        if (head_end && sent < body) {
            ssize_t k = send(sv[1], rest + sent, body - sent < piece ? body - sent : piece, MSG_NOSIGNAL);
            if (k > 0) sent += (size_t)k;
        }
        wf__conn *c = wf__test_conn(loop, sv[0]);
        wf__loop_tick(loop);
        if (c) wf__conn_event(loop, c, POLLIN | POLLOUT);
        wf__conn_bury(loop);
        for (;;) {
            if (wf_buf_reserve(&in, 65536) < 0) break;
            ssize_t n = recv(sv[1], in.ptr + in.len, 65536, MSG_DONTWAIT);
            if (n <= 0) break;
            in.len += (size_t)n;
        }
        if (!head_end)
            for (size_t k = 0; k + 4 <= in.len && !head_end; k++)
                if (memcmp(in.ptr + k, "\r\n\r\n", 4) == 0) head_end = k + 4;
        if (!wf__test_conn(loop, sv[0])) break;
        if (head_end && sent == body && round > 50) break;
    }
    int status = head_end > 12 ? atoi(in.ptr + 9) : -1;
    if (head_end && status != 101 && status != 400 && status != 403 && status != 426 && status != 401)
        __builtin_trap();
    close(sv[1]);                                   /* the peer goes: the server ends it */
    for (int i = 0; i < 100 && wf__test_conn(loop, sv[0]); i++)
        wf__conn_event(loop, wf__test_conn(loop, sv[0]), POLLIN);
    if (wf__test_conn(loop, sv[0])) wf__conn_close(loop, wf__test_conn(loop, sv[0]));
    wf__conn_bury(loop);
    if (status == 101) check_frames(in.ptr + head_end, in.len - head_end);
    if (closed - closed0 != opened - opened0) __builtin_trap();     /* on_close once per connection */
    if (cleanups_due != 0) __builtin_trap();                        /* the handshake's cleanups ran */
    wf_buf_free(&in);
    return 0;
}

#include "replay.h"
