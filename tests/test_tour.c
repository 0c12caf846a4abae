/* examples/tour.c against TOUR.md, through the test client. */
#define _GNU_SOURCE
#define TOUR_NO_MAIN
#include "../examples/tour.c"
#include "util.h"
#include <string.h>

WF_TEST(tour_root_and_http_behaviour) {
    wf_app *app = tour_app();
    wf_test_client *tc = wf_test_client_new(app, NULL);
    wf_test_res r;
    WF_ASSERT_EQ_INT(wf_test_get(tc, "/", &r), 0);
    WF_EXPECT_EQ_INT(r.status, 200);
    WF_EXPECT_EQ_STR(r.body, "{\"message\":\"Hello World\"}");
    wf_str ct = wf_test_header(&r, "content-type");
    WF_EXPECT_EQ_MEM(ct.ptr, ct.len, "application/json", 16);
    wf_test_res_free(&r);
    wf_test_req head = {.method = "HEAD", .path = "/"};
    WF_ASSERT_EQ_INT(wf_test_request(tc, &head, &r), 0);
    WF_EXPECT_EQ_INT(r.status, 200);
    WF_EXPECT_EQ_INT(r.body_len, 0);
    wf_str cl = wf_test_header(&r, "content-length");
    WF_EXPECT_EQ_MEM(cl.ptr, cl.len, "25", 2);
    wf_test_res_free(&r);
    WF_ASSERT_EQ_INT(wf_test_get(tc, "/nope", &r), 0);
    WF_EXPECT_EQ_INT(r.status, 404);
    WF_EXPECT_EQ_STR(r.body, "{\"detail\":\"Not Found\"}");
    wf_test_res_free(&r);
    wf_test_req del = {.method = "DELETE", .path = "/"};
    WF_ASSERT_EQ_INT(wf_test_request(tc, &del, &r), 0);
    WF_EXPECT_EQ_INT(r.status, 405);
    WF_EXPECT_EQ_STR(r.body, "{\"detail\":\"Method Not Allowed\"}");
    wf_test_res_free(&r);
    wf_test_req v10 = {.path = "/", .http10 = true};
    WF_ASSERT_EQ_INT(wf_test_request(tc, &v10, &r), 0);
    WF_EXPECT_EQ_STR(r.body, "{\"message\":\"Hello World\"}");
    wf_test_res_free(&r);
    wf_test_client_free(tc);
    wf_app_free(app);
}
