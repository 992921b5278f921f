import type { Socket } from 'node:dgram';

import { QuicError } from '../errors/QuicError';
import type { Metrics } from '../metrics/Metrics';
import { DgramSender } from './DgramSender';
import { fromUdpSocket, toSocketAddress } from './fromUdpSocket';
import type { QuicSocket } from './QuicSocket';
import { NO_CAPABILITIES } from './SocketCapabilities';

/**
 * Wraps a bound `node:dgram` socket as a {@link QuicSocket}: {@link fromUdpSocket} for receiving,
 * {@link DgramSender} for sending, no special capabilities.
 *
 * @param socket A bound `node:dgram` socket. It stays open when the QUIC side is done with it.
 * @param metrics Where write errors are counted.
 * @returns The socket as the router sees it.
 * @throws QuicError `SocketError` when the socket is not bound.
 */
export function fromDgramSocket(socket: Socket, metrics?: Metrics): QuicSocket {
  let localAddress;
  try {
    localAddress = toSocketAddress(socket.address());
  } catch (cause) {
    throw new QuicError('SocketError', 'the UDP socket is not bound: bind it before listening or connecting', { cause });
  }
  return {
    incoming$: fromUdpSocket(socket),
    sender: new DgramSender(socket, metrics),
    localAddress,
    capabilities: NO_CAPABILITIES,
  };
}
