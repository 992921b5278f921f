/**
 * HTTP/3 over loopback sockets for integration specs: a server running `serveHttp3` (or the
 * lower-level driver) and clients made with `connect$`, with everything closed in `close()`.
 */
import type { Socket } from 'node:dgram';
import { firstValueFrom, lastValueFrom, type Observable, type Subscription, toArray } from 'rxjs';

import type { InitialQuicConnection } from '../../src/connection/InitialQuicConnection';
import { DefaultMetrics } from '../../src/metrics/DefaultMetrics';
import { listen$ } from '../../src/router/listen';
import { ConnectionParams } from '../../src/settings/ConnectionParams';
import type { Http3Settings } from '../../src/settings/Http3Settings';
import type { QuicSettings } from '../../src/settings/QuicSettings';
import type { ClientH3Connection } from '../../src/http3/ClientH3Connection';
import { connect$, type ConnectHttp3Options } from '../../src/http3/connect';
import type { H3Event } from '../../src/http3/H3Event';
import type { H3Response } from '../../src/http3/H3Response';
import { type H3Handler, serveHttp3 } from '../../src/http3/serveHttp3';
import type { ServerH3Connection } from '../../src/http3/ServerH3Connection';
import { bindUdp, closeAll, testCertificates } from './loopback';

/** Per test file: generating certificates costs a few milliseconds. */
let certs: ReturnType<typeof testCertificates> | undefined;

/** The test CA and a leaf for localhost / 127.0.0.1 signed by it. */
export function h3Certificates(): ReturnType<typeof testCertificates> {
  certs ??= testCertificates();
  return certs;
}

/** Server parameters for HTTP/3 (ALPN h3) with the test leaf. */
export function h3ServerParams(settings: Partial<QuicSettings> = {}): ConnectionParams {
  const c = h3Certificates();
  return ConnectionParams.newServer({ alpn: ['h3'], ...settings }, { certChain: c.cert, privateKey: c.key });
}

/** A server connection as the spec sees it: its handle and controller, and all its events. */
export interface ServedConnection {
  readonly served: ServerH3Connection;
  readonly events: H3Event[];
}

/** An HTTP/3 server on a loopback socket. */
export interface H3TestServer {
  readonly socket: Socket;
  readonly port: number;
  readonly metrics: DefaultMetrics;
  /** Every connection served so far, in order. */
  readonly connections: ServedConnection[];
  /** Stops the listener (closing every connection) and closes the socket. */
  close(): void;
  /** Stops the listener, closing every connection, but leaves the socket open so the CONNECTION_CLOSE goes out. */
  stop(): void;
}

/**
 * Starts `serveHttp3(handler)` on a new loopback socket.
 *
 * @param handler Answers each request.
 * @param http3 HTTP/3 settings.
 * @param quic QUIC settings of the server.
 */
export async function startH3Server(
  handler: H3Handler,
  http3: Partial<Http3Settings> = {},
  quic: Partial<QuicSettings> = {},
): Promise<H3TestServer> {
  const socket = await bindUdp();
  const metrics = new DefaultMetrics();
  const connections: ServedConnection[] = [];
  const eventSubs: Subscription[] = [];
  const subscription = listen$(socket, h3ServerParams(quic), { metrics })
    .pipe(serveHttp3(handler, { http3 }))
    .subscribe((served) => {
      const events: H3Event[] = [];
      eventSubs.push(served.controller.event$.subscribe((e) => events.push(e)));
      connections.push({ served, events });
    });
  return {
    socket,
    port: socket.address().port,
    metrics,
    connections,
    close: () => {
      subscription.unsubscribe();
      for (const s of eventSubs) s.unsubscribe();
      closeAll(socket);
    },
    stop: () => subscription.unsubscribe(),
  };
}

/** Starts a listener whose connections the spec drives itself (the lower-level driver API). */
export async function startRawH3Listener(
  onConnection: (iqc: InitialQuicConnection) => void,
  quic: Partial<QuicSettings> = {},
): Promise<{ socket: Socket; port: number; close(): void }> {
  const socket = await bindUdp();
  const subscription = listen$(socket, h3ServerParams(quic)).subscribe(onConnection);
  return {
    socket,
    port: socket.address().port,
    close: () => {
      subscription.unsubscribe();
      closeAll(socket);
    },
  };
}

/** A client connection on its own loopback socket. */
export interface H3TestClient {
  readonly socket: Socket;
  readonly conn: ClientH3Connection;
  /** Every event of the client's connection. */
  readonly events: H3Event[];
  /** How the connection's Observable ended (resolves when it does; never rejects). */
  readonly ended: Promise<{ ok: true } | { ok: false; error: unknown }>;
  readonly subscription: Subscription;
  /** Unsubscribes (closing the connection) and closes the socket. */
  close(): void;
}

/**
 * Connects to a loopback server with `connect$`, trusting the test CA.
 *
 * @param port The server's port.
 * @param options More options for `connect$`.
 */
export async function connectH3(port: number, options: ConnectHttp3Options = {}): Promise<H3TestClient> {
  const socket = await bindUdp();
  const events: H3Event[] = [];
  let settle!: (o: { ok: true } | { ok: false; error: unknown }) => void;
  const ended = new Promise<{ ok: true } | { ok: false; error: unknown }>((resolve) => (settle = resolve));
  let resolveConn!: (c: ClientH3Connection) => void;
  let rejectConn!: (e: unknown) => void;
  const connected = new Promise<ClientH3Connection>((resolve, reject) => {
    resolveConn = resolve;
    rejectConn = reject;
  });
  let eventSub: Subscription | undefined;
  const subscription = connect$(socket, 'localhost', {
    trust: { ca: h3Certificates().ca },
    peer: { address: '127.0.0.1', port },
    ...options,
  }).subscribe({
    next: (conn) => {
      eventSub = conn.controller.event$.subscribe((e) => events.push(e));
      resolveConn(conn);
    },
    error: (error: unknown) => {
      rejectConn(error);
      settle({ ok: false, error });
    },
    complete: () => {
      rejectConn(new Error('the connection completed before it was established'));
      settle({ ok: true });
    },
  });
  try {
    const conn = await connected;
    return {
      socket,
      conn,
      events,
      ended,
      subscription,
      close: () => {
        subscription.unsubscribe();
        eventSub?.unsubscribe();
        closeAll(socket);
      },
    };
  } catch (e) {
    subscription.unsubscribe();
    closeAll(socket);
    throw e;
  }
}

/** Concatenates chunks. */
export function concat(chunks: readonly Uint8Array[]): Buffer {
  return Buffer.concat(chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength)));
}

/** Collects a whole body. */
export async function readAll(body$: Observable<Uint8Array>): Promise<Buffer> {
  return concat(await lastValueFrom(body$.pipe(toArray())));
}

/** Sends a request and resolves with its response and whole body as text. */
export async function fetchText(
  conn: ClientH3Connection,
  headers: Parameters<ClientH3Connection['controller']['request']>[0],
  body?: Parameters<ClientH3Connection['controller']['request']>[1],
): Promise<{ response: H3Response; text: string }> {
  const response = await firstValueFrom(conn.controller.request(headers, body));
  const text = (await readAll(response.body$)).toString('utf8');
  return { response, text };
}
