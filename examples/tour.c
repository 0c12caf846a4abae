/* tour.c - a FastAPI app ported to C route for route, a tour of what webfw.h offers in FastAPI's
   terms: dependencies (a cached settings dependency, a database session closed after the response as
   a `yield` dependency is, chains of them, a class-style query dependency), a validated JSON body, a
   blocking route (FastAPI's plain `def`) on the worker pool, background tasks that append to a log,
   and WebSockets: an echo, a chat room through the built-in connection manager, a token check.
   tests/diff/reference_app.py is the same app written for FastAPI; `make test` sends both the same
   raw requests and compares the answers (tests/diff/compare.py).
   `make run` starts it. PORT (default 8000), HOST (default 127.0.0.1), TASK_LOG (default ./log.txt). */
#ifndef TOUR_NO_MAIN
#define WEBFW_IMPLEMENTATION
#endif
#include "../webfw.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* GET / -> {"message":"Hello World"} */
static void read_root(wf_req *req, wf_res *res) {
    (void)req;
    wf_reply_json(res, 200, "{s:s}", "message", "Hello World");
}

/* ---- the task log: background tasks append lines to TASK_LOG ---- */

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

/* A line for the log: text of any bytes (a NUL included, as Python writes it). */
typedef struct line { size_t len; char text[]; } line;

static int write_log(void *arg) {
    const line *l = arg;
    const char *path = getenv("TASK_LOG");
    pthread_mutex_lock(&log_mu);
    FILE *f = fopen(path ? path : "./log.txt", "a");
    if (f) {
        fwrite(l->text, 1, l->len, f);
        fputc('\n', f);
        fclose(f);
    }
    pthread_mutex_unlock(&log_mu);
    return f ? 0 : 1;
}

/* prefix followed by arg, or NULL without memory (wf_add_task then reports it). */
static line *line_of(const char *prefix, wf_str arg) {
    size_t p = strlen(prefix);
    line *l = malloc(sizeof *l + p + arg.len);
    if (!l) return NULL;
    memcpy(l->text, prefix, p);
    if (arg.len) memcpy(l->text + p, arg.ptr, arg.len);
    l->len = p + arg.len;
    return l;
}

static void add_log_task(wf_req *req, const char *name, const char *prefix, wf_str arg) {
    line *l = line_of(prefix, arg);
    if (!l || wf_add_task(req, name, write_log, l, free) != 0) wf_raise(req, 503, "Too many queued tasks");
}

/* ---- settings, the database and its sessions (get_db, a dependency with yield in FastAPI) ---- */

typedef struct settings { const char *db_url; } settings;
typedef struct item { char *name; size_t name_len; double price; int id; } item;   /* names live on */
typedef struct session { bool open; } session;

static struct {
    pthread_mutex_t mu;
    item *items;                                /* grows as FastAPI's list does: memory is the bound */
    int n, cap, opened, closed;
} store = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0, 0, 0};

WF_DEPENDENCY_APP(settings *, get_settings) {
    static settings s = {"sqlite:///./demo.db"};
    (void)req;
    return &s;
}

static void close_session(void *arg) {
    session *s = arg;
    s->open = false;
    pthread_mutex_lock(&store.mu);
    store.closed++;
    pthread_mutex_unlock(&store.mu);
}

WF_DEPENDENCY(session *, get_db) {
    (void)WF_DEPENDS(req, get_settings);
    session *s = wf_req_alloc(req, sizeof *s);
    if (!s) wf_fail(req, "out of memory");
    s->open = true;
    pthread_mutex_lock(&store.mu);
    store.opened++;
    pthread_mutex_unlock(&store.mu);
    wf_defer(req, close_session, s);            /* the code after `yield` */
    return s;
}

typedef struct user_repo { const char *users[2]; session *db; } user_repo;

WF_DEPENDENCY(user_repo *, get_user_repo) {
    user_repo *r = wf_req_alloc(req, sizeof *r);
    if (!r) wf_fail(req, "out of memory");
    r->db = WF_DEPENDS(req, get_db);
    r->users[0] = "admin";
    r->users[1] = "testuser";
    return r;
}

/* GET /db-check: the chain get_settings -> get_db -> get_user_repo */
static void db_check(wf_req *req, wf_res *res) {
    settings *s = WF_DEPENDS(req, get_settings);
    user_repo *repo = WF_DEPENDS(req, get_user_repo);
    bool cached = WF_DEPENDS(req, get_settings) == s;
    wf_reply_json(res, 200, "{s:[s,s,s], s:s, s:b, s:b, s:[s,s]}",
                  "chain", "get_settings", "get_db", "get_user_repo",
                  "db_url", s->db_url,
                  "db_open", repo->db->open,
                  "settings_cached", cached,
                  "users", repo->users[0], repo->users[1]);
}

static void db_stats(wf_req *req, wf_res *res) {
    (void)req;
    pthread_mutex_lock(&store.mu);
    int opened = store.opened, closed = store.closed;
    pthread_mutex_unlock(&store.mu);
    wf_reply_json(res, 200, "{s:i, s:i}", "opened", opened, "closed", closed);
}

