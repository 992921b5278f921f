/**
 * HTTP/3 bulk download, side by side with ngtcp2 and tokio-quiche (issue 6): one GET of N MiB over
 * one connection, one stream, on loopback, in six pairs, interleaved run by run:
 *
 *   1. gtlsclient → gtlsserver     (ngtcp2 1.11 both ends: the baseline)
 *   2. gtlsclient → tokio-quiche   (tokio-quiche's example async_http3_server, GET /stream-bytes/<n>)
 *   3. gtlsclient → our server     (serveHttp3, the body a preallocated buffer in 64 KiB chunks from an AsyncIterable)
 *   4. our client → gtlsserver     (connect$, the body read and discarded)
 *   5. our client → tokio-quiche
 *   6. our client → our server
 *
 * Every run starts fresh processes: our server and our client each run in their own child
 * process (own event loop), on the native socket (`bindQuicSocket({ native: 'auto' })`).
 * tokio-quiche's server comes from `interop/install-rust-peers.sh` (interop/.peers/bin/); when it
 * is not there, pairs 2 and 5 are printed as SKIPPED with the reason, the others still run.
 *
 *   npm run bench:h3 -- [--mib 1024] [--runs 5] [--pairs 1,2,3,4,5,6]
 *
 * The default is 1 GiB per download (the issue's size); 6 pairs × 5 runs of 1 GiB took 8.8 minutes
 * on the 2-core machine class while other jobs shared it. Use e.g. `--mib 100` for a quick look.
 *
 * Measured:
 * - MiB/s: gtlsclient: wall time from spawn to exit (includes exec and the handshake, a few ms);
 *   our client: from calling connect$ to the last body byte (includes the handshake).
 * - CPU s per GiB: gtlsclient from `/usr/bin/time`; gtlsserver and tokio-quiche (all threads) from
 *   /proc/<pid>/stat (utime+stime between just before the run and just after it); ours from
 *   process.cpuUsage() in the child (client: connect$ to the last byte; server: ready to the end of
 *   the run, idle included).
 * - Completeness: gtlsclient saves the body with --download into a tmpfs directory (/dev/shm when
 *   present) and the run fails unless the file has exactly N bytes; our client counts the body
 *   bytes and checks status 200.
 *
 * Not part of `npm test`. Needs /usr/bin/gtlsclient and /usr/sbin/gtlsserver (interop/install.sh).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

const GTLSCLIENT = '/usr/bin/gtlsclient';
const GTLSSERVER = '/usr/sbin/gtlsserver';
const TOKIO_QUICHE = path.join(__dirname, '..', 'interop', '.peers', 'bin', 'async_http3_server');
const TOKIO_QUICHE_VERSION_FILE = path.join(__dirname, '..', 'interop', '.peers', 'tokio-quiche.version');
const CHUNK = 64 * 1024;
const RUN_TIMEOUT_MS = 120_000;

const { values } = parseArgs({
  options: {
    mib: { type: 'string', default: '1024' },
    runs: { type: 'string', default: '5' },
    pairs: { type: 'string', default: '1,2,3,4,5,6' },
    role: { type: 'string' },
    port: { type: 'string' },
    path: { type: 'string' },
    cert: { type: 'string' },
    key: { type: 'string' },
  },
});
const MIB = Number(values.mib);
const BYTES = Math.round(MIB * 1024 * 1024);

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---------------------------------------------------------------------------------------------
// Child: our server

async function ourServer(): Promise<void> {
  const { ConnectionParams, bindQuicSocket, listen$, serveHttp3 } = await import('../src');
  const socket = await bindQuicSocket({ address: '127.0.0.1', port: 0, native: 'auto' });
  const params = ConnectionParams.newServer(
    { disableClientIpValidation: true, maxIdleTimeout: 30_000 },
    { certChain: fs.readFileSync(values.cert!, 'utf8'), privateKey: fs.readFileSync(values.key!, 'utf8') },
  );
  let buffer = Buffer.alloc(0);
  let bytesServed = 0;
  async function* body(n: number): AsyncIterable<Uint8Array> {
    for (let off = 0; off < n; off += CHUNK) {
      const len = Math.min(CHUNK, n - off);
      bytesServed += len;
      yield buffer.subarray(0, len);
    }
  }
  listen$(socket, params)
    .pipe(
      serveHttp3((req) => {
        const p = (req.path.split('?')[0] ?? '/').replace(/^\/+/, '');
        if (!/^\d+$/.test(p)) return { status: 404 };
        const n = Number(p);
        if (buffer.length < Math.min(n, CHUNK)) buffer = Buffer.alloc(CHUNK, 0x5a);
        return { status: 200, headers: { 'content-length': n }, body: body(n) };
      }),
    )
    .subscribe();
  // Connections that ended in an error (e.g. our server closing with INTERNAL_ERROR), with why.
  const errors: string[] = [];
  const { DIAGNOSTICS_CHANNELS } = await import('../src');
  const dc = await import('node:diagnostics_channel');
  dc.subscribe(DIAGNOSTICS_CHANNELS.connectionClosed, (msg) => {
    const { result } = msg as { result: { ok: boolean; error?: unknown } };
    if (result.ok) return;
    const e = result.error as (Error & { cause?: unknown }) | undefined;
    const cause = e?.cause as Error | undefined;
    errors.push(`${e?.name}: ${e?.message}${cause ? ` (cause: ${cause.name}: ${cause.message})` : ''} after ${bytesServed} B yielded`);
    console.error('our server: connection failed:', e, cause?.stack ?? '');
  });
  const cpu0 = process.cpuUsage();
  process.on('message', (m) => {
    if (m === 'cpu') {
      const c = process.cpuUsage(cpu0);
      process.send!({ cpuSec: (c.user + c.system) / 1e6, bytesServed, errors });
    }
  });
  process.send!({ port: socket.localAddress.port, kind: socket.kind });
}

// ---------------------------------------------------------------------------------------------
// Child: our client

async function ourClient(): Promise<void> {
  const { bindQuicSocket, connect$ } = await import('../src');
  const { lastValueFrom, switchMap, take } = await import('rxjs');
  const port = Number(values.port);
  const socket = await bindQuicSocket({ address: '127.0.0.1', port: 0, native: 'auto' });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let received = 0;
  let status = 0;
  await lastValueFrom(
    connect$(socket, 'localhost', { peer: { address: '127.0.0.1', port }, insecureSkipVerify: true }).pipe(
      switchMap(({ controller }) =>
        controller.request({ ':method': 'GET', ':path': values.path ?? `/${BYTES}` }).pipe(
          take(1),
          switchMap(async (res) => {
            status = res.status;
            for await (const c of res.body) received += c.length;
          }),
        ),
      ),
      take(1),
    ),
  );
  const ms = performance.now() - t0;
  const c = process.cpuUsage(cpu0);
  socket.close();
  process.send!({ ms, cpuSec: (c.user + c.system) / 1e6, received, status, kind: socket.kind });
  process.disconnect();
  setTimeout(() => process.exit(0), 50).unref();
}

// ---------------------------------------------------------------------------------------------
// Orchestrator

interface Sample {
  mibps: number;
  clientCpuPerGiB: number;
  serverCpuPerGiB: number;
}

type ClientSide = 'ngtcp2' | 'ours';
type ServerSide = 'ngtcp2' | 'tokio' | 'ours';
interface Pair {
  id: number;
  client: ClientSide;
  server: ServerSide;
}
const PAIRS: Pair[] = [
  { id: 1, client: 'ngtcp2', server: 'ngtcp2' },
  { id: 2, client: 'ngtcp2', server: 'tokio' },
  { id: 3, client: 'ngtcp2', server: 'ours' },
  { id: 4, client: 'ours', server: 'ngtcp2' },
  { id: 5, client: 'ours', server: 'tokio' },
  { id: 6, client: 'ours', server: 'ours' },
];
const SERVER_NAME: Record<ServerSide, string> = { ngtcp2: 'gtlsserver', tokio: 'tokio-quiche', ours: 'our server' };
const label = (p: Pair): string => `${p.client === 'ours' ? 'our client' : 'gtlsclient'} → ${SERVER_NAME[p.server]}`;
/** The request path each server answers with N generated bytes. */
const pathFor = (server: ServerSide): string => (server === 'tokio' ? `/stream-bytes/${BYTES}` : `/${BYTES}`);

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
function procCpuSec(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 (utime, stime); f[0] is field 3.
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(r));
  return port;
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((r) => child.once('exit', (code) => r(code)));
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 2000);
  await exited(child);
  clearTimeout(t);
}

