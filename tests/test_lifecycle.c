/* A server's lifetime from outside it: wf_stop and wf_run_on_loop racing wf_start/wf_wait, callbacks
   pending when the loops end, SIGINT/SIGTERM with several apps in one process (and during start-up),
   and running out of descriptors with two loops. */
#define _GNU_SOURCE
#include "util.h"
#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void h_ok(wf_req *req, wf_res *res) {
    (void)req;
    wf_reply_text(res, 200, "ok");
}

static void log_nothing(void *user, wf_log_level level, const char *msg) {
    (void)user, (void)level, (void)msg;
}

/* A port nothing listens on right now (the kernel's pick of an ephemeral one). */
static int free_port(void) {
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &al) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0) close(fd);
    return port;
}

/* Wait for child pid at most timeout_ms (then kill it): its waitpid status, or -1 if it was killed. */
static int reap(pid_t pid, int timeout_ms) {
    long long deadline = tu_ms() + timeout_ms;
    int status = 0;
    pid_t w;
    while ((w = waitpid(pid, &status, WNOHANG)) == 0 && tu_ms() < deadline) usleep(1000);
    if (w == pid) return status;
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

/* ---- wf_stop and wf_run_on_loop from another thread, at any time ---- */

static atomic_int runs;
static void count_run(void *arg) {
    (void)arg;
    atomic_fetch_add(&runs, 1);
}

typedef struct hammer {
    wf_app *app;
    atomic_int stop, started;
    long calls, accepted, einval, estopped, other;
} hammer;

static void *hammer_main(void *arg) {
    hammer *h = arg;
    atomic_store(&h->started, 1);
    while (!atomic_load(&h->stop)) {
        wf_stop(h->app);
        int rc = wf_run_on_loop(h->app, count_run, NULL);
        h->calls++;
        if (rc == 0) h->accepted++;
        else if (rc == WF_EINVAL) h->einval++;
        else if (rc == WF_ESTOPPED) h->estopped++;
        else h->other++;
    }
    return NULL;
}

/* wf_stop is safe at any time while the app exists (the old wf_stop read a server wf_wait had just
   freed), and a callback wf_run_on_loop accepted runs exactly once, even when the server stops
   before its loop got to it (the old loop dropped those). */
WF_TEST(lifecycle_stop_races_wait) {
    const int cycles = 2000;                        /* or as many as 4 s allow (sanitizers, load) */
    wf_app *app = wf_app_new();
    wf_get(app, "/", h_ok);
    hammer h = {.app = app};
    pthread_t t;
    atomic_store(&runs, 0);
    WF_ASSERT_EQ_INT(pthread_create(&t, NULL, hammer_main, &h), 0);
    WF_ASSERT_TRUE(tu_wait_atomic(&h.started, 1, 5000));
    wf_config cfg = {.port = WF_PORT_ANY, .threads = 2, .workers = 1, .no_access_log = true};
    long long t0 = tu_ms();
    int tried = 0, started = 0, waited = 0;
    while (tried < cycles && tu_ms() - t0 < 4000) {
        tried++;
        int port = wf_start(app, &cfg);
        if (!TU_EXPECT_GT_INT_AT(TU_HERE, port, 0)) break;
        started++;
        waited += wf_wait(app) == 0;
    }
    long long ms = tu_ms() - t0;
    atomic_store(&h.stop, 1);
    pthread_join(t, NULL);
    wf_test_log("%d cycles in %lld ms; %ld calls beside them: %ld accepted, %ld WF_EINVAL, %ld WF_ESTOPPED",
                tried, ms, h.calls, h.accepted, h.einval, h.estopped);
    WF_EXPECT_EQ_INT(started, tried);
    WF_EXPECT_EQ_INT(waited, tried);
    WF_EXPECT_EQ_INT(h.other, 0);
    WF_EXPECT_GT_INT(h.accepted, 0);
    int ran = atomic_load(&runs);
    WF_EXPECT_EQ_INT(ran, h.accepted);
    WF_EXPECT_EQ_INT(wf_run_on_loop(app, count_run, NULL), WF_EINVAL);
    wf_app_free(app);
}

/* Deterministic: callbacks posted between wf_stop and the loop's end each run once (each frees its
   own argument, so one dropped is a leak and one run twice a double free); from the loop's end on,
   wf_run_on_loop says WF_ESTOPPED (the old one accepted them and dropped them), and once wf_wait
   has returned, WF_EINVAL. The loop is held in a callback of its own while the stop comes and the
   1000 callbacks are posted, so they are all pending at the stop. */
static atomic_int freed_runs;
static void free_arg(void *arg) {
    free(arg);
    atomic_fetch_add(&freed_runs, 1);
}

static tu_gate hold_gate = TU_GATE_INIT;
static void hold_loop(void *arg) {
    (void)arg;
    tu_gate_pass(&hold_gate, 5000);
}

/* One wf_run_on_loop with a malloc'd argument: 0 (fn now owns it) or the error (the argument freed). */
static int post_owned(wf_app *app) {
    int *arg = malloc(sizeof *arg);
    if (!arg) return WF_ENOMEM;
    *arg = 1;
    int rc = wf_run_on_loop(app, free_arg, arg);
    if (rc != 0) free(arg);
    return rc;
}

WF_TEST(lifecycle_run_on_loop_pending_at_stop_run_once) {
    wf_app *app = wf_app_new();
    wf_get(app, "/", h_ok);
    wf_config cfg = {.port = WF_PORT_ANY, .threads = 1, .workers = 1, .no_access_log = true};
    WF_ASSERT_GT_INT(wf_start(app, &cfg), 0);
    atomic_store(&freed_runs, 0);
    WF_ASSERT_EQ_INT(wf_run_on_loop(app, hold_loop, NULL), 0);
    WF_ASSERT_TRUE(tu_gate_arrivals(&hold_gate, 1, 5000));    /* the loop is held */
    wf_stop(app);
    int accepted = 0, stopped = 0, other = 0;
    for (int i = 0; i < 1000; i++) accepted += post_owned(app) == 0;
    int ran = atomic_load(&freed_runs);
    WF_EXPECT_EQ_INT(accepted, 1000);
    WF_EXPECT_EQ_INT(ran, 0);
    tu_gate_open(&hold_gate);
    /* the loop ends on its own: from then on the queue is closed (bounded: 5 s, 200,000 calls) */
    long long deadline = tu_ms() + 5000;
    for (int i = 0; i < 200000 && !stopped && tu_ms() < deadline; i++) {
        int rc = post_owned(app);
        accepted += rc == 0;
        stopped += rc == WF_ESTOPPED;
        other += rc != 0 && rc != WF_ESTOPPED;
    }
    WF_EXPECT_EQ_INT(wf_wait(app), 0);
    wf_test_log("%d callbacks accepted after wf_stop, then %d WF_ESTOPPED", accepted, stopped);
    WF_EXPECT_EQ_INT(stopped, 1);
    WF_EXPECT_EQ_INT(other, 0);
    ran = atomic_load(&freed_runs);
    WF_EXPECT_EQ_INT(ran, accepted);
    WF_EXPECT_EQ_INT(post_owned(app), WF_EINVAL);
    WF_EXPECT_EQ_INT(wf_wait(app), WF_EINVAL);
    wf_stop(app);                                   /* no server: nothing to do */
    ran = atomic_load(&freed_runs);
    WF_EXPECT_EQ_INT(ran, accepted);
    wf_app_free(app);
}

/* ---- SIGINT and SIGTERM with several apps in one process ---- */

static volatile sig_atomic_t got_term, got_int;
static void on_term(int sig) {
    (void)sig;
    got_term++;
}
static void on_int(int sig) {
    (void)sig;
    got_int++;
}

/* An app served by wf_run on a thread of its own: its port (from the "listening on" line it logs)
   and wf_run's result once it returned. */
typedef struct served {
    wf_app *app;
    pthread_t thread;
    atomic_int port, returned;
    int rc;
} served;

static void log_port(void *user, wf_log_level level, const char *msg) {
    served *s = user;
    const char *p = strstr(msg, "listening on http://127.0.0.1:");
    (void)level;
    if (p) atomic_store(&s->port, atoi(p + strlen("listening on http://127.0.0.1:")));
}

static void *serve_main(void *arg) {
    served *s = arg;
    wf_config cfg = {.port = WF_PORT_ANY, .threads = 1, .workers = 1, .no_access_log = true,
                     .log = log_port, .log_user = s};
    s->rc = wf_run(s->app, &cfg);
    atomic_store(&s->returned, 1);
    return NULL;
}

/* Start s with wf_run and wait until it answers a request. */
static bool serve_at(tu_at at, served *s) {
    memset(s, 0, sizeof *s);
    s->app = wf_app_new();
    wf_get(s->app, "/", h_ok);
    if (!TU_ASSERT_TRUE_AT(at, pthread_create(&s->thread, NULL, serve_main, s) == 0)) return false;
    if (!TU_ASSERT_TRUE_AT(at, tu_wait_atomic(&s->port, 1, 5000))) return false;
    tu_resp r;
    bool ok = TU_EXPECT_EQ_INT_AT(at, tu_request(atomic_load(&s->port), "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                                                 &r), 200);
    tu_resp_free(&r);
    return ok;
}
#define serve_app(s) serve_at(TU_HERE, s)

/* Wait (bounded) for s's wf_run to return; true if it did, with 0. If it does not, stop it. */
static bool returned_at(tu_at at, served *s, int timeout_ms) {
    bool back = TU_EXPECT_TRUE_AT(at, tu_wait_atomic(&s->returned, 1, timeout_ms));
    if (!back) {
        wf_stop(s->app);
        back = tu_wait_atomic(&s->returned, 1, 5000);
    }
    if (back) pthread_join(s->thread, NULL);
    return back && TU_EXPECT_EQ_INT_AT(at, s->rc, 0);
}
#define returned(s, ms) returned_at(TU_HERE, s, ms)

static void end_app(served *s) {
    if (!atomic_load(&s->returned)) {        /* after a failed check: do not leave it running */
        wf_stop(s->app);
        if (!tu_wait_atomic(&s->returned, 1, 5000)) return;
        pthread_join(s->thread, NULL);
    }
    wf_app_free(s->app);
}

/* The test's own handlers, installed before any wf_run; the previous ones into old[2]. */
static void own_handlers(struct sigaction old[2]) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, &old[0]);
    sa.sa_handler = on_int;
    sigaction(SIGINT, &sa, &old[1]);
    got_term = got_int = 0;
}

static bool handler_is_at(tu_at at, int sig, void (*want)(int)) {
    struct sigaction cur;
    sigaction(sig, NULL, &cur);
    return TU_EXPECT_TRUE_AT(at, !(cur.sa_flags & SA_SIGINFO) && cur.sa_handler == want);
}
#define handler_is(sig, want) handler_is_at(TU_HERE, sig, want)

/* raise(sig) reaches the test's own handler: its counter goes up (bounded: a sanitizer may hold a
   signal until the thread's next intercepted call), and the process lives on. */
static bool reaches_own_at(tu_at at, int sig, volatile sig_atomic_t *counter) {
    sig_atomic_t before = *counter;
    raise(sig);
    long long deadline = tu_ms() + 2000;
    while (*counter == before && tu_ms() < deadline) usleep(1000);
    return TU_EXPECT_EQ_INT_AT(at, *counter, before + 1);
}
#define reaches_own(sig, counter) reaches_own_at(TU_HERE, sig, counter)

/* One SIGTERM stops every app a wf_run serves (the old code stopped only the last one started);
   then the handlers that were there before are back. */
WF_TEST(lifecycle_sigterm_stops_every_app) {
    struct sigaction old[2];
    served a, b;
    own_handlers(old);
    WF_ASSERT_TRUE(serve_app(&a));
    WF_ASSERT_TRUE(serve_app(&b));
    raise(SIGTERM);
    WF_EXPECT_TRUE(returned(&a, 5000));
    WF_EXPECT_TRUE(returned(&b, 5000));
    WF_EXPECT_EQ_INT(got_term, 0);                  /* the server's handler took it */
    handler_is(SIGTERM, on_term);
    handler_is(SIGINT, on_int);
    reaches_own(SIGTERM, &got_term);
    reaches_own(SIGINT, &got_int);
    end_app(&a);
    end_app(&b);
    sigaction(SIGTERM, &old[0], NULL);
    sigaction(SIGINT, &old[1], NULL);
}

/* The handlers stay while any wf_run serves: A stopped by wf_stop, a SIGINT still stops B (the old
   code put the test's handlers back when A returned, and B's wf_run then put its own back). */
WF_TEST(lifecycle_signal_handlers_restored_after_last_run) {
    struct sigaction old[2];
    served a, b;
    own_handlers(old);
    WF_ASSERT_TRUE(serve_app(&a));
    WF_ASSERT_TRUE(serve_app(&b));
    wf_stop(a.app);
    WF_EXPECT_TRUE(returned(&a, 5000));
    WF_EXPECT_FALSE(atomic_load(&b.returned));
    raise(SIGINT);
    WF_EXPECT_TRUE(returned(&b, 5000));
    WF_EXPECT_EQ_INT(got_int, 0);                   /* the server's handler took it */
    handler_is(SIGTERM, on_term);
    handler_is(SIGINT, on_int);
    reaches_own(SIGINT, &got_int);
    reaches_own(SIGTERM, &got_term);
    end_app(&a);
    end_app(&b);
    sigaction(SIGTERM, &old[0], NULL);
    sigaction(SIGINT, &old[1], NULL);
}

/* ---- a SIGTERM while wf_run starts ---- */

typedef struct starting {
    wf_app *app;
    int port, rc;
    atomic_int returned;
} starting;

static void *start_main(void *arg) {
    starting *s = arg;
    wf_config cfg = {.port = s->port, .threads = 2, .no_access_log = true, .log = log_nothing};
    s->rc = wf_run(s->app, &cfg);
    atomic_store(&s->returned, 1);
    return NULL;
}

/* The child: wf_run on a thread; the first moment a connect() succeeds (the listener exists), a
   SIGTERM. Exit 0: wf_run returned 0; 1: it returned an error; 2: nothing listened within 5 s;
   3: wf_run did not return within 5 s; 4: it failed to start (the port was taken meanwhile). */
static int sigterm_child(void) {
    signal(SIGTERM, SIG_DFL);
    starting s = {.app = wf_app_new(), .port = free_port()};
    pthread_t t;
    if (!s.app || s.port <= 0 || pthread_create(&t, NULL, start_main, &s) != 0) return 4;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)s.port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    long long deadline = tu_ms() + 5000;
    bool up = false;
    while (!up && !atomic_load(&s.returned) && tu_ms() < deadline) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        up = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
        if (up) raise(SIGTERM);
        if (fd >= 0) close(fd);
    }
    if (!up) return atomic_load(&s.returned) ? 4 : 2;
    if (!tu_wait_atomic(&s.returned, 1, 5000)) return 3;
    pthread_join(t, NULL);
    return s.rc == 0 ? 0 : 1;
}

