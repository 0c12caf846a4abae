#!/usr/bin/python3
"""Debian's python3-websockets as a strict outside client of an echo endpoint.

    /usr/bin/python3 tests/ws/client_python.py --port PORT [--path /ws-echo]

The library checks what the server sends (the handshake's accept key, unmasked frames, no RSV bits,
UTF-8 text, the close frame's code) and fails the connection on anything else. Each check runs
with a timeout; one line per check, then "client_python: N passed, N failed"; exit status 1 if any
failed.
"""
import argparse
import asyncio
import os
import random
import sys
import time
import urllib.error
import urllib.request

import websockets
import websockets.exceptions

TIMEOUT = 20.0          # one check, at most
CLOSE_TIMEOUT = 4       # the client ends TCP itself if the server has not, this long after the close
MAX = 32 << 20          # the client's own message limit (the library's default is 1 MiB)


def connect(url, **kw):
    kw.setdefault("max_size", MAX)
    kw.setdefault("compression", None)      # webfw negotiates no extension; offer none
    kw.setdefault("open_timeout", 10)
    kw.setdefault("close_timeout", CLOSE_TIMEOUT)
    return websockets.connect(url, **kw)


async def echo(ws, data):
    await ws.send(data)
    got = await ws.recv()
    if type(got) is not type(data) or got != data:
        raise AssertionError("sent %s of %d, got %s of %d%s" % (
            type(data).__name__, len(data), type(got).__name__, len(got),
            "" if len(got) != len(data) else " (the bytes differ)"))


async def close(ws, code=1000, reason="", expect=None):
    """Close with code: the server must answer with expect (default: our code, echoed) and end TCP
    itself, well within the library's close_timeout (after which the client would end it)."""
    t0 = time.monotonic()
    await ws.close(code, reason)
    took = time.monotonic() - t0
    want = code if expect is None else expect
    if ws.close_code != want:
        raise AssertionError("the server's close code is %r, expected %d" % (ws.close_code, want))
    if took > CLOSE_TIMEOUT - 1:
        raise AssertionError("the server took %.1f s to end TCP after the closing handshake" % took)


