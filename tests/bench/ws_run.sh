#!/usr/bin/env bash
# tests/bench/ws_run.sh - the WebSocket benchmark: webfw against npm ws (Node.js) and libwebsockets,
# side by side, with tests/bench/ws_load.c as the clients.
#
# Usage:   tests/bench/ws_run.sh build/ws_bench_server build/ws-bench-node/node_modules
#          (what `make bench-ws` runs, and `make bench` after the HTTP part)
#
# The servers, each pinned to SERVER_CPU, on free ports of 127.0.0.1, all with WS /ws-echo (echo,
# text as text, binary as binary) and WS /room (a text "BROADCAST <payload>" sends <payload> to every
# client of /room):
#   webfw  tests/bench/ws_bench_server.c (THREADS=1), built by make
#   node   tests/bench/ws_node_server.js: npm ws with its native bufferutil (tests/bench/ws/package.json)
#   lws    tests/bench/ws_lws_server.c against Debian's libwebsockets (pkg-config), built here
# ws_load runs on CLIENT_CPU. A round starts the three servers afresh and runs, on each in turn (the
# order rotates from round to round):
#   idle       IDLE_CONNS WebSocket connections held open: server RSS growth per connection
#              (VmRSS before connecting, and SETTLE_MS after the last handshake)
#   broadcast  BCAST_CONNS clients on /room; one client asks for a BCAST_SIZE-byte broadcast,
#              BCAST_REPEATS times one after the other (plus one unmeasured): the time from that
#              request until the last client has the message (median of the repeats), and the
#              server's CPU per broadcast
#   echo       ECHO_CONNS clients in a closed loop, ECHO_SIZE-byte ECHO_OPCODE messages, each waiting
#              for its echo: round trips/s, p99 latency, and the server's CPU per message (per round
#              trip), over ECHO_SECONDS after ECHO_WARMUP unmeasured seconds
# Server CPU is utime+stime of the server process (all threads, /proc/PID/stat) just before and after
# the measured part (and the share of it in user space: the rest is the kernel's, mostly loopback
# TCP, which every server pays alike). The table gives the median over ROUNDS, webfw's ratio to the best of node and
# lws, and the issue's targets: CPU/message <= 0.7x the best (echo), time and CPU <= 0.5x the best
# (broadcast), RSS <= 1 KiB per idle connection.
#
# Environment (all optional):
#   ROUNDS=5  SERVER_CPU=0  CLIENT_CPU=1  FIRST_PORT=18090
#   ECHO_CONNS=64  ECHO_SIZE=1024  ECHO_OPCODE=binary  ECHO_SECONDS=3  ECHO_WARMUP=1
#   BCAST_CONNS=10000  BCAST_SIZE=100  BCAST_REPEATS=20
#   IDLE_CONNS=10000  SETTLE_MS=1000
#   SERVERS="webfw node lws"   the servers to run (webfw must be one)
#   LWS_EVLIB=poll             lws's event loop: poll (its default and its fastest here), ev or uv
#                              (its libev/libuv plugins)
#   ONLY=echo|broadcast|idle   run only that test
#   RETRIES=1                  repeats of a run during which other tasks waited for a CPU more than
#                              CONTENTION_MAX=10 % of the time (Linux PSI), 0 = never
#   BENCH_OUT=<repo>/build/bench   where the raw log goes (ws-<date>.log, latest-ws.log)
#
# It is a report, not a test: it exits 0 unless something could not run.

set -uo pipefail
export LC_ALL=C

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$BENCH_DIR/../.." && pwd)

