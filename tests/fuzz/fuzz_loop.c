/* libFuzzer target for the server's connection handling as a whole: raw bytes, cut into segments of
   sizes the input chooses, go to a real connection of the real loop (reads, the parser, pipelining,
   100-continue, bodies and chunked decoding, routing, middleware, dependencies, errors, streams,
   files with sendfile, output queues under back-pressure, half-close, lingering and hang-ups), and
   whatever the server writes back is checked as an HTTP/1.1 client would read it.

   Why a socket pair driven in this thread rather than a 127.0.0.1 server started with wf_start: the
   server of a test client (wf_test_client_new: the real loop, connection and HTTP code, no listener,
   no worker pool) is run here one iteration at a time with wf__loop_poll_once, the loop thread's own
   step, on an AF_UNIX socket pair whose server end is added as an accepted connection (wf__conn_add,
   as wf__accept does). Everything then happens in one thread in a fixed order: each segment is one
   send() that the next iteration reads whole, with no TCP coalescing, Nagle, thread scheduling or
   sleeps in between, so a run is reproducible and coverage feedback is exact, at thousands of inputs
   a second. (The loop's wait is made non-blocking by marking a timer due before each step: the timers
   are checked against the clock as usual, and none of them, seconds long, fires within an input.)

   Input: 4 control bytes, then the bytes sent.
     byte 0, flags: bit 0  half-close (shutdown(SHUT_WR)) after the last segment, else stay open until
                           the server is quiet, then close
                    bit 1  lazy client: read nothing until every segment is sent
                    bit 2  small socket buffers (the server's send, the client's receive): partial
                           writes, queued output, sendfile in pieces
                    bit 3  the connection is accepted once the first segment is there (else before)
                    bit 4  abort: close the client end right after the last segment is sent (before
                           the loop reads it), leaving what the server wrote unread
                    bits 5-7  loop iterations after each segment (0: until the loop is idle)
     bytes 1-3: segment sizes, used in turn (0: all the rest)
   Checks beyond the sanitizers, for every input:
     - the bytes written parse as HTTP/1.1 responses: status line, header fields without control
       characters, at most one Content-Length, Transfer-Encoding only "chunked" and never with a
       Content-Length, a body exactly as framed (Content-Length, chunks up to the last one, or up to
       the close with "Connection: close"), none after 1xx/204/304 (or HEAD, which makes the split
       ambiguous: the reading backtracks), nothing after a response with "Connection: close", and
       nothing incomplete once the server is quiet or has closed;
     - no more final responses than complete request heads sent plus one (an error may answer an
       incomplete head), no more 100 Continue than heads;
     - after a half-close, the server answers and closes; after a close, it lets the connection go;
       every dependency cleanup ran, once; the loop holds no connection afterwards;
     - a SIGPIPE (a write to a peer that has gone, which wf_run does not ignore) is a crash; build
       with -DWF_FUZZ_LOOP_IGNORE_SIGPIPE to ignore it instead, as wf_test_main does;
     - every 64 inputs, a request through the test client (same loop) still gets its 200.
   Seeds: tests/fuzz/h2o-http1-corpus.tar.gz behind the control bytes 01 00 00 00 (h2o, MIT, see
   LICENSE.h2o), and requests for the app's routes. Build with -DWF_FUZZ_REPLAY for a plain main()
   that replays files, and -DWF_FUZZ_LOOP_DUMP to see what the server wrote back. */
#define WEBFW_IMPLEMENTATION
#include "../../webfw.h"

#include <ctype.h>

static wf__loop *loop;
static wf_test_client *tc;
static char file_path[64];
static int cleanups, inputs;

static void quiet(void *user, wf_log_level level, const char *msg) { (void)user, (void)level, (void)msg; }

static void fail(const char *why, const char *detail, size_t at) {
    fprintf(stderr, "fuzz_loop: %s%s%s (response byte %zu)\n", why, detail ? ": " : "", detail ? detail : "",
            at);
    __builtin_trap();
}

