import type { Socket } from 'node:dgram';
import { defer, merge, Observable, type SchedulerLike, share } from 'rxjs';

import type { InitialQuicConnection } from '../connection/InitialQuicConnection';
import { DefaultMetrics } from '../metrics/DefaultMetrics';
import type { Metrics } from '../metrics/Metrics';
import type { ConnectionParams } from '../settings/ConnectionParams';
import { resolveKeylogFile } from '../settings/QuicSettings';
import { createNativeConfig } from '../settings/toNativeConfig';
import { fromDgramSocket } from '../socket/fromDgramSocket';
import type { QuicSocket } from '../socket/QuicSocket';
import { AddressValidationTokens } from './AddressValidationTokens';
import { ConnectionAcceptor } from './ConnectionAcceptor';
import { type ConnectionIdGenerator, SimpleConnectionIdGenerator } from './ConnectionIdGenerator';
import { ConnectionMap } from './ConnectionMap';
import { routeByConnectionId } from './routeByConnectionId';

/**
 * Options of {@link listen$} beyond the connection parameters.
 */
export interface ListenOptions {
  /** Where counters go. Defaults to a new {@link DefaultMetrics}. */
  readonly metrics?: Metrics;
  /** Makes our connection IDs. Defaults to a {@link SimpleConnectionIdGenerator} (20 random bytes). */
  readonly cidGenerator?: ConnectionIdGenerator;
  /** Runs the workers' coalesced steps. Defaults to a microtask per step (see `IoWorkerParams.stepScheduler`). */
  readonly stepScheduler?: SchedulerLike;
  /** Runs quiche's timers and handshake timeouts. Defaults to `asyncScheduler`. */
  readonly timerScheduler?: SchedulerLike;
}

/**
 * Accepts QUIC connections on one or more UDP sockets: tokio-quiche's `listen`.
 *
 * <span class="informal">A stream of accepted, not yet started connections.</span>
 *
 * Nothing happens until you subscribe. Then each socket gets a router (its datagrams grouped by
 * destination connection ID) and an acceptor (version negotiation, stateless Retry with expiring
 * address-validation tokens, the listen backlog), and every accepted Initial is emitted as an
 * {@link InitialQuicConnection} to start with an application.
 *
 * Unsubscribing stops accepting; connections already started keep running, and a socket's router
 * stops receiving once its last connection has closed. The sockets stay open: whoever bound them
 * closes them.
 *
 * # Errors
 * Errors at subscription with a `QuicSettingsError` or `QuicError` (`CertificateFile`,
 * `InvalidPem`) when the parameters cannot make a configuration, and with `SocketError` when a
 * socket is not bound or fails. A datagram of any content never errors it: junk is dropped and
 * counted in the metrics.
 *
 * ## Example
 * ```ts
 * const socket = dgram.createSocket('udp4');
 * socket.bind(4433, '127.0.0.1', () => {
 *   listen$(socket, ConnectionParams.newServer({}, { cert: 'cert.pem', privateKey: 'key.pem' }))
 *     .pipe(applicationOverQuic(() => new EchoApp()))
 *     .subscribe((conn) => console.log('connection from', conn.peerAddr));
 * });
 * ```
 *
 * @param sockets A bound `node:dgram` socket, a {@link QuicSocket}, or several.
 * @param params The connection parameters; a server needs `tlsCert`.
 * @param options Metrics, connection ID generator and schedulers.
 * @returns An Observable of accepted connections.
 */
export function listen$(
  sockets: Socket | QuicSocket | ReadonlyArray<Socket | QuicSocket>,
  params: ConnectionParams,
  options: ListenOptions = {},
): Observable<InitialQuicConnection> {
  return defer(() => {
    const metrics = options.metrics ?? new DefaultMetrics();
    const list = Array.isArray(sockets) ? sockets : [sockets as Socket | QuicSocket];
    const quicSockets = list.map((s) => (isQuicSocket(s) ? s : fromDgramSocket(s, metrics)));
    return listenWithCapabilities$(quicSockets, params, { ...options, metrics });
  });
}

/**
 * Like {@link listen$}, for sockets that bring their own capabilities (the native batched socket,
 * a tunnel): tokio-quiche's `listen_with_capabilities`.
 *
 * @param sockets The sockets, each with its send half and capabilities.
 * @param params The connection parameters; a server needs `tlsCert`.
 * @param options Metrics, connection ID generator and schedulers.
 * @returns An Observable of accepted connections, from every socket.
 */
export function listenWithCapabilities$(
  sockets: readonly QuicSocket[],
  params: ConnectionParams,
  options: ListenOptions = {},
): Observable<InitialQuicConnection> {
  return defer(() => {
    const metrics = options.metrics ?? new DefaultMetrics();
    // One configuration for every socket, built (and its errors thrown) at subscription.
    const config = createNativeConfig(params, 'server');
    return merge(...sockets.map((socket) => acceptOn(socket, config, params, { ...options, metrics })));
  });
}

function acceptOn(
  socket: QuicSocket,
  config: ReturnType<typeof createNativeConfig>,
  params: ConnectionParams,
  options: ListenOptions & { metrics: Metrics },
): Observable<InitialQuicConnection> {
  return new Observable<InitialQuicConnection>((subscriber) => {
    const { metrics } = options;
    const settings = params.settings;
    const timerScheduler = options.timerScheduler;
    const map = new ConnectionMap();
    // Shared: the listener and every live connection hold it, so the router runs until the
    // listener is gone and the last connection has closed.
    const routed$ = socket.incoming$.pipe(routeByConnectionId(map, metrics), share());
    const keylogFile = resolveKeylogFile(settings);
    const acceptor = new ConnectionAcceptor({
      config,
      map,
      sender: socket.sender,
      generator: options.cidGenerator ?? new SimpleConnectionIdGenerator(),
      tokens: settings.disableClientIpValidation ? null : new AddressValidationTokens(settings.addressTokenLifetime),
      backlog: settings.listenBacklog,
      ...(settings.handshakeTimeout !== undefined ? { handshakeTimeout: settings.handshakeTimeout } : {}),
      ...(settings.qlogDir !== undefined ? { qlogDir: settings.qlogDir, qlogCompression: settings.qlogCompression } : {}),
      ...(keylogFile !== undefined ? { keylogFile } : {}),
      metrics,
      keepAlive$: routed$,
      ...(options.stepScheduler ? { stepScheduler: options.stepScheduler } : {}),
      ...(timerScheduler ? { timerScheduler } : {}),
      now: () => (timerScheduler ? timerScheduler.now() : Date.now()),
    });
    return routed$.subscribe({
      next(incoming) {
        const iqc = acceptor.handleInitial(incoming);
        if (iqc) subscriber.next(iqc);
      },
      error: (e) => subscriber.error(e),
      complete: () => subscriber.complete(),
    });
  });
}

function isQuicSocket(s: Socket | QuicSocket): s is QuicSocket {
  return 'incoming$' in s && 'sender' in s;
}
