#define _GNU_SOURCE
#include "util.h"
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/sockios.h>

long long tu_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int tu_call(wf_test_client *tc, const char *method, const char *path, const char *header, const char *json,
            char *body, size_t cap) {
    const char *h[] = {header, NULL};
    wf_test_req rq = {.method = method, .path = path, .headers = header ? h : NULL, .json = json};
    wf_test_res r;
    if (wf_test_request(tc, &rq, &r) < 0) return -1;
    snprintf(body, cap, "%s", r.body);
    int st = r.status;
    wf_test_res_free(&r);
    return st;
}

double tu_cpu_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

bool tu_python(const char *script, char *out, size_t cap) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 -c '%s' 2>/dev/null", script);
    FILE *p = popen(cmd, "r");
    if (!p) return false;
    bool ok = fgets(out, (int)cap, p) != NULL;
    int st = pclose(p);
    if (!ok) out[0] = 0;
    out[strcspn(out, "\n")] = 0;
    return ok && st == 0;
}

int tu_serve(wf_app *app, wf_config *cfg) {
    wf_config c = {0};
    if (cfg) c = *cfg;
    c.port = WF_PORT_ANY;
    if (!c.threads) c.threads = 1;
    if (!c.access_log) c.no_access_log = true;
    return wf_start(app, &c);
}

void tu_stop(wf_app *app) {
    wf_stop(app);
    wf_wait(app);
    wf_app_free(app);
}

int tu_connect(tu_conn *c, int port) {
    struct sockaddr_in a;
    memset(c, 0, sizeof *c);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0) return -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c->fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return 0;
}