static void on_sigpipe(int sig) {
    (void)sig;
    static const char msg[] = "fuzz_loop: SIGPIPE: the server wrote to a peer that has gone\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    __builtin_trap();
}

/* ---- the app: one of each kind of route ---- */

static void count_cleanup(void *arg) {
    (void)arg;
    cleanups--;
}

WF_DEPENDENCY(int *, f_session) {
    cleanups++;
    wf_defer(req, count_cleanup, NULL);
    if (wf_param_bool(req, WF_IN_QUERY, "deny", "default=false"))
        wf_raise(req, 403, "refused by a dependency");
    return &cleanups;
}

static void mw(wf_req *req, wf_res *res, void *user) {
    (void)user;
    if (wf_req_header(req, "x-short").ptr) {
        wf_reply_detail(res, 401, "short-circuited by a middleware");
        return;
    }
    wf_next(req, res);
    wf_res_add_header(res, "X-Mw", "1");
}

static void h_item(wf_req *req, wf_res *res) {
    (void)WF_DEPENDS(req, f_session);
    long long id = wf_param_int(req, WF_IN_PATH, "id", "ge=0");
    long long limit = wf_param_int(req, WF_IN_QUERY, "limit", "default=10,ge=1,le=100");
    double price = wf_param_float(req, WF_IN_QUERY, "price", "default=1.5,gt=0");
    bool flag = wf_param_bool(req, WF_IN_QUERY, "flag", "");
    wf_str q = wf_param_str(req, WF_IN_QUERY, "q", "max_length=50");
    wf_str tok = wf_param_str(req, WF_IN_HEADER, "x-token", "");
    wf_str sess = wf_param_str(req, WF_IN_COOKIE, "session", "min_length=2");
    wf_str tags[4];
    int nt = wf_query_all(req, "tag", tags, 4);
    if (wf_invalid(req)) return;
    wf_set_cookie(res, "seen", "1", &(wf_cookie){.max_age = 60, .httponly = true});
    wf_reply_json(res, 200, "{s:I,s:I,s:f,s:b,s:S,s:S,s:S,s:i}", "id", id, "limit", limit, "price", price,
                  "flag", flag, "q", q, "token", tok, "session", sess, "tags", nt);
}

static void h_form(wf_req *req, wf_res *res) {
    wf_str user = wf_param_str(req, WF_IN_FORM, "username", "required");
    wf_str pass = wf_param_str(req, WF_IN_FORM, "password", "required,min_length=1");
    long long n = wf_param_int(req, WF_IN_FORM, "n", "default=0");
    if (wf_invalid(req)) return;
    wf_reply_json(res, 200, "{s:S,s:i,s:I}", "username", user, "password_len", (int)pass.len, "n", n);
}

static void h_json(wf_req *req, wf_res *res) {
    wf_str name = wf_body_str(req, "name", "required,max_length=64");
    double price = wf_body_float(req, "price", "required");
    long long qty = wf_body_int(req, "qty", "default=1,ge=0");
    bool gift = wf_body_bool(req, "gift", "default=false");
    if (wf_invalid(req)) return;
    wf_reply_json(res, 201, "{s:S,s:f,s:I,s:b}", "name", name, "price", price, "qty", qty, "gift", gift);
}

static void h_echo(wf_req *req, wf_res *res) {
    wf_str b = wf_req_body(req);
    wf_reply(res, 200, "application/octet-stream", b.ptr, b.len);
}

typedef struct stream_state {
    int left, size;
} stream_state;

static int produce(wf_res *res, void *user) {
    stream_state *st = (stream_state *)user;
    char part[2048];
    if (st->left <= 0) return 0;
    int n = snprintf(part, sizeof part, "part %d\n", st->left--);
    if (st->size > n) {
        memset(part + n, 'x', (size_t)(st->size - n));
        n = st->size;
    }
    return wf_res_write(res, part, (size_t)n) < 0 ? -1 : 1;
}

