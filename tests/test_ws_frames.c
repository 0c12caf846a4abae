/* The WebSocket frame reader and writer (RFC 6455 5). Every byte stream is fed to a fresh reader
   whole, split in two at every byte boundary and one byte at a time, each piece in a buffer of its
   own against a guard page, and the events must be the expected ones every time. The cases follow
   Autobahn|Testsuite's sections 1-7 and 9 at the parser level (its UTF-8 cases are in
   tests/vectors/autobahn-utf8.h, Apache-2.0, see tests/vectors/LICENSE.autobahn-testsuite); UTF-8 is
   also checked against a validator written here, the writer is read back by the reader, and the
   accept key is checked against Python's hashlib. */
#define _GNU_SOURCE
#include "util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vectors/autobahn-utf8.h"

/* ---- what the reader gave, and what it should give ---- */

#define MAX_EVENTS 40

typedef struct got_ev {
    int opcode, code, fail;
    size_t len;
    char *data;                 /* a copy */
} got_ev;

typedef struct got {
    got_ev ev[MAX_EVENTS];
    int n;
    bool ended;                 /* a close or a failure was given */
    const char *broken;         /* the rule of the calling convention the reader broke, or NULL */
} got;

typedef struct want_ev {
    int opcode;
    const char *data;
    size_t len;
    int code, fail;
} want_ev;
#define W_MSG(op, s) {(op), (s), sizeof(s) - 1, 0, 0}
#define W_TEXT(s) W_MSG(WF_WS_TEXT, s)
#define W_BIN(s) W_MSG(WF_WS_BINARY, s)
#define W_PING(s) W_MSG(WF_WS_PING, s)
#define W_PONG(s) W_MSG(WF_WS_PONG, s)
#define W_CLOSE(c, s) {WF_WS_CLOSE, (s), sizeof(s) - 1, (c), 0}
#define W_FAIL(c) {0, NULL, 0, 0, (c)}
#define NW(w) ((int)(sizeof(w) / sizeof((w)[0])))

static void got_free(got *g) {
    for (int i = 0; i < g->n; i++) free(g->ev[i].data);
    memset(g, 0, sizeof *g);
}

/* Feed buf[0..len) as the documentation says a caller does: call again while bytes remain or an
   event was given. Records the events and checks the convention. */
static void feed(wf_ws_parser *p, char *buf, size_t len, got *g) {
    size_t pos = 0;
    while (!g->broken) {
        wf_ws_event ev;
        memset(&ev, 0x5A, sizeof ev);
        size_t rest = len - pos, used = wf_ws_parse(p, buf + pos, rest, &ev);
        if (used > rest) {
            g->broken = "used more bytes than it was given";
            return;
        }
        pos += used;
        bool event = ev.opcode != 0;
        if (g->ended && (event || ev.fail || used != rest)) {
            g->broken = "after a close or a failure, a call gave an event or left bytes";
            return;
        }
        if (event || ev.fail) {
            if (event && ev.fail) g->broken = "an event with a failure";
            else if (ev.opcode != WF_WS_TEXT && ev.opcode != WF_WS_BINARY && ev.opcode != WF_WS_PING &&
                     ev.opcode != WF_WS_PONG && ev.opcode != WF_WS_CLOSE && event)
                g->broken = "an unknown opcode";
            else if (event && ev.len && !ev.data) g->broken = "data NULL with a length";
            else if (ev.fail && used != rest) g->broken = "a failure left bytes unused";
            else if (ev.opcode == WF_WS_CLOSE && used != rest) g->broken = "a close left bytes unused";
            else if (g->n == MAX_EVENTS) g->broken = "too many events";
            if (g->broken) return;
            got_ev *e = &g->ev[g->n++];
            e->opcode = ev.opcode;
            e->fail = ev.fail;
            e->code = ev.opcode == WF_WS_CLOSE ? ev.code : 0;
            e->len = event ? ev.len : 0;
            e->data = malloc(e->len ? e->len : 1);
            if (e->len) memcpy(e->data, ev.data, e->len);
            g->ended = ev.fail || ev.opcode == WF_WS_CLOSE;
        }
        if (!event && pos == len) return;
        if (!event && used == 0) {
            g->broken = "no bytes used and no event while bytes remained";
            return;
        }
    }
}

/* Feed raw[0..n) to a fresh reader with the options of opts: the first piece is [0, first), then
   pieces of step bytes (0: the rest at once). With guard, each piece is copied right before a guard
   page of its own; else the pieces are views of one copy (big inputs). */
static void run(const wf_ws_parser *opts, const char *raw, size_t n, size_t first, size_t step, bool guard,
                got *g) {
    wf_ws_parser p = *opts;
    char *all = guard ? NULL : malloc(n ? n : 1);
    if (all) memcpy(all, raw, n);
    memset(g, 0, sizeof *g);
    size_t at = 0, piece = first < n ? first : n;
    for (;;) {
        if (guard) {
            char *b = tu_guard(raw + at, piece);
            feed(&p, b, piece, g);
            tu_guard_free(b, piece);
        } else {
            feed(&p, all + at, piece, g);
        }
        at += piece;
        if (at == n || g->broken) break;
        piece = step && step < n - at ? step : n - at;
    }
    free(all);
    wf_ws_parser_free(&p);
}

static const char *op_name(int op) {
    switch (op) {
    case WF_WS_TEXT: return "TEXT";
    case WF_WS_BINARY: return "BINARY";
    case WF_WS_PING: return "PING";
    case WF_WS_PONG: return "PONG";
    case WF_WS_CLOSE: return "CLOSE";
    default: return "?";
    }
}

/* A short description of an event: "TEXT 5 'Hello'", "CLOSE 1000 0 ''", "FAIL 1002". */
static void describe(char *out, size_t cap, int opcode, int code, int fail, const char *d, size_t len) {
    if (!opcode) {
        snprintf(out, cap, "FAIL %d", fail);
        return;
    }
    char shown[40];
    size_t k = 0;
    for (size_t i = 0; i < len && k + 5 < sizeof shown; i++) {
        unsigned char c = (unsigned char)d[i];
        k += (size_t)snprintf(shown + k, sizeof shown - k, c >= 32 && c < 127 ? "%c" : "\\x%02x", c);
    }
    shown[k] = 0;
    if (opcode == WF_WS_CLOSE) snprintf(out, cap, "CLOSE %d %zu '%s'", code, len, shown);
    else snprintf(out, cap, "%s %zu '%s%s'", op_name(opcode), len, shown, len > 8 ? "..." : "");
}

/* Whether g holds want[0..nw); else why in why[]. */
static bool same(const got *g, const want_ev *w, int nw, char *why, size_t cap) {
    if (g->broken) {
        snprintf(why, cap, "the reader broke its convention: %s (after %d events)", g->broken, g->n);
        return false;
    }
    for (int i = 0; i < g->n || i < nw; i++) {
        char a[96] = "nothing", b[96] = "nothing";
        const got_ev *e = i < g->n ? &g->ev[i] : NULL;
        const want_ev *x = i < nw ? &w[i] : NULL;
        if (e) describe(a, sizeof a, e->opcode, e->code, e->fail, e->data, e->len);
        if (x) describe(b, sizeof b, x->opcode, x->code, x->fail, x->data, x->len);
        bool eq = e && x && e->opcode == x->opcode && e->fail == x->fail && e->code == x->code &&
                  e->len == x->len && (!e->len || memcmp(e->data, x->data, e->len) == 0);
        if (!eq) {
            snprintf(why, cap, "event %d: got %s, expected %s (%d events, %d expected)", i, a, b, g->n, nw);
            return false;
        }
    }
    return true;
}

/* The stream gives want[0..nw) fed whole, split at every byte boundary, and byte by byte. A failure
   names the caller's line, the case and the first way of feeding that differs. Pieces are against
   guard pages, but for a stream of more than 300 bytes only those of the splits near its ends. */
static bool check_at(tu_at at, const char *name, const wf_ws_parser *opts, const char *raw, size_t n,
                     const want_ev *w, int nw) {
    char why[400];
    got g;
    for (size_t k = 0; k <= n + 1; k++) {
        bool bytewise = k == n + 1;
        bool guard = n <= 300 || (!bytewise && (k <= 32 || k + 32 >= n));
        run(opts, raw, n, bytewise ? 1 : k, bytewise ? 1 : 0, guard, &g);
        bool ok = same(&g, w, nw, why, sizeof why);
        got_free(&g);
        if (!ok) {
            if (bytewise) wf_test_log("case %s (%zu bytes), byte by byte: %s", name, n, why);
            else wf_test_log("case %s (%zu bytes), split at %zu: %s", name, n, k, why);
            return TU_EXPECT_TRUE_AT(at, !"every way of feeding gives the expected events");
        }
    }
    return true;
}
#define check(...) check_at(TU_HERE, __VA_ARGS__)

/* The same for a big stream: whole, in chunks of each size of chunks[], byte by byte (up to 128 KiB),
   and split at the first and last 5 positions; the pieces are views of one copy. */
static bool check_big_at(tu_at at, const char *name, const wf_ws_parser *opts, const char *raw, size_t n,
                         const want_ev *w, int nw, const size_t *chunks, int nchunks) {
    char why[400];
    got g;
    for (int i = -1; i <= nchunks + 12; i++) {
        size_t first, step = 0;
        if (i == -1) first = n;
        else if (i < nchunks) first = step = chunks[i];
        else if (i == nchunks) first = step = 1;
        else if (i - nchunks <= 6) first = (size_t)(i - nchunks - 1);
        else first = n - (size_t)(i - nchunks - 7);
        if (first > n || (i == nchunks && n > 128 * 1024)) continue;
        run(opts, raw, n, first, step, false, &g);
        bool ok = same(&g, w, nw, why, sizeof why);
        got_free(&g);
        if (!ok) {
            wf_test_log("case %s (%zu bytes), first piece %zu then pieces of %zu: %s", name, n, first, step,
                        why);
            return TU_EXPECT_TRUE_AT(at, !"every way of feeding gives the expected events");
        }
    }
    return true;
}
#define check_big(...) check_big_at(TU_HERE, __VA_ARGS__)

