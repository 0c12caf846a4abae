/* WebSockets through the test client (the seed's "Testing WebSockets") and the tour's WS routes;
   then the server's WebSockets end to end: the handshake's answers, frames over real sockets (the
   client is tests/util.c's tu_ws_*, with its own frame writer and a strict reader of the server's
   frames, not webfw.h's), the callbacks and cleanups, sends from other threads, rooms across loop
   threads, timers and limits, and hostile peers. Every wait is bounded; nothing is timed. */
#define _GNU_SOURCE
#include "util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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

/* ====================================================================== */
/* ---- what the callbacks saw: loop threads write it, the test's thread reads it ---- */

typedef struct seen_close {
    int id;                     /* the connection's (1, 2, ... in the order accepted; 0: no user) */
    int code;
    char reason[64];
    int late_send;              /* what wf_ws_send_text gave inside on_close */
} seen_close;

static pthread_mutex_t seen_mu = PTHREAD_MUTEX_INITIALIZER;
static seen_close closes[256];
static char events[16384] = "|";    /* "|close 1|cleanup 1|free 1|..." in the order they happened */
static atomic_int n_open, n_closed, n_cleanups, n_dep_cleanups, n_freed, n_dep_runs, n_messages;
static _Atomic(wf_ws *) held;       /* a connection handed to the test's thread (retained) */

static void note(const char *what, int id) {
    pthread_mutex_lock(&seen_mu);
    size_t n = strlen(events);
    snprintf(events + n, sizeof events - n, "%s %d|", what, id);
    pthread_mutex_unlock(&seen_mu);
}

/* Where event "what id" is in the order of events: its offset, or -1 if it has not happened. */
static long event_at(const char *what, int id) {
    char key[64];
    snprintf(key, sizeof key, "|%s %d|", what, id);
    pthread_mutex_lock(&seen_mu);
    const char *p = strstr(events, key);
    long at = p ? p - events : -1;
    pthread_mutex_unlock(&seen_mu);
    return at;
}

/* How many times event "what id" happened. */
static int event_count(const char *what, int id) {
    char key[64];
    int n = 0;
    snprintf(key, sizeof key, "|%s %d|", what, id);
    pthread_mutex_lock(&seen_mu);
    for (const char *p = events; (p = strstr(p, key)) != NULL; p++) n++;
    pthread_mutex_unlock(&seen_mu);
    return n;
}

/* Wait until event "what id" has happened. */
static bool wait_event(const char *what, int id, int timeout_ms) {
    long long deadline = tu_ms() + timeout_ms;
    while (event_at(what, id) < 0 && tu_ms() < deadline) usleep(1000);
    return event_at(what, id) >= 0;
}

/* The on_close of connection id (code -1 if it has not run). */
static seen_close close_of(int id) {
    seen_close s = {id, -1, "", 0};
    pthread_mutex_lock(&seen_mu);
    for (int i = 0; i < atomic_load(&n_closed) && i < 256; i++)
        if (closes[i].id == id) s = closes[i];
    pthread_mutex_unlock(&seen_mu);
    return s;
}

typedef struct conn_user {
    int id;
} conn_user;

static void user_free(void *p) {
    conn_user *u = p;
    note("free", u->id);
    atomic_fetch_add(&n_freed, 1);
    free(u);
}

static void cleanup(void *arg) {
    note("cleanup", (int)(intptr_t)arg);
    atomic_fetch_add(&n_cleanups, 1);
}

static void dep_cleanup(void *arg) {
    (void)arg;
    note("dep-cleanup", 0);
    atomic_fetch_add(&n_dep_cleanups, 1);
}

static int ws_id(const wf_ws *ws) {
    const conn_user *u = wf_ws_user(ws);
    return u ? u->id : 0;
}

static void rec_close(wf_ws *ws, int code, const char *reason, size_t len) {
    int id = ws_id(ws), late = wf_ws_send_text(ws, "late", 4);
    pthread_mutex_lock(&seen_mu);
    int k = atomic_load(&n_closed);
    if (k < 256) {
        closes[k].id = id;
        closes[k].code = code;
        closes[k].late_send = late;
        snprintf(closes[k].reason, sizeof closes[k].reason, "%.*s", (int)len, reason);
    }
    size_t n = strlen(events);
    snprintf(events + n, sizeof events - n, "close %d|", id);
    atomic_store(&n_closed, k + 1);         /* last: a test that sees the count sees the entry */
    pthread_mutex_unlock(&seen_mu);
}

/* Echo each message as it came; "?proto" answers the subprotocol, "close-me" closes with 4000
   "bye", "hold" hands the connection to the test's thread (retained) and answers "held". */
static void echo_message(wf_ws *ws, int opcode, const char *data, size_t len) {
    atomic_fetch_add(&n_messages, 1);
    if (opcode == WF_WS_TEXT && len == 6 && memcmp(data, "?proto", 6) == 0) {
        const char *p = wf_ws_subprotocol(ws) ? wf_ws_subprotocol(ws) : "-";
        wf_ws_send_text(ws, p, strlen(p));
    } else if (opcode == WF_WS_TEXT && len == 8 && memcmp(data, "close-me", 8) == 0) {
        wf_ws_close(ws, 4000, "bye");
    } else if (opcode == WF_WS_TEXT && len == 4 && memcmp(data, "hold", 4) == 0) {
        wf_ws_retain(ws);
        atomic_store(&held, ws);
        wf_ws_send_text(ws, "held", 4);
    } else if (opcode == WF_WS_TEXT) {
        wf_ws_send_text(ws, data, len);
    } else {
        wf_ws_send_binary(ws, data, len);
    }
}

static const char *const protos[] = {"chat", "superchat", NULL};

static bool origin_ok(wf_req *req, wf_str origin) {
    (void)req;
    return origin.ptr && origin.len == 18 && memcmp(origin.ptr, "https://ok.example", 18) == 0;
}

static const wf_ws_opts echo_ws = {.on_message = echo_message, .on_close = rec_close, .subprotocols = protos};
static const wf_ws_opts small_ws = {.on_message = echo_message, .on_close = rec_close, .max_message = 1000};
static const wf_ws_opts idle_ws = {.on_message = echo_message, .on_close = rec_close, .idle_timeout_ms = 300};
static const wf_ws_opts ping_ws = {.on_message = echo_message, .on_close = rec_close, .ping_interval_ms = 100,
                                   .idle_timeout_ms = 1000};
static const wf_ws_opts origin_ws = {.on_message = echo_message, .on_close = rec_close,
                                     .origin_ok = origin_ok};

/* Accept and track the connection: an id, a user freed once, a cleanup, a header for the 101; with
   ?hello, a first message "id N" sent from the handler (it follows the 101). */
static wf_ws *accept_tracked(wf_req *req, wf_res *res) {
    wf_ws *ws = wf_ws_accept(req);
    conn_user *u = malloc(sizeof *u);
    if (!ws || !u) {
        free(u);
        wf_fail(req, "out of memory");
    }
    u->id = atomic_fetch_add(&n_open, 1) + 1;
    wf_ws_set_user(ws, u, user_free);
    wf_defer(req, cleanup, (void *)(intptr_t)u->id);
    wf_res_add_header(res, "X-Hello", "yes");
    if (wf_param(req, WF_IN_QUERY, "hello").ptr) {
        char m[32];
        snprintf(m, sizeof m, "id %d", u->id);
        wf_ws_send_text(ws, m, strlen(m));              /* open_ws expects it */
    }
    return ws;
}

static void h_echo(wf_req *req, wf_res *res) { accept_tracked(req, res); }

static void h_refuse(wf_req *req, wf_res *res) {
    (void)req, (void)res;
}

/* The id must be an integer >= 1; the handler accepts even when it is not: the failed parameter
   still refuses the handshake. */
static void h_item(wf_req *req, wf_res *res) {
    wf_param_int(req, WF_IN_PATH, "id", "ge=1");
    accept_tracked(req, res);
}

static void h_deny(wf_req *req, wf_res *res) {
    (void)res;
    wf_defer(req, cleanup, (void *)(intptr_t)1000);
    wf_ws_deny(req, WF_WS_POLICY, "x");
}

WF_DEPENDENCY(const char *, g_token) {
    wf_str t = wf_req_header(req, "X-Token");
    if (!t.ptr) wf_raise(req, 401, "no");
    atomic_fetch_add(&n_dep_runs, 1);
    wf_defer(req, dep_cleanup, NULL);
    return wf_req_strdup(req, t);
}

/* Under group /g, which depends on g_token: the first message is the token. */
static void h_group(wf_req *req, wf_res *res) {
    const char *tok = WF_DEPENDS(req, g_token);
    wf_ws *ws = accept_tracked(req, res);
    char m[80];
    snprintf(m, sizeof m, "token %s", tok);
    wf_ws_send_text(ws, m, strlen(m));
}

static void h_http(wf_req *req, wf_res *res) {
    (void)req;
    wf_reply_text(res, 200, "http");
}

static wf_app *ws_app(void) {
    wf_app *app = wf_app_new();
    WF_ASSERT_TRUE(app != NULL);
    WF_ASSERT_EQ_INT(wf_websocket(app, "/echo", h_echo, &echo_ws), 0);
    WF_ASSERT_EQ_INT(wf_websocket(app, "/small", h_echo, &small_ws), 0);
    WF_ASSERT_EQ_INT(wf_websocket(app, "/idle", h_echo, &idle_ws), 0);
    WF_ASSERT_EQ_INT(wf_websocket(app, "/ping", h_echo, &ping_ws), 0);
    WF_ASSERT_EQ_INT(wf_websocket(app, "/origin", h_echo, &origin_ws), 0);
    WF_ASSERT_EQ_INT(wf_websocket(app, "/refuse", h_refuse, &echo_ws), 0);
    WF_ASSERT_EQ_INT(wf_websocket(app, "/items/{id}", h_item, &echo_ws), 0);
    WF_ASSERT_EQ_INT(wf_websocket(app, "/deny", h_deny, &echo_ws), 0);
    wf_group *g = wf_group_new(app, "/g");
    WF_ASSERT_TRUE(g != NULL);
    WF_ASSERT_EQ_INT(wf_group_depends(g, &g_token), 0);
    WF_ASSERT_EQ_INT(wf_group_websocket(g, "/ws", h_group, &echo_ws), 0);
    WF_ASSERT_EQ_INT(wf_post(app, "/http", h_http), 0);
    return app;
}

/* A server for the tests over sockets: threads loop threads, a shorter grace period. */
static int serve(wf_app *app, int threads) {
    int port = tu_serve(app, &(wf_config){.threads = threads, .shutdown_grace_ms = 2000});
    WF_ASSERT_GT_INT(port, 0);
    return port;
}

/* ====================================================================== */
/* ---- the handshake ---- */

#define UPGRADE "Upgrade: websocket\r\nConnection: Upgrade\r\n"
#define KEY "Sec-WebSocket-Key: " TU_WS_KEY "\r\n"
#define V13 "Sec-WebSocket-Version: 13\r\n"
#define HS(path, more) "GET " path " HTTP/1.1\r\nHost: a\r\n" UPGRADE KEY V13 more "\r\n"
#define GET_ECHO "GET /echo HTTP/1.1\r\nHost: a\r\n"

/* Send raw on a fresh connection and read the answer: it must be status, with body if not NULL;
   refused (a 400, 426 or 403 before or instead of the handler) also means the server then closes
   the connection. The head is left in r (the caller frees it) and the connection in c. */
