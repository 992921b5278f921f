import { take, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';

import { QuicError } from '../../src/errors/QuicError';
import { InboundBody, inboundBodyOf } from '../../src/http3/InboundBody';

const b = (s: string): Uint8Array => Buffer.from(s);
const text = (chunks: Uint8Array[]): string[] => chunks.map((c) => Buffer.from(c).toString());

function body(maxChunks = 4) {
  const calls: string[] = [];
  const inbound = new InboundBody(0, { demand: () => calls.push('demand'), cancel: () => calls.push('cancel') }, maxChunks);
  return { inbound, calls };
}

/** @test {InboundBody} */
describe('InboundBody', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = new TestScheduler((actual, expected) => {
      expect(actual).toEqual(expected);
    });
  });

  it('should push chunks to body$ as they arrive, then complete at the FIN', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      // given: chunks arrive over time from the driver
      const { inbound } = body();
      cold('-a-b--f').subscribe((v) => (v === 'f' ? inbound.end() : inbound.push(b(v))));

      // then
      expectObservable(inbound.body$.pipe(toArray(), (s) => s)).toBe('------(x|)', { x: [b('a'), b('b')] });
    });
  });

  it('should ask for data on subscribe, and not before', () => {
    const { inbound, calls } = body();
    expect(calls).toEqual([]);
    expect(inbound.wantsData).toBe(false);
    inbound.body$.subscribe();
    expect(calls).toEqual(['demand']);
    expect(inbound.wantsData).toBe(true);
  });

  it('should cancel (STOP_SENDING) when unsubscribed before the end, and not after it', () => {
    const early = body();
    early.inbound.push(b('a'));
    early.inbound.body$.pipe(take(1)).subscribe();
    expect(early.calls).toEqual(['demand', 'cancel']);

    const late = body();
    late.inbound.push(b('a'));
    late.inbound.end();
    late.inbound.body$.subscribe();
    expect(late.calls).toEqual([]);
  });

  it('should deliver an error after the chunks already handed over, and to trailers$', () => {
    const { inbound } = body();
    const seen: unknown[] = [];
    inbound.trailers$.subscribe({ error: (e) => seen.push(['trailers', e]) });
    inbound.body$.subscribe({ next: (c) => seen.push(Buffer.from(c).toString()), error: (e) => seen.push(e) });
    inbound.push(b('a'));
    const reset = new QuicError('StreamReset', 'reset');
    inbound.fail(reset);
    expect(seen).toEqual(['a', ['trailers', reset], reset]);
  });

  it('should be read once: a second reader gets InvalidState', () => {
    const { inbound } = body();
    inbound.body$.subscribe();
    let error: unknown;
    inbound.body$.subscribe({ error: (e) => (error = e) });
    expect(error).toMatchObject({ code: 'InvalidState' });
  });

  it('should buffer up to maxChunks for a pulling reader, and ask again as it pulls', async () => {
    const { inbound, calls } = body(4);
    const it = inbound.body[Symbol.asyncIterator]();
    const first = it.next();
    expect(calls).toEqual(['demand']);
    for (const c of ['a', 'b', 'c', 'd', 'e']) {
      if (inbound.wantsData) inbound.push(b(c));
    }
    expect(Buffer.from((await first).value as Uint8Array).toString()).toBe('a');
    // a went to the waiting reader; b..e fill the buffer.
    expect(inbound.wantsData).toBe(false);
    calls.length = 0;
    await it.next(); // b: 3 left, above half: no demand yet
    await it.next(); // c: 2 left, half: demand
    expect(calls).toEqual(['demand']);
    inbound.end();
    const rest: string[] = [];
    for (let r = await it.next(); !r.done; r = await it.next()) rest.push(Buffer.from(r.value).toString());
    expect(rest).toEqual(['d', 'e']);
  });

  it('should emit trailers after the body', () => {
    const { inbound } = body();
    const seen: string[] = [];
    inbound.trailers$.subscribe({ next: (t) => seen.push(`trailers ${t[0]!.name}`), complete: () => seen.push('trailers done') });
    inbound.body$.subscribe({ next: (c) => seen.push(text([c])[0]!), complete: () => seen.push('body done') });
    inbound.push(b('x'));
    inbound.setTrailers([{ name: 'x-sum', value: '1' }]);
    inbound.end();
    expect(seen).toEqual(['x', 'trailers x-sum', 'trailers done', 'body done']);
  });

  it('should refuse a reader after the driver discarded the body', () => {
    const { inbound } = body();
    inbound.discard('the response was sent before the request body was read');
    let error: unknown;
    inbound.body$.subscribe({ error: (e) => (error = e) });
    expect(error).toMatchObject({ code: 'InvalidState' });
    expect((error as Error).message).toContain('the response was sent before the request body was read');
  });

  it('should mark its body$ so an outbound body can pull from it', () => {
    const { inbound } = body();
    expect(inboundBodyOf(inbound.body$)).toBe(inbound);
    expect(inboundBodyOf(inbound.trailers$)).toBeUndefined();
  });
});
