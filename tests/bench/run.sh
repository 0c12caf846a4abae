#!/usr/bin/env bash
# tests/bench/run.sh - benchmark our server against nginx with wrk.
#
# Usage:   tests/bench/run.sh build/bench_app      (what `make bench` runs; examples/bench_app.c)
#          tests/bench/run.sh build/poll/bench_app (the poll() backend instead of epoll; make it first)
#
# Our server is started as  PORT=<port> THREADS=1 ACCESS_LOG=0 <binary>  and
# must answer GET / (text/plain "Hello, World!") and GET /json
# (application/json {"message":"Hello, World!"}) on 127.0.0.1:<port>.
# nginx (Debian's) serves the same bodies from `return 200` locations with one
# worker process, access_log off, its own config and prefix in a temp dir.
#
# Environment (all optional):
#   ROUNDS=3          rounds; each round runs every scenario on ours then nginx
#   DURATION=5s       wrk duration per run (wrk syntax: 5, 5s, 1m)
#   WARMUP=1          seconds of unmeasured wrk warm-up per server and round (0 = none)
#   OUR_PORT=18080    first port tried for our server (next free one is used)
#   NGINX_PORT=18081  first port tried for nginx
#   SERVER_CPU=0      CPU the servers are pinned to (taskset)
#   CLIENT_CPU=1      CPU wrk and the idle-connection holder are pinned to
#   IDLE_CONNS=10000  connections for the idle RSS test
#   RETRIES=2         repeats of a run during which other processes competed
#                     for the CPUs (Linux PSI /proc/pressure/cpu), 0 = never
#   BENCH_OUT=<repo>/build/bench   where the raw log goes
#   ONLY=text         run only the scenarios whose name contains text (and skip the idle test)
#   PACED_RATE=500    request rate of the paced scenarios (tests/bench/paced.c)
#   TASK_MS=20        how long the background task of GET /task sleeps (passed to the server)
#
# For every run it records req/s and p99 latency (wrk --latency) and the
# server's CPU time per request (utime+stime of the server process from
# /proc/PID/stat before/after; for nginx the worker process). Per round it also
# measures RSS growth per idle keep-alive connection with IDLE_CONNS
# connections (idle_conns.c). The table quotes the median over the rounds.
#
# It is a report, not a test: it exits 0 unless something could not run.

set -uo pipefail
export LC_ALL=C     # "." decimal point for awk, printf, sort -g and $EPOCHREALTIME

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$BENCH_DIR/../.." && pwd)

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
WARMUP=${WARMUP:-1}
OUR_PORT=${OUR_PORT:-18080}
NGINX_PORT=${NGINX_PORT:-18081}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
IDLE_CONNS=${IDLE_CONNS:-10000}
OUT_DIR=${BENCH_OUT:-$REPO_ROOT/build/bench}
NOFILE_WANTED=65536
NGINX_WORKER_CONNECTIONS=12000   # must be >= IDLE_CONNS + a margin
PIPELINE_DEPTH=16
RETRIES=${RETRIES:-2}            # repeats of a run disturbed by other load
PACED_RATE=${PACED_RATE:-500}    # requests/s of the paced scenarios
TASK_MS=${TASK_MS:-20}           # duration of the task route's background task
CONTENTION_MAX=10                # % of a run other tasks may wait for a CPU

# Scenarios: id|path|connections|mode[|nginx path]   (mode: keepalive, close, pipeline, paced)
# paced: PACED_RATE requests/s (paced.c, open loop) instead of wrk's as-fast-as-possible, for latency
# at a load the server sustains: the task route's tasks (TASK_MS each, on the worker pool) must not
# show in its p99, which the table compares with the bare route's at the same rate.
# The last field, when present, is the path nginx serves instead (it has no routes with parameters:
# our routed request is compared with nginx's static plaintext: the price of routing and validation).
SCENARIOS=(
    "plaintext keep-alive c64|/|64|keepalive"
    "json keep-alive c64|/json|64|keepalive"
    "plaintext keep-alive c256|/|256|keepalive"
    "json keep-alive c256|/json|256|keepalive"
    "plaintext close c64|/|64|close"
    "json close c64|/json|64|close"
    "plaintext pipeline16 c256|/|256|pipeline"
    "route: params c64|/users/42/posts/7?limit=10&offset=20&sort=desc|64|keepalive|/"
    "route: bare json c64|/bare|64|keepalive|/json"
    "route: deps chain c64|/deps|64|keepalive|/json"
    "paced: bare json c32|/bare|32|paced|/json"
    "paced: task route c32|/task|32|paced|/json"
)
IDLE_SCENARIO="idle keep-alive x$IDLE_CONNS"
SERVERS=(ours nginx)