ROUNDS=${ROUNDS:-5}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
FIRST_PORT=${FIRST_PORT:-18090}
ECHO_CONNS=${ECHO_CONNS:-64}
ECHO_SIZE=${ECHO_SIZE:-1024}
ECHO_OPCODE=${ECHO_OPCODE:-binary}
ECHO_SECONDS=${ECHO_SECONDS:-3}
ECHO_WARMUP=${ECHO_WARMUP:-1}
BCAST_CONNS=${BCAST_CONNS:-10000}
BCAST_SIZE=${BCAST_SIZE:-100}
BCAST_REPEATS=${BCAST_REPEATS:-20}
IDLE_CONNS=${IDLE_CONNS:-10000}
SETTLE_MS=${SETTLE_MS:-1000}
LWS_EVLIB=${LWS_EVLIB:-poll}
RETRIES=${RETRIES:-1}
CONTENTION_MAX=10
OUT_DIR=${BENCH_OUT:-$REPO_ROOT/build/bench}
read -r -a SERVERS <<<"${SERVERS:-webfw node lws}"

ECHO_NAME="echo c$ECHO_CONNS ${ECHO_SIZE}B $ECHO_OPCODE"
BCAST_NAME="broadcast ${BCAST_SIZE}B x$BCAST_CONNS"
IDLE_NAME="idle x$IDLE_CONNS"
# scenario|metric id|label|better|format|target: "ratio<=X" against the best peer, or "abs<=X"
ROWS=(
    "$ECHO_NAME|rps|round trips/s|higher|%.0f|"
    "$ECHO_NAME|cpu_us|CPU/message (us)|lower|%.2f|ratio<=0.7"
    "$ECHO_NAME|p99_ms|p99 latency (ms)|lower|%.3f|"
    "$ECHO_NAME|user_pct|CPU in user space (%)|lower|%.0f|"
    "$BCAST_NAME|time_ms|time to last client (ms)|lower|%.2f|ratio<=0.5"
    "$BCAST_NAME|cpu_ms|CPU/broadcast (ms)|lower|%.2f|ratio<=0.5"
    "$BCAST_NAME|cpu_msg_us|CPU/message sent (us)|lower|%.3f|"
    "$BCAST_NAME|user_pct|CPU in user space (%)|lower|%.0f|"
    "$IDLE_NAME|rss|RSS/idle conn (bytes)|lower|%.0f|abs<=1024"
    "$IDLE_NAME|held|conns held (min)|higher|%.0f|"
)

declare -A VALUES PORT_OF PID_OF
WARNINGS=() CONTENTION=()
RUN_DIR="" LOG="" CLIENT_PID=""

