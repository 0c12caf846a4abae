/* Test helpers: a blocking HTTP/1.1 client written independently of webfw.h's parser, servers on
   ephemeral loopback ports, and guard-page buffers. Every wait is bounded. */
#ifndef TESTS_UTIL_H
#define TESTS_UTIL_H
#include "../webfw.h"
#include <pthread.h>
#include <stdatomic.h>

typedef struct tu_conn {
    int fd;
    char *buf;
    size_t len, cap;
} tu_conn;

typedef struct tu_resp {
    int status;
    char head[8192];            /* status line and headers, NUL-terminated */
    char *body;                 /* malloc'd, NUL-terminated */
    size_t body_len;
    bool chunked;
} tu_resp;

/* Start app on an ephemeral port (1 thread, no access log unless cfg says otherwise). Returns the port. */
int tu_serve(wf_app *app, wf_config *cfg);
/* Stop and wait for the server of app, then free app. */
void tu_stop(wf_app *app);
/* Connect to 127.0.0.1:port; returns 0 and fills c, or -1. */
int tu_connect(tu_conn *c, int port);
void tu_close(tu_conn *c);
/* Send all bytes. Returns 0 or -1. */
int tu_send(tu_conn *c, const void *p, size_t n);
int tu_sends(tu_conn *c, const char *s);
/* Read one response (head_only: a HEAD request's, no body). Returns its status, or -1 on end of
   stream / timeout. Free with tu_resp_free. */
int tu_read(tu_conn *c, tu_resp *r, bool head_only, int timeout_ms);
void tu_resp_free(tu_resp *r);
/* The value of header name in r (case-insensitive) copied to out; false if absent. */
bool tu_header(const tu_resp *r, const char *name, char *out, size_t cap);
/* True if the server closes the connection (EOF or reset) within timeout_ms, with no more bytes. */
bool tu_closed(tu_conn *c, int timeout_ms);
/* One request on a fresh connection; returns the status (-1 on failure) and fills r. */
int tu_request(int port, const char *raw, tu_resp *r);
/* A copy of p[0..n) placed right before an inaccessible page; free with tu_guard_free. */
char *tu_guard(const void *p, size_t n);
void tu_guard_free(char *g, size_t n);
/* One request through a test client: method, path, one optional header line, an optional JSON body.
   The body of the answer is copied to body[cap]; returns the status, or -1. */
int tu_call(wf_test_client *tc, const char *method, const char *path, const char *header, const char *json,
            char *body, size_t cap);
/* A wf_config.log that keeps every line it is given (any thread). tu_log_count says how many kept
   lines contain needle; tu_log_clear forgets them. */
void tu_log(void *user, wf_log_level level, const char *msg);
int tu_log_count(const char *needle);
void tu_log_clear(void);
/* The first kept line that contains needle: the integer right after needle in it, or -1. */
long tu_log_number_after(const char *needle);
/* Monotonic milliseconds. */
long long tu_ms(void);
/* CPU time (user + system) this process has used, in seconds. */
double tu_cpu_seconds(void);
/* Run a snippet with Debian's /usr/bin/python3 (where python3-jwt, -passlib, -bcrypt live); the first
   line of its output goes to out. True if it printed one and exited 0. */
bool tu_python(const char *script, char *out, size_t cap);

/* ---- waiting on events, not on time ----
   Tests synchronise on what they can observe (a handler has started, the server has read the
   bytes, the server has closed its end) instead of sleeping and hoping. Every wait is bounded: it
   returns false after timeout_ms, so a broken server fails the test rather than hanging it. */

/* A gate that threads (handlers, tasks, cleanups) wait at until the test opens it. */
typedef struct tu_gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool open;
    int arrived;                /* how many waits have begun */
} tu_gate;
#define TU_GATE_INIT {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0}
/* Close g and forget its arrivals (no thread may be waiting at it). */
void tu_gate_reset(tu_gate *g);
/* Arrive at g and wait until it is open; false if it stayed shut for timeout_ms. */
bool tu_gate_pass(tu_gate *g, int timeout_ms);
/* Open g: every wait, now and later, passes. */
void tu_gate_open(tu_gate *g);
/* Wait until n waits have begun at g. */
bool tu_gate_arrivals(tu_gate *g, int n, int timeout_ms);
/* Wait until *v >= want. */
bool tu_wait_atomic(atomic_int *v, int want, int timeout_ms);

/* The server's end of a loopback connection, as the kernel lists it (/proc/net/tcp). The server
   must run in this process (tu_serve) for tu_server_released. */
typedef struct tu_peer {
    int server_port, client_port;
    unsigned long inode;        /* the server's socket, 0 if not found */
} tu_peer;
/* Find the server's end of c (it exists once connect() returned). */
tu_peer tu_server_end(const tu_conn *c);
/* True once the server's kernel has acknowledged every byte sent on c so far (they have arrived). */
bool tu_server_received(const tu_conn *c, int timeout_ms);
/* True once the server has read every byte sent on c so far: they have all arrived and none is
   left unread in its socket. */
bool tu_server_read_all(const tu_conn *c, int timeout_ms);
/* True once the server's kernel has dropped the connection (after a reset it is no longer listed). */
bool tu_server_reset_seen(const tu_peer *p, int timeout_ms);
/* True once the server has closed its socket for p (no descriptor of this process refers to it). */
bool tu_server_released(const tu_peer *p, int timeout_ms);
/* True once nothing listens on port any more (a stopping server closes its listener first). */
bool tu_listener_closed(int port, int timeout_ms);
/* The server's descriptor for its end of c, found by its addresses among this process's (the
   server runs here, and keeps it open while it is used), or -1. */
