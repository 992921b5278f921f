// What one crossing of the native boundary costs, over two real quiche connections joined in memory.
//
//   node bench/native-crossing.mjs [--runs 5] [--mib 32]
//
// Moves a bulk stream from client to server at 1350-byte packets and times each kind of native call
// on its own: recv() with one datagram per call and with a GRO-style batch of 16 × 1350 bytes per
// call, send() in batches (packets per call, ns per packet), streamSend() and streamRecv() with
// 64 KiB chunks. No sockets: this is the addon and quiche, nothing else. Prints the median of the
// runs. Not part of `npm test`.
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';

const require = createRequire(import.meta.url);
const napi = require('../native/index.js');

const args = new Map();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const RUNS = Number(args.get('runs') ?? 5);
const MIB = Number(args.get('mib') ?? 32);

const PACKET = 1350;
const GRO_SEGMENTS = 16;
const CHUNK = 64 * 1024;
const CLIENT = { address: '127.0.0.1', port: 50_001 };
const SERVER = { address: '127.0.0.1', port: 4_433 };

const ca = napi.generateCertificate({ isCa: true, commonName: 'bench CA', subjectAltNames: [] });
const leaf = napi.generateCertificate({ subjectAltNames: ['localhost'], issuerCert: ca.cert, issuerKey: ca.key });
const transport = {
  alpn: ['bench'],
  maxSendUdpPayloadSize: PACKET,
  maxRecvUdpPayloadSize: PACKET,
  initialMaxData: 256 * 1024 * 1024,
  initialMaxStreamDataBidiLocal: 64 * 1024 * 1024,
  initialMaxStreamDataBidiRemote: 64 * 1024 * 1024,
  initialMaxStreamsBidi: 10,
  maxIdleTimeoutMs: 60_000,
};
const clientConfig = new napi.Config({ ...transport, verifyPeer: true, ca: [ca.cert] });
const serverConfig = new napi.Config({ ...transport, certChain: leaf.cert + ca.cert, privateKey: leaf.key });

const now = process.hrtime.bigint;
/** The cost of one now() … now() pair, subtracted from every timed region. */
const TIMER_NS = (() => {
  let total = 0n;
  for (let i = 0; i < 100_000; i += 1) {
    const t0 = now();
    total += now() - t0;
  }
  return Number(total) / 100_000;
})();

