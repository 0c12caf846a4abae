/* chat.c - a chat in the browser. GET / serves one page whose few lines of JavaScript open
   WS /ws/{name} and show what the room says: each message goes to everyone as "<name>: <text>", and
   joins and leaves are announced ("<name> joined", "<name> left"). A name is 1 to 32 characters
   (a slash included), else the handshake is refused with 403. The server escapes nothing: the page
   puts every line in with textContent, never innerHTML, so a message cannot inject markup.
   `make chat` starts it: open http://127.0.0.1:8000 in two windows. PORT (default 8000), HOST
   (default 127.0.0.1). chat_app() builds the app; tests/test_chat.c defines CHAT_NO_MAIN and
   includes this file to test it through the test client. */
#ifndef CHAT_NO_MAIN
#define WEBFW_IMPLEMENTATION
#endif
#include "../webfw.h"
#include <stdlib.h>
#include <string.h>

/* GET /: the page. Plain JavaScript, nothing fetched from elsewhere (an empty icon: no /favicon.ico). */
static const char PAGE[] =
    "<!DOCTYPE html>\n<html lang='en'><meta charset='utf-8'><title>webfw chat</title>\n"
    "<link rel='icon' href='data:,'>\n"
    "<style>body{font:16px sans-serif;max-width:40em;margin:2em auto}ul{list-style:none;padding:0}</style>\n"
    "<form id='join'><input id='name' placeholder='Your name' maxlength='32' required autofocus>\n"
    "<button>Join</button></form>\n"
    "<form id='chat' hidden><input id='text' placeholder='Message' autocomplete='off' required>\n"
    "<button>Send</button></form>\n"
    "<ul id='log'></ul>\n"
    "<script>\n"
    "const $ = id => document.getElementById(id);\n"
    "let ws;\n"
    "function show(line) {              // textContent: a line is text, never markup\n"
    "  const li = document.createElement('li');\n"
    "  li.textContent = line;\n"
    "  $('log').append(li);\n"
    "}\n"
    "function joined(yes) {             // the name form, or the message form\n"
    "  $('join').hidden = yes;\n"
    "  $('chat').hidden = !yes;\n"
    "  $(yes ? 'text' : 'name').focus();\n"
    "}\n"
    "$('join').onsubmit = e => {\n"
    "  e.preventDefault();\n"
    "  const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';\n"
    "  ws = new WebSocket(scheme + location.host + '/ws/' + encodeURIComponent($('name').value));\n"
    "  ws.onopen = () => joined(true);\n"
    "  ws.onmessage = e => show(e.data);\n"
    "  ws.onclose = e => { show('(disconnected: ' + e.code + ')'); joined(false); };\n"
    "};\n"
    "$('chat').onsubmit = e => {\n"
    "  e.preventDefault();\n"
    "  ws.send($('text').value);\n"
    "  $('text').value = '';\n"
    "};\n"
    "</script>\n";

static void index_page(wf_req *req, wf_res *res) {
    (void)req;
    wf_reply_html(res, 200, PAGE);
}

/* ---- WS /ws/{name}: one room for everyone ---- */

/* The room lives as long as the server: an app-scoped dependency makes it once and frees it at
   shutdown, after the last connection has closed. */
static void free_room(void *room) { wf_room_free(room); }

WF_DEPENDENCY_APP(wf_room *, get_room) {
    wf_room *room = wf_room_new();
    if (!room) wf_fail(req, "out of memory");
    wf_defer(req, free_room, room);
    return room;
}

/* A connection's user data: its room and its name (a copy: the request's bytes do not last). */
typedef struct member {
    wf_room *room;
    size_t len;
    char name[];
} member;

/* Send everyone in m's room "<name><what><text>" as one message. */
static void say(const member *m, const char *what, const char *text, size_t len) {
    size_t w = strlen(what), n = m->len + w + len;
    char *line = malloc(n);
    if (!line) return;                          /* without memory the line is lost; the chat goes on */
    memcpy(line, m->name, m->len);
    memcpy(line + m->len, what, w);
    if (len) memcpy(line + m->len + w, text, len);
    wf_room_broadcast_text(m->room, line, n);
    free(line);
}

static void chat_message(wf_ws *ws, int opcode, const char *data, size_t len) {
    if (opcode != WF_WS_TEXT) {
        wf_ws_close(ws, WF_WS_UNSUPPORTED, "text only");
        return;
    }
    say(wf_ws_user(ws), ": ", data, len);
}

/* Once per connection, however it ended (a close frame, a drop, shutdown): the others hear it. */
static void chat_close(wf_ws *ws, int code, const char *reason, size_t len) {
    (void)code, (void)reason, (void)len;
    const member *m = wf_ws_user(ws);
    wf_room_leave(m->room, ws);                 /* it would leave after this; leave first, so only */
    say(m, " left", NULL, 0);                   /* the others are sent the news */
}

/* Browsers answer pings but send none: a ping every 25 s keeps a quiet tab within idle_timeout_ms. */
static const wf_ws_opts chat_ws = {.on_message = chat_message, .on_close = chat_close,
                                   .ping_interval_ms = 25000};

/* The handshake. {name:path} takes the rest of the path, so a name may hold a slash (the page
   sends it percent-encoded, and the router matches the decoded path). */
static void join(wf_req *req, wf_res *res) {
    (void)res;
    wf_str name = wf_param_str(req, WF_IN_PATH, "name", "min_length=1,max_length=32");
    if (wf_invalid(req)) return;                /* not accepted: 403 */
    wf_room *room = WF_DEPENDS(req, get_room);
    member *m = malloc(sizeof *m + name.len);
    wf_ws *ws = m ? wf_ws_accept(req) : NULL;
    if (!ws) {
        free(m);
        wf_fail(req, "out of memory");
    }
    m->room = room;
    m->len = name.len;
    memcpy(m->name, name.ptr, name.len);
    wf_ws_set_user(ws, m, free);
    wf_room_join(room, ws);
    say(m, " joined", NULL, 0);                 /* to everyone, the newcomer too */
}

static wf_app *chat_app(void) {
    wf_app *app = wf_app_new();
    if (!app) return NULL;
    wf_get(app, "/", index_page);
    wf_websocket(app, "/ws/{name:path}", join, &chat_ws);
    return app;
}

#ifndef CHAT_NO_MAIN
int main(void) {
    const char *port = getenv("PORT"), *host = getenv("HOST");
    wf_app *app = chat_app();
    int rc = app ? wf_run(app, &(wf_config){.host = host ? host : "127.0.0.1",
                                            .port = port ? atoi(port) : 8000})
                 : 1;
    wf_app_free(app);
    return rc == 0 ? 0 : 1;
}
#endif
