/* The one translation unit with the implementation, and main() for the test binary. */
#define WEBFW_IMPLEMENTATION
#include "../webfw.h"

WF_TEST_MAIN()
