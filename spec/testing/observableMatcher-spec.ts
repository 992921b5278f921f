import { AssertionError } from 'node:assert';
import { map, of, throwError } from 'rxjs';

import { QuicError } from '../../src/errors/QuicError';
import { QuicStreamError } from '../../src/errors/QuicStreamError';
import { assertOperator } from '../../src/testing/assertOperator';
import { createTestScheduler, observableMatcher } from '../../src/testing/observableMatcher';

/** @test {observableMatcher} */
describe('observableMatcher', () => {
  const next = (frame: number, value: unknown) => ({ frame, notification: { kind: 'N', value, error: undefined } });
  const error = (frame: number, err: unknown) => ({ frame, notification: { kind: 'E', value: undefined, error: err } });

  it('accepts equal logs whose errors differ only in their stacks', () => {
    const a = new QuicError('InvalidState', 'nope');
    const b = new QuicError('InvalidState', 'nope');
    b.stack = 'another stack';

    expect(() => observableMatcher([next(1, 'x'), error(2, a)], [next(1, 'x'), error(2, b)])).not.toThrow();
  });

  it.each([
    ['message', new QuicError('InvalidState', 'other')],
    ['code', new QuicError('InvalidFrame', 'nope')],
    ['class', new Error('nope')],
  ])('refuses errors with another %s', (_what, other) => {
    expect(() => observableMatcher([error(2, new QuicError('InvalidState', 'nope'))], [error(2, other)])).toThrow(AssertionError);
  });

  it('compares the fields of an error, such as a stream id', () => {
    const reset = (streamId: number) => new QuicStreamError('StreamReset', { streamId, applicationCode: 7 });

    expect(() => observableMatcher([error(1, reset(4))], [error(1, reset(4))])).not.toThrow();
    expect(() => observableMatcher([error(1, reset(4))], [error(1, reset(8))])).toThrow(AssertionError);
  });

  it('refuses another frame or another value', () => {
    expect(() => observableMatcher([next(1, 'x')], [next(2, 'x')])).toThrow(AssertionError);
    expect(() => observableMatcher([next(1, 'x')], [next(1, 'y')])).toThrow(AssertionError);
    expect(() => observableMatcher([next(1, 'x')], [])).toThrow(AssertionError);
  });

  it('compares bytes by content, ignores undefined properties and prototypes', () => {
    class Frame {
      constructor(readonly data: Buffer) {}
    }

    expect(() => observableMatcher([next(1, Buffer.from('ab'))], [next(1, Uint8Array.from([97, 98]))])).not.toThrow();
    expect(() => observableMatcher([next(1, Buffer.from('ab'))], [next(1, Buffer.from('ac'))])).toThrow(AssertionError);
    expect(() => observableMatcher([next(1, { a: 1, b: undefined })], [next(1, { a: 1 })])).not.toThrow();
    expect(() => observableMatcher([next(1, new Frame(Buffer.from('z')))], [next(1, { data: Buffer.from('z') })])).not.toThrow();
  });

  it('prints one notification per line, bytes as text', () => {
    let message = '';
    try {
      observableMatcher([next(1, { data: Buffer.from('hi') })], [next(3, { data: Buffer.from('hi') }), { frame: 4, notification: { kind: 'C' } }]);
    } catch (e) {
      message = (e as Error).message;
    }

    expect(message).toContain('frame 1: next {"data":"bytes(\\"hi\\")"}');
    expect(message).toContain('frame 3: next');
    expect(message).toContain('frame 4: complete');
  });

  it('drives a TestScheduler: a wrong diagram fails the run', () => {
    const testScheduler = createTestScheduler();

    expect(() =>
      testScheduler.run(({ cold, expectObservable }) => {
        expectObservable(cold('-a-|').pipe(map((x) => x.toUpperCase()))).toBe('-a-|', { a: 'a' });
      }),
    ).toThrow(AssertionError);
  });
});

/** @test {assertOperator} */
describe('assertOperator', () => {
  const double = map((x: number) => x * 2);

  it('passes when the output matches the second row', () => {
    expect(() =>
      assertOperator(double, [
        ['-a-b-|', { a: 1, b: 2 }],
        ['-x-y-|', { x: 2, y: 4 }],
      ]),
    ).not.toThrow();
  });

  it('throws when it does not', () => {
    expect(() =>
      assertOperator(double, [
        ['-a-b-|', { a: 1, b: 2 }],
        ['-x-y-|', { x: 2, y: 5 }],
      ]),
    ).toThrow(AssertionError);
  });

  it('checks errors, early unsubscription and the input\'s subscriptions', () => {
    const failure = new QuicError('InvalidState', 'broken');

    expect(() =>
      assertOperator(double, [
        ['-a-#', { a: 1 }, failure],
        ['-x-#', { x: 2 }, new QuicError('InvalidState', 'broken')],
      ]),
    ).not.toThrow();
    expect(() =>
      assertOperator(double, [['-a-b-c-|', { a: 1, b: 2, c: 3 }], ['-x-y-', { x: 2, y: 4 }]], {
        unsubscribe: '----!',
        subscriptions: '^---!',
      }),
    ).not.toThrow();
    expect(() =>
      assertOperator(double, [['-a-b-c-|', { a: 1, b: 2, c: 3 }], ['-x-y-', { x: 2, y: 4 }]], {
        unsubscribe: '----!',
        subscriptions: '^-----!',
      }),
    ).toThrow(AssertionError);
  });

  it('works with operators that switch to other Observables', () => {
    expect(() =>
      assertOperator((source$) => source$.pipe(map(() => 1)), [['-a-|'], ['-x-|', { x: 1 }]]),
    ).not.toThrow();
    // Sanity: of/throwError are synchronous in virtual time as well.
    expect(() =>
      assertOperator(() => throwError(() => new Error('now')), [['-a-|'], ['#', undefined, new Error('now')]]),
    ).not.toThrow();
    expect(() => assertOperator(() => of(1), [['-a-|'], ['(x|)', { x: 1 }]])).not.toThrow();
  });
});
