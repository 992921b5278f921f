import type { OperatorFunction } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';

import { createTestScheduler } from './observableMatcher';

/**
 * One row of {@link assertOperator}: a marble diagram, the values its letters stand for, and the
 * error `#` stands for.
 */
export type MarbleRow<T> = readonly [marbles: string, values?: Record<string, T>, error?: unknown];

/**
 * Options of {@link assertOperator}.
 */
export interface AssertOperatorOptions {
  /** The scheduler to run in. Defaults to a new {@link createTestScheduler}(). */
  readonly scheduler?: TestScheduler;
  /** Makes the input hot (it may use `^`); defaults to cold, subscribed at frame 0. */
  readonly hot?: boolean;
  /** Unsubscribes from the result at the `!` of this diagram (e.g. `'----!'`). */
  readonly unsubscribe?: string;
  /** The expected subscription diagram of the input (e.g. `'^---!'`). */
  readonly subscriptions?: string | readonly string[];
}

/**
 * Asserts what an operator makes of one input, in two marble rows: the input, then the output.
 *
 * <span class="informal">marble.js's `assertEffect`, for any `OperatorFunction`.</span>
 *
 * It runs in a `TestScheduler` (virtual time: `asyncScheduler`, `asapScheduler` and timers are
 * virtual inside it), subscribes to `input$.pipe(operator)` at frame 0, and compares with
 * {@link observableMatcher}. Keep a full `testScheduler.run(...)` for cases with several sources.
 *
 * ## Example
 * ```ts
 * it('echoes each stream chunk back', () => {
 *   // given
 *   const cid = Buffer.alloc(8, 0x01);
 *   // when
 *   const echo = applicationFrames(() => new EchoApp());
 *   // then
 *   assertOperator(echo, [
 *     ['-a--b-', { a: fakePacket(cid, streamFrame(0, 'hi')), b: fakePacket(cid, streamFrame(0, '!', true)) }],
 *     ['-x--y-', { x: streamFrame(0, 'hi'), y: streamFrame(0, '!', true) }],
 *   ]);
 * });
 * ```
 *
 * @see {@link applicationFrames} to marble-test an `ApplicationOverQuic`.
 * @param operator The operator under test.
 * @param rows `[input row, expected output row]`.
 * @param options A scheduler, a hot input, an unsubscription, the input's expected subscriptions.
 * @throws AssertionError when the output (or the subscriptions) differ.
 */
export function assertOperator<I, O>(
  operator: OperatorFunction<I, O>,
  rows: readonly [input: MarbleRow<I>, expected: MarbleRow<O>],
  options: AssertOperatorOptions = {},
): void {
  const [[inputMarbles, inputValues, inputError], [expectedMarbles, expectedValues, expectedError]] = rows;
  const scheduler = options.scheduler ?? createTestScheduler();
  scheduler.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
    // given
    const input$ = options.hot ? hot(inputMarbles, inputValues, inputError) : cold(inputMarbles, inputValues, inputError);
    // when
    const output$ = input$.pipe(operator);
    // then
    expectObservable(output$, options.unsubscribe).toBe(expectedMarbles, expectedValues, expectedError);
    if (options.subscriptions !== undefined) {
      expectSubscriptions(input$.subscriptions).toBe(options.subscriptions as string | string[]);
    }
  });
}
