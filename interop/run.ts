/**
 * Interop harness: independent QUIC / HTTP/3 stacks against rxjs-quiche on loopback, both roles.
 *
 *   npx ts-node --transpile-only interop/run.ts [--peers ngtcp2,aioquic,tokio-quiche,quiche]
 *       [--cases handshake,transferloss,...] [--roles server,client,control] [--alpn auto|h3|hq] [--quick] [--keep]
 *
 * Roles:
 * - `server`: OUR server (listen$ + serveHttp3 on 127.0.0.1 or ::1), the peer's client fetches from it.
 * - `client`: the peer's server, OUR client (connect$) fetches from it.
 * - `control`: the peer's client against the peer's own server, same relay and checks (shows that a
 *   check can pass).
 *
 * Cases follow the QUIC Interop Runner (testcases_quic.py; see /work/shared/PEERS.md B). As in the
 * runner, every case but `http3` runs over hq-interop (HTTP/0.9, our serveHq / connectHq$) where
 * the peer speaks it (aioquic, quiche's `server` / `client`), and over h3 with the peers that speak
 * only h3 (ngtcp2's Debian binaries, tokio-quiche, Chromium); `--alpn h3|hq|auto` overrides. The cases that need an
 * impaired network run through interop/relay.ts (delay, bursty loss, drop list, corruption,
 * blackhole, rebinding, bandwidth cap). Checks that need a pcap in the runner are done with what each
 * side exposes: the relay's accounting (versions, packet types, amplification, paths), qlogs (ours,
 * ngtcp2's, aioquic's, tokio-quiche's), the peers' logs and our own counters. Each check says what it
 * looked at; a case one side cannot do is reported as unsupported with the reason, never as passed.
 *
 * Peers are installed by interop/install.sh (ngtcp2 from Debian bookworm-backports, aioquic's
 * examples from its PyPI sdist in interop/.peers/) and interop/install-rust-peers.sh (tokio-quiche's
 * and quiche's examples, optional).
 *
 * Exit status: 0 when every case passed, 1 when one failed or was unsupported, 2 when a required
 * peer program is missing.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { firstValueFrom, from, lastValueFrom, map, mergeMap, type Observable, switchMap, take, toArray, type Subscription } from 'rxjs';

import {
  ConnectionParams,
  connect$,
  connectHq$,
  DefaultMetrics,
  directoryHandler,
  HQ_INTEROP_ALPN,
  listen$,
  type QuicCommand,
  type QuicheConnection,
  serveHq,
  serveHttp3,
} from '../src';
import { CHROMIUM, chromiumArgs, spkiPin } from './chromium';
import { Relay, type RelayOptions } from './relay';
import { type CaseSetup, crossCheck, type TsharkVerdict } from './tshark';

// ---------------------------------------------------------------------------------------------
// Configuration

/**
 * The peers: ngtcp2 and aioquic in both roles; tokio-quiche's async_http3_server (a server only)
 * and quiche's http3-server / http3-client examples, both built by interop/install-rust-peers.sh
 * into interop/.peers/bin. Every peer listed runs by default
 * when its programs are installed.
 */
export const ALL_PEERS = ['ngtcp2', 'aioquic', 'tokio-quiche', 'quiche', 'chromium'] as const;
/** A peer of the matrix. */
export type PeerName = (typeof ALL_PEERS)[number];
/** The QUIC Interop Runner cases this harness runs, in matrix order (`goodput` is the runner's measurement). */
export const ALL_CASES = [
  'handshake',
  'transfer',
  'http3',
  'multiplexing',
  'retry',
  'resumption',
  'zerortt',
  'longrtt',
  'blackhole',
  'handshakeloss',
  'transferloss',
  'handshakecorruption',
  'transfercorruption',
  'amplificationlimit',
  'rebind-port',
  'rebind-addr',
  'connectionmigration',
  'chacha20',
  'keyupdate',
  'v2',
  'ipv6',
  'ecn',
  'goodput',
] as const;
/** A case of the matrix. */
export type CaseName = (typeof ALL_CASES)[number];
/**
 * `server`: the peer's client against our server; `client`: our client against the peer's server;
 * `control`: the peer's client against the peer's own server over the same relay and checks,
 * which shows a check can pass where our library fails it (not part of the default run).
 */
export type Role = 'server' | 'client' | 'control';
/** The application protocol of a case: HTTP/3, or hq-interop (HTTP/0.9 over QUIC, the runner's default). */
export type Proto = 'h3' | 'hq';
/**
 * How `--alpn` picks the protocol: `auto` (the runner's rule: hq-interop for every case but
 * `http3` where the peer speaks it in that role, else h3), or one protocol for every case.
 */
export type AlpnMode = Proto | 'auto';
/** The runner's case that is HTTP/3 by definition: always h3. */
const H3_ONLY_CASE: CaseName = 'http3';

/** This directory. */
export const INTEROP_DIR = __dirname;
/** Where install.sh and install-rust-peers.sh put the peers (git-ignored). */
export const PEERS_DIR = path.join(INTEROP_DIR, '.peers');
/** The aioquic release install.sh installs (keep in sync with install.sh). */
export const AIOQUIC_VERSION = '1.7.2';
const GTLSCLIENT = '/usr/bin/gtlsclient';
const GTLSSERVER = '/usr/sbin/gtlsserver';
const PYTHON = path.join(PEERS_DIR, 'venv', 'bin', 'python');
const AIOQUIC_EXAMPLES = path.join(PEERS_DIR, `aioquic-${AIOQUIC_VERSION}`, 'examples');
const TOKIO_QUICHE_SERVER = path.join(PEERS_DIR, 'bin', 'async_http3_server');
const QUICHE_H3_SERVER = path.join(PEERS_DIR, 'bin', 'http3-server');
const QUICHE_H3_CLIENT = path.join(PEERS_DIR, 'bin', 'http3-client');
/** quiche's hq-interop examples (`server`, `client`), built with the HTTP/3 ones. */
const QUICHE_HQ_SERVER = path.join(PEERS_DIR, 'bin', 'server');
const QUICHE_HQ_CLIENT = path.join(PEERS_DIR, 'bin', 'client');
/** quiche's http3-server binds this, hard-coded. */
const QUICHE_SERVER_PORT = 4433;

const CASE_TIMEOUT_MS: Record<CaseName, number> = {
  handshake: 15_000,
  transfer: 40_000,
  http3: 20_000,
  multiplexing: 60_000,
  retry: 15_000,
  resumption: 25_000,
  zerortt: 25_000,
  longrtt: 30_000,
  blackhole: 60_000,
  handshakeloss: 150_000,
  transferloss: 40_000,
  handshakecorruption: 150_000,
  transfercorruption: 40_000,
  amplificationlimit: 60_000,
  'rebind-port': 40_000,
  'rebind-addr': 40_000,
  connectionmigration: 30_000,
  chacha20: 20_000,
  keyupdate: 25_000,
  v2: 15_000,
  ipv6: 15_000,
  ecn: 15_000,
  goodput: 150_000,
};

/** How many 32-byte files `multiplexing` fetches (the runner: 1999). */
const MULTIPLEX_FILES = 1000;
/** How many connections `handshakeloss` / `handshakecorruption` make, one 1 KB file each (the runner: 50). */
export const HANDSHAKE_LOSS_CONNECTIONS = 10;
/** Our server's active_connection_id_limit in the rebind cases (tokio-quiche's default: 2). */
const REBIND_ACTIVE_CID_LIMIT = Number(process.env['INTEROP_REBIND_CID_LIMIT'] ?? 8);
/**
 * Idle timeout for both ends where the relay loses or corrupts 30 % of the handshake: PTO backoff
 * (1, 2, 4, 8, 16 s …) after a few bursts can outlast the usual 30 s and end a healthy connection
 * (seen with 30 s: one connection in ~10 runs of 10). Our ends and ngtcp2 take 60 s (aioquic's default).
 */
const LOSSY_IDLE_MS = 60_000;
/** How many times `goodput` transfers its 10 MB (as the runner). */
const GOODPUT_RUNS = 5;

/** One case for one peer in one role, as run. */
export interface CaseResult {
  peer: PeerName;
  role: Role;
  testCase: CaseName;
  /** The application protocol the case ran over (absent when it could not be chosen). */
  proto?: Proto;
  /** True only when `status` is `passed`. */
  ok: boolean;
  status: CaseStatus;
  reason: string;
  ms: number;
  /** The tshark cross-check of the case's capture, when `pcapDir` was given. */
  tshark?: TsharkVerdict;
}

/** What the peers need that is missing, or [] when both binaries / scripts are there. */
export function missingPeers(peers: readonly PeerName[]): string[] {
  const missing: string[] = [];
  if (peers.includes('ngtcp2')) {
    for (const f of [GTLSCLIENT, GTLSSERVER]) if (!fs.existsSync(f)) missing.push(f);
  }
  if (peers.includes('tokio-quiche') && !fs.existsSync(TOKIO_QUICHE_SERVER)) missing.push(TOKIO_QUICHE_SERVER);
  if (peers.includes('chromium') && !fs.existsSync(CHROMIUM)) missing.push(CHROMIUM);
  if (peers.includes('quiche')) for (const f of [QUICHE_H3_SERVER, QUICHE_H3_CLIENT, QUICHE_HQ_SERVER, QUICHE_HQ_CLIENT]) if (!fs.existsSync(f)) missing.push(f);
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

/**
 * The running case's capture, when `--pcap` is on: every relay of the case writes a pcap here,
 * and every TLS endpoint a key log (ours through QuicSettings.keylogFile, each peer process its
 * own file through SSLKEYLOGFILE or its option). Cases run one at a time, so one is enough.
 */
interface Capture {
  dir: string;
  /** The pcaps the case's relays wrote, in order. */
  pcaps: string[];
  /** The key logs handed out, in order (ours first). */
  keylogs: string[];
}
let capture: Capture | null = null;

/** A new pcap file for a relay of the running case, or undefined when not capturing. */
function nextPcap(): string | undefined {
  if (!capture) return undefined;
  const f = path.join(capture.dir, `relay-${capture.pcaps.length + 1}.pcap`);
  capture.pcaps.push(f);
  return f;
}

/** A new key log file for one TLS endpoint (`who`) of the running case, or undefined. */
function nextKeylog(who: string): string | undefined {
  if (!capture) return undefined;
  const f = path.join(capture.dir, `keys-${capture.keylogs.length + 1}-${who}.log`);
  capture.keylogs.push(f);
  return f;
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
  return certFixture(path.join(dir, 'ca.pem'), path.join(dir, 'leaf.pem'), path.join(dir, 'leaf.key'));
}

/** The certificate part of a fixture: the files and their PEM text. */
function certFixture(caFile: string, certFile: string, keyFile: string): Pick<Fixture, 'caPem' | 'caFile' | 'certFile' | 'keyFile' | 'certPem' | 'keyPem'> {
  const read = (f: string): string => fs.readFileSync(f, 'utf8');
  return { caFile, certFile, keyFile, caPem: read(caFile), certPem: read(certFile), keyPem: read(keyFile) };
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
    case 'longrtt':
    case 'v2':
      return [{ name: name(), size: 1024 }];
    case 'ecn':
      return [{ name: name(), size: 100 * 1024 }];
    case 'handshakeloss':
    case 'handshakecorruption':
      // The runner: 50 x 1 KB, one connection each. Here HANDSHAKE_LOSS_CONNECTIONS, to bound the time.
      return Array.from({ length: HANDSHAKE_LOSS_CONNECTIONS }, () => ({ name: name(), size: 1024 }));
    case 'transferloss':
    case 'transfercorruption':
    case 'connectionmigration':
      return [{ name: name(), size: 2 * 1024 * 1024 }];
    case 'amplificationlimit':
      return [{ name: name(), size: 5 * 1024 }];
    case 'chacha20':
    case 'keyupdate':
      return [{ name: name(), size: 3 * 1024 * 1024 }];
    case 'ipv6':
      return [
        { name: name(), size: 5 * 1024 },
        { name: name(), size: 10 * 1024 },
      ];
    case 'blackhole':
    case 'rebind-port':
    case 'rebind-addr':
    case 'goodput':
      return [{ name: name(), size: 10 * 1024 * 1024 }];
  }
}