/* Feed raw[0..n) once (first piece, then pieces of step), views of one copy: want[0..nw). */
static bool check_once_at(tu_at at, const char *name, const wf_ws_parser *opts, const char *raw, size_t n,
                          size_t first, size_t step, const want_ev *w, int nw) {
    char why[400];
    got g;
    run(opts, raw, n, first, step, false, &g);
    bool ok = same(&g, w, nw, why, sizeof why);
    got_free(&g);
    if (!ok)
        wf_test_log("case %s (%zu bytes), first piece %zu then pieces of %zu: %s", name, n, first, step, why);
    return TU_EXPECT_TRUE_AT(at, ok);
}
#define check_once(...) check_once_at(TU_HERE, __VA_ARGS__)

/* ---- building streams ---- */

static const uint8_t masks[][4] = {
    {0x00, 0x00, 0x00, 0x00}, {0xFF, 0xFF, 0xFF, 0xFF}, {0x37, 0xFA, 0x21, 0x3D}, {0x01, 0x80, 0x7F, 0xFE}};
#define NMASKS 4

static const wf_ws_parser server = {0}, client = {.client = true};

/* Append a frame made by the writer under test. */
static void frame(wf_buf *s, int op, bool fin, const void *d, size_t n, const uint8_t *m) {
    if (wf_ws_frame(s, op, fin, d, n, m) != 0) abort();
}

/* Append a frame written here, independently of the writer: the first byte b0 as given (FIN, RSV,
   opcode), the length len in the form 7, 16 or 64 (0: the shortest), the mask m (NULL: none), then
   d[0..n) masked. len need not be n. */
static void hand(wf_buf *s, uint8_t b0, int form, uint64_t len, const void *d, size_t n, const uint8_t *m) {
    uint8_t h[14];
    size_t k = 0;
    if (!form) form = len < 126 ? 7 : len < 65536 ? 16 : 64;
    h[k++] = b0;
    h[k++] = (uint8_t)((m ? 0x80 : 0) | (form == 7 ? len : form == 16 ? 126 : 127));
    for (int b = form == 16 ? 1 : form == 64 ? 7 : -1; b >= 0; b--) h[k++] = (uint8_t)(len >> (8 * b));
    if (m) memcpy(h + k, m, 4), k += 4;
    if (wf_buf_append(s, h, k) < 0 || wf_buf_reserve(s, n) < 0) abort();
    for (size_t i = 0; i < n; i++) s->ptr[s->len++] = (char)(((const uint8_t *)d)[i] ^ (m ? m[i & 3] : 0));
}
#define FIN 0x80

/* A close frame's payload: the code (big-endian) and the reason. Returns its length. */
static size_t close_payload(char *out, int code, const char *reason, size_t rlen) {
    out[0] = (char)(code >> 8);
    out[1] = (char)code;
    memcpy(out + 2, reason, rlen);
    return 2 + rlen;
}

static want_ev w_data(int op, const char *d, size_t n) { return (want_ev){op, d, n, 0, 0}; }
static want_ev w_fail(int code) { return (want_ev){0, NULL, 0, 0, code}; }

/* ---- a UTF-8 validator of our own (RFC 3629), from the code-point arithmetic rather than tables ---- */

/* The index of the first byte of s[0..n) that cannot be where it is in well-formed UTF-8 (no text
   that starts with s[0..i] is well-formed), or n if there is none; *partial: s ends inside a
   character. */
static size_t ref_utf8_bad(const uint8_t *s, size_t n, bool *partial) {
    size_t i = 0;
    *partial = false;
    while (i < n) {
        uint8_t b = s[i];
        int need;
        uint32_t cp, min;
        if (b < 0x80) {
            i++;
            continue;
        }
        if ((b & 0xE0) == 0xC0) need = 1, cp = b & 0x1Fu, min = 0x80;
        else if ((b & 0xF0) == 0xE0) need = 2, cp = b & 0x0Fu, min = 0x800;
        else if ((b & 0xF8) == 0xF0) need = 3, cp = b & 0x07u, min = 0x10000;
        else return i;                                  /* a continuation byte, or F8-FF */
        /* the values this lead byte can start, [lo, hi], must not all be out of range */
        uint32_t lo = cp << (6 * need), hi = lo | ((1u << (6 * need)) - 1);
        if (hi < min || lo > 0x10FFFF) return i;
        i++;
        for (int k = need - 1; k >= 0; k--, i++) {
            if (i == n) {
                *partial = true;
                return n;
            }
            if ((s[i] & 0xC0) != 0x80) return i;
            cp = cp << 6 | (s[i] & 0x3Fu);
            lo = cp << (6 * k), hi = lo | ((1u << (6 * k)) - 1);
            if (hi < min || lo > 0x10FFFF || (lo >= 0xD800 && hi <= 0xDFFF)) return i;
        }
    }
    return n;
}

static bool ref_utf8_valid(const void *s, size_t n) {
    bool partial;
    return ref_utf8_bad((const uint8_t *)s, n, &partial) == n && !partial;
}

WF_TEST(ws_frames_reference_validator) {
    /* the validator itself, on the classic boundaries */
    WF_EXPECT_TRUE(ref_utf8_valid("", 0));
    WF_EXPECT_TRUE(ref_utf8_valid("\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80", 14));
    WF_EXPECT_TRUE(ref_utf8_valid("\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf", 11));
    bool partial;
    WF_EXPECT_EQ_INT(ref_utf8_bad((const uint8_t *)"a\xc0\x80", 3, &partial), 1);
    WF_EXPECT_EQ_INT(ref_utf8_bad((const uint8_t *)"a\xc1\xbf", 3, &partial), 1);
    WF_EXPECT_EQ_INT(ref_utf8_bad((const uint8_t *)"\xe0\x9f\xbf", 3, &partial), 1);
    WF_EXPECT_EQ_INT(ref_utf8_bad((const uint8_t *)"\xed\xa0\x80", 3, &partial), 1);
    WF_EXPECT_EQ_INT(ref_utf8_bad((const uint8_t *)"\xf0\x8f\xbf\xbf", 4, &partial), 1);
    WF_EXPECT_EQ_INT(ref_utf8_bad((const uint8_t *)"\xf4\x90\x80\x80", 4, &partial), 1);
    WF_EXPECT_EQ_INT(ref_utf8_bad((const uint8_t *)"ab\xf5", 3, &partial), 2);
    WF_EXPECT_EQ_INT(ref_utf8_bad((const uint8_t *)"\xe2\x82\x41", 3, &partial), 2);
    WF_EXPECT_EQ_INT(ref_utf8_bad((const uint8_t *)"\xf0\x9f\x98", 3, &partial), 3);
    WF_EXPECT_TRUE(partial);
    /* and it agrees with every Autobahn case */
    for (size_t i = 0; i < sizeof ab_utf8_cases / sizeof ab_utf8_cases[0]; i++) {
        const struct ab_utf8 *c = &ab_utf8_cases[i];
        if (!TU_EXPECT_EQ_INT_AT(TU_HERE, ref_utf8_valid(c->payload, c->len), c->valid))
            wf_test_log("  case %s", c->id);
    }
}

/* ---- 1: text and binary messages of every length form, and the size limit ---- */

/* A payload: for text, ASCII letters; for binary, every byte value. */
static char *payload(int op, size_t n, unsigned seed) {
    char *p = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++)
        p[i] = op == WF_WS_TEXT ? (char)('a' + (i + seed) % 26) : (char)(uint8_t)(i * 151 + seed);
    return p;
}

WF_TEST(ws_frames_1_short_lengths) {
    static const size_t lens[] = {0, 1, 125, 126, 127, 128};
    for (int op = WF_WS_TEXT; op <= WF_WS_BINARY; op++)
        for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++)
            for (int mi = 0; mi < NMASKS; mi++) {
                char name[64], *d = payload(op, lens[li], (unsigned)mi);
                wf_buf s = {0};
                frame(&s, op, true, d, lens[li], masks[mi]);
                want_ev w[] = {w_data(op, d, lens[li])};
                snprintf(name, sizeof name, "1.%d %s %zu mask %d", op, op_name(op), lens[li], mi);
                check(name, &server, s.ptr, s.len, w, 1);
                /* the same frame from a server, read by a client */
                s.len = 0;
                frame(&s, op, true, d, lens[li], NULL);
                check(name, &client, s.ptr, s.len, w, 1);
                wf_buf_free(&s);
                free(d);
            }
}

WF_TEST(ws_frames_1_long_lengths) {
    static const size_t lens[] = {65535, 65536}, chunks[] = {997, 4096, 65536};
    for (int op = WF_WS_TEXT; op <= WF_WS_BINARY; op++)
        for (size_t li = 0; li < 2; li++)
            for (int mi = 0; mi < NMASKS; mi++) {
                char name[64], *d = payload(op, lens[li], (unsigned)mi);
                wf_buf s = {0};
                frame(&s, op, true, d, lens[li], masks[mi]);
                want_ev w[] = {w_data(op, d, lens[li])};
                snprintf(name, sizeof name, "1.%d %s %zu mask %d", op, op_name(op), lens[li], mi);
                check_big(name, &server, s.ptr, s.len, w, 1, chunks, 3);
                wf_buf_free(&s);
                free(d);
            }
}

