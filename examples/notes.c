/* notes.c - a notes API behind a login, as FastAPI's tutorials build one: POST /token takes a password
   form and gives an HS256 JWT; every other route needs it as a bearer token (get_current_user), runs
   in a transaction (get_db: commit on success, roll back on failure) and validates its parameters;
   each write queues an audit task; /token and /export run on the worker pool (FastAPI's plain `def`).
       curl -d 'username=alice&password=wonderland' localhost:8000/token
       curl -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
            -d '{"title":"milk"}' localhost:8000/notes
   make_app() builds the app; main() serves it on PORT (default 8000). tests/test_notes.c defines
   NOTES_NO_MAIN and includes this file to test make_app() through the test client. */
#ifndef NOTES_NO_MAIN
#define WEBFW_IMPLEMENTATION
#endif
#include "../webfw.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the store: a growable array under a mutex ---- */

typedef struct note { long long id; char *title, *body; } note;

/* A static rather than a WF_DEPENDENCY_APP value: the notes outlive any server (a test client built
   on a fresh make_app() sees them, as a database would) and there is nothing to open or close. The
   counters are what get_db's transactions and the audit task did; tests read them. */
typedef struct notes_db {
    pthread_mutex_t mu;
    note *notes;
    int n, cap;
    long long last_id;
    int commits, rollbacks, audits;
    char last_audit[64];
} notes_db;
static notes_db store = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* The note with this id, or a 404; called with db->mu held (wf_lock's guard releases it). */
static note *find_note(wf_req *req, notes_db *db, long long id) {
    for (int i = 0; i < db->n; i++)
        if (db->notes[i].id == id) return &db->notes[i];
    wf_raise(req, 404, "Note not found");
}

/* Room for one more note; false without memory. */
static bool grow(notes_db *db) {
    if (db->n < db->cap) return true;
    note *more = realloc(db->notes, (size_t)(2 * db->cap + 8) * sizeof *more);
    if (more) db->notes = more, db->cap = 2 * db->cap + 8;
    return more != NULL;
}

/* The code after get_db's `yield`: commit, or roll back when the request failed or was cut short. */
static void end_transaction(void *arg, const wf_outcome *o) {
    notes_db *db = arg;
    pthread_mutex_lock(&db->mu);
    if (o->failed || o->abandoned) db->rollbacks++;
    else db->commits++;
    pthread_mutex_unlock(&db->mu);
}

WF_DEPENDENCY(notes_db *, get_db) {
    if (wf_defer_outcome(req, end_transaction, &store) != 0) wf_fail(req, "out of memory");
    return &store;
}

/* ---- users and tokens ---- */

static const char SECRET_KEY[] = "change me: read a random key from the environment";
static const char *const BEARER[] = {"WWW-Authenticate: Bearer", NULL};
static struct { const char *name; char hash[128]; } alice = {"alice", ""};    /* hashed by make_app */

/* POST /token with the form username=...&password=... (FastAPI's OAuth2PasswordRequestForm); a
   blocking route, as the password check takes a quarter of a second of CPU. */
static void login(wf_req *req, wf_res *res) {
    wf_str name = wf_param_str(req, WF_IN_FORM, "username", "required");
    wf_str password = wf_param_str(req, WF_IN_FORM, "password", "required");
    if (wf_invalid(req)) return;
    if (!wf_str_eq(name, alice.name) || wf_password_verify(alice.hash, password.ptr, password.len) != 1)
        wf_raise_json(req, 401, "\"Incorrect username or password\"", BEARER);
    wf_buf claims = {0}, token = {0};
    int rc = wf_json_obj(&claims, WF_KV("sub", name), WF_KV("exp", (long long)time(NULL) + 30 * 60));
    if (rc == 0) rc = wf_jwt_encode(&token, claims.ptr, SECRET_KEY, strlen(SECRET_KEY));
    if (rc == 0) wf_reply_obj(res, 200, WF_KV("access_token", token.ptr), WF_KV("token_type", "bearer"));
    wf_buf_free(&claims);
    wf_buf_free(&token);
    if (rc != 0) wf_fail(req, "cannot sign the token");
}

/* The user the bearer token names, or 401 whatever is wrong with it. */
WF_DEPENDENCY(const char *, get_current_user) {
    wf_str auth = wf_req_header(req, "Authorization"), sub;
    wf_json_doc claims;
    bool ok = false;
    if (auth.len > 7 && wf_str_ieq((wf_str){auth.ptr, 7}, "Bearer ") &&
        wf_jwt_decode(auth.ptr + 7, auth.len - 7, SECRET_KEY, strlen(SECRET_KEY), NULL, &claims) == 0) {
        ok = wf_json_str(wf_json_get(claims.root, "sub"), &sub) && wf_str_eq(sub, alice.name);
        wf_json_free(&claims);
    }
    if (!ok) wf_raise_json(req, 401, "\"Could not validate credentials\"", BEARER);
    return alice.name;
}

/* ---- the audit log: a task after each write's response ---- */

static int write_audit(void *line) {
    pthread_mutex_lock(&store.mu);
    snprintf(store.last_audit, sizeof store.last_audit, "%s", (char *)line);   /* a real app: a table */
    store.audits++;
    pthread_mutex_unlock(&store.mu);
    return 0;
}

static void audit(wf_req *req, const char *user, const char *what, long long id) {
    char line[64];
    snprintf(line, sizeof line, "%s %s note %lld", user, what, id);
    char *copy = wf_str_dup(wf_str_c(line));
    if (!copy || wf_add_task(req, "audit", write_audit, copy, free) != 0)
        wf_raise(req, 503, "Too many queued tasks");
}

/* ---- notes ---- */

static void write_notes(wf_jw *w, const notes_db *db, long long skip, long long limit) {
    wf_jw_arr(w);
    for (long long i = skip; i < db->n && i - skip < limit; i++)
        wf_jw_object(w, WF_KV("id", db->notes[i].id), WF_KV("title", db->notes[i].title),
                     WF_KV("body", db->notes[i].body));
    wf_jw_end(w);
}

/* GET /notes?skip=0&limit=10 */
static void list_notes(wf_req *req, wf_res *res) {
    (void)WF_DEPENDS(req, get_current_user);
    notes_db *db = WF_DEPENDS(req, get_db);
    long long skip = wf_param_int(req, WF_IN_QUERY, "skip", "default=0, ge=0");
    long long limit = wf_param_int(req, WF_IN_QUERY, "limit", "default=10, ge=1, le=100");
    if (wf_invalid(req)) return;
    wf_lock(req, &db->mu);
    write_notes(wf_res_json(res, 200), db, skip, limit);
    wf_unlock(req, &db->mu);
}

/* GET /export: every note; a blocking route (on a worker) may take its time. */
static void export_notes(wf_req *req, wf_res *res) {
    (void)WF_DEPENDS(req, get_current_user);
    notes_db *db = WF_DEPENDS(req, get_db);
    wf_lock(req, &db->mu);
    write_notes(wf_res_json(res, 200), db, 0, db->n);
    wf_unlock(req, &db->mu);
}

/* GET /notes/{id} */
static void read_note(wf_req *req, wf_res *res) {
    (void)WF_DEPENDS(req, get_current_user);
    notes_db *db = WF_DEPENDS(req, get_db);
    long long id = wf_param_int(req, WF_IN_PATH, "id", "");
    if (wf_invalid(req)) return;
    wf_lock(req, &db->mu);
    note *n = find_note(req, db, id);
    wf_reply_obj(res, 200, WF_KV("id", n->id), WF_KV("title", n->title), WF_KV("body", n->body));
    wf_unlock(req, &db->mu);
}

/* POST /notes with {"title": "...", "body": "..."} */
static void create_note(wf_req *req, wf_res *res) {
    const char *user = WF_DEPENDS(req, get_current_user);
    notes_db *db = WF_DEPENDS(req, get_db);
    wf_str title = wf_body_str(req, "title", "required, min_length=1, max_length=100");
    wf_str body = wf_body_str(req, "body", "default=");
    if (wf_invalid(req)) return;
    note n = {0, wf_str_dup(title), wf_str_dup(body)};
    wf_lock(req, &db->mu);
    if (!n.title || !n.body || !grow(db)) {
        free(n.title);
        free(n.body);
        wf_fail(req, "out of memory");                  /* unlocks db->mu on its way out */
    }
    n.id = ++db->last_id;
    db->notes[db->n++] = n;
    wf_reply_obj(res, 201, WF_KV("id", n.id), WF_KV("title", n.title), WF_KV("body", n.body));
    wf_unlock(req, &db->mu);
    audit(req, user, "created", n.id);
}

/* DELETE /notes/{id} */
static void delete_note(wf_req *req, wf_res *res) {
    const char *user = WF_DEPENDS(req, get_current_user);
    notes_db *db = WF_DEPENDS(req, get_db);
    long long id = wf_param_int(req, WF_IN_PATH, "id", "");
    if (wf_invalid(req)) return;
    wf_lock(req, &db->mu);
    note *n = find_note(req, db, id);
    free(n->title);
    free(n->body);
    memmove(n, n + 1, (size_t)(db->notes + --db->n - n) * sizeof *n);
    wf_unlock(req, &db->mu);
    wf_reply_obj(res, 200, WF_KV("ok", (bool)true));
    audit(req, user, "deleted", id);
}

/* The app: the user's password hashed at start, and the routes. NULL without memory. */
static wf_app *make_app(void) {
    if (wf_password_hash(alice.hash, sizeof alice.hash, "wonderland", 10, NULL) < 0) return NULL;
    wf_app *app = wf_app_new();
    if (!app) return NULL;
    wf_route_opts blocking = {.blocking = true};          /* on a worker, not a loop thread */
    wf_route(app, "POST", "/token", login, &blocking);   /* a password check takes a quarter second */
    wf_get(app, "/notes", list_notes);
    wf_post(app, "/notes", create_note);
    wf_get(app, "/notes/{id:int}", read_note);
    wf_delete(app, "/notes/{id:int}", delete_note);
    wf_route(app, "GET", "/export", export_notes, &blocking);
    return app;
}

#ifndef NOTES_NO_MAIN
int main(void) {
    const char *port = getenv("PORT");
    wf_app *app = make_app();
    int rc = app ? wf_run(app, &(wf_config){.port = port ? atoi(port) : 8000}) : 1;
    wf_app_free(app);
    return rc == 0 ? 0 : 1;
}
#endif
