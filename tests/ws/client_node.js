'use strict';
// The npm ws package (pinned in package.json / package-lock.json beside this file) as an outside
// client of an echo endpoint:
//     node tests/ws/client_node.js PORT [PATH]       (PATH defaults to /ws-echo)
// ws checks what the server sends (the accept key, extensions it did not ask for, unmasked frames,
// RSV bits, UTF-8 text, close codes) and fails the connection on anything else. It offers
// permessage-deflate, which webfw does not take: the connection must open without it. Each check runs
// with a timeout; one line per check, then "client_node: N passed, N failed"; exit status 1 if any
// failed.
const WebSocket = require('ws');
const http = require('http');
const crypto = require('crypto');

const port = Number(process.argv[2]);
const path = process.argv[3] || '/ws-echo';
if (!port) {
  console.error('usage: node client_node.js PORT [PATH]');
  process.exit(2);
}
const url = `ws://127.0.0.1:${port}${path}`;
const TIMEOUT = 20000;

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]);
}

// A connection whose events are read in order: next() gives the next message, pong or close.
function open(target = url, opts = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(target, { maxPayload: 64 << 20, ...opts });
    const queue = [];
    const waiting = [];
    const push = (ev) => (waiting.length ? waiting.shift()(ev) : queue.push(ev));
    ws.on('message', (data, isBinary) => push({ type: 'message', data, isBinary }));
    ws.on('pong', (data) => push({ type: 'pong', data }));
    ws.on('close', (code, reason) => push({ type: 'close', code, reason: reason.toString() }));
    ws.on('error', (err) => push({ type: 'error', err }));
    ws.next = () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((r) => waiting.push(r)));
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (req, res) => {
      reject(Object.assign(new Error(`unexpected response ${res.statusCode}`), { status: res.statusCode }));
      req.destroy();
    });
    ws.once('error', reject);
  });
}

function describe(ev) {
  if (ev.type === 'message') return `${ev.isBinary ? 'binary' : 'text'} message of ${ev.data.length} bytes`;
  if (ev.type === 'error') return `error ${ev.err.message}`;
  if (ev.type === 'close') return `close ${ev.code}`;
  return ev.type;
}

async function echo(ws, data) {
  const binary = Buffer.isBuffer(data);
  ws.send(data, { binary });
  const ev = await ws.next();
  const want = binary ? data : Buffer.from(data, 'utf8');
  if (ev.type !== 'message' || ev.isBinary !== binary || !want.equals(ev.data)) {
    throw new Error(`sent ${binary ? 'binary' : 'text'} of ${want.length} bytes, got ${describe(ev)}` +
                    (ev.type === 'message' && ev.data.length === want.length ? ' (the bytes differ)' : ''));
  }
}

// Close with code: the server must answer with our code (echoed), and the connection must end
// within 3 s (ws would wait 30 s). ws ends TCP itself once both close frames are out, so which side
// ends it first is autobahn.py's and client_python.py's to check.
async function close(ws, code = 1000, reason = '') {
  ws.close(code, reason);
  let ev;
  try {
    ev = await withTimeout((async () => {
      let e;
      do e = await ws.next(); while (e.type === 'message' || e.type === 'pong');
      return e;
    })(), 3000, 'the server ending TCP after the closing handshake');
  } catch (e) {
    ws.terminate();
    throw e;
  }
  if (ev.type !== 'close') throw new Error(`after our close: ${describe(ev)}`);
  if (ev.code !== code) throw new Error(`the server's close code is ${ev.code}, expected ${code}`);
}

function utf8Text(n) {
  // exactly n bytes of UTF-8 mixing 1- to 4-byte characters
  const unit = 'κόσμε € 𝄞 webfw ';
  const s = unit.repeat(Math.floor(n / Buffer.byteLength(unit)));
  return s + '*'.repeat(n - Buffer.byteLength(s));
}

function messages() {
  return [
    ['short text', 'hello'],
    ['UTF-8 text', 'Hello-µ@ßöäüàá-UTF-8!! κόσμε 𝄞'],
    ['empty text', ''],
    ['200 KiB text', utf8Text(200 << 10)],
    ['1 MiB text', utf8Text(1 << 20)],
    ['binary 0-255', Buffer.from([...Array(256).keys()])],
    ['empty binary', Buffer.alloc(0)],
    ['200 KiB binary', crypto.randomBytes(200 << 10)],
    ['1 MiB binary', crypto.randomBytes(1 << 20)],
  ];
}

const checks = [];
const check = (name, fn) => checks.push([name, fn]);

