/*
 * idle_conns.c - measure a server's RSS growth per idle keep-alive connection.
 *
 * Usage: idle_conns PORT COUNT PID [SETTLE_MS] [TIMEOUT_S] [MAX_INFLIGHT]
 *
 *   1. reads VmRSS of PID (/proc/PID/status)                  -> rss_before_kb
 *   2. opens COUNT TCP connections to 127.0.0.1:PORT; each sends one
 *      complete keep-alive request "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
 *      and reads the full response (status 200, Content-Length or
 *      chunked body); at most MAX_INFLIGHT connections are connecting or
 *      waiting for their response at any time, so the listen backlog is
 *      never flooded
 *   3. leaves them idle for SETTLE_MS (default 1000), reads VmRSS again -> rss_after_kb
 *   4. checks that every connection that got its response is still open
 *      (a connection the server closed, or that errored, counts as failed)
 *
 * Output (stdout): key=value lines, parsed by run.sh.
 * Every loop is bounded: the whole connect/response phase has a deadline of
 * TIMEOUT_S seconds (default 30); connections not done by then are failed.
 * Only ever connects to 127.0.0.1.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE 1024

static const char REQUEST[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

enum state { ST_NEW, ST_CONNECTING, ST_READING, ST_HELD, ST_FAILED };

struct conn {
    int fd;
    enum state st;
    size_t len;
    char buf[BUF_SIZE];
};

/* failure counters, by cause */
static long n_connect_fail, n_send_fail, n_closed_before_response,
    n_bad_response, n_timeout, n_closed_while_idle, n_unexpected_data;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* VmRSS of pid in kB, or -1 */
static long read_rss_kb(long pid)
{
    char path[64], line[256];
    long kb = -1;
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}

static void fail(struct conn *c, long *counter)
{
    (*counter)++;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->st = ST_FAILED;
}

/* case-insensitive search for needle in the first n bytes of hay */
static const char *find_ci(const char *hay, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= n; i++)
        if (strncasecmp(hay + i, needle, m) == 0)
            return hay + i;
    return NULL;
}

/* 1 = complete 200 response, 0 = need more bytes, -1 = bad response */
static int response_state(const struct conn *c)
{
    const char *b = c->buf;
    const char *end = memmem(b, c->len, "\r\n\r\n", 4);
    if (!end)
        return c->len >= BUF_SIZE ? -1 : 0;
    size_t hdr_len = (size_t)(end - b) + 4;
    if (c->len < 12 || strncmp(b, "HTTP/1.", 7) != 0 || strncmp(b + 9, "200", 3) != 0)
        return -1;
    const char *cl = find_ci(b, hdr_len, "\ncontent-length:");
    if (cl) {
        size_t body = strtoul(cl + 16, NULL, 10);
        if (hdr_len + body > BUF_SIZE)
            return -1;
        return c->len >= hdr_len + body ? 1 : 0;
    }
    if (find_ci(b, hdr_len, "\ntransfer-encoding:") && find_ci(b, hdr_len, "chunked")) {
        if (c->len >= hdr_len + 5 && memcmp(b + c->len - 5, "0\r\n\r\n", 5) == 0)
            return 1;
        return c->len >= BUF_SIZE ? -1 : 0;
    }
    return -1; /* no framing: cannot be a keep-alive response */
}

static void start_connect(struct conn *c, const struct sockaddr_in *sa)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        fail(c, &n_connect_fail);
        return;
    }
    if (connect(c->fd, (const struct sockaddr *)sa, sizeof *sa) == 0 || errno == EINPROGRESS)
        c->st = ST_CONNECTING; /* completion (or immediate success) seen via POLLOUT */
    else
        fail(c, &n_connect_fail);
}

static void on_writable(struct conn *c)
{
    int err = 0;
    socklen_t elen = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err != 0) {
        fail(c, &n_connect_fail);
        return;
    }
    /* the request is tiny: one send fits in any socket buffer */
    ssize_t w = send(c->fd, REQUEST, sizeof REQUEST - 1, MSG_NOSIGNAL);
    if (w != (ssize_t)(sizeof REQUEST - 1)) {
        fail(c, &n_send_fail);
        return;
    }
    c->st = ST_READING;
}

static void on_readable(struct conn *c)
{
    ssize_t r = recv(c->fd, c->buf + c->len, BUF_SIZE - c->len, 0);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
        fail(c, &n_closed_before_response);
        return;
    }
    if (r > 0)
        c->len += (size_t)r;
    int s = response_state(c);
    if (s < 0)
        fail(c, &n_bad_response);
    else if (s > 0)
        c->st = ST_HELD;
}

