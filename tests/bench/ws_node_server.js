'use strict';
// The npm ws package's side of the WebSocket benchmark (tests/bench/ws_run.sh), as
// tests/bench/ws_bench_server.c: WS /ws-echo echoes text as text and binary as binary; WS /room
// keeps its clients in a Set and sends the payload of a text "BROADCAST <payload>" to each of them
// (the loop ws's README shows). ws 8 with its native bufferutil for masking, pinned in
// tests/bench/ws/package-lock.json (npm ci puts them in build/ws-bench-node).
//     PORT=18090 NODE_PATH=build/ws-bench-node/node_modules node tests/bench/ws_node_server.js
const http = require('http');
const { WebSocketServer, WebSocket } = require('ws');

const port = Number(process.env.PORT || 8000);
const server = http.createServer((req, res) => {
  res.writeHead(404);
  res.end();
});
const wss = new WebSocketServer({ server, maxPayload: 16 << 20 });
const room = new Set();

wss.on('connection', (ws, req) => {
  if (req.url === '/room') {
    room.add(ws);
    ws.on('close', () => room.delete(ws));
    ws.on('message', (data, isBinary) => {
      if (isBinary || data.length < 10 || data.latin1Slice(0, 10) !== 'BROADCAST ') return;
      const payload = data.subarray(10);
      for (const client of room) {
        if (client.readyState === WebSocket.OPEN) client.send(payload, { binary: false });
      }
    });
  } else {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  }
});

process.on('SIGTERM', () => process.exit(0));
server.listen(port, '127.0.0.1', () => {
  let bufferutil = 'absent';
  try {
    bufferutil = String(require('bufferutil').mask).includes('[native code]') ? 'native' : 'fallback (JS)';
  } catch (e) {
    bufferutil = 'absent';
  }
  console.log(`ws on 127.0.0.1:${port}, node ${process.version}, bufferutil ${bufferutil}`);
});