void tu_close(tu_conn *c) {
    if (c->fd >= 0) close(c->fd);
    free(c->buf);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

int tu_send(tu_conn *c, const void *p, size_t n) {
    const char *s = p;
    while (n) {
        ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

int tu_sends(tu_conn *c, const char *s) { return tu_send(c, s, strlen(s)); }

/* Read more bytes into c->buf within the deadline. Returns bytes read, 0 at EOF, -1 on timeout/error. */
static long fill(tu_conn *c, long long deadline) {
    if (c->cap - c->len < 65536) {
        size_t cap = c->cap ? c->cap * 2 : 131072;
        char *b = realloc(c->buf, cap);
        if (!b) return -1;
        c->buf = b;
        c->cap = cap;
    }
    for (;;) {
        long long left = deadline - tu_ms();
        if (left <= 0) return -1;
        struct pollfd p = {c->fd, POLLIN, 0};
        int rc = poll(&p, 1, (int)left);
        if (rc < 0 && errno == EINTR) continue;
        if (rc <= 0) return -1;
        ssize_t r = recv(c->fd, c->buf + c->len, c->cap - c->len - 1, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return errno == ECONNRESET ? 0 : -1;
        c->len += (size_t)r;
        return (long)r;
    }
}

static void consume(tu_conn *c, size_t n) {
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

static char *find_head_end(tu_conn *c) {
    for (size_t i = 0; i + 3 < c->len; i++)
        if (memcmp(c->buf + i, "\r\n\r\n", 4) == 0) return c->buf + i;
    return NULL;
}

bool tu_header(const tu_resp *r, const char *name, char *out, size_t cap) {
    size_t nl = strlen(name);
    const char *p = strstr(r->head, "\r\n");
    while (p && p[2]) {
        p += 2;
        const char *e = strstr(p, "\r\n");
        if (!e) e = p + strlen(p);
        if ((size_t)(e - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ') v++;
            snprintf(out, cap, "%.*s", (int)(e - v), v);
            return true;
        }
        p = e;
    }
    return false;
}

/* Decode a chunked body at c->buf[0..] into r; returns 1 done, 0 need more, -1 bad. */
static int dechunk(tu_conn *c, tu_resp *r) {
    size_t i = 0, out = 0;
    char *body = malloc(c->len + 1);
    for (;;) {
        char *nl = memchr(c->buf + i, '\n', c->len - i);
        if (!nl) break;
        size_t size = strtoul(c->buf + i, NULL, 16);
        size_t data = (size_t)(nl - c->buf) + 1;
        if (size == 0) {
            if (c->len < data + 2) break;
            r->body = body;
            r->body_len = out;
            body[out] = 0;
            consume(c, data + 2);
            return 1;
        }
        if (c->len < data + size + 2) break;
        memcpy(body + out, c->buf + data, size);
        out += size;
        i = data + size + 2;
    }
    free(body);
    return 0;
}

int tu_read(tu_conn *c, tu_resp *r, bool head_only, int timeout_ms) {
    long long deadline = tu_ms() + timeout_ms;
    char *e, val[64];
    memset(r, 0, sizeof *r);
    r->status = -1;
    while (!(e = find_head_end(c)))
        if (fill(c, deadline) <= 0) return -1;
    size_t hl = (size_t)(e - c->buf) + 4;
    snprintf(r->head, sizeof r->head, "%.*s", (int)hl, c->buf);
    if (strncmp(r->head, "HTTP/1.1 ", 9) != 0) return -1;
    int status = atoi(r->head + 9);
    consume(c, hl);
    if (head_only || status < 200 || status == 204 || status == 304) {
        r->body = calloc(1, 1);
        return r->status = status;
    }
    if (tu_header(r, "Transfer-Encoding", val, sizeof val)) {
        r->chunked = true;
        for (;;) {
            if (dechunk(c, r) == 1) return r->status = status;
            if (fill(c, deadline) <= 0) return -1;
        }
    }
    long long cl = -1;
    if (tu_header(r, "Content-Length", val, sizeof val)) cl = atoll(val);
    if (cl < 0) {      /* delimited by close */
        while (fill(c, deadline) > 0) {
        }
        cl = (long long)c->len;
    }
    while (c->len < (size_t)cl)
        if (fill(c, deadline) <= 0) return -1;
    r->body = malloc((size_t)cl + 1);
    memcpy(r->body, c->buf, (size_t)cl);
    r->body[cl] = 0;
    r->body_len = (size_t)cl;
    consume(c, (size_t)cl);
    return r->status = status;
}

void tu_resp_free(tu_resp *r) {
    free(r->body);
    r->body = NULL;
}

bool tu_closed(tu_conn *c, int timeout_ms) {
    long long deadline = tu_ms() + timeout_ms;
    if (c->len) return false;
    for (;;) {
        long r = fill(c, deadline);
        if (r == 0) return c->len == 0;
        if (r < 0) return false;
    }
}

int tu_request(int port, const char *raw, tu_resp *r) {
    tu_conn c;
    if (tu_connect(&c, port) < 0) return -1;
    int st = tu_sends(&c, raw) < 0 ? -1 : tu_read(&c, r, strncmp(raw, "HEAD ", 5) == 0, 5000);
    tu_close(&c);
    return st;
}

char *tu_guard(const void *p, size_t n) {
    size_t pg = (size_t)sysconf(_SC_PAGESIZE), span = (n + pg - 1) / pg * pg + pg;
    char *m = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) abort();
    mprotect(m + span - pg, pg, PROT_NONE);
    char *g = m + span - pg - n;
    memcpy(g, p, n);
    return g;
}

void tu_guard_free(char *g, size_t n) {
    size_t pg = (size_t)sysconf(_SC_PAGESIZE), span = (n + pg - 1) / pg * pg + pg;
    munmap(g + n + pg - span, span);
}

static pthread_mutex_t tu_log_mu = PTHREAD_MUTEX_INITIALIZER;
static char tu_log_buf[16384];

void tu_log(void *user, wf_log_level level, const char *msg) {
    (void)user, (void)level;
    pthread_mutex_lock(&tu_log_mu);
    size_t n = strlen(tu_log_buf);
    snprintf(tu_log_buf + n, sizeof tu_log_buf - n, "%s\n", msg);
    pthread_mutex_unlock(&tu_log_mu);
}

int tu_log_count(const char *needle) {
    int n = 0;
    pthread_mutex_lock(&tu_log_mu);
    for (const char *p = tu_log_buf; (p = strstr(p, needle)) != NULL; p++) n++;
    pthread_mutex_unlock(&tu_log_mu);
    return n;
}

void tu_log_clear(void) {
    pthread_mutex_lock(&tu_log_mu);
    tu_log_buf[0] = 0;
    pthread_mutex_unlock(&tu_log_mu);
}

long tu_log_number_after(const char *needle) {
    long n = -1;
    pthread_mutex_lock(&tu_log_mu);
    const char *p = strstr(tu_log_buf, needle);
    if (p) n = strtol(p + strlen(needle), NULL, 10);
    pthread_mutex_unlock(&tu_log_mu);
    return n;
}

/* ---- waiting on events ---- */

void tu_gate_reset(tu_gate *g) {
    pthread_mutex_lock(&g->mu);
    g->open = false;
    g->arrived = 0;
    pthread_mutex_unlock(&g->mu);
}

bool tu_gate_pass(tu_gate *g, int timeout_ms) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    long long ns = until.tv_nsec + (long long)timeout_ms * 1000000;
    until.tv_sec += (time_t)(ns / 1000000000);
    until.tv_nsec = (long)(ns % 1000000000);
    pthread_mutex_lock(&g->mu);
    g->arrived++;
    pthread_cond_broadcast(&g->cv);
    int rc = 0;
    while (!g->open && rc == 0) rc = pthread_cond_timedwait(&g->cv, &g->mu, &until);
    bool open = g->open;
    pthread_mutex_unlock(&g->mu);
    return open;
}

void tu_gate_open(tu_gate *g) {
    pthread_mutex_lock(&g->mu);
    g->open = true;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

bool tu_gate_arrivals(tu_gate *g, int n, int timeout_ms) {
    long long deadline = tu_ms() + timeout_ms;
    pthread_mutex_lock(&g->mu);
    while (g->arrived < n && tu_ms() < deadline) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        long long ns = until.tv_nsec + 10000000;      /* look again every 10 ms at most */
        until.tv_sec += (time_t)(ns / 1000000000);
        until.tv_nsec = (long)(ns % 1000000000);
        pthread_cond_timedwait(&g->cv, &g->mu, &until);
    }
    bool ok = g->arrived >= n;
    pthread_mutex_unlock(&g->mu);
    return ok;
}

bool tu_wait_atomic(atomic_int *v, int want, int timeout_ms) {
    long long deadline = tu_ms() + timeout_ms;
    while (atomic_load(v) < want && tu_ms() < deadline) usleep(1000);
    return atomic_load(v) >= want;
}

/* The entry of /proc/net/tcp for the IPv4 connection from local port lport to remote port rport
   (TIME_WAIT left out: it is no socket of ours). */
static bool tcp_entry(int lport, int rport, long *tx, long *rx, unsigned long *inode) {
    FILE *f = fopen("/proc/net/tcp", "r");
    char line[512];
    bool found = false;
    if (!f) return false;
    while (!found && fgets(line, sizeof line, f)) {
        unsigned long la, ra, ino, t, r;
        unsigned lp, rp, st;
        if (sscanf(line, " %*d: %lx:%x %lx:%x %x %lx:%lx %*x:%*x %*x %*u %*d %lu", &la, &lp, &ra, &rp, &st,
                   &t,
                   &r, &ino) != 8)
            continue;
        if ((int)lp == lport && (int)rp == rport && st != 0x06) {
            found = true;
            *tx = (long)t;
            *rx = (long)r;
            *inode = ino;
        }
    }
    fclose(f);
    return found;
}

static void conn_ports(const tu_conn *c, int *client_port, int *server_port) {
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    *client_port = *server_port = -1;
    if (getsockname(c->fd, (struct sockaddr *)&a, &al) == 0) *client_port = ntohs(a.sin_port);
    al = sizeof a;
    if (getpeername(c->fd, (struct sockaddr *)&a, &al) == 0) *server_port = ntohs(a.sin_port);
}

tu_peer tu_server_end(const tu_conn *c) {
    tu_peer p = {0, 0, 0};
    long tx, rx;
    long long deadline = tu_ms() + 5000;
    conn_ports(c, &p.client_port, &p.server_port);
    /* listed from the handshake on, with an inode once the server has accepted it */
    while (!(tcp_entry(p.server_port, p.client_port, &tx, &rx, &p.inode) && p.inode) && tu_ms() < deadline)
        usleep(1000);
    return p;
}

bool tu_server_received(const tu_conn *c, int timeout_ms) {
    long long deadline = tu_ms() + timeout_ms;
    int cport, sport;
    long tx = -1, rx;
    unsigned long ino;
    conn_ports(c, &cport, &sport);
    while (!(tcp_entry(cport, sport, &tx, &rx, &ino) && tx == 0) && tu_ms() < deadline) usleep(1000);
    return tx == 0;
}

bool tu_server_read_all(const tu_conn *c, int timeout_ms) {
    long long deadline = tu_ms() + timeout_ms;
    int cport, sport;
    long tx, rx = -1;
    unsigned long ino;
    /* first every byte arrived, then none left to read */
    if (!tu_server_received(c, timeout_ms)) return false;
    conn_ports(c, &cport, &sport);
    while (!(tcp_entry(sport, cport, &tx, &rx, &ino) && rx == 0) && tu_ms() < deadline) usleep(1000);
    return rx == 0;
}

bool tu_server_reset_seen(const tu_peer *p, int timeout_ms) {
    long long deadline = tu_ms() + timeout_ms;
    long tx, rx;
    unsigned long ino;
    bool listed;
    while ((listed = tcp_entry(p->server_port, p->client_port, &tx, &rx,
                               &ino)) && tu_ms() < deadline) usleep(1000);
    return !listed;
}

static bool holds_inode(unsigned long inode) {
    char want[64], path[300], link[64];
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    bool held = false;
    if (!d) return true;
    snprintf(want, sizeof want, "socket:[%lu]", inode);
    while (!held && (e = readdir(d)) != NULL) {
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(path, link, sizeof link - 1);
        if (n <= 0) continue;
        link[n] = 0;
        held = strcmp(link, want) == 0;
    }
    closedir(d);
    return held;
}

bool tu_server_released(const tu_peer *p, int timeout_ms) {
    long long deadline = tu_ms() + timeout_ms;
    if (!p->inode) return false;
    bool held;
    while ((held = holds_inode(p->inode)) && tu_ms() < deadline) usleep(1000);
    return !held;
}

bool tu_listener_closed(int port, int timeout_ms) {
    long long deadline = tu_ms() + timeout_ms;
    tu_conn probe;
    for (;;) {
        if (tu_connect(&probe, port) < 0) return true;
        tu_close(&probe);
        if (tu_ms() >= deadline) return false;
        usleep(1000);
    }
}

void tu_reset(tu_conn *c) {
    struct linger lg = {1, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    tu_close(c);
}

int tu_open_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;
    if (!d) return -1;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n - 1;           /* not the directory's own descriptor */
}

/* ---- a raw WebSocket client ---- */

int tu_ws_handshake(tu_conn *c, const char *path, const char *extra, tu_resp *r) {
    char req[4096];
    snprintf(req, sizeof req,
             "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Key: " TU_WS_KEY "\r\nSec-WebSocket-Version: 13\r\n%s\r\n",
             path, extra ? extra : "");
    if (tu_sends(c, req) < 0) {
        memset(r, 0, sizeof *r);
        r->status = -1;
        return -1;
    }
    return tu_read(c, r, false, 5000);
}

bool tu_ws_open(tu_conn *c, int port, const char *path, const char *extra) {
    tu_resp r;
    if (tu_connect(c, port) < 0) return false;
    int st = tu_ws_handshake(c, path, extra, &r);
    tu_resp_free(&r);
    return st == 101;
}

char *tu_ws_encode(unsigned b0, uint64_t len, const void *p, size_t n, const uint8_t *mask, size_t *size) {
    char *f = malloc(14 + n);
    size_t h = 2;
    if (!f) abort();
    f[0] = (char)b0;
    if (len < 126) {
        f[1] = (char)len;
    } else if (len <= 0xFFFF) {
        f[1] = 126;
        f[2] = (char)(len >> 8);
        f[3] = (char)len;
        h = 4;
    } else {
        f[1] = 127;
        for (int k = 0; k < 8; k++) f[2 + k] = (char)(len >> (56 - 8 * k));
        h = 10;
    }
    if (mask) {
        f[1] = (char)(f[1] | 0x80);
        memcpy(f + h, mask, 4);
        h += 4;
    }
    for (size_t i = 0; i < n; i++) f[h + i] = (char)(((const uint8_t *)p)[i] ^ (mask ? mask[i % 4] : 0));
    *size = h + n;
    return f;
}

int tu_ws_send(tu_conn *c, unsigned b0, const void *p, size_t n) {
    static atomic_uint seq;
    unsigned s = atomic_fetch_add(&seq, 1) * 2654435761u + 12345u;
    uint8_t mask[4] = {(uint8_t)(s >> 24), (uint8_t)(s >> 16), (uint8_t)(s >> 8), (uint8_t)(s | 1)};
    size_t size;
    char *f = tu_ws_encode(b0, n, p, n, mask, &size);
    int rc = tu_send(c, f, size);
    free(f);
    return rc;
}

int tu_ws_send_close(tu_conn *c, int code, const char *reason) {
    char pl[125];
    size_t n = 0;
    if (code) {
        pl[0] = (char)(code >> 8);
        pl[1] = (char)code;
        n = 2;
        if (reason) {
            size_t r = strlen(reason) > 123 ? 123 : strlen(reason);
            memcpy(pl + 2, reason, r);
            n += r;
        }
    }
    return tu_ws_send(c, 0x88, pl, n);
}

void tu_ws_frame_free(tu_ws_frame *f) {
    free(f->data);
    f->data = NULL;
}

/* Fill c->buf until it holds n bytes: 1, 0 at the end with none of them, -1 at a timeout or an end
   with some. */
static int ws_need(tu_conn *c, size_t n, long long deadline) {
    while (c->len < n) {
        long r = fill(c, deadline);
        if (r < 0) return -1;
        if (r == 0) return c->len == 0 ? 0 : -1;
    }
    return 1;
}

int tu_ws_read(tu_conn *c, tu_ws_frame *f, int timeout_ms) {
    long long deadline = tu_ms() + timeout_ms;
    memset(f, 0, sizeof *f);
    int rc = ws_need(c, 2, deadline);
    if (rc <= 0) return rc;
    const uint8_t *h = (const uint8_t *)c->buf;
    size_t hl = 2 + ((h[1] & 0x7F) == 126 ? 2 : (h[1] & 0x7F) == 127 ? 8 : 0);
    if (ws_need(c, hl, deadline) <= 0) return -1;
    h = (const uint8_t *)c->buf;
    unsigned op = h[0] & 0x0F;
    uint64_t len = h[1] & 0x7F;
    const char *bad = NULL;
    if (len == 126) {
        len = (uint64_t)h[2] << 8 | h[3];
        if (len < 126) bad = "a 16-bit length under 126";
    } else if (len == 127) {
        len = 0;
        for (int k = 2; k < 10; k++) len = len << 8 | h[k];
        if (len < 65536 || len >> 63) bad = "a 64-bit length under 65536 or over 2^63";
    }
    if (h[1] & 0x80) bad = "a masked frame from the server";
    if (h[0] & 0x70) bad = "RSV bits set";
    if (!(op <= 2 || (op >= 8 && op <= 10))) bad = "a reserved opcode";
    if (op >= 8 && (!(h[0] & 0x80) || len > 125)) bad = "a fragmented or long control frame";
    if (op == 8 && len == 1) bad = "a close frame of one byte";
    if (len > ((uint64_t)1 << 30)) bad = "a frame over 1 GiB";
    if (bad) {
        wf_test_log("tu_ws_read: %s (head %02x %02x)", bad, h[0], h[1]);
        return -1;
    }
    if (ws_need(c, hl + (size_t)len, deadline) <= 0) return -1;
    f->opcode = (int)op;
    f->fin = (c->buf[0] & 0x80) != 0;
    f->len = (size_t)len;
    f->data = malloc(f->len + 1);
    if (!f->data) abort();
    memcpy(f->data, c->buf + hl, f->len);
    f->data[f->len] = 0;
    consume(c, hl + f->len);
    if (op == 8) {
        f->code = f->len >= 2 ? ((uint8_t)f->data[0] << 8 | (uint8_t)f->data[1]) : 1005;
        if (f->len > 2) snprintf(f->reason, sizeof f->reason, "%s", f->data + 2);
    }
    return 1;
}

int tu_ws_next(tu_conn *c, tu_ws_frame *f, int timeout_ms, int *pings) {
    long long deadline = tu_ms() + timeout_ms;
    for (;;) {
        long long left = deadline - tu_ms();
        int rc = tu_ws_read(c, f, left > 0 ? (int)left : 0);
        if (rc != 1 || f->opcode != 9) return rc;
        if (pings) ++*pings;
        rc = tu_ws_send(c, 0x8A, f->data, f->len);
        tu_ws_frame_free(f);
        if (rc < 0) return -1;
    }
}

/* ---- the server's end through its descriptor ---- */

int tu_server_fd(const tu_conn *c) {
    int cport, sport, found = -1;
    conn_ports(c, &cport, &sport);
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    if (!d) return -1;
    while (found < 0 && (e = readdir(d)) != NULL) {
        int fd = atoi(e->d_name);
        struct sockaddr_in a, b;
        socklen_t al = sizeof a, bl = sizeof b;
        if (e->d_name[0] == '.' || fd == c->fd || fd == dirfd(d)) continue;
        if (getsockname(fd, (struct sockaddr *)&a, &al) == 0 && a.sin_family == AF_INET &&
            getpeername(fd, (struct sockaddr *)&b, &bl) == 0 && ntohs(a.sin_port) == sport &&
            ntohs(b.sin_port) == cport)
            found = fd;
    }
    closedir(d);
    return found;
}

bool tu_server_drained(const tu_conn *c, int sfd, int timeout_ms) {
    long long deadline = tu_ms() + timeout_ms;
    int unacked = -1, unread = -1;
    for (;;) {
        if (ioctl(c->fd, SIOCOUTQ, &unacked) < 0) return false;
        if (unacked == 0 && ioctl(sfd, SIOCINQ, &unread) < 0) return false;
        if (unacked == 0 && unread == 0) return true;
        if (tu_ms() >= deadline) return false;
        usleep(200);
    }
}
