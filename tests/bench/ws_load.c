/*
 * ws_load.c - the WebSocket load generator of tests/bench/ws_run.sh: raw RFC 6455 client frames
 * (masked, a fresh mask per frame), one thread, epoll. Only ever connects to 127.0.0.1.
 *
 * Usage:
 *   ws_load echo      PORT PATH CONNS SIZE SECONDS PID [WARMUP_S] [binary|text]
 *       CONNS clients in a closed loop: each sends a SIZE-byte message and waits for its echo
 *       (checked byte for byte) before the next. WARMUP_S (default 1) unmeasured seconds, then
 *       SECONDS measured: round trips, their latency, and the server's CPU over them.
 *   ws_load broadcast PORT PATH CONNS PID REPEATS [SIZE]
 *       CONNS clients connect and stay; then REPEATS + 1 times (the first unmeasured) the first
 *       client sends the text "BROADCAST <payload>" (payload SIZE bytes, default 100, numbered) and
 *       the clock runs from that send until every client has the payload as a text message.
 *   ws_load idle      PORT PATH CONNS PID [SETTLE_MS]
 *       VmRSS of PID, CONNS clients connect (handshake done) and stay quiet, SETTLE_MS (default
 *       1000) later VmRSS again; then how many of them are still open.
 *
 * The server's CPU is utime+stime of PID (/proc/PID/stat, all its threads) read just before and
 * just after the measured part; CPU contention is the share of that time some task waited for a
 * CPU (Linux PSI, /proc/pressure/cpu). Output: key=value lines on stdout. Every phase has a
 * deadline. While it measures (echo, broadcast) it polls for events without sleeping
 * (WS_LOAD_SPIN=0: it sleeps in epoll_wait): a server's send then never has to wake the client up,
 * work the kernel would count as the server's (try_to_wake_up, an IPI). With more than 1000
 * clients the connections come from 127.0.0.1 to 127.0.0.4 (bound with IP_BIND_ADDRESS_NO_PORT) so
 * that ephemeral ports and TIME_WAIT pairs never run short.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

/* RFC 6455 1.3's sample key and its accept value: every client sends it (servers do not mind) */
static const char KEY[] = "dGhlIHNhbXBsZSBub25jZQ==";
static const char ACCEPT[] = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

enum { ST_IDLE, ST_CONNECTING, ST_HANDSHAKE, ST_OPEN, ST_FAILED };

struct conn {
    int fd;
    uint8_t st;
    uint32_t len;               /* bytes in buf */
    uint32_t out_len, out_off;  /* a frame partly sent */
    uint64_t seq;               /* broadcast: the last one received */
    int64_t t_sent_ns;          /* echo: when the message in flight went */
    char *buf;                  /* input */
    char *out;                  /* the frame being sent (echo, trigger) */
};

static struct conn *conns;
static long nconns;
static uint32_t buf_cap;
static int ep = -1;
static long n_failed_connect, n_bad_handshake, n_closed, n_bad_frame;
static char request[512];
static int spin = 1;            /* measuring: poll without sleeping (WS_LOAD_SPIN=0: sleep in epoll_wait) */
static size_t request_len;
static uint64_t rng = 0x9E3779B97F4A7C15ull;

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint32_t next_mask(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static long last_utime;         /* the utime part of the last cpu_ticks */

/* utime+stime of pid in clock ticks, or -1 */
static long cpu_ticks(long pid) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p) return -1;
    long ut = 0, st = 0;
    /* after ") ": state(3) ppid(4) ... utime(14) stime(15) */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &ut, &st) != 2) return -1;
    last_utime = ut;
    return ut + st;
}

/* VmRSS of pid in kB, or -1 */
static long rss_kb(long pid) {
    char path[64], line[256];
    long kb = -1;
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}

/* microseconds some task waited for a CPU, all time (PSI); 0 if unavailable */
static long long psi_stall_us(void) {
    char line[256];
    long long v = 0;
    FILE *f = fopen("/proc/pressure/cpu", "r");
    if (!f) return 0;
    while (fgets(line, sizeof line, f)) {
        char *t = strstr(line, "total=");
        if (strncmp(line, "some", 4) == 0 && t) v = atoll(t + 6);
    }
    fclose(f);
    return v;
}

static double cpu_user_sys_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void fail(struct conn *c, long *counter) {
    (*counter)++;
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    c->st = ST_FAILED;
}

