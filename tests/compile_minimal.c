/* The implementation without the test harness (WF_NO_TESTING), in a file that includes system
   headers of its own after webfw.h. */
#define WEBFW_IMPLEMENTATION
#define WF_NO_TESTING
#include "../webfw.h"
#include <stdio.h>

int main(void) {
    printf("%s\n", wf_strerror(WF_EPARSE));
    return 0;
}
