/**
 * Interop harness: independent QUIC / HTTP/3 stacks against rxjs-quiche on loopback, both roles.
 *
 *   npx ts-node --transpile-only interop/run.ts [--peers ngtcp2,aioquic] [--cases handshake,transfer,...] [--keep]
 *
 * Roles:
 * - `server`: OUR server (listen$ + serveHttp3 on 127.0.0.1), the peer's client fetches from it.
 * - `client`: the peer's server, OUR client (connect$) fetches from it.
 *
 * Cases follow the QUIC Interop Runner (testcases_quic.py; see /work/shared/PEERS.md B), over h3
 * (neither ngtcp2's Debian binaries nor our library speak hq-interop). Checks that need a pcap in
 * the runner are done with what each side exposes: our server's counters (Retry sent, connections,
 * `isResumed()`, `H3Request.isInEarlyData`), our client's quiche connection (`isResumed()`,
 * `session()`), the peer client's output. Each check says what it looked at.
 *
 * Peers are installed by interop/install.sh (ngtcp2 from Debian bookworm-backports, aioquic's
 * examples from its PyPI sdist in interop/.peers/).
 *
 * Exit status: 0 when every case passed, 1 otherwise.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { from, lastValueFrom, mergeMap, switchMap, take, toArray, type Subscription } from 'rxjs';

import { ConnectionParams, connect$, DefaultMetrics, listen$, type QuicheConnection, serveHttp3 } from '../src';

// ---------------------------------------------------------------------------------------------
// Configuration

export const ALL_PEERS = ['ngtcp2', 'aioquic'] as const;
export type PeerName = (typeof ALL_PEERS)[number];
export const ALL_CASES = ['handshake', 'transfer', 'http3', 'multiplexing', 'retry', 'resumption', 'zerortt'] as const;
export type CaseName = (typeof ALL_CASES)[number];
export type Role = 'server' | 'client';

export const INTEROP_DIR = __dirname;
export const PEERS_DIR = path.join(INTEROP_DIR, '.peers');
export const AIOQUIC_VERSION = '1.7.2';
const GTLSCLIENT = '/usr/bin/gtlsclient';
const GTLSSERVER = '/usr/sbin/gtlsserver';
const PYTHON = path.join(PEERS_DIR, 'venv', 'bin', 'python');
const AIOQUIC_EXAMPLES = path.join(PEERS_DIR, `aioquic-${AIOQUIC_VERSION}`, 'examples');

const CASE_TIMEOUT_MS: Record<CaseName, number> = {
  handshake: 15_000,
  transfer: 40_000,
  http3: 20_000,
  multiplexing: 60_000,
  retry: 15_000,
  resumption: 25_000,
  zerortt: 25_000,
};

/** How many 32-byte files `multiplexing` fetches (the runner: 1999). */
const MULTIPLEX_FILES = 1000;

export interface CaseResult {
  peer: PeerName;
  role: Role;
  testCase: CaseName;
  ok: boolean;
  reason: string;
  ms: number;
}

/** What the peers need that is missing, or [] when both binaries / scripts are there. */
export function missingPeers(peers: readonly PeerName[]): string[] {
  const missing: string[] = [];
  if (peers.includes('ngtcp2')) {
    for (const f of [GTLSCLIENT, GTLSSERVER]) if (!fs.existsSync(f)) missing.push(f);
  }
  if (peers.includes('aioquic')) {
    for (const f of [PYTHON, path.join(AIOQUIC_EXAMPLES, 'http3_client.py'), path.join(AIOQUIC_EXAMPLES, 'http3_server.py')]) {
      if (!fs.existsSync(f)) missing.push(f);
    }
  }
  return missing;
}

// ---------------------------------------------------------------------------------------------
// Fixtures: certificates and files