/* A masked client frame with payload data[0..n) into out: its length. */
static uint32_t make_frame(char *out, int opcode, const char *data, size_t n) {
    uint8_t *o = (uint8_t *)out;
    uint32_t h = 2;
    o[0] = (uint8_t)(0x80 | opcode);
    if (n < 126) {
        o[1] = (uint8_t)(0x80 | n);
    } else if (n < 65536) {
        o[1] = 0x80 | 126;
        o[2] = (uint8_t)(n >> 8);
        o[3] = (uint8_t)n;
        h = 4;
    } else {
        o[1] = 0x80 | 127;
        for (int k = 0; k < 8; k++) o[2 + k] = (uint8_t)((uint64_t)n >> (56 - 8 * k));
        h = 10;
    }
    uint32_t m = next_mask();
    uint8_t mk[8];
    memcpy(mk, &m, 4);
    memcpy(mk + 4, &m, 4);
    memcpy(o + h, mk, 4);
    h += 4;
    uint64_t m8;
    memcpy(&m8, mk, 8);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, data + i, 8);
        w ^= m8;
        memcpy(o + h + i, &w, 8);
    }
    for (; i < n; i++) o[h + i] = (uint8_t)(data[i] ^ mk[i & 7]);
    return h + (uint32_t)n;
}

/* Send what is left of c's frame: 1 all sent, 0 the rest waits for EPOLLOUT, -1 failed. */
static int flush_out(struct conn *c) {
    while (c->out_off < c->out_len) {
        ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno == EAGAIN) {
            struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u32 = (uint32_t)(c - conns)};
            epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
            return 0;
        }
        if (w <= 0) return -1;
        c->out_off += (uint32_t)w;
    }
    return 1;
}

static int send_frame(struct conn *c, int opcode, const char *data, size_t n) {
    c->out_len = make_frame(c->out, opcode, data, n);
    c->out_off = 0;
    return flush_out(c);
}

/* ---- connecting: TCP, the handshake request, the 101 ---- */

static void start_connect(struct conn *c, int port, int nsrc) {
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        fail(c, &n_failed_connect);
        return;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (nsrc > 1) {             /* spread over 127.0.0.1..nsrc: the port is chosen at connect */
        struct sockaddr_in src = {.sin_family = AF_INET};
        src.sin_addr.s_addr = htonl(INADDR_LOOPBACK + (uint32_t)((c - conns) % nsrc));
        setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        if (bind(c->fd, (struct sockaddr *)&src, sizeof src) < 0) {
            fail(c, &n_failed_connect);
            return;
        }
    }
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
        fail(c, &n_failed_connect);
        return;
    }
    struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = (uint32_t)(c - conns)};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
        fail(c, &n_failed_connect);
        return;
    }
    c->st = ST_CONNECTING;
}

static void on_connected(struct conn *c) {
    int err = 0;
    socklen_t el = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err) {
        fail(c, &n_failed_connect);
        return;
    }
    if (send(c->fd, request, request_len, MSG_NOSIGNAL) != (ssize_t)request_len) {
        fail(c, &n_failed_connect);
        return;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)(c - conns)};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->st = ST_HANDSHAKE;
}

static const char *find_ci(const char *hay, size_t n, const char *needle) {
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= n; i++)
        if (strncasecmp(hay + i, needle, m) == 0) return hay + i;
    return NULL;
}

static void on_handshake_input(struct conn *c) {
    ssize_t r = recv(c->fd, c->buf + c->len, buf_cap - c->len, 0);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (r <= 0) {
        fail(c, &n_bad_handshake);
        return;
    }
    c->len += (uint32_t)r;
    char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
    if (!end) {
        if (c->len == buf_cap) fail(c, &n_bad_handshake);
        return;
    }
    size_t head = (size_t)(end - c->buf) + 4;
    const char *acc = find_ci(c->buf, head, "\nsec-websocket-accept:");
    if (c->len < 12 || memcmp(c->buf, "HTTP/1.1 101", 12) != 0 || !acc) {
        fail(c, &n_bad_handshake);
        return;
    }
    acc += 22;
    while (*acc == ' ' || *acc == '\t') acc++;
    if (strncmp(acc, ACCEPT, sizeof ACCEPT - 1) != 0) {
        fail(c, &n_bad_handshake);
        return;
    }
    memmove(c->buf, c->buf + head, c->len - head);     /* frames that came with the 101 */
    c->len -= (uint32_t)head;
    c->st = ST_OPEN;
}