int tu_server_fd(const tu_conn *c);
/* tu_server_read_all through that descriptor, without /proc/net/tcp (slow where thousands of
   connections are listed): true once every byte sent on c so far is acknowledged (SIOCOUTQ) and
   none is left unread in the server's socket (SIOCINQ on sfd). */
bool tu_server_drained(const tu_conn *c, int sfd, int timeout_ms);
/* Close c with a reset (SO_LINGER 0) rather than a FIN. */
void tu_reset(tu_conn *c);
/* Descriptors this process has open. */
int tu_open_fds(void);

/* ---- checks in helpers ----
   A helper that checks takes a tu_at first and is called through a macro passing TU_HERE, so a
   failure names the test's line (where the helper was called), not the helper's own:
       static void expect_at(tu_at at, ..., int status) { TU_EXPECT_EQ_INT_AT(at, got, status); }
       #define expect(...) expect_at(TU_HERE, __VA_ARGS__)
   Each check is an expression: true if it held (a helper can then say which case failed). */
typedef struct tu_at {
    const char *file;
    int line;
} tu_at;
#define TU_HERE ((tu_at){__FILE__, __LINE__})
#define TU__INT_AT(at, a, op, ops, b, fatal)                                                  \
    wf__check_int((at).file, (at).line, #a " " ops " " #b, (long long)(a), (long long)(b), op, #a, #b, fatal)
#define TU_ASSERT_EQ_INT_AT(at, a, b) TU__INT_AT(at, a, WF__OP_EQ, "==", b, true)
#define TU_ASSERT_GT_INT_AT(at, a, b) TU__INT_AT(at, a, WF__OP_GT, ">", b, true)
#define TU_EXPECT_EQ_INT_AT(at, a, b) TU__INT_AT(at, a, WF__OP_EQ, "==", b, false)
#define TU_EXPECT_GE_INT_AT(at, a, b) TU__INT_AT(at, a, WF__OP_GE, ">=", b, false)
#define TU_EXPECT_GT_INT_AT(at, a, b) TU__INT_AT(at, a, WF__OP_GT, ">", b, false)
#define TU_EXPECT_EQ_STR_AT(at, a, b)                                                         \
    wf__check_str((at).file, (at).line, #a, #b, (a), (size_t)-1, (b), (size_t)-1, true, false)
#define TU_EXPECT_TRUE_AT(at, x) wf__check_true((at).file, (at).line, #x, (x) ? true : false, true, false)
#define TU_ASSERT_TRUE_AT(at, x) wf__check_true((at).file, (at).line, #x, (x) ? true : false, true, true)

/* ---- a raw WebSocket client over tu_conn ----
   Frames are built and read here, independently of webfw.h's frame writer and reader, and the
   reader is strict about what a server may send (RFC 6455 5): the server's frames are checked by
   other code than its own. */
#define TU_WS_KEY "dGhlIHNhbXBsZSBub25jZQ=="            /* RFC 6455 1.3's example key */
#define TU_WS_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="     /* its Sec-WebSocket-Accept */

/* One frame from the server. */
typedef struct tu_ws_frame {
    int opcode;
    bool fin;
    char *data;                 /* the payload (a close frame's whole payload), malloc'd, NUL-terminated */
    size_t len;
    int code;                   /* a close frame's code, 1005 if it has none */
    char reason[128];           /* a close frame's reason */
} tu_ws_frame;

/* Send a handshake for path (GET, HTTP/1.1, Host, Upgrade: websocket, Connection: Upgrade,
   Sec-WebSocket-Key: TU_WS_KEY, Sec-WebSocket-Version: 13, then extra: "Name: value\r\n" lines or
   NULL) and read the answer's head into r (the frames after a 101 stay in c's buffer). Returns the
   status, -1 if none came. */
int tu_ws_handshake(tu_conn *c, const char *path, const char *extra, tu_resp *r);
/* Connect to port and open a WebSocket on path: true once the 101 came. */
bool tu_ws_open(tu_conn *c, int port, const char *path, const char *extra);
/* A client frame: head byte b0 (FIN, RSV bits and opcode: 0x81 is a whole text frame), the length
   the head announces (len), a mask (4 bytes; NULL: unmasked), then p[0..n) masked (n may differ
   from len: a head alone, a lie). Returns a malloc'd buffer of *size bytes. */
char *tu_ws_encode(unsigned b0, uint64_t len, const void *p, size_t n, const uint8_t *mask, size_t *size);
/* Send one masked frame of p[0..n) (a new mask each time). 0 or -1. */
int tu_ws_send(tu_conn *c, unsigned b0, const void *p, size_t n);
/* Send a masked close frame: code (no payload if 0) and reason (NULL: none). */
int tu_ws_send_close(tu_conn *c, int code, const char *reason);
/* Read one frame. 1: f is filled (free with tu_ws_frame_free); 0: the server closed the connection
   (end of stream or reset) before another frame began; -1: a timeout, the end inside a frame, or a
   frame no server may send (masked, RSV bits, a reserved opcode, a length not in its shortest
   form, a fragmented or long control frame, a 1-byte close), said in the test's log. */
int tu_ws_read(tu_conn *c, tu_ws_frame *f, int timeout_ms);
/* The next frame that is not a ping, each ping answered with a pong (and counted in *pings unless
   it is NULL). Returns as tu_ws_read. */
int tu_ws_next(tu_conn *c, tu_ws_frame *f, int timeout_ms, int *pings);
void tu_ws_frame_free(tu_ws_frame *f);
#endif
