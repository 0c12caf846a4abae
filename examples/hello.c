/* hello.c - the Quick Start of webfw.h. make build/hello && ./build/hello; curl http://127.0.0.1:8000/ */
#define WEBFW_IMPLEMENTATION
#include "../webfw.h"

static void hello(wf_req *req, wf_res *res) {
    (void)req;
    wf_reply_text(res, 200, "Hello, World!");
}
int main(void) {
    wf_app *app = wf_app_new();
    wf_get(app, "/", hello);
    return wf_run(app, &(wf_config){ .port = 8000 });   // zero fields take defaults
}