WF_TEST(ws_frames_1_size_limit_small) {
    wf_ws_parser small = {.max_message = 1000};
    char *d = payload(WF_WS_TEXT, 2000, 3), ping[125];
    memset(ping, 'p', sizeof ping);
    for (int op = WF_WS_TEXT; op <= WF_WS_BINARY; op++)
        for (int mi = 0; mi < NMASKS; mi += 2) {
            const uint8_t *m = masks[mi];
            wf_buf s = {0};
            /* one frame: exactly the limit, then one byte more (failed at the head, 8 bytes) */
            frame(&s, op, true, d, 1000, m);
            want_ev ok[] = {w_data(op, d, 1000)}, ok2[] = {w_data(op, d, 1000), w_data(op, d, 1000)};
            check("limit 1000, one frame of 1000", &small, s.ptr, s.len, ok, 1);
            frame(&s, op, true, d, 1000, m);
            check("limit 1000, two messages of 1000", &small, s.ptr, s.len, ok2, 2);
            s.len = 0;
            frame(&s, op, true, d, 1001, m);
            want_ev big[] = {W_FAIL(WF_WS_TOO_BIG)};
            check("limit 1000, one frame of 1001", &small, s.ptr, s.len, big, 1);
            check("limit 1000, one frame of 1001, only its head", &small, s.ptr, 8, big, 1);
            check("limit 1000, one frame of 1001, its head less a byte", &small, s.ptr, 7, NULL, 0);
            /* fragments joined: 600 + 400 is the limit, 600 + 401 is over at the second head */
            s.len = 0;
            frame(&s, op, false, d, 600, m);
            frame(&s, WF_WS_CONT, true, d + 600, 400, m);
            check("limit 1000, 600 + 400", &small, s.ptr, s.len, ok, 1);
            frame(&s, op, false, d, 300, m);
            frame(&s, WF_WS_CONT, false, d + 300, 300, m);
            frame(&s, WF_WS_CONT, false, d + 600, 0, m);
            frame(&s, WF_WS_CONT, true, d + 600, 400, m);
            check("limit 1000, 600 + 400 then 300 + 300 + 0 + 400", &small, s.ptr, s.len, ok2, 2);
            s.len = 0;
            frame(&s, op, false, d, 600, m);
            frame(&s, WF_WS_CONT, true, d + 600, 401, m);
            check("limit 1000, 600 + 401", &small, s.ptr, s.len, big, 1);
            check("limit 1000, 600 + the head of 401", &small, s.ptr, s.len - 401, big, 1);
            /* control frames between fragments do not count */
            s.len = 0;
            frame(&s, op, false, d, 600, m);
            frame(&s, WF_WS_PING, true, ping, 125, m);
            frame(&s, WF_WS_CONT, true, d + 600, 400, m);
            want_ev pok[] = {w_data(WF_WS_PING, ping, 125), w_data(op, d, 1000)};
            check("limit 1000, 600 + ping 125 + 400", &small, s.ptr, s.len, pok, 2);
            s.len = 0;
            frame(&s, op, false, d, 400, m);
            frame(&s, WF_WS_CONT, false, d + 400, 400, m);
            frame(&s, WF_WS_PING, true, ping, 125, m);
            frame(&s, WF_WS_CONT, true, d + 800, 201, m);
            want_ev pbig[] = {w_data(WF_WS_PING, ping, 125), W_FAIL(WF_WS_TOO_BIG)};
            check("limit 1000, 400 + 400 + ping + 201", &small, s.ptr, s.len, pbig, 2);
            wf_buf_free(&s);
        }
    free(d);
}

WF_TEST(ws_frames_1_size_limit_default_16mib) {
    const uint64_t max = (uint64_t)16 << 20;
    const uint8_t *m = masks[2];
    wf_buf s = {0};
    /* the head alone: 16 MiB + 1 fails at once, 16 MiB waits for its payload */
    hand(&s, FIN | WF_WS_BINARY, 64, max + 1, NULL, 0, m);
    want_ev big[] = {W_FAIL(WF_WS_TOO_BIG)};
    check("default limit, head of 16 MiB + 1", &server, s.ptr, s.len, big, 1);
    check("default limit, head of 16 MiB + 1 less a byte", &server, s.ptr, s.len - 1, NULL, 0);
    s.len = 0;
    hand(&s, WF_WS_TEXT, 64, max + 1, NULL, 0, m);
    check("default limit, head of a first fragment of 16 MiB + 1", &server, s.ptr, s.len, big, 1);
    s.len = 0;
    hand(&s, FIN | WF_WS_BINARY, 64, max, NULL, 0, m);
    check("default limit, head of 16 MiB", &server, s.ptr, s.len, NULL, 0);
    /* exactly 16 MiB, in one frame and in two */
    char *d = payload(WF_WS_BINARY, (size_t)max + 1, 7);
    const size_t chunks[] = {1 << 20};
    want_ev ok[] = {w_data(WF_WS_BINARY, d, (size_t)max)};
    s.len = 0;
    frame(&s, WF_WS_BINARY, true, d, (size_t)max, m);
    check_once("16 MiB in one frame", &server, s.ptr, s.len, s.len, 0, ok, 1);
    s.len = 0;
    frame(&s, WF_WS_BINARY, false, d, (size_t)max - 10, m);
    frame(&s, WF_WS_CONT, true, d + max - 10, 10, m);
    check_once("16 MiB in two frames", &server, s.ptr, s.len, chunks[0], chunks[0], ok, 1);
    /* and 16 MiB - 10 + 11 fails at the second head */
    s.len = 0;
    frame(&s, WF_WS_BINARY, false, d, (size_t)max - 10, m);
    hand(&s, FIN | WF_WS_CONT, 0, 11, NULL, 0, m);
    check_once("16 MiB - 10, then the head of 11", &server, s.ptr, s.len, s.len, 0, big, 1);
    wf_buf_free(&s);
    free(d);
}

/* ---- 2: pings and pongs ---- */

WF_TEST(ws_frames_2_ping_pong) {
    char p125[126], bin[] = "\x00\xff\xfe\xfd\xfc\xfb\x00\xff";
    memset(p125, 0xfe, sizeof p125);
    for (int mi = 0; mi < NMASKS; mi++) {
        const uint8_t *m = masks[mi];
        wf_buf s = {0};
        frame(&s, WF_WS_PING, true, "", 0, m);
        want_ev w1[] = {W_PING("")};
        check("2.1 ping without payload", &server, s.ptr, s.len, w1, 1);
        s.len = 0;
        frame(&s, WF_WS_PING, true, "Hello, world!", 13, m);
        want_ev w2[] = {W_PING("Hello, world!")};
        check("2.2 ping with text", &server, s.ptr, s.len, w2, 1);
        s.len = 0;
        frame(&s, WF_WS_PING, true, bin, 8, m);
        want_ev w3[] = {w_data(WF_WS_PING, bin, 8)};
        check("2.3 ping with binary", &server, s.ptr, s.len, w3, 1);
        s.len = 0;
        frame(&s, WF_WS_PING, true, p125, 125, m);
        want_ev w4[] = {w_data(WF_WS_PING, p125, 125)};
        check("2.4/2.6 ping of 125", &server, s.ptr, s.len, w4, 1);
        s.len = 0;
        frame(&s, WF_WS_PING, true, p125, 126, m);
        want_ev w5[] = {W_FAIL(WF_WS_PROTOCOL_ERROR)};
        check("2.5 ping of 126", &server, s.ptr, s.len, w5, 1);
        check("2.5 ping of 126, only its head", &server, s.ptr, 8, w5, 1);
        s.len = 0;
        frame(&s, WF_WS_PONG, true, "", 0, m);
        want_ev w7[] = {W_PONG("")};
        check("2.7 unsolicited pong", &server, s.ptr, s.len, w7, 1);
        s.len = 0;
        frame(&s, WF_WS_PONG, true, "unsolicited pong payload", 24, m);
        frame(&s, WF_WS_PING, true, "ping payload", 12, m);
        want_ev w9[] = {W_PONG("unsolicited pong payload"), W_PING("ping payload")};
        check("2.8/2.9 pong then ping", &server, s.ptr, s.len, w9, 2);
        s.len = 0;
        want_ev w10[10];
        static const char digits[] = "0123456789";
        for (int i = 0; i < 10; i++) {
            frame(&s, WF_WS_PING, true, digits + i, 10 - (size_t)i, m);
            w10[i] = w_data(WF_WS_PING, digits + i, 10 - (size_t)i);
        }
        check("2.10/2.11 ten pings", &server, s.ptr, s.len, w10, 10);
        wf_buf_free(&s);
    }
}

/* ---- 3: RSV bits ---- */

WF_TEST(ws_frames_3_rsv_bits) {
    static const int ops[] = {WF_WS_TEXT, WF_WS_BINARY, WF_WS_PING, WF_WS_PONG, WF_WS_CLOSE, WF_WS_CONT};
    want_ev fail[] = {W_FAIL(WF_WS_PROTOCOL_ERROR)};
    want_ev after[] = {W_TEXT("Hello"), W_FAIL(WF_WS_PROTOCOL_ERROR)};
    for (int rsv = 1; rsv <= 7; rsv++)
        for (size_t oi = 0; oi < sizeof ops / sizeof ops[0]; oi++)
            for (int mi = 0; mi < NMASKS; mi += 3) {
                const uint8_t *m = masks[mi];
                int op = ops[oi];
                char name[80];
                wf_buf s = {0};
                if (op == WF_WS_CONT) frame(&s, WF_WS_TEXT, false, "Hel", 3, m);
                hand(&s, (uint8_t)(FIN | rsv << 4 | op), 0, 5, "Hello", 5, m);
                snprintf(name, sizeof name, "3.x RSV %d on %s", rsv, op ? op_name(op) : "CONT");
                check(name, &server, s.ptr, s.len, fail, 1);
                /* 3.2-3.4: after a good message, then a ping that must not be answered */
                s.len = 0;
                frame(&s, WF_WS_TEXT, true, "Hello", 5, m);
                if (op == WF_WS_CONT) frame(&s, WF_WS_TEXT, false, "Hel", 3, m);
                hand(&s, (uint8_t)(FIN | rsv << 4 | op), 0, 5, "Hello", 5, m);
                frame(&s, WF_WS_PING, true, "ping", 4, m);
                snprintf(name, sizeof name, "3.2 text, RSV %d on %s, ping", rsv, op ? op_name(op) : "CONT");
                check(name, &server, s.ptr, s.len, after, 2);
                wf_buf_free(&s);
            }
}

/* ---- 4: reserved opcodes ---- */

