/**
 * Memory (issue 6), two measures:
 *
 * 1. RSS per idle HTTP/3 connection. A fresh server is started (ours: serveHttp3 in a child process
 *    on the native socket, run with --expose-gc; gtlsserver; tokio-quiche's async_http3_server when
 *    interop/.peers/bin has it); one connection is opened and closed as warm-up; then its RSS is
 *    read (/proc/<pid>/status VmRSS; ours after a full GC) as the base. Our clients — `--procs`
 *    fresh child processes per ramp (default 4), each connection on its own node:dgram socket (the native socket
 *    has a receive thread per socket, too many at 10k) — then ramp to each `--steps` total (default
 *    1000,5000,10000): every new connection does a full handshake and one `GET /6`, then stays open
 *    and idle (idle timeout 10 minutes on our server, gtlsserver and our client). tokio-quiche's
 *    example has a fixed 56 s idle timeout, shorter than a 10k ramp here, so every connection also
 *    sends one `GET /6` every `--keepalive-ms` (default 20 s, jittered; 0 = never), on every server
 *    alike: ~500 tiny requests/s at 10k connections. At each step, after `--settle` ms, the server's
 *    RSS is read again: per connection = (RSS − base) / connections. Our clients' RSS per connection
 *    is reported too. A ramp that cannot open its connections within `--step-timeout` stops there
 *    and the table says how far it got. Repetitions are interleaved across servers. Default 3
 *    repetitions, not 5: a 10k ramp takes about 2 minutes per server here (our client spends ~5 ms
 *    of CPU per handshake), and RSS per connection varied by ~1% between runs; `--runs 5` for more.
 *
 * 2. RSS over stream open/close cycles on one connection: our client sends `--cycles` requests
 *    (default 1,000,000; `GET /6`, 100 in flight, each a new bidirectional stream opened and closed)
 *    to our server; every `--every` (100,000) completed requests the server's and the client's RSS
 *    are sampled (no forced GC; the first sample, after 100k cycles, ends the warm-up). RSS swings
 *    with V8's collections, so first→last alone says little: the drift reported is the
 *    least-squares trend over the samples (its rise across the run as % of the mean), with
 *    first→last and the band (max − min) beside it. Target: trend within ±5%. Runs once per server in
 *    `--cycle-servers` (default ours; add ngtcp2 to compare), after the ramps.
 *
 * DESIGN.md target: per idle connection ≤ 1.5 × tokio-quiche's; RSS flat over 1M stream cycles.
 *
 *   npm run bench:memory -- [--runs 3] [--steps 1000,5000,10000] [--procs 4] [--servers ours,ngtcp2,tokio]
 *       [--cycles 1000000] [--every 100000] [--cycle-servers ours] [--keepalive-ms 20000] [--skip-idle] [--skip-cycles]
 *
 * Not part of `npm test`. Needs /usr/sbin/gtlsserver (interop/install.sh).
 */
import type { ChildProcess } from 'node:child_process';
import { parseArgs } from 'node:util';

import { makeFixture } from './lib/certs';
import { openH3, type OpenConnection, request, runRequests } from './lib/our-client';
import { sleep, spawnTs, stopChild } from './lib/proc';
import { note, progress, progressDone, runBench } from './lib/progress';
import { ChildRpc, describeError, failChild, serveRpc } from './lib/rpc';
import { failureReason, ourServerErrors, peerVersions, SERVER_LABEL, type ServerHandle, type ServerKind, startServer, availableServers, skippedServers } from './lib/servers';
import { fmt, median, mib, printTable, ratio } from './lib/stats';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    steps: { type: 'string', default: '1000,5000,10000' },
    procs: { type: 'string', default: '4' },
    servers: { type: 'string', default: 'ours,ngtcp2,tokio' },
    settle: { type: 'string', default: '3000' },
    'step-timeout': { type: 'string', default: '180000' },
    cycles: { type: 'string', default: '1000000' },
    every: { type: 'string', default: '100000' },
    'cycle-servers': { type: 'string', default: 'ours' },
    'skip-idle': { type: 'boolean', default: false },
    'keepalive-ms': { type: 'string', default: '20000' },
    'skip-cycles': { type: 'boolean', default: false },
    role: { type: 'string' },
  },
});

