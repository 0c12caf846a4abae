/* The request-head parser and the chunked decoder, fed whole, split at every byte boundary, and one
   byte at a time, with the input against a guard page. */
#define _GNU_SOURCE
#include "util.h"
#include "vectors.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FIELDS 16

typedef struct outcome {
    int status;                 /* 0 while no error */
    int count;                  /* complete messages */
    bool partial;               /* stopped waiting for bytes */
    bool closed;                /* a message ended the connection (no keep-alive) */
    size_t rest;                /* bytes left unread when it closed */
    char first[256];            /* "METHOD path ?query body" of the first message */
    char last[256];
} outcome;

/* Play a byte stream through the parser like a connection does. `first` is how many bytes arrive in
   the first read (the rest arrives together), or 0 to deliver one byte per read. */
static void simulate(const char *raw, size_t n, size_t first, outcome *o) {
    char *buf = tu_guard(raw, n);
    char *body = malloc(n + 1);
    size_t avail = first ? (first < n ? first : n) : (n ? 1 : 0), pos = 0;
    memset(o, 0, sizeof *o);
    for (;;) {
        wf_http_field fields[MAX_FIELDS];
        wf_http_head h = {.max_line = 256, .max_head = 1024};
        wf_http_head_init(&h, fields, MAX_FIELDS);
        int rc;
        while ((rc = wf_http_parse_head(&h, buf + pos, avail - pos)) == WF_EPARTIAL) {
            if (avail == n) { o->partial = pos < n; goto out; }
            avail = first ? n : avail + 1;
        }
        if (rc < 0) { o->status = h.status; goto out; }
        size_t at = pos + (size_t)rc, blen = 0;
        if (h.chunked) {
            wf_http_chunked ck = {.max_body = 4096};
            for (;;) {
                size_t used = 0, out = 0;
                int d = wf_http_dechunk(&ck, body + blen, buf + at, avail - at, &used, &out);
                at += used, blen += out;
                if (d < 0) { o->status = d == WF_ETOOBIG ? 413 : 400; goto out; }
                if (d == 1) break;
                if (avail == n) { o->partial = true; goto out; }
                avail = first ? n : avail + 1;
            }
        } else if (h.content_length > 0) {
            while (avail - at < (size_t)h.content_length) {
                if (avail == n) { o->partial = true; goto out; }
                avail = first ? n : avail + 1;
            }
            memcpy(body, buf + at, (size_t)h.content_length);
            blen = (size_t)h.content_length;
            at += blen;
        }
        wf_str m = wf_span_str(buf + pos, h.method), p = wf_span_str(buf + pos, h.path);
        wf_str q = wf_span_str(buf + pos, h.query);
        snprintf(o->count ? o->last : o->first, sizeof o->first, "%.*s %.*s ?%.*s %.*s", (int)m.len, m.ptr,
                 (int)p.len, p.ptr, (int)q.len, q.ptr, (int)blen, body);
        if (!o->count) strcpy(o->last, o->first);
        o->count++;
        pos = at;
        if (!h.keep_alive) { o->closed = true; o->rest = n - pos; goto out; }
        if (pos == n) goto out;
        if (avail == pos) avail = first ? n : avail + 1;
    }
out:
    free(body);
    tu_guard_free(buf, n);
}

/* Check that every way of delivering raw gives the same outcome as delivering it whole. A failure
   names the caller's line and the case. */
static void check_splits_at(tu_at at, const char *name, const char *raw, size_t n, const outcome *whole) {
    for (size_t k = 0; k <= n; k++) {
        outcome o;
        simulate(raw, n, k, &o);
        if (o.status != whole->status || o.count != whole->count || o.partial != whole->partial ||
            strcmp(o.first, whole->first) != 0 || strcmp(o.last, whole->last) != 0) {
            wf_test_log("case %s: split %s %zu differs: status %d/%d count %d/%d partial %d/%d first "
                        "'%s'/'%s'",
                        name, k ? "at" : "byte by byte", k, o.status, whole->status, o.count, whole->count,
                        o.partial, whole->partial, o.first, whole->first);
            TU_EXPECT_TRUE_AT(at, !"every split gives the outcome of the whole");
            return;
        }
    }
}
#define check_splits(...) check_splits_at(TU_HERE, __VA_ARGS__)