/* The handlers are in place before the listener exists, and a signal before the server does is
   kept for it: a SIGTERM never kills the process (the old wf_run installed them after wf_start,
   which had bound the port and started the threads). */
WF_TEST(lifecycle_sigterm_during_start_is_graceful) {
    const int most = 60;                            /* or as many as 4 s allow (sanitizers, load) */
    int children = 0, exited0 = 0, killed = 0, other = 0, retried = 0;
    long long t0 = tu_ms();
    while (children < most && tu_ms() - t0 < 4000) {
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        if (pid == 0) _exit(sigterm_child());
        WF_ASSERT_GT_INT(pid, 0);
        int st = reap(pid, 11000);
        if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 4 && retried < 5) {
            retried++;                              /* the port was taken: another one */
            continue;
        }
        children++;
        if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0) exited0++;
        else if (st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM) killed++;
        else {
            other++;
            wf_test_log("child %d: status %d", children, st);
        }
    }
    wf_test_log("%d children in %lld ms: %d exited 0, %d killed by SIGTERM, %d otherwise", children,
                tu_ms() - t0, exited0, killed, other);
    WF_EXPECT_EQ_INT(killed, 0);
    WF_EXPECT_EQ_INT(other, 0);
    WF_EXPECT_GT_INT(children, 0);
    WF_EXPECT_EQ_INT(exited0, children);
}