interface Fixture {
  dir: string;
  www: string;
  caPem: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  certPem: string;
  keyPem: string;
  /** name -> SHA-256 of the file in www */
  sums: Map<string, string>;
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A CA and a CA:FALSE leaf for localhost / 127.0.0.1 / ::1 (PEERS.md A.0). */
function makeCerts(dir: string): Pick<Fixture, 'caPem' | 'caFile' | 'certFile' | 'keyFile' | 'certPem' | 'keyPem'> {
  const run = (args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '30', '-subj', '/CN=interop test CA']);
  run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=localhost']);
  fs.writeFileSync(
    path.join(dir, 'leaf.ext'),
    'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nbasicConstraints=critical,CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n',
  );
  run(['x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '30', '-out', 'leaf.pem', '-extfile', 'leaf.ext']);
  const caFile = path.join(dir, 'ca.pem');
  const certFile = path.join(dir, 'leaf.pem');
  const keyFile = path.join(dir, 'leaf.key');
  return {
    caFile,
    certFile,
    keyFile,
    caPem: fs.readFileSync(caFile, 'utf8'),
    certPem: fs.readFileSync(certFile, 'utf8'),
    keyPem: fs.readFileSync(keyFile, 'utf8'),
  };
}

/** The files of each case, as the runner sizes them (names are random per run, as in the runner). */
function caseFiles(testCase: CaseName): Array<{ name: string; size: number }> {
  // Letters only: a name of digits would hit the servers' `/<N>` route.
  const name = (n = 10): string => Array.from(randomBytes(n), (b) => String.fromCharCode(97 + (b % 26))).join('');
  switch (testCase) {
    case 'handshake':
      return [{ name: name(), size: 1024 }];
    case 'transfer':
      return [
        { name: name(), size: 2 * 1024 * 1024 },
        { name: name(), size: 3 * 1024 * 1024 },
        { name: name(), size: 5 * 1024 * 1024 },
      ];
    case 'http3':
      return [
        { name: name(), size: 5 * 1024 },
        { name: name(), size: 10 * 1024 },
        { name: name(), size: 500 * 1024 },
      ];
    case 'multiplexing':
      return Array.from({ length: MULTIPLEX_FILES }, () => ({ name: name(16), size: 32 }));
    case 'retry':
      return [{ name: name(), size: 10 * 1024 }];
    case 'resumption':
      // First connection fetches the first file, the second one the rest.
      return [
        { name: name(), size: 5 * 1024 },
        { name: name(), size: 10 * 1024 },
      ];
    case 'zerortt':
      // The runner: 40 x 32 B with 250-character names. Here: 1 (first connection, which gets the
      // ticket) + 10 (second connection, in 0-RTT), which keeps the verbose peer logs short.
      return Array.from({ length: 11 }, () => ({ name: name(250), size: 32 }));
  }
}

function writeFiles(fx: Fixture, files: Array<{ name: string; size: number }>): void {
  for (const f of files) {
    const data = randomBytes(f.size);
    fs.writeFileSync(path.join(fx.www, f.name), data);
    fx.sums.set(f.name, sha256(data));
  }
}

// ---------------------------------------------------------------------------------------------
// Processes

interface Proc {
  child: ChildProcess;
  out: () => string;
  done: Promise<number | null>;
}

function startProc(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Proc {
  const child = spawn(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (b: Buffer): void => {
    out += b.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const done = new Promise<number | null>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : null)));
    child.on('error', (e) => {
      out += String(e);
      resolve(-2);
    });
  });
  return { child, out: () => out, done };
}

function stopProc(p: Proc): Promise<unknown> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
  const kill = setTimeout(() => p.child.kill('SIGKILL'), 2000);
  return p.done.finally(() => clearTimeout(kill));
}

/** Runs a client process to its end, killing it at the deadline. */
async function runProc(cmd: string, args: string[], timeoutMs: number, opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number | null; out: string; timedOut: boolean }> {
  const p = startProc(cmd, args, opts);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    p.child.kill('SIGKILL');
  }, timeoutMs);
  const code = await p.done;
  clearTimeout(timer);
  return { code, out: p.out(), timedOut };
}

function lastLines(s: string, n = 3): string {
  return s.trim().split('\n').slice(-n).join(' | ').slice(0, 300);
}

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(r));
  return port;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

class CaseFailure extends Error {}
function check(cond: unknown, reason: string): asserts cond {
  if (!cond) throw new CaseFailure(reason);
}

/** Compares downloaded files (name -> bytes) with the originals; returns '' or the first mismatch. */
function compareFiles(fx: Fixture, names: string[], got: Map<string, Uint8Array | undefined>): string {
  const bad: string[] = [];
  for (const n of names) {
    const data = got.get(n);
    if (data === undefined) bad.push(`${n.slice(0, 12)}: missing`);
    else if (sha256(data) !== fx.sums.get(n)) bad.push(`${n.slice(0, 12)}: ${data.length} B, SHA-256 differs`);
  }
  return bad.length === 0 ? '' : `${bad.length}/${names.length} files wrong (${bad.slice(0, 2).join('; ')})`;
}

