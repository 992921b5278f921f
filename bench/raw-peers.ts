/**
 * Raw-QUIC bulk upload, side by side with the npm Node.js QUIC libraries (issue 6): one client
 * opens one bidirectional stream and writes N bytes in 64 KiB writes, then FIN; the server reads
 * (64 KiB reads) and counts until FIN. Each library talks to itself, on loopback, with client and
 * server in two separate child processes (fresh for every run), runs interleaved library by library:
 *
 *   - ours:      listen$ / connectWithConfig$ + ApplicationOverQuic (as bench/raw-transfer.ts), on
 *                the socket `bindQuicSocket({ native: 'auto' })` picks (native GSO/GRO on Linux).
 *   - matrixai:  @matrixai/quic 2.0.9 (quiche 0.18 through napi-rs, node:dgram, WHATWG streams),
 *                QUICServer / QUICClient.createQUICClient, `stream.writable` / `stream.readable`.
 *   - libp2p:    @chainsafe/libp2p-quic 2.1.1 (quinn on tokio threads). Driven through its napi
 *                classes (QuinnConfig, Server, Client, Connection, Stream; `dist/src/napi.js`, which
 *                the package does not export, so it is imported by path) with Ed25519 libp2p
 *                identity keys from @libp2p/crypto. This skips libp2p's upgrader and its 4 KiB
 *                AbstractStream reads, so it is that library's best case, not what a libp2p node gets.
 *
 * The peer libraries live in bench/peers/ (`npm run bench:install`), not in the root package.
 * Both are ESM-only, so they are loaded with a real dynamic import() and typed locally here.
 *
 *   npm run bench:raw-peers -- [--mib 100] [--matrixai-mib 8] [--runs 5] [--libs ours,libp2p,matrixai]
 *
 * @matrixai/quic moves under 1 MiB/s on this machine class, so it gets its own, smaller size
 * (--matrixai-mib); MiB/s and CPU s/GiB are per byte, so the figures stay comparable.
 *
 * Measured per run:
 * - MiB/s: bytes / (server's last byte − client's start before connecting), both read as
 *   `performance.timeOrigin + performance.now()` in their processes (same host clock). Includes
 *   the handshake (and, for @matrixai/quic, its mandatory Retry round trip).
 * - CPU s per GiB, each end: process.cpuUsage() in its child. Server: from listening to the last
 *   byte. Client: from before connecting until the server has the last byte (the orchestrator asks).
 * - The server checks it received exactly N bytes and a FIN; anything else fails the run.
 *
 * Not part of `npm test`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac, randomBytes, timingSafeEqual, webcrypto } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const CHUNK = 64 * 1024;
const RUN_TIMEOUT_MS = 180_000;
const PEERS_MODULES = path.join(__dirname, 'peers', 'node_modules');

const { values } = parseArgs({
  options: {
    mib: { type: 'string', default: '100' },
    'matrixai-mib': { type: 'string', default: '8' },
    runs: { type: 'string', default: '5' },
    libs: { type: 'string', default: 'ours,libp2p,matrixai' },
    role: { type: 'string' },
    lib: { type: 'string' },
    port: { type: 'string' },
    bytes: { type: 'string' },
    dir: { type: 'string' },
  },
});

type Lib = 'ours' | 'matrixai' | 'libp2p';
const LIBS: readonly Lib[] = ['ours', 'libp2p', 'matrixai'];
const LABEL: Record<Lib, string> = {
  ours: 'rxjs-quiche (ours)',
  libp2p: '@chainsafe/libp2p-quic (raw napi)',
  matrixai: '@matrixai/quic',
};

/** A real ESM import(), which ts-node's CommonJS output would otherwise turn into require(). */
// eslint-disable-next-line @typescript-eslint/no-implied-eval
const importEsm = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;
function importPeer(rel: string): Promise<unknown> {
  const file = path.join(PEERS_MODULES, rel);
  if (!fs.existsSync(file)) throw new Error(`missing ${file}: run \`npm run bench:install\``);
  return importEsm(pathToFileURL(file).href);
}

const now = (): number => performance.timeOrigin + performance.now();
const cpuSec = (c: NodeJS.CpuUsage): number => (c.user + c.system) / 1e6;

// ---------------------------------------------------------------------------------------------
// Messages between the orchestrator and the children