const IDLE_TIMEOUT_MS = 600_000;
const SMALL = 6;

// ---------------------------------------------------------------------------------------------
// Child: our clients

interface OpenArgs {
  port: number;
  path: string;
  count: number;
  concurrency: number;
  /** A GET on each connection this often (0: never), to outlast a server's fixed idle timeout. */
  keepaliveMs: number;
}
interface OpenReply {
  alive: number;
  failed: number;
  firstError?: string;
  rss: number;
}
interface CycleArgs {
  port: number;
  path: string;
  total: number;
  inFlight: number;
  every: number;
}

async function clientChild(): Promise<void> {
  // Connections still open; one that ends leaves the set (closeAll empties it first).
  const conns = new Set<OpenConnection>();
  let endError: string | undefined;
  serveRpc({
    open: async (a: OpenArgs): Promise<OpenReply> => {
      let started = 0;
      let failed = 0;
      let firstError: string | undefined;
      const worker = async (): Promise<void> => {
        while (started < a.count) {
          started++;
          try {
            const c = await openH3({ port: a.port, native: 'never', handshakeTimeoutMs: 20_000, settings: { maxIdleTimeout: IDLE_TIMEOUT_MS } });
            conns.add(c);
            c.done.then(
              () => conns.delete(c),
              (e: unknown) => {
                if (conns.delete(c)) endError ??= describeError(e);
              },
            );
            const r = await request(c.controller, a.path);
            if (r.status !== 200 || r.bytes !== SMALL) throw new Error(`status ${r.status}, ${r.bytes} bytes`);
            if (a.keepaliveMs > 0) {
              // Jittered, so that 10k connections do not all wake at once.
              const timer = setInterval(() => void request(c.controller, a.path).catch(() => undefined), a.keepaliveMs * (0.75 + Math.random() / 2));
              const clear = (): void => clearInterval(timer);
              c.done.then(clear, clear);
            }
          } catch (e) {
            failed++;
            firstError ??= describeError(e);
            if (failed > 50 && failed > started / 2) return;
          }
        }
      };
      await Promise.all(Array.from({ length: a.concurrency }, worker));
      const err = firstError ?? endError;
      return { alive: conns.size, failed, ...(err !== undefined ? { firstError: err } : {}), rss: process.memoryUsage().rss };
    },
    alive: () => {
      (globalThis as { gc?: () => void }).gc?.();
      return { alive: conns.size, ...(endError !== undefined ? { firstError: endError } : {}), rss: process.memoryUsage().rss };
    },
    closeAll: async () => {
      const all = [...conns];
      conns.clear();
      for (const c of all) c.close();
      endError = undefined;
      await sleep(200);
      return {};
    },
    cycles: async (a: CycleArgs) => {
      const c = await openH3({ port: a.port, handshakeTimeoutMs: 10_000 });
      try {
        return await runRequests(c.controller, a.path, a.total, a.inFlight, SMALL, (n) => {
          if (n % a.every === 0) process.send!({ mark: n, clientRss: process.memoryUsage().rss });
        });
      } finally {
        c.close();
      }
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Orchestrator

interface StepSample {
  target: number;
  reached: number;
  serverRss: number;
  serverPerConn: number;
  clientPerConn: number;
  ourHeapUsed?: number;
}
interface RampResult {
  base: number;
  steps: StepSample[];
  stopped?: string;
}

async function ramp(server: ServerHandle, clients: ChildRpc[], steps: number[]): Promise<RampResult> {
  // Warm-up: one connection, opened and closed.
  await clients[0]!.call('open', { port: server.port, path: server.pathFor(SMALL), count: 1, concurrency: 1, keepaliveMs: 0 } satisfies OpenArgs, 30_000);
  await clients[0]!.call('closeAll');
  await sleep(1000);
  if (server.gc) await server.gc();
  await sleep(500);
  const base = server.rssBytes();
  const clientBase = await Promise.all(clients.map((c) => c.call<{ rss: number }>('alive').then((r) => r.rss)));
  const out: RampResult = { base, steps: [] };
  let have = 0;
  for (const target of steps) {
    const need = target - have;
    if (need <= 0) continue;
    progress(`${SERVER_LABEL[server.kind]}: ramping to ${target} idle connections…`);
    const share = clients.map((_, i) => Math.floor(need / clients.length) + (i < need % clients.length ? 1 : 0));
    let replies: OpenReply[];
    try {
      replies = await Promise.all(
        clients.map((c, i) => c.call<OpenReply>('open', { port: server.port, path: server.pathFor(SMALL), count: share[i]!, concurrency: 16, keepaliveMs: Number(values['keepalive-ms']) } satisfies OpenArgs, Number(values['step-timeout']))),
      );
    } catch (e) {
      out.stopped = `ramp to ${target}: ${describeError(e)}`;
      break;
    }
    await sleep(Number(values.settle));
    const alive = await Promise.all(clients.map((c) => c.call<{ alive: number; rss: number; firstError?: string }>('alive')));
    const reached = alive.reduce((n, r) => n + r.alive, 0);
    let ourHeapUsed: number | undefined;
    if (server.gc) ourHeapUsed = (await server.gc()).heapUsed;
    const serverRss = server.rssBytes();
    const clientGrowth = alive.reduce((n, r, i) => n + r.rss - clientBase[i]!, 0);
    out.steps.push({
      target,
      reached,
      serverRss,
      serverPerConn: (serverRss - base) / reached,
      clientPerConn: clientGrowth / reached,
      ...(ourHeapUsed !== undefined ? { ourHeapUsed } : {}),
    });
    have = reached;
    const failed = replies.reduce((n, r) => n + r.failed, 0);
    const why = replies.find((r) => r.firstError)?.firstError ?? alive.find((r) => r.firstError)?.firstError;
    if (reached < target) {
      out.stopped = `reached ${reached}/${target} (${failed} failed to open${why ? `: ${why}` : ''})`;
      break;
    }
  }
  await Promise.all(clients.map((c) => c.call('closeAll').catch(() => undefined)));
  return out;
}

/**
 * RSS drift over the samples (the first, after the warm-up interval, included): the least-squares
 * line's rise from the first to the last sample as % of the mean ("trend": what a leak shows), the
 * plain first→last change, and the spread (max − min) as % of the mean ("band": GC's sawtooth).
 */
function driftOf(xs: number[]): { trendPct: number; firstLastPct: number; bandPct: number } | undefined {
  if (xs.length < 2) return undefined;
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const mx = (n - 1) / 2;
  let num = 0;
  let den = 0;
  xs.forEach((y, i) => {
    num += (i - mx) * (y - mean);
    den += (i - mx) ** 2;
  });
  const slope = num / den;
  return {
    trendPct: ((slope * (n - 1)) / mean) * 100,
    firstLastPct: ((xs[n - 1]! - xs[0]!) / xs[0]!) * 100,
    bandPct: ((Math.max(...xs) - Math.min(...xs)) / mean) * 100,
  };
}

async function main(): Promise<void> {
  const runs = Number(values.runs);
  const steps = values.steps!.split(',').map(Number);
  const procs = Number(values.procs);
  const wanted = values.servers!.split(',') as ServerKind[];
  const servers = availableServers(wanted);
  const cycleServers = availableServers(values['cycle-servers']!.split(',') as ServerKind[]);

  const fx = makeFixture('memory');
  const results = new Map<ServerKind, RampResult[]>(servers.map((s) => [s, []]));
  const failures: string[] = [];
  const cycleResults: { server: ServerKind; marks: { n: number; serverRss: number; clientRss: number }[]; rate: number; error?: string; ourHeapUsedAfter?: number }[] = [];
  const procsList: ChildProcess[] = [];
  // Fresh client processes for each ramp and for each cycle run, so that a client's RSS growth is
  // not hidden by memory an earlier ramp left it holding.
  const spawnClients = async (n: number): Promise<ChildRpc[]> => {
    const list: ChildRpc[] = [];
    for (let i = 0; i < n; i++) {
      const p = spawnTs(__filename, ['--role', 'client'], ['--expose-gc']);
      procsList.push(p);
      list.push(new ChildRpc(p, `our client ${i + 1}`));
    }
    await Promise.all(list.map((c) => c.ready()));
    return list;
  };
  const stopClients = async (list: ChildRpc[]): Promise<void> => {
    await Promise.all(list.map((c) => stopChild(c.child)));
  };
  try {
    if (!values['skip-idle']) {
      for (let i = 0; i < runs; i++) {
        for (const kind of servers) {
          progress(`run ${i + 1}/${runs}: ${SERVER_LABEL[kind]}`);
          let server: ServerHandle | undefined;
          let clients: ChildRpc[] = [];
          try {
            clients = await spawnClients(procs);
            server = await startServer(kind, fx, { idleTimeoutMs: IDLE_TIMEOUT_MS, exposeGc: true, retry: false });
            const r = await ramp(server, clients, steps);
            if (r.stopped) r.stopped += await ourServerErrors(server).then((x) => (x ? ` [server: ${x}]` : ''));
            results.get(kind)!.push(r);
            const last = r.steps[r.steps.length - 1];
            note(
              `run ${i + 1}/${runs}: ${SERVER_LABEL[kind]}: ${last ? `${last.reached} connections, ${fmt(last.serverPerConn / 1024, 1)} KiB each (server), ${fmt(last.clientPerConn / 1024, 1)} KiB (our client)` : 'no step reached'}${r.stopped ? ` — stopped: ${r.stopped}` : ''}`,
            );
          } catch (e) {
            failures.push(`run ${i + 1} ${SERVER_LABEL[kind]}: ${describeError(e)}`);
            note(`run ${i + 1}/${runs}: ${SERVER_LABEL[kind]}: FAILED ${describeError(e)}`);
          } finally {
            await stopClients(clients);
            await server?.stop();
          }
        }
      }
    }

    if (!values['skip-cycles']) {
      const total = Number(values.cycles);
      const every = Number(values.every);
      for (const kind of cycleServers) {
        let server: ServerHandle | undefined;
        const marks: { n: number; serverRss: number; clientRss: number }[] = [];
        const client = (await spawnClients(1))[0]!;
        const onMark = (m: unknown): void => {
          const x = m as { mark?: number; clientRss?: number };
          if (typeof x?.mark !== 'number' || !server) return;
          marks.push({ n: x.mark, serverRss: server.rssBytes(), clientRss: x.clientRss! });
          progress(`${SERVER_LABEL[kind]}: ${x.mark.toLocaleString('en-US')}/${total.toLocaleString('en-US')} stream cycles, server RSS ${mib(marks[marks.length - 1]!.serverRss)} MiB`);
        };
        client.child.on('message', onMark);
        try {
          server = await startServer(kind, fx, { exposeGc: true });
          progress(`${SERVER_LABEL[kind]}: stream cycles…`);
          const t0 = performance.now();
          const r = await client.call<{ ok: number; failed: number; firstError?: string; ms: number }>(
            'cycles',
            { port: server.port, path: server.pathFor(SMALL), total, inFlight: 100, every } satisfies CycleArgs,
            Math.max(600_000, total * 2),
          );
          const rate = r.ok / ((performance.now() - t0) / 1000);
          const after = server.gc ? (await server.gc()).heapUsed : undefined;
          cycleResults.push({
            server: kind,
            marks,
            rate,
            ...(r.failed ? { error: `${r.failed} failed: ${r.firstError}` } : {}),
            ...(after !== undefined ? { ourHeapUsedAfter: after } : {}),
          });
        } catch (e) {
          const why = await failureReason(e, server);
          cycleResults.push({ server: kind, marks, rate: NaN, error: why });
          note(`${SERVER_LABEL[kind]} stream cycles FAILED: ${why}`);
        } finally {
          client.child.off('message', onMark);
          await stopChild(client.child);
          await server?.stop();
        }
      }
    }
  } finally {
    progressDone();
    await Promise.all(procsList.map((p) => stopChild(p)));
    fx.cleanup();
  }

  console.log(`\nMemory, loopback; ${peerVersions()}; ${procs} client processes, one node:dgram socket per client connection`);
  for (const s of skippedServers()) console.log(s);
  if (!values['skip-idle']) {
    console.log(`\n1. RSS per idle HTTP/3 connection (server RSS − its RSS after a warm-up connection, ÷ connections); median of ${runs} interleaved repetitions, fresh servers`);
    const rows: string[][] = [];
    const perConnAt = (kind: ServerKind, target: number, f: (s: StepSample) => number): number =>
      median((results.get(kind) ?? []).flatMap((r) => r.steps.filter((s) => s.target === target && s.reached > 0).map(f)));
    for (const target of steps) {
      for (const kind of servers) {
        const rs = results.get(kind)!;
        const at = rs.flatMap((r) => r.steps.filter((s) => s.target === target));
        const per = perConnAt(kind, target, (s) => s.serverPerConn);
        const ng = perConnAt('ngtcp2', target, (s) => s.serverPerConn);
        const tq = servers.includes('tokio') ? perConnAt('tokio', target, (s) => s.serverPerConn) : NaN;
        rows.push([
          String(target),
          SERVER_LABEL[kind],
          `${at.length}/${rs.length}`,
          fmt(median(at.map((s) => s.reached)), 0),
          fmt(median(rs.map((r) => r.base)) / 1024 / 1024, 1),
          fmt(median(at.map((s) => s.serverRss)) / 1024 / 1024, 1),
          fmt(per / 1024, 1),
          ratio(per, ng),
          ratio(per, tq),
          kind === 'ours' ? fmt(perConnAt(kind, target, (s) => s.ourHeapUsed ?? NaN) / 1024 / 1024, 1) : '–',
          fmt(perConnAt(kind, target, (s) => s.clientPerConn) / 1024, 1),
        ]);
      }
    }
    printTable(
      ['connections', 'server', 'runs reaching it', 'alive', 'base RSS MiB', 'RSS MiB', 'KiB / connection', '× gtlsserver', '× tokio-quiche', 'our heapUsed MiB (after GC)', 'our client KiB / conn'],
      rows,
    );
    for (const [kind, rs] of results) {
      const stops = rs.map((r) => r.stopped).filter((x): x is string => x !== undefined);
      if (stops.length) console.log(`${SERVER_LABEL[kind]} ramps stopped early: ${stops.join('; ')}`);
    }
    if (!servers.includes('tokio')) console.log('The DESIGN.md target is relative to tokio-quiche (≤ 1.5×), which was not in this run.');
  }
  if (!values['skip-cycles']) {
    console.log(`\n2. RSS over ${Number(values.cycles).toLocaleString('en-US')} stream open/close cycles on one connection (GET /6, 100 in flight), sampled every ${Number(values.every).toLocaleString('en-US')}; one run per server`);
    for (const c of cycleResults) {
      const m = c.marks;
      if (m.length) {
        printTable(
          ['cycles', ...m.map((x) => x.n.toLocaleString('en-US'))],
          [
            [`${SERVER_LABEL[c.server]} RSS MiB`, ...m.map((x) => mib(x.serverRss))],
            ['our client RSS MiB', ...m.map((x) => mib(x.clientRss))],
          ],
        );
      }
      const drift = (f: (x: { serverRss: number; clientRss: number }) => number): string => {
        const d = driftOf(m.map(f));
        return d ? `trend ${d.trendPct >= 0 ? '+' : ''}${d.trendPct.toFixed(1)}%, first→last ${d.firstLastPct >= 0 ? '+' : ''}${d.firstLastPct.toFixed(1)}%, band ${d.bandPct.toFixed(1)}%` : '–';
      };
      const serverDrift = driftOf(m.map((x) => x.serverRss));
      console.log(
        `${SERVER_LABEL[c.server]}: ${fmt(c.rate, 0)} cycles/s; server RSS after warm-up: ${drift((x) => x.serverRss)}${serverDrift ? ` (target: trend within ±5%: ${Math.abs(serverDrift.trendPct) <= 5 ? 'met' : 'missed'})` : ''}; our client: ${drift((x) => x.clientRss)}${c.ourHeapUsedAfter !== undefined ? `; server heapUsed after a full GC at the end ${mib(c.ourHeapUsedAfter)} MiB` : ''}${c.error ? `; FAILED: ${c.error}` : ''}`,
      );
    }
  }
  for (const f of failures) console.log(`FAILED ${f}`);
}

runBench(main, values.role === 'client' ? clientChild : undefined, failChild);