static bool raw_expect_at(tu_at at, tu_conn *c, tu_resp *r, int port, const char *raw, int status,
                          const char *body, bool refused) {
    memset(r, 0, sizeof *r);
    TU_ASSERT_TRUE_AT(at, tu_connect(c, port) == 0);
    TU_ASSERT_TRUE_AT(at, tu_sends(c, raw) == 0);
    bool ok = TU_EXPECT_EQ_INT_AT(at, tu_read(c, r, false, 5000), status);
    if (body && r->body) ok = TU_EXPECT_EQ_STR_AT(at, r->body, body) && ok;
    if (refused) ok = TU_EXPECT_TRUE_AT(at, tu_closed(c, 5000)) && ok;
    if (!ok) wf_test_log("the request was:\n%s", raw);
    return ok;
}
#define raw_expect(c, r, port, raw, status, body, refused) \
    raw_expect_at(TU_HERE, c, r, port, raw, status, body, refused)

/* raw_expect, then let go of the connection and the head. */
static void raw_status_at(tu_at at, int port, const char *raw, int status, const char *body, bool refused) {
    tu_conn c;
    tu_resp r;
    raw_expect_at(at, &c, &r, port, raw, status, body, refused);
    tu_resp_free(&r);
    tu_close(&c);
}
#define raw_status(port, raw, status, body, refused) raw_status_at(TU_HERE, port, raw, status, body, refused)

/* The value of header name in r, "(absent)" if it is not there. */
static const char *hdr(const tu_resp *r, const char *name) {
    static char v[256];
    if (!tu_header(r, name, v, sizeof v)) snprintf(v, sizeof v, "(absent)");
    return v;
}

/* Send text on an open WebSocket and expect it back. */
static void echo_check_at(tu_at at, tu_conn *c, const char *text) {
    tu_ws_frame f;
    TU_ASSERT_TRUE_AT(at, tu_ws_send(c, 0x81, text, strlen(text)) == 0);
    if (!TU_EXPECT_EQ_INT_AT(at, tu_ws_read(c, &f, 5000), 1)) return;
    TU_EXPECT_EQ_INT_AT(at, f.opcode, WF_WS_TEXT);
    TU_EXPECT_TRUE_AT(at, f.fin);
    TU_EXPECT_EQ_STR_AT(at, f.data, text);
    tu_ws_frame_free(&f);
}
#define echo_check(c, text) echo_check_at(TU_HERE, c, text)

/* Read the next frame: it must be opcode with payload text (a close: code and reason). */
static void frame_expect_at(tu_at at, tu_conn *c, int opcode, const char *text, int code) {
    tu_ws_frame f;
    if (!TU_EXPECT_EQ_INT_AT(at, tu_ws_read(c, &f, 5000), 1)) return;
    TU_EXPECT_EQ_INT_AT(at, f.opcode, opcode);
    if (opcode == WF_WS_CLOSE) {
        TU_EXPECT_EQ_INT_AT(at, f.code, code);
        TU_EXPECT_EQ_STR_AT(at, f.reason, text);
    } else {
        TU_EXPECT_EQ_STR_AT(at, f.data, text);
    }
    tu_ws_frame_free(&f);
}
#define frame_expect(c, opcode, text, code) frame_expect_at(TU_HERE, c, opcode, text, code)

WF_TEST(ws_handshake_accepted_over_a_socket) {
    /* the accept value of a second key (RFC 6455 4.2.2: base64 of the SHA-1 of key + GUID), as
       Python's hashlib has it; asked before the server starts, whose sockets popen's fork would copy */
    static const char accept2[] = "ICX+Yqv66kxgM0FcWaLWlFLwTAI=";
    char py[64];
    if (tu_python("import base64,hashlib;print(base64.b64encode(hashlib.sha1(b\"AAAAAAAAAAAAAAAAAAAAAA=="
                  "258EAFA5-E914-47DA-95CA-C5AB0DC85B11\").digest()).decode())", py, sizeof py))
        WF_EXPECT_EQ_STR(py, accept2);
    wf_app *app = ws_app();
    int port = serve(app, 2);
    tu_conn c;
    tu_resp r;
    /* token lists in any case, Upgrade in any case, the RFC's example key */
    if (raw_expect(&c, &r, port,
                   GET_ECHO "Upgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n" KEY V13 "\r\n",
                   101, NULL, false)) {
        WF_EXPECT_EQ_STR(hdr(&r, "Sec-WebSocket-Accept"), TU_WS_ACCEPT);
        WF_EXPECT_EQ_STR(hdr(&r, "Upgrade"), "websocket");
        WF_EXPECT_EQ_STR(hdr(&r, "Connection"), "Upgrade");
        WF_EXPECT_EQ_STR(hdr(&r, "X-Hello"), "yes");            /* set on res by the handler */
        WF_EXPECT_EQ_STR(hdr(&r, "Sec-WebSocket-Protocol"), "(absent)");
        echo_check(&c, "hi");
        WF_EXPECT_EQ_INT(tu_ws_send(&c, 0x81, "?proto", 6), 0);
        frame_expect(&c, WF_WS_TEXT, "-", 0);                   /* no subprotocol chosen */
    }
    tu_resp_free(&r);
    tu_close(&c);
    const char *variants[] = {
        GET_ECHO "upgrade: WEBSOCKET\r\nconnection: UPGRADE\r\n" KEY V13 "\r\n",
        GET_ECHO "Upgrade: h2c, websocket\r\nConnection: keep-alive\r\nConnection: upgrade\r\n" KEY V13
        "\r\n",
        GET_ECHO "Upgrade:websocket\r\nConnection:Upgrade,keep-alive\r\n" KEY V13 "\r\n",
    };
    for (int i = 0; i < 3; i++) {
        if (raw_expect(&c, &r, port, variants[i], 101, NULL, false)) {
            WF_EXPECT_EQ_STR(hdr(&r, "Sec-WebSocket-Accept"), TU_WS_ACCEPT);
            echo_check(&c, "again");
        }
        tu_resp_free(&r);
        tu_close(&c);
    }
    /* another key, another accept value */
    if (raw_expect(&c, &r, port, GET_ECHO UPGRADE "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n" V13
                   "\r\n", 101, NULL, false))
        WF_EXPECT_EQ_STR(hdr(&r, "Sec-WebSocket-Accept"), accept2);
    tu_resp_free(&r);
    tu_close(&c);
    tu_stop(app);
}

WF_TEST(ws_handshake_refused_over_a_socket) {
    wf_app *app = ws_app();
    int port = serve(app, 2);
    /* checked before routing */
    raw_status(port, GET_ECHO UPGRADE V13 "\r\n", 400, NULL, true);
    raw_status(port, GET_ECHO UPGRADE "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ\r\n"
               V13 "\r\n", 400, NULL, true);                                /* no padding: 22 characters */
    raw_status(port, GET_ECHO UPGRADE "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA\r\n"
               V13 "\r\n", 400, NULL, true);                                /* 15 bytes */
    raw_status(port, GET_ECHO UPGRADE "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAA=\r\n"
               V13 "\r\n", 400, NULL, true);                                /* 17 bytes */
    raw_status(port, GET_ECHO UPGRADE "Sec-WebSocket-Key: !AAAAAAAAAAAAAAAAAAAAA==\r\n"
               V13 "\r\n", 400, NULL, true);                                /* not base64 */
    raw_status(port, GET_ECHO UPGRADE KEY KEY V13 "\r\n", 400, NULL, true);              /* a key twice */
    raw_status(port, GET_ECHO UPGRADE KEY V13 V13 "\r\n", 400, NULL, true);              /* a version twice */
    raw_status(port, "GET /echo HTTP/1.0\r\nHost: a\r\n" UPGRADE KEY V13 "\r\n", 400, NULL, true);
    raw_status(port, GET_ECHO UPGRADE KEY V13 "Content-Length: 5\r\n\r\nhello", 400, NULL, true);
    raw_status(port, GET_ECHO UPGRADE KEY V13 "Transfer-Encoding: chunked\r\n\r\n"
               "5\r\nhello\r\n0\r\n\r\n", 400, NULL, true);
    tu_conn c;
    tu_resp r;
    raw_expect(&c, &r, port, GET_ECHO UPGRADE KEY "Sec-WebSocket-Version: 8\r\n\r\n", 426, NULL, true);
    WF_EXPECT_EQ_STR(hdr(&r, "Sec-WebSocket-Version"), "13");
    tu_resp_free(&r);
    tu_close(&c);
    /* after routing: no WebSocket route is 403 with an empty body, as Starlette */
    raw_expect(&c, &r, port, HS("/nowhere", ""), 403, "", true);
    WF_EXPECT_EQ_STR(hdr(&r, "Content-Length"), "0");
    tu_resp_free(&r);
    tu_close(&c);
    raw_status(port, HS("/http", ""), 403, "", true);                 /* an HTTP route only */
    raw_status(port, HS("/refuse", ""), 403, "", true);               /* returned without accepting */
    raw_status(port, HS("/items/abc", ""), 403, "", true);            /* a failed path parameter: not 422 */
    raw_status(port, HS("/items/0", ""), 403, "", true);
    raw_status(port, HS("/origin", "Origin: https://evil.example\r\n"), 403, "", true);
    raw_status(port, HS("/origin", ""), 403, "", true);
    raw_status(port, HS("/g/ws", ""), 401, "{\"detail\":\"no\"}", false);  /* a group dependency raised */
    /* a plain GET on a WebSocket route is 404, and so is one whose Upgrade the Connection field does
       not name (RFC 9110 7.8: no upgrade asked); a POST asking to upgrade is plain HTTP */
    raw_status(port, "GET /echo HTTP/1.1\r\nHost: a\r\n\r\n", 404, "{\"detail\":\"Not Found\"}", false);
    raw_status(port, GET_ECHO "Upgrade: websocket\r\nConnection: keep-alive\r\n" KEY V13 "\r\n", 404,
               "{\"detail\":\"Not Found\"}", false);
    if (raw_expect(&c, &r, port, "POST /http HTTP/1.1\r\nHost: a\r\n" UPGRADE KEY V13
                   "Content-Length: 0\r\n\r\n", 200, "http", false)) {
        tu_resp_free(&r);
        WF_EXPECT_EQ_INT(tu_sends(&c, "POST /http HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"), 0);
        WF_EXPECT_EQ_INT(tu_read(&c, &r, false, 5000), 200);            /* still HTTP, kept alive */
    }
    tu_resp_free(&r);
    tu_close(&c);
    /* the ones that pass those checks open */
    if (raw_expect(&c, &r, port, HS("/items/7", ""), 101, NULL, false)) echo_check(&c, "item");
    tu_resp_free(&r);
    tu_close(&c);
    if (raw_expect(&c, &r, port, HS("/origin", "Origin: https://ok.example\r\n"), 101, NULL, false))
        echo_check(&c, "origin");
    tu_resp_free(&r);
    tu_close(&c);
    tu_stop(app);
    WF_EXPECT_EQ_INT(atomic_load(&n_dep_runs), 0);
}

/* Open path with the extra header lines: the 101's Sec-WebSocket-Protocol must be want ("(absent)"
   for none), and the connection must say the same. */
static void subprotocol_at(tu_at at, int port, const char *extra, const char *want) {
    tu_conn c;
    tu_resp r;
    char raw[512];
    snprintf(raw, sizeof raw, "GET /echo HTTP/1.1\r\nHost: a\r\n" UPGRADE KEY V13 "%s\r\n", extra);
    if (raw_expect_at(at, &c, &r, port, raw, 101, NULL, false)) {
        TU_EXPECT_EQ_STR_AT(at, hdr(&r, "Sec-WebSocket-Protocol"), want);
        TU_ASSERT_TRUE_AT(at, tu_ws_send(&c, 0x81, "?proto", 6) == 0);
        frame_expect_at(at, &c, WF_WS_TEXT, strcmp(want, "(absent)") == 0 ? "-" : want, 0);
    }
    tu_resp_free(&r);
    tu_close(&c);
}
#define subprotocol(port, extra, want) subprotocol_at(TU_HERE, port, extra, want)