# Metrics: id|label|better|printf format (values are stored in these units)
METRICS=(
    "rps|req/s|higher|%.0f"
    "p99_ms|p99 latency (ms)|lower|%.3f"
    "cpu_us|CPU/request (us)|lower|%.3f"
)
IDLE_METRICS=(
    "rss_per_conn|RSS/idle conn (bytes)|lower|%.0f"
    "held|conns held (min)|higher|%.0f"
)

# Runtime state
declare -A VALUES      # "scenario|server|metric" -> space-separated per-round values
declare -A PORT_OF PID_OF  # server -> port / pid whose CPU and RSS we measure
NGINX_MASTER=""
CLIENT_PID=""          # running wrk / holder (killed on exit)
WARNINGS=()
RUN_DIR=""
LOG=""

# ---------------------------------------------------------------- utilities

log()  { echo "$*"; [[ -n $LOG ]] && echo "$*" >>"$LOG"; return 0; }
logq() { [[ -n $LOG ]] && echo "$*" >>"$LOG"; return 0; }   # log file only
warn() { WARNINGS+=("$*"); log "WARNING: $*"; }
die()  {
    echo "bench: error: $*" >&2
    [[ -n $LOG ]] && echo "bench: error: $*" >>"$LOG"
    exit 1
}

# Runs a command in the background with a hard time limit and waits for it,
# so a signal to this script is handled at once (cleanup kills it).
# Usage: run_bounded SECONDS OUTFILE CMD...
run_bounded() {
    local secs=$1 out=$2; shift 2
    timeout -k 5 "$secs" "$@" >"$out" 2>&1 &
    CLIENT_PID=$!
    wait "$CLIENT_PID"
    local rc=$?
    CLIENT_PID=""
    return $rc
}

# wrk duration ("5", "5s", "2m", "1h") -> whole seconds
duration_secs() {
    local d=$1
    case $d in
        *h) echo $(( ${d%h} * 3600 )) ;;
        *m) echo $(( ${d%m} * 60 )) ;;
        *s) echo $(( ${d%s} )) ;;
        *)  echo $(( d )) ;;
    esac
}