log()  { echo "$*"; [[ -n $LOG ]] && echo "$*" >>"$LOG"; return 0; }
logq() { [[ -n $LOG ]] && echo "$*" >>"$LOG"; return 0; }
warn() { WARNINGS+=("$*"); log "WARNING: $*"; }
die()  { echo "bench-ws: error: $*" >&2; [[ -n $LOG ]] && echo "bench-ws: error: $*" >>"$LOG"; exit 1; }
alive() { [[ -n $1 ]] && kill -0 "$1" 2>/dev/null; }
record() { local k="$1|$2|$3"; VALUES[$k]="${VALUES[$k]:-}${VALUES[$k]:+ }$4"; }
port_in_use() { timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

median() {
    printf '%s\n' "$@" | grep -E '^-?[0-9.]+([eE][-+]?[0-9]+)?$' | sort -g |
        awk '{ a[NR] = $1 } END { if (NR == 0) exit
                                  if (NR % 2) print a[(NR + 1) / 2]
                                  else printf "%.6f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
minimum() { printf '%s\n' "$@" | grep -E '^-?[0-9.]+$' | sort -g | head -n 1; }

# runs a command with a time limit in the background and waits (a signal to us is handled at once)
run_bounded() {
    local secs=$1 out=$2; shift 2
    timeout -k 5 "$secs" "$@" >"$out" 2>&1 &
    CLIENT_PID=$!
    wait "$CLIENT_PID"
    local rc=$?
    CLIENT_PID=""
    return $rc
}

cpu_ticks() {
    local stat
    stat=$(<"/proc/$1/stat") || return 1
    stat=${stat##*) }
    # shellcheck disable=SC2086
    set -- $stat
    echo $(( ${12} + ${13} ))
}

# Wait (up to 10 s) until the server has stopped using CPU: it is done with the connections the
# last test closed.
wait_quiet_server() {
    local pid=$1 a b i
    a=$(cpu_ticks "$pid") || return 0
    for (( i = 0; i < 50; i++ )); do
        sleep 0.2
        b=$(cpu_ticks "$pid") || return 0
        [[ $a == "$b" ]] && return 0
        a=$b
    done
}

# The machine's CPU use over a second, in % (other helpers may be running on it).
machine_busy() {
    local a b
    read -r _ a < <(head -n 1 /proc/stat)
    sleep 1
    read -r _ b < <(head -n 1 /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN { n = split(a, x, " "); split(b, y, " ")
        for (i = 1; i <= n; i++) t += y[i] - x[i]
        idle = (y[4] - x[4]) + (y[5] - x[5])
        printf "%.0f\n", (t > 0) ? 100 * (t - idle) / t : 0 }'
}

# ------------------------------------------------------------- preparing

check_tools() {
    local t
    for t in taskset timeout cc; do command -v "$t" >/dev/null || die "'$t' not found"; done
    for t in "$SERVER_CPU" "$CLIENT_CPU"; do
        taskset -c "$t" true 2>/dev/null || die "cannot pin to CPU $t (this machine has $(nproc) CPUs)"
    done
    [[ $SERVER_CPU != "$CLIENT_CPU" ]] || warn "server and client share CPU $SERVER_CPU"
    local keep=() s
    for s in "${SERVERS[@]}"; do
        case $s in
            webfw) keep+=(webfw) ;;
            node)
                if ! command -v node >/dev/null; then warn "node not found: no ws column (apt-get install nodejs)"
                elif [[ ! -f $NODE_MODULES/ws/package.json ]]; then
                    warn "npm ws is not in $NODE_MODULES (make $REPO_ROOT/build/ws-bench-node): no node column"
                else keep+=(node); fi ;;
            lws)
                if pkg-config --exists libwebsockets 2>/dev/null; then keep+=(lws)
                else warn "libwebsockets not found by pkg-config: no lws column (apt-get install libwebsockets-dev)"; fi ;;
            *) die "unknown server '$s' in SERVERS" ;;
        esac
    done
    SERVERS=("${keep[@]}")
    [[ ${SERVERS[0]:-} == webfw ]] || die "SERVERS must start with webfw"
}

raise_nofile() {
    local want=$(( (IDLE_CONNS > BCAST_CONNS ? IDLE_CONNS : BCAST_CONNS) + 1000 ))
    ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null
    NOFILE=$(ulimit -n)
    [[ $NOFILE == unlimited ]] || (( NOFILE >= want )) ||
        warn "ulimit -n is $NOFILE (hard limit): fewer than the $want descriptors the tests need"
}

build_tools() {
    LOAD=$RUN_DIR/ws_load
    cc -O2 -Wall -o "$LOAD" "$BENCH_DIR/ws_load.c" >>"$LOG" 2>&1 ||
        die "could not compile $BENCH_DIR/ws_load.c (see $LOG)"
    if [[ " ${SERVERS[*]} " == *" lws "* ]]; then
        LWS_BIN=$RUN_DIR/ws_lws_server
        # shellcheck disable=SC2046  # pkg-config's flags are words
        cc -O2 -Wall -o "$LWS_BIN" "$BENCH_DIR/ws_lws_server.c" $(pkg-config --cflags --libs libwebsockets) \
            >>"$LOG" 2>&1 || die "could not compile $BENCH_DIR/ws_lws_server.c (see $LOG)"
    fi
}