/* ---- items: a class-style query dependency, a JSON body, a task added by a dependency ---- */

typedef struct common_query { long long skip, limit; wf_str q; } common_query;

WF_DEPENDENCY(common_query *, common_parameters) {
    common_query *c = wf_req_alloc(req, sizeof *c);
    if (!c) wf_fail(req, "out of memory");
    c->skip = wf_param_int(req, WF_IN_QUERY, "skip", "default=0");
    c->limit = wf_param_int(req, WF_IN_QUERY, "limit", "default=100");
    c->q = wf_param_str(req, WF_IN_QUERY, "q", "");
    return c;
}

static void read_items(wf_req *req, wf_res *res) {
    common_query *c = WF_DEPENDS(req, common_parameters);
    if (wf_invalid(req)) return;
    wf_reply_json(res, 200, "{s:I, s:I, s:S}", "skip", c->skip, "limit", c->limit, "q", c->q);
}

/* The task log's line for a created item, added by this dependency once the item exists. */
typedef struct audit { wf_req *req; } audit;
WF_DEPENDENCY(audit *, get_audit) {
    audit *a = wf_req_alloc(req, sizeof *a);
    if (!a) wf_fail(req, "out of memory");
    a->req = req;
    return a;
}

static void create_item(wf_req *req, wf_res *res) {
    /* FastAPI decodes the JSON body before any dependency: a body that does not parse opens no session */
    if (!wf_body_json(req) && wf_body_malformed(req)) return;
    session *db = WF_DEPENDS(req, get_db);
    audit *a = WF_DEPENDS(req, get_audit);
    wf_str name = wf_body_str(req, "name", "required");
    double price = wf_body_float(req, "price", "required");
    if (wf_invalid(req) || !db->open) return;
    pthread_mutex_lock(&store.mu);
    int cap = store.n < store.cap ? store.cap : store.cap ? 2 * store.cap : 64;
    item *items = cap == store.cap ? store.items : realloc(store.items, (size_t)cap * sizeof *items);
    char *copy = items ? malloc(name.len + 1) : NULL;
    if (items) {
        store.items = items;
        store.cap = cap;
    }
    if (!copy) {
        pthread_mutex_unlock(&store.mu);
        wf_fail(req, "out of memory");
    }
    memcpy(copy, name.ptr, name.len);
    item *it = &store.items[store.n++];
    *it = (item){copy, name.len, price, store.n};
    item saved = *it;
    pthread_mutex_unlock(&store.mu);
    char id[24];
    snprintf(id, sizeof id, "%d", saved.id);
    add_log_task(a->req, "log_creation", "created ", (wf_str){id, strlen(id)});
    wf_reply_json(res, 200, "{s:S, s:f, s:i}", "name", (wf_str){saved.name, saved.name_len},
                  "price", saved.price, "id", saved.id);
}

static void db_items(wf_req *req, wf_res *res) {
    wf_buf b = {0};
    wf_jw w = {.out = &b};
    (void)WF_DEPENDS(req, get_db);
    pthread_mutex_lock(&store.mu);
    wf_jw_arr(&w);
    for (int i = 0; i < store.n; i++) {
        wf_jw_obj(&w);
        wf_jw_key(&w, "id");
        wf_jw_int(&w, store.items[i].id);
        wf_jw_key(&w, "name");
        wf_jw_strn(&w, store.items[i].name, store.items[i].name_len);
        wf_jw_key(&w, "price");
        wf_jw_num(&w, store.items[i].price);
        wf_jw_end(&w);
    }
    wf_jw_end(&w);
    pthread_mutex_unlock(&store.mu);
    wf_reply(res, 200, "application/json", b.ptr, b.len);
    wf_buf_free(&b);
}

/* GET /async-endpoint: a second cleanup-style session */
WF_DEPENDENCY(session *, get_async_session) {
    session *s = wf_req_alloc(req, sizeof *s);
    if (!s) wf_fail(req, "out of memory");
    s->open = true;
    wf_defer(req, close_session, s);
    pthread_mutex_lock(&store.mu);
    store.opened++;
    pthread_mutex_unlock(&store.mu);
    return s;
}

static void async_endpoint(wf_req *req, wf_res *res) {
    session *s = WF_DEPENDS(req, get_async_session);
    wf_reply_json(res, 200, "{s:b}", "session_active", s->open);
}

/* ---- background tasks ---- */

static void send_notification(wf_req *req, wf_res *res) {
    wf_str email = wf_param_str(req, WF_IN_QUERY, "email", "required");
    if (wf_invalid(req)) return;
    add_log_task(req, "send_notification", "Notification sent to ", email);
    wf_reply_json(res, 200, "{s:s}", "message", "Notification scheduled");
}