function readDownloads(dir: string, names: string[]): Map<string, Uint8Array | undefined> {
  const m = new Map<string, Uint8Array | undefined>();
  for (const n of names) {
    const f = path.join(dir, n);
    m.set(n, fs.existsSync(f) ? fs.readFileSync(f) : undefined);
  }
  return m;
}

// ---------------------------------------------------------------------------------------------
// Our server

interface OurServer {
  port: number;
  metrics: DefaultMetrics;
  /** One entry per established connection: isResumed() once established. */
  connections: Array<{ resumed?: boolean }>;
  requests: number;
  earlyRequests: number;
  stop(): Promise<void>;
}

async function startOurServer(fx: Fixture, opts: { retry: boolean; earlyData: boolean }): Promise<OurServer> {
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  const metrics = new DefaultMetrics();
  const params = ConnectionParams.newServer(
    { disableClientIpValidation: !opts.retry, enableEarlyData: opts.earlyData, maxIdleTimeout: 10_000 },
    { certChain: fx.certPem, privateKey: fx.keyPem },
  );
  const server: OurServer = {
    port: socket.address().port,
    metrics,
    connections: [],
    requests: 0,
    earlyRequests: 0,
    stop: async () => undefined,
  };
  const sub: Subscription = listen$(socket, params, { metrics })
    .pipe(
      serveHttp3((req) => {
        server.requests++;
        if (req.isInEarlyData) server.earlyRequests++;
        const p = decodeURIComponent(req.path.split('?')[0] ?? '/').replace(/^\/+/, '');
        if (/^\d+$/.test(p)) return { status: 200, body: Buffer.alloc(Number(p), 0x5a) };
        if (p.includes('/') || p.startsWith('.')) return { status: 403 };
        const f = path.join(fx.www, p);
        if (!fs.existsSync(f)) return { status: 404, body: 'not found\n' };
        const body = fs.readFileSync(f);
        return { status: 200, headers: { 'content-length': body.length }, body };
      }),
    )
    .subscribe(({ controller }) => {
      const entry: { resumed?: boolean } = {};
      server.connections.push(entry);
      controller.quicCommand({ type: 'custom', run: (q: QuicheConnection) => void (entry.resumed = q.isResumed()) });
    });
  server.stop = async () => {
    sub.unsubscribe();
    await sleep(50);
    socket.close();
  };
  return server;
}

// ---------------------------------------------------------------------------------------------
// Our client

interface FetchResult {
  files: Map<string, Uint8Array | undefined>;
  statuses: number[];
  resumed: boolean;
  earlyDataReason: number;
  session: Uint8Array | null;
}

