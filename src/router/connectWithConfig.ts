import type { Socket } from 'node:dgram';
import { defer, Observable, type SchedulerLike, share } from 'rxjs';

import type { ApplicationOverQuic } from '../application/ApplicationOverQuic';
import { openConnectionLogs } from '../connection/ConnectionLogs';
import { HandshakeInfo } from '../connection/HandshakeInfo';
import { InitialQuicConnection } from '../connection/InitialQuicConnection';
import type { QuicConnection } from '../connection/QuicConnection';
import { QuicError } from '../errors/QuicError';
import { DefaultMetrics } from '../metrics/DefaultMetrics';
import type { Metrics } from '../metrics/Metrics';
import { napi } from '../native/binding';
import { callNative } from '../native/errors';
import type { ConnectionParams } from '../settings/ConnectionParams';
import { resolveKeylogFile } from '../settings/QuicSettings';
import { clientConfigs } from '../settings/ClientConfigCache';
import { clientPath } from '../socket/clientPath';
import { fromDgramSocket } from '../socket/fromDgramSocket';
import type { SocketAddress } from '../socket/Incoming';
import type { QuicSocket } from '../socket/QuicSocket';
import { ConnectionInbox } from './ConnectionInbox';
import { SimpleConnectionIdGenerator } from './ConnectionIdGenerator';
import { cidHex } from './connectionId';
import { ConnectionMap } from './ConnectionMap';
import { routeByConnectionId } from './routeByConnectionId';

/**
 * Options of {@link connectWithConfig$} beyond the connection parameters.
 */
export interface ConnectOptions {
  /** The server's address. Defaults to the peer of a connected `node:dgram` socket. */
  readonly peer?: SocketAddress;
  /** Where counters go. Defaults to a new {@link DefaultMetrics}. */
  readonly metrics?: Metrics;
  /** Runs the worker's coalesced steps. Defaults to a microtask per step (see `IoWorkerParams.stepScheduler`). */
  readonly stepScheduler?: SchedulerLike;
  /** Runs quiche's timers and the handshake timeout. Defaults to `asyncScheduler`. */
  readonly timerScheduler?: SchedulerLike;
}

/**
 * Dials a QUIC server and runs `app` on the connection: tokio-quiche's `connect_with_config`.
 *
 * <span class="informal">One client connection, alive while subscribed.</span>
 *
 * On subscription it builds the client configuration (verifying the server's certificate by
 * default, against Node's root certificates or `params.trust`), resumes `params.session` if given,
 * sends the first flight and runs the handshake. It emits the connection's handle once the
 * application starts (in early data, when resuming with 0-RTT), completes when the connection
 * closes cleanly or the socket closes, and errors with a typed
 * error otherwise: `HandshakeError` (`HandshakeTimeout`, or `HandshakeConnectionClosed` with the
 * TLS alert as its cause when certificate verification fails), `QuicTransportError`, or what an
 * application callback threw. Unsubscribing closes the connection with a CONNECTION_CLOSE.
 *
 * One connection per socket, as in tokio-quiche.
 *
 * @param socket A bound `node:dgram` socket (connected, or with `options.peer`), or a {@link QuicSocket}.
 * @param host The server name for SNI and certificate verification; `undefined` sends none.
 * @param params The connection parameters.
 * @param app The application to run.
 * @param options The peer address, metrics and schedulers.
 * @returns An Observable of the running connection's handle.
 */
export function connectWithConfig$(
  socket: Socket | QuicSocket,
  host: string | undefined,
  params: ConnectionParams,
  app: ApplicationOverQuic,
  options: ConnectOptions = {},
): Observable<QuicConnection> {
  return defer(() => {
    const metrics = options.metrics ?? new DefaultMetrics();
    const quicSocket = 'incoming$' in socket ? socket : fromDgramSocket(socket, metrics);
    // Both ends as the socket will name them on the answers (quiche drops packets of no known path).
    const { local, peer } = clientPath(quicSocket, options.peer ?? connectedPeer(socket));
    const config = clientConfigs.get(params);
    const settings = params.settings;
    // The client's IDs, first and spare, come from one generator of 20-byte IDs.
    const generator = new SimpleConnectionIdGenerator();
    const scid = generator.newConnectionId();
    const conn = callNative(() =>
      napi.Connection.connect(host ?? params.serverName ?? null, scid, local, peer, config, params.session ?? null),
    );
    const keylogFile = resolveKeylogFile(settings);
    const logs = openConnectionLogs(conn, {
      ...(settings.qlogDir !== undefined ? { qlogDir: settings.qlogDir, qlogCompression: settings.qlogCompression } : {}),
      ...(keylogFile !== undefined ? { keylogFile } : {}),
      scidHex: cidHex(scid),
    });

    const map = new ConnectionMap();
    const inbox = new ConnectionInbox(2048, metrics);
    map.map(scid, inbox);
    metrics.connectionOpened();
    // On a client every datagram with an unknown DCID is stray: count it and drop it.
    const routed$ = quicSocket.incoming$.pipe(routeByConnectionId(map, metrics), share());
    const keepAlive$ = new Observable<never>((subscriber) =>
      routed$.subscribe({
        next: () => metrics.rejectedPacket('unknownConnectionId'),
        error: (e) => subscriber.error(e),
        complete: () => subscriber.complete(),
      }),
    );
    const timerScheduler = options.timerScheduler;
    const iqc = new InitialQuicConnection({
      conn,
      inbox,
      sender: quicSocket.sender,
      localAddr: local,
      peerAddr: peer,
      handshakeInfo: new HandshakeInfo(timerScheduler ? timerScheduler.now() : Date.now(), settings.handshakeTimeout),
      metrics,
      // Unlike tokio-quiche's clients, ours keep spare source IDs issued (and mapped) like a
      // server's: quiche needs one to migrate (`migrateSource`, `migrate`), and the server needs one
      // to answer on a new path.
      cids: { map: (cid) => map.map(cid, inbox), unmap: (cid) => map.unmap(cid), generator },
      keepAlive$,
      onClosed: () => logs.close(),
      ...(options.stepScheduler ? { stepScheduler: options.stepScheduler } : {}),
      ...(timerScheduler ? { timerScheduler } : {}),
    });
    return iqc.run$(app);
  });
}

function connectedPeer(socket: Socket | QuicSocket): SocketAddress {
  if (!('remoteAddress' in socket)) {
    throw new QuicError('InvalidArgument', 'give options.peer: this socket has no peer address');
  }
  try {
    const r = socket.remoteAddress();
    return { address: r.address, port: r.port, family: r.family };
  } catch (cause) {
    throw new QuicError('InvalidArgument', 'the socket is not connected: connect it or give options.peer', { cause });
  }
}