WF_TEST(ws_frames_4_reserved_opcodes) {
    want_ev fail[] = {W_FAIL(WF_WS_PROTOCOL_ERROR)};
    want_ev after[] = {W_TEXT("Hello"), W_FAIL(WF_WS_PROTOCOL_ERROR)};
    for (int op = 3; op <= 15; op++) {
        if (op >= WF_WS_CLOSE && op <= WF_WS_PONG) continue;
        for (int mi = 0; mi < NMASKS; mi++) {
            const uint8_t *m = masks[mi];
            char name[80];
            wf_buf s = {0};
            frame(&s, op, true, "", 0, m);
            snprintf(name, sizeof name, "4.x opcode %d, empty", op);
            check(name, &server, s.ptr, s.len, fail, 1);
            s.len = 0;
            frame(&s, op, true, "reserved", 8, m);
            snprintf(name, sizeof name, "4.x opcode %d with a payload", op);
            check(name, &server, s.ptr, s.len, fail, 1);
            s.len = 0;
            frame(&s, op, false, "reserved", 8, m);
            snprintf(name, sizeof name, "4.x opcode %d, FIN clear", op);
            check(name, &server, s.ptr, s.len, fail, 1);
            /* 4.1.3-4.2.5: after a good message, then a ping */
            s.len = 0;
            frame(&s, WF_WS_TEXT, true, "Hello", 5, m);
            frame(&s, op, true, "reserved", (size_t)(op & 1) * 8, m);
            frame(&s, WF_WS_PING, true, "ping", 4, m);
            snprintf(name, sizeof name, "4.x text, opcode %d, ping", op);
            check(name, &server, s.ptr, s.len, after, 2);
            /* between the fragments of a message */
            s.len = 0;
            frame(&s, WF_WS_TEXT, false, "Hel", 3, m);
            frame(&s, op, true, "reserved", 8, m);
            frame(&s, WF_WS_CONT, true, "lo", 2, m);
            snprintf(name, sizeof name, "4.x opcode %d between fragments", op);
            check(name, &server, s.ptr, s.len, fail, 1);
            wf_buf_free(&s);
        }
    }
}

/* ---- 5: fragmentation ---- */

WF_TEST(ws_frames_5_fragmentation) {
    want_ev fail[] = {W_FAIL(WF_WS_PROTOCOL_ERROR)};
    for (int mi = 0; mi < NMASKS; mi++) {
        const uint8_t *m = masks[mi];
        wf_buf s = {0};
        /* 5.1, 5.2: control frames cannot be fragmented (failed at the first head) */
        frame(&s, WF_WS_PING, false, "fragment1", 9, m);
        frame(&s, WF_WS_CONT, true, "fragment2", 9, m);
        check("5.1 ping in two fragments", &server, s.ptr, s.len, fail, 1);
        check("5.1 ping in two fragments, the first head", &server, s.ptr, 6, fail, 1);
        s.len = 0;
        frame(&s, WF_WS_PONG, false, "fragment1", 9, m);
        frame(&s, WF_WS_CONT, true, "fragment2", 9, m);
        check("5.2 pong in two fragments", &server, s.ptr, s.len, fail, 1);
        s.len = 0;
        frame(&s, WF_WS_CLOSE, false, "", 0, m);
        check("close with FIN clear", &server, s.ptr, s.len, fail, 1);
        /* 5.3-5.5 */
        s.len = 0;
        frame(&s, WF_WS_TEXT, false, "fragment1", 9, m);
        frame(&s, WF_WS_CONT, true, "fragment2", 9, m);
        want_ev w3[] = {W_TEXT("fragment1fragment2")};
        check("5.3 text in two fragments", &server, s.ptr, s.len, w3, 1);
        /* 5.6-5.8 */
        s.len = 0;
        frame(&s, WF_WS_TEXT, false, "fragment1", 9, m);
        frame(&s, WF_WS_PING, true, "pongme 2!", 9, m);
        frame(&s, WF_WS_CONT, true, "fragment2", 9, m);
        want_ev w6[] = {W_PING("pongme 2!"), W_TEXT("fragment1fragment2")};
        check("5.6 text in two fragments, a ping between", &server, s.ptr, s.len, w6, 2);
        /* 5.9-5.11: a continuation with FIN set and nothing to continue, then a text */
        s.len = 0;
        frame(&s, WF_WS_CONT, true, "non-continuation payload", 24, m);
        frame(&s, WF_WS_TEXT, true, "Hello, world!", 13, m);
        check("5.9 continuation with nothing to continue", &server, s.ptr, s.len, fail, 1);
        /* 5.12-5.14: the same with FIN clear */
        s.len = 0;
        frame(&s, WF_WS_CONT, false, "non-continuation payload", 24, m);
        frame(&s, WF_WS_TEXT, true, "Hello, world!", 13, m);
        check("5.12 continuation (FIN clear) with nothing to continue", &server, s.ptr, s.len, fail, 1);
        /* 5.15 */
        s.len = 0;
        frame(&s, WF_WS_TEXT, false, "fragment1", 9, m);
        frame(&s, WF_WS_CONT, true, "fragment2", 9, m);
        frame(&s, WF_WS_CONT, false, "fragment3", 9, m);
        frame(&s, WF_WS_TEXT, true, "fragment4", 9, m);
        want_ev w15[] = {W_TEXT("fragment1fragment2"), W_FAIL(WF_WS_PROTOCOL_ERROR)};
        check("5.15 a message, then a continuation", &server, s.ptr, s.len, w15, 2);
        /* 5.16, 5.17 */
        for (int fin = 0; fin <= 1; fin++) {
            s.len = 0;
            for (int rep = 0; rep < 2; rep++) {
                frame(&s, WF_WS_CONT, fin, "fragment1", 9, m);
                frame(&s, WF_WS_TEXT, false, "fragment2", 9, m);
                frame(&s, WF_WS_CONT, true, "fragment3", 9, m);
            }
            check(fin ? "5.17" : "5.16", &server, s.ptr, s.len, fail, 1);
        }
        /* 5.18: both fragments text; and binary or text while a message is open */
        s.len = 0;
        frame(&s, WF_WS_TEXT, false, "fragment1", 9, m);
        frame(&s, WF_WS_TEXT, true, "fragment2", 9, m);
        check("5.18 text, text", &server, s.ptr, s.len, fail, 1);
        for (int a = WF_WS_TEXT; a <= WF_WS_BINARY; a++)
            for (int b = WF_WS_TEXT; b <= WF_WS_BINARY; b++)
                for (int fin = 0; fin <= 1; fin++) {
                    s.len = 0;
                    frame(&s, a, false, "fragment1", 9, m);
                    frame(&s, WF_WS_PING, true, "", 0, m);
                    frame(&s, b, fin, "fragment2", 9, m);
                    want_ev wp[] = {W_PING(""), W_FAIL(WF_WS_PROTOCOL_ERROR)};
                    check("a data frame while a message is open", &server, s.ptr, s.len, wp, 2);
                }
        /* 5.19, 5.20 */
        s.len = 0;
        frame(&s, WF_WS_TEXT, false, "fragment1", 9, m);
        frame(&s, WF_WS_CONT, false, "fragment2", 9, m);
        frame(&s, WF_WS_PING, true, "pongme 1!", 9, m);
        frame(&s, WF_WS_CONT, false, "fragment3", 9, m);
        frame(&s, WF_WS_CONT, false, "fragment4", 9, m);
        frame(&s, WF_WS_PING, true, "pongme 2!", 9, m);
        frame(&s, WF_WS_CONT, true, "fragment5", 9, m);
        want_ev w19[] = {W_PING("pongme 1!"), W_PING("pongme 2!"),
                         W_TEXT("fragment1fragment2fragment3fragment4fragment5")};
        check("5.19 five fragments, two pings", &server, s.ptr, s.len, w19, 3);
        /* a binary message of empty fragments, pongs and pings between every fragment */
        s.len = 0;
        frame(&s, WF_WS_BINARY, false, "", 0, m);
        frame(&s, WF_WS_PONG, true, "a", 1, m);
        frame(&s, WF_WS_CONT, false, "", 0, m);
        frame(&s, WF_WS_PING, true, "b", 1, m);
        frame(&s, WF_WS_CONT, true, "", 0, m);
        frame(&s, WF_WS_BINARY, false, "\x00", 1, m);
        frame(&s, WF_WS_CONT, true, "\xff", 1, m);
        want_ev we[] = {W_PONG("a"), W_PING("b"), W_BIN(""), W_BIN("\x00\xff")};
        check("empty fragments", &server, s.ptr, s.len, we, 4);
        /* each byte a frame */
        const char *msg = "one byte per frame";
        s.len = 0;
        for (size_t i = 0; i < 18; i++) frame(&s, i ? WF_WS_CONT : WF_WS_TEXT, i == 17, msg + i, 1, m);
        want_ev wb[] = {W_TEXT("one byte per frame")};
        check("each byte a frame", &server, s.ptr, s.len, wb, 1);
        wf_buf_free(&s);
    }
}

/* ---- 6: UTF-8 ---- */

#define NCASES (sizeof ab_utf8_cases / sizeof ab_utf8_cases[0])

static want_ev utf8_want(const struct ab_utf8 *c) {
    return c->valid ? w_data(WF_WS_TEXT, c->payload, c->len) : w_fail(WF_WS_INVALID_DATA);
}

WF_TEST(ws_frames_6_utf8_one_frame) {
    int nvalid = 0;
    for (size_t i = 0; i < NCASES; i++) {
        const struct ab_utf8 *c = &ab_utf8_cases[i];
        want_ev w[] = {utf8_want(c)};
        nvalid += c->valid;
        for (int mi = 0; mi < NMASKS; mi++) {
            wf_buf s = {0};
            frame(&s, WF_WS_TEXT, true, c->payload, c->len, masks[mi]);
            check(c->id, &server, s.ptr, s.len, w, 1);
            wf_buf_free(&s);
        }
        wf_buf s = {0};
        frame(&s, WF_WS_TEXT, true, c->payload, c->len, NULL);
        check(c->id, &client, s.ptr, s.len, w, 1);
        wf_buf_free(&s);
    }
    WF_EXPECT_EQ_INT(NCASES, 132);
    WF_EXPECT_EQ_INT(nvalid, 63);
}

