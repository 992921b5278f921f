import { Observable } from 'rxjs';

import { asQuicError } from '../errors/asQuicError';
import type { ConnectionResult } from './ApplicationOverQuic';

/** An application that holds state to settle when its connection's run ends (the protocol drivers). */
export interface DisposableDriver {
  /** The connection is gone: fail or complete what the driver holds. Idempotent. */
  dispose(result: ConnectionResult): void;
}

/**
 * Mirrors the run of a connection that carries `driver` and tells the driver how it ended: its
 * `dispose()` gets the failure when the run errors, and `{ ok: true }` when it completes or is
 * unsubscribed (the worker then closes the connection with the driver's shutdown behaviour).
 *
 * <span class="informal">The lifetime glue shared by `serveHttp3`, `connect$`, `serveHq` and
 * `connectHq$`.</span>
 *
 * @param run$ The connection's run: `InitialQuicConnection.run$(driver)` or `connectWithConfig$`.
 * @param driver The application the run carries.
 * @param onError `'error'` passes a failure on (a client's one connection); `'complete'` ends
 * quietly (a server's connection among many: its failure is reported through its handle and
 * events, never into the listener's stream).
 * @returns The run, with the driver disposed when it ends.
 */
export function runDriver$<T>(run$: Observable<T>, driver: DisposableDriver, onError: 'error' | 'complete'): Observable<T> {
  return new Observable<T>((subscriber) => {
    const run = run$.subscribe({
      next: (value) => subscriber.next(value),
      error: (error: unknown) => {
        driver.dispose({ ok: false, error: asQuicError(error) });
        if (onError === 'error') subscriber.error(error);
        else subscriber.complete();
      },
      complete: () => {
        driver.dispose({ ok: true });
        subscriber.complete();
      },
    });
    return () => {
      run.unsubscribe();
      driver.dispose({ ok: true });
    };
  });
}