/* Open every connection (at most max_inflight handshakes at a time): how many are open. */
static long connect_all(int port, int nsrc, long max_inflight, double timeout_s, double *took_s) {
    int64_t t0 = now_ns(), deadline = t0 + (int64_t)(timeout_s * 1e9);
    long next = 0, inflight = 0, done = 0, open = 0;
    struct epoll_event evs[512];
    while (done < nconns && now_ns() < deadline) {
        while (inflight < max_inflight && next < nconns) {
            struct conn *c = &conns[next++];
            start_connect(c, port, nsrc);
            if (c->st == ST_FAILED) done++;
            else inflight++;
        }
        int n = epoll_wait(ep, evs, 512, 100);
        for (int k = 0; k < n; k++) {
            struct conn *c = &conns[evs[k].data.u32];
            if (c->st == ST_CONNECTING) on_connected(c);
            else if (c->st == ST_HANDSHAKE) on_handshake_input(c);
            else continue;
            if (c->st == ST_OPEN || c->st == ST_FAILED) {
                inflight--;
                done++;
                open += c->st == ST_OPEN;
            }
        }
    }
    for (long i = 0; i < nconns; i++)
        if (conns[i].st != ST_OPEN && conns[i].st != ST_FAILED) fail(&conns[i], &n_failed_connect);
    *took_s = (now_ns() - t0) / 1e9;
    return open;
}

/* ---- reading server frames ---- */

/* The first whole frame in c->buf: 1 (opcode, payload, length set; consumed with drop_frame), 0 more
   bytes needed, -1 not a frame a server may send. */
static int peek_frame(const struct conn *c, int *opcode, const char **pl, uint64_t *n, uint32_t *total) {
    const uint8_t *b = (const uint8_t *)c->buf;
    if (c->len < 2) return 0;
    if (b[1] & 0x80 || (b[0] & 0x70) || !(b[0] & 0x80)) return -1;     /* masked, RSV, fragment */
    uint64_t len = b[1] & 0x7F;
    uint32_t h = 2;
    if (len == 126) {
        if (c->len < 4) return 0;
        len = (uint64_t)b[2] << 8 | b[3];
        h = 4;
    } else if (len == 127) {
        if (c->len < 10) return 0;
        len = 0;
        for (int k = 2; k < 10; k++) len = len << 8 | b[k];
        h = 10;
    }
    if (len > buf_cap - h) return -1;
    if (c->len < h + len) return 0;
    *opcode = b[0] & 0x0F;
    *pl = c->buf + h;
    *n = len;
    *total = h + (uint32_t)len;
    return 1;
}

static void drop_frame(struct conn *c, uint32_t total) {
    memmove(c->buf, c->buf + total, c->len - total);
    c->len -= total;
}

/* Read what c has: 1 read something, 0 nothing now, -1 closed or failed (c is failed). */
static int read_input(struct conn *c) {
    ssize_t r = recv(c->fd, c->buf + c->len, buf_cap - c->len, 0);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
    if (r <= 0) {
        fail(c, &n_closed);
        return -1;
    }
    c->len += (uint32_t)r;
    return 1;
}

static void setup(long count, uint32_t cap, const char *path, int port) {
    nconns = count;
    buf_cap = cap;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)count + 64) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < (rlim_t)count + 16)
            fprintf(stderr, "ws_load: warning: RLIMIT_NOFILE=%lu < %ld connections\n",
                    (unsigned long)rl.rlim_cur, count);
    }
    conns = calloc((size_t)count, sizeof *conns);
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (!conns || ep < 0) {
        perror("ws_load");
        exit(1);
    }
    for (long i = 0; i < count; i++) {
        conns[i].fd = -1;
        if (!(conns[i].buf = malloc(cap))) {
            perror("ws_load");
            exit(1);
        }
    }
    request_len = (size_t)snprintf(request, sizeof request,
                                   "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                                   "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                                   "Sec-WebSocket-Version: 13\r\n\r\n", path, port, KEY);
    rng ^= (uint64_t)now_ns() * 0x2545F4914F6CDD1Dull;
}

static void print_common(long open, double took) {
    printf("conns=%ld\nopen=%ld\nconnect_seconds=%.3f\n", nconns, open, took);
    printf("connect_failed=%ld\nbad_handshake=%ld\n", n_failed_connect, n_bad_handshake);
}

static int src_addrs(long count) { return count > 1000 ? 4 : 1; }

/* ---- echo ---- */