WF_TEST(ws_frames_6_utf8_fragmented) {
    for (size_t i = 0; i < NCASES; i++) {
        const struct ab_utf8 *c = &ab_utf8_cases[i];
        want_ev w[] = {utf8_want(c)};
        char name[64];
        /* in two fragments, cut at every position */
        for (unsigned j = 0; j <= c->len; j++) {
            const uint8_t *m = masks[j % NMASKS];
            wf_buf s = {0};
            frame(&s, WF_WS_TEXT, false, c->payload, j, m);
            frame(&s, WF_WS_CONT, true, c->payload + j, c->len - j, m);
            snprintf(name, sizeof name, "%s in fragments of %u and %u", c->id, j, c->len - j);
            check(name, &server, s.ptr, s.len, w, 1);
            wf_buf_free(&s);
        }
        /* in three fragments, a ping between the last two */
        for (unsigned j = 0; j <= c->len; j++)
            for (unsigned k = j; k <= c->len; k++) {
                const uint8_t *m = masks[(j + k) % NMASKS];
                wf_buf s = {0};
                frame(&s, WF_WS_TEXT, false, c->payload, j, m);
                frame(&s, WF_WS_CONT, false, c->payload + j, k - j, m);
                frame(&s, WF_WS_PING, true, "!", 1, m);
                frame(&s, WF_WS_CONT, true, c->payload + k, c->len - k, m);
                got g;
                char why[400];
                run(&server, s.ptr, s.len, s.len, 0, false, &g);
                /* the ping comes unless the text failed before it */
                bool partial, before = ref_utf8_bad((const uint8_t *)c->payload, k, &partial) < k;
                want_ev w3[] = {W_PING("!"), utf8_want(c)};
                bool ok = before ? same(&g, w + 0, 1, why, sizeof why) : same(&g, w3, 2, why, sizeof why);
                if (!TU_EXPECT_TRUE_AT(TU_HERE, ok))
                    wf_test_log("case %s in fragments of %u, %u, %u: %s", c->id, j, k - j, c->len - k, why);
                got_free(&g);
                wf_buf_free(&s);
            }
        /* each byte a frame */
        wf_buf s = {0};
        for (unsigned j = 0; j < c->len || j == 0; j++)
            frame(&s, j ? WF_WS_CONT : WF_WS_TEXT, j + 1 >= c->len, c->payload + j, c->len ? 1 : 0, masks[1]);
        snprintf(name, sizeof name, "%s a byte per frame", c->id);
        check(name, &server, s.ptr, s.len, w, 1);
        wf_buf_free(&s);
    }
}

WF_TEST(ws_frames_6_utf8_fail_fast) {
    want_ev fail[] = {W_FAIL(WF_WS_INVALID_DATA)};
    int fast = 0;
    for (size_t i = 0; i < NCASES; i++) {
        const struct ab_utf8 *c = &ab_utf8_cases[i];
        bool partial;
        size_t bad = ref_utf8_bad((const uint8_t *)c->payload, c->len, &partial);
        char name[80];
        if (c->valid || bad == c->len) {
            /* valid, or cut inside a character: a fragment that ends there is not a failure yet */
            wf_buf s = {0};
            frame(&s, WF_WS_TEXT, false, c->payload, c->len, masks[2]);
            snprintf(name, sizeof name, "%s as a first fragment", c->id);
            check(name, &server, s.ptr, s.len, NULL, 0);
            wf_buf_free(&s);
            continue;
        }
        fast++;
        for (int fin = 0; fin <= 1; fin++) {
            wf_buf s = {0};
            frame(&s, WF_WS_TEXT, fin, c->payload, c->len, masks[2]);
            size_t head = s.len - c->len;
            snprintf(name, sizeof name, "%s (FIN %d) up to its first bad byte %zu", c->id, fin, bad);
            check(name, &server, s.ptr, head + bad + 1, fail, 1);
            snprintf(name, sizeof name, "%s (FIN %d) up to before its first bad byte %zu", c->id, fin, bad);
            check(name, &server, s.ptr, head + bad, NULL, 0);
            /* and when the bad byte is in a later fragment */
            s.len = 0;
            frame(&s, WF_WS_TEXT, false, c->payload, bad, masks[3]);
            frame(&s, WF_WS_PING, true, "", 0, masks[3]);
            frame(&s, WF_WS_CONT, fin, c->payload + bad, c->len - bad, masks[3]);
            want_ev pf[] = {W_PING(""), W_FAIL(WF_WS_INVALID_DATA)};
            head = s.len - (c->len - bad);
            snprintf(name, sizeof name, "%s (FIN %d) bad byte %zu first in a fragment", c->id, fin, bad);
            check(name, &server, s.ptr, head + 1, pf, 2);
            wf_buf_free(&s);
        }
    }
    WF_EXPECT_GT_INT(fast, 40);
}

/* Every string of two bytes, and of three and four bytes over the byte values that matter, as one
   text frame: a message exactly when our validator says it is valid, else 1007 at the first bad
   byte (fed byte by byte). */
static int utf8_exhaustive_one(const uint8_t *t, size_t n) {
    char buf[16];
    size_t k = 0;
    buf[k++] = (char)(FIN | WF_WS_TEXT);
    buf[k++] = (char)(0x80 | n);
    memset(buf + k, 0, 4), k += 4;              /* a zero mask: the payload as it is */
    memcpy(buf + k, t, n);
    bool partial;
    size_t bad = ref_utf8_bad(t, n, &partial), fail_at = (size_t)-1;
    bool valid = bad == n && !partial, message = false;
    wf_ws_parser p = {0};
    for (size_t i = 0; i < k + n && fail_at == (size_t)-1 && !message; i++) {
        wf_ws_event ev;
        wf_ws_parse(&p, buf + i, 1, &ev);
        if (ev.fail == WF_WS_INVALID_DATA) fail_at = i - k;
        else if (ev.fail) return 1;
        if (ev.opcode == WF_WS_TEXT) message = ev.len == n && memcmp(ev.data, t, n) == 0;
    }
    wf_ws_parser_free(&p);
    if (valid) return message ? 0 : 1;
    return fail_at == (bad < n ? bad : n - 1) ? 0 : 1;
}

WF_TEST(ws_frames_6_utf8_exhaustive) {
    static const uint8_t tails[] = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC2, 0xF4,
                                    0xFF};
    int bad = 0, total = 0;
    uint8_t t[4];
    for (int a = 0; a < 256; a++) {
        t[0] = (uint8_t)a;
        bad += utf8_exhaustive_one(t, 1), total++;
        for (int b = 0; b < 256; b++) {
            t[1] = (uint8_t)b;
            bad += utf8_exhaustive_one(t, 2), total++;
            if (a < 0xC0) continue;
            for (size_t c = 0; c < sizeof tails; c++) {
                t[2] = tails[c];
                bad += utf8_exhaustive_one(t, 3), total++;
                if (a < 0xF0 || (tails[c] & 0xC0) != 0x80) continue;
                for (size_t d = 0; d < sizeof tails; d++) {
                    t[3] = tails[d];
                    int r = utf8_exhaustive_one(t, 4);
                    if (r && bad < 5) wf_test_log("differs: %02x %02x %02x %02x", a, b, t[2], t[3]);
                    bad += r, total++;
                }
            }
        }
    }
    wf_test_log("%d strings", total);
    WF_EXPECT_EQ_INT(bad, 0);
}

/* ---- 7: close ---- */

static bool code_allowed(int code) {
    static const int ok[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (code == ok[i]) return true;
    return code >= 3000 && code <= 4999;
}

WF_TEST(ws_frames_7_close) {
    char pl[200], reason[130];
    memset(reason, '*', sizeof reason);
    want_ev proto[] = {W_FAIL(WF_WS_PROTOCOL_ERROR)};
    for (int mi = 0; mi < NMASKS; mi++) {
        const uint8_t *m = masks[mi];
        wf_buf s = {0};
        /* 7.1.x */
        frame(&s, WF_WS_TEXT, true, "Hello World!", 12, m);
        frame(&s, WF_WS_CLOSE, true, pl, close_payload(pl, 1000, "", 0), m);
        want_ev w1[] = {W_TEXT("Hello World!"), W_CLOSE(1000, "")};
        check("7.1.1 message then close", &server, s.ptr, s.len, w1, 2);
        frame(&s, WF_WS_CLOSE, true, pl, close_payload(pl, 1001, "", 0), m);
        frame(&s, WF_WS_PING, true, "Hello World!", 12, m);
        frame(&s, WF_WS_TEXT, true, "Hello World!", 12, m);
        frame(&s, WF_WS_TEXT, true, "\xff", 1, m);
        hand(&s, 0x7F, 64, UINT64_MAX, NULL, 0, NULL);
        check("7.1.2-7.1.4 after the close, everything is ignored", &server, s.ptr, s.len, w1, 2);
        s.len = 0;
        frame(&s, WF_WS_TEXT, false, "fragment1", 9, m);
        frame(&s, WF_WS_CLOSE, true, pl, close_payload(pl, 1000, "", 0), m);
        frame(&s, WF_WS_CONT, true, "fragment2", 9, m);
        want_ev w5[] = {W_CLOSE(1000, "")};
        check("7.1.5 fragment, close, fragment", &server, s.ptr, s.len, w5, 1);
        /* 7.3.x */
        s.len = 0;
        frame(&s, WF_WS_CLOSE, true, "", 0, m);
        want_ev w31[] = {W_CLOSE(WF_WS_NO_STATUS, "")};
        check("7.3.1 empty close", &server, s.ptr, s.len, w31, 1);
        s.len = 0;
        frame(&s, WF_WS_CLOSE, true, "\x03", 1, m);
        check("7.3.2 close of one byte", &server, s.ptr, s.len, proto, 1);
        s.len = 0;
        frame(&s, WF_WS_CLOSE, true, pl, close_payload(pl, 1000, "Hello World!", 12), m);
        want_ev w34[] = {W_CLOSE(1000, "Hello World!")};
        check("7.3.4 code and reason", &server, s.ptr, s.len, w34, 1);
        s.len = 0;
        frame(&s, WF_WS_CLOSE, true, pl, close_payload(pl, 1000, reason, 123), m);
        want_ev w35[] = {{WF_WS_CLOSE, reason, 123, 1000, 0}};
        check("7.3.5 reason of 123", &server, s.ptr, s.len, w35, 1);
        s.len = 0;
        frame(&s, WF_WS_CLOSE, true, pl, close_payload(pl, 1000, reason, 124), m);
        check("7.3.6 reason of 124", &server, s.ptr, s.len, proto, 1);
        check("7.3.6 reason of 124, only the head", &server, s.ptr, 8, proto, 1);
        /* 7.5.1 and other bad reasons */
        static const char *const bad_reasons[] = {
            "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64",
            "\xff", "ab\xc0\xaf", "\xe2\x82", "\xf4\x90\x80\x80", "\xed\xbf\xbf", "ok\xf0\x9f\x98"};
        want_ev inv[] = {W_FAIL(WF_WS_INVALID_DATA)};
        for (size_t i = 0; i < sizeof bad_reasons / sizeof bad_reasons[0]; i++) {
            s.len = 0;
            frame(&s, WF_WS_CLOSE, true, pl,
                  close_payload(pl, 1000, bad_reasons[i], strlen(bad_reasons[i])), m);
            check("7.5.1 close reason not UTF-8", &server, s.ptr, s.len, inv, 1);
        }
        s.len = 0;
        close_payload(pl, 4000, "\xce\xba\xe1\xbd\xb9\xf0\x9f\x98\x80", 9);
        frame(&s, WF_WS_CLOSE, true, pl, 11, m);
        want_ev wu[] = {W_CLOSE(4000, "\xce\xba\xe1\xbd\xb9\xf0\x9f\x98\x80")};
        check("close reason in UTF-8", &server, s.ptr, s.len, wu, 1);
        /* 7.7.x, 7.9.x, 7.13.x */
        static const int valid[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010,
                                    1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999};
        static const int invalid[] = {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535};
        for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
            s.len = 0;
            frame(&s, WF_WS_CLOSE, true, pl, close_payload(pl, valid[i], "", 0), m);
            want_ev wv[] = {{WF_WS_CLOSE, "", 0, valid[i], 0}};
            check("7.7.x valid close code", &server, s.ptr, s.len, wv, 1);
        }
        for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
            s.len = 0;
            frame(&s, WF_WS_CLOSE, true, pl, close_payload(pl, invalid[i], "reason", 6), m);
            check("7.9.x/7.13.x invalid close code", &server, s.ptr, s.len, proto, 1);
        }
        wf_buf_free(&s);
    }
}

