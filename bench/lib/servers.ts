/**
 * The HTTP/3 servers the benchmarks load, behind one handle: ours (a child process running
 * our-server-child.ts), ngtcp2's gtlsserver, and tokio-quiche's async_http3_server when its binary
 * has been built at interop/.peers/bin/async_http3_server.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { Fixture } from './certs';
import type { OurServerOptions, OurServerStats } from './our-server-child';
import { debVersion, freeUdpPort, procCpuSec, procRssBytes, REPO_ROOT, sleep, spawnTs, stopChild } from './proc';
import { note } from './progress';
import { ChildRpc, describeError } from './rpc';

export const GTLSCLIENT = '/usr/bin/gtlsclient';
export const GTLSSERVER = '/usr/sbin/gtlsserver';
export const TOKIO_SERVER = path.join(REPO_ROOT, 'interop', '.peers', 'bin', 'async_http3_server');
const TOKIO_VERSION_FILE = path.join(REPO_ROOT, 'interop', '.peers', 'tokio-quiche.version');

/** The peers' versions, for the report headers. */
export function peerVersions(): string {
  let tokio = 'tokio-quiche not built';
  if (fs.existsSync(TOKIO_SERVER)) {
    try {
      tokio = fs.readFileSync(TOKIO_VERSION_FILE, 'utf8').trim();
    } catch {
      tokio = 'tokio-quiche (version unknown)';
    }
  }
  return `ngtcp2 ${debVersion('ngtcp2-server')}; ${tokio}`;
}

export type ServerKind = 'ours' | 'ngtcp2' | 'tokio';

export const SERVER_LABEL: Record<ServerKind, string> = {
  ours: 'our server',
  ngtcp2: 'gtlsserver',
  tokio: 'tokio-quiche',
};

export interface ServerOptions {
  /** Retry (address validation) for every new connection. */
  retry?: boolean;
  /** Idle timeout, ms (ours and gtlsserver). */
  idleTimeoutMs?: number;
  /** initial_max_streams_bidi (ours and gtlsserver). */
  maxStreamsBidi?: number;
  /** Run our server with --expose-gc (for memory figures after a full collection). */
  exposeGc?: boolean;
}

export interface ServerHandle {
  kind: ServerKind;
  port: number;
  pid: number;
  /** Socket kind of our server ('native' / 'dgram'); '' for the others. */
  socketKind: string;
  /** The path that answers n bytes. */
  pathFor(n: number): string;
  /** CPU seconds of the whole process since it started. */
  cpuSec(): number;
  rssBytes(): number;
  /** Our server only: its own counters. */
  stats?(): Promise<OurServerStats>;
  /** Our server only: full GC (with exposeGc), then its counters. */
  gc?(): Promise<OurServerStats>;
  /** Exited early? */
  alive(): boolean;
  stop(): Promise<void>;
}

// Servers found unavailable, with why, in the order noted.
const notedUnavailable = new Map<ServerKind, string>();

/** The servers of `wanted` that can run here; each one that cannot is noted once, with why. */
export function availableServers(wanted: readonly ServerKind[]): ServerKind[] {
  return wanted.filter((k) => {
    const why = unavailable(k);
    if (why && !notedUnavailable.has(k)) {
      notedUnavailable.set(k, `${SERVER_LABEL[k]} skipped: ${why}`);
      note(notedUnavailable.get(k)!);
    }
    return !why;
  });
}

/** What {@link availableServers} skipped so far, one line each, for a run's closing report. */
export function skippedServers(): string[] {
  return [...notedUnavailable.values()];
}

/** Why a server kind cannot run here, or undefined when it can. */
export function unavailable(kind: ServerKind): string | undefined {
  if (kind === 'ngtcp2' && !fs.existsSync(GTLSSERVER)) return `${GTLSSERVER} is not installed (sudo interop/install.sh ngtcp2)`;
  if (kind === 'tokio' && !fs.existsSync(TOKIO_SERVER)) return `${path.relative(REPO_ROOT, TOKIO_SERVER)} does not exist (tokio-quiche's example is not built: interop/install-rust-peers.sh)`;
  return undefined;
}

/** Whether something has bound 127.0.0.1:port (UDP): our own bind then fails with EADDRINUSE. */
async function udpPortTaken(port: number): Promise<boolean> {
  const s = createSocket('udp4');
  return new Promise((resolve) => {
    s.once('error', () => {
      s.close();
      resolve(true);
    });
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(false)));
  });
}