#define HIST_US 200000          /* latency histogram: 1 us buckets up to 200 ms, then one more */
static uint32_t hist[HIST_US + 1];
static long hist_n;

static double hist_pct(double p) {
    long want = (long)(p * hist_n + 0.5), acc = 0;
    if (want < 1) want = 1;
    for (long i = 0; i <= HIST_US; i++)
        if ((acc += hist[i]) >= want) return (double)i;
    return HIST_US;
}

static int run_echo(int argc, char **argv) {
    if (argc < 8) return 2;
    int port = atoi(argv[2]);
    const char *path = argv[3];
    long count = atol(argv[4]), size = atol(argv[5]), pid = atol(argv[7]);
    double secs = atof(argv[6]), warm = argc > 8 ? atof(argv[8]) : 1;
    int opcode = argc > 9 && strcmp(argv[9], "text") == 0 ? 1 : 2;
    if (port <= 0 || count <= 0 || size <= 0 || size > (1 << 24) || secs <= 0 || pid <= 0) return 2;
    setup(count, (uint32_t)size + 4096, path, port);
    char *payload = malloc((size_t)size);
    for (long i = 0; i < size; i++)         /* text: printable ASCII; binary: every byte value */
        payload[i] = opcode == 1 ? (char)('a' + i % 26) : (char)(i * 131 + 7);
    double took;
    long open = connect_all(port, src_addrs(count), 256, 30, &took);
    for (long i = 0; i < count; i++) {
        struct conn *c = &conns[i];
        if (c->st != ST_OPEN) continue;
        c->out = malloc((size_t)size + 14);
        c->t_sent_ns = now_ns();
        if (send_frame(c, opcode, payload, (size_t)size) < 0) fail(c, &n_closed);
    }
    int64_t t_warm = now_ns() + (int64_t)(warm * 1e9), t_end = t_warm + (int64_t)(secs * 1e9);
    int measuring = warm <= 0;
    long trips = 0, ticks0 = measuring ? cpu_ticks(pid) : 0, user0 = last_utime;
    long long psi0 = psi_stall_us();
    double my0 = cpu_user_sys_s();
    int64_t t_start = now_ns();
    struct epoll_event evs[512];
    for (;;) {
        int64_t t = now_ns();
        if (!measuring && t >= t_warm) {
            measuring = 1;
            ticks0 = cpu_ticks(pid);
            user0 = last_utime;
            psi0 = psi_stall_us();
            my0 = cpu_user_sys_s();
            t_start = t;
        }
        if (t >= t_end) break;
        int n = epoll_wait(ep, evs, 512, spin ? 0 : 50);
        for (int k = 0; k < n; k++) {
            struct conn *c = &conns[evs[k].data.u32];
            if (c->st != ST_OPEN) continue;
            if (evs[k].events & EPOLLOUT) {
                int f = flush_out(c);
                if (f < 0) {
                    fail(c, &n_closed);
                    continue;
                }
                if (f > 0) {
                    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = evs[k].data.u32};
                    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                }
            }
            if (!(evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) || read_input(c) < 0) continue;
            int op;
            const char *pl;
            uint64_t len;
            uint32_t total;
            int f;
            while ((f = peek_frame(c, &op, &pl, &len, &total)) == 1) {
                if (op != opcode || len != (uint64_t)size || memcmp(pl, payload, (size_t)size) != 0) {
                    f = -1;
                    break;
                }
                drop_frame(c, total);
                int64_t tn = now_ns();
                if (measuring && tn < t_end) {
                    long us = (long)((tn - c->t_sent_ns) / 1000);
                    hist[us < HIST_US ? us : HIST_US]++;
                    hist_n++;
                    trips++;
                }
                c->t_sent_ns = tn;
                if (send_frame(c, opcode, payload, (size_t)size) < 0) {
                    f = -2;
                    break;
                }
            }
            if (f == -1) fail(c, &n_bad_frame);
            else if (f == -2) fail(c, &n_closed);
        }
    }
    int64_t t_stop = now_ns();
    long ticks1 = cpu_ticks(pid);
    long long psi1 = psi_stall_us();
    double wall = (t_stop - t_start) / 1e9, my = cpu_user_sys_s() - my0;
    long hz = sysconf(_SC_CLK_TCK), alive = 0;
    for (long i = 0; i < count; i++) alive += conns[i].st == ST_OPEN;
    print_common(open, took);
    printf("opcode=%s\nsize=%ld\nseconds=%.3f\nroundtrips=%ld\nrps=%.1f\n", opcode == 1 ? "text" : "binary",
           size, wall, trips, trips / wall);
    printf("server_ticks=%ld\nclk_tck=%ld\n", ticks1 - ticks0, hz);
    printf("cpu_us_per_msg=%.4f\n", trips ? (ticks1 - ticks0) * 1e6 / hz / trips : 0.0);
    printf("server_cpu_pct=%.0f\n", 100.0 * (ticks1 - ticks0) / hz / wall);
    printf("server_user_pct=%.0f\n", ticks1 > ticks0 ? 100.0 * (last_utime - user0) / (ticks1 - ticks0) : 0);
    printf("client_cpu_pct=%.0f\n", 100.0 * my / wall);
    printf("p50_us=%.0f\np99_us=%.0f\n", hist_pct(0.50), hist_pct(0.99));
    printf("contention_pct=%.0f\n", (psi1 - psi0) / 1e4 / wall);
    printf("alive=%ld\nclosed=%ld\nbad_frame=%ld\n", alive, n_closed, n_bad_frame);
    return 0;
}