static void process(wf_req *req, wf_res *res) {
    static const wf_str none = {"", 0};
    add_log_task(req, "task_one", "task one", none);
    add_log_task(req, "task_two", "task two", none);
    add_log_task(req, "task_three", "task three", none);
    wf_reply_json(res, 200, "{s:s}", "status", "processing");
}

/* ---- WebSockets ---- */

/* WS /ws: "Echo: <text>". A binary message is refused (1003), as receive_text would. */
static void echo_message(wf_ws *ws, int opcode, const char *data, size_t len) {
    char *out = malloc(len + 7);
    if (opcode != WF_WS_TEXT || !out) {
        free(out);
        wf_ws_close(ws, opcode != WF_WS_TEXT ? WF_WS_UNSUPPORTED : WF_WS_INTERNAL_ERROR, NULL);
        return;
    }
    memcpy(out, "Echo: ", 6);
    memcpy(out + 6, data, len);
    wf_ws_send_text(ws, out, len + 6);
    free(out);
}

static const wf_ws_opts echo_ws = {.on_message = echo_message};

static void ws_echo(wf_req *req, wf_res *res) {
    (void)res;
    wf_ws_accept(req);
}

/* WS /ws/{client_id}: the chat. The room lives as long as the server (an app-scoped dependency
   makes it once and frees it at shutdown); a connection leaves it when it closes. */
static void free_room(void *room) { wf_room_free(room); }

WF_DEPENDENCY_APP(wf_room *, chat_room) {
    wf_room *room = wf_room_new();
    if (!room) wf_fail(req, "out of memory");
    wf_defer(req, free_room, room);
    return room;
}

typedef struct member {
    long long id;
    wf_room *room;
} member;

static void chat_message(wf_ws *ws, int opcode, const char *data, size_t len) {
    const member *m = wf_ws_user(ws);
    char head[40];
    int n = snprintf(head, sizeof head, "Client %lld: ", m->id);
    char *out = malloc((size_t)n + len);
    if (opcode != WF_WS_TEXT || !out) {
        free(out);
        wf_ws_close(ws, opcode != WF_WS_TEXT ? WF_WS_UNSUPPORTED : WF_WS_INTERNAL_ERROR, NULL);
        return;
    }
    memcpy(out, head, (size_t)n);
    memcpy(out + n, data, len);
    wf_room_broadcast_text(m->room, out, (size_t)n + len);
    free(out);
}

static const wf_ws_opts chat_ws = {.on_message = chat_message};

static void ws_chat(wf_req *req, wf_res *res) {
    (void)res;
    long long id = wf_param_int(req, WF_IN_PATH, "client_id", "");
    if (wf_invalid(req)) return;                    /* not accepted: 403, as FastAPI */
    member *m = malloc(sizeof *m);
    wf_ws *ws = m ? wf_ws_accept(req) : NULL;
    if (!ws) {
        free(m);
        wf_fail(req, "out of memory");
    }
    m->id = id;
    m->room = WF_DEPENDS(req, chat_room);
    wf_ws_set_user(ws, m, free);
    wf_room_join(m->room, ws);
}

/* WS /ws-auth?token=: the seed's token dependency. No token closes with 1008 (policy violation);
   any token, even empty, opens an echo. */
WF_DEPENDENCY(const char *, ws_token) {
    wf_str token = wf_param(req, WF_IN_QUERY, "token");
    if (!token.ptr) wf_ws_deny(req, WF_WS_POLICY, "token required");
    return wf_req_strdup(req, token);
}

static void ws_auth(wf_req *req, wf_res *res) {
    (void)res;
    WF_DEPENDS(req, ws_token);
    wf_ws_accept(req);
}

/* The app: every route of the tour. Tests build it through the test client. */
wf_app *tour_app(void);
wf_app *tour_app(void) {
    wf_app *app = wf_app_new();
    if (!app) return NULL;
    wf_get(app, "/", read_root);
    wf_get(app, "/items/", read_items);
    wf_post(app, "/items/", create_item);
    /* a plain `def` endpoint: it runs on a worker */
    wf_route(app, "GET", "/db-items/", db_items, &(wf_route_opts){.blocking = true});
    wf_get(app, "/db-check", db_check);
    wf_get(app, "/db-stats", db_stats);
    wf_get(app, "/async-endpoint", async_endpoint);
    wf_post(app, "/send-notification/", send_notification);
    wf_post(app, "/process/", process);
    wf_websocket(app, "/ws", ws_echo, &echo_ws);
    wf_websocket(app, "/ws/{client_id}", ws_chat, &chat_ws);
    wf_websocket(app, "/ws-auth", ws_auth, &echo_ws);
    return app;
}

#ifndef TOUR_NO_MAIN
int main(void) {
    const char *port = getenv("PORT"), *host = getenv("HOST");
    wf_app *app = tour_app();
    if (!app) return 1;
    int rc = wf_run(app, &(wf_config){.host = host ? host : "127.0.0.1", .port = port ? atoi(port) : 8000});
    wf_app_free(app);
    return rc == 0 ? 0 : 1;
}
#endif
