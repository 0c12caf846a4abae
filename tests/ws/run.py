#!/usr/bin/python3
"""Start an echo server (examples/bench_app.c's WS /ws-echo) on a free port of 127.0.0.1 and run the
outside WebSocket clients against it, each with a time limit:

    /usr/bin/python3 tests/ws/run.py SERVER [--full] [--only autobahn,python,node] [--node-path DIR]

  autobahn   tests/ws/autobahn.py: Autobahn|Testsuite's cases over raw frames (--full: all of 9.x)
  python     tests/ws/client_python.py: Debian's python3-websockets
  node       tests/ws/client_node.js: the npm ws package (found in --node-path, a node_modules folder)

Then the server is stopped with SIGTERM while three WebSocket connections are open (one idle, one
inside a fragmented message, one that never answers): each must get a close frame 1001 at once, the
two that answer it must be ended at once, the third within the close wait (5 s), and the server must
exit 0 within 10 s. Its output must hold no sanitizer report (AddressSanitizer, UBSan's "runtime
error:", LeakSanitizer, ThreadSanitizer).
Exits 1 if any client failed, timed out, or the server crashed, hung or reported; the server's log is
kept then (its path is printed first).
"""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True      # shutdown() imports autobahn.py
PY = "/usr/bin/python3"
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer",
                   "WARNING: ThreadSanitizer", "SUMMARY: UndefinedBehaviorSanitizer")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(server, log):
    """The server on a free port: (process, port). A port taken meanwhile is tried again."""
    for _ in range(5):
        port = free_port()
        env = dict(os.environ, PORT=str(port), THREADS="2", ACCESS_LOG="0")
        proc = subprocess.Popen([server], env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        end = time.monotonic() + 15
        while time.monotonic() < end and proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            except OSError:
                time.sleep(0.05)
                continue
            time.sleep(0.2)             # still running: the listener is ours, not another's
            if proc.poll() is None:
                return proc, port
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            sys.exit("%s did not listen on port %d within 15 s" % (server, port))
    sys.exit("%s did not start (port taken, or it exits at once: see its output)" % server)


def shutdown(proc, port):
    """SIGTERM with connections open: what went wrong, or nothing."""
    sys.path.insert(0, HERE)
    import autobahn as ab
    target = ab.Target(port, "/ws-echo")
    try:
        conns = {name: ab.Conn(target, 20) for name in ("idle", "mid-message", "deaf")}
    except (ab.CaseError, OSError) as e:
        return ["shutdown: could not connect: %s" % e]
    conns["mid-message"].send(ab.frame(1, b"half a message", fin=False))
    conns["mid-message"].wait(lambda: False, 0.2)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    problems = []
    for name, c in conns.items():
        c.wait(c.closed, 3)
        if c.server_close is None or c.server_close[0] != 1001 or c.violations or c.events:
            problems.append("shutdown: %s connection got %s%s%s, not close 1001" % (
                name, "close %s" % (c.server_close,) if c.server_close else "no close frame",
                "; events %s" % ab.show(c.events) if c.events else "", "; " + "; ".join(c.violations)
                if c.violations else ""))
    for name in ("idle", "mid-message"):
        c = conns[name]
        c.send_close(ab.close_payload(1001))
        if not c.wait(lambda: c.eof, 3):
            problems.append("shutdown: the %s connection was not ended after the closing handshake" % name)
    deaf = conns["deaf"]
    if not deaf.wait(lambda: deaf.eof, 8):
        problems.append("shutdown: the connection that did not answer was still open after 8 s")
    try:
        rc = proc.wait(max(1, 10 - (time.monotonic() - t0)))
        if rc != 0:
            problems.append("shutdown: the server exited with %s" % rc)
    except subprocess.TimeoutExpired:
        problems.append("shutdown: the server did not exit within 10 s of SIGTERM")
    for c in conns.values():
        c.sock.close()
    print("== shutdown with 3 connections open: %s in %.1f s" % ("ok" if not problems else "FAILED",
                                                                 time.monotonic() - t0), flush=True)
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("server")
    ap.add_argument("--full", action="store_true", help="all of Autobahn's section 9")
    ap.add_argument("--only", default="autobahn,python,node")
    ap.add_argument("--node-path", default=os.path.join(HERE, "node_modules"))
    args = ap.parse_args()
    server = os.path.abspath(args.server)
    tmp = tempfile.mkdtemp(prefix="webfw-ws-")
    log_path = os.path.join(tmp, "server.log")
    log = open(log_path, "wb")
    proc, port = start(server, log)
    print("== %s on 127.0.0.1:%d (log %s)" % (os.path.relpath(server), port, log_path), flush=True)
    runs = {
        "autobahn": ([PY, os.path.join(HERE, "autobahn.py"), "--port", str(port)]
                     + (["--full"] if args.full else []), 240 if args.full else 150),
        "python": ([PY, os.path.join(HERE, "client_python.py"), "--port", str(port)], 120),
        "node": (["node", os.path.join(HERE, "client_node.js"), str(port)], 120),
    }
    env = dict(os.environ, NODE_PATH=os.path.abspath(args.node_path), PYTHONDONTWRITEBYTECODE="1")
    failed = []
    t_all = time.monotonic()
    try:
        for name in args.only.split(","):
            cmd, limit = runs[name]
            print("== %s (at most %d s)" % (name, limit), flush=True)
            t0 = time.monotonic()
            try:
                rc = subprocess.run(cmd, env=env, timeout=limit, stdin=subprocess.DEVNULL).returncode
            except subprocess.TimeoutExpired:
                rc = "timed out"
            took = time.monotonic() - t0
            if rc != 0:
                failed.append("%s (%s)" % (name, "exit %s" % rc if rc != "timed out" else rc))
            print("== %s: %s in %.1f s" % (name, "ok" if rc == 0 else "FAILED", took), flush=True)
            if proc.poll() is not None:
                failed.append("the server exited during %s (rc %s)" % (name, proc.returncode))
                break
        if proc.poll() is None:
            failed += shutdown(proc, port)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                failed.append("the server did not stop within 10 s of SIGTERM")
        log.close()
    if proc.returncode not in (0, None) and not any("exit" in f for f in failed):
        failed.append("the server exited with %s after SIGTERM" % proc.returncode)
    out = open(log_path, "rb").read().decode("utf-8", "replace")
    reports = [line for line in out.splitlines() if any(m in line for m in SANITIZER_MARKS)]
    if reports:
        failed.append("sanitizer output from the server")
        print("== the server's sanitizer output:\n" + out[-20000:])
    elif failed and out.strip():
        print("== the server's output (last 40 lines):\n" + "\n".join(out.splitlines()[-40:]))
    print("== test-ws: %s in %.1f s" % ("FAILED: " + "; ".join(failed) if failed else "ok",
                                        time.monotonic() - t_all))
    if not failed:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
