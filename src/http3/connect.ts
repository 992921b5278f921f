import type { Socket } from 'node:dgram';
import { defer, Observable } from 'rxjs';

import type { ConnectOptions } from '../router/connectWithConfig';
import { connectWithConfig$ } from '../router/connectWithConfig';
import { ConnectionParams } from '../settings/ConnectionParams';
import type { Http3Settings } from '../settings/Http3Settings';
import type { QuicSettings } from '../settings/QuicSettings';
import type { TlsCertificatePaths } from '../settings/TlsCertificatePaths';
import type { TlsCredentials } from '../settings/TlsCredentials';
import type { TrustSettings } from '../settings/TrustSettings';
import type { QuicSocket } from '../socket/QuicSocket';
import type { ClientH3Connection } from './ClientH3Connection';
import { ClientH3Driver, type ClientH3DriverOptions } from './ClientH3Driver';
import { asQuicError } from './H3Driver';

/**
 * Options of {@link connect$}.
 */
export interface ConnectHttp3Options extends ConnectOptions {
  /**
   * QUIC settings over the client defaults (ALPN `h3`, idle timeout 30 s).
   *
   * Defaults to `{}`.
   */
  readonly settings?: Partial<QuicSettings>;
  /** HTTP/3 settings. Defaults to `DEFAULT_HTTP3_SETTINGS`. */
  readonly http3?: Partial<Http3Settings>;
  /**
   * The CAs to verify the server against.
   *
   * Defaults to `undefined`: Node's root certificates.
   */
  readonly trust?: TrustSettings;
  /**
   * Skips verifying the server's certificate. Only for tests and local development: anyone on
   * the path can then impersonate the server.
   *
   * Defaults to `false`.
   */
  readonly insecureSkipVerify?: boolean;
  /** A client certificate, for mutual TLS. Defaults to `undefined`. */
  readonly tlsCert?: TlsCertificatePaths | TlsCredentials;
  /** The SNI and the name verified, when not `host`. Defaults to `host`. */
  readonly serverName?: string;
  /** A session ticket from an earlier connection, to resume it. Defaults to `undefined`. */
  readonly session?: Uint8Array;
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
    const params = ConnectionParams.newClient(
      { ...CLIENT_DEFAULTS, ...settings, ...(insecureSkipVerify ? { verifyPeer: false } : {}) },
      tlsCert,
      {},
      {
        ...(trust !== undefined && !insecureSkipVerify ? { trust } : {}),
        ...(serverName !== undefined ? { serverName } : {}),
        ...(session !== undefined ? { session } : {}),
      },
    );
    const port = connectOptions.peer?.port;
    const { driver, controller } = ClientH3Driver.create(http3, {
      ...driverOptions,
      authority: authority ?? (port !== undefined && port !== 443 ? `${host}:${port}` : host),
    });
    return new Observable<ClientH3Connection>((subscriber) => {
      const run = connectWithConfig$(socket, serverName ?? host, params, driver, connectOptions).subscribe({
        next: (connection) => subscriber.next({ connection, controller }),
        error: (error: unknown) => {
          driver.dispose({ ok: false, error: asQuicError(error) });
          subscriber.error(error);
        },
        complete: () => {
          driver.dispose({ ok: true });
          subscriber.complete();
        },
      });
      return () => {
        // The worker closes with the driver's shutdownBehaviour (H3_NO_ERROR).
        run.unsubscribe();
        driver.dispose({ ok: true });
      };
    });
  });
}
