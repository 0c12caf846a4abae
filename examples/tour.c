/* tour.c - FastAPI's feature reference, ported to C route for route (the contract is TOUR.md).
   `make run` starts it. PORT (default 8000) and HOST (default 127.0.0.1) set where it listens.
   Routes arrive with the features they need; this version has the application layer's. */
#ifndef TOUR_NO_MAIN
#define WEBFW_IMPLEMENTATION
#endif
#include "../webfw.h"

/* GET / -> {"message":"Hello World"} */
static void read_root(wf_req *req, wf_res *res) {
    (void)req;
    wf_reply_json(res, 200, "{s:s}", "message", "Hello World");
}

/* The app: every route of the tour. Tests build it through the test client. */
wf_app *tour_app(void);
wf_app *tour_app(void) {
    wf_app *app = wf_app_new();
    if (app) wf_get(app, "/", read_root);
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