/* ---- out of descriptors, two loops ---- */

/* The server's process: descriptors limited to 40, two loops, GET / answering "ok"; it writes its
   port on ready, and stops when stop has a byte or is closed (30 s at most). */
static int emfile_child(int ready, int stop) {
    struct rlimit rl = {40, 40};
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) return 2;
    wf_app *app = wf_app_new();
    wf_get(app, "/", h_ok);
    wf_config cfg = {.port = WF_PORT_ANY, .threads = 2, .workers = 1, .no_access_log = true,
                     .log = log_nothing, .idle_timeout_ms = 60000};
    int port = wf_start(app, &cfg);
    if (write(ready, &port, sizeof port) != (ssize_t)sizeof port || port <= 0) return 3;
    struct pollfd p = {stop, POLLIN, 0};
    while (poll(&p, 1, 30000) < 0 && errno == EINTR) {
    }
    wf_stop(app);
    return wf_wait(app) == 0 ? 0 : 4;
}

/* The bursts: at most LC_EMFILE_ROUNDS of them (and 3 s) of LC_EMFILE_THREADS x LC_EMFILE_EACH
   connections (-D to hunt longer). More connections in a burst than the server's 4 spares: a loop's
   accept may take a spare's number, and with 16 such connections all 4 could go (the server won
   them back only as connections closed: 3 of 30 runs left connections unanswered); spares now come
   first, so every connection still gets its answer. */