def utf8_text(n):
    """A str of exactly n bytes of UTF-8, mixing 1- to 4-byte characters."""
    raw = ("κόσμε € 𝄞 webfw ".encode() * (n // 10 + 1))[:n]
    while True:
        try:
            s = raw.decode()
            break
        except UnicodeDecodeError:
            raw = raw[:-1]
    return s + "*" * (n - len(raw))


def texts():
    return [("short text", "hello"), ("UTF-8 text", "Hello-µ@ßöäüàá-UTF-8!! κόσμε 𝄞"),
            ("empty text", ""), ("200 KiB text", utf8_text(200 << 10)), ("1 MiB text", utf8_text(1 << 20))]


def binaries():
    rnd = random.Random(7)
    return [("binary 0-255", bytes(range(256))), ("empty binary", b""),
            ("200 KiB binary", rnd.randbytes(200 << 10)), ("1 MiB binary", rnd.randbytes(1 << 20))]


class Checks:
    def __init__(self, port, path):
        self.port, self.path = port, path
        self.url = "ws://127.0.0.1:%d%s" % (port, path)
        self.passed, self.failed = 0, []

    async def check(self, name, coro_fn):
        t0 = time.monotonic()
        try:
            await asyncio.wait_for(coro_fn(), TIMEOUT)
        except Exception as e:          # each failure is reported, the others still run
            self.failed.append(name)
            print("FAIL %-44s %6.3fs  %s: %s" % (name, time.monotonic() - t0, type(e).__name__, e),
                  flush=True)
            return
        self.passed += 1
        print("ok   %-44s %6.3fs" % (name, time.monotonic() - t0), flush=True)

    # -- the checks --

    async def echo_one_connection(self):
        async with connect(self.url) as ws:
            for _, data in texts() + binaries():
                await echo(ws, data)
            await close(ws, 1000)

    def echo_each(self, data):
        async def run():
            async with connect(self.url) as ws:
                await echo(ws, data)
                await close(ws)
        return run

    async def ping_pong(self):
        async with connect(self.url) as ws:
            for payload in (b"", b"ping payload", bytes(range(125))):
                waiter = await ws.ping(payload)
                await asyncio.wait_for(waiter, 5)
            # pings between messages: every pong, and the echoes in order
            waiters = []
            for i in range(10):
                await ws.send("m%d" % i)
                waiters.append(await ws.ping(b"p%d" % i))
            for i in range(10):
                got = await ws.recv()
                assert got == "m%d" % i, "echo %d is %r" % (i, got)
            await asyncio.wait_for(asyncio.gather(*waiters), 5)

    async def close_1000(self):
        async with connect(self.url) as ws:
            await echo(ws, "before close")
            await close(ws, 1000, "done")

    async def close_3000(self):
        async with connect(self.url) as ws:
            await close(ws, 3000, "custom reason")

    async def close_4999(self):
        async with connect(self.url) as ws:
            await close(ws, 4999)

    async def unknown_path_403(self):
        try:
            async with connect("ws://127.0.0.1:%d/no-such-ws" % self.port):
                pass
        except websockets.exceptions.InvalidStatusCode as e:
            if e.status_code != 403:
                raise AssertionError("status %d, expected 403" % e.status_code)
            return
        raise AssertionError("the handshake to an unknown path was accepted")

    async def plain_get_404(self):
        def get():
            try:
                urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.port, self.path), timeout=10)
            except urllib.error.HTTPError as e:
                return e.code
            return 200
        code = await asyncio.get_running_loop().run_in_executor(None, get)
        if code != 404:
            raise AssertionError("a plain GET on the WebSocket route got %d, expected 404" % code)

    async def no_subprotocol(self):
        async with connect(self.url) as ws:
            if ws.subprotocol is not None:
                raise AssertionError("subprotocol %r, none was offered" % ws.subprotocol)
        async with connect(self.url, subprotocols=["chat", "superchat"]) as ws:
            if ws.subprotocol is not None:
                raise AssertionError("subprotocol %r chosen, the route speaks none" % ws.subprotocol)
            await echo(ws, "still echoes")

    async def concurrent(self, n=50, per=5):
        async def client(k):
            rnd = random.Random(k)
            async with connect(self.url) as ws:
                for i in range(per):
                    if i % 2:
                        await echo(ws, rnd.randbytes(rnd.randrange(1, 70000)))
                    else:
                        await echo(ws, "client %d message %d %s" % (k, i, "é" * rnd.randrange(0, 5000)))
                await close(ws)
        await asyncio.gather(*(client(k) for k in range(n)))

    async def concurrent_pipelined(self, n=50, per=20):
        """Each client sends all its messages before reading: the echoes come back in order."""
        async def client(k):
            async with connect(self.url) as ws:
                msgs = [("c%d-%d " % (k, i)) * (i + 1) if i % 2 else os.urandom(i * 97 + 1)
                        for i in range(per)]
                for m in msgs:
                    await ws.send(m)
                for m in msgs:
                    got = await ws.recv()
                    assert got == m, "client %d: an echo differs" % k
                await close(ws)
        await asyncio.gather(*(client(k) for k in range(n)))

    async def run(self):
        await self.check("echo 9 messages on one connection", self.echo_one_connection)
        for name, data in texts() + binaries():
            await self.check("echo %s" % name, self.echo_each(data))
        await self.check("ping/pong (3 pings, 10 between messages)", self.ping_pong)
        await self.check("close 1000: echoed, TCP ended", self.close_1000)
        await self.check("close 3000 with a reason: 3000 echoed", self.close_3000)
        await self.check("close 4999: echoed", self.close_4999)
        await self.check("handshake to an unknown path: 403", self.unknown_path_403)
        await self.check("plain GET on the WebSocket route: 404", self.plain_get_404)
        await self.check("no subprotocol chosen", self.no_subprotocol)
        await self.check("50 concurrent clients, 5 messages each", self.concurrent)
        await self.check("50 concurrent clients, 20 pipelined each", self.concurrent_pipelined)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--path", default="/ws-echo")
    args = ap.parse_args()
    print("websockets %s (%s)" % (websockets.__version__, os.path.dirname(websockets.__file__)))
    checks = Checks(args.port, args.path)
    t0 = time.monotonic()
    asyncio.run(checks.run())
    print("== client_python: %.1f s%s" % (time.monotonic() - t0,
                                          "; failing: " + ", ".join(checks.failed) if checks.failed else ""))
    print("client_python: %d passed, %d failed" % (checks.passed, len(checks.failed)))
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