pick_ports() {
    local p=$FIRST_PORT s
    for s in "${SERVERS[@]}"; do
        while port_in_use "$p"; do
            (( ++p < FIRST_PORT + 200 )) || die "no free port in $FIRST_PORT..$p (set FIRST_PORT)"
        done
        PORT_OF[$s]=$p
        (( p++ ))
    done
}

# --------------------------------------------------------------- servers

start_server() {
    local s=$1 port=${PORT_OF[$1]} i
    local cmd=(taskset -c "$SERVER_CPU")
    case $s in
        webfw) cmd=(env PORT="$port" THREADS=1 "${cmd[@]}" "$WEBFW_BIN") ;;
        node)  cmd=(env PORT="$port" NODE_PATH="$NODE_MODULES" "${cmd[@]}" node "$BENCH_DIR/ws_node_server.js") ;;
        lws)   cmd=(env PORT="$port" LWS_EVLIB="$LWS_EVLIB" "${cmd[@]}" "$LWS_BIN") ;;
    esac
    "${cmd[@]}" >"$RUN_DIR/$s.out" 2>&1 </dev/null &
    PID_OF[$s]=$!            # env and taskset exec the server: this is its pid
    for (( i = 0; i < 100; i++ )); do
        alive "${PID_OF[$s]}" || die "$s exited at startup: $(tail -n 5 "$RUN_DIR/$s.out")"
        port_in_use "$port" && return 0
        sleep 0.1
    done
    die "$s did not listen on 127.0.0.1:$port within 10 s"
}

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
}

stop_servers() {
    local s
    for s in "${!PID_OF[@]}"; do stop_pid "${PID_OF[$s]}"; done
    PID_OF=()
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    alive "$CLIENT_PID" && kill -TERM "$CLIENT_PID" 2>/dev/null
    stop_servers 2>/dev/null
    [[ -n $RUN_DIR && -d $RUN_DIR ]] && rm -rf "$RUN_DIR"
    exit "$rc"
}

# ------------------------------------------------------------- measuring

declare -A R    # the key=value lines of the last ws_load run

# Runs ws_load (pinned) with its arguments, RETRIES more times while other load competed for the CPUs,
# keeping the least disturbed run in R. Returns 1 if it failed.
load_run() {
    local round=$1 test=$2 s=$3 secs=$4; shift 4
    local attempt best=-1 out=$RUN_DIR/load.out k v
    for (( attempt = 0; attempt <= RETRIES; attempt++ )); do
        wait_quiet_server "${PID_OF[$s]}"
        if ! run_bounded "$secs" "$out" taskset -c "$CLIENT_CPU" "$LOAD" "$@"; then
            warn "round $round $test $s: ws_load failed: $(tail -n 3 "$out" | tr '\n' ' ')"
            return 1
        fi
        alive "${PID_OF[$s]}" || die "$s (pid ${PID_OF[$s]}) died during $test: $(tail -n 5 "$RUN_DIR/$s.out")"
        logq "--- round $round / $test / $s (attempt $((attempt + 1))): ws_load $*"
        cat "$out" >>"$LOG"
        local c
        c=$(awk -F= '$1 == "contention_pct" { print $2 }' "$out")
        [[ -n $c ]] && CONTENTION+=("$c")
        c=${c:-0}
        if (( best < 0 || c < best )); then
            best=$c
            R=()
            while IFS='=' read -r k v; do [[ -n $k ]] && R[$k]=$v; done < <(grep '=' "$out")
        fi
        (( c <= CONTENTION_MAX )) && break
        (( attempt < RETRIES )) && log "  round $round  $test  $s: other tasks waited for a CPU $c% of the run, repeating"
    done
    (( best <= CONTENTION_MAX )) ||
        warn "round $round $test $s: other tasks waited for a CPU $best% of the run (best of $attempt); noisy"
    return 0
}