async function ourFetch(fx: Fixture, port: number, names: string[], opts: { session?: Uint8Array; earlyData?: boolean } = {}): Promise<FetchResult> {
  const socket: Socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  const result: FetchResult = { files: new Map(), statuses: [], resumed: false, earlyDataReason: -1, session: null };
  const onQ = (controller: { quicCommand(c: { type: 'custom'; run: (q: QuicheConnection) => void }): void }, f: (q: QuicheConnection) => void): Promise<void> =>
    new Promise((resolve) => controller.quicCommand({ type: 'custom', run: (q) => (f(q), resolve()) }));
  try {
    await lastValueFrom(
      connect$(socket, 'localhost', {
        peer: { address: '127.0.0.1', port },
        trust: { ca: fx.caPem },
        ...(opts.session ? { session: opts.session } : {}),
        ...(opts.earlyData ? { settings: { enableEarlyData: true } } : {}),
      }).pipe(
        switchMap(({ controller }) =>
          from(names).pipe(
            mergeMap(
              (name) =>
                controller.request({ ':method': 'GET', ':path': `/${name}` }).pipe(
                  take(1),
                  mergeMap(async (res) => {
                    const chunks: Uint8Array[] = [];
                    for await (const c of res.body) chunks.push(c);
                    result.statuses.push(res.status);
                    result.files.set(name, res.status === 200 ? Buffer.concat(chunks) : undefined);
                  }),
                ),
              100,
            ),
            toArray(),
            // Read after the responses: in early data the handshake is not over yet. Then wait a
            // moment for a NewSessionTicket if none has come yet, and take it.
            switchMap(async () => {
              await onQ(controller, (q) => ((result.resumed = q.isResumed()), (result.earlyDataReason = q.earlyDataReason())));
              for (let i = 0; i < 20 && result.session === null; i++) {
                await onQ(controller, (q) => void (result.session = q.session()));
                if (result.session === null) await sleep(25);
              }
            }),
          ),
        ),
        take(1),
      ),
    );
  } finally {
    await sleep(50);
    socket.close();
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Peers

interface PeerClientRun {
  code: number | null;
  out: string;
  timedOut: boolean;
}

interface PeerImpl {
  /** Peer client fetches `names` from 127.0.0.1:port into `dir`. */
  client(fx: Fixture, port: number, names: string[], dir: string, opts: { sessionFile?: string; tpFile?: string; earlyData?: boolean; qlogDir?: string; timeoutMs: number }): Promise<PeerClientRun>;
  /** Starts the peer server serving fx.www. */
  server(fx: Fixture, port: number, opts: { retry: boolean; verbose?: boolean; qlogDir?: string }): Promise<Proc>;
  /** Request streams the peer client's log (or qlog) shows it sent in 0-RTT packets, or null when it cannot tell. */
  zeroRttRequestsSent(out: string, qlogDir: string): Promise<number | null>;
  /** Request streams the peer server's (verbose) log (or qlog) shows it received in 0-RTT packets, or null. */
  zeroRttRequestsReceived(out: string, qlogDir: string): Promise<number | null>;
}

const ngtcp2: PeerImpl = {
  async client(fx, port, names, dir, opts) {
    const args = [opts.earlyData ? '' : '-q', '--exit-on-all-streams-close', `--download=${dir}`];
    if (opts.sessionFile) args.push(`--session-file=${opts.sessionFile}`, `--tp-file=${opts.tpFile}`);
    if (opts.sessionFile && !opts.earlyData) args.push('--disable-early-data');
    args.push('127.0.0.1', String(port), ...names.map((n) => `https://127.0.0.1:${port}/${n}`));
    return runProc(GTLSCLIENT, args.filter((a) => a !== ''), opts.timeoutMs);
  },
  async server(fx, port, opts) {
    const args = [...(opts.verbose ? [] : ['-q']), `--htdocs=${fx.www}`, ...(opts.retry ? ['-V'] : []), '127.0.0.1', String(port), fx.keyFile, fx.certFile];
    const p = startProc(GTLSSERVER, args);
    await sleep(300);
    return p;
  },
  // Without -q, ngtcp2 logs every frame: `frm tx <pkn> 0RTT STREAM(0x0b) id=0x4 ... uni=0`.
  async zeroRttRequestsSent(out) {
    return new Set(out.match(/frm tx \d+ 0RTT STREAM\(0x0[89a-f]\) id=(0x[0-9a-f]+) .* uni=0/g)?.map((l) => /id=(0x[0-9a-f]+)/.exec(l)![1])).size;
  },
  async zeroRttRequestsReceived(out) {
    return new Set(out.match(/frm rx \d+ 0RTT STREAM\(0x0[89a-f]\) id=(0x[0-9a-f]+) .* uni=0/g)?.map((l) => /id=(0x[0-9a-f]+)/.exec(l)![1])).size;
  },
};

const aioquic: PeerImpl = {
  async client(fx, port, names, dir, opts) {
    const args = [path.join(AIOQUIC_EXAMPLES, 'http3_client.py'), '--ca-certs', fx.caFile, '--output-dir', dir];
    if (opts.sessionFile) args.push('--session-ticket', opts.sessionFile);
    if (opts.earlyData) args.push('--zero-rtt');
    if (opts.qlogDir) args.push('--quic-log', opts.qlogDir);
    args.push(...names.map((n) => `https://localhost:${port}/${n}`));
    return runProc(PYTHON, args, opts.timeoutMs, { cwd: AIOQUIC_EXAMPLES });
  },
  async server(fx, port, opts) {
    const args = [path.join(AIOQUIC_EXAMPLES, 'http3_server.py'), '--certificate', fx.certFile, '--private-key', fx.keyFile, '--host', '127.0.0.1', '--port', String(port), ...(opts.retry ? ['--retry'] : []), ...(opts.qlogDir ? ['--quic-log', opts.qlogDir] : [])];
    const p = startProc(PYTHON, args, { cwd: AIOQUIC_EXAMPLES, env: { STATIC_ROOT: fx.www } });
    await sleep(2000); // Python + starlette import time; the server logs nothing when ready.
    return p;
  },
  zeroRttRequestsSent(_out, qlogDir) {
    return qlogZeroRttRequests(qlogDir, 'transport:packet_sent', 1);
  },
  zeroRttRequestsReceived(_out, qlogDir) {
    // The server writes a connection's qlog when it ends; our client closed both already.
    return qlogZeroRttRequests(qlogDir, 'transport:packet_received', 2);
  },
};

const PEERS: Record<PeerName, PeerImpl> = { ngtcp2, aioquic };

/**
 * Counts the client-initiated bidirectional streams (requests) carried in 0-RTT packets in the
 * qlog traces of `dir` (aioquic's QuicFileLogger: one JSON file per connection), taking the trace
 * with the most. Waits up to 3 s for `traces` files to appear.
 */
async function qlogZeroRttRequests(dir: string, event: string, traces: number): Promise<number | null> {
  for (let i = 0; i < 30 && fs.readdirSync(dir).filter((f) => f.endsWith('.qlog')).length < traces; i++) await sleep(100);
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.qlog'));
  if (files.length === 0) return null;
  let best = 0;
  for (const f of files) {
    const ids = new Set<number>();
    // The peer may still be writing the file: retry a partial read for up to 2 s.
    let text = '';
    for (let i = 0; i < 20; i++) {
      text = fs.readFileSync(path.join(dir, f), 'utf8');
      try {
        JSON.parse(text);
        break;
      } catch {
        await sleep(100);
      }
    }
    const q = JSON.parse(text) as { traces: Array<{ events: Array<{ name: string; data: { header?: { packet_type?: string }; frames?: Array<{ frame_type: string; stream_id?: number }> } }> }> };
    for (const t of q.traces) {
      for (const e of t.events) {
        if (e.name !== event || e.data.header?.packet_type !== '0RTT') continue;
        for (const fr of e.data.frames ?? []) if (fr.frame_type === 'stream' && fr.stream_id !== undefined && fr.stream_id % 4 === 0) ids.add(fr.stream_id);
      }
    }
    best = Math.max(best, ids.size);
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// Cases, server role: the peer's client against our server

async function serverRole(peer: PeerImpl, fx: Fixture, testCase: CaseName, timeoutMs: number): Promise<string> {
  const files = caseFiles(testCase);
  writeFiles(fx, files);
  const names = files.map((f) => f.name);
  const retry = testCase === 'retry';
  const earlyData = testCase === 'zerortt';
  const srv = await startOurServer(fx, { retry, earlyData });
  const dl = fs.mkdtempSync(path.join(fx.dir, 'dl-'));
  try {
    if (testCase === 'resumption' || testCase === 'zerortt') {
      const sessionFile = path.join(dl, 'session.bin');
      const tpFile = path.join(dl, 'tp.bin');
      const first = await peer.client(fx, srv.port, names.slice(0, 1), dl, { sessionFile, tpFile, timeoutMs: timeoutMs / 2 });
      check(!first.timedOut, `1st connection: client timed out: ${lastLines(first.out)}`);
      check(first.code === 0, `1st connection: client exit ${first.code}: ${lastLines(first.out)}`);
      check(fs.existsSync(sessionFile), '1st connection: client stored no session ticket (our server sent none?)');
      const qlogDir = fs.mkdtempSync(path.join(fx.dir, 'qlog-'));
      const second = await peer.client(fx, srv.port, names.slice(1), dl, { sessionFile, tpFile, earlyData, qlogDir, timeoutMs: timeoutMs / 2 });
      check(!second.timedOut, `2nd connection: client timed out: ${lastLines(second.out)}`);
      check(second.code === 0, `2nd connection: client exit ${second.code}: ${lastLines(second.out)}`);
      const bad = compareFiles(fx, names, readDownloads(dl, names));
      check(bad === '', bad);
      check(srv.connections.length === 2, `expected 2 handshakes, our server saw ${srv.connections.length}`);
      check(srv.connections[0]!.resumed === false, '1st connection was resumed?');
      check(srv.connections[1]!.resumed === true, '2nd connection not resumed (isResumed() false on our server)');
      if (testCase === 'resumption') return '2 handshakes, 2nd resumed (server isResumed()), files OK';
      const n = names.length - 1;
      const sent = await peer.zeroRttRequestsSent(second.out, qlogDir);
      const rejected = Object.entries(srv.metrics.rejectedPackets).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}`).join(', ');
      const seen = `client log: ${sent ?? '?'}/${n} requests sent in 0-RTT; our server: ${srv.earlyRequests}/${n} requests with isInEarlyData, datagrams dropped by the acceptor: ${rejected || 'none'}`;
      check(srv.earlyRequests > 0, `resumed, but our server took no request in early data (${seen})`);
      check(sent === null || sent * 2 >= n, `resumed, 0-RTT accepted, but the client sent most requests in 1-RTT (${seen})`);
      // The runner bounds the client's 1-RTT payload: requests lost in 0-RTT and resent in 1-RTT fail it.
      check(srv.earlyRequests * 2 >= n, `most requests did not arrive in 0-RTT (${seen})`);
      return `resumed, 0-RTT accepted; ${seen}; files OK`;
    }
    const run = await peer.client(fx, srv.port, names, dl, { timeoutMs });
    check(!run.timedOut, `client timed out after ${timeoutMs} ms: ${lastLines(run.out)}`);
    check(run.code === 0, `client exit ${run.code}: ${lastLines(run.out)}`);
    const bad = compareFiles(fx, names, readDownloads(dl, names));
    check(bad === '', bad);
    check(srv.connections.length === 1, `expected 1 handshake, our server saw ${srv.connections.length}`);
    if (retry) {
      check(srv.metrics.retriesSent >= 1, 'our server sent no Retry');
      return `Retry sent (${srv.metrics.retriesSent}), 1 handshake, files OK`;
    }
    check(srv.metrics.retriesSent === 0, `Retry sent in a no-Retry case (${srv.metrics.retriesSent})`);
    return `1 handshake, no Retry, ${names.length} file(s) OK`;
  } finally {
    await srv.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Cases, client role: our client against the peer's server

async function clientRole(peer: PeerImpl, fx: Fixture, testCase: CaseName): Promise<string> {
  const files = caseFiles(testCase);
  writeFiles(fx, files);
  const names = files.map((f) => f.name);
  const port = await freeUdpPort();
  const qlogDir = fs.mkdtempSync(path.join(fx.dir, 'qlog-'));
  const srv = await peer.server(fx, port, { retry: testCase === 'retry', verbose: testCase === 'zerortt', ...(testCase === 'zerortt' ? { qlogDir } : {}) });
  try {
    check(srv.child.exitCode === null, `peer server exited at once: ${lastLines(srv.out())}`);
    if (testCase === 'resumption' || testCase === 'zerortt') {
      const earlyData = testCase === 'zerortt';
      const first = await ourFetch(fx, port, names.slice(0, 1), { earlyData });
      check(first.session !== null, '1st connection: no session ticket from qconn.session() after the responses');
      const second = await ourFetch(fx, port, names.slice(1), { session: first.session, earlyData });
      const all = new Map([...first.files, ...second.files]);
      const bad = compareFiles(fx, names, all);
      check(bad === '', bad);
      check(!first.resumed, '1st connection was resumed?');
      check(second.resumed, '2nd connection not resumed (isResumed() false on our client)');
      if (testCase === 'resumption') return '2 connections, 2nd resumed (client isResumed()), files OK';
      // earlyDataReason is BoringSSL's ssl_early_data_reason_t: 2 = accepted.
      check(second.earlyDataReason === 2, `resumed, but 0-RTT not accepted (BoringSSL early_data_reason=${second.earlyDataReason})`);
      const n = names.length - 1;
      const got = await peer.zeroRttRequestsReceived(srv.out(), qlogDir);
      const seen = `TLS accepted early data; peer server log: ${got ?? '?'}/${n} requests received in 0-RTT`;
      check(got === null || got * 2 >= n, `resumed, but most requests went in 1-RTT (${seen})`);
      return `resumed; ${seen}; files OK`;
    }
    const r = await ourFetch(fx, port, names);
    const bad = compareFiles(fx, names, r.files);
    check(bad === '', `${bad}; statuses ${[...new Set(r.statuses)].join(',')}`);
    if (testCase === 'retry') return 'peer server forced Retry; our client completed it; files OK';
    return `1 connection, ${names.length} file(s) OK`;
  } finally {
    await stopProc(srv);
  }
}

// ---------------------------------------------------------------------------------------------
// Driver

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new CaseFailure(`timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export async function runInterop(opts: {
  peers: readonly PeerName[];
  cases: readonly CaseName[];
  roles?: readonly Role[];
  keep?: boolean;
  log?: (line: string) => void;
}): Promise<CaseResult[]> {
  const log = opts.log ?? ((): void => undefined);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rxjs-quiche-interop-'));
  const www = path.join(dir, 'www');
  fs.mkdirSync(www);
  const fx: Fixture = { dir, www, sums: new Map(), ...makeCerts(dir) };
  const results: CaseResult[] = [];
  try {
    for (const peerName of opts.peers) {
      for (const role of opts.roles ?? (['server', 'client'] as const)) {
        for (const testCase of opts.cases) {
          const t0 = Date.now();
          let ok = false;
          let reason: string;
          const timeoutMs = CASE_TIMEOUT_MS[testCase];
          try {
            const peer = PEERS[peerName];
            reason = await withTimeout(
              role === 'server' ? serverRole(peer, fx, testCase, timeoutMs - 2000) : clientRole(peer, fx, testCase),
              timeoutMs,
            );
            ok = true;
          } catch (e) {
            reason = e instanceof CaseFailure ? e.message : `error: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
          }
          const r: CaseResult = { peer: peerName, role, testCase, ok, reason: reason.replace(/\s+/g, ' '), ms: Date.now() - t0 };
          results.push(r);
          log(`${ok ? '✓' : '✕'} ${peerName} ${role === 'server' ? 'client → OUR server' : 'OUR client → server'} ${testCase} (${r.ms} ms): ${r.reason}`);
        }
      }
    }
  } finally {
    if (!opts.keep) fs.rmSync(dir, { recursive: true, force: true });
    else log(`kept ${dir}`);
  }
  return results;
}

export function formatMatrix(results: CaseResult[]): string {
  const lines = ['| peer | role | case | result | detail |', '|---|---|---|---|---|'];
  for (const r of results) {
    const role = r.role === 'server' ? `${r.peer} client → our server` : `our client → ${r.peer} server`;
    lines.push(`| ${r.peer} | ${role} | ${r.testCase} | ${r.ok ? '✓' : '✕'} | ${r.reason.replace(/\|/g, '\\|')} (${(r.ms / 1000).toFixed(1)} s) |`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      peers: { type: 'string', default: ALL_PEERS.join(',') },
      cases: { type: 'string', default: ALL_CASES.join(',') },
      roles: { type: 'string', default: 'server,client' },
      keep: { type: 'boolean', default: false },
    },
  });
  const peers = values.peers!.split(',').filter(Boolean) as PeerName[];
  const cases = values.cases!.split(',').filter(Boolean) as CaseName[];
  const roles = values.roles!.split(',').filter(Boolean) as Role[];
  for (const p of peers) if (!ALL_PEERS.includes(p)) throw new Error(`unknown peer ${p} (known: ${ALL_PEERS.join(', ')})`);
  for (const c of cases) if (!ALL_CASES.includes(c)) throw new Error(`unknown case ${c} (known: ${ALL_CASES.join(', ')})`);
  const missing = missingPeers(peers);
  if (missing.length > 0) {
    console.error(`missing peer programs: ${missing.join(', ')}\nrun: sudo interop/install.sh`);
    process.exit(2);
  }
  const results = await runInterop({ peers, cases, roles, keep: values.keep!, log: (l) => console.log(l) });
  console.log(`\n${formatMatrix(results)}\n`);
  const failed = results.filter((r) => !r.ok).length;
  console.log(`${results.length - failed}/${results.length} passed`);
  process.exit(failed === 0 ? 0 : 1);
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(2);
  });
}
