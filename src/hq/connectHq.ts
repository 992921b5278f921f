import type { Socket } from 'node:dgram';
import { defer, map, type Observable } from 'rxjs';

import { runDriver$ } from '../application/runDriver';
import { type ConnectOptions, connectWithConfig$ } from '../router/connectWithConfig';
import { type ClientDialOptions, clientDialParams } from '../settings/ClientDialOptions';
import type { QuicSettings } from '../settings/QuicSettings';
import type { QuicSocket } from '../socket/QuicSocket';
import type { ClientHqConnection } from './ClientHqConnection';
import { ClientHqDriver } from './ClientHqDriver';
import { HQ_INTEROP_ALPN } from './serveHq';

/**
 * Options of {@link connectHq$}.
 */
export interface ConnectHqOptions extends ConnectOptions, ClientDialOptions {}

/** The hq-interop client's defaults: its ALPN and tokio-quiche's 30 s idle timeout. */
const CLIENT_DEFAULTS: Partial<QuicSettings> = Object.freeze({ alpn: [HQ_INTEROP_ALPN], maxIdleTimeout: 30_000 });

/**
 * Connects to an hq-interop (HTTP/0.9 over QUIC) server: the dialer of {@link connect$}, with a
 * {@link ClientHqDriver} instead of HTTP/3.
 *
 * <span class="informal">One hq-interop client connection, alive while subscribed.</span>
 *
 * On subscription it dials `host` from `socket` (ALPN `hq-interop`, 30 s idle timeout, the
 * server's certificate **verified** against Node's roots or `trust` unless `insecureSkipVerify`),
 * runs the handshake and emits the connection once established (in early data, when resuming
 * with 0-RTT: requests made then travel as 0-RTT). Send requests with `driver.request(path)`. It
 * completes when the connection closes cleanly (`driver.close()`), and errors otherwise:
 * `HandshakeError` (e.g. the server offers no `hq-interop`, or certificate verification failed),
 * `QuicTransportError` (the server closed with an error). Unsubscribing closes the connection with
 * an application close, code 0.
 *
 * ## Example
 * ```ts
 * connectHq$(socket, 'localhost', { peer: { address: '127.0.0.1', port: 4433 }, trust: { ca } })
 *   .pipe(switchMap(({ driver }) => driver.get('/index.html')), take(1))
 *   .subscribe((body) => console.log(body.length));
 * ```
 *
 * @param socket A bound `node:dgram` socket (connected, or with `options.peer`), or a `QuicSocket`.
 * @param host The server's name, for SNI and certificate verification.
 * @param options Settings, trust, the peer address, a session, metrics and schedulers.
 * @returns An Observable of the connection.
 * @throws {QuicSettingsError} (through the Observable) for invalid settings.
 */
export function connectHq$(socket: Socket | QuicSocket, host: string, options: ConnectHqOptions = {}): Observable<ClientHqConnection> {
  return defer(() => {
    const { settings, trust, insecureSkipVerify, tlsCert, serverName, session, ...connectOptions } = options;
    const params = clientDialParams(CLIENT_DEFAULTS, options);
    const driver = new ClientHqDriver();
    // Unsubscribing closes with the default shutdown behaviour: an application close with 0.
    return runDriver$(connectWithConfig$(socket, serverName ?? host, params, driver, connectOptions), driver, 'error').pipe(
      map((connection): ClientHqConnection => ({ connection, driver })),
    );
  });
}
