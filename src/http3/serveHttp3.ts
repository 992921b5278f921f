import { defer, finalize, map, mergeMap, type Observable, type ObservableInput, type OperatorFunction, throwError } from 'rxjs';

import type { InitialQuicConnection } from '../connection/InitialQuicConnection';
import { type Http3Settings, resolveHttp3Settings } from '../settings/Http3Settings';
import type { H3DriverOptions } from './H3Driver';
import { runDriver$ } from '../application/runDriver';
import type { H3Request } from './H3Request';
import type { H3ResponseInit } from './H3ResponseInit';
import type { ServerH3Connection } from './ServerH3Connection';
import { ServerH3Driver } from './ServerH3Driver';

/**
 * Answers one request: a response, or a Promise or Observable of it (an Observable may emit 1xx
 * responses before the final one). Throwing, rejecting or erroring before a final response makes
 * the server answer 500.
 */
export type H3Handler = (request: H3Request) => H3ResponseInit | ObservableInput<H3ResponseInit>;

/**
 * Options of {@link serveHttp3}.
 */
export interface ServeHttp3Options {
  /** The HTTP/3 settings of every connection. Defaults to `DEFAULT_HTTP3_SETTINGS`. */
  readonly http3?: Partial<Http3Settings>;
  /** Driver options (scheduler, buffering); mostly for tests. */
  readonly driver?: H3DriverOptions;
}

/**
 * Serves HTTP/3 on every connection a listener accepts: tokio-quiche's `ServerH3Driver` + `start`
 * per connection, with `handler` answering each request.
 *
 * <span class="informal">Accepted connections in, running HTTP/3 connections out.</span>
 *
 * Each {@link InitialQuicConnection} gets a {@link ServerH3Driver}; its handle and controller are
 * emitted once the connection is established (watch `controller.event$`, or `connection.result`
 * for how it ended). A connection that fails (its handshake, an HTTP/3 protocol error, its peer)
 * ends alone and never errors this stream. Unsubscribing closes every connection with
 * H3_NO_ERROR and stops the listener.
 *
 * ## Example
 * ```ts
 * listen$(socket, ConnectionParams.newServer({}, { cert: 'cert.pem', privateKey: 'key.pem' }))
 *   .pipe(serveHttp3((req) => ({ status: 200, body: `you asked for ${req.path}` })))
 *   .subscribe();
 * ```
 *
 * @see {@link ServerH3Driver} for the lower level: `controller.request$` per connection.
 * @param handler Answers each request.
 * @param options HTTP/3 settings and driver options.
 * @returns A function that returns an Observable of the running HTTP/3 connections.
 * @throws {QuicSettingsError} at once, for invalid HTTP/3 settings.
 */
export function serveHttp3(
  handler: H3Handler,
  options: ServeHttp3Options = {},
): OperatorFunction<InitialQuicConnection, ServerH3Connection> {
  // Fail fast, once, rather than per connection.
  resolveHttp3Settings(options.http3);
  return (iqc$) => iqc$.pipe(mergeMap((iqc) => serveConnection(iqc, handler, options)));
}

function serveConnection(iqc: InitialQuicConnection, handler: H3Handler, options: ServeHttp3Options): Observable<ServerH3Connection> {
  return defer(() => {
    const { driver, controller } = ServerH3Driver.create(options.http3, options.driver);
    // Subscribed before the connection runs, so no request waits.
    const requests = controller.request$.subscribe({
      next: (request) => request.respond(callHandler(handler, request)),
      // The connection's failure is reported through its handle and events.
      error: () => undefined,
    });
    // Unsubscribing closes with the driver's shutdownBehaviour (H3_NO_ERROR).
    return runDriver$(iqc.run$(driver), driver, 'complete').pipe(
      map((connection): ServerH3Connection => ({ connection, controller })),
      finalize(() => requests.unsubscribe()),
    );
  });
}

function callHandler(handler: H3Handler, request: H3Request): H3ResponseInit | ObservableInput<H3ResponseInit> {
  try {
    return handler(request);
  } catch (error) {
    return throwError(() => error);
  }
}