interface Ready {
  port: number;
  kind?: string;
}
interface ServerDone {
  bytes: number;
  fin: boolean;
  tEnd: number;
  cpuSec: number;
  error?: string;
}
interface ClientStarted {
  tStart: number;
}
interface ClientCpu {
  cpuSec: number;
  kind?: string;
  error?: string;
}

function send(m: unknown): void {
  process.send!(m);
}

/** The client reports its CPU time when the orchestrator asks (after the server has everything). */
function answerCpu(cpu0: NodeJS.CpuUsage, extra: () => Partial<ClientCpu> = () => ({})): void {
  process.on('message', (m) => {
    if (m === 'cpu') send({ cpuSec: cpuSec(process.cpuUsage(cpu0)), ...extra() } satisfies ClientCpu);
  });
}

// ---------------------------------------------------------------------------------------------
// ours

async function oursServer(dir: string, total: number): Promise<void> {
  const { ConnectionParams, applicationOverQuic, bindQuicSocket, listen$ } = await import('../src');
  const { Subject } = await import('rxjs');
  type Q = import('../src').QuicheConnection;
  const socket = await bindQuicSocket({ address: '127.0.0.1', port: 0, native: 'auto' });
  const params = ConnectionParams.newServer(
    { alpn: ['bench'], initialMaxData: 50_000_000, initialMaxStreamDataBidiRemote: 20_000_000, maxIdleTimeout: 30_000 },
    { certChain: fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8'), privateKey: fs.readFileSync(path.join(dir, 'key.pem'), 'utf8') },
  );
  const cpu0 = process.cpuUsage();
  let bytes = 0;
  let reported = false;
  const buf = new Uint8Array(CHUNK);
  const report = (fin: boolean, error?: string): void => {
    if (reported) return;
    reported = true;
    send({ bytes, fin, tEnd: now(), cpuSec: cpuSec(process.cpuUsage(cpu0)), ...(error ? { error } : {}) } satisfies ServerDone);
  };
  let established = false;
  listen$(socket, params)
    .pipe(
      applicationOverQuic(() => ({
        onConnEstablished: () => void (established = true),
        shouldAct: () => established,
        waitForData: () => new Subject<never>(),
        processReads: (q: Q) => {
          for (const id of q.readable()) {
            let r;
            while ((r = q.streamRecv(id, buf))) {
              bytes += r.bytes;
              if (r.fin) report(true);
            }
          }
        },
        processWrites: () => {},
      })),
    )
    .subscribe({ error: (e: unknown) => report(false, `listen$ errored: ${String(e)}`) });
  process.once('message', () => report(false, 'asked before FIN'));
  send({ port: socket.localAddress.port, kind: socket.kind } satisfies Ready);
  void total;
}

async function oursClient(dir: string, port: number, total: number): Promise<void> {
  const { ConnectionParams, bindQuicSocket, connectWithConfig$ } = await import('../src');
  const { Subject } = await import('rxjs');
  type Q = import('../src').QuicheConnection;
  const socket = await bindQuicSocket({ address: '127.0.0.1', port: 0, native: 'auto' });
  const params = ConnectionParams.newClient({ alpn: ['bench'], initialMaxData: 50_000_000, maxIdleTimeout: 30_000 }, undefined, {}, {
    trust: { ca: fs.readFileSync(path.join(dir, 'ca.pem'), 'utf8') },
  });
  const chunk = new Uint8Array(CHUNK).fill(0x5a);
  let sent = 0;
  let established = false;
  let error: string | undefined;
  const cpu0 = process.cpuUsage();
  send({ tStart: now() } satisfies ClientStarted);
  answerCpu(cpu0, () => ({ kind: socket.kind, ...(error ? { error } : {}) }));
  connectWithConfig$(
    socket,
    'localhost',
    params,
    {
      onConnEstablished: () => void (established = true),
      shouldAct: () => established,
      waitForData: () => new Subject<never>(),
      processReads: () => {},
      processWrites: (q: Q) => {
        while (sent < total) {
          const len = Math.min(CHUNK, total - sent);
          const n = q.streamSend(0, chunk.subarray(0, len), sent + len >= total);
          if (!n) return;
          sent += n;
        }
      },
    },
    { peer: { address: '127.0.0.1', port } },
  ).subscribe({ error: (e: unknown) => void (error = `connectWithConfig$ errored: ${String(e)}`) });
}

// ---------------------------------------------------------------------------------------------
// @matrixai/quic (local types for the parts used)

interface MxStream {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
}
interface MxConnection extends EventTarget {
  newStream(type?: 'bidi' | 'uni'): MxStream;
}
interface MxModule {
  QUICServer: new (opts: unknown) => EventTarget & { start(o: { host: string; port: number }): Promise<void>; port: number };
  QUICClient: { createQUICClient(opts: unknown): Promise<{ connection: MxConnection }> };
  events: Record<'EventQUICServerConnection' | 'EventQUICConnectionStream', { name: string }>;
}

/** A WARN-level logger: the default one prints INFO lines for every connection and stream. */
async function matrixaiLogger(): Promise<unknown> {
  const { default: Logger, LogLevel } = (await importPeer('@matrixai/logger/dist/index.js')) as {
    default: new (key: string, level: number) => unknown;
    LogLevel: { WARN: number };
  };
  return new Logger('bench', LogLevel.WARN);
}

async function matrixaiServer(dir: string, total: number): Promise<void> {
  const mx = (await importPeer('@matrixai/quic/dist/index.js')) as MxModule;
  const logger = await matrixaiLogger();
  const cpu0 = process.cpuUsage();
  let bytes = 0;
  let reported = false;
  const report = (fin: boolean, error?: string): void => {
    if (reported) return;
    reported = true;
    send({ bytes, fin, tEnd: now(), cpuSec: cpuSec(process.cpuUsage(cpu0)), ...(error ? { error } : {}) } satisfies ServerDone);
  };
  // Retry tokens and connection IDs are signed with an HMAC the caller supplies.
  const server = new mx.QUICServer({
    logger,
    crypto: {
      key: randomBytes(32).buffer,
      ops: {
        sign: async (key: ArrayBuffer, data: ArrayBuffer) => {
          const d = createHmac('sha256', Buffer.from(key)).update(Buffer.from(data)).digest();
          return d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength);
        },
        verify: async (key: ArrayBuffer, data: ArrayBuffer, sig: ArrayBuffer) => {
          const d = createHmac('sha256', Buffer.from(key)).update(Buffer.from(data)).digest();
          const s = Buffer.from(sig);
          return s.length === d.length && timingSafeEqual(s, d);
        },
      },
    },
    config: {
      key: fs.readFileSync(path.join(dir, 'key.pem'), 'utf8'),
      cert: fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8'),
      verifyPeer: false,
      initialMaxData: 50_000_000,
      initialMaxStreamDataBidiRemote: 20_000_000,
      readableChunkSize: CHUNK,
    },
  });
  server.addEventListener(mx.events.EventQUICServerConnection.name, (evt) => {
    const conn = (evt as CustomEvent<MxConnection>).detail;
    conn.addEventListener(mx.events.EventQUICConnectionStream.name, (e) => {
      const stream = (e as CustomEvent<MxStream>).detail;
      void (async () => {
        try {
          for await (const c of stream.readable as unknown as AsyncIterable<Uint8Array>) bytes += c.byteLength;
          report(true);
        } catch (err) {
          report(false, `read failed: ${String(err)}`);
        }
      })();
    });
  });
  await server.start({ host: '127.0.0.1', port: 0 });
  process.once('message', () => report(false, 'asked before FIN'));
  send({ port: server.port, kind: 'node:dgram' } satisfies Ready);
  void total;
}

