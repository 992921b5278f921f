import { createSocket, type Socket } from 'node:dgram';
import { type Observable, type Subscription, tap } from 'rxjs';

import type { ApplicationOverQuic } from '../../src/application/ApplicationOverQuic';
import type { InitialQuicConnection } from '../../src/connection/InitialQuicConnection';
import type { QuicConnection } from '../../src/connection/QuicConnection';
import { DefaultMetrics } from '../../src/metrics/DefaultMetrics';
import { napi } from '../../src/native/binding';
import { type ConnectOptions, connectWithConfig$ } from '../../src/router/connectWithConfig';
import { type ListenOptions, listen$ } from '../../src/router/listen';
import { ConnectionParams } from '../../src/settings/ConnectionParams';
import type { QuicSettings } from '../../src/settings/QuicSettings';
import type { SocketAddress } from '../../src/socket/Incoming';

/** A CA and a leaf certificate for localhost / 127.0.0.1 / ::1 signed by it, made fresh per call. */
export function testCertificates(): { ca: string; cert: string; key: string } {
  const ca = napi.generateCertificate({ isCa: true, commonName: 'rxjs-quiche test CA', subjectAltNames: [] });
  const leaf = napi.generateCertificate({ issuerCert: ca.cert, issuerKey: ca.key });
  return { ca: ca.cert, cert: leaf.cert, key: leaf.key };
}

/** Binds a UDP socket on loopback (port 0 unless given). */
export function bindUdp(type: 'udp4' | 'udp6' = 'udp4', port = 0): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(type);
    socket.once('error', reject);
    socket.bind(port, type === 'udp4' ? '127.0.0.1' : '::1', () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

/** Closes sockets, ignoring ones already closed. */
export function closeAll(...sockets: Socket[]): void {
  for (const s of sockets) {
    try {
      s.close();
    } catch {
      // already closed
    }
  }
}

/** Server and client parameters that trust each other, for raw QUIC (ALPN `echo`). */
export function loopbackParams(
  server: Partial<QuicSettings> = {},
  client: Partial<QuicSettings> = {},
  certs = testCertificates(),
): { server: ConnectionParams; client: ConnectionParams; certs: ReturnType<typeof testCertificates> } {
  return {
    server: ConnectionParams.newServer({ alpn: ['echo'], ...server }, { certChain: certs.cert, privateKey: certs.key }),
    client: ConnectionParams.newClient({ alpn: ['echo'], ...client }, undefined, {}, { trust: { ca: certs.ca } }),
    certs,
  };
}

/** Resolves after `ms` milliseconds of real time. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** How an Observable ended: completed (`ok`) or errored. */
export type Outcome = { readonly ok: true } | { readonly ok: false; readonly error: unknown };

/** An Observable subscribed by a spec: its first value, how it ended, and the subscription. */
export interface Watched<T> {
  /** The first value; rejects if the Observable ends without one. */
  readonly first: Promise<T>;
  /** Settles when the Observable completes or errors; never rejects. */
  readonly outcome: Promise<Outcome>;
  /** Whether it has ended (completed or errored). */
  readonly ended: () => boolean;
  readonly subscription: Subscription;
}

/** Subscribes to `source$` and records what it does. */
export function watch<T>(source$: Observable<T>): Watched<T> {
  let resolveFirst!: (v: T) => void;
  let rejectFirst!: (e: unknown) => void;
  let settle!: (o: Outcome) => void;
  let done = false;
  const first = new Promise<T>((resolve, reject) => {
    resolveFirst = resolve;
    rejectFirst = reject;
  });
  // A spec that never awaits `first` must not see an unhandled rejection.
  first.catch(() => undefined);
  const outcome = new Promise<Outcome>((resolve) => (settle = resolve));
  const subscription = source$.subscribe({
    next: (v) => resolveFirst(v),
    error: (error: unknown) => {
      done = true;
      rejectFirst(error);
      settle({ ok: false, error });
    },
    complete: () => {
      done = true;
      rejectFirst(new Error('completed without a value'));
      settle({ ok: true });
    },
  });
  return { first, outcome, ended: () => done, subscription };
}

/** `promise`, or a rejection naming `what` if it does not settle within `ms` milliseconds. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves once `predicate()` holds, polling every few ms; rejects after `ms`. */
export async function until(predicate: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(5);
  }
}

