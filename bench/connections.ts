/**
 * New HTTP/3 connections per second (issue 6), side by side with ngtcp2: each connection is a full
 * handshake (no resumption, no 0-RTT) + one small request (`GET /<bytes>`, default 6 bytes;
 * `--no-request` for handshake + close), then a CONNECTION_CLOSE from the client.
 *
 * Modes: without Retry, and with Retry for every connection (our server with address validation
 * on; gtlsserver `-V`), which costs one more round trip and a token check.
 * Concurrency: sequential (one connection at a time), and C at once (default 64: C workers, each
 * opening its next connection as soon as its last one is closed).
 *
 * Servers: ours (serveHttp3 in a child process on the native socket), gtlsserver, and tokio-quiche's
 * async_http3_server when interop/.peers/bin has it: in the Retry mode only, since that example
 * always sends a Retry (tokio-quiche's default) and has no flag to turn it off.
 * Loaders:
 * - our client (connect$ in a child process): each worker binds one socket
 *   (`bindQuicSocket({ native })`, default 'auto') and dials its connections from it one after the
 *   other; `--socket-per connection` binds a fresh socket for every connection instead.
 * - gtlsclient, sequential only: one `gtlsclient -q --exit-on-all-streams-close` process per
 *   connection, so its rate includes process start (exec, GnuTLS init: several ms) — a floor for
 *   ngtcp2, not its handshake rate.
 *
 * Repetitions are interleaved (every server and mode in each, fresh servers each time, loaders'
 * order alternating). Reported: median connections/s, CPU ms per connection at each end
 * (/proc/<pid>/stat around the run; /usr/bin/time summed for gtlsclient) and the median
 * connection time seen by our client (connect$ to close).
 *
 * Each fresh server first takes `--warmup` connections (default 2000, 8 at once, from our client),
 * not measured: V8 compiles our server's connection path over its first thousand or two
 * connections, and the figures are for a server that has been running. The peers get the same.
 *
 *   npm run bench:connections -- [--runs 5] [--seq 200] [--conc 64] [--conc-total 640] [--warmup 2000]
 *       [--servers ours,ngtcp2,tokio] [--loaders ours,gtlsclient] [--modes noretry,retry]
 *       [--gtls-seq 50] [--no-request] [--native auto|never] [--socket-per worker|connection]
 *
 * Not part of `npm test`. Needs /usr/bin/gtlsclient and /usr/sbin/gtlsserver (interop/install.sh).
 */
import type { ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

import type { ClosableQuicSocket } from '../src';
import { makeFixture, type Fixture } from './lib/certs';
import { openH3, request } from './lib/our-client';
import { procCpuSec, spawnTs, stopChild, timedRun } from './lib/proc';
import { note, progress, progressDone, runBench } from './lib/progress';
import { ChildRpc, describeError, failChild, serveRpc } from './lib/rpc';
import { GTLSCLIENT, failureReason, peerVersions, SERVER_LABEL, type ServerHandle, type ServerKind, startServer, availableServers, skippedServers } from './lib/servers';
import { fmt, median, printTable, ratio, Samples } from './lib/stats';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    seq: { type: 'string', default: '200' },
    conc: { type: 'string', default: '64' },
    'conc-total': { type: 'string', default: '640' },
    'gtls-seq': { type: 'string', default: '50' },
    warmup: { type: 'string', default: '2000' },
    servers: { type: 'string', default: 'ours,ngtcp2,tokio' },
    loaders: { type: 'string', default: 'ours,gtlsclient' },
    modes: { type: 'string', default: 'noretry,retry' },
    'no-request': { type: 'boolean', default: false },
    bytes: { type: 'string', default: '6' },
    native: { type: 'string', default: 'auto' },
    'socket-per': { type: 'string', default: 'worker' },
    role: { type: 'string' },
  },
});

const RUN_TIMEOUT_MS = 180_000;

// ---------------------------------------------------------------------------------------------
// Child: our connection generator

interface DialArgs {
  port: number;
  total: number;
  concurrency: number;
  /** undefined: handshake + close. */
  path?: string;
  bytes: number;
  native: 'auto' | 'never';
  socketPer: 'worker' | 'connection';
}
interface DialReply {
  ok: number;
  failed: number;
  firstError?: string;
  ms: number;
  /** Median of connect$ → response → close, ms. */
  medianConnMs: number;
  socketKind: string;
}