typedef struct pcase {
    const char *name;
    const char *raw;
    int status;                 /* expected error status, 0 if accepted */
    int count;                  /* expected complete messages (when accepted) */
    const char *first;          /* expected first message summary, or NULL */
} pcase;

static const pcase cases[] = {
    /* valid */
    {"simple get", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 0, 1, "GET / ? "},
    {"query", "GET /p/q?x=1&y=%20 HTTP/1.1\r\nHost: a\r\n\r\n", 0, 1, "GET /p/q ?x=1&y=%20 "},
    {"fragment dropped", "GET /a?b#frag HTTP/1.1\r\nHost: a\r\n\r\n", 0, 1, "GET /a ?b "},
    {"leading empty lines", "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 0, 1, "GET / ? "},
    {"http/1.0 no host", "GET /x HTTP/1.0\r\n\r\n", 0, 1, "GET /x ? "},
    {"http/1.2 served as 1.1", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 0, 1, NULL},
    {"absolute form", "GET http://example.com:8080/p?q=1 HTTP/1.1\r\nHost: other\r\n\r\n", 0, 1,
     "GET /p ?q=1 "},
    {"absolute form no path", "GET http://example.com?q HTTP/1.1\r\nHost: example.com\r\n\r\n", 0, 1,
     "GET  ?q "},
    {"absolute userinfo", "GET https://u:p@h.com/t HTTP/1.1\r\nHost: h.com\r\n\r\n", 400, 0, NULL},
    {"asterisk not options", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400, 0, NULL},
    {"empty list elements",
     "POST / HTTP/1.1\r\nHost: a\r\nConnection: , close ,\r\nTransfer-Encoding: , chunked\r\n\r\n0\r\n\r\n"
     "GET / HTTP/1.1\r\n", 0, 1, "POST / ? "},
    {"te only commas", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: , ,\r\n\r\n", 400, 0, NULL},
    {"chunk ext bws",
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2 ; a = b ;c= \"d\" \t;e\r\nhi\r\n"
     "0\r\n\r\n", 0, 1, "POST / ? hi"},
    {"chunk ext bws then crlf",
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2;a \r\nhi\r\n0\r\n\r\n", 400, 0, NULL},
    {"asterisk", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 0, 1, "OPTIONS * ? "},
    {"connect authority", "CONNECT h.com:443 HTTP/1.1\r\nHost: h.com:443\r\n\r\n", 0, 1,
     "CONNECT h.com:443 ? "},
    {"connect ipv6", "CONNECT [::1]:443 HTTP/1.1\r\nHost: a\r\n\r\n", 0, 1, "CONNECT [::1]:443 ? "},
    {"any token method", "PURGE /x HTTP/1.1\r\nHost: a\r\n\r\n", 0, 1, "PURGE /x ? "},
    {"content-length body", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", 0, 1,
     "POST / ? hello"},
    {"content-length leading zeros", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 005\r\n\r\nhello", 0, 1,
     "POST / ? hello"},
    {"content-length same repeated",
     "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi", 0, 1, NULL},
    {"content-length list same", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2, 2\r\n\r\nhi", 0, 1, NULL},
    {"ows around values", "POST / HTTP/1.1\r\nHost:   a \t\r\nContent-Length:\t2 \r\n\r\nhi", 0, 1, NULL},
    {"chunked",
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n"
     "\r\n", 0, 1, "POST / ? hello world"},
    {"chunked upper hex, ext",
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\nA;x=y;z=\"q\\\"\"\r\n0123456789\r\n"
     "0;last\r\n\r\n", 0, 1, "POST / ? 0123456789"},
    {"chunked trailers",
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\nT1: v\r\nT2: w\r\n"
     "\r\n", 0, 1, "POST / ? x"},
    {"keep-alive then close",
     "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /3 "
     "HTTP/1.1\r\nHost: a\r\n\r\n", 0, 2, "GET /1 ? "},
    {"pipelined three",
     "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nxGET /3 "
     "HTTP/1.1\r\nHost: a\r\n\r\n", 0, 3, "GET /1 ? "},
    {"1.0 closes", "GET /1 HTTP/1.0\r\n\r\nGET /2 HTTP/1.0\r\n\r\n", 0, 1, NULL},
    {"1.0 keep-alive", "GET /1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\n\r\n", 0, 2,
     NULL},
    {"connection list close",
     "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Close\r\n\r\nGET / HTTP/1.1\r\n", 0, 1, NULL},
    {"obs-text value", "GET / HTTP/1.1\r\nHost: a\r\nX: D\xc3\xbc\x80\xff\r\n\r\n", 0, 1, NULL},
    {"empty host value", "GET / HTTP/1.1\r\nHost:\r\n\r\n", 0, 1, NULL},
    {"ipv6 host", "GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", 0, 1, NULL},
    {"expect continue", "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nz", 0,
     1, NULL},
    /* incomplete */
    {"partial head", "GET / HTTP/1.1\r\nHost: a\r\n", 0, 0, NULL},
    {"partial body", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc", 0, 0, NULL},
    {"partial chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", 0, 0,
     NULL},
    /* smuggling and malformed: 400 */
    {"cl and te",
     "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
     "", 400, 0, NULL},
    {"te and cl",
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n"
     "", 400, 0, NULL},
    {"cl differing", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400, 0,
     NULL},
    {"cl list differing", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 2\r\n\r\nab", 400, 0, NULL},
    {"cl negative", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400, 0, NULL},
    {"cl plus", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\nx", 400, 0, NULL},
    {"cl non numeric", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\nx", 400, 0, NULL},
    {"cl inner space", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\nx", 400, 0, NULL},
    {"cl hex", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\nx", 400, 0, NULL},
    {"cl empty", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400, 0, NULL},
    {"cl overflow", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400, 0,
     NULL},
    {"te in http/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, 0, NULL},
    {"te chunked twice", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
     400, 0, NULL},
    {"te chunked twice lines",
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
     "", 400, 0, NULL},
    {"te chunked not last", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400, 0,
     NULL},
    {"te empty", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", 400, 0, NULL},
    {"te quoted junk", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \"chunked\"\r\n\r\n", 400, 0, NULL},
    {"chunk size negative",
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\nx\r\n0\r\n\r\n", 400, 0, NULL},
    {"chunk size overflow",
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\nx\r\n"
     "", 400, 0, NULL},
    {"chunk size space",
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1 \r\nx\r\n0\r\n\r\n", 400, 0, NULL},
    {"chunk size empty", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\r\nx\r\n0\r\n\r\n",
     400, 0, NULL},
    {"chunk data too long",
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy\r\n0\r\n\r\n", 400, 0, NULL},
    {"chunk lf only", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\nx\r\n0\r\n\r\n",
     400, 0, NULL},
    {"chunk ext empty name",
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;\r\nx\r\n0\r\n\r\n", 400, 0, NULL},
    {"chunk ext bad quote",
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;a=\"\x01\"\r\nx\r\n0\r\n\r\n"
     "", 400, 0, NULL},
    {"trailer bad",
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad trailer\r\n\r\n"
     "", 400, 0, NULL},
    {"chunked too large", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nfffff\r\n", 413, 0,
     NULL},
    {"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", 400, 0, NULL},
    {"leading space first field", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400, 0, NULL},
    {"space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, 0, NULL},
    {"tab before colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400, 0, NULL},
    {"empty field name", "GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n", 400, 0, NULL},
    {"no colon", "GET / HTTP/1.1\r\nHost: a\r\nnocolon\r\n\r\n", 400, 0, NULL},
    {"ctl in name", "GET / HTTP/1.1\r\nHost: a\r\nX\x01Y: z\r\n\r\n", 400, 0, NULL},
    {"ctl in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x01z\r\n\r\n", 400, 0, NULL},
    {"form feed in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x0cz\r\n\r\n", 400, 0, NULL},
    {"del in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fz\r\n\r\n", 400, 0, NULL},
    {"bare cr in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 400, 0, NULL},
    {"bare cr end of head", "GET / HTTP/1.1\r\nHost: a\r\n\rX\r\n\r\n", 400, 0, NULL},
    {"bare lf header", "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n", 400, 0, NULL},
    {"bare lf request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", 400, 0, NULL},
    {"bare lf end", "GET / HTTP/1.1\r\nHost: a\r\n\n", 400, 0, NULL},
    {"bare cr request line", "GET /\rx HTTP/1.1\r\nHost: a\r\n\r\n", 400, 0, NULL},
    {"missing host", "GET / HTTP/1.1\r\n\r\n", 400, 0, NULL},
    {"repeated host", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400, 0, NULL},
    {"host with space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, 0, NULL},
    {"host with slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400, 0, NULL},
    {"host bad port", "GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", 400, 0, NULL},
    {"host at sign", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400, 0, NULL},
    {"host repeated 1.0", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400, 0, NULL},
    {"nul in target", "GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n", 400, 0, NULL},
    {"space in target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400, 0, NULL},
    {"utf8 in target", "GET /\xce\xb4 HTTP/1.1\r\nHost: a\r\n\r\n", 400, 0, NULL},
    {"double space", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400, 0, NULL},
    {"empty method", " / HTTP/1.1\r\nHost: a\r\n\r\n", 400, 0, NULL},
    {"bad method char", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, 0, NULL},
    {"relative target", "GET foo HTTP/1.1\r\nHost: a\r\n\r\n", 400, 0, NULL},
    {"asterisk junk", "OPTIONS *x HTTP/1.1\r\nHost: a\r\n\r\n", 400, 0, NULL},
    {"connect origin-form", "CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n", 400, 0, NULL},
    {"connect no port", "CONNECT h.com HTTP/1.1\r\nHost: a\r\n\r\n", 400, 0, NULL},
    {"connect bad port", "CONNECT h.com:x1 HTTP/1.1\r\nHost: a\r\n\r\n", 400, 0, NULL},
    {"connect port 0", "CONNECT h.com:0 HTTP/1.1\r\nHost: a\r\n\r\n", 400, 0, NULL},
    {"connect port 99999", "CONNECT h.com:99999 HTTP/1.1\r\nHost: a\r\n\r\n", 400, 0, NULL},
    {"connect two ports", "CONNECT h.com:443:443 HTTP/1.1\r\nHost: a\r\n\r\n", 400, 0, NULL},
    {"connect absolute", "CONNECT http://h.com:80/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, 0, NULL},
    {"authority-form not CONNECT", "GET h.com:443 HTTP/1.1\r\nHost: a\r\n\r\n", 400, 0, NULL},
    {"absolute no host", "GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n", 400, 0, NULL},
    {"http/0.9", "GET /\r\n\r\n", 400, 0, NULL},
    {"lowercase version", "GET / http/1.1\r\nHost: a\r\n\r\n", 400, 0, NULL},
    {"rtsp", "GET / RTSP/1.0\r\nHost: a\r\n\r\n", 400, 0, NULL},
    {"version junk", "GET / HTTP/1.1x\r\nHost: a\r\n\r\n", 400, 0, NULL},
    {"version two digits", "GET / HTTP/11.1\r\nHost: a\r\n\r\n", 400, 0, NULL},
    /* not supported */
    {"http/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, 0, NULL},
    {"te gzip", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501, 0, NULL},
    {"te gzip chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
     501, 0, NULL},
    {"te identity", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n", 501, 0, NULL},
    {"expect other", "POST / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\nx", 417, 0,
     NULL},
    /* limits (max_line 256, max_head 1024, 16 fields in simulate) */
    {"line too long",
     "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: a\r\n\r\n"
     "", 414, 0, NULL},
    {"too many fields",
     "GET / HTTP/1.1\r\nHost: a\r\n1: a\r\n2: a\r\n3: a\r\n4: a\r\n5: a\r\n6: a\r\n7: a\r\n8: a\r\n9: a\r\n"
     "10: a\r\n11: a\r\n12: a\r\n13: a\r\n14: a\r\n15: a\r\n16: a\r\n\r\n", 431, 0, NULL},
};

/* One case of the table, whole and split; a failure names the caller's line and the case. */
static void run_case_at(tu_at at, const pcase *c, size_t n) {
    outcome whole;
    bool ok;
    simulate(c->raw, n, n, &whole);
    if (c->status) {
        ok = TU_EXPECT_EQ_INT_AT(at, whole.status, c->status);
    } else {
        ok = TU_EXPECT_EQ_INT_AT(at, whole.status, 0);
        ok = TU_EXPECT_EQ_INT_AT(at, whole.count, c->count) && ok;
        if (c->first) ok = TU_EXPECT_EQ_STR_AT(at, whole.first, c->first) && ok;
    }
    if (!ok) wf_test_log("  in case '%s'", c->name);
    check_splits_at(at, c->name, c->raw, n, &whole);
}
#define run_case(...) run_case_at(TU_HERE, __VA_ARGS__)

WF_TEST(parser_cases_whole_and_split_at_every_byte) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const pcase *c = &cases[i];
        size_t n = strlen(c->raw);
        if (strcmp(c->name, "nul in target") == 0) n = 24;    /* holds a NUL */
        run_case(c, n);
    }
}

WF_TEST(parser_head_too_large_431) {
    char raw[2048];
    int n = snprintf(raw, sizeof raw, "GET / HTTP/1.1\r\nHost: a\r\nX: %0900d\r\nY: %0200d\r\n\r\n", 0, 0);
    outcome o;
    simulate(raw, (size_t)n, (size_t)n, &o);
    WF_EXPECT_EQ_INT(o.status, 431);
    /* and a head that never ends is refused once it passes the limit, without waiting for CRLF */
    n = snprintf(raw, sizeof raw, "GET / HTTP/1.1\r\nHost: a\r\nX: %01100d", 0);
    simulate(raw, (size_t)n, (size_t)n, &o);
    WF_EXPECT_EQ_INT(o.status, 431);
    n = snprintf(raw, sizeof raw, "GET /%0300d", 0);
    simulate(raw, (size_t)n, (size_t)n, &o);
    WF_EXPECT_EQ_INT(o.status, 414);
}

WF_TEST(parser_results_and_fields) {
    const char *raw = "POST http://h.example:81/a/b?c=d HTTP/1.1\r\nHost: ignored\r\nX-A:  1 \r\n"
                      "x-a: 2\r\nConnection: keep-alive, Upgrade\r\nContent-Length: 0\r\n\r\n";
    wf_http_field f[8];
    wf_http_head h = {0};
    wf_http_head_init(&h, f, 8);
    int rc = wf_http_parse_head(&h, raw, strlen(raw));
    WF_ASSERT_EQ_INT(rc, (int)strlen(raw));
    WF_EXPECT_EQ_INT(h.num_fields, 5);
    wf_str host = wf_span_str(raw, h.host), v1 = wf_span_str(raw, f[1].value), n2 = wf_span_str(raw,
                                                                                                f[2].name);
    WF_EXPECT_EQ_MEM(host.ptr, host.len, "h.example:81", 12);
    WF_EXPECT_EQ_MEM(v1.ptr, v1.len, "1", 1);
    WF_EXPECT_EQ_MEM(n2.ptr, n2.len, "x-a", 3);
    WF_EXPECT_TRUE(h.upgrade);
    WF_EXPECT_TRUE(h.keep_alive);
    WF_EXPECT_EQ_INT(h.content_length, 0);
    WF_EXPECT_EQ_INT(h.minor, 1);
}

WF_TEST(dechunk_in_place_every_split) {
    const char *body = "4\r\nWiki\r\n5;a=b\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX: y\r\n\r\nNEXT";
    size_t n = strlen(body);
    for (size_t k = 0; k <= n; k++) {
        char *buf = tu_guard(body, n);
        wf_http_chunked ck = {0};
        size_t used = 0, out = 0, u2 = 0, o2 = 0;
        int rc = wf_http_dechunk(&ck, buf, buf, k, &used, &out);
        if (rc != 1) {
            /* the caller keeps the unconsumed tail; decode it in place after the output */
            memmove(buf + out, buf + used, n - used);
            rc = wf_http_dechunk(&ck, buf + out, buf + out, n - used, &u2, &o2);
            used += u2;
            out += o2;
        }
        WF_ASSERT_EQ_INT(rc, 1);
        WF_ASSERT_EQ_INT(used, n - 4);
        WF_ASSERT_EQ_MEM(buf, out, "Wikipedia in\r\n\r\nchunks.", 23);
        WF_ASSERT_EQ_INT(ck.total, 23);
        tu_guard_free(buf, n);
    }
}

WF_TEST(dechunk_limits) {
    char buf[64];
    size_t used, out;
    wf_http_chunked ck = {.max_body = 3};
    strcpy(buf, "4\r\nabcd\r\n0\r\n\r\n");
    WF_EXPECT_EQ_INT(wf_http_dechunk(&ck, buf, buf, strlen(buf), &used, &out), WF_ETOOBIG);
    wf_http_chunked ck2 = {.max_trailer = 8};
    strcpy(buf, "0\r\nLong-Trailer: value\r\n\r\n");
    WF_EXPECT_EQ_INT(wf_http_dechunk(&ck2, buf, buf, strlen(buf), &used, &out), WF_ETOOBIG);
    /* an error is sticky */
    WF_EXPECT_EQ_INT(wf_http_dechunk(&ck2, buf, "0\r\n\r\n", 5, &used, &out), WF_EPARSE);
}

/* ---- llhttp's request cases, replayed through the parser ---- */

WF_TEST(llhttp_request_vectors) {
    static vcase v[400];
    int n = vectors_load(v, 400);
    WF_ASSERT_GT_INT(n, 150);
    int checked = 0;
    for (int i = 0; i < n; i++) {
        outcome o;
        simulate(v[i].raw, v[i].n, v[i].n, &o);
        check_splits(v[i].id, v[i].raw, v[i].n, &o);
        const char *dev = vectors_deviation(&v[i]), *oc = v[i].outcome;
        /* finish.md is about llhttp_finish() at end of stream, not leniency */
        bool lenient = !v[i].strict && strncmp(v[i].id, "finish.md", 9) != 0;
        bool want_reject = strcmp(oc, "reject") == 0;
        if (strcmp(oc, "upgrade-or-connect") == 0 || strcmp(oc, "parser-api-specific") == 0) continue;
        if (dev) want_reject = strncmp(dev, "reject", 6) == 0;
        checked++;
        if (dev && strncmp(dev, "first", 5) == 0) {
            WF_EXPECT_EQ_INT(o.count, 1);
            WF_EXPECT_EQ_INT(o.status, 400);
        } else if (lenient) {
            /* needs a lenient llhttp flag: a strict server refuses it, or answers the first request
               and closes before reaching the part that needs leniency */
            if (!o.status && !(o.closed && o.rest))
                wf_test_log("%s: lenient case accepted: %d messages", v[i].id, o.count);
            WF_EXPECT_TRUE(o.status >= 400 || (o.closed && o.rest > 0));
        } else if (want_reject) {
            if (!o.status) wf_test_log("%s: expected a rejection, got %d messages", v[i].id, o.count);
            WF_EXPECT_TRUE(o.status >= 400);
        } else if (strcmp(oc, "incomplete") == 0) {
            if (o.status || !o.partial) wf_test_log("%s: expected to wait for more, got status %d", v[i].id,
                                                    o.status);
            WF_EXPECT_TRUE(o.status == 0 && o.partial);
        } else {
            if (o.status) wf_test_log("%s: expected acceptance, got %d", v[i].id, o.status);
            WF_EXPECT_EQ_INT(o.status, 0);
            if (strcmp(oc, "accept") == 0 && !dev) WF_EXPECT_EQ_INT(o.count, v[i].messages);
            if (strcmp(oc, "respond-then-close") == 0) WF_EXPECT_TRUE(o.closed);
        }
    }
    vectors_free(v, n);
    wf_test_log("%d of %d llhttp cases checked", checked, n);
    WF_EXPECT_GT_INT(checked, 140);
}