WF_TEST(ws_frames_7_every_close_code) {
    int wrong = 0;
    for (int code = 0; code < 65536; code++) {
        char buf[8] = {(char)(FIN | WF_WS_CLOSE), 2, (char)(code >> 8), (char)code};
        wf_ws_parser p = {.client = true};
        wf_ws_event ev;
        wf_ws_parse(&p, buf, 4, &ev);
        bool ok = code_allowed(code);
        bool right = ok ? ev.opcode == WF_WS_CLOSE && ev.code == code && ev.len == 0 && !ev.fail
                        : ev.opcode == 0 && ev.fail == WF_WS_PROTOCOL_ERROR;
        right = right && wf_ws_close_code_ok(code) == ok;
        if (!right && wrong++ < 5) wf_test_log("close code %d: opcode %d code %d fail %d", code, ev.opcode,
                                               ev.code, ev.fail);
        wf_ws_parser_free(&p);
    }
    WF_EXPECT_EQ_INT(wrong, 0);
    WF_EXPECT_FALSE(wf_ws_close_code_ok(-1000));
    WF_EXPECT_FALSE(wf_ws_close_code_ok(65536 + 1000));
}

/* ---- 9: big messages ---- */

/* A text of n bytes mixing one- to four-byte characters, so that cuts fall inside them. */
static char *big_text(size_t n) {
    static const char *const units[] = {"a", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "z "};
    char *t = malloc(n);
    size_t k = 0;
    for (unsigned i = 0; k < n; i++) {
        const char *u = units[(i * 7 + i / 5) % 5];
        size_t l = strlen(u);
        if (k + l > n) u = "x", l = 1;
        memcpy(t + k, u, l);
        k += l;
    }
    return t;
}

static void big_case(int op, size_t n, size_t frag) {
    static const size_t chunks[] = {64, 128, 256, 512, 1024, 2048, 997, 65536};
    char *d = op == WF_WS_TEXT ? big_text(n) : payload(op, n, 11), name[80];
    if (op == WF_WS_TEXT && !TU_EXPECT_TRUE_AT(TU_HERE, ref_utf8_valid(d, n))) return;
    wf_buf s = {0};
    for (size_t at = 0; at < n || at == 0; at += frag)
        frame(&s, at ? WF_WS_CONT : op, at + frag >= n, d + at, frag < n - at ? frag : n - at, masks[2]);
    want_ev w[] = {w_data(op, d, n)};
    snprintf(name, sizeof name, "9.x %s of %zu in frames of %zu", op_name(op), n, frag);
    check_big(name, &server, s.ptr, s.len, w, 1, chunks, 8);
    wf_buf_free(&s);
    free(d);
}

WF_TEST(ws_frames_9_big_text) {
    big_case(WF_WS_TEXT, 1 << 20, 1 << 20);
    big_case(WF_WS_TEXT, 1 << 20, 1 << 16);
    big_case(WF_WS_TEXT, 1 << 20, 1 << 12);
}

WF_TEST(ws_frames_9_big_binary) {
    big_case(WF_WS_BINARY, 1 << 20, 1 << 20);
    big_case(WF_WS_BINARY, 1 << 20, 1 << 16);
    big_case(WF_WS_BINARY, 1 << 20, 1 << 12);
}

/* ---- frame heads: lengths and control frames ---- */

WF_TEST(ws_frames_head_lengths) {
    want_ev proto[] = {W_FAIL(WF_WS_PROTOCOL_ERROR)}, big[] = {W_FAIL(WF_WS_TOO_BIG)};
    for (int mi = 0; mi < NMASKS; mi++) {
        const uint8_t *m = masks[mi];
        char name[80];
        wf_buf s = {0};
        /* with the most significant bit set: never a length, failed with the head */
        static const uint64_t msb[] = {(uint64_t)1 << 63, UINT64_MAX, ((uint64_t)1 << 63) + 65536};
        for (int i = 0; i < 3; i++)
            for (int op = WF_WS_TEXT; op <= WF_WS_BINARY; op++) {
                s.len = 0;
                hand(&s, (uint8_t)(FIN | op), 64, msb[i], "x", 1, m);
                snprintf(name, sizeof name, "64-bit length %#llx", (unsigned long long)msb[i]);
                check(name, &server, s.ptr, 14, proto, 1);
            }
        /* too long for the default limit: 1009 with the head */
        static const uint64_t huge[] = {(uint64_t)1 << 62, (uint64_t)1 << 32, ((uint64_t)1 << 63) - 1};
        for (int i = 0; i < 3; i++) {
            s.len = 0;
            hand(&s, FIN | WF_WS_TEXT, 64, huge[i], NULL, 0, m);
            snprintf(name, sizeof name, "64-bit length %#llx", (unsigned long long)huge[i]);
            check(name, &server, s.ptr, s.len, big, 1);
        }
        /* not the shortest form */
        static const uint64_t short16[] = {0, 1, 125}, short64[] = {0, 1, 125, 126, 65535};
        for (int i = 0; i < 3; i++) {
            s.len = 0;
            hand(&s, FIN | WF_WS_BINARY, 16, short16[i], "0123456789", 1, m);
            snprintf(name, sizeof name, "16-bit length %llu", (unsigned long long)short16[i]);
            check(name, &server, s.ptr, 8, proto, 1);
        }
        for (int i = 0; i < 5; i++) {
            s.len = 0;
            hand(&s, FIN | WF_WS_BINARY, 64, short64[i], NULL, 0, m);
            snprintf(name, sizeof name, "64-bit length %llu", (unsigned long long)short64[i]);
            check(name, &server, s.ptr, s.len, proto, 1);
        }
        /* the shortest forms' edges are accepted */
        char *d = payload(WF_WS_BINARY, 65536, 5);
        static const size_t edges[][2] = {{7, 125}, {16, 126}, {16, 65535}, {64, 65536}};
        for (int i = 0; i < 4; i++) {
            s.len = 0;
            hand(&s, FIN | WF_WS_BINARY, (int)edges[i][0], edges[i][1], d, edges[i][1], m);
            want_ev w[] = {w_data(WF_WS_BINARY, d, edges[i][1])};
            snprintf(name, sizeof name, "%zu-bit form of %zu", edges[i][0], edges[i][1]);
            if (edges[i][1] < 1000) check(name, &server, s.ptr, s.len, w, 1);
            else check_big(name, &server, s.ptr, s.len, w, 1, NULL, 0);
        }
        free(d);
        /* control frames: 126 or more, or in a longer form, fail with the head */
        for (int op = WF_WS_CLOSE; op <= WF_WS_PONG; op++) {
            s.len = 0;
            hand(&s, (uint8_t)(FIN | op), 16, 126, NULL, 0, m);
            check("control frame of 126", &server, s.ptr, s.len, proto, 1);
            s.len = 0;
            hand(&s, (uint8_t)(FIN | op), 16, 5, "abcde", 5, m);
            check("control frame of 5 in the 16-bit form", &server, s.ptr, 8, proto, 1);
            s.len = 0;
            hand(&s, (uint8_t)(FIN | op), 64, 65536, NULL, 0, m);
            check("control frame of 65536", &server, s.ptr, s.len, proto, 1);
            s.len = 0;
            hand(&s, (uint8_t)op, 7, 0, NULL, 0, m);
            check("control frame with FIN clear", &server, s.ptr, s.len, proto, 1);
        }
        wf_buf_free(&s);
    }
}

/* ---- masking: a server's reader wants masks, a client's refuses them ---- */