function tsChild(args: string[]): ChildProcess {
  return spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', __filename, ...args], {
    cwd: path.join(__dirname, '..'),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

function nextMessage<T>(child: ChildProcess, what: string, timeoutMs = RUN_TIMEOUT_MS): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what}: no answer in ${timeoutMs} ms`)), timeoutMs);
    const onExit = (code: number | null): void => reject(new Error(`${what}: child exited (${code})`));
    child.once('message', (m) => {
      clearTimeout(t);
      child.off('exit', onExit);
      resolve(m as T);
    });
    child.once('exit', onExit);
  });
}

interface Fixture {
  dir: string;
  /** Where gtlsclient saves the body (tmpfs when available), emptied after every run. */
  download: string;
  www: string;
  cert: string;
  key: string;
}

const kinds = new Set<string>();

interface ServerHandle {
  port: number;
  cpu(): Promise<number>;
  stop(): Promise<void>;
}

/** Waits until a UDP port on 127.0.0.1 is bound (it shows up in /proc/net/udp), or the timeout. */
async function waitForUdpPort(port: number, child: ChildProcess, timeoutMs = 5000): Promise<void> {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')} `;
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (child.exitCode !== null) throw new Error(`server exited at once (${child.exitCode})`);
    if (fs.readFileSync('/proc/net/udp', 'utf8').includes(`0100007F${hex}`)) return;
    await sleep(20);
  }
  throw new Error(`nothing bound 127.0.0.1:${port} within ${timeoutMs} ms`);
}

