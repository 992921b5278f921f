/**
 * HTTP/3 requests per second with small responses (issue 6), side by side with ngtcp2 (and
 * tokio-quiche's async_http3_server when it has been built), in two scenarios:
 *
 *   one:  one connection, up to 100 requests in flight (the server's initial_max_streams_bidi,
 *         100 for all servers), N requests in all;
 *   many: C connections at once (default 32), M requests on each, 100 in flight per connection.
 *
 * Servers: ours (serveHttp3 in a child process on the native socket, bindQuicSocket({ native:
 * 'auto' })), gtlsserver (ngtcp2 1.11, `GET /<n>`), tokio-quiche (`GET /stream-bytes/<n>`; skipped,
 * with the reason printed, when interop/.peers/bin/async_http3_server does not exist).
 * Loaders:
 * - gtlsclient: `gtlsclient -q -n N --exit-on-all-streams-close` (one connection, as many streams
 *   in flight as the server allows). For `many`, C gtlsclient processes run in parallel, one
 *   connection each. Its time is spawn to exit, so it includes process start and the handshake
 *   (a few ms; the default sizes keep that small against the run).
 * - our client: connect$ + controller.request() in a child process on the native socket, `inFlight`
 *   requests outstanding per connection, a new one as each completes; its time runs from the first
 *   request to the last response (connections are established first, not counted).
 *
 * Each repetition starts every server fresh (ours gets an unmeasured warm-up of 10,000 requests
 * from our client: V8 compiles the request path over the first few thousand, and a run of 20,000
 * would otherwise measure that compilation too) and runs every loader × scenario against it, the loaders' order alternating;
 * repetitions are interleaved across servers. Reported: median req/s over the repetitions, and
 * CPU µs per request for each end (utime + stime from /proc/<pid>/stat around the run for
 * servers and our client; /usr/bin/time for gtlsclient, summed over its processes).
 *
 *   npm run bench:h3-requests -- [--runs 5] [--requests 20000] [--conns 32] [--per-conn 1000]
 *       [--bytes 6] [--in-flight 100] [--servers ours,ngtcp2,tokio] [--loaders gtlsclient,ours]
 *       [--scenarios one,many]
 *
 * Not part of `npm test`. Needs /usr/bin/gtlsclient and /usr/sbin/gtlsserver (interop/install.sh).
 */
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

import { makeFixture, type Fixture } from './lib/certs';
import { openH3, type OpenConnection, runRequests } from './lib/our-client';
import { procCpuSec, spawnTs, stopChild, timedRun } from './lib/proc';
import { note, progress, progressDone, runBench } from './lib/progress';
import { ChildRpc, describeError, failChild, serveRpc } from './lib/rpc';
import { GTLSCLIENT, failureReason, peerVersions, SERVER_LABEL, type ServerHandle, type ServerKind, startServer, availableServers, skippedServers } from './lib/servers';
import { fmt, printTable, ratio, Samples } from './lib/stats';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    requests: { type: 'string', default: '20000' },
    conns: { type: 'string', default: '32' },
    'per-conn': { type: 'string', default: '1000' },
    bytes: { type: 'string', default: '6' },
    'in-flight': { type: 'string', default: '100' },
    servers: { type: 'string', default: 'ours,ngtcp2,tokio' },
    loaders: { type: 'string', default: 'gtlsclient,ours' },
    scenarios: { type: 'string', default: 'one,many' },
    role: { type: 'string' },
  },
});

const RUN_TIMEOUT_MS = 180_000;

// ---------------------------------------------------------------------------------------------
// Child: our load generator

interface LoadArgs {
  port: number;
  path: string;
  conns: number;
  perConn: number;
  inFlight: number;
  bytes: number;
}
interface LoadReply {
  ok: number;
  failed: number;
  firstError?: string;
  ms: number;
  handshakeMs: number;
}