check('echo 9 messages on one connection, no extension', async () => {
  const ws = await open();
  if (ws.extensions !== '') throw new Error(`extensions ${JSON.stringify(ws.extensions)} were negotiated`);
  if (ws.protocol !== '') throw new Error(`subprotocol ${JSON.stringify(ws.protocol)} was chosen`);
  for (const [, data] of messages()) await echo(ws, data);
  await close(ws);
});

for (const [name, data] of messages()) {
  check(`echo ${name}`, async () => {
    const ws = await open();
    await echo(ws, data);
    await close(ws);
  });
}

check('ping/pong, and pings between messages', async () => {
  const ws = await open();
  for (const p of [Buffer.alloc(0), Buffer.from('ping payload'), Buffer.from([...Array(125).keys()])]) {
    ws.ping(p);
    const ev = await ws.next();
    if (ev.type !== 'pong' || !ev.data.equals(p)) throw new Error(`ping of ${p.length}: got ${describe(ev)}`);
  }
  for (let i = 0; i < 10; i++) {
    ws.send(`m${i}`);
    ws.ping(`p${i}`);
  }
  for (let i = 0; i < 10; i++) {
    const m = await ws.next();
    const p = await ws.next();
    if (m.type !== 'message' || m.data.toString() !== `m${i}`) throw new Error(`echo ${i}: ${describe(m)}`);
    if (p.type !== 'pong' || p.data.toString() !== `p${i}`) throw new Error(`pong ${i}: ${describe(p)}`);
  }
  await close(ws);
});

check('close 1000: echoed', async () => close(await open(), 1000, 'done'));
check('close 3000 with a reason: 3000 echoed', async () => close(await open(), 3000, 'custom reason'));
check('close 4999: echoed', async () => close(await open(), 4999));

check('handshake to an unknown path: 403', async () => {
  try {
    const ws = await open(`ws://127.0.0.1:${port}/no-such-ws`);
    ws.terminate();
  } catch (e) {
    if (e.status === 403) return;
    throw new Error(`expected 403, got ${e.status || e.message}`);
  }
  throw new Error('the handshake to an unknown path was accepted');
});

check('plain GET on the WebSocket route: 404', () => new Promise((resolve, reject) => {
  http.get({ host: '127.0.0.1', port, path }, (res) => {
    res.resume();
    res.statusCode === 404 ? resolve() : reject(new Error(`status ${res.statusCode}, expected 404`));
  }).on('error', reject);
}));

check('20 concurrent clients, 10 messages each', async () => {
  await Promise.all([...Array(20).keys()].map(async (k) => {
    const ws = await open();
    for (let i = 0; i < 10; i++) {
      if (i % 2) await echo(ws, crypto.randomBytes(1 + ((k * 7919 + i * 104729) % 70000)));
      else await echo(ws, `client ${k} message ${i} ` + 'é'.repeat((k * 31 + i) % 3000));
    }
    await close(ws);
  }));
});

check('20 concurrent clients, 50 pipelined each', async () => {
  await Promise.all([...Array(20).keys()].map(async (k) => {
    const ws = await open();
    const sent = [...Array(50).keys()].map((i) => (i % 2 ? crypto.randomBytes(i * 131 + 1)
                                                          : `c${k}-${i} `.repeat(i + 1)));
    for (const m of sent) ws.send(m, { binary: Buffer.isBuffer(m) });
    for (const m of sent) {
      const ev = await ws.next();
      const want = Buffer.isBuffer(m) ? m : Buffer.from(m);
      if (ev.type !== 'message' || ev.isBinary !== Buffer.isBuffer(m) || !want.equals(ev.data)) {
        throw new Error(`client ${k}: an echo differs (${describe(ev)})`);
      }
    }
    await close(ws);
  }));
});

(async () => {
  const pkg = require('ws/package.json');
  console.log(`ws ${pkg.version} (${require.resolve('ws')}), node ${process.version}`);
  const t0 = Date.now();
  let passed = 0;
  const failed = [];
  for (const [name, fn] of checks) {
    const t = Date.now();
    try {
      await withTimeout(Promise.resolve().then(fn), TIMEOUT, name);
      passed++;
      console.log(`ok   ${name.padEnd(48)} ${((Date.now() - t) / 1000).toFixed(3)}s`);
    } catch (e) {
      failed.push(name);
      console.log(`FAIL ${name.padEnd(48)} ${((Date.now() - t) / 1000).toFixed(3)}s  ${e.message}`);
    }
  }
  console.log(`== client_node: ${((Date.now() - t0) / 1000).toFixed(1)} s` +
              (failed.length ? `; failing: ${failed.join(', ')}` : ''));
  console.log(`client_node: ${passed} passed, ${failed.length} failed`);
  process.exit(failed.length ? 1 : 0);
})();