static void h_stream(wf_req *req, wf_res *res) {
    stream_state *st = (stream_state *)wf_req_alloc(req, sizeof *st);
    if (!st) wf_fail(req, "out of memory");
    st->left = (int)wf_param_int(req, WF_IN_QUERY, "n", "default=3,ge=0,le=20");
    st->size = (int)wf_param_int(req, WF_IN_QUERY, "size", "default=8,ge=0,le=2048");
    if (wf_invalid(req)) return;
    if (wf_param_bool(req, WF_IN_QUERY, "head", "default=false")) wf_reply_text(res, 200, "first\n");
    wf_res_stream(res, produce, st, NULL);
}

static void h_file(wf_req *req, wf_res *res) {
    bool missing = wf_param_bool(req, WF_IN_QUERY, "missing", "default=false");
    if (wf_invalid(req)) return;
    wf_reply_file(req, res, missing ? "/nonexistent/wf-fuzz-loop" : file_path, "text/plain");
}

static void h_raise(wf_req *req, wf_res *res) {
    static const char *const hdrs[] = {"WWW-Authenticate: Bearer", NULL};
    (void)res;
    long long status = wf_param_int(req, WF_IN_QUERY, "status", "default=418");
    wf_str how = wf_param_str(req, WF_IN_QUERY, "how", "default=raise");
    if (wf_invalid(req)) return;
    if (how.len == 4 && memcmp(how.ptr, "fail", 4) == 0) wf_fail(req, "failed on purpose");
    if (how.len == 4 && memcmp(how.ptr, "json", 4) == 0)
        wf_raise_json(req, (int)status, "[1,{\"a\":2}]", hdrs);
    wf_raise(req, (int)status, "raised on purpose");
}

static void h_redirect(wf_req *req, wf_res *res) {
    wf_str to = wf_param_str(req, WF_IN_QUERY, "to", "default=/");
    if (wf_invalid(req)) return;
    if (wf_redirect(res, 0, wf_req_strdup(req, to)) < 0) wf_raise(req, 400, "bad location");
}

static void h_close(wf_req *req, wf_res *res) {
    (void)req;
    wf_res_close(res);
    wf_reply_text(res, 204, "");
}

/* The file of /file: a temporary file, unlinked at once and served through /proc/self/fd (nothing
   is left behind, even after a crash). */
static void make_file(void) {
    char dir[] = "/tmp/wf-fuzz-loop.XXXXXX", path[64];
    if (!mkdtemp(dir)) abort();
    snprintf(path, sizeof path, "%s/f.txt", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0) abort();
    unlink(path);
    rmdir(dir);
    for (int i = 0; i < 2000; i++) {      /* 70 kB: more than a socket takes at once */
        char line[40];
        int n = snprintf(line, sizeof line, "line %04d of the file of /file....\n", i);
        if (write(fd, line, (size_t)n) != n) abort();
    }
    snprintf(file_path, sizeof file_path, "/proc/self/fd/%d", fd);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
#ifdef WF_FUZZ_LOOP_IGNORE_SIGPIPE
    signal(SIGPIPE, SIG_IGN);
#else
    signal(SIGPIPE, on_sigpipe);
#endif
    make_file();
    wf_app *app = wf_app_new();
    wf_use(app, mw, NULL);
    wf_get(app, "/items/{id:int}", h_item);
    wf_post(app, "/form", h_form);
    wf_post(app, "/json", h_json);
    wf_put(app, "/echo", h_echo);
    wf_get(app, "/stream", h_stream);
    wf_get(app, "/file", h_file);
    wf_get(app, "/raise", h_raise);
    wf_get(app, "/go", h_redirect);
    wf_get(app, "/close", h_close);
    wf_group *g = wf_group_new(app, "/api");
    wf_group_route(g, "DELETE", "/items/{id}/", h_item, NULL);
    wf_group_depends(g, &f_session);
    tc = wf_test_client_new(app, &(wf_config){.no_access_log = true, .log = quiet, .max_body = 4096,
                                              .max_request_line = 1024, .max_header_bytes = 2048,
                                              .max_headers = 16});
    if (!tc) abort();
    loop = &tc->srv->loops[0];
    return 0;
}