WF_TEST(ws_frames_masking) {
    want_ev proto[] = {W_FAIL(WF_WS_PROTOCOL_ERROR)};
    static const int ops[] = {WF_WS_TEXT, WF_WS_BINARY, WF_WS_PING, WF_WS_PONG, WF_WS_CLOSE};
    for (size_t i = 0; i < 5; i++) {
        wf_buf s = {0};
        frame(&s, ops[i], true, "", 0, NULL);
        check("an unmasked frame to a server", &server, s.ptr, s.len, proto, 1);
        s.len = 0;
        frame(&s, WF_WS_TEXT, true, "Hello", 5, masks[1]);
        frame(&s, ops[i], true, "\x03\xe8", 2, NULL);
        want_ev w[] = {W_TEXT("Hello"), W_FAIL(WF_WS_PROTOCOL_ERROR)};
        check("a masked message, then an unmasked frame", &server, s.ptr, s.len, w, 2);
        for (int mi = 0; mi < NMASKS; mi++) {
            s.len = 0;
            frame(&s, ops[i], true, "\x03\xe8", 2, masks[mi]);
            check("a masked frame to a client", &client, s.ptr, s.len, proto, 1);
            s.len = 0;
            frame(&s, WF_WS_TEXT, true, "Hello", 5, NULL);
            frame(&s, ops[i], true, "\x03\xe8", 2, masks[mi]);
            check("an unmasked message, then a masked frame, to a client", &client, s.ptr, s.len, w, 2);
        }
        wf_buf_free(&s);
    }
    /* a client reads a server's frames */
    char pl[32];
    wf_buf s = {0};
    frame(&s, WF_WS_TEXT, false, "frag", 4, NULL);
    frame(&s, WF_WS_PING, true, "p", 1, NULL);
    frame(&s, WF_WS_CONT, true, "ment", 4, NULL);
    frame(&s, WF_WS_BINARY, true, "\x00\x01", 2, NULL);
    frame(&s, WF_WS_PONG, true, "", 0, NULL);
    frame(&s, WF_WS_CLOSE, true, pl, close_payload(pl, 1001, "bye", 3), NULL);
    want_ev w[] = {W_PING("p"), W_TEXT("fragment"), W_BIN("\x00\x01"), W_PONG(""), W_CLOSE(1001, "bye")};
    check("a client reads a server", &client, s.ptr, s.len, w, 5);
    wf_buf_free(&s);
}

/* ---- the calling convention ---- */

WF_TEST(ws_frames_one_event_per_call) {
    wf_buf s = {0};
    char pl[8];
    frame(&s, WF_WS_TEXT, true, "a", 1, masks[2]);
    size_t f1 = s.len;
    frame(&s, WF_WS_BINARY, true, "bc", 2, masks[2]);
    size_t f2 = s.len;
    frame(&s, WF_WS_PING, true, "d", 1, masks[2]);
    size_t f3 = s.len;
    frame(&s, WF_WS_CLOSE, true, pl, close_payload(pl, 1000, "e", 1), masks[2]);
    frame(&s, WF_WS_TEXT, true, "ignored", 7, masks[2]);
    wf_ws_parser p = {0};
    wf_ws_event ev;
    WF_EXPECT_EQ_INT(wf_ws_parse(&p, s.ptr, s.len, &ev), f1);
    WF_EXPECT_EQ_INT(ev.opcode, WF_WS_TEXT);
    WF_EXPECT_EQ_MEM(ev.data, ev.len, "a", 1);
    WF_EXPECT_EQ_INT(wf_ws_parse(&p, s.ptr + f1, s.len - f1, &ev), f2 - f1);
    WF_EXPECT_EQ_INT(ev.opcode, WF_WS_BINARY);
    WF_EXPECT_EQ_MEM(ev.data, ev.len, "bc", 2);
    WF_EXPECT_EQ_INT(wf_ws_parse(&p, s.ptr + f2, s.len - f2, &ev), f3 - f2);
    WF_EXPECT_EQ_INT(ev.opcode, WF_WS_PING);
    WF_EXPECT_EQ_MEM(ev.data, ev.len, "d", 1);
    WF_EXPECT_EQ_INT(wf_ws_parse(&p, s.ptr + f3, s.len - f3, &ev), s.len - f3);
    WF_EXPECT_EQ_INT(ev.opcode, WF_WS_CLOSE);
    WF_EXPECT_EQ_INT(ev.code, 1000);
    WF_EXPECT_EQ_MEM(ev.data, ev.len, "e", 1);
    /* after the close: everything used, nothing given */
    char more[] = "\x81\x85more!";
    WF_EXPECT_EQ_INT(wf_ws_parse(&p, more, 7, &ev), 7);
    WF_EXPECT_EQ_INT(ev.opcode, 0);
    WF_EXPECT_EQ_INT(ev.fail, 0);
    WF_EXPECT_EQ_INT(wf_ws_parse(&p, more, 0, &ev), 0);
    WF_EXPECT_EQ_INT(ev.opcode, 0);
    wf_ws_parser_free(&p);
    /* after a failure: the same */
    wf_ws_parser q = {0};
    char bad[] = "\x81\x05Hello\x81\x05Hello";
    WF_EXPECT_EQ_INT(wf_ws_parse(&q, bad, 14, &ev), 14);
    WF_EXPECT_EQ_INT(ev.opcode, 0);
    WF_EXPECT_EQ_INT(ev.fail, WF_WS_PROTOCOL_ERROR);
    WF_EXPECT_EQ_INT(wf_ws_parse(&q, bad, 14, &ev), 14);
    WF_EXPECT_EQ_INT(ev.opcode, 0);
    WF_EXPECT_EQ_INT(ev.fail, 0);
    wf_ws_parser_free(&q);
    /* nothing fed, nothing given */
    wf_ws_parser r = {0};
    WF_EXPECT_EQ_INT(wf_ws_parse(&r, more, 0, &ev), 0);
    WF_EXPECT_EQ_INT(ev.opcode, 0);
    WF_EXPECT_EQ_INT(ev.fail, 0);
    wf_ws_parser_free(&r);
    wf_buf_free(&s);
}

/* ---- zero copy ---- */

WF_TEST(ws_frames_zero_copy) {
    char pl[32];
    static const int ops[] = {WF_WS_TEXT, WF_WS_BINARY, WF_WS_PING, WF_WS_PONG, WF_WS_CLOSE};
    for (size_t i = 0; i < 5; i++)
        for (int mi = 0; mi < NMASKS; mi++) {
            wf_buf s = {0};
            size_t n = ops[i] == WF_WS_CLOSE ? close_payload(pl, 1000, "reason", 6) : 20;
            if (ops[i] != WF_WS_CLOSE) memcpy(pl, "twenty bytes of data", 20);
            frame(&s, WF_WS_TEXT, true, "first", 5, masks[mi]);
            frame(&s, ops[i], true, pl, n, masks[mi]);
            char *buf = tu_guard(s.ptr, s.len);
            wf_ws_parser p = {0};
            wf_ws_event ev;
            size_t used = wf_ws_parse(&p, buf, s.len, &ev);
            WF_EXPECT_EQ_INT(ev.opcode, WF_WS_TEXT);
            WF_EXPECT_TRUE(ev.data >= buf && ev.data + ev.len <= buf + s.len);
            used += wf_ws_parse(&p, buf + used, s.len - used, &ev);
            WF_EXPECT_EQ_INT(ev.opcode, ops[i]);
            WF_EXPECT_TRUE(ev.data >= buf && ev.data + ev.len <= buf + s.len);
            if (ops[i] == WF_WS_CLOSE) WF_EXPECT_EQ_MEM(ev.data, ev.len, "reason", 6);
            else WF_EXPECT_EQ_MEM(ev.data, ev.len, pl, n);
            WF_EXPECT_EQ_INT(used, s.len);
            wf_ws_parser_free(&p);
            tu_guard_free(buf, s.len);
            wf_buf_free(&s);
        }
    /* a fragmented message is joined elsewhere */
    for (int op = WF_WS_TEXT; op <= WF_WS_BINARY; op++) {
        wf_buf s = {0};
        frame(&s, op, false, "frag", 4, masks[2]);
        frame(&s, WF_WS_CONT, true, "ments", 5, masks[2]);
        char *buf = tu_guard(s.ptr, s.len);
        wf_ws_parser p = {0};
        wf_ws_event ev;
        size_t used = wf_ws_parse(&p, buf, s.len, &ev);
        WF_EXPECT_EQ_INT(used, s.len);
        WF_EXPECT_EQ_INT(ev.opcode, op);
        WF_EXPECT_EQ_MEM(ev.data, ev.len, "fragments", 9);
        WF_EXPECT_TRUE(ev.data + ev.len <= buf || ev.data >= buf + s.len);
        wf_ws_parser_free(&p);
        tu_guard_free(buf, s.len);
        wf_buf_free(&s);
    }
}

/* ---- memory: a big message, then a small one ---- */

WF_TEST(ws_frames_memory_big_then_small) {
    const size_t n = (size_t)4 << 20;
    for (int op = WF_WS_TEXT; op <= WF_WS_BINARY; op++) {
        char *d = op == WF_WS_TEXT ? big_text(n) : payload(op, n, 1);
        wf_buf s = {0};
        for (size_t at = 0; at < n; at += 65536)
            frame(&s, at ? WF_WS_CONT : op, at + 65536 >= n, d + at, 65536, masks[3]);
        frame(&s, WF_WS_TEXT, false, "sm", 2, masks[3]);
        frame(&s, WF_WS_CONT, true, "all", 3, masks[3]);
        size_t third = 101000;                  /* a text ends between characters */
        while (op == WF_WS_TEXT && ((uint8_t)d[third] & 0xC0) == 0x80) third--;
        frame(&s, op, false, d, 100000, masks[3]);
        frame(&s, WF_WS_CONT, true, d + 100000, third - 100000, masks[3]);
        frame(&s, WF_WS_TEXT, true, "end", 3, masks[3]);
        want_ev w[] = {w_data(op, d, n), W_TEXT("small"), w_data(op, d, third), W_TEXT("end")};
        const size_t chunks[] = {4096, 65536 + 7};
        for (int c = 0; c < 2; c++)
            check_once("4 MiB, then smaller messages", &server, s.ptr, s.len, chunks[c], chunks[c], w, 4);
        wf_buf_free(&s);
        free(d);
    }
}

/* ---- the writer ---- */

WF_TEST(ws_frames_writer_heads) {
    static const uint64_t lens[] = {0,     1,     125,   126,          127,          65535,
                                    65536, 65537, 1u << 31, (uint64_t)1 << 32, ((uint64_t)1 << 63) - 1};
    static const size_t sizes[] = {2, 2, 2, 4, 4, 4, 10, 10, 10, 10, 10};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
        for (int op = 0; op <= 15; op++)
            for (int fin = 0; fin <= 1; fin++)
                for (int mi = -1; mi < NMASKS; mi++) {
                    uint8_t h[14];
                    const uint8_t *m = mi < 0 ? NULL : masks[mi];
                    size_t n = wf_ws_frame_head(h, op, fin, lens[i], m);
                    wf_buf want = {0};
                    hand(&want, (uint8_t)(fin << 7 | op), 0, lens[i], NULL, 0, m);
                    bool ok = n == sizes[i] + (m ? 4 : 0) && n == want.len && memcmp(h, want.ptr, n) == 0;
                    if (!TU_EXPECT_TRUE_AT(TU_HERE, ok))
                        wf_test_log("head of %llu, op %d, fin %d, mask %d: %zu bytes",
                                    (unsigned long long)lens[i], op, fin, mi, n);
                    wf_buf_free(&want);
                }
}

