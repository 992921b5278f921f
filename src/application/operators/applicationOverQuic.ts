import { catchError, EMPTY, mergeMap, type OperatorFunction } from 'rxjs';

import type { InitialQuicConnection } from '../../connection/InitialQuicConnection';
import type { QuicConnection } from '../../connection/QuicConnection';
import type { ApplicationOverQuic } from '../ApplicationOverQuic';

/**
 * Plugs an {@link ApplicationOverQuic} into every connection a listener accepts.
 *
 * <span class="informal">Accepted connections in, running connections out.</span>
 *
 * Each {@link InitialQuicConnection} gets a new application from `createApp` and is started; its
 * handle is emitted when the application starts. A connection that fails (its handshake, its
 * application, its peer) ends alone: its error goes to `onConnClose` and to the handle's `result`,
 * never into this stream, so one connection's failure never touches another. Unsubscribing closes
 * every connection started here (each with a CONNECTION_CLOSE) and stops the listener.
 *
 * ## Example
 * ```ts
 * listen$(socket, params)
 *   .pipe(applicationOverQuic(() => new EchoApp()))
 *   .subscribe((conn) => console.log('up:', conn.peerAddr));
 * ```
 *
 * @param createApp Makes the application for one connection.
 * @returns A function that returns an Observable of running connections' handles.
 */
export function applicationOverQuic(
  createApp: (iqc: InitialQuicConnection) => ApplicationOverQuic,
): OperatorFunction<InitialQuicConnection, QuicConnection> {
  return (iqc$) =>
    iqc$.pipe(
      mergeMap((iqc) => {
        let app: ApplicationOverQuic;
        try {
          app = createApp(iqc);
        } catch {
          iqc.reject();
          return EMPTY;
        }
        return iqc.run$(app).pipe(catchError(() => EMPTY));
      }),
    );
}
