/* libFuzzer target for the WebSocket frame reader (RFC 6455 5) and writer. Input: a flags byte (bit 0:
   read as a client, unmasked frames; bits 1-2: the message limit, 1 MiB down to 10 bytes), two piece
   sizes (0: the rest at once), then the bytes of the connection, fed in pieces of those sizes in
   turn, each piece in a buffer of its own. Checked: every call's convention (bytes used, one event,
   nothing after a close or a failure), each event's bounds (a message within the limit, text and
   close reasons in UTF-8, allowed close codes), the same events when the input is fed whole and
   from a reference reader written here from RFC 6455, and every message written again with
   wf_ws_frame (masked; a text or binary one also in fragments) reads back as the same.
   Build with -DWF_FUZZ_REPLAY for a plain main() that replays files. */
#define WEBFW_IMPLEMENTATION
#define WF_NO_TESTING
#include "../../webfw.h"

typedef struct fev {
    int opcode, code, fail;
    size_t len;
    char *data;
} fev;

typedef struct fevs {
    fev *v;
    size_t n, cap;
} fevs;

static void push(fevs *e, int opcode, int code, int fail, const char *d, size_t len) {
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 16;
        e->v = (fev *)realloc(e->v, e->cap * sizeof *e->v);
        if (!e->v) abort();
    }
    fev *x = &e->v[e->n++];
    x->opcode = opcode, x->code = code, x->fail = fail, x->len = len;
    x->data = (char *)malloc(len ? len : 1);
    if (!x->data) abort();
    if (len) memcpy(x->data, d, len);
}

static void fevs_free(fevs *e) {
    for (size_t i = 0; i < e->n; i++) free(e->v[i].data);
    free(e->v);
    memset(e, 0, sizeof *e);
}

static bool fevs_equal(const fevs *a, const fevs *b) {
    if (a->n != b->n) return false;
    for (size_t i = 0; i < a->n; i++) {
        const fev *x = &a->v[i], *y = &b->v[i];
        if (x->opcode != y->opcode || x->code != y->code || x->fail != y->fail || x->len != y->len ||
            (x->len && memcmp(x->data, y->data, x->len) != 0))
            return false;
    }
    return true;
}

/* UTF-8 (RFC 3629) from the code-point arithmetic: the index of the first byte no well-formed text
   can have there, n if none; *partial: s ends inside a character. */
static size_t utf8_bad(const uint8_t *s, size_t n, bool *partial) {
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
        else return i;
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

static bool utf8_ok(const char *s, size_t n) {
    bool partial;
    return utf8_bad((const uint8_t *)s, n, &partial) == n && !partial;
}

static bool code_ok(int c) {
    return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);
}

/* ---- the reader under test, fed in pieces ---- */

/* Feed buf[0..len) as a caller does, checking each call; the events go to e. */
static void feed(wf_ws_parser *p, char *buf, size_t len, uint64_t max, fevs *e, bool *ended) {
    size_t pos = 0;
    for (;;) {
        wf_ws_event ev;
        size_t rest = len - pos, used = wf_ws_parse(p, buf + pos, rest, &ev);
        if (used > rest) __builtin_trap();
        pos += used;
        if (*ended && (ev.opcode || ev.fail || used != rest)) __builtin_trap();
        if (ev.fail) {
            if (ev.opcode || used != rest) __builtin_trap();
            int f = ev.fail;
            if (f != WF_WS_PROTOCOL_ERROR && f != WF_WS_INVALID_DATA && f != WF_WS_TOO_BIG &&
                f != WF_WS_INTERNAL_ERROR)
                __builtin_trap();
            push(e, 0, 0, ev.fail, NULL, 0);
            *ended = true;
        } else if (ev.opcode) {
            if (ev.len && !ev.data) __builtin_trap();
            switch (ev.opcode) {
            case WF_WS_TEXT:
                if (!utf8_ok(ev.data, ev.len)) __builtin_trap();
                /* fall through */
            case WF_WS_BINARY:
                if (ev.len > max) __builtin_trap();
                break;
            case WF_WS_PING:
            case WF_WS_PONG:
                if (ev.len > 125) __builtin_trap();
                break;
            case WF_WS_CLOSE:
                if (ev.len > 123 || used != rest || !utf8_ok(ev.data, ev.len)) __builtin_trap();
                if (ev.code == WF_WS_NO_STATUS ? ev.len != 0 : !code_ok(ev.code)) __builtin_trap();
                if (wf_ws_close_code_ok(ev.code) != code_ok(ev.code)) __builtin_trap();
                *ended = true;
                break;
            default:
                __builtin_trap();
            }
            push(e, ev.opcode, ev.opcode == WF_WS_CLOSE ? ev.code : 0, 0, ev.data, ev.len);
        }
        if (!ev.opcode && pos == len) return;
        if (!ev.opcode && used == 0) __builtin_trap();  /* no progress with bytes left */
    }
}

