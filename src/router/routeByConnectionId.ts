import { Observable, type OperatorFunction } from 'rxjs';

import type { Metrics } from '../metrics/Metrics';
import type { Incoming } from '../socket/Incoming';
import type { ConnectionMap } from './ConnectionMap';

/**
 * Routes each datagram to the connection that owns its destination connection ID, and passes on
 * the ones no connection owns.
 *
 * <span class="informal">A `groupBy` on the DCID, where the groups live in a {@link ConnectionMap}
 * that connections update as they issue and retire IDs.</span>
 *
 * A datagram for a known connection is handed to that connection's route and not emitted. A
 * datagram with an unknown DCID is emitted, for the acceptor (server) to consider as an Initial,
 * or for the caller to drop (client). A datagram too short to hold a QUIC header is dropped and
 * counted as `failedToParse`; nothing a peer sends makes this operator error.
 *
 * ## Example
 * ```ts
 * socket.incoming$.pipe(routeByConnectionId(map), acceptInitial(acceptor))
 * ```
 *
 * @param map The connection map the connections keep current.
 * @param metrics Where dropped datagrams are counted.
 * @returns A function that returns an Observable of the datagrams no connection owns.
 */
export function routeByConnectionId(map: ConnectionMap, metrics?: Metrics): OperatorFunction<Incoming, Incoming> {
  return (incoming$) =>
    new Observable<Incoming>((subscriber) =>
      incoming$.subscribe({
        next(incoming) {
          if (isTooShort(incoming.buf)) {
            metrics?.rejectedPacket('failedToParse');
            return;
          }
          const route = map.lookup(incoming.buf);
          if (route) route.deliver(incoming);
          else subscriber.next(incoming);
        },
        error: (e) => subscriber.error(e),
        complete: () => subscriber.complete(),
      }),
    );
}

// The smallest datagrams that can hold a QUIC packet: a long header's fixed part (flags, version,
// two CID lengths), or a short header with a CID, a packet number and an AEAD tag; 21 bytes is
// also the smallest stateless reset (RFC 9000 §10.3).
const MIN_LONG_HEADER = 7;
const MIN_SHORT_HEADER = 21;

function isTooShort(buf: Uint8Array): boolean {
  if (buf.length === 0) return true;
  return (buf[0]! & 0x80) !== 0 ? buf.length < MIN_LONG_HEADER : buf.length < MIN_SHORT_HEADER;
}
