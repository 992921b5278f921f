import type { RemoteInfo, Socket } from 'node:dgram';
import { Observable } from 'rxjs';

import { QuicError } from '../errors/QuicError';
import type { Incoming, SocketAddress } from './Incoming';
import { IncomingBurst } from './IncomingBurst';

/**
 * Turns a bound `node:dgram` socket into an Observable of the datagrams it receives.
 *
 * <span class="informal">The receive half of a socket, as a stream.</span>
 *
 * Each `'message'` becomes one {@link Incoming}. Datagrams are handed on in bursts: those that
 * arrive in one turn of the event loop's poll phase are emitted together, right after it (on
 * `setImmediate`), the way a `recvmmsg` batch would be. A connection's worker then feeds quiche the
 * whole burst before it acknowledges, reads and writes once, instead of once per datagram, which
 * keeps ACKs and stream writes large. The Observable completes when the socket closes and
 * errors with a `QuicError` (code `SocketError`) when the socket emits `'error'`. Unsubscribing
 * removes its listeners and leaves the socket open: whoever bound the socket closes it.
 *
 * ## Example
 * ```ts
 * const socket = dgram.createSocket('udp4');
 * socket.bind(4433, '127.0.0.1', () => {
 *   fromUdpSocket(socket).subscribe((d) => console.log(d.peer, d.buf.length));
 * });
 * ```
 *
 * @param socket A bound `node:dgram` socket.
 * @param now The clock for `rxTime`. Defaults to `performance.now`.
 * @returns An Observable of received datagrams.
 */
export function fromUdpSocket(socket: Socket, now: () => number = () => performance.now()): Observable<Incoming> {
  return new Observable<Incoming>((subscriber) => {
    // The local address never changes while the socket is bound; read it once.
    let local: SocketAddress;
    try {
      local = toSocketAddress(socket.address());
    } catch (cause) {
      subscriber.error(new QuicError('SocketError', 'the UDP socket is not bound', { cause }));
      return;
    }
    const burst = new IncomingBurst(subscriber);
    const onMessage = (buf: Buffer, rinfo: RemoteInfo): void => {
      burst.push({ buf, peer: { address: rinfo.address, port: rinfo.port, family: rinfo.family }, local, rxTime: now() });
    };
    const onError = (cause: Error): void => {
      subscriber.error(new QuicError('SocketError', `UDP socket error: ${cause.message}`, { cause }));
    };
    const onClose = (): void => {
      burst.flush();
      subscriber.complete();
    };
    socket.on('message', onMessage);
    socket.on('error', onError);
    socket.on('close', onClose);
    return () => {
      burst.cancel();
      socket.off('message', onMessage);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
  });
}

/** Converts `socket.address()` or an `rinfo` into a {@link SocketAddress}. */
export function toSocketAddress(a: { address: string; port: number; family?: string }): SocketAddress {
  return { address: a.address, port: a.port, family: a.family ?? (a.address.includes(':') ? 'IPv6' : 'IPv4') };
}