run_idle() {
    local round=$1 s=$2
    load_run "$round" idle "$s" 120 idle "${PORT_OF[$s]}" /ws-echo "$IDLE_CONNS" "${PID_OF[$s]}" "$SETTLE_MS" ||
        return 0
    if (( ${R[rss_before_kb]:--1} < 0 || ${R[rss_after_kb]:--1} < 0 )); then
        warn "round $round idle $s: could not read VmRSS"; return 0
    fi
    local per
    per=$(awk -v a="${R[rss_after_kb]}" -v b="${R[rss_before_kb]}" -v n="$IDLE_CONNS" \
        'BEGIN { printf "%.1f\n", (a - b) * 1024 / n }')
    record "$IDLE_NAME" "$s" rss "$per"
    record "$IDLE_NAME" "$s" held "${R[held]}"
    (( R[held] == IDLE_CONNS )) || warn "round $round idle $s: ${R[held]}/$IDLE_CONNS held (connect failed \
${R[connect_failed]}, bad handshake ${R[bad_handshake]}, closed or data ${R[closed_or_data]})"
    log "$(printf '  round %d  %-24s %-5s  RSS %d -> %d kB = %s bytes/conn, held %s (connected in %s s)' \
        "$round" "$IDLE_NAME" "$s" "${R[rss_before_kb]}" "${R[rss_after_kb]}" "$per" "${R[held]}" \
        "${R[connect_seconds]}")"
}

run_broadcast() {
    local round=$1 s=$2
    load_run "$round" broadcast "$s" 180 broadcast "${PORT_OF[$s]}" /room "$BCAST_CONNS" "${PID_OF[$s]}" \
        "$BCAST_REPEATS" "$BCAST_SIZE" || return 0
    if (( ${R[open]:-0} != BCAST_CONNS || ${R[missing]:-1} != 0 || ${R[repeats]:-0} != BCAST_REPEATS )); then
        warn "round $round broadcast $s: open ${R[open]:-?}/$BCAST_CONNS, broadcasts ${R[repeats]:-?}/$BCAST_REPEATS, \
missing ${R[missing]:-?}, bad frames ${R[bad_frame]:-?}: not recorded"
        return 0
    fi
    record "$BCAST_NAME" "$s" time_ms "${R[median_ms]}"
    record "$BCAST_NAME" "$s" cpu_ms "${R[cpu_ms_per_broadcast]}"
    record "$BCAST_NAME" "$s" cpu_msg_us "${R[cpu_us_per_msg]}"
    record "$BCAST_NAME" "$s" user_pct "${R[server_user_pct]}"
    log "$(printf '  round %d  %-24s %-5s  last client after %7.2f ms (median of %d; min %.2f max %.2f)  CPU %6.2f ms/broadcast' \
        "$round" "$BCAST_NAME" "$s" "${R[median_ms]}" "${R[repeats]}" "${R[min_ms]}" "${R[max_ms]}" \
        "${R[cpu_ms_per_broadcast]}")"
}

run_echo() {
    local round=$1 s=$2
    load_run "$round" echo "$s" $(( ECHO_SECONDS + ECHO_WARMUP + 60 )) echo "${PORT_OF[$s]}" /ws-echo \
        "$ECHO_CONNS" "$ECHO_SIZE" "$ECHO_SECONDS" "${PID_OF[$s]}" "$ECHO_WARMUP" "$ECHO_OPCODE" || return 0
    if (( ${R[alive]:-0} != ECHO_CONNS || ${R[bad_frame]:-1} != 0 || ${R[roundtrips]:-0} == 0 )); then
        warn "round $round echo $s: alive ${R[alive]:-?}/$ECHO_CONNS, bad frames ${R[bad_frame]:-?}, \
closed ${R[closed]:-?}, round trips ${R[roundtrips]:-?}: not recorded"
        return 0
    fi
    record "$ECHO_NAME" "$s" rps "${R[rps]}"
    record "$ECHO_NAME" "$s" cpu_us "${R[cpu_us_per_msg]}"
    record "$ECHO_NAME" "$s" user_pct "${R[server_user_pct]}"
    record "$ECHO_NAME" "$s" p99_ms "$(awk -v u="${R[p99_us]}" 'BEGIN { printf "%.3f\n", u / 1000 }')"
    log "$(printf '  round %d  %-24s %-5s  %8.0f round trips/s  CPU %6.2f us/msg  p99 %6.3f ms  (server CPU %s%%, client %s%%)' \
        "$round" "$ECHO_NAME" "$s" "${R[rps]}" "${R[cpu_us_per_msg]}" "$(awk -v u="${R[p99_us]}" \
        'BEGIN { print u / 1000 }')" "${R[server_cpu_pct]}" "${R[client_cpu_pct]}")"
}

