/**
 * Small helpers for this repository's marble specs. The reusable kit (fakes, datagram builders,
 * the matcher) is `src/testing`, published as `rxjs-quiche/testing`; this file only adds what our
 * own specs repeat.
 */
import type { FakeCall } from '../../src/testing/FakeQuicheConnection';

export { observableMatcher, createTestScheduler } from '../../src/testing/observableMatcher';

/**
 * A connection ID of `length` bytes, all `byte`: `cid(0xa1)` reads as "connection A" in a spec.
 */
export function cid(byte: number, length = 8): Buffer {
  return Buffer.alloc(length, byte);
}

/**
 * The calls of the given methods, grouped by the virtual frame they were made in, in order.
 *
 * @example
 * expect(callsByFrame(calls, 'recv', 'send')).toEqual({ 0: ['send'], 2: ['recv', 'recv', 'send'] });
 */
export function callsByFrame(calls: readonly FakeCall[], ...methods: string[]): Record<number, string[]> {
  const keep = new Set(methods);
  const byFrame: Record<number, string[]> = {};
  for (const call of calls) {
    if (!keep.has(call.method)) continue;
    (byFrame[call.at] ??= []).push(call.method);
  }
  return byFrame;
}

/**
 * The calls of one method, as `[frame, ...args]` tuples.
 */
export function callsTo(calls: readonly FakeCall[], method: string): unknown[][] {
  return calls.filter((c) => c.method === method).map((c) => [c.at, ...c.args]);
}