async function matrixaiClient(port: number, total: number): Promise<void> {
  const mx = (await importPeer('@matrixai/quic/dist/index.js')) as MxModule;
  const logger = await matrixaiLogger();
  let error: string | undefined;
  const cpu0 = process.cpuUsage();
  send({ tStart: now() } satisfies ClientStarted);
  answerCpu(cpu0, () => (error ? { error } : {}));
  try {
    const client = await mx.QUICClient.createQUICClient({
      host: '127.0.0.1',
      port,
      localHost: '127.0.0.1',
      logger,
      crypto: { ops: { randomBytes: async (data: ArrayBuffer) => void webcrypto.getRandomValues(new Uint8Array(data)) } },
      config: { verifyPeer: false, initialMaxData: 50_000_000 },
    });
    const stream = client.connection.newStream('bidi');
    const writer = stream.writable.getWriter();
    const chunk = new Uint8Array(CHUNK).fill(0x5a);
    for (let sent = 0; sent < total; sent += CHUNK) await writer.write(chunk.slice(0, Math.min(CHUNK, total - sent)));
    await writer.close();
  } catch (e) {
    error = `client failed: ${String(e)}`;
  }
}

// ---------------------------------------------------------------------------------------------
// @chainsafe/libp2p-quic, raw napi classes (local types for the parts used)