/* ---- the client side ---- */

typedef struct client {
    int fd;
    wf_buf in;
    bool eof;                   /* the server closed (or shut down) its end */
} client;

/* Read what is there; returns the bytes read. */
static size_t client_read(client *cl) {
    size_t got = 0;
    while (!cl->eof) {
        if (wf_buf_reserve(&cl->in, 65536) < 0) abort();
        ssize_t n = recv(cl->fd, cl->in.ptr + cl->in.len, 65536, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n <= 0) {
            cl->eof = true;
            break;
        }
        cl->in.len += (size_t)n;
        got += (size_t)n;
    }
    return got;
}

/* One iteration of the loop, without waiting. Returns whether a connection was ready. */
static bool step(void) {
    loop->next_timer = 0;
    wf__loop_poll_once(loop);
    return loop->nready > 0;
}

/* Iterations (and reads, unless lazy) until both sides are idle, at most max. */
static bool settle(client *cl, bool read, int max) {
    for (int i = 0; i < max; i++) {
        bool busy = step();
        if (read && client_read(cl)) busy = true;
        if (!busy) return true;
    }
    return false;
}

/* ---- reading the responses back ---- */

typedef struct reader {
    const char *b;
    size_t n;
    bool eof, head_possible;
    long budget;                /* response parses left before giving up on an ambiguous split */
    int finals, conts;          /* of the reading that worked */
    const char *why;            /* of the first reading that failed */
    size_t why_at;
} reader;

