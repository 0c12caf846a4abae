/* The one translation unit with the implementation, and main() for the test binary. */
#define WEBFW_IMPLEMENTATION
/* cgroup v2's mount point, moved by a test to a directory of its own with a cpu.max in it */
#define WF__CGROUP_ROOT (getenv("WF_TEST_CGROUP_ROOT") ? getenv("WF_TEST_CGROUP_ROOT") : "/sys/fs/cgroup")
#include "../webfw.h"

WF_TEST_MAIN()
