import type { Socket } from 'node:dgram';
import { defer, map, type Observable } from 'rxjs';

import type { ConnectOptions } from '../router/connectWithConfig';
import { connectWithConfig$ } from '../router/connectWithConfig';
import { runDriver$ } from '../application/runDriver';
import { type ClientDialOptions, clientDialParams } from '../settings/ClientDialOptions';
import type { Http3Settings } from '../settings/Http3Settings';
import type { QuicSettings } from '../settings/QuicSettings';
import type { QuicSocket } from '../socket/QuicSocket';
import type { ClientH3Connection } from './ClientH3Connection';
import { ClientH3Driver, type ClientH3DriverOptions } from './ClientH3Driver';

/**
 * Options of {@link connect$}.
 */
export interface ConnectHttp3Options extends ConnectOptions, ClientDialOptions {
  /** HTTP/3 settings. Defaults to `DEFAULT_HTTP3_SETTINGS`. */
  readonly http3?: Partial<Http3Settings>;
  /**
   * The `:authority` of requests that give none.
   *
   * Defaults to `host`, with `:port` when `peer` is given with a port other than 443.
   */
  readonly authority?: string;
  /** Driver options (scheduler, buffering); mostly for tests. */
  readonly driver?: Omit<ClientH3DriverOptions, 'authority'>;
}

/** tokio-quiche's `connect` defaults: HTTP/3's ALPN and a 30 s idle timeout. */
const CLIENT_DEFAULTS: Partial<QuicSettings> = Object.freeze({ alpn: ['h3'], maxIdleTimeout: 30_000 });

/**
 * Connects to an HTTP/3 server: tokio-quiche's `connect`.
 *
 * <span class="informal">One HTTP/3 client connection, alive while subscribed.</span>
 *
 * On subscription it dials `host` from `socket` (HTTP/3 ALPN, 30 s idle timeout, the server's
 * certificate **verified** against Node's roots or `trust`; unlike tokio-quiche, skipping that
 * takes an explicit `insecureSkipVerify`), runs the handshake, and emits the connection once it is
 * established. Send requests with `controller.request()`. It completes when the connection closes
 * cleanly and errors otherwise: `HandshakeError` (e.g. certificate verification failed,
 * `HandshakeConnectionClosed` with the TLS alert as its cause), `QuicTransportError` (the server
 * closed with an error), `Http3Error` (the server broke HTTP/3). Unsubscribing closes the
 * connection with H3_NO_ERROR.
 *
 * One connection per socket, as in tokio-quiche.
 *
 * ## Example
 * ```ts
 * const socket = dgram.createSocket('udp4');
 * socket.bind(0, () => socket.connect(443, 'example.org', () => {
 *   connect$(socket, 'example.org')
 *     .pipe(switchMap(({ controller }) => controller.request({ ':path': '/' })))
 *     .subscribe((res) => console.log(res.status));
 * }));
 * ```
 *
 * @param socket A bound `node:dgram` socket (connected, or with `options.peer`), or a `QuicSocket`.
 * @param host The server's name, for SNI, certificate verification and `:authority`.
 * @param options Settings, trust, the peer address, metrics and schedulers.
 * @returns An Observable of the connection.
 * @throws {QuicSettingsError} (through the Observable) for invalid settings.
 */
export function connect$(socket: Socket | QuicSocket, host: string, options: ConnectHttp3Options = {}): Observable<ClientH3Connection> {
  return defer(() => {
    const { settings, http3, trust, insecureSkipVerify, tlsCert, serverName, session, authority, driver: driverOptions, ...connectOptions } = options;
    const params = clientDialParams(CLIENT_DEFAULTS, options);
    const port = connectOptions.peer?.port;
    const { driver, controller } = ClientH3Driver.create(http3, {
      ...driverOptions,
      authority: authority ?? (port !== undefined && port !== 443 ? `${host}:${port}` : host),
    });
    // Unsubscribing closes with the driver's shutdownBehaviour (H3_NO_ERROR).
    return runDriver$(connectWithConfig$(socket, serverName ?? host, params, driver, connectOptions), driver, 'error').pipe(
      map((connection): ClientH3Connection => ({ connection, controller })),
    );
  });
}