/* true if a held connection is still open and quiet */
static int still_open(struct conn *c, short revents)
{
    if (!revents)
        return 1;
    char tmp[64];
    ssize_t r = recv(c->fd, tmp, sizeof tmp, MSG_PEEK | MSG_DONTWAIT);
    if (r > 0) { /* server sent something unsolicited; connection still open */
        n_unexpected_data++;
        return 1;
    }
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return 1;
    n_closed_while_idle++; /* EOF or error (e.g. RST) */
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s PORT COUNT PID [SETTLE_MS] [TIMEOUT_S] [MAX_INFLIGHT]\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]);
    long count = atol(argv[2]);
    long pid = atol(argv[3]);
    long settle_ms = argc > 4 ? atol(argv[4]) : 1000;
    double timeout_s = argc > 5 ? atof(argv[5]) : 30;
    long max_inflight = argc > 6 ? atol(argv[6]) : 256;
    if (port <= 0 || port > 65535 || count <= 0 || pid <= 0 || max_inflight <= 0) {
        fprintf(stderr, "idle_conns: bad arguments\n");
        return 2;
    }

    /* we need count sockets plus a few; raise the soft limit up to the hard one */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)count + 64) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < (rlim_t)count + 16)
            fprintf(stderr, "idle_conns: warning: RLIMIT_NOFILE=%lu < %ld connections\n",
                    (unsigned long)rl.rlim_cur, count);
    }

    struct conn *conns = calloc((size_t)count, sizeof *conns);
    struct pollfd *pfds = calloc((size_t)count, sizeof *pfds);
    long *idx = calloc((size_t)count, sizeof *idx);
    if (!conns || !pfds || !idx) {
        fprintf(stderr, "idle_conns: out of memory\n");
        return 1;
    }
    for (long i = 0; i < count; i++)
        conns[i].fd = -1;

    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    long rss_before = read_rss_kb(pid);
    double t0 = now_s(), deadline = t0 + timeout_s;

    /* phase 1: connect, send, read response; bounded by the deadline */
    long next = 0, inflight = 0, done = 0;
    while (done < count && now_s() < deadline) {
        while (inflight < max_inflight && next < count) {
            struct conn *c = &conns[next++];
            start_connect(c, &sa);
            if (c->st == ST_FAILED)
                done++;
            else
                inflight++;
        }
        /* collect the in-flight connections (O(max_inflight) per turn) */
        nfds_t n = 0;
        for (long i = next - 1; i >= 0 && (long)n < inflight; i--) {
            struct conn *c = &conns[i];
            if (c->st != ST_CONNECTING && c->st != ST_READING)
                continue;
            pfds[n].fd = c->fd;
            pfds[n].events = c->st == ST_CONNECTING ? POLLOUT : POLLIN;
            pfds[n].revents = 0;
            idx[n++] = i;
        }
        if (n == 0)
            continue;
        int pr = poll(pfds, n, 100);
        if (pr < 0 && errno != EINTR) {
            perror("idle_conns: poll");
            break;
        }
        for (nfds_t k = 0; pr > 0 && k < n; k++) {
            if (!pfds[k].revents)
                continue;
            struct conn *c = &conns[idx[k]];
            if (c->st == ST_CONNECTING)
                on_writable(c);
            else
                on_readable(c);
            if (c->st == ST_HELD || c->st == ST_FAILED) {
                inflight--;
                done++;
            }
        }
    }
    double t_established = now_s() - t0;

    /* anything still pending (or never started) at the deadline has failed */
    for (long i = 0; i < count; i++)
        if (conns[i].st != ST_HELD && conns[i].st != ST_FAILED)
            fail(&conns[i], &n_timeout);

    long responded = 0;
    for (long i = 0; i < count; i++)
        responded += conns[i].st == ST_HELD;

    /* phase 2: stay idle, then measure */
    struct timespec ts = {settle_ms / 1000, (settle_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    long rss_after = read_rss_kb(pid);

    /* phase 3: which held connections are still open? one poll, no wait */
    nfds_t n = 0;
    for (long i = 0; i < count; i++)
        if (conns[i].st == ST_HELD) {
            pfds[n].fd = conns[i].fd;
            pfds[n].events = POLLIN | POLLRDHUP;
            pfds[n].revents = 0;
            idx[n++] = i;
        }
    if (n > 0 && poll(pfds, n, 0) < 0)
        perror("idle_conns: poll");
    long held = 0;
    for (nfds_t k = 0; k < n; k++)
        held += still_open(&conns[idx[k]], pfds[k].revents);

    printf("count=%ld\n", count);
    printf("rss_before_kb=%ld\n", rss_before);
    printf("rss_after_kb=%ld\n", rss_after);
    printf("responded=%ld\n", responded);
    printf("held=%ld\n", held);
    printf("connect_failed=%ld\n", n_connect_fail);
    printf("send_failed=%ld\n", n_send_fail);
    printf("closed_before_response=%ld\n", n_closed_before_response);
    printf("bad_response=%ld\n", n_bad_response);
    printf("timed_out=%ld\n", n_timeout);
    printf("closed_while_idle=%ld\n", n_closed_while_idle);
    printf("unexpected_data=%ld\n", n_unexpected_data);
    printf("establish_seconds=%.3f\n", t_established);
    return 0; /* sockets are closed by exit */
}
