/* The whole library compiled with WEBFW_STATIC: every public function static, and still no
   unused-function warning under -Wall -Wextra -Werror. */
#define WEBFW_STATIC
#define WEBFW_IMPLEMENTATION
#include "../webfw.h"

int main(void) {
    wf_app *app = wf_app_new();
    int rc = app ? 0 : 1;
    wf_app_free(app);
    return rc;
}