WF_TEST(ws_frames_writer_round_trip) {
    static const size_t lens[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 125, 126, 127, 65535, 65536, 70001};
    static const int ops[] = {WF_WS_TEXT, WF_WS_BINARY, WF_WS_PING, WF_WS_PONG};
    for (size_t oi = 0; oi < 4; oi++)
        for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
            int op = ops[oi];
            if (op >= WF_WS_CLOSE && lens[li] > 125) continue;
            char *d = payload(op == WF_WS_TEXT ? op : WF_WS_BINARY, lens[li], (unsigned)li);
            for (int mi = -1; mi < NMASKS; mi++) {
                const uint8_t *m = mi < 0 ? NULL : masks[mi];
                wf_buf s = {0}, mine = {0};
                /* appended after bytes already there */
                wf_buf_append(&s, "xyz", 3);
                WF_ASSERT_EQ_INT(wf_ws_frame(&s, op, true, d, lens[li], m), 0);
                hand(&mine, (uint8_t)(FIN | op), 0, lens[li], d, lens[li], m);
                WF_EXPECT_TRUE(s.len == mine.len + 3 && memcmp(s.ptr + 3, mine.ptr, mine.len) == 0);
                want_ev w[] = {w_data(op, d, lens[li])};
                const wf_ws_parser *reader = m ? &server : &client;
                check_once("the writer read back", reader, s.ptr + 3, s.len - 3, s.len, 0, w, 1);
                wf_buf_free(&s);
                wf_buf_free(&mine);
            }
            free(d);
        }
}

/* The longest prefix of s[0..n) of at most 123 bytes that ends between characters. */
static size_t cut123(const char *s, size_t n) {
    if (n <= 123) return n;
    size_t k = 0;
    for (size_t i = 0; i <= 123; i++)
        if (i == n || ((uint8_t)s[i] & 0xC0) != 0x80) k = i;
    return k;
}

WF_TEST(ws_frames_writer_close) {
    wf_buf s = {0};
    WF_ASSERT_EQ_INT(wf_ws_close_frame(&s, 1000, "bye", NULL), 0);
    WF_EXPECT_EQ_MEM(s.ptr, s.len, "\x88\x05\x03\xe8" "bye", 7);
    s.len = 0;
    WF_ASSERT_EQ_INT(wf_ws_close_frame(&s, 0, "ignored", NULL), 0);
    WF_EXPECT_EQ_MEM(s.ptr, s.len, "\x88\x00", 2);
    s.len = 0;
    WF_ASSERT_EQ_INT(wf_ws_close_frame(&s, WF_WS_NO_STATUS, NULL, NULL), 0);
    WF_EXPECT_EQ_MEM(s.ptr, s.len, "\x88\x00", 2);
    s.len = 0;
    WF_ASSERT_EQ_INT(wf_ws_close_frame(&s, 4001, NULL, NULL), 0);
    WF_EXPECT_EQ_MEM(s.ptr, s.len, "\x88\x02\x0f\xa1", 4);
    s.len = 0;
    WF_ASSERT_EQ_INT(wf_ws_close_frame(&s, 1001, "", masks[2]), 0);
    WF_EXPECT_EQ_MEM(s.ptr, s.len, "\x88\x82\x37\xfa\x21\x3d\x34\x13", 8);
    wf_buf_free(&s);
    /* long reasons: every alignment of one- to four-byte characters, cut at a character's start */
    static const char *const units[] = {"a", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
    int cases = 0;
    for (int u = 0; u < 4; u++)
        for (size_t pre = 0; pre < 4; pre++)
            for (size_t total = 118; total <= 140; total++) {
                char reason[160];
                size_t k = 0;
                for (; k < pre; k++) reason[k] = 'x';
                for (size_t l = strlen(units[u]); k + l <= total; k += l) memcpy(reason + k, units[u], l);
                reason[k] = 0;
                size_t want = cut123(reason, k);
                for (int mi = -1; mi < NMASKS; mi += 2) {
                    const uint8_t *m = mi < 0 ? NULL : masks[mi];
                    wf_buf f = {0};
                    WF_ASSERT_EQ_INT(wf_ws_close_frame(&f, 3000 + u, reason, m), 0);
                    want_ev w[] = {{WF_WS_CLOSE, reason, want, 3000 + u, 0}};
                    got g;
                    char why[400];
                    run(m ? &server : &client, f.ptr, f.len, f.len, 0, true, &g);
                    bool ok = same(&g, w, 1, why, sizeof why) && ref_utf8_valid(reason, want) && want <= 123;
                    if (!TU_EXPECT_TRUE_AT(TU_HERE, ok))
                        wf_test_log("reason of %zu bytes (unit %d, %zu before): %s", k, u, pre, why);
                    got_free(&g);
                    wf_buf_free(&f);
                    cases++;
                }
            }
    wf_test_log("%d long reasons", cases);
}

/* RFC 6455 7.4.1: 1005, 1006 and 1015 "MUST NOT be set as a status code in a Close control frame by
   an endpoint" (webfw.h: "1005 and 1006 are never sent"). Whatever the writer makes of them, its frame
   must be a close a reader accepts, with no code in it (which a reader reports as 1005). */
WF_TEST(ws_frames_writer_close_reserved_codes) {
    static const int reserved[] = {WF_WS_NO_STATUS, WF_WS_ABNORMAL, 1015};
    for (int i = 0; i < 3; i++)
        for (int r = 0; r < 2; r++) {
            wf_buf f = {0};
            WF_ASSERT_EQ_INT(wf_ws_close_frame(&f, reserved[i], r ? "reason" : NULL, NULL), 0);
            wf_ws_parser p = {.client = true};
            wf_ws_event ev;
            wf_ws_parse(&p, f.ptr, f.len, &ev);
            bool ok = ev.opcode == WF_WS_CLOSE && !ev.fail && ev.code == WF_WS_NO_STATUS && f.len == 2;
            if (!TU_EXPECT_TRUE_AT(TU_HERE, ok)) {
                char hex[64] = "";
                for (size_t k = 0; k < f.len && k < 16; k++)
                    snprintf(hex + 3 * k, sizeof hex - 3 * k, " %02x", (unsigned char)f.ptr[k]);
                wf_test_log("wf_ws_close_frame(%d, %s) wrote%s: read back as opcode %d, code %d, fail %d",
                            reserved[i], r ? "\"reason\"" : "NULL", hex, ev.opcode, ev.code, ev.fail);
            }
            wf_ws_parser_free(&p);
            wf_buf_free(&f);
        }
}

WF_TEST(ws_frames_accept_key) {
    char out[29];
    WF_ASSERT_EQ_INT(wf_ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 24, out), 0);
    WF_EXPECT_EQ_STR(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    static const char *const bad[] = {
        "dGhlIHNhbXBsZSBub25jZQ=",   /* 23 characters */
        "dGhlIHNhbXBsZSBub25jZQ===", /* 25 */
        "dGhlIHNhbXBsZSBub25jZQ",    /* no padding */
        "dGhlIHNhbXBsZSBub25j!Q==",  /* not base64 */
        "dGhlIHNhbXBsZSBub25jZQ-_",  /* base64url */
        "dGhlIHNhbXBsZSBub25jZ Q=",  /* a space */
        "AAAAAAAAAAAAAAAAAAAAAAA=",  /* 17 bytes */
        "AAAAAAAAAAAAAAAAAAAAAAAA",  /* 18 bytes */
        "AAAAAAAAAAAAAAAAAAAA",      /* 15 bytes */
        "AAAAAAAAAAAAAAAAAAAA====",  /* 15 bytes, padded to 24 */
        "AAAAAAAAAAAAAAAAAAAAA===",  /* 15 bytes and a bit */
        "dGhlIHNhbXBsZSBub25jZXRoZSBzYW1wbGUgbm9uY2U=", /* 32 bytes */
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(out, 'Q', sizeof out);
        if (!TU_EXPECT_EQ_INT_AT(TU_HERE, wf_ws_accept_key(bad[i], strlen(bad[i]), out), WF_EPARSE))
            wf_test_log("  key '%s'", bad[i]);
    }
    /* only the n bytes given are read */
    WF_EXPECT_EQ_INT(wf_ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==XYZ", 24, out), 0);
    WF_EXPECT_EQ_STR(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    char *g = tu_guard("dGhlIHNhbXBsZSBub25jZQ==", 24);
    WF_EXPECT_EQ_INT(wf_ws_accept_key(g, 24, out), 0);
    tu_guard_free(g, 24);
    /* random keys against Python's hashlib and base64 */
    char keys[8][25], script[2048], want[512], mine[512] = "";
    size_t k = (size_t)snprintf(script, sizeof script,
                                "import base64, hashlib\nfor k in [");
    for (int i = 0; i < 8; i++) {
        uint8_t raw[16];
        WF_ASSERT_EQ_INT(wf_random(raw, 16), 0);
        wf_base64_encode(keys[i], raw, 16, false);
        k += (size_t)snprintf(script + k, sizeof script - k, "\"%s\", ", keys[i]);
        WF_ASSERT_EQ_INT(wf_ws_accept_key(keys[i], 24, out), 0);
        strcat(mine, out);
        strcat(mine, " ");
    }
    snprintf(script + k, sizeof script - k,
             "]: print(base64.b64encode(hashlib.sha1((k + \"258EAFA5-E914-47DA-95CA-C5AB0DC85B11\")"
             ".encode()).digest()).decode(), end=\" \")\nprint()");
    WF_ASSERT_TRUE(tu_python(script, want, sizeof want));
    WF_EXPECT_EQ_STR(mine, want);
}
