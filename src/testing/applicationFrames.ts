import { asapScheduler, asyncScheduler, map, Observable, type OperatorFunction, type SchedulerLike } from 'rxjs';

import type { ApplicationOverQuic } from '../application/ApplicationOverQuic';
import { HandshakeInfo } from '../connection/HandshakeInfo';
import { IoWorker } from '../connection/IoWorker';
import { DefaultMetrics } from '../metrics/DefaultMetrics';
import type { Incoming } from '../socket/Incoming';
import { FakeDatagramSender } from './FakeDatagramSender';
import type { FakeFrame } from './FakeFrame';
import { fakeIncoming } from './fakeIncoming';
import { FakeQuicheConnection, type FakeQuicheConnectionOptions } from './FakeQuicheConnection';

/**
 * Options of {@link applicationFrames}.
 */
export interface ApplicationFramesOptions {
  /** How the fake connection starts. Defaults to `{ established: true }`. */
  readonly connection?: FakeQuicheConnectionOptions;
  /** Called with the fake connection and sender before the worker starts, to script them further. */
  readonly onConnection?: (conn: FakeQuicheConnection, sender: FakeDatagramSender) => void;
  /** A handshake timeout for the worker, in ms (for a connection that starts unestablished). */
  readonly handshakeTimeout?: number;
  /** The worker's step scheduler. Defaults to `asapScheduler` (virtual inside `testScheduler.run`). */
  readonly stepScheduler?: SchedulerLike;
  /** The worker's timer scheduler. Defaults to `asyncScheduler` (virtual inside `testScheduler.run`). */
  readonly timerScheduler?: SchedulerLike;
}

/**
 * Runs an {@link ApplicationOverQuic} on a {@link FakeQuicheConnection}, fed by the source's
 * datagrams, and emits the {@link FakeFrame}s it sends: your application as an operator, for
 * marble specs.
 *
 * <span class="informal">Packets in (built with `fakePacket`), frames out.</span>
 *
 * The source emits datagrams: bytes (from `fakePacket`), wrapped with `fakeIncoming` defaults, or
 * whole `Incoming`s when the addresses matter.
 *
 * On subscription a fake connection (established unless `options.connection` says otherwise), a
 * `FakeDatagramSender` and the real connection worker are made; the application is created with
 * `createApp` and driven by the worker in its real order (recv → `processReads` →
 * `processWrites` → flush, `waitForData` raced with packets and quiche's timer). Each frame of each
 * datagram the worker flushes is emitted as it is sent, including the final `connectionClose`.
 * The result completes when the connection closes cleanly and errors with the worker's error
 * otherwise (a callback that threw, a peer's error close). Unsubscribing closes the connection
 * (its `connectionClose` is sent, but after you stopped listening).
 *
 * ## Example
 * A user's echo protocol, marble-tested without sockets or the native addon:
 * ```ts
 * import { TestScheduler } from 'rxjs/testing';
 * import { applicationFrames, fakePacket, observableMatcher, streamFrame } from 'rxjs-quiche/testing';
 *
 * it('echoes stream data and the FIN', () => {
 *   const testScheduler = new TestScheduler(observableMatcher);
 *   testScheduler.run(({ hot, expectObservable }) => {
 *     const cid = Buffer.alloc(8, 0x01);
 *     const packet$ = hot('  -a---b--', { a: fakePacket(cid, streamFrame(0, 'hi')), b: fakePacket(cid, streamFrame(0, '!', true)) });
 *     const expected = '     -x---y--';
 *     expectObservable(packet$.pipe(applicationFrames(() => new EchoApp()))).toBe(expected, {
 *       x: streamFrame(0, 'hi'),
 *       y: streamFrame(0, '!', true),
 *     });
 *   });
 * });
 * ```
 *
 * @see {@link assertOperator} for the two-row form.
 * @param createApp Makes the application under test (once per subscription).
 * @param options The fake connection's start state, a hook to script it, the worker's schedulers.
 * @returns A function that returns an Observable of the frames the application sent.
 */
export function applicationFrames(
  createApp: () => ApplicationOverQuic<FakeQuicheConnection>,
  options: ApplicationFramesOptions = {},
): OperatorFunction<Incoming | Uint8Array, FakeFrame> {
  return (datagram$) =>
    new Observable<FakeFrame>((subscriber) => {
      const conn = new FakeQuicheConnection({ established: true, ...options.connection });
      const sender = new FakeDatagramSender();
      options.onConnection?.(conn, sender);
      // Frames go out as the worker flushes them.
      const frames = sender.frames$.subscribe((frame) => subscriber.next(frame));
      const timerScheduler = options.timerScheduler ?? asyncScheduler;
      const packet$ = datagram$.pipe(map((d) => (ArrayBuffer.isView(d) ? fakeIncoming(d) : d)));
      const worker = new IoWorker<FakeQuicheConnection>({
        conn,
        packet$,
        sender,
        app: createApp(),
        handshakeInfo: new HandshakeInfo(timerScheduler.now(), options.handshakeTimeout),
        metrics: new DefaultMetrics(),
        // No router: nothing to map.
        cids: { map: () => undefined, unmap: () => undefined },
        timerScheduler,
        // asapScheduler, which TestScheduler.run puts on virtual time (the worker's own default is a
        // plain microtask).
        stepScheduler: options.stepScheduler ?? asapScheduler,
        // Flushes follow the steps in virtual time (the production default is setImmediate).
        flushScheduler: options.stepScheduler ?? asapScheduler,
      });
      const run = worker.run$().subscribe({
        error: (e) => subscriber.error(e),
        complete: () => subscriber.complete(),
      });
      return () => {
        run.unsubscribe();
        frames.unsubscribe();
      };
    });
}