async function startServer(side: ServerSide, fx: Fixture): Promise<ServerHandle> {
  if (side === 'tokio') {
    const port = await freeUdpPort();
    let err = '';
    const child = spawn(TOKIO_QUICHE, ['--address', `127.0.0.1:${port}`, '--tls-cert-path', fx.cert, '--tls-private-key-path', fx.key], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'error' },
    });
    child.stderr!.on('data', (b: Buffer) => (err += b.toString()).length > 10_000 && (err = err.slice(-5000)));
    try {
      await waitForUdpPort(port, child);
    } catch (e) {
      await stop(child);
      throw new Error(`tokio-quiche: ${e instanceof Error ? e.message : String(e)} ${err.trim().split('\n').slice(-2).join(' | ')}`);
    }
    const cpu0 = procCpuSec(child.pid!);
    return {
      port,
      cpu: async () => {
        if (child.exitCode !== null) throw new Error(`tokio-quiche exited (${child.exitCode}): ${err.trim().split('\n').slice(-2).join(' | ')}`);
        return procCpuSec(child.pid!) - cpu0;
      },
      stop: () => stop(child),
    };
  }
  if (side === 'ngtcp2') {
    const port = await freeUdpPort();
    const child = spawn(
      GTLSSERVER,
      ['-q', '--no-quic-dump', '--no-http-dump', '-d', fx.www, `--max-dyn-length=${Math.max(BYTES, 20_000_000)}`, '127.0.0.1', String(port), fx.key, fx.cert],
      { stdio: 'ignore' },
    );
    await sleep(200);
    if (child.exitCode !== null) throw new Error(`gtlsserver exited at once (${child.exitCode})`);
    const cpu0 = procCpuSec(child.pid!);
    return { port, cpu: async () => procCpuSec(child.pid!) - cpu0, stop: () => stop(child) };
  }
  const child = tsChild(['--role', 'server', '--cert', fx.cert, '--key', fx.key, '--mib', String(MIB)]);
  const ready = await nextMessage<{ port: number; kind: string }>(child, 'our server start');
  kinds.add(`server ${ready.kind}`);
  return {
    port: ready.port,
    cpu: async () => {
      const p = nextMessage<{ cpuSec: number; errors: string[] }>(child, 'our server cpu', 5000);
      child.send('cpu');
      const r = await p;
      if (r.errors.length > 0) throw new Error(`our server: ${r.errors.join('; ')}`);
      return r.cpuSec;
    },
    stop: () => stop(child),
  };
}

