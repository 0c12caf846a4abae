/* webfw.h - v0.1.0 - a single-header HTTP/1.1 web framework for C
   MIT licensed, see the end of this file.

   QUICK START
   ===========
   Copy this file into your project. In exactly one .c file write

       #define WEBFW_IMPLEMENTATION
       #include "webfw.h"

   and everywhere else just #include "webfw.h". Then:

       static void hello(wf_req *req, wf_res *res) {
           (void)req;
           wf_reply_text(res, 200, "Hello, World!");
       }
       int main(void) {
           wf_app *app = wf_app_new();
           wf_get(app, "/", hello);
           return wf_run(app, &(wf_config){ .port = 8000 });   // zero fields take defaults
       }

   Build with `cc -O2 app.c -lpthread`. Ctrl-C (SIGINT) or SIGTERM stops the server gracefully and
   wf_run returns 0.

   TABLE OF CONTENTS (search for the tag, e.g. ">>http")
   =================
     >>config    configuration, portability, error codes, logging
     >>basics    string views, growable buffers, the per-request arena, UTF-8, clocks
     >>crypto    SHA-1, SHA-256, HMAC-SHA256, base64, random bytes, PBKDF2 and bcrypt passwords
     >>json      JSON writer and strict reader
     >>http      HTTP/1.1: incremental request parser, chunked decoder, response head and chunk writers
     >>pool      worker pool: threads and a bounded queue of jobs (implementation only)
     >>loop      transport: poll set, listeners, connections, timers, wake-ups, loop threads
                 (implementation only)
     >>router    the route trie: patterns, groups, route options, matching, 405's Allow
     >>app       the app and request objects, routes on the app, request accessors
     >>response  replies, headers, cookies, files, streams
     >>errors    wf_raise (FastAPI's HTTPException), error handlers
     >>params    parameter sources, validated getters, specs, JSON bodies, 422s
     >>deps      dependencies: the per-request cache, cleanups, app scope, overrides, groups
     >>tasks     background tasks
     >>websocket WebSockets (RFC 6455): handshake, frames, messages
     >>security  JWT (HS256)
     >>server    the app's lifetime, wf_run/wf_start/wf_stop/wf_wait, middleware, HTTP connections,
                 dispatch and the request's lifetime
     >>testing   the forked test harness and the test client
   The section order is the same in the declarations and in the implementation (sections without a
   public API appear only in the implementation). A section calls only the sections above it in this
   list; the loop reaches the HTTP server above it only through the hooks it is given (struct
   wf__loop_hooks), and the worker pool runs the jobs it is given through their function pointers.
   `make test` checks it (tests/layers.py). The app and the request are structs that several
   sections share: C needs them complete where they are used, so >>app defines them, one part per
   owning section, and only the owner reads, writes and resets its part.
   Names: wf_<object>_<verb or noun> works on that object (wf_req_header, wf_res_set_status,
   wf_group_route, wf_json_get); what a handler does to its request is verb first (wf_add_task,
   wf_set_cookie, wf_set_state, wf_raise, wf_defer).

   CONFIGURATION (compile-time; set globally, before every #include, unless marked impl-only)
   =============
     WEBFW_IMPLEMENTATION   emit the implementation in this translation unit (impl-only)
     WEBFW_STATIC           make every public function static (global)
     WF_MALLOC(ctx,n), WF_REALLOC(ctx,p,n), WF_FREE(ctx,p)
                            allocator, all three or none (impl-only; default libc; ctx is unused, NULL)
     WF_NO_TESTING          leave out the test harness (global)
     WF_USE_POLL            use poll() even on Linux, where epoll is the default (impl-only)
     WF_NO_SHA_NI           never use the x86 SHA extensions for SHA-256 (impl-only; by default they
                            are used when the CPU has them, detected at run time)
   Run-time settings live in wf_config (see >>server). A zero field always means "the default", and each
   field's comment names its default.

   ON HTTP
   =======
   The parser (wf_http_parse_head) is incremental: it is called again with the same buffer, grown, each
   time bytes arrive; it resumes where it stopped, so a request costs one pass whatever the read sizes.
   It keeps no pointers, only offsets (wf_span) into the caller's buffer, so the buffer may move between
   calls. It is strict, per RFC 9110/9112, because a lenient parser behind a proxy is a smuggling hole:
     - lines end in CRLF; a bare LF or bare CR is 400; leading empty lines before a request are skipped;
     - any token is a method (unknown methods reach the router, which answers 404 or 405);
     - request-target: origin-form, absolute-form (its authority is the host), authority-form
       (host:port, for CONNECT and only there), asterisk-form (OPTIONS only); bytes outside
       0x21..0x7E are 400; a '#fragment' is dropped;
     - version HTTP/1.0 or HTTP/1.1 (1.x with x > 1 is served as 1.1), other majors 505, junk 400;
     - field names are tokens with no whitespace before the colon; values are VCHAR/obs-text/SP/HTAB;
       obs-fold, control characters and NUL are 400;
     - Content-Length is 1*DIGIT (< 2^62); repeats (or list members) that differ are 400;
     - Transfer-Encoding with Content-Length, in HTTP/1.0, empty, or with chunked repeated or not last
       is 400; any coding other than chunked is 501;
     - HTTP/1.1 needs exactly one valid Host (RFC 9112 3.2), else 400;
     - 414 for a request line over max_request_line, 431 for a head over max_header_bytes or more than
       max_headers fields, 413 for a body over max_body, 417 for an Expect other than 100-continue.
   After any of these errors the server answers {"detail": "..."} and closes the connection.
   Chunked request bodies are decoded in place; chunk extensions are validated and dropped; trailer
   fields are validated, counted against the header limits and dropped.
   Keep-alive follows RFC 9112 9.3: HTTP/1.1 persists unless "Connection: close"; HTTP/1.0 persists only
   with "Connection: keep-alive". Pipelined requests are answered in order, and all the answers to one
   read go out in one writev. HEAD gets the GET's headers, Content-Length included, and no body.
   `Expect: 100-continue` is answered with "100 Continue" once the head is accepted, only when the body
   has not already arrived; a request refused by its head (413, ...) never gets the 100.

   ON THE LOOP
   ===========
   wf_run starts `threads` loop threads (default: one per online CPU). Each owns a SO_REUSEPORT listener, a
   poll set and its connections; a connection never changes thread. The poll set is epoll on Linux and poll()
   elsewhere (or anywhere with -DWF_USE_POLL, which the tests also run), with exactly poll()'s semantics
   (level triggered, one wait per iteration): poll() rescans every descriptor on each call, which costs about
   a third of the server's CPU with many short connections. A connection joins the set only if its first read
   does not finish it, so a one-request connection costs no epoll_ctl at all. An idle keep-alive connection
   costs well under 200 bytes (`make bench` measures it beside nginx): reads go to a per-thread scratch buffer
   and responses are built in a per-thread output buffer; only a partial request or an unsent response is
   copied to memory owned by the connection. A new connection is read at once, without waiting for poll(),
   since the request usually follows the handshake; TCP_NODELAY is set only once a connection outlives its
   first response. Timers: the head must arrive within header_timeout_ms of its first byte and the body within
   body_timeout_ms of the head (else 408 and close); an idle keep-alive connection is closed after
   idle_timeout_ms, a client that does not read its response after write_timeout_ms. Past max_conns, new
   connections get a 503 and are closed. When accept() runs out of file descriptors (EMFILE) the loop uses a
   reserve descriptor to accept and close the waiting connection, and pauses the listener briefly if even that
   fails, so it never spins. Shutdown: wf_stop(app) (any thread, or a signal handler) or SIGINT/SIGTERM
   closes the listeners and idle connections; requests in flight finish with "Connection: close" within
   shutdown_grace_ms; then wf_run returns 0. Errors after the response is queued (a reset, a timeout) close
   that connection only. Signals: unless wf_config.no_signals, wf_run installs SIGINT and SIGTERM handlers
   (with SA_RESTART, see >>server) before its server accepts anything, and a signal stops every app a wf_run
   serves in the process (several apps may run at once, each in its own wf_run); when the last such wf_run
   returns, the handlers that were there before are put back. A signal that comes while wf_run is starting
   stops the server as soon as it exists.

   ON ROUTING
   ==========
   wf_get(app, "/items/{item_id}", handler) and friends register routes in a trie of path segments:
   lookup follows the path's segments (a binary search among the literal children of each node), so
   its cost does not grow with the number of routes. A segment is literal text or a parameter:
   {name} (a non-empty segment), {name:int} (digits), {name:float} (digits, '.', digits),
   {name:path} (the rest of the path, last only). Literal segments win over parameters, then int,
   float, str and path are tried in that order, backtracking when a deeper segment does not match.
   The path is matched percent-decoded, as Starlette does (so "%2F" is a slash and separates segments), and
   wf_req_path is that decoded path: a middleware guarding "/admin" sees "/%61dmin" as the router will (the
   raw target stays in wf_req_target). No match: 404 {"detail":"Not Found"}. The path matches but not the
   method: 405 {"detail":"Method Not Allowed"} with Allow listing every method of the path. HEAD is served
   by the GET route. If only the other form of a trailing slash matches, 307 to it, with an absolute
   Location built from Host and the query kept (with wf_config.trusted_hosts, only a trusted Host gets this
   far). wf_group_new(app, "/api") gives a group whose routes share the prefix (FastAPI's APIRouter).
   wf_static serves a directory as FastAPI's StaticFiles, never outside it.

   ON RESPONSES
   ============
   A handler sets a status, headers and a body. Bodies are copied (WF_BODY_COPY), borrowed (the memory
   outlives the response: string literals, static tables; WF_BODY_BORROW) or owned (the server frees
   it with WF_FREE once written; WF_BODY_OWN). Borrowed and owned bodies are handed to writev as they
   are, never copied. wf_res_stream installs a producer that is called each time the connection's
   output falls below 64 KiB, so a slow reader slows the producer down; its chunks go out with
   chunked transfer coding (HTTP/1.1) or unframed followed by a close (HTTP/1.0). 204, 304 and
   HEAD responses never carry a body. Content-Length, Transfer-Encoding and Connection are the
   server's to write (wf_res_close asks for a close). Helpers: wf_reply_json (one line for a small
   object), wf_reply_html, wf_redirect (307), wf_set_cookie (Starlette's attribute order),
   wf_reply_file (type from the extension, ETag/Last-Modified, 304, one-range 206/416, sendfile).

   ON PARAMETERS AND VALIDATION
   ============================
   FastAPI declares parameters in the handler's signature; here the handler asks for them, with a spec in
   FastAPI's words: wf_param_int(req, WF_IN_QUERY, "limit", "default=100,ge=1,le=1000"). Sources are the path,
   the query string ('+' is a space, %XX is decoded, the last repeated value wins; wf_query_all gives them
   all), headers, cookies and urlencoded form fields. Path, query and form text is decoded as Python's unquote
   does it: valid UTF-8 always, each ill-formed sequence one U+FFFD, a raw byte of a form body its Latin-1
   character. Conversions follow pydantic v1: ints take "+3", "-5", "1_000", any Unicode decimal digits and
   spaces (as Python's int() does), not "3.0", and must fit in 64 bits (Python's are unbounded: the one
   deviation); floats are finite (nan and inf are 422, since they could never be written back as JSON);
   booleans take 1/0, on/off, t/f, true/false, y/n, yes/no in any case. A failing getter records one entry
   {"loc","msg","type"[,"ctx"]} and returns zero; the handler may check wf_invalid(req) and return; either
   way, after it returns the request is answered 422 with every entry, in the order the getters ran. So a
   handler cannot reply 200 with a value that failed validation. JSON bodies (wf_body_json,
   wf_body_str/int/float/bool) follow FastAPI's rules for content types, missing bodies and malformed JSON
   (loc ["body", offset], Python's message and context); a body that is not UTF-8 is a 400 "There was an error
   parsing the body", a UTF-8 BOM is skipped, a null body is a missing one, and a non-object body goes through
   Python's dict() as pydantic's does. tests/diff compares all this with FastAPI 0.92 itself, request for
   request, and lists what differs on purpose.

   ON JSON
   =======
   The writer (wf_jw_*, wf_json_pack, wf_reply_json) escapes strings, replaces bytes that are not UTF-8 with
   U+FFFD, writes doubles as the shortest text that reads back exactly, as Python's repr does (10.0, 0.1,
   1e+16; Schubfach, integer arithmetic only, about 70 ns a double), and refuses NaN and infinities. The
   reader (wf_json_parse) is strict RFC 8259: one value, UTF-8 checked, \u escapes of lone surrogates
   refused, nesting limited (128 by default; 900 for request bodies, about where Python's json gives up),
   numbers finite; lookups return the last of duplicate keys, as Python's json does. A document takes one
   allocation, sized by a first pass: 8 bytes per value (a key counts as one) and the text it owns, at most
   4 bytes per input byte.
   Numbers are read and written with a '.' whatever locale the program set with setlocale (JSON,
   parameters, spec bounds); case-insensitive comparisons are ASCII.

   ON ERRORS AND MIDDLEWARE
   ========================
   wf_raise(req, 404, "Item not found") ends the request from the handler or anything it calls,
   like FastAPI's HTTPException: the response becomes {"detail": ...} (wf_raise_json for any JSON
   detail and extra headers such as WWW-Authenticate) and control unwinds with longjmp to the
   dispatcher. This was chosen over return codes so that deep helpers and dependencies can fail in
   one line; the price is that memory from malloc between the handler and the raise is not
   freed, so handlers use wf_req_alloc (the request's arena). wf_fail logs an internal failure and
   answers 500 without leaking its message. wf_on_error(app, status, fn) replaces the body of any
   error, the framework's own (404, 405, 422) included. Middleware (wf_use) runs around routing,
   first added outermost; it calls wf_next() and sees every response, errors included; it may
   answer without calling it. wf_set_state/get carry per-request values between them.

   ON MEMORY: HOW LONG VIEWS LIVE
   ==============================
   A wf_str from the request (wf_req_path, headers, the body, parameters) is a view into the
   request's bytes: valid while its middleware, dependencies and handler run, not in a stream
   producer, a cleanup or a task (the connection's buffer moves on). Keep one longer with
   wf_req_strdup (the request's arena: until its cleanups have run) or wf_str_dup (the heap).
   Memory from wf_req_alloc and a wf_body_json document (every value in it, numbers' text
   included: a document owns what its values point to) last until the request's cleanups have
   run. Sizes computed from what the network sent are checked (an overflow is an allocation
   failure, never a short buffer).

   ON DEPENDENCIES (SCOPES) AND BACKGROUND TASKS
   ============================================
       WF_DEPENDENCY(Database *, get_db) {           // resolved at most once per request
           Settings *s = WF_DEPENDS(req, get_settings);
           Database *db = db_open(s->db_url);
           wf_defer(req, db_close, db);              // the code after `yield`
           return db;
       }
   A dependency is a function of the request returning a pointer; WF_DEPENDS gives every user in the
   request the same value (wf_depends_fresh a new one). A dependency met again while it is being
   computed is a cycle: 500, and the log names the chain. Failing is wf_raise, as in handlers (the
   unwinding shape was chosen over early returns so that a failure three dependencies deep is one
   line); the cleanups registered so far still run. Cleanups run in reverse order once the
   response has been written (after a stream's last chunk), or when the request fails, the client
   goes away or the server stops: exactly once. WF_DEPENDENCY_APP values are built once for the
   app (the first request builds, the others wait) and cleaned when the server stops or the test
   client is freed. wf_group_depends runs dependencies before every handler of a group, before the
   handler validates its own parameters (so DELETE /users/abc without a token is 401, not 422).
   wf_override swaps a dependency for tests. wf_add_task queues work for after the response on the
   worker pool (wf_config.workers); a request's tasks run in order; a failing task is logged with
   its name; at shutdown queued tasks get shutdown_grace_ms and the rest are logged and freed. A
   request that raises or fails validation runs none of its tasks (FastAPI's tasks belong to the
   response the handler returns); a handler that returns runs them, whatever status it replied.
   Cleanups run on the loop thread as soon as the response is out, tasks later on the pool: a task
   must own what it uses (its arg and free_arg), not borrow a dependency's value. A handler that
   holds its loop thread longer than slow_handler_ms (100) is logged with its route.

   The order for one request, streams included:
     1. group dependencies, then the handler (its own dependencies and parameters);
     2. the response is written: all of it, for a stream its last chunk (the producer returned 0)
        and the terminating chunk, flushed to the socket;
     3. the cleanups, newest first, on the loop thread;
     4. the tasks, in the order added, one after another on one worker (the tasks of different
        requests may run side by side).
   A client that goes away skips step 2, not 3 or 4 (Starlette too runs a response's background
   tasks after a disconnect; wf_defer_outcome tells a cleanup). A stream's producer runs on the loop thread
   between chunks and must not block; a slow source belongs in a task or a blocking route.

   Blocking routes (wf_route_opts.blocking) are FastAPI's plain `def` endpoints: their middleware,
   dependencies and handler run on a worker, so a handler may sleep or wait on a database driver
   while the loop serves everyone else. The loop copies the request off the connection, reads
   nothing more from it until the response is back (pipelined requests wait, in order), sends the
   response and runs the cleanups (keep them short: they are on the loop thread). Middleware runs
   where the request runs, so with blocking routes it runs on several threads even when threads is
   1: its state must be thread-safe. A blocking handler cannot stream by itself (wf_res_write is
   refused there); it sets a producer with wf_res_stream, which then runs on the loop. A client that
   leaves (a reset the loop sees) while its request waits for a worker is never run; once running,
   the handler is not stopped, and its cleanups run when it returns. A client that only half-closes
   (a FIN: `shutdown(SHUT_WR)` after its request, as HTTP/1.0 tools do) may still read, so its request
   runs and is answered. At shutdown, a blocking request no worker has started when the grace period
   ends is answered 503 (and logged); one running keeps its worker to the end, but its connection
   closes without an answer. Tasks and blocking requests
   share the pool, blocking requests taken first (a client waits for them), and one bound,
   wf_config.max_jobs (default 10000) queued or running: past it a blocking route answers 503 with
   Retry-After: 1 and wf_add_task returns WF_EFULL, so a burst of slow tasks costs bounded memory.
   A task counts from wf_add_task until it has run. The test client runs blocking routes and tasks
   inline, without the bound. Shutdown gives requests and tasks one grace period, from wf_stop.

   ON WEBSOCKETS
   =============
       static void on_message(wf_ws *ws, int opcode, const char *data, size_t len) {
           wf_ws_send_text(ws, data, len);                        // echo (text messages)
       }
       static const wf_ws_opts echo = {.on_message = on_message};
       static void ws(wf_req *req, wf_res *res) { wf_ws_accept(req); }
       ...  wf_websocket(app, "/ws", ws, &echo);
   A WebSocket route is a handler for the handshake request, which runs like any request (middleware,
   group dependencies, parameters, wf_raise), and callbacks for what follows. A handshake is a GET with
   Upgrade: websocket and Connection: upgrade (token lists, any case; without both it is plain HTTP).
   It needs one 16-byte base64 Sec-WebSocket-Key and one Sec-WebSocket-Version, 13: another version is
   426 with Sec-WebSocket-Version, anything else wrong 400, and so are HTTP/1.0 and a body (all checked
   before routing, as uvicorn checks the handshake before the app sees it). A path
   with no WebSocket route is 403 (Starlette's answer) and a plain GET on a WebSocket route 404. The
   handler accepts with wf_ws_accept; returning without it, or a failed parameter, is 403; wf_raise is
   its status; wf_ws_deny(req, 1008, ...) answers 101 and closes with the code (the tour's /ws-auth).
   Subprotocols: the route lists them, the first the client offers that is listed is chosen.
   permessage-deflate is not offered back (messages go uncompressed).
   Frames follow RFC 6455 strictly (wf_ws_parse): client frames must be masked, RSV bits, reserved
   opcodes, non-minimal lengths, long or fragmented control frames and continuation errors close the
   connection with 1002, bad UTF-8 in a text message with 1007 at the first bad byte (fragments
   included), a message past max_message (16 MiB) with 1009 as soon as a frame head announces it.
   A whole frame is unmasked in place and handed over without a copy; fragments are joined. Pings are
   answered with the same payload, pongs are ignored, data after a close is ignored. A close is
   answered with the peer's code, and then the server closes TCP first. wf_ws_close starts the
   closing handshake (5 s for the answer), shutdown sends 1001 to every connection within the grace
   period, idle_timeout_ms (60 s) closes a silent peer with 1001, ping_interval_ms (off) pings it.
   on_close runs once per connection with the code (see wf_ws_opts); the cleanups (wf_defer) of the
   handshake request run after it, when the socket closes (at shutdown too), as the code after a
   dependency's `yield` runs when FastAPI's WebSocket endpoint returns.
   Sending: wf_ws_send_text/_binary copy the message. On the connection's loop thread the frame goes
   into its output at once; from any other thread it is handed to that loop (the messages of one
   thread arrive in order). A handle is valid until its on_close returns; wf_ws_retain keeps it past
   that for another thread, whose sends then return WF_ESTOPPED, never touch freed memory. A peer that
   does not read is bounded by max_queue (16 MiB of unsent frames): past it, it is dropped.
   Rooms (wf_room) are FastAPI's ConnectionManager built in: join, leave (automatic at close), count,
   and broadcast from any thread. A broadcast encodes the frame once into one shared buffer, hands
   each loop thread one list of its members, and every member's output refers to the same bytes; a
   slow member hits its own max_queue and never holds up the others. Memory per idle WebSocket: the
   connection (as HTTP's) plus about 400 bytes of state; nothing is buffered between messages.
   Testing: wf_test_ws_connect(client, "/ws", headers, &status) opens one through the test client.

   ON CRYPTO AND TOKENS
   ====================
   SHA-1 (for the WebSocket handshake), SHA-256 (with the x86 SHA extensions when the CPU has them,
   detected once at run time; `make bench` compares it with OpenSSL's),
   HMAC-SHA256, base64/base64url with strict decoding, wf_ct_equal, wf_random (getrandom, else
   /dev/urandom, else an error). JWTs are HS256 only: wf_jwt_decode refuses every other "alg",
   compares the signature in constant time, requires integer exp/nbf/iat and checks them with the
   leeway, bounds the token (8 KiB), and returns one error per failure. Passwords: passlib's
   $pbkdf2-sha256$ with 600,000 rounds by default (OWASP), Django's pbkdf2_sha256$ for reading,
   bcrypt $2b$ (reading $2a$ and $2y$ alike) with the first 72 bytes of the password, as passlib
   and OpenBSD use; wf_password_needs_rehash tells hashes below the policy. examples/tokens.c is a
   command-line tool over all of it.

   ON TESTING
   ==========
       #define WEBFW_IMPLEMENTATION
       #include "webfw.h"
       WF_TEST(adds) { WF_ASSERT_EQ_INT(1 + 1, 2); }
       WF_TEST_MAIN()
   wf_test_client_new(app, NULL) gives a client whose requests (wf_test_get, wf_test_request with a
   method, path, query, headers and a raw, JSON or form body) run through the real parser, router,
   handlers and serializer, over an AF_UNIX socket pair driven in the calling thread: deterministic,
   no network, no threads. For real-socket tests, wf_start() with .port = WF_PORT_ANY serves on an
   ephemeral loopback port in background threads and returns the port.
   Each test runs in its own forked process group with a timeout (default 10 s, --timeout=MS); a crash
   or a timeout fails that test, names the signal, and the run goes on. Flags: --filter=SUBSTRING (or
   a leading/trailing '*' glob), --list, --no-fork (run in-process, for gdb), -j N (parallel). The last
   line is "N passed, N failed" (", N skipped" when tests called WF_SKIP); the exit status is 0 only if
   nothing failed. Checks print file:line, the expression and both values; ASSERT stops the test,
   EXPECT lets it go on. The registry of tests is the one mutable global of the library.

   ERRORS AND LOGGING
   ==================
   Functions return int: >= 0 is success (often a count), < 0 a wf_err code; wf_strerror(code) says
   what it means. There is no "last error" global. Server messages (start-up failures, a handler that
   fails) go to wf_config.log (default: stderr). One access-log line per request goes to stderr unless
   wf_config.no_access_log or a wf_config.access_log callback is set:
       2026-11-28T16:20:00.123Z 127.0.0.1:51234 "GET /json" 200 27 41us
   (time, peer, method, path, status, response bytes, microseconds from the first byte to the response).

   THREADS
   =======
   Handlers run on the loop thread that owns the connection; they must not block. wf_stop may be called
   from any thread and from a signal handler; wf_run_on_loop, the WebSocket sends and closes, and the
   room calls from any thread; nothing else is thread-safe unless its comment says so.
   Each wf_app serves at most one wf_run/wf_start at a time.
*/
/* The implementation needs POSIX and Linux extensions (accept4, eventfd); this only takes effect when
   webfw.h is the first header of the implementation file (or build with -D_GNU_SOURCE). */
#if defined(WEBFW_IMPLEMENTATION) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE
#endif
#ifndef WEBFW_H_INCLUDED
#define WEBFW_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <pthread.h>

#if defined(WEBFW_STATIC) && (defined(__GNUC__) || defined(__clang__))
#define WF_API static __attribute__((unused))   /* a static build stays free of unused warnings */
#elif defined(WEBFW_STATIC)
#define WF_API static
#else
#define WF_API extern
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================
 * >>config  Configuration, portability, error codes
 * ====================================================================== */

#define WF_VERSION "0.1.0"

/* Error codes: one X-macro, so codes and messages cannot drift apart. */
#define WF__ERRORS(X)                                                      \
    X(WF_OK,          0, "success")                                        \
    X(WF_EPARTIAL,   -1, "incomplete input: more bytes are needed")        \
    X(WF_EPARSE,     -2, "malformed input")                                \
    X(WF_ETOOBIG,    -3, "input exceeds a configured limit")               \
    X(WF_ENOMEM,     -4, "out of memory")                                  \
    X(WF_ESYS,       -5, "a system call failed (see errno)")               \
    X(WF_EINVAL,     -6, "invalid argument")                               \
    X(WF_EUNSUPPORTED, -7, "not supported")                                \
    X(WF_EADDR,      -8, "cannot resolve or bind the listen address")      \
    X(WF_EBUSY,      -9, "the app is already running")                    \
    X(WF_ETOKEN,    -10, "malformed token")                                \
    X(WF_EALG,      -11, "token algorithm not allowed")                    \
    X(WF_ESIGNATURE, -12, "bad token signature")                           \
    X(WF_EEXPIRED,  -13, "token expired")                                  \
    X(WF_ENOTYET,   -14, "token not yet valid")                            \
    X(WF_EMISSING,  -15, "a required claim is missing")                    \
    X(WF_EAUDIENCE, -16, "token audience not accepted")                    \
    X(WF_EISSUER,   -17, "token issuer not accepted")                      \
    X(WF_EFULL,     -18, "the worker queue is full; try again later")      \
    X(WF_EADDRINUSE, -19, "another process listens on the address")     \
    X(WF_ESTOPPED,  -20, "the server has stopped")

typedef enum wf_err {
#define WF__ERR_ENUM(name, val, msg) name = val,
    WF__ERRORS(WF__ERR_ENUM)
#undef WF__ERR_ENUM
    WF__ERR_LAST
} wf_err;

/* The message of a wf_err code; a static string, never NULL. */
WF_API const char *wf_strerror(int code);

/* How much a log message matters. */
typedef enum wf_log_level { WF_LOG_ERROR, WF_LOG_WARNING, WF_LOG_INFO } wf_log_level;
/* Where the server's messages go (wf_config.log): msg is one line without a newline. */
typedef void (*wf_log_fn)(void *user, wf_log_level level, const char *msg);

/* ======================================================================
 * >>basics  String views, growable buffers, the per-request arena
 * ====================================================================== */

/* A non-owning view of bytes; not NUL-terminated. ptr is NULL for "absent". */
typedef struct wf_str {
    const char *ptr;
    size_t len;
} wf_str;

/* A view of the NUL-terminated string s (NULL gives the absent view). */
WF_API wf_str wf_str_c(const char *s);
/* True if a holds exactly the bytes of the C string b. */
WF_API bool wf_str_eq(wf_str a, const char *b);
/* True if a equals b ignoring ASCII case. */
WF_API bool wf_str_ieq(wf_str a, const char *b);
/* A NUL-terminated copy of s on the heap (free it with free(), or WF_FREE if you define WF_MALLOC);
   NULL without memory.
   wf_req_strdup copies into the request's arena instead. */
WF_API char *wf_str_dup(wf_str s);

/* A growable byte buffer; zero-initialise it, free with wf_buf_free(). Every function that appends
   keeps a NUL after the last byte (not counted in len), so once anything was appended ptr is a C
   string too: wf_jwt_encode(&tok, claims.ptr, ...) after wf_json_pack(&claims, ...) is safe. */
typedef struct wf_buf {
    char *ptr;
    size_t len, cap;
} wf_buf;

/* Make room for `extra` more bytes (and the NUL after them). Returns 0 or WF_ENOMEM; ptr may move. */
WF_API int wf_buf_reserve(wf_buf *b, size_t extra);
/* Append n bytes. Returns 0 or WF_ENOMEM. */
WF_API int wf_buf_append(wf_buf *b, const void *p, size_t n);
/* Append printf-formatted text (not NUL-counted in len). Returns 0 or WF_ENOMEM. */
WF_API int wf_buf_printf(wf_buf *b, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* The bytes as a C string: a NUL is kept after them, not counted in len. NULL without memory. */
WF_API const char *wf_buf_cstr(wf_buf *b);
/* Release the memory and reset to empty. */
WF_API void wf_buf_free(wf_buf *b);
/* True if s[0..n) is well-formed UTF-8 (RFC 3629). */
WF_API bool wf_utf8_valid(const char *s, size_t n);
/* Percent-decode in[0..n) into out (which may be in itself); with plus_space, '+' becomes ' ' (query
   strings). A '%' not followed by two hex digits is kept as it is, as Python's unquote does.
   Returns the decoded length (never more than n). */
WF_API size_t wf_percent_decode(char *out, const char *in, size_t n, bool plus_space);

/* ======================================================================
 * >>crypto  SHA-1, SHA-256, HMAC-SHA256, base64, constant-time compare, random bytes, passwords
 * ====================================================================== */

/* Streaming SHA-256 (FIPS 180-4): init, update any number of times, final. */
typedef struct wf_sha256_ctx {
    uint32_t h[8];
    uint64_t len;               /* bytes so far */
    uint8_t buf[64];
    size_t n;                   /* bytes waiting in buf */
} wf_sha256_ctx;

WF_API void wf_sha256_init(wf_sha256_ctx *c);
WF_API void wf_sha256_update(wf_sha256_ctx *c, const void *p, size_t n);
WF_API void wf_sha256_final(wf_sha256_ctx *c, uint8_t out[32]);
/* One-shot SHA-256 of p[0..n). */
WF_API void wf_sha256(const void *p, size_t n, uint8_t out[32]);

/* Streaming SHA-1 (FIPS 180-4), for the WebSocket handshake; not for new security uses. */
typedef struct wf_sha1_ctx {
    uint32_t h[5];
    uint64_t len;
    uint8_t buf[64];
    size_t n;
} wf_sha1_ctx;

WF_API void wf_sha1_init(wf_sha1_ctx *c);
WF_API void wf_sha1_update(wf_sha1_ctx *c, const void *p, size_t n);
WF_API void wf_sha1_final(wf_sha1_ctx *c, uint8_t out[20]);
WF_API void wf_sha1(const void *p, size_t n, uint8_t out[20]);

/* HMAC-SHA256 (RFC 2104) of msg under key. */
WF_API void wf_hmac_sha256(const void *key, size_t klen, const void *msg, size_t n, uint8_t out[32]);

/* Base64 (RFC 4648): standard alphabet with padding, or base64url without padding (url).
   wf_base64_encode writes wf_base64_len(n, url) bytes plus a NUL to out and returns the length. */
WF_API size_t wf_base64_len(size_t n, bool url);
WF_API size_t wf_base64_encode(char *out, const void *in, size_t n, bool url);
/* Strict decoding into out (room for n * 3 / 4 bytes): characters outside the alphabet, padding
   that is missing (standard), present (url) or misplaced, and non-zero trailing bits are all
   refused. Returns the decoded length or WF_EPARSE. */
WF_API int wf_base64_decode(void *out, const char *in, size_t n, bool url);

/* Compare n bytes in time that does not depend on where they differ. */
WF_API bool wf_ct_equal(const void *a, const void *b, size_t n);
/* n random bytes from the kernel (getrandom, else /dev/urandom). Returns 0 or WF_ESYS: never a
   weaker source. */
WF_API int wf_random(void *out, size_t n);

/* PBKDF2-HMAC-SHA256 (RFC 8018): iters rounds of key derivation into out[0..outlen). */
WF_API void wf_pbkdf2_sha256(const void *pw, size_t pn, const void *salt, size_t sn, uint32_t iters,
                             uint8_t *out, size_t outlen);

/* Password hashing schemes. */
typedef enum wf_pw_scheme {
    WF_PW_PBKDF2_SHA256,        /* passlib's $pbkdf2-sha256$rounds$salt$hash (the default) */
    WF_PW_BCRYPT                /* $2b$cost$... (verifies $2a$ and $2y$ too) */
} wf_pw_scheme;

/* The policy for new hashes; zero-initialise. */
typedef struct wf_pw_opts {
    wf_pw_scheme scheme;        /* default PBKDF2-SHA256 */
    uint32_t rounds;            /* PBKDF2 iterations (default 600,000, OWASP; at most 100,000,000, which
                                   wf_password_verify also accepts) or bcrypt cost (default 12, 4-31) */
} wf_pw_opts;

/* Hash password[0..n) with a fresh random salt into out (NUL-terminated; 128 bytes are enough).
   bcrypt uses the first 72 bytes of a longer password, as passlib and OpenBSD do. Returns the
   length, or WF_EINVAL (bad options, out too small), WF_ESYS (no randomness).
   It is slow on purpose: with the defaults, about 0.1 s of CPU (PBKDF2 at 600,000 rounds: 95 ms on
   an idle core of the test machine, 0.17-0.24 s on a busy one; bcrypt cost 12: 0.3-0.4 s), and so
   is wf_password_verify. A
   loop thread doing it holds every connection of that loop: routes that hash or verify passwords
   (login, sign-up) belong on the worker pool, wf_route_opts.blocking = true. */
WF_API int wf_password_hash(char *out, size_t cap, const char *password, size_t n, const wf_pw_opts *opts);
/* Check password against a stored hash: passlib's $pbkdf2-sha256$, Django's pbkdf2_sha256$, or
   bcrypt's $2a$/$2b$/$2y$. Returns 1 if it matches, 0 if not, WF_EINVAL for a malformed hash.
   The comparison takes constant time. */
WF_API int wf_password_verify(const char *hash, const char *password, size_t n);
/* True if hash is below the policy of opts (another scheme, fewer rounds) or malformed. */
WF_API bool wf_password_needs_rehash(const char *hash, const wf_pw_opts *opts);


/* ======================================================================
 * >>json  JSON writer and reader
 * ====================================================================== */

/* A JSON writer appending to a wf_buf: it places commas and colons, escapes strings and refuses
   NaN and infinities. Zero-initialise, set out. Errors are sticky: check err once at the end. */
typedef struct wf_jw {
    wf_buf *out;
    int err;                    /* the first error: WF_EINVAL (misuse, NaN), WF_ENOMEM; 0 if none */
    uint32_t depth;             /* open objects and arrays */
    /* private: per depth (up to 128, the reader's limit), whether the level is an object and
       whether it already has a member */
    uint64_t wf__obj[2], wf__more[2];
    bool wf__key;               /* a key was written, its value is due */
    bool wf__top;               /* the top-level value has begun */
} wf_jw;

/* Open an object / an array; close the innermost one. */
WF_API void wf_jw_obj(wf_jw *w);
WF_API void wf_jw_arr(wf_jw *w);
WF_API void wf_jw_end(wf_jw *w);
/* The key of the next member of an object (keyn: of n bytes). */
WF_API void wf_jw_key(wf_jw *w, const char *key);
WF_API void wf_jw_keyn(wf_jw *w, const char *key, size_t n);
/* Values. A NULL string writes null. Strings are escaped; invalid UTF-8 becomes U+FFFD. */
WF_API void wf_jw_str(wf_jw *w, const char *s);
WF_API void wf_jw_strn(wf_jw *w, const char *s, size_t n);
WF_API void wf_jw_int(wf_jw *w, long long v);
WF_API void wf_jw_uint(wf_jw *w, unsigned long long v);
/* The shortest text that reads back as v, as Python's repr writes it (10.0, 0.1, 1e+16);
   NaN and infinities are refused with WF_EINVAL. */
WF_API void wf_jw_num(wf_jw *w, double v);
WF_API void wf_jw_bool(wf_jw *w, bool v);
WF_API void wf_jw_null(wf_jw *w);
/* A value given as JSON text, copied verbatim: it must be valid JSON (it is not checked). */
WF_API void wf_jw_raw(wf_jw *w, const char *json, size_t n);
/* Write v as the shortest round-trip text to out[32]; returns its length, or WF_EINVAL for NaN
   and infinities. */
WF_API int wf_json_double(char out[32], double v);

/* Append the JSON that fmt describes, with the values that follow, to b. In fmt: { } [ ] open and
   close; s a const char * (NULL is null; inside an object the key), S a wf_str, i int, I long long,
   u unsigned, f double, b bool (an int), n null, j a const char * of raw JSON. Spaces, ':' and ','
   may be added for readability. Returns 0 or a wf_err (nothing is kept on error).
   Example: wf_json_pack(&b, "{s:s, s:[i,i]}", "name", "x", "ids", 1, 2)
   No compiler checks a custom format against its arguments: WF_KV below is the type-checked way.
   Unless NDEBUG is defined (or WF_JSON_CHECK is 0), a malformed format (an unknown letter, a
   bracket left open or closed twice, a key that is not s, a key without its value) and arguments
   that cannot be what the format says (a small integer given for s or j, a wf_str whose length
   is impossible) are reported on stderr with the format and the position, then abort. */
WF_API int wf_json_pack(wf_buf *b, const char *fmt, ...);


/* ---- the reader ---- */

/* A strict RFC 8259 reader: the whole text is one value, UTF-8 is checked (a \u escape of a lone
   surrogate is refused), depth is limited, numbers follow the grammar and must be finite. Objects
   keep every member in order; lookups return the last of duplicate keys, as Python's json does. */
typedef enum wf_json_type {
    WF_JSON_NONE,               /* absent: a missing key, an index past the end */
    WF_JSON_NULL, WF_JSON_BOOL, WF_JSON_NUMBER, WF_JSON_STRING, WF_JSON_ARRAY, WF_JSON_OBJECT
} wf_json_type;

typedef struct wf_jval wf_jval;

/* A parsed document; its values live as long as it does. Free with wf_json_free(). */
typedef struct wf_json_doc {
    const wf_jval *root;
    size_t err_offset;          /* after a failure: where, in bytes */
    const char *err;            /* after a failure: what, in the words of Python's json module */
    /* private */
    void *wf__mem;
} wf_json_doc;

/* Parse text[0..len) with at most max_depth nested arrays and objects (0: 128). Returns 0, or
   WF_EPARSE (doc->err and err_offset say why and where), WF_ETOOBIG past max_depth, WF_ENOMEM. */
WF_API int wf_json_parse(const char *text, size_t len, int max_depth, wf_json_doc *doc);
WF_API void wf_json_free(wf_json_doc *doc);
/* The type of v (WF_JSON_NONE for NULL). */
WF_API wf_json_type wf_json_typeof(const wf_jval *v);
/* The member `key` of an object (the last one of duplicates), the i-th element of an array, or the
   value at a dotted path ("items.0.name"); NULL when absent. */
WF_API const wf_jval *wf_json_get(const wf_jval *obj, const char *key);
WF_API const wf_jval *wf_json_at(const wf_jval *arr, size_t i);
WF_API const wf_jval *wf_json_path(const wf_jval *v, const char *path);
/* Members of an object or elements of an array. */
WF_API size_t wf_json_len(const wf_jval *v);
/* Iterate: the first member/element, the one after v (NULL at the end); an object member's key. */
WF_API const wf_jval *wf_json_first(const wf_jval *container);
WF_API const wf_jval *wf_json_next(const wf_jval *v);
WF_API wf_str wf_json_key(const wf_jval *member);
/* Typed getters: false (out untouched) when v has another type. An integer is a number written
   without fraction or exponent that fits in 64 bits. Strings are unescaped UTF-8. */
WF_API bool wf_json_str(const wf_jval *v, wf_str *out);
WF_API bool wf_json_num(const wf_jval *v, double *out);
WF_API bool wf_json_int(const wf_jval *v, long long *out);
WF_API bool wf_json_bool(const wf_jval *v, bool *out);
/* Write a parsed value (and everything in it) with the writer: integers stay exact (past 64 bits
   as written), other numbers as Python's repr writes their double. */
WF_API void wf_jw_value(wf_jw *w, const wf_jval *v);

/* One member of an object, typed by the compiler: WF_KV("id", id) picks the JSON type from id's C
   type (integers, bool, float and double, char * and const char * as strings, NULL as null, wf_str,
   const wf_jval *); another type does not compile. C's true and false are ints: a bool variable
   writes true/false, the constants need (bool)true. WF_KV_NULL("k") and WF_KV_RAW("k", json_text)
   write null and raw JSON. Used by wf_jw_object, wf_reply_obj and wf_json_obj (C11; in C++ call
   wf_kv_int & co. and wf_reply_kvs / wf_jw_kvs with an array). */
typedef struct wf_kv {
    const char *key;
    enum { WF_KV_INT, WF_KV_UINT, WF_KV_NUM, WF_KV_BOOL, WF_KV_STR, WF_KV_VIEW, WF_KV_JVAL,
           WF_KV_RAWJSON, WF_KV_NULLV } type;
    union {
        long long i;
        unsigned long long u;
        double f;
        bool b;
        const char *s;
        wf_str v;
        const wf_jval *j;
    } as;
} wf_kv;
WF_API wf_kv wf_kv_int(const char *key, long long v);
WF_API wf_kv wf_kv_uint(const char *key, unsigned long long v);
WF_API wf_kv wf_kv_num(const char *key, double v);
WF_API wf_kv wf_kv_bool(const char *key, bool v);
WF_API wf_kv wf_kv_str(const char *key, const char *v);
WF_API wf_kv wf_kv_view(const char *key, wf_str v);
WF_API wf_kv wf_kv_jval(const char *key, const wf_jval *v);
WF_API wf_kv wf_kv_raw(const char *key, const char *json);
#define WF_KV_NULL(key) wf_kv_raw((key), NULL)
#define WF_KV_RAW(key, json) wf_kv_raw((key), (json))
/* Write the object {kv[0], ..., kv[n-1]} (each member's value as its type says). */
WF_API void wf_jw_kvs(wf_jw *w, const wf_kv *kv, size_t n);
/* Append the object to b. Returns 0 or a wf_err (nothing kept on error). */
WF_API int wf_json_kvs(wf_buf *b, const wf_kv *kv, size_t n);
#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L && !defined(__cplusplus)
#define WF_KV(key, v)                                                                                    \
    _Generic((v), bool: wf_kv_bool, char: wf_kv_int, signed char: wf_kv_int, short: wf_kv_int,          \
             int: wf_kv_int, long: wf_kv_int, long long: wf_kv_int, unsigned char: wf_kv_uint,            \
             unsigned short: wf_kv_uint, unsigned: wf_kv_uint, unsigned long: wf_kv_uint,                 \
             unsigned long long: wf_kv_uint, float: wf_kv_num, double: wf_kv_num, char *: wf_kv_str,     \
             const char *: wf_kv_str, void *: wf__kv_null, wf_str: wf_kv_view, wf_jval *: wf_kv_jval,    \
             const wf_jval *: wf_kv_jval)((key), (v))
/* wf_jw_object(w, WF_KV("id", 1), WF_KV("name", name)): one object, written with the writer. */
#define wf_jw_object(w, ...) \
    wf_jw_kvs((w), (const wf_kv[]){__VA_ARGS__}, sizeof((const wf_kv[]){__VA_ARGS__}) / sizeof(wf_kv))
/* wf_json_obj(&buf, WF_KV(...), ...): one object appended to a wf_buf. */
#define wf_json_obj(b, ...) \
    wf_json_kvs((b), (const wf_kv[]){__VA_ARGS__}, sizeof((const wf_kv[]){__VA_ARGS__}) / sizeof(wf_kv))
#endif
/* (WF_KV(k, NULL): NULL is a void * in C's headers, written as null.) */
WF_API wf_kv wf__kv_null(const char *key, const void *v);

/* ======================================================================
 * >>http  HTTP/1.1: request parser, chunked decoder, response head and chunk writers
 * ====================================================================== */

/* A byte range [off, off+len) of the caller's buffer. */
typedef struct wf_span {
    uint32_t off, len;
} wf_span;

/* One header field line: name and value (value without surrounding whitespace). */
typedef struct wf_http_field {
    wf_span name, value;
} wf_http_field;

/* The state and result of parsing one request head. Set it up with wf_http_head_init(); the
   results are valid once wf_http_parse_head() returned > 0, and `status` once it failed. */
typedef struct wf_http_head {
    /* limits (in): zero takes the default */
    uint32_t max_line;          /* request line bytes, default 8192 (-> 414) */
    uint32_t max_head;          /* whole head bytes, default 16384 (-> 431) */
    /* results (out) */
    wf_span method, target;     /* as sent */
    wf_span path, query;        /* path of the target (len 0 means "/"), query without '?' */
    wf_span host;               /* Host field, or the authority of an absolute-form target */
    int minor;                  /* 0 for HTTP/1.0, 1 for HTTP/1.1 */
    int status;                 /* after an error: the status to answer (400, 414, 431, 501, 505) */
    const char *error;          /* after an error: a short reason */
    int64_t content_length;     /* -1 when absent */
    bool chunked;               /* Transfer-Encoding: chunked */
    bool keep_alive;            /* the connection may persist after this request */
    bool expect_continue;       /* Expect: 100-continue */
    bool upgrade;               /* Connection: upgrade */
    wf_http_field *fields;      /* caller's array ... */
    uint32_t max_fields;        /* ... of this capacity (-> 431 past it) */
    uint32_t num_fields;        /* fields parsed */
    /* private */
    uint32_t wf__pos, wf__scan, wf__line, wf__state, wf__hosts, wf__te, wf__flags, wf__vs;
} wf_http_head;

/* Prepare h to parse a new request; fields[max_fields] receives the header fields. */
WF_API void wf_http_head_init(wf_http_head *h, wf_http_field *fields, uint32_t max_fields);
/* Parse the request head at buf[0..len); call again with the same bytes plus more when it returns
   WF_EPARTIAL. Returns the head's length in bytes when complete, else WF_EPARTIAL, or WF_EPARSE /
   WF_ETOOBIG with h->status and h->error set. */
WF_API int wf_http_parse_head(wf_http_head *h, const char *buf, size_t len);
/* The bytes of span s in buf. */
WF_API wf_str wf_span_str(const char *buf, wf_span s);

/* The state of an in-place decoder of a chunked body. Zero-initialise, then set the limits. */
typedef struct wf_http_chunked {
    uint64_t max_body;          /* decoded bytes allowed, default unlimited (-> WF_ETOOBIG) */
    uint32_t max_trailer;       /* trailer section bytes, default 8192 (-> WF_ETOOBIG) */
    uint32_t max_trailer_fields; /* trailer fields, default 100 (-> WF_ETOOBIG) */
    uint64_t total;             /* decoded bytes so far (out) */
    bool trailer_too_big;       /* out: the WF_ETOOBIG came from the trailer section (-> 431) */
    bool no_trailers;           /* any trailer field is WF_ETOOBIG (the limits above are used up) */
    /* private */
    uint64_t wf__left;
    uint32_t wf__state, wf__n, wf__line;
} wf_http_chunked;

/* Decode chunked data from src[0..len) into dst (dst <= src is allowed: in place). Sets *used to the
   input bytes consumed and *out to the bytes written. Returns 1 once the last chunk and the trailers
   are consumed, 0 if more input is needed, WF_EPARSE on a malformed body, WF_ETOOBIG past a limit. */
WF_API int wf_http_dechunk(wf_http_chunked *c, char *dst, const char *src, size_t len, size_t *used,
                           size_t *out);

/* The reason phrase of a status code ("Not Found"), "Unknown" for codes it does not know. */
WF_API const char *wf_http_reason(int status);
/* Write the IMF-fixdate of unix time t ("Sat, 28 Nov 2026 16:20:00 GMT") to out[30]. Its year has
   four digits: t is clamped to years 0000 to 9999. */
WF_API void wf_http_date(char out[30], int64_t t);

/* The head of a response as the server frames it; zero-initialise, then set what applies. */
typedef struct wf_http_response {
    int status;                 /* 100-599 (others are written as 500) */
    const char *date;           /* the Date value (see wf_http_date), NULL for none */
    int64_t content_length;     /* a Content-Length field when >= 0 (set -1 for none) */
    bool chunked;               /* Transfer-Encoding: chunked (then no Content-Length) */
    bool close;                 /* Connection: close */
    bool keep_alive;            /* Connection: keep-alive (an HTTP/1.0 client's connection kept) */
    wf_str fields;              /* more header lines, each "Name: value\r\n" */
} wf_http_response;

/* Append the status line and the header section of r, through the blank line, to out. Returns 0
   or WF_ENOMEM (out is then as it was). */
WF_API int wf_http_write_head(wf_buf *out, const wf_http_response *r);
/* Append p[0..n) as one chunk of chunked transfer coding; nothing when n is 0 (an empty chunk would
   end the body). Returns 0 or WF_ENOMEM. */
WF_API int wf_http_write_chunk(wf_buf *out, const void *p, size_t n);
/* Append the last chunk, with no trailer fields. Returns 0 or WF_ENOMEM. */
WF_API int wf_http_write_last_chunk(wf_buf *out);

/* ======================================================================
 * >>router  Routes: patterns, groups, options
 * ====================================================================== */

typedef struct wf_app wf_app;
typedef struct wf_req wf_req;
typedef struct wf_res wf_res;
typedef struct wf_group wf_group;
typedef struct wf_ws_opts wf_ws_opts;   /* a WebSocket route's (see >>websocket) */

/* A handler: reads the request, writes the response (it may also raise, see >>errors). One that
   returns without touching the response is answered 200 with JSON null, as FastAPI answers a
   handler returning None, and logged once per route (a forgotten reply, most likely). */
typedef void (*wf_handler)(wf_req *req, wf_res *res);

/* How a route runs; zero-initialise (a NULL pointer means all defaults). */
typedef struct wf_route_opts {
    /* run middleware, dependencies and handler on the worker pool, not on a loop thread (FastAPI's
       plain `def` endpoint): for handlers that block on a database, a disk or a sleep. The response
       goes back to the loop, and the request's cleanups run there; 503 when the pool is full */
    bool blocking;
    /* handed to the handler as wf_route_data(req): one handler serving several routes (the
       caller keeps it alive as long as the app) */
    void *data;
} wf_route_opts;

/* Route `method` requests whose path matches the group's prefix followed by `pattern` to h; GET
   routes also answer HEAD. Pattern segments are literal text or parameters: {name} (any non-empty
   segment), {name:int} (digits), {name:float} (digits[.digits]), {name:path} (the rest of the path,
   last only). Literal segments win over parameters. The path is matched percent-decoded. A path
   that matches no route but does with its trailing slash added or removed is redirected there
   (307). A group's pattern "" routes its prefix itself (FastAPI's @router.get("")). opts may be
   NULL. Returns 0, or WF_EINVAL for a bad pattern, a method not in upper case or a route already
   defined, or WF_ENOMEM; a failure is logged at once (to stderr) with the reason, and the app then
   refuses to start: wf_run, wf_start and wf_test_client_new log every failure and fail. */
WF_API int wf_group_route(wf_group *g, const char *method, const char *pattern, wf_handler h,
                          const wf_route_opts *opts);
/* Shorthands for wf_group_route with GET, POST, PUT, PATCH, DELETE, OPTIONS and no options. */
WF_API int wf_group_get(wf_group *g, const char *pattern, wf_handler h);
WF_API int wf_group_post(wf_group *g, const char *pattern, wf_handler h);
WF_API int wf_group_put(wf_group *g, const char *pattern, wf_handler h);
WF_API int wf_group_patch(wf_group *g, const char *pattern, wf_handler h);
WF_API int wf_group_delete(wf_group *g, const char *pattern, wf_handler h);
WF_API int wf_group_options(wf_group *g, const char *pattern, wf_handler h);
/* A group nested in parent: its prefix is parent's followed by prefix ("/v1"; a trailing slash is
   dropped). It lives as long as the app. Returns NULL for a bad prefix or without memory (logged,
   and the app will not start, as for a failed route). */
WF_API wf_group *wf_group_sub(wf_group *parent, const char *prefix);

/* ======================================================================
 * >>app  The app and the request: routes on the app, request accessors
 * ====================================================================== */

/* wf_group_route on the app's own group (see there). */
WF_API int wf_route(wf_app *app, const char *method, const char *pattern, wf_handler h,
                    const wf_route_opts *opts);
/* Shorthands for wf_route with GET, POST, PUT, PATCH, DELETE, OPTIONS and no options. */
WF_API int wf_get(wf_app *app, const char *pattern, wf_handler h);
WF_API int wf_post(wf_app *app, const char *pattern, wf_handler h);
WF_API int wf_put(wf_app *app, const char *pattern, wf_handler h);
WF_API int wf_patch(wf_app *app, const char *pattern, wf_handler h);
WF_API int wf_delete(wf_app *app, const char *pattern, wf_handler h);
WF_API int wf_options(wf_app *app, const char *pattern, wf_handler h);
/* A group of routes under a path prefix ("/api/v1"), like FastAPI's APIRouter included with a
   prefix; dependencies attach to groups (wf_group_depends). It lives as long as the app. Returns
   NULL for a bad prefix or without memory. */
WF_API wf_group *wf_group_new(wf_app *app, const char *prefix);
/* The group of the app's own routes (wf_get & co): its dependencies run before every handler. */
WF_API wf_group *wf_app_group(wf_app *app);

/* The request method, target (as sent: percent-encoded, with the query), path and query string
   (without '?'). The path is the one the router matches: percent-decoded ("/%61dmin" is "/admin",
   so a middleware guarding a prefix sees what the router will route), never empty; its bytes may
   be anything a %XX can write. Views into the request, valid until the handler returns. */
WF_API wf_str wf_req_method(const wf_req *req);
WF_API wf_str wf_req_target(const wf_req *req);
WF_API wf_str wf_req_path(const wf_req *req);
WF_API wf_str wf_req_query(const wf_req *req);
/* The pattern of the route the path and method match ("/items/{id}"), or NULL (404, 405, 307). */
WF_API const char *wf_req_route(const wf_req *req);
/* The data of the route being handled (wf_route_opts.data), NULL if none. */
WF_API void *wf_route_data(const wf_req *req);
/* The n-th (from 0) value of header `name` (any case); ptr is NULL when there is none. */
WF_API wf_str wf_req_header_nth(const wf_req *req, const char *name, int n);
/* The first value of header `name`; ptr is NULL when absent. */
WF_API wf_str wf_req_header(const wf_req *req, const char *name);
/* Number of header fields, and the i-th of them (false past the end). */
WF_API int wf_req_header_count(const wf_req *req);
WF_API bool wf_req_header_at(const wf_req *req, int i, wf_str *name, wf_str *value);
/* The whole request body, de-chunked (empty, not absent, when there was none). */
WF_API wf_str wf_req_body(const wf_req *req);
/* 0 for HTTP/1.0, 1 for HTTP/1.1. */
WF_API int wf_req_http_minor(const wf_req *req);
/* The peer's address as "ip:port". */
WF_API const char *wf_req_peer(const wf_req *req);
/* wf_config.user of the running server. */
WF_API void *wf_req_user(const wf_req *req);
/* n bytes from the request's arena, freed with the request; NULL without memory. */
WF_API void *wf_req_alloc(wf_req *req, size_t n);
/* A NUL-terminated copy of s in the request's arena (a view kept past the request, a string copied
   out from under a lock); NULL without memory. */
WF_API char *wf_req_strdup(wf_req *req, wf_str s);

/* The value of path parameter `name`, percent-decoded; ptr is NULL if the route has none. */
WF_API wf_str wf_path_param(const wf_req *req, const char *name);
/* Per-request state shared by middleware, dependencies and handlers: set and get by key. */
WF_API int wf_set_state(wf_req *req, const char *key, void *value);
WF_API void *wf_get_state(const wf_req *req, const char *key);

/* ======================================================================
 * >>response  Replies, headers, cookies, files, streams
 * ====================================================================== */

/* How a response body's memory is handled. */
typedef enum wf_body_mode {
    WF_BODY_COPY,               /* copied now */
    WF_BODY_BORROW,             /* used as is; must stay valid until written (literals, static data) */
    WF_BODY_OWN                 /* used as is and freed with WF_FREE once written (or on error) */
} wf_body_mode;

/* A stream producer: called when the client has room for more; write chunks with wf_res_write().
   Return 1 to be called again, 0 when finished, negative to abort (the connection is closed). */
typedef int (*wf_stream_fn)(wf_res *res, void *user);

/* Set the status code (default 200); outside 200-599 it becomes 500. A 205 goes out without
   content, whatever body was set (RFC 9110 15.3.6). */
WF_API void wf_res_set_status(wf_res *res, int status);
/* Add a header line (copied); a field a response has once (Content-Type, Location, ETag,
   Last-Modified, Content-Range, Retry-After) replaces its earlier value, so a later wf_reply_* (or a
   Content-Type set after one) leaves a single one. Returns 0, or WF_EINVAL for a bad name, a value
   with CR/LF/NUL, or Content-Length, Transfer-Encoding, Connection and Date, which the server writes
   itself (see wf_res_close to close the connection). */
WF_API int wf_res_add_header(wf_res *res, const char *name, const char *value);
/* Set the body (a later one replaces it). Returns 0 or WF_ENOMEM (an owned body is freed on failure). */
WF_API int wf_res_set_body(wf_res *res, const void *body, size_t len, wf_body_mode mode);
/* Close the connection after this response. */
WF_API void wf_res_close(wf_res *res);
/* Reply with status, Content-Type and a copied body in one call. A later reply replaces an earlier
   one's status, Content-Type, Location and body (a forgotten `return` after an error reply sends the
   second reply alone). Returns 0 or a wf_err. */
WF_API int wf_reply(wf_res *res, int status, const char *content_type, const void *body, size_t len);
/* Reply with a text/plain; charset=utf-8 body. */
WF_API int wf_reply_text(wf_res *res, int status, const char *text);
/* Reply with application/json built by wf_json_pack(fmt, ...). Returns 0 or a wf_err (then the
   reply is a 500). Example: wf_reply_json(res, 200, "{s:s}", "message", "Hello World") */
WF_API int wf_reply_json(wf_res *res, int status, const char *fmt, ...);
/* Reply with status and the object the WF_KV members make, type-checked by the compiler:
       wf_reply_obj(res, 200, WF_KV("id", id), WF_KV("name", name), WF_KV("price", 9.5)) */
WF_API int wf_reply_kvs(wf_res *res, int status, const wf_kv *kv, size_t n);
#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L && !defined(__cplusplus)
#define wf_reply_obj(res, status, ...)                                                                \
    wf_reply_kvs((res), (status), (const wf_kv[]){__VA_ARGS__},                                       \
                 sizeof((const wf_kv[]){__VA_ARGS__}) / sizeof(wf_kv))
#endif
/* A JSON writer whose output is the response's body: the reply is status with application/json,
   and the handler writes objects and lists straight into it (no buffer to free):
       wf_jw *w = wf_res_json(res, 200);
       wf_jw_arr(w);
       for (int i = 0; i < n; i++)
           wf_jw_object(w, WF_KV("id", notes[i].id), WF_KV("title", notes[i].title));
       wf_jw_end(w);
   The body is closed when the handler returns (or a middleware after wf_next): a value left
   unfinished or an error of the writer (NaN, no memory) makes it a 500, logged. A later reply
   replaces it. The writer is valid until then. */
WF_API wf_jw *wf_res_json(wf_res *res, int status);
/* Reply with {"detail": "<detail>"} as application/json (detail is JSON-escaped). */
WF_API int wf_reply_detail(wf_res *res, int status, const char *detail);
/* Reply with text/html; charset=utf-8. */
WF_API int wf_reply_html(wf_res *res, int status, const char *html);
/* Redirect to location with status (0: 307, as Starlette's RedirectResponse). */
WF_API int wf_redirect(wf_res *res, int status, const char *location);

/* Attributes of a cookie; zero-initialise. */
typedef struct wf_cookie {
    long long max_age;          /* seconds; 0: a session cookie (no Max-Age); < 0: delete now */
    const char *path;           /* default "/" */
    const char *domain;         /* default none */
    const char *samesite;       /* "lax" (default), "strict", "none" */
    bool secure, httponly;
} wf_cookie;

/* Add a Set-Cookie header (attributes in Starlette's order). opts may be NULL. Returns 0, or
   WF_EINVAL for a name, value or attribute a cookie cannot carry (RFC 6265: a path starts with '/'
   and has no ';' or control, a domain is letters, digits, '-' and '.', SameSite lax, strict or
   none), so no attribute can add another. */
WF_API int wf_set_cookie(wf_res *res, const char *name, const char *value, const wf_cookie *opts);

/* Reply with the file at path, as Starlette's FileResponse and nginx do: Content-Type from the
   extension (content_type overrides it), Last-Modified and ETag, Accept-Ranges; 304 when
   If-None-Match or If-Modified-Since says the client has it; a single "bytes=" Range gives 206 with
   Content-Range (416 when it cannot be satisfied). The bytes go out with sendfile(). A missing or
   unreadable file, or anything but a regular file (a FIFO, a device, a directory), is 404. The
   path is trusted as it is: for one made from the request use wf_reply_file_under. */
WF_API int wf_reply_file(wf_req *req, wf_res *res, const char *path, const char *content_type);

/* wf_reply_file for rel beneath the directory root, never outside it: rel may not start with '/'
   or have a ".." component, and no symlink is followed on the way (openat2 with RESOLVE_BENEATH |
   RESOLVE_NO_SYMLINKS where the kernel has it, else a walk with O_NOFOLLOW at each component). A
   path that breaks these, or names nothing regular, is 404. wf_reply_file itself trusts its path:
   never build one from a request without this. */
WF_API int wf_reply_file_under(wf_req *req, wf_res *res, const char *root, wf_str rel,
                               const char *content_type);

/* How wf_static serves; zero-initialise. */
typedef struct wf_static_opts {
    bool html;                  /* a directory (and the prefix itself) serves its index.html; named
                                   without its slash it is redirected (307) to it first, as Starlette's
                                   StaticFiles does, so the page's relative links resolve inside it */
} wf_static_opts;
/* Serve the files beneath directory dir at prefix of group g (wf_app_group(app) for the app's
   own), as FastAPI's StaticFiles: GET and HEAD prefix/<path> answer wf_reply_file_under(dir,
   path), with ETag, Last-Modified, 304 and ranges; anything else under it is 404 (405 for other
   methods). Returns 0 or WF_EINVAL / WF_ENOMEM (logged, and the app will not start). */
WF_API int wf_static(wf_group *g, const char *prefix, const char *dir, const wf_static_opts *opts);

/* Stream the body from fn (see wf_stream_fn); free_user(user) runs when the stream ends, however
   it ends (complete, the client gone, a write timeout, shutdown): before the request's cleanups
   and its tasks, so a producer's state may still use a dependency's resource. A body
   set as well is sent first, as a chunk. A producer with nothing to send yet returns 1 without
   writing: it is called again about 10 ms later. A stream set again replaces the first, whose
   free_user runs then. Returns 0, or WF_EINVAL without fn or after wf_reply_file (a file cannot be
   the first chunk; reply with one or the other). */
WF_API int wf_res_stream(wf_res *res, wf_stream_fn fn, void *user, void (*free_user)(void *));
/* From a stream producer (only): send n bytes as one chunk. Returns 0, WF_EINVAL outside a
   producer, or WF_ENOMEM. */
WF_API int wf_res_write(wf_res *res, const void *p, size_t n);
/* The status the response has so far (200 if none was set). */
WF_API int wf_res_get_status(const wf_res *res);


/* ======================================================================
 * >>errors  Errors: wf_raise (FastAPI's HTTPException), error handlers
 * ====================================================================== */

#if defined(__GNUC__) || defined(__clang__)
#define WF__NORETURN __attribute__((noreturn))
#else
#define WF__NORETURN
#endif

/* End the request now, from the handler or from anything it calls (FastAPI's HTTPException):
   the response becomes status (300-599; others are 500) with {"detail": "<detail>"}, and control
   unwinds (longjmp) to the dispatcher; middleware still sees the response. Nothing on the way is
   undone by itself: memory comes from wf_req_alloc, and a lock (or any resource) held across code
   that may raise is taken with wf_lock (or registered with wf_guard), which the unwinding releases.
   Only valid on the request this thread is handling: called from main, a task, a cleanup, a stream
   producer or another thread, it says so on stderr and aborts (as WF_DEPENDS, the wf_param and
   wf_body getters and wf_guard do; wf_add_task and wf_defer return WF_EINVAL instead). */
WF_API void wf_raise(wf_req *req, int status, const char *detail) WF__NORETURN;
/* Like wf_raise, with detail given as JSON text (an object, a list...) and extra header lines
   ("WWW-Authenticate: Bearer"), NULL-terminated; headers may be NULL. */
WF_API void wf_raise_json(wf_req *req, int status, const char *detail_json, const char *const *headers)
    WF__NORETURN;
/* For a failure that is not the client's: logs msg with the route and answers 500
   {"detail":"Internal Server Error"} (the message is not sent). Never returns. */
WF_API void wf_fail(wf_req *req, const char *msg) WF__NORETURN;

/* Run release(arg) when the handler (or the middleware) that took it unwinds: when it raises
   (wf_raise, wf_fail, a raising dependency or getter), or when it returns still holding the
   guard, whichever comes first; newest first, before the error's response is made (an error
   handler may take the same lock). One taken in a dependency is the handler's: held until the
   handler raises or returns. Returns 0, WF_EINVAL without release, or WF_ENOMEM (release is not
   registered: release by hand). */
WF_API int wf_guard(wf_req *req, void (*release)(void *arg), void *arg);
/* Release the newest guard of arg now (release(arg) runs) and forget it; nothing if there is none. */
WF_API void wf_release(wf_req *req, void *arg);
/* pthread_mutex_lock(mu), guarded: a raise before wf_unlock(req, mu) unlocks it. For example
       wf_lock(req, &db->mu);
       Note *n = find(db, id);
       if (!n) wf_raise(req, 404, "Note not found");          (unlocks db->mu on its way out)
       char *title = wf_req_strdup(req, n->title);
       wf_unlock(req, &db->mu); */
WF_API void wf_lock(wf_req *req, pthread_mutex_t *mu);
/* pthread_mutex_unlock(mu) and forget its guard. */
WF_API void wf_unlock(wf_req *req, pthread_mutex_t *mu);

/* Answers an error instead of the default {"detail": ...}: called with the status and the detail as
   JSON text, for raised errors and the framework's own (404, 405, 422, 500). */
typedef void (*wf_error_fn)(wf_req *req, wf_res *res, int status, const char *detail_json);
/* Use fn for errors with this status (0: for every status without its own). Returns 0 or a wf_err. */
WF_API int wf_on_error(wf_app *app, int status, wf_error_fn fn);

/* ======================================================================
 * >>params  Parameters: sources, validated getters, JSON bodies, 422s
 * ====================================================================== */

/* Where a parameter comes from: the first element of its "loc" in a 422 ("body" for a form field). */
typedef enum wf_in { WF_IN_PATH, WF_IN_QUERY, WF_IN_HEADER, WF_IN_COOKIE, WF_IN_FORM } wf_in;

/* The raw text of a parameter, decoded (query: '+' is a space, the last repeated value wins;
   headers: the first, its bytes read as Latin-1 as Starlette does, and the name's underscores read
   as hyphens as FastAPI's Header() does, so "user_agent" reads User-Agent (wf_req_header reads a
   name as given); cookies: from the Cookie header, likewise; form: a field of an
   application/x-www-form-urlencoded body, FastAPI's Form(), decoded as the query is; absent with
   any other body). ptr is NULL when absent. */
WF_API wf_str wf_param(wf_req *req, wf_in in, const char *name);
/* Every value of a repeated query parameter, in order, into out[max]; returns how many there are. */
WF_API int wf_query_all(wf_req *req, const char *name, wf_str *out, int max);

/* Validated parameters, as FastAPI declares them: spec is a comma-separated list of
   "required", "default=<text>" (to the next comma), "ge=", "gt=", "le=", "lt=" (numbers as JSON
   writes them), "min_length=", "max_length=" (strings, in characters: digits only) and, for
   headers, "convert_underscores=false" (read the name as given); spaces may follow a comma. A spec
   is the program's own text, read strictly: a rule it does not know, a bound that is not a number,
   a rule the getter cannot use (a length on a number, a default of another type, a default on a
   path parameter) is logged once, with the route, the parameter and the position, and the request
   is answered 500. Specs are parsed once and cached by address (and checked against their text, so
   one built at run time works too). A value that is absent (and not required) takes the default,
   or is zero / NULL without one. A value that fails is recorded as a 422 entry in FastAPI's words
   (loc, msg, type) and the getter returns zero; after the handler returns, the request is
   answered 422 with every entry, in the order the getters were called, whatever the handler
   replied. wf_invalid() says whether a getter failed so far.
   Example: long long limit = wf_param_int(req, WF_IN_QUERY, "limit", "default=100,ge=1,le=1000"); */
WF_API long long wf_param_int(wf_req *req, wf_in in, const char *name, const char *spec);
WF_API double wf_param_float(wf_req *req, wf_in in, const char *name, const char *spec);
/* true/false as pydantic reads them: 1 on t true y yes / 0 off f false n no, any case. */
WF_API bool wf_param_bool(wf_req *req, wf_in in, const char *name, const char *spec);
WF_API wf_str wf_param_str(wf_req *req, wf_in in, const char *name, const char *spec);
/* The request body as JSON, by FastAPI's rules: parsed when Content-Type is application/json or
   application/<anything>+json (parameters allowed) or absent. An empty body records 422 ["body"]
   "field required"; malformed JSON records 422 ["body", <offset>] value_error.jsondecode; another
   content type records ["body"] "value is not a valid dict". Returns the root, or NULL after
   recording. The document lives until the request ends. */
WF_API const wf_jval *wf_body_json(wf_req *req);
/* After wf_body_json: the body was to be read as JSON and does not parse. FastAPI answers that
   422 before it runs any dependency (an empty body or another content type fails later, after
   them): a handler that reads the body before its dependencies returns early on this. */
WF_API bool wf_body_malformed(const wf_req *req);
/* Fields of a JSON object body, validated and coerced as pydantic v1 does (numbers given as
   strings, "1"/"true" for booleans...), with the specs of wf_param_*; errors at ["body", name].
   wf_body_str's view is the document's (or the arena's): it lives until the request's cleanups
   have run. */
WF_API wf_str wf_body_str(wf_req *req, const char *name, const char *spec);
WF_API long long wf_body_int(wf_req *req, const char *name, const char *spec);
WF_API double wf_body_float(wf_req *req, const char *name, const char *spec);
WF_API bool wf_body_bool(wf_req *req, const char *name, const char *spec);
/* True once a parameter failed validation in this request. */
WF_API bool wf_invalid(const wf_req *req);
/* Record a validation failure of your own: loc is "query.name" style ("body.price"), msg and type
   as pydantic writes them ("field required", "value_error.missing"). */
WF_API void wf_add_invalid(wf_req *req, const char *loc, const char *msg, const char *type);

/* The i-th (from 0) cookie of the Cookie header, parsed as Starlette does (names and values
   stripped, surrounding quotes removed, bytes as sent); false past the end. */
WF_API bool wf_req_cookie_at(const wf_req *req, int i, wf_str *name, wf_str *value);

/* ======================================================================
 * >>deps  Dependencies (FastAPI's Depends)
 * ====================================================================== */

/* A dependency computes a value (a pointer) for a request. Declare one with WF_DEPENDENCY and use
   it with WF_DEPENDS from handlers, middleware and other dependencies. */
typedef void *(*wf_dep_fn)(wf_req *req);
/* How long a dependency's value lives. */
typedef enum wf_dep_scope {
    WF_SCOPE_REQUEST,           /* one value per request (WF_DEPENDENCY, the default) */
    WF_SCOPE_APP                /* one value for the app (WF_DEPENDENCY_APP) */
} wf_dep_scope;

typedef struct wf_dep {
    const char *name;
    wf_dep_fn fn;
    wf_dep_scope scope;
} wf_dep;

/* Define dependency `name` yielding `type` (a pointer type); the body follows, with `req` in scope:
       WF_DEPENDENCY(Database *, get_db) { ...; wf_defer(req, db_close, db); return db; }
   In other files, declare it with WF_DEPENDENCY_EXTERN(get_db). */
#define WF__DEPENDENCY(type, name, scope)                                                       \
    static type wf__dep_impl_##name(wf_req *req);                                               \
    static void *wf__dep_thunk_##name(wf_req *req) { return (void *)wf__dep_impl_##name(req); } \
    const wf_dep name = {#name, wf__dep_thunk_##name, scope};                                   \
    static type wf__dep_impl_##name(wf_req *req)
#define WF_DEPENDENCY(type, name) WF__DEPENDENCY(type, name, WF_SCOPE_REQUEST)
/* An app-scoped dependency (settings, pools): built once, by the first request that needs it (the
   others on any loop thread wait for it), shared by all requests after; its wf_defer cleanups run
   when the server stops (and when a test client is freed). It must not keep request memory. A
   build that raises is forgotten (the next request tries again): the cleanups it registered run
   at once, as a failure, and app-scoped dependencies it built first stay built. */
#define WF_DEPENDENCY_APP(type, name) WF__DEPENDENCY(type, name, WF_SCOPE_APP)
#define WF_DEPENDENCY_EXTERN(name) extern const wf_dep name
/* The value of dependency `name` for this request: computed on first use, then the same value for
   every user in the request (FastAPI's cache). */
#define WF_DEPENDS(req, name) wf_depends((req), &(name))

/* What WF_DEPENDS calls. A dependency met again while it is being computed is a cycle: the request
   fails with a 500 and the log names the chain ("a -> b -> a"). */
WF_API void *wf_depends(wf_req *req, const wf_dep *dep);
/* A new value, not cached and not taken from the cache (FastAPI's use_cache=False). */
WF_API void *wf_depends_fresh(wf_req *req, const wf_dep *dep);
/* Run fn(arg) when the request is over (the code after `yield`): after its response has been sent,
   or when it failed, or when the client went away, or at shutdown; in reverse order of
   registration, exactly once. Request views are gone by then; its arena is not. */
WF_API int wf_defer(wf_req *req, void (*fn)(void *arg), void *arg);
/* How a request ended, as a cleanup registered with wf_defer_outcome sees it. */
typedef struct wf_outcome {
    int status;                 /* the status answered (0 if no response was made) */
    bool failed;                /* it raised (wf_raise, wf_fail, a dependency's), failed validation
                                   (422) or answered 5xx: roll back */
    bool abandoned;             /* the response was not completely written to the connection: the
                                   client went away (a reset, or a close seen before the end), or
                                   the server stopped first. A response written whole to a client
                                   that then never reads it is not seen as abandoned */
} wf_outcome;

/* wf_defer for a cleanup that depends on how the request ended: a transaction commits when
   !o->failed && !o->abandoned, and rolls back otherwise (FastAPI's try: yield db; db.commit()
   except: db.rollback()). Run with the same rules as wf_defer, in the same order; in an
   app-scoped dependency, fn runs at shutdown with a zero outcome. */
WF_API int wf_defer_outcome(wf_req *req, void (*fn)(void *arg, const wf_outcome *o), void *arg);
/* Use replacement wherever dep is asked for (tests: app.dependency_overrides[dep] = ...). */
WF_API int wf_override(wf_app *app, const wf_dep *dep, const wf_dep *replacement);
/* Forget every override. */
WF_API void wf_override_clear(wf_app *app);
/* Run dep before every handler of group g and its sub-groups (the root group's: every route), in
   the order added, outer groups first; handlers get the cached values with WF_DEPENDS. */
WF_API int wf_group_depends(wf_group *g, const wf_dep *dep);

/* ======================================================================
 * >>tasks  Background tasks (FastAPI's BackgroundTasks)
 * ====================================================================== */

/* A background task: returns 0, or non-zero for a failure (logged with the task's name). */
typedef int (*wf_task_fn)(void *arg);

/* Run fn(arg) after this request's response has been completely written, on the worker pool
   (wf_config.workers threads), after the tasks added before it in this request; free_arg(arg)
   follows, whatever happened. As in FastAPI, a request that ends in a raise (wf_raise, wf_fail, a
   dependency's) or a validation failure runs none of its tasks (they are freed unrun); one whose
   handler returns runs them whatever status it replied. The test client runs them before
   wf_test_request returns. At shutdown, queued tasks run within shutdown_grace_ms; those it cannot
   start are logged by name and freed. Returns 0, WF_ENOMEM, or WF_EFULL when wf_config.max_jobs
   tasks and blocking requests are already waiting (the handler decides: answer 503, or do the work
   inline); on an error free_arg has been called. */
WF_API int wf_add_task(wf_req *req, const char *name, wf_task_fn fn, void *arg, void (*free_arg)(void *));

/* ======================================================================
 * >>websocket  WebSockets (RFC 6455): handshake, frames, messages
 * ====================================================================== */

/* Frame opcodes (RFC 6455 5.2). */
enum { WF_WS_CONT = 0, WF_WS_TEXT = 1, WF_WS_BINARY = 2, WF_WS_CLOSE = 8, WF_WS_PING = 9, WF_WS_PONG = 10 };

/* Close codes (RFC 6455 7.4.1). 1005 and 1006 are never sent: they stand for "no code" and "no close
   frame at all" where a code is reported. */
enum {
    WF_WS_NORMAL = 1000, WF_WS_GOING_AWAY = 1001, WF_WS_PROTOCOL_ERROR = 1002, WF_WS_UNSUPPORTED = 1003,
    WF_WS_NO_STATUS = 1005, WF_WS_ABNORMAL = 1006, WF_WS_INVALID_DATA = 1007, WF_WS_POLICY = 1008,
    WF_WS_TOO_BIG = 1009, WF_WS_INTERNAL_ERROR = 1011
};

/* What wf_ws_parse found: a whole message or control frame, a failure, or nothing yet. */
typedef struct wf_ws_event {
    int opcode;                 /* WF_WS_TEXT or WF_WS_BINARY (a whole message, fragments joined),
                                   WF_WS_PING, WF_WS_PONG, WF_WS_CLOSE; 0: nothing (more bytes needed,
                                   or the stream failed: see fail) */
    const char *data;           /* the payload, unmasked; a close frame's reason. Valid until the
                                   next call (it may point into the buffer given) */
    size_t len;
    int code;                   /* WF_WS_CLOSE: the peer's code, 1005 when it sent none */
    int fail;                   /* the peer broke the protocol: close with this code (1002, 1007,
                                   1009, or 1011 out of memory); the reader ignores what follows */
} wf_ws_event;

/* An incremental frame reader: zero it, set the options, feed it bytes in pieces of any size. It
   checks every rule of RFC 6455 5 (masking, RSV bits, opcodes, minimal lengths, control frames,
   fragmentation, UTF-8 of text failing at the first bad byte, close codes and reasons) and the
   message size. A frame that arrives whole is unmasked in place and given without a copy; the
   fragments of a message are joined in a buffer the reader owns (wf_ws_parser_free). */
typedef struct wf_ws_parser {
    uint64_t max_message;       /* longest message (fragments joined), default 16 MiB: then 1009 */
    bool client;                /* read a server's frames (unmasked); a server's reader requires masks */
    /* private */
    bool in_frame, fin, done, reset;
    uint8_t op, msg_op, nhead, moff, nctrl;
    uint8_t head[14], mask[4];
    uint32_t utf8;
    uint64_t left;
    wf_buf msg;
    char ctrl[125];
} wf_ws_parser;

/* Read what buf[0..len) holds up to the first event (ev is always filled): returns the bytes used.
   Call again with the rest while it returns less than len or ev->opcode is set. buf is unmasked in
   place. After a close frame or a failure every byte is used and ignored. */
WF_API size_t wf_ws_parse(wf_ws_parser *p, char *buf, size_t len, wf_ws_event *ev);
/* Release the reader's buffer (it may be reused after zeroing). */
WF_API void wf_ws_parser_free(wf_ws_parser *p);

/* The frame head for a payload of len bytes into hdr (2 to 14 bytes, returned). mask: 4 bytes for
   a client's frame (the payload must then be masked with them), NULL for a server's. */
WF_API size_t wf_ws_frame_head(uint8_t hdr[14], int opcode, bool fin, uint64_t len, const uint8_t *mask);
/* Append one whole frame to out: the head, then data (masked with mask when given). 0 or WF_ENOMEM. */
WF_API int wf_ws_frame(wf_buf *out, int opcode, bool fin, const void *data, size_t len, const uint8_t *mask);
/* Append a close frame: code and reason, cut to the 123 bytes a control frame has room for, at a
   character's start; no code (nor reason) for one that is never sent (0, 1005, 1006, 1015, outside
   1000-4999). 0 or WF_ENOMEM. */
WF_API int wf_ws_close_frame(wf_buf *out, int code, const char *reason, const uint8_t *mask);
/* May a peer send this close code (RFC 6455 7.4, IANA's registry)? 1000-1003, 1007-1014, 3000-4999. */
WF_API bool wf_ws_close_code_ok(int code);
/* Sec-WebSocket-Accept for a Sec-WebSocket-Key: 28 characters and a NUL into out. WF_EPARSE unless
   key[0..n) is the base64 of 16 bytes. */
WF_API int wf_ws_accept_key(const char *key, size_t n, char out[29]);

/* ---- WebSocket routes and connections ---- */

/* A WebSocket connection. Its callbacks run on the loop thread that owns it; the handle is valid
   from wf_ws_accept until its on_close returns, and longer while retained (wf_ws_retain). */
typedef struct wf_ws wf_ws;

/* What a WebSocket route does after the handshake; zero fields take the defaults. It must live as
   long as the app (a static struct, usually). */
struct wf_ws_opts {
    /* a whole message: WF_WS_TEXT (valid UTF-8) or WF_WS_BINARY; data is valid during the call */
    void (*on_message)(wf_ws *ws, int opcode, const char *data, size_t len);
    /* the connection has ended, once (also at shutdown): code is the peer's close code (1005 if its
       close frame had none), 1006 when it went without a close frame, or the code this side
       closed with when it ended the connection (1002/1007/1009 for a peer that broke the protocol,
       1008 for one that stopped reading, 1001 at shutdown or after idle_timeout_ms). */
    void (*on_close)(wf_ws *ws, int code, const char *reason, size_t len);
    const char *const *subprotocols;    /* what the route speaks, NULL-terminated: the first the
                                           client offers that is listed is chosen (none: none) */
    bool (*origin_ok)(wf_req *req, wf_str origin);  /* false refuses the handshake (403); NULL: any
                                                       Origin, as Starlette */
    uint64_t max_message;       /* longest message received, default 16 MiB: longer is closed 1009 */
    size_t max_queue;           /* bytes queued to a peer that does not read them, default 16 MiB:
                                   a frame sent while more wait drops the connection (on_close gets
                                   1008); a message of any size goes to a peer that reads */
    int ping_interval_ms;       /* send a ping after this long without traffic; default 0: none */
    int idle_timeout_ms;        /* close (1001) after this long without a frame from the peer,
                                   default 60000; a pong counts, so pings keep a live peer open */
    void *data;                 /* wf_route_data(req) in the handshake handler */
};

/* Route WebSocket handshakes to path pattern (as wf_route's patterns; a plain GET there is 404 and
   an upgrade to a path with no WebSocket route 403, as Starlette). The handler runs for the
   handshake request like any handler (middleware, group dependencies, parameters, wf_raise): it
   calls wf_ws_accept to accept; returning without it, or a failed parameter, refuses with 403, and
   a wf_raise refuses with the raised status. Returns 0 or a wf_err, as wf_route. */
WF_API int wf_websocket(wf_app *app, const char *pattern, wf_handler h, const wf_ws_opts *opts);
WF_API int wf_group_websocket(wf_group *g, const char *pattern, wf_handler h, const wf_ws_opts *opts);
/* In a WebSocket route's handler: accept the handshake (101, with the headers set on res). The
   subprotocol is chosen from the route's list. Returns the connection (it is open once the handler
   returns), or NULL outside a WebSocket handshake or without memory. */
WF_API wf_ws *wf_ws_accept(wf_req *req);
/* From a WebSocket handshake's handler or dependency: end it with a close code, as FastAPI's
   WebSocketException (the seed's token check: 1008). It unwinds like wf_raise; the handshake is
   answered 101 and the close frame follows at once, so the client sees the code (uvicorn would
   answer 403 when this comes before accept; a close code can only follow a 101). */
WF_API void wf_ws_deny(wf_req *req, int code, const char *reason) WF__NORETURN;

/* Send a text (valid UTF-8, else WF_EINVAL) or binary message; the bytes are copied. Any thread:
   from another than the connection's loop the frame is handed to that loop, and the messages one
   thread sends arrive in order. Returns 0, WF_ESTOPPED once the connection is closing or gone,
   WF_EFULL when the peer's queue passed max_queue (the connection is then dropped), WF_ENOMEM. */
WF_API int wf_ws_send_text(wf_ws *ws, const char *data, size_t len);
WF_API int wf_ws_send_binary(wf_ws *ws, const void *data, size_t len);
/* Start the closing handshake with code (1000, or 3000-4999 for an app's own) and a reason (cut to
   123 bytes); on_close follows once the peer answers, or after 5 s. Any thread. 0 or WF_ESTOPPED. */
WF_API int wf_ws_close(wf_ws *ws, int code, const char *reason);
/* Keep ws valid past its on_close (a thread that may still send to it); every retain needs one
   release. Any thread. Sending to a closed connection is refused, never a use-after-free. */
WF_API void wf_ws_retain(wf_ws *ws);
WF_API void wf_ws_release(wf_ws *ws);
/* Per-connection data: free_user (may be NULL) runs once the handle is released for good. Loop
   thread (the handshake handler, or the callbacks). */
WF_API void wf_ws_set_user(wf_ws *ws, void *user, void (*free_user)(void *user));
WF_API void *wf_ws_user(const wf_ws *ws);
/* The subprotocol chosen at the handshake, or NULL. */
WF_API const char *wf_ws_subprotocol(const wf_ws *ws);

/* Rooms: the connection manager FastAPI shows as an example, built in. A room is a set of
   connections; a broadcast encodes its frame once and queues the same bytes to every member, on
   every loop thread. A connection leaves its rooms when it closes. Every call is safe from any
   thread. */
typedef struct wf_room wf_room;
/* A new, empty room, or NULL without memory. */
WF_API wf_room *wf_room_new(void);
/* Let go of the room: its members leave it (they stay open). */
WF_API void wf_room_free(wf_room *room);
/* Add ws (once; joining twice is no-op). 0, WF_ESTOPPED if ws has closed, or WF_ENOMEM. */
WF_API int wf_room_join(wf_room *room, wf_ws *ws);
/* Remove ws, if it is a member. */
WF_API void wf_room_leave(wf_room *room, wf_ws *ws);
/* How many connections are in the room. */
WF_API int wf_room_count(wf_room *room);
/* Send a text (valid UTF-8, else WF_EINVAL) or binary message to every member: a member whose
   queue is past its max_queue is dropped, the others are not slowed. Returns how many members it
   went to, or WF_ENOMEM. */
WF_API int wf_room_broadcast_text(wf_room *room, const char *data, size_t len);
WF_API int wf_room_broadcast_binary(wf_room *room, const void *data, size_t len);


/* ======================================================================
 * >>security  JWT (HS256)
 * ====================================================================== */

/* What a decoded token must satisfy; zero-initialise. */
typedef struct wf_jwt_opts {
    long long leeway;           /* seconds of clock skew allowed for exp, nbf, iat (default 0; 0 to
                                   one year, else wf_jwt_decode returns WF_EINVAL) */
    const char *const *required;/* NULL-terminated names of claims that must be present */
    const char *audience;       /* required "aud" (a string, or in an array); NULL: no aud allowed */
    const char *issuer;         /* required "iss" */
    int64_t now;                /* unix time to check against (default: now) */
    size_t max_len;             /* longest token accepted, default 8192 bytes */
} wf_jwt_opts;

/* Sign claims_json (a JSON object) as an HS256 JWT with header {"alg":"HS256","typ":"JWT"},
   appended to out. Returns 0, WF_EINVAL if the claims are not a JSON object, or WF_ENOMEM. */
WF_API int wf_jwt_encode(wf_buf *out, const char *claims_json, const void *key, size_t klen);
/* Verify token and parse its claims into *claims (free with wf_json_free). Only alg "HS256" is
   accepted; the signature is compared in constant time; exp, nbf and iat must be integers and are
   checked with the leeway. Returns 0 or one error for each way it fails: WF_ETOKEN (malformed),
   WF_EALG, WF_ESIGNATURE, WF_EEXPIRED, WF_ENOTYET, WF_EMISSING, WF_EAUDIENCE, WF_EISSUER. */
WF_API int wf_jwt_decode(const char *token, size_t n, const void *key, size_t klen, const wf_jwt_opts *opts,
                         wf_json_doc *claims);

/* ======================================================================
 * >>server  The app, serving it: wf_run, wf_start, wf_stop, wf_wait; middleware
 * ====================================================================== */

/* A new empty app; free with wf_app_free() once no server runs it. Returns NULL without memory. */
WF_API wf_app *wf_app_new(void);
/* Release the app, its groups and routes (and its app-scoped dependency values). */
WF_API void wf_app_free(wf_app *app);

/* One access-log record, passed to wf_config.access_log. Views are valid during the call. */
typedef struct wf_access_entry {
    int64_t unix_ms;            /* wall-clock time of the response */
    const char *peer;           /* "ip:port" */
    wf_str method, path;
    int status;
    uint64_t bytes;             /* response bytes, head and body */
    int64_t micros;             /* first request byte to response queued */
} wf_access_entry;

typedef void (*wf_access_log_fn)(void *user, const wf_access_entry *e);
typedef void (*wf_access_log_fn)(void *user, const wf_access_entry *e);

/* Pass as wf_config.port to bind an ephemeral port; wf_start returns the port it got. */
#define WF_PORT_ANY (-1)

/* Server settings; zero-initialise and set what you need. */
typedef struct wf_config {
    const char *host;           /* listen address, default "127.0.0.1"; "::" or "0.0.0.0" for all */
    int port;                   /* default 8000; WF_PORT_ANY for an ephemeral port */
    int threads;                /* loop threads, default: the CPUs this process may use (its affinity
                                   mask, capped by a cgroup v2 cpu.max quota rounded up); wf_run
                                   logs the number and what decided it */
    int backlog;                /* listen backlog, default 1024 */
    int max_conns;              /* open connections, default 10000 (capped by RLIMIT_NOFILE) */
    uint32_t max_request_line;  /* default 8192 bytes (-> 414) */
    uint32_t max_header_bytes;  /* default 16384 bytes (-> 431) */
    uint32_t max_headers;       /* default 100 fields (-> 431) */
    uint64_t max_body;          /* default 1 MiB (-> 413) */
    int header_timeout_ms;      /* first byte to end of head, default 10000 (-> 408) */
    int body_timeout_ms;        /* end of head to end of body, default 30000 (-> 408) */
    int idle_timeout_ms;        /* keep-alive idle, default 30000 (close) */
    int write_timeout_ms;       /* no write progress, default 30000 (close) */
    int shutdown_grace_ms;      /* in-flight requests and queued tasks after wf_stop, default 5000 */
    int workers;                /* worker threads (background tasks, blocking routes), default 16 */
    int max_jobs;               /* tasks and blocking requests queued or running on the workers,
                                   default 10000; past it wf_add_task gives WF_EFULL and a blocking
                                   route answers 503 */
    int slow_handler_ms;        /* a handler holding its loop this long is logged, default 100 */
    const char *const *trusted_hosts; /* NULL-terminated host names the server answers for, as
                                   FastAPI's TrustedHostMiddleware: "example.com", "*.example.com"
                                   (any subdomain), "*" (any); a request whose Host (or absolute-form
                                   authority) is not one of them is 400 "Invalid host header", and
                                   redirects are then built only on trusted names. NULL: any */
    bool share_port;            /* listen beside other processes on the same port (SO_REUSEPORT: the
                                   kernel spreads connections; for zero-downtime restarts and a
                                   process per core). Without it, a port another process listens on
                                   is refused with WF_EADDRINUSE */
    bool no_signals;            /* wf_run leaves SIGINT/SIGTERM alone */
    bool no_access_log;         /* no access-log line per request */
    wf_access_log_fn access_log; /* default: one line to stderr */
    void *access_log_user;
    wf_log_fn log;              /* default: stderr */
    void *log_user;
    void *user;                 /* returned by wf_req_user() */
} wf_config;

/* Serve app until wf_stop() or SIGINT/SIGTERM. Returns 0 after a graceful stop, or a negative
   wf_err if it cannot start (the reason is logged). cfg may be NULL for all defaults. */
WF_API int wf_run(wf_app *app, const wf_config *cfg);
/* Start serving on background threads and return at once: the bound port (> 0) or a negative
   wf_err. Stop with wf_stop() and then wf_wait(). */
WF_API int wf_start(wf_app *app, const wf_config *cfg);
/* Ask the server running app to stop gracefully. Safe from any thread and from a signal handler,
   at any time while app exists: with no server running (or one wf_wait() is releasing) it does
   nothing. */
WF_API void wf_stop(wf_app *app);
/* Wait for a server started with wf_start() to stop, then release it. Returns 0, or WF_EINVAL if
   no server runs app. Call it from one thread. */
WF_API int wf_wait(wf_app *app);
/* Run fn(arg) soon on one of the running server's loop threads (they take turns). Safe from any
   thread at any time while app exists. Returns 0, and then fn runs exactly once (during shutdown,
   after the connections closed, at the latest); or WF_EINVAL if no server runs app, WF_ESTOPPED if
   its loops have ended, WF_ENOMEM: then fn never runs and arg is still the caller's. fn must not
   block. */
WF_API int wf_run_on_loop(wf_app *app, void (*fn)(void *arg), void *arg);


/* Middleware: runs around the router for every request, in the order added (the first added is
   the outermost). It calls wf_next() to run the rest of the chain and the handler; code before it
   acts on the request (and may answer without calling it: a short-circuit), code after it sees the
   response, errors included. user is the pointer given to wf_use(). */
typedef void (*wf_middleware_fn)(wf_req *req, wf_res *res, void *user);
/* Add a middleware. Returns 0 or a wf_err. */
WF_API int wf_use(wf_app *app, wf_middleware_fn fn, void *user);
/* From a middleware: run the rest of the chain, then return. */
WF_API void wf_next(wf_req *req, wf_res *res);

/* ======================================================================
 * >>testing  The forked test harness
 * ====================================================================== */
#ifndef WF_NO_TESTING

typedef void (*wf_test_fn)(void);

/* Register a test (done by WF_TEST through a constructor). */
WF_API void wf_test_register(const char *name, wf_test_fn fn, const char *file, int line);
/* Run the registered tests as the command line asks; returns the process exit status. */
WF_API int wf_test_main(int argc, char **argv);
/* Check helpers behind the WF_ASSERT/WF_EXPECT macros; they return whether the check held and, for a
   fatal check that failed, end the test. Call them through the macros. */
WF_API bool wf__check_int(const char *file, int line, const char *expr, long long a, long long b,
                          int op, const char *sa, const char *sb, bool fatal);
WF_API bool wf__check_str(const char *file, int line, const char *sa, const char *sb, const char *a,
                          size_t alen, const char *b, size_t blen, bool eq, bool fatal);
WF_API bool wf__check_true(const char *file, int line, const char *expr, bool v, bool want, bool fatal);
/* Print a message on the test's output (kept in order even with -j). */
WF_API void wf_test_log(const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
/* True once a check of the current test has failed. */
WF_API bool wf_test_failed(void);
/* Mark the current test skipped and end it. */
WF_API void wf_test_skip(const char *why);

/* The test client: requests go through the real parser, router, handlers and serializer, over an
   AF_UNIX socket pair driven in the calling thread (no network, no threads, deterministic). */
typedef struct wf_test_client wf_test_client;

/* A request. Zero fields take defaults; path may carry a query string. */
typedef struct wf_test_req {
    const char *method;         /* default "GET" */
    const char *path;           /* default "/"; "/items/?skip=1" */
    const char *query;          /* appended after '?' (already encoded) */
    const char *const *headers; /* NULL-terminated "Name: value" lines; Host defaults to testserver */
    const void *body;           /* raw body of body_len bytes */
    size_t body_len;
    const char *json;           /* a JSON text as the body, with Content-Type: application/json */
    const char *form;           /* "a=1&b=2" as the body, urlencoded */
    bool chunked;               /* send the body with chunked transfer coding */
    bool http10;                /* send HTTP/1.0 */
} wf_test_req;

/* A response: the status, the head as received, and the body (de-chunked, NUL-terminated). */
typedef struct wf_test_res {
    int status;
    char *head;
    char *body;
    size_t body_len;
    wf_json_doc *json;          /* private: the body parsed by wf_test_json */
} wf_test_res;

/* A client for app (cfg may be NULL: defaults, no access log). Free with wf_test_client_free(). */
WF_API wf_test_client *wf_test_client_new(wf_app *app, const wf_config *cfg);
WF_API void wf_test_client_free(wf_test_client *tc);
/* Send rq and read the whole response into res (free with wf_test_res_free). Returns 0, or a
   wf_err if no complete response came (res->status is then -1). */
WF_API int wf_test_request(wf_test_client *tc, const wf_test_req *rq, wf_test_res *res);
/* GET path. */
WF_API int wf_test_get(wf_test_client *tc, const char *path, wf_test_res *res);
/* The value of header `name` in res (the first; any case); ptr is NULL when absent. */
WF_API wf_str wf_test_header(const wf_test_res *res, const char *name);
/* The body parsed as JSON (NULL if it is not JSON); it lives until wf_test_res_free. */
WF_API const wf_jval *wf_test_json(wf_test_res *res);
WF_API void wf_test_res_free(wf_test_res *res);

/* A WebSocket through the test client (TestClient.websocket_connect): the same loop, parser,
   router and callbacks as a real connection, driven by these calls in the calling thread. */
typedef struct wf_test_ws wf_test_ws;
/* Open a WebSocket to path (headers: NULL-terminated "Name: value" lines, or NULL). Returns it, or
   NULL if the handshake was refused: *status (if not NULL) then holds the HTTP status (403, ...),
   else 101. Free it before its client. */
WF_API wf_test_ws *wf_test_ws_connect(wf_test_client *tc, const char *path, const char *const *headers,
                                      int *status);
/* Send a text (NUL-terminated) or binary message. 0, or a wf_err once the connection has closed. */
WF_API int wf_test_ws_send_text(wf_test_ws *w, const char *text);
WF_API int wf_test_ws_send_binary(wf_test_ws *w, const void *data, size_t len);
/* The next message within timeout_ms (0: 5000): returns WF_WS_TEXT or WF_WS_BINARY with *data and
   *len set (valid until the next call), 0 if the server closed (wf_test_ws_close_code says how),
   or WF_EPARTIAL if nothing came in time. Pings are answered on the way. */
WF_API int wf_test_ws_receive(wf_test_ws *w, const char **data, size_t *len, int timeout_ms);
/* The next message as a NUL-terminated string (text or binary), or NULL if the connection closed
   or nothing came within 5 s. Valid until the next call. */
WF_API const char *wf_test_ws_receive_text(wf_test_ws *w);
/* Close with code (and wait for the server's answer, at most 5 s). Returns the server's code. */
WF_API int wf_test_ws_close(wf_test_ws *w, int code, const char *reason);
/* The code of the server's close frame (1005: none in it), 1006 if it closed without one, 0 while
   open. Its reason, "" if none. */
WF_API int wf_test_ws_close_code(const wf_test_ws *w);
WF_API const char *wf_test_ws_close_reason(const wf_test_ws *w);
/* Leave (without a close frame if none was sent: the server sees the connection drop) and free. */
WF_API void wf_test_ws_free(wf_test_ws *w);

#define WF__OP_EQ 0
#define WF__OP_NE 1
#define WF__OP_LT 2
#define WF__OP_LE 3
#define WF__OP_GT 4
#define WF__OP_GE 5

/* Define and register a test. */
#define WF_TEST(name)                                                                        \
    static void wf__test_##name(void);                                                       \
    __attribute__((constructor)) static void wf__test_reg_##name(void) {                     \
        wf_test_register(#name, wf__test_##name, __FILE__, __LINE__);                        \
    }                                                                                        \
    static void wf__test_##name(void)

/* Provide main() running every registered test. */
#define WF_TEST_MAIN()                                                                       \
    int main(int argc, char **argv) { return wf_test_main(argc, argv); }

#define WF__CHK_INT(a, op, ops, b, fatal)                                                     \
    wf__check_int(__FILE__, __LINE__, #a " " ops " " #b, (long long)(a), (long long)(b), op, #a, \
                  #b, fatal)
#define WF_ASSERT_EQ_INT(a, b) do { WF__CHK_INT(a, WF__OP_EQ, "==", b, true); } while (0)
#define WF_ASSERT_NE_INT(a, b) do { WF__CHK_INT(a, WF__OP_NE, "!=", b, true); } while (0)
#define WF_ASSERT_LT_INT(a, b) do { WF__CHK_INT(a, WF__OP_LT, "<", b, true); } while (0)
#define WF_ASSERT_LE_INT(a, b) do { WF__CHK_INT(a, WF__OP_LE, "<=", b, true); } while (0)
#define WF_ASSERT_GT_INT(a, b) do { WF__CHK_INT(a, WF__OP_GT, ">", b, true); } while (0)
#define WF_ASSERT_GE_INT(a, b) do { WF__CHK_INT(a, WF__OP_GE, ">=", b, true); } while (0)
#define WF_EXPECT_EQ_INT(a, b) do { WF__CHK_INT(a, WF__OP_EQ, "==", b, false); } while (0)
#define WF_EXPECT_NE_INT(a, b) do { WF__CHK_INT(a, WF__OP_NE, "!=", b, false); } while (0)
#define WF_EXPECT_LT_INT(a, b) do { WF__CHK_INT(a, WF__OP_LT, "<", b, false); } while (0)
#define WF_EXPECT_LE_INT(a, b) do { WF__CHK_INT(a, WF__OP_LE, "<=", b, false); } while (0)
#define WF_EXPECT_GT_INT(a, b) do { WF__CHK_INT(a, WF__OP_GT, ">", b, false); } while (0)
#define WF_EXPECT_GE_INT(a, b) do { WF__CHK_INT(a, WF__OP_GE, ">=", b, false); } while (0)
#define WF_ASSERT_EQ_SIZE(a, b) WF_ASSERT_EQ_INT(a, b)
#define WF_EXPECT_EQ_SIZE(a, b) WF_EXPECT_EQ_INT(a, b)
/* C strings; NULL is shown as (null) and equals only NULL. */
#define WF__CHK_STR(a, b, eq, fatal)                                                          \
    wf__check_str(__FILE__, __LINE__, #a, #b, (a), (size_t)-1, (b), (size_t)-1, eq, fatal)
#define WF_ASSERT_EQ_STR(a, b) do { WF__CHK_STR(a, b, true, true); } while (0)
#define WF_EXPECT_EQ_STR(a, b) do { WF__CHK_STR(a, b, true, false); } while (0)
#define WF_ASSERT_NE_STR(a, b) do { WF__CHK_STR(a, b, false, true); } while (0)
#define WF_EXPECT_NE_STR(a, b) do { WF__CHK_STR(a, b, false, false); } while (0)
/* Memory ranges of explicit lengths (also for wf_str: ptr, len). */
#define WF__CHK_MEM(a, alen, b, blen, fatal)                                                  \
    wf__check_str(__FILE__, __LINE__, #a, #b, (const char *)(a), (alen), (const char *)(b),   \
                  (blen), true, fatal)
#define WF_ASSERT_EQ_MEM(a, alen, b, blen) do { WF__CHK_MEM(a, alen, b, blen, true); } while (0)
#define WF_EXPECT_EQ_MEM(a, alen, b, blen) do { WF__CHK_MEM(a, alen, b, blen, false); } while (0)
#define WF_ASSERT_TRUE(x)                                                                                    \
    do {                                                                                                     \
        wf__check_true(__FILE__, __LINE__, #x, (x) ? true : false, true, true);                              \
    } while (0)
#define WF_EXPECT_TRUE(x)                                                                                    \
    do {                                                                                                     \
        wf__check_true(__FILE__, __LINE__, #x, (x) ? true : false, true, false);                             \
    } while (0)
#define WF_ASSERT_FALSE(x)                                                                                   \
    do {                                                                                                     \
        wf__check_true(__FILE__, __LINE__, #x, (x) ? true : false, false, true);                             \
    } while (0)
#define WF_EXPECT_FALSE(x)                                                                                   \
    do {                                                                                                     \
        wf__check_true(__FILE__, __LINE__, #x, (x) ? true : false, false, false);                            \
    } while (0)
#define WF_SKIP(why) wf_test_skip(why)

#endif /* WF_NO_TESTING */

#ifdef __cplusplus
}
#endif
#endif /* WEBFW_H_INCLUDED */

/* ######################################################################
 *  IMPLEMENTATION
 * ###################################################################### */
#if defined(WEBFW_IMPLEMENTATION) && !defined(WF__IMPL_INCLUDED)
#define WF__IMPL_INCLUDED
/* ======================================================================
 * >>config  Configuration, portability, error codes
 * ====================================================================== */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#ifdef __linux__
#include <sys/sendfile.h>
#endif
#include <sys/wait.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/eventfd.h>
#endif
#if defined(__linux__) && !defined(WF_USE_POLL)
#define WF__EPOLL 1
#include <sys/epoll.h>
#else
#define WF__EPOLL 0
#endif

#if defined(WF_MALLOC) && defined(WF_REALLOC) && defined(WF_FREE)
#elif !defined(WF_MALLOC) && !defined(WF_REALLOC) && !defined(WF_FREE)
#define WF_MALLOC(ctx, n) ((void)(ctx), malloc(n))
#define WF_REALLOC(ctx, p, n) ((void)(ctx), realloc((p), (n)))
#define WF_FREE(ctx, p) ((void)(ctx), free(p))
#else
#error "webfw.h: define all of WF_MALLOC, WF_REALLOC and WF_FREE, or none of them"
#endif

#if defined(__GNUC__) || defined(__clang__)
#define WF__PRIVATE static __attribute__((unused))
#define WF__LIKELY(x) __builtin_expect(!!(x), 1)
#define WF__UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define WF__PRIVATE static
#define WF__LIKELY(x) (x)
#define WF__UNLIKELY(x) (x)
#endif

#define WF__MIN(a, b) ((a) < (b) ? (a) : (b))
#define WF__MAX(a, b) ((a) > (b) ? (a) : (b))
#define wf__def(v, d) ((v) ? (v) : (d))

#define WF__DEFAULT_MAX_LINE 8192u
#define WF__DEFAULT_MAX_HEAD 16384u
#define WF__DEFAULT_MAX_FIELDS 100u
#define WF__DEFAULT_MAX_TRAILER 8192u
#define WF__BODY_JSON_DEPTH 900     /* request bodies: about where Python stops (RecursionError) */

WF_API const char *wf_strerror(int code) {
    switch (code) {
#define WF__ERR_CASE(name, val, msg) case val: return msg;
        WF__ERRORS(WF__ERR_CASE)
#undef WF__ERR_CASE
    default: return "unknown error";
    }
}

/* ---- logging: every message goes through wf_config.log ---- */

WF__PRIVATE void wf__log_stderr(void *user, wf_log_level level, const char *msg) {
    static const char *lv[] = {"error", "warning", "info"};
    char line[1024];
    (void)user;
    int n =
        snprintf(line, sizeof line, "webfw: %s: %s\n", lv[level > WF_LOG_INFO ? WF_LOG_ERROR : level], msg);
    if (n > 0) {
        ssize_t w = write(2, line, (size_t)WF__MIN(n, (int)sizeof line - 1));
        (void)w;
    }
}

WF__PRIVATE void wf__logf(const wf_config *cfg, wf_log_level level, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* One formatted line to the server's log (cfg's defaults applied). */
WF__PRIVATE void wf__logf(const wf_config *cfg, wf_log_level level, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cfg->log(cfg->log_user, level, msg);
}

/* ======================================================================
 * >>basics  String views, growable buffers, the per-request arena
 * ====================================================================== */

/* Sizes computed from counts the network chose go through these: a + b and a * b, or SIZE_MAX when
   the result does not fit (every allocator here refuses SIZE_MAX, so an overflow is an allocation
   failure, never a short buffer). */
WF__PRIVATE size_t wf__size_add(size_t a, size_t b) { return a > SIZE_MAX - b ? SIZE_MAX : a + b; }
WF__PRIVATE size_t wf__size_mul(size_t a, size_t b) { return b && a > SIZE_MAX / b ? SIZE_MAX : a * b; }
/* WF_MALLOC of such a size: NULL past PTRDIFF_MAX (the largest object C allows). */
WF__PRIVATE void *wf__alloc(size_t n) { return n > (size_t)PTRDIFF_MAX ? NULL : WF_MALLOC(NULL, n); }

WF_API wf_str wf_str_c(const char *s) {
    wf_str r;
    r.ptr = s;
    r.len = s ? strlen(s) : 0;
    return r;
}

WF_API bool wf_str_eq(wf_str a, const char *b) {
    size_t n = strlen(b);
    return a.ptr && a.len == n && memcmp(a.ptr, b, n) == 0;
}

WF__PRIVATE int wf__lower(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

WF__PRIVATE bool wf__mem_ieq(const char *a, const char *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (wf__lower((unsigned char)a[i]) != wf__lower((unsigned char)b[i])) return false;
    return true;
}

WF_API char *wf_str_dup(wf_str s) {
    char *c = (char *)wf__alloc(wf__size_add(s.len, 1));
    if (!c) return NULL;
    if (s.len) memcpy(c, s.ptr, s.len);
    c[s.len] = 0;
    return c;
}

WF_API bool wf_str_ieq(wf_str a, const char *b) {
    size_t n = strlen(b);
    return a.ptr && a.len == n && wf__mem_ieq(a.ptr, b, n);
}

WF_API int wf_buf_reserve(wf_buf *b, size_t extra) {
    if (b->cap - b->len > extra) return 0;          /* room for the NUL kept after len, too */
    if (extra >= SIZE_MAX / 2 - b->len) return WF_ENOMEM;
    extra++;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < extra) cap *= 2;
    char *p = (char *)WF_REALLOC(NULL, b->ptr, cap);
    if (!p) return WF_ENOMEM;
    b->ptr = p;
    b->cap = cap;
    return 0;
}

WF_API int wf_buf_append(wf_buf *b, const void *p, size_t n) {
    if (n == 0) return 0;
    if (wf_buf_reserve(b, n) < 0) return WF_ENOMEM;
    memcpy(b->ptr + b->len, p, n);
    b->len += n;
    b->ptr[b->len] = 0;
    return 0;
}

WF_API int wf_buf_printf(wf_buf *b, const char *fmt, ...) {
    va_list ap;
    char small[256];
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return WF_EINVAL;
    if ((size_t)n < sizeof small) return wf_buf_append(b, small, (size_t)n);
    if (wf_buf_reserve(b, (size_t)n + 1) < 0) return WF_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);       /* and its NUL */
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

WF_API const char *wf_buf_cstr(wf_buf *b) {
    if (wf_buf_reserve(b, 0) < 0) return NULL;
    b->ptr[b->len] = 0;
    return b->ptr;
}

WF_API void wf_buf_free(wf_buf *b) {
    WF_FREE(NULL, b->ptr);
    b->ptr = NULL;
    b->len = b->cap = 0;
}

/* Decimal digits of v into out (no NUL); returns the length. */
WF__PRIVATE size_t wf__utoa(char *out, uint64_t v) {
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    return n;
}

/* The length of the UTF-8 sequence at s[0..n) (1 to 4), or 0 if it is not well-formed UTF-8
   (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF). */
WF__PRIVATE size_t wf__utf8_len(const unsigned char *s, size_t n) {
    unsigned char c = s[0];
    size_t k = c < 0x80 ? 1 : c < 0xc2 ? 0 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : c < 0xf5 ? 4 : 0;
    if (k == 0 || k > n) return 0;
    for (size_t i = 1; i < k; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    if (k == 3 && ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0))) return 0;
    if (k == 4 && ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90))) return 0;
    return k;
}

/* At a sequence wf__utf8_len refuses: how many bytes one U+FFFD stands for, the "maximal subpart"
   of Unicode 3.9 that Python's decoder also uses (the lead byte and the continuation bytes that
   could still have completed it; a stray byte alone). */
WF__PRIVATE size_t wf__utf8_subpart(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    size_t need = c >= 0xc2 && c <= 0xdf   ? 1
                  : c >= 0xe0 && c <= 0xef ? 2
                  : c >= 0xf0 && c <= 0xf4 ? 3
                                           : 0,
           i = 1;
    unsigned lo = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80, hi = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
    for (; i <= need && i < n; i++)
        if (s[i] < (i == 1 ? lo : 0x80) || s[i] > (i == 1 ? hi : 0xbf)) break;
    return i;
}

/* Copy s[0..n) to out as UTF-8, each ill-formed subpart replaced by U+FFFD (out: 3n bytes at most,
   never more than n when every bad byte came from a 3-character %XX). Returns out's length. */
WF__PRIVATE size_t wf__utf8_clean(char *out, const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0, i = 0;
    while (i < n) {
        size_t run = i, k = 1;
        while (run < n && (k = p[run] < 0x80 ? 1 : wf__utf8_len(p + run, n - run)) != 0) run += k;
        /* well-formed text, in one piece */
        memmove(out + o, s + i, run - i);
        o += run - i;
        if (run == n) break;
        i = run + wf__utf8_subpart(p + run, n - run);
        memcpy(out + o, "\xef\xbf\xbd", 3);
        o += 3;
    }
    return o;
}

/* ---- UTF-8, incrementally: the state is the bytes still expected (bits 16-17) and the range
   the next one must fall in (bits 0-7 lowest, 8-15 highest); 0 between characters ---- */

#define WF__U8(need, lo, hi) ((uint32_t)(need) << 16 | (uint32_t)(hi) << 8 | (uint32_t)(lo))
#define WF__U8_BAD 0xFFFFFFFFu

WF__PRIVATE uint32_t wf__utf8_step(uint32_t st, uint8_t b) {
    if (st) {
        if (b < (st & 0xFF) || b > ((st >> 8) & 0xFF)) return WF__U8_BAD;
        uint32_t need = (st >> 16) - 1;
        return need ? WF__U8(need, 0x80, 0xBF) : 0;
    }
    if (b < 0x80) return 0;
    if (b < 0xC2) return WF__U8_BAD;
    if (b < 0xE0) return WF__U8(1, 0x80, 0xBF);
    if (b == 0xE0) return WF__U8(2, 0xA0, 0xBF);
    if (b == 0xED) return WF__U8(2, 0x80, 0x9F);        /* no surrogates */
    if (b < 0xF0) return WF__U8(2, 0x80, 0xBF);
    if (b == 0xF0) return WF__U8(3, 0x90, 0xBF);
    if (b < 0xF4) return WF__U8(3, 0x80, 0xBF);
    if (b == 0xF4) return WF__U8(3, 0x80, 0x8F);        /* nothing past U+10FFFF */
    return WF__U8_BAD;
}

/* Go on checking UTF-8 from state st over s[0..n): the new state, or WF__U8_BAD at the first byte
   that cannot be part of well-formed text. */
WF__PRIVATE uint32_t wf__utf8_feed(uint32_t st, const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        if (!st) {                          /* between characters: skip ASCII eight bytes at a time */
            uint64_t w;
            while (i + 8 <= n && (memcpy(&w, s + i, 8), (w & 0x8080808080808080ull) == 0)) i += 8;
            while (i < n && s[i] < 0x80) i++;
            if (i == n) break;
        }
        if ((st = wf__utf8_step(st, s[i++])) == WF__U8_BAD) break;
    }
    return st;
}

WF_API bool wf_utf8_valid(const char *s, size_t n) {
    return wf__utf8_feed(0, (const uint8_t *)s, n) == 0;     /* whole characters, none bad */
}

/* strtod of number text s written the C way (ASCII, '.' as the decimal point) whatever locale the
   embedding program set with setlocale: strtod reads the locale's decimal point, so the '.' is
   handed to it as that, and the locale's own mark (a ',') ends the number. *end (if not NULL) is
   where it stopped, in s. */
WF__PRIVATE double wf__strtod(const char *s, char **end) {
    if (!strpbrk(s, ".,")) return strtod(s, end);  /* no decimal mark: every locale reads it alike */
    const char *dp = localeconv()->decimal_point, *stop;
    size_t dl = dp ? strlen(dp) : 0;
    if (!dl || (dl == 1 && dp[0] == '.')) return strtod(s, end);
    size_t n = (stop = strchr(s, dp[0])) != NULL ? (size_t)(stop - s) : strlen(s);
    const char *dot = (const char *)memchr(s, '.', n);
    size_t k = dot ? (size_t)(dot - s) : n, o = k;
    char small[128], *t = n + dl < sizeof small ? small : (char *)WF_MALLOC(NULL, n + dl + 1), *e;
    if (!t) {
        if (end) *end = (char *)s;
        return 0;
    }
    memcpy(t, s, k);
    if (dot) {
        memcpy(t + o, dp, dl);
        o += dl;
        memcpy(t + o, dot + 1, n - k - 1);
        o += n - k - 1;
    }
    t[o] = 0;
    double v = strtod(t, &e);
    size_t used = (size_t)(e - t);
    if (end) *end = (char *)s + (dot && used >= k + dl ? used - dl + 1 : WF__MIN(used, k));
    if (t != small) WF_FREE(NULL, t);
    return v;
}

WF__PRIVATE int wf__hexval(int c) {
    return c >= '0' && c <= '9'                     ? c - '0'
           : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10
                                                    : -1;
}

WF_API size_t wf_percent_decode(char *out, const char *in, size_t n, bool plus_space) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (in[i] == '%' && i + 2 < n && (hi = wf__hexval((unsigned char)in[i + 1])) >= 0 &&
            (lo = wf__hexval((unsigned char)in[i + 2])) >= 0) {
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = plus_space && in[i] == '+' ? ' ' : in[i];
        }
    }
    return o;
}

/* The per-request arena: blocks chained from a first block that stays with the request state (and
   is reused by the next request), so a typical request allocates nothing. */
typedef struct wf__arena_block {
    struct wf__arena_block *next;
    size_t used, cap;
    /* data follows, aligned */
} wf__arena_block;

typedef struct wf__arena {
    wf__arena_block *extra;     /* blocks beyond the inline one, freed at reset */
    char *inl;                  /* inline block */
    size_t inl_used, inl_cap;
} wf__arena;

#define WF__ALIGN(n) (((n) + 15u) & ~(size_t)15u)


WF__PRIVATE void *wf__arena_alloc(wf__arena *a, size_t n) {
    if (n > SIZE_MAX / 2) return NULL;      /* the rounding below (and the block's size) cannot wrap */
    n = WF__ALIGN(n ? n : 1);
    if (a->inl_cap - a->inl_used >= n) {
        void *p = a->inl + a->inl_used;
        a->inl_used += n;
        return p;
    }
    wf__arena_block *b = a->extra;
    if (b && b->cap - b->used >= n) {
        void *p = (char *)b + WF__ALIGN(sizeof *b) + b->used;
        b->used += n;
        return p;
    }
    size_t cap = WF__MAX(n, (size_t)4096);
    if (cap > SIZE_MAX - 64) return NULL;
    b = (wf__arena_block *)WF_MALLOC(NULL, WF__ALIGN(sizeof *b) + cap);
    if (!b) return NULL;
    b->next = a->extra;
    b->used = n;
    b->cap = cap;
    a->extra = b;
    return (char *)b + WF__ALIGN(sizeof *b);
}

WF__PRIVATE void wf__arena_reset(wf__arena *a) {
    while (a->extra) {
        wf__arena_block *n = a->extra->next;
        WF_FREE(NULL, a->extra);
        a->extra = n;
    }
    a->inl_used = 0;
}

WF__PRIVATE void wf__utf8_put(char *o, size_t *n, uint32_t cp) {
    if (cp < 0x80) {
        o[(*n)++] = (char)cp;
        return;
    }
    static const unsigned char lead[4] = {0, 0xc0, 0xe0, 0xf0};
    int more = cp < 0x800 ? 1 : cp < 0x10000 ? 2 : 3;           /* continuation bytes */
    o[(*n)++] = (char)(lead[more] | cp >> (6 * more));
    for (int k = more - 1; k >= 0; k--) o[(*n)++] = (char)(0x80 | ((cp >> (6 * k)) & 63));
}

/* Python's unquote, as Starlette applies it to the query, form fields and the path: %XX and ASCII
   become bytes read as UTF-8, each ill-formed subpart one U+FFFD; a raw byte >= 0x80 (only a form
   body has them) is the Latin-1 character it stands for; '+' is a space if plus. out: 2n bytes,
   tmp: n bytes. Returns out's length. */
WF__PRIVATE size_t wf__unquote(char *out, char *tmp, const char *in, size_t n, bool plus) {
    size_t o = 0, i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)in[i];
        if (c >= 0x80) {
            wf__utf8_put(out, &o, c);
            i++;
            continue;
        }
        size_t e = i, t;
        while (e < n && (unsigned char)in[e] < 0x80) e++;
        t = wf_percent_decode(out + o, in + i, e - i, plus);      /* usually well-formed: no second copy */
        if (wf_utf8_valid(out + o, t)) o += t;
        else {
            memcpy(tmp, out + o, t);
            o += wf__utf8_clean(out + o, tmp, t);
        }
        i = e;
    }
    return o;
}

WF__PRIVATE char *wf__strndup(const char *s, size_t n) {
    char *p = (char *)wf__alloc(wf__size_add(n, 1));
    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

WF__PRIVATE char *wf__strdup(const char *s) { return wf__strndup(s, strlen(s)); }
/* Characters of UTF-8 text (bytes that do not start a sequence are not counted). */
WF__PRIVATE size_t wf__chars(wf_str s) {
    size_t n = 0;
    for (size_t i = 0; i < s.len; i++) n += ((unsigned char)s.ptr[i] & 0xc0) != 0x80;
    return n;
}

/* ASCII letters and digits (not the locale's). */
WF__PRIVATE bool wf__alnum(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

WF__PRIVATE int64_t wf__mono_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

WF__PRIVATE int64_t wf__wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ======================================================================
 * >>crypto  SHA-1, SHA-256, HMAC-SHA256, base64, constant-time compare, random bytes, passwords
 * ====================================================================== */

#define WF__ROR32(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
#define WF__ROL32(x, n) (((x) << (n)) | ((x) >> (32 - (n))))

WF__PRIVATE uint32_t wf__be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

WF__PRIVATE void wf__put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static const uint32_t wf__sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* One 64-byte block, portable. */
WF__PRIVATE void wf__sha256_block1(uint32_t h[8], const uint8_t *p) {
    uint32_t w[64], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (int i = 0; i < 16; i++) w[i] = wf__be32(p + 4 * i);
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = WF__ROR32(w[i - 15], 7) ^ WF__ROR32(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = WF__ROR32(w[i - 2], 17) ^ WF__ROR32(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = k + (WF__ROR32(e, 6) ^ WF__ROR32(e, 11) ^ WF__ROR32(e, 25)) + ((e & f) ^ (~e & g)) +
                      wf__sha256_k[i] + w[i];
        uint32_t t2 = (WF__ROR32(a, 2) ^ WF__ROR32(a, 13) ^ WF__ROR32(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        k = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += k;
}

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__)) &&               \
    !defined(WF_NO_SHA_NI)
#include <cpuid.h>
#include <immintrin.h>
#define WF__SHA_NI 1

/* n blocks with the x86 SHA extensions (the layout of Intel's reference code: the state is kept as
   ABEF and CDGH; each 4 rounds take 4 schedule words, each computed with sha256msg1/msg2). */
__attribute__((target("sha,sse4.1,ssse3"))) static void wf__sha256_ni(uint32_t h[8], const uint8_t *p,
                                                                      size_t n) {
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i tmp = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(const void *)&h[0]), 0xB1);   /* CDAB */
    __m128i s1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(const void *)&h[4]), 0x1B);    /* EFGH */
    __m128i s0 = _mm_alignr_epi8(tmp, s1, 8); /* ABEF */
    s1 = _mm_blend_epi16(s1, tmp, 0xF0); /* CDGH */
    for (; n; n--, p += 64) {
        __m128i w[16], abef = s0, cdgh = s1, m;
        for (int g = 0; g < 16; g++) {
            if (g < 4)
                w[g] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 16 * g)), bswap);
            else w[g] = _mm_sha256msg2_epu32(_mm_add_epi32(_mm_sha256msg1_epu32(w[g - 4], w[g - 3]),
                                                           _mm_alignr_epi8(w[g - 1], w[g - 2], 4)), w[g - 1]);
            m = _mm_add_epi32(w[g], _mm_loadu_si128((const __m128i *)(const void *)&wf__sha256_k[4 * g]));
            s1 = _mm_sha256rnds2_epu32(s1, s0, m);
            s0 = _mm_sha256rnds2_epu32(s0, s1, _mm_shuffle_epi32(m, 0x0E));
        }
        s0 = _mm_add_epi32(s0, abef);
        s1 = _mm_add_epi32(s1, cdgh);
    }
    tmp = _mm_shuffle_epi32(s0, 0x1B); /* FEBA */
    s1 = _mm_shuffle_epi32(s1, 0xB1); /* DCHG */
    _mm_storeu_si128((__m128i *)(void *)&h[0], _mm_blend_epi16(tmp, s1, 0xF0)); /* DCBA */
    _mm_storeu_si128((__m128i *)(void *)&h[4], _mm_alignr_epi8(s1, tmp, 8)); /* HGFE */
}

/* Does this CPU have the SHA extensions (and SSE4.1, SSSE3)? Asked once; the answer never changes. */
WF__PRIVATE bool wf__have_sha_ni(void) {
    static atomic_int known;            /* 0 unknown, 1 no, 2 yes */
    int k = atomic_load_explicit(&known, memory_order_relaxed);
    if (!k) {
        unsigned a, b, c, d;
        bool yes = __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 19)) && (c & (1u << 9)) &&
                   __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 29));
        k = yes ? 2 : 1;
        atomic_store_explicit(&known, k, memory_order_relaxed);
    }
    return k == 2;
}
#endif

/* n blocks: with the CPU's SHA extensions when it has them, as OpenSSL does, else portable C. */
WF__PRIVATE void wf__sha256_blocks(uint32_t *h, const uint8_t *p, size_t n) {
#ifdef WF__SHA_NI
    if (wf__have_sha_ni()) {
        wf__sha256_ni(h, p, n);
        return;
    }
#endif
    for (; n; n--, p += 64) wf__sha256_block1(h, p);
}

WF__PRIVATE void wf__sha1_block1(uint32_t h[5], const uint8_t *p) {
    uint32_t w[80], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 16; i++) w[i] = wf__be32(p + 4 * i);
    for (int i = 16; i < 80; i++) w[i] = WF__ROL32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    for (int i = 0; i < 80; i++) {
        uint32_t f = i < 20   ? (b & c) | (~b & d)
                     : i < 40 ? b ^ c ^ d
                     : i < 60 ? (b & c) | (b & d) | (c & d)
                              : b ^ c ^ d;
        uint32_t k = i < 20 ? 0x5a827999 : i < 40 ? 0x6ed9eba1 : i < 60 ? 0x8f1bbcdc : 0xca62c1d6;
        uint32_t t = WF__ROL32(a, 5) + f + e + k + w[i];
        e = d;
        d = c;
        c = WF__ROL32(b, 30);
        b = a;
        a = t;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

WF__PRIVATE void wf__sha1_blocks(uint32_t *h, const uint8_t *p, size_t n) {
    for (; n; n--, p += 64) wf__sha1_block1(h, p);
}

/* The Merkle-Damgard framing both hashes share: buffer, blocks, then the padded length. */
typedef void (*wf__block_fn)(uint32_t *h, const uint8_t *p, size_t nblocks);

WF__PRIVATE void wf__md_update(uint32_t *h, uint8_t *buf, size_t *bn, uint64_t *len, wf__block_fn block,
                               const void *data, size_t n) {
    const uint8_t *p = (const uint8_t *)data;
    *len += n;
    if (*bn) {
        size_t k = WF__MIN(n, 64 - *bn);
        memcpy(buf + *bn, p, k);
        *bn += k;
        p += k;
        n -= k;
        if (*bn < 64) return;
        block(h, buf, 1);
        *bn = 0;
    }
    if (n >= 64) block(h, p, n / 64);
    p += n / 64 * 64;
    n %= 64;
    memcpy(buf, p, n);
    *bn = n;
}

WF__PRIVATE void wf__md_final(uint32_t *h, int words, uint8_t *buf, size_t bn, uint64_t len,
                              wf__block_fn block, uint8_t *out) {
    buf[bn++] = 0x80;
    if (bn > 56) {
        memset(buf + bn, 0, 64 - bn);
        block(h, buf, 1);
        bn = 0;
    }
    memset(buf + bn, 0, 56 - bn);
    wf__put_be32(buf + 56, (uint32_t)(len >> 29));
    wf__put_be32(buf + 60, (uint32_t)(len << 3));
    block(h, buf, 1);
    for (int i = 0; i < words; i++) wf__put_be32(out + 4 * i, h[i]);
}

WF_API void wf_sha256_init(wf_sha256_ctx *c) {
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(c->h, iv, sizeof iv);
    c->len = 0;
    c->n = 0;
}

WF_API void wf_sha256_update(wf_sha256_ctx *c, const void *p, size_t n) {
    wf__md_update(c->h, c->buf, &c->n, &c->len, wf__sha256_blocks, p, n);
}

WF_API void wf_sha256_final(wf_sha256_ctx *c, uint8_t out[32]) {
    wf__md_final(c->h, 8, c->buf, c->n, c->len, wf__sha256_blocks, out);
    memset(c, 0, sizeof *c);
}

WF_API void wf_sha256(const void *p, size_t n, uint8_t out[32]) {
    wf_sha256_ctx c;
    wf_sha256_init(&c);
    wf_sha256_update(&c, p, n);
    wf_sha256_final(&c, out);
}

WF_API void wf_sha1_init(wf_sha1_ctx *c) {
    static const uint32_t iv[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
    memcpy(c->h, iv, sizeof iv);
    c->len = 0;
    c->n = 0;
}

WF_API void wf_sha1_update(wf_sha1_ctx *c, const void *p, size_t n) {
    wf__md_update(c->h, c->buf, &c->n, &c->len, wf__sha1_blocks, p, n);
}

WF_API void wf_sha1_final(wf_sha1_ctx *c, uint8_t out[20]) {
    wf__md_final(c->h, 5, c->buf, c->n, c->len, wf__sha1_blocks, out);
    memset(c, 0, sizeof *c);
}

WF_API void wf_sha1(const void *p, size_t n, uint8_t out[20]) {
    wf_sha1_ctx c;
    wf_sha1_init(&c);
    wf_sha1_update(&c, p, n);
    wf_sha1_final(&c, out);
}

WF_API void wf_hmac_sha256(const void *key, size_t klen, const void *msg, size_t n, uint8_t out[32]) {
    uint8_t k[64], pad[64], inner[32];
    wf_sha256_ctx c;
    memset(k, 0, sizeof k);
    if (klen > 64) wf_sha256(key, klen, k);
    else if (klen) memcpy(k, key, klen);
    for (int i = 0; i < 64; i++) pad[i] = k[i] ^ 0x36;
    wf_sha256_init(&c);
    wf_sha256_update(&c, pad, 64);
    wf_sha256_update(&c, msg, n);
    wf_sha256_final(&c, inner);
    for (int i = 0; i < 64; i++) pad[i] = k[i] ^ 0x5c;
    wf_sha256_init(&c);
    wf_sha256_update(&c, pad, 64);
    wf_sha256_update(&c, inner, 32);
    wf_sha256_final(&c, out);
    memset(k, 0, sizeof k);
    memset(pad, 0, sizeof pad);
}

static const char wf__b64[2][65] = {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
                                    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"};

WF_API size_t wf_base64_len(size_t n, bool url) {
    if (n > (SIZE_MAX - 3) / 4 * 3) return SIZE_MAX;          /* past what any buffer can hold */
    return url ? n / 3 * 4 + (n % 3 * 4 + 2) / 3 : (n + 2) / 3 * 4;
}

WF_API size_t wf_base64_encode(char *out, const void *in, size_t n, bool url) {
    const uint8_t *p = (const uint8_t *)in;
    const char *a = wf__b64[url];
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = a[v >> 18];
        out[o++] = a[(v >> 12) & 63];
        out[o++] = a[(v >> 6) & 63];
        out[o++] = a[v & 63];
    }
    if (n - i) {
        uint32_t v = (uint32_t)p[i] << 16 | (n - i == 2 ? (uint32_t)p[i + 1] << 8 : 0);
        out[o++] = a[v >> 18];
        out[o++] = a[(v >> 12) & 63];
        if (n - i == 2) out[o++] = a[(v >> 6) & 63];
        else if (!url) out[o++] = '=';
        if (!url) out[o++] = '=';
    }
    out[o] = 0;
    return o;
}

WF__PRIVATE int wf__b64val(char c, bool url) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == (url ? '-' : '+')) return 62;
    if (c == (url ? '_' : '/')) return 63;
    return -1;
}

WF_API int wf_base64_decode(void *out, const char *in, size_t n, bool url) {
    uint8_t *o = (uint8_t *)out;
    size_t pad = 0, len = 0;
    if (!url) {                         /* padded to a multiple of 4, at most two '=' at the end */
        if (n % 4) return WF_EPARSE;
        while (pad < 2 && pad < n && in[n - 1 - pad] == '=') pad++;
        n -= pad;
    } else if (n % 4 == 1) {
        return WF_EPARSE;
    }
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = wf__b64val(in[i], url);
        if (v < 0) return WF_EPARSE;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            o[len++] = (uint8_t)(acc >> bits);
        }
    }
    if (!url && pad && (n + pad) % 4) return WF_EPARSE;
    if (!url && pad != (size_t)((4 - n % 4) % 4)) return WF_EPARSE;
    if (bits && (acc & ((1u << bits) - 1))) return WF_EPARSE;      /* non-canonical trailing bits */
    return (int)len;
}

WF_API bool wf_ct_equal(const void *a, const void *b, size_t n) {
    const volatile uint8_t *x = (const volatile uint8_t *)a, *y = (const volatile uint8_t *)b;
    uint8_t d = 0;
    for (size_t i = 0; i < n; i++) d |= x[i] ^ y[i];
    return d == 0;
}

WF_API int wf_random(void *out, size_t n) {
    uint8_t *p = (uint8_t *)out;
#if defined(__linux__) && defined(SYS_getrandom)
    while (n) {
        long r = syscall(SYS_getrandom, p, n, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) break;               /* ENOSYS: try the device */
        p += r;
        n -= (size_t)r;
    }
    if (!n) return 0;
#endif
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return WF_ESYS;
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        p += r;
        n -= (size_t)r;
    }
    close(fd);
    return n ? WF_ESYS : 0;
}

/* ---- password hashing ---- */

WF_API void wf_pbkdf2_sha256(const void *pw, size_t pn, const void *salt, size_t sn, uint32_t iters,
                             uint8_t *out, size_t outlen) {
    uint8_t k[64], pad[64], u[32], t[32];
    wf_sha256_ctx in, outer, c;
    memset(k, 0, sizeof k);
    if (pn > 64) wf_sha256(pw, pn, k);
    else if (pn) memcpy(k, pw, pn);
    /* the keyed pads are hashed once; each round starts from copies of those states */
    for (int i = 0; i < 64; i++) pad[i] = k[i] ^ 0x36;
    wf_sha256_init(&in);
    wf_sha256_update(&in, pad, 64);
    for (int i = 0; i < 64; i++) pad[i] = k[i] ^ 0x5c;
    wf_sha256_init(&outer);
    wf_sha256_update(&outer, pad, 64);
    for (uint32_t block = 1; outlen; block++) {
        uint8_t be[4];
        wf__put_be32(be, block);
        c = in;
        wf_sha256_update(&c, salt, sn);
        wf_sha256_update(&c, be, 4);
        wf_sha256_final(&c, u);
        c = outer;
        wf_sha256_update(&c, u, 32);
        wf_sha256_final(&c, u);
        memcpy(t, u, 32);
        for (uint32_t r = 1; r < iters; r++) {
            c = in;
            wf_sha256_update(&c, u, 32);
            wf_sha256_final(&c, u);
            c = outer;
            wf_sha256_update(&c, u, 32);
            wf_sha256_final(&c, u);
            for (int i = 0; i < 32; i++) t[i] ^= u[i];
        }
        size_t n = WF__MIN(outlen, (size_t)32);
        memcpy(out, t, n);
        out += n;
        outlen -= n;
    }
    memset(k, 0, sizeof k);
    memset(pad, 0, sizeof pad);
    memset(t, 0, sizeof t);
}

/* passlib's "adapted base64": the standard alphabet with '.' for '+', no padding. */
WF__PRIVATE size_t wf__passlib_b64_encode(char *out, const uint8_t *p, size_t n) {
    size_t len = wf_base64_encode(out, p, n, false);
    while (len && out[len - 1] == '=') out[--len] = 0;
    for (size_t i = 0; i < len; i++)
        if (out[i] == '+') out[i] = '.';
    return len;
}

WF__PRIVATE int wf__passlib_b64_decode(uint8_t *out, const char *s, size_t n) {
    char tmp[128];
    if (n > sizeof tmp - 4 || n % 4 == 1) return WF_EPARSE;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+' || s[i] == '=') return WF_EPARSE;
        tmp[i] = s[i] == '.' ? '+' : s[i];
    }
    while (n % 4) tmp[n++] = '=';
    return wf_base64_decode(out, tmp, n, false);
}

/* Parse a decimal field of a hash string, up to a '$'. */
WF__PRIVATE bool wf__pw_uint(const char **p, uint32_t max, uint32_t *v) {
    const char *s = *p;
    uint64_t x = 0;
    if (*s < '0' || *s > '9' || (*s == '0' && s[1] >= '0' && s[1] <= '9')) return false;
    while (*s >= '0' && *s <= '9' && x <= max) x = x * 10 + (uint64_t)(*s++ - '0');
    if (x > max || x == 0) return false;
    *v = (uint32_t)x;
    *p = s;
    return true;
}

/* ---- bcrypt (OpenBSD's eksblowfish) ---- */

/* Blowfish's initial P-array (18 words) and S-boxes (4 x 256): the hexadecimal digits of pi,
   generated with Machin's formula and checked against P[0] = 0x243f6a88 and S[3][255] = 0x3ac372e6. */
static const uint32_t wf__blowfish_pi[18 + 1024] = {
    0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0x082efa98, 0xec4e6c89,
    0x452821e6, 0x38d01377, 0xbe5466cf, 0x34e90c6c, 0xc0ac29b7, 0xc97c50dd, 0x3f84d5b5, 0xb5470917,
    0x9216d5d9, 0x8979fb1b, 0xd1310ba6, 0x98dfb5ac, 0x2ffd72db, 0xd01adfb7, 0xb8e1afed, 0x6a267e96,
    0xba7c9045, 0xf12c7f99, 0x24a19947, 0xb3916cf7, 0x0801f2e2, 0x858efc16, 0x636920d8, 0x71574e69,
    0xa458fea3, 0xf4933d7e, 0x0d95748f, 0x728eb658, 0x718bcd58, 0x82154aee, 0x7b54a41d, 0xc25a59b5,
    0x9c30d539, 0x2af26013, 0xc5d1b023, 0x286085f0, 0xca417918, 0xb8db38ef, 0x8e79dcb0, 0x603a180e,
    0x6c9e0e8b, 0xb01e8a3e, 0xd71577c1, 0xbd314b27, 0x78af2fda, 0x55605c60, 0xe65525f3, 0xaa55ab94,
    0x57489862, 0x63e81440, 0x55ca396a, 0x2aab10b6, 0xb4cc5c34, 0x1141e8ce, 0xa15486af, 0x7c72e993,
    0xb3ee1411, 0x636fbc2a, 0x2ba9c55d, 0x741831f6, 0xce5c3e16, 0x9b87931e, 0xafd6ba33, 0x6c24cf5c,
    0x7a325381, 0x28958677, 0x3b8f4898, 0x6b4bb9af, 0xc4bfe81b, 0x66282193, 0x61d809cc, 0xfb21a991,
    0x487cac60, 0x5dec8032, 0xef845d5d, 0xe98575b1, 0xdc262302, 0xeb651b88, 0x23893e81, 0xd396acc5,
    0x0f6d6ff3, 0x83f44239, 0x2e0b4482, 0xa4842004, 0x69c8f04a, 0x9e1f9b5e, 0x21c66842, 0xf6e96c9a,
    0x670c9c61, 0xabd388f0, 0x6a51a0d2, 0xd8542f68, 0x960fa728, 0xab5133a3, 0x6eef0b6c, 0x137a3be4,
    0xba3bf050, 0x7efb2a98, 0xa1f1651d, 0x39af0176, 0x66ca593e, 0x82430e88, 0x8cee8619, 0x456f9fb4,
    0x7d84a5c3, 0x3b8b5ebe, 0xe06f75d8, 0x85c12073, 0x401a449f, 0x56c16aa6, 0x4ed3aa62, 0x363f7706,
    0x1bfedf72, 0x429b023d, 0x37d0d724, 0xd00a1248, 0xdb0fead3, 0x49f1c09b, 0x075372c9, 0x80991b7b,
    0x25d479d8, 0xf6e8def7, 0xe3fe501a, 0xb6794c3b, 0x976ce0bd, 0x04c006ba, 0xc1a94fb6, 0x409f60c4,
    0x5e5c9ec2, 0x196a2463, 0x68fb6faf, 0x3e6c53b5, 0x1339b2eb, 0x3b52ec6f, 0x6dfc511f, 0x9b30952c,
    0xcc814544, 0xaf5ebd09, 0xbee3d004, 0xde334afd, 0x660f2807, 0x192e4bb3, 0xc0cba857, 0x45c8740f,
    0xd20b5f39, 0xb9d3fbdb, 0x5579c0bd, 0x1a60320a, 0xd6a100c6, 0x402c7279, 0x679f25fe, 0xfb1fa3cc,
    0x8ea5e9f8, 0xdb3222f8, 0x3c7516df, 0xfd616b15, 0x2f501ec8, 0xad0552ab, 0x323db5fa, 0xfd238760,
    0x53317b48, 0x3e00df82, 0x9e5c57bb, 0xca6f8ca0, 0x1a87562e, 0xdf1769db, 0xd542a8f6, 0x287effc3,
    0xac6732c6, 0x8c4f5573, 0x695b27b0, 0xbbca58c8, 0xe1ffa35d, 0xb8f011a0, 0x10fa3d98, 0xfd2183b8,
    0x4afcb56c, 0x2dd1d35b, 0x9a53e479, 0xb6f84565, 0xd28e49bc, 0x4bfb9790, 0xe1ddf2da, 0xa4cb7e33,
    0x62fb1341, 0xcee4c6e8, 0xef20cada, 0x36774c01, 0xd07e9efe, 0x2bf11fb4, 0x95dbda4d, 0xae909198,
    0xeaad8e71, 0x6b93d5a0, 0xd08ed1d0, 0xafc725e0, 0x8e3c5b2f, 0x8e7594b7, 0x8ff6e2fb, 0xf2122b64,
    0x8888b812, 0x900df01c, 0x4fad5ea0, 0x688fc31c, 0xd1cff191, 0xb3a8c1ad, 0x2f2f2218, 0xbe0e1777,
    0xea752dfe, 0x8b021fa1, 0xe5a0cc0f, 0xb56f74e8, 0x18acf3d6, 0xce89e299, 0xb4a84fe0, 0xfd13e0b7,
    0x7cc43b81, 0xd2ada8d9, 0x165fa266, 0x80957705, 0x93cc7314, 0x211a1477, 0xe6ad2065, 0x77b5fa86,
    0xc75442f5, 0xfb9d35cf, 0xebcdaf0c, 0x7b3e89a0, 0xd6411bd3, 0xae1e7e49, 0x00250e2d, 0x2071b35e,
    0x226800bb, 0x57b8e0af, 0x2464369b, 0xf009b91e, 0x5563911d, 0x59dfa6aa, 0x78c14389, 0xd95a537f,
    0x207d5ba2, 0x02e5b9c5, 0x83260376, 0x6295cfa9, 0x11c81968, 0x4e734a41, 0xb3472dca, 0x7b14a94a,
    0x1b510052, 0x9a532915, 0xd60f573f, 0xbc9bc6e4, 0x2b60a476, 0x81e67400, 0x08ba6fb5, 0x571be91f,
    0xf296ec6b, 0x2a0dd915, 0xb6636521, 0xe7b9f9b6, 0xff34052e, 0xc5855664, 0x53b02d5d, 0xa99f8fa1,
    0x08ba4799, 0x6e85076a, 0x4b7a70e9, 0xb5b32944, 0xdb75092e, 0xc4192623, 0xad6ea6b0, 0x49a7df7d,
    0x9cee60b8, 0x8fedb266, 0xecaa8c71, 0x699a17ff, 0x5664526c, 0xc2b19ee1, 0x193602a5, 0x75094c29,
    0xa0591340, 0xe4183a3e, 0x3f54989a, 0x5b429d65, 0x6b8fe4d6, 0x99f73fd6, 0xa1d29c07, 0xefe830f5,
    0x4d2d38e6, 0xf0255dc1, 0x4cdd2086, 0x8470eb26, 0x6382e9c6, 0x021ecc5e, 0x09686b3f, 0x3ebaefc9,
    0x3c971814, 0x6b6a70a1, 0x687f3584, 0x52a0e286, 0xb79c5305, 0xaa500737, 0x3e07841c, 0x7fdeae5c,
    0x8e7d44ec, 0x5716f2b8, 0xb03ada37, 0xf0500c0d, 0xf01c1f04, 0x0200b3ff, 0xae0cf51a, 0x3cb574b2,
    0x25837a58, 0xdc0921bd, 0xd19113f9, 0x7ca92ff6, 0x94324773, 0x22f54701, 0x3ae5e581, 0x37c2dadc,
    0xc8b57634, 0x9af3dda7, 0xa9446146, 0x0fd0030e, 0xecc8c73e, 0xa4751e41, 0xe238cd99, 0x3bea0e2f,
    0x3280bba1, 0x183eb331, 0x4e548b38, 0x4f6db908, 0x6f420d03, 0xf60a04bf, 0x2cb81290, 0x24977c79,
    0x5679b072, 0xbcaf89af, 0xde9a771f, 0xd9930810, 0xb38bae12, 0xdccf3f2e, 0x5512721f, 0x2e6b7124,
    0x501adde6, 0x9f84cd87, 0x7a584718, 0x7408da17, 0xbc9f9abc, 0xe94b7d8c, 0xec7aec3a, 0xdb851dfa,
    0x63094366, 0xc464c3d2, 0xef1c1847, 0x3215d908, 0xdd433b37, 0x24c2ba16, 0x12a14d43, 0x2a65c451,
    0x50940002, 0x133ae4dd, 0x71dff89e, 0x10314e55, 0x81ac77d6, 0x5f11199b, 0x043556f1, 0xd7a3c76b,
    0x3c11183b, 0x5924a509, 0xf28fe6ed, 0x97f1fbfa, 0x9ebabf2c, 0x1e153c6e, 0x86e34570, 0xeae96fb1,
    0x860e5e0a, 0x5a3e2ab3, 0x771fe71c, 0x4e3d06fa, 0x2965dcb9, 0x99e71d0f, 0x803e89d6, 0x5266c825,
    0x2e4cc978, 0x9c10b36a, 0xc6150eba, 0x94e2ea78, 0xa5fc3c53, 0x1e0a2df4, 0xf2f74ea7, 0x361d2b3d,
    0x1939260f, 0x19c27960, 0x5223a708, 0xf71312b6, 0xebadfe6e, 0xeac31f66, 0xe3bc4595, 0xa67bc883,
    0xb17f37d1, 0x018cff28, 0xc332ddef, 0xbe6c5aa5, 0x65582185, 0x68ab9802, 0xeecea50f, 0xdb2f953b,
    0x2aef7dad, 0x5b6e2f84, 0x1521b628, 0x29076170, 0xecdd4775, 0x619f1510, 0x13cca830, 0xeb61bd96,
    0x0334fe1e, 0xaa0363cf, 0xb5735c90, 0x4c70a239, 0xd59e9e0b, 0xcbaade14, 0xeecc86bc, 0x60622ca7,
    0x9cab5cab, 0xb2f3846e, 0x648b1eaf, 0x19bdf0ca, 0xa02369b9, 0x655abb50, 0x40685a32, 0x3c2ab4b3,
    0x319ee9d5, 0xc021b8f7, 0x9b540b19, 0x875fa099, 0x95f7997e, 0x623d7da8, 0xf837889a, 0x97e32d77,
    0x11ed935f, 0x16681281, 0x0e358829, 0xc7e61fd6, 0x96dedfa1, 0x7858ba99, 0x57f584a5, 0x1b227263,
    0x9b83c3ff, 0x1ac24696, 0xcdb30aeb, 0x532e3054, 0x8fd948e4, 0x6dbc3128, 0x58ebf2ef, 0x34c6ffea,
    0xfe28ed61, 0xee7c3c73, 0x5d4a14d9, 0xe864b7e3, 0x42105d14, 0x203e13e0, 0x45eee2b6, 0xa3aaabea,
    0xdb6c4f15, 0xfacb4fd0, 0xc742f442, 0xef6abbb5, 0x654f3b1d, 0x41cd2105, 0xd81e799e, 0x86854dc7,
    0xe44b476a, 0x3d816250, 0xcf62a1f2, 0x5b8d2646, 0xfc8883a0, 0xc1c7b6a3, 0x7f1524c3, 0x69cb7492,
    0x47848a0b, 0x5692b285, 0x095bbf00, 0xad19489d, 0x1462b174, 0x23820e00, 0x58428d2a, 0x0c55f5ea,
    0x1dadf43e, 0x233f7061, 0x3372f092, 0x8d937e41, 0xd65fecf1, 0x6c223bdb, 0x7cde3759, 0xcbee7460,
    0x4085f2a7, 0xce77326e, 0xa6078084, 0x19f8509e, 0xe8efd855, 0x61d99735, 0xa969a7aa, 0xc50c06c2,
    0x5a04abfc, 0x800bcadc, 0x9e447a2e, 0xc3453484, 0xfdd56705, 0x0e1e9ec9, 0xdb73dbd3, 0x105588cd,
    0x675fda79, 0xe3674340, 0xc5c43465, 0x713e38d8, 0x3d28f89e, 0xf16dff20, 0x153e21e7, 0x8fb03d4a,
    0xe6e39f2b, 0xdb83adf7, 0xe93d5a68, 0x948140f7, 0xf64c261c, 0x94692934, 0x411520f7, 0x7602d4f7,
    0xbcf46b2e, 0xd4a20068, 0xd4082471, 0x3320f46a, 0x43b7d4b7, 0x500061af, 0x1e39f62e, 0x97244546,
    0x14214f74, 0xbf8b8840, 0x4d95fc1d, 0x96b591af, 0x70f4ddd3, 0x66a02f45, 0xbfbc09ec, 0x03bd9785,
    0x7fac6dd0, 0x31cb8504, 0x96eb27b3, 0x55fd3941, 0xda2547e6, 0xabca0a9a, 0x28507825, 0x530429f4,
    0x0a2c86da, 0xe9b66dfb, 0x68dc1462, 0xd7486900, 0x680ec0a4, 0x27a18dee, 0x4f3ffea2, 0xe887ad8c,
    0xb58ce006, 0x7af4d6b6, 0xaace1e7c, 0xd3375fec, 0xce78a399, 0x406b2a42, 0x20fe9e35, 0xd9f385b9,
    0xee39d7ab, 0x3b124e8b, 0x1dc9faf7, 0x4b6d1856, 0x26a36631, 0xeae397b2, 0x3a6efa74, 0xdd5b4332,
    0x6841e7f7, 0xca7820fb, 0xfb0af54e, 0xd8feb397, 0x454056ac, 0xba489527, 0x55533a3a, 0x20838d87,
    0xfe6ba9b7, 0xd096954b, 0x55a867bc, 0xa1159a58, 0xcca92963, 0x99e1db33, 0xa62a4a56, 0x3f3125f9,
    0x5ef47e1c, 0x9029317c, 0xfdf8e802, 0x04272f70, 0x80bb155c, 0x05282ce3, 0x95c11548, 0xe4c66d22,
    0x48c1133f, 0xc70f86dc, 0x07f9c9ee, 0x41041f0f, 0x404779a4, 0x5d886e17, 0x325f51eb, 0xd59bc0d1,
    0xf2bcc18f, 0x41113564, 0x257b7834, 0x602a9c60, 0xdff8e8a3, 0x1f636c1b, 0x0e12b4c2, 0x02e1329e,
    0xaf664fd1, 0xcad18115, 0x6b2395e0, 0x333e92e1, 0x3b240b62, 0xeebeb922, 0x85b2a20e, 0xe6ba0d99,
    0xde720c8c, 0x2da2f728, 0xd0127845, 0x95b794fd, 0x647d0862, 0xe7ccf5f0, 0x5449a36f, 0x877d48fa,
    0xc39dfd27, 0xf33e8d1e, 0x0a476341, 0x992eff74, 0x3a6f6eab, 0xf4f8fd37, 0xa812dc60, 0xa1ebddf8,
    0x991be14c, 0xdb6e6b0d, 0xc67b5510, 0x6d672c37, 0x2765d43b, 0xdcd0e804, 0xf1290dc7, 0xcc00ffa3,
    0xb5390f92, 0x690fed0b, 0x667b9ffb, 0xcedb7d9c, 0xa091cf0b, 0xd9155ea3, 0xbb132f88, 0x515bad24,
    0x7b9479bf, 0x763bd6eb, 0x37392eb3, 0xcc115979, 0x8026e297, 0xf42e312d, 0x6842ada7, 0xc66a2b3b,
    0x12754ccc, 0x782ef11c, 0x6a124237, 0xb79251e7, 0x06a1bbe6, 0x4bfb6350, 0x1a6b1018, 0x11caedfa,
    0x3d25bdd8, 0xe2e1c3c9, 0x44421659, 0x0a121386, 0xd90cec6e, 0xd5abea2a, 0x64af674e, 0xda86a85f,
    0xbebfe988, 0x64e4c3fe, 0x9dbc8057, 0xf0f7c086, 0x60787bf8, 0x6003604d, 0xd1fd8346, 0xf6381fb0,
    0x7745ae04, 0xd736fccc, 0x83426b33, 0xf01eab71, 0xb0804187, 0x3c005e5f, 0x77a057be, 0xbde8ae24,
    0x55464299, 0xbf582e61, 0x4e58f48f, 0xf2ddfda2, 0xf474ef38, 0x8789bdc2, 0x5366f9c3, 0xc8b38e74,
    0xb475f255, 0x46fcd9b9, 0x7aeb2661, 0x8b1ddf84, 0x846a0e79, 0x915f95e2, 0x466e598e, 0x20b45770,
    0x8cd55591, 0xc902de4c, 0xb90bace1, 0xbb8205d0, 0x11a86248, 0x7574a99e, 0xb77f19b6, 0xe0a9dc09,
    0x662d09a1, 0xc4324633, 0xe85a1f02, 0x09f0be8c, 0x4a99a025, 0x1d6efe10, 0x1ab93d1d, 0x0ba5a4df,
    0xa186f20f, 0x2868f169, 0xdcb7da83, 0x573906fe, 0xa1e2ce9b, 0x4fcd7f52, 0x50115e01, 0xa70683fa,
    0xa002b5c4, 0x0de6d027, 0x9af88c27, 0x773f8641, 0xc3604c06, 0x61a806b5, 0xf0177a28, 0xc0f586e0,
    0x006058aa, 0x30dc7d62, 0x11e69ed7, 0x2338ea63, 0x53c2dd94, 0xc2c21634, 0xbbcbee56, 0x90bcb6de,
    0xebfc7da1, 0xce591d76, 0x6f05e409, 0x4b7c0188, 0x39720a3d, 0x7c927c24, 0x86e3725f, 0x724d9db9,
    0x1ac15bb4, 0xd39eb8fc, 0xed545578, 0x08fca5b5, 0xd83d7cd3, 0x4dad0fc4, 0x1e50ef5e, 0xb161e6f8,
    0xa28514d9, 0x6c51133c, 0x6fd5c7e7, 0x56e14ec4, 0x362abfce, 0xddc6c837, 0xd79a3234, 0x92638212,
    0x670efa8e, 0x406000e0, 0x3a39ce37, 0xd3faf5cf, 0xabc27737, 0x5ac52d1b, 0x5cb0679e, 0x4fa33742,
    0xd3822740, 0x99bc9bbe, 0xd5118e9d, 0xbf0f7315, 0xd62d1c7e, 0xc700c47b, 0xb78c1b6b, 0x21a19045,
    0xb26eb1be, 0x6a366eb4, 0x5748ab2f, 0xbc946e79, 0xc6a376d2, 0x6549c2c8, 0x530ff8ee, 0x468dde7d,
    0xd5730a1d, 0x4cd04dc6, 0x2939bbdb, 0xa9ba4650, 0xac9526e8, 0xbe5ee304, 0xa1fad5f0, 0x6a2d519a,
    0x63ef8ce2, 0x9a86ee22, 0xc089c2b8, 0x43242ef6, 0xa51e03aa, 0x9cf2d0a4, 0x83c061ba, 0x9be96a4d,
    0x8fe51550, 0xba645bd6, 0x2826a2f9, 0xa73a3ae1, 0x4ba99586, 0xef5562e9, 0xc72fefd3, 0xf752f7da,
    0x3f046f69, 0x77fa0a59, 0x80e4a915, 0x87b08601, 0x9b09e6ad, 0x3b3ee593, 0xe990fd5a, 0x9e34d797,
    0x2cf0b7d9, 0x022b8b51, 0x96d5ac3a, 0x017da67d, 0xd1cf3ed6, 0x7c7d2d28, 0x1f9f25cf, 0xadf2b89b,
    0x5ad6b472, 0x5a88f54c, 0xe029ac71, 0xe019a5e6, 0x47b0acfd, 0xed93fa9b, 0xe8d3c48d, 0x283b57cc,
    0xf8d56629, 0x79132e28, 0x785f0191, 0xed756055, 0xf7960e44, 0xe3d35e8c, 0x15056dd4, 0x88f46dba,
    0x03a16125, 0x0564f0bd, 0xc3eb9e15, 0x3c9057a2, 0x97271aec, 0xa93a072a, 0x1b3f6d9b, 0x1e6321f5,
    0xf59c66fb, 0x26dcf319, 0x7533d928, 0xb155fdf5, 0x03563482, 0x8aba3cbb, 0x28517711, 0xc20ad9f8,
    0xabcc5167, 0xccad925f, 0x4de81751, 0x3830dc8e, 0x379d5862, 0x9320f991, 0xea7a90c2, 0xfb3e7bce,
    0x5121ce64, 0x774fbe32, 0xa8b6e37e, 0xc3293d46, 0x48de5369, 0x6413e680, 0xa2ae0810, 0xdd6db224,
    0x69852dfd, 0x09072166, 0xb39a460a, 0x6445c0dd, 0x586cdecf, 0x1c20c8ae, 0x5bbef7dd, 0x1b588d40,
    0xccd2017f, 0x6bb4e3bb, 0xdda26a7e, 0x3a59ff45, 0x3e350a44, 0xbcb4cdd5, 0x72eacea8, 0xfa6484bb,
    0x8d6612ae, 0xbf3c6f47, 0xd29be463, 0x542f5d9e, 0xaec2771b, 0xf64e6370, 0x740e0d8d, 0xe75b1357,
    0xf8721671, 0xaf537d5d, 0x4040cb08, 0x4eb4e2cc, 0x34d2466a, 0x0115af84, 0xe1b00428, 0x95983a1d,
    0x06b89fb4, 0xce6ea048, 0x6f3f3b82, 0x3520ab82, 0x011a1d4b, 0x277227f8, 0x611560b1, 0xe7933fdc,
    0xbb3a792b, 0x344525bd, 0xa08839e1, 0x51ce794b, 0x2f32c9b7, 0xa01fbac9, 0xe01cc87e, 0xbcc7d1f6,
    0xcf0111c3, 0xa1e8aac7, 0x1a908749, 0xd44fbd9a, 0xd0dadecb, 0xd50ada38, 0x0339c32a, 0xc6913667,
    0x8df9317c, 0xe0b12b4f, 0xf79e59b7, 0x43f5bb3a, 0xf2d519ff, 0x27d9459c, 0xbf97222c, 0x15e6fc2a,
    0x0f91fc71, 0x9b941525, 0xfae59361, 0xceb69ceb, 0xc2a86459, 0x12baa8d1, 0xb6c1075e, 0xe3056a0c,
    0x10d25065, 0xcb03a442, 0xe0ec6e0e, 0x1698db3b, 0x4c98a0be, 0x3278e964, 0x9f1f9532, 0xe0d392df,
    0xd3a0342b, 0x8971f21e, 0x1b0a7441, 0x4ba3348c, 0xc5be7120, 0xc37632d8, 0xdf359f8d, 0x9b992f2e,
    0xe60b6f47, 0x0fe3f11d, 0xe54cda54, 0x1edad891, 0xce6279cf, 0xcd3e7e6f, 0x1618b166, 0xfd2c1d05,
    0x848fd2c5, 0xf6fb2299, 0xf523f357, 0xa6327623, 0x93a83531, 0x56cccd02, 0xacf08162, 0x5a75ebb5,
    0x6e163697, 0x88d273cc, 0xde966292, 0x81b949d0, 0x4c50901b, 0x71c65614, 0xe6c6c7bd, 0x327a140a,
    0x45e1d006, 0xc3f27b9a, 0xc9aa53fd, 0x62a80f00, 0xbb25bfe2, 0x35bdd2f6, 0x71126905, 0xb2040222,
    0xb6cbcf7c, 0xcd769c2b, 0x53113ec0, 0x1640e3d3, 0x38abbd60, 0x2547adf0, 0xba38209c, 0xf746ce76,
    0x77afa1c5, 0x20756060, 0x85cbfe4e, 0x8ae88dd8, 0x7aaaf9b0, 0x4cf9aa7e, 0x1948c25c, 0x02fb8a8c,
    0x01c36ae4, 0xd6ebe1f9, 0x90d4f869, 0xa65cdea0, 0x3f09252d, 0xc208e69f, 0xb74e6132, 0xce77e25b,
    0x578fdfe3, 0x3ac372e6,
};


typedef struct wf__blowfish {
    uint32_t p[18], s[4][256];
} wf__blowfish;

#define WF__BLOWFISH_F(b, x)                                                                                 \
    ((((b)->s[0][(x) >> 24] + (b)->s[1][((x) >> 16) & 0xff]) ^ (b)->s[2][((x) >> 8) & 0xff]) +               \
     (b)->s[3][(x)&0xff])

WF__PRIVATE void wf__blowfish_encipher(const wf__blowfish *b, uint32_t *xl, uint32_t *xr) {
    uint32_t l = *xl ^ b->p[0], r = *xr;
    for (int i = 1; i <= 16; i += 2) {
        r ^= WF__BLOWFISH_F(b, l) ^ b->p[i];
        l ^= WF__BLOWFISH_F(b, r) ^ b->p[i + 1];
    }
    *xl = r ^ b->p[17];
    *xr = l;
}

/* The next 32-bit word of data, cycling, big-endian. */
WF__PRIVATE uint32_t wf__blowfish_word(const uint8_t *data, size_t n, size_t *j) {
    uint32_t w = 0;
    for (int i = 0; i < 4; i++) {
        w = w << 8 | data[*j];
        *j = (*j + 1) % n;
    }
    return w;
}

/* ExpandKey: key into P, then P and S re-encrypted with the salt mixed in (salt NULL: none). */
WF__PRIVATE void wf__blowfish_expand(wf__blowfish *b, const uint8_t *salt, const uint8_t *key, size_t kn) {
    size_t j = 0, js = 0;
    uint32_t l = 0, r = 0;
    for (int i = 0; i < 18; i++) b->p[i] ^= wf__blowfish_word(key, kn, &j);
    for (int i = 0; i < 18; i += 2) {
        if (salt) {
            l ^= wf__blowfish_word(salt, 16, &js);
            r ^= wf__blowfish_word(salt, 16, &js);
        }
        wf__blowfish_encipher(b, &l, &r);
        b->p[i] = l;
        b->p[i + 1] = r;
    }
    for (int s = 0; s < 4; s++)
        for (int k = 0; k < 256; k += 2) {
            if (salt) {
                l ^= wf__blowfish_word(salt, 16, &js);
                r ^= wf__blowfish_word(salt, 16, &js);
            }
            wf__blowfish_encipher(b, &l, &r);
            b->s[s][k] = l;
            b->s[s][k + 1] = r;
        }
}

static const char wf__bcrypt_b64[] = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

WF__PRIVATE void wf__bcrypt_b64_encode(char *out, const uint8_t *p, size_t n) {
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v =
            (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        int chars = i + 2 < n ? 4 : i + 1 < n ? 3 : 2;
        for (int k = 0; k < chars; k++) out[o++] = wf__bcrypt_b64[(v >> (18 - 6 * k)) & 63];
    }
    out[o] = 0;
}

/* Decode n characters of bcrypt's base64 into out (the unused low bits are ignored, as OpenBSD
   does). Returns false on a character outside the alphabet. */
WF__PRIVATE bool wf__bcrypt_b64_decode(uint8_t *out, size_t outn, const char *s, size_t n) {
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        const char *at = s[i] ? strchr(wf__bcrypt_b64, s[i]) : NULL;
        if (!at) return false;
        acc = acc << 6 | (uint32_t)(at - wf__bcrypt_b64);
        bits += 6;
        if (bits >= 8 && o < outn) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    return o == outn;
}

/* The 23 bytes of a bcrypt hash of pw (truncated to 72 bytes with its NUL) under salt and cost. */
WF__PRIVATE int wf__bcrypt_raw(const char *pw, size_t pn, const uint8_t salt[16], uint32_t cost,
                               uint8_t out[23]) {
    static const char magic[] = "OrpheanBeholderScryDoubt";
    uint8_t key[73];
    size_t kn = WF__MIN(pn, (size_t)72);
    wf__blowfish *b = (wf__blowfish *)WF_MALLOC(NULL, sizeof *b);
    if (!b) return WF_ENOMEM;
    memcpy(key, pw, kn);
    key[kn++] = 0;                  /* the NUL is part of the key ... */
    if (kn > 72) kn = 72;           /* ... within 72 bytes */
    memcpy(b->p, wf__blowfish_pi, sizeof b->p);
    memcpy(b->s, wf__blowfish_pi + 18, sizeof b->s);
    wf__blowfish_expand(b, salt, key, kn);
    for (uint64_t r = 0; r < ((uint64_t)1 << cost); r++) {
        wf__blowfish_expand(b, NULL, key, kn);
        wf__blowfish_expand(b, NULL, salt, 16);
    }
    uint32_t c[6];
    size_t j = 0;
    for (int i = 0; i < 6; i++) c[i] = wf__blowfish_word((const uint8_t *)magic, 24, &j);
    for (int r = 0; r < 64; r++)
        for (int i = 0; i < 6; i += 2) wf__blowfish_encipher(b, &c[i], &c[i + 1]);
    uint8_t all[24];
    for (int i = 0; i < 6; i++) wf__put_be32(all + 4 * i, c[i]);
    memcpy(out, all, 23);
    memset(b, 0, sizeof *b);
    memset(key, 0, sizeof key);
    WF_FREE(NULL, b);
    return 0;
}

/* Split "$2b$12$<22 salt><31 hash>". */
WF__PRIVATE bool wf__bcrypt_parse(const char *h, char *minor, uint32_t *cost, uint8_t salt[16],
                                  uint8_t sum[23]) {
    if (strlen(h) != 60 || h[0] != '$' || h[1] != '2' || !strchr("aby", h[2]) || h[3] != '$' || h[6] != '$')
        return false;
    if (h[4] < '0' || h[4] > '3' || h[5] < '0' || h[5] > '9') return false;
    *minor = h[2];
    *cost = (uint32_t)((h[4] - '0') * 10 + (h[5] - '0'));
    return *cost >= 4 && *cost <= 31 && wf__bcrypt_b64_decode(salt, 16, h + 7, 22) &&
           wf__bcrypt_b64_decode(sum, 23, h + 29, 31);
}

/* The most PBKDF2 rounds a hash may ask for, made or checked (one limit, so a hash made is a hash
   that verifies): past it a stored hash could hold a login thread for minutes. */
#define WF__PBKDF2_MAX_ROUNDS 100000000u

/* Split "$pbkdf2-sha256$rounds$salt$hash" (passlib) or "pbkdf2_sha256$iterations$salt$hash" (Django). */
WF__PRIVATE bool wf__pbkdf2_parse(const char *h, bool *django, uint32_t *iters, const char **salt, size_t *sn,
                                  uint8_t *sum, int *sumn) {
    const char *p;
    if (strncmp(h, "$pbkdf2-sha256$", 15) == 0) {
        *django = false;
        p = h + 15;
    } else if (strncmp(h, "pbkdf2_sha256$", 14) == 0) {
        *django = true;
        p = h + 14;
    } else return false;
    if (!wf__pw_uint(&p, WF__PBKDF2_MAX_ROUNDS, iters) || *p++ != '$') return false;
    const char *d = strchr(p, '$');
    if (!d || (d == p && *django) || strchr(d + 1, '$')) return false;   /* passlib allows an empty salt */
    *salt = p;
    *sn = (size_t)(d - p);
    size_t hn = strlen(d + 1);      /* 32 bytes: 44 characters of base64, 43 of passlib's (no padding) */
    uint8_t scratch[48];            /* decode where any 44 characters fit, then insist on 32 bytes */
    if (hn != (*django ? 44u : 43u)) return false;
    *sumn =
        *django ? wf_base64_decode(scratch, d + 1, hn, false) : wf__passlib_b64_decode(scratch, d + 1, hn);
    if (*sumn != 32) return false;
    memcpy(sum, scratch, 32);
    return true;
}

WF_API int wf_password_hash(char *out, size_t cap, const char *password, size_t n, const wf_pw_opts *opts) {
    wf_pw_opts o;
    uint8_t salt[16], sum[32];
    if (opts) o = *opts;
    else memset(&o, 0, sizeof o);
    if (cap < 128 || !password) return WF_EINVAL;
    if (wf_random(salt, sizeof salt) < 0) return WF_ESYS;
    if (o.scheme == WF_PW_BCRYPT) {
        uint32_t cost = o.rounds ? o.rounds : 12;
        if (cost < 4 || cost > 31) return WF_EINVAL;
        if (wf__bcrypt_raw(password, n, salt, cost, sum) < 0) return WF_ENOMEM;
        int len = snprintf(out, cap, "$2b$%02u$", (unsigned)cost);
        wf__bcrypt_b64_encode(out + len, salt, 16);
        wf__bcrypt_b64_encode(out + len + 22, sum, 23);
        return (int)strlen(out);
    }
    if (o.scheme != WF_PW_PBKDF2_SHA256) return WF_EINVAL;
    uint32_t iters = o.rounds ? o.rounds : 600000;
    if (iters > WF__PBKDF2_MAX_ROUNDS) return WF_EINVAL;
    wf_pbkdf2_sha256(password, n, salt, sizeof salt, iters, sum, 32);
    int len = snprintf(out, cap, "$pbkdf2-sha256$%u$", (unsigned)iters);
    len += (int)wf__passlib_b64_encode(out + len, salt, sizeof salt);
    out[len++] = '$';
    len += (int)wf__passlib_b64_encode(out + len, sum, 32);
    return len;
}

WF_API int wf_password_verify(const char *hash, const char *password, size_t n) {
    uint8_t salt[64], want[32], got[32];
    uint32_t rounds;
    char minor;
    bool django;
    const char *sp;
    size_t sn;
    int sumn;
    if (!hash || !password) return WF_EINVAL;
    if (hash[0] == '$' && hash[1] == '2') {
        if (!wf__bcrypt_parse(hash, &minor, &rounds, salt, want)) return WF_EINVAL;
        if (wf__bcrypt_raw(password, n, salt, rounds, got) < 0) return WF_ENOMEM;
        return wf_ct_equal(got, want, 23) ? 1 : 0;
    }
    if (!wf__pbkdf2_parse(hash, &django, &rounds, &sp, &sn, want, &sumn)) return WF_EINVAL;
    int saltn = django ? (int)sn : (sn > 86 ? WF_EPARSE : wf__passlib_b64_decode(salt, sp, sn));
    if (saltn < 0 || (django && sn > sizeof salt)) return WF_EINVAL;
    if (django) memcpy(salt, sp, sn);          /* Django uses the salt text itself */
    wf_pbkdf2_sha256(password, n, salt, (size_t)saltn, rounds, got, 32);
    return wf_ct_equal(got, want, 32) ? 1 : 0;
}

WF_API bool wf_password_needs_rehash(const char *hash, const wf_pw_opts *opts) {
    wf_pw_opts o;
    uint8_t salt[64], sum[32];
    uint32_t rounds;
    char minor;
    bool django;
    const char *sp;
    size_t sn;
    int sumn;
    if (opts) o = *opts;
    else memset(&o, 0, sizeof o);
    if (!hash) return true;
    if (o.scheme == WF_PW_BCRYPT)
        return !wf__bcrypt_parse(hash, &minor, &rounds, salt, sum) || minor != 'b' ||
               rounds < (o.rounds ? o.rounds : 12);
    return !wf__pbkdf2_parse(hash, &django, &rounds, &sp, &sn, sum, &sumn) || django ||
           rounds < (o.rounds ? o.rounds : 600000);
}

/* ======================================================================
 * >>json  JSON writer and reader
 * ====================================================================== */

/* Separators before a value or a key: a comma after a sibling, nothing right after a key. Checks
   the order: keys only in objects, each followed by one value; one value at the top level. */
WF__PRIVATE bool wf__jw_pre(wf_jw *w, bool is_key) {
    if (w->err) return false;
    if (!w->depth) {
        if (is_key || w->wf__top) w->err = WF_EINVAL;
        w->wf__top = true;
        return !w->err;
    }
    uint32_t lv = w->depth - 1;
    uint64_t bit = (uint64_t)1 << (lv & 63);
    bool in_obj = (w->wf__obj[lv >> 6] & bit) != 0;
    if (in_obj ? is_key == w->wf__key : is_key) {
        w->err = WF_EINVAL;
        return false;
    }
    if (w->wf__key) {
        w->wf__key = false;
        return true;
    }
    if ((w->wf__more[lv >> 6] & bit) && wf_buf_append(w->out, ",", 1) < 0) w->err = WF_ENOMEM;
    w->wf__more[lv >> 6] |= bit;
    return !w->err;
}

WF__PRIVATE void wf__jw_put(wf_jw *w, const char *p, size_t n) {
    if (!w->err && wf_buf_append(w->out, p, n) < 0) w->err = WF_ENOMEM;
}

WF__PRIVATE void wf__jw_open(wf_jw *w, bool obj) {
    if (!wf__jw_pre(w, false)) return;
    if (w->depth >= 128) {
        w->err = WF_EINVAL;
        return;
    }
    uint32_t lv = w->depth;
    uint64_t bit = (uint64_t)1 << (lv & 63);
    w->wf__obj[lv >> 6] = obj ? (w->wf__obj[lv >> 6] | bit) : (w->wf__obj[lv >> 6] & ~bit);
    w->wf__more[lv >> 6] &= ~bit;
    w->depth++;
    wf__jw_put(w, obj ? "{" : "[", 1);
}

WF_API void wf_jw_obj(wf_jw *w) { wf__jw_open(w, true); }
WF_API void wf_jw_arr(wf_jw *w) { wf__jw_open(w, false); }

WF_API void wf_jw_end(wf_jw *w) {
    if (w->err) return;
    if (!w->depth || w->wf__key) {
        w->err = WF_EINVAL;
        return;
    }
    uint32_t lv = w->depth - 1;
    wf__jw_put(w, (w->wf__obj[lv >> 6] >> (lv & 63) & 1) ? "}" : "]", 1);
    w->depth--;
}

/* Append s[0..n) as a JSON string body: escapes, and U+FFFD for bytes that are not UTF-8. */
WF__PRIVATE void wf__jw_escape(wf_jw *w, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    size_t i = 0, run = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        size_t k = c < 0x80 ? 1 : wf__utf8_len((const unsigned char *)s + i, n - i);
        if (c >= 0x20 && c != '"' && c != '\\' && k > 0) {
            i += k;
            run += k;
            continue;
        }
        wf__jw_put(w, s + i - run, run);
        run = 0;
        char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        if (k == 0) {
            wf__jw_put(w, "\xef\xbf\xbd", 3);
            k = wf__utf8_subpart((const unsigned char *)s + i, n - i);
        } else if (c == '"' || c == '\\') {
            e[1] = (char)c;
            wf__jw_put(w, e, 2);
        } else if (c == '\n') wf__jw_put(w, "\\n", 2);
        else if (c == '\r') wf__jw_put(w, "\\r", 2);
        else if (c == '\t') wf__jw_put(w, "\\t", 2);
        else if (c == '\b') wf__jw_put(w, "\\b", 2);
        else if (c == '\f') wf__jw_put(w, "\\f", 2);
        else wf__jw_put(w, e, 6);
        i += k ? k : 1;
    }
    wf__jw_put(w, s + i - run, run);
}

WF_API void wf_jw_keyn(wf_jw *w, const char *key, size_t n) {
    if (!key) {
        if (!w->err) w->err = WF_EINVAL;
        return;
    }
    if (!wf__jw_pre(w, true)) return;
    wf__jw_put(w, "\"", 1);
    wf__jw_escape(w, key, n);
    wf__jw_put(w, "\":", 2);
    w->wf__key = true;
}

WF_API void wf_jw_key(wf_jw *w, const char *key) { wf_jw_keyn(w, key, key ? strlen(key) : 0); }

WF_API void wf_jw_strn(wf_jw *w, const char *s, size_t n) {
    if (!s) {
        wf_jw_null(w);
        return;
    }
    if (!wf__jw_pre(w, false)) return;
    wf__jw_put(w, "\"", 1);
    wf__jw_escape(w, s, n);
    wf__jw_put(w, "\"", 1);
}

WF_API void wf_jw_str(wf_jw *w, const char *s) { wf_jw_strn(w, s, s ? strlen(s) : 0); }

WF_API void wf_jw_int(wf_jw *w, long long v) {
    char t[24];
    if (!wf__jw_pre(w, false)) return;
    size_t n = 0;
    if (v < 0) t[n++] = '-';
    n += wf__utoa(t + n, v < 0 ? 0 - (unsigned long long)v : (unsigned long long)v);
    wf__jw_put(w, t, n);
}

WF_API void wf_jw_uint(wf_jw *w, unsigned long long v) {
    char t[24];
    if (!wf__jw_pre(w, false)) return;
    wf__jw_put(w, t, wf__utoa(t, v));
}

WF_API void wf_jw_bool(wf_jw *w, bool v) {
    if (wf__jw_pre(w, false)) wf__jw_put(w, v ? "true" : "false", v ? 4 : 5);
}

WF_API void wf_jw_null(wf_jw *w) {
    if (wf__jw_pre(w, false)) wf__jw_put(w, "null", 4);
}

WF_API void wf_jw_raw(wf_jw *w, const char *json, size_t n) {
    if (wf__jw_pre(w, false)) wf__jw_put(w, json, n);
}

/* Shortest digits by Schubfach (R. Giulietti, "The Schubfach way to render doubles", 2020): with
   v = c 2^q, k = floor(log10 of the width of v's rounding interval) and g ~ 10^-k scaled to 126 bits,
   v 10^-k and the interval's ends are found exactly enough (rounded to odd, with two extra bits) by
   one 64x128-bit product each; the decimal is then the one multiple of 10^(k+1) inside the interval
   if there is one, else the one of floor(v 10^-k) 10^k and the next up that is inside, or, both being
   inside, the closer (ties even). That is the shortest decimal that reads back as v, and of those the
   closest, as Python's repr (David Gay's dtoa mode 0) picks. Integer arithmetic only. */

#if defined(__SIZEOF_INT128__) && !defined(WF__NO_INT128)
__extension__ typedef unsigned __int128 wf__u128;

/* a * b: the low 64 bits returned, the high ones in *hi. */
WF__PRIVATE uint64_t wf__mul64(uint64_t a, uint64_t b, uint64_t *hi) {
    wf__u128 p = (wf__u128)a * b;
    *hi = (uint64_t)(p >> 64);
    return (uint64_t)p;
}
#else
/* a * b: the low 64 bits returned, the high ones in *hi (portable: four 32x32-bit products). */
WF__PRIVATE uint64_t wf__mul64(uint64_t a, uint64_t b, uint64_t *hi) {
    uint64_t al = a & 0xffffffffu, ah = a >> 32, bl = b & 0xffffffffu, bh = b >> 32;
    uint64_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
    uint64_t mid = (ll >> 32) + (lh & 0xffffffffu) + (hl & 0xffffffffu);
    *hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
    return mid << 32 | (ll & 0xffffffffu);
}
#endif

/* floor(10^e 2^(127 - floor(log2 10^e))) for e = -292, -265, ..., 302 (every 27th power), as high and
   low 64 bits: 4 times Schubfach's g, less one. Made with Python's exact integers (368 bytes). */
static const uint64_t wf__pow10_base[23][2] = {
    {0xff77b1fcbebcdc4fu, 0x25e8e89c13bb0f7au}, {0xce5d73ff402d98e3u, 0xfb0a3d212dc8128fu},
    {0xa6b34ad8c9dfc06fu, 0xf42faa48c0ea481eu}, {0x86a8d39ef77164bcu, 0xae5dff9c02033197u},
    {0xd98ddaee19068c76u, 0x3badd624dd9b0957u}, {0xafbd2350644eeacfu, 0xe5d1929ef90898fau},
    {0x8df5efabc5979c8fu, 0xca8d3ffa1ef463c1u}, {0xe55990879ddcaabdu, 0xcc420a6a101d0515u},
    {0xb94470938fa89bceu, 0xf808e40e8d5b3e69u}, {0x95a8637627989aadu, 0xdde7001379a44aa8u},
    {0xf1c90080baf72cb1u, 0x5324c68b12dd6338u}, {0xc350000000000000u, 0x0000000000000000u},
    {0x9dc5ada82b70b59du, 0xf020000000000000u}, {0xfee50b7025c36a08u, 0x02f236d04753d5b4u},
    {0xcde6fd5e09abcf26u, 0xed4c0226b55e6f86u}, {0xa6539930bf6bff45u, 0x84db8346b786151cu},
    {0x865b86925b9bc5c2u, 0x0b8a2392ba45a9b2u}, {0xd910f7ff28069da4u, 0x1b2ba1518094da04u},
    {0xaf58416654a6babbu, 0x387ac8d1970027b2u}, {0x8da471a9de737e24u, 0x5ceaecfed289e5d2u},
    {0xe4d5e82392a40515u, 0x0fabaf3feaa5334au}, {0xb8da1662e7b00a17u, 0x3d6a751f3b936243u},
    {0x95527a5202df0ccbu, 0x0f37801e0c43ebc8u},
};

/* Bit e + 292 (e = -292..324) is 1 where the base times 5^i, shifted, falls one short of g - 1 (73 of
   the 617). Made with Python's exact integers (80 bytes). */
static const uint64_t wf__pow10_fix[10] = {
    0x09018114e0008000u, 0x0000400000006411u, 0x1080100010002000u, 0x0004865012602010u,
    0x000001f000010000u, 0x0880000000000000u, 0x0088200640004a01u, 0x0000000800004002u,
    0x1106000000400200u, 0x0000007c2102a009u,
};

/* 5^0 .. 5^13 (56 bytes); 5^i for i up to 26 is a product of two. */
static const uint32_t wf__pow5[14] = {1u, 5u, 25u, 125u, 625u, 3125u, 15625u, 78125u, 390625u, 1953125u,
                                      9765625u, 48828125u, 244140625u, 1220703125u};

/* floor(a / 2^s) for a >= -(2^(s+11)), also when a < 0 (where >> is implementation-defined). */
WF__PRIVATE int wf__floor_shr(int64_t a, int s) {
    return (int)((uint64_t)(a + ((int64_t)2048 << s)) >> s) - 2048;
}

/* floor(log2 10^e), floor(log10 2^q) and floor(log10 (3/4) 2^q) for |e| < 330 and |q| < 1100. */
WF__PRIVATE int wf__flog2pow10(int e) { return wf__floor_shr((int64_t)e * 1741647, 19); }
WF__PRIVATE int wf__flog10pow2(int q) { return wf__floor_shr((int64_t)q * 315653, 20); }
WF__PRIVATE int wf__flog10_34pow2(int q) { return wf__floor_shr((int64_t)q * 315653 - 131048, 20); }

/* 2g for 10^e (e = -292..324), g = floor(10^e 2^(125 - floor(log2 10^e))) + 1, in *hi and *lo: the
   base at or below e times 5^(e - base), shifted into place, plus the stored correction. */
WF__PRIVATE void wf__pow10_g(int e, uint64_t *hi, uint64_t *lo) {
    int j = (e + 292) / 27, i = e + 292 - 27 * j;
    unsigned r = (unsigned)(1 + wf__flog2pow10(e) - wf__flog2pow10(e - i) - i);   /* 1..62 */
    uint64_t p5 = (uint64_t)wf__pow5[i > 13 ? 13 : i] * wf__pow5[i > 13 ? i - 13 : 0], x1, y1;
    uint64_t x0 = wf__mul64(wf__pow10_base[j][1], p5, &x1), y0 = wf__mul64(wf__pow10_base[j][0], p5, &y1);
    uint64_t p1 = x1 + y0, p2 = y1 + (p1 < x1);                   /* the product is p2:p1:x0 */
    uint64_t fix = wf__pow10_fix[(e + 292) >> 6] >> ((e + 292) & 63) & 1, add = 2 + 2 * fix;
    *lo = ((x0 >> r | p1 << (64 - r)) & ~(uint64_t)1) + add;
    *hi = (p1 >> r | p2 << (64 - r)) + (*lo < add);
}

/* g2 cp / 2^128 (g2 = 2g), rounded to odd: the floor, with its last bit set if bits 65..127 of the
   product (64..126 of g cp) are not all 0, as in Schubfach's proof; its lowest 64 bits are ignored. */
WF__PRIVATE uint64_t wf__rop(uint64_t ghi, uint64_t glo, uint64_t cp) {
    uint64_t x1, y1, y0;
    (void)wf__mul64(glo, cp, &x1);
    y0 = wf__mul64(ghi, cp, &y1);
    uint64_t mid = x1 + y0;
    return (y1 + (mid < x1)) | (mid > 1);
}

/* v = c 2^q > 0 (not an integer below 2^53) as the shortest, closest f 10^*k in its rounding
   interval, which holds its ends when c is even. */
WF__PRIVATE uint64_t wf__schubfach(uint64_t c, int q, int *k) {
    uint64_t irregular = c == (uint64_t)1 << 52 && q > -1074, out = c & 1, cb = c << 2, ghi, glo;
    *k = irregular ? wf__flog10_34pow2(q) : wf__flog10pow2(q);
    int h = q + wf__flog2pow10(-*k) + 2;
    wf__pow10_g(-*k, &ghi, &glo);
    uint64_t vb = wf__rop(ghi, glo, cb << h), vbl = wf__rop(ghi, glo, (cb - 2 + irregular) << h);
    uint64_t vbr = wf__rop(ghi, glo, (cb + 2) << h), s = vb >> 2, t = s + 1;
    if (s >= 10) {                                   /* one digit fewer: a multiple of 10 inside? */
        uint64_t sp = s / 10 * 10, tp = sp + 10;
        bool upin = vbl + out <= sp << 2, wpin = (tp << 2) + out <= vbr;
        if (upin != wpin) return upin ? sp : tp;
    }
    bool uin = vbl + out <= s << 2, win = (t << 2) + out <= vbr;
    if (uin != win) return uin ? s : t;
    return vb < 4 * s + 2 || (vb == 4 * s + 2 && !(s & 1)) ? s : t;   /* both inside: the closer */
}

/* The 4 digits of x < 10^4, with leading zeros, into p. */
WF__PRIVATE void wf__put4(char *p, uint32_t x) {
    uint32_t a = x / 100, b = x % 100;
    p[0] = (char)('0' + a / 10);
    p[1] = (char)('0' + a % 10);
    p[2] = (char)('0' + b / 10);
    p[3] = (char)('0' + b % 10);
}

/* The digits of f (0 < f < 10^17) times 10^k, without leading or trailing zeros, into digits; their
   count is returned and the exponent of the first in *exp10. */
WF__PRIVATE int wf__put_digits(uint64_t f, int k, char *digits, int *exp10) {
    char t[17];
    int a = 0, b = 17;
    uint32_t hi = (uint32_t)(f / 100000000), lo = (uint32_t)(f % 100000000), mid = hi % 100000000;
    t[0] = (char)('0' + hi / 100000000);
    wf__put4(t + 1, mid / 10000);
    wf__put4(t + 5, mid % 10000);
    wf__put4(t + 9, lo / 10000);
    wf__put4(t + 13, lo % 10000);
    while (t[a] == '0') a++;
    while (t[b - 1] == '0') b--;
    memcpy(digits, t + a, (size_t)(b - a));
    *exp10 = k + 16 - a;
    return b - a;
}

/* Shortest digits of |v|: the fewest significant digits that read back as it and, of those, the
   closest (ties even), without trailing zeros, into digits (17 at most); returns their count, and in
   *exp10 the decimal exponent of the first, as %e writes it. 0 (and NaN and inf) give "0", 0. */
WF__PRIVATE int wf__shortest(double v, char *digits, int *exp10) {
    uint64_t bits, c;
    memcpy(&bits, &v, sizeof bits);
    int be = (int)(bits >> 52 & 0x7ff), q = be ? be - 1075 : -1074, k = 0;
    c = (bits & (((uint64_t)1 << 52) - 1)) | (uint64_t)(be != 0) << 52;
    if (c == 0 || be == 0x7ff) {                                 /* 0; NaN and inf are not for here */
        digits[0] = '0';
        *exp10 = 0;
        return 1;
    }
    if (q <= 0 && q >= -52 && !(c & (((uint64_t)1 << -q) - 1)))   /* an integer below 2^53: itself */
        return wf__put_digits(c >> -q, 0, digits, exp10);
    uint64_t f = wf__schubfach(c, q, &k);
    return wf__put_digits(f, k, digits, exp10);
}

/* v as Python's repr writes it (JSON's number for it) into out, NUL-terminated; returns the length,
   or WF_EINVAL for NaN and infinities. */
WF_API int wf_json_double(char out[32], double v) {
    char d[20];
    int e, n, o = 0;
    if (v != v || v - v != 0) return WF_EINVAL;        /* NaN, +-inf */
    if (signbit(v)) {
        out[o++] = '-';
        v = -v;
    }
    if (v == 0) {
        memcpy(out + o, "0.0", 4);
        return o + 3;
    }
    n = wf__shortest(v, d, &e);
    if (e >= -4 && e < 16) {                            /* fixed, like Python's repr */
        if (e < 0) {
            out[o++] = '0';
            out[o++] = '.';
            for (int z = 0; z < -e - 1; z++) out[o++] = '0';
            for (int i = 0; i < n; i++) out[o++] = d[i];
        } else {
            for (int i = 0; i <= e; i++) out[o++] = i < n ? d[i] : '0';
            out[o++] = '.';
            if (n > e + 1) for (int i = e + 1; i < n; i++) out[o++] = d[i];
            else out[o++] = '0';
        }
    } else {
        out[o++] = d[0];
        if (n > 1) {
            out[o++] = '.';
            for (int i = 1; i < n; i++) out[o++] = d[i];
        }
        out[o++] = 'e';                                 /* e%c%02d: e+16, e-05, e+308 */
        out[o++] = e < 0 ? '-' : '+';
        if (e < 0) e = -e;
        if (e >= 100) out[o++] = (char)('0' + e / 100);
        out[o++] = (char)('0' + e / 10 % 10);
        out[o++] = (char)('0' + e % 10);
    }
    out[o] = 0;
    return o;
}

WF_API void wf_jw_num(wf_jw *w, double v) {
    char t[32];
    int n = wf_json_double(t, v);
    if (n < 0) {
        if (!w->err) w->err = WF_EINVAL;
        return;
    }
    if (wf__jw_pre(w, false)) wf__jw_put(w, t, (size_t)n);
}

/* One value of a pack format at *f; advances *f. */
WF__PRIVATE void wf__pack_one(wf_jw *w, const char **f, va_list *ap) {
    char c = *(*f)++;
    uint32_t lv = w->depth ? w->depth - 1 : 0;
    bool key = w->depth && (w->wf__obj[lv >> 6] >> (lv & 63) & 1) && !w->wf__key && c != '}';
    switch (c) {
    case '{': wf_jw_obj(w); break;
    case '[': wf_jw_arr(w); break;
    case '}': case ']': wf_jw_end(w); break;
    case 's': {
        const char *s = va_arg(*ap, const char *);
        if (key) wf_jw_key(w, s);
        else wf_jw_str(w, s);
        break;
    }
    case 'S': {
        wf_str s = va_arg(*ap, wf_str);
        wf_jw_strn(w, s.ptr, s.len);
        break;
    }
    case 'i': wf_jw_int(w, va_arg(*ap, int)); break;
    case 'I': wf_jw_int(w, va_arg(*ap, long long)); break;
    case 'u': wf_jw_uint(w, va_arg(*ap, unsigned)); break;
    case 'f': wf_jw_num(w, va_arg(*ap, double)); break;
    case 'b': wf_jw_bool(w, va_arg(*ap, int) != 0); break;
    case 'n': wf_jw_null(w); break;
    case 'j': {
        const char *j = va_arg(*ap, const char *);
        if (j) wf_jw_raw(w, j, strlen(j));
        else wf_jw_null(w);
        break;
    }
    case ' ': case ':': case ',': case '\t': case '\n': break;
    default: if (!w->err) w->err = WF_EINVAL; break;
    }
}

#ifndef WF_JSON_CHECK
#ifdef NDEBUG
#define WF_JSON_CHECK 0
#else
#define WF_JSON_CHECK 1
#endif
#endif

/* What is wrong with a wf_json_pack format, read without its arguments (*at: where), or NULL. */
WF__PRIVATE const char *wf__pack_format_error(const char *fmt, size_t *at) {
    uint8_t obj[128];           /* per open level: 1 an object, 2 an object whose value is due */
    int depth = 0;
    bool top = false;
    for (size_t i = 0; fmt[i]; i++) {
        char c = fmt[i];
        *at = i;
        if (strchr(" :,\t\n", c)) continue;
        if (!strchr("{}[]sSiIufbnj", c)) return "an unknown letter (s S i I u f b n j { } [ ])";
        bool closing = c == '}' || c == ']';
        if (!closing && !depth && top) return "a second value at the top level";
        if (closing) {
            if (!depth || (c == '}') != (obj[depth - 1] != 0)) return "a bracket that closes nothing open";
            if (obj[depth - 1] == 2) return "a key without its value";
            depth--;
        } else if (depth && obj[depth - 1] == 1) {          /* an object's key is due */
            if (c != 's') return "an object's key must be s";
            obj[depth - 1] = 2;
            continue;
        } else if (depth) {
            if (obj[depth - 1] == 2) obj[depth - 1] = 1;
        }
        if (!depth) top = true;
        if (c == '{' || c == '[') {
            if (depth == (int)sizeof obj) return "nested too deep";
            obj[depth++] = c == '{';
        }
    }
    return depth ? "a bracket left open" : !top ? "no value" : NULL;
}

/* In debug builds: a format or argument wf_json_pack cannot use is a bug in the program, said on
   stderr with the format and where, then abort (wf_json_pack would otherwise read its arguments
   as the wrong types, or answer 500 without saying why). */
WF__PRIVATE void wf__pack_refuse(const char *fmt, size_t at, const char *why) {
    fprintf(stderr, "webfw: wf_json_pack(\"%s\"): at %zu ('%c'): %s\n", fmt, at, fmt[at] ? fmt[at] : ' ',
            why);
    abort();
}

/* Debug builds: arguments that cannot be what the format says (a small integer for a pointer, a
   wf_str with an impossible length): checked on a copy of the arguments, before any is used. */
WF__PRIVATE void wf__pack_check_args(const char *fmt, va_list ap) {
    va_list cp;
    va_copy(cp, ap);
    for (size_t i = 0; fmt[i]; i++) {
        const char *why = NULL;
        switch (fmt[i]) {
        case 's': case 'j': {
            uintptr_t p = (uintptr_t)va_arg(cp, const char *);
            if (p && p < 4096) why = "a small integer where a const char * is due (s/j)";
            break;
        }
        case 'S': {
            wf_str v = va_arg(cp, wf_str);
            uintptr_t p = (uintptr_t)v.ptr;
            if ((!p && v.len) || v.len > ((size_t)1 << 40) || (p && p < 4096))
                why = "not a wf_str (S): a char * given instead? use s";
            break;
        }
        case 'i': case 'b': (void)va_arg(cp, int); break;
        case 'u': (void)va_arg(cp, unsigned); break;
        case 'I': (void)va_arg(cp, long long); break;
        case 'f': (void)va_arg(cp, double); break;
        default: break;
        }
        if (why) {
            va_end(cp);
            wf__pack_refuse(fmt, i, why);
        }
    }
    va_end(cp);
}

WF__PRIVATE int wf__json_vpack(wf_buf *b, const char *fmt, va_list ap) {
    wf_jw w;
    va_list cp;
    size_t mark = b->len, at = 0;
    const char *bad = WF_JSON_CHECK ? wf__pack_format_error(fmt, &at) : NULL;
    if (bad) wf__pack_refuse(fmt, at, bad);
    if (WF_JSON_CHECK) wf__pack_check_args(fmt, ap);
    memset(&w, 0, sizeof w);
    w.out = b;
    va_copy(cp, ap);
    while (*fmt && !w.err) wf__pack_one(&w, &fmt, &cp);
    va_end(cp);
    if (!w.err && (w.depth || w.wf__key)) w.err = WF_EINVAL;
    if (w.err && b->ptr) b->ptr[b->len = mark] = 0;
    return w.err;
}

WF_API int wf_json_pack(wf_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int rc = wf__json_vpack(b, fmt, ap);
    va_end(ap);
    return rc;
}

/* ---- the reader ----
   A document is one allocation: an array of 8-byte entries in document order (a tape), then the
   text of its strings, keys and longer numbers. A container's entry is followed by its children
   (an object member's value by its key's entry) and says how many entries it spans, so the next
   sibling is found at once; a string or key says its length and where its text is, relative to
   the entry itself (so an entry made anywhere with its text behind it reads the same); a number
   of up to 7 characters keeps its text in the entry. Numbers are converted when asked for. A parse
   runs twice over the text: once to check it and count, once to fill exactly what was counted, so
   a document costs at most 4 bytes per byte of input ("[0,0,...]", the worst case). */

#define WF__JT_TYPE 7u          /* the wf_json_type, or WF__JT_KEY */
#define WF__JT_KEY 7u           /* an object member's key: its value is the next entry */
#define WF__JT_MEMBER 8u        /* an object member's value: its key is the entry before */
#define WF__JT_FLAG 16u         /* a bool that is true; a number written without fraction or exponent */
#define WF__JT_LAST 32u         /* the last child of its container */
#define WF__JT_INLINE 64u       /* a number whose text is in the entry */
#define WF__JLEN_LONG 0xFFFFFFu /* len: the length is a size_t just before the text */
#define WF__JSON_MAX_TEXT ((size_t)512 << 20)   /* the longest text a document is made from */

struct wf_jval {
    uint8_t tag;                /* WF__JT_* */
    uint8_t len[3];             /* a text's length, or a container's children (saturating) */
    uint32_t rel;               /* a text: at (char *)this + rel; a container: the entries it spans */
};

typedef struct wf__json_reader {
    const char *p, *s, *end;
    wf_jval *nodes;             /* NULL in the counting pass */
    uint32_t n;                 /* entries so far */
    char *text;                 /* strings, keys and long numbers go here (filling pass) */
    size_t tlen;
    int depth, max_depth;
    const char *err;
    int rc;
} wf__json_reader;

WF__PRIVATE uint32_t wf__jlen(const wf_jval *v) {
    return (uint32_t)v->len[0] | (uint32_t)v->len[1] << 8 | (uint32_t)v->len[2] << 16;
}

WF__PRIVATE void wf__jset_len(wf_jval *v, size_t n) {
    uint32_t k = n >= WF__JLEN_LONG ? WF__JLEN_LONG : (uint32_t)n;
    v->len[0] = (uint8_t)k;
    v->len[1] = (uint8_t)(k >> 8);
    v->len[2] = (uint8_t)(k >> 16);
}

/* The text of a string, key or number entry. */
WF__PRIVATE wf_str wf__jtext(const wf_jval *v) {
    wf_str s;
    if (v->tag & WF__JT_INLINE) {
        s.ptr = (const char *)v + 1;
        s.len = 0;
        while (s.len < 7 && s.ptr[s.len]) s.len++;
        return s;
    }
    size_t n = wf__jlen(v);
    s.ptr = (const char *)v + v->rel;
    if (n == WF__JLEN_LONG) memcpy(&n, s.ptr - sizeof n, sizeof n);
    s.len = n;
    return s;
}

/* Room a text of n bytes takes after its entry (with its length before it when long). */
WF__PRIVATE size_t wf__jtext_room(size_t n) { return n >= WF__JLEN_LONG ? n + sizeof(size_t) : n; }

/* Entry v gets text t (already in place at dst, which has wf__jtext_room before it as needed). */
WF__PRIVATE void wf__jset_text(wf_jval *v, const char *dst, size_t n) {
    wf__jset_len(v, n);
    if (n >= WF__JLEN_LONG) memcpy((char *)(uintptr_t)dst - sizeof n, &n, sizeof n);
    v->rel = (uint32_t)(dst - (const char *)v);
}

/* A string entry made at mem (wf__jval_str_size(n) bytes) for n bytes of text p: a value the
   document does not hold (pydantic's dict() of a pair). */
#define wf__jval_str_size(n) (sizeof(wf_jval) + wf__jtext_room(n))
WF__PRIVATE const wf_jval *wf__jval_str_make(void *mem, const char *p, size_t n) {
    wf_jval *v = (wf_jval *)mem;
    char *dst = (char *)mem + sizeof *v + (n >= WF__JLEN_LONG ? sizeof n : 0);
    memset(v, 0, sizeof *v);
    v->tag = WF_JSON_STRING;
    if (n) memcpy(dst, p, n);
    wf__jset_text(v, dst, n);
    return v;
}

WF__PRIVATE int wf__json_read_fail(wf__json_reader *j, const char *at, const char *why) {
    if (!j->err) {
        j->err = why;
        j->p = at;
    }
    return -1;
}

WF__PRIVATE void wf__json_read_ws(wf__json_reader *j) {
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++;
}

/* A new entry of type (filled in the second pass); its index. */
WF__PRIVATE uint32_t wf__json_read_node(wf__json_reader *j, unsigned type) {
    if (j->nodes) {
        wf_jval *v = &j->nodes[j->n];
        memset(v, 0, sizeof *v);
        v->tag = (uint8_t)type;
    }
    return j->n++;
}

WF__PRIVATE int wf__json_read_hex4(const char *p, const char *end, uint32_t *cp) {
    *cp = 0;
    if (end - p < 4) return -1;
    for (int i = 0; i < 4; i++) {
        int h = wf__hexval((unsigned char)p[i]);
        if (h < 0) return -1;
        *cp = *cp << 4 | (uint32_t)h;
    }
    return 0;
}

/* Append n bytes of decoded string text (the filling pass writes them, the counting one counts). */
WF__PRIVATE void wf__json_put(wf__json_reader *j, char *o, size_t *at, const char *p, size_t n) {
    if (j->nodes) memcpy(o + *at, p, n);
    *at += n;
}

/* One escape at j->p (on the backslash) decoded into o at *at. */
WF__PRIVATE int wf__json_read_escape(wf__json_reader *j, char *o, size_t *at) {
    static const char map[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
    char e = j->p[1], u[4];
    const char *m = e ? strchr(map, e) : NULL;
    if (m && ((m - map) % 2) == 0) {
        wf__json_put(j, o, at, m + 1, 1);
        j->p += 2;
        return 0;
    }
    uint32_t cp, lo;
    if (e != 'u') return wf__json_read_fail(j, j->p, "Invalid \\escape");
    if (wf__json_read_hex4(j->p + 2, j->end, &cp) < 0)
        return wf__json_read_fail(j, j->p + 1, "Invalid \\uXXXX escape");
    j->p += 6;
    if (cp >= 0xdc00 && cp <= 0xdfff)
        return wf__json_read_fail(j, j->p - 6, "Invalid \\uXXXX escape: lone surrogate");
    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u' ||
            wf__json_read_hex4(j->p + 2, j->end, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
            return wf__json_read_fail(j, j->p - 6, "Invalid \\uXXXX escape: lone surrogate");
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        j->p += 6;
    }
    size_t k = 0;
    wf__utf8_put(u, &k, cp);
    wf__json_put(j, o, at, u, k);
    return 0;
}

/* A string at j->p (on the quote), decoded into the document's text as entry idx's. */
WF__PRIVATE int wf__json_read_string(wf__json_reader *j, uint32_t idx) {
    const char *start = j->p++;
    /* the counting pass reserves the raw length (escapes only shrink), the filling pass the decoded,
       after room for the length when the raw one is that long */
    char *o = NULL;
    size_t n = 0, room_before = 0;
    if (j->nodes) {
        const char *q = j->p;
        while (q < j->end && *q != '"') q += *q == '\\' && q + 1 < j->end ? 2 : 1;
        room_before = (size_t)(q - j->p) >= WF__JLEN_LONG ? sizeof(size_t) : 0;
        o = j->text + j->tlen + room_before;
    }
    while (j->p < j->end) {
        unsigned char c = (unsigned char)*j->p;
        if (c == '"') {
            j->p++;
            if (j->nodes) wf__jset_text(&j->nodes[idx], o, n);
            j->tlen += j->nodes ? room_before + n : wf__jtext_room((size_t)(j->p - start - 2));
            return 0;
        }
        if (c < 0x20) return wf__json_read_fail(j, j->p, "Invalid control character at");
        if (c >= 0x80) {
            size_t k = wf__utf8_len((const unsigned char *)j->p, (size_t)(j->end - j->p));
            if (!k) return wf__json_read_fail(j, j->p, "Invalid UTF-8");
            wf__json_put(j, o, &n, j->p, k);
            j->p += k;
        } else if (c != '\\') {
            wf__json_put(j, o, &n, j->p, 1);
            j->p++;
        } else if (j->p + 1 >= j->end) {
            break;
        } else if (wf__json_read_escape(j, o, &n) < 0) {
            return -1;
        }
    }
    return wf__json_read_fail(j, start, "Unterminated string starting at");
}

/* A number literal's value as C reads it (the literal is valid JSON). */
WF__PRIVATE double wf__json_number_value(wf_str t) {
    char buf[64], *copy = t.len < sizeof buf ? buf : (char *)wf__alloc(t.len + 1);
    if (!copy) return 0;
    memcpy(copy, t.ptr, t.len);
    copy[t.len] = 0;
    double v = wf__strtod(copy, NULL);
    if (copy != buf) WF_FREE(NULL, copy);
    return v;
}

/* A number by RFC 8259's grammar: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
WF__PRIVATE int wf__json_read_number(wf__json_reader *j, uint32_t idx) {
    const char *s = j->p, *p = s;
    bool frac = false;
    if (p < j->end && *p == '-') p++;
    if (p < j->end && *p == '0') p++;
    else if (p < j->end && *p >= '1' && *p <= '9') while (p < j->end && *p >= '0' && *p <= '9') p++;
    else return wf__json_read_fail(j, s, "Expecting value");
    /* a fraction or an exponent belongs to the number only when complete: "1." and "1e" are the
       number 1 followed by something else, as Python's scanner reads them (and reports) */
    if (p + 1 < j->end && *p == '.' && p[1] >= '0' && p[1] <= '9') {
        frac = true;
        p++;
        while (p < j->end && *p >= '0' && *p <= '9') p++;
    }
    if (p < j->end && (*p == 'e' || *p == 'E')) {
        const char *q = p + 1;
        if (q < j->end && (*q == '+' || *q == '-')) q++;
        if (q < j->end && *q >= '0' && *q <= '9') {
            frac = true;
            p = q;
            while (p < j->end && *p >= '0' && *p <= '9') p++;
        }
    }
    wf_str lit = {s, (size_t)(p - s)};
    if (!j->nodes) {                    /* counting: check the range once, reserve the text */
        double v = wf__json_number_value(lit);
        if (v - v != 0) return wf__json_read_fail(j, s, "Number out of range");
        if (lit.len > 7) j->tlen += wf__jtext_room(lit.len);
    } else {
        wf_jval *v = &j->nodes[idx];
        if (!frac) v->tag |= WF__JT_FLAG;
        if (lit.len <= 7) {
            v->tag |= WF__JT_INLINE;
            memcpy((char *)v + 1, s, lit.len);
        } else {
            char *dst = j->text + j->tlen + (lit.len >= WF__JLEN_LONG ? sizeof(size_t) : 0);
            memcpy(dst, s, lit.len);
            wf__jset_text(v, dst, lit.len);
            j->tlen += wf__jtext_room(lit.len);
        }
    }
    j->p = p;
    return 0;
}

WF__PRIVATE int wf__json_read_value(wf__json_reader *j);

/* The members of an object or the elements of an array, after the opening bracket; idx is the
   container's entry, which then gets its span, its count and its last child's mark. */
WF__PRIVATE int wf__json_read_container(wf__json_reader *j, uint32_t idx, bool obj) {
    uint32_t last = 0, count = 0;
    bool any = false;
    if (++j->depth > j->max_depth) {
        j->rc = WF_ETOOBIG;
        return wf__json_read_fail(j, j->p, "Too deeply nested");
    }
    j->p++;
    wf__json_read_ws(j);
    bool empty = j->p < j->end && *j->p == (obj ? '}' : ']');
    while (!empty) {
        wf__json_read_ws(j);
        if (obj) {
            if (j->p >= j->end || *j->p != '"')
                return wf__json_read_fail(j, j->p, "Expecting property name enclosed in double quotes");
            if (wf__json_read_string(j, wf__json_read_node(j, WF__JT_KEY)) < 0) return -1;
            wf__json_read_ws(j);
            if (j->p >= j->end || *j->p != ':') return wf__json_read_fail(j, j->p, "Expecting ':' delimiter");
            j->p++;
        }
        last = j->n;
        if (wf__json_read_value(j) < 0) return -1;
        if (j->nodes && obj) j->nodes[last].tag |= WF__JT_MEMBER;
        count += count < WF__JLEN_LONG;
        any = true;
        wf__json_read_ws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            continue;
        }
        if (j->p < j->end && *j->p == (obj ? '}' : ']')) break;
        return wf__json_read_fail(j, j->p, "Expecting ',' delimiter");
    }
    j->p++;
    j->depth--;
    if (j->nodes) {
        if (any) j->nodes[last].tag |= WF__JT_LAST;
        wf__jset_len(&j->nodes[idx], count);
        j->nodes[idx].rel = j->n - idx;
    }
    return 0;
}

WF__PRIVATE int wf__json_read_value(wf__json_reader *j) {
    wf__json_read_ws(j);
    if (j->p >= j->end) return wf__json_read_fail(j, j->p, "Expecting value");
    char c = *j->p;
    if (c == '{' || c == '[')
        return wf__json_read_container(j, wf__json_read_node(j, c == '{' ? WF_JSON_OBJECT : WF_JSON_ARRAY),
                                       c == '{');
    if (c == '"') return wf__json_read_string(j, wf__json_read_node(j, WF_JSON_STRING));
    static const struct { const char *word; unsigned tag; } lits[] = {
        {"true", WF_JSON_BOOL | WF__JT_FLAG}, {"false", WF_JSON_BOOL}, {"null", WF_JSON_NULL}};
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(lits[i].word);
        if ((size_t)(j->end - j->p) >= n && memcmp(j->p, lits[i].word, n) == 0) {
            wf__json_read_node(j, lits[i].tag);
            j->p += n;
            return 0;
        }
    }
    return wf__json_read_number(j, wf__json_read_node(j, WF_JSON_NUMBER));
}

/* One pass over text: 0, or -1 with j->err and j->p saying what and where. */
WF__PRIVATE int wf__json_pass(wf__json_reader *j, const char *text, size_t len) {
    j->s = j->p = text;
    j->end = text + len;
    j->n = 0;
    j->tlen = 0;
    j->depth = 0;
    if (wf__json_read_value(j) < 0) return -1;
    wf__json_read_ws(j);
    return j->p < j->end ? wf__json_read_fail(j, j->p, "Extra data") : 0;
}

WF_API int wf_json_parse(const char *text, size_t len, int max_depth, wf_json_doc *doc) {
    wf__json_reader j;
    memset(doc, 0, sizeof doc[0]);
    memset(&j, 0, sizeof j);
    if (len > WF__JSON_MAX_TEXT) return WF_ETOOBIG;
    j.max_depth = max_depth > 0 ? max_depth : 128;
    j.rc = WF_EPARSE;
    if (wf__json_pass(&j, text, len) < 0) {        /* check and count */
        doc->err = j.err;
        doc->err_offset = (size_t)(j.p - text);
        return j.rc;
    }
    size_t nodes = (size_t)j.n * sizeof(wf_jval), tlen = j.tlen;
    char *mem = (char *)wf__alloc(nodes + tlen + 1);
    if (!mem) return WF_ENOMEM;
    j.nodes = (wf_jval *)(void *)mem;
    j.text = mem + nodes;
    wf__json_pass(&j, text, len);                   /* fill: the same text cannot fail now */
    doc->root = j.nodes;
    doc->wf__mem = mem;
    return 0;
}

WF_API void wf_json_free(wf_json_doc *doc) {
    WF_FREE(NULL, doc->wf__mem);
    doc->wf__mem = NULL;
    doc->root = NULL;
}

WF_API wf_json_type wf_json_typeof(const wf_jval *v) {
    return v ? (wf_json_type)(v->tag & WF__JT_TYPE) : WF_JSON_NONE;
}

/* The entries v spans (a container: itself and everything in it). */
WF__PRIVATE uint32_t wf__jspan(const wf_jval *v) {
    return (v->tag & WF__JT_TYPE) >= WF_JSON_ARRAY && (v->tag & WF__JT_TYPE) != WF__JT_KEY ? v->rel : 1;
}

WF_API const wf_jval *wf_json_first(const wf_jval *c) {
    int t = wf_json_typeof(c);
    if ((t != WF_JSON_ARRAY && t != WF_JSON_OBJECT) || c->rel == 1) return NULL;
    return c + (t == WF_JSON_OBJECT ? 2 : 1);       /* an object's first entry is its first key */
}

WF_API const wf_jval *wf_json_next(const wf_jval *v) {
    if (!v || (v->tag & WF__JT_LAST)) return NULL;
    const wf_jval *n = v + wf__jspan(v);
    return (v->tag & WF__JT_MEMBER) ? n + 1 : n;
}

WF_API size_t wf_json_len(const wf_jval *v) {
    int t = wf_json_typeof(v);
    if (t != WF_JSON_ARRAY && t != WF_JSON_OBJECT) return 0;
    size_t n = wf__jlen(v);
    if (n < WF__JLEN_LONG) return n;
    n = 0;                              /* more than the entry can say: count them */
    for (const wf_jval *m = wf_json_first(v); m; m = wf_json_next(m)) n++;
    return n;
}

WF_API wf_str wf_json_key(const wf_jval *m) {
    wf_str none = {NULL, 0};
    return m && (m->tag & WF__JT_MEMBER) ? wf__jtext(m - 1) : none;
}

WF_API const wf_jval *wf_json_get(const wf_jval *obj, const char *key) {
    const wf_jval *found = NULL;
    if (wf_json_typeof(obj) != WF_JSON_OBJECT) return NULL;
    for (const wf_jval *m = wf_json_first(obj); m; m = wf_json_next(m))
        if (wf_str_eq(wf_json_key(m), key)) found = m;
    return found;
}

WF_API const wf_jval *wf_json_at(const wf_jval *arr, size_t i) {
    if (wf_json_typeof(arr) != WF_JSON_ARRAY) return NULL;
    const wf_jval *m = wf_json_first(arr);
    while (m && i--) m = wf_json_next(m);
    return m;
}

WF_API const wf_jval *wf_json_path(const wf_jval *v, const char *path) {
    char seg[256];
    while (v && path && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof seg) return NULL;
        memcpy(seg, path, n);
        seg[n] = 0;
        if (wf_json_typeof(v) == WF_JSON_ARRAY) {
            char *e;
            unsigned long long i = strtoull(seg, &e, 10);
            v = (n && !*e && seg[0] >= '0' && seg[0] <= '9') ? wf_json_at(v, (size_t)i) : NULL;
        } else {
            v = wf_json_get(v, seg);
        }
        path = dot ? dot + 1 : NULL;
    }
    return v;
}

WF_API bool wf_json_str(const wf_jval *v, wf_str *out) {
    if (wf_json_typeof(v) != WF_JSON_STRING) return false;
    *out = wf__jtext(v);
    return true;
}

WF_API bool wf_json_num(const wf_jval *v, double *out) {
    if (wf_json_typeof(v) != WF_JSON_NUMBER) return false;
    *out = wf__json_number_value(wf__jtext(v));
    return true;
}

/* A number written without fraction or exponent, and its text (pydantic's str() of an int). */
WF__PRIVATE bool wf__json_int_literal(const wf_jval *v, wf_str *text) {
    if (wf_json_typeof(v) != WF_JSON_NUMBER || !(v->tag & WF__JT_FLAG)) return false;
    *text = wf__jtext(v);
    return true;
}

WF_API bool wf_json_int(const wf_jval *v, long long *out) {
    wf_str t;
    if (!wf__json_int_literal(v, &t)) return false;
    unsigned long long u = 0;           /* -?digits: exact when it fits in 64 bits */
    bool neg = t.ptr[0] == '-';
    for (size_t i = neg; i < t.len; i++) {
        if (u > (ULLONG_MAX - 9) / 10) return false;
        u = u * 10 + (unsigned long long)(t.ptr[i] - '0');
    }
    if (u > (unsigned long long)LLONG_MAX + neg) return false;
    *out = neg ? (long long)(0 - u) : (long long)u;
    return true;
}

WF_API bool wf_json_bool(const wf_jval *v, bool *out) {
    if (wf_json_typeof(v) != WF_JSON_BOOL) return false;
    *out = (v->tag & WF__JT_FLAG) != 0;
    return true;
}

WF_API void wf_jw_value(wf_jw *w, const wf_jval *v) {
    const wf_jval *m;
    wf_str t;
    long long i;
    double f;
    bool b;
    switch (wf_json_typeof(v)) {
    case WF_JSON_OBJECT:
        wf_jw_obj(w);
        for (m = wf_json_first(v); m; m = wf_json_next(m)) {
            t = wf_json_key(m);
            wf_jw_keyn(w, t.ptr, t.len);
            wf_jw_value(w, m);
        }
        wf_jw_end(w);
        break;
    case WF_JSON_ARRAY:
        wf_jw_arr(w);
        for (m = wf_json_first(v); m; m = wf_json_next(m)) wf_jw_value(w, m);
        wf_jw_end(w);
        break;
    case WF_JSON_STRING: t = wf__jtext(v), wf_jw_strn(w, t.ptr, t.len); break;
    case WF_JSON_NUMBER:
        if (wf_json_int(v, &i)) wf_jw_int(w, i);
        else if (wf__json_int_literal(v, &t)) wf_jw_raw(w, t.ptr, t.len);  /* past 64 bits: as written */
        else if (wf_json_num(v, &f)) wf_jw_num(w, f);
        break;
    case WF_JSON_BOOL: wf_json_bool(v, &b), wf_jw_bool(w, b); break;
    case WF_JSON_NULL: wf_jw_null(w); break;
    default: if (!w->err) w->err = WF_EINVAL; break;
    }
}

/* ---- typed members (WF_KV) ---- */

WF__PRIVATE wf_kv wf__kv(const char *key, int type) {
    wf_kv kv;
    memset(&kv, 0, sizeof kv);
    kv.key = key;
    kv.type = type;
    return kv;
}

WF_API wf_kv wf_kv_int(const char *key, long long v) {
    wf_kv kv = wf__kv(key, WF_KV_INT);
    kv.as.i = v;
    return kv;
}

WF_API wf_kv wf_kv_uint(const char *key, unsigned long long v) {
    wf_kv kv = wf__kv(key, WF_KV_UINT);
    kv.as.u = v;
    return kv;
}

WF_API wf_kv wf_kv_num(const char *key, double v) {
    wf_kv kv = wf__kv(key, WF_KV_NUM);
    kv.as.f = v;
    return kv;
}

WF_API wf_kv wf_kv_bool(const char *key, bool v) {
    wf_kv kv = wf__kv(key, WF_KV_BOOL);
    kv.as.b = v;
    return kv;
}

WF_API wf_kv wf_kv_str(const char *key, const char *v) {
    wf_kv kv = wf__kv(key, WF_KV_STR);
    kv.as.s = v;
    return kv;
}

WF_API wf_kv wf_kv_view(const char *key, wf_str v) {
    wf_kv kv = wf__kv(key, WF_KV_VIEW);
    kv.as.v = v;
    return kv;
}

WF_API wf_kv wf_kv_jval(const char *key, const wf_jval *v) {
    wf_kv kv = wf__kv(key, WF_KV_JVAL);
    kv.as.j = v;
    return kv;
}

WF_API wf_kv wf_kv_raw(const char *key, const char *json) {
    wf_kv kv = wf__kv(key, json ? WF_KV_RAWJSON : WF_KV_NULLV);
    kv.as.s = json;
    return kv;
}

WF_API wf_kv wf__kv_null(const char *key, const void *v) {
    (void)v;                    /* NULL, the one void * a member can be */
    return wf__kv(key, WF_KV_NULLV);
}

WF_API void wf_jw_kvs(wf_jw *w, const wf_kv *kv, size_t n) {
    wf_jw_obj(w);
    for (size_t i = 0; i < n; i++) {
        const wf_kv *m = &kv[i];
        wf_jw_key(w, m->key);
        switch (m->type) {
        case WF_KV_INT: wf_jw_int(w, m->as.i); break;
        case WF_KV_UINT: wf_jw_uint(w, m->as.u); break;
        case WF_KV_NUM: wf_jw_num(w, m->as.f); break;
        case WF_KV_BOOL: wf_jw_bool(w, m->as.b); break;
        case WF_KV_STR: wf_jw_str(w, m->as.s); break;
        case WF_KV_VIEW: wf_jw_strn(w, m->as.v.ptr, m->as.v.len); break;
        case WF_KV_JVAL: wf_jw_value(w, m->as.j); break;
        case WF_KV_RAWJSON: wf_jw_raw(w, m->as.s, strlen(m->as.s)); break;
        default: wf_jw_null(w); break;
        }
    }
    wf_jw_end(w);
}

WF_API int wf_json_kvs(wf_buf *b, const wf_kv *kv, size_t n) {
    wf_jw w;
    size_t mark = b->len;
    memset(&w, 0, sizeof w);
    w.out = b;
    wf_jw_kvs(&w, kv, n);
    if (w.err && b->ptr) b->ptr[b->len = mark] = 0;
    return w.err;
}

/* ======================================================================
 * >>http  HTTP/1.1: request parser, chunked decoder, response head and chunk writers
 * ====================================================================== */

/* Character classes of RFC 9110: tchar (tokens: alphanumerics and !#$%&'*+-.^_`|~), field-value
   bytes (HTAB, SP, VCHAR, obs-text), request-target bytes (VCHAR), hex digits. */
enum { WF__C_TOKEN = 1, WF__C_VALUE = 2, WF__C_TARGET = 4, WF__C_HEX = 8 };

/* The class bits of every byte, as a constant table (generated from the definitions above). */
static const unsigned char wf__ctab[256] = {
    0,0,0,0,0,0,0,0,0,2,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
    2,7,6,7,7,7,7,7,6,6,7,7,6,7,7,6,15,15,15,15,15,15,15,15,15,15,6,6,6,6,6,6,
    6,15,15,15,15,15,15,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,6,6,6,7,7,
    7,15,15,15,15,15,15,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,6,7,6,7,0,
    2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,
    2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,
    2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,
    2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,
};

#define WF__IS(c, cls) (wf__ctab[(unsigned char)(c)] & (cls))

enum { WF__HS_START, WF__HS_LINE, WF__HS_FIELDS, WF__HS_DONE };
/* wf__te bits: what Transfer-Encoding said */
/* wf__flags bits */
enum { WF__HF_CLOSE = 1, WF__HF_KEEPALIVE = 2, WF__HF_ABSOLUTE = 4 };
enum { WF__TE_SEEN = 1, WF__TE_CHUNKED = 2, WF__TE_CHUNKED_LAST = 4, WF__TE_TWICE = 8,
       WF__TE_OTHER = 16, WF__TE_BAD = 32 };

WF_API void wf_http_head_init(wf_http_head *h, wf_http_field *fields, uint32_t max_fields) {
    uint32_t line = h->max_line, head = h->max_head;
    memset(h, 0, sizeof *h);
    h->max_line = wf__def(line, WF__DEFAULT_MAX_LINE);
    h->max_head = wf__def(head, WF__DEFAULT_MAX_HEAD);
    h->fields = fields;
    h->max_fields = max_fields;
    h->content_length = -1;
}

WF_API wf_str wf_span_str(const char *buf, wf_span s) {
    wf_str r;
    r.ptr = buf + s.off;
    r.len = s.len;
    return r;
}

WF__PRIVATE int wf__head_fail(wf_http_head *h, int status, const char *why) {
    h->status = status;
    h->error = why;
    h->wf__state = WF__HS_DONE;
    return (status == 414 || status == 431) ? WF_ETOOBIG : WF_EPARSE;
}

WF__PRIVATE wf_span wf__span(size_t off, size_t len) {
    wf_span s;
    s.off = (uint32_t)off;
    s.len = (uint32_t)len;
    return s;
}

/* host = IP-literal / IPv4address / reg-name, then optional ":" port */
WF__PRIVATE bool wf__host_valid(const char *v, size_t n) {
    size_t i = 0;
    if (n && v[0] == '[') {
        while (i < n && v[i] != ']') {
            char c = v[i];
            if (i && !(WF__IS(c, WF__C_HEX) || c == ':' || c == '.' || c == 'v' || c == 'V')) return false;
            i++;
        }
        if (i >= n) return false;
        i++;
    } else {
        for (; i < n && v[i] != ':'; i++) {
            char c = v[i];
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  strchr("-._~%!$&'()*+,;=", c)))
                return false;
        }
    }
    if (i == n) return true;
    if (v[i] != ':') return false;
    for (i++; i < n; i++)
        if (v[i] < '0' || v[i] > '9') return false;
    return true;
}

/* Split an absolute-form or origin-form target into path and query; drops a fragment. */
WF__PRIVATE int wf__parse_target(wf_http_head *h, const char *buf) {
    const char *t = buf + h->target.off;
    size_t n = h->target.len, i = 0, end = n;
    for (size_t k = 0; k < n; k++) {
        if (t[k] == '#') { end = k; break; }
    }
    if (h->method.len == 7 && memcmp(buf + h->method.off, "CONNECT", 7) == 0) {
        /* authority-form, host ":" port, and only that (RFC 9112 3.2.3); the router sees it as the path */
        const char *colon = NULL;
        for (size_t k = 0; k < n; k++)
            if (t[k] == ':') colon = t + k;
        size_t hl = colon ? (size_t)(colon - t) : 0, pl = colon ? n - hl - 1 : 0;
        unsigned pv = 0;
        bool port = pl > 0 && pl <= 5;
        for (size_t k = 0; port && k < pl; k++) {
            port = colon[1 + k] >= '0' && colon[1 + k] <= '9';
            pv = pv * 10 + (unsigned)(colon[1 + k] - '0');
        }
        bool v6 = hl && t[0] == '[';    /* a colon in the host only inside [brackets] */
        if (!port || !pv || pv > 65535 || !hl || !wf__host_valid(t, hl) || (!v6 && memchr(t, ':', hl)))
            return wf__head_fail(h, 400, "invalid CONNECT target");
        h->host = h->target;
        h->path = h->target;
        return 0;
    }
    if (t[0] == '*') {          /* asterisk-form: OPTIONS only (RFC 9112 3.2.4) */
        if (n != 1 || !(h->method.len == 7 && memcmp(buf + h->method.off, "OPTIONS", 7) == 0))
            return wf__head_fail(h, 400, "invalid request-target");
        h->path = h->target;
        return 0;
    }
    if (t[0] != '/') {
        size_t s = 0;
        if (end > 7 && wf__mem_ieq(t, "http://", 7)) s = 7;
        else if (end > 8 && wf__mem_ieq(t, "https://", 8)) s = 8;
        if (!s) return wf__head_fail(h, 400, "invalid request-target");
        i = s;
        while (i < end && t[i] != '/' && t[i] != '?') i++;
        size_t a = s;
        if (memchr(t + s, '@', i - s))
            return wf__head_fail(h, 400, "userinfo in request-target"); /* RFC 9110 4.2.4 */
        h->host = wf__span(h->target.off + a, i - a);
        h->wf__flags |= WF__HF_ABSOLUTE;
        if (h->host.len == 0 || !wf__host_valid(t + a, i - a))
            return wf__head_fail(h, 400, "invalid host in absolute-form target");
    }
    size_t q = i;
    while (q < end && t[q] != '?') q++;
    h->path = wf__span(h->target.off + i, q - i);
    if (q < end) h->query = wf__span(h->target.off + q + 1, end - q - 1);
    else h->query = wf__span(h->target.off + end, 0);
    return 0;
}

/* request-line = method SP request-target SP HTTP-version */
WF__PRIVATE int wf__parse_request_line(wf_http_head *h, const char *buf, size_t s, size_t e) {
    size_t i = s;
    while (i < e && WF__IS(buf[i], WF__C_TOKEN)) i++;
    if (i == s || i >= e || buf[i] != ' ') return wf__head_fail(h, 400, "invalid method");
    h->method = wf__span(s, i - s);
    size_t t = ++i;
    while (i < e && WF__IS(buf[i], WF__C_TARGET)) i++;
    if (i == t || i >= e || buf[i] != ' ') return wf__head_fail(h, 400, "invalid request-target");
    h->target = wf__span(t, i - t);
    i++;
    if (e - i != 8 || memcmp(buf + i, "HTTP/", 5) != 0 || buf[i + 6] != '.' ||
        !(buf[i + 5] >= '0' && buf[i + 5] <= '9') || !(buf[i + 7] >= '0' && buf[i + 7] <= '9'))
        return wf__head_fail(h, 400, "invalid HTTP version");
    if (buf[i + 5] != '1') return wf__head_fail(h, 505, "HTTP version not supported");
    h->minor = buf[i + 7] == '0' ? 0 : 1;
    return wf__parse_target(h, buf);
}

/* Calls fn(h, item, len) for each element of a comma-separated list, skipping empty elements as
   RFC 9110 5.6.1.2 requires. Returns the number of elements. */
typedef void (*wf__list_fn)(wf_http_head *h, const char *item, size_t len);

WF__PRIVATE int wf__each_list_item(wf_http_head *h, const char *v, size_t n, wf__list_fn fn) {
    size_t i = 0;
    int count = 0;
    for (;;) {
        while (i < n && (v[i] == ' ' || v[i] == '\t')) i++;
        size_t s = i;
        while (i < n && v[i] != ',') i++;
        size_t e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t')) e--;
        if (e > s) {
            fn(h, v + s, e - s);
            count++;
        }
        if (i >= n) return count;
        i++;
    }
}

WF__PRIVATE void wf__conn_token(wf_http_head *h, const char *t, size_t n) {
    if (n == 5 && wf__mem_ieq(t, "close", 5)) h->wf__flags |= WF__HF_CLOSE;
    else if (n == 10 && wf__mem_ieq(t, "keep-alive", 10)) h->wf__flags |= WF__HF_KEEPALIVE;
    else if (n == 7 && wf__mem_ieq(t, "upgrade", 7)) h->upgrade = true;
}

WF__PRIVATE void wf__te_token(wf_http_head *h, const char *t, size_t n) {
    size_t k = 0;
    while (k < n && WF__IS(t[k], WF__C_TOKEN)) k++;
    if (k == 0) { h->wf__te |= WF__TE_BAD; return; }
    h->wf__te &= ~(uint32_t)WF__TE_CHUNKED_LAST;
    if (k == 7 && k == n && wf__mem_ieq(t, "chunked", 7)) {
        if (h->wf__te & WF__TE_CHUNKED) h->wf__te |= WF__TE_TWICE;
        h->wf__te |= WF__TE_CHUNKED | WF__TE_CHUNKED_LAST;
    } else {
        h->wf__te |= WF__TE_OTHER;
    }
}

WF__PRIVATE int wf__field_content_length(wf_http_head *h, const char *v, size_t n) {
    /* a list "5, 5" counts as repeats; every member must be 1*DIGIT and all equal */
    size_t i = 0;
    for (;;) {
        while (i < n && (v[i] == ' ' || v[i] == '\t')) i++;
        size_t s = i;
        int64_t x = 0;
        while (i < n && v[i] >= '0' && v[i] <= '9') {
            if (x > ((int64_t)1 << 58)) return wf__head_fail(h, 400, "Content-Length too large");
            x = x * 10 + (v[i++] - '0');
        }
        if (i == s) return wf__head_fail(h, 400, "invalid Content-Length");
        while (i < n && (v[i] == ' ' || v[i] == '\t')) i++;
        if (i < n && v[i] != ',') return wf__head_fail(h, 400, "invalid Content-Length");
        if (h->content_length >= 0 && h->content_length != x)
            return wf__head_fail(h, 400, "conflicting Content-Length");
        h->content_length = x;
        if (i >= n) return 0;
        i++;
    }
}

/* Interpret the fields the server itself acts on. */
WF__PRIVATE int wf__field_known(wf_http_head *h, const char *name, size_t nl, const char *v, size_t vl) {
    switch (nl) {
    case 6:
        if (wf__mem_ieq(name, "expect", 6)) {
            if (vl == 12 && wf__mem_ieq(v, "100-continue", 12)) h->expect_continue = true;
            else return wf__head_fail(h, 417, "unsupported Expect");
        }
        break;
    case 10:
        if (wf__mem_ieq(name, "connection", 10)) wf__each_list_item(h, v, vl, wf__conn_token);
        break;
    case 14:
        if (wf__mem_ieq(name, "content-length", 14)) return wf__field_content_length(h, v, vl);
        break;
    case 17:
        if (wf__mem_ieq(name, "transfer-encoding", 17)) {
            h->wf__te |= WF__TE_SEEN;
            if (wf__each_list_item(h, v, vl, wf__te_token) == 0) h->wf__te |= WF__TE_BAD;   /* no coding */
        }
        break;
    default: break;
    }
    return 0;
}

/* field-line = field-name ":" OWS field-value OWS, no whitespace before the colon, no obs-fold */
WF__PRIVATE int wf__parse_field(wf_http_head *h, const char *buf, size_t s, size_t e) {
    size_t i = s;
    while (i < e && WF__IS(buf[i], WF__C_TOKEN)) i++;
    if (i == s) return wf__head_fail(h, 400, buf[s] == ' ' || buf[s] == '\t' ? "obsolete line folding"
                                                                              : "invalid header name");
    if (i >= e || buf[i] != ':') return wf__head_fail(h, 400, "invalid header name");
    size_t nl = i - s;
    i++;
    while (i < e && (buf[i] == ' ' || buf[i] == '\t')) i++;
    size_t vs = i;
    for (; i < e; i++)
        if (!WF__IS(buf[i], WF__C_VALUE)) return wf__head_fail(h, 400, "invalid character in header value");
    while (i > vs && (buf[i - 1] == ' ' || buf[i - 1] == '\t')) i--;
    if (h->num_fields >= h->max_fields) return wf__head_fail(h, 431, "too many header fields");
    wf_http_field *f = &h->fields[h->num_fields++];
    f->name = wf__span(s, nl);
    f->value = wf__span(vs, i - vs);
    if (nl == 4 && wf__mem_ieq(buf + s, "host", 4)) {
        if (++h->wf__hosts > 1) return wf__head_fail(h, 400, "repeated Host");
        if (!wf__host_valid(buf + vs, i - vs)) return wf__head_fail(h, 400, "invalid Host");
        if (!(h->wf__flags & WF__HF_ABSOLUTE)) h->host = f->value;  /* RFC 9112 3.2.2 */
        return 0;
    }
    return wf__field_known(h, buf + s, nl, buf + vs, i - vs);
}

/* The checks that need the whole head: Host, framing, persistence. */
WF__PRIVATE int wf__head_finish(wf_http_head *h, const char *buf) {
    (void)buf;
    if (h->minor == 1 && h->wf__hosts == 0) return wf__head_fail(h, 400, "missing Host");
    uint32_t te = h->wf__te;
    if (te) {
        if (h->minor == 0) return wf__head_fail(h, 400, "Transfer-Encoding in HTTP/1.0");
        if (h->content_length >= 0) return wf__head_fail(h, 400, "both Content-Length and Transfer-Encoding");
        if (te & (WF__TE_BAD | WF__TE_TWICE)) return wf__head_fail(h, 400, "invalid Transfer-Encoding");
        if ((te & WF__TE_CHUNKED) && !(te & WF__TE_CHUNKED_LAST))
            return wf__head_fail(h, 400, "chunked is not the final transfer coding");
        if (te & WF__TE_OTHER) return wf__head_fail(h, 501, "unsupported transfer coding");
        h->chunked = true;
    }
    bool close = h->wf__flags & WF__HF_CLOSE, ka = h->wf__flags & WF__HF_KEEPALIVE;
    h->keep_alive = h->minor == 1 ? !close : (ka && !close);
    h->wf__state = WF__HS_DONE;
    return 0;
}

/* States of the check of a line still missing its LF (wf__vs). */
enum { WF__V_METHOD, WF__V_TARGET0, WF__V_TARGET, WF__V_VERSION, WF__V_NAME0 = 16, WF__V_NAME, WF__V_VALUE };

/* Check the bytes [from, to) of a line that has no LF yet, resuming where the last call stopped, so
   garbage is refused as it arrives rather than after a timeout. Returns 0 or an error. */
WF__PRIVATE int wf__partial_check(wf_http_head *h, const char *buf, size_t from, size_t to) {
    for (size_t i = from; i < to; i++) {
        char c = buf[i];
        if (c == '\r') {
            if (i + 1 < to) return wf__head_fail(h, 400, "bare CR");
            continue;
        }
        uint32_t vs = h->wf__vs;
        bool ok;
        if (vs == WF__V_METHOD)
            ok = WF__IS(c, WF__C_TOKEN) || (c == ' ' && i > h->wf__pos && (h->wf__vs = WF__V_TARGET0));
        else if (vs == WF__V_TARGET0) ok = WF__IS(c, WF__C_TARGET) && (h->wf__vs = WF__V_TARGET);
        else if (vs == WF__V_TARGET)
            ok = WF__IS(c, WF__C_TARGET) || (c == ' ' && (h->wf__vs = WF__V_VERSION));
        else if (vs >= WF__V_VERSION && vs < WF__V_VERSION + 8) {
            uint32_t k = vs - WF__V_VERSION;
            ok = k < 5 ? c == "HTTP/"[k] : k == 6 ? c == '.' : (c >= '0' && c <= '9');
            if (ok && k == 5 && c != '1') return wf__head_fail(h, 505, "HTTP version not supported");
            h->wf__vs++;
        } else if (vs == WF__V_NAME0) ok = WF__IS(c, WF__C_TOKEN) && (h->wf__vs = WF__V_NAME);
        else if (vs == WF__V_NAME) ok = WF__IS(c, WF__C_TOKEN) || (c == ':' && (h->wf__vs = WF__V_VALUE));
        else ok = vs == WF__V_VALUE && WF__IS(c, WF__C_VALUE);
        if (!ok)
            return wf__head_fail(h, 400,
                                 vs == WF__V_NAME0 && (c == ' ' || c == '\t') ? "obsolete line folding"
                                                                              : "malformed request head");
    }
    return 0;
}

/* Find the next complete line from h->wf__pos; returns its end (index of '\n'), -1 if partial, or an
   error found in the partial line (< -1). */
WF__PRIVATE long wf__next_line(wf_http_head *h, const char *buf, size_t len) {
    size_t from = WF__MAX(h->wf__scan, h->wf__pos);
    const char *nl = from < len ? (const char *)memchr(buf + from, '\n', len - from) : NULL;
    if (!nl) {
        h->wf__scan = (uint32_t)(len && buf[len - 1] == '\r' ? len - 1 : len);   /* see what follows a CR */
        int rc = wf__partial_check(h, buf, from, len);
        return rc < 0 ? (long)rc - 1 : -1;
    }
    h->wf__vs = WF__V_NAME0;
    return (long)(nl - buf);
}

WF__PRIVATE int wf__head_line(wf_http_head *h, const char *buf, size_t len) {
    long e = wf__next_line(h, buf, len);
    size_t s = h->wf__pos;
    if (e < -1) return (int)(e + 1);
    if (e < 0) {
        if (len - s > h->max_line) return wf__head_fail(h, 414, "request line too long");
        return WF_EPARTIAL;
    }
    if ((size_t)e - s > h->max_line) return wf__head_fail(h, 414, "request line too long");
    if ((size_t)e == s || buf[e - 1] != '\r') return wf__head_fail(h, 400, "bare LF in request line");
    if (memchr(buf + s, '\r', (size_t)e - 1 - s)) return wf__head_fail(h, 400, "bare CR in request line");
    int rc = wf__parse_request_line(h, buf, s, (size_t)e - 1);
    if (rc < 0) return rc;
    h->wf__pos = (uint32_t)e + 1;
    h->wf__state = WF__HS_FIELDS;
    return 0;
}

WF__PRIVATE int wf__head_field_line(wf_http_head *h, const char *buf, size_t len) {
    long e = wf__next_line(h, buf, len);
    size_t s = h->wf__pos;
    if (e < -1) return (int)(e + 1);
    if (e < 0) {
        if (len - h->wf__line > h->max_head) return wf__head_fail(h, 431, "request header fields too large");
        return WF_EPARTIAL;
    }
    if ((size_t)e + 1 - h->wf__line > h->max_head)
        return wf__head_fail(h, 431, "request header fields too large");
    if ((size_t)e == s || buf[e - 1] != '\r') return wf__head_fail(h, 400, "bare LF in header section");
    h->wf__pos = (uint32_t)e + 1;
    if ((size_t)e - 1 == s) {
        int rc = wf__head_finish(h, buf);
        return rc < 0 ? rc : 1;
    }
    if (memchr(buf + s, '\r', (size_t)e - 1 - s)) return wf__head_fail(h, 400, "bare CR in header section");
    return wf__parse_field(h, buf, s, (size_t)e - 1);
}

WF_API int wf_http_parse_head(wf_http_head *h, const char *buf, size_t len) {
    if (len > UINT32_MAX) len = UINT32_MAX;
    for (;;) {
        int rc;
        switch (h->wf__state) {
        case WF__HS_START:
            /* RFC 9112 2.2: ignore empty lines before the request line */
            while (h->wf__pos < len && buf[h->wf__pos] == '\r') {
                if (h->wf__pos + 1 >= len) return WF_EPARTIAL;
                if (buf[h->wf__pos + 1] != '\n') return wf__head_fail(h, 400, "bare CR");
                h->wf__pos += 2;
                if (h->wf__pos > h->max_line) return wf__head_fail(h, 400, "too many empty lines");
            }
            if (h->wf__pos >= len) return WF_EPARTIAL;
            h->wf__line = h->wf__pos;
            h->wf__state = WF__HS_LINE;
            break;
        case WF__HS_LINE:
            if ((rc = wf__head_line(h, buf, len)) < 0) return rc;
            break;
        case WF__HS_FIELDS:
            if ((rc = wf__head_field_line(h, buf, len)) < 0) return rc;
            if (rc == 1) return (int)h->wf__pos;
            break;
        default:
            return h->status ? (h->status == 414 || h->status == 431 ? WF_ETOOBIG : WF_EPARSE)
                             : (int)h->wf__pos;
        }
    }
}

/* The chunked decoder, one state per element of RFC 9112 7.1:
   chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF; last-chunk; trailer-section; CRLF. */
enum {
    WF__CHUNK_SIZE0,
    WF__CHUNK_SIZE,
    WF__CHUNK_SEMI_BWS,
    WF__CHUNK_EQ_BWS,
    WF__CHUNK_EXT_NAME0,
    WF__CHUNK_EXT_NAME,
    WF__CHUNK_EXT_VAL0,
    WF__CHUNK_EXT_TOKEN,
    WF__CHUNK_EXT_QUOTED,
    WF__CHUNK_EXT_QPAIR,
    WF__CHUNK_EXT_AFTERQ,
    WF__CHUNK_SIZE_LF,
    WF__CHUNK_DATA,
    WF__CHUNK_DATA_CR,
    WF__CHUNK_DATA_LF,
    WF__CHUNK_TRL_START,
    WF__CHUNK_TRL_NAME,
    WF__CHUNK_TRL_VALUE,
    WF__CHUNK_TRL_LF,
    WF__CHUNK_END_LF,
    WF__CHUNK_DONE,
    WF__CHUNK_ERROR
};

#define WF__CHUNK_MAX_LINE 4096u


/* One byte of a chunk-size line: chunk-size *( BWS ";" BWS name [ BWS "=" BWS value ] ) CRLF
   (RFC 9112 7.1.1). Returns 0, or a negative error. */
WF__PRIVATE int wf__chunk_size_byte(wf_http_chunked *c, char ch) {
    bool tok = WF__IS(ch, WF__C_TOKEN), ws = ch == ' ' || ch == '\t';
    uint32_t st = c->wf__state;
    if (ws && (st == WF__CHUNK_SEMI_BWS || st == WF__CHUNK_EQ_BWS || st == WF__CHUNK_EXT_NAME0 ||
               st == WF__CHUNK_EXT_VAL0))
        return ++c->wf__line > WF__CHUNK_MAX_LINE ? WF_EPARSE : 0;
    if (ws && (st == WF__CHUNK_SIZE || st == WF__CHUNK_EXT_TOKEN || st == WF__CHUNK_EXT_AFTERQ)) {
        c->wf__state = WF__CHUNK_SEMI_BWS;
        return ++c->wf__line > WF__CHUNK_MAX_LINE ? WF_EPARSE : 0;
    }
    if (ws && st == WF__CHUNK_EXT_NAME) {
        c->wf__state = WF__CHUNK_EQ_BWS;
        return ++c->wf__line > WF__CHUNK_MAX_LINE ? WF_EPARSE : 0;
    }
    if (++c->wf__line > WF__CHUNK_MAX_LINE) return WF_EPARSE;
    switch (c->wf__state) {
    case WF__CHUNK_SIZE0:
    case WF__CHUNK_SIZE:
        if (WF__IS(ch, WF__C_HEX)) {
            if (c->wf__left > (UINT64_MAX >> 4)) return WF_EPARSE;
            c->wf__left = (c->wf__left << 4) | (uint64_t)wf__hexval((unsigned char)ch);
            c->wf__state = WF__CHUNK_SIZE;
            return 0;
        }
        if (c->wf__state == WF__CHUNK_SIZE0) return WF_EPARSE;
        if (ch == ';') { c->wf__state = WF__CHUNK_EXT_NAME0; return 0; }
        break;
    case WF__CHUNK_SEMI_BWS:
        if (ch == ';') {
            c->wf__state = WF__CHUNK_EXT_NAME0;
            return 0;
        }
        return WF_EPARSE;
    case WF__CHUNK_EQ_BWS:
        if (ch == '=') { c->wf__state = WF__CHUNK_EXT_VAL0; return 0; }
        if (ch == ';') { c->wf__state = WF__CHUNK_EXT_NAME0; return 0; }
        return WF_EPARSE;
    case WF__CHUNK_EXT_NAME0: if (tok) { c->wf__state = WF__CHUNK_EXT_NAME; return 0; } return WF_EPARSE;
    case WF__CHUNK_EXT_NAME:
        if (tok) return 0;
        if (ch == '=') { c->wf__state = WF__CHUNK_EXT_VAL0; return 0; }
        if (ch == ';') { c->wf__state = WF__CHUNK_EXT_NAME0; return 0; }
        break;
    case WF__CHUNK_EXT_VAL0:
        if (tok) { c->wf__state = WF__CHUNK_EXT_TOKEN; return 0; }
        if (ch == '"') { c->wf__state = WF__CHUNK_EXT_QUOTED; return 0; }
        return WF_EPARSE;
    case WF__CHUNK_EXT_TOKEN:
        if (tok) return 0;
        if (ch == ';') { c->wf__state = WF__CHUNK_EXT_NAME0; return 0; }
        break;
    case WF__CHUNK_EXT_QUOTED:
        if (ch == '"') { c->wf__state = WF__CHUNK_EXT_AFTERQ; return 0; }
        if (ch == '\\') { c->wf__state = WF__CHUNK_EXT_QPAIR; return 0; }
        return (WF__IS(ch, WF__C_VALUE)) ? 0 : WF_EPARSE;
    case WF__CHUNK_EXT_QPAIR:
        c->wf__state = WF__CHUNK_EXT_QUOTED;
        return (WF__IS(ch, WF__C_VALUE)) ? 0 : WF_EPARSE;
    case WF__CHUNK_EXT_AFTERQ:
        if (ch == ';') { c->wf__state = WF__CHUNK_EXT_NAME0; return 0; }
        break;
    default: return WF_EPARSE;
    }
    if (ch != '\r') return WF_EPARSE;
    c->wf__state = WF__CHUNK_SIZE_LF;
    return 0;
}

/* One byte of the trailer section. Returns 0, 1 when the section ended, or a negative error. */
WF__PRIVATE int wf__chunk_trailer_byte(wf_http_chunked *c, char ch) {
    bool field = c->wf__state != WF__CHUNK_END_LF && !(c->wf__state == WF__CHUNK_TRL_START && ch == '\r');
    if (field && (c->no_trailers || ++c->wf__line > wf__def(c->max_trailer, WF__DEFAULT_MAX_TRAILER)))
        return WF_ETOOBIG;              /* the bytes of trailer fields; the closing CRLF is free */
    switch (c->wf__state) {
    case WF__CHUNK_TRL_START:
        if (ch == '\r') { c->wf__state = WF__CHUNK_END_LF; return 0; }
        if (!WF__IS(ch, WF__C_TOKEN)) return WF_EPARSE;
        c->wf__state = WF__CHUNK_TRL_NAME;
        return 0;
    case WF__CHUNK_TRL_NAME:
        if (ch == ':') { c->wf__state = WF__CHUNK_TRL_VALUE; return 0; }
        return WF__IS(ch, WF__C_TOKEN) ? 0 : WF_EPARSE;
    case WF__CHUNK_TRL_VALUE:
        if (ch == '\r') { c->wf__state = WF__CHUNK_TRL_LF; return 0; }
        return WF__IS(ch, WF__C_VALUE) ? 0 : WF_EPARSE;
    case WF__CHUNK_TRL_LF:
        if (ch != '\n') return WF_EPARSE;
        if (++c->wf__n > wf__def(c->max_trailer_fields, WF__DEFAULT_MAX_FIELDS)) return WF_ETOOBIG;
        c->wf__state = WF__CHUNK_TRL_START;
        return 0;
    case WF__CHUNK_END_LF:
        if (ch != '\n') return WF_EPARSE;
        c->wf__state = WF__CHUNK_DONE;
        return 1;
    default: return WF_EPARSE;
    }
}

/* The end of a chunk-size line: start the data, or the trailers after the last chunk. */
WF__PRIVATE int wf__chunk_size_done(wf_http_chunked *c) {
    uint64_t max = c->max_body ? c->max_body : UINT64_MAX;
    if (c->wf__left > max - c->total) return WF_ETOOBIG;
    c->wf__line = 0;
    c->wf__state = c->wf__left ? WF__CHUNK_DATA : WF__CHUNK_TRL_START;
    return 0;
}

WF_API int wf_http_dechunk(wf_http_chunked *c, char *dst, const char *src, size_t len, size_t *used,
                           size_t *out) {
    size_t i = 0, o = 0;
    int rc = 0;
    while (i < len && rc == 0) {
        char ch = src[i];
        switch (c->wf__state) {
        case WF__CHUNK_DATA: {
            size_t n = (size_t)WF__MIN((uint64_t)(len - i), c->wf__left);
            memmove(dst + o, src + i, n);
            o += n;
            i += n;
            c->wf__left -= n;
            c->total += n;
            if (!c->wf__left) c->wf__state = WF__CHUNK_DATA_CR;
            continue;
        }
        case WF__CHUNK_SIZE_LF:
            rc = ch == '\n' ? wf__chunk_size_done(c) : WF_EPARSE;
            break;
        case WF__CHUNK_DATA_CR:
            if (ch != '\r') rc = WF_EPARSE;
            c->wf__state = WF__CHUNK_DATA_LF;
            break;
        case WF__CHUNK_DATA_LF:
            if (ch != '\n') rc = WF_EPARSE;
            c->wf__state = WF__CHUNK_SIZE0;
            c->wf__line = 0;
            break;
        case WF__CHUNK_DONE: rc = 1; continue;
        case WF__CHUNK_ERROR: rc = WF_EPARSE; continue;
        default:
            rc = c->wf__state >= WF__CHUNK_TRL_START ? wf__chunk_trailer_byte(c, ch)
                                                     : wf__chunk_size_byte(c, ch);
            break;
        }
        i++;
    }
    if (rc == WF_ETOOBIG && c->wf__state >= WF__CHUNK_TRL_START) c->trailer_too_big = true;
    if (rc < 0) c->wf__state = WF__CHUNK_ERROR;
    if (c->wf__state == WF__CHUNK_DONE) rc = 1;
    *used = i;
    *out = o;
    return rc;
}

/* The IANA registry's statuses, with RFC 9110's phrases (and Python's for 418, which IANA lists as
   unused). */
WF_API const char *wf_http_reason(int status) {
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 102: return "Processing";
    case 103: return "Early Hints";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 205: return "Reset Content";
    case 206: return "Partial Content";
    case 207: return "Multi-Status";
    case 208: return "Already Reported";
    case 226: return "IM Used";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 305: return "Use Proxy";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 418: return "I'm a Teapot";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Entity";
    case 423: return "Locked";
    case 424: return "Failed Dependency";
    case 425: return "Too Early";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 451: return "Unavailable For Legal Reasons";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 506: return "Variant Also Negotiates";
    case 507: return "Insufficient Storage";
    case 508: return "Loop Detected";
    case 510: return "Not Extended";
    case 511: return "Network Authentication Required";
    default: return "Unknown";
    }
}

WF__PRIVATE void wf__put2(char *p, int v) {
    p[0] = (char)('0' + (v / 10) % 10);
    p[1] = (char)('0' + v % 10);
}

WF_API void wf_http_date(char out[30], int64_t t) {
    static const char days[] = "SunMonTueWedThuFriSat", mons[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    const int64_t lo = -62167219200LL, hi = 253402300799LL;  /* 0000-01-01 to 9999-12-31 23:59:59 */
    time_t tt = (time_t)(t < lo ? lo : t > hi ? hi : t);
    struct tm tm;
    if (!gmtime_r(&tt, &tm)) {              /* a 32-bit time_t cannot hold it: the epoch */
        memcpy(out, "Thu, 01 Jan 1970 00:00:00 GMT", 30);
        return;
    }
    int year = tm.tm_year + 1900;
    memcpy(out, days + 3 * tm.tm_wday, 3);
    memcpy(out + 3, ", 00 ", 5);
    wf__put2(out + 5, tm.tm_mday);
    memcpy(out + 8, mons + 3 * tm.tm_mon, 3);
    out[11] = ' ';
    wf__put2(out + 12, (year / 100) % 100);
    wf__put2(out + 14, year % 100);
    out[16] = ' ';
    wf__put2(out + 17, tm.tm_hour);
    out[19] = ':';
    wf__put2(out + 20, tm.tm_min);
    out[22] = ':';
    wf__put2(out + 23, tm.tm_sec);
    memcpy(out + 25, " GMT", 5);
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
WF__PRIVATE int64_t wf__days(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400, yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1, doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* An HTTP-date in any of the three forms RFC 9110 5.6.7 requires a recipient to read:
   "Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994". */
WF__PRIVATE bool wf__http_date_parse(wf_str s, int64_t *t) {
    static const char mons[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    char buf[64], mon[4] = "", zone[4] = "";
    int d = 0, y = 0, hh = 0, mm = 0, ss = 0, used = 0;
    if (!s.ptr || s.len >= sizeof buf) return false;
    memcpy(buf, s.ptr, s.len);
    buf[s.len] = 0;
    const char *c = strchr(buf, ',');
    /* the fixed-width forms have fixed lengths: a one-digit day or a two-digit year is no date */
    if (c && c - buf == 3) {            /* IMF-fixdate */
        if (s.len != 29 ||
            sscanf(c + 1, " %2d %3s %4d %2d:%2d:%2d %3s%n", &d, mon, &y, &hh, &mm, &ss, zone, &used) != 7)
            return false;
    } else if (c) {                     /* obsolete RFC 850 */
        if (strlen(c) != 24 ||
            sscanf(c + 1, " %2d-%3s-%2d %2d:%2d:%2d %3s%n", &d, mon, &y, &hh, &mm, &ss, zone, &used) != 7)
            return false;
        mon[3] = 0;
        time_t now = time(NULL);        /* RFC 9110 5.6.7: never more than 50 years ahead */
        struct tm tm;
        int cur = gmtime_r(&now, &tm) ? tm.tm_year + 1900 : 2000;
        y += cur - cur % 100;
        if (y > cur + 50) y -= 100;
    } else {                            /* asctime */
        if (s.len != 24 ||
            sscanf(buf, "%*3s %3s %2d %2d:%2d:%2d %4d%n", mon, &d, &hh, &mm, &ss, &y, &used) != 6)
            return false;
        memcpy(zone, "GMT", 4);
    }
    const char *m = strstr(mons, mon);
    if (used != (int)strlen(c ? c + 1 : buf) || strcmp(zone, "GMT") != 0 || strlen(mon) != 3 || !m ||
        (m - mons) % 3 || d < 1 || d > 31 || y < 0 || hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 ||
        ss > 60)
        return false;
    *t = wf__days(y, (int)(m - mons) / 3 + 1, d) * 86400 + hh * 3600 + mm * 60 + ss;
    return true;
}

WF__PRIVATE bool wf__header_ok(const char *name, const char *value) {
    if (!*name) return false;
    for (const char *p = name; *p; p++)
        if (!WF__IS(*p, WF__C_TOKEN)) return false;
    for (const char *p = value; *p; p++)
        if (!WF__IS(*p, WF__C_VALUE)) return false;
    return true;
}

/* ---- writing responses: pure functions into a buffer ---- */

WF_API int wf_http_write_head(wf_buf *out, const wf_http_response *r) {
    char line[64];
    size_t n;
    int status = r->status >= 100 && r->status <= 599 ? r->status : 500;
    size_t date_len = r->date ? strlen(r->date) : 0;
    if (wf_buf_reserve(out, wf__size_add(128 + date_len, r->fields.len)) < 0) return WF_ENOMEM;
    /* the reservation holds every line but the fields and the date: the appends cannot fail */
    if (status == 200) {
        wf_buf_append(out, "HTTP/1.1 200 OK\r\n", 17);
    } else {
        n = (size_t)snprintf(line, sizeof line, "HTTP/1.1 %d %s\r\n", status, wf_http_reason(status));
        wf_buf_append(out, line, n);
    }
    if (date_len) {
        wf_buf_append(out, "Date: ", 6);
        wf_buf_append(out, r->date, date_len);
        wf_buf_append(out, "\r\n", 2);
    }
    if (r->chunked) {
        wf_buf_append(out, "Transfer-Encoding: chunked\r\n", 28);
    } else if (r->content_length >= 0) {
        memcpy(line, "Content-Length: ", 16);
        n = 16 + wf__utoa(line + 16, (uint64_t)r->content_length);
        memcpy(line + n, "\r\n", 2);
        wf_buf_append(out, line, n + 2);
    }
    if (r->fields.len) wf_buf_append(out, r->fields.ptr, r->fields.len);
    if (r->close) wf_buf_append(out, "Connection: close\r\n\r\n", 21);
    else if (r->keep_alive) wf_buf_append(out, "Connection: keep-alive\r\n\r\n", 26);
    else wf_buf_append(out, "\r\n", 2);
    return 0;
}

WF_API int wf_http_write_chunk(wf_buf *out, const void *p, size_t n) {
    char size[24];
    if (!n) return 0;               /* an empty chunk would be the last one */
    int k = snprintf(size, sizeof size, "%zx\r\n", n);
    if (wf_buf_reserve(out, wf__size_add(n, (size_t)k + 2)) < 0) return WF_ENOMEM;
    wf_buf_append(out, size, (size_t)k);
    wf_buf_append(out, p, n);
    wf_buf_append(out, "\r\n", 2);
    return 0;
}

WF_API int wf_http_write_last_chunk(wf_buf *out) { return wf_buf_append(out, "0\r\n\r\n", 5); }
/* ======================================================================
 * >>pool  Worker pool: threads and a bounded queue of jobs
 * ====================================================================== */

/* A job, embedded in its owner (a request's tasks, a blocking request): the pool links it, runs it
   once on a worker, or, once it has stopped, drops it instead. Either call hands it back. */
typedef struct wf__job wf__job;
struct wf__job {
    wf__job *next;
    void (*run)(wf__job *job);      /* on a worker */
    void (*drop)(wf__job *job);     /* instead of run: the pool stopped before it could run */
    bool urgent;                    /* taken before the others (a client is waiting for it) */
};

typedef struct wf__jobq {
    wf__job *head, *tail;
} wf__jobq;

typedef struct wf__pool {
    pthread_mutex_t mu;
    pthread_cond_t wake, idle;
    wf__jobq urgent, normal;
    int running;                    /* jobs being run */
    bool stop;
    int nthreads;
    pthread_t *threads;
    atomic_int jobs;                /* reserved: queued or running, against max_jobs */
    int max_jobs;
} wf__pool;

WF__PRIVATE void wf__jobq_push(wf__jobq *q, wf__job *job) {
    job->next = NULL;
    if (q->tail) q->tail->next = job;
    else q->head = job;
    q->tail = job;
}

WF__PRIVATE wf__job *wf__jobq_pop(wf__jobq *q) {
    wf__job *job = q->head;
    if (job && !(q->head = job->next)) q->tail = NULL;
    return job;
}

WF__PRIVATE void *wf__worker_main(void *arg) {
    wf__pool *p = (wf__pool *)arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->urgent.head && !p->normal.head && !p->stop) pthread_cond_wait(&p->wake, &p->mu);
        wf__job *job = wf__jobq_pop(&p->urgent);
        if (!job && !(job = wf__jobq_pop(&p->normal))) break;
        p->running++;
        pthread_mutex_unlock(&p->mu);
        job->run(job);
        pthread_mutex_lock(&p->mu);
        p->running--;
        if (!p->urgent.head && !p->normal.head && !p->running) pthread_cond_broadcast(&p->idle);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* A pool of nthreads workers holding at most max_jobs reserved jobs. NULL without memory or threads. */
WF__PRIVATE wf__pool *wf__pool_start(int nthreads, int max_jobs) {
    wf__pool *p = (wf__pool *)WF_MALLOC(NULL, sizeof *p);
    if (!p) return NULL;
    memset(p, 0, sizeof *p);
    p->threads = (pthread_t *)WF_MALLOC(NULL, (size_t)nthreads * sizeof *p->threads);
    if (!p->threads) {
        WF_FREE(NULL, p);
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->idle, NULL);
    p->max_jobs = max_jobs;
    while (p->nthreads < nthreads && pthread_create(&p->threads[p->nthreads], NULL, wf__worker_main, p) == 0)
        p->nthreads++;
    if (p->nthreads) return p;
    WF_FREE(NULL, p->threads);
    WF_FREE(NULL, p);
    return NULL;
}

/* Count one more job against max_jobs: false when the pool is full. */
WF__PRIVATE bool wf__pool_reserve(wf__pool *p) {
    if (atomic_fetch_add(&p->jobs, 1) < p->max_jobs) return true;
    atomic_fetch_sub(&p->jobs, 1);
    return false;
}

/* A reserved job is over (run or dropped). */
WF__PRIVATE void wf__pool_release(wf__pool *p) { atomic_fetch_sub(&p->jobs, 1); }

/* Queue job for a worker; a pool that has stopped drops it at once. Any thread. */
WF__PRIVATE void wf__pool_push(wf__pool *p, wf__job *job) {
    pthread_mutex_lock(&p->mu);
    bool stopped = p->stop;
    if (!stopped) {
        wf__jobq_push(job->urgent ? &p->urgent : &p->normal, job);
        pthread_cond_signal(&p->wake);
    }
    pthread_mutex_unlock(&p->mu);
    if (stopped) job->drop(job);
}

/* Take job out of the queue if no worker has taken it yet: true if it will not run. Any thread. */
WF__PRIVATE bool wf__pool_cancel(wf__pool *p, wf__job *job) {
    bool found = false;
    pthread_mutex_lock(&p->mu);
    wf__jobq *q = job->urgent ? &p->urgent : &p->normal;
    for (wf__job **at = &q->head, *prev = NULL; *at; prev = *at, at = &(*at)->next) {
        if (*at != job) continue;
        *at = job->next;
        if (q->tail == job) q->tail = prev;
        found = true;
        break;
    }
    pthread_mutex_unlock(&p->mu);
    return found;
}

/* Stop: queued jobs may still start until deadline_ms (monotonic); the rest are dropped; running
   ones are waited for. Jobs pushed from then on are dropped. */
WF__PRIVATE void wf__pool_stop(wf__pool *p, int64_t deadline_ms) {
    struct timespec until;
    int64_t wait_ms = WF__MAX(deadline_ms - wf__mono_us() / 1000, (int64_t)0);
    clock_gettime(CLOCK_REALTIME, &until);
    int64_t ns = (int64_t)until.tv_nsec + wait_ms * 1000000;
    until.tv_sec += (time_t)(ns / 1000000000);
    until.tv_nsec = (long)(ns % 1000000000);
    pthread_mutex_lock(&p->mu);
    while ((p->urgent.head || p->normal.head || p->running) &&
           pthread_cond_timedwait(&p->idle, &p->mu, &until) == 0) {
    }
    wf__job *left = p->urgent.head;
    if (left) p->urgent.tail->next = p->normal.head;
    else left = p->normal.head;
    memset(&p->urgent, 0, sizeof p->urgent);
    memset(&p->normal, 0, sizeof p->normal);
    p->stop = true;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    while (left) {
        wf__job *n = left->next;
        left->drop(left);
        left = n;
    }
    for (int i = 0; i < p->nthreads; i++) pthread_join(p->threads[i], NULL);
}

/* Release a stopped pool. */
WF__PRIVATE void wf__pool_free(wf__pool *p) {
    if (!p) return;
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->idle);
    WF_FREE(NULL, p->threads);
    WF_FREE(NULL, p);
}

/* ======================================================================
 * >>loop  Transport: poll set, listeners, connections, timers, wake-ups, loop threads
 * ====================================================================== */

#define WF__READ_CHUNK 65536u         /* per-thread scratch read buffer */
#define WF__LINGER_MS 2000
#define WF__LINGER_BYTES (1u << 20)
#define WF__ACCEPT_BATCH 64
#define WF__EMFILE_PAUSE_MS 100
#define WF__RESERVES 4

/* One piece of pending output: bytes in the output's buffer (ptr NULL), external memory, or a file. */
/* Bytes shared by several outputs (one broadcast frame for many connections): freed with the last
   reference. Any thread. */
typedef struct wf__rcbuf {
    atomic_int refs;
    size_t len;
    char data[];
} wf__rcbuf;

typedef struct wf__piece {
    const char *ptr;
    size_t off, len;
    bool owned;                 /* free ptr with WF_FREE once sent */
    int fd;                     /* a file sent with sendfile() from off (closed once sent), or -1 */
    wf__rcbuf *rc;              /* ptr is rc's data: one reference, dropped once sent */
} wf__piece;

/* A connection's pending output: pieces in order, the copied ones in one buffer. */
typedef struct wf__output {
    wf_buf bytes;
    wf__piece *pieces;
    uint32_t npieces, cap, head;
    size_t pending;
    bool sent;                  /* a flush sent something (cleared by the reader) */
} wf__output;

/* Timers: the loop's own; a protocol numbers its timers from WF__TIMER_PROTO. */
enum { WF__TIMER_NONE, WF__TIMER_LINGER, WF__TIMER_PROTO };

/* What wf__conn_read gives besides a byte count: end of stream is 0. */
enum { WF__READ_ERROR = -1, WF__READ_AGAIN = -2, WF__READ_FULL = -3 };

/* Work queued for a loop's thread (wf__loop_post). */
typedef struct wf__post {
    struct wf__post *next;
    void (*fn)(void *);
    void *arg;
    bool heap;                  /* allocated by wf__loop_post (else embedded in its owner) */
} wf__post;

typedef struct wf__loop wf__loop;
typedef struct wf__conn wf__conn;

/* What a loop asks of the protocol that serves its connections: the only calls the loop makes
   upward, handed down as function pointers when the loops are made (>>server's HTTP). */
typedef struct wf__loop_hooks {
    size_t conn_size;           /* bytes of the protocol's connection, which starts with a wf__conn */
    /* c was ready: nread is what reading it gave (bytes, 0 at end of stream, WF__READ_*) */
    void (*event)(wf__loop *loop, wf__conn *c, long nread, short revents);
    void (*timeout)(wf__loop *loop, wf__conn *c, int timer);   /* a protocol timer of c fired */
    void (*closed)(wf__loop *loop, wf__conn *c);     /* c is closing: let go of what is held for it */
    void (*stopping)(wf__loop *loop, wf__conn *c);   /* the loop stops: close c now or let it finish */
    void (*expired)(wf__loop *loop, wf__conn *c);    /* the grace period is over: c's last words (the
                                                        loop then closes it) */
} wf__loop_hooks;

/* What the loops of one server share. */
typedef struct wf__loop_shared {
    const wf_config *cfg;
    const wf__loop_hooks *hooks;
    atomic_int nconns;          /* open connections, against max_conns */
    atomic_int stop;            /* a stop was asked for */
    atomic_llong stop_at_ms;    /* when (monotonic): the grace period runs from it */
    int listeners;              /* listening sockets made so far (each loop has one) */
    atomic_int reserve[WF__RESERVES];   /* spare descriptors (or -1) to refuse connections with when
                                           out of descriptors, shared: any loop takes any of them */
    atomic_int reserves_missing;        /* a hint: how many are -1, refilled as descriptors close */
} wf__loop_shared;

struct wf__conn {
    int fd;
    uint32_t slot;
    uint8_t timer;              /* the timer armed, or WF__TIMER_NONE */
    bool lingering;             /* write side shut, draining input before close */
    bool nodelay;               /* TCP_NODELAY is set */
    bool watched;               /* in the poll set yet: not until it outlives its first read */
    short events;               /* what the poll set watches for it */
    int64_t deadline;           /* of the timer, ms, monotonic */
    wf_buf in;                  /* input that outlived a read (else empty) */
    size_t in_start;
    size_t linger_bytes;
    wf__output *out;            /* output that outlived a write (else NULL) */
    wf__conn *next_dead;
    uint16_t port;
    uint8_t family;
    uint8_t addr[16];
};

struct wf__loop {
    wf__loop_shared *shared;
    void *user;                 /* the protocol's state for this loop */
    pthread_t thread;
    pthread_t owner;            /* the thread running it (set by that thread) */
    int listen_fd, wake_rd, wake_wr;
    struct pollfd *pfds;        /* poll(): parallel to conns; slot 0 wake-up, slot 1 listener */
    int epfd;                   /* epoll: the set */
    struct wf__ready { wf__conn *c; short rev; } *ready;
    uint32_t nready;
    wf__conn *dead;             /* closed during an iteration, freed after it */
    wf__conn **conns;
    uint32_t n, cap, lingering;
    int64_t now_ms, now_us, next_timer, listen_paused_until, emfile_logged;
    bool stopping;
    int64_t stop_deadline;
    wf_buf rbuf;                /* scratch input */
    wf__output scratch;         /* scratch output */
    wf_buf *in;                 /* the input of the connection being served */
    int64_t date_sec;
    char date[30];              /* the IMF-fixdate of date_sec */
    pthread_mutex_t post_mu;
    wf__post *posts;
    bool posts_closed;          /* the loop has run its last posts: wf__loop_post refuses more */
};

/* ---- the clock ---- */

WF__PRIVATE void wf__loop_tick(wf__loop *loop) {
    loop->now_us = wf__mono_us();
    loop->now_ms = loop->now_us / 1000;
    time_t sec = time(NULL);
    if (sec != loop->date_sec) {
        wf_http_date(loop->date, (int64_t)sec);
        loop->date_sec = sec;
    }
}

/* ---- output ---- */

/* Where c's output goes now: its own queue, or the loop's scratch one. */
WF__PRIVATE wf__output *wf__output_of(wf__loop *loop, wf__conn *c) {
    return c->out ? c->out : &loop->scratch;
}

WF__PRIVATE int wf__output_piece(wf__output *q, const char *ptr, size_t off, size_t len, bool owned) {
    if (q->npieces == q->cap) {
        uint32_t cap = q->cap ? q->cap * 2 : 8;
        wf__piece *s = (wf__piece *)WF_REALLOC(NULL, q->pieces, cap * sizeof *s);
        if (!s) return WF_ENOMEM;
        q->pieces = s;
        q->cap = cap;
    }
    wf__piece *s = &q->pieces[q->npieces++];
    s->ptr = ptr;
    s->off = off;
    s->len = len;
    s->owned = owned;
    s->fd = -1;
    s->rc = NULL;
    q->pending += len;
    return 0;
}

/* A shared buffer of len bytes with one reference, or NULL. */
WF__PRIVATE wf__rcbuf *wf__rcbuf_new(size_t len) {
    wf__rcbuf *b = (wf__rcbuf *)wf__alloc(wf__size_add(sizeof *b, len));
    if (!b) return NULL;
    atomic_init(&b->refs, 1);
    b->len = len;
    return b;
}

WF__PRIVATE void wf__rcbuf_unref(wf__rcbuf *b) {
    if (b && atomic_fetch_sub(&b->refs, 1) == 1) WF_FREE(NULL, b);
}

/* Queue all of b (a new reference to it). */
WF__PRIVATE int wf__output_shared(wf__output *q, wf__rcbuf *b) {
    if (wf__output_piece(q, b->data, 0, b->len, false) < 0) return WF_ENOMEM;
    atomic_fetch_add(&b->refs, 1);
    q->pieces[q->npieces - 1].rc = b;
    return 0;
}

/* Queue the bytes appended to q->bytes since `from`, growing the last piece when it ends there. */
WF__PRIVATE int wf__output_commit(wf__output *q, size_t from) {
    size_t n = q->bytes.len - from;
    if (!n) return 0;
    wf__piece *last = q->npieces > q->head ? &q->pieces[q->npieces - 1] : NULL;
    if (last && !last->ptr && last->fd < 0 && last->off + last->len == from) {
        last->len += n;
        q->pending += n;
        return 0;
    }
    int rc = wf__output_piece(q, NULL, from, n, false);
    if (rc < 0) q->bytes.len = from;
    return rc;
}

/* Queue a copy of p[0..n). */
WF__PRIVATE int wf__output_copy(wf__output *q, const void *p, size_t n) {
    size_t from = q->bytes.len;
    if (wf_buf_append(&q->bytes, p, n) < 0) return WF_ENOMEM;
    return wf__output_commit(q, from);
}

/* Release what a finished or dropped piece holds. */
WF__PRIVATE void wf__piece_release(wf__piece *s) {
    if (s->owned) WF_FREE(NULL, (void *)s->ptr);
    if (s->fd >= 0) close(s->fd);
    wf__rcbuf_unref(s->rc);
    s->rc = NULL;
    s->owned = false;
    s->fd = -1;
}

WF__PRIVATE void wf__output_clear(wf__output *q) {
    for (uint32_t i = q->head; i < q->npieces; i++) wf__piece_release(&q->pieces[i]);
    q->npieces = q->head = 0;
    q->bytes.len = 0;
    q->pending = 0;
}

WF__PRIVATE void wf__output_free(wf__output *q) {
    wf__output_clear(q);
    wf_buf_free(&q->bytes);
    WF_FREE(NULL, q->pieces);
    q->pieces = NULL;
    q->cap = 0;
}

/* Send a file piece: the kernel copies it to the socket. sendfile has no MSG_NOSIGNAL: to a peer
   that has gone it raises SIGPIPE, which would kill the process, so SIGPIPE is blocked in this
   thread around it and a SIGPIPE it made is taken back (the EPIPE is what the loop acts on). The
   process's own handling of SIGPIPE is left as it was. */
WF__PRIVATE ssize_t wf__send_file(int fd, wf__piece *f) {
#ifdef __linux__
    off_t at = (off_t)f->off;
    sigset_t pipe_set, old;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    ssize_t w = sendfile(fd, f->fd, &at, WF__MIN(f->len, (size_t)1 << 30));
    if (w < 0 && errno == EPIPE && !sigismember(&old, SIGPIPE)) {
        int e = errno;
        struct timespec now = {0, 0};
        while (sigtimedwait(&pipe_set, NULL, &now) < 0 && errno == EINTR) {
        }
        errno = e;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return w;
#else
    char chunk[65536];
    ssize_t w = pread(f->fd, chunk, WF__MIN(f->len, sizeof chunk), (off_t)f->off);
    if (w > 0) w = send(fd, chunk, (size_t)w, MSG_NOSIGNAL | MSG_DONTWAIT);
    return w;
#endif
}

/* Account for w bytes sent from the head of q. */
WF__PRIVATE void wf__output_sent(wf__output *q, size_t w) {
    q->pending -= w;
    q->sent = true;
    while (w) {
        wf__piece *s = &q->pieces[q->head];
        size_t k = WF__MIN(w, s->len);
        s->off += k;
        s->len -= k;
        w -= k;
        if (s->len) break;
        wf__piece_release(s);
        q->head++;
    }
}

/* Write what the socket takes. Returns 0 when all is sent, 1 when the socket is full, -1 on error. */
WF__PRIVATE int wf__output_flush(wf__output *q, int fd) {
    while (q->pending) {
        struct iovec iov[64];
        int n = 0;
        for (uint32_t i = q->head; i < q->npieces && n < 64 && q->pieces[i].fd < 0; i++) {
            wf__piece *s = &q->pieces[i];
            iov[n].iov_base = (void *)(s->ptr ? s->ptr + s->off : q->bytes.ptr + s->off);
            iov[n].iov_len = s->len;
            n++;
        }
        ssize_t w;
        if (n == 0) {
            w = wf__send_file(fd, &q->pieces[q->head]);
            if (w == 0) return -1;                              /* the file shrank */
        } else if (n == 1) {       /* the usual case, and send() costs less than sendmsg() */
            w = send(fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL | MSG_DONTWAIT);
        } else {
            struct msghdr mh;
            memset(&mh, 0, sizeof mh);
            mh.msg_iov = iov;
            mh.msg_iovlen = (size_t)n;
            w = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        }
        if (w < 0) {
            if (errno == EINTR) continue;
            return (errno == EAGAIN || errno == EWOULDBLOCK) ? 1 : -1;
        }
        wf__output_sent(q, (size_t)w);
    }
    q->npieces = q->head = 0;
    q->bytes.len = 0;
    return 0;
}

/* ---- the poll set: poll() over pfds, or epoll on Linux (see ON THE LOOP) ---- */

/* Watch fd (at slot, for conn c or NULL) for events; add it if new. */
WF__PRIVATE void wf__pollset_watch(wf__loop *loop, uint32_t slot, int fd, wf__conn *c, short events,
                                   bool add) {
#if WF__EPOLL
    struct epoll_event ev;
    if (fd < 0) return;
    memset(&ev, 0, sizeof ev);
    ev.events = (uint32_t)events;           /* EPOLLIN/OUT have the values of POLLIN/OUT */
    if (c) ev.data.ptr = c;
    else ev.data.u64 = slot;
    epoll_ctl(loop->epfd, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev);
#else
    (void)c;
    (void)add;
    loop->pfds[slot].fd = fd;
    loop->pfds[slot].events = events;
    loop->pfds[slot].revents = 0;
#endif
}

/* Set what c is watched for, touching the kernel only when it changes. A connection enters the set
   here, so one answered and closed within its first read never costs an epoll_ctl. */
WF__PRIVATE void wf__conn_watch(wf__loop *loop, wf__conn *c, bool readable, bool writable) {
    short events = (short)((readable ? POLLIN : 0) | (writable ? POLLOUT : 0));
    if (c->watched && c->events == events) return;
    wf__pollset_watch(loop, c->slot, c->fd, c, events, !c->watched);
    c->events = events;
    c->watched = true;
}

/* Wait up to timeout ms; collect the ready connections in loop->ready. Returns the wake-up and listener
   readiness as bits 1 and 2, or -1 on error. */
WF__PRIVATE int wf__pollset_wait(wf__loop *loop, int timeout) {
    int special = 0;
    loop->nready = 0;
#if WF__EPOLL
    struct epoll_event evs[256];
    int rc = epoll_wait(loop->epfd, evs, (int)WF__MIN(loop->cap, 256u), timeout); /* loop->ready holds cap */
    for (int i = 0; i < rc; i++) {
        if (evs[i].data.u64 < 2) {
            special |= 1 << evs[i].data.u64;
            continue;
        }
        loop->ready[loop->nready].c = (wf__conn *)evs[i].data.ptr;
        loop->ready[loop->nready++].rev = (short)evs[i].events;
    }
#else
    int rc = poll(loop->pfds, loop->n, timeout);
    for (uint32_t i = 0; rc > 0 && i < loop->n; i++) {
        short rev = loop->pfds[i].revents;
        if (!rev) continue;
        loop->pfds[i].revents = 0;
        if (i < 2) {
            special |= 1 << i;
            continue;
        }
        loop->ready[loop->nready].c = loop->conns[i];
        loop->ready[loop->nready++].rev = rev;
    }
#endif
    return rc < 0 ? -1 : special;
}

/* ---- connections ---- */

/* Arm c's timer: timer fires at deadline (ms, monotonic). */
WF__PRIVATE void wf__conn_timer(wf__loop *loop, wf__conn *c, int timer, int64_t deadline) {
    c->timer = (uint8_t)timer;
    c->deadline = deadline;
    if (deadline < loop->next_timer) loop->next_timer = deadline;
}

/* Set TCP_NODELAY once. */
WF__PRIVATE void wf__conn_nodelay(wf__conn *c) {
    int one = 1;
    if (c->nodelay) return;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->nodelay = true;
}

/* Serve c's input from where it is: its own buffer, or the scratch one. */
WF__PRIVATE void wf__conn_input(wf__loop *loop, wf__conn *c) {
    loop->in = c->in.len ? &c->in : &loop->rbuf;
    if (!c->in.len) c->in_start = 0;
}

/* ---- out of descriptors: the reserve ----
   A server keeps WF__RESERVES spare descriptors. A loop whose accept() fails with EMFILE closes one,
   accepts the waiting connection into its number, answers 503 and closes, then reopens the spare.
   Another loop's accept() may take the number first (that connection is served as usual) and the
   reopen then fails: the others still have theirs, and the missing ones are reopened as descriptors
   close, so every connection past the limit gets its 503. */

/* No spares yet (the first listener opens them); closes them at the end. */
WF__PRIVATE void wf__reserve_init(wf__loop_shared *sh) {
    for (int i = 0; i < WF__RESERVES; i++) atomic_init(&sh->reserve[i], -1);
    atomic_init(&sh->reserves_missing, WF__RESERVES);
}

WF__PRIVATE void wf__reserve_free(wf__loop_shared *sh) {
    for (int i = 0; i < WF__RESERVES; i++) {
        int fd = atomic_exchange(&sh->reserve[i], -1);
        if (fd >= 0) close(fd);
    }
}

/* Reopen the missing spares while descriptors allow. Returns 0, or the errno of the open that failed;
   a system without /dev/null has no spares (they are no longer missing). Any thread. */
WF__PRIVATE int wf__reserve_refill(wf__loop_shared *sh) {
    for (int i = 0; i < WF__RESERVES && atomic_load(&sh->reserves_missing) > 0; i++) {
        if (atomic_load(&sh->reserve[i]) >= 0) continue;
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC), none = -1;
        if (fd < 0) {
            int e = errno;
            if (e != EMFILE && e != ENFILE && e != EINTR) atomic_store(&sh->reserves_missing, 0);
            return e;
        }
        if (!atomic_compare_exchange_strong(&sh->reserve[i], &none, fd)) close(fd);
        else atomic_fetch_sub(&sh->reserves_missing, 1);
    }
    return 0;
}

/* A spare descriptor, now the caller's, or -1 if none is left. */
WF__PRIVATE int wf__reserve_take(wf__loop_shared *sh) {
    for (int i = 0; i < WF__RESERVES; i++) {
        int fd = atomic_exchange(&sh->reserve[i], -1);
        if (fd < 0) continue;
        atomic_fetch_add(&sh->reserves_missing, 1);
        return fd;
    }
    return -1;
}

WF__PRIVATE void wf__conn_close(wf__loop *loop, wf__conn *c) {
    uint32_t i = c->slot, last = loop->n - 1;
#if WF__EPOLL
    /* close() takes the socket out of the set only if no other descriptor refers to it, and a fork
       not yet at its exec (popen, system) holds copies: the set would keep reporting it, with c freed */
    if (c->watched) epoll_ctl(loop->epfd, EPOLL_CTL_DEL, c->fd, NULL);
#endif
    close(c->fd);
    c->fd = -1;
    if (atomic_load(&loop->shared->reserves_missing) > 0) wf__reserve_refill(loop->shared);
    if (c->lingering) loop->lingering--;
    loop->shared->hooks->closed(loop, c);
    if (c->out) {
        wf__output_free(c->out);
        WF_FREE(NULL, c->out);
    }
    wf_buf_free(&c->in);
#if !WF__EPOLL
    loop->pfds[i] = loop->pfds[last];
#endif
    loop->conns[i] = loop->conns[last];
    loop->conns[i]->slot = i;
    loop->n--;
    atomic_fetch_sub(&loop->shared->nconns, 1);
    c->next_dead = loop->dead;                 /* freed once no ready list can point at it */
    loop->dead = c;
}

WF__PRIVATE void wf__conn_bury(wf__loop *loop) {
    while (loop->dead) {
        wf__conn *n = loop->dead->next_dead;
        WF_FREE(NULL, loop->dead);
        loop->dead = n;
    }
}

/* Keep what must outlive this event: unparsed input and unsent output move off the scratch buffers. */
WF__PRIVATE int wf__conn_stash(wf__loop *loop, wf__conn *c) {
    wf_buf *in = loop->in;
    size_t left = in->len - c->in_start;
    if (in == &loop->rbuf) {
        if (left && wf_buf_append(&c->in, in->ptr + c->in_start, left) < 0) return -1;
        c->in_start = 0;
        loop->rbuf.len = 0;
    } else if (!left) {
        wf_buf_free(&c->in);
        c->in_start = 0;
    } else if (c->in_start) {
        memmove(c->in.ptr, c->in.ptr + c->in_start, left);
        c->in.len = left;
        c->in_start = 0;
    }
    if (!c->out && loop->scratch.pending) {
        c->out = (wf__output *)WF_MALLOC(NULL, sizeof *c->out);
        if (!c->out) return -1;
        *c->out = loop->scratch;
        memset(&loop->scratch, 0, sizeof loop->scratch);
    } else if (c->out && !c->out->pending) {
        wf__output_free(c->out);
        WF_FREE(NULL, c->out);
        c->out = NULL;
    }
    return 0;
}

/* Throw away what c's event left in the scratch buffers (c is closing). */
WF__PRIVATE void wf__conn_drop_scratch(wf__loop *loop) {
    wf__output_clear(&loop->scratch);
    loop->rbuf.len = 0;
}

/* Half-close and drain the input for a while, so a response is not destroyed by a reset. */
WF__PRIVATE void wf__conn_linger(wf__loop *loop, wf__conn *c) {
    shutdown(c->fd, SHUT_WR);
    c->lingering = true;
    loop->lingering++;
    wf__conn_timer(loop, c, WF__TIMER_LINGER, loop->now_ms + WF__LINGER_MS);
    wf__conn_watch(loop, c, true, false);
}

/* Read once into the scratch buffer, or into c's own buffer when a partial request waits there.
   Returns bytes read, 0 at end of stream, or WF__READ_ERROR / _AGAIN (nothing was ready) / _FULL
   (c's buffer holds more than any acceptable request). */
WF__PRIVATE long wf__conn_read(wf__loop *loop, wf__conn *c) {
    wf_buf *in = c->in.len ? &c->in : &loop->rbuf;
    size_t room = in == &loop->rbuf ? WF__READ_CHUNK : 16384;
    if (in == &c->in) {
        const wf_config *cfg = loop->shared->cfg;
        size_t cap = (size_t)cfg->max_header_bytes + (size_t)cfg->max_body + 65536;
        if (c->in.len >= cap) return WF__READ_FULL;
        room = WF__MIN(WF__MAX(room, c->in.len), cap - c->in.len);
    }
    if (wf_buf_reserve(in, room) < 0) return WF__READ_ERROR;
    loop->in = in;
    ssize_t r;
    do r = recv(c->fd, in->ptr + in->len, room, 0);
    while (r < 0 && errno == EINTR);
    if (r < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? WF__READ_AGAIN : WF__READ_ERROR;
    in->len += (size_t)r;
    return (long)r;
}

WF__PRIVATE void wf__conn_linger_read(wf__loop *loop, wf__conn *c) {
    char tmp[4096];
    ssize_t r = recv(c->fd, tmp, sizeof tmp, 0);
    if (r > 0) c->linger_bytes += (size_t)r;
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR) || c->linger_bytes > WF__LINGER_BYTES)
        wf__conn_close(loop, c);
}

/* c is ready: read what is there and hand it to the protocol. */
WF__PRIVATE void wf__conn_event(wf__loop *loop, wf__conn *c, short rev) {
    if (c->lingering) {
        wf__conn_linger_read(loop, c);
        return;
    }
    wf__conn_input(loop, c);
    long r = (rev & (POLLIN | POLLHUP | POLLERR)) ? wf__conn_read(loop, c) : WF__READ_AGAIN;
    loop->shared->hooks->event(loop, c, r, rev);
}

/* ---- timers ---- */

WF__PRIVATE void wf__timers(wf__loop *loop) {
    if (loop->now_ms < loop->next_timer) return;
    loop->next_timer = INT64_MAX;
    for (uint32_t i = loop->n; i-- > 2;) {
        wf__conn *c = loop->conns[i];
        if (c->timer != WF__TIMER_NONE && c->deadline <= loop->now_ms) {
            int timer = c->timer;
            c->timer = WF__TIMER_NONE;
            if (timer == WF__TIMER_LINGER) wf__conn_close(loop, c);
            else loop->shared->hooks->timeout(loop, c, timer);
        } else if (c->timer != WF__TIMER_NONE && c->deadline < loop->next_timer) {
            loop->next_timer = c->deadline;
        }
    }
    if (loop->listen_paused_until && loop->listen_paused_until < loop->next_timer)
        loop->next_timer = loop->listen_paused_until;
    if (loop->stopping && loop->stop_deadline < loop->next_timer) loop->next_timer = loop->stop_deadline;
}

/* ---- accepting ---- */

/* Refuse a connection politely: a 503 if the socket takes it at once, then close. */
WF__PRIVATE void wf__refuse(int fd) {
    static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                               "Content-Length: 33\r\nConnection: close\r\n\r\n"
                               "{\"detail\":\"Too many connections\"}";
    ssize_t w = send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)w;
    close(fd);
}

WF__PRIVATE int wf__loop_grow(wf__loop *loop) {
    uint32_t cap = loop->cap ? loop->cap * 2 : 64;
    struct pollfd *p = (struct pollfd *)WF_REALLOC(NULL, loop->pfds, cap * sizeof *p);
    if (!p) return -1;
    loop->pfds = p;
    struct wf__ready *r = (struct wf__ready *)WF_REALLOC(NULL, loop->ready, cap * sizeof *r);
    if (!r) return -1;
    loop->ready = r;
    wf__conn **cs = (wf__conn **)WF_REALLOC(NULL, loop->conns, cap * sizeof *cs);
    if (!cs) return -1;
    loop->conns = cs;
    loop->cap = cap;
    return 0;
}

/* The peer's address, as the request's peer and the access log show it. */
WF__PRIVATE void wf__conn_peer(wf__conn *c, const struct sockaddr_storage *ss) {
    c->family = (uint8_t)ss->ss_family;
    if (ss->ss_family == AF_UNIX) {
        c->port = 50000;                            /* the test client, as Starlette names it */
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        memcpy(c->addr, &a->sin6_addr, 16);
        c->port = ntohs(a->sin6_port);
    } else {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        memcpy(c->addr, &a->sin_addr, 4);
        c->port = ntohs(a->sin_port);
    }
}

WF__PRIVATE void wf__conn_add(wf__loop *loop, int fd, const struct sockaddr_storage *ss) {
    wf__conn *c = (wf__conn *)WF_MALLOC(NULL, loop->shared->hooks->conn_size);
    if (!c || (loop->n == loop->cap && wf__loop_grow(loop) < 0)) {
        WF_FREE(NULL, c);
        wf__refuse(fd);
        return;
    }
    memset(c, 0, loop->shared->hooks->conn_size);
    c->fd = fd;
    wf__conn_peer(c, ss);
    c->slot = loop->n++;
    loop->conns[c->slot] = c;
#if !WF__EPOLL
    wf__pollset_watch(loop, c->slot, fd, c, 0, true);   /* the pfds slot must hold the fd from now on */
#endif
    atomic_fetch_add(&loop->shared->nconns, 1);
    /* the request usually follows the handshake at once: read it now rather than after a poll */
    wf__conn_event(loop, c, POLLIN);
}

/* A connection was accepted while spares are missing: reopen them first. If there is no descriptor
   for that, this connection (past the limit, then) is refused and its number becomes a spare, so
   spares taken by accepts are won back at once. False if fd was refused. */
WF__PRIVATE bool wf__reserve_first(wf__loop_shared *sh, int fd) {
    int e = wf__reserve_refill(sh);
    if (atomic_load(&sh->reserves_missing) <= 0 || (e != EMFILE && e != ENFILE)) return true;
    wf__refuse(fd);
    wf__reserve_refill(sh);
    return false;
}

/* Out of descriptors: refuse the waiting connection in a spare's place, or pause the listener. */
WF__PRIVATE void wf__accept_emfile(wf__loop *loop) {
    bool refused = false;
    wf__reserve_refill(loop->shared);           /* descriptors closed since may bring back lost ones */
    int spare = wf__reserve_take(loop->shared);
    if (spare >= 0) {
        close(spare);
        int fd = accept(loop->listen_fd, NULL, NULL);
        if (fd >= 0) {
            wf__refuse(fd);
            refused = true;
        }
        wf__reserve_refill(loop->shared);
    }
    if (!refused) {                             /* no progress possible now (ENOMEM, no spare, ...) */
        loop->listen_paused_until = loop->now_ms + WF__EMFILE_PAUSE_MS;
        wf__pollset_watch(loop, 1, loop->listen_fd, NULL, 0, false);
        if (loop->listen_paused_until < loop->next_timer) loop->next_timer = loop->listen_paused_until;
    }
    if (loop->now_ms - loop->emfile_logged >= 1000) {   /* at most one line a second */
        loop->emfile_logged = loop->now_ms;
        wf__logf(loop->shared->cfg, WF_LOG_WARNING, "accept: out of file descriptors; refusing connections");
    }
}

WF__PRIVATE void wf__accept(wf__loop *loop) {
    for (int i = 0; i < WF__ACCEPT_BATCH; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(loop->listen_fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                wf__accept_emfile(loop);
            return;
        }
        if (atomic_load(&loop->shared->nconns) >= loop->shared->cfg->max_conns || loop->stopping) {
            wf__refuse(fd);
            continue;
        }
        if (atomic_load(&loop->shared->reserves_missing) > 0 && !wf__reserve_first(loop->shared, fd))
            continue;
        wf__conn_add(loop, fd, &ss);
    }
}

/* ---- wake-ups and work posted from other threads ---- */

/* Wake loop l's thread. Safe from any thread and from a signal handler. */
WF__PRIVATE void wf__loop_wake(wf__loop *loop) {
    uint64_t one = 1;
    ssize_t w = write(loop->wake_wr, &one, sizeof one);
    (void)w;
}

/* Queue p (its fn and arg set) to run on loop l's thread and wake it. Safe from any thread. */
WF__PRIVATE void wf__loop_post_node(wf__loop *loop, wf__post *p) {
    pthread_mutex_lock(&loop->post_mu);
    p->next = loop->posts;
    loop->posts = p;
    pthread_mutex_unlock(&loop->post_mu);
    wf__loop_wake(loop);
}

/* Queue fn(arg) to run on loop l's thread: it runs exactly once, at the latest when the loop ends,
   unless this fails (WF_ENOMEM, or WF_ESTOPPED once the loop has ended). Safe from any thread. */
WF__PRIVATE int wf__loop_post(wf__loop *loop, void (*fn)(void *), void *arg) {
    wf__post *p = (wf__post *)WF_MALLOC(NULL, sizeof *p);
    if (!p) return WF_ENOMEM;
    p->fn = fn;
    p->arg = arg;
    p->heap = true;
    pthread_mutex_lock(&loop->post_mu);
    bool closed = loop->posts_closed;
    if (!closed) {
        p->next = loop->posts;
        loop->posts = p;
    }
    pthread_mutex_unlock(&loop->post_mu);
    if (closed) {
        WF_FREE(NULL, p);
        return WF_ESTOPPED;
    }
    wf__loop_wake(loop);
    return 0;
}

/* Run what was posted, in order; the last drain, as the loop ends, closes the queue to wf__loop_post. */
WF__PRIVATE void wf__loop_wake_drain(wf__loop *loop, bool last) {
    char tmp[64];
    while (read(loop->wake_rd, tmp, sizeof tmp) > 0) {
    }
    pthread_mutex_lock(&loop->post_mu);
    wf__post *p = loop->posts, *rev = NULL;
    loop->posts = NULL;
    loop->posts_closed = loop->posts_closed || last;
    pthread_mutex_unlock(&loop->post_mu);
    while (p) {                 /* run in the order posted */
        wf__post *n = p->next;
        p->next = rev;
        rev = p;
        p = n;
    }
    while (rev) {
        wf__post *n = rev->next;
        bool heap = rev->heap;
        rev->fn(rev->arg);
        if (heap) WF_FREE(NULL, rev);
        rev = n;
    }
}

/* ---- the loop thread ---- */

/* Stop accepting; the protocol closes idle connections and lets the others finish within the
   grace period. */
WF__PRIVATE void wf__loop_begin_stop(wf__loop *loop) {
    long long at = atomic_load(&loop->shared->stop_at_ms);
    loop->stopping = true;
    loop->stop_deadline = (at ? at : loop->now_ms) + loop->shared->cfg->shutdown_grace_ms;
    if (loop->stop_deadline < loop->next_timer) loop->next_timer = loop->stop_deadline;
    if (loop->listen_fd >= 0) close(loop->listen_fd);
    loop->listen_fd = -1;
#if !WF__EPOLL
    loop->pfds[1].fd = -1;
#endif
    for (uint32_t i = loop->n; i-- > 2;)
        if (!loop->conns[i]->lingering) loop->shared->hooks->stopping(loop, loop->conns[i]);
}

WF__PRIVATE int wf__loop_timeout(wf__loop *loop) {
    int64_t wait = loop->next_timer == INT64_MAX ? 1000 : loop->next_timer - loop->now_ms;
    return (int)WF__MAX(0, WF__MIN(wait, 1000));
}

WF__PRIVATE void wf__loop_poll_once(wf__loop *loop) {
    int special = wf__pollset_wait(loop, wf__loop_timeout(loop));
    wf__loop_tick(loop);
    if (special < 0 && errno != EINTR) wf__logf(loop->shared->cfg, WF_LOG_ERROR, "poll: %s", strerror(errno));
    if (special > 0 && (special & 1)) wf__loop_wake_drain(loop, false);
    for (uint32_t i = 0; special >= 0 && i < loop->nready; i++)
        if (loop->ready[i].c->fd >= 0) wf__conn_event(loop, loop->ready[i].c, loop->ready[i].rev);
    if (special > 0 && (special & 2) && loop->listen_fd >= 0) wf__accept(loop);
    if (loop->listen_paused_until && loop->now_ms >= loop->listen_paused_until && loop->listen_fd >= 0) {
        loop->listen_paused_until = 0;
        wf__reserve_refill(loop->shared);
        wf__pollset_watch(loop, 1, loop->listen_fd, NULL, POLLIN, false);
    }
    wf__timers(loop);
    wf__conn_bury(loop);
}

WF__PRIVATE void *wf__loop_main(void *arg) {
    wf__loop *loop = (wf__loop *)arg;
    loop->owner = pthread_self();
    wf__loop_tick(loop);
    for (;;) {
        if (atomic_load(&loop->shared->stop) && !loop->stopping) wf__loop_begin_stop(loop);
        if (loop->stopping && (loop->n - 2 == loop->lingering || loop->now_ms >= loop->stop_deadline)) break;
        wf__loop_poll_once(loop);
    }
    for (uint32_t i = loop->n; i-- > 2;) {
        if (!loop->conns[i]->lingering) loop->shared->hooks->expired(loop, loop->conns[i]);
        wf__conn_close(loop, loop->conns[i]);
    }
    wf__loop_wake_drain(loop, true);
    return NULL;
}

/* ---- listeners, loop set-up ---- */

/* Does another socket (another process's: this server has none yet) listen on the address? A
   socket without SO_REUSEPORT cannot bind beside one, whatever its options; SO_REUSEADDR lets it
   bind over connections in TIME_WAIT. (A server started between this probe and the real bind is
   not seen: the window is a few system calls.) */
WF__PRIVATE bool wf__addr_taken(const struct addrinfo *ai) {
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0) return false;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    bool taken = bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno == EADDRINUSE;
    close(fd);
    return taken;
}

/* A listening socket for cfg->host:port. The first of a server refuses an address another process
   listens on (SO_REUSEPORT would otherwise let a second server take half the connections), unless
   cfg->share_port asks for exactly that. */
WF__PRIVATE int wf__listen(const wf_config *cfg, int port, bool first) {
    struct addrinfo hints, *ai = NULL;
    char service[16];
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(service, sizeof service, "%d", port);
    if (getaddrinfo(cfg->host, service, &hints, &ai) != 0 || !ai) {
        wf__logf(cfg, WF_LOG_ERROR, "cannot resolve listen address %s", cfg->host);
        return WF_EADDR;
    }
    if (first && port > 0 && !cfg->share_port && wf__addr_taken(ai)) {
        wf__logf(cfg, WF_LOG_ERROR, "cannot listen on %s:%d: another process listens there (set "
                 "wf_config.share_port to share the port on purpose)", cfg->host, port);
        freeaddrinfo(ai);
        return WF_EADDRINUSE;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
#ifdef SO_REUSEPORT
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
#endif
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, cfg->backlog) < 0) {
            int e = errno;
            wf__logf(cfg, WF_LOG_ERROR, "cannot listen on %s:%d: %s", cfg->host, port, strerror(e));
            close(fd);
            fd = e == EADDRINUSE ? WF_EADDRINUSE : WF_EADDR;
        }
    } else {
        fd = WF_ESYS;
    }
    freeaddrinfo(ai);
    return fd;
}

WF__PRIVATE int wf__bound_port(int fd) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) return -1;
    if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* Set up loop l of a server (listening on port, or not at all if port < 0); no thread yet. */
WF__PRIVATE int wf__loop_init(wf__loop *loop, wf__loop_shared *shared, void *user, int port) {
    int wake[2] = {-1, -1};
    memset(loop, 0, sizeof *loop);
    loop->shared = shared;
    loop->user = user;
    loop->listen_fd = loop->wake_rd = loop->wake_wr = loop->epfd = -1;
    pthread_mutex_init(&loop->post_mu, NULL);
    loop->next_timer = INT64_MAX;
#ifdef __linux__
    wake[0] = wake[1] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake[0] < 0) return WF_ESYS;
#else
    if (pipe(wake) < 0) return WF_ESYS;
    fcntl(wake[0], F_SETFL, O_NONBLOCK);
    fcntl(wake[1], F_SETFL, O_NONBLOCK);
#endif
    loop->wake_rd = wake[0];
    loop->wake_wr = wake[1];
    if (wf__loop_grow(loop) < 0) return WF_ENOMEM;
    if (port >= 0 && (loop->listen_fd = wf__listen(shared->cfg, port, shared->listeners++ == 0)) < 0)
        return loop->listen_fd;
    if (port >= 0) wf__reserve_refill(shared);   /* the first listener opens them */
#if WF__EPOLL
    if ((loop->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) return WF_ESYS;
#endif
    wf__pollset_watch(loop, 0, loop->wake_rd, NULL, POLLIN, true);
    if (loop->listen_fd >= 0) wf__pollset_watch(loop, 1, loop->listen_fd, NULL, POLLIN, true);
    else wf__pollset_watch(loop, 1, -1, NULL, 0, false);
    loop->conns[0] = loop->conns[1] = NULL;
    loop->n = 2;
    wf__loop_tick(loop);
    return 0;
}

WF__PRIVATE void wf__loop_free(wf__loop *loop) {
    wf__loop_wake_drain(loop, true);   /* a worker's hand-backs after the loop's end (the queue is
                                          closed to others): they free their requests */
    if (loop->listen_fd >= 0) close(loop->listen_fd);
    if (loop->wake_rd >= 0) close(loop->wake_rd);
    if (loop->wake_wr >= 0 && loop->wake_wr != loop->wake_rd) close(loop->wake_wr);
    wf__output_free(&loop->scratch);
    wf_buf_free(&loop->rbuf);
    if (loop->epfd >= 0) close(loop->epfd);
    wf__conn_bury(loop);
    WF_FREE(NULL, loop->pfds);
    WF_FREE(NULL, loop->ready);
    WF_FREE(NULL, loop->conns);
    pthread_mutex_destroy(&loop->post_mu);
}

/* Use every descriptor the hard limit allows, and keep max_conns within it. */
WF__PRIVATE void wf__fd_limit(wf_config *cfg) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)cfg->max_conns + 32 > rl.rlim_cur)
        cfg->max_conns = rl.rlim_cur > 64 ? (int)(rl.rlim_cur - 32) : 32;
}

/* ======================================================================
 * >>router  The route trie: patterns, groups, matching, 405's Allow
 * ====================================================================== */

/* A trie of path segments. Each node keeps its literal children sorted (a binary search, so lookup
   cost grows with the depth of the path, not the number of routes) and its parameter children in
   the order they are tried (int, float, str, path). Terminal nodes hold the routes of that
   pattern, one per method. Matching backtracks from a literal to the parameters, and prefers a
   node with the request's method; a node matching the path alone gives the 405 and its Allow. */
enum { WF__PART_LIT, WF__PART_INT, WF__PART_FLOAT, WF__PART_STR, WF__PART_PATH };
#define WF__MAX_PARAMS 16

typedef struct wf__route {
    char *method;
    char *pattern;              /* the full pattern, for the log and for parameter names */
    const char *names[WF__MAX_PARAMS];  /* parameter names, in order, pointing into names_buf */
    char *names_buf;
    wf_handler handler;
    wf_group *group;
    bool blocking;              /* run on the worker pool */
    void *data;                 /* wf_route_opts.data */
    void *owned;                /* data the router made (wf_static's) and frees with the route */
    const wf_ws_opts *ws;       /* a WebSocket route's (method WF__WS_METHOD) */
    atomic_bool said_no_reply;  /* its handler returned without a reply once: logged */
} wf__route;

typedef struct wf__rnode wf__rnode;
struct wf__rnode {
    char *part;                 /* literal text, or the parameter's name */
    size_t part_len;
    int kind;
    wf__rnode **lits, **params;
    uint32_t nlits, nparams;
    wf__route *routes;
    uint32_t nroutes;
};

/* An app's routes: the trie and the groups. */
typedef struct wf__router {
    wf__rnode root;
    wf_group *groups;           /* every group but the root one, to free them */
    int nblocking;              /* blocking routes: requests are matched before dispatch only if any */
    wf_buf failures;            /* set-up calls that failed, "; "-separated: the app will not start */
    int nfailures;
} wf__router;

struct wf_group {
    wf__router *router;
    wf_app *app;
    char *prefix;               /* "" for the root, else "/..." without a trailing slash */
    wf_group *next;             /* the router's list of groups */
    wf_group *parent;           /* NULL for the root */
    const wf_dep **deps;        /* >>deps: run before every handler of the group */
    int ndeps;
};

/* The parameters a match collected. */
typedef struct wf__params_found {
    int n;
    const char *name[WF__MAX_PARAMS];
    wf_str value[WF__MAX_PARAMS];
    const wf__rnode *partial[8];  /* nodes matching the path but not the method (for Allow) */
    int npartial;
} wf__params_found;

WF__PRIVATE void wf__rnode_free(wf__rnode *n) {
    for (uint32_t i = 0; i < n->nlits; i++) {
        wf__rnode_free(n->lits[i]);
        WF_FREE(NULL, n->lits[i]);
    }
    for (uint32_t i = 0; i < n->nparams; i++) {
        wf__rnode_free(n->params[i]);
        WF_FREE(NULL, n->params[i]);
    }
    for (uint32_t i = 0; i < n->nroutes; i++) {
        WF_FREE(NULL, n->routes[i].method);
        WF_FREE(NULL, n->routes[i].pattern);
        WF_FREE(NULL, n->routes[i].names_buf);
        WF_FREE(NULL, n->routes[i].owned);
    }
    WF_FREE(NULL, n->lits);
    WF_FREE(NULL, n->params);
    WF_FREE(NULL, n->routes);
    WF_FREE(NULL, n->part);
}

/* The router of an app, its root group g (prefix ""). Returns 0 or WF_ENOMEM. */
WF__PRIVATE int wf__router_init(wf__router *r, wf_group *g, wf_app *app) {
    memset(r, 0, sizeof *r);
    memset(g, 0, sizeof *g);
    g->router = r;
    g->app = app;
    g->prefix = (char *)WF_MALLOC(NULL, 1);
    if (!g->prefix) return WF_ENOMEM;
    g->prefix[0] = 0;
    return 0;
}

WF__PRIVATE void wf__group_free(wf_group *g) {
    WF_FREE(NULL, (void *)g->deps);
    WF_FREE(NULL, g->prefix);
}

/* Free the trie and the groups (root group g included, not the memory holding it). */
WF__PRIVATE void wf__router_free(wf__router *r, wf_group *g) {
    wf__rnode_free(&r->root);
    while (r->groups) {
        wf_group *n = r->groups->next;
        wf__group_free(r->groups);
        WF_FREE(NULL, r->groups);
        r->groups = n;
    }
    wf__group_free(g);
    wf_buf_free(&r->failures);
}

/* Order of literal children: by length, then bytes. */
WF__PRIVATE int wf__lit_cmp(const char *a, size_t an, const char *b, size_t bn) {
    if (an != bn) return an < bn ? -1 : 1;
    return memcmp(a, b, an);
}

WF__PRIVATE wf__rnode *wf__lit_find(const wf__rnode *n, const char *seg, size_t len, uint32_t *at) {
    uint32_t lo = 0, hi = n->nlits;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        int c = wf__lit_cmp(n->lits[mid]->part, n->lits[mid]->part_len, seg, len);
        if (c == 0) return n->lits[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    if (at) *at = lo;
    return NULL;
}

/* Insert child k into the array *v of *n at index at. */
WF__PRIVATE int wf__kid_insert(wf__rnode ***v, uint32_t *n, uint32_t at, wf__rnode *k) {
    wf__rnode **nv = (wf__rnode **)WF_REALLOC(NULL, *v, (*n + 1) * sizeof *nv);
    if (!nv) return WF_ENOMEM;
    memmove(nv + at + 1, nv + at, (*n - at) * sizeof *nv);
    nv[at] = k;
    *v = nv;
    (*n)++;
    return 0;
}

/* Parse one pattern segment: a literal, or {name} / {name:type}. */
WF__PRIVATE int wf__part_parse(const char *s, size_t n, int *kind, const char **name, size_t *name_len) {
    *kind = WF__PART_LIT;
    *name = s;
    *name_len = n;
    if (memchr(s, '{', n) == NULL && memchr(s, '}', n) == NULL) return 0;
    if (n < 3 || s[0] != '{' || s[n - 1] != '}') return WF_EINVAL;
    const char *colon = (const char *)memchr(s, ':', n);
    size_t nl = colon ? (size_t)(colon - s - 1) : n - 2;
    if (nl == 0) return WF_EINVAL;
    for (size_t i = 0; i < nl; i++)
        if (!(WF__IS(s[1 + i], WF__C_TOKEN) && s[1 + i] != '{' && s[1 + i] != '}')) return WF_EINVAL;
    *name = s + 1;
    *name_len = nl;
    *kind = WF__PART_STR;
    if (!colon) return 0;
    size_t tl = (size_t)(s + n - 1 - colon - 1);
    const char *t = colon + 1;
    if (tl == 3 && memcmp(t, "str", 3) == 0) *kind = WF__PART_STR;
    else if (tl == 3 && memcmp(t, "int", 3) == 0) *kind = WF__PART_INT;
    else if (tl == 5 && memcmp(t, "float", 5) == 0) *kind = WF__PART_FLOAT;
    else if (tl == 4 && memcmp(t, "path", 4) == 0) *kind = WF__PART_PATH;
    else return WF_EINVAL;
    return 0;
}

/* The child of n for one pattern segment, created if missing. */
WF__PRIVATE wf__rnode *wf__rnode_child(wf__rnode *n, int kind, const char *seg, size_t len) {
    uint32_t at = 0;
    if (kind == WF__PART_LIT) {
        wf__rnode *k = wf__lit_find(n, seg, len, &at);
        if (k) return k;
    } else {
        for (at = 0; at < n->nparams && n->params[at]->kind <= kind; at++) {
            wf__rnode *k = n->params[at];
            if (k->kind == kind) return k;   /* names belong to routes: /a/{id} and /a/{aid}/b share it */
        }
    }
    wf__rnode *k = (wf__rnode *)WF_MALLOC(NULL, sizeof *k);
    if (!k) return NULL;
    memset(k, 0, sizeof *k);
    k->kind = kind;
    k->part = wf__strndup(seg, len);
    k->part_len = len;
    int rc = k->part ? (kind == WF__PART_LIT ? wf__kid_insert(&n->lits, &n->nlits, at, k)
                                           : wf__kid_insert(&n->params, &n->nparams, at, k))
                    : WF_ENOMEM;
    if (rc < 0) {
        WF_FREE(NULL, k->part);
        WF_FREE(NULL, k);
        return NULL;
    }
    return k;
}

/* What is wrong with a full pattern (starting with '/'), written into why[cap]; NULL if nothing. */
WF__PRIVATE const char *wf__pattern_error(const char *pattern, char *why, size_t cap) {
    const char *p = pattern + 1, *end = pattern + strlen(pattern), *names[WF__MAX_PARAMS];
    size_t lens[WF__MAX_PARAMS];
    int params = 0;
    for (;;) {
        const char *slash = (const char *)memchr(p, '/', (size_t)(end - p));
        const char *se = slash ? slash : end, *name;
        size_t nl, n = (size_t)(se - p);
        int kind;
        const char *colon = (const char *)memchr(p, ':', n);
        if (wf__part_parse(p, n, &kind, &name, &nl) < 0) {
            bool typed = n > 2 && p[0] == '{' && p[n - 1] == '}' && colon && colon > p + 1;
            snprintf(why, cap, "segment \"%.*s\": %s", (int)WF__MIN(n, 64), p,
                     typed ? "the type is int, float, str or path"
                           : "a parameter is a whole segment, {name} or {name:type}, its name a token");
            return why;
        }
        if (kind == WF__PART_PATH && slash) return "{name:path} must be the last segment";
        if (kind != WF__PART_LIT) {
            if (params == WF__MAX_PARAMS) return "more than 16 parameters";
            for (int i = 0; i < params; i++)
                if (lens[i] == nl && memcmp(names[i], name, nl) == 0) {
                    snprintf(why, cap, "parameter \"%.*s\" appears twice", (int)WF__MIN(nl, 64), name);
                    return why;
                }
            names[params] = name;
            lens[params++] = nl;
        }
        if (!slash) return NULL;
        p = slash + 1;
    }
}

/* Walk (creating) the trie along a full pattern that wf__pattern_error accepts; its terminal node,
   or NULL without memory. */
WF__PRIVATE wf__rnode *wf__rnode_walk(wf__rnode *n, const char *pattern) {
    const char *p = pattern + 1, *end = pattern + strlen(pattern);
    for (;;) {
        const char *slash = (const char *)memchr(p, '/', (size_t)(end - p));
        const char *se = slash ? slash : end, *name;
        size_t nl;
        int kind;
        wf__part_parse(p, (size_t)(se - p), &kind, &name, &nl);
        if (!(n = wf__rnode_child(n, kind, name, nl))) return NULL;
        if (!slash) return n;
        p = slash + 1;
    }
}

/* The parameter names of r's pattern, in order ("{id:int}" gives "id"). */
WF__PRIVATE int wf__route_names(wf__route *r) {
    int k = 0;
    if (!(r->names_buf = wf__strdup(r->pattern))) return WF_ENOMEM;
    for (char *p = r->names_buf; (p = strchr(p, '{')) != NULL && k < WF__MAX_PARAMS;) {
        char *end = strchr(p, '}'), *colon = (char *)memchr(p, ':', (size_t)(end - p));
        *(colon ? colon : end) = 0;
        r->names[k++] = p + 1;
        p = end + 1;
    }
    return 0;
}

/* WebSocket routes sit in the trie under this method, which no request can have ('@' is not a token
   character): only a handshake looks them up (wf__route_method). */
#define WF__WS_METHOD "@WS"

/* A method is a token in upper case ("GET", "PROPFIND"): "get" would never match a request. */
WF__PRIVATE bool wf__method_ok(const char *m) {
    if (!*m) return false;
    for (; *m; m++)
        if (!WF__IS(*m, WF__C_TOKEN) || (*m >= 'a' && *m <= 'z')) return false;
    return true;
}

/* A set-up call failed: it is logged now (to stderr: the server's log does not exist yet) and
   kept, so that the app refuses to start (wf__router_refuses). Returns rc. */
WF__PRIVATE int wf__setup_failed(wf__router *r, int rc, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
WF__PRIVATE int wf__setup_failed(wf__router *r, int rc, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    n = WF__MIN(WF__MAX(n, 0), (int)sizeof msg - 1);
    wf__log_stderr(NULL, WF_LOG_ERROR, msg);
    if (!r) return rc;
    if (r->failures.len) wf_buf_append(&r->failures, "; ", 2);
    wf_buf_append(&r->failures, msg, (size_t)n);
    r->nfailures++;
    return rc;
}

/* The route's full pattern (prefix + pattern), or NULL with the failure recorded. A group's
   pattern "" is its prefix itself (FastAPI's @router.get("")). */
WF__PRIVATE char *wf__route_pattern(wf_group *g, const char *method, const char *pattern, wf_handler h) {
    char why[160];
    const char *err = !h ? "no handler"
                    : !wf__method_ok(method) && strcmp(method, WF__WS_METHOD) != 0
                        ? "the method is a token in upper case (GET, POST...)"
                    : !*pattern && !*g->prefix ? "app patterns start with '/' (\"\" is a group's prefix)"
                    : *pattern && *pattern != '/' ? "the pattern must start with '/'" : NULL;
    char *full = err ? NULL : (char *)WF_MALLOC(NULL, strlen(g->prefix) + strlen(pattern) + 1);
    if (full) {
        strcpy(full, g->prefix);
        strcat(full, pattern);
        err = wf__pattern_error(full, why, sizeof why);
    } else if (!err) {
        err = "out of memory";
    }
    if (!err) return full;
    wf__setup_failed(g->router, 0, "route %.16s %s%.200s not added: %s", method, g->prefix, pattern, err);
    WF_FREE(NULL, full);
    return NULL;
}

WF__PRIVATE int wf__group_route(wf_group *g, const char *method, const char *pattern, wf_handler h,
                                const wf_route_opts *opts, void *owned, const wf_ws_opts *ws) {
    bool blocking = opts && opts->blocking;
    if (!g || !method || !pattern)
        return wf__setup_failed(g ? g->router : NULL, WF_EINVAL, "route %s %s not added: %s",
                                method ? method : "(null)", pattern ? pattern : "(null)",
                                g ? "no method or pattern" : "no group (did wf_group_new fail?)");
    char *full = wf__route_pattern(g, method, pattern, h);
    if (!full) return WF_EINVAL;
    wf__rnode *n = wf__rnode_walk(&g->router->root, full);
    for (uint32_t i = 0; n && i < n->nroutes; i++)
        if (strcmp(n->routes[i].method, method) == 0) {
            wf__setup_failed(g->router, 0, "route %s %s not added: %s %s is already routed", method, full,
                             method, n->routes[i].pattern);
            WF_FREE(NULL, full);
            return WF_EINVAL;
        }
    wf__route *r = n ? (wf__route *)WF_REALLOC(NULL, n->routes, (n->nroutes + 1) * sizeof *r) : NULL;
    if (!r) {
        wf__setup_failed(g->router, 0, "route %s %s not added: out of memory", method, full);
        WF_FREE(NULL, full);
        return WF_ENOMEM;
    }
    n->routes = r;
    r = &n->routes[n->nroutes];
    memset(r, 0, sizeof *r);
    r->pattern = full;
    if (!(r->method = wf__strdup(method)) || wf__route_names(r) < 0) {
        wf__setup_failed(g->router, 0, "route %s %s not added: out of memory", method, full);
        WF_FREE(NULL, r->method);
        WF_FREE(NULL, full);
        return WF_ENOMEM;
    }
    r->handler = h;
    r->group = g;
    r->blocking = blocking;
    r->data = opts ? opts->data : NULL;
    r->owned = owned;
    r->ws = ws;
    g->router->nblocking += blocking;
    n->nroutes++;
    return 0;
}

/* An app with failed set-up calls does not start: they are logged again, named, and WF_EINVAL. */
WF__PRIVATE int wf__router_refuses(const wf__router *r, const wf_config *cfg, const char *what) {
    if (!r->nfailures) return 0;
    wf__logf(cfg, WF_LOG_ERROR, "%s refused: %d route or group registration%s failed: %.*s", what,
             r->nfailures, r->nfailures == 1 ? "" : "s", (int)WF__MIN(r->failures.len, 380),
             r->failures.ptr);
    return WF_EINVAL;
}

WF_API int wf_group_route(wf_group *g, const char *method, const char *pattern, wf_handler h,
                          const wf_route_opts *opts) {
    return wf__group_route(g, method, pattern, h, opts, NULL, NULL);
}

WF_API int wf_group_get(wf_group *g, const char *pattern, wf_handler h) {
    return wf_group_route(g, "GET", pattern, h, NULL);
}

WF_API int wf_group_post(wf_group *g, const char *pattern, wf_handler h) {
    return wf_group_route(g, "POST", pattern, h, NULL);
}

WF_API int wf_group_put(wf_group *g, const char *pattern, wf_handler h) {
    return wf_group_route(g, "PUT", pattern, h, NULL);
}

WF_API int wf_group_patch(wf_group *g, const char *pattern, wf_handler h) {
    return wf_group_route(g, "PATCH", pattern, h, NULL);
}

WF_API int wf_group_delete(wf_group *g, const char *pattern, wf_handler h) {
    return wf_group_route(g, "DELETE", pattern, h, NULL);
}

WF_API int wf_group_options(wf_group *g, const char *pattern, wf_handler h) {
    return wf_group_route(g, "OPTIONS", pattern, h, NULL);
}

WF_API wf_group *wf_group_sub(wf_group *parent, const char *prefix) {
    char why[160];
    const char *err = !prefix || prefix[0] != '/' ? "a prefix starts with '/'" : NULL;
    if (!parent || err || (err = wf__pattern_error(prefix, why, sizeof why)) != NULL) {
        wf__setup_failed(parent ? parent->router : NULL, 0, "group %.200s not made: %s",
                         prefix ? prefix : "(null)", parent ? err : "no parent group");
        return NULL;
    }
    size_t pl = strlen(parent->prefix), n = strlen(prefix);
    while (n > 1 && prefix[n - 1] == '/') n--;                 /* "/api/" is "/api" */
    wf_group *g = (wf_group *)WF_MALLOC(NULL, sizeof *g);
    char *full = (char *)WF_MALLOC(NULL, pl + n + 1);
    if (!g || !full) {
        WF_FREE(NULL, g);
        WF_FREE(NULL, full);
        wf__setup_failed(parent->router, 0, "group %.200s not made: out of memory", prefix);
        return NULL;
    }
    memcpy(full, parent->prefix, pl);
    memcpy(full + pl, prefix, n);
    full[pl + (n == 1 ? 0 : n)] = 0;                        /* "/" adds nothing */
    memset(g, 0, sizeof *g);
    g->router = parent->router;
    g->app = parent->app;
    g->parent = parent;
    g->prefix = full;
    g->next = parent->router->groups;
    parent->router->groups = g;
    return g;
}

/* Does segment s[0..n) fit a parameter of this kind (Starlette's convertors)? */
WF__PRIVATE bool wf__part_fits(int kind, const char *s, size_t n) {
    size_t i = 0;
    if (n == 0) return false;
    if (kind == WF__PART_STR) return true;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    if (kind == WF__PART_INT || i == n) return i == n && i > 0;
    if (i == 0 || s[i] != '.' || i + 1 == n) return false;    /* float: digits '.' digits */
    for (i++; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    return true;
}

/* Has n an HTTP route (not only WebSocket ones)? */
WF__PRIVATE bool wf__node_http(const wf__rnode *n) {
    for (uint32_t i = 0; i < n->nroutes; i++)
        if (!n->routes[i].ws) return true;
    return false;
}

WF__PRIVATE const wf__route *wf__node_route(const wf__rnode *n, wf_str method) {
    const wf__route *get = NULL;
    bool head = method.len == 4 && memcmp(method.ptr, "HEAD", 4) == 0;
    for (uint32_t i = 0; i < n->nroutes; i++) {
        if (wf_str_eq(method, n->routes[i].method)) return &n->routes[i];
        if (head && strcmp(n->routes[i].method, "GET") == 0) get = &n->routes[i];
    }
    return get;
}

/* Match the rest of a path, p..end (after a '/'), below n. Returns the node with the method. */
WF__PRIVATE const wf__rnode *wf__match_path(const wf__rnode *n, const char *p, const char *end, wf_str method,
                                        wf__params_found *found);
/* Try child k for segment p..se: the node found below it (or at it, for the last segment). */
WF__PRIVATE const wf__rnode *wf__match_child(const wf__rnode *k, const char *slash, const char *end,
                                             wf_str method, wf__params_found *found) {
    if (slash) return wf__match_path(k, slash + 1, end, method, found);
    if (!k->nroutes) return NULL;
    if (wf__node_route(k, method)) return k;
    if (!wf__node_http(k)) return NULL;     /* WebSocket routes only: no 405 for them */
    bool seen = false;
    for (int i = 0; i < found->npartial; i++) seen = seen || found->partial[i] == k;
    if (!seen && found->npartial < 8) found->partial[found->npartial++] = k;
    return NULL;
}

WF__PRIVATE const wf__rnode *wf__match_path(const wf__rnode *n, const char *p, const char *end, wf_str method,
                                        wf__params_found *found) {
    const char *slash = (const char *)memchr(p, '/', (size_t)(end - p));
    size_t len = (size_t)((slash ? slash : end) - p);
    const wf__rnode *k = wf__lit_find(n, p, len, NULL), *r;
    if (k && (r = wf__match_child(k, slash, end, method, found))) return r;
    for (uint32_t i = 0; i < n->nparams && found->n < WF__MAX_PARAMS; i++) {
        k = n->params[i];
        bool whole = k->kind == WF__PART_PATH;
        if (!whole && !wf__part_fits(k->kind, p, len)) continue;
        found->value[found->n].ptr = p;
        found->value[found->n].len = whole ? (size_t)(end - p) : len;
        found->n++;
        if ((r = wf__match_child(k, whole ? NULL : slash, end, method, found))) return r;
        found->n--;
    }
    return NULL;
}

/* Allow for a 405: every method of every node the path matched, GET implying HEAD, no repeats. */
WF__PRIVATE void wf__allow(const wf__rnode *const *nodes, int nn, wf_buf *allow) {
    const char *listed[64];
    int nl = 0;
    for (int j = 0; j < nn; j++)
        for (uint32_t i = 0; i < nodes[j]->nroutes; i++) {
            if (nodes[j]->routes[i].ws) continue;
            const char *m[2] = {nodes[j]->routes[i].method,
                                strcmp(nodes[j]->routes[i].method, "GET") ? NULL : "HEAD"};
            for (int t = 0; t < 2 && m[t]; t++) {
                bool dup = false;
                for (int k = 0; k < nl; k++) dup = dup || strcmp(listed[k], m[t]) == 0;
                if (dup || nl == 64) continue;
                if (nl) wf_buf_append(allow, ", ", 2);
                wf_buf_append(allow, m[t], strlen(m[t]));
                listed[nl++] = m[t];
            }
        }
}

/* ======================================================================
 * >>app  The app and the request: one part per section that owns it; request accessors
 * ====================================================================== */

/* C needs a struct complete where its fields are used, so the app and the request are defined
   here, below every section that works on them; each part belongs to one section, which alone
   reads it, writes it and resets it. The other parts only point to types their owners define. */
#define WF__SPEC_SLOTS 256      /* >>params: cached specs per app (a power of two) */
struct wf_app {
    wf__router router;          /* >>router: the routes */
    wf_group root;              /* >>router: the group of the app's own routes */
    struct wf__errh *errs;      /* >>errors: wf_on_error handlers */
    int nerrs;
    struct wf__app_params {     /* >>params: parsed specs, by address */
        _Atomic(struct wf__pspec *) specs[WF__SPEC_SLOTS];
    } params;
    struct wf__app_deps {       /* >>deps */
        pthread_mutex_t mu;     /* app-scoped values (recursive) */
        struct wf__appdep *values;
        struct wf__cleanup *cleanups;
        struct wf__override *overrides;
        int noverrides;
    } deps;
    struct wf__app_server {     /* >>server */
        struct wf__mw *mws;     /* middleware, outermost first */
        int nmw;
        _Atomic(struct wf__server *) running;
        atomic_int callers;     /* wf_stop and wf_run_on_loop calls in flight: wf_wait frees the
                                   server only once none can still be reading it */
        atomic_bool signalled;  /* a signal came for wf_run before its server existed */
    } server;
};

/* The request's path decoded and matched, once per request (the server matches a request first when
   the app has blocking routes; the router then uses the same match). */
typedef struct wf__match {
    const wf__rnode *node;      /* the route's node, or NULL (found then holds the nodes matching the
                                   path with another method) */
    char *dec;                  /* the decoded path, with room for one more byte */
    size_t n;
    wf__params_found found;
} wf__match;

struct wf_req {
    /* >>app: the request as the server hands it over */
    const wf_http_head *head;   /* the parsed head: offsets into buf */
    const char *buf;            /* the request's bytes: head, then the decoded body */
    wf_str body;
    wf__conn *conn;             /* the transport: addresses */
    wf_app *app;
    const wf_config *cfg;
    wf__pool *pool;             /* the worker pool (NULL in the test client: tasks run inline) */
    wf_res *res;
    wf__arena arena;
    struct wf__state *state;    /* wf_set_state */
    char peer[64];              /* "ip:port", formatted on first use */
    struct wf__req_route {      /* >>app: the route lookup */
        wf__match *match;
    } route;
    struct wf__req_dispatch {   /* >>server */
        const char *pattern;    /* of the matched route, for the log */
        bool blocking;          /* the route is blocking (in the test client it runs inline) */
        int refused;            /* a blocking route could not be handed over: 503 (pool full), 500 */
        int next_mw;            /* the next middleware to run */
    } dispatch;
    struct wf__req_params {     /* >>params */
        wf_buf *errors;         /* 422 entries as JSON objects, comma-separated */
        wf_json_doc *json;      /* the parsed body */
        int json_state;         /* 0 not read, 1 parsed, -1 failed, -2 not JSON (both recorded) */
    } params;
    struct wf__req_errors {     /* >>errors */
        jmp_buf *raise;         /* where wf_raise unwinds to */
        int raise_level;        /* the guards held there: a raise releases the ones above */
        bool in_handler;        /* an error handler is running */
        struct wf__guard *guards;   /* wf_guard, newest first: released by the unwinding */
        bool raised;            /* the request ended in a raise */
    } errors;
    struct wf__req_deps {       /* >>deps */
        struct wf__depval *values;
        struct wf__cleanup *cleanups;   /* wf_defer, newest first */
        int depth, app_building;
        const struct wf_dep *building;  /* the innermost app-scoped dependency being built */
    } deps;
    struct wf__req_tasks {      /* >>tasks */
        struct wf__task *head, *tail;
    } tasks;
    struct wf__req_ws {         /* >>websocket */
        bool handshake;         /* a valid WebSocket handshake: routed among WebSocket routes */
        const wf_ws_opts *opts; /* the matched route's */
        struct wf_ws *ws;       /* wf_ws_accept's, until the connection takes it */
    } ws;
};

/* The request this thread is handling: set by the server around a request's dispatch and read only
   to catch calls made outside one (wf__need_request). The header's one thread-local variable. */
static _Thread_local wf_req *wf__handling;

/* A call that needs the request being handled on this thread, made from elsewhere: what was called,
   and why it cannot work. */
WF__PRIVATE void wf__misuse_say(const char *fn, const wf_req *req) {
    fprintf(stderr, "webfw: %s called %s: it works only on the request this thread is handling, from its "
            "middleware, dependencies and handler (not from main, a background task, a cleanup, a stream "
            "producer or another thread)\n", fn,
            !req ? "with req NULL" : wf__handling ? "with another request than the one being handled"
                                                : "outside a request being handled");
}

/* Abort, with the message, unless req is the request this thread is handling. */
WF__PRIVATE void wf__need_request(const wf_req *req, const char *fn) {
    if (req && req == wf__handling) return;
    wf__misuse_say(fn, req);
    abort();
}

/* For calls that have an error to return: false, with the message, unless req is being handled. */
WF__PRIVATE bool wf__in_request(const wf_req *req, const char *fn) {
    if (req && req == wf__handling) return true;
    wf__misuse_say(fn, req);
    return false;
}

/* A copy of b in the request's arena (NULL without memory); b is freed. Error paths hand arena
   memory to error handlers, which may raise: nothing malloc'd may be in flight then. */
WF__PRIVATE char *wf__arena_take(wf_req *req, wf_buf *b, size_t *n) {
    char *c = (char *)wf_req_alloc(req, b->len + 1);
    if (c) {
        memcpy(c, b->ptr ? b->ptr : "", b->len);
        c[b->len] = 0;
    }
    *n = b->len;
    wf_buf_free(b);
    return c;
}

WF_API wf_str wf_req_method(const wf_req *req) { return wf_span_str(req->buf, req->head->method); }
WF_API wf_str wf_req_target(const wf_req *req) { return wf_span_str(req->buf, req->head->target); }
/* The path as it came, percent-encoded ("/" for an empty one): the access log's. */
WF__PRIVATE wf_str wf__req_raw_path(const wf_req *req) {
    wf_str p = wf_span_str(req->buf, req->head->path);
    if (!p.len) p = wf_str_c("/");
    return p;
}

WF_API wf_str wf_req_query(const wf_req *req) { return wf_span_str(req->buf, req->head->query); }
WF_API wf_str wf_req_header_nth(const wf_req *req, const char *name, int n) {
    const wf_http_head *h = req->head;
    size_t nl = strlen(name);
    wf_str none = {NULL, 0};
    for (uint32_t i = 0; i < h->num_fields; i++) {
        const wf_http_field *f = &h->fields[i];
        if (f->name.len == nl && wf__mem_ieq(req->buf + f->name.off, name, nl) && n-- == 0)
            return wf_span_str(req->buf, f->value);
    }
    return none;
}

WF_API wf_str wf_req_header(const wf_req *req, const char *name) { return wf_req_header_nth(req, name, 0); }
WF_API int wf_req_header_count(const wf_req *req) { return (int)req->head->num_fields; }
WF_API bool wf_req_header_at(const wf_req *req, int i, wf_str *name, wf_str *value) {
    const wf_http_head *h = req->head;
    if (i < 0 || (uint32_t)i >= h->num_fields) return false;
    *name = wf_span_str(req->buf, h->fields[i].name);
    *value = wf_span_str(req->buf, h->fields[i].value);
    return true;
}

WF_API wf_str wf_req_body(const wf_req *req) { return req->body; }
WF_API int wf_req_http_minor(const wf_req *req) { return req->head->minor; }
WF_API void *wf_req_user(const wf_req *req) { return req->cfg->user; }
WF_API void *wf_req_alloc(wf_req *req, size_t n) { return wf__arena_alloc(&req->arena, n); }

WF_API char *wf_req_strdup(wf_req *req, wf_str s) {
    char *c = (char *)wf__arena_alloc(&req->arena, wf__size_add(s.len, 1));
    if (!c) return NULL;
    if (s.len) memcpy(c, s.ptr, s.len);
    c[s.len] = 0;
    return c;
}
WF_API const char *wf_req_peer(const wf_req *req) {
    wf_req *r = (wf_req *)req;    /* formatted on first use, cached */
    if (!r->peer[0]) {
        char ip[INET6_ADDRSTRLEN];
        const wf__conn *c = req->conn;
        if (c->family == AF_UNIX) strcpy(ip, "testclient");
        else if (!inet_ntop(c->family == AF_INET6 ? AF_INET6 : AF_INET, c->addr, ip, sizeof ip))
            strcpy(ip, "?");
        snprintf(r->peer, sizeof r->peer, c->family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip, (unsigned)c->port);
    }
    return r->peer;
}

/* ---- middleware and per-request state ---- */

typedef struct wf__state {
    struct wf__state *next;
    const char *key;
    void *value;
} wf__state;

WF_API int wf_set_state(wf_req *req, const char *key, void *value) {
    for (wf__state *s = req->state; s; s = s->next)
        if (strcmp(s->key, key) == 0) {
            s->value = value;
            return 0;
        }
    wf__state *s = (wf__state *)wf_req_alloc(req, sizeof *s);
    char *k = (char *)wf_req_alloc(req, strlen(key) + 1);
    if (!s || !k) return WF_ENOMEM;
    strcpy(k, key);
    s->key = k;
    s->value = value;
    s->next = req->state;
    req->state = s;
    return 0;
}

WF_API void *wf_get_state(const wf_req *req, const char *key) {
    for (wf__state *s = req->state; s; s = s->next)
        if (strcmp(s->key, key) == 0) return s->value;
    return NULL;
}

/* ---- routes on the app ---- */

WF_API int wf_route(wf_app *app, const char *method, const char *pattern, wf_handler h,
                    const wf_route_opts *opts) {
    return app ? wf_group_route(&app->root, method, pattern, h, opts) : WF_EINVAL;
}

WF_API int wf_get(wf_app *app, const char *pattern, wf_handler h) {
    return wf_route(app, "GET", pattern, h, NULL);
}

WF_API int wf_post(wf_app *app, const char *pattern, wf_handler h) {
    return wf_route(app, "POST", pattern, h, NULL);
}

WF_API int wf_put(wf_app *app, const char *pattern, wf_handler h) {
    return wf_route(app, "PUT", pattern, h, NULL);
}

WF_API int wf_patch(wf_app *app, const char *pattern, wf_handler h) {
    return wf_route(app, "PATCH", pattern, h, NULL);
}

WF_API int wf_delete(wf_app *app, const char *pattern, wf_handler h) {
    return wf_route(app, "DELETE", pattern, h, NULL);
}

WF_API int wf_options(wf_app *app, const char *pattern, wf_handler h) {
    return wf_route(app, "OPTIONS", pattern, h, NULL);
}

WF_API wf_group *wf_group_new(wf_app *app, const char *prefix) {
    return app ? wf_group_sub(&app->root, prefix) : NULL;
}

WF_API wf_group *wf_app_group(wf_app *app) { return app ? &app->root : NULL; }

/* The request's match (NULL without memory). */
/* The method routes are looked up with: the request's, or WF__WS_METHOD for a WebSocket handshake. */
WF__PRIVATE wf_str wf__route_method(const wf_req *req) {
    if (!req->ws.handshake) return wf_req_method(req);
    wf_str ws = {WF__WS_METHOD, sizeof WF__WS_METHOD - 1};
    return ws;
}

WF__PRIVATE wf__match *wf__route_find(wf_req *req) {
    if (req->route.match) return req->route.match;
    wf_str raw = wf__req_raw_path(req);
    wf__match *m = (wf__match *)wf__arena_alloc(&req->arena, sizeof *m);
    char *dec = m ? (char *)wf__arena_alloc(&req->arena, wf__size_add(wf__size_mul(raw.len, 2), 2)) : NULL;
    char *tmp = dec ? (char *)wf__arena_alloc(&req->arena, raw.len) : NULL;
    if (!tmp) return NULL;
    m->dec = dec;
    m->found.n = 0;
    m->found.npartial = 0;
    m->n = raw.ptr[0] == '/' ? wf__unquote(dec, tmp, raw.ptr, raw.len, false) : 0;
    const wf__rnode *root = &req->app->router.root;
    m->node = m->n ? wf__match_path(root, dec + 1, dec + m->n, wf__route_method(req), &m->found) : NULL;
    return req->route.match = m;
}

WF_API wf_str wf_req_path(const wf_req *req) {
    const wf__match *m = wf__route_find((wf_req *)(uintptr_t)req);     /* decoded once, then cached */
    if (!m || !m->n) return wf__req_raw_path(req);      /* "*", or no memory (the router fails too) */
    wf_str p = {m->dec, m->n};
    return p;
}

/* The route match m found for req's method, or NULL. */
WF__PRIVATE const wf__route *wf__matched_route(const wf_req *req, const wf__match *m) {
    return m && m->node ? wf__node_route(m->node, wf__route_method(req)) : NULL;
}

WF_API const char *wf_req_route(const wf_req *req) {
    const wf__route *rt = wf__matched_route(req, wf__route_find((wf_req *)(uintptr_t)req));
    return rt ? rt->pattern : NULL;
}

WF_API void *wf_route_data(const wf_req *req) {
    const wf__route *rt = wf__matched_route(req, req->route.match);
    return rt ? rt->data : NULL;
}

/* The matched route's pattern, for the log ("(no route)" without a match). */
WF__PRIVATE const char *wf__req_pattern(const wf_req *req) {
    const char *rt = wf_req_route(req);
    return rt ? rt : "(no route)";
}

WF_API wf_str wf_path_param(const wf_req *req, const char *name) {
    wf_str none = {NULL, 0};
    const wf__params_found *f = req->route.match && req->route.match->node ? &req->route.match->found : NULL;
    for (int i = 0; f && i < f->n; i++)
        if (strcmp(f->name[i], name) == 0) return f->value[i];
    return none;
}

/* ======================================================================
 * >>response  Replies, headers, cookies, files, streams
 * ====================================================================== */

#define WF__RES_BUF_KEEP 65536u       /* a response's buffers larger than this are not kept for reuse */

struct wf_res {
    int status;
    bool close;
    bool has_body;
    wf_body_mode mode;
    const void *body;
    size_t body_len;
    wf_buf hdrs;                /* "Name: value\r\n" lines */
    wf_buf copy;                /* copied body */
    wf_stream_fn stream;
    void *stream_user;
    void (*stream_free)(void *);
    wf__output *sink;           /* where wf_res_write goes: set only while the producer runs */
    bool chunked;               /* a stream's chunks are framed (HTTP/1.1), else sent as they are */
    uint64_t bytes;             /* bytes queued so far, for the access log */
    int file_fd;                /* a file body (body_len bytes from file_off), or -1 */
    uint64_t file_off;
    wf_jw json;                 /* wf_res_json's writer, into copy */
    bool json_open;             /* it is the body: closed when the handler returns */
};

/* A new response (its buffers kept from the last one). */
WF__PRIVATE void wf__res_init(wf_res *res) {
    wf_buf hdrs = res->hdrs, copy = res->copy;
    memset(res, 0, sizeof *res);
    res->hdrs = hdrs;
    res->copy = copy;
    res->hdrs.len = 0;
    res->copy.len = 0;
    res->file_fd = -1;
}

/* The stream's producer state goes (free_user), and the stream with it. */
WF__PRIVATE void wf__res_stream_end(wf_res *res) {
    if (res->stream_free) res->stream_free(res->stream_user);
    res->stream = NULL;
    res->stream_free = NULL;
}

/* Drop the body (copied, owned, a file or a stream) of the response being built. */
WF__PRIVATE void wf__res_drop_body(wf_res *res) {
    if (res->has_body && res->mode == WF_BODY_OWN) WF_FREE(NULL, (void *)res->body);
    if (res->file_fd >= 0) close(res->file_fd);
    res->file_fd = -1;
    res->body_len = 0;
    res->has_body = false;
    res->json_open = false;
    wf__res_stream_end(res);
}

/* Drop whatever response was being built. */
WF__PRIVATE void wf__res_reset(wf_res *res) {
    wf__res_drop_body(res);
    res->hdrs.len = 0;
    res->status = 0;
}

/* The response is over: release what it holds; large buffers are not kept. */
WF__PRIVATE void wf__res_end(wf_res *res) {
    wf__res_reset(res);
    if (res->hdrs.cap > WF__RES_BUF_KEEP) wf_buf_free(&res->hdrs);
    if (res->copy.cap > WF__RES_BUF_KEEP) wf_buf_free(&res->copy);
}

/* Release the buffers kept for reuse. */
WF__PRIVATE void wf__res_destroy(wf_res *res) {
    wf_buf_free(&res->hdrs);
    wf_buf_free(&res->copy);
}

WF_API void wf_res_set_status(wf_res *res, int status) {
    res->status = (status >= 200 && status <= 599) ? status : 500;     /* RFC 9110 15: 3 digits, 1-5 */
}

/* Remove every line of header `name` from the response being built. */
WF__PRIVATE void wf__res_remove_header(wf_res *res, const char *name) {
    size_t nl = strlen(name), at = 0;
    while (at < res->hdrs.len) {
        const char *line = res->hdrs.ptr + at;
        const char *end = (const char *)memchr(line, '\n', res->hdrs.len - at);
        size_t len = end ? (size_t)(end - line) + 1 : res->hdrs.len - at;
        if (len > nl && line[nl] == ':' && wf__mem_ieq(line, name, nl)) {
            memmove(res->hdrs.ptr + at, line + len, res->hdrs.len - at - len);
            res->hdrs.len -= len;
        } else {
            at += len;
        }
    }
}

/* Fields a response has once (RFC 9110): a new value replaces the old one. */
WF__PRIVATE bool wf__header_single(const char *name) {
    static const char *const single[] = {"content-type", "location", "etag", "last-modified", "content-range",
                                         "retry-after"};
    for (size_t i = 0; i < sizeof single / sizeof single[0]; i++)
        if (wf_str_ieq(wf_str_c(name), single[i])) return true;
    return false;
}

WF_API int wf_res_add_header(wf_res *res, const char *name, const char *value) {
    static const char *const framing[] = {"content-length", "transfer-encoding", "connection", "date"};
    if (!name || !value || !wf__header_ok(name, value)) return WF_EINVAL;
    for (int i = 0; i < 4; i++)         /* the server frames and dates the message itself */
        if (wf_str_ieq(wf_str_c(name), framing[i])) return WF_EINVAL;
    if (wf__header_single(name)) wf__res_remove_header(res, name);
    size_t nl = strlen(name), vl = strlen(value);
    if (wf_buf_reserve(&res->hdrs, wf__size_add(wf__size_add(nl, vl), 4)) < 0) return WF_ENOMEM;
    wf_buf_append(&res->hdrs, name, nl);
    wf_buf_append(&res->hdrs, ": ", 2);
    wf_buf_append(&res->hdrs, value, vl);
    wf_buf_append(&res->hdrs, "\r\n", 2);
    return 0;
}

WF_API int wf_res_set_body(wf_res *res, const void *body, size_t len, wf_body_mode mode) {
    res->json_open = false;   /* and wf_res_json's */
    if (res->file_fd >= 0) {  /* a new body replaces a file */
        close(res->file_fd);
        res->file_fd = -1;
    }
    if (res->has_body && res->mode == WF_BODY_OWN) {
        if (res->body != body) WF_FREE(NULL, (void *)res->body);
        else if (mode != WF_BODY_COPY) mode = WF_BODY_OWN;   /* still ours to free */
    }
    res->has_body = true;
    res->mode = mode;
    res->body_len = len;
    if (mode != WF_BODY_COPY) {
        res->body = body;
        return 0;
    }
    res->copy.len = 0;
    if (wf_buf_append(&res->copy, body, len) < 0) {
        res->has_body = false;
        res->body_len = 0;
        return WF_ENOMEM;
    }
    res->body = res->copy.ptr;
    return 0;
}

WF_API void wf_res_close(wf_res *res) { res->close = true; }
WF_API int wf_reply(wf_res *res, int status, const char *content_type, const void *body, size_t len) {
    wf__res_remove_header(res, "Location");    /* a later reply replaces an earlier redirect */
    wf_res_set_status(res, status);
    if (content_type) {
        int rc = wf_res_add_header(res, "Content-Type", content_type);
        if (rc < 0) return rc;
    }
    return wf_res_set_body(res, body, len, WF_BODY_COPY);
}

WF_API int wf_reply_text(wf_res *res, int status, const char *text) {
    return wf_reply(res, status, "text/plain; charset=utf-8", text, strlen(text));
}

/* The JSON goes straight into the response's reusable body buffer: no allocation, no copy. */
/* A JSON body written into copy: wf_reply_json's, wf_reply_kvs's, wf_res_json's. The old body
   goes (a file, an owned body); status and Content-Type are set. */
WF__PRIVATE void wf__json_body_begin(wf_res *res) {
    if (res->file_fd >= 0) {
        close(res->file_fd);
        res->file_fd = -1;
    }
    if (res->has_body && res->mode == WF_BODY_OWN) WF_FREE(NULL, (void *)res->body);
    res->has_body = false;
    res->json_open = false;
    res->copy.len = 0;
}

/* The JSON in copy is the body (rc: how writing it went; an error makes the reply a 500). */
WF__PRIVATE int wf__json_body_end(wf_res *res, int status, int rc) {
    if (rc < 0) {
        wf_reply(res, 500, "application/json", "{\"detail\":\"Internal Server Error\"}", 35);
        return rc;
    }
    wf__res_remove_header(res, "Location");
    wf_res_set_status(res, status);
    if ((rc = wf_res_add_header(res, "Content-Type", "application/json")) < 0) return rc;
    res->has_body = true;
    res->mode = WF_BODY_COPY;
    res->body = res->copy.ptr;
    res->body_len = res->copy.len;
    return 0;
}

WF_API int wf_reply_kvs(wf_res *res, int status, const wf_kv *kv, size_t n) {
    wf__json_body_begin(res);
    return wf__json_body_end(res, status, wf_json_kvs(&res->copy, kv, n));
}

WF_API wf_jw *wf_res_json(wf_res *res, int status) {
    wf__json_body_begin(res);
    memset(&res->json, 0, sizeof res->json);
    res->json.out = &res->copy;
    if (wf__json_body_end(res, status, 0) < 0) res->json.err = WF_ENOMEM;
    res->json_open = true;
    return &res->json;
}

/* After the handler: wf_res_json's body is complete, or a 500 (false). */
WF__PRIVATE bool wf__res_json_close(wf_res *res) {
    if (!res->json_open) return true;
    res->json_open = false;
    wf_jw *w = &res->json;
    if (!w->err && !w->depth && w->wf__top) {
        res->body = res->copy.ptr;
        res->body_len = res->copy.len;
        return true;
    }
    wf_reply(res, 500, "application/json", "{\"detail\":\"Internal Server Error\"}", 35);
    return false;
}

WF__PRIVATE int wf__reply_vjson(wf_res *res, int status, const char *fmt, va_list ap) {
    wf__json_body_begin(res);
    return wf__json_body_end(res, status, wf__json_vpack(&res->copy, fmt, ap));
}

WF_API int wf_reply_json(wf_res *res, int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int rc = wf__reply_vjson(res, status, fmt, ap);
    va_end(ap);
    return rc;
}

WF_API int wf_reply_detail(wf_res *res, int status, const char *detail) {
    return wf_reply_json(res, status, "{s:s}", "detail", detail);
}

WF_API int wf_reply_html(wf_res *res, int status, const char *html) {
    return wf_reply(res, status, "text/html; charset=utf-8", html, strlen(html));
}

WF_API int wf_redirect(wf_res *res, int status, const char *location) {
    int rc = wf_res_add_header(res, "Location", location);
    if (rc < 0) return rc;
    wf__res_remove_header(res, "Content-Type");    /* an earlier reply's: the redirect has no body */
    wf_res_set_status(res, status ? status : 307);
    return wf_res_set_body(res, "", 0, WF_BODY_BORROW);
}

/* cookie-octet of RFC 6265, and a token for the name */
WF__PRIVATE bool wf__cookie_ok(const char *name, const char *value) {
    if (!*name) return false;
    for (const char *p = name; *p; p++)
        if (!WF__IS(*p, WF__C_TOKEN)) return false;
    for (const unsigned char *p = (const unsigned char *)value; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f || *p == '"' || *p == ',' || *p == ';' || *p == '\\') return false;
    return true;
}

/* The attributes as RFC 6265 4.1.1 has them: a path is "/" then CHARs but controls and ';', a domain
   is letters, digits, '-' and '.', SameSite one of its three values (any case, as Starlette). */
WF__PRIVATE bool wf__cookie_attrs_ok(const wf_cookie *o) {
    for (const char *p = o->path; p && *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f || *p == ';' || (p == o->path && *p != '/'))
            return false;
    if (o->path && !*o->path) return false;
    for (const char *p = o->domain; p && *p; p++)
        if (!wf__alnum(*p) && *p != '-' && *p != '.') return false;
    if (o->domain && !*o->domain) return false;
    wf_str ss = wf_str_c(o->samesite);
    return !ss.ptr || wf_str_ieq(ss, "lax") || wf_str_ieq(ss, "strict") || wf_str_ieq(ss, "none");
}

WF_API int wf_set_cookie(wf_res *res, const char *name, const char *value, const wf_cookie *opts) {
    wf_cookie o;
    wf_buf b = {0};
    if (!name || !value || !wf__cookie_ok(name, value)) return WF_EINVAL;
    if (opts) o = *opts;
    else memset(&o, 0, sizeof o);
    if (!wf__cookie_attrs_ok(&o)) return WF_EINVAL;
    int rc = wf_buf_printf(&b, "%s=%s", name, value);
    if (o.domain) rc |= wf_buf_printf(&b, "; Domain=%s", o.domain);
    if (o.max_age > 400LL * 86400) o.max_age = 400LL * 86400;    /* browsers cap it at 400 days */
    if (o.max_age) {
        char date[30];
        wf_http_date(date, (int64_t)time(NULL) + (o.max_age < 0 ? 0 : o.max_age));
        rc |= wf_buf_printf(&b, "; expires=%s", date);
    }
    if (o.httponly) rc |= wf_buf_printf(&b, "; HttpOnly");
    if (o.max_age) rc |= wf_buf_printf(&b, "; Max-Age=%lld", o.max_age < 0 ? 0 : o.max_age);
    rc |= wf_buf_printf(&b, "; Path=%s; SameSite=%s", o.path ? o.path : "/", o.samesite ? o.samesite : "lax");
    if (o.secure) rc |= wf_buf_printf(&b, "; Secure");
    const char *line = wf_buf_cstr(&b);
    if (!line) rc = WF_ENOMEM;
    if (rc == 0) rc = wf_res_add_header(res, "Set-Cookie", line);
    wf_buf_free(&b);
    return rc ? (rc == WF_EINVAL ? WF_EINVAL : WF_ENOMEM) : 0;
}

/* The media type of a file name's extension; text types get a charset. */
WF__PRIVATE const char *wf__mime(const char *path) {
    static const char *const map[] = {
        "html",  "text/html; charset=utf-8",
        "htm",   "text/html; charset=utf-8",
        "css",   "text/css; charset=utf-8",
        "js",    "text/javascript; charset=utf-8",
        "mjs",   "text/javascript; charset=utf-8",
        "json",  "application/json",
        "txt",   "text/plain; charset=utf-8",
        "md",    "text/markdown; charset=utf-8",
        "csv",   "text/csv; charset=utf-8",
        "xml",   "application/xml",
        "svg",   "image/svg+xml",
        "png",   "image/png",
        "jpg",   "image/jpeg",
        "jpeg",  "image/jpeg",
        "gif",   "image/gif",
        "webp",  "image/webp",
        "ico",   "image/x-icon",
        "pdf",   "application/pdf",
        "wasm",  "application/wasm",
        "zip",   "application/zip",
        "gz",    "application/gzip",
        "mp4",   "video/mp4",
        "webm",  "video/webm",
        "mp3",   "audio/mpeg",
        "wav",   "audio/wav",
        "woff",  "font/woff",
        "woff2", "font/woff2",
        "ttf",   "font/ttf",
        "otf",   "font/otf",
    };
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    if (dot && (!slash || dot > slash))
        for (size_t i = 0; i < sizeof map / sizeof map[0]; i += 2)
            if (wf_str_ieq(wf_str_c(dot + 1), map[i])) return map[i + 1];
    return "application/octet-stream";
}

/* A "bytes=" range against size: 1 with [*a, *b] to send, 0 for the whole file (absent, several
   ranges, or not bytes), -1 when unsatisfiable. */
WF__PRIVATE int wf__range(wf_str r, uint64_t size, uint64_t *a, uint64_t *b) {
    if (!r.ptr || r.len < 7 || memcmp(r.ptr, "bytes=", 6) != 0 || memchr(r.ptr, ',', r.len)) return 0;
    const char *p = r.ptr + 6, *end = r.ptr + r.len, *dash = (const char *)memchr(p, '-', (size_t)(end - p));
    if (!dash) return 0;
    bool has_a = p < dash, has_b = dash + 1 < end;
    uint64_t x = 0, y = 0;              /* past 64 bits a position saturates: past any end */
    for (const char *q = p; q < dash; q++) {
        if (*q < '0' || *q > '9') return 0;
        x = x > (UINT64_MAX - 9) / 10 ? UINT64_MAX : x * 10 + (uint64_t)(*q - '0');
    }
    for (const char *q = dash + 1; q < end; q++) {
        if (*q < '0' || *q > '9') return 0;
        y = y > (UINT64_MAX - 9) / 10 ? UINT64_MAX : y * 10 + (uint64_t)(*q - '0');
    }
    if (!has_a && !has_b) return 0;
    if (!has_a) {                       /* the last y bytes */
        if (y == 0 || size == 0) return -1;
        *a = y >= size ? 0 : size - y;
        *b = size - 1;
        return 1;
    }
    if (x >= size || (has_b && y < x)) return -1;
    *a = x;
    *b = has_b && y < size ? y : size - 1;
    return 1;
}

/* Whether a list of entity-tags ("*", or "x", W/"y", ...) names etag (a strong tag of ours): with
   strong comparison a weak entry never matches (RFC 9110 8.8.3.2). */
WF__PRIVATE bool wf__etag_match(wf_str list, const char *etag, bool strong) {
    size_t el = strlen(etag), i = 0;
    while (i < list.len) {
        while (i < list.len && (list.ptr[i] == ' ' || list.ptr[i] == '\t' || list.ptr[i] == ',')) i++;
        size_t e = i;
        while (e < list.len && list.ptr[e] != ',') e++;
        size_t n = e;
        while (n > i && (list.ptr[n - 1] == ' ' || list.ptr[n - 1] == '\t')) n--;
        wf_str t = {list.ptr + i, n - i};
        bool weak = t.len > 2 && t.ptr[0] == 'W' && t.ptr[1] == '/';
        if (weak) {
            t.ptr += 2;
            t.len -= 2;
        }
        if ((t.len == 1 && t.ptr[0] == '*') ||
            (t.len == el && memcmp(t.ptr, etag, el) == 0 && !(strong && weak)))
            return true;
        i = e;
    }
    return false;
}

/* A list header given once or more (RFC 9110 5.3: the lines are one list): -1 if absent, else
   whether any member names etag. */
WF__PRIVATE int wf__etag_list(wf_req *req, const char *name, const char *etag, bool strong) {
    wf_str v;
    int n = 0;
    for (; (v = wf_req_header_nth(req, name, n)).ptr; n++)
        if (wf__etag_match(v, etag, strong)) return 1;
    return n ? 0 : -1;
}

/* A date header's time, if it is there exactly once and is a date (else it is ignored). */
WF__PRIVATE bool wf__date_header(wf_req *req, const char *name, int64_t *t) {
    return !wf_req_header_nth(req, name, 1).ptr && wf__http_date_parse(wf_req_header(req, name), t);
}

/* RFC 9110 13.2.2: the preconditions of a GET/HEAD of a file, in their order. 412, 304, or 0. */
WF__PRIVATE int wf__preconditions(wf_req *req, const char *etag, int64_t mtime) {
    int im = wf__etag_list(req, "if-match", etag, true),
        inm = wf__etag_list(req, "if-none-match", etag, false);
    int64_t t;
    if (im == 0) return 412;
    if (im < 0 && wf__date_header(req, "if-unmodified-since", &t) && mtime > t) return 412;
    if (inm >= 0) return inm ? 304 : 0;
    return wf__date_header(req, "if-modified-since", &t) && mtime <= t ? 304 : 0;
}

/* If-Range: the Range applies only if the validator is current (a strong etag, or exactly the
   Last-Modified date). */
WF__PRIVATE bool wf__if_range_ok(wf_req *req, const char *etag, int64_t mtime) {
    wf_str ir = wf_req_header(req, "if-range");
    int64_t t;
    if (!ir.ptr) return true;
    if (ir.len &&
        (ir.ptr[0] == '"' || (ir.len > 1 && ir.ptr[0] == 'W' && ir.ptr[1] == '/'))) /* not "Wed, ..." */
        return ir.len == strlen(etag) && memcmp(ir.ptr, etag, ir.len) == 0;
    return wf__http_date_parse(ir, &t) && t == mtime;
}

/* Open flags for a file to serve: non-blocking, so that opening a FIFO does not wait for a writer
   (wf__reply_fd then refuses anything but a regular file). */
#define WF__FILE_OPEN (O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)

/* Reply with the file open at fd (taken: closed here or with the response); path names its type. */
WF__PRIVATE int wf__reply_fd(wf_req *req, wf_res *res, int fd, const char *path, const char *content_type) {
    struct stat st;
    char etag[64], lastmod[30], cr[96];
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {     /* a FIFO, a device, a directory */
        if (fd >= 0) close(fd);
        return wf_reply_detail(res, 404, "Not Found");
    }
    uint64_t size = (uint64_t)st.st_size, a = 0, b = size ? size - 1 : 0;
    snprintf(etag, sizeof etag, "\"%llx-%llx\"", (unsigned long long)st.st_mtime, (unsigned long long)size);
    wf_http_date(lastmod, (int64_t)st.st_mtime);
    wf__res_reset(res);
    int pre = wf__preconditions(req, etag, (int64_t)st.st_mtime);
    wf_str m = wf_req_method(req);
    bool get = m.len == 3 && memcmp(m.ptr, "GET", 3) == 0;     /* RFC 9110 14.2: Range is GET's only */
    int r = pre || !get ? 0 : wf__range(wf_req_header(req, "range"), size, &a, &b);
    if (r && !wf__if_range_ok(req, etag, (int64_t)st.st_mtime)) {
        r = 0;
        a = 0;
        b = size ? size - 1 : 0;
    }
    if (pre == 412 || r < 0) {
        close(fd);
        snprintf(cr, sizeof cr, "bytes */%llu", (unsigned long long)size);
        if (r < 0) wf_res_add_header(res, "Content-Range", cr);
        return pre ? wf_reply_detail(res, 412, "Precondition Failed")
                   : wf_reply_detail(res, 416, "Range Not Satisfiable");
    }
    wf_res_add_header(res, "Content-Type", content_type ? content_type : wf__mime(path));
    wf_res_add_header(res, "Accept-Ranges", "bytes");
    wf_res_add_header(res, "Last-Modified", lastmod);
    wf_res_add_header(res, "ETag", etag);
    if (pre == 304) {
        close(fd);
        wf_res_set_status(res, 304);
        return 0;
    }
    if (r > 0) {
        snprintf(cr, sizeof cr, "bytes %llu-%llu/%llu", (unsigned long long)a, (unsigned long long)b,
                 (unsigned long long)size);
        wf_res_add_header(res, "Content-Range", cr);
    }
    wf_res_set_status(res, r > 0 ? 206 : 200);
    res->file_fd = fd;
    res->file_off = a;
    res->body_len = size ? b - a + 1 : 0;
    return 0;
}

WF_API int wf_reply_file(wf_req *req, wf_res *res, const char *path, const char *content_type) {
    return wf__reply_fd(req, res, open(path, WF__FILE_OPEN), path, content_type);
}

#ifndef RESOLVE_BENEATH
#define RESOLVE_NO_SYMLINKS 0x04
#define RESOLVE_BENEATH 0x08
#endif

/* rel opened beneath the directory dirfd without following a symlink or leaving it: openat2 where
   the kernel has it, else component by component with O_NOFOLLOW. -1 (errno set) if it cannot be. */
WF__PRIVATE int wf__open_beneath(int dirfd, const char *rel) {
#if defined(__linux__) && defined(SYS_openat2) && !defined(WF_NO_OPENAT2)
    struct { uint64_t flags, mode, resolve; } how = {(uint64_t)WF__FILE_OPEN, 0,
                                                     RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS};
    long got = syscall(SYS_openat2, dirfd, rel, &how, sizeof how);
    if (got >= 0 || (errno != ENOSYS && errno != EPERM)) return (int)got;   /* EPERM: a seccomp filter */
#endif
    char part[256];
    int at = dirfd, fd = -1;
    for (const char *p = rel;;) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n >= sizeof part) {
            errno = ENAMETOOLONG;
            break;
        }
        memcpy(part, p, n);
        part[n] = 0;
        bool last = !e;
        int flags = last ? WF__FILE_OPEN | O_NOFOLLOW : O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
        fd = n == 0 || (n == 1 && part[0] == '.') ? (last ? openat(at, ".", flags) : dup(at))
                                                  : openat(at, part, flags);
        if (at != dirfd) close(at);
        if (fd < 0 || last) break;
        at = fd;
        p = e + 1;
    }
    return fd;
}

/* A relative path that stays where it is put: no leading '/', no ".." component, no NUL. */
WF__PRIVATE bool wf__rel_path_ok(wf_str rel) {
    if (rel.len && rel.ptr[0] == '/') return false;
    if (memchr(rel.ptr, 0, rel.len)) return false;
    for (size_t i = 0; i < rel.len;) {
        size_t e = i;
        while (e < rel.len && rel.ptr[e] != '/') e++;
        if (e - i == 2 && rel.ptr[i] == '.' && rel.ptr[i + 1] == '.') return false;
        i = e + 1;
    }
    return true;
}

/* rel opened beneath root (its directory open in *dirfd, -1 if it could not be); *r gets rel as a C
   string in the arena with `room` bytes to spare after it. The file's descriptor, or -1. */
WF__PRIVATE int wf__open_under(wf_req *req, const char *root, wf_str rel, size_t room, char **r, int *dirfd) {
    *r = rel.ptr && wf__rel_path_ok(rel) ? (char *)wf_req_alloc(req, wf__size_add(rel.len, room + 1)) : NULL;
    *dirfd = *r ? open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (*dirfd < 0) return -1;
    memcpy(*r, rel.ptr, rel.len);
    (*r)[rel.len] = 0;
    return wf__open_beneath(*dirfd, rel.len ? *r : ".");
}

WF_API int wf_reply_file_under(wf_req *req, wf_res *res, const char *root, wf_str rel,
                               const char *content_type) {
    char *r;
    int dirfd, fd = wf__open_under(req, root, rel, 0, &r, &dirfd);
    if (dirfd >= 0) close(dirfd);
    return wf__reply_fd(req, res, fd, r ? r : "", content_type);
}

/* ---- static files (FastAPI's StaticFiles) ---- */

typedef struct wf__static {
    wf_static_opts opts;
    char dir[];
} wf__static;

WF__PRIVATE void wf__redirect_slash(wf_req *req, wf_res *res, wf_str path);

/* GET prefix/{path:path}: the file beneath the directory; a directory's index.html with html (the
   directory named without its slash is redirected to it first, as Starlette's StaticFiles does). */
WF__PRIVATE void wf__static_serve(wf_req *req, wf_res *res) {
    const wf__static *st = (const wf__static *)wf_route_data(req);
    wf_str rel = wf_path_param(req, "path");
    if (!rel.ptr) rel = wf_str_c("");
    struct stat sb;
    char *r;
    int dirfd, fd = wf__open_under(req, st->dir, rel, 11, &r, &dirfd);     /* room for "/index.html" */
    if (dirfd < 0) {
        wf__reply_fd(req, res, -1, "", NULL);
        return;
    }
    if (fd >= 0 && st->opts.html && fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        close(fd);                       /* a directory: its index.html, beneath it too */
        snprintf(r + rel.len, 12, "%sindex.html", rel.len && r[rel.len - 1] != '/' ? "/" : "");
        fd = wf__open_beneath(dirfd, r);
        wf_str path = wf_req_path(req);
        if (fd >= 0 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && path.ptr[path.len - 1] != '/') {
            close(fd);                   /* as Starlette: to the slash form, so relative links work */
            close(dirfd);
            char *to = (char *)wf_req_alloc(req, path.len + 2);
            if (!to) {
                wf_reply_detail(res, 500, "Internal Server Error");
                return;
            }
            memcpy(to, path.ptr, path.len);
            to[path.len] = '/';
            wf__redirect_slash(req, res, (wf_str){to, path.len + 1});
            return;
        }
    }
    close(dirfd);
    wf__reply_fd(req, res, fd, r, NULL);
}

WF_API int wf_static(wf_group *g, const char *prefix, const char *dir, const wf_static_opts *opts) {
    char pattern[512];
    size_t n = dir ? strlen(dir) : 0;
    wf__static *st = dir && prefix ? (wf__static *)WF_MALLOC(NULL, sizeof *st + n + 1) : NULL;
    if (!st) /* logged */
        return wf__group_route(g, "GET", prefix ? prefix : "(null)", NULL, NULL, NULL, NULL);
    memset(&st->opts, 0, sizeof st->opts);
    if (opts) st->opts = *opts;
    memcpy(st->dir, dir, n + 1);
    size_t pl = strlen(prefix);
    while (pl && prefix[pl - 1] == '/') pl--;
    snprintf(pattern, sizeof pattern, "%.*s/{path:path}", (int)WF__MIN(pl, 480), prefix);
    wf_route_opts ro = {.data = st};
    int rc = wf__group_route(g, "GET", pattern, wf__static_serve, &ro, st, NULL);
    if (rc < 0) WF_FREE(NULL, st);
    if (rc == 0 && st->opts.html) {      /* the prefix itself: the top index.html */
        snprintf(pattern, sizeof pattern, "%.*s%s", (int)WF__MIN(pl, 480), prefix, pl ? "" : "/");
        rc = wf__group_route(g, "GET", pattern, wf__static_serve, &ro, NULL, NULL);
    }
    return rc;
}

WF_API int wf_res_stream(wf_res *res, wf_stream_fn fn, void *user, void (*free_user)(void *)) {
    if (!fn || res->file_fd >= 0) return WF_EINVAL;     /* a file body cannot go first in chunks */
    if (res->stream_free && (res->stream_free != free_user || res->stream_user != user))
        res->stream_free(res->stream_user);             /* a stream set again: the first one's state goes */
    res->stream = fn;
    res->stream_user = user;
    res->stream_free = free_user;
    return 0;
}

WF_API int wf_res_get_status(const wf_res *res) { return res->status ? res->status : 200; }

/* Nothing was set on the response: no status, header, body, file or stream. */
WF__PRIVATE bool wf__res_untouched(const wf_res *res) {
    return !res->status && !res->has_body && !res->stream && res->file_fd < 0 && !res->hdrs.len;
}
/* A plain host[:port] or [ipv6][:port], the only Host Starlette (as Debian ships 0.26, with the fix
   against host-header tricks) puts in a URL: ^([a-z0-9.-]+|\[[a-f0-9]*:[a-f0-9.:]+\])(:[0-9]+)?$ */
WF__PRIVATE bool wf__netloc_ok(wf_str h) {
    size_t i = 0, k;
    if (h.len && h.ptr[0] == '[') {
        for (i = 1; i < h.len && WF__IS(h.ptr[i], WF__C_HEX); i++) {
        }
        if (i >= h.len || h.ptr[i++] != ':') return false;
        for (k = i; i < h.len && (WF__IS(h.ptr[i], WF__C_HEX) || h.ptr[i] == '.' || h.ptr[i] == ':'); i++) {
        }
        if (i == k || i >= h.len || h.ptr[i++] != ']') return false;
    } else {
        while (i < h.len && (wf__alnum(h.ptr[i]) || h.ptr[i] == '.' || h.ptr[i] == '-')) i++;
        if (!i) return false;
    }
    if (i == h.len) return true;
    if (h.ptr[i++] != ':' || i == h.len) return false;
    while (i < h.len && h.ptr[i] >= '0' && h.ptr[i] <= '9') i++;
    return i == h.len;
}

/* Where the client reached us, as Starlette's scope["server"] gives it: "ip" or "ip:port" (port 80
   left out; an IPv6 address in brackets, where Starlette writes an invalid URL without them);
   "testserver" in the test client. */
WF__PRIVATE void wf__server_netloc(wf_req *req, wf_buf *out) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char ip[INET6_ADDRSTRLEN + 2] = "testserver";
    unsigned port = 80;
    if (req->conn->family != AF_UNIX && getsockname(req->conn->fd, (struct sockaddr *)&ss, &sl) == 0) {
        bool v6 = ss.ss_family == AF_INET6;
        const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)(const void *)&ss;
        const struct sockaddr_in *a4 = (const struct sockaddr_in *)(const void *)&ss;
        if (!inet_ntop(v6 ? AF_INET6 : AF_INET,
                       v6 ? (const void *)&a6->sin6_addr : (const void *)&a4->sin_addr, ip + v6,
                       sizeof ip - 2))
            strcpy(ip, "localhost");
        else if (v6) {
            ip[0] = '[';
            strcat(ip, "]");
        }
        port = ntohs(v6 ? a6->sin6_port : a4->sin_port);
    }
    if (port == 80) wf_buf_printf(out, "%s", ip);
    else wf_buf_printf(out, "%s:%u", ip, port);
}

/* Append s percent-encoded as Python's quote(s, safe=":/%#?=@[]!$&'()*+,;") does. */
WF__PRIVATE void wf__quote_url(wf_buf *out, wf_str s) {
    static const char safe[] = ":/%#?=@[]!$&'()*+,;_.-~";
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (wf__alnum((char)c) || (c && strchr(safe, c))) wf_buf_append(out, &s.ptr[i], 1);
        else wf_buf_printf(out, "%%%02X", c);
    }
}

/* Starlette's redirect to the other form of the path: an absolute URL on the request's host (for an
   absolute-form target its authority, RFC 9112 3.2.2) if it is a plain one, else on the address
   the client reached; the query kept; then quoted as RedirectResponse does. */
WF__PRIVATE void wf__redirect_slash(wf_req *req, wf_res *res, wf_str path) {
    wf_str host = wf_span_str(req->buf, req->head->host), q = wf_req_query(req);
    wf_buf url = {0}, loc = {0};
    wf_buf_append(&url, "http://", 7);
    if (host.ptr && wf__netloc_ok(host)) wf_buf_append(&url, host.ptr, host.len);
    else wf__server_netloc(req, &url);
    wf_buf_append(&url, path.ptr, path.len);
    if (q.len) wf_buf_printf(&url, "?%.*s", (int)q.len, q.ptr);
    wf__quote_url(&loc, (wf_str){url.ptr, url.len});
    wf_buf_free(&url);
    const char *location = wf_buf_cstr(&loc);
    wf_res_set_status(res, 307);
    if (location && wf__header_ok("Location", location)) wf_res_add_header(res, "Location", location);
    wf_res_set_body(res, "", 0, WF_BODY_BORROW);
    wf_buf_free(&loc);
}

WF_API int wf_res_write(wf_res *res, const void *p, size_t n) {
    wf__output *out = res->sink;    /* only from the running producer, on the loop */
    if (!out) return WF_EINVAL;
    if (!n) return 0;
    size_t from = out->bytes.len;
    int rc = res->chunked ? wf_http_write_chunk(&out->bytes, p, n) : wf_buf_append(&out->bytes, p, n);
    if (rc == 0) rc = wf__output_commit(out, from);
    if (rc < 0) {
        out->bytes.len = from;
        return rc;
    }
    res->bytes += out->bytes.len - from;
    return 0;
}

/* ======================================================================
 * >>errors  Errors: wf_raise (FastAPI's HTTPException), error handlers
 * ====================================================================== */
typedef struct wf__errh {
    int status;                 /* 0: any */
    wf_error_fn fn;
} wf__errh;

/* The error response: the app's handler for the status, else {"detail": <detail_json>}. */
WF__PRIVATE void wf__error(wf_req *req, wf_res *res, int status, const char *detail, size_t n,
                           const char *const *headers) {
    wf_app *app = req->app;
    wf_error_fn fn = NULL;
    wf__res_reset(res);
    for (int i = 0; i < app->nerrs; i++)
        if (app->errs[i].status == status || (!fn && app->errs[i].status == 0)) fn = app->errs[i].fn;
    for (const char *const *h = headers; h && *h; h++) {
        const char *colon = strchr(*h, ':');
        char name[128];
        if (!colon || (size_t)(colon - *h) >= sizeof name) continue;
        snprintf(name, sizeof name, "%.*s", (int)(colon - *h), *h);
        wf_res_add_header(res, name, colon[1] == ' ' ? colon + 2 : colon + 1);
    }
    if (fn && !req->errors.in_handler) {
        char *copy = (char *)wf_req_alloc(req, n + 1);
        if (copy) {
            memcpy(copy, detail, n);
            copy[n] = 0;
            req->errors.in_handler = true;
            wf_res_set_status(res, status);
            fn(req, res, status, copy);
            req->errors.in_handler = false;
            return;
        }
    }
    wf_buf body = {0};
    int rc = wf_buf_append(&body, "{\"detail\":", 10) | wf_buf_append(&body, detail, n) |
             wf_buf_append(&body, "}", 1);
    if (rc == 0) wf_reply(res, status, "application/json", body.ptr, body.len);
    wf_buf_free(&body);
}

/* wf__error with a plain text detail. */
WF__PRIVATE void wf__error_text(wf_req *req, wf_res *res, int status, const char *detail,
                                const char *const *headers) {
    wf_buf d = {0};
    size_t n;
    wf_json_pack(&d, "s", detail);
    char *j = wf__arena_take(req, &d, &n);
    wf__error(req, res, status, j && n ? j : "null", j && n ? n : 4, headers);
}

/* ---- guards: what a raise releases on its way out ---- */

typedef struct wf__guard {
    struct wf__guard *next;     /* the one registered before */
    int level;                  /* guards held below it, plus one */
    void (*release)(void *arg);
    void *arg;
} wf__guard;

WF__PRIVATE int wf__guard_level(const wf_req *req) {
    return req->errors.guards ? req->errors.guards->level : 0;
}
WF__PRIVATE void wf__guard_push(wf_req *req, wf__guard *g, void (*release)(void *), void *arg) {
    g->release = release;
    g->arg = arg;
    g->level = wf__guard_level(req) + 1;
    g->next = req->errors.guards;
    req->errors.guards = g;
}

WF_API int wf_guard(wf_req *req, void (*release)(void *arg), void *arg) {
    wf__need_request(req, "wf_guard");
    wf__guard *g = release ? (wf__guard *)wf_req_alloc(req, sizeof *g) : NULL;
    if (!g) return release ? WF_ENOMEM : WF_EINVAL;
    wf__guard_push(req, g, release, arg);
    return 0;
}

WF_API void wf_release(wf_req *req, void *arg) {
    wf__need_request(req, "wf_release");
    for (wf__guard **p = &req->errors.guards; *p; p = &(*p)->next)
        if ((*p)->arg == arg) {
            wf__guard *g = *p;
            *p = g->next;
            g->release(g->arg);
            return;
        }
}

WF__PRIVATE void wf__mutex_unlock(void *mu) { pthread_mutex_unlock((pthread_mutex_t *)mu); }

WF_API void wf_lock(wf_req *req, pthread_mutex_t *mu) {
    wf__need_request(req, "wf_lock");
    wf__guard *g = (wf__guard *)wf_req_alloc(req, sizeof *g);    /* before the lock: no raise holds it */
    if (!g) wf_fail(req, "out of memory");
    pthread_mutex_lock(mu);
    wf__guard_push(req, g, wf__mutex_unlock, mu);
}

WF_API void wf_unlock(wf_req *req, pthread_mutex_t *mu) { wf_release(req, mu); }

/* Unwinding to a point where level guards were held: release the ones taken since, newest first. */
WF__PRIVATE void wf__guards_unwind(wf_req *req, int level) {
    while (req->errors.guards && req->errors.guards->level > level) {
        wf__guard *g = req->errors.guards;
        req->errors.guards = g->next;
        g->release(g->arg);
    }
}

WF_API void wf_raise_json(wf_req *req, int status, const char *detail_json, const char *const *headers) {
    wf__need_request(req, "wf_raise_json");
    if (status < 300 || status > 599) status = 500;     /* HTTPException takes redirects too */
    wf__guards_unwind(req, req->errors.raise_level);    /* released before the error handler runs */
    wf__error(req, req->res, status, detail_json ? detail_json : "null",
              detail_json ? strlen(detail_json) : 4, headers);
    req->errors.raised = true;
    if (req->errors.raise) longjmp(*req->errors.raise, 1);
    wf__misuse_say("wf_raise_json", req);
    abort();
}

WF_API void wf_raise(wf_req *req, int status, const char *detail) {
    wf__need_request(req, "wf_raise");
    wf_buf d = {0};
    if (wf_json_pack(&d, "s", detail) < 0) wf_buf_free(&d);
    char *j = d.ptr ? (char *)wf_req_alloc(req, d.len + 1) : NULL;
    if (j) {
        memcpy(j, d.ptr, d.len);
        j[d.len] = 0;
    }
    wf_buf_free(&d);
    wf_raise_json(req, status, j ? j : "\"Internal Server Error\"", NULL);
}

WF_API void wf_fail(wf_req *req, const char *msg) {
    wf__need_request(req, "wf_fail");
    wf_str m = wf_req_method(req), p = wf_req_path(req);
    wf__logf(req->cfg, WF_LOG_ERROR, "%.*s %.*s failed: %s", (int)m.len, m.ptr, (int)p.len, p.ptr,
             msg ? msg : "");
    wf_raise(req, 500, "Internal Server Error");
}

WF_API int wf_on_error(wf_app *app, int status, wf_error_fn fn) {
    if (!app || !fn || status < 0 || status > 599) return WF_EINVAL;
    void *e = WF_REALLOC(NULL, app->errs, (size_t)(app->nerrs + 1) * sizeof *app->errs);
    if (!e) return WF_ENOMEM;
    app->errs = (wf__errh *)e;
    app->errs[app->nerrs].status = status;
    app->errs[app->nerrs].fn = fn;
    app->nerrs++;
    return 0;
}

/* ======================================================================
 * >>params  Parameters: sources, validated getters, specs, JSON bodies, 422s
 * ====================================================================== */
static const char *const wf__in_names[] = {"path", "query", "header", "cookie", "body"};
/* Query strings and urlencoded forms are read where they are, pair by pair, at each lookup: nothing
   is split or decoded ahead (a body of a million '&' costs nothing), and a key or value is decoded
   only when it has a '%' or '+' or a byte past ASCII, into the arena. */

/* The next pair of "a=1&b=x+y" text from *at, still encoded; false at the end. Empty pairs
   ("a=1&&b") are skipped, as Python's parse_qsl(keep_blank_values=True) does. */
WF__PRIVATE bool wf__pair_next(wf_str q, size_t *at, wf_str *k, wf_str *v) {
    while (*at < q.len) {
        size_t i = *at, e = i;
        while (e < q.len && q.ptr[e] != '&') e++;
        *at = e + 1;
        if (e == i) continue;
        const char *eq = (const char *)memchr(q.ptr + i, '=', e - i);
        k->ptr = q.ptr + i;
        k->len = eq ? (size_t)(eq - k->ptr) : e - i;
        v->ptr = eq ? eq + 1 : q.ptr + e;
        v->len = eq ? (size_t)(q.ptr + e - v->ptr) : 0;
        return true;
    }
    return false;
}

/* Text that decodes to itself: ASCII without '%' or '+'. */
WF__PRIVATE bool wf__qs_plain(wf_str t) {
    for (size_t i = 0; i < t.len; i++)
        if ((unsigned char)t.ptr[i] >= 0x80 || t.ptr[i] == '%' || t.ptr[i] == '+') return false;
    return true;
}

/* t decoded as parse_qsl does ('+' a space, %XX, each ill-formed UTF-8 sequence one U+FFFD) into
   out[2 * t.len] with tmp[t.len] to work in; returns the length. */
WF__PRIVATE size_t wf__qs_decode_into(char *out, char *tmp, wf_str t) {
    return wf__unquote(out, tmp, t.ptr ? t.ptr : "", t.len, true);
}

/* t decoded, as a view: t itself when plain, else a copy in the arena (ptr NULL without memory). */
WF__PRIVATE wf_str wf__qs_decode(wf_req *req, wf_str t) {
    wf_str none = {NULL, 0};
    if (wf__qs_plain(t)) return t;
    char *out = (char *)wf_req_alloc(req, wf__size_add(wf__size_mul(t.len, 3), 1)), *tmp = out + 2 * t.len;
    if (!out) return none;
    wf_str d = {out, wf__qs_decode_into(out, tmp, t)};
    return d;
}

/* Does the encoded key k decode to name? (A decoded key has at least a third of k's bytes.) */
WF__PRIVATE bool wf__qs_key_is(wf_req *req, wf_str k, const char *name) {
    size_t n = strlen(name);
    if (wf__qs_plain(k)) return k.len == n && memcmp(k.ptr, name, n) == 0;
    if (k.len > 3 * n) return false;
    char small[3 * 96];
    char *out = k.len <= 96 ? small : (char *)wf_req_alloc(req, 3 * k.len);
    if (!out) return false;
    size_t d = wf__qs_decode_into(out, out + 2 * k.len, k);
    return d == n && memcmp(out, name, n) == 0;
}

/* The decoded value of the last pair named `name` in q, ptr NULL if none. */
WF__PRIVATE wf_str wf__pairs_value(wf_req *req, wf_str q, const char *name) {
    wf_str k, v, last = {NULL, 0};
    size_t at = 0;
    bool found = false;
    while (wf__pair_next(q, &at, &k, &v))
        if (wf__qs_key_is(req, k, name)) {
            last = v;
            found = true;
        }
    if (!found) return last;
    wf_str d = wf__qs_decode(req, last);
    if (!d.ptr) d.ptr = "";                 /* no memory: an empty value rather than an absent one */
    return d;
}

/* The body, if it is application/x-www-form-urlencoded; empty for any other content type. */
WF__PRIVATE wf_str wf__form_text(wf_req *req) {
    wf_str ct = wf_req_header(req, "content-type"), none = {"", 0};
    static const char urlenc[] = "application/x-www-form-urlencoded";
    size_t n = sizeof urlenc - 1;
    bool form = ct.ptr && ct.len >= n && wf__mem_ieq(ct.ptr, urlenc, n) &&
                (ct.len == n || ct.ptr[n] == ';' || ct.ptr[n] == ' ' || ct.ptr[n] == '\t');
    return form ? req->body : none;
}

WF_API int wf_query_all(wf_req *req, const char *name, wf_str *out, int max) {
    wf__need_request(req, "wf_query_all");
    wf_str q = wf_req_query(req), k, v;
    size_t at = 0;
    int seen = 0;
    while (wf__pair_next(q, &at, &k, &v) && seen < INT_MAX)
        if (wf__qs_key_is(req, k, name) && seen++ < max) {
            out[seen - 1] = wf__qs_decode(req, v);
            if (!out[seen - 1].ptr) out[seen - 1].ptr = "";
        }
    return seen;
}

/* The next cookie of Cookie header h from *at, as Starlette reads them: keys and values stripped,
   surrounding quotes removed; pairs without '=' are skipped. False at the end. */
WF__PRIVATE bool wf__cookie_next(wf_str h, size_t *at, wf_str *key, wf_str *value) {
    while (h.ptr && *at < h.len) {
        size_t i = *at, e = i;
        while (e < h.len && h.ptr[e] != ';') e++;
        *at = e + 1;
        const char *eq = (const char *)memchr(h.ptr + i, '=', e - i);
        if (!eq) continue;
        wf_str k = {h.ptr + i, (size_t)(eq - h.ptr) - i}, v = {eq + 1, (size_t)(h.ptr + e - eq - 1)};
        while (k.len && (k.ptr[0] == ' ' || k.ptr[0] == '\t')) {
            k.ptr++;
            k.len--;
        }
        while (k.len && (k.ptr[k.len - 1] == ' ' || k.ptr[k.len - 1] == '\t')) k.len--;
        while (v.len && (v.ptr[0] == ' ' || v.ptr[0] == '\t')) {
            v.ptr++;
            v.len--;
        }
        while (v.len && (v.ptr[v.len - 1] == ' ' || v.ptr[v.len - 1] == '\t')) v.len--;
        if (v.len >= 2 && v.ptr[0] == '"' && v.ptr[v.len - 1] == '"') {
            v.ptr++;
            v.len -= 2;
        }
        *key = k;
        *value = v;
        return true;
    }
    return false;
}

/* The value of cookie `name` (from the first Cookie header), the last of duplicate names winning. */
WF__PRIVATE wf_str wf__cookie(wf_req *req, const char *name) {
    wf_str none = {NULL, 0}, h = wf_req_header(req, "cookie"), found = none, k, v;
    size_t at = 0;
    while (wf__cookie_next(h, &at, &k, &v))
        if (wf_str_eq(k, name)) found = v;
    return found;
}

WF_API bool wf_req_cookie_at(const wf_req *req, int i, wf_str *name, wf_str *value) {
    wf_str h = wf_req_header(req, "cookie");
    size_t at = 0;
    while (i >= 0 && wf__cookie_next(h, &at, name, value))
        if (i-- == 0) return true;
    return false;
}

/* Header bytes as the text Starlette makes of them: Latin-1 (a byte >= 0x80 is one character). */
WF__PRIVATE wf_str wf__latin1(wf_req *req, wf_str v) {
    size_t high = 0;
    for (size_t i = 0; i < v.len; i++) high += (unsigned char)v.ptr[i] >= 0x80;
    char *o = high ? (char *)wf_req_alloc(req, wf__size_add(v.len, high)) : NULL;
    if (!o) return v;
    size_t n = 0;
    for (size_t i = 0; i < v.len; i++) wf__utf8_put(o, &n, (unsigned char)v.ptr[i]);
    return (wf_str){o, n};
}

WF_API bool wf_invalid(const wf_req *req) { return req->params.errors && req->params.errors->len; }
/* Append one entry {"loc":[...],"msg":...,"type":...[,"ctx":{"limit_value":...}]}. */
WF__PRIVATE void wf__invalid(wf_req *req, const char *in, const char *name, const char *msg, const char *type,
                             const char *limit) {
    if (!req->params.errors) {
        req->params.errors = (wf_buf *)wf_req_alloc(req, sizeof *req->params.errors);
        if (!req->params.errors) return;
        memset(req->params.errors, 0, sizeof *req->params.errors);
    }
    wf_jw w = {.out = req->params.errors};
    if (req->params.errors->len) wf_buf_append(req->params.errors, ",", 1);
    wf_jw_obj(&w);
    wf_jw_key(&w, "loc");
    wf_jw_arr(&w);
    wf_jw_str(&w, in);
    if (name) wf_jw_str(&w, name);
    wf_jw_end(&w);
    wf_jw_key(&w, "msg");
    wf_jw_str(&w, msg);
    wf_jw_key(&w, "type");
    wf_jw_str(&w, type);
    if (limit) {
        wf_jw_key(&w, "ctx");
        wf_jw_obj(&w);
        wf_jw_key(&w, "limit_value");
        wf_jw_raw(&w, limit, strlen(limit));
        wf_jw_end(&w);
    }
    wf_jw_end(&w);
}

WF_API void wf_add_invalid(wf_req *req, const char *loc, const char *msg, const char *type) {
    wf__need_request(req, "wf_add_invalid");
    const char *dot = strchr(loc, '.');
    char in[32];
    snprintf(in, sizeof in, "%.*s", dot ? (int)(dot - loc) : (int)strlen(loc), loc);
    wf__invalid(req, in, dot ? dot + 1 : NULL, msg, type, NULL);
}

/* Python's ASCII whitespace (str.strip without arguments, for ASCII). */
WF__PRIVATE bool wf__pyspace(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
/* Python's int() and float() read any Unicode decimal digit and space, after turning them into
   ASCII (_PyUnicode_TransformDecimalAndSpaceToASCII): the zeros of the 65 digit sets of Unicode 14
   (Python 3.11's) and the spaces past ASCII. */
static const uint32_t wf__nd_zero[] = {
    0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66, 0xDE6, 0xE50,
    0xED0, 0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90, 0x1B50, 0x1BB0,
    0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10, 0x104A0, 0x10D30,
    0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650, 0x116C0, 0x11730, 0x118E0,
    0x11950, 0x11C50, 0x11D50, 0x11DA0, 0x16A60, 0x16AC0, 0x16B50, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC,
    0x1D7F6, 0x1E140, 0x1E2F0, 0x1E950, 0x1FBF0};
static const uint32_t wf__py_spaces[] = {0x85, 0xA0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005,
                                         0x2006, 0x2007, 0x2008, 0x2009, 0x200A, 0x2028, 0x2029, 0x202F,
                                         0x205F, 0x3000};
/* The ASCII character Python reads code point cp as, or 0. */
WF__PRIVATE char wf__py_ascii(uint32_t cp) {
    for (size_t i = 0; i < sizeof wf__nd_zero / sizeof wf__nd_zero[0]; i++)
        if (cp >= wf__nd_zero[i] && cp < wf__nd_zero[i] + 10) return (char)('0' + (cp - wf__nd_zero[i]));
    for (size_t i = 0; i < sizeof wf__py_spaces / sizeof wf__py_spaces[0]; i++)
        if (cp == wf__py_spaces[i]) return ' ';
    return 0;
}

/* s, when it has bytes past ASCII, made ASCII as Python does into buf[cap]; false if a character
   is neither a digit nor a space (Python then fails too) or s is not UTF-8. */
WF__PRIVATE bool wf__py_digits(wf_str *s, char *buf, size_t cap) {
    size_t i = 0, o = 0;
    while (i < s->len && (unsigned char)s->ptr[i] < 0x80) i++;
    if (i == s->len) return true;
    for (i = 0; i < s->len && o + 1 < cap;) {
        const unsigned char *p = (const unsigned char *)s->ptr + i;
        size_t k = wf__utf8_len(p, s->len - i);
        uint32_t cp = k == 1 ? p[0] : k == 2 ? (p[0] & 31u) << 6 | (p[1] & 63u)
                    : k == 3 ? (p[0] & 15u) << 12 | (p[1] & 63u) << 6 | (p[2] & 63u)
                    : k == 4 ? (p[0] & 7u) << 18 | (p[1] & 63u) << 12 | (p[2] & 63u) << 6 | (p[3] & 63u) : 0;
        char c = k == 1 ? (char)cp : k ? wf__py_ascii(cp) : 0;
        if (!c) return false;
        buf[o++] = c;
        i += k;
    }
    if (i < s->len) return false;
    s->ptr = buf;
    s->len = o;
    return true;
}

/* Python's int(): optional spaces, a sign, digits with single underscores between them. */
WF__PRIVATE bool wf__parse_int(wf_str s, long long *out) {
    char ascii[128];
    if (s.len > 4300) return false;     /* pydantic 1.10 refuses longer int strings (max_str_int) */
    if (!wf__py_digits(&s, ascii, sizeof ascii)) return false;
    size_t i = 0, n = s.len;
    while (i < n && wf__pyspace(s.ptr[i])) i++;
    while (n > i && wf__pyspace(s.ptr[n - 1])) n--;
    bool neg = i < n && s.ptr[i] == '-';
    if (i < n && (s.ptr[i] == '-' || s.ptr[i] == '+')) i++;
    unsigned long long v = 0;
    size_t digits = 0;
    for (; i < n; i++) {
        char c = s.ptr[i];
        if (c == '_' && digits && i + 1 < n && s.ptr[i + 1] >= '0' && s.ptr[i + 1] <= '9') continue;
        if (c < '0' || c > '9' || v > (ULLONG_MAX - 9) / 10) return false;
        v = v * 10 + (unsigned long long)(c - '0');
        digits++;
    }
    if (!digits || v > (unsigned long long)LLONG_MAX + neg) return false;
    *out = neg ? (long long)(0 - v) : (long long)v;
    return true;
}

/* Python's float() for finite values: no nan or infinities (they would not be valid JSON). */
WF__PRIVATE bool wf__parse_float(wf_str s, double *out) {
    char buf[128], ascii[128], *end;
    size_t o = 0;
    if (!wf__py_digits(&s, ascii, sizeof ascii)) return false;
    for (size_t i = 0; i < s.len && o + 1 < sizeof buf; i++) {
        char c = s.ptr[i];
        bool digit_before = i && s.ptr[i - 1] >= '0' && s.ptr[i - 1] <= '9';
        bool digit_after = i + 1 < s.len && s.ptr[i + 1] >= '0' && s.ptr[i + 1] <= '9';
        if (c == '_' && digit_before && digit_after) continue;    /* Python: 1_0.5 is 10.5 */
        if (c == '_' || c == 0) return false;
        buf[o++] = c;
    }
    buf[o] = 0;
    if (!o || o + 1 >= sizeof buf || strpbrk(buf, "xXpP")) return false;      /* no C hex floats */
    errno = 0;
    double v = wf__strtod(buf, &end);
    while (wf__pyspace(*end)) end++;
    if (*end || end == buf || v != v || v - v != 0) return false;
    *out = v;
    return true;
}

/* true/false as pydantic v1 reads text. */
WF__PRIVATE bool wf__bool_text(wf_str v, bool *out) {
    static const char *const yes[] = {"1", "on", "t", "true", "y", "yes"}, *const no[] = {"0", "off",
                                                                                          "f", "false",
                                                                                          "n", "no"};
    for (int i = 0; i < 6; i++) {
        if (wf_str_ieq(v, yes[i])) {
            *out = true;
            return true;
        }
        if (wf_str_ieq(v, no[i])) {
            *out = false;
            return true;
        }
    }
    return false;
}

/* ---- specs: the programmer's text, parsed strictly once and cached per app ---- */

/* The bounds a spec may have, in the order a value is checked against them. */
enum { WF__S_GE, WF__S_GT, WF__S_LE, WF__S_LT, WF__S_MINLEN, WF__S_MAXLEN, WF__S_NBOUNDS };
/* The getters' kinds: what a spec's rules and default must suit. */
enum { WF__K_INT, WF__K_FLOAT, WF__K_BOOL, WF__K_STR };
static const char *const wf__spec_keys[] = {"ge", "gt", "le", "lt", "min_length", "max_length"};

/* A parsed spec. Its text is copied twice: verbatim (to check the cache key) and cut at the commas,
   so each bound's text (the 422's limit_value) and the default are C strings. */
typedef struct wf__pspec {
    const char *key;            /* the address the spec was parsed from */
    bool required, has_def, raw_header;
    unsigned has;               /* 1 << WF__S_*: the bounds it has */
    unsigned def_ok;            /* 1 << WF__K_*: the kinds the default reads as */
    double lim[WF__S_NBOUNDS];
    long long lim_i[WF__S_NBOUNDS];     /* an integer bound, exactly (lim_int says which) */
    unsigned lim_int;
    const char *lim_text[WF__S_NBOUNDS];
    const char *def;            /* the default's text */
    long long def_i;
    double def_f;
    bool def_b;
    const char *err;            /* what is wrong with it, or NULL */
    size_t err_at;              /* where, as an offset into the spec */
    atomic_uint logged;         /* bit 0: the error; 1 << (1 + kind): a rule the getter cannot use */
    char *toks;
    char text[];
} wf__pspec;

/* A number as JSON writes it (the 422 copies it as limit_value): no '+', hex, '_' or spaces. */
WF__PRIVATE bool wf__spec_number(const char *s) {
    size_t i = s[0] == '-';
    if (s[i] < '0' || s[i] > '9' || (s[i] == '0' && s[i + 1] >= '0' && s[i + 1] <= '9')) return false;
    while (s[i] >= '0' && s[i] <= '9') i++;
    if (s[i] == '.' && !(s[++i] >= '0' && s[i] <= '9')) return false;
    while (s[i] >= '0' && s[i] <= '9') i++;
    if (s[i] == 'e' || s[i] == 'E') {
        i += s[i + 1] == '+' || s[i + 1] == '-';
        if (!(s[++i] >= '0' && s[i] <= '9')) return false;
        while (s[i] >= '0' && s[i] <= '9') i++;
    }
    return s[i] == 0;
}

/* What is wrong with rule k (value v, after '=' if eq) of spec s, or NULL; records it. */
WF__PRIVATE const char *wf__spec_rule(wf__pspec *s, const char *k, const char *v, bool eq) {
    if (strcmp(k, "required") == 0) {
        if (eq) return "required takes no value";
        if (s->required) return "required given twice";
        s->required = true;
        return NULL;
    }
    if (strcmp(k, "default") == 0) {
        if (!eq) return "default needs a value (default=...)";
        if (s->has_def) return "default given twice";
        s->has_def = true;
        s->def = v;
        return NULL;
    }
    if (strcmp(k, "convert_underscores") == 0) {
        if (!eq || (strcmp(v, "false") != 0 && strcmp(v, "true") != 0))
            return "convert_underscores takes true or false";
        s->raw_header = v[0] == 'f';
        return NULL;
    }
    for (int i = 0; i < WF__S_NBOUNDS; i++) {
        if (strcmp(k, wf__spec_keys[i]) != 0) continue;
        bool count = i >= WF__S_MINLEN;
        if (!eq || !wf__spec_number(v) || (count && (strpbrk(v, "-.eE") || strlen(v) > 15)))
            return count ? "a length is a whole number of characters (digits only)"
                         : "a bound is a number written as JSON writes it (digits, '.', exponent)";
        if (s->has & (1u << i)) return "a bound given twice";
        s->has |= 1u << i;
        s->lim[i] = wf__strtod(v, NULL);
        s->lim_text[i] = v;
        wf_str t = {v, strlen(v)};
        if (!strpbrk(v, ".eE") && wf__parse_int(t, &s->lim_i[i])) s->lim_int |= 1u << i;
        return NULL;
    }
    return "unknown rule (rules: required, default=, ge=, gt=, le=, lt=, min_length=, max_length=, "
           "convert_underscores=false)";
}

/* Which getters the default suits, and its value for each. */
WF__PRIVATE void wf__spec_default_kinds(wf__pspec *s) {
    wf_str d = {s->def, strlen(s->def)};
    s->def_ok = 1u << WF__K_STR;
    if (wf__spec_number(s->def) && !strpbrk(s->def, ".eE") && wf__parse_int(d, &s->def_i))
        s->def_ok |= 1u << WF__K_INT;
    if (wf__spec_number(s->def) && wf__parse_float(d, &s->def_f)) s->def_ok |= 1u << WF__K_FLOAT;
    if (wf__bool_text(d, &s->def_b)) s->def_ok |= 1u << WF__K_BOOL;
}

/* Parse s->text (n bytes): comma-separated rules, spaces allowed after a comma. */
WF__PRIVATE void wf__spec_parse(wf__pspec *s, size_t n) {
    char *t = s->toks;
    memcpy(t, s->text, n + 1);
    for (size_t a = 0; n && !s->err;) {
        if (a) while (t[a] == ' ' || t[a] == '\t') a++;
        size_t e = a;
        while (t[e] && t[e] != ',') e++;
        bool last = !t[e];
        t[e] = 0;
        char *eq = strchr(t + a, '=');
        if (eq) *eq = 0;
        s->err = e == a ? "an empty rule (a comma too many)" : wf__spec_rule(s, t + a, eq ? eq + 1 : "", eq);
        s->err_at = a;
        if (last) break;
        a = e + 1;
    }
    if (!s->err && s->required && s->has_def) s->err = "required and default= together";
    if (!s->err && s->has_def) wf__spec_default_kinds(s);
    else s->def_i = 0, s->def_f = 0, s->def_b = false;
}

/* Spec text parsed into mem (room for wf__pspec_size(n)). */
#define wf__pspec_size(n) (sizeof(wf__pspec) + 2 * ((n) + 1))
WF__PRIVATE wf__pspec *wf__spec_make(void *mem, const char *spec, size_t n) {
    wf__pspec *s = (wf__pspec *)mem;
    memset(s, 0, sizeof *s);
    s->key = spec;
    s->toks = s->text + n + 1;
    memcpy(s->text, spec, n + 1);
    atomic_init(&s->logged, 0u);
    wf__spec_parse(s, n);
    return s;
}

/* The parsed spec: from the app's cache, keyed by the spec's address and checked against its text
   (a spec built at run time in a reused buffer is parsed again), else parsed into the arena. The
   cache is lock-free: a slot is filled once, by compare-and-swap, and read by every loop thread. */
WF__PRIVATE const wf__pspec *wf__spec_get(wf_req *req, const char *spec) {
    size_t n = strlen(spec);
    uintptr_t h = ((uintptr_t)spec >> 3) * (uintptr_t)2654435761u;
    for (unsigned probe = 0; probe < 8; probe++) {
        _Atomic(wf__pspec *) *slot = &req->app->params.specs[(h + probe) & (WF__SPEC_SLOTS - 1)];
        wf__pspec *s = atomic_load_explicit(slot, memory_order_acquire), *mine;
        if (!s && (mine = (wf__pspec *)WF_MALLOC(NULL, wf__pspec_size(n))) != NULL) {
            wf__spec_make(mine, spec, n);
            if (atomic_compare_exchange_strong(slot, &s, mine)) return mine;
            WF_FREE(NULL, mine);          /* another thread filled the slot first: s is its spec */
        }
        if (!s) break;
        if (s->key == spec) {
            if (strcmp(s->text, spec) == 0) return s;
            break;
        }
    }
    void *mem = wf_req_alloc(req, wf__pspec_size(n));
    if (!mem) wf_fail(req, "out of memory");
    return wf__spec_make(mem, spec, n);
}

/* The app's cached specs go with it. */
WF__PRIVATE void wf__params_app_free(wf_app *app) {
    for (int i = 0; i < WF__SPEC_SLOTS; i++) WF_FREE(NULL, atomic_load(&app->params.specs[i]));
}

/* A spec the getter cannot use: logged once (route, parameter, spec, position, reason), then 500. */
WF__PRIVATE void wf__spec_refuse(wf_req *req, const wf__pspec *s, unsigned bit, const char *in,
                                 const char *name, const char *why, size_t at) WF__NORETURN;
WF__PRIVATE void wf__spec_refuse(wf_req *req, const wf__pspec *s, unsigned bit, const char *in,
                                 const char *name, const char *why, size_t at) {
    wf__pspec *w = (wf__pspec *)(void *)(uintptr_t)s;
    if (!(atomic_fetch_or(&w->logged, bit) & bit)) {
        wf_str m = wf_req_method(req);
        wf__logf(req->cfg, WF_LOG_ERROR, "%.*s %s: %s parameter \"%s\": bad spec \"%s\" at %zu: %s",
                 (int)WF__MIN(m.len, 16), m.ptr, wf__req_pattern(req), in, name, s->text, at, why);
    }
    wf_raise(req, 500, "Internal Server Error");
}

/* The spec for a getter of kind, in `in`: one that does not parse, or has a rule the getter cannot
   use (a length on a number, a bound on a string or a boolean, a default of another type, a default
   on a path parameter, which FastAPI refuses too) is refused. */
WF__PRIVATE const wf__pspec *wf__spec_for(wf_req *req, const char *spec, int kind, const char *in,
                                          const char *name) {
    static const char *const kinds[] = {"an integer", "a number", "a boolean", "a string"};
    const wf__pspec *s = wf__spec_get(req, spec ? spec : "");
    unsigned nums = 15u, lens = 3u << WF__S_MINLEN, bit = 2u << kind;
    char why[96];
    if (s->err) wf__spec_refuse(req, s, 1u, in, name, s->err, s->err_at);
    if ((kind == WF__K_STR && (s->has & nums)) || (kind == WF__K_BOOL && s->has) ||
        (kind <= WF__K_FLOAT && (s->has & lens)))
        wf__spec_refuse(req, s, bit, in, name,
                        kind == WF__K_STR    ? "ge/gt/le/lt bound numbers, not strings"
                        : kind == WF__K_BOOL ? "a boolean has no bounds"
                                             : "min_length/max_length are for strings",
                        0);
    if (s->has_def && !(s->def_ok & (1u << kind))) {
        snprintf(why, sizeof why, "the default is not %s", kinds[kind]);
        wf__spec_refuse(req, s, bit, in, name, why, (size_t)(s->def - s->toks));
    }
    if ((s->has_def || s->required) && strcmp(in, "path") == 0)
        wf__spec_refuse(req, s, bit, in, name, "a path parameter is always required and has no default", 0);
    return s;
}

/* A header parameter's field name: FastAPI's Header() reads user_agent from User-Agent. */
WF__PRIVATE const char *wf__header_field(wf_req *req, const char *name) {
    if (!strchr(name, '_')) return name;
    char *f = (char *)wf_req_alloc(req, strlen(name) + 1);
    if (!f) wf_fail(req, "out of memory");
    for (size_t i = 0;; i++)
        if ((f[i] = name[i] == '_' ? '-' : name[i]) == 0) return f;
}

/* The parameter's raw text; a header's name has its underscores read as hyphens if convert. */
WF__PRIVATE wf_str wf__param_raw(wf_req *req, wf_in in, const char *name, bool convert) {
    switch (in) {
    case WF_IN_PATH: return wf_path_param(req, name);
    case WF_IN_QUERY: return wf__pairs_value(req, wf_req_query(req), name);
    case WF_IN_HEADER:
        return wf__latin1(req, wf_req_header(req, convert ? wf__header_field(req, name) : name));
    case WF_IN_FORM: return wf__pairs_value(req, wf__form_text(req), name);
    default: return wf__latin1(req, wf__cookie(req, name));
    }
}

WF_API wf_str wf_param(wf_req *req, wf_in in, const char *name) {
    wf__need_request(req, "wf_param");
    return wf__param_raw(req, in, name, true);
}

/* Look the parameter up; records "field required" when a required one is absent. Returns its text,
   ptr NULL when it is absent (the getter then answers the default). */
WF__PRIVATE wf_str wf__param_text(wf_req *req, wf_in in, const char *name, const wf__pspec *s) {
    wf_str v = wf__param_raw(req, in, name, !s->raw_header);
    if (v.ptr && (v.len || in != WF_IN_FORM)) return v;     /* FastAPI: an empty form field is absent */
    v.ptr = NULL;
    v.len = 0;
    if (in == WF_IN_PATH || s->required)
        wf__invalid(req, wf__in_names[in], name, "field required", "value_error.missing", NULL);
    return v;
}

/* The numeric bounds of s; records the first that x breaks, at loc [in, name]. An integer is held
   to an integer bound as an integer (as a double, 2^53 + 1 would pass le=2^53). */
/* x against bound l by rule i (WF__S_GE...), both integers. */
WF__PRIVATE bool wf__int_vs_int(long long x, long long l, int i) {
    return i == WF__S_GE ? x >= l : i == WF__S_GT ? x > l : i == WF__S_LE ? x <= l : x < l;
}

/* An integer against a bound written as a float ("le=1e16", "ge=0.5"), exactly, as Python compares
   an int with a float: through the bound's floor, never through x made a double. */
WF__PRIVATE bool wf__int_vs_double(long long x, double l, int i) {
    if (l >= 9223372036854775808.0) return i == WF__S_LE || i == WF__S_LT;     /* above every x */
    if (l < -9223372036854775808.0) return i == WF__S_GE || i == WF__S_GT;     /* below every x */
    long long f = (long long)l;             /* toward zero, then down: the floor (no libm needed) */
    if ((double)f > l) f--;
    bool whole = (double)f == l;
    return i == WF__S_GE ? (whole ? x >= f : x > f) : i == WF__S_GT ? x > f
         : i == WF__S_LE ? x <= f : (whole ? x < f : x <= f);
}

WF__PRIVATE bool wf__bounds_at_one(const wf__pspec *s, int i, double x) {
    double l = s->lim[i];
    return i == WF__S_GE ? x >= l : i == WF__S_GT ? x > l : i == WF__S_LE ? x <= l : x < l;
}

/* Record bound i of s broken, in pydantic's words. */
WF__PRIVATE void wf__bound_broken(wf_req *req, const char *in, const char *name, const wf__pspec *s, int i) {
    static const struct { const char *msg, *type; } b[] = {
        {"greater than or equal to", "value_error.number.not_ge"},
        {"greater than", "value_error.number.not_gt"},
        {"less than or equal to", "value_error.number.not_le"},
        {"less than", "value_error.number.not_lt"},
    };
    char msg[160];
    snprintf(msg, sizeof msg, "ensure this value is %s %s", b[i].msg, s->lim_text[i]);
    wf__invalid(req, in, name, msg, b[i].type, s->lim_text[i]);
}

WF__PRIVATE bool wf__bounds_at(wf_req *req, const char *in, const char *name, const wf__pspec *s, double x) {
    for (int i = 0; i <= WF__S_LT; i++) {
        if (!(s->has & (1u << i)) || wf__bounds_at_one(s, i, x)) continue;
        wf__bound_broken(req, in, name, s, i);
        return false;
    }
    return true;
}

WF__PRIVATE bool wf__bounds_int(wf_req *req, const char *in, const char *name, const wf__pspec *s,
                                long long x) {
    for (int i = 0; i <= WF__S_LT; i++) {
        if (!(s->has & (1u << i))) continue;
        bool ok = (s->lim_int & (1u << i)) ? wf__int_vs_int(x, s->lim_i[i], i)
                                           : wf__int_vs_double(x, s->lim[i], i);
        if (!ok) return wf__bound_broken(req, in, name, s, i), false;
    }
    return true;
}

/* Conversions of a parameter's text, recording pydantic's error at [in, name]. */
WF__PRIVATE long long wf__conv_int(wf_req *req, const char *in, const char *name, const wf__pspec *s,
                                   wf_str v) {
    long long x = 0;
    if (!wf__parse_int(v, &x)) {
        wf__invalid(req, in, name, "value is not a valid integer", "type_error.integer", NULL);
        return 0;
    }
    return wf__bounds_int(req, in, name, s, x) ? x : 0;
}

WF__PRIVATE double wf__conv_float(wf_req *req, const char *in, const char *name, const wf__pspec *s,
                                  wf_str v) {
    double x = 0;
    if (!wf__parse_float(v, &x)) {
        wf__invalid(req, in, name, "value is not a valid float", "type_error.float", NULL);
        return 0;
    }
    return wf__bounds_at(req, in, name, s, x) ? x : 0;
}

WF__PRIVATE bool wf__conv_bool(wf_req *req, const char *in, const char *name, wf_str v) {
    bool b = false;
    if (!wf__bool_text(v, &b))
        wf__invalid(req, in, name, "value could not be parsed to a boolean", "type_error.bool", NULL);
    return b;
}

/* A string parameter, checked against min_length and max_length. */
WF__PRIVATE wf_str wf__conv_str(wf_req *req, const char *in, const char *name, const wf__pspec *s, wf_str v) {
    static const struct { const char *msg, *type; } b[] = {
        {"at least", "value_error.any_str.min_length"},
        {"at most", "value_error.any_str.max_length"},
    };
    char msg[96];
    wf_str none = {NULL, 0};
    size_t n = s->has ? wf__chars(v) : 0;
    for (int i = WF__S_MINLEN; i <= WF__S_MAXLEN; i++) {
        if (!(s->has & (1u << i))) continue;
        double l = s->lim[i];
        if (i == WF__S_MINLEN ? (double)n >= l : (double)n <= l) continue;
        snprintf(msg, sizeof msg, "ensure this value has %s %s characters", b[i - WF__S_MINLEN].msg,
                 s->lim_text[i]);
        wf__invalid(req, in, name, msg, b[i - WF__S_MINLEN].type, s->lim_text[i]);
        return none;
    }
    return v;
}

/* A default is the programmer's: not held to the bounds (FastAPI does not check it). */
WF_API long long wf_param_int(wf_req *req, wf_in in, const char *name, const char *spec) {
    wf__need_request(req, "wf_param_int");
    const wf__pspec *s = wf__spec_for(req, spec, WF__K_INT, wf__in_names[in], name);
    wf_str v = wf__param_text(req, in, name, s);
    return v.ptr ? wf__conv_int(req, wf__in_names[in], name, s, v) : s->def_i;
}

WF_API double wf_param_float(wf_req *req, wf_in in, const char *name, const char *spec) {
    wf__need_request(req, "wf_param_float");
    const wf__pspec *s = wf__spec_for(req, spec, WF__K_FLOAT, wf__in_names[in], name);
    wf_str v = wf__param_text(req, in, name, s);
    return v.ptr ? wf__conv_float(req, wf__in_names[in], name, s, v) : s->def_f;
}

WF_API bool wf_param_bool(wf_req *req, wf_in in, const char *name, const char *spec) {
    wf__need_request(req, "wf_param_bool");
    const wf__pspec *s = wf__spec_for(req, spec, WF__K_BOOL, wf__in_names[in], name);
    wf_str v = wf__param_text(req, in, name, s);
    return v.ptr ? wf__conv_bool(req, wf__in_names[in], name, v) : s->def_b;
}

/* The default of a string getter: the spec's copy lives as long as the app (or the request). */
WF__PRIVATE wf_str wf__spec_str_default(const wf__pspec *s) {
    wf_str d = {s->has_def ? s->def : NULL, s->has_def ? strlen(s->def) : 0};
    return d;
}

WF_API wf_str wf_param_str(wf_req *req, wf_in in, const char *name, const char *spec) {
    wf__need_request(req, "wf_param_str");
    const wf__pspec *s = wf__spec_for(req, spec, WF__K_STR, wf__in_names[in], name);
    wf_str v = wf__param_text(req, in, name, s);
    return v.ptr ? wf__conv_str(req, wf__in_names[in], name, s, v) : wf__spec_str_default(s);
}

/* ---- JSON bodies ---- */

/* FastAPI's test, through Python's email.message: the type before any ';', stripped, with exactly
   one '/', is application/json or application/<anything>+json, in any case. */
WF__PRIVATE bool wf__is_json_type(wf_str ct) {
    size_t a = 0, n = 0, slashes = 0;
    while (n < ct.len && ct.ptr[n] != ';') slashes += ct.ptr[n++] == '/';
    while (a < n && wf__pyspace(ct.ptr[a])) a++;
    while (n > a && wf__pyspace(ct.ptr[n - 1])) n--;
    if (slashes != 1 || n - a < 12 || !wf__mem_ieq(ct.ptr + a, "application/", 12)) return false;
    wf_str sub = {ct.ptr + a + 12, n - a - 12};
    return wf_str_ieq(sub, "json") || (sub.len >= 5 && wf__mem_ieq(sub.ptr + sub.len - 5, "+json", 5));
}

#define WF__ECHO_DOC_MAX 4096u  /* bytes of a malformed JSON body its 422 echoes in ctx.doc */

/* Record the jsondecode error the way FastAPI reports it, with Python's message and context. */
WF__PRIVATE void wf__json_decode_error(wf_req *req, const wf_json_doc *d, wf_str body) {
    size_t line = 1, col = 1, pos = 0;
    for (size_t i = 0; i < d->err_offset && i < body.len; i++) {
        if (((unsigned char)body.ptr[i] & 0xc0) == 0x80) continue;     /* Python counts characters */
        pos++;
        col++;
        if (body.ptr[i] == '\n') {
            line++;
            col = 1;
        }
    }
    char msg[160], at[32];
    snprintf(msg, sizeof msg, "%s: line %zu column %zu (char %zu)", d->err, line, col, pos);
    snprintf(at, sizeof at, "%zu", pos);
    if (!req->params.errors) {
        req->params.errors = (wf_buf *)wf_req_alloc(req, sizeof *req->params.errors);
        if (!req->params.errors) return;
        memset(req->params.errors, 0, sizeof *req->params.errors);
    }
    if (req->params.errors->len) wf_buf_append(req->params.errors, ",", 1);
    wf_buf *b = req->params.errors;
    size_t mark = b->len;
    /* FastAPI echoes the whole document; a 1 MB body would make a 6 MB answer: the first
       WF__ECHO_DOC_MAX bytes are enough to see it (cut at a character's start, the body being UTF-8) */
    wf_str doc = body;
    if (doc.len > WF__ECHO_DOC_MAX) {
        doc.len = WF__ECHO_DOC_MAX;
        while (doc.len && ((unsigned char)doc.ptr[doc.len] & 0xc0) == 0x80) doc.len--;
    }
    int rc = wf_json_pack(b, "{s:[s,j], s:s, s:s, s:{s:s, s:S, s:I, s:I, s:I}}", "loc", "body", at, "msg",
                          msg, "type", "value_error.jsondecode", "ctx", "msg", d->err, "doc", doc, "pos",
                          (long long)pos, "lineno", (long long)line, "colno", (long long)col);
    if (rc < 0) b->ptr[b->len = mark] = 0;
}

WF_API const wf_jval *wf_body_json(wf_req *req) {
    wf__need_request(req, "wf_body_json");
    if (req->params.json_state) return req->params.json_state > 0 ? req->params.json->root : NULL;
    wf_str body = wf_req_body(req), ct = wf_req_header(req, "content-type");
    req->params.json_state = -1;
    if (ct.ptr && !ct.len) ct.ptr = NULL;       /* an empty Content-Type is none (Starlette) */
    if (!body.len) {
        wf__invalid(req, "body", NULL, "field required", "value_error.missing", NULL);
        return NULL;
    }
    if (ct.ptr && !wf__is_json_type(ct)) {
        wf__invalid(req, "body", NULL, "value is not a valid dict", "type_error.dict", NULL);
        return NULL;
    }
    if (body.len >= 3 && memcmp(body.ptr, "\xef\xbb\xbf", 3) == 0) {  /* utf-8-sig */
        body.ptr += 3;
        body.len -= 3;
    }
    if (!wf_utf8_valid(body.ptr, body.len)) wf_raise(req, 400, "There was an error parsing the body");
    wf_json_doc *d = (wf_json_doc *)wf_req_alloc(req, sizeof *d);
    if (!d) wf_fail(req, "out of memory");
    /* Python nests about as deep as its recursion limit (1000, less FastAPI's own frames) and fails
       past it with RecursionError, which FastAPI answers 400 */
    int rc = wf_json_parse(body.ptr, body.len, WF__BODY_JSON_DEPTH, d);
    if (rc == WF_ENOMEM) wf_fail(req, "out of memory");
    if (rc == WF_ETOOBIG) wf_raise(req, 400, "There was an error parsing the body");
    if (rc < 0) {
        wf__json_decode_error(req, d, body);
        req->params.json_state = -2;
        return NULL;
    }
    req->params.json = d;
    req->params.json_state = 1;
    return d->root;
}

/* A string value for text the document does not hold as one (the arena holds it). */
WF__PRIVATE const wf_jval *wf__jstr_node(wf_req *req, const char *p, size_t n) {
    void *mem = wf_req_alloc(req, wf__jval_str_size(n));
    if (!mem) wf_fail(req, "out of memory");
    return wf__jval_str_make(mem, p, n);
}

/* pydantic v1 turns a body that is not an object into one with Python's dict(): an array of pairs
   (two-element arrays, two-character strings, two-key objects) becomes its pairs, the last of a
   key winning; anything else is not a valid dict (*ok false). A key that is not a string cannot
   become a field (*strkeys false: "keywords must be strings"). Returns the value of name or NULL. */
WF__PRIVATE const wf_jval *wf__dict_get(wf_req *req, const wf_jval *arr, const char *name, bool *ok,
                                        bool *strkeys) {
    const wf_jval *found = NULL;
    wf_str t;
    *ok = wf_json_typeof(arr) == WF_JSON_ARRAY || (wf_json_str(arr, &t) && !t.len);   /* dict("") is {} */
    for (const wf_jval *e = wf_json_first(arr); e && *ok; e = wf_json_next(e)) {
        wf_str k = {NULL, 0};
        const wf_jval *val = NULL;
        int kt = -1;
        if (wf_json_typeof(e) == WF_JSON_ARRAY && wf_json_len(e) == 2) {
            const wf_jval *key = wf_json_at(e, 0);
            kt = wf_json_typeof(key);
            wf_json_str(key, &k);
            val = wf_json_at(e, 1);
        } else if (wf_json_typeof(e) == WF_JSON_STRING && wf_json_str(e, &t) && t.len) {
            const unsigned char *u = (const unsigned char *)t.ptr;      /* decoded text: valid UTF-8 */
            size_t a = wf__utf8_len(u, t.len), b = a < t.len ? wf__utf8_len(u + a, t.len - a) : 0;
            if (a + b != t.len || !b) *ok = false;
            k.ptr = t.ptr;
            k.len = a;
            kt = WF_JSON_STRING;
            if (*ok && wf_str_eq(k, name)) val = wf__jstr_node(req, t.ptr + a, b);
        } else if (wf_json_typeof(e) == WF_JSON_OBJECT && wf_json_len(e) == 2) {
            const wf_jval *m = wf_json_first(e);
            wf_str k2 = wf_json_key(wf_json_next(m));
            k = wf_json_key(m);
            kt = WF_JSON_STRING;
            if (wf_str_eq(k, name)) val = wf__jstr_node(req, k2.ptr, k2.len);
        } else {
            *ok = false;
        }
        if (kt >= WF_JSON_ARRAY) *ok = false;    /* an unhashable key */
        if (kt != WF_JSON_STRING) *strkeys = false;
        if (*ok && kt == WF_JSON_STRING && wf_str_eq(k, name)) found = val;
    }
    return *ok ? found : NULL;
}

WF_API bool wf_body_malformed(const wf_req *req) { return req->params.json_state == -2; }
/* The member `name` of the body (an object, or what dict() makes of it); records what pydantic
   would when it is missing or null. NULL when there is none (*use_def: answer the default). */
WF__PRIVATE const wf_jval *wf__body_field(wf_req *req, const char *name, const wf__pspec *s, bool *use_def) {
    const wf_jval *root = wf_body_json(req), *v;
    bool dict = true, strkeys = true;
    *use_def = false;
    if (!root) return NULL;
    if (wf_json_typeof(root) == WF_JSON_NULL) {     /* FastAPI: a null body is a missing one */
        wf__invalid(req, "body", NULL, "field required", "value_error.missing", NULL);
        req->params.json_state = -1;                   /* reported once */
        return NULL;
    }
    v = wf_json_typeof(root) == WF_JSON_OBJECT ? wf_json_get(root, name)
                                               : wf__dict_get(req, root, name, &dict, &strkeys);
    if (!dict || !strkeys) {
        if (!dict) wf__invalid(req, "body", NULL, "value is not a valid dict", "type_error.dict", NULL);
        else wf__invalid(req, "body", NULL, "keywords must be strings", "type_error", NULL);
        req->params.json_state = -1;
        return NULL;
    }
    if (!v || wf_json_typeof(v) == WF_JSON_NULL) {
        if (s->required && !v) wf__invalid(req, "body", name, "field required", "value_error.missing", NULL);
        else if (s->required)
            wf__invalid(req, "body", name, "none is not an allowed value", "type_error.none.not_allowed",
                        NULL);
        else *use_def = true;
        return NULL;
    }
    return v;
}

/* The text a scalar JSON value has as a Python str (numbers, strings; booleans as True/False). */
WF__PRIVATE bool wf__jval_text(wf_req *req, const wf_jval *v, wf_str *out) {
    char t[32];
    double f;
    long long i;
    bool b;
    wf_str lit;
    if (wf_json_str(v, out)) return true;
    if (wf__json_int_literal(v, &lit) && !(lit.len == 2 && lit.ptr[1] == '0')) {
        *out = lit;                             /* Python's str(int): every digit, as written */
        return true;
    }
    int n = wf_json_int(v, &i) ? snprintf(t, sizeof t, "%lld", i)
          : wf_json_num(v, &f) ? wf_json_double(t, f)
          : wf_json_bool(v, &b) ? snprintf(t, sizeof t, "%s", b ? "True" : "False") : -1;
    if (n < 0) return false;
    char *c = (char *)wf_req_alloc(req, (size_t)n + 1);
    if (!c) return false;
    memcpy(c, t, (size_t)n + 1);
    out->ptr = c;
    out->len = (size_t)n;
    return true;
}

WF_API wf_str wf_body_str(wf_req *req, const char *name, const char *spec) {
    wf__need_request(req, "wf_body_str");
    const wf__pspec *s = wf__spec_for(req, spec, WF__K_STR, "body", name);
    wf_str none = {NULL, 0}, text;
    bool use_def;
    const wf_jval *v = wf__body_field(req, name, s, &use_def);
    if (!v) return use_def ? wf__spec_str_default(s) : none;
    if (!wf__jval_text(req, v, &text)) {
        wf__invalid(req, "body", name, "str type expected", "type_error.str", NULL);
        return none;
    }
    return wf__conv_str(req, "body", name, s, text);
}

WF_API double wf_body_float(wf_req *req, const char *name, const char *spec) {
    wf__need_request(req, "wf_body_float");
    const wf__pspec *s = wf__spec_for(req, spec, WF__K_FLOAT, "body", name);
    wf_str text;
    double x = 0;
    bool b, use_def;
    const wf_jval *v = wf__body_field(req, name, s, &use_def);
    if (!v) return use_def ? s->def_f : 0;
    if (wf_json_str(v, &text)) return wf__conv_float(req, "body", name, s, text);
    if (!wf_json_num(v, &x) && !(wf_json_bool(v, &b) && ((x = b), true))) {
        wf__invalid(req, "body", name, "value is not a valid float", "type_error.float", NULL);
        return 0;
    }
    wf_str lit;
    if (wf__json_int_literal(v, &lit) && x == 0) x = 0;     /* float(int("-0")) is 0.0 */
    return wf__bounds_at(req, "body", name, s, x) ? x : 0;
}

WF_API long long wf_body_int(wf_req *req, const char *name, const char *spec) {
    wf__need_request(req, "wf_body_int");
    const wf__pspec *s = wf__spec_for(req, spec, WF__K_INT, "body", name);
    wf_str text;
    long long x = 0;
    double f;
    bool b, use_def;
    const wf_jval *v = wf__body_field(req, name, s, &use_def);
    if (!v) return use_def ? s->def_i : 0;
    if (wf_json_str(v, &text)) return wf__conv_int(req, "body", name, s, text);
    bool ok = wf_json_int(v, &x) ||
              (wf_json_num(v, &f) && f > -9.2e18 && f < 9.2e18 && ((x = (long long)f), true)) ||
              (wf_json_bool(v, &b) && ((x = b), true));
    if (!ok) {
        wf__invalid(req, "body", name, "value is not a valid integer", "type_error.integer", NULL);
        return 0;
    }
    return wf__bounds_int(req, "body", name, s, x) ? x : 0;
}

WF_API bool wf_body_bool(wf_req *req, const char *name, const char *spec) {
    wf__need_request(req, "wf_body_bool");
    const wf__pspec *s = wf__spec_for(req, spec, WF__K_BOOL, "body", name);
    wf_str text;
    long long i;
    bool b, use_def;
    const wf_jval *v = wf__body_field(req, name, s, &use_def);
    if (!v) return use_def ? s->def_b : false;
    if (wf_json_bool(v, &b)) return b;
    if (wf_json_int(v, &i) && (i == 0 || i == 1)) return i == 1;
    if (wf_json_str(v, &text)) return wf__conv_bool(req, "body", name, text);
    wf__invalid(req, "body", name, "value could not be parsed to a boolean", "type_error.bool", NULL);
    return false;
}

/* After the handler: the 422 replaces whatever it replied when a parameter failed. */
WF__PRIVATE void wf__answer_invalid(wf_req *req, wf_res *res) {
    wf_buf *e = req->params.errors;
    wf_buf body = {0};
    size_t n;
    wf_buf_append(&body, "[", 1);
    wf_buf_append(&body, e->ptr, e->len);
    wf_buf_append(&body, "]", 1);
    char *j = wf__arena_take(req, &body, &n);
    wf__error(req, res, 422, j ? j : "[]", j ? n : 2, NULL);
}

/* The request is over: its parsed body and its 422 entries go. */
WF__PRIVATE void wf__params_request_end(wf_req *req) {
    if (req->params.json) wf_json_free(req->params.json);
    if (req->params.errors) wf_buf_free(req->params.errors);
    memset(&req->params, 0, sizeof req->params);
}

typedef struct wf__override {
    const wf_dep *dep, *with;
} wf__override;

/* ======================================================================
 * >>deps  Dependencies (FastAPI's Depends)
 * ====================================================================== */

#define WF__DEP_MAX_DEPTH 64

/* A dependency's value in this request; in progress until its function returns. */
typedef struct wf__depval {
    struct wf__depval *next;
    const wf_dep *dep;
    void *value;
    bool done;
} wf__depval;

typedef struct wf__cleanup {
    struct wf__cleanup *next;
    void (*fn)(void *);                                 /* wf_defer's, or */
    void (*fn_outcome)(void *, const wf_outcome *);     /* wf_defer_outcome's */
    void *arg;
    const wf_dep *owner;        /* an app-scoped value's: the dependency whose build registered it */
} wf__cleanup;

/* Register a cleanup: the request's (in its arena), or while an app-scoped value is built the app's
   (run at shutdown). */
WF__PRIVATE int wf__defer(wf_req *req, void (*fn)(void *), void (*fn_outcome)(void *, const wf_outcome *),
                          void *arg) {
    bool app = req->deps.app_building;
    size_t n = sizeof(wf__cleanup);
    wf__cleanup *c = !fn && !fn_outcome ? NULL
                   : (wf__cleanup *)(app ? WF_MALLOC(NULL, n) : wf_req_alloc(req, n));
    if (!c) return !fn && !fn_outcome ? WF_EINVAL : WF_ENOMEM;
    c->fn = fn;
    c->fn_outcome = fn_outcome;
    c->arg = arg;
    c->owner = app ? req->deps.building : NULL;
    wf__cleanup **head = app ? &req->app->deps.cleanups : &req->deps.cleanups;
    c->next = *head;                         /* newest first: run in reverse order of registration */
    *head = c;                               /* (the app's list: its lock is held by the builder) */
    return 0;
}

WF_API int wf_defer(wf_req *req, void (*fn)(void *arg), void *arg) {
    return wf__in_request(req, "wf_defer") ? wf__defer(req, fn, NULL, arg) : WF_EINVAL;
}

WF_API int wf_defer_outcome(wf_req *req, void (*fn)(void *arg, const wf_outcome *o), void *arg) {
    return wf__in_request(req, "wf_defer_outcome") ? wf__defer(req, NULL, fn, arg) : WF_EINVAL;
}

/* Run one cleanup, with the outcome if it takes one. */
WF__PRIVATE void wf__cleanup_run(const wf__cleanup *c, const wf_outcome *o) {
    if (c->fn_outcome) c->fn_outcome(c->arg, o);
    else c->fn(c->arg);
}

/* Run and forget the request's cleanups. */
WF__PRIVATE void wf__run_cleanups(wf_req *req, const wf_outcome *o) {
    while (req->deps.cleanups) {
        wf__cleanup *c = req->deps.cleanups;
        req->deps.cleanups = c->next;        /* taken off first: exactly once, even if it raises */
        wf__cleanup_run(c, o);
    }
}

/* App-scoped values and the cleanups registered while building them. */
typedef struct wf__appdep {
    struct wf__appdep *next;
    const wf_dep *dep;
    void *value;
    bool done;
} wf__appdep;

WF__PRIVATE void *wf__dep_call(wf_req *req, const wf_dep *dep);
WF__PRIVATE void wf__dep_cycle(wf_req *req, const wf_dep *dep) WF__NORETURN;

/* An app-scoped build raised (the app's lock held): its value is forgotten wherever it is in the list
   (a dependency it built first stays built, once, with its cleanups), and the cleanups its own build
   registered run now, as a failure, not at shutdown: a retry must not pile them up. */
WF__PRIVATE void wf__app_dep_failed(wf_req *req, wf__appdep *v) {
    wf_app *app = req->app;
    for (wf__appdep **p = &app->deps.values; *p; p = &(*p)->next)
        if (*p == v) {
            *p = v->next;
            break;
        }
    wf_outcome o = {wf_res_get_status(req->res), true, false};
    for (wf__cleanup **p = &app->deps.cleanups; *p;) {
        wf__cleanup *c = *p;
        if (c->owner != v->dep) {
            p = &c->next;
            continue;
        }
        *p = c->next;                   /* newest first, as wf_defer's order is */
        wf__cleanup_run(c, &o);
        WF_FREE(NULL, c);
    }
    WF_FREE(NULL, v);
}

/* Build (once) or get an app-scoped value. The app's lock is recursive, so app dependencies may use
   each other; a raise while building releases it and leaves the value unbuilt. */
WF__PRIVATE void *wf__app_dep(wf_req *req, const wf_dep *dep) {
    wf_app *app = req->app;
    wf__appdep *v;
    pthread_mutex_lock(&app->deps.mu);
    for (v = app->deps.values; v && v->dep != dep; v = v->next) {
    }
    if (v && v->done) {
        pthread_mutex_unlock(&app->deps.mu);
        return v->value;
    }
    if (v) {
        pthread_mutex_unlock(&app->deps.mu);
        wf__dep_cycle(req, dep);
    }
    v = (wf__appdep *)WF_MALLOC(NULL, sizeof *v);
    if (!v) {
        pthread_mutex_unlock(&app->deps.mu);
        wf_fail(req, "out of memory");
    }
    memset(v, 0, sizeof *v);
    v->dep = dep;
    v->next = app->deps.values;
    app->deps.values = v;
    jmp_buf jb, *outer = req->errors.raise;
    const wf_dep *outer_building = req->deps.building;
    req->errors.raise = &jb;
    req->deps.app_building++;
    req->deps.building = dep;
    if (setjmp(jb) != 0) {              /* it raised: undo it, unlock, pass the raise on */
        req->deps.app_building--;
        req->deps.building = outer_building;
        req->errors.raise = outer;
        wf__app_dep_failed(req, v);
        pthread_mutex_unlock(&app->deps.mu);
        longjmp(*outer, 1);
    }
    v->value = wf__dep_call(req, dep);
    v->done = true;
    req->deps.app_building--;
    req->deps.building = outer_building;
    req->errors.raise = outer;
    pthread_mutex_unlock(&app->deps.mu);
    return v->value;
}

WF__PRIVATE const wf_dep *wf__override_of(const wf_app *app, const wf_dep *dep) {
    for (int i = 0; i < app->deps.noverrides; i++)
        if (app->deps.overrides[i].dep == dep) return app->deps.overrides[i].with;
    return dep;
}

WF__PRIVATE void *wf__dep_call(wf_req *req, const wf_dep *dep) {
    const wf_dep *use = wf__override_of(req->app, dep);
    if (++req->deps.depth > WF__DEP_MAX_DEPTH)
        wf_fail(req, "dependencies nested too deep (a cycle through wf_depends_fresh?)");
    void *v = use->fn(req);
    req->deps.depth--;
    return v;
}

/* "a -> b -> a": the dependencies in progress, oldest first, then dep again. */
WF__PRIVATE void wf__dep_cycle(wf_req *req, const wf_dep *dep) {
    char msg[512];
    size_t n = 0;
    const wf__depval *chain[WF__DEP_MAX_DEPTH];
    int k = 0;
    for (const wf__depval *v = req->deps.values; v && k < WF__DEP_MAX_DEPTH; v = v->next)
        if (!v->done) chain[k++] = v;
    n += (size_t)snprintf(msg, sizeof msg, "dependency cycle: ");
    while (k-- > 0 && n < sizeof msg)
        n += (size_t)snprintf(msg + n, sizeof msg - n, "%s -> ", chain[k]->dep->name);
    if (n < sizeof msg) snprintf(msg + n, sizeof msg - n, "%s", dep->name);
    wf_fail(req, msg);
}

WF_API void *wf_depends(wf_req *req, const wf_dep *dep) {
    wf__need_request(req, "WF_DEPENDS (wf_depends)");
    if (dep->scope == WF_SCOPE_APP) return wf__app_dep(req, dep);
    for (wf__depval *v = req->deps.values; v; v = v->next) {
        if (v->dep != dep) continue;
        if (!v->done) wf__dep_cycle(req, dep);
        return v->value;
    }
    wf__depval *v = (wf__depval *)wf_req_alloc(req, sizeof *v);
    if (!v) wf_fail(req, "out of memory");
    v->dep = dep;
    v->done = false;
    v->next = req->deps.values;
    req->deps.values = v;
    v->value = wf__dep_call(req, dep);
    v->done = true;
    return v->value;
}

WF_API void *wf_depends_fresh(wf_req *req, const wf_dep *dep) {
    wf__need_request(req, "wf_depends_fresh");
    return wf__dep_call(req, dep);
}

/* The app's shutdown: app-scoped cleanups in reverse order, values forgotten (a restart rebuilds). */
WF__PRIVATE void wf__app_shutdown(wf_app *app) {
    pthread_mutex_lock(&app->deps.mu);
    wf_outcome none = {0, false, false};
    while (app->deps.cleanups) {
        wf__cleanup *c = app->deps.cleanups;
        app->deps.cleanups = c->next;
        wf__cleanup_run(c, &none);
        WF_FREE(NULL, c);
    }
    while (app->deps.values) {
        wf__appdep *n = app->deps.values->next;
        WF_FREE(NULL, app->deps.values);
        app->deps.values = n;
    }
    pthread_mutex_unlock(&app->deps.mu);
}

WF_API int wf_override(wf_app *app, const wf_dep *dep, const wf_dep *replacement) {
    if (!app || !dep || !replacement) return WF_EINVAL;
    for (int i = 0; i < app->deps.noverrides; i++)
        if (app->deps.overrides[i].dep == dep) {
            app->deps.overrides[i].with = replacement;
            return 0;
        }
    wf__override *o =
        (wf__override *)WF_REALLOC(NULL, app->deps.overrides, (size_t)(app->deps.noverrides + 1) * sizeof *o);
    if (!o) return WF_ENOMEM;
    o[app->deps.noverrides].dep = dep;
    o[app->deps.noverrides].with = replacement;
    app->deps.overrides = o;
    app->deps.noverrides++;
    return 0;
}

WF_API void wf_override_clear(wf_app *app) { app->deps.noverrides = 0; }


WF_API int wf_group_depends(wf_group *g, const wf_dep *dep) {
    if (!g || !dep) return WF_EINVAL;
    const wf_dep **d = (const wf_dep **)WF_REALLOC(NULL, (void *)g->deps, (size_t)(g->ndeps + 1) * sizeof *d);
    if (!d) return WF_ENOMEM;
    d[g->ndeps++] = dep;
    g->deps = d;
    return 0;
}

/* The dependencies of a route's groups, outermost first. */
WF__PRIVATE void wf__group_deps(wf_req *req, const wf_group *g) {
    if (!g) return;
    wf__group_deps(req, g->parent);
    for (int i = 0; i < g->ndeps; i++) wf_depends(req, g->deps[i]);
}

/* The request is over (o: how): run and forget its cleanups. */
WF__PRIVATE void wf__deps_request_end(wf_req *req, const wf_outcome *o) {
    wf__run_cleanups(req, o);
    memset(&req->deps, 0, sizeof req->deps);
}

WF__PRIVATE void wf__deps_app_init(wf_app *app) {
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&app->deps.mu, &ma);
    pthread_mutexattr_destroy(&ma);
}

WF__PRIVATE void wf__deps_app_free(wf_app *app) {
    wf__app_shutdown(app);
    pthread_mutex_destroy(&app->deps.mu);
    WF_FREE(NULL, app->deps.overrides);
}

/* ======================================================================
 * >>tasks  Background tasks (FastAPI's BackgroundTasks)
 * ====================================================================== */

/* One task. A request's tasks are chained in order and run as one job of the worker pool (the
   first task's), so their order holds whatever the number of workers. */
typedef struct wf__task {
    wf__job job;                /* the first task's: the whole chain */
    struct wf__task *next;      /* the next task of the same request */
    wf_task_fn fn;
    void *arg;
    void (*free_arg)(void *);
    wf__pool *pool;             /* counted against its max_jobs, or NULL */
    const wf_config *cfg;       /* for the log */
    char name[64];
} wf__task;

/* A task is over (run or dropped): its argument and its place against max_jobs go. */
WF__PRIVATE void wf__task_free(wf__task *t) {
    if (t->free_arg) t->free_arg(t->arg);
    if (t->pool) wf__pool_release(t->pool);
    WF_FREE(NULL, t);
}

/* Run a request's tasks, in order (a worker's job, or inline in the test client). */
WF__PRIVATE void wf__tasks_run(wf__job *job) {
    wf__task *t = (wf__task *)(void *)job;
    while (t) {
        wf__task *n = t->next;
        int rc = t->fn(t->arg);
        if (rc != 0) wf__logf(t->cfg, WF_LOG_ERROR, "background task %s failed (%d)", t->name, rc);
        wf__task_free(t);
        t = n;
    }
}

/* Free a chain of tasks unrun; with why, each is logged by name. */
WF__PRIVATE void wf__tasks_free_unrun(wf__task *t, const char *why) {
    while (t) {
        wf__task *n = t->next;
        if (why) wf__logf(t->cfg, WF_LOG_WARNING, "background task %s %s", t->name, why);
        wf__task_free(t);
        t = n;
    }
}

/* The pool stopped before the tasks could run: log each by name, free it. */
WF__PRIVATE void wf__tasks_drop(wf__job *job) {
    wf__tasks_free_unrun((wf__task *)(void *)job, "dropped at shutdown");
}

WF_API int wf_add_task(wf_req *req, const char *name, wf_task_fn fn, void *arg, void (*free_arg)(void *)) {
    int err = !wf__in_request(req, "wf_add_task") || !fn         ? WF_EINVAL
            : req->pool && !wf__pool_reserve(req->pool) ? WF_EFULL : 0;
    wf__task *t = err ? NULL : (wf__task *)WF_MALLOC(NULL, sizeof *t);
    if (!t) {
        if (!err && req->pool) wf__pool_release(req->pool);
        if (free_arg) free_arg(arg);
        return err ? err : WF_ENOMEM;
    }
    memset(t, 0, sizeof *t);
    t->fn = fn;
    t->arg = arg;
    t->free_arg = free_arg;
    t->pool = req->pool;
    t->cfg = req->cfg;
    snprintf(t->name, sizeof t->name, "%s", name ? name : "task");
    if (req->tasks.tail) req->tasks.tail->next = t;
    else req->tasks.head = t;
    req->tasks.tail = t;
    return 0;
}

/* The request failed (it raised, or a parameter failed validation): its tasks are dropped unrun and
   their arguments freed. FastAPI attaches tasks to the response a handler returns, and the response
   of an error has none. */
WF__PRIVATE void wf__tasks_drop_all(wf_req *req) {
    wf__task *t = req->tasks.head;
    memset(&req->tasks, 0, sizeof req->tasks);
    wf__tasks_free_unrun(t, NULL);
}

/* The response is out: hand the request's tasks to the pool (which drops them if it has stopped),
   or run them here when there is none (the test client). */
WF__PRIVATE void wf__tasks_request_end(wf_req *req) {
    wf__task *first = req->tasks.head;
    memset(&req->tasks, 0, sizeof req->tasks);
    if (!first) return;
    first->job.run = wf__tasks_run;
    first->job.drop = wf__tasks_drop;
    first->job.urgent = false;
    if (req->pool) wf__pool_push(req->pool, &first->job);
    else wf__tasks_run(&first->job);
}

/* ======================================================================
 * >>websocket  WebSockets (RFC 6455): handshake, frames, messages
 * ====================================================================== */

#define WF__WS_MAX_MESSAGE ((uint64_t)16 << 20)
#define WF__WS_KEEP_BUFFER 65536u   /* a message buffer larger than this is freed once delivered */

/* ---- frames ---- */

/* Unmask p[0..n) in place, the mask's byte k applying to payload offset k mod 4 from offset moff. */
WF__PRIVATE void wf__ws_unmask(char *p, size_t n, const uint8_t mask[4], unsigned moff) {
    uint8_t m[8];
    for (unsigned k = 0; k < 8; k++) m[k] = mask[(moff + k) & 3];
    uint64_t m8;
    memcpy(&m8, m, 8);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        w ^= m8;
        memcpy(p + i, &w, 8);
    }
    for (; i < n; i++) p[i] = (char)(p[i] ^ m[i & 7]);
}

WF_API bool wf_ws_close_code_ok(int code) {
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

/* A close frame's payload: the event, or the failure its code or reason is. */
WF__PRIVATE void wf__ws_close_event(const char *pl, size_t n, wf_ws_event *ev) {
    if (n == 0) {
        ev->code = WF_WS_NO_STATUS;
    } else if (n == 1) {
        ev->fail = WF_WS_PROTOCOL_ERROR;
    } else {
        ev->code = (uint8_t)pl[0] << 8 | (uint8_t)pl[1];
        if (!wf_ws_close_code_ok(ev->code)) ev->fail = WF_WS_PROTOCOL_ERROR;
        else if (wf__utf8_feed(0, (const uint8_t *)pl + 2, n - 2) != 0) ev->fail = WF_WS_INVALID_DATA;
        ev->data = pl + 2;
        ev->len = n - 2;
    }
    ev->opcode = ev->fail ? 0 : WF_WS_CLOSE;
}

/* The head in p->head is complete (nh bytes): check it and start the frame, or say why it fails. */
WF__PRIVATE int wf__ws_frame_begin(wf_ws_parser *p, unsigned nh) {
    const uint8_t *h = p->head;
    uint8_t op = h[0] & 0x0F, len7 = h[1] & 0x7F;
    bool control = op >= 8, masked = (h[1] & 0x80) != 0;
    uint64_t len = len7;
    if (h[0] & 0x70) return WF_WS_PROTOCOL_ERROR;                 /* RSV bits: no extension agreed */
    if ((op > WF_WS_BINARY && op < WF_WS_CLOSE) || op > WF_WS_PONG) return WF_WS_PROTOCOL_ERROR;
    if (masked == p->client) return WF_WS_PROTOCOL_ERROR;         /* clients mask, servers do not */
    if (control && (!(h[0] & 0x80) || len7 > 125)) return WF_WS_PROTOCOL_ERROR;
    if (len7 == 126) {
        len = (uint64_t)h[2] << 8 | h[3];
        if (len < 126) return WF_WS_PROTOCOL_ERROR;                /* not the shortest form */
    } else if (len7 == 127) {
        len = 0;
        for (int k = 2; k < 10; k++) len = len << 8 | h[k];
        if (len >> 63 || len < 65536) return WF_WS_PROTOCOL_ERROR;
    }
    if (op == WF_WS_CONT && !p->msg_op) return WF_WS_PROTOCOL_ERROR;   /* nothing to continue */
    if ((op == WF_WS_TEXT || op == WF_WS_BINARY) && p->msg_op) return WF_WS_PROTOCOL_ERROR;
    uint64_t max = p->max_message ? p->max_message : WF__WS_MAX_MESSAGE;
    if (!control && (len > max || p->msg.len > max - len)) return WF_WS_TOO_BIG;
    if (masked) memcpy(p->mask, h + nh - 4, 4);
    p->op = op;
    p->fin = (h[0] & 0x80) != 0;
    p->left = len;
    p->moff = 0;
    p->nctrl = 0;
    p->in_frame = true;
    if (!control && op != WF_WS_CONT) {
        p->msg_op = op;
        p->utf8 = 0;
    }
    return 0;
}

/* The length of a frame head whose first two bytes are h[0..1]. */
WF__PRIVATE unsigned wf__ws_head_len(const uint8_t *h) {
    uint8_t len7 = h[1] & 0x7F;
    return 2u + (len7 == 126 ? 2u : len7 == 127 ? 8u : 0u) + ((h[1] & 0x80) ? 4u : 0u);
}

/* Gather the frame head from buf: true once it is complete and checked (ev->fail if it fails). */
WF__PRIVATE bool wf__ws_head(wf_ws_parser *p, const char *buf, size_t len, size_t *used, wf_ws_event *ev) {
    unsigned nh;
    while (p->nhead < (nh = p->nhead < 2 ? 2u : wf__ws_head_len(p->head))) {
        if (*used == len) return false;
        p->head[p->nhead++] = (uint8_t)buf[(*used)++];
    }
    p->nhead = 0;
    ev->fail = wf__ws_frame_begin(p, nh);
    return true;
}

/* The stream has failed (ev->fail) or closed: nothing more is read from it. */
WF__PRIVATE size_t wf__ws_end(wf_ws_parser *p, size_t len, wf_ws_event *ev) {
    p->done = true;
    if (ev->fail) ev->opcode = 0;
    return len;
}

/* A control frame's payload is complete. */
WF__PRIVATE size_t wf__ws_control(wf_ws_parser *p, const char *pl, size_t n, size_t used, size_t len,
                                  wf_ws_event *ev) {
    p->in_frame = false;
    if (p->op == WF_WS_CLOSE) {
        wf__ws_close_event(pl, n, ev);
        return wf__ws_end(p, len, ev);
    }
    ev->opcode = p->op;
    ev->data = pl;
    ev->len = n;
    return used;
}

WF_API size_t wf_ws_parse(wf_ws_parser *p, char *buf, size_t len, wf_ws_event *ev) {
    size_t used = 0;
    memset(ev, 0, sizeof *ev);
    if (p->reset) {                     /* the message given last is over: its buffer is free again */
        p->reset = false;
        if (p->msg.cap > WF__WS_KEEP_BUFFER) wf_buf_free(&p->msg);
        p->msg.len = 0;
    }
    if (p->done) return len;
    for (;;) {
        bool fresh = false;             /* the head was read in this call: the payload may be in buf whole */
        if (!p->in_frame) {
            if (!wf__ws_head(p, buf, len, &used, ev)) return used;
            if (ev->fail) return wf__ws_end(p, len, ev);
            fresh = true;
        }
        static char none[1];           /* buf may be NULL when len is 0 */
        size_t take = (size_t)WF__MIN(p->left, (uint64_t)(len - used));
        char *pl = buf ? buf + used : none;
        if (!p->client) wf__ws_unmask(pl, take, p->mask, p->moff);
        p->moff = (uint8_t)((p->moff + take) & 3);
        p->left -= take;
        used += take;
        if (p->op >= WF_WS_CLOSE) {                             /* control: 125 bytes at most */
            if (fresh && !p->left) return wf__ws_control(p, pl, take, used, len, ev);
            memcpy(p->ctrl + p->nctrl, pl, take);
            p->nctrl = (uint8_t)(p->nctrl + take);
            if (p->left) return used;
            return wf__ws_control(p, p->ctrl, p->nctrl, used, len, ev);
        }
        bool text = p->msg_op == WF_WS_TEXT;
        if (text && (p->utf8 = wf__utf8_feed(p->utf8, (const uint8_t *)pl, take)) == WF__U8_BAD) {
            ev->fail = WF_WS_INVALID_DATA;                      /* at the first bad byte */
            return wf__ws_end(p, len, ev);
        }
        if (fresh && !p->left && p->fin && p->op != WF_WS_CONT) {  /* a whole message in buf */
            if (text && p->utf8) break;
            p->in_frame = false;
            p->msg_op = 0;
            ev->opcode = text ? WF_WS_TEXT : WF_WS_BINARY;
            ev->data = pl;
            ev->len = take;
            return used;
        }
        if (wf_buf_append(&p->msg, pl, take) < 0) {
            ev->fail = WF_WS_INTERNAL_ERROR;
            return wf__ws_end(p, len, ev);
        }
        if (p->left) return used;
        p->in_frame = false;
        if (!p->fin) continue;                                  /* the next fragment */
        if (text && p->utf8) break;
        ev->opcode = p->msg_op;
        ev->data = p->msg.ptr ? p->msg.ptr : "";
        ev->len = p->msg.len;
        p->msg_op = 0;
        p->reset = true;
        return used;
    }
    ev->fail = WF_WS_INVALID_DATA;                              /* text ends inside a character */
    return wf__ws_end(p, len, ev);
}

WF_API void wf_ws_parser_free(wf_ws_parser *p) { wf_buf_free(&p->msg); }

/* Between messages, let go of the buffer the last one was joined in (an idle connection keeps none). */
WF__PRIVATE void wf__ws_parser_trim(wf_ws_parser *p) {
    if (!p->reset && (p->msg_op || p->msg.len)) return;         /* a message is being joined */
    p->reset = false;
    wf_buf_free(&p->msg);
}

WF_API size_t wf_ws_frame_head(uint8_t hdr[14], int opcode, bool fin, uint64_t len, const uint8_t *mask) {
    size_t n = 2;
    hdr[0] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0F));
    if (len < 126) {
        hdr[1] = (uint8_t)len;
    } else if (len < 65536) {
        hdr[1] = 126;
        hdr[2] = (uint8_t)(len >> 8);
        hdr[3] = (uint8_t)len;
        n = 4;
    } else {
        hdr[1] = 127;
        for (int k = 0; k < 8; k++) hdr[2 + k] = (uint8_t)(len >> (56 - 8 * k));
        n = 10;
    }
    if (mask) {
        hdr[1] |= 0x80;
        memcpy(hdr + n, mask, 4);
        n += 4;
    }
    return n;
}

WF_API int wf_ws_frame(wf_buf *out, int opcode, bool fin, const void *data, size_t len, const uint8_t *mask) {
    uint8_t hdr[14];
    size_t hn = wf_ws_frame_head(hdr, opcode, fin, len, mask), at = out->len;
    if (wf_buf_reserve(out, wf__size_add(hn, len)) < 0) return WF_ENOMEM;
    wf_buf_append(out, hdr, hn);
    wf_buf_append(out, data, len);
    if (mask) wf__ws_unmask(out->ptr + at + hn, len, mask, 0);     /* masking is the same XOR */
    return 0;
}

/* A close frame's payload into pl: code and reason cut to 123 bytes at a character's start; nothing
   for a code an endpoint may not send (0, 1005, 1006, 1015, outside 1000-4999). Returns its length. */
WF__PRIVATE size_t wf__ws_close_payload(char pl[125], int code, const char *reason) {
    if (code < 1000 || code > 4999 || code == WF_WS_NO_STATUS || code == WF_WS_ABNORMAL || code == 1015)
        return 0;
    size_t r = reason ? strlen(reason) : 0;
    if (r > 123) {
        r = 123;
        while (r > 0 && ((uint8_t)reason[r] & 0xC0) == 0x80) r--;
    }
    pl[0] = (char)(code >> 8);
    pl[1] = (char)code;
    memcpy(pl + 2, reason ? reason : "", r);
    return 2 + r;
}

WF_API int wf_ws_close_frame(wf_buf *out, int code, const char *reason, const uint8_t *mask) {
    char pl[125];
    return wf_ws_frame(out, WF_WS_CLOSE, true, pl, wf__ws_close_payload(pl, code, reason), mask);
}


WF_API int wf_ws_accept_key(const char *key, size_t n, char out[29]) {
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    uint8_t raw[18], digest[20];
    if (n != 24 || wf_base64_decode(raw, key, n, false) != 16) return WF_EPARSE;
    wf_sha1_ctx c;
    wf_sha1_init(&c);
    wf_sha1_update(&c, key, n);
    wf_sha1_update(&c, guid, sizeof guid - 1);
    wf_sha1_final(&c, digest);
    wf_base64_encode(out, digest, 20, false);
    return 0;
}

/* ---- the handshake (RFC 6455 4.2) ---- */

/* The `name` fields of a request read as one comma-separated list (RFC 9110 5.6.1), token by token. */
typedef struct wf__tokens {
    const wf_req *req;
    const char *name;
    int field;                  /* the field being read, and where in it */
    size_t at;
} wf__tokens;

/* The next element, spaces around it trimmed; false after the last. */
WF__PRIVATE bool wf__tokens_next(wf__tokens *t, wf_str *tok) {
    wf_str v;
    while ((v = wf_req_header_nth(t->req, t->name, t->field)).ptr) {
        while (t->at < v.len && (v.ptr[t->at] == ' ' || v.ptr[t->at] == '\t' || v.ptr[t->at] == ',')) t->at++;
        if (t->at == v.len) {
            t->field++;
            t->at = 0;
            continue;
        }
        size_t b = t->at;
        while (t->at < v.len && v.ptr[t->at] != ',') t->at++;
        size_t e = t->at;
        while (e > b && (v.ptr[e - 1] == ' ' || v.ptr[e - 1] == '\t')) e--;
        tok->ptr = v.ptr + b;
        tok->len = e - b;
        return true;
    }
    return false;
}

/* Does any `name` field of req list token t (any case)? */
WF__PRIVATE bool wf__header_has_token(const wf_req *req, const char *name, const char *t) {
    wf__tokens it = {req, name, 0, 0};
    wf_str tok;
    while (wf__tokens_next(&it, &tok))
        if (wf_str_ieq(tok, t)) return true;
    return false;
}

/* Is req a WebSocket handshake: a GET asking to upgrade to websocket? An Upgrade field without the
   "upgrade" token in Connection is not a request to upgrade (RFC 9110 7.8): it is served as HTTP. */
WF__PRIVATE bool wf__ws_wanted(const wf_req *req) {
    wf_str m = wf_req_method(req);
    return m.len == 3 && memcmp(m.ptr, "GET", 3) == 0 && wf__header_has_token(req, "Upgrade", "websocket") &&
           wf__header_has_token(req, "Connection", "upgrade");
}

/* A handshake's headers: 0, or the status refusing it (426 for another version, 400 otherwise). */
WF__PRIVATE int wf__ws_handshake_status(const wf_req *req) {
    wf_str v = wf_req_header(req, "Sec-WebSocket-Version"), key = wf_req_header(req, "Sec-WebSocket-Key");
    char accept[29];
    if (req->head->minor == 0 || req->head->chunked || req->head->content_length > 0) return 400;
    if (!key.ptr || wf_ws_accept_key(key.ptr, key.len, accept) < 0) return 400;
    if (wf_req_header_nth(req, "Sec-WebSocket-Key", 1).ptr ||     /* each once (RFC 6455 11.3.1, 11.3.5) */
        wf_req_header_nth(req, "Sec-WebSocket-Version", 1).ptr)
        return 400;
    if (!v.ptr || v.len != 2 || memcmp(v.ptr, "13", 2) != 0) return 426;
    return 0;
}

/* The route's subprotocol the client offered first, or NULL. */
WF__PRIVATE const char *wf__ws_pick_protocol(const wf_req *req, const wf_ws_opts *o) {
    wf__tokens it = {req, "Sec-WebSocket-Protocol", 0, 0};
    wf_str tok;
    while (o->subprotocols && wf__tokens_next(&it, &tok))
        for (const char *const *p = o->subprotocols; *p; p++)
            if (wf_str_eq(tok, *p)) return *p;
    return NULL;
}

/* ---- connections ---- */

#define WF__T_WS (WF__TIMER_PROTO + 16)   /* the one timer of a WebSocket connection */
#define WF__WS_CLOSE_WAIT_MS 5000          /* for the peer's close frame after ours */

enum { WF__WS_OPEN, WF__WS_CLOSING, WF__WS_DONE };

struct wf_ws {
    wf__loop *loop;
    wf__conn *conn;             /* NULL until attached, and again once the connection has ended */
    const wf_ws_opts *opts;
    wf_ws_parser parser;
    atomic_int refs;            /* the connection's own, and one per wf_ws_retain */
    void *user;
    void (*free_user)(void *);
    const char *protocol;
    int state;
    int code;                   /* the code on_close gets if this side ends the connection */
    bool busy;                  /* the loop is serving its event: output goes to the scratch queue */
    bool failed;                /* drop the connection at the next timer pass */
    atomic_bool open;           /* other threads may still hand it frames */
    atomic_int senders;         /* other threads in wf__ws_send */
    int peer_code;              /* from the peer's close frame, 0 before one */
    char *peer_reason;          /* its reason, for on_close */
    size_t peer_reason_len;
    int64_t last_rx_ms, last_tx_ms, close_deadline;
    pthread_t hs_thread;        /* the thread of its handshake handler */
    wf_buf early;               /* frames sent before the 101 went out: they follow it */
    pthread_mutex_t mu;         /* rooms, nrooms, gone; before the 101: early, state, attached */
    struct wf_room **rooms;     /* the rooms it is in (each holding a reference to the room) */
    int nrooms, rooms_cap;
    bool gone;                  /* ended or refused: joins no more rooms */
    bool attached;              /* its 101 is queued: early is closed (under mu) */
};

WF__PRIVATE wf_ws *wf__ws_new(const wf_ws_opts *opts, const char *protocol) {
    wf_ws *ws = (wf_ws *)WF_MALLOC(NULL, sizeof *ws);
    if (!ws) return NULL;
    memset(ws, 0, sizeof *ws);
    ws->opts = opts;
    ws->protocol = protocol;
    ws->parser.max_message = opts->max_message;
    ws->hs_thread = pthread_self();
    pthread_mutex_init(&ws->mu, NULL);
    atomic_init(&ws->refs, 1);
    return ws;
}

WF_API void wf_ws_retain(wf_ws *ws) { atomic_fetch_add(&ws->refs, 1); }

WF_API void wf_ws_release(wf_ws *ws) {
    if (!ws || atomic_fetch_sub(&ws->refs, 1) != 1) return;
    if (ws->free_user) ws->free_user(ws->user);
    wf_ws_parser_free(&ws->parser);
    wf_buf_free(&ws->early);
    WF_FREE(NULL, ws->rooms);
    pthread_mutex_destroy(&ws->mu);
    WF_FREE(NULL, ws);
}

WF_API void wf_ws_set_user(wf_ws *ws, void *user, void (*free_user)(void *user)) {
    ws->user = user;
    ws->free_user = free_user;
}

WF_API void *wf_ws_user(const wf_ws *ws) { return ws->user; }
WF_API const char *wf_ws_subprotocol(const wf_ws *ws) { return ws->protocol; }

/* Where ws's frames go: the loop's scratch output while its own event is served, else its queue. */
WF__PRIVATE wf__output *wf__ws_output(wf_ws *ws) {
    wf__conn *c = ws->conn;
    if (ws->busy || c->out) return wf__output_of(ws->loop, c);
    c->out = (wf__output *)WF_MALLOC(NULL, sizeof *c->out);
    if (c->out) memset(c->out, 0, sizeof *c->out);
    return c->out;
}

/* Choose the connection's timer: the earliest of the idle limit, the next ping, the close wait. */
WF__PRIVATE void wf__ws_arm(wf_ws *ws) {
    wf__loop *loop = ws->loop;
    const wf_ws_opts *o = ws->opts;
    int64_t d = ws->last_rx_ms + (o->idle_timeout_ms > 0 ? o->idle_timeout_ms : 60000);
    if (o->ping_interval_ms > 0 && ws->state == WF__WS_OPEN)
        d = WF__MIN(d, WF__MAX(ws->last_rx_ms, ws->last_tx_ms) + o->ping_interval_ms);
    if (ws->state != WF__WS_OPEN) d = WF__MIN(d, ws->close_deadline);
    if (ws->failed) d = loop->now_ms;
    wf__conn_timer(loop, ws->conn, WF__T_WS, d);
}

/* Write what is queued, then watch for what is next; outside the connection's own event. */
WF__PRIVATE void wf__ws_kick(wf_ws *ws) {
    wf__conn *c = ws->conn;
    if (ws->busy || !c->out) return;                    /* the event's end flushes */
    int fr = wf__output_flush(c->out, c->fd);
    if (fr < 0) {
        ws->failed = true;
        wf__ws_arm(ws);
    } else if (fr == 0) {                               /* all sent: an idle connection holds nothing */
        wf__output_free(c->out);
        WF_FREE(NULL, c->out);
        c->out = NULL;
    }
    wf__conn_watch(ws->loop, c, true, fr == 1);
}

/* Was ws's queue already past max_queue before a frame was added (pending bytes then)? A message of
   any size accepted goes to a peer that reads; the unsent bytes stay under max_queue + one frame. */
WF__PRIVATE bool wf__ws_queue_full(const wf_ws *ws, size_t pending) {
    return pending > (ws->opts->max_queue ? ws->opts->max_queue : (size_t)16 << 20);
}

/* Queue one frame on ws's connection (loop thread). */
WF__PRIVATE int wf__ws_put(wf_ws *ws, int opcode, const void *data, size_t len) {
    wf__output *q = wf__ws_output(ws);
    uint8_t hdr[14];
    size_t hn = wf_ws_frame_head(hdr, opcode, true, len, NULL);
    if (!q) return WF_ENOMEM;
    size_t before = q->pending;
    if (wf__output_copy(q, hdr, hn) < 0 || wf__output_copy(q, data, len) < 0) return WF_ENOMEM;
    ws->last_tx_ms = ws->loop->now_ms;
    if (wf__ws_queue_full(ws, before)) {                /* the peer does not read: drop it */
        ws->code = WF_WS_POLICY;
        ws->failed = true;
        wf__ws_arm(ws);
        return WF_EFULL;
    }
    wf__ws_kick(ws);
    return 0;
}

/* Send our close frame (once) and wait for the peer's, or end at once if it came first. */
WF__PRIVATE void wf__ws_send_close(wf_ws *ws, int code, const char *reason) {
    if (ws->state != WF__WS_OPEN) return;
    char pl[125];
    size_t n = wf__ws_close_payload(pl, code, reason);
    ws->state = WF__WS_CLOSING;
    ws->code = code;
    ws->close_deadline = ws->loop->now_ms + WF__WS_CLOSE_WAIT_MS;
    wf__ws_put(ws, WF_WS_CLOSE, pl, n);
    wf__ws_arm(ws);
}

/* The 101 is queued: the connection is ws's, and what the handshake handler sent follows (without
   memory for that, it is dropped). */
WF__PRIVATE void wf__ws_attach(wf_ws *ws, wf__loop *loop, wf__conn *c) {
    ws->loop = loop;
    ws->conn = c;
    ws->last_rx_ms = ws->last_tx_ms = loop->now_ms;
    pthread_mutex_lock(&ws->mu);                /* the frames sent so far, from any thread */
    if (ws->early.len && wf__output_copy(wf__output_of(loop, c), ws->early.ptr, ws->early.len) < 0)
        ws->failed = true;
    if (ws->state == WF__WS_CLOSING) ws->close_deadline = loop->now_ms + WF__WS_CLOSE_WAIT_MS;   /* denied */
    wf_buf_free(&ws->early);
    ws->attached = true;
    atomic_store(&ws->open, true);              /* from now on other threads hand frames to loop */
    pthread_mutex_unlock(&ws->mu);
}

/* A frame for a connection whose 101 has not gone out (any thread): it follows the 101; a close
   (code) also starts the closing. Returns 0, WF_ESTOPPED if it was refused, has ended or is
   closing, WF_ENOMEM, or 1 if it is open by now (send it as to an open connection). */
WF__PRIVATE int wf__ws_early(wf_ws *ws, int opcode, const void *data, size_t len, int code) {
    uint8_t hdr[14];
    size_t hn = wf_ws_frame_head(hdr, opcode, true, len, NULL);
    int rc = 0;
    pthread_mutex_lock(&ws->mu);
    if (ws->attached) rc = atomic_load(&ws->open) ? 1 : WF_ESTOPPED;
    else if (ws->gone || ws->state != WF__WS_OPEN) rc = WF_ESTOPPED;
    else if (wf_buf_append(&ws->early, hdr, hn) < 0 || wf_buf_append(&ws->early, data, len) < 0)
        rc = WF_ENOMEM;
    else if (opcode == WF_WS_CLOSE) {
        ws->state = WF__WS_CLOSING;
        ws->code = code;
    }
    pthread_mutex_unlock(&ws->mu);
    return rc;
}

/* Close a connection whose 101 has not gone out (any thread): the close frame follows the 101, then
   the peer's answer ends it. Returns as wf__ws_early. */
WF__PRIVATE int wf__ws_early_close(wf_ws *ws, int code, const char *reason) {
    char pl[125];
    return wf__ws_early(ws, WF_WS_CLOSE, pl, wf__ws_close_payload(pl, code, reason), code);
}

/* ---- rooms ----
   A room holds a reference to each member and each member one to the room (in ws->rooms), so
   whichever goes first, nothing is freed under the other. Lock order: the room's, then the
   member's. */

struct wf_room {
    pthread_mutex_t mu;
    atomic_int refs;            /* the owner's, and one per member */
    wf_ws **members;
    int n, cap;
};

WF_API wf_room *wf_room_new(void) {
    wf_room *r = (wf_room *)WF_MALLOC(NULL, sizeof *r);
    if (!r) return NULL;
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    atomic_init(&r->refs, 1);
    return r;
}

WF__PRIVATE void wf__room_unref(wf_room *r) {
    if (atomic_fetch_sub(&r->refs, 1) != 1) return;
    pthread_mutex_destroy(&r->mu);
    WF_FREE(NULL, r->members);
    WF_FREE(NULL, r);
}

/* Take room r off ws's list (the room's lock is held). */
WF__PRIVATE void wf__ws_forget_room(wf_ws *ws, wf_room *r) {
    pthread_mutex_lock(&ws->mu);
    for (int i = 0; i < ws->nrooms; i++)
        if (ws->rooms[i] == r) {
            ws->rooms[i] = ws->rooms[--ws->nrooms];
            break;
        }
    pthread_mutex_unlock(&ws->mu);
}

WF_API int wf_room_join(wf_room *r, wf_ws *ws) {
    int rc = 0;
    if (!r || !ws) return WF_EINVAL;
    pthread_mutex_lock(&r->mu);
    for (int i = 0; i < r->n; i++)
        if (r->members[i] == ws) goto done;
    if (r->n == r->cap) {
        int cap = r->cap ? r->cap * 2 : 8;
        wf_ws **m = (wf_ws **)WF_REALLOC(NULL, r->members, (size_t)cap * sizeof *m);
        if (!m) {
            rc = WF_ENOMEM;
            goto done;
        }
        r->members = m;
        r->cap = cap;
    }
    pthread_mutex_lock(&ws->mu);
    if (ws->nrooms == ws->rooms_cap) {
        int cap = ws->rooms_cap ? ws->rooms_cap * 2 : 2;
        wf_room **rs = ws->gone ? NULL : (wf_room **)WF_REALLOC(NULL, ws->rooms, (size_t)cap * sizeof *rs);
        if (rs) {
            ws->rooms = rs;
            ws->rooms_cap = cap;
        }
    }
    rc = ws->gone ? WF_ESTOPPED : ws->nrooms == ws->rooms_cap ? WF_ENOMEM : 0;
    if (rc == 0) {
        ws->rooms[ws->nrooms++] = r;
        atomic_fetch_add(&r->refs, 1);
        wf_ws_retain(ws);
        r->members[r->n++] = ws;
    }
    pthread_mutex_unlock(&ws->mu);
done:
    pthread_mutex_unlock(&r->mu);
    return rc;
}

WF_API void wf_room_leave(wf_room *r, wf_ws *ws) {
    bool found = false;
    if (!r || !ws) return;
    pthread_mutex_lock(&r->mu);
    for (int i = 0; i < r->n && !found; i++)
        if (r->members[i] == ws) {
            r->members[i] = r->members[--r->n];
            wf__ws_forget_room(ws, r);
            found = true;
        }
    pthread_mutex_unlock(&r->mu);
    if (!found) return;
    wf_ws_release(ws);
    wf__room_unref(r);
}

WF_API void wf_room_free(wf_room *r) {
    if (!r) return;
    pthread_mutex_lock(&r->mu);
    wf_ws **m = r->members;
    int n = r->n;
    for (int i = 0; i < n; i++) wf__ws_forget_room(m[i], r);
    r->members = NULL;
    r->n = r->cap = 0;
    pthread_mutex_unlock(&r->mu);
    for (int i = 0; i < n; i++) {
        wf_ws_release(m[i]);
        wf__room_unref(r);
    }
    WF_FREE(NULL, m);
    wf__room_unref(r);
}

WF_API int wf_room_count(wf_room *r) {
    if (!r) return 0;
    pthread_mutex_lock(&r->mu);
    int n = r->n;
    pthread_mutex_unlock(&r->mu);
    return n;
}

/* The connection has ended: it leaves every room it was in. */
WF__PRIVATE void wf__ws_leave_all(wf_ws *ws) {
    for (;;) {
        pthread_mutex_lock(&ws->mu);
        ws->gone = true;
        wf_room *r = ws->nrooms ? ws->rooms[0] : NULL;
        if (r) atomic_fetch_add(&r->refs, 1);       /* kept while it is left */
        pthread_mutex_unlock(&ws->mu);
        if (!r) break;
        wf_room_leave(r, ws);
        wf__room_unref(r);
    }
    WF_FREE(NULL, ws->rooms);
    ws->rooms = NULL;
    ws->rooms_cap = 0;
}

/* One loop's share of a broadcast: the frame, and the members that loop owns (each retained). */
typedef struct wf__cast {
    wf__post post;
    wf__rcbuf *frame;
    int n;
    wf_ws *to[];
} wf__cast;

/* Queue the shared frame to ws (its loop's thread). */
WF__PRIVATE void wf__ws_put_shared(wf_ws *ws, wf__rcbuf *frame) {
    if (!ws->conn || ws->state != WF__WS_OPEN) return;
    wf__output *q = wf__ws_output(ws);
    size_t before = q ? q->pending : 0;
    if (!q || wf__output_shared(q, frame) < 0) {
        ws->failed = true;
        wf__ws_arm(ws);
        return;
    }
    ws->last_tx_ms = ws->loop->now_ms;
    if (wf__ws_queue_full(ws, before)) {
        ws->code = WF_WS_POLICY;
        ws->failed = true;
        wf__ws_arm(ws);
        return;
    }
    wf__ws_kick(ws);
}

WF__PRIVATE void wf__cast_run(void *arg) {
    wf__cast *c = (wf__cast *)arg;
    for (int i = 0; i < c->n; i++) {
        wf__ws_put_shared(c->to[i], c->frame);
        wf_ws_release(c->to[i]);
    }
    wf__rcbuf_unref(c->frame);
    WF_FREE(NULL, c);
}

/* Hand the members on one loop their share (or queue it here, on that loop's own thread). */
WF__PRIVATE int wf__cast_send(wf__rcbuf *frame, wf_ws **to, int n) {
    wf__loop *loop = to[0]->loop;
    wf__cast *c = (wf__cast *)wf__alloc(wf__size_add(sizeof *c, wf__size_mul((size_t)n, sizeof(wf_ws *))));
    if (!c) {
        for (int i = 0; i < n; i++) wf_ws_release(to[i]);
        return WF_ENOMEM;
    }
    c->frame = frame;
    atomic_fetch_add(&frame->refs, 1);
    c->n = n;
    memcpy(c->to, to, (size_t)n * sizeof *to);
    if (pthread_equal(pthread_self(), loop->owner)) {
        wf__cast_run(c);
        return 0;
    }
    c->post.fn = wf__cast_run;
    c->post.arg = c;
    c->post.heap = false;
    wf__loop_post_node(loop, &c->post);
    return 0;
}

/* The members still open, retained, grouped by loop (sorted by loop address). A member whose
   handshake this thread is running gets the message after its 101. */
WF__PRIVATE wf_ws **wf__room_snapshot(wf_room *r, int *n, int frame_op, const void *frame_data,
                                      size_t frame_len) {
    pthread_mutex_lock(&r->mu);
    wf_ws **to = r->n ? (wf_ws **)wf__alloc(wf__size_mul((size_t)r->n, sizeof *to)) : NULL;
    *n = 0;
    for (int i = 0; to && i < r->n; i++) {
        wf_ws *m = r->members[i];
        if (atomic_load(&m->open)) {                    /* open: its loop is set, and stays */
            wf_ws_retain(m);
            to[(*n)++] = m;
        } else if (wf__ws_early(m, frame_op, frame_data, frame_len, 0) == 1) {
            wf_ws_retain(m);                            /* its handshake is running: after its 101 */
            to[(*n)++] = m;                             /* (or it has just opened) */
        }
    }
    pthread_mutex_unlock(&r->mu);
    for (int i = 1; i < *n; i++)                    /* insertion sort by loop: few loops, runs */
        for (int k = i; k > 0 && (uintptr_t)to[k - 1]->loop > (uintptr_t)to[k]->loop; k--) {
            wf_ws *t = to[k];
            to[k] = to[k - 1];
            to[k - 1] = t;
        }
    return to;
}

WF__PRIVATE int wf__room_broadcast(wf_room *r, int opcode, const void *data, size_t len) {
    uint8_t hdr[14];
    size_t hn = wf_ws_frame_head(hdr, opcode, true, len, NULL);
    if (!r) return WF_EINVAL;
    wf__rcbuf *frame = wf__rcbuf_new(wf__size_add(hn, len));
    if (!frame) return WF_ENOMEM;
    memcpy(frame->data, hdr, hn);
    memcpy(frame->data + hn, data, len);
    int n, rc = 0;
    wf_ws **to = wf__room_snapshot(r, &n, opcode, data, len);
    for (int i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && to[j]->loop == to[i]->loop;) j++;
        if (wf__cast_send(frame, to + i, j - i) < 0) rc = WF_ENOMEM;
    }
    WF_FREE(NULL, to);
    wf__rcbuf_unref(frame);
    return rc < 0 ? rc : n;
}

WF_API int wf_room_broadcast_text(wf_room *r, const char *data, size_t len) {
    if (!wf_utf8_valid(data, len)) return WF_EINVAL;
    return wf__room_broadcast(r, WF_WS_TEXT, data, len);
}

WF_API int wf_room_broadcast_binary(wf_room *r, const void *data, size_t len) {
    return wf__room_broadcast(r, WF_WS_BINARY, data, len);
}

/* Answer the handshake: the 101 head (with the headers the handler set, in hdrs) into out. */
WF__PRIVATE int wf__ws_write_accept(wf_buf *out, const wf_req *req, const char *date, const wf_ws *ws,
                                    wf_str hdrs) {
    wf_str key = wf_req_header(req, "Sec-WebSocket-Key");
    char accept[29];
    if (wf_ws_accept_key(key.ptr, key.len, accept) < 0) return WF_EPARSE;
    int rc = wf_buf_printf(out, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n", accept);
    if (rc == 0 && ws->protocol) rc = wf_buf_printf(out, "Sec-WebSocket-Protocol: %s\r\n", ws->protocol);
    if (rc == 0) rc = wf_buf_printf(out, "Date: %s\r\n", date);
    if (rc == 0) rc = wf_buf_append(out, hdrs.ptr, hdrs.len);
    if (rc == 0) rc = wf_buf_append(out, "\r\n", 2);
    return rc < 0 ? WF_ENOMEM : 0;
}

/* The peer's frames in the loop's input: the callbacks, pongs, the close. */
WF__PRIVATE void wf__ws_input(wf_ws *ws) {
    wf__loop *loop = ws->loop;
    wf__conn *c = ws->conn;
    wf_buf *in = loop->in;
    while (c->in_start < in->len && !ws->failed) {
        wf_ws_event ev;
        size_t n = wf_ws_parse(&ws->parser, in->ptr + c->in_start, in->len - c->in_start, &ev);
        c->in_start += n;
        ws->last_rx_ms = loop->now_ms;
        if (ev.fail) {                                  /* fail the connection (RFC 6455 7.1.7) */
            wf__ws_send_close(ws, ev.fail, NULL);
            ws->state = WF__WS_DONE;
        } else if (ev.opcode == WF_WS_CLOSE) {
            ws->peer_code = ev.code;
            if (ev.len && (ws->peer_reason = (char *)WF_MALLOC(NULL, ev.len)) != NULL) {
                memcpy(ws->peer_reason, ev.data, ev.len);
                ws->peer_reason_len = ev.len;
            }
            wf__ws_send_close(ws, ev.code == WF_WS_NO_STATUS ? 0 : ev.code, NULL);  /* echo its code */
            ws->state = WF__WS_DONE;
        } else if (ev.opcode == WF_WS_PING && ws->state == WF__WS_OPEN) {
            wf__ws_put(ws, WF_WS_PONG, ev.data, ev.len);
        } else if ((ev.opcode == WF_WS_TEXT || ev.opcode == WF_WS_BINARY) && ws->state == WF__WS_OPEN &&
                   ws->opts->on_message) {
            ws->opts->on_message(ws, ev.opcode, ev.data, ev.len);
        }
    }
    wf__ws_parser_trim(&ws->parser);
}

/* ws's connection had an event (r: what reading it gave, as the loop's event hook gets it; 1 for
   input already in the loop's buffer): frames in, then out, then what to wait for. */
WF__PRIVATE void wf__ws_event(wf__loop *loop, wf_ws *ws, long r) {
    wf__conn *c = ws->conn;
    ws->busy = true;
    if (r > 0) wf__ws_input(ws);
    int fr = wf__output_flush(wf__output_of(loop, c), c->fd);
    ws->busy = false;
    if (r == 0 || r == WF__READ_ERROR || r == WF__READ_FULL || fr < 0 || ws->failed) {
        wf__conn_drop_scratch(loop);                  /* gone, broken, or dropped (1008) */
        wf__conn_close(loop, c);
        return;
    }
    if (wf__conn_stash(loop, c) < 0) {
        wf__conn_close(loop, c);
        return;
    }
    if (ws->state == WF__WS_DONE && fr == 0) {      /* both close frames exchanged: the server ends TCP */
        wf__conn_linger(loop, c);
        return;
    }
    wf__ws_arm(ws);
    wf__conn_watch(loop, c, true, fr == 1);
}

/* ws's timer: dropped, no close answer in time, idle too long, or a keep-alive ping is due. */
WF__PRIVATE void wf__ws_timeout(wf__loop *loop, wf_ws *ws) {
    const wf_ws_opts *o = ws->opts;
    int64_t now = loop->now_ms;
    if (ws->failed || (ws->state != WF__WS_OPEN && now >= ws->close_deadline)) {
        wf__conn_close(loop, ws->conn);
        return;
    }
    if (now >= ws->last_rx_ms + (o->idle_timeout_ms > 0 ? o->idle_timeout_ms : 60000)) {
        if (ws->state != WF__WS_OPEN) {
            wf__conn_close(loop, ws->conn);
            return;
        }
        wf__ws_send_close(ws, WF_WS_GOING_AWAY, "idle timeout");
    } else if (o->ping_interval_ms > 0 && ws->state == WF__WS_OPEN &&
               now >= WF__MAX(ws->last_rx_ms, ws->last_tx_ms) + o->ping_interval_ms) {
        wf__ws_put(ws, WF_WS_PING, "", 0);
    }
    if (ws->conn) wf__ws_arm(ws);
}

/* The server stops: close with 1001 and give the peer the grace period to answer. */
WF__PRIVATE void wf__ws_shutdown(wf_ws *ws) {
    wf__ws_send_close(ws, WF_WS_GOING_AWAY, "server shutdown");
}

/* The connection has ended (the loop is closing it): no more sends, on_close once, and the
   connection's reference goes. Senders on other threads are waited out first (see wf__ws_send). */
WF__PRIVATE void wf__ws_ended(wf_ws *ws) {
    atomic_store(&ws->open, false);
    while (atomic_load(&ws->senders) > 0) sched_yield();
    ws->conn = NULL;
    ws->state = WF__WS_DONE;
    wf__ws_leave_all(ws);
    int code = ws->peer_code ? ws->peer_code : ws->code ? ws->code : WF_WS_ABNORMAL;
    if (ws->opts->on_close) ws->opts->on_close(ws, code, ws->peer_reason ? ws->peer_reason : "",
                                               ws->peer_reason_len);
    WF_FREE(NULL, ws->peer_reason);
    ws->peer_reason = NULL;
    wf_ws_release(ws);
}

/* ---- routes and the handshake handler ---- */

/* The request is over: a connection it accepted that never opened (refused, or no memory) leaves
   the rooms it joined and goes. */
WF__PRIVATE void wf__ws_request_end(wf_req *req) {
    if (!req->ws.ws) return;
    wf__ws_leave_all(req->ws.ws);
    wf_ws_release(req->ws.ws);
    req->ws.ws = NULL;
}

WF_API int wf_group_websocket(wf_group *g, const char *pattern, wf_handler h, const wf_ws_opts *opts) {
    static const wf_ws_opts none;
    wf_route_opts ro;
    memset(&ro, 0, sizeof ro);
    ro.data = opts ? opts->data : NULL;
    return wf__group_route(g, WF__WS_METHOD, pattern, h, &ro, NULL, opts ? opts : &none);
}

WF_API int wf_websocket(wf_app *app, const char *pattern, wf_handler h, const wf_ws_opts *opts) {
    return wf_group_websocket(app ? &app->root : NULL, pattern, h, opts);
}

/* Refuse a handshake as Starlette does when no route takes it or the handler does not accept: 403,
   no body. A connection it made goes. */
WF__PRIVATE void wf__ws_refuse(wf_req *req, wf_res *res) {
    wf__ws_request_end(req);
    wf__res_reset(res);
    wf_reply(res, 403, "text/plain", "", 0);
    res->close = true;
}

/* The handshake handler has returned without raising: 101 if it accepted (and no parameter failed,
   which FastAPI answers 403 at a handshake, not 422), else 403. */
WF__PRIVATE void wf__ws_settle(wf_req *req, wf_res *res) {
    if (!req->ws.ws || wf_invalid(req)) {
        wf__ws_refuse(req, res);
        return;
    }
    res->status = 101;
}

/* A check of the route's Origin hook: false refuses (403). */
WF__PRIVATE bool wf__ws_origin_ok(wf_req *req) {
    const wf_ws_opts *o = req->ws.opts;
    return !o->origin_ok || o->origin_ok(req, wf_req_header(req, "Origin"));
}



WF_API void wf_ws_deny(wf_req *req, int code, const char *reason) {
    wf__need_request(req, "wf_ws_deny");
    wf_ws *ws = req->ws.handshake ? wf_ws_accept(req) : NULL;
    if (!ws) wf_fail(req, "wf_ws_deny outside a WebSocket handshake (or no memory)");
    if (wf__ws_early_close(ws, code, reason) == WF_ENOMEM) wf_fail(req, "out of memory denying a WebSocket");
    wf__guards_unwind(req, req->errors.raise_level);
    if (req->errors.raise) longjmp(*req->errors.raise, 1);
    wf__misuse_say("wf_ws_deny", req);
    abort();
}

/* The handshake handler raised: a wf_ws_deny answers 101 and its close, anything else goes. */
WF__PRIVATE void wf__ws_raised(wf_req *req, wf_res *res) {
    wf_ws *ws = req->ws.ws;
    bool denied = false;
    if (ws) {
        pthread_mutex_lock(&ws->mu);            /* another thread may be closing it too */
        denied = ws->state == WF__WS_CLOSING;
        pthread_mutex_unlock(&ws->mu);
    }
    if (denied) {
        wf__res_reset(res);
        res->status = 101;
        return;
    }
    wf__ws_request_end(req);
}

WF_API wf_ws *wf_ws_accept(wf_req *req) {
    if (!wf__in_request(req, "wf_ws_accept") || !req->ws.handshake || !req->ws.opts) return NULL;
    if (!req->ws.ws) req->ws.ws = wf__ws_new(req->ws.opts, wf__ws_pick_protocol(req, req->ws.opts));
    return req->ws.ws;
}

/* ---- sending from any thread ---- */

/* A frame handed to the connection's loop by another thread. */
typedef struct wf__ws_msg {
    wf__post post;
    wf_ws *ws;
    int opcode;                 /* WF_WS_CLOSE: a wf_ws_close, code in len */
    size_t len;
    char data[];
} wf__ws_msg;

WF__PRIVATE void wf__ws_deliver(void *arg) {
    wf__ws_msg *m = (wf__ws_msg *)arg;
    wf_ws *ws = m->ws;
    if (ws->conn && ws->state == WF__WS_OPEN) {
        if (m->opcode == WF_WS_CLOSE) wf__ws_send_close(ws, (int)m->len, m->data);
        else wf__ws_put(ws, m->opcode, m->data, m->len);
    }
    wf_ws_release(ws);
    WF_FREE(NULL, m);
}

/* Queue a frame from any thread. The sender counts itself in before it reads `open`, and the loop
   clears `open` before it waits for the count to drop (both sequentially consistent): a sender
   either sees the connection gone, or posts to a loop that still exists. */
WF__PRIVATE int wf__ws_send(wf_ws *ws, int opcode, const void *data, size_t len) {
    if (!ws) return WF_EINVAL;
    if (pthread_equal(pthread_self(), ws->hs_thread)) {    /* its loop's thread: ws is its to touch */
        if (!ws->loop)
            return opcode == WF_WS_CLOSE ? wf__ws_early_close(ws, (int)len, (const char *)data)
                                         : wf__ws_early(ws, opcode, data, len, 0);
        if (!ws->conn || ws->state != WF__WS_OPEN) return WF_ESTOPPED;
        if (opcode == WF_WS_CLOSE) {
            wf__ws_send_close(ws, (int)len, (const char *)data);
            return 0;
        }
        return wf__ws_put(ws, opcode, data, len);
    }
    atomic_fetch_add(&ws->senders, 1);
    int rc = 0;
    wf__ws_msg *m = NULL;
    bool post = true;
    if (!atomic_load(&ws->open)) {              /* its 101 may not have gone out yet */
        rc = opcode == WF_WS_CLOSE ? wf__ws_early_close(ws, (int)len, (const char *)data)
                                   : wf__ws_early(ws, opcode, data, len, 0);
        post = rc == 1;                         /* it has opened meanwhile: hand it to the loop */
        if (post) rc = 0;
    }
    size_t room = wf__size_add(sizeof *m, opcode == WF_WS_CLOSE ? 124 : len);
    if (post && !(m = (wf__ws_msg *)wf__alloc(room))) rc = WF_ENOMEM;
    if (m) {
        m->ws = ws;
        m->opcode = opcode;
        m->len = len;
        if (opcode == WF_WS_CLOSE) snprintf(m->data, 124, "%s", data ? (const char *)data : "");
        else memcpy(m->data, data, len);
        m->post.fn = wf__ws_deliver;
        m->post.arg = m;
        m->post.heap = false;
        wf_ws_retain(ws);
        wf__loop_post_node(ws->loop, &m->post);
    }
    atomic_fetch_sub(&ws->senders, 1);
    return rc;
}

WF_API int wf_ws_send_text(wf_ws *ws, const char *data, size_t len) {
    if (!wf_utf8_valid(data, len)) return WF_EINVAL;
    return wf__ws_send(ws, WF_WS_TEXT, data, len);
}

WF_API int wf_ws_send_binary(wf_ws *ws, const void *data, size_t len) {
    return wf__ws_send(ws, WF_WS_BINARY, data, len);
}

WF_API int wf_ws_close(wf_ws *ws, int code, const char *reason) {
    if (!wf_ws_close_code_ok(code)) return WF_EINVAL;
    return wf__ws_send(ws, WF_WS_CLOSE, reason, (size_t)code);
}

/* ======================================================================
 * >>security  JWT (HS256)
 * ====================================================================== */

WF_API int wf_jwt_encode(wf_buf *out, const char *claims_json, const void *key, size_t klen) {
    static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    wf_json_doc d;
    size_t cl = claims_json ? strlen(claims_json) : 0;
    if (!claims_json || wf_json_parse(claims_json, cl, 0, &d) < 0) return WF_EINVAL;
    bool obj = wf_json_typeof(d.root) == WF_JSON_OBJECT;
    wf_json_free(&d);
    if (!obj) return WF_EINVAL;
    size_t start = out->len;
    size_t room = wf__size_add(wf_base64_len(cl, true), wf_base64_len(sizeof header - 1, true) + 48);
    if (wf_buf_reserve(out, room) < 0)
        return WF_ENOMEM;
    out->len += wf_base64_encode(out->ptr + out->len, header, sizeof header - 1, true);
    out->ptr[out->len++] = '.';
    out->len += wf_base64_encode(out->ptr + out->len, claims_json, cl, true);
    uint8_t mac[32];
    wf_hmac_sha256(key, klen, out->ptr + start, out->len - start, mac);
    out->ptr[out->len++] = '.';
    out->len += wf_base64_encode(out->ptr + out->len, mac, 32, true);
    out->ptr[out->len] = 0;
    return 0;
}

/* Decode one base64url part of a token as a JSON object. */
WF__PRIVATE int wf__jwt_part(const char *p, size_t n, wf_json_doc *d) {
    char *raw = (char *)wf__alloc(wf__size_add(n, 1));
    if (!raw) return WF_ENOMEM;
    int len = wf_base64_decode(raw, p, n, true);
    int rc = len < 0 ? WF_ETOKEN : wf_json_parse(raw, (size_t)len, 16, d) < 0 ? WF_ETOKEN : 0;
    if (rc == 0 && wf_json_typeof(d->root) != WF_JSON_OBJECT) {
        wf_json_free(d);
        rc = WF_ETOKEN;
    }
    WF_FREE(NULL, raw);                         /* the document holds its own copies of strings */
    return rc;
}

/* A time claim: absent is fine, present must be an integer. */
WF__PRIVATE int wf__jwt_time(const wf_jval *claims, const char *name, long long *t, bool *present) {
    const wf_jval *v = wf_json_get(claims, name);
    *present = v != NULL;
    if (v && !wf_json_int(v, t)) return WF_ETOKEN;
    return 0;
}

/* The registered claims: times, then aud and iss, then the required ones. */
#define WF__JWT_MAX_LEEWAY (366LL * 86400)   /* a year: more is no clock skew */

WF__PRIVATE int wf__jwt_claims(const wf_jval *c, const wf_jwt_opts *o) {
    long long exp = 0, nbf = 0, iat = 0, now = o->now ? o->now : (long long)time(NULL);
    bool has_exp, has_nbf, has_iat;
    if (wf__jwt_time(c, "exp", &exp, &has_exp) || wf__jwt_time(c, "nbf", &nbf, &has_nbf) ||
        wf__jwt_time(c, "iat", &iat, &has_iat))
        return WF_ETOKEN;
    /* the leeway is bounded (wf_jwt_decode), now is anything: the sums saturate instead of wrapping */
    long long early = now < LLONG_MIN + o->leeway ? LLONG_MIN : now - o->leeway;
    long long late = now > LLONG_MAX - o->leeway ? LLONG_MAX : now + o->leeway;
    if (has_exp && exp <= early) return WF_EEXPIRED;        /* as PyJWT: exp <= now - leeway */
    if (has_nbf && nbf > late) return WF_ENOTYET;
    if (has_iat && iat > late) return WF_ENOTYET;
    const wf_jval *aud = wf_json_get(c, "aud");
    wf_str s;
    /* as PyJWT: an empty aud ("", [], null) counts as none; a list must hold strings only */
    bool no_aud = !aud || wf_json_typeof(aud) == WF_JSON_NULL || (wf_json_str(aud, &s) && !s.len) ||
                  (wf_json_typeof(aud) == WF_JSON_ARRAY && !wf_json_len(aud));
    if (!no_aud && !o->audience) return WF_EAUDIENCE;
    if (o->audience) {
        bool ok = false;
        if (no_aud) return WF_EMISSING;
        if (wf_json_str(aud, &s)) ok = wf_str_eq(s, o->audience);
        else if (wf_json_typeof(aud) != WF_JSON_ARRAY) return WF_EAUDIENCE;
        for (const wf_jval *m = wf_json_typeof(aud) == WF_JSON_ARRAY ? wf_json_first(aud) : NULL; m;
             m = wf_json_next(m)) {
            if (!wf_json_str(m, &s)) return WF_EAUDIENCE;
            ok = ok || wf_str_eq(s, o->audience);
        }
        if (!ok) return WF_EAUDIENCE;
    }
    if (o->issuer) {
        const wf_jval *iss = wf_json_get(c, "iss");
        if (!iss) return WF_EMISSING;
        if (!wf_json_str(iss, &s) || !wf_str_eq(s, o->issuer)) return WF_EISSUER;
    }
    for (const char *const *r = o->required; r && *r; r++)      /* null counts as missing, as in PyJWT */
        if (wf_json_typeof(wf_json_get(c, *r)) <= WF_JSON_NULL) return WF_EMISSING;
    return 0;
}

WF_API int wf_jwt_decode(const char *token, size_t n, const void *key, size_t klen, const wf_jwt_opts *opts,
                         wf_json_doc *claims) {
    wf_jwt_opts o;
    wf_json_doc hdr;
    uint8_t mac[32], sig[48];
    memset(claims, 0, sizeof *claims);
    if (opts) o = *opts;
    else memset(&o, 0, sizeof o);
    if (o.leeway < 0 || o.leeway > WF__JWT_MAX_LEEWAY) return WF_EINVAL;
    if (!token || n > (o.max_len ? o.max_len : 8192)) return WF_ETOKEN;
    const char *d1 = (const char *)memchr(token, '.', n),
               *d2 = d1 ? (const char *)memchr(d1 + 1, '.', (size_t)(token + n - d1 - 1)) : NULL;
    if (!d1 || !d2 || memchr(d2 + 1, '.', (size_t)(token + n - d2 - 1)))
        return WF_ETOKEN; /* exactly three parts */
    int rc = wf__jwt_part(token, (size_t)(d1 - token), &hdr);
    if (rc < 0) return rc;
    wf_str alg;
    bool hs256 = wf_json_str(wf_json_get(hdr.root, "alg"), &alg) && wf_str_eq(alg, "HS256");
    bool crit = wf_json_get(hdr.root, "crit") != NULL;      /* extensions we would have to understand */
    const wf_jval *kid = wf_json_get(hdr.root, "kid");
    crit = crit || (kid && wf_json_typeof(kid) != WF_JSON_STRING);   /* PyJWT: kid must be a string */
    wf_json_free(&hdr);
    if (!hs256) return WF_EALG;
    if (crit) return WF_ETOKEN;
    size_t sl = (size_t)(token + n - d2 - 1);
    if (sl > 44 || wf_base64_decode(sig, d2 + 1, sl, true) != 32) return WF_ESIGNATURE;
    wf_hmac_sha256(key, klen, token, (size_t)(d2 - token), mac);
    if (!wf_ct_equal(mac, sig, 32)) return WF_ESIGNATURE;
    if ((rc = wf__jwt_part(d1 + 1, (size_t)(d2 - d1 - 1), claims)) < 0) return rc;
    if ((rc = wf__jwt_claims(claims->root, &o)) < 0) wf_json_free(claims);
    return rc;
}

/* ======================================================================
 * >>server  wf_run/wf_start/wf_stop/wf_wait, HTTP connections, dispatch, the request's lifetime
 * ====================================================================== */

#define WF__STREAM_LOW_WATER 65536u   /* call a stream producer below this many unsent bytes */
#define WF__PIPELINE_HIGH_WATER (1u << 20) /* stop answering pipelined requests past this */
#define WF__INLINE_BODY 16384u        /* borrowed/owned bodies above this go to writev as they are */
#define WF__STREAM_RETRY_MS 10        /* a producer that had nothing is called again after this */

/* The HTTP connection's timers (the loop's own come first). */
enum { WF__T_HEAD = WF__TIMER_PROTO, WF__T_BODY, WF__T_IDLE, WF__T_WRITE, WF__T_RETRY };
/* A request's phase: arriving (head, body), then answered by a stream or, on a blocking route,
   running on a worker (the connection waits, reading nothing). */
enum { WF__P_HEAD, WF__P_BODY, WF__P_STREAM, WF__P_WORK };

typedef struct wf__mw {
    wf_middleware_fn fn;
    void *user;
} wf__mw;

typedef struct wf__server wf__server;
typedef struct wf__request wf__request;

/* An HTTP connection: the loop's connection, and the requests on it. */
typedef struct wf__hconn {
    wf__conn base;              /* first: the loop allocates and frees it */
    wf__request *request;                 /* the request in progress */
    wf__request *done, *done_tail;   /* answered requests whose cleanups wait for the output to drain */
    bool closing;               /* close once the output is sent */
    bool must_linger;           /* the client may still be sending: drain before closing */
    bool started;               /* a request has begun on it */
    bool peer_done;             /* the peer shut its side: answer what is complete, then close */
    bool wrote;                 /* the last flush sent bytes (renews the write timeout) */
    bool stream_idle;           /* the producer had nothing: retry after WF__STREAM_RETRY_MS */
    wf_ws *ws;                  /* the connection switched to WebSocket: the loop's events go there */
    wf__request *ws_request;    /* its handshake request, kept for its cleanups until it ends */
} wf__hconn;

/* The state of one request, from its first byte to the end of its response. Pooled per loop. */
struct wf__request {
    wf__request *next;               /* in a free list, or a connection's done list */
    wf__server *srv;
    wf__loop *loop;
    wf__hconn *conn;
    wf_http_head head;
    wf_http_chunked chunked;
    size_t head_len, body_len;  /* a chunked body is decoded in place, right after the head */
    int phase;
    int64_t t_first_us, t_head_ms;
    atomic_bool orphan;         /* WF__P_WORK: the connection closed; free it once the worker is done */
    wf__job job;                /* a blocking request on the worker pool */
    wf__post back;              /* the worker's hand-back to the loop */
    wf_req req;
    wf_res res;
    char arena_inline[1024];
    wf_http_field fields[];     /* max_headers */
};

/* The server's state for one loop. */
typedef struct wf__hloop {
    wf__server *srv;
    wf__request *free_requests;
} wf__hloop;

struct wf__server {
    wf__loop_shared shared;     /* what the loops share */
    wf__pool *pool;             /* background tasks and blocking routes (NULL in the test client) */
    wf_app *app;
    wf_config cfg;
    const char *threads_why;    /* what set cfg.threads, for the log */
    int port;
    int nloops;
    wf__loop *loops;
    wf__hloop *hloops;
    atomic_int post_turn;
};

/* ---- defaults ---- */

WF__PRIVATE void wf__access_stderr(void *user, const wf_access_entry *e) {
    char line[1024];
    time_t sec = (time_t)(e->unix_ms / 1000);
    struct tm tm;
    (void)user;
    if (!gmtime_r(&sec, &tm)) memset(&tm, 0, sizeof tm);
    int n =
        snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s \"%.*s %.*s\" %d %llu %lldus\n",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (int)(e->unix_ms % 1000), e->peer, (int)WF__MIN(e->method.len, 32), e->method.ptr,
                 (int)WF__MIN(e->path.len, 512), e->path.ptr, e->status, (unsigned long long)e->bytes,
                 (long long)e->micros);
    if (n > 0) {
        ssize_t w = write(2, line, (size_t)WF__MIN(n, (int)sizeof line - 1));
        (void)w;
    }
}

/* The CPU quota of cgroup v2 file cpu.max ("max 100000" or "150000 100000"), rounded up; 0 for none. */
WF__PRIVATE int wf__cpu_max(const char *path) {
    char line[64];
    long long quota = 0, period = 0;
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    bool got = fgets(line, sizeof line, f) && sscanf(line, "%lld %lld", &quota, &period) == 2;
    fclose(f);
    return got && quota > 0 && period > 0 ? (int)WF__MIN((quota + period - 1) / period, 4096) : 0;
}

/* Where cgroup v2 is mounted (the tests point it at a directory of their own). */
#ifndef WF__CGROUP_ROOT
#define WF__CGROUP_ROOT "/sys/fs/cgroup"
#endif

/* The tightest cpu.max quota on this process's cgroup v2 path and its ancestors; 0 for none. */
WF__PRIVATE int wf__cgroup_cpus(void) {
    char line[512], path[640];
    int best = 0;
    FILE *f = fopen("/proc/self/cgroup", "r");
    if (!f) return 0;
    bool v2 = false;
    while (!v2 && fgets(line, sizeof line, f)) v2 = strncmp(line, "0::", 3) == 0;
    fclose(f);
    if (!v2) return 0;
    line[strcspn(line, "\n")] = 0;
    for (char *cut = line + strlen(line); cut >= line + 3; cut--) {  /* the group, then its parents */
        if (*cut != '/' && *cut) continue;
        snprintf(path, sizeof path, "%s%.*s/cpu.max", WF__CGROUP_ROOT, (int)(cut - line - 3), line + 3);
        int q = wf__cpu_max(path);
        if (q > 0 && (!best || q < best)) best = q;
    }
    return best;
}

/* The CPUs this process may run on: the online ones, or fewer in its affinity mask (taskset, a
   cpuset), or fewer still under a cgroup v2 quota (a container limited to 1.5 CPUs gets 2). *why
   names what decided. */
WF__PRIVATE int wf__cpus(const char **why) {
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    int n = online > 0 ? (int)online : 1, k = 0;
    *why = "the online CPUs";
#if defined(__linux__) && defined(SYS_sched_getaffinity)
    unsigned long mask[64];
    memset(mask, 0, sizeof mask);
    long r = syscall(SYS_sched_getaffinity, 0, sizeof mask, mask);
    for (size_t i = 0; r > 0 && i < (size_t)r / sizeof mask[0]; i++)
        for (unsigned long m = mask[i]; m; m &= m - 1) k++;
    if (k > 0 && k < n) {
        n = k;
        *why = "the CPUs in the affinity mask";
    }
    int q = wf__cgroup_cpus();
    if (q > 0 && q < n) {
        n = q;
        *why = "the cgroup's cpu.max quota";
    }
#endif
    return n;
}

WF__PRIVATE void wf__config_defaults(wf_config *c, const char **threads_why) {
    c->host = wf__def(c->host, "127.0.0.1");
    c->port = wf__def(c->port, 8000);
    *threads_why = "wf_config.threads";
    if (c->threads <= 0) c->threads = wf__cpus(threads_why);
    c->backlog = wf__def(c->backlog, 1024);
    c->max_conns = wf__def(c->max_conns, 10000);
    c->max_request_line = wf__def(c->max_request_line, WF__DEFAULT_MAX_LINE);
    c->max_header_bytes = wf__def(c->max_header_bytes, WF__DEFAULT_MAX_HEAD);
    c->max_headers = wf__def(c->max_headers, WF__DEFAULT_MAX_FIELDS);
    c->max_body = wf__def(c->max_body, (uint64_t)1 << 20);
    c->header_timeout_ms = wf__def(c->header_timeout_ms, 10000);
    c->body_timeout_ms = wf__def(c->body_timeout_ms, 30000);
    c->idle_timeout_ms = wf__def(c->idle_timeout_ms, 30000);
    c->write_timeout_ms = wf__def(c->write_timeout_ms, 30000);
    c->shutdown_grace_ms = wf__def(c->shutdown_grace_ms, 5000);
    c->workers = wf__def(c->workers, 16);
    c->max_jobs = wf__def(c->max_jobs, 10000);
    c->slow_handler_ms = wf__def(c->slow_handler_ms, 100);
    c->log = wf__def(c->log, wf__log_stderr);
    if (!c->access_log && !c->no_access_log) c->access_log = wf__access_stderr;
    if (c->no_access_log) c->access_log = NULL;
    if (c->max_body > ((uint64_t)1 << 40)) c->max_body = (uint64_t)1 << 40;
    if (c->max_header_bytes < c->max_request_line) c->max_header_bytes = c->max_request_line;
}

/* ---- request states ---- */

WF__PRIVATE wf__request *wf__request_get(wf__loop *loop, wf__hconn *c) {
    wf__hloop *hl = (wf__hloop *)loop->user;
    wf__server *s = hl->srv;
    wf__request *request = hl->free_requests;
    uint32_t nf = s->cfg.max_headers;
    if (request) {
        hl->free_requests = request->next;
    } else {
        request = (wf__request *)WF_MALLOC(NULL, sizeof *request + nf * sizeof(wf_http_field));
        if (!request) return NULL;
        memset(request, 0, sizeof *request);
    }
    request->srv = s;
    request->loop = loop;
    request->conn = c;
    request->head.max_line = s->cfg.max_request_line;
    request->head.max_head = s->cfg.max_header_bytes;
    wf_http_head_init(&request->head, request->fields, nf);
    memset(&request->chunked, 0, sizeof request->chunked);
    request->chunked.max_body = s->cfg.max_body;
    request->head_len = request->body_len = 0;
    request->phase = WF__P_HEAD;
    request->t_first_us = loop->now_us;
    request->t_head_ms = 0;
    atomic_store(&request->orphan, false);
    memset(&request->req, 0, sizeof request->req);
    request->req.head = &request->head;
    request->req.conn = &c->base;
    request->req.app = s->app;
    request->req.cfg = &s->cfg;
    request->req.pool = s->pool;
    request->req.res = &request->res;
    request->req.arena.inl = request->arena_inline;
    request->req.arena.inl_cap = sizeof request->arena_inline;
    wf__res_init(&request->res);
    return request;
}

/* The request is over (its response completely sent, or not): each section lets go of its part,
   in the order FastAPI ends a request. */
WF__PRIVATE void wf__request_put(wf__loop *loop, wf__request *request, bool sent) {
    wf__hloop *hl = (wf__hloop *)loop->user;
    wf_req *req = &request->req;
    wf_outcome o = {request->res.status, false, !sent};
    o.failed = req->errors.raised || wf_invalid(req) || o.status >= 500;
    wf__res_stream_end(&request->res);               /* the producer's state first (FastAPI closes the
                                                        generator, then exits the dependencies) */
    wf__deps_request_end(req, &o);                   /* the cleanups, newest first */
    wf__tasks_request_end(&request->req);            /* the response is out: its tasks may run */
    wf__ws_request_end(&request->req);
    wf__params_request_end(&request->req);
    wf__res_end(&request->res);
    wf__arena_reset(&request->req.arena);
    request->next = hl->free_requests;
    hl->free_requests = request;
}

/* A request is answered: release it now, or once its response is sent if it has cleanups or tasks
   (the code after a dependency's `yield` runs after the response, as FastAPI does). */
WF__PRIVATE void wf__request_finish(wf__loop *loop, wf__hconn *c, wf__request *request) {
    if (!request->req.deps.cleanups && !request->req.tasks.head) {
        wf__request_put(loop, request, false);      /* nothing that asks how it went */
        return;
    }
    request->next = NULL;
    if (c->done_tail) c->done_tail->next = request;
    else c->done = request;
    c->done_tail = request;
}

/* The output has drained (sent), or the connection is closing: run the waiting cleanups, in order. */
WF__PRIVATE void wf__release_done(wf__loop *loop, wf__hconn *c, bool sent) {
    while (c->done) {
        wf__request *request = c->done;
        c->done = request->next;
        wf__request_put(loop, request, sent);
    }
    c->done_tail = NULL;
}

WF__PRIVATE void wf__request_destroy(wf__request *request) {
    wf__res_destroy(&request->res);
    wf__arena_reset(&request->req.arena);
    WF_FREE(NULL, request);
}

/* ---- response serializer ---- */

WF__PRIVATE bool wf__is_head_method(const wf_req *req) {
    wf_str m = wf_req_method(req);
    return m.len == 4 && memcmp(m.ptr, "HEAD", 4) == 0;
}

WF__PRIVATE void wf__access(wf__request *request, int status) {
    const wf_config *cfg = &request->srv->cfg;
    if (!cfg->access_log) return;
    wf_access_entry e;
    wf_str na = {"-", 1};
    bool parsed = request->head.method.len > 0 && request->req.buf;
    e.unix_ms = wf__wall_ms();
    e.peer = wf_req_peer(&request->req);
    e.method = parsed ? wf_span_str(request->req.buf, request->head.method) : na;
    e.path = parsed ? wf__req_raw_path(&request->req) : na;
    e.status = status;
    e.bytes = request->res.bytes;
    e.micros = wf__mono_us() - request->t_first_us;
    cfg->access_log(cfg->access_log_user, &e);
}

/* Queue the status line and headers of request's response. */
WF__PRIVATE int wf__write_head(wf__loop *loop, wf__hconn *c, wf__request *request, bool chunked, bool close) {
    wf_res *res = &request->res;
    wf__output *out = wf__output_of(loop, &c->base);
    size_t from = out->bytes.len;
    int status = res->status;
    wf_http_response h;
    memset(&h, 0, sizeof h);
    h.status = status;
    h.date = loop->date;
    h.chunked = chunked;
    h.content_length =
        !chunked && !res->stream && status != 204 && status != 304 ? (int64_t)res->body_len : -1;
    h.fields.ptr = res->hdrs.ptr;
    h.fields.len = res->hdrs.len;
    h.close = close;
    h.keep_alive = !close && request->head.minor == 0;
    int rc = wf_http_write_head(&out->bytes, &h);
    if (rc == 0) rc = wf__output_commit(out, from);
    if (rc == 0) res->bytes += out->bytes.len - from;
    return rc;
}

/* Queue the body of a finished (non-stream) response. */
WF__PRIVATE int wf__write_body(wf__loop *loop, wf__hconn *c, wf_res *res) {
    wf__output *q = wf__output_of(loop, &c->base);
    int rc = 0;
    if (res->file_fd >= 0) {
        if (!res->body_len) return 0;
        rc = wf__output_piece(q, NULL, (size_t)res->file_off, res->body_len, false);
        if (rc == 0) {
            q->pieces[q->npieces - 1].fd = res->file_fd;    /* the output closes it */
            res->file_fd = -1;
        }
        res->bytes += res->body_len;
        return rc;
    }
    if (!res->has_body || !res->body_len) return 0;
    if (res->mode == WF_BODY_COPY || res->body_len <= WF__INLINE_BODY) {
        rc = wf__output_copy(q, res->body, res->body_len);
    } else {
        rc = wf__output_piece(q, (const char *)res->body, 0, res->body_len, res->mode == WF_BODY_OWN);
        if (rc == 0) res->has_body = false;    /* the output owns it now */
    }
    res->bytes += res->body_len;
    return rc;
}

/* Start request's stream: the input buffer goes away before it ends, so the head is kept for the access
   log; the body is not kept (a producer copies what it needs). */
WF__PRIVATE void wf__stream_begin(wf__request *request) {
    char *copy = (char *)wf__arena_alloc(&request->req.arena, request->head_len);
    if (copy) memcpy(copy, request->req.buf, request->head_len);
    request->req.buf = copy;
    request->req.body.ptr = "";
    request->req.body.len = 0;
    request->phase = WF__P_STREAM;
}

/* Call request's producer once with the connection's output as its sink. */
WF__PRIVATE int wf__stream_call(wf__loop *loop, wf__hconn *c, wf__request *request) {
    wf_res *res = &request->res;
    res->sink = wf__output_of(loop, &c->base);
    int r = res->stream(res, res->stream_user);
    res->sink = NULL;
    return r;
}

/* Serialize the response the handler left in request; starts a stream when it asked for one. */
/* The handshake is accepted: the 101 goes out and the connection is the WebSocket's from now on. */
WF__PRIVATE int wf__ws_switch(wf__loop *loop, wf__hconn *c, wf__request *request) {
    wf_ws *ws = request->req.ws.ws;
    wf_res *res = &request->res;
    wf__output *out = wf__output_of(loop, &c->base);
    size_t from = out->bytes.len;
    wf_str hdrs = {res->hdrs.ptr, res->hdrs.len};
    int rc = wf__ws_write_accept(&out->bytes, &request->req, loop->date, ws, hdrs);
    if (rc == 0) rc = wf__output_commit(out, from);
    else out->bytes.len = from;
    if (rc < 0) return rc;                  /* the request's end releases ws */
    res->bytes += out->bytes.len - from;
    wf__access(request, 101);
    request->req.ws.ws = NULL;
    c->ws = ws;
    wf__ws_attach(ws, loop, &c->base);
    return 0;
}

WF__PRIVATE int wf__finish_response(wf__loop *loop, wf__hconn *c, wf__request *request) {
    wf_res *res = &request->res;
    if (request->req.ws.ws && res->status == 101) return wf__ws_switch(loop, c, request);
    if (!res->status) res->status = 200;
    if (res->status == 205) wf__res_drop_body(res);  /* RFC 9110 15.3.6: no content, whatever was set */
    bool head_only = wf__is_head_method(&request->req);
    bool no_body = head_only || res->status < 200 || res->status == 204 || res->status == 304;
    bool close = c->closing || res->close || !request->head.keep_alive || loop->stopping;
    bool chunked =
        res->stream && request->head.minor == 1 && (head_only || !no_body); /* HEAD: GET's headers */
    if (res->stream && request->head.minor == 0 && !no_body) close = true;    /* delimited by close */
    if (close) c->closing = true;
    res->chunked = request->head.minor == 1;
    int rc = wf__write_head(loop, c, request, chunked, close);
    if (rc == 0 && !no_body && res->stream && res->has_body && res->body_len) {
        res->sink = wf__output_of(loop, &c->base);     /* a body set with a stream is its first chunk */
        rc = wf_res_write(res, res->body, res->body_len);
        res->sink = NULL;
    } else if (rc == 0 && !no_body) {
        rc = wf__write_body(loop, c, res);
    }
    if (res->stream && !no_body && rc == 0) {
        wf__stream_begin(request);
        return 0;
    }
    wf__access(request, res->status);
    return rc;
}

/* Answer an error found by the HTTP layer, {"detail": ...}, and close; request (c's) is released. */
WF__PRIVATE void wf__http_error(wf__loop *loop, wf__hconn *c, wf__request *request, int status,
                                const char *why) {
    char body[256];
    size_t n = (size_t)snprintf(body, sizeof body, "{\"detail\":\"%s\"}", why ? why : wf_http_reason(status));
    wf__res_reset(&request->res);
    wf_reply(&request->res, status, "application/json", body, n);
    c->closing = true;
    c->must_linger = true;
    wf__finish_response(loop, c, request);
    wf__request_put(loop, request, false);
    c->request = NULL;
}

/* ---- dispatch: middleware, the router, the handler ---- */

WF_API int wf_use(wf_app *app, wf_middleware_fn fn, void *user) {
    if (!app || !fn) return WF_EINVAL;
    struct wf__app_server *as = &app->server;
    wf__mw *m = (wf__mw *)WF_REALLOC(NULL, as->mws, (size_t)(as->nmw + 1) * sizeof *m);
    if (!m) return WF_ENOMEM;
    m[as->nmw].fn = fn;
    m[as->nmw].user = user;
    as->mws = m;
    as->nmw++;
    return 0;
}

/* No route took the path: 405 with Allow when other methods would, the other form of a trailing
   slash (307) when it matches, else 404. */
WF__PRIVATE void wf__route_missed(wf_req *req, wf_res *res, wf__match *m) {
    char *dec = m->dec;
    size_t n = m->n;
    if (m->found.npartial) {
        wf_buf allow = {0};
        size_t an;
        wf_buf_append(&allow, "Allow: ", 7);
        wf__allow(m->found.partial, m->found.npartial, &allow);
        const char *hdrs[] = {wf__arena_take(req, &allow, &an), NULL};
        wf__error_text(req, res, 405, "Method Not Allowed", hdrs[0] ? hdrs : NULL);
        return;
    }
    if (n > 1) {            /* the other form of the trailing slash (Starlette: rstrip("/") or + "/") */
        bool strip = dec[n - 1] == '/';
        size_t k = n;
        if (strip) {
            while (k > 0 && dec[k - 1] == '/') k--;
        } else {
            dec[k++] = '/';
        }
        wf__params_found other;
        other.n = 0;
        other.npartial = 0;
        /* "//" strips to "", which nothing matches */
        if (k && (wf__match_path(&req->app->router.root, dec + 1, dec + k, wf_req_method(req), &other) ||
                  other.npartial)) {
            wf_str to = {dec, k};
            wf__redirect_slash(req, res, to);
            return;
        }
    }
    wf__error_text(req, res, 404, "Not Found", NULL);
}

/* wf_res_json's body is closed: an unfinished one, or one the writer failed, is a 500, logged. */
WF__PRIVATE void wf__json_close(wf_req *req, wf_res *res) {
    int depth = (int)res->json.depth, err = res->json.err;
    if (wf__res_json_close(res)) return;
    wf_str m = wf_req_method(req);
    wf__logf(req->cfg, WF_LOG_ERROR, "%.*s %s: the JSON body of wf_res_json %s; answered 500",
             (int)WF__MIN(m.len, 16), m.ptr, wf__req_pattern(req),
             err == WF_ENOMEM ? "ran out of memory" : err ? "was misused (NaN, a key out of place...)"
             : depth ? "was left with an object or array open" : "is empty");
}

/* The handler returned without a reply: answered as FastAPI answers a handler returning None (200,
   JSON null), and logged once per route, since it is most likely a forgotten reply. */
WF__PRIVATE void wf__no_reply(wf_req *req, wf_res *res, const wf__route *rt) {
    if (!atomic_exchange(&((wf__route *)(uintptr_t)rt)->said_no_reply, true))
        wf__logf(req->cfg, WF_LOG_WARNING, "%s %s: the handler returned without a reply; answered 200 null, "
                 "as FastAPI answers a handler that returns None (logged once per route)", rt->method,
                 rt->pattern);
    wf_reply(res, 200, "application/json", "null", 4);
}

/* Route the request and run its handler; errors raised by the handler unwind to here. */
WF__PRIVATE void wf__route_request(wf_req *req, wf_res *res) {
    wf__match *m = wf__route_find(req);
    if (!m) wf_fail(req, "out of memory");
    if (!m->node) {
        if (req->ws.handshake) wf__ws_refuse(req, res);
        else wf__route_missed(req, res, m);
        return;
    }
    if (req->dispatch.refused == 503) {        /* a blocking route, and the worker pool is full */
        static const char *const retry[] = {"Retry-After: 1", NULL};
        wf__error_text(req, res, 503, "Service Unavailable", retry);
        return;
    }
    if (req->dispatch.refused) wf_fail(req, "out of memory handing the request to a worker");
    jmp_buf jb, *outer = req->errors.raise;
    req->errors.raise = &jb;
    const wf__route *rt = wf__node_route(m->node, wf__route_method(req));
    for (int i = 0; i < m->found.n; i++) m->found.name[i] = rt->names[i];
    req->ws.opts = rt->ws;
    if (rt->ws && !wf__ws_origin_ok(req)) {
        wf__ws_refuse(req, res);
        return;
    }
    int level = wf__guard_level(req), outer_level = req->errors.raise_level;
    req->errors.raise_level = level;
    if (setjmp(jb) == 0) {
        req->dispatch.pattern = rt->pattern;
        req->dispatch.blocking = rt->blocking;
        wf__group_deps(req, rt->group);     /* FastAPI runs dependencies first */
        rt->handler(req, res);
        wf__guards_unwind(req, level);      /* what the handler still holds, before the 422 */
        wf__json_close(req, res);
        if (rt->ws) wf__ws_settle(req, res);
        else if (!wf_invalid(req) && wf__res_untouched(res)) wf__no_reply(req, res, rt);
        if (wf_invalid(req) && !rt->ws) {
            wf__tasks_drop_all(req);
            wf__answer_invalid(req, res);
        }
    } else {
        wf__guards_unwind(req, level);          /* locks the handler held: before anything else */
        wf__tasks_drop_all(req);                /* it raised: an error's response has no tasks */
        if (wf_invalid(req) && !req->errors.in_handler) {
            /* FastAPI validates before the handler runs: a failed parameter wins over a later raise */
            req->errors.raise = outer;
            req->errors.raise_level = outer_level;
            if (rt->ws) wf__ws_refuse(req, res);
            else wf__answer_invalid(req, res);
        } else if (rt->ws) {
            wf__ws_raised(req, res);            /* wf_ws_deny, or a raise's answer */
        }
    }
    req->errors.raise = outer;
    req->errors.raise_level = outer_level;
}

WF_API void wf_next(wf_req *req, wf_res *res) {
    struct wf__app_server *as = &req->app->server;
    if (req->dispatch.next_mw < as->nmw) {
        wf__mw *m = &as->mws[req->dispatch.next_mw++];
        jmp_buf jb, *outer = req->errors.raise;   /* a raise below returns here, so the middleware */
        req->errors.raise = &jb;                  /* that called wf_next still sees the response */
        int level = wf__guard_level(req), outer_level = req->errors.raise_level;
        req->errors.raise_level = level;
        if (setjmp(jb) == 0) m->fn(req, res, m->user);
        else wf__tasks_drop_all(req);
        wf__guards_unwind(req, level);
        req->errors.raise = outer;
        req->errors.raise_level = outer_level;
    } else if (req->dispatch.next_mw++ == as->nmw) {
        wf__route_request(req, res);
    }
}

/* The middleware chain around the router; a raise outside any handler unwinds to here. */
WF__PRIVATE void wf__app_dispatch(wf_req *req, wf_res *res) {
    jmp_buf jb;
    wf_req *outer = wf__handling;
    wf__handling = req;
    req->errors.raise = &jb;
    req->errors.raise_level = 0;
    if (setjmp(jb) == 0) wf_next(req, res);
    else wf__tasks_drop_all(req);
    wf__guards_unwind(req, 0);
    wf__json_close(req, res);                   /* a middleware's wf_res_json */
    req->errors.raise = NULL;
    wf__handling = outer;
}

/* The request goes to a blocking route, to be handed to the worker pool (matched only when the app
   has such routes; the router then reuses the match). */
WF__PRIVATE bool wf__app_blocks(wf_req *req) {
    wf__match *m = req->app->router.nblocking ? wf__route_find(req) : NULL;
    return m && m->node && wf__node_route(m->node, wf__route_method(req))->blocking;
}

/* ---- blocking routes: a request on a worker ---- */

WF__PRIVATE void wf__work_back(void *arg);

/* The job is over, run or dropped: hand request back to its loop (no allocation: this cannot fail). */
WF__PRIVATE void wf__work_post(wf__request *request) {
    wf__pool_release(request->srv->pool);
    request->back.fn = wf__work_back;
    request->back.arg = request;
    request->back.heap = false;
    wf__loop_post_node(request->loop, &request->back);
}

/* The request whose job this is. */
WF__PRIVATE wf__request *wf__request_of_job(wf__job *job) {
    return (wf__request *)(void *)((char *)job - offsetof(wf__request, job));
}

/* On a worker: middleware, dependencies and handler; the response waits in request for its loop. */
WF__PRIVATE void wf__work_run(wf__job *job) {
    wf__request *request = wf__request_of_job(job);
    if (!atomic_load(&request->orphan))
        wf__app_dispatch(&request->req, &request->res); /* its client may have left */
    wf__work_post(request);
}

WF__PRIVATE void wf__work_drop(wf__job *job) {
    wf__request *request = wf__request_of_job(job);
    wf_str m = wf_req_method(&request->req), path = wf_req_path(&request->req);
    wf__logf(&request->srv->cfg, WF_LOG_WARNING, "blocking request %.*s %.*s dropped at shutdown",
             (int)WF__MIN(m.len, 16), m.ptr, (int)WF__MIN(path.len, 40), path.ptr);
    wf__work_post(request);
}

/* Hand request, a complete request of total bytes, to the pool: its bytes are copied off the connection's
   input, which goes on to the next request. WF_EFULL past max_jobs. */
WF__PRIVATE int wf__work_submit(wf__request *request, size_t total) {
    char *copy = (char *)wf__arena_alloc(&request->req.arena, wf__size_add(total, 1));
    if (!copy) return WF_ENOMEM;
    memcpy(copy, request->req.buf, total);
    request->req.body.ptr = copy + (request->req.body.ptr - request->req.buf);
    request->req.buf = copy;
    wf_req_peer(&request->req);          /* formatted now: a worker never reads the connection */
    if (!wf__pool_reserve(request->srv->pool)) return WF_EFULL;
    request->job.run = wf__work_run;
    request->job.drop = wf__work_drop;
    request->job.urgent = true;          /* before queued tasks: a client waits for it */
    request->phase = WF__P_WORK;
    wf__pool_push(request->srv->pool, &request->job);
    return 0;
}

/* ---- trusted hosts ---- */

/* Is host (a Host value: a name or [v6], maybe with a port) one of cfg's trusted names? */
WF__PRIVATE bool wf__host_trusted(const wf_config *cfg, wf_str host) {
    size_t n = 0;
    if (host.len && host.ptr[0] == '[') {
        while (n < host.len && host.ptr[n] != ']') n++;
        n += n < host.len;
    } else {
        while (n < host.len && host.ptr[n] != ':') n++;
    }
    for (const char *const *t = cfg->trusted_hosts; *t; t++) {
        size_t tl = strlen(*t);
        if (strcmp(*t, "*") == 0 || (tl == n && wf__mem_ieq(host.ptr, *t, n))) return true;
        if ((*t)[0] == '*' && tl > 1 && n >= tl - 1 && wf__mem_ieq(host.ptr + n - (tl - 1), *t + 1, tl - 1))
            return true;    /* "*.example.com": a name ending in ".example.com" (Starlette's rule) */
    }
    return false;
}

/* ---- requests: from bytes to a handler call ---- */

/* Run the handler for the complete request in request (total bytes at buf) and queue its response, or
   hand it to the worker pool (phase WF__P_WORK) if its route is blocking. */
WF__PRIVATE void wf__dispatch(wf__loop *loop, wf__hconn *c, wf__request *request, const char *buf,
                              size_t total) {
    const wf_config *cfg = &request->srv->cfg;
    request->req.buf = buf;
    request->req.body.ptr = buf + request->head_len;
    request->req.body.len =
        request->head.chunked ? request->body_len : (size_t)WF__MAX(request->head.content_length, 0);
    if (cfg->trusted_hosts && !wf__host_trusted(cfg, wf_span_str(buf, request->head.host))) {
        wf_reply_text(&request->res, 400, "Invalid host header");  /* TrustedHostMiddleware's answer */
        if (wf__finish_response(loop, c, request) < 0) c->closing = true;
        return;
    }
    if (wf__ws_wanted(&request->req)) {
        int st = wf__ws_handshake_status(&request->req);
        if (st) {                                   /* refused before routing, as uvicorn does */
            wf_reply_text(&request->res, st, st == 426 ? "Upgrade Required" : "Bad WebSocket handshake");
            if (st == 426) wf_res_add_header(&request->res, "Sec-WebSocket-Version", "13");
            request->res.close = true;
            if (wf__finish_response(loop, c, request) < 0) c->closing = true;
            return;
        }
        request->req.ws.handshake = true;
    }
    if (request->srv->pool && wf__app_blocks(&request->req)) {
        int rc = wf__work_submit(request, total);
        if (rc == 0) return;
        request->req.dispatch.refused = rc == WF_EFULL ? 503 : 500;
    }
    int64_t t0 = wf__mono_us();
    wf__app_dispatch(&request->req, &request->res);
    int64_t took = (wf__mono_us() - t0) / 1000;
    if (took >= cfg->slow_handler_ms && !request->req.dispatch.blocking) {  /* it held the loop: all waited */
        wf_str m = wf_req_method(&request->req);
        const char *route = request->req.dispatch.pattern ? request->req.dispatch.pattern : "(no route)";
        wf__logf(cfg, WF_LOG_WARNING, "%.*s %s held its loop thread for %lld ms", (int)m.len, m.ptr, route,
                 (long long)took);
    }
    if (wf__finish_response(loop, c, request) < 0) {
        wf__logf(cfg, WF_LOG_ERROR, "out of memory writing a response; closing the connection");
        c->closing = true;
    }
}

/* After the head: refuse what the head already rules out, announce 100 Continue. 0 = go on. */
WF__PRIVATE int wf__head_accepted(wf__loop *loop, wf__hconn *c, wf__request *request, size_t have) {
    const wf_config *cfg = &request->srv->cfg;
    wf_http_head *h = &request->head;
    request->phase = WF__P_BODY;
    request->t_head_ms = loop->now_ms;
    /* trailer fields count against the head's limits (what the head left of them) */
    uint32_t mh = cfg->max_header_bytes, mf = cfg->max_headers;
    request->chunked.max_trailer = request->head_len < mh ? mh - (uint32_t)request->head_len : 0;
    request->chunked.max_trailer_fields = h->num_fields < mf ? mf - h->num_fields : 0;
    request->chunked.no_trailers = !request->chunked.max_trailer || !request->chunked.max_trailer_fields;
    if (h->content_length > 0 && (uint64_t)h->content_length > cfg->max_body) {
        wf__http_error(loop, c, request, 413, "Request body too large");
        return -1;
    }
    bool body_due = h->chunked || h->content_length > 0;
    if (h->expect_continue && h->minor == 1 && body_due && have == request->head_len) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        wf__output_copy(wf__output_of(loop, &c->base), cont, sizeof cont - 1);
    }
    return 0;
}

/* Advance the body of request with the bytes of the input after the connection's in_start. Returns the
   request's total length when it is complete, 0 if more is needed, -1 after answering an error.
   A chunked body is decoded in place and the input behind it moved down, so framing never
   accumulates in memory. */
WF__PRIVATE long wf__body_progress(wf__loop *loop, wf__hconn *c, wf__request *request, wf_buf *in) {
    char *buf = in->ptr + c->base.in_start;
    size_t len = in->len - c->base.in_start;
    if (!request->head.chunked) {
        size_t need = request->head_len + (size_t)WF__MAX(request->head.content_length, 0);
        return len >= need ? (long)need : 0;
    }
    size_t dec_at = request->head_len + request->body_len, used = 0, out = 0;
    int rc = wf_http_dechunk(&request->chunked, buf + dec_at, buf + dec_at, len - dec_at, &used, &out);
    if (used > out) {
        memmove(buf + dec_at + out, buf + dec_at + used, len - dec_at - used);
        in->len -= used - out;
    }
    request->body_len += out;
    if (rc == WF_ETOOBIG && request->chunked.trailer_too_big)        /* the trailers: a head, in effect */
        wf__http_error(loop, c, request, 431, "Request header fields too large");
    else if (rc == WF_ETOOBIG)
        wf__http_error(loop, c, request, 413, "Request body too large");
    else if (rc < 0)
        wf__http_error(loop, c, request, 400, "Invalid chunked body");
    if (rc < 0) return -1;
    return rc == 1 ? (long)(request->head_len + request->body_len) : 0;
}

/* Parse and answer every complete request in the connection's input, in order. Returns true if it
   stopped at the output high-water mark with input left (call again once the output drains). */
WF__PRIVATE bool wf__process_input(wf__loop *loop, wf__hconn *c) {
    wf_buf *in = loop->in;
    bool more = false;
    /* closing: finish the request in flight (graceful shutdown), start no new one */
    while ((!c->closing || c->request) && (!c->request || c->request->phase <= WF__P_BODY)) {
        if (wf__output_of(loop, &c->base)->pending > WF__PIPELINE_HIGH_WATER) {
            more = in->len > c->base.in_start;
            break;
        }
        char *buf = in->ptr + c->base.in_start;
        size_t len = in->len - c->base.in_start;
        if (!len) break;
        if (!c->request && !(c->request = wf__request_get(loop, c))) {
            c->closing = true;
            break;
        }
        if (c->base.timer != WF__T_HEAD && c->base.timer != WF__T_BODY) c->base.timer = WF__TIMER_NONE;
        wf__request *request = c->request;
        request->req.buf = buf;
        c->started = true;
        if (request->phase == WF__P_HEAD) {
            int rc = wf_http_parse_head(&request->head, buf, len);
            if (rc == WF_EPARTIAL) break;
            if (rc < 0) {
                wf__http_error(loop, c, request, request->head.status, request->head.error);
                break;
            }
            request->head_len = (size_t)rc;
            if (wf__head_accepted(loop, c, request, len) < 0) break;
        }
        long total = wf__body_progress(loop, c, request, in);
        if (total <= 0) break;
        wf__dispatch(loop, c, request, buf, (size_t)total);
        c->base.in_start += (size_t)total;
        if (c->ws) {                        /* switched: the rest of the input is WebSocket frames */
            c->request = NULL;
            if (request->req.deps.cleanups || request->req.tasks.head) c->ws_request = request;
            else wf__request_put(loop, request, true);
            break;
        }
        if (request->phase > WF__P_BODY) break;      /* a stream, or a worker: the next request waits */
        wf__request_finish(loop, c, request);
        c->request = NULL;
        c->base.timer = WF__TIMER_NONE;  /* the next request, or the idle wait, starts its own clock */
    }
    return more;
}

/* ---- streams ---- */

/* Call the producer while the client keeps up. Returns -1 if it aborted. */
WF__PRIVATE int wf__stream_pump(wf__loop *loop, wf__hconn *c) {
    wf__request *request = c->request;
    wf_res *res = &request->res;
    wf__output *out = wf__output_of(loop, &c->base);
    c->stream_idle = false;
    while (out->pending < WF__STREAM_LOW_WATER) {
        size_t before = out->pending;
        int r = wf__stream_call(loop, c, request);
        if (r < 0) return -1;
        if (r == 0) {
            size_t from = out->bytes.len;
            if (res->chunked &&
                (wf_http_write_last_chunk(&out->bytes) < 0 || wf__output_commit(out, from) < 0))
                return -1;
            res->bytes += out->bytes.len - from;
            wf__access(request, res->status);
            res->stream = NULL;
            wf__request_finish(loop, c, request);
            c->request = NULL;
            c->base.timer = WF__TIMER_NONE;
            return 0;
        }
        if (out->pending == before) {       /* nothing now: try again a little later */
            c->stream_idle = true;
            break;
        }
    }
    return 0;
}

/* ---- the HTTP connection: what the loop calls ---- */

/* Choose the timer and poll events for c's state. */
WF__PRIVATE void wf__http_arm(wf__loop *loop, wf__hconn *c) {
    const wf_config *cfg = loop->shared->cfg;
    wf__request *request = c->request;
    bool streaming = request && request->phase == WF__P_STREAM;
    bool working = request && request->phase == WF__P_WORK;
    bool out = (c->base.out && c->base.out->pending) || (streaming && !c->stream_idle);
    bool partial = request && request->phase <= WF__P_BODY;     /* a request still arriving */
    int t;
    int64_t d;
    if (c->base.lingering) return;
    if (out) {
        t = WF__T_WRITE;
        d = loop->now_ms + cfg->write_timeout_ms;
    } else if (streaming) {
        t = WF__T_RETRY;
        d = loop->now_ms + WF__STREAM_RETRY_MS;
    } else if (working) {
        t = WF__TIMER_NONE;             /* no clock on a handler: it answers or it hangs */
        d = INT64_MAX;
    } else if (request && request->phase == WF__P_HEAD) {
        t = WF__T_HEAD;
        d = request->t_first_us / 1000 + cfg->header_timeout_ms;
    } else if (request) {
        t = WF__T_BODY;
        d = request->t_head_ms + cfg->body_timeout_ms;
    } else {
        t = WF__T_IDLE;
        d = loop->now_ms + (c->started ? cfg->idle_timeout_ms : cfg->header_timeout_ms);
    }
    /* a deadline is set when its phase begins; a write deadline again whenever bytes went out */
    if (t != c->base.timer || (t == WF__T_WRITE && c->wrote)) wf__conn_timer(loop, &c->base, t, d);
    c->wrote = false;
    bool reading = (!out || (!request && c->base.in.len < WF__PIPELINE_HIGH_WATER)) && !c->peer_done &&
                   !working && (!c->closing || partial); /* at shutdown the request in flight is still read */
    wf__conn_watch(loop, &c->base, reading, out);
}

/* Make progress on c: answer requests, pump a stream, write; then stash, arm or close. */
WF__PRIVATE void wf__http_drive(wf__loop *loop, wf__hconn *c) {
    for (int round = 0; round < 64; round++) {
        bool more = false;
        if (c->request && c->request->phase == WF__P_STREAM && wf__stream_pump(loop, c) < 0) goto dead;
        if (!c->request || c->request->phase <= WF__P_BODY) more = wf__process_input(loop, c);
        if (c->ws) {
            wf__ws_event(loop, c->ws, 1);   /* it sends the 101 and reads what followed it */
            return;
        }
        /* as nginx does: no TCP_NODELAY for a lone response before a close, where Nagle cannot delay */
        if (!c->closing || c->request) wf__conn_nodelay(&c->base);
        wf__output *q = wf__output_of(loop, &c->base);
        int fr = wf__output_flush(q, c->base.fd);
        c->wrote = c->wrote || q->sent;
        q->sent = false;
        if (fr < 0) goto dead;
        if (fr == 1) break;
        if (c->done) wf__release_done(loop, c, true);   /* every response so far is sent */
        if (c->request && c->request->phase == WF__P_STREAM) {
            if (c->stream_idle) break;
            continue;
        }
        if (more) continue;                 /* pipelined requests waited for the output to drain */
        if (c->peer_done) {
            if (c->request && c->request->phase <= WF__P_BODY)
                goto dead; /* the peer can no longer finish it */
            c->closing = true;
        }
        if (c->closing && !c->request) {
            /* a clean end closes at once; unread input (a refused body, pipelined requests after
               "Connection: close") is drained first, so a reset cannot destroy the response */
            if (!c->must_linger && loop->in->len == c->base.in_start) goto dead;
            if (wf__conn_stash(loop, &c->base) < 0) goto dead;
            wf__conn_linger(loop, &c->base);
            return;
        }
        break;
    }
    if (wf__conn_stash(loop, &c->base) < 0) goto dead;
    wf__http_arm(loop, c);
    return;
dead:     /* or done */
    wf__conn_drop_scratch(loop);
    wf__conn_close(loop, &c->base);
}

/* The loop read c (nread: bytes, 0 at end of stream, or WF__READ_*), or found it writable. */
WF__PRIVATE void wf__http_event(wf__loop *loop, wf__conn *conn, long r, short rev) {
    wf__hconn *c = (wf__hconn *)(void *)conn;
    if (c->ws) {
        wf__ws_event(loop, c->ws, r);
        return;
    }
    bool partial = c->request && c->request->phase <= WF__P_BODY;
    bool unread = loop->in->len > conn->in_start;
    bool sending = (conn->out && conn->out->pending) || c->request || unread;
    if (r == WF__READ_FULL && partial) {
        c->request->req.buf = loop->in->ptr + conn->in_start;
        wf__http_error(loop, c, c->request, 413, "Request too large");
    } else if (r == WF__READ_ERROR || r == WF__READ_FULL ||
               (r == 0 && (partial || !sending || (rev & (POLLHUP | POLLERR))))) {
        /* an error, the peer left mid-request or idle, or it is gone both ways (a reset after
           its FIN reads as end of stream, and the hang-up would be reported again and again) */
        wf__conn_close(loop, conn);
        return;
    } else if (r == 0) {
        c->peer_done = true;            /* answer the complete requests it sent, then close */
    }
    wf__http_drive(loop, c);
}

WF__PRIVATE void wf__http_timeout(wf__loop *loop, wf__conn *conn, int timer) {
    wf__hconn *c = (wf__hconn *)(void *)conn;
    if (c->ws) {
        wf__ws_timeout(loop, c->ws);
        return;
    }
    if (timer == WF__T_RETRY) {         /* a stream producer asked to be called again */
        wf__conn_input(loop, conn);
        wf__http_drive(loop, c);
        return;
    }
    if ((timer == WF__T_HEAD || timer == WF__T_BODY) && c->request) {
        wf__conn_input(loop, conn);
        c->request->req.buf = loop->in->ptr + conn->in_start;
        wf__http_error(loop, c, c->request, 408, "Request timeout");
        wf__http_drive(loop, c);
        return;
    }
    wf__conn_close(loop, conn);
}

/* The connection is closing: cleanups run when the client goes away too. */
WF__PRIVATE void wf__http_closed(wf__loop *loop, wf__conn *conn) {
    wf__hconn *c = (wf__hconn *)(void *)conn;
    if (c->ws) {                        /* on_close, then the handshake's cleanups */
        wf__ws_ended(c->ws);
        c->ws = NULL;
        if (c->ws_request) wf__request_put(loop, c->ws_request, true);
        c->ws_request = NULL;
    }
    wf__release_done(loop, c, false);
    if (c->request && c->request->phase == WF__P_WORK)
        atomic_store(&c->request->orphan, true); /* its worker frees it */
    else if (c->request) wf__request_put(loop, c->request, false);
    c->request = NULL;
}

WF__PRIVATE void wf__http_stopping(wf__loop *loop, wf__conn *conn) {
    wf__hconn *c = (wf__hconn *)(void *)conn;
    if (c->ws) {
        wf__ws_shutdown(c->ws);
        return;
    }
    if (!c->request && !(conn->out && conn->out->pending)) wf__conn_close(loop, conn);
    else c->closing = true;
}

/* The grace period is over: a blocking request no worker has started gets its 503 (as when the pool is
   full); one running keeps its worker, but its connection closes without an answer. */
WF__PRIVATE void wf__http_expired(wf__loop *loop, wf__conn *conn) {
    wf__hconn *c = (wf__hconn *)(void *)conn;
    wf__request *request = c->request;
    if (!request || request->phase != WF__P_WORK || !wf__pool_cancel(request->srv->pool, &request->job))
        return;
    wf__pool_release(request->srv->pool);
    wf_str m = wf_req_method(&request->req), path = wf_req_path(&request->req);
    wf__logf(&request->srv->cfg, WF_LOG_WARNING,
             "blocking request %.*s %.*s not started within the shutdown grace period: 503",
             (int)WF__MIN(m.len, 16), m.ptr, (int)WF__MIN(path.len, 40), path.ptr);
    wf__conn_input(loop, conn);
    request->phase = WF__P_BODY;
    wf__http_error(loop, c, request, 503, "Service Unavailable");
    wf__output_flush(wf__output_of(loop, conn), conn->fd);     /* once: the loop closes it next */
    wf__conn_drop_scratch(loop);
}

/* The hooks the loops of a server are given: the only way the loop reaches the HTTP code above it. */
static const wf__loop_hooks wf__http_hooks = {
    .conn_size = sizeof(wf__hconn),
    .event = wf__http_event,
    .timeout = wf__http_timeout,
    .closed = wf__http_closed,
    .stopping = wf__http_stopping,
    .expired = wf__http_expired,
};

/* On the loop: send what the worker made, then go on with the connection's next requests. */
WF__PRIVATE void wf__work_back(void *arg) {
    wf__request *request = (wf__request *)arg;
    wf__loop *loop = request->loop;
    wf__hconn *c = request->conn;
    /* the connection has gone: only the cleanups are left. A job that did not run (skipped, or
       dropped at shutdown, after every connection closed) is always such an orphan. */
    if (atomic_load(&request->orphan)) {
        wf__access(request, 499);            /* nginx's "client closed request", in the access log only */
        wf__request_put(loop, request, false);
        return;
    }
    wf__conn_input(loop, &c->base);
    request->phase = WF__P_BODY;
    if (wf__finish_response(loop, c, request) < 0) {
        wf__logf(&request->srv->cfg, WF_LOG_ERROR,
                 "out of memory writing a response; closing the connection");
        c->closing = true;
    }
    if (request->phase != WF__P_STREAM) {
        wf__request_finish(loop, c, request);
        c->request = NULL;
        c->base.timer = WF__TIMER_NONE;
    }
    wf__http_drive(loop, c);
}

/* ---- the app ---- */

WF_API wf_app *wf_app_new(void) {
    wf_app *app = (wf_app *)WF_MALLOC(NULL, sizeof *app);
    if (!app) return NULL;
    memset(app, 0, sizeof *app);
    if (wf__router_init(&app->router, &app->root, app) < 0) {
        WF_FREE(NULL, app);
        return NULL;
    }
    atomic_init(&app->server.running, NULL);
    wf__deps_app_init(app);
    return app;
}

WF_API void wf_app_free(wf_app *app) {
    if (!app) return;
    wf__deps_app_free(app);
    wf__params_app_free(app);
    wf__router_free(&app->router, &app->root);
    WF_FREE(NULL, app->server.mws);
    WF_FREE(NULL, app->errs);
    WF_FREE(NULL, app);
}

/* ---- the server: threads, start and stop ---- */

WF__PRIVATE void wf__server_free(wf__server *s) {
    /* after the loops: their last responses queued tasks; the pool's hand-backs run in loop_free */
    if (s->pool) {
        long long at = atomic_load(&s->shared.stop_at_ms);
        wf__pool_stop(s->pool, (at ? at : wf__mono_us() / 1000) + s->cfg.shutdown_grace_ms);
    }
    for (int i = 0; i < s->nloops; i++) wf__loop_free(&s->loops[i]);
    wf__reserve_free(&s->shared);
    for (int i = 0; i < s->nloops; i++)
        while (s->hloops[i].free_requests) {
            wf__request *n = s->hloops[i].free_requests->next;
            wf__request_destroy(s->hloops[i].free_requests);
            s->hloops[i].free_requests = n;
        }
    wf__pool_free(s->pool);
    WF_FREE(NULL, s->loops);
    WF_FREE(NULL, s->hloops);
    WF_FREE(NULL, s);
}

/* A server for app with its loops set up (listening on port, or not at all if port < 0), no threads. */
WF__PRIVATE int wf__server_new(wf_app *app, const wf_config *cfg, int port, wf__server **out) {
    wf__server *s = (wf__server *)WF_MALLOC(NULL, sizeof *s);
    int rc = 0;
    if (!s) return WF_ENOMEM;
    memset(s, 0, sizeof *s);
    if (cfg) s->cfg = *cfg;
    wf__config_defaults(&s->cfg, &s->threads_why);
    if (port >= 0) wf__fd_limit(&s->cfg);
    else s->cfg.threads = 1;
    s->app = app;
    if ((rc = wf__router_refuses(&app->router, &s->cfg, port < 0 ? "wf_test_client_new" : "wf_start")) < 0) {
        WF_FREE(NULL, s);
        return rc;
    }
    s->shared.cfg = &s->cfg;
    s->shared.hooks = &wf__http_hooks;
    wf__reserve_init(&s->shared);
    s->loops = (wf__loop *)WF_MALLOC(NULL, (size_t)s->cfg.threads * sizeof *s->loops);
    s->hloops = (wf__hloop *)WF_MALLOC(NULL, (size_t)s->cfg.threads * sizeof *s->hloops);
    if (!s->loops || !s->hloops) {
        WF_FREE(NULL, s->loops);
        WF_FREE(NULL, s->hloops);
        WF_FREE(NULL, s);
        return WF_ENOMEM;
    }
    memset(s->hloops, 0, (size_t)s->cfg.threads * sizeof *s->hloops);
    for (int i = 0; i < s->cfg.threads; i++) s->hloops[i].srv = s;
    for (int i = 0; i < s->cfg.threads && rc == 0; i++) {
        rc = wf__loop_init(&s->loops[i], &s->shared, &s->hloops[i], port);
        s->nloops = i + 1;
        if (rc == 0 && port == 0) port = wf__bound_port(s->loops[i].listen_fd);
    }
    s->port = port;
    if (rc < 0) wf__server_free(s);
    else *out = s;
    return rc;
}

WF_API int wf_start(wf_app *app, const wf_config *cfg) {
    wf__server *s, *none = NULL;
    if (!app) return WF_EINVAL;
    if (atomic_load(&app->server.running)) return WF_EBUSY;     /* before any listener or worker exists */
    int port = cfg && cfg->port == WF_PORT_ANY ? 0 : cfg ? wf__def(cfg->port, 8000) : 8000;
    int rc = wf__server_new(app, cfg, port, &s);
    if (rc < 0) return rc;
    port = s->port;
    if (!(s->pool = wf__pool_start(s->cfg.workers, s->cfg.max_jobs))) {
        wf__server_free(s);
        return WF_ESYS;
    }
    if (!atomic_compare_exchange_strong(&app->server.running, &none, s)) rc = WF_EBUSY;
    for (int i = 0; i < s->nloops && rc == 0; i++) {
        if (pthread_create(&s->loops[i].thread, NULL, wf__loop_main, &s->loops[i]) == 0) continue;
        atomic_store(&s->shared.stop, 1);
        for (int k = 0; k < i; k++) pthread_join(s->loops[k].thread, NULL);
        atomic_store(&app->server.running, NULL);
        rc = WF_ESYS;
    }
    if (rc < 0) {
        wf__server_free(s);
        return rc;
    }
    return port;
}

/* The server running app, for a call from any thread: NULL, or a server wf_wait will not free
   before wf__server_unref. The count goes up before the pointer is read, and wf_wait clears the
   pointer before it reads the count (both sequentially consistent): either the caller sees no
   server, or wf_wait sees the caller and waits for it. Lock-free, so also safe in a signal handler. */
WF__PRIVATE wf__server *wf__server_ref(wf_app *app) {
    atomic_fetch_add(&app->server.callers, 1);
    wf__server *s = atomic_load(&app->server.running);
    if (!s) atomic_fetch_sub(&app->server.callers, 1);
    return s;
}

WF__PRIVATE void wf__server_unref(wf_app *app) { atomic_fetch_sub(&app->server.callers, 1); }

WF_API void wf_stop(wf_app *app) {
    if (!app) return;
    wf__server *s = wf__server_ref(app);
    if (!s) return;
    long long none = 0;
    atomic_compare_exchange_strong(&s->shared.stop_at_ms, &none, (long long)(wf__mono_us() / 1000));
    atomic_store(&s->shared.stop, 1);
    for (int i = 0; i < s->nloops; i++) wf__loop_wake(&s->loops[i]);
    wf__server_unref(app);
}

WF_API int wf_run_on_loop(wf_app *app, void (*fn)(void *arg), void *arg) {
    if (!app || !fn) return WF_EINVAL;
    wf__server *s = wf__server_ref(app);
    if (!s) return WF_EINVAL;
    unsigned turn = (unsigned)atomic_fetch_add(&s->post_turn, 1);
    int rc = wf__loop_post(&s->loops[turn % (unsigned)s->nloops], fn, arg);
    wf__server_unref(app);
    return rc;
}

WF_API int wf_wait(wf_app *app) {
    wf__server *s = app ? atomic_load(&app->server.running) : NULL;
    if (!s) return WF_EINVAL;
    for (int i = 0; i < s->nloops; i++) pthread_join(s->loops[i].thread, NULL);
    atomic_store(&app->server.running, NULL);
    while (atomic_load(&app->server.callers) > 0) sched_yield();   /* a few instructions each */
    wf__server_free(s);                 /* requests and tasks are over ... */
    wf__app_shutdown(app);              /* ... then the app-scoped values go */
    return 0;
}

/* ---- wf_run's SIGINT/SIGTERM handling ----
   The one global state of the header, as signal dispositions are the process's: the apps served by
   a wf_run with signals (a SIGINT or SIGTERM stops them all), the previous handlers (put back when
   the last such wf_run returns), and the handlers in flight. The handler is lock-free; the rest
   runs under a mutex. SA_RESTART: the stop reaches the loops through their wake-up descriptors, so
   nothing needs the EINTR; without it, the signal would make a blocking handler's read() or
   connect() on a worker thread fail with EINTR, which handler code rarely retries. */
#define WF__SIGNAL_APPS 64
static _Atomic(wf_app *) wf__signal_apps[WF__SIGNAL_APPS];
static atomic_int wf__signal_inflight;
static pthread_mutex_t wf__signal_mu = PTHREAD_MUTEX_INITIALIZER;
static int wf__signal_users;
static struct sigaction wf__signal_old[2];
static const int wf__signal_nums[2] = {SIGINT, SIGTERM};

WF__PRIVATE void wf__on_signal(int sig) {
    int saved = errno;
    (void)sig;
    atomic_fetch_add(&wf__signal_inflight, 1);   /* before the slots are read: see wf__signals_off */
    for (int i = 0; i < WF__SIGNAL_APPS; i++) {
        wf_app *app = atomic_load(&wf__signal_apps[i]);
        if (!app) continue;
        atomic_store(&app->server.signalled, true);  /* for a wf_run whose server does not exist yet */
        wf_stop(app);
    }
    atomic_fetch_sub(&wf__signal_inflight, 1);
    errno = saved;
}

/* Let a SIGINT or SIGTERM stop app; the first app installs the handlers. */
WF__PRIVATE int wf__signals_on(wf_app *app) {
    int rc = WF_EBUSY;
    pthread_mutex_lock(&wf__signal_mu);
    for (int i = 0; i < WF__SIGNAL_APPS && rc < 0; i++) {
        wf_app *none = NULL;
        if (atomic_compare_exchange_strong(&wf__signal_apps[i], &none, app)) rc = 0;
    }
    if (rc == 0 && wf__signal_users++ == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = wf__on_signal;
        sa.sa_flags = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        for (int k = 0; k < 2; k++) sigaddset(&sa.sa_mask, wf__signal_nums[k]);
        for (int k = 0; k < 2; k++) sigaction(wf__signal_nums[k], &sa, &wf__signal_old[k]);
    }
    pthread_mutex_unlock(&wf__signal_mu);
    return rc;
}

/* No signal stops app any more; once no handler can still be reading it (the counter goes up before
   a handler reads the slots), it may be freed. The last app puts the previous handlers back. */
WF__PRIVATE void wf__signals_off(wf_app *app) {
    pthread_mutex_lock(&wf__signal_mu);
    for (int i = 0; i < WF__SIGNAL_APPS; i++) {
        wf_app *mine = app;
        if (atomic_compare_exchange_strong(&wf__signal_apps[i], &mine, NULL)) break;
    }
    while (atomic_load(&wf__signal_inflight) > 0) sched_yield();
    if (--wf__signal_users == 0)
        for (int k = 0; k < 2; k++) sigaction(wf__signal_nums[k], &wf__signal_old[k], NULL);
    pthread_mutex_unlock(&wf__signal_mu);
}

WF_API int wf_run(wf_app *app, const wf_config *cfg) {
    bool sigs = !(cfg && cfg->no_signals);
    int rc;
    if (!app) return WF_EINVAL;
    atomic_store(&app->server.signalled, false);
    if (sigs && (rc = wf__signals_on(app)) < 0) {      /* before any connection is accepted */
        wf_config c = cfg ? *cfg : (wf_config){0};
        c.log = wf__def(c.log, wf__log_stderr);
        wf__logf(&c, WF_LOG_ERROR, "wf_run: more than %d apps handle signals", WF__SIGNAL_APPS);
        return rc;
    }
    int port = wf_start(app, cfg);
    if (port >= 0 && atomic_load(&app->server.signalled)) wf_stop(app);   /* it came during wf_start */
    if (port >= 0) {
        wf__server *s = atomic_load(&app->server.running);
        wf__logf(&s->cfg, WF_LOG_INFO, "listening on http://%s:%d (%d loop threads: %s)", s->cfg.host,
                 port, s->nloops, s->threads_why);
    }
    rc = port < 0 ? port : wf_wait(app);
    if (sigs) wf__signals_off(app);
    return rc;
}

/* ======================================================================
 * >>testing  The forked test harness
 * ====================================================================== */
#ifndef WF_NO_TESTING
#include <fnmatch.h>

typedef struct wf__test {
    const char *name, *file;
    int line;
    wf_test_fn fn;
} wf__test;

/* The documented global: tests register themselves here before main() runs. */
static struct {
    wf__test *v;
    int n, cap;
} wf__tests;

/* The state of the test running in this process. */
static struct {
    jmp_buf jmp;
    bool failed, skipped, active;
} wf__cur;

enum { WF__EXIT_PASS = 0, WF__EXIT_FAIL = 1, WF__EXIT_SKIP = 77 };

WF_API void wf_test_register(const char *name, wf_test_fn fn, const char *file, int line) {
    if (wf__tests.n == wf__tests.cap) {
        int cap = wf__tests.cap ? wf__tests.cap * 2 : 64;
        wf__test *v = (wf__test *)realloc(wf__tests.v, (size_t)cap * sizeof *v);
        if (!v) abort();
        wf__tests.v = v;
        wf__tests.cap = cap;
    }
    wf__test *t = &wf__tests.v[wf__tests.n++];
    t->name = name;
    t->fn = fn;
    t->file = file;
    t->line = line;
}

WF_API void wf_test_log(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
}

WF__PRIVATE void wf__test_fail_now(bool fatal) {
    wf__cur.failed = true;
    fflush(stdout);
    if (fatal && wf__cur.active) longjmp(wf__cur.jmp, 1);
}

WF_API bool wf_test_failed(void) { return wf__cur.failed; }

WF_API void wf_test_skip(const char *why) {
    printf("  skipped: %s\n", why ? why : "");
    wf__cur.skipped = true;
    fflush(stdout);
    if (wf__cur.active) longjmp(wf__cur.jmp, 1);
}

WF_API bool wf__check_int(const char *file, int line, const char *expr, long long a, long long b, int op,
                          const char *sa, const char *sb, bool fatal) {
    bool ok = op == WF__OP_EQ ? a == b : op == WF__OP_NE ? a != b : op == WF__OP_LT ? a < b
            : op == WF__OP_LE ? a <= b : op == WF__OP_GT ? a > b : a >= b;
    if (ok) return true;
    printf("%s:%d: Failure\n  expected: %s\n  left:  %s => %lld\n  right: %s => %lld\n", file, line, expr,
           sa, a, sb, b);
    wf__test_fail_now(fatal);
    return false;
}

WF__PRIVATE void wf__print_quoted(const char *p, size_t n) {
    if (!p) {
        printf("(null)");
        return;
    }
    putchar('"');
    for (size_t i = 0; i < n && i < 2000; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch == '\\' || ch == '"') printf("\\%c", ch);
        else if (ch >= 0x20 && ch < 0x7f) putchar(ch);
        else if (ch == '\n') printf("\\n");
        else if (ch == '\r') printf("\\r");
        else printf("\\x%02x", ch);
    }
    printf(n > 2000 ? "\"... (%zu bytes)" : "\"", n);
}

WF_API bool wf__check_str(const char *file, int line, const char *sa, const char *sb, const char *a,
                          size_t alen, const char *b, size_t blen, bool eq, bool fatal) {
    if (a && alen == (size_t)-1) alen = strlen(a);
    if (b && blen == (size_t)-1) blen = strlen(b);
    bool same = (!a || !b) ? a == b : (alen == blen && memcmp(a, b, alen) == 0);
    if (same == eq) return true;
    printf("%s:%d: Failure\n  expected: %s %s %s\n  left:  ", file, line, sa, eq ? "==" : "!=", sb);
    wf__print_quoted(a, alen);
    printf("\n  right: ");
    wf__print_quoted(b, blen);
    printf("\n");
    wf__test_fail_now(fatal);
    return false;
}

WF_API bool wf__check_true(const char *file, int line, const char *expr, bool v, bool want, bool fatal) {
    if (v == want) return true;
    printf("%s:%d: Failure\n  expected: %s to be %s\n", file, line, expr, want ? "true" : "false");
    wf__test_fail_now(fatal);
    return false;
}

/* Run test t in this process; returns a WF__EXIT_* code. */
WF__PRIVATE int wf__test_run_here(const wf__test *t) {
    wf__cur.failed = wf__cur.skipped = false;
    wf__cur.active = true;
    if (setjmp(wf__cur.jmp) == 0) t->fn();
    wf__cur.active = false;
    fflush(stdout);
    return wf__cur.skipped ? WF__EXIT_SKIP : wf__cur.failed ? WF__EXIT_FAIL : WF__EXIT_PASS;
}

WF__PRIVATE const char *wf__signame(int sig) {
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGABRT: return "SIGABRT";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGKILL: return "SIGKILL";
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    case SIGPIPE: return "SIGPIPE";
    case SIGALRM: return "SIGALRM";
    case SIGTRAP: return "SIGTRAP";
    default: return "signal";
    }
}

typedef struct wf__test_job {
    const wf__test *t;
    pid_t pid;
    FILE *out;
    int64_t start_ms;
} wf__test_job;

typedef struct wf__run {
    int timeout_ms, jobs;
    bool fork, list;
    const char *filter;
    int passed, failed, skipped;
} wf__run;

WF__PRIVATE int64_t wf__now_ms(void) { return wf__mono_us() / 1000; }

WF__PRIVATE void wf__job_start(wf__test_job *j, const wf__test *t) {
    fflush(stdout);
    fflush(stderr);
    j->t = t;
    j->out = tmpfile();
    j->start_ms = wf__now_ms();
    j->pid = fork();
    if (j->pid == 0) {
        setpgid(0, 0);
        if (j->out) {
            dup2(fileno(j->out), 1);
            dup2(fileno(j->out), 2);
        }
        setvbuf(stdout, NULL, _IONBF, 0);
        exit(wf__test_run_here(t));
    }
    if (j->pid > 0) setpgid(j->pid, j->pid);
}

/* Print a finished job's output and verdict; count it. */
WF__PRIVATE void wf__job_report(wf__run *r, wf__test_job *j, int status, bool timed_out) {
    int64_t ms = wf__now_ms() - j->start_ms;
    if (j->out) {
        char buf[4096];
        size_t n;
        fflush(j->out);
        rewind(j->out);
        while ((n = fread(buf, 1, sizeof buf, j->out)) > 0) fwrite(buf, 1, n, stdout);
        fclose(j->out);
    }
    const char *name = j->t->name;
    if (timed_out) {
        printf("[ TIME ] %s (killed after %d ms)\n", name, r->timeout_ms);
        r->failed++;
    } else if (WIFSIGNALED(status)) {
        printf("[CRASH ] %s (%s)\n", name, wf__signame(WTERMSIG(status)));
        r->failed++;
    } else if (WEXITSTATUS(status) == WF__EXIT_PASS) {
        printf("[  OK  ] %s (%lld ms)\n", name, (long long)ms);
        r->passed++;
    } else if (WEXITSTATUS(status) == WF__EXIT_SKIP) {
        printf("[ SKIP ] %s\n", name);
        r->skipped++;
    } else {
        printf("[ FAIL ] %s (%s:%d, exit %d)\n", name, j->t->file, j->t->line, WEXITSTATUS(status));
        r->failed++;
    }
    fflush(stdout);
    j->pid = 0;
}

/* Reap finished jobs and kill the process groups of those past the timeout. */
WF__PRIVATE int wf__jobs_poll(wf__run *r, wf__test_job *jobs, int n) {
    int running = 0;
    for (int i = 0; i < n; i++) {
        wf__test_job *j = &jobs[i];
        if (j->pid <= 0) continue;
        int status = 0;
        pid_t w = waitpid(j->pid, &status, WNOHANG);
        bool late = wf__now_ms() - j->start_ms > r->timeout_ms;
        if (w == 0 && late) {
            kill(-j->pid, SIGKILL);
            waitpid(j->pid, &status, 0);
        }
        if (w == j->pid || late) {
            kill(-j->pid, SIGKILL);    /* whatever the test left behind */
            wf__job_report(r, j, status, w == 0 && late);
        } else {
            running++;
        }
    }
    return running;
}

WF__PRIVATE bool wf__test_selected(const wf__run *r, const char *name) {
    if (!r->filter || !*r->filter) return true;
    if (strchr(r->filter, '*') || strchr(r->filter, '?')) return fnmatch(r->filter, name, 0) == 0;
    return strstr(name, r->filter) != NULL;
}

WF__PRIVATE bool wf__under_debugger(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    bool traced = false;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "TracerPid:", 10) == 0) traced = atoi(line + 10) != 0;
    if (f) fclose(f);
    return traced;
}

WF__PRIVATE int wf__test_args(wf__run *r, int argc, char **argv) {
    r->timeout_ms = 10000;
    r->jobs = 1;
    r->fork = !wf__under_debugger();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--filter=", 9) == 0) r->filter = a + 9;
        else if (strcmp(a, "--list") == 0) r->list = true;
        else if (strcmp(a, "--no-fork") == 0) r->fork = false;
        else if (strncmp(a, "--timeout=", 10) == 0) r->timeout_ms = atoi(a + 10);
        else if (strcmp(a, "-j") == 0 && i + 1 < argc) r->jobs = atoi(argv[++i]);
        else if (strncmp(a, "-j", 2) == 0 && a[2]) r->jobs = atoi(a + 2);
        else {
            fprintf(stderr, "usage: %s [--filter=PATTERN] [--list] [--no-fork] [--timeout=MS] [-j N]\n",
                    argv[0]);
            return -1;
        }
    }
    if (r->jobs < 1) r->jobs = 1;
    if (r->timeout_ms <= 0) r->timeout_ms = 10000;
    return 0;
}

WF__PRIVATE void wf__run_forked(wf__run *r) {
    wf__test_job *jobs = (wf__test_job *)calloc((size_t)r->jobs, sizeof *jobs);
    int next = 0;
    if (!jobs) abort();
    for (;;) {
        for (int i = 0; i < r->jobs && next < wf__tests.n; i++) {
            if (jobs[i].pid > 0) continue;
            while (next < wf__tests.n && !wf__test_selected(r, wf__tests.v[next].name)) next++;
            if (next < wf__tests.n) wf__job_start(&jobs[i], &wf__tests.v[next++]);
            if (jobs[i].pid < 0) wf__job_report(r, &jobs[i], 1 << 8, false);
        }
        int running = wf__jobs_poll(r, jobs, r->jobs);
        if (!running && next >= wf__tests.n) break;
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
    free(jobs);
}

/* ---- the test client ---- */

struct wf_test_client {
    wf__server *srv;
};

WF_API wf_test_client *wf_test_client_new(wf_app *app, const wf_config *cfg) {
    wf_config c;
    wf_test_client *tc = (wf_test_client *)WF_MALLOC(NULL, sizeof *tc);
    if (!tc) return NULL;
    if (cfg) c = *cfg;
    else {
        memset(&c, 0, sizeof c);
        c.no_access_log = true;
    }
    if (wf__server_new(app, &c, -1, &tc->srv) < 0) {
        WF_FREE(NULL, tc);
        return NULL;
    }
    wf__loop_tick(&tc->srv->loops[0]);
    tc->srv->loops[0].owner = pthread_self();      /* it runs the loop: its calls drive it */
    return tc;
}

WF_API void wf_test_client_free(wf_test_client *tc) {
    if (!tc) return;
    wf_app *app = tc->srv->app;
    wf__loop *loop = &tc->srv->loops[0];
    while (loop->n > 2) wf__conn_close(loop, loop->conns[2]);     /* WebSockets left open */
    wf__conn_bury(loop);
    wf__server_free(tc->srv);
    wf__app_shutdown(app);              /* as leaving `with TestClient(app)` runs the shutdown */
    WF_FREE(NULL, tc);
}

/* The request's bytes. */
WF__PRIVATE int wf__test_build(const wf_test_req *rq, wf_buf *b) {
    const char *path = rq->path ? rq->path : "/", *body = (const char *)rq->body;
    size_t blen = rq->body_len;
    bool host = false;
    int rc = wf_buf_printf(b, "%s %s%s%s HTTP/1.%d\r\n", rq->method ? rq->method : "GET", path,
                           rq->query ? (strchr(path, '?') ? "&" : "?") : "", rq->query ? rq->query : "",
                           rq->http10 ? 0 : 1);
    for (const char *const *h = rq->headers; h && *h && rc == 0; h++) {
        host = host || (strlen(*h) >= 5 && wf__mem_ieq(*h, "host:", 5));
        rc = wf_buf_printf(b, "%s\r\n", *h);
    }
    if (!host && rc == 0) rc = wf_buf_printf(b, "Host: testserver\r\n");
    if (rq->json) {
        body = rq->json;
        blen = strlen(rq->json);
        rc |= wf_buf_printf(b, "Content-Type: application/json\r\n");
    }
    if (rq->form) {
        body = rq->form;
        blen = strlen(rq->form);
        rc |= wf_buf_printf(b, "Content-Type: application/x-www-form-urlencoded\r\n");
    }
    if (rq->chunked) rc |= wf_buf_printf(b, "Transfer-Encoding: chunked\r\n\r\n%zx\r\n", blen);
    else if (body) rc |= wf_buf_printf(b, "Content-Length: %zu\r\n\r\n", blen);
    else rc |= wf_buf_printf(b, "\r\n");
    if (body) rc |= wf_buf_append(b, body, blen);
    if (rq->chunked) rc |= wf_buf_printf(b, blen ? "\r\n0\r\n\r\n" : "\r\n");
    return rc ? WF_ENOMEM : 0;
}

/* Parse the response in b[0..len) (closed: the server has closed). 1 when complete, 0 if not. */
WF__PRIVATE int wf__test_parse(const char *b, size_t len, bool closed, bool head_only, wf_test_res *res) {
    const char *p = b, *end = b + len;
    for (;;) {                  /* skip 1xx answers */
        const char *e = NULL;
        for (const char *q = p; q + 3 < end && !e; q++)
            if (memcmp(q, "\r\n\r\n", 4) == 0) e = q + 4;
        if (!e) return 0;
        int status = (e - p > 12 && memcmp(p, "HTTP/1.1 ", 9) == 0) ? atoi(p + 9) : -1;
        if (status >= 100 && status < 200) {
            p = e;
            continue;
        }
        wf_test_res tmp = {status, wf__strndup(p, (size_t)(e - p)), NULL, 0, NULL};
        wf_str te = wf_test_header(&tmp, "Transfer-Encoding"), cl = wf_test_header(&tmp, "Content-Length");
        wf_buf body = {0};
        int done = 0;
        if (head_only || status == 204 || status == 304) {
            done = 1;
        } else if (te.ptr) {
            wf_http_chunked chunked;
            size_t used = 0, out = 0;
            char *copy = wf__strndup(e, (size_t)(end - e));
            memset(&chunked, 0, sizeof chunked);
            done = copy && wf_http_dechunk(&chunked, copy, copy, (size_t)(end - e), &used, &out) == 1;
            if (done) wf_buf_append(&body, copy, out);
            WF_FREE(NULL, copy);
        } else if (cl.ptr) {
            size_t n = (size_t)strtoull(cl.ptr, NULL, 10);
            done = (size_t)(end - e) >= n;
            if (done) wf_buf_append(&body, e, n);
        } else {
            done = closed;
            if (done) wf_buf_append(&body, e, (size_t)(end - e));
        }
        if (!done) {
            WF_FREE(NULL, tmp.head);
            wf_buf_free(&body);
            return 0;
        }
        tmp.body = (char *)wf_buf_cstr(&body);
        tmp.body_len = body.len;
        *res = tmp;
        return 1;
    }
}

/* The test client's server end with descriptor fd, or NULL once it has closed. */
WF__PRIVATE wf__conn *wf__test_conn(wf__loop *loop, int fd) {
    for (uint32_t i = 2; i < loop->n; i++)
        if (loop->conns[i]->fd == fd) return loop->conns[i];
    return NULL;
}

/* Move bytes between the client end and the server (end srv) until the response is complete. */
WF__PRIVATE int wf__test_exchange(wf__loop *loop, int fd, int srv, const wf_buf *req, bool head_only,
                                  wf_test_res *res) {
    size_t sent = 0;
    wf_buf in = {0};
    int rc = WF_EPARTIAL, idle = 0;
    for (int round = 0; round < 1000000 && rc == WF_EPARTIAL; round++) {
        bool progress = false, closed = false;
        ssize_t n;
        if (sent < req->len &&
            (n = send(fd, req->ptr + sent, req->len - sent, MSG_NOSIGNAL | MSG_DONTWAIT)) > 0) {
            sent += (size_t)n;
            progress = true;
        }
        wf__conn *c = wf__test_conn(loop, srv);
        if (c) wf__conn_event(loop, c, POLLIN | POLLOUT);
        for (;;) {
            if (wf_buf_reserve(&in, 65536) < 0) return WF_ENOMEM;
            n = recv(fd, in.ptr + in.len, 65536, MSG_DONTWAIT);
            if (n <= 0) {
                closed = n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
                break;
            }
            in.len += (size_t)n;
            progress = true;
        }
        idle = progress ? 0 : idle + 1;
        if (wf__test_parse(in.ptr, in.len, closed, head_only, res)) rc = 0;
        else if (closed || idle > 1000) rc = WF_EPARSE;     /* the server will not finish it */
    }
    wf_buf_free(&in);
    return rc;
}

WF_API int wf_test_request(wf_test_client *tc, const wf_test_req *rq, wf_test_res *res) {
    wf__loop *loop = &tc->srv->loops[0];
    wf_buf req = {0};
    int sv[2], rc;
    memset(res, 0, sizeof *res);
    res->status = -1;
    if ((rc = wf__test_build(rq, &req)) < 0) return rc;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
        wf_buf_free(&req);
        return WF_ESYS;
    }
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    ss.ss_family = AF_UNIX;
    wf__loop_tick(loop);
    wf__conn_add(loop, sv[0], &ss);
    bool head_only = rq->method && strcmp(rq->method, "HEAD") == 0;
    rc = wf__test_exchange(loop, sv[1], sv[0], &req, head_only, res);
    close(sv[1]);                                   /* the server sees the end and lets go */
    wf__conn *c;
    for (int i = 0; i < 100 && (c = wf__test_conn(loop, sv[0])) != NULL; i++) wf__conn_event(loop, c, POLLIN);
    if ((c = wf__test_conn(loop, sv[0])) != NULL) wf__conn_close(loop, c);
    wf__conn_bury(loop);
    wf_buf_free(&req);
    return rc;
}

WF_API int wf_test_get(wf_test_client *tc, const char *path, wf_test_res *res) {
    wf_test_req rq;
    memset(&rq, 0, sizeof rq);
    rq.path = path;
    return wf_test_request(tc, &rq, res);
}

WF_API wf_str wf_test_header(const wf_test_res *res, const char *name) {
    size_t nl = strlen(name);
    wf_str none = {NULL, 0};
    const char *p = res->head ? strstr(res->head, "\r\n") : NULL;
    while (p && p[2] && p[2] != '\r') {
        p += 2;
        const char *e = strstr(p, "\r\n");
        if (!e) break;
        if ((size_t)(e - p) > nl && p[nl] == ':' && wf__mem_ieq(p, name, nl)) {
            const char *v = p + nl + 1;
            while (v < e && (*v == ' ' || *v == '\t')) v++;
            wf_str r = {v, (size_t)(e - v)};
            return r;
        }
        p = e;
    }
    return none;
}

WF_API const wf_jval *wf_test_json(wf_test_res *res) {
    if (res->json) return res->json->root;
    if (!res->body || !(res->json = (wf_json_doc *)WF_MALLOC(NULL, sizeof *res->json))) return NULL;
    if (wf_json_parse(res->body, res->body_len, 0, res->json) == 0) return res->json->root;
    WF_FREE(NULL, res->json);
    res->json = NULL;
    return NULL;
}

WF_API void wf_test_res_free(wf_test_res *res) {
    if (res->json) {
        wf_json_free(res->json);
        WF_FREE(NULL, res->json);
    }
    WF_FREE(NULL, res->head);
    WF_FREE(NULL, res->body);
    res->head = res->body = NULL;
    res->json = NULL;
}

/* ---- WebSockets through the test client ---- */

struct wf_test_ws {
    wf_test_client *tc;
    int fd;                     /* the client's end; the server's is srv_fd */
    int srv_fd;
    wf_ws_parser parser;
    wf_buf in;                  /* received, not yet parsed */
    size_t in_off;
    wf_buf text;                /* wf_test_ws_receive_text's copy */
    int close_code;
    char close_reason[124];
    bool close_sent;
    bool eof;                   /* the server has closed its end */
};

/* The server's end of w, or NULL once it has closed. */
WF__PRIVATE wf__conn *wf__test_ws_conn(wf_test_ws *w) {
    return wf__test_conn(&w->tc->srv->loops[0], w->srv_fd);
}

/* Let the server run once: posted work, its end of w, timers. Then read what came. */
WF__PRIVATE bool wf__test_ws_pump(wf_test_ws *w) {
    wf__loop *loop = &w->tc->srv->loops[0];
    wf__conn *c = wf__test_ws_conn(w);
    bool progress = false;
    wf__loop_tick(loop);
    wf__loop_wake_drain(loop, false);
    if (c) wf__conn_event(loop, c, POLLIN | POLLOUT);
    wf__timers(loop);
    wf__conn_bury(loop);
    for (;;) {
        if (wf_buf_reserve(&w->in, 65536) < 0) break;
        ssize_t n = recv(w->fd, w->in.ptr + w->in.len, 65536, MSG_DONTWAIT);
        if (n <= 0) {
            w->eof = w->eof || n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
            break;
        }
        w->in.len += (size_t)n;
        progress = true;
    }
    return progress;
}

/* Send a frame (masked, as a client must). */
WF__PRIVATE int wf__test_ws_frame(wf_test_ws *w, int opcode, const void *data, size_t len) {
    wf_buf f = {0};
    uint8_t mask[4];
    if (wf_random(mask, 4) < 0) memcpy(mask, "\x12\x34\x56\x78", 4);
    int rc = opcode == WF_WS_CLOSE ? wf_ws_close_frame(&f, (int)len, (const char *)data, mask)
                                   : wf_ws_frame(&f, opcode, true, data, len, mask);
    for (size_t sent = 0, idle = 0; rc == 0 && sent < f.len && idle < 100000;) {
        ssize_t n = send(w->fd, f.ptr + sent, f.len - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) sent += (size_t)n;
        else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) rc = WF_ESYS;
        idle = n > 0 ? 0 : idle + 1;
        wf__test_ws_pump(w);                    /* the server reads while we write */
    }
    wf__test_ws_pump(w);
    wf_buf_free(&f);
    return rc;
}

WF_API wf_test_ws *wf_test_ws_connect(wf_test_client *tc, const char *path, const char *const *headers,
                                      int *status) {
    static const char *const hs[] = {"Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13",
                                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="};
    const char *all[64];
    int n = 0, sv[2];
    for (int i = 0; i < 4; i++) all[n++] = hs[i];
    for (const char *const *h = headers; h && *h && n < 63; h++) all[n++] = *h;
    all[n] = NULL;
    if (status) *status = -1;
    wf_test_req rq;
    memset(&rq, 0, sizeof rq);
    rq.path = path;
    rq.headers = all;
    wf_buf req = {0};
    wf_test_ws *w = (wf_test_ws *)WF_MALLOC(NULL, sizeof *w);
    if (!w || wf__test_build(&rq, &req) < 0 ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
        WF_FREE(NULL, w);
        wf_buf_free(&req);
        return NULL;
    }
    memset(w, 0, sizeof *w);
    w->tc = tc;
    w->fd = sv[1];
    w->srv_fd = sv[0];
    w->parser.client = true;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    ss.ss_family = AF_UNIX;
    wf__loop *loop = &tc->srv->loops[0];
    wf__loop_tick(loop);
    wf__conn_add(loop, sv[0], &ss);
    int st = -1;
    if (send(w->fd, req.ptr, req.len, MSG_NOSIGNAL) == (ssize_t)req.len)
        for (int idle = 0; idle < 1000 && st < 0;) {
            idle = wf__test_ws_pump(w) ? 0 : idle + 1;
            char *e = NULL;
            for (size_t k = 0; k + 4 <= w->in.len && !e; k++)
                if (memcmp(w->in.ptr + k, "\r\n\r\n", 4) == 0) e = w->in.ptr + k;
            if (e) st = w->in.len > 12 ? atoi(w->in.ptr + 9) : 0;
            if (e && st == 101) w->in_off = (size_t)(e + 4 - w->in.ptr);     /* frames follow */
            if (!e && w->eof) break;
        }
    wf_buf_free(&req);
    if (status) *status = st;
    if (st == 101) return w;
    wf_test_ws_free(w);
    return NULL;
}

WF_API int wf_test_ws_send_text(wf_test_ws *w, const char *text) {
    if (w->close_code || w->close_sent || w->eof) return WF_ESTOPPED;
    return wf__test_ws_frame(w, WF_WS_TEXT, text, strlen(text));
}

WF_API int wf_test_ws_send_binary(wf_test_ws *w, const void *data, size_t len) {
    if (w->close_code || w->close_sent || w->eof) return WF_ESTOPPED;
    return wf__test_ws_frame(w, WF_WS_BINARY, data, len);
}

WF_API int wf_test_ws_receive(wf_test_ws *w, const char **data, size_t *len, int timeout_ms) {
    int64_t until = wf__mono_us() / 1000 + (timeout_ms > 0 ? timeout_ms : 5000);
    for (;;) {
        while (w->in_off < w->in.len) {
            wf_ws_event ev;
            w->in_off += wf_ws_parse(&w->parser, w->in.ptr + w->in_off, w->in.len - w->in_off, &ev);
            if (ev.opcode == WF_WS_TEXT || ev.opcode == WF_WS_BINARY) {
                *data = ev.data;
                *len = ev.len;
                return ev.opcode;
            }
            if (ev.opcode == WF_WS_PING) wf__test_ws_frame(w, WF_WS_PONG, ev.data, ev.len);
            if (ev.opcode == WF_WS_CLOSE || ev.fail) {
                w->close_code = ev.fail ? WF_WS_ABNORMAL : ev.code;
                snprintf(w->close_reason, sizeof w->close_reason, "%.*s", (int)ev.len,
                         ev.data ? ev.data : "");
                if (!w->close_sent && !ev.fail) wf__test_ws_frame(w, WF_WS_CLOSE, NULL, (size_t)ev.code);
                w->close_sent = true;
            }
        }
        if (w->in_off == w->in.len) w->in.len = w->in_off = 0;
        if (!w->close_code && w->eof) w->close_code = WF_WS_ABNORMAL;    /* gone without a close */
        if (w->close_code) return 0;
        if (!wf__test_ws_pump(w) && wf__mono_us() / 1000 >= until) return WF_EPARTIAL;
        if (w->in.len == 0) {
            struct pollfd p = {w->fd, POLLIN, 0};
            poll(&p, 1, 1);                     /* another thread may be sending: wait a little */
        }
    }
}

WF_API const char *wf_test_ws_receive_text(wf_test_ws *w) {
    const char *d;
    size_t n;
    if (wf_test_ws_receive(w, &d, &n, 0) <= 0) return NULL;
    w->text.len = 0;
    if (wf_buf_append(&w->text, d, n) < 0) return NULL;
    return wf_buf_cstr(&w->text);
}

WF_API int wf_test_ws_close(wf_test_ws *w, int code, const char *reason) {
    const char *d;
    size_t n;
    if (!w->close_sent && !w->close_code) {
        w->close_sent = true;
        wf__test_ws_frame(w, WF_WS_CLOSE, reason, (size_t)code);
    }
    while (!w->close_code && wf_test_ws_receive(w, &d, &n, 5000) > 0) {
    }
    return w->close_code;
}

WF_API int wf_test_ws_close_code(const wf_test_ws *w) { return w->close_code; }
WF_API const char *wf_test_ws_close_reason(const wf_test_ws *w) { return w->close_reason; }

WF_API void wf_test_ws_free(wf_test_ws *w) {
    if (!w) return;
    close(w->fd);                               /* the server sees the end and lets go */
    wf__loop *loop = &w->tc->srv->loops[0];
    for (int i = 0; i < 100 && wf__test_ws_conn(w); i++) {
        wf__loop_tick(loop);
        wf__conn_event(loop, wf__test_ws_conn(w), POLLIN);
    }
    wf__conn *c = wf__test_ws_conn(w);
    if (c) wf__conn_close(loop, c);
    wf__conn_bury(loop);
    wf_ws_parser_free(&w->parser);
    wf_buf_free(&w->in);
    wf_buf_free(&w->text);
    WF_FREE(NULL, w);
}

WF_API int wf_test_main(int argc, char **argv) {
    wf__run r;
    memset(&r, 0, sizeof r);
    if (wf__test_args(&r, argc, argv) < 0) return 2;
    signal(SIGPIPE, SIG_IGN);
    if (r.list) {
        for (int i = 0; i < wf__tests.n; i++)
            if (wf__test_selected(&r, wf__tests.v[i].name)) printf("%s\n", wf__tests.v[i].name);
        return 0;
    }
    if (r.fork) {
        wf__run_forked(&r);
    } else {
        for (int i = 0; i < wf__tests.n; i++) {
            if (!wf__test_selected(&r, wf__tests.v[i].name)) continue;
            wf__test_job j = {&wf__tests.v[i], 1, NULL, wf__now_ms()};
            wf__job_report(&r, &j, wf__test_run_here(&wf__tests.v[i]) << 8, false);
        }
    }
    if (r.skipped) printf("%d passed, %d failed, %d skipped\n", r.passed, r.failed, r.skipped);
    else printf("%d passed, %d failed\n", r.passed, r.failed);
    return r.failed ? 1 : 0;
}

#endif /* WF_NO_TESTING */

#endif /* WEBFW_IMPLEMENTATION */

/*
------------------------------------------------------------------------------
MIT License

Copyright (c) 2026 the webfw.h authors

Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies
of the Software, and to permit persons to whom the Software is furnished to do
so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
------------------------------------------------------------------------------
*/
