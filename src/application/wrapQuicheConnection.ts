import { NEVER, type Observable } from 'rxjs';

import { HandshakeInfo } from '../connection/HandshakeInfo';
import { InitialQuicConnection } from '../connection/InitialQuicConnection';
import { DefaultMetrics } from '../metrics/DefaultMetrics';
import type { Metrics } from '../metrics/Metrics';
import type { QuicheConnection } from '../native/binding';
import { ConnectionInbox } from '../router/ConnectionInbox';
import type { DatagramSender } from '../socket/DatagramSender';
import type { Incoming, SocketAddress } from '../socket/Incoming';

/**
 * A quiche connection wrapped without a router: what {@link wrapQuicheConnection} returns.
 */
export interface WrappedQuicheConnection {
  /** The connection, to start with an application like any accepted one. */
  readonly connection: InitialQuicConnection;
  /** Feeds the connection a packet: you own the receive side. */
  deliver(incoming: Incoming): void;
}

/**
 * Wraps a quiche connection you built yourself, bypassing the router: tokio-quiche's
 * `quic::raw::wrap_quiche_conn`.
 *
 * Nothing runs until you start the returned connection; packets you `deliver` before then are
 * queued. The connection sends through `sender`; it has no handshake timeout and issues no extra
 * connection IDs.
 *
 * @param conn A native connection from `napi.Connection.connect()` or `accept()`.
 * @param sender Where its packets go.
 * @param addresses The local and peer addresses.
 * @param metrics Where counters go. Defaults to a new {@link DefaultMetrics}.
 * @returns The connection to start, and the function that feeds it packets.
 */
export function wrapQuicheConnection(
  conn: QuicheConnection,
  sender: DatagramSender,
  addresses: { readonly local: SocketAddress; readonly peer: SocketAddress },
  metrics: Metrics = new DefaultMetrics(),
): WrappedQuicheConnection {
  const inbox = new ConnectionInbox(2048, metrics);
  metrics.connectionOpened();
  const keepAlive$: Observable<never> = NEVER;
  const connection = new InitialQuicConnection({
    conn,
    inbox,
    sender,
    localAddr: addresses.local,
    peerAddr: addresses.peer,
    handshakeInfo: new HandshakeInfo(Date.now()),
    metrics,
    cids: { map: () => undefined, unmap: () => undefined },
    keepAlive$,
  });
  return { connection, deliver: (incoming) => inbox.deliver(incoming) };
}
