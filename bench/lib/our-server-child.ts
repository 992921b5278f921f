/**
 * Our HTTP/3 server for the benchmarks, run in its own process by `startServer('ours', …)`:
 * `listen$` + `serveHttp3` on the native socket (`bindQuicSocket({ native: 'auto' })`).
 *
 * Routes (the same bodies as ngtcp2's gtlsserver `/N` and tokio-quiche's `/stream-bytes/N`):
 * - `/<n>` and `/stream-bytes/<n>`: n bytes of 'W'. A request with a body (POST) is read to its
 *   end first, then answered, as gtlsserver does without `--early-response`.
 * - anything else: 404.
 *
 * Answers RPC calls: `stats` (connections, requests, errors, memory, CPU), `gc` (a full
 * collection first when run with --expose-gc, then `stats`).
 *
 * argv[2]: JSON of {@link OurServerOptions}.
 */
import * as fs from 'node:fs';

import { lastValueFrom, reduce } from 'rxjs';

import { describeError, failChild, serveRpc } from './rpc';

export interface OurServerOptions {
  cert: string;
  key: string;
  /** Send a Retry to every new client (address validation). Default false. */
  retry?: boolean;
  /** ms; default 30 000. */
  idleTimeoutMs?: number;
  /** initial_max_streams_bidi; default 100 (our default). */
  maxStreamsBidi?: number;
  /** listen backlog; default ours (1024). */
  listenBacklog?: number;
  native?: 'auto' | 'never' | 'require';
}

export interface OurServerStats {
  accepted: number;
  open: number;
  closedOk: number;
  closedFailed: number;
  /** The first few connection errors, with counts. */
  errors: Record<string, number>;
  requests: number;
  responseErrors: number;
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  cpuSec: number;
  metrics: unknown;
}

const PIECE = 64 * 1024;
const W = Buffer.alloc(PIECE, 0x57);

function* bytes(n: number): Generator<Uint8Array> {
  for (let left = n; left > 0; left -= PIECE) yield W.subarray(0, Math.min(left, PIECE));
}

async function main(): Promise<void> {
  const opts = JSON.parse(process.argv[2]!) as OurServerOptions;
  const { ConnectionParams, DefaultMetrics, bindQuicSocket, listen$, serveHttp3 } = await import('../../src');
  const metrics = new DefaultMetrics();
  const socket = await bindQuicSocket({ address: '127.0.0.1', port: 0, native: opts.native ?? 'auto', metrics });
  const params = ConnectionParams.newServer(
    {
      disableClientIpValidation: !opts.retry,
      maxIdleTimeout: opts.idleTimeoutMs ?? 30_000,
      ...(opts.maxStreamsBidi !== undefined ? { initialMaxStreamsBidi: opts.maxStreamsBidi } : {}),
      ...(opts.listenBacklog !== undefined ? { listenBacklog: opts.listenBacklog } : {}),
    },
    { certChain: fs.readFileSync(opts.cert, 'utf8'), privateKey: fs.readFileSync(opts.key, 'utf8') },
  );
  const s: Omit<OurServerStats, 'rss' | 'heapUsed' | 'external' | 'arrayBuffers' | 'cpuSec' | 'metrics'> = {
    accepted: 0,
    open: 0,
    closedOk: 0,
    closedFailed: 0,
    errors: {},
    requests: 0,
    responseErrors: 0,
  };
  const noteError = (what: string): void => {
    if (s.errors[what] !== undefined || Object.keys(s.errors).length < 8) s.errors[what] = (s.errors[what] ?? 0) + 1;
  };
  listen$(socket, params, { metrics })
    .pipe(
      serveHttp3(async (req) => {
        s.requests++;
        const m = /^\/(?:stream-bytes\/)?(\d+)$/.exec(req.path.split('?')[0] ?? '');
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          await lastValueFrom(req.body$.pipe(reduce((n, c) => n + c.length, 0)), { defaultValue: 0 });
        }
        if (!m) return { status: 404 };
        const n = Number(m[1]);
        return { status: 200, headers: { 'content-length': n }, body: n <= PIECE ? W.subarray(0, n) : bytes(n) };
      }),
    )
    .subscribe({
      next: ({ connection, controller }) => {
        s.accepted++;
        s.open++;
        controller.event$.subscribe((e) => {
          if (e.type === 'responseError') {
            s.responseErrors++;
            noteError(`responseError: ${describeError(e.error)}`);
          }
        });
        void connection.result.then((r) => {
          s.open--;
          if (r.ok) s.closedOk++;
          else {
            s.closedFailed++;
            noteError(describeError(r.error));
          }
        });
      },
      error: (e: unknown) => {
        noteError(`listen$ failed: ${describeError(e)}`);
        console.error('our server: listen$ failed', e);
      },
    });
  const stats = (): OurServerStats => {
    const mem = process.memoryUsage();
    const c = process.cpuUsage();
    return {
      ...s,
      errors: { ...s.errors },
      rss: mem.rss,
      heapUsed: mem.heapUsed,
      external: mem.external,
      arrayBuffers: mem.arrayBuffers,
      cpuSec: (c.user + c.system) / 1e6,
      metrics: metrics.snapshot(),
    };
  };
  serveRpc(
    {
      stats,
      gc: async () => {
        const gc = (globalThis as { gc?: () => void }).gc;
        if (gc) {
          gc();
          await new Promise((r) => setImmediate(r));
          gc();
        }
        return stats();
      },
    },
    { port: socket.localAddress.port, kind: socket.kind },
  );
}

main().catch(failChild);