async function clientChild(): Promise<void> {
  const { bindQuicSocket } = await import('../src');
  serveRpc({
    dial: async (a: DialArgs): Promise<DialReply> => {
      let started = 0;
      let ok = 0;
      let failed = 0;
      let firstError: string | undefined;
      const times: number[] = [];
      let socketKind = '';
      const worker = async (): Promise<void> => {
        let shared: ClosableQuicSocket | undefined;
        if (a.socketPer === 'worker') {
          shared = await bindQuicSocket({ address: '127.0.0.1', port: 0, native: a.native });
          socketKind = shared.kind;
        }
        try {
          while (started < a.total) {
            started++;
            const t0 = performance.now();
            try {
              const c = await openH3({ port: a.port, native: a.native, handshakeTimeoutMs: 10_000, ...(shared ? { socket: shared } : {}) });
              socketKind ||= c.socket.kind;
              try {
                if (a.path !== undefined) {
                  const r = await request(c.controller, a.path);
                  if (r.status !== 200 || r.bytes !== a.bytes) throw new Error(`status ${r.status}, ${r.bytes} bytes`);
                }
              } finally {
                c.close();
              }
              ok++;
              times.push(performance.now() - t0);
            } catch (e) {
              failed++;
              firstError ??= describeError(e);
              if (failed > 50 && ok === 0) return;
            }
          }
        } finally {
          shared?.close();
        }
      };
      const t0 = performance.now();
      await Promise.all(Array.from({ length: a.concurrency }, worker));
      const ms = performance.now() - t0;
      return { ok, failed, ...(firstError !== undefined ? { firstError } : {}), ms, medianConnMs: median(times), socketKind };
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Orchestrator

type Loader = 'ours' | 'gtlsclient';
type Mode = 'noretry' | 'retry';
type Conc = 'seq' | 'conc';
const LOADER_LABEL: Record<Loader, string> = { ours: 'our client', gtlsclient: 'gtlsclient (process per connection)' };

interface Sample {
  connPerSec: number;
  clientCpuMsPerConn: number;
  serverCpuMsPerConn: number;
  medianConnMs: number;
}

async function gtlsSequential(server: ServerHandle, n: number, urlPath: string | undefined, fx: Fixture): Promise<{ ms: number; cpuSec: number; total: number }> {
  let cpuSec = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const args = ['-q', '--exit-on-all-streams-close', '--timeout=10s', '127.0.0.1', String(server.port)];
    // Without a URI gtlsclient still opens the connection; it then has no stream to wait for.
    if (urlPath !== undefined) args.push(`https://127.0.0.1:${server.port}${urlPath}`);
    const r = await timedRun(GTLSCLIENT, args, path.join(fx.dir, 'time.txt'), 30_000);
    if (r.code !== 0) throw new Error(`gtlsclient #${i + 1} exited ${r.code}: ${r.stderrTail}`);
    cpuSec += r.cpuSec;
  }
  return { ms: performance.now() - t0, cpuSec, total: n };
}

async function main(): Promise<void> {
  const runs = Number(values.runs);
  const warmup = Number(values.warmup);
  const bytes = Number(values.bytes);
  const urlFor = (server: ServerHandle): string | undefined => (values['no-request'] ? undefined : server.pathFor(bytes));
  const modes = values.modes!.split(',') as Mode[];
  const loaders = values.loaders!.split(',') as Loader[];
  const concs: Conc[] = ['seq', 'conc'];
  const concurrency = Number(values.conc);
  const wanted = values.servers!.split(',') as ServerKind[];
  const servers = availableServers(wanted);
  const native = values.native as 'auto' | 'never';
  const socketPer = values['socket-per'] as 'worker' | 'connection';

  const fx = makeFixture('conns');
  const samples = new Samples<Sample>();
  const key = (m: Mode, c: Conc, srv: ServerKind, ld: Loader): string =>
    `${m === 'retry' ? 'Retry' : 'no Retry'}, ${c === 'seq' ? 'sequential' : `${concurrency} concurrent`}: ${LOADER_LABEL[ld]} → ${SERVER_LABEL[srv]}`;
  const clientSockets = new Set<string>();
  let client: ChildRpc | undefined;
  let clientProc: ChildProcess | undefined;
  try {
    if (loaders.includes('ours')) {
      clientProc = spawnTs(__filename, ['--role', 'client']);
      client = new ChildRpc(clientProc, 'our client');
      await client.ready();
    }
    for (let i = 0; i < runs; i++) {
      for (const mode of modes) {
        for (const srvKind of servers) {
          // tokio-quiche's example always sends a Retry (no flag to turn it off).
          if (srvKind === 'tokio' && mode !== 'retry') continue;
          progress(`run ${i + 1}/${runs}: starting ${SERVER_LABEL[srvKind]} (${mode})`);
          let server: ServerHandle;
          try {
            server = await startServer(srvKind, fx, { retry: mode === 'retry' });
          } catch (e) {
            for (const c of concs) for (const ld of loaders) samples.fail(key(mode, c, srvKind, ld), `server start: ${describeError(e)}`);
            continue;
          }
          try {
            if (warmup > 0 && client) {
              // Not measured; every server gets it, so our fresh Node server is measured after V8
              // compiled its connection path, as a server that has been running is.
              progress(`run ${i + 1}/${runs}: warming ${SERVER_LABEL[srvKind]} up (${mode})`);
              const u = urlFor(server);
              await client
                .call('dial', { port: server.port, total: warmup, concurrency: 8, ...(u !== undefined ? { path: u } : {}), bytes, native, socketPer } satisfies DialArgs, RUN_TIMEOUT_MS)
                .catch(() => undefined);
            }
            const order = i % 2 === 0 ? loaders : [...loaders].reverse();
            for (const c of concs) {
              for (const ld of order) {
                if (ld === 'gtlsclient' && c !== 'seq') continue;
                const k = key(mode, c, srvKind, ld);
                progress(`run ${i + 1}/${runs}: ${k}…`);
                const s0 = server.cpuSec();
                try {
                  let ms: number;
                  let cpuSec: number;
                  let total: number;
                  let medianConnMs = NaN;
                  if (ld === 'gtlsclient') {
                    ({ ms, cpuSec, total } = await gtlsSequential(server, Number(values['gtls-seq']), urlFor(server), fx));
                  } else {
                    total = c === 'seq' ? Number(values.seq) : Number(values['conc-total']);
                    const pid = client!.child.pid!;
                    const c0 = procCpuSec(pid);
                    const u = urlFor(server);
                    const r = await client!.call<DialReply>(
                      'dial',
                      { port: server.port, total, concurrency: c === 'seq' ? 1 : concurrency, ...(u !== undefined ? { path: u } : {}), bytes, native, socketPer } satisfies DialArgs,
                      RUN_TIMEOUT_MS,
                    );
                    cpuSec = procCpuSec(pid) - c0;
                    clientSockets.add(r.socketKind);
                    if (r.failed > 0 || r.ok !== total) throw new Error(`our client: ${r.ok}/${total} ok, ${r.failed} failed${r.firstError ? `: ${r.firstError}` : ''}`);
                    ms = r.ms;
                    medianConnMs = r.medianConnMs;
                  }
                  const serverCpu = server.cpuSec() - s0;
                  const s: Sample = {
                    connPerSec: total / (ms / 1000),
                    clientCpuMsPerConn: (cpuSec / total) * 1000,
                    serverCpuMsPerConn: (serverCpu / total) * 1000,
                    medianConnMs,
                  };
                  samples.add(k, s);
                  note(`run ${i + 1}/${runs}: ${k}: ${fmt(s.connPerSec, 0)} conn/s`);
                } catch (e) {
                  const why = await failureReason(e, server);
                  samples.fail(k, why);
                  note(`run ${i + 1}/${runs}: ${k}: FAILED ${why}`);
                  if (!server.alive()) break;
                }
              }
            }
          } finally {
            await server.stop();
          }
        }
      }
    }
  } finally {
    progressDone();
    if (clientProc) await stopChild(clientProc);
    fx.cleanup();
  }

  console.log(
    `\nNew HTTP/3 connections per second, loopback, 2 shared cores: full handshake + ${values['no-request'] ? 'close' : `one GET of ${bytes} bytes + close`}; median of ${runs} interleaved repetitions`,
  );
  console.log(`${peerVersions()}; our server on the native socket; our client sockets: ${[...clientSockets].join(', ') || 'n/a'} (one per ${socketPer}); each fresh server warmed up with ${warmup} unmeasured connections`);
  for (const s of skippedServers()) console.log(s);
  for (const mode of modes) {
    for (const c of concs) {
      console.log(`\n${mode === 'retry' ? 'With Retry (every connection validated)' : 'Without Retry'}, ${c === 'seq' ? 'sequential' : `${concurrency} at once`}`);
      const rows: string[][] = [];
      const baseK = key(mode, c, 'ngtcp2', 'ours');
      const baseRate = samples.median(baseK, (s) => s.connPerSec);
      const baseSrv = samples.median(baseK, (s) => s.serverCpuMsPerConn);
      for (const ld of loaders) {
        if (ld === 'gtlsclient' && c !== 'seq') continue;
        for (const srv of servers) {
          if (srv === 'tokio' && mode !== 'retry') continue;
          const k = key(mode, c, srv, ld);
          const rate = samples.median(k, (s) => s.connPerSec);
          const srvCpu = samples.median(k, (s) => s.serverCpuMsPerConn);
          rows.push([
            `${LOADER_LABEL[ld]} → ${SERVER_LABEL[srv]}`,
            samples.count(k),
            fmt(rate, 0),
            ld === 'ours' ? ratio(rate, baseRate) : '–',
            ld === 'ours' && c === 'conc' ? (rate >= 2000 ? 'yes' : 'no') : '–',
            fmt(samples.median(k, (s) => s.clientCpuMsPerConn), 2),
            fmt(srvCpu, 2),
            ld === 'ours' ? ratio(srvCpu, baseSrv) : '–',
            fmt(samples.median(k, (s) => s.medianConnMs), 2),
          ]);
        }
      }
      printTable(['loader → server', 'runs ok', 'conn/s', '× gtlsserver (our client)', '≥ 2,000/s target', 'client CPU ms/conn', 'server CPU ms/conn', '×', 'median conn time ms'], rows);
    }
  }
  samples.printFailures();
}

runBench(main, values.role === 'client' ? clientChild : undefined, failChild);