static bool is_tchar(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int bad(reader *r, const char *why, size_t at) {
    if (!r->why) r->why = why, r->why_at = at;
    return 0;
}

/* Chunked body at pos; its end, or 0 if malformed or incomplete. */
static size_t read_chunks(reader *r, size_t pos) {
    for (;;) {
        size_t size = 0, start = pos;
        while (pos < r->n && isxdigit((unsigned char)r->b[pos]) && pos - start < 16) {
            char c = r->b[pos++];
            size = size * 16 + (size_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
        }
        if (pos == start || pos + 2 > r->n || memcmp(r->b + pos, "\r\n", 2) != 0) return 0;
        pos += 2;
        if (size == 0) return pos + 2 <= r->n && memcmp(r->b + pos, "\r\n", 2) == 0 ? pos + 2 : 0;
        if (size > r->n - pos || r->n - pos - size < 2 || memcmp(r->b + pos + size, "\r\n", 2) != 0)
            return 0;
        pos += size + 2;
    }
}

/* Read responses from pos to the end; 1 if they all read well (or the budget ran out), else 0. */
static int read_from(reader *r, size_t pos, int finals, int conts) {
    if (pos == r->n) {
        r->finals = finals, r->conts = conts;
        return 1;
    }
    if (--r->budget < 0) return 1;
    const char *b = r->b;
    size_t n = r->n, at = pos;
    if (n - pos < 14 || memcmp(b + pos, "HTTP/1.1 ", 9) != 0) return bad(r, "no HTTP/1.1 status line", at);
    if (!isdigit((unsigned char)b[pos + 9]) || !isdigit((unsigned char)b[pos + 10]) ||
        !isdigit((unsigned char)b[pos + 11]) || b[pos + 12] != ' ')
        return bad(r, "malformed status code", at);
    int status = atoi(b + pos + 9);
    if (status < 100 || status > 599) return bad(r, "status out of range", at);
    pos += 13;
    while (pos < n && b[pos] != '\r' && (unsigned char)b[pos] >= ' ' && b[pos] != 0x7f) pos++;
    if (pos + 2 > n) return bad(r, "incomplete status line", at);
    if (b[pos + 1] != '\n' || b[pos] != '\r') return bad(r, "control character in the reason", pos);
    pos += 2;
    long long cl = -1;
    bool chunked = false, close = false, te = false;
    for (;;) {
        if (pos + 2 > n) return bad(r, "incomplete head", at);
        if (b[pos] == '\r') {
            if (b[pos + 1] != '\n') return bad(r, "bare CR in the head", pos);
            pos += 2;
            break;
        }
        size_t ns = pos;
        while (pos < n && is_tchar((unsigned char)b[pos])) pos++;
        if (pos == ns || pos + 1 >= n || b[pos] != ':' || b[pos + 1] != ' ')
            return bad(r, pos >= n ? "incomplete head" : "malformed header name", pos);
        size_t nl = pos - ns, vs = pos + 2;
        pos = vs;
        while (pos < n && ((unsigned char)b[pos] >= ' ' || b[pos] == '\t') && b[pos] != 0x7f) pos++;
        if (pos + 2 > n) return bad(r, "incomplete head", at);
        if (b[pos] != '\r' || b[pos + 1] != '\n') return bad(r, "control character in a header value", pos);
        size_t vl = pos - vs;
        pos += 2;
        if (nl == 14 && strncasecmp(b + ns, "content-length", 14) == 0) {
            if (cl >= 0) return bad(r, "two Content-Length", ns);
            if (vl == 0 || vl > 15) return bad(r, "bad Content-Length", ns);
            cl = 0;
            for (size_t i = 0; i < vl; i++) {
                if (!isdigit((unsigned char)b[vs + i])) return bad(r, "bad Content-Length", ns);
                cl = cl * 10 + (b[vs + i] - '0');
            }
        } else if (nl == 17 && strncasecmp(b + ns, "transfer-encoding", 17) == 0) {
            if (te || vl != 7 || memcmp(b + vs, "chunked", 7) != 0)
                return bad(r, "bad Transfer-Encoding", ns);
            te = chunked = true;
        } else if (nl == 10 && strncasecmp(b + ns, "connection", 10) == 0) {
            close = close || (vl == 5 && strncasecmp(b + vs, "close", 5) == 0);
        }
    }
    if (chunked && cl >= 0) return bad(r, "both Content-Length and Transfer-Encoding", at);
    if (status < 200 || status == 204) {
        if (chunked || cl >= 0) return bad(r, "framing on a response without content", at);
        if (status < 200 && (status != 100 || close)) return bad(r, "an interim response other than 100", at);
        if (close && pos != n) return bad(r, "a response after Connection: close", pos);
        return status < 200 ? read_from(r, pos, finals, conts + 1) : read_from(r, pos, finals + 1, conts);
    }
    /* as framed */
    size_t end = 0;
    if (status == 304) end = pos;
    else if (chunked) end = read_chunks(r, pos);
    else if (cl >= 0) end = (unsigned long long)cl <= n - pos ? pos + (size_t)cl : 0;
    else if (close && r->eof) end = n;
    if (!end) bad(r, chunked ? "bad or incomplete chunked body" : cl >= 0 ? "incomplete body" :
                  close ? "a body up to a close that did not come" : "a body without framing or close", at);
    else if (close && end != n) bad(r, "a response after Connection: close", end);
    else if (read_from(r, end, finals + 1, conts)) return 1;
    /* the response to a HEAD: no body, whatever the framing says */
    if (r->head_possible && pos != end) {
        if (close && pos != n) return bad(r, "a response after Connection: close", pos);
        return read_from(r, pos, finals + 1, conts);
    }
    return 0;
}

/* Complete request heads in the bytes sent: an upper bound on the requests that could be answered. */
static int count_heads(const uint8_t *p, size_t n) {
    int k = 0;
    for (size_t i = 0; i + 3 < n; i++) k += memcmp(p + i, "\r\n\r\n", 4) == 0;
    return k;
}

static bool contains(const uint8_t *p, size_t n, const char *s) {
    size_t k = strlen(s);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(p + i, s, k) == 0) return true;
    return false;
}

static void sanity(void) {
    static const char *const hdrs[] = {"X-Token: t", "Cookie: session=ab", NULL};
    wf_test_req rq = {.path = "/items/5?q=ok&tag=a&tag=b", .headers = hdrs};
    wf_test_res res;
    int rc = wf_test_request(tc, &rq, &res);
    if (rc != 0 || res.status != 200 || !res.body || !strstr(res.body, "\"id\":5") ||
        !strstr(res.body, "\"tags\":2") || !wf_test_header(&res, "x-mw").ptr)
        fail("the sanity request failed", res.head, 0);
    wf_test_res_free(&res);
    if (loop->n != 2) fail("the sanity request left a connection", NULL, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 4 || size > 65536) return 0;
    if (!tc) LLVMFuzzerInitialize(NULL, NULL);      /* replay.h's main() does not call it */
    uint8_t flags = data[0];
    const uint8_t *sizes = data + 1, *msg = data + 4;
    size_t len = size - 4;
    bool half_close = flags & 1, lazy = flags & 2, small = flags & 4, accept_late = flags & 8;
    bool abort_ = flags & 16;
    int rounds = flags >> 5;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) abort();
    if (small) {
        int one = 1;
        setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &one, sizeof one);     /* the minimum, a few KiB */
        setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &one, sizeof one);
    }
    client cl = {sv[1], {0}, false};
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(0x7f000001);
    sin->sin_port = htons(40000);
    bool added = false;
    size_t sent = 0;
    for (int seg = 0; sent < len || !added; seg++) {
        if (!added && (!accept_late || seg > 0 || len == 0)) {
            wf__loop_tick(loop);
            wf__conn_add(loop, sv[0], &ss);              /* as wf__accept does: it reads at once */
            added = true;
        }
        if (sent < len) {
            size_t want = sizes[seg % 3] ? WF__MIN((size_t)sizes[seg % 3], len - sent) : len - sent;
            ssize_t w = send(cl.fd, msg + sent, want, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w <= 0) break;                      /* the server has closed, or will not read more */
            sent += (size_t)w;
        }
        if (!added || (abort_ && sent == len)) continue;     /* abort: the close follows the bytes at once */
        for (int i = 0; i < rounds; i++) {
            step();
            if (!lazy) client_read(&cl);
        }
        if (!rounds) settle(&cl, !lazy, 256);
    }
    if (abort_) {
        close(cl.fd);
        cl.fd = -1;
        settle(&cl, false, 64);
    } else {
        if (half_close) shutdown(cl.fd, SHUT_WR);
        bool idle = settle(&cl, true, 100000);
        if (!idle) fail("the server never went quiet", NULL, 0);
        if (half_close && !cl.eof)
            fail("the server kept the connection after the client's half-close", NULL, 0);
#ifdef WF_FUZZ_LOOP_DUMP
        fprintf(stderr, "---- %zu of %zu bytes sent, %zu received%s:\n", sent, len, cl.in.len,
                cl.eof ? ", then a close" : "");
        fwrite(cl.in.ptr, 1, cl.in.len, stderr);
        fputc('\n', stderr);
#endif
        reader r = {cl.in.ptr, cl.in.len, cl.eof, contains(msg, sent, "HEAD "), 100000, 0, 0, NULL, 0};
        if (!read_from(&r, 0, 0, 0)) fail("the responses do not read as HTTP/1.1", r.why, r.why_at);
        int heads = count_heads(msg, sent);
        if (r.finals > heads + 1) fail("more responses than requests", NULL, 0);
        if (r.conts > heads) fail("more 100 Continue than requests", NULL, 0);
        close(cl.fd);
        settle(&cl, false, 64);
    }
    if (loop->n != 2) fail("the server kept a connection its peer closed", NULL, 0);
    if (atomic_load(&loop->shared->nconns) != 0) fail("the count of connections is off", NULL, 0);
    if (cleanups != 0) fail("a dependency's cleanup did not run once", NULL, 0);
    wf_buf_free(&cl.in);
    if (++inputs % 64 == 0) sanity();
    return 0;
}

#include "replay.h"