interface LpStream {
  read(maxLen: number): Promise<Uint8Array | null>;
  write(data: Uint8Array): Promise<void>;
  finishWrite(): Promise<void>;
}
interface LpConnection {
  inboundStream(): Promise<LpStream>;
  outboundStream(): Promise<LpStream>;
}
interface LpNapi {
  QuinnConfig: new (config: unknown) => unknown;
  Server: new (config: unknown, ip: string, port: number) => { port(): number; inboundConnection(): Promise<LpConnection> };
  Client: new (config: unknown, family: number) => { outboundConnection(ip: string, port: number): Promise<LpConnection> };
}

async function libp2pConfig(): Promise<{ napi: LpNapi; config: unknown }> {
  const napi = (await importPeer('@chainsafe/libp2p-quic/dist/src/napi.js')) as LpNapi;
  const { defaultOptions } = (await importPeer('@chainsafe/libp2p-quic/dist/src/index.js')) as { defaultOptions: object };
  const keys = (await importPeer('@libp2p/crypto/dist/src/keys/index.js')) as {
    generateKeyPair(type: 'Ed25519'): Promise<unknown>;
    privateKeyToProtobuf(key: unknown): Uint8Array;
  };
  const privateKeyProto = keys.privateKeyToProtobuf(await keys.generateKeyPair('Ed25519'));
  return { napi, config: new napi.QuinnConfig({ ...defaultOptions, privateKeyProto }) };
}

async function libp2pServer(total: number): Promise<void> {
  const { napi, config } = await libp2pConfig();
  const cpu0 = process.cpuUsage();
  let bytes = 0;
  let reported = false;
  const report = (fin: boolean, error?: string): void => {
    if (reported) return;
    reported = true;
    send({ bytes, fin, tEnd: now(), cpuSec: cpuSec(process.cpuUsage(cpu0)), ...(error ? { error } : {}) } satisfies ServerDone);
  };
  const server = new napi.Server(config, '127.0.0.1', 0);
  void (async () => {
    try {
      const conn = await server.inboundConnection();
      const stream = await conn.inboundStream();
      for (;;) {
        const c = await stream.read(CHUNK);
        if (c === null) break;
        bytes += c.byteLength;
      }
      report(true);
    } catch (e) {
      report(false, `server failed: ${String(e)}`);
    }
  })();
  process.once('message', () => report(false, 'asked before FIN'));
  send({ port: server.port(), kind: 'quinn-udp (Rust)' } satisfies Ready);
  void total;
}