WF_TEST(ws_handshake_subprotocols_deny_and_group_dependencies_over_a_socket) {
    wf_app *app = ws_app();
    int port = serve(app, 2);
    /* the route speaks chat and superchat: the first the client offers that the route speaks */
    subprotocol(port, "Sec-WebSocket-Protocol: superchat, chat\r\n", "superchat");
    subprotocol(port, "Sec-WebSocket-Protocol: chat, superchat\r\n", "chat");
    subprotocol(port, "Sec-WebSocket-Protocol: other,superchat\r\n", "superchat");
    subprotocol(port, "Sec-WebSocket-Protocol: other\r\nSec-WebSocket-Protocol: chat\r\n", "chat");
    subprotocol(port, "Sec-WebSocket-Protocol: chatty, super\r\n", "(absent)");    /* whole names only */
    subprotocol(port, "", "(absent)");
    /* wf_ws_deny: 101, then the close with its code and reason at once; the server closes TCP once
       the close is answered; the cleanup registered before the deny runs when the socket closes */
    tu_conn c;
    tu_resp r;
    if (raw_expect(&c, &r, port, HS("/deny", ""), 101, NULL, false)) {
        WF_EXPECT_EQ_STR(hdr(&r, "Sec-WebSocket-Accept"), TU_WS_ACCEPT);
        frame_expect(&c, WF_WS_CLOSE, "x", 1008);
        WF_EXPECT_EQ_INT(event_count("cleanup", 1000), 0);
        WF_EXPECT_EQ_INT(tu_ws_send_close(&c, 1008, NULL), 0);
        WF_EXPECT_TRUE(tu_closed(&c, 5000));
    }
    tu_resp_free(&r);
    tu_close(&c);
    WF_EXPECT_TRUE(wait_event("cleanup", 1000, 5000));
    WF_EXPECT_EQ_INT(close_of(0).code, 1008);
    WF_EXPECT_EQ_INT(event_count("cleanup", 1000), 1);
    WF_EXPECT_GT_INT(event_at("cleanup", 1000), event_at("close", 0));
    /* group dependencies run for a WebSocket route: a raise refuses with its status and detail, a
       pass gives the handler its value, and the dependency's cleanup runs when the socket closes */
    raw_status(port, HS("/g/ws", ""), 401, "{\"detail\":\"no\"}", false);
    WF_EXPECT_EQ_INT(atomic_load(&n_dep_runs), 0);
    if (raw_expect(&c, &r, port, HS("/g/ws", "X-Token: t1\r\n"), 101, NULL, false)) {
        frame_expect(&c, WF_WS_TEXT, "token t1", 0);            /* sent by the handler: after the 101 */
        echo_check(&c, "in the group");
        WF_EXPECT_EQ_INT(atomic_load(&n_dep_runs), 1);
        WF_EXPECT_EQ_INT(atomic_load(&n_dep_cleanups), 0);
        WF_EXPECT_EQ_INT(tu_ws_send_close(&c, 1000, "done"), 0);
        frame_expect(&c, WF_WS_CLOSE, "", 1000);
        WF_EXPECT_TRUE(tu_closed(&c, 5000));
    }
    tu_resp_free(&r);
    tu_close(&c);
    WF_EXPECT_TRUE(tu_wait_atomic(&n_dep_cleanups, 1, 5000));
    tu_stop(app);
    WF_EXPECT_EQ_INT(atomic_load(&n_dep_runs), 1);
    WF_EXPECT_EQ_INT(atomic_load(&n_dep_cleanups), 1);
}

/* A request through the test client: its status, and its body into body[cap]. */
static int tc_call(wf_test_client *tc, const char *method, const char *path, const char *const *headers,
                   const char *body, bool http10, char *out, size_t cap) {
    wf_test_req rq = {.method = method, .path = path, .headers = headers, .body = body,
                      .body_len = body ? strlen(body) : 0, .http10 = http10};
    wf_test_res r;
    if (wf_test_request(tc, &rq, &r) < 0) return -1;
    snprintf(out, cap, "%s", r.body ? r.body : "");
    int st = r.status;
    if (st == 426) {
        wf_str v = wf_test_header(&r, "Sec-WebSocket-Version");
        snprintf(out, cap, "%.*s", (int)v.len, v.ptr ? v.ptr : "");
    }
    wf_test_res_free(&r);
    return st;
}

WF_TEST(ws_handshake_through_the_test_client) {
    wf_app *app = ws_app();
    wf_test_client *tc = wf_test_client_new(app, NULL);
    char body[256];
#define H_UP "Upgrade: websocket", "Connection: Upgrade"
#define H_KEY "Sec-WebSocket-Key: " TU_WS_KEY
    const char *nokey[] = {H_UP, "Sec-WebSocket-Version: 13", NULL};
    const char *badkey[] = {H_UP, "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA", "Sec-WebSocket-Version: 13",
                            NULL};
    const char *v8[] = {H_UP, H_KEY, "Sec-WebSocket-Version: 8", NULL};
    const char *good[] = {"Upgrade: WebSocket", "Connection: keep-alive, Upgrade", H_KEY,
                          "Sec-WebSocket-Version: 13", NULL};
    WF_EXPECT_EQ_INT(tc_call(tc, "GET", "/echo", nokey, NULL, false, body, sizeof body), 400);
    WF_EXPECT_EQ_INT(tc_call(tc, "GET", "/echo", badkey, NULL, false, body, sizeof body), 400);
    WF_EXPECT_EQ_INT(tc_call(tc, "GET", "/echo", v8, NULL, false, body, sizeof body), 426);
    WF_EXPECT_EQ_STR(body, "13");
    WF_EXPECT_EQ_INT(tc_call(tc, "GET", "/echo", good, NULL, true, body, sizeof body), 400);  /* HTTP/1.0 */
    WF_EXPECT_EQ_INT(tc_call(tc, "GET", "/echo", good, "hello", false, body, sizeof body), 400);  /* a body */
    WF_EXPECT_EQ_INT(tc_call(tc, "GET", "/nowhere", good, NULL, false, body, sizeof body), 403);
    WF_EXPECT_EQ_STR(body, "");
    WF_EXPECT_EQ_INT(tc_call(tc, "GET", "/refuse", good, NULL, false, body, sizeof body), 403);
    WF_EXPECT_EQ_STR(body, "");
    WF_EXPECT_EQ_INT(tc_call(tc, "GET", "/items/x", good, NULL, false, body, sizeof body), 403);
    WF_EXPECT_EQ_INT(tc_call(tc, "GET", "/origin", good, NULL, false, body, sizeof body), 403);
    WF_EXPECT_EQ_INT(tc_call(tc, "GET", "/g/ws", good, NULL, false, body, sizeof body), 401);
    WF_EXPECT_EQ_STR(body, "{\"detail\":\"no\"}");
    WF_EXPECT_EQ_INT(tc_call(tc, "GET", "/echo", NULL, NULL, false, body, sizeof body), 404);
    const char *no_conn[] = {"Upgrade: websocket", H_KEY, "Sec-WebSocket-Version: 13", NULL};
    WF_EXPECT_EQ_INT(tc_call(tc, "GET", "/echo", no_conn, NULL, false, body, sizeof body), 404);
    WF_EXPECT_EQ_INT(tc_call(tc, "POST", "/http", good, NULL, false, body, sizeof body), 200);
    WF_EXPECT_EQ_STR(body, "http");
    /* what opens */
    int st = 0;
    const char *offer[] = {"Sec-WebSocket-Protocol: superchat, chat", NULL};
    wf_test_ws *w = wf_test_ws_connect(tc, "/echo", offer, &st);
    WF_EXPECT_EQ_INT(st, 101);
    WF_ASSERT_TRUE(w != NULL);
    WF_EXPECT_EQ_INT(wf_test_ws_send_text(w, "?proto"), 0);
    WF_EXPECT_EQ_STR(wf_test_ws_receive_text(w), "superchat");
    wf_test_ws_free(w);
    const char *origin[] = {"Origin: https://ok.example", NULL};
    w = wf_test_ws_connect(tc, "/origin", origin, &st);
    WF_EXPECT_EQ_INT(st, 101);
    wf_test_ws_free(w);
    const char *token[] = {"X-Token: t2", NULL};
    w = wf_test_ws_connect(tc, "/g/ws", token, &st);
    WF_ASSERT_TRUE(w != NULL);
    WF_EXPECT_EQ_STR(wf_test_ws_receive_text(w), "token t2");
    WF_EXPECT_EQ_INT(atomic_load(&n_dep_runs), 1);
    WF_EXPECT_EQ_INT(atomic_load(&n_dep_cleanups), 0);      /* not at the 101: when the socket closes */
    WF_EXPECT_EQ_INT(wf_test_ws_close(w, 1000, NULL), 1000);
    wf_test_ws_free(w);
    WF_EXPECT_EQ_INT(atomic_load(&n_dep_cleanups), 1);
    w = wf_test_ws_connect(tc, "/deny", NULL, &st);
    WF_EXPECT_EQ_INT(st, 101);
    WF_ASSERT_TRUE(w != NULL);
    WF_EXPECT_TRUE(wf_test_ws_receive_text(w) == NULL);
    WF_EXPECT_EQ_INT(wf_test_ws_close_code(w), 1008);
    WF_EXPECT_EQ_STR(wf_test_ws_close_reason(w), "x");
    wf_test_ws_free(w);
    wf_test_client_free(tc);
    wf_app_free(app);
    WF_EXPECT_EQ_INT(event_count("cleanup", 1000), 1);
}

/* ====================================================================== */
/* ---- frames over a socket ---- */

/* Open a WebSocket on path (with ?hello: its id is the first message, read here). Returns the id. */
static int open_at(tu_at at, tu_conn *c, int port, const char *path, const char *extra) {
    char p[256];
    tu_ws_frame f;
    int id = 0;
    snprintf(p, sizeof p, "%s%shello", path, strchr(path, '?') ? "&" : "?");
    TU_ASSERT_TRUE_AT(at, tu_ws_open(c, port, p, extra));
    TU_ASSERT_TRUE_AT(at, tu_ws_read(c, &f, 5000) == 1);
    TU_EXPECT_TRUE_AT(at, sscanf(f.data, "id %d", &id) == 1);
    tu_ws_frame_free(&f);
    TU_ASSERT_GT_INT_AT(at, id, 0);
    return id;
}
#define open_ws(c, port, path, extra) open_at(TU_HERE, c, port, path, extra)

/* A payload of n bytes: printable ASCII with a euro sign (3 bytes) every 64 for text, any bytes
   for binary. */
static char *payload(size_t n, bool text) {
    char *p = malloc(n + 1);
    WF_ASSERT_TRUE(p != NULL);
    for (size_t i = 0; i < n; i++) p[i] = text ? (char)('a' + i % 26) : (char)(i * 7 + 3);
    for (size_t i = 0; text && i + 3 <= n; i += 64) memcpy(p + i, "\xE2\x82\xAC", 3);
    p[n] = 0;
    return p;
}

