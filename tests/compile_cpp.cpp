// The declarations compile as C++ (extern "C", no C-only syntax in the API part).
#include "../webfw.h"

static void hello(wf_req *req, wf_res *res) {
    (void)req;
    wf_reply_text(res, 200, "Hello, World!");
}

int main() {
    wf_config cfg = wf_config();
    cfg.port = WF_PORT_ANY;
    wf_app *app = wf_app_new();
    wf_get(app, "/", hello);
    (void)cfg;
    wf_app_free(app);
    return 0;
}