async function libp2pClient(port: number, total: number): Promise<void> {
  const { napi, config } = await libp2pConfig();
  let error: string | undefined;
  const cpu0 = process.cpuUsage();
  send({ tStart: now() } satisfies ClientStarted);
  answerCpu(cpu0, () => (error ? { error } : {}));
  try {
    const client = new napi.Client(config, 0);
    const conn = await client.outboundConnection('127.0.0.1', port);
    const stream = await conn.outboundStream();
    const chunk = new Uint8Array(CHUNK).fill(0x5a);
    for (let sent = 0; sent < total; sent += CHUNK) await stream.write(chunk.subarray(0, Math.min(CHUNK, total - sent)));
    await stream.finishWrite();
  } catch (e) {
    error = `client failed: ${String(e)}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Orchestrator

interface Sample {
  mibps: number;
  clientCpuPerGiB: number;
  serverCpuPerGiB: number;
}

function child(args: string[]): ChildProcess {
  return spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', __filename, ...args], {
    cwd: path.join(__dirname, '..'),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

function nextMessage<T>(c: ChildProcess, what: string, timeoutMs = RUN_TIMEOUT_MS): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      c.off('exit', onExit);
      reject(new Error(`${what}: no answer in ${timeoutMs} ms`));
    }, timeoutMs);
    const onExit = (code: number | null, sig: string | null): void => {
      clearTimeout(t);
      reject(new Error(`${what}: child exited (${code ?? sig})`));
    };
    c.once('message', (m) => {
      clearTimeout(t);
      c.off('exit', onExit);
      resolve(m as T);
    });
    c.once('exit', onExit);
  });
}

async function stop(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const gone = new Promise<void>((r) => c.once('exit', () => r()));
  c.kill('SIGTERM');
  const t = setTimeout(() => c.kill('SIGKILL'), 2000);
  await gone;
  clearTimeout(t);
}

const kinds = new Map<Lib, Set<string>>();

async function runOnce(lib: Lib, bytes: number, dir: string): Promise<Sample> {
  const common = ['--lib', lib, '--bytes', String(bytes), '--dir', dir];
  const server = child(['--role', 'server', ...common]);
  let client: ChildProcess | undefined;
  try {
    const ready = await nextMessage<Ready>(server, `${lib} server start`, 30_000);
    if (ready.kind) kinds.get(lib)!.add(`server ${ready.kind}`);
    const done = nextMessage<ServerDone>(server, `${lib} server`);
    client = child(['--role', 'client', '--port', String(ready.port), ...common]);
    const started = await nextMessage<ClientStarted>(client, `${lib} client start`, 30_000);
    let d: ServerDone;
    try {
      d = await done;
    } catch (e) {
      // Ask the client why, if it is still there.
      const answer = nextMessage<ClientCpu>(client, 'client', 2000);
      if (client.connected) client.send('cpu');
      const why = await answer.then(
        (c) => (c.error ? ` [client: ${c.error}]` : ''),
        () => '',
      );
      throw new Error(`${e instanceof Error ? e.message : String(e)}${why}`);
    }
    const cpuP = nextMessage<ClientCpu>(client, `${lib} client cpu`, 5000);
    client.send('cpu');
    const c = await cpuP;
    if (c.kind) kinds.get(lib)!.add(`client ${c.kind}`);
    if (d.error || !d.fin || d.bytes !== bytes) {
      throw new Error(`server got ${d.bytes}/${bytes} B, fin ${d.fin}${d.error ? `, ${d.error}` : ''}${c.error ? `; client: ${c.error}` : ''}`);
    }
    const gib = bytes / 2 ** 30;
    return { mibps: bytes / 2 ** 20 / ((d.tEnd - started.tStart) / 1000), clientCpuPerGiB: c.cpuSec / gib, serverCpuPerGiB: d.cpuSec / gib };
  } finally {
    await Promise.all([stop(server), client ? stop(client) : Promise.resolve()]);
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function peerVersion(name: string): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(PEERS_MODULES, name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

async function main(): Promise<void> {
  const runs = Number(values.runs);
  const libs = values.libs!.split(',').map((s) => {
    if (!LIBS.includes(s as Lib)) throw new Error(`--libs: unknown ${s} (ours, libp2p, matrixai)`);
    return s as Lib;
  });
  const sizeOf = (lib: Lib): number => Math.round(Number(lib === 'matrixai' ? values['matrixai-mib'] : values.mib) * 2 ** 20);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rxjs-quiche-rawpeers-'));
  // A CA and a localhost leaf (ours verifies against the CA; the peers skip verification).
  const { testCertificates } = await import('../spec/helpers/loopback');
  const certs = testCertificates();
  fs.writeFileSync(path.join(dir, 'ca.pem'), certs.ca);
  fs.writeFileSync(path.join(dir, 'cert.pem'), certs.cert);
  fs.writeFileSync(path.join(dir, 'key.pem'), certs.key);
  for (const l of libs) kinds.set(l, new Set());
  const samples = new Map<Lib, Sample[]>(libs.map((l) => [l, []]));
  const failures = new Map<Lib, string[]>(libs.map((l) => [l, []]));
  const missing = new Map<Lib, string>();
  if (libs.includes('matrixai') && !fs.existsSync(path.join(PEERS_MODULES, '@matrixai/quic'))) missing.set('matrixai', 'not installed (npm run bench:install)');
  if (libs.includes('libp2p') && !fs.existsSync(path.join(PEERS_MODULES, '@chainsafe/libp2p-quic'))) missing.set('libp2p', 'not installed (npm run bench:install)');
  try {
    for (let i = 0; i < runs; i++) {
      for (const lib of libs) {
        if (missing.has(lib)) continue;
        process.stderr.write(`\r\x1b[Krun ${i + 1}/${runs}: ${LABEL[lib]}, ${sizeOf(lib) / 2 ** 20} MiB…`);
        try {
          const s = await runOnce(lib, sizeOf(lib), dir);
          samples.get(lib)!.push(s);
          process.stderr.write(` ${s.mibps.toFixed(1)} MiB/s`);
          if (process.env.BENCH_VERBOSE) process.stderr.write(`\n  ${JSON.stringify(s)}\n`);
        } catch (e) {
          failures.get(lib)!.push(e instanceof Error ? e.message : String(e));
          process.stderr.write(` FAILED: ${e instanceof Error ? e.message : String(e)}\n`);
        }
      }
    }
  } finally {
    process.stderr.write('\r\x1b[K');
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const ours = samples.get('ours') ?? [];
  const base = ours.length
    ? { m: median(ours.map((s) => s.mibps)), c: median(ours.map((s) => s.clientCpuPerGiB)), v: median(ours.map((s) => s.serverCpuPerGiB)) }
    : undefined;
  // Two significant digits below 0.1, so @matrixai/quic's tiny ratios do not print as 0.00.
  const fmt = (x: number): string => (x >= 0.1 ? x.toFixed(2) : x.toPrecision(2));
  const ratio = (a: number, b: number | undefined): string => (b === undefined ? '–' : fmt(a / b));
  console.log(
    `Raw QUIC bulk upload, 1 connection, 1 stream, 64 KiB writes/reads, loopback, client and server in separate processes; ` +
      `median of ${runs} interleaved runs (Node ${process.version}, ${os.cpus().length} CPUs)`,
  );
  console.log(`versions: @matrixai/quic ${peerVersion('@matrixai/quic')}, @chainsafe/libp2p-quic ${peerVersion('@chainsafe/libp2p-quic')}; ratios are against ours`);
  console.log('| library (client → server, same library) | MiB | runs ok | MiB/s | × ours | client CPU s/GiB | × ours | server CPU s/GiB | × ours | min–max MiB/s |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const lib of libs) {
    const s = samples.get(lib)!;
    const mib = sizeOf(lib) / 2 ** 20;
    if (s.length === 0) {
      const why = missing.get(lib) ?? failures.get(lib)![0] ?? '';
      console.log(`| ${LABEL[lib]} | ${mib} | 0/${missing.has(lib) ? 0 : runs} | FAILED | – | – | – | – | – | ${why} |`);
      continue;
    }
    const m = median(s.map((x) => x.mibps));
    const c = median(s.map((x) => x.clientCpuPerGiB));
    const v = median(s.map((x) => x.serverCpuPerGiB));
    const mbs = s.map((x) => x.mibps);
    console.log(
      `| ${LABEL[lib]} | ${mib} | ${s.length}/${runs} | ${m >= 10 ? m.toFixed(1) : m.toFixed(2)} | ${ratio(m, base?.m)} | ${c.toFixed(2)} | ${ratio(c, base?.c)} | ${v.toFixed(2)} | ${ratio(v, base?.v)} | ${Math.min(...mbs).toFixed(2)}–${Math.max(...mbs).toFixed(2)} |`,
    );
  }
  console.log(`sockets: ${libs.map((l) => `${l}: ${[...kinds.get(l)!].join(', ') || 'n/a'}`).join('; ')}`);
  for (const [lib, f] of failures) if (f.length) console.log(`${LABEL[lib]} failures: ${f.join('; ')}`);
}

async function childMain(): Promise<void> {
  const lib = values.lib as Lib;
  const total = Number(values.bytes);
  const dir = values.dir!;
  const port = Number(values.port);
  if (values.role === 'server') {
    if (lib === 'ours') return oursServer(dir, total);
    if (lib === 'matrixai') return matrixaiServer(dir, total);
    return libp2pServer(total);
  }
  if (lib === 'ours') return oursClient(dir, port, total);
  if (lib === 'matrixai') return matrixaiClient(port, total);
  return libp2pClient(port, total);
}

if (values.role) {
  // A child: the orchestrator stops it with SIGTERM when the run is over.
  process.on('disconnect', () => process.exit(0));
  childMain().catch((e: unknown) => {
    console.error(e);
    process.exit(2);
  });
} else {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(2);
  });
}