WF_TEST(ws_echo_of_every_length_form_over_a_socket) {
    wf_app *app = ws_app();
    int port = serve(app, 2);
    tu_conn c;
    open_ws(&c, port, "/echo", NULL);
    static const size_t lens[] = {0, 1, 125, 126, 127, 65535, 65536, 1 << 20};
    for (int bin = 0; bin < 2; bin++)
        for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
            char *p = payload(lens[i], !bin);
            tu_ws_frame f;
            WF_ASSERT_EQ_INT(tu_ws_send(&c, bin ? 0x82 : 0x81, p, lens[i]), 0);
            int rc = tu_ws_read(&c, &f, 10000);           /* the reader checks the length form */
            WF_EXPECT_EQ_INT(rc, 1);
            if (rc == 1) {
                WF_EXPECT_EQ_INT(f.opcode, bin ? WF_WS_BINARY : WF_WS_TEXT);
                WF_EXPECT_TRUE(f.fin);
                WF_EXPECT_EQ_SIZE(f.len, lens[i]);
                WF_EXPECT_TRUE(f.len == lens[i] && memcmp(f.data, p, lens[i]) == 0);
                if (wf_test_failed()) wf_test_log("%s of %zu bytes", bin ? "binary" : "text", lens[i]);
            }
            tu_ws_frame_free(&f);
            free(p);
        }
    tu_close(&c);
    tu_stop(app);
}

WF_TEST(ws_echo_of_every_length_form_through_the_test_client) {
    wf_app *app = ws_app();
    wf_test_client *tc = wf_test_client_new(app, NULL);
    wf_test_ws *w = wf_test_ws_connect(tc, "/echo", NULL, NULL);
    WF_ASSERT_TRUE(w != NULL);
    static const size_t lens[] = {0, 125, 126, 65535, 65536, 1 << 20};
    for (int bin = 0; bin < 2; bin++)
        for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
            char *p = payload(lens[i], !bin);
            const char *d = NULL;
            size_t n = 0;
            WF_EXPECT_EQ_INT(bin ? wf_test_ws_send_binary(w, p, lens[i]) : wf_test_ws_send_text(w, p), 0);
            WF_EXPECT_EQ_INT(wf_test_ws_receive(w, &d, &n, 10000), bin ? WF_WS_BINARY : WF_WS_TEXT);
            WF_EXPECT_EQ_SIZE(n, lens[i]);
            WF_EXPECT_TRUE(n == lens[i] && (n == 0 || memcmp(d, p, n) == 0));
            free(p);
        }
    WF_EXPECT_EQ_INT(wf_test_ws_close(w, 3001, "done"), 3001);
    wf_test_ws_free(w);
    WF_EXPECT_EQ_INT(close_of(1).code, 3001);
    WF_EXPECT_EQ_STR(close_of(1).reason, "done");
    wf_test_client_free(tc);
    wf_app_free(app);
}

/* Frames into one buffer, sent with one write: b0 and payload pairs, masked. */
static void send_frames_at(tu_at at, tu_conn *c, int n, const unsigned *b0, const char *const *pl) {
    char buf[4096];
    size_t len = 0;
    static const uint8_t mask[4] = {0xA1, 0x5B, 0x00, 0xFE};
    for (int i = 0; i < n; i++) {
        size_t size;
        char *f = tu_ws_encode(b0[i], strlen(pl[i]), pl[i], strlen(pl[i]), mask, &size);
        TU_ASSERT_TRUE_AT(at, len + size <= sizeof buf);
        memcpy(buf + len, f, size);
        len += size;
        free(f);
    }
    TU_ASSERT_TRUE_AT(at, tu_send(c, buf, len) == 0);
}
#define send_frames(c, b0, pl) send_frames_at(TU_HERE, c, (int)(sizeof(b0) / sizeof(b0)[0]), b0, pl)

WF_TEST(ws_fragments_and_frames_in_pieces_over_a_socket) {
    wf_app *app = ws_app();
    int port = serve(app, 2);
    tu_conn c;
    open_ws(&c, port, "/echo", NULL);
    /* a ping between the fragments of a message: the pong comes first, then the message */
    const unsigned b1[] = {0x01, 0x89, 0x00, 0x80};
    const char *p1[] = {"Hel", "ping!", "l", "o"};
    send_frames(&c, b1, p1);
    frame_expect(&c, WF_WS_PONG, "ping!", 0);
    frame_expect(&c, WF_WS_TEXT, "Hello", 0);
    /* an unasked pong among binary fragments is ignored; a character split between fragments */
    const unsigned b2[] = {0x02, 0x8A, 0x80, 0x01, 0x00, 0x80};
    const char *p2[] = {"bi", "pong", "nary", "a\xE2", "\x82", "\xAC\x62"};
    send_frames(&c, b2, p2);
    frame_expect(&c, WF_WS_BINARY, "binary", 0);
    frame_expect(&c, WF_WS_TEXT, "a\xE2\x82\xAC" "b", 0);
    /* frames in pieces, each read by the server before the next is sent: a head (16-bit length)
       octet by octet, then its payload in 13-byte pieces; a 64-bit length's head octet by octet,
       then its payload in 8000-byte pieces */
    int sfd = tu_server_fd(&c);
    WF_ASSERT_GE_INT(sfd, 0);
    char *p = payload(130, true);
    size_t size;
    uint8_t mask[4] = {1, 2, 3, 4};
    char *f = tu_ws_encode(0x81, 130, p, 130, mask, &size);
    for (size_t i = 0, step; i < size; i += step) {
        step = i < 8 ? 1 : 13;
        WF_ASSERT_EQ_INT(tu_send(&c, f + i, size - i < step ? size - i : step), 0);
        WF_ASSERT_TRUE(tu_server_drained(&c, sfd, 5000));
    }
    frame_expect(&c, WF_WS_TEXT, p, 0);
    free(f);
    free(p);
    p = payload(70000, false);
    f = tu_ws_encode(0x82, 70000, p, 70000, mask, &size);
    for (size_t i = 0, step; i < size; i += step) {
        step = i < 14 ? 1 : 8000;
        WF_ASSERT_EQ_INT(tu_send(&c, f + i, size - i < step ? size - i : step), 0);
        WF_ASSERT_TRUE(tu_server_drained(&c, sfd, 5000));
    }
    tu_ws_frame got;
    WF_ASSERT_EQ_INT(tu_ws_read(&c, &got, 5000), 1);
    WF_EXPECT_EQ_INT(got.opcode, WF_WS_BINARY);
    WF_EXPECT_TRUE(got.len == 70000 && memcmp(got.data, p, 70000) == 0);
    tu_ws_frame_free(&got);
    free(f);
    free(p);
    echo_check(&c, "still in step");
    tu_close(&c);
    tu_stop(app);
}

/* A frame with its length in a longer form than needed (16 or 64 bits), masked. */
static char *long_form(unsigned b0, const char *p, size_t n, bool bits64, size_t *size) {
    static const uint8_t mask[4] = {9, 8, 7, 6};
    char *f = malloc(14 + n);
    WF_ASSERT_TRUE(f != NULL);
    size_t h = 2;
    f[0] = (char)b0;
    f[1] = (char)(0x80 | (bits64 ? 127 : 126));
    for (int k = bits64 ? 7 : 1; k >= 0; k--) f[h++] = (char)(n >> (8 * k));
    memcpy(f + h, mask, 4);
    h += 4;
    for (size_t i = 0; i < n; i++) f[h + i] = (char)(p[i] ^ mask[i % 4]);
    *size = h + n;
    return f;
}

WF_TEST(ws_protocol_failures_close_with_their_codes_over_a_socket) {
    wf_app *app = ws_app();
    int port = serve(app, 2);
    static const uint8_t m[4] = {0x11, 0x22, 0x33, 0x44};
    char big[600];
    memset(big, 'b', sizeof big);
    struct {
        const char *what, *path;
        char *bytes;
        size_t n;
        int code;
    } cases[24];
    int nc = 0;
#define CASE(w, p, code_, expr)                                                           \
    do {                                                                                  \
        cases[nc].what = w;                                                               \
        cases[nc].path = p;                                                               \
        cases[nc].code = code_;                                                           \
        cases[nc].bytes = expr;                                                           \
        nc++;                                                                             \
    } while (0)
#define ENC(b0_, len_, p_, n_, mask_) tu_ws_encode(b0_, len_, p_, n_, mask_, &cases[nc].n)
    CASE("an unmasked frame", "/echo", 1002, ENC(0x81, 2, "hi", 2, NULL));
    CASE("bad UTF-8", "/echo", 1007, ENC(0x81, 2, "a\xFF", 2, m));
    CASE("bad UTF-8 in a first fragment", "/echo", 1007, ENC(0x01, 3, "ab\xC0", 3, m));
    CASE("a surrogate", "/echo", 1007, ENC(0x81, 3, "\xED\xA0\x80", 3, m));
    CASE("the head of a 1001-byte message", "/small", 1009, ENC(0x82, 1001, NULL, 0, m));
    CASE("the head of a 1 GiB message", "/small", 1009, ENC(0x82, 1u << 30, NULL, 0, m));
    CASE("a 64-bit length with its high bit set", "/echo", 1002, ENC(0x82, (uint64_t)1 << 63, NULL, 0, m));
    CASE("close 1005", "/echo", 1002, ENC(0x88, 2, "\x03\xED", 2, m));
    CASE("close 1006", "/echo", 1002, ENC(0x88, 2, "\x03\xEE", 2, m));
    CASE("close 999", "/echo", 1002, ENC(0x88, 2, "\x03\xE7", 2, m));
    CASE("close 5000", "/echo", 1002, ENC(0x88, 2, "\x13\x88", 2, m));
    CASE("a close of one byte", "/echo", 1002, ENC(0x88, 1, "\x03", 1, m));
    CASE("a close reason in bad UTF-8", "/echo", 1007, ENC(0x88, 4, "\x03\xE8" "a\xFF", 4, m));
    CASE("RSV1", "/echo", 1002, ENC(0xC1, 1, "x", 1, m));
    CASE("RSV3", "/echo", 1002, ENC(0x92, 1, "x", 1, m));
    CASE("opcode 3", "/echo", 1002, ENC(0x83, 1, "x", 1, m));
    CASE("opcode 11", "/echo", 1002, ENC(0x8B, 1, "x", 1, m));
    CASE("a fragmented ping", "/echo", 1002, ENC(0x09, 1, "x", 1, m));
    CASE("a ping of 126 bytes", "/echo", 1002, ENC(0x89, 126, big, 126, m));
    CASE("a continuation of nothing", "/echo", 1002, ENC(0x80, 1, "x", 1, m));
    CASE("a 16-bit length for 5 bytes", "/echo", 1002, long_form(0x81, "hello", 5, false, &cases[nc].n));
    CASE("a 64-bit length for 200 bytes", "/echo", 1002, long_form(0x82, big, 200, true, &cases[nc].n));
    for (int i = 0; i < nc; i++) {
        tu_conn c;
        tu_ws_frame f;
        int id = open_ws(&c, port, cases[i].path, NULL);
        WF_ASSERT_EQ_INT(tu_send(&c, cases[i].bytes, cases[i].n), 0);
        int rc = tu_ws_read(&c, &f, 5000);
        WF_EXPECT_EQ_INT(rc, 1);
        WF_EXPECT_EQ_INT(f.opcode, WF_WS_CLOSE);
        WF_EXPECT_EQ_INT(f.code, cases[i].code);
        WF_EXPECT_TRUE(tu_closed(&c, 5000));            /* then the server closes TCP */
        tu_ws_frame_free(&f);
        tu_close(&c);
        WF_EXPECT_TRUE(wait_event("close", id, 5000));
        WF_EXPECT_EQ_INT(close_of(id).code, cases[i].code);  /* on_close gets the code it closed with */
        if (wf_test_failed()) {
            wf_test_log("case %d: %s", i, cases[i].what);
            break;
        }
    }
    /* more fragments than max_message allows: 1009 at the head of the one that passes it */
    tu_conn c;
    int id = open_ws(&c, port, "/small", NULL);
    size_t n;
    char *f = tu_ws_encode(0x02, 600, big, 600, m, &n);
    WF_EXPECT_EQ_INT(tu_send(&c, f, n), 0);
    WF_ASSERT_TRUE(tu_server_drained(&c, tu_server_fd(&c), 5000));     /* taken: the 1009 comes next */
    free(f);
    f = tu_ws_encode(0x80, 401, NULL, 0, m, &n);
    WF_EXPECT_EQ_INT(tu_send(&c, f, n), 0);
    free(f);
    frame_expect(&c, WF_WS_CLOSE, "", 1009);
    WF_EXPECT_TRUE(tu_closed(&c, 5000));
    tu_close(&c);
    /* up to max_message is fine */
    int id2 = open_ws(&c, port, "/small", NULL);
    char *p = payload(1000, true);
    WF_EXPECT_EQ_INT(tu_ws_send(&c, 0x81, p, 1000), 0);
    frame_expect(&c, WF_WS_TEXT, p, 0);
    free(p);
    tu_close(&c);
    WF_EXPECT_TRUE(wait_event("close", id2, 5000));
    tu_stop(app);
    WF_EXPECT_EQ_INT(close_of(id).code, 1009);
    WF_EXPECT_EQ_INT(close_of(id2).code, 1006);
    for (int i = 0; i < nc; i++) free(cases[i].bytes);
    WF_EXPECT_EQ_INT(atomic_load(&n_messages), 1);        /* no message got through but the last */
    WF_EXPECT_EQ_INT(atomic_load(&n_closed), atomic_load(&n_open));
}

