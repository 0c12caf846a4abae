/* ws_lws_server.c - libwebsockets' side of the WebSocket benchmark (tests/bench/ws_run.sh), as
   ws_bench_server.c: WS /ws-echo echoes text as text and binary as binary; WS /room sends the
   payload of a text "BROADCAST <payload>" to every /room client. lws's write-callback pattern: a
   message waits in a per-session queue (echo) or in a shared ring of the last RING broadcasts, each
   session keeps how far it has sent, and lws_callback_on_writable[_all_protocol] asks for the
   SERVER_WRITEABLE callback that sends it. Debian's libwebsockets 4.1, one service thread.
   Environment: PORT (default 8000); LWS_EVLIB=poll (lws's default, and its fastest here: CPU per
   echo 6.3-9.7 us against 7.6-11.7 with ev and 13.8-15.5 with uv), ev or uv (the plugins; these
   two do not stop on SIGTERM, ws_run.sh kills them).
   Build: cc -O2 tests/bench/ws_lws_server.c $(pkg-config --cflags --libs libwebsockets) */
#include <libwebsockets.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

struct msg { struct msg *next; size_t len; int binary; unsigned char buf[]; };   /* LWS_PRE + payload */
struct pss { struct msg *head, *tail, *rx; int room; unsigned seq; };
#define RING 16
static struct { unsigned char *buf[RING]; size_t len[RING]; unsigned seq; } bc;  /* seq: sent so far */
static struct lws_context *ctx;
static volatile sig_atomic_t stop;

static int cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
    struct pss *p = user;
    struct msg *m;
    char uri[16];
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        p->room = lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) > 0 && !strcmp(uri, "/room");
        p->seq = bc.seq;
        break;
    case LWS_CALLBACK_RECEIVE:                  /* a message may come in pieces: join them in p->rx */
        m = realloc(p->rx, sizeof *m + LWS_PRE + (p->rx ? p->rx->len : 0) + len);
        if (!m) return -1;
        if (!p->rx) m->len = 0;
        p->rx = m;
        memcpy(m->buf + LWS_PRE + m->len, in, len);
        m->len += len;
        m->binary = lws_frame_is_binary(wsi);
        if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi)) break;
        p->rx = NULL;
        m->next = NULL;
        if (!p->room) {                         /* echo: queue it */
            if (p->tail) p->tail->next = m;
            else p->head = m;
            p->tail = m;
            lws_callback_on_writable(wsi);
            break;
        }
        if (!m->binary && m->len >= 10 && !memcmp(m->buf + LWS_PRE, "BROADCAST ", 10)) {
            unsigned k = bc.seq % RING;
            free(bc.buf[k]);
            bc.buf[k] = malloc(LWS_PRE + m->len - 10);
            if (!bc.buf[k]) return -1;
            memcpy(bc.buf[k] + LWS_PRE, m->buf + LWS_PRE + 10, bc.len[k] = m->len - 10);
            bc.seq++;
            lws_callback_on_writable_all_protocol(lws_get_context(wsi), lws_get_protocol(wsi));
        }
        free(m);
        break;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (p->room && p->seq != bc.seq) {      /* a session more than RING behind skips ahead */
            if (bc.seq - p->seq > RING) p->seq = bc.seq - RING;
            unsigned k = p->seq++ % RING;
            if (lws_write(wsi, bc.buf[k] + LWS_PRE, bc.len[k], LWS_WRITE_TEXT) < (int)bc.len[k]) return -1;
            if (p->seq != bc.seq) lws_callback_on_writable(wsi);
        } else if (!p->room && (m = p->head)) {
            if (!(p->head = m->next)) p->tail = NULL;
            int n = lws_write(wsi, m->buf + LWS_PRE, m->len, m->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
            free(m);
            if (n < 0) return -1;
            if (p->head) lws_callback_on_writable(wsi);
        }
        break;
    case LWS_CALLBACK_CLOSED:
        while ((m = p->head)) {
            p->head = m->next;
            free(m);
        }
        free(p->rx);
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols protocols[] = {{"bench", cb, sizeof(struct pss), 0, 0, NULL, 0}, {0}};

static void on_term(int sig) {
    (void)sig;
    stop = 1;
    lws_cancel_service(ctx);
}

int main(void) {
    struct lws_context_creation_info info;
    const char *port = getenv("PORT"), *evlib = getenv("LWS_EVLIB");
    memset(&info, 0, sizeof info);
    lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
    info.port = port ? atoi(port) : 8000;
    info.iface = "127.0.0.1";
    info.protocols = protocols;
    if (evlib && !strcmp(evlib, "ev")) info.options |= LWS_SERVER_OPTION_LIBEV;
    if (evlib && !strcmp(evlib, "uv")) info.options |= LWS_SERVER_OPTION_LIBUV;
    if (!(ctx = lws_create_context(&info))) return 1;
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    while (!stop && lws_service(ctx, 0) >= 0) {}
    lws_context_destroy(ctx);
    return 0;
}