async function startExternal(kind: ServerKind, file: string, args: string[], port: number, pathFor: (n: number) => string): Promise<ServerHandle> {
  const child: ChildProcess = spawn(file, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, RUST_LOG: process.env['RUST_LOG'] ?? 'error' },
  });
  let err = '';
  child.stderr!.on('data', (b: Buffer) => {
    err += b.toString();
    if (err.length > 20_000) err = err.slice(-4000);
  });
  const why = (): string => err.trim().split('\n').slice(-2).join(' | ');
  const deadline = Date.now() + 10_000;
  for (;;) {
    await sleep(50);
    if (child.exitCode !== null || child.pid === undefined) throw new Error(`${path.basename(file)} exited at once (${child.exitCode}): ${why()}`);
    if (await udpPortTaken(port)) break;
    if (Date.now() > deadline) {
      await stopChild(child);
      throw new Error(`${path.basename(file)} did not bind 127.0.0.1:${port} in 10 s: ${why()}`);
    }
  }
  const pid = child.pid;
  return {
    kind,
    port,
    pid,
    socketKind: '',
    pathFor,
    cpuSec: () => procCpuSec(pid),
    rssBytes: () => procRssBytes(pid),
    alive: () => child.exitCode === null && child.signalCode === null,
    stop: () => stopChild(child),
  };
}

export async function startServer(kind: ServerKind, fx: Fixture, opts: ServerOptions = {}): Promise<ServerHandle> {
  const why = unavailable(kind);
  if (why) throw new Error(why);
  if (kind === 'ngtcp2') {
    const port = await freeUdpPort();
    const args = ['-q', '--no-quic-dump', '--no-http-dump', '-d', fx.www];
    if (opts.retry) args.push('-V');
    if (opts.idleTimeoutMs !== undefined) args.push(`--timeout=${opts.idleTimeoutMs}ms`);
    if (opts.maxStreamsBidi !== undefined) args.push(`--max-streams-bidi=${opts.maxStreamsBidi}`);
    args.push('127.0.0.1', String(port), fx.key, fx.cert);
    return startExternal(kind, GTLSSERVER, args, port, (n) => `/${n}`);
  }
  if (kind === 'tokio') {
    const port = await freeUdpPort();
    const args = ['--address', `127.0.0.1:${port}`, '--tls-cert-path', fx.cert, '--tls-private-key-path', fx.key];
    return startExternal(kind, TOKIO_SERVER, args, port, (n) => `/stream-bytes/${n}`);
  }
  const o: OurServerOptions = {
    cert: fx.cert,
    key: fx.key,
    retry: opts.retry ?? false,
    ...(opts.idleTimeoutMs !== undefined ? { idleTimeoutMs: opts.idleTimeoutMs } : {}),
    ...(opts.maxStreamsBidi !== undefined ? { maxStreamsBidi: opts.maxStreamsBidi } : {}),
  };
  const child = spawnTs(path.join(__dirname, 'our-server-child.ts'), [JSON.stringify(o)], opts.exposeGc ? ['--expose-gc'] : []);
  const rpc = new ChildRpc(child, 'our server');
  let ready: { port: number; kind: string };
  try {
    ready = await rpc.ready<{ port: number; kind: string }>();
  } catch (e) {
    await stopChild(child);
    throw e;
  }
  const pid = child.pid!;
  return {
    kind,
    port: ready.port,
    pid,
    socketKind: ready.kind,
    pathFor: (n) => `/${n}`,
    cpuSec: () => procCpuSec(pid),
    rssBytes: () => procRssBytes(pid),
    stats: () => rpc.call<OurServerStats>('stats', {}, 10_000),
    gc: () => rpc.call<OurServerStats>('gc', {}, 30_000),
    alive: () => child.exitCode === null && child.signalCode === null,
    stop: () => stopChild(child),
  };
}

/** Our server's connection errors as one line ('' when none). */
export async function ourServerErrors(server: ServerHandle): Promise<string> {
  if (!server.stats) return '';
  try {
    const s = await server.stats();
    const e = Object.entries(s.errors);
    return e.length ? e.map(([w, n]) => `${n}× ${w}`).join('; ') : '';
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/**
 * Why a run failed, for its table and progress line: the error, and what our server child (when
 * it is ours) reported about failed connections.
 */
export async function failureReason(e: unknown, server: ServerHandle | undefined): Promise<string> {
  const serverSide = server ? await ourServerErrors(server) : '';
  return `${describeError(e)}${serverSide ? ` [server: ${serverSide}]` : ''}`;
}