WF_TEST(ws_peer_close_is_answered_and_the_server_closes_first_over_a_socket) {
    wf_app *app = ws_app();
    int port = serve(app, 2);
    tu_conn c;
    /* close 3000 "bye": the server answers 3000 and closes TCP first (an end of stream while this
       side has not closed); on_close gets the peer's code and reason */
    int a = open_ws(&c, port, "/echo", NULL);
    echo_check(&c, "before");
    WF_EXPECT_EQ_INT(tu_ws_send_close(&c, 3000, "bye"), 0);
    frame_expect(&c, WF_WS_CLOSE, "", 3000);
    WF_EXPECT_TRUE(tu_closed(&c, 5000));
    tu_close(&c);
    WF_EXPECT_TRUE(wait_event("close", a, 5000));
    WF_EXPECT_EQ_INT(close_of(a).code, 3000);
    WF_EXPECT_EQ_STR(close_of(a).reason, "bye");
    WF_EXPECT_EQ_INT(close_of(a).late_send, WF_ESTOPPED);   /* sending in on_close is refused */
    /* data after the close is ignored: no echo, only the close's answer, then the end */
    int before = atomic_load(&n_messages);
    int b = open_ws(&c, port, "/echo", NULL);
    const unsigned b0[] = {0x88, 0x81, 0x82};
    const char *pl[] = {"\x03\xE8", "after", "more"};
    send_frames(&c, b0, pl);
    frame_expect(&c, WF_WS_CLOSE, "", 1000);
    tu_ws_frame f;
    WF_EXPECT_EQ_INT(tu_ws_read(&c, &f, 5000), 0);          /* the end, no frame before it */
    tu_ws_frame_free(&f);
    tu_close(&c);
    WF_EXPECT_TRUE(wait_event("close", b, 5000));
    WF_EXPECT_EQ_INT(close_of(b).code, 1000);
    WF_EXPECT_EQ_INT(atomic_load(&n_messages), before);
    /* a close without a code is answered without one; on_close gets 1005 */
    int d = open_ws(&c, port, "/echo", NULL);
    WF_EXPECT_EQ_INT(tu_ws_send_close(&c, 0, NULL), 0);
    WF_ASSERT_EQ_INT(tu_ws_read(&c, &f, 5000), 1);
    WF_EXPECT_EQ_INT(f.opcode, WF_WS_CLOSE);
    WF_EXPECT_EQ_SIZE(f.len, 0);
    tu_ws_frame_free(&f);
    WF_EXPECT_TRUE(tu_closed(&c, 5000));
    tu_close(&c);
    WF_EXPECT_TRUE(wait_event("close", d, 5000));
    WF_EXPECT_EQ_INT(close_of(d).code, 1005);
    /* a client that answers the server's close, after which nothing: on_close gets the server's
       code 4000 "bye" (wf_ws_close from on_message) echoed back */
    int e = open_ws(&c, port, "/echo", NULL);
    WF_EXPECT_EQ_INT(tu_ws_send(&c, 0x81, "close-me", 8), 0);
    frame_expect(&c, WF_WS_CLOSE, "bye", 4000);
    WF_EXPECT_EQ_INT(tu_ws_send_close(&c, 4000, NULL), 0);
    WF_EXPECT_TRUE(tu_closed(&c, 5000));
    tu_close(&c);
    WF_EXPECT_TRUE(wait_event("close", e, 5000));
    WF_EXPECT_EQ_INT(close_of(e).code, 4000);
    tu_stop(app);
    WF_EXPECT_EQ_INT(event_count("close", a) + event_count("close", b) + event_count("close", d), 3);
    WF_EXPECT_EQ_INT(event_count("close", e), 1);
}

/* ====================================================================== */
/* ---- callbacks, cleanups, shutdown ---- */

/* Connection id has ended: on_close once, before the cleanup of its handshake and its user's free,
   each once too. */
static void ended_once_at(tu_at at, int id, int code) {
    TU_EXPECT_TRUE_AT(at, wait_event("cleanup", id, 5000));
    TU_EXPECT_TRUE_AT(at, wait_event("free", id, 5000));
    TU_EXPECT_EQ_INT_AT(at, event_count("close", id), 1);
    TU_EXPECT_EQ_INT_AT(at, event_count("cleanup", id), 1);
    TU_EXPECT_EQ_INT_AT(at, event_count("free", id), 1);
    TU_EXPECT_EQ_INT_AT(at, close_of(id).code, code);
    TU_EXPECT_EQ_INT_AT(at, close_of(id).late_send, WF_ESTOPPED);
    TU_EXPECT_TRUE_AT(at, event_at("close", id) >= 0 && event_at("close", id) < event_at("cleanup", id));
    TU_EXPECT_TRUE_AT(at, event_at("close", id) < event_at("free", id));
}
#define ended_once(id, code) ended_once_at(TU_HERE, id, code)

WF_TEST(ws_on_close_once_and_cleanups_when_the_socket_closes_over_a_socket) {
    wf_app *app = ws_app();
    int port = serve(app, 2);
    tu_conn a, b, g;
    int ia = open_ws(&a, port, "/echo", NULL), ib = open_ws(&b, port, "/echo", NULL);
    int ig = open_ws(&g, port, "/g/ws", "X-Token: t3\r\n");
    frame_expect(&g, WF_WS_TEXT, "token t3", 0);
    echo_check(&a, "a");
    echo_check(&b, "b");
    echo_check(&g, "g");
    /* open, and past their 101s: nothing has ended yet */
    WF_EXPECT_EQ_INT(atomic_load(&n_closed), 0);
    WF_EXPECT_EQ_INT(atomic_load(&n_cleanups), 0);
    WF_EXPECT_EQ_INT(atomic_load(&n_dep_cleanups), 0);
    WF_EXPECT_EQ_INT(atomic_load(&n_freed), 0);
    tu_close(&a);                           /* gone without a close frame: 1006 */
    ended_once(ia, 1006);
    WF_EXPECT_EQ_INT(atomic_load(&n_closed), 1);
    tu_reset(&b);                           /* reset: 1006 too */
    ended_once(ib, 1006);
    tu_close(&g);                           /* the group dependency's cleanup runs after on_close too */
    ended_once(ig, 1006);
    WF_EXPECT_TRUE(tu_wait_atomic(&n_dep_cleanups, 1, 5000));
    WF_EXPECT_GT_INT(event_at("dep-cleanup", 0), event_at("close", ig));
    tu_stop(app);
    WF_EXPECT_EQ_INT(atomic_load(&n_closed), 3);          /* once each, also after the stop */
    WF_EXPECT_EQ_INT(atomic_load(&n_cleanups), 3);
    WF_EXPECT_EQ_INT(atomic_load(&n_freed), 3);
    WF_EXPECT_EQ_INT(atomic_load(&n_dep_cleanups), 1);
}

WF_TEST(ws_on_close_once_and_cleanups_through_the_test_client) {
    wf_app *app = ws_app();
    wf_test_client *tc = wf_test_client_new(app, NULL);
    wf_test_ws *a = wf_test_ws_connect(tc, "/echo", NULL, NULL);
    wf_test_ws *b = wf_test_ws_connect(tc, "/echo", NULL, NULL);
    WF_ASSERT_TRUE(a && b);
    WF_EXPECT_EQ_INT(wf_test_ws_send_text(a, "x"), 0);
    WF_EXPECT_EQ_STR(wf_test_ws_receive_text(a), "x");
    WF_EXPECT_EQ_INT(atomic_load(&n_cleanups), 0);
    WF_EXPECT_EQ_INT(wf_test_ws_close(a, 3333, "over"), 3333);
    wf_test_ws_free(a);
    ended_once(1, 3333);
    WF_EXPECT_EQ_STR(close_of(1).reason, "over");
    wf_test_ws_free(b);                     /* without a close frame */
    ended_once(2, 1006);
    wf_test_client_free(tc);
    wf_app_free(app);
    WF_EXPECT_EQ_INT(atomic_load(&n_closed), 2);
}

WF_TEST(ws_shutdown_closes_1001_and_on_close_runs_before_wf_wait_returns) {
    wf_app *app = ws_app();
    int port = tu_serve(app, &(wf_config){.threads = 2, .shutdown_grace_ms = 1000});
    WF_ASSERT_GT_INT(port, 0);
    tu_conn a, b;
    int ia = open_ws(&a, port, "/echo", NULL);
    int ib = open_ws(&b, port, "/g/ws", "X-Token: t4\r\n");
    frame_expect(&b, WF_WS_TEXT, "token t4", 0);
    echo_check(&a, "a");
    echo_check(&b, "b");
    WF_EXPECT_EQ_INT(atomic_load(&n_cleanups), 0);
    wf_stop(app);
    /* a answers the server's close and sees the server close TCP; b never answers */
    frame_expect(&a, WF_WS_CLOSE, "server shutdown", 1001);
    WF_EXPECT_EQ_INT(tu_ws_send_close(&a, 1001, NULL), 0);
    WF_EXPECT_TRUE(tu_closed(&a, 5000));
    frame_expect(&b, WF_WS_CLOSE, "server shutdown", 1001);
    WF_EXPECT_EQ_INT(wf_wait(app), 0);
    /* everything ran before wf_wait returned: no waiting here */
    WF_EXPECT_EQ_INT(atomic_load(&n_closed), 2);
    WF_EXPECT_EQ_INT(close_of(ia).code, 1001);
    WF_EXPECT_EQ_INT(close_of(ib).code, 1001);
    WF_EXPECT_EQ_INT(atomic_load(&n_cleanups), 2);
    WF_EXPECT_EQ_INT(atomic_load(&n_dep_cleanups), 1);
    WF_EXPECT_EQ_INT(atomic_load(&n_freed), 2);
    ended_once(ia, 1001);
    ended_once(ib, 1001);
    WF_EXPECT_TRUE(tu_closed(&b, 5000));
    tu_close(&a);
    tu_close(&b);
    wf_app_free(app);
}

/* ====================================================================== */
/* ---- sending from other threads ---- */