/** Writes the case's files: random bytes, or `fill` repeated (for a server that generates its bodies). */
function writeFiles(fx: Fixture, files: Array<{ name: string; size: number }>, fill?: number): void {
  for (const f of files) {
    const data = fill === undefined ? randomBytes(f.size) : Buffer.alloc(f.size, fill);
    fs.writeFileSync(path.join(fx.www, f.name), data);
    fx.sums.set(f.name, sha256(data));
  }
}

/**
 * A 9-certificate chain for `amplificationlimit` (root, 7 intermediates, leaf; RSA 2048, each with
 * a 400-byte comment extension so that the chain the server sends is well over 7500 bytes). The
 * leaf's PEM file holds the whole chain, leaf first.
 */
function makeLongChain(dir: string): Pick<Fixture, 'caPem' | 'caFile' | 'certFile' | 'keyFile' | 'certPem' | 'keyPem'> & { chainDerBytes: number } {
  const run = (args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  const pad = `nsComment=${'padding so the chain is long '.repeat(14)}\n`;
  fs.writeFileSync(path.join(dir, 'ca.ext'), `basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n${pad}`);
  fs.writeFileSync(
    path.join(dir, 'leaf.ext'),
    `subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nbasicConstraints=critical,CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n${pad}`,
  );
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'c0.key', '-out', 'c0.pem', '-days', '30', '-subj', '/CN=interop chain root', '-addext', pad.trim()]);
  for (let i = 1; i <= 8; i++) {
    const leaf = i === 8;
    run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `c${i}.key`, '-out', `c${i}.csr`, '-subj', leaf ? '/CN=localhost' : `/CN=interop chain intermediate ${i}`]);
    run(['x509', '-req', '-in', `c${i}.csr`, '-CA', `c${i - 1}.pem`, '-CAkey', `c${i - 1}.key`, '-CAcreateserial', '-days', '30', '-out', `c${i}.pem`, '-extfile', leaf ? 'leaf.ext' : 'ca.ext']);
  }
  // Leaf first, then the intermediates up to the root: 9 certificates.
  const pems = [8, 7, 6, 5, 4, 3, 2, 1, 0].map((i) => fs.readFileSync(path.join(dir, `c${i}.pem`), 'utf8'));
  const chainDerBytes = pems.reduce((n, p) => n + Buffer.from(p.replace(/-----[^-]+-----|\s/g, ''), 'base64').length, 0);
  const certFile = path.join(dir, 'chain.pem');
  fs.writeFileSync(certFile, pems.join(''));
  return { ...certFixture(path.join(dir, 'c0.pem'), certFile, path.join(dir, 'c8.key')), chainDerBytes };
}

// ---------------------------------------------------------------------------------------------
// Processes

interface Proc {
  child: ChildProcess;
  out: () => string;
  done: Promise<number | null>;
}

interface ProcOpts {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Also write everything the process prints to this file (the in-memory copy keeps the last 100 kB). */
  logFile?: string;
  /** Write the process's stdout (bytes as they are) to this file instead of the log. */
  stdoutFile?: string;
}