run_round() {
    local round=$1 s i n=${#SERVERS[@]} order=() test
    for (( i = 0; i < n; i++ )); do order+=("${SERVERS[(i + round - 1) % n]}"); done
    log ""
    log "== round $round/$ROUNDS (order: ${order[*]}; load average $(cut -d' ' -f1-3 /proc/loadavg))"
    for s in "${SERVERS[@]}"; do start_server "$s"; done
    logq "pids: $(for s in "${SERVERS[@]}"; do printf '%s=%s ' "$s" "${PID_OF[$s]}"; done)"
    # idle first, on fresh processes: memory freed by the other tests and kept by the allocator
    # would hide the growth
    for test in idle broadcast echo; do
        [[ -z ${ONLY:-} || $ONLY == "$test" ]] || continue
        for s in "${order[@]}"; do "run_$test" "$round" "$s"; done
    done
    stop_servers
}

# ---------------------------------------------------------------- report

print_table() {
    local spec scen id label better fmt target s v vals best bestname ratio verdict line
    log ""
    log "== WebSocket results: median of $ROUNDS round(s); servers on CPU $SERVER_CPU, ws_load on CPU $CLIENT_CPU"
    log "   webfw = $WEBFW_BIN (THREADS=1)"
    if [[ " ${SERVERS[*]} " == *" node "* ]]; then
        log "   node  = npm $(head -n 1 "$RUN_DIR/node.out" 2>/dev/null)"
        grep -q 'bufferutil native' "$RUN_DIR/node.out" || warn "node: ws runs without its native bufferutil"
    fi
    [[ " ${SERVERS[*]} " == *" lws "* ]] &&
        log "   lws   = libwebsockets $(pkg-config --modversion libwebsockets | sed "s/-$//") (Debian), event loop $LWS_EVLIB"
    log "   CPU = the server's utime+stime over the measured part; best = the better of the others"
    log ""
    line=$(printf '%-24s %-26s' scenario metric)
    for s in "${SERVERS[@]}"; do line+=$(printf ' %10s' "$s"); done
    log "$line$(printf ' %11s  %s' "webfw/best" "target")"
    log "$(printf '%.0s-' {1..118})"
    for spec in "${ROWS[@]}"; do
        IFS='|' read -r scen id label better fmt target <<<"$spec"
        [[ -n ${VALUES["$scen|webfw|$id"]:-} ]] || continue
        line=$(printf '%-24s %-26s' "$scen" "$label")
        best="" bestname=""
        declare -A MED=()
        for s in "${SERVERS[@]}"; do
            vals=${VALUES["$scen|$s|$id"]:-}
            # shellcheck disable=SC2086
            if [[ $id == held ]]; then v=$(minimum $vals); else v=$(median $vals); fi
            MED[$s]=$v
            # shellcheck disable=SC2059
            if [[ -n $v ]]; then line+=$(printf " %10s" "$(printf "$fmt" "$v")"); else line+=$(printf ' %10s' n/a); fi
            [[ $s == webfw || -z $v ]] && continue
            if [[ -z $best ]] || awk -v a="$v" -v b="$best" -v h="$better" \
                'BEGIN { exit !((h == "lower") ? a < b : a > b) }'; then best=$v bestname=$s; fi
        done
        ratio=$(awk -v a="${MED[webfw]}" -v b="$best" \
            'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "n/a"; else printf "%.2f\n", a / b }')
        line+=$(printf ' %11s' "$ratio${bestname:+ ($bestname)}")
        verdict=""
        case $target in
            ratio\<=*) verdict=$(awk -v r="$ratio" -v t="${target#ratio<=}" 'BEGIN {
                           if (r == "n/a") print "<= " t "x best: n/a"
                           else print "<= " t "x best: " ((r + 0 <= t + 0) ? "met" : "NOT met") }') ;;
            abs\<=*)   verdict=$(awk -v a="${MED[webfw]}" -v t="${target#abs<=}" 'BEGIN {
                           print "<= " t ": " ((a + 0 <= t + 0) ? "met" : "NOT met") }') ;;
        esac
        log "$line  $verdict"
        unset MED
    done
    if ((${#WARNINGS[@]})); then
        log ""
        log "warnings (${#WARNINGS[@]}):"
        local w
        for w in "${WARNINGS[@]}"; do log "  - $w"; done
    fi
    log ""
    log "machine: load average $(cut -d' ' -f1-3 /proc/loadavg) at the end ($LOAD_START at the start);"
    ((${#CONTENTION[@]})) && log "$(printf '   other tasks waited for a CPU (PSI) during the measured runs: median %.0f%%, max %.0f%% of the time (%d runs)' \
        "$(median "${CONTENTION[@]}")" "$(printf '%s\n' "${CONTENTION[@]}" | sort -g | tail -n 1)" "${#CONTENTION[@]}")"
    log "raw per-run output (ws_load key=value lines): $LOG"
}

# ------------------------------------------------------------------ main

main() {
    (( $# == 2 )) || { echo "usage: $0 WEBFW_SERVER_BINARY NODE_MODULES_DIR" >&2; exit 2; }
    WEBFW_BIN=$(cd "$(dirname "$1")" 2>/dev/null && pwd)/$(basename "$1")
    [[ -f $WEBFW_BIN && -x $WEBFW_BIN ]] || die "server binary '$1' not found (make build/ws_bench_server)"
    NODE_MODULES=$(cd "$2" 2>/dev/null && pwd) || NODE_MODULES=$2
    local n
    for n in ROUNDS ECHO_CONNS ECHO_SIZE ECHO_SECONDS BCAST_CONNS BCAST_SIZE BCAST_REPEATS IDLE_CONNS; do
        [[ ${!n} =~ ^[1-9][0-9]*$ ]] || die "$n must be a positive integer"
    done
    [[ $ECHO_OPCODE == binary || $ECHO_OPCODE == text ]] || die "ECHO_OPCODE is binary or text"

    mkdir -p "$OUT_DIR" || die "cannot create $OUT_DIR"
    LOG=$OUT_DIR/ws-$(date +%Y%m%d-%H%M%S).log
    : >"$LOG" || die "cannot write $LOG"
    ln -sfn "$(basename "$LOG")" "$OUT_DIR/latest-ws.log"

    check_tools
    RUN_DIR=$(mktemp -d /tmp/webfw-bench-ws.XXXXXX) || die "mktemp failed"
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    raise_nofile
    build_tools
    pick_ports
    LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
    local busy
    busy=$(machine_busy)
    log "bench-ws: $(for s in "${SERVERS[@]}"; do printf '%s port %s, ' "$s" "${PORT_OF[$s]}"; done)rounds $ROUNDS, ulimit -n $NOFILE"
    log "bench-ws: machine ${busy}% busy before the start, load average $LOAD_START; log $LOG"
    (( busy <= 10 )) || warn "the machine was ${busy}% busy before the benchmark (other load); figures may be noisy"
    local round
    for (( round = 1; round <= ROUNDS; round++ )); do run_round "$round"; done
    print_table
}

main "$@"