/* ---- broadcast ---- */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int run_broadcast(int argc, char **argv) {
    if (argc < 7) return 2;
    int port = atoi(argv[2]);
    const char *path = argv[3];
    long count = atol(argv[4]), pid = atol(argv[5]), repeats = atol(argv[6]);
    long size = argc > 7 ? atol(argv[7]) : 100;
    if (port <= 0 || count <= 0 || pid <= 0 || repeats <= 0 || size < 16 || size > 60000) return 2;
    setup(count, (uint32_t)size * 4 + 4096, path, port);
    double took;
    long open = connect_all(port, src_addrs(count), 256, 60, &took);
    struct conn *trigger = &conns[0];
    char *msg = malloc((size_t)size + 10), *payload = msg + 10;
    memcpy(msg, "BROADCAST ", 10);
    trigger->out = malloc((size_t)size + 24);
    double *ms = calloc((size_t)repeats + 1, sizeof *ms), first_ms = 0;
    long ticks0 = 0, ticks1 = 0, user0 = 0, missing = 0, delivered = 0, done_repeats = 0;
    long long psi0 = 0;
    int64_t t_meas = 0;
    struct epoll_event evs[1024];
    for (long r = 0; r <= repeats && trigger->st == ST_OPEN; r++) {
        uint64_t seq = (uint64_t)r + 1;
        int w = snprintf(payload, (size_t)size, "broadcast %06ld ", r);
        memset(payload + w, 'x', (size_t)(size - w));
        if (r == 1) {                       /* the first one warms up: the clock starts now */
            ticks0 = cpu_ticks(pid);
            user0 = last_utime;
            psi0 = psi_stall_us();
            t_meas = now_ns();
        }
        long want = 0, got = 0;
        for (long i = 0; i < count; i++) want += conns[i].st == ST_OPEN;
        int64_t t0 = now_ns(), deadline = t0 + 20 * (int64_t)1000000000, t_last = t0;
        if (send_frame(trigger, 1, msg, (size_t)size + 10) < 0) {
            fail(trigger, &n_closed);
            break;
        }
        while (got < want && now_ns() < deadline) {
            int n = epoll_wait(ep, evs, 1024, spin ? 0 : 100);
            for (int k = 0; k < n; k++) {
                struct conn *c = &conns[evs[k].data.u32];
                if (c->st != ST_OPEN) continue;
                if ((evs[k].events & EPOLLOUT) && c == trigger && flush_out(c) > 0) {
                    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = evs[k].data.u32};
                    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                }
                if (!(evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) continue;
                if (read_input(c) < 0) {
                    want--;
                    continue;
                }
                int op, f;
                const char *pl;
                uint64_t len;
                uint32_t total;
                while ((f = peek_frame(c, &op, &pl, &len, &total)) == 1) {
                    if (op != 1 || len != (uint64_t)size || memcmp(pl, payload, (size_t)size) != 0 ||
                        c->seq == seq) {
                        f = -1;
                        break;
                    }
                    drop_frame(c, total);
                    c->seq = seq;
                    got++;
                    t_last = now_ns();
                }
                if (f == -1) {
                    fail(c, &n_bad_frame);
                    want--;
                }
            }
        }
        if (r == 0) first_ms = (t_last - t0) / 1e6;
        else {
            ms[done_repeats++] = (t_last - t0) / 1e6;
            delivered += got;
        }
        missing += want - got;
        if (got < want) {
            fprintf(stderr, "ws_load: broadcast %ld reached %ld of %ld clients in 20 s\n", r, got, want);
            break;
        }
    }
    int64_t t_end = now_ns();
    ticks1 = cpu_ticks(pid);
    long long psi1 = psi_stall_us();
    long hz = sysconf(_SC_CLK_TCK);
    print_common(open, took);
    printf("size=%ld\nrepeats=%ld\nwarmup_ms=%.3f\n", size, done_repeats, first_ms);
    double sum = 0;
    printf("times_ms=");
    for (long i = 0; i < done_repeats; i++) {
        printf("%s%.2f", i ? "," : "", ms[i]);
        sum += ms[i];
    }
    printf("\n");
    qsort(ms, (size_t)done_repeats, sizeof *ms, cmp_double);
    long nr = done_repeats;
    printf("median_ms=%.3f\nmean_ms=%.3f\nmin_ms=%.3f\nmax_ms=%.3f\n", nr ? ms[nr / 2] : 0,
           nr ? sum / nr : 0, nr ? ms[0] : 0, nr ? ms[nr - 1] : 0);
    double cpu_s = done_repeats ? (double)(ticks1 - ticks0) / hz : 0;
    printf("server_ticks=%ld\nclk_tck=%ld\n", ticks1 - ticks0, hz);
    printf("cpu_ms_per_broadcast=%.4f\n", done_repeats ? cpu_s * 1e3 / done_repeats : 0);
    printf("server_user_pct=%.0f\n", ticks1 > ticks0 ? 100.0 * (last_utime - user0) / (ticks1 - ticks0) : 0);
    printf("cpu_us_per_msg=%.4f\n", delivered ? cpu_s * 1e6 / delivered : 0);
    double wall = (t_end - t_meas) / 1e9;
    printf("contention_pct=%.0f\n", wall > 0 && t_meas ? (psi1 - psi0) / 1e4 / wall : 0);
    printf("delivered=%ld\nmissing=%ld\nclosed=%ld\nbad_frame=%ld\n", delivered, missing, n_closed,
           n_bad_frame);
    return 0;
}