typedef struct sender {
    wf_ws *ws;
    int n;                      /* messages to send (numbered "t 0", "t 1", ...) */
    atomic_int sent;            /* calls made so far */
    int bad;                    /* calls that gave what they must not */
    int after;                  /* calls made after on_close was seen (each refused) */
    int id;                     /* the connection's */
} sender;

static void *send_numbered(void *arg) {
    sender *s = arg;
    for (int i = 0; i < s->n; i++) {
        char m[32];
        snprintf(m, sizeof m, "t %d", i);
        if (wf_ws_send_text(s->ws, m, strlen(m)) != 0) s->bad++;
        atomic_fetch_add(&s->sent, 1);
    }
    return NULL;
}

/* Hold the connection on c (it answers "held"): the handle, retained for this thread. */
static wf_ws *hold_at(tu_at at, tu_conn *c) {
    TU_ASSERT_TRUE_AT(at, tu_ws_send(c, 0x81, "hold", 4) == 0);
    frame_expect_at(at, c, WF_WS_TEXT, "held", 0);
    wf_ws *ws = atomic_exchange(&held, NULL);
    TU_ASSERT_TRUE_AT(at, ws != NULL);
    return ws;
}
#define hold(c) hold_at(TU_HERE, c)

WF_TEST(ws_sends_from_another_thread_arrive_in_order_over_a_socket) {
    wf_app *app = ws_app();
    int port = serve(app, 2);
    tu_conn c;
    int id = open_ws(&c, port, "/echo", NULL);
    sender s = {.ws = hold(&c), .n = 1000};
    pthread_t t;
    WF_ASSERT_EQ_INT(pthread_create(&t, NULL, send_numbered, &s), 0);
    enum { ECHOES = 200 };
    for (int i = 0; i < ECHOES; i++) {                  /* the loop echoes meanwhile */
        char m[32];
        snprintf(m, sizeof m, "e %d", i);
        WF_EXPECT_EQ_INT(tu_ws_send(&c, 0x81, m, strlen(m)), 0);
    }
    int next_t = 0, next_e = 0, other = 0;
    while ((next_t < s.n || next_e < ECHOES) && other == 0) {
        tu_ws_frame f;
        int rc = tu_ws_read(&c, &f, 10000), k = -1;
        if (rc != 1) {
            wf_test_log("read gave %d after t %d, e %d", rc, next_t, next_e);
            other++;
        } else if (sscanf(f.data, "t %d", &k) == 1 && f.opcode == WF_WS_TEXT) {
            if (k != next_t) wf_test_log("t %d came when t %d was next", k, next_t);
            other += k != next_t;
            next_t++;
        } else if (sscanf(f.data, "e %d", &k) == 1 && f.opcode == WF_WS_TEXT) {
            if (k != next_e) wf_test_log("e %d came when e %d was next", k, next_e);
            other += k != next_e;
            next_e++;
        } else {
            wf_test_log("unexpected frame: opcode %d \"%s\"", f.opcode, f.data);
            other++;
        }
        tu_ws_frame_free(&f);
    }
    pthread_join(t, NULL);
    WF_EXPECT_EQ_INT(s.bad, 0);
    WF_EXPECT_EQ_INT(other, 0);
    WF_EXPECT_EQ_INT(next_t, 1000);
    WF_EXPECT_EQ_INT(next_e, ECHOES);
    WF_EXPECT_EQ_INT(tu_ws_send_close(&c, 1000, NULL), 0);
    frame_expect(&c, WF_WS_CLOSE, "", 1000);
    WF_EXPECT_TRUE(tu_closed(&c, 5000));
    tu_close(&c);
    WF_EXPECT_TRUE(wait_event("close", id, 5000));
    WF_EXPECT_TRUE(wait_event("cleanup", id, 5000));
    WF_EXPECT_EQ_INT(event_count("free", id), 0);           /* still retained */
    wf_ws_release(s.ws);
    WF_EXPECT_EQ_INT(event_count("free", id), 1);
    tu_stop(app);
}

WF_TEST(ws_sends_from_another_thread_through_the_test_client) {
    wf_app *app = ws_app();
    wf_test_client *tc = wf_test_client_new(app, NULL);
    wf_test_ws *w = wf_test_ws_connect(tc, "/echo", NULL, NULL);
    WF_ASSERT_TRUE(w != NULL);
    WF_EXPECT_EQ_INT(wf_test_ws_send_text(w, "hold"), 0);
    WF_EXPECT_EQ_STR(wf_test_ws_receive_text(w), "held");
    sender s = {.ws = atomic_exchange(&held, NULL), .n = 300};
    WF_ASSERT_TRUE(s.ws != NULL);
    pthread_t t;
    WF_ASSERT_EQ_INT(pthread_create(&t, NULL, send_numbered, &s), 0);
    for (int i = 0; i < s.n; i++) {
        char want[32];
        snprintf(want, sizeof want, "t %d", i);
        const char *got = wf_test_ws_receive_text(w);
        WF_EXPECT_EQ_STR(got, want);
        if (!got || strcmp(got, want) != 0) break;
    }
    pthread_join(t, NULL);
    WF_EXPECT_EQ_INT(s.bad, 0);
    wf_test_ws_free(w);
    WF_EXPECT_EQ_INT(event_count("close", 1), 1);
    WF_EXPECT_EQ_INT(event_count("free", 1), 0);
    wf_ws_release(s.ws);
    WF_EXPECT_EQ_INT(event_count("free", 1), 1);
    wf_test_client_free(tc);
    wf_app_free(app);
}

/* Send to a connection that will close under it: until on_close has been seen each call is
   accepted or refused; after it, every call (send, binary, close) is refused, 1000 times over. */
static void *send_past_close(void *arg) {
    sender *s = arg;
    while (s->after < 1000) {
        bool closed = event_at("close", s->id) >= 0;
        int rc = wf_ws_send_text(s->ws, "x", 1), rb = 0, rclose = 0;
        if (closed) {
            rb = wf_ws_send_binary(s->ws, "y", 1);
            rclose = wf_ws_close(s->ws, 1000, NULL);
        }
        if (closed ? rc != WF_ESTOPPED || rb != WF_ESTOPPED || rclose != WF_ESTOPPED
                   : rc != 0 && rc != WF_ESTOPPED)
            s->bad++;
        s->after += closed;
        atomic_fetch_add(&s->sent, 1);
    }
    return NULL;
}

WF_TEST(ws_retained_handle_outlives_its_connection_over_a_socket) {
    wf_app *app = ws_app();
    int port = serve(app, 2);
    for (int round = 0; round < 2; round++) {   /* the peer leaves with a FIN, then with a reset */
        tu_conn c;
        int id = open_ws(&c, port, "/echo", NULL);
        sender s[3];
        pthread_t t[3];
        wf_ws *ws = hold(&c);
        for (int i = 0; i < 3; i++) {
            memset(&s[i], 0, sizeof s[i]);
            s[i].ws = ws;
            s[i].id = id;
            WF_ASSERT_EQ_INT(pthread_create(&t[i], NULL, send_past_close, &s[i]), 0);
        }
        for (int i = 0; i < 3; i++) WF_EXPECT_TRUE(tu_wait_atomic(&s[i].sent, 100, 5000));
        if (round == 0) tu_close(&c);
        else tu_reset(&c);
        for (int i = 0; i < 3; i++) {
            pthread_join(t[i], NULL);
            WF_EXPECT_EQ_INT(s[i].bad, 0);
        }
        WF_EXPECT_EQ_INT(close_of(id).code, 1006);
        WF_EXPECT_TRUE(wait_event("cleanup", id, 5000));
        WF_EXPECT_EQ_INT(event_count("free", id), 0);       /* the user lives while the handle does */
        WF_EXPECT_EQ_INT(wf_ws_send_text(ws, "z", 1), WF_ESTOPPED);
        wf_ws_release(ws);                  /* the last reference goes once the loop has dropped the */
        WF_EXPECT_TRUE(wait_event("free", id, 5000));      /* sends it still held */
        WF_EXPECT_EQ_INT(event_count("free", id), 1);
        WF_EXPECT_EQ_INT(event_count("close", id), 1);
    }
    tu_stop(app);
}

/* ====================================================================== */
/* ---- rooms ---- */

static wf_room *the_room;           /* set before the server starts, freed after it stopped */
static pthread_mutex_t threads_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_t loop_threads[8];
static int n_loop_threads;
static atomic_int n_join_failed;

/* The loop threads that ran handshakes. */
static void note_thread(void) {
    pthread_mutex_lock(&threads_mu);
    bool known = false;
    for (int i = 0; i < n_loop_threads; i++) known = known || pthread_equal(loop_threads[i], pthread_self());
    if (!known && n_loop_threads < 8) loop_threads[n_loop_threads++] = pthread_self();
    pthread_mutex_unlock(&threads_mu);
}

static int loop_threads_seen(void) {
    pthread_mutex_lock(&threads_mu);
    int n = n_loop_threads;
    pthread_mutex_unlock(&threads_mu);
    return n;
}

/* Every message goes to the whole room, its sender included. */
static void room_message(wf_ws *ws, int opcode, const char *data, size_t len) {
    (void)ws;
    if (opcode == WF_WS_TEXT) wf_room_broadcast_text(the_room, data, len);
    else wf_room_broadcast_binary(the_room, data, len);
}

static const wf_ws_opts room_ws = {.on_message = room_message, .on_close = rec_close};
static const wf_ws_opts slow_ws = {.on_message = room_message, .on_close = rec_close, .max_queue = 65536};

/* Join the room; with ?greet, broadcast "joined <count>" from the handler (the new member gets it
   after its 101). */
static void h_room(wf_req *req, wf_res *res) {
    wf_ws *ws = accept_tracked(req, res);
    note_thread();
    if (wf_room_join(the_room, ws) != 0) atomic_fetch_add(&n_join_failed, 1);
    if (wf_param(req, WF_IN_QUERY, "greet").ptr) {
        char m[32];
        snprintf(m, sizeof m, "joined %d", wf_room_count(the_room));
        wf_room_broadcast_text(the_room, m, strlen(m));
    }
}

static wf_app *room_app(void) {
    the_room = wf_room_new();
    WF_ASSERT_TRUE(the_room != NULL);
    wf_app *app = wf_app_new();
    WF_ASSERT_TRUE(app != NULL);
    WF_ASSERT_EQ_INT(wf_websocket(app, "/room", h_room, &room_ws), 0);
    WF_ASSERT_EQ_INT(wf_websocket(app, "/room-slow", h_room, &slow_ws), 0);
    WF_ASSERT_EQ_INT(wf_websocket(app, "/room-echo", h_room, &echo_ws), 0);   /* members that echo */
    return app;
}

/* Every connection in c[from..to) reads the next frame: text want. */
static void all_read_at(tu_at at, tu_conn *c, int from, int to, const char *want) {
    for (int i = from; i < to; i++) {
        tu_ws_frame f;
        int rc = tu_ws_read(&c[i], &f, 5000);
        bool ok = TU_EXPECT_EQ_INT_AT(at, rc, 1) && TU_EXPECT_EQ_STR_AT(at, f.data, want);
        tu_ws_frame_free(&f);
        if (!ok) {
            wf_test_log("connection %d", i);
            break;
        }
    }
}
#define all_read(c, from, to, want) all_read_at(TU_HERE, c, from, to, want)