async function runClient(side: ClientSide, server: ServerSide, port: number, fx: Fixture): Promise<{ ms: number; cpuSec: number }> {
  const urlPath = pathFor(server);
  if (side === 'ngtcp2') {
    const timeFile = path.join(fx.dir, 'time.txt');
    fs.rmSync(fx.download, { recursive: true, force: true });
    fs.mkdirSync(fx.download);
    const t0 = performance.now();
    const child = spawn(
      '/usr/bin/time',
      ['-f', '%U %S', '-o', timeFile, GTLSCLIENT, '-q', '--exit-on-all-streams-close', `--download=${fx.download}`, '127.0.0.1', String(port), `https://127.0.0.1:${port}${urlPath}`],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let err = '';
    child.stderr!.on('data', (b: Buffer) => (err += b.toString()).length > 10_000 && (err = err.slice(-5000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    const code = await exited(child);
    const ms = performance.now() - t0;
    clearTimeout(timer);
    if (code !== 0) throw new Error(`gtlsclient exit ${code}: ${err.trim().split('\n').slice(-2).join(' | ')}`);
    const [u, s] = fs.readFileSync(timeFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
    // gtlsclient exits 0 on a truncated body too, so check what it saved.
    const saved = fs.readdirSync(fx.download).map((f) => fs.statSync(path.join(fx.download, f)).size);
    fs.rmSync(fx.download, { recursive: true, force: true });
    if (saved.length !== 1 || saved[0] !== BYTES) throw new Error(`gtlsclient saved ${saved.length ? saved.join('+') : 'no file'} of ${BYTES} B`);
    return { ms, cpuSec: u! + s! };
  }
  const child = tsChild(['--role', 'client', '--port', String(port), '--mib', String(MIB), '--path', urlPath]);
  try {
    const r = await nextMessage<{ ms: number; cpuSec: number; received: number; status: number; kind: string; error?: string }>(child, 'our client');
    if (r.error !== undefined) throw new Error(`our client: ${r.error}`);
    kinds.add(`client ${r.kind}`);
    if (r.status !== 200 || r.received !== BYTES) throw new Error(`our client: status ${r.status}, ${r.received}/${BYTES} bytes`);
    return r;
  } finally {
    await stop(child);
  }
}

async function runOnce(pair: Pair, fx: Fixture): Promise<Sample> {
  const server = await startServer(pair.server, fx);
  try {
    let c: { ms: number; cpuSec: number };
    try {
      c = await runClient(pair.client, pair.server, server.port, fx);
    } catch (e) {
      // Ask our server why, when it was the one that closed.
      const why = await server.cpu().then(
        () => '',
        (se: unknown) => ` [${se instanceof Error ? se.message : String(se)}]`,
      );
      throw new Error(`${e instanceof Error ? e.message : String(e)}${why}`);
    }
    const serverCpu = await server.cpu();
    const gib = MIB / 1024;
    return { mibps: MIB / (c.ms / 1000), clientCpuPerGiB: c.cpuSec / gib, serverCpuPerGiB: serverCpu / gib };
  } finally {
    await server.stop();
  }
}

function ngtcp2Version(): string {
  try {
    return execFileSync('dpkg-query', ['-W', '-f', '${Version}', 'ngtcp2-server']).toString().trim();
  } catch {
    return '?';
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function tokioQuicheVersion(): string {
  try {
    return fs.readFileSync(TOKIO_QUICHE_VERSION_FILE, 'utf8').trim();
  } catch {
    return 'tokio-quiche (version unknown)';
  }
}

interface Summary {
  n: number;
  mibps: number;
  cli: number;
  srv: number;
}

async function main(): Promise<void> {
  const runs = Number(values.runs);
  const pairs = values.pairs!.split(',').map((s) => {
    const p = PAIRS.find((x) => x.id === Number(s));
    if (!p) throw new Error(`--pairs: no pair ${s} (1-6)`);
    return p;
  });
  for (const f of [GTLSCLIENT, GTLSSERVER]) if (!fs.existsSync(f)) throw new Error(`missing ${f} (sudo interop/install.sh)`);
  // Pairs that cannot run at all, and why; printed as SKIPPED, the rest still run.
  const skipped = new Map<number, string>();
  if (!fs.existsSync(TOKIO_QUICHE)) {
    for (const p of pairs) if (p.server === 'tokio') skipped.set(p.id, `SKIPPED: ${TOKIO_QUICHE} not built (run interop/install-rust-peers.sh)`);
    process.stderr.write(`tokio-quiche's async_http3_server is not built (${TOKIO_QUICHE}); pairs with it are skipped. Run interop/install-rust-peers.sh.\n`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rxjs-quiche-h3bulk-'));
  const www = path.join(dir, 'www');
  fs.mkdirSync(www);
  const shm = fs.existsSync('/dev/shm') ? fs.mkdtempSync('/dev/shm/rxjs-quiche-h3bulk-') : dir;
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '30', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
    { cwd: dir, stdio: 'ignore' },
  );
  const fx: Fixture = { dir, download: path.join(shm, 'dl'), www, cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') };
  const samples = new Map<number, Sample[]>(pairs.map((p) => [p.id, []]));
  const failures = new Map<number, string[]>(pairs.map((p) => [p.id, []]));
  const t0 = Date.now();
  const todo = runs * pairs.filter((p) => !skipped.has(p.id)).length;
  let done = 0;
  try {
    for (let i = 0; i < runs; i++) {
      for (const pair of pairs) {
        if (skipped.has(pair.id)) continue;
        const elapsed = (Date.now() - t0) / 1000;
        const eta = done > 0 ? ` ~${Math.ceil(((elapsed / done) * (todo - done)) / 60)} min left` : '';
        process.stderr.write(`\r\x1b[K[${done + 1}/${todo}${eta}] run ${i + 1}/${runs} pair ${pair.id} (${label(pair)}), ${MIB} MiB…`);
        try {
          const s = await runOnce(pair, fx);
          samples.get(pair.id)!.push(s);
          process.stderr.write(` ${s.mibps.toFixed(0)} MiB/s`);
          if (process.env.BENCH_VERBOSE) process.stderr.write(`\n  ${JSON.stringify(s)}\n`);
        } catch (e) {
          failures.get(pair.id)!.push(`run ${i + 1}: ${e instanceof Error ? e.message : String(e)}`);
          process.stderr.write(` FAILED: ${e instanceof Error ? e.message : String(e)}\n`);
        }
        done++;
      }
    }
  } finally {
    process.stderr.write('\r\x1b[K');
    fs.rmSync(dir, { recursive: true, force: true });
    if (shm !== dir) fs.rmSync(shm, { recursive: true, force: true });
  }
  const summary = new Map<number, Summary>();
  for (const [id, s] of samples) {
    if (s.length === 0) continue;
    summary.set(id, {
      n: s.length,
      mibps: median(s.map((x) => x.mibps)),
      cli: median(s.map((x) => x.clientCpuPerGiB)),
      srv: median(s.map((x) => x.serverCpuPerGiB)),
    });
  }
  const ratio = (a: number | undefined, b: number | undefined): string => (a === undefined || b === undefined ? '–' : (a / b).toFixed(2));
  const base = summary.get(1);
  console.log(
    `HTTP/3 bulk download, ${MIB} MiB, 1 connection, 1 stream, loopback; median of ${runs} interleaved runs, fresh processes each run ` +
      `(${((Date.now() - t0) / 60_000).toFixed(1)} min in all)`,
  );
  console.log(`sockets: ${[...kinds].join(', ') || 'n/a'}; ngtcp2 ${ngtcp2Version()}; ${fs.existsSync(TOKIO_QUICHE) ? tokioQuicheVersion() : 'tokio-quiche not built'}`);
  console.log('| pair | runs ok | MiB/s | × pair 1 | client CPU s/GiB | × | server CPU s/GiB | × | min–max MiB/s |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const pair of pairs) {
    const m = summary.get(pair.id);
    if (!m) {
      const why = skipped.get(pair.id) ?? `FAILED: ${failures.get(pair.id)![0] ?? ''}`;
      console.log(`| ${pair.id}. ${label(pair)} | 0/${skipped.has(pair.id) ? 0 : runs} | – | – | – | – | – | – | ${why} |`);
      continue;
    }
    const mbs = samples.get(pair.id)!.map((x) => x.mibps);
    console.log(
      `| ${pair.id}. ${label(pair)} | ${m.n}/${runs} | ${m.mibps.toFixed(1)} | ${ratio(m.mibps, base?.mibps)} | ${m.cli.toFixed(2)} | ${ratio(m.cli, base?.cli)} | ` +
        `${m.srv.toFixed(2)} | ${ratio(m.srv, base?.srv)} | ${Math.min(...mbs).toFixed(0)}–${Math.max(...mbs).toFixed(0)} |`,
    );
  }
  // Ours against each peer in the same role, with the same counterpart at the other end.
  const rows: Array<[string, number, number, 'srv' | 'cli']> = [
    ['our server ÷ gtlsserver (client: gtlsclient)', 3, 1, 'srv'],
    ['our server ÷ tokio-quiche (client: gtlsclient)', 3, 2, 'srv'],
    ['our client ÷ gtlsclient (server: gtlsserver)', 4, 1, 'cli'],
    ['our client ÷ gtlsclient (server: tokio-quiche)', 5, 2, 'cli'],
  ];
  console.log('');
  console.log('| ours vs the peer in the same role | MiB/s ratio | our end CPU s/GiB ratio | other end CPU s/GiB ratio |');
  console.log('|---|---|---|---|');
  for (const [what, a, b, side] of rows) {
    const x = summary.get(a);
    const y = summary.get(b);
    if (!x || !y) {
      console.log(`| ${what} | – | – | – |`);
      continue;
    }
    const other = side === 'srv' ? 'cli' : 'srv';
    console.log(`| ${what} | ${ratio(x.mibps, y.mibps)} | ${ratio(x[side], y[side])} | ${ratio(x[other], y[other])} |`);
  }
  for (const [id, why] of skipped) console.log(`pair ${id} ${why}`);
  for (const [id, f] of failures) if (f.length) console.log(`pair ${id} failures (${f.length}/${runs}): ${f.join('; ')}`);
}

if (values.role === 'server') {
  ourServer().catch((e: unknown) => {
    console.error(e);
    process.exit(2);
  });
} else if (values.role === 'client') {
  ourClient().catch((e: unknown) => {
    console.error(e);
    const msg = e instanceof Error ? `${e.name}: ${e.message}${e.cause ? ` (cause: ${String(e.cause)})` : ''}` : String(e);
    process.send!({ error: msg }, () => process.exit(2));
  });
} else {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(2);
  });
}
