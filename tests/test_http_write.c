/* The response writers of >>http: pure functions into a buffer, checked byte for byte, and read back
   by the parsers a client would use (the chunked decoder for chunks). */
#include "util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* r written into a fresh buffer, as a NUL-terminated string in out[cap]. */
static int head_text(const wf_http_response *r, char *out, size_t cap) {
    wf_buf b = {0};
    int rc = wf_http_write_head(&b, r);
    snprintf(out, cap, "%.*s", (int)b.len, b.ptr ? b.ptr : "");
    wf_buf_free(&b);
    return rc;
}

WF_TEST(http_write_head_framing) {
    char out[512];
    wf_http_response r = {.status = 200, .content_length = 13};
    WF_ASSERT_EQ_INT(head_text(&r, out, sizeof out), 0);
    WF_EXPECT_EQ_STR(out, "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n");

    r = (wf_http_response){.status = 404, .date = "Sat, 28 Nov 2026 16:20:00 GMT", .content_length = 0,
                           .fields = {"Content-Type: application/json\r\n", 32}, .close = true};
    WF_ASSERT_EQ_INT(head_text(&r, out, sizeof out), 0);
    WF_EXPECT_EQ_STR(out,
                     "HTTP/1.1 404 Not Found\r\nDate: Sat, 28 Nov 2026 16:20:00 GMT\r\nContent-Length: 0\r\n"
                     "Content-Type: application/json\r\nConnection: close\r\n\r\n");

    /* chunked: no Content-Length whatever content_length says; an HTTP/1.0 connection kept open */
    r = (wf_http_response){.status = 201, .content_length = 99, .chunked = true, .keep_alive = true};
    WF_ASSERT_EQ_INT(head_text(&r, out, sizeof out), 0);
    WF_EXPECT_EQ_STR(out,
                     "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n");

    /* no body framing at all (a 304, a stream to an HTTP/1.0 client), and a status out of range */
    r = (wf_http_response){.status = 304, .content_length = -1};
    WF_ASSERT_EQ_INT(head_text(&r, out, sizeof out), 0);
    WF_EXPECT_EQ_STR(out, "HTTP/1.1 304 Not Modified\r\n\r\n");
    r = (wf_http_response){.status = 1000, .content_length = -1};
    WF_ASSERT_EQ_INT(head_text(&r, out, sizeof out), 0);
    WF_EXPECT_EQ_STR(out, "HTTP/1.1 500 Internal Server Error\r\n\r\n");
    r = (wf_http_response){.status = 299, .content_length = INT64_MAX};
    WF_ASSERT_EQ_INT(head_text(&r, out, sizeof out), 0);
    WF_EXPECT_EQ_STR(out, "HTTP/1.1 299 Unknown\r\nContent-Length: 9223372036854775807\r\n\r\n");
}

WF_TEST(http_write_head_appends) {
    wf_buf b = {0};
    wf_http_response r = {.status = 200, .content_length = 2};
    wf_buf_append(&b, "xyz", 3);                /* what was there stays */
    WF_ASSERT_EQ_INT(wf_http_write_head(&b, &r), 0);
    WF_ASSERT_EQ_INT(wf_http_write_head(&b, &r), 0);
    static const char want[] = "xyzHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"
                               "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n";
    WF_EXPECT_EQ_MEM(b.ptr, b.len, want, sizeof want - 1);
    wf_buf_free(&b);
}

WF_TEST(http_write_chunks_read_back) {
    wf_buf b = {0};
    static char big[70000];
    for (size_t i = 0; i < sizeof big; i++) big[i] = (char)('a' + i % 26);
    WF_ASSERT_EQ_INT(wf_http_write_chunk(&b, "hello", 5), 0);
    WF_EXPECT_EQ_MEM(b.ptr, b.len, "5\r\nhello\r\n", (size_t)10);
    WF_ASSERT_EQ_INT(wf_http_write_chunk(&b, "ignored", 0), 0);     /* an empty chunk would end the body */
    WF_EXPECT_EQ_SIZE(b.len, 10);
    WF_ASSERT_EQ_INT(wf_http_write_chunk(&b, big, sizeof big), 0);
    WF_EXPECT_EQ_MEM(b.ptr + 10, 6, "11170\r", (size_t)6);           /* 70000 in hex */
    WF_ASSERT_EQ_INT(wf_http_write_last_chunk(&b), 0);
    WF_EXPECT_EQ_MEM(b.ptr + b.len - 5, 5, "0\r\n\r\n", (size_t)5);
    /* the decoder a client uses reads it back whole */
    wf_http_chunked dec;
    memset(&dec, 0, sizeof dec);
    size_t used = 0, outn = 0;
    char *copy = malloc(b.len);
    memcpy(copy, b.ptr, b.len);
    WF_EXPECT_EQ_INT(wf_http_dechunk(&dec, copy, copy, b.len, &used, &outn), 1);
    WF_EXPECT_EQ_SIZE(used, b.len);
    WF_ASSERT_EQ_SIZE(outn, 5 + sizeof big);
    WF_EXPECT_EQ_MEM(copy, 5, "hello", (size_t)5);
    WF_EXPECT_TRUE(memcmp(copy + 5, big, sizeof big) == 0);
    free(copy);
    wf_buf_free(&b);
}

WF_TEST(buf_cstr_is_a_terminated_view) {
    wf_buf b = {0};
    WF_EXPECT_EQ_STR(wf_buf_cstr(&b), "");          /* even an empty buffer */
    WF_EXPECT_EQ_SIZE(b.len, 0);
    wf_buf_append(&b, "abc", 3);
    WF_EXPECT_EQ_STR(wf_buf_cstr(&b), "abc");
    WF_EXPECT_EQ_SIZE(b.len, 3);
    wf_buf_append(&b, "d", 1);                      /* the NUL is not counted: appending goes on after it */
    WF_EXPECT_EQ_STR(wf_buf_cstr(&b), "abcd");
    wf_buf_free(&b);
}

WF_TEST(http_reason_phrases_of_the_registry) {
    static const struct { int status; const char *phrase; } cases[] = {
        {103, "Early Hints"}, {207, "Multi-Status"}, {226, "IM Used"}, {418, "I'm a Teapot"},
        {421, "Misdirected Request"}, {425, "Too Early"}, {451, "Unavailable For Legal Reasons"},
        {507, "Insufficient Storage"}, {508, "Loop Detected"}, {511, "Network Authentication Required"},
        {413, "Content Too Large"}, {299, "Unknown"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        WF_EXPECT_EQ_STR(wf_http_reason(cases[i].status), cases[i].phrase);
    char out[256];
    wf_http_response r = {.status = 451, .content_length = 0};
    WF_ASSERT_EQ_INT(head_text(&r, out, sizeof out), 0);
    WF_EXPECT_EQ_STR(out, "HTTP/1.1 451 Unavailable For Legal Reasons\r\nContent-Length: 0\r\n\r\n");
}
