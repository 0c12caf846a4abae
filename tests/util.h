/* Test helpers: a blocking HTTP/1.1 client written independently of webfw.h's parser, servers on
   ephemeral loopback ports, and guard-page buffers. Every wait is bounded. */
#ifndef TESTS_UTIL_H
#define TESTS_UTIL_H
#include "../webfw.h"

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
void tu_log(void *user, int level, const char *msg);
int tu_log_count(const char *needle);
void tu_log_clear(void);
/* Monotonic milliseconds. */
long long tu_ms(void);
/* CPU time (user + system) this process has used, in seconds. */
double tu_cpu_seconds(void);
/* Run a snippet with Debian's /usr/bin/python3 (where python3-jwt, -passlib, -bcrypt live); the first
   line of its output goes to out. True if it printed one and exited 0. */
bool tu_python(const char *script, char *out, size_t cap);
#endif
