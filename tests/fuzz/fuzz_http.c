/* libFuzzer target for the HTTP/1.1 request parser and the chunked decoder. The input is fed as a
   connection would see it: split in two at a position taken from the first byte, then parsed as a
   sequence of pipelined requests. Build with -DWF_FUZZ_REPLAY for a plain main() that replays files.
   Seeds: tests/fuzz/h2o-http1-corpus.tar.gz (h2o, MIT, see LICENSE.h2o). */
#define WEBFW_IMPLEMENTATION
#define WF_NO_TESTING
#include "../../webfw.h"

static void parse_stream(char *buf, size_t n, size_t first) {
    size_t pos = 0, avail = first < n ? first : n;
    for (int msgs = 0; msgs < 64 && pos < n; msgs++) {
        wf_http_field fields[32];
        wf_http_head h = {.max_line = 1024, .max_head = 4096};
        wf_http_head_init(&h, fields, 32);
        int rc;
        while ((rc = wf_http_parse_head(&h, buf + pos, avail - pos)) == WF_EPARTIAL) {
            if (avail == n) return;
            avail = n;
        }
        if (rc < 0) {
            if (h.status < 400 || h.status > 505 || !h.error) __builtin_trap();
            return;
        }
        if ((size_t)rc > avail - pos || h.num_fields > 32 || h.method.len == 0) __builtin_trap();
        for (uint32_t i = 0; i < h.num_fields; i++)
            if (fields[i].name.off + fields[i].name.len > (size_t)rc ||
                fields[i].value.off + fields[i].value.len > (size_t)rc)
                __builtin_trap();
        size_t at = pos + (size_t)rc;
        if (h.chunked) {
            wf_http_chunked ck = {.max_body = 1 << 16};
            size_t used = 0, out = 0;
            int d = wf_http_dechunk(&ck, buf + at, buf + at, n - at, &used, &out);
            if (d < 0 || d == 0) return;
            if (out > used || used > n - at) __builtin_trap();
            at += used;
        } else if (h.content_length > 0) {
            if ((uint64_t)h.content_length > n - at) return;
            at += (size_t)h.content_length;
        }
        if (!h.keep_alive) return;
        pos = at;
        if (avail < pos) avail = pos;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    size_t first = size > 1 ? (size_t)data[0] * (size - 1) / 255 : 0;
    char *buf = (char *)malloc(size - 1 + 1);
    if (!buf) return 0;
    memcpy(buf, data + 1, size - 1);
    parse_stream(buf, size - 1, first);
    free(buf);
    return 0;
}

#include "replay.h"