/** A connection a {@link LoopbackServer} accepted and started. */
export interface AcceptedConnection<A> {
  readonly iqc: InitialQuicConnection;
  readonly app: A;
  /** The connection's Observable (`iqc.run$(app)`), watched. */
  readonly conn: Watched<QuicConnection>;
}

/** A listener on a loopback socket that starts every connection with its own application. */
export interface LoopbackServer<A> {
  readonly socket: Socket;
  readonly address: SocketAddress;
  readonly metrics: DefaultMetrics;
  /** Every connection accepted so far, in order. */
  readonly accepted: AcceptedConnection<A>[];
  /** The listener's own Observable, watched (it must never error). */
  readonly listener: Watched<InitialQuicConnection>;
  /** Resolves with the `n`-th accepted connection (0-based). */
  connection(n: number, ms?: number): Promise<AcceptedConnection<A>>;
  /** Stops listening, closes every connection, and closes the socket. */
  close(): void;
}

/**
 * Listens on a new loopback socket and runs each accepted connection with `createApp(iqc)`
 * through `iqc.run$()`, keeping each connection's outcome (unlike `applicationOverQuic`, which
 * swallows it).
 */
export async function startServer<A extends ApplicationOverQuic>(
  params: ConnectionParams,
  createApp: (iqc: InitialQuicConnection) => A,
  options: Omit<ListenOptions, 'metrics'> & { metrics?: DefaultMetrics } = {},
): Promise<LoopbackServer<A>> {
  const socket = await bindUdp();
  const metrics = options.metrics ?? new DefaultMetrics();
  const accepted: AcceptedConnection<A>[] = [];
  const listener = watch(
    listen$(socket, params, { ...options, metrics }).pipe(
      tap((iqc) => {
        const app = createApp(iqc);
        accepted.push({ iqc, app, conn: watch(iqc.run$(app)) });
      }),
    ),
  );
  return {
    socket,
    address: socket.address(),
    metrics,
    accepted,
    listener,
    connection: async (n, ms = 3_000) => {
      await until(() => accepted.length > n, ms, `server connection #${n}`);
      return accepted[n]!;
    },
    close: () => {
      listener.subscription.unsubscribe();
      for (const a of accepted) a.conn.subscription.unsubscribe();
      closeAll(socket);
    },
  };
}

/** A client connection on its own loopback socket. */
export interface LoopbackClient<A> {
  readonly socket: Socket;
  readonly app: A;
  /** The connection's Observable (`connectWithConfig$`), watched. */
  readonly conn: Watched<QuicConnection>;
  readonly metrics: DefaultMetrics;
  /** Unsubscribes (closing the connection) and closes the socket. */
  close(): void;
}

/** Binds a loopback socket and dials `server` from it with `app`. */
export async function startClient<A extends ApplicationOverQuic>(
  server: SocketAddress,
  params: ConnectionParams,
  app: A,
  options: Omit<ConnectOptions, 'peer' | 'metrics'> & { metrics?: DefaultMetrics } = {},
): Promise<LoopbackClient<A>> {
  const socket = await bindUdp();
  const metrics = options.metrics ?? new DefaultMetrics();
  const conn = watch(connectWithConfig$(socket, 'localhost', params, app, { ...options, metrics, peer: server }));
  return {
    socket,
    app,
    conn,
    metrics,
    close: () => {
      conn.subscription.unsubscribe();
      closeAll(socket);
    },
  };
}