/* Feed in[0..n) to a fresh reader in pieces of a, b, a, b... bytes (0: the rest), each piece in an
   allocation of its own (so that reading past it is caught). */
static void parse(const char *in, size_t n, bool client, uint64_t max, size_t a, size_t b, fevs *e) {
    wf_ws_parser p = {0};
    p.client = client;
    p.max_message = max;
    bool ended = false;
    for (size_t at = 0, k = 0; at < n; k++) {
        size_t s = k & 1 ? b : a;
        if (!s || s > n - at) s = n - at;
        char *piece = (char *)malloc(s);
        if (!piece) abort();
        memcpy(piece, in + at, s);
        feed(&p, piece, s, max, e, &ended);
        free(piece);
        at += s;
    }
    wf_ws_parser_free(&p);
}

/* ---- a reference reader: the whole input at once, straight from RFC 6455 5 ---- */

static void reference(const uint8_t *in, size_t n, bool client, uint64_t max, fevs *e) {
    size_t pos = 0;
    int msg_op = 0;
    wf_buf msg = {0};
    char ctl[125];
    for (;;) {
        if (n - pos < 2) break;
        uint8_t b0 = in[pos], b1 = in[pos + 1];
        bool fin = b0 & 0x80, masked = b1 & 0x80;
        int op = b0 & 0x0F, len7 = b1 & 0x7F;
        size_t hl = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + (masked ? 4 : 0);
        if (n - pos < hl) break;                        /* a head is judged once it is whole */
        uint64_t len = (uint64_t)len7;
        if (len7 == 126) len = (uint64_t)in[pos + 2] << 8 | in[pos + 3];
        if (len7 == 127)
            for (int k = 0; k < 8; k++) len = (k ? len << 8 : 0) | in[pos + 2 + k];
        bool control = op & 8;
        bool bad = (b0 & 0x70) || !(op <= 2 || (op >= 8 && op <= 10)) || masked == client ||
                   (control && (!fin || len > 125)) || (len7 == 126 && len < 126) ||
                   (len7 == 127 && (len < 65536 || len >= ((uint64_t)1 << 63))) || (op == 0 && !msg_op) ||
                   ((op == 1 || op == 2) && msg_op);
        if (bad) {
            push(e, 0, 0, WF_WS_PROTOCOL_ERROR, NULL, 0);
            break;
        }
        if (!control && (len > max || msg.len + len > max)) {
            push(e, 0, 0, WF_WS_TOO_BIG, NULL, 0);
            break;
        }
        const uint8_t *mk = masked ? in + pos + hl - 4 : NULL;
        pos += hl;
        size_t have = (size_t)(len < n - pos ? len : n - pos);
        if (op == 1 || op == 2) msg_op = op;
        if (!control) {
            size_t at = msg.len;
            if (wf_buf_append(&msg, in + pos, have) < 0) abort();
            for (size_t i = 0; mk && i < have; i++) msg.ptr[at + i] ^= (char)mk[i & 3];
            bool partial = false;
            if (msg_op == 1 && utf8_bad((const uint8_t *)msg.ptr, msg.len, &partial) < msg.len) {
                push(e, 0, 0, WF_WS_INVALID_DATA, NULL, 0);  /* as soon as the bad byte is there */
                break;
            }
            if (have < len) break;
            pos += have;
            if (!fin) continue;
            if (msg_op == 1 && partial) {
                push(e, 0, 0, WF_WS_INVALID_DATA, NULL, 0);
                break;
            }
            push(e, msg_op, 0, 0, msg.ptr, msg.len);
            msg.len = 0;
            msg_op = 0;
            continue;
        }
        if (have < len) break;
        for (size_t i = 0; i < have; i++) ctl[i] = (char)(in[pos + i] ^ (mk ? mk[i & 3] : 0));
        pos += have;
        if (op != WF_WS_CLOSE) {
            push(e, op, 0, 0, ctl, have);
            continue;
        }
        int code = have >= 2 ? (uint8_t)ctl[0] << 8 | (uint8_t)ctl[1] : WF_WS_NO_STATUS;
        if (have == 1 || (have >= 2 && !code_ok(code))) push(e, 0, 0, WF_WS_PROTOCOL_ERROR, NULL, 0);
        else if (have > 2 && !utf8_ok(ctl + 2, have - 2)) push(e, 0, 0, WF_WS_INVALID_DATA, NULL, 0);
        else push(e, WF_WS_CLOSE, code, 0, ctl + 2, have > 2 ? have - 2 : 0);
        break;
    }
    wf_buf_free(&msg);
}

