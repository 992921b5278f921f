/**
 * HTTP/3 bulk download, side by side with ngtcp2 (issue 6): one GET of N MiB over one connection,
 * one stream, on loopback, in four pairs, interleaved run by run:
 *
 *   1. gtlsclient → gtlsserver   (ngtcp2 1.11 both ends: the baseline)
 *   2. gtlsclient → our server   (serveHttp3, the body a preallocated buffer in 64 KiB chunks from an AsyncIterable)
 *   3. our client → gtlsserver   (connect$, the body read and discarded)
 *   4. our client → our server
 *
 * Every run starts fresh processes: our server and our client each run in their own child
 * process (own event loop), on the native socket (`bindQuicSocket({ native: 'auto' })`).
 *
 *   npx ts-node --transpile-only bench/h3-bulk.ts [--mib 100] [--runs 5] [--pairs 1,2,3,4]
 *
 * Measured:
 * - MiB/s: gtlsclient: wall time from spawn to exit (includes exec and the handshake, a few ms);
 *   our client: from calling connect$ to the last body byte (includes the handshake).
 * - CPU s per GiB: gtlsclient from `/usr/bin/time`, gtlsserver from /proc/<pid>/stat (utime+stime
 *   between just before the run and just after it), ours from process.cpuUsage() in the child
 *   (client: connect$ to the last byte; server: ready to the end of the run, idle included).
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
const CHUNK = 64 * 1024;
const RUN_TIMEOUT_MS = 120_000;

const { values } = parseArgs({
  options: {
    mib: { type: 'string', default: '100' },
    runs: { type: 'string', default: '5' },
    pairs: { type: 'string', default: '1,2,3,4' },
    role: { type: 'string' },
    port: { type: 'string' },
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
        controller.request({ ':method': 'GET', ':path': `/${BYTES}` }).pipe(
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

type Side = 'ngtcp2' | 'ours';
interface Pair {
  id: number;
  client: Side;
  server: Side;
}
const PAIRS: Pair[] = [
  { id: 1, client: 'ngtcp2', server: 'ngtcp2' },
  { id: 2, client: 'ngtcp2', server: 'ours' },
  { id: 3, client: 'ours', server: 'ngtcp2' },
  { id: 4, client: 'ours', server: 'ours' },
];
const label = (p: Pair): string => `${p.client === 'ours' ? 'our client' : 'gtlsclient'} → ${p.server === 'ours' ? 'our server' : 'gtlsserver'}`;

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

async function startServer(side: Side, fx: Fixture): Promise<ServerHandle> {
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

async function runClient(side: Side, port: number, fx: Fixture): Promise<{ ms: number; cpuSec: number }> {
  if (side === 'ngtcp2') {
    const timeFile = path.join(fx.dir, 'time.txt');
    const t0 = performance.now();
    const child = spawn('/usr/bin/time', ['-f', '%U %S', '-o', timeFile, GTLSCLIENT, '-q', '--exit-on-all-streams-close', '127.0.0.1', String(port), `https://127.0.0.1:${port}/${BYTES}`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr!.on('data', (b: Buffer) => (err += b.toString()).length > 10_000 && (err = err.slice(-5000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    const code = await exited(child);
    const ms = performance.now() - t0;
    clearTimeout(timer);
    if (code !== 0) throw new Error(`gtlsclient exit ${code}: ${err.trim().split('\n').slice(-2).join(' | ')}`);
    const [u, s] = fs.readFileSync(timeFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
    return { ms, cpuSec: u! + s! };
  }
  const child = tsChild(['--role', 'client', '--port', String(port), '--mib', String(MIB)]);
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
      c = await runClient(pair.client, server.port, fx);
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

async function main(): Promise<void> {
  const runs = Number(values.runs);
  const pairs = values.pairs!.split(',').map((s) => PAIRS.find((p) => p.id === Number(s))!);
  for (const f of [GTLSCLIENT, GTLSSERVER]) if (!fs.existsSync(f)) throw new Error(`missing ${f} (sudo interop/install.sh)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rxjs-quiche-h3bulk-'));
  const www = path.join(dir, 'www');
  fs.mkdirSync(www);
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '30', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
    { cwd: dir, stdio: 'ignore' },
  );
  const fx: Fixture = { dir, www, cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') };
  const samples = new Map<number, Sample[]>(pairs.map((p) => [p.id, []]));
  const failures = new Map<number, string[]>(pairs.map((p) => [p.id, []]));
  try {
    for (let i = 0; i < runs; i++) {
      for (const pair of pairs) {
        process.stderr.write(`\r\x1b[Krun ${i + 1}/${runs} pair ${pair.id} (${label(pair)})…`);
        try {
          const s = await runOnce(pair, fx);
          samples.get(pair.id)!.push(s);
          process.stderr.write(` ${s.mibps.toFixed(0)} MiB/s`);
          if (process.env.BENCH_VERBOSE) process.stderr.write(`\n  ${JSON.stringify(s)}\n`);
        } catch (e) {
          failures.get(pair.id)!.push(e instanceof Error ? e.message : String(e));
          process.stderr.write(` FAILED: ${e instanceof Error ? e.message : String(e)}\n`);
        }
      }
    }
  } finally {
    process.stderr.write('\r\x1b[K');
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const base = samples.get(1)?.length ? samples.get(1)! : undefined;
  const baseMibps = base ? median(base.map((s) => s.mibps)) : NaN;
  const baseCli = base ? median(base.map((s) => s.clientCpuPerGiB)) : NaN;
  const baseSrv = base ? median(base.map((s) => s.serverCpuPerGiB)) : NaN;
  console.log(`HTTP/3 bulk download, ${MIB} MiB, 1 connection, 1 stream, loopback; median of ${runs} interleaved runs, fresh processes each run`);
  console.log(`sockets: ${[...kinds].join(', ') || 'n/a'}; ngtcp2 ${ngtcp2Version()}`);
  console.log('| pair | runs ok | MiB/s | × baseline | client CPU s/GiB | × | server CPU s/GiB | × | min–max MiB/s |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const pair of pairs) {
    const s = samples.get(pair.id)!;
    const f = failures.get(pair.id)!;
    if (s.length === 0) {
      console.log(`| ${pair.id}. ${label(pair)} | 0/${runs} | – | – | – | – | – | – | ${f[0] ?? ''} |`);
      continue;
    }
    const ratio = (a: number, b: number): string => (Number.isFinite(b) ? (a / b).toFixed(2) : '–');
    const m = median(s.map((x) => x.mibps));
    const c = median(s.map((x) => x.clientCpuPerGiB));
    const v = median(s.map((x) => x.serverCpuPerGiB));
    const mbs = s.map((x) => x.mibps);
    console.log(
      `| ${pair.id}. ${label(pair)} | ${s.length}/${runs} | ${m.toFixed(1)} | ${ratio(m, baseMibps)} | ${c.toFixed(2)} | ${ratio(c, baseCli)} | ${v.toFixed(2)} | ${ratio(v, baseSrv)} | ${Math.min(...mbs).toFixed(0)}–${Math.max(...mbs).toFixed(0)} |`,
    );
  }
  for (const [id, f] of failures) if (f.length) console.log(`pair ${id} failures: ${f.join('; ')}`);
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
