/**
 * Our HTTP/3 client side, for use inside bench children: open a connection with connect$ (the
 * handle resolves once established), send requests as promises, run N requests with a fixed
 * number in flight.
 */
import type { ClosableQuicSocket, ClientH3Controller, ConnectHttp3Options, Http3Settings, QuicSettings } from '../../src';

type Lib = typeof import('../../src');
type Rx = typeof import('rxjs');

let lib: Lib | undefined;
let rx: Rx | undefined;
async function load(): Promise<{ lib: Lib; rx: Rx }> {
  lib ??= await import('../../src');
  rx ??= await import('rxjs');
  return { lib, rx };
}

export interface OpenOptions {
  port: number;
  /** 'auto' = the native socket when it binds; 'never' = node:dgram. */
  native?: 'auto' | 'never' | 'require';
  /** Reuse this socket instead of binding one (one connection at a time on it). */
  socket?: ClosableQuicSocket;
  settings?: Partial<QuicSettings>;
  http3?: Partial<Http3Settings>;
  handshakeTimeoutMs?: number;
}

export interface OpenConnection {
  controller: ClientH3Controller;
  socket: ClosableQuicSocket;
  /** Settles when the connection ends: resolves on a clean close, rejects with its error. */
  done: Promise<void>;
  /** Closes the connection (CONNECTION_CLOSE with H3_NO_ERROR); closes the socket if we bound it. */
  close(): void;
}

/** Opens one HTTP/3 connection to 127.0.0.1:port; resolves once the handshake is done. */
export async function openH3(o: OpenOptions): Promise<OpenConnection> {
  const { lib } = await load();
  const socket = o.socket ?? (await lib.bindQuicSocket({ address: '127.0.0.1', port: 0, native: o.native ?? 'auto' }));
  const ownSocket = o.socket === undefined;
  const options: ConnectHttp3Options = {
    peer: { address: '127.0.0.1', port: o.port },
    insecureSkipVerify: true,
    settings: { ...(o.handshakeTimeoutMs !== undefined ? { handshakeTimeout: o.handshakeTimeoutMs } : {}), ...o.settings },
    ...(o.http3 ? { http3: o.http3 } : {}),
  };
  return new Promise<OpenConnection>((resolve, reject) => {
    let established = false;
    let resolveDone!: () => void;
    let rejectDone!: (e: unknown) => void;
    const done = new Promise<void>((res, rej) => {
      resolveDone = res;
      rejectDone = rej;
    });
    done.catch(() => undefined);
    const sub = lib.connect$(socket, 'localhost', options).subscribe({
      next: ({ controller }) => {
        established = true;
        resolve({
          controller,
          socket,
          done,
          close: () => {
            sub.unsubscribe();
            resolveDone();
            if (ownSocket) setTimeout(() => socket.close(), 20);
          },
        });
      },
      error: (e: unknown) => {
        rejectDone(e);
        if (!established) {
          if (ownSocket) socket.close();
          reject(e);
        }
      },
      complete: () => {
        resolveDone();
        if (!established) {
          if (ownSocket) socket.close();
          reject(new Error('connection closed before it was established'));
        }
      },
    });
  });
}

export interface Reply {
  status: number;
  bytes: number;
}

/** One request; resolves when its whole response body has arrived. */
export async function request(controller: ClientH3Controller, path: string, body?: Uint8Array): Promise<Reply> {
  const { rx } = await load();
  return rx.lastValueFrom(
    controller.request({ ':method': body ? 'POST' : 'GET', ':path': path, ...(body ? { 'content-length': body.length } : {}) }, body).pipe(
      rx.switchMap((res) => res.body$.pipe(rx.reduce((n, c) => n + c.length, 0), rx.map((bytes) => ({ status: res.status, bytes })))),
    ),
  );
}

export interface LoadResult {
  ok: number;
  failed: number;
  firstError?: string;
  /** Wall ms from the first request to the last response. */
  ms: number;
}

/**
 * `total` requests on one connection, `inFlight` at a time (a new one as each completes); a
 * response other than `expectStatus` with `expectBytes` bytes counts as failed.
 */
export async function runRequests(
  controller: ClientH3Controller,
  path: string,
  total: number,
  inFlight: number,
  expectBytes: number,
  onDone?: (n: number) => void,
): Promise<LoadResult> {
  let started = 0;
  let ok = 0;
  let failed = 0;
  let firstError: string | undefined;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (started < total) {
      started++;
      try {
        const r = await request(controller, path);
        if (r.status === 200 && r.bytes === expectBytes) ok++;
        else {
          failed++;
          firstError ??= `status ${r.status}, ${r.bytes} bytes`;
        }
      } catch (e) {
        failed++;
        firstError ??= e instanceof Error ? `${e.name}: ${e.message}` : String(e);
        // A dead connection fails every request at once: stop this worker.
        if (failed > 100 && ok === 0) return;
      }
      onDone?.(ok + failed);
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, total) }, worker));
  return { ok, failed, ...(firstError !== undefined ? { firstError } : {}), ms: performance.now() - t0 };
}