async function clientChild(): Promise<void> {
  let current: OpenConnection[] = [];
  serveRpc({
    run: async (a: LoadArgs): Promise<LoadReply> => {
      const h0 = performance.now();
      const opened = await Promise.allSettled(Array.from({ length: a.conns }, () => openH3({ port: a.port, handshakeTimeoutMs: 10_000 })));
      current = opened.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const handshakeMs = performance.now() - h0;
      const refused = opened.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      try {
        if (refused) throw new Error(`${a.conns - current.length}/${a.conns} connections failed: ${describeError(refused.reason)}`);
        const t0 = performance.now();
        const results = await Promise.all(current.map((c) => runRequests(c.controller, a.path, a.perConn, a.inFlight, a.bytes)));
        const ms = performance.now() - t0;
        const firstError = results.find((r) => r.firstError !== undefined)?.firstError;
        return {
          ok: results.reduce((n, r) => n + r.ok, 0),
          failed: results.reduce((n, r) => n + r.failed, 0),
          ...(firstError !== undefined ? { firstError } : {}),
          ms,
          handshakeMs,
        };
      } finally {
        for (const c of current) c.close();
        current = [];
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Orchestrator

type Loader = 'gtlsclient' | 'ours';
type Scenario = 'one' | 'many';
const LOADER_LABEL: Record<Loader, string> = { gtlsclient: 'gtlsclient', ours: 'our client' };

interface Sample {
  reqPerSec: number;
  clientCpuUsPerReq: number;
  serverCpuUsPerReq: number;
}

interface Shape {
  conns: number;
  perConn: number;
}

async function runGtlsclient(server: ServerHandle, shape: Shape, bytes: number, fx: Fixture): Promise<{ ms: number; cpuSec: number }> {
  const url = `https://127.0.0.1:${server.port}${server.pathFor(bytes)}`;
  const t0 = performance.now();
  const runs = await Promise.all(
    Array.from({ length: shape.conns }, (_, i) =>
      timedRun(
        GTLSCLIENT,
        ['-q', '-n', String(shape.perConn), '--exit-on-all-streams-close', '--timeout=30s', '127.0.0.1', String(server.port), url],
        path.join(fx.dir, `time-${i}.txt`),
        RUN_TIMEOUT_MS,
      ),
    ),
  );
  const ms = performance.now() - t0;
  const bad = runs.filter((r) => r.code !== 0);
  if (bad.length) throw new Error(`${bad.length}/${runs.length} gtlsclient exited non-zero (${bad[0]!.code}): ${bad[0]!.stderrTail}`);
  return { ms, cpuSec: runs.reduce((n, r) => n + r.cpuSec, 0) };
}

async function runOurs(client: ChildRpc, server: ServerHandle, shape: Shape, bytes: number, inFlight: number): Promise<{ ms: number; cpuSec: number }> {
  const pid = client.child.pid!;
  const c0 = procCpuSec(pid);
  const r = await client.call<LoadReply>(
    'run',
    { port: server.port, path: server.pathFor(bytes), conns: shape.conns, perConn: shape.perConn, inFlight, bytes } satisfies LoadArgs,
    RUN_TIMEOUT_MS,
  );
  const cpuSec = procCpuSec(pid) - c0;
  const total = shape.conns * shape.perConn;
  if (r.failed > 0 || r.ok !== total) throw new Error(`our client: ${r.ok}/${total} ok, ${r.failed} failed${r.firstError ? `: ${r.firstError}` : ''}`);
  return { ms: r.ms, cpuSec };
}

async function main(): Promise<void> {
  const runs = Number(values.runs);
  const bytes = Number(values.bytes);
  const inFlight = Number(values['in-flight']);
  const shapes: Record<Scenario, Shape> = {
    one: { conns: 1, perConn: Number(values.requests) },
    many: { conns: Number(values.conns), perConn: Number(values['per-conn']) },
  };
  const scenarios = values.scenarios!.split(',') as Scenario[];
  const loaders = values.loaders!.split(',') as Loader[];
  const wanted = values.servers!.split(',') as ServerKind[];
  const servers = availableServers(wanted);
  if (loaders.includes('gtlsclient') && !fs.existsSync(GTLSCLIENT)) throw new Error(`missing ${GTLSCLIENT} (sudo interop/install.sh ngtcp2)`);

  const fx = makeFixture('h3req');
  const samples = new Samples<Sample>();
  const key = (sc: Scenario, srv: ServerKind, ld: Loader): string => `${sc} ${LOADER_LABEL[ld]} → ${SERVER_LABEL[srv]}`;
  const socketKinds = new Set<string>();
  let client: ChildRpc | undefined;
  let clientChildProc: ChildProcess | undefined;
  try {
    if (loaders.includes('ours')) {
      clientChildProc = spawnTs(__filename, ['--role', 'client']);
      client = new ChildRpc(clientChildProc, 'our client');
      await client.ready();
    }
    for (let i = 0; i < runs; i++) {
      for (const srvKind of servers) {
        progress(`run ${i + 1}/${runs}: starting ${SERVER_LABEL[srvKind]}`);
        let server: ServerHandle;
        try {
          server = await startServer(srvKind, fx);
        } catch (e) {
          for (const sc of scenarios) for (const ld of loaders) samples.fail(key(sc, srvKind, ld), `server start: ${describeError(e)}`);
          note(`run ${i + 1}: ${SERVER_LABEL[srvKind]} did not start: ${describeError(e)}`);
          continue;
        }
        if (server.socketKind) socketKinds.add(`server ${server.socketKind}`);
        try {
          if (srvKind === 'ours' && client) {
            // JIT warm-up of our server, not measured.
            await client.call('run', { port: server.port, path: server.pathFor(bytes), conns: 2, perConn: 5000, inFlight, bytes } satisfies LoadArgs, RUN_TIMEOUT_MS).catch(() => undefined);
          }
          const order = i % 2 === 0 ? loaders : [...loaders].reverse();
          for (const sc of scenarios) {
            for (const ld of order) {
              const k = key(sc, srvKind, ld);
              progress(`run ${i + 1}/${runs}: ${k}…`);
              const s0 = server.cpuSec();
              try {
                const shape = shapes[sc];
                const r = ld === 'gtlsclient' ? await runGtlsclient(server, shape, bytes, fx) : await runOurs(client!, server, shape, bytes, inFlight);
                const serverCpu = server.cpuSec() - s0;
                const total = shape.conns * shape.perConn;
                const s: Sample = { reqPerSec: total / (r.ms / 1000), clientCpuUsPerReq: (r.cpuSec / total) * 1e6, serverCpuUsPerReq: (serverCpu / total) * 1e6 };
                samples.add(k, s);
                note(`run ${i + 1}/${runs}: ${k}: ${fmt(s.reqPerSec, 0)} req/s`);
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
  } finally {
    progressDone();
    if (clientChildProc) await stopChild(clientChildProc);
    fx.cleanup();
  }

  console.log(`\nHTTP/3 requests/s, ${bytes}-byte responses, loopback, 2 shared cores; median of ${runs} interleaved repetitions (fresh servers each)`);
  console.log(`${peerVersions()}; our ends: ${[...socketKinds].join(', ') || 'n/a'}, client native 'auto'; ${inFlight} in flight per connection`);
  for (const s of skippedServers()) console.log(s);
  for (const sc of scenarios) {
    const shape = shapes[sc];
    console.log(
      sc === 'one'
        ? `\n(a) one connection, ${shape.perConn} requests, ≤ ${inFlight} streams in flight`
        : `\n(b) ${shape.conns} connections at once, ${shape.perConn} requests each (gtlsclient: ${shape.conns} processes in parallel, one connection each; our client: one process, ${shape.conns} connections)`,
    );
    const base = key(sc, 'ngtcp2', 'gtlsclient');
    const baseRps = samples.median(base, (s) => s.reqPerSec);
    const baseCli = samples.median(base, (s) => s.clientCpuUsPerReq);
    const baseSrv = samples.median(base, (s) => s.serverCpuUsPerReq);
    const rows: string[][] = [];
    for (const ld of loaders) {
      const sameLoaderNg = samples.median(key(sc, 'ngtcp2', ld), (s) => s.reqPerSec);
      for (const srv of servers) {
        const k = key(sc, srv, ld);
        const rps = samples.median(k, (s) => s.reqPerSec);
        const cli = samples.median(k, (s) => s.clientCpuUsPerReq);
        const svr = samples.median(k, (s) => s.serverCpuUsPerReq);
        const all = samples.list(k).map((s) => s.reqPerSec);
        rows.push([
          `${LOADER_LABEL[ld]} → ${SERVER_LABEL[srv]}`,
          samples.count(k),
          fmt(rps, 0),
          ratio(rps, baseRps),
          ratio(rps, sameLoaderNg),
          fmt(cli, 1),
          ratio(cli, baseCli),
          fmt(svr, 1),
          ratio(svr, baseSrv),
          all.length ? `${fmt(Math.min(...all), 0)}–${fmt(Math.max(...all), 0)}` : '–',
        ]);
      }
    }
    printTable(['loader → server', 'runs ok', 'req/s', '× ngtcp2 pair', '× gtlsserver, same loader', 'client CPU µs/req', '×', 'server CPU µs/req', '×', 'min–max req/s'], rows);
  }
  console.log('\n"× ngtcp2 pair" compares with gtlsclient → gtlsserver; "× gtlsserver, same loader" is the DESIGN.md target (≥ 1.00 for our server).');
  samples.printFailures();
}

runBench(main, values.role === 'client' ? clientChild : undefined, failChild);
