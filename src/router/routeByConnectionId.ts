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
          if (incoming.buf.length < 7 && (incoming.buf.length === 0 || (incoming.buf[0]! & 0x80) !== 0)) {
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
