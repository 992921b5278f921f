import type { SocketAddress } from './Incoming';
import type { QuicSocket } from './QuicSocket';

/** The two ends of a client connection's first path. */
export interface ClientPath {
  readonly local: SocketAddress;
  readonly peer: SocketAddress;
}

/**
 * The first path of a client connection to `peer` on `socket`, with both ends named as the socket
 * will name them on the answers: quiche drops a client's packet whose addresses match none of its
 * paths. On an IPv6 socket an IPv4 peer becomes IPv4-mapped (`::ffff:a.b.c.d`, as dual-stack
 * sockets report it); the local end is `socket.localAddressFor(peer)` where the socket has it (a
 * native socket bound to a wildcard address learns each datagram's destination), else the bound
 * address.
 */
export function clientPath(socket: QuicSocket, peer: SocketAddress): ClientPath {
  const mapped: SocketAddress =
    socket.localAddress.family === 'IPv6' && !peer.address.includes(':')
      ? { address: `::ffff:${peer.address}`, port: peer.port, family: 'IPv6' }
      : peer;
  return { local: socket.localAddressFor?.(mapped) ?? socket.localAddress, peer: mapped };
}