WF_TEST(ws_room_of_50_on_two_loop_threads_over_a_socket) {
    enum { N = 50, LEAVE = 10 };
    wf_app *app = room_app();
    int port = serve(app, 2);
    tu_conn c[N];
    for (int i = 0; i < N; i++) open_ws(&c[i], port, "/room", NULL);
    WF_EXPECT_EQ_INT(wf_room_count(the_room), N);
    WF_EXPECT_EQ_INT(atomic_load(&n_join_failed), 0);
    WF_EXPECT_EQ_INT(loop_threads_seen(), 2);               /* the kernel spread them: both loops */
    /* from this thread, a third: each member gets each broadcast once, in order */
    WF_EXPECT_EQ_INT(wf_room_broadcast_text(the_room, "all 1", 5), N);
    WF_EXPECT_EQ_INT(wf_room_broadcast_binary(the_room, "all 2", 5), N);
    WF_EXPECT_EQ_INT(wf_room_broadcast_text(the_room, "bad \xFF", 5), WF_EINVAL);
    all_read(c, 0, N, "all 1");
    all_read(c, 0, N, "all 2");
    /* from a member's on_message: to everyone, the sender too */
    WF_EXPECT_EQ_INT(tu_ws_send(&c[7], 0x81, "from 7", 6), 0);
    all_read(c, 0, N, "from 7");
    /* members that leave (a close, or a dropped connection) are out of the room */
    for (int i = 0; i < LEAVE; i++) {
        if (i % 2 == 0) {
            WF_EXPECT_EQ_INT(tu_ws_send_close(&c[i], 1000, NULL), 0);
            frame_expect(&c[i], WF_WS_CLOSE, "", 1000);
            WF_EXPECT_TRUE(tu_closed(&c[i], 5000));
        }
        tu_close(&c[i]);
    }
    WF_EXPECT_TRUE(tu_wait_atomic(&n_closed, LEAVE, 5000));
    WF_EXPECT_EQ_INT(wf_room_count(the_room), N - LEAVE);
    WF_EXPECT_EQ_INT(wf_room_broadcast_text(the_room, "all 3", 5), N - LEAVE);
    all_read(c, LEAVE, N, "all 3");
    /* and nothing more came: each one's next frame is the answer to its close */
    for (int i = LEAVE; i < N; i++) {
        WF_EXPECT_EQ_INT(tu_ws_send_close(&c[i], 1000, NULL), 0);
        frame_expect(&c[i], WF_WS_CLOSE, "", 1000);
        tu_close(&c[i]);
    }
    WF_EXPECT_TRUE(tu_wait_atomic(&n_closed, N, 5000));
    WF_EXPECT_EQ_INT(wf_room_count(the_room), 0);
    tu_stop(app);
    wf_room_free(the_room);
    WF_EXPECT_EQ_INT(atomic_load(&n_closed), N);
    WF_EXPECT_EQ_INT(atomic_load(&n_freed), N);
}

WF_TEST(ws_room_through_the_test_client) {
    wf_app *app = room_app();
    wf_test_client *tc = wf_test_client_new(app, NULL);
    wf_test_ws *a = wf_test_ws_connect(tc, "/room?greet", NULL, NULL);
    WF_ASSERT_TRUE(a != NULL);
    WF_EXPECT_EQ_STR(wf_test_ws_receive_text(a), "joined 1");     /* from its own handshake */
    wf_test_ws *b = wf_test_ws_connect(tc, "/room?greet", NULL, NULL);
    WF_ASSERT_TRUE(b != NULL);
    WF_EXPECT_EQ_STR(wf_test_ws_receive_text(b), "joined 2");
    WF_EXPECT_EQ_STR(wf_test_ws_receive_text(a), "joined 2");
    WF_EXPECT_EQ_INT(wf_room_broadcast_text(the_room, "to all", 6), 2);
    WF_EXPECT_EQ_STR(wf_test_ws_receive_text(a), "to all");
    WF_EXPECT_EQ_STR(wf_test_ws_receive_text(b), "to all");
    WF_EXPECT_EQ_INT(wf_test_ws_send_text(b, "from b"), 0);
    WF_EXPECT_EQ_STR(wf_test_ws_receive_text(b), "from b");
    WF_EXPECT_EQ_STR(wf_test_ws_receive_text(a), "from b");
    wf_test_ws_free(b);
    WF_EXPECT_EQ_INT(wf_room_count(the_room), 1);
    WF_EXPECT_EQ_INT(wf_room_broadcast_text(the_room, "alone", 5), 1);
    WF_EXPECT_EQ_STR(wf_test_ws_receive_text(a), "alone");
    wf_test_ws_free(a);
    WF_EXPECT_EQ_INT(wf_room_count(the_room), 0);
    wf_test_client_free(tc);
    wf_app_free(app);
    wf_room_free(the_room);
    WF_EXPECT_EQ_INT(atomic_load(&n_freed), 2);
}

WF_TEST(ws_room_member_joined_in_the_handshake_gets_the_handlers_broadcast_over_a_socket) {
    enum { N = 8 };
    wf_app *app = room_app();
    int port = serve(app, 2);
    tu_conn c[N];
    for (int i = 0; i < N; i++) {
        char want[32];
        snprintf(want, sizeof want, "joined %d", i + 1);
        open_ws(&c[i], port, "/room?greet", NULL);
        all_read(c, 0, i + 1, want);        /* the new member first, after its 101; then the others */
    }
    WF_EXPECT_EQ_INT(loop_threads_seen(), 2);
    for (int i = 0; i < N; i++) tu_close(&c[i]);
    WF_EXPECT_TRUE(tu_wait_atomic(&n_closed, N, 5000));
    tu_stop(app);
    wf_room_free(the_room);
}

WF_TEST(ws_room_free_leaves_its_members_open_over_a_socket) {
    enum { N = 6 };
    wf_app *app = room_app();
    int port = serve(app, 2);
    tu_conn c[N];
    int ids[N];
    for (int i = 0; i < N; i++) ids[i] = open_ws(&c[i], port, "/room-echo", NULL);
    WF_EXPECT_EQ_INT(wf_room_broadcast_text(the_room, "before", 6), N);
    all_read(c, 0, N, "before");
    wf_room_free(the_room);
    the_room = NULL;
    for (int i = 0; i < N; i++) echo_check(&c[i], "still open");
    for (int i = 0; i < N; i++) {
        if (i % 2 == 0) {
            WF_EXPECT_EQ_INT(tu_ws_send_close(&c[i], 1000, NULL), 0);
            frame_expect(&c[i], WF_WS_CLOSE, "", 1000);
        }
        tu_close(&c[i]);
    }
    for (int i = 0; i < N; i++) ended_once(ids[i], i % 2 == 0 ? 1000 : 1006);
    tu_stop(app);
}

/* ---- a member that does not read ---- */

typedef struct reader {
    tu_conn *c;
    int got;                    /* numbered messages read, in order */
    atomic_int progress;        /* the same, for the broadcaster */
    int errors;
} reader;

/* Read the numbered binary messages ("%07d" then filler) until the text "end". */
static void *read_numbered(void *arg) {
    reader *r = arg;
    for (;;) {
        tu_ws_frame f;
        int k = -1;
        if (tu_ws_read(r->c, &f, 10000) != 1) {
            wf_test_log("reader: no frame after %d", r->got);
            r->errors++;
            return NULL;
        }
        bool end = f.opcode == WF_WS_TEXT && strcmp(f.data, "end") == 0;
        if (!end && (f.opcode != WF_WS_BINARY || sscanf(f.data, "%7d", &k) != 1 || k != r->got)) {
            wf_test_log("reader: message %d came when %d was next", k, r->got);
            r->errors++;
        }
        tu_ws_frame_free(&f);
        if (end) return NULL;
        r->got++;
        atomic_store(&r->progress, r->got);
    }
}

