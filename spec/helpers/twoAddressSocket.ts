import type { Socket } from 'node:dgram';
import { merge } from 'rxjs';

import type { napi } from '../../src/native/binding';
import type { DatagramSender } from '../../src/socket/DatagramSender';
import { DgramSender } from '../../src/socket/DgramSender';
import { fromUdpSocket, toSocketAddress } from '../../src/socket/fromUdpSocket';
import type { QuicSocket } from '../../src/socket/QuicSocket';
import { NO_CAPABILITIES } from '../../src/socket/SocketCapabilities';

/**
 * One client "socket" with two local addresses, for active migration: it receives on both
 * `node:dgram` sockets (each datagram labelled with the address it arrived on) and sends each
 * batch from the socket quiche chose as the path's local address (`batch.from`). Its
 * `localAddress` is the first socket's, where the connection starts.
 */
export function twoAddressSocket(first: Socket, second: Socket): QuicSocket {
  const senders = [first, second].map((socket) => ({ port: socket.address().port, sender: new DgramSender(socket) }));
  const pick = (from: napi.SocketAddress): DgramSender => (senders.find((s) => s.port === from.port) ?? senders[0]!).sender;
  const sender: DatagramSender = {
    gso: false,
    sendBatch: (out, lengths, batch) => pick(batch.from).sendBatch(out, lengths, batch),
    sendTo: (datagram, to) => senders[0]!.sender.sendTo(datagram, to),
  };
  return {
    incoming$: merge(fromUdpSocket(first), fromUdpSocket(second)),
    sender,
    localAddress: toSocketAddress(first.address()),
    capabilities: NO_CAPABILITIES,
  };
}