/* ---- idle ---- */

static int run_idle(int argc, char **argv) {
    if (argc < 6) return 2;
    int port = atoi(argv[2]);
    const char *path = argv[3];
    long count = atol(argv[4]), pid = atol(argv[5]), settle_ms = argc > 6 ? atol(argv[6]) : 1000;
    if (port <= 0 || count <= 0 || pid <= 0 || settle_ms < 0) return 2;
    setup(count, 1024, path, port);
    long before = rss_kb(pid);
    double took;
    long open = connect_all(port, src_addrs(count), 256, 60, &took);
    struct timespec ts = {settle_ms / 1000, (settle_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    long after = rss_kb(pid);
    /* still open and quiet: nothing readable (data, EOF or error) on any of them */
    struct epoll_event evs[512];
    long noisy = 0, n;
    while ((n = epoll_wait(ep, evs, 512, 0)) > 0)
        for (int k = 0; k < n; k++) {
            struct conn *c = &conns[evs[k].data.u32];
            if (c->st == ST_OPEN) {
                noisy++;
                fail(c, &n_closed);
            }
        }
    long held = 0;
    for (long i = 0; i < count; i++) held += conns[i].st == ST_OPEN;
    print_common(open, took);
    printf("rss_before_kb=%ld\nrss_after_kb=%ld\nheld=%ld\nclosed_or_data=%ld\n", before, after, held, noisy);
    return 0;
}

int main(int argc, char **argv) {
    int rc = 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *sp = getenv("WS_LOAD_SPIN");
    if (sp) spin = atoi(sp) != 0;
    if (argc > 1 && strcmp(argv[1], "echo") == 0) rc = run_echo(argc, argv);
    else if (argc > 1 && strcmp(argv[1], "broadcast") == 0) rc = run_broadcast(argc, argv);
    else if (argc > 1 && strcmp(argv[1], "idle") == 0) rc = run_idle(argc, argv);
    if (rc == 2)
        fprintf(stderr, "usage: ws_load echo PORT PATH CONNS SIZE SECONDS PID [WARMUP_S] [binary|text]\n"
                        "       ws_load broadcast PORT PATH CONNS PID REPEATS [SIZE]\n"
                        "       ws_load idle PORT PATH CONNS PID [SETTLE_MS]\n");
    return rc;
}