# median of numeric arguments ("" if none are numeric)
median() {
    printf '%s\n' "$@" | grep -E '^-?[0-9.]+([eE][-+]?[0-9]+)?$' | sort -g |
        awk '{ a[NR] = $1 }
             END { if (NR == 0) exit
                   if (NR % 2) print a[(NR + 1) / 2]
                   else        printf "%.6f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# minimum of numeric arguments ("" if none are numeric)
minimum() {
    printf '%s\n' "$@" | grep -E '^-?[0-9.]+$' | sort -g | head -n 1
}

record() { # record SCENARIO SERVER METRIC VALUE
    local key="$1|$2|$3"
    VALUES[$key]="${VALUES[$key]:-}${VALUES[$key]:+ }$4"
}

port_in_use() { timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# first port >= $1 that nothing listens on and is not in $2 (bounded scan)
pick_port() {
    local p=$1 avoid=${2:-} i
    for (( i = 0; i < 100; i++, p++ )); do
        [[ $p == "$avoid" ]] && continue
        port_in_use "$p" || { echo "$p"; return 0; }
    done
    die "no free port in $1..$((p - 1)) (set OUR_PORT / NGINX_PORT)"
}

# utime+stime (all threads) of a process, in clock ticks
cpu_ticks() {
    local stat
    stat=$(<"/proc/$1/stat") || return 1
    stat=${stat##*) }              # drop "pid (comm) "; field 3 (state) is now $1
    # shellcheck disable=SC2086  # split the fields on purpose
    set -- $stat
    echo $(( ${12} + ${13} ))      # fields 14 (utime) and 15 (stime)
}

# total microseconds some task waited for a CPU (Linux PSI); 0 if unavailable
psi_stall_us() {
    [[ -r /proc/pressure/cpu ]] || { echo 0; return 0; }
    awk '/^some/ { sub(/total=/, "", $5); print $5; f = 1; exit } END { if (!f) print 0 }' \
        /proc/pressure/cpu
}

alive() { [[ -n $1 ]] && kill -0 "$1" 2>/dev/null; }

# ------------------------------------------------------------- preflight

check_tools() {
    local missing=()
    command -v wrk >/dev/null   || missing+=(wrk)
    command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || missing+=(nginx)
    ((${#missing[@]} == 0)) ||
        die "${missing[*]} not found; install with: apt-get install wrk nginx-light"
    local t
    for t in taskset timeout getconf cc; do
        command -v "$t" >/dev/null || die "'$t' not found (needed by the benchmark)"
    done
    command -v nginx >/dev/null || PATH=$PATH:/usr/sbin
    local cpu
    for cpu in "$SERVER_CPU" "$CLIENT_CPU"; do
        taskset -c "$cpu" true 2>/dev/null ||
            die "cannot pin to CPU $cpu (set SERVER_CPU / CLIENT_CPU; this machine has $(nproc) CPUs)"
    done
    [[ $SERVER_CPU != "$CLIENT_CPU" ]] || warn "server and client share CPU $SERVER_CPU"
}

# Other load on the machine makes every figure noisy: sample /proc/stat for
# a second and warn if the CPUs were more than 10% busy before we start.
check_quiet() {
    local a b
    read -r _ a < <(head -n 1 /proc/stat)
    sleep 1
    read -r _ b < <(head -n 1 /proc/stat)
    local busy
    busy=$(awk -v a="$a" -v b="$b" 'BEGIN {
        n = split(a, x, " "); split(b, y, " ")
        for (i = 1; i <= n; i++) { t += y[i] - x[i] }
        idle = (y[4] - x[4]) + (y[5] - x[5])     # idle + iowait
        printf "%.0f\n", (t > 0) ? 100 * (t - idle) / t : 0 }')
    (( ${busy:-0} <= 10 )) ||
        warn "machine was ${busy}% busy before the benchmark (other load); figures may be noisy"
}

# The idle test needs ~IDLE_CONNS descriptors in the server and in the client.
raise_nofile() {
    ulimit -n "$NOFILE_WANTED" 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null
    NOFILE=$(ulimit -n)
    if [[ $NOFILE != unlimited ]] && (( NOFILE < NOFILE_WANTED )); then
        logq "note: ulimit -n is $NOFILE (hard limit), wanted $NOFILE_WANTED"
        (( NOFILE >= IDLE_CONNS + 100 )) ||
            warn "ulimit -n $NOFILE is too low for $IDLE_CONNS idle connections"
    fi
    [[ $NOFILE == unlimited ]] && NOFILE=$NOFILE_WANTED
    (( NGINX_WORKER_CONNECTIONS >= IDLE_CONNS + 100 )) ||
        NGINX_WORKER_CONNECTIONS=$(( IDLE_CONNS + 1000 ))
}

build_holder() {
    HOLDER=$RUN_DIR/idle_conns
    cc -O2 -Wall -o "$HOLDER" "$BENCH_DIR/idle_conns.c" >>"$LOG" 2>&1 ||
        die "could not compile $BENCH_DIR/idle_conns.c (see $LOG)"
    PACER=$RUN_DIR/paced
    cc -O2 -Wall -o "$PACER" "$BENCH_DIR/paced.c" >>"$LOG" 2>&1 ||
        die "could not compile $BENCH_DIR/paced.c (see $LOG)"
}

# --------------------------------------------------------------- servers

# wait until $port accepts connections while $pid is alive (bounded: 10 s)
wait_listening() {
    local name=$1 pid=$2 port=$3 i
    for (( i = 0; i < 100; i++ )); do
        alive "$pid" || die "$name exited at startup; its output: $(tail -n 20 "$RUN_DIR/$name.out" 2>/dev/null)"
        port_in_use "$port" && return 0
        sleep 0.1
    done
    die "$name did not listen on 127.0.0.1:$port within 10 s"
}

start_ours() {
    local port=${PORT_OF[ours]}
    PORT=$port THREADS=1 ACCESS_LOG=0 TASK_MS=$TASK_MS \
        taskset -c "$SERVER_CPU" "$SERVER_BIN" >"$RUN_DIR/ours.out" 2>&1 </dev/null &
    PID_OF[ours]=$!          # taskset execs the server: this is its pid
    wait_listening ours "${PID_OF[ours]}" "$port"
}

start_nginx() {
    local port=${PORT_OF[nginx]} prefix=$RUN_DIR/nginx i worker=""
    mkdir -p "$prefix"
    sed -e "s|@PREFIX@|$prefix|g" -e "s|@PORT@|$port|g" \
        -e "s|@NOFILE@|$NOFILE|g" -e "s|@WORKER_CONNECTIONS@|$NGINX_WORKER_CONNECTIONS|g" \
        "$BENCH_DIR/nginx.conf.in" >"$prefix/nginx.conf"
    taskset -c "$SERVER_CPU" nginx -p "$prefix/" -c "$prefix/nginx.conf" -e "$prefix/error.log" \
        >"$RUN_DIR/nginx.out" 2>&1 </dev/null &
    NGINX_MASTER=$!
    wait_listening nginx "$NGINX_MASTER" "$port"
    # measure the single worker, not the master (bounded: 5 s)
    for (( i = 0; i < 50; i++ )); do
        worker=$(pgrep -P "$NGINX_MASTER" | head -n 1)
        [[ -n $worker ]] && break
        sleep 0.1
    done
    [[ -n $worker ]] || die "nginx worker process not found (master $NGINX_MASTER)"
    PID_OF[nginx]=$worker
}

# TERM, then KILL after 3 s
stop_pid() {
    local pid=$1 i
    alive "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null
    for (( i = 0; i < 30; i++ )); do
        alive "$pid" || { wait "$pid" 2>/dev/null; return 0; }
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

stop_servers() {
    stop_pid "${PID_OF[ours]:-}"
    stop_pid "$NGINX_MASTER"
    stop_pid "${PID_OF[nginx]:-}"   # in case the master died without its worker
    if [[ -f $RUN_DIR/nginx/error.log ]] && grep -qE '\[(alert|emerg|crit)\]' "$RUN_DIR/nginx/error.log"; then
        warn "nginx logged errors: $(grep -E '\[(alert|emerg|crit)\]' "$RUN_DIR/nginx/error.log" | tail -n 3)"
    fi
    PID_OF=() NGINX_MASTER=""
}

start_servers() { start_ours; start_nginx; }

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    alive "$CLIENT_PID" && kill -TERM "$CLIENT_PID" 2>/dev/null
    stop_servers 2>/dev/null
    [[ -n $RUN_DIR && -d $RUN_DIR ]] && rm -rf "$RUN_DIR"
    exit "$rc"
}

# GET $path with Connection: close; prints the raw response (bounded: 3 s)
http_get() {
    # shellcheck disable=SC2016  # $1/$2 are expanded by the inner bash
    timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$1 || exit 1
        printf "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" "$2" >&3
        cat <&3' _ "$1" "$2" 2>/dev/null | tr -d '\r'
}

# warn (not fail) if a server does not answer as the spec says
sanity_check() {
    local server=$1 port=${PORT_OF[$1]} path ctype body resp
    for path in / /json; do
        if [[ $path == / ]]; then ctype=text/plain body='Hello, World!'
        else ctype=application/json body='{"message":"Hello, World!"}'; fi
        resp=$(http_get "$port" "$path")
        [[ $resp == "HTTP/1."?" 200"* ]] ||
            warn "$server: GET $path: unexpected status: $(head -n 1 <<<"$resp")"
        grep -qi "^content-type: *$ctype" <<<"$resp" ||
            warn "$server: GET $path: Content-Type is not $ctype"
        [[ $(tail -n 1 <<<"$resp") == "$body" ]] ||
            warn "$server: GET $path: body is not $body"
    done
}

# ------------------------------------------------------------- measuring

# wrk latency ("812.00us", "1.23ms", "2.01s", "1.00m") -> milliseconds
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if      (u == "us") f = 0.001
        else if (u == "ms") f = 1
        else if (u == "s")  f = 1000
        else if (u == "m")  f = 60000
        else if (u == "h")  f = 3600000
        else { print "nan"; exit }
        printf "%.6f\n", n * f }'
}

# Builds the wrk command line for a scenario into the array WRK_CMD.
wrk_cmd() { # wrk_cmd PORT PATH CONNS MODE DURATION
    local port=$1 path=$2 conns=$3 mode=$4 dur=$5
    WRK_CMD=(taskset -c "$CLIENT_CPU" wrk -t1 -c"$conns" -d"$dur" --latency)
    if [[ $mode == paced ]]; then
        WRK_CMD=(taskset -c "$CLIENT_CPU" "$PACER" "$port" "$path" "$conns" "$PACED_RATE" "$(duration_secs "$dur")")
        return 0
    fi
    case $mode in
        keepalive) ;;
        close)     WRK_CMD+=(-H 'Connection: close') ;;
        pipeline)  WRK_CMD+=(-s "$BENCH_DIR/pipeline.lua") ;;
        *) die "unknown scenario mode $mode" ;;
    esac
    WRK_CMD+=("http://127.0.0.1:$port$path")
    [[ $mode == pipeline ]] && WRK_CMD+=(-- "$PIPELINE_DEPTH" "$conns")
    return 0
}

# Runs WRK_CMD once against SERVER, output in FILE; sets RUN_TICKS (server
# CPU ticks used), RUN_WALL (seconds) and RUN_STALL (% of the run some task
# waited for a CPU: other load on the machine).
wrk_once() { # wrk_once FILE SERVER SCENARIO-NAME
    local out=$1 server=$2 name=$3 pid=${PID_OF[$2]} t0 t1 s0 w0
    t0=$(cpu_ticks "$pid") || die "$server (pid $pid) is gone before '$name'"
    s0=$(psi_stall_us) w0=$EPOCHREALTIME
    run_bounded $(( DURATION_S + 30 )) "$out" "${WRK_CMD[@]}" ||
        warn "$server '$name': wrk exited with status $?"
    RUN_STALL=$(( ($(psi_stall_us) - s0) / (DURATION_S * 10000) ))
    RUN_WALL=$(awk -v a="$w0" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')
    t1=$(cpu_ticks "$pid") ||
        die "$server (pid $pid) died during '$name'; output: $(tail -n 20 "$RUN_DIR/$server.out" 2>/dev/null)"
    RUN_TICKS=$(( t1 - t0 ))
}

# One measured wrk run of SCENARIO against SERVER; records the metrics.
run_wrk() {
    local round=$1 server=$2 spec=$3
    local name path conns mode npath
    IFS='|' read -r name path conns mode npath <<<"$spec"
    [[ $server == nginx && -n $npath ]] && path=$npath
    local port=${PORT_OF[$server]} out=$RUN_DIR/wrk.out
    wrk_cmd "$port" "$path" "$conns" "$mode" "$DURATION"

    # A run during which other processes competed for the CPUs (PSI "some"
    # stall above CONTENTION_MAX % of the run) is repeated, at most RETRIES
    # times; the least disturbed attempt is kept.
    local attempt best=-1 ticks wall
    for (( attempt = 0; attempt <= RETRIES; attempt++ )); do
        wrk_once "$RUN_DIR/wrk.try" "$server" "$name"
        logq "--- round $round / $name / $server (attempt $((attempt + 1)), CPU contention $RUN_STALL%): ${WRK_CMD[*]}"
        cat "$RUN_DIR/wrk.try" >>"$LOG"
        if (( best < 0 || RUN_STALL < best )); then
            best=$RUN_STALL ticks=$RUN_TICKS wall=$RUN_WALL
            cp "$RUN_DIR/wrk.try" "$out"
        fi
        (( RUN_STALL <= CONTENTION_MAX )) && break
        (( attempt < RETRIES )) && log "  round $round  $name  $server: other load competed for the CPUs ($RUN_STALL% of the run), repeating"
    done
    (( best <= CONTENTION_MAX )) ||
        warn "round $round $server '$name': other load competed for the CPUs during $best% of the run (best of $attempt attempts); figures are noisy"

    local requests rps p99 errors non2xx cpu_us busy
    requests=$(awk '/ requests in /{ print $1; exit }' "$out")
    rps=$(awk '/^Requests\/sec:/{ print $2; exit }' "$out")
    p99=$(awk '/Latency Distribution/{ d = 1 } d && $1 == "99%" { print $2; exit }' "$out")
    # pipelined: wrk's own percentiles are broken, pipeline.lua prints a
    # per-batch p99 (see the comment in pipeline.lua)
    [[ $mode == pipeline ]] && p99=$(awk '$1 == "pipeline_p99_us" { print $2 "us"; exit }' "$out")
    errors=$(awk -F'[ ,]+' '/Socket errors:/{ print $5 + $7 + $9 + $11; exit }' "$out")   # $1 is the indent
    non2xx=$(awk '/Non-2xx or 3xx responses:/{ print $NF; exit }' "$out")
    [[ -n $requests && -n $rps ]] ||
        { warn "round $round $server '$name': could not parse wrk output (see $LOG)"; return 0; }
    if [[ -n $p99 ]]; then
        p99=$(to_ms "$p99")
    else
        p99=nan
        warn "round $round $server '$name': no p99 latency in wrk output (see $LOG)"
    fi
    cpu_us=$(awk -v d="$ticks" -v hz="$CLK_TCK" -v n="$requests" \
        'BEGIN { if (n > 0) printf "%.4f\n", d * 1e6 / hz / n; else print "nan" }')
    # server CPU use over the run's wall time (~100% = the server was the bottleneck)
    busy=$(awk -v d="$ticks" -v hz="$CLK_TCK" -v w="$wall" \
        'BEGIN { printf "%.0f\n", (w > 0) ? 100 * d / hz / w : 0 }')

    record "$name" "$server" rps "$rps"
    record "$name" "$server" p99_ms "$p99"
    record "$name" "$server" cpu_us "$cpu_us"
    (( ${errors:-0} + ${non2xx:-0} == 0 )) ||
        warn "round $round $server '$name': socket errors ${errors:-0}, non-2xx ${non2xx:-0}"
    log "$(printf '  round %d  %-27s %-5s  req/s %10.0f  p99 %8.3f ms  cpu/req %7.3f us  (%s requests, server CPU %d%%)' \
        "$round" "$name" "$server" "$rps" "$p99" "$cpu_us" "$requests" "$busy")"
}

# Idle keep-alive connections: RSS growth per connection, connections held.
run_idle() {
    local round=$1 server=$2 port=${PORT_OF[$2]} pid=${PID_OF[$2]} out=$RUN_DIR/idle.out
    run_bounded 90 "$out" taskset -c "$CLIENT_CPU" "$HOLDER" "$port" "$IDLE_CONNS" "$pid" 1000 60 ||
        { warn "round $round $server: idle-connection holder failed: $(tail -n 3 "$out")"; return 0; }
    logq "--- round $round / $IDLE_SCENARIO / $server"
    cat "$out" >>"$LOG"
    alive "$pid" || die "$server (pid $pid) died during the idle-connection test"

    local -A r
    local k v
    while IFS='=' read -r k v; do [[ -n $k ]] && r[$k]=$v; done < <(grep '=' "$out")
    if [[ -z ${r[rss_before_kb]:-} || ${r[rss_before_kb]} -lt 0 || ${r[rss_after_kb]} -lt 0 ]]; then
        warn "round $round $server: could not read VmRSS of pid $pid"; return 0
    fi
    local per_conn
    per_conn=$(awk -v a="${r[rss_after_kb]}" -v b="${r[rss_before_kb]}" -v n="$IDLE_CONNS" \
        'BEGIN { printf "%.1f\n", (a - b) * 1024 / n }')
    record "$IDLE_SCENARIO" "$server" rss_per_conn "$per_conn"
    record "$IDLE_SCENARIO" "$server" held "${r[held]}"
    (( r[held] == IDLE_CONNS )) ||
        warn "round $round $server: only ${r[held]}/$IDLE_CONNS idle connections held (connect failed ${r[connect_failed]}, closed before response ${r[closed_before_response]}, bad response ${r[bad_response]}, timed out ${r[timed_out]}, closed while idle ${r[closed_while_idle]})"
    log "$(printf '  round %d  %-27s %-5s  RSS %d -> %d kB = %s bytes/conn, held %s/%s (established in %ss)' \
        "$round" "$IDLE_SCENARIO" "$server" "${r[rss_before_kb]}" "${r[rss_after_kb]}" "$per_conn" \
        "${r[held]}" "$IDLE_CONNS" "${r[establish_seconds]}")"
    sleep 1   # let the server tear the connections down before the next test
}

# Unmeasured warm-up so the first measured run does not pay for cold caches.
warm_up() {
    (( WARMUP > 0 )) || return 0
    local server
    for server in "${SERVERS[@]}"; do
        wrk_cmd "${PORT_OF[$server]}" / 64 keepalive "${WARMUP}s"
        run_bounded $(( WARMUP + 30 )) "$RUN_DIR/warmup.out" "${WRK_CMD[@]}" ||
            warn "warm-up of $server failed"
    done
}

run_round() {
    local round=$1 spec server
    log ""
    log "== round $round/$ROUNDS"
    start_servers
    logq "ours pid ${PID_OF[ours]} on port ${PORT_OF[ours]}; nginx master $NGINX_MASTER worker ${PID_OF[nginx]} on port ${PORT_OF[nginx]}"
    if (( round == 1 )); then
        for server in "${SERVERS[@]}"; do sanity_check "$server"; done
    fi
    # idle test first, on fresh processes: memory freed by earlier load
    # tests and kept by the allocator would hide the growth
    [[ -n ${ONLY:-} ]] || for server in "${SERVERS[@]}"; do run_idle "$round" "$server"; done
    warm_up
    for spec in "${SCENARIOS[@]}"; do
        [[ -z ${ONLY:-} || ${spec%%|*} == *"$ONLY"* ]] || continue
        for server in "${SERVERS[@]}"; do run_wrk "$round" "$server" "$spec"; done
    done
    stop_servers
}

# ---------------------------------------------------------------- report

print_rows() { # print_rows SCENARIO METRIC-SPECS...
    local scen=$1 spec id label better fmt ours nginx ratio o n
    shift
    for spec in "$@"; do
        IFS='|' read -r id label better fmt <<<"$spec"
        o=${VALUES["$scen|ours|$id"]:-} n=${VALUES["$scen|nginx|$id"]:-}
        # shellcheck disable=SC2086  # $o / $n are space-separated value lists
        if [[ $id == held ]]; then
            ours=$(minimum $o) nginx=$(minimum $n)
        else
            ours=$(median $o) nginx=$(median $n)
        fi
        ratio=$(awk -v a="$ours" -v b="$nginx" \
            'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "n/a"; else printf "%.2f\n", a / b }')
        # shellcheck disable=SC2059  # the format comes from METRICS
        if [[ -n $ours ]]; then ours=$(printf "$fmt" "$ours"); else ours=n/a; fi
        # shellcheck disable=SC2059
        if [[ -n $nginx ]]; then nginx=$(printf "$fmt" "$nginx"); else nginx=n/a; fi
        log "$(printf '%-27s %-22s %12s %12s %11s   %s is better' \
            "$scen" "$label" "$ours" "$nginx" "$ratio" "$better")"
    done
}

# The background-task target: the task route's p99 against the bare route's, ours, same paced load.
print_task_ratio() {
    local t b
    # shellcheck disable=SC2086  # space-separated value lists
    t=$(median ${VALUES["paced: task route c32|ours|p99_ms"]:-}) b=$(median ${VALUES["paced: bare json c32|ours|p99_ms"]:-})
    [[ -n $t && -n $b ]] || return 0
    log ""
    log "$(printf 'task route p99 / bare route p99 (ours, %s req/s, each task sleeping %s ms on the pool): %.3f / %.3f ms = %.2f' \
        "$PACED_RATE" "$TASK_MS" "$t" "$b" "$(awk -v a="$t" -v b="$b" 'BEGIN { print (b > 0) ? a / b : 0 }')")"
    log "   (paced runs: CPU/request is coarse there, a few clock ticks over the run)"
}

print_table() {
    local spec name
    log ""
    log "== results: median of $ROUNDS round(s), wrk -t1 -d$DURATION on CPU $CLIENT_CPU, servers on CPU $SERVER_CPU"
    log "   ours = $SERVER_BIN (THREADS=1), nginx = $(nginx -v 2>&1 | sed 's/.*: //') (1 worker)"
    log "   CPU/request = server utime+stime / requests completed (nginx: worker process)"
    log ""
    log "$(printf '%-27s %-22s %12s %12s %11s   %s' scenario metric ours nginx ours/nginx better)"
    log "$(printf '%.0s-' {1..102})"
    for spec in "${SCENARIOS[@]}"; do
        name=${spec%%|*}
        [[ -z ${ONLY:-} || $name == *"$ONLY"* ]] || continue
        print_rows "$name" "${METRICS[@]}"
    done
    [[ -n ${ONLY:-} ]] || print_rows "$IDLE_SCENARIO" "${IDLE_METRICS[@]}"
    print_task_ratio
    if ((${#WARNINGS[@]})); then
        log ""
        log "warnings (${#WARNINGS[@]}):"
        local w
        for w in "${WARNINGS[@]}"; do log "  - $w"; done
    fi
    log ""
    log "raw per-run output (wrk, idle holder): $LOG"
}

# ------------------------------------------------------------------ main

main() {
    (( $# == 1 )) || { echo "usage: $0 PATH/TO/SERVER_BINARY   (e.g. build/bench_app)" >&2; exit 2; }
    SERVER_BIN=$1
    [[ $SERVER_BIN == */* ]] || SERVER_BIN=./$SERVER_BIN
    [[ -f $SERVER_BIN && -x $SERVER_BIN ]] || die "server binary '$1' not found or not executable (run make first)"
    SERVER_BIN=$(cd "$(dirname "$SERVER_BIN")" && pwd)/$(basename "$SERVER_BIN")
    [[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer"
    [[ $WARMUP =~ ^[0-9]+$ ]] || die "WARMUP must be a whole number of seconds"
    [[ $IDLE_CONNS =~ ^[1-9][0-9]*$ ]] || die "IDLE_CONNS must be a positive integer"
    [[ $RETRIES =~ ^[0-9]+$ ]] || die "RETRIES must be a whole number"
    DURATION_S=$(duration_secs "$DURATION" 2>/dev/null) || DURATION_S=0
    (( DURATION_S > 0 )) || die "DURATION must look like 5, 5s, 1m"

    mkdir -p "$OUT_DIR" || die "cannot create $OUT_DIR"
    LOG=$OUT_DIR/bench-$(date +%Y%m%d-%H%M%S).log
    : >"$LOG" || die "cannot write $LOG"
    ln -sfn "$(basename "$LOG")" "$OUT_DIR/latest.log"

    check_tools
    RUN_DIR=$(mktemp -d /tmp/webfw-bench.XXXXXX) || die "mktemp failed"
    chmod 755 "$RUN_DIR"     # nginx's worker may run as an unprivileged user
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    raise_nofile
    build_holder
    CLK_TCK=$(getconf CLK_TCK)

    PORT_OF[ours]=$(pick_port "$OUR_PORT") || exit 1
    PORT_OF[nginx]=$(pick_port "$NGINX_PORT" "${PORT_OF[ours]}") || exit 1

    log "bench: ours=$SERVER_BIN port ${PORT_OF[ours]}, nginx port ${PORT_OF[nginx]}, rounds $ROUNDS, duration $DURATION, ulimit -n $NOFILE"
    log "bench: log $LOG"
    check_quiet
    local round
    for (( round = 1; round <= ROUNDS; round++ )); do
        run_round "$round"
    done
    print_table
}

main "$@"