WF_TEST(ws_room_drops_a_member_that_does_not_read_over_a_socket) {
    enum { READERS = 3, SIZE = 16384, WINDOW = 16, MAX = 8192 };
    wf_app *app = room_app();
    int port = serve(app, 2);
    tu_conn c[READERS], slow;
    reader r[READERS];
    pthread_t t[READERS];
    int slow_id = open_ws(&slow, port, "/room-slow", NULL);
    int small = 4096;
    setsockopt(slow.fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    for (int i = 0; i < READERS; i++) {
        open_ws(&c[i], port, "/room", NULL);
        r[i] = (reader){.c = &c[i]};
        WF_ASSERT_EQ_INT(pthread_create(&t[i], NULL, read_numbered, &r[i]), 0);
    }
    WF_EXPECT_EQ_INT(wf_room_count(the_room), READERS + 1);
    char *msg = payload(SIZE, false);
    int k = 0, after_drop = 0, dropped_at = -1;
    for (; k < MAX && after_drop < 2 * WINDOW; k++) {
        /* the readers keep up within a window: only the slow member falls behind */
        for (int i = 0; i < READERS; i++) WF_ASSERT_TRUE(tu_wait_atomic(&r[i].progress, k - WINDOW, 10000));
        char num[16];
        snprintf(num, sizeof num, "%07d ", k);
        memcpy(msg, num, 8);
        int sent = wf_room_broadcast_binary(the_room, msg, SIZE);
        if (dropped_at >= 0) {
            WF_EXPECT_EQ_INT(sent, READERS);
            after_drop++;
        } else if (event_at("close", slow_id) >= 0) {
            dropped_at = k;
        }
    }
    WF_EXPECT_EQ_INT(wf_room_broadcast_text(the_room, "end", 3), READERS);
    for (int i = 0; i < READERS; i++) {
        pthread_join(t[i], NULL);
        WF_EXPECT_EQ_INT(r[i].errors, 0);
        WF_EXPECT_EQ_INT(r[i].got, k);                      /* every message, once, in order */
    }
    WF_EXPECT_GE_INT(dropped_at, 0);
    WF_EXPECT_EQ_INT(close_of(slow_id).code, 1008);
    WF_EXPECT_EQ_INT(wf_room_count(the_room), READERS);
    wf_test_log("the slow member was dropped after %d messages of %d bytes", dropped_at, SIZE);
    free(msg);
    tu_close(&slow);
    for (int i = 0; i < READERS; i++) tu_close(&c[i]);
    WF_EXPECT_TRUE(tu_wait_atomic(&n_closed, READERS + 1, 5000));
    tu_stop(app);
    wf_room_free(the_room);
}

/* ====================================================================== */
/* ---- limits and timers ---- */

WF_TEST(ws_idle_timeout_closes_1001_over_a_socket) {
    wf_app *app = ws_app();
    int port = serve(app, 2);
    tu_conn a, b;
    int ia = open_ws(&a, port, "/idle", NULL), ib = open_ws(&b, port, "/idle", NULL);
    echo_check(&a, "then silence");
    /* b stops in the middle of a frame: the head and 3 of its 10 bytes, then nothing */
    size_t n;
    static const uint8_t m[4] = {5, 6, 7, 8};
    char *f = tu_ws_encode(0x81, 10, "abcdefghij", 10, m, &n);
    WF_EXPECT_EQ_INT(tu_send(&b, f, n - 7), 0);
    free(f);
    frame_expect(&a, WF_WS_CLOSE, "idle timeout", 1001);
    frame_expect(&b, WF_WS_CLOSE, "idle timeout", 1001);
    WF_EXPECT_TRUE(tu_closed(&a, 5000));
    WF_EXPECT_TRUE(tu_closed(&b, 5000));
    tu_close(&a);
    tu_close(&b);
    ended_once(ia, 1001);
    ended_once(ib, 1001);
    WF_EXPECT_EQ_INT(atomic_load(&n_messages), 1);
    tu_stop(app);
}

WF_TEST(ws_idle_timeout_and_pings_through_the_test_client) {
    wf_app *app = ws_app();
    wf_test_client *tc = wf_test_client_new(app, NULL);
    const char *d;
    size_t n;
    wf_test_ws *w = wf_test_ws_connect(tc, "/idle", NULL, NULL);
    WF_ASSERT_TRUE(w != NULL);
    WF_EXPECT_EQ_INT(wf_test_ws_receive(w, &d, &n, 5000), 0);
    WF_EXPECT_EQ_INT(wf_test_ws_close_code(w), 1001);
    WF_EXPECT_EQ_STR(wf_test_ws_close_reason(w), "idle timeout");
    wf_test_ws_free(w);
    /* pings every 100 ms, answered by the client: 3 idle timeouts pass and it stays open */
    w = wf_test_ws_connect(tc, "/ping", NULL, NULL);
    WF_ASSERT_TRUE(w != NULL);
    WF_EXPECT_EQ_INT(wf_test_ws_receive(w, &d, &n, 3000), WF_EPARTIAL);
    WF_EXPECT_EQ_INT(wf_test_ws_close_code(w), 0);
    WF_EXPECT_EQ_INT(wf_test_ws_send_text(w, "alive"), 0);
    WF_EXPECT_EQ_STR(wf_test_ws_receive_text(w), "alive");
    wf_test_ws_free(w);
    wf_test_client_free(tc);
    wf_app_free(app);
    ended_once(1, 1001);
    ended_once(2, 1006);
}

WF_TEST(ws_pings_keep_a_peer_that_answers_open_over_a_socket) {
    wf_app *app = ws_app();
    int port = serve(app, 2);
    tu_conn c;
    int id = open_ws(&c, port, "/ping", NULL);       /* pings every 100 ms, idle timeout 1000 ms */
    int pings = 0, others = 0;
    long long until = tu_ms() + 3000;
    while (tu_ms() < until && others == 0) {            /* 3 idle timeouts, answering every ping */
        tu_ws_frame f;
        int rc = tu_ws_read(&c, &f, 5000);
        if (rc == 1 && f.opcode == WF_WS_PING) {
            pings++;
            WF_EXPECT_EQ_SIZE(f.len, 0);
            WF_EXPECT_EQ_INT(tu_ws_send(&c, 0x8A, f.data, f.len), 0);
        } else {
            wf_test_log("read gave %d, opcode %d (%d), after %d pings", rc, f.opcode, f.code, pings);
            others++;
        }
        tu_ws_frame_free(&f);
    }
    WF_EXPECT_EQ_INT(others, 0);
    WF_EXPECT_GE_INT(pings, 5);
    WF_EXPECT_EQ_INT(event_count("close", id), 0);
    int more = 0;
    WF_EXPECT_EQ_INT(tu_ws_send(&c, 0x81, "alive", 5), 0);
    tu_ws_frame f;
    WF_EXPECT_EQ_INT(tu_ws_next(&c, &f, 5000, &more), 1);     /* the echo, pings answered on the way */
    WF_EXPECT_EQ_STR(f.data, "alive");
    tu_ws_frame_free(&f);
    /* a peer that stops answering: pings do not count as its traffic, the idle timeout closes it */
    pings = 0;
    int rc;
    while ((rc = tu_ws_read(&c, &f, 5000)) == 1 && f.opcode == WF_WS_PING) {
        pings++;
        tu_ws_frame_free(&f);
    }
    WF_EXPECT_EQ_INT(rc, 1);
    WF_EXPECT_EQ_INT(f.opcode, WF_WS_CLOSE);
    WF_EXPECT_EQ_INT(f.code, 1001);
    WF_EXPECT_EQ_STR(f.reason, "idle timeout");
    WF_EXPECT_GE_INT(pings, 1);
    tu_ws_frame_free(&f);
    WF_EXPECT_TRUE(tu_closed(&c, 5000));
    tu_close(&c);
    ended_once(id, 1001);
    tu_stop(app);
}

WF_TEST(ws_close_waits_end_silent_peers_over_a_socket) {
    wf_app *app = ws_app();
    int port = serve(app, 2);
    tu_conn a, b, d;
    /* the server closes (wf_ws_close, 4000 "bye") and a never answers: TCP is closed after the close
       wait (5 s); on /idle, b's idle timeout (300 ms) ends its wait sooner */
    int ia = open_ws(&a, port, "/echo", NULL), ib = open_ws(&b, port, "/idle", NULL);
    WF_EXPECT_EQ_INT(tu_ws_send(&a, 0x81, "close-me", 8), 0);
    WF_EXPECT_EQ_INT(tu_ws_send(&b, 0x81, "close-me", 8), 0);
    frame_expect(&a, WF_WS_CLOSE, "bye", 4000);
    frame_expect(&b, WF_WS_CLOSE, "bye", 4000);
    /* d sends a close and then neither reads nor closes: the server answers, ends its side, and
       lets go of the socket after its linger */
    int id = open_ws(&d, port, "/echo", NULL);
    tu_peer pd = tu_server_end(&d);
    WF_EXPECT_EQ_INT(tu_ws_send_close(&d, 1000, NULL), 0);
    WF_EXPECT_TRUE(tu_closed(&b, 5000));
    WF_EXPECT_TRUE(tu_server_released(&pd, 8000));
    WF_EXPECT_TRUE(tu_closed(&a, 8000));
    ended_once(ia, 4000);
    ended_once(ib, 4000);
    ended_once(id, 1000);
    frame_expect(&d, WF_WS_CLOSE, "", 1000);
    WF_EXPECT_TRUE(tu_closed(&d, 5000));
    tu_close(&a);
    tu_close(&b);
    tu_close(&d);
    tu_stop(app);
}

/* ====================================================================== */
/* ---- hostile peers ---- */

typedef struct hostile {
    int port, rounds, errors;
} hostile;

/* Connections that send garbage: frames of random bytes after a handshake (or instead of one), then
   end their side; the server must end each. */
static void *send_garbage(void *arg) {
    hostile *h = arg;
    uint32_t x = 2463534242u;
    for (int i = 0; i < h->rounds; i++) {
        tu_conn c;
        char junk[4096];
        for (size_t k = 0; k < sizeof junk; k++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            junk[k] = (char)x;
        }
        if (i % 4 == 3 ? tu_connect(&c, h->port) < 0 : !tu_ws_open(&c, h->port, "/echo", NULL)) {
            h->errors++;
            continue;
        }
        if (i % 4 == 1) junk[0] = (char)0x81;          /* a text frame of random length and bytes */
        if (tu_send(&c, junk, sizeof junk) == 0) shutdown(c.fd, SHUT_WR);
        long long until = tu_ms() + 10000;
        int rc;
        tu_ws_frame f;
        if (i % 4 == 3) {                               /* no handshake: an HTTP error, then the end */
            tu_resp r;
            tu_read(&c, &r, false, 10000);
            tu_resp_free(&r);
            rc = tu_closed(&c, 10000) ? 0 : -1;
        } else {
            while ((rc = tu_ws_read(&c, &f, 10000)) == 1 && tu_ms() < until) tu_ws_frame_free(&f);
        }
        if (rc != 0) {
            wf_test_log("garbage round %d: the server did not end it (%d)", i, rc);
            h->errors++;
        }
        tu_close(&c);
    }
    return NULL;
}

WF_TEST(ws_garbage_on_some_connections_does_not_stop_the_others_over_a_socket) {
    wf_app *app = ws_app();
    int port = serve(app, 1);                           /* one loop: they share it */
    hostile h = {.port = port, .rounds = 40};
    pthread_t t;
    tu_conn c;
    open_ws(&c, port, "/echo", NULL);
    WF_ASSERT_EQ_INT(pthread_create(&t, NULL, send_garbage, &h), 0);
    for (int i = 0; i < 300; i++) {
        char m[64];
        snprintf(m, sizeof m, "message %d among the garbage", i);
        echo_check(&c, m);
        if (wf_test_failed()) break;
    }
    pthread_join(t, NULL);
    WF_EXPECT_EQ_INT(h.errors, 0);
    echo_check(&c, "after");
    tu_conn late;
    WF_EXPECT_TRUE(tu_ws_open(&late, port, "/echo", NULL));
    echo_check(&late, "a new one");
    tu_close(&late);
    tu_close(&c);
    tu_stop(app);
}

/* ====================================================================== */
/* ---- handles used before their 101 has gone out ---- */

static tu_gate hs_gate = TU_GATE_INIT;

/* Give the handle to the test's thread from the handshake handler, and wait (at hs_gate) until
   that thread has used it: the 101 goes out only then. */
static void h_give(wf_req *req, wf_res *res) {
    wf_ws *ws = accept_tracked(req, res);
    wf_ws_retain(ws);
    atomic_store(&held, ws);
    tu_gate_pass(&hs_gate, 5000);
}

static const wf_ws_opts give_ws = {.on_message = echo_message, .on_close = rec_close};

/* Join the room, then wait at hs_gate: the 101 goes out once the test opens it. */
static void h_room_gated(wf_req *req, wf_res *res) {
    h_room(req, res);
    tu_gate_pass(&hs_gate, 5000);
}

WF_TEST(ws_send_from_another_thread_before_the_101_follows_it_over_a_socket) {
    wf_app *app = ws_app();
    WF_ASSERT_EQ_INT(wf_websocket(app, "/give", h_give, &give_ws), 0);
    int port = serve(app, 1);
    tu_conn c;
    tu_resp r;
    WF_ASSERT_EQ_INT(tu_connect(&c, port), 0);
    WF_ASSERT_EQ_INT(tu_sends(&c, HS("/give", "")), 0);
    WF_ASSERT_TRUE(tu_gate_arrivals(&hs_gate, 1, 5000));    /* accepted; its 101 has not gone out */
    wf_ws *ws = atomic_exchange(&held, NULL);
    WF_ASSERT_TRUE(ws != NULL);
    /* the handle is valid from wf_ws_accept, and a send works from any thread */
    WF_EXPECT_EQ_INT(wf_ws_send_text(ws, "from a thread", 13), 0);
    tu_gate_open(&hs_gate);
    WF_EXPECT_EQ_INT(tu_read(&c, &r, false, 5000), 101);
    tu_resp_free(&r);
    frame_expect(&c, WF_WS_TEXT, "from a thread", 0);
    echo_check(&c, "then the echo");
    tu_close(&c);
    WF_EXPECT_TRUE(wait_event("close", 1, 5000));
    wf_ws_release(ws);
    tu_stop(app);
}

WF_TEST(ws_room_member_in_its_handshake_on_a_loop_gets_a_broadcast_over_a_socket) {
    wf_app *app = room_app();
    WF_ASSERT_EQ_INT(wf_websocket(app, "/room-gated", h_room_gated, &room_ws), 0);
    int port = serve(app, 1);
    tu_conn a, b;
    tu_resp r;
    open_ws(&a, port, "/room", NULL);
    WF_ASSERT_EQ_INT(tu_connect(&b, port), 0);
    WF_ASSERT_EQ_INT(tu_sends(&b, HS("/room-gated", "")), 0);
    WF_ASSERT_TRUE(tu_gate_arrivals(&hs_gate, 1, 5000));  /* b has joined; its 101 has not gone out */
    WF_EXPECT_EQ_INT(wf_room_count(the_room), 2);
    wf_room_broadcast_text(the_room, "to both", 7);         /* from this thread, not b's loop */
    tu_gate_open(&hs_gate);
    WF_EXPECT_EQ_INT(tu_read(&b, &r, false, 5000), 101);
    tu_resp_free(&r);
    frame_expect(&a, WF_WS_TEXT, "to both", 0);
    frame_expect(&b, WF_WS_TEXT, "to both", 0);             /* a member: it gets it after its 101 */
    tu_close(&a);
    tu_close(&b);
    WF_EXPECT_TRUE(tu_wait_atomic(&n_closed, 2, 5000));
    tu_stop(app);
    wf_room_free(the_room);
}
