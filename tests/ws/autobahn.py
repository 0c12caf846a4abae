#!/usr/bin/python3
"""A conformance runner modelled on Autobahn|Testsuite's fuzzing client, against an echo endpoint.

    /usr/bin/python3 tests/ws/autobahn.py --port PORT [--path /ws-echo] [--full] [-k PATTERN]

It opens one connection per case to ws://127.0.0.1:PORT/ws-echo, writes raw frames itself (masked
with a fresh key, fragmented, and chopped as each case says: in one write, frame by frame, or octet
by octet), reads the server's frames with its own strict parser, and grades each case the way
Autobahn does (case.py): the events received before the server's close frame (messages, pongs,
pings) are compared with the case's expected lists (OK, else NON-STRICT), and the close with the
case's expected close: who started the closing handshake, whether it completed and the server then
closed TCP itself, and the server's close code. A case is OK only if both are; NON-STRICT is
Autobahn's grade for a late failure (for invalid UTF-8: after more bytes than the first invalid
one); INFORMATIONAL cases (7.1.6, 7.13.x, 9.9.1) are reported, never failed, unless the server broke
the protocol. Beyond Autobahn's own checks, every frame the server sends must be well formed (no
mask, no RSV bit, shortest length, text valid UTF-8, nothing after its close frame).

Sections 1-7 and 10 are the cases of autobahn-case-descriptions.json; section 6.5-6.23 are the UTF-8
sequences of autobahn-utf8-cases.json, each sent as Autobahn does (one text frame) and also split
into two frames at every byte position, in one-octet frames and as one frame written octet by
octet; for an invalid sequence the server must fail the connection (1007, or drop TCP) as soon as
it has the first invalid byte: only that much is sent before waiting for the close, and a close
that needs the rest of the message is NON-STRICT. Section 9 (large messages up to 16 MiB) runs a
reduced set unless --full. Section X holds webfw's own checks of what Autobahn does not probe
(unmasked frames, length encodings, the 16 MiB message limit, many messages on one connection,
pipelining, a peer slow to read; XDESC describes each).

Both JSON files beside this one come from crossbario/autobahn-testsuite (Apache License 2.0, see
LICENSE.autobahn-testsuite beside this file; copied from shared/vectors/websocket/); so do the
cases' payloads and expectations written out below.

Prints one line per case and a summary; exits 1 on any FAILED or NON-STRICT case that is not listed
in KNOWN_FAILURES (which are printed with their reason), and on a known failure that now passes.
"""
import argparse
import base64
import concurrent.futures
import fnmatch
import hashlib
import json
import os
import random
import select
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

OK, NON_STRICT, INFORMATIONAL, FAILED = "OK", "NON-STRICT", "INFORMATIONAL", "FAILED"

# Cases that fail against the current webfw.h, each with the reason printed beside it: they are
# reported but do not fail the run. A listed case that passes fails the run, so the list stays true.
KNOWN_FAILURES = {}

CASE_TIMEOUT = 5.0      # a case's whole exchange
FAIL_WAIT = 2.0         # for the server to fail the connection after a bad frame (Autobahn: 1 s)
FAST_WAIT = 1.0         # for a fail-fast close before the rest of an invalid message is sent
EVENT_WAIT = 2.0        # for the expected echoes and pongs before we close (Autobahn: 1 s)
CLOSE_WAIT = 2.0        # for the server's close frame after ours (Autobahn: 1 s)
DROP_WAIT = 2.0         # for the server to end TCP once both close frames are out (Autobahn: 1 s)
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class CaseError(Exception):
    """The case cannot go on (the handshake failed, a deadline passed while writing)."""


# ---- UTF-8 (Unicode 15, table 3-7), incrementally ----

def utf8_scan(data):
    """(index of the first byte at which data stops being a prefix of well-formed UTF-8, or None;
    whether it ends between characters)."""
    need, lo, hi = 0, 0x80, 0xBF
    for i, b in enumerate(data):
        if need:
            if not lo <= b <= hi:
                return i, False
            need, lo, hi = need - 1, 0x80, 0xBF
        elif b < 0x80:
            pass
        elif 0xC2 <= b <= 0xDF:
            need = 1
        elif b == 0xE0:
            need, lo = 2, 0xA0
        elif b == 0xED:
            need, hi = 2, 0x9F
        elif 0xE1 <= b <= 0xEF:
            need = 2
        elif b == 0xF0:
            need, lo = 3, 0x90
        elif 0xF1 <= b <= 0xF3:
            need = 3
        elif b == 0xF4:
            need, hi = 3, 0x8F
        else:
            return i, False
    return None, need == 0


def utf8_valid(data):
    """Is data well-formed UTF-8 (Python's strict decoder: as utf8_scan, which CaseUtf8 checks, but fast)?"""
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


# ---- frames ----

def mask(data, key):
    n = len(data)
    if not n:
        return b""
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(k, "little")).to_bytes(n, "little")


def frame(op, payload=b"", fin=True, rsv=0, masked=True, len_bytes=None, length=None):
    """A client's frame. len_bytes forces the length's encoding (0, 2 or 8 extra bytes); length
    declares another payload length than len(payload) (the payload is sent as given)."""
    n = len(payload) if length is None else length
    if len_bytes is None:
        len_bytes = 0 if n < 126 else 2 if n < 65536 else 8
    head = bytearray([(0x80 if fin else 0) | (rsv << 4) | op])
    m = 0x80 if masked else 0
    if len_bytes == 0:
        head.append(m | n)
    elif len_bytes == 2:
        head.append(m | 126)
        head += n.to_bytes(2, "big")
    else:
        head.append(m | 127)
        head += n.to_bytes(8, "big")
    if not masked:
        return bytes(head) + payload
    key = os.urandom(4)
    return bytes(head) + key + mask(payload, key)


def close_payload(code=None, reason=b""):
    return b"" if code is None else code.to_bytes(2, "big") + reason


