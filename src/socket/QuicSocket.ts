import type { Observable } from 'rxjs';

import type { DatagramSender } from './DatagramSender';
import type { Incoming, SocketAddress } from './Incoming';
import type { SocketCapabilities } from './SocketCapabilities';

/**
 * A bound UDP socket as the router sees it: one receive owner (`incoming$`) and a shared send half.
 *
 * tokio-quiche's `Socket<Tx, Rx>` / `QuicListener`. `fromDgramSocket()` makes one from a
 * `node:dgram` socket; the native batched socket makes another. Anything with this shape works,
 * so tests and tunnels can bring their own.
 */
export interface QuicSocket {
  /** Datagrams as they arrive. Subscribing starts receiving; unsubscribing stops. */
  readonly incoming$: Observable<Incoming>;
  /** The send half, shared by every connection on this socket. */
  readonly sender: DatagramSender;
  /** The address the socket is bound to. */
  readonly localAddress: SocketAddress;
  /**
   * The local address that datagrams to `peer` leave from, as this socket's `Incoming.local` will
   * report it for that peer's answers: what a client connection takes as its path's local end.
   * Absent where that is always `localAddress` (every socket but a native one bound to a wildcard
   * address, which asks the kernel's routes).
   */
  readonly localAddressFor?: (peer: SocketAddress) => SocketAddress;
  /** What the socket can do; see {@link SocketCapabilities}. */
  readonly capabilities: SocketCapabilities;
}
