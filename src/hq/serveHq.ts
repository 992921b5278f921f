import { defer, map, mergeMap, type Observable, type OperatorFunction } from 'rxjs';

import type { InitialQuicConnection } from '../connection/InitialQuicConnection';
import { runDriver$ } from '../application/runDriver';
import type { HqHandler } from './HqRequest';
import type { ServerHqConnection } from './ServerHqConnection';
import { ServerHqDriver } from './ServerHqDriver';

/** The ALPN of the QUIC Interop Runner's HTTP/0.9: give it to the listener's `QuicSettings.alpn`. */
export const HQ_INTEROP_ALPN = 'hq-interop';

/**
 * Serves hq-interop (HTTP/0.9 over QUIC) on every connection a listener accepts: a
 * {@link ServerHqDriver} per connection, `handler` answering each request.
 *
 * <span class="informal">Accepted connections in, running hq-interop connections out.</span>
 *
 * The listener's parameters must offer the ALPN `hq-interop` ({@link HQ_INTEROP_ALPN}); this
 * operator does not check what was negotiated. Each connection's handle and driver are emitted
 * once it is established (watch `driver.event$`, or `connection.result` for how it ended). A
 * connection that fails ends alone and never errors this stream. Unsubscribing closes every
 * connection (an application close with HQ_NO_ERROR, 0) and stops the listener.
 *
 * ## Example
 * ```ts
 * listen$(socket, ConnectionParams.newServer({ alpn: [HQ_INTEROP_ALPN] }, { cert: 'cert.pem', privateKey: 'key.pem' }))
 *   .pipe(serveHq(directoryHandler('/srv/www')))
 *   .subscribe();
 * ```
 *
 * @param handler Answers each request with its body; see {@link HqHandler}.
 * @returns A function that returns an Observable of the running hq-interop connections.
 */
export function serveHq(handler: HqHandler): OperatorFunction<InitialQuicConnection, ServerHqConnection> {
  return (iqc$) => iqc$.pipe(mergeMap((iqc) => serveConnection(iqc, handler)));
}

function serveConnection(iqc: InitialQuicConnection, handler: HqHandler): Observable<ServerHqConnection> {
  return defer(() => {
    const driver = new ServerHqDriver(handler);
    // Unsubscribing closes with the default shutdown behaviour: an application close with 0.
    return runDriver$(iqc.run$(driver), driver, 'complete').pipe(map((connection): ServerHqConnection => ({ connection, driver })));
  });
}