def text_payload(n):
    """n bytes of valid UTF-8 mixing 1- to 4-byte characters (split across fragments and chops)."""
    unit = "BAsd7&jh23 κόσμε € 𝄞 ".encode()
    out = (unit * (n // len(unit) + 1))[:n]
    while not utf8_valid(out):          # cut inside a character: pad the tail with ASCII
        out = out[:-1]
    return out + b"*" * (n - len(out))


def binary_payload(n):
    return random.Random(n).randbytes(n)


def describe(payload):
    if len(payload) <= 24:
        return payload.hex() if payload else "''"
    return "%d bytes sha1:%s" % (len(payload), hashlib.sha1(payload).hexdigest()[:10])


def show(events):
    out = []
    for e in events:
        if e[0] == "message":
            out.append("%s(%s)" % ("binary" if e[2] else "text", describe(e[1])))
        elif e[0] == "timeout":                 # 6.4.x: no close during the wait after part e[1]
            out.append("timeout(%s)" % e[1])
        else:
            out.append("%s(%s)" % (e[0], describe(e[1])))
    return "[" + ", ".join(out) + "]"


# ---- a connection ----

class Conn:
    def __init__(self, target, timeout=CASE_TIMEOUT):
        self.deadline = time.monotonic() + timeout
        self.events = []            # ("message", payload, binary), ("pong", p), ("ping", p): before its close
        self.violations = []        # what the server sent that RFC 6455 forbids
        self.server_close = None    # (code or None, reason) of the server's close frame
        self.sent_close = False     # our close frame (the closing handshake's) is out
        self.closed_by_me = None    # who sent the first close frame: True us, False the server
        self.eof = False            # the server ended TCP (FIN, or a reset: self.reset)
        self.reset = False
        self.dropped_by_me = False  # we had to end TCP ourselves
        self.send_error = None
        self.frag_op = None
        self.frag = []
        self.inbuf = bytearray()
        self.sock = socket.create_connection(("127.0.0.1", target.port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        key = base64.b64encode(os.urandom(16))
        req = (b"GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               b"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
               % (target.path.encode(), target.port, key))
        self.sock.sendall(req)
        head = b""
        while b"\r\n\r\n" not in head:
            self.sock.settimeout(max(0.01, self.deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise CaseError("no handshake response: %r" % head[:200])
            if not chunk:
                raise CaseError("connection closed during the handshake: %r" % head[:200])
            head += chunk
        head, rest = head.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        if not lines[0].startswith("HTTP/1.1 101 "):
            raise CaseError("handshake refused: %r" % lines[0])
        fields = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            fields.setdefault(name.strip().lower(), []).append(value.strip())
        want = base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()
        problems = []
        if [v.lower() for v in fields.get("upgrade", [])] != ["websocket"]:
            problems.append("Upgrade %r" % fields.get("upgrade"))
        if "upgrade" not in [t.strip().lower() for v in fields.get("connection", []) for t in v.split(",")]:
            problems.append("Connection %r" % fields.get("connection"))
        if fields.get("sec-websocket-accept") != [want]:
            problems.append("Sec-WebSocket-Accept %r, not %r" % (fields.get("sec-websocket-accept"), want))
        for name in ("sec-websocket-protocol", "sec-websocket-extensions"):
            if name in fields:
                problems.append("%s %r though the client offered none" % (name, fields[name]))
        if problems:
            raise CaseError("bad 101 response: " + "; ".join(problems))
        self.sock.setblocking(False)
        self.inbuf += rest
        self._parse()

    def left(self):
        return self.deadline - time.monotonic()

    # -- reading --

    def _violate(self, what):
        if what not in self.violations:
            self.violations.append(what)

    def _read_once(self):
        try:
            chunk = self.sock.recv(1 << 20)
        except (BlockingIOError, InterruptedError):
            return
        except (ConnectionResetError, ConnectionAbortedError):
            self.eof = self.reset = True
            return
        if not chunk:
            self.eof = True
            return
        self.inbuf += chunk
        self._parse()

    def _parse(self):
        buf, pos = self.inbuf, 0
        while len(buf) - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            n, hl = b1 & 0x7F, 2
            hl += 2 if n == 126 else 8 if n == 127 else 0
            hl += 4 if b1 & 0x80 else 0
            if len(buf) - pos < hl:
                break
            shortest = True
            if n == 126:
                n = int.from_bytes(buf[pos + 2:pos + 4], "big")
                shortest = n >= 126
            elif n == 127:
                n = int.from_bytes(buf[pos + 2:pos + 10], "big")
                shortest = n >= 65536
                if n >> 63:
                    self._violate("a 64-bit length with its top bit set")
                    self.inbuf = bytearray()
                    return
            if len(buf) - pos - hl < n:
                break
            payload = bytes(buf[pos + hl:pos + hl + n])
            if b1 & 0x80:
                self._violate("a masked frame (servers must not mask)")
                payload = mask(payload, bytes(buf[pos + hl - 4:pos + hl]))
            if not shortest:
                self._violate("a length not in its shortest form")
            pos += hl + n
            self._frame(b0, payload)
        del buf[:pos]

    def _frame(self, b0, payload):
        fin, rsv, op = b0 & 0x80, (b0 >> 4) & 7, b0 & 0x0F
        if self.server_close is not None:
            self._violate("a frame (opcode %d) after its close frame" % op)
            return
        if rsv:
            self._violate("RSV bits %d" % rsv)
        if op >= 8:
            if not fin or len(payload) > 125:
                self._violate("a fragmented or long control frame (opcode %d, %d bytes)" % (op, len(payload)))
            if op == 8:
                code, reason = None, b""
                if len(payload) == 1:
                    self._violate("a close frame of 1 byte")
                elif len(payload) >= 2:
                    code, reason = int.from_bytes(payload[:2], "big"), payload[2:]
                    if not (1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999):
                        self._violate("close code %d" % code)
                    if not utf8_valid(reason):
                        self._violate("a close reason that is not UTF-8")
                self.server_close = (code, reason)
                if self.closed_by_me is None:
                    self.closed_by_me = False
            elif op == 9:
                self.events.append(("ping", payload))
                if not self.sent_close:
                    self.send(frame(10, payload))
            elif op == 10:
                self.events.append(("pong", payload))
            else:
                self._violate("reserved opcode %d" % op)
        elif op in (1, 2):
            if self.frag_op is not None:
                self._violate("a new data frame inside a fragmented message")
            if fin:
                self._message(op, payload)
            else:
                self.frag_op, self.frag = op, [payload]
        elif op == 0:
            if self.frag_op is None:
                self._violate("a continuation frame with nothing to continue")
                return
            self.frag.append(payload)
            if fin:
                self._message(self.frag_op, b"".join(self.frag))
                self.frag_op, self.frag = None, []
        else:
            self._violate("reserved opcode %d" % op)

    def _message(self, op, payload):
        if op == 1 and not utf8_valid(payload):
            self._violate("a text message that is not UTF-8")
        self.events.append(("message", payload, op == 2))

    def wait(self, cond, timeout=None):
        """Read until cond() holds, the server ends TCP, or timeout (and the case's deadline) pass."""
        end = self.deadline if timeout is None else min(self.deadline, time.monotonic() + timeout)
        while not cond():
            rem = end - time.monotonic()
            if self.eof or rem <= 0:
                return cond()
            r, _, _ = select.select([self.sock], [], [], rem)
            if r:
                self._read_once()
        return True

    def poll(self):
        """Read what has arrived, without waiting."""
        while not self.eof:
            r, _, _ = select.select([self.sock], [], [], 0)
            if not r:
                return
            self._read_once()

    def closed(self):
        return self.server_close is not None or self.eof

    # -- writing --

    def send(self, data, chop=None, delay=0.0):
        """Write data, in pieces of chop bytes each written whole before the next (delay seconds
        apart), reading what arrives meanwhile. False if the server has ended the connection."""
        if self.send_error:
            return False
        mv = memoryview(data)
        step = chop or max(1, len(data))
        for off in range(0, len(data), step):
            piece = mv[off:off + step]
            while piece:
                rem = self.left()
                if rem <= 0:
                    raise CaseError("timed out writing (%d of %d bytes written)" % (off, len(data)))
                r, w, _ = select.select([] if self.eof else [self.sock], [self.sock], [], rem)
                if r:
                    self._read_once()
                if w:
                    try:
                        k = self.sock.send(piece)
                    except (BlockingIOError, InterruptedError):
                        k = 0
                    except OSError as e:        # EPIPE, ECONNRESET: the server has gone
                        self.send_error = e
                        return False
                    piece = piece[k:]
            if delay:
                time.sleep(delay)
        return True

    def send_frames(self, frames, mode=None):
        """Write frames: in one write (mode None), frame by frame ("frame"), or in chops of mode
        bytes (1: octet by octet)."""
        if mode == "frame":
            for f in frames:
                self.send(f)
                time.sleep(0.001)
        elif mode:
            data = b"".join(frames)
            self.send(data, mode, 0.0002 if mode <= 2 and len(data) <= 4096 else 0.0)
        else:
            self.send(b"".join(frames))

    def send_close(self, payload=b"\x03\xe8"):
        """Our close frame: it starts the closing handshake unless the server's came first."""
        if self.closed_by_me is None:
            self.closed_by_me = True
        self.sent_close = True
        return self.send(frame(8, payload))

    def finish(self):
        """End the case: answer the server's close frame if it came first; after our own, wait
        CLOSE_WAIT for its answer; once both are out, wait DROP_WAIT for the server to end TCP (a
        server that failed the connection may end it without a close frame). Whatever is still
        open then is dropped by us, which Autobahn holds against the server."""
        if self.sent_close and self.server_close is None:
            self.wait(self.closed, CLOSE_WAIT)
        if self.server_close is not None and not self.sent_close and not self.eof:
            code = self.server_close[0]
            self.sent_close = True
            self.send(frame(8, close_payload(code if code not in (None, 1005, 1006) else None)))
        if self.server_close is not None:
            self.wait(lambda: self.eof, DROP_WAIT)
        if not self.eof:
            self.dropped_by_me = True
        self.sock.close()

    def was_clean(self):
        return self.sent_close and self.server_close is not None


# ---- grading (Autobahn's case.py: behavior, then behaviorClose) ----

class Result:
    def __init__(self, grade, detail=""):
        self.grade, self.detail = grade, detail


def grade(c, expected, by_me, codes, require_clean, informational=False, wrong_endpoint_fatal=False,
          note=""):
    """expected: {OK: events, NON_STRICT: events}."""
    behavior, why = FAILED, "events %s; expected %s" % (show(c.events), show(expected[OK]))
    for g in (OK, NON_STRICT):
        if g in expected and c.events == expected[g]:
            behavior, why = g, ""
            break
    code = c.server_close[0] if c.server_close else None
    if c.closed_by_me is None:
        c.closed_by_me = False          # the server dropped TCP without a close frame
    if by_me != c.closed_by_me:
        if by_me and c.server_close is None:
            close = "the server ended TCP without a close frame before the client closed"
        elif by_me:
            close = "the server sent a close frame first (the client was to close)"
        else:
            close = "the client had to close first: the server did not fail the connection"
    elif not c.closed():
        close = "the server neither closed nor ended TCP within %.0f s" % CASE_TIMEOUT
    elif require_clean and not c.was_clean():
        close = "unclean: %s" % ("no close frame from the server" if c.server_close is None
                                 else "our close frame was not sent")
    elif code is not None and code not in codes:
        close = "close code %d, expected %s" % (code, "/".join(map(str, codes)))
    elif c.dropped_by_me:
        close = "the server did not end TCP (the client dropped it)"
    else:
        close = ""
    parts = [p for p in (note, why, close) if p]
    if c.violations:
        parts.append("server sent " + "; ".join(c.violations))
    if c.reset and (close or why):
        parts.append("(TCP reset)")
    tail = "close %s%s" % ("-" if code is None else code,
                           ", dropped TCP without a close frame" if c.server_close is None else "")
    detail = "; ".join(parts + [tail])
    if c.violations:
        return Result(FAILED, detail)
    if informational:
        return Result(INFORMATIONAL, "; ".join(parts + [show(c.events), tail]))
    if behavior == FAILED or close:
        return Result(FAILED, detail)
    return Result(behavior, detail)


def clean(codes=(1000,), require=True):
    return {"by_me": True, "codes": codes, "require_clean": require}


def fail(*codes):
    return {"by_me": False, "codes": codes or (1002,), "require_clean": False}


# ---- the cases ----

class Case:
    """Send steps (raw frames, and ("close", payload) for our closing handshake's frame) in mode
    (None: one write, "frame", or a chop size), then: for a close expectation that is ours and not
    sent by the steps, wait for the expected events and close with 1000 (Autobahn's
    finishWhenDone); for a failure, wait for the server to fail the connection."""

    def __init__(self, cid, steps, expect, close, mode=None, nonstrict=None, informational=False,
                 timeout=CASE_TIMEOUT):
        self.id, self.steps, self.expect, self.close = cid, steps, expect, close
        self.mode, self.nonstrict, self.informational, self.timeout = mode, nonstrict, informational, timeout

    def run(self, target):
        c = Conn(target, self.timeout)
        frames, own_close = [], False
        for s in self.steps:
            if isinstance(s, tuple):                # ("close", payload): our close frame
                frames.append(frame(8, s[1]))
                own_close = True
            else:
                frames.append(s)
        if own_close:
            c.closed_by_me, c.sent_close = True, True
        c.send_frames(frames, self.mode)
        if not self.close["by_me"]:
            c.wait(c.closed, FAIL_WAIT)
        elif not own_close:
            c.wait(lambda: len(c.events) >= len(self.expect) or c.closed(), EVENT_WAIT)
            if not c.closed():
                c.send_close()
        c.finish()
        expected = {OK: self.expect}
        if self.nonstrict is not None:
            expected[NON_STRICT] = self.nonstrict
        return grade(c, expected, self.close["by_me"], self.close["codes"], self.close["require_clean"],
                     self.informational)


def T(p, fin=True, rsv=0):
    return frame(1, p, fin, rsv)


def B(p, fin=True, rsv=0):
    return frame(2, p, fin, rsv)


def C(p, fin=True):
    return frame(0, p, fin)


def PING(p=b"", rsv=0, fin=True):
    return frame(9, p, fin, rsv)


def PONG(p=b"", fin=True):
    return frame(10, p, fin)


def msg(p, binary=False):
    return ("message", p, binary)


def section1_2_7():
    cases = []
    for i, n in enumerate([0, 125, 126, 127, 128, 65535, 65536, 65536], 1):
        chop = 997 if i == 8 else None
        t, b = b"*" * n, b"\xfe" * n
        cases.append(Case("1.1.%d" % i, [T(t)], [msg(t)], clean(), chop))
        cases.append(Case("1.2.%d" % i, [B(b)], [msg(b, True)], clean(), chop))
    hello, bin8 = b"Hello, world!", b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff"
    cases += [
        Case("2.1", [PING()], [("pong", b"")], clean()),
        Case("2.2", [PING(hello)], [("pong", hello)], clean()),
        Case("2.3", [PING(bin8)], [("pong", bin8)], clean()),
        Case("2.4", [PING(b"\xfe" * 125)], [("pong", b"\xfe" * 125)], clean()),
        Case("2.5", [PING(b"\xfe" * 126)], [], fail(1002)),
        Case("2.6", [PING(b"\xfe" * 125)], [("pong", b"\xfe" * 125)], clean(), 1),
        Case("2.7", [PONG()], [], clean()),
        Case("2.8", [PONG(b"unsolicited pong payload")], [], clean()),
        Case("2.9", [PONG(b"unsolicited pong payload"), PING(b"ping payload")], [("pong", b"ping payload")],
             clean()),
        Case("2.10", [PING(b"payload-%d" % i) for i in range(10)],
             [("pong", b"payload-%d" % i) for i in range(10)], clean()),
        Case("2.11", [PING(b"payload-%d" % i) for i in range(10)],
             [("pong", b"payload-%d" % i) for i in range(10)], clean(), 1),
        Case("3.1", [T(hello, rsv=1)], [], fail(1002)),
        Case("3.2", [T(hello), T(hello, rsv=2), PING(hello)], [msg(hello)], fail(1002)),
        Case("3.3", [T(hello), T(hello, rsv=3), PING(hello)], [msg(hello)], fail(1002), "frame"),
        Case("3.4", [T(hello), T(hello, rsv=4), PING(hello)], [msg(hello)], fail(1002), 1),
        Case("3.5", [B(bin8, rsv=5)], [], fail(1002)),
        Case("3.6", [PING(hello, rsv=6)], [], fail(1002)),
        Case("3.7", [frame(8, close_payload(1000), rsv=7)], [], fail(1002)),
    ]
    for i, op in enumerate([3, 4, 5, 6, 7], 1):
        for sec, o in (("4.1", op), ("4.2", op + 8)):
            p = b"" if i == 1 else b"reserved opcode payload"
            if i <= 2:
                cases.append(Case("%s.%d" % (sec, i), [frame(o, p)], [], fail(1002)))
            else:
                cases.append(Case("%s.%d" % (sec, i), [T(hello), frame(o, p), PING(hello)], [msg(hello)],
                                  fail(1002)))
    f1, f2 = b"fragment1", b"fragment2"
    cases += [
        Case("5.1", [PING(f1, fin=False), C(f2)], [], fail(1002)),
        Case("5.2", [PONG(f1, fin=False), C(f2)], [], fail(1002)),
    ]
    for i, mode in ((3, None), (4, "frame"), (5, 1)):
        cases.append(Case("5.%d" % i, [T(f1, False), C(f2)], [msg(f1 + f2)], clean(), mode))
    for i, mode in ((6, None), (7, "frame"), (8, 1)):
        cases.append(Case("5.%d" % i, [T(f1, False), PING(b"ping payload"), C(f2)],
                          [("pong", b"ping payload"), msg(f1 + f2)], clean(), mode))
    nc = b"non-continuation payload"
    for i, mode in ((9, None), (10, "frame"), (11, 1)):
        cases.append(Case("5.%d" % i, [C(nc, True), T(hello)], [], fail(1002), mode))
    for i, mode in ((12, None), (13, "frame"), (14, 1)):
        cases.append(Case("5.%d" % i, [C(nc, False), T(hello)], [], fail(1002), mode))
    cases += [
        Case("5.15", [T(f1, False), C(f2), C(b"fragment3", False), T(b"fragment4")], [msg(f1 + f2)],
             fail(1002)),
        Case("5.16", [C(f1, False), T(f2, False), C(b"fragment3")] * 2, [], fail(1002)),
        Case("5.17", [C(f1, True), T(f2, False), C(b"fragment3")] * 2, [], fail(1002)),
        Case("5.18", [T(f1, False), T(f2)], [], fail(1002)),
        Case519("5.19", None),
        Case519("5.20", "frame"),
        Case("6.1.1", [T(b"")], [msg(b"")], clean()),
        Case("6.1.2", [T(b"", False), C(b"", False), C(b"")], [msg(b"")], clean()),
        Case("6.1.3", [T(b"", False), C(b"middle frame payload", False), C(b"")],
             [msg(b"middle frame payload")], clean()),
    ]
    p1, p2 = "Hello-µ@ßöä".encode(), "üàá-UTF-8!!".encode()
    kosme = bytes.fromhex("cebae1bdb9cf83cebcceb5")
    bad = kosme + bytes.fromhex("eda080") + b"edited"
    cases += [
        Case("6.2.1", [T(p1 + p2)], [msg(p1 + p2)], clean()),
        Case("6.2.2", [T(p1, False), C(p2)], [msg(p1 + p2)], clean()),
        Case("6.2.3", one_octet_frames(p1 + p2), [msg(p1 + p2)], clean()),
        Case("6.2.4", one_octet_frames(kosme), [msg(kosme)], clean()),
        Case("6.3.1", [T(bad)], [], fail(1007)),
        Case("6.3.2", one_octet_frames(bad), [], fail(1007)),
    ]
    bad2 = kosme + bytes.fromhex("f4908080") + b"edited"
    cases += [Case64("6.4.1", [kosme, bytes.fromhex("f4908080"), b"edited"], frames=True),
              Case64("6.4.2", [bad2[:12], bad2[12:13], bad2[13:]], frames=True),
              Case64("6.4.3", [kosme, bytes.fromhex("f4908080"), b"edited"], frames=False),
              Case64("6.4.4", [bad2[:12], bad2[12:13], bad2[13:]], frames=False)]
    hw = b"Hello World!"
    cases += [
        Case("7.1.1", [T(hw), ("close", close_payload(1000))], [msg(hw)], clean()),
        Case("7.1.2", [("close", close_payload(1000)), frame(8, close_payload(1000))], [], clean()),
        Case("7.1.3", [("close", close_payload(1000)), PING(hw)], [], clean()),
        Case("7.1.4", [("close", close_payload(1000)), T(hw)], [], clean()),
        Case("7.1.5", [T(f1, False), ("close", close_payload(1000)), C(f2)], [], clean()),
        Case("7.1.6", [T(text_payload(256 << 10)), T(hw), ("close", close_payload(1000)), PING()],
             [msg(text_payload(256 << 10)), msg(hw)], clean(), nonstrict=[], informational=True),
        Case("7.3.1", [("close", b"")], [], clean()),
        Case("7.3.2", [("close", b"a")], [], clean((1002,), False)),
        Case("7.3.3", [("close", close_payload(1000))], [], clean()),
        Case("7.3.4", [("close", close_payload(1000, hw))], [], clean()),
        Case("7.3.5", [("close", close_payload(1000, b"*" * 123))], [], clean()),
        Case("7.3.6", [("close", close_payload(1000, b"*" * 124))], [], clean((1002,), False)),
        Case("7.5.1", [("close", close_payload(1000, bad))], [], clean((1002, 1007), False)),
    ]
    valid = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999]
    for i, code in enumerate(valid, 1):
        cases.append(Case("7.7.%d" % i, [("close", close_payload(code))], [], clean((1000, code))))
    for i, code in enumerate([0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999], 1):
        cases.append(Case("7.9.%d" % i, [("close", close_payload(code))], [], clean((1002,), False)))
    for i, code in enumerate([5000, 65535], 1):
        cases.append(Case("7.13.%d" % i, [("close", close_payload(code))], [],
                          clean((1000, code, 1002), False), informational=True))
    return cases


def one_octet_frames(p, upto=None):
    """p as one-octet fragments of a text message (the first upto of them)."""
    n = len(p)
    fs = [frame(1 if i == 0 else 0, p[i:i + 1], i == n - 1) for i in range(n)]
    return fs if upto is None else fs[:upto]


class Case519(Case):
    """5.19/5.20: the first ping's pong must come before the message's last fragments are sent."""

    def __init__(self, cid, mode):
        Case.__init__(self, cid, [], [], clean(), mode)

    def run(self, target):
        frags = [b"fragment%d" % i for i in range(1, 6)]
        pings = [b"pongme 1!", b"pongme 2!"]
        c = Conn(target)
        c.send_frames([T(frags[0], False), C(frags[1], False), PING(pings[0])], self.mode)
        early = c.wait(lambda: len(c.events) >= 1 or c.closed(), 1.0)
        c.send_frames([C(frags[2], False), C(frags[3], False), PING(pings[1]), C(frags[4])], self.mode)
        expect = [("pong", pings[0]), ("pong", pings[1]), msg(b"".join(frags))]
        c.wait(lambda: len(c.events) >= 3 or c.closed(), EVENT_WAIT)
        if not c.closed():
            c.send_close()
        c.finish()
        note = "" if early else "no pong to the first ping within 1 s, before the last fragments"
        r = grade(c, {OK: expect}, True, (1000,), True, note=note)
        if note and r.grade == OK:
            r = Result(FAILED, r.detail)
        return r


class Case64(Case):
    """6.4.x: three parts of an invalid text message (frames, or chops of one frame), a wait after
    each: no close after the valid first part, a close (1007) right after the part holding the first
    invalid byte; one only after the last part is NON-STRICT."""

    def __init__(self, cid, parts, frames):
        Case.__init__(self, cid, [], [], fail(1007))
        self.parts, self.frames = parts, frames

    def run(self, target):
        c = Conn(target)
        p = self.parts
        whole = b"".join(p)
        if self.frames:
            writes = [T(p[0], False), C(p[1], False), C(p[2])]
        else:
            f = frame(1, whole)
            head = len(f) - len(whole)
            writes = [f[:head + len(p[0])], f[head + len(p[0]):head + len(p[0]) + len(p[1])],
                      f[head + len(p[0]) + len(p[1]):]]
        c.send(writes[0])
        timeouts = []
        if not c.wait(c.closed, 0.3):
            timeouts.append("A")
            c.send(writes[1])
            if not c.wait(c.closed, FAST_WAIT):
                timeouts.append("B")
                c.send(writes[2])
                c.wait(c.closed, FAIL_WAIT)
        c.finish()
        c.events = [("timeout", x) for x in timeouts] + c.events
        expected = {OK: [("timeout", "A")], NON_STRICT: [("timeout", "A"), ("timeout", "B")]}
        r = grade(c, expected, False, (1007,), False, wrong_endpoint_fatal=True)
        if timeouts == ["A", "B"] and r.grade == NON_STRICT:
            r.detail = "closed only after the whole message; " + r.detail
        return r


# ---- section 6.5-6.23: the UTF-8 sequences, sent four ways ----

class CaseUtf8(Case):
    def __init__(self, cid, payload, valid, group):
        Case.__init__(self, cid, [], [], clean() if valid else fail(1007))
        self.payload, self.valid, self.group = payload, valid, group
        bad, whole = utf8_scan(payload)
        assert (bad is None and whole) == valid, "%s: the validity flag disagrees with UTF-8" % cid
        assert valid == utf8_valid(payload), "%s: Python's UTF-8 decoder disagrees" % cid
        self.bad = bad          # None: no invalid byte (valid, or cut inside its last character)

    def variants(self):
        p = self.payload
        out = [("one frame", [frame(1, p)], None)]
        out += [("split at %d" % k, [T(p[:k], False), C(p[k:])], k) for k in range(len(p) + 1)]
        out.append(("one-octet frames", one_octet_frames(p), "frames"))
        out.append(("one frame octet by octet", [frame(1, p)], "chops"))
        for m in (7, 8, 9, 15, 16, 17):         # across the reader's eight-byte ASCII steps
            q = b"a" * m + p
            out.append(("after %d ASCII bytes" % m, [frame(1, q)], ("ascii", q)))
        return out

    def run_variant(self, target, name, frames, how):
        """Send the variant. For an invalid sequence with an invalid byte, only what holds the bytes
        up to and including it goes first: between frames (split, one-octet frames) a ping follows
        it, whose pong would show the server went on reading instead of failing (NON-STRICT, then
        the rest is sent); inside one frame (octet by octet) the close must come within FAST_WAIT."""
        c = Conn(target)
        p, bad = self.payload, self.bad
        note = ""
        barrier = b"fail-fast barrier"
        if isinstance(how, tuple):              # ASCII before it: one frame, sent whole
            p = how[1]
            c.send(frames[0])
        elif self.valid or bad is None:         # nothing to fail fast on: send it all
            if how == "chops":
                c.send(frames[0], 1, 0.0002)
            elif how == "frames":
                c.send_frames(frames, 1)
            else:
                c.send(b"".join(frames))
        elif how == "chops":
            f = frames[0]
            head = len(f) - len(p)
            if self._send_watching(c, f[:head + bad]):
                note = "failed the connection before the first invalid byte (at %d) was sent" % bad
            else:
                c.send(f[head + bad:head + bad + 1])
                if not c.wait(c.closed, FAST_WAIT):
                    note = "no close within %.0f s of the first invalid byte (at %d)" % (FAST_WAIT, bad)
                    c.send(f[head + bad + 1:])
        else:
            if how == "frames":
                before, first, rest = b"".join(frames[:bad]), frames[bad], b"".join(frames[bad + 1:])
            elif how is not None and bad < how:  # split: the invalid byte is in the first frame
                before, first, rest = b"", frames[0], frames[1]
            else:
                before, first, rest = b"", b"".join(frames), b""
            if self._send_watching(c, before):
                note = "failed the connection before the first invalid byte (at %d) was sent" % bad
            elif not rest:
                c.send(first)
            else:
                c.send(first + frame(9, barrier))
                c.wait(lambda: c.closed() or ("pong", barrier) in c.events, FAIL_WAIT)
                if ("pong", barrier) in c.events:
                    c.events.remove(("pong", barrier))
                    note = "went on reading after the first invalid byte (at %d): it answered a ping" % bad
                    c.send(rest)
        if self.valid:
            c.wait(lambda: len(c.events) >= 1 or c.closed(), EVENT_WAIT)
            if not c.closed():
                c.send_close()
        else:
            c.wait(c.closed, FAIL_WAIT)
        c.finish()
        if self.valid:
            return grade(c, {OK: [msg(p)]}, True, (1000,), True)
        r = grade(c, {OK: []}, False, (1007,), False, wrong_endpoint_fatal=True, note=note)
        if note and r.grade == OK:
            r = Result(FAILED if note.startswith("failed") else NON_STRICT, r.detail)
        return r

    @staticmethod
    def _send_watching(c, data):
        """Send data octet by octet, checking before each octet that the server has not closed:
        True if it has (before the invalid byte)."""
        for i in range(len(data)):
            c.poll()
            if c.closed():
                return True
            c.send(data[i:i + 1])
            time.sleep(0.0002)
        c.poll()
        return c.closed()


def utf8_cases():
    src = json.load(open(os.path.join(HERE, "autobahn-utf8-cases.json")))
    return [CaseUtf8(c["id"], bytes.fromhex(c["payload_hex"]), c["valid"], c["group"]) for c in src["cases"]]


# ---- section 9: large messages; 10: fragmentation ----

class CaseBig(Case):
    """One message of n bytes (text or binary), in frames of frag bytes (None: one frame), written
    in chops of chop bytes; the echo must be the same bytes (Autobahn checks only the length)."""

    def __init__(self, cid, n, binary, frag=None, chop=None, timeout=30.0):
        Case.__init__(self, cid, [], [], clean(), timeout=timeout)
        self.n, self.binary, self.frag, self.chop = n, binary, frag, chop

    def run(self, target):
        p = binary_payload(self.n) if self.binary else text_payload(self.n)
        op = 2 if self.binary else 1
        if self.frag:
            parts = [p[i:i + self.frag] for i in range(0, len(p), self.frag)] or [b""]
            frames = [frame(op if i == 0 else 0, part, i == len(parts) - 1) for i, part in enumerate(parts)]
            data = b"".join(frames)
        else:
            data = frame(op, p)
        c = Conn(target, self.timeout)
        t0 = time.monotonic()
        c.send(data, self.chop)
        c.wait(lambda: len(c.events) >= 1 or c.closed())
        took = time.monotonic() - t0
        if not c.closed():
            c.send_close()
        c.finish()
        r = grade(c, {OK: [msg(p, self.binary)]}, True, (1000,), True)
        r.detail = "%.3f s; %s" % (took, r.detail)
        return r


class CaseStream(Case):
    """9.9.1: one text message of 4 KiB fragments without end, for seconds or until the server
    closes: INFORMATIONAL, but a close must carry 1009 (the message is too big)."""

    def __init__(self, cid, seconds):
        Case.__init__(self, cid, [], [], fail(1009), timeout=seconds + CASE_TIMEOUT)
        self.seconds = seconds

    def run(self, target):
        c = Conn(target, self.timeout)
        chunk = text_payload(4096)
        sent, end = 0, time.monotonic() + self.seconds
        c.send(T(chunk, False))
        while time.monotonic() < end and not c.closed() and not c.send_error:
            c.send(C(chunk, False))
            sent += 4096
            if sent % (1 << 20) == 0:
                c.poll()
        c.wait(c.closed, FAIL_WAIT)
        c.finish()
        code = c.server_close[0] if c.server_close else None
        info = "%d KiB sent; %s" % (sent >> 10, "close %s" % code if c.server_close else
                                    "TCP ended without a close frame" if c.eof else "no close")
        if c.violations or (code is not None and code != 1009) or c.events:
            return Result(FAILED, info + "; events %s; %s" % (show(c.events), "; ".join(c.violations)))
        return Result(INFORMATIONAL, info)


def section9_10(full):
    K, M = 1 << 10, 1 << 20
    cases = []
    for sec, binary in (("9.1", False), ("9.2", True)):
        for i, n in enumerate([64 * K, 256 * K, M, 4 * M, 8 * M, 16 * M], 1):
            cases.append(CaseBig("%s.%d" % (sec, i), n, binary))
    for sec, binary in (("9.3", False), ("9.4", True)):
        for i, f in enumerate([64, 256, K, 4 * K, 16 * K, 64 * K, 256 * K, M, 4 * M], 1):
            cases.append(CaseBig("%s.%d" % (sec, i), 4 * M, binary, frag=f))
    for sec, binary in (("9.5", False), ("9.6", True)):
        for i, ch in enumerate([64, 128, 256, 512, 1024, 2048], 1):
            cases.append(CaseBig("%s.%d" % (sec, i), M, binary, chop=ch))
    cases.append(CaseStream("9.9.1", 5.0 if full else 1.0))
    if not full:
        keep = {"9.1.1", "9.1.3", "9.1.6", "9.2.2", "9.2.4", "9.2.6", "9.3.1", "9.3.5", "9.3.9", "9.4.2",
                "9.4.4", "9.4.8", "9.5.1", "9.5.6", "9.6.3", "9.9.1"}
        cases = [c for c in cases if c.id in keep]
    payload = b"*" * 65536
    cases.append(Case("10.1.1", [T(payload[i:i + 1300], i + 1300 >= 65536) if i == 0 else
                                 C(payload[i:i + 1300], i + 1300 >= 65536) for i in range(0, 65536, 1300)],
                      [msg(payload)], clean()))
    return cases


# ---- section X: webfw's own checks of RFC 6455 rules Autobahn does not probe ----

class CaseLimit(Case):
    """A message past the 16 MiB limit: close 1009 once the length shows it (one frame: at its
    head; fragments: at the fragment that passes it), before the rest is sent."""

    def __init__(self, cid, frags):
        Case.__init__(self, cid, [], [], fail(1009), timeout=30.0)
        self.frags = frags

    def run(self, target):
        limit = 16 << 20
        c = Conn(target, self.timeout)
        note = ""
        if self.frags:
            part = b"\xab" * (1 << 20)
            for i in range(16):
                c.send(frame(2 if i == 0 else 0, part, False))
            over = frame(0, b"\xab", True)
            c.send(over)
            c.wait(c.closed, FAIL_WAIT)
        else:
            f = frame(2, b"\xab" * (limit + 1))
            c.send(f[:14 + 65536])
            if not c.wait(c.closed, FAST_WAIT):
                note = "no close once the head declared %d bytes" % (limit + 1)
                c.send(f[14 + 65536:])
                c.wait(c.closed, FAIL_WAIT)
        c.finish()
        r = grade(c, {OK: []}, False, (1009,), False, note=note)
        if note and r.grade == OK:
            r = Result(NON_STRICT, r.detail)
        return r


def section_x():
    hello = b"Hello, world!"
    return [
        Case("X.1", [frame(1, hello, masked=False)], [], fail(1002)),                  # RFC 6455 5.1
        Case("X.2", [T(hello), frame(1, hello, masked=False), PING(hello)], [msg(hello)], fail(1002)),
        Case("X.3", [frame(1, hello, len_bytes=2)], [], fail(1002)),                   # 5.2: shortest length
        Case("X.4", [frame(2, b"\x01" * 200, len_bytes=8)], [], fail(1002)),
        Case("X.5", [frame(2, b"", length=1 << 63)], [], fail(1002, 1009)),            # 5.2: top bit 0
        Case("X.6", [frame(9, b"", len_bytes=2)], [], fail(1002)),                     # control: 7-bit only
        Case("X.7", [T(b"\xce", False), PING(b"p"), C(b"\xba")], [("pong", b"p"), msg(b"\xce\xba")], clean()),
        Case("X.8", [T(text_payload(70000), False), PING(b"p"), C(b"")], [("pong", b"p"),
                                                                         msg(text_payload(70000))], clean()),
        CaseLimit("X.9", frags=False),
        CaseLimit("X.10", frags=True),
        CaseBig("X.11", 16 << 20, True, frag=1 << 20),
        CaseBig("X.12", 16 << 20, False, frag=3 << 20, chop=1 << 16),
        Case("X.13", *reuse_steps(), clean(), 1000),
        Case("X.14", *pipelined_steps(), clean()),
        CaseSlowReader("X.15"),
    ]


class CaseSlowReader(Case):
    """A 6 MiB message and our close in one write, then nothing read for 0.5 s (the echo fills the
    socket buffers): then the echo, the close answer and the end of TCP must all come."""

    def __init__(self, cid):
        Case.__init__(self, cid, [], [], clean(), timeout=20.0)

    def run(self, target):
        p = binary_payload(6 << 20)
        c = Conn(target, self.timeout)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        c.closed_by_me, c.sent_close = True, True
        c.sock.settimeout(10)
        c.sock.sendall(frame(2, p) + frame(8, close_payload(1000)))
        c.sock.setblocking(False)
        time.sleep(0.5)
        c.wait(lambda: c.server_close is not None or c.eof, 10)
        c.finish()
        return grade(c, {OK: [msg(p, True)]}, True, (1000,), True)


def fragments(op, p, size):
    parts = [p[i:i + size] for i in range(0, len(p), size)]
    return [frame(op if i == 0 else 0, part, i == len(parts) - 1) for i, part in enumerate(parts)]


def reuse_steps():
    """Messages of different sizes and kinds on one connection (the reader's message buffer is
    kept, grown and freed between them), written in 1000-byte chops."""
    b1, t1, b2, t2, b3 = (binary_payload(100000), text_payload(200001), binary_payload(1 << 20),
                          text_payload(70000), binary_payload(70000))
    steps = (fragments(2, b1, 30000) + fragments(1, b"abcd", 2) + [T(b"whole")] + fragments(2, b2, 256 << 10)
             + fragments(1, t1, 777) + [B(b3)] + fragments(1, t2, 65536) + [T(b"")] + fragments(2, b"xy", 1))
    expect = [msg(b1, True), msg(b"abcd"), msg(b"whole"), msg(b2, True), msg(t1), msg(b3, True), msg(t2),
              msg(b""), msg(b"xy", True)]
    return steps, expect


def pipelined_steps():
    """300 messages and pings in one write: every echo and pong, in order."""
    steps, expect = [], []
    for i in range(300):
        p = ("message %d κόσμε" % i).encode()
        if i % 10 == 9:
            steps.append(PING(b"ping %d" % i))
            expect.append(("pong", b"ping %d" % i))
        elif i % 3 == 0:
            steps.append(B(p))
            expect.append(msg(p, True))
        elif i % 3 == 1:
            steps += fragments(1, p, 5)
            expect.append(msg(p))
        else:
            steps.append(T(p))
            expect.append(msg(p))
    return steps, expect


XDESC = {
    "X.1": "Unmasked text frame: the server must close (RFC 6455 5.1), 1002.",
    "X.2": "Text message, then an unmasked one, then a ping: echo of the first only, then 1002.",
    "X.3": "Text frame whose 13-byte length uses the 16-bit form: 1002 (webfw requires shortest lengths).",
    "X.4": "Binary frame whose 200-byte length uses the 64-bit form: 1002.",
    "X.5": "A 64-bit length with its most significant bit set: 1002 (or 1009).",
    "X.6": "Ping whose empty length uses the 16-bit form: 1002.",
    "X.7": "A two-byte character split across fragments with a ping between: pong, then the echo.",
    "X.8": "A 70000-byte text fragment, a ping, an empty final fragment: pong, then the echo.",
    "X.9": "A binary frame declaring 16 MiB + 1: close 1009 from its head, before the payload is sent.",
    "X.10": "16 fragments of 1 MiB then 1 byte more (16 MiB + 1): close 1009.",
    "X.11": "16 MiB binary (the limit) in 1 MiB fragments: echoed byte for byte.",
    "X.12": "16 MiB text (the limit) in 3 MiB fragments written in 64 KiB chops: echoed byte for byte.",
    "X.13": "Nine messages of 0 bytes to 1 MiB, whole and fragmented, on one connection in 1000-byte chops.",
    "X.14": "300 messages and pings in one write: every echo and pong, in order.",
    "X.15": "A 6 MiB message and a close, then 0.5 s without reading: the echo, the close, the end of TCP.",
}


# ---- running ----

class Target:
    def __init__(self, port, path):
        self.port, self.path = port, path


def run_case(target, case):
    t0 = time.monotonic()
    try:
        if isinstance(case, CaseUtf8):
            results = [(name, case.run_variant(target, name, frames, how))
                       for name, frames, how in case.variants()]
            worst = max(results, key=lambda r: RANK[r[1].grade])[1].grade
            bad = ["%s: %s %s" % (n, r.grade, r.detail) for n, r in results if r.grade != OK]
            first = results[0][1].detail
            r = Result(worst, "; ".join(bad[:4]) + (" (+%d more)" % (len(bad) - 4) if len(bad) > 4 else "")
                       if bad else "%d ways; %s" % (len(results), first))
        else:
            r = case.run(target)
    except (CaseError, OSError) as e:
        r = Result(FAILED, "%s: %s" % (type(e).__name__, e))
    r.seconds = time.monotonic() - t0
    return r


RANK = {OK: 0, INFORMATIONAL: 1, NON_STRICT: 2, FAILED: 3}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--path", default="/ws-echo")
    ap.add_argument("--full", action="store_true", help="every case of section 9 (else a reduced set)")
    ap.add_argument("-k", default="", help="only case ids matching this glob (e.g. '6.4.*'), or prefix")
    ap.add_argument("-j", type=int, default=4, help="cases run at once (sections 1-7; 9 runs alone)")
    args = ap.parse_args()
    target = Target(args.port, args.path)

    described = json.load(open(os.path.join(HERE, "autobahn-case-descriptions.json")))["cases"]
    descs = {c["id"]: c for c in described}
    cases = section1_2_7() + utf8_cases() + section9_10(args.full) + section_x()
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    missing = [i for i in descs if i not in ids and not (args.full is False and i.startswith("9."))]
    assert not missing, "cases described but not implemented: %s" % missing
    if args.k:
        cases = [c for c in cases if fnmatch.fnmatch(c.id, args.k) or c.id.startswith(args.k)]

    t_start = time.monotonic()
    small = [c for c in cases if not isinstance(c, (CaseBig, CaseStream, CaseLimit, CaseSlowReader))]
    big = [c for c in cases if isinstance(c, (CaseBig, CaseStream, CaseLimit, CaseSlowReader))]
    results = {}
    with concurrent.futures.ThreadPoolExecutor(max(1, args.j)) as pool:
        futs = {c.id: pool.submit(run_case, target, c) for c in small}
        for c in small:
            results[c.id] = futs[c.id].result()
            report(c, results[c.id], descs)
    for c in big:
        results[c.id] = run_case(target, c)
        report(c, results[c.id], descs)
    took = time.monotonic() - t_start

    counts = {g: 0 for g in RANK}
    bad, known, fixed = [], [], []
    for c in cases:
        g = results[c.id].grade
        counts[g] += 1
        if c.id in KNOWN_FAILURES:
            (known if g in (FAILED, NON_STRICT) else fixed).append(c.id)
        elif g in (FAILED, NON_STRICT):
            bad.append(c.id)
    print("== autobahn: %d cases in %.1f s: %s" % (len(cases), took, ", ".join("%d %s" % (counts[g], g)
                                                                          for g in RANK)))
    for cid in known:
        print("   known failure %s: %s" % (cid, KNOWN_FAILURES[cid]))
    for cid in fixed:
        print("   %s is listed in KNOWN_FAILURES but now passes: remove it from tests/ws/autobahn.py" % cid)
    if bad:
        print("   failing: %s" % " ".join(bad))
    npass = sum(1 for c in cases if c.id not in bad and c.id not in fixed and c.id not in known)
    if known:
        print("   (the %d known failures are counted as skipped)" % len(known))
    print("autobahn: %d passed, %d failed, %d skipped" % (npass, len(bad) + len(fixed), len(known)))
    return 1 if bad or fixed else 0


def report(case, r, descs):
    mark = " (known failure: %s)" % KNOWN_FAILURES[case.id] if case.id in KNOWN_FAILURES and \
        r.grade in (FAILED, NON_STRICT) else ""
    print("%-8s %-13s %6.3fs  %s%s" % (case.id, r.grade, r.seconds, r.detail, mark), flush=True)
    if r.grade in (FAILED, NON_STRICT):
        d = descs.get(case.id) or {"description": XDESC.get(case.id, getattr(case, "group", "")),
                                   "expectation": ""}
        print("         case: %s" % d["description"])
        if d["expectation"]:
            print("         expected: %s" % d["expectation"])


if __name__ == "__main__":
    sys.exit(main())