#ifndef LC_EMFILE_ROUNDS
#define LC_EMFILE_ROUNDS 1000
#endif
#ifndef LC_EMFILE_THREADS
#define LC_EMFILE_THREADS 4
#endif
#ifndef LC_EMFILE_EACH
#define LC_EMFILE_EACH 4
#endif
enum { BURST = LC_EMFILE_THREADS * LC_EMFILE_EACH, MAX_FILL = 64 };
static const char get_root[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

typedef struct opener {
    int port;
    pthread_barrier_t *go;
    tu_conn *c;                 /* LC_EMFILE_EACH of them */
} opener;

/* Connect LC_EMFILE_EACH clients, each sending its request at once, as fast as possible. */
static void *opener_main(void *arg) {
    opener *o = arg;
    pthread_barrier_wait(o->go);
    for (int i = 0; i < LC_EMFILE_EACH; i++)
        if (tu_connect(&o->c[i], o->port) == 0 && tu_sends(&o->c[i], get_root) < 0) tu_close(&o->c[i]);
    return NULL;
}

/* The answer on c within timeout_ms: 200, 503 (the refusal, as it should be), -1 (none) or 0 (another). */
static int answer(tu_conn *c, int timeout_ms) {
    tu_resp r;
    char conn[32] = "";
    if (c->fd < 0) return 0;
    int st = tu_read(c, &r, false, timeout_ms > 1 ? timeout_ms : 1);
    if (st == 503 && !(tu_header(&r, "Connection", conn, sizeof conn) && !strcmp(conn, "close") &&
                       !strcmp(r.body, "{\"detail\":\"Too many connections\"}")))
        st = 0;
    if (st >= 0) tu_resp_free(&r);
    return st == 200 || st == 503 || st == -1 ? st : 0;
}

/* Every connection to a server out of descriptors gets an answer: 200 while it has some, then 503
   in a spare descriptor's place. The server is first filled up one connection at a time (kept
   open: its descriptors stay used) until the first 503; then come bursts of connections from
   several threads at once, which both loops refuse at the same time. The old loops each had one
   spare: when another loop's accept() took its number (and served that connection, held by the
   client), the spare was gone for good, and that loop then left the connections queued on its
   listener unanswered whenever the server was full. */
WF_TEST(lifecycle_emfile_every_connection_gets_an_answer) {
    int ready[2], stop[2];
    WF_ASSERT_EQ_INT(pipe(ready), 0);
    WF_ASSERT_EQ_INT(pipe(stop), 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        close(ready[0]);
        close(stop[1]);
        _exit(emfile_child(ready[1], stop[0]));
    }
    WF_ASSERT_GT_INT(pid, 0);
    close(ready[1]);
    close(stop[0]);
    int port = 0;
    struct pollfd p = {ready[0], POLLIN, 0};
    if (poll(&p, 1, 5000) != 1 || read(ready[0], &port, sizeof port) != (ssize_t)sizeof port) port = 0;
    close(ready[0]);
    static tu_conn fill[MAX_FILL], c[BURST];
    int filled = 0, first_refusal = 0, ok = 0, busy = 0, unanswered = 0, bad = 0, rounds = 0;
    long long t0 = tu_ms();
    /* one at a time until the first 503: every descriptor the server can give is in use */
    while (port > 0 && filled < MAX_FILL && !first_refusal) {
        tu_conn *f = &fill[filled];
        int st = tu_connect(f, port) == 0 && tu_sends(f, get_root) == 0 ? answer(f, 5000) : 0;
        if (st == 200) filled++;
        else tu_close(f);
        first_refusal = st == 503;
        if (st != 200 && st != 503) break;
    }
    long long bursts_end = tu_ms() + 3000;
    for (; port > 0 && first_refusal && rounds < LC_EMFILE_ROUNDS && tu_ms() < bursts_end; rounds++) {
        if (unanswered || bad) break;
        pthread_barrier_t go;
        pthread_t t[LC_EMFILE_THREADS];
        opener o[LC_EMFILE_THREADS];
        pthread_barrier_init(&go, NULL, LC_EMFILE_THREADS);
        for (int i = 0; i < BURST; i++) c[i].fd = -1;
        for (int i = 0; i < LC_EMFILE_THREADS; i++) {
            o[i] = (opener){port, &go, &c[i * LC_EMFILE_EACH]};
            WF_ASSERT_EQ_INT(pthread_create(&t[i], NULL, opener_main, &o[i]), 0);
        }
        for (int i = 0; i < LC_EMFILE_THREADS; i++) pthread_join(t[i], NULL);
        pthread_barrier_destroy(&go);
        long long deadline = tu_ms() + 5000;       /* for all of them: each takes milliseconds */
        for (int i = 0; i < BURST; i++) {
            int st = answer(&c[i], (int)(deadline - tu_ms()));
            ok += st == 200;                        /* a spare's number another loop took: served */
            busy += st == 503;
            unanswered += st == -1;
            bad += st == 0;
            /* a connection served is held until its answer is read (the ones before it first),
               then the server lets it go (it closes its end once this one is shut for writing) */
            if (st == 200 && shutdown(c[i].fd, SHUT_WR) == 0) tu_closed(&c[i], 2000);
        }
        for (int i = 0; i < BURST; i++) tu_close(&c[i]);
    }
    wf_test_log("%d connections filled the server; %d bursts of %d in %lld ms: %d answered 503, %d 200, "
                "%d unanswered, %d other", filled, rounds, BURST, tu_ms() - t0, busy, ok, unanswered, bad);
    WF_EXPECT_GT_INT(port, 0);
    WF_EXPECT_GT_INT(filled, 0);
    WF_EXPECT_EQ_INT(first_refusal, 1);
    WF_EXPECT_EQ_INT(unanswered, 0);
    WF_EXPECT_EQ_INT(bad, 0);
    WF_EXPECT_GT_INT(busy, 0);
    for (int i = 0; i < filled; i++) tu_close(&fill[i]);
    close(stop[1]);
    int st = reap(pid, 5000);
    WF_EXPECT_TRUE(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}