function progress(text) {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${text}`);
  else process.stderr.write(`${text}\n`);
}

/** One timed quantity: total ns and how many calls and items (packets, bytes) it covers. */
class Meter {
  ns = 0;
  calls = 0;
  items = 0;
  add(ns, calls, items) {
    this.ns += Math.max(0, ns - TIMER_NS);
    this.calls += calls;
    this.items += items;
  }
  perCall() {
    return this.ns / this.calls;
  }
  perItem() {
    return this.ns / this.items;
  }
  itemsPerCall() {
    return this.items / this.calls;
  }
}

function connect() {
  const client = napi.Connection.connect('localhost', randomBytes(16), CLIENT, SERVER, clientConfig);
  const server = napi.Connection.accept(randomBytes(16), null, SERVER, CLIENT, serverConfig);
  return { client, server };
}

/** Untimed: moves everything `from` has to `to`, for the handshake and for ACKs. */
function flush(from, to, out, lengths) {
  let moved = 0;
  for (let b = from.send(out, lengths, true); b !== null; b = from.send(out, lengths, true)) {
    to.recv(out.subarray(0, b.bytes), b.from, b.to, b.segmentSize);
    moved += b.count;
  }
  return moved;
}

/**
 * Moves `bytes` on one stream from client to server, timing the client's streamSend() and send(),
 * and the server's recv() (per datagram or per GRO batch) and streamRecv().
 */
function run(mode, bytes) {
  const { client, server } = connect();
  const out = new Uint8Array(GRO_SEGMENTS * PACKET);
  const lengths = new Uint32Array(GRO_SEGMENTS);
  while (!(client.isEstablished() && server.isEstablished())) {
    if (flush(client, server, out, lengths) + flush(server, client, out, lengths) === 0) throw new Error('handshake stalled');
  }
  flush(client, server, out, lengths);
  flush(server, client, out, lengths);

  const started = now();
  const data = randomBytes(CHUNK);
  const readBuf = new Uint8Array(CHUNK);
  const meters = { streamSend: new Meter(), send: new Meter(), recv: new Meter(), streamRecv: new Meter() };
  let written = 0;
  let received = 0;
  let stalls = 0;
  while (received < bytes) {
    // The application writes while the stream takes data.
    while (written < bytes) {
      const len = Math.min(CHUNK, bytes - written);
      const t0 = now();
      const taken = client.streamSend(0, data.subarray(0, len), written + len === bytes);
      meters.streamSend.add(Number(now() - t0), 1, taken ?? 0);
      if (taken === null) break;
      written += taken;
      if (taken < len) break;
    }
    // The worker flushes: send() batches, each delivered to the server.
    let moved = 0;
    for (;;) {
      let t0 = now();
      const batch = client.send(out, lengths, true);
      if (batch === null) break;
      meters.send.add(Number(now() - t0), 1, batch.count);
      moved += batch.count;
      if (mode === 'gro') {
        t0 = now();
        server.recv(out.subarray(0, batch.bytes), batch.from, batch.to, batch.segmentSize);
        meters.recv.add(Number(now() - t0), 1, batch.count);
      } else {
        t0 = now();
        for (let i = 0, offset = 0; i < batch.count; i += 1) {
          server.recv(out.subarray(offset, offset + lengths[i]), batch.from, batch.to);
          offset += lengths[i];
        }
        meters.recv.add(Number(now() - t0), batch.count, batch.count);
      }
    }
    // The application reads.
    for (;;) {
      const t0 = now();
      const read = server.streamRecv(0, readBuf);
      if (read === null) break;
      meters.streamRecv.add(Number(now() - t0), 1, read.bytes);
      received += read.bytes;
    }
    // ACKs and flow control updates go back, untimed.
    if (flush(server, client, out, lengths) === 0 && moved === 0) {
      stalls += 1;
      if (stalls > 1000) throw new Error(`transfer stalled at ${received} bytes`);
    }
  }
  const stats = client.stats();
  if (stats.lost !== 0) throw new Error(`${stats.lost} packets lost in memory`);
  meters.wall = new Meter();
  meters.wall.add(Number(now() - started) + TIMER_NS, 1, bytes);
  return meters;
}

/** Trivial crossings: what a native call costs with no work behind it. */
function baseline() {
  const { client } = connect();
  const n = 1_000_000;
  let t0 = now();
  for (let i = 0; i < n; i += 1) client.isEstablished();
  const bool = Number(now() - t0) / n;
  t0 = now();
  for (let i = 0; i < n; i += 1) client.timeout();
  const timeout = Number(now() - t0) / n;
  return { bool, timeout };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

/**
 * Full handshakes in memory: per side, the time inside quiche and BoringSSL (connect/accept and
 * every send()/recv() until both ends are established and quiet), and the client's first flight
 * in datagrams. No sockets and no JavaScript pipeline: what any quiche-based endpoint pays.
 */
function handshakes(n) {
  const out = new Uint8Array(64 * 1500);
  const lengths = new Uint32Array(64);
  let clientNs = 0n;
  let serverNs = 0n;
  let firstFlight = 0;
  for (let i = 0; i < n; i += 1) {
    let t = now();
    const client = napi.Connection.connect('localhost', randomBytes(16), CLIENT, SERVER, clientConfig);
    clientNs += now() - t;
    t = now();
    const server = napi.Connection.accept(randomBytes(16), null, SERVER, CLIENT, serverConfig);
    serverNs += now() - t;
    let first = true;
    for (let moved = 1; moved > 0; ) {
      moved = 0;
      for (const [from, to, fromClient] of [[client, server, true], [server, client, false]]) {
        for (;;) {
          t = now();
          const b = from.send(out, lengths, true);
          const sent = now() - t;
          if (fromClient) clientNs += sent;
          else serverNs += sent;
          if (b === null) break;
          if (fromClient && first) firstFlight += b.count;
          moved += b.count;
          t = now();
          to.recv(out.subarray(0, b.bytes), b.from, b.to, b.segmentSize);
          const got = now() - t;
          if (fromClient) serverNs += got;
          else clientNs += got;
        }
        if (fromClient) first = false;
      }
    }
    if (!client.isEstablished() || !server.isEstablished()) throw new Error('handshake did not complete');
  }
  return { client: Number(clientNs) / n, server: Number(serverNs) / n, firstFlight: firstFlight / n };
}

/**
 * Pipelined HTTP/3 requests in memory, 100 in flight on one connection, 6-byte responses (the
 * shape of `bench:h3-requests`): the server's time inside quiche per request (recv, poll, the
 * response, send) and the packets each direction needs per request. quiche writes one STREAM
 * frame per packet, so every request and every response is a packet of its own.
 */
function h3Requests(n) {
  const h3Transport = {
    ...transport,
    alpn: ['h3'],
    initialMaxStreamsBidi: 1000,
    initialMaxStreamsUni: 100,
    initialMaxStreamDataUni: 1024 * 1024,
  };
  const client = napi.Connection.connect('localhost', randomBytes(16), CLIENT, SERVER, new napi.Config({ ...h3Transport, verifyPeer: true, ca: [ca.cert] }));
  const server = napi.Connection.accept(randomBytes(16), null, SERVER, CLIENT, new napi.Config({ ...h3Transport, certChain: leaf.cert + ca.cert, privateKey: leaf.key }));
  const out = new Uint8Array(64 * 1500);
  const lengths = new Uint32Array(64);
  while (!(client.isEstablished() && server.isEstablished())) {
    if (flush(client, server, out, lengths) + flush(server, client, out, lengths) === 0) throw new Error('handshake stalled');
  }
  const h3c = napi.H3Connection.withTransport(client, new napi.H3Config());
  const h3s = napi.H3Connection.withTransport(server, new napi.H3Config());
  for (let i = 0; i < 3; i += 1) {
    flush(client, server, out, lengths);
    flush(server, client, out, lengths);
    while (h3c.poll(client) !== null);
    while (h3s.poll(server) !== null);
  }
  const request = [
    { name: ':method', value: 'GET' },
    { name: ':scheme', value: 'https' },
    { name: ':authority', value: 'localhost' },
    { name: ':path', value: '/6' },
  ];
  const response = [{ name: ':status', value: '200' }, { name: 'content-length', value: '6' }];
  const body = Buffer.from('hello\n');
  const sink = new Uint8Array(64);
  let serverNs = 0n;
  let toServer = 0;
  let toClient = 0;
  let sent = 0;
  let done = 0;
  while (done < n) {
    while (sent < n && sent - done < 100) {
      h3c.sendRequest(client, request, true);
      sent += 1;
    }
    for (let b = client.send(out, lengths, true); b !== null; b = client.send(out, lengths, true)) {
      for (let i = 0, offset = 0; i < b.count; i += 1) {
        const t = now();
        server.recv(out.subarray(offset, offset + lengths[i]), b.from, b.to);
        serverNs += now() - t;
        offset += lengths[i];
      }
      toServer += b.count;
    }
    let t = now();
    for (let e = h3s.poll(server); e !== null; e = h3s.poll(server)) {
      if (e.type !== 'headers') continue;
      h3s.sendResponse(server, e.streamId, response, false);
      h3s.sendBody(server, e.streamId, body, true);
    }
    serverNs += now() - t;
    for (;;) {
      t = now();
      const b = server.send(out, lengths, true);
      serverNs += now() - t;
      if (b === null) break;
      for (let i = 0, offset = 0; i < b.count; i += 1) {
        client.recv(out.subarray(offset, offset + lengths[i]), b.from, b.to);
        offset += lengths[i];
      }
      toClient += b.count;
    }
    for (let e = h3c.poll(client); e !== null; e = h3c.poll(client)) {
      if (e.type === 'data') while (h3c.recvBody(client, e.streamId, sink) !== null);
      else if (e.type === 'finished') done += 1;
    }
  }
  return { server: Number(serverNs) / n, toServer: toServer / n, toClient: toClient / n };
}

const results = { single: [], gro: [] };
const baselines = [];
const handshakeRuns = [];
const h3Runs = [];
const bytes = MIB * 1024 * 1024;
for (let r = 0; r < RUNS; r += 1) {
  for (const mode of ['single', 'gro']) {
    progress(`run ${r + 1}/${RUNS}: ${MIB} MiB, recv ${mode === 'gro' ? `GRO ${GRO_SEGMENTS} × ${PACKET}` : 'one datagram per call'} …`);
    results[mode].push(run(mode, bytes));
  }
  progress(`run ${r + 1}/${RUNS}: trivial crossings …`);
  baselines.push(baseline());
  progress(`run ${r + 1}/${RUNS}: 200 handshakes …`);
  handshakeRuns.push(handshakes(200));
  progress(`run ${r + 1}/${RUNS}: 20,000 HTTP/3 requests …`);
  h3Runs.push(h3Requests(20_000));
}
if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');

const m = (mode, key, fn) => median(results[mode].map((meters) => fn(meters[key])));
const fmt = (ns) => `${ns >= 10_000 ? Math.round(ns).toLocaleString('en-US') : ns.toFixed(ns < 100 ? 1 : 0)} ns`;
const rows = [
  ['trivial call (isEstablished)', fmt(median(baselines.map((b) => b.bool))), ''],
  ['trivial call (timeout)', fmt(median(baselines.map((b) => b.timeout))), ''],
  ['recv, 1 datagram per call', fmt(m('single', 'recv', (x) => x.perCall())), `${fmt(m('single', 'recv', (x) => x.perItem()))} per packet`],
  [
    `recv, GRO batch per call (≤ ${GRO_SEGMENTS} × ${PACKET} B)`,
    fmt(m('gro', 'recv', (x) => x.perCall())),
    `${fmt(m('gro', 'recv', (x) => x.perItem()))} per packet, ${m('gro', 'recv', (x) => x.itemsPerCall()).toFixed(1)} packets per call`,
  ],
  [
    `send, batch per call (≤ ${GRO_SEGMENTS} packets)`,
    fmt(m('gro', 'send', (x) => x.perCall())),
    `${fmt(m('gro', 'send', (x) => x.perItem()))} per packet, ${m('gro', 'send', (x) => x.itemsPerCall()).toFixed(1)} packets per call`,
  ],
  [
    'streamSend, 64 KiB chunks',
    fmt(m('gro', 'streamSend', (x) => x.perCall())),
    `${(m('gro', 'streamSend', (x) => x.items / (x.ns / 1e9)) / 2 ** 30).toFixed(2)} GiB/s, ${(m('gro', 'streamSend', (x) => x.itemsPerCall()) / 1024).toFixed(1)} KiB per call`,
  ],
  [
    'streamRecv, 64 KiB buffer',
    fmt(m('gro', 'streamRecv', (x) => x.perCall())),
    `${(m('gro', 'streamRecv', (x) => x.items / (x.ns / 1e9)) / 2 ** 30).toFixed(2)} GiB/s, ${(m('gro', 'streamRecv', (x) => x.itemsPerCall()) / 1024).toFixed(1)} KiB per call`,
  ],
  [
    'full handshake (ECDSA P-256, chain verified)',
    '',
    `client ${(median(handshakeRuns.map((h) => h.client)) / 1000).toFixed(0)} µs, server ${(median(handshakeRuns.map((h) => h.server)) / 1000).toFixed(0)} µs ` +
      `inside quiche + BoringSSL; client first flight ${median(handshakeRuns.map((h) => h.firstFlight)).toFixed(0)} datagrams`,
  ],
  [
    'HTTP/3 request, 100 in flight, 6-byte response',
    '',
    `server ${(median(h3Runs.map((h) => h.server)) / 1000).toFixed(1)} µs per request inside quiche; ` +
      `${median(h3Runs.map((h) => h.toServer)).toFixed(2)} packets per request, ${median(h3Runs.map((h) => h.toClient)).toFixed(2)} per response`,
  ],
  [
    'whole transfer, both ends in one thread',
    '',
    `${(bytes / (m('single', 'wall', (x) => x.ns) / 1e9) / 2 ** 20).toFixed(0)} MiB/s with recv per datagram, ` +
      `${(bytes / (m('gro', 'wall', (x) => x.ns) / 1e9) / 2 ** 20).toFixed(0)} MiB/s with GRO batches`,
  ],
];
console.log(`native crossings: quiche ${napi.QUICHE_VERSION}, Node ${process.version}, ${PACKET}-byte packets, ` +
  `${MIB} MiB per run, median of ${RUNS} runs (timer overhead ${TIMER_NS.toFixed(0)} ns subtracted)`);
const w0 = Math.max(...rows.map((r) => r[0].length));
const w1 = Math.max(...rows.map((r) => r[1].length));
for (const [what, perCall, detail] of rows) {
  console.log(`  ${what.padEnd(w0)}  ${perCall.padStart(w1)}${perCall === '' ? '         ' : ' per call'}  ${detail}`.trimEnd());
}
