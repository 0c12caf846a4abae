/* paced.c - an open-loop HTTP/1.1 load generator for tests/bench/run.sh: requests at a fixed rate,
   spread over keep-alive connections, each latency measured from the moment its request was due
   (not sent), so a stalled server cannot hide its stall by slowing the client (coordinated
   omission). wrk cannot pace; this is for latency at a load the server can sustain.

   usage: paced PORT PATH CONNECTIONS RATE SECONDS
   Prints wrk-style lines that run.sh parses: "N requests in", "Requests/sec:", a "Latency
   Distribution" with 50/90/99/99.9%, "Socket errors:" and "Non-2xx or 3xx responses:". */
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
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct conn {
    int fd;
    int waiting;                /* a request is out */
    double due;                 /* when its current (or next) request is due, seconds */
    char buf[65536];
    size_t len;
} conn;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int dial(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        if (fd >= 0) close(fd);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* Length of the complete response at the start of c->buf, 0 if incomplete, -1 if unparseable.
   *status gets its status code. Only Content-Length bodies (all the bench routes send one). */
static long complete(const conn *c, int *status) {
    const char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
    if (!end) return c->len >= sizeof c->buf ? -1 : 0;
    if (sscanf(c->buf, "HTTP/1.%*d %d", status) != 1) return -1;
    long clen = 0;
    for (const char *p = c->buf; p && p < end; p = memchr(p, '\n', (size_t)(end - p))) {
        if (*p == '\n') p++;
        if (strncasecmp(p, "content-length:", 15) == 0) clen = strtol(p + 15, NULL, 10);
    }
    long total = (long)(end + 4 - c->buf) + clen;
    return (size_t)total <= c->len ? total : 0;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void print_latency(const char *label, double ms) {
    if (ms < 1) printf("    %s  %.2fus\n", label, ms * 1000);
    else printf("    %s  %.2fms\n", label, ms);
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s PORT PATH CONNECTIONS RATE SECONDS\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]), n = atoi(argv[3]);
    double rate = atof(argv[4]), secs = atof(argv[5]);
    if (port <= 0 || n <= 0 || n > 1024 || rate <= 0 || secs <= 0) return 2;
    char req[1024];
    int rlen = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", argv[2]);
    conn *cs = calloc((size_t)n, sizeof *cs);
    size_t cap = (size_t)(rate * secs) + (size_t)n + 16, count = 0;
    double *lat = malloc(cap * sizeof *lat);
    struct pollfd *pf = calloc((size_t)n, sizeof *pf);
    long errors = 0, non2xx = 0, connect_err = 0;
    if (!cs || !lat || !pf) return 1;
    double t0 = now_s() + 0.05, stop = t0 + secs, gap = (double)n / rate;
    for (int i = 0; i < n; i++) {
        if ((cs[i].fd = dial(port)) < 0) connect_err++;
        cs[i].due = t0 + i / rate;          /* connections take turns: one request every 1/rate */
    }
    for (;;) {
        double t = now_s(), next = stop + 10;
        int busy = 0;
        for (int i = 0; i < n; i++) {
            conn *c = &cs[i];
            if (c->fd < 0) continue;
            if (!c->waiting && c->due < stop && c->due <= t) {
                if (send(c->fd, req, (size_t)rlen, MSG_NOSIGNAL) != rlen) {
                    errors++, close(c->fd), c->fd = -1;
                    continue;
                }
                c->waiting = 1;
            }
            if (c->waiting) busy++;
            else if (c->due < stop && c->due < next) next = c->due;
        }
        if (!busy && next > stop) break;            /* every due request answered */
        if (t > stop + 10) {                        /* answers that never came */
            errors += busy;
            break;
        }
        int np = 0;
        for (int i = 0; i < n; i++)
            if (cs[i].fd >= 0 && cs[i].waiting)
                pf[np].fd = cs[i].fd, pf[np].events = POLLIN, pf[np++].revents = 0;
        double wait = next > stop ? 0.1 : next - t;     /* to the microsecond: no spinning, no lateness */
        if (wait < 0) wait = 0;
        struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
        if (ppoll(pf, (nfds_t)np, &ts, NULL) < 0 && errno != EINTR) return 1;
        t = now_s();
        for (int i = 0; i < n; i++) {
            conn *c = &cs[i];
            if (c->fd < 0 || !c->waiting) continue;
            ssize_t r = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, MSG_DONTWAIT);
            if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            if (r <= 0) {
                errors++, close(c->fd), c->fd = -1;
                continue;
            }
            c->len += (size_t)r;
            int status = 0;
            long whole = complete(c, &status);
            if (whole < 0) {
                errors++, close(c->fd), c->fd = -1;
                continue;
            }
            if (whole == 0) continue;
            if (count < cap) lat[count++] = (t - c->due) * 1000;
            if (status < 200 || status > 399) non2xx++;
            memmove(c->buf, c->buf + whole, c->len - (size_t)whole);
            c->len -= (size_t)whole;
            c->waiting = 0;
            c->due += gap;
        }
    }
    qsort(lat, count, sizeof *lat, cmp);
    printf("  %zu requests in %.2fs, paced at %.0f/s over %d connections\n", count, secs, rate, n);
    printf("  Latency Distribution\n");
    if (count) {
        print_latency("50%", lat[count / 2]);
        print_latency("90%", lat[count * 90 / 100]);
        print_latency("99%", lat[count * 99 / 100]);
        print_latency("99.9%", lat[count * 999 / 1000]);
        print_latency("max", lat[count - 1]);
    }
    printf("Requests/sec: %.2f\n", (double)count / secs);
    if (errors || connect_err)
        printf("  Socket errors: connect %ld, read %ld, write 0, timeout 0\n", connect_err, errors);
    if (non2xx) printf("  Non-2xx or 3xx responses: %ld\n", non2xx);
    for (int i = 0; i < n; i++)
        if (cs[i].fd >= 0) close(cs[i].fd);
    free(cs), free(lat), free(pf);
    return 0;
}