function startProc(cmd: string, args: string[], opts: ProcOpts = {}): Proc {
  // When capturing, each peer process logs its TLS secrets to a file of its own (GnuTLS, BoringSSL
  // in quiche's examples and Chromium read SSLKEYLOGFILE; aioquic gets --secrets-log instead).
  const keylog = nextKeylog(path.basename(cmd));
  const env = { ...process.env, ...(keylog ? { SSLKEYLOGFILE: keylog } : {}), ...opts.env };
  const child = spawn(cmd, args, { cwd: opts.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const file = opts.logFile ? fs.createWriteStream(opts.logFile) : null;
  const keep = (b: Buffer): void => {
    file?.write(b);
    out += b.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  const stdoutFile = opts.stdoutFile ? fs.createWriteStream(opts.stdoutFile) : null;
  if (stdoutFile) child.stdout!.pipe(stdoutFile);
  else child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const stdoutDone = stdoutFile ? new Promise<void>((r) => stdoutFile.on('close', () => r())) : Promise.resolve();
  const done = new Promise<number | null>((resolve) => {
    const finish = (v: number | null): void => {
      void stdoutDone.then(() => {
        if (file) file.end(() => resolve(v));
        else resolve(v);
      });
    };
    child.on('exit', (code, signal) => finish(code ?? (signal ? -1 : null)));
    child.on('error', (e) => {
      out += String(e);
      finish(-2);
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
async function runProc(cmd: string, args: string[], timeoutMs: number, opts: ProcOpts = {}): Promise<{ code: number | null; out: string; timedOut: boolean }> {
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

async function freeUdpPort(host = '127.0.0.1'): Promise<number> {
  const s = udpSocket(host);
  await new Promise<void>((r) => s.bind(0, host, r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(r));
  return port;
}

/** A UDP socket for `host`: udp4, or an IPv6-only udp6 socket for an IPv6 address. */
function udpSocket(host: string): Socket {
  return host.includes(':') ? createSocket({ type: 'udp6', ipv6Only: true }) : createSocket('udp4');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

class CaseFailure extends Error {}
/** A case this side cannot run (a peer flag or a feature of our library is missing). */
class CaseUnsupported extends Error {}
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

/** `host:port` as a URL authority (IPv6 in brackets). */
function authority(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

// ---------------------------------------------------------------------------------------------
// qlog reading (JSON-SEQ from ngtcp2 and quiche, one JSON document from aioquic)

interface QlogEvent {
  time: number;
  name: string;
  data: {
    header?: { packet_type?: string };
    frames?: Array<{ frame_type: string; stream_id?: number; ect0?: number; ect1?: number; ce?: number }>;
    trigger?: string;
    key_type?: string;
  };
}

/** Every event of every qlog file in `dir` (`.qlog`, `.sqlog`), per file. Waits up to 3 s for `files` files. */
async function readQlogs(dir: string, files = 1): Promise<QlogEvent[][]> {
  const list = (): string[] => fs.readdirSync(dir).filter((f) => f.endsWith('.qlog') || f.endsWith('.sqlog'));
  for (let i = 0; i < 30 && list().length < files; i++) await sleep(100);
  const out: QlogEvent[][] = [];
  for (const f of list()) {
    let text = '';
    let events: QlogEvent[] | null = null;
    // The peer may still be writing the file: retry a partial read for up to 2 s.
    for (let i = 0; i < 20 && events === null; i++) {
      text = fs.readFileSync(path.join(dir, f), 'utf8');
      events = parseQlog(text);
      if (events === null) await sleep(100);
    }
    out.push(events ?? parseQlog(text, true) ?? []);
  }
  return out;
}

function parseQlog(text: string, lenient = false): QlogEvent[] | null {
  // aioquic: one JSON document with traces[].events[].
  try {
    const q = JSON.parse(text) as { traces?: Array<{ events: QlogEvent[] }> };
    if (Array.isArray(q.traces)) return q.traces.flatMap((tr) => tr.events);
  } catch {
    // not one document: JSON-SEQ below
  }
  // ngtcp2 and quiche: JSON-SEQ, one record per line (RS-prefixed in quiche's case).
  const events: QlogEvent[] = [];
  const records = text.split(/[\x1e\n]/).filter((r) => r.trim());
  for (const [i, rec] of records.entries()) {
    try {
      const e = JSON.parse(rec) as Partial<QlogEvent>;
      if (typeof e.name === 'string') events.push({ time: e.time ?? 0, name: e.name, data: e.data ?? {} });
    } catch {
      // A half-written last record while the writer is still at it.
      if (!lenient && i === records.length - 1) return null;
    }
  }
  return events;
}

function framesOf(events: QlogEvent[], event: 'packet_sent' | 'packet_received', frameType: string): number {
  let n = 0;
  for (const e of events) {
    if (!e.name.endsWith(event)) continue;
    for (const f of e.data.frames ?? []) if (f.frame_type === frameType) n++;
  }
  return n;
}

/**
 * Counts the client-initiated bidirectional streams (requests) carried in 0-RTT packets in the
 * qlog traces of `dir` (aioquic's QuicFileLogger: one JSON file per connection), taking the trace
 * with the most. Waits up to 3 s for `traces` files to appear.
 */
async function qlogZeroRttRequests(dir: string, event: string, traces: number): Promise<number | null> {
  const all = await readQlogs(dir, traces);
  if (all.length === 0) return null;
  let best = 0;
  for (const events of all) {
    const ids = new Set<number>();
    for (const e of events) {
      if (!e.name.endsWith(event) || e.data.header?.packet_type !== '0RTT') continue;
      for (const fr of e.data.frames ?? []) if (fr.frame_type === 'stream' && fr.stream_id !== undefined && fr.stream_id % 4 === 0) ids.add(fr.stream_id);
    }
    best = Math.max(best, ids.size);
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// Our server

interface OurServer {
  port: number;
  host: string;
  metrics: DefaultMetrics;
  /** One entry per established connection: isResumed() and the peer's address family once established. */
  connections: Array<{ resumed?: boolean; peerFamily?: string }>;
  requests: number;
  earlyRequests: number;
  stop(): Promise<void>;
}

async function startOurServer(
  fx: Fixture,
  opts: { retry: boolean; earlyData: boolean; proto: Proto; host?: string; qlogDir?: string; activeConnectionIdLimit?: number; maxIdleTimeout?: number },
): Promise<OurServer> {
  const host = opts.host ?? '127.0.0.1';
  const socket = udpSocket(host);
  await new Promise<void>((r) => socket.bind(0, host, r));
  const metrics = new DefaultMetrics();
  const params = ConnectionParams.newServer(
    {
      disableClientIpValidation: !opts.retry,
      enableEarlyData: opts.earlyData,
      maxIdleTimeout: opts.maxIdleTimeout ?? 10_000,
      ...(opts.qlogDir ? { qlogDir: opts.qlogDir } : {}),
      ...(opts.activeConnectionIdLimit ? { activeConnectionIdLimit: opts.activeConnectionIdLimit } : {}),
      ...(opts.proto === 'hq' ? { alpn: [HQ_INTEROP_ALPN] } : {}),
      ...(capture ? { keylogFile: capture.keylogs[0]! } : {}),
    },
    { certChain: fx.certPem, privateKey: fx.keyPem },
  );
  const server: OurServer = {
    port: socket.address().port,
    host,
    metrics,
    connections: [],
    requests: 0,
    earlyRequests: 0,
    stop: async () => undefined,
  };
  // Records a connection's resumption and peer address family once it runs.
  const onConnection = (quicCommand: (c: QuicCommand) => void): void => {
    const entry: { resumed?: boolean; peerFamily?: string } = {};
    server.connections.push(entry);
    quicCommand({
      type: 'custom',
      run: (q: QuicheConnection) => {
        entry.resumed = q.isResumed();
        entry.peerFamily = q.pathStats().find((p) => p.active)?.peerAddr.family;
      },
    });
  };
  const conns$ = listen$(socket, params, { metrics });
  // hq-interop: the same routes as over h3 (digits → that many bytes; files under www, streamed).
  const files = directoryHandler(fx.www);
  const sub: Subscription =
    opts.proto === 'hq'
      ? conns$
          .pipe(
            serveHq((req) => {
              server.requests++;
              if (req.isInEarlyData) server.earlyRequests++;
              const p = decodeURIComponent(req.path.split('?')[0] ?? '/').replace(/^\/+/, '');
              if (/^\d+$/.test(p)) return Buffer.alloc(Number(p), 0x5a);
              return files(req);
            }),
          )
          .subscribe(({ driver }) => onConnection((c) => driver.quicCommand(c)))
      : conns$
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
              const type = p.endsWith('.html') ? { 'content-type': 'text/html; charset=utf-8' } : {};
              return { status: 200, headers: { 'content-length': body.length, ...type }, body };
            }),
          )
          .subscribe(({ controller }) => onConnection((c) => controller.quicCommand(c)));
  server.stop = async () => {
    sub.unsubscribe();
    await sleep(50);
    socket.close();
  };
  return server;
}

// ---------------------------------------------------------------------------------------------
// Our client

/** Our client's connection as ourFetch uses it, over either protocol. */
interface Fetcher {
  /** Fetches a path: the body (undefined when an h3 status is not 200), and the h3 status. */
  fetch(path: string): Promise<{ status: number | undefined; body: Uint8Array | undefined }>;
  quicCommand(c: QuicCommand): void;
}

interface FetchResult {
  files: Map<string, Uint8Array | undefined>;
  statuses: number[];
  resumed: boolean;
  earlyDataReason: number;
  session: Uint8Array | null;
  /** The address family of our client's active path at the end (`IPv4` / `IPv6`). */
  localFamily?: string;
}

async function ourFetch(
  fx: Fixture,
  port: number,
  names: string[],
  opts: { proto?: Proto; session?: Uint8Array; earlyData?: boolean; host?: string; pathOf?: (name: string) => string; qlogDir?: string; maxIdleTimeout?: number } = {},
): Promise<FetchResult> {
  const host = opts.host ?? '127.0.0.1';
  const socket: Socket = udpSocket(host);
  await new Promise<void>((r) => socket.bind(0, host, r));
  const result: FetchResult = { files: new Map(), statuses: [], resumed: false, earlyDataReason: -1, session: null };
  const onQ = (f: Fetcher, run: (q: QuicheConnection) => void): Promise<void> =>
    new Promise((resolve) => f.quicCommand({ type: 'custom', run: (q) => (run(q), resolve()) }));
  const common = {
    peer: { address: host, port },
    trust: { ca: fx.caPem },
    ...(opts.session ? { session: opts.session } : {}),
    settings: {
      ...(opts.earlyData ? { enableEarlyData: true } : {}),
      ...(opts.qlogDir ? { qlogDir: opts.qlogDir } : {}),
      ...(opts.maxIdleTimeout ? { maxIdleTimeout: opts.maxIdleTimeout } : {}),
      ...(capture ? { keylogFile: capture.keylogs[0]! } : {}),
    },
  };
  // One request per file, over h3 (status 200 or no file) or hq-interop (the body, or the stream's reset as the error).
  const fetcher$: Observable<Fetcher> =
    opts.proto === 'hq'
      ? connectHq$(socket, 'localhost', common).pipe(
          map(({ driver }) => ({
            fetch: async (p: string) => ({ status: undefined, body: Buffer.from(await driver.get(p)) }),
            quicCommand: (c: QuicCommand) => driver.quicCommand(c),
          })),
        )
      : connect$(socket, 'localhost', common).pipe(
          map(({ controller }) => ({
            fetch: async (p: string) => {
              const res = await firstValueFrom(controller.request({ ':method': 'GET', ':path': p }));
              const chunks: Uint8Array[] = [];
              for await (const c of res.body) chunks.push(c);
              return { status: res.status, body: res.status === 200 ? Buffer.concat(chunks) : undefined };
            },
            quicCommand: (c: QuicCommand) => controller.quicCommand(c),
          })),
        );
  try {
    await lastValueFrom(
      fetcher$.pipe(
        switchMap((f) =>
          from(names).pipe(
            mergeMap(async (name) => {
              const r = await f.fetch(opts.pathOf ? opts.pathOf(name) : `/${name}`);
              if (r.status !== undefined) result.statuses.push(r.status);
              result.files.set(name, r.body);
            }, 100),
            toArray(),
            // Read after the responses: in early data the handshake is not over yet. Then wait a
            // moment for a NewSessionTicket if none has come yet, and take it.
            switchMap(async () => {
              await onQ(f, (q) => {
                result.resumed = q.isResumed();
                result.earlyDataReason = q.earlyDataReason();
                result.localFamily = q.pathStats().find((p) => p.active)?.localAddr.family;
              });
              for (let i = 0; i < 20 && result.session === null; i++) {
                await onQ(f, (q) => void (result.session = q.session()));
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

/** A protocol feature a case asks of the client. */
type ClientFeature = 'keyupdate' | 'chacha20' | 'v2';

interface PeerClientOpts {
  sessionFile?: string;
  tpFile?: string;
  earlyData?: boolean;
  qlogDir?: string;
  /** Idle timeout in ms, where the peer has a switch for it. */
  idleTimeoutMs?: number;
  /** Where the client prints to (whole output, for the verbose-log checks). */
  logFile?: string;
  feature?: ClientFeature;
  /** The server's address (127.0.0.1 or ::1). */
  host?: string;
  /** The application protocol. Defaults to h3. */
  proto?: Proto;
  timeoutMs: number;
}

interface PeerServerOpts {
  retry: boolean;
  verbose?: boolean;
  qlogDir?: string;
  host?: string;
  /** Offer this port on 127.0.0.1 as the preferred_address (connectionmigration), or throw CaseUnsupported. */
  preferredPort?: number;
  /** Prefer QUIC v2 when a client offers it in version_information (compatible negotiation). */
  v2?: boolean;
  /** Idle timeout in ms, where the peer has a switch for it. */
  idleTimeoutMs?: number;
  /** The application protocol. Defaults to h3. */
  proto?: Proto;
}

interface PeerImpl {
  /** Peer client fetches `names` from host:port into `dir`. Throws CaseUnsupported for a feature it lacks. */
  client(fx: Fixture, port: number, names: string[], dir: string, opts: PeerClientOpts): Promise<PeerClientRun>;
  /** Starts the peer server serving fx.www. */
  server(fx: Fixture, port: number, opts: PeerServerOpts): Promise<Proc>;
  /** Request streams the peer client's log (or qlog) shows it sent in 0-RTT packets, or null when it cannot tell. */
  zeroRttRequestsSent(out: string, qlogDir: string): Promise<number | null>;
  /** Request streams the peer server's (verbose) log (or qlog) shows it received in 0-RTT packets, or null. */
  zeroRttRequestsReceived(out: string, qlogDir: string): Promise<number | null>;
  /**
   * After a `keyupdate` client run: whether the client updated its keys and then received packets
   * protected with the server's updated keys, with the evidence.
   */
  keyUpdateSeen(logFile: string, qlogDir: string): Promise<{ ok: boolean; detail: string }>;
  /**
   * For a server that generates its bodies instead of serving files: the byte its bodies repeat,
   * and the request path for `size` bytes.
   */
  generated?: { fill: number; path: (size: number) => string };
  /** False for a server-only peer: the `server` and `control` roles are not run for it. */
  hasClient?: boolean;
  /** False for a client-only peer: the `client` and `control` roles are not run for it. */
  hasServer?: boolean;
  /** The port the peer's server always binds (on 127.0.0.1), when it cannot be told one. */
  fixedPort?: number;
  /** True when the peer writes no qlog (client or server): checks that need one are unsupported with it. */
  noQlog?: boolean;
  /** Which of its programs speak hq-interop; absent: h3 only. */
  hq?: { readonly client: boolean; readonly server: boolean };
}

/** For a peer whose output cannot tell which requests went in 0-RTT (either side). */
const NO_EARLY_DATA_EVIDENCE: Pick<PeerImpl, 'zeroRttRequestsSent' | 'zeroRttRequestsReceived'> = {
  async zeroRttRequestsSent() {
    return null;
  },
  async zeroRttRequestsReceived() {
    return null;
  },
};

const ngtcp2: PeerImpl = {
  async client(fx, port, names, dir, opts) {
    const host = opts.host ?? '127.0.0.1';
    // Verbose (no -q) for 0-RTT and key update: the frame / packet log is the evidence.
    // (chacha20 too: only the verbose log says "Negotiated cipher suite is …".)
    const verbose = opts.earlyData || opts.feature === 'keyupdate' || opts.feature === 'chacha20';
    const args = [verbose ? '--no-http-dump' : '-q', '--exit-on-all-streams-close', `--download=${dir}`];
    if (opts.feature === 'keyupdate' || opts.feature === 'chacha20') args.push('--no-quic-dump');
    if (opts.feature === 'keyupdate') args.push('--key-update=1ms');
    if (opts.feature === 'chacha20') args.push('--ciphers=NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+CHACHA20-POLY1305');
    // Compatible version negotiation (RFC 9368): v1 Initials, v2 offered in version_information.
    if (opts.feature === 'v2') args.push('-v', 'v1', '--available-versions=v2,v1', '--preferred-versions=v2,v1');
    if (opts.qlogDir) args.push(`--qlog-dir=${opts.qlogDir}`);
    if (opts.idleTimeoutMs) args.push(`--timeout=${opts.idleTimeoutMs}ms`);
    if (opts.sessionFile) args.push(`--session-file=${opts.sessionFile}`, `--tp-file=${opts.tpFile}`);
    if (opts.sessionFile && !opts.earlyData) args.push('--disable-early-data');
    args.push(host, String(port), ...names.map((n) => `https://${authority(host, port)}/${n}`));
    return runProc(GTLSCLIENT, args, opts.timeoutMs, opts.logFile ? { logFile: opts.logFile } : {});
  },
  async server(fx, port, opts) {
    const args = [...(opts.verbose ? [] : ['-q']), `--htdocs=${fx.www}`, ...(opts.retry ? ['-V'] : [])];
    if (opts.qlogDir) args.push(`--qlog-dir=${opts.qlogDir}`);
    if (opts.preferredPort !== undefined) args.push(`--preferred-ipv4-addr=127.0.0.1:${opts.preferredPort}`);
    // gtlsserver keeps the client's version unless told to prefer another one.
    if (opts.v2) args.push('--preferred-versions=v2,v1');
    if (opts.idleTimeoutMs) args.push(`--timeout=${opts.idleTimeoutMs}ms`);
    args.push(opts.host ?? '127.0.0.1', String(port), fx.keyFile, fx.certFile);
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
  // ngtcp2's packet log: `pkt tx pkn=<n> dcid=… type=1RTT k=1` (k is the key phase bit).
  async keyUpdateSeen(logFile) {
    const log = fs.readFileSync(logFile, 'utf8');
    const tx1 = (log.match(/pkt tx pkn=\d+ .*type=1RTT k=1/g) ?? []).length;
    const rx1 = (log.match(/pkt rx pkn=\d+ .*type=1RTT k=1/g) ?? []).length;
    const detail = `gtlsclient log: ${tx1} 1-RTT packets sent and ${rx1} received with key phase 1`;
    return { ok: tx1 > 0 && rx1 > 0, detail };
  },
};

const aioquic: PeerImpl = {
  async client(fx, port, names, dir, opts) {
    const host = opts.host ?? '127.0.0.1';
    // Through its name for 127.0.0.1 (the certificate covers localhost); literally for ::1.
    const urlHost = host === '127.0.0.1' ? 'localhost' : host;
    const args = [path.join(AIOQUIC_EXAMPLES, 'http3_client.py'), '--ca-certs', fx.caFile, '--output-dir', dir];
    // --legacy-http: ALPN hq-interop (aioquic's H0Connection) instead of h3.
    if (opts.proto === 'hq') args.push('--legacy-http');
    if (opts.sessionFile) args.push('--session-ticket', opts.sessionFile);
    if (opts.earlyData) args.push('--zero-rtt');
    if (opts.qlogDir) args.push('--quic-log', opts.qlogDir);
    if (opts.feature === 'keyupdate') args.push('--key-update');
    if (opts.feature === 'chacha20') args.push('--cipher-suites', 'CHACHA20_POLY1305_SHA256');
    if (opts.feature === 'v2') args.push('--negotiate-v2');
    const keylog = nextKeylog('aioquic-client');
    if (keylog) args.push('--secrets-log', keylog);
    args.push(...names.map((n) => `https://${authority(urlHost, port)}/${n}`));
    return runProc(PYTHON, args, opts.timeoutMs, { cwd: AIOQUIC_EXAMPLES, ...(opts.logFile ? { logFile: opts.logFile } : {}) });
  },
  async server(fx, port, opts) {
    if (opts.preferredPort !== undefined) throw new CaseUnsupported('aioquic 1.7.2 has no preferred_address (neither the library configuration nor http3_server.py)');
    const keylog = nextKeylog('aioquic-server');
    const args = [path.join(AIOQUIC_EXAMPLES, 'http3_server.py'), '--certificate', fx.certFile, '--private-key', fx.keyFile, '--host', opts.host ?? '127.0.0.1', '--port', String(port), ...(opts.retry ? ['--retry'] : []), ...(opts.qlogDir ? ['--quic-log', opts.qlogDir] : []), ...(keylog ? ['--secrets-log', keylog] : [])];
    const p = startProc(PYTHON, args, { cwd: AIOQUIC_EXAMPLES, env: { STATIC_ROOT: fx.www } });
    await sleep(2000); // Python + starlette import time; the server logs nothing when ready.
    return p;
  },
  zeroRttRequestsSent(_out, qlogDir) {
    return qlogZeroRttRequests(qlogDir, ':packet_sent', 1);
  },
  zeroRttRequestsReceived(_out, qlogDir) {
    // The server writes a connection's qlog when it ends; our client closed both already.
    return qlogZeroRttRequests(qlogDir, ':packet_received', 2);
  },
  // The server offers h3 and hq-interop and takes what the client asks for; the client needs --legacy-http.
  hq: { client: true, server: true },
  // aioquic's qlog has no key phase per packet, but a `security:key_updated` event with trigger
  // `local_update`. After it, aioquic opens 1-RTT packets with the next keys only: 1-RTT packets
  // received after the update prove the server sent with its updated keys.
  async keyUpdateSeen(_logFile, qlogDir) {
    const [events = []] = await readQlogs(qlogDir, 1);
    const upd = events.find((e) => e.name.endsWith('key_updated') && e.data.trigger === 'local_update');
    if (!upd) return { ok: false, detail: 'aioquic qlog: no key_updated event with trigger local_update' };
    const after = events.filter((e) => e.name.endsWith('packet_received') && e.time > upd.time && e.data.header?.packet_type === '1RTT').length;
    return { ok: after > 0, detail: `aioquic qlog: client updated its keys (local_update), then received ${after} 1-RTT packets` };
  },
};

/**
 * tokio-quiche 0.20's async_http3_server example: a server only, on tokio-quiche's own I/O path.
 * It serves no files, only `GET /stream-bytes/<n>` (n bytes of 0x57), so the client role asks for
 * that with the case's sizes. Retry is on (tokio-quiche's default) and cannot be switched off or
 * forced; qlog through QLOGDIR.
 */
const tokioQuiche: PeerImpl = {
  client() {
    throw new CaseUnsupported('tokio-quiche ships no HTTP/3 client example (server role only)');
  },
  async server(fx, port, opts) {
    if (opts.preferredPort !== undefined) throw new CaseUnsupported('tokio-quiche (quiche 0.30) has no preferred_address');
    const args = ['--address', authority(opts.host ?? '127.0.0.1', port), '--tls-cert-path', fx.certFile, '--tls-private-key-path', fx.keyFile];
    const p = startProc(TOKIO_QUICHE_SERVER, args, opts.qlogDir ? { env: { QLOGDIR: opts.qlogDir } } : {});
    await sleep(500);
    return p;
  },
  async zeroRttRequestsSent() {
    return null;
  },
  async zeroRttRequestsReceived(_out, qlogDir) {
    return qlogZeroRttRequests(qlogDir, ':packet_received', 2);
  },
  async keyUpdateSeen() {
    return { ok: false, detail: 'no tokio-quiche client' };
  },
  generated: { fill: 0x57, path: (size) => `/stream-bytes/${size}` },
  hasClient: false,
};

/**
 * quiche 0.30's own examples, http3-server and http3-client (h3), server and client (hq-interop):
 * teaching programs without options, the same in both pairs but for the protocol.
 * The server binds 127.0.0.1:4433, reads examples/cert.{crt,key} and serves examples/root/ relative
 * to its working directory (a temp dir set up here with our certificate and www), always sends
 * Retry, and has a 5 s idle timeout; the client fetches one URL per run, prints the body to
 * stdout, does not verify the certificate and has a 5 s idle timeout too. Neither writes qlog.
 */
const quicheExamples: PeerImpl = {
  async client(_fx, port, names, dir, opts) {
    const which = opts.proto === 'hq' ? 'client' : 'http3-client';
    if (opts.feature) throw new CaseUnsupported(`quiche's ${which} has no switch for ${opts.feature}`);
    if (opts.sessionFile) throw new CaseUnsupported(`quiche's ${which} cannot store or resume a session`);
    if (names.length !== 1) throw new CaseUnsupported(`quiche's ${which} fetches one URL per run (${names.length} files would be ${names.length} connections)`);
    const host = opts.host ?? '127.0.0.1';
    const name = names[0]!;
    const program = opts.proto === 'hq' ? QUICHE_HQ_CLIENT : QUICHE_H3_CLIENT;
    return runProc(program, [`https://${authority(host, port)}/${name}`], opts.timeoutMs, { stdoutFile: path.join(dir, name) });
  },
  async server(fx, port, opts) {
    if (port !== QUICHE_SERVER_PORT) throw new Error(`quiche's http3-server binds ${QUICHE_SERVER_PORT} only`);
    if (opts.preferredPort !== undefined) throw new CaseUnsupported('quiche 0.30 has no preferred_address');
    if ((opts.host ?? '127.0.0.1') !== '127.0.0.1') throw new CaseUnsupported("quiche's http3-server binds 127.0.0.1:4433 only (no IPv6)");
    const cwd = fs.mkdtempSync(path.join(fx.dir, 'quiche-server-'));
    fs.mkdirSync(path.join(cwd, 'examples'));
    fs.copyFileSync(fx.certFile, path.join(cwd, 'examples', 'cert.crt'));
    fs.copyFileSync(fx.keyFile, path.join(cwd, 'examples', 'cert.key'));
    fs.symlinkSync(fx.www, path.join(cwd, 'examples', 'root'));
    const p = startProc(opts.proto === 'hq' ? QUICHE_HQ_SERVER : QUICHE_H3_SERVER, [], { cwd });
    await sleep(300);
    return p;
  },
  ...NO_EARLY_DATA_EVIDENCE,
  async keyUpdateSeen() {
    return { ok: false, detail: "quiche's http3-client cannot update keys" };
  },
  fixedPort: QUICHE_SERVER_PORT,
  noQlog: true,
  // `server` / `client`: the same programs over hq-interop (same port, paths, Retry and 5 s idle timeout).
  hq: { client: true, server: true },
};

/**
 * The page Chromium loads from our server: it fetches the case's files from the same origin (all
 * at once), and writes each file's bytes (base64), status and `nextHopProtocol` into the DOM as
 * JSON, which `--dump-dom` prints once virtual time runs out (it stands still while fetches are
 * pending).
 */
function chromiumPage(names: string[]): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>interop</title></head><body><script>
performance.setResourceTimingBufferSize(${names.length + 16});
const names = ${JSON.stringify(names)};
// Synchronous, on purpose: virtual time races ahead as soon as no fetch is pending, so the result
// must be in the DOM in the same task as the last body's arrival (a FileReader would be too late).
function base64(buf) {
  const bytes = new Uint8Array(buf);
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}
(async () => {
  const out = { files: {}, status: {}, protocols: {} };
  try {
    await Promise.all(names.map(async (n) => {
      const res = await fetch('/' + n, { cache: 'no-store' });
      out.files[n] = base64(await res.arrayBuffer());
      out.status[n] = res.status;
    }));
    for (const e of performance.getEntriesByType('resource')) out.protocols[new URL(e.name).pathname.slice(1)] = e.nextHopProtocol;
    out.navigation = performance.getEntriesByType('navigation')[0].nextHopProtocol;
  } catch (e) {
    out.error = String(e);
  }
  const pre = document.createElement('pre');
  pre.id = 'result';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script></body></html>`;
}

/**
 * Debian's Chromium, headless, as an HTTP/3 client only (PEERS.md A.4): forced onto QUIC for the
 * server's origin and pinned to our leaf's public key. It loads a page from the server (written
 * into www for the run) that fetches the case's files; the files come back through the dumped DOM
 * and are written into the download directory, so the usual byte-for-byte check applies, and
 * every resource (and the page) must report `nextHopProtocol` h3. One browser process per call,
 * so no session survives from one call to the next: resumption and 0-RTT are unsupported, as are
 * the key-update, cipher and version switches. No qlog.
 */
const chromium: PeerImpl = {
  async client(fx, port, names, dir, opts) {
    if (opts.feature) throw new CaseUnsupported(`Chromium has no switch for ${opts.feature}`);
    if (opts.sessionFile) throw new CaseUnsupported('Chromium keeps no session from one browser process to the next');
    // Chromium does not force QUIC for an IPv6 literal origin; for `localhost` it takes ::1 for QUIC
    // and does not fall back (PEERS.md A.4), which is what the ipv6 case wants.
    const host = opts.host ?? '127.0.0.1';
    const origin = host.includes(':') ? `localhost:${port}` : authority(host, port);
    const page = `chromium-${randomBytes(6).toString('hex')}.html`;
    fs.writeFileSync(path.join(fx.www, page), chromiumPage(names));
    const profile = fs.mkdtempSync(path.join(fx.dir, 'chromium-profile-'));
    const domFile = path.join(dir, `${page}.dom`);
    try {
      const run = await runProc(
        CHROMIUM,
        chromiumArgs({
          profile,
          origin,
          pin: spkiPin(fx.certPem),
          url: `https://${origin}/${page}`,
          virtualTimeBudgetMs: 60_000,
          // INTEROP_CHROMIUM_NETLOG=dir keeps Chromium's net-log of each run (QUIC errors in detail).
          extra: process.env.INTEROP_CHROMIUM_NETLOG ? [`--log-net-log=${path.join(process.env.INTEROP_CHROMIUM_NETLOG, `${page}.json`)}`] : [],
        }),
        opts.timeoutMs,
        { stdoutFile: domFile },
      );
      const dom = fs.existsSync(domFile) ? fs.readFileSync(domFile, 'utf8') : '';
      const m = /<pre id="result">([^<]*)<\/pre>/.exec(dom);
      if (!m) return { ...run, code: run.code === 0 ? 1 : run.code, out: `${run.out}\nno result in the page (it did not finish its fetches)` };
      const result = JSON.parse(m[1]!.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')) as {
        files: Record<string, string>;
        status: Record<string, number>;
        protocols: Record<string, string>;
        navigation?: string;
        error?: string;
      };
      for (const [name, b64] of Object.entries(result.files)) fs.writeFileSync(path.join(dir, name), Buffer.from(b64, 'base64'));
      const notH3 = names.filter((n) => result.protocols[n] !== 'h3');
      const bad = names.filter((n) => result.status[n] !== 200);
      const problems = [
        result.error ? `page error: ${result.error}` : '',
        result.navigation !== 'h3' ? `page over ${result.navigation ?? '?'}` : '',
        notH3.length ? `${notH3.length} file(s) not over h3 (${notH3.slice(0, 3).map((n) => `${n}: ${result.protocols[n] ?? 'no timing entry'}`).join(', ')})` : '',
        bad.length ? `${bad.length} file(s) not 200` : '',
      ].filter(Boolean);
      const summary = `chromium: ${Object.keys(result.files).length}/${names.length} files, page over ${result.navigation}`;
      return { ...run, code: run.code === 0 && problems.length === 0 ? 0 : (run.code || 1), out: [run.out, summary, ...problems].join('\n') };
    } finally {
      fs.rmSync(path.join(fx.www, page), { force: true });
      fs.rmSync(domFile, { force: true });
      fs.rmSync(profile, { recursive: true, force: true });
    }
  },
  server() {
    throw new CaseUnsupported('Chromium is a client only');
  },
  ...NO_EARLY_DATA_EVIDENCE,
  async keyUpdateSeen() {
    return { ok: false, detail: 'Chromium cannot be asked to update keys' };
  },
  hasServer: false,
  noQlog: true,
};

const PEERS: Record<PeerName, PeerImpl> = { ngtcp2, aioquic, 'tokio-quiche': tokioQuiche, quiche: quicheExamples, chromium };

// ---------------------------------------------------------------------------------------------
// Networks: the relay settings of each case

/**
 * The relay each case runs over (without its target), or null for plain loopback; `quick` is the
 * bounded variant the `npm test` smoke uses (smaller files, faster rebinding). The runner's
 * default network is 10 Mbit/s with 15 ms one-way delay; the cases that need it take that too.
 */
function caseNetwork(testCase: CaseName, quick: boolean): Omit<RelayOptions, 'target'> | null {
  const runnerLink = { delayMs: 15, bandwidth: { bitsPerSecond: 10_000_000, queuePackets: 25 } };
  switch (testCase) {
    case 'longrtt':
      return { ...runnerLink, delayMs: 750 };
    case 'blackhole':
      return { ...runnerLink, blackhole: { onMs: 5000, offMs: 2000 } };
    case 'handshakeloss':
      return { ...runnerLink, loss: { rate: { toServer: 0.3, toClient: 0.3 }, burst: 3 } };
    case 'transferloss':
      return { ...runnerLink, loss: { rate: { toServer: 0.02, toClient: 0.02 }, burst: 3 } };
    case 'handshakecorruption':
      return { ...runnerLink, corrupt: { toServer: 0.3, toClient: 0.3 } };
    case 'transfercorruption':
      return { ...runnerLink, corrupt: { toServer: 0.02, toClient: 0.02 } };
    case 'amplificationlimit':
      return { ...runnerLink, dropToServer: [2, 3, 4, 5, 6, 7], trace: 40 };
    case 'rebind-port':
    case 'rebind-addr':
      // The runner: first rebind after 1 s, then every 5 s, over 10 MB at 10 Mbit/s (2 rebinds).
      // Here every 3 s (3 rebinds in the ~9 s transfer); quick: 0.4 s / 0.8 s over 3 MB.
      return { ...runnerLink, rebind: { mode: testCase === 'rebind-port' ? 'port' : 'addr', firstMs: quick ? 400 : 1000, everyMs: quick ? 800 : 3000 } };
    case 'goodput':
      return runnerLink;
    case 'v2':
      return {}; // no impairment: the relay only reads the long headers' versions
    default:
      return null;
  }
}

/** The case runs over ::1. */
const isV6 = (testCase: CaseName): boolean => testCase === 'ipv6';

// ---------------------------------------------------------------------------------------------
// Checks shared by both roles, from the relay's accounting and qlogs

function checkRelay(testCase: CaseName, relay: Relay, fx: Fixture & { chainDerBytes?: number }): string {
  const s = relay.summary();
  switch (testCase) {
    case 'longrtt': {
      const n = relay.clientInitialsBeforeAnswer;
      check(n >= 2, `the client sent ${n} Initial datagram(s) before any server datagram reached it: no ClientHello retransmission (${s})`);
      return `${n} client Initials before the first server answer (ClientHello retransmitted)`;
    }
    case 'blackhole': {
      const d = relay.stats.toServer.dropped.blackhole + relay.stats.toClient.dropped.blackhole;
      check(d > 0, `the transfer never met a blackhole period (${s})`);
      return `${d} datagrams dropped in blackhole periods`;
    }
    case 'handshakeloss':
    case 'transferloss': {
      const d = relay.stats.toServer.dropped.loss + relay.stats.toClient.dropped.loss;
      check(d > 0, `the relay dropped nothing (${s})`);
      return `${d} datagrams dropped (${relay.stats.toServer.dropped.loss} → server, ${relay.stats.toClient.dropped.loss} → client)`;
    }
    case 'handshakecorruption':
    case 'transfercorruption': {
      const c = relay.stats.toServer.corrupted + relay.stats.toClient.corrupted;
      check(c > 0, `the relay corrupted nothing (${s})`);
      return `${c} datagrams corrupted (${relay.stats.toServer.corrupted} → server, ${relay.stats.toClient.corrupted} → client)`;
    }
    case 'amplificationlimit': {
      const a = relay.amplification;
      const hsBytes = relay.stats.toClient.longHeaderBytes['handshake'] ?? 0;
      check(relay.stats.toServer.dropped.dropList === 6, `the relay dropped ${relay.stats.toServer.dropped.dropList} of the client's datagrams 2-7`);
      check(a !== null, `no client Handshake packet reached the server (${s})`);
      // After a Retry the client's address is validated: the 3× limit no longer binds the server.
      const retries = relay.stats.toClient.longHeaderPackets['retry'] ?? 0;
      if (retries > 0) throw new CaseUnsupported(`the server sent a Retry (${retries}), which validates the client's address and lifts the 3× limit; this server cannot run without Retry (${s})`);
      // Handshake packets' Length fields (ciphertext, so a little over the CRYPTO bytes).
      check(hsBytes >= 7500, `the server's Handshake packets carry ${hsBytes} B (< 7500): the long chain was not sent? (chain ${fx.chainDerBytes} B DER)`);
      const ratio = a.serverSentBytes / Math.max(1, a.serverReceivedBytes);
      const seen = `before the client's first Handshake packet the server had received ${a.serverReceivedBytes} B and sent ${a.serverSentBytes} B (×${ratio.toFixed(2)}); server Handshake packets ${hsBytes} B; chain ${fx.chainDerBytes} B DER, 9 certificates`;
      const trace = relay.trace.map((e) => `${e.t}ms ${e.dir === 'toServer' ? '→S' : '→C'} ${e.bytes}B ${e.types}${e.action === 'dropped' ? ' dropped' : ''}`).join(', ');
      check(a.serverSentBytes <= 3 * a.serverReceivedBytes, `anti-amplification limit broken: ${seen}; relay trace: ${trace}`);
      return seen;
    }
    case 'rebind-port':
    case 'rebind-addr': {
      const paths = [...relay.serverRepliedOn];
      check(relay.rebinds >= 1, `no rebind happened during the transfer (${s})`);
      check(paths.length >= 2, `the server answered on ${paths.length} path(s) only: it did not follow the rebinding (${s})`);
      if (testCase === 'rebind-addr') {
        const addrs = new Set(paths.map((p) => p.slice(0, p.lastIndexOf(':'))));
        check(addrs.size >= 2, `the server saw one client address only (${[...addrs].join(', ')})`);
        return `${relay.rebinds} rebinds; the server answered on ${paths.length} paths from ${addrs.size} client addresses`;
      }
      return `${relay.rebinds} rebinds; the server answered on ${paths.length} paths`;
    }
    case 'v2': {
      const c = relay.stats.toServer.versions;
      const v = relay.stats.toClient.versions;
      const fmt = (m: Record<string, string[]>): string => Object.entries(m).map(([k, l]) => `${k} ${l.join('/')}`).join(', ');
      const seen = `client: ${fmt(c)}; server: ${fmt(v)}`;
      check((c['initial'] ?? []).includes('0x00000001'), `the client's first Initial was not v1 (${seen})`);
      check(JSON.stringify(v['initial'] ?? []) === JSON.stringify(['0x6b3343cf']), `the server's Initials are not all QUIC v2 (${seen})`);
      check(
        JSON.stringify(v['handshake'] ?? []) === JSON.stringify(['0x6b3343cf']) && JSON.stringify(c['handshake'] ?? []) === JSON.stringify(['0x6b3343cf']),
        `the Handshake packets are not all QUIC v2 (${seen})`,
      );
      return `upgraded to v2 (${seen})`;
    }
    default:
      return '';
  }
}

/** PATH_CHALLENGE / PATH_RESPONSE in the server's qlog, for the rebind cases. */
async function checkPathValidation(qlogDir: string, relay: Relay, who: string): Promise<string> {
  const all = (await readQlogs(qlogDir, 1)).flat();
  check(all.length > 0, `${who}: no qlog written`);
  const challenges = framesOf(all, 'packet_sent', 'path_challenge');
  const responses = framesOf(all, 'packet_received', 'path_response');
  const newPaths = relay.serverRepliedOn.size - 1;
  const seen = `${who} qlog: ${challenges} PATH_CHALLENGE sent, ${responses} PATH_RESPONSE received, ${newPaths} new path(s)`;
  check(challenges >= newPaths && challenges > 0, `the server did not validate every new path (${seen})`);
  check(responses > 0, `no PATH_RESPONSE came back (${seen})`);
  return seen;
}

/**
 * ECN as the runner checks it, from a qlog of one end: its packets were ECT-marked (the other
 * end's ACKs count ECT(0)/ECT(1)) and the other end's ACKs carry ECN counts at all; and the same
 * for what this end sent. `peerSide` names the end whose qlog it is.
 */
async function checkEcn(qlogDir: string, peerSide: string, other = 'our'): Promise<string> {
  const all = (await readQlogs(qlogDir, 1)).flat();
  check(all.length > 0, `${peerSide}: no qlog written`);
  const acks = (event: 'packet_sent' | 'packet_received'): { n: number; ecn: number; ect: number; ce: number } => {
    let n = 0;
    let ecn = 0;
    let ect = 0;
    let ce = 0;
    for (const e of all) {
      if (!e.name.endsWith(event)) continue;
      for (const f of e.data.frames ?? []) {
        if (f.frame_type !== 'ack') continue;
        n++;
        if (f.ect0 !== undefined || f.ect1 !== undefined || f.ce !== undefined) {
          ecn++;
          ect = Math.max(ect, (f.ect0 ?? 0) + (f.ect1 ?? 0));
          ce = Math.max(ce, f.ce ?? 0);
        }
      }
    }
    return { n, ecn, ect, ce };
  };
  const ours = acks('packet_received'); // ACKs from our side, as the peer received them
  const theirs = acks('packet_sent'); // ACKs the peer sent about our packets
  const seen =
    `${peerSide} qlog: ${other} ${ours.n} ACKs, ${ours.ecn} with ECN counts (max ECT ${ours.ect}, CE ${ours.ce}); ` +
    `its ${theirs.n} ACKs, ${theirs.ecn} with ECN counts (max ECT ${theirs.ect}, CE ${theirs.ce})`;
  check(ours.ecn > 0 && ours.ect > 0, `${other} side sends no ACK with ECN counts: it does not report the peer's ECT marks (${seen})`);
  check(theirs.ect > 0, `the ${peerSide} counted no ECT-marked packet from the ${other} side: its packets are not ECN-marked (${seen})`);
  check(ours.ce === 0 && theirs.ce === 0, `CE marks on loopback? (${seen})`);
  return seen;
}

// ---------------------------------------------------------------------------------------------
// Cases, server role: the peer's client against our server

interface RoleOpts {
  timeoutMs: number;
  quick: boolean;
  /** The case's application protocol, for our side (the peer's programs get it through protoPeer). */
  proto: Proto;
}

async function withRelay<T>(
  testCase: CaseName,
  quick: boolean,
  target: { address: string; port: number },
  f: (port: number, relay: Relay | null) => Promise<T>,
  network: Omit<RelayOptions, 'target'> | null = caseNetwork(testCase, quick),
): Promise<T> {
  // When capturing, every case runs through a relay: one that only watches where the case has none.
  // Not ecn: the relay's sockets neither read nor set the IP ECN bits, so it would erase the marks.
  const net = network ?? (capture && testCase !== 'ecn' ? {} : null);
  if (net === null) return f(target.port, null);
  const pcap = nextPcap();
  const relay = await Relay.start({ ...net, target, ...(pcap ? { pcap } : {}) });
  try {
    return await f(relay.port, relay);
  } finally {
    relay.close();
  }
}

/** The case's client feature (keyupdate / chacha20 / v2), if it has one. */
function featureOf(testCase: CaseName): ClientFeature | undefined {
  return testCase === 'keyupdate' || testCase === 'chacha20' || testCase === 'v2' ? testCase : undefined;
}

async function serverRole(peer: PeerImpl, fx0: Fixture, testCase: CaseName, o: RoleOpts): Promise<string> {
  const { timeoutMs, quick } = o;
  if (testCase === 'connectionmigration') {
    throw new CaseUnsupported('our server cannot offer a preferred_address: quiche 0.30 neither encodes nor decodes it (transport_params.rs: "TODO: encode preferred_address"), and our settings have no such option');
  }
  if (peer.noQlog && testCase === 'ecn') throw new CaseUnsupported('the peer client writes no qlog, and this check reads it');
  const fx: Fixture & { chainDerBytes?: number } = testCase === 'amplificationlimit' ? { ...fx0, ...longChain(fx0) } : fx0;
  let files = caseFiles(testCase);
  if (quick && testCase.startsWith('rebind')) files = files.map((f) => ({ ...f, size: 3 * 1024 * 1024 }));
  writeFiles(fx, files);
  const names = files.map((f) => f.name);
  const retry = testCase === 'retry';
  const earlyData = testCase === 'zerortt';
  const host = isV6(testCase) ? '::1' : '127.0.0.1';
  const ourQlog = testCase.startsWith('rebind') ? fs.mkdtempSync(path.join(fx.dir, 'ourqlog-')) : undefined;
  // quiche keeps at most active_connection_id_limit paths, and frees an old one only once it holds
  // no peer CID: with tokio-quiche's default of 2, a second rebinding finds no room and its packets
  // are dropped (reported as a library finding). The runner's quiche endpoint uses 8
  // (--max-active-cids 8); so do the rebind cases here.
  const cidLimit = testCase.startsWith('rebind') ? REBIND_ACTIVE_CID_LIMIT : undefined;
  // Lossy handshakes and the dropped datagrams of amplificationlimit leave the client backing off
  // for many seconds (PTO doubling): there our server's idle timeout is 30 s, not the harness's 10 s.
  const slowHandshake = testCase === 'amplificationlimit' || testCase === 'handshakeloss' || testCase === 'handshakecorruption';
  const srv = await startOurServer(fx, {
    retry,
    earlyData,
    proto: o.proto,
    host,
    ...(ourQlog ? { qlogDir: ourQlog } : {}),
    ...(cidLimit ? { activeConnectionIdLimit: cidLimit } : {}),
    ...(slowHandshake ? { maxIdleTimeout: testCase === 'amplificationlimit' ? 30_000 : LOSSY_IDLE_MS } : {}),
  });
  const dl = fs.mkdtempSync(path.join(fx.dir, 'dl-'));
  try {
    if (testCase === 'resumption' || testCase === 'zerortt') {
      // Plain loopback (a watching relay for both connections when capturing).
      return await withRelay(testCase, quick, { address: host, port: srv.port }, (port) => resumeServerRole(peer, fx, srv, names, dl, testCase, port, timeoutMs, earlyData), null);
    }

    if (testCase === 'goodput') return await goodputServerRole(peer, fx, srv, names, dl, o);

    return await withRelay(testCase, quick, { address: host, port: srv.port }, async (port, relay) => {
      const qlogDir = fs.mkdtempSync(path.join(fx.dir, 'qlog-'));
      const logFile = path.join(fx.dir, `client-${testCase}-${Date.now()}.log`);
      const t0 = Date.now();
      // handshakeloss / handshakecorruption: one connection (one client process) per file.
      const batches = testCase === 'handshakeloss' || testCase === 'handshakecorruption' ? names.map((n) => [n]) : [names];
      for (const [i, batch] of batches.entries()) {
        const left = timeoutMs - (Date.now() - t0);
        const run = await peer.client(fx, port, batch, dl, {
          timeoutMs: left,
          host,
          qlogDir,
          logFile,
          ...(featureOf(testCase) ? { feature: featureOf(testCase)! } : {}),
          ...(batches.length > 1 ? { idleTimeoutMs: LOSSY_IDLE_MS } : {}),
        });
        const which = batches.length > 1 ? `connection ${i + 1}/${batches.length}: ` : '';
        const seen = (): string => `${relay ? ` (${relay.summary()}; the server answered on ${relay.serverRepliedOn.size} path(s))` : ''}; our server's acceptor dropped: ${acceptorDrops(srv)}`;
        check(!run.timedOut, `${which}client timed out: the case's ${timeoutMs} ms ran out after ${Date.now() - t0} ms, with ${left} ms left for this client: ${lastLines(run.out)}${seen()}`);
        check(run.code === 0, `${which}client exit ${run.code}: ${lastLines(run.out)}${seen()}`);
      }
      const bad = compareFiles(fx, names, readDownloads(dl, names));
      check(bad === '', `${bad}${relay ? ` (${relay.summary()}; the server answered on ${relay.serverRepliedOn.size} path(s))` : ''}; our server's acceptor dropped: ${acceptorDrops(srv)}`);
      check(srv.connections.length === batches.length, `expected ${batches.length} handshake(s), our server saw ${srv.connections.length}`);
      check(srv.metrics.retriesSent === 0 || retry, `Retry sent in a no-Retry case (${srv.metrics.retriesSent})`);
      if (retry) {
        check(srv.metrics.retriesSent >= 1, 'our server sent no Retry');
        return `Retry sent (${srv.metrics.retriesSent}), 1 handshake, files OK`;
      }
      const parts = [`${batches.length} handshake(s), ${names.length} file(s) OK`];
      if (relay) {
        let r: string;
        try {
          r = checkRelay(testCase, relay, fx);
        } catch (e) {
          // Our acceptor's view helps to tell one connection from several.
          if (e instanceof CaseFailure) {
            throw new CaseFailure(`${e.message}; our server: ${srv.metrics.acceptedInitialPackets} Initial(s) accepted as new connections, ${srv.connections.length} established`);
          }
          throw e;
        }
        if (r) parts.push(r);
      }
      if (ourQlog && relay) parts.push(await checkPathValidation(ourQlog, relay, 'our server'));
      if (testCase === 'ipv6') {
        const fam = srv.connections.map((c) => c.peerFamily);
        check(fam.every((f) => f === 'IPv6'), `our server's peer address family: ${fam.join(', ')}`);
        parts.push('our server (udp6, IPv6-only socket on ::1) saw an IPv6 peer; no IPv4 socket existed');
      }
      if (testCase === 'keyupdate') {
        const k = await peer.keyUpdateSeen(logFile, qlogDir);
        check(k.ok, `no key update in both directions (${k.detail})`);
        parts.push(k.detail);
      }
      if (testCase === 'chacha20') {
        // The client offered TLS_CHACHA20_POLY1305_SHA256 only: a completed handshake used it.
        const negotiated = /Negotiated cipher suite is (\S+)/.exec(fs.readFileSync(logFile, 'utf8'))?.[1];
        check(negotiated === undefined || /CHACHA20/.test(negotiated), `negotiated ${negotiated}`);
        parts.push(`client offered only TLS_CHACHA20_POLY1305_SHA256${negotiated ? `; client log: negotiated ${negotiated}` : ''}`);
      }
      if (testCase === 'ecn') parts.push(await checkEcn(qlogDir, 'peer client'));
      return parts.join('; ');
    });
  } finally {
    await srv.stop();
  }
}

/** resumption / zerortt, server role: two peer client runs against our server (through `port`), the 2nd resuming the 1st's session. */
async function resumeServerRole(peer: PeerImpl, fx: Fixture, srv: OurServer, names: string[], dl: string, testCase: CaseName, port: number, timeoutMs: number, earlyData: boolean): Promise<string> {
  const sessionFile = path.join(dl, 'session.bin');
  const tpFile = path.join(dl, 'tp.bin');
  const first = await peer.client(fx, port, names.slice(0, 1), dl, { sessionFile, tpFile, timeoutMs: timeoutMs / 2 });
  check(!first.timedOut, `1st connection: client timed out: ${lastLines(first.out)}`);
  check(first.code === 0, `1st connection: client exit ${first.code}: ${lastLines(first.out)}`);
  check(fs.existsSync(sessionFile), '1st connection: client stored no session ticket (our server sent none?)');
  const qlogDir = fs.mkdtempSync(path.join(fx.dir, 'qlog-'));
  const second = await peer.client(fx, port, names.slice(1), dl, { sessionFile, tpFile, earlyData, qlogDir, timeoutMs: timeoutMs / 2 });
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

/** The datagrams our server's acceptor dropped, by reason (DefaultMetrics.rejectedPackets). */
function acceptorDrops(srv: OurServer): string {
  return Object.entries(srv.metrics.rejectedPackets).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}`).join(', ') || 'nothing';
}

/** goodput, server role: GOODPUT_RUNS fresh peer clients fetch 10 MB through a fresh 10 Mbit/s relay each. */
async function goodputServerRole(peer: PeerImpl, fx: Fixture, srv: OurServer, names: string[], dl: string, o: RoleOpts): Promise<string> {
  const kbps: number[] = [];
  for (let i = 0; i < GOODPUT_RUNS; i++) {
    fs.rmSync(path.join(dl, names[0]!), { force: true });
    const before = srv.connections.length;
    const r = await withRelay('goodput', o.quick, { address: srv.host, port: srv.port }, async (port, relay) => {
      const run = await peer.client(fx, port, names, dl, { timeoutMs: o.timeoutMs / GOODPUT_RUNS });
      check(!run.timedOut && run.code === 0, `run ${i + 1}: client ${run.timedOut ? 'timed out' : `exit ${run.code}`}: ${lastLines(run.out)}`);
      return goodputOf(relay!, fx, names, readDownloads(dl, names), i);
    });
    check(srv.connections.length === before + 1, `run ${i + 1}: expected 1 handshake, our server saw ${srv.connections.length - before}`);
    kbps.push(r);
  }
  return goodputSummary(kbps);
}

function goodputOf(relay: Relay, fx: Fixture, names: string[], got: Map<string, Uint8Array | undefined>, i: number): number {
  const bad = compareFiles(fx, names, got);
  check(bad === '', `run ${i + 1}: ${bad}`);
  const s = relay.stats.toClient;
  check(s.firstShortHeaderAt !== undefined && s.lastShortHeaderAt! > s.firstShortHeaderAt, `run ${i + 1}: no 1-RTT packets from the server at the relay`);
  // As the runner: 8 × file size over the time between the server's first and last 1-RTT packet.
  const bytes = [...got.values()].reduce((n, d) => n + (d?.length ?? 0), 0);
  return (8 * bytes) / (s.lastShortHeaderAt! - s.firstShortHeaderAt!); // bits per ms = kbit/s
}

function goodputSummary(kbps: number[]): string {
  const sorted = [...kbps].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  return `goodput over 10 Mbit/s + 15 ms: median ${median.toFixed(0)} kbps (runs: ${kbps.map((k) => k.toFixed(0)).join(', ')})`;
}

let longChainCache: (ReturnType<typeof makeLongChain> & { dir: string }) | null = null;
function longChain(fx: Fixture): ReturnType<typeof makeLongChain> {
  if (longChainCache === null || longChainCache.dir !== fx.dir) {
    const dir = fs.mkdtempSync(path.join(fx.dir, 'chain-'));
    longChainCache = { ...makeLongChain(dir), dir: fx.dir };
  }
  return longChainCache;
}

// ---------------------------------------------------------------------------------------------
// Cases, client role: our client against the peer's server

async function clientRole(peer: PeerImpl, fx0: Fixture, testCase: CaseName, o: RoleOpts): Promise<string> {
  const { quick } = o;
  if (testCase === 'keyupdate') throw new CaseUnsupported('our client cannot initiate a key update: quiche 0.30 has no API for it (it only answers the peer\'s)');
  if (testCase === 'chacha20') throw new CaseUnsupported('our client cannot restrict its TLS 1.3 cipher suites: no setting in QuicSettings / native Config (BoringSSL fixes the TLS 1.3 list)');
  if (testCase === 'v2') throw new CaseUnsupported('our client cannot offer QUIC v2: quiche 0.30 supports v1 only (Config version 0x6b3343cf is refused as UnknownVersion)');
  const fx: Fixture & { chainDerBytes?: number } = testCase === 'amplificationlimit' ? { ...fx0, ...longChain(fx0) } : fx0;
  let files = caseFiles(testCase);
  if (quick && testCase.startsWith('rebind')) files = files.map((f) => ({ ...f, size: 3 * 1024 * 1024 }));
  writeFiles(fx, files, peer.generated?.fill);
  const names = files.map((f) => f.name);
  const sizes = new Map(files.map((f) => [f.name, f.size]));
  const gen = peer.generated;
  const pathOpt = gen ? { pathOf: (n: string): string => gen.path(sizes.get(n)!) } : {};
  const host = isV6(testCase) ? '::1' : '127.0.0.1';
  if (peer.noQlog && (testCase === 'ecn' || testCase.startsWith('rebind'))) {
    throw new CaseUnsupported('the peer server writes no qlog, and this check reads the server\'s qlog');
  }
  if (peer.fixedPort !== undefined && host !== '127.0.0.1') throw new CaseUnsupported('the peer server binds 127.0.0.1 only');
  const port = peer.fixedPort ?? (await freeUdpPort(host));
  const qlogDir = fs.mkdtempSync(path.join(fx.dir, 'qlog-'));
  const wantQlog = testCase === 'zerortt' || testCase === 'ecn' || testCase === 'handshakeloss' || testCase.startsWith('rebind') || testCase === 'connectionmigration';
  const preferredPort = testCase === 'connectionmigration' ? await freeUdpPort() : undefined;
  const srv = await peer.server(fx, port, {
    retry: testCase === 'retry',
    verbose: testCase === 'zerortt',
    host,
    ...(wantQlog ? { qlogDir } : {}),
    ...(preferredPort !== undefined ? { preferredPort } : {}),
    ...(testCase === 'handshakeloss' || testCase === 'handshakecorruption' ? { idleTimeoutMs: LOSSY_IDLE_MS } : {}),
  });
  try {
    check(srv.child.exitCode === null, `peer server exited at once: ${lastLines(srv.out())}`);
    if (testCase === 'resumption' || testCase === 'zerortt') {
      const earlyData = testCase === 'zerortt';
      // Plain loopback for the 1st connection (a watching relay when capturing).
      const first = await withRelay(testCase, quick, { address: host, port }, (p) => ourFetch(fx, p, names.slice(0, 1), { earlyData, proto: o.proto, ...pathOpt }), null);
      check(first.session !== null, '1st connection: no session ticket from qconn.session() after the responses');
      // The 2nd connection through a relay that only watches: it counts our 0-RTT packets.
      const pcap = earlyData || capture ? nextPcap() : undefined;
      const watch = earlyData || capture ? await Relay.start({ target: { address: host, port }, ...(pcap ? { pcap } : {}) }) : null;
      let second: FetchResult;
      try {
        second = await ourFetch(fx, watch?.port ?? port, names.slice(1), { session: first.session, earlyData, proto: o.proto, ...pathOpt });
      } finally {
        watch?.close();
      }
      const zeroRttPackets = watch?.stats.toServer.longHeaderPackets['0rtt'] ?? 0;
      const all = new Map([...first.files, ...second.files]);
      const bad = compareFiles(fx, names, all);
      check(bad === '', bad);
      check(!first.resumed, '1st connection was resumed?');
      check(second.resumed, '2nd connection not resumed (isResumed() false on our client)');
      if (testCase === 'resumption') return '2 connections, 2nd resumed (client isResumed()), files OK';
      // earlyDataReason is BoringSSL's ssl_early_data_reason_t: 2 = accepted; 7 =
      // unsupported_for_session: the server's ticket allows no early data (a server without 0-RTT).
      if (second.earlyDataReason === 7) throw new CaseUnsupported('the peer server does not offer 0-RTT: its session ticket allows no early data (BoringSSL early_data_reason 7, unsupported_for_session); resumption itself worked');
      check(second.earlyDataReason === 2, `resumed, but 0-RTT not accepted (BoringSSL early_data_reason=${second.earlyDataReason})`);
      const n = names.length - 1;
      const got = await peer.zeroRttRequestsReceived(srv.out(), qlogDir);
      const seen = `TLS accepted early data; relay: ${zeroRttPackets} 0-RTT packets from our client; peer server log: ${got ?? '? (none kept)'}/${n} requests received in 0-RTT`;
      check(zeroRttPackets > 0, `our client sent no 0-RTT packet (${seen})`);
      check(got === null || got * 2 >= n, `resumed, but most requests went in 1-RTT (${seen})`);
      return `resumed; ${seen}; files OK`;
    }
    if (testCase === 'goodput') {
      const kbps: number[] = [];
      for (let i = 0; i < GOODPUT_RUNS; i++) {
        kbps.push(
          await withRelay('goodput', quick, { address: host, port }, async (p, relay) => {
            const r = await ourFetch(fx, p, names, { proto: o.proto, ...pathOpt });
            return goodputOf(relay!, fx, names, r.files, i);
          }),
        );
      }
      return goodputSummary(kbps);
    }
    // Our client's qlog in the lossy handshake cases, for the post-mortem of a failure (--keep).
    const ourQlog = testCase === 'handshakeloss' || testCase === 'handshakecorruption' ? fs.mkdtempSync(path.join(fx.dir, 'ourqlog-')) : undefined;
    // retry: a relay that only watches, to see the peer server's Retry packet.
    const network = testCase === 'retry' ? {} : caseNetwork(testCase, quick);
    return await withRelay(testCase, quick, { address: host, port }, async (p, relay) => {
      // handshakeloss / handshakecorruption: one connection per file, one after the other.
      const batches = testCase === 'handshakeloss' || testCase === 'handshakecorruption' ? names.map((n) => [n]) : [names];
      const got = new Map<string, Uint8Array | undefined>();
      const statuses = new Set<number>();
      let last: FetchResult | null = null;
      for (const [i, batch] of batches.entries()) {
        try {
          last = await ourFetch(fx, p, batch, { host, proto: o.proto, ...pathOpt, ...(ourQlog ? { qlogDir: ourQlog, maxIdleTimeout: LOSSY_IDLE_MS } : {}) });
        } catch (e) {
          const which = batches.length > 1 ? `connection ${i + 1}/${batches.length}: ` : '';
          throw new CaseFailure(`${which}${describeError(e)}${relay ? ` (${relay.summary()}; the server answered on ${relay.serverRepliedOn.size} path(s))` : ''}`);
        }
        for (const [k, v] of last.files) got.set(k, v);
        for (const st of last.statuses) statuses.add(st);
      }
      const bad = compareFiles(fx, names, got);
      check(bad === '', `${bad}; statuses ${[...statuses].join(',')}${relay ? ` (${relay.summary()}; the server answered on ${relay.serverRepliedOn.size} path(s))` : ''}`);
      if (testCase === 'retry') {
        const retries = relay?.stats.toClient.longHeaderPackets['retry'] ?? 0;
        check(retries >= 1, `the peer server sent no Retry (relay saw none: ${relay?.summary()})`);
        return `the relay saw ${retries} Retry from the peer server; our client completed it; files OK`;
      }
      const parts = [`${batches.length} connection(s), ${names.length} file(s) OK`];
      if (relay) {
        const r = checkRelay(testCase, relay, fx);
        if (r) parts.push(r);
      }
      if (relay && testCase.startsWith('rebind')) parts.push(await checkPathValidation(qlogDir, relay, 'peer server'));
      if (testCase === 'ipv6') {
        check(last?.localFamily === 'IPv6', `our client's path family: ${last?.localFamily}`);
        parts.push('our client (udp6, IPv6-only socket) to the peer on ::1');
      }
      if (testCase === 'ecn') parts.push(await checkEcn(qlogDir, 'peer server'));
      if (testCase === 'connectionmigration') {
        const all = (await readQlogs(qlogDir, 1)).flat();
        const challenges = framesOf(all, 'packet_received', 'path_challenge');
        check(challenges > 0, `the peer server offered preferred_address 127.0.0.1:${preferredPort}, our client never migrated (peer server qlog: no PATH_CHALLENGE received; quiche 0.30 does not decode preferred_address)`);
        parts.push(`peer server qlog: ${challenges} PATH_CHALLENGE received after offering 127.0.0.1:${preferredPort}`);
      }
      return parts.join('; ');
    }, network);
  } finally {
    await stopProc(srv);
  }
}

// ---------------------------------------------------------------------------------------------
// Control: the peer's client against the peer's own server, same relay, same checks

async function controlRole(peer: PeerImpl, fx0: Fixture, testCase: CaseName, o: RoleOpts): Promise<string> {
  const supported = ['longrtt', 'transferloss', 'transfercorruption', 'amplificationlimit', 'rebind-port', 'rebind-addr', 'connectionmigration', 'keyupdate', 'v2', 'ecn', 'goodput'];
  if (!supported.includes(testCase)) throw new CaseUnsupported(`no control run for ${testCase}`);
  const fx: Fixture & { chainDerBytes?: number } = testCase === 'amplificationlimit' ? { ...fx0, ...longChain(fx0) } : fx0;
  const files = caseFiles(testCase);
  writeFiles(fx, files);
  const names = files.map((f) => f.name);
  if (peer.noQlog && (testCase === 'ecn' || testCase.startsWith('rebind') || testCase === 'connectionmigration')) {
    throw new CaseUnsupported('the peer writes no qlog, and this check reads it');
  }
  const port = peer.fixedPort ?? (await freeUdpPort());
  const serverQlog = fs.mkdtempSync(path.join(fx.dir, 'sqlog-'));
  const migrate = testCase === 'connectionmigration';
  const preferredPort = migrate ? await freeUdpPort() : undefined;
  const srv = await peer.server(fx, port, {
    retry: false,
    ...(testCase.startsWith('rebind') || migrate ? { qlogDir: serverQlog } : {}),
    ...(preferredPort !== undefined ? { preferredPort } : {}),
    v2: testCase === 'v2',
  });
  const dl = fs.mkdtempSync(path.join(fx.dir, 'dl-'));
  try {
    check(srv.child.exitCode === null, `peer server exited at once: ${lastLines(srv.out())}`);
    const runs = testCase === 'goodput' ? GOODPUT_RUNS : 1;
    const kbps: number[] = [];
    let parts: string[] = [];
    for (let i = 0; i < runs; i++) {
      fs.rmSync(path.join(dl, names[0]!), { force: true });
      parts = await withRelay(testCase, o.quick, { address: '127.0.0.1', port }, async (p, relay) => {
        const qlogDir = fs.mkdtempSync(path.join(fx.dir, 'cqlog-'));
        const logFile = path.join(fx.dir, `control-${testCase}-${Date.now()}.log`);
        const feature = featureOf(testCase);
        const run = await peer.client(fx, p, names, dl, { timeoutMs: o.timeoutMs / runs, qlogDir, logFile, ...(feature ? { feature } : {}) });
        check(!run.timedOut && run.code === 0, `client ${run.timedOut ? 'timed out' : `exit ${run.code}`}: ${lastLines(run.out)}${relay ? ` (${relay.summary()})` : ''}`);
        const got = readDownloads(dl, names);
        if (testCase === 'goodput') {
          kbps.push(goodputOf(relay!, fx, names, got, i));
          return [];
        }
        const bad = compareFiles(fx, names, got);
        check(bad === '', `${bad}${relay ? ` (${relay.summary()})` : ''}`);
        const out = [`${names.length} file(s) OK`];
        if (relay) out.push(checkRelay(testCase, relay, fx));
        if (relay && testCase.startsWith('rebind')) out.push(await checkPathValidation(serverQlog, relay, 'peer server'));
        if (testCase === 'keyupdate') {
          const k = await peer.keyUpdateSeen(logFile, qlogDir);
          check(k.ok, `no key update in both directions (${k.detail})`);
          out.push(k.detail);
        }
        if (testCase === 'ecn') out.push(await checkEcn(qlogDir, 'peer client', 'the peer server\'s'));
        if (migrate) {
          const all = (await readQlogs(serverQlog, 1)).flat();
          const challenges = framesOf(all, 'packet_received', 'path_challenge');
          check(challenges > 0, `the client never migrated to the preferred address (server qlog: no PATH_CHALLENGE received)`);
          out.push(`peer server qlog: ${challenges} PATH_CHALLENGE received after offering 127.0.0.1:${preferredPort}`);
        }
        return out.filter(Boolean);
      });
    }
    return testCase === 'goodput' ? goodputSummary(kbps) : parts.join('; ');
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

/** An error with its chain of causes (our errors carry the quiche / TLS detail in `cause`). */
function describeError(e: unknown, depth = 0): string {
  if (!(e instanceof Error)) return String(e);
  const own = `${e.name}: ${e.message}`;
  const extra = Object.entries(e as unknown as Record<string, unknown>)
    .filter(([k, v]) => k !== 'cause' && k !== 'stack' && (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'))
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
  const cause = e.cause !== undefined && depth < 3 ? ` ← ${describeError(e.cause, depth + 1)}` : '';
  return `${own}${extra ? ` (${extra})` : ''}${cause}`;
}

/** How a case ended: passed, failed, or not runnable by one side (never counted as passed). */
export type CaseStatus = 'passed' | 'failed' | 'unsupported';

/**
 * The protocol a case runs over with `peer` in `role` (see {@link AlpnMode}).
 *
 * @throws {CaseUnsupported} when `--alpn hq` asks for hq-interop and the peer's program for that
 * role speaks h3 only.
 */
export function protoFor(peer: PeerName, role: Role, testCase: CaseName, alpn: AlpnMode): Proto {
  if (testCase === H3_ONLY_CASE || alpn === 'h3') return 'h3';
  const hq = PEERS[peer].hq;
  // The peer's programs in this role: its client against our server, its server against our client, both in control.
  const speaksHq = hq !== undefined && (role === 'server' ? hq.client : role === 'client' ? hq.server : hq.client && hq.server);
  if (speaksHq) return 'hq';
  if (alpn === 'hq') throw new CaseUnsupported(`${peer} speaks h3 only in this role (no hq-interop program)`);
  return 'h3';
}

/** The peer with its client and server told which protocol to speak. */
function protoPeer(peer: PeerImpl, proto: Proto): PeerImpl {
  return {
    ...peer,
    client: (fx, port, names, dir, opts) => peer.client(fx, port, names, dir, { ...opts, proto }),
    server: (fx, port, opts) => peer.server(fx, port, { ...opts, proto }),
  };
}

/** What the tshark cross-check needs to know of a case's setup (connections, bytes, files, ALPN). */
function caseSetup(testCase: CaseName, quick: boolean, proto: Proto): CaseSetup {
  let files = caseFiles(testCase);
  if (quick && testCase.startsWith('rebind')) files = files.map((f) => ({ ...f, size: 3 * 1024 * 1024 }));
  const runs = testCase === 'goodput' ? GOODPUT_RUNS : 1;
  const handshakes =
    testCase === 'resumption' || testCase === 'zerortt' ? 2 : testCase === 'handshakeloss' || testCase === 'handshakecorruption' ? HANDSHAKE_LOSS_CONNECTIONS : runs;
  return {
    testCase,
    handshakes,
    fileBytes: runs * files.reduce((n, f) => n + f.size, 0),
    files: files.length,
    alpn: proto === 'hq' ? HQ_INTEROP_ALPN : 'h3',
  };
}

/**
 * Runs the matrix: every case in `cases` for every peer in `peers`, in each of `roles`.
 * `quick` runs the bounded variants (smaller rebind transfers) that the `npm test` smoke uses.
 */
export async function runInterop(opts: {
  peers: readonly PeerName[];
  cases: readonly CaseName[];
  roles?: readonly Role[];
  keep?: boolean;
  quick?: boolean;
  /** The application protocol; defaults to `auto` (hq-interop where the peer speaks it, as the runner). */
  alpn?: AlpnMode;
  /**
   * Capture every case into `<pcapDir>/<peer>-<role>-<case>/` (relay pcaps and key logs of both
   * ends) and cross-check it with tshark (see interop/tshark.ts).
   */
  pcapDir?: string;
  log?: (line: string) => void;
}): Promise<CaseResult[]> {
  const log = opts.log ?? ((): void => undefined);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rxjs-quiche-interop-'));
  const www = path.join(dir, 'www');
  fs.mkdirSync(www);
  const fx: Fixture = { dir, www, sums: new Map(), ...makeCerts(dir) };
  if (opts.cases.includes('amplificationlimit')) longChain(fx);
  const results: CaseResult[] = [];
  try {
    for (const peerName of opts.peers) {
      for (const role of opts.roles ?? (['server', 'client'] as const)) {
        if (role !== 'client' && PEERS[peerName].hasClient === false) {
          log(`${peerName} has no client: role ${role} not run`);
          continue;
        }
        if (role !== 'server' && PEERS[peerName].hasServer === false) {
          log(`${peerName} has no server: role ${role} not run`);
          continue;
        }
        for (const testCase of opts.cases) {
          const t0 = Date.now();
          let status: CaseStatus = 'failed';
          let reason: string;
          let proto: Proto | undefined;
          const timeoutMs = CASE_TIMEOUT_MS[testCase];
          if (opts.pcapDir) {
            const d = path.join(opts.pcapDir, `${peerName}-${role}-${testCase}`);
            fs.rmSync(d, { recursive: true, force: true });
            fs.mkdirSync(d, { recursive: true });
            capture = { dir: d, pcaps: [], keylogs: [] };
            nextKeylog('ours');
          }
          try {
            proto = protoFor(peerName, role, testCase, opts.alpn ?? 'auto');
            const peer = protoPeer(PEERS[peerName], proto);
            const ro: RoleOpts = { timeoutMs: timeoutMs - 2000, quick: opts.quick ?? false, proto };
            const run = role === 'server' ? serverRole : role === 'client' ? clientRole : controlRole;
            reason = await withTimeout(run(peer, fx, testCase, ro), timeoutMs);
            status = 'passed';
          } catch (e) {
            if (e instanceof CaseUnsupported) status = 'unsupported';
            reason = e instanceof CaseFailure || e instanceof CaseUnsupported ? e.message : `error: ${describeError(e)}`;
          }
          let tshark: TsharkVerdict | undefined;
          if (capture) {
            const cap: Capture = capture;
            capture = null;
            tshark =
              status === 'unsupported' || proto === undefined
                ? { status: 'not checked', detail: 'not checked: the case is unsupported' }
                : await crossCheck(caseSetup(testCase, opts.quick ?? false, proto), cap.pcaps, cap.keylogs, cap.dir);
            // When the capture and the harness disagree, the case fails with both reasons.
            if (tshark.status === 'failed' && status === 'passed') {
              status = 'failed';
              reason = `harness passed: ${reason}; tshark FAILED: ${tshark.detail}`;
            } else if (tshark.status === 'passed' && status === 'failed') {
              reason = `harness FAILED: ${reason}; tshark passed: ${tshark.detail}`;
            }
          }
          const r: CaseResult = {
            peer: peerName,
            role,
            testCase,
            ...(proto ? { proto } : {}),
            ok: status === 'passed',
            status,
            reason: reason.replace(/\s+/g, ' '),
            ms: Date.now() - t0,
            ...(tshark ? { tshark } : {}),
          };
          results.push(r);
          const mark = status === 'passed' ? '✓' : status === 'failed' ? '✕ FAILED' : '– UNSUPPORTED';
          log(`${mark} ${roleLabel(peerName, role)} ${testCase}${proto ? ` [${proto}]` : ''} (${r.ms} ms): ${r.reason}${tshark ? `\n    tshark: ${tshark.status === 'passed' || tshark.status === 'failed' ? `${tshark.status}: ` : ''}${tshark.detail}` : ''}`);
        }
      }
    }
  } finally {
    if (!opts.keep) fs.rmSync(dir, { recursive: true, force: true });
    else log(`kept ${dir}`);
  }
  return results;
}

function roleLabel(peer: PeerName, role: Role): string {
  if (role === 'server') return `${peer} client → our server`;
  if (role === 'client') return `our client → ${peer} server`;
  return `${peer} client → ${peer} server (control)`;
}

/** The results as a markdown table, one row per case / peer / role. */
export function formatMatrix(results: CaseResult[]): string {
  const withTshark = results.some((r) => r.tshark);
  const lines = withTshark
    ? ['| peer | role | case | alpn | result | detail | tshark |', '|---|---|---|---|---|---|---|']
    : ['| peer | role | case | alpn | result | detail |', '|---|---|---|---|---|---|'];
  for (const r of results) {
    const role = roleLabel(r.peer, r.role);
    const mark = r.status === 'passed' ? '✓' : r.status === 'failed' ? '✕' : 'unsupported';
    const t = withTshark ? ` ${r.tshark ? `${r.tshark.status}: ${r.tshark.detail}`.replace(/\|/g, '\\|') : ''} |` : '';
    lines.push(`| ${r.peer} | ${role} | ${r.testCase} | ${r.proto ?? '–'} | ${mark} | ${r.reason.replace(/\|/g, '\\|')} (${(r.ms / 1000).toFixed(1)} s) |${t}`);
  }
  return lines.join('\n');
}

/** The grid's second mark, for the tshark cross-check: passed, failed, tshark missing, not checkable. */
const TSHARK_MARK: Record<TsharkVerdict['status'], string> = { passed: '(t✓)', failed: '(t✕)', 'not run': '(t?)', 'not checked': '(t–)' };

/** The results as a case × (peer, role) grid of ✓ / ✕ / – (unsupported), with the tshark mark when captured. */
export function formatGrid(results: CaseResult[]): string {
  const cols = [...new Set(results.map((r) => `${r.peer}|${r.role}`))];
  const cases = [...new Set(results.map((r) => r.testCase))];
  const head = cols.map((c) => {
    const [p, role] = c.split('|');
    return roleLabel(p as PeerName, role as Role);
  });
  const lines = [`| case | ${head.join(' | ')} |`, `|---|${cols.map(() => '---').join('|')}|`];
  for (const tc of cases) {
    const cells = cols.map((c) => {
      const r = results.find((x) => `${x.peer}|${x.role}` === c && x.testCase === tc);
      if (r === undefined) return '';
      const mark = r.status === 'passed' ? '✓' : r.status === 'failed' ? '✕' : '–';
      return r.tshark ? `${mark} ${TSHARK_MARK[r.tshark.status]}` : mark;
    });
    lines.push(`| ${tc} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      peers: { type: 'string' },
      cases: { type: 'string', default: ALL_CASES.join(',') },
      roles: { type: 'string', default: 'server,client' },
      keep: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      alpn: { type: 'string', default: 'auto' },
      pcap: { type: 'string', default: process.env['INTEROP_PCAP'] },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(
      [
        'usage: npx ts-node --transpile-only interop/run.ts [options]',
        `  --peers a,b      ${ALL_PEERS.join(', ')} (default: all installed; tokio-quiche and quiche only when built)`,
        `  --cases a,b      ${ALL_CASES.join(', ')} (default: all)`,
        '  --roles a,b      server (peer client → our server), client (our client → peer server), control (peer ↔ itself); default server,client',
        '  --alpn MODE      auto (default: hq-interop for every case but http3 where the peer speaks it, else h3), h3, or hq (h3-only peers: unsupported)',
        '  --quick          bounded variants (3 MB rebinds)',
        '  --keep           keep the temp dir (qlogs, logs)',
        '  --pcap DIR       capture every case through the relay into DIR/<peer>-<role>-<case>/ (pcap + TLS key logs of both',
        '                   ends) and cross-check it with tshark (also INTEROP_PCAP=DIR; needs: apt-get install tshark)',
      ].join('\n'),
    );
    return;
  }
  const alpn = values.alpn as AlpnMode;
  if (!['auto', 'h3', 'hq'].includes(alpn)) throw new Error(`unknown --alpn ${alpn} (auto, h3, hq)`);
  // Without --peers: ngtcp2 and aioquic (required), tokio-quiche and quiche when they are built.
  let peers = (values.peers ?? ALL_PEERS.join(',')).split(',').filter(Boolean) as PeerName[];
  for (const optional of ['tokio-quiche', 'quiche'] as const) {
    if (values.peers === undefined && missingPeers([optional]).length > 0) {
      console.log(`not running ${optional}: ${missingPeers([optional]).join(', ')} missing (interop/install-rust-peers.sh builds it)`);
      peers = peers.filter((p) => p !== optional);
    }
  }
  const cases = values.cases!.split(',').filter(Boolean) as CaseName[];
  const roles = values.roles!.split(',').filter(Boolean) as Role[];
  for (const r of roles) if (!['server', 'client', 'control'].includes(r)) throw new Error(`unknown role ${r} (known: server, client, control)`);
  for (const p of peers) if (!ALL_PEERS.includes(p)) throw new Error(`unknown peer ${p} (known: ${ALL_PEERS.join(', ')})`);
  for (const c of cases) if (!ALL_CASES.includes(c)) throw new Error(`unknown case ${c} (known: ${ALL_CASES.join(', ')})`);
  const missing = missingPeers(peers);
  if (missing.length > 0) {
    console.error(`missing peer programs: ${missing.join(', ')}\nrun: sudo interop/install.sh`);
    process.exit(2);
  }
  const results = await runInterop({ peers, cases, roles, keep: values.keep!, quick: values.quick!, alpn, ...(values.pcap ? { pcapDir: path.resolve(values.pcap) } : {}), log: (l) => console.log(l) });
  console.log(`\n${formatGrid(results)}\n\n${formatMatrix(results)}\n`);
  const failed = results.filter((r) => r.status === 'failed').length;
  const unsupported = results.filter((r) => r.status === 'unsupported').length;
  console.log(`${results.length - failed - unsupported}/${results.length} passed, ${failed} failed, ${unsupported} unsupported`);
  const notRun = results.filter((r) => r.tshark?.status === 'not run').length;
  if (values.pcap) {
    const n = (st: TsharkVerdict['status']): number => results.filter((r) => r.tshark?.status === st).length;
    console.log(`tshark cross-check (${path.resolve(values.pcap)}): ${n('passed')} passed, ${n('failed')} failed, ${n('not checked')} not checked, ${notRun} not run${notRun ? ' (apt-get install tshark)' : ''}`);
  }
  // A requested cross-check that could not run is not a pass either.
  process.exit(failed === 0 && unsupported === 0 && notRun === 0 ? 0 : 1);
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(2);
  });
}