/* ---- the writer, read back ---- */

static const uint8_t mask[4] = {0xA5, 0x0F, 0x5A, 0xF0};

static void read_back(const wf_buf *b, uint64_t max, const fev *want) {
    fevs e = {0};
    parse(b->ptr, b->len, false, max, 0, 0, &e);
    fevs w = {(fev *)want, 1, 1};
    if (!fevs_equal(&e, &w)) __builtin_trap();
    fevs_free(&e);
}

static void round_trip(const fev *x, uint64_t max) {
    wf_buf b = {0};
    if (x->opcode == WF_WS_CLOSE) {
        /* wf_ws_close_frame takes a C string: the reason up to a NUL */
        char reason[124];
        memcpy(reason, x->data, x->len);
        reason[x->len] = 0;
        fev w = *x;
        w.len = strlen(reason);
        if (wf_ws_close_frame(&b, x->code, reason, mask) < 0) abort();
        read_back(&b, max, &w);
    } else {
        if (wf_ws_frame(&b, x->opcode, true, x->data, x->len, mask) < 0) abort();
        read_back(&b, max, x);
        if (x->opcode == WF_WS_TEXT || x->opcode == WF_WS_BINARY) {
            /* in three fragments (cut anywhere, inside characters too), a ping between */
            size_t c1 = x->len / 3, c2 = x->len - x->len / 4;
            b.len = 0;
            if (wf_ws_frame(&b, x->opcode, false, x->data, c1, mask) < 0 ||
                wf_ws_frame(&b, WF_WS_CONT, false, x->data + c1, c2 - c1, mask) < 0 ||
                wf_ws_frame(&b, WF_WS_PING, true, "", 0, mask) < 0 ||
                wf_ws_frame(&b, WF_WS_CONT, true, x->data + c2, x->len - c2, mask) < 0)
                abort();
            fevs e = {0};
            parse(b.ptr, b.len, false, max, 0, 0, &e);
            if (e.n != 2 || e.v[0].opcode != WF_WS_PING || e.v[0].len) __builtin_trap();
            fevs w = {(fev *)x, 1, 1}, m = {e.v + 1, 1, 1};
            if (!fevs_equal(&m, &w)) __builtin_trap();
            fevs_free(&e);
        }
    }
    wf_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const uint64_t limits[] = {1u << 20, 1000, 126, 10};
    if (size < 3) return 0;
    bool client = data[0] & 1;
    uint64_t max = limits[(data[0] >> 1) & 3];
    const char *in = (const char *)data + 3;
    size_t n = size - 3;
    fevs split = {0}, whole = {0}, ref = {0};
    parse(in, n, client, max, data[1], data[2], &split);
    parse(in, n, client, max, 0, 0, &whole);
    reference((const uint8_t *)in, n, client, max, &ref);
    if (!fevs_equal(&split, &whole) || !fevs_equal(&split, &ref)) __builtin_trap();
    for (size_t i = 0; i < split.n; i++)
        if (split.v[i].opcode) round_trip(&split.v[i], max);
    fevs_free(&split);
    fevs_free(&whole);
    fevs_free(&ref);
    return 0;
}

#include "replay.h"
